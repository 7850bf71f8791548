#!/usr/bin/env bash
# stau PostgreSQL benchmark: the state database on a server against SQLite.
#
#   tests/bench/bench_pg.sh [STAU_BIN] [--quick] [--only PARTS] [--claim-seconds T]
#                           [--claim-rounds N] [--procs N] [--batch K] [--plan-jobs N]
#                           [--plan-rows N] [--plan-runs N] [--pairs N] [--keep]
#
# Measures the goals of the PostgreSQL issue, each backend in the same run:
#
#   claim    claim throughput: --procs (4) processes of stau-bench-claim
#            (tests/bench/bench_claim.c: store_claim, then store_apply of a start
#            and an end per run, the engine's calls for a trivial job, no process
#            started) against one database for --claim-seconds (5; --quick 2),
#            median of --claim-rounds (3; --quick 1) rounds, the order of the
#            backends reversed every other round; each measurement on a fresh
#            database (SQLite: a new file; PostgreSQL: a new schema). Unbatched
#            (one claim, one start, one end: three transactions a run) and batched
#            (--batch K = 64 claims in one store_claim, as a one-off stau claims all
#            it found due, and their 2K starts and ends in one store_apply, as the
#            recorder writes what arrived within its 0.1 s window, up to 256). SQLite
#            as stau opens it (WAL, synchronous=NORMAL: a power cut may lose the
#            last commits); PostgreSQL twice: with the server's synchronous_commit
#            (default on: every commit waits for its WAL flush) and with
#            synchronous_commit=off set for the benchmark's connections (the same
#            promise as SQLite's NORMAL). Goal >= 2,000 runs/s on PostgreSQL. Then a
#            profile of the unbatched case: requests to the server per run (stau's
#            round_trips), the time of one request alone, one process alone against
#            four, what the server's backends were doing (pg_stat_activity sampled
#            every 5 ms), and where the server's time went (pg_stat_statements, when
#            the server has it).
#   plan     a full plan of --plan-jobs (4,000) jobs (gen_project.py: ~150-line
#            files, dependencies, schedules, chunked jobs) with a year-like history
#            of >= --plan-rows (1,000,000) runs: the project is run once by stau on
#            SQLite with a stand-in interpreter (gen_history.py prepare: every job
#            exits 0 at once, declared inputs and outputs exist, chunked jobs get 25
#            work IDs), so the rows are stau's own, and `stau db copy` puts the same
#            rows on the server; then every row is copied into older copies inside
#            each database (gen_history.py multiply-sqlite with python's sqlite3,
#            multiply-pg through psql) until the history has --plan-rows rows over
#            365 days. One project folder serves both (STAU_DB names the server), so
#            both plans see the same files and find the same jobs due. Timed: `stau
#            -n` (a full plan: every job's past is read) just after appending a
#            statement to one job file, alternating the backends, median of
#            --plan-runs (5; --quick 3), after one untimed warm-up each. Goal:
#            PostgreSQL <= 2x SQLite. For information, the first run of every job on
#            each backend is timed too (PostgreSQL's on a copy of the project).
#   latency  cross-host upstream-to-downstream latency: two `stau serve -j 1` on the
#            same project and schema, each in a UTS namespace of its own with its
#            own host name (`unshare -u`, as root; else `unshare -r -u`), so each
#            judges the other by its lease, as copies on two machines do. Jobs:
#            a_up on "@every 1s" and two dependents b_down and c_down (0.3 s each):
#            the copy that ran a_up has one slot, so one dependent goes to the
#            other copy. Per dependent run: started_at minus its upstream run's
#            finished_at (stau history --json), over the pairs whose hosts differ,
#            until --pairs (60; --quick 20) of them; p50 and p99 (nearest rank), goal
#            p99 <= 1 s. Same-host pairs are shown for information.
#
# The server: STAU_BENCH_PG (a libpq URI) names one to use, in schemas
# bench_pg_<random>_* dropped at the end; its settings are left alone (only the
# benchmark's connections set synchronous_commit=off, through the URI's options).
# Without it, a private server (the newest /usr/lib/postgresql/*/bin, as
# tests/run.sh starts one: initdb into a temp folder, trust auth, 127.0.0.1 on a
# free port from 55500 up, as the postgres user when we are root) runs for the
# benchmark with PostgreSQL's default durability (fsync, synchronous_commit and
# full_page_writes on), and pg_stat_statements preloaded; it is stopped and removed
# at the end, also on Ctrl-C.
#
# Options:
#   STAU_BIN        the stau to measure; default $STAU, else zig-out/bin/stau (build a
#                   ReleaseFast one: python3 -m ziglang build -Doptimize=ReleaseFast -p P)
#   STAU_BENCH_CLAIM  the claim driver; default stau-bench-claim beside STAU_BIN
#   --only PARTS    comma-separated parts (claim,plan,latency)
#   --keep          keep the temporary directory (and the private server's log)
#
# A missed goal is reported as MISSED (with the factor it is missed by) and does not
# fail the script; it fails (exit 1) when stau or the driver fails, a run does not
# succeed, or a part waits longer than its budget. No test ever runs this.
#
# Takes about 12 minutes in full here (claim 4, plan 6, latency 1.5), about 6 with
# --quick; the plan part's history needs ~2.5 GB of disk.
set -euo pipefail

usage() { sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'bench_pg: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench_pg: %s\n' "$*" >&2; }

ONLY=claim,plan,latency KEEP=0 STAU_BIN= QUICK=0
CLAIM_SECONDS= CLAIM_ROUNDS= PROCS=4 BATCH=64 PLAN_JOBS=4000 PLAN_ROWS=1000000 PLAN_RUNS= PAIRS=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1; shift ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --only=*) ONLY=${1#*=}; shift ;;
    --claim-seconds) CLAIM_SECONDS=${2:?}; shift 2 ;;
    --claim-rounds) CLAIM_ROUNDS=${2:?}; shift 2 ;;
    --procs) PROCS=${2:?}; shift 2 ;;
    --batch) BATCH=${2:?}; shift 2 ;;
    --plan-jobs) PLAN_JOBS=${2:?}; shift 2 ;;
    --plan-rows) PLAN_ROWS=${2:?}; shift 2 ;;
    --plan-runs) PLAN_RUNS=${2:?}; shift 2 ;;
    --pairs) PAIRS=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    -*) echo "bench_pg: unknown option $1" >&2; usage ;;
    *) [ -z "$STAU_BIN" ] || usage; STAU_BIN=$1; shift ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    : "${CLAIM_SECONDS:=2}" "${CLAIM_ROUNDS:=1}" "${PLAN_RUNS:=3}" "${PAIRS:=20}"
fi
: "${CLAIM_SECONDS:=5}" "${CLAIM_ROUNDS:=3}" "${PLAN_RUNS:=5}" "${PAIRS:=60}"
for part in ${ONLY//,/ }; do
    case $part in claim | plan | latency) ;; *) usage ;; esac
done
for n in "$CLAIM_ROUNDS" "$PROCS" "$BATCH" "$PLAN_JOBS" "$PLAN_ROWS" "$PLAN_RUNS" "$PAIRS"; do
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "not a positive number: $n"
done
[[ $CLAIM_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "not a number of seconds: $CLAIM_SECONDS"
[ "$BATCH" -le 128 ] || die "--batch is at most 128 (2K changes in one store_apply, the recorder's 256)"

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not start"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/stau-bench

: "${STAU_BIN:=${STAU:-$ROOT/zig-out/bin/stau}}"
if [[ $STAU_BIN != */* ]]; then
    STAU_BIN=$(type -P "$STAU_BIN") || die "no such command: $STAU_BIN"
fi
[ -x "$STAU_BIN" ] || die "not an executable: $STAU_BIN (build one, or pass STAU_BIN / \$STAU)"
STAU_BIN=$(cd "$(dirname "$STAU_BIN")" && pwd)/$(basename "$STAU_BIN")
STAU_REAL=$(readlink -f "$STAU_BIN")
CLAIM_BIN=${STAU_BENCH_CLAIM:-$(dirname "$STAU_BIN")/stau-bench-claim}
if [[ ,$ONLY, == *,claim,* ]]; then
    [ -x "$CLAIM_BIN" ] || die "no claim driver at $CLAIM_BIN (zig build installs stau-bench-claim beside stau; or set STAU_BENCH_CLAIM)"
fi
command -v psql >/dev/null || die "psql is needed (apt-get install postgresql-client)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stau-bench-pg.XXXXXX")
DRIVER=
SCHEMA_PREFIX=bench_pg_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')

# pg_as, start_pg, stop_pg: the private server (shared with bench_work_done.sh).
. "$HERE/pg_server.sh"

# Stop what is left: the driver, every stau serve it started (pids in $TMP/pids,
# only a live process running $STAU_BIN is signalled), the server, the schemas.
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    if [ -n "$DRIVER" ] && kill -0 "$DRIVER" 2>/dev/null; then
        kill -TERM "$DRIVER" 2>/dev/null || true
        wait "$DRIVER" 2>/dev/null || true
    fi
    if [ -f "$TMP/pids" ]; then
        while read -r pid; do
            [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$STAU_REAL" ] || continue
            kill -KILL "$pid" 2>/dev/null || true
        done <"$TMP/pids"
    fi
    if [ -n "${STAU_BENCH_PG:-}" ] && [ -n "$PG_URI" ]; then
        psql -X -q -At -d "$PG_URI" -c "SELECT nspname FROM pg_namespace WHERE nspname LIKE '${SCHEMA_PREFIX}%'" 2>/dev/null |
            while read -r s; do
                psql -X -q -d "$PG_URI" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS \"$s\" CASCADE" >/dev/null 2>&1 || true
            done
    fi
    stop_pg
    if [ "$KEEP" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${STAU_BENCH_PG:-}" ]; then
    PG_URI=$STAU_BENCH_PG
    psql -X -q -At -d "$PG_URI" -c 'SELECT 1' >/dev/null || die "cannot reach STAU_BENCH_PG"
    say "using the server STAU_BENCH_PG names, schemas ${SCHEMA_PREFIX}_*"
else
    start_pg
    psql -X -q -d "$PG_URI" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null 2>&1 || true
fi

# The jobs' interpreter for the latency part: a bare venv of $PY, made once (as
# bench_run.sh and bench_serve.sh keep it).
PY_TAG=$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
JOBS_VENV=$CACHE/jobs-venv-$PY_TAG
if [[ ,$ONLY, == *,latency,* ]]; then
    mkdir -p "$CACHE"
    if ! [ -x "$JOBS_VENV/bin/python" ] ||
        [ "$("$JOBS_VENV/bin/python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" != \
          "$("$PY" -c 'import sys; print(sys.base_prefix)')" ]; then
        say "making the jobs' venv $JOBS_VENV"
        rm -rf "$JOBS_VENV"
        "$PY" -m venv --without-pip "$JOBS_VENV" || die "python -m venv failed"
    fi
fi

"$PY" - "$STAU_BIN" "$CLAIM_BIN" "$TMP" "$HERE" "$JOBS_VENV" "$PG_URI" "$SCHEMA_PREFIX" "$ONLY" \
    "$CLAIM_SECONDS" "$CLAIM_ROUNDS" "$PROCS" "$BATCH" "$PLAN_JOBS" "$PLAN_ROWS" "$PLAN_RUNS" \
    "$PAIRS" <<'PYEOF' &
import json, math, os, re, shutil, signal, statistics, subprocess, sys, time

(stau, claim_bin, tmp, here, venv, pg_uri, prefix, only, claim_seconds, claim_rounds, procs,
 batch, plan_jobs, plan_rows, plan_runs, pairs) = sys.argv[1:17]
claim_seconds = float(claim_seconds)
claim_rounds, procs, batch = int(claim_rounds), int(procs), int(batch)
plan_jobs, plan_rows, plan_runs, pairs = int(plan_jobs), int(plan_rows), int(plan_runs), int(pairs)
parts = only.split(",")
errors, notes = [], []
GOAL_RATE = 2000


def log(msg):
    print(f"bench_pg: {msg}", file=sys.stderr, flush=True)


def out(line=""):
    print(line, flush=True)


class Failed(Exception):
    pass


def on_term(signum, frame):
    raise SystemExit(143)


signal.signal(signal.SIGTERM, on_term)


def with_option(uri, option):
    """The connection string with a server option (-c name=value) for its sessions."""
    if "://" in uri:
        return uri + ("&" if "?" in uri else "?") + "options=" + option.replace(" ", "%20").replace("=", "%3D")
    return f"{uri} options='{option}'"


def psql(sql, schema=None, check=True, timeout=3600):
    env = dict(os.environ)
    if schema:
        env["PGOPTIONS"] = f"-c search_path={schema},public"
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", pg_uri, "-f", "-"],
                       input=sql, capture_output=True, text=True, env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise Failed(f"psql failed: {p.stderr.strip()[-400:]}")
    return p.stdout


def drop_schema(schema):
    psql(f'SET client_min_messages = warning; DROP SCHEMA IF EXISTS "{schema}" CASCADE;')


def setting(name):
    return psql(f"SHOW {name};").strip()


HAS_PGSS = psql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements';",
                check=False).strip() == "1"


def pgss_reset():
    global HAS_PGSS
    if HAS_PGSS and psql("SELECT pg_stat_statements_reset();", check=False) == "":
        HAS_PGSS = False  # not allowed to (a server given by STAU_BENCH_PG)


def pgss_top(n, like=None):
    """[(calls, total ms, mean ms, query)] of the statements of stau's sessions so far."""
    if not HAS_PGSS:
        return []
    # stau's statements only: not this script's own (psql, the sampler)
    where = ("WHERE query NOT LIKE '%pg_stat_%' AND query NOT LIKE 'SHOW %'"
             " AND query NOT LIKE '%pg_sleep%' AND query NOT LIKE '%samples%'"
             " AND query NOT LIKE '%current_setting%' AND query NOT LIKE '%pg_extension%'")
    rows = psql("SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3),"
                " regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements " + where +
                f" ORDER BY total_exec_time DESC LIMIT {n};")
    got = []
    for line in rows.splitlines():
        calls, total, mean, query = line.split("|", 3)
        got.append((int(calls), float(total), float(mean), query))
    return got


def short(query, width=70):
    q = query.strip()
    return q if len(q) <= width else q[:width - 3] + "..."


def verdict(ok):
    return "ok" if ok else "MISSED"


def p_rank(xs, q):
    s = sorted(xs)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def run(argv, env=None, cwd=None, budget=3600):
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=budget)
    if p.returncode != 0:
        raise Failed(f"{' '.join(argv[:4])} ... exited {p.returncode}: {p.stderr.strip()[-500:]}")
    return p


# ---------------------------------------------------------------- claim
def claim_once(backend, k, seconds, nprocs=None, track_all=False):
    nprocs = nprocs or procs
    if backend == "sqlite":
        os.makedirs(os.path.join(tmp, "claim"), exist_ok=True)
        db, schema = os.path.join(tmp, "claim", "state.db"), None
    else:
        opts = (["-c synchronous_commit=off"] if backend == "pg-off" else []) + \
            (["-c pg_stat_statements.track=all"] if track_all and HAS_PGSS else [])
        db = with_option(pg_uri, " ".join(opts)) if opts else pg_uri
        schema = f"{prefix}_claim"
    argv = [claim_bin, "--db", db, "--procs", str(nprocs), "--seconds", str(seconds), "--batch",
            str(k), "--fresh"]
    if schema:
        argv += ["--schema", schema]
    p = run(argv, budget=seconds * 20 + 120)
    res = {}
    for kv in p.stdout.split():
        key, _, value = kv.partition("=")
        res[key] = value
    for key in ("runs", "verified"):
        res[key] = int(res[key])
    for key in ("seconds", "runs_per_s", "round_trips_per_run", "claim_ms", "start_ms", "finish_ms",
                "apply_ms", "ping_ms"):
        res[key] = float(res[key])
    if res["verified"] != res["runs"]:
        errors.append(f"claim {backend} batch {k}: {res['runs']} runs, {res['verified']} recorded succeeded")
    return res


SAMPLER = """
CREATE TEMP TABLE samples (what text);
DO $$
DECLARE t0 timestamptz;
BEGIN
  PERFORM pg_sleep(0.3);  -- the processes open their handles first
  t0 := clock_timestamp();
  WHILE clock_timestamp() < t0 + interval '%(seconds)s seconds' LOOP
    INSERT INTO samples SELECT state || '/' || coalesce(wait_event_type || ':' || wait_event, 'on CPU')
      FROM pg_stat_activity WHERE application_name = 'stau' AND backend_type = 'client backend'
      AND pid <> pg_backend_pid() AND state IS NOT NULL;
    PERFORM pg_stat_clear_snapshot();
    PERFORM pg_sleep(0.005);
  END LOOP;
END $$;
SELECT what, count(*) FROM samples GROUP BY what ORDER BY 2 DESC;
"""


def part_claim():
    configs = [("sqlite", 1), ("pg-on", 1), ("pg-off", 1), ("sqlite", batch), ("pg-on", batch),
               ("pg-off", batch)]
    sync = setting("synchronous_commit")
    log(f"claim: {procs} processes, {claim_seconds:g} s each, {claim_rounds} rounds, "
        f"{len(configs)} configurations (server synchronous_commit={sync})")
    res = {c: [] for c in configs}
    for rnd in range(claim_rounds):
        order = configs if rnd % 2 == 0 else configs[::-1]
        for backend, k in order:
            res[(backend, k)].append(claim_once(backend, k, claim_seconds))
    med = {c: statistics.median(r["runs_per_s"] for r in rs) for c, rs in res.items()}
    names = {"sqlite": "SQLite (WAL, synchronous=NORMAL)",
             "pg-on": f"PostgreSQL, synchronous_commit={sync}",
             "pg-off": "PostgreSQL, synchronous_commit=off"}
    out("")
    out(f"claim throughput: {procs} processes, each its own store handle, trivial runs (claim, "
        f"start, end; no process started), {claim_seconds:g} s each, median of {claim_rounds}")
    for k, title in ((1, "unbatched: 1 claim, then 1 start and 1 end (3 transactions a run)"),
                     (batch, f"batched: {batch} claims in one store_claim, their {2 * batch} starts "
                             f"and ends in one store_apply")):
        out(f"  {title}")
        base = med[("sqlite", k)]
        for backend in ("sqlite", "pg-on", "pg-off"):
            rate = med[(backend, k)]
            last = res[(backend, k)][-1]
            extra = ""
            if backend != "sqlite":
                extra = (f"  {rate / base:5.2f}x SQLite  (goal >= {GOAL_RATE:,} runs/s)  "
                         + ("ok" if rate >= GOAL_RATE else f"MISSED by {GOAL_RATE / rate:.1f}x"))
            rounds = ", ".join(f"{r['runs_per_s']:.0f}" for r in res[(backend, k)])
            out(f"    {names[backend]:<40} {rate:7.0f} runs/s{extra}")
            out(f"      rounds {rounds}; runs per process {last['per_proc']}; "
                f"{last['round_trips_per_run']:.2f} requests a run")
    for k in (1, batch):
        sq = res[("sqlite", k)][-1]["per_proc"].split("/")
        if len(sq) > 1 and min(int(x) for x in sq) * 10 < max(int(x) for x in sq):
            notes.append(f"claim: SQLite, batch {k}, runs per process {'/'.join(sq)}: its write lock "
                         "is not fair (a waiting writer sleeps in the busy handler while another "
                         "takes the lock again)")

    # profile: unbatched, synchronous_commit=off (the cheaper case) and =on
    out("")
    out("  profile of the unbatched case on PostgreSQL:")
    alone = claim_once("pg-off", 1, claim_seconds, nprocs=1)
    alone_on = claim_once("pg-on", 1, claim_seconds, nprocs=1)
    rt = alone["round_trips_per_run"]
    out(f"    requests a run: {rt:.0f} (claim: BEGIN + write lock, read the job's and upstreams' "
        f"active runs, read its version, insert, COMMIT = 5; start and end: BEGIN + lock, UPDATE, "
        f"COMMIT = 3 each); one request alone (store_generation): {alone['ping_ms']:.3f} ms, so "
        f"{rt * alone['ping_ms']:.2f} ms of a run is waiting for replies")
    out(f"    1 process alone, synchronous_commit=off: {alone['runs_per_s']:.0f} runs/s; a claim "
        f"{alone['claim_ms']:.2f} ms, a start {alone['start_ms']:.2f} ms, an end "
        f"{alone['finish_ms']:.2f} ms")
    out(f"    1 process alone, synchronous_commit={sync}: {alone_on['runs_per_s']:.0f} runs/s; a claim "
        f"{alone_on['claim_ms']:.2f} ms, a start {alone_on['start_ms']:.2f} ms, an end "
        f"{alone_on['finish_ms']:.2f} ms (3 commits a run, each waiting for its WAL flush)")
    # four processes, with the backends sampled and the statements counted
    pgss_reset()
    env = dict(os.environ)
    sampler = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", pg_uri, "-f", "-"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    sampler.stdin.write(SAMPLER % {"seconds": max(0.5, claim_seconds - 0.6)})
    sampler.stdin.close()
    four = claim_once("pg-off", 1, claim_seconds, track_all=True)
    s_out = sampler.stdout.read()
    sampler.wait()
    out(f"    {procs} processes, synchronous_commit=off, instrumented (slower than above): "
        f"{four['runs_per_s']:.0f} runs/s; a claim "
        f"{four['claim_ms']:.2f} ms, a start {four['start_ms']:.2f} ms, an end "
        f"{four['finish_ms']:.2f} ms: every write transaction holds the schema's write lock "
        f"(pg_advisory_xact_lock) from its first request to COMMIT, so runs are recorded one "
        f"transaction at a time")
    samples = []
    for line in s_out.splitlines():
        what, _, n = line.rpartition("|")
        if what:
            samples.append((what, int(n)))
    total = sum(n for _, n in samples)
    if total:
        shown = ", ".join(f"{w} {n * 100 / total:.0f}%" for w, n in samples[:6])
        out(f"    the {procs} backends (pg_stat_activity every 5 ms, {total} samples): {shown}")
        out("      ('idle in transaction/Client:ClientRead': holding the lock, waiting for the "
            "client's next request; 'active/Lock:advisory': waiting for the lock)")
    top = pgss_top(8)
    if top:
        runs = four["runs"]
        out(f"    server time per run, by statement (pg_stat_statements, {runs} runs; the "
            f"triggers' statements also on their own: their time is in the statement that fired them):")
        for calls, total_ms, mean, query in top:
            out(f"      {total_ms / runs * 1000:7.1f} us/run  {calls / runs:4.1f} calls/run  "
                f"{mean * 1000:6.1f} us each  {short(query)}")
    drop_schema(f"{prefix}_claim")


# ---------------------------------------------------------------- plan
def part_plan():
    log(f"plan: {plan_jobs} jobs, history of >= {plan_rows:,} runs on each backend")
    d = os.path.join(tmp, "plan")
    run([sys.executable, os.path.join(here, "gen_project.py"), d, "--jobs", str(plan_jobs),
         "--no-verify"])
    clean = {k: v for k, v in os.environ.items() if k not in ("STAU_DB", "STAU_DB_SCHEMA")}
    run([sys.executable, os.path.join(here, "gen_history.py"), "prepare", d, stau], env=clean)
    schema = f"{prefix}_plan"
    # One project, two state databases: the same files, graph cache and stat data for
    # both; SQLite is the project's own .stau/state.db, PostgreSQL is named by STAU_DB.
    envs = {"sqlite": clean, "pg": dict(clean, STAU_DB=pg_uri, STAU_DB_SCHEMA=schema)}
    drop_schema(schema)
    # For information: the first run of every job, on each backend (PostgreSQL's on a
    # copy of the project, in a schema of its own).
    first = {}
    spare = os.path.join(tmp, "plan-first-pg")
    shutil.copytree(d, spare, symlinks=True)
    first_schema = f"{prefix}_first"
    drop_schema(first_schema)
    for b, where, env in (("sqlite", d, clean),
                          ("pg", spare, dict(clean, STAU_DB=pg_uri, STAU_DB_SCHEMA=first_schema))):
        log(f"plan: first run of the {plan_jobs} jobs on {b} (stand-in interpreter)")
        if b == "pg":
            pgss_reset()
        t0 = time.perf_counter()
        p = run([stau, "-C", where, "-j", "4"], env=env, budget=1800)
        first[b] = time.perf_counter() - t0
        summary = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        if f"{plan_jobs} succeeded" not in summary:
            raise Failed(f"plan: first run on {b}: {summary!r}")
    first_top = pgss_top(5)
    first_rows = int(psql("SELECT count(*) FROM runs;", schema=first_schema))
    drop_schema(first_schema)
    shutil.rmtree(spare)
    # The same real rows on both: the SQLite history copied to the server by stau.
    copied = run([stau, "-C", d, "db", "copy", "--to", pg_uri, "--db-schema", schema],
                 env=clean).stdout.strip()
    sq_db = os.path.join(d, ".stau", "state.db")
    log("plan: multiplying the history in SQLite")
    t0 = time.perf_counter()
    sq = run([sys.executable, os.path.join(here, "gen_history.py"), "multiply-sqlite", sq_db,
              "--rows", str(plan_rows)]).stdout.strip()
    t_sq = time.perf_counter() - t0
    have, max_id = psql("SELECT count(*) || ' ' || max(id) FROM runs;", schema=schema).split()
    log("plan: multiplying the history in PostgreSQL")
    sql = run([sys.executable, os.path.join(here, "gen_history.py"), "multiply-pg", "--rows",
               str(plan_rows), "--have", have, "--max-id", max_id]).stdout
    t0 = time.perf_counter()
    pg = psql(sql, schema=schema).strip().splitlines()[-1]
    t_pg = time.perf_counter() - t0
    rows = {"sqlite": int(re.search(r"rows=(\d+)", sq).group(1)),
            "pg": int(re.search(r"rows=(\d+)", pg).group(1))}
    sq_mb = sum(os.path.getsize(sq_db + s) for s in ("", "-wal") if os.path.exists(sq_db + s)) / 1e6
    pg_mb = int(psql(f"SELECT pg_total_relation_size('{schema}.runs');")) / 1e6
    # the file to edit: the first job's
    jobs = json.loads(run([stau, "-C", d, "list", "--json"], env=clean).stdout)
    edit = sorted(j["file"] for j in jobs)[0]
    times = {"sqlite": [], "pg": []}
    due = {}

    def plan_once(b, i):
        with open(os.path.join(d, edit), "a") as fh:
            fh.write(f"BENCH_EDIT_{i} = {i}\n")
        t0 = time.perf_counter()
        p = subprocess.run([stau, "-C", d, "-n"], env=envs[b], capture_output=True, text=True,
                           timeout=600)
        t = time.perf_counter() - t0
        if p.returncode != 0 or p.stderr.strip():
            raise Failed(f"plan: stau -n on {b} exited {p.returncode}: {p.stderr.strip()[-300:]}")
        first_line = p.stdout.splitlines()[0] if p.stdout else ""
        due[b] = first_line
        return t

    for b in ("sqlite", "pg"):
        plan_once(b, 0)  # warm-up: page cache, graph cache, the server's buffers
    pgss_reset()
    for i in range(1, plan_runs + 1):
        order = ("sqlite", "pg") if i % 2 else ("pg", "sqlite")
        for b in order:
            times[b].append(plan_once(b, i))
    top = pgss_top(4)
    med = {b: statistics.median(ts) for b, ts in times.items()}
    ratio = med["pg"] / med["sqlite"]
    out("")
    out(f"full plan of {plan_jobs} jobs with a year-like history (`stau -n` after an edit; median of "
        f"{plan_runs}, wall time)")
    out(f"  history: SQLite {rows['sqlite']:,} runs ({sq_mb:.0f} MB), PostgreSQL {rows['pg']:,} runs "
        f"({pg_mb:.0f} MB with indexes), the same rows: the {have} runs of one real run on SQLite "
        f"(stau db copy: '{short(copied, 60)}'), multiplied in {t_sq:.0f} s (SQLite) and {t_pg:.0f} s "
        f"(PostgreSQL)")
    out(f"  SQLite       {med['sqlite']:6.3f} s   runs " + ", ".join(f"{t:.3f}" for t in times["sqlite"]))
    out(f"  PostgreSQL   {med['pg']:6.3f} s   runs " + ", ".join(f"{t:.3f}" for t in times["pg"]))
    out(f"  ratio PostgreSQL / SQLite: {ratio:.2f}x  (goal <= 2x)  "
        + ("ok" if ratio <= 2 else f"MISSED by {ratio / 2:.2f}x"))
    out(f"  plans: SQLite '{due['sqlite']}', PostgreSQL '{due['pg']}'")
    if due["sqlite"] != due["pg"]:
        notes.append("plan: the two backends' plans differ (a schedule ticked between them?)")
    for calls, total_ms, mean, query in top:
        out(f"  server: {mean:8.1f} ms each, {calls / plan_runs:4.1f} per plan  {short(query)}")
    out(f"  (first run of the {plan_jobs} jobs, stand-in interpreter, -j 4, for information: SQLite "
        f"{first['sqlite']:.1f} s, PostgreSQL {first['pg']:.1f} s, server synchronous_commit="
        f"{setting('synchronous_commit')}; {first_rows} runs)")
    for calls, total_ms, mean, query in first_top:
        out(f"    first run on the server: {total_ms / 1000:5.1f} s in {calls:6d} calls  {short(query, 60)}")
    drop_schema(schema)
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- latency
LAT_JOBS = {
    "a_up": 'STAU_CONFIG = {"schedule": "@every 1s", "main_func": "main"}\n\n\ndef main():\n    pass\n',
    "b_down": 'import time\n\nSTAU_CONFIG = {"dependencies": ["a_up"], "main_func": "main"}\n\n\n'
              'def main():\n    time.sleep(0.3)\n',
    "c_down": 'import time\n\nSTAU_CONFIG = {"dependencies": ["a_up"], "main_func": "main"}\n\n\n'
              'def main():\n    time.sleep(0.3)\n',
}


def namespace_prefix():
    """The argv prefix that runs a command with a host name of its own, or None."""
    for cmd in (["unshare", "-u"], ["unshare", "-r", "-u"]):
        p = subprocess.run(cmd + ["sh", "-c", "hostname stau-probe && hostname"], capture_output=True,
                           text=True)
        if p.returncode == 0 and p.stdout.strip() == "stau-probe":
            return cmd
    return None


def part_latency():
    ns = namespace_prefix()
    if not ns:
        raise Failed("latency: cannot give a process a host name of its own (unshare -u needs root; "
                     "unshare -r -u needs user namespaces)")
    d = os.path.join(tmp, "latency")
    os.makedirs(os.path.join(d, "src"))
    for name, text in LAT_JOBS.items():
        with open(os.path.join(d, "src", name + ".py"), "w") as fh:
            fh.write(text)
    os.symlink(venv, os.path.join(d, ".venv"))
    schema = f"{prefix}_latency"
    drop_schema(schema)
    env = dict(os.environ, STAU_DB=pg_uri, STAU_DB_SCHEMA=schema)
    run([stau, "-C", d, "check"], env=env)
    budget = pairs * 2 + 60
    log(f"latency: two `stau serve -j 1` as hostA and hostB until {pairs} cross-host pairs "
        f"(at most {budget} s)")
    serves = []
    for host in ("hostA", "hostB"):
        logf = open(os.path.join(tmp, f"latency-{host}.events"), "wb")
        argv = ns + ["sh", "-c", 'hostname "$1" && shift && exec "$@"', "sh", host, stau, "-C", d,
                     "-j", "1", "serve", "--json-log", "--grace", "5"]
        p = subprocess.Popen(argv, env=env, cwd=d, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=logf, start_new_session=True)
        with open(os.path.join(tmp, "pids"), "a") as fh:
            fh.write(f"{p.pid}\n")
        serves.append((host, p, logf))

    def measure():
        h = json.loads(run([stau, "-C", d, "history", "--json"], env=env).stdout)
        h.sort(key=lambda r: r["id"])
        up = None
        cross, same, bad = [], [], []
        for r in h:
            if r["status"] not in ("succeeded", "running", "queued"):
                bad.append(r)
            if r["job"] == "a_up":
                up = r if r["status"] == "succeeded" else None
                continue
            if not up or not r.get("started_at") or not up.get("finished_at"):
                continue
            if r["started_at"] < up["finished_at"]:
                continue  # started before the upstream ended: not a pair
            lat = r["started_at"] - up["finished_at"]
            (cross if r["host"] != up["host"] else same).append((lat, up, r))
        return h, cross, same, bad

    t0 = time.time()
    try:
        while True:
            time.sleep(2)
            for host, p, _ in serves:
                if p.poll() is not None:
                    raise Failed(f"latency: stau serve on {host} exited {p.returncode} early")
            h, cross, same, bad = measure()
            if len(cross) >= pairs:
                break
            if time.time() - t0 > budget:
                raise Failed(f"latency: only {len(cross)} cross-host pairs after {budget} s "
                             f"({len(same)} same-host)")
    finally:
        for host, p, logf in serves:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for host, p, logf in serves:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                notes.append(f"latency: the serve on {host} did not stop within 20 s; killed")
            logf.close()
    expected = {"serving", "leading", "following", "enqueued", "started", "finished", "elsewhere",
                "stopping", "stopped"}
    for host, _, _ in serves:
        odd = {}
        with open(os.path.join(tmp, f"latency-{host}.events"), "rb") as fh:
            for raw in fh:
                try:
                    ev = json.loads(raw)
                except ValueError:
                    odd.setdefault("not JSON", raw[:160].decode(errors="replace"))
                    continue
                kind = ev.get("event")
                if kind not in expected:
                    odd.setdefault(kind, ev.get("message", ""))
                if kind == "following" and "pid 0 on ?" in ev.get("message", ""):
                    odd.setdefault("following (no leader named)", ev["message"])
        for kind, msg in odd.items():
            notes.append(f"latency: {host}: event {kind}: {msg}")
    h, cross, same, bad = measure()
    if bad:
        errors.append(f"latency: {len(bad)} runs did not succeed, e.g. run {bad[0]['id']} "
                      f"{bad[0]['job']} {bad[0]['status']}")
    lat = [x for x, _, _ in cross]
    ups = [r for r in h if r["job"] == "a_up"]
    hosts = {}
    for r in h:
        hosts.setdefault(r["job"], {}).setdefault(r["host"], 0)
        hosts[r["job"]][r["host"]] += 1
    out("")
    out(f"cross-host upstream end to dependent start, two `stau serve -j 1` (hostA, hostB) on one "
        f"schema; a_up on '@every 1s', two dependents (dependent's started_at - upstream's "
        f"finished_at)")
    out(f"  {len(lat)} cross-host pairs: p50 {p_rank(lat, 0.5):5.0f} ms   p99 {p_rank(lat, 0.99):5.0f} ms"
        f"   max {max(lat):5.0f} ms  (goal p99 <= 1000 ms)  {verdict(p_rank(lat, 0.99) <= 1000)}")
    if same:
        sl = [x for x, _, _ in same]
        out(f"  {len(sl)} same-host pairs (for information): p50 {p_rank(sl, 0.5):5.0f} ms   "
            f"p99 {p_rank(sl, 0.99):5.0f} ms")
    out("  runs by host: " + "; ".join(f"{j} " + ", ".join(f"{hh} {n}" for hh, n in sorted(c.items()))
                                       for j, c in sorted(hosts.items())))
    out(f"  ({len(ups)} upstream runs in {time.time() - t0:.0f} s)")
    drop_schema(schema)


PARTS = {"claim": part_claim, "plan": part_plan, "latency": part_latency}
version = subprocess.run([stau, "--version"], capture_output=True, text=True).stdout.strip()
server = psql("SELECT current_setting('server_version');").strip()
out(f"stau PostgreSQL benchmark: {stau} ({version}), PostgreSQL {server} at "
    f"{re.sub(r':[^@/]*@', ':***@', pg_uri)} (synchronous_commit={setting('synchronous_commit')}, "
    f"fsync={setting('fsync')}), {os.cpu_count()} CPUs")
for name in ("claim", "plan", "latency"):
    if name in parts:
        try:
            PARTS[name]()
        except Failed as e:
            errors.append(f"{name}: {e}")
            out("")
            out(f"{name}: FAILED: {str(e).splitlines()[0]}")
for note in notes:
    out(f"note: {note}")
for e in errors:
    print(f"bench_pg: error: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
PYEOF
DRIVER=$!
rc=0
wait "$DRIVER" || rc=$?
DRIVER=
exit $rc
