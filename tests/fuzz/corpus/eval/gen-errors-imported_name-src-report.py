from settings import REGION

STAU_CONFIG = {"kwargs": {"region": REGION}}
