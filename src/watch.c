/* watch.c: inotify for stau serve (see watch.h). */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* What counts as a change: a file written and closed, moved in or out, made or removed. */
#define WATCH_EVENTS                                                                               \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF)

int watch_open(struct watch *w)
{
    *w = (struct watch)WATCH_INIT;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0)
        return error("cannot watch files for changes:");
    return 0;
}

/* A name the walk passes over (walk.c's rules for the folders that hold no jobs). */
static bool ignored(const char *name)
{
    return name[0] == '.' || strcmp(name, "__pycache__") == 0 ||
           strcmp(name, "site-packages") == 0 || strcmp(name, "node_modules") == 0;
}

/* Whether dir is a virtual environment (it holds pyvenv.cfg). */
static bool is_venv(const char *dir)
{
    char *cfg = xprintf("%s/pyvenv.cfg", dir);
    bool venv = access(cfg, F_OK) == 0;
    free(cfg);
    return venv;
}

void watch_add(struct watch *w, const char *dir, bool tree)
{
    if (w->fd < 0)
        return;
    int wd = inotify_add_watch(w->fd, dir, WATCH_EVENTS | IN_ONLYDIR | (tree ? 0 : IN_DONT_FOLLOW));
    if (wd < 0) {
        if (errno == ENOSPC)
            warn("cannot watch '%s' for changes: the inotify watch limit is reached "
                 "(fs.inotify.max_user_watches)",
                 dir);
        return;
    }
    while (w->paths.len <= (size_t)wd)
        VEC_PUSH(&w->paths, NULL);
    /* inotify gives the same descriptor for a folder watched twice. */
    if (w->paths.items[wd] && !tree)
        return;
    free(w->paths.items[wd]);
    /* A trailing mark says "watch new folders below this one too". */
    w->paths.items[wd] = xprintf("%s%s", dir, tree ? "/" : "");
    if (!tree)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (ignored(entry->d_name) || (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN))
            continue;
        char *sub = xprintf("%s/%s", dir, entry->d_name);
        struct stat st;
        bool folder = entry->d_type == DT_DIR ||
                      (entry->d_type == DT_UNKNOWN && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode));
        if (folder && !is_venv(sub))
            watch_add(w, sub, true);
        free(sub);
    }
    closedir(d);
}

int watch_drain(struct watch *w)
{
    if (w->fd < 0)
        return 0;
    int changes = 0;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (char *at = buf; at < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)at;
            at += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                changes++;
                continue;
            }
            const char *dir =
                ev->wd >= 0 && (size_t)ev->wd < w->paths.len ? w->paths.items[ev->wd] : NULL;
            if (!dir)
                continue;
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) {
                if (ev->mask & IN_DELETE_SELF)
                    changes++;
                if (ev->mask & IN_IGNORED) { /* the watch is gone: so is its folder's entry */
                    free(w->paths.items[ev->wd]);
                    w->paths.items[ev->wd] = NULL;
                }
                continue;
            }
            if (ev->len && ignored(ev->name))
                continue;
            changes++;
            size_t len = strlen(dir);
            if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && len &&
                dir[len - 1] == '/') {
                char *sub = xprintf("%s%s", dir, ev->name);
                watch_add(w, sub, true);
                free(sub);
            }
        }
    }
    return changes;
}

void watch_close(struct watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->paths.len; i++)
        free(w->paths.items[i]);
    VEC_FREE(&w->paths);
    *w = (struct watch)WATCH_INIT;
}
