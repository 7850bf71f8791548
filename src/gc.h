/* gc.h: removing old archives, and the logs that archives hold (`stau gc`), in time
 * and memory that follow what is on disk, not the length of the run history. */
#ifndef STAU_GC_H
#define STAU_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* The most runs gc reads in one request when none is asked for. */
enum { GC_BATCH_DEFAULT = 1000 };

/* What gc keeps, and how it reads. */
struct gc_options {
    int64_t older_than; /* only runs that finished before this (unix ms) lose files;
                           INT64_MAX: any age */
    size_t keep_last;   /* each job's newest runs with an archive keep it */
    bool dry_run;       /* say what would go, remove nothing */
    size_t batch;       /* the most runs read in one request (0: GC_BATCH_DEFAULT) */
    const char *host;   /* this host's name: runs of others keep their archives in their
                           own .stau/ (NULL: every run's would be here) */
};

/* What gc did. */
struct gc_result {
    size_t archives;   /* archives removed (or, dry, that would be) */
    size_t logs;       /* logs removed (or that would be) */
    int64_t freed;     /* their bytes */
    size_t unreadable; /* archives that did not read back whole: their logs were kept */
    bool failed;       /* a file could not be removed, or the store not told: said already */
};

/* Remove, in the project at root, printing a line for each file ("removed log PATH (N
 * bytes)", or "would remove ..." when dry):
 * 1. oldest first, the log of every run whose archive is there and reads back whole
 *    (the archive holds it); an archive that does not is said, and its log kept;
 * 2. newest first, the logs of finished runs without an archive that are neither among
 *    their job's keep_last newest runs nor younger than older_than; then, newest first,
 *    select_work logs older than older_than that keep_last runs of their job were
 *    queued after (a run records such a log only when its selection failed);
 * 3. oldest first, the archives of runs that are neither among their job's keep_last
 *    newest runs with an archive nor younger than older_than, except the archive of
 *    the job's last success (and of every chunk of it); the store forgets them, and
 *    (not dry) also those of such runs next below the kept ones whose archive is gone
 *    already where this host would have it (in the shared --archive folder, or in
 *    .stau/archive for a run that ran here).
 * Only files in the archive folders (.stau/archive, and the --archive folder) and in
 * .stau/logs are looked at, each run of them looked up by its id or found among its
 * job's newest runs, so the cost follows the files there; a run's log no run records
 * is left alone. 0, or -1 after a message (the store could not be read, or a folder). */
int gc_collect(struct store *st, const char *root, const struct gc_options *opt,
               struct gc_result *out);

#endif
