/* Unit tests of code fingerprints: comments and blank space do not count, code does. */
#include <string.h>
#include <stdio.h>
#include "fingerprint.h"
#include "pyscan.h"
#include "unit.h"

static struct hash128 code_hash(const char *src)
{
    struct pyscan ps;
    pyscan_init(&ps);
    pyscan_run(&ps, src, strlen(src));
    struct hash128 h = fingerprint_code(src, strlen(src), ps.comments.items, ps.comments.len);
    pyscan_release(&ps);
    return h;
}

UNIT_TEST(fingerprint_ignores_comments_and_blank_space)
{
    struct hash128 base = code_hash("import os\n\ndef f(x):\n    return x + 1\n");
    const char *same[] = {
        "import os\n\ndef f(x):\n    return x + 1\n",
        "# a header comment\nimport os\n\n\ndef f(x):  # why\n    return x + 1   \n",
        "import os\r\n\r\ndef f(x):\r\n    return x + 1\r\n",
        "import os\ndef f(x):\n    # explain\n    return x + 1\n# trailing\n",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        if (!CHECK(hash_equal(code_hash(same[i]), base)))
            fprintf(stderr, "  should match: %s", same[i]);
    const char *different[] = {
        "import os\n\ndef f(x):\n    return x + 2\n",
        "import os\n\ndef f(x):\n  return x + 1\n", /* indentation is code in Python */
        "import sys\n\ndef f(x):\n    return x + 1\n",
        "import os\n\ndef f(x):\n    return x + 1 # \n    return 0\n",
    };
    for (size_t i = 0; i < sizeof(different) / sizeof(different[0]); i++)
        if (!CHECK(!hash_equal(code_hash(different[i]), base)))
            fprintf(stderr, "  should differ: %s", different[i]);
    /* A '#' inside a string is not a comment. */
    CHECK(!hash_equal(code_hash("s = '# a'\n"), code_hash("s = '# b'\n")));
    CHECK(!hash_equal(code_hash("s = \"\"\"\n# a\n\"\"\"\n"),
                      code_hash("s = \"\"\"\n# b\n\"\"\"\n")));
    CHECK(!hash_equal(code_hash("s = f\"{x}#a\"\n"), code_hash("s = f\"{x}#b\"\n")));
}

UNIT_TEST(fingerprint_combine_and_hex)
{
    struct hash128 a = code_hash("x = 1\n"), b = code_hash("y = 2\n");
    const char *p1[] = {"src/a.py", "src/b.py"}, *p2[] = {"src/a.py", "src/c.py"};
    struct hash128 h1[] = {a, b};
    CHECK(!hash_equal(fingerprint_combine(p1, h1, 2), fingerprint_combine(p2, h1, 2)));
    CHECK(hash_equal(fingerprint_combine(p1, h1, 2), fingerprint_combine(p1, h1, 2)));
    char hex[33];
    fingerprint_hex((struct hash128){0x1, 0xabc}, hex);
    CHECK_STR(hex, "0000000000000abc0000000000000001");
}
