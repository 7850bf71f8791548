/* imports.c: resolving imports to the project's own files. */
#include "imports.h"

#include <stdlib.h>
#include <string.h>

void import_index_init(struct import_index *ix, const char *jobs_root, char *const *paths,
                       size_t count)
{
    memset(ix, 0, sizeof(*ix));
    ix->jobs_root = jobs_root;
    ix->paths = paths;
    ix->count = count;
    for (size_t i = 0; i < count; i++)
        strmap_put(&ix->by_path, paths[i], strlen(paths[i]), i);
}

void import_index_release(struct import_index *ix)
{
    strmap_release(&ix->by_path);
}

static void add_unique(struct sizelist *out, size_t index)
{
    for (size_t i = 0; i < out->len; i++)
        if (out->items[i] == index)
            return;
    VEC_PUSH(out, index);
}

/* Look up base/dotted as a module file (x.py) or a package (x/__init__.py). */
static bool find_module(const struct import_index *ix, const char *base, const char *dotted,
                        size_t dotted_len, struct sizelist *out)
{
    struct strbuf sb = STRBUF_INIT;
    if (base[0])
        strbuf_addf(&sb, "%s/", base);
    for (size_t i = 0; i < dotted_len; i++)
        strbuf_addch(&sb, dotted[i] == '.' ? '/' : dotted[i]);
    size_t stem = sb.len;
    size_t index;
    bool found = false;
    strbuf_addstr(&sb, ".py");
    if (strmap_get(&ix->by_path, sb.buf, sb.len, &index)) {
        add_unique(out, index);
        found = true;
    } else {
        sb.len = stem;
        strbuf_addstr(&sb, "/__init__.py");
        if (strmap_get(&ix->by_path, sb.buf, sb.len, &index)) {
            add_unique(out, index);
            found = true;
        }
    }
    strbuf_release(&sb);
    return found;
}

/* Resolve `dotted` and each of its parent packages below base; true if the full name was found
 * or is a folder-like namespace of found children. */
static void find_with_parents(const struct import_index *ix, const char *base, const char *dotted,
                              struct sizelist *out)
{
    size_t n = strlen(dotted);
    for (size_t i = 0; i <= n; i++)
        if (i == n || dotted[i] == '.')
            find_module(ix, base, dotted, i, out);
}

static void resolve_in(const struct import_index *ix, const char *base,
                       const struct scan_import *imp, struct sizelist *out)
{
    if (imp->module[0])
        find_with_parents(ix, base, imp->module, out);
    for (size_t k = 0; k < imp->names.len; k++) {
        const char *name = imp->names.items[k];
        if (strcmp(name, "*") == 0)
            continue;
        char *full = imp->module[0] ? xprintf("%s.%s", imp->module, name) : xstrdup(name);
        find_module(ix, base, full, strlen(full), out);
        free(full);
    }
}

void import_resolve(const struct import_index *ix, const char *from, const struct scan_import *imp,
                    struct sizelist *out)
{
    if (imp->level > 0) {
        /* Relative: start at the importing file's package and go up level-1 times. */
        char *base = xstrdup(from);
        char *slash = strrchr(base, '/');
        if (slash)
            *slash = '\0';
        else
            base[0] = '\0';
        for (int up = 1; up < imp->level && base[0]; up++) {
            slash = strrchr(base, '/');
            if (slash)
                *slash = '\0';
            else
                base[0] = '\0';
        }
        resolve_in(ix, base, imp, out);
        free(base);
        return;
    }
    /* Absolute: the jobs root is on sys.path first, then the project root (the cwd). */
    resolve_in(ix, ix->jobs_root, imp, out);
    if (ix->jobs_root[0])
        resolve_in(ix, "", imp, out);
}
