STAU_CONFIG = {
    "dependencies": [
        "etl.extract",
        {"job": "etl.audit", "max_lag": 90, "kwargs": {"full": True}, "unique": True},
    ],
    "schedule": "0 2 * * *",
    "work_ids": [1, 2, 3],
    "chunk_size": 2,
    "data_sinks": ["warehouse.facts"],
}


def main(**kwargs):
    pass
