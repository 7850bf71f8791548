# The bundled example project (fixtures/example), which ./setup.sh shows off:
# check, list, list --json, and its jobs really run.

test_example_check() {
    use_fixture example
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
7 jobs, 8 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

test_example_check_from_elsewhere() {
    use_fixture example fixtures/example
    cd "$TEST_TMP" || return
    run -C fixtures/example check
    expect_exit 0
    expect_stdout_eq <<'EOF'
7 jobs, 8 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

# As ./setup.sh shows it off: in a copy, `stau` runs every job, `why` explains one
# and `status` shows them all succeeded.
test_example_as_setup_runs_it() {
    use_fixture example
    run
    expect_exit 0
    expect_stdout_contains "7 ran: 7 succeeded, 0 failed, 0 skipped"
    run why sales.daily
    expect_exit 0
    expect_stdout_contains "sales.daily is not due:"
    expect_stdout_contains "  last success: run "
    run status
    expect_exit 0
    [ "$(grep -cE '^[a-z_.]+ +ok +#[0-9]+ succeeded' "$OUT")" = 7 ] || fail "status does not show 7 jobs ok: $(cat "$OUT")"
}

test_example_list() {
    use_fixture example
    run list
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
NAME               FILE                      DEPENDENCIES                                                                   SCHEDULE      POLICY     TAGS
ingest.customers   src/ingest/customers.py   -                                                                              0 * * * *     scheduled  ingest
ingest.fx_rates    src/ingest/fx_rates.py    -                                                                              @hourly       scheduled  ingest,finance
ingest.orders      src/ingest/orders.py      -                                                                              */15 * * * *  scheduled  ingest
reports.manifest   src/reports/manifest.py   reports.weekly (max_lag 1440m)                                                 -             derived    reporting
reports.weekly     src/reports/weekly.py     sales.daily, sales.by_customer                                                 0 7 * * MON   scheduled  finance,reporting
sales.by_customer  src/sales/by_customer.py  ingest.orders, ingest.customers (max_lag 60m), ingest.fx_rates (max_lag 120m)  -             derived    finance
sales.daily        src/sales/daily.py        ingest.orders, ingest.fx_rates (max_lag 120m)                                  30 6 * * *    scheduled  finance
EOF
}

test_example_list_json() {
    use_fixture example
    run list --json
    expect_exit 0
    expect_stderr_empty
    "$PY" - "$OUT" <<'EOF' || fail "list --json of the example is not as expected"
import json, sys

jobs = json.load(open(sys.argv[1]))
keys = {"name", "file", "valid", "code_files", "code_fingerprint", "timetable", "dependencies", "schedule", "timezone",
        "inputs", "outputs", "main_func", "kwargs", "retries", "retry_delay", "timeout",
        "slots", "tags", "python", "chunk_size", "work_ids", "allow_multiple_jobs",
        "is_streaming", "job_type", "data_sources", "data_sinks", "policy", "on_change",
        "not_run", "on", "log_limit"}
dep_keys = {"job", "max_lag", "kwargs", "unique", "allow_missing_work_ids"}
ok = True
def bad(msg):
    global ok
    ok = False
    print(msg)

names = [j["name"] for j in jobs]
if names != sorted(names) or len(names) != 7:
    bad("jobs: %s" % names)
for j in jobs:
    if set(j) != keys:
        bad("%s: missing %s, unexpected %s" % (j["name"], sorted(keys - set(j)), sorted(set(j) - keys)))
    for d in j.get("dependencies", []):
        if set(d) != dep_keys:
            bad("%s: a dependency has the keys %s" % (j["name"], sorted(d)))
    if j.get("valid") is not True:
        bad("%s is not valid" % j["name"])
    # The shared helpers are part of every job's code.
    if "src/shop/csvio.py" not in j.get("code_files", []):
        bad("%s: code_files %s lack src/shop/csvio.py" % (j["name"], j.get("code_files")))
    if j["file"] != j.get("code_files", [None])[0]:
        bad("%s: the job's own file is not first in code_files" % j["name"])

by = {j["name"]: j for j in jobs}
daily = by["sales.daily"]
expect = {
    "schedule": ["30 6 * * *"], "timezone": "Europe/Berlin", "main_func": "main",
    "kwargs": {"currency": "EUR"}, "outputs": ["data/out/sales_daily.csv"],
    "inputs": ["data/clean/orders.csv", "data/clean/fx_rates.csv"], "tags": ["finance"],
    "code_files": ["src/sales/daily.py", "src/shop/__init__.py", "src/shop/csvio.py",
                   "src/shop/money.py"],
    "dependencies": [
        {"job": "ingest.orders", "max_lag": None, "kwargs": {}, "unique": False,
         "allow_missing_work_ids": False},
        {"job": "ingest.fx_rates", "max_lag": 120, "kwargs": {}, "unique": False,
         "allow_missing_work_ids": False},
    ],
}
for k, v in expect.items():
    if daily.get(k) != v:
        bad("sales.daily: %s is %r, expected %r" % (k, daily.get(k), v))
fx = by["ingest.fx_rates"]
for k, v in {"retries": 3, "retry_delay": 30, "timezone": "UTC", "schedule": ["@hourly"]}.items():
    if fx.get(k) != v:
        bad("ingest.fx_rates: %s is %r, expected %r" % (k, fx.get(k), v))
policies = {n: (j["policy"], j["on_change"]) for n, j in by.items()}
if policies != {"ingest.customers": ("scheduled", False), "ingest.fx_rates": ("scheduled", False),
                "ingest.orders": ("scheduled", False), "reports.manifest": ("derived", True),
                "reports.weekly": ("scheduled", False), "sales.by_customer": ("derived", True),
                "sales.daily": ("scheduled", False)}:
    bad("policies: %r" % policies)
if by["reports.manifest"]["main_func"] is not None:
    bad("reports.manifest should run as __main__")
if by["reports.weekly"]["timeout"] != 600 or by["reports.weekly"]["kwargs"] != {"top_n": 3}:
    bad("reports.weekly: %r" % by["reports.weekly"])
sys.exit(0 if ok else 1)
EOF
}

test_example_dot() {
    use_fixture example
    run dot
    expect_exit 0
    dot -Tsvg <"$OUT" >"$TEST_TMP/graph.svg" 2>"$TEST_TMP/dot.err" || fail "dot -Tsvg: $(cat "$TEST_TMP/dot.err")"
}

test_example_has_its_data() {
    use_fixture example
    for f in data/raw/orders.csv data/raw/customers.csv data/raw/fx_rates.csv; do
        expect_file "$f"
        [ "$(wc -l <"$f")" -ge 3 ] || fail "$f holds almost nothing"
    done
}

test_example_jobs_run() {
    # Every job, upstream first, the way SPEC §3 says stau will run it: from the
    # project root, the jobs root on sys.path, main_func(**kwargs) or __main__;
    # each in its own interpreter. Then every declared output exists, and
    # nothing was written outside data/clean and data/out.
    use_fixture example
    run list --json
    expect_exit 0
    find . -type f -not -path './.stau/*' | sort >"$TEST_TMP/before"
    "$PY" - "$OUT" "$PY" <<'EOF' || fail "the example's jobs do not all run"
import json, os, subprocess, sys

jobs = {j["name"]: j for j in json.load(open(sys.argv[1]))}
python = sys.argv[2]
BOOT = r"""
import importlib.util, json, os, runpy, sys
path, func, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, os.path.abspath("src"))
if func:
    spec = importlib.util.spec_from_file_location("stau_job", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    getattr(mod, func)(**kwargs)
else:
    runpy.run_path(path, run_name="__main__")
"""
done, order = set(), []
while len(done) < len(jobs):
    ready = sorted(n for n, j in jobs.items() if n not in done
                   and all(d["job"] in done for d in j["dependencies"]))
    if not ready:
        sys.exit("no job is ready: %s" % sorted(set(jobs) - done))
    for n in ready:
        order.append(n)
        done.add(n)
ok = True
for n in order:
    j = jobs[n]
    p = subprocess.run([python, "-c", BOOT, j["file"], j["main_func"] or "",
                        json.dumps(j["kwargs"])], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if p.returncode != 0:
        print("%s failed (%d):\n%s%s" % (n, p.returncode, p.stdout, p.stderr))
        ok = False
        continue
    for out in j["outputs"]:
        if not os.path.isfile(out):
            print("%s did not write its output %s" % (n, out))
            ok = False
manifest = json.load(open("data/out/manifest.json"))
if sorted(manifest) != ["sales_by_customer.csv", "sales_daily.csv", "weekly_report.txt"]:
    print("manifest: %s" % manifest)
    ok = False
report = open("data/out/weekly_report.txt").read()
if "Top 3 customers:" not in report or "Emmy Noether" not in report:
    print("weekly report:\n" + report)
    ok = False
sys.exit(0 if ok else 1)
EOF
    find . -type f -not -path './.stau/*' -not -path './data/clean/*' -not -path './data/out/*' |
        sort >"$TEST_TMP/after"
    if ! cmp -s "$TEST_TMP/before" "$TEST_TMP/after"; then
        fail "running the jobs changed files outside data/clean and data/out:"
        diff "$TEST_TMP/before" "$TEST_TMP/after"
    fi
    # And stau still sees the same project (outputs are no jobs).
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
7 jobs, 8 dependencies, 0 warnings
EOF
}
