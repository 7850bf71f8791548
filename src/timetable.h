/* timetable.h: the original Stau's timetable, `recurring_jobs` in the jobs
 * root's stau_schedule.py, read statically: APScheduler's CronTrigger(...) and
 * IntervalTrigger(...) become stau schedules of the jobs they name. */
#ifndef STAU_TIMETABLE_H
#define STAU_TIMETABLE_H

#include "diag.h"
#include "value.h"

/* The file, below the jobs root, that holds the timetable. */
#define TIMETABLE_FILE "stau_schedule.py"
/* The module-level name it is bound to. */
#define TIMETABLE_NAME "recurring_jobs"

/* One entry of recurring_jobs. */
struct timetable_entry {
    char *id;          /* the entry's "id" (or its index when it has none) */
    char *job;         /* kwargs_stau_api.jobType: the job it runs */
    char *schedule;    /* the trigger as a stau schedule: 5 cron fields, or "@every 5m" */
    char *kwargs_json; /* kwargs_stau_api.kwargs_func when it is a dict, as JSON, or NULL */
    struct loc loc;    /* where the entry is written, for messages about it */
};

/* A list of entries; works with VEC_PUSH. */
struct timetable {
    struct timetable_entry *items;
    size_t len, cap;
};

/* Check v (the value of recurring_jobs) and fill out; problems go to diags
 * under path. Entries with errors are left out. Returns -1 if there were errors. */
int timetable_build(const struct value *v, const char *path, struct timetable *out,
                    struct diags *diags);
void timetable_release(struct timetable *t);
/* The schedule for an APScheduler CronTrigger's fields (a dict value); NULL after
 * adding an error to diags. Newly allocated. */
char *timetable_cron(const struct value *trigger, const char *path, struct diags *diags);

#endif
