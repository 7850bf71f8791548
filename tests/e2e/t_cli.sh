# The command-line surface a cron line or a CI job relies on: options parsed per
# command (a misused one is an error that runs nothing), the man page and the
# completions generated from the same table as --help, the project root found by
# walking up, the [tool.stau] settings, and `stau init`.

# A job NAME (dotted: a.b is src/a/b.py) that appends its name to ran.txt.
cli_job() {
    local name=$1 decl=${2:-}
    write "src/${name//.//}.py" <<EOF
STAU_CONFIG = {"main_func": "main"$decl}


def main():
    with open("ran.txt", "a") as f:
        f.write("$name\n")
EOF
}

cli_project() {
    new_project
    cli_job a
    cli_job b ', "dependencies": ["a"]'
}

# --- options a command does not take ---------------------------------------

test_cli_option_not_taken_runs_nothing() {
    cli_project
    run --from 2026-11-01 --to 2026-11-03
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: 'stau' does not take --from
  hint: see 'stau --help'
EOF
    expect_no_file ran.txt
    expect_no_file .stau/state.db
    run check --fail-fast
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'check' does not take --fail-fast
  hint: see 'stau check --help'
EOF
    run list --force
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'list' does not take --force
  hint: see 'stau list --help'
EOF
    expect_no_file ran.txt
}

test_cli_json_where_it_is_not_made() {
    cli_project
    local cmd
    for cmd in "-n" check dot "gc -n"; do
        # shellcheck disable=SC2086
        run $cmd --json
        expect_exit 2
        expect_stdout_empty
        local name=${cmd%% *}
        [ "$name" = -n ] && name=
        expect_stderr_eq <<EOF
stau: error: '${name:-stau}' does not take --json
  hint: see 'stau${name:+ $name} --help'
EOF
    done
    expect_no_file ran.txt
}

test_cli_history_count() {
    cli_project
    run run a
    run run a --force
    run run a --force
    expect_exit 0
    run history -n 2
    expect_exit 0
    expect_eq "lines of history -n 2" 3 "$(wc -l <"$OUT")"
    expect_stdout_contains "     3  a      1  succeeded"
    expect_stdout_contains "     2  a      1  succeeded"
    expect_stdout_not_contains "     1  a "
    run history -n
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: -n needs a number from 1 to 1000000
  hint: see 'stau history --help'
EOF
    run history -n 0
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: -n needs a number from 1 to 1000000, not '0'
  hint: see 'stau history --help'
EOF
}

test_cli_short_flags() {
    cli_project
    # -vn: verbose and dry run together.
    run -vn
    expect_exit 0
    expect_stderr_contains "files, "
    expect_stdout_contains "would run 2 jobs:"
    expect_no_file ran.txt
    # -k: keep going, the default, is accepted.
    run -k
    expect_exit 0
    expect_stdout_contains "2 ran: 2 succeeded, 0 failed, 0 skipped"
    run -V
    expect_exit 0
    expect_stdout_contains "stau "
    [ "$(wc -l <"$OUT")" = 1 ] || fail "-V printed more than one line"
    run -V check
    expect_exit 0
    expect_stdout_contains "stau "
}

test_cli_jobs_is_parallelism() {
    cli_project
    run --jobs src
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: --jobs is the number of jobs to run at once, not 'src'
  hint: the jobs root is named with --jobs-root src
EOF
    expect_no_file ran.txt
    run --jobs 2
    expect_exit 0
    expect_stdout_contains "2 ran: 2 succeeded"
    run --jobs-root src list --names
    expect_exit 0
    expect_stdout_eq <<'EOF'
a
b
EOF
}

# --- the man page and the completions ---------------------------------------

test_cli_man_page() {
    run help --man
    expect_exit 0
    expect_stdout_contains '.TH STAU 1'
    expect_stdout_contains '.SH OPTIONS'
    expect_stdout_contains '\-\-jobs\-root DIR'
    # Every command `stau --help` lists is in the man page.
    run --help
    local cmds
    cmds=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$OUT")
    [ -n "$cmds" ] || fail "no commands found in stau --help"
    run help --man
    local cmd
    for cmd in $cmds; do
        grep -q -- "$cmd" "$OUT" || fail "the man page does not name the command '$cmd'"
    done
    # The build installs the same page beside the binary.
    local installed
    installed=$(dirname "$STAU")/../share/man/man1/stau.1
    if [ -f "$installed" ]; then
        cmp -s "$installed" "$OUT" || fail "the installed stau.1 differs from stau help --man"
    else
        fail "the build installed no man page at $installed"
    fi
}

# Run bash's completion function for the words given (the last is completed).
complete_bash() {
    local script=$1
    shift
    bash -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _stau
        printf "%s\n" "${COMPREPLY[@]}"
    ' completion "$script" "$@" | sort
}

test_cli_bash_completion() {
    cli_project
    cli_job ingest.orders
    run check
    expect_exit 0
    local script=$TEST_TMP/stau.bash
    run completion bash
    expect_exit 0
    cp "$OUT" "$script"
    # Commands, options of the command, and job names from the project.
    PATH=$(dirname "$STAU"):$PATH
    expect_eq "stau hi<TAB>" "history" "$(complete_bash "$script" stau hi)"
    expect_eq "stau history --li<TAB>" "--limit" "$(complete_bash "$script" stau history --li)"
    expect_eq "stau run in<TAB>" "ingest.orders" "$(complete_bash "$script" stau run in)"
    expect_eq "stau why <TAB>" "$(printf 'a\nb\ningest.orders')" "$(complete_bash "$script" stau why '')"
    # The build installs the same script.
    local installed
    installed=$(dirname "$STAU")/../share/bash-completion/completions/stau
    cmp -s "$installed" "$script" || fail "the installed bash completion differs from stau completion bash"
}

test_cli_zsh_completion() {
    run completion zsh
    expect_exit 0
    expect_stdout_contains '#compdef stau'
    if ! command -v zsh >/dev/null; then
        fail "zsh is not installed (setup.sh installs it)"
        return
    fi
    zsh -n "$OUT" || fail "the zsh completion is not valid zsh"
    local installed
    installed=$(dirname "$STAU")/../share/zsh/site-functions/_stau
    cmp -s "$installed" "$OUT" || fail "the installed zsh completion differs from stau completion zsh"
}

# --- the project root ----------------------------------------------------------

test_cli_root_found_from_a_subfolder() {
    cli_project
    cli_job c ', "schedul": "0 6 * * *"'
    run check
    mkdir -p src/deep/er
    cd src/deep/er || return
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
3 jobs, 1 dependency, 1 warning
EOF
    expect_stderr_contains "../../../src/c.py:1:37: warning: unknown key 'schedul' in STAU_CONFIG is ignored"
    run -v -n
    expect_stderr_contains "stau: the project root is '../../..'"
    run
    expect_exit 0
    expect_stdout_contains "3 ran: 3 succeeded"
    # The jobs ran in the root, and no state was made where stau was run.
    expect_no_file ran.txt
    expect_file "$TEST_TMP/p/ran.txt"
    expect_no_file .stau
    expect_no_file ../.stau
    run why a
    expect_exit 0
    expect_stdout_contains "a is not due:"
}

test_cli_root_out_of_src_and_never_home() {
    new_project
    cli_job a
    # Nothing marks the project yet: a first run from inside src/ takes the folder
    # holding src/, so src/ gets no state of its own.
    mkdir -p src/pkg
    cd src/pkg || return
    run
    expect_exit 0
    expect_stdout_contains "1 ran: 1 succeeded"
    expect_no_file .stau
    expect_no_file ../.stau
    expect_file "$TEST_TMP/p/.stau/state.db"
    # A home folder is not walked into: a stray ~/.stau does not claim what is below.
    mkdir -p "$TEST_TMP/home/.stau" "$TEST_TMP/home/work/notes"
    cd "$TEST_TMP/home/work/notes" || return
    HOME="$TEST_TMP/home" run list
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no jobs found under '.': 0 .py files, none with STAU_CONFIG
  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes one, -C DIR names another project and --jobs-root DIR another jobs root
EOF
}

test_cli_root_by_git_or_pyproject() {
    new_project repo
    cli_job a
    git init -q . || fail "git init failed"
    mkdir -p docs/x
    cd docs/x || return
    # The git work tree's root holds src/: that is the project.
    run list --names
    expect_exit 0
    expect_stdout_eq <<'EOF'
a
EOF
    expect_no_file "$TEST_TMP/repo/docs/x/.stau"
    # A folder with a jobs root of its own inside the checkout (a copied example)
    # is its own project, not the checkout's.
    mkdir -p "$TEST_TMP/repo/copy/src"
    cp "$TEST_TMP/repo/src/a.py" "$TEST_TMP/repo/copy/src/b.py"
    cd "$TEST_TMP/repo/copy" || return
    run list --names
    expect_exit 0
    expect_stdout_eq <<'EOF'
b
EOF
    cd "$TEST_TMP/repo/docs/x" || return
    # A pyproject.toml with [tool.stau] below it is a project of its own.
    cd "$TEST_TMP/repo/docs" || return
    printf '[tool.stau]\njobs_root = "jobs"\n' >pyproject.toml
    write jobs/inner.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}


def main():
    pass
EOF
    cd x || return
    run list --names
    expect_exit 0
    expect_stdout_eq <<'EOF'
inner
EOF
    # -C names the project: no walking up.
    run -C . list
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no jobs found under '.': 0 .py files, none with STAU_CONFIG
  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes one, -C DIR names another project and --jobs-root DIR another jobs root
EOF
}

test_cli_no_jobs_makes_no_state() {
    new_project
    write src/util.py <<'EOF'
def helper():
    return 1
EOF
    write src/other.py <<'EOF'
X = 2
EOF
    run
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no jobs found under 'src': 2 .py files, none with STAU_CONFIG
  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes one, -C DIR names another project and --jobs-root DIR another jobs root
EOF
    expect_no_file .stau
    run history
    expect_exit 2
    expect_no_file .stau
}

# --- [tool.stau] -----------------------------------------------------------------

test_cli_settings_errors() {
    cli_project
    cat >pyproject.toml <<'EOF'
[project]
name = "x"

[tool.stau]
jobs = "four"
schedul = 1
jobs_root = "src"
keep_last = -1
jobs_root = "src"
python = 'x' extra
retries = 101
retry_delay = -0.5
keep_days = 
env_file = "unclosed
job = 2

[tool.other]
jobs = "not ours"
EOF
    run check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
pyproject.toml:5:8: error: 'jobs' must be an integer, not a string
     5 | jobs = "four"
       |        ^~~~~~
pyproject.toml:6:1: warning: unknown key 'schedul' in [tool.stau]; ignored
     6 | schedul = 1
       | ^~~~~~~
  hint: [tool.stau] takes jobs_root, jobs, python, retries, retry_delay, log_limit, keep_days, keep_last and env_file
pyproject.toml:8:13: error: 'keep_last' must be an integer from 0 to 1000000, not -1
     8 | keep_last = -1
       |             ^~
pyproject.toml:9:1: error: 'jobs_root' is given twice
     9 | jobs_root = "src"
       | ^~~~~~~~~
  hint: keep one of the lines
pyproject.toml:10:14: error: unexpected text after the value
    10 | python = 'x' extra
       |              ^
  hint: one key = value per line; a comment starts with #
pyproject.toml:11:11: error: 'retries' must be an integer from 0 to 100, not 101
    11 | retries = 101
       |           ^~~
pyproject.toml:12:15: error: 'retry_delay' must be from 0 to 604800 seconds, not -0.5
    12 | retry_delay = -0.5
       |               ^~~~
pyproject.toml:13:13: error: no value after '='
    13 | keep_days = 
       |             ^
  hint: a [tool.stau] value is a "string", an integer, a number of seconds, true or false
pyproject.toml:14:12: error: the string is not closed
    14 | env_file = "unclosed
       |            ^~~~~~~~~
  hint: end it with " on the same line
pyproject.toml:15:1: warning: unknown key 'job' in [tool.stau]; ignored
    15 | job = 2
       | ^~~
  hint: did you mean 'jobs'?
stau: error: the [tool.stau] settings in 'pyproject.toml' have errors; nothing runs until they are fixed
EOF
    expect_no_file ran.txt
    # From a folder below, the paths are relative to it.
    mkdir -p src/deep
    cd src/deep || return
    run
    expect_exit 2
    expect_stderr_contains "../../pyproject.toml:5:8: error: 'jobs' must be an integer, not a string"
    expect_stderr_last_line "stau: error: the [tool.stau] settings in '../../pyproject.toml' have errors; nothing runs until they are fixed"
    expect_no_file "$TEST_TMP/p/ran.txt"
}

test_cli_settings_unknown_keys_of_any_value_only_warn() {
    new_project
    cli_job a
    cat >pyproject.toml <<'EOF'
[tool.stau]
notes = """two
lines"""
extra = [
  "a",  # a comment
]
jobs = 2
EOF
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 2 warnings
EOF
    expect_stderr_eq <<'EOF'
pyproject.toml:2:1: warning: unknown key 'notes' in [tool.stau]; ignored
     2 | notes = """two
       | ^~~~~
  hint: [tool.stau] takes jobs_root, jobs, python, retries, retry_delay, log_limit, keep_days, keep_last and env_file
pyproject.toml:4:1: warning: unknown key 'extra' in [tool.stau]; ignored
     4 | extra = [
       | ^~~~~
  hint: [tool.stau] takes jobs_root, jobs, python, retries, retry_delay, log_limit, keep_days, keep_last and env_file
EOF
}

test_cli_settings_jobs_root_and_python() {
    new_project
    write jobs/a.py <<'EOF'
import sys

STAU_CONFIG = {"main_func": "main"}


def main():
    with open("ran.txt", "a") as f:
        f.write("a by " + ("wrapper" if __import__("os").environ.get("VIA_WRAPPER") else "python") + "\n")
EOF
    write tools/py <<EOF
#!/bin/sh
VIA_WRAPPER=1 exec "$PY" "\$@"
EOF
    chmod +x tools/py
    cat >pyproject.toml <<'EOF'
[tool.stau]
jobs_root = "jobs"   # the jobs are not in src/
python = "tools/py"
EOF
    run list --names
    expect_exit 0
    expect_stdout_eq <<'EOF'
a
EOF
    run
    expect_exit 0
    expect_eq "ran.txt" "a by wrapper" "$(cat ran.txt)"
    # The command line wins over the settings.
    mkdir src
    cp jobs/a.py src/b.py
    run --jobs-root src list --names
    expect_stdout_eq <<'EOF'
b
EOF
}

test_cli_settings_retries() {
    new_project
    write src/flaky.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}


def main():
    with open("tries.txt", "a") as f:
        f.write("x")
    raise SystemExit(1)
EOF
    printf '[tool.stau]\nretries = 2\nretry_delay = 0\n' >pyproject.toml
    run
    expect_exit 1
    expect_eq "attempts" "xxx" "$(cat tries.txt)"
    # A job's own retries win over the project's default.
    write src/flaky.py <<'EOF'
STAU_CONFIG = {"main_func": "main", "retries": 0}


def main():
    with open("tries.txt", "a") as f:
        f.write("y")
    raise SystemExit(1)
EOF
    run
    expect_exit 1
    expect_eq "attempts" "xxxy" "$(cat tries.txt)"
}

# jobs = 1: two independent jobs never run at the same time; -j 2 on the command
# line lets them. Each job marks itself running and looks for the other for a while.
test_cli_settings_jobs() {
    new_project
    local name other
    for name in x y; do
        other=y
        [ "$name" = y ] && other=x
        write "src/$name.py" <<EOF
import os, time

STAU_CONFIG = {"main_func": "main"}


def main():
    open("$name.running", "w").close()
    seen = False
    for _ in range(100):
        if os.path.exists("$other.running"):
            seen = True
            break
        time.sleep(0.02)
    with open("overlap.txt", "a") as f:
        f.write("$name " + ("saw" if seen else "alone") + "\n")
    time.sleep(0.1)
    os.remove("$name.running")
EOF
    done
    printf '[tool.stau]\njobs = 1\n' >pyproject.toml
    run
    expect_exit 0
    expect_eq "with jobs = 1" "$(printf 'x alone\ny alone')" "$(sort overlap.txt)"
    rm overlap.txt
    run --force -j 2
    expect_exit 0
    expect_eq "with -j 2" "$(printf 'x saw\ny saw')" "$(sort overlap.txt)"
}

test_cli_settings_keep_rules() {
    cli_project
    run run a
    run run a --force
    run run a --force
    printf '[tool.stau]\nkeep_last = 1\nkeep_days = 0\n' >pyproject.toml
    # Runs 1 and 2 are past keep_last = 1 (their logs are in the archives too).
    run gc -n
    expect_exit 0
    expect_stdout_contains "would remove archive .stau/archive/a.1.tar.zst"
    expect_stdout_contains "would remove archive .stau/archive/a.2.tar.zst"
    expect_stdout_contains "gc: would remove 2 archives and 3 logs"
    # The command line wins.
    run gc -n --keep-last 5
    expect_exit 0
    expect_stdout_contains "gc: would remove 0 archives and 3 logs"
}

# --- stau init ---------------------------------------------------------------------

test_cli_init() {
    mkdir proj
    run init proj
    expect_exit 0
    local abs
    abs=$(cd proj && pwd)
    local bin
    bin=$(cd "$(dirname "$STAU")" && pwd)/$(basename "$STAU")
    sed -e "s|$abs|PROJECT|g" -e "s|$bin|STAU|g" "$OUT" >out.txt
    OUT=out.txt expect_stdout_eq <<'EOF'
created src/hello.py, a job that runs every day at 06:00
wrote [tool.stau] in pyproject.toml (stau finds the project from any folder below it)

next:
  cd 'proj'
  stau            run what is due (hello, as it never ran)
  stau why hello  why it ran, or why not
  stau status     each job's state

to run stau every minute from cron (crontab -e):
  * * * * * cd 'PROJECT' && 'STAU' >>.stau/cron.log 2>&1
or with a systemd user timer, ~/.config/systemd/user/stau.service:
  [Service]
  Type=oneshot
  WorkingDirectory=PROJECT
  ExecStart=STAU
and ~/.config/systemd/user/stau.timer:
  [Timer]
  OnCalendar=minutely
  [Install]
  WantedBy=timers.target
then: systemctl --user enable --now stau.timer
A run still going on when the next minute starts is not started twice. Once one
machine is not enough, `stau serve` replaces the timer (several copies may
serve one project).
EOF
    expect_eq "pyproject.toml" "$(printf '[tool.stau]\njobs_root = "src"')" "$(cat proj/pyproject.toml)"
    cd proj || return
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    run
    expect_exit 0
    expect_stdout_contains "1 ran: 1 succeeded"
    # A second init changes nothing.
    run init
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: 'src/hello.py' exists; nothing written
  hint: stau init makes a new project; run `stau check` in this one
EOF
}

test_cli_init_keeps_an_existing_pyproject() {
    mkdir proj
    printf '[project]\nname = "mine"\n' >proj/pyproject.toml
    run init proj
    expect_exit 0
    expect_eq "pyproject.toml" "$(printf '[project]\nname = "mine"\n\n[tool.stau]\njobs_root = "src"')" "$(cat proj/pyproject.toml)"
    touch afile
    run init afile
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: cannot use 'afile' for a project: not a folder
EOF
}
