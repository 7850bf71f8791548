# Whole projects that are fine: the native-dict one (fixtures/native), the
# original-Stau one (fixtures/original) and files that are not jobs
# (fixtures/not_jobs): check, list and list --json.

test_native_check() {
    use_fixture native
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
3 jobs, 2 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

test_native_list_json() {
    use_fixture native
    run list --json
    expect_exit 0
    expect_stderr_empty
    "$PY" - "$OUT" <<'EOF' || fail "list --json of fixtures/native is not as expected"
import json, sys

jobs = json.load(open(sys.argv[1], encoding="utf-8"))
defaults = {
    "valid": True, "dependencies": [], "schedule": [], "timezone": None, "inputs": [],
    "outputs": [], "main_func": None, "kwargs": {}, "retries": 0, "retry_delay": 60,
    "timeout": None, "slots": 1, "tags": [], "python": None, "chunk_size": None,
    "work_ids": None, "allow_multiple_jobs": False, "is_streaming": False,
    "job_type": None, "data_sources": [], "data_sinks": [], "timetable": [],
    "policy": "scheduled", "on_change": False, "not_run": None, "on": None,
    "log_limit": 67108864,
}
# Code fingerprints are hashes: checked for shape here, for meaning in the unit tests.
for j in jobs:
    fp = j.pop("code_fingerprint", "")
    if len(fp) != 32 or fp.strip("0123456789abcdef"):
        print("%s: code_fingerprint %r is not 32 hex digits" % (j.get("name"), fp))
        sys.exit(1)
def job(**kw):
    d = dict(defaults)
    d.update(kw)
    return d
want = [
    job(name="etl.audit", file="src/etl/audit.py", code_files=["src/etl/audit.py"],
        schedule=["@every 15m"], job_type="etl.audit"),
    job(name="etl.extract", file="src/etl/extract.py",
        code_files=["src/etl/extract.py", "src/helpers.py"],
        schedule=["@hourly", "*/15 9-17 * * MON-FRI"], timezone="Europe/Copenhagen",
        inputs=["data/raw/eu_*.csv", "data\\raw\\legacy.csv"],
        outputs=["data/clean/extract.json"], main_func="main",
        kwargs={"region": "eu", "limit": -10, "ratio": 0.5, "dry": False, "extra": None,
                "pair": [1, 2]},
        retries=3, retry_delay=1.5, timeout=900, slots=2,
        tags=["etl", "ingest", "unicode-\u00e9", "triple"], python="python3",
        allow_multiple_jobs=True, data_sources=["s3://bucket/raw"]),
    job(name="etl.load", file="src/etl/load.py", code_files=["src/etl/load.py"],
        dependencies=[
            {"job": "etl.extract", "max_lag": None, "kwargs": {}, "unique": False,
             "allow_missing_work_ids": False},
            {"job": "etl.audit", "max_lag": 90, "kwargs": {"full": True}, "unique": True,
             "allow_missing_work_ids": False},
        ],
        schedule=["0 2 * * *"], work_ids=[1, 2, 3], chunk_size=2,
        data_sinks=["warehouse.facts"]),
]
ok = True
if len(jobs) != len(want):
    print("expected %d jobs, got %d" % (len(want), len(jobs)))
    ok = False
for got, exp in zip(jobs, want):
    if set(got) != set(exp):
        print("%s: keys missing %s, unexpected %s"
              % (exp["name"], sorted(set(exp) - set(got)), sorted(set(got) - set(exp))))
        ok = False
    for k in exp:
        if k in got and (got[k] != exp[k] or type(got[k]) is not type(exp[k])):
            print("%s: %s is %r, expected %r" % (exp["name"], k, got[k], exp[k]))
            ok = False
sys.exit(0 if ok else 1)
EOF
}

test_native_list() {
    use_fixture native
    # The long schedule of etl.extract is tested on its own below.
    sed -i 's|"schedule": \[HOURLY, "\*/15 9-17 \* \* MON-FRI"\],|"schedule": HOURLY,|' src/etl/extract.py
    run list
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
NAME         FILE                DEPENDENCIES                          SCHEDULE      POLICY     TAGS
etl.audit    src/etl/audit.py    -                                     @every 15m    scheduled  -
etl.extract  src/etl/extract.py  -                                     @hourly       scheduled  etl,ingest,unicode-é,triple
etl.load     src/etl/load.py     etl.extract, etl.audit (max_lag 90m)  0 2 * * *     scheduled  -
EOF
}

test_list_columns_fit_long_schedules() {
    use_fixture native
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF'
NAME         FILE                DEPENDENCIES                          SCHEDULE                         POLICY     TAGS
etl.audit    src/etl/audit.py    -                                     @every 15m                       scheduled  -
etl.extract  src/etl/extract.py  -                                     @hourly | */15 9-17 * * MON-FRI  scheduled  etl,ingest,unicode-é,triple
etl.load     src/etl/load.py     etl.extract, etl.audit (max_lag 90m)  0 2 * * *                        scheduled  -
EOF
}

test_original_check() {
    use_fixture original
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
3 jobs, 2 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

test_original_list() {
    use_fixture original
    run list
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
NAME   FILE          DEPENDENCIES                               SCHEDULE      POLICY     TAGS
job_a  src/job_a.py  job_b (max_lag 60m), job_c (max_lag 120m)  */20 * * * *  scheduled  -
job_b  src/job_b.py  -                                          -             on demand  -
job_c  src/job_c.py  -                                          @every 5m     scheduled  -
EOF
}

test_original_list_json() {
    use_fixture original
    run list --json
    expect_exit 0
    expect_stderr_empty
    "$PY" - "$OUT" <<'EOF' || fail "list --json of fixtures/original is not as expected"
import json, sys

jobs = {j["name"]: j for j in json.load(open(sys.argv[1]))}
assert sorted(jobs) == ["job_a", "job_b", "job_c"], sorted(jobs)
a, b, c = jobs["job_a"], jobs["job_b"], jobs["job_c"]
for j in (a, b, c):
    assert j["valid"] is True, j
assert a["job_type"] == "job_a", a
assert a["main_func"] == "job_a_func", a        # f"{NAME}_func"
assert a["chunk_size"] == 10, a
assert a["allow_multiple_jobs"] is True, a      # ReportConfig's default
assert a["is_streaming"] is False, a
assert a["data_sources"] == ["postgres.sales"], a
assert a["data_sinks"] == ["job_a_table"], a
assert a["code_files"] == ["src/job_a.py", "src/utils.py"], a["code_files"]
# The timetable (src/stau_schedule.py) is read too: APScheduler triggers become schedules.
assert a["timetable"] == [{"id": "job_a_every_20", "schedule": "*/20 * * * *", "kwargs": {}}], \
    a["timetable"]
assert c["timetable"] == [{"id": "job_c_every_5", "schedule": "@every 5m",
                           "kwargs": {"full": True}}], c["timetable"]
assert b["timetable"] == [], b["timetable"]
assert a["dependencies"] == [
    {"job": "job_b", "max_lag": 60, "kwargs": {}, "unique": False,
     "allow_missing_work_ids": False},
    {"job": "job_c", "max_lag": 120, "kwargs": {"full": True}, "unique": True,
     "allow_missing_work_ids": False},
], a["dependencies"]
# Positional ReportConfig(NAME, 5, [], f"{NAME}_func") through `utils.`
assert b["job_type"] == "job_b" and b["chunk_size"] == 5 and b["main_func"] == "job_b_func", b
assert b["code_files"] == ["src/job_b.py", "src/utils.py"], b["code_files"]
assert c["chunk_size"] is None and c["allow_multiple_jobs"] is False, c
assert c["main_func"] == "run", c
EOF
}

test_original_positional_arguments_checked() {
    use_fixture original
    write src/job_d.py <<'EOF'
from utils import ReportConfig, ReportDependencies

STAU_CONFIG = ReportConfig("job_d", 1, [ReportDependencies("job_a", 5, False, {}, False, 9)], "f")
EOF
    write src/job_e.py <<'EOF'
from utils import ReportConfig

STAU_CONFIG = ReportConfig("job_e", 1, [], "f", job_type="job_e")
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/job_d.py:3:90: error: ReportDependencies() takes at most 5 positional arguments
     3 | STAU_CONFIG = ReportConfig("job_d", 1, [ReportDependencies("job_a", 5, False, {}, False, 9)], "f")
       |                                                                                          ^
src/job_e.py:3:49: error: ReportConfig() got multiple values for argument 'job_type'
     3 | STAU_CONFIG = ReportConfig("job_e", 1, [], "f", job_type="job_e")
       |                                                 ^~~~~~~~~~~~~~~~
2 errors, 0 warnings
EOF
}

test_not_jobs() {
    # STAU_CONFIG only in strings, comments, functions, classes and blocks.
    use_fixture not_jobs
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    expect_stderr_empty
    run list
    expect_stdout_eq <<'EOF'
NAME  FILE        DEPENDENCIES  SCHEDULE      POLICY     TAGS
job   src/job.py  -             @daily        scheduled  -
EOF
}

test_skipped_folders() {
    new_project
    write src/job.py <<'EOF'
STAU_CONFIG = {}
EOF
    for d in .hidden __pycache__ venv site-packages node_modules deep/.git; do
        write "src/$d/job.py" <<'EOF'
STAU_CONFIG = {"dependencies": ["nowhere"]}
EOF
    done
    touch src/venv/pyvenv.cfg
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

test_package_init_is_the_package() {
    new_project
    write src/sales/__init__.py <<'EOF'
STAU_CONFIG = {"dependencies": ["sales.raw"]}
EOF
    write src/sales/raw.py <<'EOF'
STAU_CONFIG = {}
EOF
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF'
NAME       FILE                   DEPENDENCIES  SCHEDULE      POLICY   TAGS
sales      src/sales/__init__.py  sales.raw     -             derived  -
sales.raw  src/sales/raw.py       -             -             derived  -
EOF
}

test_jobs_root_init_cannot_be_a_job() {
    new_project
    write src/__init__.py <<'EOF'
STAU_CONFIG = {}
EOF
    write src/job.py <<'EOF'
STAU_CONFIG = {}
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/__init__.py:1:1: error: the jobs root's own __init__.py cannot be a job
     1 | STAU_CONFIG = {}
       | ^~~~~~~~~~~
  hint: move the declaration into a file of its own
1 error, 0 warnings
EOF
}

test_duplicate_dependency_and_key_warnings() {
    new_project
    write src/up.py <<'EOF'
STAU_CONFIG = {}
EOF
    write src/down.py <<'EOF'
STAU_CONFIG = {"retries": 1, "retries": 2, "dependencies": ["up", "up"]}
EOF
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
2 jobs, 1 dependency, 2 warnings
EOF
    expect_stderr_eq <<'EOF'
src/down.py:1:30: warning: duplicate key 'retries'; the later value wins
     1 | STAU_CONFIG = {"retries": 1, "retries": 2, "dependencies": ["up", "up"]}
       |                              ^~~~~~~~~
src/down.py:1:67: warning: 'up' is listed twice in the dependencies of 'down'
     1 | STAU_CONFIG = {"retries": 1, "retries": 2, "dependencies": ["up", "up"]}
       |                                                                   ^~~~
EOF
}

test_last_module_level_assignment_wins() {
    new_project
    write src/job.py <<'EOF'
STAU_CONFIG = {"retries": "not read"}
RETRIES = 4
STAU_CONFIG = {"retries": RETRIES}
EOF
    write src/semi.py <<'EOF'
A = 1; STAU_CONFIG = {"retries": A}
EOF
    run list --json
    expect_exit 0
    expect_stderr_empty
    "$PY" - "$OUT" <<'EOF' || fail "the last STAU_CONFIG is not the one read"
import json, sys
jobs = {j["name"]: j for j in json.load(open(sys.argv[1]))}
assert jobs["job"]["retries"] == 4, jobs["job"]
assert jobs["semi"]["retries"] == 1, jobs["semi"]
EOF
}

test_crlf_file() {
    new_project
    mkdir src
    printf 'NAME = "crlf"\r\nSTAU_CONFIG = {\r\n    "main_func": f"{NAME}_main",\r\n    "retries": "x",\r\n}\r\n' >src/crlf.py
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/crlf.py:4:16: error: 'retries' must be an int, not str
     4 |     "retries": "x",
       |                ^~~
1 error, 0 warnings
EOF
}

test_bom_file() {
    new_project
    mkdir src
    printf '\357\273\277STAU_CONFIG = {"retries": "x"}\n' >src/bom.py
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/bom.py:1:27: error: 'retries' must be an int, not str
     1 | STAU_CONFIG = {"retries": "x"}
       |                           ^~~
1 error, 0 warnings
EOF
}

test_original_timetable_names_no_job() {
    use_fixture original
    sed -i 's/"jobType": "job_c"/"jobType": "job_d"/' src/stau_schedule.py
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF2'
src/stau_schedule.py:16:40: error: recurring_jobs entry 'job_c_every_5' runs 'job_d', which is not a job
    16 |         "kwargs_stau_api": {"jobType": "job_d", "kwargs_func": {"full": True}},
       |                                        ^~~~~~~
  hint: did you mean 'job_a'?
1 error, 0 warnings
EOF2
}
