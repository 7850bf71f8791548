# Original-Stau projects run as the original ran them (SPEC §7): a master's work IDs
# chosen once, sorted, flowing down to what it needs; kwargs flowing down the edges;
# job_id and job_created_at; an empty selection cancelling the graph.

# src/utils.py as an original-Stau project has it: ReportConfig and ReportDependencies.
original_utils() {
    write src/utils.py <<'PY'
def ReportConfig(*args, **kwargs):
    return args, kwargs


def ReportDependencies(*args, **kwargs):
    return args, kwargs
PY
}

# The timetable with two entries of master ticking at once, regions eu and us.
two_region_entries() {
    write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "eu", "name": "eu", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "eu"}}},
    {"id": "us", "name": "us", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "us"}}},
]
PY
}

# master (ticks, select_work) -> mid (chunks of 3) -> leaf (chunks of 10).
original_graph() {
    new_project
    original_utils
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
      max-lag: 'mid' needs it within 60 minutes; its last success was never
      never-run: no successful run is recorded
      work ids: those 'mid' chooses when it runs, in chunks of 10
  mid (on demand, needed by 'master')
      max-lag: 'master' needs it within 60 minutes; its last success was never
      upstream-due: 'leaf' runs first
      never-run: no successful run is recorded
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
    # The master is cancelled, and so is its graph: recorded cancelled, not run.
    expect_stdout_contains "[1/3] leaf cancelled: 'master' chose no work IDs: nothing to do for it
[2/3] mid cancelled: 'master' chose no work IDs: nothing to do for it
[3/3] master (chunk 1/1) cancelled: select_work chose no work IDs
0 ran: 0 succeeded, 0 failed, 0 skipped, 3 cancelled ("
    expect_eq "calls" '["select", "eu"]' "$(cat calls.txt)"
    expect_eq "runs" "leaf||cancelled
mid||cancelled
master|[]|cancelled" "$(db "SELECT job, work_ids_json, status FROM runs ORDER BY id")"
    run history master
    expect_stdout_contains " cancelled "
    # Cancelled is not a failure: the master waits for its next tick.
    run -n
    expect_stdout_eq <<<"nothing to do"
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

# master (chunks of 2) waits for the chunks of dep (chunks of 3) that share its IDs,
# not for all of dep; a failed dep chunk skips only the master chunks needing it.
chunk_graph() {
    new_project
    write src/master.py <<'PY'
import json

STAU_CONFIG = {"chunk_size": 2, "dependencies": [{"job": "dep", "max_lag": 60}],
               "main_func": "main", "schedule": "*/20 * * * *"}


def select_work(**kwargs):
    return [1, 2, 3, 4, 5, 6]


def main(work_ids):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["master", work_ids]) + "\n")
PY
    write src/dep.py <<'PY'
import json, os, time

STAU_CONFIG = {"on": "demand", "chunk_size": 3, "main_func": "main"}


def main(work_ids):
    if 4 in work_ids:
        # The second chunk waits until the master's first chunk has run.
        for _ in range(200):
            if os.path.exists("calls.txt") and "master" in open("calls.txt").read():
                break
            time.sleep(0.05)
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["dep", work_ids]) + "\n")
    if os.path.exists("fail.flag") and 5 in work_ids:
        raise SystemExit(1)
PY
}

test_original_chunks_wait_only_for_the_chunks_they_share_ids_with() {
    chunk_graph
    run -j 2
    expect_exit 0
    expect_eq "calls in order" '["dep", [1, 2, 3]]
["master", [1, 2]]
["dep", [4, 5, 6]]' "$(head -n 3 calls.txt)"
    expect_eq "the rest" '["master", [3, 4]]
["master", [5, 6]]' "$(tail -n 2 calls.txt | sort)"
}

test_original_a_failed_chunk_skips_only_the_chunks_that_need_it() {
    chunk_graph
    touch fail.flag
    run -j 2
    expect_exit 1
    expect_stdout_contains "master (chunk 2/3) skipped: 'dep' (chunk 2/2, IDs 4-6) failed"
    expect_stdout_contains "master (chunk 3/3) skipped: 'dep' (chunk 2/2, IDs 4-6) failed"
    expect_stdout_contains "1 ran: 0 succeeded, 1 failed, 1 skipped"
    expect_eq "master's runs" "1|[1,2]|succeeded
2|[3,4]|skipped
3|[5,6]|skipped" "$(db "SELECT chunk, work_ids_json, status FROM runs WHERE job = 'master' ORDER BY chunk")"
    # Nothing runs before the next tick; at it, only the IDs not done.
    rm -f fail.flag calls.txt
    run -n
    expect_stdout_eq <<<"nothing to do"
    db "UPDATE runs SET queued_at = queued_at - 1800000, started_at = started_at - 1800000,
        finished_at = finished_at - 1800000 WHERE job = 'master'" >/dev/null
    db "UPDATE work_done SET finished_at = finished_at - 1800000 WHERE job = 'master'" >/dev/null
    run -j 2
    expect_exit 0
    expect_eq "master's calls" '["master", [3, 4]]
["master", [5, 6]]' "$(grep master calls.txt | sort)"
}

# A fed job whose feeder never runs (skipped: one of its own dependencies failed)
# has nothing to do: it does not wait for ever, nor choose IDs of its own.
test_original_a_feeder_that_never_ran_leaves_nothing_waiting() {
    new_project
    write src/top.py <<'PY'
STAU_CONFIG = {"chunk_size": 2, "dependencies": ["mid"], "main_func": "main"}


def main(work_ids=None):
    pass
PY
    write src/mid.py <<'PY'
STAU_CONFIG = {"on": "demand", "chunk_size": 2, "dependencies": ["leaf", "x"], "main_func": "main"}


def select_work(**kwargs):
    return [1, 2, 3]


def main(work_ids):
    pass
PY
    write src/leaf.py <<'PY'
STAU_CONFIG = {"on": "demand", "chunk_size": 2, "main_func": "main"}


def select_work(**kwargs):
    raise RuntimeError("a dependency's own select_work is never called")


def main(work_ids):
    pass
PY
    write src/x.py <<'PY'
STAU_CONFIG = {"main_func": "main"}


def main():
    raise SystemExit(1)
PY
    run -j 2
    expect_exit 1
    expect_stdout_contains "mid skipped: 'x' failed"
    expect_stdout_contains "leaf skipped: 'mid' did not run here: nothing to do for it"
    expect_stdout_contains "top skipped: 'x' failed"
    expect_stdout_contains "1 ran: 0 succeeded, 1 failed, 3 skipped"
}

# When the master's IDs are known before it runs (declared, or from its timetable
# entry), -n tells the IDs each dependency would run on, fresh ones left out.
test_original_dry_run_tells_the_ids_known_before_running() {
    lag_graph
    sed -i 's/STAU_CONFIG = {"chunk_size": 2,/STAU_CONFIG = {"work_ids": [4, 1, 3, 2], "chunk_size": 2,/' src/master.py
    run -n
    expect_exit 0
    expect_stdout_contains "  dep (on demand, needed by 'master')
      max-lag: 'master' needs each of its work IDs within 60 minutes; the last success was never
      work ids: 4 from 'master' (1-4), in 2 chunks of 3
  master (scheduled)"
    run -j 1
    expect_exit 0
    calls >/dev/null
    sed -i 's/"work_ids": \[4, 1, 3, 2\]/"work_ids": [6, 5, 4, 1, 3, 2]/' src/master.py
    run run -n master
    expect_stdout_contains "      work ids: 2 from 'master' (5-6), in one chunk; 4 more fresh within its max_lag"
    run run -j 1 master
    expect_exit 0
    expect_eq "dep's calls" '["dep", [5, 6]]' "$(calls | grep dep)"
    run run -n master
    expect_stdout_contains "      work ids: each of the 6 'master' gives it is fresh within its max_lag: up to date"
    # From a timetable entry's kwargs_func.
    new_project from_timetable
    original_utils
    write src/master.py <<'PY'
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="master", chunk_size=2, dependencies=[], main_func="f")
def f(work_ids, region):
    pass
PY
    write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "m", "name": "master", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "eu", "work_ids": [5, 3, 4]}}},
]
PY
    run -n
    expect_stdout_contains "      work ids: 3 from its timetable entry (3-5), in 2 chunks of 2"
}

# Timetable entries are schedules of their own: two entries of one job ticking at
# once, with other kwargs, give two runs, one after the other (an entry with the
# same kwargs as one that ran adds none).
test_original_entries_ticking_at_once_run_each() {
    new_project
    original_utils
    write src/master.py <<'PY'
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="master", chunk_size=None, dependencies=[], main_func="f")
def f(region, **kwargs):
    open("calls.txt", "a").write(region + "\n")
PY
    write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "eu", "name": "eu", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "eu"}}},
    {"id": "us", "name": "us", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "us"}}},
    {"id": "eu-again", "name": "eu", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "eu"}}},
]
PY
    run -n
    expect_stdout_eq <<'EOF'
would run 1 job:
  master (scheduled)
      never-run: no successful run is recorded
      then again for timetable entry 'us', with its own kwargs
EOF
    run
    expect_exit 0
    expect_eq "first runs" "eu
us" "$(calls)"
    expect_eq "recorded" '1|{"region":"eu"}|[{"reason":"never-run","evidence":"no successful run is recorded","entry":"eu"}]
2|{"region":"us"}|[{"reason":"never-run","evidence":"timetable entry '"'us'"' never ran with its kwargs: the last run was entry '"'eu'"''"'"'s first","entry":"us"}]' \
        "$(db "SELECT id, kwargs_json, reasons_json FROM runs ORDER BY id")"
    run
    expect_stdout_eq <<<"nothing to do"
    # Half an hour later: a tick has passed, and each entry runs for it.
    db "UPDATE runs SET queued_at = queued_at - 1800000, started_at = started_at - 1800000, finished_at = finished_at - 1800000" >/dev/null
    run -n
    expect_stdout_contains "      then again for timetable entry 'us', with its own kwargs"
    run
    expect_exit 0
    expect_eq "at the tick" "eu
us" "$(calls)"
    local tick
    tick=$(db "SELECT json_extract(reasons_json, '\$[0].tick_ms') FROM runs WHERE id = 3")
    expect_eq "both for one tick" "$tick|eu
$tick|us" "$(db "SELECT json_extract(reasons_json, '\$[0].tick_ms'), json_extract(reasons_json, '\$[0].entry') FROM runs WHERE id > 2 ORDER BY id")"
    expect_eq "the tick as a time" "$("$PY" -c 'import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]) // 1000, datetime.timezone.utc).isoformat())' "$tick")" \
        "$(db "SELECT json_extract(reasons_json, '\$[0].tick') FROM runs WHERE id = 3")"
    expect_eq "a tick" 0 "$((tick % 1200000))"
    run
    expect_stdout_eq <<<"nothing to do"
}

# A round that did not go well ends the runs for the other entries: the next stau
# sees what failed (the dependency runs once here, not once per entry and round).
test_original_entries_stop_after_a_failure() {
    new_project
    original_utils
    write src/master.py <<'PY'
from utils import ReportConfig, ReportDependencies
STAU_CONFIG = ReportConfig(job_type="master", chunk_size=None, main_func="f",
                           dependencies=[ReportDependencies("d", 60)])
def f(region, **kwargs):
    open("calls.txt", "a").write("master " + region + "\n")
PY
    write src/d.py <<'PY'
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="d", chunk_size=None, dependencies=[], main_func="f")
def f(**kwargs):
    open("calls.txt", "a").write("d\n")
    raise SystemExit(1)
PY
    two_region_entries
    run
    expect_exit 1
    expect_eq "d once" "d" "$(cat calls.txt)"
    expect_stdout_contains "[2/2] master skipped: 'd' failed"
    expect_eq "one summary" 1 "$(grep -c ' ran: ' "$OUT")"
}

# allow_multiple_jobs=False: two entries ticking at once give one run (the second
# finds the first's queued); with True each gets its own.
test_original_allow_multiple_jobs_false_entries_share_a_tick() {
    new_project
    original_utils
    write src/master.py <<'PY'
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="master", chunk_size=None, dependencies=[], main_func="f",
                           allow_multiple_jobs=False)
def f(region, **kwargs):
    open("calls.txt", "a").write(region + "\n")
PY
    two_region_entries
    run
    expect_exit 0
    expect_eq "one run" "eu" "$(cat calls.txt)"
}

# A timetable entry giving no work IDs cancels the master; a job needing the master
# is skipped for it.
test_original_no_ids_from_the_timetable_cancels() {
    new_project
    original_utils
    write src/master.py <<'PY'
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="master", chunk_size=2, dependencies=[], main_func="f")
def f(work_ids, **kwargs):
    open("calls.txt", "a").write("master\n")
PY
    write src/report.py <<'PY'
STAU_CONFIG = {"dependencies": ["master"]}
open("calls.txt", "a").write("report\n")
PY
    write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "m", "name": "m", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"work_ids": []}}},
]
PY
    run -j 1
    expect_exit 0
    expect_stdout_contains "[1/2] master (chunk 1/1) cancelled: its timetable entry gives no work IDs
[2/2] report skipped: 'master' was cancelled: it chose no work IDs
0 ran: 0 succeeded, 0 failed, 1 skipped, 1 cancelled ("
    expect_no_file calls.txt
}

# allow_multiple_jobs=False: a tick while a run is queued or running is dropped (its
# ticks count from the run's end); by default the tick gives a run after it.
test_original_allow_multiple_jobs_false_drops_a_tick_during_a_run() {
    local allow
    for allow in False True; do
        new_project "allow_$allow"
        original_utils
        write src/slow.py <<PY
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="slow", chunk_size=None, dependencies=[], main_func="f",
                           allow_multiple_jobs=$allow)
def f(**kwargs):
    pass
PY
        write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "yearly", "name": "yearly", "trigger": CronTrigger(month=1, day=1),
     "kwargs_stau_api": {"jobType": "slow"}},
]
PY
        run
        expect_exit 0
        # The run began two years ago and has just ended: New Year came while it ran.
        db "UPDATE runs SET queued_at = queued_at - 63072000000, started_at = started_at - 63072000000" >/dev/null
        run -n
        if [ "$allow" = False ]; then
            expect_stdout_eq <<<"nothing to do"
        else
            expect_stdout_contains "      schedule: '0 0 1 1 *' ticked at "
        fi
    done
}

# A dependency reached twice is one shared run, unless an edge says unique=True: that
# dependent gets a run of its own, with its own kwargs (and work IDs).
test_original_unique_gives_a_dependent_its_own_copy() {
    new_project
    original_utils
    write src/master.py <<'PY'
import json
from utils import ReportConfig, ReportDependencies
STAU_CONFIG = ReportConfig(job_type="master", chunk_size=2, main_func="f",
                           dependencies=[ReportDependencies("a", 60), ReportDependencies("b", 60),
                                         ReportDependencies("c", 60)])
def f(work_ids, **kwargs):
    pass
PY
    local x unique
    for x in a b c; do
        unique=False
        [ "$x" = a ] && unique=True
        write "src/$x.py" <<PY
from utils import ReportConfig, ReportDependencies
STAU_CONFIG = ReportConfig(job_type="$x", chunk_size=10, main_func="f",
                           dependencies=[ReportDependencies("d", 60, custom_kwargs={"k": "$x"},
                                                            unique=$unique)])
def f(work_ids, **kwargs):
    pass
PY
    done
    write src/d.py <<'PY'
import json
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="d", chunk_size=3, dependencies=[], main_func="f")
def f(work_ids, k, region):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["d", work_ids, k, region]) + "\n")
PY
    write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "m", "name": "m", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "eu", "work_ids": [4, 1, 2, 3]}}},
]
PY
    run -n
    expect_stdout_contains "  a (on demand, needed by 'master')
      max-lag: 'master' needs it within 60 minutes; its last success was never
      upstream-due: 'd' runs first
      never-run: no successful run is recorded
      and a run of 'd' of its own (unique=True), on its work IDs and kwargs"
    run -j 1
    expect_exit 0
    expect_stdout_contains "6 ran: 6 succeeded, 0 failed, 0 skipped"
    expect_stdout_contains "] d for 'a' (chunk 1/2) ok"
    # b and c share one run of d (b's kwargs: the first edge to it); a has its own.
    expect_eq "d's runs" '["d", [1, 2, 3], "a", "eu"]
["d", [1, 2, 3], "b", "eu"]
["d", [4], "a", "eu"]
["d", [4], "b", "eu"]' "$(sort calls.txt)"
    expect_eq "recorded" 4 "$(db "SELECT count(*) FROM runs WHERE job = 'd'")"
}

# A dependency a master needs waits while a run of it goes on elsewhere, rather than
# run twice at once (even where runs of it may overlap); then it runs here, for its
# own work IDs and kwargs (the other run's are not those).
test_original_a_dependency_running_elsewhere_is_waited_for() {
    new_project
    original_utils
    write src/master.py <<'PY'
from utils import ReportConfig, ReportDependencies
STAU_CONFIG = ReportConfig(job_type="master", chunk_size=None, main_func="f",
                           dependencies=[ReportDependencies("d", 60)])
def f(**kwargs):
    open("calls.txt", "a").write("master\n")
PY
    write src/d.py <<'PY'
import os, time
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="d", chunk_size=None, dependencies=[], main_func="f")
def f(**kwargs):
    open("d.started", "w").close()
    while not os.path.exists("d.go"):
        time.sleep(0.05)
    open("calls.txt", "a").write("d\n")
PY
    write src/stau_schedule.py <<'PY'
recurring_jobs = [{"id": "m", "name": "m", "trigger": CronTrigger(minute="*/20"),
                   "kwargs_stau_api": {"jobType": "master"}}]
PY
    start_bg_into "$TEST_TMP/a.out" "$TEST_TMP/a.err" run d
    local a=$BG_PID
    wait_for_file d.started || return
    start_bg
    local i
    for i in $(seq 100); do
        grep -q "waiting for it" "$ERR" "$OUT" 2>/dev/null && break
        sleep 0.1
    done
    expect_stdout_contains "d already running as run 1 of another stau"
    touch d.go
    wait_bg
    expect_eq "exit" 0 "$RC"
    expect_stdout_contains "d run 1 of another stau ended: succeeded; running it here"
    BG_PID=$a
    wait_bg
    expect_eq "one after the other, then master" "d
d
master" "$(cat calls.txt)"
    # The second run of d began after the first ended.
    expect_eq "no overlap" 1 "$(db "SELECT (SELECT started_at FROM runs WHERE job = 'd' AND id = 2) >= (SELECT finished_at FROM runs WHERE job = 'd' AND id = 1)")"
}

# A timetable entry's kwargs_func may give the master's work IDs: select_work is not
# asked; and a job in the original form that is not split still gets job_id.
test_original_work_ids_from_the_timetable_and_job_id_unsplit() {
    new_project
    original_utils
    write src/master.py <<'PY'
import json
from utils import ReportConfig

STAU_CONFIG = ReportConfig(job_type="master", chunk_size=2, dependencies=["plain"],
                           main_func="master_func")


def select_work(**kwargs):
    raise RuntimeError("not asked: the timetable gives the work IDs")


def master_func(work_ids, region, job_id):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["master", work_ids, region]) + "\n")
PY
    write src/plain.py <<'PY'
import json
from utils import ReportConfig

STAU_CONFIG = ReportConfig(job_type="plain", chunk_size=None, dependencies=[],
                           main_func="plain_func")


def plain_func(job_id, job_created_at, **kwargs):
    with open("calls.txt", "a") as f:
        f.write(json.dumps(["plain", type(job_id).__name__, type(job_created_at).__name__]) + "\n")
PY
    write src/stau_schedule.py <<'PY'
recurring_jobs = [
    {"id": "m", "name": "master", "trigger": CronTrigger(minute="*/20"),
     "kwargs_stau_api": {"jobType": "master", "kwargs_func": {"region": "eu", "work_ids": [5, 3, 4]}}},
]
PY
    run -j 1
    expect_exit 0
    expect_eq "calls" '["plain", "int", "datetime"]
["master", [3, 4], "eu"]
["master", [5], "eu"]' "$(cat calls.txt)"
    expect_eq "kwargs recorded" '{"region":"eu"}' "$(db "SELECT DISTINCT kwargs_json FROM runs WHERE job = 'master'")"
}

test_original_why_tells_freshness_per_work_id() {
    lag_graph
    run -j 1
    expect_exit 0
    db "UPDATE work_done SET finished_at = finished_at - 7800000 WHERE job = 'dep' AND work_id IN (3, 4)" >/dev/null
    db "DELETE FROM work_done WHERE job = 'dep' AND work_id = 2" >/dev/null
    local batch
    batch=$(db "SELECT min(batch) FROM runs WHERE job = 'master'")
    run why master
    expect_exit 0
    expect_stdout_contains "its max_lag of 60 minutes judged per work ID"
    expect_stdout_contains "  dependency dep, for the 4 work IDs of run $batch: IDs 3-4 last succeeded 2h 10m ago at the oldest, over its max_lag of 60 minutes; ID 2 never succeeded: they run first when this job runs on them"
    db "UPDATE work_done SET finished_at = finished_at + 7800000 WHERE job = 'dep'" >/dev/null
    db "INSERT INTO work_done SELECT job, 2, run_id, finished_at FROM work_done WHERE job = 'dep' AND work_id = 1" >/dev/null
    run why master
    expect_stdout_contains "  dependency dep, for the 4 work IDs of run $batch: each succeeded within its max_lag of 60 minutes"
}

test_original_dot_draws_the_chunk_graph() {
    chunk_graph
    run dot --chunks master
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: nothing has run yet: the chunk graph is drawn from the latest runs
  hint: run the jobs first (`stau`), or draw the job graph: stau dot
EOF
    run -j 2
    expect_exit 0
    run dot --chunks
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'dot --chunks' needs the jobs whose chunk graph to draw
  hint: stau dot --chunks JOB... (a master: what it needs is drawn too)
EOF
    run dot --chunks master
    expect_exit 0
    expect_stdout_contains 'subgraph cluster_master {'
    expect_stdout_contains 'subgraph cluster_dep {'
    expect_eq "edges: each chunk from the chunks sharing its IDs" '"dep#1" -> "master#1";
"dep#1" -> "master#2";
"dep#2" -> "master#2";
"dep#2" -> "master#3";' "$(grep -- '->' "$OUT" | sed 's/^[[:space:]]*//' | sort)"
    expect_stdout_contains 'label="5-6 (run '
    "$PY" - "$OUT" <<'EOF' || fail "the chunk graph does not render"
import subprocess, sys
subprocess.run(["dot", "-Tsvg", "-o", "/dev/null", sys.argv[1]], check=True)
EOF
}

# On the original Stau's edges a fresh dependency prunes its branch: max_lag alone
# pulls it in, whatever else changed (SPEC §7); why says so.
test_original_edges_pull_by_max_lag_alone() {
    use_fixture original
    run -j 2
    expect_exit 0
    echo "X = 1" >>src/job_b.py
    run run -j 2 job_a
    expect_exit 0
    expect_stdout_contains "job_b up to date: its last success for each of the 25 work IDs it was given is within its max_lag"
    run why job_b
    expect_stdout_contains "  not a cause in the original Stau's form (max_lag decides): code-changed: src/job_b.py changed since run "
}
