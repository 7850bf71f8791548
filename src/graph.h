/* graph.h: jobs and their dependencies: name lookup, dependency checks
 * (unknown jobs with did-you-mean, self-dependencies, duplicate names, cycles
 * printed edge by edge), and orders over the graph. Pure: no disk, no clock. */
#ifndef STAU_GRAPH_H
#define STAU_GRAPH_H

#include "decl.h"
#include "diag.h"
#include "timetable.h"

/* A resolved dependency edge. */
struct edge {
    size_t to;                    /* index of the upstream job */
    const struct dependency *dep; /* the declaration's entry (max_lag, kwargs, location) */
};

/* One job in the graph. */
struct job {
    char *name;              /* e.g. "sales.report" */
    const char *path;        /* file, relative to the project root (borrowed) */
    const struct decl *decl; /* its declaration (borrowed) */
    struct loc decl_loc;     /* where STAU_CONFIG is assigned */
    VEC(struct edge) deps;   /* upstream jobs, in declaration order */
    VEC(const struct timetable_entry *)
    timetable;         /* its entries in the original Stau's
                          timetable, if any */
    bool in_cycle;     /* part of a dependency cycle */
    bool broken;       /* its declaration has errors (decl then holds only its dependencies) */
    bool invalid;      /* it cannot run: broken, an error in its file, or in a cycle
                          (graph_mark_invalid) */
    bool blocked;      /* it is not run: invalid, or it needs a blocked job */
    size_t blocked_by; /* when blocked: its own index when invalid, else the dependency
                          (a blocked one) it waits for; follow it to the invalid job */
};

/* The graph: jobs sorted by name. */
struct graph {
    VEC(struct job) jobs;  /* sorted by name */
    struct strmap by_name; /* name -> index in jobs */
    size_t edge_count;     /* dependencies resolved */
};

/* A job to put in the graph. */
struct graph_input {
    const char *name;        /* job name */
    const char *path;        /* file it comes from */
    const struct decl *decl; /* its declaration */
    struct loc decl_loc;     /* where STAU_CONFIG is */
    bool broken;             /* the declaration has errors; decl holds only its dependencies */
};

/* Build the graph from inputs, adding every problem to diags. Jobs with a
 * duplicate name are left out after the first; unknown dependencies are left out. */
void graph_build(struct graph *g, const struct graph_input *inputs, size_t count,
                 struct diags *diags);
void graph_release(struct graph *g);
/* Attach the timetable's entries (from file path) to the jobs they run; an entry
 * naming no job is an error in diags. */
void graph_add_timetable(struct graph *g, const char *path, const struct timetable *t,
                         struct diags *diags);
/* When a job runs on its own (SPEC §2). */
enum policy {
    POLICY_SCHEDULED, /* at its schedule's ticks (and once if it never ran) */
    POLICY_DERIVED,   /* when what it is made from changed: the make rule */
    POLICY_ON_DEMAND, /* never on its own: when a job that runs needs it */
};
/* A job's policy: its "on", else scheduled when it has a schedule (its own or a
 * timetable entry), on demand when declared in the original Stau's ReportConfig
 * form, derived otherwise. */
enum policy job_policy(const struct job *job);
/* Whether the make rule makes the job due on its own: derived, or scheduled with
 * "on" including "change". */
bool job_on_change(const struct job *job);
/* "scheduled", "derived", "on demand". */
const char *policy_name(enum policy policy);
/* The policy as the --json outputs write it: "scheduled", "derived", "on-demand". */
const char *policy_json_name(enum policy policy);
/* How the job's policy is told in `why` and `list`: "scheduled", "scheduled and
 * on change", "derived", "on demand". */
const char *job_policy_text(const struct job *job);
/* Add an error to diags for each job whose "on" does not fit its schedules (after
 * graph_add_timetable). */
void graph_check_policies(const struct graph *g, struct diags *diags);

/* Mark the jobs that cannot run (job.invalid: broken, in a cycle, or an error in
 * diags about its file) and every job that needs one of them, transitively
 * (job.blocked); returns how many are blocked. */
size_t graph_mark_invalid(struct graph *g, const struct diags *diags);
/* Why a blocked job is not run, for "NAME not run: ..." ("its declaration is
 * invalid", "it depends on 'a', whose declaration is invalid"). */
void graph_blocked_reason(const struct graph *g, size_t job, struct strbuf *out);

/* Index of the job with this name, or -1. */
long graph_find(const struct graph *g, const char *name);
/* The job name closest to `name` (a typo, or its last component only), other than
 * `exclude` (may be NULL), or NULL. */
const char *graph_closest(const struct graph *g, const char *name, const char *exclude);
/* Mark in `selected` (one bool per job) the given jobs and everything upstream of them. */
void graph_upstream(const struct graph *g, const size_t *roots, size_t count, bool *selected);
/* The jobs not in a cycle in dependency order (upstream first, ties by name) into order. */
void graph_topological(const struct graph *g, struct sizelist *order);

#endif
