# Declarations that are valid Python but cost stau too much to evaluate: values
# that double at each line (bounded at 16 MiB, with a located error) and large
# literals (evaluated in time and memory linear in their size).

# Write src/job.py: A40 bound to $1, each A(i) to $2 over A(i+1), and a declaration
# over A1: 42 lines whose value has 2^40 leaves.
doubling_file() {
    local leaf=$1 form=$2 i
    mkdir -p src
    {
        printf 'A40 = %s\n' "$leaf"
        for ((i = 39; i >= 1; i--)); do
            printf "A$i = $form\n" "A$((i + 1))" "A$((i + 1))"
        done
        printf 'STAU_CONFIG = {"kwargs": {"a": A1}}\n'
    } >src/job.py
}

# The first lines of stderr: the error at the first line whose value passes 16 MiB.
expect_too_large() {
    local got
    got=$(head -n 4 "$ERR")
    expect_eq "first lines of stderr" "$1" "$got"
    expect_stderr_last_line "1 error, 0 warnings"
}

test_doubling_lists() {
    new_project
    doubling_file '"x"' '[%s, %s]'
    local first='src/job.py:23:7: error: [A19, A19] evaluates to a value over 16 MiB
    23 | A18 = [A19, A19]
       |       ^~~~~~~~~~
  hint: stau copies a declaration'"'"'s values into its graph cache and `list --json`; keep them under 16 MiB, and build large data inside the job'
    run check
    expect_exit 2
    expect_stdout_empty
    expect_too_large "$first"
    # The first use of the failed constant is named; the lines above it read on.
    expect_stderr_contains "src/job.py:24:8: note: 'A18' is used here"
    # list --json and dot show the job as invalid, with the same error.
    run list --json
    expect_exit 2
    expect_stdout_eq <<'EOF'
[
{"name":"job","file":"src/job.py","valid":false,"not_run":"its declaration is invalid"}
]
EOF
    expect_eq "first lines of stderr" "$first" "$(head -n 4 "$ERR")"
    run dot
    expect_exit 2
    expect_stdout_contains 'tooltip="src/job.py"'
    expect_eq "first lines of stderr" "$first" "$(head -n 4 "$ERR")"
}

test_doubling_fstrings() {
    new_project
    doubling_file '"x"' 'f"{%s}{%s}"'
    run check
    expect_exit 2
    expect_stdout_empty
    expect_too_large 'src/job.py:25:7: error: f"{A17}{A17}" evaluates to a value over 16 MiB
    25 | A16 = f"{A17}{A17}"
       |       ^~~~~~~~~~~~~
  hint: stau copies a declaration'"'"'s values into its graph cache and `list --json`; keep them under 16 MiB, and build large data inside the job'
}

test_doubling_string_sums() {
    new_project
    doubling_file '"x"' '%s + %s'
    run check
    expect_exit 2
    expect_stdout_empty
    expect_too_large 'src/job.py:25:7: error: A17 + A17 evaluates to a value over 16 MiB
    25 | A16 = A17 + A17
       |       ^~~~~~~~~
  hint: stau copies a declaration'"'"'s values into its graph cache and `list --json`; keep them under 16 MiB, and build large data inside the job'
}

test_doubling_list_sums() {
    new_project
    doubling_file '["x"]' '%s + %s'
    run check
    expect_exit 2
    expect_stdout_empty
    expect_too_large 'src/job.py:23:7: error: A19 + A19 evaluates to a value over 16 MiB
    23 | A18 = A19 + A19
       |       ^~~~~~~~~
  hint: stau copies a declaration'"'"'s values into its graph cache and `list --json`; keep them under 16 MiB, and build large data inside the job'
}

# Below the bound, a shared value is written out in full: 2^20 leaves.
test_doubling_below_the_bound() {
    new_project
    doubling_file '"x"' '[%s, %s]'
    sed -i 's/^A1 = .*/A1 = A20/' src/job.py
    run check
    expect_exit 0
    run list --json
    expect_exit 0
    local count
    count=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(d).count("\"x\""))' "$OUT")
    expect_eq "leaves in list --json" 1048576 "$count"
}
