STAU_CONFIG = {"dependencies": ["a"]}
