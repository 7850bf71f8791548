from apscheduler.triggers.cron import CronTrigger
recurring_jobs = [
    {"id": 1, "trigger": CronTrigger(second=5), "kwargs_stau_api": {"jobType": 3}},
    {"id": "b", "trigger": IntervalTrigger(weeks=2)},
    {"id": "c", "trigger": CronTrigger(year=2026, week=3, minute="61")},
    "not a dict",
]
recurring_jobs = []
