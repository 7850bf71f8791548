X = compute()
STAU_CONFIG = {"schedule": "61 * * * *", "inputs": [x for x in y], "kwargs": {1: 2}, "tags": "a",
               "retries": -1, "slots": 0, "outputs": ["../outside"], "on": "tuesday", "main_func": X,
               "kwargs": {"a": Y}, "timezone": "Mars/Olympus"}
Y = 2
