/* cli_serve.c: `stau serve`, the scheduler that runs for ever (SPEC §6).
 *
 * One engine for the whole life of the process, stepped by this loop. It sleeps
 * until the earliest of: the next schedule tick (a monotonic deadline computed from
 * the wall clock; the engine's heartbeat wakes it every HEARTBEAT_MS at the latest,
 * so a wall-clock jump is noticed within that), a change under the jobs root or in
 * a folder of declared inputs (inotify, with a short quiet period so that a burst
 * of saves is one wake-up), a run ending, or a signal. Then it plans every job and
 * submits what is due and not already going, while earlier runs go on.
 *
 * Several copies may serve one project: each claims a due job only as it can start
 * it (engine claims without claim_ahead), and a claim is refused while another live
 * copy holds the job or when its past moved on since the plan, so each need runs once.
 *
 * What a plan leaves out: a job the engine is already running (it is planned again
 * when that run ends) or one of whose dependencies it is running, a job whose only reason is that
 * it failed in this serve after its retries, with its code, declaration and inputs unchanged since
 * (it waits for a change or its next tick, instead of failing in a loop), and every due job
 * downstream of one left out.
 *
 * One copy at a time leads (the leader lease in the database, renewed every
 * RECOVER_MS, taken by another copy once its holder is gone, as lease.h judges): it
 * alone decides scheduled work. A job due only by its schedule is enqueued by the
 * leader as an unassigned run (store_enqueue), which any copy's claim takes, so the
 * ticks spread over the copies; the other copies plan such a job only once it is
 * enqueued. Every other need (a job never run, changed code or inputs, an upstream
 * that ran) any copy may see and claim. The leader withdraws what it enqueued once
 * the job is no longer due (its file went, its schedule changed).
 *
 * Every RECOVER_MS it also looks for runs of copies that are gone; every POLL_MS an
 * idle copy plans again when the database moved on without it (another copy enqueued
 * or ran something, or a one-off `stau` did). A PostgreSQL store notifies instead
 * (store_wake_fd): the copy looks at once when told, and polls only every RECOVER_MS.
 *
 * Signals: SIGTERM or SIGINT stops claiming, lets running jobs finish for --grace
 * seconds, then stops them as Ctrl-C does; a second one kills them at once. SIGHUP
 * re-reads the project now. Each event is one line on stderr (--json-log: a JSON
 * object per line), for journald and `kubectl logs`.
 */
#include "cli.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "diag.h"
#include "engine.h"
#include "envfile.h"
#include "lease.h"
#include "stale.h"
#include "watch.h"

enum {
    REPLAN_MIN_MS = 250,       /* plans after runs end are at least this far apart, and ten
                                  times as far as the last plan took: with thousands of
                                  trivial runs ending, planning must not take over */
    PLAN_RETRY_MS = 5000,      /* a plan that failed (the database away) is tried again */
    DEBOUNCE_MS = 100,         /* quiet after a change before planning */
    DEBOUNCE_MAX_MS = 1000,    /* ... but no longer than this after the first change */
    RECOVER_MS = HEARTBEAT_MS, /* how often runs of gone copies are looked for, and the
                                  leader lease renewed */
    POLL_MS = 1000             /* how often an idle copy looks whether the database moved */
};

/* A loaded project, shared by the submissions planned from it. */
struct loaded {
    struct project project;
    size_t refs; /* submissions using it, plus one while it is the current one */
};

struct serve {
    const struct cli *c;
    struct store *store;
    struct owner self;
    struct engine *engine;
    struct recorder *recorder;
    struct loaded *current;
    char *root; /* the project root, for the recorder, which outlives every reload */
    char *python;
    bool json;
    struct watch watch;
    int64_t generation; /* the database's generation when the last plan read it */
    VEC(char *) failed; /* jobs whose last run in this serve failed */
    size_t runs_ended;  /* runs the reporter saw end (moves on: plan again) */
    int leads;          /* 1: this copy holds the leader lease; 0: another does; -1: not known */
    int64_t reconnects; /* the store's reconnects already said */
};

/* One submitted plan. */
struct serve_sub {
    struct serve *s;
    struct loaded *from;
    struct plan plan;
    struct envfile env; /* the project's env file, read as it was submitted */
};

/* ---- jobs that failed here ---- */

static size_t failed_index(const struct serve *s, const char *job)
{
    for (size_t i = 0; i < s->failed.len; i++)
        if (strcmp(s->failed.items[i], job) == 0)
            return i;
    return SIZE_MAX;
}

static void note_outcome(struct serve *s, const char *job, bool failed)
{
    size_t i = failed_index(s, job);
    if (failed && i == SIZE_MAX) {
        VEC_PUSH(&s->failed, xstrdup(job));
    } else if (!failed && i != SIZE_MAX) {
        free(s->failed.items[i]);
        s->failed.items[i] = s->failed.items[--s->failed.len];
    }
}

/* ---- the event log ---- */

/* "2026-12-02T14:05:01.123Z" for unix ms. */
static void format_utc(int64_t ms, char *buf, size_t size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* One event: as text, "TIME TEXT", or as JSON, {"time","event",...fields}.
 * fields: a JSON object's members without braces ("" for none). Written with one
 * write, so lines of two threads never mix. */
static void log_event(const struct serve *s, const char *event, const char *fields, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static void log_event(const struct serve *s, const char *event, const char *fields, const char *fmt,
                      ...)
{
    char when[32];
    int64_t now = wall_clock_ms();
    format_utc(now, when, sizeof(when));
    struct strbuf text = STRBUF_INIT, line = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&text, fmt, ap);
    va_end(ap);
    if (s->json) {
        strbuf_addstr(&line, "{\"time\":\"");
        json_time_format(now, NULL, &line);
        strbuf_addf(&line, "\",\"time_ms\":%lld,\"event\":\"%s\"", (long long)now, event);
        if (fields[0])
            strbuf_addf(&line, ",%s", fields);
        strbuf_addstr(&line, ",\"message\":");
        json_quote(&line, text.buf, text.len);
        strbuf_addstr(&line, "}\n");
    } else {
        strbuf_addf(&line, "%s %s\n", when, text.buf);
    }
    for (size_t done = 0; done < line.len;) {
        ssize_t n = write(STDERR_FILENO, line.buf + done, line.len - done);
        if (n <= 0)
            break; /* nowhere to say it */
        done += (size_t)n;
    }
    strbuf_release(&text);
    strbuf_release(&line);
}

/* warn() and error() of every module, as events of the log. */
/* A warning or error said again and again (the database away: every claim, beat and
 * plan fails the same way, as an error here and a warning there) is said once, and
 * again only every REPEAT_MS while it lasts. The last few messages are remembered by
 * their text alone, so that two alternating ones are not repeated either. The
 * recorder's thread warns too, hence the lock. */
enum { REPEAT_MS = 5 * 60 * 1000, SAID_KEPT = 8 };
static pthread_mutex_t said_lock = PTHREAD_MUTEX_INITIALIZER;
static struct said {
    char *text; /* the message, without its kind */
    int64_t at; /* when it was last said (monotonic ms) */
} said[SAID_KEPT];

static void on_message(const char *kind, const char *message, void *ctx)
{
    const struct serve *s = ctx;
    int64_t now = proc_now_ms();
    pthread_mutex_lock(&said_lock);
    struct said *slot = &said[0];
    bool again = false;
    for (size_t i = 0; i < SAID_KEPT; i++) {
        if (said[i].text && strcmp(said[i].text, message) == 0) {
            slot = &said[i];
            again = now - said[i].at < REPEAT_MS;
            break;
        }
        if (!said[i].text || said[i].at < slot->at)
            slot = &said[i]; /* a free one, else the oldest */
    }
    if (!again) {
        if (!slot->text || strcmp(slot->text, message) != 0) {
            free(slot->text);
            slot->text = xstrdup(message);
        }
        slot->at = now;
    }
    pthread_mutex_unlock(&said_lock);
    if (!again)
        log_event(s, kind, "", "%s: %s", kind, message);
}

/* Forget what was said, so it is said again when it happens again. */
static void said_forget(void)
{
    pthread_mutex_lock(&said_lock);
    for (size_t i = 0; i < SAID_KEPT; i++) {
        free(said[i].text);
        said[i].text = NULL;
    }
    pthread_mutex_unlock(&said_lock);
}

/* The JSON members naming a run: "run":N,"job":"..." (into out). */
static void run_fields(struct strbuf *out, int64_t run_id, const char *job)
{
    strbuf_addf(out, "\"run\":%lld,\"job\":", (long long)run_id);
    json_quote(out, job, strlen(job));
}

/* ,"invocation":{...}: this serve, which runs the run (as history --json has it). */
static void invocation_field(const struct serve *s, struct strbuf *out)
{
    struct run_record owned = {.host = (char *)(uintptr_t)s->self.host,
                               .owner_pid = s->self.pid,
                               .owner_start = s->self.start};
    strbuf_addstr(out, ",\"invocation\":");
    run_invocation_json(&owned, out);
}

static void on_started(void *ctx, const struct engine_run *run)
{
    struct serve *s = ctx;
    struct strbuf f = STRBUF_INIT;
    run_fields(&f, run->run_id, run->job);
    strbuf_addf(&f, ",\"attempt\":%d,\"pid\":%d", run->attempt, run->pid);
    invocation_field(s, &f);
    log_event(s, "started", f.buf, "run %lld %s started (attempt %d, pid %d)",
              (long long)run->run_id, run->label, run->attempt, run->pid);
    strbuf_release(&f);
}

static void on_finished(void *ctx, const struct engine_run *run, const struct engine_progress *pr)
{
    struct serve *s = ctx;
    (void)pr;
    s->runs_ended++;
    /* A chunk's success does not clear its job's failure: the invocation failed. */
    bool failed = run->result != RUN_SUCCEEDED;
    if (run->result != RUN_SKIPPED && run->result != RUN_CANCELLED &&
        run->result != RUN_INTERRUPTED && (failed || !run->chunk))
        note_outcome(s, run->job, failed);
    struct strbuf f = STRBUF_INIT;
    run_fields(&f, run->run_id, run->job);
    strbuf_addf(&f, ",\"status\":\"%s\",\"seconds\":%.3f", run_status_name(run->result),
                (double)run->ms / 1000);
    json_field_string(&f, "log", run->log_path);
    invocation_field(s, &f);
    if (run->result == RUN_SUCCEEDED)
        log_event(s, "finished", f.buf, "run %lld %s succeeded in %.1fs", (long long)run->run_id,
                  run->label, (double)run->ms / 1000);
    else
        log_event(s, "finished", f.buf, "run %lld %s %s in %.1fs (log: %s)", (long long)run->run_id,
                  run->label, run->failure ? run->failure : run_status_name(run->result),
                  (double)run->ms / 1000, run->log_path ? run->log_path : "-");
    strbuf_release(&f);
}

/* An event about a job that did not run: "JOB WORDS: WHY". */
static void job_not_run(struct serve *s, const char *event, const char *words, const char *job,
                        const char *why)
{
    struct strbuf f = STRBUF_INIT;
    strbuf_addstr(&f, "\"job\":");
    json_quote(&f, job, strlen(job));
    log_event(s, event, f.buf, "%s %s: %s", job, words, why);
    strbuf_release(&f);
}

static void on_skipped(void *ctx, const char *job, const char *why, int64_t run_id,
                       const struct engine_progress *pr)
{
    (void)pr;
    (void)run_id;
    job_not_run(ctx, "skipped", "skipped", job, why);
}

static void on_cancelled(void *ctx, const char *job, const char *why, int64_t run_id,
                         const struct engine_progress *pr)
{
    (void)pr;
    (void)run_id;
    job_not_run(ctx, "cancelled", "cancelled", job, why);
}

static void on_up_to_date(void *ctx, const char *job, const char *why, int64_t run_id,
                          const struct engine_progress *pr)
{
    (void)pr;
    (void)run_id;
    job_not_run(ctx, "up-to-date", "up to date", job, why);
}

static void on_held(void *ctx, const char *job, const char *what, bool done,
                    const struct engine_progress *pr)
{
    (void)done;
    struct serve *s = ctx;
    (void)pr;
    s->runs_ended++; /* what another copy did may make more due */
    struct strbuf f = STRBUF_INIT;
    strbuf_addstr(&f, "\"job\":");
    json_quote(&f, job, strlen(job));
    log_event(s, "elsewhere", f.buf, "%s %s", job, what);
    strbuf_release(&f);
}

static void on_retry(void *ctx, const struct engine_run *run, double delay_s, int next_attempt,
                     int attempts)
{
    struct serve *s = ctx;
    struct strbuf f = STRBUF_INIT;
    run_fields(&f, run->run_id, run->job);
    strbuf_addf(&f, ",\"next_attempt\":%d,\"delay_seconds\":%g", next_attempt, delay_s);
    invocation_field(s, &f);
    log_event(s, "retry", f.buf, "run %lld %s %s; retrying in %gs (attempt %d of %d)",
              (long long)run->run_id, run->label, run->failure, delay_s, next_attempt, attempts);
    strbuf_release(&f);
}

/* ---- projects and submissions ---- */

static void loaded_unref(struct loaded *l)
{
    if (l && --l->refs == 0) {
        project_release(&l->project);
        free(l);
    }
}

static void release_sub(void *ctx)
{
    struct serve_sub *sub = ctx;
    plan_release(&sub->plan);
    envfile_release(&sub->env);
    loaded_unref(sub->from);
    free(sub);
}

/* Watch the jobs root and the folders of declared inputs. */
static void watch_project(struct serve *s, const struct project *p)
{
    char *jobs = xprintf("%s/%s", p->root, p->jobs_root);
    watch_add(&s->watch, jobs, true);
    free(jobs);
    for (size_t i = 0; i < p->graph.jobs.len; i++) {
        const struct decl *d = p->graph.jobs.items[i].decl;
        for (size_t k = 0; k < d->inputs.len; k++) {
            /* The folder part before any glob character. */
            const char *input = d->inputs.items[k];
            size_t plain = strcspn(input, "*?[");
            const char *slash = NULL;
            for (const char *q = input; q < input + plain; q++)
                if (*q == '/')
                    slash = q;
            char *dir =
                slash ? xprintf("%s/%.*s", p->root, (int)(slash - input), input) : xstrdup(p->root);
            watch_add(&s->watch, dir, false);
            free(dir);
        }
    }
    /* The original Stau's timetable lives beside the jobs. */
}

/* Load the project again; with errors in its declarations the previous one stays
 * (what is broken is reported, the rest goes on). -1 when nothing was ever loaded. */
/* The project's diagnostics: printed as a compiler does, or as JSON events. */
static void log_diagnostics(const struct serve *s, const struct diags *diags)
{
    if (!s->json) {
        diag_print_all(stderr, &s->c->printer, diags);
        return;
    }
    static const char *const severities[] = {"error", "warning", "note"};
    for (size_t i = 0; i < diags->items.len; i++) {
        const struct diag *d = &diags->items.items[i];
        struct strbuf f = STRBUF_INIT;
        strbuf_addf(&f, "\"severity\":\"%s\"", severities[d->severity]);
        json_field_string(&f, "path", d->path);
        strbuf_addf(&f, ",\"line\":%u,\"column\":%u", d->loc.line, d->loc.col);
        json_field_string(&f, "hint", d->hint);
        log_event(s, "diagnostic", f.buf, "%s:%u:%u: %s: %s", d->path ? d->path : "-", d->loc.line,
                  d->loc.col, severities[d->severity], d->message);
        strbuf_release(&f);
    }
}

static int reload(struct serve *s, const char *why)
{
    struct loaded *l = xcalloc(1, sizeof(*l));
    int loaded = project_load(&l->project, &s->c->project);
    if (loaded == 0)
        log_diagnostics(s, &l->project.diags);
    if (loaded < 0) {
        project_release(&l->project);
        free(l);
        log_event(s, "error", "", "cannot read the project (%s); %s", why,
                  s->current ? "still serving what was read before" : "stopping");
        return s->current ? 0 : -1;
    }
    if (l->project.diags.errors && s->current) {
        log_event(s, "error", "",
                  "%zu %s in the declarations after %s; still serving what was read before "
                  "(see above)",
                  l->project.diags.errors, l->project.diags.errors == 1 ? "error" : "errors", why);
        project_release(&l->project);
        free(l);
        return 0;
    }
    if (l->project.diags.errors) {
        log_event(s, "error", "", "%zu %s in the declarations; nothing runs until they are fixed",
                  l->project.diags.errors, l->project.diags.errors == 1 ? "error" : "errors");
    }
    l->refs = 1;
    loaded_unref(s->current);
    s->current = l;
    watch_project(s, &l->project);
    return 0;
}

static bool same_text(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Whether the job's code, declaration and inputs are what its last run had. */
static bool same_as_last_run(const struct plan_job *pj)
{
    return pj->last.id && same_text(pj->code_fp, pj->last.code_fingerprint) &&
           same_text(pj->config_fp, pj->last.config_fingerprint) &&
           same_text(pj->inputs_fp, pj->last.inputs_fingerprint);
}

static void note_going(void *ctx, const char *job)
{
    strmap_put(ctx, job, strlen(job), 0);
}

/* Whether the job is due only by its schedule: the leader's to enqueue. */
static bool only_scheduled(const struct plan_job *pj)
{
    bool only = pj->why.len > 0;
    for (size_t r = 0; r < pj->why.len; r++)
        only &= pj->why.items[r].kind == REASON_SCHEDULE;
    return only;
}

/* Leave out of plan's order what must not be submitted now (see the top); waiting:
 * the jobs with an unassigned run. */
static void filter_plan(struct serve *s, struct plan *plan, const struct graph *g,
                        const struct strmap *waiting)
{
    struct strmap going = {0};
    engine_each_job(s->engine, note_going, &going);
    bool *out = xcalloc(plan->count + 1, sizeof(bool));
    struct sizelist kept = {0};
    for (size_t k = 0; k < plan->order.len; k++) {
        size_t i = plan->order.items[k];
        const struct job *job = &g->jobs.items[i];
        /* Due only because it failed (and so, maybe, never succeeded), with its code,
         * declaration and inputs as that run had them: nothing changed since. */
        const struct plan_job *pj = &plan->jobs[i];
        const struct reasons *why = &pj->why;
        bool only_failed = why->len > 0 && same_as_last_run(pj);
        for (size_t r = 0; r < why->len; r++)
            only_failed &=
                why->items[r].kind == REASON_FAILED || why->items[r].kind == REASON_NEVER_RUN;
        size_t unused;
        out[i] = strmap_get(&going, job->name, strlen(job->name), &unused) ||
                 (only_failed && failed_index(s, job->name) != SIZE_MAX);
        /* A tick is the leader's to enqueue: a follower runs it once it is. */
        if (s->leads != 1 && only_scheduled(pj) &&
            !strmap_get(waiting, job->name, strlen(job->name), &unused))
            out[i] = true;
        /* Nor while a dependency is going here, due in this plan or not. (The order
         * is upstream first, so a left-out dependency is known by now.) */
        for (size_t e = 0; e < job->deps.len && !out[i]; e++) {
            const char *up = g->jobs.items[job->deps.items[e].to].name;
            out[i] = out[job->deps.items[e].to] || strmap_get(&going, up, strlen(up), &unused);
        }
        if (out[i])
            plan->jobs[i].due = false;
        else
            VEC_PUSH(&kept, i);
    }
    VEC_FREE(&plan->order);
    plan->order = kept;
    free(out);
    strmap_release(&going);
}

/* The next schedule tick after now of any job (unix ms; INT64_MAX: none). A tick
 * already passed belongs to a job that is running or waits for one that is: its
 * end plans again. */
static int64_t next_tick(const struct plan *plan, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < plan->count; i++) {
        const struct plan_job *pj = &plan->jobs[i];
        if (!pj->selected || !pj->schedule_count)
            continue;
        struct job_now job_now;
        plan_job_now(pj, &job_now);
        int64_t tick = stale_next_tick(&job_now, pj->schedule_from ? pj->schedule_from : now, NULL);
        if (tick != CRON_NEVER && tick <= now)
            tick = stale_next_tick(&job_now, now, NULL);
        if (tick != CRON_NEVER && tick > now && tick < next)
            next = tick;
    }
    return next;
}

/* ---- the leader lease and enqueued scheduled work ---- */

/* Take or renew the leader lease, and say so when who leads changed. Whether this
 * copy leads now (after a store error: as it did). */
static bool take_lead(struct serve *s, int64_t now)
{
    struct lease_judge judge = {&s->self, now, lease_probe_system()};
    struct store_owner me = owner_store(&s->self);
    struct store_owner_row other = {0};
    int leads = store_lead(s->store, &me, now, lease_leader_live, &judge, &other);
    if (leads < 0) {
        warn("%s", store_error(s->store));
        return s->leads == 1;
    }
    if (leads != s->leads && leads)
        log_event(s, "leading", "", "leading: this copy enqueues scheduled work");
    else if (leads != s->leads && other.host)
        log_event(s, "following", "", "following: pid %d on %s leads and enqueues scheduled work",
                  other.pid, other.host);
    else if (leads != s->leads) /* it took the lock and has not said who it is yet */
        log_event(s, "following", "", "following: another copy leads and enqueues scheduled work");
    s->leads = leads;
    free(other.host);
    return leads;
}

/* The leader withdraws the unassigned runs of jobs that went or are no longer due. */
static void withdraw_stale(struct serve *s, const struct plan *plan, const struct graph *g,
                           const struct run_list *unassigned)
{
    for (size_t i = 0; i < unassigned->len; i++) {
        const struct run_record *r = &unassigned->items[i];
        long j = graph_find(g, r->job);
        if (j >= 0 && plan->jobs[j].due)
            continue;
        int gone = store_withdraw(s->store, r->id);
        if (gone < 0) {
            warn("%s", store_error(s->store));
            continue;
        }
        if (!gone)
            continue; /* a stau took it meanwhile */
        struct strbuf f = STRBUF_INIT;
        run_fields(&f, r->id, r->job);
        log_event(s, "withdrawn", f.buf, "run %lld %s withdrawn: %s", (long long)r->id, r->job,
                  j < 0 ? "the job is gone" : "no longer due");
        strbuf_release(&f);
    }
}

/* The leader enqueues every job due by a schedule tick that has no unassigned run
 * yet, so whichever copy has a slot first runs it. */
static void enqueue_ticks(struct serve *s, const struct plan *plan, const struct graph *g,
                          const struct strmap *waiting)
{
    size_t n = 0, unused;
    struct run_record *runs = xcalloc(plan->order.len + 1, sizeof(*runs));
    int64_t *versions = xcalloc(plan->order.len + 1, sizeof(*versions));
    struct strbuf *reasons = xcalloc(plan->order.len + 1, sizeof(*reasons));
    for (size_t k = 0; k < plan->order.len; k++) {
        size_t i = plan->order.items[k];
        const struct plan_job *pj = &plan->jobs[i];
        const struct job *job = &g->jobs.items[i];
        if (!reasons_have(&pj->why, REASON_SCHEDULE) ||
            strmap_get(waiting, job->name, strlen(job->name), &unused))
            continue;
        reasons_to_json(&pj->why, &reasons[n]);
        runs[n] = (struct run_record){
            .job = (char *)(uintptr_t)job->name,
            .attempt = 1,
            .status = RUN_QUEUED,
            .kwargs_json = (char *)(uintptr_t)job->decl->kwargs_json,
            .code_fingerprint = (char *)(uintptr_t)pj->code_fp,
            .config_fingerprint = (char *)(uintptr_t)pj->config_fp,
            .inputs_fingerprint = (char *)(uintptr_t)pj->inputs_fp,
            .reasons_json = reasons[n].buf,
            .exit_code = -1,
        };
        versions[n++] = pj->version;
    }
    int64_t *ids = xcalloc(n + 1, sizeof(*ids));
    struct store_owner me = owner_store(&s->self);
    int rc = n ? store_enqueue(s->store, &me, runs, versions, n, wall_clock_ms(), ids) : 1;
    if (rc < 0)
        warn("%s", store_error(s->store));
    else if (rc == 0)
        take_lead(s, wall_clock_ms()); /* another copy took the lead: say who */
    for (size_t k = 0; k < n; k++) {
        if (ids[k]) {
            struct strbuf f = STRBUF_INIT;
            run_fields(&f, ids[k], runs[k].job);
            log_event(s, "enqueued", f.buf, "run %lld %s enqueued: its schedule is due",
                      (long long)ids[k], runs[k].job);
            strbuf_release(&f);
        }
        strbuf_release(&reasons[k]);
    }
    /* What it enqueued moved the database on: no cause for this copy to plan again. */
    if (rc > 0 && n && store_generation(s->store, &s->generation) < 0)
        s->generation = -1;
    free(ids);
    free(reasons);
    free(versions);
    free(runs);
}

/* Plan every job and submit what is due; the next tick into *tick. */
static void plan_and_submit(struct serve *s, int64_t *tick)
{
    *tick = INT64_MAX;
    struct loaded *l = s->current;
    if (l->project.diags.errors)
        return;
    /* The plan reads the runs as they ended, not as the recorder has them queued. */
    recorder_flush(s->recorder);
    if (store_generation(s->store, &s->generation) < 0)
        s->generation = -1;
    int64_t now = wall_clock_ms();
    /* The jobs with an unassigned run: job -> run id (keys borrowed from unassigned). */
    struct run_list unassigned = {0};
    struct strmap waiting = {0};
    if (lease_recover(s->store, &s->self, now, &unassigned) < 0) {
        run_list_release(&unassigned);
        *tick = now + PLAN_RETRY_MS;
        return;
    }
    for (size_t i = 0; i < unassigned.len; i++)
        strmap_put(&waiting, unassigned.items[i].job, strlen(unassigned.items[i].job),
                   (size_t)unassigned.items[i].id);
    struct serve_sub *sub = xcalloc(1, sizeof(*sub));
    sub->s = s;
    struct plan_options po = {.now = now, .commands = s->c->commands};
    if (plan_build(&sub->plan, &l->project, s->store, &po) < 0) {
        free(sub);
        run_list_release(&unassigned);
        strmap_release(&waiting);
        log_event(s, "error", "", "cannot plan (see above); trying again in %d s",
                  PLAN_RETRY_MS / 1000);
        *tick = now + PLAN_RETRY_MS;
        return;
    }
    /* A follower asks at every plan whether the leader is gone (its plans come on
     * every run that ends and every move of the database): a leader that died is
     * replaced at once, not at the next recovery poll. */
    if (s->leads != 1)
        take_lead(s, now);
    const struct graph *g = &l->project.graph;
    /* The leader enqueues before this copy leaves out what it cannot take now: a tick
     * stands for every copy, even while this one's slots are full or the job waits
     * here for a slot. */
    if (s->leads == 1) {
        withdraw_stale(s, &sub->plan, g, &unassigned);
        enqueue_ticks(s, &sub->plan, g, &waiting);
    }
    filter_plan(s, &sub->plan, g, &waiting);
    strmap_release(&waiting);
    run_list_release(&unassigned);
    *tick = next_tick(&sub->plan, now);
    if (!sub->plan.order.len) {
        plan_release(&sub->plan);
        free(sub);
        return;
    }
    /* The env file is read as its jobs are about to run: a change to it counts from
     * the next submission. */
    struct diags env_diags = DIAGS_INIT;
    int env_rc = envfile_load(l->project.root, s->c->env_file, &sub->env, &env_diags);
    log_diagnostics(s, &env_diags);
    diag_release(&env_diags);
    if (env_rc < 0) {
        log_event(s, "error", "",
                  "no job runs until the env file '%s' is fixed (see above); trying again in %d s",
                  s->c->env_file ? s->c->env_file : ENVFILE_DEFAULT, PLAN_RETRY_MS / 1000);
        plan_release(&sub->plan);
        free(sub);
        if (now + PLAN_RETRY_MS < *tick)
            *tick = now + PLAN_RETRY_MS;
        return;
    }
    sub->from = l;
    l->refs++;
    struct engine_submit_options opt = {.release = release_sub,
                                        .release_ctx = sub,
                                        .env = (const char *const *)sub->env.entries,
                                        .env_names = sub->env.names_json};
    if (engine_submit(s->engine, &l->project, &sub->plan, &opt) < 0)
        log_event(s, "error", "", "cannot submit %zu due jobs (see above)", sub->plan.order.len);
}

/* ---- the loop ---- */

/* "%gs" for a number of ms. */
static double seconds(int64_t ms)
{
    return (double)ms / 1000;
}

/* Give the leader lease up, once, as this copy stops: another takes it at once, and
 * enqueues again what is still due. What it enqueued and nobody took is withdrawn, so
 * nothing is left queued for a stau that may never come. */
static void resign(struct serve *s)
{
    if (s->leads != 1)
        return;
    struct run_list active = {0};
    if (store_active_runs(s->store, NULL, &active) < 0)
        warn("%s", store_error(s->store));
    for (size_t i = 0; i < active.len; i++)
        if (run_unassigned(&active.items[i]) && store_withdraw(s->store, active.items[i].id) < 0)
            warn("%s", store_error(s->store));
    run_list_release(&active);
    struct store_owner me = owner_store(&s->self);
    if (store_resign(s->store, &me) < 0)
        warn("%s", store_error(s->store));
    s->leads = 0;
}

static int serve_loop(struct serve *s)
{
    bool plan_now = true, reload_now = false, stopping = false;
    int64_t tick = INT64_MAX;   /* the next schedule tick (unix ms) */
    int64_t quiet_at = -1;      /* mono: plan once files stopped changing; -1: none */
    int64_t changed_first = -1; /* mono: the first change of the burst */
    int64_t next_recover = proc_now_ms() + RECOVER_MS;
    int64_t next_poll = proc_now_ms() + POLL_MS;
    int64_t last_plan = 0;
    int signals = 0;
    size_t ended_seen = 0;
    int64_t replan_at = -1; /* mono: plan then, as runs ended; -1: not asked */
    int64_t plan_gap = REPLAN_MIN_MS;
    while (!stopping || engine_busy(s->engine)) {
        if (!stopping && replan_at >= 0 && proc_now_ms() >= replan_at)
            plan_now = true;
        if (!stopping && (plan_now || reload_now)) {
            if (reload_now && reload(s, "a change") < 0)
                return EXIT_USAGE;
            plan_now = reload_now = false;
            replan_at = -1;
            ended_seen = s->runs_ended;
            int64_t began = proc_now_ms();
            plan_and_submit(s, &tick);
            int64_t took = proc_now_ms() - began;
            plan_gap = took * 10 > REPLAN_MIN_MS ? took * 10 : REPLAN_MIN_MS;
            last_plan = proc_now_ms();
        }
        int64_t mono = proc_now_ms(), wall = wall_clock_ms();
        int64_t deadline = -1;
        if (!stopping) {
            deadline = next_recover < next_poll ? next_recover : next_poll;
            if (replan_at >= 0 && replan_at < deadline)
                deadline = replan_at;
            if (tick != INT64_MAX && mono + (tick - wall) < deadline)
                deadline = mono + (tick - wall > 0 ? tick - wall : 0);
            if (quiet_at >= 0 && quiet_at < deadline)
                deadline = quiet_at;
        }
        /* a server's notifications wake the loop as soon as another copy moved a run */
        engine_set_wake_fd(s->engine, store_wake_fd(s->store));
        enum engine_event ev = engine_step(s->engine, deadline);
        mono = proc_now_ms();
        wall = wall_clock_ms();
        if (s->store->reconnects != s->reconnects) {
            s->reconnects = s->store->reconnects;
            said_forget();
            log_event(s, "reconnected", "", "state database '%s' is reachable again",
                      s->store->location);
            plan_now = true; /* what ended meanwhile elsewhere may have made work due */
        }
        if (ev == ENGINE_INTERRUPT) {
            signals++;
            if (signals == 1) {
                log_event(s, "stopping", "",
                          "stopping: no new runs; running ones get %gs to finish",
                          seconds(s->c->grace_ms));
                engine_stop(s->engine, s->c->grace_ms);
                stopping = true;
                resign(s);
            } else {
                log_event(s, "stopping", "", "stopping now: killing the running jobs");
                engine_interrupt(s->engine);
                engine_interrupt(s->engine);
            }
        } else if (ev == ENGINE_RELOAD) {
            log_event(s, "reload", "", "reloading the project (SIGHUP)");
            reload_now = true;
        } else if (ev == ENGINE_READABLE) {
            if (store_wake_fd(s->store) >= 0 && store_woken(s->store) != 0)
                next_poll = mono; /* look at the generation now */
            if (s->watch.fd >= 0 && watch_drain(&s->watch) > 0) {
                if (changed_first < 0)
                    changed_first = mono;
                quiet_at = mono + DEBOUNCE_MS;
                if (quiet_at > changed_first + DEBOUNCE_MAX_MS)
                    quiet_at = changed_first + DEBOUNCE_MAX_MS;
            }
        }
        if (quiet_at >= 0 && mono >= quiet_at) {
            quiet_at = changed_first = -1;
            reload_now = true;
        }
        if (tick != INT64_MAX && wall >= tick)
            plan_now = true;
        if (s->runs_ended != ended_seen && replan_at < 0) {
            replan_at = last_plan + plan_gap > mono ? last_plan + plan_gap : mono;
            if (replan_at <= mono)
                plan_now = true;
        }
        if (mono >= next_recover) {
            next_recover = mono + RECOVER_MS;
            struct store_owner me = owner_store(&s->self);
            if (store_owner_serving(s->store, &me, wall) < 0)
                warn("%s", store_error(s->store));
            bool led = s->leads == 1;
            /* Became the leader: the ticks are this copy's to enqueue now. */
            if (!stopping && take_lead(s, wall) && !led)
                plan_now = true;
            if (lease_recover(s->store, &s->self, wall, NULL) > 0)
                plan_now = true;
        }
        /* Runs another stau recorded or enqueued (another copy, a one-off `stau`)
         * may have made something due here. */
        if (!stopping && mono >= next_poll) {
            /* With notifications, polling is only the fallback for a lost one. */
            next_poll = mono + (store_wake_fd(s->store) >= 0 ? RECOVER_MS : POLL_MS);
            int64_t generation;
            /* A busy leader has its own runs' ends to plan on; a follower looks for
             * what the leader enqueued even then. */
            bool look = !engine_busy(s->engine) || s->leads != 1;
            if (look && replan_at < 0 && store_generation(s->store, &generation) == 0 &&
                generation != s->generation)
                replan_at = last_plan + plan_gap > mono ? last_plan + plan_gap : mono;
        }
    }
    return signals > 1 ? EXIT_INTERRUPTED : EXIT_OK;
}

int cli_serve(const struct cli *c)
{
    if (c->arg_count)
        return cli_usage_error("'serve' takes no arguments",
                               "stau serve [-j N] [--grace SECONDS] [--json-log]");
    struct serve s = {.c = c, .json = c->json_log, .leads = -1};
    set_message_sink(on_message, &s);
    owner_self(&s.self);
    int rc = EXIT_USAGE;
    if (watch_open(&s.watch) < 0)
        s.watch.fd = -1; /* serve on without noticing edits; SIGHUP still reloads */
    if (reload(&s, "starting") < 0)
        goto done;
    s.store = cli_open_store(&s.current->project);
    if (!s.store)
        goto done;
    s.python = cli_default_python(s.current->project.root);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t slots =
        c->project.threads > 0 ? (size_t)c->project.threads : (size_t)(cpus > 0 ? cpus : 1);
    s.root = xstrdup(s.current->project.root);
    struct recorder *recorder = recorder_new(s.root, s.store);
    s.recorder = recorder;
    struct engine_config cfg = {
        .store = s.store,
        .recorder = recorder,
        .owner = &s.self,
        .reporter = {.ctx = &s,
                     .started = on_started,
                     .finished = on_finished,
                     .skipped = on_skipped,
                     .cancelled = on_cancelled,
                     .up_to_date = on_up_to_date,
                     .held = on_held,
                     .retry = on_retry},
        .slots = slots,
        .fail_fast = false,
        .claim_ahead = false,
        .python = s.python,
        .hangup_reloads = true,
        .watch_fd = s.watch.fd,
    };
    s.engine = engine_new(&cfg);
    struct store_owner me = owner_store(&s.self);
    if (s.engine && store_owner_serving(s.store, &me, wall_clock_ms()) < 0)
        warn("%s", store_error(s.store));
    if (s.engine) {
        log_event(&s, "serving", "", "serving %s: %zu jobs, %zu slots, pid %d on %s",
                  s.current->project.root, s.current->project.graph.jobs.len, slots, s.self.pid,
                  s.self.host);
        take_lead(&s, wall_clock_ms());
        rc = serve_loop(&s);
        resign(&s);
        engine_free(s.engine);
    }
    recorder_close(recorder);
    if (s.engine && store_owner_stopped(s.store, &me) < 0)
        warn("%s", store_error(s.store));
    if (s.engine)
        log_event(&s, "stopped", "", "stopped");
done:
    free(s.python);
    free(s.root);
    loaded_unref(s.current);
    store_close(s.store);
    watch_close(&s.watch);
    for (size_t i = 0; i < s.failed.len; i++)
        free(s.failed.items[i]);
    VEC_FREE(&s.failed);
    set_message_sink(NULL, NULL);
    said_forget();
    return rc;
}
