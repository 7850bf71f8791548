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
    # Read as a snapshot (.stau/ read-only): the same finding, but no advice to move
    # the file aside on that reading alone.
    ro_stau history
    expect_exit 2
    expect_stderr_eq <<EOF2
$said
  hint: it was read as a snapshot (its folder cannot be written), which misses what a running stau has not yet checkpointed; check it again where its folder is writable before moving it aside
EOF2
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

# The archives' checksums, one line each, by name.
archive_sums() {
    (cd .stau/archive && md5sum -- *)
}

# The state database goes: removed, or emptied to 0 bytes.
lose_database() {
    if [ "$1" = empty ]; then
        : >.stau/state.db
    else
        rm .stau/state.db
    fi
    rm -f .stau/state.db-wal .stau/state.db-shm
}

lost_database_is_said() {
    ran_report 3
    archive_sums >../before.txt
    lose_database "$1"
    run history
    expect_exit 0
    expect_stdout_eq <<<"no runs yet"
    expect_stderr_eq <<'EOF2'
stau: warning: state database './.stau/state.db' holds no runs, but 3 archives (in '.stau/archive') and 3 logs (in '.stau/logs') of earlier runs are kept: the run history was lost (the database removed or emptied); new runs are numbered from 4 on, so no archive is written over
  hint: `stau db recover` rebuilds the run history from the archives
EOF2
    run run --force report
    expect_exit 0
    expect_stderr_not_contains "not archived"
    expect_eq "the new run's id" "4|report" "$(db "SELECT id, job FROM runs")"
    # Once a run is recorded the history is no longer empty: said no more.
    run history
    expect_stderr_empty
    expect_file .stau/archive/report.4.tar.zst
    # The archives of runs 1 to 3 are as they were.
    archive_sums | grep -v 'report\.4\.' >../after.txt
    expect_eq "archives 1 to 3" "$(cat ../before.txt)" "$(cat ../after.txt)"
}

test_store_a_removed_database_is_said_and_no_archive_is_written_over() {
    lost_database_is_said removed
}

test_store_an_emptied_database_is_said_and_no_archive_is_written_over() {
    lost_database_is_said empty
}

test_store_an_older_database_put_back_numbers_past_the_archives() {
    ran_report 2
    cp .stau/state.db ../old.db
    run run --force report
    expect_exit 0
    archive_sums >../before.txt
    # An older copy of the database comes back (a backup): it knows runs 1 and 2.
    cp ../old.db .stau/state.db
    rm -f .stau/state.db-wal .stau/state.db-shm
    # Said by every command that opens it until a new run is recorded.
    local said="stau: warning: state database './.stau/state.db' records runs up to 2, but '.stau/archive' holds archives up to run 3 (an older copy of the database?): new runs are numbered from 4 on, so no archive is written over
  hint: \`stau db recover\` adds the archived runs the database lacks"
    run history
    expect_exit 0
    expect_eq "stderr" "$said" "$(cat "$ERR")"
    run run --force report
    expect_exit 0
    expect_eq "stderr" "$said" "$(cat "$ERR")"
    run history
    expect_stderr_empty
    expect_eq "runs" "1 2 4" "$(db "SELECT group_concat(id, ' ') FROM runs")"
    expect_file .stau/archive/report.4.tar.zst
    archive_sums | grep -v 'report\.4\.' >../after.txt
    expect_eq "archives 1 to 3" "$(cat ../before.txt)" "$(cat ../after.txt)"
    run db recover
    expect_exit 0
    expect_stdout_eq <<<"recovered 1 run from the archives in '.stau/archive' into './.stau/state.db' (3 recorded already)"
}

test_store_db_recover_skips_an_archive_of_another_job_under_a_known_id() {
    ran_report 2
    # Run 2's archive, but as if of another job: the database's run 2 is report's.
    mv .stau/archive/report.2.tar.zst .stau/archive/other.2.tar.zst
    mkdir ../unpacked
    tar --zstd -xf .stau/archive/other.2.tar.zst -C ../unpacked
    sed -i 's/"job":"report"/"job":"other"/' ../unpacked/manifest.json
    tar --zstd -cf .stau/archive/other.2.tar.zst -C ../unpacked manifest.json log.txt
    run db recover
    expect_exit 1
    expect_stderr_contains "stau: warning: archive '.stau/archive/other.2.tar.zst' holds run 2 of 'other', but run 2 in the database is of 'report': not recovered"
}

# What `history --json` says of each run, without the two times a manifest does
# not keep (when it was queued and its lease's last beat).
history_kept() {
    "$STAU" history --json | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    for k in ("queued", "queued_ms", "heartbeat", "heartbeat_ms"): r.pop(k)
    print(json.dumps(r, sort_keys=True))'
}

test_store_db_recover_rebuilds_the_history_from_the_archives() {
    ran_report 3
    run rerun 2
    expect_exit 0
    history_kept >../before.txt
    lose_database removed
    # A run before the recovery: numbered past the archives, kept as it is.
    run run --force report
    expect_exit 0
    expect_eq "the new run's id" "5" "$(db "SELECT id FROM runs")"
    run db recover
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF2'
recovered 4 runs from the archives in '.stau/archive' into './.stau/state.db' (1 recorded already)
EOF2
    history_kept | tail -n 4 >../after.txt
    expect_eq "the recovered runs, every field a manifest keeps" "$(cat ../before.txt)" "$(cat ../after.txt)"
    expect_eq "rerun of" "2" "$(db "SELECT rerun_of FROM runs WHERE id = 4")"
    run log 2
    expect_exit 0
    expect_stdout_contains "report run 2"
    run restore 3 --to ../restored
    expect_exit 0
    expect_eq "restored" "run 3" "$(cat ../restored/data/report.txt)"
    # Nothing is due: the last success is known again.
    run -n
    expect_stdout_eq <<<"nothing to do"
    # Again: nothing left to recover.
    run db recover
    expect_exit 0
    expect_stdout_eq <<<"nothing to recover: state database './.stau/state.db' records every run archived in '.stau/archive'"
}

# An archive written before times were "started" and "started_ms" and the owner an
# "invocation" object: its manifest has started_at (unix ms), host, owner_pid and
# owner_start. db recover reads it as it reads a new one.
test_store_db_recover_reads_a_manifest_of_the_older_format() {
    command -v zstd >/dev/null || { fail "zstd is not installed: cannot repack an archive"; return; }
    ran_report 1
    mkdir ../x
    zstd -q -d -c .stau/archive/report.1.tar.zst | tar -xf - -C ../x || fail "cannot unpack run 1"
    "$PY" - ../x/manifest.json <<'EOF2'
import json, sys
m = json.load(open(sys.argv[1]))
inv = m.pop("invocation")
for key in ("queued", "started", "finished", "heartbeat"):
    m.pop(key)
    m[key + "_at"] = m.pop(key + "_ms")
m.update(host=inv["host"], owner_pid=inv["pid"], owner_start=inv["started_ms"])
json.dump(m, open(sys.argv[1], "w"))
EOF2
    "$STAU" show 1 --json >../before.json
    (cd ../x && tar -cf - manifest.json log.txt outputs) | zstd -q -f -o .stau/archive/report.1.tar.zst
    lose_database removed
    run db recover
    expect_exit 0
    expect_stdout_eq <<<"recovered 1 run from the archives in '.stau/archive' into './.stau/state.db'"
    "$STAU" show 1 --json >../after.json
    "$PY" - ../before.json ../after.json <<'EOF2' || fail "the run recovered from an older manifest differs"
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:])
for key in ("started_ms", "finished_ms", "invocation", "status", "exit_code", "kwargs", "reasons"):
    assert before[key] == after[key], (key, before[key], after[key])
EOF2
}

test_store_db_recover_says_which_archives_it_cannot_read() {
    ran_report 2
    lose_database removed
    printf 'not an archive' >.stau/archive/report.2.tar.zst
    run db recover
    expect_exit 1
    expect_stdout_eq <<<"recovered 1 run from the archives in '.stau/archive' into './.stau/state.db'"
    expect_stderr_eq <<'EOF2'
stau: warning: cannot recover the run of archive '.stau/archive/report.2.tar.zst': cannot read archive '.stau/archive/report.2.tar.zst': Unrecognized archive format
stau: error: 1 archive could not be read (the warnings above say which and why): its run is not recovered
EOF2
    rm -rf .stau/archive
    run db recover
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: no archives in '.stau/archive' to recover runs from
  hint: archives are kept there unless --archive DIR ($STAU_ARCHIVE) names another folder
EOF2
}

# gc removes a log only once its run's archive reads back whole: else the log is
# the run's last copy.
test_store_gc_keeps_the_log_of_an_unreadable_archive() {
    ran_report 2
    local log1 log2 size
    log1=$(db "SELECT log_path FROM runs WHERE id = 1")
    log2=$(db "SELECT log_path FROM runs WHERE id = 2")
    size=$(stat -c %s .stau/archive/report.1.tar.zst)
    truncate -s $((size / 2)) .stau/archive/report.1.tar.zst
    local said
    said="stau: error: the archive of run 1 of 'report' is unreadable: cannot read archive '.stau/archive/report.1.tar.zst': Truncated zstd input
  hint: its log '$log1' is kept, the run's last whole copy of it (\`stau log 1\`); the outputs in the archive cannot be restored"
    run gc -n
    expect_exit 1
    expect_stderr_eq <<<"$said"
    expect_stdout_eq <<EOF2
would remove log $log2 ($(stat -c %s "$log2") bytes)
gc: would remove 0 archives and 1 log, freeing $(stat -c %s "$log2") bytes
EOF2
    run gc
    expect_exit 1
    expect_stderr_eq <<<"$said"
    expect_file "$log1"
    expect_no_file "$log2"
    run log 1
    expect_exit 0
    expect_stdout_eq <<<"report run 1 []"
    run log 2
    expect_exit 0
    expect_stdout_eq <<<"report run 2 []"
}

# A command run with .stau/ mounted read-only (a private mount namespace, as root
# is not stopped by file modes): writes fail with EROFS, as on a read-only disk.
ro_stau() {
    if ! unshare -rm true 2>/dev/null; then
        fail "$(_where): needs unshare -rm (user and mount namespaces) to mount .stau/ read-only"
        return 1
    fi
    write ../ro-stau <<EOF2
#!/bin/bash
exec unshare -rm bash -c 'mount --bind .stau .stau && mount -o remount,ro,bind .stau .stau && exec "\$0" "\$@"' "$STAU" "\$@"
EOF2
    chmod +x ../ro-stau
    STAU=$PWD/../ro-stau run "$@"
}

test_store_a_read_only_state_folder_is_still_read() {
    ran_report 2
    ro_stau history
    expect_exit 0
    expect_stderr_empty
    expect_stdout_contains "     2  report    1  succeeded"
    ro_stau log 1
    expect_exit 0
    expect_stdout_eq <<<"report run 1 []"
    ro_stau show 2
    expect_exit 0
    expect_stdout_contains "  archive:      .stau/archive/report.2.tar.zst"
    ro_stau restore 1 --to ../restored
    expect_exit 0
    expect_stdout_eq <<<"restored 1 file of run 1 of 'report' into ../restored"
    expect_eq "restored" "run 1" "$(cat ../restored/data/report.txt)"
    # Running needs to write: said so, naming the folder.
    ro_stau -n
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: cannot write state database './.stau/state.db': its folder './.stau' is not writable (Read-only file system)
  hint: `stau history`, `log`, `show` and `restore` read it as it is; running jobs needs write access
EOF2
}

test_store_a_full_disk_while_archiving_is_named() {
    store_project
    write src/report.py <<'EOF2'
STAU_CONFIG = {"outputs": ["data/big.bin"], "main_func": "main"}
import os
def main():
    os.makedirs("data", exist_ok=True)
    with open("data/big.bin", "wb") as f:
        f.write(os.urandom(1 << 20))
EOF2
    run -n
    mkdir -p .stau/archive
    if ! unshare -rm true 2>/dev/null; then
        fail "needs unshare -rm (user and mount namespaces) to mount a small file system"
        return
    fi
    write ../small-stau <<EOF2
#!/bin/bash
exec unshare -rm bash -c 'mount -t tmpfs -o size=256k tmpfs .stau/archive && exec "\$0" "\$@"' "$STAU" "\$@"
EOF2
    chmod +x ../small-stau
    STAU=$PWD/../small-stau run run report
    expect_exit 0
    expect_stderr_eq <<'EOF2'
stau: warning: run 1 of 'report' is not archived: cannot write 'outputs/data/big.bin' to archive '.stau/archive/report.1.tar.zst': Write error (No space left on device)
EOF2
}

test_store_a_missing_run_in_a_damaged_database_is_said() {
    ran_report 4
    # Run 3's row goes, and an index page is garbled: the file is damaged.
    "$PY" - .stau/state.db <<'EOF2'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("DELETE FROM runs WHERE id = 3")
con.commit()
con.execute("PRAGMA journal_mode = DELETE")
root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs_by_job'").fetchone()[0]
size = con.execute("PRAGMA page_size").fetchone()[0]
con.close()
data = bytearray(open(sys.argv[1], "rb").read())
at = (root - 1) * size
data[at:at + size] = bytes(size)
data[at] = 0x0A  # an empty index leaf
data[at + 5:at + 7] = size.to_bytes(2, "big")
open(sys.argv[1], "wb").write(data)
EOF2
    local said="stau: error: no run 3, though it is older than the newest, run 4: state database './.stau/state.db' is damaged: row 1 missing from index runs_by_job; row 2 missing from index runs_by_job; row 3 missing from index runs_by_job (and 1 more)
  hint: move it aside (\`sqlite3 FILE .recover\` may save what is left of it) and run \`stau db recover\` to rebuild the run history from the archives"
    run show 3
    expect_exit 2
    expect_stderr_eq <<<"$said"
    run rerun 3
    expect_exit 2
    expect_stderr_eq <<<"$said"
    # Past the newest it is just no run.
    run show 9
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: no run 9
  hint: `stau history` lists the runs
EOF2
}

test_store_archive_members_are_read_as_normal_paths() {
    ran_report 1
    mkdir -p ../unpacked/outputs
    (cd ../unpacked && tar --zstd -xf ../p/.stau/archive/report.1.tar.zst manifest.json log.txt &&
        echo ok >outputs/ok &&
        tar --zstd -cf ../p/.stau/archive/report.1.tar.zst manifest.json log.txt ./outputs/./ok)
    run restore 1 --to ../restored
    expect_exit 0
    expect_stdout_eq <<<"restored 1 file of run 1 of 'report' into ../restored"
    expect_eq "restored" "ok" "$(cat ../restored/ok)"
    run show 1
    expect_stdout_contains "    file              3  outputs/ok"
}

# ---- Each state file truncated or garbled (issue 13): stau says exactly what it
# found and loses no recorded run. (A state file replaced by a link, a FIFO or a
# device: t_hostile.sh. A database emptied or removed, a row or an index damaged, an
# archive truncated: above. The graph cache's every way of being damaged, and the
# settled mark's: t_cache.sh, t_settled.sh; here, that no run is lost with them.)

# Report run 3 times, the settled mark written, and what history says of each run
# kept in ../before.txt.
kept_project() {
    ran_report 3
    age_files
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_file .stau/settled
    history_kept >../before.txt
}

# corrupt FILE truncate|garble: cut FILE to half its size, or overwrite 64 bytes
# from its middle with bytes of a fixed pseudo-random sequence.
corrupt() {
    "$PY" - "$1" "$2" <<'EOF2'
import random, sys
path, how = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
if how == "truncate":
    data = data[: len(data) // 2]
else:
    r = random.Random(13)
    at = len(data) // 2
    for i in range(at, min(at + 64, len(data))):
        data[i] = r.randrange(256)
open(path, "wb").write(data)
EOF2
}

# The history is what it was before (every field a manifest keeps).
expect_history_kept() {
    local where
    where=$(_where)
    history_kept >../after.txt
    [ "$(cat ../before.txt)" = "$(cat ../after.txt)" ] || {
        fail "$where: the recorded runs changed:"
        diff -u ../before.txt ../after.txt
    }
}

# A damaged database is said, with what to do; moved aside, `stau db recover`
# gives back every run from the archives.
damaged_database_is_recovered() {
    run history
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq
    run
    expect_exit 2
    mv .stau/state.db ../damaged.db
    rm -f .stau/state.db-wal .stau/state.db-shm
    run db recover
    expect_exit 0
    expect_stdout_eq <<<"recovered 3 runs from the archives in '.stau/archive' into './.stau/state.db'"
    expect_history_kept
    run -n
    expect_stdout_eq <<<"nothing to do"
}

test_store_a_truncated_database_is_said_and_its_runs_recovered() {
    kept_project
    corrupt .stau/state.db truncate
    damaged_database_is_recovered <<'EOF2'
stau: error: cannot open state database './.stau/state.db': database disk image is malformed
  hint: move it aside (`sqlite3 FILE .recover` may save what is left of it) and run `stau db recover` to rebuild the run history from the archives
EOF2
}

test_store_a_garbled_database_header_is_said_and_its_runs_recovered() {
    kept_project
    printf 'garbled garbled garbled garbled garbled garbled garbled garbled ' |
        dd of=.stau/state.db bs=1 count=64 conv=notrunc status=none
    damaged_database_is_recovered <<'EOF2'
stau: error: cannot open state database './.stau/state.db': file is not a database
  hint: move it aside (`sqlite3 FILE .recover` may save what is left of it) and run `stau db recover` to rebuild the run history from the archives
EOF2
}

# The runs table's page garbled: what quick_check says depends on the bytes, so only
# the message's frame is fixed.
test_store_a_garbled_runs_page_is_said_and_its_runs_recovered() {
    kept_project
    "$PY" - .stau/state.db <<'EOF2'
import random, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
size = con.execute("PRAGMA page_size").fetchone()[0]
con.close()
data = bytearray(open(sys.argv[1], "rb").read())
r = random.Random(1)
for i in range((root - 1) * size + 8, root * size, 7):
    data[i] = r.randrange(256)
open(sys.argv[1], "wb").write(data)
EOF2
    run history
    expect_exit 2
    expect_stdout_empty
    expect_stderr_contains "stau: error: state database './.stau/state.db' is damaged: "
    expect_stderr_last_line '  hint: move it aside (`sqlite3 FILE .recover` may save what is left of it) and run `stau db recover` to rebuild the run history from the archives'
    mv .stau/state.db ../damaged.db
    run db recover
    expect_exit 0
    expect_history_kept
}

# The graph cache and the settled mark are only caches: damaged, they are set
# aside, nothing runs again and every run is still recorded.
damaged_cache_loses_no_run() {
    kept_project
    corrupt .stau/graph.cache "$1"
    run
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_eq <<'EOF2'
stau: warning: ignoring '.stau/graph.cache': it is truncated or damaged; rebuilding it
EOF2
    expect_history_kept
    run
    expect_stderr_empty
}

test_store_a_truncated_graph_cache_loses_no_run() {
    damaged_cache_loses_no_run truncate
}

test_store_a_garbled_graph_cache_loses_no_run() {
    damaged_cache_loses_no_run garble
}

damaged_mark_loses_no_run() {
    kept_project
    corrupt .stau/settled "$1"
    run -v
    expect_exit 0
    expect_stdout_eq <<<"nothing to do"
    expect_stderr_not_contains "stau: nothing changed since a plan found nothing due"
    expect_history_kept
    # Written again whole: it holds once more.
    run -v
    expect_stderr_contains "stau: nothing changed since a plan found nothing due"
}

test_store_a_truncated_settled_mark_loses_no_run() {
    damaged_mark_loses_no_run truncate
}

test_store_a_garbled_settled_mark_loses_no_run() {
    damaged_mark_loses_no_run garble
}

# A run's log cut short or garbled is shown as it is now: stau cannot know what
# a job printed, and the archive keeps its own copy.
test_store_a_damaged_log_loses_no_run() {
    kept_project
    local log1 log2
    log1=$(db "SELECT log_path FROM runs WHERE id = 1")
    log2=$(db "SELECT log_path FROM runs WHERE id = 2")
    corrupt "$log1" truncate
    printf 'junk\n' >"$log2"
    run log 1
    expect_exit 0
    expect_eq "run 1's log, cut short" "report r" "$(cat "$OUT")"
    run log 2
    expect_exit 0
    expect_stdout_eq <<<"junk"
    run
    expect_stdout_eq <<<"nothing to do"
    expect_history_kept
    # The archives hold the logs as the runs left them.
    run restore 1 --to ../restored
    expect_exit 0
    tar --zstd -xOf .stau/archive/report.1.tar.zst log.txt >../log1.txt
    expect_eq "run 1's archived log" "report run 1 []" "$(cat ../log1.txt)"
}

# An archive cut short: every command reading it says so, naming it; the run stays
# recorded and its log is kept.
test_store_a_truncated_archive_is_said_and_loses_no_run() {
    kept_project
    corrupt .stau/archive/report.2.tar.zst truncate
    run restore 2 --to ../restored
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: cannot read archive '.stau/archive/report.2.tar.zst': Truncated zstd input
EOF2
    run log 2
    expect_exit 0
    expect_stdout_eq <<<"report run 2 []"
    run
    expect_stdout_eq <<<"nothing to do"
    expect_history_kept
}

# The original Stau's timetable (a file of the project, read every time) cut short
# or garbled: located errors, nothing runs, and nothing recorded changes.
damaged_timetable() {
    use_fixture original
    run
    expect_exit 0
    history_kept >../before.txt
    corrupt src/stau_schedule.py "$1"
    run check
    expect_exit 2
}

test_store_a_truncated_timetable_loses_no_run() {
    damaged_timetable truncate
    expect_stderr_eq <<'EOF2'
src/stau_schedule.py:9:31: error: syntax error in the declaration: '(' was never closed
     9 |         "trigger": CronTrigger(minute
       |                               ^
  hint: the declaration must be valid Python; stau reads it without running it
1 error, 0 warnings
EOF2
    run
    expect_exit 1
    expect_stdout_eq <<<"nothing to do
1 error in the declarations (see above)"
    expect_history_kept
}

test_store_a_garbled_timetable_loses_no_run() {
    damaged_timetable garble
    # (How the garbled line is quoted is terminal safety's business: t_hostile.sh.)
    expect_stderr_contains "src/stau_schedule.py:9:38: error: the declaration is not valid UTF-8"
    expect_stderr_last_line "3 errors, 0 warnings"
    run
    expect_exit 1
    expect_stdout_eq <<<"nothing to do
3 errors in the declarations (see above)"
    expect_history_kept
}

# After a command of the sweep (WHAT) on a corrupted FILE: exit 0; or, the database
# being what is damaged, exit 2 with the hint to move it aside, which is then done
# and `stau db recover` run (status 0: it was recovered; 1: nothing to do).
recover_if_damaged() {
    local what=$1 file=$2
    [ "$RC" = 0 ] && return 1
    if [ "$RC" != 2 ] || [ "$file" != .stau/state.db ]; then
        fail "$what exited $RC:"
        cat "$ERR"
        return 1
    fi
    expect_stderr_last_line '  hint: move it aside (`sqlite3 FILE .recover` may save what is left of it) and run `stau db recover` to rebuild the run history from the archives'
    mv .stau/state.db ../damaged.db
    rm -f .stau/state.db-wal .stau/state.db-shm
    run db recover
    [ "$RC" = 0 ] || { fail "$what: then db recover exited $RC"; cat "$ERR"; }
    return 0
}

# The sweep: each state file truncated at, and garbled (32 bytes) at, each of
# STAU_CORRUPTIONS (default 4) places spread over it; after each, `stau history`
# and a plain `stau` neither crash nor hang nor fail, and every recorded run is still
# there (a damaged state.db must say so, and `stau db recover` then gives them all
# back).
test_store_corruption_sweep_loses_no_run() {
    local places=${STAU_CORRUPTIONS:-4} file how k tried=0
    kept_project
    local log archive
    log=$(db "SELECT log_path FROM runs WHERE id = 2")
    archive=.stau/archive/report.2.tar.zst
    rm -rf ../pristine
    cp -a .stau ../pristine
    for file in .stau/state.db .stau/graph.cache .stau/settled "$archive" "$log"; do
        for how in truncate garble; do
            for ((k = 1; k <= places; k++)); do
                rm -rf .stau
                cp -a ../pristine .stau
                "$PY" - "$file" "$how" "$k" "$places" <<'EOF2'
import random, sys
path, how, k, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = bytearray(open(path, "rb").read())
at = len(data) * k // (n + 1)
if how == "truncate":
    data = data[:at]
else:
    r = random.Random(k)
    for i in range(at, min(at + 32, len(data))):
        data[i] = r.randrange(256)
open(path, "wb").write(data)
EOF2
                tried=$((tried + 1))
                local at="$file $how at $k/$((places + 1))"
                run history
                recover_if_damaged "$at: stau history" "$file"
                run
                recover_if_damaged "$at: stau" "$file" && run
                [ "$RC" = 0 ] || { fail "$at: stau exited $RC"; cat "$ERR"; }
                history_kept >../after.txt
                if [ "$(cat ../before.txt)" != "$(cat ../after.txt)" ]; then
                    fail "$at: the recorded runs changed:"
                    diff -u ../before.txt ../after.txt
                fi
                [ "$TEST_FAILED" = 0 ] || return
            done
        done
    done
    echo "corruption: $tried tried, 0 runs lost"
}
