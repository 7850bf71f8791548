from utils import ReportConfig

NAME = "job_b"  # copied from job_b.py and not changed

STAU_CONFIG = ReportConfig(job_type=NAME, chunk_size=1, dependencies=[], main_func=f"{NAME}_func")
