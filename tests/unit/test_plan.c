/* test_plan.c: the planner (plan.c) on real projects in a temporary folder, with
 * a state database of its own and a fake clock: which jobs are due, in which
 * order, and why.
 *
 * Runs are recorded as exec.c and recorder.c record them (begin, then start and
 * finish in one store_apply), with the fingerprints the planner measured.
 * Instants: NOW = 2030-01-01 00:40:00 UTC = 1893458400 s, later than any file the
 * tests write, so the planner's file memory (stat data, then hash) is in play;
 * files whose content changes get an mtime of their own, as an edit would. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan.h"
#include "project.h"
#include "stale.h"
#include "store.h"
#include "unit.h"
#include "util.h"
#include "work.h"

#define S 1000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define MIDNIGHT (1893456000LL * S) /* 2030-01-01 00:00:00 UTC */
#define NOW (MIDNIGHT + 40 * MIN)   /* 2030-01-01 00:40:00 UTC */

/* A project folder, loaded, and its state database. */
struct fixture {
    char *root;             /* the project root */
    struct project project; /* loaded from root */
    struct store *store;    /* <tmpdir>/state.db */
    bool loaded;
};

/* The project root, a new folder in the test's temporary one. */
static char *project_root(void)
{
    char *root = xprintf("%s/proj", unit_tmpdir());
    if (!CHECK(mkdir(root, 0755) == 0))
        fprintf(stderr, "  cannot make %s\n", root);
    return root;
}

/* Set the modification time of root/rel to ms (unix ms). */
static void set_mtime(const char *root, const char *rel, int64_t ms)
{
    char *path = xprintf("%s/%s", root, rel);
    struct timespec times[2] = {{ms / 1000, (ms % 1000) * 1000000},
                                {ms / 1000, (ms % 1000) * 1000000}};
    if (!CHECK(utimensat(AT_FDCWD, path, times, 0) == 0))
        fprintf(stderr, "  cannot set the mtime of %s\n", path);
    free(path);
}

/* Write root/rel with this content and mtime. */
static void write_at(const char *root, const char *rel, const char *content, int64_t mtime)
{
    unit_write(root, rel, content);
    set_mtime(root, rel, mtime);
}

/* A job file calling main, with extra declaration keys (may be ""). */
static void write_job(const char *root, const char *rel, const char *keys, int64_t mtime)
{
    char *text = xprintf("STAU_CONFIG = {\"main_func\": \"main\"%s%s}\n\n\n"
                         "def main():\n    pass\n",
                         keys[0] ? ", " : "", keys);
    write_at(root, rel, text, mtime);
    free(text);
}

/* Load the project at root (again, after edits: the graph cache has it). */
static bool load(struct fixture *f)
{
    if (f->loaded)
        project_release(&f->project);
    struct project_options po = {f->root, NULL, 1};
    f->loaded = project_load(&f->project, &po) == 0;
    if (!CHECK(f->loaded))
        return false;
    return CHECK_INT(f->project.diags.errors, 0);
}

/* Load the project written at root and open a new state database. */
static bool open_fixture(struct fixture *f, char *root)
{
    memset(f, 0, sizeof(*f));
    f->root = root;
    char *db = xprintf("%s/state.db", unit_tmpdir());
    struct strbuf err = STRBUF_INIT;
    f->store = store_open(db, NULL, &err);
    if (!CHECK(f->store != NULL))
        fprintf(stderr, "  %s\n", strbuf_str(&err));
    strbuf_release(&err);
    free(db);
    return load(f) && f->store;
}

static void close_fixture(struct fixture *f)
{
    if (f->loaded)
        project_release(&f->project);
    store_close(f->store);
    free(f->root);
    memset(f, 0, sizeof(*f));
}

/* Plan with one target (NULL: every job) at now; false after a failed check. */
static bool plan_at(struct fixture *f, struct plan *plan, const char *target, bool force,
                    int64_t now)
{
    char *targets[] = {(char *)(uintptr_t)target};
    struct plan_options po = {targets, target ? 1 : 0, force, now, NULL, NULL, false};
    return CHECK_INT(plan_build(plan, &f->project, f->store, &po), 0);
}

/* Load the project at root (taken) and plan all of it at NOW; false (with everything
 * closed) when either fails. */
static bool first_plan(struct fixture *f, struct plan *plan, char *root)
{
    if (open_fixture(f, root) && plan_at(f, plan, NULL, false, NOW))
        return true;
    close_fixture(f);
    return false;
}

static const struct plan_job *job_of(const struct fixture *f, const struct plan *plan,
                                     const char *name)
{
    long i = graph_find(&f->project.graph, name);
    if (!CHECK(i >= 0 && (size_t)i < plan->count)) {
        fprintf(stderr, "  no job '%s'\n", name);
        return NULL;
    }
    return &plan->jobs[i];
}

/* The due jobs in plan order with their reason kinds: "c(never-run) b(never-run,upstream-due)". */
static void check_due_at(const struct fixture *f, const struct plan *plan, const char *want,
                         const char *file, int line)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t k = 0; k < plan->order.len; k++) {
        size_t i = plan->order.items[k];
        const struct plan_job *pj = &plan->jobs[i];
        strbuf_addf(&sb, "%s%s(", k ? " " : "", f->project.graph.jobs.items[i].name);
        for (size_t r = 0; r < pj->why.len; r++)
            strbuf_addf(&sb, "%s%s", r ? "," : "", reason_name(pj->why.items[r].kind));
        strbuf_addch(&sb, ')');
    }
    unit_check_str(strbuf_str(&sb), want, file, line, "due jobs in plan order");
    strbuf_release(&sb);
    /* due and order agree, and a job is due exactly when it has reasons */
    size_t due = 0;
    for (size_t i = 0; i < plan->count; i++) {
        const struct plan_job *pj = &plan->jobs[i];
        due += pj->due;
        unit_check(pj->due == (pj->why.len > 0), file, line, "due exactly with reasons");
        unit_check(!pj->due || pj->selected, file, line, "only selected jobs are due");
    }
    unit_check_int((long long)due, (long long)plan->order.len, file, line, "due jobs");
}
#define CHECK_DUE(f, plan, want) check_due_at((f), (plan), (want), __FILE__, __LINE__)

/* One job's reasons as "kind: evidence" lines. */
static void check_why_at(const struct fixture *f, const struct plan *plan, const char *job,
                         const char *want, const char *file, int line)
{
    const struct plan_job *pj = job_of(f, plan, job);
    if (!pj)
        return;
    struct strbuf sb = STRBUF_INIT;
    for (size_t r = 0; r < pj->why.len; r++)
        strbuf_addf(&sb, "%s%s: %s", r ? "\n" : "", reason_name(pj->why.items[r].kind),
                    pj->why.items[r].evidence);
    unit_check_str(strbuf_str(&sb), want, file, line, job);
    strbuf_release(&sb);
}
#define CHECK_WHY(f, plan, job, want) check_why_at((f), (plan), (job), (want), __FILE__, __LINE__)

/* Record a run of job that started and ended at these times, with the fingerprints
 * plan measured for it and, when keep_files, the evidence lines behind them (as
 * stau records them since runs keep files; older runs have none); its id, or 0
 * after a failed check. A skipped run is queued at `started` and never starts. */
static int64_t record_run_as(struct fixture *f, const struct plan *plan, const char *job,
                             enum run_status status, int64_t started, int64_t finished,
                             bool keep_files)
{
    const struct plan_job *pj = job_of(f, plan, job);
    if (!pj || !CHECK(pj->selected))
        return 0;
    struct run_record rec = {0};
    rec.job = (char *)(uintptr_t)job;
    rec.attempt = 1;
    rec.status = RUN_QUEUED;
    rec.host = (char *)"unit-host";
    rec.owner_pid = 4242;
    rec.kwargs_json = (char *)"{}";
    rec.code_fingerprint = (char *)(uintptr_t)pj->code_fp;
    rec.config_fingerprint = (char *)(uintptr_t)pj->config_fp;
    rec.inputs_fingerprint = (char *)(uintptr_t)pj->inputs_fp;
    rec.reasons_json = (char *)"[]";
    rec.exit_code = -1;
    /* What each dependency left, as the engine notes it when a run starts. */
    struct strbuf files = STRBUF_INIT;
    strbuf_addstr(&files, pj->files ? pj->files : "");
    const struct job *gj = &f->project.graph.jobs.items[pj - plan->jobs];
    for (size_t e = 0; e < gj->deps.len; e++) {
        const struct job *up = &f->project.graph.jobs.items[gj->deps.items[e].to];
        struct run_record ok = {0};
        char fp[UPSTREAM_FP_SIZE] = "";
        if (work_last_success(f->store, up->name, &ok) == 1)
            stale_upstream_fp(up->decl->outputs.len > 0, ok.outputs_fingerprint, ok.id, fp);
        run_record_release(&ok);
        if (fp[0])
            strbuf_addf(&files, "u\t%s\t%s\n", up->name, fp);
    }
    int64_t id = 0;
    if (!CHECK(store_begin_runs(f->store, &rec, 1, started, &id) == 0)) {
        strbuf_release(&files);
        fprintf(stderr, "  %s\n", store_error(f->store));
        return 0;
    }
    struct store_change changes[2] = {
        {.kind = STORE_START,
         .id = id,
         .at = started,
         .pid = 4343,
         .inputs_fingerprint = pj->inputs_fp,
         .log_path = ".stau/logs/run.log",
         .files = keep_files ? files.buf : NULL},
        {.kind = STORE_FINISH,
         .id = id,
         .at = finished,
         .finish = {.status = status,
                    .exit_code = status == RUN_SUCCEEDED ? 0
                                 : status == RUN_SKIPPED ? -1
                                                         : 1,
                    .outputs_fingerprint = status == RUN_SKIPPED ? NULL : pj->outputs_fp}},
    };
    bool skipped = status == RUN_SKIPPED;
    if (!CHECK_INT(store_apply(f->store, changes + skipped, 2 - skipped, NULL, 0, finished), 0))
        fprintf(stderr, "  %s\n", store_error(f->store));
    strbuf_release(&files);
    return id;
}

static int64_t record_run(struct fixture *f, const struct plan *plan, const char *job,
                          enum run_status status, int64_t started, int64_t finished)
{
    return record_run_as(f, plan, job, status, started, finished, true);
}

/* Record a success of every due job, in plan order, one after the other (two
 * minutes apart, the last ending at end). */
static void succeed_in_order(struct fixture *f, const struct plan *plan, int64_t end)
{
    size_t n = plan->order.len;
    for (size_t k = 0; k < n; k++) {
        int64_t started = end - (int64_t)(n - k) * 2 * MIN;
        record_run(f, plan, f->project.graph.jobs.items[plan->order.items[k]].name, RUN_SUCCEEDED,
                   started, started + MIN);
    }
}

/* a needs b needs c; d stands alone. By name a, b, c, d; upstream first c, b, a, d. */
static char *write_chain(void)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/a.py", "\"dependencies\": [\"b\"]", t);
    write_job(root, "src/b.py", "\"dependencies\": [\"c\"]", t);
    write_job(root, "src/c.py", "", t);
    write_job(root, "src/d.py", "\"tags\": [\"finance\"]", t);
    return root;
}

UNIT_TEST(plan_fresh_project_runs_everything_upstream_first)
{
    struct fixture f;
    if (!open_fixture(&f, write_chain())) {
        close_fixture(&f);
        return;
    }
    CHECK_INT(f.project.graph.jobs.len, 4);
    struct plan plan;
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_INT(plan.count, 4);
        CHECK_DUE(&f, &plan,
                  "c(never-run) b(never-run,upstream-due) a(never-run,upstream-due) "
                  "d(never-run)");
        CHECK_WHY(&f, &plan, "c", "never-run: no successful run is recorded");
        CHECK_WHY(&f, &plan, "b",
                  "never-run: no successful run is recorded\nupstream-due: 'c' runs first");
        CHECK_WHY(&f, &plan, "a",
                  "never-run: no successful run is recorded\nupstream-due: 'b' runs first");
        for (size_t i = 0; i < plan.count; i++) {
            CHECK(plan.jobs[i].selected);
            CHECK_INT(strlen(plan.jobs[i].code_fp), 32);
            CHECK_INT(plan.jobs[i].last.id, 0);
            CHECK_INT(plan.jobs[i].success.id, 0);
        }
        /* Each job's code is its own file's. */
        CHECK(strcmp(plan.jobs[0].code_fp, plan.jobs[1].code_fp) != 0);
        CHECK(plan_next_tick(&plan) == INT64_MAX); /* no schedules */
    }
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_nothing_due_after_recorded_successes)
{
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, write_chain()))
        return;
    succeed_in_order(&f, &plan, NOW - 10 * MIN);
    plan_release(&plan);

    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK_INT(plan.order.len, 0);
        for (size_t i = 0; i < plan.count; i++) {
            const struct plan_job *pj = &plan.jobs[i];
            CHECK(pj->success.id > 0);
            CHECK_INT(pj->last.id, pj->success.id);
            CHECK_STR(pj->success.code_fingerprint, pj->code_fp);
            CHECK_STR(pj->success.inputs_fingerprint, pj->inputs_fp);
        }
        const struct plan_job *c = job_of(&f, &plan, "c");
        if (c) {
            CHECK_INT(c->success.started_at, NOW - 18 * MIN); /* first of four, 2 min apart */
            CHECK_INT(c->schedule_from, NOW - 18 * MIN);
        }
        CHECK(plan.witness_complete);
    }
    plan_release(&plan);
    /* The same at a much later time: nothing in this project ages. */
    if (plan_at(&f, &plan, NULL, false, NOW + 365 * DAY))
        CHECK_DUE(&f, &plan, "");
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_target_selects_it_and_its_upstream_only)
{
    struct fixture f;
    if (!open_fixture(&f, write_chain())) {
        close_fixture(&f);
        return;
    }
    struct plan plan;
    if (plan_at(&f, &plan, "b", false, NOW)) {
        CHECK_DUE(&f, &plan, "c(never-run) b(never-run,upstream-due)");
        const struct plan_job *a = job_of(&f, &plan, "a"), *d = job_of(&f, &plan, "d");
        const struct plan_job *b = job_of(&f, &plan, "b"), *c = job_of(&f, &plan, "c");
        if (a && b && c && d) {
            CHECK(b->selected && c->selected);
            CHECK(!a->selected && !a->due && a->why.len == 0);
            CHECK(!d->selected && !d->due && d->why.len == 0);
            CHECK_STR(a->code_fp, ""); /* not measured */
        }
    }
    plan_release(&plan);
    if (plan_at(&f, &plan, "tag:finance", false, NOW))
        CHECK_DUE(&f, &plan, "d(never-run)");
    plan_release(&plan);
    if (plan_at(&f, &plan, "[ab]", false, NOW)) /* a glob: a and b, and c for them */
        CHECK_DUE(&f, &plan, "c(never-run) b(never-run,upstream-due) a(never-run,upstream-due)");
    plan_release(&plan);
    fprintf(stderr, "(an error about 'zz' is expected)\n");
    CHECK_INT(plan_build(&plan, &f.project, f.store,
                         &(struct plan_options){(char *[]){(char *)"zz"}, 1, false, NOW, NULL, NULL,
                                                false}),
              -1);
    CHECK(plan.jobs == NULL && plan.count == 0 && plan.order.len == 0);
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_force_marks_only_the_target)
{
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, write_chain()))
        return;
    succeed_in_order(&f, &plan, NOW - 10 * MIN);
    plan_release(&plan);

    if (plan_at(&f, &plan, "b", true, NOW)) {
        CHECK_DUE(&f, &plan, "b(forced)");
        CHECK_WHY(&f, &plan, "b", "forced: asked for with --force");
        const struct plan_job *c = job_of(&f, &plan, "c");
        CHECK(c && c->selected && !c->due);
    }
    plan_release(&plan);
    /* Without --force the same target is not due. */
    if (plan_at(&f, &plan, "b", false, NOW))
        CHECK_DUE(&f, &plan, "");
    plan_release(&plan);
    /* Forcing c runs c alone: b and a, which need it, are not selected. */
    if (plan_at(&f, &plan, "c", true, NOW))
        CHECK_DUE(&f, &plan, "c(forced)");
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_max_lag_pulls_an_old_dependency_in_first)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/rates.py", "", t);
    write_job(root, "src/sales.py", "", t);
    write_job(root, "src/report.py",
              "\"dependencies\": [{\"job\": \"rates\", \"max_lag\": 60}, "
              "{\"job\": \"sales\", \"max_lag\": 60}]",
              t);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    CHECK_DUE(&f, &plan, "rates(never-run) sales(never-run) report(never-run,upstream-due)");
    record_run(&f, &plan, "rates", RUN_SUCCEEDED, NOW - 2 * HOUR - MIN, NOW - 2 * HOUR);
    record_run(&f, &plan, "sales", RUN_SUCCEEDED, NOW - 11 * MIN, NOW - 10 * MIN);
    record_run(&f, &plan, "report", RUN_SUCCEEDED, NOW - 5 * MIN, NOW - 4 * MIN);
    plan_release(&plan);

    /* report is not due, so the age of what it needs does not matter. */
    if (plan_at(&f, &plan, NULL, false, NOW))
        CHECK_DUE(&f, &plan, "");
    plan_release(&plan);
    /* report must run: rates (2 h old) runs first, sales (10 min old) does not. */
    if (plan_at(&f, &plan, "report", true, NOW)) {
        CHECK_DUE(&f, &plan, "rates(max-lag) report(forced,upstream-due)");
        CHECK_WHY(&f, &plan, "rates",
                  "max-lag: 'report' needs it within 60 minutes; its last success was 2h 0m "
                  "ago");
        CHECK_WHY(&f, &plan, "report",
                  "forced: asked for with --force\nupstream-due: 'rates' runs first");
        CHECK_WHY(&f, &plan, "sales", "");
    }
    plan_release(&plan);
    /* Later, sales ages too: 59 minutes old it is recent enough, 61 minutes not. */
    if (plan_at(&f, &plan, "report", true, NOW + 49 * MIN))
        CHECK_DUE(&f, &plan, "rates(max-lag) report(forced,upstream-due)");
    plan_release(&plan);
    if (plan_at(&f, &plan, "report", true, NOW + 51 * MIN)) {
        CHECK_DUE(&f, &plan, "rates(max-lag) sales(max-lag) report(forced,upstream-due)");
        CHECK_WHY(&f, &plan, "sales",
                  "max-lag: 'report' needs it within 60 minutes; its last success was 1h 1m "
                  "ago");
        /* Every dependency that runs first is named. */
        CHECK_WHY(&f, &plan, "report",
                  "forced: asked for with --force\nupstream-due: 'rates' and 'sales' run first");
    }
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_input_glob_content_decides_not_mtime)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/load.py", "\"inputs\": [\"data/*.csv\"]", t);
    write_at(root, "data/a.csv", "x,y\n1,2\n", t);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    CHECK_DUE(&f, &plan, "load(never-run)");
    char first_fp[33];
    snprintf(first_fp, sizeof(first_fp), "%s", plan.jobs[0].inputs_fp);
    int64_t run = record_run(&f, &plan, "load", RUN_SUCCEEDED, NOW - 20 * MIN, NOW - 19 * MIN);
    plan_release(&plan);

    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK_STR(plan.jobs[0].inputs_fp, first_fp);
    }
    plan_release(&plan);

    /* touch: a new mtime, the same content. */
    set_mtime(root, "data/a.csv", NOW - HOUR);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK_STR(plan.jobs[0].inputs_fp, first_fp);
    }
    plan_release(&plan);
    /* ... and the planner remembered the file with its new stat data. */
    struct store_file mem = {0};
    CHECK_INT(store_file_get(f.store, "data/a.csv", &mem), 1);
    CHECK_INT(mem.mtime_ns, (NOW - HOUR) * 1000000);
    free(mem.path);

    /* A new file matching the glob. */
    write_at(root, "data/b.csv", "x,y\n", NOW - 30 * MIN);
    char *want = xprintf("input-changed: data/b.csv is new since run %lld", (long long)run);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "load(input-changed)");
        CHECK_WHY(&f, &plan, "load", want);
    }
    plan_release(&plan);
    free(want);
    /* A file that does not match it changes nothing. */
    char *b = xprintf("%s/data/b.csv", root);
    CHECK(unlink(b) == 0);
    free(b);
    write_at(root, "data/c.txt", "x,y\n", NOW - 30 * MIN);
    if (plan_at(&f, &plan, NULL, false, NOW))
        CHECK_DUE(&f, &plan, "");
    plan_release(&plan);
    /* New content of the same size in a matched file (edited: a new mtime). */
    write_at(root, "data/a.csv", "x,y\n1,3\n", NOW - 25 * MIN);
    want = xprintf("input-changed: data/a.csv changed since run %lld", (long long)run);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "load(input-changed)");
        CHECK_WHY(&f, &plan, "load", want);
        /* A success recorded by a stau that kept no file evidence... */
        run = record_run_as(&f, &plan, "load", RUN_SUCCEEDED, NOW - 10 * MIN, NOW - 9 * MIN, false);
    }
    plan_release(&plan);
    free(want);
    /* ... still decides, and the evidence says what kind of thing changed. */
    write_at(root, "data/d.csv", "x,y\n", NOW - 5 * MIN);
    want = xprintf("input-changed: an input's content, or the files its globs match, changed "
                   "since run %lld",
                   (long long)run);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "load(input-changed)");
        CHECK_WHY(&f, &plan, "load", want);
    }
    plan_release(&plan);
    free(want);
    close_fixture(&f);
}

/* The job's code, "main" returning its value; with comments when commented. */
static void write_code(const char *root, const char *rel, const char *value, bool commented,
                       int64_t mtime)
{
    char *text = xprintf("%simport helpers\n\nSTAU_CONFIG = {\"main_func\": \"main\"}%s\n\n\n"
                         "def main():\n    return %s%s\n",
                         commented ? "# the job\n" : "", commented ? "  # how it runs" : "", value,
                         commented ? "  # the answer" : "");
    write_at(root, rel, text, mtime);
    free(text);
}

UNIT_TEST(plan_comment_edit_is_no_code_change)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_code(root, "src/job.py", "1", false, t);
    write_at(root, "src/helpers.py", "def helper():\n    return 1\n", t);
    struct fixture f;
    if (!open_fixture(&f, root)) {
        close_fixture(&f);
        return;
    }
    CHECK_INT(f.project.graph.jobs.len, 1); /* helpers.py is a module, not a job */
    struct plan plan;
    if (!plan_at(&f, &plan, NULL, false, NOW)) {
        close_fixture(&f);
        return;
    }
    CHECK_DUE(&f, &plan, "job(never-run)");
    char first_fp[33];
    snprintf(first_fp, sizeof(first_fp), "%s", plan.jobs[0].code_fp);
    int64_t run = record_run(&f, &plan, "job", RUN_SUCCEEDED, NOW - 30 * MIN, NOW - 29 * MIN);
    plan_release(&plan);

    /* Comments added: lines of their own, and after code. */
    write_code(root, "src/job.py", "1", true, t + HOUR);
    write_at(root, "src/helpers.py", "# helps\ndef helper():  # it does\n    return 1\n", t + HOUR);
    if (load(&f) && plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK_STR(plan.jobs[0].code_fp, first_fp);
    }
    plan_release(&plan);
    /* A code edit of the same size. */
    write_code(root, "src/job.py", "2", true, t + 2 * HOUR);
    char *want = xprintf("code-changed: src/job.py changed since run %lld", (long long)run);
    if (load(&f) && plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "job(code-changed)");
        CHECK_WHY(&f, &plan, "job", want);
        CHECK(strcmp(plan.jobs[0].code_fp, first_fp) != 0);
        run = record_run(&f, &plan, "job", RUN_SUCCEEDED, NOW - 20 * MIN, NOW - 19 * MIN);
    }
    plan_release(&plan);
    free(want);
    /* A code edit of a local module it imports. */
    write_at(root, "src/helpers.py", "# helps\ndef helper():  # it does\n    return 2\n",
             t + 3 * HOUR);
    want = xprintf("code-changed: src/helpers.py changed since run %lld", (long long)run);
    if (load(&f) && plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "job(code-changed)");
        CHECK_WHY(&f, &plan, "job", want);
    }
    plan_release(&plan);
    free(want);
    close_fixture(&f);
}

UNIT_TEST(plan_schedule_tick_since_the_last_start)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/old.py", "\"schedule\": \"0 * * * *\", \"timezone\": \"UTC\"", t);
    write_job(root, "src/recent.py", "\"schedule\": \"0 * * * *\", \"timezone\": \"UTC\"", t);
    write_job(root, "src/india.py", "\"schedule\": \"0 * * * *\", \"timezone\": \"Asia/Kolkata\"",
              t);
    write_job(root, "src/waits.py", "\"schedule\": \"0 * * * *\", \"timezone\": \"UTC\"", t);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    CHECK_DUE(&f, &plan, "india(never-run) old(never-run) recent(never-run) waits(never-run)");
    CHECK_INT(plan_next_tick(&plan), 0); /* a scheduled job that never ran is due now */
    /* old started before the 00:00 tick; recent after it; india (UTC+05:30) ticks at
     * 00:30 UTC, after it started; waits started before the tick, and its run for
     * the tick was skipped (a dependency failed): the tick still counts. */
    record_run(&f, &plan, "old", RUN_SUCCEEDED, MIDNIGHT - 10 * MIN, MIDNIGHT - 9 * MIN);
    record_run(&f, &plan, "waits", RUN_SUCCEEDED, MIDNIGHT - 10 * MIN, MIDNIGHT - 9 * MIN);
    record_run(&f, &plan, "waits", RUN_SKIPPED, MIDNIGHT + 5 * MIN, MIDNIGHT + 5 * MIN);
    record_run(&f, &plan, "recent", RUN_SUCCEEDED, MIDNIGHT + 10 * MIN, MIDNIGHT + 11 * MIN);
    record_run(&f, &plan, "india", RUN_SUCCEEDED, MIDNIGHT + 10 * MIN, MIDNIGHT + 11 * MIN);
    plan_release(&plan);

    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "india(schedule) old(schedule) waits(schedule)");
        CHECK_WHY(&f, &plan, "old",
                  "schedule: '0 * * * *' ticked at 2030-01-01 00:00:00 +00:00 UTC, after the "
                  "last run started");
        CHECK_WHY(&f, &plan, "india",
                  "schedule: '0 * * * *' ticked at 2030-01-01 06:00:00 +05:30 Asia/Kolkata, "
                  "after the last run started");
        CHECK_WHY(&f, &plan, "waits",
                  "schedule: '0 * * * *' ticked at 2030-01-01 00:00:00 +00:00 UTC, after the "
                  "last run started");
        const struct plan_job *waits = job_of(&f, &plan, "waits");
        if (waits) {
            CHECK_STR(run_status_name(waits->last.status), "skipped");
            CHECK_INT(waits->schedule_from, MIDNIGHT - 10 * MIN);
        }
        /* The earliest tick after a last start: old's, already passed. */
        CHECK_INT(plan_next_tick(&plan), MIDNIGHT);
    }
    plan_release(&plan);
    if (plan_at(&f, &plan, "recent", false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK_INT(plan_next_tick(&plan), MIDNIGHT + HOUR);
    }
    plan_release(&plan);
    /* At the next tick, recent is due too. */
    if (plan_at(&f, &plan, "recent", false, MIDNIGHT + HOUR)) {
        CHECK_DUE(&f, &plan, "recent(schedule)");
        CHECK_WHY(&f, &plan, "recent",
                  "schedule: '0 * * * *' ticked at 2030-01-01 01:00:00 +00:00 UTC, after the "
                  "last run started");
    }
    plan_release(&plan);
    /* Ticks missed over a long stop give one reason, for the first of them. */
    if (plan_at(&f, &plan, "old", false, NOW + 2 * DAY)) {
        CHECK_DUE(&f, &plan, "old(schedule)");
        CHECK_WHY(&f, &plan, "old",
                  "schedule: '0 * * * *' ticked at 2030-01-01 00:00:00 +00:00 UTC, after the "
                  "last run started");
    }
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_upstream_changed_and_failed)
{
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, write_chain()))
        return;
    record_run(&f, &plan, "c", RUN_SUCCEEDED, NOW - 40 * MIN, NOW - 39 * MIN);
    int64_t b_run = record_run(&f, &plan, "b", RUN_SUCCEEDED, NOW - 38 * MIN, NOW - 37 * MIN);
    record_run(&f, &plan, "a", RUN_SUCCEEDED, NOW - 36 * MIN, NOW - 35 * MIN);
    record_run(&f, &plan, "d", RUN_SUCCEEDED, NOW - 36 * MIN, NOW - 35 * MIN);
    /* c succeeds again after b's success started; d fails after its success. */
    int64_t c_again = record_run(&f, &plan, "c", RUN_SUCCEEDED, NOW - 20 * MIN, NOW - 19 * MIN);
    int64_t failed = record_run(&f, &plan, "d", RUN_FAILED, NOW - 15 * MIN, NOW - 14 * MIN);
    plan_release(&plan);

    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "b(upstream-changed) a(upstream-due) d(failed)");
        /* c declares no outputs: each success of it is a change. */
        char *want = xprintf("upstream-changed: 'c' succeeded again (run %lld) since run %lld; "
                             "it declares no outputs, so each success counts as a change",
                             (long long)c_again, (long long)b_run);
        CHECK_WHY(&f, &plan, "b", want);
        free(want);
        want = xprintf("failed: the last run (%lld) failed at 2030-01-01 00:26:00 +00:00",
                       (long long)failed);
        CHECK_WHY(&f, &plan, "d", want);
        free(want);
    }
    plan_release(&plan);
    close_fixture(&f);
}

/* Early cutoff: a dependency that reran and left the same outputs changes nothing;
 * one that runs now makes its dependents wait, to be dropped if it leaves the same. */
UNIT_TEST(plan_early_cutoff_on_unchanged_outputs)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/ingest.py", "\"inputs\": [\"raw.csv\"], \"outputs\": [\"clean.csv\"]", t);
    write_job(root, "src/report.py", "\"dependencies\": [\"ingest\"]", t);
    write_at(root, "raw.csv", "1,2\n", t);
    write_at(root, "clean.csv", "1\n", t);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    record_run(&f, &plan, "ingest", RUN_SUCCEEDED, NOW - 50 * MIN, NOW - 49 * MIN);
    record_run(&f, &plan, "report", RUN_SUCCEEDED, NOW - 48 * MIN, NOW - 47 * MIN);
    /* ingest runs again (forced) and leaves clean.csv as it was. */
    record_run(&f, &plan, "ingest", RUN_SUCCEEDED, NOW - 30 * MIN, NOW - 29 * MIN);
    plan_release(&plan);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK(!job_of(&f, &plan, "report")->cutoff);
    }
    plan_release(&plan);
    /* Its input changes: report waits for it, and may be dropped. */
    write_at(root, "raw.csv", "1,2,3\n", NOW - HOUR / 2);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "ingest(input-changed) report(upstream-due)");
        CHECK(!job_of(&f, &plan, "ingest")->cutoff);
        CHECK(job_of(&f, &plan, "report")->cutoff);
    }
    plan_release(&plan);
    close_fixture(&f);
}

/* A scheduled job runs at its ticks: what it depends on changing, or its own code,
 * waits for the next tick, unless "on" includes "change". */
UNIT_TEST(plan_scheduled_jobs_hold_changes_until_their_tick)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/feed.py", "", t);
    write_job(root, "src/weekly.py",
              "\"dependencies\": [\"feed\"], \"schedule\": \"0 7 * * MON\", \"timezone\": "
              "\"UTC\"",
              t);
    write_job(root, "src/both.py",
              "\"dependencies\": [\"feed\"], \"schedule\": \"0 7 * * MON\", \"timezone\": "
              "\"UTC\", \"on\": [\"schedule\", \"change\"]",
              t);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    CHECK_DUE(&f, &plan, "feed(never-run) both(never-run,upstream-due) weekly(never-run)");
    CHECK_INT(job_policy(&f.project.graph.jobs.items[graph_find(&f.project.graph, "weekly")]),
              POLICY_SCHEDULED);
    CHECK_STR(job_policy_text(&f.project.graph.jobs.items[graph_find(&f.project.graph, "both")]),
              "scheduled and on change");
    CHECK_STR(job_policy_text(&f.project.graph.jobs.items[graph_find(&f.project.graph, "feed")]),
              "derived");
    succeed_in_order(&f, &plan, NOW - 20 * MIN);
    /* feed runs again (forced): weekly waits for Monday, both follows. */
    record_run(&f, &plan, "feed", RUN_SUCCEEDED, NOW - 5 * MIN, NOW - 4 * MIN);
    plan_release(&plan);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "both(upstream-changed)");
        const struct plan_job *w = job_of(&f, &plan, "weekly");
        CHECK_INT(w->held_back.len, 1);
        CHECK_INT(w->held_back.items[0].kind, REASON_UPSTREAM_CHANGED);
    }
    plan_release(&plan);
    /* A failed scheduled run is retried by its retries, otherwise at the next tick; one
     * interrupted runs again. */
    if (plan_at(&f, &plan, "weekly", false, NOW)) {
        record_run(&f, &plan, "weekly", RUN_FAILED, NOW - 3 * MIN, NOW - 2 * MIN);
        plan_release(&plan);
    }
    if (plan_at(&f, &plan, "weekly", false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK(reasons_have(&job_of(&f, &plan, "weekly")->held_back, REASON_FAILED));
    }
    plan_release(&plan);
    if (plan_at(&f, &plan, "weekly", false, NOW)) {
        record_run(&f, &plan, "weekly", RUN_INTERRUPTED, NOW - MIN, NOW - MIN / 2);
        plan_release(&plan);
    }
    if (plan_at(&f, &plan, "weekly", false, NOW))
        /* (What was held back comes along: the run picks it up.) */
        CHECK_DUE(&f, &plan, "weekly(failed,upstream-changed)");
    plan_release(&plan);
    /* Monday 2030-01-07 07:00 UTC ticks. */
    if (plan_at(&f, &plan, "weekly", false, MIDNIGHT + 6 * DAY + 7 * HOUR))
        CHECK_DUE(&f, &plan, "weekly(failed,schedule,upstream-changed)");
    plan_release(&plan);
    close_fixture(&f);
}

/* A scheduled job that has only failed so far waits for its next tick too: it ran. */
UNIT_TEST(plan_scheduled_job_that_only_failed_waits_for_its_tick)
{
    char *root = project_root();
    write_job(root, "src/wk.py", "\"schedule\": \"0 7 * * MON\", \"timezone\": \"UTC\"", NOW - DAY);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    CHECK_DUE(&f, &plan, "wk(never-run)");
    record_run(&f, &plan, "wk", RUN_FAILED, NOW - 10 * MIN, NOW - 9 * MIN);
    plan_release(&plan);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        const struct plan_job *pj = job_of(&f, &plan, "wk");
        CHECK(reasons_have(&pj->held_back, REASON_NEVER_RUN));
        CHECK(reasons_have(&pj->held_back, REASON_FAILED));
    }
    plan_release(&plan);
    close_fixture(&f);
}

/* An on-demand job never runs on its own; a job that runs pulls it in when the make
 * rule holds for it, through on-demand jobs it needs in turn. */
UNIT_TEST(plan_on_demand_jobs_run_when_pulled)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/raw.py", "\"on\": \"demand\", \"inputs\": [\"in.csv\"]", t);
    write_job(root, "src/mid.py", "\"on\": \"demand\", \"dependencies\": [\"raw\"]", t);
    write_job(root, "src/top.py", "\"dependencies\": [\"mid\"], \"inputs\": [\"top.cfg\"]", t);
    write_job(root, "src/alone.py", "\"on\": \"demand\"", t);
    write_at(root, "in.csv", "1\n", t);
    write_at(root, "top.cfg", "a\n", t);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    CHECK_DUE(&f, &plan, "raw(never-run) mid(never-run,upstream-due) top(never-run,upstream-due)");
    CHECK(job_of(&f, &plan, "mid")->pulled_by == (size_t)graph_find(&f.project.graph, "top"));
    CHECK(job_of(&f, &plan, "alone")->held_back.len == 1);
    succeed_in_order(&f, &plan, NOW - 20 * MIN);
    plan_release(&plan);
    /* raw's input changes: nothing needs raw now, so nothing runs. */
    write_at(root, "in.csv", "2\n", NOW - HOUR / 2);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "");
        CHECK_INT(job_of(&f, &plan, "raw")->held_back.len, 1);
        CHECK_INT(job_of(&f, &plan, "mid")->held_back.len, 0);
    }
    plan_release(&plan);
    /* top's own input changes: it pulls mid, whose need is raw's. */
    write_at(root, "top.cfg", "b\n", NOW - HOUR / 2);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan,
                  "raw(input-changed) mid(upstream-due) top(input-changed,upstream-due)");
        CHECK(job_of(&f, &plan, "mid")->cutoff);
        CHECK(!job_of(&f, &plan, "top")->cutoff);
    }
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_outputs_changed_or_missing)
{
    char *root = project_root();
    int64_t t = NOW - DAY;
    write_job(root, "src/write.py", "\"outputs\": [\"out/r.txt\"]", t);
    write_at(root, "out/r.txt", "report\n", t);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    CHECK_DUE(&f, &plan, "write(never-run)");
    CHECK_STR(plan.jobs[0].missing_output, NULL);
    int64_t run = record_run(&f, &plan, "write", RUN_SUCCEEDED, NOW - 20 * MIN, NOW - 19 * MIN);
    plan_release(&plan);

    if (plan_at(&f, &plan, NULL, false, NOW))
        CHECK_DUE(&f, &plan, "");
    plan_release(&plan);
    /* Someone else's edit of the output. */
    write_at(root, "out/r.txt", "REPORT\n", NOW - 10 * MIN);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "write(output-changed)");
        char *want = xprintf("output-changed: out/r.txt changed since run %lld", (long long)run);
        CHECK_WHY(&f, &plan, "write", want);
        free(want);
    }
    plan_release(&plan);
    char *out = xprintf("%s/out/r.txt", root);
    CHECK(unlink(out) == 0);
    free(out);
    if (plan_at(&f, &plan, NULL, false, NOW)) {
        CHECK_DUE(&f, &plan, "write(output-missing)");
        CHECK_WHY(&f, &plan, "write", "output-missing: output 'out/r.txt' is gone");
        CHECK_STR(plan.jobs[0].missing_output, "out/r.txt");
    }
    plan_release(&plan);
    close_fixture(&f);
}

UNIT_TEST(plan_hashes_a_racily_new_file_again)
{
    /* An input changed within two seconds of being hashed may change again in the same
     * timestamp tick with its stat data unmoved: its hash is remembered so that the
     * next look reads it again. One changed long before is trusted by its stat data. */
    char *root = project_root();
    write_job(root, "src/load.py", "\"inputs\": [\"data/new.csv\", \"data/old.csv\"]", NOW - DAY);
    write_at(root, "data/new.csv", "new\n", NOW - 1000);
    write_at(root, "data/old.csv", "old\n", NOW - DAY);
    struct fixture f;
    struct plan plan;
    if (!first_plan(&f, &plan, root))
        return;
    plan_release(&plan);
    struct store_file racy = {0}, settled = {0};
    CHECK_INT(store_file_get(f.store, "data/new.csv", &racy), 1);
    CHECK_INT(store_file_get(f.store, "data/old.csv", &settled), 1);
    CHECK_INT(racy.mtime_ns, -1);
    CHECK_INT(settled.mtime_ns, (NOW - DAY) * 1000000);
    free(racy.path);
    free(settled.path);
    close_fixture(&f);
}
