# `stau rerun RUN`: the run's job again, with the keyword arguments that run had.

test_rerun_uses_the_recorded_kwargs() {
    new_project
    write src/echo.py <<'PY'
STAU_CONFIG = {"main_func": "main", "kwargs": {"region": "eu"}}


def main(region):
    with open("regions.txt", "a") as f:
        f.write(region + "\n")
PY
    run
    expect_exit 0
    # The declaration changes; the rerun of run 1 still gets the old arguments.
    sed -i 's/"eu"/"us"/' src/echo.py
    run rerun 1
    expect_exit 0
    expect_stdout_contains "[1/1] echo ok"
    expect_eq "regions" "eu eu" "$(tr '\n' ' ' <regions.txt | sed 's/ $//')"
    run show 2 --json
    expect_exit 0
    if ! "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["rerun_of"] == 1, r; assert r["kwargs"] == {"region": "eu"}, r' "$OUT"; then
        fail "run 2 does not record that it repeats run 1 with its kwargs"
        cat "$OUT"
    fi
}

test_rerun_errors() {
    new_project
    write src/a.py <<'PY'
STAU_CONFIG = {}
PY
    run rerun
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: 'rerun' needs one run number
  hint: stau rerun RUN; `stau history` lists runs
EOF2
    run rerun 7
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: no run 7
  hint: `stau history` lists the runs
EOF2
}
