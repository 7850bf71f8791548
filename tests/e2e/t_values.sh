# More declaration errors, one test per kind, each checking the whole message.
# (fixtures/errors/ has one project per main error class; these are the rest.)

# Dependencies that are not a name, a dict with 'job' or ReportDependencies(...).
test_dependency_shapes() {
    new_project
    write src/deps.py <<'EOF'
STAU_CONFIG = {
    "dependencies": [
        {"max_lag": 5},
        {"job": "a", "job_type": "a"},
        42,
        {"job": "a", "unique": "yes", "kwargs": [1]},
    ],
}
EOF
    write src/a.py <<'EOF'
STAU_CONFIG = {"dependencies": "b"}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/a.py:1:32: error: 'dependencies' must be a list, not str
     1 | STAU_CONFIG = {"dependencies": "b"}
       |                                ^~~
  hint: write ["b"]
src/deps.py:3:9: error: dependency has no 'job'
     3 |         {"max_lag": 5},
       |         ^~~~~~~~~~~~~~
  hint: write {"job": "name.of.job", ...}
src/deps.py:4:22: error: dependency names its job twice ('job' and 'job_type')
     4 |         {"job": "a", "job_type": "a"},
       |                      ^~~~~~~~~~
src/deps.py:5:9: error: a dependency must be a job name, a dict with 'job', or ReportDependencies(...), not int
     5 |         42,
       |         ^~
src/deps.py:6:32: error: 'unique' must be True or False, not str
     6 |         {"job": "a", "unique": "yes", "kwargs": [1]},
       |                                ^~~~~
src/deps.py:6:49: error: 'kwargs' must be a dict, not list
     6 |         {"job": "a", "unique": "yes", "kwargs": [1]},
       |                                                 ^~~
6 errors, 0 warnings
EOF
}

# Each key's type, beyond the ones of fixtures/errors/wrong_type.
test_key_types() {
    new_project
    write src/b.py <<'EOF'
STAU_CONFIG = {"main_func": "not a name", "schedule": 5, "work_ids": [1, "2"], "allow_multiple_jobs": 1}
EOF
    write src/c.py <<'EOF'
STAU_CONFIG = {"timezone": 1, "kwargs": [], "tags": ["a", 2]}
EOF
    write src/nul.py <<'EOF'
STAU_CONFIG = {"main_func": "ma\x00in"}
EOF
    write src/keys.py <<'EOF'
STAU_CONFIG = {1: "one"}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/b.py:1:29: error: 'main_func' must name a function, not 'not a name'
     1 | STAU_CONFIG = {"main_func": "not a name", "schedule": 5, "work_ids": [1, "2"], "allow_multiple_jobs": 1}
       |                             ^~~~~~~~~~~~
src/b.py:1:55: error: 'schedule' must be a cron string or a list of them, not int
     1 | STAU_CONFIG = {"main_func": "not a name", "schedule": 5, "work_ids": [1, "2"], "allow_multiple_jobs": 1}
       |                                                       ^
src/b.py:1:74: error: 'work_ids' must be a list of int, not str
     1 | STAU_CONFIG = {"main_func": "not a name", "schedule": 5, "work_ids": [1, "2"], "allow_multiple_jobs": 1}
       |                                                                          ^~~
src/b.py:1:103: error: 'allow_multiple_jobs' must be True or False, not int
     1 | STAU_CONFIG = {"main_func": "not a name", "schedule": 5, "work_ids": [1, "2"], "allow_multiple_jobs": 1}
       |                                                                                                       ^
src/c.py:1:28: error: 'timezone' must be a str, not int
     1 | STAU_CONFIG = {"timezone": 1, "kwargs": [], "tags": ["a", 2]}
       |                            ^
src/c.py:1:41: error: 'kwargs' must be a dict, not list
     1 | STAU_CONFIG = {"timezone": 1, "kwargs": [], "tags": ["a", 2]}
       |                                         ^~
src/c.py:1:59: error: 'tags' must be a list of str, but item 2 is int
     1 | STAU_CONFIG = {"timezone": 1, "kwargs": [], "tags": ["a", 2]}
       |                                                           ^
src/keys.py:1:16: error: dictionary keys must be strings, not int
     1 | STAU_CONFIG = {1: "one"}
       |                ^
src/nul.py:1:29: error: 'main_func' must be a str without NUL characters
     1 | STAU_CONFIG = {"main_func": "ma\x00in"}
       |                             ^~~~~~~~~~
9 errors, 0 warnings
EOF
}

# Literals Python has but a declaration may not use.
test_literals_refused() {
    new_project
    write src/bytes.py <<'EOF'
STAU_CONFIG = {"tags": [b"bytes"]}
EOF
    write src/complex.py <<'EOF'
STAU_CONFIG = {"retries": 1j}
EOF
    write src/named_escape.py <<'EOF'
STAU_CONFIG = {"tags": ["\N{EM DASH}"]}
EOF
    write src/bad_escape.py <<'EOF'
STAU_CONFIG = {"tags": ["\U00110000"]}
EOF
    write src/truncated_escape.py <<'EOF'
STAU_CONFIG = {"tags": ["\x4"]}
EOF
    write src/bigint.py <<'EOF'
STAU_CONFIG = {"retries": 99999999999999999999999}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/bad_escape.py:1:25: error: escape \U names no valid Unicode character
     1 | STAU_CONFIG = {"tags": ["\U00110000"]}
       |                         ^~~~~~~~~~~~
src/bigint.py:1:27: error: integer 99999999999999999999999 does not fit in 64 bits
     1 | STAU_CONFIG = {"retries": 99999999999999999999999}
       |                           ^~~~~~~~~~~~~~~~~~~~~~~
src/bytes.py:1:25: error: bytes literal b"bytes" is not allowed in a declaration
     1 | STAU_CONFIG = {"tags": [b"bytes"]}
       |                         ^~~~~~~~
  hint: write a str literal (without the b prefix)
src/complex.py:1:27: error: complex number 1j is not allowed in a declaration
     1 | STAU_CONFIG = {"retries": 1j}
       |                           ^~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
src/named_escape.py:1:25: error: \N{...} escapes are not evaluated by stau
     1 | STAU_CONFIG = {"tags": ["\N{EM DASH}"]}
       |                         ^~~~~~~~~~~~~
  hint: write the character itself or use a \u escape
src/truncated_escape.py:1:25: error: truncated \x escape in a string
     1 | STAU_CONFIG = {"tags": ["\x4"]}
       |                         ^~~~~
6 errors, 0 warnings
EOF
}

# Integer arithmetic on constants, as users of the original Stau write it: the
# numbers are computed when the declaration is read, with Python's values
# (checked against Python itself for the kwargs).
test_arithmetic_values() {
    new_project
    write src/utils.py <<'EOF'
def ReportConfig(*args, **kwargs):
    return args, kwargs


def ReportDependencies(*args, **kwargs):
    return args, kwargs
EOF
    write src/job_b.py <<'EOF'
STAU_CONFIG = {}
EOF
    write src/report.py <<'EOF'
MINUTES = 60
DAY = MINUTES * 24
STAU_CONFIG = {
    "dependencies": [{"job": "job_b", "max_lag": 60 * 24}, {"job": "chunked", "max_lag": MINUTES * 24 - 5}],
    "retries": 7 // 3,
    "retry_delay": (60 * 24) // 2,
    "timeout": 1.5 * MINUTES,
    "kwargs": {"floor": -7 // 2, "mod": -7 % 3, "neg_mod": 7 % -3, "grouped": 2 * (3 + 4),
               "week": 7 * DAY, "label": f"{DAY}m", "half": 0.5 + 1},
}
EOF
    write src/chunked.py <<'EOF'
from utils import ReportConfig, ReportDependencies

STAU_CONFIG = ReportConfig("chunked", chunk_size=1000 // 4,
                           dependencies=[ReportDependencies("job_b", 2 * 60)], main_func="main")
EOF
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
3 jobs, 3 dependencies, 0 warnings
EOF
    expect_stderr_empty
    run list --json
    expect_exit 0
    "$PY" - "$OUT" src/report.py <<'EOF' || fail "list --json: the computed values are not Python's"
import json, runpy, sys
jobs = {j["name"]: j for j in json.load(open(sys.argv[1]))}
report, chunked = jobs["report"], jobs["chunked"]
assert [(d["job"], d["max_lag"]) for d in report["dependencies"]] == [("job_b", 1440), ("chunked", 1435)], report
assert (report["retries"], report["retry_delay"], report["timeout"]) == (2, 720, 90.0), report
python = runpy.run_path(sys.argv[2])["STAU_CONFIG"]["kwargs"]
assert report["kwargs"] == python, (report["kwargs"], python)
assert report["kwargs"]["floor"] == -4 and report["kwargs"]["mod"] == 2, report["kwargs"]
assert chunked["chunk_size"] == 250, chunked
assert [(d["job"], d["max_lag"]) for d in chunked["dependencies"]] == [("job_b", 120)], chunked
EOF
}

# Operators and operands a declaration does not evaluate, and arithmetic that
# has no value: each at the operation, quoted, with what would work.
test_operators_refused() {
    new_project
    write src/div.py <<'EOF'
STAU_CONFIG = {"timeout": 60 / 2}
EOF
    write src/zero.py <<'EOF'
PARTS = 0
CHUNK = 1000 // PARTS
STAU_CONFIG = {"chunk_size": CHUNK}
EOF
    write src/repeat.py <<'EOF'
STAU_CONFIG = {"tags": ["a"] * 3}
EOF
    write src/big.py <<'EOF'
STAU_CONFIG = {"retries": 1 + 9223372036854775807 * 2}
EOF
    write src/boolean.py <<'EOF'
STAU_CONFIG = {"retries": True + 1}
EOF
    write src/add.py <<'EOF'
STAU_CONFIG = {"tags": ["a"] + "b"}
EOF
    write src/neg.py <<'EOF'
STAU_CONFIG = {"retries": -"3"}
EOF
    write src/not.py <<'EOF'
STAU_CONFIG = {"retries": not 3}
EOF
    write src/cond.py <<'EOF'
STAU_CONFIG = {"retries": 1 if True else 2}
EOF
    write src/lambda.py <<'EOF'
STAU_CONFIG = {"main_func": lambda: 1}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/add.py:1:24: error: cannot add list and str
     1 | STAU_CONFIG = {"tags": ["a"] + "b"}
       |                        ^~~~~~~~~~~
  hint: + is evaluated between two numbers, two strings or two lists
src/big.py:1:31: error: integer overflow in 9223372036854775807 * 2
     1 | STAU_CONFIG = {"retries": 1 + 9223372036854775807 * 2}
       |                               ^~~~~~~~~~~~~~~~~~~~~~~
  hint: the result does not fit in 64 bits (stau's ints run from -9223372036854775808 to 9223372036854775807)
src/boolean.py:1:27: error: cannot add bool and int
     1 | STAU_CONFIG = {"retries": True + 1}
       |                           ^~~~~~~~
  hint: True and False are not numbers in a declaration; write 1 or 0
src/cond.py:1:27: error: cannot evaluate 1 if True else 2 statically
     1 | STAU_CONFIG = {"retries": 1 if True else 2}
       |                           ^~~~~~~~~~~~~~~~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
src/div.py:1:27: error: operator '/' is not evaluated in a declaration
     1 | STAU_CONFIG = {"timeout": 60 / 2}
       |                           ^~~~~~
  hint: / gives a float, which stau does not evaluate; write // for the floor division of two ints
src/lambda.py:1:29: error: cannot evaluate lambda: 1 statically
     1 | STAU_CONFIG = {"main_func": lambda: 1}
       |                             ^~~~~~~~~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
src/neg.py:1:27: error: unary '-' needs an int or float, not str
     1 | STAU_CONFIG = {"retries": -"3"}
       |                           ^~~~
src/not.py:1:27: error: cannot evaluate not 3 statically
     1 | STAU_CONFIG = {"retries": not 3}
       |                           ^~~~~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
src/repeat.py:1:24: error: cannot multiply list and int
     1 | STAU_CONFIG = {"tags": ["a"] * 3}
       |                        ^~~~~~~~~
  hint: repeating a list is not evaluated in a declaration; write it out in full
src/zero.py:2:9: error: division by zero in 1000 // PARTS
     2 | CHUNK = 1000 // PARTS
       |         ^~~~~~~~~~~~~
  hint: the right operand evaluates to 0
src/zero.py:3:30: note: 'CHUNK' is used here
     3 | STAU_CONFIG = {"chunk_size": CHUNK}
       |                              ^~~~~
10 errors, 0 warnings
EOF
}

# Names bound to what stau cannot read, or bound too late.
test_bindings_refused() {
    new_project
    write src/fstring.py <<'EOF'
TAGS = ["x"]
STAU_CONFIG = {"main_func": f"{TAGS}_main"}
EOF
    write src/fstring_call.py <<'EOF'
NAME = "d"
STAU_CONFIG = {"tags": [f"{NAME.upper()}"]}
EOF
    write src/bound.py <<'EOF'
import os
ROOT = os.getcwd()
STAU_CONFIG = {"inputs": [ROOT]}
EOF
    write src/before.py <<'EOF'
A = B
B = "x"
STAU_CONFIG = {"main_func": A}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/before.py:1:5: error: name 'B' is used before it is assigned (line 2)
     1 | A = B
       |     ^
  hint: move `B = ...` above the line that uses it
src/before.py:3:29: note: 'A' is used here
     3 | STAU_CONFIG = {"main_func": A}
       |                             ^
src/bound.py:2:8: error: cannot evaluate the call os.getcwd() statically
     2 | ROOT = os.getcwd()
       |        ^~~~~~~~~~~
  hint: stau reads declarations without running code; compute such values inside the job instead
src/bound.py:3:27: note: 'ROOT' is used here
     3 | STAU_CONFIG = {"inputs": [ROOT]}
       |                           ^~~~
src/fstring.py:2:32: error: f-string field 'TAGS' is a list; only str, int, float, bool and None can be formatted
     2 | STAU_CONFIG = {"main_func": f"{TAGS}_main"}
       |                                ^~~~
src/fstring_call.py:2:27: error: cannot evaluate the f-string field {NAME.upper()} statically
     2 | STAU_CONFIG = {"tags": [f"{NAME.upper()}"]}
       |                           ^~~~~~~~~~~~~~
  hint: an f-string field may only be a name bound above the declaration
4 errors, 0 warnings
EOF
}

# Unpacking, and dict() with positional arguments.
test_unpacking_and_dict_call_refused() {
    new_project
    write src/splat.py <<'EOF'
BASE = {"retries": 1}
STAU_CONFIG = {**BASE, "slots": 2}
EOF
    write src/splat2.py <<'EOF'
TAGS = ["a"]
STAU_CONFIG = {"tags": [*TAGS, "b"]}
EOF
    write src/dictcall.py <<'EOF'
STAU_CONFIG = dict("x", schedule="@daily")
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/dictcall.py:1:20: error: dict() in a declaration takes keyword arguments only, not "x"
     1 | STAU_CONFIG = dict("x", schedule="@daily")
       |                    ^~~
  hint: write dict(key=value, ...) or a {...} literal
src/splat.py:2:16: error: **BASE is not evaluated in a declaration
     2 | STAU_CONFIG = {**BASE, "slots": 2}
       |                ^~~~~~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
src/splat2.py:2:25: error: unpacking *TAGS is not evaluated in a declaration
     2 | STAU_CONFIG = {"tags": [*TAGS, "b"]}
       |                         ^~~~~
  hint: a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with str keys, names bound above it at module level, f-strings over such names, + on two strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and ReportDependencies(...)
3 errors, 0 warnings
EOF
}

# Cron strings wrong in other ways; each points into the string.
test_more_schedules() {
    new_project
    write src/sched.py <<'EOF'
STAU_CONFIG = {"schedule": ["@fortnightly", "*/0 * * * *", "0 0 31 2 *", "@every 0m", "0 0 * * MON-FOO"]}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/sched.py:1:30: error: invalid schedule '@fortnightly': unknown macro '@fortnightly' (allowed: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every DURATION)
     1 | STAU_CONFIG = {"schedule": ["@fortnightly", "*/0 * * * *", "0 0 31 2 *", "@every 0m", "0 0 * * MON-FOO"]}
       |                              ^
  hint: a schedule is 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or @every 15m
src/sched.py:1:48: error: invalid schedule '*/0 * * * *': minute field: step must be a number from 1 to 60
     1 | STAU_CONFIG = {"schedule": ["@fortnightly", "*/0 * * * *", "0 0 31 2 *", "@every 0m", "0 0 * * MON-FOO"]}
       |                                                ^
  hint: a schedule is 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or @every 15m
src/sched.py:1:65: error: invalid schedule '0 0 31 2 *': day-of-month field: day 31 never occurs in the chosen months, so the schedule would never fire
     1 | STAU_CONFIG = {"schedule": ["@fortnightly", "*/0 * * * *", "0 0 31 2 *", "@every 0m", "0 0 * * MON-FOO"]}
       |                                                                 ^
  hint: a schedule is 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or @every 15m
src/sched.py:1:82: error: invalid schedule '@every 0m': invalid duration '0m': must be longer than 0s
     1 | STAU_CONFIG = {"schedule": ["@fortnightly", "*/0 * * * *", "0 0 31 2 *", "@every 0m", "0 0 * * MON-FOO"]}
       |                                                                                  ^
  hint: a schedule is 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or @every 15m
src/sched.py:1:100: error: invalid schedule '0 0 * * MON-FOO': day-of-week field: unknown weekday name 'FOO' (allowed: 0-7 or SUN-SAT)
     1 | STAU_CONFIG = {"schedule": ["@fortnightly", "*/0 * * * *", "0 0 31 2 *", "@every 0m", "0 0 * * MON-FOO"]}
       |                                                                                                    ^
  hint: a schedule is 5 cron fields (minute hour day-of-month month day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or @every 15m
5 errors, 0 warnings
EOF
}

# A time zone that is a path, not a zone name.
test_timezone_not_a_zone_name() {
    new_project
    write src/tz.py <<'EOF'
STAU_CONFIG = {"timezone": "../../etc/passwd"}
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/tz.py:1:28: error: invalid time zone name '../../etc/passwd': expected a name like 'Europe/Berlin'
     1 | STAU_CONFIG = {"timezone": "../../etc/passwd"}
       |                            ^~~~~~~~~~~~~~~~~~
  hint: use an IANA zone name such as "Europe/Copenhagen" or "UTC"
1 error, 0 warnings
EOF
}

# Leading zeros. Only the error line is checked: its hint ("write 0o17 for an
# octal number") names 0o17 whatever the number was, which reads as if 0o17
# were meant; see the report.
test_leading_zeros() {
    new_project
    write src/octal.py <<'EOF2'
STAU_CONFIG = {"retries": 007}
EOF2
    run check
    expect_exit 2
    expect_stderr_contains "src/octal.py:1:27: error: leading zeros in 007 are not allowed"
    expect_stderr_last_line "1 error, 0 warnings"
}
