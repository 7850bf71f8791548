STAU_CONFIG = {"tags": "finance", "slots": 0}
