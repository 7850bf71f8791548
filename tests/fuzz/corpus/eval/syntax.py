STAU_CONFIG = {"schedule": "@daily"
  "x": [1, 2,
