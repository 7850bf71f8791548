/* stale.h: the reasons a job is due (SPEC §2), each with its evidence. Pure:
 * fed by structs describing the present and the recorded past, with the clock
 * as a parameter, so every rule can be tested without a disk or a clock. */
#ifndef STAU_STALE_H
#define STAU_STALE_H

#include <stdbool.h>
#include <stdint.h>
#include "cron.h"
#include "store.h"
#include "tz.h"

enum reason_kind {
    REASON_NEVER_RUN,
    REASON_FAILED,
    REASON_CODE_CHANGED,
    REASON_CONFIG_CHANGED,
    REASON_INPUT_CHANGED,
    REASON_OUTPUT_MISSING,
    REASON_OUTPUT_CHANGED,
    REASON_UPSTREAM_CHANGED,
    REASON_UPSTREAM_DUE,
    REASON_MAX_LAG,
    REASON_SCHEDULE,
    REASON_FORCED,
};

/* One reason and what shows it. */
struct reason {
    enum reason_kind kind;
    char *evidence;    /* e.g. "src/a.py changed since the last success (run 12)" */
    int64_t tick;      /* REASON_SCHEDULE: the tick it stands for (unix ms); else 0 */
    size_t schedule;   /* REASON_SCHEDULE, or REASON_NEVER_RUN of an entry's first run:
                          the index of its schedule, + 1; else 0 */
    const char *entry; /* ... that schedule's timetable entry id (borrowed), recorded with
                          the run ("tick", "entry"); NULL: a declaration's schedule */
};

/* A list of reasons; works with VEC_PUSH. */
struct reasons {
    struct reason *items;
    size_t len, cap;
};

/* The present state of a job, as measured now. */
struct job_now {
    const char *code_fp;               /* fingerprint of its code and local imports (hex) */
    const char *config_fp;             /* of its evaluated declaration */
    const char *inputs_fp;             /* of its inputs' contents and the files its globs match */
    const char *outputs_fp;            /* of its outputs as they are now */
    const char *missing_output;        /* the first declared output that does not exist, or NULL */
    const struct cron *schedules;      /* its schedules, parsed */
    const char *const *schedule_texts; /* the same as written */
    size_t schedule_count;
    const struct tz *zone;               /* zone its schedules are read in */
    bool forced;                         /* --force */
    const char *files;                   /* evidence lines of its code, inputs and outputs now (see
                                            run_record.files); NULL: not known */
    const char *forced_why;              /* when forced, how it was asked for; NULL: "--force" */
    const size_t *schedule_groups;       /* per schedule: equal for schedules whose runs are
                                            alike (a timetable entry's kwargs); NULL: all alike */
    const char *const *schedule_entries; /* per schedule: its timetable entry's id, or NULL
                                            (a declaration's); NULL: none is an entry */
};

/* What the state database says about it. */
struct job_past {
    const struct run_record *last;    /* the last run of any kind, or NULL; for a chunked
                                         job its latest invocation: the failing chunk, or
                                         the newest, with the state of all its chunks */
    const struct run_record *success; /* the last successful run (of a chunked job: of an
                                         invocation whose chunks all succeeded), or NULL */
    size_t chunks_missing;            /* chunks of the latest invocation that never started */
    int64_t schedule_from;            /* unix ms the schedule counts ticks from: when the
                                         last run that started did (a skipped run never
                                         did); 0: none to count from */
    int64_t last_tick;                /* the tick that last run stood for (unix ms) ... */
    size_t last_schedule;             /* ... and its schedule's index + 1; 0: not known */
};

/* One dependency, as the planner sees it. */
struct upstream {
    const char *name;            /* the dependency's name */
    bool due;                    /* it runs in this invocation */
    int64_t success_started_at;  /* its last success's start, unix ms; 0: none */
    int64_t success_finished_at; /* ... and end */
    const char *fp;              /* what its last success left: stale_upstream_fp's text;
                                    NULL: it never succeeded */
    int64_t success_id;          /* the run (or batch) of that success; 0: none */
};

/* The size of an upstream fingerprint's text, with its NUL. */
enum { UPSTREAM_FP_SIZE = 40 };
/* What a dependency's success left, as its dependents remember it (an evidence line
 * "u\tJOB\tFP" of their runs): "o:" and the outputs fingerprint when it declares
 * outputs, else "r:" and the run of that success (of a chunked job: its chunk that
 * ended last), which changes whenever it succeeds again. Empty when it never succeeded. */
void stale_upstream_fp(bool has_outputs, const char *outputs_fp, int64_t success_run,
                       char out[UPSTREAM_FP_SIZE]);
/* The upstream fingerprint of job recorded in evidence lines (run_record.files), into
 * out; false when none is recorded (an older run, or a new dependency). */
bool stale_recorded_upstream(const char *files, const char *job, char out[UPSTREAM_FP_SIZE]);

/* The name of a reason as `stau why` and --json print it ("code-changed"). */
const char *reason_name(enum reason_kind kind);
/* Add every reason job is due, as far as it alone and its upstream's records
 * tell (never-run ... upstream-changed, schedule, forced); upstream-due and max-lag
 * are the planner's, which sees the whole invocation. now is unix ms. */
void stale_reasons(const struct job_now *job, const struct job_past *past,
                   const struct upstream *deps, size_t dep_count, int64_t now, struct reasons *out);
/* Whether another schedule of the job, after the one with index `after`, ticks at
 * `tick` too for a run not alike (another timetable entry's kwargs) of those ticking
 * then up to `after`: the same tick then gives that entry a run of its own (SPEC §7).
 * *which: the first such schedule. */
bool stale_tick_left(const struct job_now *job, int64_t tick, size_t after, size_t *which);
/* Whether a schedule after the one with index `after` is for a run not alike those up
 * to it (another timetable entry's kwargs), whatever their ticks: a job that never ran
 * runs once for each such entry. *which: the first. */
bool stale_entry_left(const struct job_now *job, size_t after, size_t *which);
/* The next tick of job's schedules strictly after `after` (unix ms), CRON_NEVER
 * when it has none; *which gets the index of the schedule that fires (may be NULL). */
int64_t stale_next_tick(const struct job_now *job, int64_t after, size_t *which);
/* Append to out what differs between two sets of evidence lines (run_record.files)
 * of kind ('c' code, 'i' inputs, 'o' outputs): "src/a.py changed, data/b.csv is
 * new, data/c.csv is gone", the first three and "and N more"; nothing when either
 * is NULL or did not keep every file. */
void stale_files_diff(const char *recorded, const char *now, char kind, struct strbuf *out);
/* Append a reason (evidence printf-formatted). */
void reasons_add(struct reasons *r, enum reason_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether r holds a reason of this kind. */
bool reasons_have(const struct reasons *r, enum reason_kind kind);
void reasons_release(struct reasons *r);
/* Append r as a JSON array of {"reason": name, "evidence": text}, as runs record it
 * and the --json outputs print it; the reason of a timetable entry adds "entry" (its
 * id) and, when it stands for a tick, "tick" and "tick_ms". */
void reasons_to_json(const struct reasons *r, struct strbuf *out);
/* Format unix ms as "2026-11-27 21:39:29 UTC" (or in zone when given). */
void stale_format_time(int64_t ms, const struct tz *zone, struct strbuf *out);
/* Format a duration in ms as "3h 12m", "45s", "2d 4h". */
void stale_format_age(int64_t ms, struct strbuf *out);

#endif
