STAU_CONFIG = {"retries": "3"}
