/* project.c: loading a project. */
#include "project.h"
#include "paths.h"
#include "decl.h"

#include "fingerprint.h"
#include "hash.h"
#include "state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Larger files are left out: no job file is this big, and reading them would
 * cost the memory every other file needs. */
enum { MAX_SOURCE_SIZE = 16 << 20 };

static const struct loc whole_file = {0, 0, 0, 0};

char *project_job_name(const char *jobs_root, const char *path)
{
    size_t root_len = strlen(jobs_root);
    if (root_len) {
        if (strncmp(path, jobs_root, root_len) != 0 || path[root_len] != '/')
            return NULL;
        path += root_len + 1;
    }
    size_t n = strlen(path);
    if (n < 4 || strcmp(path + n - 3, ".py") != 0)
        return NULL;
    n -= 3;
    /* A package's __init__.py is the package itself, as for Python's import. */
    if (n >= 9 && strncmp(path + n - 9, "/__init__", 9) == 0)
        n -= 9;
    else if (n == 8 && strncmp(path, "__init__", 8) == 0)
        return NULL;
    char *name = xstrndup(path, n);
    for (char *c = name; *c; c++)
        if (*c == '/')
            *c = '.';
    return name;
}

/* The code point of the UTF-8 sequence at s (n bytes, already known valid). */
static uint32_t code_point(const unsigned char *s, size_t n)
{
    uint32_t c = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++)
        c = c << 6 | (s[i] & 0x3f);
    return c;
}

/* Whether a non-ASCII code point may be part of an identifier: roughly Python's
 * letters; never spaces, punctuation, or the format marks that reorder text
 * (U+200E, U+202E, U+2066...). */
static bool identifier_code_point(uint32_t c)
{
    if (c < 0xc0 || c == 0xd7 || c == 0xf7)
        return c == 0xaa || c == 0xb5 || c == 0xba;
    if ((c >= 0x2000 && c <= 0x206f) || (c >= 0x2e00 && c <= 0x2e7f) ||
        (c >= 0x3000 && c <= 0x303f) || c == 0xfeff || c >= 0xfff0)
        return false;
    return true;
}

/* Whether s[0..len) is a Python identifier (see project_importable). */
static bool identifier(const char *s, size_t len)
{
    if (!len || (s[0] >= '0' && s[0] <= '9'))
        return false;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9')))
                return false;
            i++;
            continue;
        }
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (i + n > len || needs_escape(s + i, n) || !identifier_code_point(code_point(p + i, n)))
            return false;
        i += n;
    }
    return true;
}

bool project_importable(const char *jobs_root, const char *path, const char **bad, size_t *bad_len)
{
    size_t root_len = strlen(jobs_root);
    if (root_len && strncmp(path, jobs_root, root_len) == 0 && path[root_len] == '/')
        path += root_len + 1;
    size_t n = strlen(path);
    if (n >= 3 && strcmp(path + n - 3, ".py") == 0)
        n -= 3;
    for (size_t from = 0; from <= n;) {
        const char *slash = memchr(path + from, '/', n - from);
        size_t end = slash ? (size_t)(slash - path) : n;
        if (!identifier(path + from, end - from)) {
            if (bad)
                *bad = path + from;
            if (bad_len)
                *bad_len = end - from;
            return false;
        }
        from = end + 1;
    }
    return true;
}

/* Shared state of the readers. */
struct readers {
    struct project *p;
    struct source_file **previous; /* per file: the cache's entry for it, or NULL */
    size_t *todo;                  /* indices of files to read */
    size_t todo_count;
    atomic_size_t next;   /* next entry of todo to take */
    atomic_size_t parsed; /* files whose content changed */
};

/* Read a whole file into buf; -1 with a warning in diags when it cannot be used. */
static int read_source(const char *root, struct source_file *f, struct strbuf *buf)
{
    char *full = xprintf("%s/%s", root, f->path);
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    free(full);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        diag_add(&f->result.diags, DIAG_WARNING, f->path, whole_file, "cannot read: %s; left out",
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    file_stat_from(&f->st, &st);
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        diag_add(&f->result.diags, DIAG_WARNING, f->path, whole_file,
                 "not a regular file; left out");
        return -1;
    }
    if (st.st_size > MAX_SOURCE_SIZE) {
        close(fd);
        diag_add(&f->result.diags, DIAG_WARNING, f->path, whole_file,
                 "file is %.1f MB, over the %d MB stau reads; left out",
                 (double)st.st_size / (1 << 20), MAX_SOURCE_SIZE >> 20);
        diag_hint(&f->result.diags, "a job file this large is unusual; move data out of the code");
        return -1;
    }
    strbuf_reset(buf);
    strbuf_grow(buf, (size_t)st.st_size + 1);
    int rc = strbuf_read_fd(buf, fd);
    if (rc < 0)
        diag_add(&f->result.diags, DIAG_WARNING, f->path, whole_file, "cannot read: %s; left out",
                 strerror(errno));
    close(fd);
    return rc;
}

static void read_one(struct readers *rd, struct scanner *sc, size_t index, struct strbuf *buf)
{
    struct project *p = rd->p;
    struct source_file *f = &p->files.items[index];
    struct source_file *old = rd->previous[index];
    if (read_source(p->root, f, buf) < 0)
        return;
    f->hash = hash_bytes(buf->buf, buf->len);
    if (old && hash_equal(old->hash, f->hash)) {
        /* Only the stat data moved (a touch): keep what the content gave before. */
        f->result = old->result;
        memset(&old->result, 0, sizeof(old->result));
        return;
    }
    atomic_fetch_add(&rd->parsed, 1);
    if (memchr(buf->buf, '\0', buf->len)) {
        diag_add(&f->result.diags, DIAG_WARNING, f->path, whole_file,
                 "contains NUL bytes, so it is not Python source (a binary file?); left out");
        return;
    }
    /* Python ends lines at a lone CR too; tree-sitter and the messages count only LF.
     * Same length, so every offset stays valid. */
    for (char *cr = memchr(buf->buf, '\r', buf->len); cr;
         cr = memchr(cr + 1, '\r', buf->len - (size_t)(cr + 1 - buf->buf)))
        if (cr + 1 == buf->buf + buf->len || cr[1] != '\n')
            *cr = '\n';
    if (strcmp(f->path, p->timetable_path) == 0)
        scanner_scan_timetable(sc, f->path, buf->buf, buf->len, &f->result);
    else
        scanner_scan(sc, f->path, p->job_names[index], buf->buf, buf->len, &f->result);
}

static void *reader_main(void *arg)
{
    struct readers *rd = arg;
    struct scanner *sc = scanner_new();
    if (!sc)
        fatal("cannot start the Python reader");
    struct strbuf buf = STRBUF_INIT;
    for (;;) {
        size_t i = atomic_fetch_add(&rd->next, 1);
        if (i >= rd->todo_count)
            break;
        read_one(rd, sc, rd->todo[i], &buf);
    }
    strbuf_release(&buf);
    scanner_free(sc);
    return NULL;
}

static void read_files(struct readers *rd, int threads)
{
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    /* A thread per 32 files at most: starting one costs more than reading a few. */
    size_t useful = rd->todo_count / 32 + 1;
    if ((size_t)threads > useful)
        threads = (int)useful;
    if (threads > 64)
        threads = 64;
    pthread_t tids[64];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tids[started], NULL, reader_main, rd) != 0)
            break; /* fewer threads only means slower */
        started++;
    }
    reader_main(rd);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* root/rel as a user would write it: "rel" when root is ".". */
static char *in_root(const char *root, const char *rel)
{
    return strcmp(root, ".") == 0 ? xstrdup(rel) : xprintf("%s/%s", root, rel);
}

/* root/.stau when it is a folder already, else NULL. */
static char *existing_state_dir(const char *root)
{
    char *dir = in_root(root, PATHS_STATE_DIR);
    if (is_dir(dir))
        return dir;
    free(dir);
    return NULL;
}

/* Make the state folder dir 0700 again when an earlier stau left it open to others
 * (only when it is ours: another user's project is theirs to mend). */
static void keep_private(const char *dir, struct diags *diags)
{
    static const struct loc nowhere = {0, 0, 0, 0};
    struct stat st;
    if (stat(dir, &st) == 0 && (st.st_mode & 077) && st.st_uid == geteuid() && chmod(dir, 0700) < 0)
        diag_add(diags, DIAG_WARNING, NULL, nowhere, "cannot make '%s' private: %s", dir,
                 strerror(errno));
}

/* Make root/.stau with its own .gitignore; NULL (after a warning in diags) when
 * it cannot be had: stau then works without a cache. The folder is 0700 and all
 * stau makes in it 0600 whatever the umask (as ssh and gpg keep theirs), for the
 * state database, logs, archives and graph cache hold kwargs; a .stau made open by
 * an earlier stau is closed here. */
static char *state_dir(const char *root, struct diags *diags)
{
    static const struct loc nowhere = {0, 0, 0, 0};
    char *dir = in_root(root, PATHS_STATE_DIR);
    struct stat st;
    if (mkdir(dir, 0700) < 0 && (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
        diag_add(diags, DIAG_WARNING, NULL, nowhere,
                 "cannot create '%s': %s; working without a cache", dir,
                 errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
        free(dir);
        return NULL;
    }
    keep_private(dir, diags);
    char *ignore = xprintf("%s/.gitignore", dir);
    if (access(ignore, F_OK) < 0) {
        static const char text[] = "# stau's state: never commit it\n*\n";
        /* O_EXCL: never through a link; another stau may have made it meanwhile. */
        int fd = state_file_create(ignore, O_CREAT | O_EXCL);
        bool ok = fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1);
        int saved = errno;
        if (fd < 0 && saved == EEXIST)
            ok = true;
        if ((fd >= 0 && close(fd) != 0) || !ok)
            diag_add(diags, DIAG_WARNING, NULL, nowhere, "cannot write '%s': %s", ignore,
                     strerror(ok ? errno : saved));
    }
    free(ignore);
    return dir;
}

/* "dir" with trailing slashes and leading "./" removed; "." for the current folder. */
static char *normalize_root(const char *dir)
{
    while (dir[0] == '.' && dir[1] == '/' && dir[2])
        dir += 2;
    char *s = xstrdup(dir[0] ? dir : ".");
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static int find_jobs_root(struct project *p, const struct project_options *opt)
{
    if (opt->jobs_dir) {
        if (opt->jobs_dir[0] == '/')
            return error("jobs folder '%s' must be inside the project, given relative to it",
                         opt->jobs_dir);
        p->jobs_root = normalize_root(opt->jobs_dir);
        if (strcmp(p->jobs_root, ".") == 0)
            p->jobs_root[0] = '\0'; /* the jobs root is named relative to the project */
        char *full = xprintf("%s/%s", p->root, p->jobs_root);
        bool ok = is_dir(full);
        free(full);
        if (!ok)
            return error("jobs folder '%s' does not exist in '%s'", opt->jobs_dir, p->root);
        return 0;
    }
    char *src = xprintf("%s/src", p->root);
    p->jobs_root = xstrdup(is_dir(src) ? "src" : "");
    free(src);
    return 0;
}

/* Pair the walked files with the cache's entries (both sorted by path). Files
 * whose stat data is unchanged, and not racily new, take the cached result;
 * the rest go to todo. Returns whether the cache needs rewriting. */
static bool take_from_cache(struct project *p, struct cache *cache, struct readers *rd,
                            struct strlist *gone)
{
    size_t k = 0, matched = 0;
    bool changed = false;
    for (size_t i = 0; i < p->files.len; i++) {
        struct source_file *f = &p->files.items[i];
        while (k < cache->files.len && strcmp(cache->files.items[k].path, f->path) < 0)
            VEC_PUSH(gone, cache->files.items[k++].path);
        struct source_file *old = NULL;
        if (k < cache->files.len && strcmp(cache->files.items[k].path, f->path) == 0) {
            old = &cache->files.items[k++];
            matched++;
        }
        /* Entries changed in the tick they were read in were saved smudged (see
         * smudge_racy), so equal stat data means the content is what was read. */
        if (old && file_stat_equal(&old->st, &f->st)) {
            f->hash = old->hash;
            f->result = old->result;
            memset(&old->result, 0, sizeof(old->result));
            continue;
        }
        rd->previous[i] = old;
        rd->todo[rd->todo_count++] = i;
        changed = true;
    }
    while (k < cache->files.len)
        VEC_PUSH(gone, cache->files.items[k++].path);
    return changed || matched != cache->files.len;
}

/* The filesystem's clock now: the mtime of a file touched in the state folder
 * (the machine's clock when there is none). Files are stamped by the same clock. */
static int64_t filesystem_now(const char *state_dir)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (!state_dir)
        return now;
    char *path = xprintf("%s/clock", state_dir);
    int fd = state_file_create(path, O_CREAT);
    free(path);
    struct stat st;
    if (fd >= 0 && futimens(fd, NULL) == 0 && fstat(fd, &st) == 0)
        now = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (fd >= 0)
        close(fd);
    return now;
}

/* A file whose mtime is not before the moment reading began may have changed
 * again within the same clock tick after it was read, with the same size: its
 * stat data then proves nothing. Save it smudged (an impossible mtime), so the
 * next run reads it again and compares content (git's racy-clean rule). */
static void smudge_racy(struct project *p, const struct readers *rd, int64_t read_start)
{
    for (size_t i = 0; i < rd->todo_count; i++) {
        struct source_file *f = &p->files.items[rd->todo[i]];
        if (f->st.mtime_ns >= read_start)
            f->st.mtime_ns = -1;
    }
}

/* Save what changed: appended to the cache when that is a small part of it,
 * otherwise the whole cache written anew. */
static void save_cache(struct project *p, const char *cache_path, const struct readers *rd,
                       const struct strlist *gone, struct diags *diags)
{
    const struct cache *c = &p->cache;
    size_t changes = rd->todo_count + gone->len;
    if (c->sections && !c->torn && c->sections < 16 && changes * 8 <= p->files.len) {
        const struct source_file **changed = xmalloc((rd->todo_count + 1) * sizeof(*changed));
        for (size_t i = 0; i < rd->todo_count; i++)
            changed[i] = &p->files.items[rd->todo[i]];
        int rc = cache_append(cache_path, changed, rd->todo_count, gone->items, gone->len);
        free(changed);
        if (rc == 0)
            return;
    }
    if (cache_write(cache_path, p->cache_key, p->files.items, p->files.len) < 0)
        diag_add(diags, DIAG_WARNING, NULL, whole_file,
                 "cannot save '%s': %s; the next run reads every file again", cache_path,
                 strerror(errno));
}

static void build_graph(struct project *p, struct decl *empty)
{
    VEC(struct graph_input) inputs = {0};
    for (size_t i = 0; i < p->files.len; i++) {
        const struct source_file *f = &p->files.items[i];
        if (!f->result.is_job)
            continue;
        if (!p->job_names[i]) {
            diag_add(&p->diags, DIAG_ERROR, f->path, f->result.decl_loc,
                     "the jobs root's own __init__.py cannot be a job");
            diag_hint(&p->diags, "move the declaration into a file of its own");
            continue;
        }
        const char *bad;
        size_t bad_len;
        if (!project_importable(p->jobs_root, f->path, &bad, &bad_len)) {
            /* The name as an identifier: what is not one becomes '_'. */
            struct strbuf fixed = STRBUF_INIT;
            if (!bad_len || (bad[0] >= '0' && bad[0] <= '9'))
                strbuf_addch(&fixed, '_');
            for (size_t k = 0; k < bad_len; k++) {
                char c = bad[k];
                bool keep = (unsigned char)c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') ||
                            (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                strbuf_addch(&fixed, keep ? c : '_');
            }
            diag_add(&p->diags, DIAG_WARNING, f->path, f->result.decl_loc,
                     "'%.*s' in its path is not a Python identifier, so Python cannot import "
                     "it; not a job",
                     (int)bad_len, bad);
            diag_hint(&p->diags,
                      "a job's path below the jobs root is made of identifiers (letters, digits "
                      "and '_', not starting with a digit): rename '%.*s' to '%s', say",
                      (int)bad_len, bad, fixed.buf);
            strbuf_release(&fixed);
            continue;
        }
        struct graph_input in = {p->job_names[i], f->path,
                                 f->result.has_decl ? &f->result.decl : empty, f->result.decl_loc,
                                 !f->result.ok};
        VEC_PUSH(&inputs, in);
    }
    graph_build(&p->graph, inputs.items, inputs.len, &p->diags);
    VEC_FREE(&inputs);
    for (size_t i = 0; i < p->files.len; i++) {
        const struct source_file *f = &p->files.items[i];
        if (f->result.is_timetable)
            graph_add_timetable(&p->graph, f->path, &f->result.timetable, &p->diags);
    }
    graph_check_policies(&p->graph, &p->diags);
    graph_mark_invalid(&p->graph, &p->diags);
}

static struct decl empty_decl;

/* What a cache is valid for: the jobs root, and the time zone database the
 * declarations' zones were checked against (TZDIR and its folder's mtime). */
static char *cache_key(const char *jobs_root)
{
    const char *tzdir = getenv("TZDIR");
    const char *dir = tzdir && *tzdir ? tzdir : "/usr/share/zoneinfo";
    struct stat st;
    long long mtime = stat(dir, &st) == 0 ? (long long)st.st_mtim.tv_sec : -1;
    /* [tool.stau]'s defaults are part of every declaration read. */
    return xprintf("%s\n%s %lld\nretries %lld retry_delay %.17g log_limit %lld", jobs_root, dir,
                   mtime, (long long)decl_defaults.retries, decl_defaults.retry_delay,
                   (long long)decl_defaults.log_limit);
}

/* Loading the cache on a thread of its own. */
struct cache_loader {
    const char *path;
    const char *jobs_root;
    struct cache *cache;
    struct strbuf why; /* why the cache was set aside, if it was */
    int rc;            /* cache_read's result */
};

static void *load_cache(void *arg)
{
    struct cache_loader *l = arg;
    l->rc = cache_read(l->path, l->jobs_root, l->cache, &l->why);
    return NULL;
}

int project_make_state_dir(const struct project *p)
{
    struct diags d = DIAGS_INIT;
    char *dir = state_dir(p->root, &d);
    struct diag_printer plain = {.root = p->root, .prefix = ""};
    diag_print_all(stderr, &plain, &d);
    diag_release(&d);
    free(dir);
    return dir ? 0 : -1;
}

int project_load(struct project *p, const struct project_options *opt)
{
    memset(p, 0, sizeof(*p));
    p->root = normalize_root(opt->dir ? opt->dir : ".");
    struct stat st;
    if (stat(p->root, &st) < 0)
        return error("cannot use '%s' as the project: %s", p->root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error("cannot use '%s' as the project: not a folder", p->root);
    if (find_jobs_root(p, opt) < 0)
        return -1;
    p->timetable_path =
        p->jobs_root[0] ? xprintf("%s/%s", p->jobs_root, TIMETABLE_FILE) : xstrdup(TIMETABLE_FILE);
    struct diags state_diags = DIAGS_INIT;
    /* .stau/ is made only once there is a job to record (below). */
    char *dir = existing_state_dir(p->root);
    if (dir)
        keep_private(dir, &state_diags);
    char *cache_path = dir ? xprintf("%s/graph.cache", dir) : NULL;
    struct cache *cache = &p->cache;
    /* Load the cache while the tree is walked: the two do not depend on each other. */
    p->cache_key = cache_key(p->jobs_root);
    struct cache_loader loader = {cache_path, p->cache_key, cache, STRBUF_INIT, -1};
    pthread_t loader_thread;
    bool loading = cache_path && pthread_create(&loader_thread, NULL, load_cache, &loader) == 0;
    if (cache_path && !loading)
        load_cache(&loader);

    struct walk_result walk = {0};
    struct diags walk_diags = DIAGS_INIT;
    int walked = walk_python_files(p->root, p->jobs_root, &walk, &walk_diags);
    if (loading && pthread_join(loader_thread, NULL) != 0)
        fatal("cannot join the cache loader");
    if (loader.rc < 0 && loader.why.len)
        diag_add(&state_diags, DIAG_WARNING, NULL, whole_file, "ignoring '%s': %s; rebuilding it",
                 cache_path, loader.why.buf);
    strbuf_release(&loader.why);
    if (walked < 0) {
        free(cache_path);
        free(dir);
        diag_release(&walk_diags);
        diag_release(&state_diags);
        return -1;
    }
    p->job_names = xcalloc(walk.files.len + 1, sizeof(char *));
    p->files.items = xmalloc((walk.files.len + 1) * sizeof(struct source_file));
    p->files.cap = walk.files.len + 1;
    for (size_t i = 0; i < walk.files.len; i++) {
        struct source_file f = {0};
        f.path = walk.files.items[i].path; /* ownership moves to the project */
        f.st = walk.files.items[i].st;
        VEC_PUSH(&p->files, f);
        p->job_names[i] = project_job_name(p->jobs_root, f.path);
    }
    VEC_FREE(&walk.files);

    struct readers rd = {p,
                         xcalloc(p->files.len + 1, sizeof(struct source_file *)),
                         xmalloc((p->files.len + 1) * sizeof(size_t)),
                         0,
                         0,
                         0};
    struct strlist gone = {0}; /* paths borrowed from the cache */
    bool changed = take_from_cache(p, cache, &rd, &gone);
    int64_t read_start = rd.todo_count ? filesystem_now(dir) : 0;
    read_files(&rd, opt->threads);
    smudge_racy(p, &rd, read_start);
    p->files_read = rd.todo_count;
    p->files_parsed = atomic_load(&rd.parsed);
    if (!dir) {
        bool has_job = false;
        for (size_t i = 0; i < p->files.len && !has_job; i++)
            has_job = p->files.items[i].result.is_job;
        if (has_job && (dir = state_dir(p->root, &state_diags)) != NULL) {
            cache_path = xprintf("%s/graph.cache", dir);
            changed = true;
        }
    }
    if (changed && cache_path)
        save_cache(p, cache_path, &rd, &gone, &state_diags);
    VEC_FREE(&gone);
    free(rd.previous);
    free(rd.todo);
    free(cache_path);
    free(dir);

    diag_append(&p->diags, &state_diags);
    diag_release(&state_diags);
    diag_append(&p->diags, &walk_diags);
    diag_release(&walk_diags);
    for (size_t i = 0; i < p->files.len; i++)
        diag_append(&p->diags, &p->files.items[i].result.diags);
    build_graph(p, &empty_decl);
    p->paths = xmalloc((p->files.len + 1) * sizeof(char *));
    for (size_t i = 0; i < p->files.len; i++)
        p->paths[i] = p->files.items[i].path;
    import_index_init(&p->imports, p->jobs_root, p->paths, p->files.len);
    return 0;
}

void project_release(struct project *p)
{
    import_index_release(&p->imports);
    free(p->paths);
    graph_release(&p->graph);
    for (size_t i = 0; i < p->files.len; i++) {
        source_file_release(&p->files.items[i]);
        free(p->job_names[i]);
    }
    VEC_FREE(&p->files);
    free(p->job_names);
    diag_release(&p->diags);
    cache_release(&p->cache);
    free(p->root);
    free(p->jobs_root);
    free(p->cache_key);
    free(p->timetable_path);
}

struct hash128 project_sources_hash(const struct project *p)
{
    struct hash_stream *state = hash_stream_new();
    hash_stream_add_str(state, p->jobs_root);
    for (size_t i = 0; i < p->files.len; i++) {
        const struct source_file *f = &p->files.items[i];
        hash_stream_add_str(state, f->path);
        hash_stream_add(state, &f->hash, sizeof(f->hash));
    }
    return hash_stream_finish(state);
}

void project_load_imports(struct project *p)
{
    size_t damaged = 0;
    for (size_t i = 0; i < p->files.len; i++)
        if (cache_decode_imports(&p->cache, &p->files.items[i].result) < 0)
            damaged++;
    if (damaged) {
        /* Imports missing now would make code fingerprints wrong: the cache goes,
         * and the next run reads every file again. */
        char *path = paths_state_file(p->root, "graph.cache");
        warn("'%s' holds imports this stau cannot read; it is removed, run again", path);
        if (unlink(path) < 0)
            warn("cannot remove '%s':", path);
        free(path);
    }
}

void project_code_files(const struct project *p, size_t job, struct sizelist *out)
{
    size_t start;
    const char *path = p->graph.jobs.items[job].path;
    if (!strmap_get(&p->imports.by_path, path, strlen(path), &start))
        return;
    VEC_PUSH(out, start);
    /* Breadth first over the import graph; closures are small, so a linear
     * membership test beats allocating a set per job. */
    for (size_t k = 0; k < out->len; k++) {
        const struct source_file *f = &p->files.items[out->items[k]];
        struct sizelist found = {0};
        for (size_t i = 0; i < f->result.imports.len; i++)
            import_resolve(&p->imports, f->path, &f->result.imports.items[i], &found);
        for (size_t i = 0; i < found.len; i++) {
            bool seen = false;
            for (size_t j = 0; j < out->len && !seen; j++)
                seen = out->items[j] == found.items[i];
            if (!seen)
                VEC_PUSH(out, found.items[i]);
        }
        VEC_FREE(&found);
    }
}

static int by_index_path(const void *a, const void *b, void *paths)
{
    char *const *names = paths;
    return strcmp(names[*(const size_t *)a], names[*(const size_t *)b]);
}

struct hash128 project_code_fingerprint(const struct project *p, size_t job)
{
    struct sizelist files = {0};
    project_code_files(p, job, &files);
    qsort_r(files.items, files.len, sizeof(size_t), by_index_path, p->paths);
    const char **paths = xmalloc((files.len + 1) * sizeof(char *));
    struct hash128 *hashes = xmalloc((files.len + 1) * sizeof(struct hash128));
    for (size_t i = 0; i < files.len; i++) {
        paths[i] = p->files.items[files.items[i]].path;
        hashes[i] = p->files.items[files.items[i]].result.code_hash;
    }
    struct hash128 h = fingerprint_combine(paths, hashes, files.len);
    free(paths);
    free(hashes);
    VEC_FREE(&files);
    return h;
}

void project_release_at_exit(struct project *p)
{
#ifdef STAU_FREE_AT_EXIT
    project_release(p);
#else
    (void)p;
#endif
}

/* The first line of a small file, without its line end; NULL when unreadable or empty. */
static char *first_line(const char *dir, const char *name)
{
    char *path = xprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return NULL;
    char line[1024];
    char *got = fgets(line, sizeof(line), f) ? line : NULL;
    fclose(f);
    if (!got)
        return NULL;
    line[strcspn(line, "\r\n")] = '\0';
    return line[0] ? xstrdup(line) : NULL;
}

/* The git folder of the checkout holding root: "<dir>/.git" of root or of the
 * nearest folder above it that has one, a folder, or a file saying "gitdir: PATH"
 * (a worktree, a submodule). NULL: not in a git checkout. With prefix, *prefix gets
 * root's path below that <dir> ("" or "a/b/"). */
static char *git_dir(const char *root, char **prefix)
{
    char *real = realpath(root, NULL);
    char *dir = real ? xstrdup(real) : NULL;
    while (dir && dir[0]) {
        char *dot_git = xprintf("%s/.git", dir);
        struct stat st;
        if (stat(dot_git, &st) == 0) {
            char *found = NULL;
            if (S_ISDIR(st.st_mode)) {
                found = xstrdup(dot_git);
            } else {
                char *link = first_line(dir, ".git");
                if (link && starts_with(link, "gitdir: "))
                    found = link[8] == '/' ? xstrdup(link + 8) : xprintf("%s/%s", dir, link + 8);
                free(link);
            }
            free(dot_git);
            if (found && prefix) {
                size_t len = strlen(dir);
                *prefix = real[len] ? xprintf("%s/", real + len + 1) : xstrdup("");
            }
            free(dir);
            free(real);
            return found;
        }
        free(dot_git);
        char *slash = strrchr(dir, '/');
        *(slash ? slash : dir) = '\0';
    }
    free(dir);
    free(real);
    return NULL;
}

/* The commit a ref ("refs/heads/main") names: a loose ref in the worktree's own
 * folder or the common one, else a line "<sha> <ref>" of the common packed-refs. */
static char *resolve_ref(const char *git, const char *common, const char *ref)
{
    char *commit = first_line(git, ref);
    if (!commit && strcmp(git, common) != 0)
        commit = first_line(common, ref);
    if (commit)
        return commit;
    char *packed_path = xprintf("%s/packed-refs", common);
    FILE *packed = fopen(packed_path, "r");
    free(packed_path);
    char entry[1200];
    while (packed && !commit && fgets(entry, sizeof(entry), packed)) {
        entry[strcspn(entry, "\r\n")] = '\0';
        char *space = strchr(entry, ' ');
        if (entry[0] != '#' && space && strcmp(space + 1, ref) == 0) {
            *space = '\0';
            commit = xstrdup(entry);
        }
    }
    if (packed)
        fclose(packed);
    return commit;
}

char *project_git_prefix(const char *root)
{
    char *prefix = NULL;
    free(git_dir(root, &prefix));
    return prefix;
}

char *project_git_commit(const char *root)
{
    char *git = git_dir(root, NULL);
    if (!git)
        return NULL;
    char *head = first_line(git, "HEAD");
    /* A worktree's folder names the main one (refs, packed-refs) in "commondir". */
    char *common_rel = first_line(git, "commondir");
    char *common = !common_rel            ? xstrdup(git)
                   : common_rel[0] == '/' ? xstrdup(common_rel)
                                          : xprintf("%s/%s", git, common_rel);
    char *commit = NULL;
    if (head && starts_with(head, "ref: "))
        commit = resolve_ref(git, common, head + 5);
    else if (head)
        commit = xstrdup(head); /* detached */
    free(common);
    free(common_rel);
    free(head);
    free(git);
    return commit;
}
