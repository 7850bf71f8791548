"""Mentions STAU_CONFIG only in strings and comments: not a job.

Example:
    STAU_CONFIG = {"schedule": "@daily"}
"""
# STAU_CONFIG = {"schedule": "@hourly"}
HELP = 'write STAU_CONFIG = {...} at module level'
TEMPLATE = f"STAU_CONFIG = {HELP!r}"
