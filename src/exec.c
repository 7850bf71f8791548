/* exec.c: the parallel loop. Starts due jobs in dependency order within the
 * slot budget, records every run in the state database, archives each finished
 * run, retries with doubling delays, skips only what depends on a failure,
 * forwards Ctrl-C to every running job, and reports as it goes and at the end.
 *
 * Files it writes below .stau/:
 *   logs/<job>.<unix ms>.<attempt>.log    stdout and stderr of one attempt
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"
#include "recorder.h"

/* How the job's interpreter loads it: the jobs root on sys.path, then main_func
 * called with the keyword arguments, or the file run as __main__. */
const char exec_bootstrap[] =
    "import sys\n"
    "root, path, func, kwargs = sys.argv[1:5]\n"
    "sys.path.insert(0, root)\n"
    "if func:\n"
    "    import importlib.util\n"
    "    spec = importlib.util.spec_from_file_location('__stau_job__', path)\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    sys.modules[spec.name] = module\n"
    "    spec.loader.exec_module(module)\n"
    "    if kwargs == '{}':\n"
    "        getattr(module, func)()\n"
    "    else:\n"
    "        import json\n"
    "        getattr(module, func)(**json.loads(kwargs))\n"
    "else:\n"
    "    import runpy\n"
    "    sys.argv = [path]\n"
    "    runpy.run_path(path, run_name='__main__')\n";

enum { GRACE_MS = 5000, HEARTBEAT_MS = 10000, LOG_TAIL_LINES = 12 };

enum task_state { TASK_WAITING, TASK_READY, TASK_RUNNING, TASK_RETRY, TASK_DONE };

/* One due job while the loop runs. */
struct task {
    size_t job;              /* index in the graph */
    enum task_state state;   /* where it is */
    size_t waiting_for;      /* due dependencies not yet succeeded */
    int attempt;             /* 1, 2, ... */
    int64_t retry_at;        /* monotonic ms when a retry may start */
    struct proc proc;        /* the running child */
    int64_t run_id;          /* its record; 0: none yet (a retry records a new one) */
    bool unstarted;          /* run_id is recorded, and its process was never started */
    int64_t started_wall;    /* unix ms */
    char *log_path;          /* relative to the project root */
    enum run_status result;  /* when done */
    char *failure;           /* what went wrong, for the summary */
    const char *skipped_for; /* the failed job it depends on, when skipped */
    char *skip_note;         /* why it was skipped when not for a failure */
};

/* The loop's state. */
struct runner {
    struct project *p;
    struct store *st;
    struct plan *plan;
    const struct exec_options *opt;
    struct task *tasks;
    size_t count;
    size_t *task_of; /* graph index -> task index, or SIZE_MAX */
    size_t slots_used;
    size_t done, succeeded, failed, skipped;
    bool stopping; /* interrupted, or --fail-fast after a failure */
    int interrupts;
    struct proc_set set;
    struct store_owner owner;
    char host[256];
    char *git_commit;
    bool tty;
    char *jobs_path;           /* the jobs root, absolute, for the bootstrap's sys.path */
    struct recorder *recorder; /* records starts and ends, and archives */
    char *owner_id;            /* this stau as STAU_OWNER says it (exec_owner_id) */
};

/* The project's git commit, read from .git without running git; NULL if none. */
static char *read_git_commit(const char *root)
{
    char *head_path = xprintf("%s/.git/HEAD", root);
    FILE *f = fopen(head_path, "r");
    free(head_path);
    if (!f)
        return NULL;
    char line[512];
    char *commit = NULL;
    if (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "ref: ", 5) != 0) {
            commit = xstrdup(line);
        } else {
            char *ref_path = xprintf("%s/.git/%s", root, line + 5);
            FILE *r = fopen(ref_path, "r");
            free(ref_path);
            char sha[128];
            if (r && fgets(sha, sizeof(sha), r)) {
                sha[strcspn(sha, "\r\n")] = '\0';
                commit = xstrdup(sha);
            } else {
                /* A packed ref: "<sha> <ref>" lines in .git/packed-refs. */
                char *packed_path = xprintf("%s/.git/packed-refs", root);
                FILE *pk = fopen(packed_path, "r");
                free(packed_path);
                char entry[600];
                while (pk && !commit && fgets(entry, sizeof(entry), pk)) {
                    entry[strcspn(entry, "\r\n")] = '\0';
                    char *space = strchr(entry, ' ');
                    if (space && strcmp(space + 1, line + 5) == 0) {
                        *space = '\0';
                        commit = xstrdup(entry);
                    }
                }
                if (pk)
                    fclose(pk);
            }
            if (r)
                fclose(r);
        }
    }
    fclose(f);
    return commit;
}

/* The interpreter for a job: its "python", the project's .venv, else python3. */
static const char *interpreter(struct runner *r, const struct job *job)
{
    if (job->decl->python)
        return job->decl->python;
    return r->opt->python;
}

/* The keyword arguments a job runs with: the declaration's, or a rerun's recorded ones. */
static const char *kwargs_of(const struct runner *r, const struct job *job)
{
    return r->opt->kwargs ? r->opt->kwargs : job->decl->kwargs_json;
}

static void status_line(struct runner *r, const char *name)
{
    if (!r->tty)
        return;
    size_t running = 0;
    for (size_t i = 0; i < r->count; i++)
        running += r->tasks[i].state == TASK_RUNNING;
    printf("\r\033[K[%zu/%zu %zu running] %s", r->done, r->count, running, name ? name : "");
    fflush(stdout);
}

/* Print one line about a finished task (above the status line on a terminal). */
static void report(struct runner *r, const struct task *t, int64_t ms)
{
    const char *name = r->p->graph.jobs.items[t->job].name;
    if (r->tty)
        printf("\r\033[K");
    if (t->result == RUN_SUCCEEDED)
        printf("[%zu/%zu] %s ok %.1fs\n", r->done, r->count, name, (double)ms / 1000);
    else if (t->result == RUN_SKIPPED && t->skip_note)
        printf("[%zu/%zu] %s skipped: %s\n", r->done, r->count, name, t->skip_note);
    else if (t->result == RUN_SKIPPED)
        printf("[%zu/%zu] %s skipped: '%s' failed\n", r->done, r->count, name, t->skipped_for);
    else
        printf("[%zu/%zu] %s %s %.1fs (log: %s)\n", r->done, r->count, name,
               t->failure ? t->failure : run_status_name(t->result), (double)ms / 1000,
               t->log_path);
    fflush(stdout);
}

static void skip_dependents(struct runner *r, size_t task, const char *failed);

/* Mark a task finished with result, and release or skip what waits for it. */
static void close_unstarted(struct runner *r, struct task *t, enum run_status status);

static void finish_task(struct runner *r, struct task *t, enum run_status result, int64_t ms)
{
    if (t->unstarted)
        close_unstarted(r, t, result);
    t->state = TASK_DONE;
    t->result = result;
    r->done++;
    if (result == RUN_SUCCEEDED)
        r->succeeded++;
    else if (result == RUN_SKIPPED)
        r->skipped++;
    else
        r->failed++;
    report(r, t, ms);
    const struct graph *g = &r->p->graph;
    const char *name = g->jobs.items[t->job].name;
    if (result != RUN_SUCCEEDED) {
        skip_dependents(r, (size_t)(t - r->tasks), result == RUN_SKIPPED ? t->skipped_for : name);
        if (result != RUN_SKIPPED && r->opt->fail_fast)
            r->stopping = true;
        return;
    }
    for (size_t i = 0; i < r->count; i++) {
        struct task *d = &r->tasks[i];
        if (d->state != TASK_WAITING)
            continue;
        const struct job *job = &g->jobs.items[d->job];
        for (size_t e = 0; e < job->deps.len; e++)
            if (job->deps.items[e].to == t->job && --d->waiting_for == 0)
                d->state = TASK_READY;
    }
}

static void skip_dependents(struct runner *r, size_t task, const char *failed)
{
    const struct graph *g = &r->p->graph;
    size_t job = r->tasks[task].job;
    for (size_t i = 0; i < r->count; i++) {
        struct task *d = &r->tasks[i];
        if (d->state != TASK_WAITING)
            continue;
        const struct job *dj = &g->jobs.items[d->job];
        for (size_t e = 0; e < dj->deps.len; e++) {
            if (dj->deps.items[e].to == job) {
                d->skipped_for = failed;
                finish_task(r, d, RUN_SKIPPED, 0);
                break;
            }
        }
    }
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
    strbuf_addf(&sb, ",\"kwargs\":%s,\"reasons\":", kwargs_of(r, job));
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
 * succeeded) and recorded. */
static void record_end(struct runner *r, struct task *t, const struct run_finish *fin,
                       int64_t ended, struct store_file_list *learned)
{
    const struct job *job = &r->p->graph.jobs.items[t->job];
    struct recorder_end end = {0};
    end.run_id = t->run_id;
    end.job = xstrdup(job->name);
    end.archive = xprintf(".stau/archive/%s.%lld.tar.zst", job->name, (long long)t->run_id);
    end.manifest = manifest(r, t, fin);
    end.log_path = xstrdup(t->log_path);
    if (fin->status == RUN_SUCCEEDED)
        for (size_t i = 0; i < job->decl->outputs.len; i++)
            VEC_PUSH(&end.outputs, xstrdup(job->decl->outputs.items[i]));
    end.finish = *fin;
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

/* Close a recorded run that never started (skipped, or given way), without archive. */
static void close_unstarted(struct runner *r, struct task *t, enum run_status status)
{
    struct recorder_end end = {0};
    end.run_id = t->run_id;
    end.job = xstrdup(r->p->graph.jobs.items[t->job].name);
    end.finish = (struct run_finish){status, -1, 0, NULL, NULL};
    end.ended = wall_clock_ms();
    t->unstarted = false;
    recorder_ended(r->recorder, &end);
}

static void start_ready(struct runner *r);

/* A run ended: decide its outcome, free its slot, record it, or plan its retry. */
static void end_run(struct runner *r, struct task *t, const struct proc_event *ev)
{
    const struct job *job = &r->p->graph.jobs.items[t->job];
    r->slots_used -= (size_t)job->decl->slots;
    int64_t now = wall_clock_ms();
    struct run_finish fin = {RUN_FAILED, ev->signal ? -1 : ev->status, ev->signal, NULL, NULL};
    char outputs_fp[33] = "";
    char *missing = NULL;
    struct store_file_list learned = {0};
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
        plan_outputs_fingerprint(r->p, r->st, t->job, now, outputs_fp, &missing, &learned);
        if (missing) {
            t->failure =
                xprintf("failed: declared output '%s' is missing after a zero exit", missing);
            free(missing);
        } else {
            fin.status = RUN_SUCCEEDED;
            fin.outputs_fingerprint = outputs_fp;
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
        finish_task(r, t, fin.status, ev->wall_ms);
        start_ready(r);
    }
    record_end(r, t, &fin, now, &learned);
    store_file_list_release(&learned);
    if (retry) {
        t->run_id = 0; /* the next attempt is a run of its own */
        double delay = job->decl->retry_delay;
        for (int i = 1; i < t->attempt; i++)
            delay *= 2;
        if (r->tty)
            printf("\r\033[K");
        printf("%s %s; retrying in %gs (attempt %d of %lld)\n", job->name, t->failure, delay,
               t->attempt + 1, (long long)job->decl->retries + 1);
        t->attempt++;
        t->state = TASK_RETRY;
        t->retry_at = proc_now_ms() + (int64_t)(delay * 1000);
    }
}

/* A new run of task t as store_begin_run wants it: strings borrowed from r and
 * t, and reasons (a JSON array the caller releases). */
static struct run_record new_run(struct runner *r, const struct task *t, struct strbuf *reasons)
{
    const struct job *job = &r->p->graph.jobs.items[t->job];
    const struct plan_job *pj = &r->plan->jobs[t->job];
    reasons_to_json(&pj->why, reasons);
    struct run_record rec = {0};
    rec.job = (char *)(uintptr_t)job->name;
    rec.attempt = t->attempt;
    rec.status = RUN_QUEUED;
    rec.host = r->host;
    rec.owner_pid = r->owner.pid;
    rec.owner_start = r->owner.start;
    rec.git_commit = r->git_commit;
    rec.kwargs_json = (char *)(uintptr_t)kwargs_of(r, job);
    rec.rerun_of = r->opt->rerun_of;
    rec.code_fingerprint = (char *)(uintptr_t)pj->code_fp;
    rec.config_fingerprint = (char *)(uintptr_t)pj->config_fp;
    rec.inputs_fingerprint = (char *)(uintptr_t)pj->inputs_fp; /* replaced as it starts */
    rec.reasons_json = reasons->buf;
    rec.exit_code = -1;
    return rec;
}

/* Claim every task before starting any: one transaction records a queued run for
 * each, then one look at the runs in progress. Of two stau claiming a job at once,
 * the database ordered the records, and the later one gives way, so a job without
 * allow_multiple_jobs never runs twice at once. Claiming up front keeps the
 * database out of the way between one job ending and the next starting. -1 after
 * a message when nothing could be recorded. */
static int claim_tasks(struct runner *r)
{
    struct run_record *recs = xcalloc(r->count + 1, sizeof(*recs));
    struct strbuf *reasons = xcalloc(r->count + 1, sizeof(*reasons));
    int64_t *ids = xcalloc(r->count + 1, sizeof(*ids));
    for (size_t k = 0; k < r->count; k++)
        recs[k] = new_run(r, &r->tasks[k], &reasons[k]);
    int rc = store_begin_runs(r->st, recs, r->count, wall_clock_ms(), ids);
    for (size_t k = 0; k < r->count; k++)
        strbuf_release(&reasons[k]);
    free(reasons);
    free(recs);
    if (rc < 0) {
        free(ids);
        return error("%s", store_error(r->st));
    }
    for (size_t k = 0; k < r->count; k++) {
        r->tasks[k].run_id = ids[k];
        r->tasks[k].unstarted = true;
    }
    free(ids);
    struct run_list active = {0};
    if (store_active_runs(r->st, NULL, &active) < 0) {
        warn("%s", store_error(r->st));
        return 0;
    }
    for (size_t k = 0; k < r->count; k++) {
        struct task *t = &r->tasks[k];
        const struct job *job = &r->p->graph.jobs.items[t->job];
        if (job->decl->allow_multiple_jobs || t->state == TASK_DONE)
            continue;
        int64_t other = 0;
        for (size_t i = 0; i < active.len && !other; i++) {
            const struct run_record *run = &active.items[i];
            bool same_host = run->host && strcmp(run->host, r->host) == 0;
            bool ours = same_host && run->owner_pid == r->owner.pid;
            if (!ours && run->id < t->run_id && strcmp(run->job, job->name) == 0 &&
                (!same_host || proc_alive(run->owner_pid)))
                other = run->id;
        }
        if (other) {
            t->skip_note = xprintf("already running as run %lld of another stau", (long long)other);
            t->skipped_for = job->name;
            finish_task(r, t, RUN_SKIPPED, 0);
        }
    }
    run_list_release(&active);
    return 0;
}

/* Start one task; a start failure finishes it as failed. */
static void start_task(struct runner *r, struct task *t)
{
    const struct graph *g = &r->p->graph;
    const struct job *job = &g->jobs.items[t->job];
    int64_t now = wall_clock_ms();
    if (!t->run_id) {
        /* A retry: a run of its own, recorded now. */
        struct strbuf reasons = STRBUF_INIT;
        struct run_record rec = new_run(r, t, &reasons);
        int rc = store_begin_run(r->st, &rec, now, &t->run_id);
        strbuf_release(&reasons);
        if (rc < 0) {
            error("%s", store_error(r->st));
            t->failure = xstrdup("failed: cannot record the run");
            finish_task(r, t, RUN_FAILED, 0);
            return;
        }
        t->unstarted = true;
    }
    free(t->log_path);
    t->log_path = xprintf(".stau/logs/%s.%lld.%d.log", job->name, (long long)now, t->attempt);
    struct recorder_start start = {0};
    plan_inputs_fingerprint(r->p, r->st, t->job, now, start.inputs_fingerprint, &start.learned);
    char run_id[32], attempt[16];
    snprintf(run_id, sizeof(run_id), "%lld", (long long)t->run_id);
    snprintf(attempt, sizeof(attempt), "%d", t->attempt);
    char *env[] = {xprintf("STAU_RUN_ID=%s", run_id),
                   xprintf("STAU_JOB=%s", job->name),
                   xprintf("STAU_ATTEMPT=%s", attempt),
                   xstrdup("STAU_WORK_IDS=null"),
                   xprintf("STAU_KWARGS=%s", kwargs_of(r, job)),
                   xprintf("STAU_OWNER=%s", r->owner_id),
                   NULL};
    const char *argv[] = {interpreter(r, job), "-c",
                          exec_bootstrap,      r->jobs_path,
                          job->path,           job->decl->main_func ? job->decl->main_func : "",
                          kwargs_of(r, job),   NULL};
    struct proc_spec spec = {
        argv,    (const char *const *)env, r->p->root, NULL, (int64_t)(job->decl->timeout * 1000),
        GRACE_MS};
    char *full_log = xprintf("%s/%s", r->p->root, t->log_path);
    spec.log_path = full_log;
    struct strbuf err = STRBUF_INIT;
    t->started_wall = now;
    if (make_parents(r->p->root, t->log_path) < 0 || proc_start(&spec, &t->proc, &err) < 0) {
        t->failure = xprintf("failed to start: %s", err.len ? err.buf : "see above");
        store_file_list_release(&start.learned);
        finish_task(r, t, RUN_FAILED, 0); /* closes the run, never started */
    } else {
        t->unstarted = false;
        start.run_id = t->run_id;
        start.pid = t->proc.pid;
        start.at = now;
        start.log_path = xstrdup(t->log_path);
        recorder_started(r->recorder, &start);
        proc_set_add(&r->set, &t->proc);
        t->state = TASK_RUNNING;
        r->slots_used += (size_t)job->decl->slots;
        status_line(r, job->name);
    }
    strbuf_release(&err);
    free(full_log);
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
}

/* Start what is ready while slots allow. A job wider than the whole budget runs alone. */
static void start_ready(struct runner *r)
{
    int64_t now = proc_now_ms();
    for (size_t i = 0; i < r->count && !r->stopping; i++) {
        struct task *t = &r->tasks[i];
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

static bool anything_left(const struct runner *r)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->tasks[i].state == TASK_RUNNING || (!r->stopping && r->tasks[i].state != TASK_DONE))
            return true;
    return false;
}

/* The last lines of a log, indented, for the summary. */
static void print_tail(const char *root, const char *rel)
{
    char *full = xprintf("%s/%s", root, rel);
    FILE *f = fopen(full, "r");
    free(full);
    if (!f)
        return;
    char *lines[LOG_TAIL_LINES] = {0};
    size_t count = 0;
    char buf[1024];
    while (fgets(buf, sizeof(buf), f)) {
        free(lines[count % LOG_TAIL_LINES]);
        lines[count % LOG_TAIL_LINES] = xstrdup(buf);
        count++;
    }
    fclose(f);
    size_t first = count > LOG_TAIL_LINES ? count - LOG_TAIL_LINES : 0;
    for (size_t i = first; i < count; i++) {
        const char *line = lines[i % LOG_TAIL_LINES];
        printf("    %s%s", line, line[strlen(line) - 1] == '\n' ? "" : "\n");
    }
    for (size_t i = 0; i < LOG_TAIL_LINES; i++)
        free(lines[i]);
}

static void summary(struct runner *r, int64_t ms)
{
    if (r->tty)
        printf("\r\033[K");
    size_t not_run = r->count - r->done;
    printf("%zu ran: %zu succeeded, %zu failed, %zu skipped", r->succeeded + r->failed,
           r->succeeded, r->failed, r->skipped);
    if (not_run)
        printf(", %zu not started", not_run);
    printf(" (%.1fs)\n", (double)ms / 1000);
    for (size_t i = 0; i < r->count; i++) {
        const struct task *t = &r->tasks[i];
        if (t->state != TASK_DONE || t->result == RUN_SUCCEEDED || t->result == RUN_SKIPPED)
            continue;
        printf("%s %s; the end of its log:\n", r->p->graph.jobs.items[t->job].name,
               t->failure ? t->failure : run_status_name(t->result));
        print_tail(r->p->root, t->log_path);
        printf("  full log: %s\n", t->log_path);
    }
}

int exec_run(struct project *p, struct store *st, struct plan *plan, const struct exec_options *opt)
{
    struct runner r = {p, st,    plan, opt,           NULL, 0,  NULL, 0,     0,    0,    0,
                       0, false, 0,    PROC_SET_INIT, {0},  "", NULL, false, NULL, NULL, NULL};
    r.count = plan->order.len;
    r.tasks = xcalloc(r.count + 1, sizeof(struct task));
    r.task_of = xmalloc((p->graph.jobs.len + 1) * sizeof(size_t));
    for (size_t i = 0; i < p->graph.jobs.len; i++)
        r.task_of[i] = SIZE_MAX;
    for (size_t k = 0; k < r.count; k++) {
        r.tasks[k].job = plan->order.items[k];
        r.tasks[k].attempt = 1;
        r.task_of[plan->order.items[k]] = k;
    }
    for (size_t k = 0; k < r.count; k++) {
        const struct job *job = &p->graph.jobs.items[r.tasks[k].job];
        for (size_t e = 0; e < job->deps.len; e++)
            r.tasks[k].waiting_for += r.task_of[job->deps.items[e].to] != SIZE_MAX;
        r.tasks[k].state = r.tasks[k].waiting_for ? TASK_WAITING : TASK_READY;
    }
    if (gethostname(r.host, sizeof(r.host) - 1) < 0)
        snprintf(r.host, sizeof(r.host), "localhost");
    /* With its start time, so a later stau can tell it from a process reusing its pid. */
    int64_t self_start = proc_start_time_ms(getpid());
    r.owner = (struct store_owner){r.host, (int)getpid(), self_start > 0 ? self_start : 0};
    r.owner_id = exec_owner_id(r.owner.pid, r.owner.start);
    r.git_commit = read_git_commit(p->root);
    char *jobs = xprintf("%s/%s", p->root, p->jobs_root);
    r.jobs_path = realpath(jobs, NULL);
    if (!r.jobs_path)
        r.jobs_path = jobs;
    else
        free(jobs);
    r.tty = opt->tty;
    if (proc_set_init(&r.set) < 0) {
        free(r.tasks);
        free(r.task_of);
        free(r.git_commit);
        free(r.jobs_path);
        free(r.owner_id);
        return EXIT_RUN_USAGE;
    }
    r.recorder = recorder_new(p->root, st);
    int64_t began = proc_now_ms(), next_heartbeat = began + HEARTBEAT_MS;
    if (claim_tasks(&r) < 0) {
        recorder_close(r.recorder);
        proc_set_release(&r.set);
        free(r.tasks);
        free(r.task_of);
        free(r.git_commit);
        free(r.jobs_path);
        free(r.owner_id);
        return EXIT_RUN_USAGE;
    }
    start_ready(&r);
    while (anything_left(&r)) {
        int64_t deadline = next_heartbeat;
        for (size_t i = 0; i < r.count; i++)
            if (r.tasks[i].state == TASK_RETRY && r.tasks[i].retry_at < deadline)
                deadline = r.tasks[i].retry_at;
        struct proc_event ev;
        if (proc_wait_any(&r.set, deadline, &ev) < 0) {
            error("waiting for jobs failed:");
            r.stopping = true;
            proc_terminate_all(&r.set, GRACE_MS);
            continue;
        }
        if (ev.kind == PROC_EVENT_EXIT) {
            for (size_t i = 0; i < r.count; i++)
                if (&r.tasks[i].proc == ev.proc)
                    end_run(&r, &r.tasks[i], &ev);
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
    }
    proc_set_release(&r.set);
    /* What never started (interrupted, --fail-fast) is closed as skipped. */
    for (size_t i = 0; i < r.count; i++)
        if (r.tasks[i].unstarted)
            close_unstarted(&r, &r.tasks[i], RUN_SKIPPED);
    recorder_close(r.recorder);
    summary(&r, proc_now_ms() - began);
    int rc = r.interrupts ? EXIT_RUN_INTERRUPTED : r.failed ? EXIT_RUN_FAILED : 0;
    for (size_t i = 0; i < r.count; i++) {
        free(r.tasks[i].log_path);
        free(r.tasks[i].failure);
        free(r.tasks[i].skip_note);
    }
    free(r.tasks);
    free(r.task_of);
    free(r.git_commit);
    free(r.jobs_path);
    free(r.owner_id);
    return rc;
}

char *exec_owner_id(int owner_pid, int64_t owner_start)
{
    return xprintf("%d:%lld", owner_pid, (long long)owner_start);
}
