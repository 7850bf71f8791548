# A run's life beside other copies of stau (SPEC §3, §6): a stau that is stopped but
# alive keeps its jobs, many copies started together run each need once, SIGHUP
# stops a one-off stau as SIGTERM does, a job running elsewhere is left to its
# owner, and a chunked job's verdict is its whole invocation's (SPEC §7).
#
# Every process a test starts is ended when the test ends, however it ends: see
# `track` and `end_tracked`. (The stress test's jobs are not tracked: each ends by
# itself within half a second.)

# The copies of stau to end when the test ends.
TRACKED_PIDS=()

end_tracked() {
    local p
    for p in "${TRACKED_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    # The held jobs, by the process group each recorded in NAME.pgid.
    for p in *.pgid; do
        [ -f "$p" ] && reap_group "$(cat "$p")"
    done
    return 0
}
trap end_tracked EXIT

# track PID: end this stau when the test ends.
track() {
    TRACKED_PIDS+=("$1")
}

# finish_bg PID WHAT OUTFILE ERRFILE: wait for a background stau until $DEADLINE (in
# $SECONDS), ending it if it is still running then; fail unless it exited 0.
finish_bg() {
    local pid=$1 what=$2 out=$3 err=$4 rc
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$DEADLINE" ]; do
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$(_where): $what (pid $pid) was still running at the deadline"
        kill -9 "$pid"
    fi
    wait "$pid"
    rc=$?
    if [ "$rc" != 0 ]; then
        fail "$(_where): $what exited with $rc, expected 0; its stdout:"
        cat "$out"
        echo "--- its stderr:"
        cat "$err"
    fi
}

# Is anything but zombies left in this process group? (Nobody here reaps orphans.)
group_alive() {
    ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# held_job NAME [GRANDCHILD_SLEEP]: src/NAME.py whose main() records its process group
# in NAME.pgid, appends NAME to ran.txt, touches NAME.started, optionally starts a
# grandchild `sleep GRANDCHILD_SLEEP`, then waits (at most 15 s) for the file
# `release` and touches NAME.finished.
held_job() {
    local name=$1 grandchild=${2:-}
    write "src/$name.py" <<EOF
import os, subprocess, time

STAU_CONFIG = {"main_func": "main", "outputs": []}


def main():
    open("$name.pgid", "w").write(str(os.getpgid(0)))
    with open("ran.txt", "a") as f:
        f.write("$name\n")
    if "$grandchild":
        subprocess.Popen(["sleep", "$grandchild"])
    open("$name.started", "w").close()
    for _ in range(150):
        if os.path.exists("release"):
            break
        time.sleep(0.1)
    open("$name.finished", "w").close()
EOF
}

# How many times each job wrote to ran.txt, as 'job:count ...'.
ran_counts() {
    sort ran.txt 2>/dev/null | uniq -c | awk '{ printf "%s%s:%s", sep, $2, $1; sep = " " }'
}

# Start a one-off stau that runs the held job `sleepy`, and wait until the job is
# running and its run is recorded as running. Sets FIRST (the stau's pid) and PGID
# (the job's process group); the stau's output goes to first.out and first.err.
start_first_stau() {
    DEADLINE=$((SECONDS + 30))
    new_project
    held_job sleepy
    start_bg_into first.out first.err
    FIRST=$BG_PID
    track "$FIRST"
    wait_for_file sleepy.started || return 1
    PGID=$(cat sleepy.pgid)
    wait_for_status sleepy running || {
        fail "$(_where): the run of sleepy is not recorded as running: $(last_status sleepy)"
        return 1
    }
}

# Stop the first stau (as Ctrl-Z or a paused VM would) and make its lease look two
# minutes old, as it would after a pause of that long or a clock step.
stop_first_stau_for_two_minutes() {
    kill -STOP "$FIRST"
    db "UPDATE runs SET heartbeat_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 120000 WHERE id = 1"
}

# Let the first stau go on, release its job, and check that it ends well: exit 0,
# its job not killed, its run recorded succeeded, the job run once.
expect_first_stau_finishes_well() {
    kill -CONT "$FIRST"
    touch release
    finish_bg "$FIRST" "the first stau" first.out first.err
    expect_file sleepy.finished
    expect_eq "the first stau's run" "succeeded|" "$(db "SELECT status, signal FROM runs WHERE id = 1")"
    expect_eq "runs of sleepy" "sleepy:1" "$(ran_counts)"
}

# BUG: a second stau on the host judges a live stau gone when its heartbeat looks
# 60 s old (the liveness rule, lease.c): `stau status` records the run lost and SIGKILLs its process group, and the first stau then records
# `failed (killed by signal 9)` and exits 1. On its own host a stau is alive while
# its process is, whatever its heartbeat.
test_lifecycle_status_leaves_a_stopped_stau_its_job() {
    start_first_stau || return
    stop_first_stau_for_two_minutes
    run status
    expect_exit 0
    expect_stderr_not_contains "recorded as lost"
    expect_stderr_not_contains "ended what was left"
    group_alive "$PGID" || fail "the job of the stopped stau was killed"
    expect_eq "the run's status while its stau is stopped" running "$(last_status sleepy)"
    expect_first_stau_finishes_well
}

# BUG: as above, for a plain `stau`: it takes the stopped stau's run for lost, kills
# its job and runs the job again itself.
test_lifecycle_plain_stau_leaves_a_stopped_stau_its_job() {
    start_first_stau || return
    stop_first_stau_for_two_minutes
    # It may wait for the job it finds running: it runs in the background, and is
    # given a moment to look (it judges leases as it starts) before the first goes on.
    start_bg_into second.out second.err
    local second=$BG_PID
    track "$second"
    sleep 1.5
    group_alive "$PGID" || fail "the job of the stopped stau was killed"
    expect_first_stau_finishes_well
    finish_bg "$second" "the second stau" second.out second.err
    if grep -qF -e "recorded as lost" -e "ended what was left" second.err; then
        fail "the second stau took the stopped stau for gone; its stderr:"
        cat second.err
    fi
}

# A chain project for the stress test: three chains x1 -> x2 -> x3 -> x4 (x in a, b,
# c). Each job appends "NAME PID start NS" and "NAME PID end NS" lines to ledger.txt
# (one write each, O_APPEND), sleeping 0.2-0.5 s between, and writes data/NAME.out.
chains_project() {
    new_project
    local chain k deps
    for chain in a b c; do
        for k in 1 2 3 4; do
            deps=""
            [ "$k" -gt 1 ] && deps="\"$chain$((k - 1))\""
            write "src/$chain$k.py" <<EOF
import os, time

STAU_CONFIG = {"main_func": "main", "dependencies": [$deps], "outputs": ["data/$chain$k.out"]}


def note(what):
    fd = os.open("ledger.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, ("$chain$k %d %s %d\n" % (os.getpid(), what, time.time_ns())).encode())
    os.close(fd)


def main():
    note("start")
    time.sleep(0.$((k + 1)))
    os.makedirs("data", exist_ok=True)
    open("data/$chain$k.out", "w").write("$chain$k")
    note("end")
EOF
        done
    done
    age_files
}

# Check ledger.txt of chains_project: every job ran exactly once, no two runs of a
# job overlapped, and no run started before each of its dependencies had ended
# (nor while a run of one was going).
expect_each_chain_job_ran_once_in_order() {
    "$PY" - ledger.txt <<'EOF' || { fail "$(_where): the ledger is not as expected (above); it was:"; cat ledger.txt; }
import collections, sys

runs = collections.defaultdict(dict)  # job -> pid -> {"start": ns, "end": ns}
for line in open(sys.argv[1]):
    job, pid, what, ns = line.split()
    runs[job].setdefault(pid, {})[what] = int(ns)
problems = []
for chain in "abc":
    for k in range(1, 5):
        job = f"{chain}{k}"
        mine = sorted(runs.get(job, {}).values(), key=lambda r: r["start"])
        if len(mine) != 1:
            problems.append(f"{job} ran {len(mine)} times")
        for r in mine:
            if "end" not in r:
                problems.append(f"{job}: a run never ended")
        for r, s in zip(mine, mine[1:]):
            if s["start"] < r.get("end", float("inf")):
                problems.append(f"{job}: two runs overlapped")
        if k == 1:
            continue
        dep = f"{chain}{k - 1}"
        theirs = runs.get(dep, {}).values()
        for r in mine:
            before = [d for d in theirs if d["start"] < r["start"]]
            if not before:
                problems.append(f"{job} started before {dep} ever ran")
            elif any(d.get("end", float("inf")) > r["start"] for d in before):
                problems.append(f"{job} started while {dep} was running")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
}

# BUG: copies of stau started moments apart run a need twice: a later stau plans
# while another's run is active and claims after that run has ended, so it runs the
# job again, and may start a dependent while it re-runs its upstream (which then
# leaves the dependent due: the last `stau` below finds work). Twelve copies,
# started 0.15 s apart on twelve never-run jobs, must run each job once, in
# dependency order, and all exit 0: a copy that finds a job running elsewhere waits
# for it or leaves it to its stau, and does not fail.
test_lifecycle_many_staus_run_each_need_once() {
    chains_project
    DEADLINE=$((SECONDS + 30))
    local i pids=()
    for i in $(seq 12); do
        start_bg_into "stau.$i.out" "stau.$i.err"
        pids[i]=$BG_PID
        track "$BG_PID"
        sleep 0.15
    done
    for i in $(seq 12); do
        finish_bg "${pids[i]}" "stau copy $i" "stau.$i.out" "stau.$i.err"
    done
    expect_each_chain_job_ran_once_in_order
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
}

# BUG: SIGHUP (the terminal closing) kills a one-off stau at once (exit 129): its
# job runs on unsupervised, recorded `running`. It should stop as on SIGTERM: the
# signal reaches the job's process group, the run is recorded interrupted, exit 130.
test_lifecycle_sighup_stops_a_one_off_stau_as_sigterm_does() {
    new_project
    local marker
    marker=$(unique_sleep)
    held_job sleepy "$marker"
    start_bg
    track "$BG_PID"
    wait_for_file sleepy.started || return
    local pgid
    pgid=$(cat sleepy.pgid)
    wait_for_status sleepy running || fail "the run of sleepy is not recorded as running"
    kill -HUP "$BG_PID"
    wait_bg
    expect_exit 130
    expect_eq "the run's status" interrupted "$(last_status sleepy)"
    sleep 0.3
    pgrep -f "sleep $marker" >/dev/null && fail "the grandchild 'sleep $marker' outlived SIGHUP"
    group_alive "$pgid" && fail "the job's process group $pgid outlived SIGHUP"
    expect_no_file sleepy.finished
}

# BUG: a one-off stau that finds a job running under another stau records a
# `skipped` run of it, which then hides the live run: `stau status` shows the job
# `due` with the skipped run as its last. It should say so and record nothing.
test_lifecycle_job_running_elsewhere_is_left_to_its_stau() {
    start_first_stau || return
    run status
    expect_eq "sleepy's state in status, one stau running it" running \
        "$(awk '$1 == "sleepy" { print $2 }' "$OUT")"
    # The second may wait for the run it found: in the background, with time to look.
    start_bg_into second.out second.err
    local second=$BG_PID
    track "$second"
    local i
    for i in $(seq 30); do
        grep -qF "already running as run 1" second.out && break
        kill -0 "$second" 2>/dev/null || break
        sleep 0.1
    done
    expect_eq "runs recorded of sleepy while the first stau runs it" "1|running" \
        "$(db "SELECT id, status FROM runs WHERE job = 'sleepy'")"
    run status
    expect_eq "sleepy's state in status, after a second stau found it running" running \
        "$(awk '$1 == "sleepy" { print $2 }' "$OUT")"
    expect_first_stau_finishes_well
    finish_bg "$second" "the second stau" second.out second.err
    grep -qF "already running as run 1" second.out ||
        { fail "the second stau did not say the job was already running; its stdout:"; cat second.out; }
    expect_eq "runs recorded" "1|sleepy|succeeded" "$(db "SELECT id, job, status FROM runs")"
}

# BUG: a chunked job's verdict follows its newest run: after `stau rerun` of a
# chunk that succeeded, `why --json` reports that rerun as the last success, though
# chunk 3 never succeeded, and `why` dates chunk 3's failure at the rerun's end and
# drops never-run. The invocation failed, so the job has no success and stays due
# for chunk 3's failure, shown with that run's id and end time.
test_lifecycle_rerun_of_a_good_chunk_keeps_the_invocation_failed() {
    new_project
    write src/a.py <<'EOF'
import sys

STAU_CONFIG = {"main_func": "main", "work_ids": [1, 2, 3], "chunk_size": 1}


def main(work_ids):
    if 3 in work_ids:
        sys.exit("chunk 3 fails")
EOF
    run -j 1
    expect_exit 1
    local first third
    first=$(db "SELECT id FROM runs WHERE job = 'a' AND chunk = 1")
    third=$(db "SELECT id FROM runs WHERE job = 'a' AND chunk = 3")
    expect_eq "the chunks' statuses" "1|succeeded 2|succeeded 3|failed" \
        "$(db "SELECT chunk || '|' || status FROM runs ORDER BY chunk" | tr '\n' ' ' | sed 's/ $//')"
    run why a
    local evidence
    evidence=$(grep '^  failed: ' "$OUT")
    expect_eq "why, before the rerun" "  failed: the last run ($third, chunk 3 of 3) failed at " \
        "$(sed 's/ failed at .*/ failed at /' <<<"$evidence")"
    # The rerun ends at a later second than chunk 3 did, so the two can be told apart.
    sleep 1.1
    run rerun "$first"
    expect_exit 0
    run why --json a
    "$PY" - "$OUT" <<'EOF' || fail "why --json after the rerun: see above"
import json, sys
(a,) = json.load(open(sys.argv[1]))
print("last_success:", json.dumps(a["last_success"]))
print("reasons:", json.dumps(a["reasons"]))
assert a["due"] is True
assert a["last_success"] is None
EOF
    run why a
    expect_stdout_contains "a is due:"
    expect_stdout_contains "$evidence"
    expect_stdout_contains "  never-run: no successful run is recorded"
}

# Two staus waiting for a third's run of a job: when that run is lost, the first
# to claim the job runs it, and the other, finding that newer run ended, does not
# run it again (once, this double run was seen under `stau serve` with three
# copies: both followers claimed the tick of a killed leader).
test_lifecycle_a_lost_run_is_claimed_again_once() {
    start_first_stau || return
    start_bg_into second.out second.err
    local second=$BG_PID
    track "$second"
    local i
    for i in $(seq 50); do
        grep -qF "already running as run 1" second.out && break
        kill -0 "$second" 2>/dev/null || break
        sleep 0.1
    done
    grep -qF "already running as run 1" second.out ||
        { fail "the second stau did not wait for run 1"; cat second.out second.err; return; }
    # While the second is stopped: the first dies, a third stau records run 1 lost
    # and runs the job as run 2.
    kill -STOP "$second"
    kill -9 "$FIRST"
    wait "$FIRST" 2>/dev/null
    kill -9 -- "-$PGID" 2>/dev/null
    "$PY" - <<'PYEOF'
import sqlite3, time
con = sqlite3.connect(".stau/state.db")
con.row_factory = sqlite3.Row
row = dict(con.execute("SELECT * FROM runs WHERE id = 1").fetchone())
now = int(time.time() * 1000)
con.execute("UPDATE runs SET status = 'lost', finished_at = ? WHERE id = 1", (now,))
row.update(id=2, status="succeeded", exit_code=0, started_at=now, finished_at=now,
           owner_pid=1, host="elsewhere")
cols = ", ".join(row)
con.execute(f"INSERT INTO runs ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
con.commit()
PYEOF
    kill -CONT "$second"
    DEADLINE=$((SECONDS + 20))
    finish_bg "$second" "the second stau" second.out second.err
    expect_eq "runs recorded" "1|lost 2|succeeded" \
        "$(db "SELECT id || '|' || status FROM runs ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"
    grep -qF "ran meanwhile as run 2 of another stau (succeeded); not run again" second.out ||
        { fail "the second stau did not say run 2 ran meanwhile; its stdout:"; cat second.out; }
    expect_eq "runs of sleepy's code" "sleepy:1" "$(ran_counts)"
}
