/* Unit tests of reading declarations: the evaluator (every accepted form and
 * every refusal, with exact messages and places) and the typed checks. */
#include <stdlib.h>
#include <string.h>
#include "scan.h"
#include "value.h"
#include "unit.h"

/* Scan src as job "pkg.job" in file src/pkg/job.py; return the result (caller releases). */
static struct scan_result scan_text(const char *src)
{
    static struct scanner *sc;
    if (!sc)
        sc = scanner_new();
    struct scan_result r = {0};
    scanner_scan(sc, "src/pkg/job.py", "pkg.job", src, strlen(src), &r);
    return r;
}

/* Diagnostics as "line:col: severity: message [hint]" lines. */
static char *diag_text(const struct scan_result *r)
{
    static const char *names[] = {"error", "warning", "note"};
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < r->diags.items.len; i++) {
        const struct diag *d = &r->diags.items.items[i];
        strbuf_addf(&sb, "%u:%u: %s: %s", d->loc.line, d->loc.col, names[d->severity], d->message);
        if (d->hint)
            strbuf_addf(&sb, " [hint: %s]", d->hint);
        strbuf_addch(&sb, '\n');
    }
    return strbuf_detach(&sb);
}

/* The declaration as JSON, or "ERROR" when it was refused. */
static char *decl_json(const char *src)
{
    struct scan_result r = scan_text(src);
    struct strbuf sb = STRBUF_INIT;
    if (r.ok)
        decl_to_json(&r.decl, &sb);
    else
        strbuf_addstr(&sb, "ERROR");
    scan_result_release(&r);
    return strbuf_detach(&sb);
}

/* Expect src to be read without diagnostics and its kwargs to be `kwargs`. */
static void expect_kwargs(const char *src, const char *kwargs)
{
    struct scan_result r = scan_text(src);
    char *diags = diag_text(&r);
    CHECK_STR(diags, "");
    CHECK(r.is_job);
    if (CHECK(r.ok))
        CHECK_STR(r.decl.kwargs_json, kwargs);
    free(diags);
    scan_result_release(&r);
}

/* Expect src to give exactly these diagnostics. */
static void expect_diags(const char *src, const char *want)
{
    struct scan_result r = scan_text(src);
    char *diags = diag_text(&r);
    CHECK_STR(diags, want);
    free(diags);
    scan_result_release(&r);
}

UNIT_TEST(eval_literals)
{
    expect_kwargs(
        "STAU_CONFIG = {\"kwargs\": {\"s\": 'a', \"i\": 42, \"neg\": -7, \"f\": 1.5, "
        "\"e\": 1e3, \"t\": True, \"n\": None, \"hex\": 0x1F, \"oct\": 0o17, \"bin\": 0b101, "
        "\"under\": 1_000, \"pos\": +2, \"fneg\": -0.25}}\n",
        "{\"s\":\"a\",\"i\":42,\"neg\":-7,\"f\":1.5,\"e\":1000.0,\"t\":true,\"n\":null,"
        "\"hex\":31,\"oct\":15,\"bin\":5,\"under\":1000,\"pos\":2,\"fneg\":-0.25}");
    expect_kwargs("STAU_CONFIG = {\"kwargs\": {\"l\": [1, [2, 3]], \"t\": (1,), \"e\": (), "
                  "\"d\": {\"x\": {}}, \"trail\": [1, 2,],}}\n",
                  "{\"l\":[1,[2,3]],\"t\":[1],\"e\":[],\"d\":{\"x\":{}},\"trail\":[1,2]}");
}

UNIT_TEST(eval_strings)
{
    expect_kwargs("STAU_CONFIG = {'kwargs': {'a': \"x\\ty\\n\", 'b': r'\\d+', 'c': 'it''s', "
                  "'d': u'\\u00e9\\x41\\101', 'e': \"\"\"tri\nple\"\"\", 'f': 'caf\xc3\xa9', "
                  "'g': 'a' \"b\" 'c', 'h': R'\\n', 'q': '\\'\\\"', 'k': '\\q'}}\n",
                  "{\"a\":\"x\\ty\\n\",\"b\":\"\\\\d+\",\"c\":\"its\",\"d\":\"\xc3\xa9"
                  "AA\","
                  "\"e\":\"tri\\nple\",\"f\":\"caf\xc3\xa9\",\"g\":\"abc\",\"h\":\"\\\\n\","
                  "\"q\":\"'\\\"\",\"k\":\"\\\\q\"}");
}

UNIT_TEST(eval_names_fstrings_and_plus)
{
    expect_kwargs(
        "NAME = \"job_a\"\nN = 3\nF = 2.5\nB = False\nNONE = None\n"
        "ALIAS = NAME\nLIST = [1]\n"
        "STAU_CONFIG = {\"kwargs\": {\"f\": f\"{NAME}_func\", \"g\": F'{N}-{F}-{B}-{NONE}', "
        "\"braces\": f\"{{x}}{ALIAS}\", \"plus\": NAME + \"_x\" + 'y', "
        "\"lists\": LIST + [2] + [NAME], \"t\": (1,) + (2,), \"d\": dict(a=1, b=NAME)}}\n",
        "{\"f\":\"job_a_func\",\"g\":\"3-2.5-False-None\",\"braces\":\"{x}job_a\","
        "\"plus\":\"job_a_xy\",\"lists\":[1,2,\"job_a\"],\"t\":[1,2],"
        "\"d\":{\"a\":1,\"b\":\"job_a\"}}");
    /* The last binding before the declaration wins; one after it does not count. */
    expect_kwargs("X = 1\nX = 2\nY: int = 5\nA = B = 7\nSTAU_CONFIG = {\"kwargs\": {\"x\": X, "
                  "\"y\": Y, \"a\": A}}\nX = 3\n",
                  "{\"x\":2,\"y\":5,\"a\":7}");
    /* A constant sees only what was bound above it. */
    expect_kwargs("X = [1]\nX = X + [2]\nSTAU_CONFIG = {\"kwargs\": {\"x\": X}}\n",
                  "{\"x\":[1,2]}");
}

UNIT_TEST(eval_records)
{
    struct scan_result r = scan_text(
        "from utils import ReportConfig, ReportDependencies\nimport utils\n"
        "NAME = \"pkg.job\"\n"
        "STAU_CONFIG = ReportConfig(\n    NAME,\n    10,\n"
        "    [ReportDependencies(\"a.b\", 60), utils.ReportDependencies(job_type=\"c\", "
        "max_lag=1.5, "
        "custom_kwargs={\"k\": 1}, unique=True, allow_missing_work_ids=True)],\n"
        "    main_func=f\"main\",\n    data_sources=[\"s3\"],\n    is_streaming=False,\n)\n");
    char *diags = diag_text(&r);
    CHECK_STR(diags, "");
    if (CHECK(r.ok)) {
        struct strbuf sb = STRBUF_INIT;
        decl_to_json(&r.decl, &sb);
        CHECK_STR(
            sb.buf,
            "{\"dependencies\":[{\"job\":\"a.b\",\"max_lag\":60,\"kwargs\":{},\"unique\":false,"
            "\"allow_missing_work_ids\":false},{\"job\":\"c\",\"max_lag\":1.5,\"kwargs\":{\"k\":1},"
            "\"unique\":true,\"allow_missing_work_ids\":true}],\"schedule\":[],\"timezone\":null,"
            "\"inputs\":[],\"outputs\":[],\"main_func\":\"main\",\"kwargs\":{},\"retries\":0,"
            "\"retry_delay\":60,\"timeout\":null,\"slots\":1,\"tags\":[],\"python\":null,"
            "\"chunk_size\":10,\"work_ids\":null,\"allow_multiple_jobs\":true,"
            "\"is_streaming\":false,\"job_type\":\"pkg.job\",\"data_sources\":[\"s3\"],"
            "\"data_sinks\":[]}");
        CHECK_INT(r.decl.deps.items[0].loc.line, 7);
        CHECK_INT(r.decl.deps.items[0].loc.col, 25);
        strbuf_release(&sb);
    }
    free(diags);
    scan_result_release(&r);
}

UNIT_TEST(eval_refusals)
{
    const char *allowed = "a declaration may use literals (str, int, float, bool, None), lists, "
                          "tuples, dicts with str keys, names bound above it at module level, "
                          "f-strings over such names, + on two strings or two lists, + - * on "
                          "numbers, // and % on ints, dict(...), ReportConfig(...) and "
                          "ReportDependencies(...)";
    char *want;
    want = xprintf("1:32: error: cannot evaluate [x for x in y] statically [hint: %s]\n", allowed);
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": [x for x in y]}}\n", want);
    free(want);
    expect_diags(
        "STAU_CONFIG = {\"kwargs\": compute(3)}\n",
        "1:26: error: cannot evaluate the call compute(3) statically [hint: stau reads "
        "declarations without running code; compute such values inside the job instead]\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": NAME}}\n",
                 "1:32: error: name 'NAME' is not defined [hint: stau reads declarations without "
                 "running them: bind 'NAME' at module level above STAU_CONFIG, or write the value "
                 "itself]\n");
    expect_diags("NAME = 1\nSTAU_CONFIG = {\"kwargs\": {\"a\": NAMES}}\n",
                 "2:32: error: name 'NAMES' is not defined [hint: did you mean 'NAME'?]\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": LATER}}\nLATER = 1\n",
                 "1:32: error: name 'LATER' is assigned only below the declaration (line 2) "
                 "[hint: move `LATER = ...` above STAU_CONFIG]\n");
    expect_diags(
        "from consts import REGION as R, OTHER\nSTAU_CONFIG = {\"kwargs\": {\"a\": OTHER}}\n",
        "2:32: error: name 'OTHER' is imported from 'consts' (line 1); stau does not "
        "follow imports to read values [hint: bind the value in this file, above "
        "STAU_CONFIG]\n");
    expect_diags("X = load()\nSTAU_CONFIG = {\"kwargs\": {\"a\": X}}\n",
                 "1:5: error: cannot evaluate the call load() statically [hint: stau reads "
                 "declarations without running code; compute such values inside the job "
                 "instead]\n2:32: note: 'X' is used here\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": \"x\" + 1}}\n",
                 "1:32: error: cannot add str and int [hint: + is evaluated between two numbers, "
                 "two strings or two lists]\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {1: 2}}\n",
                 "1:27: error: dictionary keys must be strings, not int\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": b\"x\"}}\n",
                 "1:32: error: bytes literal b\"x\" is not allowed in a declaration [hint: write "
                 "a str literal (without the b prefix)]\n");
    expect_diags("X = [1]\nSTAU_CONFIG = {\"kwargs\": {\"a\": f\"{X}\"}}\n",
                 "2:35: error: f-string field 'X' is a list; only str, int, float, bool and None "
                 "can be formatted\n");
    expect_diags("X = 1\nSTAU_CONFIG = {\"kwargs\": {\"a\": f\"{X!r}\"}}\n",
                 "2:34: error: f-string field {X!r} uses a conversion or format spec, which stau "
                 "does not evaluate [hint: write the field as {NAME}, without conversion or "
                 "format spec]\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": f\"{1 + 2}\"}}\n",
                 "1:34: error: cannot evaluate the f-string field {1 + 2} statically [hint: an "
                 "f-string field may only be a name bound above the declaration]\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": 99999999999999999999}}\n",
                 "1:32: error: integer 99999999999999999999 does not fit in 64 bits\n");
    want = xprintf("1:32: error: complex number 2j is not allowed in a declaration [hint: %s]\n",
                   allowed);
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": 2j}}\n", want);
    free(want);
    expect_diags("STAU_CONFIG = {\"kwargs\": dict(x)}\n",
                 "1:31: error: dict() in a declaration takes keyword arguments only, not x "
                 "[hint: write dict(key=value, ...) or a {...} literal]\n");
    want = xprintf("1:27: error: **base is not evaluated in a declaration [hint: %s]\n", allowed);
    expect_diags("STAU_CONFIG = {\"kwargs\": {**base}}\n", want);
    free(want);
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": 1, \"a\": 2}}\n",
                 "1:35: warning: duplicate key 'a'; the later value wins\n");
    expect_diags("STAU_CONFIG = ReportConfig(\"pkg.job\", 1, [])\n",
                 "1:15: error: ReportConfig() missing required argument 'main_func'\n");
    expect_diags("STAU_CONFIG = ReportConfig(\"pkg.job\", 1, [ReportDependencies(\"a\", 1, False, "
                 "{}, False, 9)], \"m\")\n",
                 "1:88: error: ReportDependencies() takes at most 5 positional arguments\n");
    expect_diags("STAU_CONFIG = ReportConfig(\"pkg.job\", 1, [], \"m\", job_type=\"x\")\n",
                 "1:51: error: ReportConfig() got multiple values for argument 'job_type'\n");
    expect_diags("STAU_CONFIG = [1]\n",
                 "1:15: error: STAU_CONFIG must be a dict or ReportConfig(...), not list [hint: "
                 "write STAU_CONFIG = {\"dependencies\": [...], \"schedule\": \"...\"}]\n");
}

UNIT_TEST(eval_syntax_errors)
{
    /* In the declaration: an error. Elsewhere: a warning, and the declaration is read. */
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": 1,, }}\n",
                 "1:34: error: syntax error in the declaration: unexpected ',' [hint: the "
                 "declaration must be valid Python; stau reads it without running it]\n");
    expect_diags("STAU_CONFIG = {\"kwargs\": {\"a\": 1}\n",
                 "1:15: error: syntax error in the declaration: '{' was never closed [hint: the "
                 "declaration must be valid Python; stau reads it without running it]\n");
    struct scan_result r =
        scan_text("STAU_CONFIG = {\"kwargs\": {\"a\": 1}}\n\ndef f(:\n    return 'x\n");
    CHECK(r.ok);
    CHECK_INT(r.diags.errors, 0);
    CHECK(r.diags.warnings > 0);
    scan_result_release(&r);
}

UNIT_TEST(eval_not_a_job)
{
    const char *sources[] = {
        "# STAU_CONFIG = {}\n",
        "x = 'STAU_CONFIG = {}'\n",
        "def f():\n    STAU_CONFIG = {}\n",
        "if True:\n    STAU_CONFIG = {}\n",
        "\"\"\"\nSTAU_CONFIG = {}\n\"\"\"\n",
        "STAU_CONFIG_X = {}\n",
        "STAU_CONFIG == {}\n",
    };
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        struct scan_result r = scan_text(sources[i]);
        if (!CHECK(!r.is_job))
            fprintf(stderr, "  source %zu: %s", i, sources[i]);
        CHECK_INT(r.diags.items.len, 0);
        scan_result_release(&r);
    }
}

UNIT_TEST(decl_keys_and_types)
{
    char *json = decl_json(
        "STAU_CONFIG = {\"dependencies\": [\"a\", {\"job\": \"b\", \"max_lag\": 60, \"kwargs\": "
        "{\"x\": 1}}],"
        " \"schedule\": [\"15 * * * *\", \"@daily\"], \"timezone\": \"Europe/Copenhagen\","
        " \"inputs\": [\"data/*.csv\"], \"outputs\": [\"out/x.parquet\"], \"main_func\": \"main\","
        " \"kwargs\": {\"r\": \"eu\"}, \"retries\": 2, \"retry_delay\": 5, \"timeout\": 900,"
        " \"slots\": 2, \"tags\": [\"finance\"], \"python\": \"python3.11\", \"chunk_size\": 10,"
        " \"work_ids\": [1, 2], \"allow_multiple_jobs\": True, \"job_type\": \"pkg.job\","
        " \"data_sources\": [\"db\"], \"data_sinks\": [\"s3\"]}\n");
    CHECK_STR(
        json,
        "{\"dependencies\":[{\"job\":\"a\",\"max_lag\":null,\"kwargs\":{},\"unique\":false,"
        "\"allow_missing_work_ids\":false},{\"job\":\"b\",\"max_lag\":60,\"kwargs\":{\"x\":1},"
        "\"unique\":false,\"allow_missing_work_ids\":false}],\"schedule\":[\"15 * * * *\","
        "\"@daily\"],\"timezone\":\"Europe/Copenhagen\",\"inputs\":[\"data/*.csv\"],"
        "\"outputs\":[\"out/x.parquet\"],\"main_func\":\"main\",\"kwargs\":{\"r\":\"eu\"},"
        "\"retries\":2,\"retry_delay\":5,\"timeout\":900,\"slots\":2,\"tags\":[\"finance\"],"
        "\"python\":\"python3.11\",\"chunk_size\":10,\"work_ids\":[1,2],"
        "\"allow_multiple_jobs\":true,\"is_streaming\":false,\"job_type\":\"pkg.job\","
        "\"data_sources\":[\"db\"],\"data_sinks\":[\"s3\"]}");
    free(json);

    expect_diags("STAU_CONFIG = {\"dependancies\": []}\n",
                 "1:16: warning: unknown key 'dependancies' in STAU_CONFIG is ignored [hint: did "
                 "you mean 'dependencies'?]\n"
                 "1:16: note: so 'pkg.job' depends on nothing\n");
    expect_diags("STAU_CONFIG = {\"dependencies\": [{\"job\": \"a\", \"maxlag\": 1}]}\n",
                 "1:46: warning: unknown key 'maxlag' in a dependency is ignored [hint: did you "
                 "mean 'max_lag'?]\n"
                 "1:46: note: so the dependency of 'pkg.job' on 'a' has no max_lag\n");
    expect_diags("STAU_CONFIG = {\"retries\": \"3\"}\n",
                 "1:27: error: 'retries' must be an int, not str\n");
    expect_diags("STAU_CONFIG = {\"retries\": -1}\n",
                 "1:27: error: 'retries' must be an int >= 0\n");
    expect_diags("STAU_CONFIG = {\"retries\": True}\n",
                 "1:27: error: 'retries' must be an int, not bool\n");
    expect_diags("STAU_CONFIG = {\"slots\": 0}\n", "1:25: error: 'slots' must be an int >= 1\n");
    expect_diags("STAU_CONFIG = {\"timeout\": 0}\n",
                 "1:27: error: 'timeout' must be a number > 0\n");
    expect_diags("STAU_CONFIG = {\"dependencies\": [{\"job\": \"a\", \"max_lag\": -5}]}\n",
                 "1:57: error: 'max_lag' must be a number >= 0\n");
    expect_diags("STAU_CONFIG = {\"dependencies\": \"a\"}\n",
                 "1:32: error: 'dependencies' must be a list, not str [hint: write [\"a\"]]\n");
    expect_diags(
        "STAU_CONFIG = {\"dependencies\": [{\"max_lag\": 1}]}\n",
        "1:33: error: dependency has no 'job' [hint: write {\"job\": \"name.of.job\", ...}]\n");
    expect_diags(
        "STAU_CONFIG = {\"tags\": \"finance\"}\n",
        "1:24: error: 'tags' must be a list of str, not str [hint: write [\"finance\"]]\n");
    expect_diags("STAU_CONFIG = {\"inputs\": [\"a\", 3]}\n",
                 "1:32: error: 'inputs' must be a list of str, but item 2 is int\n");
    expect_diags("STAU_CONFIG = {\"outputs\": [\"../x\"]}\n",
                 "1:28: error: output '../x' is outside the project [hint: outputs are paths "
                 "relative to the project root, without '..']\n");
    expect_diags("STAU_CONFIG = {\"main_func\": \"a.b\"}\n",
                 "1:29: error: 'main_func' must name a function, not 'a.b'\n");
    expect_diags("STAU_CONFIG = {\"job_type\": \"other\"}\n",
                 "1:28: error: job_type 'other' does not match the job's name 'pkg.job' [hint: a "
                 "job's name is its path below the jobs root with '/' written as '.'; write "
                 "job_type=\"pkg.job\" or rename the file]\n");
    expect_diags("STAU_CONFIG = {\"timezone\": \"Europe/Copenhagn\"}\n",
                 "1:28: error: unknown time zone 'Europe/Copenhagn' [hint: did you mean "
                 "'Europe/Copenhagen'?]\n");
    expect_diags("STAU_CONFIG = {\"timezone\": \"Mars/Olympus\"}\n",
                 "1:28: error: unknown time zone 'Mars/Olympus' [hint: use an IANA zone name "
                 "such as \"Europe/Copenhagen\" or \"UTC\"]\n");
}

UNIT_TEST(value_float_repr)
{
    const double values[] = {1000.0, 0.1, 1e16, 1.5e-5, 0.0001, 123456789012345.6, -2.5, 1e22, 3.0};
    const char *want[] = {"1000.0", "0.1",   "1e+16", "1.5e-05", "0.0001", "123456789012345.6",
                          "-2.5",   "1e+22", "3.0"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct strbuf sb = STRBUF_INIT;
        value_format_float(&sb, values[i]);
        CHECK_STR(sb.buf, want[i]);
        strbuf_release(&sb);
    }
}

UNIT_TEST(decl_schedule)
{
    struct scan_result r = scan_text("STAU_CONFIG = {\"schedule\": \"61 * * * *\"}\n");
    CHECK_INT(r.diags.errors, 1);
    if (r.diags.items.len) {
        const struct diag *d = &r.diags.items.items[0];
        CHECK_INT(d->loc.col, 29);
        CHECK(starts_with(d->message, "invalid schedule '61 * * * *': "));
    }
    scan_result_release(&r);
    char *json = decl_json("STAU_CONFIG = {\"schedule\": \"@every 15m\"}\n");
    CHECK(strstr(json, "\"schedule\":[\"@every 15m\"]") != NULL);
    free(json);
}

UNIT_TEST(eval_changes_stau_cannot_follow)
{
    expect_diags("M = \"main\"\nM += \"_v2\"\nSTAU_CONFIG = {\"main_func\": M}\n",
                 "2:1: warning: 'M' is changed here with +=, which stau does not follow; the "
                 "declaration gets its plain assignment [hint: bind the final value with one "
                 "assignment above STAU_CONFIG]\n");
    expect_diags("STAU_CONFIG = {\"retries\": 1}\nSTAU_CONFIG[\"retries\"] = 2\n"
                 "STAU_CONFIG.update(x=1)\n",
                 "2:1: warning: STAU_CONFIG is changed here, after its assignment on line 1; "
                 "stau reads only the assignment [hint: put every key into the assignment "
                 "itself]\n"
                 "3:1: warning: STAU_CONFIG is changed here, after its assignment on line 1; "
                 "stau reads only the assignment [hint: put every key into the assignment "
                 "itself]\n");
    /* Names the declaration does not use, and indented code, are not its business. */
    expect_diags("N = 1\nN += 1\nSTAU_CONFIG = {}\ndef f():\n    STAU_CONFIG.update()\n", "");
}

/* Expect `"a": expr` in kwargs to be read as `json`. */
static void expect_arithmetic(const char *expr, const char *json)
{
    char *src = xprintf("STAU_CONFIG = {\"kwargs\": {\"a\": %s}}\n", expr);
    char *want = xprintf("{\"a\":%s}", json);
    struct scan_result r = scan_text(src);
    char *diags = diag_text(&r);
    bool ok = CHECK_STR(diags, "");
    ok = CHECK(r.ok) && ok;
    if (r.ok)
        ok = CHECK_STR(r.decl.kwargs_json, want) && ok;
    if (!ok)
        fprintf(stderr, "  expression: %s\n", expr);
    free(diags);
    scan_result_release(&r);
    free(want);
    free(src);
}

/* Expect `"a": expr` in kwargs (its value at 1:32) to give exactly these diagnostics. */
static void expect_arithmetic_refused(const char *expr, const char *want)
{
    char *src = xprintf("STAU_CONFIG = {\"kwargs\": {\"a\": %s}}\n", expr);
    struct scan_result r = scan_text(src);
    char *diags = diag_text(&r);
    if (!CHECK_STR(diags, want))
        fprintf(stderr, "  expression: %s\n", expr);
    CHECK(!r.ok);
    free(diags);
    scan_result_release(&r);
    free(src);
}

UNIT_TEST(eval_arithmetic)
{
    static const char *const cases[][2] = {
        /* What users of the original Stau write. */
        {"60 * 24", "1440"},
        {"1000 // 4", "250"},
        {"2 * 60 + 30", "150"},
        {"90 - 5", "85"},
        {"100 % 7", "2"},
        /* Precedence and grouping come from the parse. */
        {"1 + 2 * 3", "7"},
        {"2 * 3 + 1", "7"},
        {"10 - 4 - 3", "3"},
        {"100 // 10 // 3", "3"},
        {"(60 * 24) // 2", "720"},
        {"2 * (3 + 4)", "14"},
        {"((7))", "7"},
        {"-2 * 3", "-6"},
        {"-(2 + 3)", "-5"},
        {"- - 4 // 3", "1"},
        {"1 + 2 % 3 * 4", "9"},
        /* // and % round toward negative infinity, as in Python. */
        {"7 // 2", "3"},
        {"-7 // 2", "-4"},
        {"7 // -2", "-4"},
        {"-7 // -2", "3"},
        {"6 // -3", "-2"},
        {"0 // -5", "0"},
        {"7 % 3", "1"},
        {"-7 % 3", "2"},
        {"7 % -3", "-2"},
        {"-7 % -3", "-1"},
        {"-6 % 3", "0"},
        {"5 // -1", "-5"},
        /* The ends of int64. */
        {"9223372036854775806 + 1", "9223372036854775807"},
        {"-9223372036854775807 - 1", "-9223372036854775808"},
        {"(-9223372036854775807 - 1) % -1", "0"},
        {"(-9223372036854775807 - 1) // 1", "-9223372036854775808"},
        {"(-9223372036854775807 - 1) // 2", "-4611686018427387904"},
        {"3037000499 * 3037000499", "9223372030926249001"},
        {"-4611686018427387904 * 2", "-9223372036854775808"},
        /* A float on either side of + - * gives a float. */
        {"1.5 * 2", "3.0"},
        {"2 - 0.5", "1.5"},
        {"1 + 1.0", "2.0"},
        {"0.1 + 0.2", "0.30000000000000004"},
        {"-1.5 * -2.0", "3.0"},
        {"1e308 - 1e308", "0.0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_arithmetic(cases[i][0], cases[i][1]);

    /* Over names, in f-strings, and in the record calls. */
    expect_kwargs("MINUTES = 60\nDAY = MINUTES * 24\nSTAU_CONFIG = {\"kwargs\": {\"a\": MINUTES * "
                  "24 - 5, \"b\": DAY // 7, \"c\": f\"{DAY}m\", \"d\": [DAY % 100, -DAY]}}\n",
                  "{\"a\":1435,\"b\":205,\"c\":\"1440m\",\"d\":[40,-1440]}");
    struct scan_result r =
        scan_text("from utils import ReportConfig, ReportDependencies\n"
                  "STAU_CONFIG = ReportConfig(\"pkg.job\", chunk_size=1000 // 4, "
                  "dependencies=[ReportDependencies(\"job_b\", 2 * 60)], main_func=\"main\")\n");
    char *diags = diag_text(&r);
    CHECK_STR(diags, "");
    if (CHECK(r.ok)) {
        struct strbuf sb = STRBUF_INIT;
        decl_to_json(&r.decl, &sb);
        CHECK(strstr(sb.buf, "\"chunk_size\":250") != NULL);
        CHECK(strstr(sb.buf, "{\"job\":\"job_b\",\"max_lag\":120,") != NULL);
        strbuf_release(&sb);
    }
    free(diags);
    scan_result_release(&r);
}

/* A constant is evaluated once however often it is used: a chain of names each
 * used twice takes linear time, not 2^40 steps, and warns once. (A chain much
 * longer meets the limit of 100 levels of nesting, which a name use counts as.) */
UNIT_TEST(eval_names_evaluated_once)
{
    struct strbuf src = STRBUF_INIT;
    strbuf_addstr(&src, "A0 = 1\n");
    for (int i = 1; i <= 40; i++)
        strbuf_addf(&src, "A%d = A%d + A%d\n", i, i - 1, i - 1);
    strbuf_addstr(&src, "STAU_CONFIG = {\"kwargs\": {\"a\": A40, \"b\": A40 // A39 - A1}}\n");
    expect_kwargs(src.buf, "{\"a\":1099511627776,\"b\":0}");
    strbuf_release(&src);
    expect_diags("D = {\"k\": 1, \"k\": 2}\nSTAU_CONFIG = {\"kwargs\": {\"a\": D, \"b\": D}}\n",
                 "1:14: warning: duplicate key 'k'; the later value wins\n");
}

#define NOT_NUMBERS "True and False are not numbers in a declaration; write 1 or 0"

UNIT_TEST(eval_arithmetic_refusals)
{
    const char *operators = "a declaration evaluates + - * on numbers, // and % on ints, and + on "
                            "two strings or two lists";
    const char *overflow = "the result does not fit in 64 bits (stau's ints run from "
                           "-9223372036854775808 to 9223372036854775807)";
    char *want;
    static const char *const other_operators[] = {"2 ** 3", "1 << 2", "6 >> 1", "5 & 3",
                                                  "5 | 3",  "5 ^ 3",  "A @ B"};
    for (size_t i = 0; i < sizeof(other_operators) / sizeof(other_operators[0]); i++) {
        const char *e = other_operators[i];
        want = xprintf("1:32: error: operator '%.*s' is not evaluated in a declaration [hint: "
                       "%s]\n",
                       (int)strcspn(e + 2, " "), e + 2, operators);
        expect_arithmetic_refused(e, want);
        free(want);
    }
    expect_arithmetic_refused(
        "60 / 2", "1:32: error: operator '/' is not evaluated in a declaration [hint: / gives a "
                  "float, which stau does not evaluate; write // for the floor division of two "
                  "ints]\n");

    /* Overflow, at the operation that overflows: column, operation. */
    static const char *const overflows[][2] = {
        {"32", "9223372036854775807 + 1"},          {"32", "-9223372036854775807 - 2"},
        {"32", "4611686018427387904 * 2"},          {"32", "3037000500 * -3037000500"},
        {"32", "(-9223372036854775807 - 1) // -1"}, {"32", "-(-9223372036854775807 - 1)"},
    };
    for (size_t i = 0; i < sizeof(overflows) / sizeof(overflows[0]); i++) {
        want = xprintf("1:%s: error: integer overflow in %s [hint: %s]\n", overflows[i][0],
                       overflows[i][1], overflow);
        expect_arithmetic_refused(overflows[i][1], want);
        free(want);
    }
    want =
        xprintf("1:37: error: integer overflow in 9223372036854775807 + 1 [hint: %s]\n", overflow);
    expect_arithmetic_refused("1 + (9223372036854775807 + 1)", want);
    free(want);
    expect_arithmetic_refused("1e308 * 10", "1:32: error: float overflow in 1e308 * 10 [hint: the "
                                            "result is too large for a float]\n");

    /* Division and modulo by zero, also through a name. */
    expect_arithmetic_refused("1 // 0", "1:32: error: division by zero in 1 // 0 [hint: the "
                                        "right operand evaluates to 0]\n");
    expect_arithmetic_refused("-1 % (2 - 2)", "1:32: error: modulo by zero in -1 % (2 - 2) "
                                              "[hint: the right operand evaluates to 0]\n");
    expect_diags("ZERO = 0\nRATE = 60 // ZERO\nSTAU_CONFIG = {\"retries\": RATE}\n",
                 "2:8: error: division by zero in 60 // ZERO [hint: the right operand evaluates "
                 "to 0]\n3:27: note: 'RATE' is used here\n");

    /* Operands of the wrong kinds: no repetition, no bools as numbers, no %-formatting. */
    static const char *const kinds[][2] = {
        {"\"ab\" * 3", "cannot multiply str and int [hint: repeating a str is not evaluated in a "
                       "declaration; write it out in full]"},
        {"3 * [1]", "cannot multiply int and list [hint: repeating a list is not evaluated in a "
                    "declaration; write it out in full]"},
        {"(1,) * 2", "cannot multiply tuple and int [hint: repeating a tuple is not evaluated in "
                     "a declaration; write it out in full]"},
        {"[1] * [2]",
         "cannot multiply list and list [hint: * is evaluated between two numbers (int or "
         "float)]"},
        {"\"a\" * 1.5",
         "cannot multiply str and float [hint: * is evaluated between two numbers (int or "
         "float)]"},
        {"True + 1", "cannot add bool and int [hint: " NOT_NUMBERS "]"},
        {"1 * False", "cannot multiply int and bool [hint: " NOT_NUMBERS "]"},
        {"True // True", "cannot floor-divide bool by bool [hint: " NOT_NUMBERS "]"},
        {"2.5 - True", "cannot subtract bool from float [hint: " NOT_NUMBERS "]"},
        {"False % 2", "cannot take bool modulo int [hint: " NOT_NUMBERS "]"},
        {"\"ab\" - \"b\"",
         "cannot subtract str from str [hint: - is evaluated between two numbers (int or "
         "float)]"},
        {"None + 1", "cannot add None and int [hint: + is evaluated between two numbers, two "
                     "strings or two lists]"},
        {"{} + {}", "cannot add dict and dict [hint: + is evaluated between two numbers, two "
                    "strings or two lists]"},
        {"[1] + (2,)", "cannot add list and tuple [hint: + is evaluated between two numbers, two "
                       "strings or two lists]"},
        {"7.0 // 2",
         "cannot floor-divide float by int [hint: // is evaluated between two ints only]"},
        {"7 % 2.0", "cannot take int modulo float [hint: % is evaluated between two ints only]"},
        {"[4] // 2", "cannot floor-divide list by int [hint: // is evaluated between two ints "
                     "only]"},
        {"\"%s_func\" % \"main\"",
         "cannot take str modulo str [hint: %-formatting is not evaluated in a declaration; "
         "write an f-string over names bound above it]"},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        want = xprintf("1:32: error: %s\n", kinds[i][1]);
        expect_arithmetic_refused(kinds[i][0], want);
        free(want);
    }

    /* An error inside an expression is placed at its own operation. */
    expect_diags("MINUTES = 60\nSTAU_CONFIG = {\"retries\": MINUTES * 24 - \"5\"}\n",
                 "2:27: error: cannot subtract str from int [hint: - is evaluated between two "
                 "numbers (int or float)]\n");
    /* Both errors are told: the list's item, and the list where an int belongs. */
    expect_diags("STAU_CONFIG = {\"retries\": [1, 2 // 0]}\n",
                 "1:31: error: division by zero in 2 // 0 [hint: the right operand evaluates to "
                 "0]\n1:27: error: 'retries' must be an int, not list\n");
    /* The evaluated number is checked like a literal one. */
    expect_diags("STAU_CONFIG = {\"retries\": 2 - 3}\n",
                 "1:27: error: 'retries' must be an int >= 0\n");
}
