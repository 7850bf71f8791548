/* cron.c: parsing cron schedules and finding their next tick.
 *
 * The next tick is searched field by field on a "local seconds" timeline (wall-clock
 * seconds counted from 1970-01-01 00:00 local), skipping whole months, days and hours
 * that cannot match, and only then mapped to instants through the zone. That keeps
 * the work bounded by days, never minutes, even for schedules that fire rarely. */
#include "cron.h"
#include "tz.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
/* Feb 29 can be 8 years away (2096 -> 2104); look a little further than that. */
#define HORIZON ((int64_t)9 * 366 * DAY)
/* Years 1 to 9999, where calendars and zone rules make sense. */
#define FIRST_INSTANT INT64_C(-62135596800)
#define LAST_INSTANT INT64_C(253402300799)
/* The longest "@every" interval, ten years of days. */
#define EVERY_MAX ((int64_t)3650 * DAY)
#define ALL_HOURS ((uint32_t)0xffffff)

/* One of the five fields. */
struct field {
    const char *name;         /* as in messages: "day-of-week" */
    int min, max;             /* the numbers allowed (day-of-week allows 7 for Sunday) */
    int span;                 /* distinct values, the largest useful step */
    const char *const *names; /* three-letter names for min, min+1, ...; NULL if none */
    int name_count;           /* how many names */
    const char *name_kind;    /* "month" or "weekday" */
    const char *allowed;      /* what may be written, for messages */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct field fields[5] = {
    {"minute", 0, 59, 60, NULL, 0, NULL, "0-59"},
    {"hour", 0, 23, 24, NULL, 0, NULL, "0-23"},
    {"day-of-month", 1, 31, 31, NULL, 0, NULL, "1-31"},
    {"month", 1, 12, 12, month_names, 12, "month", "1-12 or JAN-DEC"},
    {"day-of-week", 0, 7, 7, weekday_names, 7, "weekday", "0-7 or SUN-SAT"},
};

static const struct {
    const char *name;      /* without the '@' */
    const char *expansion; /* the five fields it stands for */
} macros[] = {
    {"yearly", "0 0 1 1 *"}, {"annually", "0 0 1 1 *"}, {"monthly", "0 0 1 * *"},
    {"weekly", "0 0 * * 0"}, {"daily", "0 0 * * *"},    {"midnight", "0 0 * * *"},
    {"hourly", "0 * * * *"},
};

/* Where parse errors go. */
struct parser {
    const char *text;   /* the whole schedule */
    struct strbuf *err; /* the message */
    size_t *offset;     /* where in text the problem starts */
};

static int fail(struct parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(p->err, fmt, ap);
    va_end(ap);
    if (p->offset)
        *p->offset = offset;
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A character as a message shows it. */
static const char *show_char(char c, char buf[8])
{
    if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "\\x%02x", (unsigned char)c);
    return buf;
}

/* Parse a number or name at *pos (before end) into *value. */
static int parse_value(struct parser *p, const struct field *f, size_t *pos, size_t end, int *value)
{
    const char *text = p->text;
    size_t start = *pos;
    char shown[8];
    if (is_digit(text[start])) {
        long n = 0;
        while (*pos < end && is_digit(text[*pos])) {
            if (n < 1000)
                n = n * 10 + (text[*pos] - '0');
            (*pos)++;
        }
        if (n < f->min || n > f->max)
            return fail(p, start, "%s field: %.*s is out of range %d-%d", f->name,
                        (int)(*pos - start), text + start, f->min, f->max);
        *value = (int)n;
        return 0;
    }
    if (is_alpha(text[start])) {
        while (*pos < end && is_alpha(text[*pos]))
            (*pos)++;
        int len = (int)(*pos - start);
        if (!f->names)
            return fail(p, start, "%s field: '%.*s' is not a number (allowed: %s)", f->name, len,
                        text + start, f->allowed);
        for (int i = 0; len == 3 && i < f->name_count; i++) {
            const char *name = f->names[i];
            if (lower(text[start]) == name[0] && lower(text[start + 1]) == name[1] &&
                lower(text[start + 2]) == name[2]) {
                *value = f->min + i;
                return 0;
            }
        }
        return fail(p, start, "%s field: unknown %s name '%.*s' (allowed: %s)", f->name,
                    f->name_kind, len, text + start, f->allowed);
    }
    if (start == end || text[start] == ',')
        return fail(p, start, "%s field: missing value (allowed: %s)", f->name, f->allowed);
    return fail(p, start,
                "%s field: unexpected %s (allowed: %s, *, ranges a-b, steps /n, lists a,b)",
                f->name, show_char(text[start], shown), f->allowed);
}

/* Parse the field f in text[start, end) into a bitset; *any tells whether it was * alone. */
static int parse_field(struct parser *p, const struct field *f, size_t start, size_t end,
                       uint64_t *bits, bool *any)
{
    const char *text = p->text;
    size_t pos = start;
    char shown[8];
    *bits = 0;
    *any = false;
    for (int items = 1;; items++) {
        size_t item = pos;
        int lo, hi, step = 1;
        bool star = false, range = false;
        if (pos < end && text[pos] == '*') {
            star = true;
            lo = f->min;
            hi = f->max == 7 ? 6 : f->max;
            pos++;
        } else {
            if (parse_value(p, f, &pos, end, &lo) < 0)
                return -1;
            hi = lo;
            if (pos < end && text[pos] == '-') {
                pos++;
                range = true;
                if (parse_value(p, f, &pos, end, &hi) < 0)
                    return -1;
            }
        }
        if (pos < end && text[pos] == '/') {
            size_t at = ++pos;
            long n = 0;
            while (pos < end && is_digit(text[pos])) {
                if (n < 1000)
                    n = n * 10 + (text[pos] - '0');
                pos++;
            }
            if (pos == at || n < 1 || n > f->span)
                return fail(p, at, "%s field: step must be a number from 1 to %d", f->name,
                            f->span);
            step = (int)n;
            if (!star && !range)
                hi = f->max;
        }
        if (lo > hi) {
            int top = f->max == 7 ? 6 : f->max;
            if (lo <= top)
                return fail(p, item, "%s field: range %d-%d runs backwards (write %d-%d,%d-%d)",
                            f->name, lo, hi, lo, top, f->min, hi);
            return fail(p, item, "%s field: range %d-%d runs backwards", f->name, lo, hi);
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= (uint64_t)1 << (f->max == 7 && v == 7 ? 0 : v);
        if (items == 1 && star && step == 1 && pos == end)
            *any = true;
        if (pos == end)
            return 0;
        if (text[pos] != ',')
            return fail(p, pos,
                        "%s field: unexpected %s (allowed: %s, *, ranges a-b, steps /n, lists a,b)",
                        f->name, show_char(text[pos], shown), f->allowed);
        pos++;
    }
}

/* Reject day-of-month sets that no chosen month has, as they would never fire. */
static int check_days(struct parser *p, const struct cron *c, size_t offset)
{
    if (c->days_any || !c->weekdays_any)
        return 0;
    static const int longest[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int first = __builtin_ctz(c->days);
    for (int m = 1; m <= 12; m++)
        if ((c->months >> m & 1) && first <= longest[m - 1])
            return 0;
    return fail(p, offset,
                "day-of-month field: day %d never occurs in the chosen months, so the schedule "
                "would never fire",
                first);
}

/* Parse the five fields of p->text (a macro's expansion is parsed as a text of its own). */
static int parse_fields(struct parser *p, struct cron *out)
{
    const char *text = p->text;
    size_t starts[6], ends[6], count = 0, pos = 0;
    while (text[pos]) {
        while (is_space(text[pos]))
            pos++;
        if (!text[pos])
            break;
        size_t start = pos;
        while (text[pos] && !is_space(text[pos]))
            pos++;
        if (count < 6) {
            starts[count] = start;
            ends[count] = pos;
        }
        count++;
    }
    if (count == 0)
        return fail(p, 0,
                    "empty schedule: expected 5 fields (minute hour day-of-month month "
                    "day-of-week) or a macro such as @daily");
    if (count != 5)
        return fail(p, count > 5 ? starts[5] : ends[count - 1],
                    "expected 5 fields (minute hour day-of-month month day-of-week), got %zu%s",
                    count,
                    count == 6 || count == 7 ? " (seconds and years are not supported)" : "");
    uint64_t bits[5];
    bool any[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(p, &fields[i], starts[i], ends[i], &bits[i], &any[i]) < 0)
            return -1;
    *out = (struct cron){
        .minutes = bits[0],
        .hours = (uint32_t)bits[1],
        .days = (uint32_t)bits[2],
        .months = (uint16_t)bits[3],
        .weekdays = (uint8_t)bits[4],
        .days_any = any[2],
        .weekdays_any = any[4],
    };
    return check_days(p, out, starts[2]);
}

/* Parse the DURATION of "@every DURATION" at text[start, end). */
static int parse_duration(struct parser *p, size_t start, size_t end, int64_t *out)
{
    const char *text = p->text;
    int len = (int)(end - start);
    int64_t total = 0;
    char shown[8];
    if (start == end)
        return fail(p, start, "@every needs a duration such as 15m, 1h30m or 2d");
    for (size_t pos = start; pos < end;) {
        if (!is_digit(text[pos]))
            return fail(
                p, pos,
                "invalid duration '%.*s': expected a number and a unit (s, m, h or d), as in 1h30m",
                len, text + start);
        int64_t n = 0, unit;
        while (pos < end && is_digit(text[pos])) {
            if (n <= EVERY_MAX)
                n = n * 10 + (text[pos] - '0');
            pos++;
        }
        char c = pos < end ? text[pos] : '\0';
        if (c == 's')
            unit = 1;
        else if (c == 'm' && pos + 1 < end && text[pos + 1] == 's')
            return fail(
                p, pos,
                "invalid duration '%.*s': milliseconds are not supported, only whole seconds", len,
                text + start);
        else if (c == 'm')
            unit = 60;
        else if (c == 'h')
            unit = 3600;
        else if (c == 'd')
            unit = DAY;
        else if (c == '.' || c == ',')
            return fail(
                p, pos,
                "invalid duration '%.*s': fractions are not supported (write 1h30m, not 1.5h)", len,
                text + start);
        else if (c == '\0')
            return fail(p, pos, "invalid duration '%.*s': missing unit after %.*s (s, m, h or d)",
                        len, text + start, (int)(pos - start), text + start);
        else
            return fail(p, pos, "invalid duration '%.*s': unknown unit %s (allowed: s, m, h, d)",
                        len, text + start, show_char(c, shown));
        pos++;
        if (n > EVERY_MAX || (total += n * unit) > EVERY_MAX)
            return fail(p, start, "invalid duration '%.*s': longer than %lldd", len, text + start,
                        (long long)(EVERY_MAX / DAY));
    }
    if (total == 0)
        return fail(p, start, "invalid duration '%.*s': must be longer than 0s", len, text + start);
    *out = total;
    return 0;
}

/* Parse "@name" or "@every DURATION" starting at text[start]. */
static int parse_macro(struct parser *p, size_t start, struct cron *out)
{
    const char *text = p->text;
    size_t end = start + 1;
    while (text[end] && !is_space(text[end]))
        end++;
    char *name = xstrndup(text + start + 1, end - start - 1);
    for (char *s = name; *s; s++)
        *s = lower(*s);
    size_t arg = end, arg_end;
    while (is_space(text[arg]))
        arg++;
    for (arg_end = arg; text[arg_end] && !is_space(text[arg_end]);)
        arg_end++;
    size_t rest = arg_end;
    while (is_space(text[rest]))
        rest++;
    int ret = -1;
    if (!strcmp(name, "every")) {
        int64_t every;
        if (parse_duration(p, arg, arg_end, &every) < 0)
            goto out;
        if (text[rest]) {
            fail(p, rest, "unexpected '%s' after the duration of @every", text + rest);
            goto out;
        }
        *out = (struct cron){.every = every};
        ret = 0;
        goto out;
    }
    for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
        if (strcmp(name, macros[i].name) != 0)
            continue;
        if (text[arg]) {
            fail(p, arg, "unexpected '%s' after @%s, which takes no arguments", text + arg, name);
            goto out;
        }
        struct parser expansion = {macros[i].expansion, p->err, NULL};
        ret = parse_fields(&expansion, out);
        goto out;
    }
    const char *best = NULL;
    size_t best_distance = 3;
    for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
        size_t d = edit_distance(name, macros[i].name);
        if (d < best_distance) {
            best_distance = d;
            best = macros[i].name;
        }
    }
    if (edit_distance(name, "every") < best_distance)
        best = "every";
    if (best)
        fail(p, start, "unknown macro '%.*s' (did you mean @%s?)", (int)(end - start), text + start,
             best);
    else
        fail(p, start,
             "unknown macro '%.*s' (allowed: @yearly, @annually, @monthly, @weekly, @daily, "
             "@midnight, @hourly, @every DURATION)",
             (int)(end - start), text + start);
out:
    free(name);
    return ret;
}

int cron_parse(const char *text, struct cron *out, struct strbuf *err, size_t *err_offset)
{
    struct parser p = {text, err, err_offset};
    size_t start = 0;
    while (is_space(text[start]))
        start++;
    if (text[start] == '@')
        return parse_macro(&p, start, out);
    return parse_fields(&p, out);
}

/* Searching. */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The lowest set bit of bits at or above from, or -1. */
static int next_bit(uint64_t bits, int from)
{
    bits = from >= 64 ? 0 : bits >> from << from;
    return bits ? __builtin_ctzll(bits) : -1;
}

static bool day_matches(const struct cron *c, int day, int weekday)
{
    bool dom = c->days >> day & 1, dow = c->weekdays >> weekday & 1;
    return c->days_any || c->weekdays_any ? dom && dow : dom || dow;
}

/* A position on the local timeline, broken down for stepping field by field. */
struct cursor {
    int64_t year;
    int month, day, hour, minute;
};

static void next_day(struct cursor *at)
{
    at->hour = at->minute = 0;
    if (++at->day <= tz_days_in_month(at->year, at->month))
        return;
    at->day = 1;
    if (++at->month > 12) {
        at->month = 1;
        at->year++;
    }
}

/* What local_next returns when nothing matches: not -1, since local times before
 * 1970 are negative and as valid as any. */
#define NO_MATCH INT64_MIN

/* The first matching local time (a whole minute) strictly after local second
 * `after` and not after `limit`, or NO_MATCH. */
static int64_t local_next(const struct cron *c, int64_t after, int64_t limit)
{
    int64_t start = floor_div(after, 60) * 60 + 60;
    int64_t days = floor_div(start, DAY), secs = start - days * DAY;
    struct cursor at = {0, 0, 0, (int)(secs / 3600), (int)(secs / 60 % 60)};
    tz_civil_from_days(days, &at.year, &at.month, &at.day);
    for (;;) {
        days = tz_days_from_civil(at.year, at.month, at.day);
        int64_t now = days * DAY + at.hour * 3600 + at.minute * 60;
        if (now > limit)
            return NO_MATCH;
        if (!(c->months >> at.month & 1)) {
            at.day = tz_days_in_month(at.year, at.month);
            next_day(&at);
            continue;
        }
        if (!day_matches(c, at.day, tz_weekday(days))) {
            next_day(&at);
            continue;
        }
        int hour = next_bit(c->hours, at.hour);
        if (hour < 0) {
            next_day(&at);
            continue;
        }
        if (hour != at.hour) {
            at.hour = hour;
            at.minute = 0;
        }
        int minute = next_bit(c->minutes, at.minute);
        if (minute < 0) {
            at.minute = 0;
            if (++at.hour == 24)
                next_day(&at);
            continue;
        }
        now = days * DAY + at.hour * 3600 + minute * 60;
        return now <= limit ? now : NO_MATCH;
    }
}

/* All-hours schedules: every instant whose wall clock matches. Within a stretch of
 * constant offset the wall clock is the instant shifted, so search it directly. */
static int64_t next_by_instant(const struct cron *c, const struct tz *zone, int64_t after)
{
    int64_t horizon = after + HORIZON;
    for (int64_t lo = after;;) {
        /* Instants in [lo + 1, to) all have this offset. */
        int32_t offset = tz_offset_at(zone, lo + 1);
        int64_t to = tz_next_change(zone, lo + 1);
        int64_t end = to < horizon ? to : horizon;
        int64_t local = local_next(c, lo + offset, end - 1 + offset);
        if (local != NO_MATCH)
            return local - offset;
        if (end >= horizon)
            return CRON_NEVER;
        lo = end - 1;
    }
}

/* Other schedules: once per matching wall-clock time, at its first occurrence or,
 * when skipped, at the end of the gap. That instant never decreases as the wall-clock
 * time grows, so the first match whose instant is past `after` is the answer; only
 * matches inside a repeated hour already passed can come before it. */
static int64_t next_by_wall_clock(const struct cron *c, const struct tz *zone, int64_t after)
{
    int64_t cursor = after + tz_offset_at(zone, after), limit = cursor + HORIZON;
    for (;;) {
        int64_t local = local_next(c, cursor, limit), first, second;
        if (local == NO_MATCH)
            return CRON_NEVER;
        tz_local_to_utc(zone, local, &first, &second);
        if (first > after)
            return first;
        cursor = local;
    }
}

int64_t cron_next(const struct cron *c, const struct tz *zone, int64_t after_utc)
{
    if (after_utc < FIRST_INSTANT || after_utc > LAST_INSTANT)
        return CRON_NEVER;
    if (c->every > 0)
        return floor_div(after_utc, c->every) * c->every + c->every;
    if (!zone) {
        int64_t local = local_next(c, after_utc, after_utc + HORIZON);
        return local == NO_MATCH ? CRON_NEVER : local;
    }
    if ((c->hours & ALL_HOURS) == ALL_HOURS)
        return next_by_instant(c, zone, after_utc);
    return next_by_wall_clock(c, zone, after_utc);
}
