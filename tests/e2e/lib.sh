# lib.sh: helpers of the end-to-end tests; tests/run.sh loads it before each test.
#
# Each test is a function test_NAME in a tests/e2e/t_*.sh file. It starts in its own
# empty folder $TEST_TMP (removed afterwards) and fails when any expect_* failed
# (the others still run, to show everything at once) or when bash itself fails.
#
# A test of behaviour stau gets wrong today is written for the right behaviour,
# under a `# BUG:` comment saying what is wrong and where; it fails until fixed.
#
# From run.sh:   STAU (the binary), ROOT (the repository), PY (the real python3),
#                TEST_TMP, TEST_NAME
# Here:          FIXTURES, and after `run` OUT, ERR (files) and RC
#
#   use_fixture NAME [DIR]   copy fixtures/NAME to $TEST_TMP/DIR (default p) and cd there
#   new_project [DIR]        make an empty project folder $TEST_TMP/DIR (default p), cd there
#   write FILE <<'EOF'       write a file (folders made as needed)
#   age_files [DIR]          give every file an old mtime, so the graph cache
#                            never sees one as racily new
#   run ARGS...              run stau (60 s limit) capturing stdout, stderr, exit code;
#                            a crash or hang ends the test
#   expect_exit N
#   expect_stdout_eq <<'EOF' / expect_stderr_eq <<'EOF'   the whole output, exactly
#   expect_stdout_empty / expect_stderr_empty
#   expect_stdout_contains TEXT / expect_stderr_contains TEXT   (a fixed string)
#   expect_stderr_not_contains TEXT / expect_stdout_not_contains TEXT
#   expect_stderr_last_line TEXT
#   expect_eq WHAT EXPECTED GOT
#   expect_file FILE / expect_no_file FILE
#   fail MESSAGE
#
# Background stau and the state database:
#
#   db SQL                   one query against .stau/state.db; prints rows as a|b|c
#   last_status JOB          the status of JOB's last run
#   wait_for_file FILE       wait up to 15 s for FILE (fails the test if it never comes)
#   wait_for_status JOB S    wait up to 5 s for JOB's last run to be S (status 1 if not)
#   start_bg ARGS...         start stau in the background, output to $OUT and $ERR;
#                            sets BG_PID
#   start_bg_into OUTFILE ERRFILE ARGS...   the same, output to these files
#   wait_bg                  wait (at most 30 s) for $BG_PID to end; sets RC
#   unique_sleep             an argument for `sleep` that pgrep -f finds uniquely
#   reap_group PGID          kill -9 what is left of a process group, quietly
#
# PostgreSQL (run.sh starts a private server and sets STAU_TEST_PG, a libpq URI):
#
#   need_pg                  first line of a test that needs the server: fails the
#                            test when STAU_TEST_PG is unset; else exports STAU_DB
#                            (the server) and STAU_DB_SCHEMA (a fresh t_<random>
#                            name, not yet made), which stau reads
#   pg_sql SQL / pg_sql <<'EOF'   run SQL with psql on the server (search_path: the
#                            test's schema, then public); prints rows as a|b|c;
#                            status non-zero on the first error

FIXTURES=$ROOT/fixtures
OUT=$TEST_TMP/.run/stdout
ERR=$TEST_TMP/.run/stderr
RC=
TEST_FAILED=0
mkdir -p "$TEST_TMP/.run"

# (The mark file counts a failure in a subshell too: `printf ... | expect_stderr_eq`.)
fail() {
    TEST_FAILED=1
    : >"$TEST_TMP/.run/failed"
    printf '%s\n' "$*"
}

# Say where in the test file an expectation failed: the caller of the expect_*.
_where() {
    printf '%s:%s' "$(basename "${BASH_SOURCE[2]}")" "${BASH_LINENO[1]}"
}

test_finish() {
    [ -e "$TEST_TMP/.run/failed" ] && TEST_FAILED=1
    exit "$TEST_FAILED"
}

use_fixture() {
    local name=$1 dir=$TEST_TMP/${2:-p}
    if [ ! -d "$FIXTURES/$name" ]; then
        fail "no fixture '$name'"
        exit 1
    fi
    mkdir -p "$dir"
    cp -R "$FIXTURES/$name/." "$dir/"
    # What a run of the real fixture may have left: never part of the test.
    rm -rf "$dir/.stau" "$dir/data/clean" "$dir/data/out"
    find "$dir" -name __pycache__ -prune -exec rm -rf {} +
    age_files "$dir"
    cd "$dir" || exit 1
}

new_project() {
    local dir=$TEST_TMP/${1:-p}
    mkdir -p "$dir"
    cd "$dir" || exit 1
}

write() {
    mkdir -p "$(dirname "$1")"
    cat >"$1"
}

age_files() {
    find "${1:-.}" -exec touch -h -d '2001-02-03 04:05:06' {} + 2>/dev/null
    return 0
}

run() {
    timeout -k 5 60 "$STAU" "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
    # A hang or a crash ends the test: what it would check next means nothing.
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        fail "$(_where): 'stau $*' did not finish within 60 s"
        exit 1
    elif [ "$RC" -gt 128 ]; then
        fail "$(_where): 'stau $*' died of signal $((RC - 128)); stderr:"
        head -n 12 "$ERR"
        exit 1
    fi
    return 0
}

expect_exit() {
    if [ "$RC" != "$1" ]; then
        fail "$(_where): expected exit status $1, got $RC"
        echo "--- stdout (at most 20 lines):"
        head -n 20 "$OUT"
        echo "--- stderr (at most 20 lines):"
        head -n 20 "$ERR"
    fi
}

_expect_eq_file() {
    local what=$1 got=$2 where=$3
    local want=$TEST_TMP/.run/expected
    cat >"$want"
    if ! cmp -s "$want" "$got"; then
        fail "$where: $what differs (- expected, + got):"
        diff -u --label expected --label got "$want" "$got" | head -n 200
    fi
}

expect_stdout_eq() { _expect_eq_file stdout "$OUT" "$(_where)"; }
expect_stderr_eq() { _expect_eq_file stderr "$ERR" "$(_where)"; }

expect_stdout_empty() {
    if [ -s "$OUT" ]; then
        fail "$(_where): expected no stdout, got:"
        head -c 4000 "$OUT"
    fi
}

expect_stderr_empty() {
    if [ -s "$ERR" ]; then
        fail "$(_where): expected no stderr, got:"
        head -c 4000 "$ERR"
    fi
}

_expect_contains() {
    local what=$1 file=$2 text=$3 where=$4
    if ! grep -qF -- "$text" "$file"; then
        fail "$where: $what does not contain: $text"
        echo "--- $what:"
        head -c 4000 "$file"
    fi
}

_expect_not_contains() {
    local what=$1 file=$2 text=$3 where=$4
    if grep -qF -- "$text" "$file"; then
        fail "$where: $what should not contain: $text"
        echo "--- $what:"
        head -c 4000 "$file"
    fi
}

expect_stdout_contains() { _expect_contains stdout "$OUT" "$1" "$(_where)"; }
expect_stderr_contains() { _expect_contains stderr "$ERR" "$1" "$(_where)"; }
expect_stdout_not_contains() { _expect_not_contains stdout "$OUT" "$1" "$(_where)"; }
expect_stderr_not_contains() { _expect_not_contains stderr "$ERR" "$1" "$(_where)"; }

expect_stderr_last_line() {
    local got
    got=$(tail -n 1 "$ERR")
    if [ "$got" != "$1" ]; then
        fail "$(_where): last line of stderr:"
        echo "  expected: $1"
        echo "  got:      $got"
    fi
}

expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$(_where): $1:"
        echo "  expected: $2"
        echo "  got:      $3"
    fi
}

expect_file() {
    [ -e "$1" ] || fail "$(_where): expected the file $1"
}

expect_no_file() {
    [ -e "$1" ] && fail "$(_where): expected no file $1"
    return 0
}

# One SQL query against the state database, through python's sqlite3.
db() {
    "$PY" - "$1" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(".stau/state.db")
for row in con.execute(sys.argv[1]):
    print("|".join("" if v is None else str(v) for v in row))
con.commit()
EOF
}

# The status of a job's last run.
last_status() {
    db "SELECT status FROM runs WHERE job = '$1' ORDER BY id DESC LIMIT 1"
}

# Wait up to 15 s for a file to appear.
wait_for_file() {
    local i
    for i in $(seq 150); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    fail "$(_where): $1 did not appear within 15 s"
    return 1
}

# Wait up to 5 s for a job's last run to have this status.
wait_for_status() {
    local i
    for i in $(seq 50); do
        [ "$(last_status "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# Start stau in the background with SIGINT and SIGTERM at their defaults (a
# non-interactive shell starts background commands with SIGINT ignored).
# Sets BG_PID; its stdout and stderr go to $OUT and $ERR.
start_bg() {
    start_bg_into "$OUT" "$ERR" "$@"
}

# start_bg_into OUTFILE ERRFILE ARGS...: start_bg with stdout and stderr to these files.
start_bg_into() {
    local out=$1 err=$2
    shift 2
    "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$STAU" "$@" >"$out" 2>"$err" </dev/null &
    BG_PID=$!
}

# Wait for the background stau (at most 30 s) and set RC.
wait_bg() {
    local i
    for i in $(seq 300); do
        kill -0 "$BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$BG_PID" 2>/dev/null; then
        fail "$(_where): stau (pid $BG_PID) still running after 30 s"
        kill -9 "$BG_PID" 2>/dev/null
    fi
    wait "$BG_PID"
    RC=$?
}

# A unique argument for `sleep`, so pgrep -f finds exactly our grandchild.
unique_sleep() {
    printf '60.%05d%05d' "$RANDOM" "$RANDOM"
}

# Kill what is left of a process group we made (by its id), quietly.
reap_group() {
    [ -n "$1" ] && kill -9 -- "-$1" 2>/dev/null
    return 0
}

# A test that needs PostgreSQL fails without it: passing silently would hide
# that nothing was tested.
need_pg() {
    if [ -z "${STAU_TEST_PG:-}" ]; then
        fail "$(_where): needs a PostgreSQL server (STAU_TEST_PG is not set)"
        exit 1
    fi
    # Unique per test, so a server the caller gave can hold many runs at once.
    STAU_DB_SCHEMA=t_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    export STAU_DB=$STAU_TEST_PG STAU_DB_SCHEMA
}

# SQL on the test server through psql: -X no ~/.psqlrc, -t -A bare rows.
pg_sql() {
    if [ -z "${STAU_TEST_PG:-}" ]; then
        fail "$(_where): pg_sql needs a PostgreSQL server (STAU_TEST_PG is not set)"
        exit 1
    fi
    local args=(-f -)
    [ $# -gt 0 ] && args=(-c "$1")
    PGOPTIONS="-c search_path=${STAU_DB_SCHEMA:-public},public" PGCONNECT_TIMEOUT=10 \
        timeout -k 5 30 psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$STAU_TEST_PG" "${args[@]}"
}
