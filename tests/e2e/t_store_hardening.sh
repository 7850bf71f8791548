# The state database, gc and archives when something is wrong: a damaged or lost
# database, unreadable archives, read-only folders, a full disk, huge or hostile
# archives (issue 13).

# A project with job `report` (prints its run id, writes data/report.txt).
store_project() {
    new_project
    write src/report.py <<'EOF'
STAU_CONFIG = {"outputs": ["data/report.txt"], "main_func": "main"}
import os
def main(**kwargs):
    print("report run", os.environ["STAU_RUN_ID"], sorted(kwargs.items()))
    os.makedirs("data", exist_ok=True)
    with open("data/report.txt", "w") as f:
        f.write("run " + os.environ["STAU_RUN_ID"] + "\n")
EOF
    age_files
}

# report run N times (forced after the first).
ran_report() {
    store_project
    run run report
    expect_exit 0
    local i
    for ((i = 2; i <= $1; i++)); do
        run run --force report
        expect_exit 0
    done
}

# damage_run ID SET: change run ID's row behind stau's back (SET: an SQL assignment),
# first dropping the NOT NULL and CHECK constraints SQLite would hold against it,
# as a garbled page can.
damage_run() {
    "$PY" - .stau/state.db "$1" "$2" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA writable_schema = ON")
sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
con.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'runs'",
            (sql.replace(" NOT NULL", ""),))
con.commit()
con.close()
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA ignore_check_constraints = ON")
con.execute("UPDATE runs SET " + sys.argv[3] + " WHERE id = ?", (int(sys.argv[2]),))
con.commit()
EOF
}

test_store_a_run_without_a_job_is_reported_not_a_crash() {
    ran_report 2
    damage_run 1 "job = NULL"
    local said="stau: error: state database './.stau/state.db' is damaged: run 1 is unreadable (its job is NULL); PRAGMA quick_check finds the file's structure sound, so the row's values themselves were changed"
    run history
    expect_exit 2
    expect_stdout_empty
    expect_stderr_contains "$said"
    run gc -n
    expect_exit 2
    expect_stdout_empty
    expect_stderr_contains "$said"
    run show 1
    expect_exit 2
    expect_stderr_contains "$said"
    run log 1
    expect_exit 2
    expect_stderr_contains "$said"
    # The sound run still reads.
    run show 2
    expect_exit 0
    expect_stdout_contains "job:          report"
}

test_store_garbage_kwargs_are_never_passed_to_a_rerun() {
    ran_report 1
    damage_run 1 "kwargs_json = '{\"region\": eu'"
    run rerun 1
    expect_exit 2
    expect_stderr_contains "stau: error: state database './.stau/state.db' is damaged: run 1 is unreadable (its kwargs are no JSON object)"
    expect_eq "runs" "1" "$(db "SELECT count(*) FROM runs")"
}

test_store_a_value_of_the_wrong_type_is_reported() {
    ran_report 1
    damage_run 1 "attempt = x'00ff'"
    run history
    expect_exit 2
    expect_stderr_contains "run 1 is unreadable (its attempt is a blob)"
}

test_store_an_unknown_status_is_reported() {
    ran_report 1
    damage_run 1 "status = 'exploded'"
    run history
    expect_exit 2
    expect_stderr_contains "run 1 is unreadable (its status is unknown)"
}
