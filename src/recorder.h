/* recorder.h: the thread that records runs starting and ending and archives the
 * finished ones, on a database connection of its own: neither database writes nor
 * the archives' fsyncs ever hold up starting the next job. What arrives while it is
 * busy is written together, in one transaction. */
#ifndef STAU_RECORDER_H
#define STAU_RECORDER_H

#include "store.h"

/* A run that started. The recorder takes the strings and files. */
struct recorder_start {
    int64_t run_id;
    int pid;                        /* its process (and process group) */
    int64_t at;                     /* when (unix ms) */
    char inputs_fingerprint[33];    /* its inputs as it started */
    char *log_path;                 /* its log, relative to the project root; NULL: none */
    char *work_ids_json;            /* its work IDs when only known now; NULL: as recorded */
    int chunk, chunks;              /* which chunk of how many when only known now; 0: as
                                       recorded */
    struct store_file_list learned; /* file hashes taken, to remember */
    char *files;                    /* evidence lines of its code and inputs (see
                                       run_record.files); NULL: none */
};

/* A run that ended (or will never start). The recorder takes the strings and files. */
struct recorder_end {
    int64_t run_id;
    char *job;                      /* its job's name, for messages */
    char *archive;                  /* where to archive it, relative to the project root;
                                       NULL: no archive (it never started) */
    char *manifest;                 /* the archive's manifest.json */
    char *log_path;                 /* its log, relative to the project root; NULL: none */
    struct strlist outputs;         /* declared outputs to archive (when it succeeded) */
    struct run_finish finish;       /* how it ended (outputs_fingerprint: see below) */
    char outputs_fingerprint[33];   /* its outputs as it left them ("": not taken) */
    int64_t ended;                  /* when it ended (unix ms) */
    struct store_file_list learned; /* file hashes taken, to remember */
    char *output_files;             /* evidence lines of its outputs; NULL: none */
};

struct recorder;

/* Start recording for the project at root into the database main_store has open:
 * on a thread with its own connection, or, when that cannot be had, in the
 * caller's thread on main_store. Never NULL. */
struct recorder *recorder_new(const char *root, struct store *main_store);
/* Record that a run started. */
void recorder_started(struct recorder *rc, struct recorder_start *start);
/* Archive a run and record its end. */
void recorder_ended(struct recorder *rc, struct recorder_end *end);
/* Wait until everything handed over so far is written (before reading the database
 * as the runs left it). */
void recorder_flush(struct recorder *rc);
/* Write everything handed over, stop the thread, and free the recorder. */
void recorder_close(struct recorder *rc);

#endif
