import utils

NAME = "job_b"
STAU_CONFIG = utils.ReportConfig(NAME, 5, [], f"{NAME}_func")


def job_b_func(work_ids):
    return work_ids
