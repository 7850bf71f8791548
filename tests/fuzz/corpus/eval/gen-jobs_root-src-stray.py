# A job only when src/ is the jobs root (the default, as src/ exists).
STAU_CONFIG = {"schedule": "@hourly"}
