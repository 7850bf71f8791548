# The evaluator against Python itself: random declarations built from every
# accepted form, read by stau and run by Python, must give the same values.

test_declarations_read_as_python_reads_them() {
    if ! "$PY" "$ROOT/tests/e2e/differential.py" "$STAU" "$TEST_TMP/p" 1 300 >"$TEST_TMP/log" 2>&1; then
        fail "stau and Python disagree:"
        cat "$TEST_TMP/log"
    fi
}
