/* bench_claim.c: claim throughput of a state database (stau-bench-claim).
 *
 *   stau-bench-claim --db LOCATION [--schema S] [--procs N] [--seconds T | --runs N]
 *                    [--batch K] [--fresh]
 *
 * N processes (fork; default 4), each with its own store handle (store_open after the
 * fork), loop for T seconds (default 5) or until each recorded N runs: per iteration
 * they make the calls the engine makes for runs of trivial jobs, with no process
 * started:
 *
 *   store_claim of K jobs (exclusive, no upstreams, seen_version 0: each job is new,
 *       a distinct name per claim, as engine_claim builds them: owner, kwargs, code,
 *       config and inputs fingerprints, reasons, git commit);
 *   K = 1 (default): store_apply of one STORE_START (pid, inputs fingerprint, log,
 *       the evidence of its code), then store_apply of one STORE_FINISH (succeeded,
 *       exit 0, outputs fingerprint, archive path): three transactions per run, as
 *       a serve that claims one job per free slot and whose recorder finds one change
 *       in each 0.1 s window;
 *   K > 1 (batched): one store_apply of the K starts and K ends together, as the
 *       recorder writes whatever arrived within its window (up to 256 changes: K is
 *       at most 128), after a claim of K jobs at once (a one-off stau claims every
 *       due job in one store_claim).
 *
 * LOCATION is what store_open takes: an SQLite file, or a libpq URI (then --schema,
 * default "bench_claim"). --fresh removes the SQLite file (and its -wal/-shm), or
 * drops the schema, first. The database is opened once before the fork, so the
 * schema is made before the clock starts; each process opens it again after the
 * fork and waits for the others before starting.
 *
 * Prints one line, key=value pairs separated by spaces:
 *   backend procs batch runs seconds runs_per_s per_proc (runs of each process,
 *   a/b/c/d) round_trips_per_run (requests to the server per run, from
 *   store->round_trips; 0 for SQLite) claim_ms start_ms finish_ms apply_ms (mean
 *   wall time of one call, over all processes; start_ms/finish_ms with K = 1,
 *   apply_ms with K > 1) ping_ms (mean time of one store_generation, a one-row
 *   read: the floor of one round trip, measured alone after the run) verified
 *   (the runs recorded as succeeded in the database, read back after the run:
 *   must equal runs).
 * Exits 1 on any store failure, with its message on stderr.
 */
#include "lease.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_PROCS = 64, MAX_BATCH = 128 };

struct options {
    const char *db;
    const char *schema;
    int procs;
    double seconds;
    long runs; /* per process; 0: run for `seconds` */
    int batch;
    int fresh;
};

/* What one process reports to the parent (one line through a pipe). */
struct result {
    long runs;
    double elapsed;      /* seconds from the start signal to its last run */
    long long trips;     /* round trips during the loop */
    double claim_s, start_s, finish_s, apply_s; /* total time in each kind of call */
    long claims, starts, finishes, applies;     /* how many calls */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: stau-bench-claim --db LOCATION [--schema S] [--procs N] "
                    "[--seconds T | --runs N] [--batch K] [--fresh]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
    *o = (struct options){.schema = "bench_claim", .procs = 4, .seconds = 5, .batch = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--fresh") == 0) {
            o->fresh = 1;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--db") == 0)
            o->db = v;
        else if (strcmp(a, "--schema") == 0)
            o->schema = v;
        else if (strcmp(a, "--procs") == 0)
            o->procs = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = atof(v);
        else if (strcmp(a, "--runs") == 0)
            o->runs = atol(v);
        else if (strcmp(a, "--batch") == 0)
            o->batch = atoi(v);
        else
            usage();
    }
    if (!o->db || o->procs < 1 || o->procs > MAX_PROCS || o->batch < 1 || o->batch > MAX_BATCH ||
        (o->runs <= 0 && o->seconds <= 0))
        usage();
}

static struct store *open_or_die(const struct options *o)
{
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(o->db, o->schema, &err);
    if (!st) {
        fprintf(stderr, "stau-bench-claim: %s\n", strbuf_str(&err));
        exit(1);
    }
    strbuf_release(&err);
    return st;
}

static _Noreturn void store_died(struct store *st, const char *what)
{
    fprintf(stderr, "stau-bench-claim: pid %d: %s: %s\n", (int)getpid(), what, store_error(st));
    exit(1);
}

/* Strings that look like the engine's (32 hex digits per fingerprint, a reasons array,
 * a log path with a time, evidence lines). */
static const char code_fp[] = "6f1c2a9e0b7d4c3a8e5f1029b7c6d3e4";
static const char config_fp[] = "a41d9c07e2b5f3186d0c4e9a7b2f5d13";
static const char inputs_fp[] = "0e9b7c5a3f1d2e4c6a8b0d2f4e6c8a0b";
static const char outputs_fp[] = "c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3";
static const char reasons[] =
    "[{\"reason\":\"never-run\",\"evidence\":\"no successful run is recorded\"}]";
static const char git_commit[] = "9f2c4e6a8b0d1f3e5c7a9b1d3f5e7c9a1b3d5f7e";

static void child(const struct options *o, int index, int ready_fd, int go_fd, int result_fd)
{
    struct store *st = open_or_die(o);
    struct owner self;
    owner_self(&self);
    struct store_claim claims[MAX_BATCH];
    struct store_change changes[2 * MAX_BATCH];
    char names[MAX_BATCH][64], logs[MAX_BATCH][128], archives[MAX_BATCH][128],
        files[MAX_BATCH][160];
    struct result r = {0};
    /* Ready; then wait for the parent to close the go pipe. */
    char byte = 'r';
    if (write(ready_fd, &byte, 1) != 1)
        exit(1);
    close(ready_fd);
    while (read(go_fd, &byte, 1) < 0 && errno == EINTR)
        ;
    close(go_fd);
    long long trips0 = st->round_trips;
    double t0 = now_s(), deadline = t0 + o->seconds;
    long seq = 0;
    for (;;) {
        if (o->runs > 0 ? r.runs >= o->runs : now_s() >= deadline)
            break;
        int k = o->batch;
        if (o->runs > 0 && o->runs - r.runs < k)
            k = (int)(o->runs - r.runs);
        int64_t wall = wall_clock_ms();
        for (int i = 0; i < k; i++, seq++) {
            snprintf(names[i], sizeof(names[i]), "bench.p%02d.job_%07ld", index, seq);
            snprintf(logs[i], sizeof(logs[i]), ".stau/logs/%s.%lld.1.log", names[i],
                     (long long)wall);
            snprintf(files[i], sizeof(files[i]), "c\tsrc/bench/p%02d/job_%07ld.py\t%s\n", index,
                     seq, code_fp);
            claims[i] = (struct store_claim){
                .run = {.job = names[i],
                        .attempt = 1,
                        .status = RUN_QUEUED,
                        .host = self.host,
                        .owner_pid = self.pid,
                        .owner_start = self.start,
                        .git_commit = (char *)git_commit,
                        .kwargs_json = (char *)"{}",
                        .code_fingerprint = (char *)code_fp,
                        .config_fingerprint = (char *)config_fp,
                        .inputs_fingerprint = (char *)inputs_fp,
                        .reasons_json = (char *)reasons,
                        .exit_code = -1},
                .exclusive = true,
                .seen_version = 0,
            };
        }
        struct lease_judge judge = {&self, wall, lease_probe_system()};
        double c0 = now_s();
        if (store_claim(st, claims, (size_t)k, wall, lease_run_live, &judge) < 0)
            store_died(st, "store_claim");
        r.claim_s += now_s() - c0;
        r.claims++;
        for (int i = 0; i < k; i++) {
            if (claims[i].outcome != CLAIM_GOT) {
                fprintf(stderr, "stau-bench-claim: claim of new job %s was refused (outcome %d)\n",
                        names[i], (int)claims[i].outcome);
                exit(1);
            }
            snprintf(archives[i], sizeof(archives[i]), ".stau/archive/%s.%lld.tar.zst", names[i],
                     (long long)claims[i].id);
        }
        int64_t started = wall_clock_ms();
        for (int i = 0; i < k; i++) {
            changes[i] = (struct store_change){.kind = STORE_START,
                                               .id = claims[i].id,
                                               .at = started,
                                               .pid = 100000 + (int)(seq % 100000),
                                               .inputs_fingerprint = inputs_fp,
                                               .log_path = logs[i],
                                               .files = files[i]};
            changes[k + i] = (struct store_change){
                .kind = STORE_FINISH,
                .id = claims[i].id,
                .at = started + 1,
                .finish = {.status = RUN_SUCCEEDED,
                           .exit_code = 0,
                           .signal = 0,
                           .outputs_fingerprint = outputs_fp,
                           .archive_path = archives[i]}};
        }
        if (o->batch == 1) {
            double a0 = now_s();
            if (store_apply(st, &changes[0], 1, NULL, 0, started) != 0)
                store_died(st, "store_apply (start)");
            double a1 = now_s();
            if (store_apply(st, &changes[1], 1, NULL, 0, started + 1) != 0)
                store_died(st, "store_apply (finish)");
            r.start_s += a1 - a0;
            r.finish_s += now_s() - a1;
            r.starts++;
            r.finishes++;
        } else {
            double a0 = now_s();
            int rc = store_apply(st, changes, (size_t)(2 * k), NULL, 0, started + 1);
            if (rc != 0)
                store_died(st, rc < 0 ? "store_apply" : "store_apply: some changes not applied");
            r.apply_s += now_s() - a0;
            r.applies++;
        }
        r.runs += k;
    }
    r.elapsed = now_s() - t0;
    r.trips = st->round_trips - trips0;
    char line[512];
    int n = snprintf(line, sizeof(line), "%d %ld %.6f %lld %.6f %.6f %.6f %.6f %ld %ld %ld %ld\n",
                     index, r.runs, r.elapsed, r.trips, r.claim_s, r.start_s, r.finish_s,
                     r.apply_s, r.claims, r.starts, r.finishes, r.applies);
    if (write(result_fd, line, (size_t)n) != n)
        exit(1);
    store_close(st);
    exit(0);
}

/* Remove an SQLite file and its companions, or drop the schema. */
static void make_fresh(const struct options *o)
{
    if (store_location_is_server(o->db)) {
        struct strbuf err = STRBUF_INIT;
        if (store_pg_drop_schema(o->db, o->schema, &err) < 0) {
            fprintf(stderr, "stau-bench-claim: %s\n", strbuf_str(&err));
            exit(1);
        }
        strbuf_release(&err);
        return;
    }
    const char *path = strncmp(o->db, "sqlite:", 7) == 0 ? o->db + 7 : o->db;
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char *p = xprintf("%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
}

int main(int argc, char **argv)
{
    struct options o;
    parse(argc, argv, &o);
    if (o.fresh)
        make_fresh(&o);
    struct store *st = open_or_die(&o); /* makes the schema before the clock starts */
    bool server = st->kind == STORE_POSTGRES;
    store_close(st);

    int ready[2], go[2], results[2];
    if (pipe(ready) < 0 || pipe(go) < 0 || pipe(results) < 0) {
        perror("stau-bench-claim: pipe");
        return 1;
    }
    pid_t pids[MAX_PROCS];
    for (int i = 0; i < o.procs; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("stau-bench-claim: fork");
            return 1;
        }
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            close(results[0]);
            child(&o, i, ready[1], go[0], results[1]);
        }
    }
    close(ready[1]);
    close(go[0]);
    close(results[1]);
    /* Every process opened its handle: start them together. */
    for (int i = 0; i < o.procs; i++) {
        char byte;
        ssize_t got = read(ready[0], &byte, 1);
        if (got != 1) {
            fprintf(stderr, "stau-bench-claim: a process failed before starting\n");
            for (int k = 0; k < o.procs; k++)
                kill(pids[k], SIGKILL);
            return 1;
        }
    }
    double t0 = now_s();
    close(go[1]);
    int failed = 0;
    for (int i = 0; i < o.procs; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }
    double wall = now_s() - t0;
    struct strbuf text = STRBUF_INIT;
    if (strbuf_read_fd(&text, results[0]) < 0)
        failed = 1;
    close(results[0]);
    if (failed) {
        fprintf(stderr, "stau-bench-claim: a process failed\n");
        return 1;
    }
    struct result total = {0};
    long per[MAX_PROCS] = {0};
    int reported = 0;
    for (const char *line = strbuf_str(&text); *line;) {
        int index;
        struct result r;
        if (sscanf(line, "%d %ld %lf %lld %lf %lf %lf %lf %ld %ld %ld %ld", &index, &r.runs,
                   &r.elapsed, &r.trips, &r.claim_s, &r.start_s, &r.finish_s, &r.apply_s,
                   &r.claims, &r.starts, &r.finishes, &r.applies) == 12 &&
            index >= 0 && index < o.procs) {
            per[index] = r.runs;
            total.runs += r.runs;
            total.trips += r.trips;
            total.claim_s += r.claim_s;
            total.start_s += r.start_s;
            total.finish_s += r.finish_s;
            total.apply_s += r.apply_s;
            total.claims += r.claims;
            total.starts += r.starts;
            total.finishes += r.finishes;
            total.applies += r.applies;
            reported++;
        }
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : line + strlen(line);
    }
    strbuf_release(&text);
    if (reported != o.procs) {
        fprintf(stderr, "stau-bench-claim: %d of %d processes reported\n", reported, o.procs);
        return 1;
    }

    /* Afterwards, alone: the floor of one request, and the runs read back. */
    st = open_or_die(&o);
    enum { PINGS = 2000 };
    double p0 = now_s();
    for (int i = 0; i < PINGS; i++) {
        int64_t g;
        if (store_generation(st, &g) < 0)
            store_died(st, "store_generation");
    }
    double ping = (now_s() - p0) / PINGS;
    struct run_list all = {0};
    if (store_history(st, NULL, 0, &all) < 0)
        store_died(st, "store_history");
    long succeeded = 0;
    for (size_t i = 0; i < all.len; i++)
        succeeded += all.items[i].status == RUN_SUCCEEDED && all.items[i].finished_at > 0;
    run_list_release(&all);
    store_close(st);

    printf("backend=%s procs=%d batch=%d runs=%ld seconds=%.3f runs_per_s=%.1f per_proc=",
           server ? "postgres" : "sqlite", o.procs, o.batch, total.runs, wall,
           (double)total.runs / wall);
    for (int i = 0; i < o.procs; i++)
        printf("%s%ld", i ? "/" : "", per[i]);
    printf(" round_trips_per_run=%.2f claim_ms=%.3f start_ms=%.3f finish_ms=%.3f apply_ms=%.3f "
           "ping_ms=%.4f verified=%ld\n",
           total.runs ? (double)total.trips / (double)total.runs : 0.0,
           total.claims ? total.claim_s * 1000 / (double)total.claims : 0.0,
           total.starts ? total.start_s * 1000 / (double)total.starts : 0.0,
           total.finishes ? total.finish_s * 1000 / (double)total.finishes : 0.0,
           total.applies ? total.apply_s * 1000 / (double)total.applies : 0.0, ping * 1000,
           succeeded);
    return succeeded == total.runs ? 0 : 1;
}
