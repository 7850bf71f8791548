"""Every form the evaluator accepts, once."""
import os
from shop.money import convert
from . import sibling

REGION = "eu"
BASE = ["data/raw/" "a.csv", r"data/raw/b\d.csv"]
EXTRA = BASE + [f"data/{REGION}/c.csv", b"ignored".decode() if False else "x"]
N = -3
HOURLY = "0 * * * *"
STAU_CONFIG = dict(
    dependencies=["sales.clean", {"job": "fx.rates", "max_lag": 60.5, "unique": True,
                                  "kwargs": {"day": None}, "allow_missing_work_ids": False}],
    schedule=[HOURLY, "*/15 9-17 * * MON-FRI", "@every 1h30m"],
    timezone="Europe/Copenhagen",
    inputs=BASE + ["data/*.parquet"],
    outputs=("data/out/report.parquet",),
    main_func="main",
    kwargs={"region": REGION, "n": N, "ratio": 1e-3, "flags": (True, False), "nested": {"a": [1, 2]}},
    retries=2, retry_delay=1.5, timeout=900, slots=1,
    tags=["finance", f"{REGION}"],
    python=".venv/bin/python",
    chunk_size=2, work_ids=[1, 2, 3, -4],
    allow_multiple_jobs=False,
    job_type="eval.features",
    data_sources=["db"], data_sinks=["s3"],
    dependancies=[],
)
