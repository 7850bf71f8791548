/* archive.c: run archives; the only user of libarchive.
 *
 * On-disk format (version 1). A run archive is a POSIX tar stream in libarchive's
 * "restricted pax" form (plain ustar headers; a pax extended header only where
 * ustar cannot say it: long names, large sizes, sub-second times; names are raw
 * bytes, marked hdrcharset=BINARY when not ASCII), compressed with zstd, named
 * "<something>.tar.zst". Its members, in this order:
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
 * An archive is written as "<name>.tmp.<pid>", synced, renamed over <name>, and
 * its folder synced, so a crash leaves either the old archive or the new one. */
#include "archive.h"
#define STAU_LIBARCHIVE_NEXT
#include <archive.h>
#include <archive_entry.h>
#undef STAU_LIBARCHIVE_NEXT

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUFFER_SIZE (64 * 1024)

static const char *libarchive_error(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "unknown libarchive error";
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
    struct archive *archive;   /* the archive being written */
    const char *archive_path;  /* its final name, for messages */
    const char *project_root;  /* outputs are relative to this */
    struct strbuf *err;        /* where messages go */
    struct strmap added;       /* members written so far, so overlapping outputs go in once */
    struct arena arena;        /* the keys of added */
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
    archive_entry_set_mtime(entry, mtime->tv_sec, mtime->tv_nsec);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    if (symlink)
        archive_entry_set_symlink(entry, symlink);
    int status = archive_write_header(w->archive, entry);
    archive_entry_free(entry);
    if (status != ARCHIVE_OK)
        return write_failed(w, member);
    return 0;
}

/* Copy exactly size bytes from fd (the file at fs_path) into the current member. */
static int write_content(struct writer *w, const char *member, int fd, const char *fs_path,
                         int64_t size)
{
    for (int64_t left = size; left > 0;) {
        size_t want = left < COPY_BUFFER_SIZE ? (size_t)left : COPY_BUFFER_SIZE;
        ssize_t got = read(fd, w->buffer, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            strbuf_addf(w->err, "cannot read '%s': %s", fs_path, strerror(errno));
            return -1;
        }
        if (got == 0) {
            strbuf_addf(w->err, "cannot archive '%s': it shrank while being read", fs_path);
            return -1;
        }
        if (archive_write_data(w->archive, w->buffer, (size_t)got) != got)
            return write_failed(w, member);
        left -= got;
    }
    if (archive_write_finish_entry(w->archive) != ARCHIVE_OK)
        return write_failed(w, member);
    return 0;
}

/* Write the regular file at fs_path (never following a link) as member. */
static int write_file(struct writer *w, const char *member, const char *fs_path)
{
    int fd = open(fs_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        strbuf_addf(w->err, "cannot open '%s': %s", fs_path, strerror(errno));
        return -1;
    }
    struct stat st;
    int status = -1;
    if (fstat(fd, &st) != 0)
        strbuf_addf(w->err, "cannot stat '%s': %s", fs_path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        strbuf_addf(w->err, "cannot archive '%s': it changed while being read", fs_path);
    else if (write_header(w, member, AE_IFREG, st.st_mode, st.st_size, &st.st_mtim, NULL) == 0)
        status = write_content(w, member, fd, fs_path, st.st_size);
    if (close(fd) != 0 && status == 0) {
        strbuf_addf(w->err, "cannot close '%s': %s", fs_path, strerror(errno));
        status = -1;
    }
    return status;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int write_output(struct writer *w, const char *declared, const char *rel);

/* Write the entries of the folder at fs_path (rel in the project), sorted by name. */
static int write_folder_contents(struct writer *w, const char *declared, const char *rel,
                                 const char *fs_path)
{
    int fd = open(fs_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        strbuf_addf(w->err, "cannot open folder '%s': %s", fs_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    VEC(char *) names = {0};
    struct dirent *d;
    errno = 0;
    while ((d = readdir(dir))) {
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
            VEC_PUSH(&names, xstrdup(d->d_name));
        errno = 0;
    }
    int status = 0;
    if (errno) {
        strbuf_addf(w->err, "cannot read folder '%s': %s", fs_path, strerror(errno));
        status = -1;
    }
    if (closedir(dir) != 0 && status == 0) {
        strbuf_addf(w->err, "cannot close folder '%s': %s", fs_path, strerror(errno));
        status = -1;
    }
    if (names.len)
        qsort(names.items, names.len, sizeof(names.items[0]), compare_names);
    for (size_t i = 0; i < names.len; i++) {
        if (status == 0) {
            char *child = xprintf("%s/%s", rel, names.items[i]);
            status = write_output(w, declared, child);
            free(child);
        }
        free(names.items[i]);
    }
    VEC_FREE(&names);
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
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        strbuf_addf(w->err, "cannot write archive '%s': %s", w->archive_path, libarchive_error(a));
        return -1;
    }
    if (write_bytes(w, "manifest.json", manifest_json, strlen(manifest_json)) != 0)
        return -1;
    if (!log_path) {
        if (write_bytes(w, "log.txt", "", 0) != 0)
            return -1;
    } else {
        int log_fd = open(log_path, O_RDONLY | O_CLOEXEC);
        if (log_fd < 0) {
            strbuf_addf(w->err, "cannot open log '%s': %s", log_path, strerror(errno));
            return -1;
        }
        struct stat st;
        int status = -1;
        if (fstat(log_fd, &st) != 0)
            strbuf_addf(w->err, "cannot stat log '%s': %s", log_path, strerror(errno));
        else if (write_header(w, "log.txt", AE_IFREG, 0644, st.st_size, &st.st_mtim, NULL) == 0)
            status = write_content(w, "log.txt", log_fd, log_path, st.st_size);
        close(log_fd); /* read-only: a failed close loses nothing */
        if (status != 0)
            return -1;
    }
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

int archive_write_run(const char *archive_path, const char *manifest_json, const char *log_path,
                      const char *project_root, const char *const *outputs, size_t output_count,
                      struct strbuf *err)
{
    char *tmp = xprintf("%s.tmp.%ld", archive_path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
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
    if (archive_write_free(w->archive) != ARCHIVE_OK && status == 0) {
        strbuf_addf(err, "cannot write archive '%s': libarchive could not finish it", archive_path);
        status = -1;
    }
    if (status == 0 && fsync(fd) != 0) {
        strbuf_addf(err, "cannot sync '%s': %s", tmp, strerror(errno));
        status = -1;
    }
    if (close(fd) != 0 && status == 0) {
        strbuf_addf(err, "cannot close '%s': %s", tmp, strerror(errno));
        status = -1;
    }
    if (status == 0 && rename(tmp, archive_path) != 0) {
        strbuf_addf(err, "cannot rename '%s' to '%s': %s", tmp, archive_path, strerror(errno));
        status = -1;
    }
    if (status != 0 && unlink(tmp) != 0 && errno != ENOENT)
        strbuf_addf(err, " (and cannot remove '%s': %s)", tmp, strerror(errno));
    if (status == 0)
        status = sync_parent(archive_path, err);
    strmap_release(&w->added);
    arena_release(&w->arena);
    free(w);
    free(tmp);
    return status;
}

/* Reading. */

struct reader {
    struct archive *archive; /* the archive being read */
    int fd;                  /* its file, which libarchive does not close */
};

static int reader_open(struct reader *r, const char *archive_path, struct strbuf *err)
{
    r->fd = open(archive_path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        strbuf_addf(err, "cannot open archive '%s': %s", archive_path, strerror(errno));
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
static int reader_close(struct reader *r, const char *archive_path, int status,
                        struct strbuf *err)
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

/* Names as stored: the raw bytes, or their UTF-8 form where libarchive only has that. */
static const char *entry_path(struct archive_entry *e)
{
    const char *s = archive_entry_pathname(e);
    return s ? s : archive_entry_pathname_utf8(e);
}

static const char *entry_symlink(struct archive_entry *e)
{
    const char *s = archive_entry_symlink(e);
    return s ? s : archive_entry_symlink_utf8(e);
}

static const char *entry_hardlink(struct archive_entry *e)
{
    const char *s = archive_entry_hardlink(e);
    return s ? s : archive_entry_hardlink_utf8(e);
}

static enum archive_member_type entry_type(struct archive_entry *e)
{
    if (entry_hardlink(e))
        return ARCHIVE_MEMBER_HARDLINK;
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return ARCHIVE_MEMBER_FILE;
    case AE_IFDIR:
        return ARCHIVE_MEMBER_DIR;
    case AE_IFLNK:
        return ARCHIVE_MEMBER_SYMLINK;
    default:
        return ARCHIVE_MEMBER_OTHER;
    }
}

int archive_list(const char *archive_path, struct archive_members *out, struct strbuf *err)
{
    struct reader r;
    if (reader_open(&r, archive_path, err) != 0)
        return -1;
    struct archive_entry *e;
    int status;
    while ((status = reader_next(&r, archive_path, &e, err)) == 1) {
        const char *path = entry_path(e);
        const char *link = entry_hardlink(e) ? entry_hardlink(e) : entry_symlink(e);
        struct archive_member m = {
            .path = xstrdup(path ? path : "?"),
            .size = archive_entry_size(e),
            .type = entry_type(e),
            .link_target = link ? xstrdup(link) : NULL,
            .mode = (unsigned)archive_entry_perm(e),
            .mtime = (int64_t)archive_entry_mtime(e),
        };
        VEC_PUSH(out, m);
    }
    return reader_close(&r, archive_path, status, err);
}

void archive_members_release(struct archive_members *members)
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
    } else if (status == 1 && entry_type(e) != ARCHIVE_MEMBER_FILE) {
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

int archive_read_manifest(const char *archive_path, struct strbuf *manifest_out,
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

int archive_read_log(const char *archive_path, FILE *out, struct strbuf *err)
{
    struct file_sink sink = {out, err};
    return read_member(archive_path, "log.txt", sink_file, &sink, err);
}
