/* Unit tests of reading `git status --porcelain=v1 -z` (git.h). */
#include <stdlib.h>
#include <string.h>

#include "git.h"
#include "unit.h"

/* "dirty files" for the status text (NUL-separated, len bytes), or "error". */
static char *changes(const char *text, size_t len, const char *prefix, const char *jobs_root)
{
    struct git_changes c;
    if (git_changes_parse(text, len, prefix, jobs_root, &c) < 0)
        return xstrdup("error");
    char *got = xprintf("%d %s", c.dirty, c.files_json ? c.files_json : "-");
    git_changes_release(&c);
    return got;
}

#define CHECK_CHANGES(text, prefix, jobs, want)                                                    \
    do {                                                                                           \
        char *got_ = changes(text, sizeof(text) - 1, prefix, jobs);                                \
        CHECK_STR(got_, want);                                                                     \
        free(got_);                                                                                \
    } while (0)

UNIT_TEST(git_changes_from_porcelain)
{
    CHECK_CHANGES("", "", "src", "0 -");
    CHECK_CHANGES(" M src/a.py\0M  src/b.py\0A  src/c.py\0 D src/d.py\0", "", "src",
                  "1 [\"src/a.py\",\"src/b.py\",\"src/c.py\",\"src/d.py\"]");
    /* untracked: only the jobs root's count; ignored never */
    CHECK_CHANGES("?? notes.txt\0!! build/\0", "", "src", "0 -");
    CHECK_CHANGES("?? src/new/\0?? notes.txt\0", "", "src", "1 [\"src/new/\"]");
    /* tracked outside the jobs root: dirty, nothing listed */
    CHECK_CHANGES(" M pyproject.toml\0", "", "src", "1 -");
    /* the project below the checkout's top: paths made relative to it */
    CHECK_CHANGES(" M proj/src/a.py\0 M other/x\0 M proj/README\0", "proj/", "src",
                  "1 [\"src/a.py\"]");
    CHECK_CHANGES(" M other/x\0", "proj/", "src", "0 -");
    /* "src2" is not under "src"; a jobs root of "" is the whole project */
    CHECK_CHANGES("?? src2/a.py\0", "", "src", "0 -");
    CHECK_CHANGES("?? a.py\0", "", "", "1 [\"a.py\"]");
    /* a rename: the new path, then the old one, which is skipped */
    CHECK_CHANGES("R  src/new.py\0src/old.py\0 M src/z.py\0", "", "src",
                  "1 [\"src/new.py\",\"src/z.py\"]");
    /* ignored: a job file under the jobs root counts, other files and folders do not */
    CHECK_CHANGES("!! src/__pycache__/\0!! src/local.yaml\0!! build/\0", "", "src", "0 -");
    CHECK_CHANGES("!! src/scratch.py\0", "", "src", "1 [\"src/scratch.py\"]");
    /* a folder git ignores holding the jobs root: the whole jobs root is not tracked */
    CHECK_CHANGES("!! zig-out/\0", "zig-out/example/", "src", "1 [\"src/\"]");
    CHECK_CHANGES("!! zig-out/example/\0", "zig-out/example/", "", "1 [\"./\"]");
    CHECK_CHANGES("!! zig-out/other/\0", "zig-out/example/", "src", "0 -");
    /* paths with spaces and quotes are kept as they are (-z does not quote) */
    CHECK_CHANGES(" M src/a b\"c.py\0", "", "src", "1 [\"src/a b\\\"c.py\"]");
}

UNIT_TEST(git_changes_refuses_what_git_does_not_write)
{
    CHECK_CHANGES("warning: could not open directory 'x/'\n M src/a.py\0", "", "src", "error");
    CHECK_CHANGES(" M src/a.py", "", "src", "error");     /* no NUL at the end */
    CHECK_CHANGES("R  src/new.py\0", "", "src", "error"); /* a rename without its origin */
    CHECK_CHANGES("XY\0", "", "src", "error");
}

UNIT_TEST(git_changes_keeps_at_most_so_many)
{
    struct strbuf text = STRBUF_INIT;
    for (int i = 0; i < GIT_CHANGES_KEPT + 20; i++)
        strbuf_addf(&text, "?? src/f%03d.py%c", i, '\0');
    struct git_changes c;
    CHECK_INT(git_changes_parse(text.buf, text.len, "", "src", &c), 0);
    CHECK_INT(c.dirty, 1);
    struct strbuf item = STRBUF_INIT;
    size_t n = 0;
    while (c.files_json && json_array_item(c.files_json, n, &item) == 1)
        n++;
    CHECK_INT(n, GIT_CHANGES_KEPT);
    struct strbuf said = STRBUF_INIT;
    git_describe_changes(1, c.files_json, &said);
    CHECK_STR(said.buf, " (dirty: src/f000.py, src/f001.py, src/f002.py, src/f003.py, "
                        "src/f004.py and at least 95 more)");
    git_changes_release(&c);
    strbuf_release(&item);
    strbuf_release(&said);
    strbuf_release(&text);
}

UNIT_TEST(git_describe_changes_says_what_is_known)
{
    struct strbuf sb = STRBUF_INIT;
    git_describe_changes(0, NULL, &sb);
    git_describe_changes(-1, "[\"a\"]", &sb);
    CHECK_STR(strbuf_str(&sb), "");
    git_describe_changes(1, NULL, &sb);
    CHECK_STR(sb.buf, " (dirty outside the jobs root)");
    strbuf_reset(&sb);
    git_describe_changes(1, "[\"src/a.py\",\"src/b.py\"]", &sb);
    CHECK_STR(sb.buf, " (dirty: src/a.py, src/b.py)");
    strbuf_release(&sb);
}
