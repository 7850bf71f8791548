/* plan.h: what runs in an invocation and why. Measures each selected job's
 * present (fingerprints of code, declaration, inputs and outputs, stat-gated
 * through the state database's file memory), reads its past from the state
 * database, asks stale.c for its reasons, and adds the whole-invocation rules:
 * each job's policy (graph.h) decides which reasons make it run on its own; a job
 * that runs on change follows a dependency that runs (upstream-due); a job that
 * runs pulls its on-demand dependencies whose make rule holds, and a dependency
 * with max_lag whose last success is too old (max-lag). */
#ifndef STAU_PLAN_H
#define STAU_PLAN_H

#include "project.h"
#include "settled.h"
#include "stale.h"
#include "store.h"

/* One job's entry in the plan. */
struct plan_job {
    bool selected;                /* a target, or something a target needs */
    bool due;                     /* runs in this invocation */
    struct reasons why;           /* the reasons it is due (empty when not) */
    struct reasons held_back;     /* reasons of the make rule its policy does not run it for
                                     on its own: a scheduled job's (until its next tick), an
                                     on-demand job's (until a job that runs needs it) */
    size_t pulled_by;             /* an on-demand job due because this job needs it (the pull
                                     rule): that job's index; SIZE_MAX: not pulled */
    bool lag_only;                /* due only by max-lag, or needed and to redo what did not
                                     succeed: run for the work IDs that are not fresh */
    bool lag_per_id;              /* ... fresh as a whole: it may be fresh for every ID it gets, and
                                     is then dropped as up to date */
    bool pulled;                  /* due only because a job that runs needs it (the pull rule:
                                     on demand, or max_lag): it runs on that job's work IDs */
    bool cutoff;                  /* due only because dependencies run first: dropped as up to
                                     date if they leave what this job's last success started from */
    char up_fp[UPSTREAM_FP_SIZE]; /* what its last success left (stale_upstream_fp) */
    const char *entry_kwargs;     /* the kwargs of the timetable entry it runs for (the one
                                     whose tick made it due, else its first), as JSON;
                                     NULL: none (borrowed from the graph) */
    char code_fp[33];             /* its present fingerprints (hex) */
    char config_fp[33];
    char inputs_fp[33];
    char outputs_fp[33];
    char *missing_output;      /* the first missing declared output, or NULL */
    struct run_record last;    /* its last run, or its latest invocation's chunks as one
                                  (work_last_invocation; id 0: none) */
    size_t chunks_missing;     /* chunks of that invocation that never started */
    struct run_record success; /* its last success (work_last_success; id 0: none) */
    int64_t version;           /* its version in the store when its past was read, which
                                  its claim checks (store_job_version) */
    int64_t schedule_from;     /* when its schedule counts ticks from (unix ms): its last
                                  run's start; 0: no run to count from (plan_build) */
    char *files;               /* the evidence lines of its code, inputs and outputs now
                                  (see run_record.files) */
    int64_t last_tick;         /* the tick its last started run stood for (unix ms) ... */
    size_t last_schedule;      /* ... and that schedule's index + 1; 0: not known */
    bool *copies;              /* per edge of its job: it gets a run of that dependency of its
                                  own (unique=True, SPEC §7; plan_build); NULL: none */
    const char *run_entry;     /* the timetable entry (id, borrowed) it runs for; NULL: none */
    const char *then_entry;    /* another timetable entry (its id, borrowed) with other kwargs
                                  ticked at the tick it runs for now (or never ran): a run for
                                  it follows this one; NULL: none */
    struct cron *schedules;    /* its schedules, parsed (declaration's and timetable's) */
    char **schedule_texts;     /* ... as written */
    size_t *schedule_entry;    /* ... the timetable entry each is (SIZE_MAX: the declaration's) */
    size_t *schedule_groups;   /* ... equal for the schedules whose runs are alike (the same
                                  kwargs: a declaration's, or entries' with equal kwargs_func) */
    const char **schedule_ids; /* ... their timetable entries' ids (NULL: the declaration's) */
    size_t schedule_count;
    struct tz *zone; /* its time zone (NULL: the machine's, loaded) */
};

/* The plan for a project. */
struct plan {
    struct plan_job *jobs; /* one per job of the graph, same indices */
    size_t count;
    struct sizelist order;  /* the due jobs, upstream first */
    size_t copies;          /* runs of unique dependencies of their own (plan_job.copies) */
    struct witness witness; /* every input and output path the plan looked at */
    bool witness_complete;  /* ... and none it could not look at */
};

/* Which jobs to consider: all (no targets), or these names, globs and tag:x. */
struct plan_options {
    char **targets; /* as given on the command line */
    size_t target_count;
    bool force;                  /* --force: the targets themselves run whatever their state */
    int64_t now;                 /* unix ms */
    const char *const *commands; /* stau's command names (NULL-terminated), to suggest one
                                    when a target is a misspelt command; may be NULL */
    const char *force_why;       /* how force was asked for, as the forced reason says it
                                    (NULL: "asked for with --force") */
    bool force_upstream;         /* force what the targets need as well */
};

/* Whether a target (a job name, a glob, or tag:NAME) names job. */
bool plan_target_matches(const char *target, const struct job *job);
/* Build the plan; -1 after a message (an unknown target, a database error). */
int plan_build(struct plan *plan, struct project *p, struct store *st,
               const struct plan_options *opt);
void plan_release(struct plan *plan);
/* The earliest schedule tick, after each selected job's last run started, that would
 * make a job due (unix ms), or INT64_MAX when no schedule ever will. */
int64_t plan_next_tick(const struct plan *plan);
/* Fingerprint job's inputs as they are now (as a run starts: upstream jobs of the
 * same invocation may have just written them) into out. The hashes it had to take
 * are appended to learned (for the caller to remember), or remembered at once when
 * learned is NULL. */
void plan_inputs_fingerprint(struct project *p, struct store *st, size_t job, int64_t now,
                             char out[33], struct store_file_list *learned, struct strbuf *files);
/* Fingerprint job's outputs as they are now (after it ran) into out; the first
 * missing one in *missing (newly allocated), else NULL; learned as above. files
 * (may be NULL) gets the evidence lines of its code and inputs (of the outputs for
 * plan_outputs_fingerprint), as run_record.files keeps them. */
void plan_outputs_fingerprint(struct project *p, struct store *st, size_t job, int64_t now,
                              char out[33], char **missing, struct store_file_list *learned,
                              struct strbuf *files);
/* Parse a job's schedules (its declaration's, then its timetable entries') and
 * load its zone into pj; -1 after a message when the zone cannot be loaded. */
int plan_load_schedules(struct plan_job *pj, const struct job *job);
/* Free what one entry holds. */
void plan_job_release(struct plan_job *pj);
/* The job's present as stale.c wants it (pointers into plan). */
void plan_job_now(const struct plan_job *pj, struct job_now *out);
/* The job's next schedule tick (unix ms) after its schedule counts from (else now),
 * CRON_NEVER when it has none; *which: the schedule that fires. */
int64_t plan_job_next_tick(const struct plan_job *pj, int64_t now, size_t *which);

#endif
