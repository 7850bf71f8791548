/* walk.c: finding the Python files below the jobs root. */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A folder being walked, to notice a symlink leading back to it. */
struct visit {
    uint64_t device, inode;
};

struct walker {
    const char *root;
    struct walk_result *out;
    struct diags *diags;
    VEC(struct visit) visited; /* every folder entered, so none is entered twice */
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

static bool already_visited(struct walker *w, const struct stat *s)
{
    for (size_t i = 0; i < w->visited.len; i++)
        if (w->visited.items[i].device == (uint64_t)s->st_dev &&
            w->visited.items[i].inode == (uint64_t)s->st_ino)
            return true;
    return false;
}

/* Walk the folder open at fd, whose path relative to the root is rel ("" at the top). */
static void walk_dir(struct walker *w, int fd, const char *rel)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        diag_add(w->diags, DIAG_WARNING, rel[0] ? rel : ".", no_loc,
                 "cannot read folder: %s; its jobs are left out", strerror(errno));
        close(fd);
        return;
    }
    /* A virtual environment marks itself with pyvenv.cfg. */
    if (faccessat(fd, "pyvenv.cfg", F_OK, 0) == 0) {
        closedir(d);
        return;
    }
    VEC(char *) subdirs = {0};
    struct dirent *e;
    while ((errno = 0, e = readdir(d))) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        bool is_py = ends_with(name, ".py");
        if (e->d_type == DT_DIR) {
            if (!skipped_folder(name))
                VEC_PUSH(&subdirs, xstrdup(name));
            continue;
        }
        if (!is_py && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN)
            continue;
        char *path = rel[0] ? xprintf("%s/%s", rel, name) : xstrdup(name);
        struct stat s;
        if (fstatat(fd, name, &s, 0) < 0) {
            if (is_py)
                diag_add(w->diags, DIAG_WARNING, path, no_loc,
                         "cannot read: %s; left out", strerror(errno));
            free(path);
            continue;
        }
        if (S_ISDIR(s.st_mode)) {
            if (!skipped_folder(name))
                VEC_PUSH(&subdirs, xstrdup(name));
            free(path);
            continue;
        }
        if (!is_py) {
            free(path);
            continue;
        }
        if (!S_ISREG(s.st_mode)) {
            diag_add(w->diags, DIAG_WARNING, path, no_loc, "not a regular file; left out");
            free(path);
            continue;
        }
        struct walk_file f = {path, {0}};
        file_stat_from(&f.st, &s);
        VEC_PUSH(&w->out->files, f);
    }
    if (errno)
        diag_add(w->diags, DIAG_WARNING, rel[0] ? rel : ".", no_loc,
                 "cannot list folder: %s; some jobs may be left out", strerror(errno));
    for (size_t i = 0; i < subdirs.len; i++) {
        char *name = subdirs.items[i];
        char *path = rel[0] ? xprintf("%s/%s", rel, name) : xstrdup(name);
        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat s;
        if (sub < 0 || fstat(sub, &s) < 0) {
            diag_add(w->diags, DIAG_WARNING, path, no_loc,
                     "cannot read folder: %s; its jobs are left out", strerror(errno));
            if (sub >= 0)
                close(sub);
        } else if (already_visited(w, &s)) {
            struct stat ls;
            bool link = fstatat(fd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode);
            diag_add(w->diags, DIAG_WARNING, path, no_loc,
                     link ? "symlink leads to a folder already walked (a loop?); not followed"
                          : "folder reached twice; walked once");
            close(sub);
        } else {
            struct visit v = {(uint64_t)s.st_dev, (uint64_t)s.st_ino};
            VEC_PUSH(&w->visited, v);
            walk_dir(w, sub, path);
        }
        free(path);
        free(name);
    }
    VEC_FREE(&subdirs);
    closedir(d);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct walk_file *)a)->path, ((const struct walk_file *)b)->path);
}

int walk_python_files(const char *root, const char *dir, struct walk_result *out,
                      struct diags *diags)
{
    struct walker w = {root, out, diags, {0}};
    char *top = dir[0] ? xprintf("%s/%s", root, dir) : xstrdup(root);
    int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat s;
    if (fd < 0 || fstat(fd, &s) < 0) {
        error("cannot open jobs folder '%s':", top);
        free(top);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    free(top);
    struct visit v = {(uint64_t)s.st_dev, (uint64_t)s.st_ino};
    VEC_PUSH(&w.visited, v);
    walk_dir(&w, fd, dir);
    VEC_FREE(&w.visited);
    qsort(out->files.items, out->files.len, sizeof(out->files.items[0]), by_path);
    return 0;
}

void walk_release(struct walk_result *w)
{
    for (size_t i = 0; i < w->files.len; i++)
        free(w->files.items[i].path);
    VEC_FREE(&w->files);
}
