STAU_CONFIG = {"dependencies": [{"job": "daily.extract", "max_lag": 60}]}
