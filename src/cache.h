/* cache.h: the graph cache, .stau/graph.cache: what every Python file below the
 * jobs root yielded, keyed by stat data and content hash, so an unchanged
 * repository is never parsed twice. */
#ifndef STAU_CACHE_H
#define STAU_CACHE_H

#include "scan.h"
#include "walk.h"

/* One Python file of the project and what reading it gave. */
struct source_file {
    char *path;                /* relative to the project root */
    struct file_stat st;       /* stat data when it was read */
    struct hash128 hash;       /* hash of its content */
    struct scan_result result; /* what it yielded */
    bool gone;                 /* (while loading a cache) a marker: the file was removed */
};

/* The files stored in a cache file, sorted by path. Their results are
 * borrowed: strings point into the mapped file and arrays into arena, so loading costs
 * few allocations; keep the cache alive while any result taken from it is used. */
struct cache {
    VEC(struct source_file) files; /* sorted by path */
    int64_t written_ns;            /* mtime of the cache file */
    const char *mapped;            /* the file, mapped read-only; the results point into it */
    size_t mapped_len;             /* its length */
    struct arena arena;            /* the results' arrays */
    size_t sections;               /* sections read: 1 + appends since the last full write */
    bool torn;                     /* the last append was cut short (a crash) */
};

/* Load the cache at path for this jobs root. A missing file gives an empty cache
 * and 0; an unusable one (corrupt, truncated, foreign, other version or jobs
 * root) gives an empty cache, -1, and the reason in why (empty when the reason
 * needs no warning). */
int cache_read(const char *path, const char *jobs_root, struct cache *out, struct strbuf *why);
/* Write files (sorted by path) to path atomically: a temporary file, then rename.
 * Returns 0, or -1 with errno set (and no message: the caller decides). */
int cache_write(const char *path, const char *jobs_root, const struct source_file *files,
                size_t count);
/* Append a section with these files' entries and removal markers for the paths
 * in gone, instead of rewriting the whole cache. 0, or -1 with errno set. */
int cache_append(const char *path, const struct source_file *const *files, size_t count,
                 char *const *gone, size_t gone_count);
void cache_release(struct cache *c);
/* Decode a loaded result's imports, if still encoded, into arrays in c's arena.
 * Imports are decoded only when asked for: most commands never need them.
 * -1 when they do not decode (r then has none). */
int cache_decode_imports(struct cache *c, struct scan_result *r);
/* Release one source file's contents. */
void source_file_release(struct source_file *f);

#endif
