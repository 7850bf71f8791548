from utils import ReportConfig

STAU_CONFIG = ReportConfig(
    job_type="job_c",
    chunk_size=None,
    dependencies=[],
    main_func="run",
    allow_multiple_jobs=False,
)


def run(full=False):
    return full
