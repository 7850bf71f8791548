/* cron.h: cron schedules, parsed into bitsets, and their next tick in a time zone.
 *
 * Syntax: five fields "minute hour day-of-month month day-of-week", each a list
 * (a,b,c) of items: *, a number, a range a-b, or one of those three followed by a
 * step /n (every n-th value; a/n means a-max/n). Months may be written JAN-DEC,
 * weekdays SUN-SAT (any case); day-of-week 7 is Sunday too. Macros: @yearly =
 * @annually, @monthly, @weekly, @daily = @midnight, @hourly, and "@every DURATION"
 * with units s, m, h, d combined as in "@every 1h30m" (at most 3650d).
 *
 * Day matching follows classic cron: when both day-of-month and day-of-week are
 * restricted, a day matches if EITHER matches ("0 0 13 * FRI" is every 13th and
 * every Friday); when one of them is unrestricted only the other counts. A field
 * is unrestricted only when written * (or * with step /1); unlike Vixie cron,
 * * with step /2 counts as restricted (as in robfig/cron).
 *
 * Time zones and daylight saving time (the rules cron_next keeps):
 *  - Calendar schedules are read on the zone's wall clock.
 *  - A schedule whose hour field matches all 24 hours (every 15 minutes,
 *    "0 * * * *", "5 0-23 * * *") fires at every instant whose wall clock matches:
 *    it keeps its rhythm in real elapsed time through both changes. In a repeated
 *    hour both passes fire (02:00 CEST and 02:00 CET); a wall-clock time that is
 *    skipped does not fire at all ("30 * * * *" has no tick in a skipped 02:xx).
 *  - Any other schedule fires once per matching wall-clock time: a time inside a
 *    skipped hour fires when the gap ends ("30 2 * * *" on the spring-forward day
 *    in Europe/Copenhagen fires at 03:00 CEST = 01:00 UTC; several skipped times
 *    collapse into that one tick), and a time inside a repeated hour fires at its
 *    first occurrence only.
 *  - "@every D" ignores the zone: ticks fall on the multiples of D seconds since
 *    1970-01-01 00:00 UTC, so every copy of stau agrees on them.
 */
#ifndef STAU_CRON_H
#define STAU_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct tz;

/* What cron_next() returns for a schedule that never fires again. */
#define CRON_NEVER INT64_MAX

/* A parsed schedule: plain data, copied by value, nothing to release. */
struct cron {
    uint64_t minutes;  /* bit m set: minute m (0-59) matches */
    uint32_t hours;    /* bit h: hour h (0-23) */
    uint32_t days;     /* bit d: day of month d (1-31) */
    uint16_t months;   /* bit m: month m (1-12) */
    uint8_t weekdays;  /* bit d: weekday d (0-6, 0 = Sunday) */
    bool days_any;     /* day-of-month was unrestricted (* alone) */
    bool weekdays_any; /* day-of-week was unrestricted */
    int64_t every;     /* seconds between ticks of "@every"; 0 for calendar schedules */
};

/* Parse text into *out. On error return -1 with a lower-case message in err (what is
 * wrong and what is allowed) and the byte offset in text where the problem starts in
 * *err_offset. Schedules that could never fire ("0 0 30 2 *") are errors too. */
int cron_parse(const char *text, struct cron *out, struct strbuf *err, size_t *err_offset);

/* The first tick strictly after instant after_utc (Unix seconds), read in zone (NULL
 * means UTC), under the rules above; CRON_NEVER if there is none within 9 years (only
 * hand-built impossible schedules; parsed ones always have one) or after_utc lies
 * outside the years 1-9999. Costs at most a few thousand cheap steps. */
int64_t cron_next(const struct cron *c, const struct tz *zone, int64_t after_utc);

#endif
