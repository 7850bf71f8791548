# Output a person and a script can trust: lines as they happen under a pipe or a
# redirect, plain lines for TERM=dumb, run ids on every run line, outcomes named as
# themselves, retries shown, `stau log` and `stau status` telling what they show.

# job NAME 'DECLARATION' [BODY]: src/NAME.py whose main() runs BODY.
job() {
    local name=$1 decl=$2 body=${3:-    pass}
    write "src/${name//.//}.py" <<EOF2
import os, sys, time

STAU_CONFIG = {"main_func": "main", $decl}


def main(**kwargs):
$body
EOF2
}

# Run stau on a pseudo-terminal (script(1)); its output goes to $OUT.
run_on_tty() {
    local cmd
    cmd=$(printf '%q ' "$STAU" "$@")
    timeout -k 5 60 script -qec "$cmd" /dev/null >"$OUT" 2>&1 </dev/null
    RC=$?
}

# stdout with the durations (0.1s, 12.3s) written as T.
timeless() {
    sed -E 's/[0-9]+\.[0-9]s/T/g' "$OUT"
}

test_output_redirected_line_appears_as_it_happens() {
    new_project
    job first '"tags": []'
    # second waits (at most 20 s) for the test to say go, so stau is still running
    # while the test reads first's line from the file.
    job second '"dependencies": ["first"]' '    for _ in range(200):
        if os.path.exists("go"):
            break
        time.sleep(0.1)'
    start_bg_into out.txt err.txt -j 1
    local i seen=
    for i in $(seq 150); do
        if grep -q '^\[1/2\] first ok ' out.txt; then
            seen=yes
            break
        fi
        sleep 0.1
    done
    expect_eq "first's line in the file while stau still runs" yes "$seen"
    expect_eq "stau still running" yes "$(kill -0 "$BG_PID" 2>/dev/null && echo yes)"
    touch go
    wait_bg
    expect_eq "exit status" 0 "$RC"
    expect_eq "lines at the end" 3 "$(wc -l <out.txt)"
}

test_output_term_dumb_plain_lines() {
    new_project
    job a '"tags": []' '    time.sleep(0.5)'
    run_on_tty
    expect_exit 0
    expect_stdout_contains $'\033['
    TERM=dumb run_on_tty --force
    expect_exit 0
    expect_stdout_not_contains $'\033'
    expect_stdout_not_contains "running]"
    expect_stdout_contains "[1/1] a ok "
}

# stdout with the durations written as T and a log's timestamp as MS.
normalised() {
    sed -E 's/[0-9]+\.[0-9]s/T/g; s/\.[0-9]{13}\./.MS./g' "$OUT"
}

test_output_run_lines_name_their_runs() {
    new_project
    job a '"tags": []'
    job b '"tags": []' '    print("boom")
    sys.exit(3)'
    job c '"dependencies": ["b"]'
    run -j 1
    expect_exit 1
    expect_eq stdout "[1/3] a ok T (run 1)
[2/3] b failed (exit 3) T: run 2, stau log 2
[3/3] c skipped: 'b' failed (run 3)
2 ran: 1 succeeded, 1 failed, 1 skipped (T)
b failed (exit 3); the end of its log:
    boom
  full log: .stau/logs/b.MS.1.log" "$(normalised)"
    # The line's hint shows that run's log.
    run log 2
    expect_exit 0
    expect_stdout_contains "boom"
}

test_output_counter_counts_runs_never_started() {
    new_project
    job a '"tags": []' '    sys.exit(3)'
    job b '"tags": []'
    job c '"dependencies": ["b"]'
    run -j 1 --fail-fast
    expect_exit 1
    expect_eq stdout "[1/3] a failed (exit 3) T: run 1, stau log 1
[2/3] b not started: --fail-fast stopped after 'a' failed (run 2)
[3/3] c not started: --fail-fast stopped after 'a' failed (run 3)
1 ran: 0 succeeded, 1 failed, 0 skipped, 2 not started (T)
a failed (exit 3); the end of its log:
  full log: .stau/logs/a.MS.1.log" "$(normalised)"
    expect_eq "records" "1|a|failed
2|b|skipped
3|c|skipped" "$(db 'SELECT id, job, status FROM runs ORDER BY id')"
}

# A job body that makes the file started, then waits (at most 20 s) for the file go.
WAIT_FOR_GO='    open("started", "w").close()
    for _ in range(200):
        if os.path.exists("go"):
            break
        time.sleep(0.1)'

test_output_interrupted_is_not_failed() {
    new_project
    job a '"tags": []' "$WAIT_FOR_GO"
    job b '"dependencies": ["a"]'
    start_bg -j 1
    wait_for_file started
    kill -INT "$BG_PID"
    wait_bg
    expect_eq "exit status" 130 "$RC"
    expect_eq stdout "interrupted: stopping the running jobs (again to kill them at once)
[1/2] a interrupted T: run 1, stau log 1
[2/2] b skipped: 'a' was interrupted (run 2)
1 ran: 0 succeeded, 0 failed, 1 skipped, 1 interrupted (T)
a interrupted; the end of its log:
  full log: .stau/logs/a.MS.1.log" "$(normalised)"
}

test_output_timed_out_is_not_failed() {
    new_project
    job a '"tags": [], "timeout": 1' "$WAIT_FOR_GO"
    job b '"dependencies": ["a"]'
    run -j 1
    expect_exit 1
    expect_eq stdout "[1/2] a timed out after 1s: run 1, stau log 1
[2/2] b skipped: 'a' timed out (run 2)
1 ran: 0 succeeded, 0 failed, 1 skipped, 1 timed out (T)
a timed out after 1s; the end of its log:
  full log: .stau/logs/a.MS.1.log" "$(normalised)"
}

# Another stau records the run lost (as after this one was paused past its lease):
# at its next heartbeat (10 s) this stau stops the job and says it was lost.
test_output_lost_is_not_failed() {
    new_project
    job a '"tags": []' "$WAIT_FOR_GO"
    job b '"dependencies": ["a"]'
    start_bg -j 1
    wait_for_file started
    db "UPDATE runs SET status = 'lost' WHERE id = 1"
    wait_bg
    expect_eq "exit status" 1 "$RC"
    expect_eq stdout "[1/2] a lost (taken over by another stau) T: run 1
[2/2] b skipped: 'a' was lost (run 2)
1 ran: 0 succeeded, 0 failed, 1 skipped, 1 lost (T)
a lost (taken over by another stau); the end of its log:
  full log: .stau/logs/a.MS.1.log" "$(normalised)"
    expect_stderr_contains "run 1 of 'a' was recorded lost by another stau"
}

# A run of a that failed in another stau which retries it is not the end of a:
# b waits for the retry instead of being skipped for a failure (issue 13, 14).
test_output_upstream_retried_elsewhere_is_waited_for() {
    new_project
    job a '"tags": [], "retries": 1, "retry_delay": 1' '    if os.environ["STAU_ATTEMPT"] == "1":
'"$(sed 's/^/    /' <<<"$WAIT_FOR_GO")"'
        sys.exit(1)'
    job b '"dependencies": ["a"]'
    start_bg_into first.out first.err run a
    local first=$BG_PID
    wait_for_file started
    start_bg_into second.out second.err -j 1
    local second=$BG_PID i
    for i in $(seq 100); do
        grep -q "^b waits" second.out && break
        sleep 0.1
    done
    touch go
    BG_PID=$first
    wait_bg
    expect_eq "the first stau's exit status" 0 "$RC"
    BG_PID=$second
    wait_bg
    expect_eq "the second stau's exit status" 0 "$RC"
    OUT=second.out
    expect_eq "the second stau's stdout" "a already running as run 1 of another stau (pid P on H); waiting for it
b waits: 'a' is running as run 1 of another stau (pid P on H)
a run 1 of another stau failed; its retry (attempt 2) is run 2; waiting for it
[1/2] a run 2 of another stau ended: succeeded
[2/2] b ok T (run 3)
1 ran: 1 succeeded, 0 failed, 0 skipped, 1 left to another stau (T)" \
        "$(normalised | sed -E 's/pid [0-9]+ on [^)]+/pid P on H/')"
    expect_eq "runs" "1|a|1|failed
2|a|2|succeeded
3|b|1|succeeded" "$(db 'SELECT id, job, attempt, status FROM runs ORDER BY id')"
}

test_output_retries_are_told() {
    new_project
    job a '"tags": [], "retries": 2, "retry_delay": 0.1' '    if int(os.environ["STAU_ATTEMPT"]) < 3:
        sys.exit(1)'
    job b '"tags": [], "retries": 1, "retry_delay": 0.1' '    sys.exit(1)'
    run a
    expect_exit 0
    expect_eq stdout "a failed (exit 1) T: run 1, stau log 1; retry 1 of 2 in T (run 2)
a failed (exit 1) T: run 2, stau log 2; retry 2 of 2 in T (run 3)
[1/1] a ok T after 2 retries (run 3)
1 ran: 1 succeeded, 0 failed, 0 skipped (T)" "$(normalised)"
    run b
    expect_exit 1
    expect_eq stdout "b failed (exit 1) T: run 4, stau log 4; retry 1 of 1 in T (run 5)
[1/1] b failed (exit 1) T after 1 retry: run 5, stau log 5
1 ran: 0 succeeded, 1 failed, 0 skipped (T)
b failed (exit 1); the end of its log:
  full log: .stau/logs/b.MS.2.log" "$(normalised)"
    expect_eq "runs" "1|a|1|failed
2|a|2|failed
3|a|3|succeeded
4|b|1|failed
5|b|2|failed" "$(db 'SELECT id, job, attempt, status FROM runs ORDER BY id')"
}

# On a terminal, the status line counts down to the retry.
test_output_retry_wait_on_the_status_line() {
    new_project
    job a '"tags": [], "retries": 1, "retry_delay": 2' '    if os.environ["STAU_ATTEMPT"] == "1":
        sys.exit(1)'
    run_on_tty
    expect_exit 0
    expect_stdout_contains "[0/1 0 running] a retry 1 in 2s"
    expect_stdout_contains "[0/1 0 running] a retry 1 in 1s"
    expect_stdout_contains "[1/1] a "
    expect_stdout_contains " after 1 retry (run 2)"
}

# Interrupted while a retry waits: the retry is told as never started, and the job
# is counted as its last attempt ended.
test_output_interrupted_during_a_retry_delay() {
    new_project
    job a '"tags": [], "retries": 1, "retry_delay": 30' '    open("started", "w").close()
    sys.exit(1)'
    start_bg
    wait_for_file started
    local i
    for i in $(seq 100); do
        grep -q "retry 1 of 1" "$OUT" && break
        sleep 0.1
    done
    kill -INT "$BG_PID"
    wait_bg
    expect_eq "exit status" 130 "$RC"
    expect_eq stdout "a failed (exit 1) T: run 1, stau log 1; retry 1 of 1 in 30s (run 2)
interrupted: stopping the running jobs (again to kill them at once)
[1/1] a retry 1 not started: stau was interrupted (run 2)
1 ran: 0 succeeded, 1 failed, 0 skipped (T)" "$(normalised)"
    expect_eq "runs" "1|1|failed
2|2|skipped" "$(db 'SELECT id, attempt, status FROM runs ORDER BY id')"
}

# stdout with ages (3s, 1m 2s) written as AGE.
ageless() {
    sed -E 's/[0-9]+[smhd]( [0-9]+[smhd])*/AGE/g' "$OUT"
}

# One job per state: ok, failed, due (skipped after its upstream failed), waiting
# (on demand, never run), running.
status_project() {
    new_project
    job good '"tags": []'
    job bad '"tags": []' '    if not os.path.exists("fixed"):
        sys.exit(1)'
    job later '"dependencies": ["bad"]'
    job lazy '"on": "demand"'
    job slow '"on": "demand"' "$WAIT_FOR_GO"
}

test_output_status_states() {
    status_project
    run -j 1 good bad later
    expect_exit 1
    start_bg run slow
    local bg=$BG_PID
    wait_for_file started
    wait_for_status slow running || fail "slow is not recorded running"
    run status
    expect_exit 0
    # (Spaces squeezed: the columns' widths follow the ages.)
    expect_eq stdout "JOB STATE LAST RUN POLICY NEXT DUE
bad failed #1 failed, AGE ago derived now (failed)
good ok #2 succeeded, AGE ago derived when an input or upstream changes
later due #3 skipped, AGE ago derived now (never-run)
lazy waiting - on demand when a job that runs needs it
slow running AGE (run 4) - on demand when run #4 ends" "$(ageless | sed -E 's/ +/ /g')"
    run status --exit-code
    expect_exit 1
    touch go
    BG_PID=$bg
    wait_bg
    touch fixed
    run -j 1
    expect_exit 0
    run status --exit-code
    expect_exit 0
    expect_stdout_contains "later  ok "
    expect_stdout_contains "slow   ok "
    expect_stdout_contains "lazy   waiting "
}

test_output_status_colour_only_on_a_terminal() {
    status_project
    touch fixed
    run -j 1 good
    expect_exit 0
    run_on_tty status
    expect_exit 0
    expect_stdout_contains $'good   \033[32mok\033[0m  '
    expect_stdout_contains $'\033[33mdue\033[0m'
    NO_COLOR=1 run_on_tty status
    expect_stdout_not_contains $'\033'
    TERM=dumb run_on_tty status
    expect_stdout_not_contains $'\033'
    run status
    expect_stdout_not_contains $'\033'
}

# `stau -n --exit-code` exits 1 when something would run, as `make -q`.
test_output_dry_run_exit_code() {
    new_project
    job a '"tags": []'
    run -n --exit-code
    expect_exit 1
    expect_stdout_contains "would run 1 job"
    run -n
    expect_exit 0
    run
    expect_exit 0
    run -n --exit-code
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    run --exit-code
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --exit-code goes with -n: `stau -n --exit-code` exits 1 when something would run
  hint: see 'stau --help'
EOF2
    run check --exit-code
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: 'check' does not take --exit-code
  hint: see 'stau check --help'
EOF2
}
