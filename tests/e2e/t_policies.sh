# When a job runs (SPEC §2): scheduled, derived and on-demand jobs, early cutoff on
# unchanged outputs, the pull rule, and the "on" key.

# ingest (every 15 minutes) -> daily (derived) -> weekly (Mondays at 7).
weekly_project() {
    new_project
    write src/ingest.py <<'PY'
STAU_CONFIG = {"schedule": "*/15 * * * *", "inputs": ["data/raw.csv"],
               "outputs": ["data/clean.csv"], "main_func": "main"}

def main():
    rows = open("data/raw.csv").read().split()
    open("data/clean.csv", "w").write("\n".join(sorted(set(rows))) + "\n")
    open("ran.txt", "a").write("ingest\n")
PY
    write src/daily.py <<'PY'
STAU_CONFIG = {"dependencies": ["ingest"], "outputs": ["data/daily.txt"], "main_func": "main"}

def main():
    open("data/daily.txt", "w").write("%d rows\n" % len(open("data/clean.csv").read().split()))
    open("ran.txt", "a").write("daily\n")
PY
    write src/weekly.py <<'PY'
STAU_CONFIG = {"dependencies": ["daily"], "schedule": "0 7 * * MON", "timezone": "UTC",
               "outputs": ["data/weekly.txt"], "main_func": "main"}

def main():
    open("data/weekly.txt", "w").write(open("data/daily.txt").read())
    open("ran.txt", "a").write("weekly\n")
PY
    mkdir -p data
    printf 'b\na\n' >data/raw.csv
}

# Move the runs of job $1 back by $2 minutes, as if they had happened then.
age_runs() {
    db "UPDATE runs SET queued_at = queued_at - $2 * 60000, started_at = started_at - $2 * 60000,
        finished_at = finished_at - $2 * 60000, heartbeat_at = heartbeat_at - $2 * 60000
        WHERE job = '$1'" >/dev/null
}

ran() {
    [ -f ran.txt ] && tr '\n' ' ' <ran.txt | sed 's/ $//'
    rm -f ran.txt
}

expect_ran() {
    local got
    got=$(ran)
    [ "$got" = "$1" ] || { fail "$(_where): expected these jobs to run: '$1', got: '$got'"; head -n 20 "$OUT" "$ERR"; }
}

test_policies_a_weekly_job_is_not_rerun_by_an_upstream_tick() {
    weekly_project
    run
    expect_exit 0
    expect_ran 'ingest daily weekly'
    # ingest ticks and leaves data/clean.csv as it was: nothing below it runs.
    age_runs ingest 20
    run -n
    expect_exit 0
    sed -E -i 's/ticked at [^,]*,/ticked at TICK,/' "$OUT"
    expect_stdout_eq <<'EOF'
would run 2 jobs:
  ingest (scheduled)
      schedule: '*/15 * * * *' ticked at TICK, after the last run started
  daily (derived)
      upstream-due: 'ingest' runs first
      up to date after all if what it depends on comes out unchanged
EOF
    run
    expect_exit 0
    expect_ran 'ingest'
    expect_stdout_contains "[2/2] daily up to date: ingest reran with unchanged outputs"
    expect_stdout_contains "1 ran: 1 succeeded, 0 failed, 0 skipped, 1 up to date after all ("
    expect_eq "runs of daily" 1 "$(db "SELECT count(*) FROM runs WHERE job = 'daily'")"
    # The next time nothing is due at all.
    run
    expect_exit 0
    expect_stdout_eq <<'EOF'
nothing to do
EOF
    expect_ran ''
}

test_policies_a_changed_upstream_waits_for_the_next_tick() {
    weekly_project
    run
    expect_ran 'ingest daily weekly'
    printf 'b\na\nc\n' >data/raw.csv
    # ingest is scheduled: its changed input waits for its tick.
    run why ingest
    expect_stdout_contains "  at the next tick: input-changed: data/raw.csv changed since run 1"
    age_runs ingest 20
    run
    expect_exit 0
    expect_ran 'ingest daily'
    run why weekly
    expect_exit 0
    expect_stdout_contains "weekly is not due:
  policy: scheduled: it runs at each tick of its schedule; changes wait for the next tick
  at the next tick: upstream-changed: 'daily' left different outputs (run 5) since run 3"
    expect_stdout_contains "  code, declaration, inputs and outputs match that run (fingerprints "
    expect_stdout_contains "  next tick: "
    # At its tick it runs (moved a week back, a Monday 07:00 has passed since).
    age_runs weekly 10080
    run
    expect_ran 'weekly'
}

test_policies_schedule_and_change() {
    weekly_project
    write src/weekly.py <<'PY'
STAU_CONFIG = {"dependencies": ["daily"], "schedule": "0 7 * * MON", "timezone": "UTC",
               "on": ["schedule", "change"], "outputs": ["data/weekly.txt"], "main_func": "main"}

def main():
    open("data/weekly.txt", "w").write(open("data/daily.txt").read())
    open("ran.txt", "a").write("weekly\n")
PY
    run
    expect_ran 'ingest daily weekly'
    printf 'b\na\nc\n' >data/raw.csv
    age_runs ingest 20
    run
    expect_ran 'ingest daily weekly'
    run why weekly
    expect_stdout_contains "  policy: scheduled and on change: it runs at each tick of its schedule and when what it is made from changes"
}

test_policies_on_demand_runs_only_when_needed() {
    new_project
    write src/helper.py <<'PY'
STAU_CONFIG = {"on": "demand", "main_func": "main"}

def main():
    open("ran.txt", "a").write("helper\n")
PY
    write src/top.py <<'PY'
STAU_CONFIG = {"dependencies": ["helper"], "inputs": ["top.cfg"], "main_func": "main"}

def main():
    open("ran.txt", "a").write("top\n")
PY
    # The original Stau's form is on demand without a timetable entry.
    write src/lone.py <<'PY'
def ReportConfig(**kwargs):
    return kwargs


STAU_CONFIG = ReportConfig(job_type="lone", chunk_size=None, dependencies=[], main_func="main")

def main():
    open("ran.txt", "a").write("lone\n")
PY
    echo a >top.cfg
    run -n
    expect_stdout_eq <<'EOF'
would run 2 jobs:
  helper (on demand, needed by 'top')
      never-run: no successful run is recorded
  top (derived)
      never-run: no successful run is recorded
      upstream-due: 'helper' runs first
EOF
    run
    expect_exit 0
    expect_ran 'helper top'
    run why lone
    expect_exit 0
    expect_stdout_eq <<'EOF'
lone is not due:
  policy: on demand: it runs only when a job that runs needs it
  when needed: never-run: no successful run is recorded
EOF
    run status
    expect_stdout_contains "lone    waiting  -                     on demand  when a job that runs needs it"
    # helper's code changes: nothing needs it now. top's input changes: it pulls helper.
    echo "# edited" >>src/helper.py
    echo "x = 1" >>src/helper.py
    run
    expect_ran ''
    echo b >top.cfg
    run
    expect_ran 'helper top'
    # Asked for by name, it runs.
    run run lone
    expect_exit 0
    expect_ran 'lone'
}

test_policies_dot_and_list_show_the_policy() {
    weekly_project
    write src/helper.py <<'PY'
STAU_CONFIG = {"on": "demand"}
PY
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF'
NAME    FILE           DEPENDENCIES  SCHEDULE      POLICY     TAGS
daily   src/daily.py   ingest        -             derived    -
helper  src/helper.py  -             -             on demand  -
ingest  src/ingest.py  -             */15 * * * *  scheduled  -
weekly  src/weekly.py  daily         0 7 * * MON   scheduled  -
EOF
    run dot
    expect_exit 0
    expect_stdout_contains 'helper	[label=helper,
		policy="on demand",
		style="rounded,dashed",'
    expect_stdout_contains 'peripheries=2'
}

test_policies_on_key_errors() {
    new_project
    write src/a.py <<'PY'
STAU_CONFIG = {"on": "schedul"}
PY
    write src/b.py <<'PY'
STAU_CONFIG = {"on": "schedule"}
PY
    write src/c.py <<'PY'
STAU_CONFIG = {"schedule": "@daily", "on": "change"}
PY
    write src/d.py <<'PY'
STAU_CONFIG = {"on": ["demand", "change"]}
PY
    write src/e.py <<'PY'
STAU_CONFIG = {"on": []}
PY
    write src/f.py <<'PY'
STAU_CONFIG = {"on": 3}
PY
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
src/a.py:1:22: error: 'on' must be "schedule", "change" or "demand", not "schedul"
     1 | STAU_CONFIG = {"on": "schedul"}
       |                      ^~~~~~~~~
  hint: did you mean "schedule"?
src/d.py:1:22: error: 'on' must be "demand" alone: a job run on demand runs only when a job that runs needs it
     1 | STAU_CONFIG = {"on": ["demand", "change"]}
       |                      ^~~~~~~~~~~~~~~~~~~~
src/e.py:1:22: error: 'on' must be "schedule", "change", "demand" or a list of "schedule" and "change", not an empty list
     1 | STAU_CONFIG = {"on": []}
       |                      ^~
src/f.py:1:22: error: 'on' must be "schedule", "change", "demand" or a list of them, not int
     1 | STAU_CONFIG = {"on": 3}
       |                      ^
src/b.py:1:22: error: 'on' includes "schedule", but 'b' has no schedule
     1 | STAU_CONFIG = {"on": "schedule"}
       |                      ^~~~~~~~~~
  hint: add a "schedule", or say "on": "change" to run it when what it is made from changes
src/c.py:1:44: error: 'c' has a schedule, but 'on' does not include "schedule"
     1 | STAU_CONFIG = {"schedule": "@daily", "on": "change"}
       |                                            ^~~~~~~~
  hint: write "on": ["schedule", "change"] to run it at its ticks and when what it is made from changes, or remove the schedule
6 errors, 0 warnings
EOF
}
