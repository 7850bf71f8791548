/* decl.h: a job's declaration, typed and checked: the value tree of STAU_CONFIG
 * turned into fields, with the original Stau's aliases resolved, defaults filled
 * in, and every wrong type or range reported at its place. */
#ifndef STAU_DECL_H
#define STAU_DECL_H

#include "diag.h"
#include "value.h"

/* One entry of `dependencies`. */
struct dependency {
    char *job;                   /* the upstream job's name, as written */
    struct loc loc;              /* where the name is written, for errors about it */
    bool has_max_lag;            /* max_lag given */
    double max_lag;              /* minutes */
    char *kwargs_json;           /* custom kwargs for the upstream job as JSON, or NULL */
    bool unique;                 /* do not share this upstream run with other dependents */
    bool allow_missing_work_ids; /* judge max_lag on the job, not per work ID */
};

/* What "on" says a job runs on (bits); 0 when the declaration does not say. */
enum {
    DECL_ON_SCHEDULE = 1, /* its schedule's ticks */
    DECL_ON_CHANGE = 2,   /* what it is made from changing (the make rule) */
    DECL_ON_DEMAND = 4,   /* only when a job that runs needs it (the pull rule) */
};

/* The declaration of one job. */
struct decl {
    VEC(struct dependency) deps; /* upstream jobs */
    struct strlist schedules;    /* cron expressions, each checked by cron_parse */
    char *timezone;              /* IANA zone of the schedule, or NULL for the machine's */
    struct strlist inputs;       /* paths or globs relative to the project root */
    struct strlist outputs;      /* paths relative to the project root */
    char *main_func;             /* function to call, or NULL to run the file as __main__ */
    char *kwargs_json;           /* keyword arguments as a JSON object ("{}" when none) */
    int64_t retries;             /* attempts after a failure */
    double retry_delay;          /* seconds before the first retry; doubles each time */
    double timeout;              /* seconds per attempt; 0 for none */
    int64_t log_limit;           /* bytes an attempt's log keeps (its first and last halves);
                                    0: all */
    int64_t slots;               /* share of the -j budget a run takes */
    struct strlist tags;         /* for selection with tag:NAME */
    char *python;                /* interpreter, or NULL for the default */
    int64_t chunk_size;          /* work IDs per run; 0 when the job is not split */
    VEC(int64_t) work_ids;       /* fixed work IDs, when given */
    bool has_work_ids;           /* work_ids given (possibly empty) */
    bool allow_multiple_jobs;    /* may a second run start while one is queued or running */
    bool is_streaming;           /* the original Stau's flag, kept for display */
    char *job_type;              /* as written, or NULL; must equal the job's name */
    struct loc job_type_loc;     /* where job_type is written */
    struct strlist data_sources; /* documentation only */
    struct strlist data_sinks;   /* documentation only */
    bool original_form;          /* declared with ReportConfig(...) */
    unsigned on;                 /* DECL_ON_* bits from "on"; 0: not given (the default) */
    struct loc on_loc;           /* where "on" is written */
};

/* What a declaration that does not say gets (from [tool.stau]; set before
 * reading, read by every reader thread). */
struct decl_defaults {
    int64_t retries;
    double retry_delay;
    int64_t log_limit;
};

/* The cap of a run's log unless [tool.stau] or the declaration says (64 MiB). */
#define DECL_LOG_LIMIT ((int64_t)64 << 20)
extern struct decl_defaults decl_defaults;

/* Every key a declaration may have, NULL-terminated (for help and did-you-mean). */
extern const char *const decl_keys[];

/* Warn that key (a str value) is not among known, with a did-you-mean; the known key
 * it is a slip for (borrowed from known), or NULL when none is close. */
const char *decl_unknown_key(struct diags *diags, const char *path, const struct value *key,
                             const char *const *known, const char *what);
/* Check v (STAU_CONFIG's value) of job `job` (its name, for messages; NULL: not known)
 * and fill out; errors and warnings go to diags under path. A misspelt key that is
 * certainly a known one is a warning followed by a note of what the job then lacks
 * ("so 'x' has no schedule"), unless it gives that key too. Returns 0, or -1 when
 * there was an error: out then holds what had none (release it as well). */
int decl_build(const struct value *v, const char *path, const char *job, struct decl *out,
               struct diags *diags);
/* Release all of d but its dependencies: what a declaration with errors keeps, to
 * check them against the other jobs (it never runs). */
void decl_keep_dependencies(struct decl *d);
void decl_release(struct decl *d);
/* Append the declaration as a JSON object with every key, defaults included. */
void decl_to_json(const struct decl *d, struct strbuf *out);
/* The same keys without the braces, to go inside a bigger object. */
void decl_json_fields(const struct decl *d, struct strbuf *out);

#endif
