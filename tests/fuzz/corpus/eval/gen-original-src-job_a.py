from utils import ReportConfig, ReportDependencies

NAME = "job_a"
UPSTREAM = "job_b"
LAG = 60

STAU_CONFIG = ReportConfig(
    job_type=NAME,
    chunk_size=10,
    dependencies=[
        ReportDependencies(UPSTREAM, LAG),
        ReportDependencies("job_c", 120, custom_kwargs={"full": True}, unique=True),
    ],
    main_func=f"{NAME}_func",
    data_sources=["postgres.sales"],
    data_sinks=[f"{NAME}_table"],
)


def select_work(**kwargs):
    return list(range(25))


def job_a_func(work_ids, **kwargs):
    return len(work_ids)
