STAU_CONFIG = {"dependencies": ["b"]}
