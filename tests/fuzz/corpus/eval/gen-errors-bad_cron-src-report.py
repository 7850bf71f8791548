STAU_CONFIG = {"schedule": "61 * * * *"}
