STAU_CONFIG = {"schedule": "0 6 * * *", "timezone": "Europe/Atlantis"}
