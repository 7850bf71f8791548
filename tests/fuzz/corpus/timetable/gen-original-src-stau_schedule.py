"""The original Stau's timetable: not a job itself."""
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

recurring_jobs = [
    {
        "id": "job_a_every_20",
        "name": "job_a",
        "trigger": CronTrigger(minute="*/20"),
        "kwargs_stau_api": {"jobType": "job_a", "kwargs_func": {}},
    },
    {
        "id": "job_c_every_5",
        "name": "job_c",
        "trigger": IntervalTrigger(minutes=5),
        "kwargs_stau_api": {"jobType": "job_c", "kwargs_func": {"full": True}},
    },
]
