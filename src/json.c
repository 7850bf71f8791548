/* json.c: writing JSON: strings that are always valid UTF-8, JSON kept as text, and
 * times (see json.h). */
#include "json.h"

#include <string.h>
#include "tz.h"
#include "util.h"

/* The length of the valid UTF-8 sequence at s (at most left bytes), or 0 when the
 * byte at s starts none (RFC 3629, table 3-7 of the Unicode standard). */
static size_t utf8_length(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char low = 0x80, high = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            low = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            high = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            low = 0x90;
        else if (c == 0xF4)
            high = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (left < n || s[1] < low || s[1] > high)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

void json_quote(struct strbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    strbuf_grow(out, len + 2);
    strbuf_addch(out, '"');
    size_t plain = 0; /* where the bytes copied as they are begin */
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t valid = c >= 0x80 ? utf8_length(u + i, len - i) : 0;
        if (valid) {
            i += valid;
            continue;
        }
        strbuf_add(out, s + plain, i - plain);
        switch (c) {
        case '"':
            strbuf_add(out, "\\\"", 2);
            break;
        case '\\':
            strbuf_add(out, "\\\\", 2);
            break;
        case '\n':
            strbuf_add(out, "\\n", 2);
            break;
        case '\t':
            strbuf_add(out, "\\t", 2);
            break;
        case '\r':
            strbuf_add(out, "\\r", 2);
            break;
        default:
            if (c >= 0x80) {
                strbuf_addstr(out, JSON_NOT_UTF8);
            } else {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                strbuf_add(out, esc, 6);
            }
        }
        plain = ++i;
    }
    strbuf_add(out, s + plain, len - plain);
    strbuf_addch(out, '"');
}

void json_field_string(struct strbuf *out, const char *key, const char *value)
{
    strbuf_addf(out, ",\"%s\":", key);
    if (value)
        json_quote(out, value, strlen(value));
    else
        strbuf_addstr(out, "null");
}

void json_add_raw(struct strbuf *out, const char *json)
{
    if (!json || !*json) {
        strbuf_addstr(out, "null");
        return;
    }
    size_t len = strlen(json);
    if (!json_valid(json, 0)) {
        json_quote(out, json, len);
        return;
    }
    const unsigned char *u = (const unsigned char *)json;
    size_t plain = 0;
    for (size_t i = 0; i < len;) {
        size_t valid = u[i] < 0x80 ? 1 : utf8_length(u + i, len - i);
        if (valid) {
            i += valid;
            continue;
        }
        /* json_valid: a byte past ASCII is inside a string, where an escape is one */
        strbuf_add(out, json + plain, i - plain);
        strbuf_addstr(out, JSON_NOT_UTF8);
        plain = ++i;
    }
    strbuf_add(out, json + plain, len - plain);
}

void json_field_raw(struct strbuf *out, const char *key, const char *json)
{
    strbuf_addf(out, ",\"%s\":", key);
    json_add_raw(out, json);
}

void json_field_number(struct strbuf *out, const char *key, int64_t n, bool present)
{
    if (present)
        strbuf_addf(out, ",\"%s\":%lld", key, (long long)n);
    else
        strbuf_addf(out, ",\"%s\":null", key);
}

void json_time_format(int64_t ms, const struct tz *zone, struct strbuf *out)
{
    int64_t secs = ms / 1000 - (ms % 1000 < 0); /* rounded down, before 1970 too */
    struct tz_civil civil;
    if (zone) {
        tz_utc_to_civil(zone, secs, &civil);
    } else {
        int64_t days = secs / 86400 - (secs % 86400 < 0), in_day = secs - days * 86400;
        tz_civil_from_days(days, &civil.year, &civil.month, &civil.day);
        civil.hour = (int)(in_day / 3600);
        civil.minute = (int)(in_day / 60 % 60);
        civil.second = (int)(in_day % 60);
        civil.offset = 0;
    }
    int32_t offset = civil.offset < 0 ? -civil.offset : civil.offset;
    strbuf_addf(out, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)civil.year,
                civil.month, civil.day, civil.hour, civil.minute, civil.second,
                civil.offset < 0 ? '-' : '+', (int)(offset / 3600), (int)(offset / 60 % 60));
}

void json_field_time(struct strbuf *out, const char *key, int64_t ms, bool present,
                     const struct tz *zone)
{
    if (!present) {
        strbuf_addf(out, ",\"%s\":null,\"%s_ms\":null", key, key);
        return;
    }
    strbuf_addf(out, ",\"%s\":\"", key);
    json_time_format(ms, zone, out);
    strbuf_addf(out, "\",\"%s_ms\":%lld", key, (long long)ms);
}
