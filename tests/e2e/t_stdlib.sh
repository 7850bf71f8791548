# A real code base nobody here wrote: the Python standard library of the
# interpreter running the tests, copied (without site-packages and caches) into
# the test folder and scanned as one big jobs root, with one job of ours beside
# it. Files that are no job are never complained about, so: 1 job, no messages,
# exit 0, no crash, and quickly. A second run comes from the cache.

test_stdlib_scan() {
    local stdlib
    stdlib=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    if [ ! -f "$stdlib/os.py" ]; then
        fail "no standard library at '$stdlib'"
        return
    fi
    mkdir lib
    (cd "$stdlib" && tar --exclude=./site-packages --exclude='__pycache__' --exclude='*.pyc' \
        --exclude='*.so' -cf - .) | (cd lib && tar -xf -)
    local files
    files=$(find lib -name '*.py' -not -path '*/.*' | wc -l)
    [ "$files" -gt 500 ] || fail "only $files .py files copied from $stdlib"
    write lib/stau_probe.py <<'EOF'
STAU_CONFIG = {"main_func": "main"}


def main():
    pass
EOF
    age_files lib

    local start end
    start=$(date +%s%N)
    run -C lib --jobs-root . -v check
    end=$(date +%s%N)
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    # Only the counts: no warning about any of the deliberately odd test files.
    grep -v -E '^[0-9]+ files, [0-9]+ read, [0-9]+ parsed$' "$ERR" >"$TEST_TMP/messages"
    if [ -s "$TEST_TMP/messages" ]; then
        fail "stau had something to say about the standard library:"
        head -n 40 "$TEST_TMP/messages"
    fi
    local ms=$(((end - start) / 1000000))
    [ "$ms" -lt 20000 ] || fail "the cold scan took $ms ms (limit 20 s)"
    echo "cold scan of $files files: $ms ms; $(tail -n 1 "$ERR")"

    run -C lib --jobs-root . -v check
    expect_exit 0
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    local n
    n=$(tail -n 1 "$ERR" | cut -d' ' -f1)
    expect_eq "the cached run" "$n files, 0 read, 0 parsed" "$(tail -n 1 "$ERR")"

    # The default jobs root of a project without src/ is the project itself too.
    run -C lib list --names
    expect_exit 0
    expect_stdout_eq <<'EOF'
stau_probe
EOF
    expect_stderr_empty
}
