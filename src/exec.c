/* exec.c: the parallel loop. Starts due jobs in dependency order within the
 * slot budget, records every run in the state database, archives each finished
 * run, retries with doubling delays, skips only what depends on a failure,
 * forwards Ctrl-C to every running job, and reports as it goes and at the end.
 * A chunked job (work.h) first learns its work IDs (declared, or from select_work
 * in a short process of its own), then runs one task per chunk; it succeeds, for
 * its dependents and the summary, only when every chunk did.
 *
 * Files it writes below .stau/:
 *   logs/<job>.<unix ms>.<attempt>.log    stdout and stderr of one attempt
 *   logs/<job>.<unix ms>.select.log       ... of select_work (.json: what it returned)
 *   archive/<job>.<run id>.tar.zst        the finished run (see archiver.c)
 *
 * One flat folder each: a folder per job would cost a mkdir per new job, which
 * is a good part of what running a trivial job costs stau.
 */
#include "exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "runner.h"

/* How the job's interpreter loads it: the jobs root on sys.path, then main_func
 * called with the keyword arguments (and, for a chunked job, work_ids from
 * STAU_WORK_IDS: not passed twice, as an environment string is limited), or the
 * file run as __main__. */
const char exec_bootstrap[] =
    "import sys\n"
    "root, path, func, kwargs, work = sys.argv[1:6]\n"
    "sys.path.insert(0, root)\n"
    "if func:\n"
    "    import importlib.util\n"
    "    spec = importlib.util.spec_from_file_location('__stau_job__', path)\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    sys.modules[spec.name] = module\n"
    "    spec.loader.exec_module(module)\n"
    "    if kwargs == '{}' and not work:\n"
    "        getattr(module, func)()\n"
    "    else:\n"
    "        import json, os\n"
    "        args = json.loads(kwargs)\n"
    "        if work:\n"
    "            args['work_ids'] = json.loads(os.environ['STAU_WORK_IDS'])\n"
    "        getattr(module, func)(**args)\n"
    "else:\n"
    "    import runpy\n"
    "    sys.argv = [path]\n"
    "    runpy.run_path(path, run_name='__main__')\n";

/* The interpreter for a job: its "python", the project's .venv, else python3. */
static const char *interpreter(struct runner *r, const struct job *job)
{
    if (job->decl->python)
        return job->decl->python;
    return r->opt->python;
}

static void finish_job(struct runner *r, struct due_job *d);

/* Mark a task finished with result; its job is done when all its tasks are. */
void exec_finish_task(struct runner *r, struct task *t, enum run_status result, int64_t ms)
{
    t->state = TASK_DONE;
    t->result = result;
    r->done++;
    exec_report(r, t, ms);
    struct due_job *d = &r->due[t->due];
    if (result == RUN_SKIPPED && d->result == RUN_SUCCEEDED) {
        d->result = RUN_SKIPPED;
        d->skipped_for = r->p->graph.jobs.items[d->job].name;
    } else if (result != RUN_SUCCEEDED && result != RUN_SKIPPED) {
        d->result = RUN_FAILED;
        if (r->opt->fail_fast)
            r->stopping = true;
    }
    if (--d->runs_left == 0)
        finish_job(r, d);
}

/* A job is done: count it, and release or skip what waits for it. */
static void finish_job(struct runner *r, struct due_job *d)
{
    d->state = JOB_DONE;
    r->jobs_done++;
    if (d->result == RUN_SUCCEEDED)
        r->succeeded++;
    else if (d->result == RUN_SKIPPED)
        r->skipped++;
    else
        r->failed++;
    const struct graph *g = &r->p->graph;
    const char *failed = d->result == RUN_SKIPPED ? d->skipped_for : g->jobs.items[d->job].name;
    size_t k = (size_t)(d - r->due);
    for (size_t at = r->dependents_at[k]; at < r->dependents_at[k + 1]; at++) {
        struct due_job *w = &r->due[r->dependents[at]];
        if (w->state != JOB_WAITING)
            continue;
        if (d->result == RUN_SUCCEEDED) {
            /* (Counted per edge, as waiting_for is.) */
            if (--w->waiting_for == 0) {
                w->state = JOB_READY;
                r->ready_jobs++;
                r->readied++;
            }
            continue;
        }
        w->result = RUN_SKIPPED;
        w->skipped_for = failed;
        exec_close_claim(r, w, RUN_SKIPPED);
        r->done++;
        exec_report_skip(r, g->jobs.items[w->job].name, failed);
        finish_job(r, w);
    }
}

static void start_ready(struct runner *r);

/* A run ended: decide its outcome, free its slot, record it, or plan its retry. */
static void end_run(struct runner *r, struct task *t, const struct proc_event *ev)
{
    const struct job *job = &r->p->graph.jobs.items[t->job];
    r->slots_used -= (size_t)job->decl->slots;
    int64_t now = wall_clock_ms();
    struct run_finish fin = {RUN_FAILED, ev->signal ? -1 : ev->status, ev->signal, NULL, NULL,
                             NULL};
    char outputs_fp[33] = "";
    char *missing = NULL;
    struct store_file_list learned = {0};
    struct strbuf output_files = STRBUF_INIT;
    free(t->failure);
    t->failure = NULL;
    if (ev->timed_out) {
        fin.status = RUN_TIMED_OUT;
        t->failure = xprintf("timed out after %gs", job->decl->timeout);
    } else if (r->interrupts && ev->status != 0) {
        /* (A job that finished cleanly just as Ctrl-C came is a success.) */
        fin.status = RUN_INTERRUPTED;
        t->failure = xstrdup("interrupted");
    } else if (ev->status == 0) {
        plan_outputs_fingerprint(r->p, r->st, t->job, now, outputs_fp, &missing, &learned,
                                 &output_files);
        if (missing) {
            t->failure =
                xprintf("failed: declared output '%s' is missing after a zero exit", missing);
            free(missing);
        } else {
            fin.status = RUN_SUCCEEDED;
            fin.outputs_fingerprint = outputs_fp;
            fin.output_files = output_files.buf;
        }
    } else {
        t->failure = ev->signal ? xprintf("failed (killed by signal %d)", ev->signal)
                                : xprintf("failed (exit %d)", ev->status);
    }
    bool retry = (fin.status == RUN_FAILED || fin.status == RUN_TIMED_OUT) && !r->stopping &&
                 !r->interrupts && t->attempt <= job->decl->retries;
    if (!retry) {
        /* Free the slot for what is ready before archiving: the archive and the
         * record are bookkeeping, and a slot idle meanwhile is time lost. */
        exec_finish_task(r, t, fin.status, ev->wall_ms);
        start_ready(r);
    }
    exec_record_end(r, t, &fin, now, &learned);
    store_file_list_release(&learned);
    strbuf_release(&output_files);
    if (retry) {
        double delay = job->decl->retry_delay;
        for (int i = 1; i < t->attempt; i++)
            delay *= 2;
        if (r->tty)
            printf("\r\033[K");
        char *label = exec_task_label(r, t);
        printf("%s %s; retrying in %gs (attempt %d of %lld)\n", label, t->failure, delay,
               t->attempt + 1, (long long)job->decl->retries + 1);
        free(label);
        t->attempt++;
        t->state = TASK_RETRY;
        t->retry_at = proc_now_ms() + (int64_t)(delay * 1000);
    }
}

/* A chunk with no work IDs: one succeeded run without a process, so staleness sees a
 * success (started as well as ended: a dependent's last success is compared with
 * when this one started). */
static void succeed_without_ids(struct runner *r, struct task *t, int64_t now, bool claimed)
{
    char outputs_fp[33];
    char *missing = NULL;
    struct recorder_start start = {0};
    struct strbuf files = STRBUF_INIT, output_files = STRBUF_INIT;
    plan_inputs_fingerprint(r->p, r->st, t->job, now, start.inputs_fingerprint, &start.learned,
                            &files);
    plan_outputs_fingerprint(r->p, r->st, t->job, now, outputs_fp, &missing, &start.learned,
                             &output_files);
    free(missing);
    start.files = strbuf_detach(&files);
    exec_record_start(r, t, 0, now, &start, claimed, "[]");
    struct recorder_end end = {0};
    end.output_files = strbuf_detach(&output_files);
    end.run_id = t->run_id;
    end.job = xstrdup(r->p->graph.jobs.items[t->job].name);
    end.finish = (struct run_finish){RUN_SUCCEEDED, -1, 0, NULL, NULL, NULL};
    snprintf(end.outputs_fingerprint, sizeof(end.outputs_fingerprint), "%s", outputs_fp);
    end.ended = wall_clock_ms();
    recorder_ended(r->recorder, &end);
    exec_finish_task(r, t, RUN_SUCCEEDED, 0);
}

/* Start one task; a start failure finishes it as failed. */
static void start_task(struct runner *r, struct task *t)
{
    const struct graph *g = &r->p->graph;
    const struct job *job = &g->jobs.items[t->job];
    struct due_job *d = &r->due[t->due];
    int64_t now = wall_clock_ms();
    d->began = true;
    free(t->log_path);
    bool no_ids = d->chunked && !t->count;
    t->log_path =
        no_ids ? NULL : xprintf(".stau/logs/%s.%lld.%d.log", job->name, (long long)now, t->attempt);
    struct strbuf ids = STRBUF_INIT;
    exec_task_work_ids(r, t, &ids);
    bool claimed;
    if (exec_record_begin(r, t, d->chunked ? ids.buf : NULL, now, &claimed) < 0) {
        strbuf_release(&ids);
        t->failure = xstrdup("failed: cannot record the run");
        exec_finish_task(r, t, RUN_FAILED, 0);
        return;
    }
    if (t->chunk && !d->batch)
        d->batch = t->run_id;
    if (no_ids) {
        strbuf_release(&ids);
        succeed_without_ids(r, t, now, claimed);
        return;
    }
    struct recorder_start start = {0};
    struct strbuf files = STRBUF_INIT;
    plan_inputs_fingerprint(r->p, r->st, t->job, now, start.inputs_fingerprint, &start.learned,
                            &files);
    start.files = strbuf_detach(&files);
    char run_id[32], attempt[16];
    snprintf(run_id, sizeof(run_id), "%lld", (long long)t->run_id);
    snprintf(attempt, sizeof(attempt), "%d", t->attempt);
    char *env[] = {xprintf("STAU_RUN_ID=%s", run_id),
                   xprintf("STAU_JOB=%s", job->name),
                   xprintf("STAU_ATTEMPT=%s", attempt),
                   xprintf("STAU_WORK_IDS=%s", ids.buf),
                   xprintf("STAU_KWARGS=%s", exec_kwargs(r, job)),
                   xprintf("STAU_OWNER=%s", r->owner_id),
                   NULL};
    const char *argv[] = {interpreter(r, job),
                          "-c",
                          exec_bootstrap,
                          r->jobs_path,
                          job->path,
                          job->decl->main_func ? job->decl->main_func : "",
                          exec_kwargs(r, job),
                          d->pass_work_ids ? "1" : "",
                          NULL};
    struct proc_spec spec = {
        argv,    (const char *const *)env, r->p->root, NULL, (int64_t)(job->decl->timeout * 1000),
        GRACE_MS};
    char *full_log = xprintf("%s/%s", r->p->root, t->log_path);
    spec.log_path = full_log;
    struct strbuf err = STRBUF_INIT;
    t->started_wall = now;
    size_t env_len = strlen(env[3]);
    if (env_len + 1 > ENV_STRING_MAX)
        strbuf_addf(&err,
                    "its %zu work IDs are too many for one run: STAU_WORK_IDS would take %zu "
                    "bytes, more than the %d an environment variable may hold; declare a smaller "
                    "chunk_size",
                    t->count, env_len, ENV_STRING_MAX);
    if (err.len || make_parent_folders(r->p->root, t->log_path) < 0 ||
        proc_start(&spec, &t->proc, &err) < 0) {
        t->failure = xprintf("failed to start: %s", err.len ? err.buf : "see above");
        store_file_list_release(&start.learned);
        free(start.files);
        struct recorder_end end = {0};
        end.run_id = t->run_id;
        end.job = xstrdup(job->name);
        end.finish = (struct run_finish){RUN_FAILED, -1, 0, NULL, NULL, NULL};
        end.ended = wall_clock_ms();
        recorder_ended(r->recorder, &end);
        exec_finish_task(r, t, RUN_FAILED, 0);
    } else {
        exec_record_start(r, t, t->proc.pid, now, &start, claimed, ids.buf);
        proc_set_add(&r->set, &t->proc);
        t->state = TASK_RUNNING;
        r->slots_used += (size_t)job->decl->slots;
        exec_status_line(r);
    }
    strbuf_release(&err);
    strbuf_release(&ids);
    free(full_log);
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
}

/* Add one task (run) of a due job: chunk k of chunks, holding ids[first, first+count). */
struct task *exec_add_task(struct runner *r, struct due_job *d, int chunk, int chunks, size_t first,
                           size_t count)
{
    struct task *t = xcalloc(1, sizeof(*t));
    t->job = d->job;
    t->due = (size_t)(d - r->due);
    t->chunk = chunk;
    t->chunks = chunks;
    t->first = first;
    t->count = count;
    t->attempt = 1;
    t->state = TASK_READY;
    VEC_PUSH(&r->tasks, t);
    d->runs_left++;
    if (d->runs_left > 1)
        r->count++;
    d->state = JOB_STARTED;
    return t;
}

/* The due job's work IDs are known (d->ids): one task per chunk (one when there are none). */
static void add_chunks(struct runner *r, struct due_job *d)
{
    int64_t size = r->p->graph.jobs.items[d->job].decl->chunk_size;
    size_t n = work_chunk_count(d->ids.len, size);
    d->chunked = true;
    for (size_t k = 0; k < (n ? n : 1); k++) {
        size_t first = 0, count = 0;
        if (n)
            work_chunk_slice(d->ids.len, size, k, &first, &count);
        exec_add_task(r, d, (int)k + 1, n ? (int)n : 1, first, count);
    }
}

/* Whether starting the due job starts select_work (and so needs its slots). */
static bool needs_selection(const struct runner *r, const struct due_job *d)
{
    const struct decl *decl = r->p->graph.jobs.items[d->job].decl;
    return work_is_chunked(decl) && !decl->has_work_ids && !r->opt->rerun &&
           work_may_select(r->p->root, r->p->graph.jobs.items[d->job].path);
}

/* select_work failed: record that as a failed run of the job (its log is select_work's). */
static void selection_failed(struct runner *r, struct due_job *d, struct run_finish *fin,
                             char *failure, int64_t ms)
{
    struct task *t = exec_add_task(r, d, 0, 0, 0, 0);
    t->log_path = d->select.log;
    d->select.log = NULL;
    t->started_wall = d->select.started;
    t->failure = failure;
    t->state = TASK_DONE;
    int64_t now = wall_clock_ms();
    bool claimed;
    bool recorded = exec_record_begin(r, t, NULL, d->select.started, &claimed) == 0;
    if (recorded) {
        struct recorder_start start = {0};
        snprintf(start.inputs_fingerprint, sizeof(start.inputs_fingerprint), "%s",
                 r->plan->jobs[t->job].inputs_fp);
        exec_record_start(r, t, 0, d->select.started, &start, claimed, NULL);
    }
    exec_finish_task(r, t, fin->status, ms);
    if (recorded)
        exec_record_end(r, t, fin, now, NULL);
}

/* Start select_work for a due job, in a process of its own, like a run. */
static void start_selection(struct runner *r, struct due_job *d)
{
    const struct job *job = &r->p->graph.jobs.items[d->job];
    struct work_select_spec spec = {
        r->p->root,          r->jobs_path,        job->name,          job->path,
        interpreter(r, job), exec_kwargs(r, job), job->decl->timeout, GRACE_MS};
    struct strbuf err = STRBUF_INIT;
    d->began = true;
    if (work_select_start(&d->select, &spec, &err) < 0) {
        struct run_finish fin = {RUN_FAILED, -1, 0, NULL, NULL, NULL};
        selection_failed(r, d, &fin, xprintf("failed to start select_work: %s", err.buf), 0);
    } else {
        proc_set_add(&r->set, &d->select.proc);
        d->state = JOB_SELECTING;
        r->slots_used += (size_t)job->decl->slots;
        exec_status_line(r);
    }
    strbuf_release(&err);
}

/* select_work ended: make the job's chunks, its one run, or record the failure. */
static void end_selection(struct runner *r, struct due_job *d, const struct proc_event *ev)
{
    const struct job *job = &r->p->graph.jobs.items[d->job];
    r->slots_used -= (size_t)job->decl->slots;
    struct strbuf problem = STRBUF_INIT;
    struct run_finish fin = {RUN_FAILED, ev->signal ? -1 : ev->status, ev->signal, NULL, NULL,
                             NULL};
    enum work_selection got = work_select_end(&d->select, ev, r->interrupts > 0, job->decl->timeout,
                                              &d->ids, &problem, &fin.status);
    if (got == WORK_SELECT_OK)
        add_chunks(r, d);
    else if (got == WORK_SELECT_NONE)
        exec_add_task(r, d, 0, 0, 0, 0);
    else
        selection_failed(r, d, &fin, strbuf_detach(&problem), ev->wall_ms);
    strbuf_release(&problem);
}

/* Begin a due job: its work IDs declared, recorded (a rerun of a chunk), or asked of
 * select_work; or its one run. */
static void start_job(struct runner *r, struct due_job *d)
{
    const struct decl *decl = r->p->graph.jobs.items[d->job].decl;
    const struct run_record *old = r->opt->rerun;
    d->result = RUN_SUCCEEDED;
    d->pass_work_ids = work_is_chunked(decl);
    if (old && old->work_ids_json && work_ids_parse(old->work_ids_json, &d->ids) == 0) {
        /* The chunk again, as another attempt in its batch: its work IDs as recorded. */
        d->chunked = d->pass_work_ids = true;
        d->batch = old->batch;
        exec_add_task(r, d, old->chunk > 0 ? old->chunk : 1, old->chunks > 0 ? old->chunks : 1, 0,
                      d->ids.len);
    } else if (old || !work_is_chunked(decl)) {
        exec_add_task(r, d, 0, 0, 0, 0);
    } else if (decl->has_work_ids) {
        for (size_t i = 0; i < decl->work_ids.len; i++)
            VEC_PUSH(&d->ids, decl->work_ids.items[i]);
        add_chunks(r, d);
    } else if (!work_may_select(r->p->root, r->p->graph.jobs.items[d->job].path)) {
        exec_add_task(r, d, 0, 0, 0, 0);
    } else {
        start_selection(r, d);
    }
}

/* Start what is ready while slots allow. A job wider than the whole budget runs alone. */
static void start_ready(struct runner *r)
{
    /* Again while a pass made more jobs ready (a chunk without work IDs succeeds at
     * once, and its dependents may come before it in the order). */
    for (size_t readied = SIZE_MAX; readied != r->readied && !r->stopping;) {
        readied = r->readied;
        for (size_t i = 0; i < r->due_count && r->ready_jobs && !r->stopping; i++) {
            struct due_job *d = &r->due[i];
            if (d->state != JOB_READY)
                continue;
            size_t slots = (size_t)r->p->graph.jobs.items[d->job].decl->slots;
            if (needs_selection(r, d) && r->slots_used && r->slots_used + slots > r->opt->slots)
                continue;
            r->ready_jobs--;
            start_job(r, d);
        }
        while (r->open_tasks < r->tasks.len && r->tasks.items[r->open_tasks]->state == TASK_DONE)
            r->open_tasks++;
        int64_t now = proc_now_ms();
        for (size_t i = r->open_tasks; i < r->tasks.len && !r->stopping; i++) {
            /* With every slot taken nothing fits (a job wider than the budget runs
             * only when nothing else does). */
            if (r->slots_used && r->slots_used >= r->opt->slots)
                break;
            struct task *t = r->tasks.items[i];
            if (t->state == TASK_RETRY && t->retry_at <= now)
                t->state = TASK_READY;
            if (t->state != TASK_READY)
                continue;
            size_t slots = (size_t)r->p->graph.jobs.items[t->job].decl->slots;
            if (r->slots_used && r->slots_used + slots > r->opt->slots)
                continue;
            start_task(r, t);
        }
    }
}

static bool anything_left(const struct runner *r)
{
    for (size_t i = r->open_tasks; i < r->tasks.len; i++) {
        enum task_state s = r->tasks.items[i]->state;
        if (s == TASK_RUNNING || (!r->stopping && s != TASK_DONE))
            return true;
    }
    for (size_t i = 0; i < r->due_count; i++) {
        enum job_state s = r->due[i].state;
        if (s == JOB_SELECTING || (!r->stopping && (s == JOB_WAITING || s == JOB_READY)))
            return true;
    }
    return false;
}

/* Free what the loop's jobs and tasks hold. */
static void runner_release(struct runner *r)
{
    for (size_t i = 0; i < r->tasks.len; i++) {
        free(r->tasks.items[i]->log_path);
        free(r->tasks.items[i]->failure);
        free(r->tasks.items[i]->skip_note);
        free(r->tasks.items[i]);
    }
    VEC_FREE(&r->tasks);
    for (size_t i = 0; i < r->due_count; i++) {
        VEC_FREE(&r->due[i].ids);
        work_select_release(&r->due[i].select);
    }
    free(r->due);
    free(r->due_of);
    free(r->dependents);
    free(r->dependents_at);
    free(r->git_commit);
    free(r->jobs_path);
    free(r->owner_id);
}

int exec_run(struct project *p, struct store *st, struct plan *plan, const struct exec_options *opt)
{
    struct runner r;
    memset(&r, 0, sizeof(r));
    r.p = p;
    r.st = st;
    r.plan = plan;
    r.opt = opt;
    r.set = (struct proc_set)PROC_SET_INIT;
    r.due_count = r.count = plan->order.len;
    r.due = xcalloc(r.due_count + 1, sizeof(struct due_job));
    r.due_of = xmalloc((p->graph.jobs.len + 1) * sizeof(size_t));
    for (size_t i = 0; i < p->graph.jobs.len; i++)
        r.due_of[i] = SIZE_MAX;
    for (size_t k = 0; k < r.due_count; k++) {
        r.due[k].job = plan->order.items[k];
        r.due_of[plan->order.items[k]] = k;
    }
    for (size_t k = 0; k < r.due_count; k++) {
        const struct job *job = &p->graph.jobs.items[r.due[k].job];
        for (size_t e = 0; e < job->deps.len; e++)
            r.due[k].waiting_for += r.due_of[job->deps.items[e].to] != SIZE_MAX;
        r.due[k].state = r.due[k].waiting_for ? JOB_WAITING : JOB_READY;
        r.ready_jobs += r.due[k].state == JOB_READY;
    }
    /* Who waits for whom, in the order of the plan: one entry per edge. */
    r.dependents_at = xcalloc(r.due_count + 2, sizeof(size_t));
    for (size_t k = 0; k < r.due_count; k++) {
        const struct job *job = &p->graph.jobs.items[r.due[k].job];
        for (size_t e = 0; e < job->deps.len; e++)
            if (r.due_of[job->deps.items[e].to] != SIZE_MAX)
                r.dependents_at[r.due_of[job->deps.items[e].to] + 1]++;
    }
    for (size_t k = 0; k < r.due_count; k++)
        r.dependents_at[k + 1] += r.dependents_at[k];
    r.dependents = xcalloc(r.dependents_at[r.due_count] + 1, sizeof(size_t));
    size_t *fill = xcalloc(r.due_count + 1, sizeof(size_t));
    for (size_t k = 0; k < r.due_count; k++) {
        const struct job *job = &p->graph.jobs.items[r.due[k].job];
        for (size_t e = 0; e < job->deps.len; e++) {
            size_t up = r.due_of[job->deps.items[e].to];
            if (up != SIZE_MAX)
                r.dependents[r.dependents_at[up] + fill[up]++] = k;
        }
    }
    free(fill);
    if (gethostname(r.host, sizeof(r.host) - 1) < 0)
        snprintf(r.host, sizeof(r.host), "localhost");
    /* With its start time, so a later stau can tell it from a process reusing its pid. */
    int64_t self_start = proc_start_time_ms(getpid());
    r.owner = (struct store_owner){r.host, (int)getpid(), self_start > 0 ? self_start : 0};
    r.owner_id = exec_owner_id(r.owner.pid, r.owner.start);
    r.git_commit = project_git_commit(p->root);
    char *jobs = xprintf("%s/%s", p->root, p->jobs_root);
    r.jobs_path = realpath(jobs, NULL);
    if (!r.jobs_path)
        r.jobs_path = jobs;
    else
        free(jobs);
    r.tty = opt->tty;
    r.color = r.tty && use_color(STDOUT_FILENO);
    struct winsize size;
    if (r.tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0)
        r.columns = size.ws_col;
    if (proc_set_init(&r.set) < 0) {
        runner_release(&r);
        return EXIT_RUN_USAGE;
    }
    r.recorder = recorder_new(p->root, st);
    int64_t began = proc_now_ms(), next_heartbeat = began + HEARTBEAT_MS;
    if (exec_claim_jobs(&r) < 0) {
        recorder_close(r.recorder);
        proc_set_release(&r.set);
        runner_release(&r);
        return EXIT_RUN_USAGE;
    }
    start_ready(&r);
    while (anything_left(&r)) {
        int64_t deadline = next_heartbeat;
        for (size_t i = 0; i < r.tasks.len; i++)
            if (r.tasks.items[i]->state == TASK_RETRY && r.tasks.items[i]->retry_at < deadline)
                deadline = r.tasks.items[i]->retry_at;
        /* On a terminal the status line's clock moves on. */
        if (r.tty && proc_now_ms() + STATUS_TICK_MS < deadline)
            deadline = proc_now_ms() + STATUS_TICK_MS;
        struct proc_event ev;
        if (proc_wait_any(&r.set, deadline, &ev) < 0) {
            error("waiting for jobs failed:");
            r.stopping = true;
            proc_terminate_all(&r.set, GRACE_MS);
            continue;
        }
        if (ev.kind == PROC_EVENT_EXIT) {
            bool found = false;
            for (size_t i = r.open_tasks; i < r.tasks.len && !found; i++)
                if ((found = &r.tasks.items[i]->proc == ev.proc))
                    end_run(&r, r.tasks.items[i], &ev);
            for (size_t i = 0; i < r.due_count && !found; i++)
                if ((found = &r.due[i].select.proc == ev.proc))
                    end_selection(&r, &r.due[i], &ev);
        } else if (ev.kind == PROC_EVENT_INTERRUPT) {
            r.interrupts = ev.interrupts;
            r.stopping = true;
            if (r.tty)
                printf("\r\033[K");
            if (ev.interrupts == 1) {
                printf("interrupted: stopping the running jobs (again to kill them at once)\n");
                proc_terminate_all(&r.set, GRACE_MS);
            } else {
                proc_kill_all(&r.set);
            }
            fflush(stdout);
        } else if (ev.kind == PROC_EVENT_IDLE && !r.slots_used) {
            /* Nothing runs and nothing can start: only retries waiting, handled below. */
        }
        if (proc_now_ms() >= next_heartbeat) {
            if (store_heartbeat(st, &r.owner, wall_clock_ms()) < 0)
                warn("%s", store_error(st));
            next_heartbeat = proc_now_ms() + HEARTBEAT_MS;
        }
        start_ready(&r);
        exec_status_line(&r);
    }
    proc_set_release(&r.set);
    /* What never began (interrupted, --fail-fast) is closed as skipped. */
    for (size_t i = 0; i < r.due_count; i++)
        exec_close_claim(&r, &r.due[i], RUN_SKIPPED);
    recorder_close(r.recorder);
    exec_summary(&r, proc_now_ms() - began);
    int rc = r.interrupts ? EXIT_RUN_INTERRUPTED : r.failed ? EXIT_RUN_FAILED : 0;
    runner_release(&r);
    return rc;
}

char *exec_owner_id(int owner_pid, int64_t owner_start)
{
    return xprintf("%d:%lld", owner_pid, (long long)owner_start);
}
