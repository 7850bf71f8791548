/* Unit tests of util.c's JSON checks. */
#include "unit.h"
#include "util.h"

UNIT_TEST(util_json_valid_takes_spaces_between_members)
{
    CHECK(json_valid("{\"a\": 1, \"b\": [1, 2], \"c\": {\"d\": null}}", '{'));
    CHECK(json_valid(" { \"a\" : 1 ,\n\t\"b\" : 2 } ", '{'));
    CHECK(json_valid("{}", '{'));
    CHECK(json_valid("[1, 2 ,3]", '['));
    CHECK(!json_valid("{\"a\": 1, }", '{'));
    CHECK(!json_valid("{\"a\": 1,, \"b\": 2}", '{'));
    CHECK(!json_valid("{a: 1}", '{'));
    CHECK(!json_valid("[1]", '{'));
    CHECK(json_valid("\"x\"", 0));
    CHECK(!json_valid("007", 0));
}
