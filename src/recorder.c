/* recorder.c: recording runs off the main thread. */
#include "recorder.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "archiver.h"
#include "paths.h"

/* How many times a batch that cannot be written is tried again, a second apart
 * (each try also waits out the database's busy timeout). */
#define RECORD_ATTEMPTS 60
/* ... an hour for a server: a restart or a network cut outlasts a minute. */
#define RECORD_ATTEMPTS_SERVER 3600

/* One thing to record: a start or an end. */
struct entry {
    bool is_end;
    struct recorder_start start;
    struct recorder_end end;
};

struct recorder {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* work arrived, a flush was asked for, or closing */
    pthread_cond_t written;    /* a batch was written */
    VEC(struct entry *) queue; /* handed over, not yet written, in order */
    size_t handed, done;       /* entries handed over, and written, so far */
    bool flushing;             /* recorder_flush waits: write without gathering */
    bool closing;              /* no more will come */
    bool threaded;             /* the thread runs (else: written at once) */
    struct store *st;          /* the database: its own connection, or the caller's */
    bool own_store;            /* st was opened here */
    const char *root;          /* the project root */
};

/* Archive the runs of a batch that ended, together: each end that made it names
 * its archive. */
static void archive_runs(struct recorder *rc, struct entry **batch, size_t count)
{
    struct recorder_end **ends = xcalloc(count + 1, sizeof(*ends));
    char **paths = xcalloc(count + 1, sizeof(*paths));
    struct strbuf *errs = xcalloc(count + 1, sizeof(*errs));
    bool *placed = xcalloc(count + 1, sizeof(*placed));
    size_t staged = 0;
    for (size_t i = 0; i < count; i++) {
        struct recorder_end *end = &batch[i]->end;
        if (!batch[i]->is_end || !end->archive)
            continue;
        char *full_archive = paths_resolve(rc->root, end->archive);
        char *full_log = end->log_path ? xprintf("%s/%s", rc->root, end->log_path) : NULL;
        struct strbuf err = STRBUF_INIT;
        if (paths_make_parent(rc->root, end->archive) == 0 &&
            archiver_stage_run(full_archive, end->manifest, full_log, rc->root,
                               (const char *const *)end->outputs.items, end->outputs.len,
                               &err) == 0) {
            ends[staged] = end;
            paths[staged++] = full_archive;
            full_archive = NULL;
        } else if (err.len) {
            warn("run %lld of '%s' is not archived: %s", (long long)end->run_id, end->job, err.buf);
        }
        strbuf_release(&err);
        free(full_archive);
        free(full_log);
    }
    archiver_place((const char *const *)paths, staged, placed, errs);
    for (size_t i = 0; i < staged; i++) {
        if (placed[i])
            ends[i]->finish.archive_path = ends[i]->archive;
        else
            warn("run %lld of '%s' is not archived: %s", (long long)ends[i]->run_id, ends[i]->job,
                 errs[i].buf);
        strbuf_release(&errs[i]);
        free(paths[i]);
    }
    free(placed);
    free(errs);
    free(paths);
    free(ends);
}

static void entry_free(struct entry *e)
{
    free(e->start.log_path);
    free(e->start.work_ids_json);
    free(e->start.files);
    free(e->end.output_files);
    store_file_list_release(&e->start.learned);
    free(e->end.job);
    free(e->end.archive);
    free(e->end.manifest);
    free(e->end.log_path);
    for (size_t i = 0; i < e->end.outputs.len; i++)
        free(e->end.outputs.items[i]);
    VEC_FREE(&e->end.outputs);
    store_file_list_release(&e->end.learned);
    free(e);
}

/* Archive what ended, then record the whole batch in one transaction. */
static void write_batch(struct recorder *rc, struct entry **batch, size_t count)
{
    archive_runs(rc, batch, count);
    struct store_change *changes = xcalloc(count + 1, sizeof(*changes));
    struct store_file_list files = {0};
    for (size_t i = 0; i < count; i++) {
        struct entry *e = batch[i];
        const struct store_file_list *learned = e->is_end ? &e->end.learned : &e->start.learned;
        for (size_t k = 0; k < learned->len; k++)
            VEC_PUSH(&files, learned->items[k]); /* paths stay owned by the entry */
        if (e->is_end) {
            e->end.finish.outputs_fingerprint =
                e->end.outputs_fingerprint[0] ? e->end.outputs_fingerprint : NULL;
            e->end.finish.output_files = e->end.output_files;
            /* The time it ended, not now: dependents may have started meanwhile, and a
             * success must never look newer than runs that followed it. */
            changes[i] = (struct store_change){.kind = STORE_FINISH,
                                               .id = e->end.run_id,
                                               .at = e->end.ended,
                                               .finish = e->end.finish};
        } else {
            changes[i] = (struct store_change){.kind = STORE_START,
                                               .id = e->start.run_id,
                                               .at = e->start.at,
                                               .pid = e->start.pid,
                                               .inputs_fingerprint = e->start.inputs_fingerprint,
                                               .log_path = e->start.log_path,
                                               .work_ids_json = e->start.work_ids_json,
                                               .chunk = e->start.chunk,
                                               .chunks = e->start.chunks,
                                               .files = e->start.files};
        }
    }
    /* A database that is busy or away for a while must not lose what ran: try again,
     * for a minute, saying so once. */
    for (int attempt = 0;
         store_apply(rc->st, changes, count, files.items, files.len, wall_clock_ms()) < 0;
         attempt++) {
        if (attempt == 0)
            warn("%s; trying again (%zu starts and ends to record)", store_error(rc->st), count);
        if (attempt == (rc->st->kind == STORE_SQLITE ? RECORD_ATTEMPTS : RECORD_ATTEMPTS_SERVER)) {
            error("%s; %zu starts and ends are not recorded (runs %lld and on)",
                  store_error(rc->st), count, (long long)changes[0].id);
            break;
        }
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
    }
    VEC_FREE(&files);
    free(changes);
    for (size_t i = 0; i < count; i++)
        entry_free(batch[i]);
}

/* Whatever else arrives this soon after the first entry goes in the same batch:
 * runs of trivial jobs end every few milliseconds, and one transaction (and one
 * sync of the archive folder) for several of them costs what one costs alone. */
#define BATCH_WINDOW_MS 100
/* A batch this long is written at once. */
#define BATCH_MAX 256

static void *recorder_main(void *arg)
{
    struct recorder *rc = arg;
    pthread_mutex_lock(&rc->lock);
    for (;;) {
        while (!rc->queue.len && !rc->closing)
            pthread_cond_wait(&rc->wake, &rc->lock);
        if (!rc->queue.len)
            break;
        /* Let the batch gather for the window; closing or a full batch wakes it
         * early (0 from the wait is a wakeup, ETIMEDOUT the window's end). */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += BATCH_WINDOW_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        bool waiting = true;
        while (waiting && !rc->closing && !rc->flushing && rc->queue.len < BATCH_MAX)
            waiting = pthread_cond_timedwait(&rc->wake, &rc->lock, &until) == 0;
        /* Take everything queued: one transaction for all of it. */
        struct entry **batch = rc->queue.items;
        size_t count = rc->queue.len;
        memset(&rc->queue, 0, sizeof(rc->queue));
        pthread_mutex_unlock(&rc->lock);
        write_batch(rc, batch, count);
        free(batch);
        pthread_mutex_lock(&rc->lock);
        rc->done += count;
        pthread_cond_broadcast(&rc->written);
    }
    pthread_mutex_unlock(&rc->lock);
    return NULL;
}

struct recorder *recorder_new(const char *root, struct store *main_store)
{
    struct recorder *rc = xcalloc(1, sizeof(*rc));
    rc->root = root;
    rc->st = main_store;
    struct strbuf err = STRBUF_INIT;
    struct store *own = store_reopen(main_store, &err);
    strbuf_release(&err);
    if (!own)
        return rc;
    pthread_mutex_init(&rc->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rc->wake, &attr);
    pthread_cond_init(&rc->written, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&rc->thread, NULL, recorder_main, rc) != 0) {
        store_close(own);
        pthread_mutex_destroy(&rc->lock);
        pthread_cond_destroy(&rc->wake);
        pthread_cond_destroy(&rc->written);
        return rc;
    }
    rc->st = own;
    rc->own_store = true;
    rc->threaded = true;
    return rc;
}

/* Queue an entry for the thread, or write it now without one. */
static void hand_over(struct recorder *rc, struct entry *e)
{
    if (!rc->threaded) {
        write_batch(rc, &e, 1);
        return;
    }
    pthread_mutex_lock(&rc->lock);
    VEC_PUSH(&rc->queue, e);
    rc->handed++;
    /* The thread needs waking for a batch's first entry and for a full one; in
     * between it waits out the window anyway. */
    if (rc->queue.len == 1 || rc->queue.len == BATCH_MAX)
        pthread_cond_signal(&rc->wake);
    pthread_mutex_unlock(&rc->lock);
}

void recorder_started(struct recorder *rc, struct recorder_start *start)
{
    struct entry *e = xcalloc(1, sizeof(*e));
    e->start = *start;
    memset(start, 0, sizeof(*start));
    hand_over(rc, e);
}

void recorder_ended(struct recorder *rc, struct recorder_end *end)
{
    struct entry *e = xcalloc(1, sizeof(*e));
    e->is_end = true;
    e->end = *end;
    memset(end, 0, sizeof(*end));
    hand_over(rc, e);
}

void recorder_flush(struct recorder *rc)
{
    if (!rc->threaded)
        return;
    pthread_mutex_lock(&rc->lock);
    size_t target = rc->handed;
    rc->flushing = true;
    pthread_cond_signal(&rc->wake);
    while (rc->done < target)
        pthread_cond_wait(&rc->written, &rc->lock);
    rc->flushing = false;
    pthread_mutex_unlock(&rc->lock);
}

void recorder_close(struct recorder *rc)
{
    if (rc->threaded) {
        pthread_mutex_lock(&rc->lock);
        rc->closing = true;
        pthread_cond_signal(&rc->wake);
        pthread_mutex_unlock(&rc->lock);
        if (pthread_join(rc->thread, NULL) != 0)
            fatal("cannot join the recorder");
        pthread_mutex_destroy(&rc->lock);
        pthread_cond_destroy(&rc->wake);
        pthread_cond_destroy(&rc->written);
        VEC_FREE(&rc->queue);
    }
    if (rc->own_store)
        store_close(rc->st);
    free(rc);
}
