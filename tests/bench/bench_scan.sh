#!/usr/bin/env bash
# stau scanning benchmark.
#
#   tests/bench/bench_scan.sh [STAU_BIN] [--jobs N] [--seed S] [--ast-runs N] [--keep]
#
# Measures the goals of the scanning issue on a generated project (gen_project.py:
# N job files of ~150 lines in ~100 packages, dependencies between them):
#
#   cold `stau check` (no .stau/)          >= 8x faster than ast.parse of the same
#                                           files by the python3 on PATH, same run
#   warm `stau list`, nothing changed       <= 50 ms
#   warm `stau list`, one file edited       <= 60 ms
#   peak memory (max RSS) of stau           <= 64 MB
#
# STAU_BIN defaults to a ReleaseFast build made here into a temporary prefix
# (`python3 -m ziglang build -Doptimize=ReleaseFast -p TMP`); pass a binary to
# measure that one instead (it should be a ReleaseFast build). Everything happens
# in a fresh temporary directory, removed at the end unless --keep.
#
# How it measures (all wall times, python's time.perf_counter around the child):
#   - every .py file is read once beforehand (cat > /dev/null) so both sides read
#     from the page cache; nothing is dropped from it;
#   - ast.parse: `python3 -c "import ast ..."` over the list of all .py files, as
#     the python3 on PATH (which may be a pyenv shim); best of --ast-runs (3).
#     Each tree is dropped after parsing (kinder to python than keeping 10,000
#     trees alive). The ratio uses this full command time; the time minus
#     `python3 -c pass` (interpreter startup) is printed too;
#   - cold check: best of 3, `rm -rf DIR/.stau` before each;
#   - warm list: one untimed run to settle the cache, then best of 5, stdout to
#     /dev/null;
#   - one file edited: a comment line is appended to a job file, then one list is
#     timed; 3 rounds with a different file each, the median is reported;
#   - peak memory: a separate run of each under /usr/bin/time -f %M (without
#     it, a minimal python wrapper's os.wait4 rusage; a child's max RSS includes
#     its parent's size before exec, so that wrapper's floor is printed).
#     MB here means 10^6 bytes.
#
# A missed goal is reported as MISSED and does not fail the script. It does fail
# (exit 1) if stau exits non-zero or writes anything to stderr on the generated
# project, or if its check summary ("N jobs, D dependencies, W warnings") shows
# a different job count or any warning. No test ever runs this.
#
# Takes about 45 s for 10,000 jobs here, most of it the three ast.parse runs
# (--ast-runs 1 saves ~25 s).
set -euo pipefail

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'bench_scan: error: %s\n' "$*" >&2; exit 1; }

JOBS=10000 SEED=1 AST_RUNS=3 KEEP=0 STAU_BIN=
while [ $# -gt 0 ]; do
    case $1 in
    --jobs) JOBS=${2:?}; shift 2 ;;
    --jobs=*) JOBS=${1#*=}; shift ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --ast-runs) AST_RUNS=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    -*) echo "bench_scan: unknown option $1" >&2; usage ;;
    *) [ -z "$STAU_BIN" ] || usage; STAU_BIN=$1; shift ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# python3 may be a slow pyenv shim: resolve it once for our own helpers. The
# ast.parse measurement itself still runs `python3` from PATH.
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not start"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stau-bench.XXXXXX")
if [ "$KEEP" = 1 ]; then
    trap 'echo "bench_scan: kept $TMP" >&2' EXIT
else
    trap 'rm -rf "$TMP"' EXIT
fi

if [ -z "$STAU_BIN" ]; then
    echo "bench_scan: building stau (ReleaseFast) into $TMP/prefix" >&2
    (cd "$ROOT" && "$PY" -m ziglang build -Doptimize=ReleaseFast -p "$TMP/prefix") ||
        die "ReleaseFast build failed"
    STAU_BIN=$TMP/prefix/bin/stau
elif [[ $STAU_BIN != */* ]]; then
    STAU_BIN=$(type -P "$STAU_BIN") || die "no such command: $STAU_BIN"
fi
[ -x "$STAU_BIN" ] || die "not an executable: $STAU_BIN"
STAU_BIN=$(cd "$(dirname "$STAU_BIN")" && pwd)/$(basename "$STAU_BIN")

PROJ=$TMP/proj
echo "bench_scan: generating $JOBS jobs (seed $SEED) in $PROJ" >&2
# No ast.parse check in the generator: the timed ast.parse run below parses
# every file and fails the benchmark if one is invalid.
"$PY" "$HERE/gen_project.py" "$PROJ" --jobs "$JOBS" --seed "$SEED" --no-verify >/dev/null

TIME_BIN=
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
    TIME_BIN=/usr/bin/time
fi

# Not exec: the EXIT trap must still remove $TMP.
rc=0
"$PY" - "$STAU_BIN" "$PROJ" "$JOBS" "$AST_RUNS" "$TIME_BIN" <<'PYEOF' || rc=$?
import os, re, shutil, statistics, subprocess, sys, time

stau, proj, n_jobs, ast_runs, time_bin = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
work = os.path.dirname(proj)
src = os.path.join(proj, "src")


def fail(msg):
    print(f"bench_scan: error: {msg}", file=sys.stderr)
    sys.exit(1)


def run(argv, stdout=subprocess.DEVNULL):
    """Run argv; return (wall seconds, exit status, max RSS in KiB, stderr text)."""
    err_path = os.path.join(work, "stderr.txt")
    with open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    with open(err_path, encoding="utf-8", errors="replace") as f:
        return wall, p.returncode, usage.ru_maxrss, f.read()


def run_stau(args, stdout=subprocess.DEVNULL):
    argv = [stau, "-C", proj, *args]
    wall, rc, rss, err = run(argv, stdout)
    if rc != 0 or err.strip():
        tail = "\n".join(err.splitlines()[:20])
        fail(f"`{' '.join(argv)}` exited {rc}" + (f", stderr:\n{tail}" if err.strip() else ""))
    return wall, rss


# Without /usr/bin/time: a minimal python that spawns the command and prints the
# child's ru_maxrss. A child's max RSS includes its parent's size before exec,
# so this small wrapper (not this script) does the spawning; its own floor is
# measured on `true` and printed.
WRAPPER = ("import os,sys\n"
           "pid=os.posix_spawn(sys.argv[2],sys.argv[2:],os.environ)\n"
           "_,st,ru=os.wait4(pid,0)\n"
           "open(sys.argv[1],'w').write(str(ru.ru_maxrss))\n"
           "sys.exit(os.waitstatus_to_exitcode(st))\n")


def peak_kib(args, argv=None):
    """Max RSS of one stau run, by /usr/bin/time when there is one."""
    out = os.path.join(work, "maxrss.txt")
    argv = argv or [stau, "-C", proj, *args]
    if time_bin:
        how = time_bin + " -f %M"
        wrapped = [time_bin, "-f", "%M", "-o", out, *argv]
    else:
        how = "a wait4 wrapper (floor %.1f MB)" % (wrapper_floor * 1024 / 1e6)
        wrapped = [sys.executable, "-I", "-S", "-c", WRAPPER, out, *argv]
    wall, rc, _, err = run(wrapped)
    if rc != 0 or err.strip():
        fail(f"`{' '.join(argv)}` (measuring memory) exited {rc}: {err.strip()[:2000]}")
    with open(out) as f:
        return int(f.read().split()[-1]), how


wrapper_floor = 0
if not time_bin:
    wrapper_floor = peak_kib([], ["/bin/true" if os.path.exists("/bin/true") else shutil.which("true")])[0]


def rm_cache():
    shutil.rmtree(os.path.join(proj, ".stau"), ignore_errors=True)


# 1. the project
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".py"))
job_files = [f for f in files if not f.endswith("__init__.py")
             and os.path.relpath(f, src).split(os.sep)[0] not in ("common", "utils")]
lines = size = 0
for f in files:
    with open(f, "rb") as fh:
        data = fh.read()
    lines += data.count(b"\n")
    size += len(data)
list_path = os.path.join(work, "files.txt")
with open(list_path, "w") as fh:
    fh.write("\n".join(files) + "\n")

# 2. warm the page cache for both sides
with open(list_path, "rb") as names:
    subprocess.run(["xargs", "-d", "\n", "cat"], stdin=names, stdout=subprocess.DEVNULL, check=True)

# 3. ast.parse by the python3 on PATH, and that python3's bare startup
ast_cmd = ["python3", "-c",
           "import ast,sys\n"
           "for f in open(sys.argv[1]).read().splitlines():\n"
           "    ast.parse(open(f,'rb').read(), f)\n",
           list_path]
ast_times = []
for _ in range(max(1, ast_runs)):
    wall, rc, _, err = run(ast_cmd)
    if rc != 0:
        fail(f"ast.parse of the generated project failed (exit {rc}):\n{err[-2000:]}")
    ast_times.append(wall)
ast_time = min(ast_times)
startup = min(run(["python3", "-c", "pass"])[0] for _ in range(5))
python_version = subprocess.run(["python3", "--version"], capture_output=True, text=True).stdout.strip()

# 4. cold check, best of 3; its summary must match the project
cold = []
summary_path = os.path.join(work, "check.txt")
for _ in range(3):
    rm_cache()
    with open(summary_path, "wb") as out:
        cold.append(run_stau(["check"], stdout=out)[0])
with open(summary_path, encoding="utf-8", errors="replace") as fh:
    summary = fh.read().strip()
notes = []
m = re.search(r"(\d+)\s+jobs?\b", summary)
if m:
    if int(m.group(1)) != n_jobs:
        fail(f"stau check found {m.group(1)} jobs, the project has {n_jobs}: {summary!r}")
    w = re.search(r"(\d+)\s+warnings?\b", summary)
    if w and int(w.group(1)) != 0:
        fail(f"stau check warns on the generated project: {summary!r}")
else:
    notes.append(f"could not read a job count from the check summary {summary[:80]!r}")
cold_time = min(cold)
rm_cache()
cold_kib, mem_how = peak_kib(["check"])

# 5. warm list: one run to settle the cache, then best of 5
listing = os.path.join(work, "list.txt")
with open(listing, "wb") as out:
    run_stau(["list"], stdout=out)
with open(listing, "rb") as fh:
    n_lines = fh.read().count(b"\n")
if n_lines < n_jobs:
    notes.append(f"stau list printed {n_lines} lines for {n_jobs} jobs")
warm_time = min(run_stau(["list"])[0] for _ in range(5))
warm_kib, _ = peak_kib(["list"])

# 6. one file edited, 3 rounds with different files, median
edited = []
for i, frac in enumerate((0.25, 0.5, 0.75)):
    target = job_files[int(len(job_files) * frac)]
    with open(target, "a") as fh:
        fh.write(f"# edited by bench_scan.sh, round {i + 1}\n")
    edited.append(run_stau(["list"])[0])
edit_time = statistics.median(edited)
with open(job_files[len(job_files) // 8], "a") as fh:  # one more edit, for the memory of such a run
    fh.write("# edited by bench_scan.sh, memory round\n")
edit_kib, _ = peak_kib(["list"])


# 7. the table
def verdict(ok):
    return "ok" if ok else "MISSED"


ratio = ast_time / cold_time if cold_time > 0 else float("inf")
ratio_net = (ast_time - startup) / cold_time if cold_time > 0 else float("inf")
mb = lambda kib: kib * 1024 / 1e6
peak = max(cold_kib, warm_kib, edit_kib)
print(f"stau scan benchmark: {len(job_files)} jobs, {len(files)} files, {lines:,} lines, {size / 1e6:.1f} MB")
print(f"stau: {stau}")
print(f"{'ast.parse (python3 on PATH)':<30}{ast_time:7.2f} s    {python_version}, best of {len(ast_times)}"
      f" ({', '.join(f'{t:.2f}' for t in ast_times)})")
print(f"{'  minus python3 startup':<30}{ast_time - startup:7.2f} s    (startup {startup * 1000:.0f} ms)")
print(f"{'stau check, cold':<30}{cold_time:7.3f} s  {ratio:6.1f}x faster   (goal >= 8x)       {verdict(ratio >= 8)}")
print(f"{'':<30}{'':9}  {ratio_net:6.1f}x vs ast.parse minus startup (for information)")
print(f"{'stau list, warm':<30}{warm_time:7.3f} s                  (goal <= 0.050 s)  {verdict(warm_time <= 0.050)}")
print(f"{'stau list, one file edited':<30}{edit_time:7.3f} s                  (goal <= 0.060 s)  {verdict(edit_time <= 0.060)}"
      f"   rounds {', '.join(f'{t:.3f}' for t in edited)}")
print(f"{'peak memory, cold check':<30}{mb(cold_kib):7.1f} MB                 (goal <= 64 MB)    {verdict(mb(cold_kib) <= 64)}")
print(f"{'peak memory, warm list':<30}{mb(warm_kib):7.1f} MB                 (goal <= 64 MB)    {verdict(mb(warm_kib) <= 64)}")
print(f"{'peak memory, list after edit':<30}{mb(edit_kib):7.1f} MB                 (goal <= 64 MB)    {verdict(mb(edit_kib) <= 64)}")
print(f"ratio uses the full python3 command time; times are wall clock (best of 3 cold, best of 5 warm, "
      f"median of 3 edits); memory by {mem_how}")
print(f"check summary: {summary.splitlines()[0] if summary else '(empty)'}")
for n in notes:
    print(f"note: {n}")
PYEOF
exit $rc
