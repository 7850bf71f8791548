/* exec_record.c: the records of a run as the loop hands them over: every due
 * job's run claimed up front, each start and end (with its manifest, its outputs to
 * archive, and the evidence of its files) passed to the recorder thread. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The keyword arguments a job runs with: the declaration's, or a rerun's recorded ones. */
const char *exec_kwargs(const struct runner *r, const struct job *job)
{
    return r->opt->kwargs ? r->opt->kwargs : job->decl->kwargs_json;
}

/* Append the task's work IDs as JSON, or null when it is not a chunk. */
void exec_task_work_ids(const struct runner *r, const struct task *t, struct strbuf *out)
{
    const struct due_job *d = &r->due[t->due];
    if (d->chunked)
        work_ids_to_json(d->ids.items + t->first, t->count, out);
    else
        strbuf_addstr(out, "null");
}

/* The manifest stored in a run's archive: the run record as JSON. */
static char *manifest(struct runner *r, const struct task *t, const struct run_finish *fin)
{
    const struct job *job = &r->p->graph.jobs.items[t->job];
    const struct plan_job *pj = &r->plan->jobs[t->job];
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "{\"run\":%lld,\"job\":", (long long)t->run_id);
    json_quote(&sb, job->name, strlen(job->name));
    strbuf_addf(&sb,
                ",\"attempt\":%d,\"status\":\"%s\",\"exit_code\":%d,\"signal\":%d,"
                "\"started_at\":%lld,\"finished_at\":%lld,\"host\":",
                t->attempt, run_status_name(fin->status), fin->exit_code, fin->signal,
                (long long)t->started_wall, (long long)wall_clock_ms());
    json_quote(&sb, r->host, strlen(r->host));
    strbuf_addstr(&sb, ",\"git_commit\":");
    if (r->git_commit)
        json_quote(&sb, r->git_commit, strlen(r->git_commit));
    else
        strbuf_addstr(&sb, "null");
    strbuf_addf(&sb, ",\"kwargs\":%s,\"work_ids\":", exec_kwargs(r, job));
    exec_task_work_ids(r, t, &sb);
    strbuf_addf(&sb, ",\"chunk\":%d,\"chunks\":%d,\"reasons\":", t->chunk, t->chunks);
    reasons_to_json(&pj->why, &sb);
    strbuf_addf(&sb,
                ",\"code_fingerprint\":\"%s\",\"config_fingerprint\":\"%s\","
                "\"inputs_fingerprint\":\"%s\",\"outputs_fingerprint\":",
                pj->code_fp, pj->config_fp, pj->inputs_fp);
    if (fin->outputs_fingerprint)
        strbuf_addf(&sb, "\"%s\"", fin->outputs_fingerprint);
    else
        strbuf_addstr(&sb, "null");
    strbuf_addstr(&sb, ",\"log\":\"log.txt\"}\n");
    return strbuf_detach(&sb);
}

/* Hand a run's end to the recorder: archived (with its outputs when it
 * succeeded) and recorded. learned: file hashes taken, to remember (may be NULL). */
void exec_record_end(struct runner *r, const struct task *t, const struct run_finish *fin,
                     int64_t ended, struct store_file_list *learned)
{
    const struct job *job = &r->p->graph.jobs.items[t->job];
    struct recorder_end end = {0};
    end.run_id = t->run_id;
    end.job = xstrdup(job->name);
    end.archive = xprintf(".stau/archive/%s.%lld.tar.zst", job->name, (long long)t->run_id);
    end.manifest = manifest(r, t, fin);
    end.log_path = t->log_path ? xstrdup(t->log_path) : NULL;
    /* The declared outputs as the run left them: every one after a success; after a
     * failure those it left (what a half-done run wrote helps to see why). */
    for (size_t i = 0; i < job->decl->outputs.len; i++) {
        const char *output = job->decl->outputs.items[i];
        if (fin->status != RUN_SUCCEEDED) {
            char *full = xprintf("%s/%s", r->p->root, output);
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
    recorder_ended(r->recorder, &end);
}

/* Close a due job's claimed run that no task took (the job was skipped, given way,
 * or never began), without an archive. */
void exec_close_claim(struct runner *r, struct due_job *d, enum run_status status)
{
    if (!d->claim)
        return;
    struct recorder_end end = {0};
    end.run_id = d->claim;
    end.job = xstrdup(r->p->graph.jobs.items[d->job].name);
    end.finish = (struct run_finish){status, -1, 0, NULL, NULL, NULL};
    end.ended = wall_clock_ms();
    d->claim = 0;
    recorder_ended(r->recorder, &end);
}

/* Hand a run's start to the recorder. The first run of a job, claimed before its
 * work IDs were known, gets them now. */
void exec_record_start(struct runner *r, const struct task *t, int pid, int64_t at,
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
    recorder_started(r->recorder, start);
}

/* A new run of the due job d as store_begin_run wants it (strings borrowed; reasons
 * is a JSON array the caller releases): of task t, or (t NULL) its claim. */
static struct run_record new_run(const struct runner *r, const struct due_job *d,
                                 const struct task *t, const char *work_ids_json,
                                 struct strbuf *reasons)
{
    const struct job *job = &r->p->graph.jobs.items[d->job];
    const struct plan_job *pj = &r->plan->jobs[d->job];
    reasons_to_json(&pj->why, reasons);
    struct run_record rec = {0};
    rec.job = (char *)(uintptr_t)job->name;
    rec.attempt = t ? t->attempt : 1;
    rec.status = RUN_QUEUED;
    rec.host = (char *)(uintptr_t)r->host;
    rec.owner_pid = r->owner.pid;
    rec.owner_start = r->owner.start;
    rec.git_commit = r->git_commit;
    rec.kwargs_json = (char *)(uintptr_t)exec_kwargs(r, job);
    rec.work_ids_json = (char *)(uintptr_t)work_ids_json;
    rec.rerun_of = r->opt->rerun_of;
    rec.batch = t && t->chunk ? d->batch : 0;
    if (!t && r->opt->rerun && r->opt->rerun->work_ids_json)
        rec.batch = r->opt->rerun->batch; /* a chunk again: it joins its invocation */
    rec.chunk = t ? t->chunk : 0;
    rec.chunks = t ? t->chunks : 0;
    rec.code_fingerprint = (char *)(uintptr_t)pj->code_fp;
    /* A rerun runs the recorded arguments, not the declaration's: it keeps the
     * recorded declaration's fingerprint, so it never passes for the current one. */
    rec.config_fingerprint = (char *)(uintptr_t)(r->opt->rerun && r->opt->rerun->config_fingerprint
                                                     ? r->opt->rerun->config_fingerprint
                                                     : pj->config_fp);
    rec.inputs_fingerprint = (char *)(uintptr_t)pj->inputs_fp; /* replaced as it starts */
    rec.reasons_json = reasons->buf;
    rec.exit_code = -1;
    return rec;
}

/* Give task t its run: the due job's claim when it is the job's first, else a run
 * recorded now (another chunk, a retry). *claimed says which. -1 after a message. */
int exec_record_begin(struct runner *r, struct task *t, const char *work_ids_json, int64_t now,
                      bool *claimed)
{
    struct due_job *d = &r->due[t->due];
    *claimed = d->claim != 0;
    if (d->claim) {
        t->run_id = d->claim;
        d->claim = 0;
        return 0;
    }
    struct strbuf reasons = STRBUF_INIT;
    struct run_record rec = new_run(r, d, t, work_ids_json, &reasons);
    int rc = store_begin_run(r->st, &rec, now, &t->run_id);
    strbuf_release(&reasons);
    if (rc < 0)
        return error("%s", store_error(r->st));
    return 0;
}

/* Claim every due job before starting any: one transaction records a queued run
 * for each (its first run), then one look at the runs in progress. Of two stau
 * claiming a job at once, the database ordered the records, and the later one
 * gives way, so a job without allow_multiple_jobs never runs twice at once.
 * Claiming up front keeps the database out of the way between one job ending and
 * the next starting. -1 after a message when nothing could be recorded. */
int exec_claim_jobs(struct runner *r)
{
    struct run_record *recs = xcalloc(r->due_count + 1, sizeof(*recs));
    struct strbuf *reasons = xcalloc(r->due_count + 1, sizeof(*reasons));
    int64_t *ids = xcalloc(r->due_count + 1, sizeof(*ids));
    for (size_t k = 0; k < r->due_count; k++)
        recs[k] = new_run(r, &r->due[k], NULL, NULL, &reasons[k]);
    int rc = store_begin_runs(r->st, recs, r->due_count, wall_clock_ms(), ids);
    for (size_t k = 0; k < r->due_count; k++)
        strbuf_release(&reasons[k]);
    free(reasons);
    free(recs);
    if (rc < 0) {
        free(ids);
        return error("%s", store_error(r->st));
    }
    for (size_t k = 0; k < r->due_count; k++)
        r->due[k].claim = ids[k];
    free(ids);
    struct run_list active = {0};
    if (store_active_runs(r->st, NULL, &active) < 0) {
        warn("%s", store_error(r->st));
        return 0;
    }
    for (size_t k = 0; k < r->due_count; k++) {
        struct due_job *d = &r->due[k];
        const struct job *job = &r->p->graph.jobs.items[d->job];
        if (job->decl->allow_multiple_jobs || d->state == JOB_DONE)
            continue;
        int64_t other = 0;
        for (size_t i = 0; i < active.len && !other; i++) {
            const struct run_record *run = &active.items[i];
            bool same_host = run->host && strcmp(run->host, r->host) == 0;
            bool ours = same_host && run->owner_pid == r->owner.pid;
            if (!ours && run->id < d->claim && strcmp(run->job, job->name) == 0 &&
                (!same_host || proc_alive(run->owner_pid)))
                other = run->id;
        }
        if (!other)
            continue;
        d->result = RUN_SUCCEEDED;
        struct task *t = exec_add_task(r, d, 0, 0, 0, 0);
        t->run_id = d->claim;
        t->skip_note = xprintf("already running as run %lld of another stau", (long long)other);
        exec_close_claim(r, d, RUN_SKIPPED);
        exec_finish_task(r, t, RUN_SKIPPED, 0);
    }
    run_list_release(&active);
    return 0;
}
