/* Unit tests of work IDs and chunks: splitting, the JSON of IDs, their short
 * description, what a batch of chunk runs amounts to, reading select_work's answer,
 * and the store's batch queries behind a chunked job's last invocation and success. */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "unit.h"
#include "work.h"

/* "first+len first+len ..." for every chunk of count IDs. */
static char *slices(size_t count, int64_t chunk_size)
{
    struct strbuf sb = STRBUF_INIT;
    size_t n = work_chunk_count(count, chunk_size);
    for (size_t k = 0; k < n; k++) {
        size_t first, len;
        work_chunk_slice(count, chunk_size, k, &first, &len);
        strbuf_addf(&sb, "%s%zu+%zu", k ? " " : "", first, len);
    }
    return strbuf_detach(&sb);
}

UNIT_TEST(work_chunks_split_in_order)
{
    char *s;
    CHECK_INT(work_chunk_count(25, 10), 3);
    CHECK_STR(s = slices(25, 10), "0+10 10+10 20+5");
    free(s);
    CHECK_STR(s = slices(20, 10), "0+10 10+10");
    free(s);
    CHECK_STR(s = slices(3, 1), "0+1 1+1 2+1");
    free(s);
    CHECK_STR(s = slices(7, 0), "0+7"); /* no chunk_size: one chunk */
    free(s);
    CHECK_STR(s = slices(2, 100), "0+2");
    free(s);
    CHECK_INT(work_chunk_count(0, 10), 0);
    CHECK_INT(work_chunk_count(0, 0), 0);
}

UNIT_TEST(work_ids_json_round_trip)
{
    int64_t ids[] = {3, -1, 9007199254740993LL};
    struct strbuf sb = STRBUF_INIT;
    work_ids_to_json(ids, 3, &sb);
    CHECK_STR(strbuf_str(&sb), "[3,-1,9007199254740993]");
    struct work_ids back = {0};
    CHECK_INT(work_ids_parse(sb.buf, &back), 0);
    CHECK_INT(back.len, 3);
    CHECK(back.len == 3 && back.items[0] == 3 && back.items[1] == -1 &&
          back.items[2] == 9007199254740993LL);
    VEC_FREE(&back);
    strbuf_reset(&sb);
    work_ids_to_json(NULL, 0, &sb);
    CHECK_STR(strbuf_str(&sb), "[]");
    strbuf_release(&sb);

    CHECK_INT(work_ids_parse(" [ 1 , 2 ]\n", &back), 0);
    CHECK_INT(back.len, 2);
    VEC_FREE(&back);
    CHECK_INT(work_ids_parse("[]", &back), 0);
    CHECK_INT(back.len, 0);
    const char *bad[] = {
        "", "null", "[1,", "[1 2]", "[1.5]", "[\"1\"]", "[1] x", "{}", "[99999999999999999999]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (!CHECK(work_ids_parse(bad[i], &back) < 0))
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        VEC_FREE(&back);
    }
}

UNIT_TEST(work_ids_described_as_ranges)
{
    struct strbuf sb = STRBUF_INIT;
    int64_t run[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    work_ids_describe(run, 10, 40, &sb);
    CHECK_STR(strbuf_str(&sb), "0-9");
    strbuf_reset(&sb);
    int64_t mixed[] = {1, 4, 7, 8, 9, 3};
    work_ids_describe(mixed, 6, 40, &sb);
    CHECK_STR(strbuf_str(&sb), "1, 4, 7-9, 3");
    strbuf_reset(&sb);
    int64_t many[] = {1, 3, 5, 7, 9, 11, 13};
    work_ids_describe(many, 7, 6, &sb); /* cut once past 6 characters */
    CHECK_STR(strbuf_str(&sb), "1, 3, 5, ... (+4)");
    strbuf_reset(&sb);
    work_ids_describe_json("[20,21,22,23,24]", 40, &sb);
    CHECK_STR(strbuf_str(&sb), "20-24");
    strbuf_reset(&sb);
    work_ids_describe_json("[]", 40, &sb);
    CHECK_STR(strbuf_str(&sb), "none");
    strbuf_reset(&sb);
    work_ids_describe_json(NULL, 40, &sb);
    CHECK_STR(strbuf_str(&sb), "-");
    strbuf_release(&sb);
}

/* A run of chunk k of n with this id and status (0, 0: an ordinary run). */
static struct run_record chunk_run(int64_t id, int k, int n, enum run_status status)
{
    return (struct run_record){.id = id,
                               .batch = 10,
                               .chunk = k,
                               .chunks = n,
                               .status = status,
                               .started_at = 1000 + id,
                               .finished_at = run_status_finished(status) ? 2000 + id : 0};
}

UNIT_TEST(work_batch_failed_when_any_chunk_failed_even_before_a_later_success)
{
    struct run_record runs[] = {chunk_run(10, 1, 3, RUN_SUCCEEDED), chunk_run(11, 2, 3, RUN_FAILED),
                                chunk_run(12, 3, 3, RUN_SUCCEEDED)};
    struct work_batch b;
    work_batch_judge(runs, 3, &b);
    CHECK_INT(b.state, WORK_BATCH_FAILED);
    CHECK(b.failed == &runs[1]);
    CHECK(b.newest == &runs[2]);
    CHECK(b.ended == &runs[2]);
    CHECK_INT(b.chunks, 3);
    CHECK_INT(b.missing, 0);
    CHECK_INT(b.started_at, 1010);
    CHECK_INT(b.finished_at, 2012);

    /* Every failing state counts: timed out, interrupted, lost. */
    enum run_status bad[] = {RUN_TIMED_OUT, RUN_INTERRUPTED, RUN_LOST};
    for (size_t i = 0; i < 3; i++) {
        runs[1].status = bad[i];
        work_batch_judge(runs, 3, &b);
        CHECK_INT(b.state, WORK_BATCH_FAILED);
    }
}

UNIT_TEST(work_batch_only_the_latest_attempt_of_a_chunk_counts)
{
    /* chunk 2 failed, then its retry (or a rerun joining the batch) succeeded */
    struct run_record runs[] = {chunk_run(10, 1, 2, RUN_SUCCEEDED), chunk_run(11, 2, 2, RUN_FAILED),
                                chunk_run(12, 2, 2, RUN_SUCCEEDED)};
    struct work_batch b;
    work_batch_judge(runs, 3, &b);
    CHECK_INT(b.state, WORK_BATCH_SUCCEEDED);
    CHECK(b.failed == NULL);
    /* the other way round: a success, then a failed later attempt */
    runs[1].status = RUN_SUCCEEDED;
    runs[2].status = RUN_FAILED;
    work_batch_judge(runs, 3, &b);
    CHECK_INT(b.state, WORK_BATCH_FAILED);
    CHECK(b.failed == &runs[2]);
    /* order of the array does not matter, ids do */
    struct run_record swapped[] = {runs[2], runs[0], runs[1]};
    work_batch_judge(swapped, 3, &b);
    CHECK_INT(b.state, WORK_BATCH_FAILED);
    CHECK_INT(b.failed->id, 12);
}

UNIT_TEST(work_batch_active_skipped_incomplete)
{
    struct work_batch b;
    struct run_record active[] = {chunk_run(10, 1, 2, RUN_SUCCEEDED),
                                  chunk_run(11, 2, 2, RUN_RUNNING)};
    work_batch_judge(active, 2, &b);
    CHECK_INT(b.state, WORK_BATCH_ACTIVE);
    /* a failure outweighs a chunk still running */
    struct run_record failing[] = {chunk_run(10, 1, 3, RUN_QUEUED), chunk_run(11, 2, 3, RUN_LOST)};
    work_batch_judge(failing, 2, &b);
    CHECK_INT(b.state, WORK_BATCH_FAILED);
    struct run_record skipped[] = {chunk_run(10, 1, 2, RUN_SUCCEEDED),
                                   chunk_run(11, 2, 2, RUN_SKIPPED)};
    work_batch_judge(skipped, 2, &b);
    CHECK_INT(b.state, WORK_BATCH_SKIPPED);
    /* chunks 2 and 4 of 4 never started (--fail-fast elsewhere, Ctrl-C) */
    struct run_record partial[] = {chunk_run(10, 1, 4, RUN_SUCCEEDED),
                                   chunk_run(11, 3, 4, RUN_SUCCEEDED)};
    work_batch_judge(partial, 2, &b);
    CHECK_INT(b.state, WORK_BATCH_INCOMPLETE);
    CHECK_INT(b.missing, 2);
    CHECK_INT(b.chunks, 4);
    /* an ordinary run is a batch of one */
    struct run_record one[] = {chunk_run(7, 0, 0, RUN_SUCCEEDED)};
    work_batch_judge(one, 1, &b);
    CHECK_INT(b.state, WORK_BATCH_SUCCEEDED);
    CHECK_INT(b.chunks, 1);
    one[0].status = RUN_FAILED;
    work_batch_judge(one, 1, &b);
    CHECK_INT(b.state, WORK_BATCH_FAILED);
}

UNIT_TEST(work_selection_answers)
{
    struct work_ids ids = {0};
    struct strbuf why = STRBUF_INIT;
    CHECK_INT(work_read_selection("none\n", &ids, &why), WORK_SELECT_NONE);
    CHECK_INT(work_read_selection("ok\n[4, 5, 6]", &ids, &why), WORK_SELECT_OK);
    CHECK(ids.len == 3 && ids.items[0] == 4 && ids.items[2] == 6);
    VEC_FREE(&ids);
    CHECK_STR(strbuf_str(&why), "");
    CHECK_INT(work_read_selection("bad\n'abc' (a str)", &ids, &why), WORK_SELECT_FAILED);
    CHECK_STR(strbuf_str(&why), "select_work returned 'abc' (a str), not a list of int");
    strbuf_reset(&why);
    CHECK_INT(work_read_selection("raised\nValueError: no", &ids, &why), WORK_SELECT_FAILED);
    CHECK_STR(strbuf_str(&why), "select_work raised ValueError: no");
    strbuf_reset(&why);
    CHECK_INT(work_read_selection("ok\n[1,", &ids, &why), WORK_SELECT_FAILED);
    CHECK_STR(strbuf_str(&why), "select_work left an unreadable result");
    VEC_FREE(&ids);
    strbuf_reset(&why);
    CHECK_INT(work_read_selection(NULL, &ids, &why), WORK_SELECT_FAILED);
    CHECK_STR(strbuf_str(&why), "select_work left no result");
    strbuf_release(&why);
}

static struct store *open_store(const char *name)
{
    char *path = xprintf("%s/%s", unit_tmpdir(), name);
    struct store *st = unit_store_open(path);
    free(path);
    return st;
}

/* Record a run of job (chunk k of n in batch; batch 0: a new one) that ends so. */
static int64_t add_job_run(struct store *st, const char *job, int64_t batch, int k, int n,
                           enum run_status status, int64_t start, int64_t end)
{
    struct run_record r = {.job = (char *)job, .batch = batch, .chunk = k, .chunks = n};
    int64_t id = 0;
    CHECK_INT(store_begin_run(st, &r, start, &id), 0);
    CHECK_INT(unit_start_run(st, id, 100, start), 0);
    struct run_finish fin = {status, status == RUN_SUCCEEDED ? 0 : 1, 0, NULL, NULL, NULL};
    CHECK_INT(unit_finish_run(st, id, &fin, end), 0);
    return id;
}

/* add_job_run for job a. */
static int64_t add_run(struct store *st, int64_t batch, int k, int n, enum run_status status,
                       int64_t start, int64_t end)
{
    return add_job_run(st, "a", batch, k, n, status, start, end);
}

UNIT_TEST(work_last_invocation_and_success_of_a_chunked_job)
{
    struct store *st = open_store("work.db");
    if (!st)
        return;
    struct run_record out = {0};
    size_t missing = 99;
    CHECK_INT(work_last_invocation(st, "a", &out, &missing), 0);
    CHECK_INT(work_last_success(st, "a", &out), 0);

    /* invocation 1: all three chunks succeed; chunk 1 finishes last */
    int64_t b1 = add_run(st, 0, 1, 3, RUN_SUCCEEDED, 100, 900);
    add_run(st, b1, 2, 3, RUN_SUCCEEDED, 110, 300);
    add_run(st, b1, 3, 3, RUN_SUCCEEDED, 120, 400);
    CHECK_INT(work_last_success(st, "a", &out), 1);
    CHECK_INT(out.id, b1); /* the one that finished last */
    CHECK_INT(out.batch, b1);
    CHECK_INT(out.started_at, 100);
    CHECK_INT(out.finished_at, 900);
    run_record_release(&out);
    CHECK_INT(work_last_invocation(st, "a", &out, &missing), 1);
    CHECK_INT(out.status, RUN_SUCCEEDED);
    CHECK_INT(missing, 0);
    run_record_release(&out);

    /* invocation 2: chunk 2 fails, chunk 3 (newer) succeeds */
    int64_t b2 = add_run(st, 0, 1, 3, RUN_SUCCEEDED, 1000, 1100);
    int64_t failed = add_run(st, b2, 2, 3, RUN_FAILED, 1010, 1200);
    add_run(st, b2, 3, 3, RUN_SUCCEEDED, 1020, 1300);
    CHECK_INT(work_last_invocation(st, "a", &out, &missing), 1);
    CHECK_INT(out.id, failed);
    CHECK_INT(out.status, RUN_FAILED);
    CHECK_INT(out.chunk, 2);
    CHECK_INT(out.started_at, 1000);
    run_record_release(&out);
    CHECK_INT(work_last_success(st, "a", &out), 1);
    CHECK_INT(out.batch, b1); /* not invocation 2, whose chunks did not all succeed */
    run_record_release(&out);

    /* the failed chunk is run again in its batch (a rerun): invocation 2 succeeded */
    int64_t again = add_run(st, b2, 2, 3, RUN_SUCCEEDED, 2000, 2100);
    CHECK_INT(work_last_invocation(st, "a", &out, &missing), 1);
    CHECK_INT(out.status, RUN_SUCCEEDED);
    CHECK_INT(out.id, again);
    run_record_release(&out);
    CHECK_INT(work_last_success(st, "a", &out), 1);
    CHECK_INT(out.batch, b2);
    CHECK_INT(out.id, again);
    CHECK_INT(out.started_at, 1000);
    CHECK_INT(out.finished_at, 2100);
    run_record_release(&out);

    /* invocation 3 stops after its first chunk: incomplete, the success stays 2's */
    int64_t b3 = add_run(st, 0, 1, 2, RUN_SUCCEEDED, 3000, 3100);
    CHECK_INT(work_last_invocation(st, "a", &out, &missing), 1);
    CHECK_INT(out.status, RUN_INTERRUPTED);
    CHECK_INT(out.batch, b3);
    CHECK_INT(missing, 1);
    run_record_release(&out);
    CHECK_INT(work_last_success(st, "a", &out), 1);
    CHECK_INT(out.batch, b2);
    run_record_release(&out);

    /* an ordinary run is its own batch */
    int64_t plain = add_run(st, 0, 0, 0, RUN_SUCCEEDED, 4000, 4100);
    CHECK_INT(work_last_invocation(st, "a", &out, &missing), 1);
    CHECK_INT(out.id, plain);
    CHECK_INT(out.batch, plain);
    CHECK_INT(out.status, RUN_SUCCEEDED);
    CHECK_INT(missing, 0);
    run_record_release(&out);
    CHECK_INT(work_last_success(st, "a", &out), 1);
    CHECK_INT(out.id, plain);
    CHECK_INT(out.started_at, 4000);
    run_record_release(&out);
    store_close(st);
}

/* Batch 3 chunks: chunks 1 and 2 succeed, chunk 3 fails, then chunk 1 is run again in
 * the batch (as `stau rerun` of chunk 1 does) and succeeds: the newest run of the job is
 * a success, yet the invocation failed. Returns the batch. */
static int64_t failed_batch_with_a_later_success(struct store *st, const char *job, int64_t t)
{
    int64_t b = add_job_run(st, job, 0, 1, 3, RUN_SUCCEEDED, t, t + 100);
    add_job_run(st, job, b, 2, 3, RUN_SUCCEEDED, t + 10, t + 200);
    add_job_run(st, job, b, 3, 3, RUN_FAILED, t + 20, t + 300);
    add_job_run(st, job, b, 1, 3, RUN_SUCCEEDED, t + 400, t + 500);
    return b;
}

UNIT_TEST(work_last_success_wants_every_chunks_latest_attempt)
{
    struct store *st = open_store("work.db");
    if (!st)
        return;
    struct run_record out = {0};

    /* no earlier batch: no success at all, though the newest run succeeded */
    int64_t lone = failed_batch_with_a_later_success(st, "lone", 1000);
    struct run_list held = {0};
    CHECK_INT(store_succeeded_batch(st, "lone", INT64_MAX, &held), 0);
    CHECK(held.len == 4 && held.items[0].batch == lone); /* the batch holds successes */
    run_list_release(&held);
    CHECK_INT(work_last_success(st, "lone", &out), 0);
    size_t missing = 99;
    CHECK_INT(work_last_invocation(st, "lone", &out, &missing), 1);
    CHECK_INT(out.status, RUN_FAILED);
    CHECK_INT(out.chunk, 3);
    CHECK_INT(missing, 0);
    run_record_release(&out);

    /* an earlier batch that fully succeeded is the success: its chunk that finished
       last (chunk 2, not the newest run), started at the batch's earliest start */
    int64_t good = add_job_run(st, "b", 0, 1, 3, RUN_SUCCEEDED, 500, 600);
    int64_t last_end = add_job_run(st, "b", good, 2, 3, RUN_SUCCEEDED, 510, 900);
    add_job_run(st, "b", good, 3, 3, RUN_SUCCEEDED, 520, 700);
    int64_t bad = failed_batch_with_a_later_success(st, "b", 1000);
    CHECK_INT(work_last_success(st, "b", &out), 1);
    CHECK_INT(out.id, last_end);
    CHECK_INT(out.batch, good);
    CHECK_INT(out.chunk, 2);
    CHECK_INT(out.status, RUN_SUCCEEDED);
    CHECK_INT(out.started_at, 500);
    CHECK_INT(out.finished_at, 900);
    run_record_release(&out);

    /* a retry of the failed chunk that succeeds makes the batch succeed */
    int64_t retry = add_job_run(st, "b", bad, 3, 3, RUN_SUCCEEDED, 2000, 2100);
    CHECK_INT(work_last_success(st, "b", &out), 1);
    CHECK_INT(out.id, retry);
    CHECK_INT(out.batch, bad);
    CHECK_INT(out.started_at, 1000);
    CHECK_INT(out.finished_at, 2100);
    run_record_release(&out);
    CHECK_INT(work_last_invocation(st, "b", &out, &missing), 1);
    CHECK_INT(out.status, RUN_SUCCEEDED);
    run_record_release(&out);
    /* and so for the job with no earlier batch */
    add_job_run(st, "lone", lone, 3, 3, RUN_SUCCEEDED, 2000, 2100);
    CHECK_INT(work_last_success(st, "lone", &out), 1);
    CHECK_INT(out.batch, lone);
    CHECK_INT(out.started_at, 1000);
    run_record_release(&out);
    store_close(st);
}

UNIT_TEST(work_kwargs_merge_over_laid)
{
    struct strbuf sb = STRBUF_INIT;
    CHECK_INT(
        json_object_merge("{\"a\":1,\"b\":{\"x\":[1,\"}\"]}}", "{\"b\":2,\"c\":\"s,t\"}", &sb), 0);
    CHECK_STR(strbuf_str(&sb), "{\"a\":1,\"b\":2,\"c\":\"s,t\"}");
    strbuf_reset(&sb);
    CHECK_INT(json_object_merge(NULL, " { \"k\" : [ 1 , 2 ] } ", &sb), 0);
    CHECK_STR(strbuf_str(&sb), "{\"k\":[ 1 , 2 ]}");
    strbuf_reset(&sb);
    CHECK_INT(json_object_merge("{}", NULL, &sb), 0);
    CHECK_STR(strbuf_str(&sb), "{}");
    strbuf_reset(&sb);
    CHECK_INT(json_object_merge("{\"a\\\"b\":true}", "{\"a\\\"b\":null}", &sb), 0);
    CHECK_STR(strbuf_str(&sb), "{\"a\\\"b\":null}");
    strbuf_reset(&sb);
    CHECK_INT(json_object_merge("[1]", "{}", &sb), -1);
    CHECK_INT(json_object_merge("{\"a\":}", "{}", &sb), -1);
    CHECK_INT(json_object_merge("{\"a\":1} x", "{}", &sb), -1);
    CHECK_INT(json_object_merge("{\"a\":1,}", "{}", &sb), -1);
    CHECK_INT(sb.len, 0);
    strbuf_release(&sb);
}
