/* engine_record.c: the records of a run as the engine hands them over: due jobs'
 * runs claimed, each start and end (with its manifest, its outputs to archive, and
 * the evidence of its files) passed to the recorder thread; and jobs left to the
 * stau that holds them, until that stau's run has ended. */
#include "engine_internal.h"
#include "lease.h"
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *engine_kwargs(const struct due_job *d)
{
    return d->sub->opt.kwargs ? d->sub->opt.kwargs
           : d->kwargs        ? d->kwargs
                              : due_job_of(d)->decl->kwargs_json;
}

/* The git state a run of the submission records. */
static enum run_git_state git_state(const struct submission *sub)
{
    return sub->git.dirty == 1   ? RUN_GIT_DIRTY
           : sub->git.dirty == 0 ? RUN_GIT_CLEAN
                                 : RUN_GIT_UNKNOWN;
}

const char *engine_given_kwargs(const struct due_job *d)
{
    const struct engine_submit_options *opt = &d->sub->opt;
    if (opt->given_kwargs && d->job == opt->given_job)
        return opt->given_kwargs;
    return opt->rerun ? opt->rerun->kwargs_given_json : NULL;
}

void engine_task_work_ids(const struct task *t, struct strbuf *out)
{
    const struct due_job *d = t->d;
    if (d->chunked)
        work_ids_to_json(d->ids.items + t->first, t->count, out);
    else
        strbuf_addstr(out, "null");
}

/* The manifest stored in a run's archive: the run record as JSON (the one shape of
 * run_record_json_fields), and where in the archive its log is. */
static char *manifest(struct engine *e, const struct task *t, const struct run_finish *fin,
                      const char *archive, int64_t ended)
{
    const struct due_job *d = t->d;
    const struct plan_job *pj = &d->sub->plan->jobs[d->job];
    struct strbuf reasons = STRBUF_INIT, ids = STRBUF_INIT;
    reasons_to_json(&pj->why, &reasons);
    if (d->chunked)
        engine_task_work_ids(t, &ids);
    const struct run_record *rerun = d->sub->opt.rerun;
    struct run_record rec = {
        .id = t->run_id,
        .job = (char *)(uintptr_t)due_job_of(d)->name,
        .attempt = t->attempt,
        .status = fin->status,
        .started_at = t->started_wall,
        .finished_at = ended,
        .exit_code = fin->exit_code,
        .signal = fin->signal,
        .host = (char *)(uintptr_t)e->cfg.owner->host,
        .owner_pid = e->cfg.owner->pid,
        .owner_start = e->cfg.owner->start,
        .pid = t->pid,
        .git_commit = d->sub->git_commit,
        .git_dirty = git_state(d->sub),
        .git_changes_json = d->sub->git.files_json,
        .kwargs_json = (char *)(uintptr_t)engine_kwargs(d),
        .env_names_json = (char *)(uintptr_t)d->sub->opt.env_names,
        .kwargs_given_json = (char *)(uintptr_t)engine_given_kwargs(d),
        .work_ids_json = d->chunked ? ids.buf : NULL,
        .code_fingerprint = (char *)(uintptr_t)pj->code_fp,
        .config_fingerprint =
            (char *)(uintptr_t)(rerun && rerun->config_fingerprint ? rerun->config_fingerprint
                                                                   : pj->config_fp),
        .inputs_fingerprint = (char *)(uintptr_t)pj->inputs_fp,
        .outputs_fingerprint = (char *)(uintptr_t)fin->outputs_fingerprint,
        .reasons_json = reasons.buf,
        .log_path = t->log_path,
        .archive_path = (char *)(uintptr_t)archive,
        .rerun_of = d->sub->opt.rerun_of,
        .batch = t->chunk ? d->batch : t->run_id,
        .chunk = t->chunk,
        .chunks = t->chunks,
    };
    struct strbuf sb = STRBUF_INIT;
    strbuf_addch(&sb, '{');
    run_record_json_fields(&rec, &sb);
    strbuf_addstr(&sb, ",\"log\":\"log.txt\"}\n");
    strbuf_release(&reasons);
    strbuf_release(&ids);
    return strbuf_detach(&sb);
}

/* Archived (with its outputs when it succeeded) and recorded. */
void engine_record_end(struct engine *e, const struct task *t, const struct run_finish *fin,
                       int64_t ended, struct store_file_list *learned)
{
    const struct job *job = due_job_of(t->d);
    const char *root = t->d->sub->p->root;
    struct recorder_end end = {0};
    end.run_id = t->run_id;
    end.job = xstrdup(job->name);
    end.archive = paths_archive(job->name, t->run_id);
    end.manifest = manifest(e, t, fin, end.archive, ended);
    end.log_path = t->log_path ? xstrdup(t->log_path) : NULL;
    /* The declared outputs as the run left them: every one after a success; after a
     * failure those it left (what a half-done run wrote helps to see why). */
    for (size_t i = 0; i < job->decl->outputs.len; i++) {
        const char *output = job->decl->outputs.items[i];
        if (fin->status != RUN_SUCCEEDED) {
            char *full = xprintf("%s/%s", root, output);
            struct stat st;
            bool left = lstat(full, &st) == 0;
            free(full);
            if (!left)
                continue;
        }
        VEC_PUSH(&end.outputs, xstrdup(output));
    }
    end.finish = *fin;
    end.output_files = fin->output_files ? xstrdup(fin->output_files) : NULL;
    end.finish.output_files = NULL; /* the recorder's copy, above */
    if (fin->outputs_fingerprint)
        snprintf(end.outputs_fingerprint, sizeof(end.outputs_fingerprint), "%s",
                 fin->outputs_fingerprint);
    end.ended = ended;
    if (learned) {
        end.learned = *learned;
        memset(learned, 0, sizeof(*learned));
    }
    recorder_ended(e->cfg.recorder, &end);
}

void engine_record_unstarted(struct engine *e, int64_t run_id, const char *job,
                             enum run_status status)
{
    struct recorder_end end = {0};
    end.run_id = run_id;
    end.job = xstrdup(job);
    end.finish = (struct run_finish){.status = status, .exit_code = -1};
    end.ended = engine_wall(e);
    recorder_ended(e->cfg.recorder, &end);
}

/* The job was skipped, or never began. */
int64_t engine_close_claim(struct engine *e, struct due_job *d, enum run_status status)
{
    if (!d->claim)
        return 0;
    int64_t id = d->claim;
    d->claim = 0;
    engine_record_unstarted(e, id, due_job_of(d)->name, status);
    return id;
}

/* The first run of a job, claimed before its work IDs were known, gets them now. */
void engine_record_start(struct engine *e, const struct task *t, int pid, int64_t at,
                         struct recorder_start *start, bool claimed, const char *work_ids_json)
{
    start->run_id = t->run_id;
    start->pid = pid;
    start->at = at;
    start->log_path = t->log_path ? xstrdup(t->log_path) : NULL;
    if (claimed && t->chunk) {
        start->work_ids_json = work_ids_json ? xstrdup(work_ids_json) : NULL;
        start->chunk = t->chunk;
        start->chunks = t->chunks;
    }
    recorder_started(e->cfg.recorder, start);
}

/* A new run of the due job d as store_begin_run wants it (strings borrowed; reasons
 * is a JSON array the caller releases): of task t, or (t NULL) its claim. */
static struct run_record new_run(const struct engine *e, const struct due_job *d,
                                 const struct task *t, const char *work_ids_json,
                                 struct strbuf *reasons)
{
    const struct job *job = due_job_of(d);
    const struct plan_job *pj = &d->sub->plan->jobs[d->job];
    const struct run_record *rerun = d->sub->opt.rerun;
    reasons_to_json(&pj->why, reasons);
    struct run_record rec = {
        .job = (char *)(uintptr_t)job->name,
        .attempt = t ? t->attempt : 1,
        .status = RUN_QUEUED,
        .host = (char *)(uintptr_t)e->cfg.owner->host,
        .owner_pid = e->cfg.owner->pid,
        .owner_start = e->cfg.owner->start,
        .git_commit = d->sub->git_commit,
        .git_dirty = git_state(d->sub),
        .git_changes_json = d->sub->git.files_json,
        .kwargs_json = (char *)(uintptr_t)engine_kwargs(d),
        .env_names_json = (char *)(uintptr_t)d->sub->opt.env_names,
        .kwargs_given_json = (char *)(uintptr_t)engine_given_kwargs(d),
        .work_ids_json = (char *)(uintptr_t)work_ids_json,
        .rerun_of = d->sub->opt.rerun_of,
        .batch = t && t->chunk ? d->batch : 0,
        .chunk = t ? t->chunk : 0,
        .chunks = t ? t->chunks : 0,
        .code_fingerprint = (char *)(uintptr_t)pj->code_fp,
        /* A rerun runs the recorded arguments, not the declaration's: it keeps the
         * recorded declaration's fingerprint, so it never passes for the current one. */
        .config_fingerprint =
            (char *)(uintptr_t)(rerun && rerun->config_fingerprint ? rerun->config_fingerprint
                                                                   : pj->config_fp),
        .inputs_fingerprint = (char *)(uintptr_t)pj->inputs_fp, /* replaced as it starts */
        .reasons_json = reasons->buf,
        .exit_code = -1,
    };
    if (!t && rerun && rerun->work_ids_json)
        rec.batch = rerun->batch; /* a chunk again: it joins its invocation */
    return rec;
}

/* Give task t its run: the due job's claim when it is the job's first, else a run
 * recorded now (another chunk, a retry). */
int engine_record_begin(struct engine *e, struct task *t, const char *work_ids_json, int64_t now,
                        bool *claimed)
{
    struct due_job *d = t->d;
    if (t->retry_run) {
        /* A retry, recorded as it was planned. */
        t->run_id = t->retry_run;
        t->retry_run = 0;
        *claimed = false;
        return 0;
    }
    *claimed = d->claim != 0;
    if (d->claim) {
        t->run_id = d->claim;
        d->claim = 0;
        return 0;
    }
    struct strbuf reasons = STRBUF_INIT;
    struct run_record rec = new_run(e, d, t, work_ids_json, &reasons);
    int rc = store_begin_run(e->cfg.store, &rec, now, &t->run_id);
    strbuf_release(&reasons);
    if (rc < 0)
        return error("%s", store_error(e->cfg.store));
    return 0;
}

int64_t engine_record_retry(struct engine *e, const struct task *t)
{
    struct due_job *d = t->d;
    struct strbuf ids = STRBUF_INIT, reasons = STRBUF_INIT;
    if (d->chunked)
        engine_task_work_ids(t, &ids);
    struct run_record rec = new_run(e, d, t, d->chunked ? ids.buf : NULL, &reasons);
    rec.attempt = t->attempt + 1;
    int64_t id = 0;
    if (store_begin_run(e->cfg.store, &rec, engine_wall(e), &id) < 0) {
        warn("%s", store_error(e->cfg.store));
        id = 0; /* recorded as it starts, then */
    }
    strbuf_release(&ids);
    strbuf_release(&reasons);
    return id;
}

/* What the reporter is told of a job left to another stau. */
static char *held_text(const struct engine *e, const struct store_claim *c)
{
    const struct run_record *h = &c->holder;
    bool own = owner_is_self(e->cfg.owner, h);
    if (c->outcome == CLAIM_HELD)
        return own ? xprintf("already running as run %lld; waiting for it", (long long)h->id)
                   : xprintf("already running as run %lld of another stau (pid %d on %s); "
                             "waiting for it",
                             (long long)h->id, h->owner_pid, h->host ? h->host : "?");
    if (!run_status_finished(h->status))
        return xprintf("started meanwhile as run %lld of another stau (pid %d on %s); waiting "
                       "for it",
                       (long long)h->id, h->owner_pid, h->host ? h->host : "?");
    return xprintf("ran meanwhile as run %lld of another stau (%s); not run again",
                   (long long)h->id, run_status_name(h->status));
}

int engine_claim(struct engine *e, struct due_job **jobs, size_t count)
{
    if (!count)
        return 0;
    struct store_claim *claims = xcalloc(count, sizeof(*claims));
    struct strbuf *reasons = xcalloc(count, sizeof(*reasons));
    for (size_t k = 0; k < count; k++) {
        const struct due_job *d = jobs[k];
        claims[k].run = new_run(e, d, NULL, NULL, &reasons[k]);
        /* A dependency that runs only because it is needed waits for a run of it
         * elsewhere rather than run twice (SPEC §7), even where runs may overlap. */
        bool may_overlap = due_job_of(d)->decl->allow_multiple_jobs;
        jobs[k]->waits_only = may_overlap && d->sub->plan->jobs[d->job].pulled && !d->copy;
        claims[k].exclusive = !may_overlap || jobs[k]->waits_only;
        /* A rerun repeats a past run on purpose: its need is not the plan's. */
        claims[k].seen_version =
            d->sub->opt.rerun || d->reclaim || d->copy ? -1 : d->sub->plan->jobs[d->job].version;
        /* After the run it waited for was lost, another stau may have claimed the
         * job first (both were waiting): then it ran for this need already. */
        claims[k].after_run = d->reclaim ? d->held_run : 0;
        const struct job *job = due_job_of(d);
        const char **ups = xcalloc(job->deps.len + 1, sizeof(*ups));
        for (size_t u = 0; u < job->deps.len; u++)
            ups[u] = d->sub->p->graph.jobs.items[job->deps.items[u].to].name;
        claims[k].upstreams = ups;
        claims[k].upstream_count = job->deps.len;
    }
    struct lease_judge judge = {e->cfg.owner, engine_wall(e), lease_probe_system()};
    int rc = store_claim(e->cfg.store, claims, count, judge.now, lease_run_live, &judge);
    for (size_t k = 0; k < count; k++) {
        strbuf_release(&reasons[k]);
        free((void *)(uintptr_t)claims[k].upstreams);
    }
    free(reasons);
    if (rc < 0) {
        free(claims);
        return error("%s", store_error(e->cfg.store));
    }
    for (size_t k = 0; k < count; k++) {
        struct due_job *d = jobs[k];
        struct store_claim *c = &claims[k];
        d->claim_tried = true;
        if (c->outcome == CLAIM_GOT) {
            d->claim = c->id;
            continue;
        }
        if (c->outcome == CLAIM_WAIT) {
            /* Not while what it is made from is being made elsewhere: again soon. */
            d->claim_tried = false;
            d->claim_again_at = engine_mono(e) + HELD_POLL_MS;
            if (e->claim_again_at < 0 || d->claim_again_at < e->claim_again_at)
                e->claim_again_at = d->claim_again_at;
            if (!d->wait_told && e->cfg.reporter.held) {
                char *what =
                    run_unassigned(&c->holder)
                        ? xprintf("waits: '%s' is enqueued as run %lld for the next stau with a "
                                  "free slot",
                                  c->holder.job, (long long)c->holder.id)
                        : xprintf("waits: '%s' is running as run %lld of another stau (pid %d "
                                  "on %s)",
                                  c->holder.job, (long long)c->holder.id, c->holder.owner_pid,
                                  c->holder.host ? c->holder.host : "?");
                struct engine_progress pr = {.done = e->done, .count = e->count};
                e->cfg.reporter.held(e->cfg.reporter.ctx, due_job_of(d)->name, what, false, &pr);
                free(what);
            }
            d->wait_told = true;
            run_record_release(&c->holder);
            continue;
        }
        /* Left to the stau that holds it: nothing is recorded for it here. */
        if (d->state == JOB_READY)
            d->sub->ready_jobs--;
        d->state = JOB_HELD;
        d->held_run = c->holder.id;
        e->held++;
        e->totals.elsewhere++;
        char *what = held_text(e, c);
        if (e->cfg.reporter.held) {
            struct engine_progress pr = {.done = e->done, .count = e->count};
            e->cfg.reporter.held(e->cfg.reporter.ctx, due_job_of(d)->name, what, false, &pr);
        }
        free(what);
        run_record_release(&c->holder);
    }
    free(claims);
    return 0;
}

char *engine_task_label(const struct task *t)
{
    const struct due_job *d = t->d;
    const struct submission *sub = d->sub;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addstr(&sb, due_job_of(d)->name);
    size_t k = (size_t)(d - sub->due);
    if (d->copy && sub->dependents_at[k] < sub->dependents_at[k + 1]) /* its one dependent */
        strbuf_addf(&sb, " for '%s'",
                    due_job_of(&sub->due[sub->dependents[sub->dependents_at[k]]])->name);
    if (t->chunk)
        strbuf_addf(&sb, " (chunk %d/%d)", t->chunk, t->chunks);
    return strbuf_detach(&sb);
}

/* The task of ours that is run id, if any. */
static const struct task *own_task(const struct engine *e, int64_t id)
{
    for (size_t i = 0; i < e->tasks.len; i++)
        if (e->tasks.items[i]->run_id == id)
            return e->tasks.items[i];
    return NULL;
}

/* The retry of a run that failed: a newer queued or running run of its job by the same
 * stau (which records the next attempt as it plans it). 1 with its id and attempt; 0:
 * none; -1 after a warning. */
static int retry_of(struct engine *e, const struct run_record *ended, int64_t *id, int *attempt)
{
    struct run_list active = {0};
    if (store_active_runs(e->cfg.store, ended->job, &active) < 0) {
        warn("%s", store_error(e->cfg.store));
        return -1;
    }
    int found = 0;
    for (size_t i = 0; i < active.len && !found; i++) {
        const struct run_record *r = &active.items[i];
        if (r->id > ended->id && r->owner_pid == ended->owner_pid &&
            r->owner_start == ended->owner_start && r->host && ended->host &&
            strcmp(r->host, ended->host) == 0) {
            *id = r->id;
            *attempt = r->attempt;
            found = 1;
        }
    }
    run_list_release(&active);
    return found;
}

/* Look whether the runs held jobs wait for have ended; a held job is done when its
 * run is: as it succeeded, or failed (its dependents skipped). A failed run whose
 * stau retries it is not the end: the job waits for the retry. */
void engine_poll_held(struct engine *e)
{
    for (size_t s = 0; s < e->subs.len && e->held; s++) {
        struct submission *sub = e->subs.items[s];
        for (size_t i = 0; i < sub->due_count; i++) {
            struct due_job *d = &sub->due[i];
            if (d->state != JOB_HELD)
                continue;
            enum run_status status;
            const struct task *mine = own_task(e, d->held_run);
            if (mine) {
                if (mine->state != TASK_DONE)
                    continue;
                status = mine->result;
            } else {
                struct run_record run = {0};
                int found = store_run(e->cfg.store, d->held_run, &run);
                if (found < 0) {
                    warn("%s", store_error(e->cfg.store));
                    return;
                }
                /* Gone (the database was replaced): nothing to wait for. */
                status = found ? run.status : RUN_LOST;
                /* Its stau died: the run is lost, and the job may be claimed here. */
                struct lease_probe probe = lease_probe_system();
                if (found && !run_status_finished(status) &&
                    owner_gone(e->cfg.owner, &run, engine_wall(e), &probe) &&
                    store_mark_lost(e->cfg.store, run.id, run.heartbeat_at, engine_wall(e)) == 1)
                    status = RUN_LOST;
                int64_t retry = 0;
                int attempt = 0;
                if (found && (status == RUN_FAILED || status == RUN_TIMED_OUT) &&
                    retry_of(e, &run, &retry, &attempt) == 1) {
                    if (e->cfg.reporter.held) {
                        char *what =
                            xprintf("run %lld%s %s; its retry (attempt %d) is run %lld; "
                                    "waiting for it",
                                    (long long)d->held_run,
                                    owner_is_self(e->cfg.owner, &run) ? "" : " of another stau",
                                    run_status_said(status), attempt, (long long)retry);
                        struct engine_progress pr = {.done = e->done, .count = e->count};
                        e->cfg.reporter.held(e->cfg.reporter.ctx, due_job_of(d)->name, what, false,
                                             &pr);
                        free(what);
                    }
                    d->held_run = retry;
                    run_record_release(&run);
                    continue;
                }
                run_record_release(&run);
                if (!run_status_finished(status))
                    continue;
            }
            bool failed = status == RUN_FAILED || status == RUN_TIMED_OUT;
            /* Done with that run's end: it succeeded or failed there (else it is still
             * due, and claimed here). */
            bool done = (status == RUN_SUCCEEDED || failed) && !d->waits_only;
            if (done)
                e->done++;
            if (e->cfg.reporter.held) {
                /* (A run that only made it wait is no run for its work IDs and kwargs.) */
                char *what = xprintf("run %lld%s ended: %s%s", (long long)d->held_run,
                                     mine ? "" : " of another stau", run_status_name(status),
                                     d->waits_only                       ? "; running it here"
                                     : status == RUN_SUCCEEDED || failed ? ""
                                                                         : "; claiming it here");
                struct engine_progress pr = {.done = e->done, .count = e->count};
                e->cfg.reporter.held(e->cfg.reporter.ctx, due_job_of(d)->name, what, done, &pr);
                free(what);
            }
            if (!done) {
                /* Lost, interrupted, skipped there: still due, so it is claimed here;
                 * so is a dependency that only waited for the other run to end. */
                e->held--;
                e->totals.elsewhere--;
                /* What it waits for here: its due dependencies not done yet (those that
                 * ended while it was held did not count down for it). */
                const struct job *job = due_job_of(d);
                d->waiting_for = 0;
                for (size_t k = 0; k < job->deps.len; k++) {
                    size_t up = engine_dep(d, k);
                    d->waiting_for += up != SIZE_MAX && d->sub->due[up].state != JOB_DONE;
                }
                d->state = d->waiting_for ? JOB_WAITING : JOB_READY;
                d->claim_tried = false;
                d->reclaim = true;
                if (d->state == JOB_READY) {
                    d->sub->ready_jobs++;
                    e->readied++;
                }
                continue;
            }
            d->result = status; /* succeeded, failed or timed out there */
            engine_finish_job(e, d);
        }
    }
}

/* What dependency `to` of d left, as d starts: its success here, else (a job held
 * by another stau, whose run ended there, or any under stau serve, whose plans live
 * long) its last success in the store, else what the plan read. Empty when it never
 * succeeded. A stale answer recorded at a start costs a needless run later; for the
 * early cutoff (a one-off stau, a dependency another stau ran meanwhile) it may drop
 * a job that the next plan then finds due. */
static void upstream_fp_now(struct engine *e, const struct due_job *d, size_t edge,
                            char out[UPSTREAM_FP_SIZE])
{
    const struct submission *sub = d->sub;
    size_t to = due_job_of(d)->deps.items[edge].to, k = engine_dep(d, edge);
    const struct due_job *up = k != SIZE_MAX ? &sub->due[k] : NULL;
    memcpy(out, sub->plan->jobs[to].up_fp, UPSTREAM_FP_SIZE);
    if (up && up->up_fp[0]) {
        memcpy(out, up->up_fp, UPSTREAM_FP_SIZE);
    } else if ((up && up->held_run) || !e->cfg.claim_ahead) {
        /* It ran elsewhere, or (stau serve) may have since this plan was made. */
        const struct job *job = &sub->p->graph.jobs.items[to];
        struct run_record ok = {0};
        if (work_last_success(e->cfg.store, job->name, &ok) == 1)
            stale_upstream_fp(job->decl->outputs.len > 0, ok.outputs_fingerprint, ok.id, out);
        run_record_release(&ok);
    }
}

void engine_upstream_lines(struct engine *e, struct due_job *d, struct strbuf *out)
{
    /* Once per job: its dependencies have ended before any of its runs starts, so
     * every chunk and retry starts from the same (not for a job waiting by chunk on
     * jobs it feeds, which may still be running). */
    if (d->upstream_lines) {
        strbuf_addstr(out, d->upstream_lines);
        return;
    }
    const struct job *job = due_job_of(d);
    struct strbuf lines = STRBUF_INIT;
    bool by_chunk = false;
    for (size_t i = 0; i < job->deps.len; i++) {
        size_t to = job->deps.items[i].to;
        size_t k = engine_dep(d, i);
        by_chunk |= k != SIZE_MAX && d->sub->due[k].fed;
        char fp[UPSTREAM_FP_SIZE];
        upstream_fp_now(e, d, i, fp);
        if (fp[0])
            strbuf_addf(&lines, "u\t%s\t%s\n", d->sub->p->graph.jobs.items[to].name, fp);
    }
    strbuf_addstr(out, strbuf_str(&lines));
    if (by_chunk)
        strbuf_release(&lines);
    else
        d->upstream_lines = strbuf_detach(&lines);
}

bool engine_upstream_unchanged(struct engine *e, const struct due_job *d, char **why)
{
    const struct submission *sub = d->sub;
    const struct plan_job *pj = &sub->plan->jobs[d->job];
    if (!pj->cutoff || sub->opt.rerun || !pj->success.id)
        return false;
    const struct job *job = due_job_of(d);
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < job->deps.len; i++) {
        size_t to = job->deps.items[i].to;
        const char *name = sub->p->graph.jobs.items[to].name;
        char now[UPSTREAM_FP_SIZE], then[UPSTREAM_FP_SIZE];
        upstream_fp_now(e, d, i, now);
        if (!now[0] || !stale_recorded_upstream(pj->success.files, name, then) ||
            strcmp(now, then) != 0) {
            strbuf_release(&sb);
            return false;
        }
        size_t k = engine_dep(d, i);
        if (k == SIZE_MAX)
            continue;
        strbuf_addf(&sb, "%s%s %s", sb.len ? "; " : "", name,
                    sub->due[k].up_to_date ? "is up to date"
                    : sub->due[k].held_run ? "ran elsewhere with unchanged outputs"
                                           : "reran with unchanged outputs");
    }
    *why = strbuf_detach(&sb);
    return true;
}

void engine_record_skipped_chunk(struct engine *e, struct task *t)
{
    struct due_job *d = t->d;
    if (!d->batch && d->claim)
        d->batch = d->claim; /* the claim is the batch's first run, when a chunk takes it */
    struct strbuf ids = STRBUF_INIT, reasons = STRBUF_INIT;
    engine_task_work_ids(t, &ids);
    struct run_record rec = new_run(e, d, t, ids.buf, &reasons);
    if (store_begin_run(e->cfg.store, &rec, engine_wall(e), &t->run_id) < 0) {
        warn("%s", store_error(e->cfg.store));
    } else {
        if (!d->batch)
            d->batch = t->run_id;
        engine_record_unstarted(e, t->run_id, due_job_of(d)->name, RUN_SKIPPED);
    }
    strbuf_release(&ids);
    strbuf_release(&reasons);
}
