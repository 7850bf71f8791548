#!/usr/bin/env bash
# stau's test run: the unit tests, then every end-to-end test.
#
#   tests/run.sh STAU_BIN UNIT_BIN [FILTER]
#
# UNIT_BIN runs from the repository root; its last line `unit: N passed, M failed`
# is counted. Then every test function (test_*) of every tests/e2e/t_*.sh runs
# on its own, in a fresh temporary folder, with tests/e2e/lib.sh loaded (see
# there for the helpers). FILTER, an extended regex, runs only the tests whose
# `t_file.sh:test_name` it matches (and skips the unit tests). Pass "" as
# UNIT_BIN to skip the unit tests.
#
# Then the fuzz harnesses (tests/fuzz, built beside UNIT_BIN, else STAU_BIN, by
# -Dsanitize=true): each replays its corpus (test fuzz:NAME:replay) and fuzzes for
# $STAU_FUZZ_SECONDS, default 30 (fuzz:NAME:run); FILTER selects them by those names.
#
# Each e2e test gets 120 s, or STAU_TEST_TIMEOUT seconds (for long torture runs).
#
# Output: nothing for a passing test; for a failing one its name and what it
# printed (expected vs got as a diff). The last line is always
# `N passed, M failed`; the exit status is 1 when anything failed.
#
# Needs bash, coreutils, python3 and Graphviz's `dot`; no network; works as
# root. Temporary folders are removed at the end, also on Ctrl-C.
#
# PostgreSQL: unless the caller set STAU_TEST_PG, a private server (the newest
# /usr/lib/postgresql/*/bin; trust auth; 127.0.0.1 on a free port from 54320 up;
# data, socket and log in a temp folder) runs for the whole suite, as the
# `postgres` user when we are root. STAU_TEST_PG, a libpq URI, points the unit
# binary and every e2e test at it (lib.sh's need_pg). When it cannot start, one
# line says why and the tests that need it fail.
set -u

if [ $# -lt 2 ]; then
    echo "usage: tests/run.sh STAU_BIN UNIT_BIN [FILTER]" >&2
    exit 2
fi

abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$TESTS_DIR")
STAU=$(abs "$1")
UNIT=${2:+$(abs "$2")}
FILTER=${3:-}
if [ ! -x "$STAU" ]; then
    echo "tests/run.sh: '$1' is not an executable stau" >&2
    exit 2
fi
# python3 may be a slow shim (pyenv): ask it once for the real interpreter.
PY=$(python3 -c 'import sys; print(sys.executable)') || {
    echo "tests/run.sh: python3 does not start" >&2
    exit 2
}

TOP=$(mktemp -d "${TMPDIR:-/tmp}/stau-tests.XXXXXX")
PG_DIR= # the private PostgreSQL server's folder, once made
PG_BIN=
FUZZ_SCRATCH= # a fuzz harness's scratch folder in /dev/shm, while one runs
cleanup() {
    stop_pg
    [ -n "$FUZZ_SCRATCH" ] && rm -rf "$FUZZ_SCRATCH"
    chmod -R u+rwx "$TOP" 2>/dev/null
    rm -rf "$TOP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# PostgreSQL refuses to run as root: then its files and processes are postgres's.
# From / because it complains about a working directory it cannot enter.
pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Start the private server and export STAU_TEST_PG; or set PG_WHY (and
# PG_LOG, a log worth showing) and return 1. Cleanup removes what it made.
PG_WHY=
PG_LOG=
start_pg() {
    local user port i
    # The newest major version (sort -V: 9.6 < 15 < 16); PATH may have none.
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        PG_WHY="no initdb and pg_ctl under /usr/lib/postgresql/*/bin"
        return 1
    fi
    # Not under $TOP, which is root's 0700 where postgres cannot reach. A short
    # path: a unix socket's must stay under 108 bytes.
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/stau-pg.XXXXXX") || {
        PG_DIR=
        PG_WHY="mktemp failed"
        return 1
    }
    if [ "$(id -u)" -eq 0 ]; then
        user=postgres
        if ! chown postgres: "$PG_DIR" 2>/dev/null || ! pg_as test -w "$PG_DIR"; then
            PG_WHY="the postgres user cannot write to $PG_DIR"
            return 1
        fi
    else
        user=$(id -un)
    fi
    # The data never outlives the run: no fsync anywhere.
    if ! pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" --no-sync --auth=trust --username="$user" \
        --encoding=UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1; then
        PG_WHY="initdb failed"
        PG_LOG=$PG_DIR/initdb.log
        return 1
    fi
    # Settings go in the file, not on pg_ctl's -o line, which a shell splits
    # again (a TMPDIR with a space). ~100 concurrent connections, plus room.
    printf '%s\n' "" "# tests/run.sh: a throwaway server for the tests." \
        "listen_addresses = '127.0.0.1'" "unix_socket_directories = '$PG_DIR'" \
        "max_connections = 150" "fsync = off" "synchronous_commit = off" \
        "full_page_writes = off" | pg_as tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
    # Runs starting at once may both find a port free: the loser takes the next.
    # SO_REUSEADDR as postgres binds: a port with only the last run's TIME_WAIT
    # connections is free to it.
    port=54319
    for i in 1 2 3 4 5; do
        port=$("$PY" -c 'import socket, sys
for p in range(int(sys.argv[1]), 54520):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
    print(p)
    break' $((port + 1)))
        if [ -z "$port" ]; then
            PG_WHY="no free port in 54320-54519"
            return 1
        fi
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -o "-p $port" \
            -w -t 30 -s start >"$PG_DIR/pg_ctl.log" 2>&1 && break
        PG_LOG=$PG_DIR/server.log
        if [ "$i" -eq 5 ] || ! grep -q 'could not bind' "$PG_DIR/server.log" 2>/dev/null; then
            PG_WHY="the server did not start on port $port"
            return 1
        fi
    done
    # pg_ctl -w waited for the unix socket; the tests use TCP.
    for i in $(seq 50); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres && break
        if [ "$i" -eq 50 ]; then
            PG_WHY="the server does not accept connections on 127.0.0.1:$port after 5 s"
            PG_LOG=$PG_DIR/server.log
            return 1
        fi
        sleep 0.1
    done
    export STAU_TEST_PG="postgresql://$user@127.0.0.1:$port/postgres"
}

# Stop the server, if one runs, and remove its folder. The INT trap and then the
# EXIT trap both call this: the second call finds nothing to do.
stop_pg() {
    [ -n "$PG_DIR" ] || return 0
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 -s stop >/dev/null 2>&1
    fi
    rm -rf "$PG_DIR"
    PG_DIR=
}

passed=0
failed=0
started=$(date +%s)

# A server the caller gave wins; without one, say so once and go on.
if [ -z "${STAU_TEST_PG:-}" ] && ! start_pg; then
    unset STAU_TEST_PG
    echo "tests/run.sh: no PostgreSQL test server: $PG_WHY; tests that need it will fail"
    [ -n "$PG_LOG" ] && [ -f "$PG_LOG" ] && tail -n 5 "$PG_LOG" | sed 's/^/    /'
    stop_pg
fi

# Indent a log under a failing test's name.
show() { sed 's/^/    /' "$1"; }

if [ -n "$UNIT" ] && [ -z "$FILTER" ]; then
    (cd "$ROOT" && timeout 300 "$UNIT") >"$TOP/unit.log" 2>&1
    rc=$?
    line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' "$TOP/unit.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL unit tests: no 'unit: N passed, M failed' line (exit status $rc)"
        show "$TOP/unit.log"
        failed=$((failed + 1))
    else
        read -r _ up _ uf _ <<<"$line"
        passed=$((passed + up))
        failed=$((failed + uf))
        if [ "$uf" -ne 0 ] || [ "$rc" -ne 0 ]; then
            echo "FAIL unit tests ($line, exit status $rc)"
            show "$TOP/unit.log"
            [ "$uf" -eq 0 ] && failed=$((failed + 1))
        fi
    fi
fi

export STAU ROOT PY
TEST_TIMEOUT=${STAU_TEST_TIMEOUT:-120}
for file in "$TESTS_DIR"/e2e/t_*.sh; do
    base=$(basename "$file")
    for t in $(sed -nE 's/^(test_[A-Za-z0-9_]+)[[:space:]]*\(\).*/\1/p' "$file"); do
        [ -n "$FILTER" ] && ! [[ "$base:$t" =~ $FILTER ]] && continue
        dir=$TOP/${base%.sh}.$t
        mkdir -p "$dir/tmp"
        # A test gets 120 s (STAU_TEST_TIMEOUT); timeout kills its whole process group.
        TEST_TMP=$dir/tmp TEST_NAME="$base:$t" timeout -k 5 "$TEST_TIMEOUT" \
            bash -c 'set -u -o pipefail
                     source "$1/e2e/lib.sh"; source "$2"
                     cd "$TEST_TMP" || exit 99
                     "$3"
                     test_finish' _ "$TESTS_DIR" "$file" "$t" </dev/null >"$dir/log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            case $rc in
            124 | 137) echo "FAIL $base:$t (timed out after $TEST_TIMEOUT s)" ;;
            *) echo "FAIL $base:$t" ;;
            esac
            show "$dir/log"
        fi
        chmod -R u+rwx "$dir" 2>/dev/null
        rm -rf "$dir"
    done
done

# The fuzz harnesses (tests/fuzz), built beside the binaries under -Dsanitize=true:
# two tests each, `fuzz:NAME:replay` (every input of tests/fuzz/corpus/NAME and of
# the seeds made from the fixtures once)
# and `fuzz:NAME:run` (the corpus, then STAU_FUZZ_SECONDS, default 30, of mutated
# inputs). An input that crashes is printed in the failure's log and kept in
# zig-out/fuzz-artifacts/ (STAU_FUZZ_ARTIFACTS).
FUZZ_SECONDS=${STAU_FUZZ_SECONDS:-30}
FUZZ_BIN=$(dirname "${UNIT:-$STAU}")
FUZZ_ARTIFACTS=${STAU_FUZZ_ARTIFACTS:-$ROOT/zig-out/fuzz-artifacts}
fuzz_built=0
ls "$FUZZ_BIN"/stau-fuzz-* >/dev/null 2>&1 && fuzz_built=1
# The seeds made from the fixtures (tests/fuzz/make_corpus.sh), made once when a fuzz
# test is to run; each harness reads them beside its committed corpus.
FUZZ_GEN=$TOP/fuzz-corpus
fuzz_wanted=0
for harness in "$TESTS_DIR"/fuzz/fuzz_*.c; do
    name=$(basename "$harness" .c)
    name=${name#fuzz_}
    [ "$name" = common ] && continue
    for kind in replay run; do
        [ -z "$FILTER" ] || [[ "fuzz:$name:$kind" =~ $FILTER ]] && fuzz_wanted=1
    done
done
if [ "$fuzz_built" -eq 1 ] && [ "$fuzz_wanted" -eq 1 ]; then
    if bash "$TESTS_DIR/fuzz/make_corpus.sh" "$STAU" "$FUZZ_GEN" >"$TOP/fuzz-corpus.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL fuzz:corpus: tests/fuzz/make_corpus.sh could not make the seeds"
        tail -n 30 "$TOP/fuzz-corpus.log" | sed 's/^/    /'
    fi
fi
for harness in "$TESTS_DIR"/fuzz/fuzz_*.c; do
    name=$(basename "$harness" .c)
    name=${name#fuzz_}
    [ "$name" = common ] && continue
    for kind in replay run; do
        [ -n "$FILTER" ] && ! [[ "fuzz:$name:$kind" =~ $FILTER ]] && continue
        bin=$FUZZ_BIN/stau-fuzz-$name
        if [ "$fuzz_built" -eq 0 ]; then
            echo "tests/run.sh: no fuzz harnesses in $FUZZ_BIN" \
                "(they are built with -Dsanitize=true); fuzz tests not run"
            fuzz_built=-1
        fi
        [ "$fuzz_built" -eq -1 ] && continue
        if [ ! -x "$bin" ]; then
            failed=$((failed + 1))
            echo "FAIL fuzz:$name:$kind: $bin was not built"
            continue
        fi
        dir=$TOP/fuzz.$name.$kind
        mkdir -p "$dir" "$FUZZ_ARTIFACTS"
        # The harnesses write a file or two per input: in memory where there is a
        # tmpfs (on ext4, replacing a file flushes it, 10 times slower).
        scratch=$dir/tmp
        if [ -d /dev/shm ] && [ -w /dev/shm ]; then
            scratch=$(mktemp -d /dev/shm/stau-fuzz.XXXXXX) || scratch=$dir/tmp
        fi
        mkdir -p "$scratch"
        FUZZ_SCRATCH=$scratch
        args=(-artifact_prefix="$FUZZ_ARTIFACTS/$name-")
        [ -f "$TESTS_DIR/fuzz/$name.dict" ] && args+=(-dict="$TESTS_DIR/fuzz/$name.dict")
        [ "$kind" = run ] && args+=(-max_total_time="$FUZZ_SECONDS")
        corpora=()
        for c in "$TESTS_DIR/fuzz/corpus/$name" "$FUZZ_GEN/$name"; do
            [ -d "$c" ] && corpora+=("$c")
        done
        (cd "$dir" && TMPDIR=$scratch timeout -k 5 $((FUZZ_SECONDS + 120)) "$bin" "${args[@]}" \
            "${corpora[@]}") </dev/null >"$dir/log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "FAIL fuzz:$name:$kind (exit status $rc; rerun: tests/fuzz/make_corpus.sh STAU_BIN, then $bin ${args[*]} tests/fuzz/corpus/$name zig-out/fuzz-corpus/$name)"
            tail -n 60 "$dir/log" | sed 's/^/    /'
        fi
        rm -rf "$dir" "$scratch"
        FUZZ_SCRATCH=
    done
done

elapsed=$(($(date +%s) - started))
[ "$failed" -ne 0 ] && echo "(${elapsed}s; rerun one test with: tests/run.sh STAU '' 'NAME')"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
