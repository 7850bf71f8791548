# lib.sh: helpers of the end-to-end tests; tests/run.sh loads it before each test.
#
# Each test is a function test_NAME in a tests/e2e/t_*.sh file. It starts in its own
# empty folder $TEST_TMP (removed afterwards) and fails when any expect_* failed
# (the others still run, to show everything at once) or when bash itself fails.
#
# A test of behaviour stau gets wrong today is written for the right behaviour,
# under a `# BUG:` comment saying what is wrong and where; it fails until fixed.
#
# From run.sh:   STAU (the binary), ROOT (the repository), PY (the real python3),
#                TEST_TMP, TEST_NAME
# Here:          FIXTURES, and after `run` OUT, ERR (files) and RC
#
#   use_fixture NAME [DIR]   copy fixtures/NAME to $TEST_TMP/DIR (default p) and cd there
#   new_project [DIR]        make an empty project folder $TEST_TMP/DIR (default p), cd there
#   write FILE <<'EOF'       write a file (folders made as needed)
#   age_files [DIR]          give every file an old mtime, so the graph cache
#                            never sees one as racily new
#   run ARGS...              run stau (60 s limit) capturing stdout, stderr, exit code;
#                            a crash or hang ends the test
#   expect_exit N
#   expect_stdout_eq <<'EOF' / expect_stderr_eq <<'EOF'   the whole output, exactly
#   expect_stdout_empty / expect_stderr_empty
#   expect_stdout_contains TEXT / expect_stderr_contains TEXT   (a fixed string)
#   expect_stderr_not_contains TEXT / expect_stdout_not_contains TEXT
#   expect_stderr_last_line TEXT
#   expect_eq WHAT EXPECTED GOT
#   expect_file FILE / expect_no_file FILE
#   fail MESSAGE

FIXTURES=$ROOT/fixtures
OUT=$TEST_TMP/.run/stdout
ERR=$TEST_TMP/.run/stderr
RC=
TEST_FAILED=0
mkdir -p "$TEST_TMP/.run"

fail() {
    TEST_FAILED=1
    printf '%s\n' "$*"
}

# Say where in the test file an expectation failed: the caller of the expect_*.
_where() {
    printf '%s:%s' "$(basename "${BASH_SOURCE[2]}")" "${BASH_LINENO[1]}"
}

test_finish() {
    exit "$TEST_FAILED"
}

use_fixture() {
    local name=$1 dir=$TEST_TMP/${2:-p}
    if [ ! -d "$FIXTURES/$name" ]; then
        fail "no fixture '$name'"
        exit 1
    fi
    mkdir -p "$dir"
    cp -R "$FIXTURES/$name/." "$dir/"
    # What a run of the real fixture may have left: never part of the test.
    rm -rf "$dir/.stau" "$dir/data/clean" "$dir/data/out"
    find "$dir" -name __pycache__ -prune -exec rm -rf {} +
    age_files "$dir"
    cd "$dir" || exit 1
}

new_project() {
    local dir=$TEST_TMP/${1:-p}
    mkdir -p "$dir"
    cd "$dir" || exit 1
}

write() {
    mkdir -p "$(dirname "$1")"
    cat >"$1"
}

age_files() {
    find "${1:-.}" -exec touch -h -d '2001-02-03 04:05:06' {} + 2>/dev/null
    return 0
}

run() {
    timeout -k 5 60 "$STAU" "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
    # A hang or a crash ends the test: what it would check next means nothing.
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        fail "$(_where): 'stau $*' did not finish within 60 s"
        exit 1
    elif [ "$RC" -gt 128 ]; then
        fail "$(_where): 'stau $*' died of signal $((RC - 128)); stderr:"
        head -n 12 "$ERR"
        exit 1
    fi
    return 0
}

expect_exit() {
    if [ "$RC" != "$1" ]; then
        fail "$(_where): expected exit status $1, got $RC"
        echo "--- stdout (at most 20 lines):"
        head -n 20 "$OUT"
        echo "--- stderr (at most 20 lines):"
        head -n 20 "$ERR"
    fi
}

_expect_eq_file() {
    local what=$1 got=$2 where=$3
    local want=$TEST_TMP/.run/expected
    cat >"$want"
    if ! cmp -s "$want" "$got"; then
        fail "$where: $what differs (- expected, + got):"
        diff -u --label expected --label got "$want" "$got" | head -n 200
    fi
}

expect_stdout_eq() { _expect_eq_file stdout "$OUT" "$(_where)"; }
expect_stderr_eq() { _expect_eq_file stderr "$ERR" "$(_where)"; }

expect_stdout_empty() {
    if [ -s "$OUT" ]; then
        fail "$(_where): expected no stdout, got:"
        head -c 4000 "$OUT"
    fi
}

expect_stderr_empty() {
    if [ -s "$ERR" ]; then
        fail "$(_where): expected no stderr, got:"
        head -c 4000 "$ERR"
    fi
}

_expect_contains() {
    local what=$1 file=$2 text=$3 where=$4
    if ! grep -qF -- "$text" "$file"; then
        fail "$where: $what does not contain: $text"
        echo "--- $what:"
        head -c 4000 "$file"
    fi
}

_expect_not_contains() {
    local what=$1 file=$2 text=$3 where=$4
    if grep -qF -- "$text" "$file"; then
        fail "$where: $what should not contain: $text"
        echo "--- $what:"
        head -c 4000 "$file"
    fi
}

expect_stdout_contains() { _expect_contains stdout "$OUT" "$1" "$(_where)"; }
expect_stderr_contains() { _expect_contains stderr "$ERR" "$1" "$(_where)"; }
expect_stdout_not_contains() { _expect_not_contains stdout "$OUT" "$1" "$(_where)"; }
expect_stderr_not_contains() { _expect_not_contains stderr "$ERR" "$1" "$(_where)"; }

expect_stderr_last_line() {
    local got
    got=$(tail -n 1 "$ERR")
    if [ "$got" != "$1" ]; then
        fail "$(_where): last line of stderr:"
        echo "  expected: $1"
        echo "  got:      $got"
    fi
}

expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$(_where): $1:"
        echo "  expected: $2"
        echo "  got:      $3"
    fi
}

expect_file() {
    [ -e "$1" ] || fail "$(_where): expected the file $1"
}

expect_no_file() {
    [ -e "$1" ] && fail "$(_where): expected no file $1"
    return 0
}
