/* recorder.c: the thread that archives finished runs (archiver.c) and records their
 * ends in the state database, in the order they finished. */
#include "recorder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archiver.h"

/* Archive a run and record its end in st. Runs on the recorder thread (or the
 * main one, when the recorder could not start). */
static void write_record(struct record *rec, const char *root, struct store *st)
{
    struct strbuf err = STRBUF_INIT;
    if (make_parent_folders(root, rec->archive) == 0 &&
        archiver_write_run(rec->full_archive, rec->manifest, rec->full_log, root,
                           (const char *const *)rec->outputs.items, rec->outputs.len, &err) == 0)
        rec->fin.archive_path = rec->archive;
    else if (err.len)
        warn("run %lld of '%s' is not archived: %s", (long long)rec->run_id, rec->job, err.buf);
    if (rec->fin.outputs_fingerprint)
        rec->fin.outputs_fingerprint = rec->outputs_fp;
    /* The time it ended, not now: dependents may have started meanwhile, and a
     * success must never look newer than runs that followed it. */
    if (store_finish_run(st, rec->run_id, &rec->fin, rec->ended) < 0)
        error("%s", store_error(st));
    strbuf_release(&err);
    free(rec->job);
    free(rec->archive);
    free(rec->full_archive);
    free(rec->full_log);
    free(rec->manifest);
    for (size_t i = 0; i < rec->outputs.len; i++)
        free(rec->outputs.items[i]);
    VEC_FREE(&rec->outputs);
    free(rec);
}

static void *recorder_main(void *arg)
{
    struct recorder *rc = arg;
    pthread_mutex_lock(&rc->lock);
    for (;;) {
        while (!rc->queue.len && !rc->closing)
            pthread_cond_wait(&rc->wake, &rc->lock);
        if (!rc->queue.len)
            break;
        struct record *rec = rc->queue.items[0];
        memmove(rc->queue.items, rc->queue.items + 1, (rc->queue.len - 1) * sizeof(rec));
        rc->queue.len--;
        pthread_mutex_unlock(&rc->lock);
        write_record(rec, rc->root, rc->st);
        pthread_mutex_lock(&rc->lock);
    }
    pthread_mutex_unlock(&rc->lock);
    return NULL;
}

bool recorder_start(struct recorder *rc, const char *root, const struct store *main_store)
{
    memset(rc, 0, sizeof(*rc));
    rc->root = root;
    struct strbuf err = STRBUF_INIT;
    rc->st = store_open(main_store->location, &err);
    strbuf_release(&err);
    if (!rc->st)
        return false;
    pthread_mutex_init(&rc->lock, NULL);
    pthread_cond_init(&rc->wake, NULL);
    if (pthread_create(&rc->thread, NULL, recorder_main, rc) != 0) {
        store_close(rc->st);
        rc->st = NULL;
        return false;
    }
    rc->running = true;
    return true;
}

void recorder_stop(struct recorder *rc)
{
    if (!rc->running)
        return;
    pthread_mutex_lock(&rc->lock);
    rc->closing = true;
    pthread_cond_signal(&rc->wake);
    pthread_mutex_unlock(&rc->lock);
    if (pthread_join(rc->thread, NULL) != 0)
        fatal("cannot join the recorder");
    pthread_mutex_destroy(&rc->lock);
    pthread_cond_destroy(&rc->wake);
    VEC_FREE(&rc->queue);
    store_close(rc->st);
    rc->running = false;
}

void recorder_submit(struct recorder *rc, struct record *rec, struct store *main_store)
{
    if (!rc->running) {
        write_record(rec, rc->root, main_store);
        return;
    }
    pthread_mutex_lock(&rc->lock);
    VEC_PUSH(&rc->queue, rec);
    pthread_cond_signal(&rc->wake);
    pthread_mutex_unlock(&rc->lock);
}
