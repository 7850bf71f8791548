# Work IDs and chunks (SPEC §7): `work_ids`, `chunk_size`, `select_work`, one run per
# chunk, STAU_WORK_IDS, staleness of a chunked job, reruns of a chunk, the original
# Stau's project.
#
# A chunked job's main(work_ids) appends the IDs it got, as JSON, one chunk a line,
# to ids.txt in the project root; `ids` prints them sorted.

# chunked NAME 'DECLARATION BODY' [EXTRA PYTHON]: src/NAME.py whose main records its work IDs.
chunked() {
    local name=$1 decl=$2 extra=${3:-}
    write "src/$name.py" <<EOF
import json, os, sys, time

STAU_CONFIG = {"main_func": "main", $decl}


def main(work_ids, **kwargs):
    with open("ids.txt", "a") as f:
        f.write(json.dumps(work_ids) + "\n")
$extra
EOF
}

# The work IDs the chunks got, one chunk a line, sorted; then forget them.
ids() {
    if [ -f ids.txt ]; then
        sort ids.txt
        rm -f ids.txt
    fi
}

# One SQL query against the state database, through python's sqlite3.
db() {
    "$PY" - "$1" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(".stau/state.db")
for row in con.execute(sys.argv[1]):
    print("|".join("" if v is None else str(v) for v in row))
EOF
}

# stdout with the varying parts made fixed: durations (0.1s -> Ns) and log names.
normalised_stdout() {
    sed -E 's/[0-9]+\.[0-9]s/Ns/g; s/\.[0-9]{13}\./.MS./g' "$OUT"
}

test_chunks_declared_work_ids_split_in_order() {
    new_project
    chunked a '"work_ids": [1, 2, 3, 4, 5, 6, 7], "chunk_size": 3'
    run -n
    expect_exit 0
    expect_stdout_contains "      work ids: 7 declared (1-7), in 3 chunks of 3"
    run -j 1
    expect_exit 0
    expect_eq "work IDs per chunk" "[1, 2, 3]
[4, 5, 6]
[7]" "$(ids)"
    normalised_stdout >got.txt
    expect_eq "lines" "[1/3] a (chunk 1/3) ok Ns (run 1)
[2/3] a (chunk 2/3) ok Ns (run 2)
[3/3] a (chunk 3/3) ok Ns (run 3)
1 ran: 1 succeeded, 0 failed, 0 skipped (Ns)" "$(cat got.txt)"
    expect_eq "records" "1|1|3|[1,2,3]|succeeded
1|2|3|[4,5,6]|succeeded
1|3|3|[7]|succeeded" "$(db 'SELECT batch, chunk, chunks, work_ids_json, status FROM runs ORDER BY id')"
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_eq "work IDs" "" "$(ids)"
}

test_chunks_without_chunk_size_run_in_one_chunk() {
    new_project
    chunked a '"work_ids": [9, 3, 5]'
    run
    expect_exit 0
    # Sorted before they are cut into chunks, as the original Stau did.
    expect_eq "work IDs, sorted" "[3, 5, 9]" "$(ids)"
    expect_stdout_contains "[1/1] a (chunk 1/1) ok"
}

test_chunks_select_work_gets_kwargs_and_chunks_run_in_parallel() {
    new_project
    # Each chunk waits until all three have started: only parallel chunks finish.
    chunked a '"chunk_size": 2, "kwargs": {"n": 5}' '
    open("started.%d" % work_ids[0], "w").close()
    for _ in range(200):
        if all(os.path.exists("started.%d" % i) for i in (0, 2, 4)):
            return
        time.sleep(0.05)
    sys.exit("the chunks did not run at the same time")


def select_work(n):
    return list(range(n))'
    run -n
    expect_stdout_contains "      work ids: chosen by select_work when it runs, in chunks of 2 (without select_work, it runs once, unchunked)"
    expect_no_file .stau/logs
    run -j 3
    expect_exit 0
    expect_eq "work IDs per chunk" "[0, 1]
[2, 3]
[4]" "$(ids)"
    expect_stdout_contains "1 ran: 1 succeeded, 0 failed, 0 skipped"
    expect_eq "records" "[0,1]|1/3
[2,3]|2/3
[4]|3/3" "$(db "SELECT work_ids_json, chunk || '/' || chunks FROM runs ORDER BY chunk")"
    expect_eq "select_work's answer files left" "" "$(find .stau/logs -name '*.select.json')"
}

test_chunks_select_work_may_return_any_iterable_of_int() {
    new_project
    chunked a '"chunk_size": 2' '

def select_work():
    return (i for i in (4, 5, 6))'
    chunked b '"chunk_size": 10' '

def select_work():
    return [7, 8], "something else the original Stau ignored"'
    run
    expect_exit 0
    expect_eq "work IDs per chunk" "[4, 5]
[6]
[7, 8]" "$(ids)"
}

test_chunks_select_work_from_a_subfolder() {
    new_project
    chunked a '"chunk_size": 2' '

def select_work():
    return [1, 2, 3]'
    # The root is found by walking up ('../..'): the selector still finds its answer.
    mkdir -p src/deep
    cd src/deep || return
    run
    expect_exit 0
    expect_stdout_contains "1 ran: 1 succeeded, 0 failed, 0 skipped"
    cd ../.. || return
    expect_eq "work IDs per chunk" "[1, 2]
[3]" "$(ids)"
}

test_chunks_no_select_work_runs_once_unchunked() {
    new_project
    chunked a '"chunk_size": 2'
    write src/b.py <<'EOF'
import os
STAU_CONFIG = {"chunk_size": 2}
with open("env.txt", "a") as f:
    f.write(os.environ["STAU_WORK_IDS"] + "\n")
EOF
    run
    expect_exit 0
    expect_eq "main_func got work_ids=None" "null" "$(ids)"
    expect_eq "__main__ saw" "null" "$(cat env.txt)"
    expect_stdout_contains "] a ok"
    expect_stdout_contains "] b ok"
    expect_eq "records" "a||
b||" "$(db 'SELECT job, work_ids_json, chunk FROM runs ORDER BY job')"
    run
    expect_stdout_eq <<<"nothing to do"
}

test_chunks_select_work_returning_a_non_list_fails_the_job() {
    new_project
    chunked a '"chunk_size": 2' '

def select_work():
    print("choosing")
    return "abc"'
    chunked b '"chunk_size": 2, "dependencies": ["a"]'
    run
    expect_exit 1
    normalised_stdout >got.txt
    expect_eq "stdout" "[1/2] a failed: select_work returned 'abc' (a str), not a list of int Ns: run 1, stau log 1
[2/2] b skipped: 'a' failed (run 2)
1 ran: 0 succeeded, 1 failed, 1 skipped (Ns)
a failed: select_work returned 'abc' (a str), not a list of int; the end of its log:
    choosing
  full log: .stau/logs/a.MS.select.log" "$(cat got.txt)"
    expect_eq "record" "a|failed|1||
b|skipped|||" "$(db 'SELECT job, status, exit_code, work_ids_json, chunk FROM runs')"
    expect_eq "ids" "" "$(ids)"
    run why a
    expect_exit 0
    expect_stdout_contains "  failed: the last run (1) failed at "
    # An item that is no int, and a bool, are named.
    sed -i 's/return "abc"/return [1, "x"]/' src/a.py
    run
    expect_exit 1
    expect_stdout_contains "a failed: select_work returned [1, 'x'] (item 2 is 'x', a str), not a list of int"
    sed -i 's/return \[1, "x"\]/return [True]/' src/a.py
    run
    expect_stdout_contains "a failed: select_work returned [True] (item 1 is True, a bool), not a list of int"
    sed -i 's/return \[True\]/return 42/' src/a.py
    run
    expect_stdout_contains "a failed: select_work returned 42 (a int), not a list of int"
}

test_chunks_select_work_raising_or_exiting_fails_the_job() {
    new_project
    chunked a '"chunk_size": 2' '

def select_work():
    raise ValueError("no data today\nsecond line")'
    run
    expect_exit 1
    normalised_stdout >got.txt
    expect_eq "first line" "[1/1] a failed: select_work raised ValueError: no data today Ns: run 1, stau log 1" "$(head -n 1 got.txt)"
    expect_stdout_contains "a failed: select_work raised ValueError: no data today; the end of its log:"
    expect_stdout_contains "    Traceback (most recent call last):"
    expect_stdout_contains "    ValueError: no data today"
    expect_eq "record" "failed|1" "$(db 'SELECT status, exit_code FROM runs')"
    sed -i 's/raise ValueError.*/sys.exit(3)/' src/a.py
    run
    expect_exit 1
    expect_stdout_contains "[1/1] a failed: select_work exited with status 3"
    expect_eq "record" "failed|3" "$(db 'SELECT status, exit_code FROM runs ORDER BY id DESC LIMIT 1')"
    # A file that cannot even be loaded.
    printf 'import no_such_module_here\n' >>src/a.py
    run
    expect_exit 1
    expect_stdout_contains "[1/1] a failed: loading the job file for select_work raised ModuleNotFoundError: No module named 'no_such_module_here'"
}

test_chunks_zero_work_ids_succeed_without_running() {
    new_project
    chunked a '"chunk_size": 2' '

def select_work():
    return []'
    chunked b '"work_ids": [], "dependencies": ["a"]'
    run -n
    expect_stdout_contains "      work ids: 0 declared: it succeeds without running"
    local began elapsed
    began=$(date +%s%N)
    run
    expect_exit 0
    # b is ready the moment a's empty chunk succeeds: it starts then, not when the
    # loop next wakes (its 10-second heartbeat, with nothing running).
    elapsed=$((($(date +%s%N) - began) / 1000000))
    [ "$elapsed" -lt 5000 ] || fail "b waited: the run took ${elapsed} ms"
    normalised_stdout >got.txt
    expect_eq "stdout" "[1/2] a (chunk 1/1) ok: no work IDs, nothing to run (run 1)
[2/2] b (chunk 1/1) ok: no work IDs, nothing to run (run 2)
2 ran: 2 succeeded, 0 failed, 0 skipped (Ns)" "$(cat got.txt)"
    expect_eq "main_func never ran" "" "$(ids)"
    expect_eq "records" "a|succeeded|[]|1|1|
b|succeeded|[]|1|1|" "$(db 'SELECT job, status, work_ids_json, chunk, chunks, log_path FROM runs ORDER BY id')"
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
}

# a: six work IDs in three chunks; the chunk holding ID 3 fails while fail.flag exists.
failing_chunk_project() {
    new_project
    chunked a '"work_ids": [1, 2, 3, 4, 5, 6], "chunk_size": 2' '
    if 3 in work_ids and os.path.exists("fail.flag"):
        sys.exit("chunk with 3 fails")'
    write src/b.py <<'EOF'
STAU_CONFIG = {"dependencies": ["a"]}
open("b.txt", "a").write("b\n")
EOF
    touch fail.flag
}

test_chunks_one_failed_chunk_fails_the_job_but_not_its_other_chunks() {
    failing_chunk_project
    run -j 1
    expect_exit 1
    expect_eq "every chunk ran" "[1, 2]
[3, 4]
[5, 6]" "$(ids)"
    normalised_stdout >got.txt
    expect_eq "stdout" "[1/4] a (chunk 1/3) ok Ns (run 1)
[2/4] a (chunk 2/3) failed (exit 1) Ns: run 3, stau log 3
[3/4] a (chunk 3/3) ok Ns (run 4)
[4/4] b skipped: 'a' failed (run 2)
1 ran: 0 succeeded, 1 failed, 1 skipped (Ns)
a (chunk 2/3) failed (exit 1); the end of its log:
    chunk with 3 fails
  full log: .stau/logs/a.MS.1.log" "$(cat got.txt)"
    expect_no_file b.txt
    # The last chunk (the newest run) succeeded; the job is still due.
    run why a
    expect_stdout_contains "a is due:
  failed: the last run (2, chunk 2 of 3) failed at "
    expect_stdout_contains "  never-run: no successful run is recorded"
    # stau dot colours the job by its invocation, not by its newest chunk.
    run dot a
    expect_exit 0
    expect_stdout_contains "#ffcdd2"
    expect_stdout_not_contains "#c8e6c9"
    rm fail.flag
    run -j 1
    expect_exit 0
    # Only the IDs without a success since the failed invocation began run again.
    expect_eq "the failed chunk's IDs run again" "[3, 4]" "$(ids)"
    expect_file b.txt
    run
    expect_stdout_eq <<<"nothing to do"
}

test_chunks_fail_fast_stops_the_other_chunks() {
    failing_chunk_project
    run -j 1 --fail-fast
    expect_exit 1
    expect_eq "chunks run" "[1, 2]
[3, 4]" "$(ids)"
    expect_stdout_contains "1 ran: 0 succeeded, 1 failed, 0 skipped, 1 not started"
}

test_chunks_a_chunk_that_never_started_makes_the_job_due() {
    new_project
    # x fails at once; with --fail-fast nothing new starts, while b's first chunk,
    # started beside x, succeeds: b's other chunks never start.
    write src/a_x.py <<'EOF'
import sys
STAU_CONFIG = {}
sys.exit(1)
EOF
    chunked b '"work_ids": [1, 2, 3], "chunk_size": 1' '    time.sleep(1)'
    run -j 2 --fail-fast
    expect_exit 1
    expect_eq "chunks run" "[1]" "$(ids)"
    expect_stdout_contains "1 ran: 0 succeeded, 1 failed, 0 skipped, 1 not finished"
    # Each planned run has its line, those never started too: the count reaches 4/4.
    expect_stdout_contains "[3/4] b (chunk 2/3) not started: --fail-fast stopped after 'a_x' failed
[4/4] b (chunk 3/3) not started: --fail-fast stopped after 'a_x' failed"
    expect_eq "records of b" "1|1|3|succeeded" "$(db "SELECT batch - (SELECT min(id) FROM runs WHERE job = 'b') + 1, chunk, chunks, status FROM runs WHERE job = 'b'")"
    run why b
    expect_stdout_contains "  failed: the last run ($(db "SELECT id FROM runs WHERE job = 'b'")) did not finish: 2 of its 3 chunks never started"
    run status
    expect_stdout_contains "b    due"
}

test_chunks_retry_per_chunk() {
    new_project
    chunked a '"work_ids": [1, 2, 3, 4], "chunk_size": 2, "retries": 1, "retry_delay": 0' '
    if 3 in work_ids and os.environ["STAU_ATTEMPT"] == "1":
        sys.exit("first attempt of the second chunk fails")'
    run -j 1
    expect_exit 0
    expect_stdout_contains "a (chunk 2/2) failed (exit 1) "
    expect_stdout_contains ": run 2, stau log 2; retry 1 of 1 in 0s (run 3)"
    expect_eq "work IDs per attempt" "[1, 2]
[3, 4]
[3, 4]" "$(ids)"
    expect_eq "records" "1|1|1|succeeded
2|2|1|failed
3|2|2|succeeded" "$(db 'SELECT id, chunk, attempt, status FROM runs ORDER BY id')"
    expect_eq "one batch" "1" "$(db 'SELECT count(DISTINCT batch) FROM runs')"
    run
    expect_stdout_eq <<<"nothing to do"
}

test_chunks_stau_work_ids_for_a_main_job() {
    new_project
    write src/a.py <<'EOF'
import os
STAU_CONFIG = {"work_ids": [5, 6, 7], "chunk_size": 2}
with open("env.txt", "a") as f:
    f.write(os.environ["STAU_WORK_IDS"] + "\n")
EOF
    write src/plain.py <<'EOF'
import os
STAU_CONFIG = {}
with open("plain.txt", "w") as f:
    f.write(os.environ["STAU_WORK_IDS"])
EOF
    run
    expect_exit 0
    expect_eq "STAU_WORK_IDS of the chunks" "[5,6]
[7]" "$(sort env.txt)"
    expect_eq "STAU_WORK_IDS of an unchunked job" "null" "$(cat plain.txt)"
}

test_chunks_too_many_work_ids_for_one_run() {
    new_project
    chunked a '"chunk_size": 100000' '

def select_work():
    return range(100000, 140000)'
    run
    expect_exit 1
    expect_stdout_contains "[1/1] a (chunk 1/1) failed to start: its 40000 work IDs are too many for one run: STAU_WORK_IDS would take 280015 bytes, more than the 131072 an environment variable may hold; declare a smaller chunk_size"
    sed -i 's/"chunk_size": 100000/"chunk_size": 10000/' src/a.py
    run
    expect_exit 0
    expect_eq "chunks" "4" "$(ids | wc -l)"
}

test_chunks_rerun_repeats_the_chunk_with_its_work_ids() {
    failing_chunk_project
    run -j 1
    expect_exit 1
    ids >/dev/null
    rm fail.flag
    # select_work would now choose other IDs; the rerun uses the recorded ones.
    sed -i 's/"work_ids": \[1, 2, 3, 4, 5, 6\]/"work_ids": [7]/' src/a.py
    local chunk2 rerun
    chunk2=$(db "SELECT id FROM runs WHERE job = 'a' AND chunk = 2")
    run rerun "$chunk2"
    expect_exit 0
    expect_stdout_contains "[1/1] a (chunk 2/3) ok"
    expect_eq "work IDs" "[3, 4]" "$(ids)"
    rerun=$(db "SELECT max(id) FROM runs")
    expect_eq "the rerun joins the chunk's batch" "$rerun|1|2|3|[3,4]|$chunk2|succeeded" "$(db "SELECT id, batch, chunk, chunks, work_ids_json, rerun_of, status FROM runs WHERE id = $rerun")"
    # Every chunk of that invocation has now succeeded: its success counts.
    run why a
    expect_stdout_contains "a is due:
  config-changed: its declaration changed since run $rerun"
    expect_stdout_not_contains "failed:"
    expect_stdout_not_contains "never-run"
}

test_chunks_rerun_of_a_succeeded_chunk_leaves_the_invocation_failed() {
    failing_chunk_project
    run -j 1
    expect_exit 1
    local verdict='import json, sys
j = json.load(open(sys.argv[1]))[0]
print(j["last_success"], [r["evidence"] for r in j["reasons"] if r["reason"] == "failed"])'
    run why --json a
    local before
    before=$("$PY" -c "$verdict" "$OUT")
    expect_eq "before" "None ['the last run (" "${before%%[0-9]*}"
    sleep 1.1
    run rerun "$(db "SELECT id FROM runs WHERE job = 'a' AND chunk = 1")"
    expect_exit 0
    # The failed chunk never succeeded: the rerun of another one is no success of
    # the job, and the failure is still told by the failed chunk's own end.
    run why --json a
    expect_eq "after the rerun" "$before" "$("$PY" -c "$verdict" "$OUT")"
}

test_chunks_history_and_show() {
    new_project
    chunked a '"work_ids": [1, 2, 3, 10], "chunk_size": 3'
    write src/plain.py <<'EOF'
STAU_CONFIG = {"dependencies": ["a"]}
EOF
    run -j 1
    expect_exit 0
    run history --json
    expect_exit 0
    "$PY" - "$OUT" <<'EOF' || fail "history --json does not show the work IDs and chunks"
import json, sys
runs = sorted(json.load(open(sys.argv[1])), key=lambda r: r["id"])
got = [(r["job"], r["work_ids"], r["batch"], r["chunk"], r["chunks"]) for r in runs]
# Every due job's first run is claimed before any starts (1: a, 2: plain); a's
# second chunk is recorded when its work IDs are split.
want = [("a", [1, 2, 3], 1, 1, 2), ("plain", None, 2, None, None), ("a", [10], 1, 2, 2)]
assert got == want, got
EOF
    run history
    expect_exit 0
    sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}/TIME/; s/ +[0-9]+\.[0-9]s/ Ns/' "$OUT" >got.txt
    expect_eq "history" "   RUN  JOB    TRY  STATUS       STARTED              DURATION  EXIT      WORK IDS
     3  a        1  succeeded    TIME Ns  0         10 (chunk 2/2)
     2  plain    1  succeeded    TIME Ns  0
     1  a        1  succeeded    TIME Ns  0         1-3 (chunk 1/2)" "$(cat got.txt)"
    run show 3
    expect_stdout_contains "  work ids:     [10]
  chunk:        2 of 2 (batch 1)"
}

test_chunks_original_stau_project_runs() {
    use_fixture original
    run -n
    expect_exit 0
    expect_stdout_contains "      work ids: chosen by select_work when it runs, in chunks of 10"
    run -j 2
    expect_exit 0
    expect_stdout_contains "3 ran: 3 succeeded, 0 failed, 0 skipped"
    # job_b (on demand, chunks of 5) runs on job_a's work IDs; job_c is not split.
    expect_eq "runs" "job_a|[0,1,2,3,4,5,6,7,8,9]|1|3
job_a|[10,11,12,13,14,15,16,17,18,19]|2|3
job_a|[20,21,22,23,24]|3|3
job_b|[0,1,2,3,4]|1|5
job_b|[5,6,7,8,9]|2|5
job_b|[10,11,12,13,14]|3|5
job_b|[15,16,17,18,19]|4|5
job_b|[20,21,22,23,24]|5|5
job_c|||" "$(db 'SELECT job, work_ids_json, chunk, chunks FROM runs ORDER BY job, chunk')"
    run -n
    expect_exit 0
    # Nothing is due, unless a tick of job_c ('@every 5m') or job_a fell between the
    # two calls: then schedule ticks (and what follows them) are the only reasons.
    if ! grep -qx "nothing to do" "$OUT"; then
        expect_stdout_contains "      schedule: "
        expect_eq "reasons other than a tick right after a run" "" \
            "$(sed -nE 's/^ {6}([a-z-]+): .*/\1/p' "$OUT" | grep -vxE 'schedule|upstream-due' | sort -u)"
    fi
}

# Each selection leaves its select_work log, which no run records unless the
# selection failed: gc removes one once --keep-last runs of its job were queued after
# it (before, none ever went).
test_chunks_gc_removes_the_older_select_work_logs() {
    new_project
    chunked a '"chunk_size": 2' '

def select_work():
    return [1, 2, 3]'
    run run a
    run run --force a
    run run --force a
    local selects=()
    mapfile -t selects < <(cd .stau/logs && ls -- *.select.log | sort)
    expect_eq "select_work logs" 3 "${#selects[@]}"
    run gc --keep-last 10
    expect_exit 0
    expect_stdout_not_contains ".select.log"
    run gc --keep-last 2
    expect_exit 0
    expect_stdout_contains "removed log .stau/logs/${selects[0]} ("
    expect_stdout_contains "removed log .stau/logs/${selects[1]} ("
    expect_no_file ".stau/logs/${selects[0]}"
    expect_no_file ".stau/logs/${selects[1]}"
    expect_file ".stau/logs/${selects[2]}"
}

test_chunks_gc_keeps_every_chunk_of_the_last_success() {
    new_project
    chunked a '"work_ids": [1, 2, 3], "chunk_size": 1'
    run -j 1
    expect_exit 0
    run gc --keep-last 1
    expect_exit 0
    expect_file .stau/archive/a.1.tar.zst
    expect_file .stau/archive/a.2.tar.zst
    expect_file .stau/archive/a.3.tar.zst
    # Once a newer invocation succeeded, the older one's chunks may go.
    run run --force -j 1 a
    expect_exit 0
    run gc --keep-last 1
    expect_exit 0
    expect_no_file .stau/archive/a.1.tar.zst
    expect_no_file .stau/archive/a.2.tar.zst
    expect_file .stau/archive/a.4.tar.zst
    expect_file .stau/archive/a.5.tar.zst
    expect_file .stau/archive/a.6.tar.zst
}

test_chunks_select_work_timeout_and_interrupt() {
    new_project
    chunked a '"chunk_size": 2, "timeout": 1' '

def select_work():
    open("selecting", "w").close()
    time.sleep(30)
    return [1]'
    run
    expect_exit 1
    expect_stdout_contains "[1/1] a timed out after 1s in select_work"
    expect_eq "record" "timed-out" "$(db 'SELECT status FROM runs')"
    # Ctrl-C while select_work runs: recorded as interrupted, exit 130.
    sed -i 's/"timeout": 1/"timeout": 60/' src/a.py
    rm -f selecting
    "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$STAU" >"$OUT" 2>"$ERR" </dev/null &
    local pid=$! i
    for i in $(seq 150); do
        [ -e selecting ] && break
        sleep 0.1
    done
    expect_file selecting
    kill -INT "$pid"
    wait "$pid"
    RC=$?
    expect_exit 130
    expect_stdout_contains "[1/1] a interrupted in select_work"
    expect_eq "record" "interrupted" "$(db 'SELECT status FROM runs ORDER BY id DESC LIMIT 1')"
    run why a
    expect_stdout_contains "  failed: the last run (2) was interrupted at "
}

test_chunks_rerun_of_a_chunk_after_the_job_stopped_being_chunked() {
    new_project
    chunked a '"work_ids": [1, 2], "chunk_size": 1'
    run -j 1
    expect_exit 0
    ids >/dev/null
    sed -i 's/"work_ids": \[1, 2\], "chunk_size": 1/"kwargs": {}/' src/a.py
    run rerun 2
    expect_exit 0
    expect_eq "the recorded work IDs still reach main_func" "[2]" "$(ids)"
}
