/* engine_work.c: the engine's chunked jobs (SPEC §7, work.h): a due job begins by
 * learning its work IDs (declared, recorded for a rerun of a chunk, or from
 * select_work run in a short process of its own, which holds the job's slots), then
 * becomes one task per chunk. */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether a due job takes its work IDs from its dependents when they have some: it is
 * chunked and declares none of its own (and, engine_plan_graph checks, it runs only
 * because they need it: a job due on its own chooses its own). */
static bool may_be_fed(const struct due_job *d)
{
    const struct decl *decl = due_job_of(d)->decl;
    return work_is_chunked(decl) && !decl->has_work_ids;
}

/* The kwargs declared on the edge from job to its dependency `to` (custom_kwargs);
 * NULL: none. */
static const char *edge_kwargs(const struct job *job, size_t to)
{
    for (size_t e = 0; e < job->deps.len; e++)
        if (job->deps.items[e].to == to)
            return job->deps.items[e].dep->kwargs_json;
    return NULL;
}

/* A timetable entry's kwargs_func may give the master its work IDs ("work_ids"): they
 * are its IDs then (select_work is not asked), and not a keyword argument. */
static void take_given_ids(struct due_job *d)
{
    struct strbuf rest = STRBUF_INIT;
    if (work_is_chunked(due_job_of(d)->decl) && work_ids_given(d->flow, &d->ids) &&
        json_object_without(d->flow, "work_ids", &rest) == 0) {
        d->ids_given = true;
        /* Its timetable entry gave none: cancelled, in the original form (SPEC §7). */
        d->cancelled = !d->ids.len && due_job_of(d)->decl->original_form;
        free(d->flow);
        d->flow = rest.len > 2 ? strbuf_detach(&rest) : NULL;
    } else {
        d->ids.len = 0;
    }
    strbuf_release(&rest);
}

void engine_plan_graph(struct engine *e, struct submission *sub)
{
    (void)e;
    if (sub->opt.rerun || sub->opt.kwargs)
        return; /* a rerun repeats a run as it was */
    /* Dependents come after what they need in the plan's order: from the last back,
     * each job's dependents are settled before it. */
    for (size_t k = sub->due_count; k-- > 0;) {
        struct due_job *d = &sub->due[k];
        const struct plan_job *pj = &sub->plan->jobs[d->job];
        const struct due_job *parent = NULL;
        for (size_t at = sub->dependents_at[k]; at < sub->dependents_at[k + 1]; at++) {
            struct due_job *w = &sub->due[sub->dependents[at]];
            /* (A job due on its own runs with its own kwargs, for its own graph.) */
            if (!parent && pj->pulled)
                parent = w;
            if (may_be_fed(d) && pj->pulled && work_is_chunked(due_job_of(w)->decl)) {
                d->fed = w->feeds = true;
                d->feeders_left++;
                /* w waits for d's chunks that share its IDs, not for all of d. */
                sub->chunk_edge[at] = true;
                w->waiting_for--;
                w->fed_pending++;
            }
        }
        /* What flows to it: its first dependent's flow and that edge's custom kwargs
         * (the lower edge wins), or, at the top, its timetable entry's kwargs. */
        struct strbuf flow = STRBUF_INIT;
        const char *from = parent ? parent->flow : pj->entry_kwargs;
        const char *edge = parent ? edge_kwargs(due_job_of(parent), d->job) : NULL;
        d->master = parent ? (parent->master ? parent->master : parent) : d;
        if ((from || edge) && json_object_merge(from, edge, &flow) == 0 && flow.len > 2) {
            d->flow = strbuf_detach(&flow);
            if (!parent)
                take_given_ids(d);
            struct strbuf kwargs = STRBUF_INIT;
            if (d->flow &&
                json_object_merge(due_job_of(d)->decl->kwargs_json, d->flow, &kwargs) == 0)
                d->kwargs = strbuf_detach(&kwargs);
            strbuf_release(&kwargs);
        }
        strbuf_release(&flow);
    }
    /* The kwargs given on the command line go over what the job would run with; they
     * are not part of what flows to its dependencies. */
    for (size_t k = 0; sub->opt.given_kwargs && k < sub->due_count; k++) {
        struct due_job *d = &sub->due[k];
        if (d->job != sub->opt.given_job)
            continue;
        struct strbuf kwargs = STRBUF_INIT;
        if (json_object_merge(d->kwargs ? d->kwargs : due_job_of(d)->decl->kwargs_json,
                              sub->opt.given_kwargs, &kwargs) == 0) {
            free(d->kwargs);
            d->kwargs = strbuf_detach(&kwargs);
        }
        strbuf_release(&kwargs);
    }
}

/* A fed job whose feeders chose no IDs at all has nothing to do: done without a run,
 * so that what waits for it goes on. */
static void finish_unneeded(struct engine *e, struct due_job *d, const char *why)
{
    struct submission *sub = d->sub;
    if (d->state == JOB_READY)
        sub->ready_jobs--;
    d->result = RUN_SUCCEEDED;
    d->not_needed = true;
    /* Its master chose none: cancelled with it (SPEC §7); else skipped. */
    d->cancelled = d->master && d->master != d && d->master->cancelled;
    int64_t run_id = engine_close_claim(e, d, d->cancelled ? RUN_CANCELLED : RUN_SKIPPED);
    e->done++;
    if (d->cancelled)
        engine_report_cancelled(e, due_job_of(d)->name, why, run_id);
    else
        engine_report_skipped(e, due_job_of(d)->name, why, run_id);
    engine_finish_job(e, d);
}

static void feed_down(struct engine *e, struct due_job *d, bool ran);

/* A fed job's last feeder has chosen: its IDs are final (or, given none, it chooses
 * its own as any job does). */
static void fed_in_full(struct engine *e, struct due_job *d)
{
    const struct plan_job *pj = &d->sub->plan->jobs[d->job];
    if (!d->got_ids && d->state != JOB_DONE) {
        if (!d->feeder_ran) {
            /* Pulled in for jobs that did not run here (skipped, failed to choose,
             * left to another stau): nothing to do for it. */
            char *why = xprintf("'%s' did not run here: nothing to do for it",
                                d->feeder_gone ? d->feeder_gone : due_job_of(d)->name);
            finish_unneeded(e, d, why);
            free(why);
        } else if (pj->lag_per_id) {
            /* Fresh as a whole, and given no IDs to judge by. */
            engine_finish_up_to_date(e, d, "its last success is within its max_lag");
        }
        return; /* else it chooses its own, as any job does */
    }
    if (!d->got_ids)
        return;
    d->ids_known = true;
    work_ids_sort(&d->ids, true);
    if (!d->ids.len && !d->empty_why)
        d->empty_why =
            d->fresh_ids
                ? xprintf("'%s' is fresh for every work ID it was given", due_job_of(d)->name)
                : xprintf("'%s' chose no work IDs", due_job_of(d->master ? d->master : d)->name);
    feed_down(e, d, true);
    if (d->ids.len || d->state == JOB_DONE)
        return;
    if (d->fresh_ids) {
        /* Pulled in by max_lag only, and fresh for each ID: up to date. */
        char *why = xprintf("its last success for each of the %zu work IDs it was given is "
                            "within its max_lag",
                            d->fresh_ids);
        engine_finish_up_to_date(e, d, why);
        free(why);
    } else {
        char *why = xprintf("%s: nothing to do for it", d->empty_why);
        finish_unneeded(e, d, why);
        free(why);
    }
}

/* d, not fed itself, knows its work IDs: read the last successes, for them, of every
 * job of its submission that is fed and may be judged per work ID (not only those d
 * feeds: a superset, read in one store_work_done_many, SPEC §7), before they flow
 * down; what is not read here give_ids asks for itself. */
static void read_ahead(struct engine *e, const struct due_job *d)
{
    struct submission *sub = d->sub;
    VEC(struct work_done_ask) asks = {0};
    VEC(struct due_job *) whose = {0};
    for (size_t k = 0; k < sub->due_count && d->ids.len; k++) {
        struct due_job *up = &sub->due[k];
        if (!up->fed || up->known_done || !sub->plan->jobs[up->job].lag_only)
            continue;
        for (size_t n = 0; n < d->ids.len; n++)
            VEC_PUSH(&up->known_ids, d->ids.items[n]);
        work_ids_sort(&up->known_ids, true);
        up->known_done = xcalloc(up->known_ids.len + 1, sizeof(int64_t));
        struct work_done_ask ask = {due_job_of(up)->name, up->known_ids.items, up->known_ids.len,
                                    up->known_done};
        VEC_PUSH(&asks, ask);
        VEC_PUSH(&whose, up);
    }
    if (asks.len && store_work_done_many(e->cfg.store, asks.items, asks.len) < 0) {
        warn("%s", store_error(e->cfg.store)); /* each asks again, then */
        for (size_t k = 0; k < whose.len; k++) {
            VEC_FREE(&whose.items[k]->known_ids);
            free(whose.items[k]->known_done);
            whose.items[k]->known_done = NULL;
        }
    }
    VEC_FREE(&asks);
    VEC_FREE(&whose);
}

/* The last successes of up for ids from what was read ahead; false when some ID was
 * not. */
static bool known_done(const struct due_job *up, const struct work_ids *ids, int64_t *done)
{
    if (!up->known_done)
        return false;
    for (size_t n = 0; n < ids->len; n++) {
        size_t lo = 0, hi = up->known_ids.len;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (up->known_ids.items[mid] < ids->items[n])
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == up->known_ids.len || up->known_ids.items[lo] != ids->items[n])
            return false;
        done[n] = up->known_done[lo];
    }
    return true;
}

/* The work IDs of d that up, pulled in by max_lag only, still needs: those whose last
 * success for it is older than the edge's max_lag (or missing); all of them when
 * freshness is not judged per ID. Counts the fresh ones in up->fresh_ids. */
static void give_ids(struct engine *e, const struct due_job *d, struct due_job *up)
{
    struct submission *sub = d->sub;
    const struct plan_job *pj = &sub->plan->jobs[up->job];
    const struct dependency *dep = NULL;
    const struct job *job = due_job_of(d);
    for (size_t i = 0; i < job->deps.len && !dep; i++)
        if (job->deps.items[i].to == up->job)
            dep = job->deps.items[i].dep;
    int64_t *done = NULL;
    if (pj->lag_only && dep && dep->has_max_lag && !dep->allow_missing_work_ids && d->ids.len) {
        done = xcalloc(d->ids.len, sizeof(*done));
        if (!known_done(up, &d->ids, done) && store_work_done(e->cfg.store, due_job_of(up)->name,
                                                              d->ids.items, d->ids.len, done) < 0) {
            warn("%s", store_error(e->cfg.store)); /* then every ID runs */
            free(done);
            done = NULL;
        }
    }
    /* d's IDs are sorted (a master's may repeat one), and so are those up has from
     * other feeders: one merge keeps them sorted, and fed_in_full's pass then only
     * drops repeats. */
    int64_t now = engine_wall(e), limit = dep ? (int64_t)(dep->max_lag * 60000.0) : 0;
    struct work_ids merged = {0};
    size_t have = 0;
    for (size_t n = 0; n < d->ids.len; n++) {
        if (done && done[n] && now - done[n] <= limit) {
            up->fresh_ids++;
            continue;
        }
        int64_t id = d->ids.items[n];
        while (have < up->ids.len && up->ids.items[have] < id)
            VEC_PUSH(&merged, up->ids.items[have++]);
        if (have < up->ids.len && up->ids.items[have] == id)
            have++;
        VEC_PUSH(&merged, id);
    }
    while (have < up->ids.len)
        VEC_PUSH(&merged, up->ids.items[have++]);
    VEC_FREE(&up->ids);
    up->ids = merged;
    free(done);
    up->got_ids = true;
}

/* d's work IDs are known (or it has none: it is not split): give them to the due
 * dependencies it feeds. */
static void feed_down(struct engine *e, struct due_job *d, bool ran)
{
    if (!d->feeds)
        return;
    d->feeds = false; /* once */
    if (!d->fed && d->ids_known && ran)
        read_ahead(e, d);
    struct submission *sub = d->sub;
    const struct job *job = due_job_of(d);
    for (size_t i = 0; i < job->deps.len; i++) {
        size_t k = engine_dep(d, i);
        struct due_job *up = k != SIZE_MAX ? &sub->due[k] : NULL;
        if (!up || !up->fed || !up->feeders_left)
            continue;
        up->feeder_ran |= ran;
        if (!ran && !up->feeder_gone)
            up->feeder_gone = job->name;
        if (d->ids_known && ran) {
            give_ids(e, d, up);
            if (!d->ids.len && d->empty_why && !up->empty_why)
                up->empty_why = xstrdup(d->empty_why);
        }
        if (--up->feeders_left == 0)
            fed_in_full(e, up);
    }
}

/* After an invocation that failed in part, the next one redoes only the work IDs
 * without a success since it began (SPEC §7), unless it runs for a change (code,
 * declaration, inputs, outputs, upstream: every ID then) or was asked for with
 * --force. */
static void leave_out_done(struct engine *e, struct due_job *d)
{
    const struct plan_job *pj = &d->sub->plan->jobs[d->job];
    const struct run_record *last = &pj->last;
    if (d->fed || d->sub->opt.rerun || !d->ids.len || !last->id || !last->chunks ||
        !run_status_finished(last->status) || last->status == RUN_SUCCEEDED)
        return;
    for (size_t r = 0; r < pj->why.len; r++) {
        enum reason_kind kind = pj->why.items[r].kind;
        if (kind != REASON_FAILED && kind != REASON_NEVER_RUN && kind != REASON_SCHEDULE &&
            kind != REASON_MAX_LAG)
            return;
    }
    int64_t since = last->started_at ? last->started_at : last->queued_at;
    int64_t *done = xcalloc(d->ids.len, sizeof(*done));
    if (store_work_done(e->cfg.store, due_job_of(d)->name, d->ids.items, d->ids.len, done) < 0) {
        warn("%s", store_error(e->cfg.store)); /* then every ID runs again */
        free(done);
        return;
    }
    size_t kept = 0;
    for (size_t n = 0; n < d->ids.len; n++)
        if (!done[n] || done[n] < since)
            d->ids.items[kept++] = d->ids.items[n];
    if (!kept && !d->empty_why)
        d->empty_why = xprintf("'%s' has no work IDs left to redo", due_job_of(d)->name);
    d->ids.len = kept;
    free(done);
}

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
    engine_link_chunks(e, d);
}

/* Whether starting the due job starts select_work (and so needs its slots). */
bool engine_needs_selection(const struct due_job *d)
{
    const struct job *job = due_job_of(d);
    return work_is_chunked(job->decl) && !job->decl->has_work_ids && !d->ids_given &&
           !d->sub->opt.rerun && !d->ids_known && !d->selected_none &&
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
    t->ended_wall = now;
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
                                    .env = d->sub->opt.env,
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
    if (got == WORK_SELECT_OK) {
        /* An original-form master choosing none is cancelled, with what it needs
         * (SPEC §7); stau's own form succeeds with nothing to do. */
        d->cancelled = !d->ids.len && !d->fed && due_job_of(d)->decl->original_form;
        work_ids_sort(&d->ids, false);
        leave_out_done(e, d);
        d->ids_known = true;
    }
    d->selected_none = got == WORK_SELECT_NONE;
    feed_down(e, d, got != WORK_SELECT_FAILED);
    if (got == WORK_SELECT_FAILED) {
        selection_failed(e, d, &fin, strbuf_detach(&problem), ev->wall_ms);
    } else if (d->early && d->failed_upstream) {
        d->early = false;
        char *why =
            d->failed_why ? xstrdup(d->failed_why) : xprintf("'%s' failed", d->failed_upstream);
        engine_skip_job(e, d, d->failed_upstream, why);
        free(why);
    } else if (d->early) {
        /* Chosen before its dependencies ran (on these IDs): it runs once they did. */
        d->early = false;
        d->state = d->waiting_for ? JOB_WAITING : JOB_READY;
        if (d->state == JOB_READY) {
            d->sub->ready_jobs++;
            e->readied++;
        }
    } else if (got == WORK_SELECT_OK) {
        add_chunks(e, d);
    } else {
        engine_add_task(e, d, 0, 0, 0, 0);
    }
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
    } else if (d->ids_known) {
        add_chunks(e, d); /* chosen early, or given by its dependents */
    } else if (decl->has_work_ids || d->ids_given) {
        for (size_t i = 0; !d->ids_given && i < decl->work_ids.len; i++)
            VEC_PUSH(&d->ids, decl->work_ids.items[i]);
        work_ids_sort(&d->ids, false);
        leave_out_done(e, d);
        d->ids_known = true;
        feed_down(e, d, true);
        add_chunks(e, d);
    } else if (d->selected_none || !work_may_select(d->sub->p->root, due_job_of(d)->path)) {
        feed_down(e, d, true);
        engine_add_task(e, d, 0, 0, 0, 0);
    } else {
        start_selection(e, d);
    }
}

void engine_choose_early(struct engine *e)
{
    for (size_t s = 0; s < e->subs.len && !e->stopping; s++) {
        struct submission *sub = e->subs.items[s];
        for (size_t i = 0; i < sub->due_count && !e->stopping; i++) {
            struct due_job *d = &sub->due[i];
            if (!d->feeds || d->ids_known || d->feeders_left || d->began ||
                (d->state != JOB_WAITING && d->state != JOB_READY))
                continue;
            const struct job *job = due_job_of(d);
            const struct decl *decl = job->decl;
            if (decl->has_work_ids || d->ids_given) {
                for (size_t k = 0; !d->ids_given && k < decl->work_ids.len; k++)
                    VEC_PUSH(&d->ids, decl->work_ids.items[k]);
                work_ids_sort(&d->ids, false);
                leave_out_done(e, d);
                d->ids_known = true;
                feed_down(e, d, true);
            } else if (!work_is_chunked(decl) || !work_may_select(sub->p->root, job->path)) {
                feed_down(e, d, true); /* no IDs to give: what it needs chooses its own */
            } else if (engine_fits(e, (size_t)decl->slots)) {
                if (d->state == JOB_READY)
                    sub->ready_jobs--; /* back once it has chosen */
                d->early = true;
                start_selection(e, d);
            }
        }
    }
}

/* ---- the chunk graph: chunks waiting for the chunks that share their IDs ---- */

/* The dependents entry saying w feeds d, when it does; SIZE_MAX otherwise. */
static size_t chunk_edge_at(const struct submission *sub, const struct due_job *d,
                            const struct due_job *w)
{
    size_t k = (size_t)(d - sub->due), wk = (size_t)(w - sub->due);
    for (size_t at = sub->dependents_at[k]; at < sub->dependents_at[k + 1]; at++)
        if (sub->dependents[at] == wk && sub->chunk_edge[at])
            return at;
    return SIZE_MAX;
}

/* The chunk of job d holding the n-th of its IDs. */
static size_t chunk_of(const struct due_job *d, size_t n)
{
    int64_t size = due_job_of(d)->decl->chunk_size;
    return size > 0 ? n / (size_t)size : 0;
}

/* A chunk that will not run: what it needs did not succeed. */
static void skip_chunk(struct engine *e, struct task *t, const struct task *because)
{
    if (t->state == TASK_DONE)
        return;
    struct due_job *d = t->d;
    const char *name = due_job_of(because->d)->name;
    free(t->failure);
    char *ids = NULL;
    {
        struct strbuf sb = STRBUF_INIT;
        work_ids_describe(because->d->ids.items + because->first, because->count, 40, &sb);
        ids = strbuf_detach(&sb);
    }
    const char *said = because->result == RUN_SKIPPED          ? "was skipped"
                       : engine_result_failed(because->result) ? run_status_said(because->result)
                                                               : "did not succeed";
    t->failure = xprintf("skipped: '%s' (chunk %d/%d, IDs %s) %s", name, because->chunk,
                         because->chunks, ids, said);
    free(ids);
    if (d->result == RUN_SUCCEEDED) {
        d->result = RUN_SKIPPED;
        d->skipped_for = name;
        /* What needs d is told of what d's chunk followed. */
        free(d->skip_why);
        d->skip_why = because->result == RUN_SKIPPED && because->d->skip_why
                          ? xstrdup(because->d->skip_why)
                          : xprintf("'%s' %s", name, said);
    }
    engine_record_skipped_chunk(e, t);
    engine_finish_task(e, t, RUN_SKIPPED, 0);
}

/* Link the chunks of w (which feeds up) to those of up sharing their IDs. */
static void link_pair(struct engine *e, struct due_job *w, struct due_job *up)
{
    /* Both ID lists are sorted: one pass finds every (w chunk, up chunk) sharing one. */
    struct task_list doomed = {0};
    size_t i = 0, j = 0, last_w = SIZE_MAX, last_up = SIZE_MAX;
    while (i < w->ids.len && j < up->ids.len) {
        if (w->ids.items[i] < up->ids.items[j]) {
            i++;
        } else if (w->ids.items[i] > up->ids.items[j]) {
            j++;
        } else {
            size_t wc = chunk_of(w, i), uc = chunk_of(up, j);
            if ((wc != last_w || uc != last_up) && wc < w->tasks.len && uc < up->tasks.len) {
                struct task *wt = w->tasks.items[wc], *ut = up->tasks.items[uc];
                bool linked = false;
                for (size_t k = 0; k < ut->unblocks.len && !linked; k++)
                    linked = ut->unblocks.items[k] == wt;
                if (!linked && ut->state != TASK_DONE) {
                    wt->waits++;
                    VEC_PUSH(&ut->unblocks, wt);
                } else if (!linked && ut->result != RUN_SUCCEEDED) {
                    VEC_PUSH(&doomed, wt);
                    VEC_PUSH(&doomed, ut);
                }
                last_w = wc;
                last_up = uc;
            }
            i++;
        }
    }
    for (size_t k = 0; k + 1 < doomed.len; k += 2)
        skip_chunk(e, doomed.items[k], doomed.items[k + 1]);
    VEC_FREE(&doomed);
    e->readied++;
}

void engine_link_chunks(struct engine *e, struct due_job *d)
{
    struct submission *sub = d->sub;
    d->had_tasks = true;
    size_t k = (size_t)(d - sub->due);
    /* The jobs feeding d may make their chunks now: d's exist. */
    for (size_t at = sub->dependents_at[k]; at < sub->dependents_at[k + 1]; at++)
        if (sub->chunk_edge[at] && sub->due[sub->dependents[at]].fed_pending-- == 1)
            e->readied++;
    /* d's chunks wait for those of the jobs d feeds. */
    const struct job *job = due_job_of(d);
    for (size_t i = 0; i < job->deps.len; i++) {
        size_t u = engine_dep(d, i);
        if (u == SIZE_MAX)
            continue;
        struct due_job *up = &sub->due[u];
        if (chunk_edge_at(sub, up, d) != SIZE_MAX && up->had_tasks)
            link_pair(e, d, up);
    }
}

void engine_unblock(struct engine *e, struct task *t)
{
    for (size_t k = 0; k < t->unblocks.len; k++) {
        struct task *w = t->unblocks.items[k];
        if (w->state == TASK_DONE)
            continue;
        if (t->result == RUN_SUCCEEDED) {
            if (--w->waits == 0)
                e->readied++;
        } else {
            skip_chunk(e, w, t);
        }
    }
    VEC_FREE(&t->unblocks);
}

void engine_fed_job_done(struct engine *e, struct due_job *d)
{
    struct submission *sub = d->sub;
    size_t k = (size_t)(d - sub->due);
    for (size_t at = sub->dependents_at[k]; at < sub->dependents_at[k + 1]; at++) {
        if (!sub->chunk_edge[at])
            continue;
        struct due_job *w = &sub->due[sub->dependents[at]];
        if (w->state == JOB_DONE)
            continue;
        w->fed_pending--;
        e->readied++;
        if (d->result == RUN_SUCCEEDED)
            continue;
        /* It ended without chunks and without success: w has nothing to wait for. */
        const char *failed = d->result == RUN_SKIPPED ? d->skipped_for : due_job_of(d)->name;
        char *why = engine_skip_why(d, false);
        if (w->state == JOB_SELECTING && w->early) {
            if (!w->failed_upstream) {
                w->failed_upstream = failed;
                w->failed_why = why;
                why = NULL;
            }
            free(why);
            continue;
        }
        engine_skip_job(e, w, failed, why);
        free(why);
    }
}

void engine_job_ended_feeding(struct engine *e, struct due_job *d)
{
    feed_down(e, d, false);
}
