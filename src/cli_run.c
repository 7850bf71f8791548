/* cli_run.c: `stau [TARGET...]`, `stau run`, `stau why`: work out what is due,
 * explain it, run it. */
#include "cli.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli_json.h"
#include "engine.h"
#include "envfile.h"
#include "git.h"
#include "lease.h"
#include "status.h"
#include "proc.h"
#include "work.h"

/* Everything a run-like command needs, opened in order. */
struct session {
    struct project project;
    struct store *store;
    struct plan plan;
    bool planned;
    bool settled;            /* the settled mark held: nothing is due, and no plan was made */
    struct known_ids *known; /* per job, the work IDs known before it runs (known_of) */
};

/* What known_of found for a job, once. */
struct known_ids {
    bool done;
    int rc;
    struct work_ids ids;
    size_t fresh;
};

/* The key of the settled mark: the project's files, the database's generation, and
 * what else the plan rested on; -1 after a message. */
static int settled_key(struct session *s, struct settled_key *key, struct strbuf *context)
{
    if (store_generation(s->store, &key->generation) < 0)
        return error("%s", store_error(s->store));
    key->sources = project_sources_hash(&s->project);
    strbuf_addf(context, "%s\n%s\n", s->project.cache_key, s->store->location);
    tz_machine_identity(context);
    key->context = strbuf_str(context);
    return 0;
}

/* Whether every target names a job (else the full plan reports it). */
static bool targets_known(const struct cli *c, const struct graph *g)
{
    for (size_t t = 0; t < c->arg_count; t++) {
        bool found = false;
        for (size_t i = 0; i < g->jobs.len && !found; i++)
            found = plan_target_matches(c->args[t], &g->jobs.items[i]);
        if (!found)
            return false;
    }
    return true;
}

/* Load the project, open the state database, and plan; -1 after a message. With
 * use_settled, a settled mark that still holds stands in for the plan (s->settled).
 * A plan of every job that finds nothing due leaves such a mark for the next call. */
/* How a session forces jobs: not at all, the targets (--force, or `stau run`), or
 * the targets and everything they need (`stau run --force`). */
struct forcing {
    bool targets;
    bool upstream;
    const char *why; /* the forced reason's evidence (NULL: "asked for with --force") */
};

/* A job whose declaration has errors is not run, nor is what needs it (plan_build
 * leaves them out, report_blocked names them); the rest runs. */
static int open_session(const struct cli *c, struct session *s, struct forcing force,
                        bool use_settled)
{
    memset(s, 0, sizeof(*s));
    if (cli_load(c, &s->project) < 0)
        return -1;
    s->store = cli_open_store(&s->project);
    if (!s->store)
        return -1;
    int64_t now = wall_clock_ms();
    struct owner self;
    owner_self(&self);
    if (lease_recover(s->store, &self, now, NULL) < 0)
        return -1;
    struct settled_key key;
    struct strbuf context = STRBUF_INIT;
    if (settled_key(s, &key, &context) < 0) {
        strbuf_release(&context);
        return -1;
    }
    char *mark = paths_state_file(s->project.root, "settled");
    if (use_settled && !force.targets && settled_holds(mark, s->project.root, &key, now) &&
        targets_known(c, &s->project.graph)) {
        if (c->verbose)
            fprintf(stderr, "stau: nothing changed since a plan found nothing due\n");
        s->settled = true;
    } else {
        struct plan_options po = {c->args,     c->arg_count, force.targets, now,
                                  c->commands, force.why,    force.upstream};
        /* (Counted from here: opening, and making or migrating a schema, are not the
         * plan's requests.) */
        int64_t requests = s->store->round_trips;
        if (plan_build(&s->plan, &s->project, s->store, &po) < 0) {
            free(mark);
            strbuf_release(&context);
            return -1;
        }
        s->planned = true;
        if (c->verbose && s->store->kind == STORE_POSTGRES)
            fprintf(stderr, "stau: the plan of %zu jobs took %lld requests to the state database\n",
                    s->project.graph.jobs.len, (long long)(s->store->round_trips - requests));
        if (!s->plan.order.len && !c->arg_count && !force.targets && s->plan.witness_complete &&
            settled_write(mark, &key, &s->plan.witness, plan_next_tick(&s->plan), now) < 0 &&
            c->verbose)
            warn("cannot write '%s':", mark);
    }
    free(mark);
    strbuf_release(&context);
    return 0;
}

static void end_session(struct session *s)
{
    for (size_t i = 0; s->known && i < s->project.graph.jobs.len; i++)
        VEC_FREE(&s->known[i].ids);
    free(s->known);
    if (s->planned)
        plan_release(&s->plan);
    if (s->store)
        store_close(s->store);
}

static void close_session(struct session *s)
{
    end_session(s);
    project_release_at_exit(&s->project);
}

/* close_session, the project freed now: another session follows in this process. */
static void close_session_now(struct session *s)
{
    end_session(s);
    project_release(&s->project);
}

/* (python3 on PATH may be a slow shim, hence the one question.) */
static const char *python_setting;

void cli_set_default_python(const char *python)
{
    python_setting = python;
}

/* Ask python for its real executable; NULL when it gives none. */
static char *resolve_python(const char *python)
{
    const char *argv[] = {python, "-c", "import sys; print(sys.executable)", NULL};
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    char *real = NULL;
    if (proc_capture(argv, &out, &err) == 0 && out.len) {
        out.buf[strcspn(out.buf, "\r\n")] = '\0';
        if (out.buf[0] == '/')
            real = xstrdup(out.buf);
    }
    strbuf_release(&out);
    strbuf_release(&err);
    return real;
}

char *cli_default_python(const char *root)
{
    if (python_setting) {
        /* A path (with a '/') is the project's, as written; a bare name is looked up. */
        if (!strchr(python_setting, '/')) {
            char *real = resolve_python(python_setting);
            return real ? real : xstrdup(python_setting);
        }
        if (python_setting[0] == '/')
            return xstrdup(python_setting);
        char *rel = xprintf("%s/%s", root, python_setting);
        char *cwd = rel[0] == '/' ? NULL : getcwd(NULL, 0);
        char *abs = cwd ? xprintf("%s/%s", cwd, rel) : xstrdup(rel);
        free(cwd);
        free(rel);
        return abs;
    }
    char *venv = xprintf("%s/.venv/bin/python", root);
    if (access(venv, X_OK) == 0) {
        /* Not resolved: the venv's python is a link, and only through it does the
         * interpreter find the venv. Absolute, as jobs run in the project root. */
        if (venv[0] == '/')
            return venv;
        char *cwd = getcwd(NULL, 0);
        char *abs = cwd ? xprintf("%s/%s", cwd, venv) : xstrdup(venv);
        free(cwd);
        free(venv);
        return abs;
    }
    free(venv);
    char *python = resolve_python("python3");
    return python ? python : xstrdup("python3");
}

int cli_load_env(const struct cli *c, const char *root, struct envfile *out)
{
    struct diags d = DIAGS_INIT;
    int rc = envfile_load(root, c->env_file, out, &d);
    diag_print_all(stderr, &c->printer, &d);
    diag_release(&d);
    if (rc < 0)
        fprintf(stderr, "stau: error: no job runs until the env file '%s%s' is fixed (see above)\n",
                c->printer.prefix ? c->printer.prefix : "",
                c->env_file ? c->env_file : ENVFILE_DEFAULT);
    return rc;
}

/* Run the plan's due jobs: one submission to an engine, stepped until nothing is
 * left, reported on stdout. The project's env file is read now, as they are about to
 * run. The exit status (0, 1, 130; 2 if nothing could run). */
static int run_engine(const struct cli *c, struct session *s, size_t slots, bool fail_fast,
                      const struct engine_submit_options *given)
{
    struct envfile env;
    if (cli_load_env(c, s->project.root, &env) < 0)
        return EXIT_RUN_USAGE;
    struct engine_submit_options opt = *given;
    opt.env = (const char *const *)env.entries;
    opt.env_names = env.names_json;
    const struct engine_submit_options *sub = &opt;
    /* A status line redrawn in place needs a terminal that takes escape codes. */
    bool tty = isatty(STDOUT_FILENO) != 0 && !dumb_terminal();
    char *python = cli_default_python(s->project.root);
    struct owner self;
    owner_self(&self);
    struct status *status = status_new(tty);
    struct recorder *recorder = recorder_new(s->project.root, s->store);
    struct engine_config cfg = {.store = s->store,
                                .recorder = recorder,
                                .owner = &self,
                                .reporter = status_reporter(status),
                                .slots = slots,
                                .fail_fast = fail_fast,
                                .claim_ahead = true,
                                .python = python,
                                .progress_ms = tty ? 200 : 0,
                                .watch_fd = -1};
    int64_t began = proc_now_ms();
    struct engine *e = engine_new(&cfg);
    int rc = EXIT_RUN_USAGE;
    if (e && engine_submit(e, &s->project, &s->plan, sub) == 0) {
        while (engine_busy(e))
            if (engine_step(e, -1) == ENGINE_INTERRUPT) {
                engine_interrupt(e);
                status_interrupted(status, engine_interrupts(e));
            }
        rc = engine_exit_status(e);
    }
    struct engine_totals totals;
    if (e)
        engine_totals(e, &totals);
    engine_free(e);
    recorder_close(recorder);
    if (rc != EXIT_RUN_USAGE)
        status_summary(status, &totals, proc_now_ms() - began);
    status_free(status);
    free(python);
    envfile_release(&env);
    return rc;
}

/* The due, chunked job that gives job i its work IDs when it runs (SPEC §7: a
 * master's IDs flow down to what it needs), or NULL. */
static const char *feeder_of(const struct session *s, size_t i)
{
    const struct graph *g = &s->project.graph;
    const struct decl *d = g->jobs.items[i].decl;
    if (!s->plan.jobs[i].due || !s->plan.jobs[i].pulled || !work_is_chunked(d) || d->has_work_ids)
        return NULL;
    for (size_t k = 0; k < s->plan.order.len; k++) {
        const struct job *w = &g->jobs.items[s->plan.order.items[k]];
        if (!work_is_chunked(w->decl))
            continue;
        for (size_t e = 0; e < w->deps.len; e++)
            if (w->deps.items[e].to == i)
                return w->name;
    }
    return NULL;
}

/* The work IDs job i would run on when they are known before anything runs (SPEC
 * §7): declared; given by its timetable entry's kwargs_func; or, for a job fed by
 * its dependents, theirs, less those a max_lag edge finds fresh (counted in *fresh).
 * 0: known (sorted, each once); 1: chosen by select_work when it runs; -1 after a
 * store error (said). */
static const struct known_ids *known_of(struct session *s, size_t i, int64_t now);

static int known_ids(struct session *s, size_t i, int64_t now, struct work_ids *out, size_t *fresh)
{
    const struct graph *g = &s->project.graph;
    const struct job *job = &g->jobs.items[i];
    const struct plan_job *pj = &s->plan.jobs[i];
    out->len = 0;
    *fresh = 0;
    if (job->decl->has_work_ids) {
        for (size_t k = 0; k < job->decl->work_ids.len; k++)
            VEC_PUSH(out, job->decl->work_ids.items[k]);
        work_ids_sort(out, false);
        return 0;
    }
    if (!feeder_of(s, i)) {
        if (!work_ids_given(pj->entry_kwargs, out))
            return 1;
        work_ids_sort(out, false);
        return 0;
    }
    /* Fed: the union of what each due, chunked dependent gives it. */
    for (size_t k = 0; k < s->plan.order.len; k++) {
        size_t w = s->plan.order.items[k];
        const struct job *wj = &g->jobs.items[w];
        const struct dependency *dep = NULL;
        for (size_t e = 0; e < wj->deps.len && !dep; e++)
            if (wj->deps.items[e].to == i)
                dep = wj->deps.items[e].dep;
        if (!dep || !work_is_chunked(wj->decl))
            continue;
        const struct known_ids *from = known_of(s, w, now);
        if (from->rc != 0)
            return from->rc;
        struct work_ids given = {0};
        for (size_t n = 0; n < from->ids.len; n++)
            VEC_PUSH(&given, from->ids.items[n]);
        int64_t *done = NULL;
        if (pj->lag_per_id && dep->has_max_lag && !dep->allow_missing_work_ids && given.len) {
            done = xcalloc(given.len, sizeof(*done));
            if (store_work_done(s->store, job->name, given.items, given.len, done) < 0) {
                warn("%s", store_error(s->store));
                free(done);
                VEC_FREE(&given);
                return -1;
            }
        }
        int64_t limit = (int64_t)(dep->max_lag * 60000.0);
        for (size_t n = 0; n < given.len; n++) {
            if (done && done[n] && now - done[n] <= limit)
                (*fresh)++;
            else
                VEC_PUSH(out, given.items[n]);
        }
        free(done);
        VEC_FREE(&given);
    }
    work_ids_sort(out, true);
    return 0;
}

/* known_ids of job i, worked out once per session (a diamond of dependents reaches
 * a job over many paths). */
static const struct known_ids *known_of(struct session *s, size_t i, int64_t now)
{
    if (!s->known)
        s->known = xcalloc(s->project.graph.jobs.len + 1, sizeof(*s->known));
    struct known_ids *k = &s->known[i];
    if (!k->done) {
        k->done = true;
        k->rc = 1; /* (a cycle, which the graph refuses anyway, knows nothing) */
        k->rc = known_ids(s, i, now, &k->ids, &k->fresh);
    }
    return k;
}

/* For a chunked job, a line on where its work IDs come from and how they are split
 * (the IDs select_work returns are not known before the job runs). */
static void print_work_ids(struct session *s, size_t i, const char *indent)
{
    const struct decl *d = s->project.graph.jobs.items[i].decl;
    if (!work_is_chunked(d))
        return;
    struct strbuf sb = STRBUF_INIT;
    const char *feeder = feeder_of(s, i);
    const struct known_ids *k = feeder || !d->has_work_ids ? known_of(s, i, wall_clock_ms()) : NULL;
    int known = k ? k->rc : 1;
    const struct work_ids ids = k ? k->ids : (struct work_ids){0};
    size_t fresh = k ? k->fresh : 0;
    if (known == 0 && !ids.len && fresh) {
        strbuf_addf(&sb, "each of the %zu '%s' gives it is fresh within its max_lag: up to date",
                    fresh, feeder);
    } else if (known == 0) {
        size_t chunks = work_chunk_count(ids.len, d->chunk_size);
        strbuf_addf(&sb, "%zu from ", ids.len);
        if (feeder)
            strbuf_addf(&sb, "'%s'", feeder);
        else
            strbuf_addstr(&sb, "its timetable entry");
        if (ids.len) {
            strbuf_addstr(&sb, " (");
            work_ids_describe(ids.items, ids.len, 40, &sb);
            strbuf_addch(&sb, ')');
        }
        if (!ids.len)
            strbuf_addstr(&sb, ": nothing to do for it");
        else if (chunks == 1)
            strbuf_addstr(&sb, ", in one chunk");
        else
            strbuf_addf(&sb, ", in %zu chunks of %lld", chunks, (long long)d->chunk_size);
        if (fresh)
            strbuf_addf(&sb, "; %zu more fresh within its max_lag", fresh);
    } else if (feeder) {
        strbuf_addf(&sb, "those '%s' chooses when it runs", feeder);
        if (d->chunk_size)
            strbuf_addf(&sb, ", in chunks of %lld", (long long)d->chunk_size);
        else
            strbuf_addstr(&sb, ", all in one chunk");
    } else if (d->has_work_ids) {
        size_t n = d->work_ids.len;
        size_t chunks = work_chunk_count(n, d->chunk_size);
        strbuf_addf(&sb, "%zu declared", n);
        if (n) {
            strbuf_addstr(&sb, " (");
            work_ids_describe(d->work_ids.items, n, 40, &sb);
            strbuf_addch(&sb, ')');
        }
        if (!n)
            strbuf_addstr(&sb, ": it succeeds without running");
        else if (chunks == 1)
            strbuf_addstr(&sb, ", in one chunk");
        else
            strbuf_addf(&sb, ", in %zu chunks of %lld", chunks, (long long)d->chunk_size);
    } else {
        strbuf_addstr(&sb, "chosen by select_work when it runs");
        if (d->chunk_size)
            strbuf_addf(&sb, ", in chunks of %lld", (long long)d->chunk_size);
        else
            strbuf_addstr(&sb, ", all in one chunk");
        strbuf_addstr(&sb, " (without select_work, it runs once, unchunked)");
    }
    printf("%swork ids: %s\n", indent, sb.buf);
    strbuf_release(&sb);
}

static void print_plan(const struct cli *c, struct session *s, long given)
{
    const struct plan *plan = &s->plan;
    if (!plan->order.len) {
        printf("nothing to do\n");
        return;
    }
    printf("would run %zu %s:\n", plan->order.len, plan->order.len == 1 ? "job" : "jobs");
    for (size_t k = 0; k < plan->order.len; k++) {
        size_t i = plan->order.items[k];
        const struct plan_job *pj = &plan->jobs[i];
        const struct job *job = &s->project.graph.jobs.items[i];
        printf("  %s (%s", job->name, job_policy_text(job));
        if (pj->pulled_by != SIZE_MAX)
            printf(", needed by '%s'", s->project.graph.jobs.items[pj->pulled_by].name);
        printf(")\n");
        for (size_t r = 0; r < pj->why.len; r++)
            printf("      %s: %s\n", reason_name(pj->why.items[r].kind), pj->why.items[r].evidence);
        if (pj->cutoff)
            printf("      up to date after all if what it depends on comes out unchanged\n");
        for (size_t e = 0; pj->copies && e < job->deps.len; e++)
            if (pj->copies[e])
                printf("      and a run of '%s' of its own (unique=True), on its work IDs and "
                       "kwargs\n",
                       s->project.graph.jobs.items[job->deps.items[e].to].name);
        if (pj->then_entry)
            printf("      then again for timetable entry '%s', with its own kwargs\n",
                   pj->then_entry);
        if (given >= 0 && (size_t)given == i)
            printf("      with kwargs given on the command line: %s\n", c->kwargs);
        print_work_ids(s, i, "      ");
    }
}

/* For a chunked job's dependencies judged per work ID (SPEC §7): how fresh each is
 * for the work IDs of the job's latest invocation, one line per dependency. */
static void print_lag_per_id(const struct session *s, size_t i, int64_t now)
{
    const struct job *job = &s->project.graph.jobs.items[i];
    if (!work_is_chunked(job->decl))
        return;
    struct run_list batch = {0};
    struct work_ids ids = {0};
    if (store_last_batch(s->store, job->name, &batch) < 0) {
        warn("%s", store_error(s->store));
        return;
    }
    int64_t batch_id = batch.len ? batch.items[0].batch : 0;
    for (size_t r = 0; r < batch.len; r++) {
        struct work_ids one = {0};
        if (batch.items[r].work_ids_json && work_ids_parse(batch.items[r].work_ids_json, &one) == 0)
            for (size_t k = 0; k < one.len; k++)
                VEC_PUSH(&ids, one.items[k]);
        VEC_FREE(&one);
    }
    run_list_release(&batch);
    for (size_t e = 0; e < job->deps.len && ids.len; e++) {
        const struct edge *edge = &job->deps.items[e];
        const struct job *up = &s->project.graph.jobs.items[edge->to];
        if (!edge->dep->has_max_lag || edge->dep->allow_missing_work_ids ||
            !work_is_chunked(up->decl) || up->decl->has_work_ids)
            continue;
        int64_t *done = xcalloc(ids.len, sizeof(*done));
        if (store_work_done(s->store, up->name, ids.items, ids.len, done) < 0) {
            warn("%s", store_error(s->store));
            free(done);
            break;
        }
        int64_t limit = (int64_t)(edge->dep->max_lag * 60000.0), oldest = now;
        struct work_ids stale = {0}, never = {0};
        for (size_t k = 0; k < ids.len; k++) {
            if (!done[k])
                VEC_PUSH(&never, ids.items[k]);
            else if (now - done[k] > limit) {
                VEC_PUSH(&stale, ids.items[k]);
                if (done[k] < oldest)
                    oldest = done[k];
            }
        }
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "  dependency %s, for the %zu work IDs of run %lld: ", up->name, ids.len,
                    (long long)batch_id);
        if (!stale.len && !never.len) {
            strbuf_addf(&sb, "each succeeded within its max_lag of %g minutes", edge->dep->max_lag);
        } else {
            if (stale.len) {
                strbuf_addstr(&sb, stale.len == 1 ? "ID " : "IDs ");
                work_ids_describe(stale.items, stale.len, 40, &sb);
                strbuf_addstr(&sb, " last succeeded ");
                stale_format_age(now - oldest, &sb);
                strbuf_addf(&sb, " ago at the oldest, over its max_lag of %g minutes",
                            edge->dep->max_lag);
            }
            if (never.len) {
                strbuf_addstr(&sb, stale.len ? "; " : "");
                strbuf_addstr(&sb, never.len == 1 ? "ID " : "IDs ");
                work_ids_describe(never.items, never.len, 40, &sb);
                strbuf_addstr(&sb, " never succeeded");
            }
            strbuf_addstr(&sb, ": they run first when this job runs on them");
        }
        printf("%s\n", sb.buf);
        strbuf_release(&sb);
        VEC_FREE(&stale);
        VEC_FREE(&never);
        free(done);
    }
    VEC_FREE(&ids);
}

/* What a job's policy means, for `stau why`. */
static void print_policy(const struct session *s, size_t i)
{
    const struct job *job = &s->project.graph.jobs.items[i];
    const struct plan_job *pj = &s->plan.jobs[i];
    enum policy policy = job_policy(job);
    printf("  policy: %s: %s\n", job_policy_text(job),
           policy == POLICY_ON_DEMAND ? "it runs only when a job that runs needs it"
           : policy == POLICY_DERIVED ? "it runs when what it is made from changes"
           : job_on_change(job)
               ? "it runs at each tick of its schedule and when what it is made from changes"
               : "it runs at each tick of its schedule; changes wait for the next tick");
    if (pj->pulled_by != SIZE_MAX)
        printf("  needed by: '%s', which runs\n", s->project.graph.jobs.items[pj->pulled_by].name);
    /* Needed only over the original Stau's edges (with max_lag), max_lag alone pulls
     * it in: its own changes are no cause. */
    const struct graph *g = &s->project.graph;
    bool lag_alone = job->decl->original_form, needed = false;
    for (size_t k = 0; k < g->jobs.len && lag_alone; k++)
        for (size_t e = 0; e < g->jobs.items[k].deps.len; e++)
            if (g->jobs.items[k].deps.items[e].to == i) {
                needed = true;
                lag_alone &= g->jobs.items[k].decl->original_form &&
                             g->jobs.items[k].deps.items[e].dep->has_max_lag;
            }
    const char *when = policy == POLICY_SCHEDULED ? "at the next tick"
                       : lag_alone && needed
                           ? "not a cause in the original Stau's form (max_lag decides)"
                           : "when needed";
    for (size_t r = 0; r < pj->held_back.len; r++)
        printf("  %s: %s: %s\n", when, reason_name(pj->held_back.items[r].kind),
               pj->held_back.items[r].evidence);
}

/* The jobs whose run for one timetable entry is followed by one for another, with
 * other kwargs (plan_job.then_entry); their names are borrowed from s. */
static size_t more_ticks(const struct session *s, const char **names)
{
    size_t n = 0;
    for (size_t k = 0; k < s->plan.order.len; k++)
        if (s->plan.jobs[s->plan.order.items[k]].then_entry)
            names[n++] = s->project.graph.jobs.items[s->plan.order.items[k]].name;
    return n;
}

/* Whether this invocation is about job i: no targets (every job), or a target
 * names it or needs it. in_scope holds one bool per job, filled on first use. */
static bool about_job(const struct cli *c, const struct graph *g, size_t i, bool **in_scope)
{
    if (!c->arg_count)
        return true;
    if (!*in_scope) {
        size_t n = g->jobs.len;
        *in_scope = xcalloc(n + 1, sizeof(bool));
        struct sizelist roots = {0};
        for (size_t k = 0; k < n; k++)
            for (size_t t = 0; t < c->arg_count; t++)
                if (plan_target_matches(c->args[t], &g->jobs.items[k])) {
                    VEC_PUSH(&roots, k);
                    break;
                }
        graph_upstream(g, roots.items, roots.len, *in_scope);
        VEC_FREE(&roots);
    }
    return (*in_scope)[i];
}

/* Say on stdout, one line each, which jobs of this invocation are not run because a
 * declaration is invalid (their own or one they need); how many. */
static size_t report_blocked(const struct cli *c, const struct session *s)
{
    const struct graph *g = &s->project.graph;
    bool *in_scope = NULL;
    size_t count = 0;
    struct strbuf why = STRBUF_INIT;
    /* The invalid jobs first, then what they keep from running. */
    for (size_t k = 0; k < 2 * g->jobs.len; k++) {
        size_t i = k % g->jobs.len;
        const struct job *job = &g->jobs.items[i];
        if (!job->blocked || job->invalid != (k < g->jobs.len) || !about_job(c, g, i, &in_scope))
            continue;
        strbuf_reset(&why);
        graph_blocked_reason(g, i, &why);
        printf("%s not run: %s\n", g->jobs.items[i].name, why.buf);
        count++;
    }
    strbuf_release(&why);
    free(in_scope);
    return count;
}

/* The last line of a run that left jobs out for invalid declarations (or of one of
 * every job with errors no job is kept from running by, as in a timetable); the
 * exit status it asks for. */
static int report_invalid_summary(const struct cli *c, const struct session *s, size_t blocked)
{
    if (blocked) {
        printf("%zu %s not run: invalid declarations\n", blocked, blocked == 1 ? "job" : "jobs");
        return EXIT_JOB_FAILED;
    }
    size_t errors = s->project.diags.errors;
    if (errors && !c->arg_count) {
        printf("%zu %s in the declarations (see above)\n", errors,
               errors == 1 ? "error" : "errors");
        return EXIT_JOB_FAILED;
    }
    return EXIT_OK;
}

/* The job the kwargs given on the command line (c->kwargs) are for: the one job the
 * one target names; -1 after a message when it names several, or a chunked job is
 * given work_ids. */
static long given_job(const struct cli *c, const struct session *s)
{
    const struct graph *g = &s->project.graph;
    struct strbuf names = STRBUF_INIT;
    long found = -1;
    size_t count = 0;
    for (size_t i = 0; i < g->jobs.len; i++)
        if (plan_target_matches(c->args[0], &g->jobs.items[i])) {
            found = (long)i;
            strbuf_addf(&names, "%s%s", count++ ? ", " : "", g->jobs.items[i].name);
        }
    if (count > 1) {
        fprintf(stderr,
                "stau: error: --kwargs and -p give one job its arguments, and '%s' names %zu: "
                "%s\n  hint: name one job\n",
                c->args[0], count, names.buf);
        found = -1;
    } else if (found >= 0 && work_is_chunked(g->jobs.items[found].decl)) {
        struct strbuf ids = STRBUF_INIT;
        if (json_object_get(c->kwargs, "work_ids", &ids) == 1) {
            fprintf(stderr,
                    "stau: error: '%s' is split into chunks: its work IDs come from its "
                    "declaration or its select_work, not from --kwargs or -p\n"
                    "  hint: leave work_ids out of the arguments; select_work gets the others\n",
                    g->jobs.items[found].name);
            found = -1;
        }
        strbuf_release(&ids);
    }
    strbuf_release(&names);
    return found;
}

static int run_plan(const struct cli *c, struct forcing force)
{
    struct session s;
    if (open_session(c, &s, force, true) < 0) {
        close_session(&s);
        return EXIT_USAGE;
    }
    long given = c->kwargs ? given_job(c, &s) : -1;
    if (c->kwargs && given < 0) {
        close_session(&s);
        return EXIT_USAGE;
    }
    int rc = EXIT_OK;
    size_t blocked = report_blocked(c, &s);
    if (s.settled) {
        printf("nothing to do\n");
    } else if (c->dry_run) {
        print_plan(c, &s, given);
        /* --exit-code: 1 when something would run, as `make -q`. */
        if (c->exit_code && s.plan.order.len)
            rc = EXIT_JOB_FAILED;
    } else if (!s.plan.order.len) {
        printf("nothing to do\n");
    } else {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t slots =
            c->project.threads > 0 ? (size_t)c->project.threads : (size_t)(cpus > 0 ? cpus : 1);
        struct engine_submit_options first = {
            .given_kwargs = given >= 0 ? c->kwargs : NULL,
            .given_job = given >= 0 ? (size_t)given : 0,
        };
        rc = run_engine(c, &s, slots, c->fail_fast, &first);
        /* Timetable entries ticking at once are schedules of their own (SPEC §7): each
         * gets its run, one after the other, the job and what it needs planned again
         * (not after a run with kwargs given on the command line: it was the one asked
         * for). */
        for (size_t round = 0; rc == EXIT_OK && !c->kwargs && round < 64; round++) {
            /* (Only after a round that went well: a failure or a skip is for the next
             * stau to see, and the same entry is never run twice here.) */
            char **names = xcalloc(s.plan.order.len + 1, sizeof(*names));
            char **entries = xcalloc(s.plan.order.len + 1, sizeof(*entries));
            size_t n = more_ticks(&s, (const char **)names);
            for (size_t k = 0; k < n; k++) {
                long i = graph_find(&s.project.graph, names[k]);
                entries[k] = xstrdup(i >= 0 ? s.plan.jobs[i].then_entry : "");
                names[k] = xstrdup(names[k]);
            }
            int next = EXIT_OK;
            bool progress = n > 0;
            if (n) {
                close_session_now(&s);
                struct cli again = *c;
                again.diags_shown = true;
                again.args = names;
                again.arg_count = n;
                if (open_session(&again, &s, (struct forcing){0}, false) < 0) {
                    next = EXIT_USAGE;
                    progress = false;
                }
                /* Each job due for the entry that was to come next, or this ends. */
                for (size_t k = 0; progress && k < n; k++) {
                    long i = graph_find(&s.project.graph, names[k]);
                    const char *got = i >= 0 ? s.plan.jobs[i].run_entry : NULL;
                    progress = got && strcmp(got, entries[k]) == 0;
                }
                if (progress && s.plan.order.len)
                    next =
                        run_engine(c, &s, slots, c->fail_fast, &(struct engine_submit_options){0});
            }
            for (size_t k = 0; k < n; k++) {
                free(names[k]);
                free(entries[k]);
            }
            free(names);
            free(entries);
            if (next > rc)
                rc = next;
            if (!progress || !s.plan.order.len)
                break;
        }
    }
    int invalid = report_invalid_summary(c, &s, blocked);
    if (invalid > rc)
        rc = invalid;
    close_session(&s);
    return rc;
}

int cli_run_due(const struct cli *c)
{
    return run_plan(c, (struct forcing){c->force, false, NULL});
}

int cli_run(const struct cli *c)
{
    if (!c->arg_count) {
        fprintf(stderr, "stau: error: 'run' needs the jobs to run\n"
                        "  hint: stau run [--force] JOB...; `stau` alone runs whatever is due\n");
        return EXIT_USAGE;
    }
    if (c->kwargs && c->arg_count > 1) {
        fprintf(stderr,
                "stau: error: --kwargs and -p give one job its arguments, and 'run' was given "
                "%zu\n  hint: run each with its own: stau run JOB -p KEY=VALUE\n",
                c->arg_count);
        return EXIT_USAGE;
    }
    /* The named jobs run now whatever their state, after whatever they need that is
     * due; with --force, everything they need runs again as well. */
    const char *why = c->force ? "asked for with `stau run --force`" : "asked for with `stau run`";
    if (c->kwargs)
        why = c->force ? "asked for with `stau run --force`, with kwargs given on the command line"
                       : "asked for with `stau run`, with kwargs given on the command line";
    return run_plan(c, (struct forcing){true, c->force, why});
}

/* For a job with a run going on: that it waits for that run ("waiting: run 41 still
 * running ..."), since a job never runs twice at once. */
static void print_active(const struct run_record *last, int64_t now)
{
    if (!last->id || run_status_finished(last->status))
        return;
    struct strbuf age = STRBUF_INIT;
    stale_format_age(now - (last->started_at ? last->started_at : last->queued_at), &age);
    if (run_unassigned(last)) {
        printf("  enqueued: run %lld by the leading stau serve %s ago, for the next stau with a "
               "free slot\n",
               (long long)last->id, age.buf);
        strbuf_release(&age);
        return;
    }
    printf("  waiting: run %lld still %s (for %s, stau pid %d on %s)\n", (long long)last->id,
           run_status_name(last->status), age.buf, last->owner_pid, last->host ? last->host : "?");
    strbuf_release(&age);
}

/* "  run 12 ran at commit cc8cecf (dirty: src/a.py)", when the run recorded one. */
static void print_commit(const struct run_record *r)
{
    if (!r->id || !r->git_commit)
        return;
    struct strbuf sb = STRBUF_INIT;
    git_describe_changes(r->git_dirty == RUN_GIT_DIRTY, r->git_changes_json, &sb);
    printf("  run %lld ran at commit %.7s%s\n", (long long)r->id, r->git_commit, strbuf_str(&sb));
    strbuf_release(&sb);
}

/* Why a job that is not due is not: its last success and what still matches. */
static void explain_not_due(const struct session *s, size_t i, int64_t now)
{
    const struct plan_job *pj = &s->plan.jobs[i];
    const struct job *job = &s->project.graph.jobs.items[i];
    struct strbuf sb = STRBUF_INIT;
    if (pj->success.id) {
        stale_format_time(pj->success.finished_at, NULL, &sb);
        strbuf_addstr(&sb, ", ");
        stale_format_age(now - pj->success.finished_at, &sb);
        printf("  last success: run %lld, finished %s ago\n", (long long)pj->success.id, sb.buf);
        if (pj->success.kwargs_given_json)
            printf("  run %lld ran with kwargs given on the command line: %s\n",
                   (long long)pj->success.id, pj->success.kwargs_given_json);
        print_commit(&pj->success);
        /* What matches that run (what does not is said above, as held back). */
        const char *kinds[] = {"code", "declaration", "inputs", "outputs"};
        const char *now_fp[] = {pj->code_fp, pj->config_fp, pj->inputs_fp, pj->outputs_fp};
        const char *then_fp[] = {pj->success.code_fingerprint, pj->success.config_fingerprint,
                                 pj->success.inputs_fingerprint, pj->success.outputs_fingerprint};
        size_t matching = 0, named = 0;
        for (int k = 0; k < 4; k++)
            matching += then_fp[k] && strcmp(now_fp[k], then_fp[k]) == 0;
        strbuf_reset(&sb);
        struct strbuf fps = STRBUF_INIT;
        for (int k = 0; k < 4; k++) {
            if (!then_fp[k] || strcmp(now_fp[k], then_fp[k]) != 0)
                continue;
            named++;
            strbuf_addf(&sb, "%s%s",
                        named == 1          ? ""
                        : named == matching ? " and "
                                            : ", ",
                        kinds[k]);
            strbuf_addf(&fps, "%s%.8s", named == 1 ? "" : ", ", now_fp[k]);
        }
        if (matching)
            printf("  %s match%s that run (fingerprint%s %s)\n", sb.buf, matching == 1 ? "es" : "",
                   matching == 1 ? "" : "s", fps.buf);
        strbuf_release(&fps);
        strbuf_reset(&sb);
    }
    if (pj->schedule_count) {
        size_t which = 0;
        int64_t tick = plan_job_next_tick(pj, now, &which);
        if (tick != CRON_NEVER) {
            stale_format_time(tick, pj->zone, &sb);
            printf("  next tick: %s ('%s')\n", sb.buf, pj->schedule_texts[which]);
            strbuf_reset(&sb);
        }
    }
    for (size_t e = 0; e < job->deps.len; e++) {
        const struct edge *edge = &job->deps.items[e];
        const struct plan_job *dep = &s->plan.jobs[edge->to];
        const char *name = s->project.graph.jobs.items[edge->to].name;
        if (!dep->success.id) {
            printf("  dependency %s: never succeeded\n", name);
            continue;
        }
        int64_t age = now - dep->success.finished_at;
        stale_format_age(age, &sb);
        printf("  dependency %s: last success %s ago", name, sb.buf);
        char then[UPSTREAM_FP_SIZE];
        if (pj->success.id && stale_recorded_upstream(pj->success.files, name, then) &&
            strcmp(then, dep->up_fp) == 0)
            printf(" (run %lld), %s run %lld %s", (long long)dep->success.id,
                   then[0] == 'o' ? "its outputs are what" : "which", (long long)pj->success.id,
                   then[0] == 'o' ? "started from" : "started after");
        const struct decl *up = s->project.graph.jobs.items[edge->to].decl;
        bool per_id = work_is_chunked(job->decl) && work_is_chunked(up) && !up->has_work_ids &&
                      !edge->dep->allow_missing_work_ids;
        if (edge->dep->has_max_lag && per_id) {
            printf(", its max_lag of %g minutes judged per work ID", edge->dep->max_lag);
        } else if (edge->dep->has_max_lag) {
            bool over = age > (int64_t)(edge->dep->max_lag * 60000.0);
            printf(", %s its max_lag of %g minutes%s", over ? "over" : "within", edge->dep->max_lag,
                   over ? ": it runs first when this job runs" : "");
        }
        printf("\n");
        strbuf_reset(&sb);
    }
    strbuf_release(&sb);
}

int cli_why(const struct cli *c)
{
    if (!c->arg_count) {
        fprintf(stderr, "stau: error: 'why' needs the jobs to explain\n"
                        "  hint: stau why JOB...\n");
        return EXIT_USAGE;
    }
    struct session s;
    if (open_session(c, &s, (struct forcing){c->force, false, NULL}, false) < 0) {
        close_session(&s);
        return EXIT_USAGE;
    }
    int64_t now = wall_clock_ms();
    struct strbuf json = STRBUF_INIT;
    if (c->json)
        strbuf_addch(&json, '[');
    size_t shown = 0;
    int rc = EXIT_OK;
    for (size_t i = 0; i < s.plan.count; i++) {
        const struct plan_job *pj = &s.plan.jobs[i];
        const char *name = s.project.graph.jobs.items[i].name;
        bool asked = false;
        for (size_t a = 0; a < c->arg_count && !asked; a++)
            asked = plan_target_matches(c->args[a], &s.project.graph.jobs.items[i]);
        if (!asked)
            continue;
        const struct job *job = &s.project.graph.jobs.items[i];
        if (job->blocked) {
            struct strbuf reason = STRBUF_INIT;
            graph_blocked_reason(&s.project.graph, i, &reason);
            if (c->json) {
                strbuf_addstr(&json, shown ? ",\n" : "\n");
                cli_why_not_run_json(&s.project, i, &json);
            } else {
                printf("%s is not run: %s\n", name, reason.buf);
                printf("  %s\n", job->invalid ? "fix the errors above; `stau check` lists them"
                                              : "it runs again once that declaration is fixed");
            }
            strbuf_release(&reason);
            rc = EXIT_JOB_FAILED;
        } else if (c->json) {
            strbuf_addstr(&json, shown ? ",\n" : "\n");
            cli_why_json(&s.project, &s.plan, i, now, &json);
        } else if (pj->due) {
            printf("%s is due:\n", name);
            print_active(&pj->last, now);
            if (pj->last.id && pj->last.kwargs_given_json)
                printf("  its last run, run %lld, had kwargs given on the command line: %s\n",
                       (long long)pj->last.id, pj->last.kwargs_given_json);
            for (size_t r = 0; r < pj->why.len; r++)
                printf("  %s: %s\n", reason_name(pj->why.items[r].kind), pj->why.items[r].evidence);
            print_policy(&s, i);
            if (pj->cutoff)
                printf("  up to date after all if what it depends on comes out unchanged\n");
            print_lag_per_id(&s, i, now);
            print_work_ids(&s, i, "  ");
        } else {
            printf("%s is not due:\n", name);
            print_active(&pj->last, now);
            print_policy(&s, i);
            explain_not_due(&s, i, now);
            print_lag_per_id(&s, i, now);
            print_work_ids(&s, i, "  ");
        }
        shown++;
    }
    if (c->json) {
        strbuf_addstr(&json, shown ? "\n]\n" : "]\n");
        fwrite(json.buf, 1, json.len, stdout);
    }
    strbuf_release(&json);
    close_session(&s);
    return rc;
}

/* The live copies of stau serve, for `stau status`: host, pid, since, heartbeat age
 * and the runs each holds (nothing when none serves). */
static void add_serving(struct store *st, int64_t now, struct strbuf *out)
{
    struct store_owner_list owners = {0};
    struct run_list active = {0};
    if (store_owners(st, &owners) < 0 || store_active_runs(st, NULL, &active) < 0) {
        warn("%s", store_error(st));
        store_owner_list_release(&owners);
        return;
    }
    struct owner self;
    owner_self(&self);
    struct lease_probe probe = lease_probe_system();
    size_t live = 0;
    struct strbuf rows = STRBUF_INIT;
    for (size_t i = 0; i < owners.len; i++) {
        const struct store_owner_row *o = &owners.items[i];
        if (lease_gone(&self, o->host, o->pid, o->start, o->heartbeat_at, now, &probe))
            continue;
        size_t held = 0;
        for (size_t k = 0; k < active.len; k++) {
            const struct run_record *r = &active.items[k];
            held += r->host && strcmp(r->host, o->host) == 0 && r->owner_pid == o->pid &&
                    r->owner_start == o->start;
        }
        struct strbuf since = STRBUF_INIT, beat = STRBUF_INIT;
        stale_format_time(o->since, NULL, &since);
        stale_format_age(now - o->heartbeat_at, &beat);
        strbuf_addf(&rows, "  %s pid %d, serving since %s, heartbeat %s ago, %zu %s%s\n", o->host,
                    o->pid, since.buf, beat.buf, held, held == 1 ? "run" : "runs",
                    o->leads ? ", leads (enqueues scheduled work)" : "");
        strbuf_release(&since);
        strbuf_release(&beat);
        live++;
    }
    if (live)
        strbuf_addf(out, "\nserving: %zu %s\n%s", live, live == 1 ? "copy" : "copies", rows.buf);
    strbuf_release(&rows);
    store_owner_list_release(&owners);
    run_list_release(&active);
}

/* A job's STATE in `stau status` (README "stau status"): failed, running, due, ok,
 * waiting; its colour on a terminal in *sgr (NULL: none). */
static const char *status_state(const struct plan_job *pj, const char **sgr)
{
    const struct run_record *last = &pj->last;
    bool active = last->id && !run_status_finished(last->status);
    const char *state = "waiting";
    if (active)
        state = last->status == RUN_RUNNING ? "running" : "waiting"; /* (queued) */
    else if (last->id && (last->status == RUN_FAILED || last->status == RUN_TIMED_OUT))
        state = "failed";
    else if (pj->due)
        state = "due";
    else if ((last->id && last->status == RUN_SUCCEEDED) || pj->success.id)
        state = "ok";
    *sgr = strcmp(state, "failed") == 0    ? "31"
           : strcmp(state, "running") == 0 ? "36"
           : strcmp(state, "due") == 0     ? "33"
           : strcmp(state, "ok") == 0      ? "32"
                                           : NULL;
    return state;
}

/* The run of job before the newest (its last one that ended, while the newest runs),
 * as a LAST RUN cell ("#11 succeeded, 2h ago"; "-": none). */
static char *previous_run_cell(struct store *st, const char *job, int64_t now)
{
    struct run_list runs = {0};
    struct strbuf sb = STRBUF_INIT;
    if (store_history(st, job, 2, &runs) < 0)
        warn("%s", store_error(st));
    if (runs.len == 2) {
        const struct run_record *r = &runs.items[1];
        strbuf_addf(&sb, "#%lld %s, ", (long long)r->id, run_status_name(r->status));
        stale_format_age(now - (r->finished_at ? r->finished_at : r->queued_at), &sb);
        strbuf_addstr(&sb, " ago");
    } else {
        strbuf_addch(&sb, '-');
    }
    run_list_release(&runs);
    return strbuf_detach(&sb);
}

/* `stau status`: each job's state, its last run, and when it is next due. With
 * --exit-code, exit status 1 when a job is failed or due. */
int cli_status(const struct cli *c)
{
    struct session s;
    if (open_session(c, &s, (struct forcing){false, false, NULL}, false) < 0) {
        close_session(&s);
        return EXIT_USAGE;
    }
    int64_t now = wall_clock_ms();
    size_t n = s.plan.count;
    char **cells = xcalloc(4 * n + 1, sizeof(char *));
    /* The state --json gives (its own words), and each state's colour. */
    char **json_state = xcalloc(n + 1, sizeof(char *));
    const char **sgr = xcalloc(n + 1, sizeof(char *));
    bool color = !c->json && use_color(STDOUT_FILENO);
    size_t width[4] = {3, 5, 8, 6};
    int rc = EXIT_OK;
    bool failed_or_due = false;
    bool *in_scope = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct plan_job *pj = &s.plan.jobs[i];
        const struct job *job = &s.project.graph.jobs.items[i];
        struct strbuf sb = STRBUF_INIT;
        /* A job not run for invalid declarations is shown when asked about (`stau
         * status other` is not about it). */
        if (job->blocked && !about_job(c, &s.project.graph, i, &in_scope))
            continue;
        if (job->blocked) {
            /* Not planned (see open_session): its state is that it is not run. */
            cells[4 * i] = xstrdup(job->name);
            cells[4 * i + 1] = xstrdup(job->invalid ? "invalid" : "blocked");
            json_state[i] = xstrdup(cells[4 * i + 1]);
            sgr[i] = "31";
            cells[4 * i + 2] = xstrdup("-");
            strbuf_addstr(&sb, "not run: ");
            graph_blocked_reason(&s.project.graph, i, &sb);
            cells[4 * i + 3] = strbuf_detach(&sb);
            for (int k = 0; k < 3; k++)
                if (strlen(cells[4 * i + k]) > width[k])
                    width[k] = strlen(cells[4 * i + k]);
            if (!job->broken && strlen(job_policy_text(job)) > width[3])
                width[3] = strlen(job_policy_text(job));
            rc = EXIT_JOB_FAILED;
            continue;
        }
        if (!pj->selected)
            continue;
        cells[4 * i] = xstrdup(job->name);
        bool active = pj->last.id && !run_status_finished(pj->last.status);
        json_state[i] = xstrdup(active        ? run_status_name(pj->last.status)
                                : pj->due     ? "due"
                                : pj->last.id ? run_status_name(pj->last.status)
                                              : "never run");
        const char *state = status_state(pj, &sgr[i]);
        failed_or_due |= strcmp(state, "failed") == 0 || strcmp(state, "due") == 0;
        if (strcmp(state, "running") == 0) {
            /* "running 4s (run 12)"; LAST RUN: the run before it. */
            strbuf_addstr(&sb, "running ");
            stale_format_age(now - (pj->last.started_at ? pj->last.started_at : now), &sb);
            strbuf_addf(&sb, " (run %lld)", (long long)pj->last.id);
            cells[4 * i + 1] = strbuf_detach(&sb);
            cells[4 * i + 2] = previous_run_cell(s.store, job->name, now);
        } else {
            cells[4 * i + 1] = xstrdup(state);
        }
        if (!cells[4 * i + 2]) {
            if (active) {
                int64_t since = pj->last.started_at ? pj->last.started_at : pj->last.queued_at;
                strbuf_addf(&sb, "#%lld %s for ", (long long)pj->last.id,
                            run_status_name(pj->last.status));
                stale_format_age(now - since, &sb);
            } else if (pj->last.id) {
                strbuf_addf(&sb, "#%lld %s, ", (long long)pj->last.id,
                            run_status_name(pj->last.status));
                stale_format_age(
                    now - (pj->last.finished_at ? pj->last.finished_at : pj->last.started_at), &sb);
                strbuf_addstr(&sb, " ago");
            } else {
                strbuf_addch(&sb, '-');
            }
            cells[4 * i + 2] = strbuf_detach(&sb);
        }
        if (active) {
            strbuf_addf(&sb, "when run #%lld ends", (long long)pj->last.id);
        } else if (pj->due) {
            strbuf_addf(&sb, "now (%s)", reason_name(pj->why.items[0].kind));
        } else if (pj->schedule_count) {
            struct job_now job_now;
            plan_job_now(pj, &job_now);
            int64_t tick =
                stale_next_tick(&job_now, pj->schedule_from ? pj->schedule_from : now, NULL);
            if (tick != CRON_NEVER)
                stale_format_time(tick, pj->zone, &sb);
        } else if (job_policy(&s.project.graph.jobs.items[i]) == POLICY_ON_DEMAND) {
            strbuf_addstr(&sb, "when a job that runs needs it");
        } else {
            strbuf_addstr(&sb, "when an input or upstream changes");
        }
        cells[4 * i + 3] = strbuf_detach(&sb);
        for (int k = 0; k < 3; k++)
            if (strlen(cells[4 * i + k]) > width[k])
                width[k] = strlen(cells[4 * i + k]);
        const char *policy = job_policy_text(&s.project.graph.jobs.items[i]);
        if (strlen(policy) > width[3])
            width[3] = strlen(policy);
    }
    struct strbuf out = STRBUF_INIT;
    if (c->json) {
        strbuf_addch(&out, '[');
    } else {
        strbuf_add_cell(&out, "JOB", width[0]);
        strbuf_add_cell(&out, "STATE", width[1]);
        strbuf_add_cell(&out, "LAST RUN", width[2]);
        strbuf_add_cell(&out, "POLICY", width[3]);
        strbuf_addstr(&out, "NEXT DUE\n");
    }
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cells[4 * i])
            continue;
        const struct job *job = &s.project.graph.jobs.items[i];
        const char *policy = job->broken ? "-" : job_policy_text(job);
        if (c->json) {
            strbuf_addstr(&out, shown ? ",\n" : "\n");
            cli_status_json(&s.project, &s.plan, s.store, i, now, &out);
        } else {
            strbuf_add_cell(&out, cells[4 * i], width[0]);
            if (color && sgr[i]) {
                /* The colour around the word, the padding after it. */
                strbuf_addf(&out, "\033[%sm%s\033[0m", sgr[i], cells[4 * i + 1]);
                for (size_t k = strlen(cells[4 * i + 1]); k < width[1] + 2; k++)
                    strbuf_addch(&out, ' ');
            } else {
                strbuf_add_cell(&out, cells[4 * i + 1], width[1]);
            }
            strbuf_add_cell(&out, cells[4 * i + 2], width[2]);
            strbuf_add_cell(&out, policy, width[3]);
            strbuf_addf(&out, "%s\n", cells[4 * i + 3]);
        }
        shown++;
        for (int k = 0; k < 4; k++)
            free(cells[4 * i + k]);
    }
    for (size_t i = 0; i < n; i++)
        free(json_state[i]);
    free(json_state);
    free(in_scope);
    free(sgr);
    if (c->exit_code && failed_or_due && rc == EXIT_OK)
        rc = EXIT_JOB_FAILED;
    if (c->json)
        strbuf_addstr(&out, shown ? "\n]\n" : "]\n");
    else
        add_serving(s.store, now, &out);
    fwrite(out.buf, 1, out.len, stdout);
    strbuf_release(&out);
    free(cells);
    close_session(&s);
    return rc;
}

/* `stau rerun RUN`: the run's job again, with the run's recorded arguments. */
int cli_rerun(const struct cli *c)
{
    char *end = NULL;
    long long id = c->arg_count == 1 ? strtoll(c->args[0], &end, 10) : 0;
    if (c->arg_count != 1 || !end || *end || id <= 0) {
        fprintf(stderr, "stau: error: 'rerun' needs one run number\n"
                        "  hint: stau rerun RUN; `stau history` lists runs\n");
        return EXIT_USAGE;
    }
    struct session s;
    memset(&s, 0, sizeof(s));
    if (cli_load(c, &s.project) < 0 || s.project.diags.errors) {
        close_session(&s);
        return EXIT_USAGE;
    }
    s.store = cli_open_store(&s.project);
    if (!s.store) {
        close_session(&s);
        return EXIT_USAGE;
    }
    struct run_record old = {0};
    int found = store_run(s.store, id, &old);
    long job = found == 1 ? graph_find(&s.project.graph, old.job) : -1;
    if (found < 0)
        error("%s", store_error(s.store));
    else if (found == 0)
        cli_no_run(s.store, id);
    else if (job < 0)
        error("run %lld was of '%s', which is no longer a job", id, old.job);
    int rc = EXIT_USAGE;
    if (job >= 0) {
        /* A plan of that one job, due because it was asked for. */
        char *target = xstrdup(old.job);
        struct plan_options po = {&target, 1, true, wall_clock_ms(), NULL, NULL, false};
        if (plan_build(&s.plan, &s.project, s.store, &po) == 0) {
            s.planned = true;
            for (size_t i = 0; i < s.plan.count; i++)
                s.plan.jobs[i].due = (long)i == job;
            s.plan.order.len = 0;
            VEC_PUSH(&s.plan.order, (size_t)job);
            reasons_release(&s.plan.jobs[job].why);
            reasons_add(&s.plan.jobs[job].why, REASON_FORCED, "rerun of run %lld", id);
            long cpus = sysconf(_SC_NPROCESSORS_ONLN);
            struct engine_submit_options sub = {
                .kwargs = old.kwargs_json, .rerun_of = id, .rerun = &old};
            rc = run_engine(c, &s, (size_t)(cpus > 0 ? cpus : 1), false, &sub);
        }
        free(target);
    }
    run_record_release(&old);
    close_session(&s);
    return rc;
}
