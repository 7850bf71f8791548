/* Unit tests of the original Stau's timetable: APScheduler triggers into stau
 * schedules, and every refusal with its message. */
#include <stdlib.h>
#include <string.h>
#include "scan.h"
#include "unit.h"

static struct scan_result scan_timetable(const char *src)
{
    static struct scanner *sc;
    if (!sc)
        sc = scanner_new();
    struct scan_result r = {0};
    scanner_scan_timetable(sc, "src/stau_schedule.py", src, strlen(src), &r);
    return r;
}

/* "schedule" of the only entry, or the first message. */
static char *first_schedule(const char *trigger)
{
    char *src = xprintf("from apscheduler.triggers.cron import CronTrigger\n"
                        "recurring_jobs = [{\"id\": \"x\", \"trigger\": %s,"
                        " \"kwargs_stau_api\": {\"jobType\": \"a\"}}]\n",
                        trigger);
    struct scan_result r = scan_timetable(src);
    char *out;
    if (r.timetable.len == 1 && !r.diags.items.len)
        out = xstrdup(r.timetable.items[0].schedule);
    else if (r.diags.items.len)
        out = xprintf("%s%s%s", r.diags.items.items[0].message,
                      r.diags.items.items[0].hint ? " [hint: " : "",
                      r.diags.items.items[0].hint ? r.diags.items.items[0].hint : "");
    else
        out = xstrdup("(nothing)");
    scan_result_release(&r);
    free(src);
    return out;
}

UNIT_TEST(timetable_triggers)
{
    const char *cases[][2] = {
        {"CronTrigger(minute=\"*/20\")", "*/20 * * * *"},
        {"CronTrigger(minute=5)", "5 * * * *"},
        {"CronTrigger(hour=3)", "0 3 * * *"},
        {"CronTrigger(hour=\"8-17\", minute=30)", "30 8-17 * * *"},
        {"CronTrigger(day=1)", "0 0 1 * *"},
        {"CronTrigger(month=\"jan,jul\")", "0 0 1 jan,jul *"},
        /* APScheduler counts weekdays from Monday = 0. */
        {"CronTrigger(day_of_week=\"mon-fri\", hour=6)", "0 6 * * 1-5"},
        {"CronTrigger(day_of_week=\"fri-sun\")", "0 0 * * 5-7"},
        {"CronTrigger(day_of_week=0)", "0 0 * * 1"},
        {"CronTrigger(day_of_week=\"5,6\")", "0 0 * * 6,7"},
        {"CronTrigger(day_of_week=\"*/2\", minute=0)", "0 * * * */2"},
        {"CronTrigger(minute=0, second=0)", "0 * * * *"},
        {"IntervalTrigger(minutes=5)", "@every 5m"},
        {"IntervalTrigger(hours=1, minutes=30)", "@every 1h30m"},
        {"IntervalTrigger(weeks=1)", "@every 7d"},
        {"IntervalTrigger(seconds=90)", "@every 1m30s"},
        {"CronTrigger(second=30)",
         "CronTrigger(second=30) cannot be written as a stau schedule [hint: stau schedules are "
         "5-field cron: minute, hour, day, month, day_of_week"},
        {"CronTrigger(year=2027, minute=0)",
         "CronTrigger(year=2027) cannot be written as a stau schedule [hint: stau schedules are "
         "5-field cron: minute, hour, day, month, day_of_week"},
        {"CronTrigger(minute=0, timezone=\"UTC\")",
         "CronTrigger(timezone=...) is not read by stau [hint: set \"timezone\" in the job's "
         "STAU_CONFIG instead"},
        {"CronTrigger()",
         "CronTrigger() without fields would fire every second [hint: give at least minute=..., "
         "as in CronTrigger(minute=\"*/20\")"},
        {"CronTrigger(minute=61)",
         "trigger gives the schedule '61 * * * *', which is invalid: minute field: 61 is out of "
         "range 0-59"},
        {"IntervalTrigger()", "IntervalTrigger() needs an interval above zero"},
        {"IntervalTrigger(minutes=-1)", "IntervalTrigger's minutes must be a whole number >= 0"},
        {"IntervalTrigger(minutes=5, jitter=3)",
         "IntervalTrigger(jitter=...) is not read by stau [hint: give weeks, days, hours, minutes "
         "or seconds"},
        {"\"*/5 * * * *\"", "a trigger must be CronTrigger(...) or IntervalTrigger(...)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = first_schedule(cases[i][0]);
        if (!CHECK_STR(got, cases[i][1]))
            fprintf(stderr, "  trigger: %s\n", cases[i][0]);
        free(got);
    }
}

UNIT_TEST(timetable_entries)
{
    struct scan_result r = scan_timetable(
        "JOB = \"sales.daily\"\n"
        "recurring_jobs = [\n"
        "    {\"id\": \"a\", \"name\": \"A\", \"trigger\": IntervalTrigger(minutes=5),\n"
        "     \"kwargs_stau_api\": {\"jobType\": JOB, \"kwargs_func\": {\"full\": True}}},\n"
        "    {\"id\": \"b\", \"trigger\": CronTrigger(hour=1),\n"
        "     \"kwargs_stau_api\": {\"jobType\": \"x\", \"kwargs_func\": \"make_kwargs\"}},\n"
        "    {\"id\": \"c\", \"trigger\": CronTrigger(hour=1), \"kwargs_stau_ap\": {}},\n"
        "]\n");
    CHECK(r.is_timetable);
    CHECK(!r.is_job);
    if (CHECK_INT(r.timetable.len, 1)) {
        CHECK_STR(r.timetable.items[0].job, "sales.daily");
        CHECK_STR(r.timetable.items[0].kwargs_json, "{\"full\":true}");
        CHECK_STR(r.timetable.items[0].schedule, "@every 5m");
    }
    /* The original Stau hands kwargs_func to the job as its kwargs: only a dict works. */
    if (CHECK_INT(r.diags.items.len, 3)) {
        CHECK_STR(r.diags.items.items[0].message,
                  "kwargs_func must be a dict of keyword arguments, not str");
        CHECK_STR(r.diags.items.items[0].hint, "the original Stau passes it to the job as its "
                                               "kwargs: write {\"name\": value, ...}");
        CHECK_INT(r.diags.items.items[0].loc.line, 6);
        CHECK_STR(r.diags.items.items[1].message,
                  "unknown key 'kwargs_stau_ap' in an entry of recurring_jobs is ignored");
        CHECK_STR(r.diags.items.items[1].hint, "did you mean 'kwargs_stau_api'?");
        CHECK_STR(r.diags.items.items[2].message,
                  "an entry of recurring_jobs needs kwargs_stau_api.jobType, the job's name");
        CHECK_INT(r.diags.items.items[2].loc.line, 7);
    }
    scan_result_release(&r);
}
