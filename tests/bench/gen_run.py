#!/usr/bin/env python3
"""Generate the workloads of stau's execution benchmark (bench_run.sh).

    gen_run.py OUT_DIR WORKLOAD --python JOB_PYTHON [--jobs N] [--seed S]

WORKLOAD is one of
  wide    N (500) independent trivial jobs: src/job_NNN.py, body `pass`, no outputs
  chains  10 chains of N/10 (50) trivial jobs: src/chain_C/step_SS.py, each step
          depending on the previous one of its chain
  noop    N (10,000) jobs over 100 packages, src/pkg_PP/job_NNNNN.py, each
          depending on 0-3 earlier jobs and writing out/<name>.done
  probe   3 jobs (a, b after a, c after b) that write out/<name>.done: a quick
          check of whether a stau binary can run jobs at all

Every job is a stau job (SPEC §1): `STAU_CONFIG = {"dependencies": [...],
["outputs": ["out/<name>.done"],] "main_func": "main"}` and `def main()`. Beside
the jobs, OUT_DIR gets the same workflow for the peers:

  Makefile   one explicit rule per job: target = its output (noop, probe) or the
             stamp file .stamps/<name> (wide, chains); prerequisites = the job's
             .py file and its dependencies' targets; builtin rules off (-r -R)
  dodo.py    doit: one task per job (job:<name>) with the same file_dep/targets
  Snakefile  one wildcard rule `job` whose input function gives the same
             prerequisites, and `all`; `--config limit=K` limits `all` to the first K
             jobs (dependencies always point at earlier jobs, so such a prefix is
             closed under dependencies)
  jobs.json  [[name, file, [prerequisite targets], target], ...] in dependency
             order, read by dodo.py and the Snakefile
  xargs.args the floor's arguments FILE\\0main\\0{}\\0\\0\\0, five per job, for
             `xargs -0 -P 2 -n 5 JOB_PYTHON -c "$STAU_BENCH_BOOT" src`

Every recipe runs the job exactly as stau does (SPEC §3):
    JOB_PYTHON -c "$STAU_BENCH_BOOT" src FILE main '{}' '' ''
with the bootstrap snippet taken from the environment variable STAU_BENCH_BOOT
(bench_run.sh sets it; a multi-line snippet cannot be written into a Makefile
recipe). For the trivial workloads, which have no outputs, the peers need targets
to order the jobs: their recipes append `&& : > .stamps/<name>` (a shell builtin,
no extra process), so they do slightly more work than stau and the floor.

Output is a pure function of the arguments. A summary line goes to stdout:
`workload=W jobs=N dependencies=D`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys

DEFAULT_JOBS = {"wide": 500, "chains": 500, "noop": 10000, "probe": 3}
CHAINS = 10
PACKAGES = 100


def plan(workload: str, n: int, seed: int) -> list[tuple[str, str, list[str]]]:
    """[(name, path below src/, [dependency names])] in dependency order."""
    r = random.Random(f"{workload}:{n}:{seed}")
    jobs: list[tuple[str, str, list[str]]] = []
    if workload == "wide":
        width = len(str(n - 1))
        for i in range(n):
            name = f"job_{i:0{width}d}"
            jobs.append((name, f"{name}.py", []))
    elif workload == "chains":
        if n % CHAINS:
            sys.exit(f"gen_run: --jobs for chains must be a multiple of {CHAINS}")
        length = n // CHAINS
        width = len(str(length - 1))
        # chain by chain: each chain's steps in order, so the list is in dependency order
        for c in range(CHAINS):
            for s in range(length):
                name = f"chain_{c}.step_{s:0{width}d}"
                deps = [f"chain_{c}.step_{s - 1:0{width}d}"] if s else []
                jobs.append((name, f"chain_{c}/step_{s:0{width}d}.py", deps))
    elif workload == "noop":
        width = len(str(n - 1))
        per_pkg = max(1, -(-n // PACKAGES))
        names: list[str] = []
        for i in range(n):
            pkg = f"pkg_{i // per_pkg:02d}"
            name = f"{pkg}.job_{i:0{width}d}"
            k = 0 if i == 0 else r.choice((0, 1, 1, 2, 2, 3))
            k = min(k, i)
            deps: set[int] = set()
            while len(deps) < k:
                # mostly recent jobs (a long, layered DAG), sometimes any earlier one
                lo = 0 if r.random() < 0.3 else max(0, i - 50)
                deps.add(r.randrange(lo, i))
            jobs.append((name, f"{pkg}/job_{i:0{width}d}.py", [names[d] for d in sorted(deps)]))
            names.append(name)
    elif workload == "probe":
        jobs = [("a", "a.py", []), ("b", "b.py", ["a"]), ("c", "c.py", ["b"])]
    else:
        sys.exit(f"gen_run: unknown workload {workload!r}")
    return jobs


def job_source(workload: str, name: str, deps: list[str], output: str | None) -> str:
    config = {"dependencies": deps}
    if output:
        config["outputs"] = [output]
    config["main_func"] = "main"
    body = f"    open({output!r}, \"w\").close()" if output else "    pass"
    return (f'"""{name}: a job of the {workload} workload of stau\'s execution benchmark (gen_run.py)."""\n'
            f"STAU_CONFIG = {json.dumps(config)}\n"
            f"\n\n"
            f"def main():\n"
            f"{body}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("workload", choices=sorted(DEFAULT_JOBS))
    ap.add_argument("--python", required=True, help="interpreter every recipe runs the jobs with")
    ap.add_argument("--jobs", type=int, help="number of jobs (default: 500, 500, 10000, 3)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    workload = args.workload
    n = args.jobs or DEFAULT_JOBS[workload]
    if workload == "probe":
        n = 3
    jobs = plan(workload, n, args.seed)
    has_outputs = workload in ("noop", "probe")

    out = args.out_dir
    os.makedirs(os.path.join(out, "src"), exist_ok=True)
    os.makedirs(os.path.join(out, "out" if has_outputs else ".stamps"), exist_ok=True)

    target = {}
    for name, _, _ in jobs:
        target[name] = f"out/{name}.done" if has_outputs else f".stamps/{name}"

    table = []
    made_dirs = set()
    for name, rel, deps in jobs:
        path = os.path.join(out, "src", rel)
        d = os.path.dirname(path)
        if d not in made_dirs:
            os.makedirs(d, exist_ok=True)
            made_dirs.add(d)
        with open(path, "w") as fh:
            fh.write(job_source(workload, name, deps, target[name] if has_outputs else None))
        table.append([name, f"src/{rel}", [target[d] for d in deps], target[name]])

    with open(os.path.join(out, "jobs.json"), "w") as fh:
        json.dump(table, fh, separators=(",", ":"))
        fh.write("\n")

    py = args.python
    stamp_note = ("" if has_outputs else
                  "# The jobs have no outputs: a stamp file per job orders them (`: > STAMP`\n"
                  "# after the job, a shell builtin), slightly more work than stau does.\n")

    # --- the floor: xargs -0 -P 2 -n 5 PY -c "$STAU_BENCH_BOOT" src < xargs.args
    # (the last two arguments, empty, are stau's: the job is not split into work IDs,
    # nor offered job_id)
    with open(os.path.join(out, "xargs.args"), "wb") as fh:
        for _, f, _, _ in table:
            fh.write(f"{f}\0main\0{{}}\0\0\0".encode())

    # --- make
    def mk(p: str) -> str:
        return p.replace("$", "$$").replace(" ", "\\ ")

    lines = [f"# {workload}: {len(table)} jobs, generated by stau's tests/bench/gen_run.py.",
             "# Needs STAU_BENCH_BOOT (the bootstrap snippet) in the environment.",
             stamp_note.rstrip("\n"),
             "MAKEFLAGS += --no-builtin-rules --no-builtin-variables",
             ".SUFFIXES:",
             f"PY := {mk(py)}",
             ".PHONY: all",
             "all: \\"]
    lines = [line for line in lines if line]
    for i, (_, _, _, t) in enumerate(table):
        lines.append(f"  {mk(t)}" + (" \\" if i < len(table) - 1 else ""))
    lines.append("")
    for _, f, deps, t in table:
        lines.append(f"{mk(t)}: {' '.join(mk(p) for p in [f] + deps)}")
        recipe = f"\t$(PY) -c \"$$STAU_BENCH_BOOT\" src {mk(f)} main '{{}}' '' ''"
        if not has_outputs:
            recipe += " && : > $@"
        lines.append(recipe)
    with open(os.path.join(out, "Makefile"), "w") as fh:
        fh.write("\n".join(lines) + "\n")

    # --- doit
    stamp = "" if has_outputs else " + ' && : > ' + shlex.quote(target)"
    dodo = f'''"""{workload}: {len(table)} jobs, generated by stau's tests/bench/gen_run.py.

Needs STAU_BENCH_BOOT (the bootstrap snippet) in the environment.
{stamp_note.replace("# ", "").strip()}
"""
import json
import shlex

PY = {py!r}
DOIT_CONFIG = {{"verbosity": 0, "backend": "sqlite3"}}

with open("jobs.json") as _fh:
    JOBS = json.load(_fh)


def task_job():
    for name, file, deps, target in JOBS:
        yield {{
            "name": name,
            "actions": [shlex.quote(PY) + ' -c "$STAU_BENCH_BOOT" src ' + shlex.quote(file) + " main '{{}}' '' ''"{stamp}],
            "file_dep": [file] + deps,
            "targets": [target],
        }}
'''
    with open(os.path.join(out, "dodo.py"), "w") as fh:
        fh.write(dodo)

    # --- Snakemake
    out_pattern = "out/{name}.done" if has_outputs else ".stamps/{name}"
    snake_stamp = "" if has_outputs else " && : > {output:q}"
    snakefile = f'''# {workload}: {len(table)} jobs, generated by stau's tests/bench/gen_run.py.
# Needs STAU_BENCH_BOOT (the bootstrap snippet) in the environment.
# `--config limit=K` limits the run to the first K jobs (a prefix closed under dependencies).
{stamp_note.rstrip()}
import json

PY = {py!r}
with open("jobs.json") as _fh:
    JOBS = json.load(_fh)
INPUTS = {{name: [file] + deps for name, file, deps, _ in JOBS}}
N = int(config.get("limit", len(JOBS)))

wildcard_constraints:
    name=r"[^/]+"

localrules: all

rule all:
    input: [target for _, _, _, target in JOBS[:N]]

rule job:
    input: lambda w: INPUTS[w.name]
    output: "{out_pattern}"
    shell: '{{PY:q}} -c "$STAU_BENCH_BOOT" src {{input[0]:q}} main "{{{{}}}}" "" ""{snake_stamp}'
'''
    with open(os.path.join(out, "Snakefile"), "w") as fh:
        fh.write(snakefile.replace("\n\n\n", "\n\n"))

    n_deps = sum(len(d) for _, _, d in jobs)
    print(f"workload={workload} jobs={len(jobs)} dependencies={n_deps}")


if __name__ == "__main__":
    main()
