/* tz.h: IANA time zones read straight from compiled TZif files, and civil-time
 * arithmetic. Pure functions of their arguments: no TZ/tzset, no global state,
 * so they are safe from any thread and trivially testable. */
#ifndef STAU_TZ_H
#define STAU_TZ_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* A loaded zone; opaque, from tz_load() or tz_parse(), released with tz_free(). */
struct tz;

/* A wall-clock reading in some zone. */
struct tz_civil {
    int64_t year;   /* proleptic Gregorian year */
    int month;      /* 1-12 */
    int day;        /* 1-31 */
    int hour;       /* 0-23 */
    int minute;     /* 0-59 */
    int second;     /* 0-59 */
    int weekday;    /* 0-6, 0 = Sunday (filled in by tz_utc_to_civil, ignored as input) */
    int32_t offset; /* seconds east of UTC in force (filled in by tz_utc_to_civil) */
};

/* How a local wall-clock time maps onto instants. */
enum tz_local_kind {
    TZ_LOCAL_UNIQUE,   /* exactly one instant shows this wall-clock time */
    TZ_LOCAL_REPEATED, /* the clock went back: two instants show it */
    TZ_LOCAL_SKIPPED,  /* the clock jumped over it: no instant shows it */
};

/* Load zone `name` (e.g. "Europe/Copenhagen") from $TZDIR or /usr/share/zoneinfo;
 * NULL or "" means the machine's zone ($TZ if set, else /etc/localtime, else UTC).
 * Returns NULL with a message in err for unknown, unsafe ("..", "/x") or corrupt zones. */
struct tz *tz_load(const char *name, struct strbuf *err);
/* The known zone name closest to name, a typo of it (newly allocated), or NULL:
 * the names are those of the time zone database's tzdata.zi (zones and links),
 * else its zone1970.tab. */
char *tz_closest(const char *name);
/* Build a zone from the bytes of a TZif file (v1-v3); NULL with a message in err. */
struct tz *tz_parse(const char *name, const void *data, size_t len, struct strbuf *err);
/* Build a zone from a POSIX TZ rule like "CET-1CEST,M3.5.0,M10.5.0/3"; NULL if malformed. */
struct tz *tz_posix(const char *rule, struct strbuf *err);
/* The fixed UTC zone; cannot fail. */
struct tz *tz_utc(void);
void tz_free(struct tz *zone);
/* The name the zone was loaded under ("Europe/Copenhagen", "UTC", the $TZ value...). */
const char *tz_name(const struct tz *zone);

/* Append what decides the machine's zone ($TZ, and the file /etc/localtime leads to
 * with its stat data), so a caller can tell when it may have changed. */
void tz_machine_identity(struct strbuf *out);

/* Seconds east of UTC in force at instant utc (Unix seconds). */
int32_t tz_offset_at(const struct tz *zone, int64_t utc);
/* The first instant after utc at which the offset changes, or INT64_MAX if it never does. */
int64_t tz_next_change(const struct tz *zone, int64_t utc);

/* The wall-clock reading of instant utc in zone. */
void tz_utc_to_civil(const struct tz *zone, int64_t utc, struct tz_civil *out);
/* Map local seconds (wall-clock seconds counted from 1970-01-01 00:00 local) to
 * instants: *first is the only or the earlier instant, or for a skipped time the
 * instant the gap ends (the first instant whose wall clock is past it); *second is
 * the later instant of a repeated time and equals *first otherwise. */
enum tz_local_kind tz_local_to_utc(const struct tz *zone, int64_t local, int64_t *first,
                                   int64_t *second);
/* tz_local_to_utc() for a civil reading (weekday and offset are ignored). */
enum tz_local_kind tz_civil_to_utc(const struct tz *zone, const struct tz_civil *civil,
                                   int64_t *first, int64_t *second);
/* Append "2026-03-29 03:00:00 +02:00", instant utc as read in zone. */
void tz_format(const struct tz *zone, int64_t utc, struct strbuf *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31). */
int64_t tz_days_from_civil(int64_t year, int month, int day);
/* The date of a day number counted from 1970-01-01. */
void tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day);
/* Day of the week of a day number, 0 = Sunday. */
int tz_weekday(int64_t days);
/* Days in a month of a year (February honours leap years). */
int tz_days_in_month(int64_t year, int month);

#endif
