/* settled.h: the settled mark, .stau/settled: a record that a whole-project plan
 * found nothing due, and of everything that finding rested on, so the next call
 * can confirm it with a stat per file instead of planning every job again. */
#ifndef STAU_SETTLED_H
#define STAU_SETTLED_H

#include <stdbool.h>
#include <stdint.h>
#include "util.h"
#include "walk.h"

struct stat;

/* What a plan looked at on disk: one entry per path it examined. */
struct witness_entry {
    char *path;             /* as the plan named it (relative to the project root) */
    uint8_t kind;           /* WITNESS_FILE, WITNESS_MISSING or WITNESS_GLOB */
    uint32_t mode;          /* WITNESS_FILE: the file type bits */
    struct file_stat st;    /* WITNESS_FILE: its stat data */
    struct hash128 matches; /* WITNESS_GLOB: hash of the sorted paths it matched */
};

enum { WITNESS_FILE = 1, WITNESS_MISSING = 2, WITNESS_GLOB = 3 };

/* Everything a plan looked at; works with VEC_PUSH. */
struct witness {
    struct witness_entry *items;
    size_t len, cap;
};

/* Record that path was looked at and had stat data st (NULL: it did not exist). */
void witness_file(struct witness *w, const char *path, const struct stat *st);
/* Record that pattern matched these paths (sorted). */
void witness_glob(struct witness *w, const char *pattern, const struct strlist *matches);
void witness_release(struct witness *w);

/* What else a settled plan depended on; the mark holds only while all of it is equal. */
struct settled_key {
    struct hash128 sources; /* every Python file of the project, by path and content */
    int64_t generation;     /* the state database's generation (store_generation) */
    const char *context;    /* text naming the rest: the graph cache's key, the machine's
                               zone, the database's location */
};

/* Whether the mark at path still holds at now (unix ms) for key, with root the
 * project root that witnessed paths are relative to: true only when it exists, is
 * intact, was written for this key, now is before the next schedule tick it
 * recorded, and every witnessed path is as it was. Never prints. */
bool settled_holds(const char *path, const char *root, const struct settled_key *key, int64_t now);
/* Write the mark (a temporary file, then rename): nothing is due until valid_until
 * (unix ms; INT64_MAX: no schedule) while key and the witnessed paths stay as they
 * are. Writes nothing, and returns 0, when a witnessed file changed in the last two
 * seconds (its stat data could not tell a later change in the same clock tick).
 * 0, or -1 with errno set. */
int settled_write(const char *path, const struct settled_key *key, const struct witness *w,
                  int64_t valid_until, int64_t now);

#endif
