# Running what is due (SPEC §2-§4): `stau [TARGET...]`, `stau run`, `stau why`, `-n`.
#
# Every test builds its own small project. Each job's main() appends its name to
# ran.txt in the project root, so `ran` tells who ran since the last look.

# job NAME 'DECLARATION BODY' [EXTRA PYTHON]: src/NAME.py whose main() records its run.
job() {
    local name=$1 decl=$2 extra=${3:-}
    write "src/${name//.//}.py" <<EOF
import os, subprocess, sys, time

STAU_CONFIG = {"main_func": "main", $decl}


def main(**kwargs):
    with open("ran.txt", "a") as f:
        f.write("$name\n")
$extra
EOF
}

# Who ran since the last call, one name a line in the order they wrote; then forget.
ran() {
    if [ -f ran.txt ]; then
        sort ran.txt | tr '\n' ' ' | sed 's/ $//'
        rm -f ran.txt
    fi
}

# expect_ran 'a b c': exactly these jobs ran (any order) since the last look.
expect_ran() {
    local got
    got=$(ran)
    if [ "$got" != "$1" ]; then
        fail "$(_where): expected these jobs to run: '$1', got: '$got'"
        echo "--- stdout:"
        head -n 30 "$OUT"
        echo "--- stderr:"
        head -n 30 "$ERR"
    fi
}

# expect_before A B: A wrote to ran.txt before B did (call before expect_ran).
expect_before() {
    local a b
    a=$(grep -nxF "$1" ran.txt 2>/dev/null | head -n 1 | cut -d: -f1)
    b=$(grep -nxF "$2" ran.txt 2>/dev/null | head -n 1 | cut -d: -f1)
    if [ -z "$a" ] || [ -z "$b" ] || [ "$a" -ge "$b" ]; then
        fail "$(_where): expected $1 to run before $2; ran.txt:"
        cat ran.txt 2>/dev/null
    fi
}

# a -> b -> d, c alone; a writes data/a.txt, which b reads; b reads data/in/*.csv.
chain_project() {
    new_project
    mkdir -p data/in
    printf 'x,y\n1,2\n' >data/in/one.csv
    job a '"outputs": ["data/a.txt"]' '    open("data/a.txt", "w").write("A")'
    job b '"dependencies": ["a"], "inputs": ["data/a.txt", "data/in/*.csv"], "kwargs": {"n": 1}'
    job c '"tags": ["solo"]'
    job d '"dependencies": ["b"]'
    run
    expect_exit 0
    expect_before a b
    expect_before b d
    expect_ran 'a b c d'
}

test_run_first_all_then_nothing() {
    chain_project
    expect_stdout_contains "4 ran: 4 succeeded, 0 failed, 0 skipped"
    local logs
    logs=$(find .stau/logs -type f | wc -l)
    expect_eq "log files after the first run" 4 "$logs"
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_empty
    expect_ran ''
    expect_no_file ran.txt
    expect_eq "log files after a run with nothing to do" "$logs" "$(find .stau/logs -type f | wc -l)"
    expect_eq "runs recorded" 4 "$(db 'SELECT count(*) FROM runs')"
}

test_run_code_edit_reruns_job_and_downstream() {
    chain_project
    sed -i 's/f.write("b\\n")/f.write("b" + "\\n")/' src/b.py
    grep -q '"b" + ' src/b.py || fail "the edit did not apply"
    run -n
    expect_stdout_contains "code-changed: src/b.py changed since run 2"
    expect_stdout_contains "upstream-due: 'b' runs first"
    expect_ran ''
    run
    expect_exit 0
    expect_before b d
    expect_ran 'b d'
    run
    expect_stdout_eq <<<"nothing to do"
    expect_ran ''
}

test_run_local_module_edit_reruns_its_importers() {
    # b and c import a local module (through a package); editing it reruns them and
    # what follows them, and says which file changed; a comment in it does not.
    new_project
    write src/lib/__init__.py </dev/null
    write src/lib/util.py <<'EOF'
def double(x):
    return 2 * x
EOF
    job a '"tags": []'
    job b '"dependencies": ["a"]' '    from lib.util import double
    assert double(2) == 4'
    job c '"tags": []' '    import lib.util'
    job d '"dependencies": ["b"]'
    run
    expect_exit 0
    expect_ran 'a b c d'
    printf '# a comment\n' >>src/lib/util.py
    run
    expect_stdout_eq <<<"nothing to do"
    sed -i 's/2 \* x/x + x/' src/lib/util.py
    run why b c
    expect_stdout_contains "code-changed: src/lib/util.py changed since run 2"
    expect_stdout_contains "code-changed: src/lib/util.py changed since run 3"
    run
    expect_exit 0
    expect_before b d
    expect_ran 'b c d'
    run
    expect_stdout_eq <<<"nothing to do"
}

test_run_comment_edit_and_touch_run_nothing() {
    chain_project
    printf '# only a comment\n' >>src/a.py
    sed -i 's/^def main/# a comment above\ndef main/' src/b.py
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_ran ''
    sleep 0.01
    touch src/*.py data/a.txt data/in/one.csv
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_ran ''
    # Old mtimes (stat data moved, content not): still nothing.
    age_files src
    age_files data
    run
    expect_stdout_eq <<<"nothing to do"
    expect_ran ''
}

test_run_input_content_change() {
    chain_project
    printf 'x,y\n1,3\n' >data/in/one.csv
    run -n
    expect_stdout_contains "input-changed: data/in/one.csv changed since run 2"
    run
    expect_exit 0
    expect_ran 'b d'
    # Same size, same mtime second, different content: content decides.
    printf 'x,y\n1,4\n' >data/in/one.csv
    touch -d '2001-02-03 04:05:06' data/in/one.csv
    run
    expect_exit 0
    expect_ran 'b d'
}

test_run_new_file_matching_glob() {
    chain_project
    printf 'x\n' >data/in/two.csv
    run why b
    expect_stdout_contains "input-changed: data/in/two.csv is new since run 2"
    run
    expect_exit 0
    expect_ran 'b d'
    printf 'x\n' >data/in/ignored.txt
    run
    expect_stdout_eq <<<"nothing to do"
    expect_ran ''
    rm data/in/two.csv
    run why b
    expect_stdout_contains "input-changed: data/in/two.csv is gone since run 5"
    run
    expect_ran 'b d'
}

test_run_deleted_output() {
    chain_project
    rm data/a.txt
    run -n
    expect_stdout_contains "output-missing: output 'data/a.txt' is gone"
    run
    expect_exit 0
    expect_before a b
    expect_ran 'a b d'
    expect_eq "data/a.txt" A "$(cat data/a.txt)"
    # Changed by hand: output-changed, and the job makes it again.
    printf 'hand' >data/a.txt
    run -n
    expect_stdout_contains "output-changed: data/a.txt changed since run 5"
    run
    expect_ran 'a b d'
    expect_eq "data/a.txt" A "$(cat data/a.txt)"
}

test_run_kwargs_change() {
    chain_project
    sed -i 's/"n": 1/"n": 2/' src/b.py
    run -n
    expect_stdout_contains "config-changed: its declaration changed since run"
    run
    expect_exit 0
    expect_ran 'b d'
    run
    expect_stdout_eq <<<"nothing to do"
}

test_run_force() {
    chain_project
    run --force b
    expect_exit 0
    # Only b: its upstream is not due, its downstream is not a target.
    expect_ran 'b'
    run why d
    expect_stdout_contains "d is due:"
    expect_stdout_contains "upstream-changed: 'b' succeeded again (run 5) since run 4; it declares no outputs, so each success counts as a change"
    run run --force c
    expect_exit 0
    expect_ran 'c'
    run run --force 'tag:solo'
    expect_ran 'c'
    run
    expect_exit 0
    expect_ran 'd'
    run run
    expect_exit 2
    expect_stderr_contains "'run' needs the jobs to run"
    run run nosuchjob
    expect_exit 2
    expect_stderr_contains "no job matches 'nosuchjob'"
    expect_ran ''
}

test_run_run_runs_the_named_jobs_now() {
    # `stau run JOB` runs JOB whatever its state, after what it needs that is due;
    # `stau run --force JOB` runs what it needs again as well.
    chain_project
    run run b
    expect_exit 0
    expect_ran 'b'
    expect_eq "b's reasons" '[{"reason":"forced","evidence":"asked for with `stau run`"}]' \
        "$(db "SELECT reasons_json FROM runs WHERE job = 'b' ORDER BY id DESC LIMIT 1")"
    run run -n --force b
    expect_stdout_eq <<'EOF'
would run 2 jobs:
  a (derived)
      forced: needed by a job asked for with `stau run --force`
  b (derived)
      forced: asked for with `stau run --force`
      upstream-due: 'a' runs first
EOF
    run run --force b
    expect_exit 0
    expect_before a b
    expect_ran 'a b'
    # What follows b is not a target: it is due now, and runs on the next `stau`.
    run
    expect_ran 'd'
}

test_run_targets_restrict() {
    new_project
    job a '"outputs": []'
    job b '"dependencies": ["a"]'
    job c '"tags": ["x"]'
    run b
    expect_exit 0
    expect_before a b
    expect_ran 'a b'
    run 'tag:x'
    expect_ran 'c'
    run
    expect_stdout_eq <<<"nothing to do"
}

test_run_failure_skips_dependents_only() {
    new_project
    job a '"outputs": []' '    print("line one of a"); print("boom-marker from a", file=sys.stderr); sys.exit(1)'
    job b '"dependencies": ["a"]'
    job c '"tags": []'
    run
    expect_exit 1
    expect_ran 'a c'
    expect_stdout_contains "b skipped: 'a' failed"
    expect_stdout_contains "a failed (exit 1)"
    expect_stdout_contains "2 ran: 1 succeeded, 1 failed, 1 skipped"
    # The summary: the end of the failed log, and where the whole of it is.
    expect_stdout_contains "    boom-marker from a"
    expect_stdout_contains "    line one of a"
    expect_stdout_contains "  full log: .stau/logs/a."
    local log
    log=$(sed -n 's/^  full log: //p' "$OUT")
    expect_file "$log"
    grep -q "boom-marker from a" "$log" 2>/dev/null || fail "the log $log lacks the job's stderr"
    expect_eq "a's last run" failed "$(last_status a)"
    run why a
    expect_stdout_contains "a is due:"
    expect_stdout_contains "failed: the last run ("
    # Fixed: a runs again (failed), b follows; c is done.
    sed -i 's/; sys.exit(1)//' src/a.py
    run
    expect_exit 0
    expect_before a b
    expect_ran 'a b'
}

test_run_fail_fast() {
    new_project
    job f '"outputs": []' '    sys.exit(3)'
    job g '"tags": []'
    job h '"tags": []'
    job i '"tags": []'
    run -n
    local order
    order=$(sed -n 's/^  \([a-z]\)$/\1/p' "$OUT" | tr '\n' ' ')
    run -j 1 --fail-fast
    expect_exit 1
    expect_stdout_contains "f failed (exit 3)"
    # With one slot, jobs start in plan order: those after f never start.
    local before="" after=0 seen=0 j
    for j in $order; do
        if [ "$j" = f ]; then
            seen=1
        elif [ $seen = 0 ]; then
            before="$before $j"
        else
            after=$((after + 1))
        fi
    done
    before=$(tr ' ' '\n' <<<"$before f" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
    expect_ran "$before"
    if [ "$after" -gt 0 ]; then
        expect_stdout_contains "$after not started"
    fi
    # Without --fail-fast every independent job runs.
    run -j 1
    expect_exit 1
    expect_ran 'f g h i'
}

test_run_retries() {
    new_project
    job flaky '"retries": 2, "retry_delay": 0.1' '    n = len(open("attempts.txt").read()) + 1 if os.path.exists("attempts.txt") else 1
    open("attempts.txt", "a").write("x")
    assert os.environ["STAU_ATTEMPT"] == str(n), os.environ["STAU_ATTEMPT"]
    if n < 3:
        sys.exit(1)'
    run
    expect_exit 0
    expect_eq "attempts" xxx "$(cat attempts.txt 2>/dev/null)"
    expect_stdout_contains ": run 1, stau log 1; retry 1 of 2 in 0.1s (run 2)"
    expect_stdout_contains ": run 2, stau log 2; retry 2 of 2 in 0.2s (run 3)"
    expect_stdout_contains "flaky ok"
    expect_stdout_contains " after 2 retries (run 3)"
    expect_eq "runs" "1|failed 2|failed 3|succeeded" \
        "$(db "SELECT attempt || '|' || status FROM runs WHERE job = 'flaky' ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"
    run
    expect_stdout_eq <<<"nothing to do"
    # Out of retries: fails after 1 + retries attempts.
    rm attempts.txt
    sed -i 's/"retries": 2/"retries": 1/' src/flaky.py
    run
    expect_exit 1
    expect_eq "attempts" xx "$(cat attempts.txt 2>/dev/null)"
}

test_run_timeout_kills_the_group() {
    new_project
    local marker
    marker=$(unique_sleep)
    job slow '"timeout": 1' "    open('pgid.txt', 'w').write(str(os.getpgid(0)))
    subprocess.Popen(['sleep', '$marker'])
    time.sleep(30)"
    local t0=$SECONDS
    run
    expect_exit 1
    [ $((SECONDS - t0)) -le 10 ] || fail "a 1 s timeout took $((SECONDS - t0)) s"
    expect_stdout_contains "slow timed out after 1s"
    expect_eq "the run's status" timed-out "$(last_status slow)"
    sleep 0.3
    if pgrep -f "sleep $marker" >/dev/null; then
        fail "the grandchild 'sleep $marker' outlived the timeout"
        reap_group "$(cat pgid.txt 2>/dev/null)"
    fi
    run why slow
    expect_stdout_contains "failed: the last run ("
    expect_stdout_contains ") timed out at "
}

test_run_missing_output_fails() {
    new_project
    job lazy '"outputs": ["data/never.txt"]'
    job after '"dependencies": ["lazy"]'
    run
    expect_exit 1
    expect_stdout_contains "declared output 'data/never.txt' is missing after a zero exit"
    expect_stdout_contains "after skipped: 'lazy' failed"
    expect_eq "lazy's status" failed "$(last_status lazy)"
    expect_ran 'lazy'
}

# A job that, while the file "slow" exists, records its process group, starts a
# grandchild and sleeps; otherwise returns at once.
sleepy_job() {
    job sleepy '"outputs": []' "    if os.path.exists('slow'):
        open('pgid.txt', 'w').write(str(os.getpgid(0)))
        subprocess.Popen(['sleep', '$1'])
        open('started', 'w').close()
        time.sleep(30)"
}

test_run_ctrl_c() {
    new_project
    local marker
    marker=$(unique_sleep)
    sleepy_job "$marker"
    job other '"dependencies": ["sleepy"]'
    touch slow
    start_bg
    wait_for_file started || { kill -9 "$BG_PID"; return; }
    kill -INT "$BG_PID"
    wait_bg
    expect_exit 130
    expect_stdout_contains "interrupted"
    expect_eq "the run's status" interrupted "$(last_status sleepy)"
    sleep 0.3
    if pgrep -f "sleep $marker" >/dev/null; then
        fail "the grandchild 'sleep $marker' outlived Ctrl-C"
        reap_group "$(cat pgid.txt 2>/dev/null)"
    fi
    if kill -0 "$(cat pgid.txt)" 2>/dev/null; then
        fail "the job outlived Ctrl-C"
        reap_group "$(cat pgid.txt)"
    fi
    expect_ran 'sleepy'
    run why sleepy
    expect_stdout_contains "sleepy is due:"
    expect_stdout_contains ") was interrupted at "
    rm slow
    run
    expect_exit 0
    expect_before sleepy other
    expect_ran 'other sleepy'
}

test_run_sigterm() {
    new_project
    local marker
    marker=$(unique_sleep)
    sleepy_job "$marker"
    touch slow
    start_bg
    wait_for_file started || { kill -9 "$BG_PID"; return; }
    kill -TERM "$BG_PID"
    wait_bg
    expect_exit 130
    expect_eq "the run's status" interrupted "$(last_status sleepy)"
    sleep 0.3
    if pgrep -f "sleep $marker" >/dev/null; then
        fail "the grandchild 'sleep $marker' outlived SIGTERM"
        reap_group "$(cat pgid.txt 2>/dev/null)"
    fi
}

test_run_kill_9_leaves_a_lost_run() {
    new_project
    local marker pgid
    marker=$(unique_sleep)
    sleepy_job "$marker"
    touch slow
    start_bg
    wait_for_file started || { kill -9 "$BG_PID"; return; }
    # Its start is recorded a moment after it starts (the recorder gathers a batch).
    wait_for_status sleepy running
    kill -9 "$BG_PID"
    wait "$BG_PID" 2>/dev/null
    pgid=$(cat pgid.txt)
    expect_eq "the run's status after kill -9" running "$(last_status sleepy)"
    rm slow started
    run
    expect_exit 0
    expect_stderr_contains "' was left running by a stau that is gone (pid $BG_PID on "
    expect_stderr_contains "recorded as lost"
    expect_ran 'sleepy sleepy'
    expect_eq "statuses" "lost succeeded" "$(db "SELECT status FROM runs WHERE job = 'sleepy' ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"
    # The dead stau's job was orphaned, still running: stau ended its whole group.
    expect_stderr_contains "ended what was left of run "
    # (Zombies do not count: nobody here reaps orphans, not even PID 1.)
    if ps -eo pgid=,stat= | awk -v g="$pgid" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; then
        fail "the orphaned job's process group $pgid is still alive"
        reap_group "$pgid"
    fi
    run
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_empty
}

# A stau killed after starting a job but before its start was recorded (the
# recorder writes starts a moment later): the next stau still finds the orphaned
# job, by the STAU_RUN_ID and STAU_OWNER it was started with, and ends it. Runs it
# had queued but not started are recorded as lost in one line.
test_run_kill_9_before_the_start_was_recorded() {
    new_project
    local marker pgid
    marker=$(unique_sleep)
    sleepy_job "$marker"
    job after '"dependencies": ["sleepy"]'
    touch slow
    start_bg
    wait_for_file started || { kill -9 "$BG_PID"; return; }
    kill -9 "$BG_PID"
    wait "$BG_PID" 2>/dev/null
    pgid=$(cat pgid.txt)
    expect_eq "the queued run's status after kill -9" queued "$(last_status after)"
    db "UPDATE runs SET status = 'queued', pid = NULL, started_at = NULL WHERE job = 'sleepy'"
    rm slow started
    run
    expect_exit 0
    expect_stderr_contains "' was left running by a stau that is gone (pid $BG_PID on "
    expect_stderr_contains "ended what was left of run 1 (process group $pgid)"
    expect_stderr_contains "stau: warning: 1 run queued by a stau that is gone never started; recorded as lost"
    expect_ran 'after sleepy sleepy'
    if ps -eo pgid=,stat= | awk -v g="$pgid" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; then
        fail "the orphaned job's process group $pgid is still alive"
        reap_group "$pgid"
    fi
}

test_run_max_lag_recent_dependency_is_not_rerun() {
    new_project
    job up '"outputs": []'
    job down '"dependencies": [{"job": "up", "max_lag": 60}]'
    run
    expect_ran 'down up'
    run --force down
    expect_exit 0
    expect_ran 'down'
    run why down
    expect_stdout_contains "down is not due:"
    expect_stdout_contains "  dependency up: last success "
    expect_stdout_contains " ago (run 1), which run 3 started after, within its max_lag of 60 minutes"
}

test_run_max_lag_old_dependency_runs_first() {
    new_project
    job up '"outputs": []'
    job down '"dependencies": [{"job": "up", "max_lag": 60}]'
    run
    expect_ran 'down up'
    # Age up's success by two hours in the state database.
    db "UPDATE runs SET started_at = started_at - 7200000, finished_at = finished_at - 7200000 WHERE job = 'up'"
    db "UPDATE runs SET started_at = started_at - 3600000, finished_at = finished_at - 3600000 WHERE job = 'down'"
    run
    expect_stdout_eq <<<"nothing to do"
    run -n --force down
    expect_stdout_contains "max-lag: 'down' needs it within 60 minutes; its last success was 2h 0m ago"
    run --force down
    expect_exit 0
    expect_before up down
    expect_ran 'down up'
    # A small max_lag (3 s), judged on the real clock.
    sed -i 's/"max_lag": 60/"max_lag": 0.05/' src/down.py
    run --force up
    expect_ran 'up'
    run
    expect_exit 0
    expect_ran 'down'
    sleep 3.1
    run -n
    expect_stdout_eq <<<"nothing to do"
    run --force down
    expect_before up down
    expect_ran 'down up'
}

test_run_schedule_due_and_not_due() {
    new_project
    # Every 5 s, started just after a tick: the next is ~5 s away, room enough for a
    # run and a why on a loaded machine (a run alone took 1.9 s there).
    job tick '"schedule": "@every 5s"'
    sleep "$("$PY" -c 'import time; print(5.05 - time.time() % 5)')"
    run
    expect_exit 0
    expect_ran 'tick'
    run why tick
    expect_stdout_contains "tick is not due:"
    expect_stdout_contains "  next tick: "
    expect_stdout_contains "('@every 5s')"
    run
    expect_stdout_eq <<<"nothing to do"
    sleep 5.1
    run why tick
    expect_stdout_contains "tick is due:"
    expect_stdout_contains "schedule: '@every 5s' ticked at "
    expect_stdout_contains ", after the last run started"
    # Many missed ticks: one run.
    sleep 5.1
    run
    expect_exit 0
    expect_ran 'tick'
    expect_stdout_contains "1 ran: 1 succeeded"
}

test_run_skipped_run_keeps_its_schedule_tick() {
    # A run that never started (skipped: --fail-fast stopped first) does not use up
    # the tick it was due for: the schedule counts from the last run that started.
    new_project
    job a '"tags": []'
    job tick '"schedule": "@every 3s"'
    sleep "$("$PY" -c 'import time; print(3.05 - time.time() % 3)')"
    run
    expect_exit 0
    expect_ran 'a tick'
    echo '    sys.exit(1)' >>src/a.py
    sleep 3.1
    run -j 1 --fail-fast
    expect_exit 1
    expect_ran 'a'
    expect_eq "tick's last run" skipped "$(last_status tick)"
    run why tick
    expect_stdout_contains "tick is due:"
    expect_stdout_contains "schedule: '@every 3s' ticked at "
    run status
    expect_stdout_not_contains "1970"
}

# Run stau on a pseudo-terminal (script(1)); its output, carriage returns and all,
# goes to $OUT.
run_on_tty() {
    local cmd
    cmd=$(printf '%q ' "$STAU" "$@")
    timeout -k 5 60 script -qec "$cmd" /dev/null >"$OUT" 2>&1 </dev/null
    RC=$?
}

test_run_terminal_status_line_and_colour() {
    new_project
    job slow '"tags": []' '    time.sleep(0.8)'
    job quick '"tags": []'
    run_on_tty -j 2
    expect_exit 0
    expect_ran 'quick slow'
    # The one status line names what has run longest, with its time so far, and is
    # redrawn in place; outcomes are coloured.
    expect_stdout_contains "[1/2 1 running] slow 0."
    expect_stdout_contains $'\r\033[K'
    expect_stdout_contains $'quick \033[32mok\033[0m'
    expect_stdout_contains $'slow \033[32mok\033[0m'
    # NO_COLOR: the same status line, no colour.
    NO_COLOR=1 run_on_tty -j 2 --force
    expect_exit 0
    expect_stdout_contains "[1/2 1 running] slow 0."
    expect_stdout_not_contains $'\033[32m'
    expect_stdout_contains "slow ok "
    # Not a terminal: plain lines only.
    run --force
    expect_stdout_not_contains $'\r'
    expect_stdout_not_contains "running]"
}

test_run_why_and_dry_run() {
    new_project
    job a '"outputs": ["a.out"]' '    open("a.out", "w").write("1")'
    job b '"dependencies": ["a"]'
    run -n
    expect_exit 0
    expect_stdout_eq <<'EOF'
would run 2 jobs:
  a (derived)
      never-run: no successful run is recorded
  b (derived)
      never-run: no successful run is recorded
      upstream-due: 'a' runs first
EOF
    expect_no_file ran.txt
    expect_no_file .stau/logs
    expect_eq "runs recorded by -n" 0 "$(db 'SELECT count(*) FROM runs')"
    run why b
    expect_exit 0
    expect_stdout_eq <<'EOF'
b is due:
  never-run: no successful run is recorded
  upstream-due: 'a' runs first
  policy: derived: it runs when what it is made from changes
EOF
    run why --json a b
    expect_exit 0
    "$PY" - "$OUT" <<'EOF' || fail "why --json before a run is not as expected"
import json, sys
got = json.load(open(sys.argv[1]))
assert [j["job"] for j in got] == ["a", "b"], got
assert all(j["due"] for j in got), got
assert [r["reason"] for r in got[1]["reasons"]] == ["never-run", "upstream-due"], got
assert got[1]["reasons"][1]["evidence"] == "'a' runs first", got
EOF
    run
    expect_ran 'a b'
    run why a
    expect_exit 0
    expect_stdout_contains "a is not due:"
    expect_stdout_contains "  last success: run 1, finished "
    expect_stdout_contains "  code, declaration, inputs and outputs match that run (fingerprints "
    expect_stdout_contains "  policy: derived: it runs when what it is made from changes"
    run why b
    expect_stdout_contains "  dependency a: last success "
    run why --json a
    "$PY" - "$OUT" <<'EOF' || fail "why --json after a run is not as expected"
import json, sys
got = json.load(open(sys.argv[1]))
assert len(got) == 1 and got[0]["job"] == "a" and got[0]["due"] is False, got
assert got[0]["reasons"] == [] and got[0]["last_success"]["run"] == 1, got
assert got[0]["last_success"]["finished_ms"] > 1e12, got
assert got[0]["last_success"]["finished"].endswith("+00:00"), got
assert got[0]["last_run"]["id"] == 1 and got[0]["last_run"]["status"] == "succeeded", got
fps = got[0]["fingerprints"]
assert sorted(fps) == ["code", "config", "inputs", "outputs"], fps
assert all(len(f["now"]) == 32 and f["now"] == f["last_success"] for f in fps.values()), fps
assert got[0]["next_tick"] is None and got[0]["dependencies"] == [], got
EOF
    run why --json b
    "$PY" - "$OUT" <<'EOF' || fail "why --json of a dependent is not as expected"
import json, sys
(b,) = json.load(open(sys.argv[1]))
(a,) = b["dependencies"]
assert a["job"] == "a" and a["max_lag_minutes"] is None and a["due"] is False, a
assert 0 <= a["age_seconds"] < 60 and a["last_success"]["run"] == 1, a
assert a["last_success"]["finished_ms"] > 1e12, a
EOF
    # A changed declaration: the evidence shows which fingerprint moved.
    sed -i 's/"outputs": \["a.out"\]/"outputs": ["a.out"], "kwargs": {"n": 2}/' src/a.py
    run why --json a
    "$PY" - "$OUT" <<'EOF' || fail "why --json of a changed job is not as expected"
import json, sys
(a,) = json.load(open(sys.argv[1]))
assert a["due"] is True and "config-changed" in [r["reason"] for r in a["reasons"]], a
fps = a["fingerprints"]
assert fps["config"]["now"] != fps["config"]["last_success"], fps
assert fps["inputs"]["now"] == fps["inputs"]["last_success"], fps
EOF
    sed -i 's/, "kwargs": {"n": 2}//' src/a.py
    run -n
    expect_stdout_eq <<<"nothing to do"
}

# The git commit recorded by the newest run of this project.
recorded_commit() {
    db "SELECT git_commit FROM runs ORDER BY id DESC LIMIT 1"
}

test_run_records_the_git_commit() {
    new_project repo
    job a '"tags": []'
    run
    expect_eq "commit outside a checkout" "" "$(recorded_commit)"
    git init -q -b main . && git add -A &&
        git -c user.email=t@example.com -c user.name=t commit -qm one || fail "git failed"
    run --force
    expect_eq "commit of a checkout" "$(git rev-parse HEAD)" "$(recorded_commit)"
    # Refs packed (as after git gc), and a detached HEAD.
    git pack-refs --all
    run --force
    expect_eq "commit from packed-refs" "$(git rev-parse HEAD)" "$(recorded_commit)"
    git checkout -q --detach
    run --force
    expect_eq "commit of a detached HEAD" "$(git rev-parse HEAD)" "$(recorded_commit)"
    git checkout -q main
    # A project in a folder of the checkout (its own, by [tool.stau]: else stau
    # would find the enclosing project by walking up).
    mkdir -p sub && cd sub || return
    printf '[tool.stau]\njobs_root = "src"\n' >pyproject.toml
    job b '"tags": []'
    run
    expect_eq "commit of a project in a subfolder" "$(git rev-parse HEAD)" "$(recorded_commit)"
    cd .. || return
    # A worktree (.git is a file naming the worktree's folder) on a branch of its own.
    git worktree add -q -b other ../wt 2>/dev/null || fail "git worktree add failed"
    cd ../wt || return
    git -c user.email=t@example.com -c user.name=t commit -q --allow-empty -m two
    run --force
    expect_eq "commit of a worktree" "$(git rev-parse HEAD)" "$(recorded_commit)"
    expect_eq "the worktree's commit is its own" "$(git rev-parse other)" "$(recorded_commit)"
}

test_run_archives() {
    new_project
    job a '"outputs": ["data/a.txt", "data/b.txt"]' '    print("hello from a")
    os.makedirs("data", exist_ok=True)
    open("data/a.txt", "w").write("AAA")
    open("data/b.txt", "w").write("BBB")'
    job bad '"outputs": ["data/half.txt", "data/never.txt"]' '    print("bad says bye")
    os.makedirs("data", exist_ok=True)
    open("data/half.txt", "w").write("HALF")
    sys.exit(2)'
    run
    expect_exit 1
    local id_a id_bad
    id_a=$(db "SELECT id FROM runs WHERE job = 'a'")
    id_bad=$(db "SELECT id FROM runs WHERE job = 'bad'")
    expect_file ".stau/archive/a.$id_a.tar.zst"
    expect_file ".stau/archive/bad.$id_bad.tar.zst"
    expect_eq "archive_path" ".stau/archive/a.$id_a.tar.zst" "$(db "SELECT archive_path FROM runs WHERE id = $id_a")"
    if ! command -v zstd >/dev/null; then
        echo "(zstd not installed: archive contents not checked)"
        return
    fi
    mkdir x
    zstd -q -d -c ".stau/archive/a.$id_a.tar.zst" | tar -xf - -C x || fail "cannot unpack the archive"
    expect_eq "archive members" "log.txt manifest.json outputs/data/a.txt outputs/data/b.txt" \
        "$(cd x && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//')"
    expect_eq "archived output" AAA "$(cat x/outputs/data/a.txt 2>/dev/null)"
    grep -q "hello from a" x/log.txt 2>/dev/null || fail "the archived log lacks the job's output"
    "$PY" - x/manifest.json "$id_a" <<'EOF' || fail "the manifest is not as expected"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["id"] == int(sys.argv[2]) and m["batch"] == m["id"] and m["log"] == "log.txt", m
assert m["job"] == "a" and m["status"] == "succeeded" and m["exit_code"] == 0, m
assert m["reasons"][0]["reason"] == "never-run", m
assert len(m["outputs_fingerprint"]) == 32, m
EOF
    mkdir y
    zstd -q -d -c ".stau/archive/bad.$id_bad.tar.zst" | tar -xf - -C y || fail "cannot unpack the failed run's archive"
    grep -q "bad says bye" y/log.txt 2>/dev/null || fail "the failed run's archived log lacks its output"
    # A failed run's archive holds the declared outputs it left, as it left them.
    expect_eq "failed run's archive members" "log.txt manifest.json outputs/data/half.txt" \
        "$(cd y && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//')"
    "$PY" - y/manifest.json <<'EOF' || fail "the failed run's manifest is not as expected"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["status"] == "failed" and m["exit_code"] == 2, m
EOF
}

test_run_environment() {
    new_project
    job env.show '"kwargs": {"k": [1, "two"]}' '    import json
    open("env.json", "w").write(json.dumps({k: os.environ.get(k) for k in ["STAU_RUN_ID", "STAU_JOB", "STAU_ATTEMPT", "STAU_WORK_IDS", "STAU_KWARGS", "STAU_OWNER"]} | {"kwargs": kwargs, "cwd": os.getcwd(), "stdin": sys.stdin.read()}))'
    run
    expect_exit 0
    "$PY" - env.json "$PWD" <<'EOF' || fail "the job's environment is not as expected"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["STAU_JOB"] == "env.show", e
assert e["STAU_ATTEMPT"] == "1" and e["STAU_RUN_ID"] == "1", e
assert json.loads(e["STAU_KWARGS"]) == {"k": [1, "two"]}, e
assert e["kwargs"] == {"k": [1, "two"]}, e
assert e["cwd"] == sys.argv[2] and e["stdin"] == "", e
pid, start = e["STAU_OWNER"].split(":")
assert int(pid) > 1 and int(start) > 0, e
EOF
}

test_run_second_ctrl_c_kills_at_once() {
    new_project
    job stubborn '"outputs": []' "    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    open('pgid.txt', 'w').write(str(os.getpgid(0)))
    open('started', 'w').close()
    time.sleep(30)"
    start_bg
    wait_for_file started || { kill -9 "$BG_PID"; return; }
    kill -INT "$BG_PID"
    sleep 0.5
    kill -0 "$BG_PID" 2>/dev/null || fail "stau ended before the grace period of a job that ignores SIGTERM"
    local t0=$SECONDS
    kill -INT "$BG_PID"
    wait_bg
    expect_exit 130
    [ $((SECONDS - t0)) -le 2 ] || fail "the second Ctrl-C took $((SECONDS - t0)) s"
    expect_stdout_contains "interrupted: stopping the running jobs (again to kill them at once)"
    expect_eq "the run's status" interrupted "$(last_status stubborn)"
    if kill -0 "$(cat pgid.txt)" 2>/dev/null; then
        fail "the job outlived the second Ctrl-C"
        reap_group "$(cat pgid.txt)"
    fi
}

test_run_why_tag() {
    new_project
    job a '"tags": ["fin"]'
    job b '"tags": []'
    run why 'tag:fin'
    expect_exit 0
    expect_stdout_eq <<'EOF2'
a is due:
  never-run: no successful run is recorded
  policy: derived: it runs when what it is made from changes
EOF2
}

test_run_no_second_copy_while_running() {
    new_project
    job sleepy '"outputs": []' "    if os.path.exists('slow'):
        open('started', 'w').close()
        time.sleep(3)"
    touch slow
    start_bg
    wait_for_file started || { kill -9 "$BG_PID"; return; }
    local first=$BG_PID
    run
    expect_eq "runs of sleepy while the first stau runs it" 1 "$(grep -c sleepy ran.txt)"
    BG_PID=$first
    wait_bg
    expect_exit 0
    expect_ran 'sleepy'
}

test_run_folder_output_changed_inside() {
    new_project
    job maker '"outputs": ["out/dir"]' '    os.makedirs("out/dir/sub", exist_ok=True)
    open("out/dir/sub/a.txt", "w").write("A")'
    run
    expect_exit 0
    expect_ran 'maker'
    run
    expect_stdout_eq <<<"nothing to do"
    # A file changed inside the folder output: the output is not what the run left.
    echo changed >out/dir/sub/a.txt
    run why maker
    expect_stdout_contains "output-changed: out/dir changed since run 1"
    run
    expect_ran 'maker'
}
