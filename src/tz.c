/* tz.c: a reader of compiled IANA zone files and the civil-time arithmetic on top.
 *
 * TZif (RFC 8536), as found below /usr/share/zoneinfo:
 *   header   "TZif", version ('\0', '2', '3' or '4'), 15 unused bytes, then six
 *            big-endian 32-bit counts: isutcnt isstdcnt leapcnt timecnt typecnt charcnt
 *   data     timecnt transition times (32-bit in the v1 block, 64-bit in the v2 one),
 *            timecnt type indexes (1 byte), typecnt types (utoff i32, isdst u8,
 *            abbreviation index u8), charcnt abbreviation bytes, leapcnt leap-second
 *            records, isstdcnt and isutcnt indicators (1 byte each)
 *   v2+      the v1 header and block, a second header and block with 64-bit times,
 *            then a footer "\n<POSIX TZ rule>\n" that governs instants after the
 *            last transition ("slim" files hold almost nothing but the footer).
 * Only offsets matter to stau, so abbreviations, isdst and the indicators are
 * skipped, and so are leap seconds (the "right/" zones are off by them). Instants
 * before the first transition use type 0, as RFC 8536 says.
 *
 * We never call tzset() or touch $TZ: libc's zone state is process-wide, and stau
 * evaluates many zones at once from several threads. */
#include "tz.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY 86400
/* Instants are clamped to about ±35 million years so the arithmetic never overflows. */
#define INSTANT_LIMIT ((int64_t)1 << 50)
/* The widest UTC offsets RFC 8536 allows (-24:59:59 to +25:59:59). */
#define OFFSET_MIN (-89999)
#define OFFSET_MAX 93599
/* Zone files are a few KiB; anything far larger is not one. */
#define FILE_LIMIT (4 << 20)

/* When a POSIX rule switches: "Jn", "n" or "Mm.w.d", plus a time of day. */
struct rule_date {
    char kind;    /* 'J' day 1-365 without Feb 29, 'D' day 0-365 with it, 'M' month rule */
    int day;      /* for 'J' and 'D' */
    int month;    /* for 'M': 1-12 */
    int week;     /* for 'M': 1-5, 5 meaning the last such weekday */
    int weekday;  /* for 'M': 0-6, 0 = Sunday */
    int32_t time; /* seconds after local midnight, may be negative or past 24h (v3) */
};

/* A POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3". */
struct rule {
    int32_t std_offset;          /* seconds east of UTC in standard time */
    int32_t dst_offset;          /* seconds east of UTC in daylight time */
    bool has_dst;                /* whether there is daylight time at all */
    struct rule_date start, end; /* switch to daylight time (read in standard time) and back */
};

struct tz {
    char *name;        /* as loaded */
    int64_t *times;    /* transition instants, ascending */
    uint8_t *types;    /* the type index in force from each transition on */
    size_t time_count; /* transitions */
    int32_t *offsets;  /* the UTC offset of each type */
    size_t type_count; /* types, at least one */
    bool has_rule;     /* whether rule governs instants after the last transition */
    struct rule rule;  /* the footer rule */
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clamp_instant(int64_t t)
{
    return t < -INSTANT_LIMIT ? -INSTANT_LIMIT : t > INSTANT_LIMIT ? INSTANT_LIMIT : t;
}

/* Howard Hinnant's days_from_civil: eras of 400 years, March-based years. */
int64_t tz_days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = floor_div(year, 400);
    int64_t yoe = year - era * 400;
    int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

int tz_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday. */
    int64_t r = (days + 4) % 7;
    return (int)(r < 0 ? r + 7 : r);
}

static bool is_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int tz_days_in_month(int64_t year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* The local day number on which a rule switches in year. */
static int64_t rule_day(const struct rule_date *d, int64_t year)
{
    int64_t jan1 = tz_days_from_civil(year, 1, 1);
    if (d->kind == 'J')
        return jan1 + d->day - 1 + (is_leap(year) && d->day >= 60);
    if (d->kind == 'D')
        return jan1 + d->day;
    int64_t first = tz_days_from_civil(year, d->month, 1);
    int64_t day = first + (d->weekday - tz_weekday(first) + 7) % 7 + 7 * (d->week - 1);
    while (day >= first + tz_days_in_month(year, d->month))
        day -= 7;
    return day;
}

/* The instants of a rule's two switches in year: [0] into daylight time, [1] out. */
static void rule_switches(const struct rule *r, int64_t year, int64_t out[2])
{
    out[0] = rule_day(&r->start, year) * DAY + r->start.time - r->std_offset;
    out[1] = rule_day(&r->end, year) * DAY + r->end.time - r->dst_offset;
}

static int64_t year_of(int64_t seconds)
{
    int64_t year;
    int month, day;
    tz_civil_from_days(floor_div(seconds, DAY), &year, &month, &day);
    return year;
}

static int32_t rule_offset(const struct rule *r, int64_t utc)
{
    if (!r->has_dst)
        return r->std_offset;
    /* The latest switch at or before utc decides. Looking at the neighbouring years
     * too covers zones whose daylight time spans New Year (the southern hemisphere).
     * On a tie the switch into daylight time wins, which is how "all year daylight"
     * rules such as "EST5EDT,0/0,J365/25" are written. */
    int64_t year = year_of(utc + r->std_offset), best = INT64_MIN;
    int32_t offset = r->std_offset;
    for (int64_t y = year - 1; y <= year + 1; y++) {
        int64_t sw[2];
        rule_switches(r, y, sw);
        if (sw[1] <= utc && sw[1] > best) {
            best = sw[1];
            offset = r->std_offset;
        }
        if (sw[0] <= utc && sw[0] >= best) {
            best = sw[0];
            offset = r->dst_offset;
        }
    }
    return offset;
}

static int64_t rule_next_change(const struct rule *r, int64_t utc)
{
    if (!r->has_dst || r->std_offset == r->dst_offset)
        return INT64_MAX;
    int64_t year = year_of(utc + r->std_offset), best = INT64_MAX;
    for (int64_t y = year - 1; y <= year + 2; y++) {
        int64_t sw[2];
        rule_switches(r, y, sw);
        for (int i = 0; i < 2; i++)
            if (sw[i] > utc && sw[i] < best && rule_offset(r, sw[i]) != rule_offset(r, sw[i] - 1))
                best = sw[i];
    }
    return best;
}

int32_t tz_offset_at(const struct tz *zone, int64_t utc)
{
    utc = clamp_instant(utc);
    size_t n = zone->time_count;
    if (n == 0)
        return zone->has_rule ? rule_offset(&zone->rule, utc) : zone->offsets[0];
    if (utc < zone->times[0])
        return zone->offsets[0];
    if (utc >= zone->times[n - 1] && zone->has_rule)
        return rule_offset(&zone->rule, utc);
    /* The last transition at or before utc. */
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (zone->times[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    return zone->offsets[zone->types[lo]];
}

int64_t tz_next_change(const struct tz *zone, int64_t utc)
{
    utc = clamp_instant(utc);
    size_t n = zone->time_count;
    if (n > 0 && utc < zone->times[n - 1]) {
        /* Transitions may change only the abbreviation; skip those. */
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (zone->times[mid] <= utc)
                lo = mid + 1;
            else
                hi = mid;
        }
        int32_t before = tz_offset_at(zone, utc);
        for (size_t i = lo; i < n; i++) {
            int32_t after = tz_offset_at(zone, zone->times[i]);
            if (after != before)
                return zone->times[i];
            before = after;
        }
        utc = zone->times[n - 1];
    }
    return zone->has_rule ? rule_next_change(&zone->rule, utc) : INT64_MAX;
}

void tz_utc_to_civil(const struct tz *zone, int64_t utc, struct tz_civil *out)
{
    utc = clamp_instant(utc);
    int32_t offset = tz_offset_at(zone, utc);
    int64_t local = utc + offset, days = floor_div(local, DAY), secs = local - days * DAY;
    tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs / 60 % 60);
    out->second = (int)(secs % 60);
    out->weekday = tz_weekday(days);
    out->offset = offset;
}

enum tz_local_kind tz_local_to_utc(const struct tz *zone, int64_t local, int64_t *first,
                                   int64_t *second)
{
    /* Walk the stretches of constant offset that could show this wall-clock time
     * (no offset exceeds a day). In a stretch [from, to) with offset o the clock
     * shows local at local - o if that lies inside; the first stretch whose clock
     * gets past local is where a skipped time "happens". */
    const int64_t window = 2 * DAY;
    local = clamp_instant(local);
    int64_t found[2] = {0, 0}, reached = INT64_MAX;
    int count = 0;
    for (int64_t from = local - window; from <= local + window;) {
        int32_t offset = tz_offset_at(zone, from);
        int64_t to = tz_next_change(zone, from), at = local - offset;
        if (at < to) {
            if (at >= from && count < 2)
                found[count++] = at;
            if (reached == INT64_MAX)
                reached = at >= from ? at : from;
        }
        if (to == INT64_MAX || to <= from)
            break;
        from = to;
    }
    if (count == 0) {
        *first = *second = reached;
        return TZ_LOCAL_SKIPPED;
    }
    *first = found[0];
    *second = found[count - 1];
    return count == 2 ? TZ_LOCAL_REPEATED : TZ_LOCAL_UNIQUE;
}

enum tz_local_kind tz_civil_to_utc(const struct tz *zone, const struct tz_civil *civil,
                                   int64_t *first, int64_t *second)
{
    int64_t year = civil->year;
    if (year < -1000000 || year > 1000000)
        year = year < 0 ? -1000000 : 1000000;
    int64_t local = tz_days_from_civil(year, civil->month, civil->day) * DAY + civil->hour * 3600 +
                    civil->minute * 60 + civil->second;
    return tz_local_to_utc(zone, local, first, second);
}

void tz_format(const struct tz *zone, int64_t utc, struct strbuf *out)
{
    struct tz_civil c;
    tz_utc_to_civil(zone, utc, &c);
    int32_t off = c.offset < 0 ? -c.offset : c.offset;
    strbuf_addf(out, "%04lld-%02d-%02d %02d:%02d:%02d %c%02d:%02d", (long long)c.year, c.month,
                c.day, c.hour, c.minute, c.second, c.offset < 0 ? '-' : '+', (int)(off / 3600),
                (int)(off / 60 % 60));
    if (off % 60)
        strbuf_addf(out, ":%02d", (int)(off % 60));
}

/* POSIX TZ rules: std offset [dst [offset] [,start[/time],end[/time]]]. */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Skip a zone abbreviation, "CET" or quoted "<+0330>"; NULL if there is none. */
static const char *parse_abbreviation(const char *p)
{
    const char *start = p;
    if (*p == '<') {
        for (start = ++p; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-';)
            p++;
        return *p == '>' && p - start >= 3 ? p + 1 : NULL;
    }
    while (is_alpha(*p))
        p++;
    return p - start >= 3 ? p : NULL;
}

static const char *parse_number(const char *p, int max, int *out)
{
    if (!is_digit(*p))
        return NULL;
    int n = 0;
    while (is_digit(*p)) {
        n = n * 10 + (*p++ - '0');
        if (n > max)
            return NULL;
    }
    *out = n;
    return p;
}

/* [+-]hh[:mm[:ss]] in seconds, sign as written. */
static const char *parse_hms(const char *p, int max_hours, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!(p = parse_number(p, max_hours, &h)))
        return NULL;
    if (*p == ':' && !(p = parse_number(p + 1, 59, &m)))
        return NULL;
    if (*p == ':' && !(p = parse_number(p + 1, 59, &s)))
        return NULL;
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_rule_date(const char *p, struct rule_date *d)
{
    d->time = 2 * 3600;
    if (*p == 'J') {
        d->kind = 'J';
        if (!(p = parse_number(p + 1, 365, &d->day)) || d->day < 1)
            return NULL;
    } else if (*p == 'M') {
        d->kind = 'M';
        if (!(p = parse_number(p + 1, 12, &d->month)) || d->month < 1 || *p != '.' ||
            !(p = parse_number(p + 1, 5, &d->week)) || d->week < 1 || *p != '.' ||
            !(p = parse_number(p + 1, 6, &d->weekday)))
            return NULL;
    } else {
        d->kind = 'D';
        if (!(p = parse_number(p, 365, &d->day)))
            return NULL;
    }
    /* RFC 8536 (v3) allows times from -167 to 167 hours. */
    if (*p == '/' && !(p = parse_hms(p + 1, 167, &d->time)))
        return NULL;
    return p;
}

static bool offset_ok(int32_t offset)
{
    return offset >= OFFSET_MIN && offset <= OFFSET_MAX;
}

/* Parse a whole POSIX rule (len bytes at text); false if malformed. */
static bool parse_rule(const char *text, size_t len, struct rule *r)
{
    char *copy = xstrndup(text, len);
    const char *p = copy;
    int32_t off;
    bool ok = false;
    memset(r, 0, sizeof(*r));
    /* POSIX offsets count west of Greenwich: "CET-1" is one hour east. */
    if (!(p = parse_abbreviation(p)) || !(p = parse_hms(p, 24, &off)))
        goto out;
    r->std_offset = -off;
    r->dst_offset = r->std_offset + 3600;
    if (*p) {
        r->has_dst = true;
        if (!(p = parse_abbreviation(p)))
            goto out;
        if (*p && *p != ',') {
            if (!(p = parse_hms(p, 24, &off)))
                goto out;
            r->dst_offset = -off;
        }
        /* Without dates POSIX leaves the switches to the implementation; like glibc,
         * take the United States' rules. */
        r->start = (struct rule_date){'M', 0, 3, 2, 0, 2 * 3600};
        r->end = (struct rule_date){'M', 0, 11, 1, 0, 2 * 3600};
        if (*p == ',' && (!(p = parse_rule_date(p + 1, &r->start)) || *p != ',' ||
                          !(p = parse_rule_date(p + 1, &r->end))))
            goto out;
    }
    ok = *p == '\0' && offset_ok(r->std_offset) && offset_ok(r->dst_offset);
out:
    free(copy);
    return ok;
}

/* TZif files. */

struct tzif_header {
    char version;                                 /* '\0', '2', '3', '4' */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt; /* the counts, in file order */
    uint32_t typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool read_header(const unsigned char *p, size_t len, struct tzif_header *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    h->version = (char)p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return h->typecnt >= 1 && h->typecnt <= 256 && h->timecnt <= 1000000 && h->leapcnt <= 100000 &&
           h->charcnt <= 100000 && (h->isutcnt == 0 || h->isutcnt == h->typecnt) &&
           (h->isstdcnt == 0 || h->isstdcnt == h->typecnt);
}

/* The size of the data block after a header with time_size-byte times. */
static size_t block_size(const struct tzif_header *h, size_t time_size)
{
    return (size_t)h->timecnt * (time_size + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
}

static struct tz *new_zone(const char *name)
{
    struct tz *zone = xcalloc(1, sizeof(*zone));
    zone->name = xstrdup(name);
    return zone;
}

/* Fill zone from the data block at p; a reason on failure. */
static const char *read_block(struct tz *zone, const struct tzif_header *h, const unsigned char *p,
                              size_t time_size)
{
    zone->time_count = h->timecnt;
    zone->type_count = h->typecnt;
    zone->times = xmalloc((h->timecnt ? h->timecnt : 1) * sizeof(*zone->times));
    zone->types = xmalloc(h->timecnt ? h->timecnt : 1);
    zone->offsets = xmalloc(h->typecnt * sizeof(*zone->offsets));
    for (size_t i = 0; i < h->timecnt; i++) {
        const unsigned char *at = p + i * time_size;
        zone->times[i] = time_size == 8 ? be64(at) : (int32_t)be32(at);
        if (i > 0 && zone->times[i] <= zone->times[i - 1])
            return "transitions out of order";
    }
    p += (size_t)h->timecnt * time_size;
    for (size_t i = 0; i < h->timecnt; i++)
        if ((zone->types[i] = p[i]) >= h->typecnt)
            return "bad type index";
    p += h->timecnt;
    for (size_t i = 0; i < h->typecnt; i++, p += 6)
        if (!offset_ok(zone->offsets[i] = (int32_t)be32(p)))
            return "offset out of range";
    return NULL;
}

struct tz *tz_parse(const char *name, const void *data, size_t len, struct strbuf *err)
{
    const unsigned char *p = data, *end = p + len;
    struct tzif_header h;
    struct tz *zone = new_zone(name);
    const char *why = "bad header";
    if (!read_header(p, len, &h))
        goto bad;
    size_t size = block_size(&h, 4);
    why = "truncated";
    if (size > len - 44)
        goto bad;
    p += 44;
    if (h.version >= '2') {
        /* Skip the 32-bit block: the 64-bit one and the footer supersede it. */
        p += size;
        why = "bad second header";
        if (!read_header(p, (size_t)(end - p), &h))
            goto bad;
        p += 44;
        size = block_size(&h, 8);
        why = "truncated";
        if (size > (size_t)(end - p))
            goto bad;
        if ((why = read_block(zone, &h, p, 8)))
            goto bad;
        p += size;
        why = "bad footer";
        const unsigned char *nl = p < end ? memchr(p + 1, '\n', (size_t)(end - p - 1)) : NULL;
        if (p == end || *p != '\n' || !nl)
            goto bad;
        if (nl > p + 1) {
            zone->has_rule = true;
            if (!parse_rule((const char *)p + 1, (size_t)(nl - p - 1), &zone->rule))
                goto bad;
        }
    } else if ((why = read_block(zone, &h, p, 4))) {
        goto bad;
    }
    return zone;
bad:
    strbuf_addf(err, "invalid time zone file for '%s': %s", name, why);
    tz_free(zone);
    return NULL;
}

struct tz *tz_posix(const char *text, struct strbuf *err)
{
    struct tz *zone = new_zone(text);
    zone->type_count = 1;
    zone->offsets = xmalloc(sizeof(*zone->offsets));
    zone->has_rule = true;
    if (!parse_rule(text, strlen(text), &zone->rule)) {
        strbuf_addf(err, "invalid POSIX time zone rule '%s'", text);
        tz_free(zone);
        return NULL;
    }
    zone->offsets[0] = zone->rule.std_offset;
    return zone;
}

struct tz *tz_utc(void)
{
    struct tz *zone = new_zone("UTC");
    zone->type_count = 1;
    zone->offsets = xcalloc(1, sizeof(*zone->offsets));
    return zone;
}

void tz_free(struct tz *zone)
{
    if (!zone)
        return;
    free(zone->name);
    free(zone->times);
    free(zone->types);
    free(zone->offsets);
    free(zone);
}

const char *tz_name(const struct tz *zone)
{
    return zone->name;
}

/* Load the TZif file at path under name. *missing is set (and err left alone)
 * when there is no such regular file. */
static struct tz *load_file(const char *path, const char *name, bool *missing, struct strbuf *err)
{
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            *missing = true;
        else
            strbuf_addf(err, "cannot open time zone file '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    struct tz *zone = NULL;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        strbuf_addf(err, "cannot stat time zone file '%s': %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        *missing = true;
    } else if (st.st_size > FILE_LIMIT) {
        strbuf_addf(err, "invalid time zone file for '%s': too large", name);
    } else {
        size_t len = 0, cap = (size_t)st.st_size + 1;
        buf = xmalloc(cap);
        for (;;) {
            ssize_t got = read(fd, buf + len, cap - len);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                strbuf_addf(err, "cannot read time zone file '%s': %s", path, strerror(errno));
                break;
            }
            len += (size_t)got;
            if (got == 0 || len == cap) {
                zone = tz_parse(name, buf, len, err);
                break;
            }
        }
    }
    free(buf);
    if (close(fd) != 0 && zone) {
        strbuf_addf(err, "cannot close time zone file '%s': %s", path, strerror(errno));
        tz_free(zone);
        zone = NULL;
    }
    return zone;
}

static bool safe_name(const char *name)
{
    return *name && *name != '/' && !strstr(name, "..");
}

/* Load a zone by name from the zone directory; *missing as in load_file(). */
static struct tz *load_named(const char *name, bool *missing, struct strbuf *err)
{
    const char *dir = getenv("TZDIR");
    char *path = xprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    struct tz *zone = load_file(path, name, missing, err);
    free(path);
    /* Minimal containers may lack zone files; UTC needs none. */
    if (*missing && (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC"))) {
        *missing = false;
        zone = tz_utc();
        free(zone->name);
        zone->name = xstrdup(name);
    }
    return zone;
}

/* The zone /etc/localtime points to, named after its link target. */
static struct tz *load_localtime(struct strbuf *err)
{
    char target[4096];
    const char *name = "localtime";
    ssize_t n = readlink("/etc/localtime", target, sizeof(target) - 1);
    if (n > 0) {
        target[n] = '\0';
        const char *at = strstr(target, "zoneinfo/");
        if (at && at[9])
            name = at + 9;
    }
    bool missing;
    struct tz *zone = load_file("/etc/localtime", name, &missing, err);
    return missing ? tz_utc() : zone;
}

/* The machine's zone: $TZ (":Zone/Name", "Zone/Name", "/path" or a POSIX rule),
 * else /etc/localtime, else UTC. */
static struct tz *load_local(struct strbuf *err)
{
    const char *env = getenv("TZ");
    if (!env)
        return load_localtime(err);
    /* Like glibc: a set but empty TZ means UTC. */
    const char *spec = env + (*env == ':');
    if (!*spec)
        return tz_utc();
    struct strbuf ignored = STRBUF_INIT;
    struct tz *zone = NULL;
    bool missing = true;
    if (*spec == '/')
        zone = load_file(spec, spec, &missing, err);
    else if (safe_name(spec))
        zone = load_named(spec, &missing, err);
    if (!zone && missing && *spec != '/' && *env != ':')
        zone = tz_posix(spec, &ignored);
    strbuf_release(&ignored);
    if (!zone && missing)
        strbuf_addf(err, "unknown time zone '%s' (from $TZ)", env);
    return zone;
}

void tz_machine_identity(struct strbuf *out)
{
    const char *env = getenv("TZ");
    strbuf_addf(out, "TZ=%s%s\n", env ? "set:" : "unset", env ? env : "");
    char target[4096];
    ssize_t n = readlink("/etc/localtime", target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    struct stat st;
    if (stat("/etc/localtime", &st) == 0)
        strbuf_addf(out, "localtime=%s %llu %lld.%09ld %lld\n", target,
                    (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                    (long long)st.st_size);
    else
        strbuf_addf(out, "localtime=%s none\n", target);
}

struct tz *tz_load(const char *name, struct strbuf *err)
{
    if (!name || !*name)
        return load_local(err);
    if (!safe_name(name)) {
        strbuf_addf(err, "invalid time zone name '%s': expected a name like 'Europe/Berlin'", name);
        return NULL;
    }
    bool missing;
    struct tz *zone = load_named(name, &missing, err);
    if (missing)
        strbuf_addf(err, "unknown time zone '%s'", name);
    return zone;
}

/* Append to names the zone names of one line of tzdata.zi ("Z NAME ...", "L TARGET
 * NAME") or of zone1970.tab ("CODES COORDINATES NAME ..."). */
static void zone_names_of(char *line, bool tab, struct strlist *names)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '#' || !line[0])
        return;
    char *save = NULL, *field[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++)
        field[k] = strtok_r(k ? NULL : line, tab ? "\t" : " ", &save);
    if (tab && field[2])
        VEC_PUSH(names, xstrdup(field[2]));
    else if (!tab && field[0] && strcmp(field[0], "Z") == 0 && field[1])
        VEC_PUSH(names, xstrdup(field[1]));
    else if (!tab && field[0] && strcmp(field[0], "L") == 0 && field[2])
        VEC_PUSH(names, xstrdup(field[2]));
}

char *tz_closest(const char *name)
{
    const char *env = getenv("TZDIR");
    const char *dir = env && *env ? env : "/usr/share/zoneinfo";
    struct strlist names = {0};
    for (int tab = 0; tab < 2 && !names.len; tab++) {
        char *path = xprintf("%s/%s", dir, tab ? "zone1970.tab" : "tzdata.zi");
        FILE *f = fopen(path, "r");
        free(path);
        char line[1024];
        while (f && fgets(line, sizeof(line), f))
            zone_names_of(line, tab, &names);
        if (f)
            fclose(f);
    }
    VEC_PUSH(&names, (char *)NULL);
    const char *best = did_you_mean(name, (const char *const *)names.items);
    char *found = best && strcmp(best, name) != 0 ? xstrdup(best) : NULL;
    for (size_t i = 0; names.items[i]; i++)
        free(names.items[i]);
    VEC_FREE(&names);
    return found;
}
