# The settled mark (.stau/settled): when a plan of every job finds nothing due,
# the next call confirms that nothing it rested on changed instead of planning
# again. Each test settles a project, changes one thing, and checks that exactly
# the jobs that change makes due run. `stau -v` says on stderr when the mark held.

HELD="stau: nothing changed since a plan found nothing due"

# job NAME 'DECLARATION' [BODY]: src/NAME.py whose main() records its run in ran.txt.
job() {
    local name=$1 decl=$2 body=${3:-}
    write "src/$name.py" <<EOF
STAU_CONFIG = {"main_func": "main", $decl}


def main():
    with open("ran.txt", "a") as f:
        f.write("$name\n")
$body
EOF
}

# Who ran since the last look (sorted, space-separated); then forget.
ran() {
    if [ -f ran.txt ]; then
        sort ran.txt | tr '\n' ' ' | sed 's/ $//'
        rm -f ran.txt
    fi
}

expect_ran() {
    local got
    got=$(ran)
    if [ "$got" != "$1" ]; then
        fail "$(_where): expected these jobs to run: '$1', got: '$got'"
        head -n 30 "$OUT" "$ERR"
    fi
}

# Two jobs: a writes a.out, b reads data/*.csv and follows a. Run them, age every
# file (so none is racily new), and settle: the first plan writes the mark.
settle() {
    new_project
    job a '"outputs": ["a.out"]' '    open("a.out", "w").write("a1")'
    job b '"dependencies": ["a"], "inputs": ["data/*.csv"]'
    write data/x.csv <<<"1"
    run
    expect_exit 0
    expect_ran 'a b'
    age_files
    run -v
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_not_contains "$HELD"
    expect_file .stau/settled
}

test_settled_mark_is_used() {
    settle
    run -v
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_contains "$HELD"
    run -n -v
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_contains "$HELD"
    # A target that names a job: the mark answers for it too.
    run -v b
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_contains "$HELD"
    expect_ran ''
}

test_settled_unknown_target_still_an_error() {
    settle
    run bb
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no job matches 'bb'
  hint: did you mean 'b'?
EOF
}

test_settled_code_edit() {
    settle
    job b '"dependencies": ["a"], "inputs": ["data/*.csv"]' '    print("changed")'
    run -v
    expect_exit 0
    expect_stderr_not_contains "$HELD"
    expect_ran 'b'
}

test_settled_output_content_changed() {
    settle
    # Same size, same old mtime: only the ctime tells.
    printf 'zz' >a.out
    touch -d '2001-02-03 04:05:06' a.out
    run -v
    expect_exit 0
    expect_stderr_not_contains "$HELD"
    # a writes its output again as it was: b, made from it, is up to date.
    expect_ran 'a'
    expect_stdout_contains "b up to date: a reran with unchanged outputs"
}

test_settled_output_deleted() {
    settle
    rm a.out
    run
    expect_exit 0
    expect_ran 'a'
    expect_stdout_contains "b up to date: a reran with unchanged outputs"
}

test_settled_new_file_matching_an_input_glob() {
    settle
    write data/y.csv <<<"2"
    age_files data
    run
    expect_exit 0
    expect_ran 'b'
}

test_settled_touch_plans_again_then_settles() {
    settle
    touch -d '2002-02-03 04:05:06' a.out data/x.csv src/a.py
    run -v
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_not_contains "$HELD"
    run -v
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_contains "$HELD"
    expect_ran ''
}

test_settled_a_run_elsewhere_counts() {
    settle
    # Another command records a run of b's upstream c, which leaves no file behind:
    # only the state database tells that b is due again.
    job c ''
    job b '"dependencies": ["a", "c"], "inputs": ["data/*.csv"]'
    age_files src
    run
    expect_ran 'b c'
    run -v
    run -v
    expect_stderr_contains "$HELD"
    run run --force c
    expect_exit 0
    expect_ran 'c'
    run -v
    expect_exit 0
    expect_stderr_not_contains "$HELD"
    expect_ran 'b'
    expect_stdout_contains "1 ran: 1 succeeded"
}

test_settled_force_ignores_the_mark() {
    settle
    run -v run b
    expect_exit 0
    expect_stderr_not_contains "$HELD"
    expect_ran 'b'
    run -v --force b
    expect_exit 0
    expect_stderr_not_contains "$HELD"
    expect_ran 'b'
}

test_settled_other_time_zone_plans_again() {
    settle
    TZ=America/New_York run -v
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_not_contains "$HELD"
}

test_settled_damaged_mark_is_ignored() {
    settle
    printf 'not a mark' >.stau/settled
    run -v
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_not_contains "$HELD"
    run -v
    expect_stderr_contains "$HELD"
    # Cut short: fails its check.
    head -c 40 .stau/settled >cut && mv cut .stau/settled
    run -v
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_not_contains "$HELD"
}

test_settled_not_written_for_racy_files() {
    settle
    rm .stau/settled
    # An output stamped in the future is as good as just written: its stat data
    # could not show a change in the same clock tick, so no mark is written.
    touch -d '+1 hour' a.out
    run -v
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_no_file .stau/settled
}

test_settled_not_written_for_targets_or_when_due() {
    new_project
    job a '"outputs": ["a.out"]' '    open("a.out", "w").write("a1")'
    run -n
    expect_no_file .stau/settled
    run
    expect_ran 'a'
    age_files
    run a
    expect_stdout_eq <<<"nothing to do"
    expect_no_file .stau/settled
    run status
    expect_exit 0
    expect_file .stau/settled
}

test_settled_schedule_tick_ends_it() {
    new_project
    # Every 5 s, started just after a tick: room for three plans before the next on a
    # loaded machine.
    job tick '"schedule": "@every 5s"'
    sleep "$("$PY" -c 'import time; print(5.05 - time.time() % 5)')"
    run
    expect_ran 'tick'
    run -v
    expect_stdout_eq <<<"nothing to do"
    run -v
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_contains "$HELD"
    sleep 5.1
    run -v
    expect_exit 0
    expect_stderr_not_contains "$HELD"
    expect_ran 'tick'
}
