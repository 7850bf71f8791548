from stau_utils import ReportConfig, Dependency

STAU_CONFIG = ReportConfig(
    job_type="fuzz",
    chunk_size=10,
    dependencies=[Dependency(job_type="upstream", max_lag=30, custom_kwargs={"a": 1})],
    main_func="run",
    is_streaming=True,
)
