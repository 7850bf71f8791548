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
