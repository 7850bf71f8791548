/* engine_work.c: the engine's chunked jobs (SPEC §7, work.h): a due job begins by
 * learning its work IDs (declared, recorded for a rerun of a chunk, or from
 * select_work run in a short process of its own, which holds the job's slots), then
 * becomes one task per chunk. */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The due job's work IDs are known (d->ids): one task per chunk (one when there are none). */
static void add_chunks(struct engine *e, struct due_job *d)
{
    int64_t size = due_job_of(d)->decl->chunk_size;
    size_t n = work_chunk_count(d->ids.len, size);
    d->chunked = true;
    for (size_t k = 0; k < (n ? n : 1); k++) {
        size_t first = 0, count = 0;
        if (n)
            work_chunk_slice(d->ids.len, size, k, &first, &count);
        engine_add_task(e, d, (int)k + 1, n ? (int)n : 1, first, count);
    }
}

/* Whether starting the due job starts select_work (and so needs its slots). */
bool engine_needs_selection(const struct due_job *d)
{
    const struct job *job = due_job_of(d);
    return work_is_chunked(job->decl) && !job->decl->has_work_ids && !d->sub->opt.rerun &&
           work_may_select(d->sub->p->root, job->path);
}

/* select_work failed: record that as a failed run of the job (its log is select_work's). */
static void selection_failed(struct engine *e, struct due_job *d, struct run_finish *fin,
                             char *failure, int64_t ms)
{
    struct task *t = engine_add_task(e, d, 0, 0, 0, 0);
    t->log_path = d->select.log;
    d->select.log = NULL;
    t->started_wall = d->select.started;
    t->failure = failure;
    t->state = TASK_DONE;
    int64_t now = engine_wall(e);
    bool claimed;
    bool recorded = engine_record_begin(e, t, NULL, d->select.started, &claimed) == 0;
    if (recorded) {
        struct recorder_start start = {0};
        snprintf(start.inputs_fingerprint, sizeof(start.inputs_fingerprint), "%s",
                 d->sub->plan->jobs[d->job].inputs_fp);
        engine_record_start(e, t, 0, d->select.started, &start, claimed, NULL);
    }
    engine_finish_task(e, t, fin->status, ms);
    if (recorded)
        engine_record_end(e, t, fin, now, NULL);
}

/* Start select_work for a due job, in a process of its own, like a run. */
static void start_selection(struct engine *e, struct due_job *d)
{
    const struct job *job = due_job_of(d);
    struct work_select_spec spec = {.root = d->sub->p->root,
                                    .jobs_path = d->sub->jobs_path,
                                    .job = job->name,
                                    .path = job->path,
                                    .python = engine_interpreter(e, job),
                                    .kwargs = engine_kwargs(d),
                                    .timeout = job->decl->timeout,
                                    .grace_ms = GRACE_MS};
    struct strbuf err = STRBUF_INIT;
    d->began = true;
    if (work_select_start(&d->select, &spec, &err) < 0) {
        struct run_finish fin = {.status = RUN_FAILED, .exit_code = -1};
        selection_failed(e, d, &fin, xprintf("failed to start select_work: %s", err.buf), 0);
    } else {
        e->cfg.procs.add(e->cfg.procs.ctx, &d->select.proc);
        d->state = JOB_SELECTING;
        e->selecting++;
        e->slots_used += (size_t)job->decl->slots;
    }
    strbuf_release(&err);
}

/* select_work ended: make the job's chunks, its one run, or record the failure. */
void engine_end_selection(struct engine *e, struct due_job *d, const struct proc_event *ev)
{
    const struct job *job = due_job_of(d);
    e->slots_used -= (size_t)job->decl->slots;
    e->selecting--;
    struct strbuf problem = STRBUF_INIT;
    struct run_finish fin = {
        .status = RUN_FAILED, .exit_code = ev->signal ? -1 : ev->status, .signal = ev->signal};
    enum work_selection got = work_select_end(&d->select, ev, e->totals.interrupts > 0,
                                              job->decl->timeout, &d->ids, &problem, &fin.status);
    if (got == WORK_SELECT_OK)
        add_chunks(e, d);
    else if (got == WORK_SELECT_NONE)
        engine_add_task(e, d, 0, 0, 0, 0);
    else
        selection_failed(e, d, &fin, strbuf_detach(&problem), ev->wall_ms);
    strbuf_release(&problem);
}

/* Begin a due job: its work IDs declared, recorded (a rerun of a chunk), or asked of
 * select_work; or its one run. */
void engine_start_job(struct engine *e, struct due_job *d)
{
    const struct decl *decl = due_job_of(d)->decl;
    const struct run_record *old = d->sub->opt.rerun;
    d->result = RUN_SUCCEEDED;
    d->pass_work_ids = work_is_chunked(decl);
    if (old && old->work_ids_json && work_ids_parse(old->work_ids_json, &d->ids) == 0) {
        /* The chunk again, as another attempt in its batch: its work IDs as recorded. */
        d->chunked = d->pass_work_ids = true;
        d->batch = old->batch;
        engine_add_task(e, d, old->chunk > 0 ? old->chunk : 1, old->chunks > 0 ? old->chunks : 1, 0,
                        d->ids.len);
    } else if (old || !work_is_chunked(decl)) {
        engine_add_task(e, d, 0, 0, 0, 0);
    } else if (decl->has_work_ids) {
        for (size_t i = 0; i < decl->work_ids.len; i++)
            VEC_PUSH(&d->ids, decl->work_ids.items[i]);
        add_chunks(e, d);
    } else if (!work_may_select(d->sub->p->root, due_job_of(d)->path)) {
        engine_add_task(e, d, 0, 0, 0, 0);
    } else {
        start_selection(e, d);
    }
}
