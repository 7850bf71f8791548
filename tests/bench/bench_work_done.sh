#!/usr/bin/env bash
# stau work_done benchmark: the last success per job and work ID, read in bulk
# (store_work_done_many) against one job at a time (store_work_done).
#
#   tests/bench/bench_work_done.sh [DRIVER] [--jobs N] [--ids N] [--chunk N]
#                                  [--repeat N] [--only sqlite,postgres] [--keep]
#
# DRIVER is stau-bench-work-done (tests/bench/bench_work_done.c; default: $STAU_BENCH_WORK_DONE,
# else zig-out/bin/stau-bench-work-done; build a ReleaseFast one: python3 -m ziglang
# build -Doptimize=ReleaseFast -p P). On each backend it records a history of --jobs
# (4,000) chunked jobs that succeeded for work IDs 1..--ids (1,000) in chunks of
# --chunk (100) IDs, through stau's own calls (so the database's triggers fill
# work_done), then times --repeat (3) times each: one store_work_done_many of every
# job's IDs, and a store_work_done per job; it prints the driver's lines (ms, round
# trips, IDs asked and found) and a summary.
#
# SQLite: a new file in a temporary folder. PostgreSQL: STAU_BENCH_PG (a libpq URI)
# names a server to use, in a schema bench_work_done_<random> dropped at the end;
# without it, a private server (the newest /usr/lib/postgresql/*/bin, initdb into a
# temporary folder, trust auth, 127.0.0.1 on the first free port from 55500 up, as the
# postgres user when we are root, PostgreSQL's default durability) runs for the
# benchmark and is removed at the end, also on Ctrl-C. --keep keeps the folder.
#
# Takes about 4 minutes here in full, most of it recording the PostgreSQL history
# (40,000 runs); no test runs this.
set -euo pipefail

usage() { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'bench_work_done: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench_work_done: %s\n' "$*" >&2; }

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DRIVER= ONLY=sqlite,postgres KEEP=0 ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
    --jobs | --ids | --chunk | --repeat)
        [[ ${2:-} =~ ^[0-9]+$ ]] || die "$1 needs a number"
        ARGS+=("$1" "$2"); shift 2 ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    -*) echo "bench_work_done: unknown option $1" >&2; usage ;;
    *) [ -z "$DRIVER" ] || usage; DRIVER=$1; shift ;;
    esac
done
for part in ${ONLY//,/ }; do
    case $part in sqlite | postgres) ;; *) usage ;; esac
done
: "${DRIVER:=${STAU_BENCH_WORK_DONE:-$ROOT/zig-out/bin/stau-bench-work-done}}"
[ -x "$DRIVER" ] || die "no driver at $DRIVER (zig build installs stau-bench-work-done; or pass its path)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stau-bench-work-done.XXXXXX")
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not start"
SCHEMA=bench_work_done_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
# pg_as, start_pg, stop_pg: the private server (shared with bench_pg.sh).
. "$HERE/pg_server.sh"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$PG_DIR" ]; then
        stop_pg
    elif [ -n "$PG_URI" ]; then
        psql -X -q -d "$PG_URI" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $SCHEMA CASCADE" \
            >/dev/null 2>&1 || true
    fi
    if [ "$KEEP" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$TMP/results"
if [[ ,$ONLY, == *,sqlite,* ]]; then
    say "SQLite: $TMP/state.db"
    "$DRIVER" --db "$TMP/state.db" "${ARGS[@]}" | tee -a "$TMP/results"
fi
if [[ ,$ONLY, == *,postgres,* ]]; then
    if [ -n "${STAU_BENCH_PG:-}" ]; then
        PG_URI=$STAU_BENCH_PG
        say "PostgreSQL: the server STAU_BENCH_PG names, schema $SCHEMA"
    else
        start_pg
    fi
    "$DRIVER" --db "$PG_URI" --schema "$SCHEMA" "${ARGS[@]}" | tee -a "$TMP/results"
fi

# The summary: per backend, the medians and how many times faster the bulk read is.
awk '
    / median_ms=/ {
        split($1, b, "="); split($2, r, "="); split($3, m, "=")
        ms[b[2] " " r[2]] = m[2]; seen[b[2]] = 1
    }
    / read=/ && / round_trips=/ { split($1, b, "="); split($2, r, "="); split($4, t, "=")
        trips[b[2] " " r[2]] = t[2] }
    END {
        for (k in seen)
            printf "summary: %s many %.1f ms (%s round trips), one at a time %.1f ms (%s round trips): %.1fx\n",
                k, ms[k " many"], trips[k " many"], ms[k " one"], trips[k " one"],
                (ms[k " many"] > 0 ? ms[k " one"] / ms[k " many"] : 0)
    }' "$TMP/results"
