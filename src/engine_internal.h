/* engine_internal.h: the engine's state, shared by its three files: engine.c (the
 * loop: starting, ending and retrying runs), engine_work.c (chunks and select_work)
 * and engine_record.c (claims, the records handed to the recorder, jobs held
 * elsewhere). Not for anything else: engine.h is the interface. */
#ifndef STAU_ENGINE_INTERNAL_H
#define STAU_ENGINE_INTERNAL_H

#include "engine.h"
#include "git.h"
#include "work.h"

/* An environment string longer than ENV_STRING_MAX cannot be passed to a program
 * (Linux's MAX_ARG_STRLEN), so neither can a chunk's STAU_WORK_IDS. */
enum {
    GRACE_MS = 5000,
    HELD_POLL_MS = 250, /* how often the runs of jobs held elsewhere are looked at */
    CLAIM_ROUNDS = 64,  /* claims one pass may make while others' refusals free slots */
    ENV_STRING_MAX = 131072
};

enum task_state { TASK_READY, TASK_RUNNING, TASK_RETRY, TASK_DONE };

enum job_state {
    JOB_WAITING,   /* for due dependencies */
    JOB_READY,     /* may start */
    JOB_SELECTING, /* select_work runs */
    JOB_STARTED,   /* its tasks exist */
    JOB_HELD,      /* another stau holds it: waiting for that run's end */
    JOB_DONE
};

struct submission;
struct task;

/* Tasks, borrowed; works with VEC_PUSH. */
struct task_list {
    struct task **items;
    size_t len, cap;
};

/* One due job while the engine runs it: its dependencies, its work IDs, its chunks. */
struct due_job {
    struct submission *sub;       /* the submission it came in */
    size_t job;                   /* index in the submission's graph */
    enum job_state state;         /* where it is */
    size_t waiting_for;           /* due dependencies not yet succeeded */
    bool chunked;                 /* its runs are chunks of ids */
    bool pass_work_ids;           /* main_func gets work_ids (a chunked job, even unsplit) */
    struct work_ids ids;          /* its work IDs, once known */
    bool ids_known;               /* ids are final: declared, chosen, or given by dependents */
    bool early;                   /* its select_work runs before its dependencies do */
    const char *failed_upstream;  /* early: a dependency that failed meanwhile (skipped
                                     once its IDs are chosen) ... */
    char *failed_why;             /* ... and what to say of it ("'a' timed out") */
    bool selected_none;           /* its file has no select_work after all: it runs once */
    bool not_needed;              /* done without a run: its feeders chose no work IDs */
    size_t fresh_ids;             /* fed, pulled in by max_lag: IDs left out as fresh */
    bool feeder_ran;              /* fed: some feeder ran here (chose, or had no IDs) */
    const char *feeder_gone;      /* fed: a feeder that ended without running here */
    bool ids_given;               /* ids came with its kwargs (a timetable entry's work_ids) */
    size_t fed_pending;           /* due jobs it feeds that have neither tasks nor ended: its
                                     chunks wait for theirs (SPEC §7), so it starts after */
    bool had_tasks;               /* its tasks were made (they are in tasks) */
    struct task_list tasks;       /* its tasks, in chunk order */
    char *empty_why;              /* given no work IDs: why ("'job_a' chose no work IDs") */
    char *upstream_lines;         /* engine_upstream_lines' answer, kept for its other runs */
    bool fed;                     /* takes its work IDs from its due dependents that are
                                     chunked (SPEC §7: a master's IDs flow down) */
    bool feeds;                   /* a due dependency of it is fed by it */
    bool got_ids;                 /* fed: some dependent gave it IDs */
    size_t feeders_left;          /* fed: dependents that have not chosen their IDs yet */
    char *kwargs;                 /* the keyword arguments it runs with, when they are not
                                     its declaration's: what flows down its dependents'
                                     edges (custom kwargs, a timetable entry's kwargs) */
    char *flow;                   /* the kwargs flowing to its dependencies (JSON object) */
    const struct due_job *master; /* the top of the graph it runs in (itself when no
                                     due dependent needs it): job_id, job_created_at */
    size_t runs_left;             /* its tasks not done yet */
    bool began;                   /* select_work or a task of it was started */
    int64_t batch;                /* its chunks' batch: the first chunk's run id, once recorded */
    int64_t claim;                /* its first run, claimed before anything started; 0: not
                                     claimed yet, taken by its first task, or closed */
    bool claim_tried;             /* a claim was made for it (got or not) */
    int64_t claim_again_at;       /* an upstream ran elsewhere: claim not before (mono ms) */
    bool wait_told;               /* the reporter was told it waits for an upstream */
    bool reclaim;                 /* claimed again after another stau's run of it was lost:
                                     its need stands, whatever that run's end moved */
    int64_t held_run;             /* JOB_HELD: the other stau's run it waits for */
    struct work_select select;    /* select_work, while it runs */
    enum run_status result;       /* when done: succeeded only if every run did */
    bool up_to_date;              /* dropped as up to date, without a run (early cutoff) */
    char up_fp[UPSTREAM_FP_SIZE]; /* when it succeeded here: what it left, for its
                                     dependents (stale_upstream_fp); empty: not known */
    int64_t up_fp_ended;          /* ... taken from the chunk whose recorded end is the
                                     latest (unix ms) ... */
    int64_t up_fp_run;            /* ... and, of chunks ending in the same ms, the newest
                                     run: the one work_success_of reads from the store */
    const char *skipped_for;      /* the failed job it depends on, when skipped ... */
    char *skip_why;               /* ... and why it was skipped ("'a' was interrupted"),
                                     said again of what needs it */
    struct work_ids known_ids;    /* fed, judged per work ID: the IDs whose last success was
                                     read ahead for it (sorted) ... */
    int64_t *known_done;          /* ... and those successes (unix ms; 0: none) */
    bool waits_only;              /* claimed exclusively only to wait for a run of it elsewhere
                                     (needed here, its runs may overlap): it then runs here */
    bool cancelled;               /* its own selection of work IDs was empty: it is cancelled,
                                     and so is what it pulled in (SPEC §7) */
    bool copy;                    /* a unique=True dependency's own run for one dependent
                                     (SPEC §7), besides the shared one */
    size_t *dep_due;              /* per edge of its job: the due job it needs there (a copy
                                     for a unique edge); NULL: due_of of the edge's job */
};

/* One submitted plan: its jobs, and who waits for whom. */
struct submission {
    struct project *p;
    int64_t created_at; /* when it was submitted (unix ms): job_created_at */
    struct plan *plan;
    struct engine_submit_options opt;
    struct due_job *due; /* one per job of plan->order */
    size_t due_count;
    size_t open_jobs;   /* due jobs not done */
    size_t ready_jobs;  /* due jobs in JOB_READY */
    size_t *due_of;     /* graph index -> due index, or SIZE_MAX */
    size_t *dependents; /* due job k's dependents (due indices, one per edge):
                           dependents[dependents_at[k] .. dependents_at[k + 1]) */
    size_t *dependents_at;
    bool *chunk_edge; /* per dependents entry: the dependent feeds the job its work IDs,
                         and waits for its chunks, not for all of it */
    char *git_commit; /* the project's commit (NULL: not a git checkout) */
    char *jobs_path;  /* the jobs root, absolute, for the bootstrap's sys.path */
    bool released;    /* opt.release was called */
    /* What differs from git_commit (asked of git once, when a commit is known). */
    struct git_changes git;
};

/* The index in its submission's due of what d needs over its job's edge e (SIZE_MAX:
 * not due). */
static inline size_t engine_dep(const struct due_job *d, size_t e)
{
    if (d->dep_due)
        return d->dep_due[e];
    const struct job *job = &d->sub->p->graph.jobs.items[d->job];
    return d->sub->due_of[job->deps.items[e].to];
}

/* One run while the engine runs it: a whole job, or one chunk of a chunked one. */
struct task {
    struct due_job *d;         /* its due job */
    int chunk, chunks;         /* chunk number (1-based) and count; 0: not chunked */
    size_t first, count;       /* its work IDs: a slice of the due job's ids */
    enum task_state state;     /* where it is */
    int attempt;               /* 1, 2, ... */
    int64_t retry_at;          /* monotonic ms when a retry may start */
    int64_t retry_run;         /* the retry's run, recorded queued when it was planned (so
                                  that other staus see the job still held); 0: none */
    struct proc proc;          /* the running child */
    int pid;                   /* its process (and group) once started; 0: none */
    bool taken_over;           /* another stau recorded it lost: its end is not recorded */
    int64_t run_id;            /* its record */
    int64_t started_wall;      /* unix ms */
    int64_t started_mono;      /* monotonic ms */
    char *log_path;            /* relative to the project root */
    enum run_status result;    /* when done */
    char *failure;             /* what went wrong, for the reporter */
    char outputs_fp[33];       /* succeeded: the outputs it left (hex) */
    int64_t ended_wall;        /* unix ms its end is recorded with; 0: not known */
    size_t waits;              /* chunks of jobs it is fed by that share its IDs, not ended */
    struct task_list unblocks; /* chunks of the jobs that feed this one and share its IDs */
};

/* The engine. */
struct engine {
    struct engine_config cfg;
    struct proc_set set;           /* real processes (when cfg.procs was zero) */
    VEC(struct submission *) subs; /* submitted, not yet released */
    VEC(struct task *) tasks;      /* the runs known (pointers: processes keep them) */
    size_t open_tasks;             /* every task below this index is done (a cursor) */
    size_t readied;                /* how many times a due job became ready (a clock) */
    size_t held;                   /* due jobs in JOB_HELD */
    size_t count, done;            /* runs (or jobs not split yet) known and finished */
    size_t slots_used;
    size_t running, selecting; /* processes of runs, of select_work */
    struct engine_totals totals;
    bool stopping;        /* no new starts: interrupted, stopped, --fail-fast */
    char *stop_cause;     /* why it is stopping ("stau was interrupted"); NULL: not */
    int64_t terminate_at; /* engine_stop: when running runs get terminated; -1 */
    int64_t next_heartbeat, next_held_poll, next_progress; /* monotonic ms */
    int64_t claim_again_at; /* the earliest claim to try again; -1: none */
};

/* engine.c: the clocks. */
static inline int64_t engine_wall(const struct engine *e)
{
    return e->cfg.clock.wall_ms(e->cfg.clock.ctx);
}
static inline int64_t engine_mono(const struct engine *e)
{
    return e->cfg.clock.mono_ms(e->cfg.clock.ctx);
}
/* The job of a due job. */
static inline const struct job *due_job_of(const struct due_job *d)
{
    return &d->sub->p->graph.jobs.items[d->job];
}

/* engine.c */
/* Mark a task finished with result; its job is done when all its tasks are. */
void engine_finish_task(struct engine *e, struct task *t, enum run_status result, int64_t ms);
/* A job is done: count it, and release or skip what waits for it. */
void engine_finish_job(struct engine *e, struct due_job *d);
/* Add one task (run) of a due job: chunk k of chunks, holding ids[first, first+count). */
struct task *engine_add_task(struct engine *e, struct due_job *d, int chunk, int chunks,
                             size_t first, size_t count);
/* Done without a run, as up to date (why says how it is known). */
void engine_finish_up_to_date(struct engine *e, struct due_job *d, const char *why);
/* Why what needs d is skipped, d having ended without success: "'a' failed", "'a'
 * timed out", "'a' was interrupted", d's own reason when it was skipped; elsewhere:
 * d's run was another stau's (newly allocated). */
char *engine_skip_why(const struct due_job *d, bool elsewhere);
/* Whether a run that ended so did not succeed by its own doing (failed, timed out,
 * interrupted, lost), as opposed to succeeded, skipped, cancelled. */
bool engine_result_failed(enum run_status result);
/* Skip a due job that never ran here: failed is the job whose failure it follows. */
void engine_skip_job(struct engine *e, struct due_job *d, const char *failed, const char *why);
/* Whether a job of slots fits the slot budget now. */
bool engine_fits(const struct engine *e, size_t slots);
/* Tell the reporter a job was not run, and why (run_id: its run closed so; 0: none). */
void engine_report_cancelled(struct engine *e, const char *job, const char *why, int64_t run_id);
void engine_report_skipped(struct engine *e, const char *job, const char *why, int64_t run_id);
/* The interpreter for a job: its "python", else the engine's default. */
const char *engine_interpreter(const struct engine *e, const struct job *job);

/* engine_work.c */
/* The chunks of d are made: the jobs that feed d may start (their chunks wait for
 * d's that share their IDs), and d's chunks are linked to those of the jobs it
 * feeds (tasks: d's new tasks). */
void engine_link_chunks(struct engine *e, struct due_job *d);
/* A chunk ended: the chunks waiting for it go on, or (it did not succeed) are
 * skipped. */
void engine_unblock(struct engine *e, struct task *t);
/* d ended: the jobs it was to feed and has not fed get nothing from it. */
void engine_job_ended_feeding(struct engine *e, struct due_job *d);
/* d ended without chunks: the jobs that feed it go on (d succeeded, or was up to date)
 * or are skipped. */
void engine_fed_job_done(struct engine *e, struct due_job *d);
/* Work out, for a new submission, which due jobs take their work IDs from their
 * dependents, and the keyword arguments flowing down the edges. */
void engine_plan_graph(struct engine *e, struct submission *sub);
/* Start choosing the work IDs of the due jobs that feed others as soon as they can
 * (before their own dependencies run: those run on these IDs). */
void engine_choose_early(struct engine *e);
/* Whether starting the due job starts select_work (and so needs its slots). */
bool engine_needs_selection(const struct due_job *d);
/* Begin a due job: its work IDs, its chunks' tasks, or its one task. */
void engine_start_job(struct engine *e, struct due_job *d);
/* select_work of d ended: its chunks, its one run, or the failure recorded. */
void engine_end_selection(struct engine *e, struct due_job *d, const struct proc_event *ev);

/* engine_record.c */
/* Append an evidence line "u\tJOB\tFP" for each dependency of d: what it left, as
 * d starts (its run here, else its last success). */
void engine_upstream_lines(struct engine *e, struct due_job *d, struct strbuf *out);
/* Early cutoff: whether d, due only because dependencies ran, finds each of them
 * leaving what its last success started from; then why says which ran (newly
 * allocated). */
bool engine_upstream_unchanged(struct engine *e, const struct due_job *d, char **why);
/* Look whether the runs held jobs wait for have ended; a held job is done when its
 * run is: as it succeeded, or failed (its dependents skipped). */
void engine_poll_held(struct engine *e);
/* The keyword arguments a job runs with: the declaration's, or a rerun's recorded ones. */
const char *engine_kwargs(const struct due_job *d);
/* The keyword arguments of those that were given on the command line (or, for a rerun,
 * to the run it repeats); NULL: none. */
const char *engine_given_kwargs(const struct due_job *d);
/* Append the task's work IDs as JSON, or null when it is not a chunk. */
void engine_task_work_ids(const struct task *t, struct strbuf *out);
/* Claim due jobs (count of them) with store_claim; GOT sets d->claim, anything else
 * puts the job in JOB_HELD (and tells the reporter). -1 after a message when nothing
 * could be recorded. */
int engine_claim(struct engine *e, struct due_job **jobs, size_t count);
/* Give task t its run: its due job's claim, or a run recorded now; *claimed says
 * which. -1 after a message. */
int engine_record_begin(struct engine *e, struct task *t, const char *work_ids_json, int64_t now,
                        bool *claimed);
/* Hand a run's start to the recorder (start's strings and files are taken). */
void engine_record_start(struct engine *e, const struct task *t, int pid, int64_t at,
                         struct recorder_start *start, bool claimed, const char *work_ids_json);
/* Hand a run's end to the recorder, to be archived and recorded; learned: file
 * hashes taken, to remember (may be NULL; taken). */
void engine_record_end(struct engine *e, const struct task *t, const struct run_finish *fin,
                       int64_t ended, struct store_file_list *learned);
/* Record the next attempt of t, which failed and is retried, as a queued run now:
 * other staus wait for it instead of taking the failure for the job's end. Its id;
 * 0 after a warning (it is recorded as it starts then). */
int64_t engine_record_retry(struct engine *e, const struct task *t);
/* Record a run's end without an archive (it never started a process). */
void engine_record_unstarted(struct engine *e, int64_t run_id, const char *job,
                             enum run_status status);
/* Record a chunk that never starts (what it needs failed) as skipped, in its batch,
 * so that its IDs count as not done. */
void engine_record_skipped_chunk(struct engine *e, struct task *t);
/* Close a due job's claimed run that no task took, without an archive; the run's id
 * (0: it had no claim). */
int64_t engine_close_claim(struct engine *e, struct due_job *d, enum run_status status);
/* How a run is named in lines: "job_a", or "job_a (chunk 2/3)" (newly allocated). */
char *engine_task_label(const struct task *t);

#endif
