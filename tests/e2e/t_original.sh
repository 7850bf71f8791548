# Original-Stau projects run as the original ran them (SPEC §7): a master's work IDs
# chosen once, sorted, flowing down to what it needs; kwargs flowing down the edges;
# job_id and job_created_at; an empty selection cancelling the graph.

# master (ticks, select_work) -> mid (chunks of 3) -> leaf (chunks of 10).
original_graph() {
    new_project
    write src/utils.py <<'PY'
def ReportConfig(*args, **kwargs):
    return args, kwargs


def ReportDependencies(*args, **kwargs):
    return args, kwargs
PY
    write src/master.py <<'PY'
import json
from utils import ReportConfig, ReportDependencies

STAU_CONFIG = ReportConfig(job_type="master", chunk_size=2,
                           dependencies=[ReportDependencies("mid", 60, custom_kwargs={"level": "mid", "deep": 1})],
                           main_func="master_func")


def select_work(region, **kwargs):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["select", region]) + "\n")
    return json.load(open("ids.json"))


def master_func(work_ids, **kwargs):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["master", work_ids, sorted(kwargs)]) + "\n")
PY
    write src/mid.py <<'PY'
import json
from utils import ReportConfig, ReportDependencies

STAU_CONFIG = ReportConfig(job_type="mid", chunk_size=3,
                           dependencies=[ReportDependencies("leaf", 60, custom_kwargs={"deep": 2})],
                           main_func="mid_func")


def select_work(**kwargs):
    raise RuntimeError("a dependency's own select_work is never called")


def mid_func(work_ids, region, level, deep):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["mid", work_ids, region, level, deep]) + "\n")
PY
    write src/leaf.py <<'PY'
import json
from utils import ReportConfig

STAU_CONFIG = ReportConfig(job_type="leaf", chunk_size=10, dependencies=[], main_func="leaf_func")


def leaf_func(work_ids, region, deep, level, job_id, job_created_at):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["leaf", work_ids, region, deep, level, job_id,
                            type(job_created_at).__name__]) + "\n")
PY
    write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "m", "name": "master", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "eu"}}},
]
PY
    echo '[4, 1, 3, 2]' >ids.json
}

test_original_work_ids_flow_down_sorted() {
    original_graph
    run -n
    expect_exit 0
    expect_stdout_eq <<'EOF'
would run 3 jobs:
  leaf (on demand, needed by 'mid')
      never-run: no successful run is recorded
      work ids: those 'mid' chooses when it runs, in chunks of 10
  mid (on demand, needed by 'master')
      never-run: no successful run is recorded
      upstream-due: 'leaf' runs first
      work ids: those 'master' chooses when it runs, in chunks of 3
  master (scheduled)
      never-run: no successful run is recorded
      work ids: chosen by select_work when it runs, in chunks of 2 (without select_work, it runs once, unchunked)
EOF
    run -j 1
    expect_exit 0
    expect_stdout_contains "3 ran: 3 succeeded, 0 failed, 0 skipped"
    # select_work once, with the timetable entry's kwargs; the IDs sorted, then cut by
    # each job's own chunk_size; custom kwargs reach the dependency and below (the
    # lower edge wins), never the job declaring the edge; job_id is the master's run.
    local master_run
    master_run=$(db "SELECT min(id) FROM runs WHERE job = 'master'")
    expect_eq "calls" "[\"select\", \"eu\"]
[\"leaf\", [1, 2, 3, 4], \"eu\", 2, \"mid\", $master_run, \"datetime\"]
[\"mid\", [1, 2, 3], \"eu\", \"mid\", 1]
[\"mid\", [4], \"eu\", \"mid\", 1]
[\"master\", [1, 2], [\"job_created_at\", \"job_id\", \"region\"]]
[\"master\", [3, 4], [\"job_created_at\", \"job_id\", \"region\"]]" "$(sort_calls)"
    expect_eq "runs" "leaf|[1,2,3,4]|{\"region\":\"eu\",\"level\":\"mid\",\"deep\":2}
master|[1,2]|{\"region\":\"eu\"}
master|[3,4]|{\"region\":\"eu\"}
mid|[1,2,3]|{\"region\":\"eu\",\"level\":\"mid\",\"deep\":1}
mid|[4]|{\"region\":\"eu\",\"level\":\"mid\",\"deep\":1}" \
        "$(db "SELECT job, work_ids_json, kwargs_json FROM runs ORDER BY job, chunk")"
}

# The calls, the select first and then in the order they ran (chunks of one job may
# run in any order: sorted within each job).
sort_calls() {
    "$PY" - <<'EOF'
import json
calls = [json.loads(l) for l in open("calls.txt")]
order = []
for c in calls:
    if c[0] not in order:
        order.append(c[0])
for name in order:
    for c in sorted((c for c in calls if c[0] == name), key=lambda c: json.dumps(c)):
        print(json.dumps(c))
EOF
}

test_original_empty_selection_runs_nothing_below() {
    original_graph
    echo '[]' >ids.json
    run -j 1
    expect_exit 0
    expect_stdout_contains "mid skipped: 'master' chose no work IDs: nothing to do for it"
    expect_stdout_contains "leaf skipped: 'master' chose no work IDs: nothing to do for it"
    expect_eq "calls" '["select", "eu"]' "$(cat calls.txt)"
    # What was claimed for them is closed as skipped; no process ran but select_work.
    expect_eq "runs" "leaf||skipped
mid||skipped
master|[]|succeeded" "$(db "SELECT job, work_ids_json, status FROM runs ORDER BY id")"
}

# master (ticks every 20 minutes, chunks of 2) needs dep (on demand, chunks of 3,
# max_lag 60); master's chunk holding ID 3 fails while fail.flag exists.
lag_graph() {
    new_project
    write src/master.py <<'PY'
import json, os

STAU_CONFIG = {"chunk_size": 2, "dependencies": [{"job": "dep", "max_lag": 60}],
               "main_func": "main", "schedule": "*/20 * * * *"}


def select_work(**kwargs):
    return json.load(open("ids.json"))


def main(work_ids):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["master", work_ids]) + "\n")
    if os.path.exists("fail.flag") and 3 in work_ids:
        raise SystemExit(1)
PY
    write src/dep.py <<'PY'
import json

STAU_CONFIG = {"on": "demand", "chunk_size": 3, "main_func": "main"}


def main(work_ids):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["dep", work_ids]) + "\n")
PY
    echo '[1, 2, 3, 4]' >ids.json
}

calls() {
    [ -f calls.txt ] && cat calls.txt
    rm -f calls.txt
}

test_original_max_lag_is_judged_per_work_id() {
    lag_graph
    run -j 1
    expect_exit 0
    expect_eq "first calls" '["dep", [1, 2, 3]]
["dep", [4]]
["master", [1, 2]]
["master", [3, 4]]' "$(calls)"
    # Two new IDs: dep runs for them alone; the others are fresh.
    echo '[1, 2, 3, 4, 5, 6]' >ids.json
    run run -n master
    expect_stdout_contains "  dep (on demand, needed by 'master')
      max-lag: 'master' needs each of its work IDs within 60 minutes; the last success was "
    expect_stdout_contains ", for some IDs: judged per ID once 'master' has chosen them"
    run run -j 1 master
    expect_exit 0
    expect_eq "calls" '["dep", [5, 6]]
["master", [1, 2]]
["master", [3, 4]]
["master", [5, 6]]' "$(calls)"
    # Fresh for all of them: dep is up to date, and no run of it is recorded.
    run run -j 1 master
    expect_exit 0
    expect_stdout_contains "[1/2] dep up to date: its last success for each of the 6 work IDs it was given is within its max_lag"
    expect_eq "runs of dep" 3 "$(db "SELECT count(*) FROM runs WHERE job = 'dep'")"
    # An hour later, every ID is stale again.
    db "UPDATE work_done SET finished_at = finished_at - 3700000 WHERE job = 'dep'" >/dev/null
    calls >/dev/null
    run run -j 1 master
    expect_exit 0
    expect_eq "dep's calls" '["dep", [1, 2, 3]]
["dep", [4, 5, 6]]' "$(calls | grep dep)"
}

test_original_next_tick_redoes_only_the_failed_ids() {
    lag_graph
    echo '[1, 2, 3, 4, 5, 6]' >ids.json
    touch fail.flag
    run -j 1
    expect_exit 1
    expect_stdout_contains "master (chunk 2/3) failed (exit 1)"
    rm fail.flag
    calls >/dev/null
    # The next tick (moved half an hour back: a tick has passed since).
    db "UPDATE runs SET queued_at = queued_at - 1800000, started_at = started_at - 1800000,
        finished_at = finished_at - 1800000 WHERE job = 'master'" >/dev/null
    db "UPDATE work_done SET finished_at = finished_at - 1800000 WHERE job = 'master'" >/dev/null
    run -j 1
    expect_exit 0
    expect_eq "calls" '["master", [3, 4]]' "$(calls)"
    expect_stdout_contains "dep up to date: its last success for each of the 2 work IDs it was given is within its max_lag"
}
