STAU_CONFIG = {"schedule": ["@hourly", "0 6 * *"]}
