# What reading the run history costs does not grow with its length: `history JOB
# --limit 20`, `why JOB`, `status` and `gc -n` read the same rows of a history of
# 2,000 runs and of one of 100,000 (a year-like history made by
# tests/bench/gen_history.py from runs stau recorded itself), counted by SQLite
# ($STAU_SQL_TRACE: each statement's steps), and every query of runs they make uses
# an index (EXPLAIN QUERY PLAN). gc's work follows the files on disk, the same for
# both. No timing: counts do not depend on how busy the machine is.

# A generated project of 30 jobs run once by stau (a stand-in interpreter: every job
# exits 0 at once), its state database multiplied into $TEST_TMP/small.db (about
# 2,000 runs) and $TEST_TMP/large.db (about 100,000); the same newest runs in both.
sized_histories() {
    "$PY" "$ROOT/tests/bench/gen_project.py" "$TEST_TMP/p" --jobs 30 --no-verify >/dev/null
    cd "$TEST_TMP/p" || return
    "$PY" "$ROOT/tests/bench/gen_history.py" prepare . "$STAU" >/dev/null
    run -j 2
    expect_exit 0
    local size
    for size in small:2000 large:100000; do
        cp .stau/state.db "$TEST_TMP/${size%%:*}.db"
        "$PY" "$ROOT/tests/bench/gen_history.py" multiply-sqlite "$TEST_TMP/${size%%:*}.db" \
            --rows "${size#*:}" >/dev/null
    done
}

# The statements `stau ARGS...` makes on the database at $1, into $TEST_TMP/trace.
trace_on() {
    local db=$1
    shift
    rm -f "$TEST_TMP/trace"
    STAU_DB=$db STAU_SQL_TRACE=$TEST_TMP/trace run "$@"
    expect_exit 0
}

# "FULLSCAN VM STATEMENTS" summed over $TEST_TMP/trace.
trace_steps() {
    awk -F'\t' '{ f += $1; v += $2; n++ } END { print f + 0, v + 0, n + 0 }' "$TEST_TMP/trace"
}

# Each SELECT of runs in $TEST_TMP/trace whose plan reads runs without an index, with
# its plan: a SCAN of runs, unless it is of the newest runs of all, by id, under a
# LIMIT (the table read backwards from its end, as far as the LIMIT).
unindexed_reads() {
    "$PY" - "$1" "$TEST_TMP/trace" <<'EOF'
import re, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for line in open(sys.argv[2], encoding="utf-8"):
    _, _, sql = line.rstrip("\n").split("\t", 2)
    if not re.match(r"\s*(SELECT|WITH)\b", sql, re.I) or not re.search(r"\bruns\b", sql):
        continue
    plan = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + sql)]
    newest = re.search(r"\bFROM runs ORDER BY id DESC LIMIT \d+$", sql)
    if any(re.match(r"SCAN (runs|r)\b", p) for p in plan) and not newest:
        print(sql[:300], "=>", " | ".join(plan))
EOF
}

test_history_reads_do_not_grow_with_the_history() {
    sized_histories
    local job small large
    job=$(db "SELECT job FROM runs GROUP BY job ORDER BY count(*) DESC, job LIMIT 1")
    expect_eq "runs in the large history" 1 \
        "$("$PY" -c 'import sqlite3,sys; print(int(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM runs").fetchone()[0] >= 100000))' "$TEST_TMP/large.db")"
    local args
    for args in "history $job --limit 20" "why $job" "status" "gc -n"; do
        # shellcheck disable=SC2086 # the words of args
        trace_on "$TEST_TMP/small.db" $args
        small=$(trace_steps)
        # shellcheck disable=SC2086
        trace_on "$TEST_TMP/large.db" $args
        large=$(trace_steps)
        expect_eq "'$args': unindexed reads of runs" "" "$(unindexed_reads "$TEST_TMP/large.db")"
        # The same statements, and as many steps give or take a few (the older rows
        # differ a little between the two); a scan of runs would take 50 times more.
        read -r sf sv sn <<<"$small"
        read -r lf lv ln <<<"$large"
        expect_eq "'$args': statements, small and large" "$sn" "$ln"
        expect_eq "'$args': full-scan steps, small and large" "$sf" "$lf"
        [ "$lv" -le $((sv + sv / 10 + 100)) ] ||
            fail "'$args': $lv VM steps on 100,000 runs against $sv on 2,000"
        [ "$sn" -gt 0 ] || fail "'$args': no statement traced"
    done
}
