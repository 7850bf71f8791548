# t_json.sh: every --json output (list, why, status, history, show, schedule) and
# serve's --json-log, checked against the keys and types README.md's "JSON output"
# documents (json_shapes.py reads them from there: the docs and this test cannot
# drift); and that what stau writes as JSON is valid UTF-8 whatever bytes a file
# name or the database holds.

SHAPES=$ROOT/tests/e2e/json_shapes.py

# expect_shapes FILE SPEC: FILE as json_shapes.py checks it (see there for SPEC).
expect_shapes() {
    local problems
    if ! problems=$(SEEN=$TEST_TMP/seen "$PY" "$SHAPES" "$ROOT/README.md" "$1" "$2" 2>&1); then
        fail "$(_where): $2 is not as README.md's JSON output says:"
        printf '%s\n' "$problems" | head -n 20
        head -c 1500 "$1"
        echo
    fi
}

# A project with a job of each kind: scheduled in a zone, derived with inputs and a
# max_lag, chunked, failing with a retry, on demand, run by a timetable entry,
# unreadable, blocked by that one, and one with a misspelt key (a warning).
json_project() {
    new_project
    write src/a.py <<'EOF'
STAU_CONFIG = {"schedule": "0 6 * * *", "timezone": "Europe/Copenhagen", "main_func": "main",
               "kwargs": {"region": "eu"}, "outputs": ["out/a.txt"], "tags": ["t"]}


def main(region):
    import os
    os.makedirs("out", exist_ok=True)
    open("out/a.txt", "w").write(region)
EOF
    write src/b.py <<'EOF'
STAU_CONFIG = {"dependencies": [{"job": "a", "max_lag": 60}], "inputs": ["data/*.csv"]}
EOF
    write src/c.py <<'EOF'
STAU_CONFIG = {"work_ids": [1, 2, 3], "chunk_size": 2}
EOF
    write src/f.py <<'EOF'
STAU_CONFIG = {"retries": 1, "retry_delay": 0.1}
raise SystemExit(3)
EOF
    write src/g.py <<'EOF'
STAU_CONFIG = {"dependencies": ["f"]}
EOF
    write src/lazy.py <<'EOF'
STAU_CONFIG = {"on": "demand"}
EOF
    write src/tick.py <<'EOF'
STAU_CONFIG = {"schedule": "@every 1s"}
EOF
    write src/tt.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}


def main(**kwargs):
    print(kwargs)
EOF
    write src/stau_schedule.py <<'EOF'
from apscheduler.triggers.cron import CronTrigger

recurring_jobs = [
    {"id": "tt_daily", "name": "tt", "trigger": CronTrigger(hour=5),
     "kwargs_stau_api": {"jobType": "tt", "kwargs_func": {"full": True}}},
]
EOF
    write src/broken.py <<'EOF'
STAU_CONFIG = {"retries":
EOF
    write src/needs_broken.py <<'EOF'
STAU_CONFIG = {"dependencies": ["broken"]}
EOF
    write src/typo.py <<'EOF'
STAU_CONFIG = {"tagz": ["x"]}
EOF
    mkdir -p data
    echo 1 >data/x.csv
}

test_json_every_command_matches_the_readme() {
    "$PY" "$SHAPES" "$ROOT/README.md" - enums "$ROOT" ||
        fail "README.md's enumerations are not the names stau writes (above)"
    json_project
    run list --json
    expect_exit 2
    expect_shapes "$OUT" '[list|list-unreadable]'
    "$PY" - "$OUT" <<'EOF' || fail "list --json: the unreadable and blocked jobs"
import json, sys
jobs = {j["name"]: j for j in json.load(open(sys.argv[1]))}
assert set(jobs["broken"]) == {"name", "file", "valid", "not_run"}, jobs["broken"]
assert jobs["needs_broken"]["not_run"].startswith("it depends on 'broken'"), jobs["needs_broken"]
assert jobs["a"]["not_run"] is None and jobs["a"]["on"] is None, jobs["a"]
assert jobs["lazy"]["policy"] == "on-demand" and jobs["lazy"]["on"] == ["demand"], jobs["lazy"]
assert jobs["tt"]["timetable"][0]["id"] == "tt_daily", jobs["tt"]
EOF
    run schedule --json --from 2026-07-01T00:00+00:00 --limit 2
    expect_exit 0
    expect_shapes "$OUT" '[schedule]'
    # a tick in the job's zone, with its summer offset; the instant beside it
    "$PY" -c 'import json,sys; d={j["job"]: j for j in json.load(open(sys.argv[1]))}; t=d["a"]["ticks"][0]; assert t == {"at": "2026-07-01T06:00:00+02:00", "at_ms": 1782878400000, "schedule": "0 6 * * *"}, t' "$OUT" ||
        fail "schedule --json: a's first tick: $(cat "$OUT")"
    run status --json
    expect_exit 1
    expect_shapes "$OUT" '[status]'
    run why --json a b broken
    expect_exit 1
    expect_shapes "$OUT" '[why|why-not-run]'
    run
    expect_exit 1
    run why --json a b c f g lazy tick tt broken needs_broken
    expect_exit 1
    expect_shapes "$OUT" '[why|why-not-run]'
    run status --json
    expect_exit 1
    expect_shapes "$OUT" '[status]'
    "$PY" - "$OUT" <<'EOF' || fail "status --json: each job's last run"
import json, sys
jobs = {j["job"]: j for j in json.load(open(sys.argv[1]))}
a, f = jobs["a"], jobs["f"]
assert a["state"] == "succeeded" and a["last_run"]["status"] == "succeeded", a
assert a["last_run"]["finished_ms"] >= a["last_run"]["started_ms"] > 1e12, a
assert a["next"] == "tick" and a["next_at"][-6:] in ("+01:00", "+02:00"), a
assert f["last_run"]["status"] == "failed" and f["last_run"]["attempt"] == 2, f
assert jobs["broken"]["state"] == "invalid" and jobs["broken"]["next"] == "not-run", jobs["broken"]
assert jobs["lazy"]["next"] == "on-demand", jobs["lazy"]
EOF
    run history --json
    expect_exit 0
    expect_shapes "$OUT" '[run]'
    "$PY" - "$OUT" <<'EOF' || fail "history --json: the invocation of the runs"
import json, sys
runs = json.load(open(sys.argv[1]))
ids = {r["invocation"]["id"] for r in runs}
assert len(ids) == 1, ids  # one stau ran them all
pid, start = next(iter(ids)).split(":")
inv = runs[0]["invocation"]
assert inv["pid"] == int(pid) and inv["started_ms"] == int(start) and inv["host"], inv
chunks = [r for r in runs if r["job"] == "c"]
assert sorted(r["chunk"] for r in chunks) == [1, 2] and {r["batch"] for r in chunks} == {min(r["id"] for r in chunks)}, chunks
tt = [r for r in runs if r["job"] == "tt"][0]
assert tt["reasons"][0]["entry"] == "tt_daily" and tt["kwargs"] == {"full": True}, tt
EOF
    local ok skipped
    ok=$(db "SELECT id FROM runs WHERE job = 'a'")
    skipped=$(db "SELECT id FROM runs WHERE job = 'g'")
    run show "$ok" --json
    expect_exit 0
    expect_shapes "$OUT" show
    run show "$skipped" --json
    expect_exit 0
    expect_shapes "$OUT" show
    # serve (which runs nothing while a declaration has errors): runs, a retry, a
    # skip, a warning's diagnostic, what the leader enqueues
    rm src/broken.py src/needs_broken.py
    echo 2 >data/y.csv
    start_bg_into "$TEST_TMP/serve.out" "$TEST_TMP/serve.err" serve --json-log
    local serve=$BG_PID i
    for i in $(seq 150); do
        grep -q '"event":"enqueued"' "$TEST_TMP/serve.err" &&
            grep -q '"event":"retry"' "$TEST_TMP/serve.err" &&
            grep -q '"event":"skipped"' "$TEST_TMP/serve.err" && break
        sleep 0.1
    done
    kill -TERM "$serve"
    wait_bg
    expect_exit 0
    expect_shapes "$TEST_TMP/serve.err" events
    # Every shape the README documents was met at least once, but the events that
    # need several copies, work IDs chosen by select_work or a cut-off.
    "$PY" - "$ROOT/README.md" "$TEST_TMP/seen" <<'EOF' || fail "shapes the README documents that no output had (above)"
import re, sys
section = open(sys.argv[1], encoding="utf-8").read().split("\n## JSON output\n")[1].split("\n## ")[0]
documented = {n for line in section.split("\n") if line.startswith("#### ")
              for n in re.findall(r"`([^`]+)`", line)}
seen = set(open(sys.argv[2]).read().split("\n"))
untested = {"event:withdrawn", "event:cancelled", "event:up-to-date", "event:elsewhere"}
missing = documented - seen - untested
print("\n".join(sorted(missing)))
sys.exit(1 if missing else 0)
EOF
}

# Issue 13 (11): a non-UTF-8 byte in a file name gave invalid UTF-8 in list --json.
# Job names may be restricted to what Python imports; an input's file name is not.
test_json_a_file_name_that_is_not_utf8_gives_valid_json() {
    new_project
    write src/j.py <<'EOF'
STAU_CONFIG = {"inputs": ["data/*.csv"]}
EOF
    mkdir data
    echo 1 >data/a.csv
    run
    expect_exit 0
    echo 2 >"data/caf$(printf '\351').csv"
    printf 'STAU_CONFIG = {}\n' >"src/caf$(printf '\351').py"
    run why --json j
    expect_shapes "$OUT" '[why|why-not-run]'
    expect_stdout_contains 'data/caf\ufffd.csv is new since run 1'
    run list --json
    # the job is listed with its name escaped, or skipped (a name Python cannot import)
    expect_shapes "$OUT" '[list|list-unreadable]'
    "$PY" -c '
import json, sys
names = [j["name"] for j in json.load(open(sys.argv[1], encoding="utf-8"))]
assert names in (["caf\ufffd", "j"], ["j"]), names' "$OUT" || fail "list --json: $(cat "$OUT")"
    rm "src/caf$(printf '\351').py"
    run
    expect_exit 0
    run history --json
    expect_shapes "$OUT" '[run]'
    expect_stdout_contains '"evidence":"data/caf\ufffd.csv is new since run 1"'
}

# Issue 13 (11): a garbled database gave invalid UTF-8 in history --json.
test_json_history_over_a_garbled_row_is_valid_utf8() {
    new_project
    write src/j.py <<'EOF'
STAU_CONFIG = {"kwargs": {"name": "x"}}
EOF
    run
    expect_exit 0
    # Bytes no UTF-8 has, in text columns and inside the JSON of the kwargs.
    db "UPDATE runs SET job = 'j' || X'ff', git_commit = 'c' || X'c0af', log_path = CAST(X'e282' AS TEXT),
        kwargs_json = '{\"name\": \"caf' || X'e9' || '\"}'" >/dev/null
    run history --json
    expect_exit 0
    expect_shapes "$OUT" '[run]'
    "$PY" - "$OUT" <<'EOF' || fail "history --json of the garbled row: $(cat "$OUT")"
import json, sys
(r,) = json.load(open(sys.argv[1], encoding="utf-8"))
assert r["job"] == "j\ufffd" and r["git_commit"] == "c\ufffd\ufffd", r
assert r["log_path"] == "\ufffd\ufffd", r
assert r["kwargs"] == {"name": "caf\ufffd"}, r
EOF
    run show 1 --json
    expect_exit 0
    expect_shapes "$OUT" show
    # A column kept as JSON that is no JSON any more: a string of what it holds.
    db "UPDATE runs SET reasons_json = '[{\"reason\"' || X'fe'" >/dev/null
    run history --json
    expect_exit 0
    "$PY" -c '
import json, sys
(r,) = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert r["reasons"] == "[{\"reason\"\ufffd", r' "$OUT" || fail "history --json of garbled reasons: $(cat "$OUT")"
}
