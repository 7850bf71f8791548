#!/usr/bin/env bash
# stau serving benchmark: `stau serve` on the workloads of gen_serve.py.
#
#   tests/bench/bench_serve.sh [STAU_BIN] [--quick] [--only PARTS] [--ticks N] [--edits N]
#                              [--idle-seconds N] [--mem-runs A,B] [--keep]
#
# Measures the goals of the serving issue, each part on a fresh generated project
# served at -j 2 (the machine this was written on has 2 CPUs):
#
#   tick     tick-to-start on an idle serve: one job on "@every 1s" (stau's @every
#            ticks fall on whole multiples of the interval since the epoch, UTC)
#            served for --ticks ticks (100; --quick 20). Per scheduled run:
#            (a) stau's recorded start (started_at of `stau history --json`, unix
#            ms) minus the tick, which is started_at floored to the whole second;
#            (b) the job's first statement of main (time.time(), written to a file
#            with STAU_RUN_ID) minus the same tick. Median and p99 of both, in ms;
#            goal p99(a) <= 50 ms. The peers' figures are printed as facts, not
#            measured: cron's granularity is 60 s (a minute field), systemd
#            timers' default AccuracySec= is 1 min. The run at start-up (reason
#            never-run) is not a tick and is left out; a run whose recorded tick
#            (its schedule reason's "ticked at") is not that floor is counted as
#            late (more than 1 s), and ticks without a run are counted as missed.
#   edit     edit-to-start: one derived job (no schedule); while serving, a
#            statement is appended to its file (--edits times, 10; one write and
#            close, ~1.5 s apart) and timed from just before the write to (a) the
#            new run's started_at and (b) the job's first statement. Median and
#            max in ms; goal max(a) <= 1 s, the debounce included.
#   idle     idle CPU: 3,000 jobs on a daily schedule whose time of day is 12 h
#            from now (so nothing falls due in the window), served until each ran
#            once (-j 2; that first run is timed for information), then, after 5 s
#            of quiet, the serve process's utime+stime (/proc/PID/stat, all its
#            threads) over --idle-seconds (300; --quick 30), as % of one core;
#            goal <= 0.1 %. Also its context switches per second (wake-ups), the
#            most CPU it took in one 10 s slice of the window (a spike), and
#            whether anything ran in the window.
#   memory   RSS over many runs: 100 trivial jobs on "@every 1s" at -j 2 (always
#            more due than slots: a run ends, the next starts), VmRSS of the serve
#            process (/proc/PID/status) when the finished runs in its event log
#            pass each 1,000; printed at --mem-runs A,B (1000,10000; --quick
#            1000,3000), with the samples in between, VmHWM and the size of
#            state.db. "flat" when the second half of the samples grew by less than
#            1 MiB (MiB = 2^20 bytes), else "still growing". Expect some growth
#            early: serve has two SQLite connections (its own and the recorder
#            thread's), each with a page cache of up to ~2 MB by default, filling
#            as state.db grows (~0.6 MB per 1,000 runs). Here RSS rose ~3.7 MiB
#            and stayed at 15.5 MiB from 18,000 to 30,000 runs (--mem-runs
#            1000,30000, 11 minutes).
#   throughput  2,000 trivial derived jobs (each due once), time from starting the
#            copies until every job succeeded (finished events of the copies' event
#            logs): 3 copies of `stau serve -j 2` at once against one `stau serve
#            -j 6` (the same 6 slots), and one `stau serve -j 2` for information
#            (the 2 CPUs' worth); --tp-rounds (2; --quick 1) rounds, the order
#            reversed every other round, each on a fresh project whose state was
#            made by one `stau -n` beforehand (the same for all: database, graph
#            cache). Prints each time, the ratio 3 copies / 1 copy of the medians,
#            the runs each copy did and the claims refused to it ("elsewhere"
#            events), and checks `stau history` for exactly one run per job. The
#            6 slots share 2 CPUs here: it measures the copies' coordination
#            cost, not a speed-up.
#
# Options:
#   STAU_BIN          the stau to measure; default: $STAU, else zig-out/bin/stau of
#                     this checkout (often a debug build: measure a ReleaseFast one,
#                     `python3 -m ziglang build -Doptimize=ReleaseFast -p PREFIX`)
#   --quick           --ticks 20 --idle-seconds 30 --mem-runs 1000,3000 --tp-rounds 1
#   --only PARTS      comma-separated parts (tick,edit,idle,memory,throughput)
#   --ticks N         ticks of the tick part (at least 2)
#   --edits N         edits of the edit part
#   --idle-seconds N  the idle CPU window
#   --idle-jobs N     jobs of the idle part (3000)
#   --mem-runs A,B    the run counts at which RSS is printed
#   --tp-jobs N       jobs of the throughput part (2000)
#   --tp-rounds N     rounds of the throughput part
#   --keep            keep the temporary directory (projects and event logs)
#
# Jobs run in a bare venv of the python3 on PATH (sys.executable, --without-pip),
# the same one bench_run.sh keeps in ${XDG_CACHE_HOME:-~/.cache}/stau-bench, found
# by stau as each project's .venv: no site-packages .pth imports in the starts.
# Every `stau serve` runs with --json-log, its event log in the temporary folder.
#
# p99 is the nearest rank (the ceil(0.99 n)-th smallest: of 100 samples the second
# largest, of 20 the largest). Times are wall clock (time.time() of this script and
# of the jobs, stau's unix ms), all on one machine.
#
# Every process started here is stopped at the end (SIGTERM with --grace 5, then
# SIGKILL), also on Ctrl-C; the temporary directory is removed unless --keep. A
# missed goal is reported as MISSED and does not fail the script; it fails (exit 1)
# when a serve exits early, a run fails, a job runs twice in the throughput part,
# or a part waits longer than its budget. No test ever runs this.
#
# Takes about 17 minutes in full here (tick 2, edit 0.5, idle 6.5, memory 4.5,
# throughput 4), about 5 with --quick.
set -euo pipefail

usage() { sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'bench_serve: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench_serve: %s\n' "$*" >&2; }

ONLY=tick,edit,idle,memory,throughput KEEP=0 STAU_BIN=
TICKS= EDITS=10 IDLE_SECONDS= IDLE_JOBS=3000 MEM_RUNS= TP_JOBS=2000 TP_ROUNDS= QUICK=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1; shift ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --only=*) ONLY=${1#*=}; shift ;;
    --ticks) TICKS=${2:?}; shift 2 ;;
    --ticks=*) TICKS=${1#*=}; shift ;;
    --edits) EDITS=${2:?}; shift 2 ;;
    --edits=*) EDITS=${1#*=}; shift ;;
    --idle-seconds) IDLE_SECONDS=${2:?}; shift 2 ;;
    --idle-seconds=*) IDLE_SECONDS=${1#*=}; shift ;;
    --idle-jobs) IDLE_JOBS=${2:?}; shift 2 ;;
    --idle-jobs=*) IDLE_JOBS=${1#*=}; shift ;;
    --mem-runs) MEM_RUNS=${2:?}; shift 2 ;;
    --mem-runs=*) MEM_RUNS=${1#*=}; shift ;;
    --tp-jobs) TP_JOBS=${2:?}; shift 2 ;;
    --tp-jobs=*) TP_JOBS=${1#*=}; shift ;;
    --tp-rounds) TP_ROUNDS=${2:?}; shift 2 ;;
    --tp-rounds=*) TP_ROUNDS=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage ;;
    -*) echo "bench_serve: unknown option $1" >&2; usage ;;
    *) [ -z "$STAU_BIN" ] || usage; STAU_BIN=$1; shift ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    : "${TICKS:=20}" "${IDLE_SECONDS:=30}" "${MEM_RUNS:=1000,3000}" "${TP_ROUNDS:=1}"
fi
: "${TICKS:=100}" "${IDLE_SECONDS:=300}" "${MEM_RUNS:=1000,10000}" "${TP_ROUNDS:=2}"
for part in ${ONLY//,/ }; do
    case $part in tick | edit | idle | memory | throughput) ;; *) usage ;; esac
done
for n in "$TICKS" "$EDITS" "$IDLE_SECONDS" "$IDLE_JOBS" "$TP_JOBS" "$TP_ROUNDS"; do
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "not a positive number: $n"
done
[ "$TICKS" -ge 2 ] || die "--ticks must be at least 2"
[[ $MEM_RUNS =~ ^[0-9]+,[0-9]+$ ]] || die "--mem-runs wants A,B (two run counts)"

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not start"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/stau-bench
mkdir -p "$CACHE"

: "${STAU_BIN:=${STAU:-$ROOT/zig-out/bin/stau}}"
if [[ $STAU_BIN != */* ]]; then
    STAU_BIN=$(type -P "$STAU_BIN") || die "no such command: $STAU_BIN"
fi
[ -x "$STAU_BIN" ] || die "not an executable: $STAU_BIN (build one, or pass STAU_BIN / \$STAU)"
STAU_BIN=$(cd "$(dirname "$STAU_BIN")" && pwd)/$(basename "$STAU_BIN")
STAU_REAL=$(readlink -f "$STAU_BIN")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/stau-bench-serve.XXXXXX")
DRIVER=
# Stop what is left: the driver, then every stau serve it started (their pids are
# in $TMP/pids, one a line; only a live process running $STAU_BIN is signalled).
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
    if [ "$KEEP" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The jobs' interpreter: a bare venv of $PY, made once (as bench_run.sh does).
PY_TAG=$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
JOBS_VENV=$CACHE/jobs-venv-$PY_TAG
if ! [ -x "$JOBS_VENV/bin/python" ] ||
    [ "$("$JOBS_VENV/bin/python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" != \
      "$("$PY" -c 'import sys; print(sys.base_prefix)')" ]; then
    say "making the jobs' venv $JOBS_VENV"
    rm -rf "$JOBS_VENV"
    "$PY" -m venv --without-pip "$JOBS_VENV" || die "python -m venv failed"
fi

# In the background, so that a signal to this shell runs the trap at once; the
# driver ignores SIGINT (bash's rule for background jobs) and stops on SIGTERM.
"$PY" - "$STAU_BIN" "$TMP" "$HERE" "$JOBS_VENV" "$ONLY" "$TICKS" "$EDITS" "$IDLE_SECONDS" \
    "$IDLE_JOBS" "$MEM_RUNS" "$TP_JOBS" "$TP_ROUNDS" <<'PYEOF' &
import json, math, os, re, signal, statistics, subprocess, sys, time
from datetime import datetime, timezone

(stau, tmp, here, venv, only, ticks, edits, idle_seconds, idle_jobs, mem_runs, tp_jobs,
 tp_rounds) = sys.argv[1:13]
ticks, edits, idle_seconds, idle_jobs = int(ticks), int(edits), int(idle_seconds), int(idle_jobs)
tp_jobs, tp_rounds = int(tp_jobs), int(tp_rounds)
mem_a, mem_b = (int(x) for x in mem_runs.split(","))
parts = only.split(",")
job_py = os.path.join(venv, "bin", "python")
errors, notes, serves = [], [], []


def log(msg):
    print(f"bench_serve: {msg}", file=sys.stderr, flush=True)


def out(line=""):
    print(line, flush=True)


class Failed(Exception):
    pass


def on_term(signum, frame):
    raise SystemExit(143)


signal.signal(signal.SIGTERM, on_term)


# ---------------------------------------------------------------- helpers
def gen(name, workload, *extra):
    d = os.path.join(tmp, name)
    argv = [sys.executable, os.path.join(here, "gen_serve.py"), d, workload, *extra]
    summary = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
    os.symlink(venv, os.path.join(d, ".venv"))
    subprocess.run([job_py, "-m", "compileall", "-q", os.path.join(d, "src")], check=True,
                   stdout=subprocess.DEVNULL)
    return d, summary


def stau_json(d, *args):
    p = subprocess.run([stau, "-C", d, *args, "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise Failed(f"stau {' '.join(args)} --json exited {p.returncode}: {p.stderr.strip()[-300:]}")
    return json.loads(p.stdout)


class Serve:
    """One `stau serve --json-log` in its own session, its event log in tmp."""

    def __init__(self, d, slots, label):
        self.label = label
        self.log_path = os.path.join(tmp, f"{label}.events")
        self.log = open(self.log_path, "wb")
        self.p = subprocess.Popen([stau, "-C", d, "-j", str(slots), "serve", "--json-log",
                                   "--grace", "5"], cwd=d, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=self.log, start_new_session=True)
        serves.append(self)
        with open(os.path.join(tmp, "pids"), "a") as fh:
            fh.write(f"{self.p.pid}\n")
        self.pos, self.partial = 0, b""
        self.events, self.finished, self.succeeded, self.other = [], 0, 0, {}

    def poll(self):
        """Read the new events; fails when the process is gone."""
        with open(self.log_path, "rb") as fh:
            fh.seek(self.pos)
            data = fh.read()
        self.pos += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            try:
                ev = json.loads(raw)
            except ValueError:
                self.other["not JSON"] = self.other.get("not JSON", 0) + 1
                notes.append(f"{self.label}: a line of its event log is not JSON: {raw[:120]!r}")
                continue
            self.events.append(ev)
            kind = ev.get("event")
            if kind == "finished":
                self.finished += 1
                if ev.get("status") == "succeeded":
                    self.succeeded += 1
                else:
                    self.other["not succeeded"] = self.other.get("not succeeded", 0) + 1
            elif kind not in ("started", "serving", "stopping", "stopped"):
                self.other[kind] = self.other.get(kind, 0) + 1
        if self.p.poll() is not None:
            raise Failed(f"{self.label}: stau serve exited {self.p.returncode} early; "
                         f"last events:\n    " + self.tail())
        return self

    def tail(self, n=5):
        with open(self.log_path, "rb") as fh:
            lines = fh.read().decode(errors="replace").splitlines()
        return "\n    ".join(lines[-n:]) or "(nothing)"

    def stop(self):
        """SIGTERM, then SIGKILL if it is not gone within its grace and 10 s more."""
        if self.p.poll() is None:
            try:
                self.poll()
            except Failed:
                pass
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                notes.append(f"{self.label}: did not stop within 15 s of SIGTERM; killed")
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
            else:
                if self.p.returncode != 0:
                    notes.append(f"{self.label}: exited {self.p.returncode} after SIGTERM")
        self.log.close()
        if self in serves:
            serves.remove(self)

    def pid_stat(self):
        """(utime+stime in seconds, voluntary+involuntary context switches, VmRSS kB, VmHWM kB)."""
        with open(f"/proc/{self.p.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        status = {}
        with open(f"/proc/{self.p.pid}/status") as fh:
            for line in fh:
                k, _, v = line.partition(":")
                status[k] = v.strip()
        switches = int(status["voluntary_ctxt_switches"]) + int(status["nonvoluntary_ctxt_switches"])
        return cpu, switches, int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def wait_until(what, cond, budget, step=0.2):
    t_end = time.time() + budget
    while True:
        if cond():
            return
        if time.time() > t_end:
            raise Failed(f"waited {budget:.0f} s for {what}")
        time.sleep(step)


def anomalies(serve):
    if serve.other:
        notes.append(f"{serve.label}: events other than started/finished: "
                     + ", ".join(f"{k} x{v}" for k, v in sorted(serve.other.items())))


def starts(d):
    """{run id: job's time.time()} from out/starts.log."""
    got = {}
    try:
        with open(os.path.join(d, "out", "starts.log")) as fh:
            for line in fh:
                run, _, t = line.partition(" ")
                if run.isdigit():
                    got[int(run)] = float(t)
    except FileNotFoundError:
        pass
    return got


def p99(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


def verdict(ok):
    return "ok" if ok else "MISSED"


def ms(x):
    return f"{x:7.1f} ms"


def python_floor():
    """Median wall time of 10 `JOB_PY -c pass`, in ms."""
    ts = []
    for _ in range(10):
        t0 = time.perf_counter()
        subprocess.run([job_py, "-c", "pass"], check=True)
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


TICKED = re.compile(r"ticked at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([+-])(\d\d):(\d\d)")


def schedule_tick(run):
    """The tick named by a run's schedule reason (unix ms), or None."""
    for r in run.get("reasons") or []:
        if r.get("reason") == "schedule":
            m = TICKED.search(r.get("evidence", ""))
            if m:
                t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                off = (int(m.group(3)) * 60 + int(m.group(4))) * 60 * (1 if m.group(2) == "+" else -1)
                return int((t.timestamp() - off) * 1000)
            return -1
    return None


# ---------------------------------------------------------------- the parts
def part_tick():
    d, _ = gen("tick", "tick")
    log(f"tick: serving one '@every 1s' job for {ticks} ticks (~{ticks + 2} s)")
    s = Serve(d, 2, "tick")
    # check twice a second, half-way between ticks
    def enough():
        time.sleep(0.5 - (time.time() % 1.0) if time.time() % 1.0 < 0.5 else 1.5 - time.time() % 1.0)
        s.poll()
        return len(starts(d)) >= ticks + 1
    wait_until(f"{ticks + 1} runs", enough, ticks * 2 + 30, step=0)
    s.stop()
    anomalies(s)
    runs = sorted((r for r in stau_json(d, "history") if r["job"] == "tick"), key=lambda r: r["id"])
    job_t = starts(d)
    a, b, late, no_start = [], [], 0, 0
    seen_ticks = []
    for r in runs:
        named = schedule_tick(r)
        if named is None:
            continue  # the start-up run (never-run)
        if r["status"] != "succeeded":
            errors.append(f"tick: run {r['id']} {r['status']}")
        tick = r["started_at"] // 1000 * 1000
        if named > 0 and named != tick:
            late += 1
        seen_ticks.append(named if named and named > 0 else tick)
        a.append(r["started_at"] - tick)
        if r["id"] in job_t:
            b.append(job_t[r["id"]] * 1000 - tick)
        else:
            no_start += 1
    if len(a) < 2:
        raise Failed(f"tick: only {len(a)} scheduled runs recorded")
    seen = sorted(set(seen_ticks))
    missed = (seen[-1] - seen[0]) // 1000 + 1 - len(seen)
    floor = python_floor()
    out("")
    out(f"tick-to-start, idle serve, one job on '@every 1s', {len(a)} ticks (ms after the tick)")
    out(f"  (a) stau's recorded start   median {ms(statistics.median(a))}   p99 {ms(p99(a))}   "
        f"max {ms(max(a))}  (goal p99 <= 50 ms)  {verdict(p99(a) <= 50)}")
    if b:
        out(f"  (b) job's first statement   median {ms(statistics.median(b))}   p99 {ms(p99(b))}   "
            f"max {ms(max(b))}")
        out(f"  python here: `{job_py} -c pass` takes {floor:.1f} ms (median of 10), most of (b) - (a)")
    out(f"  runs late by over 1 s: {late}; ticks missed: {missed}; runs without a recorded start: "
        f"{no_start}")
    out("  peers (facts, not measured): cron: 60 s granularity (minute field); "
        "systemd timers: AccuracySec= default 1 min")
    if late or missed or no_start:
        notes.append(f"tick: {late} late, {missed} missed ticks, {no_start} runs without a start line")


def part_edit():
    d, _ = gen("edit", "edit")
    path = os.path.join(d, "src", "edited.py")
    log(f"edit: {edits} edits of a served job's file, ~1.5 s apart")
    s = Serve(d, 2, "edit")
    wait_until("the first run", lambda: s.poll() and len(starts(d)) >= 1, 30)
    time.sleep(1.5)
    edited = []  # (time of the edit, run id)
    for i in range(1, edits + 1):
        before = set(starts(d))
        t_edit = time.time()
        with open(path, "a") as fh:
            fh.write(f"EDIT_{i} = {i}\n")
        time.sleep(1.5)
        wait_until(f"the run after edit {i}", lambda: s.poll() and len(starts(d)) > len(before), 10,
                   step=0.02)
        new = sorted(set(starts(d)) - before)
        if len(new) != 1:
            notes.append(f"edit: edit {i} was followed by {len(new)} runs: {new}")
        edited.append((t_edit, new[0]))
    time.sleep(0.5)
    s.stop()
    anomalies(s)
    runs = {r["id"]: r for r in stau_json(d, "history")}
    job_t = starts(d)
    a = [runs[rid]["started_at"] - t * 1000 for t, rid in edited]
    b = [job_t[rid] * 1000 - t * 1000 for t, rid in edited]
    extra = len(runs) - 1 - edits
    out("")
    out(f"edit-to-start, a statement appended to a derived job's file, {edits} edits ~1.5 s apart "
        f"(ms after the write)")
    out(f"  (a) stau's recorded start   median {ms(statistics.median(a))}   max {ms(max(a))}  "
        f"(goal <= 1000 ms, debounce included)  {verdict(max(a) <= 1000)}")
    out(f"  (b) job's first statement   median {ms(statistics.median(b))}   max {ms(max(b))}")
    out(f"  runs: {len(runs)} (1 at start-up, {edits} edits{f', {extra} more' if extra else ''})")
    if extra:
        notes.append(f"edit: {extra} runs more than edits (+1 at start-up)")


def part_idle():
    hour = (datetime.now(timezone.utc).hour + 12) % 24
    sched = f"0 {hour} * * *"
    d, _ = gen("idle", "idle", "--jobs", str(idle_jobs), "--schedule", sched)
    log(f"idle: {idle_jobs} jobs on '{sched}' (UTC): their first run at -j 2, then {idle_seconds} s idle")
    t0 = time.time()
    s = Serve(d, 2, "idle")
    wait_until(f"{idle_jobs} first runs", lambda: s.poll().finished >= idle_jobs, 3600, step=1)
    first = time.time() - t0
    # quiet: no event for 5 s
    last = (len(s.events), time.time())
    while time.time() - last[1] < 5:
        time.sleep(0.5)
        if len(s.poll().events) != last[0]:
            last = (len(s.events), time.time())
    cpu0, sw0, rss0, _ = s.pid_stat()
    n0 = len(s.events)
    t_w = time.time()
    slices, prev = [], cpu0  # CPU of each 10 s of the window, for spikes
    while time.time() - t_w < idle_seconds:
        time.sleep(min(10, max(0, idle_seconds - (time.time() - t_w))))
        cpu, _, _, _ = s.pid_stat()
        slices.append(cpu - prev)
        prev = cpu
    cpu1, sw1, rss1, hwm = s.pid_stat()
    window = time.time() - t_w
    s.poll()
    during = s.events[n0:]
    s.stop()
    anomalies(s)
    pct = (cpu1 - cpu0) / window * 100
    out("")
    out(f"idle CPU, {idle_jobs} jobs on '{sched}' (UTC), nothing due, -j 2")
    out(f"  serve process: {pct:.3f} % of one core over {window:.0f} s "
        f"({(cpu1 - cpu0) * 1000:.0f} ms CPU, clock tick {1000 // os.sysconf('SC_CLK_TCK')} ms)  "
        f"(goal <= 0.1 %)  {verdict(pct <= 0.1)}")
    out(f"  wake-ups: {(sw1 - sw0) / window:.2f} context switches per second; most CPU in one 10 s "
        f"slice: {max(slices) * 1000:.0f} ms; events in the window: {len(during)}")
    out(f"  VmRSS {rss1 / 1024:.1f} MiB (VmHWM {hwm / 1024:.1f} MiB, from the first run)")
    out(f"  (first run of the {idle_jobs} jobs, for information: {first:.1f} s, "
        f"{first / idle_jobs * 1000:.1f} ms per job at 2 slots)")
    if during:
        notes.append(f"idle: {len(during)} events in the idle window, e.g. {during[0]}")


def part_memory():
    d, _ = gen("memory", "churn")
    log(f"memory: 100 jobs on '@every 1s' at -j 2 until {mem_b} runs ended")
    s = Serve(d, 2, "memory")
    t0 = time.time()
    samples = []  # (finished runs, VmRSS kB, seconds since start)
    marks = sorted({k for k in range(1000, mem_b + 1, 1000)} | {mem_a, mem_b})
    for k in marks:
        wait_until(f"{k} finished runs", lambda: s.poll().finished >= k, 1800, step=0.1)
        _, _, rss, _ = s.pid_stat()
        samples.append((s.finished, rss, time.time() - t0))
    _, _, _, hwm = s.pid_stat()
    s.stop()
    anomalies(s)
    if s.finished != s.succeeded:
        errors.append(f"memory: {s.finished - s.succeeded} of {s.finished} runs did not succeed")
    at = {k: smp for k, smp in zip(marks, samples)}
    half = [smp for k, smp in zip(marks, samples) if k >= mem_b / 2]
    growth2 = half[-1][1] - half[0][1]
    flat = growth2 < 1024
    out("")
    out(f"memory, 100 trivial jobs on '@every 1s' at -j 2 (VmRSS of the serve process)")
    for k in (mem_a, mem_b):
        n, rss, t = at[k]
        out(f"  after {k:>6,} runs: {rss / 1024:6.1f} MiB  (at {n:,} runs, {t:.0f} s)")
    db = os.path.getsize(os.path.join(d, ".stau", "state.db")) / 1e6
    out(f"  {'flat' if flat else 'still growing'}: {(at[mem_b][1] - at[mem_a][1]) / 1024:+.1f} MiB "
        f"from {mem_a:,} to {mem_b:,} runs, {growth2 / 1024:+.1f} MiB over the second half; VmHWM "
        f"{hwm / 1024:.1f} MiB; state.db {db:.1f} MB")
    out("  samples (runs: MiB): " + ", ".join(f"{n:,}: {rss / 1024:.1f}" for n, rss, _ in samples))
    rate = samples[-1][0] / samples[-1][2]
    out(f"  ({rate:.0f} runs per second overall)")


def throughput_once(copies, slots, rnd):
    label = f"tp-{copies}x{slots}-{rnd}"
    d, _ = gen(label, "wide", "--jobs", str(tp_jobs))
    p = subprocess.run([stau, "-C", d, "-n"], capture_output=True, text=True)
    if p.returncode != 0:
        raise Failed(f"throughput: stau -n exited {p.returncode}: {p.stderr[-300:]}")
    t0 = time.perf_counter()
    ss = [Serve(d, slots, f"{label}-{c}") for c in range(copies)]
    def done():
        return sum(s.poll().succeeded for s in ss) >= tp_jobs
    wait_until(f"{tp_jobs} runs", done, 1800, step=0.05)
    wall = time.perf_counter() - t0
    for s in ss:
        s.stop()
    per_copy = [s.succeeded for s in ss]
    refused = sum(s.other.pop("elsewhere", 0) for s in ss)
    for s in ss:
        anomalies(s)
    hist = stau_json(d, "history")
    by_job = {}
    for r in hist:
        by_job.setdefault(r["job"], []).append(r)
    twice = [j for j, rs in by_job.items() if len(rs) > 1]
    bad = [r for r in hist if r["status"] != "succeeded"]
    what = f"throughput {copies} x -j {slots}"
    if twice:
        errors.append(f"{what}: {len(twice)} jobs ran more than once, e.g. {twice[0]}: "
                      + ", ".join(f"run {r['id']} {r['status']} pid {r['owner_pid']}"
                                  for r in by_job[twice[0]]))
    if bad:
        errors.append(f"{what}: {len(bad)} runs not succeeded, e.g. "
                      f"run {bad[0]['id']} {bad[0]['job']} {bad[0]['status']}")
    if len(by_job) != tp_jobs:
        errors.append(f"{what}: {len(by_job)} of {tp_jobs} jobs ran")
    return wall, per_copy, refused


TP_CONFIGS = [(1, 6), (3, 2), (1, 2)]  # (copies, slots each); the last for information


def part_throughput():
    log(f"throughput: {tp_jobs} jobs, 1 copy at -j 6, 3 copies at -j 2, 1 copy at -j 2; "
        f"{tp_rounds} rounds")
    res = {c: [] for c in TP_CONFIGS}
    split, refused = [], []
    for rnd in range(tp_rounds):
        order = TP_CONFIGS if rnd % 2 == 0 else TP_CONFIGS[::-1]
        for copies, slots in order:
            log(f"throughput: round {rnd + 1}: {copies} x stau serve -j {slots}")
            wall, per_copy, n_refused = throughput_once(copies, slots, rnd)
            res[(copies, slots)].append(wall)
            if copies == 3:
                split.append(per_copy)
                refused.append(n_refused)
    med = {c: statistics.median(ts) for c, ts in res.items()}
    out("")
    out(f"throughput, {tp_jobs} trivial jobs each due once, {os.cpu_count()} CPUs (wall time from "
        f"starting the copies to the last success, median of {tp_rounds})")
    rows = [((1, 6), "1 copy,   stau serve -j 6", ""), ((3, 2), "3 copies, stau serve -j 2", ""),
            ((1, 2), "1 copy,   stau serve -j 2", "  (for information: the CPUs' worth)")]
    for c, title, extra in rows:
        out(f"  {title}   {med[c]:7.2f} s  ({tp_jobs / med[c]:3.0f} runs/s)  runs "
            + ", ".join(f"{x:.2f}" for x in res[c]) + extra)
    out(f"  ratio 3 copies / 1 copy (same 6 slots): {med[(3, 2)] / med[(1, 6)]:.2f}x")
    out("  3 copies: runs per copy " + "; ".join("/".join(str(x) for x in sp) for sp in split)
        + "; claims refused (elsewhere events) " + ", ".join(str(x) for x in refused))


PARTS = {"tick": part_tick, "edit": part_edit, "idle": part_idle, "memory": part_memory,
         "throughput": part_throughput}
version = subprocess.run([stau, "--version"], capture_output=True, text=True).stdout.strip()
pyv = subprocess.run([job_py, "-c", "import sys; print(sys.version.split()[0])"],
                     capture_output=True, text=True).stdout.strip()
out(f"stau serving benchmark: {stau} ({version}), jobs run by {job_py} (Python {pyv}), "
    f"{os.cpu_count()} CPUs")
try:
    for name in ("tick", "edit", "idle", "memory", "throughput"):
        if name in parts:
            try:
                PARTS[name]()
            except Failed as e:
                errors.append(f"{name}: {e}")
                out("")
                out(f"{name}: FAILED: {str(e).splitlines()[0]}")
finally:
    for s in list(serves):
        s.stop()
for note in notes:
    out(f"note: {note}")
for e in errors:
    print(f"bench_serve: error: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
PYEOF
DRIVER=$!
rc=0
wait "$DRIVER" || rc=$?
DRIVER=
exit $rc
