/* cache.c: the graph cache file.
 *
 * Format (all integers little-endian as the machine writes them; the byte-order
 * mark rejects a file from a machine of the other order):
 *
 *   magic        "stau graph cache" (16 bytes)
 *   u32 version  CACHE_VERSION; bumped whenever this layout or what stau
 *                derives from a file (evaluation, checks, messages) changes
 *   u32 bom      0x01020304
 *   str          the cache's key: the jobs root the files were found under, and
 *                what else their results depend on (see project.c, cache_key)
 *   str folder   the real path of the folder the cache was written in (.stau)
 *   u64 device, u64 inode   that folder's: a cache copied into another project's
 *                folder (both differ) is that of another project, set aside with a
 *                warning; a project moved (same inode) keeps its cache
 *   u64 check    XXH3-64 of the header bytes before it
 *   sections, one or more, each:
 *     u64 bytes  length of the body
 *     body       u64 count, then `count` entries
 *     u64 check  XXH3-64 of the body
 *
 * The first section holds every file, sorted by path. When few files changed,
 * stau appends a section with just their entries (and removal markers) rather
 * than rewriting everything: an entry replaces the one of the same path before
 * it. A section cut short by a crash fails its check and is ignored, and the
 * next write starts a fresh file. Entry:
 *     str path; i64 mtime_ns; i64 ctime_ns; u64 size; u64 inode; u64 device;
 *     u64 hash_low; u64 hash_high; u64 code_low; u64 code_high (the code
 *     hash, see fingerprint_code); u8 flags (1 = job, 2 = declaration ok,
 *     4 = the file is gone: nothing else follows, 8 = the original Stau's timetable,
 *     16 = a declaration follows: the whole one when ok, else its dependencies);
 *     loc decl_loc;
 *     u32 bytes, then in them: u32 imports, each: str module; i32 level;
 *       u32 line; u32 names, each str (skipped on loading; decoded on demand)
 *     u32 diags, each: u8 severity; loc; str message; nstr hint
 *     with flag 16, the declaration: see put_decl/get_decl
 *     when a timetable, u32 entries, each: str id; str job; str schedule;
 *       nstr kwargs_json; loc
 *
 * str = u32 length + bytes + a NUL (so a loaded string can be used in place);
 * nstr = str, or length 0xffffffff (and no bytes) for none;
 * loc = u32 line, col, end_line, end_col; f64 = IEEE double.
 */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hash.h"
#include "state_file.h"

enum { CACHE_VERSION = 12 };
enum { FLAG_JOB = 1, FLAG_OK = 2, FLAG_GONE = 4, FLAG_TIMETABLE = 8, FLAG_DECL = 16 };
static const char magic[16] = "stau graph cache";
static const uint32_t NO_STRING = 0xffffffffu;

/* ---- writing ---- */

static void put_bytes(struct strbuf *out, const void *p, size_t n)
{
    strbuf_add(out, p, n);
}

static void put_u8(struct strbuf *out, uint8_t v)
{
    put_bytes(out, &v, 1);
}

static void put_u32(struct strbuf *out, uint32_t v)
{
    put_bytes(out, &v, 4);
}

static void put_u64(struct strbuf *out, uint64_t v)
{
    put_bytes(out, &v, 8);
}

static void put_f64(struct strbuf *out, double v)
{
    put_bytes(out, &v, 8);
}

static void put_str(struct strbuf *out, const char *s)
{
    if (!s) {
        put_u32(out, NO_STRING);
        return;
    }
    size_t n = strlen(s);
    put_u32(out, (uint32_t)n);
    put_bytes(out, s, n + 1);
}

static void put_loc(struct strbuf *out, struct loc l)
{
    put_u32(out, l.line);
    put_u32(out, l.col);
    put_u32(out, l.end_line);
    put_u32(out, l.end_col);
}

static void put_strlist(struct strbuf *out, const struct strlist *l)
{
    put_u32(out, (uint32_t)l->len);
    for (size_t i = 0; i < l->len; i++)
        put_str(out, l->items[i]);
}

static void put_decl(struct strbuf *out, const struct decl *d)
{
    put_u32(out, (uint32_t)d->deps.len);
    for (size_t i = 0; i < d->deps.len; i++) {
        const struct dependency *dep = &d->deps.items[i];
        put_str(out, dep->job);
        put_loc(out, dep->loc);
        put_u8(out,
               (uint8_t)(dep->has_max_lag | dep->unique << 1 | dep->allow_missing_work_ids << 2));
        put_f64(out, dep->max_lag);
        put_str(out, dep->kwargs_json);
    }
    put_strlist(out, &d->schedules);
    put_str(out, d->timezone);
    put_strlist(out, &d->inputs);
    put_strlist(out, &d->outputs);
    put_str(out, d->main_func);
    put_str(out, d->kwargs_json);
    put_u64(out, (uint64_t)d->retries);
    put_f64(out, d->retry_delay);
    put_f64(out, d->timeout);
    put_u64(out, (uint64_t)d->log_limit);
    put_u64(out, (uint64_t)d->slots);
    put_strlist(out, &d->tags);
    put_str(out, d->python);
    put_u64(out, (uint64_t)d->chunk_size);
    put_u8(out, d->has_work_ids);
    put_u32(out, (uint32_t)d->work_ids.len);
    for (size_t i = 0; i < d->work_ids.len; i++)
        put_u64(out, (uint64_t)d->work_ids.items[i]);
    put_u8(out, (uint8_t)(d->allow_multiple_jobs | d->is_streaming << 1 | d->original_form << 2));
    put_u8(out, (uint8_t)d->on);
    put_loc(out, d->on_loc);
    put_str(out, d->job_type);
    put_loc(out, d->job_type_loc);
    put_strlist(out, &d->data_sources);
    put_strlist(out, &d->data_sinks);
}

static void put_file(struct strbuf *out, const struct source_file *f)
{
    const struct scan_result *r = &f->result;
    put_str(out, f->path);
    put_u64(out, (uint64_t)f->st.mtime_ns);
    put_u64(out, (uint64_t)f->st.ctime_ns);
    put_u64(out, f->st.size);
    put_u64(out, f->st.inode);
    put_u64(out, f->st.device);
    put_u64(out, f->hash.low);
    put_u64(out, f->hash.high);
    put_u64(out, r->code_hash.low);
    put_u64(out, r->code_hash.high);
    put_u8(out, (uint8_t)(r->is_job * FLAG_JOB | r->ok * FLAG_OK |
                          r->is_timetable * FLAG_TIMETABLE | r->has_decl * FLAG_DECL));
    put_loc(out, r->decl_loc);
    if (r->lazy_imports) {
        put_u32(out, (uint32_t)r->lazy_imports_len);
        put_bytes(out, r->lazy_imports, r->lazy_imports_len);
    } else {
        size_t at = out->len;
        put_u32(out, 0);
        put_u32(out, (uint32_t)r->imports.len);
        for (size_t i = 0; i < r->imports.len; i++) {
            const struct scan_import *imp = &r->imports.items[i];
            put_str(out, imp->module);
            put_u32(out, (uint32_t)imp->level);
            put_u32(out, imp->line);
            put_strlist(out, &imp->names);
        }
        uint32_t bytes = (uint32_t)(out->len - at - 4);
        memcpy(out->buf + at, &bytes, 4);
    }
    put_u32(out, (uint32_t)r->diags.items.len);
    for (size_t i = 0; i < r->diags.items.len; i++) {
        const struct diag *d = &r->diags.items.items[i];
        put_u8(out, (uint8_t)d->severity);
        put_loc(out, d->loc);
        put_str(out, d->message);
        put_str(out, d->hint);
    }
    if (r->has_decl)
        put_decl(out, &r->decl);
    if (r->is_timetable) {
        put_u32(out, (uint32_t)r->timetable.len);
        for (size_t i = 0; i < r->timetable.len; i++) {
            const struct timetable_entry *e = &r->timetable.items[i];
            put_str(out, e->id);
            put_str(out, e->job);
            put_str(out, e->schedule);
            put_str(out, e->kwargs_json);
            put_loc(out, e->loc);
        }
    }
}


/* Append a section holding the given entries and removal markers. */
static void put_section(struct strbuf *out, const struct source_file *const *files, size_t count,
                        char *const *gone, size_t gone_count)
{
    size_t at = out->len;
    put_u64(out, 0);
    put_u64(out, count + gone_count);
    for (size_t i = 0; i < count; i++)
        put_file(out, files[i]);
    for (size_t i = 0; i < gone_count; i++) {
        put_str(out, gone[i]);
        for (int k = 0; k < 9; k++) /* stat data, content and code hashes */
            put_u64(out, 0);
        put_u8(out, FLAG_GONE);
    }
    uint64_t bytes = out->len - at - 8;
    memcpy(out->buf + at, &bytes, 8);
    put_u64(out, hash64_bytes(out->buf + at + 8, bytes));
}

/* The folder a cache file is in: its real path and stat identity. */
struct folder_identity {
    char *real; /* NULL when it cannot be resolved */
    uint64_t device, inode;
};

static void folder_identity_of(const char *cache_path, struct folder_identity *id)
{
    const char *slash = strrchr(cache_path, '/');
    char *dir = slash ? xstrndup(cache_path, (size_t)(slash - cache_path) + (slash == cache_path))
                      : xstrdup(".");
    struct stat st;
    id->real = realpath(dir, NULL);
    id->device = id->inode = 0;
    if (stat(dir, &st) == 0) {
        id->device = (uint64_t)st.st_dev;
        id->inode = (uint64_t)st.st_ino;
    }
    free(dir);
}

/* Write the header and one section holding every file to fd, a few hundred KB at
 * a time: the whole cache is never held in memory, which keeps a cold run's peak
 * down. The section's length is patched in once known. -1 with errno set. */
static int stream_cache(int fd, const char *jobs_root, const struct folder_identity *folder,
                        const struct source_file *files, size_t count)
{
    struct strbuf out = STRBUF_INIT;
    put_bytes(&out, magic, sizeof(magic));
    put_u32(&out, CACHE_VERSION);
    put_u32(&out, 0x01020304);
    put_str(&out, jobs_root);
    put_str(&out, folder->real ? folder->real : "");
    put_u64(&out, folder->device);
    put_u64(&out, folder->inode);
    put_u64(&out, hash64_bytes(out.buf, out.len));
    uint64_t length_at = out.len, body = 0;
    put_u64(&out, 0);
    size_t body_from = out.len; /* where the body starts in the current buffer */
    struct hash64_stream *check = hash64_stream_new();
    put_u64(&out, count);
    int rc = 0;
    for (size_t i = 0; i <= count && rc == 0; i++) {
        if (i < count)
            put_file(&out, &files[i]);
        if (out.len >= (256 << 10) || i == count) {
            hash64_stream_add(check, out.buf + body_from, out.len - body_from);
            body += out.len - body_from;
            rc = fd_write_all(fd, out.buf, out.len);
            strbuf_reset(&out);
            body_from = 0;
        }
    }
    int saved = errno; /* a failed write's, kept across freeing the stream */
    uint64_t body_check = hash64_stream_finish(check);
    errno = saved;
    if (rc == 0) {
        put_u64(&out, body_check);
        rc = fd_write_all(fd, out.buf, out.len);
    }
    if (rc == 0 && pwrite(fd, &body, 8, (off_t)length_at) != 8)
        rc = -1;
    saved = errno;
    strbuf_release(&out);
    errno = saved;
    return rc;
}

int cache_write(const char *path, const char *jobs_root, const struct source_file *files,
                size_t count)
{
    char *tmp = xprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = -1, saved = 0;
    struct folder_identity folder;
    folder_identity_of(path, &folder);
    int fd = state_file_create(tmp, O_CREAT | O_TRUNC); /* 0600: it holds kwargs */
    if (fd < 0) {
        saved = errno;
    } else if (stream_cache(fd, jobs_root, &folder, files, count) < 0) {
        saved = errno;
        close(fd);
        unlink(tmp);
    } else if (close(fd) < 0 || rename(tmp, path) < 0) {
        saved = errno;
        unlink(tmp);
    } else {
        rc = 0;
    }
    free(folder.real);
    free(tmp);
    errno = saved;
    return rc;
}

int cache_append(const char *path, const struct source_file *const *files, size_t count,
                 char *const *gone, size_t gone_count)
{
    struct strbuf out = STRBUF_INIT;
    put_section(&out, files, count, gone, gone_count);
    /* One write with O_APPEND: concurrent appends do not interleave, and a
     * crash part-way leaves a section whose check fails, which readers skip. */
    int rc = 0, saved = 0;
    int fd = state_file_create(path, O_APPEND);
    if (fd < 0 || fd_write_all(fd, out.buf, out.len) < 0) {
        saved = errno;
        rc = -1;
        if (fd >= 0)
            close(fd);
    } else if (close(fd) < 0) {
        saved = errno;
        rc = -1;
    }
    strbuf_release(&out);
    errno = saved;
    return rc;
}

/* ---- reading ---- */

/* A bounds-checked cursor; once bad, every read yields zeros. */
struct reader {
    const unsigned char *p, *end;
    bool bad;
    struct arena *arena; /* where arrays of loaded results go */
};

static bool get_bytes(struct reader *r, void *out, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        memset(out, 0, n);
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    return true;
}

static uint8_t get_u8(struct reader *r)
{
    uint8_t v;
    get_bytes(r, &v, 1);
    return v;
}

static uint32_t get_u32(struct reader *r)
{
    uint32_t v;
    get_bytes(r, &v, 4);
    return v;
}

static uint64_t get_u64(struct reader *r)
{
    uint64_t v;
    get_bytes(r, &v, 8);
    return v;
}

static double get_f64(struct reader *r)
{
    double v;
    get_bytes(r, &v, 8);
    return v;
}

/* A count of items each at least `min_size` bytes: refuses counts the rest cannot hold. */
static uint32_t get_count(struct reader *r, size_t min_size)
{
    uint32_t n = get_u32(r);
    if (!r->bad && (uint64_t)n * min_size > (uint64_t)(r->end - r->p))
        r->bad = true;
    return r->bad ? 0 : n;
}

/* A string in place in the mapped file, which stays mapped while results use it. */
static char *get_str(struct reader *r)
{
    uint32_t n = get_u32(r);
    if (r->bad || n == NO_STRING)
        return NULL;
    if ((size_t)(r->end - r->p) <= n || r->p[n] != '\0') {
        r->bad = true;
        return NULL;
    }
    char *s = (char *)(uintptr_t)r->p;
    r->p += n + 1;
    return s;
}

/* A string that must be present; "" when the file is bad. */
static char *get_str_required(struct reader *r)
{
    char *s = get_str(r);
    if (!s) {
        r->bad = true;
        s = (char *)(uintptr_t) "";
    }
    return s;
}

/* An array of count items of size bytes in the arena (NULL when empty). */
static void *get_array(struct reader *r, size_t count, size_t size)
{
    return count ? arena_alloc(r->arena, count * size) : NULL;
}

static struct loc get_loc(struct reader *r)
{
    struct loc l;
    l.line = get_u32(r);
    l.col = get_u32(r);
    l.end_line = get_u32(r);
    l.end_col = get_u32(r);
    return l;
}

static void get_strlist(struct reader *r, struct strlist *l)
{
    uint32_t n = get_count(r, 5);
    l->items = get_array(r, n, sizeof(char *));
    l->len = l->cap = n;
    for (uint32_t i = 0; i < n; i++)
        l->items[i] = get_str_required(r);
}

static void get_decl(struct reader *r, struct decl *d)
{
    uint32_t n = get_count(r, 5 + 16 + 1 + 8 + 4);
    d->deps.items = get_array(r, n, sizeof(struct dependency));
    d->deps.cap = n;
    for (uint32_t i = 0; i < n; i++) {
        struct dependency dep = {0};
        dep.job = get_str_required(r);
        dep.loc = get_loc(r);
        uint8_t flags = get_u8(r);
        dep.has_max_lag = flags & 1;
        dep.unique = flags & 2;
        dep.allow_missing_work_ids = flags & 4;
        dep.max_lag = get_f64(r);
        dep.kwargs_json = get_str(r);
        d->deps.items[d->deps.len++] = dep;
    }
    get_strlist(r, &d->schedules);
    d->timezone = get_str(r);
    get_strlist(r, &d->inputs);
    get_strlist(r, &d->outputs);
    d->main_func = get_str(r);
    d->kwargs_json = get_str_required(r);
    d->retries = (int64_t)get_u64(r);
    d->retry_delay = get_f64(r);
    d->timeout = get_f64(r);
    d->log_limit = (int64_t)get_u64(r);
    d->slots = (int64_t)get_u64(r);
    get_strlist(r, &d->tags);
    d->python = get_str(r);
    d->chunk_size = (int64_t)get_u64(r);
    d->has_work_ids = get_u8(r);
    uint32_t ids = get_count(r, 8);
    d->work_ids.items = get_array(r, ids, sizeof(int64_t));
    d->work_ids.len = d->work_ids.cap = ids;
    for (uint32_t i = 0; i < ids; i++)
        d->work_ids.items[i] = (int64_t)get_u64(r);
    uint8_t flags = get_u8(r);
    d->allow_multiple_jobs = flags & 1;
    d->is_streaming = flags & 2;
    d->original_form = flags & 4;
    d->on = get_u8(r);
    d->on_loc = get_loc(r);
    d->job_type = get_str(r);
    d->job_type_loc = get_loc(r);
    get_strlist(r, &d->data_sources);
    get_strlist(r, &d->data_sinks);
}

static void get_file(struct reader *r, struct source_file *f)
{
    memset(f, 0, sizeof(*f));
    f->result.borrowed = true;
    f->path = xstrdup(get_str_required(r));
    f->st.mtime_ns = (int64_t)get_u64(r);
    f->st.ctime_ns = (int64_t)get_u64(r);
    f->st.size = get_u64(r);
    f->st.inode = get_u64(r);
    f->st.device = get_u64(r);
    f->hash.low = get_u64(r);
    f->hash.high = get_u64(r);
    f->result.code_hash.low = get_u64(r);
    f->result.code_hash.high = get_u64(r);
    struct scan_result *res = &f->result;
    uint8_t flags = get_u8(r);
    if (flags & FLAG_GONE) {
        f->gone = true;
        return;
    }
    res->is_job = flags & FLAG_JOB;
    res->ok = (flags & FLAG_OK) != 0;
    res->has_decl = (flags & FLAG_DECL) != 0;
    res->is_timetable = (flags & FLAG_TIMETABLE) != 0;
    res->decl_loc = get_loc(r);
    uint32_t n = get_count(r, 1);
    if (n < 4)
        r->bad = true;
    res->lazy_imports = r->p;
    res->lazy_imports_len = n;
    r->p += r->bad ? 0 : n;
    n = get_count(r, 1 + 16 + 5 + 4);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t severity = get_u8(r);
        struct loc loc = get_loc(r);
        char *message = get_str_required(r);
        char *hint = get_str(r);
        if (severity > DIAG_NOTE)
            r->bad = true;
        diag_add(&res->diags, r->bad ? DIAG_ERROR : (enum diag_severity)severity, f->path, loc,
                 "%s", message);
        if (hint)
            diag_hint(&res->diags, "%s", hint);
    }
    if (res->has_decl)
        get_decl(r, &res->decl);
    if (res->is_timetable) {
        uint32_t entries = get_count(r, 3 * 5 + 2 * 4 + 16);
        res->timetable.items = get_array(r, entries, sizeof(struct timetable_entry));
        res->timetable.cap = entries;
        for (uint32_t i = 0; i < entries; i++) {
            struct timetable_entry *e = &res->timetable.items[res->timetable.len++];
            e->id = get_str_required(r);
            e->job = get_str_required(r);
            e->schedule = get_str_required(r);
            e->kwargs_json = get_str(r);
            e->loc = get_loc(r);
        }
    }
}

/* A cache bigger than this is not stau's (a million files make some 200 MB). */
#define MAX_CACHE_SIZE ((uint64_t)1 << 30)

/* Map the whole file read-only (loaded results point into it); -1 with errno set
 * and, unless there is no file (ENOENT), why said. Never through a link, only a
 * regular file of at most MAX_CACHE_SIZE. */
static int map_whole(const char *path, const char **data, size_t *len, int64_t *mtime_ns,
                     struct strbuf *why)
{
    struct stat st;
    int fd = state_file_open(path, MAX_CACHE_SIZE, &st, why);
    if (fd < 0)
        return -1;
    *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    *len = (size_t)st.st_size;
    *data = "";
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            int saved = errno;
            close(fd);
            strbuf_addf(why, "cannot read it: %s", strerror(saved));
            errno = saved;
            return -1;
        }
        *data = p;
    }
    close(fd);
    return 0;
}

static uint64_t read_u64_at(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int by_path_order(const void *a, const void *b)
{
    return strcmp(((const struct source_file *)a)->path, ((const struct source_file *)b)->path);
}

int cache_read(const char *path, const char *jobs_root, struct cache *out, struct strbuf *why)
{
    memset(out, 0, sizeof(*out));
    struct {
        const char *buf;
        size_t len;
    } data;
    if (map_whole(path, &data.buf, &data.len, &out->written_ns, why) < 0)
        return errno == ENOENT ? 0 : -1;
    out->mapped = data.len ? data.buf : NULL;
    out->mapped_len = data.len;
    const unsigned char *p = (const unsigned char *)data.buf;
    struct reader r = {p, p + data.len, false, &out->arena};
    char head[sizeof(magic)];
    if (!get_bytes(&r, head, sizeof(head)) || memcmp(head, magic, sizeof(magic)) != 0) {
        strbuf_addstr(why, "it is not a stau graph cache");
        goto unusable;
    }
    uint32_t version = get_u32(&r), bom = get_u32(&r);
    if (r.bad) {
        strbuf_addstr(why, "it is truncated or damaged");
        goto unusable;
    }
    if (version != CACHE_VERSION || bom != 0x01020304)
        goto unusable; /* another stau version wrote it: rebuild without a fuss */
    char *root = get_str_required(&r);
    char *written_in = get_str_required(&r);
    uint64_t device = get_u64(&r), inode = get_u64(&r);
    uint64_t header_check = hash64_bytes(data.buf, (size_t)(r.p - p));
    if (r.bad || get_u64(&r) != header_check) {
        strbuf_addstr(why, "it is truncated or damaged");
        goto unusable;
    }
    struct folder_identity here;
    folder_identity_of(path, &here);
    bool same_folder = (here.device == device && here.inode == inode) ||
                       (here.real && strcmp(here.real, written_in) == 0);
    free(here.real);
    if (!same_folder) {
        strbuf_addstr(why, "it was copied from another project ('");
        strbuf_add_printable(why, written_in, strlen(written_in));
        strbuf_addstr(why, "')");
        goto unusable;
    }
    if (strcmp(root, jobs_root) != 0)
        goto unusable; /* written for another jobs root: not an error */
    struct strmap by_path = {0};
    bool sorted = true;
    for (size_t section = 0; r.p < r.end; section++) {
        uint64_t bytes = get_u64(&r);
        if (r.bad || bytes < 8 || bytes > (uint64_t)(r.end - r.p) ||
            (uint64_t)(r.end - r.p) - bytes < 8 ||
            hash64_bytes(r.p, bytes) != read_u64_at(r.p + bytes)) {
            if (section == 0) {
                strmap_release(&by_path);
                strbuf_addstr(why, "it is truncated or damaged");
                goto unusable;
            }
            out->torn = true; /* a crash cut an append short: its files are read again */
            break;
        }
        struct reader body = {r.p, r.p + bytes, false, &out->arena};
        uint64_t count = get_u64(&body);
        if (count > bytes / 16)
            body.bad = true;
        for (uint64_t i = 0; i < count && !body.bad; i++) {
            struct source_file f;
            get_file(&body, &f);
            size_t index;
            if (strmap_get(&by_path, f.path, strlen(f.path), &index)) {
                /* A later entry replaces an earlier one (or removes it). */
                struct source_file *old = &out->files.items[index];
                char *key = old->path; /* the table points at it: keep it */
                scan_result_release(&old->result);
                free(f.path);
                f.path = key;
                *old = f;
                continue;
            }
            if (f.gone) {
                source_file_release(&f);
                continue;
            }
            if (out->files.len && strcmp(out->files.items[out->files.len - 1].path, f.path) > 0)
                sorted = false;
            VEC_PUSH(&out->files, f);
            /* Keys point at the entries' own paths, which live until release. */
            strmap_put(&by_path, f.path, strlen(f.path), out->files.len - 1);
        }
        if (body.bad || body.p != body.end) {
            strmap_release(&by_path);
            strbuf_addstr(why, "its entries do not add up");
            goto unusable;
        }
        r.p += bytes + 8;
        out->sections++;
    }
    strmap_release(&by_path);
    if (!out->sections) {
        strbuf_addstr(why, "it is truncated or damaged");
        goto unusable;
    }
    /* Drop removal markers, then restore path order if appends broke it. */
    size_t kept = 0;
    for (size_t i = 0; i < out->files.len; i++) {
        if (out->files.items[i].gone)
            source_file_release(&out->files.items[i]);
        else
            out->files.items[kept++] = out->files.items[i];
    }
    out->files.len = kept;
    if (!sorted)
        qsort(out->files.items, out->files.len, sizeof(out->files.items[0]), by_path_order);
    return 0;
unusable:
    cache_release(out);
    return -1;
}

/* Decode the imports section of one file (bounds-checked like everything else). */
static bool get_imports(struct reader *r, struct scan_result *res)
{
    uint32_t n = get_count(r, 5 + 4 + 4 + 4);
    res->imports.items = get_array(r, n, sizeof(struct scan_import));
    res->imports.cap = n;
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        struct scan_import imp = {0};
        imp.module = get_str_required(r);
        imp.level = (int)get_u32(r);
        imp.line = get_u32(r);
        get_strlist(r, &imp.names);
        res->imports.items[res->imports.len++] = imp;
    }
    return !r->bad && r->p == r->end;
}

int cache_decode_imports(struct cache *c, struct scan_result *res)
{
    if (!res->lazy_imports)
        return 0;
    const unsigned char *p = res->lazy_imports;
    struct reader r = {p, p + res->lazy_imports_len, false, &c->arena};
    bool ok = get_imports(&r, res);
    res->lazy_imports = NULL;
    res->lazy_imports_len = 0;
    if (!ok) {
        /* The check sum vouched for the bytes, so another stau wrote what this one
         * cannot read: forget the imports (the caller sets the cache aside). */
        res->imports.len = 0;
        return -1;
    }
    return 0;
}

void source_file_release(struct source_file *f)
{
    free(f->path);
    scan_result_release(&f->result);
    memset(f, 0, sizeof(*f));
}

void cache_release(struct cache *c)
{
    for (size_t i = 0; i < c->files.len; i++)
        source_file_release(&c->files.items[i]);
    VEC_FREE(&c->files);
    arena_release(&c->arena);
    if (c->mapped && munmap((void *)(uintptr_t)c->mapped, c->mapped_len) < 0)
        warn("cannot unmap the graph cache:");
    c->mapped = NULL;
}
