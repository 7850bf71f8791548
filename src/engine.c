/* engine.c: the engine's loop. Starts due jobs in dependency order within the
 * slot budget, records every run in the state database, archives each finished
 * run, retries with doubling delays, skips only what depends on a failure, waits
 * for jobs another stau holds, and tells its reporter as it goes. A chunked job
 * (work.h) first learns its work IDs (declared, or from select_work in a short
 * process of its own), then runs one task per chunk; it succeeds, for its
 * dependents and the totals, only when every chunk did.
 *
 * The logs and archives it writes below .stau/ are named in paths.h.
 */
#include "engine_internal.h"
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How the job's engine_interpreter loads it: its arguments, a JSON list [jobs root,
 * job file, main_func, kwargs as JSON text, pass work_ids, pass job_id], come on
 * PROC_INPUT_FD (never on the command line, where ps shows them to every user); the
 * jobs root on sys.path, then main_func called with the keyword arguments (and, for
 * a chunked job, work_ids from STAU_WORK_IDS: not passed twice, as an environment
 * string is limited; and, for a chunked job or one in the original Stau's form, its
 * job_id and job_created_at, the run and start of the graph's master, when
 * main_func takes them or **kwargs), or the file run as __main__.
 *
 * The job sees itself as if started with `python JOB_FILE`: sys.argv is [the job
 * file's absolute path] (so argparse works), and an uncaught exception's traceback starts at the
 * job's first frame, without the bootstrap's (<string>) nor importlib's or runpy's
 * (<frozen ...>) frames above it; the exit status is Python's own (1, or death by
 * SIGINT for a KeyboardInterrupt). */
const char engine_bootstrap[] =
    "import sys, os, json\n"
    "with os.fdopen(3, 'rb') as f:\n"
    "    root, path, func, kwargs, work, meta = json.loads(f.read())\n"
    "path = os.path.abspath(path)\n"
    "sys.argv = [path]\n"
    "sys.path.insert(0, root)\n"
    "def stau_run():\n"
    "    if not func:\n"
    "        import runpy\n"
    "        runpy.run_path(path, run_name='__main__')\n"
    "        return\n"
    "    import importlib.util\n"
    "    spec = importlib.util.spec_from_file_location('__stau_job__', path)\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    sys.modules[spec.name] = module\n"
    "    spec.loader.exec_module(module)\n"
    "    main = getattr(module, func)\n"
    "    if kwargs == '{}' and not work and not meta:\n"
    "        main()\n"
    "        return\n"
    "    args = json.loads(kwargs)\n"
    "    if work:\n"
    "        args['work_ids'] = json.loads(os.environ['STAU_WORK_IDS'])\n"
    "    if meta:\n"
    "        import inspect, datetime\n"
    "        try:\n"
    "            params = inspect.signature(main).parameters\n"
    "        except (TypeError, ValueError):\n"
    "            params = {}\n"
    "        anykw = any(p.kind == p.VAR_KEYWORD for p in params.values())\n"
    "        if 'job_id' not in args and (anykw or 'job_id' in params):\n"
    "            args['job_id'] = int(os.environ['STAU_JOB_ID'])\n"
    "        if 'job_created_at' not in args and (anykw or 'job_created_at' in params):\n"
    "            ms = int(os.environ['STAU_JOB_CREATED_AT'])\n"
    "            args['job_created_at'] = datetime.datetime.fromtimestamp(\n"
    "                ms / 1000, datetime.timezone.utc)\n"
    "    main(**args)\n"
    "try:\n"
    "    stau_run()\n"
    "except SystemExit:\n"
    "    raise\n"
    "except BaseException as e:\n"
    "    interrupted, tb = isinstance(e, KeyboardInterrupt), e.__traceback__\n"
    "    while tb and (tb.tb_frame.f_code.co_filename == '<string>' or\n"
    "                  tb.tb_frame.f_code.co_filename.startswith('<frozen ')):\n"
    "        tb = tb.tb_next\n"
    "    sys.excepthook(type(e), e.with_traceback(tb), tb)\n"
    "    del tb, e\n"
    "    if interrupted:\n"
    "        import signal\n"
    "        sys.stdout.flush(), sys.stderr.flush()\n"
    "        signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "        os.kill(os.getpid(), signal.SIGINT)\n"
    "    sys.exit(1)\n";

/* ---- the real clock and processes ---- */

static int64_t system_wall(void *ctx)
{
    (void)ctx;
    return wall_clock_ms();
}

static int64_t system_mono(void *ctx)
{
    (void)ctx;
    return proc_now_ms();
}

struct engine_clock engine_system_clock(void)
{
    return (struct engine_clock){.wall_ms = system_wall, .mono_ms = system_mono};
}

static int system_start(void *ctx, const struct proc_spec *spec, struct proc *out,
                        struct strbuf *err)
{
    if (proc_start(spec, out, err) < 0)
        return -1;
    proc_set_add(ctx, out);
    return 0;
}

static void system_add(void *ctx, struct proc *proc)
{
    proc_set_add(ctx, proc);
}

static int system_wait(void *ctx, int64_t deadline_ms, struct proc_event *ev)
{
    return proc_wait_any(ctx, deadline_ms, ev);
}

static int system_terminate_all(void *ctx, int64_t grace_ms)
{
    return proc_terminate_all(ctx, grace_ms);
}

static int system_terminate(void *ctx, struct proc *proc, int64_t grace_ms)
{
    (void)ctx;
    return proc_terminate(proc, grace_ms);
}

/* ---- the reporter ---- */

/* Where the engine stands; with labels, also what has run longest and whose retry
 * comes next (labels[0] and labels[1] are then the caller's to free). */
static void progress_of(const struct engine *e, struct engine_progress *out, char **labels)
{
    *out = (struct engine_progress){
        .done = e->done, .count = e->count, .running = e->running + e->selecting};
    if (!labels)
        return;
    labels[0] = labels[1] = NULL;
    const struct task *oldest = NULL, *next_retry = NULL;
    for (size_t i = e->open_tasks; i < e->tasks.len; i++) {
        const struct task *t = e->tasks.items[i];
        if (t->state == TASK_RUNNING && (!oldest || t->started_mono < oldest->started_mono))
            oldest = t;
        bool waits = t->state == TASK_RETRY || (t->state == TASK_READY && t->attempt > 1);
        if (waits && (!next_retry || t->retry_at < next_retry->retry_at))
            next_retry = t;
    }
    int64_t now = engine_mono(e);
    if (oldest) {
        labels[0] = engine_task_label(oldest);
        out->longest = labels[0];
        out->longest_ms = now - oldest->started_mono;
    }
    if (next_retry) {
        labels[1] = engine_task_label(next_retry);
        out->retrying = labels[1];
        out->retry = next_retry->attempt - 1;
        out->retry_in_ms = next_retry->retry_at > now ? next_retry->retry_at - now : 0;
    }
}

static void report_progress(struct engine *e)
{
    if (!e->cfg.reporter.progress)
        return;
    struct engine_progress pr;
    char *labels[2];
    progress_of(e, &pr, labels);
    e->cfg.reporter.progress(e->cfg.reporter.ctx, &pr);
    free(labels[0]);
    free(labels[1]);
}

/* A task as the reporter is told of it (label: engine_task_label's, borrowed). */
static struct engine_run run_of(const struct task *t, const char *label, enum run_status result,
                                int64_t ms)
{
    return (struct engine_run){.job = due_job_of(t->d)->name,
                               .label = label,
                               .run_id = t->run_id,
                               .chunk = t->chunk,
                               .chunks = t->chunks,
                               .attempt = t->attempt,
                               .pid = t->pid,
                               .result = result,
                               .failure = t->failure,
                               .log_path = t->log_path,
                               .project_root = t->d->sub->p->root,
                               .ms = ms};
}

static void report_finished(struct engine *e, const struct task *t, int64_t ms)
{
    if (!e->cfg.reporter.finished)
        return;
    char *label = engine_task_label(t);
    struct engine_run run = run_of(t, label, t->result, ms);
    struct engine_progress pr;
    progress_of(e, &pr, NULL);
    e->cfg.reporter.finished(e->cfg.reporter.ctx, &run, &pr);
    free(label);
}

void engine_report_cancelled(struct engine *e, const char *job, const char *why, int64_t run_id)
{
    if (!e->cfg.reporter.cancelled) {
        engine_report_skipped(e, job, why, run_id);
        return;
    }
    struct engine_progress pr;
    progress_of(e, &pr, NULL);
    e->cfg.reporter.cancelled(e->cfg.reporter.ctx, job, why, run_id, &pr);
}

void engine_report_skipped(struct engine *e, const char *job, const char *why, int64_t run_id)
{
    if (!e->cfg.reporter.skipped)
        return;
    struct engine_progress pr;
    progress_of(e, &pr, NULL);
    e->cfg.reporter.skipped(e->cfg.reporter.ctx, job, why, run_id, &pr);
}

/* ---- jobs and tasks finishing ---- */

bool engine_result_failed(enum run_status result)
{
    return result == RUN_FAILED || result == RUN_TIMED_OUT || result == RUN_INTERRUPTED ||
           result == RUN_LOST;
}

char *engine_skip_why(const struct due_job *d, bool elsewhere)
{
    if (d->result == RUN_SKIPPED && d->skip_why)
        return xstrdup(d->skip_why);
    const char *name = d->result == RUN_SKIPPED ? d->skipped_for : due_job_of(d)->name;
    if (d->result == RUN_CANCELLED)
        return xprintf("'%s' was cancelled: it chose no work IDs", name);
    enum run_status said = engine_result_failed(d->result) ? d->result : RUN_FAILED;
    return xprintf("'%s' %s%s", name, run_status_said(said), elsewhere ? " in another stau" : "");
}

/* Count a job (or, stopped, one that began) that ended so. */
static void count_outcome(struct engine_totals *t, enum run_status result)
{
    switch (result) {
    case RUN_SUCCEEDED:
        t->succeeded++;
        break;
    case RUN_SKIPPED:
        t->skipped++;
        break;
    case RUN_TIMED_OUT:
        t->timed_out++;
        break;
    case RUN_INTERRUPTED:
        t->interrupted++;
        break;
    case RUN_LOST:
        t->lost++;
        break;
    default:
        t->failed++;
        break;
    }
}

/* Mark a task finished with result; its job is done when all its tasks are. */
void engine_finish_task(struct engine *e, struct task *t, enum run_status result, int64_t ms)
{
    t->state = TASK_DONE;
    t->result = result;
    e->done++;
    report_finished(e, t, ms);
    struct due_job *d = t->d;
    /* The chunk ending last saw every chunk's outputs. Last by the end recorded, ties
     * to the newest run, exactly as work_success_of picks from the store: else a
     * dependent remembers one chunk, the next plan reads another, and finds it due
     * again (chunks ending in one millisecond, seen under load). */
    if (result == RUN_SUCCEEDED &&
        (!d->up_fp[0] || t->ended_wall > d->up_fp_ended ||
         (t->ended_wall == d->up_fp_ended && t->run_id > d->up_fp_run))) {
        stale_upstream_fp(due_job_of(d)->decl->outputs.len > 0, t->outputs_fp, t->run_id, d->up_fp);
        d->up_fp_ended = t->ended_wall;
        d->up_fp_run = t->run_id;
    }
    if (result == RUN_SKIPPED && d->result == RUN_SUCCEEDED) {
        d->result = RUN_SKIPPED;
        d->skipped_for = due_job_of(d)->name;
    } else if (result == RUN_CANCELLED) {
        d->result = RUN_CANCELLED;
    } else if (result != RUN_SUCCEEDED && result != RUN_SKIPPED) {
        /* The job ends as its chunks did; a failure outweighs a timeout or an
         * interrupt of another chunk. */
        if (!engine_result_failed(d->result) || result == RUN_FAILED)
            d->result = result;
        if (e->cfg.fail_fast) {
            e->stopping = true;
            if (!e->stop_cause)
                e->stop_cause = xprintf("--fail-fast stopped after '%s' %s", due_job_of(d)->name,
                                        run_status_said(result));
        }
    }
    engine_unblock(e, t);
    if (--d->runs_left == 0)
        engine_finish_job(e, d);
}

/* A job that never ran here (a failed dependency, or another stau's run failed). */
void engine_skip_job(struct engine *e, struct due_job *d, const char *failed, const char *why)
{
    if (d->state == JOB_READY)
        d->sub->ready_jobs--;
    d->result = RUN_SKIPPED;
    d->skipped_for = failed;
    free(d->skip_why);
    d->skip_why = xstrdup(why);
    int64_t run_id = engine_close_claim(e, d, RUN_SKIPPED);
    e->done++;
    engine_report_skipped(e, due_job_of(d)->name, why, run_id);
    engine_finish_job(e, d);
}

static void report_up_to_date(struct engine *e, const char *job, const char *why, int64_t run_id)
{
    if (!e->cfg.reporter.up_to_date)
        return;
    struct engine_progress pr;
    progress_of(e, &pr, NULL);
    e->cfg.reporter.up_to_date(e->cfg.reporter.ctx, job, why, run_id, &pr);
}

void engine_finish_up_to_date(struct engine *e, struct due_job *d, const char *why)
{
    if (d->state == JOB_READY)
        d->sub->ready_jobs--;
    d->result = RUN_SUCCEEDED;
    d->up_to_date = true;
    memcpy(d->up_fp, d->sub->plan->jobs[d->job].up_fp, sizeof(d->up_fp));
    int64_t run_id = engine_close_claim(e, d, RUN_SKIPPED);
    e->done++;
    report_up_to_date(e, due_job_of(d)->name, why, run_id);
    engine_finish_job(e, d);
}

/* A job whose dependencies all left what its last success started from: up to
 * date, done without a run, and its dependents go on as after a success. */
static bool cut_off(struct engine *e, struct due_job *d)
{
    char *why = NULL;
    if (!engine_upstream_unchanged(e, d, &why))
        return false;
    engine_finish_up_to_date(e, d, why);
    free(why);
    return true;
}

/* A job is done: count it, and release or skip what waits for it. */
void engine_finish_job(struct engine *e, struct due_job *d)
{
    struct submission *sub = d->sub;
    bool elsewhere = d->state == JOB_HELD;
    if (elsewhere)
        e->held--;
    d->state = JOB_DONE;
    sub->open_jobs--;
    if (elsewhere)
        ; /* counted as elsewhere when it was left to the other stau */
    else if (d->up_to_date)
        e->totals.up_to_date++;
    else if (d->cancelled)
        e->totals.cancelled++;
    else if (d->not_needed)
        e->totals.skipped++;
    else
        count_outcome(&e->totals, d->result);
    if (d->claim)
        engine_close_claim(e, d, RUN_SKIPPED); /* every chunk was skipped */
    engine_job_ended_feeding(e, d);
    if (!d->had_tasks)
        engine_fed_job_done(e, d);
    const char *failed = d->result == RUN_SKIPPED ? d->skipped_for : due_job_of(d)->name;
    char *why = d->result == RUN_SUCCEEDED ? NULL : engine_skip_why(d, elsewhere);
    size_t k = (size_t)(d - sub->due);
    for (size_t at = sub->dependents_at[k]; at < sub->dependents_at[k + 1]; at++) {
        struct due_job *w = &sub->due[sub->dependents[at]];
        if (sub->chunk_edge[at])
            continue; /* waits by chunk (engine_unblock), or was told above */
        if (w->state == JOB_SELECTING && w->early) {
            /* Choosing its work IDs before its dependencies end: it counts them as
             * any waiting job does, and is skipped once it has chosen. */
            if (d->result == RUN_SUCCEEDED) {
                w->waiting_for--;
            } else if (!w->failed_upstream) {
                w->failed_upstream = failed;
                w->failed_why = xstrdup(why);
            }
            continue;
        }
        if (w->state != JOB_WAITING)
            continue;
        if (d->result == RUN_SUCCEEDED) {
            /* (Counted per edge, as waiting_for is.) */
            if (--w->waiting_for == 0 && !cut_off(e, w)) {
                w->state = JOB_READY;
                sub->ready_jobs++;
                e->readied++;
            }
            continue;
        }
        engine_skip_job(e, w, failed, why);
    }
    free(why);
}

/* A run ended: decide its outcome, free its slot, record it, or plan its retry. */
static void end_run(struct engine *e, struct task *t, const struct proc_event *ev)
{
    struct due_job *d = t->d;
    const struct job *job = due_job_of(d);
    struct project *p = d->sub->p;
    e->slots_used -= (size_t)job->decl->slots;
    e->running--;
    if (t->taken_over) {
        /* Another stau has its record now (lost, and run again): leave it be. */
        t->failure = xstrdup("lost (taken over by another stau)");
        engine_finish_task(e, t, RUN_LOST, ev->wall_ms);
        return;
    }
    int64_t now = engine_wall(e);
    struct run_finish fin = {
        .status = RUN_FAILED, .exit_code = ev->signal ? -1 : ev->status, .signal = ev->signal};
    char outputs_fp[33] = "";
    char *missing = NULL;
    struct store_file_list learned = {0};
    struct strbuf output_files = STRBUF_INIT;
    free(t->failure);
    t->failure = NULL;
    if (ev->timed_out) {
        fin.status = RUN_TIMED_OUT;
        t->failure = xprintf("timed out after %gs", job->decl->timeout);
    } else if (e->totals.interrupts && ev->status != 0) {
        /* (A job that finished cleanly just as Ctrl-C came is a success.) */
        fin.status = RUN_INTERRUPTED;
        t->failure = xstrdup("interrupted");
    } else if (ev->status == 0) {
        plan_outputs_fingerprint(p, e->cfg.store, d->job, now, outputs_fp, &missing, &learned,
                                 &output_files);
        if (missing) {
            struct strbuf shown = STRBUF_INIT; /* the path as the terminal may show it */
            strbuf_add_printable(&shown, missing, strlen(missing));
            t->failure = xprintf("failed: declared output '%s' is missing after a zero exit",
                                 strbuf_str(&shown));
            strbuf_release(&shown);
            free(missing);
        } else {
            fin.status = RUN_SUCCEEDED;
            fin.outputs_fingerprint = outputs_fp;
            memcpy(t->outputs_fp, outputs_fp, sizeof(t->outputs_fp));
            fin.output_files = output_files.buf;
        }
    } else {
        t->failure = ev->signal ? xprintf("failed (killed by signal %d)", ev->signal)
                                : xprintf("failed (exit %d)", ev->status);
    }
    bool retry = (fin.status == RUN_FAILED || fin.status == RUN_TIMED_OUT) && !e->stopping &&
                 !e->totals.interrupts && t->attempt <= job->decl->retries;
    /* Free the slot for what is ready before archiving: the archive and the record
     * are bookkeeping, and a slot idle meanwhile is time lost. */
    t->ended_wall = now;
    if (!retry)
        engine_finish_task(e, t, fin.status, ev->wall_ms);
    else
        t->retry_run = engine_record_retry(e, t); /* before this end can be seen */
    engine_record_end(e, t, &fin, now, &learned);
    store_file_list_release(&learned);
    strbuf_release(&output_files);
    if (retry) {
        double delay = job->decl->retry_delay;
        for (int i = 1; i < t->attempt; i++)
            delay *= 2;
        if (e->cfg.reporter.retry) {
            char *label = engine_task_label(t);
            struct engine_run run = run_of(t, label, fin.status, ev->wall_ms);
            run.next_run = t->retry_run;
            e->cfg.reporter.retry(e->cfg.reporter.ctx, &run, delay, t->attempt + 1,
                                  (int)job->decl->retries + 1);
            free(label);
        }
        t->attempt++;
        t->result = fin.status; /* the last attempt's, until the next one ends */
        t->state = TASK_RETRY;
        t->retry_at = engine_mono(e) + (int64_t)(delay * 1000);
    }
}

/* ---- starting ---- */

/* The engine_interpreter for a job: its "python", else the engine's default. */
const char *engine_interpreter(const struct engine *e, const struct job *job)
{
    return job->decl->python ? job->decl->python : e->cfg.python;
}

/* A chunk with no work IDs: one succeeded run without a process, so staleness sees a
 * success (started as well as ended: a dependent's last success is compared with
 * when this one started). */
static void succeed_without_ids(struct engine *e, struct task *t, int64_t now, bool claimed)
{
    struct project *p = t->d->sub->p;
    char outputs_fp[33];
    char *missing = NULL;
    struct recorder_start start = {0};
    struct strbuf files = STRBUF_INIT, output_files = STRBUF_INIT;
    plan_inputs_fingerprint(p, e->cfg.store, t->d->job, now, start.inputs_fingerprint,
                            &start.learned, &files);
    plan_outputs_fingerprint(p, e->cfg.store, t->d->job, now, outputs_fp, &missing, &start.learned,
                             &output_files);
    free(missing);
    engine_upstream_lines(e, t->d, &files);
    start.files = strbuf_detach(&files);
    memcpy(t->outputs_fp, outputs_fp, sizeof(t->outputs_fp));
    engine_record_start(e, t, 0, now, &start, claimed, "[]");
    /* A master that chose none is cancelled (SPEC §7); declared none, it succeeds. */
    enum run_status status = t->d->cancelled ? RUN_CANCELLED : RUN_SUCCEEDED;
    if (t->d->cancelled)
        t->failure = xstrdup(t->d->ids_given ? "its timetable entry gives no work IDs"
                                             : "select_work chose no work IDs");
    struct recorder_end end = {0};
    end.output_files = strbuf_detach(&output_files);
    end.run_id = t->run_id;
    end.job = xstrdup(due_job_of(t->d)->name);
    end.finish = (struct run_finish){.status = status, .exit_code = -1};
    snprintf(end.outputs_fingerprint, sizeof(end.outputs_fingerprint), "%s", outputs_fp);
    end.ended = engine_wall(e);
    recorder_ended(e->cfg.recorder, &end);
    engine_finish_task(e, t, status, 0);
}

/* The run that stands for the graph a task runs in (the original Stau's job_id): its
 * master's first run, once it has one, else the task's own. */
static int64_t master_run(const struct due_job *d, const struct task *t)
{
    const struct due_job *m = d->master ? d->master : d;
    return m->claim ? m->claim : m->batch ? m->batch : t->run_id;
}

/* Start one task; a start failure finishes it as failed. */
static void start_task(struct engine *e, struct task *t)
{
    struct due_job *d = t->d;
    struct project *p = d->sub->p;
    const struct job *job = due_job_of(d);
    int64_t now = engine_wall(e);
    d->began = true;
    free(t->log_path);
    bool no_ids = d->chunked && !t->count;
    t->log_path = no_ids ? NULL : paths_run_log(job->name, now, t->attempt);
    struct strbuf ids = STRBUF_INIT;
    engine_task_work_ids(t, &ids);
    bool claimed;
    if (engine_record_begin(e, t, d->chunked ? ids.buf : NULL, now, &claimed) < 0) {
        strbuf_release(&ids);
        t->failure = xstrdup("failed: cannot record the run");
        engine_finish_task(e, t, RUN_FAILED, 0);
        return;
    }
    if (t->chunk && !d->batch)
        d->batch = t->run_id;
    if (no_ids) {
        strbuf_release(&ids);
        succeed_without_ids(e, t, now, claimed);
        return;
    }
    struct recorder_start start = {0};
    struct strbuf files = STRBUF_INIT;
    plan_inputs_fingerprint(p, e->cfg.store, d->job, now, start.inputs_fingerprint, &start.learned,
                            &files);
    engine_upstream_lines(e, d, &files);
    start.files = strbuf_detach(&files);
    const char *kwargs = engine_kwargs(d);
    char *env[] = {xprintf("STAU_RUN_ID=%lld", (long long)t->run_id),
                   xprintf("STAU_JOB=%s", job->name),
                   xprintf("STAU_ATTEMPT=%d", t->attempt),
                   xprintf("STAU_WORK_IDS=%s", ids.buf),
                   xprintf("STAU_KWARGS=%s", kwargs),
                   xprintf("STAU_OWNER=%s", e->cfg.owner->id),
                   xprintf("STAU_JOB_ID=%lld", (long long)master_run(d, t)),
                   xprintf("STAU_JOB_CREATED_AT=%lld", (long long)d->sub->created_at),
                   NULL};
    /* The job file stays on the command line, so ps says which job a process is. */
    const char *argv[] = {engine_interpreter(e, job), "-c", engine_bootstrap, job->path, NULL};
    struct strbuf input = STRBUF_INIT;
    strbuf_addch(&input, '[');
    json_quote(&input, d->sub->jobs_path, strlen(d->sub->jobs_path));
    strbuf_addch(&input, ',');
    json_quote(&input, job->path, strlen(job->path));
    strbuf_addch(&input, ',');
    const char *func = job->decl->main_func ? job->decl->main_func : "";
    json_quote(&input, func, strlen(func));
    strbuf_addch(&input, ',');
    json_quote(&input, kwargs, strlen(kwargs));
    strbuf_addf(&input, ",%s,%s]", d->pass_work_ids ? "true" : "false",
                d->pass_work_ids || job->decl->original_form ? "true" : "false");
    char *full_log = xprintf("%s/%s", p->root, t->log_path);
    struct proc_spec spec = {.argv = argv,
                             .env_extra = (const char *const *)env,
                             .env_defaults = d->sub->opt.env,
                             .cwd = p->root,
                             .log_path = full_log,
                             .timeout_ms = (int64_t)(job->decl->timeout * 1000),
                             .grace_ms = GRACE_MS,
                             .input = input.buf,
                             .input_len = input.len,
                             .log_limit = (uint64_t)job->decl->log_limit};
    struct strbuf err = STRBUF_INIT;
    t->started_wall = now;
    t->started_mono = engine_mono(e);
    size_t env_len = strlen(env[3]);
    if (env_len + 1 > ENV_STRING_MAX)
        strbuf_addf(&err,
                    "its %zu work IDs are too many for one run: STAU_WORK_IDS would take %zu "
                    "bytes, more than the %d an environment variable may hold; declare a smaller "
                    "chunk_size",
                    t->count, env_len, ENV_STRING_MAX);
    if (err.len || make_parent_folders(p->root, t->log_path) < 0 ||
        e->cfg.procs.start(e->cfg.procs.ctx, &spec, &t->proc, &err) < 0) {
        t->failure = xprintf("failed to start: %s", err.len ? err.buf : "see above");
        store_file_list_release(&start.learned);
        free(start.files);
        engine_record_unstarted(e, t->run_id, job->name, RUN_FAILED);
        engine_finish_task(e, t, RUN_FAILED, 0);
    } else {
        t->pid = t->proc.pid;
        engine_record_start(e, t, t->pid, now, &start, claimed, ids.buf);
        t->state = TASK_RUNNING;
        e->running++;
        e->slots_used += (size_t)job->decl->slots;
        if (e->cfg.reporter.started) {
            char *label = engine_task_label(t);
            struct engine_run run = run_of(t, label, RUN_RUNNING, 0);
            e->cfg.reporter.started(e->cfg.reporter.ctx, &run);
            free(label);
        }
    }
    strbuf_release(&err);
    strbuf_release(&ids);
    strbuf_release(&input);
    free(full_log);
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
}

/* Add one task (run) of a due job: chunk k of chunks, holding ids[first, first+count). */
struct task *engine_add_task(struct engine *e, struct due_job *d, int chunk, int chunks,
                             size_t first, size_t count)
{
    struct task *t = xcalloc(1, sizeof(*t));
    t->d = d;
    t->chunk = chunk;
    t->chunks = chunks;
    t->first = first;
    t->count = count;
    t->attempt = 1;
    t->state = TASK_READY;
    VEC_PUSH(&e->tasks, t);
    VEC_PUSH(&d->tasks, t);
    d->runs_left++;
    if (d->runs_left > 1)
        e->count++;
    d->state = JOB_STARTED;
    return t;
}

/* Whether a job of slots fits the budget now (a job wider than the whole budget runs
 * only when nothing else does). */
bool engine_fits(const struct engine *e, size_t slots)
{
    return !e->slots_used || e->slots_used + slots <= e->cfg.slots;
}

/* Whether a run of one of d's dependencies from another submission is claimed or
 * going in this engine: d waits for its end (the store makes a claim wait for
 * upstream runs of other staus only; within a submission the order sees to it). */
static bool upstream_going_here(const struct engine *e, const struct due_job *d)
{
    const struct job *job = due_job_of(d);
    for (size_t u = 0; u < job->deps.len; u++) {
        const char *name = d->sub->p->graph.jobs.items[job->deps.items[u].to].name;
        for (size_t s = 0; s < e->subs.len; s++) {
            const struct submission *sub = e->subs.items[s];
            for (size_t i = 0; sub != d->sub && i < sub->due_count; i++) {
                const struct due_job *o = &sub->due[i];
                bool going = o->claim || o->state == JOB_SELECTING || o->state == JOB_STARTED;
                if (going && strcmp(due_job_of(o)->name, name) == 0)
                    return true;
            }
        }
    }
    return false;
}

/* Claim the ready jobs that would start now and have no claim yet: all of them
 * without claim_ahead, else those whose claim must be tried again. */
static void claim_ready(struct engine *e, struct submission *sub)
{
    int64_t now = engine_mono(e);
    size_t slots = e->slots_used;
    for (size_t i = 0; i < sub->due_count; i++)
        /* (Not one waiting for the chunks of what it feeds: those come first.) */
        if (sub->due[i].state == JOB_READY && sub->due[i].claim && !sub->due[i].fed_pending &&
            !sub->due[i].feeders_left)
            slots += (size_t)due_job_of(&sub->due[i])->decl->slots;
    /* Claims refused (another copy has the job) free their slots for the next jobs
     * in the order, so copies planning the same jobs spread over them instead of
     * trailing each other. */
    size_t from = 0;
    for (int round = 0; round < CLAIM_ROUNDS && from < sub->due_count; round++) {
        VEC(struct due_job *) want = {0};
        size_t planned = slots;
        for (; from < sub->due_count; from++) {
            struct due_job *d = &sub->due[from];
            size_t need = (size_t)due_job_of(d)->decl->slots;
            if (d->state != JOB_READY || d->claim || d->claim_tried || d->feeders_left ||
                d->fed_pending || upstream_going_here(e, d))
                continue;
            if (d->claim_again_at > now) {
                if (e->claim_again_at < 0 || d->claim_again_at < e->claim_again_at)
                    e->claim_again_at = d->claim_again_at;
                continue;
            }
            if (planned && planned + need > e->cfg.slots)
                break;
            planned += need;
            VEC_PUSH(&want, d);
        }
        if (!want.len) {
            VEC_FREE(&want);
            break;
        }
        if (engine_claim(e, want.items, want.len) < 0) {
            /* The database is unavailable: try again at the next step. */
            for (size_t k = 0; k < want.len; k++)
                want.items[k]->claim_tried = false;
            VEC_FREE(&want);
            break;
        }
        for (size_t k = 0; k < want.len; k++)
            if (want.items[k]->claim)
                slots += (size_t)due_job_of(want.items[k])->decl->slots;
        VEC_FREE(&want);
        if (slots >= e->cfg.slots)
            break;
    }
}

/* Start what is ready while slots allow. */
static void start_ready(struct engine *e)
{
    /* Again while a pass made more jobs ready (a chunk without work IDs succeeds at
     * once, and its dependents may come before it in the order). */
    for (size_t readied = SIZE_MAX; readied != e->readied && !e->stopping;) {
        readied = e->readied;
        for (size_t s = 0; s < e->subs.len && !e->stopping; s++) {
            struct submission *sub = e->subs.items[s];
            engine_choose_early(e);
            if (sub->ready_jobs)
                claim_ready(e, sub);
            for (size_t i = 0; i < sub->due_count && sub->ready_jobs && !e->stopping; i++) {
                struct due_job *d = &sub->due[i];
                if (d->state != JOB_READY || !d->claim || d->feeders_left || d->fed_pending)
                    continue; /* (a job fed work IDs waits for its dependents' choice) */
                size_t slots = (size_t)due_job_of(d)->decl->slots;
                if (engine_needs_selection(d) && !engine_fits(e, slots))
                    continue;
                sub->ready_jobs--;
                engine_start_job(e, d);
            }
        }
        while (e->open_tasks < e->tasks.len && e->tasks.items[e->open_tasks]->state == TASK_DONE)
            e->open_tasks++;
        int64_t now = engine_mono(e);
        for (size_t i = e->open_tasks; i < e->tasks.len && !e->stopping; i++) {
            if (e->slots_used && e->slots_used >= e->cfg.slots)
                break;
            struct task *t = e->tasks.items[i];
            if (t->state == TASK_RETRY && t->retry_at <= now)
                t->state = TASK_READY;
            if (t->state == TASK_READY && !t->waits &&
                engine_fits(e, (size_t)due_job_of(t->d)->decl->slots))
                start_task(e, t);
        }
    }
}

/* ---- the engine ---- */

struct engine *engine_new(const struct engine_config *cfg)
{
    struct engine *e = xcalloc(1, sizeof(*e));
    e->cfg = *cfg;
    e->set = (struct proc_set)PROC_SET_INIT;
    if (!e->cfg.clock.wall_ms)
        e->cfg.clock = engine_system_clock();
    if (!e->cfg.procs.start) {
        if (proc_set_init(&e->set) < 0) {
            free(e);
            return NULL;
        }
        e->set.hangup_reloads = cfg->hangup_reloads;
        e->set.watch_fd = cfg->watch_fd;
        e->cfg.procs = (struct engine_procs){.start = system_start,
                                             .add = system_add,
                                             .wait = system_wait,
                                             .terminate_all = system_terminate_all,
                                             .terminate = system_terminate,
                                             .ctx = &e->set};
    }
    if (!e->cfg.slots)
        e->cfg.slots = 1;
    e->terminate_at = -1;
    e->claim_again_at = -1;
    int64_t now = engine_mono(e);
    e->next_heartbeat = now + HEARTBEAT_MS;
    e->next_held_poll = now + HELD_POLL_MS;
    e->next_progress = now;
    return e;
}

/* The submission's due jobs: the plan's, in its order (what a job needs comes before
 * it), and the runs of unique dependencies of their own (plan_job.copies), each just
 * before the job it is for. A rerun or a run with other kwargs makes none. */
static void add_due_jobs(struct submission *sub)
{
    const struct plan *plan = sub->plan;
    const struct graph *g = &sub->p->graph;
    bool copies = plan->copies && !sub->opt.rerun && !sub->opt.kwargs;
    sub->due_of = xmalloc((g->jobs.len + 1) * sizeof(size_t));
    for (size_t i = 0; i < g->jobs.len; i++)
        sub->due_of[i] = SIZE_MAX;
    sub->due_count = sub->open_jobs = plan->order.len + (copies ? plan->copies : 0);
    sub->due = xcalloc(sub->due_count + 1, sizeof(struct due_job));
    size_t n = 0;
    for (size_t k = 0; k < plan->order.len; k++) {
        size_t i = plan->order.items[k];
        const struct job *job = &g->jobs.items[i];
        const bool *own = copies ? plan->jobs[i].copies : NULL;
        size_t *dep_due = NULL;
        for (size_t e = 0; own && e < job->deps.len; e++) {
            if (!own[e])
                continue;
            if (!dep_due) {
                dep_due = xcalloc(job->deps.len + 1, sizeof(size_t));
                for (size_t f = 0; f < job->deps.len; f++)
                    dep_due[f] = SIZE_MAX; /* the shared ones, below */
            }
            sub->due[n] = (struct due_job){.sub = sub, .job = job->deps.items[e].to, .copy = true};
            dep_due[e] = n++;
        }
        sub->due[n] = (struct due_job){.sub = sub, .job = i, .dep_due = dep_due};
        sub->due_of[i] = n++;
    }
    for (size_t k = 0; k < n; k++) {
        struct due_job *d = &sub->due[k];
        const struct job *job = due_job_of(d);
        for (size_t e = 0; d->dep_due && e < job->deps.len; e++)
            if (d->dep_due[e] == SIZE_MAX)
                d->dep_due[e] = sub->due_of[job->deps.items[e].to];
    }
}

/* Who waits for whom in sub, in the order of the plan: one entry per edge. */
static void index_dependents(struct submission *sub)
{
    const struct graph *g = &sub->p->graph;
    sub->dependents_at = xcalloc(sub->due_count + 2, sizeof(size_t));
    for (size_t k = 0; k < sub->due_count; k++) {
        const struct job *job = &g->jobs.items[sub->due[k].job];
        for (size_t e = 0; e < job->deps.len; e++)
            if (engine_dep(&sub->due[k], e) != SIZE_MAX)
                sub->dependents_at[engine_dep(&sub->due[k], e) + 1]++;
    }
    for (size_t k = 0; k < sub->due_count; k++)
        sub->dependents_at[k + 1] += sub->dependents_at[k];
    sub->dependents = xcalloc(sub->dependents_at[sub->due_count] + 1, sizeof(size_t));
    sub->chunk_edge = xcalloc(sub->dependents_at[sub->due_count] + 1, sizeof(bool));
    size_t *fill = xcalloc(sub->due_count + 1, sizeof(size_t));
    for (size_t k = 0; k < sub->due_count; k++) {
        const struct job *job = &g->jobs.items[sub->due[k].job];
        for (size_t e = 0; e < job->deps.len; e++) {
            size_t up = engine_dep(&sub->due[k], e);
            if (up != SIZE_MAX)
                sub->dependents[sub->dependents_at[up] + fill[up]++] = k;
        }
    }
    free(fill);
}

int engine_submit(struct engine *e, struct project *p, struct plan *plan,
                  const struct engine_submit_options *opt)
{
    struct submission *sub = xcalloc(1, sizeof(*sub));
    sub->p = p;
    sub->plan = plan;
    sub->opt = *opt;
    add_due_jobs(sub);
    for (size_t k = 0; k < sub->due_count; k++) {
        struct due_job *d = &sub->due[k];
        const struct job *job = due_job_of(d);
        for (size_t i = 0; i < job->deps.len; i++)
            d->waiting_for += engine_dep(d, i) != SIZE_MAX;
    }
    index_dependents(sub);
    sub->created_at = engine_wall(e);
    engine_plan_graph(e, sub); /* (what feeds whom waits by chunk instead) */
    for (size_t k = 0; k < sub->due_count; k++) {
        struct due_job *d = &sub->due[k];
        d->state = d->waiting_for ? JOB_WAITING : JOB_READY;
        sub->ready_jobs += d->state == JOB_READY;
    }
    sub->git_commit = project_git_commit(p->root);
    sub->git.dirty = -1;
    if (sub->git_commit)
        git_changes_of(p->root, p->jobs_root, &sub->git);
    char *jobs = xprintf("%s/%s", p->root, p->jobs_root);
    sub->jobs_path = realpath(jobs, NULL);
    if (!sub->jobs_path)
        sub->jobs_path = jobs;
    else
        free(jobs);
    VEC_PUSH(&e->subs, sub);
    e->count += sub->due_count;
    e->readied++;
    if (e->cfg.claim_ahead) {
        /* A job that may be dropped as up to date once its dependencies ran is
         * claimed when it is ready, if it still runs then. */
        struct due_job **all = xcalloc(sub->due_count + 1, sizeof(*all));
        size_t claims = 0;
        for (size_t k = 0; k < sub->due_count; k++)
            if ((!plan->jobs[sub->due[k].job].cutoff && !plan->jobs[sub->due[k].job].lag_per_id) ||
                opt->rerun_of)
                all[claims++] = &sub->due[k];
        int rc = engine_claim(e, all, claims);
        free(all);
        if (rc < 0) {
            /* Nothing was recorded: the submission never began. */
            for (size_t k = 0; k < sub->due_count; k++)
                sub->due[k].state = JOB_DONE;
            sub->open_jobs = 0;
            sub->ready_jobs = 0;
            e->count -= sub->due_count;
            return -1;
        }
    }
    return 0;
}

bool engine_busy(const struct engine *e)
{
    for (size_t i = e->open_tasks; i < e->tasks.len; i++) {
        enum task_state s = e->tasks.items[i]->state;
        if (s == TASK_RUNNING || (!e->stopping && s != TASK_DONE))
            return true;
    }
    for (size_t s = 0; s < e->subs.len; s++) {
        const struct submission *sub = e->subs.items[s];
        for (size_t i = 0; i < sub->due_count; i++) {
            enum job_state js = sub->due[i].state;
            if (js == JOB_SELECTING ||
                (!e->stopping && (js == JOB_WAITING || js == JOB_READY || js == JOB_HELD)))
                return true;
        }
    }
    return false;
}

void engine_each_job(const struct engine *e, void (*fn)(void *ctx, const char *job), void *ctx)
{
    for (size_t s = 0; s < e->subs.len; s++) {
        const struct submission *sub = e->subs.items[s];
        for (size_t i = 0; i < sub->due_count; i++)
            if (sub->due[i].state != JOB_DONE)
                fn(ctx, due_job_of(&sub->due[i])->name);
    }
}

/* Free a submission's own memory (not its project and plan). */
static void submission_free(struct submission *sub)
{
    for (size_t i = 0; i < sub->due_count; i++) {
        VEC_FREE(&sub->due[i].ids);
        work_select_release(&sub->due[i].select);
        free(sub->due[i].kwargs);
        free(sub->due[i].flow);
        free(sub->due[i].empty_why);
        free(sub->due[i].skip_why);
        free(sub->due[i].failed_why);
        free(sub->due[i].upstream_lines);
        free(sub->due[i].dep_due);
        VEC_FREE(&sub->due[i].known_ids);
        free(sub->due[i].known_done);
        VEC_FREE(&sub->due[i].tasks);
    }
    free(sub->due);
    free(sub->due_of);
    free(sub->dependents);
    free(sub->chunk_edge);
    free(sub->dependents_at);
    free(sub->git_commit);
    git_changes_release(&sub->git);
    free(sub->jobs_path);
    free(sub);
}

/* Release the submissions that are over, with their tasks: a long-running engine
 * keeps only what is still going. */
static void release_finished(struct engine *e)
{
    for (size_t s = 0; s < e->subs.len;) {
        struct submission *sub = e->subs.items[s];
        bool over = !sub->open_jobs;
        for (size_t i = e->open_tasks; i < e->tasks.len && over; i++)
            over = e->tasks.items[i]->d->sub != sub || e->tasks.items[i]->state == TASK_DONE;
        if (!over) {
            s++;
            continue;
        }
        size_t kept = 0;
        for (size_t i = 0; i < e->tasks.len; i++) {
            struct task *t = e->tasks.items[i];
            if (t->d->sub == sub) {
                free(t->log_path);
                free(t->failure);
                VEC_FREE(&t->unblocks);
                free(t);
            } else {
                e->tasks.items[kept++] = t;
            }
        }
        e->tasks.len = kept;
        e->open_tasks = 0;
        if (sub->opt.release)
            sub->opt.release(sub->opt.release_ctx);
        submission_free(sub);
        e->subs.items[s] = e->subs.items[--e->subs.len];
    }
    if (!e->subs.len) {
        /* Counting starts again for the next submission's [N/M]. */
        e->count = e->done = 0;
    }
}

/* A process ended: its task's run, or a due job's select_work. */
static void process_ended(struct engine *e, const struct proc_event *ev)
{
    for (size_t i = e->open_tasks; i < e->tasks.len; i++) {
        if (&e->tasks.items[i]->proc == ev->proc) {
            end_run(e, e->tasks.items[i], ev);
            return;
        }
    }
    for (size_t s = 0; s < e->subs.len; s++) {
        struct submission *sub = e->subs.items[s];
        for (size_t i = 0; i < sub->due_count; i++) {
            if (&sub->due[i].select.proc == ev->proc) {
                engine_end_selection(e, &sub->due[i], ev);
                return;
            }
        }
    }
}

int engine_interrupts(const struct engine *e)
{
    return e->totals.interrupts;
}

void engine_interrupt(struct engine *e)
{
    e->totals.interrupts++;
    e->stopping = true;
    if (!e->stop_cause)
        e->stop_cause = xstrdup("stau was interrupted");
    e->terminate_at = -1;
    e->cfg.procs.terminate_all(e->cfg.procs.ctx, e->totals.interrupts == 1 ? GRACE_MS : 0);
}

void engine_stop(struct engine *e, int64_t grace_ms)
{
    e->stopping = true;
    if (!e->stop_cause)
        e->stop_cause = xstrdup("stau stopped");
    if (grace_ms <= 0)
        engine_interrupt(e);
    else if (e->terminate_at < 0)
        e->terminate_at = engine_mono(e) + grace_ms;
}

/* The earliest moment the engine itself must act (monotonic ms). */
static int64_t own_deadline(const struct engine *e)
{
    int64_t at = e->next_heartbeat, now = engine_mono(e);
    /* (A retry whose time has come but that waits for a slot wakes nothing: a slot
     * frees only when a run ends.) */
    for (size_t i = e->open_tasks; i < e->tasks.len; i++)
        if (e->tasks.items[i]->state == TASK_RETRY && e->tasks.items[i]->retry_at > now &&
            e->tasks.items[i]->retry_at < at)
            at = e->tasks.items[i]->retry_at;
    if (e->held && e->next_held_poll < at)
        at = e->next_held_poll;
    if (e->cfg.progress_ms > 0 && e->next_progress < at)
        at = e->next_progress;
    if (e->terminate_at >= 0 && e->terminate_at < at)
        at = e->terminate_at;
    if (e->claim_again_at >= 0 && e->claim_again_at < at)
        at = e->claim_again_at;
    return at;
}

/* What the engine does on the clock: leases, held jobs, the grace period, progress. */
/* Runs of ours that another stau recorded lost (this one was paused past its lease,
 * seen from another host): they are stopped, and their ends not recorded over the
 * takeover. Called when a heartbeat renewed fewer runs than this engine holds. */
static void stop_taken_over(struct engine *e)
{
    for (size_t i = e->open_tasks; i < e->tasks.len; i++) {
        struct task *t = e->tasks.items[i];
        if (t->state != TASK_RUNNING || t->taken_over)
            continue;
        struct run_record run = {0};
        if (store_run(e->cfg.store, t->run_id, &run) == 1 && run.status == RUN_LOST) {
            warn("run %lld of '%s' was recorded lost by another stau while this one was silent "
                 "past its lease; stopping it here",
                 (long long)t->run_id, due_job_of(t->d)->name);
            t->taken_over = true;
            e->cfg.procs.terminate(e->cfg.procs.ctx, &t->proc, GRACE_MS);
        }
        run_record_release(&run);
    }
}

/* The runs this engine holds queued: claims no task took yet, retries planned. They
 * are renewed by a heartbeat as running runs are. */
static size_t queued_runs(const struct engine *e)
{
    size_t n = 0;
    for (size_t s = 0; s < e->subs.len; s++)
        for (size_t i = 0; i < e->subs.items[s]->due_count; i++)
            n += e->subs.items[s]->due[i].claim != 0;
    for (size_t i = e->open_tasks; i < e->tasks.len; i++)
        n += e->tasks.items[i]->retry_run != 0;
    return n;
}

static void on_clock(struct engine *e)
{
    int64_t now = engine_mono(e);
    if (now >= e->next_heartbeat) {
        struct store_owner owner = owner_store(e->cfg.owner);
        int renewed = store_heartbeat(e->cfg.store, &owner, engine_wall(e));
        if (renewed < 0)
            warn("%s", store_error(e->cfg.store));
        else if ((size_t)renewed < e->running + queued_runs(e))
            stop_taken_over(e);
        e->next_heartbeat = now + HEARTBEAT_MS;
    }
    if (e->held && now >= e->next_held_poll) {
        engine_poll_held(e);
        e->next_held_poll = now + HELD_POLL_MS;
    }
    if (e->terminate_at >= 0 && now >= e->terminate_at)
        engine_interrupt(e);
    if (e->claim_again_at >= 0 && now >= e->claim_again_at)
        e->claim_again_at = -1; /* start_ready claims them again */
    if (e->cfg.progress_ms > 0 && now >= e->next_progress) {
        report_progress(e);
        e->next_progress = now + e->cfg.progress_ms;
    }
}

void engine_set_wake_fd(struct engine *e, int fd)
{
    e->set.wake_fd = fd;
}

enum engine_event engine_step(struct engine *e, int64_t deadline_ms)
{
    start_ready(e);
    release_finished(e);
    if (!engine_busy(e) && deadline_ms < 0 && e->cfg.watch_fd < 0)
        return ENGINE_IDLE;
    int64_t wake = own_deadline(e);
    if (deadline_ms >= 0 && deadline_ms < wake)
        wake = deadline_ms;
    struct proc_event ev;
    enum engine_event result = ENGINE_WORKED;
    if (e->cfg.procs.wait(e->cfg.procs.ctx, wake, &ev) < 0) {
        error("waiting for jobs failed:");
        engine_interrupt(e);
        return ENGINE_INTERRUPT;
    }
    switch (ev.kind) {
    case PROC_EVENT_EXIT:
        process_ended(e, &ev);
        break;
    case PROC_EVENT_INTERRUPT:
        result = ENGINE_INTERRUPT;
        break;
    case PROC_EVENT_RELOAD:
        result = ENGINE_RELOAD;
        break;
    case PROC_EVENT_READABLE:
        result = ENGINE_READABLE;
        break;
    case PROC_EVENT_DEADLINE:
    case PROC_EVENT_IDLE:
        if (deadline_ms >= 0 && engine_mono(e) >= deadline_ms)
            result = ENGINE_DEADLINE;
        break;
    }
    on_clock(e);
    /* After a signal the caller decides first (it may stop): nothing starts before. */
    if (result != ENGINE_INTERRUPT && result != ENGINE_RELOAD)
        start_ready(e);
    return result;
}

void engine_totals(const struct engine *e, struct engine_totals *out)
{
    *out = e->totals;
    /* Stopped (--fail-fast, Ctrl-C) with jobs not done: failed when one of its
     * chunks failed, else not finished or not started. */
    for (size_t s = 0; s < e->subs.len; s++) {
        const struct submission *sub = e->subs.items[s];
        for (size_t i = 0; i < sub->due_count; i++) {
            const struct due_job *d = &sub->due[i];
            if (d->state == JOB_DONE || d->state == JOB_HELD)
                continue;
            enum run_status result = d->result;
            for (size_t k = 0; k < d->tasks.len && !engine_result_failed(result); k++)
                if (d->tasks.items[k]->state != TASK_DONE && d->tasks.items[k]->attempt > 1)
                    result = d->tasks.items[k]->result; /* its retry never ended */
            if (d->began && engine_result_failed(result))
                count_outcome(out, result);
            else if (d->began)
                out->not_finished++;
            else
                out->not_started++;
        }
    }
}

int engine_exit_status(const struct engine *e)
{
    struct engine_totals t;
    engine_totals(e, &t);
    return t.interrupts                                         ? EXIT_RUN_INTERRUPTED
           : t.failed || t.timed_out || t.lost || t.interrupted ? EXIT_RUN_FAILED
                                                                : 0;
}

/* One run that never started because the engine stopped first, told. */
static void report_stopped_run(struct engine *e, const char *label, const char *what,
                               int64_t run_id)
{
    e->done++;
    if (!e->cfg.reporter.stopped)
        return;
    struct engine_progress pr;
    progress_of(e, &pr, NULL);
    e->cfg.reporter.stopped(e->cfg.reporter.ctx, label, what, run_id, &pr);
}

/* Tell of each planned run that never started (stau stopped first: interrupted,
 * --fail-fast), its claim closed as skipped, so that the lines count every run. */
static void report_stopped(struct engine *e)
{
    const char *cause = e->stop_cause ? e->stop_cause : "stau stopped";
    for (size_t s = 0; s < e->subs.len; s++) {
        struct submission *sub = e->subs.items[s];
        for (size_t i = 0; i < sub->due_count; i++) {
            struct due_job *d = &sub->due[i];
            const char *name = due_job_of(d)->name;
            if (d->state == JOB_WAITING || d->state == JOB_READY) {
                char *what = xprintf("not started: %s", cause);
                report_stopped_run(e, name, what, engine_close_claim(e, d, RUN_SKIPPED));
                free(what);
            } else if (d->state == JOB_HELD) {
                char *what = xprintf("not waited for: run %lld of another stau has not ended",
                                     (long long)d->held_run);
                report_stopped_run(e, name, what, 0);
                free(what);
            } else if (d->state == JOB_STARTED) {
                for (size_t k = 0; k < d->tasks.len; k++) {
                    struct task *t = d->tasks.items[k];
                    if (t->state != TASK_READY && t->state != TASK_RETRY)
                        continue;
                    char *label = engine_task_label(t);
                    int64_t id = t->retry_run;
                    char *what = t->attempt > 1
                                     ? xprintf("retry %d not started: %s", t->attempt - 1, cause)
                                     : xprintf("not started: %s", cause);
                    if (t->retry_run) {
                        engine_record_unstarted(e, t->retry_run, name, RUN_SKIPPED);
                        t->retry_run = 0;
                    } else if (t->attempt == 1) {
                        id = engine_close_claim(e, d, RUN_SKIPPED);
                    }
                    report_stopped_run(e, label, what, id);
                    free(what);
                    free(label);
                }
            }
        }
    }
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    report_stopped(e);
    /* What never began (interrupted, --fail-fast, stopped) is closed as skipped. */
    for (size_t s = 0; s < e->subs.len; s++)
        for (size_t i = 0; i < e->subs.items[s]->due_count; i++)
            engine_close_claim(e, &e->subs.items[s]->due[i], RUN_SKIPPED);
    if (e->set.active)
        proc_set_release(&e->set);
    for (size_t i = 0; i < e->tasks.len; i++) {
        free(e->tasks.items[i]->log_path);
        free(e->tasks.items[i]->failure);
        free(e->tasks.items[i]);
    }
    VEC_FREE(&e->tasks);
    for (size_t s = 0; s < e->subs.len; s++) {
        struct submission *sub = e->subs.items[s];
        if (sub->opt.release)
            sub->opt.release(sub->opt.release_ctx);
        submission_free(sub);
    }
    VEC_FREE(&e->subs);
    free(e->stop_cause);
    free(e);
}
