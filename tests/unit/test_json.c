/* Unit tests of writing JSON (json.c): strings are valid UTF-8 whatever bytes they
 * are made from, JSON kept as text is repaired the same way, and times. */
#include <string.h>
#include "json.h"
#include "tz.h"
#include "unit.h"
#include "util.h"

static const char *quoted(struct strbuf *sb, const char *s, size_t len)
{
    strbuf_reset(sb);
    json_quote(sb, s, len);
    return strbuf_str(sb);
}

UNIT_TEST(json_quote_escapes_what_json_must)
{
    struct strbuf sb = STRBUF_INIT;
    CHECK_STR(quoted(&sb, "", 0), "\"\"");
    CHECK_STR(quoted(&sb, "a\"b\\c\nd\te\rf", 11), "\"a\\\"b\\\\c\\nd\\te\\rf\"");
    CHECK_STR(quoted(&sb, "\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
    CHECK_STR(quoted(&sb, "a\0b", 3), "\"a\\u0000b\"");
    strbuf_release(&sb);
}

UNIT_TEST(json_quote_copies_valid_utf8)
{
    struct strbuf sb = STRBUF_INIT;
    /* 2, 3 and 4 bytes; the edges of each range: U+0080, U+07FF, U+0800, U+D7FF,
     * U+E000, U+FFFF, U+10000, U+10FFFF */
    const char *valid = "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x80\xdf\xbf\xe0\xa0\x80"
                        "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
    struct strbuf want = STRBUF_INIT;
    strbuf_addf(&want, "\"%s\"", valid);
    CHECK_STR(quoted(&sb, valid, strlen(valid)), want.buf);
    strbuf_release(&want);
    strbuf_release(&sb);
}

UNIT_TEST(json_quote_replaces_each_byte_that_is_not_utf8)
{
    struct strbuf sb = STRBUF_INIT;
    /* latin-1 as in a file name: caf\xe9 */
    CHECK_STR(quoted(&sb, "caf\xe9.py", 7), "\"caf\\ufffd.py\"");
    /* a lone continuation byte, a truncated sequence, at the end and before ASCII */
    CHECK_STR(quoted(&sb, "\x80", 1), "\"\\ufffd\"");
    CHECK_STR(quoted(&sb, "\xe2\x82", 2), "\"\\ufffd\\ufffd\"");
    CHECK_STR(quoted(&sb, "\xe2\x82x", 3), "\"\\ufffd\\ufffdx\"");
    /* overlong forms, an encoded surrogate, past U+10FFFF, bytes never in UTF-8 */
    CHECK_STR(quoted(&sb, "\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
    CHECK_STR(quoted(&sb, "\xe0\x80\xaf", 3), "\"\\ufffd\\ufffd\\ufffd\"");
    CHECK_STR(quoted(&sb, "\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");
    CHECK_STR(quoted(&sb, "\xf4\x90\x80\x80", 4), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    CHECK_STR(quoted(&sb, "\xfe\xff", 2), "\"\\ufffd\\ufffd\"");
    /* a valid character after an invalid byte is kept */
    CHECK_STR(quoted(&sb, "\xff\xc3\xa9", 3), "\"\\ufffd\xc3\xa9\"");
    strbuf_release(&sb);
}

UNIT_TEST(json_add_raw_repairs_utf8_and_keeps_what_is_no_json)
{
    struct strbuf sb = STRBUF_INIT;
    json_add_raw(&sb, "{\"top_n\": 3, \"name\": \"caf\xe9\"}");
    CHECK_STR(strbuf_str(&sb), "{\"top_n\": 3, \"name\": \"caf\\ufffd\"}");
    CHECK(json_valid(strbuf_str(&sb), '{'));
    strbuf_reset(&sb);
    json_add_raw(&sb, "[\"\xc3\xa9\"]");
    CHECK_STR(strbuf_str(&sb), "[\"\xc3\xa9\"]");
    /* a garbled value is no JSON: a string of its text, still valid UTF-8 */
    strbuf_reset(&sb);
    json_add_raw(&sb, "{\xfftop_n\":3}");
    CHECK_STR(strbuf_str(&sb), "\"{\\ufffdtop_n\\\":3}\"");
    strbuf_reset(&sb);
    json_add_raw(&sb, NULL);
    json_add_raw(&sb, "");
    CHECK_STR(strbuf_str(&sb), "nullnull");
    strbuf_release(&sb);
}

UNIT_TEST(json_times_are_iso_8601_with_offset_and_ms)
{
    struct strbuf sb = STRBUF_INIT;
    json_time_format(1796415978123, NULL, &sb);
    CHECK_STR(strbuf_str(&sb), "2026-12-04T20:26:18+00:00");
    strbuf_reset(&sb);
    json_time_format(0, NULL, &sb);
    CHECK_STR(strbuf_str(&sb), "1970-01-01T00:00:00+00:00");
    strbuf_reset(&sb);
    json_time_format(-1, NULL, &sb); /* rounded down, not toward zero */
    CHECK_STR(strbuf_str(&sb), "1969-12-31T23:59:59+00:00");
    /* in a zone: its offset then, east and west */
    struct strbuf err = STRBUF_INIT;
    struct tz *cet = tz_posix("CET-1CEST,M3.5.0,M10.5.0/3", &err);
    struct tz *ny = tz_posix("EST5EDT,M3.2.0,M11.1.0", &err);
    CHECK(cet && ny);
    if (cet && ny) {
        strbuf_reset(&sb);
        json_time_format(1796415978123, cet, &sb);
        CHECK_STR(strbuf_str(&sb), "2026-12-04T21:26:18+01:00");
        strbuf_reset(&sb);
        json_time_format(1783166400000, cet, &sb); /* 2026-07-04 12:00 UTC, summer time */
        CHECK_STR(strbuf_str(&sb), "2026-07-04T14:00:00+02:00");
        strbuf_reset(&sb);
        json_time_format(1796415978123, ny, &sb);
        CHECK_STR(strbuf_str(&sb), "2026-12-04T15:26:18-05:00");
    }
    tz_free(cet);
    tz_free(ny);
    strbuf_release(&err);
    strbuf_reset(&sb);
    json_field_time(&sb, "started", 1796415978123, true, NULL);
    json_field_time(&sb, "finished", 0, false, NULL);
    CHECK_STR(strbuf_str(&sb),
              ",\"started\":\"2026-12-04T20:26:18+00:00\","
              "\"started_ms\":1796415978123,\"finished\":null,\"finished_ms\":null");
    strbuf_release(&sb);
}

/* json_valid (util.c) took no space after an object's ',': {"a": 1, "b": 2}, as a
 * person writes it, was no JSON object to it. */
UNIT_TEST(json_valid_takes_space_between_members)
{
    CHECK(json_valid("{\"a\": 1, \"b\": 2}", '{'));
    CHECK(json_valid("{ \"a\" : [1 , 2] ,\n\t\"b\" : {\"c\" : null} }", '{'));
    CHECK(!json_valid("{\"a\": 1, }", '{'));
    CHECK(!json_valid("{\"a\": 1,, \"b\": 2}", '{'));
}
