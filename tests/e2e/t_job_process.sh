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

# Everything below .stau/ holds kwargs (the state database, logs, archives, the
# graph cache): the folder is 0700 and what is in it 0600, whatever the umask, as
# ssh and gpg keep theirs. Files the job itself writes keep the user's umask.
state_modes_under_umask() {
    local mask=$1
    new_project "p$mask"
    write src/secret.py <<'EOF2'
STAU_CONFIG = {"main_func": "main", "kwargs": {"password": "hunter2"}, "outputs": ["out.txt"]}


def main(password):
    open("out.txt", "w").write("done")
EOF2
    write src/picked.py <<'EOF2'
STAU_CONFIG = {"main_func": "main", "chunk_size": 2, "kwargs": {"token": "s3cr3t"}}


def select_work(token):
    return [1, 2, 3]


def main(work_ids, token):
    pass
EOF2
    (umask "$mask" && exec timeout -k 5 60 "$STAU" >"$OUT" 2>"$ERR" </dev/null)
    RC=$?
    expect_exit 0
    (umask "$mask" && exec timeout -k 5 60 "$STAU" run secret >"$OUT" 2>"$ERR" </dev/null)
    RC=$?
    expect_exit 0
    expect_eq "mode of .stau (umask $mask)" 700 "$(stat -c %a .stau)"
    local loose
    loose=$(find .stau -mindepth 1 \( \( -type d ! -perm 700 \) -o \( ! -type d ! -perm 600 \) \) -printf '%m %p\n' | sort)
    expect_eq "state files not 0600 nor folders 0700 (umask $mask)" "" "$loose"
    expect_file .stau/state.db
    expect_file .stau/graph.cache
    expect_eq "archives made (umask $mask)" 4 "$(find .stau/archive -name '*.tar.zst' | wc -l)"
    # (Not counted exactly: two chunks started in the same millisecond share a log.)
    [ "$(find .stau/logs -name '*.log' | wc -l)" -ge 4 ] || fail "too few logs (umask $mask)"
    local want=644
    [ "$mask" = 000 ] && want=666
    expect_eq "mode of the job's own output (umask $mask)" "$want" "$(stat -c %a out.txt)"
}

test_job_process_state_is_private_under_umask_022() {
    state_modes_under_umask 022
}

test_job_process_state_is_private_under_umask_000() {
    state_modes_under_umask 000
}

# A .stau/ made by an earlier stau, open to all, is closed on the next call.
test_job_process_state_folder_made_private_again() {
    new_project
    write src/a.py <<'EOF2'
STAU_CONFIG = {"main_func": "main"}


def main():
    pass
EOF2
    mkdir -m 755 .stau
    run
    expect_exit 0
    expect_eq "mode of an old .stau" 700 "$(stat -c %a .stau)"
}

# The job's one log file (there is one run of JOB in these tests).
log_of() {
    cat .stau/logs/"$1".*.log
}

# The bootstrap does not show: sys.argv is [the job file's absolute path], so a job that parses its
# command line with argparse works, as main_func and as __main__.
test_job_process_sys_argv_is_the_job_file() {
    new_project
    write src/func.py <<'EOF2'
import argparse, sys

STAU_CONFIG = {"main_func": "main", "kwargs": {"n": 1}}


def main(n):
    parser = argparse.ArgumentParser()
    parser.add_argument("--where", default="here")
    args = parser.parse_args()
    open("func.txt", "w").write("%r %s %d" % (sys.argv, args.where, n))
EOF2
    write src/script.py <<'EOF2'
import argparse, sys

STAU_CONFIG = {"outputs": []}

parser = argparse.ArgumentParser()
parser.add_argument("--where", default="there")
args = parser.parse_args()
open("script.txt", "w").write("%r %s %s" % (sys.argv, args.where, __name__))
EOF2
    run
    expect_exit 0
    expect_eq "main_func's view" "['$PWD/src/func.py'] here 1" "$(cat func.txt)"
    expect_eq "__main__'s view" "['$PWD/src/script.py'] there __main__" "$(cat script.txt)"
}

# A failing job's traceback is the job's own, as `python src/JOB.py` would print
# it: no frame of the bootstrap (<string>) nor of importlib or runpy.
test_job_process_traceback_shows_only_the_job() {
    new_project
    write src/boom.py <<'EOF2'
STAU_CONFIG = {"main_func": "main"}


def helper():
    raise ValueError("boom")


def main():
    helper()
EOF2
    write src/loadboom.py <<'EOF2'
STAU_CONFIG = {"main_func": "main"}

raise RuntimeError("at import")


def main():
    pass
EOF2
    write src/scriptboom.py <<'EOF2'
STAU_CONFIG = {"outputs": []}

raise KeyError("missing")
EOF2
    run
    expect_exit 1
    expect_eq "traceback of main_func" 'Traceback (most recent call last):
  File "'"$PWD"'/src/boom.py", line 9, in main
    helper()
  File "'"$PWD"'/src/boom.py", line 5, in helper
    raise ValueError("boom")
ValueError: boom' "$(log_of boom)"
    expect_eq "traceback of loading the file" 'Traceback (most recent call last):
  File "'"$PWD"'/src/loadboom.py", line 3, in <module>
    raise RuntimeError("at import")
RuntimeError: at import' "$(log_of loadboom)"
    expect_eq "traceback of a __main__ job" "Traceback (most recent call last):
  File \"$PWD/src/scriptboom.py\", line 3, in <module>
    raise KeyError(\"missing\")
KeyError: 'missing'" "$(log_of scriptboom)"
    expect_eq "exit status recorded" "1|1|1" "$(db "SELECT group_concat(exit_code, '|') FROM runs")"
}

# A job that starts a daemon and exits leaves nothing behind: when the job's main
# process ends, what is left of its process group gets SIGTERM, then SIGKILL after
# a short grace, and the run's log says so.
test_job_process_leftovers_of_the_group_are_ended() {
    new_project
    local polite stubborn
    polite=$(unique_sleep)
    stubborn=$(unique_sleep)
    write src/daemon.py <<EOF2
import os, subprocess, sys

STAU_CONFIG = {"main_func": "main"}


def main():
    p = subprocess.Popen(["sleep", "$polite"])
    open("daemon.pid", "w").write(str(p.pid))
    print("started the daemon")
EOF2
    # This one ignores SIGTERM, and has a child of its own.
    write src/stubborn.py <<EOF2
import os, subprocess, sys, time

STAU_CONFIG = {"main_func": "main"}


def main():
    code = "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); g = subprocess.Popen(['sleep', '$stubborn']); open('grandchild.pid', 'w').write(str(g.pid)); open('ready', 'w').close(); time.sleep(60)"
    p = subprocess.Popen([sys.executable, "-c", code])
    while not os.path.exists("ready"):
        time.sleep(0.01)
    open("stubborn.pid", "w").write(str(p.pid))
    sys.stdout.write("no newline at the end")
EOF2
    local began=$SECONDS
    run
    expect_exit 0
    expect_stdout_contains "2 ran: 2 succeeded, 0 failed, 0 skipped"
    [ $((SECONDS - began)) -le 10 ] || fail "stau took $((SECONDS - began)) s"
    pgrep -f "sleep $polite" >/dev/null && fail "the daemon of 'daemon' is still running"
    pgrep -f "sleep $stubborn" >/dev/null && fail "the grandchild of 'stubborn' is still running"
    expect_eq "log of daemon" "started the daemon
stau: ended 1 process left behind by the job: PID $(cat daemon.pid)" "$(log_of daemon)"
    local pids
    pids=$(printf '%s\n' "$(cat stubborn.pid)" "$(cat grandchild.pid)" | sort -n | paste -sd, | sed 's/,/, /')
    expect_eq "log of stubborn" "no newline at the end
stau: ended 2 processes left behind by the job (SIGKILL after 2 s): PIDs $pids" "$(log_of stubborn)"
    expect_eq "runs" "succeeded|succeeded" "$(db "SELECT group_concat(status, '|') FROM runs")"
    # (Should they still run, they end with the test.)
    local f
    for f in daemon.pid stubborn.pid grandchild.pid; do
        [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    return 0
}

# --- the project's env file ------------------------------------------------------

# A job that writes what it sees of the variables A..E and HOME, and select_work's view.
env_jobs() {
    write src/show.py <<'EOF2'
import json, os

STAU_CONFIG = {"main_func": "main"}


def main():
    keys = ["A", "B", "C", "D", "E", "F", "HOME", "STAU_JOB"]
    open("seen.json", "w").write(json.dumps({k: os.environ.get(k) for k in keys}, sort_keys=True))
EOF2
    write src/picked.py <<'EOF2'
import os

STAU_CONFIG = {"main_func": "main", "chunk_size": 5}


def select_work():
    open("select-saw.txt", "w").write(os.environ.get("A", "-"))
    return [1]


def main(work_ids):
    pass
EOF2
}

# The usual .env forms reach every process of a job (select_work too); the real
# environment wins over the file, stau's own STAU_* variables over both; the run
# records the names it took, never the values.
test_job_process_env_file_reaches_the_job() {
    new_project
    env_jobs
    write .env <<'EOF2'
# settings for the jobs
A=plain value   # a comment
export B='single $quoted' # another
C="two\nlines \"quoted\""

D=
E="spans
two lines"
E2=x#not-a-comment
HOME=/from-the-file
STAU_JOB=nope
EOF2
    run
    expect_exit 0
    expect_stderr_eq <<'EOF2'
.env:11:1: warning: 'STAU_JOB' is ignored: variables named STAU_* are stau's own
    11 | STAU_JOB=nope
       | ^~~~~~~~
  hint: stau sets them for each run; the env file is for the jobs' variables
EOF2
    expect_eq "what the job saw" '{"A": "plain value", "B": "single $quoted", "C": "two\nlines \"quoted\"", "D": "", "E": "spans\ntwo lines", "F": null, "HOME": "'"$HOME"'", "STAU_JOB": "show"}' "$(cat seen.json)"
    expect_eq "what select_work saw" "plain value" "$(cat select-saw.txt)"
    local id
    id=$(db "SELECT id FROM runs WHERE job = 'show'")
    run show "$id"
    expect_stdout_contains "  env:          A, B, C, D, E, E2 (from the env file; values are never kept)"
    expect_eq "names recorded" '["A","B","C","D","E","E2"]' "$(db "SELECT env_names_json FROM runs WHERE job = 'show'")"
    grep -rq "plain value" .stau/ && fail "a value of the env file was kept below .stau/"
    # A variable of stau's own environment wins over the file's.
    A=from-the-shell run run show
    expect_exit 0
    expect_eq "the real environment wins" "from-the-shell" "$("$PY" -c 'import json; print(json.load(open("seen.json"))["A"])')"
    expect_eq "names recorded when A came from the shell" '["B","C","D","E","E2"]' "$(db "SELECT env_names_json FROM runs WHERE job = 'show' ORDER BY id DESC LIMIT 1")"
}

# No .env: nothing is loaded, and no names are recorded. [tool.stau] env_file names
# another file, which must exist.
test_job_process_env_file_named_in_pyproject() {
    new_project
    env_jobs
    run run show
    expect_exit 0
    expect_eq "no names without a file" "" "$(db "SELECT env_names_json FROM runs WHERE job = 'show'")"
    write pyproject.toml <<'EOF2'
[tool.stau]
env_file = "config/prod.env"
EOF2
    run run show
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF2'
config/prod.env: error: cannot read the env file: No such file or directory
  hint: [tool.stau] env_file in pyproject.toml names it; make the file, or remove the setting
stau: error: no job runs until the env file 'config/prod.env' is fixed (see above)
EOF2
    write config/prod.env <<'EOF2'
F=prod
EOF2
    write .env <<'EOF2'
F=default
EOF2
    run run show
    expect_exit 0
    expect_eq "the named file" "prod" "$("$PY" -c 'import json; print(json.load(open("seen.json"))["F"])')"
}

# A malformed line is a located error, each of them, and nothing runs.
test_job_process_env_file_errors() {
    new_project
    env_jobs
    printf 'A=1\nnot a line\n1X=2\nK="v" trailing\nMY-KEY=1\n=3\nB="never closed\n' >.env
    run run show
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF2'
.env:2:1: error: expected KEY=VALUE, not 'not a line'
     2 | not a line
       | ^~~~~~~~~~
  hint: write KEY=VALUE, or '# ...' for a comment
.env:3:1: error: '1X' is not a variable name
     3 | 1X=2
       | ^~
  hint: a name is letters, digits and '_', not starting with a digit
.env:4:7: error: text after the closing quote: 'trailing'
     4 | K="v" trailing
       |       ^~~~~~~~
  hint: quote the whole value, or write a comment as ' # ...' after it
.env:5:1: error: 'MY-KEY' is not a variable name
     5 | MY-KEY=1
       | ^~~~~~
  hint: a name is letters, digits and '_', not starting with a digit
.env:6:1: error: expected a variable name before '=' in '=3'
     6 | =3
       | ^~
  hint: a name is letters, digits and '_', not starting with a digit, then '='
.env:7:3: error: unclosed double quote
     7 | B="never closed
       |   ^
  hint: close it with "; a value may span lines, up to its closing quote
stau: error: no job runs until the env file '.env' is fixed (see above)
EOF2
    expect_no_file seen.json
    expect_eq "no run recorded" "0" "$(db "SELECT count(*) FROM runs")"
    # A plan that runs nothing does not read it.
    run -n
    expect_exit 0
}
