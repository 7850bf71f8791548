/* work.h: work IDs and chunks (SPEC §7). A job is chunked when its declaration
 * gives `work_ids` or `chunk_size`; its work IDs come from `work_ids`, or from the
 * job file's `select_work(**kwargs)` run just before the job starts (see
 * work_selector). They are split, in order, into chunks of chunk_size, each chunk one
 * run. The runs of one invocation share a batch id (store.h), and the rules here say
 * what a batch amounts to: the job succeeded only when every chunk did. */
#ifndef STAU_WORK_H
#define STAU_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "decl.h"
#include "proc.h"
#include "store.h"

/* A list of work IDs; works with VEC_PUSH. */
struct work_ids {
    int64_t *items;
    size_t len, cap;
};

/* Whether the job file at path (relative to root) may have a select_work: whether it
 * mentions the name at all. A file that does not is never loaded to ask (loading a
 * job without main_func runs its top-level code). */
bool work_may_select(const char *root, const char *path);
/* Whether the job is split over work IDs (it declares work_ids or chunk_size). */
bool work_is_chunked(const struct decl *d);
/* How many chunks `count` IDs make with chunk_size (0: all in one chunk); 0 for no IDs. */
size_t work_chunk_count(size_t count, int64_t chunk_size);
/* The slice of chunk k (0-based) of `count` IDs: *first and *len. */
void work_chunk_slice(size_t count, int64_t chunk_size, size_t k, size_t *first, size_t *len);
/* Append ids as a JSON array ("[1,2,3]"). */
void work_ids_to_json(const int64_t *ids, size_t n, struct strbuf *out);
/* Parse a JSON array of integers (as work_ids_to_json writes it, spaces allowed) into
 * out; -1 when it is not one. */
int work_ids_parse(const char *json, struct work_ids *out);
/* The work IDs a JSON object of kwargs gives as "work_ids" (a timetable entry's
 * kwargs_func may: SPEC §7), into out: true; false when it gives none (no such key,
 * or not a list of int). */
bool work_ids_given(const char *kwargs_json, struct work_ids *out);
/* Sort ids (the original Stau sorts before it cuts chunks); with unique, once each. */
void work_ids_sort(struct work_ids *ids, bool unique);
/* A short text for ids, runs of consecutive IDs as ranges ("0-9", "1, 4, 7-9"), cut
 * after about max_len characters with the count of the rest ("1, 3, 5, ... (+12)"). */
void work_ids_describe(const int64_t *ids, size_t n, size_t max_len, struct strbuf *out);
/* The same for a JSON array as recorded; "-" for NULL, the text as it is when malformed. */
void work_ids_describe_json(const char *json, size_t max_len, struct strbuf *out);

/* What the runs of one batch amount to. */
enum work_batch_state {
    WORK_BATCH_SUCCEEDED, /* every chunk's latest attempt succeeded */
    WORK_BATCH_FAILED,  /* some chunk's latest attempt failed, timed out, was interrupted or lost */
    WORK_BATCH_ACTIVE,  /* none failed, and some chunk is queued or running */
    WORK_BATCH_SKIPPED, /* none failed or active, some chunk skipped (run by another stau) */
    WORK_BATCH_INCOMPLETE, /* none of the above, but some chunks never started */
};

/* The verdict on a batch; pointers into the runs judged. */
struct work_batch {
    enum work_batch_state state;
    const struct run_record *failed; /* FAILED: the first failing chunk's latest attempt */
    const struct run_record *newest; /* the run with the highest id */
    const struct run_record *ended;  /* the run that finished last (NULL: none finished) */
    size_t chunks;                   /* chunks the batch has (1 for an ordinary run) */
    size_t missing;                  /* chunks with no run at all */
    int64_t started_at;              /* the earliest start (0: none started) */
    int64_t finished_at;             /* the latest end (0: none ended) */
};

/* Judge the runs of one batch (runs of one job with one batch id, any order; n > 0).
 * Per chunk, only its latest attempt (highest id) counts. */
void work_batch_judge(const struct run_record *runs, size_t n, struct work_batch *out);

/* The job's latest invocation as one record (release it): the run that says the most
 * (the failing chunk when one failed, else the newest run), with the batch's earliest
 * start and latest end and the batch's state as its status (an incomplete batch counts
 * as interrupted); *missing gets the chunks that never started. 1, 0 (never ran), -1. */
int work_last_invocation(struct store *st, const char *job, struct run_record *out,
                         size_t *missing);
/* work_last_invocation on a batch's runs as read (store_job_pasts); takes what it
 * returns out of runs. */
int work_invocation_of(struct run_list *runs, struct run_record *out, size_t *missing);
/* work_last_success from the runs of the job's newest batch holding a success, as
 * read (store_job_pasts): judged, and older batches read while it did not succeed.
 * Takes first (leaving it empty). */
int work_success_of(struct store *st, const char *job, struct run_list *first,
                    struct run_record *out);
/* The job's last success as one record (release it): for a chunked job, the chunk that
 * finished last of the newest batch whose chunks all succeeded (its outputs fingerprint
 * saw every chunk's outputs), with the batch's earliest start. 1, 0, or -1. */
int work_last_success(struct store *st, const char *job, struct run_record *out);

/* The Python snippet that asks a job file for its work IDs (argv: jobs root, file,
 * kwargs as JSON, result file). It writes to the result file "none" (the file has no
 * select_work), "ok" and a line with the IDs as JSON, "bad" and a line describing
 * what was returned, or "raised"/"load" and the exception, and exits 1 on an exception. */
extern const char work_selector[];

/* What a selection's result file says. */
enum work_selection {
    WORK_SELECT_NONE,   /* no select_work: run the job once, unchunked */
    WORK_SELECT_OK,     /* the work IDs are in ids */
    WORK_SELECT_FAILED, /* the reason is in problem ("select_work returned ...") */
};

/* Read a result file's text (NULL: no file) into ids or problem. */
enum work_selection work_read_selection(const char *text, struct work_ids *ids,
                                        struct strbuf *problem);

/* What starting select_work needs; all borrowed. */
struct work_select_spec {
    const char *root;      /* the project root: its working directory */
    const char *jobs_path; /* the jobs root, absolute, for sys.path */
    const char *job;       /* the job's name (for STAU_JOB and file names) */
    const char *path;      /* the job's file */
    const char *python;    /* its interpreter */
    const char *kwargs;    /* its keyword arguments as JSON */
    double timeout;        /* the job's timeout in seconds, which select_work gets too; 0: none */
    int64_t grace_ms;      /* SIGTERM-to-SIGKILL delay on timeout */
    /* the project's env file's "KEY=VALUE" entries (proc_spec's env_defaults); NULL: none */
    const char *const *env;
};

/* One job's select_work process. */
struct work_select {
    struct proc proc; /* the process (add it to the loop's proc_set) */
    int64_t started;  /* when it started, unix ms */
    char *log;        /* its stdout and stderr: .stau/logs/<job>.<ms>.select.log */
    char *result;     /* the file it answers in, full path: ...select.json */
};

/* Start select_work for a job; -1 with the reason in err. */
int work_select_start(struct work_select *ws, const struct work_select_spec *spec,
                      struct strbuf *err);
/* select_work ended (ev; interrupted: stau got Ctrl-C meanwhile): the IDs into ids, or
 * for WORK_SELECT_FAILED the failure as the loop reports it into problem ("failed:
 * select_work returned ...") and how the run ended into *status. Removes the result file. */
enum work_selection work_select_end(struct work_select *ws, const struct proc_event *ev,
                                    bool interrupted, double timeout, struct work_ids *ids,
                                    struct strbuf *problem, enum run_status *status);
/* Free what ws holds. */
void work_select_release(struct work_select *ws);

#endif
