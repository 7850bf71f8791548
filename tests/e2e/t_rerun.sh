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

# `stau run JOB --kwargs JSON -p KEY=VALUE`: other arguments, merged over the
# declared ones in the order given (a -p value is JSON when it parses as JSON, else
# a string); what the job needs runs with its own. The run records them as given
# on the command line, show and why say so, and rerun repeats them.
test_run_with_kwargs_given_on_the_command_line() {
    new_project
    write src/base.py <<'PY'
STAU_CONFIG = {"main_func": "main", "kwargs": {"region": "base"}}


def main(region):
    with open("base.txt", "a") as f:
        f.write(region + "\n")
PY
    write src/echo.py <<'PY'
STAU_CONFIG = {"main_func": "main", "dependencies": ["base"], "kwargs": {"region": "eu", "day": 1}}


def main(region, day, **rest):
    with open("calls.txt", "a") as f:
        f.write("%s %r %r\n" % (region, day, sorted(rest.items())))
PY
    run run echo --kwargs '{"region": "us", "day": 2}' -p day=7 -p flag=true -p code=007 -p 'list=[1, 2]'
    expect_exit 0
    expect_eq "what the job got" "us 7 [('code', '007'), ('flag', True), ('list', [1, 2])]" "$(cat calls.txt)"
    expect_eq "what the dependency got" "base" "$(cat base.txt)"
    local id
    id=$(db "SELECT id FROM runs WHERE job = 'echo'")
    run show "$id"
    expect_exit 0
    expect_stdout_contains '  kwargs:       {"region":"us","day":7,"flag":true,"code":"007","list":[1, 2]} (given on the command line: {"region":"us","day":7,"flag":true,"code":"007","list":[1, 2]})'
    expect_stdout_contains '    forced: asked for with `stau run`, with kwargs given on the command line'
    run show "$id" --json
    if ! "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["kwargs_given"] == {"region": "us", "day": 7, "flag": True, "code": "007", "list": [1, 2]}, r; assert r["kwargs"]["region"] == "us", r' "$OUT"; then
        fail "show --json lacks the kwargs given"
        cat "$OUT"
    fi
    run show "$(db "SELECT id FROM runs WHERE job = 'base'")" --json
    "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["kwargs_given"] is None, r' "$OUT" ||
        fail "the dependency's run records kwargs given: $(cat "$OUT")"
    run why echo
    expect_exit 0
    expect_stdout_contains "  run $id ran with kwargs given on the command line: {\"region\":\"us\",\"day\":7,\"flag\":true,\"code\":\"007\",\"list\":[1, 2]}"
    run why echo --json
    "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; assert r["last_success"]["kwargs_given"]["day"] == 7, r' "$OUT" ||
        fail "why --json lacks the kwargs given: $(cat "$OUT")"
    # A rerun repeats them, and says they were given to the run it repeats.
    run rerun "$id"
    expect_exit 0
    expect_eq "the rerun's call" "us 7 [('code', '007'), ('flag', True), ('list', [1, 2])]" "$(tail -n 1 calls.txt)"
    local again
    again=$(db "SELECT max(id) FROM runs WHERE job = 'echo'")
    expect_eq "the rerun records them as given" '{"region":"us","day":7,"flag":true,"code":"007","list":[1, 2]}|'"$id" "$(db "SELECT kwargs_given_json, rerun_of FROM runs WHERE id = $again")"
    # -n shows them, and runs nothing.
    run run echo -n -p region=x
    expect_exit 0
    expect_stdout_eq <<'EOF2'
would run 1 job:
  echo (derived)
      forced: asked for with `stau run`, with kwargs given on the command line
      with kwargs given on the command line: {"region":"x"}
EOF2
    # Without them, the job runs with its own again.
    run run echo
    expect_exit 0
    expect_eq "the declared kwargs" "eu 1 []" "$(tail -n 1 calls.txt)"
    expect_eq "no kwargs given" "" "$(db "SELECT kwargs_given_json FROM runs WHERE job = 'echo' ORDER BY id DESC LIMIT 1")"
}

test_run_kwargs_errors() {
    new_project
    write src/a.py <<'PY'
STAU_CONFIG = {"tags": ["t"]}
PY
    write src/b.py <<'PY'
STAU_CONFIG = {"tags": ["t"]}
PY
    write src/chunked.py <<'PY'
STAU_CONFIG = {"main_func": "main", "work_ids": [1, 2], "chunk_size": 1}


def main(work_ids):
    pass
PY
    run run a --kwargs '{region: "us"}'
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --kwargs needs a JSON object, and '{region: "us"}' is not valid JSON
  hint: see 'stau run --help'
EOF2
    run run a --kwargs '["us"]'
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --kwargs needs a JSON object ({"KEY": VALUE, ...}), not '["us"]'
  hint: see 'stau run --help'
EOF2
    run run a -p region
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: -p needs KEY=VALUE, not 'region'
  hint: see 'stau run --help'
EOF2
    run run a --param=us
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --param needs KEY=VALUE, not 'us'
  hint: see 'stau run --help'
EOF2
    run run a -p =us
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: -p needs KEY=VALUE, not '=us'
  hint: see 'stau run --help'
EOF2
    run run a b -p region=us
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --kwargs and -p give one job its arguments, and 'run' was given 2
  hint: run each with its own: stau run JOB -p KEY=VALUE
EOF2
    run run tag:t -p region=us
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --kwargs and -p give one job its arguments, and 'tag:t' names 2: a, b
  hint: name one job
EOF2
    run run chunked -p 'work_ids=[3]'
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: 'chunked' is split into chunks: its work IDs come from its declaration or its select_work, not from --kwargs or -p
  hint: leave work_ids out of the arguments; select_work gets the others
EOF2
    run -p region=us
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: 'stau' does not take -p
  hint: see 'stau --help'
EOF2
    run rerun 1 --kwargs '{}'
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: 'rerun' does not take --kwargs
  hint: see 'stau rerun --help'
EOF2
    expect_eq "nothing ran" "0" "$(db "SELECT count(*) FROM runs")"
}
