# The job's process (SPEC §3): what the job sees of stau, and what others see of it.
#
# Each test builds its own small project in $TEST_TMP/p.

# A secret in kwargs never reaches a command line: `ps` shows every process's
# argv to every user, even in a 0700 project. They travel on a descriptor instead.
test_job_process_kwargs_not_on_the_command_line() {
    new_project
    write src/secret.py <<'EOF2'
import os

STAU_CONFIG = {"main_func": "main", "kwargs": {"password": "hunter2"}}


def main(password):
    with open("/proc/self/cmdline", "rb") as f:
        open("cmdline.txt", "w").write(f.read().replace(b"\0", b" ").decode())
    open("got.txt", "w").write(password)
    try:
        os.fstat(3)
        open("fd3.txt", "w").write("open")
    except OSError:
        pass
EOF2
    write src/picked.py <<'EOF2'
STAU_CONFIG = {"main_func": "main", "chunk_size": 2, "kwargs": {"token": "s3cr3t"}}


def select_work(token):
    with open("/proc/self/cmdline", "rb") as f:
        open("select-cmdline.txt", "w").write(f.read().replace(b"\0", b" ").decode())
    return [1, 2, 3] if token == "s3cr3t" else []


def main(work_ids, token):
    with open("/proc/self/cmdline", "rb") as f:
        open("chunk-cmdline.%d.txt" % work_ids[0], "w").write(f.read().replace(b"\0", b" ").decode())
EOF2
    run
    expect_exit 0
    expect_eq "the kwargs the job got" "hunter2" "$(cat got.txt)"
    expect_file cmdline.txt
    grep -q hunter2 cmdline.txt && fail "the job's command line holds its kwargs: $(cat cmdline.txt)"
    expect_file select-cmdline.txt
    grep -q s3cr3t select-cmdline.txt && fail "select_work's command line holds the kwargs: $(cat select-cmdline.txt)"
    expect_file chunk-cmdline.1.txt
    expect_file chunk-cmdline.3.txt
    grep -q s3cr3t chunk-cmdline.*.txt && fail "a chunk's command line holds the kwargs"
    # Nor does the job inherit the descriptor they came on.
    expect_no_file fd3.txt
}
