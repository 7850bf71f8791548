#!/usr/bin/env bash
# stau's one set-up script.
#
#   ./setup.sh          install what is missing, build stau, run it on fixtures/example
#   ./setup.sh test     the same set-up, then the whole test suite
#
# Idempotent: every step checks before it acts, so a second call only builds.
set -euo pipefail

ZIG_VERSION=0.15.2
# postgresql: the server tests/run.sh starts for the suite; libpq-dev: stau's client;
# zsh: the test of the generated zsh completion.
APT_PACKAGES="gcc make pkg-config python3 python3-pip graphviz libtree-sitter-dev
  libgraphviz-dev libarchive-dev libsqlite3-dev libxxhash-dev postgresql libpq-dev zsh zstd"

cd "$(dirname "$0")"
ROOT=$PWD
mode=${1:-example}
case $mode in example | test) ;; *)
    echo "usage: ./setup.sh [test]" >&2
    exit 2
    ;;
esac

say() { printf 'setup: %s\n' "$*" >&2; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

install_debian_packages() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}); run as root or install them"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

# python3 may be a slow shim (pyenv); ask it once for the real interpreter.
resolve_python() {
    PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not start"
}

install_zig() {
    if [ "$("$PY" -m ziglang version 2>/dev/null || true)" = "$ZIG_VERSION" ]; then return; fi
    say "installing Zig $ZIG_VERSION from PyPI"
    # Debian's own python3 refuses pip installs unless told (PEP 668).
    "$PY" -m pip install -q "ziglang==$ZIG_VERSION" 2>/dev/null ||
        "$PY" -m pip install -q --break-system-packages "ziglang==$ZIG_VERSION" ||
        die "could not install ziglang==$ZIG_VERSION with pip"
    [ "$("$PY" -m ziglang version)" = "$ZIG_VERSION" ] || die "ziglang installed but not version $ZIG_VERSION"
}

# Each pin line: name version sha256 member=dest... (see grammars/python.pin).
fetch_grammar() {
    local vendor=$ROOT/grammars/vendor
    mkdir -p "$vendor"
    grep -v '^#' grammars/python.pin | while read -r name version sha members; do
        [ -n "$name" ] || continue
        local stamp="$vendor/.$name-$version.sha256"
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ]; then continue; fi
        say "fetching $name $version from PyPI"
        local tmp
        tmp=$(mktemp -d)
        "$PY" -m pip download -q --no-deps --no-binary :all: -d "$tmp" "$name==$version" ||
            die "could not download $name==$version"
        local sdist
        sdist=$(ls "$tmp"/*.tar.gz)
        local got
        got=$(sha256sum "$sdist" | cut -d' ' -f1)
        [ "$got" = "$sha" ] || die "$name $version: sha256 is $got, pinned $sha; refusing to use it"
        tar -xzf "$sdist" -C "$tmp"
        local top
        top=$(tar -tzf "$sdist" | awk -F/ 'NR == 1 { print $1 }') # (head would SIGPIPE tar)
        for m in $members; do
            mkdir -p "$(dirname "$vendor/${m#*=}")"
            cp "$tmp/$top/${m%%=*}" "$vendor/${m#*=}" || die "$name $version has no ${m%%=*}"
        done
        rm -rf "$tmp"
        echo "$sha" >"$stamp"
    done
}

install_debian_packages
resolve_python
install_zig
fetch_grammar

if [ "$mode" = test ]; then
    # The suite runs on a debug build with AddressSanitizer and full UBSan reports.
    say "building stau with sanitizers and running every test"
    "$PY" -m ziglang build -Dsanitize=true --prefix zig-out/sanitize
    exec bash tests/run.sh zig-out/sanitize/bin/stau zig-out/sanitize/bin/stau-unit
fi

say "building stau"
"$PY" -m ziglang build -Doptimize=ReleaseFast
# A fresh copy each time (the fixture stays as committed): its jobs run, then stau
# says why one of them is not due any more and what state each job is in.
say "running stau on a copy of fixtures/example in zig-out/example"
rm -rf zig-out/example
cp -r fixtures/example zig-out/example
cd zig-out/example
../bin/stau
../bin/stau why sales.daily
../bin/stau status
