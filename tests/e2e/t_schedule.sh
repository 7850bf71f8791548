# `stau schedule` (next ticks in the job's zone and UTC) and `stau status`.

schedule_project() {
    new_project
    write src/daily.py <<'PY'
STAU_CONFIG = {"schedule": "30 2 * * *", "timezone": "Europe/Copenhagen"}
PY
    write src/every.py <<'PY'
STAU_CONFIG = {"schedule": "@every 90m", "timezone": "UTC"}
PY
    write src/plain.py <<'PY'
STAU_CONFIG = {}
PY
}

test_schedule_across_a_dst_gap() {
    schedule_project
    # 2026-03-29: Copenhagen springs forward at 02:00; 02:30 falls in the gap and
    # fires when it ends (03:00 local, 01:00 UTC).
    run schedule --from 2026-03-27T12:00Z --limit 3
    expect_exit 0
    expect_stdout_eq <<'EOF2'
daily (Europe/Copenhagen):
  2026-03-28 02:30:00 +01:00  = 2026-03-28 01:30:00 +00:00 UTC  (30 2 * * *)
  2026-03-29 03:00:00 +02:00  = 2026-03-29 01:00:00 +00:00 UTC  (30 2 * * *)
  2026-03-30 02:30:00 +02:00  = 2026-03-30 00:30:00 +00:00 UTC  (30 2 * * *)
every (UTC):
  2026-03-27 13:30:00 +00:00  = 2026-03-27 13:30:00 +00:00 UTC  (@every 90m)
  2026-03-27 15:00:00 +00:00  = 2026-03-27 15:00:00 +00:00 UTC  (@every 90m)
  2026-03-27 16:30:00 +00:00  = 2026-03-27 16:30:00 +00:00 UTC  (@every 90m)
EOF2
}

test_schedule_json_and_errors() {
    schedule_project
    run schedule --from 2026-03-27T12:00+01:00 --limit 1 --json
    expect_exit 0
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [j["job"] for j in d] == ["daily","every"], d; assert d[0]["ticks"][0]["at"] == "2026-03-28T02:30:00+01:00" and d[0]["ticks"][0]["at_ms"] == 1774661400000, d' "$OUT" || fail "schedule --json is not as expected: $(cat "$OUT")"
    run schedule --from yesterday
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --from 'yesterday' is not a time
  hint: write it in ISO 8601, e.g. 2026-11-27T15:00 or 2026-11-27T15:00+01:00 (UTC unless an offset is given)
EOF2
    run schedule --limit 0
    expect_exit 2
    expect_stderr_eq <<'EOF2'
stau: error: --limit needs a number from 1 to 10000, not '0'
  hint: see 'stau schedule --help'
EOF2
}

test_status_before_and_after_a_run() {
    schedule_project
    run status
    expect_exit 0
    expect_stdout_contains "plain  due    -         derived    now (never-run)"
    run
    expect_exit 0
    run status --json
    expect_exit 0
    "$PY" -c 'import json,sys; d={j["job"]: j for j in json.load(open(sys.argv[1]))}; assert d["plain"]["state"] == "succeeded" and not d["plain"]["due"], d; assert d["plain"]["next"] == "on-change" and d["plain"]["last_run"]["status"] == "succeeded", d; assert d["daily"]["next"] == "tick" and d["daily"]["next_at"].endswith(("+01:00", "+02:00")), d' "$OUT" || fail "status --json is not as expected: $(cat "$OUT")"
}
