# Hostile trees and state files (issue 13): links that leave the project, state
# files replaced by links or devices, file names with control characters, huge
# declarations, unbounded logs and restores. stau must say what it refuses, go on
# where it safely can, and never hang, walk the whole disk or print raw escapes.

# A project with one good job.
hostile_project() {
    new_project
    write src/good.py <<'EOF2'
STAU_CONFIG = {"schedule": "@daily"}
EOF2
}

test_hostile_links_out_of_the_project_are_not_followed() {
    hostile_project
    ln -s / src/root
    ln -s /proc/self src/me
    # A link out through a path that starts inside the project.
    ln -s /tmp p_out
    ln -s ../p_out src/via
    local start=$SECONDS
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF2'
1 job, 0 dependencies, 3 warnings
EOF2
    expect_stderr_eq <<'EOF2'
src/me: warning: a link to a folder outside the project; not followed
src/root: warning: a link to a folder outside the project; not followed
src/via: warning: a link to a folder outside the project; not followed
EOF2
    [ $((SECONDS - start)) -le 5 ] || fail "check took $((SECONDS - start)) s with links to / and /proc/self"
}

test_hostile_links_inside_the_project_are_followed_once() {
    hostile_project
    write lib/shared/job.py <<'EOF2'
STAU_CONFIG = {"dependencies": ["good"]}
EOF2
    # A folder of the project outside the jobs root, through a link: followed.
    ln -s ../lib/shared src/shared
    # A loop through it, and one back to the top: each walked once.
    ln -s ../../src lib/shared/back
    ln -s . src/here
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF2'
NAME        FILE               DEPENDENCIES  SCHEDULE      POLICY     TAGS
good        src/good.py        -             @daily        scheduled  -
shared.job  src/shared/job.py  good          -             derived    -
EOF2
    expect_stderr_eq <<'EOF2'
src/here: warning: symlink leads to a folder already walked (a loop?); not followed
src/shared/back: warning: symlink leads to a folder already walked (a loop?); not followed
EOF2
}

# A project whose job `report` prints a line and writes data/report.txt; run once.
ran_report() {
    new_project
    write src/report.py <<'EOF2'
STAU_CONFIG = {"outputs": ["data/report.txt"], "main_func": "main"}
import os
def main():
    print("report ran")
    os.makedirs("data", exist_ok=True)
    with open("data/report.txt", "w") as f:
        f.write("done\n")
EOF2
    age_files
    run run report
    expect_exit 0
}

test_hostile_settled_mark_as_a_link_to_dev_zero() {
    ran_report
    ln -sf /dev/zero .stau/settled
    run
    expect_exit 0
    expect_stdout_eq <<'EOF2'
nothing to do
EOF2
    expect_stderr_eq <<'EOF2'
stau: warning: ignoring './.stau/settled': it is a symbolic link (to /dev/zero), which stau does not follow in its state folder; removed it (it is only a mark: the plan is made in full)
EOF2
    [ -L .stau/settled ] && fail "the link is still there"
    run
    expect_exit 0
    expect_stderr_empty
}

test_hostile_settled_mark_as_a_fifo_or_a_folder() {
    ran_report
    mkfifo .stau/settled
    run
    expect_exit 0
    expect_stderr_eq <<'EOF2'
stau: warning: ignoring './.stau/settled': it is a FIFO, not a regular file; removed it (it is only a mark: the plan is made in full)
EOF2
    rm -f .stau/settled
    mkdir .stau/settled
    run
    expect_exit 0
    expect_stdout_eq <<'EOF2'
nothing to do
EOF2
    expect_stderr_eq <<'EOF2'
stau: warning: ignoring './.stau/settled': it is a folder, not a regular file; remove it (it is only a mark: the plan is made in full)
EOF2
}

test_hostile_graph_cache_as_a_link_to_dev_zero() {
    ran_report
    rm .stau/graph.cache
    ln -s /dev/zero .stau/graph.cache
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF2'
1 job, 0 dependencies, 1 warning
EOF2
    expect_stderr_eq <<'EOF2'
stau: warning: ignoring '.stau/graph.cache': it is a symbolic link (to /dev/zero), which stau does not follow in its state folder; rebuilding it
EOF2
    # Rebuilt in the link's place (the link itself replaced, /dev/zero untouched).
    [ -f .stau/graph.cache ] && [ ! -L .stau/graph.cache ] || fail "the cache was not rebuilt as a file"
    run check
    expect_exit 0
    expect_stderr_empty
}

test_hostile_graph_cache_as_a_fifo() {
    ran_report
    rm .stau/graph.cache
    mkfifo .stau/graph.cache
    run check
    expect_exit 0
    expect_stderr_eq <<'EOF2'
stau: warning: ignoring '.stau/graph.cache': it is a FIFO, not a regular file; rebuilding it
EOF2
}

test_hostile_state_db_as_a_link() {
    ran_report
    mv .stau/state.db "$TEST_TMP/moved.db"
    ln -s /dev/zero .stau/state.db
    local said="stau: error: cannot open state database './.stau/state.db': it is a symbolic link (to /dev/zero), which stau does not follow
  hint: name the database itself with STAU_DB, or remove the link to start a new one"
    run history
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<<"$said"
    run
    expect_exit 2
    expect_stderr_eq <<<"$said"
    # Named by its own path, the moved database is read.
    STAU_DB=$TEST_TMP/moved.db run history
    expect_exit 0
    expect_stdout_contains "report"
}

test_hostile_log_as_a_link_to_dev_zero() {
    ran_report
    local log
    log=$(db "SELECT log_path FROM runs WHERE id = 1")
    rm "$log"
    ln -s /dev/zero "$log"
    # With an archive, its copy of the log is shown.
    run log 1
    expect_exit 0
    expect_stdout_eq <<'EOF2'
report ran
EOF2
    expect_stderr_eq <<EOF2
stau: warning: ignoring the log '$log': it is a symbolic link (to /dev/zero), which stau does not follow in its state folder; showing the one archived
EOF2
    # Without one, an error naming the file.
    rm .stau/archive/*
    run log 1
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<EOF2
stau: error: cannot read the log of run 1, '$log': it is a symbolic link (to /dev/zero), which stau does not follow in its state folder
EOF2
}

test_hostile_archive_as_a_link_to_dev_zero() {
    ran_report
    local archive
    archive=$(db "SELECT archive_path FROM runs WHERE id = 1")
    rm "$archive"
    ln -s /dev/zero "$archive"
    run restore 1 --to "$TEST_TMP/back"
    expect_exit 2
    expect_stderr_contains "cannot open archive '$archive': it is a symbolic link (to /dev/zero), which stau does not follow in its state folder"
    expect_no_file "$TEST_TMP/back/data/report.txt"
}

# Job files whose names hold an escape sequence, a newline, a byte that is not
# UTF-8, a folder with an OSC title sequence.
hostile_names() {
    local n
    for n in $'clear\e[2J' $'new\nline' $'caf\xe9' $'bell\a'; do
        printf 'STAU_CONFIG = {"dependencies": ["good"]}\n' >"src/$n.py"
    done
    mkdir -p $'src/title\e]0;owned\a'
    printf 'STAU_CONFIG = {}\n' >$'src/title\e]0;owned\a/job.py'
    # Not a .py file: not ours to mention.
    printf 'x\n' >$'src/notes\e[2J.txt'
}

test_hostile_file_names_with_control_characters_are_skipped_escaped() {
    hostile_project
    hostile_names
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF2'
1 job, 0 dependencies, 5 warnings
EOF2
    expect_stderr_eq <<'EOF2'
src/bell\x07.py: warning: the name holds control characters or bytes that are not UTF-8; left out (a job's name must be one Python can import)
src/caf\xe9.py: warning: the name holds control characters or bytes that are not UTF-8; left out (a job's name must be one Python can import)
src/clear\x1b[2J.py: warning: the name holds control characters or bytes that are not UTF-8; left out (a job's name must be one Python can import)
src/new\nline.py: warning: the name holds control characters or bytes that are not UTF-8; left out (a job's name must be one Python can import)
src/title\x1b]0;owned\x07: warning: the name holds control characters or bytes that are not UTF-8; not searched (a job's name must be one Python can import)
EOF2
    run list --names
    expect_exit 0
    expect_stdout_eq <<'EOF2'
good
EOF2
}

test_hostile_job_names_must_be_importable() {
    hostile_project
    write src/my-job.py <<<'STAU_CONFIG = {"dependencies": ["good"]}'
    write src/2020_report.py <<<'STAU_CONFIG = {}'
    write src/a.b.py <<<'STAU_CONFIG = {}'
    write src/sub-dir/job.py <<<'STAU_CONFIG = {}'
    # Python's own letters are identifiers too, and a package is its __init__.py.
    write src/données.py <<<'STAU_CONFIG = {}'
    write src/pkg/__init__.py <<<'STAU_CONFIG = {}'
    # A file that declares no job is nobody's business, whatever its name.
    write src/run-all.py <<<'print("helper")'
    run list --names
    expect_exit 0
    expect_stdout_eq <<'EOF2'
données
good
pkg
EOF2
    expect_stderr_eq <<'EOF2'
src/2020_report.py:1:1: warning: '2020_report' in its path is not a Python identifier, so Python cannot import it; not a job
     1 | STAU_CONFIG = {}
       | ^~~~~~~~~~~
  hint: a job's path below the jobs root is made of identifiers (letters, digits and '_', not starting with a digit): rename '2020_report' to '_2020_report', say
src/a.b.py:1:1: warning: 'a.b' in its path is not a Python identifier, so Python cannot import it; not a job
     1 | STAU_CONFIG = {}
       | ^~~~~~~~~~~
  hint: a job's path below the jobs root is made of identifiers (letters, digits and '_', not starting with a digit): rename 'a.b' to 'a_b', say
src/my-job.py:1:1: warning: 'my-job' in its path is not a Python identifier, so Python cannot import it; not a job
     1 | STAU_CONFIG = {"dependencies": ["good"]}
       | ^~~~~~~~~~~
  hint: a job's path below the jobs root is made of identifiers (letters, digits and '_', not starting with a digit): rename 'my-job' to 'my_job', say
src/sub-dir/job.py:1:1: warning: 'sub-dir' in its path is not a Python identifier, so Python cannot import it; not a job
     1 | STAU_CONFIG = {}
       | ^~~~~~~~~~~
  hint: a job's path below the jobs root is made of identifiers (letters, digits and '_', not starting with a digit): rename 'sub-dir' to 'sub_dir', say
EOF2
}

# No command prints a raw control character (tab and newline aside) on a project
# with hostile file names and declarations whose values hold escape sequences.
# (Off a terminal: the status line's own codes are for terminals only.)
test_hostile_no_command_prints_raw_control_characters() {
    hostile_project
    hostile_names
    write src/values.py <<'EOF2'
STAU_CONFIG = {"tags": ["a\x1b[2Jb", "n\nl"], "outputs": ["data/\x1b[31mred"], "kwargs": {"k\x1b[2J": "v\x07"}, "main_func": "main"}
def main(**kwargs):
    print("values ran")
EOF2
    write src/bad.py <<'EOF2'
STAU_CONFIG = {"dependencies": ["x\x1b]0;pwn\x07"], "schedule": "\x1b[2J"}
EOF2
    printf 'STAU_CONFIG = {"schedule": "@dail"}  # \033[2J raw in the line shown\n' >src/raw.py
    age_files
    local cmd raw=$TEST_TMP/raw
    local -a commands=("check" "list" "list --json" "run good" "run values" "run" "-n" "history"
        "history --json" "dot" "status" "why good" "why values" "show 1" "show 2" "log 1"
        "log 2" "schedule")
    for cmd in "${commands[@]}"; do
        # shellcheck disable=SC2086
        run $cmd
        if LC_ALL=C grep -P '[\x00-\x08\x0b-\x1f\x7f]' "$OUT" "$ERR" >"$raw"; then
            fail "'stau $cmd' printed raw control characters:"
            cat -A "$raw" | head -n 5
        fi
    done
    # The escapes are shown, not dropped.
    run list
    expect_stdout_contains 'a\x1b[2Jb,n\nl'
    run check
    expect_stderr_contains "src/bad.py:1:33: error: 'bad' depends on 'x\\x1b]0;pwn\\x07', which is not a job"
    expect_stderr_contains 'STAU_CONFIG = {"schedule": "@dail"}  # \x1b[2J raw in the line shown'
    run run values
    expect_stdout_contains "declared output 'data/\\x1b[31mred' is missing"
}

# Declarations with tens of thousands of keys take linear time: a scan per key for
# duplicates made 80,000 keys take minutes. A literal of N keys (one repeated near
# the end) and dict() of N/2 keyword arguments, for N = 5,000 and 20,000: linear,
# four times the keys cost about four times the CPU (quadratic: sixteen). CPU time,
# not the wall clock, and a ratio, so neither a loaded machine nor a sanitizer
# build fails it.
big_declaration() {
    "$PY" - "$1" <<'EOF2'
import sys
n = int(sys.argv[1])
keys = ", ".join('"k%d": %d' % (i, i) for i in range(n))
kw = ", ".join("a%d=%d" % (i, i) for i in range(n // 2))
with open("src/big.py", "w") as f:
    f.write("EXTRA = dict(%s)\n" % kw)
    f.write('STAU_CONFIG = {"kwargs": {%s, "k5": -5, "extra": EXTRA}}\n' % keys)
EOF2
}

# `stau list --json` on src/big.py, fresh; sets RC and CPU (user + system seconds).
list_cpu() {
    rm -rf .stau
    local TIMEFORMAT='%3U %3S' user sys
    { time timeout -k 2 60 "$STAU" list --json >"$OUT" 2>"$ERR"; } 2>"$TEST_TMP/cpu"
    RC=$?
    read -r user sys <"$TEST_TMP/cpu"
    CPU=$("$PY" -c 'import sys; print(round(float(sys.argv[1]) + float(sys.argv[2]), 3))' \
        "$user" "$sys")
}

test_hostile_huge_dicts_take_linear_time() {
    new_project
    mkdir src
    local small big
    big_declaration 5000
    list_cpu
    small=$CPU
    expect_exit 0
    big_declaration 20000
    list_cpu
    big=$CPU
    expect_exit 0
    "$PY" -c 'import sys; sys.exit(float(sys.argv[2]) > 8 * float(sys.argv[1]) + 0.5)' \
        "$small" "$big" ||
        fail "4 times the keys took $big s of CPU against $small s: not linear"
    expect_stderr_contains "src/big.py:2:"
    expect_stderr_contains "warning: duplicate key 'k5'; the later value wins"
    # The dict holds every key once, with the later value.
    "$PY" - "$OUT" <<'EOF2' || fail "list --json: wrong kwargs"
import json, sys
job = json.load(open(sys.argv[1]))[0]
kwargs = job["kwargs"]
assert len(kwargs) == 20001, len(kwargs)
assert kwargs["k5"] == -5 and kwargs["k19999"] == 19999
assert len(kwargs["extra"]) == 10000 and kwargs["extra"]["a7"] == 7
EOF2
}

# A graph cache copied from another project (the README promises a warning) is
# set aside and rebuilt; a project moved elsewhere keeps its cache.
test_hostile_cache_copied_from_another_project() {
    hostile_project
    run check
    expect_exit 0
    expect_file .stau/graph.cache
    new_project q
    write src/good.py <<<'STAU_CONFIG = {"schedule": "@hourly"}'
    age_files
    run check
    expect_exit 0
    cp "$TEST_TMP/p/.stau/graph.cache" .stau/graph.cache
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF2'
1 job, 0 dependencies, 1 warning
EOF2
    expect_stderr_eq <<EOF2
stau: warning: ignoring '.stau/graph.cache': it was copied from another project ('$(realpath "$TEST_TMP/p/.stau")'); rebuilding it
EOF2
    run list
    expect_stdout_contains "@hourly"
    run check
    expect_exit 0
    expect_stderr_empty
    # Moved, the project is the same: its cache is used as it is, quietly.
    cd "$TEST_TMP" && mv q moved && cd moved || exit 1
    run -v check
    expect_exit 0
    expect_stderr_not_contains "ignoring"
    expect_stderr_contains "1 files, 0 read, 0 parsed"
}

# A job `make` whose outputs are data/a.txt (small) and data/big.bin (N MiB of
# random bytes, which compress to nothing less); run once.
ran_make() {
    new_project
    write src/make.py <<EOF2
STAU_CONFIG = {"outputs": ["data/a.txt", "data/big.bin"], "main_func": "main"}
import os
def main():
    os.makedirs("data", exist_ok=True)
    with open("data/a.txt", "w") as f:
        f.write("a\n")
    with open("data/big.bin", "wb") as f:
        for _ in range($1):
            f.write(os.urandom(1 << 20))
EOF2
    age_files
    run run make
    expect_exit 0
}

test_hostile_restore_limit() {
    ran_make 2
    STAU_RESTORE_LIMIT=1M run restore 1 --to ../back
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF2'
stau: error: refusing to restore '.stau/archive/make.1.tar.zst': its files hold more than the restore limit of 1.0 MB; nothing was written
  hint: if that is what run 1 made, raise the limit: `stau restore 1 --limit 4G` or STAU_RESTORE_LIMIT=4G (0: no limit)
EOF2
    expect_no_file ../back
    # --limit wins over the environment; 0 is no limit.
    STAU_RESTORE_LIMIT=1M run restore 1 --to ../back --limit 3M
    expect_exit 0
    expect_stdout_eq <<'EOF2'
restored 2 files of run 1 of 'make' into ../back
EOF2
    STAU_RESTORE_LIMIT=0 run restore 1 --to ../back0
    expect_exit 0
    cmp -s data/big.bin ../back0/data/big.bin || fail "big.bin restored differs"
    run restore 1 --limit lots
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --limit needs a size such as 500M or 4G (0: no limit), not 'lots'
  hint: see 'stau restore --help'
EOF2
    STAU_RESTORE_LIMIT=1X run restore 1
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: STAU_RESTORE_LIMIT='1X' is no size
  hint: a number of bytes, or one with K, M, G or T (500M, 4G); 0: no limit
EOF2
}

# A restore killed while it extracts has written nothing into the target; the
# next one removes what it left, says so, and restores.
test_hostile_restore_is_all_or_nothing() {
    ran_make 64
    mkdir ../back
    start_bg restore 1 --to ../back
    local i staging=
    for i in $(seq 300); do
        staging=$(find ../back -maxdepth 1 -name '.stau-restore-*' -print -quit)
        [ -n "$staging" ] && [ -e "$staging/data/a.txt" ] && break
        sleep 0.01
    done
    kill -9 "$BG_PID"
    wait "$BG_PID" 2>/dev/null
    if [ -z "$staging" ] || [ ! -e "$staging/data/a.txt" ]; then
        fail "never saw the restore extracting (staging: '$staging')"
        return
    fi
    # data/a.txt was extracted, but only into the staging folder.
    expect_no_file ../back/data/a.txt
    expect_no_file ../back/data/big.bin
    run restore 1 --to ../back
    expect_exit 0
    expect_stderr_eq <<EOF2
stau: warning: removed '../back/${staging#../back/}', what a restore that was killed had extracted
EOF2
    expect_stdout_eq <<'EOF2'
restored 2 files of run 1 of 'make' into ../back
EOF2
    cmp -s data/big.bin ../back/data/big.bin || fail "big.bin restored differs"
    [ -z "$(find ../back -maxdepth 1 -name '.stau-restore-*')" ] || fail "a staging folder is left"
    # A staging folder of a restore still running is left alone.
    mkdir -p ../back/.stau-restore-1/data
    run restore 1 --to ../back
    expect_exit 0
    expect_stderr_empty
    [ -d ../back/.stau-restore-1 ] || fail "the live restore's folder (pid 1) was removed"
}

# A job printing N lines "line 0000" ... (10 bytes each), flushed as it goes.
loud_job() {
    write "src/$1.py" <<EOF2
STAU_CONFIG = {"main_func": "main"${3:-}}
def main():
    for i in range($2):
        print("line %04d" % i, flush=True)
EOF2
}

test_hostile_log_keeps_head_and_tail() {
    new_project
    loud_job loud 1000 ', "log_limit": "1K"'
    age_files
    run run loud
    expect_exit 0
    run log loud
    expect_exit 0
    # 10,000 bytes: the first 512 (lines 0000-0050 and "li"), the line on what was
    # dropped, and the last 512 from the first line start on (lines 0949-0999).
    {
        for i in $(seq 0 50); do printf 'line %04d\n' "$i"; done
        printf 'li\n'
        printf '... 8978 bytes dropped (log_limit 1.0 KB keeps the first 512 bytes and the last 512 bytes) ...\n'
        for i in $(seq 949 999); do printf 'line %04d\n' "$i"; done
    } | expect_stdout_eq
    expect_eq "the log's size" 1118 "$(wc -c <"$(db "SELECT log_path FROM runs WHERE id = 1")")"
    # The archive holds the capped log too.
    rm "$(db "SELECT log_path FROM runs WHERE id = 1")"
    run log 1
    expect_stdout_contains "... 8978 bytes dropped"
    # No ring file is left beside the log.
    [ -z "$(find .stau/logs -name '*.tail.*')" ] || fail "a ring file was left in .stau/logs"
}

test_hostile_log_limit_settings() {
    new_project
    write pyproject.toml <<'EOF2'
[tool.stau]
log_limit = "2K"
EOF2
    loud_job capped 1000
    loud_job own 1000 ', "log_limit": 4096'
    loud_job whole 1000 ', "log_limit": 0'
    age_files
    run list --json
    expect_exit 0
    "$PY" - "$OUT" <<'EOF2' || fail "list --json: wrong log_limit"
import json, sys
limits = {j["name"]: j["log_limit"] for j in json.load(open(sys.argv[1]))}
assert limits == {"capped": 2048, "own": 4096, "whole": 0}, limits
EOF2
    run
    expect_exit 0
    local job size
    for job in capped:2048 own:4096 whole:10000; do
        run log "${job%%:*}"
        size=$(wc -c <"$OUT")
        if [ "${job%%:*}" = whole ]; then
            expect_eq "the whole log of 'whole'" 10000 "$size"
        elif [ "$size" -gt $((${job#*:} + 120)) ]; then
            fail "the log of '${job%%:*}' is $size bytes, over its cap ${job#*:}"
        fi
    done
    run log capped
    expect_stdout_contains "bytes dropped (log_limit 2.0 KB keeps the first 1.0 KB and the last 1.0 KB) ..."
    # Without a setting, the cap is 64 MiB.
    rm pyproject.toml
    run list --json
    "$PY" - "$OUT" <<'EOF2' || fail "list --json: the default log_limit is not 64 MiB"
import json, sys
limits = {j["name"]: j["log_limit"] for j in json.load(open(sys.argv[1]))}
assert limits == {"capped": 64 << 20, "own": 4096, "whole": 0}, limits
EOF2
}

test_hostile_log_limit_errors() {
    new_project
    write src/bad.py <<<'STAU_CONFIG = {"log_limit": "lots"}'
    write src/neg.py <<<'STAU_CONFIG = {"log_limit": -1}'
    run check
    expect_exit 2
    expect_stderr_contains "src/bad.py:1:29: error: 'log_limit' must be a size such as 64M, 1G or 500000 (bytes); 0: no limit"
    expect_stderr_contains "src/neg.py:1:29: error: 'log_limit' must be an int >= 0 (bytes; 0: no limit) or a str such as \"64M\""
    rm src/bad.py src/neg.py
    write src/ok.py <<<'STAU_CONFIG = {}'
    write pyproject.toml <<'EOF2'
[tool.stau]
log_limit = "many"
EOF2
    run check
    expect_exit 2
    expect_stderr_contains "pyproject.toml:2:13: error: 'log_limit' must be a size such as \"64M\", \"1G\" or 500000 (bytes); 0: no limit"
}

# A damaged or foreign state database may hold control characters in what it
# says: history and show print them escaped.
test_hostile_database_text_is_shown_escaped() {
    ran_report
    db "UPDATE runs SET job = 'x' || char(27) || '[2Jy', host = 'h' || char(27) || ']0;t' || char(7) WHERE id = 1" >/dev/null
    run history
    expect_exit 0
    expect_stdout_contains '     1  x\x1b[2Jy    1  succeeded'
    run show 1
    expect_exit 0
    expect_stdout_contains '  job:          x\x1b[2Jy'
    expect_stdout_contains '  host:         h\x1b]0;t\x07'
    if LC_ALL=C grep -P '[\x00-\x08\x0b-\x1f\x7f]' "$OUT" "$ERR"; then
        fail "raw control characters printed"
    fi
}
