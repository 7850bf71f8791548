/* test_stale.c: the reasons a job is due (stale.c), with a fake clock and
 * hand-built present, past and upstream: no disk, no database.
 *
 * Instants: T = 2026-03-28 12:00:00 UTC = 1774699200 s. Times in evidence are
 * printed by stale_format_time: "YYYY-MM-DD HH:MM:SS +00:00" without a zone, and
 * "... +02:00 Europe/Copenhagen" in one. */
#include "cron.h"
#include "stale.h"
#include "tz.h"
#include "unit.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000LL             /* one second in ms */
#define T (1774699200LL * S) /* 2026-03-28 12:00:00 UTC */
#define MIN (60 * S)
#define HOUR (60 * MIN)

static const char FP_CODE[] = "c0de0000000000000000000000000000";
static const char FP_CONF[] = "c0f00000000000000000000000000000";
static const char FP_IN[] = "1b000000000000000000000000000000";
static const char FP_OUT[] = "0u700000000000000000000000000000";

/* A run record that left exactly the present fingerprints. */
static struct run_record record(int64_t id, enum run_status status, int64_t started,
                                int64_t finished)
{
    struct run_record r = {0};
    r.id = id;
    r.job = (char *)"j";
    r.attempt = 1;
    r.status = status;
    r.queued_at = started;
    r.started_at = started;
    r.finished_at = finished;
    r.code_fingerprint = (char *)FP_CODE;
    r.config_fingerprint = (char *)FP_CONF;
    r.inputs_fingerprint = (char *)FP_IN;
    r.outputs_fingerprint = (char *)FP_OUT;
    return r;
}

static struct job_now present(void)
{
    struct job_now n = {0};
    n.code_fp = FP_CODE;
    n.config_fp = FP_CONF;
    n.inputs_fp = FP_IN;
    n.outputs_fp = FP_OUT;
    return n;
}

/* The reasons as "kind: evidence" lines, joined by '\n' (static buffer). */
static const char *show(const struct reasons *r)
{
    static char buf[4096];
    buf[0] = '\0';
    for (size_t i = 0; i < r->len; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof(buf) - used, "%s%s: %s", i ? "\n" : "",
                 reason_name(r->items[i].kind), r->items[i].evidence);
    }
    return buf;
}

/* Reasons of job with that past and upstream at now, shown. */
static const char *why(const struct job_now *job, const struct run_record *last,
                       const struct run_record *success, const struct upstream *deps,
                       size_t dep_count, int64_t now)
{
    /* As the planner counts: from the last run's start, or its queueing. */
    int64_t from = !last ? 0 : last->started_at ? last->started_at : last->queued_at;
    struct job_past past = {last, success, 0, from, 0, 0};
    struct reasons r = {0};
    stale_reasons(job, &past, deps, dep_count, now, &r);
    const char *text = show(&r);
    reasons_release(&r);
    return text;
}

UNIT_TEST(stale_reason_names)
{
    CHECK_STR(reason_name(REASON_NEVER_RUN), "never-run");
    CHECK_STR(reason_name(REASON_FAILED), "failed");
    CHECK_STR(reason_name(REASON_CODE_CHANGED), "code-changed");
    CHECK_STR(reason_name(REASON_CONFIG_CHANGED), "config-changed");
    CHECK_STR(reason_name(REASON_INPUT_CHANGED), "input-changed");
    CHECK_STR(reason_name(REASON_OUTPUT_MISSING), "output-missing");
    CHECK_STR(reason_name(REASON_OUTPUT_CHANGED), "output-changed");
    CHECK_STR(reason_name(REASON_UPSTREAM_CHANGED), "upstream-changed");
    CHECK_STR(reason_name(REASON_UPSTREAM_DUE), "upstream-due");
    CHECK_STR(reason_name(REASON_MAX_LAG), "max-lag");
    CHECK_STR(reason_name(REASON_SCHEDULE), "schedule");
    CHECK_STR(reason_name(REASON_FORCED), "forced");
    CHECK_STR(reason_name((enum reason_kind)99), "unknown");
    CHECK_STR(reason_name((enum reason_kind) - 1), "unknown");
}

UNIT_TEST(stale_never_run)
{
    struct job_now n = present();
    CHECK_STR(why(&n, NULL, NULL, NULL, 0, T), "never-run: no successful run is recorded");
    /* Without a success nothing is compared: fingerprints are not judged. */
    n.code_fp = "ffff0000000000000000000000000000";
    n.missing_output = "out.csv";
    struct upstream up = {"up", false, T - HOUR, T - HOUR + S, NULL, 0};
    CHECK_STR(why(&n, NULL, NULL, &up, 1, T), "never-run: no successful run is recorded");
}

UNIT_TEST(stale_up_to_date)
{
    struct job_now n = present();
    struct run_record ok = record(5, RUN_SUCCEEDED, T - HOUR, T - HOUR + 10 * S);
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T), "");
    /* A run in progress (another stau) is no reason either. */
    struct run_record running = record(6, RUN_RUNNING, T - MIN, 0);
    CHECK_STR(why(&n, &running, &ok, NULL, 0, T), "");
    struct run_record queued = record(6, RUN_QUEUED, 0, 0);
    queued.queued_at = T - MIN;
    CHECK_STR(why(&n, &queued, &ok, NULL, 0, T), "");
}

UNIT_TEST(stale_failed_kinds)
{
    struct job_now n = present();
    struct run_record ok = record(5, RUN_SUCCEEDED, T - HOUR, T - HOUR + 10 * S);
    struct run_record bad = record(7, RUN_FAILED, T - MIN, T - MIN + 2500);
    CHECK_STR(why(&n, &bad, &ok, NULL, 0, T),
              "failed: the last run (7) failed at 2026-03-28 11:59:02 +00:00");
    bad.status = RUN_TIMED_OUT;
    CHECK_STR(why(&n, &bad, &ok, NULL, 0, T),
              "failed: the last run (7) timed out at 2026-03-28 11:59:02 +00:00");
    bad.status = RUN_INTERRUPTED;
    CHECK_STR(why(&n, &bad, &ok, NULL, 0, T),
              "failed: the last run (7) was interrupted at 2026-03-28 11:59:02 +00:00");
    /* A lost run never finished: its start is shown. */
    bad.status = RUN_LOST;
    bad.finished_at = 0;
    CHECK_STR(why(&n, &bad, &ok, NULL, 0, T),
              "failed: the last run (7) was lost (its stau died) at 2026-03-28 11:59:00 +00:00");
    /* Failed and never succeeded: both. */
    bad.status = RUN_FAILED;
    bad.finished_at = T - MIN + S;
    CHECK_STR(why(&n, &bad, NULL, NULL, 0, T),
              "failed: the last run (7) failed at 2026-03-28 11:59:01 +00:00\n"
              "never-run: no successful run is recorded");
    /* A success after the failure: not failed. */
    struct run_record later = record(8, RUN_SUCCEEDED, T - 30 * S, T - 20 * S);
    CHECK_STR(why(&n, &later, &later, NULL, 0, T), "");
}

UNIT_TEST(stale_fingerprints_changed)
{
    struct run_record ok = record(12, RUN_SUCCEEDED, T - HOUR, T - HOUR + 10 * S);
    struct job_now n = present();
    n.code_fp = "c0de0000000000000000000000000001";
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "code-changed: its code or a local module it imports changed since run 12");
    n = present();
    n.config_fp = "c0f00000000000000000000000000001";
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "config-changed: its declaration changed since run 12");
    n = present();
    n.inputs_fp = "1b000000000000000000000000000001";
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "input-changed: an input's content, or the files its globs match, changed since "
              "run 12");
    n = present();
    n.outputs_fp = "0u700000000000000000000000000001";
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "output-changed: its outputs are not what run 12 left");
    /* Missing wins over changed: one reason, naming the output. */
    n.missing_output = "data/out/report.parquet";
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "output-missing: output 'data/out/report.parquet' is gone");
    /* All at once, in the documented order. */
    n = present();
    n.code_fp = n.config_fp = n.inputs_fp = "ffffffffffffffffffffffffffffffff";
    n.missing_output = "x";
    n.forced = true;
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "forced: asked for with --force\n"
              "code-changed: its code or a local module it imports changed since run 12\n"
              "config-changed: its declaration changed since run 12\n"
              "input-changed: an input's content, or the files its globs match, changed since "
              "run 12\n"
              "output-missing: output 'x' is gone");
    /* A record without fingerprints (an older stau) counts as changed. */
    n = present();
    ok.code_fingerprint = NULL;
    ok.outputs_fingerprint = NULL;
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "code-changed: its code or a local module it imports changed since run 12\n"
              "output-changed: its outputs are not what run 12 left");
}

UNIT_TEST(stale_upstream_changed_by_time)
{
    struct job_now n = present();
    struct run_record ok = record(5, RUN_SUCCEEDED, T - HOUR, T - HOUR + 10 * S);
    struct upstream deps[3] = {
        {"before", false, T - 2 * HOUR, T - HOUR - S, NULL, 0}, /* finished before ok started */
        {"after", false, T - 30 * MIN, T - 30 * MIN + 5 * S, NULL, 0}, /* finished after */
        {"never", false, 0, 0, NULL, 0},                               /* no success */
    };
    CHECK_STR(why(&n, &ok, &ok, deps, 3, T),
              "upstream-changed: 'after' succeeded at 2026-03-28 11:30:05 +00:00, after run 5 "
              "started");
    CHECK_STR(why(&n, &ok, &ok, deps, 1, T), "");
    CHECK_STR(why(&n, &ok, &ok, deps + 2, 1, T), "");
    /* Finished exactly as this job's success started: not newer. */
    struct upstream same = {"same", false, T - 2 * HOUR, T - HOUR, NULL, 0};
    CHECK_STR(why(&n, &ok, &ok, &same, 1, T), "");
    same.success_finished_at = T - HOUR + 1;
    CHECK_STR(why(&n, &ok, &ok, &same, 1, T),
              "upstream-changed: 'same' succeeded at 2026-03-28 11:00:00 +00:00, after run 5 "
              "started");
    /* Finished while this job's success was running (started before it ended): newer. */
    struct upstream during = {"during", false, T - 2 * HOUR, T - HOUR + 5 * S, NULL, 0};
    CHECK_STR(why(&n, &ok, &ok, &during, 1, T),
              "upstream-changed: 'during' succeeded at 2026-03-28 11:00:05 +00:00, after run 5 "
              "started");
    /* Two newer dependencies: one reason each. */
    struct upstream two[2] = {{"x", false, T - MIN, T - MIN, NULL, 0},
                              {"y", true, T - MIN, T - MIN, NULL, 0}};
    struct job_past past = {&ok, &ok, 0, ok.started_at, 0, 0};
    struct reasons r = {0};
    stale_reasons(&n, &past, two, 2, T, &r);
    CHECK_INT(r.len, 2);
    CHECK(reasons_have(&r, REASON_UPSTREAM_CHANGED));
    CHECK(!reasons_have(&r, REASON_UPSTREAM_DUE)); /* the planner's, not stale.c's */
    CHECK(!reasons_have(&r, REASON_MAX_LAG));
    reasons_release(&r);
}

/* Early cutoff: a dependency is judged by what it left against what this job's last
 * success started from, not by when it ran. */
UNIT_TEST(stale_upstream_changed_by_outputs)
{
    struct job_now n = present();
    struct run_record ok = record(5, RUN_SUCCEEDED, T - HOUR, T - HOUR + 10 * S);
    ok.files = "c\tsrc/a.py\t00\nu\tingest\to:aaaa0000000000000000000000000000\n"
               "u\tlog\tr:4\n";
    /* It reran after this job's success, leaving the same outputs: nothing to do. */
    struct upstream same = {
        "ingest", false, T - 30 * MIN, T - 29 * MIN, "o:aaaa0000000000000000000000000000", 9};
    CHECK_STR(why(&n, &ok, &ok, &same, 1, T), "");
    struct upstream other = same;
    other.fp = "o:bbbb0000000000000000000000000000";
    CHECK_STR(why(&n, &ok, &ok, &other, 1, T),
              "upstream-changed: 'ingest' left different outputs (run 9) since run 5");
    /* A dependency without outputs changes with every success. */
    struct upstream log = {"log", false, T - 30 * MIN, T - 29 * MIN, "r:4", 4};
    CHECK_STR(why(&n, &ok, &ok, &log, 1, T), "");
    log.fp = "r:11";
    log.success_id = 11;
    CHECK_STR(why(&n, &ok, &ok, &log, 1, T),
              "upstream-changed: 'log' succeeded again (run 11) since run 5; it declares no "
              "outputs, so each success counts as a change");
    /* A dependency the run did not record (added since, or an older stau): by time. */
    struct upstream added = {"fx", false, T - 30 * MIN, T - 29 * MIN, "r:12", 12};
    CHECK_STR(why(&n, &ok, &ok, &added, 1, T),
              "upstream-changed: 'fx' succeeded at 2026-03-28 11:31:00 +00:00, after run 5 "
              "started");
    /* A name that is a prefix of a recorded one is not it. */
    struct upstream prefix = {"inges", false, T - 2 * HOUR, T - 2 * HOUR, "o:cc", 3};
    CHECK_STR(why(&n, &ok, &ok, &prefix, 1, T), "");
    char fp[UPSTREAM_FP_SIZE];
    CHECK(stale_recorded_upstream(ok.files, "log", fp));
    CHECK_STR(fp, "r:4");
    CHECK(!stale_recorded_upstream(ok.files, "src/a.py", fp));
    CHECK(!stale_recorded_upstream(NULL, "log", fp));
    stale_upstream_fp(true, "abcd0000000000000000000000000000", 7, fp);
    CHECK_STR(fp, "o:abcd0000000000000000000000000000");
    stale_upstream_fp(false, "abcd0000000000000000000000000000", 7, fp);
    CHECK_STR(fp, "r:7");
    stale_upstream_fp(true, NULL, 7, fp);
    CHECK_STR(fp, "r:7");
    stale_upstream_fp(true, "abcd", 0, fp);
    CHECK_STR(fp, "");
}

UNIT_TEST(stale_forced)
{
    struct job_now n = present();
    n.forced = true;
    struct run_record ok = record(5, RUN_SUCCEEDED, T - HOUR, T - HOUR + 10 * S);
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T), "forced: asked for with --force");
    CHECK_STR(why(&n, NULL, NULL, NULL, 0, T),
              "forced: asked for with --force\nnever-run: no successful run is recorded");
}

/* A job_now with these schedules (parsed) in zone. */
struct sched {
    struct cron crons[4];
    const char *texts[4];
    struct job_now now;
};

static void schedule(struct sched *s, const struct tz *zone, size_t count, const char *const *texts)
{
    memset(s, 0, sizeof(*s));
    s->now = present();
    for (size_t i = 0; i < count; i++) {
        struct strbuf err = STRBUF_INIT;
        size_t off = 0;
        if (!CHECK(cron_parse(texts[i], &s->crons[i], &err, &off) == 0))
            fprintf(stderr, "  cron_parse('%s'): %s\n", texts[i], strbuf_str(&err));
        strbuf_release(&err);
        s->texts[i] = texts[i];
    }
    s->now.schedules = s->crons;
    s->now.schedule_texts = s->texts;
    s->now.schedule_count = count;
    s->now.zone = zone;
}

UNIT_TEST(stale_schedule_utc)
{
    struct strbuf err = STRBUF_INIT;
    struct tz *utc = tz_load("UTC", &err);
    if (!CHECK(utc != NULL)) {
        fprintf(stderr, "  tz_load(UTC): %s\n", strbuf_str(&err));
        utc = tz_utc();
    }
    strbuf_release(&err);
    const char *hourly[] = {"0 * * * *"};
    struct sched s;
    schedule(&s, utc, 1, hourly);
    /* Last run started 12:10; the next tick is 13:00. */
    struct run_record ok = record(5, RUN_SUCCEEDED, T + 10 * MIN, T + 11 * MIN);
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, T + 59 * MIN + 59 * S), "");
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, T + HOUR),
              "schedule: '0 * * * *' ticked at 2026-03-28 13:00:00 +00:00 UTC, after the last "
              "run started");
    /* Stopped for days: many missed ticks make one reason, naming the first missed. */
    struct job_past past = {&ok, &ok, 0, ok.started_at, 0, 0};
    struct reasons r = {0};
    stale_reasons(&s.now, &past, NULL, 0, T + 3 * 24 * HOUR, &r);
    CHECK_INT(r.len, 1);
    CHECK_STR(show(&r), "schedule: '0 * * * *' ticked at 2026-03-28 13:00:00 +00:00 UTC, after "
                        "the last run started");
    reasons_release(&r);
    /* A tick exactly at the last start does not count (strictly after). */
    struct run_record on_tick = record(6, RUN_SUCCEEDED, T, T + S);
    CHECK_STR(why(&s.now, &on_tick, &on_tick, NULL, 0, T + 30 * MIN), "");
    /* The last run of any kind counts: a failed one started after the tick... */
    struct run_record failed = record(7, RUN_FAILED, T + HOUR + MIN, T + HOUR + 2 * MIN);
    CHECK_STR(why(&s.now, &failed, &ok, NULL, 0, T + HOUR + 3 * MIN),
              "failed: the last run (7) failed at 2026-03-28 13:02:00 +00:00");
    /* ...and a queued one without a start counts from its queueing. */
    struct run_record queued = record(8, RUN_QUEUED, 0, 0);
    queued.queued_at = T + HOUR + MIN;
    CHECK_STR(why(&s.now, &queued, &ok, NULL, 0, T + HOUR + 3 * MIN), "");
    /* Never run: never-run alone, no schedule reason. */
    CHECK_STR(why(&s.now, NULL, NULL, NULL, 0, T + 5 * HOUR),
              "never-run: no successful run is recorded");
    /* Several schedules: the first to tick is named. */
    const char *two[] = {"0 18 * * *", "45 12 * * *"};
    schedule(&s, utc, 2, two);
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, T + 44 * MIN), "");
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, T + 20 * HOUR),
              "schedule: '45 12 * * *' ticked at 2026-03-28 12:45:00 +00:00 UTC, after the last "
              "run started");
    size_t which = 99;
    CHECK_INT(stale_next_tick(&s.now, T + 10 * MIN, &which), T + 45 * MIN);
    CHECK_INT(which, 1);
    CHECK_INT(stale_next_tick(&s.now, T + 45 * MIN, &which), T + 6 * HOUR);
    CHECK_INT(which, 0);
    CHECK_INT(stale_next_tick(&s.now, T + 45 * MIN, NULL), T + 6 * HOUR);
    /* No schedule: never a tick, never a schedule reason. */
    struct job_now plain = present();
    CHECK_INT(stale_next_tick(&plain, T, &which), CRON_NEVER);
    CHECK_STR(why(&plain, &ok, &ok, NULL, 0, T + 365 * 24 * HOUR), "");
    tz_free(utc);
}

/* Timetable entries are schedules of their own (SPEC §7): one ticking at the tick the
 * last run was for, with other kwargs, is left; so is one that never ran. */
UNIT_TEST(stale_timetable_entries_each_get_their_run)
{
    struct strbuf err = STRBUF_INIT;
    struct tz *utc = tz_load("UTC", &err);
    if (!CHECK(utc != NULL)) {
        strbuf_release(&err);
        return;
    }
    strbuf_release(&err);
    /* eu and us at noon, eu2 (eu's kwargs) at noon too, late (us's kwargs) at 13:00. */
    const char *texts[] = {"0 12 * * *", "0 12 * * *", "0 12 * * *", "0 13 * * *"};
    const size_t groups[] = {0, 1, 0, 1};
    const char *ids[] = {"eu", "us", "eu2", "late"};
    struct sched s;
    schedule(&s, utc, 4, texts);
    s.now.schedule_groups = groups;
    s.now.schedule_entries = ids;
    size_t which = 99;
    CHECK(stale_tick_left(&s.now, T, 0, &which));
    CHECK_INT(which, 1);
    CHECK(!stale_tick_left(&s.now, T, 1, &which)); /* eu2 is alike eu, late does not tick */
    CHECK(!stale_tick_left(&s.now, T + S, 0, &which)); /* not a tick of theirs */
    CHECK(!stale_tick_left(&s.now, 0, 0, &which));
    CHECK(stale_entry_left(&s.now, 0, &which));
    CHECK_INT(which, 1);
    CHECK(!stale_entry_left(&s.now, 1, &which)); /* eu2 like eu, late like us */
    /* The last run was eu's, for the noon tick: us's run for it is left. */
    struct run_record ok = record(5, RUN_SUCCEEDED, T + MIN, T + 2 * MIN);
    struct job_past past = {&ok, &ok, 0, ok.started_at, T, 1};
    struct reasons r = {0};
    stale_reasons(&s.now, &past, NULL, 0, T + 3 * MIN, &r);
    CHECK_STR(show(&r), "schedule: '0 12 * * *' of timetable entry 'us' ticked at 2026-03-28 "
                        "12:00:00 +00:00 UTC, the tick the last run (entry 'eu') was for: it "
                        "runs for it with its own kwargs");
    if (CHECK_INT(r.len, 1)) {
        CHECK_INT(r.items[0].tick, T);
        CHECK_INT(r.items[0].schedule, 2);
    }
    reasons_release(&r);
    /* ...and once us ran for it, nothing is left until 13:00. */
    past.last_schedule = 2;
    stale_reasons(&s.now, &past, NULL, 0, T + 3 * MIN, &r);
    CHECK_INT(r.len, 0);
    reasons_release(&r);
    /* A first run of eu (no tick): us has never run with its kwargs. */
    past.last_tick = 0;
    past.last_schedule = 1;
    stale_reasons(&s.now, &past, NULL, 0, T + 3 * MIN, &r);
    CHECK_STR(show(&r), "never-run: timetable entry 'us' never ran with its kwargs: the last "
                        "run was entry 'eu''s first");
    reasons_release(&r);
    /* A new tick counts first: a run for the 13:00 tick, whatever was left. */
    past.last_tick = T;
    stale_reasons(&s.now, &past, NULL, 0, T + HOUR + MIN, &r);
    CHECK_STR(show(&r), "schedule: '0 13 * * *' ticked at 2026-03-28 13:00:00 +00:00 UTC, after "
                        "the last run started");
    reasons_release(&r);
    tz_free(utc);
}

UNIT_TEST(stale_schedule_every)
{
    struct strbuf err = STRBUF_INIT;
    struct tz *cph = tz_load("Europe/Copenhagen", &err);
    strbuf_release(&err);
    if (!CHECK(cph != NULL))
        return;
    /* @every 15m: multiples of 900 s since the epoch, whatever the zone. T is one. */
    const char *every[] = {"@every 15m"};
    struct sched s;
    schedule(&s, cph, 1, every);
    struct run_record ok = record(3, RUN_SUCCEEDED, T + 100 * S, T + 160 * S);
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, T + 899 * S), "");
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, T + 900 * S),
              "schedule: '@every 15m' ticked at 2026-03-28 13:15:00 +01:00 Europe/Copenhagen, "
              "after the last run started");
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, T + 10 * 900 * S),
              "schedule: '@every 15m' ticked at 2026-03-28 13:15:00 +01:00 Europe/Copenhagen, "
              "after the last run started");
    CHECK_INT(stale_next_tick(&s.now, T, NULL), T + 900 * S);
    /* Sub-second starts: a run started 0.5 s after a tick is not due at the next ms. */
    struct run_record half = record(4, RUN_SUCCEEDED, T + 900 * S + 500, T + 901 * S);
    CHECK_STR(why(&s.now, &half, &half, NULL, 0, T + 901 * S), "");
    tz_free(cph);
}

UNIT_TEST(stale_schedule_dst)
{
    struct strbuf err = STRBUF_INIT;
    struct tz *cph = tz_load("Europe/Copenhagen", &err);
    if (!CHECK(cph != NULL)) {
        fprintf(stderr, "  tz_load: %s\n", strbuf_str(&err));
        strbuf_release(&err);
        return;
    }
    strbuf_release(&err);
    /* 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC). A daily
     * 02:30 falls in the gap and fires as the gap ends, 03:00 CEST. */
    const char *daily[] = {"30 2 * * *"};
    struct sched s;
    schedule(&s, cph, 1, daily);
    /* Last run started at Saturday's tick, 02:30 CET = 01:30 UTC. */
    struct run_record ok = record(9, RUN_SUCCEEDED, 1774661400LL * S, 1774661460LL * S);
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, 1774746000LL * S - 1), "");
    CHECK_STR(why(&s.now, &ok, &ok, NULL, 0, 1774746000LL * S),
              "schedule: '30 2 * * *' ticked at 2026-03-29 03:00:00 +02:00 Europe/Copenhagen, "
              "after the last run started");
    CHECK_INT(stale_next_tick(&s.now, 1774661400LL * S, NULL), 1774746000LL * S);
    /* Hourly keeps its rhythm in real time: 01:30 CET (00:30 UTC) -> 03:00 CEST (01:00 UTC). */
    const char *hourly[] = {"0 * * * *"};
    schedule(&s, cph, 1, hourly);
    struct run_record night = record(10, RUN_SUCCEEDED, 1774744200LL * S, 1774744260LL * S);
    CHECK_STR(why(&s.now, &night, &night, NULL, 0, 1774746000LL * S - 1), "");
    CHECK_STR(why(&s.now, &night, &night, NULL, 0, 1774746000LL * S),
              "schedule: '0 * * * *' ticked at 2026-03-29 03:00:00 +02:00 Europe/Copenhagen, "
              "after the last run started");
    /* The same daily schedule read in UTC would tick at 02:30 UTC instead. */
    schedule(&s, NULL, 1, daily);
    struct run_record utc_ok = record(11, RUN_SUCCEEDED, 1774665000LL * S, 1774665060LL * S);
    CHECK_STR(why(&s.now, &utc_ok, &utc_ok, NULL, 0, 1774746000LL * S), "");
    CHECK_STR(why(&s.now, &utc_ok, &utc_ok, NULL, 0, (1774746000LL + 5400) * S),
              "schedule: '30 2 * * *' ticked at 2026-03-29 02:30:00 +00:00, after the last run "
              "started");
    tz_free(cph);
}

UNIT_TEST(stale_everything_together)
{
    struct strbuf err = STRBUF_INIT;
    struct tz *utc = tz_load("UTC", &err);
    strbuf_release(&err);
    if (!utc)
        utc = tz_utc();
    const char *hourly[] = {"@hourly"};
    struct sched s;
    schedule(&s, utc, 1, hourly);
    s.now.forced = true;
    s.now.outputs_fp = "ffffffffffffffffffffffffffffffff";
    struct run_record ok = record(5, RUN_SUCCEEDED, T - 2 * HOUR - MIN, T - 2 * HOUR);
    struct run_record bad = record(6, RUN_INTERRUPTED, T - 10 * MIN, T - 9 * MIN);
    struct upstream up = {"fx.rates", true, T - HOUR, T - HOUR + MIN, NULL, 0};
    CHECK_STR(why(&s.now, &bad, &ok, &up, 1, T),
              "forced: asked for with --force\n"
              "failed: the last run (6) was interrupted at 2026-03-28 11:51:00 +00:00\n"
              "output-changed: its outputs are not what run 5 left\n"
              "upstream-changed: 'fx.rates' succeeded at 2026-03-28 11:01:00 +00:00, after run 5 "
              "started\n"
              "schedule: '@hourly' ticked at 2026-03-28 12:00:00 +00:00 UTC, after the last run "
              "started");
    tz_free(utc);
}

UNIT_TEST(stale_reasons_helpers)
{
    struct reasons r = {0};
    CHECK(!reasons_have(&r, REASON_FORCED));
    struct strbuf sb = STRBUF_INIT;
    reasons_to_json(&r, &sb);
    CHECK_STR(strbuf_str(&sb), "[]");
    reasons_add(&r, REASON_FORCED, "asked for with --force");
    reasons_add(&r, REASON_OUTPUT_MISSING, "output '%s' is gone", "a\"b\\c\nd");
    reasons_add(&r, REASON_UPSTREAM_DUE, "'%s' runs first", "é.job");
    CHECK(reasons_have(&r, REASON_FORCED));
    CHECK(reasons_have(&r, REASON_UPSTREAM_DUE));
    CHECK(!reasons_have(&r, REASON_MAX_LAG));
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "x=");
    reasons_to_json(&r, &sb);
    CHECK_STR(strbuf_str(&sb),
              "x=[{\"reason\":\"forced\",\"evidence\":\"asked for with --force\"},"
              "{\"reason\":\"output-missing\",\"evidence\":\"output 'a\\\"b\\\\c\\nd' "
              "is gone\"},"
              "{\"reason\":\"upstream-due\",\"evidence\":\"'é.job' runs first\"}]");
    /* a schedule reason of a timetable entry: its tick as a time, twice, and the entry */
    reasons_release(&r);
    reasons_add(&r, REASON_SCHEDULE, "tick");
    r.items[0].tick = 1796415978123;
    r.items[0].entry = "eu";
    strbuf_reset(&sb);
    reasons_to_json(&r, &sb);
    CHECK_STR(strbuf_str(&sb), "[{\"reason\":\"schedule\",\"evidence\":\"tick\","
                               "\"tick\":\"2026-12-04T20:26:18+00:00\",\"tick_ms\":1796415978123,"
                               "\"entry\":\"eu\"}]");
    reasons_release(&r);
    CHECK_INT(r.len, 0);
    CHECK(r.items == NULL);
    reasons_release(&r); /* twice is harmless */
    strbuf_release(&sb);
}

static const char *age(int64_t ms)
{
    static struct strbuf sb = STRBUF_INIT;
    strbuf_reset(&sb);
    stale_format_age(ms, &sb);
    return strbuf_str(&sb);
}

UNIT_TEST(stale_format_age_units)
{
    CHECK_STR(age(0), "0s");
    CHECK_STR(age(999), "0s");
    CHECK_STR(age(45 * S), "45s");
    CHECK_STR(age(59 * S + 999), "59s");
    CHECK_STR(age(MIN), "1m 0s");
    CHECK_STR(age(59 * MIN + 59 * S), "59m 59s");
    CHECK_STR(age(HOUR), "1h 0m");
    CHECK_STR(age(3 * HOUR + 12 * MIN + 59 * S), "3h 12m");
    CHECK_STR(age(24 * HOUR - 1), "23h 59m");
    CHECK_STR(age(24 * HOUR), "1d 0h");
    CHECK_STR(age(2 * 24 * HOUR + 4 * HOUR + 59 * MIN), "2d 4h");
    CHECK_STR(age(400 * 24 * HOUR), "400d 0h");
    CHECK_STR(age(-5 * S), "0s");
    /* Appends. */
    struct strbuf sb = STRBUF_INIT;
    strbuf_addstr(&sb, "age ");
    stale_format_age(90 * S, &sb);
    CHECK_STR(strbuf_str(&sb), "age 1m 30s");
    strbuf_release(&sb);
}

UNIT_TEST(stale_format_time_zones)
{
    struct strbuf sb = STRBUF_INIT;
    stale_format_time(T + 999, NULL, &sb);
    CHECK_STR(strbuf_str(&sb), "2026-03-28 12:00:00 +00:00");
    struct strbuf err = STRBUF_INIT;
    struct tz *cph = tz_load("Europe/Copenhagen", &err);
    strbuf_release(&err);
    if (CHECK(cph != NULL)) {
        strbuf_reset(&sb);
        stale_format_time(T, cph, &sb);
        CHECK_STR(strbuf_str(&sb), "2026-03-28 13:00:00 +01:00 Europe/Copenhagen");
        strbuf_reset(&sb);
        stale_format_time(1774746000LL * S, cph, &sb);
        CHECK_STR(strbuf_str(&sb), "2026-03-29 03:00:00 +02:00 Europe/Copenhagen");
        tz_free(cph);
    }
    strbuf_release(&sb);
}

UNIT_TEST(stale_files_diff_names_what_changed)
{
    struct strbuf out = STRBUF_INIT;
    const char *was = "c\tsrc/a.py\t11\nc\tsrc/lib/u.py\t22\ni\tdata/x.csv\t33\n"
                      "i\tdata/gone.csv\t44\no\tout/a.txt\t55\n";
    const char *is = "c\tsrc/a.py\t11\nc\tsrc/lib/u.py\t2f\ni\tdata/x.csv\t33\n"
                     "i\tdata/new.csv\t66\no\tout/a.txt\t-\n";
    stale_files_diff(was, is, 'c', &out);
    CHECK_STR(out.buf, "src/lib/u.py changed");
    strbuf_reset(&out);
    stale_files_diff(was, is, 'i', &out);
    CHECK_STR(out.buf, "data/gone.csv is gone, data/new.csv is new");
    strbuf_reset(&out);
    stale_files_diff(was, is, 'o', &out);
    CHECK_STR(out.buf, "out/a.txt is gone");
    strbuf_reset(&out);
    /* A non-glob input that was missing and is there now. */
    stale_files_diff("i\tin.csv\t-\n", "i\tin.csv\t77\n", 'i', &out);
    CHECK_STR(out.buf, "in.csv is new");
    strbuf_reset(&out);
    /* Nothing to tell: the same files, an older run without evidence, or a side that
     * kept only part of its files. */
    stale_files_diff(was, was, 'c', &out);
    CHECK_STR(strbuf_str(&out), "");
    stale_files_diff(NULL, is, 'c', &out);
    CHECK_STR(strbuf_str(&out), "");
    stale_files_diff("i\ta\t1\ni\t*\t-\n", "i\ta\t2\n", 'i', &out);
    CHECK_STR(strbuf_str(&out), "");
    /* Many: the first three by path, then a count. */
    stale_files_diff("", "i\te\t1\ni\td\t1\ni\tc\t1\ni\tb\t1\ni\ta\t1\n", 'i', &out);
    CHECK_STR(out.buf, "a is new, b is new, c is new and 2 more");
    strbuf_release(&out);
}

UNIT_TEST(stale_reasons_name_the_files)
{
    struct job_now n = {"code-2",
                        "config",
                        "inputs-2",
                        "outputs-2",
                        NULL,
                        NULL,
                        NULL,
                        0,
                        NULL,
                        false,
                        "c\tsrc/a.py\t2\ni\tdata/b.csv\t9\no\tout/c.txt\t7\n",
                        NULL,
                        NULL,
                        NULL};
    struct run_record ok = record(5, RUN_SUCCEEDED, T - HOUR, T - HOUR + MIN);
    ok.code_fingerprint = (char *)"code-1";
    ok.config_fingerprint = (char *)"config";
    ok.inputs_fingerprint = (char *)"inputs-1";
    ok.outputs_fingerprint = (char *)"outputs-1";
    ok.files = (char *)"c\tsrc/a.py\t1\ni\tdata/b.csv\t9\ni\tdata/a.csv\t8\no\tout/c.txt\t6\n";
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T), "code-changed: src/a.py changed since run 5\n"
                                             "input-changed: data/a.csv is gone since run 5\n"
                                             "output-changed: out/c.txt changed since run 5");
    /* A success recorded before runs kept their files: the kind of change only. */
    ok.files = NULL;
    CHECK_STR(why(&n, &ok, &ok, NULL, 0, T),
              "code-changed: its code or a local module it imports changed since run 5\n"
              "input-changed: an input's content, or the files its globs match, changed since "
              "run 5\n"
              "output-changed: its outputs are not what run 5 left");
}
