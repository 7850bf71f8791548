/* watch.h: noticing changes to files while stau serve sleeps; the only user of
 * inotify. Folders are watched (not files: an editor saving by rename replaces the
 * file), the jobs root with every folder below it that the walk would visit, and
 * the folders holding declared inputs. */
#ifndef STAU_WATCH_H
#define STAU_WATCH_H

#include <stdbool.h>

#include "util.h"

/* The watched folders. */
struct watch {
    int fd;            /* the inotify descriptor (poll it for POLLIN); -1: none */
    VEC(char *) paths; /* paths[wd]: the folder of watch descriptor wd, or NULL */
};
#define WATCH_INIT                                                                                 \
    {                                                                                              \
        .fd = -1                                                                                   \
    }

/* Open the inotify descriptor; -1 after a message. */
int watch_open(struct watch *w);
/* Watch dir and, when tree, every folder below it that holds jobs (not hidden ones,
 * __pycache__, virtual environments or site-packages). A folder already watched, or
 * missing, is passed over silently. */
void watch_add(struct watch *w, const char *dir, bool tree);
/* Read what is pending without blocking: the number of changes that matter (not in
 * __pycache__, not hidden names). A new folder below a watched tree is watched too. */
int watch_drain(struct watch *w);
/* Close the descriptor and forget the folders. */
void watch_close(struct watch *w);

#endif
