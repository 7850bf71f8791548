/* fuzz_cron.c: the cron parser and the next-tick search (cron.c), in UTC or in a
 * zone given as a POSIX TZ rule (tz.c's rule parser).
 *
 * Input: the schedule text; or a POSIX TZ rule, a newline, then the schedule
 * ("CET-1CEST,M3.5.0,M10.5.0/3\n30 2 * * *"). NUL bytes end the text early.
 *
 * Oracles besides the sanitizers: an error names an offset inside the text and
 * says something; a parsed schedule's next tick after t is later than t, and
 * asking again from any instant between t and that tick gives the same tick (the
 * ticks are one set of instants, whatever instant the search starts from).
 *
 * Seeds: the schedules of the fixtures and of the cron tests (corpus/cron). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include "cron.h"
#include "tz.h"
#include "util.h"

/* 10000-01-01 00:00 UTC */
#define YEAR_10000 253402300800

static void check_ticks(const struct cron *c, const struct tz *zone, const char *text)
{
    /* 1970, 2001-09-09, a spring-forward week in 2024, the year 9998 */
    static const int64_t starts[] = {0, 1000000000, 1711846800 - 86400, 253370764800};
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        int64_t t = starts[i];
        for (int k = 0; k < 4; k++) {
            int64_t next = cron_next(c, zone, t);
            /* cron_next answers for instants in the years 1-9999 only */
            if (next == CRON_NEVER || next >= YEAR_10000)
                break;
            if (next <= t)
                fuzz_fail("'%s': cron_next(%lld) = %lld is not later", text, (long long)t,
                          (long long)next);
            int64_t mid = t + (next - t) / 2;
            int64_t again = cron_next(c, zone, mid);
            int64_t last = cron_next(c, zone, next - 1);
            if (again != next || last != next)
                fuzz_fail("'%s' in %s: the tick after %lld is %lld, but after %lld it is %lld "
                          "and after %lld it is %lld",
                          text, zone ? tz_name(zone) : "UTC", (long long)t, (long long)next,
                          (long long)mid, (long long)again, (long long)(next - 1),
                          (long long)last);
            t = next;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char *schedule = text;
    struct tz *zone = NULL;
    struct strbuf err = STRBUF_INIT;
    char *newline = strchr(text, '\n');
    if (newline) {
        *newline = 0;
        schedule = newline + 1;
        zone = tz_posix(text, &err);
        if (!zone) {
            if (!err.len)
                fuzz_fail("tz_posix('%s') failed without a message", text);
            strbuf_release(&err);
            free(text);
            return 0;
        }
        struct tz_civil civil;
        tz_utc_to_civil(zone, 1711846800, &civil);
        struct strbuf shown = STRBUF_INIT;
        tz_format(zone, 1711846800, &shown);
        strbuf_release(&shown);
        tz_next_change(zone, 1711846800);
    }
    struct cron c;
    size_t offset = SIZE_MAX;
    strbuf_reset(&err);
    if (cron_parse(schedule, &c, &err, &offset) < 0) {
        if (!err.len || offset > strlen(schedule))
            fuzz_fail("cron_parse('%s'): error '%s' at offset %zu", schedule, strbuf_str(&err),
                      offset);
    } else {
        check_ticks(&c, zone, schedule);
    }
    strbuf_release(&err);
    tz_free(zone);
    free(text);
    return 0;
}
