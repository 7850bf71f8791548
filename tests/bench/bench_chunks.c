/* bench_chunks.c: planning the original Stau's chunk graph (stau-bench-chunks).
 *
 *   stau-bench-chunks [--ids N] [--sizes uniform|mixed] [--runs N] [--slots N]
 *                     [--project DIR]
 *
 * The project (SPEC §7, original form, in a fresh temporary folder per run): a
 * master with a timetable entry whose kwargs_func gives N work IDs (default 10,000,
 * shuffled: the engine sorts them) and chunk_size 10, above 20 chunked jobs without
 * timetable entries (on demand, pulled in by the master's max_lag edges, each
 * ReportDependencies(..., 60)): a chain of six, a fan-out of four joining again
 * (fan-in) in one job, two diamonds, and the chain joining the bottom job; 26 edges.
 * --sizes uniform (default): every job chunk_size 10 (the goal); mixed: 10,
 * 7, 25 and 100 among them (the master keeps 10).
 *
 * Each run, in a child process of its own (so that its peak RSS is its own):
 *   load_cold  project_load on the new folder (no cache yet) + plan_build on a new
 *              SQLite state database (every job due: never run);
 *   load_warm  project_release, then project_load again (the cache the first load
 *              wrote) + plan_build: as a later `stau` finds it;
 *   submit     engine_submit (the claims of the jobs claimed ahead, the chunk-edge
 *              analysis of engine_plan_graph);
 *   graph      from before engine_submit to the moment every due job has its chunk
 *              tasks, linked (engine_link_chunks): the engine driven by engine_step
 *              with a fake process runner and clock as tests/unit/test_engine.c drives
 *              it, and that moment read when the engine first waits for a process
 *              event with every due job's tasks made. The fake processes never end
 *              while it is measured, so the work in it is the planning (and the
 *              starts the slot budget allows, --slots, default 2: those start as soon
 *              as the bottom job's chunks exist, as with real processes).
 *   rss        peak RSS (getrusage) after load_warm and at the end.
 * The project, the plan, the state database and the recorder are real; only the
 * processes and the clocks are fakes. The counts are checked against the graph:
 * tasks (ceil(N / chunk_size) per job) and chunk edges (per edge, the distinct pairs
 * of chunks sharing an ID); a mismatch fails the run. To count them the benchmark
 * reads the engine's state (engine_internal.h); it changes nothing in it.
 *
 * STAU_BENCH_PERF_CTL and STAU_BENCH_PERF_ACK (fifos; see perf_control) let perf record
 * the graph phase alone (tests/bench/bench_chunks.sh --profile).
 *
 * --project DIR writes the project into DIR (it must not exist) and exits, to look at
 * it with `stau -n -C DIR` or `stau dot --chunks master -C DIR`.
 *
 * Prints one line, key=value pairs separated by spaces: sizes ids jobs tasks
 * chunk_edges steps (engine_step calls up to the moment) runs, then the medians
 * load_cold_ms load_warm_ms submit_ms graph_ms, the least graph_min_ms, the median of
 * graph_cpu_ms (the process's CPU time over graph, the recorder's thread too: less
 * moved by other work on the machine than the wall time), each run's graph wall times
 * as graph_runs_ms (a,b,c), the largest rss_plan_kb rss_kb, and the engine's calls of
 * the state database over graph (the first run's): store_claim store_work_done
 * store_begin_runs store_apply (the recorder's own connection is not counted).
 * Exits 1 on any failure, with its message on stderr.
 */
#include "engine_internal.h"
#include "project.h"
#include "recorder.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdatomic.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { JOBS = 21, MAX_DEPS = 4, MAX_RUNS = 64 };

/* One job of the graph: its name, its chunk sizes (uniform, mixed) and what it needs. */
struct bench_job {
    const char *name;
    int size_uniform, size_mixed;
    const char *deps[MAX_DEPS + 1];
};

/* The master first; dependencies are named, never cyclic. */
static const struct bench_job graph[JOBS] = {
    {"master", 10, 10, {"d01", "d02", "d03"}},
    /* a chain: d01 -> d04 -> ... -> d08, joining the bottom job */
    {"d01", 10, 10, {"d04"}},
    {"d04", 10, 25, {"d05"}},
    {"d05", 10, 100, {"d06"}},
    {"d06", 10, 7, {"d07"}},
    {"d07", 10, 10, {"d08"}},
    {"d08", 10, 25, {"d20"}},
    /* a fan-out of four, joining again in d13 */
    {"d02", 10, 7, {"d09", "d10", "d11", "d12"}},
    {"d09", 10, 10, {"d13"}},
    {"d10", 10, 25, {"d13"}},
    {"d11", 10, 100, {"d13"}},
    {"d12", 10, 7, {"d13"}},
    /* d03 reaches d13 too, and a short branch */
    {"d03", 10, 25, {"d13", "d14"}},
    {"d14", 10, 100, {"d15"}},
    {"d15", 10, 10, {NULL}},
    /* below d13: a diamond, then the bottom */
    {"d13", 10, 10, {"d16"}},
    {"d16", 10, 25, {"d17", "d18"}},
    {"d17", 10, 10, {"d19"}},
    {"d18", 10, 7, {"d19"}},
    {"d19", 10, 10, {"d20"}},
    {"d20", 10, 10, {NULL}},
};

struct options {
    size_t ids;
    bool mixed;
    int runs;
    size_t slots;
    const char *project; /* --project: write it there and exit */
};

/* What one run measured (sent from the child through a pipe). */
struct result {
    double load_cold_ms, load_warm_ms, submit_ms, graph_ms;
    double graph_cpu_ms; /* the process's CPU time over graph (its threads: the recorder's too) */
    long rss_plan_kb, rss_kb;
    size_t tasks, edges, steps;
    long claims, work_dones, begins, applies; /* store calls over graph */
};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: stau-bench-chunks [--ids N] [--sizes uniform|mixed] [--runs N] "
                    "[--slots N] [--project DIR]\n");
    exit(2);
}

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "stau-bench-chunks: %s\n", what);
    exit(1);
}

static void parse(int argc, char **argv, struct options *o)
{
    *o = (struct options){.ids = 10000, .runs = 5, .slots = 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--ids") == 0)
            o->ids = (size_t)atol(v);
        else if (strcmp(a, "--sizes") == 0 && strcmp(v, "uniform") == 0)
            o->mixed = false;
        else if (strcmp(a, "--sizes") == 0 && strcmp(v, "mixed") == 0)
            o->mixed = true;
        else if (strcmp(a, "--runs") == 0)
            o->runs = atoi(v);
        else if (strcmp(a, "--slots") == 0)
            o->slots = (size_t)atol(v);
        else if (strcmp(a, "--project") == 0)
            o->project = v;
        else
            usage();
    }
    if (o->ids < 1 || o->runs < 1 || o->runs > MAX_RUNS || o->slots < 1)
        usage();
}

static int chunk_size(const struct options *o, size_t j)
{
    return o->mixed ? graph[j].size_mixed : graph[j].size_uniform;
}

static size_t job_index(const char *name)
{
    for (size_t j = 0; j < JOBS; j++)
        if (strcmp(graph[j].name, name) == 0)
            return j;
    die("the benchmark's graph names an unknown job");
}

static size_t gcd(size_t a, size_t b)
{
    while (b) {
        size_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* The n-th of the master's work IDs, in the timetable's (unsorted) order: a
 * permutation of 0..count-1 (a step prime to count), offset so that the IDs look like
 * database keys. */
static int64_t work_id(size_t n, size_t count)
{
    size_t step = 7331;
    while (gcd(step, count) != 1)
        step++;
    return 100000 + (int64_t)((n * step) % count);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    char *path = xprintf("%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        char *msg = xprintf("cannot write %s: %s", path, strerror(errno));
        die(msg);
    }
    free(path);
}

/* The project in the original form, in dir (which exists). */
static void write_project(const char *dir, const struct options *o)
{
    char *src = xprintf("%s/src", dir);
    if (mkdir(src, 0755) < 0)
        die("cannot make the project's src folder");
    free(src);
    write_text(dir, "src/utils.py",
               "def ReportConfig(*args, **kwargs):\n    return args, kwargs\n\n\n"
               "def ReportDependencies(*args, **kwargs):\n    return args, kwargs\n");
    for (size_t j = 0; j < JOBS; j++) {
        const struct bench_job *b = &graph[j];
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb,
                    "from utils import ReportConfig, ReportDependencies\n\n"
                    "STAU_CONFIG = ReportConfig(job_type=\"%s\", chunk_size=%d, dependencies=[",
                    b->name, chunk_size(o, j));
        for (size_t k = 0; b->deps[k]; k++)
            strbuf_addf(&sb, "%sReportDependencies(\"%s\", 60)", k ? ", " : "", b->deps[k]);
        strbuf_addf(&sb, "],\n                           main_func=\"%s_func\")\n\n\n", b->name);
        if (j == 0)
            strbuf_addstr(&sb, "def select_work(**kwargs):\n    raise RuntimeError(\"not asked: "
                               "the timetable gives the work IDs\")\n\n\n");
        strbuf_addf(&sb, "def %s_func(work_ids, **kwargs):\n    pass\n", b->name);
        char *rel = xprintf("src/%s.py", b->name);
        write_text(dir, rel, sb.buf);
        free(rel);
        strbuf_release(&sb);
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addstr(&sb, "recurring_jobs = [\n"
                       "    {\"id\": \"m\", \"name\": \"master\", \"trigger\": "
                       "CronTrigger(minute=\"*/20\"),\n"
                       "     \"kwargs_stau_api\": {\"jobType\": \"master\", \"kwargs_func\": "
                       "{\"region\": \"eu\", \"work_ids\": [");
    for (size_t n = 0; n < o->ids; n++)
        strbuf_addf(&sb, "%s%lld", n ? (n % 16 ? ", " : ",\n        ") : "",
                    (long long)work_id(n, o->ids));
    strbuf_addstr(&sb, "]}}},\n]\n");
    write_text(dir, "src/stau_schedule.py", sb.buf);
    strbuf_release(&sb);
}

/* What the graph must make: tasks, and chunk edges (per edge, the distinct pairs of
 * chunks sharing an ID: every job gets all the master's IDs, so ID n in sorted order is
 * in chunk n / size of each). */
static void expected_counts(const struct options *o, size_t *tasks, size_t *edges)
{
    *tasks = *edges = 0;
    for (size_t j = 0; j < JOBS; j++) {
        size_t sw = (size_t)chunk_size(o, j);
        *tasks += (o->ids + sw - 1) / sw;
        for (size_t k = 0; graph[j].deps[k]; k++) {
            size_t su = (size_t)chunk_size(o, job_index(graph[j].deps[k]));
            size_t last_w = SIZE_MAX, last_u = SIZE_MAX;
            for (size_t n = 0; n < o->ids; n++) {
                /* Both chunk numbers only grow with n: a new pair is a change of either. */
                if (n / sw != last_w || n / su != last_u)
                    (*edges)++;
                last_w = n / sw;
                last_u = n / su;
            }
        }
    }
}

/* ---- the fake runner and clock (as tests/unit/test_engine.c's) ---- */

struct fake {
    int64_t wall, mono; /* the clocks (ms) */
    int next_pid;
    size_t started;
    struct engine *engine;
    double made_at;  /* now_ms() when the engine first waited with every chunk made; 0: not yet */
    double made_cpu; /* cpu_ms() then */
};

static int64_t fake_wall(void *ctx)
{
    return ((struct fake *)ctx)->wall;
}

static int64_t fake_mono(void *ctx)
{
    return ((struct fake *)ctx)->mono;
}

static int fake_start(void *ctx, const struct proc_spec *spec, struct proc *out, struct strbuf *err)
{
    struct fake *f = ctx;
    (void)err;
    (void)spec;
    memset(out, 0, sizeof(*out));
    out->pid = ++f->next_pid;
    out->start_ms = f->mono;
    f->started++;
    return 0;
}

static void fake_add(void *ctx, struct proc *proc)
{
    (void)ctx;
    (void)proc;
}

/* Whether every due job of the engine's one submission has its tasks. */
static bool all_made(const struct engine *e)
{
    if (e->subs.len != 1)
        return false;
    const struct submission *sub = e->subs.items[0];
    for (size_t k = 0; k < sub->due_count; k++)
        if (!sub->due[k].had_tasks)
            return false;
    return true;
}

/* No process ever ends while the graph is measured: the clock moves to the deadline. */
static int fake_wait(void *ctx, int64_t deadline_ms, struct proc_event *ev)
{
    struct fake *f = ctx;
    if (!f->made_at && f->engine && all_made(f->engine)) {
        f->made_at = now_ms();
        f->made_cpu = cpu_ms();
    }
    memset(ev, 0, sizeof(*ev));
    if (deadline_ms >= 0 && deadline_ms > f->mono) {
        f->wall += deadline_ms - f->mono;
        f->mono = deadline_ms;
    }
    ev->kind = deadline_ms >= 0 ? PROC_EVENT_DEADLINE : PROC_EVENT_IDLE;
    return 0;
}

static int fake_terminate_all(void *ctx, int64_t grace_ms)
{
    (void)ctx;
    (void)grace_ms;
    return 0;
}

static int fake_terminate(void *ctx, struct proc *proc, int64_t grace_ms)
{
    (void)ctx;
    (void)proc;
    (void)grace_ms;
    return 0;
}

/* With STAU_BENCH_PERF_CTL (perf record --control fifo:CTL,ACK), the profile covers the
 * graph phases only: "enable" before engine_submit, "disable" after (and at the start). */
static void perf_control(const char *cmd)
{
    const char *ctl = getenv("STAU_BENCH_PERF_CTL");
    const char *ack = getenv("STAU_BENCH_PERF_ACK");
    if (!ctl || !*ctl)
        return;
    FILE *f = fopen(ctl, "w");
    if (!f || fprintf(f, "%s\n", cmd) < 0 || fclose(f) != 0)
        die("STAU_BENCH_PERF_CTL: cannot write to perf's control fifo");
    if (ack && *ack) {
        /* perf answers "ack" once the events are switched. */
        char buf[16];
        FILE *a = fopen(ack, "r");
        if (!a || !fgets(buf, sizeof(buf), a))
            die("STAU_BENCH_PERF_ACK: no answer from perf");
        fclose(a);
    }
}

/* ---- the state database's calls, counted (the engine's store, wrapped) ---- */

static const struct store_ops *real_ops;
static struct store_ops counted_ops;
static atomic_long calls_claim, calls_work_done, calls_begin_runs, calls_apply;

static int counted_claim(struct store *st, struct store_claim *claims, size_t count, int64_t now,
                         store_holder_live_fn *live, void *ctx)
{
    calls_claim++;
    return real_ops->claim(st, claims, count, now, live, ctx);
}

static int counted_work_done(struct store *st, struct work_done_ask *asks, size_t n)
{
    calls_work_done++;
    return real_ops->work_done(st, asks, n);
}

static int counted_begin_runs(struct store *st, const struct run_record *runs, size_t count,
                              int64_t now, int64_t *ids)
{
    calls_begin_runs++;
    return real_ops->begin_runs(st, runs, count, now, ids);
}

static int counted_apply(struct store *st, const struct store_change *changes, size_t count,
                         const struct store_file *files, size_t file_count, int64_t now)
{
    calls_apply++;
    return real_ops->apply(st, changes, count, files, file_count, now);
}

/* Count the calls the engine makes on st from now on (those of the kinds above by name;
 * the rest are not told apart). */
static void count_store_calls(struct store *st)
{
    real_ops = st->ops;
    counted_ops = *real_ops;
    counted_ops.claim = counted_claim;
    counted_ops.work_done = counted_work_done;
    counted_ops.begin_runs = counted_begin_runs;
    counted_ops.apply = counted_apply;
    st->ops = &counted_ops;
}

#define START_MS 1893456000000LL /* 2030-01-01 00:00:00 UTC */

static void load_and_plan(struct project *p, struct plan *plan, struct store *st, const char *root)
{
    struct project_options po = {root, NULL, 1};
    if (project_load(p, &po) < 0 || p->diags.errors)
        die("the project does not load without errors");
    struct plan_options plan_opt = {.now = START_MS};
    if (plan_build(plan, p, st, &plan_opt) < 0)
        die("plan_build failed");
    if (plan->order.len != JOBS)
        die("the plan does not have every job of the graph due");
}

/* One run, in the child: measure, check, write the result to fd. */
static void one_run(const struct options *o, const char *root, int fd)
{
    struct result r = {0};
    write_project(root, o);
    char *db = xprintf("%s/state.db", root);
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(db, NULL, &err);
    if (!st)
        die(strbuf_str(&err));
    free(db);

    struct project project;
    struct plan plan;
    double t0 = now_ms();
    load_and_plan(&project, &plan, st, root);
    r.load_cold_ms = now_ms() - t0;
    plan_release(&plan);
    project_release(&project);
    t0 = now_ms();
    load_and_plan(&project, &plan, st, root);
    r.load_warm_ms = now_ms() - t0;
    r.rss_plan_kb = peak_rss_kb();

    struct fake fake = {.wall = START_MS, .mono = 1000};
    struct recorder *recorder = recorder_new(root, st);
    struct owner self;
    owner_self(&self);
    struct engine_config cfg = {
        .store = st,
        .recorder = recorder,
        .owner = &self,
        .clock = {.wall_ms = fake_wall, .mono_ms = fake_mono, .ctx = &fake},
        .procs = {.start = fake_start,
                  .add = fake_add,
                  .wait = fake_wait,
                  .terminate_all = fake_terminate_all,
                  .terminate = fake_terminate,
                  .ctx = &fake},
        .slots = o->slots,
        .claim_ahead = true, /* as a one-off stau */
        .python = "python3",
        .watch_fd = -1,
    };
    struct engine *e = engine_new(&cfg);
    if (!e)
        die("engine_new failed");
    fake.engine = e;
    count_store_calls(st);
    perf_control("enable");
    double c0 = cpu_ms();
    t0 = now_ms();
    if (engine_submit(e, &project, &plan, &(struct engine_submit_options){0}) < 0)
        die("engine_submit failed");
    r.submit_ms = now_ms() - t0;
    for (r.steps = 0; !fake.made_at && r.steps < 10000; r.steps++)
        engine_step(e, -1);
    if (!fake.made_at)
        die("the engine did not make every job's chunks within 10,000 steps");
    r.graph_ms = fake.made_at - t0;
    r.graph_cpu_ms = fake.made_cpu - c0;
    perf_control("disable");
    r.claims = calls_claim;
    r.work_dones = calls_work_done;
    r.begins = calls_begin_runs;
    r.applies = calls_apply;
    r.rss_kb = peak_rss_kb();

    for (size_t i = 0; i < e->tasks.len; i++) {
        const struct task *t = e->tasks.items[i];
        r.tasks++;
        r.edges += t->unblocks.len;
    }
    size_t want_tasks, want_edges;
    expected_counts(o, &want_tasks, &want_edges);
    if (r.tasks != want_tasks || r.edges != want_edges) {
        char *msg = xprintf("the engine made %zu tasks and %zu chunk edges; the graph has %zu "
                            "and %zu",
                            r.tasks, r.edges, want_tasks, want_edges);
        die(msg);
    }
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        die("cannot report to the parent");
    /* The engine, the recorder and the store are left to the exit: tearing down 21,000
     * unfinished chunks is no part of what is measured. */
    strbuf_release(&err);
    _exit(0);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, (size_t)n * sizeof(*v));
    qsort(s, (size_t)n, sizeof(*s), by_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double least(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

int main(int argc, char **argv)
{
    struct options o;
    parse(argc, argv, &o);
    if (o.project) {
        if (mkdir(o.project, 0755) < 0)
            die("--project: cannot make the folder (it must not exist)");
        write_project(o.project, &o);
        return 0;
    }
    /* (perf starts enabled, so that it sees the program's mappings: off until the first
     * graph phase.) */
    perf_control("disable");
    const char *tmp = getenv("TMPDIR");
    struct result res[MAX_RUNS];
    for (int run = 0; run < o.runs; run++) {
        char *root = xprintf("%s/stau-bench-chunks.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(root))
            die("cannot make a temporary folder");
        int pipefd[2];
        if (pipe(pipefd) < 0)
            die("pipe failed");
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            die("fork failed");
        if (pid == 0) {
            close(pipefd[0]);
            one_run(&o, root, pipefd[1]);
        }
        close(pipefd[1]);
        ssize_t got = read(pipefd[0], &res[run], sizeof(res[run]));
        close(pipefd[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(root);
        if (got != (ssize_t)sizeof(res[run]) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            exit(1); /* the child said why */
    }
    double cold[MAX_RUNS], warm[MAX_RUNS], submit[MAX_RUNS], made[MAX_RUNS], made_cpu[MAX_RUNS];
    long rss_plan = 0, rss = 0;
    for (int i = 0; i < o.runs; i++) {
        cold[i] = res[i].load_cold_ms;
        warm[i] = res[i].load_warm_ms;
        submit[i] = res[i].submit_ms;
        made[i] = res[i].graph_ms;
        made_cpu[i] = res[i].graph_cpu_ms;
        if (res[i].rss_plan_kb > rss_plan)
            rss_plan = res[i].rss_plan_kb;
        if (res[i].rss_kb > rss)
            rss = res[i].rss_kb;
    }
    printf("sizes=%s ids=%zu jobs=%d tasks=%zu chunk_edges=%zu steps=%zu runs=%d "
           "load_cold_ms=%.2f load_warm_ms=%.2f submit_ms=%.2f graph_ms=%.2f graph_min_ms=%.2f "
           "graph_cpu_ms=%.2f graph_runs_ms=",
           o.mixed ? "mixed" : "uniform", o.ids, JOBS, res[0].tasks, res[0].edges, res[0].steps,
           o.runs, median(cold, o.runs), median(warm, o.runs), median(submit, o.runs),
           median(made, o.runs), least(made, o.runs), median(made_cpu, o.runs));
    for (int i = 0; i < o.runs; i++)
        printf("%s%.2f", i ? "," : "", made[i]);
    printf(" rss_plan_kb=%ld rss_kb=%ld store_claim=%ld store_work_done=%ld store_begin_runs=%ld "
           "store_apply=%ld\n",
           rss_plan, rss, res[0].claims, res[0].work_dones, res[0].begins, res[0].applies);
    return 0;
}
