import os

STAU_CONFIG = {
    "schedule": "@daily",
    "tags": ["a", , "b"],
}
