#!/usr/bin/env python3
"""Give a generated project (gen_project.py) a year-like run history, for the plan
part of bench_pg.sh.

    gen_history.py prepare PROJECT STAU_BIN
    gen_history.py multiply-sqlite DB --rows N [--days D]
    gen_history.py multiply-pg --rows N --have R --max-id M [--days D]   (SQL to stdout)

prepare: makes the project runnable in no time, with real rows: every declared
input (a glob gets one matching file) and output exists (empty), and the project's
interpreter, .venv/bin/python, is a shell script standing in for Python: it exits 0
at once, and when asked for select_work (the selector snippet stau passes with -c)
it answers 25 work IDs (1..25), so chunked jobs run as chunks. `stau` then runs
every job once, as it would run real ones: claims, chunks, starts, ends, archives,
fingerprints and evidence are stau's own. The job list comes from `STAU_BIN list
--json` run in PROJECT (with whatever STAU_DB is set: list does not open it).

multiply-sqlite / multiply-pg: the runs stau recorded (R rows, ids up to M) become
the newest of a history of at least N rows: C = ceil(N / R) - 1 older copies of
every row are inserted, copy k (0 = oldest) with ids and batches id + k * M and
every time (queued, started, finished, heartbeat) D days (365) * (C - k) / C
earlier, so that ids and times grow together; the rows stau wrote are moved up to
id + C * M first (nothing points at them: no reruns). Every 29th copied run
failed (exit 1, no outputs fingerprint), as a history has some; each copy's
archive path names its own id. The other columns (owner, host, kwargs,
fingerprints, reasons, evidence lines, logs) are the real rows' own. The id
sequence moves past the last id. On PostgreSQL the insert runs with
stau.importing set (the triggers skip their work, as `stau db copy` has them),
then moves the generation and the job versions on, then VACUUM ANALYZE (what
autovacuum would have done long before a year passed); SQLite is left as stau
keeps it (stau never runs ANALYZE), its triggers run for every row.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sqlite3
import subprocess
import sys

FAKE_PYTHON = """#!/bin/sh
# gen_history.py: stands in for Python. "$2" is the code stau passes with -c; the
# selector's result file is its fourth argument ("$6").
case $2 in
*select_work*) printf 'ok\\n[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]' >"$6" ;;
esac
exit 0
"""

COLUMNS = [
    "id", "job", "attempt", "status", "queued_at", "started_at", "finished_at", "exit_code",
    "signal", "host", "pid", "git_commit", "kwargs_json", "work_ids_json", "code_fingerprint",
    "config_fingerprint", "inputs_fingerprint", "outputs_fingerprint", "reasons_json",
    "log_path", "archive_path", "rerun_of", "owner_pid", "owner_start", "heartbeat_at",
    "batch", "chunk", "chunks", "files",
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


def copy_select(copies: int, max_id: int, step: int, k_expr: str, concat, from_clause: str) -> str:
    """The SELECT producing the copies; k_expr is the copy number (0 = oldest)."""
    off = f"CAST({k_expr} AS BIGINT) * {max_id}"
    back = f"CAST({copies} - ({k_expr}) AS BIGINT) * {step}"
    failed = f"(r.id + {k_expr}) % {FAIL_EVERY} = 0 AND r.status = 'succeeded'"
    exprs = {
        "id": f"r.id - {copies * max_id} + {off}",
        "batch": f"r.batch - {copies * max_id} + {off}",
        "queued_at": f"r.queued_at - {back}",
        "started_at": f"r.started_at - {back}",
        "finished_at": f"r.finished_at - {back}",
        "heartbeat_at": f"r.heartbeat_at - {back}",
        "status": f"CASE WHEN {failed} THEN 'failed' ELSE r.status END",
        "exit_code": f"CASE WHEN {failed} THEN 1 ELSE r.exit_code END",
        "outputs_fingerprint": f"CASE WHEN {failed} THEN NULL ELSE r.outputs_fingerprint END",
        "archive_path": ("CASE WHEN r.archive_path IS NULL THEN NULL ELSE "
                         + concat("'.stau/archive/'", "r.job", "'.'",
                                  f"CAST(r.id - {copies * max_id} + {off} AS TEXT)",
                                  "'.tar.zst'") + " END"),
    }
    cols = ", ".join(exprs.get(c, f"r.{c}") for c in COLUMNS)
    return f"SELECT {cols} FROM {from_clause} WHERE r.id > {copies * max_id}"


def multiply_sqlite(db: str, rows: int, days: float) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 10000")
    have, max_id = con.execute("SELECT count(*), max(id) FROM runs").fetchone()
    copies, step = plan(rows, have, days)
    con.execute("BEGIN IMMEDIATE")
    con.execute(f"UPDATE runs SET id = id + {copies * max_id}, batch = batch + {copies * max_id},"
                f" archive_path = CASE WHEN archive_path IS NULL THEN NULL ELSE"
                f" '.stau/archive/' || job || '.' || (id + {copies * max_id}) || '.tar.zst' END")
    select = copy_select(copies, max_id, step, "k.k", lambda *p: " || ".join(p),
                         f"runs r, (WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1"
                         f" FROM s WHERE k + 1 < {copies}) SELECT k FROM s) k")
    if copies:
        con.execute(f"INSERT INTO runs ({', '.join(COLUMNS)}) {select} ORDER BY 1")
    con.execute("UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM runs) WHERE name = 'runs'")
    con.execute("COMMIT")
    total = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.close()
    print(f"rows={total} copies={copies} step_ms={step}")


def multiply_pg(rows: int, have: int, max_id: int, days: float) -> None:
    copies, step = plan(rows, have, days)
    select = copy_select(copies, max_id, step, "k", lambda *p: " || ".join(p),
                         f"runs r, generate_series(0, {copies - 1}) AS k")
    print(f"""\\set ON_ERROR_STOP 1
BEGIN;
SET LOCAL stau.importing = 'on';
UPDATE runs SET id = id + {copies * max_id}, batch = batch + {copies * max_id},
  archive_path = CASE WHEN archive_path IS NULL THEN NULL ELSE
  '.stau/archive/' || job || '.' || (id + {copies * max_id}) || '.tar.zst' END;
INSERT INTO runs ({', '.join(COLUMNS)}) {select} ORDER BY 1;
SELECT setval('runs_id_seq', (SELECT max(id) FROM runs));
UPDATE job_versions v SET n = v.n + c.n FROM (SELECT job, count(*) * 3 AS n FROM runs
  WHERE id <= {copies * max_id} GROUP BY job) c WHERE c.job = v.job;
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
    g = sub.add_parser("multiply-pg")
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--have", type=int, required=True)
    g.add_argument("--max-id", type=int, required=True)
    g.add_argument("--days", type=float, default=365)
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a.project, a.stau)
    elif a.cmd == "multiply-sqlite":
        multiply_sqlite(a.db, a.rows, a.days)
    else:
        multiply_pg(a.rows, a.have, a.max_id, a.days)


if __name__ == "__main__":
    sys.exit(main())
