/* test_pyscan.c: the Python scanner, case by case with exact positions, then
 * invariants over random bytes and truncated code. */
#include "pyscan.h"
#include "unit.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Scan len bytes copied into a buffer of exactly that size, so that AddressSanitizer
 * catches any read past the end. */
static void scan(struct pyscan *ps, const char *src, size_t len)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, src, len);
    pyscan_run(ps, copy, len);
    free(copy);
}

/* "line:col" then the dots of the level and the module, then ":name,name" for `from`. */
static char *render_imports(const struct pyscan *ps)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < ps->imports.len; i++) {
        const struct pyscan_import *im = &ps->imports.items[i];
        strbuf_addf(&sb, "%s%u:%u %.*s%s", i ? "; " : "", im->line, im->col, im->level,
                    "..........", im->module);
        for (size_t k = 0; k < im->name_count; k++)
            strbuf_addf(&sb, "%c%s", k ? ',' : ':', im->names[k]);
    }
    return strbuf_detach(&sb);
}

/* "line-end_line [start,end) NAME" per assignment. */
static char *render_assignments(const struct pyscan *ps, const char *src)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < ps->assignments.len; i++) {
        const struct pyscan_stmt *st = &ps->assignments.items[i];
        strbuf_addf(&sb, "%s%u-%u [%zu,%zu) %.*s", i ? "; " : "", st->line, st->end_line, st->start,
                    st->end, (int)st->target_len, src + st->target_start);
    }
    return strbuf_detach(&sb);
}

/* "line:col message" per problem. */
static char *render_problems(const struct pyscan *ps)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < ps->problems.len; i++) {
        const struct pyscan_problem *pr = &ps->problems.items[i];
        strbuf_addf(&sb, "%s%u:%u %s", i ? "; " : "", pr->line, pr->col, pr->message);
    }
    return strbuf_detach(&sb);
}

struct scan_case {
    const char *src;
    const char *imports;     /* render_imports() of the result */
    const char *assignments; /* render_assignments() of the result */
    const char *problems;    /* render_problems() of the result */
};

static void check_cases(const struct scan_case *cases, size_t count)
{
    struct pyscan ps;
    pyscan_init(&ps);
    for (size_t i = 0; i < count; i++) {
        const struct scan_case *c = &cases[i];
        scan(&ps, c->src, strlen(c->src));
        char *imports = render_imports(&ps), *assignments = render_assignments(&ps, c->src);
        char *problems = render_problems(&ps);
        bool ok = CHECK_STR(imports, c->imports);
        ok &= CHECK_STR(assignments, c->assignments);
        ok &= CHECK_STR(problems, c->problems);
        if (!ok)
            CHECK_STR(c->src, "(the failing case)");
        free(imports);
        free(assignments);
        free(problems);
    }
    pyscan_release(&ps);
}

#define CHECK_CASES(cases) check_cases(cases, sizeof(cases) / sizeof(cases[0]))

UNIT_TEST(pyscan_imports)
{
    static const struct scan_case cases[] = {
        {"import a.b.c\n", "1:1 a.b.c", "", ""},
        {"import a as b, c.d as e\n", "1:1 a; 1:1 c.d", "", ""},
        {"import a . b\n", "1:1 a.b", "", ""},
        {"from . import x\n", "1:1 .:x", "", ""},
        {"from.import x\n", "1:1 .:x", "", ""},
        {"from .... import a\n", "1:1 ....:a", "", ""},
        {"from ..pkg.mod import (a, b as c,\n d)\n", "1:1 ..pkg.mod:a,b,d", "", ""},
        {"from m import (a,\n  # a comment (with a paren\n  b,)\n", "1:1 m:a,b", "", ""},
        {"from x import *\n", "1:1 x:*", "", ""},
        {"from __future__ import annotations\n", "1:1 __future__:annotations", "", ""},
        {"import \\\n  os\n", "1:1 os", "", ""},
        {"def f():\n    import os\n    from a import b\n", "2:5 os; 3:5 a:b", "", ""},
        {"def f():\n\timport os\n", "2:2 os", "", ""},
        {"if x: import y\n", "1:7 y", "", ""},
        {"if x: pass; import y\n", "1:13 y", "", ""},
        {"import a; import b\n", "1:1 a; 1:11 b", "", ""},
        {"x = 1; from m import (a,\n b)\n", "1:8 m:a,b", "1-1 [0,6) x", ""},
        {"try: import x\nexcept ImportError: from y import z\n", "1:6 x; 2:21 y:z", "", ""},
        {"class A: import q\n", "1:10 q", "", ""},
        {"with f(x) as (a, b): import q\n", "1:22 q", "", ""},
        {"def f(a: int = {1: 2}) -> dict[str, int]: import q\n", "1:43 q", "", ""},
        {"match x:\n    case [1, 2]: import m\n", "2:18 m", "", ""},
        {"match = {1: 2}\n", "", "1-1 [0,15) match", ""},
        {"def g():\n    yield from x\n    raise X from e\n", "", "", ""},
        {"s = 'import os'\n# import sys\nt = \"\"\"\nfrom x import y\n\"\"\"\n", "",
         "1-1 [0,16) s; 3-5 [29,57) t", ""},
        {"x = f\"{'import os'}\"\n", "", "1-1 [0,21) x", ""},
        {"x = f\"{x[\"a\"]}\"\nimport os\n", "2:1 os", "1-1 [0,16) x", ""},
        {"import a\r\nimport b\r\n", "1:1 a; 2:1 b", "", ""},
        {"import a\rimport b\r", "1:1 a; 2:1 b", "", ""},
        {"\xEF\xBB\xBFimport a\n", "1:1 a", "", ""},
        {"\fimport a\n", "1:2 a", "", ""},
        {"import\n", "", "", ""},
        {"from x import\n", "", "", ""},
        {"from import y\n", "", "", ""},
        {"import a.\n", "", "", ""},
        {"from x import a, b,\n", "1:1 x:a,b", "", ""},
        {"import a,\n", "1:1 a", "", ""},
    };
    CHECK_CASES(cases);
}

UNIT_TEST(pyscan_assignments)
{
    static const struct scan_case cases[] = {
        {"A = 1\n", "", "1-1 [0,6) A", ""},
        {"A = 1", "", "1-1 [0,5) A", ""},
        {"A = 1  # note\n", "", "1-1 [0,14) A", ""},
        {"A: int = 1\n", "", "1-1 [0,11) A", ""},
        {"A: dict[str, int] = {}\n", "", "1-1 [0,23) A", ""},
        {"A: int\n", "", "", ""},
        {"A == 1\nA += 1\nA //= 2\nA <= 1\na, b = 1, 2\na.b = 1\na[0] = 1\n(a) = 1\n", "", "", ""},
        {"A = B = 1\n", "", "1-1 [0,10) A", ""},
        {"A = 1; B = 2\n", "", "1-1 [0,6) A; 1-1 [7,13) B", ""},
        {"A = 1;\n", "", "1-1 [0,6) A", ""},
        {"A = [\n    1,\n    2,\n]\nB = 3\n", "", "1-4 [0,22) A; 5-5 [22,28) B", ""},
        {"A = 1 + \\\n  2\n", "", "1-2 [0,14) A", ""},
        {"A = 1 \\\n\nB = 2\n", "", "1-1 [0,9) A; 3-3 [9,15) B", ""},
        {"A = '''x\ny'''\n", "", "1-2 [0,14) A", ""},
        {"def f():\n    A = 1\nB = 2\n", "", "3-3 [19,25) B", ""},
        {"if x: A = 1\nif y:\n    B = 1\n", "", "", ""},
        {"  A = 1\n", "", "", ""},
        {"A = lambda x=1: x\n", "", "1-1 [0,18) A", ""},
        {"A = (b := 1)\n", "", "1-1 [0,13) A", ""},
        {"match = 1\ntype = 2\ntype X = int\n", "", "1-1 [0,10) match; 2-2 [10,19) type", ""},
        {"A = 1\r\nB = 2\r\n", "", "1-1 [0,7) A; 2-2 [7,14) B", ""},
        {"A = 1\rB = 2\r", "", "1-1 [0,6) A; 2-2 [6,12) B", ""},
        {"\xEF\xBB\xBF"
         "A = 1\n",
         "", "1-1 [3,9) A", ""},
        {"\fA = 1\n  \fB = 2\n \tC = 3\n", "", "1-1 [1,7) A; 2-2 [10,16) B", ""},
        {"A = (1,\n# a comment ) with a paren\n2)\n", "", "1-3 [0,38) A", ""},
        {"A = '#'\nB = \"'\"\n", "", "1-1 [0,8) A; 2-2 [8,16) B", ""},
        {"A = r\"\\\"\"\nB = 1\n", "", "1-1 [0,10) A; 2-2 [10,16) B", ""},
        {"A = r'\\\\'\nB = 1\n", "", "1-1 [0,10) A; 2-2 [10,16) B", ""},
        {"A = 'a\\\nb'\nB = 1\n", "", "1-2 [0,11) A; 3-3 [11,17) B", ""},
        {"A = b'x' rb\"y\" Rb'z' BR\"w\" u'v' F'{1}' rF'{2}' T'{3}'\nB = 1\n", "",
         "1-1 [0,54) A; 2-2 [54,60) B", ""},
        {"A = ub'x'\nB = 1\n", "", "1-1 [0,10) A; 2-2 [10,16) B", ""},
        {"A = '''a\\'''b'''\nB = 1\n", "", "1-1 [0,17) A; 2-2 [17,23) B", ""},
        {"A = \"\"\nB = ''\n", "", "1-1 [0,7) A; 2-2 [7,14) B", ""},
        {"ñ = 1\n", "", "1-1 [0,7) ñ", ""},
        {"A = 0x1e+1 if 1.5e-3 else .5j\n", "", "1-1 [0,30) A", ""},
        {"@decorator\ndef f(): A = 1\nclass C:\n    A = 1\nA = 2\n", "", "5-5 [45,51) A", ""},
    };
    CHECK_CASES(cases);
}

UNIT_TEST(pyscan_fstrings)
{
    static const struct scan_case cases[] = {
        {"A = f\"{x[\"a\"]}\"\nB = 1\n", "", "1-1 [0,16) A; 2-2 [16,22) B", ""},
        {"A = f\"{f\"{f'{1}'}\"}\"\nB = 1\n", "", "1-1 [0,21) A; 2-2 [21,27) B", ""},
        {"A = f\"{{x}} }} {{\"\nB = 1\n", "", "1-1 [0,19) A; 2-2 [19,25) B", ""},
        {"A = f\"{x!r:>{w}}\"\nB = 1\n", "", "1-1 [0,18) A; 2-2 [18,24) B", ""},
        {"A = f'{x:{'a'}}'\nB = 1\n", "", "1-1 [0,17) A; 2-2 [17,23) B", ""},
        {"A = f'{x:=10}' f'{a!=b}' f'{d[1:2]}' f'{ {1: 2}[1] }'\nB = 1\n", "",
         "1-1 [0,54) A; 2-2 [54,60) B", ""},
        {"A = f'{1:{2:{3}}}'\nB = 1\n", "", "1-1 [0,19) A; 2-2 [19,25) B", ""},
        {"A = f\"{1 +\n 2}\"\nB = 1\n", "", "1-2 [0,16) A; 3-3 [16,22) B", ""},
        {"A = f'''{x # a comment\n}'''\nB = 1\n", "", "1-2 [0,28) A; 3-3 [28,34) B", ""},
        {"A = f'''{x:a\nb}'''\nB = 1\n", "", "1-2 [0,19) A; 3-3 [19,25) B", ""},
        {"A = rf\"\\{x}\\N{y}\"\nB = 1\n", "", "1-1 [0,18) A; 2-2 [18,24) B", ""},
        {"A = f\"\\N{DASH}{x}\\{y}\"\nB = 1\n", "", "1-1 [0,23) A; 2-2 [23,29) B", ""},
        {"A = f'{x:\\'}'\nB = 1\n", "", "1-1 [0,14) A; 2-2 [14,20) B", ""},
        {"A = f'\"{x}\"' + f\"'\" + f'''a'b\"c'''\nB = 1\n", "", "1-1 [0,35) A; 2-2 [35,41) B", ""},
        {"A = f'{\"\\n\".join(x)}'\nB = 1\n", "", "1-1 [0,22) A; 2-2 [22,28) B", ""},
    };
    CHECK_CASES(cases);
}

UNIT_TEST(pyscan_problems)
{
    static const struct scan_case cases[] = {
        {"A = 'abc\nB = 1\n", "", "1-1 [0,9) A; 2-2 [9,15) B", "1:5 unterminated string"},
        {"A = \"\"\"abc\nB = 1\n", "", "1-2 [0,17) A", "1:5 unterminated triple-quoted string"},
        {")\nA = 1\n", "", "2-2 [2,8) A", "1:1 unmatched ')'"},
        {"A = (1,\n", "", "1-1 [0,8) A", "1:5 '(' was never closed"},
        {"A = [1, 2)\n", "", "1-1 [0,11) A",
         "1:5 '[' was never closed; 1:10 closing parenthesis ')' does not match opening "
         "parenthesis '['"},
        {"A = {'a': [1, 2}\nB = 1\n", "", "1-1 [0,17) A; 2-2 [17,23) B",
         "1:16 closing parenthesis '}' does not match opening parenthesis '['"},
        {"x = foo(\ndef g():\n    pass\nSTAU_CONFIG = {}\n", "",
         "1-1 [0,9) x; 4-4 [27,44) "
         "STAU_CONFIG",
         "1:8 '(' was never closed"},
        {"x = foo(1,\n  2,\nSTAU_CONFIG = {}\n", "", "1-2 [0,16) x; 3-3 [16,33) STAU_CONFIG",
         "1:8 '(' was never closed"},
        {"x = [\nimport os\n", "2:1 os", "1-1 [0,6) x", "1:5 '[' was never closed"},
        {"A = f\"abc\nB = 1\n", "", "1-1 [0,10) A; 2-2 [10,16) B", "1:5 unterminated string"},
        {"A = f\"a}\"\nB = 1\n", "", "1-1 [0,10) A; 2-2 [10,16) B",
         "1:8 single '}' is not allowed in f-string"},
        {"A = f'{x:a\nB = 1\n", "", "1-1 [0,11) A; 2-2 [11,17) B",
         "1:5 unterminated string; 1:11 expecting '}' in f-string"},
        {"A = f'{x\n", "", "1-1 [0,9) A", "1:7 expecting '}' in f-string"},
        {"A = 1 \\x\n", "", "1-1 [0,9) A",
         "1:7 unexpected character after line continuation character"},
        {"# \xff\nA = '\xc3\xa9' \xe2\x82\n", "", "2-2 [4,16) A", "1:3 invalid UTF-8"},
        {"A = '\xed\xa0\x80'\n", "", "1-1 [0,10) A", "1:6 invalid UTF-8"},
        {"A = '\xf0\x9f\x98'", "", "1-1 [0,9) A", "1:6 invalid UTF-8"},
        {")\n)\n)\n)\n)\n)\n)\n)\n)\n)\n", "", "",
         "1:1 unmatched ')'; 2:1 unmatched ')'; 3:1 unmatched ')'; 4:1 unmatched ')'; 5:1 "
         "unmatched ')'; 6:1 unmatched ')'; 7:1 unmatched ')'; 8:1 unmatched ')'"},
    };
    CHECK_CASES(cases);
}

UNIT_TEST(pyscan_config)
{
    struct pyscan ps;
    pyscan_init(&ps);
    CHECK_INT(ps.config_index, -1);
    const char *src = "STAU_CONFIG = {}\nx = 1\nSTAU_CONFIG: dict = {'a': [1,\n 2]}\n";
    scan(&ps, src, strlen(src));
    CHECK_INT(ps.assignments.len, 3);
    CHECK_INT(ps.config_index, 2);
    CHECK(ps.mentions_config);
    CHECK_INT(ps.assignments.items[2].target_len, 11);
    scan(&ps, "A = 1\0\n", 7); /* NUL bytes: a problem, then the scan goes on */
    char *text = render_problems(&ps);
    CHECK_STR(text, "1:6 NUL byte");
    free(text);
    CHECK_INT(ps.assignments.len, 1);
    scan(&ps, "\xEF\xBB\xBF)\n\x01\0\0\xff", 10);
    text = render_problems(&ps);
    CHECK_STR(text, "1:1 unmatched ')'; 2:2 NUL byte; 2:4 invalid UTF-8");
    free(text);
    src = "x = 'STAU_CONFIG'\n";
    scan(&ps, src, strlen(src));
    CHECK_INT(ps.config_index, -1);
    CHECK(ps.mentions_config);
    src = "def f():\n    STAU_CONFIG = 1\nSTAU_CONFI = 2\n";
    scan(&ps, src, strlen(src));
    CHECK_INT(ps.config_index, -1);
    CHECK(ps.mentions_config);
    scan(&ps, "STAU_CONFI", 10);
    CHECK(!ps.mentions_config);
    scan(&ps, "", 0);
    CHECK_INT(ps.assignments.len + ps.imports.len + ps.problems.len, 0);
    pyscan_release(&ps);
    CHECK_INT(ps.config_index, -1);
    CHECK(ps.imports.items == NULL);
}

/* Deterministic xorshift64*. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

/* The invariants every result must hold, whatever the input. */
static bool check_invariants(const struct pyscan *ps, size_t len)
{
    bool ok = ps->problems.len <= PYSCAN_MAX_PROBLEMS;
    for (size_t i = 0; i < ps->problems.len; i++) {
        const struct pyscan_problem *pr = &ps->problems.items[i];
        ok &= pr->offset <= len && pr->line >= 1 && pr->col >= 1 && pr->message;
        ok &= !i || pr->offset >= ps->problems.items[i - 1].offset;
    }
    for (size_t i = 0; i < ps->assignments.len; i++) {
        const struct pyscan_stmt *st = &ps->assignments.items[i];
        ok &= st->start < st->end && st->end <= len && st->line >= 1 && st->line <= st->end_line;
        ok &= st->target_start == st->start && st->target_len > 0 &&
              st->target_start + st->target_len <= st->end;
        if (i) {
            const struct pyscan_stmt *prev = &ps->assignments.items[i - 1];
            ok &= prev->end <= st->start && prev->end_line <= st->line;
        }
    }
    for (size_t i = 0; i < ps->imports.len; i++) {
        const struct pyscan_import *im = &ps->imports.items[i];
        ok &= im->module && im->line >= 1 && im->col >= 1 && im->level >= 0;
        ok &= (im->names != NULL) == (im->name_count > 0) && (im->level || im->module[0]);
        ok &= !i || im->line >= ps->imports.items[i - 1].line;
    }
    ok &= ps->config_index >= -1 && ps->config_index < (long)ps->assignments.len;
    return ok;
}

/* Valid code touching every rule, to be cut at every length. */
static const char sample[] =
    "\xEF\xBB\xBF\"\"\"Doc \\\"\"\" string.\"\"\"\r\n"
    "from __future__ import annotations\n"
    "import os, sys as system\n"
    "from ..pkg.mod import (a, b as c,\n    d)  # trailing\n"
    "NAME = 'job_a'; OTHER: str = r\"\\\"\"\n"
    "STAU_CONFIG = {\n"
    "    \"dependencies\": [NAME, {\"job\": f\"{NAME}_b\", \"max_lag\": 60}],\n"
    "    'schedule': f'{x[\"a\"]!r:>{width}} {{literal}}',\n"
    "    \"kwargs\": dict(region=\"eu\", n=1_000 + 0x1F - .5e-3),\n"
    "}\n"
    "def main(**kwargs):\n\tif kwargs: import json; print(f'''{\n"
    "  kwargs # comment\n}''')\n"
    "\fX = 1 if True else \\\n    2\r"
    "class A: y = [b'\\xff', rb'\\\\', u'\\N{EM DASH}']\n";

UNIT_TEST(pyscan_robust)
{
    struct pyscan ps;
    pyscan_init(&ps);
    scan(&ps, sample, sizeof(sample) - 1);
    CHECK_INT(ps.problems.len, 0);
    CHECK_INT(ps.imports.len, 5);
    CHECK_INT(ps.assignments.len, 4);
    CHECK_INT(ps.config_index, 2);
    for (size_t len = 0; len < sizeof(sample); len++) {
        scan(&ps, sample, len);
        if (!CHECK(check_invariants(&ps, len)))
            CHECK_INT(len, -1);
    }
    static const char alphabet[] =
        "\"\"''''(()[]{}{}\\\\\n\n\n\r#:=;.,*fFrRbBtu_aiz09 \t\f\0\x80\xff"
        "\xc3\xa9\xe2\xf0";
    uint64_t state = 88172645463325252u;
    char buf[512];
    for (int round = 0; round < 4000; round++) {
        size_t len = next_random(&state) % sizeof(buf);
        for (size_t i = 0; i < len; i++) {
            uint64_t r = next_random(&state);
            buf[i] = round % 4 == 0   ? (char)(r >> 32)
                     : round % 4 == 1 ? sample[r % (sizeof(sample) - 1)]
                                      : alphabet[r % (sizeof(alphabet) - 1)];
        }
        scan(&ps, buf, len);
        if (!CHECK(check_invariants(&ps, len)))
            CHECK_INT(round, -1);
    }
    pyscan_release(&ps);
}

UNIT_TEST(pyscan_large)
{
    /* Deep nesting, long runs and many problems stay linear and bounded. */
    size_t len = 1 << 20;
    char *buf = xmalloc(len);
    struct pyscan ps;
    pyscan_init(&ps);
    static const char *const fills[] = {"(", ")", "f'{", "\"", "'''", "[{(", "\\", "A = 1;"};
    for (size_t k = 0; k < sizeof(fills) / sizeof(fills[0]); k++) {
        size_t flen = strlen(fills[k]);
        for (size_t i = 0; i < len; i++)
            buf[i] = fills[k][i % flen];
        scan(&ps, buf, len);
        CHECK(check_invariants(&ps, len));
    }
    CHECK_INT(ps.assignments.len, len / 6 + 1);
    pyscan_release(&ps);
    free(buf);
}
