/* test_engine.c: the engine (engine.c) driven with a fake process runner and a fake
 * clock, in the manner of ninja's fake command runner: no job process is started;
 * each "process" ends when the test's script says, with the status it says. The
 * project, the plan, the state database and the recorder are real (a temporary
 * folder), so what the engine records is checked too. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "project.h"
#include "recorder.h"
#include "store.h"
#include "unit.h"
#include "util.h"

/* One fake process. */
struct fake_proc {
    struct proc *proc; /* the engine's */
    char job[64];      /* its STAU_JOB */
    char *work;        /* its STAU_WORK_IDS */
    int attempt;       /* its STAU_ATTEMPT */
    bool running;
};

/* The fake runner and clock, and what the reporter was told. */
struct fake {
    int64_t wall, mono; /* the clocks (ms) */
    VEC(struct fake_proc) procs;
    int next_pid;
    size_t running, most_running; /* processes running now, and at most */
    const char *fail_job;         /* the job whose attempts exit 1 ... */
    int fail_attempts;            /* ... this many times (then 0) */
    const char *fail_work;        /* ... only the chunk of these STAU_WORK_IDS (NULL: all) */
    const char *hang_job;         /* the job whose processes end only when terminated */
    const char *slow_job;         /* the job whose process (of slow_work's IDs; NULL: any)
                                     ends only when no other process runs */
    const char *slow_work;
    bool newest_first;   /* the newest running process ends first (else the oldest) ... */
    bool same_ms;        /* ... and ends take no time: they fall in one millisecond */
    int terminated;      /* terminate_all calls */
    struct strbuf log;   /* "start a", "ok a", "failed b", "skip c: why", "retry b 2",
                            "d up to date: why", "a (chunk 2/3) skipped: why" */
    struct strbuf calls; /* each start as "job WORK_IDS KWARGS" ("a [1,2] {}") */
};

static int64_t fake_wall(void *ctx)
{
    return ((struct fake *)ctx)->wall;
}

static int64_t fake_mono(void *ctx)
{
    return ((struct fake *)ctx)->mono;
}

/* The value of NAME= in a NULL-terminated environment list, or "". */
static const char *env_value(const char *const *env, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    return "";
}

static int fake_start(void *ctx, const struct proc_spec *spec, struct proc *out, struct strbuf *err)
{
    struct fake *f = ctx;
    (void)err;
    /* The log exists, as a real child's would (the recorder archives it). */
    int fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0)
        close(fd);
    memset(out, 0, sizeof(*out));
    out->pid = ++f->next_pid;
    out->start_ms = f->mono;
    struct fake_proc p = {.proc = out, .running = true};
    snprintf(p.job, sizeof(p.job), "%s", env_value(spec->env_extra, "STAU_JOB"));
    p.work = xstrdup(env_value(spec->env_extra, "STAU_WORK_IDS"));
    p.attempt = atoi(env_value(spec->env_extra, "STAU_ATTEMPT"));
    /* The kwargs reach the bootstrap in its input (never its command line, which
     * ps shows to everyone) and the job's environment as STAU_KWARGS: the same. */
    const char *kwargs = env_value(spec->env_extra, "STAU_KWARGS");
    struct strbuf given = STRBUF_INIT, want = STRBUF_INIT;
    CHECK(spec->input != NULL && json_array_item(spec->input, 3, &given) == 1);
    json_quote(&want, kwargs, strlen(kwargs));
    CHECK_STR(strbuf_str(&given), strbuf_str(&want));
    for (size_t i = 0; spec->argv[i]; i++)
        CHECK(strcmp(spec->argv[i], kwargs) != 0 || strcmp(kwargs, "{}") == 0);
    strbuf_release(&given);
    strbuf_release(&want);
    strbuf_addf(&f->calls, "%s %s %s\n", p.job, p.work, kwargs);
    VEC_PUSH(&f->procs, p);
    if (++f->running > f->most_running)
        f->most_running = f->running;
    strbuf_addf(&f->log, "start %s\n", p.job);
    return 0;
}

static void fake_add(void *ctx, struct proc *proc)
{
    (void)ctx;
    (void)proc;
}

/* Whether p is the slow process of the script. */
static bool is_slow(const struct fake *f, const struct fake_proc *p)
{
    return f->slow_job && strcmp(p->job, f->slow_job) == 0 &&
           (!f->slow_work || strcmp(p->work, f->slow_work) == 0);
}

/* The oldest running process ends (after 100 ms of fake time; see newest_first and
 * same_ms), or the clock moves to the deadline. */
static int fake_wait(void *ctx, int64_t deadline_ms, struct proc_event *ev)
{
    struct fake *f = ctx;
    memset(ev, 0, sizeof(*ev));
    size_t slow = 0;
    for (size_t i = 0; i < f->procs.len; i++)
        slow += f->procs.items[i].running && is_slow(f, &f->procs.items[i]);
    for (size_t k = 0; k < f->procs.len; k++) {
        struct fake_proc *p = &f->procs.items[f->newest_first ? f->procs.len - 1 - k : k];
        if (!p->running || (f->hang_job && !f->terminated && strcmp(p->job, f->hang_job) == 0))
            continue;
        if (is_slow(f, p) && f->running > slow)
            continue; /* the others end first */
        p->running = false;
        f->running--;
        if (!f->same_ms) {
            f->mono += 100;
            f->wall += 100;
        }
        bool fails = f->fail_job && strcmp(p->job, f->fail_job) == 0 &&
                     p->attempt <= f->fail_attempts &&
                     (!f->fail_work || strcmp(p->work, f->fail_work) == 0);
        ev->kind = PROC_EVENT_EXIT;
        ev->proc = p->proc;
        ev->status = f->terminated ? 143 : fails ? 1 : 0;
        ev->signal = f->terminated ? 15 : 0;
        ev->wall_ms = 100;
        p->proc->pid = 0;
        return 0;
    }
    if (deadline_ms >= 0 && deadline_ms > f->mono) {
        f->wall += deadline_ms - f->mono;
        f->mono = deadline_ms;
    }
    ev->kind = deadline_ms >= 0 ? PROC_EVENT_DEADLINE : PROC_EVENT_IDLE;
    return 0;
}

static int fake_terminate_all(void *ctx, int64_t grace_ms)
{
    (void)grace_ms;
    ((struct fake *)ctx)->terminated++;
    return 0;
}

static int fake_terminate(void *ctx, struct proc *proc, int64_t grace_ms)
{
    (void)grace_ms;
    (void)proc;
    ((struct fake *)ctx)->terminated++;
    return 0;
}

static void on_finished(void *ctx, const struct engine_run *run, const struct engine_progress *pr)
{
    (void)pr;
    struct fake *f = ctx;
    /* (A skipped chunk as the command line says it: "a (chunk 2/3) skipped: why".) */
    if (run->result == RUN_SKIPPED)
        strbuf_addf(&f->log, "%s %s\n", run->label, run->failure ? run->failure : "(no failure)");
    else
        strbuf_addf(&f->log, "%s %s\n",
                    run->result == RUN_SUCCEEDED ? "ok" : run_status_name(run->result), run->label);
}

static void on_skipped(void *ctx, const char *job, const char *why, int64_t run_id,
                       const struct engine_progress *pr)
{
    (void)pr;
    (void)run_id;
    strbuf_addf(&((struct fake *)ctx)->log, "skip %s: %s\n", job, why);
}

static void on_up_to_date(void *ctx, const char *job, const char *why, int64_t run_id,
                          const struct engine_progress *pr)
{
    (void)pr;
    (void)run_id;
    strbuf_addf(&((struct fake *)ctx)->log, "%s up to date: %s\n", job, why);
}

static void on_held(void *ctx, const char *job, const char *what, bool done,
                    const struct engine_progress *pr)
{
    (void)done;
    (void)pr;
    strbuf_addf(&((struct fake *)ctx)->log, "held %s: %s\n", job, what);
}

static void on_retry(void *ctx, const struct engine_run *run, double delay_s, int next_attempt,
                     int attempts)
{
    (void)attempts;
    strbuf_addf(&((struct fake *)ctx)->log, "retry %s %d in %gs\n", run->job, next_attempt,
                delay_s);
}

/* A project (its files, written to the test's folder), loaded and planned, with a
 * state database, a recorder and an engine. */
struct rig {
    struct fake fake;
    char *root;
    size_t slots;
    struct project project;
    struct plan plan;
    struct store *store;
    struct recorder *recorder;
    struct owner self;
    struct engine *engine;
};

#define START_MS 1893456000000LL /* 2030-01-01 00:00:00 UTC */

/* Write files (path, text, ..., NULL) below the project's root. */
static void rig_write(struct rig *r, const char *const *files)
{
    for (size_t i = 0; files && files[i]; i += 2)
        unit_write(r->root, files[i], files[i + 1]);
}

/* Load the project from its folder, open the state database (once), plan at the fake
 * wall clock, and make the recorder and the engine. */
static bool rig_plan(struct rig *r)
{
    struct project_options po = {r->root, NULL, 1};
    if (!CHECK_INT(project_load(&r->project, &po), 0) || !CHECK_INT(r->project.diags.errors, 0))
        return false;
    if (!r->store) {
        char *db = xprintf("%s/state.db", unit_tmpdir());
        struct strbuf err = STRBUF_INIT;
        r->store = store_open(db, NULL, &err);
        free(db);
        strbuf_release(&err);
        if (!CHECK(r->store != NULL))
            return false;
    }
    struct plan_options plan_opt = {.now = r->fake.wall};
    if (!CHECK_INT(plan_build(&r->plan, &r->project, r->store, &plan_opt), 0))
        return false;
    r->recorder = recorder_new(r->root, r->store);
    owner_self(&r->self);
    struct engine_config cfg = {
        .store = r->store,
        .recorder = r->recorder,
        .owner = &r->self,
        .clock = {.wall_ms = fake_wall, .mono_ms = fake_mono, .ctx = &r->fake},
        .procs = {.start = fake_start,
                  .add = fake_add,
                  .wait = fake_wait,
                  .terminate_all = fake_terminate_all,
                  .terminate = fake_terminate,
                  .ctx = &r->fake},
        .reporter = {.ctx = &r->fake,
                     .finished = on_finished,
                     .skipped = on_skipped,
                     .up_to_date = on_up_to_date,
                     .held = on_held,
                     .retry = on_retry},
        .slots = r->slots,
        .claim_ahead = true,
        .python = "python3",
        .watch_fd = -1,
    };
    r->engine = engine_new(&cfg);
    return CHECK(r->engine != NULL);
}

/* A project of the files given (path, text, ..., NULL), planned: every job due that
 * never ran. */
static bool rig_open_files(struct rig *r, const char *const *files, size_t slots)
{
    memset(r, 0, sizeof(*r));
    r->fake.wall = START_MS;
    r->fake.mono = 1000;
    r->slots = slots;
    r->root = xprintf("%s/proj", unit_tmpdir());
    mkdir(r->root, 0755);
    rig_write(r, files);
    return rig_plan(r);
}

/* A project of jobs (name -> declaration keys), planned. */
static bool rig_open(struct rig *r, const char *const *jobs, size_t slots)
{
    VEC(char *) files = {0};
    for (size_t i = 0; jobs[i]; i += 2) {
        VEC_PUSH(&files, xprintf("%s.py", jobs[i]));
        VEC_PUSH(&files, xprintf("STAU_CONFIG = {\"main_func\": \"main\"%s%s}\n\ndef main():\n    "
                                 "pass\n",
                                 jobs[i + 1][0] ? ", " : "", jobs[i + 1]));
    }
    VEC_PUSH(&files, NULL);
    bool ok = rig_open_files(r, (const char *const *)files.items, slots);
    for (size_t i = 0; files.items[i]; i++)
        free(files.items[i]);
    VEC_FREE(&files);
    return ok;
}

/* Forget what the fake runner saw. */
static void fake_reset(struct fake *f)
{
    for (size_t i = 0; i < f->procs.len; i++)
        free(f->procs.items[i].work);
    f->procs.len = 0;
    f->running = f->most_running = 0;
    strbuf_release(&f->log);
    strbuf_release(&f->calls);
}

/* Step until nothing is left (at most a bound of steps). */
static void rig_run(struct rig *r)
{
    for (int steps = 0; steps < 1000 && engine_busy(r->engine); steps++)
        engine_step(r->engine, -1);
    CHECK(!engine_busy(r->engine));
}

/* Free the engine and write what its recorder holds, to read the records. */
static void rig_settle(struct rig *r)
{
    engine_free(r->engine);
    r->engine = NULL;
    recorder_close(r->recorder);
    r->recorder = NULL;
}

/* The next invocation, later_ms after the last (on both clocks): the engine and the
 * plan of the last let go, the files given (path, text, ..., NULL; may be NULL)
 * written, the project loaded and planned again, on the same state database. */
static bool rig_again(struct rig *r, const char *const *files, int64_t later_ms)
{
    engine_free(r->engine);
    r->engine = NULL;
    if (r->recorder)
        recorder_close(r->recorder);
    r->recorder = NULL;
    plan_release(&r->plan);
    memset(&r->plan, 0, sizeof(r->plan));
    project_release(&r->project);
    memset(&r->project, 0, sizeof(r->project));
    fake_reset(&r->fake);
    r->fake.wall += later_ms;
    r->fake.mono += later_ms;
    rig_write(r, files);
    return rig_plan(r);
}

static void rig_close(struct rig *r)
{
    engine_free(r->engine);
    if (r->recorder)
        recorder_close(r->recorder);
    if (r->plan.jobs)
        plan_release(&r->plan);
    project_release(&r->project);
    store_close(r->store);
    fake_reset(&r->fake);
    VEC_FREE(&r->fake.procs);
    free(r->root);
}

/* The statuses of a job's runs, oldest first, space-separated. */
static char *statuses(struct store *st, const char *job)
{
    struct run_list runs = {0};
    struct strbuf sb = STRBUF_INIT;
    if (store_history(st, job, 0, &runs) == 0)
        for (size_t i = runs.len; i-- > 0;)
            strbuf_addf(&sb, "%s%s", sb.len ? " " : "", run_status_name(runs.items[i].status));
    run_list_release(&runs);
    return strbuf_detach(&sb);
}

UNIT_TEST(engine_failure_skips_only_its_dependents)
{
    const char *jobs[] = {
        "a", "", "b", "\"dependencies\": [\"a\"]", "c", "\"dependencies\": [\"b\"]", "d", "", NULL};
    struct rig r;
    if (rig_open(&r, jobs, 2)) {
        r.fake.fail_job = "b";
        r.fake.fail_attempts = 9;
        CHECK_INT(engine_submit(r.engine, &r.project, &r.plan, &(struct engine_submit_options){0}),
                  0);
        rig_run(&r);
        CHECK_STR(r.fake.log.buf, "start a\nstart d\nok a\nstart b\nok d\nfailed b\n"
                                  "skip c: 'b' failed\n");
        struct engine_totals t;
        engine_totals(r.engine, &t);
        CHECK_INT(t.succeeded, 2);
        CHECK_INT(t.failed, 1);
        CHECK_INT(t.skipped, 1);
        CHECK_INT(engine_exit_status(r.engine), 1);
        rig_settle(&r);
        char *s = statuses(r.store, "c");
        CHECK_STR(s, "skipped");
        free(s);
        s = statuses(r.store, "b");
        CHECK_STR(s, "failed");
        free(s);
    }
    rig_close(&r);
}

UNIT_TEST(engine_keeps_to_the_slots)
{
    const char *jobs[] = {"a", "", "b", "", "c", "", "d", "", "e", "", NULL};
    struct rig r;
    if (rig_open(&r, jobs, 2)) {
        CHECK_INT(engine_submit(r.engine, &r.project, &r.plan, &(struct engine_submit_options){0}),
                  0);
        rig_run(&r);
        CHECK_INT(r.fake.most_running, 2);
        CHECK_INT(r.fake.procs.len, 5);
        CHECK_INT(engine_exit_status(r.engine), 0);
    }
    rig_close(&r);
}

UNIT_TEST(engine_retries_after_the_doubling_delay)
{
    const char *jobs[] = {"a", "\"retries\": 2, \"retry_delay\": 5", "b",
                          "\"dependencies\": [\"a\"]", NULL};
    struct rig r;
    if (rig_open(&r, jobs, 2)) {
        r.fake.fail_job = "a";
        r.fake.fail_attempts = 2;
        CHECK_INT(engine_submit(r.engine, &r.project, &r.plan, &(struct engine_submit_options){0}),
                  0);
        int64_t began = r.fake.mono;
        rig_run(&r);
        CHECK_STR(r.fake.log.buf, "start a\nretry a 2 in 5s\nstart a\nretry a 3 in 10s\nstart a\n"
                                  "ok a\nstart b\nok b\n");
        /* 5 s and 10 s of waiting on the clock, plus the fake runs' 100 ms each. */
        CHECK(r.fake.mono - began >= 15000);
        CHECK(r.fake.mono - began < 16000);
        rig_settle(&r);
        char *s = statuses(r.store, "a");
        CHECK_STR(s, "failed failed succeeded");
        free(s);
    }
    rig_close(&r);
}

UNIT_TEST(engine_waits_for_a_job_another_stau_holds)
{
    const char *jobs[] = {"a", "", "b", "\"dependencies\": [\"a\"]", NULL};
    struct rig r;
    if (rig_open(&r, jobs, 2)) {
        /* Another host's stau holds a, with a fresh lease. */
        struct run_record other = {
            .job = "a", .host = "elsewhere", .owner_pid = 4242, .owner_start = 1};
        int64_t id = 0;
        CHECK_INT(store_begin_run(r.store, &other, r.fake.wall, &id), 0);
        /* The plan was made before: its version of a no longer holds, as a claim
         * made later than another stau's would find. */
        CHECK_INT(engine_submit(r.engine, &r.project, &r.plan, &(struct engine_submit_options){0}),
                  0);
        CHECK(strstr(r.fake.log.buf, "held a: already running as run 1 of another stau "
                                     "(pid 4242 on elsewhere); waiting for it") != NULL);
        for (int i = 0; i < 5; i++)
            engine_step(r.engine, -1);
        CHECK(strstr(r.fake.log.buf, "start b") == NULL);
        /* It ends there, a success: b may run now, and a never ran here. */
        struct store_change end = {.kind = STORE_FINISH,
                                   .id = id,
                                   .at = r.fake.wall,
                                   .finish = {.status = RUN_SUCCEEDED, .exit_code = 0}};
        CHECK_INT(store_apply(r.store, &end, 1, NULL, 0, r.fake.wall), 0);
        rig_run(&r);
        CHECK(strstr(r.fake.log.buf, "held a: run 1 of another stau ended: succeeded\nstart b\n"
                                     "ok b\n") != NULL);
        CHECK(strstr(r.fake.log.buf, "start a") == NULL);
        struct engine_totals t;
        engine_totals(r.engine, &t);
        CHECK_INT(t.elsewhere, 1);
        CHECK_INT(t.succeeded, 1);
    }
    rig_close(&r);
}

UNIT_TEST(engine_stop_lets_runs_finish_then_terminates)
{
    const char *jobs[] = {"a", "", "b", "\"dependencies\": [\"a\"]", NULL};
    struct rig r;
    if (rig_open(&r, jobs, 1)) {
        r.fake.hang_job = "a";
        CHECK_INT(engine_submit(r.engine, &r.project, &r.plan, &(struct engine_submit_options){0}),
                  0);
        /* a starts and runs on; stopped with a grace of 2 s, it is terminated once the
         * grace has passed, recorded interrupted, and b never starts (skipped, as what
         * waits for a run that did not succeed). */
        engine_step(r.engine, -1);
        CHECK_STR(r.fake.log.buf, "start a\n");
        int64_t stopped = r.fake.mono;
        engine_stop(r.engine, 2000);
        rig_run(&r);
        CHECK_INT(r.fake.terminated, 1);
        CHECK(r.fake.mono - stopped >= 2000);
        CHECK_STR(r.fake.log.buf, "start a\ninterrupted a\nskip b: 'a' was interrupted\n");
        struct engine_totals t;
        engine_totals(r.engine, &t);
        CHECK_INT(t.skipped, 1);
        CHECK_INT(t.interrupted, 1);
        CHECK_INT(t.failed, 0);
        CHECK_INT(t.interrupts, 1);
        CHECK_INT(engine_exit_status(r.engine), 130);
    }
    rig_close(&r);
}

/* ---- the original Stau's chunk graph (SPEC §7) ---- */

/* A job file below src/ whose main_func takes anything; config: more declaration keys. */
#define PY_JOB(config)                                                                             \
    "STAU_CONFIG = {\"main_func\": \"main\", " config "}\n\n\ndef main(**kwargs):\n    pass\n"

/* The original Stau's timetable: one entry ticking job every 20 minutes with the
 * kwargs_func given (a dict, as Python). */
#define TIMETABLE(job, kwargs_func)                                                                \
    "recurring_jobs = [\n    {\"id\": \"t\", \"name\": \"" job "\", "                              \
    "\"trigger\": CronTrigger(minute=\"*/20\"),\n     \"kwargs_stau_api\": {\"jobType\": \"" job   \
    "\", \"kwargs_func\": " kwargs_func "}},\n]\n"

#define MINUTES(n) ((int64_t)(n)*60000)

/* A job's runs, oldest first, as "WORK_IDS status" ("[1,2] succeeded, [3,4] skipped";
 * "null" for a run without work IDs). */
static char *chunk_runs(struct store *st, const char *job)
{
    struct run_list runs = {0};
    struct strbuf sb = STRBUF_INIT;
    if (store_history(st, job, 0, &runs) == 0)
        for (size_t i = runs.len; i-- > 0;)
            strbuf_addf(&sb, "%s%s %s", sb.len ? ", " : "",
                        runs.items[i].work_ids_json ? runs.items[i].work_ids_json : "null",
                        run_status_name(runs.items[i].status));
    run_list_release(&runs);
    return strbuf_detach(&sb);
}

/* The kwargs a job's runs were recorded with, oldest first, one a line. */
static char *recorded_kwargs(struct store *st, const char *job)
{
    struct run_list runs = {0};
    struct strbuf sb = STRBUF_INIT;
    if (store_history(st, job, 0, &runs) == 0)
        for (size_t i = runs.len; i-- > 0;)
            strbuf_addf(&sb, "%s\n", runs.items[i].kwargs_json ? runs.items[i].kwargs_json : "");
    run_list_release(&runs);
    return strbuf_detach(&sb);
}

/* The lines of text that begin with prefix, sorted (for what may start in any order). */
static char *sorted_lines_of(const char *text, const char *prefix)
{
    VEC(char *) lines = {0};
    for (const char *at = text; *at;) {
        const char *end = strchr(at, '\n');
        size_t len = end ? (size_t)(end - at) : strlen(at);
        if (strncmp(at, prefix, strlen(prefix)) == 0)
            VEC_PUSH(&lines, xstrndup(at, len));
        at += len + (end != NULL);
    }
    for (size_t i = 1; i < lines.len; i++)
        for (size_t j = i; j > 0 && strcmp(lines.items[j - 1], lines.items[j]) > 0; j--) {
            char *swap = lines.items[j];
            lines.items[j] = lines.items[j - 1];
            lines.items[j - 1] = swap;
        }
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < lines.len; i++) {
        strbuf_addf(&sb, "%s\n", lines.items[i]);
        free(lines.items[i]);
    }
    VEC_FREE(&lines);
    return strbuf_detach(&sb);
}

static char *sorted_lines(const char *text)
{
    return sorted_lines_of(text, "");
}

static void check_runs(struct store *st, const char *job, const char *want)
{
    char *got = chunk_runs(st, job);
    CHECK_STR(got, want);
    free(got);
}

static void submit(struct rig *r)
{
    CHECK_INT(engine_submit(r->engine, &r->project, &r->plan, &(struct engine_submit_options){0}),
              0);
}

UNIT_TEST(engine_chunks_declared_work_ids_flow_down_sorted)
{
    /* The master's declared IDs, sorted, cut by its chunk_size (4); its on-demand
     * dependency runs on them, cut by its own (2). */
    const char *files[] = {
        "src/master.py",
        PY_JOB("\"work_ids\": [4, 1, 3, 2, 6, 5], \"chunk_size\": 4, \"dependencies\": [\"dep\"]"),
        "src/dep.py", PY_JOB("\"on\": \"demand\", \"chunk_size\": 2"), NULL};
    struct rig r;
    if (rig_open_files(&r, files, 1)) {
        submit(&r);
        rig_run(&r);
        char *calls = sorted_lines(strbuf_str(&r.fake.calls));
        CHECK_STR(calls, "dep [1,2] {}\ndep [3,4] {}\ndep [5,6] {}\nmaster [1,2,3,4] {}\n"
                         "master [5,6] {}\n");
        free(calls);
        CHECK_INT(engine_exit_status(r.engine), 0);
        rig_settle(&r);
        check_runs(r.store, "dep", "[1,2] succeeded, [3,4] succeeded, [5,6] succeeded");
        check_runs(r.store, "master", "[1,2,3,4] succeeded, [5,6] succeeded");
    }
    rig_close(&r);
}

UNIT_TEST(engine_chunks_timetable_work_ids_flow_down_two_levels)
{
    /* A timetable entry's kwargs_func gives the master its IDs (not a keyword argument
     * then); they reach the dependency's dependency too, each cut by its own size. */
    const char *files[] = {
        "src/master.py",
        PY_JOB("\"chunk_size\": 2, \"dependencies\": [\"mid\"]"),
        "src/mid.py",
        PY_JOB("\"on\": \"demand\", \"chunk_size\": 3, \"dependencies\": [\"leaf\"]"),
        "src/leaf.py",
        PY_JOB("\"on\": \"demand\", \"chunk_size\": 10"),
        "src/stau_schedule.py",
        TIMETABLE("master", "{\"work_ids\": [5, 3, 1, 4, 2]}"),
        NULL};
    struct rig r;
    if (rig_open_files(&r, files, 1)) {
        submit(&r);
        rig_run(&r);
        char *calls = sorted_lines(strbuf_str(&r.fake.calls));
        CHECK_STR(calls, "leaf [1,2,3,4,5] {}\nmaster [1,2] {}\nmaster [3,4] {}\nmaster [5] {}\n"
                         "mid [1,2,3] {}\nmid [4,5] {}\n");
        free(calls);
        CHECK_INT(engine_exit_status(r.engine), 0);
        rig_settle(&r);
        check_runs(r.store, "leaf", "[1,2,3,4,5] succeeded");
        check_runs(r.store, "mid", "[1,2,3] succeeded, [4,5] succeeded");
        check_runs(r.store, "master", "[1,2] succeeded, [3,4] succeeded, [5] succeeded");
    }
    rig_close(&r);
}

/* master (IDs 1-6 in chunks of 2) needs dep (on demand, chunks of 3): master's chunk 1
 * shares IDs with dep's chunk 1 only, its chunk 2 with both, its chunk 3 with dep's
 * chunk 2 only. */
static const char *const chunk_graph[] = {
    "src/master.py",
    PY_JOB("\"work_ids\": [1, 2, 3, 4, 5, 6], \"chunk_size\": 2, \"dependencies\": [\"dep\"]"),
    "src/dep.py", PY_JOB("\"on\": \"demand\", \"chunk_size\": 3"), NULL};

UNIT_TEST(engine_chunks_start_once_the_chunks_they_share_ids_with_succeeded)
{
    struct rig r;
    if (rig_open_files(&r, chunk_graph, 2)) {
        /* dep's second chunk ends only when nothing else runs: master's first chunk
         * runs (and ends) while it still runs. */
        r.fake.slow_job = "dep";
        r.fake.slow_work = "[4,5,6]";
        submit(&r);
        rig_run(&r);
        CHECK_STR(r.fake.log.buf, "start dep\nstart dep\nok dep (chunk 1/2)\nstart master\n"
                                  "ok master (chunk 1/3)\nok dep (chunk 2/2)\nstart master\n"
                                  "start master\nok master (chunk 2/3)\nok master (chunk 3/3)\n");
        CHECK_STR(strbuf_str(&r.fake.calls), "dep [1,2,3] {}\ndep [4,5,6] {}\nmaster [1,2] {}\n"
                                             "master [3,4] {}\nmaster [5,6] {}\n");
        CHECK_INT(engine_exit_status(r.engine), 0);
    }
    rig_close(&r);
}

UNIT_TEST(engine_chunks_a_failed_chunk_skips_only_the_chunks_sharing_its_ids)
{
    struct rig r;
    if (rig_open_files(&r, chunk_graph, 2)) {
        r.fake.fail_job = "dep";
        r.fake.fail_work = "[4,5,6]";
        r.fake.fail_attempts = 9;
        submit(&r);
        rig_run(&r);
        CHECK_STR(r.fake.log.buf, "start dep\nstart dep\nok dep (chunk 1/2)\nstart master\n"
                                  "failed dep (chunk 2/2)\n"
                                  "master (chunk 2/3) skipped: 'dep' (chunk 2/2, IDs 4-6) failed\n"
                                  "master (chunk 3/3) skipped: 'dep' (chunk 2/2, IDs 4-6) failed\n"
                                  "ok master (chunk 1/3)\n");
        CHECK_STR(strbuf_str(&r.fake.calls), "dep [1,2,3] {}\ndep [4,5,6] {}\nmaster [1,2] {}\n");
        /* dep failed; master, with chunks skipped, counts as skipped. */
        struct engine_totals t;
        engine_totals(r.engine, &t);
        CHECK_INT(t.succeeded, 0);
        CHECK_INT(t.failed, 1);
        CHECK_INT(t.skipped, 1);
        CHECK_INT(engine_exit_status(r.engine), 1);
        rig_settle(&r);
        check_runs(r.store, "dep", "[1,2,3] succeeded, [4,5,6] failed");
        check_runs(r.store, "master", "[1,2] succeeded, [3,4] skipped, [5,6] skipped");
    }
    rig_close(&r);
}

/* master (ticking every 20 minutes, its IDs from its timetable entry, chunks of 2)
 * needs dep (on demand, chunks of 2) within 60 minutes; allow: dep's edge has
 * allow_missing_work_ids=True. */
#define LAG_MASTER(allow)                                                                          \
    PY_JOB("\"chunk_size\": 2, \"dependencies\": [{\"job\": \"dep\", \"max_lag\": 60" allow "}]")
#define LAG_DEP PY_JOB("\"on\": \"demand\", \"chunk_size\": 2")

/* The files of master's next invocation on ids (Python): its IDs declared, or given
 * by its timetable entry's kwargs_func. */
static void lag_files(bool timetable, const char *ids, char *files[7])
{
    size_t n = 0;
    files[n++] = xstrdup("src/dep.py");
    files[n++] = xstrdup(LAG_DEP);
    files[n++] = xstrdup("src/master.py");
    if (timetable) {
        files[n++] = xstrdup(LAG_MASTER(""));
        files[n++] = xstrdup("src/stau_schedule.py");
        files[n++] = xprintf(TIMETABLE("master", "{\"work_ids\": %s}"), ids);
    } else {
        files[n++] = xprintf(PY_JOB("\"work_ids\": %s, \"schedule\": \"*/20 * * * *\", "
                                    "\"chunk_size\": 2, \"dependencies\": [{\"job\": \"dep\", "
                                    "\"max_lag\": 60}]"),
                             ids);
    }
    files[n] = NULL;
}

/* Master's next invocation, later_ms after the last (0: the first), on ids: what it
 * started. */
static char *lag_invocation(struct rig *r, bool timetable, const char *ids, int64_t later_ms)
{
    char *files[7];
    lag_files(timetable, ids, files);
    bool ok = later_ms ? rig_again(r, (const char *const *)files, later_ms)
                       : rig_open_files(r, (const char *const *)files, 2);
    for (size_t i = 0; files[i]; i++)
        free(files[i]);
    if (!ok)
        return xstrdup("(not planned)");
    submit(r);
    rig_run(r);
    return xstrdup(strbuf_str(&r->fake.calls));
}

static void max_lag_per_work_id(bool timetable)
{
    struct rig r;
    char *calls = lag_invocation(&r, timetable, "[1, 2]", 0);
    CHECK_STR(calls, "dep [1,2] {}\nmaster [1,2] {}\n");
    free(calls);
    /* 40 minutes later (ticks passed), on IDs 3 and 4: dep is fresh as a whole, but
     * not for them. */
    calls = lag_invocation(&r, timetable, "[4, 3]", MINUTES(40));
    CHECK_STR(calls, "dep [3,4] {}\nmaster [3,4] {}\n");
    free(calls);
    /* 40 minutes more, on 1-6: 1 and 2 last succeeded 80 minutes ago, 3 and 4 40
     * minutes ago (fresh), 5 and 6 never: dep runs for 1, 2, 5 and 6. */
    calls = lag_invocation(&r, timetable, "[1, 2, 3, 4, 5, 6]", MINUTES(40));
    CHECK_STR(calls, "dep [1,2] {}\ndep [5,6] {}\nmaster [1,2] {}\nmaster [3,4] {}\n"
                     "master [5,6] {}\n");
    free(calls);
    /* 20 minutes more, on 1, 2, 5, 6: fresh for each, dep is up to date. */
    calls = lag_invocation(&r, timetable, "[6, 5, 2, 1]", MINUTES(20));
    CHECK_STR(calls, "master [1,2] {}\nmaster [5,6] {}\n");
    free(calls);
    CHECK(strstr(strbuf_str(&r.fake.log), "dep up to date: its last success for each of the 4 "
                                          "work IDs it was given is within its max_lag\n") != NULL);
    if (r.engine) {
        CHECK_INT(engine_exit_status(r.engine), 0);
        rig_settle(&r);
        check_runs(r.store, "dep",
                   "[1,2] succeeded, [3,4] succeeded, [1,2] succeeded, "
                   "[5,6] succeeded");
    }
    rig_close(&r);
}

UNIT_TEST(engine_chunks_max_lag_is_judged_per_declared_work_id)
{
    max_lag_per_work_id(false);
}

UNIT_TEST(engine_chunks_max_lag_is_judged_per_work_id_from_the_timetable)
{
    max_lag_per_work_id(true);
}

UNIT_TEST(engine_chunks_allow_missing_work_ids_judges_max_lag_as_a_whole)
{
    const char *first[] = {"src/master.py",
                           LAG_MASTER(", \"allow_missing_work_ids\": True"),
                           "src/dep.py",
                           LAG_DEP,
                           "src/stau_schedule.py",
                           TIMETABLE("master", "{\"work_ids\": [1, 2]}"),
                           NULL};
    struct rig r;
    if (rig_open_files(&r, first, 2)) {
        submit(&r);
        rig_run(&r);
        CHECK_STR(strbuf_str(&r.fake.calls), "dep [1,2] {}\nmaster [1,2] {}\n");
        /* 40 minutes later, on IDs it never ran for: it succeeded within max_lag, so it
         * is fresh, whatever the IDs. */
        const char *second[] = {"src/stau_schedule.py",
                                TIMETABLE("master", "{\"work_ids\": [3, 4]}"), NULL};
        if (rig_again(&r, second, MINUTES(40))) {
            submit(&r);
            rig_run(&r);
            CHECK_STR(strbuf_str(&r.fake.calls), "master [3,4] {}\n");
        }
        /* 40 minutes more: its last success is 80 minutes old: it runs, for every ID
         * (those it ran for too). */
        const char *third[] = {"src/stau_schedule.py",
                               TIMETABLE("master", "{\"work_ids\": [1, 5]}"), NULL};
        if (rig_again(&r, third, MINUTES(40))) {
            submit(&r);
            rig_run(&r);
            CHECK_STR(strbuf_str(&r.fake.calls), "dep [1,5] {}\nmaster [1,5] {}\n");
        }
    }
    rig_close(&r);
}

UNIT_TEST(engine_chunks_custom_kwargs_flow_down_the_lower_edge_winning)
{
    /* The entry's kwargs reach the master and all below; an edge's custom_kwargs that
     * dependency and below, never the job declaring the edge; the lower edge wins. */
    const char *files[] = {
        "src/master.py",
        PY_JOB("\"chunk_size\": 2, \"dependencies\": [{\"job\": \"mid\", \"custom_kwargs\": "
               "{\"level\": \"mid\", \"deep\": 1}}]"),
        "src/mid.py",
        PY_JOB("\"on\": \"demand\", \"chunk_size\": 3, \"dependencies\": [{\"job\": \"leaf\", "
               "\"custom_kwargs\": {\"deep\": 2}}]"),
        "src/leaf.py",
        PY_JOB("\"on\": \"demand\", \"chunk_size\": 10"),
        "src/stau_schedule.py",
        TIMETABLE("master", "{\"region\": \"eu\", \"deep\": 0, \"work_ids\": [2, 1]}"),
        NULL};
    struct rig r;
    if (rig_open_files(&r, files, 1)) {
        submit(&r);
        rig_run(&r);
        CHECK_STR(strbuf_str(&r.fake.calls),
                  "leaf [1,2] {\"region\":\"eu\",\"deep\":2,\"level\":\"mid\"}\n"
                  "mid [1,2] {\"region\":\"eu\",\"deep\":1,\"level\":\"mid\"}\n"
                  "master [1,2] {\"region\":\"eu\",\"deep\":0}\n");
        CHECK_INT(engine_exit_status(r.engine), 0);
        rig_settle(&r);
        char *kw = recorded_kwargs(r.store, "master");
        CHECK_STR(kw, "{\"region\":\"eu\",\"deep\":0}\n");
        free(kw);
        kw = recorded_kwargs(r.store, "leaf");
        CHECK_STR(kw, "{\"region\":\"eu\",\"deep\":2,\"level\":\"mid\"}\n");
        free(kw);
    }
    rig_close(&r);
}

/* The chunk graph, ticking every 20 minutes, dep within 60 minutes. */
static const char *const ticking_chunk_graph[] = {
    "src/master.py",
    PY_JOB("\"work_ids\": [1, 2, 3, 4, 5, 6], \"chunk_size\": 2, \"schedule\": \"*/20 * * * *\", "
           "\"dependencies\": [{\"job\": \"dep\", \"max_lag\": 60}]"),
    "src/dep.py", PY_JOB("\"on\": \"demand\", \"chunk_size\": 3"), NULL};

/* Chunks of a job ending in the same millisecond, the newer run's end seen first: its
 * dependent remembers the success the next plan reads from the store (the newest of
 * the chunks ending last), so it is not found due again. Seen in t_torture under
 * load: "'extract' succeeded again (run 185) since run 189" right after a run of all. */
UNIT_TEST(engine_chunks_ending_in_one_ms_leave_the_dependent_up_to_date)
{
    const char *files[] = {"src/up.py", PY_JOB("\"work_ids\": [1, 2, 3], \"chunk_size\": 1"),
                           "src/down.py", PY_JOB("\"dependencies\": [\"up\"]"), NULL};
    struct rig r;
    if (rig_open_files(&r, files, 3)) {
        r.fake.newest_first = true;
        r.fake.same_ms = true;
        submit(&r);
        rig_run(&r);
        CHECK_INT(engine_exit_status(r.engine), 0);
        if (rig_again(&r, NULL, MINUTES(1))) {
            for (size_t i = 0; i < r.plan.order.len; i++)
                fprintf(stderr, "  due again: %s\n",
                        r.project.graph.jobs.items[r.plan.order.items[i]].name);
            CHECK_INT(r.plan.order.len, 0);
        }
    }
    rig_close(&r);
}

UNIT_TEST(engine_chunks_the_next_tick_redoes_only_the_failed_ids)
{
    struct rig r;
    if (rig_open_files(&r, ticking_chunk_graph, 2)) {
        r.fake.fail_job = "master";
        r.fake.fail_work = "[3,4]";
        r.fake.fail_attempts = 9;
        submit(&r);
        rig_run(&r);
        CHECK_INT(engine_exit_status(r.engine), 1);
        /* Nothing runs before the next tick; at it, only master's chunk that failed
         * (dep's success stands). */
        r.fake.fail_job = NULL;
        if (rig_again(&r, NULL, MINUTES(5))) {
            CHECK_INT(r.plan.order.len, 0);
            submit(&r);
            rig_run(&r);
            CHECK_STR(strbuf_str(&r.fake.calls), "");
        }
        if (rig_again(&r, NULL, MINUTES(25))) {
            submit(&r);
            rig_run(&r);
            CHECK_STR(strbuf_str(&r.fake.calls), "master [3,4] {}\n");
            CHECK(strstr(strbuf_str(&r.fake.log),
                         "dep up to date: its last success for each of the 2 work IDs it was "
                         "given is within its max_lag\n") != NULL);
            CHECK_INT(engine_exit_status(r.engine), 0);
            rig_settle(&r);
            check_runs(r.store, "master",
                       "[1,2] succeeded, [3,4] failed, [5,6] succeeded, [3,4] succeeded");
        }
    }
    rig_close(&r);
}

/* The chunk graph ticking, dep's chunk of IDs 4-6 failing; then, at the next tick,
 * what started ("job IDS KWARGS" lines, sorted) and how master's runs ended. */
static void tick_after_a_failed_dep_chunk(const char *job, const char *want_calls)
{
    struct rig r;
    if (rig_open_files(&r, ticking_chunk_graph, 2)) {
        r.fake.fail_job = "dep";
        r.fake.fail_work = "[4,5,6]";
        r.fake.fail_attempts = 9;
        submit(&r);
        rig_run(&r);
        CHECK_INT(engine_exit_status(r.engine), 1);
        r.fake.fail_job = NULL;
        if (rig_again(&r, NULL, MINUTES(30))) {
            submit(&r);
            rig_run(&r);
            char *calls = sorted_lines_of(strbuf_str(&r.fake.calls), job);
            CHECK_STR(calls, want_calls);
            free(calls);
            CHECK_INT(engine_exit_status(r.engine), 0);
            rig_settle(&r);
            check_runs(r.store, "master",
                       "[1,2] succeeded, [3,4] skipped, [5,6] skipped, [3,4] succeeded, "
                       "[5,6] succeeded");
        }
    }
    rig_close(&r);
}

UNIT_TEST(engine_chunks_the_next_tick_redoes_only_the_skipped_ids)
{
    /* Master's IDs without a success since (3-6). */
    tick_after_a_failed_dep_chunk("master ", "master [3,4] {}\nmaster [5,6] {}\n");
}

UNIT_TEST(engine_chunks_the_next_tick_reruns_a_dependency_only_for_ids_not_fresh)
{
    /* dep succeeded for 1-3 half an hour ago, within its max_lag of 60 minutes: of
     * master's IDs 3-6 it reruns only 4-6 (SPEC §7: "the next tick reruns only the work
     * IDs that have no fresh success"). */
    tick_after_a_failed_dep_chunk("dep ", "dep [4,5,6] {}\n");
}

UNIT_TEST(engine_chunks_an_empty_selection_runs_nothing_below)
{
    const char *files[] = {
        "src/master.py",
        PY_JOB("\"work_ids\": [], \"chunk_size\": 2, \"dependencies\": [\"mid\"]"),
        "src/mid.py",
        PY_JOB("\"on\": \"demand\", \"chunk_size\": 3, \"dependencies\": [\"leaf\"]"),
        "src/leaf.py",
        PY_JOB("\"on\": \"demand\", \"chunk_size\": 10"),
        NULL};
    struct rig r;
    if (rig_open_files(&r, files, 2)) {
        submit(&r);
        rig_run(&r);
        CHECK_STR(strbuf_str(&r.fake.calls), "");
        CHECK(strstr(r.fake.log.buf,
                     "skip mid: 'master' chose no work IDs: nothing to do for it\n") != NULL);
        CHECK(strstr(r.fake.log.buf,
                     "skip leaf: 'master' chose no work IDs: nothing to do for it\n") != NULL);
        CHECK_INT(engine_exit_status(r.engine), 0);
        rig_settle(&r);
        check_runs(r.store, "master", "[] succeeded");
        check_runs(r.store, "mid", "null skipped");
        check_runs(r.store, "leaf", "null skipped");
    }
    rig_close(&r);
}

UNIT_TEST(engine_chunks_a_feeder_that_never_runs_here_leaves_nothing_waiting)
{
    struct rig r;
    if (rig_open_files(&r, chunk_graph, 2)) {
        /* Another stau holds master (a fresh lease): it never runs here, and gives dep
         * no IDs. */
        struct run_record other = {
            .job = "master", .host = "elsewhere", .owner_pid = 4242, .owner_start = 1};
        int64_t id = 0;
        CHECK_INT(store_begin_run(r.store, &other, r.fake.wall, &id), 0);
        submit(&r);
        for (int i = 0; i < 5; i++)
            engine_step(r.engine, -1);
        CHECK_STR(strbuf_str(&r.fake.calls), "");
        CHECK(engine_busy(r.engine));
        struct store_change end = {.kind = STORE_FINISH,
                                   .id = id,
                                   .at = r.fake.wall,
                                   .finish = {.status = RUN_SUCCEEDED, .exit_code = 0}};
        CHECK_INT(store_apply(r.store, &end, 1, NULL, 0, r.fake.wall), 0);
        rig_run(&r);
        CHECK_STR(strbuf_str(&r.fake.calls), "");
        CHECK(strstr(r.fake.log.buf,
                     "skip dep: 'master' did not run here: nothing to do for it\n") != NULL);
        CHECK_INT(engine_exit_status(r.engine), 0);
        rig_settle(&r);
        check_runs(r.store, "dep", "null skipped");
    }
    rig_close(&r);
}
