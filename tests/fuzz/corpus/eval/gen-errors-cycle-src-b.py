STAU_CONFIG = {
    "dependencies": [{"job": "c", "max_lag": 30}],
}
