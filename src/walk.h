/* walk.h: finding the Python files below the jobs root. */
#ifndef STAU_WALK_H
#define STAU_WALK_H

#include <stdint.h>
#include "diag.h"

/* The stat data that tells whether a file may have changed (as git's index does). */
struct file_stat {
    int64_t mtime_ns; /* modification time, nanoseconds since the epoch */
    int64_t ctime_ns; /* status change time */
    uint64_t size;    /* bytes */
    uint64_t inode;   /* inode number */
    uint64_t device;  /* device number */
};

/* One Python file found. */
struct walk_file {
    char *path;          /* relative to the project root, '/'-separated */
    struct file_stat st; /* its stat data (of the target, for symlinks) */
};

/* The files found, sorted by path. */
struct walk_result {
    VEC(struct walk_file) files;
};

/* Walk root/dir (dir relative to root, "" for root itself) for *.py files, skipping
 * hidden folders, __pycache__, site-packages, node_modules and virtual
 * environments. Problems (unreadable folders, symlink loops, non-regular files)
 * are warnings in diags; returns -1 only when dir itself cannot be read. */
int walk_python_files(const char *root, const char *dir, struct walk_result *out,
                      struct diags *diags);
void walk_release(struct walk_result *w);
/* Fill st from a stat structure. */
struct stat;
void file_stat_from(struct file_stat *st, const struct stat *s);
bool file_stat_equal(const struct file_stat *a, const struct file_stat *b);

#endif
