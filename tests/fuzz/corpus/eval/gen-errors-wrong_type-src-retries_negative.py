STAU_CONFIG = {"retries": -1}
