STAU_CONFIG = {"schedule": "@daily"}
