/* walk.c: finding the Python files below the jobs root. Folders are read by a
 * small pool of threads sharing one queue: stat-ing every file is most of what
 * a warm run costs, and the kernel does it in parallel. */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A folder's identity, to notice a symlink leading back to one already walked. */
struct visit {
    uint64_t device, inode;
};

/* State shared by the walking threads; everything but root_fd is guarded by lock. */
struct walker {
    int root_fd; /* the project root, which folder paths are relative to */
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* signalled when work arrives or the walk ends */
    VEC(char *) pending;       /* folders (relative paths) waiting to be read */
    size_t busy;               /* threads reading a folder now */
    VEC(struct visit) visited; /* every folder queued, so none is walked twice */
    VEC(char *)
    linked;                  /* symlinks to folders, walked after every real folder so a
                                link never takes a real folder's place (or name) */
    struct walk_result *out; /* files found */
    struct diags *diags;     /* problems found */
    const char *root;        /* the project root as given */
    char *inside[2];         /* real paths a followed link may lead into: the project's
                                and the jobs folder's (itself perhaps a link); NULL: unknown */
};

void file_stat_from(struct file_stat *st, const struct stat *s)
{
    st->mtime_ns = (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec;
    st->ctime_ns = (int64_t)s->st_ctim.tv_sec * 1000000000 + s->st_ctim.tv_nsec;
    st->size = (uint64_t)s->st_size;
    st->inode = (uint64_t)s->st_ino;
    st->device = (uint64_t)s->st_dev;
}

bool file_stat_equal(const struct file_stat *a, const struct file_stat *b)
{
    return a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns && a->size == b->size &&
           a->inode == b->inode && a->device == b->device;
}

static bool skipped_folder(const char *name)
{
    return name[0] == '.' || strcmp(name, "__pycache__") == 0 ||
           strcmp(name, "site-packages") == 0 || strcmp(name, "node_modules") == 0;
}

static const struct loc no_loc = {0, 0, 0, 0};

/* "rel/name", or "name" at the top. */
static char *join(const char *rel, const char *name)
{
    size_t a = strlen(rel), b = strlen(name);
    char *p = xmalloc(a + b + 2);
    if (a) {
        memcpy(p, rel, a);
        p[a++] = '/';
    }
    memcpy(p + a, name, b + 1);
    return p;
}

/* What one thread found while reading folders. */
struct finds {
    VEC(struct walk_file) files;
    struct diags diags;
    VEC(char *) subdirs; /* names of sub-folders of the folder being read */
    VEC(char *) links;   /* names of symlinks to folders in it */
};

/* Queue the sub-folder `name` of the folder open at fd (path rel), unless walked already. */
static void queue_folder(struct walker *w, struct finds *f, int fd, const char *rel,
                         const char *name)
{
    char *path = join(rel, name);
    struct stat s;
    if (fstatat(fd, name, &s, 0) < 0) {
        diag_add(&f->diags, DIAG_WARNING, path, no_loc,
                 "cannot read folder: %s; its jobs are left out", strerror(errno));
        free(path);
        return;
    }
    pthread_mutex_lock(&w->lock);
    bool seen = false;
    for (size_t i = 0; i < w->visited.len && !seen; i++)
        seen = w->visited.items[i].device == (uint64_t)s.st_dev &&
               w->visited.items[i].inode == (uint64_t)s.st_ino;
    if (!seen) {
        struct visit v = {(uint64_t)s.st_dev, (uint64_t)s.st_ino};
        VEC_PUSH(&w->visited, v);
        VEC_PUSH(&w->pending, path);
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    if (seen) {
        struct stat ls;
        bool link = fstatat(fd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode);
        diag_add(&f->diags, DIAG_WARNING, path, no_loc,
                 link ? "symlink leads to a folder already walked (a loop?); not followed"
                      : "folder reached twice; walked once");
        free(path);
    }
}

/* A name with control characters or bytes that are not UTF-8 (a newline, ESC[2J)
 * names no job Python could import, and printed it would drive the terminal: a
 * .py file or a folder so named is left out, told with the name escaped. */
static void skip_unprintable(struct finds *f, const char *rel, const char *name, bool folder)
{
    if (!folder && !ends_with(name, ".py"))
        return;
    struct strbuf path = STRBUF_INIT;
    if (rel[0]) {
        strbuf_addstr(&path, rel);
        strbuf_addch(&path, '/');
    }
    strbuf_add_printable(&path, name, strlen(name));
    diag_add(&f->diags, DIAG_WARNING, path.buf, no_loc,
             "the name holds control characters or bytes that are not UTF-8; %s (a job's "
             "name must be one Python can import)",
             folder ? "not searched" : "left out");
    strbuf_release(&path);
}

/* Read the folder at rel: note its Python files, queue its sub-folders. */
static void read_folder(struct walker *w, struct finds *f, const char *rel)
{
    int fd = openat(w->root_fd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        diag_add(&f->diags, DIAG_WARNING, rel[0] ? rel : ".", no_loc,
                 "cannot read folder: %s; its jobs are left out", strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    /* A virtual environment marks itself with pyvenv.cfg. */
    if (faccessat(fd, "pyvenv.cfg", F_OK, 0) == 0) {
        closedir(d);
        return;
    }
    struct dirent *e;
    while ((errno = 0, e = readdir(d))) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (needs_escape(name, strlen(name))) {
            skip_unprintable(f, rel, name, e->d_type == DT_DIR);
            continue;
        }
        if (e->d_type == DT_DIR) {
            if (!skipped_folder(name))
                VEC_PUSH(&f->subdirs, xstrdup(name));
            continue;
        }
        bool is_py = ends_with(name, ".py");
        if (!is_py && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN)
            continue;
        struct stat s;
        if (fstatat(fd, name, &s, 0) < 0) {
            if (is_py) {
                char *path = join(rel, name);
                diag_add(&f->diags, DIAG_WARNING, path, no_loc, "cannot read: %s; left out",
                         strerror(errno));
                free(path);
            }
            continue;
        }
        if (S_ISDIR(s.st_mode)) {
            struct stat ls;
            bool link = e->d_type == DT_LNK ||
                        (fstatat(fd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode));
            if (skipped_folder(name))
                continue;
            if (link)
                VEC_PUSH(&f->links, xstrdup(name));
            else
                VEC_PUSH(&f->subdirs, xstrdup(name));
            continue;
        }
        if (!is_py)
            continue;
        char *path = join(rel, name);
        if (!S_ISREG(s.st_mode)) {
            diag_add(&f->diags, DIAG_WARNING, path, no_loc, "not a regular file; left out");
            free(path);
            continue;
        }
        struct walk_file file = {path, {0}};
        file_stat_from(&file.st, &s);
        VEC_PUSH(&f->files, file);
    }
    if (errno)
        diag_add(&f->diags, DIAG_WARNING, rel[0] ? rel : ".", no_loc,
                 "cannot list folder: %s; some jobs may be left out", strerror(errno));
    for (size_t i = 0; i < f->subdirs.len; i++) {
        queue_folder(w, f, fd, rel, f->subdirs.items[i]);
        free(f->subdirs.items[i]);
    }
    f->subdirs.len = 0;
    if (f->links.len) {
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < f->links.len; i++) {
            VEC_PUSH(&w->linked, join(rel, f->links.items[i]));
            free(f->links.items[i]);
        }
        pthread_mutex_unlock(&w->lock);
    }
    f->links.len = 0;
    closedir(d);
}

static void *walk_main(void *arg)
{
    struct walker *w = arg;
    struct finds f = {{0}, DIAGS_INIT, {0}, {0}};
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->pending.len && w->busy)
            pthread_cond_wait(&w->wake, &w->lock);
        if (!w->pending.len)
            break; /* nothing queued and nobody reading: the walk is over */
        char *rel = w->pending.items[--w->pending.len];
        w->busy++;
        pthread_mutex_unlock(&w->lock);
        read_folder(w, &f, rel);
        free(rel);
        pthread_mutex_lock(&w->lock);
        w->busy--;
    }
    pthread_cond_broadcast(&w->wake);
    for (size_t i = 0; i < f.files.len; i++)
        VEC_PUSH(&w->out->files, f.files.items[i]);
    diag_append(w->diags, &f.diags);
    pthread_mutex_unlock(&w->lock);
    VEC_FREE(&f.files);
    VEC_FREE(&f.subdirs);
    VEC_FREE(&f.links);
    diag_release(&f.diags);
    return NULL;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run the threads until no folder is left to read. */
static void walk_all(struct walker *w)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    pthread_t tids[4];
    int started = 0;
    for (int t = 1; t < (cpus > 4 ? 4 : cpus); t++)
        if (pthread_create(&tids[started], NULL, walk_main, w) == 0)
            started++;
    walk_main(w);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}

/* Whether real is path or below it. */
static bool below(const char *real, const char *path)
{
    size_t n = strlen(path);
    if (n == 1 && path[0] == '/')
        return true;
    return strncmp(real, path, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* Whether the link at rel (a folder path below the root) leads into the project. A
 * link out of it (to /, /proc/self, a home folder) is not followed, as git does not:
 * walking it could mean the whole file system. */
static bool link_stays_inside(const struct walker *w, const char *rel)
{
    if (!w->inside[0])
        return true; /* the root's real path is unknown: loops are still caught */
    char *path = join(w->root, rel);
    char real[PATH_MAX];
    bool resolved = realpath(path, real) != NULL;
    free(path);
    if (!resolved)
        return true; /* reading it fails too, and says why */
    for (int i = 0; i < 2; i++)
        if (w->inside[i] && below(real, w->inside[i]))
            return true;
    return false;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct walk_file *)a)->path, ((const struct walk_file *)b)->path);
}

static int diag_by_path(const void *a, const void *b)
{
    const struct diag *x = a, *y = b;
    return strcmp(x->path ? x->path : "", y->path ? y->path : "");
}

int walk_python_files(const char *root, const char *dir, struct walk_result *out,
                      struct diags *diags)
{
    struct walker w = {0};
    w.root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *top = dir[0] ? join(root, dir) : xstrdup(root);
    struct stat s;
    if (w.root_fd < 0 || fstatat(w.root_fd, dir[0] ? dir : ".", &s, 0) < 0 || !S_ISDIR(s.st_mode)) {
        if (!errno)
            errno = ENOTDIR;
        error("cannot open jobs folder '%s':", top);
        free(top);
        if (w.root_fd >= 0)
            close(w.root_fd);
        return -1;
    }
    free(top);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.wake, NULL);
    w.out = out;
    w.root = root;
    w.inside[0] = realpath(root, NULL);
    if (dir[0]) {
        char *jobs = join(root, dir);
        w.inside[1] = realpath(jobs, NULL);
        free(jobs);
    }
    struct diags found = DIAGS_INIT;
    w.diags = &found;
    struct visit v = {(uint64_t)s.st_dev, (uint64_t)s.st_ino};
    VEC_PUSH(&w.visited, v);
    VEC_PUSH(&w.pending, xstrdup(dir));
    walk_all(&w);
    /* Then the symlinked folders, in name order, each unless its target was walked. */
    while (w.linked.len) {
        qsort(w.linked.items, w.linked.len, sizeof(char *), by_string);
        struct finds f = {{0}, DIAGS_INIT, {0}, {0}};
        size_t count = w.linked.len;
        char **links = w.linked.items;
        w.linked.items = NULL;
        w.linked.len = w.linked.cap = 0;
        for (size_t i = 0; i < count; i++) {
            if (!link_stays_inside(&w, links[i])) {
                diag_add(&f.diags, DIAG_WARNING, links[i], no_loc,
                         "a link to a folder outside the project; not followed");
                free(links[i]);
                continue;
            }
            char *slash = strrchr(links[i], '/');
            char *parent = slash ? xstrndup(links[i], (size_t)(slash - links[i])) : xstrdup("");
            int pfd =
                openat(w.root_fd, parent[0] ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd >= 0) {
                queue_folder(&w, &f, pfd, parent, slash ? slash + 1 : links[i]);
                close(pfd);
            }
            free(parent);
            free(links[i]);
        }
        free(links);
        diag_append(&found, &f.diags);
        diag_release(&f.diags);
        walk_all(&w);
    }
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.wake);
    VEC_FREE(&w.visited);
    VEC_FREE(&w.pending);
    VEC_FREE(&w.linked);
    free(w.inside[0]);
    free(w.inside[1]);
    close(w.root_fd);
    /* Threads finish in any order; the caller sees the same order every time. */
    if (out->files.len)
        qsort(out->files.items, out->files.len, sizeof(out->files.items[0]), by_path);
    if (found.items.len)
        qsort(found.items.items, found.items.len, sizeof(found.items.items[0]), diag_by_path);
    diag_append(diags, &found);
    diag_release(&found);
    return 0;
}

void walk_release(struct walk_result *w)
{
    for (size_t i = 0; i < w->files.len; i++)
        free(w->files.items[i].path);
    VEC_FREE(&w->files);
}
