# Run records, logs and archives: stau log, history, show, gc, restore.

# A project with job `report` (prints its run id, writes data/report.txt; fails
# with exit 3 while the file `fail` exists) and job `other` (prints a line).
log_project() {
    new_project
    write src/report.py <<'EOF'
STAU_CONFIG = {"outputs": ["data/report.txt"], "main_func": "main"}
import os
def main():
    print("report run", os.environ["STAU_RUN_ID"])
    if os.path.exists("fail"):
        raise SystemExit(3)
    os.makedirs("data", exist_ok=True)
    with open("data/report.txt", "w") as f:
        f.write("run " + os.environ["STAU_RUN_ID"] + "\n")
EOF
    write src/other.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}
def main():
    print("other ran")
EOF
    age_files
}

# The log of run N (relative path), from the state database.
log_of() {
    "$STAU" show "$1" --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["log_path"])'
}

test_log_of_last_run_and_of_a_run_number() {
    log_project
    run run report
    expect_exit 0
    run run --force report
    expect_exit 0
    run log report
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
report run 2
EOF
    run log 1
    expect_exit 0
    expect_stdout_eq <<'EOF'
report run 1
EOF
}

test_log_errors() {
    log_project
    run run report
    run log reprot
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no job named 'reprot'
  hint: did you mean 'report'?
EOF
    run log zzzzzzzz
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no job named 'zzzzzzzz'
  hint: `stau list` shows the jobs
EOF
    run log 123
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no run 123
  hint: `stau history` lists the runs
EOF
    run log other
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'other' has not run yet
  hint: stau run other
EOF
    run log report other
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'log' takes one job or run number
  hint: usage: stau log [JOB|RUN]
EOF
}

# `stau log JOB` shows the newest run that has a log, and says so when a newer
# run has none (skipped, never started).
test_log_of_a_job_passes_over_runs_without_a_log() {
    log_project
    write src/after.py <<'EOF'
STAU_CONFIG = {"main_func": "main", "dependencies": ["report"]}
def main():
    print("after ran")
EOF
    run run after
    expect_exit 0
    touch fail
    run run --force after
    expect_exit 1
    expect_eq "runs" "1|report|succeeded
2|after|succeeded
3|report|failed
4|after|skipped" "$(db 'SELECT id, job, status FROM runs ORDER BY id')"
    run log after
    expect_exit 0
    expect_stdout_eq <<<"after ran"
    expect_stderr_eq <<<"stau: run 2; run 4 was skipped"
    # The newest run has a log: nothing is said.
    run log report
    expect_exit 0
    expect_stdout_eq <<<"report run 3"
    expect_stderr_empty
}

test_log_of_a_job_without_any_log() {
    log_project
    write src/after.py <<'EOF'
STAU_CONFIG = {"main_func": "main", "dependencies": ["report"]}
def main():
    print("after ran")
EOF
    touch fail
    run run after
    expect_exit 1
    run log after
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no run of 'after' has a log: the newest, run 2, was skipped and never started
  hint: `stau history after` lists its runs
EOF
}

# `stau log` alone: the last run that did not succeed, named on stderr.
test_log_alone_shows_the_last_failure() {
    log_project
    run log
    expect_exit 0
    expect_stdout_eq <<<"no run is recorded yet"
    run run report
    expect_exit 0
    run log
    expect_exit 0
    expect_stdout_eq <<<"no run has failed"
    expect_stderr_empty
    touch fail
    run run report
    expect_exit 1
    run run other
    expect_exit 0
    run log
    expect_exit 0
    expect_stdout_eq <<<"report run 2"
    expect_stderr_eq <<<"stau: run 2 of 'report', the last that did not succeed: failed (exit 3)"
}

test_log_read_from_the_archive_once_removed() {
    log_project
    run run report
    local log
    log=$(log_of 1)
    expect_file "$log"
    rm "$log"
    run log report
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
report run 1
EOF
    rm .stau/archive/report.1.tar.zst
    run log 1
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<EOF
stau: error: cannot open archive '.stau/archive/report.1.tar.zst': No such file or directory
EOF
    # gc forgets an archive already gone (not the last success's: run 2 is newer).
    "$STAU" run --force report >/dev/null
    "$STAU" gc --keep-last 0 >/dev/null
    run log 1
    expect_exit 2
    expect_stderr_eq <<EOF
stau: error: the log of run 1 is gone: '$log' was removed and the run has no archive
EOF
}

test_log_follows_a_running_run() {
    new_project
    write src/slow.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}
import time
def main():
    print("start", flush=True)
    time.sleep(1.5)
    print("end", flush=True)
EOF
    age_files
    "$STAU" run slow >/dev/null 2>&1 &
    local pid=$! i
    for i in $(seq 100); do
        "$STAU" history slow --json 2>/dev/null | grep -q '"status":"running"' && break
        sleep 0.1
    done
    run log slow
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
start
end
EOF
    wait "$pid"
    expect_eq "exit status of the run" 0 "$?"
}

test_history() {
    log_project
    run history
    expect_exit 0
    expect_stdout_eq <<'EOF'
no runs yet
EOF
    run history --json
    expect_stdout_eq <<'EOF'
[]
EOF
    run run report other
    touch fail
    run run --force report
    expect_exit 1
    run history
    expect_exit 0
    expect_stderr_empty
    sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/YYYY-MM-DD hh:mm:ss/; s/[0-9]\.[0-9]s/N.Ns/' \
        "$OUT" >"$TEST_TMP/history"
    OUT=$TEST_TMP/history expect_stdout_eq <<'EOF'
   RUN  JOB     TRY  STATUS       STARTED              DURATION  EXIT
     3  report    1  failed       YYYY-MM-DD hh:mm:ss      N.Ns  3
     2  report    1  succeeded    YYYY-MM-DD hh:mm:ss      N.Ns  0
     1  other     1  succeeded    YYYY-MM-DD hh:mm:ss      N.Ns  0
EOF
    run history report --limit 1 --json
    expect_exit 0
    "$PY" - "$OUT" <<'EOF' || fail "history --json is not what it should be"
import json, sys
runs = json.load(open(sys.argv[1]))
assert [r["id"] for r in runs] == [3], runs
r = runs[0]
assert r["job"] == "report" and r["status"] == "failed" and r["exit_code"] == 3, r
assert r["signal"] is None and r["attempt"] == 1 and r["kwargs"] == {}, r
assert r["reasons"] == [{"reason": "forced", "evidence": "asked for with `stau run --force`"}], r
assert r["log_path"].startswith(".stau/logs/report."), r
assert r["archive_path"] == ".stau/archive/report.3.tar.zst", r
for key in ("queued", "started", "finished", "invocation", "pid", "code_fingerprint",
            "config_fingerprint", "inputs_fingerprint", "outputs_fingerprint", "rerun_of"):
    assert key in r, key
assert r["finished_ms"] >= r["started_ms"] >= r["queued_ms"] > 1e12, r
assert r["invocation"]["host"] and r["invocation"]["pid"] > 0, r
EOF
    run history reprot
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no job named 'reprot'
  hint: did you mean 'report'?
EOF
    run history other report
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'history' takes at most one job
  hint: usage: stau history [JOB] [--limit N] [--json]
EOF
    run history --limit 0
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: --limit needs a number from 1 to 1000000, not '0'
  hint: see 'stau history --help'
EOF
}

test_show() {
    log_project
    run run report
    run show 1
    expect_exit 0
    expect_stderr_empty
    expect_stdout_contains "run 1"
    expect_stdout_contains "  job:          report"
    expect_stdout_contains "  status:       succeeded"
    expect_stdout_contains "  exit:         0"
    expect_stdout_contains "  archive:      .stau/archive/report.1.tar.zst"
    expect_stdout_contains "  log:          $(log_of 1)"
    # The reasons, a line each as `stau why` says them (the JSON is --json's); the
    # archive's members with their sizes.
    sed -n '/^  reasons:/,/^  log:/p' "$OUT" >"$TEST_TMP/reasons"
    OUT=$TEST_TMP/reasons expect_stdout_eq <<EOF
  reasons:
    forced: asked for with \`stau run\`
    never-run: no successful run is recorded
  log:          $(log_of 1)
EOF
    grep -E '^    file +[0-9]+  (manifest.json|log.txt|outputs/data/report.txt)$' "$OUT" >"$TEST_TMP/m"
    expect_eq "archive members listed" 3 "$(wc -l <"$TEST_TMP/m")"
    grep -qE '^    outputs: +[0-9a-f]{32}$' "$OUT" || fail "no outputs fingerprint in: $(cat "$OUT")"
    run show 1 --json
    expect_exit 0
    "$PY" - "$OUT" <<'EOF' || fail "show --json is not what it should be"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["id"] == 1 and r["job"] == "report" and r["status"] == "succeeded", r
members = [(m["path"], m["type"]) for m in r["archive_members"]]
assert members == [("manifest.json", "file"), ("log.txt", "file"),
                   ("outputs/data/report.txt", "file")], members
EOF
    # A timetable entry is named unless the evidence does; reasons that are not
    # what stau writes are shown as they are.
    db "UPDATE runs SET reasons_json = '[{\"reason\": \"schedule\", \"evidence\": \"''0 6 * * *'' ticked at 2026-01-02 06:00:00 UTC, after the last run started\", \"tick\": 1767333600000, \"entry\": \"daily\"}]' WHERE id = 1"
    run show 1
    sed -n '/^  reasons:/,/^  log:/p' "$OUT" >"$TEST_TMP/reasons"
    OUT=$TEST_TMP/reasons expect_stdout_eq <<EOF
  reasons:
    schedule: '0 6 * * *' ticked at 2026-01-02 06:00:00 UTC, after the last run started (timetable entry 'daily')
  log:          $(log_of 1)
EOF
    db "UPDATE runs SET reasons_json = '{\"odd\": 1}' WHERE id = 1"
    run show 1
    sed -n '/^  reasons:/,/^  log:/p' "$OUT" >"$TEST_TMP/reasons"
    OUT=$TEST_TMP/reasons expect_stdout_eq <<EOF
  reasons:
    {
      "odd": 1
    }
  log:          $(log_of 1)
EOF
    run show 7
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no run 7
  hint: `stau history` lists the runs
EOF
    run show report
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'report' is not a run number
  hint: `stau history` lists the runs with their numbers
EOF
    run show
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'show' needs a run number
  hint: usage: stau show RUN [--json]
EOF
}

# A git checkout: the run records its commit with a dirty flag and the changed
# files under the jobs root (tracked ones changed, staged or not, and files not
# tracked there); what changed outside the jobs root only makes it dirty, what
# changed outside the project not even that. `show` and `why` say it.
test_show_git_commit_dirty_and_changed_files() {
    log_project
    mkdir -p "$TEST_TMP/outside"
    echo a >"$TEST_TMP/outside/f"
    git -C "$TEST_TMP" init -q
    git -C "$TEST_TMP" add -A
    git -C "$TEST_TMP" -c user.email=t@example.com -c user.name=t commit -qm first
    local commit
    commit=$(git -C "$TEST_TMP" rev-parse HEAD)
    run run other
    expect_exit 0
    run show 1
    expect_stdout_contains "  git commit:   $commit (clean)"
    # Changed outside the project: not the project's change.
    echo b >>"$TEST_TMP/outside/f"
    echo "# more" >>src/other.py
    echo "# staged" >>src/report.py
    git add src/report.py
    touch src/new.py notes.txt
    run run other
    expect_exit 0
    run show 2
    expect_stdout_contains "  git commit:   $commit (dirty: src/other.py, src/report.py, src/new.py)"
    run show 2 --json
    "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["git_dirty"] is True and r["git_changes"] == ["src/other.py", "src/report.py", "src/new.py"], r' "$OUT" ||
        fail "show --json: $(cat "$OUT")"
    run why other
    expect_exit 0
    expect_stdout_contains "  run 2 ran at commit ${commit:0:7} (dirty: src/other.py, src/report.py, src/new.py)"
    # Only outside the jobs root.
    git -C "$TEST_TMP" add -A
    git -C "$TEST_TMP" -c user.email=t@example.com -c user.name=t commit -qm second
    commit=$(git -C "$TEST_TMP" rev-parse HEAD)
    echo "changed" >notes.txt
    run run other
    run show 3
    expect_stdout_contains "  git commit:   $commit (dirty outside the jobs root)"
    # Six or more: the first five, and how many more.
    rm notes.txt
    touch src/n1.py src/n2.py src/n3.py src/n4.py src/n5.py src/n6.py src/n7.py
    run run other
    run show 4
    expect_stdout_contains "  git commit:   $commit (dirty: src/n1.py, src/n2.py, src/n3.py, src/n4.py, src/n5.py and 2 more)"
    # Without git the commit is still read from .git, and the rest is not known.
    mkdir -p "$TEST_TMP/bin"
    ln -s "$PY" "$TEST_TMP/bin/python3"
    ln -s "$(command -v timeout)" "$TEST_TMP/bin/timeout"
    PATH=$TEST_TMP/bin run run other
    expect_exit 0
    run show 5
    expect_eq "the commit alone" "  git commit:   $commit" "$(grep '^  git commit:' "$OUT")"
    run show 5 --json
    "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["git_dirty"] is None and r["git_changes"] is None, r' "$OUT" ||
        fail "show --json without git: $(cat "$OUT")"
}

# "removed KIND PATH (N bytes)" for each file, as gc prints it.
gc_line() {
    printf '%s %s %s (%s bytes)\n' "$1" "$2" "$3" "$(stat -c %s "$3")"
}

test_gc_keeps_the_newest_and_removes_logs_of_archived_runs() {
    log_project
    run run report
    run run --force report
    run run --force report
    local a1=.stau/archive/report.1.tar.zst a2=.stau/archive/report.2.tar.zst
    local l1 l2 l3 total
    l1=$(log_of 1) l2=$(log_of 2) l3=$(log_of 3)
    total=$(($(stat -c %s "$l1" "$l2" "$l3" "$a1" "$a2" | paste -sd+)))
    {
        gc_line "would remove" log "$l1"
        gc_line "would remove" log "$l2"
        gc_line "would remove" log "$l3"
        gc_line "would remove" archive "$a1"
        gc_line "would remove" archive "$a2"
        echo "gc: would remove 2 archives and 3 logs, freeing $total bytes"
    } >"$TEST_TMP/want-n"
    {
        gc_line removed log "$l1"
        gc_line removed log "$l2"
        gc_line removed log "$l3"
        gc_line removed archive "$a1"
        gc_line removed archive "$a2"
        echo "gc: removed 2 archives and 3 logs, freed $total bytes"
    } >"$TEST_TMP/want"
    run gc -n --keep-last 1
    expect_exit 0
    expect_stdout_eq <"$TEST_TMP/want-n"
    expect_file "$a1"
    expect_file "$l1"
    run gc --keep-last 1
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <"$TEST_TMP/want"
    expect_no_file "$a1"
    expect_no_file "$a2"
    expect_no_file "$l3"
    expect_file .stau/archive/report.3.tar.zst
    expect_eq "archive of run 1 in the record" null \
        "$("$STAU" show 1 --json | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["archive_path"]))')"
    run gc --keep-last 1
    expect_stdout_eq <<'EOF'
gc: nothing to remove
EOF
    # Run 3's log is still readable, from its archive.
    run log report
    expect_exit 0
    expect_stdout_eq <<'EOF'
report run 3
EOF
}

# A run that could not be archived keeps its log alone; gc takes such logs by the
# archives' rules (the newest --keep-last of each job stay).
test_gc_removes_logs_of_runs_without_an_archive() {
    new_project
    write src/pipe.py <<'EOF'
STAU_CONFIG = {"outputs": ["data/pipe"], "main_func": "main"}
import os
def main():
    print("pipe run", os.environ["STAU_RUN_ID"])
    os.makedirs("data", exist_ok=True)
    if not os.path.exists("data/pipe"):
        os.mkfifo("data/pipe")
EOF
    run run pipe
    expect_exit 0
    expect_stderr_contains "stau: warning: run 1 of 'pipe' is not archived: cannot archive output 'data/pipe': "
    run run --force pipe
    expect_exit 0
    local l1 l2
    l1=$(log_of 1) l2=$(log_of 2)
    expect_file "$l1"
    {
        gc_line removed log "$l1"
        echo "gc: removed 0 archives and 1 log, freed $(stat -c %s "$l1") bytes"
    } >"$TEST_TMP/want"
    run gc --keep-last 1
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <"$TEST_TMP/want"
    expect_no_file "$l1"
    expect_file "$l2"
    run gc --keep-last 1
    expect_stdout_eq <<<"gc: nothing to remove"
}

# A project whose runs give every step of gc something to do: report ran 5 times
# (runs 1-5; 1-3 could not be archived, so their logs are their only copies) and
# other 3 times (6-8); in .stau/logs also lie two select_work logs no run records
# (one from 2023, one from 2100) and a file that is no log. Writes into
# $TEST_TMP/want-n and $TEST_TMP/want what `gc --keep-last 2` says: the logs of the
# archived runs 4-8 (oldest first), the logs of report's runs past its 2 newest
# without an archive (3, 2, 1: newest first), the select_work log that report's 5
# runs came after, and other's oldest archive (6).
gc_pages_project() {
    log_project
    local i
    for i in 1 2 3 4 5; do run run --force report; done
    for i in 1 2 3; do run run --force other; done
    expect_eq "runs" 8 "$(db 'SELECT count(*) FROM runs')"
    db "UPDATE runs SET archive_path = NULL WHERE id <= 3" >/dev/null
    rm .stau/archive/report.[123].tar.zst
    echo "selected" >.stau/logs/report.1700000000000.select.log
    touch .stau/logs/report.4102444800000.select.log .stau/logs/notes.txt
    local logs=() total=0 f
    for i in 4 5 6 7 8 3 2 1; do logs+=("$(log_of "$i")"); done
    logs+=(.stau/logs/report.1700000000000.select.log)
    for f in "${logs[@]}" .stau/archive/other.6.tar.zst; do
        total=$((total + $(stat -c %s "$f")))
    done
    for f in "${logs[@]}"; do gc_line "would remove" log "$f"; done >"$TEST_TMP/want-n"
    gc_line "would remove" archive .stau/archive/other.6.tar.zst >>"$TEST_TMP/want-n"
    echo "gc: would remove 1 archive and 9 logs, freeing $total bytes" >>"$TEST_TMP/want-n"
    sed -e 's/^would remove /removed /' -e 's/^gc: would remove /gc: removed /' \
        -e 's/, freeing /, freed /' "$TEST_TMP/want-n" >"$TEST_TMP/want"
}

# gc reads the runs a page at a time ($STAU_GC_BATCH moves the seams): wherever a
# page ends, what it removes is the same.
test_gc_pages_meet_at_every_seam() {
    gc_pages_project
    local batch
    for batch in "" 1 2 3 7 1000; do
        STAU_GC_BATCH=$batch run gc -n --keep-last 2
        expect_exit 0
        expect_stderr_empty
        expect_stdout_eq <"$TEST_TMP/want-n"
    done
    STAU_GC_BATCH=1 run gc --keep-last 2
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <"$TEST_TMP/want"
    expect_no_file .stau/archive/other.6.tar.zst
    expect_file .stau/archive/other.7.tar.zst
    expect_file .stau/archive/report.4.tar.zst
    expect_eq "logs left" "notes.txt report.4102444800000.select.log" \
        "$(ls .stau/logs | sort | tr '\n' ' ' | sed 's/ $//')"
    expect_eq "archives forgotten" "6" "$(db 'SELECT group_concat(id) FROM runs WHERE archive_path IS NULL AND id > 3')"
    STAU_GC_BATCH=1 run gc --keep-last 2
    expect_stdout_eq <<<"gc: nothing to remove"
}

# A run of another host whose archive is not here (each copy of stau serve keeps its
# own .stau/ unless --archive names a shared folder): gc here leaves its record
# alone, for gc on that host to remove the file and forget it.
test_gc_leaves_the_archives_of_another_host() {
    log_project
    run run report
    run run --force report
    run run --force report
    db "UPDATE runs SET host = 'etl7' WHERE id = 1" >/dev/null
    mkdir elsewhere
    mv .stau/archive/report.1.tar.zst elsewhere/
    run gc --keep-last 1
    expect_exit 0
    expect_stdout_contains "removed archive .stau/archive/report.2.tar.zst"
    expect_stdout_contains "gc: removed 1 archive and 2 logs"
    expect_eq "run 1's archive in the record" ".stau/archive/report.1.tar.zst" \
        "$(db 'SELECT archive_path FROM runs WHERE id = 1')"
    expect_eq "run 2's archive in the record" "" "$(db 'SELECT archive_path FROM runs WHERE id = 2')"
}

# A folder gc cannot list stops it, naming the folder (nothing is guessed about the
# logs it would hold).
test_gc_says_which_folder_it_cannot_read() {
    log_project
    run run report
    rm -rf .stau/logs
    ln -s logs .stau/logs
    run gc -n
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: cannot read folder '.stau/logs': Too many levels of symbolic links
EOF
}

test_gc_never_removes_the_last_success() {
    log_project
    run run report
    touch fail
    run run --force report
    run run --force report
    "$STAU" gc >/dev/null # the logs go, the archives stay (10 kept by default)
    expect_file .stau/archive/report.2.tar.zst
    run gc --keep-days 1 --keep-last 0
    expect_exit 0
    expect_stdout_eq <<'EOF'
gc: nothing to remove
EOF
    local a2=.stau/archive/report.2.tar.zst a3=.stau/archive/report.3.tar.zst
    {
        gc_line removed archive "$a2"
        gc_line removed archive "$a3"
        echo "gc: removed 2 archives and 0 logs, freed $(($(stat -c %s "$a2") + $(stat -c %s "$a3"))) bytes"
    } >"$TEST_TMP/want"
    run gc --keep-days 0 --keep-last 0
    expect_exit 0
    expect_stdout_eq <"$TEST_TMP/want"
    expect_file .stau/archive/report.1.tar.zst
}

test_gc_usage_errors() {
    log_project
    run gc report
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'gc' takes no arguments
  hint: usage: stau gc [-n] [--keep-days N] [--keep-last N]
EOF
    run gc --keep-days soon
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: --keep-days needs a number from 0 to 1000000, not 'soon'
  hint: see 'stau gc --help'
EOF
    run gc --keep-last
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: --keep-last needs a number from 0 to 1000000
  hint: see 'stau gc --help'
EOF
}

test_restore() {
    log_project
    run run report
    run run --force report
    rm -r data
    run restore 1
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
restored 1 file of run 1 of 'report' into .
EOF
    expect_eq "restored content" "run 1" "$(cat data/report.txt)"
    run restore 2 --to "$TEST_TMP/elsewhere"
    expect_exit 0
    expect_stdout_eq <<EOF
restored 1 file of run 2 of 'report' into $TEST_TMP/elsewhere
EOF
    expect_eq "restored content" "run 2" "$(cat "$TEST_TMP/elsewhere/data/report.txt")"
    expect_eq "project file left alone" "run 1" "$(cat data/report.txt)"
    # A failed run's archive holds the declared outputs it left: none here.
    touch fail
    rm -r data
    run run --force report
    run restore 3
    expect_exit 0
    expect_stdout_eq <<'EOF'
run 3 of 'report' archived no outputs (it left none of those declared)
EOF
    expect_no_file data/report.txt
    "$STAU" gc --keep-last 1 >/dev/null
    run restore 1
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: run 1 of 'report' has no archive
  hint: `stau gc` removed it, or it could not be written (see `stau show 1`)
EOF
    run restore 9
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no run 9
  hint: `stau history` lists the runs
EOF
    run restore report
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'report' is not a run number
  hint: `stau history` lists the runs with their numbers
EOF
    run restore
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'restore' needs a run number
  hint: usage: stau restore RUN [--to DIR]
EOF
    run restore 2 --to
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: --to needs a folder
  hint: see 'stau restore --help'
EOF
}

test_restore_refuses_an_unsafe_archive() {
    log_project
    run run report
    # A pax tar with a member climbing out of the target, in place of run 1's archive.
    "$PY" - <<'EOF'
import io, tarfile
with tarfile.open("evil.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in [("manifest.json", b"{}"), ("log.txt", b"x\n"),
                       ("outputs/data/report.txt", b"evil\n"), ("outputs/../../evil.txt", b"evil\n")]:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
EOF
    if command -v zstd >/dev/null; then
        zstd -q -f evil.tar -o .stau/archive/report.1.tar.zst
    else
        cp evil.tar .stau/archive/report.1.tar.zst # libarchive reads it uncompressed too
    fi
    run restore 1
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: refusing to restore 'outputs/../../evil.txt' from '.stau/archive/report.1.tar.zst': the path leaves the target folder
EOF
    expect_no_file "$TEST_TMP/evil.txt"
    expect_eq "output left alone" "run 1" "$(cat data/report.txt)"
}
