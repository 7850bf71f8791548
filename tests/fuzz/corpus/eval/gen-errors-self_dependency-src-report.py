STAU_CONFIG = {"dependencies": ["report"], "schedule": "@daily"}
