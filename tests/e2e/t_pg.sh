# The PostgreSQL state database (--db / STAU_DB, --db-schema / STAU_DB_SCHEMA): a
# project's runs on the server, a plan's requests not growing with its jobs, a
# password never shown, schemas refused or shared, two copies of `stau serve` on
# one schema. Copies on several hosts (namespaces, cuts, restarts) are t_hosts.sh's.

# The number of requests `stau -n -v` says its plan took.
plan_requests() {
    run -n -v
    sed -n 's/^stau: the plan of [0-9]* jobs took \([0-9]*\) requests.*/\1/p' "$ERR"
}

test_pg_a_project_runs_on_the_server() {
    need_pg
    use_fixture example
    run
    expect_exit 0
    expect_stdout_contains "7 ran: 7 succeeded, 0 failed, 0 skipped"
    expect_no_file .stau/state.db
    expect_eq "runs on the server" 7 "$(pg_sql 'SELECT count(*) FROM runs')"
    expect_eq "succeeded" 7 "$(pg_sql "SELECT count(*) FROM runs WHERE status = 'succeeded'")"
    run -n
    expect_exit 0
    expect_stdout_contains "nothing to do"
    run history --limit 1
    expect_stdout_contains "reports.manifest"
    # the same, named on the command line instead of in the environment
    local db=$STAU_DB schema=$STAU_DB_SCHEMA
    unset STAU_DB STAU_DB_SCHEMA
    run --db "$db" --db-schema "$schema" -n
    expect_exit 0
    expect_stdout_contains "nothing to do"
    expect_no_file .stau/state.db
}

test_pg_plan_requests_do_not_grow_with_jobs() {
    need_pg
    "$PY" "$ROOT/tests/bench/gen_project.py" "$TEST_TMP/small" --jobs 30 --no-verify >/dev/null
    "$PY" "$ROOT/tests/bench/gen_project.py" "$TEST_TMP/large" --jobs 600 --no-verify >/dev/null
    local base=$STAU_DB_SCHEMA small large
    cd "$TEST_TMP/small" || return
    export STAU_DB_SCHEMA=${base}_s
    small=$(plan_requests)
    expect_stderr_contains "the plan of 30 jobs took"
    cd "$TEST_TMP/large" || return
    export STAU_DB_SCHEMA=${base}_l
    large=$(plan_requests)
    expect_stderr_contains "the plan of 600 jobs took"
    [ -n "$small" ] || fail "no request count for 30 jobs"
    expect_eq "requests for 600 jobs as for 30" "$small" "$large"
    [ "${large:-99}" -le 20 ] || fail "a plan took $large requests (more than 20)"
}

test_pg_a_password_is_never_shown() {
    need_pg
    use_fixture example
    # The test server trusts anyone: a password in the location is accepted, unused.
    local with_pw
    with_pw=$(printf '%s' "$STAU_DB" | sed -E 's|^(postgres(ql)?://[^:@/]+)@|\1:hunter2@|')
    export STAU_DB=$with_pw
    run
    expect_exit 0
    run status
    expect_exit 0
    run history --json
    run show 1 --json
    expect_exit 0
    expect_stdout_not_contains hunter2
    expect_eq "the password in a run record" 0 \
        "$(pg_sql "SELECT count(*) FROM runs r WHERE r::text LIKE '%hunter2%'")"
    # a server that is not there: the message names it without the password
    export STAU_DB="postgresql://someone:hunter2@127.0.0.1:1/jobs"
    run -n
    expect_exit 2
    expect_stderr_contains "stau: error: cannot connect to state database 'postgresql://someone@127.0.0.1:1/jobs schema $STAU_DB_SCHEMA': connection to server at \"127.0.0.1\", port 1 failed: Connection refused"
    expect_stderr_not_contains hunter2
    # the keyword form too
    export STAU_DB="host=127.0.0.1 port=1 user=someone password=hunter2 dbname=jobs"
    run -n
    expect_exit 2
    expect_stderr_contains "stau: error: cannot connect to state database 'postgresql://someone@127.0.0.1:1/jobs schema $STAU_DB_SCHEMA'"
    expect_stderr_not_contains hunter2
}

test_pg_keyword_string_names_the_server() {
    need_pg
    use_fixture example
    local host port user dbname
    host=$(printf '%s' "$STAU_DB" | sed -E 's|^[a-z]+://([^@]*@)?([^:/]+).*|\2|')
    port=$(printf '%s' "$STAU_DB" | sed -E 's|^[^/]*//[^/]*:([0-9]+)/.*|\1|')
    user=$(printf '%s' "$STAU_DB" | sed -E 's|^[a-z]+://([^@:]*).*@.*|\1|')
    dbname=${STAU_DB##*/}
    export STAU_DB="host=$host port=$port user=$user dbname=$dbname"
    run ingest.orders
    expect_exit 0
    expect_eq "runs on the server" 1 "$(pg_sql 'SELECT count(*) FROM runs')"
}

test_pg_a_schema_of_other_tables_is_refused() {
    need_pg
    use_fixture example
    pg_sql "CREATE SCHEMA $STAU_DB_SCHEMA; CREATE TABLE $STAU_DB_SCHEMA.invoices (id int)"
    run -n
    expect_exit 2
    expect_stderr_contains "stau: error: cannot use 'postgresql://"
    expect_stderr_contains " schema $STAU_DB_SCHEMA' as a state database: its schema has tables but none of stau's; name another with --db-schema"
    expect_eq "its tables untouched" "invoices" \
        "$(pg_sql "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = '$STAU_DB_SCHEMA'")"
}

test_pg_a_schema_name_too_long_is_refused() {
    need_pg
    use_fixture example
    local long
    long=$(printf 's%.0s' $(seq 64))
    run --db-schema "$long" -n
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<EOF
stau: error: cannot use '$long' as a schema name: it must have 1 to 63 characters
EOF
}

# A schema made by a stau of version 8 (before work IDs' last successes were kept)
# is brought to the current version (13) on open, and the table filled from its runs.
test_pg_migrates_version_8() {
    need_pg
    new_project
    write src/a.py <<'PY'
STAU_CONFIG = {"work_ids": [3, 1, 2], "chunk_size": 2, "main_func": "main"}


def main(work_ids):
    pass
PY
    run
    expect_exit 0
    expect_eq "kept by the trigger" "1,2,3" "$(pg_sql "SELECT string_agg(work_id::text, ',' ORDER BY work_id) FROM work_done")"
    # (What versions after 8 added goes, so that the schema is version 8's again.)
    pg_sql "DROP TABLE work_done; DROP FUNCTION note_work_done() CASCADE; DROP FUNCTION work_ids_of(text);
        ALTER TABLE runs DROP COLUMN env_names_json, DROP COLUMN kwargs_given_json,
        DROP COLUMN git_dirty, DROP COLUMN git_changes_json; UPDATE meta SET version = 8"
    # Rows written by hand with odd work IDs do not stop the migration.
    pg_sql "INSERT INTO runs (job, status, queued_at, finished_at, work_ids_json) VALUES
        ('z', 'succeeded', 1, 2, ''), ('z', 'succeeded', 1, 2, '[99999999999999999999, 7, 7]'),
        ('z', 'succeeded', 1, 2, '{\"a\": 1}')"
    run -n
    expect_exit 0
    expect_eq "version" 13 "$(pg_sql "SELECT version FROM meta")"
    expect_eq "filled from the runs" "a:1,a:2,a:3,z:7" "$(pg_sql "SELECT string_agg(job || ':' || work_id, ',' ORDER BY job, work_id) FROM work_done")"
    expect_eq "each from its own chunk" "t" "$(pg_sql "SELECT bool_and(w.run_id = r.id) FROM work_done w JOIN runs r ON r.job = w.job JOIN LATERAL work_ids_of(r.work_ids_json) x(id) ON x.id = w.work_id WHERE w.job = 'a'")"
}

test_pg_a_newer_schema_is_refused() {
    need_pg
    use_fixture example
    run ingest.orders
    expect_exit 0
    pg_sql "UPDATE meta SET version = 99"
    run -n
    expect_exit 2
    expect_stderr_contains "its schema version 99 is newer than this stau knows (13); use a newer stau"
    expect_eq "runs kept" 1 "$(pg_sql 'SELECT count(*) FROM runs')"
}

test_pg_two_projects_share_a_server() {
    need_pg
    local base=$STAU_DB_SCHEMA
    use_fixture example one
    STAU_DB_SCHEMA=${base}_one run
    expect_exit 0
    use_fixture example two
    STAU_DB_SCHEMA=${base}_two run ingest.orders
    expect_exit 0
    STAU_DB_SCHEMA=${base}_two run history
    expect_stdout_contains "ingest.orders"
    expect_stdout_not_contains "reports.manifest"
    cd "$TEST_TMP/one" || return
    STAU_DB_SCHEMA=${base}_one run -n
    expect_stdout_contains "nothing to do"
}

# Two copies on one schema: each tick of a job runs once, the dependent after it.
test_pg_two_copies_serve_one_schema() {
    need_pg
    new_project
    write src/up.py <<'EOF'
import os, time
STAU_CONFIG = {"main_func": "main", "schedule": "@every 1s"}
def main():
    with open("ledger.txt", "a") as f:
        f.write("up %s %s\n" % (os.environ["STAU_RUN_ID"], os.environ["STAU_OWNER"]))
EOF
    write src/down.py <<'EOF'
import os
STAU_CONFIG = {"main_func": "main", "dependencies": ["up"]}
def main():
    with open("ledger.txt", "a") as f:
        f.write("down %s %s\n" % (os.environ["STAU_RUN_ID"], os.environ["STAU_OWNER"]))
EOF
    start_bg_into "$TEST_TMP/a.out" "$TEST_TMP/a.err" serve
    local a=$BG_PID
    start_bg_into "$TEST_TMP/b.out" "$TEST_TMP/b.err" serve
    local b=$BG_PID
    sleep 6
    kill -TERM "$a" "$b"
    wait "$a" "$b"
    grep -q "leading: this copy enqueues scheduled work" "$TEST_TMP/a.err" "$TEST_TMP/b.err" ||
        fail "no copy says it leads"
    local ups
    ups=$(grep -c '^up ' ledger.txt)
    [ "$ups" -ge 3 ] || fail "only $ups runs of up in 6 s"
    expect_eq "each run of up once" "" "$(awk '$1 == "up" {print $2}' ledger.txt | sort | uniq -d)"
    # every tick of up is one run: no two runs of up queued in the same second
    expect_eq "one run per tick" "" "$(pg_sql "SELECT queued_at / 1000 FROM runs WHERE job = 'up' AND reasons_json LIKE '%schedule%' GROUP BY 1 HAVING count(*) > 1")"
    # the dependent is never claimed while up runs (a tick of up may still begin while
    # down runs in the other copy: claims of an upstream do not wait for dependents)
    expect_eq "down claimed while up ran" 0 "$(pg_sql "SELECT count(*) FROM runs d JOIN runs u ON u.job = 'up' AND d.job = 'down' AND u.started_at < d.queued_at AND d.queued_at < u.finished_at")"
    expect_eq "runs left queued or running" 0 \
        "$(pg_sql "SELECT count(*) FROM runs WHERE status IN ('queued', 'running') AND host IS NOT NULL")"
}

# gc on the server, a page of runs per request ($STAU_GC_BATCH moves the seams): the
# same removals wherever a page ends (t_log.sh has the same on SQLite).
test_pg_gc_pages_meet_at_every_seam() {
    need_pg
    new_project
    write src/report.py <<'EOF'
STAU_CONFIG = {"outputs": ["data/report.txt"], "main_func": "main"}
import os
def main():
    os.makedirs("data", exist_ok=True)
    open("data/report.txt", "w").write("run " + os.environ["STAU_RUN_ID"] + "\n")
EOF
    write src/other.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}
def main():
    print("other ran")
EOF
    local i
    for i in 1 2 3 4 5; do run run --force report; done
    for i in 1 2 3; do run run --force other; done
    expect_eq "runs" 8 "$(pg_sql 'SELECT count(*) FROM runs')"
    # runs 1-3 were not archived: their logs go by count (2 kept: 4 and 5 are newer)
    pg_sql "UPDATE runs SET archive_path = NULL WHERE id <= 3" >/dev/null
    rm .stau/archive/report.[123].tar.zst
    run gc -n --keep-last 2
    expect_exit 0
    expect_stderr_empty
    expect_stdout_contains "would remove archive .stau/archive/other.6.tar.zst"
    expect_stdout_contains "gc: would remove 1 archive and 8 logs"
    cp "$OUT" "$TEST_TMP/want"
    local batch
    for batch in 1 2 3; do
        STAU_GC_BATCH=$batch run gc -n --keep-last 2
        expect_exit 0
        expect_stdout_eq <"$TEST_TMP/want"
    done
    STAU_GC_BATCH=2 run gc --keep-last 2
    expect_exit 0
    expect_stdout_contains "gc: removed 1 archive and 8 logs"
    expect_no_file .stau/archive/other.6.tar.zst
    expect_file .stau/archive/other.7.tar.zst
    expect_eq "archives forgotten" "6" \
        "$(pg_sql "SELECT string_agg(id::text, ',') FROM runs WHERE archive_path IS NULL AND id > 3")"
    expect_eq "logs left" "" "$(ls .stau/logs)"
    run gc --keep-last 2
    expect_stdout_eq <<<"gc: nothing to remove"
}

# --archive DIR: archives in one folder every copy shares; stau reads them from there.
test_archive_folder_is_shared() {
    use_fixture example
    run --archive "$TEST_TMP/shared" ingest.orders
    expect_exit 0
    expect_file "$TEST_TMP/shared/ingest.orders.1.tar.zst"
    expect_eq "archives in .stau" "" "$(ls .stau/archive 2>/dev/null)"
    run show 1
    expect_stdout_contains "archive:      $TEST_TMP/shared/ingest.orders.1.tar.zst"
    rm -f .stau/logs/ingest.orders.*.log
    run log 1 # the log, from the archive in the shared folder
    expect_exit 0
    rm -f data/clean/orders.csv
    STAU_ARCHIVE=$TEST_TMP/shared run restore 1
    expect_exit 0
    expect_file data/clean/orders.csv
    # gc removes from the shared folder too (the last success of a job is kept)
    run --archive "$TEST_TMP/shared" run --force ingest.orders
    expect_exit 0
    run --archive "$TEST_TMP/shared" gc --keep-last 0
    expect_exit 0
    expect_no_file "$TEST_TMP/shared/ingest.orders.1.tar.zst"
    expect_file "$TEST_TMP/shared/ingest.orders.2.tar.zst"
}

# A run of another host whose files are not here: log, show and restore say where.
test_files_of_another_host_are_named() {
    use_fixture example
    run ingest.orders
    expect_exit 0
    db "UPDATE runs SET host = 'etl7' WHERE id = 1"
    rm -f .stau/logs/ingest.orders.*.log .stau/archive/ingest.orders.1.tar.zst
    local hint
    hint="  hint: run 1 ran on host 'etl7', not here ('$(hostname)'): its archive is on that host at '.stau/archive/ingest.orders.1.tar.zst'; run this there, or give every copy one shared folder with --archive DIR"
    run log 1
    expect_exit 2
    printf "stau: error: cannot open archive '.stau/archive/ingest.orders.1.tar.zst': No such file or directory\n%s\n" "$hint" >"$TEST_TMP/want"
    expect_stderr_eq <"$TEST_TMP/want"
    run restore 1
    expect_exit 2
    expect_stderr_contains "$hint"
    run show 1
    expect_stdout_contains "archive:      .stau/archive/ingest.orders.1.tar.zst (missing)"
    expect_stderr_contains "$hint"
}
