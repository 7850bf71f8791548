# `stau serve`, the scheduler loop (SPEC §2, §6): schedule ticks, edits picked up
# while serving, broken declarations, SIGTERM with and without grace, SIGHUP,
# --json-log, failures not retried in a loop, several copies on one project, a
# dependent and its upstream running in another stau or in the same one, a copy
# killed with -9, and an idle serve that does not spin.
#
# Every job here appends to ledger.txt in the project root, one line when its main()
# begins and one when it ends:
#     JOB OWNER_PID start UNIX_TIME RUN_ID
#     JOB OWNER_PID end UNIX_TIME RUN_ID
# (OWNER_PID: the stau that ran it, from STAU_OWNER), and records its process group
# as a file named after it in $TEST_TMP/pgids, so that whatever a test leaves behind
# is ended when the test ends, however it ends (see serve_cleanup).
#
# Margins are generous (this runs on small, noisy machines): "within ~2 s" is
# checked as "within 6 s", and nothing depends on a run starting at an exact moment.

SERVE_PIDS=()

serve_cleanup() {
    local p
    for p in "${SERVE_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    for p in "$TEST_TMP"/pgids/*; do
        [ -f "$p" ] && reap_group "$(basename "$p")"
    done
    return 0
}
trap serve_cleanup EXIT

# sjob NAME 'DECLARATION BODY' [PYTHON BODY OF main()]: src/NAME.py writing the ledger.
sjob() {
    local name=$1 decl=$2 body=${3:-    pass}
    mkdir -p "$TEST_TMP/pgids"
    write "src/${name//.//}.py" <<EOF
import os, subprocess, sys, time

STAU_CONFIG = {"main_func": "main", $decl}


def _mark(what):
    owner = os.environ.get("STAU_OWNER", "?:?").split(":")[0]
    with open("ledger.txt", "a") as f:
        f.write("%s %s %s %.6f %s\n" % ("$name", owner, what, time.time(), os.environ.get("STAU_RUN_ID")))


def main():
    open("$TEST_TMP/pgids/%d" % os.getpgid(0), "w").close()
    _mark("start")
$body
    _mark("end")
EOF
}

# serve_bg NAME ARGS...: start `stau serve ARGS` in the background, stdout and stderr
# to $TEST_TMP/NAME.out and NAME.err; sets BG_PID and tracks it for the cleanup.
serve_bg() {
    local name=$1
    shift
    start_bg_into "$TEST_TMP/$name.out" "$TEST_TMP/$name.err" serve "$@"
    SERVE_PIDS+=("$BG_PID")
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s; status 1 if it never held.
wait_until() {
    local limit=$1 i
    shift
    for i in $(seq $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# stop_serve PID [SIGNAL]: send SIGTERM (or SIGNAL) once, wait at most 20 s for the
# stau to end (kill -9 and fail after that), set RC to its exit status.
stop_serve() {
    kill "-${2:-TERM}" "$1" 2>/dev/null
    wait_serve "$1" "${2:-TERM}"
}

# wait_serve PID [SIGNAL]: stop_serve after the signal was sent.
wait_serve() {
    local pid=$1 sig=${2:-TERM} i
    for i in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$(_where): stau serve (pid $pid) still running 20 s after SIG$sig"
        kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    RC=$?
}

# How many runs of JOB began (their start lines in the ledger).
starts() {
    [ -f ledger.txt ] || { echo 0; return; }
    awk -v j="$1" '$1 == j && $3 == "start"' ledger.txt | wc -l
}

# at_least N JOB: have N runs of JOB begun?
at_least() {
    [ "$(starts "$2")" -ge "$1" ]
}

# has_line FILE TEXT: does FILE contain TEXT (a fixed string)?
has_line() {
    grep -qF -- "$2" "$1" 2>/dev/null
}

# run_is RUN STATUS: is run RUN recorded with this status?
run_is() {
    [ "$(db "SELECT status FROM runs WHERE id = $1")" = "$2" ]
}

# last_is JOB STATUS: is JOB's last run recorded with this status?
last_is() {
    [ "$(last_status "$1")" = "$2" ]
}

# note TEXT: tell the one who runs the tests (into $STAU_TEST_NOTES when set).
note() {
    [ -n "${STAU_TEST_NOTES:-}" ] && printf '%s: %s\n' "$TEST_NAME" "$*" >>"$STAU_TEST_NOTES"
    return 0
}

# alive PID
alive() {
    kill -0 "$1" 2>/dev/null
}

# Is anything but zombies left in this process group? (Nobody here reaps orphans.)
group_alive() {
    ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# expect_nothing_left_running: `stau history` shows no run queued or running.
expect_nothing_left_running() {
    run history
    expect_exit 0
    if awk 'NR > 1 && ($4 == "running" || $4 == "queued")' "$OUT" | grep -q .; then
        fail "$(_where): runs left queued or running:"
        cat "$OUT"
    fi
}

# show_serve NAME: print a background stau's stderr (for a failure's context).
show_serve() {
    echo "--- stderr of $1:"
    head -n 60 "$TEST_TMP/$1.err"
}

# check_ledger TICK [DEPENDENT]: from the ledger and the state database, check that
# each schedule tick of TICK was run at most once (its runs for a tick, never-run or
# a failure bucketed by the second they were queued in, and by the tick their
# reason names), that no run's code ran twice, that no two runs of one job
# overlapped, and that DEPENDENT never started while a run of TICK recorded before
# it was going (judged by run ids and recorded times: a job's Python may begin a
# moment after its claim, so the ledger alone cannot order two jobs' starts).
# Prints the problems (status 1); writes the owner pid of every run of TICK to
# owners.txt, and to notes.txt the runs of TICK that began while DEPENDENT ran
# (allowed: a tick falls due whatever runs downstream).
check_ledger() {
    "$PY" - "$@" <<'EOF'
import collections, json, math, re, sqlite3, sys

tick = sys.argv[1]
dep = sys.argv[2] if len(sys.argv) > 2 else None
problems = []
runs = collections.defaultdict(dict)  # job -> run id -> {start, end, owner}
for line in open("ledger.txt"):
    f = line.split()
    if len(f) != 5:
        problems.append("a malformed ledger line: %r" % line)
        continue
    job, owner, what, when, rid = f[0], f[1], f[2], float(f[3]), int(f[4])
    r = runs[job].setdefault(rid, {"owner": owner})
    if what in r:
        problems.append("the code of run %d (%s) ran more than once (%s twice)" % (rid, job, what))
    r[what] = when

con = sqlite3.connect(".stau/state.db")
db = {}
for rid, job, status, queued, reasons in con.execute(
        "SELECT id, job, status, queued_at, reasons_json FROM runs"):
    db[rid] = (job, status, queued, reasons)

by_second = collections.defaultdict(list)
by_tick = collections.defaultdict(list)
for rid, (job, status, queued, reasons) in db.items():
    kinds = {r.get("reason") for r in json.loads(reasons or "[]")}
    if job != tick or status == "skipped" or not kinds <= {"schedule", "never-run", "failed"}:
        continue
    by_second[queued // 1000].append(rid)
    for r in json.loads(reasons or "[]"):
        m = re.search(r"ticked at (\S+ \S+)", r.get("evidence", ""))
        if r.get("reason") == "schedule" and m:
            by_tick[m.group(1)].append(rid)
for sec, ids in sorted(by_second.items()):
    if len(ids) > 1:
        problems.append("runs %s of %s were all queued in second %d" % (ids, tick, sec))
for t, ids in sorted(by_tick.items()):
    if len(ids) > 1:
        problems.append("runs %s of %s all ran for the tick at %s" % (ids, tick, t))

for job, rs in runs.items():
    for rid, r in rs.items():
        if rid not in db or db[rid][0] != job:
            problems.append("the ledger has run %d of %s, the database does not" % (rid, job))
        elif "start" in r and "end" not in r and db[rid][1] == "succeeded":
            problems.append("run %d of %s succeeded but its code never ended" % (rid, job))
    spans = sorted((r["start"], r.get("end", math.inf), rid) for rid, r in rs.items() if "start" in r)
    for (a0, a1, ra), (b0, b1, rb) in zip(spans, spans[1:]):
        if b0 < a1:
            problems.append("runs %d and %d of %s overlapped (%.3f-%.3f and %.3f-%.3f)"
                            % (ra, rb, job, a0, a1, b0, b1))

notes = []
if dep:
    # A claim of DEPENDENT is refused while a run of TICK is queued or running: a run
    # of TICK recorded before (a smaller id) must have ended before DEPENDENT started.
    times = {rid: (job, status, started, finished) for rid, job, status, started, finished in
             con.execute("SELECT id, job, status, started_at, finished_at FROM runs")}
    for rid, (job, status, started, _) in sorted(times.items()):
        if job != dep or started is None:
            continue
        for ru, (ujob, ustatus, ustarted, ufinished) in sorted(times.items()):
            if ujob == tick and ru < rid and ustatus != "skipped" and \
                    (ufinished is None or ufinished > started):
                problems.append("run %d of %s started at %d while run %d of %s, recorded before "
                                "it, had not ended (it ended at %s)" % (rid, dep, started, ru, tick, ufinished))
    # The other way round is allowed (a tick falls due while the dependent runs), but told.
    up = [(r["start"], r.get("end", math.inf), rid) for rid, r in runs[tick].items() if "start" in r]
    for rid, r in runs[dep].items():
        for a, b, ru in up:
            if "start" in r and r["start"] < a < r.get("end", math.inf):
                notes.append("run %d of %s began while run %d of %s ran" % (ru, tick, rid, dep))

with open("notes.txt", "w") as f:
    f.write("".join(n + "\n" for n in notes))

with open("owners.txt", "w") as f:
    for rid, r in sorted(runs[tick].items()):
        f.write("%s\n" % r["owner"])
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
}

# expect_ledger_ok TICK [DEPENDENT]: check_ledger, failing the test on a problem.
expect_ledger_ok() {
    local problems
    if ! problems=$(check_ledger "$@"); then
        fail "$(_where): the ledger shows:"
        printf '%s\n' "$problems"
        echo "--- ledger.txt:"
        cat ledger.txt
        echo "--- the runs (id|job|status|owner_pid|queued_at|started_at|finished_at|reasons):"
        db "SELECT id, job, status, owner_pid, queued_at, started_at, finished_at, reasons_json FROM runs ORDER BY id"
        return 1
    fi
}

# The CPU time (user + system, clock ticks) a process used so far.
cpu_ticks() {
    # The fields after the command (which is in parentheses and may hold spaces):
    # utime and stime are fields 14 and 15 of the whole line.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# ---- 1. schedule ticks ----

test_serve_every_second_runs_each_tick_once_and_stops_on_sigterm() {
    new_project
    sjob tick '"schedule": "@every 1s"'
    serve_bg s
    local pid=$BG_PID
    sleep 3.5
    wait_until 10 at_least 3 tick || { fail "fewer than 3 runs of tick after serving 3.5 s (and 10 s more)"; show_serve s; }
    stop_serve "$pid"
    expect_exit 0
    local last
    last=$(tail -n 1 "$TEST_TMP/s.err")
    [[ $last == *stopped ]] || { fail "the last line of stderr does not end in 'stopped': $last"; show_serve s; }
    has_line "$TEST_TMP/s.err" "serving ." || { fail "no 'serving' line"; show_serve s; }
    expect_ledger_ok tick
    expect_nothing_left_running
    # Stopped means stopped: nothing runs afterwards.
    local n
    n=$(starts tick)
    sleep 1.5
    expect_eq "runs of tick after serve stopped" "$n" "$(starts tick)"
}

# ---- 2. edits ----

test_serve_runs_a_derived_job_again_after_a_code_edit_only() {
    new_project
    sjob derived '"tags": []'
    serve_bg s
    local pid=$BG_PID
    wait_until 15 at_least 1 derived || { fail "derived never ran"; show_serve s; return; }
    wait_for_status derived succeeded || fail "derived's first run is not recorded succeeded"
    sleep 1
    expect_eq "runs of derived once served" 1 "$(starts derived)"
    # A statement appended: the code changed.
    printf 'EDITED = 1\n' >>src/derived.py
    wait_until 6 at_least 2 derived || { fail "derived did not run again within 6 s of a code edit"; show_serve s; }
    wait_for_status derived succeeded
    sleep 1
    expect_eq "runs of derived after one code edit" 2 "$(starts derived)"
    # A comment, then a touch: the code did not change.
    printf '# only a comment\n' >>src/derived.py
    sleep 2.5
    expect_eq "runs of derived after a comment-only edit" 2 "$(starts derived)"
    touch src/derived.py
    sleep 2.5
    expect_eq "runs of derived after a touch" 2 "$(starts derived)"
    # A new job file: it runs.
    sjob fresh '"tags": []'
    wait_until 6 at_least 1 fresh || { fail "a job file created while serving did not run within 6 s"; show_serve s; }
    alive "$pid" || fail "serve is not running any more"
    stop_serve "$pid"
    expect_exit 0
    expect_eq "runs of derived at the end" 2 "$(starts derived)"
    expect_eq "runs of fresh at the end" 1 "$(starts fresh)"
    expect_nothing_left_running
}

# ---- 3. a broken declaration ----

test_serve_keeps_serving_after_a_declaration_breaks() {
    new_project
    sjob tick '"schedule": "@every 1s"'
    sjob other '"schedule": "@every 1s"'
    serve_bg s
    local pid=$BG_PID
    wait_until 15 at_least 2 tick || { fail "tick did not run twice"; show_serve s; return; }
    # A value stau rejects...
    sed -i 's/^STAU_CONFIG = {/STAU_CONFIG = {"retries": -1, /' src/other.py
    wait_until 6 has_line "$TEST_TMP/s.err" "in the declarations" ||
        { fail "no error line about the declarations after retries -1"; show_serve s; }
    has_line "$TEST_TMP/s.err" "'retries' must be an int >= 0" ||
        { fail "the error itself is not shown"; show_serve s; }
    local n
    n=$(starts tick)
    wait_until 8 at_least $((n + 2)) tick || { fail "tick stopped running after other's declaration broke"; show_serve s; }
    alive "$pid" || { fail "serve died after a declaration broke"; show_serve s; }
    # ... then one it cannot read at all.
    sed -i 's/"retries": -1, /"retries": foo(), /' src/other.py
    wait_until 6 has_line "$TEST_TMP/s.err" "cannot evaluate the call foo()" ||
        { fail "no error about foo()"; show_serve s; }
    n=$(starts tick)
    wait_until 8 at_least $((n + 2)) tick || { fail "tick stopped running after other became unreadable"; show_serve s; }
    alive "$pid" || { fail "serve died after a declaration became unreadable"; show_serve s; }
    expect_eq "error lines about the declarations" 2 \
        "$(grep -cF 'in the declarations after a change; still serving' "$TEST_TMP/s.err")"
    stop_serve "$pid"
    expect_exit 0
    expect_ledger_ok tick
    expect_nothing_left_running
}

# ---- 4. stopping while a job runs ----

# slow_job MARKER: a derived job that starts a grandchild `sleep MARKER`, touches
# "started", sleeps 3 s and touches "finished".
slow_job() {
    sjob slow '"tags": []' "    subprocess.Popen(['sleep', '$1'])
    open('started', 'w').close()
    time.sleep(3)
    open('finished', 'w').close()"
}

test_serve_sigterm_lets_a_running_job_finish_within_grace() {
    new_project
    slow_job "$(unique_sleep)"
    serve_bg s --grace 10
    local pid=$BG_PID
    wait_for_file started || return
    wait_for_status slow running
    stop_serve "$pid"
    expect_exit 0
    expect_file finished
    expect_eq "the run's status" succeeded "$(last_status slow)"
    has_line "$TEST_TMP/s.err" "stopping: no new runs; running ones get 10s to finish" ||
        { fail "no 'stopping' line"; show_serve s; }
    [[ $(tail -n 1 "$TEST_TMP/s.err") == *stopped ]] || { fail "the last line is not 'stopped'"; show_serve s; }
    expect_nothing_left_running
}

test_serve_sigterm_stops_a_job_after_a_short_grace() {
    new_project
    local marker
    marker=$(unique_sleep)
    slow_job "$marker"
    serve_bg s --grace 0.5
    local pid=$BG_PID
    wait_for_file started || return
    wait_for_status slow running
    local pgid t0=$SECONDS
    pgid=$(basename "$(ls "$TEST_TMP"/pgids/* | head -n 1)")
    stop_serve "$pid"
    expect_exit 0
    [ $((SECONDS - t0)) -le 5 ] || fail "a 0.5 s grace took $((SECONDS - t0)) s"
    expect_no_file finished
    expect_eq "the run's status" interrupted "$(last_status slow)"
    sleep 0.3
    group_alive "$pgid" && fail "the job's process group $pgid outlived serve"
    pgrep -f "sleep $marker" >/dev/null && fail "the grandchild 'sleep $marker' outlived serve"
    expect_nothing_left_running
}

test_serve_second_sigterm_kills_at_once() {
    new_project
    local marker
    marker=$(unique_sleep)
    slow_job "$marker"
    serve_bg s --grace 30
    local pid=$BG_PID
    wait_for_file started || return
    wait_for_status slow running
    local pgid t0=$SECONDS
    pgid=$(basename "$(ls "$TEST_TMP"/pgids/* | head -n 1)")
    kill -TERM "$pid"
    wait_until 5 has_line "$TEST_TMP/s.err" "stopping: no new runs" || { fail "no 'stopping' line"; show_serve s; }
    stop_serve "$pid"
    expect_exit 130
    [ $((SECONDS - t0)) -le 5 ] || fail "a second SIGTERM took $((SECONDS - t0)) s to end serve"
    has_line "$TEST_TMP/s.err" "stopping now: killing the running jobs" || { fail "no 'stopping now' line"; show_serve s; }
    expect_no_file finished
    expect_eq "the run's status" interrupted "$(last_status slow)"
    sleep 0.3
    group_alive "$pgid" && fail "the job's process group $pgid outlived serve"
    pgrep -f "sleep $marker" >/dev/null && fail "the grandchild 'sleep $marker' outlived serve"
    expect_nothing_left_running
}

# ---- 5. SIGHUP ----

test_serve_sighup_reloads_and_keeps_serving() {
    new_project
    sjob tick '"schedule": "@every 1s"'
    serve_bg s
    local pid=$BG_PID
    wait_until 15 at_least 2 tick || { fail "tick did not run twice"; show_serve s; return; }
    kill -HUP "$pid"
    wait_until 5 has_line "$TEST_TMP/s.err" "reloading" || { fail "no 'reloading' line after SIGHUP"; show_serve s; }
    sleep 1
    alive "$pid" || { fail "serve died of SIGHUP"; show_serve s; return; }
    local n
    n=$(starts tick)
    wait_until 8 at_least $((n + 2)) tick || { fail "tick stopped running after SIGHUP"; show_serve s; }
    # A second one, too.
    kill -HUP "$pid"
    sleep 1
    alive "$pid" || { fail "serve died of a second SIGHUP"; show_serve s; return; }
    stop_serve "$pid"
    expect_exit 0
    expect_eq "reloading lines" 2 "$(grep -c 'reloading' "$TEST_TMP/s.err")"
    expect_ledger_ok tick
    expect_nothing_left_running
}

# ---- 6. --json-log ----

# expect_json_log FILE: every line of FILE is a JSON object with "time" and "event";
# prints the events, one a line, into FILE.events.
expect_json_log() {
    local problems
    if ! problems=$("$PY" - "$1" <<'EOF'
import json, sys
bad = []
events = []
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        o = json.loads(line)
    except ValueError:
        bad.append("line %d is not JSON: %s" % (n, line.rstrip("\n")))
        continue
    if not isinstance(o, dict) or not isinstance(o.get("time"), str) or not isinstance(o.get("event"), str):
        bad.append("line %d has no \"time\" and \"event\": %s" % (n, line.rstrip("\n")))
        continue
    events.append(o["event"])
open(sys.argv[1] + ".events", "w").write("".join(e + "\n" for e in events))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
    ); then
        fail "$(_where): stderr is not one JSON object a line:"
        printf '%s\n' "$problems" | head -n 20
    fi
}

test_serve_json_log_every_line_is_an_event() {
    new_project
    sjob tick '"schedule": "@every 1s"'
    sjob broken '"tags": []' '    sys.exit(3)'
    serve_bg s --json-log
    local pid=$BG_PID
    wait_until 15 at_least 3 tick || { fail "tick did not run 3 times"; show_serve s; }
    kill -HUP "$pid"
    wait_until 5 has_line "$TEST_TMP/s.err" '"reload"' || { fail "no reload event"; show_serve s; }
    stop_serve "$pid"
    expect_exit 0
    expect_json_log "$TEST_TMP/s.err"
    local e
    for e in serving started finished reload stopping stopped; do
        grep -qx "$e" "$TEST_TMP/s.err.events" || { fail "no '$e' event"; show_serve s; }
    done
    expect_eq "the last event" stopped "$(tail -n 1 "$TEST_TMP/s.err.events")"
    # The failed run's event names its status and log.
    "$PY" - "$TEST_TMP/s.err" <<'EOF' || fail "no finished event of broken with status failed and a log"
import json, sys
sys.exit(0 if any(o.get("event") == "finished" and o.get("job") == "broken" and o.get("status") == "failed"
                  and o.get("log") for o in map(json.loads, open(sys.argv[1]))) else 1)
EOF
}

# The diagnostics of a declaration broken while serving are events too.
test_serve_json_log_declaration_errors_are_json_too() {
    new_project
    sjob tick '"schedule": "@every 1s"'
    serve_bg s --json-log
    local pid=$BG_PID
    wait_until 15 at_least 2 tick || { fail "tick did not run twice"; show_serve s; }
    sed -i 's/^STAU_CONFIG = {/STAU_CONFIG = {"retries": -1, /' src/tick.py
    wait_until 6 has_line "$TEST_TMP/s.err" '"error"' || { fail "no error event"; show_serve s; }
    stop_serve "$pid"
    expect_exit 0
    expect_json_log "$TEST_TMP/s.err"
    grep -qx diagnostic "$TEST_TMP/s.err.events" || { fail "no 'diagnostic' event"; show_serve s; }
}

# The warnings of recovery (a run left running by a stau that is gone, recorded as
# lost; what was left of its processes ended) are events too under --json-log.
test_serve_json_log_recovery_warnings_are_json_too() {
    new_project
    sjob sleepy '"tags": []' "    if os.path.exists('slow'):
        time.sleep(30)"
    touch slow
    # A one-off stau killed with -9 while it runs sleepy leaves a run `running`.
    start_bg
    SERVE_PIDS+=("$BG_PID")
    wait_until 15 at_least 1 sleepy || { fail "sleepy never began"; return; }
    wait_until 5 last_is sleepy running || fail "sleepy's run is not recorded running"
    kill -9 "$BG_PID"
    wait "$BG_PID" 2>/dev/null
    rm slow
    serve_bg s --json-log
    local pid=$BG_PID
    wait_until 15 at_least 2 sleepy || { fail "sleepy did not run again under serve"; show_serve s; }
    wait_until 5 last_is sleepy succeeded || fail "sleepy's rerun did not succeed"
    stop_serve "$pid"
    expect_exit 0
    expect_eq "runs of sleepy" "lost succeeded" \
        "$(db "SELECT status FROM runs WHERE job = 'sleepy' ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"
    expect_json_log "$TEST_TMP/s.err"
}

# ---- a failure is not retried in a loop ----

# A job that failed in this serve is not run again and again while nothing changed,
# even when it never succeeded (its reasons are then `failed` and `never-run`): a
# derived one, one with outputs it never made, one with a schedule (its next tick is
# an hour away). A change to its code makes it due again.
test_serve_does_not_rerun_a_failed_job_in_a_loop() {
    new_project
    sjob broken '"tags": []' '    sys.exit(3)'
    sjob makes '"outputs": ["data/never.txt"]' '    sys.exit(3)'
    sjob hourly '"schedule": "@every 1h"' '    sys.exit(3)'
    sjob tick '"schedule": "@every 1s"'
    serve_bg s
    local pid=$BG_PID
    wait_until 15 at_least 4 tick || { fail "tick did not run 4 times"; show_serve s; }
    expect_eq "runs of broken, failed once, over 3 ticks" 1 "$(starts broken)"
    expect_eq "runs of makes, failed once, over 3 ticks" 1 "$(starts makes)"
    expect_eq "runs of hourly, failed once, over 3 ticks" 1 "$(starts hourly)"
    # Its code changing makes it due again.
    sed -i 's/sys.exit(3)/pass/' src/broken.py
    wait_until 6 at_least 2 broken || { fail "broken did not run again after its code changed"; show_serve s; }
    wait_for_status broken succeeded || fail "broken's rerun is not recorded succeeded"
    stop_serve "$pid"
    expect_exit 0
    expect_nothing_left_running
}

# ---- 7. three copies ----

test_serve_three_copies_share_one_project() {
    new_project
    # Every 2 s: under load a run of tick takes most of a second (the interpreter's
    # start), and follow waits while a newer tick is enqueued (the pull rule), so a
    # tick every second could leave it no gap.
    sjob tick '"schedule": "@every 2s"' '    time.sleep(0.3)'
    sjob follow '"dependencies": ["tick"]' '    time.sleep(0.3)'
    local i pids=()
    for i in 1 2 3; do
        serve_bg "s$i" -j 2
        pids[i]=$BG_PID
    done
    sleep 8
    for i in 1 2 3; do
        kill -TERM "${pids[i]}" 2>/dev/null
    done
    for i in 1 2 3; do
        wait_serve "${pids[i]}"
        [ "$RC" = 0 ] || { fail "copy $i exited $RC, expected 0"; show_serve "s$i"; }
    done
    local n
    n=$(starts tick)
    [ "$n" -ge 3 ] || fail "only $n runs of tick in 8 s of serving"
    [ "$(starts follow)" -ge 2 ] || fail "only $(starts follow) runs of follow in 8 s of serving"
    expect_ledger_ok tick follow || for i in 1 2 3; do show_serve "s$i"; done
    expect_nothing_left_running
    # Whether the copies shared the ticks: told, not required.
    note "runs of tick by copy (owner pid: count): $(sort owners.txt | uniq -c | awk '{ printf "%s: %s  ", $2, $1 }')"
    [ -s notes.txt ] && note "$(cat notes.txt)"
}

# A dependent is not started while its upstream runs under another stau (here a
# one-off `stau run --force`, slow on purpose): serve says it waits, and runs it once
# that run ended.
test_serve_dependent_waits_for_its_upstream_running_elsewhere() {
    new_project
    sjob up '"tags": []' "    if os.path.exists('slow'):
        time.sleep(3)"
    sjob down '"dependencies": ["up"]'
    run
    expect_exit 0
    run run up
    expect_exit 0
    run why down
    expect_stdout_contains "upstream-changed: 'up' succeeded again (run 3) since run 2"
    touch slow
    start_bg_into "$TEST_TMP/one.out" "$TEST_TMP/one.err" run --force up
    local one=$BG_PID
    SERVE_PIDS+=("$one")
    wait_until 10 at_least 3 up || { fail "the one-off run of up never began"; return; }
    wait_until 5 last_is up running || fail "up's run is not recorded running"
    serve_bg s
    local pid=$BG_PID
    wait_until 10 has_line "$TEST_TMP/s.err" "down waits: 'up' is running as run " ||
        { fail "serve did not say down waits for up"; show_serve s; }
    BG_PID=$one
    wait_bg
    expect_exit 0
    wait_until 6 at_least 2 down || { fail "down did not run after up ended elsewhere"; show_serve s; }
    wait_until 5 last_is down succeeded
    stop_serve "$pid"
    expect_exit 0
    expect_ledger_ok up down
    expect_eq "runs of up" 3 "$(starts up)"
    expect_eq "runs of down" 2 "$(starts down)"
    expect_nothing_left_running
}

# A dependent is not started while its upstream runs in the same serve, also when
# the upstream is not due at that plan (it is running already: a tick that fell due
# while the dependent ran). The claim's upstream check skips the claimer's own runs,
# so this is serve's plan filter's to get right.
#
# Here, with up on "@every 3s" (ticks at multiples of 3 s since the epoch), both fast
# until the file "slow" appears a second before a tick t; from then on up takes 2 s
# and down 5 s: up t..t+2, down t+2..t+7 (upstream-due), up t+3..t+5 (a tick while
# down runs: allowed; down is due again, upstream-newer), up t+6..t+8; down ends at
# t+7 while up runs, and must not start again before that run ended (t+8).
test_serve_dependent_waits_for_its_upstream_running_in_the_same_serve() {
    new_project
    sjob up '"schedule": "@every 3s"' "    if os.path.exists('slow'):
        time.sleep(2)"
    sjob down '"dependencies": ["up"]' "    if os.path.exists('slow'):
        time.sleep(5)"
    serve_bg s --grace 0.5
    local pid=$BG_PID
    wait_until 15 at_least 1 down || { fail "down never ran"; show_serve s; return; }
    # A second before a tick (nothing runs then: the fast runs take well under 1 s).
    "$PY" -c 'import time; time.sleep((2.0 - time.time() % 3) % 3)'
    touch slow
    sleep 10
    stop_serve "$pid"
    expect_exit 0
    expect_ledger_ok up down || show_serve s
    [ "$(starts down)" -ge 3 ] || fail "down did not run again after up's runs"
    expect_nothing_left_running
}

# A dependent made due by a run of another stau (a one-off `stau run up` while serve
# is idle) is run by serve within a heartbeat: it plans again when the database moved
# on without it.
test_serve_runs_what_a_run_elsewhere_made_due() {
    new_project
    sjob up '"tags": []'
    sjob down '"dependencies": ["up"]'
    serve_bg s
    local pid=$BG_PID
    wait_until 15 at_least 1 down || { fail "down never ran"; show_serve s; return; }
    wait_until 5 last_is down succeeded
    sleep 0.5
    run run --force up
    expect_exit 0
    wait_until 15 at_least 2 down ||
        { fail "down did not run within 15 s of up's run elsewhere"; show_serve s; }
    stop_serve "$pid"
    expect_exit 0
    expect_nothing_left_running
}

# ---- 8. a copy killed with -9 ----

# The surviving copy sees the dead copy's run lost (by its own poll of the held
# job, or lease_recover at a plan) and claims the job again, without the plan's
# version check (marking the run lost moved the version; the need stands).
test_serve_kill_9_of_a_copy_has_its_run_taken_over() {
    new_project
    sjob slow '"tags": []' "    subprocess.Popen(['sleep', '$(unique_sleep)'])
    time.sleep(2)"
    serve_bg a
    local a=$BG_PID
    serve_bg b
    local b=$BG_PID
    wait_until 15 at_least 1 slow || { fail "slow never began"; show_serve a; show_serve b; return; }
    local owner other rid
    read -r _ owner _ _ rid < <(awk '$1 == "slow" && $3 == "start"' ledger.txt | head -n 1)
    if [ "$owner" = "$a" ]; then
        other=$b
    elif [ "$owner" = "$b" ]; then
        other=$a
    else
        fail "slow's run was owned by $owner, neither copy ($a, $b)"
        return
    fi
    wait_until 5 run_is "$rid" running ||
        fail "run $rid is not recorded running"
    kill -9 "$owner"
    wait "$owner" 2>/dev/null
    # Same host: the other copy sees the owner gone at its next recovery (every 10 s)
    # or its next plan, whichever comes first.
    local t0=$SECONDS
    wait_until 20 run_is "$rid" lost ||
        { fail "run $rid is not recorded lost within 20 s of its copy's kill -9: $(db "SELECT status FROM runs WHERE id = $rid")"; }
    if wait_until 10 at_least 2 slow; then
        wait_until 10 last_is slow succeeded || fail "slow's second run did not succeed: $(last_status slow)"
        note "lost and run again $((SECONDS - t0)) s after the kill -9"
    else
        fail "slow did not run again after its copy died"
        show_serve a | grep -v 'claiming it here\|not run again'
        show_serve b | grep -v 'claiming it here\|not run again'
        echo "(and $(cat "$TEST_TMP"/a.err "$TEST_TMP"/b.err | grep -c 'claiming it here') lines '... ended: lost; claiming it here')"
    fi
    local second
    second=$(awk '$1 == "slow" && $3 == "start"' ledger.txt | sed -n 2p | awk '{ print $2 }')
    expect_eq "the copy that ran slow again" "$other" "$second"
    expect_eq "runs of slow" "lost succeeded" "$(db "SELECT status FROM runs WHERE job = 'slow' ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"
    alive "$other" || fail "the surviving copy is gone"
    stop_serve "$other"
    expect_exit 0
    expect_nothing_left_running
}

# ended_last JOB: is the ledger's last line an end of JOB, recorded as a success?
ended_last() {
    local rid
    rid=$(tail -n 1 ledger.txt 2>/dev/null | awk -v j="$1" '$1 == j && $3 == "end" { print $5 }')
    [ -n "$rid" ] && run_is "$rid" succeeded
}

# leading COPY: the "leading" lines in COPY's log.
leading() {
    grep -c 'leading: this copy enqueues scheduled work' "$TEST_TMP/$1.err"
}

# Two copies: one leads (its log and `stau status` say so) and enqueues the ticks;
# kill -9 of it, and the other takes the lead within the recovery poll; every tick
# still runs once.
test_serve_one_copy_leads_and_another_takes_over() {
    new_project
    # (Every 2 s: the kill below lands well between two runs even on a loaded machine.)
    sjob tick '"schedule": "@every 2s"' '    time.sleep(0.2)'
    serve_bg a
    local a=$BG_PID
    wait_until 10 has_line "$TEST_TMP/a.err" 'leading: this copy enqueues' ||
        { fail "the first copy never led"; show_serve a; return; }
    serve_bg b
    local b=$BG_PID
    wait_until 10 has_line "$TEST_TMP/b.err" "following: pid $a on " ||
        { fail "the second copy never said who leads"; show_serve b; return; }
    wait_until 10 has_line "$TEST_TMP/a.err" ' tick enqueued: its schedule is due' ||
        fail "the leader enqueued no tick"
    run status
    expect_exit 0
    expect_eq "copies said to lead" 1 "$(grep -c ', leads (enqueues scheduled work)' "$OUT")"
    grep -q "pid $a, serving since .*, leads (enqueues" "$OUT" ||
        fail "status does not name pid $a as the leader: $(cat "$OUT")"
    expect_eq "leading lines of b before the kill" 0 "$(leading b)"
    wait_until 15 at_least 2 tick || fail "tick ran $(starts tick) times in 15 s"
    # Between two runs (a tick takes 0.2 s of every two), so that no run is lost:
    # this test is about the lead; a lost run's redo has its own test.
    wait_until 5 ended_last tick || fail "tick never ended a run"
    kill -9 "$a"
    wait "$a" 2>/dev/null
    local before t0=$SECONDS
    wait_until 15 has_line "$TEST_TMP/b.err" 'leading: this copy enqueues' ||
        { fail "b did not take the lead within 15 s of the leader's kill -9"; show_serve b; }
    note "b led $((SECONDS - t0)) s after the leader's kill -9"
    before=$(starts tick)
    wait_until 15 at_least $((before + 2)) tick ||
        fail "tick ran $(($(starts tick) - before)) times in 15 s after b took the lead"
    stop_serve "$b"
    expect_exit 0
    expect_ledger_ok tick || { show_serve a; show_serve b; }
    expect_nothing_left_running
    expect_eq "leader rows left" 0 "$(db "SELECT count(*) FROM leader")"
}

# A tick the leader enqueued is left to whichever stau claims it first: here a one-off
# `stau`, while the leader's only slot is busy.
test_serve_a_one_off_stau_takes_an_enqueued_tick() {
    new_project
    sjob busy '"tags": []' '    time.sleep(30)'
    sjob tick '"schedule": "@every 3s"'
    run tick # so the first tick comes after busy has the slot
    expect_exit 0
    serve_bg a -j 1
    local a=$BG_PID
    wait_until 10 at_least 1 busy || { fail "busy never began"; show_serve a; return; }
    wait_until 10 has_line "$TEST_TMP/a.err" ' tick enqueued: its schedule is due' ||
        { fail "the leader enqueued no tick"; show_serve a; return; }
    local rid
    rid=$(db "SELECT id FROM runs WHERE job = 'tick' AND status = 'queued' AND owner_pid = 0")
    [ -n "$rid" ] || { fail "no unassigned run of tick: $(db "SELECT id, job, status, owner_pid FROM runs")"; return; }
    run why tick
    expect_exit 0
    expect_stdout_contains "enqueued: run $rid by the leading stau serve"
    run tick
    expect_exit 0
    expect_eq "tick's run $rid" "succeeded" "$(db "SELECT status FROM runs WHERE id = $rid")"
    kill -TERM "$a"
    sleep 0.3
    stop_serve "$a" # the second: busy is killed
    expect_ledger_ok tick
}

# ---- 9. idle ----

test_serve_idle_does_not_spin() {
    new_project
    mkdir -p data/in
    printf 'x\n' >data/in/one.csv
    sjob hourly '"schedule": "@every 1h"'
    sjob reader '"inputs": ["data/in/*.csv"]'
    serve_bg s
    local pid=$BG_PID
    wait_until 15 at_least 1 hourly || { fail "hourly never ran"; show_serve s; return; }
    wait_until 15 at_least 1 reader || { fail "reader never ran"; show_serve s; return; }
    wait_for_status hourly succeeded
    wait_for_status reader succeeded
    sleep 1
    local before after
    before=$(cpu_ticks "$pid")
    sleep 3
    after=$(cpu_ticks "$pid")
    note "an idle serve used $((after - before)) clock ticks of CPU in 3 s"
    [ $((after - before)) -le 5 ] ||
        fail "an idle serve used $((after - before)) clock ticks of CPU in 3 s ($(getconf CLK_TCK) a second)"
    expect_eq "runs of hourly" 1 "$(starts hourly)"
    expect_eq "runs of reader" 1 "$(starts reader)"
    stop_serve "$pid"
    expect_exit 0
}
