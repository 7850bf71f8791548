STAU_CONFIG = {
    "dependencies": [{"job": "retries_str", "max_lag": -5}],
}
