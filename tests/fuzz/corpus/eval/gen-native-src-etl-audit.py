# job_type may be given; it must then equal the job's name.
STAU_CONFIG = {"job_type": "etl.audit", "main_func": None, "timeout": None, "schedule": "@every 15m"}

if __name__ == "__main__":
    print("audit")
