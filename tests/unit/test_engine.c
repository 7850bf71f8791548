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
    const char *hang_job;         /* the job whose processes end only when terminated */
    int terminated;               /* terminate_all calls */
    struct strbuf log;            /* "start a", "ok a", "failed b", "skip c: why", "retry b 2" */
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
    p.attempt = atoi(env_value(spec->env_extra, "STAU_ATTEMPT"));
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

/* The oldest running process ends (after 100 ms of fake time), or the clock moves
 * to the deadline. */
static int fake_wait(void *ctx, int64_t deadline_ms, struct proc_event *ev)
{
    struct fake *f = ctx;
    memset(ev, 0, sizeof(*ev));
    for (size_t i = 0; i < f->procs.len; i++) {
        struct fake_proc *p = &f->procs.items[i];
        if (!p->running || (f->hang_job && !f->terminated && strcmp(p->job, f->hang_job) == 0))
            continue;
        p->running = false;
        f->running--;
        f->mono += 100;
        f->wall += 100;
        bool fails =
            f->fail_job && strcmp(p->job, f->fail_job) == 0 && p->attempt <= f->fail_attempts;
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
    strbuf_addf(&f->log, "%s %s\n",
                run->result == RUN_SUCCEEDED ? "ok" : run_status_name(run->result), run->job);
}

static void on_skipped(void *ctx, const char *job, const char *why,
                       const struct engine_progress *pr)
{
    (void)pr;
    strbuf_addf(&((struct fake *)ctx)->log, "skip %s: %s\n", job, why);
}

static void on_held(void *ctx, const char *job, const char *what, const struct engine_progress *pr)
{
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

/* A project of jobs (name -> declaration keys) in the test's folder, loaded and planned
 * (every job due: never run), with a state database, a recorder and an engine. */
struct rig {
    struct fake fake;
    char *root;
    struct project project;
    struct plan plan;
    struct store *store;
    struct recorder *recorder;
    struct owner self;
    struct engine *engine;
};

#define START_MS 1893456000000LL /* 2030-01-01 00:00:00 UTC */

static bool rig_open(struct rig *r, const char *const *jobs, size_t slots)
{
    memset(r, 0, sizeof(*r));
    r->fake.wall = START_MS;
    r->fake.mono = 1000;
    r->root = xprintf("%s/proj", unit_tmpdir());
    mkdir(r->root, 0755);
    for (size_t i = 0; jobs[i]; i += 2) {
        char *rel = xprintf("%s.py", jobs[i]);
        char *text = xprintf("STAU_CONFIG = {\"main_func\": \"main\"%s%s}\n\ndef main():\n    "
                             "pass\n",
                             jobs[i + 1][0] ? ", " : "", jobs[i + 1]);
        unit_write(r->root, rel, text);
        free(rel);
        free(text);
    }
    struct project_options po = {r->root, NULL, 1};
    if (!CHECK_INT(project_load(&r->project, &po), 0) || !CHECK_INT(r->project.diags.errors, 0))
        return false;
    char *db = xprintf("%s/state.db", unit_tmpdir());
    struct strbuf err = STRBUF_INIT;
    r->store = store_open(db, NULL, &err);
    free(db);
    strbuf_release(&err);
    if (!CHECK(r->store != NULL))
        return false;
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
                     .held = on_held,
                     .retry = on_retry},
        .slots = slots,
        .claim_ahead = true,
        .python = "python3",
        .watch_fd = -1,
    };
    r->engine = engine_new(&cfg);
    return CHECK(r->engine != NULL);
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

static void rig_close(struct rig *r)
{
    engine_free(r->engine);
    if (r->recorder)
        recorder_close(r->recorder);
    if (r->plan.jobs)
        plan_release(&r->plan);
    project_release(&r->project);
    store_close(r->store);
    VEC_FREE(&r->fake.procs);
    strbuf_release(&r->fake.log);
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
        CHECK_STR(r.fake.log.buf, "start a\ninterrupted a\nskip b: 'a' failed\n");
        struct engine_totals t;
        engine_totals(r.engine, &t);
        CHECK_INT(t.skipped, 1);
        CHECK_INT(t.interrupts, 1);
        CHECK_INT(engine_exit_status(r.engine), 130);
    }
    rig_close(&r);
}
