STAU_CONFIG = {"schedule": "@hourly"}
