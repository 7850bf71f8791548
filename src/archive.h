/* archive.h: run archives. Each finished run becomes one .tar.zst holding its
 * manifest, its log and its declared outputs; archives are listed, read and
 * restored safely (the format is described at the top of archive.c). */

/* This header shares its name with libarchive's. Where src/ is on the include
 * path (the unit tests), <archive.h> finds this file first; the two files that
 * need libarchive define STAU_LIBARCHIVE_NEXT around their #include <archive.h>
 * and are passed on to it here. */
#if defined(STAU_LIBARCHIVE_NEXT)
#include_next <archive.h>
#elif !defined(STAU_ARCHIVE_H)
#define STAU_ARCHIVE_H

#include "util.h"

#include <stdint.h>
#include <stdio.h>

/* What kind of thing a member of an archive is. */
enum archive_member_type {
    ARCHIVE_MEMBER_FILE,     /* a regular file */
    ARCHIVE_MEMBER_DIR,      /* a folder */
    ARCHIVE_MEMBER_SYMLINK,  /* a symbolic link */
    ARCHIVE_MEMBER_HARDLINK, /* a hard link to an earlier member */
    ARCHIVE_MEMBER_OTHER,    /* a device, fifo or socket (never written by stau) */
};

/* One member of an archive, as listed. */
struct archive_member {
    char *path;                    /* the path inside the archive, e.g. "outputs/data/x.csv" */
    int64_t size;                  /* bytes of content (0 for folders and links) */
    enum archive_member_type type; /* what it is */
    char *link_target;             /* the target of a link, else NULL */
    unsigned mode;                 /* permission bits */
    int64_t mtime;                 /* modification time, seconds since the epoch */
};

/* The members of an archive in their stored order; works with VEC_PUSH. */
struct archive_members {
    struct archive_member *items;
    size_t len, cap;
};

/* Write the archive of one finished run to archive_path: manifest_json as
 * "manifest.json", the file at log_path (NULL: an empty log) as "log.txt", and
 * each of outputs (paths relative to project_root; folders recursively, symbolic
 * links as links) below "outputs/". The archive is written to
 * "<archive_path>.tmp.<pid>", synced and renamed, so a crash never leaves half an
 * archive under the final name. Returns 0, or -1 with a message in err (and no
 * temporary file left behind). */
int archive_write_run(const char *archive_path, const char *manifest_json, const char *log_path,
                      const char *project_root, const char *const *outputs, size_t output_count,
                      struct strbuf *err);

/* Append every member of the archive to out. Returns 0, or -1 with a message in err. */
int archive_list(const char *archive_path, struct archive_members *out, struct strbuf *err);
/* Free the members' strings and the array. */
void archive_members_release(struct archive_members *members);

/* Append the archive's manifest.json to manifest_out. Returns 0, or -1 with a message in err. */
int archive_read_manifest(const char *archive_path, struct strbuf *manifest_out,
                          struct strbuf *err);
/* Copy the archive's log.txt to out. Returns 0, or -1 with a message in err. */
int archive_read_log(const char *archive_path, FILE *out, struct strbuf *err);

/* Extract the outputs ("outputs/X" becomes "<target_dir>/X", creating target_dir
 * if missing; existing files are replaced, others left alone). Every member is
 * checked before anything is written: absolute paths, ".." components, paths
 * through a symbolic link (from the archive or already in target_dir), links
 * leaving target_dir and devices, fifos or sockets make the whole restore refuse.
 * Returns 0, or -1 with a message in err. */
int archive_restore(const char *archive_path, const char *target_dir, struct strbuf *err);

#endif
