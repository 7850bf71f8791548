STAU_CONFIG = {
    "dependencies": ["sales.claen", {"job": "fx.rates", "max_lag": 60}],
}
