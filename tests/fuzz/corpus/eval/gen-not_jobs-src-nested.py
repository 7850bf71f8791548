"""STAU_CONFIG assigned only inside a function, a class and blocks: not a job."""
import os


def make_config():
    STAU_CONFIG = {"schedule": "@daily"}
    return STAU_CONFIG


class Holder:
    STAU_CONFIG = {"schedule": "@daily"}


if os.environ.get("X"):
    STAU_CONFIG = {"schedule": "@daily"}

for _ in range(1):
    STAU_CONFIG = {"schedule": "@daily"}

try:
    STAU_CONFIG = {"schedule": "@daily"}
except Exception:
    pass

with open(os.devnull) as f:
    STAU_CONFIG = {"schedule": "@daily"}
