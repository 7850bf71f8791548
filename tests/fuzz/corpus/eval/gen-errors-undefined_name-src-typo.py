SCHEDULE = "@daily"
STAU_CONFIG = {"schedule": SCHEDUEL}
