#!/usr/bin/env bash
# stau chunk-graph benchmark: planning the original Stau's graph of chunks.
#
#   tests/bench/bench_chunks.sh [STAU_BENCH_CHUNKS] [--runs N] [--ids N] [--profile] [--keep]
#
# Measures the goal of the chunk-graph issue with stau-bench-chunks
# (tests/bench/bench_chunks.c: the real engine, project, plan, SQLite state database
# and recorder, with fake processes and clocks, as the engine's unit tests drive it):
#
#   graph    a master whose timetable entry gives --ids (10,000) work IDs, chunk_size
#            10, above 20 chunked on-demand jobs (a chain, a fan-out and fan-in, two
#            diamonds: 26 edges), every job chunk_size 10: from engine_submit to every
#            chunk task made and linked, before the engine first waits for a process:
#            goal <= 50 ms (median of --runs, 7)
#
# and, for information: the same with chunk sizes mixed (10, 7, 25, 100), project load
# + plan (cold: no cache; warm: the cache the first load wrote), engine_submit alone,
# peak RSS, the tasks and chunk edges made, and the engine's calls of the database.
# Each run is a child process of its own in a fresh temporary folder.
#
# Options:
#   STAU_BENCH_CHUNKS  the driver; default $STAU_BENCH_CHUNKS, else a ReleaseFast build
#                      made here into the temporary directory (as bench_scan.sh does)
#   --profile          also profile the graph phase with perf (when perf can record
#                      here), printing where the time goes: perf record --control
#                      switches the events on for the graph phase only (the driver
#                      writes to its fifo); symbols are resolved here with nm, since
#                      the children fork without exec and perf does not map them
#   --keep             keep the temporary directory (and perf.data)
#
# A missed goal is reported as MISSED (with the factor it is missed by) and does not
# fail the script; it fails (exit 1) when the driver fails, which it does when the
# engine makes another number of tasks or chunk edges than the graph has. No test
# ever runs this. Takes about 2 s (plus a minute for the build; --profile ~10 s more).
set -euo pipefail

usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'bench_chunks: error: %s\n' "$*" >&2; exit 1; }

RUNS=7 IDS=10000 PROFILE=0 KEEP=0 DRIVER=${STAU_BENCH_CHUNKS:-}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=${2:?}; shift 2 ;;
    --ids) IDS=${2:?}; shift 2 ;;
    --profile) PROFILE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    -*) echo "bench_chunks: unknown option $1" >&2; usage ;;
    *) DRIVER=$1; shift ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not start"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stau-bench.XXXXXX")
if [ "$KEEP" = 1 ]; then
    trap 'echo "bench_chunks: kept $TMP" >&2' EXIT
else
    trap 'rm -rf "$TMP"' EXIT
fi

if [ -z "$DRIVER" ]; then
    echo "bench_chunks: building stau-bench-chunks (ReleaseFast) into $TMP/prefix" >&2
    (cd "$ROOT" && "$PY" -m ziglang build -Doptimize=ReleaseFast -p "$TMP/prefix") ||
        die "ReleaseFast build failed"
    DRIVER=$TMP/prefix/bin/stau-bench-chunks
fi
[ -x "$DRIVER" ] || die "not an executable: $DRIVER"

# The driver's temporary folders go below $TMP too.
uniform=$(TMPDIR=$TMP "$DRIVER" --runs "$RUNS" --ids "$IDS" --sizes uniform) ||
    die "stau-bench-chunks failed (uniform chunk sizes)"
mixed=$(TMPDIR=$TMP "$DRIVER" --runs "$RUNS" --ids "$IDS" --sizes mixed) ||
    die "stau-bench-chunks failed (mixed chunk sizes)"

"$PY" - "$uniform" "$mixed" <<'PYEOF'
import sys


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split())


u, m = fields(sys.argv[1]), fields(sys.argv[2])
goal = 50.0
graph = float(u["graph_ms"])
ratio = graph / goal
verdict = "ok" if graph <= goal else f"MISSED ({ratio:.1f}x over)"
print(f"chunk graph: {int(u['ids']):,} work IDs, {u['jobs']} jobs, median of {u['runs']} runs "
      f"(wall clock; cpu = the process's CPU time)")
print(f"{'graph, chunk size 10':<34}{graph:8.1f} ms  {ratio:5.2f}x the goal  (goal <= 50 ms)  {verdict}")
print(f"{'':<34}min {float(u['graph_min_ms']):.1f} ms, cpu {float(u['graph_cpu_ms']):.1f} ms, "
      f"runs {u['graph_runs_ms'].replace(',', ' ')}")
print(f"{'':<34}{int(u['tasks']):,} tasks, {int(u['chunk_edges']):,} chunk edges, "
      f"{u['steps']} engine step(s)")
print(f"{'graph, chunk sizes 7/10/25/100':<34}{float(m['graph_ms']):8.1f} ms  "
      f"{float(m['graph_ms']) / goal:5.2f}x the goal  (for information)")
print(f"{'':<34}{int(m['tasks']):,} tasks, {int(m['chunk_edges']):,} chunk edges")
print(f"{'engine_submit alone':<34}{float(u['submit_ms']):8.1f} ms  (claims, engine_plan_graph; in graph)")
print(f"{'project load + plan, cold':<34}{float(u['load_cold_ms']):8.1f} ms  (no cache yet: parses the timetable's IDs)")
print(f"{'project load + plan, warm':<34}{float(u['load_warm_ms']):8.1f} ms")
print(f"{'peak RSS, after plan / after graph':<34}{int(u['rss_plan_kb']) / 1024:8.1f} / "
      f"{int(u['rss_kb']) / 1024:.1f} MiB (chunk size 10; mixed: {int(m['rss_kb']) / 1024:.1f} MiB)")
print(f"{'database calls in graph':<34}store_claim {u['store_claim']}, store_work_done "
      f"{u['store_work_done']}, store_begin_runs {u['store_begin_runs']}, store_apply {u['store_apply']}")
PYEOF

[ "$PROFILE" = 1 ] || exit 0
if ! command -v perf >/dev/null || ! perf record -o "$TMP/probe.data" true >/dev/null 2>&1; then
    echo "profile: perf cannot record here; skipped"
    exit 0
fi
mkfifo "$TMP/ctl" "$TMP/ack"
STAU_BENCH_PERF_CTL=$TMP/ctl STAU_BENCH_PERF_ACK=$TMP/ack TMPDIR=$TMP \
    perf record -q --control "fifo:$TMP/ctl,$TMP/ack" -F 20000 -o "$TMP/perf.data" \
    "$DRIVER" --runs 20 --ids "$IDS" --sizes uniform >/dev/null 2>"$TMP/perf.log" ||
    die "perf record failed: $(tail -3 "$TMP/perf.log")"
perf script -i "$TMP/perf.data" -F ip >"$TMP/ips.txt" 2>/dev/null
perf script -i "$TMP/perf.data" --show-mmap-events 2>/dev/null | grep PERF_RECORD_MMAP >"$TMP/maps.txt" || true
"$PY" - "$DRIVER" "$TMP/ips.txt" "$TMP/maps.txt" <<'PYEOF'
import bisect, collections, os, re, subprocess, sys

driver, ips_path, maps_path = sys.argv[1:4]


def symbols(path):
    """(addresses, names) of path's functions, sorted; its debug file's when stripped."""
    out = subprocess.run(["nm", "-n", path], capture_output=True, text=True).stdout
    if not out.strip():
        note = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
        m = re.search(r"Build ID: ([0-9a-f]+)", note)
        debug = m and f"/usr/lib/debug/.build-id/{m.group(1)[:2]}/{m.group(1)[2:]}.debug"
        if debug and os.path.exists(debug):
            out = subprocess.run(["nm", "-n", debug], capture_output=True, text=True).stdout
        if not out.strip():
            out = subprocess.run(["nm", "-n", "-D", path], capture_output=True, text=True).stdout
    addrs, names = [], []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tTwWiI":
            addrs.append(int(p[0], 16))
            names.append(p[2])
    return addrs, names


# Executable mappings: [start, end) at file offset, of which file.
maps = []
for line in open(maps_path):
    m = re.search(r"\[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+|0) .*\]: r-xp (\S+)", line)
    if m:
        start, size, off = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16)
        maps.append((start, start + size, off, m.group(4)))
tables = {}
pie = {}
counts = collections.Counter()
total = 0
for line in open(ips_path):
    p = line.split()
    if not p:
        continue
    ip = int(p[0], 16)
    total += 1
    if ip >= 0xFFFF800000000000:
        counts["[kernel: page faults, memory]"] += 1
        continue
    name = "[other]"
    for start, end, off, path in maps:
        if start <= ip < end:
            if path not in tables:
                tables[path] = symbols(path)
                typ = subprocess.run(["readelf", "-h", path], capture_output=True, text=True).stdout
                pie[path] = "DYN" in typ
            addrs, names = tables[path]
            # Shared objects (and PIE) by file offset; the driver's addresses are absolute.
            a = ip - start + off if pie[path] else ip
            i = bisect.bisect_right(addrs, a) - 1
            lib = os.path.basename(path)
            name = (names[i] if i >= 0 else "?") + ("" if path == driver or lib.startswith("stau") else f" ({lib})")
            break
    counts[name] += 1
print(f"profile of the graph phase (chunk size 10, 20 runs, {total} samples at 20 kHz; "
      "static functions inlined into their callers are counted there):")
for name, n in counts.most_common(18):
    print(f"  {100 * n / total:5.1f}%  {name}")
PYEOF
