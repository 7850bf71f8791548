# Files a real repository holds that are not what stau expects: bad encodings,
# huge or binary .py files, symlink loops, FIFOs, dangling links. Made here at
# test time (git keeps none of them well). stau must warn (or stay silent) and
# go on; never hang, never crash.

# A project with one good job, so a run has something to report.
good_project() {
    new_project
    write src/good.py <<'EOF'
STAU_CONFIG = {"schedule": "@daily"}
EOF
}

test_non_utf8_in_declaration() {
    good_project
    printf 'STAU_CONFIG = {"tags": ["caf\351"]}\n' >src/latin1.py
    run check
    expect_exit 2
    expect_stdout_empty
    # The source line is shown as it is, byte for byte.
    printf '%s\n' \
        'src/latin1.py:1:29: error: the declaration is not valid UTF-8' \
        "     1 | STAU_CONFIG = {\"tags\": [\"caf$(printf '\351')\"]}" \
        '       |                             ^' \
        '  hint: save the file as UTF-8' \
        '1 error, 0 warnings' | expect_stderr_eq
}

test_non_utf8_in_job_outside_declaration() {
    good_project
    printf '# caf\351\nSTAU_CONFIG = {"schedule": "@hourly"}\n' >src/latin1.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
2 jobs, 0 dependencies, 1 warning
EOF
    printf '%s\n' \
        'src/latin1.py:1:6: warning: invalid UTF-8 (outside the declaration, which was read; Python will not import this file as it is)' \
        "     1 | # caf$(printf '\351')" \
        '       |      ^' | expect_stderr_eq
}

test_non_utf8_in_non_job_file_is_silent() {
    good_project
    printf '# -*- coding: latin-1 -*-\nGREETING = "gr\374\337 dich"\n' >src/helper.py
    printf 'def f():\n    return "\351\350"\n' >src/legacy.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

test_file_of_20_mb() {
    good_project
    # 20 MiB of valid Python, generated here and never committed.
    { echo 'STAU_CONFIG = {"schedule": "@hourly"}'; yes 'PADDING = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"'; } |
        head -c $((20 * 1024 * 1024)) >src/huge.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/huge.py: warning: file is 20.0 MB, over the 16 MB stau reads; left out
  hint: a job file this large is unusual; move data out of the code
EOF
    # The warning is kept in the cache: a second run says the same.
    run check
    expect_exit 0
    expect_stderr_eq <<'EOF'
src/huge.py: warning: file is 20.0 MB, over the 16 MB stau reads; left out
  hint: a job file this large is unusual; move data out of the code
EOF
}

test_binary_file_named_py() {
    good_project
    printf '\177ELF\002\001\001\000\000\000\000\000STAU_CONFIG\000\001\002' >src/blob.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/blob.py: warning: contains NUL bytes, so it is not Python source (a binary file?); left out
EOF
}

test_declaration_then_nul_bytes() {
    good_project
    printf 'STAU_CONFIG = {"schedule": "@hourly"}\n\000\000' >src/tail.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/tail.py: warning: contains NUL bytes, so it is not Python source (a binary file?); left out
EOF
}

test_symlink_loop() {
    good_project
    mkdir -p src/loop
    ln -s .. src/loop/up
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/loop/up: warning: symlink leads to a folder already walked (a loop?); not followed
EOF
}

test_symlink_alias_does_not_rename_jobs() {
    good_project
    write src/zz/job.py <<'EOF'
STAU_CONFIG = {"dependencies": ["good"]}
EOF
    for alias in aa mm a0 b1 c2; do
        ln -s zz "src/$alias"
    done
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF'
NAME    FILE           DEPENDENCIES  SCHEDULE      POLICY     TAGS
good    src/good.py    -             @daily        scheduled  -
zz.job  src/zz/job.py  good          -             derived    -
EOF
    expect_stderr_not_contains "src/zz: warning"
    for alias in aa mm a0 b1 c2; do
        expect_stderr_contains "src/$alias: warning: "
    done
}

test_symlink_to_itself() {
    good_project
    ln -s self.py src/self.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/self.py: warning: cannot read: Too many levels of symbolic links; left out
EOF
}

test_dangling_symlink() {
    good_project
    ln -s nowhere.py src/dangling.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/dangling.py: warning: cannot read: No such file or directory; left out
EOF
}

test_fifo_does_not_block() {
    good_project
    mkfifo src/x.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 1 warning
EOF
    expect_stderr_eq <<'EOF'
src/x.py: warning: not a regular file; left out
EOF
    # Also when it is reached through a symlink, and on a second (cached) run.
    ln -s x.py src/y.py
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 2 warnings
EOF
}

# Warnings found while walking the tree come in path order, not in readdir
# order (hash order on ext4, creation order elsewhere).
test_walk_warnings_in_path_order() {
    good_project
    for n in m a z c q b; do
        mkfifo "src/$n.py"
    done
    run check
    expect_exit 0
    expect_stderr_eq <<'EOF'
src/a.py: warning: not a regular file; left out
src/b.py: warning: not a regular file; left out
src/c.py: warning: not a regular file; left out
src/m.py: warning: not a regular file; left out
src/q.py: warning: not a regular file; left out
src/z.py: warning: not a regular file; left out
EOF
}

test_mentions_only_is_not_a_job() {
    good_project
    cp "$FIXTURES/not_jobs/src/mentions.py" "$FIXTURES/not_jobs/src/nested.py" src/
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    expect_stderr_empty
}

test_declaration_in_if_block_is_not_a_job() {
    good_project
    write src/guarded.py <<'EOF'
import sys

if sys.version_info >= (3, 8):
    STAU_CONFIG = {"schedule": "@hourly"}
else:
    STAU_CONFIG = {"schedule": "@daily"}
EOF
    write src/infunc.py <<'EOF'
def config():
    STAU_CONFIG = {"schedule": "@hourly"}
    return STAU_CONFIG
EOF
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF'
NAME  FILE         DEPENDENCIES  SCHEDULE      POLICY     TAGS
good  src/good.py  -             @daily        scheduled  -
EOF
    expect_stderr_empty
}

test_many_lexical_problems() {
    # Lots of broken lines outside the declaration: a bounded number of warnings.
    good_project
    {
        echo 'STAU_CONFIG = {"schedule": "@hourly"}'
        for i in $(seq 50); do echo "s$i = 'unterminated"; done
    } >src/messy.py
    run check
    expect_exit 0
    expect_stdout_contains "2 jobs, 0 dependencies,"
    n=$(grep -c ': warning: unterminated string' "$ERR")
    if [ "$n" -lt 1 ] || [ "$n" -gt 10 ]; then
        fail "expected between 1 and 10 warnings about messy.py, got $n"
    fi
}

test_no_crash_on_odd_declarations() {
    good_project
    "$PY" - <<'EOF'
open('src/deep.py', 'w').write('STAU_CONFIG = {"kwargs": {"a": ' + '[' * 5000 + ']' * 5000 + '}}\n')
open('src/bigint.py', 'w').write('STAU_CONFIG = {"retries": 99999999999999999999999}\n')
open('src/esc.py', 'w').write('STAU_CONFIG = {"tags": ["\\x4"]}\n')
open('src/empty.py', 'w').write('STAU_CONFIG =\n')
open('src/walrus.py', 'w').write('STAU_CONFIG = (x := 1)\n')
open('src/lambda.py', 'w').write('STAU_CONFIG = {"main_func": lambda: 1}\n')
open('src/longline.py', 'w').write('STAU_CONFIG = {"tags": [' + '"t", ' * 20000 + '7]}\n')
open('src/unclosed.py', 'w').write('STAU_CONFIG = {"tags": ["a"\n\n\nX = 1\n')
EOF
    run check
    expect_exit 2
    expect_stderr_last_line "8 errors, 0 warnings"
    expect_stderr_contains "src/bigint.py:1:27: error: integer 99999999999999999999999 does not fit in 64 bits"
    expect_stderr_contains "src/deep.py:1:"
    expect_stderr_contains "src/esc.py:1:25: error: truncated \\x escape in a string"
    expect_stderr_contains "src/empty.py:1:1: error: syntax error in the declaration"
    expect_stderr_contains "src/longline.py:1:"
    expect_stderr_contains "error: 'tags' must be a list of str, but item 20001 is int"
    expect_stderr_contains "src/unclosed.py:1:"
    # A flooding source line is cut short.
    if awk 'length > 1000 { found = 1 } END { exit !found }' "$ERR"; then
        fail "a message line is over 1000 characters long"
    fi
}
