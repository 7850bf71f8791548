/* runner.h: the state of exec's loop, shared by its three files: exec.c (the loop:
 * starting, ending and retrying runs, chunks and select_work), exec_record.c (claims,
 * starts, ends and manifests handed to the recorder) and exec_report.c (the lines
 * and the summary a person reads). Not for anything else: exec.h is the interface. */
#ifndef STAU_RUNNER_H
#define STAU_RUNNER_H

#include "exec.h"
#include "proc.h"
#include "recorder.h"
#include "work.h"

/* An environment string longer than this cannot be passed to a program (Linux's
 * MAX_ARG_STRLEN), so neither can a chunk's STAU_WORK_IDS. */
enum {
    GRACE_MS = 5000,
    HEARTBEAT_MS = 10000,
    STATUS_TICK_MS = 200,
    LOG_TAIL_LINES = 12,
    ENV_STRING_MAX = 131072
};

enum task_state { TASK_READY, TASK_RUNNING, TASK_RETRY, TASK_DONE };

enum job_state { JOB_WAITING, JOB_READY, JOB_SELECTING, JOB_STARTED, JOB_DONE };

/* One due job while the loop runs: its dependencies, its work IDs, its chunks. */
struct due_job {
    size_t job;                /* index in the graph */
    enum job_state state;      /* where it is */
    size_t waiting_for;        /* due dependencies not yet succeeded */
    bool chunked;              /* its runs are chunks of ids */
    bool pass_work_ids;        /* main_func gets work_ids (a chunked job, even unsplit) */
    struct work_ids ids;       /* its work IDs, once known */
    size_t runs_left;          /* its tasks not done yet */
    bool began;                /* select_work or a task of it was started */
    int64_t batch;             /* its chunks' batch: the first chunk's run id, once recorded */
    int64_t claim;             /* its first run, recorded before anything started (see
                                  claim_jobs); 0: taken by its first task, or closed */
    struct work_select select; /* select_work, while it runs */
    enum run_status result;    /* when done: succeeded only if every run did */
    const char *skipped_for;   /* the failed job it depends on, when skipped */
};

/* One run while the loop runs: a whole job, or one chunk of a chunked one. */
struct task {
    size_t job;             /* index in the graph */
    size_t due;             /* its due_job */
    int chunk, chunks;      /* chunk number (1-based) and count; 0: not chunked */
    size_t first, count;    /* its work IDs: a slice of the due job's ids */
    enum task_state state;  /* where it is */
    int attempt;            /* 1, 2, ... */
    int64_t retry_at;       /* monotonic ms when a retry may start */
    struct proc proc;       /* the running child */
    int64_t run_id;         /* its record */
    int64_t started_wall;   /* unix ms */
    char *log_path;         /* relative to the project root */
    enum run_status result; /* when done */
    char *failure;          /* what went wrong, for the summary */
    char *skip_note;        /* why it was skipped */
};

/* The loop's state. */
struct runner {
    struct project *p;
    struct store *st;
    struct plan *plan;
    const struct exec_options *opt;
    struct due_job *due; /* one per job of plan->order */
    size_t due_count;
    size_t *due_of;     /* graph index -> due index, or SIZE_MAX */
    size_t *dependents; /* due job k's dependents (due indices, one per edge):
                           dependents[dependents_at[k] .. dependents_at[k + 1]) */
    size_t *dependents_at;
    size_t ready_jobs;        /* due jobs in JOB_READY */
    size_t readied;           /* how many times a due job became ready (a clock) */
    size_t open_tasks;        /* every task below this index is done (a cursor) */
    VEC(struct task *) tasks; /* the runs known so far (pointers: the proc set keeps them) */
    size_t count, done;       /* runs (or jobs not split yet) known and finished, for [N/M] */
    size_t slots_used;
    size_t jobs_done, succeeded, failed, skipped; /* jobs, for the summary */
    bool stopping;                                /* interrupted, or --fail-fast after a failure */
    int interrupts;
    struct proc_set set;
    struct store_owner owner;
    char host[256];
    char *git_commit;
    bool tty;
    bool color;                /* colour the outcomes (a terminal, no NO_COLOR) */
    int columns;               /* the terminal's width (0: unknown) */
    char *jobs_path;           /* the jobs root, absolute, for the bootstrap's sys.path */
    struct recorder *recorder; /* records starts and ends, and archives */
    char *owner_id;            /* this stau as STAU_OWNER says it (exec_owner_id) */
};

/* exec.c */
/* Mark a task finished with result; its job is done when all its tasks are. */
void exec_finish_task(struct runner *r, struct task *t, enum run_status result, int64_t ms);
/* Add one task (run) of a due job: chunk k of chunks, holding ids[first, first+count). */
struct task *exec_add_task(struct runner *r, struct due_job *d, int chunk, int chunks, size_t first,
                           size_t count);

/* exec_record.c */
/* The keyword arguments a job runs with: the declaration's, or a rerun's recorded ones. */
const char *exec_kwargs(const struct runner *r, const struct job *job);
/* Append the task's work IDs as JSON, or null when it is not a chunk. */
void exec_task_work_ids(const struct runner *r, const struct task *t, struct strbuf *out);
/* Claim every due job's first run before starting any (see exec_record.c); -1 after
 * a message when nothing could be recorded. */
int exec_claim_jobs(struct runner *r);
/* Give task t its run: its due job's claim, or a run recorded now; *claimed says
 * which. -1 after a message. */
int exec_record_begin(struct runner *r, struct task *t, const char *work_ids_json, int64_t now,
                      bool *claimed);
/* Hand a run's start to the recorder (start's strings and files are taken). */
void exec_record_start(struct runner *r, const struct task *t, int pid, int64_t at,
                       struct recorder_start *start, bool claimed, const char *work_ids_json);
/* Hand a run's end to the recorder, to be archived and recorded; learned: file
 * hashes taken, to remember (may be NULL; taken). */
void exec_record_end(struct runner *r, const struct task *t, const struct run_finish *fin,
                     int64_t ended, struct store_file_list *learned);
/* Close a due job's claimed run that no task took, without an archive. */
void exec_close_claim(struct runner *r, struct due_job *d, enum run_status status);

/* exec_report.c */
/* How a run is named in lines and the summary: "job_a", or "job_a (chunk 2/3)". */
char *exec_task_label(const struct runner *r, const struct task *t);
/* On a terminal, redraw the one status line. */
void exec_status_line(struct runner *r);
/* Print one line about a finished task. */
void exec_report(struct runner *r, const struct task *t, int64_t ms);
/* Print that a job was skipped because the job failed failed. */
void exec_report_skip(struct runner *r, const char *job, const char *failed);
/* Print the summary: counts, and the end of each failed run's log. */
void exec_summary(struct runner *r, int64_t ms);

#endif
