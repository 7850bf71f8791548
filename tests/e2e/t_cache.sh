# The graph cache .stau/graph.cache: what a run reads again (`-v` prints
# "N files, R read, P parsed"), damaged caches, and racing writers.
#
# use_fixture gives every file an old mtime, so no file is "racily new" (changed
# in the clock tick the cache was written in), which would rightly be re-read.

# The example has 7 jobs in 13 .py files.
EXAMPLE_SUMMARY="7 jobs, 8 dependencies, 0 warnings"
# A run that had to set the cache aside also counts that warning.
EXAMPLE_SUMMARY_REBUILT="7 jobs, 8 dependencies, 1 warning"

expect_counts() {
    local where
    where=$(_where)
    if ! grep -qxF "$1" "$ERR"; then
        fail "$where: expected the line '$1' on stderr, got:"
        cat "$ERR"
    fi
}

check_example() {
    run -v check
    expect_exit 0
    expect_stdout_eq <<<"$EXAMPLE_SUMMARY"
}

test_cache_second_run_reads_nothing() {
    use_fixture example
    run -v check
    expect_exit 0
    expect_stdout_eq <<<"$EXAMPLE_SUMMARY"
    expect_stderr_eq <<'EOF'
13 files, 13 read, 13 parsed
EOF
    expect_file .stau/graph.cache
    run -v check
    expect_exit 0
    expect_stderr_eq <<'EOF'
13 files, 0 read, 0 parsed
EOF
    # list and dot use the same cache, and leave it as good as they found it.
    run list
    expect_exit 0
    run dot
    expect_exit 0
    run -v check
    expect_stderr_eq <<'EOF'
13 files, 0 read, 0 parsed
EOF
}

test_cache_gitignore() {
    use_fixture example
    run check
    expect_file .stau/.gitignore
    grep -qx '\*' .stau/.gitignore || fail ".stau/.gitignore does not ignore everything: $(cat .stau/.gitignore)"
    # A .gitignore the user changed is left alone.
    echo '# mine' >.stau/.gitignore
    run check
    expect_eq ".stau/.gitignore" "# mine" "$(cat .stau/.gitignore)"
}

test_cache_touch_reads_but_does_not_parse() {
    use_fixture example
    run check
    touch src/sales/daily.py
    check_example
    expect_stderr_eq <<'EOF'
13 files, 1 read, 0 parsed
EOF
}

test_cache_edit_reads_and_parses_one() {
    use_fixture example
    run check
    sed -i 's/"dependencies": \["sales.daily", "sales.by_customer"\]/"dependencies": ["sales.daily"]/' src/reports/weekly.py
    age_files src/reports/weekly.py # (not racily new, for the second run below)
    run -v check
    expect_exit 0
    expect_stdout_eq <<'EOF'
7 jobs, 7 dependencies, 0 warnings
EOF
    expect_stderr_eq <<'EOF'
13 files, 1 read, 1 parsed
EOF
    # The edit is what the next run sees, from the cache.
    run -v check
    expect_counts "13 files, 0 read, 0 parsed"
    run list
    expect_stdout_contains "reports.weekly     src/reports/weekly.py     sales.daily "
}

test_cache_edit_of_a_helper_module() {
    use_fixture example
    run check
    echo '# a comment' >>src/shop/money.py
    check_example
    expect_stderr_eq <<'EOF'
13 files, 1 read, 1 parsed
EOF
}

test_cache_torn_update_is_skipped() {
    # A small change is appended to the cache as a section of its own; one cut
    # short (a crash while writing it) is skipped without a word, and the file
    # it was about is read again.
    use_fixture example
    run check
    sed -i 's/"schedule": "30 6 \* \* \*"/"schedule": "45 6 * * *"/' src/sales/daily.py
    age_files src/sales/daily.py
    run -v check
    expect_counts "13 files, 1 read, 1 parsed"
    size=$(stat -c %s .stau/graph.cache)
    head -c $((size - 3)) .stau/graph.cache >"$TEST_TMP/torn"
    cp "$TEST_TMP/torn" .stau/graph.cache
    run -v check
    expect_exit 0
    expect_stdout_eq <<<"$EXAMPLE_SUMMARY"
    expect_stderr_eq <<'EOF'
13 files, 1 read, 1 parsed
EOF
    run list
    expect_stdout_contains "sales.daily        src/sales/daily.py        ingest.orders, ingest.fx_rates (max_lag 120m)                                  45 6 * * *    scheduled  finance"
    run -v check
    expect_stderr_eq <<'EOF'
13 files, 0 read, 0 parsed
EOF
}

test_cache_files_added_and_removed() {
    use_fixture example
    run check
    write src/ingest/returns.py <<'EOF'
STAU_CONFIG = {"dependencies": ["ingest.orders"]}
EOF
    run -v check
    expect_exit 0
    expect_stdout_eq <<'EOF'
8 jobs, 9 dependencies, 0 warnings
EOF
    expect_counts "14 files, 1 read, 1 parsed"
    rm src/ingest/returns.py src/reports/manifest.py
    run -v check
    expect_exit 0
    expect_stdout_eq <<'EOF'
6 jobs, 7 dependencies, 0 warnings
EOF
    expect_counts "12 files, 0 read, 0 parsed"
}

test_cache_replays_messages() {
    # Messages of unchanged files come from the cache, exactly as first printed.
    use_fixture errors/misspelt_key
    write src/broken.py <<'EOF'
STAU_CONFIG = {"retries": "3", "dependencies": ["upstraem"]}
EOF
    age_files
    run check
    expect_exit 2
    cp "$ERR" "$TEST_TMP/first"
    run -v check
    expect_exit 2
    expect_counts "3 files, 0 read, 0 parsed"
    grep -vxF "3 files, 0 read, 0 parsed" "$ERR" >"$TEST_TMP/second"
    if ! cmp -s "$TEST_TMP/first" "$TEST_TMP/second"; then
        fail "the cached run prints other messages than the first:"
        diff -u "$TEST_TMP/first" "$TEST_TMP/second"
    fi
}

test_cache_other_jobs_root() {
    use_fixture jobs_root
    run -v check
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    run -v --jobs-root pipelines check
    expect_exit 0
    expect_stdout_eq <<'EOF'
2 jobs, 1 dependency, 0 warnings
EOF
    expect_stderr_eq <<'EOF'
2 files, 2 read, 2 parsed
EOF
    run -v check
    expect_stdout_eq <<'EOF'
1 job, 0 dependencies, 0 warnings
EOF
    expect_stderr_eq <<'EOF'
1 files, 1 read, 1 parsed
EOF
}

# Run from the test folder with -C p, so the cache is p/.stau/graph.cache.
damaged_cache() {
    use_fixture example
    run check
    cd "$TEST_TMP" || exit 1
    expect_file p/.stau/graph.cache
}

expect_rebuilt() {
    local why=$1 where
    where=$(_where)
    run -C p -v check
    expect_exit 0
    expect_stdout_eq <<<"$EXAMPLE_SUMMARY_REBUILT"
    _expect_eq_file stderr "$ERR" "$where" <<EOF
stau: warning: ignoring 'p/.stau/graph.cache': $why; rebuilding it
13 files, 13 read, 13 parsed
EOF
    # Rebuilt: the next run is quiet and reads nothing; the result is the same.
    run -C p -v check
    expect_exit 0
    _expect_eq_file stderr "$ERR" "$where" <<'EOF'
13 files, 0 read, 0 parsed
EOF
    run -C p list
    expect_stdout_contains "sales.by_customer  src/sales/by_customer.py  ingest.orders, ingest.customers (max_lag 60m), ingest.fx_rates (max_lag 120m)"
}

test_cache_random_bytes() {
    damaged_cache
    "$PY" -c 'import random, sys; sys.stdout.buffer.write(random.Random(7).randbytes(4096))' >p/.stau/graph.cache
    expect_rebuilt "it is not a stau graph cache"
}

test_cache_truncated() {
    damaged_cache
    size=$(stat -c %s p/.stau/graph.cache)
    head -c $((size / 2)) p/.stau/graph.cache >"$TEST_TMP/half"
    cp "$TEST_TMP/half" p/.stau/graph.cache
    expect_rebuilt "it is truncated or damaged"
}

test_cache_truncated_to_the_header() {
    damaged_cache
    head -c 20 p/.stau/graph.cache >"$TEST_TMP/head"
    cp "$TEST_TMP/head" p/.stau/graph.cache
    expect_rebuilt "it is truncated or damaged"
}

test_cache_one_byte_flipped() {
    damaged_cache
    "$PY" - p/.stau/graph.cache <<'EOF'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
data[len(data) // 2] ^= 0x40
open(p, "wb").write(data)
EOF
    expect_rebuilt "it is truncated or damaged"
}

test_cache_foreign_file() {
    damaged_cache
    printf 'SQLite format 3\000 this is somebody else'"'"'s file\n' >p/.stau/graph.cache
    expect_rebuilt "it is not a stau graph cache"
}

test_cache_empty_file() {
    damaged_cache
    : >p/.stau/graph.cache
    expect_rebuilt "it is not a stau graph cache"
}

test_cache_is_a_folder() {
    damaged_cache
    rm p/.stau/graph.cache
    mkdir p/.stau/graph.cache
    run -C p check
    expect_exit 0
    # It can be neither read nor replaced: two warnings, and the run goes on.
    expect_stdout_eq <<<"7 jobs, 8 dependencies, 2 warnings"
    expect_stderr_contains "stau: warning: ignoring 'p/.stau/graph.cache': "
}

# The cache is named in messages the way every other path is: relative to the cwd.
test_cache_path_in_messages() {
    damaged_cache
    : >p/.stau/graph.cache
    run -C p/ check
    expect_exit 0
    expect_stderr_eq <<'EOF'
stau: warning: ignoring 'p/.stau/graph.cache': it is not a stau graph cache; rebuilding it
EOF
    cd p || exit 1
    : >.stau/graph.cache
    run check
    expect_exit 0
    expect_stderr_eq <<'EOF'
stau: warning: ignoring '.stau/graph.cache': it is not a stau graph cache; rebuilding it
EOF
}

# When .stau is a file, one warning says the cache is not used; the run goes on.
test_state_dir_is_a_file() {
    use_fixture example
    touch .stau
    run check
    expect_exit 0
    expect_stdout_eq <<<"$EXAMPLE_SUMMARY_REBUILT"
    expect_stderr_eq <<'EOF'
stau: warning: cannot create '.stau': a file of that name is in the way; working without a cache
EOF
}

test_cache_racing_writers() {
    # Two runs at once, 20 times over: whichever rename wins, the cache left is
    # whole, and the run after it warns about nothing and reads nothing.
    use_fixture example
    for i in $(seq 20); do
        case $((i % 3)) in
        0) rm -rf .stau ;;                               # both build it from nothing
        1) echo "# edit $i" >>src/shop/money.py ;;       # both update it
        2) : >.stau/graph.cache ;;                       # both find it damaged
        esac
        age_files src
        "$STAU" check >"$TEST_TMP/o1" 2>"$TEST_TMP/e1" &
        p1=$!
        "$STAU" check >"$TEST_TMP/o2" 2>"$TEST_TMP/e2" &
        p2=$!
        wait $p1
        r1=$?
        wait $p2
        r2=$?
        want=$EXAMPLE_SUMMARY
        [ $((i % 3)) -ne 2 ] || want=$EXAMPLE_SUMMARY_REBUILT
        for n in 1 2; do
            # Of two runs racing over a damaged cache, the second may find it rebuilt.
            got=$(cat "$TEST_TMP/o$n")
            if [ "$got" != "$want" ] && [ "$got" != "$EXAMPLE_SUMMARY" ]; then
                fail "round $i: run $n printed: $(cat "$TEST_TMP/o$n")"
            fi
            if [ $((i % 3)) -ne 2 ] && [ -s "$TEST_TMP/e$n" ]; then
                fail "round $i: run $n warned: $(cat "$TEST_TMP/e$n")"
            fi
        done
        [ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] || fail "round $i: exit statuses $r1 and $r2"
        run -v check
        expect_exit 0
        expect_stdout_eq <<<"$EXAMPLE_SUMMARY"
        if [ "$(cat "$ERR")" != "13 files, 0 read, 0 parsed" ]; then
            fail "round $i: the run after the race says:"
            cat "$ERR"
        fi
        leftovers=$(find .stau -name 'graph.cache?*')
        [ -z "$leftovers" ] || fail "round $i: temporary files left: $leftovers"
    done
}
