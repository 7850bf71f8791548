"""Every value form the evaluator accepts."""
import json

from helpers import greet

REGION: str = "eu"
BASE = ROOT = "data"
COMMON_TAGS = ["etl"]
HOURLY = "@hourly"

STAU_CONFIG = {
    "schedule": [HOURLY, "*/15 9-17 * * MON-FRI"],
    "timezone": "Europe/Copenhagen",
    "inputs": [f"{BASE}/raw/{REGION}_*.csv", r"data\raw\legacy.csv"],
    "outputs": [BASE + "/clean/" "extract.json"],
    "main_func": "main",
    "kwargs": dict(region=REGION, limit=-10, ratio=0.5, dry=False, extra=None, pair=(1, 2)),
    "retries": 3,
    "retry_delay": 1.5,
    "timeout": 900,
    "slots": 2,
    "tags": COMMON_TAGS + ["ingest", u"unicode-é", """triple"""],
    "python": "python3",
    "allow_multiple_jobs": True,
    "data_sources": ("s3://bucket/raw",),
}


def main(region, limit, ratio, dry, extra, pair):
    print(json.dumps([greet(region), limit, ratio, dry, extra, pair]))
