/* bench_work_done.c: reading the last success per job and work ID (stau-bench-work-done).
 *
 *   stau-bench-work-done --db LOCATION [--schema S] [--jobs N] [--ids N] [--chunk N]
 *                        [--repeat N]
 *
 * Fills the database, unless it holds that history already, with --jobs (4,000) chunked
 * jobs that each succeeded for work IDs 1..--ids (1,000), in chunks of --chunk (100)
 * IDs: the runs are recorded as stau records them (store_begin_runs of a job's chunks,
 * the first one's id their batch; then store_apply of each chunk's start and its
 * success, 128 runs' changes at a time, as the recorder writes them), so work_done is
 * filled by the database's own triggers, as in use. Then times, --repeat (3) times
 * each, alternating:
 *
 *   many  one store_work_done_many of every job's IDs 1..--ids (4,000 asks of 1,000);
 *   one   a store_work_done per job (4,000 calls of 1,000 IDs), as a plan without the
 *         bulk read would ask.
 *
 * LOCATION is what store_open takes: an SQLite file, or a libpq URI (then --schema,
 * default "bench_work_done"). The fill is timed too (once), for information.
 *
 * Prints a line per measurement, key=value pairs separated by spaces:
 *   backend read (many|one) ms (wall time of the whole read) round_trips (requests to
 *   the server, from store->round_trips; 0 for SQLite) asked (IDs asked) rows (IDs
 *   found done: must equal asked)
 * and a last line per read with the median ms. Exits 1 on a store failure or when
 * an answer is wrong.
 */
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { APPLY_RUNS = 128, MAX_REPEAT = 99 };

struct options {
    const char *db, *schema;
    long jobs, ids, chunk;
    int repeat;
};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: stau-bench-work-done --db LOCATION [--schema S] [--jobs N] [--ids N] "
                    "[--chunk N] [--repeat N]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
    *o = (struct options){
        .schema = "bench_work_done", .jobs = 4000, .ids = 1000, .chunk = 100, .repeat = 3};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--db") == 0)
            o->db = v;
        else if (strcmp(a, "--schema") == 0)
            o->schema = v;
        else if (strcmp(a, "--jobs") == 0)
            o->jobs = atol(v);
        else if (strcmp(a, "--ids") == 0)
            o->ids = atol(v);
        else if (strcmp(a, "--chunk") == 0)
            o->chunk = atol(v);
        else if (strcmp(a, "--repeat") == 0)
            o->repeat = atoi(v);
        else
            usage();
    }
    if (argc % 2 == 0 || !o->db || o->jobs < 1 || o->ids < 1 || o->chunk < 1 || o->chunk > o->ids ||
        o->repeat < 1 || o->repeat > MAX_REPEAT)
        usage();
}

static _Noreturn void store_died(struct store *st, const char *what)
{
    fprintf(stderr, "stau-bench-work-done: %s: %s\n", what, store_error(st));
    exit(1);
}

/* The job names, "bench.job_0000000" on. */
static char **job_names(long jobs)
{
    char **names = xcalloc((size_t)jobs, sizeof(*names));
    for (long j = 0; j < jobs; j++)
        names[j] = xprintf("bench.job_%07ld", j);
    return names;
}

/* Record and end the changes gathered so far (starts, then successes). */
static void apply(struct store *st, struct store_change *changes, size_t *count, int64_t now)
{
    if (*count && store_apply(st, changes, *count, NULL, 0, now) != 0)
        store_died(st, "store_apply");
    *count = 0;
}

/* Every job succeeded for IDs 1..ids, chunk by chunk, recorded as stau does. */
static void fill(struct store *st, const struct options *o, char **names)
{
    long chunks = (o->ids + o->chunk - 1) / o->chunk;
    struct run_record *runs = xcalloc((size_t)chunks, sizeof(*runs));
    char **work = xcalloc((size_t)chunks, sizeof(*work));
    int64_t *ids = xcalloc((size_t)chunks, sizeof(*ids));
    struct store_change *changes = xcalloc(2 * APPLY_RUNS, sizeof(*changes));
    size_t pending = 0;
    for (long c = 0; c < chunks; c++) {
        struct strbuf json = STRBUF_INIT;
        strbuf_addch(&json, '[');
        for (long id = c * o->chunk + 1; id <= (c + 1) * o->chunk && id <= o->ids; id++)
            strbuf_addf(&json, "%s%ld", id > c * o->chunk + 1 ? ", " : "", id);
        strbuf_addch(&json, ']');
        work[c] = strbuf_detach(&json);
    }
    int64_t now = wall_clock_ms();
    for (long j = 0; j < o->jobs; j++, now += 10) {
        for (long c = 0; c < chunks; c++)
            runs[c] = (struct run_record){.job = names[j],
                                          .attempt = 1,
                                          .host = (char *)"bench-host",
                                          .owner_pid = (int)getpid(),
                                          .kwargs_json = (char *)"{}",
                                          .work_ids_json = work[c],
                                          .code_fingerprint = (char *)"code-fp",
                                          .config_fingerprint = (char *)"config-fp",
                                          .inputs_fingerprint = (char *)"inputs-fp",
                                          .reasons_json = (char *)"[]",
                                          .chunk = (int)c + 1,
                                          .chunks = (int)chunks};
        /* the first chunk opens the invocation; the others join its batch */
        if (store_begin_runs(st, runs, 1, now, ids) < 0)
            store_died(st, "store_begin_runs");
        for (long c = 1; c < chunks; c++)
            runs[c].batch = ids[0];
        if (chunks > 1 && store_begin_runs(st, runs + 1, (size_t)chunks - 1, now, ids + 1) < 0)
            store_died(st, "store_begin_runs");
        for (long c = 0; c < chunks; c++) {
            changes[pending++] = (struct store_change){
                .kind = STORE_START, .id = ids[c], .at = now + 1, .pid = 4242};
            changes[pending++] = (struct store_change){
                .kind = STORE_FINISH,
                .id = ids[c],
                .at = now + 2,
                .finish = {.status = RUN_SUCCEEDED, .exit_code = 0, .outputs_fingerprint = "out"}};
            if (pending == 2 * APPLY_RUNS)
                apply(st, changes, &pending, now + 2);
        }
    }
    apply(st, changes, &pending, now);
    for (long c = 0; c < chunks; c++)
        free(work[c]);
    free(work);
    free(runs);
    free(ids);
    free(changes);
}

/* The IDs found done in the asks' answers. */
static long long found(const struct work_done_ask *asks, long n)
{
    long long rows = 0;
    for (long a = 0; a < n; a++)
        for (size_t i = 0; i < asks[a].count; i++)
            rows += asks[a].finished_at[i] > 0;
    return rows;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct options o;
    parse(argc, argv, &o);
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(o.db, o.schema, &err);
    if (!st) {
        fprintf(stderr, "stau-bench-work-done: %s\n", strbuf_str(&err));
        return 1;
    }
    strbuf_release(&err);
    const char *backend = st->kind == STORE_POSTGRES ? "postgres" : "sqlite";
    char **names = job_names(o.jobs);
    int64_t *ids = xcalloc((size_t)o.ids, sizeof(*ids));
    for (long i = 0; i < o.ids; i++)
        ids[i] = i + 1;
    int64_t *at = xcalloc((size_t)(o.jobs * o.ids), sizeof(*at));
    struct work_done_ask *asks = xcalloc((size_t)o.jobs, sizeof(*asks));
    for (long j = 0; j < o.jobs; j++)
        asks[j] = (struct work_done_ask){names[j], ids, (size_t)o.ids, at + j * o.ids};
    long long asked = (long long)o.jobs * o.ids;

    if (store_work_done_many(st, asks, (size_t)o.jobs) < 0)
        store_died(st, "store_work_done_many");
    if (found(asks, o.jobs) != asked) {
        double f0 = now_ms();
        int64_t trips = st->round_trips;
        fill(st, &o, names);
        printf("backend=%s fill_ms=%.0f runs=%ld round_trips=%lld\n", backend, now_ms() - f0,
               o.jobs * ((o.ids + o.chunk - 1) / o.chunk), (long long)(st->round_trips - trips));
        fflush(stdout);
    }

    double many_ms[MAX_REPEAT], one_ms[MAX_REPEAT];
    for (int r = 0; r < o.repeat; r++) {
        for (int kind = 0; kind < 2; kind++) {
            memset(at, 0xff, (size_t)asked * sizeof(*at)); /* the answers must set them */
            int64_t trips = st->round_trips;
            double t0 = now_ms();
            if (kind == 0) {
                if (store_work_done_many(st, asks, (size_t)o.jobs) < 0)
                    store_died(st, "store_work_done_many");
            } else {
                for (long j = 0; j < o.jobs; j++)
                    if (store_work_done(st, names[j], ids, (size_t)o.ids, asks[j].finished_at) < 0)
                        store_died(st, "store_work_done");
            }
            double ms = now_ms() - t0;
            (kind == 0 ? many_ms : one_ms)[r] = ms;
            long long rows = found(asks, o.jobs), wrong = 0;
            for (long long i = 0; i < asked; i++)
                wrong += at[i] <= 0;
            printf("backend=%s read=%s ms=%.1f round_trips=%lld asked=%lld rows=%lld\n", backend,
                   kind == 0 ? "many" : "one", ms, (long long)(st->round_trips - trips), asked,
                   rows);
            fflush(stdout);
            if (rows != asked || wrong) {
                fprintf(stderr, "stau-bench-work-done: %lld of %lld IDs found done\n", rows, asked);
                return 1;
            }
        }
    }
    qsort(many_ms, (size_t)o.repeat, sizeof(double), by_value);
    qsort(one_ms, (size_t)o.repeat, sizeof(double), by_value);
    printf("backend=%s read=many median_ms=%.1f\n", backend, many_ms[o.repeat / 2]);
    printf("backend=%s read=one median_ms=%.1f\n", backend, one_ms[o.repeat / 2]);
    for (long j = 0; j < o.jobs; j++)
        free(names[j]);
    free(names);
    free(asks);
    free(at);
    free(ids);
    store_close(st);
    return 0;
}
