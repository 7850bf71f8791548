# Torture (issue 13): stau killed with SIGKILL at a random moment, round after
# round, on a chunked DAG; and many copies of stau started at once on scheduled jobs.
#
# Each kill -9 round changes the DAG's input, starts `stau -j 4`, kills it after a
# random delay (each test its own range of moments: while planning and claiming,
# while chunks run, while the last jobs finish and archive), and then checks:
#   - the state database is intact: PRAGMA integrity_check says ok;
#   - no recorded run is lost: every run finished before the round is still
#     recorded as it was, and so is every run the killed stau finished;
#   - the follow-up `stau -j 4` exits 0 (it records the killed copy's runs lost and
#     runs their jobs again), after which nothing is queued or running, no process
#     of any job of the round is left, every archive a run names is on disk, no
#     temporary file is left in .stau (but staged archives: see below), and
#     `stau -n` finds nothing to do.
# STAU_TORTURE_ROUNDS (default 10 per test) sets the rounds, STAU_TORTURE_BUDGET
# (default 80 s) the time after which a test starts no new round (past the third:
# a loaded machine does fewer rounds rather than time out). Run longer with e.g.
#   STAU_TORTURE_ROUNDS=100 STAU_TORTURE_BUDGET=3000 STAU_TEST_TIMEOUT=3600 \
#       tests/run.sh STAU '' t_torture
# A failing round says its delay and the seed of the delays (STAU_TORTURE_SEED
# replays them).

TORTURE_ROUNDS=${STAU_TORTURE_ROUNDS:-10}
TORTURE_BUDGET=${STAU_TORTURE_BUDGET:-80}

# Process groups of the jobs, recorded by the jobs in pgids/ (reaped at the end).
reap_jobs() {
    local f
    for f in pgids/*; do
        [ -f "$f" ] && reap_group "$(basename "$f")"
    done
    return 0
}
trap reap_jobs EXIT

# The DAG: extract (8 work IDs in 4 chunks) -> transform (4 chunks of 1) -> report,
# and slow (one 0.6 s run) -> report; extract and slow read data/in.txt. Each job
# records its process group in pgids/ and a line in ledger.txt.
torture_project() {
    new_project
    write src/common.py <<'EOF'
import os, time


def note(job, seconds):
    os.makedirs("pgids", exist_ok=True)
    open("pgids/%d" % os.getpgid(0), "w").write(job)
    fd = os.open("ledger.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, ("%s %s %d\n" % (job, os.environ["STAU_RUN_ID"], os.getpid())).encode())
    os.close(fd)
    time.sleep(seconds)
EOF
    write src/extract.py <<'EOF'
from common import note

STAU_CONFIG = {"main_func": "main", "inputs": ["data/in.txt"],
               "work_ids": [1, 2, 3, 4, 5, 6, 7, 8], "chunk_size": 2}


def main(work_ids):
    note("extract", 0.05 * len(work_ids))
EOF
    write src/transform.py <<'EOF'
from common import note

STAU_CONFIG = {"main_func": "main", "dependencies": ["extract"],
               "work_ids": [1, 2, 3, 4], "chunk_size": 1, "outputs": ["data/transform"]}


def main(work_ids):
    import os
    os.makedirs("data/transform", exist_ok=True)
    open("data/transform/%d.txt" % work_ids[0], "w").write("t")
    note("transform", 0.1)
EOF
    write src/slow.py <<'EOF'
from common import note

STAU_CONFIG = {"main_func": "main", "inputs": ["data/in.txt"]}


def main():
    note("slow", 0.6)
EOF
    write src/report.py <<'EOF'
from common import note

STAU_CONFIG = {"main_func": "main", "dependencies": ["transform", "slow"],
               "outputs": ["data/report.txt"]}


def main():
    note("report", 0.1)
    open("data/report.txt", "w").write(open("data/in.txt").read())
EOF
    write data/in.txt <<<"0"
    age_files
}

# The finished runs, one a line: id|job|status|finished_at|archive_path.
finished_runs() {
    db "SELECT id, job, status, finished_at, archive_path FROM runs
        WHERE status NOT IN ('queued', 'running') ORDER BY id"
}

# Is anything but zombies left in process group $1?
group_alive() {
    ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# kill_rounds MIN_MS MAX_MS: the rounds, each killing stau after a delay in the range.
kill_rounds() {
    local min=$1 max=$2 round delay before killed problems seed=${STAU_TORTURE_SEED:-$$}
    RANDOM=$seed
    torture_project
    run -j 4
    expect_exit 0
    local budget=$((SECONDS + TORTURE_BUDGET))
    for ((round = 1; round <= TORTURE_ROUNDS; round++)); do
        # bounded in time too: a loaded machine does fewer rounds, not a timeout
        if [ "$round" -gt 3 ] && [ "$SECONDS" -ge "$budget" ]; then
            echo "torture: stopped after $((round - 1)) rounds: the time budget of $TORTURE_BUDGET s is spent"
            break
        fi
        delay=$((min + RANDOM % (max - min + 1)))
        local at="round $round (kill after $delay ms; seed $seed)"
        echo "$round" >data/in.txt
        before=$(finished_runs)
        start_bg_into "bg.$round.out" "bg.$round.err" -j 4
        sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
        kill -9 "$BG_PID" 2>/dev/null
        wait "$BG_PID" 2>/dev/null

        local integrity
        integrity=$("$PY" -c 'import sqlite3
print(sqlite3.connect(".stau/state.db").execute("PRAGMA integrity_check").fetchone()[0])')
        [ "$integrity" = ok ] || fail "$at: PRAGMA integrity_check says: $integrity"
        killed=$(finished_runs)
        problems=$(comm -23 <(printf '%s\n' "$before" | sed '/^$/d' | sort) <(printf '%s\n' "$killed" | sort))
        [ -z "$problems" ] || fail "$at: runs recorded before the round changed or are gone: $problems"

        run -j 4
        cp "$OUT" "follow.$round.out"
        cp "$ERR" "follow.$round.err"
        if [ "$RC" != 0 ]; then
            fail "$at: the follow-up stau exited $RC; stdout and stderr:"
            cat "$OUT" "$ERR"
        fi
        problems=$(comm -23 <(printf '%s\n' "$killed" | sed '/^$/d' | sort) <(finished_runs | sort))
        [ -z "$problems" ] || fail "$at: runs the killed stau recorded changed or are gone: $problems"
        local active
        active=$(db "SELECT id, job, status FROM runs WHERE status IN ('queued', 'running')")
        [ -z "$active" ] || fail "$at: after the follow-up, runs are still active: $active"
        local f
        for f in pgids/*; do
            [ -f "$f" ] || continue
            group_alive "$(basename "$f")" &&
                fail "$at: a process of job $(cat "$f") (group $(basename "$f")) is left running"
            rm -f "$f"
        done
        local missing
        missing=$("$PY" -c 'import os, sqlite3
for i, a in sqlite3.connect(".stau/state.db").execute(
        "SELECT id, archive_path FROM runs WHERE archive_path IS NOT NULL"):
    if not os.path.exists(a):
        print(i, a)')
        [ -z "$missing" ] || fail "$at: archives the database names are missing: $missing"
        # Archives a killed stau had staged but not yet renamed into place stay behind
        # as ARCHIVE.tmp.PID (nothing removes them yet; each holds its run's kwargs):
        # said, not failed. Any other temporary file fails.
        local leftovers
        leftovers=$(find .stau -name '*.tmp.*' ! -name '*.tar.zst.tmp.*')
        [ -z "$leftovers" ] || fail "$at: temporary files left in .stau: $leftovers"
        leftovers=$(find .stau -name '*.tar.zst.tmp.*' | wc -l)
        [ "$leftovers" -eq 0 ] || echo "$at: $leftovers staged archives of the killed stau left behind"
        run -n
        [ "$(cat "$OUT")" = "nothing to do" ] ||
            { fail "$at: after the follow-up, stau -n finds work:"; cat "$OUT" "$ERR"; dump_round "$round"; }
        [ "$TEST_FAILED" = 0 ] || return
    done
    echo "torture: $((round - 1)) rounds survived"
}

# What a failing round leaves to read: the runs (times in ms since the first run's
# queueing), what the killed stau and the follow-up printed.
dump_round() {
    echo "--- runs (id|job|status|batch|chunk|queued|started|finished|host|owner_pid):"
    db "SELECT id, job, status, batch, chunk, queued_at - (SELECT MIN(queued_at) FROM runs),
               started_at - (SELECT MIN(queued_at) FROM runs),
               finished_at - (SELECT MIN(queued_at) FROM runs), host, owner_pid
        FROM runs ORDER BY id"
    echo "--- the killed stau's stdout and stderr:"
    cat "bg.$1.out" "bg.$1.err"
    echo "--- the follow-up's stdout and stderr:"
    cat "follow.$1.out" "follow.$1.err"
}

# Killed while it loads, plans, claims and starts the first chunks.
test_torture_kill_9_while_starting() {
    kill_rounds 0 500
}

# Killed while chunks of extract and transform run.
test_torture_kill_9_while_chunks_run() {
    kill_rounds 400 1500
}

# Killed while the last jobs run, finish and archive.
test_torture_kill_9_while_finishing() {
    kill_rounds 1200 2800
}

# Copies of stau started all at once (STAU_TORTURE_COPIES, default 16), twice, on
# jobs scheduled every minute and one depending on them: each schedule tick of a job
# runs once (runs counted per job and minute of their queueing), every copy exits 0,
# and afterwards nothing is due.
test_torture_copies_at_once_run_each_tick_once() {
    local copies=${STAU_TORTURE_COPIES:-16} batch i
    new_project
    for i in 1 2 3; do
        write "src/tick$i.py" <<'EOF'
import time
STAU_CONFIG = {"main_func": "main", "schedule": "* * * * *"}


def main():
    time.sleep(0.3)
EOF
    done
    write src/after.py <<'EOF'
STAU_CONFIG = {"main_func": "main", "dependencies": ["tick1", "tick2", "tick3"]}


def main():
    pass
EOF
    age_files
    for batch in 1 2; do
        local pids=()
        for ((i = 1; i <= copies; i++)); do
            start_bg_into "copy.$batch.$i.out" "copy.$batch.$i.err"
            pids[i]=$BG_PID
        done
        for ((i = 1; i <= copies; i++)); do
            BG_PID=${pids[i]}
            wait_bg
            if [ "$RC" != 0 ]; then
                fail "copy $i of batch $batch exited $RC; its stdout and stderr:"
                cat "copy.$batch.$i.out" "copy.$batch.$i.err"
            fi
        done
    done
    local doubles
    doubles=$(db "SELECT job, queued_at / 60000, COUNT(*) FROM runs
                  WHERE job LIKE 'tick%' GROUP BY 1, 2 HAVING COUNT(*) > 1")
    [ -z "$doubles" ] || fail "ticks run more than once (job|minute|runs): $doubles"
    expect_eq "runs not succeeded" "" "$(db "SELECT id, job, status FROM runs WHERE status != 'succeeded'")"
    local ticks
    ticks=$(db "SELECT COUNT(*) FROM runs WHERE job LIKE 'tick%'")
    [ "$ticks" -ge 3 ] || fail "only $ticks runs of the scheduled jobs"
    echo "torture: $((2 * copies)) copies at once, $ticks tick runs, 0 double runs"
}
