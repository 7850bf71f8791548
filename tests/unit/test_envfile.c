/* Unit tests of reading an env file (envfile.h): the forms, and the located errors. */
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "unit.h"

/* The entries text gives, joined by '|', or "error:" and the first message with its
 * line and column. */
static char *parsed(const char *text)
{
    struct strlist out = {0};
    struct diags d = DIAGS_INIT;
    struct strbuf sb = STRBUF_INIT;
    if (envfile_parse(text, strlen(text), ".env", &out, &d) < 0) {
        const struct diag *first = &d.items.items[0];
        strbuf_addf(&sb, "error:%u:%u:%s", first->loc.line, first->loc.col, first->message);
    } else {
        for (size_t i = 0; i < out.len; i++)
            strbuf_addf(&sb, "%s%s", i ? "|" : "", out.items[i]);
    }
    for (size_t i = 0; i < out.len; i++)
        free(out.items[i]);
    VEC_FREE(&out);
    diag_release(&d);
    return strbuf_detach(&sb);
}

#define CHECK_PARSE(text, want)                                                                    \
    do {                                                                                           \
        char *got_ = parsed(text);                                                                 \
        CHECK_STR(got_, want);                                                                     \
        free(got_);                                                                                \
    } while (0)

UNIT_TEST(envfile_forms)
{
    CHECK_PARSE("", "");
    CHECK_PARSE("# only a comment\n\n   \n", "");
    CHECK_PARSE("A=1\nB=2", "A=1|B=2");
    CHECK_PARSE("  A = spaced value  \n", "A=spaced value");
    CHECK_PARSE("export A=1\nexport\tB=2\n", "A=1|B=2");
    CHECK_PARSE("export=1\n", "export=1");
    CHECK_PARSE("A=x # comment\nB=x#kept\nC=#kept\n", "A=x|B=x#kept|C=#kept");
    CHECK_PARSE("A=\n", "A=");
    CHECK_PARSE("A='$HOME \\n' # c\n", "A=$HOME \\n");
    CHECK_PARSE("A=\"a\\nb\\t\\\"c\\\" \\\\ \\$d \\q\"\n", "A=a\nb\t\"c\" \\ $d \\q");
    CHECK_PARSE("A=\"line one\nline two\"\nB=2\n", "A=line one\nline two|B=2");
    CHECK_PARSE("A=1\r\nB=\"x\r\ny\"\r\n", "A=1|B=x\ny");
    CHECK_PARSE("\xef\xbb\xbf"
                "A=1\n",
                "A=1");
    CHECK_PARSE("A=1\nB=2\nA=3\n", "A=3|B=2"); /* a later line wins */
    CHECK_PARSE("_a9=ok\n", "_a9=ok");
}

UNIT_TEST(envfile_errors_are_located)
{
    CHECK_PARSE("A=1\nnonsense\n", "error:2:1:expected KEY=VALUE, not 'nonsense'");
    CHECK_PARSE("9A=1\n", "error:1:1:'9A' is not a variable name");
    CHECK_PARSE("A.B=1\n", "error:1:1:'A.B' is not a variable name");
    CHECK_PARSE("  =1\n", "error:1:3:expected a variable name before '=' in '=1'");
    CHECK_PARSE("A='x\n", "error:1:3:unclosed single quote");
    CHECK_PARSE("A=1\nB=\"x\ny\n", "error:2:3:unclosed double quote");
    CHECK_PARSE("A=\"x\" y\n", "error:1:7:text after the closing quote: 'y'");
    char nul[] = "A=1\nB=x\0y\n";
    struct strlist out = {0};
    struct diags d = DIAGS_INIT;
    CHECK_INT(envfile_parse(nul, sizeof(nul) - 1, ".env", &out, &d), -1);
    CHECK_INT(d.items.len, 1);
    CHECK_STR(d.items.items[0].message, "a NUL byte, which no variable may hold");
    CHECK_INT(d.items.items[0].loc.line, 2);
    CHECK_INT(d.items.items[0].loc.col, 4);
    diag_release(&d);
    for (size_t i = 0; i < out.len; i++)
        free(out.items[i]);
    VEC_FREE(&out);
}

UNIT_TEST(envfile_every_error_of_a_file)
{
    struct strlist out = {0};
    struct diags d = DIAGS_INIT;
    const char *text = "bad\nA=1\n2B=3\nSTAU_RUN_ID=4\n";
    CHECK_INT(envfile_parse(text, strlen(text), ".env", &out, &d), -1);
    CHECK_INT(d.errors, 2);
    CHECK_INT(d.warnings, 1);
    CHECK_INT(out.len, 1);
    CHECK_STR(out.len ? out.items[0] : "", "A=1");
    diag_release(&d);
    for (size_t i = 0; i < out.len; i++)
        free(out.items[i]);
    VEC_FREE(&out);
}

/* The real environment wins: a key stau's own environment has is left out. */
UNIT_TEST(envfile_load_keeps_what_the_environment_lacks)
{
    const char *dir = unit_tmpdir();
    unit_write(dir, ".env", "STAU_UNIT_ENV_A=file\nSTAU_UNIT_ENV_B=file\n");
    /* (STAU_* is stau's own: these names are only for the file read below.) */
    unit_write(dir, "other.env", "UNIT_ENV_A=file\nUNIT_ENV_B=file\n");
    setenv("UNIT_ENV_A", "real", 1);
    unsetenv("UNIT_ENV_B");
    struct envfile env;
    struct diags d = DIAGS_INIT;
    CHECK_INT(envfile_load(dir, "other.env", &env, &d), 0);
    CHECK_INT(env.count, 1);
    CHECK_STR(env.count ? env.entries[0] : "", "UNIT_ENV_B=file");
    CHECK(env.entries && !env.entries[1]);
    CHECK_STR(env.names_json, "[\"UNIT_ENV_B\"]");
    envfile_release(&env);
    /* The default file's STAU_* lines are warned about and left out. */
    CHECK_INT(envfile_load(dir, NULL, &env, &d), 0);
    CHECK_INT(env.count, 0);
    CHECK(!env.names_json);
    CHECK_INT(d.warnings, 2);
    envfile_release(&env);
    diag_release(&d);
    /* A missing default is no error; a missing named file is. */
    d = (struct diags)DIAGS_INIT;
    const char *empty = unit_write(dir, "sub/x", "");
    (void)empty;
    char *sub = xprintf("%s/sub", dir);
    CHECK_INT(envfile_load(sub, NULL, &env, &d), 0);
    CHECK_INT(d.items.len, 0);
    CHECK_INT(envfile_load(sub, "named.env", &env, &d), -1);
    CHECK_INT(d.errors, 1);
    CHECK_STR(d.items.len ? d.items.items[0].path : "", "named.env");
    envfile_release(&env);
    diag_release(&d);
    free(sub);
    unsetenv("UNIT_ENV_A");
}
