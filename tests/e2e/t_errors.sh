# One test per error class a user can hit in a declaration: each runs
# `stau check` on its fixture (fixtures/errors/NAME) and checks the whole of
# stderr: the located message, the source line, the caret and the hint.

test_non_literal_call() {
    use_fixture errors/non_literal_call
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:7:16: error: cannot evaluate the call compute() statically
     7 |     "retries": compute(),
       |                ^~~~~~~~~
  hint: stau reads declarations without running code; compute such values inside the job instead
1 error, 0 warnings
EOF
}

test_non_literal_comprehension() {
    use_fixture errors/non_literal_comprehension
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:4:13: error: cannot evaluate [t.lower() for t in TAGS] statically
     4 |     "tags": [t.lower() for t in TAGS],
       |             ^~~~~~~~~~~~~~~~~~~~~~~~~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
1 error, 0 warnings
EOF
}

test_undefined_name() {
    use_fixture errors/undefined_name
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:1:29: error: name 'MAIN_FUNC' is not defined
     1 | STAU_CONFIG = {"main_func": MAIN_FUNC}
       |                             ^~~~~~~~~
  hint: stau reads declarations without running them: bind 'MAIN_FUNC' at module level above STAU_CONFIG, or write the value itself
src/typo.py:2:28: error: name 'SCHEDUEL' is not defined
     2 | STAU_CONFIG = {"schedule": SCHEDUEL}
       |                            ^~~~~~~~
  hint: did you mean 'SCHEDULE'?
2 errors, 0 warnings
EOF
}

test_name_assigned_below() {
    use_fixture errors/name_below
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:2:17: error: name 'OUTPUT' is assigned only below the declaration (line 5)
     2 |     "outputs": [OUTPUT],
       |                 ^~~~~~
  hint: move `OUTPUT = ...` above STAU_CONFIG
1 error, 0 warnings
EOF
}

test_imported_name() {
    use_fixture errors/imported_name
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:3:37: error: name 'REGION' is imported from 'settings' (line 1); stau does not follow imports to read values
     3 | STAU_CONFIG = {"kwargs": {"region": REGION}}
       |                                     ^~~~~~
  hint: bind the value in this file, above STAU_CONFIG
1 error, 0 warnings
EOF
}

test_unknown_dependency() {
    use_fixture errors/unknown_dependency
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/sales/report.py:2:22: error: 'sales.report' depends on 'sales.claen', which is not a job
     2 |     "dependencies": ["sales.claen", {"job": "fx.rates", "max_lag": 60}],
       |                      ^~~~~~~~~~~~~
  hint: did you mean 'sales.clean'?
src/sales/report.py:2:45: error: 'sales.report' depends on 'fx.rates', which is not a job
     2 |     "dependencies": ["sales.claen", {"job": "fx.rates", "max_lag": 60}],
       |                                             ^~~~~~~~~~
  hint: a job is a .py file below the jobs root with a STAU_CONFIG; `stau list` shows them all
2 errors, 0 warnings
EOF
}

test_unknown_dependency_never_suggests_itself() {
    new_project
    write src/sales/report.py <<'EOF'
STAU_CONFIG = {"dependencies": ["report"]}
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/sales/report.py:1:33: error: 'sales.report' depends on 'report', which is not a job
     1 | STAU_CONFIG = {"dependencies": ["report"]}
       |                                 ^~~~~~~~
  hint: a job is a .py file below the jobs root with a STAU_CONFIG; `stau list` shows them all
1 error, 0 warnings
EOF
}

test_unknown_dependency_by_last_component() {
    new_project
    write src/sales/report.py <<'EOF'
STAU_CONFIG = {}
EOF
    write src/mail.py <<'EOF'
STAU_CONFIG = {"dependencies": ["report"]}
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/mail.py:1:33: error: 'mail' depends on 'report', which is not a job
     1 | STAU_CONFIG = {"dependencies": ["report"]}
       |                                 ^~~~~~~~
  hint: did you mean 'sales.report'?
1 error, 0 warnings
EOF
}

test_dependency_cycle() {
    use_fixture errors/cycle
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/a.py:1:33: error: dependency cycle: a -> b -> c -> a
     1 | STAU_CONFIG = {"dependencies": ["b"]}
       |                                 ^~~
  hint: a job cannot depend on itself, directly or through others; remove one of these dependencies
src/a.py:1:33: note: 'a' depends on 'b' here
src/b.py:2:30: note: 'b' depends on 'c' here
     2 |     "dependencies": [{"job": "c", "max_lag": 30}],
       |                              ^~~
src/c.py:1:33: note: 'c' depends on 'a' here
     1 | STAU_CONFIG = {"dependencies": ["a"]}
       |                                 ^~~
1 error, 0 warnings
EOF
}

test_self_dependency() {
    use_fixture errors/self_dependency
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:1:33: error: 'report' depends on itself
     1 | STAU_CONFIG = {"dependencies": ["report"], "schedule": "@daily"}
       |                                 ^~~~~~~~
  hint: remove 'report' from its own dependencies
1 error, 0 warnings
EOF
}

test_duplicate_job_name() {
    use_fixture errors/duplicate_name
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/a/b/__init__.py:1:1: error: job name 'a.b' is already taken by src/a/b.py
     1 | STAU_CONFIG = {"schedule": "@hourly"}
       | ^~~~~~~~~~~
  hint: job names come from paths below the jobs root ('a/b.py' and 'a/b/__init__.py' are both 'a.b'); rename one of the files
src/a/b.py:1:1: note: 'a.b' is declared here
     1 | STAU_CONFIG = {"schedule": "@daily"}
       | ^~~~~~~~~~~
1 error, 0 warnings
EOF
}

test_misspelt_key_is_a_warning() {
    use_fixture errors/misspelt_key
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
2 jobs, 1 dependency, 2 warnings
EOF
    expect_stderr_eq <<'EOF'
src/report.py:2:5: warning: unknown key 'dependancies' in STAU_CONFIG is ignored
     2 |     "dependancies": ["upstream"],
       |     ^~~~~~~~~~~~~~
  hint: did you mean 'dependencies'?
src/report.py:4:42: warning: unknown key 'max_lagg' in a dependency is ignored
     4 |     "dependencies": [{"job": "upstream", "max_lagg": 60}],
       |                                          ^~~~~~~~~~
  hint: did you mean 'max_lag'?
src/report.py:4:42: note: so the dependency of 'report' on 'upstream' has no max_lag
EOF
}

# A slip for a known key stays a warning, followed by what the job then lacks, for
# each key that changes what it does; a key given rightly as well lacks nothing.
test_misspelt_key_says_what_the_job_lacks() {
    new_project
    write src/x.py <<'PY'
STAU_CONFIG = {
    "schedul": "0 6 * * *",
    "inptus": ["data/in.csv"],
    "main_fucn": "main",
    "retires": 3,
    "tiemout": 60,
    "chunk_sise": 10,
    "work_ids": [1, 2, 3],
    "data_source": ["db"],
}
def main(work_ids):
    pass
PY
    write src/y.py <<'PY'
STAU_CONFIG = {"schedule": "@daily", "schedul": "@hourly", "tagz": ["t"]}
PY
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
2 jobs, 0 dependencies, 9 warnings
EOF
    expect_stderr_eq <<'EOF'
src/x.py:2:5: warning: unknown key 'schedul' in STAU_CONFIG is ignored
     2 |     "schedul": "0 6 * * *",
       |     ^~~~~~~~~
  hint: did you mean 'schedule'?
src/x.py:2:5: note: so 'x' has no schedule
src/x.py:3:5: warning: unknown key 'inptus' in STAU_CONFIG is ignored
     3 |     "inptus": ["data/in.csv"],
       |     ^~~~~~~~
  hint: did you mean 'inputs'?
src/x.py:3:5: note: so 'x' declares no inputs: a change to them does not make it due
src/x.py:4:5: warning: unknown key 'main_fucn' in STAU_CONFIG is ignored
     4 |     "main_fucn": "main",
       |     ^~~~~~~~~~~
  hint: did you mean 'main_func'?
src/x.py:4:5: note: so 'x' runs its file as a script, calling no function
src/x.py:5:5: warning: unknown key 'retires' in STAU_CONFIG is ignored
     5 |     "retires": 3,
       |     ^~~~~~~~~
  hint: did you mean 'retries'?
src/x.py:5:5: note: so 'x' is not retried after a failure
src/x.py:6:5: warning: unknown key 'tiemout' in STAU_CONFIG is ignored
     6 |     "tiemout": 60,
       |     ^~~~~~~~~
  hint: did you mean 'timeout'?
src/x.py:6:5: note: so 'x' has no timeout
src/x.py:7:5: warning: unknown key 'chunk_sise' in STAU_CONFIG is ignored
     7 |     "chunk_sise": 10,
       |     ^~~~~~~~~~~~
  hint: did you mean 'chunk_size'?
src/x.py:7:5: note: so 'x' runs all its work IDs in one chunk
src/x.py:9:5: warning: unknown key 'data_source' in STAU_CONFIG is ignored
     9 |     "data_source": ["db"],
       |     ^~~~~~~~~~~~~
  hint: did you mean 'data_sources'?
src/y.py:1:38: warning: unknown key 'schedul' in STAU_CONFIG is ignored
     1 | STAU_CONFIG = {"schedule": "@daily", "schedul": "@hourly", "tagz": ["t"]}
       |                                      ^~~~~~~~~
  hint: did you mean 'schedule'?
src/y.py:1:60: warning: unknown key 'tagz' in STAU_CONFIG is ignored
     1 | STAU_CONFIG = {"schedule": "@daily", "schedul": "@hourly", "tagz": ["t"]}
       |                                                            ^~~~~~
  hint: did you mean 'tags'?
src/y.py:1:60: note: so 'y' has no tags: no tag:NAME selects it
EOF
    # Every command that shows the warning shows the note (here from the cache).
    run list --names
    expect_exit 0
    expect_stderr_contains "src/x.py:2:5: note: so 'x' has no schedule"
}

test_wrong_types() {
    use_fixture errors/wrong_type
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/max_lag_negative.py:2:56: error: 'max_lag' must be a number >= 0
     2 |     "dependencies": [{"job": "retries_str", "max_lag": -5}],
       |                                                        ^~
src/retries_negative.py:1:27: error: 'retries' must be an int >= 0
     1 | STAU_CONFIG = {"retries": -1}
       |                           ^~
src/retries_str.py:1:27: error: 'retries' must be an int, not str
     1 | STAU_CONFIG = {"retries": "3"}
       |                           ^~~
src/tags_str.py:1:24: error: 'tags' must be a list of str, not str
     1 | STAU_CONFIG = {"tags": "finance", "slots": 0}
       |                        ^~~~~~~~~
  hint: write ["finance"]
src/tags_str.py:1:44: error: 'slots' must be an int >= 1
     1 | STAU_CONFIG = {"tags": "finance", "slots": 0}
       |                                            ^
5 errors, 0 warnings
EOF
}

test_invalid_cron_schedule() {
    use_fixture errors/bad_cron
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:1:29: error: invalid schedule '61 * * * *': minute field: 61 is out of range 0-59
     1 | STAU_CONFIG = {"schedule": "61 * * * *"}
       |                             ^
  hint: a schedule is 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or @every 15m
src/twice.py:1:48: error: invalid schedule '0 6 * *': expected 5 fields (minute hour day-of-month month day-of-week), got 4
     1 | STAU_CONFIG = {"schedule": ["@hourly", "0 6 * *"]}
       |                                                ^
  hint: a schedule is 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or @every 15m
2 errors, 0 warnings
EOF
}

test_unknown_timezone() {
    use_fixture errors/unknown_timezone
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:1:53: error: unknown time zone 'Europe/Atlantis'
     1 | STAU_CONFIG = {"schedule": "0 6 * * *", "timezone": "Europe/Atlantis"}
       |                                                     ^~~~~~~~~~~~~~~~~
  hint: use an IANA zone name such as "Europe/Copenhagen" or "UTC"
1 error, 0 warnings
EOF
}

test_job_type_mismatch() {
    use_fixture errors/job_type_mismatch
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/job_a.py:5:37: error: job_type 'job_b' does not match the job's name 'job_a'
     5 | STAU_CONFIG = ReportConfig(job_type=NAME, chunk_size=1, dependencies=[], main_func=f"{NAME}_func")
       |                                     ^~~~
  hint: a job's name is its path below the jobs root with '/' written as '.'; write job_type="job_a" or rename the file
1 error, 0 warnings
EOF
}

test_syntax_error_in_declaration() {
    use_fixture errors/syntax_in_decl
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:5:17: error: syntax error in the declaration: unexpected ','
     5 |     "tags": ["a", , "b"],
       |                 ^
  hint: the declaration must be valid Python; stau reads it without running it
1 error, 0 warnings
EOF
}

test_syntax_error_missing_bracket_in_declaration() {
    new_project
    write src/report.py <<'EOF'
STAU_CONFIG = {"schedule": "@daily", "tags": ["x"}
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/report.py:1:50: error: syntax error in the declaration: closing parenthesis '}' does not match opening parenthesis '['
     1 | STAU_CONFIG = {"schedule": "@daily", "tags": ["x"}
       |                                                  ^
  hint: the declaration must be valid Python; stau reads it without running it
1 error, 0 warnings
EOF
}

test_syntax_error_elsewhere_is_a_warning() {
    use_fixture errors/syntax_elsewhere
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/report.py:5:15: warning: unterminated string (outside the declaration, which was read; Python will not import this file as it is)
     5 |     message = "never closed
       |               ^
EOF
    # The declaration was read all the same.
    run list --json
    expect_exit 0
    "$PY" - "$OUT" <<'EOF' || fail "list --json: the declaration was not read"
import json, sys
jobs = json.load(open(sys.argv[1]))
assert [j["name"] for j in jobs] == ["report"], jobs
assert jobs[0]["valid"] is True, jobs[0]
assert jobs[0]["schedule"] == ["@daily"], jobs[0]
assert jobs[0]["tags"] == ["still", "read"], jobs[0]
EOF
}

test_output_outside_project() {
    use_fixture errors/output_outside
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/report.py:2:36: error: output '../elsewhere.csv' is outside the project
     2 |     "outputs": ["data/out/ok.csv", "../elsewhere.csv", "/tmp/report.csv", "data/../../x"],
       |                                    ^~~~~~~~~~~~~~~~~~
  hint: outputs are paths relative to the project root, without '..'
src/report.py:2:56: error: output '/tmp/report.csv' is outside the project
     2 |     "outputs": ["data/out/ok.csv", "../elsewhere.csv", "/tmp/report.csv", "data/../../x"],
       |                                                        ^~~~~~~~~~~~~~~~~
  hint: outputs are paths relative to the project root, without '..'
src/report.py:2:75: error: output 'data/../../x' is outside the project
     2 |     "outputs": ["data/out/ok.csv", "../elsewhere.csv", "/tmp/report.csv", "data/../../x"],
       |                                                                           ^~~~~~~~~~~~~~
  hint: outputs are paths relative to the project root, without '..'
3 errors, 0 warnings
EOF
}

test_config_not_a_dict() {
    new_project
    write src/report.py <<'EOF'
STAU_CONFIG = ["not", "a", "dict"]
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/report.py:1:15: error: STAU_CONFIG must be a dict or ReportConfig(...), not list
     1 | STAU_CONFIG = ["not", "a", "dict"]
       |               ^~~~~~~~~~~~~~~~~~~~
  hint: write STAU_CONFIG = {"dependencies": [...], "schedule": "..."}
1 error, 0 warnings
EOF
}

test_other_refused_expressions() {
    new_project
    write src/attr.py <<'EOF'
import os
STAU_CONFIG = {"python": os.environ["PY"]}
EOF
    write src/fmt.py <<'EOF'
NAME = "fmt"
STAU_CONFIG = {"main_func": f"{NAME!r}_func"}
EOF
    write src/pow.py <<'EOF'
STAU_CONFIG = {"retries": 3 ** 2}
EOF
    write src/missing_arg.py <<'EOF'
from utils import ReportConfig
STAU_CONFIG = ReportConfig(job_type="missing_arg", chunk_size=1, dependencies=[])
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
src/attr.py:2:26: error: cannot evaluate os.environ["PY"] statically
     2 | STAU_CONFIG = {"python": os.environ["PY"]}
       |                          ^~~~~~~~~~~~~~~~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
src/fmt.py:2:31: error: f-string field {NAME!r} uses a conversion or format spec, which stau does not evaluate
     2 | STAU_CONFIG = {"main_func": f"{NAME!r}_func"}
       |                               ^~~~~~~~
  hint: write the field as {NAME}, without conversion or format spec
src/missing_arg.py:2:15: error: ReportConfig() missing required argument 'main_func'
     2 | STAU_CONFIG = ReportConfig(job_type="missing_arg", chunk_size=1, dependencies=[])
       |               ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
src/pow.py:1:27: error: operator '**' is not evaluated in a declaration
     1 | STAU_CONFIG = {"retries": 3 ** 2}
       |                           ^~~~~~
  hint: a declaration evaluates + - * on numbers, // and % on ints, and + on two strings or two lists
4 errors, 0 warnings
EOF
}

test_chained_assignment_binds_every_target() {
    new_project
    write src/report.py <<'EOF'
BASE = DATA = "data"
STAU_CONFIG = {"outputs": [DATA + "/out.csv", BASE + "/other.csv"]}
EOF
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

test_errors_and_warnings_together() {
    # Errors make the summary go to stderr, with the warnings counted.
    use_fixture errors/misspelt_key
    write src/broken.py <<'EOF'
STAU_CONFIG = {"retries": "3"}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_last_line "1 error, 2 warnings"
    expect_stderr_contains "src/broken.py:1:27: error: 'retries' must be an int, not str"
}

test_list_shows_broken_jobs() {
    use_fixture errors/wrong_type
    run list
    expect_exit 2
    expect_stdout_eq <<'EOF'
NAME              FILE                     DEPENDENCIES  SCHEDULE      POLICY  TAGS
max_lag_negative  src/max_lag_negative.py  -             -             -       -  (declaration has errors)
retries_negative  src/retries_negative.py  -             -             -       -  (declaration has errors)
retries_str       src/retries_str.py       -             -             -       -  (declaration has errors)
tags_str          src/tags_str.py          -             -             -       -  (declaration has errors)
EOF
    expect_stderr_contains "src/retries_str.py:1:27: error: 'retries' must be an int, not str"
    run list --json
    expect_exit 2
    "$PY" - "$OUT" <<'EOF' || fail "list --json of broken jobs"
import json, sys
jobs = json.load(open(sys.argv[1]))
assert [j["name"] for j in jobs] == ["max_lag_negative", "retries_negative", "retries_str", "tags_str"], jobs
for j in jobs:
    assert j == {"name": j["name"], "file": "src/%s.py" % j["name"], "valid": False,
                 "not_run": "its declaration is invalid"}, j
EOF
}

test_no_colour_when_not_a_terminal() {
    use_fixture errors/cycle
    run check
    expect_exit 2
    if grep -q $'\033' "$ERR"; then
        fail "stderr holds escape sequences though it is not a terminal"
    fi
}
