#!/usr/bin/env bash
# stau's test run: the unit tests, then every end-to-end test.
#
#   tests/run.sh STAU_BIN UNIT_BIN [FILTER]
#
# UNIT_BIN runs from the repository root; its last line `unit: N passed, M failed`
# is counted. Then every test function (test_*) of every tests/e2e/t_*.sh runs
# on its own, in a fresh temporary folder, with tests/e2e/lib.sh loaded (see
# there for the helpers). FILTER, an extended regex, runs only the tests whose
# `t_file.sh:test_name` it matches (and skips the unit tests). Pass "" as
# UNIT_BIN to skip the unit tests.
#
# Output: nothing for a passing test; for a failing one its name and what it
# printed (expected vs got as a diff). The last line is always
# `N passed, M failed`; the exit status is 1 when anything failed.
#
# Needs bash, coreutils, python3 and Graphviz's `dot`; no network; works as
# root. Temporary folders are removed at the end, also on Ctrl-C.
set -u

if [ $# -lt 2 ]; then
    echo "usage: tests/run.sh STAU_BIN UNIT_BIN [FILTER]" >&2
    exit 2
fi

abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$TESTS_DIR")
STAU=$(abs "$1")
UNIT=${2:+$(abs "$2")}
FILTER=${3:-}
if [ ! -x "$STAU" ]; then
    echo "tests/run.sh: '$1' is not an executable stau" >&2
    exit 2
fi
# python3 may be a slow shim (pyenv): ask it once for the real interpreter.
PY=$(python3 -c 'import sys; print(sys.executable)') || {
    echo "tests/run.sh: python3 does not start" >&2
    exit 2
}

TOP=$(mktemp -d "${TMPDIR:-/tmp}/stau-tests.XXXXXX")
cleanup() {
    chmod -R u+rwx "$TOP" 2>/dev/null
    rm -rf "$TOP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

passed=0
failed=0
started=$(date +%s)

# Indent a log under a failing test's name.
show() { sed 's/^/    /' "$1"; }

if [ -n "$UNIT" ] && [ -z "$FILTER" ]; then
    (cd "$ROOT" && timeout 300 "$UNIT") >"$TOP/unit.log" 2>&1
    rc=$?
    line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' "$TOP/unit.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL unit tests: no 'unit: N passed, M failed' line (exit status $rc)"
        show "$TOP/unit.log"
        failed=$((failed + 1))
    else
        read -r _ up _ uf _ <<<"$line"
        passed=$((passed + up))
        failed=$((failed + uf))
        if [ "$uf" -ne 0 ] || [ "$rc" -ne 0 ]; then
            echo "FAIL unit tests ($line, exit status $rc)"
            show "$TOP/unit.log"
            [ "$uf" -eq 0 ] && failed=$((failed + 1))
        fi
    fi
fi

export STAU ROOT PY
for file in "$TESTS_DIR"/e2e/t_*.sh; do
    base=$(basename "$file")
    for t in $(sed -nE 's/^(test_[A-Za-z0-9_]+)[[:space:]]*\(\).*/\1/p' "$file"); do
        [ -n "$FILTER" ] && ! [[ "$base:$t" =~ $FILTER ]] && continue
        dir=$TOP/${base%.sh}.$t
        mkdir -p "$dir/tmp"
        # A test gets 120 s; timeout kills its whole process group.
        TEST_TMP=$dir/tmp TEST_NAME="$base:$t" timeout -k 5 120 \
            bash -c 'set -u -o pipefail
                     source "$1/e2e/lib.sh"; source "$2"
                     cd "$TEST_TMP" || exit 99
                     "$3"
                     test_finish' _ "$TESTS_DIR" "$file" "$t" </dev/null >"$dir/log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            case $rc in
            124 | 137) echo "FAIL $base:$t (timed out after 120 s)" ;;
            *) echo "FAIL $base:$t" ;;
            esac
            show "$dir/log"
        fi
        chmod -R u+rwx "$dir" 2>/dev/null
        rm -rf "$dir"
    done
done

elapsed=$(($(date +%s) - started))
[ "$failed" -ne 0 ] && echo "(${elapsed}s; rerun one test with: tests/run.sh STAU '' 'NAME')"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
