/* archiver.h: run archives. Each finished run becomes one .tar.zst holding its
 * manifest, its log and its declared outputs; archives are listed, read and
 * restored safely (the format is described at the top of archiver.c). Named apart
 * from libarchive's own <archive.h>, which only archiver.c includes. */
#ifndef STAU_ARCHIVER_H
#define STAU_ARCHIVER_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* What kind of thing a member of an archive is. */
enum archiver_member_type {
    ARCHIVER_MEMBER_FILE,     /* a regular file */
    ARCHIVER_MEMBER_DIR,      /* a folder */
    ARCHIVER_MEMBER_SYMLINK,  /* a symbolic link */
    ARCHIVER_MEMBER_HARDLINK, /* a hard link to an earlier member */
    ARCHIVER_MEMBER_OTHER,    /* a device, fifo or socket (never written by stau) */
};

/* One member of an archive, as listed. */
struct archiver_member {
    char *path;                     /* the path inside the archive, e.g. "outputs/data/x.csv" */
    int64_t size;                   /* bytes of content (0 for folders and links) */
    enum archiver_member_type type; /* what it is */
    char *link_target;              /* the target of a link, else NULL */
    unsigned mode;                  /* permission bits */
    int64_t mtime;                  /* modification time, seconds since the epoch */
};

/* The members of an archive in their stored order; works with VEC_PUSH. */
struct archiver_members {
    struct archiver_member *items;
    size_t len, cap;
};

/* Write the archive of one finished run to archive_path: manifest_json as
 * "manifest.json", the file at log_path (NULL: an empty log) as "log.txt", and
 * each of outputs (paths relative to project_root; folders recursively, symbolic
 * links as links) below "outputs/". The archive is written to
 * "<archive_path>.tmp.<pid>", synced and renamed, so a crash never leaves half an
 * archive under the final name. Returns 0, or -1 with a message in err (and no
 * temporary file left behind). Stage and place in one. */
int archiver_write_run(const char *archive_path, const char *manifest_json, const char *log_path,
                       const char *project_root, const char *const *outputs, size_t output_count,
                       struct strbuf *err);

/* The first half of archiver_write_run: the archive, complete, under its
 * temporary name, neither synced nor in place. Returns 0, or -1 with a message in
 * err (and no temporary file left behind). */
int archiver_stage_run(const char *archive_path, const char *manifest_json, const char *log_path,
                       const char *project_root, const char *const *outputs, size_t output_count,
                       struct strbuf *err);
/* The second half, for many staged archives at once: make them durable together
 * (one sync of their file system where it can, else one fsync each), rename each
 * into place and sync each folder once. placed[i] says whether archive_paths[i]
 * made it, else errs[i] says why (its temporary file is gone). Returns how many
 * made it. */
size_t archiver_place(const char *const *archive_paths, size_t count, bool *placed,
                      struct strbuf *errs);

/* Append every member of the archive to out. Returns 0, or -1 with a message in err. */
int archiver_list(const char *archive_path, struct archiver_members *out, struct strbuf *err);
/* Free the members' strings and the array. */
void archiver_members_release(struct archiver_members *members);

/* Append the archive's manifest.json to manifest_out. Returns 0, or -1 with a message in err. */
int archiver_read_manifest(const char *archive_path, struct strbuf *manifest_out,
                           struct strbuf *err);
/* Copy the archive's log.txt to out. Returns 0, or -1 with a message in err. */
int archiver_read_log(const char *archive_path, FILE *out, struct strbuf *err);

/* Read the whole archive back, every member's content to its end (zstd's checksums
 * included), and check it holds its manifest and log: 0, or -1 with what is wrong
 * in err. gc asks this before it removes a log the archive holds a copy of. */
int archiver_verify(const char *archive_path, struct strbuf *err);

/* Extract the outputs ("outputs/X" becomes "<target_dir>/X", creating target_dir
 * if missing; existing files are replaced, others left alone). Every member is
 * checked before anything is written: absolute paths, ".." components, paths
 * through a symbolic link (from the archive or already in target_dir), links
 * leaving target_dir and devices, fifos or sockets make the whole restore refuse.
 * Files get their mode and mtime; folders their mode plus u+rwx, not their time.
 * Returns 0, or -1 with a message in err. */
int archiver_restore(const char *archive_path, const char *target_dir, struct strbuf *err);

/* The most a restore writes by default: the sizes of its files in all (1 GiB). */
#define ARCHIVER_RESTORE_LIMIT ((uint64_t)1 << 30)

/* How to restore. */
struct archiver_restore_options {
    uint64_t limit;  /* refuse an archive whose files hold more bytes than this; 0: none */
    bool over_limit; /* set: it was refused for that */
};

/* archiver_restore with these options (archiver_restore uses ARCHIVER_RESTORE_LIMIT).
 * Everything is extracted into a staging folder inside target_dir first
 * (".stau-restore-<pid>") and only then renamed into place: a restore that fails
 * or is killed while extracting changes nothing in target_dir, and the staging
 * folder a killed one left is removed (with a warning) by the next restore. */
int archiver_restore_with(const char *archive_path, const char *target_dir,
                          struct archiver_restore_options *opt, struct strbuf *err);

#endif
