# The command line: global flags, per-command help, version, and every usage error.

test_version() {
    run --version
    expect_exit 0
    expect_stderr_empty
    if ! grep -qE '^stau [0-9]+\.[0-9]+\.[0-9]+$' "$OUT" || [ "$(wc -l <"$OUT")" -ne 1 ]; then
        fail "--version printed:"
        cat "$OUT"
    fi
}

test_help() {
    run --help
    expect_exit 0
    expect_stderr_empty
    expect_stdout_contains "usage: stau [OPTIONS] [COMMAND] [ARGS]"
    for cmd in check list dot; do
        if ! grep -qE "^  $cmd +[a-z]" "$OUT"; then
            fail "--help does not list the command '$cmd'"
        fi
    done
    for opt in "-C DIR" "--jobs-root DIR" "-j, --jobs N" "-v, --verbose" "-h, --help" "-V, --version" \
        "-n, --dry-run" "-k, --keep-going"; do
        expect_stdout_contains "  $opt "
    done
    # -h and `stau help` say the same.
    cp "$OUT" "$TEST_TMP/help"
    run -h
    expect_exit 0
    cmp -s "$OUT" "$TEST_TMP/help" || fail "-h differs from --help"
    run help
    expect_exit 0
    cmp -s "$OUT" "$TEST_TMP/help" || fail "'stau help' differs from --help"
}

test_check_help() {
    run check --help
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
usage: stau check

Reads every job's declaration without running anything and checks it:
values, types, schedules, dependencies (unknown jobs, cycles), names.
Prints one summary line, or the errors. Exit status 0, or 2 on any error.

The options every command takes: see `stau --help`.
EOF
}

test_list_help() {
    run list --help
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
usage: stau list [--json] [--names]

One job per line: name, file, dependencies (with max_lag), schedule, tags.
--json prints an array of objects holding every evaluated key, defaults
included, and the local files each job's code is made of.

options:
  --json             machine-readable output
  --names            only the job names, one per line

The options every command takes: see `stau --help`.
EOF
}

test_dot_help() {
    run dot --help
    expect_exit 0
    expect_stderr_empty
    expect_stdout_eq <<'EOF'
usage: stau dot [JOB...] [--chunks]

Writes the dependency graph as DOT: `stau dot | dot -Tsvg > graph.svg`.
With JOB arguments, only those jobs and everything upstream of them.
Edges carry max_lag; jobs whose declaration has errors are red.
--chunks JOB...: the chunk graph of their latest invocations, a cluster per job,
a node per chunk, an edge where a chunk needs one sharing its work IDs.

options:
  --chunks           the chunk graph of the jobs' latest invocations

The options every command takes: see `stau --help`.
EOF
}

test_help_in_every_spelling() {
    # `stau help CMD`, `stau CMD -h`, `stau --help CMD`: the command's own help,
    # and nothing is read (an unusable project does not matter).
    for cmd in check list dot; do
        run "$cmd" --help
        cp "$OUT" "$TEST_TMP/want"
        for args in "help $cmd" "$cmd -h" "--help $cmd" "-C /nonexistent $cmd --help"; do
            # shellcheck disable=SC2086
            run $args
            expect_exit 0
            expect_stderr_empty
            cmp -s "$OUT" "$TEST_TMP/want" || fail "'stau $args' is not the help of $cmd"
        done
    done
    expect_no_file .stau
}

# A project with one job, for the tests of misspelt commands.
one_job_project() {
    new_project
    write src/a.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}


def main():
    pass
EOF
}

# Without a command, words are targets (jobs to run); a misspelt command is
# no job, and the hint says which command it looks like.
test_unknown_command_did_you_mean() {
    one_job_project
    run chekc
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no job matches 'chekc'
  hint: did you mean the command 'check'?
EOF
    run lst
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no job matches 'lst'
  hint: did you mean the command 'list'?
EOF
}

test_unknown_command_without_suggestion() {
    one_job_project
    run frobnicate
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no job matches 'frobnicate'
  hint: `stau list` shows every job; `stau --help` the commands
EOF
}

test_help_for_unknown_command() {
    run help chekc
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: unknown command 'chekc'
  hint: did you mean 'check'?
EOF
}

test_no_command() {
    # `stau` alone runs whatever is due: in a folder without jobs, that is an
    # error (under cron, a wrong folder must not pass for "nothing to do").
    run
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no jobs found under '.': 0 .py files, none with STAU_CONFIG
  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes one, -C DIR names another project and --jobs-root DIR another jobs root
EOF
    expect_no_file .stau
}

test_unknown_option() {
    run --frob check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: unknown option '--frob'
  hint: see 'stau check --help'
EOF
    run check -x
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: unknown option '-x'
  hint: see 'stau check --help'
EOF
}

test_command_takes_no_arguments() {
    run check extra
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: 'check' takes no arguments
  hint: usage: stau check
EOF
    run list a b
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: 'list' takes no arguments
  hint: usage: stau list [--json] [--names]
EOF
}

test_j_bad_values() {
    for v in 0 -3 abc 2000 1.5 4x; do
        run -j "$v" check
        expect_exit 2
        expect_stdout_empty
        expect_stderr_eq <<EOF
stau: error: -j needs a number from 1 to 1024, not '$v'
  hint: see 'stau check --help'
EOF
    done
    run -jabc check
    expect_exit 2
    expect_stderr_contains "stau: error: -j needs a number from 1 to 1024, not 'abc'"
}

test_j_without_value() {
    run -j
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: -j needs a number from 1 to 1024
  hint: see 'stau --help'
EOF
}

test_j_good_values() {
    use_fixture native
    for args in "-j 1" "-j1" "-j=3" "-j 1024"; do
        # shellcheck disable=SC2086
        run $args check
        expect_exit 0
        expect_stdout_eq <<'EOF'
3 jobs, 2 dependencies, 0 warnings
EOF
        expect_stderr_empty
    done
}

test_C_and_jobs_need_a_value() {
    run -C
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: -C needs a folder
  hint: see 'stau --help'
EOF
    run --jobs-root
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: --jobs-root needs a folder
  hint: see 'stau --help'
EOF
}

test_C_runs_elsewhere() {
    use_fixture native
    cd "$TEST_TMP" || return
    for dir in p p/ ./p "$TEST_TMP/p"; do
        run -C "$dir" check
        expect_exit 0
        expect_stdout_eq <<'EOF'
3 jobs, 2 dependencies, 0 warnings
EOF
        expect_stderr_empty
    done
    run -Cp list
    expect_exit 0
    expect_stdout_contains "etl.extract  src/etl/extract.py"
    expect_file p/.stau/graph.cache
    expect_no_file .stau
}

test_C_paths_in_messages() {
    # Messages name files as the user reaches them from the current folder.
    use_fixture errors/self_dependency proj
    cd "$TEST_TMP" || return
    for dir in proj proj/; do
        run -C "$dir" check
        expect_exit 2
        expect_stderr_eq <<'EOF'
proj/src/report.py:1:33: error: 'report' depends on itself
     1 | STAU_CONFIG = {"dependencies": ["report"], "schedule": "@daily"}
       |                                 ^~~~~~~~
  hint: remove 'report' from its own dependencies
1 error, 0 warnings
EOF
    done
    run -C ./proj check
    expect_exit 2
    expect_stderr_contains "./proj/src/report.py:1:33: error: 'report' depends on itself"
    run -C "$TEST_TMP/proj" check
    expect_exit 2
    expect_stderr_contains "$TEST_TMP/proj/src/report.py:1:33: error: 'report' depends on itself"
}

test_C_not_a_folder() {
    run -C nowhere check
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: cannot use 'nowhere' as the project: No such file or directory
EOF
    touch afile
    run -C afile check
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: cannot use 'afile' as the project: not a folder
EOF
}

test_jobs_root_default_is_src() {
    use_fixture jobs_root
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    run list
    expect_stdout_eq <<'EOF'
NAME   FILE          DEPENDENCIES  SCHEDULE      POLICY     TAGS
stray  src/stray.py  -             @hourly       scheduled  -
EOF
}

test_jobs_flag() {
    use_fixture jobs_root
    for args in "--jobs-root pipelines" "--jobs-root=pipelines" "--jobs-root pipelines/" "--jobs-root ./pipelines"; do
        # shellcheck disable=SC2086
        run $args list
        expect_exit 0
        expect_stderr_empty
        expect_stdout_eq <<'EOF'
NAME           FILE                        DEPENDENCIES                 SCHEDULE      POLICY     TAGS
daily.extract  pipelines/daily/extract.py  -                            @daily        scheduled  -
daily.load     pipelines/daily/load.py     daily.extract (max_lag 60m)  -             derived    -
EOF
    done
}

test_jobs_flag_with_C() {
    use_fixture jobs_root proj
    cd "$TEST_TMP" || return
    run -C proj --jobs-root pipelines check
    expect_exit 0
    expect_stdout_eq <<'EOF'
2 jobs, 1 dependency, 0 warnings
EOF
    expect_stderr_empty
}

test_jobs_root_is_project_without_src() {
    new_project
    write report.py <<'EOF'
STAU_CONFIG = {"dependencies": ["etl.load"]}
EOF
    write etl/load.py <<'EOF'
STAU_CONFIG = {}
EOF
    run list
    expect_exit 0
    expect_stdout_eq <<'EOF'
NAME      FILE         DEPENDENCIES  SCHEDULE      POLICY   TAGS
etl.load  etl/load.py  -             -             derived  -
report    report.py    etl.load      -             derived  -
EOF
}

test_jobs_flag_errors() {
    new_project
    mkdir src
    run --jobs-root nowhere check
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: jobs folder 'nowhere' does not exist in '.'
EOF
    run --jobs-root /abs check
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: jobs folder '/abs' must be inside the project, given relative to it
EOF
}

# A project without a single .py file (this crashed stau once: qsort on NULL) or
# without a job is an error for every command that reads jobs, and leaves no .stau/.
test_empty_project() {
    new_project
    local cmd
    for cmd in check list "list --json" status dot history; do
        # shellcheck disable=SC2086
        run $cmd
        expect_exit 2
        expect_stdout_empty
        expect_stderr_eq <<'EOF'
stau: error: no jobs found under '.': 0 .py files, none with STAU_CONFIG
  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes one, -C DIR names another project and --jobs-root DIR another jobs root
EOF
    done
    mkdir src
    write src/util.py <<'EOF'
X = 1
EOF
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no jobs found under 'src': 1 .py file, none with STAU_CONFIG
  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes one, -C DIR names another project and --jobs-root DIR another jobs root
EOF
    # From a folder below, the git work tree's root with its src/ is the project.
    git init -q . || fail "git init failed"
    mkdir sub
    cd sub || return
    run check
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no jobs found under '../src': 1 .py file, none with STAU_CONFIG
  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes one, -C DIR names another project and --jobs-root DIR another jobs root
EOF
    cd .. || return
    expect_no_file .stau
}
test_verbose_counts_files() {
    use_fixture native
    run -v check
    expect_exit 0
    expect_stdout_eq <<'EOF'
3 jobs, 2 dependencies, 0 warnings
EOF
    expect_stderr_eq <<'EOF'
5 files, 5 read, 5 parsed
EOF
    run check --verbose
    expect_exit 0
    expect_stderr_eq <<'EOF'
5 files, 0 read, 0 parsed
EOF
}

test_options_after_double_dash_are_arguments() {
    use_fixture native
    run dot -- -v
    expect_exit 2
    expect_stderr_contains "stau: error: no job named '-v'"
}

test_output_that_cannot_be_written() {
    use_fixture native
    "$STAU" list >&- 2>"$ERR"
    RC=$?
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: cannot write the output: Bad file descriptor
EOF
    if [ -w /dev/full ]; then
        "$STAU" check >/dev/full 2>"$ERR"
        RC=$?
        expect_exit 2
        expect_stderr_eq <<'EOF'
stau: error: cannot write the output: No space left on device
EOF
    fi
}
