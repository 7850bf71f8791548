/* exec.h: running a plan: the parallel loop (see exec.c). */
#ifndef STAU_EXEC_H
#define STAU_EXEC_H

#include "plan.h"

/* Exit statuses of a run (SPEC §3). */
enum { EXIT_RUN_FAILED = 1, EXIT_RUN_USAGE = 2, EXIT_RUN_INTERRUPTED = 130 };

/* How to run. */
struct exec_options {
    size_t slots;       /* -j: the slot budget */
    bool fail_fast;     /* stop starting new work after a failure */
    const char *python; /* the interpreter for jobs that do not name one */
    bool tty;           /* stdout is a terminal: one status line instead of plain lines */
    const char *kwargs; /* when set, the keyword arguments instead of the declared ones */
    int64_t rerun_of;   /* the run being repeated (stau rerun), or 0 */
    const struct run_record *rerun; /* ... its record: a chunk runs again with its recorded
                                       work IDs, in its batch; NULL when not a rerun */
};

/* The Python snippet each job's interpreter runs (argv: jobs root, file,
 * main_func or "", kwargs as JSON, "1" when main_func gets work_ids from
 * STAU_WORK_IDS or ""). */
extern const char exec_bootstrap[];

/* The value of a job's STAU_OWNER: the stau that started it, as "pid:start ms"
 * (newly allocated), so its orphans can be told from other processes after it died. */
char *exec_owner_id(int owner_pid, int64_t owner_start);

/* Run plan->order; returns the exit status (0, 1 or 130; 2 if nothing could run). */
int exec_run(struct project *p, struct store *st, struct plan *plan,
             const struct exec_options *opt);

#endif
