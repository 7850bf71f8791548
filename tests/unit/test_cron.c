/* test_cron.c: cron parsing, next ticks across DST changes, and the zone reader.
 *
 * Expected instants were computed independently of this code, with Python 3.11's
 * zoneinfo over the system's tzdata, by a brute-force reference (a throwaway script,
 * described here): parse the five fields into Python sets; for an all-hours
 * schedule walk UTC minute by minute and take the first whose wall clock matches;
 * otherwise walk local days and matching wall-clock times in order, map each to
 * min{t : wall clock at t >= it} (fold=0/1, and a second-by-second search through
 * a gap) and take the first such instant after the start. Offsets of POSIX rules
 * come from CPython's own footer parser (zoneinfo._zoneinfo._parse_tz_str), except
 * the zero-based "n" form, which that parser gets one day early; those rows were
 * worked out by hand (2028-01-01 + 59 days = Feb 29). */
#include "cron.h"
#include "tz.h"
#include "unit.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "0,15,30,45" or "1-5" (runs of three or more as ranges) for the set bits lo..hi. */
static const char *show_bits(uint64_t bits, int lo, int hi, struct strbuf *sb)
{
    strbuf_reset(sb);
    strbuf_addstr(sb, "");
    for (int v = lo; v <= hi; v++) {
        if (!(bits >> v & 1))
            continue;
        int end = v;
        while (end < hi && (bits >> (end + 1) & 1))
            end++;
        if (sb->len)
            strbuf_addch(sb, ',');
        if (end - v >= 2) {
            strbuf_addf(sb, "%d-%d", v, end);
            v = end;
        } else {
            strbuf_addf(sb, "%d", v);
        }
    }
    return strbuf_str(sb);
}

static const struct {
    const char *text;
    const char *minutes, *hours, *days, *months, *weekdays;
    bool days_any, weekdays_any;
} parse_ok[] = {
    {"* * * * *", "0-59", "0-23", "1-31", "1-12", "0-6", true, true},
    {" \t0   12 * * *  ", "0", "12", "1-31", "1-12", "0-6", true, true},
    {"*/15 * * * *", "0,15,30,45", "0-23", "1-31", "1-12", "0-6", true, true},
    {"5/20 * * * *", "5,25,45", "0-23", "1-31", "1-12", "0-6", true, true},
    {"10-30/10 */6 * * *", "10,20,30", "0,6,12,18", "1-31", "1-12", "0-6", true, true},
    {"1,2,5-7,59 * * * *", "1,2,5-7,59", "0-23", "1-31", "1-12", "0-6", true, true},
    {"0 0 1 jan *", "0", "0", "1", "1", "0-6", false, true},
    {"0 0 * Jan-Mar,DEC *", "0", "0", "1-31", "1-3,12", "0-6", true, true},
    {"0 0 * */3 *", "0", "0", "1-31", "1,4,7,10", "0-6", true, true},
    {"0 0 * * mon-FRI", "0", "0", "1-31", "1-12", "1-5", true, false},
    {"0 0 * * 7", "0", "0", "1-31", "1-12", "0", true, false},
    {"0 0 * * 5-7", "0", "0", "1-31", "1-12", "0,5,6", true, false},
    {"0 0 * * 1-7", "0", "0", "1-31", "1-12", "0-6", true, false},
    {"0 0 * * SUN,sat", "0", "0", "1-31", "1-12", "0,6", true, false},
    {"0 0 * * */2", "0", "0", "1-31", "1-12", "0,2,4,6", true, false},
    {"0 0 */1 * *", "0", "0", "1-31", "1-12", "0-6", true, true},
    {"0 0 */10 * *", "0", "0", "1,11,21,31", "1-12", "0-6", false, true},
    {"0 0 1-31 * *", "0", "0", "1-31", "1-12", "0-6", false, true},
    {"0 0 13 * FRI", "0", "0", "13", "1-12", "5", false, false},
    {"0 0 29 2 *", "0", "0", "29", "2", "0-6", false, true},
    {"0 0 31 * *", "0", "0", "31", "1-12", "0-6", false, true},
    {"0 0 30 2 MON", "0", "0", "30", "2", "1", false, false},
    {"@yearly", "0", "0", "1", "1", "0-6", false, true},
    {"@annually", "0", "0", "1", "1", "0-6", false, true},
    {"@monthly", "0", "0", "1", "1-12", "0-6", false, true},
    {"@weekly", "0", "0", "1-31", "1-12", "0", true, false},
    {"@Daily", "0", "0", "1-31", "1-12", "0-6", true, true},
    {"  @midnight ", "0", "0", "1-31", "1-12", "0-6", true, true},
    {"@HOURLY", "0", "0-23", "1-31", "1-12", "0-6", true, true},
};

UNIT_TEST(cron_parse_forms)
{
    struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
        struct cron c;
        strbuf_reset(&err);
        if (!CHECK(cron_parse(parse_ok[i].text, &c, &err, NULL) == 0)) {
            fprintf(stderr, "  %s: %s\n", parse_ok[i].text, strbuf_str(&err));
            continue;
        }
        CHECK_STR(show_bits(c.minutes, 0, 63, &sb), parse_ok[i].minutes);
        CHECK_STR(show_bits(c.hours, 0, 31, &sb), parse_ok[i].hours);
        CHECK_STR(show_bits(c.days, 0, 31, &sb), parse_ok[i].days);
        CHECK_STR(show_bits(c.months, 0, 15, &sb), parse_ok[i].months);
        CHECK_STR(show_bits(c.weekdays, 0, 7, &sb), parse_ok[i].weekdays);
        CHECK_INT(c.days_any, parse_ok[i].days_any);
        CHECK_INT(c.weekdays_any, parse_ok[i].weekdays_any);
        CHECK_INT(c.every, 0);
    }
    strbuf_release(&sb);
    strbuf_release(&err);
}

UNIT_TEST(cron_parse_every)
{
    static const struct {
        const char *text;
        int64_t seconds;
    } rows[] = {
        {"@every 45s", 45},   {"@every 15m", 900},        {"@every 1h30m", 5400},
        {"@every 90m", 5400}, {"@every 2d", 172800},      {"@every 1d1h1m1s", 90061},
        {"@EVERY 1h", 3600},  {"  @every   30m  ", 1800}, {"@every 3650d", 315360000},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct cron c;
        CHECK_INT(cron_parse(rows[i].text, &c, &err, NULL), 0);
        CHECK_STR(strbuf_str(&err), "");
        CHECK_INT(c.every, rows[i].seconds);
        strbuf_release(&err);
    }
}

#define FIELDS "expected 5 fields (minute hour day-of-month month day-of-week), got "
#define ITEMS "*, ranges a-b, steps /n, lists a,b)"
#define MACROS                                                                                     \
    "(allowed: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every "         \
    "DURATION)"

static const struct {
    const char *text;
    const char *message;
    size_t offset;
} parse_errors[] = {
    {"",
     "empty schedule: expected 5 fields (minute hour day-of-month month day-of-week) or a "
     "macro such as @daily",
     0},
    {"   ",
     "empty schedule: expected 5 fields (minute hour day-of-month month day-of-week) or a "
     "macro such as @daily",
     0},
    {"* * * *", FIELDS "4", 7},
    {"0 12 * *  ", FIELDS "4", 8},
    {"* * * * * *", FIELDS "6 (seconds and years are not supported)", 10},
    {"0 0 12 * * * 2026", FIELDS "7 (seconds and years are not supported)", 11},
    {"1 2 3 4 5 6 7 8", FIELDS "8", 10},
    {"61 * * * *", "minute field: 61 is out of range 0-59", 0},
    {"  61 * * * *", "minute field: 61 is out of range 0-59", 2},
    {"99999999999 * * * *", "minute field: 99999999999 is out of range 0-59", 0},
    {"* 24 * * *", "hour field: 24 is out of range 0-23", 2},
    {"* * 0 * *", "day-of-month field: 0 is out of range 1-31", 4},
    {"* * 32 * *", "day-of-month field: 32 is out of range 1-31", 4},
    {"* * * 13 *", "month field: 13 is out of range 1-12", 6},
    {"* * * 0 *", "month field: 0 is out of range 1-12", 6},
    {"* * * * 8", "day-of-week field: 8 is out of range 0-7", 8},
    {"0 0 1-40 * *", "day-of-month field: 40 is out of range 1-31", 6},
    {"* * * JNA *", "month field: unknown month name 'JNA' (allowed: 1-12 or JAN-DEC)", 6},
    {"* * * January *", "month field: unknown month name 'January' (allowed: 1-12 or JAN-DEC)", 6},
    {"* * * * FRY", "day-of-week field: unknown weekday name 'FRY' (allowed: 0-7 or SUN-SAT)", 8},
    {"* * * * MON-FRY", "day-of-week field: unknown weekday name 'FRY' (allowed: 0-7 or SUN-SAT)",
     12},
    {"abc * * * *", "minute field: 'abc' is not a number (allowed: 0-59)", 0},
    {"* * MON * *", "day-of-month field: 'MON' is not a number (allowed: 1-31)", 4},
    {"*/0 * * * *", "minute field: step must be a number from 1 to 60", 2},
    {"*/ * * * *", "minute field: step must be a number from 1 to 60", 2},
    {"1-5/x * * * *", "minute field: step must be a number from 1 to 60", 4},
    {"* */25 * * *", "hour field: step must be a number from 1 to 24", 4},
    {"* * * * */8", "day-of-week field: step must be a number from 1 to 7", 10},
    {"5-2 * * * *", "minute field: range 5-2 runs backwards (write 5-59,0-2)", 0},
    {"* 22-2 * * *", "hour field: range 22-2 runs backwards (write 22-23,0-2)", 2},
    {"* * * * FRI-MON", "day-of-week field: range 5-1 runs backwards (write 5-6,0-1)", 8},
    {"* * * * 7-1", "day-of-week field: range 7-1 runs backwards", 8},
    {"* * * NOV-FEB *", "month field: range 11-2 runs backwards (write 11-12,1-2)", 6},
    {"1,,2 * * * *", "minute field: missing value (allowed: 0-59)", 2},
    {"1, * * * *", "minute field: missing value (allowed: 0-59)", 2},
    {",1 * * * *", "minute field: missing value (allowed: 0-59)", 0},
    {"1- * * * *", "minute field: missing value (allowed: 0-59)", 2},
    {"1-* * * * *", "minute field: unexpected '*' (allowed: 0-59, " ITEMS, 2},
    {"1.5 * * * *", "minute field: unexpected '.' (allowed: 0-59, " ITEMS, 1},
    {"* * * * 1;2", "day-of-week field: unexpected ';' (allowed: 0-7 or SUN-SAT, " ITEMS, 9},
    {"** * * * *", "minute field: unexpected '*' (allowed: 0-59, " ITEMS, 1},
    {"? * * * *", "minute field: unexpected '?' (allowed: 0-59, " ITEMS, 0},
    {"0 0 30 2 *",
     "day-of-month field: day 30 never occurs in the chosen months, so the schedule would never "
     "fire",
     4},
    {"0 0 31 4,6,9,11 *",
     "day-of-month field: day 31 never occurs in the chosen months, so the schedule would never "
     "fire",
     4},
    {"@dayly", "unknown macro '@dayly' (did you mean @daily?)", 0},
    {"@evry 5m", "unknown macro '@evry' (did you mean @every?)", 0},
    {"@reboot", "unknown macro '@reboot' " MACROS, 0},
    {"@", "unknown macro '@' " MACROS, 0},
    {"@daily 5", "unexpected '5' after @daily, which takes no arguments", 7},
    {"@every", "@every needs a duration such as 15m, 1h30m or 2d", 6},
    {"@every   ", "@every needs a duration such as 15m, 1h30m or 2d", 9},
    {"@every 0s", "invalid duration '0s': must be longer than 0s", 7},
    {"@every 0h0m", "invalid duration '0h0m': must be longer than 0s", 7},
    {"@every 15", "invalid duration '15': missing unit after 15 (s, m, h or d)", 9},
    {"@every 1h30", "invalid duration '1h30': missing unit after 1h30 (s, m, h or d)", 11},
    {"@every 1.5h", "invalid duration '1.5h': fractions are not supported (write 1h30m, not 1.5h)",
     8},
    {"@every 5x", "invalid duration '5x': unknown unit 'x' (allowed: s, m, h, d)", 8},
    {"@every 5M", "invalid duration '5M': unknown unit 'M' (allowed: s, m, h, d)", 8},
    {"@every 100ms", "invalid duration '100ms': milliseconds are not supported, only whole seconds",
     10},
    {"@every h", "invalid duration 'h': expected a number and a unit (s, m, h or d), as in 1h30m",
     7},
    {"@every -5m",
     "invalid duration '-5m': expected a number and a unit (s, m, h or d), as in 1h30m", 7},
    {"@every 3651d", "invalid duration '3651d': longer than 3650d", 7},
    {"@every 99999999999999999999s", "invalid duration '99999999999999999999s': longer than 3650d",
     7},
    {"@every 1h 30m", "unexpected '30m' after the duration of @every", 10},
};

UNIT_TEST(cron_parse_errors)
{
    for (size_t i = 0; i < sizeof(parse_errors) / sizeof(parse_errors[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct cron c;
        size_t offset = 12345;
        if (!CHECK(cron_parse(parse_errors[i].text, &c, &err, &offset) == -1))
            fprintf(stderr, "  accepted: '%s'\n", parse_errors[i].text);
        CHECK_STR(strbuf_str(&err), parse_errors[i].message);
        if (!CHECK_INT(offset, parse_errors[i].offset))
            fprintf(stderr, "  for: '%s'\n", parse_errors[i].text);
        strbuf_release(&err);
    }
}

static const struct {
    const char *zone, *schedule;
    int64_t start;
    int64_t ticks[8]; /* each found from the one before; 0 ends the list */
} next_ticks[] = {
    /* generated by the brute-force reference described at the top; the comments show
     * the ticks on the zone's wall clock (year omitted when it is the start's) */
    /* every minute: 01-01 00:01 UTC, 01-01 00:02 UTC, 01-01 00:03 UTC */
    {"UTC", "* * * * *", 1767225630, {1767225660, 1767225720, 1767225780}},
    /* strictly after a tick: 01-01 00:15 UTC, 01-01 00:30 UTC, 01-01 00:45 UTC */
    {"UTC", "*/15 * * * *", 1767225600, {1767226500, 1767227400, 1767228300}},
    /* a/n means a-59/n: 01-01 01:05 UTC, 01-01 01:25 UTC, 01-01 01:45 UTC */
    {"UTC", "5/20 * * * *", 1767228600, {1767229500, 1767230700, 1767231900}},
    /* daily: 01-02 14:30 UTC, 01-03 14:30 UTC */
    {"UTC", "30 14 * * *", 1767277800, {1767364200, 1767450600}},
    /* month rollover: 02-01 00:00 UTC, 03-01 00:00 UTC, 04-01 00:00 UTC */
    {"UTC", "0 0 1 * *", 1769903940, {1769904000, 1772323200, 1775001600}},
    /* year rollover: 12-31 23:59 UTC, 2027-12-31 23:59 UTC */
    {"UTC", "59 23 31 12 *", 1780272000, {1798761540, 1830297540}},
    /* skips short months: 03-31 00:00 UTC, 05-31 00:00 UTC, 07-31 00:00 UTC */
    {"UTC", "0 0 31 * *", 1769817600, {1774915200, 1780185600, 1785456000}},
    /* day steps restart each month: 01-31 00:00 UTC, 02-01 00:00 UTC, 02-11 00:00 UTC */
    {"UTC", "0 0 */10 * *", 1768953600, {1769817600, 1769904000, 1770768000}},
    /* weekday names, 2026-01-02 is a Friday: 01-05 09:00 UTC, 01-06 09:00 UTC, 01-07 09:00 UTC */
    {"UTC", "0 9 * * MON-FRI", 1767344400, {1767603600, 1767690000, 1767776400}},
    /* names in any case: 07-05 12:00 UTC, 07-12 12:00 UTC, 07-19 12:00 UTC */
    {"UTC", "0 12 * JAN,jul sun", 1769385600, {1783252800, 1783857600, 1784462400}},
    /* both restricted: 13ths OR Fridays: */
    /* 02-06 00:00 UTC, 02-13 00:00 UTC, 02-20 00:00 UTC, 02-27 00:00 UTC */
    {"UTC", "0 0 13 * FRI", 1769904000, {1770336000, 1770940800, 1771545600, 1772150400}},
    /* both restricted: first week OR Mondays: */
    /* 03-02 00:00 UTC, 03-03 00:00 UTC, 03-04 00:00 UTC, 03-05 00:00 UTC */
    {"UTC", "0 0 1-7 * MON", 1772323200, {1772409600, 1772496000, 1772582400, 1772668800}},
    /* a stepped * counts as restricted: odd days OR Mondays: */
    /* 03-02 00:00 UTC, 03-03 00:00 UTC, 03-05 00:00 UTC, 03-07 00:00 UTC */
    {"UTC", "0 0 */2 * MON", 1772323200, {1772409600, 1772496000, 1772668800, 1772841600}},
    /* 7 is Sunday: 01-04 00:00 UTC, 01-11 00:00 UTC */
    {"UTC", "0 0 * * 7", 1767225600, {1767484800, 1768089600}},
    /* ranges through 7: 01-02 00:00 UTC, 01-03 00:00 UTC, 01-04 00:00 UTC, 01-09 00:00 UTC */
    {"UTC", "0 0 * * 5-7", 1767225600, {1767312000, 1767398400, 1767484800, 1767916800}},
    /* Sundays at midnight: 01-04 00:00 UTC, 01-11 00:00 UTC */
    {"UTC", "@weekly", 1767225600, {1767484800, 1768089600}},
    /* 2027-01-01 00:00 UTC, 2027-02-01 00:00 UTC */
    {"UTC", "@monthly", 1797292800, {1798761600, 1801440000}},
    /* 2027-01-01 00:00 UTC, 2028-01-01 00:00 UTC */
    {"UTC", "@yearly", 1797292800, {1798761600, 1830297600}},
    /* 2027-01-01 00:00 UTC, 2027-01-01 01:00 UTC */
    {"UTC", "@hourly", 1798759800, {1798761600, 1798765200}},
    /* Feb 29: 2028, 2032: 2028-02-29 00:00 UTC, 2032-02-29 00:00 UTC */
    {"UTC", "0 0 29 2 *", 1767225600, {1835395200, 1961625600}},
    /* Feb 29 eight years ahead: 2100 is no leap year: 2104-02-29 00:00 UTC */
    {"UTC", "0 0 29 2 *", 3981398400, {4233686400}},
    /* Mondays in February OR Feb 29: */
    /* 02-21 00:00 UTC, 02-28 00:00 UTC, 02-29 00:00 UTC, 2029-02-05 00:00 UTC */
    {"UTC", "0 0 29 2 MON", 1834617600, {1834704000, 1835308800, 1835395200, 1864944000}},
    /* spring forward: 02:30 fires when the gap ends: */
    /* 03-28 02:30 CET, 03-29 03:00 CEST, 03-30 02:30 CEST */
    {"Europe/Copenhagen", "30 2 * * *", 1774612800, {1774661400, 1774746000, 1774830600}},
    /* two skipped times, one tick: 03-29 03:00 CEST, 03-30 02:15 CEST */
    {"Europe/Copenhagen", "15,45 2 * * *", 1774699200, {1774746000, 1774829700}},
    /* 03:00 CEST right after the gap: 03-29 03:00 CEST, 03-30 03:00 CEST */
    {"Europe/Copenhagen", "0 3 * * *", 1774699200, {1774746000, 1774832400}},
    /* fall back: first occurrence only: 10-25 02:30 CEST, 10-26 02:30 CET, 10-27 02:30 CET */
    {"Europe/Copenhagen", "30 2 * * *", 1792843200, {1792888200, 1792978200, 1793064600}},
    /* after the first pass, not again in the second: 10-26 02:30 CET */
    {"Europe/Copenhagen", "30 2 * * *", 1792889100, {1792978200}},
    /* restricted hours: 02:00 once: */
    /* 10-25 01:00 CEST, 10-25 02:00 CEST, 10-25 03:00 CET, 10-26 01:00 CET */
    {"Europe/Copenhagen",
     "0 1-3 * * *",
     1792881000,
     {1792882800, 1792886400, 1792893600, 1792972800}},
    /* every minute of hour 2, first pass only: 10-25 02:59 CEST, 10-26 02:00 CET */
    {"Europe/Copenhagen", "* 2 * * *", 1792889880, {1792889940, 1792976400}},
    /* all hours: real time through the gap: */
    /* 03-29 01:30 CET, 03-29 01:45 CET, 03-29 03:00 CEST, 03-29 03:15 CEST */
    {"Europe/Copenhagen",
     "*/15 * * * *",
     1774743600,
     {1774744200, 1774745100, 1774746000, 1774746900}},
    /* all hours: both passes of the repeated hour: */
    /* 10-25 02:30 CEST, 10-25 02:45 CEST, 10-25 02:00 CET, 10-25 02:15 CET, 10-25 02:30 CET, 10-25
       02:45 CET, 10-25 03:00 CET, 10-25 03:15 CET */
    {"Europe/Copenhagen",
     "*/15 * * * *",
     1792887600,
     {1792888200, 1792889100, 1792890000, 1792890900, 1792891800, 1792892700, 1792893600,
      1792894500}},
    /* hourly through the gap: 03-29 01:00 CET, 03-29 03:00 CEST, 03-29 04:00 CEST */
    {"Europe/Copenhagen", "0 * * * *", 1774740600, {1774742400, 1774746000, 1774749600}},
    /* hourly through the repeat: */
    /* 10-25 02:00 CEST, 10-25 02:00 CET, 10-25 03:00 CET, 10-25 04:00 CET */
    {"Europe/Copenhagen",
     "0 * * * *",
     1792884600,
     {1792886400, 1792890000, 1792893600, 1792897200}},
    /* all hours: a skipped 02:30 does not fire: */
    /* 03-29 01:30 CET, 03-29 03:30 CEST, 03-29 04:30 CEST */
    {"Europe/Copenhagen", "30 * * * *", 1774742400, {1774744200, 1774747800, 1774751400}},
    /* 0-23 is all hours too: 10-25 02:00 CEST, 10-25 02:00 CET, 10-25 03:00 CET, 10-25 04:00 CET */
    {"Europe/Copenhagen",
     "0 0-23 * * *",
     1792884600,
     {1792886400, 1792890000, 1792893600, 1792897200}},
    /* local midnight across the change: 03-29 00:00 CET, 03-30 00:00 CEST, 03-31 00:00 CEST */
    {"Europe/Copenhagen", "0 0 * * *", 1774699200, {1774738800, 1774821600, 1774908000}},
    /* beyond the table: the footer rule: 03-26 03:00 CEST, 03-27 02:30 CEST */
    {"Europe/Copenhagen", "30 2 * * *", 2374056000, {2374102800, 2374187400}},
    /* footer rule, repeated hour: */
    /* 10-29 02:30 CEST, 10-29 02:00 CET, 10-29 02:30 CET, 10-29 03:00 CET, 10-29 03:30 CET */
    {"Europe/Copenhagen",
     "*/30 * * * *",
     2392848600,
     {2392849800, 2392851600, 2392853400, 2392855200, 2392857000}},
    /* spring forward at 02:00 EST: 03-08 03:00 EDT, 03-09 02:30 EDT, 03-10 02:30 EDT */
    {"America/New_York", "30 2 * * *", 1772884800, {1772953200, 1773037800, 1773124200}},
    /* fall back: 01:30 EDT only: 11-01 01:30 EDT, 11-02 01:30 EST, 11-03 01:30 EST */
    {"America/New_York", "30 1 * * *", 1793448000, {1793511000, 1793601000, 1793687400}},
    /* all hours through the repeat: */
    /* 11-01 01:00 EDT, 11-01 01:30 EDT, 11-01 01:00 EST, 11-01 01:30 EST, 11-01 02:00 EST, 11-01
       02:30 EST */
    {"America/New_York",
     "*/30 * * * *",
     1793508300,
     {1793509200, 1793511000, 1793512800, 1793514600, 1793516400, 1793518200}},
    /* hourly through the gap: 03-08 01:00 EST, 03-08 03:00 EDT, 03-08 04:00 EDT */
    {"America/New_York", "0 * * * *", 1772947800, {1772949600, 1772953200, 1772956800}},
    /* Feb 29 2028, local midnight: 2028-02-29 00:00 EST */
    {"America/New_York", "0 0 29 2 *", 1780272000, {1835413200}},
    /* weekdays across the change: 03-09 09:00 EDT, 03-10 09:00 EDT */
    {"America/New_York", "0 9 * * MON-FRI", 1772809200, {1773061200, 1773147600}},
    /* southern spring forward (first Sunday of October): 10-04 03:00 AEDT, 10-05 02:30 AEDT */
    {"Australia/Sydney", "30 2 * * *", 1790985600, {1791043200, 1791127800}},
    /* southern fall back (first Sunday of April): 04-05 02:30 AEDT, 04-06 02:30 AEST */
    {"Australia/Sydney", "30 2 * * *", 1775260800, {1775316600, 1775406600}},
    /* a half-hour repeat: */
    /* 04-05 01:30 +11, 04-05 01:45 +11, 04-05 01:30 +1030, 04-05 01:45 +1030, 04-05 02:00 +1030,
       04-05 02:15 +1030 */
    {"Australia/Lord_Howe",
     "*/15 * * * *",
     1775312400,
     {1775313000, 1775313900, 1775314800, 1775315700, 1775316600, 1775317500}},
    /* a half-hour gap: 10-04 02:30 +11, 10-05 02:15 +11 */
    {"Australia/Lord_Howe", "15 2 * * *", 1791028800, {1791041400, 1791126900}},
};

UNIT_TEST(cron_next_ticks)
{
    for (size_t i = 0; i < sizeof(next_ticks) / sizeof(next_ticks[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct tz *zone = tz_load(next_ticks[i].zone, &err);
        struct cron c;
        CHECK(zone != NULL);
        CHECK_INT(cron_parse(next_ticks[i].schedule, &c, &err, NULL), 0);
        CHECK_STR(strbuf_str(&err), "");
        int64_t at = next_ticks[i].start;
        for (size_t k = 0; zone && k < 8 && next_ticks[i].ticks[k]; k++) {
            at = cron_next(&c, zone, at);
            if (!CHECK_INT(at, next_ticks[i].ticks[k]))
                fprintf(stderr, "  %s '%s' tick %zu\n", next_ticks[i].zone, next_ticks[i].schedule,
                        k);
            at = next_ticks[i].ticks[k];
        }
        tz_free(zone);
        strbuf_release(&err);
    }
}

/* Every tick is strictly after its start, also from a point between two ticks. */
UNIT_TEST(cron_next_strictly_after)
{
    struct strbuf err = STRBUF_INIT;
    struct tz *zone = tz_load("Europe/Copenhagen", &err);
    struct cron c;
    CHECK_INT(cron_parse("30 2 * * *", &c, &err, NULL), 0);
    /* 2026-03-29 01:00 UTC is the gap's end and the tick of 02:30 that day. */
    CHECK_INT(cron_next(&c, zone, 1774746000 - 1), 1774746000);
    CHECK_INT(cron_next(&c, zone, 1774746000), 1774830600);
    CHECK_INT(cron_next(&c, zone, 1774746000 + 1), 1774830600);
    /* Between the two passes of 02:30 on 2026-10-25: the second pass is not a tick. */
    CHECK_INT(cron_next(&c, zone, 1792888200), 1792978200);
    CHECK_INT(cron_next(&c, zone, 1792891800), 1792978200);
    /* NULL zone means UTC. */
    CHECK_INT(cron_next(&c, NULL, 1767225600), 1767234600);
    tz_free(zone);
    strbuf_release(&err);
}

/* Instants before 1970 (negative, on the wall clock too) are as good as any: the
 * fuzz harness found "0 * * * *" in EST5EDT skipping from 1970-01-01 00:00 UTC
 * (1969-12-31 19:00 local) to the spring change, and UTC schedules never firing. */
UNIT_TEST(cron_next_before_1970)
{
    struct strbuf err = STRBUF_INIT;
    struct tz *zone = tz_posix("EST5EDT,M3.2.0,M11.1.0", &err);
    struct cron hourly, daily;
    CHECK_INT(cron_parse("0 * * * *", &hourly, &err, NULL), 0);
    CHECK_INT(cron_parse("30 6 * * *", &daily, &err, NULL), 0);
    if (CHECK(zone != NULL)) {
        CHECK_INT(cron_next(&hourly, zone, 0), 3600);       /* 1969-12-31 20:00 EST */
        CHECK_INT(cron_next(&daily, zone, 0), 41400);         /* 1970-01-01 06:30 EST */
        CHECK_INT(cron_next(&daily, zone, -86400), -45000);   /* 1969-12-31 06:30 EST */
        CHECK_INT(cron_next(&daily, zone, -172800), -131400); /* 1969-12-30 06:30 EST */
    }
    CHECK_INT(cron_next(&hourly, NULL, -7200), -3600);          /* 1969-12-31 23:00 UTC */
    CHECK_INT(cron_next(&daily, NULL, -3786825600), -3786802200); /* 1850-01-01 06:30 UTC */
    tz_free(zone);
    strbuf_release(&err);
}

UNIT_TEST(cron_next_every)
{
    static const struct {
        const char *text;
        int64_t after, next;
    } rows[] = {
        /* multiples of the interval since 1970-01-01 00:00 UTC */
        {"@every 15m", 1000, 1800},
        {"@every 15m", 900, 1800},
        {"@every 15m", 0, 900},
        {"@every 15m", -1, 0},
        {"@every 15m", -901, -900},
        {"@every 1h30m", 1767225600, 1767231000}, /* 2026-01-01 00:00 is a multiple; 01:30 */
        {"@every 1h30m", 1767225599, 1767225600},
        {"@every 7d", 1767225600, 1767830400}, /* weeks start on Thursdays */
        {"@every 45s", 1767225600, 1767225645},
    };
    struct strbuf err = STRBUF_INIT;
    struct tz *zone = tz_load("America/New_York", &err);
    CHECK(zone != NULL);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cron c;
        CHECK_INT(cron_parse(rows[i].text, &c, &err, NULL), 0);
        CHECK_INT(cron_next(&c, NULL, rows[i].after), rows[i].next);
        /* The zone does not matter. */
        CHECK_INT(cron_next(&c, zone, rows[i].after), rows[i].next);
    }
    tz_free(zone);
    strbuf_release(&err);
}

UNIT_TEST(cron_next_never)
{
    /* cron_parse rejects these, but a hand-built schedule must still end. */
    struct cron feb30 = {.minutes = 1,
                         .hours = 1,
                         .days = 1u << 30,
                         .months = 1u << 2,
                         .weekdays = 0x7f,
                         .weekdays_any = true};
    struct cron none = {.minutes = 1, .hours = 1, .days = 0, .months = 0x1ffe, .weekdays = 0};
    struct strbuf err = STRBUF_INIT;
    struct tz *zone = tz_load("Europe/Copenhagen", &err);
    CHECK(zone != NULL);
    CHECK_INT(cron_next(&feb30, zone, 1767225600), CRON_NEVER);
    CHECK_INT(cron_next(&feb30, NULL, 1767225600), CRON_NEVER);
    CHECK_INT(cron_next(&none, zone, 1767225600), CRON_NEVER);
    feb30.hours = 0xffffff; /* the all-hours search too */
    CHECK_INT(cron_next(&feb30, zone, 1767225600), CRON_NEVER);
    /* Outside the years 1-9999. */
    struct cron daily;
    CHECK_INT(cron_parse("@daily", &daily, &err, NULL), 0);
    CHECK_INT(cron_next(&daily, zone, INT64_MAX), CRON_NEVER);
    CHECK_INT(cron_next(&daily, zone, INT64_MIN), CRON_NEVER);
    CHECK_INT(cron_next(&daily, zone, INT64_C(253402300800)), CRON_NEVER);
    /* 9999-12-30 23:59:59 -> 9999-12-31 00:00 UTC */
    CHECK_INT(cron_next(&daily, NULL, INT64_C(253402214399)), INT64_C(253402214400));
    tz_free(zone);
    strbuf_release(&err);
}

static const struct {
    const char *zone;
    int64_t at;
    int32_t offset;
} zone_offsets[] = {
    /* offsets: zone, instant, offset (Python zoneinfo) */
    {"Europe/Copenhagen", -3786825600, 3020},   /* 1850-01-01 00:00 UTC */
    {"Europe/Copenhagen", 1768478400, 3600},    /* 2026-01-15 12:00 UTC */
    {"Europe/Copenhagen", 1774745999, 3600},    /* 2026-03-29 00:59:59 UTC */
    {"Europe/Copenhagen", 1774746000, 7200},    /* 2026-03-29 01:00 UTC */
    {"Europe/Copenhagen", 1792889999, 7200},    /* 2026-10-25 00:59:59 UTC */
    {"Europe/Copenhagen", 1792890000, 3600},    /* 2026-10-25 01:00 UTC */
    {"Europe/Copenhagen", 2382480000, 7200},    /* 2045-07-01 00:00 UTC */
    {"Europe/Copenhagen", 4133937600, 3600},    /* 2100-12-31 12:00 UTC */
    {"America/New_York", 1772953199, -18000},   /* 2026-03-08 06:59:59 UTC */
    {"America/New_York", 1772953200, -14400},   /* 2026-03-08 07:00 UTC */
    {"America/New_York", 1793512800, -18000},   /* 2026-11-01 06:00 UTC */
    {"America/New_York", 2856124800, -14400},   /* 2060-07-04 00:00 UTC */
    {"Australia/Sydney", 2524608000, 39600},    /* 2050-01-01 00:00 UTC */
    {"Australia/Sydney", 2540246400, 36000},    /* 2050-07-01 00:00 UTC */
    {"Australia/Lord_Howe", 2524608000, 39600}, /* 2050-01-01 00:00 UTC */
    {"Asia/Kolkata", 1780272000, 19800},        /* 2026-06-01 00:00 UTC */
    {"America/Sao_Paulo", 1767225600, -10800},  /* 2026-01-01 00:00 UTC */
    {"UTC", 1767225600, 0},                     /* 2026-01-01 00:00 UTC */
};

UNIT_TEST(tz_offsets)
{
    for (size_t i = 0; i < sizeof(zone_offsets) / sizeof(zone_offsets[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct tz *zone = tz_load(zone_offsets[i].zone, &err);
        if (CHECK(zone != NULL)) {
            CHECK_STR(tz_name(zone), zone_offsets[i].zone);
            if (!CHECK_INT(tz_offset_at(zone, zone_offsets[i].at), zone_offsets[i].offset))
                fprintf(stderr, "  %s at %lld\n", zone_offsets[i].zone,
                        (long long)zone_offsets[i].at);
        }
        tz_free(zone);
        strbuf_release(&err);
    }
}

static const struct {
    const char *rule;
    int64_t at;
    int32_t offset;
} rule_offsets[] = {
    /* posix rules: rule, instant, offset (CPython zoneinfo._zoneinfo._parse_tz_str) */
    {"CET-1CEST,M3.5.0,M10.5.0/3", 1901149199, 3600},         /* 2030-03-31 00:59:59 UTC */
    {"CET-1CEST,M3.5.0,M10.5.0/3", 1901149200, 7200},         /* 2030-03-31 01:00 UTC */
    {"EST5EDT,M3.2.0,M11.1.0", 1899356400, -14400},           /* 2030-03-10 07:00 UTC */
    {"EST5EDT,M3.2.0,M11.1.0", 1919915999, -14400},           /* 2030-11-03 05:59:59 UTC */
    {"EST5EDT,M3.2.0,M11.1.0", 1919916000, -18000},           /* 2030-11-03 06:00 UTC */
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", 1894665600, 39600},      /* 2030-01-15 00:00 UTC */
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", 1907712000, 36000},      /* 2030-06-15 00:00 UTC */
    {"XST3XDT,J60/2,J300/2", 1835413199, -10800},             /* 2028-02-29 04:59:59 UTC */
    {"XST3XDT,J60/2,J300/2", 1835499599, -10800},             /* 2028-03-01 04:59:59 UTC */
    {"XST3XDT,J60/2,J300/2", 1835499600, -7200},              /* 2028-03-01 05:00 UTC */
    {"XST3XDT,J60/2,J300/2", 1856231999, -7200},              /* 2028-10-27 03:59:59 UTC */
    {"XST3XDT,J60/2,J300/2", 1856232000, -10800},             /* 2028-10-27 04:00 UTC */
    {"EST5EDT,M3.2.0,M11.1.0", 1899356399, -18000},           /* 2030-03-10 06:59:59 UTC */
    {"<+0530>-5:30", 1893456000, 19800},                      /* 2030-01-01 00:00 UTC */
    {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 1901149199, -10800}, /* 2030-03-31 00:59:59 UTC */
    {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 1901149200, -7200},  /* 2030-03-31 01:00 UTC */
    {"EST5EDT,0/0,J365/25", 1906502400, -14400},              /* 2030-06-01 00:00 UTC */
    {"EST5EDT,0/0,J365/25", 1924991999, -14400},              /* 2030-12-31 23:59:59 UTC */
    {"EST5EDT,0/0,J365/25", 1924992000, -14400},              /* 2031-01-01 00:00 UTC */
    {"IST-2IDT,M3.4.4/26,M10.5.0", 1900972799, 7200},         /* 2030-03-28 23:59:59 UTC */
    {"IST-2IDT,M3.4.4/26,M10.5.0", 1900972800, 10800},        /* 2030-03-29 00:00 UTC */
    /* worked out by hand: zero-based day 59 of 2028 is Feb 29, day 299 is Oct 26 */
    {"XST3XDT,59/2,299/2", 1835413199, -10800}, /* 2028-02-29 04:59:59 UTC */
    {"XST3XDT,59/2,299/2", 1835413200, -7200},  /* 2028-02-29 05:00 UTC */
    {"XST3XDT,59/2,299/2", 1856145599, -7200},  /* 2028-10-26 03:59:59 UTC */
    {"XST3XDT,59/2,299/2", 1856145600, -10800}, /* 2028-10-26 04:00 UTC */
};

UNIT_TEST(tz_posix_rules)
{
    for (size_t i = 0; i < sizeof(rule_offsets) / sizeof(rule_offsets[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct tz *zone = tz_posix(rule_offsets[i].rule, &err);
        if (CHECK(zone != NULL) &&
            !CHECK_INT(tz_offset_at(zone, rule_offsets[i].at), rule_offsets[i].offset))
            fprintf(stderr, "  %s at %lld\n", rule_offsets[i].rule, (long long)rule_offsets[i].at);
        tz_free(zone);
        strbuf_release(&err);
    }
    static const char *const bad[] = {"",
                                      "CET",
                                      "CET-1CEST,M3.5.0",
                                      "CE-1",
                                      "CET-1CEST,M13.5.0,M10.5.0",
                                      "CET-1 ",
                                      "<+03-3",
                                      "CET-1CEST,M3.5.0,M10.5.0/200",
                                      "CET-99"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct tz *zone = tz_posix(bad[i], &err);
        if (!CHECK(zone == NULL))
            fprintf(stderr, "  accepted '%s'\n", bad[i]);
        tz_free(zone);
        char *want = xprintf("invalid POSIX time zone rule '%s'", bad[i]);
        CHECK_STR(strbuf_str(&err), want);
        free(want);
        strbuf_release(&err);
    }
}

static const struct {
    const char *zone, *local; /* "YYYY-MM-DD hh:mm" on the zone's wall clock */
    enum tz_local_kind kind;
    int64_t first, second;
} local_times[] = {
    /* from Python's zoneinfo: fold=0/1, and a search second by second for a gap's end */
    {"Europe/Copenhagen", "2026-03-29 01:59", TZ_LOCAL_UNIQUE, 1774745940, 1774745940},
    {"Europe/Copenhagen", "2026-03-29 02:00", TZ_LOCAL_SKIPPED, 1774746000, 1774746000},
    {"Europe/Copenhagen", "2026-03-29 02:30", TZ_LOCAL_SKIPPED, 1774746000, 1774746000},
    {"Europe/Copenhagen", "2026-03-29 03:00", TZ_LOCAL_UNIQUE, 1774746000, 1774746000},
    {"Europe/Copenhagen", "2026-10-25 01:59", TZ_LOCAL_UNIQUE, 1792886340, 1792886340},
    {"Europe/Copenhagen", "2026-10-25 02:00", TZ_LOCAL_REPEATED, 1792886400, 1792890000},
    {"Europe/Copenhagen", "2026-10-25 02:30", TZ_LOCAL_REPEATED, 1792888200, 1792891800},
    {"Europe/Copenhagen", "2026-10-25 03:00", TZ_LOCAL_UNIQUE, 1792893600, 1792893600},
    {"Europe/Copenhagen", "2045-03-26 02:30", TZ_LOCAL_SKIPPED, 2374102800, 2374102800},
    {"Europe/Copenhagen", "2045-10-29 02:30", TZ_LOCAL_REPEATED, 2392849800, 2392853400},
    {"America/New_York", "2026-03-08 02:30", TZ_LOCAL_SKIPPED, 1772953200, 1772953200},
    {"America/New_York", "2026-11-01 01:30", TZ_LOCAL_REPEATED, 1793511000, 1793514600},
    {"Australia/Lord_Howe", "2026-10-04 02:15", TZ_LOCAL_SKIPPED, 1791041400, 1791041400},
    {"Australia/Lord_Howe", "2026-04-05 01:45", TZ_LOCAL_REPEATED, 1775313900, 1775315700},
    {"UTC", "2026-01-01 00:00", TZ_LOCAL_UNIQUE, 1767225600, 1767225600},
};

UNIT_TEST(tz_local_times)
{
    for (size_t i = 0; i < sizeof(local_times) / sizeof(local_times[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct tz *zone = tz_load(local_times[i].zone, &err);
        struct tz_civil civil = {0};
        int64_t first = 0, second = 0;
        CHECK(sscanf(local_times[i].local, "%" SCNd64 "-%d-%d %d:%d", &civil.year, &civil.month,
                     &civil.day, &civil.hour, &civil.minute) == 5);
        if (CHECK(zone != NULL)) {
            CHECK_INT(tz_civil_to_utc(zone, &civil, &first, &second), local_times[i].kind);
            CHECK_INT(first, local_times[i].first);
            if (!CHECK_INT(second, local_times[i].second))
                fprintf(stderr, "  %s %s\n", local_times[i].zone, local_times[i].local);
        }
        tz_free(zone);
        strbuf_release(&err);
    }
}

UNIT_TEST(tz_changes_and_civil)
{
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    struct tz *zone = tz_load("Europe/Copenhagen", &err), *utc = tz_utc();
    /* The 2026 changes (from the table), then 2045's from the footer rule. */
    CHECK_INT(tz_next_change(zone, 1767225600), 1774746000);
    CHECK_INT(tz_next_change(zone, 1774746000), 1792890000);
    CHECK_INT(tz_next_change(zone, 2366841600), 2374102800); /* 2045-01-01 -> 2045-03-26 01:00 */
    CHECK_INT(tz_next_change(utc, 0), INT64_MAX);
    struct tz_civil c;
    tz_utc_to_civil(zone, 1792890000, &c); /* 2026-10-25 01:00 UTC */
    CHECK_INT(c.year, 2026);
    CHECK_INT(c.month, 10);
    CHECK_INT(c.day, 25);
    CHECK_INT(c.hour, 2);
    CHECK_INT(c.minute, 0);
    CHECK_INT(c.weekday, 0);
    CHECK_INT(c.offset, 3600);
    tz_format(zone, 1774746000, &out);
    CHECK_STR(strbuf_str(&out), "2026-03-29 03:00:00 +02:00");
    strbuf_reset(&out);
    tz_format(zone, -3786825600, &out);
    CHECK_STR(strbuf_str(&out), "1850-01-01 00:50:20 +00:50:20");
    strbuf_reset(&out);
    tz_format(utc, 0, &out);
    CHECK_STR(strbuf_str(&out), "1970-01-01 00:00:00 +00:00");
    /* Day numbers: fixed points, then a round trip over 800 years. */
    CHECK_INT(tz_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(tz_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(tz_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(tz_days_from_civil(2028, 2, 29), 21243);
    CHECK_INT(tz_weekday(0), 4);
    CHECK_INT(tz_weekday(-1), 3);
    CHECK_INT(tz_weekday(21243), 2); /* 2028-02-29 is a Tuesday */
    CHECK_INT(tz_days_in_month(2100, 2), 28);
    CHECK_INT(tz_days_in_month(2000, 2), 29);
    bool round_trip = true;
    for (int64_t d = tz_days_from_civil(1700, 1, 1); d < tz_days_from_civil(2500, 1, 1); d++) {
        int64_t y;
        int m, day;
        tz_civil_from_days(d, &y, &m, &day);
        round_trip &=
            tz_days_from_civil(y, m, day) == d && day >= 1 && day <= tz_days_in_month(y, m);
    }
    CHECK(round_trip);
    tz_free(zone);
    tz_free(utc);
    strbuf_release(&out);
    strbuf_release(&err);
}

UNIT_TEST(tz_load_errors)
{
    static const struct {
        const char *name, *message;
    } rows[] = {
        {"Europe/Copenhagn", "unknown time zone 'Europe/Copenhagn'"},
        {"Europe", "unknown time zone 'Europe'"},
        {"../../etc/passwd",
         "invalid time zone name '../../etc/passwd': expected a name like 'Europe/Berlin'"},
        {"/etc/passwd",
         "invalid time zone name '/etc/passwd': expected a name like 'Europe/Berlin'"},
        {"Europe/../../x",
         "invalid time zone name 'Europe/../../x': expected a name like 'Europe/Berlin'"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct tz *zone = tz_load(rows[i].name, &err);
        CHECK(zone == NULL);
        CHECK_STR(strbuf_str(&err), rows[i].message);
        tz_free(zone);
        strbuf_release(&err);
    }
}

/* Set or unset an environment variable, returning the old value to restore. */
static char *swap_env(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old ? xstrdup(old) : NULL;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return saved;
}

static void restore_env(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

UNIT_TEST(tz_load_local)
{
    static const struct {
        const char *tz;   /* $TZ, NULL for unset */
        const char *name; /* the zone's name, NULL for an error */
        int32_t offset;   /* at 2026-01-15 12:00 UTC */
    } rows[] = {
        {"Europe/Berlin", "Europe/Berlin", 3600},
        {":America/New_York", "America/New_York", -18000},
        {"/usr/share/zoneinfo/Asia/Tokyo", "/usr/share/zoneinfo/Asia/Tokyo", 32400},
        {"", "UTC", 0},
        {"XYZ-3", "XYZ-3", 10800},
        {"AEST-10AEDT,M10.1.0,M4.1.0/3", "AEST-10AEDT,M10.1.0,M4.1.0/3", 39600},
        {"Nowhere/Land", NULL, 0},
        {"../etc/passwd", NULL, 0},
    };
    char *saved = swap_env("TZ", NULL);
    struct strbuf err = STRBUF_INIT;
    struct tz *zone = tz_load(NULL, &err);
    CHECK(zone != NULL); /* whatever /etc/localtime says */
    CHECK_STR(strbuf_str(&err), "");
    tz_free(zone);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        setenv("TZ", rows[i].tz, 1);
        strbuf_reset(&err);
        zone = tz_load(i % 2 ? "" : NULL, &err);
        if (rows[i].name && CHECK(zone != NULL)) {
            CHECK_STR(tz_name(zone), rows[i].name);
            CHECK_INT(tz_offset_at(zone, 1768478400), rows[i].offset);
        } else if (!rows[i].name) {
            CHECK(zone == NULL);
            char *want = xprintf("unknown time zone '%s' (from $TZ)", rows[i].tz);
            CHECK_STR(strbuf_str(&err), want);
            free(want);
        }
        tz_free(zone);
    }
    restore_env("TZ", saved);
    strbuf_release(&err);
}

UNIT_TEST(tz_load_tzdir)
{
    const char *dir = unit_tmpdir();
    char *link = xprintf("%s/Test", dir);
    CHECK(mkdir(link, 0755) == 0);
    free(link);
    link = xprintf("%s/Test/Zone", dir);
    CHECK(symlink("/usr/share/zoneinfo/America/New_York", link) == 0);
    free(link);
    char *saved = swap_env("TZDIR", dir);
    struct strbuf err = STRBUF_INIT;
    struct tz *zone = tz_load("Test/Zone", &err);
    if (CHECK(zone != NULL))
        CHECK_INT(tz_offset_at(zone, 1768478400), -18000);
    tz_free(zone);
    /* UTC needs no file. */
    zone = tz_load("UTC", &err);
    if (CHECK(zone != NULL))
        CHECK_INT(tz_offset_at(zone, 1768478400), 0);
    tz_free(zone);
    unit_write(dir, "Bad/Zone", "not a zone file");
    CHECK(tz_load("Bad/Zone", &err) == NULL);
    CHECK_STR(strbuf_str(&err), "invalid time zone file for 'Bad/Zone': bad header");
    strbuf_reset(&err);
    CHECK(tz_load("Europe/Copenhagen", &err) == NULL);
    CHECK_STR(strbuf_str(&err), "unknown time zone 'Europe/Copenhagen'");
    restore_env("TZDIR", saved);
    strbuf_release(&err);
}

/* A TZif file of the given version with these transitions and types, both data
 * blocks filled in (32-bit times in the first), and footer unless NULL. */
static char *build_tzif(size_t *len, char version, const int64_t *times, const uint8_t *types,
                        size_t time_count, const int32_t *offsets, size_t type_count,
                        const char *footer)
{
    struct strbuf sb = STRBUF_INIT;
    for (int block = 0; block < (version ? 2 : 1); block++) {
        size_t time_size = block ? 8 : 4;
        uint32_t counts[6] = {0, 0, 0, (uint32_t)time_count, (uint32_t)type_count, 4};
        strbuf_add(&sb, "TZif", 4);
        strbuf_addch(&sb, version);
        strbuf_add(&sb, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
        for (int i = 0; i < 6; i++)
            for (int shift = 24; shift >= 0; shift -= 8)
                strbuf_addch(&sb, (char)(counts[i] >> shift));
        for (size_t i = 0; i < time_count; i++)
            for (int shift = (int)time_size * 8 - 8; shift >= 0; shift -= 8)
                strbuf_addch(&sb, (char)((uint64_t)times[i] >> shift));
        strbuf_add(&sb, types, time_count);
        for (size_t i = 0; i < type_count; i++) {
            for (int shift = 24; shift >= 0; shift -= 8)
                strbuf_addch(&sb, (char)((uint32_t)offsets[i] >> shift));
            strbuf_add(&sb, "\0\0", 2);
        }
        strbuf_add(&sb, "ABC\0", 4);
    }
    if (footer)
        strbuf_addf(&sb, "\n%s\n", footer);
    *len = sb.len;
    return strbuf_detach(&sb);
}

UNIT_TEST(tz_parse_files)
{
    struct strbuf err = STRBUF_INIT;
    size_t len;
    /* A "slim" v2 file: no transitions, everything in the footer. */
    int32_t cet = 3600;
    char *data = build_tzif(&len, '2', NULL, NULL, 0, &cet, 1, "CET-1CEST,M3.5.0,M10.5.0/3");
    struct tz *zone = tz_parse("Slim/Zone", data, len, &err);
    if (CHECK(zone != NULL)) {
        CHECK_STR(tz_name(zone), "Slim/Zone");
        CHECK_INT(tz_offset_at(zone, 1774745999), 3600); /* 2026-03-29 00:59:59 UTC */
        CHECK_INT(tz_offset_at(zone, 1774746000), 7200);
        CHECK_INT(tz_offset_at(zone, 1792890000), 3600); /* 2026-10-25 01:00 UTC */
        CHECK_INT(tz_next_change(zone, 1767225600), 1774746000);
        struct cron c;
        CHECK_INT(cron_parse("30 2 * * *", &c, &err, NULL), 0);
        CHECK_INT(cron_next(&c, zone, 1774702800), 1774746000); /* the gap's end */
    }
    tz_free(zone);
    free(data);
    /* A v1 file: 32-bit times, no footer, the last type holds for ever. */
    int64_t times[] = {-100, 1000};
    uint8_t types[] = {1, 0};
    int32_t offsets[] = {-3600, 7200};
    data = build_tzif(&len, '\0', times, types, 2, offsets, 2, NULL);
    zone = tz_parse("V1/Zone", data, len, &err);
    if (CHECK(zone != NULL)) {
        CHECK_INT(tz_offset_at(zone, -101), -3600); /* before the first: type 0 */
        CHECK_INT(tz_offset_at(zone, -100), 7200);
        CHECK_INT(tz_offset_at(zone, 999), 7200);
        CHECK_INT(tz_offset_at(zone, 1000), -3600);
        CHECK_INT(tz_offset_at(zone, INT64_MAX), -3600);
        CHECK_INT(tz_next_change(zone, -100), 1000);
        CHECK_INT(tz_next_change(zone, 1000), INT64_MAX);
    }
    tz_free(zone);
    free(data);
    /* Broken files. */
    static const struct {
        size_t cut;          /* bytes kept of the good file, 0 for all */
        size_t poke;         /* offset to overwrite, 0 for none */
        char byte;           /* what to write there */
        const char *message; /* the error */
    } broken[] = {
        /* The layout: v1 header 0-43, v1 data 44-69, v2 header 70-113, times 114-129,
         * type indexes 130-131, types 132-143, abbreviations 144-147, footer 148-. */
        {10, 0, 0, "invalid time zone file for 'X': bad header"},
        {0, 0, 'X', "invalid time zone file for 'X': bad header"},
        {60, 0, 0, "invalid time zone file for 'X': truncated"},
        {0, 70, 'X', "invalid time zone file for 'X': bad second header"},
        {0, 130, 9, "invalid time zone file for 'X': bad type index"},
        {0, 122, (char)0x80, "invalid time zone file for 'X': transitions out of order"},
        {0, 132, 0x7f, "invalid time zone file for 'X': offset out of range"},
        {1, 0, 0, "invalid time zone file for 'X': bad footer"},
        {0, 1, 0, "invalid time zone file for 'X': bad footer"},
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        data = build_tzif(&len, '2', times, types, 2, offsets, 2, "EST5EDT");
        if (broken[i].cut == 1)
            len -= 1; /* the footer's closing newline */
        else if (broken[i].cut)
            len = broken[i].cut;
        if (broken[i].poke == 1)
            data[len - 3] = '!'; /* "EST5E!T" */
        else if (broken[i].poke)
            data[broken[i].poke] = broken[i].byte;
        else if (broken[i].byte)
            data[0] = broken[i].byte;
        strbuf_reset(&err);
        zone = tz_parse("X", data, len, &err);
        if (!CHECK(zone == NULL))
            fprintf(stderr, "  broken file %zu accepted\n", i);
        CHECK_STR(strbuf_str(&err), broken[i].message);
        tz_free(zone);
        free(data);
    }
    strbuf_release(&err);
}
