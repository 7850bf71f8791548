#!/usr/bin/env python3
"""Give a generated project (gen_project.py) a year-like run history, for the plan
part of bench_pg.sh and for history_bench.sh.

    gen_history.py prepare PROJECT STAU_BIN
    gen_history.py multiply-sqlite DB --rows N [--days D] [--since-gc F] [--keep-last K]
    gen_history.py multiply-pg --rows N --have R --max-id M [--days D]   (SQL to stdout)
    gen_history.py year PROJECT STAU_BIN --rows N [--jobs J] [--days D] [--since-gc F]
                        [--keep-last K] [--files]

prepare: makes the project runnable in no time, with real rows: every declared
input (a glob gets one matching file) and output exists (empty), and the project's
interpreter, .venv/bin/python, is a shell script standing in for Python: it exits 0
at once, and when asked for select_work (the selector snippet stau passes with -c)
it answers 25 work IDs (1..25) in the file named by the last member of the JSON
array stau gives it on descriptor 3, so chunked jobs run as chunks. `stau` then
runs every job once, as it would run real ones: claims, chunks, starts, ends,
archives, fingerprints and evidence are stau's own. The job list comes from
`STAU_BIN list --json` run in PROJECT (with whatever STAU_DB is set: list does not
open it).

multiply-sqlite / multiply-pg: the runs stau recorded (R rows, ids up to M) become
the newest of a history of at least N rows: C = ceil(N / R) - 1 older copies of
every row are inserted, copy k (0 = oldest) with ids and batches id + k * M and
every time (queued, started, finished, heartbeat) D days (365) * (C - k) / C
earlier, so that ids and times grow together; the rows stau wrote are moved up to
id + C * M first (nothing points at them: no reruns; work_done's run ids follow).
Every 29th copied run failed (exit 1, no outputs fingerprint), as a history has
some; each copy's log path carries its own start time (as engine.c names logs),
its archive path its own id, and a first run's reasons ("never-run") become a
schedule tick's. The other columns (owner, host, kwargs, fingerprints, evidence
lines) are the real rows' own. The id sequence moves past the last id.

--since-gc F (SQLite): the history a daily `stau gc --keep-last K` (10) leaves: the
newest F of the copies (the rows stau wrote among them) came since the last gc and
keep their archive paths; of the older ones only about each job's K newest rows do
(whole copies: a chunked job's copy has a row per chunk); without it every run
keeps its archive path, as when gc never ran.

On PostgreSQL the insert runs with stau.importing set (the triggers skip their
work, as `stau db copy` has them), then moves the generation and the job versions
on, then VACUUM ANALYZE (what autovacuum would have done long before a year
passed). On SQLite the file is written without a journal and the indexes and
triggers of runs are dropped for the insert and made again from their own text
(the schema ends as stau made it), and what the triggers would have done is done
once: the job versions and the generation move on by the rows inserted, and no
work ID's last success moves (every copy is older than the rows stau wrote); the
file goes back to WAL and is left as stau keeps it (stau never runs ANALYZE).
1,000,000 rows take ~40 s of CPU here (SQLite's insert and index builds).

year: all of it for PROJECT: gen_project.py --jobs J (4000) when PROJECT does not
exist, prepare and stau's run when its database has no run, multiply-sqlite, and
with --files the files such a history leaves (write_files): the logs and archives
of the runs since the last gc, the archives older runs kept, and every select_work
log of the year, each with the bytes of the file of the row it copies.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
import sqlite3
import subprocess
import sys

FAKE_PYTHON = """#!/bin/sh
# gen_history.py: stands in for Python. "$2" is the code stau passes with -c; the
# selector reads a JSON array on descriptor 3 whose last member is the file (relative
# to the project root, its working folder) it answers in.
case $2 in
*select_work*)
    result=$(sed 's/.*,"\\([^"]*\\)"]$/\\1/' <&3)
    printf 'ok\\n[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]' >"$result" ;;
esac
exit 0
"""

COLUMNS = [
    "id", "job", "attempt", "status", "queued_at", "started_at", "finished_at", "exit_code",
    "signal", "host", "pid", "git_commit", "kwargs_json", "work_ids_json", "code_fingerprint",
    "config_fingerprint", "inputs_fingerprint", "outputs_fingerprint", "reasons_json",
    "log_path", "archive_path", "rerun_of", "owner_pid", "owner_start", "heartbeat_at",
    "batch", "chunk", "chunks", "files", "env_names_json", "kwargs_given_json", "git_dirty",
    "git_changes_json",
]
FAIL_EVERY = 29
DAY_MS = 86_400_000


def prepare(project: str, stau: str) -> None:
    listing = subprocess.run([stau, "list", "--json"], cwd=project, check=True,
                             capture_output=True, text=True).stdout
    made = 0
    for job in json.loads(listing):
        for pattern in job.get("inputs") or []:
            path = pattern
            if glob.has_magic(pattern):
                if glob.glob(os.path.join(project, pattern)):
                    continue
                head, tail = os.path.split(pattern)
                path = os.path.join(head, tail.replace("**", "x").replace("*", "sample")
                                    .replace("?", "x"))
                if glob.has_magic(path):
                    continue  # a bracket expression: leave it unmatched
            made += touch(os.path.join(project, path))
        for path in job.get("outputs") or []:
            made += touch(os.path.join(project, path))
    venv_bin = os.path.join(project, ".venv", "bin")
    os.makedirs(venv_bin, exist_ok=True)
    fake = os.path.join(venv_bin, "python")
    with open(fake, "w") as fh:
        fh.write(FAKE_PYTHON)
    os.chmod(fake, 0o755)
    print(f"files={made} interpreter={fake}")


def touch(path: str) -> int:
    if os.path.exists(path):
        return 0
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()
    return 1


def plan(rows: int, have: int, days: float) -> tuple[int, int]:
    """(copies, shift per copy in ms)."""
    copies = max(0, math.ceil(rows / have) - 1)
    step = int(days * DAY_MS / copies) if copies else 0
    return copies, step


def recent_from(copies: int, since_gc: float | None) -> int:
    """The first copy (0 = oldest; the rows stau wrote are copy `copies`) made since the
    last gc: every copy when since_gc is None (gc never ran)."""
    if since_gc is None:
        return 0
    return copies + 1 - max(1, round(since_gc * (copies + 1)))


class Dialect:
    """What differs between SQLite's SQL and PostgreSQL's in the copies' expressions."""

    def __init__(self, pg: bool):
        self.pg = pg

    def concat(self, *parts: str) -> str:
        return "(" + " || ".join(parts) + ")"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def head_int(self, tail: str) -> str:
        """The number at the start of tail ("1796418305824.1.log" -> 1796418305824)."""
        return f"split_part({tail}, '.', 1)::bigint" if self.pg else f"CAST({tail} AS INTEGER)"

    def from_dot(self, tail: str) -> str:
        """tail from its first dot on (".1.log")."""
        return (f"substr({tail}, strpos({tail}, '.'))" if self.pg
                else f"substr({tail}, instr({tail}, '.'))")

    def minute(self, ms: str) -> str:
        """A unix-ms time as 'YYYY-MM-DD HH:MM' (UTC)."""
        if self.pg:
            return (f"to_char(to_timestamp(({ms}) / 1000.0) AT TIME ZONE 'UTC',"
                    f" 'YYYY-MM-DD HH24:MI')")
        return f"strftime('%Y-%m-%d %H:%M', ({ms}) / 1000, 'unixepoch')"


def copy_select(columns: list[str], copies: int, max_id: int, step: int, k_expr: str,
                d: Dialect, from_clause: str, since_gc: float | None = None,
                keep_last: int = 10, split_logs: bool = False) -> str:
    """The SELECT producing the copies; k_expr is the copy number (0 = oldest). from_clause
    has the rows stau wrote as r (moved up by copies * max_id) and, when since_gc is given,
    pj (job, n: how many of those rows each job has), and with split_logs t (id, log_head,
    log_ms, log_tail: each row's log path around the time in its name)."""
    off = f"CAST({k_expr} AS BIGINT) * {max_id}"
    back = f"CAST({copies} - ({k_expr}) AS BIGINT) * {step}"
    failed = f"(r.id + {k_expr}) % {FAIL_EVERY} = 0 AND r.status = 'succeeded'"
    new_id = f"r.id - {copies * max_id} + {off}"
    # the log's name carries its start (engine.c: .stau/logs/<job>.<ms>.<attempt>.log, or
    # <job>.<ms>.select.log for a failed select_work): moved back with the times
    if split_logs:
        # SQLite: from a table t of the rows' logs taken apart (multiply_sqlite), a third
        # of the time of taking each apart again for every copy
        log_path = (f"CASE WHEN t.log_ms IS NULL THEN r.log_path ELSE"
                    f" t.log_head || (t.log_ms - {back}) || t.log_tail END")
    else:
        prefix = d.concat("'.stau/logs/'", "r.job", "'.'")
        tail = f"substr(r.log_path, length({prefix}) + 1)"
        log_path = (f"CASE WHEN r.log_path IS NULL OR substr(r.log_path, 1, length({prefix}))"
                    f" <> {prefix} THEN r.log_path ELSE "
                    + d.concat(prefix, d.text(f"{d.head_int(tail)} - {back}"), d.from_dot(tail))
                    + " END")
    archive = d.concat("'.stau/archive/'", "r.job", "'.'", d.text(new_id), "'.tar.zst'")
    # after a gc with --keep-last keep_last: the copies older than the last gc keep
    # their archive only among about the job's keep_last newest rows before it
    first = recent_from(copies, since_gc)
    kept = (f"{k_expr} >= {first} - (({keep_last} + pj.n - 1) / pj.n)"
            if since_gc is not None else "1 = 1")
    reason = d.concat("'[{\"reason\":\"schedule\",\"evidence\":\"''@hourly'' ticked at '",
                      d.minute(f"r.queued_at - {back}"),
                      "' UTC, after the last run started\"}]'")
    exprs = {
        "id": new_id,
        "batch": f"r.batch - {copies * max_id} + {off}",
        "queued_at": f"r.queued_at - {back}",
        "started_at": f"r.started_at - {back}",
        "finished_at": f"r.finished_at - {back}",
        "heartbeat_at": f"r.heartbeat_at - {back}",
        "status": f"CASE WHEN {failed} THEN 'failed' ELSE r.status END",
        "exit_code": f"CASE WHEN {failed} THEN 1 ELSE r.exit_code END",
        "outputs_fingerprint": f"CASE WHEN {failed} THEN NULL ELSE r.outputs_fingerprint END",
        "log_path": log_path,
        "archive_path": (f"CASE WHEN r.archive_path IS NULL OR NOT ({kept}) THEN NULL"
                         f" ELSE {archive} END"),
        "reasons_json": (f"CASE WHEN r.reasons_json LIKE '[{{\"reason\":\"never-run\"%'"
                         f" THEN {reason} ELSE r.reasons_json END"),
    }
    cols = ", ".join(exprs.get(c, f"r.{c}") for c in columns)
    return f"SELECT {cols} FROM {from_clause} WHERE r.id > {copies * max_id}"


def multiply_sqlite(db: str, rows: int, days: float, since_gc: float | None = None,
                    keep_last: int = 10) -> dict:
    """Multiply the runs in the SQLite file db (see the module's docstring); returns what
    it made (rows, copies, step_ms, shift, recent_from, max_id)."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 10000")
    # one writer, nothing to recover from: no journal to write the file through twice
    # (it goes back to WAL, as stau keeps it, at the end)
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -512000")
    con.execute("PRAGMA temp_store = MEMORY")
    columns = [row[1] for row in con.execute("PRAGMA table_info(runs)")]
    have, max_id = con.execute("SELECT count(*), max(id) FROM runs").fetchone()
    copies, step = plan(rows, have, days)
    shift = copies * max_id
    con.execute("BEGIN IMMEDIATE")
    # the indexes and triggers go while the rows go in (each is made again from its own
    # text at the end: the schema is as stau made it), and what the triggers would have
    # done is done once: the copies are all older than the rows stau wrote, so no work
    # ID's last success moves; the job versions and the generation count the inserts
    kept = con.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'runs'"
                       " AND type IN ('index', 'trigger') AND sql IS NOT NULL").fetchall()
    for kind, name, _ in kept:
        con.execute(f'DROP {kind.upper()} "{name}"')
    con.execute(f"UPDATE runs SET id = id + {shift}, batch = batch + {shift},"
                f" archive_path = CASE WHEN archive_path IS NULL THEN NULL ELSE"
                f" '.stau/archive/' || job || '.' || (id + {shift}) || '.tar.zst' END")
    con.execute(f"UPDATE work_done SET run_id = run_id + {shift}")
    con.execute("CREATE TEMP TABLE pj (job TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    con.execute("INSERT INTO pj SELECT job, count(*) FROM runs GROUP BY job")
    con.execute("CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, log_head TEXT, log_ms INTEGER,"
                " log_tail TEXT)")
    parts = []
    for rid, job, log in con.execute("SELECT id, job, log_path FROM runs").fetchall():
        m = re.fullmatch(r"(\.stau/logs/" + re.escape(job) + r"\.)(\d+)(\..*)", log or "")
        parts.append((rid, m.group(1), int(m.group(2)), m.group(3)) if m else (rid, None, None, None))
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", parts)
    con.execute("CREATE TEMP TABLE k (k INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO k VALUES (?)", ((i,) for i in range(copies)))
    if copies:
        # copy by copy, each in id order: the ids ascend as the rows go in (no sort)
        select = copy_select(columns, copies, max_id, step, "k.k", Dialect(False),
                             "k CROSS JOIN runs r JOIN pj ON pj.job = r.job"
                             " JOIN t ON t.id = r.id", since_gc, keep_last, split_logs=True)
        con.execute(f"INSERT INTO runs ({', '.join(columns)}) {select} ORDER BY k.k, r.id")
    inserted = copies * have
    con.execute(f"UPDATE job_versions SET n = n + {copies} * COALESCE((SELECT n FROM pj"
                f" WHERE pj.job = job_versions.job), 0)")
    con.execute(f"UPDATE generation SET n = n + {inserted}")
    for _, _, sql in kept:
        con.execute(sql)
    con.execute("UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM runs) WHERE name = 'runs'")
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")
    total = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.close()
    return {"rows": total, "copies": copies, "step_ms": step, "shift": shift,
            "recent_from": recent_from(copies, since_gc), "max_id": max_id}


def write_files(project: str, made: dict, selects: bool = True) -> dict:
    """The files a history like made's leaves on disk: for the runs since the last gc
    (copies from made["recent_from"] on) their logs and archives, for the older runs
    that kept an archive that archive alone (gc removed its log), and (selects) for
    every copy the select_work logs of the rows stau wrote (gc never removes those:
    no run records a selection that worked). A copy's file has the bytes of the file
    of the row it copies. Returns how many of each it wrote."""
    state = os.path.join(project, ".stau")
    con = sqlite3.connect(os.path.join(state, "state.db"))
    copies, step, shift, max_id = made["copies"], made["step_ms"], made["shift"], made["max_id"]
    first = made["recent_from"] * max_id  # ids above this: since the last gc
    cache: dict[str, bytes] = {}

    def source(rel: str | None) -> bytes:
        if rel is None:
            return b""
        if rel not in cache:
            try:
                with open(os.path.join(project, rel), "rb") as fh:
                    cache[rel] = fh.read()
            except OSError:
                cache[rel] = b""
        return cache[rel]

    real = {}
    for rid, job, log, archive in con.execute(
            f"SELECT id, job, log_path, archive_path FROM runs WHERE id > {shift}"):
        real[rid] = (log, archive)
        # multiply_sqlite gave stau's rows ids shift higher: their archives follow
        old = os.path.join(state, "archive", f"{job}.{rid - shift}.tar.zst")
        if archive and shift and os.path.exists(old):
            os.rename(old, os.path.join(project, archive))
    counts = {"logs": 0, "archives": 0, "select_logs": 0}
    for rid, log, archive in con.execute("SELECT id, log_path, archive_path FROM runs"
                                         " WHERE archive_path IS NOT NULL OR id > ?"
                                         " ORDER BY id", (first,)):
        if rid > shift:
            continue  # stau's own rows have their files already
        real_log, real_archive = real.get((rid - 1) % max_id + 1 + shift, (None, None))
        if archive:
            with open(os.path.join(project, archive), "wb") as fh:
                fh.write(source(real_archive))
            counts["archives"] += 1
        if log and rid > first:
            with open(os.path.join(project, log), "wb") as fh:
                fh.write(source(real_log))
            counts["logs"] += 1
    con.close()
    if selects:
        logs = os.path.join(state, "logs")
        for name in os.listdir(logs):
            m = re.fullmatch(r"(.+)\.(\d+)\.select\.log", name)
            if not m:
                continue
            with open(os.path.join(logs, name), "rb") as fh:
                text = fh.read()
            for k in range(copies):
                ms = int(m.group(2)) - (copies - k) * step
                with open(os.path.join(logs, f"{m.group(1)}.{ms}.select.log"), "wb") as fh:
                    fh.write(text)
                counts["select_logs"] += 1
    return counts


def year(project: str, stau: str, rows: int, days: float, since_gc: float | None,
         keep_last: int, files: bool, jobs: int) -> None:
    stau = os.path.abspath(stau)
    db = os.path.join(project, ".stau", "state.db")
    if not os.path.isdir(project):
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "gen_project.py"),
                        project, "--jobs", str(jobs), "--no-verify"], check=True,
                       stdout=subprocess.DEVNULL)
    if not os.path.exists(db) or not sqlite_count(db):
        env = {k: v for k, v in os.environ.items() if k not in ("STAU_DB", "STAU_DB_SCHEMA")}
        prepare(project, stau)
        p = subprocess.run([stau, "-C", project, "-j", "2"], env=env, capture_output=True,
                           text=True)
        if p.returncode != 0:
            sys.exit(f"gen_history.py: the first run of {project} failed:\n{p.stdout[-2000:]}"
                     f"{p.stderr[-2000:]}")
    made = multiply_sqlite(db, rows, days, since_gc, keep_last)
    line = " ".join(f"{k}={v}" for k, v in made.items())
    if files:
        line += " " + " ".join(f"{k}={v}" for k, v in write_files(project, made).items())
    print(line)


def sqlite_count(db: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def multiply_pg(rows: int, have: int, max_id: int, days: float) -> None:
    copies, step = plan(rows, have, days)
    shift = copies * max_id
    select = copy_select(COLUMNS, copies, max_id, step, "k", Dialect(True),
                         "runs r, generate_series(0, " + str(copies - 1) + ") AS k")
    print(f"""\\set ON_ERROR_STOP 1
BEGIN;
SET LOCAL stau.importing = 'on';
UPDATE runs SET id = id + {shift}, batch = batch + {shift},
  archive_path = CASE WHEN archive_path IS NULL THEN NULL ELSE
  '.stau/archive/' || job || '.' || (id + {shift}) || '.tar.zst' END;
UPDATE work_done SET run_id = run_id + {shift};
INSERT INTO runs ({', '.join(COLUMNS)}) {select} ORDER BY 1;
SELECT setval('runs_id_seq', (SELECT max(id) FROM runs));
UPDATE job_versions v SET n = v.n + c.n FROM (SELECT job, count(*) * 3 AS n FROM runs
  WHERE id <= {shift} GROUP BY job) c WHERE c.job = v.job;
UPDATE generation SET n = n + 1;
COMMIT;
VACUUM ANALYZE runs;
VACUUM ANALYZE job_versions;
SELECT 'rows=' || count(*) || ' copies={copies} step_ms={step}' FROM runs;""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("project")
    p.add_argument("stau")
    s = sub.add_parser("multiply-sqlite")
    s.add_argument("db")
    s.add_argument("--rows", type=int, required=True)
    s.add_argument("--days", type=float, default=365)
    s.add_argument("--since-gc", type=float)
    s.add_argument("--keep-last", type=int, default=10)
    g = sub.add_parser("multiply-pg")
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--have", type=int, required=True)
    g.add_argument("--max-id", type=int, required=True)
    g.add_argument("--days", type=float, default=365)
    y = sub.add_parser("year")
    y.add_argument("project")
    y.add_argument("stau")
    y.add_argument("--rows", type=int, required=True)
    y.add_argument("--jobs", type=int, default=4000)
    y.add_argument("--days", type=float, default=365)
    y.add_argument("--since-gc", type=float)
    y.add_argument("--keep-last", type=int, default=10)
    y.add_argument("--files", action="store_true")
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a.project, os.path.abspath(a.stau))
    elif a.cmd == "multiply-sqlite":
        made = multiply_sqlite(a.db, a.rows, a.days, a.since_gc, a.keep_last)
        print(" ".join(f"{k}={v}" for k, v in made.items()))
    elif a.cmd == "multiply-pg":
        multiply_pg(a.rows, a.have, a.max_id, a.days)
    else:
        year(a.project, a.stau, a.rows, a.days, a.since_gc, a.keep_last, a.files, a.jobs)


if __name__ == "__main__":
    sys.exit(main())
