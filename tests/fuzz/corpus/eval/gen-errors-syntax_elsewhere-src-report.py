STAU_CONFIG = {"schedule": "@daily", "tags": ["still", "read"]}


def main():
    message = "never closed
    return message
