#!/usr/bin/env bash
# stau history benchmark: what a year of runs costs the commands that read it.
#
#   tests/bench/history_bench.sh [STAU_BIN] [--old STAU_BIN] [--jobs N] [--sizes LIST]
#                                [--runs N] [--since-gc F] [--keep]
#
# A project of --jobs (4,000) generated jobs (gen_project.py) is run once by stau
# with a stand-in interpreter (gen_history.py prepare: every job exits 0 at once,
# chunked jobs get 25 work IDs), so its rows are stau's own; then, for each size of
# --sizes (0,100000,1000000 runs), its state database is made a history of that
# many runs over 365 days (gen_history.py multiply-sqlite: the rows stau wrote are
# the newest, older copies of them go below, every 29th one failed) and these are
# timed, each the median of --runs (3) after one untimed warm-up, with its peak
# memory (max RSS, /usr/bin/time -f %M; MB = 10^6 bytes):
#
#   floor       `SELECT count(*) FROM runs` by the sqlite3 shell (python's sqlite3
#               module without one): SQLite's own count, which reads the smallest
#               index, not the rows
#   scan        `SELECT max(length(files)) FROM runs` the same way: a pass over every
#               row, the least that reading the whole history costs
#   gc -n       `stau gc -n`, on a history gc never ran on: every run keeps its
#               archive path, and no log or archive is on disk (the shape the
#               issue measured: 66 s and 2.7 GB at 1M runs before gc streamed)
#   history     `stau history JOB --limit 20`, JOB the job with the most runs
#   status      `stau status` (every job, its last run, the serving staus)
#   why         `stau why JOB`
#
# and, for each size above 0, on a history that a daily gc kept (gen_history.py
# --since-gc F, default 0.1, and --files: the newest F of the runs came since the
# last gc, with their logs and archives on disk; the older ones kept an archive
# only among their job's 10 newest; and every select_work log of the year, which
# gc never removes):
#
#   gc -n (kept)    `stau gc -n` there (median of --runs)
#   gc (kept)       `stau gc` there, once: it removes the logs of the newest F and
#                   the archives beyond each job's 10 newest (about F of the
#                   history), and then a second `stau gc`, which finds nothing
#
# With --old STAU_BIN, every command is also timed with that stau (an older build),
# side by side (its `gc` is not run: it would remove what the next one measures).
#
# STAU_BIN defaults to a ReleaseFast build made here into a temporary prefix. The
# machine's other work moves the times; compare the columns of one run, and repeat.
# No test ever runs this. Takes about 15 minutes here for the default sizes (most
# of it making the 1M-run histories: ~40 s of CPU each, more when the machine is
# busy) and needs ~3 GB of disk.
set -euo pipefail

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'history_bench: error: %s\n' "$*" >&2; exit 1; }

JOBS=4000 SIZES=0,100000,1000000 RUNS=3 SINCE_GC=0.1 KEEP=0 STAU_BIN= OLD_BIN=
while [ $# -gt 0 ]; do
    case $1 in
    --jobs) JOBS=${2:?}; shift 2 ;;
    --sizes) SIZES=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --since-gc) SINCE_GC=${2:?}; shift 2 ;;
    --old) OLD_BIN=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    -*) echo "history_bench: unknown option $1" >&2; usage ;;
    *) [ -z "$STAU_BIN" ] || usage; STAU_BIN=$1; shift ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not start"
[ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null ||
    die "needs /usr/bin/time (GNU time) for peak memory"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stau-history-bench.XXXXXX")
if [ "$KEEP" = 1 ]; then
    trap 'echo "history_bench: kept $TMP" >&2' EXIT
else
    trap 'rm -rf "$TMP"' EXIT
fi

absolute() {
    local bin=$1
    if [[ $bin != */* ]]; then
        bin=$(type -P "$bin") || die "no such command: $1"
    fi
    [ -x "$bin" ] || die "not an executable: $bin"
    echo "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
}
if [ -z "$STAU_BIN" ]; then
    echo "history_bench: building stau (ReleaseFast) into $TMP/prefix" >&2
    (cd "$ROOT" && "$PY" -m ziglang build -Doptimize=ReleaseFast -p "$TMP/prefix") ||
        die "ReleaseFast build failed"
    STAU_BIN=$TMP/prefix/bin/stau
fi
STAU_BIN=$(absolute "$STAU_BIN")
[ -z "$OLD_BIN" ] || OLD_BIN=$(absolute "$OLD_BIN")

rc=0
"$PY" - "$HERE" "$TMP" "$STAU_BIN" "$OLD_BIN" "$JOBS" "$SIZES" "$RUNS" "$SINCE_GC" <<'PYEOF' || rc=$?
import contextlib, os, shutil, sqlite3, statistics, subprocess, sys, time

here, tmp, stau, old, jobs, sizes, runs, since_gc = sys.argv[1:9]
jobs, runs, since_gc = int(jobs), int(runs), float(since_gc)
sizes = [int(s) for s in sizes.split(",")]
sys.path.insert(0, here)
import gen_history  # noqa: E402

proj = os.path.join(tmp, "proj")
state = os.path.join(proj, ".stau")
template = os.path.join(tmp, "first-run")
env = {k: v for k, v in os.environ.items() if k not in ("STAU_DB", "STAU_DB_SCHEMA", "STAU_ARCHIVE")}
sqlite_shell = shutil.which("sqlite3")


def log(msg):
    print(f"history_bench: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    print(f"history_bench: error: {msg}", file=sys.stderr)
    sys.exit(1)


def measure(argv, ok=(0,)):
    """(wall seconds, peak RSS in MB) of one run of argv, its output discarded."""
    out = os.path.join(tmp, "maxrss.txt")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out, *argv], env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode not in ok:
        fail(f"`{' '.join(argv)}` exited {p.returncode}: {p.stderr.strip()[-1500:]}")
    with open(out) as fh:
        return wall, int(fh.read().split()[-1]) * 1024 / 1e6


def median_of(argv, n=runs, ok=(0,)):
    measure(argv, ok)  # warm-up: the page cache holds the database for every timed run
    got = [measure(argv, ok) for _ in range(n)]
    return statistics.median(w for w, _ in got), max(m for _, m in got)


def sql_argv(db, sql):
    if sqlite_shell:
        return [sqlite_shell, db, sql]
    return [sys.executable, "-c", "import sqlite3,sys; sqlite3.connect(sys.argv[1])"
            ".execute(sys.argv[2]).fetchone()", db, sql]


def restore():
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(template, state, symlinks=True)


def fmt(t):
    return f"{t[0]:7.3f} s {t[1]:7.1f} MB" if t else " " * 18


# the project and its first run: stau's own rows
log(f"generating {jobs} jobs in {proj}")
subprocess.run([sys.executable, os.path.join(here, "gen_project.py"), proj, "--jobs", str(jobs),
                "--no-verify"], check=True, stdout=subprocess.DEVNULL)
with contextlib.redirect_stdout(sys.stderr):
    gen_history.prepare(proj, stau)
log("running every job once (stand-in interpreter)")
p = subprocess.run([stau, "-C", proj, "-j", "2"], env=env, capture_output=True, text=True)
if p.returncode != 0:
    fail(f"the first run failed: {p.stdout[-1500:]}{p.stderr[-1500:]}")
shutil.copytree(state, template, symlinks=True)
db = os.path.join(state, "state.db")
con = sqlite3.connect(db)
first_rows = con.execute("SELECT count(*) FROM runs").fetchone()[0]
job = con.execute("SELECT job FROM runs GROUP BY job ORDER BY count(*) DESC, job LIMIT 1").fetchone()[0]
con.close()
log(f"{first_rows} runs recorded; JOB = {job}")

commands = [
    ("gc -n", ["gc", "-n"]),
    ("history", ["history", job, "--limit", "20"]),
    ("status", ["status"]),
    ("why", ["why", job]),
]
bins = [("stau", stau)] + ([("old", old)] if old else [])
print(f"{jobs} jobs; median of {runs} after a warm-up; wall time and peak RSS"
      + ("; old: " + old if old else ""))
header = f"{'runs':>9}  {'measure':<14}" + "".join(f"{name:>22}" for name, _ in bins)
print(header)
for size in sizes:
    restore()
    if size == 0:
        con = sqlite3.connect(db)
        con.executescript("DELETE FROM work_done; DELETE FROM runs;")
        con.close()
        made_rows = 0
    else:
        log(f"making a history of {size:,} runs (gc never ran)")
        made = gen_history.multiply_sqlite(db, size, 365)
        made_rows = made["rows"]
    mb = os.path.getsize(db) / 1e6
    print(f"{made_rows:>9}  {'floor':<14}{fmt(median_of(sql_argv(db, 'SELECT count(*) FROM runs'))):>22}"
          f"   (state.db {mb:,.0f} MB)", flush=True)
    scan = median_of(sql_argv(db, "SELECT max(length(files)) FROM runs"))
    print(f"{made_rows:>9}  {'scan':<14}{fmt(scan):>22}", flush=True)
    for label, args in commands:
        cells = "".join(f"{fmt(median_of([b, '-C', proj, *args], ok=(0, 1))):>22}" for _, b in bins)
        print(f"{made_rows:>9}  {label:<14}{cells}", flush=True)
    if size == 0:
        continue
    restore()
    log(f"making a history of {size:,} runs that a daily gc kept (the newest {since_gc:g} since)")
    made = gen_history.multiply_sqlite(db, size, 365, since_gc, 10)
    files = gen_history.write_files(proj, made)
    n_logs = len(os.listdir(os.path.join(state, "logs")))
    n_archives = len(os.listdir(os.path.join(state, "archive")))
    cells = "".join(f"{fmt(median_of([b, '-C', proj, 'gc', '-n'])):>22}" for _, b in bins)
    print(f"{made['rows']:>9}  {'gc -n (kept)':<14}{cells}   ({n_logs:,} logs, {n_archives:,} archives"
          f" on disk, {files['select_logs']:,} of them select_work logs)", flush=True)
    first = measure([stau, "-C", proj, "gc"])
    left_logs = len(os.listdir(os.path.join(state, "logs")))
    left_archives = len(os.listdir(os.path.join(state, "archive")))
    again = measure([stau, "-C", proj, "gc"])
    print(f"{made['rows']:>9}  {'gc (kept)':<14}{fmt(first):>22}   (removed {n_logs - left_logs:,} logs,"
          f" {n_archives - left_archives:,} archives; once)", flush=True)
    print(f"{made['rows']:>9}  {'gc again':<14}{fmt(again):>22}   (nothing left to remove; once)",
          flush=True)
PYEOF
exit "$rc"
