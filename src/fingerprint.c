/* fingerprint.c: comment-blind code hashes. */
#include "fingerprint.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"

struct hash128 fingerprint_code(const char *src, size_t len, const size_t *comments, size_t count)
{
    struct hash_stream *state = hash_stream_new();
    size_t next = 0; /* the next comment not yet passed */
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(src + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - src) : len;
        size_t stop = end;
        while (next < count && comments[next] < at)
            next++;
        if (next < count && comments[next] < end)
            stop = comments[next];
        while (stop > at && (src[stop - 1] == ' ' || src[stop - 1] == '\t' ||
                             src[stop - 1] == '\r' || src[stop - 1] == '\f'))
            stop--;
        if (stop > at) {
            hash_stream_add(state, src + at, stop - at);
            hash_stream_add(state, "\n", 1);
        }
        at = end + 1;
    }
    return hash_stream_finish(state);
}

struct hash128 fingerprint_combine(const char *const *paths, const struct hash128 *hashes,
                                   size_t count)
{
    struct hash_stream *state = hash_stream_new();
    for (size_t i = 0; i < count; i++) {
        hash_stream_add_str(state, paths[i]);
        hash_stream_add(state, &hashes[i].low, 8);
        hash_stream_add(state, &hashes[i].high, 8);
    }
    return hash_stream_finish(state);
}

void fingerprint_hex(struct hash128 h, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[i] = digits[(h.high >> (60 - 4 * i)) & 15];
        out[16 + i] = digits[(h.low >> (60 - 4 * i)) & 15];
    }
    out[32] = '\0';
}

static int by_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void fingerprint_glob(const char *root, const char *pattern, struct strlist *out)
{
    bool absolute = pattern[0] == '/';
    char *full = absolute ? xstrdup(pattern) : xprintf("%s/%s", root, pattern);
    glob_t g;
    int rc = glob(full, 0, NULL, &g);
    if (rc == 0) {
        size_t skip = absolute ? 0 : strlen(root) + 1;
        qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), by_path);
        for (size_t k = 0; k < g.gl_pathc; k++)
            VEC_PUSH(out, xstrdup(g.gl_pathv[k] + skip));
    }
    if (rc == 0 || rc == GLOB_NOMATCH)
        globfree(&g);
    free(full);
}
