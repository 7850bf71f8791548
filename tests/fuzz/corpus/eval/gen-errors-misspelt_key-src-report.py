STAU_CONFIG = {
    "dependancies": ["upstream"],
    "schedule": "@daily",
    "dependencies": [{"job": "upstream", "max_lagg": 60}],
}
