# `stau dot [JOB...]`: the output is fed to Graphviz's own `dot`, which must
# accept it; its layout (-Tplain) is summarised by dotsum.py to check nodes,
# edges and labels as Graphviz read them.

DOTSUM=$ROOT/tests/e2e/dotsum.py

# Lay out stau's stdout with Graphviz; the summary goes to $TEST_TMP/sum.
graphviz_summary() {
    if ! dot -Tplain <"$OUT" >"$TEST_TMP/plain" 2>"$TEST_TMP/dot.err"; then
        fail "Graphviz rejected stau's DOT: $(cat "$TEST_TMP/dot.err")"
        cat "$OUT"
        return 1
    fi
    "$PY" "$DOTSUM" <"$TEST_TMP/plain" >"$TEST_TMP/sum"
}

expect_summary_eq() {
    local where
    where=$(_where)
    graphviz_summary || return 0
    _expect_eq_file "the graph" "$TEST_TMP/sum" "$where"
}

test_dot_whole_graph() {
    use_fixture example
    run dot
    expect_exit 0
    expect_stderr_empty
    expect_summary_eq <<'EOF'
node ingest.customers
node ingest.fx_rates
node ingest.orders
node reports.manifest
node reports.weekly
node sales.by_customer
node sales.daily
edge ingest.customers -> sales.by_customer label=max_lag 60m
edge ingest.fx_rates -> sales.by_customer label=max_lag 120m
edge ingest.fx_rates -> sales.daily label=max_lag 120m
edge ingest.orders -> sales.by_customer
edge ingest.orders -> sales.daily
edge reports.weekly -> reports.manifest label=max_lag 1440m
edge sales.by_customer -> reports.weekly
edge sales.daily -> reports.weekly
EOF
}

test_dot_renders_svg() {
    use_fixture example
    run dot
    expect_exit 0
    if ! dot -Tsvg <"$OUT" >"$TEST_TMP/graph.svg" 2>"$TEST_TMP/dot.err"; then
        fail "dot -Tsvg failed: $(cat "$TEST_TMP/dot.err")"
    fi
    grep -q '<svg' "$TEST_TMP/graph.svg" || fail "no <svg> in dot -Tsvg's output"
    grep -q '>sales.daily</text>' "$TEST_TMP/graph.svg" || fail "the SVG does not show sales.daily"
    grep -q '>max_lag 120m</text>' "$TEST_TMP/graph.svg" || fail "the SVG does not show an edge's max_lag"
    expect_eq "dot's complaints" "" "$(cat "$TEST_TMP/dot.err")"
}

test_dot_one_job_and_its_upstream() {
    use_fixture example
    run dot sales.daily
    expect_exit 0
    expect_stderr_empty
    expect_summary_eq <<'EOF'
node ingest.fx_rates
node ingest.orders
node sales.daily
edge ingest.fx_rates -> sales.daily label=max_lag 120m
edge ingest.orders -> sales.daily
EOF
}

test_dot_several_jobs() {
    use_fixture example
    run dot sales.daily ingest.customers
    expect_exit 0
    expect_summary_eq <<'EOF'
node ingest.customers
node ingest.fx_rates
node ingest.orders
node sales.daily
edge ingest.fx_rates -> sales.daily label=max_lag 120m
edge ingest.orders -> sales.daily
EOF
    # The whole chain above the last job is everything.
    run dot reports.manifest
    expect_exit 0
    graphviz_summary && expect_eq "nodes above reports.manifest" 7 "$(grep -c '^node ' "$TEST_TMP/sum")"
}

test_dot_job_without_upstream() {
    use_fixture example
    run dot ingest.orders
    expect_exit 0
    expect_summary_eq <<'EOF'
node ingest.orders
EOF
}

test_dot_unknown_job() {
    use_fixture example
    run dot sales.dialy
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no job named 'sales.dialy'
  hint: did you mean 'sales.daily'?
EOF
    run dot daily
    expect_exit 2
    expect_stderr_eq <<'EOF'
stau: error: no job named 'daily'
  hint: did you mean 'sales.daily'?
EOF
    # Every unknown name is reported, and no graph is written.
    run dot sales.daily nope sales.dialy
    expect_exit 2
    expect_stdout_empty
    expect_stderr_eq <<'EOF'
stau: error: no job named 'nope'
stau: error: no job named 'sales.dialy'
  hint: did you mean 'sales.daily'?
EOF
}

# Job names are Python identifiers (see t_hostile.sh), but those may be non-ASCII,
# start with '_', or be a package's __init__.py.
test_dot_names_python_allows() {
    new_project
    for f in 'uni_ç' '_2020' 'pkg/__init__' 'déjà/vu'; do
        write "src/$f.py" <<<'STAU_CONFIG = {}'
    done
    write src/down.py <<'EOF'
STAU_CONFIG = {"dependencies": [{"job": "uni_ç", "max_lag": 1.5}, "_2020", "pkg", "déjà.vu"]}
EOF
    run check
    expect_exit 0
    expect_stdout_eq <<'EOF'
5 jobs, 4 dependencies, 0 warnings
EOF
    run dot
    expect_exit 0
    expect_stderr_empty
    expect_summary_eq <<'EOF'
node _2020
node down
node déjà.vu
node pkg
node uni_ç
edge _2020 -> down
edge déjà.vu -> down
edge pkg -> down
edge uni_ç -> down label=max_lag 1.5m
EOF
    if ! dot -Tsvg <"$OUT" >"$TEST_TMP/graph.svg" 2>"$TEST_TMP/dot.err"; then
        fail "dot -Tsvg failed: $(cat "$TEST_TMP/dot.err")"
    fi
    grep -qF '>déjà.vu</text>' "$TEST_TMP/graph.svg" || fail "déjà.vu is not shown as it is"
}

# A file's path may still hold quotes, backslashes and \n through the jobs root
# (only the part below it makes the job's name): the tooltip shows it as it is.
test_dot_tooltip_shows_the_file_as_it_is() {
    new_project
    local root='we"ird\n dir'
    write "$root/job.py" <<<'STAU_CONFIG = {}'
    run --jobs-root "$root" dot
    expect_exit 0
    dot -Tsvg <"$OUT" >"$TEST_TMP/graph.svg" || fail "dot -Tsvg failed"
    grep -qF 'xlink:title="we&quot;ird\n dir/job.py"' "$TEST_TMP/graph.svg" ||
        fail "tooltip of job: $(grep -o 'xlink:title="we[^"]*"' "$TEST_TMP/graph.svg")"
}

test_dot_marks_broken_jobs_red() {
    use_fixture errors/cycle
    write src/broken.py <<'EOF'
STAU_CONFIG = {"retries": "3", "dependencies": ["d"]}
EOF
    run dot
    expect_exit 2
    expect_stderr_contains "src/a.py:1:33: error: dependency cycle: a -> b -> c -> a"
    expect_stderr_contains "src/broken.py:1:27: error: 'retries' must be an int, not str"
    expect_stderr_not_contains "2 errors" # the summary line is check's alone
    # A declaration with errors keeps its dependencies (they are checked too).
    expect_summary_eq <<'EOF'
node a color=red
node b color=red
node broken color=red
node c color=red
node d
edge a -> c
edge a -> d
edge b -> a
edge c -> b label=max_lag 30m
edge d -> broken
EOF
}

# A project without jobs has no graph to draw: the no-jobs error.
test_dot_empty_graph() {
    new_project
    write src/helper.py <<'EOF'
X = 1
EOF
    run dot
    expect_exit 2
    expect_stdout_empty
    expect_stderr_contains "stau: error: no jobs found under 'src': 1 .py file, none with STAU_CONFIG"
}
