/* recorder.h: archiving finished runs and recording their ends, on a thread with a
 * connection of its own to the state database, so archiving (and its fsyncs) never
 * holds up starting the next job (see recorder.c). */
#ifndef STAU_RECORDER_H
#define STAU_RECORDER_H

#include <pthread.h>

#include "decl.h"
#include "store.h"

/* One finished run for the recorder: everything it needs, owned. */
struct record {
    int64_t run_id;
    char *job;              /* for messages */
    char *archive;          /* relative to the project root */
    char *full_archive;     /* as opened */
    char *full_log;         /* the run's log, as opened */
    char *manifest;         /* the archive's manifest.json */
    struct strlist outputs; /* archived when it succeeded */
    struct run_finish fin;
    char outputs_fp[33];
    int64_t ended; /* when it ended (unix ms) */
};

/* The thread that archives finished runs and records their ends. */
struct recorder {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* work arrived, or closing */
    VEC(struct record *) queue; /* finished runs to record, in order */
    bool closing;               /* no more will come */
    bool running;               /* the thread runs */
    struct store *st;           /* its own connection to the state database */
    const char *root;           /* the project root */
};

/* Start the recorder for the project at root, opening the state database main_store
 * has open a second time; false when it cannot start (records are then written inline). */
bool recorder_start(struct recorder *rc, const char *root, const struct store *main_store);
/* Archive the run and record its end: on the thread, or here on main_store when the
 * thread is not running. Takes rec over. */
void recorder_submit(struct recorder *rc, struct record *rec, struct store *main_store);
/* Finish every queued record, then stop the thread (nothing when it did not start). */
void recorder_stop(struct recorder *rc);

#endif
