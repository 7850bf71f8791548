# Downstream of the cycle, not part of it.
STAU_CONFIG = {"dependencies": ["a"]}
