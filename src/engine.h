/* engine.h: the executor, as an engine its caller drives (SPEC §3, §6).
 *
 * Created once with the store, the recorder, the owner it runs as, a clock, a
 * process runner and a reporter; then plans are submitted to it, also while runs of
 * earlier ones are going, and each engine_step waits for one event (a run ending, a
 * signal, a deadline) and handles it: starting what became ready within the slot
 * budget, retrying with doubling delays, skipping only what depends on a failure,
 * waiting for a job that another stau holds. `stau` is a short loop over it (until
 * nothing is left), `stau serve` a longer one.
 *
 * Claims: a due job's run is claimed with store_claim (lease.h judges the holders):
 * up front for a whole submission (claim_ahead, a one-off stau: no database write
 * then stands between one job ending and the next starting), or as each becomes
 * ready (stau serve, so that copies share the work). A job another stau holds is
 * not run again: its dependents wait for that run's end, and nothing is recorded for
 * it here.
 */
#ifndef STAU_ENGINE_H
#define STAU_ENGINE_H

#include "lease.h"
#include "plan.h"
#include "proc.h"
#include "recorder.h"

/* Exit statuses of a run (SPEC §3). */
enum { EXIT_RUN_FAILED = 1, EXIT_RUN_USAGE = 2, EXIT_RUN_INTERRUPTED = 130 };

/* The clocks the engine reads; engine_system_clock() is the real one. */
struct engine_clock {
    int64_t (*wall_ms)(void *ctx); /* unix ms */
    int64_t (*mono_ms)(void *ctx); /* monotonic ms (proc.h's clock for real processes) */
    void *ctx;
};
struct engine_clock engine_system_clock(void);

/* How the engine starts and waits for processes; engine_system_procs() runs real
 * ones through a proc_set (proc.h). A fake one lets tests drive the engine. */
struct engine_procs {
    /* Start spec; fill *out (the engine keeps it until its exit event). -1 with err. */
    int (*start)(void *ctx, const struct proc_spec *spec, struct proc *out, struct strbuf *err);
    /* Wait for proc to be reported by wait (a select_work process, started elsewhere). */
    void (*add)(void *ctx, struct proc *proc);
    /* Block until a child ends, a signal, or the deadline (monotonic ms; -1: none). */
    int (*wait)(void *ctx, int64_t deadline_ms, struct proc_event *ev);
    /* SIGTERM to every child, SIGKILL grace_ms later (0: now). */
    int (*terminate_all)(void *ctx, int64_t grace_ms);
    /* The same for one child. */
    int (*terminate)(void *ctx, struct proc *proc, int64_t grace_ms);
    void *ctx;
};

/* A run as the reporter is told of it; pointers valid during the call only. */
struct engine_run {
    const char *job;          /* job name */
    const char *label;        /* "job", or "job (chunk 2/3)" */
    int64_t run_id;           /* its record */
    int chunk, chunks;        /* which chunk of how many; 0: not chunked */
    int attempt;              /* 1, 2, ... */
    int pid;                  /* started: its process */
    enum run_status result;   /* finished: how it ended */
    const char *failure;      /* finished, not succeeded: what went wrong ("failed (exit 1)") */
    const char *log_path;     /* its log, relative to the project root; NULL: it ran nothing */
    const char *project_root; /* the project it belongs to */
    int64_t ms;               /* finished: its run time */
    int64_t next_run;         /* retried: the run recorded for the next attempt; 0: none */
};

/* Where the engine stands, for a status line. */
struct engine_progress {
    size_t done, count;   /* runs (and jobs not split yet) finished and known */
    size_t running;       /* processes running (select_work too) */
    const char *longest;  /* the label of the run going longest; NULL: none */
    int64_t longest_ms;   /* ... how long it has run */
    const char *retrying; /* the label of the run whose retry comes next; NULL: none */
    int retry;            /* ... which retry it is (1: the first) */
    int64_t retry_in_ms;  /* ... how long until it may start (0: now, waiting for a slot) */
};

/* What the engine tells as it goes; any callback may be NULL. run_id: the run
 * recorded for a job that did not run (closed as skipped or cancelled); 0: none. */
struct engine_reporter {
    void *ctx;
    void (*started)(void *ctx, const struct engine_run *run);
    void (*finished)(void *ctx, const struct engine_run *run, const struct engine_progress *pr);
    /* A job not run: a dependency failed (here or elsewhere), or stau stopped first. */
    void (*skipped)(void *ctx, const char *job, const char *why, int64_t run_id,
                    const struct engine_progress *pr);
    /* A job not run because its master chose no work IDs (SPEC §7: cancelled). */
    void (*cancelled)(void *ctx, const char *job, const char *why, int64_t run_id,
                      const struct engine_progress *pr);
    /* A job due only because dependencies ran, dropped as up to date: they left what
     * its last success started from (why: "ingest.orders reran with unchanged
     * outputs"). */
    void (*up_to_date)(void *ctx, const char *job, const char *why, int64_t run_id,
                       const struct engine_progress *pr);
    /* A job left to another stau, or what came of it there; done: the job is done
     * with that (counted in pr->done), else it waits on or is claimed here. */
    void (*held)(void *ctx, const char *job, const char *what, bool done,
                 const struct engine_progress *pr);
    /* engine_free: a run that never started because stau stopped first (label: "job",
     * "job (chunk 2/3)"; what: "not started: stau was interrupted"), counted in pr. */
    void (*stopped)(void *ctx, const char *label, const char *what, int64_t run_id,
                    const struct engine_progress *pr);
    /* A failed run will be tried again after delay_s. */
    void (*retry)(void *ctx, const struct engine_run *run, double delay_s, int next_attempt,
                  int attempts);
    /* Now and then while runs go on (progress_ms), for a status line. */
    void (*progress)(void *ctx, const struct engine_progress *pr);
};

/* What an engine is made with; everything borrowed for its life. */
struct engine_config {
    struct store *store;       /* the state database */
    struct recorder *recorder; /* records starts and ends, archives */
    const struct owner *owner; /* the stau it runs as */
    struct engine_clock clock; /* zero: engine_system_clock() */
    struct engine_procs procs; /* zero: engine_system_procs(), which handles signals */
    struct engine_reporter reporter;
    size_t slots;        /* -j: the slot budget */
    bool fail_fast;      /* stop starting new work after a failure */
    bool claim_ahead;    /* claim a submission's jobs all at once (see above) */
    const char *python;  /* the interpreter for jobs that name none */
    int64_t progress_ms; /* how often reporter.progress is called; 0: never */
    bool hangup_reloads; /* real processes: SIGHUP is ENGINE_RELOAD, not an interrupt */
    int watch_fd;        /* real processes: a descriptor whose readability ends a step
                            (ENGINE_READABLE); -1: none */
};

/* How one submission's jobs run. */
struct engine_submit_options {
    const char *kwargs;             /* the keyword arguments instead of the declared ones */
    int64_t rerun_of;               /* the run being repeated (stau rerun), or 0 */
    const struct run_record *rerun; /* ... its record: a chunk runs again with its recorded
                                       work IDs, in its batch; NULL when not a rerun */
    const char *const *env;         /* the project's env file (envfile.h): "KEY=VALUE" entries
                                       every process of it gets where stau's environment and
                                       stau's own STAU_* variables lack the key; NULL: none */
    const char *env_names;          /* their keys as a JSON array, recorded with each run;
                                       NULL: none */
    const char *given_kwargs;       /* keyword arguments given on the command line (a JSON
                                       object), merged over those job given_job runs with (its
                                       declaration's, its timetable entry's) and recorded as
                                       given; what it needs runs with its own. NULL: none */
    size_t given_job;               /* ... the job they are for (its index in the graph) */
    void (*release)(void *ctx);     /* called once the submission is over (its project and
                                       plan may go then); NULL: the caller frees them after
                                       engine_free */
    void *release_ctx;
};

/* What engine_step saw. */
enum engine_event {
    ENGINE_WORKED,    /* a run ended, or something else moved on */
    ENGINE_IDLE,      /* nothing runs and nothing waits: it returned at once */
    ENGINE_DEADLINE,  /* the caller's deadline passed */
    ENGINE_INTERRUPT, /* SIGINT/SIGTERM (see engine_interrupts): the caller decides */
    ENGINE_RELOAD,    /* SIGHUP, with hangup_reloads */
    ENGINE_READABLE,  /* watch_fd is readable */
};

/* Totals over everything submitted, for a summary. */
struct engine_totals {
    size_t succeeded, failed, skipped; /* jobs done that way */
    size_t timed_out, interrupted;     /* ... (not counted as failed) */
    size_t lost;                       /* ... taken over by another stau */
    size_t up_to_date;                 /* jobs dropped as up to date (early cutoff) */
    size_t cancelled;                  /* jobs cancelled: their master chose no work IDs */
    size_t elsewhere;                  /* jobs left to another stau */
    size_t not_finished, not_started;  /* jobs stopped half-way, never begun (once stopped) */
    int interrupts;                    /* interrupts seen */
};

struct engine;

/* Also end a step (ENGINE_READABLE) when fd is readable (-1: no such descriptor);
 * for the state database's notifications, whose descriptor changes on a reconnect.
 * Real processes only. */
void engine_set_wake_fd(struct engine *e, int fd);

/* A new engine; NULL after a message (signal handling could not be set up). */
struct engine *engine_new(const struct engine_config *cfg);
/* Submit the due jobs of plan (plan->order) of project p. With claim_ahead they are
 * claimed now. The engine borrows p and plan until opt->release is called (or until
 * engine_free). -1 after a message when nothing could be claimed. */
int engine_submit(struct engine *e, struct project *p, struct plan *plan,
                  const struct engine_submit_options *opt);
/* Whether anything runs, waits to start, or waits for another stau. */
bool engine_busy(const struct engine *e);
/* Call fn with the name of every job the engine is running or waiting to run (or
 * waiting for); the name is valid until the next engine_step. */
void engine_each_job(const struct engine *e, void (*fn)(void *ctx, const char *job), void *ctx);
/* Start what can start, wait for one event until deadline_ms (monotonic; -1: none),
 * and handle it. */
enum engine_event engine_step(struct engine *e, int64_t deadline_ms);
/* How many interrupts (SIGINT/SIGTERM) have been seen so far. */
int engine_interrupts(const struct engine *e);
/* Stop starting new work; let the running runs finish for grace_ms (0: terminate
 * them now), then terminate them as an interrupt does; their ends are recorded. */
void engine_stop(struct engine *e, int64_t grace_ms);
/* An interrupt: the first terminates every run (SIGKILL after a grace period), a
 * second kills at once; runs that end so are recorded interrupted. */
void engine_interrupt(struct engine *e);
/* The totals so far. */
void engine_totals(const struct engine *e, struct engine_totals *out);
/* The exit status the totals make (0, 1 or 130). */
int engine_exit_status(const struct engine *e);
/* Close what never began as skipped, release every submission, and free the engine
 * (runs still going are killed). */
void engine_free(struct engine *e);

/* The Python snippet each job's interpreter runs (argv: jobs root, file,
 * main_func or "", kwargs as JSON, "1" when main_func gets work_ids from
 * STAU_WORK_IDS or "", "1" when it is offered job_id and job_created_at from
 * STAU_JOB_ID and STAU_JOB_CREATED_AT or ""). */
extern const char engine_bootstrap[];

#endif
