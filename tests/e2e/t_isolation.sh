# One broken job stops only itself (issue 12): a job whose declaration is invalid,
# and every job that needs it, is not run and is named; everything else runs; the
# exit status is 1. `stau check` stays strict.

# sales.daily's declaration is invalid; reports.weekly needs it, reports.monthly
# needs reports.weekly; other and lone need nothing. Each job leaves NAME.ran.
isolation_project() {
    new_project
    write src/sales/daily.py <<'EOF'
STAU_CONFIG = {"retries": -1}
open("sales.daily.ran", "w").close()
EOF
    write src/reports/weekly.py <<'EOF'
STAU_CONFIG = {"dependencies": ["sales.daily"]}
open("reports.weekly.ran", "w").close()
EOF
    write src/reports/monthly.py <<'EOF'
STAU_CONFIG = {"dependencies": ["reports.weekly"]}
open("reports.monthly.ran", "w").close()
EOF
    write src/other.py <<'EOF'
STAU_CONFIG = {}
open("other.ran", "w").close()
EOF
    write src/lone.py <<'EOF'
STAU_CONFIG = {"dependencies": ["other"]}
open("lone.ran", "w").close()
EOF
    age_files
}

# stdout with the run times ("0.1s") written as "T".
timeless_stdout() {
    sed -E 's/ [0-9]+\.[0-9]s/ T/g; s/\([0-9]+\.[0-9]s\)/(T)/' "$OUT"
}

DAILY_ERROR='src/sales/daily.py:1:27: error: '"'"'retries'"'"' must be an int >= 0
     1 | STAU_CONFIG = {"retries": -1}
       |                           ^~'

test_invalid_declaration_stops_only_its_job_and_dependents() {
    isolation_project
    run
    expect_exit 1
    expect_stderr_eq <<<"$DAILY_ERROR"
    expect_eq stdout "sales.daily not run: its declaration is invalid
reports.monthly not run: it depends on 'reports.weekly', which depends on 'sales.daily', whose declaration is invalid
reports.weekly not run: it depends on 'sales.daily', whose declaration is invalid
[1/2] other ok T (run 1)
[2/2] lone ok T (run 2)
2 ran: 2 succeeded, 0 failed, 0 skipped (T)
3 jobs not run: invalid declarations" "$(timeless_stdout)"
    expect_file other.ran
    expect_file lone.ran
    expect_no_file sales.daily.ran
    expect_no_file reports.weekly.ran
    expect_no_file reports.monthly.ran
    # Again: what ran is up to date, the invalid ones are still named, still 1.
    run
    expect_exit 1
    expect_stdout_eq <<'EOF'
sales.daily not run: its declaration is invalid
reports.monthly not run: it depends on 'reports.weekly', which depends on 'sales.daily', whose declaration is invalid
reports.weekly not run: it depends on 'sales.daily', whose declaration is invalid
nothing to do
3 jobs not run: invalid declarations
EOF
    # Fixed: the three run, and the exit status is 0 again.
    sed -i 's/-1/1/' src/sales/daily.py
    run
    expect_exit 0
    expect_stderr_empty
    expect_eq stdout "[1/3] sales.daily ok T (run 3)
[2/3] reports.weekly ok T (run 4)
[3/3] reports.monthly ok T (run 5)
3 ran: 3 succeeded, 0 failed, 0 skipped (T)" "$(timeless_stdout)"
}

test_target_that_needs_no_invalid_job_runs_and_exits_0() {
    isolation_project
    run lone
    expect_exit 0
    expect_stderr_eq <<<"$DAILY_ERROR"
    expect_eq stdout "[1/2] other ok T (run 1)
[2/2] lone ok T (run 2)
2 ran: 2 succeeded, 0 failed, 0 skipped (T)" "$(timeless_stdout)"
    run run other
    expect_exit 0
    expect_stdout_contains "1 ran: 1 succeeded"
}

test_target_that_needs_an_invalid_job_is_named_and_exits_1() {
    isolation_project
    run reports.weekly
    expect_exit 1
    expect_stderr_eq <<<"$DAILY_ERROR"
    expect_stdout_eq <<'EOF'
sales.daily not run: its declaration is invalid
reports.weekly not run: it depends on 'sales.daily', whose declaration is invalid
nothing to do
2 jobs not run: invalid declarations
EOF
    # Off by one: the invalid job is a job still (no "no job matches").
    run run sales.daily other
    expect_exit 1
    expect_stdout_contains "sales.daily not run: its declaration is invalid"
    expect_stdout_contains "[1/1] other ok"
    expect_stdout_contains "1 job not run: invalid declarations"
    expect_no_file sales.daily.ran
}

test_unparsable_declaration_is_an_invalid_job() {
    isolation_project
    write src/sales/daily.py <<'EOF'
STAU_CONFIG = {"retries": 1
open("sales.daily.ran", "w").close()
EOF
    run
    expect_exit 1
    expect_stderr_eq <<'EOF'
src/sales/daily.py:1:15: error: syntax error in the declaration: '{' was never closed
     1 | STAU_CONFIG = {"retries": 1
       |               ^
  hint: the declaration must be valid Python; stau reads it without running it
EOF
    expect_stdout_contains "sales.daily not run: its declaration is invalid"
    expect_stdout_contains "reports.weekly not run: it depends on 'sales.daily', whose declaration is invalid"
    expect_stdout_contains "2 ran: 2 succeeded, 0 failed, 0 skipped"
    expect_eq "last line" "3 jobs not run: invalid declarations" "$(tail -n 1 "$OUT")"
}

test_check_stays_strict() {
    isolation_project
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<EOF
$DAILY_ERROR
1 error, 0 warnings
EOF
    expect_no_file other.ran
}

test_dry_run_marks_invalid_jobs() {
    isolation_project
    run -n
    expect_exit 1
    expect_stderr_eq <<<"$DAILY_ERROR"
    expect_stdout_eq <<'EOF'
sales.daily not run: its declaration is invalid
reports.monthly not run: it depends on 'reports.weekly', which depends on 'sales.daily', whose declaration is invalid
reports.weekly not run: it depends on 'sales.daily', whose declaration is invalid
would run 2 jobs:
  other (derived)
      never-run: no successful run is recorded
  lone (derived)
      never-run: no successful run is recorded
      upstream-due: 'other' runs first
3 jobs not run: invalid declarations
EOF
    expect_no_file other.ran
}

test_list_status_why_work_and_mark_invalid_jobs() {
    isolation_project
    run list
    expect_exit 2
    expect_stderr_eq <<<"$DAILY_ERROR"
    expect_stdout_eq <<'EOF'
NAME             FILE                    DEPENDENCIES    SCHEDULE      POLICY   TAGS
lone             src/lone.py             other           -             derived  -
other            src/other.py            -               -             derived  -
reports.monthly  src/reports/monthly.py  reports.weekly  -             derived  -  (not run: it depends on 'reports.weekly', which depends on 'sales.daily', whose declaration is invalid)
reports.weekly   src/reports/weekly.py   sales.daily     -             derived  -  (not run: it depends on 'sales.daily', whose declaration is invalid)
sales.daily      src/sales/daily.py      -               -             -        -  (declaration has errors)
EOF
    run list --json
    expect_exit 2
    expect_stdout_contains '{"name":"reports.weekly","file":"src/reports/weekly.py","valid":true,"not_run":"it depends on '"'"'sales.daily'"'"', whose declaration is invalid","code_files":'
    expect_stdout_contains '{"name":"sales.daily","file":"src/sales/daily.py","valid":false,"not_run":"its declaration is invalid"}'
    run status
    expect_exit 1
    expect_stderr_eq <<<"$DAILY_ERROR"
    expect_stdout_eq <<'EOF'
JOB              STATE    LAST RUN  POLICY   NEXT DUE
lone             due      -         derived  now (never-run)
other            due      -         derived  now (never-run)
reports.monthly  blocked  -         derived  not run: it depends on 'reports.weekly', which depends on 'sales.daily', whose declaration is invalid
reports.weekly   blocked  -         derived  not run: it depends on 'sales.daily', whose declaration is invalid
sales.daily      invalid  -         -        not run: its declaration is invalid
EOF
    # Asked about one job, status shows it alone: the invalid ones are not its.
    run status other
    expect_exit 0
    expect_stdout_eq <<'EOF'
JOB    STATE  LAST RUN  POLICY   NEXT DUE
other  due    -         derived  now (never-run)
EOF
    run status --json
    expect_exit 1
    expect_stdout_contains '{"job":"sales.daily","state":"invalid","due":false,"policy":null,"last_run":null,"next":"not-run","next_at":null,"next_at_ms":null,"reasons":[],"not_run":"its declaration is invalid"}'
    run why other reports.weekly sales.daily
    expect_exit 1
    expect_stderr_eq <<<"$DAILY_ERROR"
    expect_stdout_eq <<'EOF'
other is due:
  never-run: no successful run is recorded
  policy: derived: it runs when what it is made from changes
reports.weekly is not run: it depends on 'sales.daily', whose declaration is invalid
  it runs again once that declaration is fixed
sales.daily is not run: its declaration is invalid
  fix the errors above; `stau check` lists them
EOF
    run why --json sales.daily
    expect_exit 1
    expect_stdout_eq <<'EOF'
[
{"job":"sales.daily","due":false,"not_run":"its declaration is invalid"}
]
EOF
    run why other
    expect_exit 0
}

test_cycle_unknown_dependency_and_duplicate_name_are_invalid() {
    new_project
    write src/a.py <<<'STAU_CONFIG = {"dependencies": ["b"]}'
    write src/b.py <<<'STAU_CONFIG = {"dependencies": ["a"]}'
    write src/c.py <<<'STAU_CONFIG = {"dependencies": ["nope"]}'
    write src/d.py <<<'STAU_CONFIG = {"dependencies": ["c", "ok"]}'
    write src/x/y.py <<<'STAU_CONFIG = {}'
    write src/x/y/__init__.py <<<'STAU_CONFIG = {}'
    write src/ok.py <<<'STAU_CONFIG = {}'
    age_files
    run
    expect_exit 1
    expect_eq stdout "a not run: it is in a dependency cycle
b not run: it is in a dependency cycle
c not run: its declaration is invalid
x.y not run: its declaration is invalid
d not run: it depends on 'c', whose declaration is invalid
[1/1] ok ok T (run 1)
1 ran: 1 succeeded, 0 failed, 0 skipped (T)
5 jobs not run: invalid declarations" "$(timeless_stdout)"
    expect_stderr_contains "src/c.py:1:33: error: 'c' depends on 'nope', which is not a job"
    expect_stderr_contains "src/a.py:1:33: error: dependency cycle: a -> b -> a"
    expect_stderr_contains "src/x/y/__init__.py:1:1: error: job name 'x.y' is already taken by src/x/y.py"
}

test_unknown_time_zone_did_you_mean() {
    new_project
    write src/report.py <<'EOF2'
STAU_CONFIG = {"schedule": "0 6 * * *", "timezone": "Europe/Berln"}
EOF2
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF2'
src/report.py:1:53: error: unknown time zone 'Europe/Berln'
     1 | STAU_CONFIG = {"schedule": "0 6 * * *", "timezone": "Europe/Berln"}
       |                                                     ^~~~~~~~~~~~~~
  hint: did you mean 'Europe/Berlin'?
1 error, 0 warnings
EOF2
    # A link's name is a zone name too.
    write src/report.py <<<'STAU_CONFIG = {"schedule": "0 6 * * *", "timezone": "US/Pacifc"}'
    run check
    expect_exit 2
    expect_stderr_contains "  hint: did you mean 'US/Pacific'?"
}

test_a_file_reports_every_error_it_has() {
    new_project
    write src/report.py <<'EOF2'
STAU_CONFIG = {
    "schedule": compute(),
    "retries": -1,
    "dependencies": ["sales.daly", {"job": lookup()}],
}
EOF2
    write src/sales/daily.py <<<'STAU_CONFIG = {}'
    age_files
    local want='src/report.py:2:17: error: cannot evaluate the call compute() statically
     2 |     "schedule": compute(),
       |                 ^~~~~~~~~
  hint: stau reads declarations without running code; compute such values inside the job instead
src/report.py:4:44: error: cannot evaluate the call lookup() statically
     4 |     "dependencies": ["sales.daly", {"job": lookup()}],
       |                                            ^~~~~~~~
  hint: stau reads declarations without running code; compute such values inside the job instead
src/report.py:3:16: error: '"'"'retries'"'"' must be an int >= 0
     3 |     "retries": -1,
       |                ^~
src/report.py:4:22: error: '"'"'report'"'"' depends on '"'"'sales.daly'"'"', which is not a job
     4 |     "dependencies": ["sales.daly", {"job": lookup()}],
       |                      ^~~~~~~~~~~~
  hint: did you mean '"'"'sales.daily'"'"'?'
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<EOF2
$want
4 errors, 0 warnings
EOF2
    # The same from the graph cache.
    run check
    expect_exit 2
    expect_stderr_eq <<EOF2
$want
4 errors, 0 warnings
EOF2
    run
    expect_exit 1
    expect_stderr_eq <<<"$want"
    expect_eq stdout "report not run: its declaration is invalid
[1/1] sales.daily ok T (run 1)
1 ran: 1 succeeded, 0 failed, 0 skipped (T)
1 job not run: invalid declarations" "$(timeless_stdout)"
}
