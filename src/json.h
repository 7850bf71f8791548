/* json.h: writing JSON. Every JSON text stau prints (the --json outputs, serve's
 * --json-log) or stores (run records, manifests, kwargs) is made with these, so that
 * two rules hold everywhere: a string is valid UTF-8 whatever bytes it was made from,
 * and a time is one ISO 8601 string with its offset beside the same instant in unix
 * milliseconds ("started":"2026-12-04T20:06:18+00:00","started_ms":1796415978123).
 * Reading JSON is in util.h (json_object_get, json_valid, ...). */
#ifndef STAU_JSON_H
#define STAU_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct tz;

/* The replacement of a byte that is not part of valid UTF-8, as written in JSON. */
#define JSON_NOT_UTF8 "\\ufffd"

/* Append s (len bytes) as a JSON string literal: '"' and '\' escaped, control
 * characters and DEL as \n, \t, \r or \u00XX, valid UTF-8 copied as it is, and each
 * byte that is not part of a valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF) written as \ufffd. */
void json_quote(struct strbuf *out, const char *s, size_t len);
/* Append ,"key":"value" (null for NULL). */
void json_field_string(struct strbuf *out, const char *key, const char *value);
/* Append JSON text as it is, except that a byte inside it that is not valid UTF-8 is
 * written as \ufffd (outside its strings JSON holds ASCII only, so the result stays
 * the same JSON). Text that is no JSON value (a garbled database row) is written as
 * a JSON string holding it; NULL or "" as null. */
void json_add_raw(struct strbuf *out, const char *json);
/* Append ,"key": and json_add_raw of json. */
void json_field_raw(struct strbuf *out, const char *key, const char *json);
/* Append ,"key":N, or ,"key":null when not present. */
void json_field_number(struct strbuf *out, const char *key, int64_t n, bool present);

/* Append "2026-12-04T20:06:18+00:00": instant ms (unix milliseconds, shown to the
 * second, rounded down) in zone (NULL: UTC), with that zone's offset then. */
void json_time_format(int64_t ms, const struct tz *zone, struct strbuf *out);
/* Append ,"key":"<json_time_format>","key_ms":ms, or both null when not present:
 * the one way a time is written. */
void json_field_time(struct strbuf *out, const char *key, int64_t ms, bool present,
                     const struct tz *zone);

#endif
