from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

recurring_jobs = [
    {"id": "a", "trigger": CronTrigger(minute=0, hour="6-18/2", day_of_week="mon-fri", month="*", day="*"),
     "kwargs_stau_api": {"jobType": "job_a", "kwargs_func": {"n": 1, "xs": [1, 2.5, None]}}},
    {"trigger": IntervalTrigger(hours=1, minutes=30, seconds=0),
     "kwargs_stau_api": {"jobType": "job_b"}},
    {"id": "c", "trigger": CronTrigger(hour=3, jitter=None), "kwargs_stau_api": {"jobType": "c.d"}},
]
