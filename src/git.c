/* git.c: asking git what differs from the commit (see git.h). */
#include "git.h"

#include <stdlib.h>
#include <string.h>

#include "project.h"
#include "proc.h"
#include "util.h"

/* The status letters porcelain v1 uses (X and Y), and ' ' for unchanged. */
static bool status_letter(char c)
{
    return c && strchr(" MTADRCU?!", c) != NULL;
}

int git_changes_parse(const char *text, size_t len, const char *prefix, const char *jobs_root,
                      struct git_changes *out)
{
    out->dirty = -1;
    out->files_json = NULL;
    struct strbuf files = STRBUF_INIT;
    size_t kept = 0, prefix_len = strlen(prefix), jobs_len = strlen(jobs_root);
    /* The jobs root from the checkout's top, ending in '/'. */
    char *jobs_dir = xprintf("%s%s%s", prefix, jobs_root, jobs_len ? "/" : "");
    bool dirty = false;
    for (size_t at = 0; at < len;) {
        const char *entry = text + at;
        const char *end = memchr(entry, '\0', len - at);
        /* "XY PATH": anything else (a warning git printed among them) is no answer. */
        if (!end || end - entry < 4 || !status_letter(entry[0]) || !status_letter(entry[1]) ||
            entry[2] != ' ') {
            strbuf_release(&files);
            free(jobs_dir);
            return -1;
        }
        at = (size_t)(end - text) + 1;
        bool moved = entry[0] == 'R' || entry[0] == 'C' || entry[1] == 'R' || entry[1] == 'C';
        if (moved) { /* the path it came from follows: it changed as well */
            const char *from = memchr(text + at, '\0', len - at);
            if (!from) {
                strbuf_release(&files);
                free(jobs_dir);
                return -1;
            }
            at = (size_t)(from - text) + 1;
        }
        const char *path = entry + 3;
        bool ignored = entry[0] == '!';
        size_t path_len = strlen(path);
        if (ignored && path[path_len - 1] == '/' && strncmp(jobs_dir, path, path_len) == 0) {
            /* A folder git ignores holds the jobs root: no job file is in the commit. */
            dirty = true;
            if (!kept++) {
                strbuf_addch(&files, '[');
                json_quote(&files, jobs_len ? jobs_dir + prefix_len : "./",
                           jobs_len ? jobs_len + 1 : 2);
            }
            continue;
        }
        if (strncmp(path, prefix, prefix_len) != 0)
            continue; /* outside the project (git was asked for "." only) */
        path += prefix_len;
        bool in_jobs = !jobs_len || (strncmp(path, jobs_root, jobs_len) == 0 &&
                                     (path[jobs_len] == '/' || !path[jobs_len]));
        bool untracked = entry[0] == '?' && entry[1] == '?';
        if (untracked && !in_jobs)
            continue; /* not tracked, and no job's */
        if (ignored && !(in_jobs && ends_with(path, ".py")))
            continue; /* ignored, and no job file (__pycache__/, data, local settings) */
        dirty = true;
        if (in_jobs && kept < GIT_CHANGES_KEPT) {
            strbuf_addch(&files, kept++ ? ',' : '[');
            json_quote(&files, path, strlen(path));
        }
    }
    free(jobs_dir);
    out->dirty = dirty;
    if (kept) {
        strbuf_addch(&files, ']');
        out->files_json = strbuf_detach(&files);
    }
    strbuf_release(&files);
    return 0;
}

void git_changes_of(const char *root, const char *jobs_root, struct git_changes *out)
{
    out->dirty = -1;
    out->files_json = NULL;
    char *prefix = project_git_prefix(root);
    if (!prefix)
        return; /* not a git checkout */
    /* No optional locks: a stau must not take index.lock from the user's own git. */
    const char *argv[] = {"git",
                          "--no-optional-locks",
                          "-C",
                          root,
                          "status",
                          "--porcelain=v1",
                          "-z",
                          "--untracked-files=normal",
                          "--ignored=traditional",
                          "--",
                          ".",
                          NULL};
    struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
    if (proc_capture(argv, &text, &err) == 0 &&
        git_changes_parse(text.buf ? text.buf : "", text.len, prefix, jobs_root, out) < 0)
        out->dirty = -1;
    strbuf_release(&text);
    strbuf_release(&err);
    free(prefix);
}

void git_changes_release(struct git_changes *c)
{
    free(c->files_json);
    c->files_json = NULL;
    c->dirty = -1;
}

void git_describe_changes(int dirty, const char *files_json, struct strbuf *out)
{
    if (dirty != 1)
        return;
    struct strbuf item = STRBUF_INIT, path = STRBUF_INIT, shown = STRBUF_INIT;
    size_t n = 0;
    for (; files_json && json_array_item(files_json, n, &item) == 1; n++) {
        strbuf_reset(&path);
        if (n < 5 && json_string_decode(item.buf, &path) == 0)
            strbuf_addf(&shown, "%s%s", n ? ", " : "", strbuf_str(&path));
        strbuf_reset(&item);
    }
    if (!n)
        strbuf_addstr(out, " (dirty outside the jobs root)");
    else if (n <= 5)
        strbuf_addf(out, " (dirty: %s)", shown.buf);
    else
        strbuf_addf(out, " (dirty: %s and %s%zu more)", shown.buf,
                    n >= GIT_CHANGES_KEPT ? "at least " : "", n - 5);
    strbuf_release(&item);
    strbuf_release(&path);
    strbuf_release(&shown);
}
