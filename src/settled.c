/* settled.c: the settled mark, .stau/settled.
 *
 * Why it exists: with nothing due, a plan of every job reads each job's past from
 * the state database and fingerprints its declaration, inputs and outputs; on
 * 10,000 jobs that is most of a second. When such a plan finds nothing due, stau
 * writes down what the finding rested on, and the next call only checks that all
 * of it is unchanged: the project's Python files (their paths and contents, which
 * decide every code and declaration fingerprint), the database's generation
 * (which moves with every run recorded or finished), the next schedule tick, and
 * the stat data of every input and output file the plan looked at. Anything else
 * and stau plans in full, as if the mark were not there.
 *
 * Format (integers little-endian as the machine writes them; the byte-order mark
 * rejects a file from a machine of the other order):
 *
 *   magic        "stau settled\0\0\0\0" (16 bytes)
 *   u32 version  SETTLED_VERSION; bumped whenever this layout or a staleness rule
 *                changes
 *   u32 bom      0x01020304
 *   i64 valid_until  unix ms of the earliest schedule tick that would make a job due
 *   i64 generation   the state database's generation
 *   u64 sources_low, sources_high   the hash of the project's Python files
 *   str context      the rest of the key (see struct settled_key)
 *   u64 count, then `count` entries, each:
 *     u8 kind; str path;
 *     kind 1 (a file or folder): u32 mode; i64 mtime_ns; i64 ctime_ns; u64 size;
 *       u64 inode; u64 device
 *     kind 2 (a path that did not exist): nothing more
 *     kind 3 (a glob pattern): u64 low, u64 high, the hash of the paths it matched
 *   u64 check    XXH3-64 of every byte before it
 *
 * str = u32 length + bytes. The file is written to a temporary name and renamed,
 * so a reader sees a whole mark or none; a damaged one fails its check and is
 * ignored.
 */
#include "settled.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fingerprint.h"
#include "hash.h"
#include "state_file.h"

enum { SETTLED_VERSION = 1, RACY_MS = 2000, MAX_CHECKERS = 8, PER_CHECKER = 2048 };
static const char magic[16] = "stau settled\0\0\0";
static const uint32_t byte_order = 0x01020304;

void witness_file(struct witness *w, const char *path, const struct stat *st)
{
    struct witness_entry e = {xstrdup(path), st ? WITNESS_FILE : WITNESS_MISSING, 0, {0}, {0, 0}};
    if (st) {
        e.mode = (uint32_t)(st->st_mode & S_IFMT);
        file_stat_from(&e.st, st);
    }
    VEC_PUSH(w, e);
}

/* The hash of a glob's sorted matches. */
static struct hash128 matches_hash(const struct strlist *matches)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < matches->len; i++)
        strbuf_add(&sb, matches->items[i], strlen(matches->items[i]) + 1);
    struct hash128 h = hash_bytes(sb.buf ? sb.buf : "", sb.len);
    strbuf_release(&sb);
    return h;
}

void witness_glob(struct witness *w, const char *pattern, const struct strlist *matches)
{
    struct witness_entry e = {xstrdup(pattern), WITNESS_GLOB, 0, {0}, matches_hash(matches)};
    VEC_PUSH(w, e);
}

void witness_release(struct witness *w)
{
    for (size_t i = 0; i < w->len; i++)
        free(w->items[i].path);
    VEC_FREE(w);
}

/* ---- writing ---- */

static void put(struct strbuf *out, const void *p, size_t n)
{
    strbuf_add(out, p, n);
}

static void put_u64(struct strbuf *out, uint64_t v)
{
    put(out, &v, 8);
}

static void put_str(struct strbuf *out, const char *s)
{
    uint32_t n = (uint32_t)strlen(s);
    put(out, &n, 4);
    put(out, s, n);
}

int settled_write(const char *path, const struct settled_key *key, const struct witness *w,
                  int64_t valid_until, int64_t now)
{
    int64_t racy_from = (now - RACY_MS) * 1000000;
    for (size_t i = 0; i < w->len; i++)
        if (w->items[i].kind == WITNESS_FILE && w->items[i].st.mtime_ns >= racy_from)
            return 0;
    struct strbuf sb = STRBUF_INIT;
    uint32_t version = SETTLED_VERSION;
    put(&sb, magic, sizeof(magic));
    put(&sb, &version, 4);
    put(&sb, &byte_order, 4);
    put_u64(&sb, (uint64_t)valid_until);
    put_u64(&sb, (uint64_t)key->generation);
    put_u64(&sb, key->sources.low);
    put_u64(&sb, key->sources.high);
    put_str(&sb, key->context);
    put_u64(&sb, w->len);
    for (size_t i = 0; i < w->len; i++) {
        const struct witness_entry *e = &w->items[i];
        put(&sb, &e->kind, 1);
        put_str(&sb, e->path);
        if (e->kind == WITNESS_FILE) {
            put(&sb, &e->mode, 4);
            put_u64(&sb, (uint64_t)e->st.mtime_ns);
            put_u64(&sb, (uint64_t)e->st.ctime_ns);
            put_u64(&sb, e->st.size);
            put_u64(&sb, e->st.inode);
            put_u64(&sb, e->st.device);
        } else if (e->kind == WITNESS_GLOB) {
            put_u64(&sb, e->matches.low);
            put_u64(&sb, e->matches.high);
        }
    }
    put_u64(&sb, hash64_bytes(sb.buf, sb.len));
    char *tmp = xprintf("%s.tmp.%d", path, (int)getpid());
    int fd = state_file_create(tmp, O_CREAT | O_TRUNC);
    int rc = -1;
    if (fd >= 0) {
        size_t done = 0;
        while (done < sb.len) {
            ssize_t n = write(fd, sb.buf + done, sb.len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            done += (size_t)n;
        }
        int saved = errno;
        if (close(fd) == 0 && done == sb.len && rename(tmp, path) == 0)
            rc = 0;
        else
            saved = errno ? errno : saved;
        if (rc < 0) {
            unlink(tmp);
            errno = saved;
        }
    }
    free(tmp);
    strbuf_release(&sb);
    return rc;
}

/* ---- checking ---- */

/* A cursor over the file's bytes; `bad` once a read ran past the end. */
struct reader {
    const char *p, *end;
    bool bad;
};

static void get(struct reader *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
}

static uint64_t get_u64(struct reader *r)
{
    uint64_t v;
    get(r, &v, 8);
    return v;
}

/* A string in place (not NUL-terminated: its length in *len). */
static const char *get_str(struct reader *r, uint32_t *len)
{
    get(r, len, 4);
    if (r->bad || (size_t)(r->end - r->p) < *len) {
        r->bad = true;
        *len = 0;
        return "";
    }
    const char *s = r->p;
    r->p += *len;
    return s;
}

/* The entries to confirm and the threads sharing them. */
struct checkers {
    int root_fd;
    const char *root;
    struct witness_entry *checks; /* read back from the mark */
    size_t count;
    atomic_size_t next;  /* next block of entries to take */
    atomic_bool differs; /* some entry is not as recorded */
};

static bool entry_holds(const struct checkers *c, const struct witness_entry *e)
{
    if (e->kind == WITNESS_GLOB) {
        struct strlist matches = {0};
        fingerprint_glob(c->root, e->path, &matches);
        bool same = hash_equal(matches_hash(&matches), e->matches);
        for (size_t i = 0; i < matches.len; i++)
            free(matches.items[i]);
        VEC_FREE(&matches);
        return same;
    }
    struct stat st;
    if (fstatat(c->root_fd, e->path, &st, 0) < 0)
        return e->kind == WITNESS_MISSING && (errno == ENOENT || errno == ENOTDIR);
    if (e->kind != WITNESS_FILE || (uint32_t)(st.st_mode & S_IFMT) != e->mode)
        return false;
    struct file_stat now;
    file_stat_from(&now, &st);
    return file_stat_equal(&now, &e->st);
}

static void *checker_main(void *arg)
{
    struct checkers *c = arg;
    for (;;) {
        size_t first = atomic_fetch_add(&c->next, PER_CHECKER);
        if (first >= c->count || atomic_load(&c->differs))
            break;
        size_t last = first + PER_CHECKER < c->count ? first + PER_CHECKER : c->count;
        for (size_t i = first; i < last; i++) {
            if (!entry_holds(c, &c->checks[i])) {
                atomic_store(&c->differs, true);
                return NULL;
            }
        }
    }
    return NULL;
}

/* Confirm every entry, on several threads when there are many (each stat is a
 * system call the kernel can serve in parallel). */
static bool entries_hold(struct checkers *c)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = c->count / PER_CHECKER + 1;
    if (threads > (size_t)(cpus > 0 ? cpus : 1))
        threads = (size_t)(cpus > 0 ? cpus : 1);
    if (threads > MAX_CHECKERS)
        threads = MAX_CHECKERS;
    pthread_t tids[MAX_CHECKERS];
    size_t started = 0;
    for (size_t t = 1; t < threads; t++) {
        if (pthread_create(&tids[started], NULL, checker_main, c) != 0)
            break; /* fewer threads only means slower */
        started++;
    }
    checker_main(c);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    return !atomic_load(&c->differs);
}

/* A mark bigger than this is not stau's (a million witnesses make some 100 MB). */
#define MAX_SETTLED_SIZE ((uint64_t)256 << 20)

/* The whole file into buf; false when it cannot be read. What is no mark of stau's
 * (a link, a device, a FIFO, a huge file) is said and removed: it is only a mark. */
static bool read_whole(const char *path, struct strbuf *buf)
{
    struct strbuf why = STRBUF_INIT;
    bool ok = state_file_read(path, MAX_SETTLED_SIZE, buf, &why) == 0;
    if (!ok && why.len) {
        struct stat st;
        bool folder = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
        bool removed = !folder && unlink(path) == 0;
        warn("ignoring '%s': %s; %s (it is only a mark: the plan is made in full)", path, why.buf,
             removed ? "removed it" : "remove it");
    }
    strbuf_release(&why);
    return ok;
}

bool settled_holds(const char *path, const char *root, const struct settled_key *key, int64_t now)
{
    struct strbuf buf = STRBUF_INIT;
    if (!read_whole(path, &buf) || buf.len < sizeof(magic) + 8 + 8) {
        strbuf_release(&buf);
        return false;
    }
    uint64_t check;
    memcpy(&check, buf.buf + buf.len - 8, 8);
    struct reader r = {buf.buf, buf.buf + buf.len - 8, false};
    char head[16];
    uint32_t version = 0, bom = 0;
    get(&r, head, sizeof(head));
    get(&r, &version, 4);
    get(&r, &bom, 4);
    bool holds = hash64_bytes(buf.buf, buf.len - 8) == check &&
                 memcmp(head, magic, sizeof(magic)) == 0 && version == SETTLED_VERSION &&
                 bom == byte_order;
    int64_t valid_until = (int64_t)get_u64(&r);
    int64_t generation = (int64_t)get_u64(&r);
    struct hash128 sources;
    sources.low = get_u64(&r);
    sources.high = get_u64(&r);
    uint32_t context_len;
    const char *context = get_str(&r, &context_len);
    holds = holds && !r.bad && now < valid_until && generation == key->generation &&
            hash_equal(sources, key->sources) && context_len == strlen(key->context) &&
            memcmp(context, key->context, context_len) == 0;
    uint64_t count = holds ? get_u64(&r) : 0;
    if (count > buf.len) /* more entries than bytes: damaged */
        holds = false;
    struct witness_entry *checks = holds ? xcalloc(count + 1, sizeof(*checks)) : NULL;
    for (uint64_t i = 0; holds && i < count; i++) {
        struct witness_entry *e = &checks[i];
        get(&r, &e->kind, 1);
        uint32_t len;
        const char *p = get_str(&r, &len);
        e->path = xstrndup(p, len);
        if (e->kind == WITNESS_FILE) {
            get(&r, &e->mode, 4);
            e->st.mtime_ns = (int64_t)get_u64(&r);
            e->st.ctime_ns = (int64_t)get_u64(&r);
            e->st.size = get_u64(&r);
            e->st.inode = get_u64(&r);
            e->st.device = get_u64(&r);
        } else if (e->kind == WITNESS_GLOB) {
            e->matches.low = get_u64(&r);
            e->matches.high = get_u64(&r);
        } else if (e->kind != WITNESS_MISSING) {
            holds = false;
        }
        holds = holds && !r.bad;
    }
    holds = holds && r.p == r.end;
    if (holds) {
        int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct checkers c = {root_fd, root, checks, (size_t)count, 0, false};
        holds = root_fd >= 0 && entries_hold(&c);
        if (root_fd >= 0)
            close(root_fd);
    }
    for (uint64_t i = 0; checks && i < count; i++)
        free(checks[i].path);
    free(checks);
    strbuf_release(&buf);
    return holds;
}
