def compute():
    return 3


STAU_CONFIG = {
    "schedule": "@daily",
    "retries": compute(),
}
