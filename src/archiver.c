/* archiver.c: run archives; the only user of libarchive.
 *
 * On-disk format. A run archive is a POSIX tar stream in libarchive's
 * "restricted pax" form (plain ustar headers; a pax extended header only where
 * ustar cannot say it: long names, large sizes, names that are not text in the
 * locale's charset, stored as raw bytes with hdrcharset=BINARY), compressed with
 * zstd (level 1), named "*.tar.zst". It carries no version of its own (the manifest can).
 * Times are whole seconds (restricted pax keeps fractions only in members that
 * need an extended header anyway; dropping them everywhere keeps it uniform).
 * Folders are named with a trailing "/". Its members, in this order:
 *
 *   manifest.json     the run record as JSON, as given by the caller; first, so
 *                     reading it decompresses nothing else
 *   log.txt           the run's log, byte for byte
 *   outputs/<path>    each declared output as the run left it, <path> relative to
 *                     the project root: regular files with their permission bits
 *                     and mtime, folders (the folder before its contents, contents
 *                     in byte order of name, recursively), symbolic links as links,
 *                     never followed. Parents of an output are not stored.
 *
 * Owner ids are 0 and owner names absent: a restore never changes owners. Stau
 * writes no hard links, devices, fifos or sockets, and no symbolic link whose
 * target is absolute, has ".." after its first ordinary component, or climbs
 * above the project root: such a link could not be restored safely. Readers find
 * members by name and ignore unknown members outside outputs/, so members can be
 * added later.
 *
 * An archive is written as "<name>.tmp.<pid>", synced, renamed to <name>, and its
 * folder synced, so a crash never leaves half an archive under <name>. An archive
 * already at <name> is never written over: it is another run's (run ids restarted
 * when a state database was lost), and that run's last copy.
 * Archives written together are synced together: one sync of the file system and
 * one of each folder for all of them. */
#include "archiver.h"
#include <archive.h>
#include <archive_entry.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc.h"
#include "state_file.h"

#define COPY_BUFFER_SIZE (64 * 1024)

/* libarchive's message, with the system's reason when it has one it did not say
 * ("Write error (No space left on device)"); valid until the next call. */
static const char *libarchive_error(struct archive *a)
{
    static char text[512];
    const char *s = archive_error_string(a);
    int code = archive_errno(a);
    /* EILSEQ and EINVAL are libarchive's own codes (a bad format, a misuse), no reason */
    const char *reason = code > 0 && code != EILSEQ && code != EINVAL ? strerror(code) : NULL;
    if (!s)
        s = "unknown libarchive error";
    if (!reason || strstr(s, reason))
        return s;
    snprintf(text, sizeof(text), "%s (%s)", s, reason);
    return text;
}

/* Write path to out without empty and "." components ("./a//b/" -> "a/b").
 * Returns false, leaving out partial, when a component is "..". */
static bool normalize_path(const char *path, struct strbuf *out)
{
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - start);
        if (len == 0 || (len == 1 && start[0] == '.'))
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.')
            return false;
        if (out->len)
            strbuf_addch(out, '/');
        strbuf_add(out, start, len);
    }
    return true;
}

/* Why a symbolic link parent_depth folders below the root, pointing to target,
 * could lead out of the root; NULL when it cannot. The phrase completes "the
 * symbolic link target 'T' ...". Only leading ".." are allowed: after a component
 * that is itself a link, ".." could climb anywhere. */
static const char *symlink_target_problem(const char *target, size_t parent_depth)
{
    if (!*target)
        return "is empty";
    if (target[0] == '/')
        return "is an absolute path";
    size_t ups = 0;
    bool descended = false;
    for (const char *p = target; *p;) {
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - start);
        if (*p)
            p++;
        if (len == 0 || (len == 1 && start[0] == '.'))
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            if (descended)
                return "has '..' after other components";
            if (++ups > parent_depth)
                return "leaves the target folder";
        } else {
            descended = true;
        }
    }
    return NULL;
}

static size_t count_slashes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '/';
    return n;
}

/* Writing. */

struct writer {
    struct archive *archive;  /* the archive being written */
    const char *archive_path; /* its final name, for messages */
    const char *project_root; /* outputs are relative to this */
    struct strbuf *err;       /* where messages go */
    struct strmap added;      /* members written so far, so overlapping outputs go in once */
    struct arena arena;       /* the keys of added */
    char buffer[COPY_BUFFER_SIZE];
};

static int write_failed(struct writer *w, const char *member)
{
    strbuf_addf(w->err, "cannot write '%s' to archive '%s': %s", member, w->archive_path,
                libarchive_error(w->archive));
    return -1;
}

/* Write the header of one member; symlink is the target of a link, else NULL. */
static int write_header(struct writer *w, const char *member, mode_t type, mode_t mode,
                        int64_t size, const struct timespec *mtime, const char *symlink)
{
    struct archive_entry *entry = archive_entry_new();
    if (!entry)
        fatal("out of memory");
    archive_entry_set_pathname(entry, member);
    archive_entry_set_filetype(entry, (unsigned)type);
    archive_entry_set_perm(entry, mode & 0777);
    archive_entry_set_size(entry, size);
    archive_entry_set_mtime(entry, mtime->tv_sec, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    if (symlink)
        archive_entry_set_symlink(entry, symlink);
    int status = archive_write_header(w->archive, entry);
    archive_entry_free(entry);
    /* The pax writer warns only when a name is not text in the locale's charset;
     * it then stores the name's raw bytes (hdrcharset=BINARY), which is right. */
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
        return write_failed(w, member);
    return 0;
}

/* Write the regular file at fs_path (never following a link) as member. */
static int write_file(struct writer *w, const char *member, const char *fs_path)
{
    int fd = open(fs_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        strbuf_addf(w->err, "cannot open '%s': %s", fs_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int status = -1;
    if (!S_ISREG(st.st_mode))
        strbuf_addf(w->err, "cannot archive '%s': it is not a regular file", fs_path);
    else if (write_header(w, member, AE_IFREG, st.st_mode, st.st_size, &st.st_mtim, NULL) == 0)
        status = 0;
    for (off_t left = st.st_size; status == 0 && left > 0;) {
        ssize_t got =
            read(fd, w->buffer, left < COPY_BUFFER_SIZE ? (size_t)left : COPY_BUFFER_SIZE);
        if (got <= 0 && !(got < 0 && errno == EINTR)) {
            strbuf_addf(w->err, "cannot read '%s': %s", fs_path,
                        got < 0 ? strerror(errno) : "it shrank while being archived");
            status = -1;
        } else if (got > 0 && archive_write_data(w->archive, w->buffer, (size_t)got) != got) {
            status = write_failed(w, member);
        }
        left -= got > 0 ? got : 0;
    }
    if (status == 0 && archive_write_finish_entry(w->archive) != ARCHIVE_OK)
        status = write_failed(w, member);
    close(fd); /* read-only: a failed close loses nothing */
    return status;
}

static int not_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int write_output(struct writer *w, const char *declared, const char *rel);

/* Write the entries of the folder at fs_path (rel in the project), in byte order of name. */
static int write_folder_contents(struct writer *w, const char *declared, const char *rel,
                                 const char *fs_path)
{
    struct dirent **names;
    int count = scandir(fs_path, &names, not_dots, by_name);
    if (count < 0) {
        strbuf_addf(w->err, "cannot read folder '%s': %s", fs_path, strerror(errno));
        return -1;
    }
    int status = 0;
    for (int i = 0; i < count; i++) {
        if (status == 0) {
            char *child = xprintf("%s/%s", rel, names[i]->d_name);
            status = write_output(w, declared, child);
            free(child);
        }
        free(names[i]);
    }
    free(names);
    return status;
}

/* Write the project path rel (normalized; part of the output declared) below outputs/. */
static int write_output(struct writer *w, const char *declared, const char *rel)
{
    char *member = xprintf("outputs/%s", rel);
    size_t ignored;
    if (strmap_get(&w->added, member, strlen(member), &ignored)) {
        free(member);
        return 0;
    }
    strmap_put(&w->added, arena_strndup(&w->arena, member, strlen(member)), strlen(member), 0);

    char *fs_path = xprintf("%s/%s", w->project_root, rel);
    struct stat st;
    int status = -1;
    if (lstat(fs_path, &st) != 0) {
        if (errno == ENOENT && strcmp(rel, declared) == 0)
            strbuf_addf(w->err, "output '%s' does not exist (no '%s')", declared, fs_path);
        else
            strbuf_addf(w->err, "cannot archive output '%s': cannot stat '%s': %s", declared,
                        fs_path, strerror(errno));
    } else if (S_ISREG(st.st_mode)) {
        status = write_file(w, member, fs_path);
    } else if (S_ISDIR(st.st_mode)) {
        if (write_header(w, member, AE_IFDIR, st.st_mode, 0, &st.st_mtim, NULL) == 0)
            status = write_folder_contents(w, declared, rel, fs_path);
    } else if (S_ISLNK(st.st_mode)) {
        struct strbuf target = STRBUF_INIT;
        strbuf_grow(&target, (size_t)st.st_size + 1);
        ssize_t len = readlink(fs_path, target.buf, target.cap);
        if (len < 0 || (size_t)len >= target.cap) {
            strbuf_addf(w->err, "cannot read the symbolic link '%s': %s", fs_path,
                        len < 0 ? strerror(errno) : "it changed while being read");
        } else {
            target.buf[len] = '\0';
            target.len = (size_t)len;
            const char *problem = symlink_target_problem(target.buf, count_slashes(rel));
            if (problem)
                strbuf_addf(w->err,
                            "cannot archive output '%s': the target '%s' of the symbolic link "
                            "'%s' %s, so it could not be restored safely",
                            declared, target.buf, rel, problem);
            else
                status = write_header(w, member, AE_IFLNK, st.st_mode, 0, &st.st_mtim, target.buf);
        }
        strbuf_release(&target);
    } else {
        strbuf_addf(w->err,
                    "cannot archive output '%s': '%s' is not a file, folder or symbolic link",
                    declared, fs_path);
    }
    free(fs_path);
    free(member);
    return status;
}

/* Write a member with in-memory content. */
static int write_bytes(struct writer *w, const char *member, const char *data, size_t len)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (write_header(w, member, AE_IFREG, 0644, (int64_t)len, &now, NULL) != 0)
        return -1;
    if (len && archive_write_data(w->archive, data, len) != (la_ssize_t)len)
        return write_failed(w, member);
    if (archive_write_finish_entry(w->archive) != ARCHIVE_OK)
        return write_failed(w, member);
    return 0;
}

static int write_members(struct writer *w, int fd, const char *manifest_json, const char *log_path,
                         const char *const *outputs, size_t output_count)
{
    struct archive *a = w->archive;
    if (archive_write_add_filter_zstd(a) < ARCHIVE_WARN) {
        strbuf_addf(w->err, "cannot write archive '%s': zstd compression is not available (%s)",
                    w->archive_path, libarchive_error(a));
        return -1;
    }
    /* Level 1: most runs archive a small log, and zstd's default level spends more
     * setting up its tables (about 1 MB, cleared for every archive) than compressing. */
    if (archive_write_set_filter_option(a, "zstd", "compression-level", "1") != ARCHIVE_OK) {
        strbuf_addf(w->err, "cannot write archive '%s': %s", w->archive_path, libarchive_error(a));
        return -1;
    }
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        strbuf_addf(w->err, "cannot write archive '%s': %s", w->archive_path, libarchive_error(a));
        return -1;
    }
    if (write_bytes(w, "manifest.json", manifest_json, strlen(manifest_json)) != 0)
        return -1;
    if (log_path ? write_file(w, "log.txt", log_path) : write_bytes(w, "log.txt", "", 0))
        return -1;
    for (size_t i = 0; i < output_count; i++) {
        struct strbuf rel = STRBUF_INIT;
        int status = -1;
        if (outputs[i][0] == '/' || !normalize_path(outputs[i], &rel) || rel.len == 0)
            strbuf_addf(w->err, "cannot archive output '%s': it is not a path inside the project",
                        outputs[i]);
        else
            status = write_output(w, rel.buf, rel.buf);
        strbuf_release(&rel);
        if (status != 0)
            return -1;
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        strbuf_addf(w->err, "cannot write archive '%s': %s", w->archive_path, libarchive_error(a));
        return -1;
    }
    return 0;
}

/* fsync the folder holding path, so a rename into it survives a crash. */
static int sync_parent(const char *path, struct strbuf *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int status = 0;
    /* Some file systems cannot sync folders (EINVAL); the rename is then as safe as it gets. */
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
        strbuf_addf(err, "cannot sync folder '%s': %s", dir, strerror(errno));
        status = -1;
    }
    if (fd >= 0)
        close(fd);
    free(dir);
    return status;
}

/* The folder part of path ("" for a bare name), as a length. */
static size_t folder_length(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

static bool same_folder(const char *a, const char *b)
{
    size_t len = folder_length(a);
    return len == folder_length(b) && memcmp(a, b, len) == 0;
}

static char *temp_name(const char *archive_path)
{
    return xprintf("%s.tmp.%ld", archive_path, (long)getpid());
}

int archiver_stage_run(const char *archive_path, const char *manifest_json, const char *log_path,
                       const char *project_root, const char *const *outputs, size_t output_count,
                       struct strbuf *err)
{
    char *tmp = temp_name(archive_path);
    /* 0600, as everything stau keeps: the manifest holds the run's kwargs. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        strbuf_addf(err, "cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    struct writer *w = xcalloc(1, sizeof(*w));
    w->archive_path = archive_path;
    w->project_root = project_root;
    w->err = err;
    w->archive = archive_write_new();
    if (!w->archive)
        fatal("out of memory");
    int status = write_members(w, fd, manifest_json, log_path, outputs, output_count);
    /* closing flushes what zstd still holds: a full disk often shows only here */
    if (status == 0 && archive_write_close(w->archive) != ARCHIVE_OK) {
        strbuf_addf(err, "cannot write archive '%s': %s", archive_path,
                    libarchive_error(w->archive));
        status = -1;
    }
    if (archive_write_free(w->archive) != ARCHIVE_OK && status == 0) {
        strbuf_addf(err, "cannot write archive '%s': libarchive could not finish it", archive_path);
        status = -1;
    }
    if (close(fd) != 0 && status == 0) {
        strbuf_addf(err, "cannot close '%s': %s", tmp, strerror(errno));
        status = -1;
    }
    if (status != 0 && unlink(tmp) != 0 && errno != ENOENT)
        strbuf_addf(err, " (and cannot remove '%s': %s)", tmp, strerror(errno));
    strmap_release(&w->added);
    arena_release(&w->arena);
    free(w);
    free(tmp);
    return status;
}

/* fsync one staged archive. */
static int sync_staged(const char *archive_path, struct strbuf *err)
{
    char *tmp = temp_name(archive_path);
    int fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int status = 0;
    if (fd < 0 || fsync(fd) != 0) {
        strbuf_addf(err, "cannot sync '%s': %s", tmp, strerror(errno));
        status = -1;
    }
    if (fd >= 0)
        close(fd);
    free(tmp);
    return status;
}

/* Rename from to to unless to exists: 0, or -1 with errno (EEXIST: it does). */
static int rename_new(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    /* a file system without RENAME_NOREPLACE: a hard link fails on an existing name */
    if (link(from, to) == 0) {
        (void)unlink(from);
        return 0;
    }
    if (errno == EEXIST || (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP))
        return -1;
    /* neither: check, then rename (another writer of the same name is not expected) */
    if (access(to, F_OK) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

size_t archiver_place(const char *const *archive_paths, size_t count, bool *placed,
                      struct strbuf *errs)
{
    if (!count)
        return 0;
    /* One sync of the file system writes every staged archive at once, where an
     * fsync each would flush the disk once per archive. Where it fails (it also
     * reports other files' write errors), each archive is synced alone, which
     * tells whose content did not make it. */
    char *first = temp_name(archive_paths[0]);
    int fd = open(first, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    bool synced = fd >= 0 && syncfs(fd) == 0;
    if (fd >= 0)
        close(fd);
    free(first);
    size_t count_placed = 0;
    for (size_t i = 0; i < count; i++) {
        placed[i] = false;
        char *tmp = temp_name(archive_paths[i]);
        if (!synced && sync_staged(archive_paths[i], &errs[i]) != 0) {
            unlink(tmp);
        } else if (rename_new(tmp, archive_paths[i]) != 0) {
            if (errno == EEXIST)
                strbuf_addf(&errs[i],
                            "'%s' exists already, an archive of an earlier run with this id "
                            "(was the state database lost?): kept as it is",
                            archive_paths[i]);
            else
                strbuf_addf(&errs[i], "cannot rename '%s' to '%s': %s", tmp, archive_paths[i],
                            strerror(errno));
            if (unlink(tmp) != 0 && errno != ENOENT)
                strbuf_addf(&errs[i], " (and cannot remove '%s': %s)", tmp, strerror(errno));
        } else {
            placed[i] = true;
            count_placed++;
        }
        free(tmp);
    }
    /* The renames into a folder are made durable by one sync of it, after the last
     * of them; where that fails, none of its archives counts as placed. */
    for (size_t i = 0; i < count; i++) {
        if (!placed[i])
            continue;
        bool later = false;
        for (size_t k = i + 1; k < count && !later; k++)
            later = placed[k] && same_folder(archive_paths[k], archive_paths[i]);
        if (later)
            continue;
        struct strbuf err = STRBUF_INIT;
        if (sync_parent(archive_paths[i], &err) != 0) {
            for (size_t k = 0; k <= i; k++) {
                if (placed[k] && same_folder(archive_paths[k], archive_paths[i])) {
                    placed[k] = false;
                    count_placed--;
                    strbuf_addstr(&errs[k], err.buf);
                }
            }
        }
        strbuf_release(&err);
    }
    return count_placed;
}

int archiver_write_run(const char *archive_path, const char *manifest_json, const char *log_path,
                       const char *project_root, const char *const *outputs, size_t output_count,
                       struct strbuf *err)
{
    if (archiver_stage_run(archive_path, manifest_json, log_path, project_root, outputs,
                           output_count, err) != 0)
        return -1;
    bool placed;
    return archiver_place(&archive_path, 1, &placed, err) == 1 ? 0 : -1;
}

/* Reading. */

struct reader {
    struct archive *archive; /* the archive being read */
    int fd;                  /* its file, which libarchive does not close */
};

static int reader_open(struct reader *r, const char *archive_path, struct strbuf *err)
{
    struct strbuf why = STRBUF_INIT;
    r->fd = state_file_open(archive_path, 0, NULL, &why);
    if (r->fd < 0) {
        strbuf_addf(err, "cannot open archive '%s': %s", archive_path,
                    why.len ? why.buf : strerror(errno));
        strbuf_release(&why);
        return -1;
    }
    r->archive = archive_read_new();
    if (!r->archive)
        fatal("out of memory");
    if (archive_read_support_filter_zstd(r->archive) < ARCHIVE_WARN) {
        strbuf_addf(err, "cannot read archive '%s': zstd decompression is not available (%s)",
                    archive_path, libarchive_error(r->archive));
    } else if (archive_read_support_format_tar(r->archive) != ARCHIVE_OK ||
               archive_read_open_fd(r->archive, r->fd, COPY_BUFFER_SIZE) != ARCHIVE_OK) {
        strbuf_addf(err, "cannot read archive '%s': %s", archive_path,
                    libarchive_error(r->archive));
    } else {
        return 0;
    }
    archive_read_free(r->archive); /* already failing: its own failure adds nothing */
    close(r->fd);
    return -1;
}

/* Close the reader; -1 with a message only if nothing failed before (status 0). */
static int reader_close(struct reader *r, const char *archive_path, int status, struct strbuf *err)
{
    if (archive_read_free(r->archive) != ARCHIVE_OK && status == 0) {
        strbuf_addf(err, "cannot read archive '%s': libarchive could not close it", archive_path);
        status = -1;
    }
    close(r->fd); /* read-only: a failed close loses nothing */
    return status;
}

/* The next member in *entry: 1, 0 at the end, -1 with a message. */
static int reader_next(struct reader *r, const char *archive_path, struct archive_entry **entry,
                       struct strbuf *err)
{
    int status = archive_read_next_header(r->archive, entry);
    if (status == ARCHIVE_EOF)
        return 0;
    /* ARCHIVE_WARN: the member is usable (say, a name not in the locale's charset). */
    if (status == ARCHIVE_OK || status == ARCHIVE_WARN)
        return 1;
    strbuf_addf(err, "cannot read archive '%s': %s", archive_path, libarchive_error(r->archive));
    return -1;
}

/* A name as stored: its raw bytes, or their UTF-8 form where libarchive only has that. */
#define ENTRY_NAME(e, which)                                                                       \
    (archive_entry_##which(e) ? archive_entry_##which(e) : archive_entry_##which##_utf8(e))
#define entry_path(e) ENTRY_NAME(e, pathname)
#define entry_symlink(e) ENTRY_NAME(e, symlink)
#define entry_hardlink(e) ENTRY_NAME(e, hardlink)

static enum archiver_member_type entry_type(struct archive_entry *e)
{
    mode_t type = archive_entry_filetype(e);
    return entry_hardlink(e)  ? ARCHIVER_MEMBER_HARDLINK
           : type == AE_IFREG ? ARCHIVER_MEMBER_FILE
           : type == AE_IFDIR ? ARCHIVER_MEMBER_DIR
           : type == AE_IFLNK ? ARCHIVER_MEMBER_SYMLINK
                              : ARCHIVER_MEMBER_OTHER;
}

int archiver_list(const char *archive_path, struct archiver_members *out, struct strbuf *err)
{
    struct reader r;
    if (reader_open(&r, archive_path, err) != 0)
        return -1;
    struct archive_entry *e;
    int status;
    while ((status = reader_next(&r, archive_path, &e, err)) == 1) {
        const char *path = entry_path(e);
        const char *link = entry_hardlink(e) ? entry_hardlink(e) : entry_symlink(e);
        /* as a restore reads it: "./outputs/./a" is "outputs/a" (one with ".." as stored) */
        struct strbuf normal = STRBUF_INIT;
        bool plain = path && path[0] != '/' && normalize_path(path, &normal) && normal.len;
        if (plain && entry_type(e) == ARCHIVER_MEMBER_DIR)
            strbuf_addch(&normal, '/'); /* a folder is listed as stau writes it, "a/" */
        struct archiver_member m = {
            .path = plain ? strbuf_detach(&normal) : xstrdup(path ? path : "?"),
            .size = archive_entry_size(e),
            .type = entry_type(e),
            .link_target = link ? xstrdup(link) : NULL,
            .mode = (unsigned)archive_entry_perm(e),
            .mtime = (int64_t)archive_entry_mtime(e),
        };
        strbuf_release(&normal);
        VEC_PUSH(out, m);
    }
    return reader_close(&r, archive_path, status, err);
}

void archiver_members_release(struct archiver_members *members)
{
    for (size_t i = 0; i < members->len; i++) {
        free(members->items[i].path);
        free(members->items[i].link_target);
    }
    VEC_FREE(members);
}

/* Pass the content of the regular file member called name to sink, piece by piece. */
static int read_member(const char *archive_path, const char *name,
                       int (*sink)(void *context, const void *data, size_t len), void *context,
                       struct strbuf *err)
{
    struct reader r;
    if (reader_open(&r, archive_path, err) != 0)
        return -1;
    struct archive_entry *e;
    struct strbuf path = STRBUF_INIT;
    int status;
    while ((status = reader_next(&r, archive_path, &e, err)) == 1) {
        strbuf_reset(&path);
        const char *raw = entry_path(e);
        if (raw && normalize_path(raw, &path) && strcmp(strbuf_str(&path), name) == 0)
            break;
    }
    if (status == 0) {
        strbuf_addf(err, "archive '%s' has no '%s'", archive_path, name);
        status = -1;
    } else if (status == 1 && entry_type(e) != ARCHIVER_MEMBER_FILE) {
        strbuf_addf(err, "'%s' in archive '%s' is not a file", name, archive_path);
        status = -1;
    } else if (status == 1) {
        char buffer[COPY_BUFFER_SIZE];
        la_ssize_t got;
        while ((got = archive_read_data(r.archive, buffer, sizeof(buffer))) > 0)
            if (sink(context, buffer, (size_t)got) != 0)
                break;
        if (got < 0)
            strbuf_addf(err, "cannot read '%s' from archive '%s': %s", name, archive_path,
                        libarchive_error(r.archive));
        status = got == 0 ? 0 : -1;
    }
    strbuf_release(&path);
    return reader_close(&r, archive_path, status, err);
}

static int sink_strbuf(void *context, const void *data, size_t len)
{
    strbuf_add(context, data, len);
    return 0;
}

int archiver_read_manifest(const char *archive_path, struct strbuf *manifest_out,
                           struct strbuf *err)
{
    return read_member(archive_path, "manifest.json", sink_strbuf, manifest_out, err);
}

struct file_sink {
    FILE *file;
    struct strbuf *err;
};

static int sink_file(void *context, const void *data, size_t len)
{
    struct file_sink *sink = context;
    if (fwrite(data, 1, len, sink->file) == len)
        return 0;
    strbuf_addf(sink->err, "cannot write the log: %s", strerror(errno));
    return -1;
}

int archiver_read_log(const char *archive_path, FILE *out, struct strbuf *err)
{
    struct file_sink sink = {out, err};
    return read_member(archive_path, "log.txt", sink_file, &sink, err);
}

int archiver_verify(const char *archive_path, struct strbuf *err)
{
    struct reader r;
    if (reader_open(&r, archive_path, err) != 0)
        return -1;
    struct archive_entry *e;
    struct strbuf path = STRBUF_INIT;
    bool manifest = false, log = false;
    int status;
    while ((status = reader_next(&r, archive_path, &e, err)) == 1) {
        strbuf_reset(&path);
        const char *raw = entry_path(e);
        if (raw && normalize_path(raw, &path) && entry_type(e) == ARCHIVER_MEMBER_FILE) {
            manifest |= strcmp(strbuf_str(&path), "manifest.json") == 0;
            log |= strcmp(strbuf_str(&path), "log.txt") == 0;
        }
        char buffer[COPY_BUFFER_SIZE];
        la_ssize_t got;
        while ((got = archive_read_data(r.archive, buffer, sizeof(buffer))) > 0)
            ;
        if (got < 0) {
            strbuf_addf(err, "cannot read '%s' from archive '%s': %s", raw ? raw : "?",
                        archive_path, libarchive_error(r.archive));
            status = -1;
            break;
        }
    }
    if (status == 0 && (!manifest || !log)) {
        strbuf_addf(err, "archive '%s' has no '%s'", archive_path,
                    manifest ? "log.txt" : "manifest.json");
        status = -1;
    }
    strbuf_release(&path);
    return reader_close(&r, archive_path, status, err);
}

/* Restoring. Two passes over the archive: the first checks every member (and what
 * the target folder already holds, and that the files' sizes stay within the
 * limit) and writes nothing; the second checks each member again, in case the
 * archive changed in between, and extracts it into a staging folder inside the
 * target, ".stau-restore-<pid>". Only once every member is there are they renamed
 * into place, one by one (a rename cannot run out of space): a restore that fails
 * or is killed while extracting leaves the target as it was, and the staging
 * folder of a killed one (its pid gone) is removed, and said, by the next restore
 * into that target. Below the target folder every path is opened one component at
 * a time with O_NOFOLLOW, and files and links are created under a temporary name
 * and renamed, so no link already present is ever followed. */

#define STAGING_PREFIX ".stau-restore-"

/* What a path below outputs/ is, as far as the members seen so far tell. */
enum restore_kind { KIND_IMPLIED_DIR, KIND_DIR, KIND_FILE, KIND_SYMLINK, KIND_HARDLINK };

/* A member extracted into the staging folder, to be renamed into place. */
struct staged {
    char *rel;              /* its path below outputs/ */
    enum restore_kind kind; /* KIND_DIR, KIND_FILE, KIND_SYMLINK or KIND_HARDLINK */
    mode_t mode;            /* a folder's permission bits */
};

struct restore {
    const char *archive_path;     /* for messages */
    const char *target_dir;       /* where outputs go */
    struct strbuf *err;           /* where messages go */
    int target_fd;                /* target_dir, or -1 while it does not exist; while
                                     extracting, the staging folder */
    int final_fd;                 /* target_dir, while target_fd is the staging folder */
    uint64_t limit;               /* most bytes of files to restore; 0: no limit */
    uint64_t bytes;               /* bytes of files seen in this pass */
    bool over_limit;              /* the files hold more than limit */
    VEC(struct staged) staged;    /* what the second pass extracted, in archive order */
    bool extracting;              /* the second pass */
    struct strmap paths;          /* path below outputs/ -> index in kinds */
    VEC(enum restore_kind) kinds; /* what each path is */
    struct arena arena;           /* keys of paths */
    unsigned temp_count;          /* for unique temporary names */
};

/* One member that passed the checks. */
struct restore_member {
    const char *rel;        /* its path below outputs/; NULL when not an output */
    enum restore_kind kind; /* what it is */
    const char *link;       /* a symbolic link's target, or a hard link's path below outputs/ */
};

__attribute__((format(printf, 3, 4))) static int refuse(struct restore *r, const char *member,
                                                        const char *fmt, ...)
{
    strbuf_addf(r->err, "refusing to restore '%s' from '%s': ", member, r->archive_path);
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(r->err, fmt, ap);
    va_end(ap);
    return -1;
}

static void restore_forget(struct restore *r)
{
    strmap_release(&r->paths);
    memset(&r->paths, 0, sizeof(r->paths));
    VEC_FREE(&r->kinds);
    arena_release(&r->arena);
}

/* Record rel (len bytes) as kind; returns the index of its kind. */
static size_t restore_remember(struct restore *r, const char *rel, size_t len,
                               enum restore_kind kind)
{
    strmap_put(&r->paths, arena_strndup(&r->arena, rel, len), len, r->kinds.len);
    VEC_PUSH(&r->kinds, kind);
    return r->kinds.len - 1;
}

/* In the first pass, check what the target already holds at rel (len bytes). */
static int check_existing(struct restore *r, const char *member, const char *rel, size_t len,
                          enum restore_kind kind)
{
    if (r->extracting || r->target_fd < 0)
        return 0;
    char *path = xstrndup(rel, len);
    struct stat st;
    int status = 0;
    if (fstatat(r->target_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT)
            status = refuse(r, member, "cannot inspect '%s/%s': %s", r->target_dir, path,
                            strerror(errno));
    } else if (kind == KIND_IMPLIED_DIR || kind == KIND_DIR) {
        if (S_ISLNK(st.st_mode))
            status = refuse(r, member, "'%s/%s' is a symbolic link", r->target_dir, path);
        else if (!S_ISDIR(st.st_mode))
            status = refuse(r, member, "'%s/%s' is not a folder", r->target_dir, path);
    } else if (S_ISDIR(st.st_mode)) {
        status = refuse(r, member, "'%s/%s' is a folder", r->target_dir, path);
    }
    free(path);
    return status;
}

static int check_link(struct restore *r, const char *member, const char *rel,
                      struct restore_member *out, struct archive_entry *e)
{
    if (out->kind == KIND_SYMLINK) {
        const char *target = entry_symlink(e);
        if (!target)
            return refuse(r, member, "the symbolic link has no target");
        const char *problem = symlink_target_problem(target, count_slashes(rel));
        if (problem)
            return refuse(r, member, "the symbolic link target '%s' %s", target, problem);
        out->link = arena_strndup(&r->arena, target, strlen(target));
        return 0;
    }
    const char *target = entry_hardlink(e);
    if (target[0] == '/')
        return refuse(r, member, "the hard link target '%s' is an absolute path", target);
    struct strbuf path = STRBUF_INIT;
    bool inside = normalize_path(target, &path);
    const char *p = strbuf_str(&path);
    size_t index;
    int status = 0;
    if (!inside)
        status = refuse(r, member, "the hard link target '%s' leaves the target folder", target);
    else if (!starts_with(p, "outputs/") || !strmap_get(&r->paths, p + 8, strlen(p + 8), &index) ||
             (r->kinds.items[index] != KIND_FILE && r->kinds.items[index] != KIND_HARDLINK))
        status = refuse(r, member, "the hard link target '%s' is not a file earlier in the archive",
                        target);
    else
        out->link = arena_strndup(&r->arena, p + 8, strlen(p + 8));
    strbuf_release(&path);
    return status;
}

/* Check one member; on success *out says what to extract (out->rel NULL: nothing). */
static int check_member(struct restore *r, struct archive_entry *e, struct restore_member *out)
{
    *out = (struct restore_member){0};
    const char *member = entry_path(e);
    if (!member)
        return refuse(r, "?", "its name cannot be read");
    if (member[0] == '/')
        return refuse(r, member, "the path is absolute");
    struct strbuf normal = STRBUF_INIT;
    if (!normalize_path(member, &normal)) {
        strbuf_release(&normal);
        return refuse(r, member, "the path leaves the target folder");
    }
    const char *path = arena_strndup(&r->arena, strbuf_str(&normal), normal.len);
    strbuf_release(&normal);

    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFREG && !entry_hardlink(e) && archive_entry_size_is_set(e)) {
        /* A bomb: a small archive whose members say they are huge (and are). */
        r->bytes += (uint64_t)archive_entry_size(e);
        if (r->limit && r->bytes > r->limit) {
            r->over_limit = true;
            strbuf_addf(r->err,
                        "refusing to restore '%s': its files hold more than the restore "
                        "limit of ",
                        r->archive_path);
            state_file_add_size(r->err, r->limit);
            strbuf_addstr(r->err, "; nothing was written");
            return -1;
        }
    }
    if (entry_hardlink(e))
        out->kind = KIND_HARDLINK;
    else if (type == AE_IFREG || type == AE_IFDIR || type == AE_IFLNK)
        out->kind = type == AE_IFREG ? KIND_FILE : type == AE_IFDIR ? KIND_DIR : KIND_SYMLINK;
    else
        return refuse(r, member, "the entry is %s; only files, folders and links are restored",
                      type == AE_IFIFO    ? "a fifo"
                      : type == AE_IFCHR  ? "a character device"
                      : type == AE_IFBLK  ? "a block device"
                      : type == AE_IFSOCK ? "a socket"
                                          : "of an unknown type");
    if (strcmp(path, "outputs") == 0 || strcmp(path, "") == 0) {
        if (out->kind != KIND_DIR)
            return refuse(r, member, "the entry should be a folder");
        return 0;
    }
    if (!starts_with(path, "outputs/"))
        return 0; /* the manifest, the log, or a member of a later format */
    const char *rel = path + 8;

    for (const char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
        size_t len = (size_t)(slash - rel), index;
        if (strmap_get(&r->paths, rel, len, &index)) {
            enum restore_kind kind = r->kinds.items[index];
            if (kind == KIND_SYMLINK)
                return refuse(r, member, "the path goes through the symbolic link 'outputs/%.*s'",
                              (int)len, rel);
            if (kind != KIND_DIR && kind != KIND_IMPLIED_DIR)
                return refuse(r, member, "the path goes through the file 'outputs/%.*s'", (int)len,
                              rel);
            continue;
        }
        if (check_existing(r, member, rel, len, KIND_IMPLIED_DIR) != 0)
            return -1;
        restore_remember(r, rel, len, KIND_IMPLIED_DIR);
    }
    size_t index;
    if (strmap_get(&r->paths, rel, strlen(rel), &index)) {
        enum restore_kind earlier = r->kinds.items[index];
        if (out->kind != KIND_DIR || (earlier != KIND_DIR && earlier != KIND_IMPLIED_DIR))
            return refuse(r, member, "the path clashes with an earlier entry");
    } else if (check_existing(r, member, rel, strlen(rel), out->kind) != 0) {
        return -1;
    }
    if ((out->kind == KIND_SYMLINK || out->kind == KIND_HARDLINK) &&
        check_link(r, member, rel, out, e) != 0)
        return -1;
    if (strmap_get(&r->paths, rel, strlen(rel), &index))
        r->kinds.items[index] = out->kind;
    else
        restore_remember(r, rel, strlen(rel), out->kind);
    out->rel = rel;
    return 0;
}

static int restore_failed(struct restore *r, const char *rel, const char *what)
{
    strbuf_addf(r->err, "cannot restore 'outputs/%s' from '%s': %s: %s", rel, r->archive_path, what,
                strerror(errno));
    return -1;
}

/* Open the folder holding rel below the target, creating missing folders and never
 * following a symbolic link; *base is rel's last component. Returns the fd or -1. */
static int open_parent(struct restore *r, const char *rel, char *copy, const char **base)
{
    int fd = openat(r->target_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return restore_failed(r, rel, r->target_dir);
    char *component = copy;
    for (char *slash; (slash = strchr(component, '/')); component = slash + 1) {
        *slash = '\0';
        int next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(fd, component, 0755) != 0 && errno != EEXIST) {
                close(fd);
                return restore_failed(r, rel, "cannot create a folder");
            }
            next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        close(fd);
        if (next < 0)
            return restore_failed(r, rel, "cannot open a folder on its way");
        *slash = '/';
        fd = next;
    }
    *base = component;
    return fd;
}

static int extract_file(struct restore *r, struct archive *a, struct archive_entry *e,
                        const char *rel, int dir_fd, const char *base, const char *temp)
{
    int fd = openat(dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return restore_failed(r, rel, "cannot create a temporary file");
    char buffer[COPY_BUFFER_SIZE];
    la_ssize_t got;
    int status = 0;
    while (status == 0 && (got = archive_read_data(a, buffer, sizeof(buffer))) != 0) {
        if (got < 0) {
            strbuf_addf(r->err, "cannot read archive '%s': %s", r->archive_path,
                        libarchive_error(a));
            status = -1;
        }
        for (la_ssize_t done = 0; status == 0 && done < got;) {
            ssize_t n = write(fd, buffer + done, (size_t)(got - done));
            if (n < 0 && errno != EINTR)
                status = restore_failed(r, rel, "cannot write");
            done += n > 0 ? n : 0;
        }
    }
    struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (archive_entry_mtime_is_set(e))
        times[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    if (status == 0 && fchmod(fd, archive_entry_perm(e) & 0777) != 0)
        status = restore_failed(r, rel, "cannot set its mode");
    if (status == 0 && futimens(fd, times) != 0)
        status = restore_failed(r, rel, "cannot set its time");
    if (close(fd) != 0 && status == 0)
        status = restore_failed(r, rel, "cannot close");
    if (status == 0 && renameat(dir_fd, temp, dir_fd, base) != 0)
        status = restore_failed(r, rel, "cannot rename into place");
    return status;
}

static int extract_member(struct restore *r, struct archive *a, struct archive_entry *e,
                          const struct restore_member *m)
{
    char *copy = xstrdup(m->rel);
    const char *base;
    int dir_fd = open_parent(r, m->rel, copy, &base);
    if (dir_fd < 0) {
        free(copy);
        return -1;
    }
    char temp[64];
    snprintf(temp, sizeof(temp), ".stau-restore.%ld.%u", (long)getpid(), r->temp_count++);
    int status = 0;
    if (m->kind == KIND_DIR) {
        /* u+rwx so that the folder can be filled; its time is not restored, as
         * filling it would change it again. */
        if (mkdirat(dir_fd, base, 0700) != 0 && errno != EEXIST)
            status = restore_failed(r, m->rel, "cannot create the folder");
        int fd =
            status ? -1 : openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (!status && (fd < 0 || fchmod(fd, (archive_entry_perm(e) & 0777) | 0700) != 0))
            status = restore_failed(r, m->rel, "cannot set up the folder");
        if (fd >= 0)
            close(fd);
    } else if (m->kind == KIND_FILE) {
        status = extract_file(r, a, e, m->rel, dir_fd, base, temp);
    } else if (m->kind == KIND_SYMLINK) {
        if (symlinkat(m->link, dir_fd, temp) != 0)
            status = restore_failed(r, m->rel, "cannot create the symbolic link");
        else if (renameat(dir_fd, temp, dir_fd, base) != 0)
            status = restore_failed(r, m->rel, "cannot rename into place");
    } else {
        char *source_copy = xstrdup(m->link);
        const char *source_base;
        int source_fd = open_parent(r, m->link, source_copy, &source_base);
        if (source_fd < 0) {
            status = -1;
        } else {
            if (linkat(source_fd, source_base, dir_fd, temp, 0) != 0)
                status = restore_failed(r, m->rel, "cannot create the hard link");
            else if (renameat(dir_fd, temp, dir_fd, base) != 0)
                status = restore_failed(r, m->rel, "cannot rename into place");
            close(source_fd);
        }
        free(source_copy);
    }
    /* Gone after a successful rename, except when it and base were already one file. */
    if (m->kind != KIND_DIR)
        unlinkat(dir_fd, temp, 0);
    close(dir_fd);
    free(copy);
    if (status == 0) {
        struct staged st = {xstrdup(m->rel), m->kind, archive_entry_perm(e) & 0777};
        VEC_PUSH(&r->staged, st);
    }
    return status;
}

/* Remove the folder name below dir_fd and all it holds, never following a link.
 * Iterative: an archive's folders may nest deeper than the stack would allow. */
static int remove_tree(int dir_fd, const char *name)
{
    struct level {
        DIR *dir;
        char *name; /* this folder's name in the one above */
    };
    VEC(struct level) stack = {0};
    int top_fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *top = top_fd >= 0 ? fdopendir(top_fd) : NULL;
    if (!top) {
        if (top_fd >= 0)
            close(top_fd);
        return -1;
    }
    struct level first = {top, xstrdup(name)};
    VEC_PUSH(&stack, first);
    int status = 0;
    while (stack.len) {
        struct level *cur = &stack.items[stack.len - 1];
        struct dirent *e;
        errno = 0;
        while ((e = readdir(cur->dir)) &&
               (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0))
            ;
        int fd = dirfd(cur->dir);
        if (!e) {
            int parent = stack.len > 1 ? dirfd(stack.items[stack.len - 2].dir) : dir_fd;
            char *gone = cur->name;
            closedir(cur->dir);
            stack.len--;
            if (unlinkat(parent, gone, AT_REMOVEDIR) != 0)
                status = -1;
            free(gone);
            continue;
        }
        struct stat st;
        bool folder =
            e->d_type == DT_DIR ||
            (e->d_type == DT_UNKNOWN && fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
             S_ISDIR(st.st_mode));
        if (!folder) {
            if (unlinkat(fd, e->d_name, 0) != 0)
                status = -1;
            continue;
        }
        int sub_fd = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *sub = sub_fd >= 0 ? fdopendir(sub_fd) : NULL;
        if (!sub) {
            if (sub_fd >= 0)
                close(sub_fd);
            status = -1;
            /* Not emptied: skip it, or readdir would offer it again for ever. */
            break;
        }
        struct level next = {sub, xstrdup(e->d_name)};
        VEC_PUSH(&stack, next);
    }
    while (stack.len) {
        closedir(stack.items[stack.len - 1].dir);
        free(stack.items[stack.len - 1].name);
        stack.len--;
    }
    VEC_FREE(&stack);
    return status;
}

/* Remove what killed restores left in the target (their pid gone), saying so. */
static void remove_stale_staging(struct restore *r)
{
    int fd = openat(r->target_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct strlist stale = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!starts_with(e->d_name, STAGING_PREFIX))
            continue;
        char *end;
        long pid = strtol(e->d_name + strlen(STAGING_PREFIX), &end, 10);
        if (*end || pid <= 0 || (pid != getpid() && proc_alive((pid_t)pid)))
            continue;
        VEC_PUSH(&stale, xstrdup(e->d_name));
    }
    for (size_t i = 0; i < stale.len; i++) {
        if (remove_tree(dirfd(d), stale.items[i]) == 0)
            warn("removed '%s/%s', what a restore that was killed had extracted", r->target_dir,
                 stale.items[i]);
        else
            warn("cannot remove '%s/%s', what a restore that was killed left:", r->target_dir,
                 stale.items[i]);
        free(stale.items[i]);
    }
    VEC_FREE(&stale);
    closedir(d);
}

/* Rename every staged member from the staging folder (stage_fd) into the target. */
static int place_staged(struct restore *r, int stage_fd)
{
    int status = 0;
    for (size_t i = 0; i < r->staged.len && status == 0; i++) {
        const struct staged *m = &r->staged.items[i];
        char *copy = xstrdup(m->rel);
        const char *base;
        r->target_fd = r->final_fd;
        int dir_fd = open_parent(r, m->rel, copy, &base);
        if (dir_fd < 0) {
            free(copy);
            return -1;
        }
        if (m->kind == KIND_DIR) {
            if (mkdirat(dir_fd, base, 0700) != 0 && errno != EEXIST)
                status = restore_failed(r, m->rel, "cannot create the folder");
            int fd =
                status ? -1 : openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (!status && (fd < 0 || fchmod(fd, m->mode | 0700) != 0))
                status = restore_failed(r, m->rel, "cannot set up the folder");
            if (fd >= 0)
                close(fd);
        } else {
            char *stage_copy = xstrdup(m->rel);
            const char *stage_base;
            r->target_fd = stage_fd;
            int from_fd = open_parent(r, m->rel, stage_copy, &stage_base);
            if (from_fd < 0)
                status = -1;
            else if (renameat(from_fd, stage_base, dir_fd, base) != 0)
                status = restore_failed(r, m->rel, "cannot move it into place");
            if (from_fd >= 0)
                close(from_fd);
            free(stage_copy);
        }
        close(dir_fd);
        free(copy);
    }
    r->target_fd = r->final_fd;
    return status;
}

static int restore_pass(struct restore *r)
{
    struct reader reader;
    if (reader_open(&reader, r->archive_path, r->err) != 0)
        return -1;
    struct archive_entry *e;
    int status;
    while ((status = reader_next(&reader, r->archive_path, &e, r->err)) == 1) {
        struct restore_member m;
        if (check_member(r, e, &m) != 0 ||
            (r->extracting && m.rel && extract_member(r, reader.archive, e, &m) != 0)) {
            status = -1;
            break;
        }
    }
    return reader_close(&reader, r->archive_path, status, r->err);
}

int archiver_restore(const char *archive_path, const char *target_dir, struct strbuf *err)
{
    struct archiver_restore_options opt = {.limit = ARCHIVER_RESTORE_LIMIT};
    return archiver_restore_with(archive_path, target_dir, &opt, err);
}

int archiver_restore_with(const char *archive_path, const char *target_dir,
                          struct archiver_restore_options *opt, struct strbuf *err)
{
    struct restore r = {.archive_path = archive_path, .target_dir = target_dir, .err = err};
    r.limit = opt->limit;
    opt->over_limit = false;
    r.target_fd = open(target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r.target_fd < 0 && errno != ENOENT) {
        strbuf_addf(err, "cannot open target folder '%s': %s", target_dir, strerror(errno));
        return -1;
    }
    if (r.target_fd >= 0)
        remove_stale_staging(&r);
    int status = restore_pass(&r);
    restore_forget(&r);
    opt->over_limit = r.over_limit;
    if (status == 0 && r.target_fd < 0) {
        if (mkdir(target_dir, 0755) != 0 && errno != EEXIST) {
            strbuf_addf(err, "cannot create target folder '%s': %s", target_dir, strerror(errno));
            return -1;
        }
        r.target_fd = open(target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r.target_fd < 0) {
            strbuf_addf(err, "cannot open target folder '%s': %s", target_dir, strerror(errno));
            return -1;
        }
    }
    char staging[64];
    snprintf(staging, sizeof(staging), STAGING_PREFIX "%ld", (long)getpid());
    int stage_fd = -1;
    if (status == 0) {
        (void)remove_tree(r.target_fd, staging); /* an earlier restore of this process's */
        if (mkdirat(r.target_fd, staging, 0700) != 0 ||
            (stage_fd = openat(r.target_fd, staging,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            strbuf_addf(err, "cannot create '%s/%s' to restore into: %s", target_dir, staging,
                        strerror(errno));
            status = -1;
        }
    }
    if (status == 0) {
        r.final_fd = r.target_fd;
        r.target_fd = stage_fd;
        r.extracting = true;
        r.bytes = 0;
        status = restore_pass(&r);
        restore_forget(&r);
        opt->over_limit = r.over_limit;
        r.target_fd = r.final_fd;
        if (status == 0)
            status = place_staged(&r, stage_fd);
    }
    if (stage_fd >= 0) {
        close(stage_fd);
        if (remove_tree(r.target_fd, staging) != 0 && status == 0)
            warn("cannot remove '%s/%s' after restoring:", target_dir, staging);
    }
    for (size_t i = 0; i < r.staged.len; i++)
        free(r.staged.items[i].rel);
    VEC_FREE(&r.staged);
    if (r.target_fd >= 0)
        close(r.target_fd);
    return status;
}
