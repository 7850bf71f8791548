#!/usr/bin/env python3
"""Generate the workloads of stau's serving benchmark (bench_serve.sh).

    gen_serve.py OUT_DIR WORKLOAD [--jobs N] [--schedule CRON]

WORKLOAD is one of
  tick    one job, src/tick.py, on "@every 1s" (--schedule overrides); the first
          statement of its main records time.time() in out/starts.log
  edit    one derived job (no schedule), src/edited.py, recording its start the
          same way; the benchmark appends statements to its file while serving
  idle    N (3,000) trivial jobs over 30 packages, src/pkg_PP/job_NNNN.py, each on
          the daily --schedule (default "0 3 * * *"): due once (never ran), then
          not before that time of day
  churn   N (100) trivial jobs, src/churn_NN.py, on "@every 1s": with fewer slots
          than jobs, always something due, for counting thousands of runs
  wide    N (2,000) trivial derived jobs (no schedule, no dependencies) over 20
          packages, src/pkg_PP/job_NNNN.py: each due once (never ran)

Every job is a stau job (SPEC §1): `STAU_CONFIG = {["schedule": ...,] "main_func":
"main"}` and `def main()`; a trivial one's body is `pass`. The recording jobs
write one line per run, `STAU_RUN_ID UNIX_SECONDS`, appended with one write, to
out/starts.log below the project root (the job's working folder, which stau does
not watch: no declared inputs, and out/ is outside the jobs root src/).

Output is a pure function of the arguments. A summary line goes to stdout:
`workload=W jobs=N`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

DEFAULT_JOBS = {"tick": 1, "edit": 1, "idle": 3000, "churn": 100, "wide": 2000}
PACKAGES = {"idle": 30, "wide": 20}

RECORD = ('    t = time.time()\n'
          '    with open("out/starts.log", "a") as fh:\n'
          '        fh.write(f"{os.environ.get(\'STAU_RUN_ID\', \'?\')} {t:.6f}\\n")\n')


def source(workload: str, name: str, config: dict, record: bool) -> str:
    head = f'"""{name}: a job of the {workload} workload of stau\'s serving benchmark (gen_serve.py)."""\n'
    if record:
        # time is imported at module level so that main's first statement is the clock read
        return (head + "import os\nimport time\n\n"
                f"STAU_CONFIG = {json.dumps(config)}\n\n\n"
                "def main():\n" + RECORD)
    return head + f"STAU_CONFIG = {json.dumps(config)}\n\n\ndef main():\n    pass\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("workload", choices=sorted(DEFAULT_JOBS))
    ap.add_argument("--jobs", type=int, help="number of jobs (idle 3000, churn 100, wide 2000)")
    ap.add_argument("--schedule", help='tick: default "@every 1s"; idle: default "0 3 * * *"')
    args = ap.parse_args()

    w = args.workload
    n = 1 if w in ("tick", "edit") else (args.jobs or DEFAULT_JOBS[w])
    if n < 1:
        ap.error("--jobs must be at least 1")
    src = os.path.join(args.out_dir, "src")
    if os.path.exists(src):
        sys.exit(f"gen_serve: {src} exists; give a fresh OUT_DIR")
    os.makedirs(src)
    os.makedirs(os.path.join(args.out_dir, "out"), exist_ok=True)

    files: list[tuple[str, str]] = []  # (path below src/, text)
    if w == "tick":
        files.append(("tick.py", source(w, "tick", {"schedule": args.schedule or "@every 1s",
                                                     "main_func": "main"}, True)))
    elif w == "edit":
        files.append(("edited.py", source(w, "edited", {"main_func": "main"}, True)))
    elif w == "churn":
        width = len(str(n - 1))
        for i in range(n):
            name = f"churn_{i:0{width}d}"
            files.append((f"{name}.py", source(w, name, {"schedule": args.schedule or "@every 1s",
                                                          "main_func": "main"}, False)))
    else:  # idle, wide
        width = len(str(n - 1))
        packages = min(PACKAGES[w], n)
        per_pkg = -(-n // packages)
        config = {"main_func": "main"}
        if w == "idle":
            config = {"schedule": args.schedule or "0 3 * * *", "main_func": "main"}
        for i in range(n):
            pkg = f"pkg_{i // per_pkg:02d}"
            name = f"{pkg}.job_{i:0{width}d}"
            files.append((f"{pkg}/job_{i:0{width}d}.py", source(w, name, config, False)))

    for rel, text in files:
        path = os.path.join(src, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
    print(f"workload={w} jobs={len(files)}")


if __name__ == "__main__":
    main()
