#!/usr/bin/env bash
# Make the fuzz harnesses' seed corpora (tests/fuzz/corpus/<harness>/) from the
# fixtures: their job files and timetable as they are, their schedules, and what
# stau writes when it runs them (graph caches, settled marks, run archives,
# decompressed so that mutations reach the tar headers and the manifests).
#
#   tests/fuzz/make_corpus.sh STAU_BIN [OUT]
#
# Writes them to OUT/<harness>/gen-* (default zig-out/fuzz-corpus), replacing the
# seeds generated before. They are not committed: tests/run.sh makes them each time
# and hands a harness both folders, tests/fuzz/corpus/<harness>/ (inputs that once
# crashed a harness, hand-made seeds) and OUT/<harness>/. Needs python3 and zstd.
set -euo pipefail

[ $# -eq 1 ] || [ $# -eq 2 ] || {
    echo "usage: tests/fuzz/make_corpus.sh STAU_BIN [OUT]" >&2
    exit 2
}
case $1 in /*) STAU=$1 ;; *) STAU=$PWD/$1 ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
CORPUS=${2:-$ROOT/zig-out/fuzz-corpus}
mkdir -p "$CORPUS"
CORPUS=$(cd "$CORPUS" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stau-corpus.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for h in eval cron cache settled manifest timetable; do
    mkdir -p "$CORPUS/$h"
    rm -f "$CORPUS/$h"/gen-*
done

# eval: every job file of the fixtures (timetable: the original Stau's one).
find "$ROOT/fixtures" -name '*.py' -size -8k | sort | while read -r f; do
    name=gen-$(printf '%s' "${f#"$ROOT"/fixtures/}" | tr '/' '-')
    if [ "$(basename "$f")" = stau_schedule.py ]; then
        cp "$f" "$CORPUS/timetable/$name"
    elif grep -q STAU_CONFIG "$f"; then
        cp "$f" "$CORPUS/eval/$name"
    fi
done
# The timetable's other trigger forms.
cat >"$CORPUS/timetable/gen-triggers.py" <<'EOF'
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

recurring_jobs = [
    {"id": "a", "trigger": CronTrigger(minute=0, hour="6-18/2", day_of_week="mon-fri", month="*", day="*"),
     "kwargs_stau_api": {"jobType": "job_a", "kwargs_func": {"n": 1, "xs": [1, 2.5, None]}}},
    {"trigger": IntervalTrigger(hours=1, minutes=30, seconds=0),
     "kwargs_stau_api": {"jobType": "job_b"}},
    {"id": "c", "trigger": CronTrigger(hour=3, jitter=None), "kwargs_stau_api": {"jobType": "c.d"}},
]
EOF

# cron: the fixtures' schedules and the forms the cron tests use, some in a zone.
i=0
{
    grep -rhoE '"(@[a-zA-Z]+( [0-9a-z]+)?|[0-9*/,A-Za-z-]+( [0-9*/,A-Za-z-]+){4})"' \
        "$ROOT/fixtures" --include='*.py' | tr -d '"'
    printf '%s\n' '10-30/10 */6 * * *' '0 0 * Jan-Mar,DEC *' '0 0 13 * FRI' '0 0 29 2 *' \
        '5/20 * * * *' '0 0 * * 5-7' '@every 1d1h1m1s' '  @midnight ' '* * * JNA *' \
        '0 0 30 2 MON' '5-2 * * * *'
} | sort -u | while IFS= read -r s; do
    i=$((i + 1))
    printf '%s' "$s" >"$CORPUS/cron/gen-$i"
done
printf '%s\n%s' 'CET-1CEST,M3.5.0,M10.5.0/3' '30 2 * * *' >"$CORPUS/cron/gen-zone-cet"
printf '%s\n%s' 'EST5EDT,M3.2.0/2:00:00,M11.1.0/2:00:00' '0 * * * *' >"$CORPUS/cron/gen-zone-est"
printf '%s\n%s' '<+1030>-10:30<+11>-11,M10.1.0,M4.1.0' '*/15 1-3 * * *' >"$CORPUS/cron/gen-zone-lhi"
printf '%s\n%s' 'UTC0' '@every 90m' >"$CORPUS/cron/gen-zone-utc"

# cache, settled, manifest: what stau writes for the fixtures it can run (their
# jobs are Python; a second call after the racy window writes the settled mark).
run_fixture() {
    local name=$1 dir=$WORK/$1
    cp -R "$ROOT/fixtures/$name" "$dir"
    rm -rf "$dir/.stau"
    (cd "$dir" && "$STAU" >/dev/null 2>&1 || true)
    sleep 2.2
    (cd "$dir" && "$STAU" >/dev/null 2>&1 || true)
    [ -f "$dir/.stau/graph.cache" ] && cp "$dir/.stau/graph.cache" "$CORPUS/cache/gen-$name"
    [ -f "$dir/.stau/settled" ] && cp "$dir/.stau/settled" "$CORPUS/settled/gen-$name"
    for a in "$dir"/.stau/archive/*.tar.zst; do
        [ -f "$a" ] || continue
        local base
        base=$(basename "$a" .tar.zst)
        zstd -q -dc "$a" >"$CORPUS/manifest/gen-$name-$base.tar"
    done
}
run_fixture example
run_fixture native
run_fixture original
# One archive as stau writes it (compressed), one manifest alone.
first=$(ls "$WORK"/example/.stau/archive/*.tar.zst | head -n 1)
cp "$first" "$CORPUS/manifest/gen-compressed.tar.zst"
"$STAU" -C "$WORK/example" show --json 1 >"$CORPUS/manifest/gen-manifest.json" 2>/dev/null || true
# Caches of declarations with errors (kept so every error is told at once).
for e in "$ROOT"/fixtures/errors/*/; do
    name=$(basename "$e")
    cp -R "$e" "$WORK/err-$name"
    (cd "$WORK/err-$name" && "$STAU" check >/dev/null 2>&1 || true)
    [ -f "$WORK/err-$name/.stau/graph.cache" ] &&
        cp "$WORK/err-$name/.stau/graph.cache" "$CORPUS/cache/gen-error-$name"
done
# A settled mark of globs, missing files and files (settled's own writer, through
# a project whose job reads a glob and a file that is not there).
mkdir -p "$WORK/globs/src" "$WORK/globs/in"
echo x >"$WORK/globs/in/a.csv"
cat >"$WORK/globs/src/g.py" <<'EOF'
STAU_CONFIG = {"inputs": ["in/*.csv", "missing.txt"], "outputs": ["out/g.txt"], "on": "change"}
import os
def main():
    os.makedirs("out", exist_ok=True)
    open("out/g.txt", "w").write("g")
EOF
touch -d '2001-02-03' "$WORK/globs/in/a.csv"
(cd "$WORK/globs" && "$STAU" >/dev/null 2>&1 || true)
sleep 2.2
(cd "$WORK/globs" && "$STAU" >/dev/null 2>&1 || true)
[ -f "$WORK/globs/.stau/settled" ] && cp "$WORK/globs/.stau/settled" "$CORPUS/settled/gen-globs"

for h in eval cron cache settled manifest timetable; do
    printf '%s: %s seeds, %s bytes\n' "$h" "$(ls "$CORPUS/$h" | wc -l)" \
        "$(cat "$CORPUS/$h"/* </dev/null | wc -c)"
done
