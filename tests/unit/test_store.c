/* Unit tests of the state database: every operation's round trip, leases, gc,
 * claims, the leader lease, two handles and two processes at once, and crashes.
 * Each test of what the interface promises is a UNIT_STORE_TEST, run on both
 * backends (NAME_sqlite on a fresh file, NAME_postgres on a fresh schema of the
 * server $STAU_TEST_PG names). What only SQLite has (migrating a hand-made older
 * file, refusing foreign files, a crash that leaves pages in the WAL) is a plain
 * UNIT_TEST; it opens the file with SQLite itself (hence <sqlite3.h> here) to make
 * a database by hand and to check the result without trusting the store. */
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

/* The schema version this stau writes (store_sqlite.c's migrations). */
#define SCHEMA_NOW "13"

static char *db_path(const char *name)
{
    return xprintf("%s/%s", unit_tmpdir(), name);
}

/* Run SQL on the SQLite file at path directly; the first column of the first row (or
 * "" / "error: ..."). */
static char *raw(const char *path, const char *sql)
{
    struct unit_db file = {.kind = "sqlite", .location = (char *)path};
    return unit_db_sql(&file, sql);
}

static void check_raw(const char *path, const char *sql, const char *want)
{
    char *got = raw(path, sql);
    CHECK_STR(got, want);
    free(got);
}

/* Run SQL on db directly (see unit_db_sql) and check its answer. */
static void check_db_sql(const struct unit_db *db, const char *sql, const char *want)
{
    char *got = unit_db_sql(db, sql);
    CHECK_STR(got, want);
    free(got);
}

/* Whether a store's message tells of a NOT NULL constraint, however the database
 * words it (SQLite: "NOT NULL constraint failed", PostgreSQL: "violates not-null
 * constraint"). */
static bool says_not_null(const char *message)
{
    return strcasestr(message, "not null") || strcasestr(message, "not-null");
}

/* A run with every field the caller supplies set (strings borrowed). */
static struct run_record sample_run(const char *job)
{
    return (struct run_record){
        .job = (char *)job,
        .attempt = 2,
        .host = (char *)"host-α",
        .owner_pid = 4242,
        .owner_start = 987654321,
        .git_commit = (char *)"0123456789abcdef0123456789abcdef01234567",
        .kwargs_json = (char *)"{\"region\": \"Zürich ✓ 数据\"}",
        .work_ids_json = (char *)"[1, 2, 3]",
        .code_fingerprint = (char *)"code-fp",
        .config_fingerprint = (char *)"config-fp",
        .inputs_fingerprint = (char *)"inputs-fp",
        .reasons_json = (char *)"[{\"reason\": \"never-run\"}]",
        .log_path = (char *)".stau/logs/1.log",
        .env_names_json = (char *)"[\"DB_URL\",\"TOKEN\"]",
        .kwargs_given_json = (char *)"{\"region\": \"Zürich ✓ 数据\"}",
        .git_dirty = RUN_GIT_DIRTY,
        .git_changes_json = (char *)"[\"src/ä.py\"]",
    };
}

static int64_t begin(struct store *st, const struct run_record *run, int64_t now)
{
    int64_t id = 0;
    if (!CHECK(store_begin_run(st, run, now, &id) == 0))
        fprintf(stderr, "  %s\n", store_error(st));
    return id;
}

static void finish_as(struct store *st, int64_t id, enum run_status status, const char *archive,
                      int64_t now)
{
    struct run_finish fin = {status, status == RUN_SUCCEEDED ? 0 : 1, 0, "out-fp", archive, NULL};
    if (!CHECK(unit_finish_run(st, id, &fin, now) == 0))
        fprintf(stderr, "  %s\n", store_error(st));
}

/* The store finds no damage, nor (SQLite) does SQLite itself. */
static void check_sound(const struct unit_db *db, struct store *st)
{
    if (!CHECK(store_check(st) == 0))
        fprintf(stderr, "  %s\n", store_error(st));
    if (unit_db_is_sqlite(db))
        check_raw(db->location, "PRAGMA integrity_check", "ok");
}

/* check_sound for an SQLite file opened by path (the tests only SQLite has). */
static void check_file_sound(struct store *st, const char *path)
{
    struct unit_db file = {.kind = "sqlite", .location = (char *)path};
    check_sound(&file, st);
}

UNIT_STORE_TEST(store_open_creates_and_reopens)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    int version = st->schema_version;
    if (unit_db_is_sqlite(db)) {
        CHECK_INT(st->kind, STORE_SQLITE);
        CHECK_INT(version, atoi(SCHEMA_NOW));
        CHECK_STR(st->location, db->location);
    } else {
        CHECK_INT(st->kind, STORE_POSTGRES);
        CHECK(version > 0);
        CHECK(strstr(st->location, db->schema) != NULL); /* "SERVER schema SCHEMA" */
    }
    /* a read: a server is asked, a file is not */
    int64_t trips = st->round_trips;
    struct run_list list = {0};
    CHECK_INT(store_history(st, NULL, 0, &list), 0);
    CHECK_INT(list.len, 0);
    run_list_release(&list);
    if (unit_db_is_sqlite(db))
        CHECK_INT(st->round_trips, 0);
    else
        CHECK(st->round_trips > trips);
    store_close(st);
    if (unit_db_is_sqlite(db)) {
        check_raw(db->location, "PRAGMA user_version", SCHEMA_NOW);
        check_raw(db->location, "PRAGMA journal_mode", "wal");
    } else {
        /* the tables went into the schema the store was given */
        char *sql =
            xprintf("SELECT count(*) > 0 FROM pg_tables WHERE schemaname = '%s'", db->schema);
        check_db_sql(db, sql, "t");
        free(sql);
    }
    st = unit_db_open(db);
    CHECK(st && st->schema_version == version);
    if (st)
        check_sound(db, st);
    store_close(st);
}

UNIT_STORE_TEST(store_run_round_trip)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record in = sample_run("sales.report");
    int64_t first = begin(st, &in, 1000);
    in.rerun_of = first;
    int64_t id = begin(st, &in, 1500);
    CHECK(id > first);

    struct run_record r;
    CHECK_INT(store_run(st, id, &r), 1);
    CHECK_INT(r.id, id);
    CHECK_STR(r.job, "sales.report");
    CHECK_INT(r.attempt, 2);
    CHECK_STR(run_status_name(r.status), "queued");
    CHECK_INT(r.queued_at, 1500);
    CHECK_INT(r.started_at, 0);
    CHECK_INT(r.finished_at, 0);
    CHECK_INT(r.exit_code, -1);
    CHECK_INT(r.signal, 0);
    CHECK_STR(r.host, "host-α");
    CHECK_INT(r.owner_pid, 4242);
    CHECK_INT(r.owner_start, 987654321);
    CHECK_INT(r.pid, 0);
    CHECK_INT(r.heartbeat_at, 1500);
    CHECK_STR(r.git_commit, in.git_commit);
    CHECK_STR(r.kwargs_json, "{\"region\": \"Zürich ✓ 数据\"}");
    CHECK_STR(r.work_ids_json, "[1, 2, 3]");
    CHECK_STR(r.code_fingerprint, "code-fp");
    CHECK_STR(r.config_fingerprint, "config-fp");
    CHECK_STR(r.inputs_fingerprint, "inputs-fp");
    CHECK_STR(r.outputs_fingerprint, NULL);
    CHECK_STR(r.reasons_json, in.reasons_json);
    CHECK_STR(r.log_path, ".stau/logs/1.log");
    CHECK_STR(r.archive_path, NULL);
    CHECK_INT(r.rerun_of, first);
    CHECK_STR(r.env_names_json, "[\"DB_URL\",\"TOKEN\"]");
    CHECK_STR(r.kwargs_given_json, "{\"region\": \"Zürich ✓ 数据\"}");
    CHECK_INT(r.git_dirty, RUN_GIT_DIRTY);
    CHECK_STR(r.git_changes_json, "[\"src/ä.py\"]");
    run_record_release(&r);

    CHECK_INT(unit_start_run(st, id, 31337, 2000), 0);
    CHECK_INT(unit_start_run(st, id, 31338, 2001), 1); /* not queued any more: unchanged */
    struct run_finish fin = {RUN_FAILED, -1, 9, "outputs-fp ✓", NULL, NULL};
    CHECK_INT(unit_finish_run(st, id, &fin, 3000), 0);
    CHECK_INT(store_set_archive(st, id, ".stau/archive/2.tar.zst"), 0);
    CHECK_INT(store_run(st, id, &r), 1);
    CHECK_STR(run_status_name(r.status), "failed");
    CHECK_INT(r.started_at, 2000);
    CHECK_INT(r.finished_at, 3000);
    CHECK_INT(r.pid, 31337);
    CHECK_INT(r.heartbeat_at, 2000);
    CHECK_INT(r.exit_code, -1);
    CHECK_INT(r.signal, 9);
    CHECK_STR(r.outputs_fingerprint, "outputs-fp ✓");
    CHECK_STR(r.archive_path, ".stau/archive/2.tar.zst");
    run_record_release(&r);

    /* a run with nothing but a job: NULLs stay NULL */
    struct run_record bare = {.job = (char *)"bare"};
    int64_t bare_id = begin(st, &bare, 4000);
    CHECK_INT(store_run(st, bare_id, &r), 1);
    CHECK_INT(r.attempt, 1);
    CHECK(!r.host && !r.git_commit && !r.kwargs_json && !r.work_ids_json && !r.code_fingerprint);
    CHECK(!r.config_fingerprint && !r.inputs_fingerprint && !r.reasons_json && !r.log_path);
    CHECK_INT(r.rerun_of, 0);
    CHECK_INT(r.owner_pid, 0);
    CHECK(!r.env_names_json && !r.kwargs_given_json && !r.git_changes_json);
    CHECK_INT(r.git_dirty, RUN_GIT_UNKNOWN);
    run_record_release(&r);
    struct run_finish ok = {RUN_SUCCEEDED, 0, 0, NULL, "a.tar", NULL};
    CHECK_INT(unit_finish_run(st, bare_id, &ok, 4100), 0);
    CHECK_INT(store_run(st, bare_id, &r), 1);
    CHECK_INT(r.exit_code, 0);
    CHECK_STR(r.archive_path, "a.tar");
    CHECK_INT(r.started_at, 0);
    run_record_release(&r);

    /* what cannot be done */
    CHECK_INT(store_run(st, 999, &r), 0);
    /* an end of a run already ended changes nothing and is counted, not an error */
    struct run_finish late = {RUN_SUCCEEDED, 0, 0, "late-fp", NULL, NULL};
    CHECK_INT(unit_finish_run(st, id, &late, 5000), 1);
    CHECK_INT(unit_finish_run(st, 999, &late, 5000), 1);
    CHECK_INT(store_run(st, id, &r), 1);
    CHECK_STR(run_status_name(r.status), "failed");
    CHECK_INT(r.finished_at, 3000);
    CHECK_STR(r.outputs_fingerprint, "outputs-fp ✓");
    run_record_release(&r);
    struct run_finish not_ended = {RUN_RUNNING, -1, 0, NULL, NULL, NULL};
    CHECK_INT(unit_finish_run(st, first, &not_ended, 5000), -1);
    char *want = xprintf("cannot record run %lld as ended while it is 'running'", (long long)first);
    CHECK_STR(store_error(st), want);
    free(want);
    CHECK_INT(store_run(st, first, &r), 1);
    CHECK_STR(run_status_name(r.status), "queued");
    run_record_release(&r);
    CHECK_INT(store_set_archive(st, 999, "x"), -1);
    struct run_record no_job = {0};
    int64_t unused;
    CHECK_INT(store_begin_run(st, &no_job, 1, &unused), -1);
    CHECK(says_not_null(store_error(st)));
    check_sound(db, st);
    store_close(st);
}

UNIT_TEST(store_run_statuses)
{
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        enum run_status s;
        CHECK(run_status_parse(run_status_name((enum run_status)i), &s) && (int)s == i);
    }
    enum run_status s;
    CHECK(!run_status_parse("done", &s));
    CHECK(!run_status_finished(RUN_RUNNING) && run_status_finished(RUN_LOST));
    CHECK_STR(run_status_name(RUN_CANCELLED), "cancelled");
    CHECK(run_status_finished(RUN_CANCELLED) && run_status_parse("cancelled", &s) &&
          s == RUN_CANCELLED);
}

UNIT_STORE_TEST(store_history_order_and_limits)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record a = {.job = (char *)"a"}, b = {.job = (char *)"b"};
    int64_t ids[8];
    for (int i = 0; i < 8; i++)
        ids[i] = begin(st, i % 3 == 2 ? &b : &a, 100 + i); /* a a b a a b a a */
    finish_as(st, ids[0], RUN_SUCCEEDED, NULL, 200);
    finish_as(st, ids[1], RUN_FAILED, NULL, 201);
    finish_as(st, ids[3], RUN_SUCCEEDED, NULL, 202);
    finish_as(st, ids[4], RUN_TIMED_OUT, NULL, 203);

    struct run_list list = {0};
    CHECK_INT(store_history(st, "a", 0, &list), 0);
    CHECK_INT(list.len, 6);
    for (size_t i = 1; i < list.len; i++)
        CHECK(list.items[i - 1].id > list.items[i].id);
    CHECK(list.len > 0 && list.items[0].id == ids[7]);
    run_list_release(&list);
    CHECK_INT(store_history(st, "a", 2, &list), 0);
    CHECK_INT(list.len, 2);
    CHECK(list.len == 2 && list.items[1].id == ids[6]);
    run_list_release(&list);
    CHECK_INT(store_history(st, NULL, 0, &list), 0);
    CHECK_INT(list.len, 8);
    run_list_release(&list);
    CHECK_INT(store_history(st, NULL, 3, &list), 0);
    CHECK_INT(list.len, 3);
    CHECK(list.len == 3 && list.items[2].id == ids[5]);
    run_list_release(&list);
    CHECK_INT(store_history(st, "nobody", 0, &list), 0);
    CHECK_INT(list.len, 0);
    run_list_release(&list);

    struct run_record r;
    CHECK_INT(store_last_run(st, "a", &r), 1);
    CHECK_INT(r.id, ids[7]);
    run_record_release(&r);
    CHECK_INT(store_last_run(st, "nobody", &r), 0);

    /* the newest batch holding a success (each ordinary run is a batch of its own) */
    CHECK_INT(store_succeeded_batch(st, "a", INT64_MAX, &list), 0);
    CHECK(list.len == 1 && list.items[0].id == ids[3] && list.items[0].batch == ids[3]);
    CHECK(list.len == 1 && strcmp(list.items[0].outputs_fingerprint, "out-fp") == 0);
    run_list_release(&list);
    CHECK_INT(store_succeeded_batch(st, "a", ids[3], &list), 0); /* older than that */
    CHECK(list.len == 1 && list.items[0].id == ids[0]);
    run_list_release(&list);
    CHECK_INT(store_succeeded_batch(st, "a", ids[0], &list), 0);
    CHECK_INT(list.len, 0);
    CHECK_INT(store_succeeded_batch(st, "b", INT64_MAX, &list), 0);
    CHECK_INT(list.len, 0);
    run_list_release(&list);

    CHECK_INT(store_active_runs(st, "a", &list), 0);
    CHECK_INT(list.len, 2); /* ids[6], ids[7] */
    CHECK(list.len == 2 && list.items[0].id == ids[6]);
    run_list_release(&list);
    CHECK_INT(store_active_runs(st, NULL, &list), 0);
    CHECK_INT(list.len, 4);
    run_list_release(&list);
    check_sound(db, st);
    store_close(st);
}

static int64_t heartbeat_of(struct store *st, int64_t id)
{
    struct run_record r;
    int64_t at = -1;
    if (CHECK(store_run(st, id, &r) == 1))
        at = r.heartbeat_at;
    run_record_release(&r);
    return at;
}

/* A heartbeat renews the leases of exactly its owner's unfinished runs, and a run is
 * marked lost only while it has the heartbeat it was judged on. Which runs are lost is
 * lease.c's rule (test_lease.c). */
UNIT_STORE_TEST(store_heartbeats_and_lost_runs)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record r1 = {.job = (char *)"j1", .host = (char *)"h1", .owner_pid = 100};
    struct run_record r2 = {.job = (char *)"j2", .host = (char *)"h1", .owner_pid = 201};
    struct run_record r3 = {.job = (char *)"j3", .host = (char *)"h2", .owner_pid = 300};
    struct run_record r4 = {.job = (char *)"j4", .host = (char *)"h1", .owner_pid = 201};
    int64_t id1 = begin(st, &r1, 1000), id2 = begin(st, &r2, 1000);
    int64_t id3 = begin(st, &r3, 1000), id4 = begin(st, &r4, 1000);
    CHECK_INT(unit_start_run(st, id1, 11, 1100), 0);
    CHECK_INT(unit_start_run(st, id2, 22, 1200), 0);
    finish_as(st, id4, RUN_SUCCEEDED, NULL, 1500);
    CHECK_INT(heartbeat_of(st, id1), 1100); /* a start renews the lease */
    struct store_owner owner2 = {"h1", 201, 0};
    CHECK_INT(store_heartbeat(st, &owner2, 5000), 1); /* run 2; run 4 is over */
    struct store_owner other_start = {"h1", 201, 77};
    CHECK_INT(store_heartbeat(st, &other_start, 5500), 0); /* another process, same pid */
    struct store_owner other_host = {"h2", 201, 0};
    CHECK_INT(store_heartbeat(st, &other_host, 5600), 0);
    CHECK_INT(heartbeat_of(st, id1), 1100);
    CHECK_INT(heartbeat_of(st, id2), 5000);
    CHECK_INT(heartbeat_of(st, id3), 1000);
    CHECK_INT(heartbeat_of(st, id4), 1000);

    /* what lease_recover judges: every unfinished run with its owner and lease */
    struct run_list active = {0};
    CHECK_INT(store_active_runs(st, NULL, &active), 0);
    CHECK_INT(active.len, 3);
    CHECK(active.len == 3 && active.items[0].id == id1 && active.items[1].id == id2 &&
          active.items[2].id == id3);
    CHECK(active.len == 3 && active.items[1].heartbeat_at == 5000 &&
          active.items[1].owner_pid == 201 && strcmp(active.items[1].host, "h1") == 0);
    run_list_release(&active);

    CHECK_INT(store_mark_lost(st, id2, 4999, 6000), 0); /* heartbeat moved since */
    CHECK_INT(store_mark_lost(st, id2, 5000, 6000), 1);
    CHECK_INT(store_mark_lost(st, id2, 5000, 6001), 0); /* already lost */
    CHECK_INT(store_mark_lost(st, id3, 1000, 6000), 1);
    CHECK_INT(store_mark_lost(st, id4, 1000, 6000), 0); /* finished */
    CHECK_INT(store_heartbeat(st, &owner2, 7000), 0);   /* lost stays lost */
    struct run_record r;
    CHECK_INT(store_run(st, id2, &r), 1);
    CHECK_STR(run_status_name(r.status), "lost");
    CHECK_INT(r.finished_at, 6000);
    CHECK_INT(r.heartbeat_at, 5000);
    run_record_release(&r);
    CHECK_INT(store_active_runs(st, NULL, &active), 0);
    CHECK(active.len == 1 && active.items[0].id == id1);
    run_list_release(&active);
    CHECK_INT(unit_start_run(st, id3, 33, 6500), 1); /* lost: must not start */
    CHECK_INT(store_run(st, id3, &r), 1);
    CHECK_STR(run_status_name(r.status), "lost");
    CHECK_INT(r.pid, 0);
    run_record_release(&r);
    /* a lost run that ends after all stays lost: another stau may have taken it over */
    CHECK_INT(
        unit_finish_run(st, id2, &(struct run_finish){RUN_SUCCEEDED, 0, 0, NULL, NULL, NULL}, 8000),
        1);
    CHECK_INT(store_run(st, id2, &r), 1);
    CHECK_STR(run_status_name(r.status), "lost");
    CHECK_INT(r.finished_at, 6000);
    run_record_release(&r);
    check_sound(db, st);
    store_close(st);
}

/* What gc reads: runs by id and a job's runs a page at a time, without the texts gc
 * never looks at; and archives forgotten many at once. */
UNIT_STORE_TEST(store_gc_reads)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record a = sample_run("a"), b = {.job = (char *)"b"};
    int64_t ida[6], idb[2];
    for (int i = 0; i < 4; i++) {
        ida[i] = begin(st, &a, 10);
        finish_as(st, ida[i], RUN_SUCCEEDED, i % 2 ? "a.tar" : NULL, 100 * (i + 1));
    }
    for (int i = 0; i < 2; i++) {
        idb[i] = begin(st, &b, 10);
        finish_as(st, idb[i], RUN_SUCCEEDED, "b.tar", 150 + 100 * i);
    }
    ida[4] = begin(st, &a, 10);
    finish_as(st, ida[4], RUN_FAILED, NULL, 500);
    ida[5] = begin(st, &a, 10); /* still queued */
    /* by id: the recorded ones, ascending, whatever the order of the ids given */
    struct run_list list = {0};
    int64_t ids[] = {ida[1], idb[0], ida[4], ida[5] + 100};
    CHECK_INT(store_gc_runs(st, ids, 4, &list), 0);
    CHECK_INT(list.len, 3);
    if (list.len == 3) {
        const struct run_record *r = &list.items[0];
        CHECK(r->id == ida[1] && list.items[1].id == idb[0] && list.items[2].id == ida[4]);
        CHECK_STR(r->job, "a");
        CHECK_STR(run_status_name(r->status), "succeeded");
        CHECK_INT(r->attempt, 2);
        CHECK_INT(r->finished_at, 200);
        CHECK_INT(r->batch, ida[1]);
        CHECK_STR(r->archive_path, "a.tar");
        CHECK_STR(r->log_path, ".stau/logs/1.log");
        CHECK_STR(r->host, "host-α");
        /* the texts gc never looks at are not read */
        CHECK(!r->kwargs_json && !r->git_commit && !r->work_ids_json && !r->code_fingerprint &&
              !r->outputs_fingerprint && !r->reasons_json && !r->files && !r->env_names_json &&
              !r->kwargs_given_json && !r->git_changes_json && r->git_dirty == RUN_GIT_UNKNOWN);
        CHECK(!list.items[2].archive_path);
        CHECK_STR(run_status_name(list.items[2].status), "failed");
    }
    run_list_release(&list);
    CHECK_INT(store_gc_runs(st, ids, 0, &list), 0);
    CHECK_INT(list.len, 0);
    /* a job's runs, newest first, a page at a time */
    CHECK_INT(store_gc_page(st, "a", INT64_MAX, 2, &list), 0);
    CHECK(list.len == 2 && list.items[0].id == ida[5] && list.items[1].id == ida[4]);
    run_list_release(&list);
    CHECK_INT(store_gc_page(st, "a", ida[4], 3, &list), 0);
    CHECK(list.len == 3 && list.items[0].id == ida[3] && list.items[2].id == ida[1]);
    run_list_release(&list);
    CHECK_INT(store_gc_page(st, "a", ida[1], 3, &list), 0);
    CHECK(list.len == 1 && list.items[0].id == ida[0]);
    run_list_release(&list);
    CHECK_INT(store_gc_page(st, "nope", INT64_MAX, 3, &list), 0);
    CHECK_INT(list.len, 0);
    /* archives forgotten at once; an id not recorded is passed over */
    int64_t gone[] = {ida[1], idb[1], ida[5] + 100};
    CHECK_INT(store_forget_archives(st, gone, 3), 0);
    CHECK_INT(store_forget_archives(st, gone, 0), 0);
    int64_t all[] = {ida[1], ida[3], idb[0], idb[1]};
    CHECK_INT(store_gc_runs(st, all, 4, &list), 0);
    CHECK(list.len == 4 && !list.items[0].archive_path && !list.items[3].archive_path);
    if (list.len == 4) {
        CHECK_STR(list.items[1].archive_path, "a.tar");
        CHECK_STR(list.items[2].archive_path, "b.tar");
    }
    run_list_release(&list);
    check_sound(db, st);
    store_close(st);
}

UNIT_STORE_TEST(store_file_memory)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct store_file files[2] = {
        {(char *)"data/raw/ä.csv",
         1700000000123456789,
         1700000000987654321,
         12345,
         777,
         42,
         {0xfedcba9876543210u, 0x8000000000000001u}},
        {(char *)"data/out/x.parquet", 1, 2, 3, 4, 5, {6, 7}},
    };
    CHECK_INT(store_file_put(st, files, 2, 100), 0);
    struct store_file f;
    CHECK_INT(store_file_get(st, "data/raw/ä.csv", &f), 1);
    CHECK_STR(f.path, "data/raw/ä.csv");
    CHECK(f.mtime_ns == 1700000000123456789 && f.ctime_ns == 1700000000987654321);
    CHECK(f.size == 12345 && f.inode == 777 && f.device == 42);
    CHECK(f.hash.low == 0xfedcba9876543210u && f.hash.high == 0x8000000000000001u);
    free(f.path);
    files[1].size = 99;
    files[1].hash.low = UINT64_MAX;
    CHECK_INT(store_file_put(st, &files[1], 1, 200), 0);
    CHECK_INT(store_file_get(st, "data/out/x.parquet", &f), 1);
    CHECK(f.size == 99 && f.hash.low == UINT64_MAX && f.hash.high == 7);
    free(f.path);
    CHECK_INT(store_file_get(st, "missing", &f), 0);
    /* the second put replaced the entry: every remembered file once, by path */
    struct store_file_list all = {0};
    CHECK_INT(store_files_all(st, &all), 0);
    CHECK_INT(all.len, 2);
    if (all.len == 2) {
        CHECK_STR(all.items[0].path, "data/out/x.parquet");
        CHECK(all.items[0].size == 99 && all.items[0].hash.low == UINT64_MAX);
        CHECK_STR(all.items[1].path, "data/raw/ä.csv");
        CHECK(all.items[1].mtime_ns == 1700000000123456789 && all.items[1].device == 42);
    }
    store_file_list_release(&all);
    if (unit_db_is_sqlite(db))
        check_raw(db->location, "SELECT count(*) FROM files", "2");
    CHECK_INT(store_file_put(st, NULL, 0, 300), 0);

    /* many at once */
    const char *paths[] = {"data/out/x.parquet", "missing", "data/raw/ä.csv"};
    struct store_file many[3];
    bool found[3];
    CHECK_INT(store_files_get(st, paths, 3, many, found), 0);
    CHECK(found[0] && !found[1] && found[2]);
    CHECK_STR(many[0].path, "data/out/x.parquet");
    CHECK(many[0].size == 99 && many[0].hash.low == UINT64_MAX);
    CHECK_STR(many[2].path, "data/raw/ä.csv");
    CHECK(many[2].inode == 777 && many[2].hash.high == 0x8000000000000001u);
    for (size_t i = 0; i < 3; i++)
        free(many[i].path);
    check_sound(db, st);
    store_close(st);
}

/* ---- claims and job versions ---- */

/* The fake liveness a claim asks: the owner of a run is alive when its pid is listed.
 * Every question is noted. */
struct fake_live {
    int live[4];      /* live owner pids (0: unused) */
    int calls;        /* questions asked */
    int64_t asked[8]; /* the runs asked about, in order */
};

static bool fake_holder_live(const struct run_record *active, void *ctx)
{
    struct fake_live *f = ctx;
    if (f->calls < 8)
        f->asked[f->calls] = active->id;
    f->calls++;
    for (size_t i = 0; i < 4; i++)
        if (f->live[i] && f->live[i] == active->owner_pid)
            return true;
    return false;
}

static size_t runs_of(struct store *st, const char *job)
{
    struct run_list list = {0};
    CHECK_INT(store_history(st, job, 0, &list), 0);
    size_t n = list.len;
    run_list_release(&list);
    return n;
}

static int64_t version_of(struct store *st, const char *job)
{
    int64_t v = -1;
    if (!CHECK(store_job_version(st, job, &v) == 0))
        fprintf(stderr, "  %s\n", store_error(st));
    return v;
}

/* A claim of a run of job owned by owner_pid on host h. */
static struct store_claim claim_of(const char *job, int owner_pid, bool exclusive, int64_t seen)
{
    return (struct store_claim){
        .run = {.job = (char *)job, .host = (char *)"h", .owner_pid = owner_pid},
        .exclusive = exclusive,
        .seen_version = seen,
        .outcome = CLAIM_CHANGED, /* garbage in: the claim must set it */
        .id = -7,
    };
}

/* store_claim of n claims at now, asking live; CHECKs that it worked. */
static void claim_ok(struct store *st, struct store_claim *claims, size_t n, int64_t now,
                     struct fake_live *live)
{
    if (!CHECK(store_claim(st, claims, n, now, fake_holder_live, live) == 0))
        fprintf(stderr, "  %s\n", store_error(st));
}

UNIT_STORE_TEST(store_claim_records_a_queued_run)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct fake_live live = {.live = {1}};
    CHECK_INT(version_of(st, "a"), 0); /* never ran */
    struct store_claim c = claim_of("a", 1, true, 0);
    c.run.code_fingerprint = (char *)"code-fp";
    c.run.kwargs_json = (char *)"{\"k\": 1}";
    claim_ok(st, &c, 1, 5000, &live);
    CHECK_INT(c.outcome, CLAIM_GOT);
    CHECK(c.id > 0);
    CHECK_INT(c.holder.id, 0);
    CHECK_INT(live.calls, 0); /* nothing active to ask about */
    struct run_record r;
    CHECK_INT(store_run(st, c.id, &r), 1);
    CHECK_STR(r.job, "a");
    CHECK_STR(run_status_name(r.status), "queued");
    CHECK_INT(r.queued_at, 5000);
    CHECK_INT(r.heartbeat_at, 5000);
    CHECK_INT(r.attempt, 1);
    CHECK_STR(r.host, "h");
    CHECK_INT(r.owner_pid, 1);
    CHECK_STR(r.code_fingerprint, "code-fp");
    CHECK_STR(r.kwargs_json, "{\"k\": 1}");
    CHECK_INT(r.batch, c.id); /* a new invocation */
    run_record_release(&r);
    CHECK_INT(runs_of(st, "a"), 1);
    CHECK(version_of(st, "a") > 0);

    /* a chunk's retry joins its batch, as store_begin_runs makes it */
    struct store_claim retry = claim_of("a", 1, false, -1);
    retry.run.batch = c.id;
    retry.run.chunk = 2;
    retry.run.chunks = 3;
    retry.run.attempt = 2;
    claim_ok(st, &retry, 1, 5100, &live);
    CHECK_INT(retry.outcome, CLAIM_GOT);
    CHECK(retry.id > c.id);
    CHECK_INT(store_run(st, retry.id, &r), 1);
    CHECK(r.batch == c.id && r.chunk == 2 && r.chunks == 3 && r.attempt == 2);
    run_record_release(&r);
    check_sound(db, st);
    store_close(st);
}

/* A claim after the loss of another stau's run (after_run): a newer run of another
 * stau means it claimed the job first (CHANGED); the claimer's own newer runs (other
 * chunks or kwargs of one claim batch) do not. */
UNIT_STORE_TEST(store_claim_after_a_lost_run_counts_only_other_staus)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record other = {.job = (char *)"a", .host = (char *)"h", .owner_pid = 7};
    int64_t lost = begin(st, &other, 100);
    finish_as(st, lost, RUN_LOST, NULL, 150);
    struct fake_live live = {.live = {8, 9}};
    /* two claims of one stau in one call: the second sees the first's run, its own */
    struct store_claim two[2] = {claim_of("a", 8, false, -1), claim_of("a", 8, false, -1)};
    two[0].after_run = two[1].after_run = lost;
    two[0].run.kwargs_json = (char *)"{\"k\": 1}";
    two[1].run.kwargs_json = (char *)"{\"k\": 2}";
    claim_ok(st, two, 2, 200, &live);
    CHECK_INT(two[0].outcome, CLAIM_GOT);
    CHECK_INT(two[1].outcome, CLAIM_GOT);
    CHECK(two[1].id > two[0].id && two[0].id > lost);
    /* a third stau that waited for the lost run too: the job ran meanwhile */
    struct store_claim late = claim_of("a", 9, false, -1);
    late.after_run = lost;
    claim_ok(st, &late, 1, 300, &live);
    CHECK_INT(late.outcome, CLAIM_CHANGED);
    CHECK_INT(late.holder.id, two[1].id);
    CHECK_INT(late.id, 0);
    CHECK_INT(runs_of(st, "a"), 3);
    run_record_release(&two[0].holder);
    run_record_release(&two[1].holder);
    run_record_release(&late.holder);
    check_sound(db, st);
    store_close(st);
}

UNIT_STORE_TEST(store_claim_exclusive_is_held_by_a_live_owner)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record mine = {.job = (char *)"a", .host = (char *)"h", .owner_pid = 7};
    int64_t done = begin(st, &mine, 100);
    finish_as(st, done, RUN_SUCCEEDED, NULL, 150);
    int64_t held = begin(st, &mine, 200);
    int64_t v = version_of(st, "a");

    /* queued, its owner alive: held, nothing recorded */
    struct fake_live live = {.live = {7}};
    struct store_claim c = claim_of("a", 8, true, v);
    claim_ok(st, &c, 1, 300, &live);
    CHECK_INT(c.outcome, CLAIM_HELD);
    CHECK_INT(c.holder.id, held);
    CHECK_STR(c.holder.job, "a");
    CHECK_INT(c.holder.owner_pid, 7);
    CHECK_INT(c.id, 0);
    CHECK_INT(live.calls, 1); /* only the unfinished run is asked about */
    CHECK_INT(live.asked[0], held);
    run_record_release(&c.holder);
    CHECK_INT(runs_of(st, "a"), 2);
    CHECK_INT(version_of(st, "a"), v);

    /* running, its owner alive: held */
    CHECK_INT(unit_start_run(st, held, 70, 310), 0);
    v = version_of(st, "a");
    c = claim_of("a", 8, true, v);
    claim_ok(st, &c, 1, 320, &live);
    CHECK_INT(c.outcome, CLAIM_HELD);
    CHECK_INT(c.holder.id, held);
    CHECK_STR(run_status_name(c.holder.status), "running");
    run_record_release(&c.holder);
    CHECK_INT(runs_of(st, "a"), 2);

    /* a gone owner's run does not hold it, a live one's after it does */
    struct run_record other = {.job = (char *)"a", .host = (char *)"h", .owner_pid = 9};
    int64_t newer = begin(st, &other, 330);
    live = (struct fake_live){.live = {9}};
    c = claim_of("a", 8, true, -1);
    claim_ok(st, &c, 1, 340, &live);
    CHECK_INT(c.outcome, CLAIM_HELD);
    CHECK_INT(c.holder.id, newer);
    CHECK_INT(live.calls, 2);
    CHECK(live.asked[0] == held && live.asked[1] == newer);
    run_record_release(&c.holder);

    /* every owner gone: got */
    live = (struct fake_live){0};
    c = claim_of("a", 8, true, -1);
    claim_ok(st, &c, 1, 350, &live);
    CHECK_INT(c.outcome, CLAIM_GOT);
    CHECK(c.id > newer);
    CHECK_INT(c.holder.id, 0);
    CHECK_INT(live.calls, 2);
    CHECK_INT(runs_of(st, "a"), 4);

    /* not exclusive (allow_multiple_jobs): live owners are not even asked */
    live = (struct fake_live){.live = {7, 8, 9}};
    struct store_claim many = claim_of("a", 8, false, -1);
    claim_ok(st, &many, 1, 360, &live);
    CHECK_INT(many.outcome, CLAIM_GOT);
    CHECK(many.id > c.id);
    CHECK_INT(live.calls, 0);
    CHECK_INT(runs_of(st, "a"), 5);
    check_sound(db, st);
    store_close(st);
}

UNIT_STORE_TEST(store_claim_refuses_a_past_that_moved_on)
{
    struct store *one = unit_db_open(db), *two = unit_db_open(db);
    if (!one || !two) {
        store_close(one);
        store_close(two);
        return;
    }
    struct fake_live live = {0};
    struct run_record earlier = {.job = (char *)"a"};
    finish_as(one, begin(one, &earlier, 100), RUN_SUCCEEDED, NULL, 110);
    int64_t seen = version_of(one, "a");

    /* another stau records a run of the job meanwhile */
    struct run_record theirs = {.job = (char *)"a", .host = (char *)"there", .owner_pid = 3};
    int64_t recorded = begin(two, &theirs, 200);
    struct store_claim c = claim_of("a", 1, false, seen);
    claim_ok(one, &c, 1, 210, &live);
    CHECK_INT(c.outcome, CLAIM_CHANGED);
    CHECK_INT(c.holder.id, recorded); /* the newest run */
    CHECK_STR(c.holder.host, "there");
    CHECK_INT(c.id, 0);
    run_record_release(&c.holder);
    CHECK_INT(runs_of(one, "a"), 2);

    /* ... and ends it */
    seen = version_of(one, "a");
    CHECK_INT(unit_start_run(two, recorded, 33, 220), 0);
    struct run_finish fin = {RUN_FAILED, 1, 0, NULL, NULL, NULL};
    CHECK_INT(unit_finish_run(two, recorded, &fin, 230), 0);
    c = claim_of("a", 1, true, seen);
    claim_ok(one, &c, 1, 240, &live);
    CHECK_INT(c.outcome, CLAIM_CHANGED);
    CHECK_INT(c.holder.id, recorded);
    CHECK_STR(run_status_name(c.holder.status), "failed");
    run_record_release(&c.holder);
    CHECK_INT(runs_of(one, "a"), 2);
    CHECK_INT(live.calls, 0); /* nothing active: no owner to ask about */

    /* -1: no check */
    c = claim_of("a", 1, true, seen);
    c.seen_version = -1;
    claim_ok(one, &c, 1, 250, &live);
    CHECK_INT(c.outcome, CLAIM_GOT);
    CHECK_INT(runs_of(one, "a"), 3);

    /* judged again on the current version: got */
    seen = version_of(one, "a");
    CHECK_INT(version_of(two, "a"), seen); /* one version, whichever handle reads it */
    c = claim_of("a", 1, false, seen);
    claim_ok(one, &c, 1, 260, &live);
    CHECK_INT(c.outcome, CLAIM_GOT);
    CHECK(c.id > recorded);
    CHECK_INT(runs_of(two, "a"), 4);
    /* that claim moved the version itself */
    c = claim_of("a", 1, false, seen);
    claim_ok(two, &c, 1, 270, &live);
    CHECK_INT(c.outcome, CLAIM_CHANGED);
    run_record_release(&c.holder);
    check_sound(db, one);
    store_close(one);
    store_close(two);
}

UNIT_STORE_TEST(store_claim_many_at_once)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record held_run = {.job = (char *)"held", .host = (char *)"h", .owner_pid = 7};
    struct run_record dead_run = {.job = (char *)"dead", .host = (char *)"h", .owner_pid = 8};
    struct run_record moved_run = {.job = (char *)"moved", .host = (char *)"h", .owner_pid = 9};
    int64_t held = begin(st, &held_run, 100);
    int64_t dead = begin(st, &dead_run, 100);
    int64_t stale_version = version_of(st, "moved");
    int64_t moved = begin(st, &moved_run, 110);

    struct fake_live live = {.live = {7}};
    struct store_claim c[5] = {
        claim_of("fresh", 1, true, version_of(st, "fresh")),
        claim_of("held", 1, true, version_of(st, "held")),
        claim_of("moved", 1, false, stale_version),
        claim_of("dead", 1, true, version_of(st, "dead")),
        claim_of("other", 1, false, -1),
    };
    claim_ok(st, c, 5, 200, &live);
    CHECK_INT(c[0].outcome, CLAIM_GOT);
    CHECK_INT(c[1].outcome, CLAIM_HELD);
    CHECK_INT(c[2].outcome, CLAIM_CHANGED);
    CHECK_INT(c[3].outcome, CLAIM_GOT);
    CHECK_INT(c[4].outcome, CLAIM_GOT);
    CHECK_INT(c[1].holder.id, held);
    CHECK_INT(c[2].holder.id, moved);
    CHECK(c[1].id == 0 && c[2].id == 0);
    CHECK(c[0].holder.id == 0 && c[3].holder.id == 0 && c[4].holder.id == 0);
    CHECK(c[0].id > moved && c[3].id > moved && c[4].id > moved);
    CHECK(c[0].id != c[3].id && c[0].id != c[4].id && c[3].id != c[4].id);
    size_t got[] = {0, 3, 4};
    for (size_t i = 0; i < 3; i++) {
        struct run_record r;
        CHECK_INT(store_run(st, c[got[i]].id, &r), 1);
        CHECK_STR(r.job, c[got[i]].run.job);
        CHECK_STR(run_status_name(r.status), "queued");
        CHECK_INT(r.queued_at, 200);
        run_record_release(&r);
    }
    CHECK(runs_of(st, "held") == 1 && runs_of(st, "moved") == 1 && runs_of(st, "dead") == 2);
    CHECK_INT(runs_of(st, NULL), 6);
    struct run_record r;
    CHECK_INT(store_run(st, dead, &r), 1); /* a claim does not touch the run in its way */
    CHECK_STR(run_status_name(r.status), "queued");
    run_record_release(&r);
    for (size_t i = 0; i < 5; i++)
        run_record_release(&c[i].holder);

    /* all or nothing: one claim that cannot be recorded and none is */
    int64_t v = version_of(st, "fresh2");
    struct store_claim bad[2] = {claim_of("fresh2", 1, true, v), claim_of(NULL, 1, false, -1)};
    CHECK_INT(store_claim(st, bad, 2, 300, fake_holder_live, &live), -1);
    CHECK(says_not_null(store_error(st)));
    CHECK_INT(runs_of(st, "fresh2"), 0);
    CHECK_INT(runs_of(st, NULL), 6);
    CHECK_INT(version_of(st, "fresh2"), v);
    check_sound(db, st);
    store_close(st);
}

UNIT_STORE_TEST(store_job_version_moves_with_each_run_and_state)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    CHECK_INT(version_of(st, "a"), 0);
    struct run_record in = {.job = (char *)"a", .host = (char *)"h", .owner_pid = 42};
    struct run_record other = {.job = (char *)"b"};
    int64_t v = 0, now;
#define MOVED() (now = version_of(st, "a"), CHECK(now > v), v = now)
#define STAYED() CHECK_INT(version_of(st, "a"), v)
    int64_t id = begin(st, &in, 100);
    MOVED(); /* recorded */
    CHECK_INT(unit_start_run(st, id, 99, 110), 0);
    MOVED(); /* running */
    struct store_owner owner = {"h", 42, 0};
    CHECK_INT(store_heartbeat(st, &owner, 120), 1);
    STAYED(); /* a heartbeat is no change of state */
    CHECK_INT(unit_start_run(st, id, 98, 125), 1);
    STAYED(); /* a start that changed nothing */
    int64_t b = begin(st, &other, 126);
    CHECK_INT(unit_start_run(st, b, 97, 127), 0);
    STAYED(); /* another job's runs */
    finish_as(st, id, RUN_SUCCEEDED, NULL, 130);
    MOVED(); /* ended */
    CHECK_INT(store_set_archive(st, id, "a.tar.zst"), 0);
    STAYED(); /* an archive path */
    CHECK_INT(
        unit_finish_run(st, id, &(struct run_finish){RUN_FAILED, 1, 0, NULL, NULL, NULL}, 136), 1);
    STAYED(); /* an end of an ended run */
    int64_t second = begin(st, &in, 140);
    MOVED();
    CHECK_INT(store_mark_lost(st, second, 140, 150), 1);
    MOVED(); /* lost */
    CHECK_INT(unit_finish_run(st, second,
                              &(struct run_finish){RUN_SUCCEEDED, 0, 0, NULL, NULL, NULL}, 160),
              1);
    STAYED(); /* lost, then an end that is refused */
#undef MOVED
#undef STAYED
    store_close(st);
    /* kept across closing and opening */
    st = unit_db_open(db);
    CHECK(st && version_of(st, "a") == v);
    store_close(st);
}

/* ---- what a plan reads, and serving staus ---- */

UNIT_STORE_TEST(store_job_pasts_read_many_jobs_at_once)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record a = {.job = (char *)"a"};
    int64_t ok = begin(st, &a, 100);
    finish_as(st, ok, RUN_SUCCEEDED, NULL, 110);
    int64_t failed = begin(st, &a, 200);
    CHECK_INT(unit_start_run(st, failed, 5, 210), 0);
    finish_as(st, failed, RUN_FAILED, NULL, 220);
    int64_t queued = begin(st, &a, 300);
    const char *jobs[] = {"a", "never"};
    struct store_job_past pasts[2];
    memset(pasts, 0xff, sizeof(pasts)); /* garbage: zeroed first */
    CHECK_INT(store_snapshot_begin(st), 0);
    int64_t trips = st->round_trips;
    CHECK_INT(store_job_pasts(st, jobs, 2, pasts), 0);
    if (unit_db_is_postgres(db))
        CHECK_INT(st->round_trips - trips, 1); /* every job's past in one request */
    CHECK_INT(store_snapshot_end(st), 0);
    CHECK(pasts[0].last_batch.len == 1 && pasts[0].last_batch.items[0].id == queued);
    CHECK(pasts[0].succeeded_batch.len == 1 && pasts[0].succeeded_batch.items[0].id == ok);
    CHECK_INT(pasts[0].last_started.id, failed);
    CHECK_INT(pasts[0].version, version_of(st, "a"));
    CHECK(pasts[1].last_batch.len == 0 && pasts[1].succeeded_batch.len == 0);
    CHECK_INT(pasts[1].last_started.id, 0);
    CHECK_INT(pasts[1].version, 0);
    /* outside a snapshot too */
    store_job_past_release(&pasts[0]);
    store_job_past_release(&pasts[1]);
    CHECK_INT(store_job_pasts(st, jobs, 1, pasts), 0);
    CHECK_INT(pasts[0].last_started.id, failed);
    store_job_past_release(&pasts[0]);
    CHECK_INT(pasts[0].last_batch.len, 0); /* released and zeroed */
    store_close(st);
}

UNIT_STORE_TEST(store_owners_serving)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct store_owner a = {"h1", 10, 1000}, b = {"h2", 10, 1000}, a_again = {"h1", 10, 2000};
    CHECK_INT(store_owner_serving(st, &a, 100), 0);
    CHECK_INT(store_owner_serving(st, &b, 200), 0);
    CHECK_INT(store_owner_serving(st, &a_again, 250), 0); /* same pid, another process */
    CHECK_INT(store_owner_serving(st, &a, 300), 0);       /* a beat: since stays */
    struct store_owner_list list = {0};
    CHECK_INT(store_owners(st, &list), 0);
    CHECK_INT(list.len, 3);
    if (list.len == 3) {
        CHECK_STR(list.items[0].host, "h1");
        CHECK(list.items[0].pid == 10 && list.items[0].start == 1000);
        CHECK(list.items[0].since == 100 && list.items[0].heartbeat_at == 300);
        CHECK_STR(list.items[1].host, "h2");
        CHECK(list.items[1].since == 200 && list.items[1].heartbeat_at == 200);
        CHECK(list.items[2].start == 2000 && list.items[2].since == 250);
    }
    store_owner_list_release(&list);
    CHECK_INT(store_owner_stopped(st, &a), 0);
    CHECK_INT(store_owners(st, &list), 0);
    CHECK(list.len == 2 && strcmp(list.items[0].host, "h2") == 0 && list.items[1].start == 2000);
    store_owner_list_release(&list);
    CHECK_INT(store_owner_stopped(st, &a), 0); /* already gone: fine */
    check_sound(db, st);
    store_close(st);
}

/* The fake liveness of a leader: alive unless its pid is dead_pid. */
static bool fake_leader_live(const struct store_owner_row *leader, void *ctx)
{
    return leader->pid != *(int *)ctx;
}

UNIT_STORE_TEST(store_leader_lease)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct store_owner a = {"h1", 10, 1000}, b = {"h2", 20, 2000};
    int dead = 0;
    struct store_owner_row row = {0};
    CHECK_INT(store_lead(st, &a, 100, fake_leader_live, &dead, &row), 1); /* nobody led */
    CHECK_INT(store_lead(st, &a, 200, fake_leader_live, &dead, &row), 1); /* renewed */
    CHECK_INT(store_lead(st, &b, 250, fake_leader_live, &dead, &row), 0); /* a is alive */
    CHECK_STR(row.host, "h1");
    CHECK(row.pid == 10 && row.start == 1000 && row.since == 100 && row.heartbeat_at == 200);
    free(row.host);
    row.host = NULL;
    CHECK_INT(store_owner_serving(st, &a, 100), 0);
    CHECK_INT(store_owner_serving(st, &b, 150), 0);
    struct store_owner_list list = {0};
    CHECK_INT(store_owners(st, &list), 0);
    CHECK(list.len == 2 && list.items[0].leads && !list.items[1].leads);
    store_owner_list_release(&list);

    dead = 10; /* a is gone: b takes the lease over */
    CHECK_INT(store_lead(st, &b, 300, fake_leader_live, &dead, &row), 1);
    dead = 0;
    CHECK_INT(store_lead(st, &a, 310, fake_leader_live, &dead, &row), 0); /* b leads now */
    CHECK(row.pid == 20 && row.since == 300);
    free(row.host);
    row.host = NULL;
    CHECK_INT(store_resign(st, &a), 0); /* not a's to give up: nothing changes */
    CHECK_INT(store_lead(st, &a, 320, fake_leader_live, &dead, NULL), 0);
    CHECK_INT(store_resign(st, &b), 0);
    CHECK_INT(store_lead(st, &a, 330, fake_leader_live, &dead, &row), 1); /* free again */
    CHECK_INT(store_owners(st, &list), 0);
    CHECK(list.len == 2 && list.items[0].leads && !list.items[1].leads);
    store_owner_list_release(&list);
    check_sound(db, st);
    store_close(st);
}

UNIT_STORE_TEST(store_enqueue_is_fenced_and_taken_by_a_claim)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct store_owner leader = {"h", 1, 100}, other = {"h", 2, 200};
    int dead = 0;
    CHECK_INT(store_lead(st, &leader, 100, fake_leader_live, &dead, NULL), 1);
    struct run_record tick = {.job = (char *)"t",
                              .host = (char *)"ignored",
                              .owner_pid = 77,
                              .reasons_json = (char *)"[\"schedule\"]",
                              .code_fingerprint = (char *)"fp"};
    int64_t v = version_of(st, "t"), id = -1;
    CHECK_INT(store_enqueue(st, &other, &tick, &v, 1, 500, &id), 0); /* not the leader */
    CHECK_INT(id, 0);
    CHECK_INT(runs_of(st, "t"), 0);
    CHECK_INT(store_enqueue(st, &leader, &tick, &v, 1, 500, &id), 1);
    CHECK(id > 0);
    int64_t enqueued = id;
    struct run_record r;
    CHECK_INT(store_run(st, enqueued, &r), 1);
    CHECK(run_unassigned(&r) && r.queued_at == 500);
    CHECK_STR(r.reasons_json, "[\"schedule\"]");
    run_record_release(&r);
    /* once per job: a second enqueue, or one judged on a past that moved, records nothing */
    int64_t now_v = version_of(st, "t");
    CHECK_INT(store_enqueue(st, &leader, &tick, &now_v, 1, 510, &id), 1);
    CHECK_INT(id, 0);
    CHECK_INT(runs_of(st, "t"), 1);

    /* an enqueued upstream makes a dependent wait, its owner asked after by nobody */
    struct fake_live live = {.live = {1, 2, 8}};
    struct store_claim down = claim_of("down", 8, true, version_of(st, "down"));
    const char *ups[] = {"t"};
    down.upstreams = ups;
    down.upstream_count = 1;
    claim_ok(st, &down, 1, 520, &live);
    CHECK_INT(down.outcome, CLAIM_WAIT);
    CHECK_INT(down.holder.id, enqueued);
    CHECK_INT(live.calls, 0);
    run_record_release(&down.holder);
    CHECK_INT(runs_of(st, "down"), 0);

    /* a claim takes the run over, whatever the version it saw */
    struct store_claim c = claim_of("t", 8, true, v);
    c.run.kwargs_json = (char *)"{}";
    c.run.env_names_json = (char *)"[\"A\"]";
    c.run.kwargs_given_json = (char *)"{\"k\":1}";
    c.run.git_dirty = RUN_GIT_CLEAN;
    claim_ok(st, &c, 1, 600, &live);
    CHECK_INT(c.outcome, CLAIM_GOT);
    CHECK_INT(c.id, enqueued);
    CHECK_INT(store_run(st, enqueued, &r), 1);
    CHECK_STR(r.host, "h");
    CHECK(r.owner_pid == 8 && r.status == RUN_QUEUED && r.queued_at == 500 &&
          r.heartbeat_at == 600 && !run_unassigned(&r));
    CHECK_STR(r.kwargs_json, "{}");
    CHECK_STR(r.env_names_json, "[\"A\"]");
    CHECK_STR(r.kwargs_given_json, "{\"k\":1}");
    CHECK_INT(r.git_dirty, RUN_GIT_CLEAN);
    run_record_release(&r);
    CHECK_INT(runs_of(st, "t"), 1);
    CHECK_INT(store_withdraw(st, enqueued), 0); /* taken: not the leader's any more */
    down.outcome = CLAIM_CHANGED;
    claim_ok(st, &down, 1, 605, &live); /* the upstream is the claim's own now */
    CHECK_INT(down.outcome, CLAIM_GOT);
    /* a second claim is held by the run it took */
    struct store_claim again = claim_of("t", 2, true, -1);
    claim_ok(st, &again, 1, 610, &live);
    CHECK_INT(again.outcome, CLAIM_HELD);
    CHECK_INT(again.holder.id, enqueued);
    run_record_release(&again.holder);

    /* a retry or a rerun never takes an enqueued run */
    struct run_record other_tick = {.job = (char *)"u"};
    int64_t vu = version_of(st, "u"), uid = 0;
    CHECK_INT(store_enqueue(st, &leader, &other_tick, &vu, 1, 700, &uid), 1);
    struct store_claim retry = claim_of("u", 8, false, -1);
    retry.run.rerun_of = enqueued;
    claim_ok(st, &retry, 1, 710, &live);
    CHECK(retry.outcome == CLAIM_GOT && retry.id != uid);
    CHECK_INT(store_withdraw(st, uid), 1);
    CHECK_INT(store_run(st, uid, &r), 0);
    CHECK_INT(store_withdraw(st, uid), 0);
    check_sound(db, st);
    store_close(st);
}

/* Schema version 1 exactly as it shipped, written by hand. */
static const char *schema_v1 =
    "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL,"
    " attempt INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL CHECK (status IN ('queued',"
    " 'running', 'succeeded', 'failed', 'timed-out', 'interrupted', 'lost', 'skipped')),"
    " queued_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, exit_code INTEGER,"
    " signal INTEGER, host TEXT, pid INTEGER, git_commit TEXT, kwargs_json TEXT,"
    " work_ids_json TEXT, code_fingerprint TEXT, config_fingerprint TEXT,"
    " inputs_fingerprint TEXT, outputs_fingerprint TEXT, reasons_json TEXT, log_path TEXT,"
    " archive_path TEXT, rerun_of INTEGER REFERENCES runs(id) ON DELETE SET NULL);"
    "CREATE INDEX runs_by_job ON runs(job, id);"
    "CREATE INDEX runs_by_job_status ON runs(job, status, id);"
    "CREATE TABLE schedule (job TEXT PRIMARY KEY, last_tick INTEGER NOT NULL,"
    " marked_at INTEGER NOT NULL);"
    "INSERT INTO runs (job, status, queued_at, started_at, finished_at, exit_code, host, pid,"
    " kwargs_json, archive_path) VALUES ('old.job', 'succeeded', 10, 20, 30, 0, 'h', 5,"
    " '{\"k\": \"ü\"}', 'old.tar');"
    "INSERT INTO runs (job, status, queued_at, started_at, host, pid)"
    " VALUES ('old.job', 'running', 40, 50, 'h', 6);"
    "INSERT INTO schedule VALUES ('old.job', 1000, 1001);"
    "PRAGMA user_version = 1;";

/* Per job and work ID, the last success: kept as chunks succeed, read in one call. */
UNIT_STORE_TEST(store_work_done_keeps_each_ids_last_success)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    int64_t ids[] = {1, 2, 3, 4, 99};
    int64_t at[5] = {7, 7, 7, 7, 7};
    CHECK_INT(store_work_done(st, "a", ids, 5, at), 0);
    for (int i = 0; i < 5; i++)
        CHECK_INT(at[i], 0);
    struct run_record r = sample_run("a");
    r.work_ids_json = (char *)"[1, 2]";
    int64_t first = begin(st, &r, 100);
    finish_as(st, first, RUN_SUCCEEDED, NULL, 200);
    r.work_ids_json = (char *)"[2,3]";
    int64_t failed = begin(st, &r, 300);
    finish_as(st, failed, RUN_FAILED, NULL, 400);
    r.work_ids_json = (char *)"[3, 4]";
    int64_t second = begin(st, &r, 500);
    finish_as(st, second, RUN_SUCCEEDED, NULL, 600);
    /* another job's successes are its own; a run not split has none */
    struct run_record other = sample_run("b");
    other.work_ids_json = (char *)"[1]";
    finish_as(st, begin(st, &other, 700), RUN_SUCCEEDED, NULL, 800);
    other.work_ids_json = NULL;
    finish_as(st, begin(st, &other, 900), RUN_SUCCEEDED, NULL, 1000);
    /* work IDs as no stau writes them end a run as well, and count for nothing */
    const char *odd[] = {"", "nope", "{\"a\": 2}", "[99999999999999999999, \"2\", 2.5]"};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        other.work_ids_json = (char *)odd[i];
        finish_as(st, begin(st, &other, 1100), RUN_SUCCEEDED, NULL, 1200);
    }
    CHECK_INT(store_work_done(st, "a", ids, 5, at), 0);
    CHECK_INT(at[0], 200);
    CHECK_INT(at[1], 200); /* the failed run does not count */
    CHECK_INT(at[2], 600);
    CHECK_INT(at[3], 600);
    CHECK_INT(at[4], 0);
    int64_t b_ids[] = {1, 2};
    CHECK_INT(store_work_done(st, "b", b_ids, 2, at), 0);
    CHECK_INT(at[0], 800);
    CHECK_INT(at[1], 0);
    CHECK_INT(store_work_done(st, "a", ids, 0, at), 0);
    /* a network store answers in one request, however many IDs */
    int64_t trips = st->round_trips;
    int64_t many[500];
    int64_t many_at[500];
    for (int i = 0; i < 500; i++)
        many[i] = i;
    CHECK_INT(store_work_done(st, "a", many, 500, many_at), 0);
    CHECK_INT(many_at[3], 600);
    if (!unit_db_is_sqlite(db))
        CHECK_INT(st->round_trips - trips, 1);
    check_sound(db, st);
    store_close(st);
}

/* Many jobs' work IDs at once: one request for all of them (a plan asks for every job
 * it judges per work ID), whatever each ask holds. */
UNIT_STORE_TEST(store_work_done_many_reads_every_ask_at_once)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record r = sample_run("a");
    r.work_ids_json = (char *)"[1, 2]";
    finish_as(st, begin(st, &r, 100), RUN_SUCCEEDED, NULL, 200);
    r.work_ids_json = (char *)"[2, 5]";
    finish_as(st, begin(st, &r, 300), RUN_SUCCEEDED, NULL, 400);
    struct run_record other = sample_run("b \"quoted\" ü");
    other.work_ids_json = (char *)"[-3, 9000000000]";
    finish_as(st, begin(st, &other, 500), RUN_SUCCEEDED, NULL, 600);

    int64_t a_ids[] = {5, 1, 5, 7, 2, 1}; /* repeats, and one never done */
    int64_t b_ids[] = {9000000000, -3, 1};
    int64_t nope_ids[] = {1, 2};
    int64_t a_at[6], b_at[3], nope_at[2], none_at[1] = {7};
    for (int i = 0; i < 6; i++)
        a_at[i] = 7;
    for (int i = 0; i < 3; i++)
        b_at[i] = 7;
    nope_at[0] = nope_at[1] = 7;
    struct work_done_ask asks[] = {
        {"nope", nope_ids, 2, nope_at},     /* a job that never ran */
        {"a", a_ids, 6, a_at},              /* */
        {"a", NULL, 0, none_at},            /* nothing asked */
        {"b \"quoted\" ü", b_ids, 3, b_at}, /* a name JSON and arrays must quote */
        {"a", a_ids + 3, 1, none_at},       /* the same job again */
    };
    int64_t trips = st->round_trips;
    if (!CHECK_INT(store_work_done_many(st, asks, 5), 0))
        fprintf(stderr, "  %s\n", store_error(st));
    int64_t want_a[] = {400, 200, 400, 0, 400, 200};
    for (int i = 0; i < 6; i++)
        CHECK_INT(a_at[i], want_a[i]);
    CHECK(b_at[0] == 600 && b_at[1] == 600 && b_at[2] == 0);
    CHECK(nope_at[0] == 0 && nope_at[1] == 0);
    CHECK_INT(none_at[0], 0); /* the last ask's one ID (7) was never done */
    if (!unit_db_is_sqlite(db))
        CHECK_INT(st->round_trips - trips, 1);

    /* nothing to look up: no request at all */
    trips = st->round_trips;
    CHECK_INT(store_work_done_many(st, NULL, 0), 0);
    CHECK_INT(store_work_done_many(st, asks + 2, 1), 0);
    CHECK_INT(st->round_trips - trips, 0);

    /* more IDs than one request carries: cut into requests, an ask cut in two too */
    for (int i = 0; i < 6; i++)
        a_at[i] = 7;
    st->ids_per_request = 4;
    trips = st->round_trips;
    CHECK_INT(store_work_done_many(st, asks, 5), 0);
    for (int i = 0; i < 6; i++)
        CHECK_INT(a_at[i], want_a[i]);
    CHECK(b_at[0] == 600 && b_at[1] == 600 && b_at[2] == 0 && nope_at[1] == 0);
    if (!unit_db_is_sqlite(db))
        CHECK_INT(st->round_trips - trips, 3); /* 12 IDs, 4 a request */
    st->ids_per_request = 0;

    /* a plan's worth: 4,000 jobs of 1,000 IDs each, still one request */
    enum { JOBS = 4000, IDS = 1000 };
    int64_t *ids = xcalloc(IDS, sizeof(*ids));
    for (int i = 0; i < IDS; i++)
        ids[i] = IDS - i; /* 1000 .. 1: a's 5, 2 and 1 among them */
    int64_t *at = xcalloc((size_t)JOBS * IDS, sizeof(*at));
    struct work_done_ask *plan = xcalloc(JOBS, sizeof(*plan));
    char **names = xcalloc(JOBS, sizeof(*names));
    for (int j = 0; j < JOBS; j++) {
        names[j] = j == 1234 ? xstrdup("a") : xprintf("job.%d", j);
        plan[j] = (struct work_done_ask){names[j], ids, IDS, at + (size_t)j * IDS};
    }
    trips = st->round_trips;
    if (!CHECK_INT(store_work_done_many(st, plan, JOBS), 0))
        fprintf(stderr, "  %s\n", store_error(st));
    if (!unit_db_is_sqlite(db))
        CHECK_INT(st->round_trips - trips, 1);
    int64_t found = 0, sum = 0;
    for (size_t i = 0; i < (size_t)JOBS * IDS; i++) {
        found += at[i] != 0;
        sum += at[i];
    }
    CHECK_INT(found, 3);
    CHECK_INT(sum, 400 + 400 + 200);
    int64_t *a_row = at + (size_t)1234 * IDS;
    CHECK(a_row[IDS - 5] == 400 && a_row[IDS - 2] == 400 && a_row[IDS - 1] == 200);
    for (int j = 0; j < JOBS; j++)
        free(names[j]);
    free(names);
    free(plan);
    free(at);
    free(ids);
    check_sound(db, st);
    store_close(st);
}

/* Schema version 9 as this stau made it, with runs written as it wrote them; then
 * migrated to 10 (the status 'cancelled'): SQLite makes runs again, PostgreSQL swaps
 * the CHECK. Every run, index, trigger and foreign key is kept, and the triggers go on
 * working. */
UNIT_STORE_TEST(store_migrates_version_9_for_cancelled)
{
    struct strbuf err = STRBUF_INIT;
    if (!CHECK(store_make_version(db->location, db->schema, 9, &err) == 0)) {
        fprintf(stderr, "  %s\n", strbuf_str(&err));
        strbuf_release(&err);
        return;
    }
    strbuf_release(&err);
    check_db_sql(
        db,
        "INSERT INTO runs (job, attempt, status, queued_at, started_at, finished_at,"
        " exit_code, host, pid, owner_pid, owner_start, heartbeat_at, kwargs_json,"
        " work_ids_json, rerun_of, batch, chunk, chunks) VALUES"
        " ('m', 1, 'succeeded', 10, 20, 30, 0, 'h', 5, 77, 88, 30, '{\"k\": \"ü\"}',"
        " '[1, 2]', NULL, 1, 1, 2),"
        " ('m', 1, 'failed', 11, 21, 31, 1, 'h', 6, 77, 88, 31, '{}', '[3]', NULL, 1, 2, 2),"
        " ('m', 2, 'running', 40, 50, NULL, NULL, 'h', 7, 77, 88, 50, '{}', '[3]', 2, 1,"
        " 2, 2),"
        " ('w', 1, 'queued', 60, NULL, NULL, NULL, NULL, NULL, 0, 0, 60, '{}', NULL, NULL,"
        " 4, NULL, NULL)",
        "");
    check_db_sql(db, "DELETE FROM runs WHERE id = 4", ""); /* the newest run went */
    char *refused = unit_db_sql(db, "INSERT INTO runs (job, status, queued_at)"
                                    " VALUES ('c', 'cancelled', 1)");
    CHECK(starts_with(refused, "error: ") && strcasestr(refused, "check"));
    free(refused);
    const char *shape_sql, *foreign_sql, *foreign_want;
    if (unit_db_is_sqlite(db)) {
        shape_sql =
            "SELECT count(*) || ': ' || group_concat(type || ' ' || name || ' ' || sql,"
            " ' | ') FROM (SELECT type, name, sql FROM sqlite_master"
            " WHERE tbl_name = 'runs' AND type IN ('index', 'trigger') ORDER BY type, name)";
        foreign_sql = "SELECT group_concat(\"from\" || ' -> ' || \"table\" || '(' || \"to\" || ') '"
                      " || on_delete) FROM pragma_foreign_key_list('runs')";
        foreign_want = "rerun_of -> runs(id) SET NULL";
    } else {
        /* the CHECK under another name than the server gives it: the migration finds it */
        check_db_sql(db, "ALTER TABLE runs RENAME CONSTRAINT runs_status_check TO odd_name", "");
        shape_sql = "SELECT count(*) || ': ' || string_agg(d, ' | ' ORDER BY d) FROM"
                    " (SELECT indexdef AS d FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND tablename = 'runs' UNION ALL SELECT pg_get_triggerdef(oid)"
                    " FROM pg_trigger WHERE tgrelid = 'runs'::regclass AND NOT tgisinternal) x";
        foreign_sql = "SELECT string_agg(pg_get_constraintdef(oid), ' | ') FROM pg_constraint"
                      " WHERE conrelid = 'runs'::regclass AND contype = 'f'";
        foreign_want = "FOREIGN KEY (rerun_of) REFERENCES runs(id) ON DELETE SET NULL";
    }
    char *shape = unit_db_sql(db, shape_sql);
    /* SQLite: 5 indexes, 7 triggers; PostgreSQL: 6 indexes (its key's too), 6 triggers */
    CHECK(starts_with(shape, "12: "));
    check_db_sql(db, foreign_sql, foreign_want);
    char *generation = unit_db_sql(db, "SELECT n FROM generation");

    struct store *st = unit_db_open(db);
    if (!st) {
        free(shape);
        free(generation);
        return;
    }
    CHECK_INT(st->schema_version, atoi(SCHEMA_NOW));
    check_db_sql(db, unit_db_is_sqlite(db) ? "PRAGMA user_version" : "SELECT version FROM meta",
                 SCHEMA_NOW);
    if (unit_db_is_sqlite(db)) {
        char *backup = xprintf("%s.bak-v9", db->location);
        check_raw(backup, "SELECT count(*) FROM runs", "3");
        free(backup);
        check_db_sql(db,
                     "SELECT instr(sql, 'cancelled') > 0 FROM sqlite_master"
                     " WHERE name = 'runs'",
                     "1");
    } else {
        check_db_sql(db,
                     "SELECT string_agg(conname, ' ') FROM pg_constraint"
                     " WHERE conrelid = 'runs'::regclass AND contype = 'c'",
                     "runs_status_check");
    }
    check_db_sql(db, shape_sql, shape); /* every index and trigger, as they were */
    check_db_sql(db, foreign_sql, foreign_want);
    check_db_sql(db, "SELECT n FROM generation", generation); /* no trigger fired */
    free(shape);
    free(generation);

    /* the runs, as they were */
    check_db_sql(db, "SELECT count(*) FROM runs", "3");
    struct run_record r;
    CHECK_INT(store_run(st, 1, &r), 1);
    CHECK(r.status == RUN_SUCCEEDED && r.queued_at == 10 && r.started_at == 20 &&
          r.finished_at == 30 && r.exit_code == 0 && r.owner_pid == 77 && r.owner_start == 88);
    CHECK_STR(r.kwargs_json, "{\"k\": \"ü\"}");
    CHECK_STR(r.work_ids_json, "[1, 2]");
    CHECK(r.batch == 1 && r.chunk == 1 && r.chunks == 2);
    run_record_release(&r);
    CHECK_INT(store_run(st, 3, &r), 1);
    CHECK(r.status == RUN_RUNNING && r.attempt == 2 && r.rerun_of == 2 && r.pid == 7);
    run_record_release(&r);
    CHECK_INT(store_run(st, 4, &r), 0);
    int64_t ids[] = {1, 2, 3, 4}, at[4];
    CHECK_INT(store_work_done(st, "m", ids, 4, at), 0);
    CHECK(at[0] == 30 && at[1] == 30 && at[2] == 0 && at[3] == 0);

    /* the triggers go on: a success fills work_done, the job's version moves, and the
     * next id follows the removed one (4), never reusing it */
    int64_t version = 0, moved = 0;
    CHECK_INT(store_job_version(st, "m", &version), 0);
    struct run_record retry = sample_run("m");
    retry.work_ids_json = (char *)"[3]";
    int64_t id = begin(st, &retry, 100);
    CHECK(id > 4); /* 5 on SQLite; PostgreSQL's refused insert above took 5 */
    CHECK_INT(unit_start_run(st, id, 123, 110), 0);
    finish_as(st, id, RUN_SUCCEEDED, NULL, 120);
    CHECK_INT(store_job_version(st, "m", &moved), 0);
    CHECK_INT(moved, version + 3);
    CHECK_INT(store_work_done(st, "m", ids, 4, at), 0);
    CHECK(at[0] == 30 && at[1] == 30 && at[2] == 120 && at[3] == 0);

    /* a cancelled run: ends from queued, never started, and is no work ID's success */
    struct run_record master = sample_run("m");
    master.work_ids_json = (char *)"[4]";
    int64_t cancelled = begin(st, &master, 200);
    struct run_finish fin = {.status = RUN_CANCELLED, .exit_code = -1};
    CHECK_INT(unit_finish_run(st, cancelled, &fin, 210), 0);
    CHECK_INT(store_run(st, cancelled, &r), 1);
    CHECK_STR(run_status_name(r.status), "cancelled");
    CHECK(r.started_at == 0 && r.finished_at == 210 && r.exit_code == -1);
    run_record_release(&r);
    char *sql = xprintf("SELECT status FROM runs WHERE id = %lld", (long long)cancelled);
    check_db_sql(db, sql, "cancelled");
    free(sql);
    CHECK_INT(store_work_done(st, "m", ids, 4, at), 0);
    CHECK_INT(at[3], 0);
    CHECK_INT(store_last_started(st, "m", &r), 1);
    CHECK_INT(r.id, id);
    run_record_release(&r);
    check_sound(db, st);
    store_close(st);

    /* opening again migrates nothing */
    st = unit_db_open(db);
    if (st)
        CHECK_INT(st->schema_version, atoi(SCHEMA_NOW));
    store_close(st);
}

UNIT_TEST(store_migrates_version_1)
{
    char *path = db_path("state.db");
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, schema_v1, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);

    struct store *st = unit_store_open(path);
    if (!st)
        return;
    CHECK_INT(st->schema_version, atoi(SCHEMA_NOW));
    char *backup = xprintf("%s.bak-v1", path);
    struct stat sb;
    CHECK(stat(backup, &sb) == 0);
    check_raw(backup, "PRAGMA user_version", "1");
    check_raw(backup, "SELECT count(*) FROM runs", "2");
    check_raw(path, "PRAGMA user_version", SCHEMA_NOW);
    /* runs from before chunks are each their own batch */
    check_raw(path, "SELECT group_concat(batch = id) FROM runs", "1,1");
    check_raw(path, "SELECT count(*) FROM runs WHERE chunk IS NOT NULL OR chunks IS NOT NULL", "0");

    struct run_record r;
    CHECK_INT(store_run(st, 1, &r), 1);
    CHECK_STR(r.job, "old.job");
    CHECK_STR(run_status_name(r.status), "succeeded");
    CHECK(r.queued_at == 10 && r.started_at == 20 && r.finished_at == 30 && r.exit_code == 0);
    CHECK_STR(r.kwargs_json, "{\"k\": \"ü\"}");
    CHECK_STR(r.archive_path, "old.tar");
    CHECK_INT(r.heartbeat_at, 0); /* finished runs need no lease */
    run_record_release(&r);
    CHECK_INT(store_run(st, 2, &r), 1);
    CHECK_INT(r.heartbeat_at, 50); /* the lease of a running run starts at its start */
    CHECK_INT(r.owner_pid, 0);
    run_record_release(&r);
    /* v9: old.job's runs were not split: no work IDs done */
    check_raw(path, "SELECT count(*) FROM work_done", "0");
    /* the schedule marks went (v6); the job's version counts its runs so far */
    check_raw(path, "SELECT count(*) FROM sqlite_master WHERE name = 'schedule'", "0");
    int64_t version = -1;
    CHECK_INT(store_job_version(st, "old.job", &version), 0);
    CHECK_INT(version, 2);
    struct store_file f = {(char *)"x", 1, 2, 3, 4, 5, {6, 7}};
    CHECK_INT(store_file_put(st, &f, 1, 1), 0);
    struct run_record fresh = {.job = (char *)"old.job"};
    CHECK_INT(begin(st, &fresh, 100), 3);
    CHECK_INT(store_job_version(st, "old.job", &version), 0);
    CHECK_INT(version, 3);
    check_file_sound(st, path);
    store_close(st);

    /* opening again neither migrates nor backs up again */
    CHECK(unlink(backup) == 0);
    st = unit_store_open(path);
    CHECK(stat(backup, &sb) != 0);
    store_close(st);
    free(backup);
    free(path);
}

UNIT_TEST(store_refuses_newer_and_foreign_databases)
{
    char *newer = db_path("newer.db");
    sqlite3 *db;
    CHECK(sqlite3_open(newer, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 99;", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(db);
    struct strbuf err = STRBUF_INIT;
    CHECK(store_open(newer, NULL, &err) == NULL);
    char *want = xprintf("cannot use state database '%s': its schema version 99 is newer than "
                         "this stau knows (" SCHEMA_NOW "); use a newer stau",
                         newer);
    CHECK_STR(strbuf_str(&err), want);
    free(want);
    check_raw(newer, "PRAGMA user_version", "99"); /* left alone */

    char *foreign = db_path("foreign.db");
    CHECK(sqlite3_open(foreign, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE t (x);", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    strbuf_reset(&err);
    CHECK(store_open(foreign, NULL, &err) == NULL);
    want =
        xprintf("cannot use '%s' as a state database: it has tables but no stau schema", foreign);
    CHECK_STR(strbuf_str(&err), want);
    free(want);

    const char *garbage = unit_write(unit_tmpdir(), "garbage.db",
                                     "this is not a database, just text that goes on and on and "
                                     "on for a while so that it looks like a header\n");
    strbuf_reset(&err);
    CHECK(store_open(garbage, NULL, &err) == NULL);
    want = xprintf("cannot open state database '%s': file is not a database\n  hint: move it "
                   "aside (`sqlite3 FILE .recover` may save what is left of it) and run `stau db "
                   "recover` to rebuild the run history from the archives",
                   garbage);
    CHECK_STR(strbuf_str(&err), want);
    free(want);

    char *nodir = db_path("no/such/dir/state.db");
    strbuf_reset(&err);
    CHECK(store_open(nodir, NULL, &err) == NULL);
    want = xprintf("cannot open state database '%s': unable to open database file", nodir);
    CHECK_STR(strbuf_str(&err), want);
    free(want);
    strbuf_release(&err);
    free(nodir);
    free(foreign);
    free(newer);
}

/* A server that cannot be reached is named in the message, without its password, as
 * "cannot connect to state database 'SERVER schema SCHEMA': ..." (no server needed). */
UNIT_TEST(store_open_server_error_hides_the_password)
{
    struct strbuf err = STRBUF_INIT;
    CHECK(store_open("postgresql://user:secret@nonexistent.invalid/stau", NULL, &err) == NULL);
    if (!CHECK(starts_with(strbuf_str(&err), "cannot connect to state database "
                                             "'postgresql://user@nonexistent.invalid/stau")) ||
        !CHECK(strstr(strbuf_str(&err), "secret") == NULL))
        fprintf(stderr, "  %s\n", strbuf_str(&err));
    /* the other ways a libpq conninfo carries a password */
    const char *others[] = {
        "postgresql://user@nonexistent.invalid/stau?password=secret",
        "host=nonexistent.invalid user=user password=secret dbname=stau",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        strbuf_reset(&err);
        CHECK(store_open(others[i], NULL, &err) == NULL);
        if (!CHECK(starts_with(strbuf_str(&err), "cannot connect to state database '")) ||
            !CHECK(strstr(strbuf_str(&err), "secret") == NULL))
            fprintf(stderr, "  %s\n", strbuf_str(&err));
    }
    strbuf_release(&err);
}

UNIT_STORE_TEST(store_two_handles_take_turns)
{
    struct store *one = unit_db_open(db), *two = unit_db_open(db);
    if (!one || !two) {
        store_close(one);
        store_close(two);
        return;
    }
    struct run_record a = {.job = (char *)"a"}, b = {.job = (char *)"b"};
    for (int i = 0; i < 20; i++) {
        int64_t ia = begin(one, &a, i), ib = begin(two, &b, i);
        CHECK_INT(unit_start_run(two, ia, 1, i), 0);
        CHECK_INT(unit_start_run(one, ib, 1, i), 0);
        finish_as(one, ib, RUN_SUCCEEDED, NULL, i);
        finish_as(two, ia, RUN_FAILED, NULL, i);
    }
    struct run_list list = {0};
    CHECK_INT(store_history(one, NULL, 0, &list), 0); /* sees what two wrote */
    CHECK_INT(list.len, 40);
    run_list_release(&list);
    check_sound(db, two);
    store_close(one);
    store_close(two);
}

/* Record, start and finish runs in a loop (in a child process, on its own handle). */
static void churn(const struct unit_db *db, const char *job, int count)
{
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(db->location, db->schema, &err);
    if (!st)
        _exit(3);
    struct run_record r = {.job = (char *)job};
    struct run_finish fin = {RUN_SUCCEEDED, 0, 0, "fp", NULL, NULL};
    for (int i = 0; count < 0 || i < count; i++) {
        int64_t id;
        if (store_begin_run(st, &r, i, &id) < 0 || unit_start_run(st, id, 1, i) != 0 ||
            unit_finish_run(st, id, &fin, i) != 0) {
            fprintf(stderr, "%s\n", store_error(st));
            _exit(4);
        }
    }
    store_close(st);
    _exit(0);
}

UNIT_STORE_TEST(store_two_processes_at_once)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            churn(db, i ? "b" : "a", 150);
    }
    for (int i = 0; i < 2; i++) {
        int status;
        CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    struct run_list list = {0};
    CHECK_INT(store_history(st, NULL, 0, &list), 0);
    CHECK_INT(list.len, 300);
    run_list_release(&list);
    CHECK_INT(store_active_runs(st, NULL, &list), 0);
    CHECK_INT(list.len, 0);
    run_list_release(&list);
    check_sound(db, st);
    store_close(st);
}

/* SQLite's own crash: pages of a transaction that never committed are in the WAL. */
UNIT_TEST(store_survives_a_crash_mid_transaction)
{
    char *path = db_path("state.db");
    struct store *st = unit_store_open(path);
    if (!st)
        return;
    struct run_record keep = {.job = (char *)"kept"};
    int64_t kept = begin(st, &keep, 1);
    store_close(st);

    /* a child writes a lot in one transaction, enough to spill pages into the
       WAL, and dies before committing */
    pid_t pid = fork();
    if (pid == 0) {
        sqlite3 *db;
        if (sqlite3_open(path, &db) != SQLITE_OK ||
            sqlite3_exec(db,
                         "PRAGMA cache_size = 2; BEGIN IMMEDIATE;"
                         "UPDATE runs SET status = 'failed' WHERE job = 'kept';"
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                         " WHERE i < 5000) INSERT INTO runs (job, status, queued_at, reasons_json)"
                         " SELECT 'half', 'queued', i, printf('%.500c', 'x') FROM n;",
                         NULL, NULL, NULL) != SQLITE_OK)
            _exit(1);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *wal = xprintf("%s-wal", path);
    struct stat sb;
    CHECK(stat(wal, &sb) == 0 && sb.st_size > 1000000); /* the uncommitted pages hit the disk */
    free(wal);
    st = unit_store_open(path);
    if (!st)
        return;
    struct run_list list = {0};
    CHECK_INT(store_history(st, "half", 0, &list), 0);
    CHECK_INT(list.len, 0);
    run_list_release(&list);
    struct run_record r;
    CHECK_INT(store_run(st, kept, &r), 1);
    CHECK_STR(run_status_name(r.status), "queued");
    run_record_release(&r);
    check_file_sound(st, path);
    store_close(st);
    free(path);
}

/* A writer killed at a random moment leaves all of its transaction or none of it. */
UNIT_STORE_TEST(store_survives_a_killed_writer)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record keep = {.job = (char *)"kept"};
    int64_t kept = begin(st, &keep, 1);
    store_close(st);

    /* a child busy recording runs is killed at a random moment */
    pid_t pid = fork();
    if (pid == 0)
        churn(db, "churn", -1);
    usleep(200 * 1000);
    int status;
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
    st = unit_db_open(db);
    if (!st)
        return;
    check_sound(db, st);
    struct run_list list = {0};
    CHECK_INT(store_history(st, "churn", 0, &list), 0);
    CHECK(list.len > 0);
    for (size_t i = 0; i < list.len; i++) { /* each ended, or was recorded or started */
        CHECK(list.items[i].status == RUN_SUCCEEDED || list.items[i].status == RUN_QUEUED ||
              list.items[i].status == RUN_RUNNING);
    }
    run_list_release(&list);
    CHECK(begin(st, &keep, 2) > kept);
    struct run_record r;
    CHECK_INT(store_run(st, kept, &r), 1);
    CHECK_STR(run_status_name(r.status), "queued");
    run_record_release(&r);
    check_sound(db, st);
    store_close(st);
}

/* The generation moves with what a plan reads, and only with that. */
UNIT_STORE_TEST(store_generation_moves_with_what_plans_read)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    int64_t g0 = -1, g = -1;
    CHECK_INT(store_generation(st, &g0), 0);
    struct store_owner owner = {"h", 42, 7};
    struct run_record in = {
        .job = (char *)"a", .host = (char *)"h", .owner_pid = 42, .owner_start = 7};
    int64_t id = begin(st, &in, 100);
    CHECK(store_generation(st, &g) == 0 && g > g0);
    int64_t after_begin = g;
    CHECK_INT(unit_start_run(st, id, 99, 110), 0);
    CHECK(store_generation(st, &g) == 0 && g > after_begin);
    int64_t after_start = g;
    CHECK_INT(store_heartbeat(st, &owner, 120), 1);
    CHECK(store_generation(st, &g) == 0 && g == after_start); /* a heartbeat: no */
    finish_as(st, id, RUN_SUCCEEDED, NULL, 130);
    CHECK(store_generation(st, &g) == 0 && g > after_start);
    int64_t after_finish = g;
    CHECK_INT(store_set_archive(st, id, "a.tar.zst"), 0);
    CHECK(store_generation(st, &g) == 0 && g == after_finish); /* an archive path: no */
    CHECK_INT(
        unit_finish_run(st, id, &(struct run_finish){RUN_FAILED, 1, 0, NULL, NULL, NULL}, 140), 1);
    CHECK(store_generation(st, &g) == 0 && g == after_finish); /* an end that changed nothing */
    store_close(st);
    /* kept across closing and opening */
    st = unit_db_open(db);
    CHECK(st && store_generation(st, &g) == 0 && g == after_finish);
    store_close(st);
}

/* ---- second handles, notifications and copying a history in ---- */

UNIT_STORE_TEST(store_reopen_gives_an_independent_handle)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct strbuf err = STRBUF_INIT;
    struct store *other = store_reopen(st, &err);
    if (!CHECK(other != NULL)) {
        fprintf(stderr, "  %s\n", strbuf_str(&err));
        strbuf_release(&err);
        store_close(st);
        return;
    }
    strbuf_release(&err);
    CHECK_INT(other->kind, st->kind);
    CHECK_STR(other->location, st->location);
    struct run_record a = {.job = (char *)"a"};
    int64_t id = begin(other, &a, 100);
    struct run_record r;
    CHECK_INT(store_run(st, id, &r), 1); /* one database */
    run_record_release(&r);
    store_close(st); /* closing one leaves the other working */
    CHECK_INT(unit_start_run(other, id, 5, 110), 0);
    CHECK_INT(store_run(other, id, &r), 1);
    CHECK_STR(run_status_name(r.status), "running");
    run_record_release(&r);
    store_close(other);
}

/* SQLite has no descriptor to wait on; a server's wakes a handle when another records
 * or ends a run. */
UNIT_STORE_TEST(store_wake_fd_tells_of_another_handles_runs)
{
    struct store *one = unit_db_open(db), *two = unit_db_open(db);
    if (!one || !two) {
        store_close(one);
        store_close(two);
        return;
    }
    int fd = store_wake_fd(one);
    if (unit_db_is_sqlite(db)) {
        CHECK_INT(fd, -1);
        CHECK_INT(store_woken(one), 0);
    } else if (CHECK(fd >= 0)) {
        CHECK_INT(store_woken(one), 0); /* nothing yet */
        struct run_record a = {.job = (char *)"a"};
        int64_t id = begin(two, &a, 100);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        CHECK_INT(poll(&p, 1, 5000), 1);
        CHECK_INT(store_woken(one), 1);
        finish_as(two, id, RUN_SUCCEEDED, NULL, 110);
        p.revents = 0;
        CHECK_INT(poll(&p, 1, 5000), 1);
        CHECK_INT(store_woken(one), 1);
    }
    store_close(one);
    store_close(two);
}

/* A run as JSON, for comparing every field at once. */
static char *run_json(const struct run_record *r)
{
    struct strbuf out = STRBUF_INIT;
    run_record_json_fields(r, &out);
    strbuf_addf(&out, ",\"files\":\"%s\"", r->files ? r->files : "(null)");
    return strbuf_detach(&out);
}

UNIT_STORE_TEST(store_import_copies_a_history_exactly)
{
    struct store *st = unit_db_open(db);
    if (!st)
        return;
    struct run_record runs[3];
    runs[0] = sample_run("a");
    runs[0].id = 5;
    runs[0].status = RUN_SUCCEEDED;
    runs[0].queued_at = 10;
    runs[0].started_at = 20;
    runs[0].finished_at = 30;
    runs[0].exit_code = 0;
    runs[0].pid = 77;
    runs[0].heartbeat_at = 25;
    runs[0].outputs_fingerprint = (char *)"out-fp";
    runs[0].archive_path = (char *)"5.tar.zst";
    runs[0].batch = 5;
    runs[0].files = (char *)"c\tjob.py\tH1\ni\tdata/ä.csv\tH2\no\tout.csv\tH3";
    runs[1] = (struct run_record){.id = 7,
                                  .job = (char *)"a",
                                  .attempt = 1,
                                  .status = RUN_FAILED,
                                  .queued_at = 40,
                                  .started_at = 41,
                                  .finished_at = 42,
                                  .exit_code = -1,
                                  .signal = 9,
                                  .pid = 78,
                                  .heartbeat_at = 41,
                                  .rerun_of = 5,
                                  .batch = 7};
    runs[2] = (struct run_record){.id = 9,
                                  .job = (char *)"b",
                                  .attempt = 1,
                                  .status = RUN_RUNNING,
                                  .queued_at = 50,
                                  .started_at = 51,
                                  .exit_code = -1,
                                  .host = (char *)"h",
                                  .owner_pid = 8,
                                  .owner_start = 88,
                                  .pid = 3,
                                  .heartbeat_at = 60,
                                  .work_ids_json = (char *)"[1]",
                                  .batch = 9,
                                  .chunk = 1,
                                  .chunks = 2};
    struct store_file file = {(char *)"data/ä.csv", 1, 2, 3, 4, 5, {UINT64_MAX, 7}};
    if (!CHECK(store_import(st, runs, 3, &file, 1) == 0))
        fprintf(stderr, "  %s\n", store_error(st));
    for (size_t i = 0; i < 3; i++) {
        struct run_record r;
        CHECK_INT(store_run(st, runs[i].id, &r), 1);
        char *got = run_json(&r), *want = run_json(&runs[i]);
        CHECK_STR(got, want);
        free(got);
        free(want);
        run_record_release(&r);
    }
    struct store_file_list all = {0};
    CHECK_INT(store_files_all(st, &all), 0);
    CHECK_INT(all.len, 1);
    if (all.len == 1) {
        CHECK_STR(all.items[0].path, "data/ä.csv");
        CHECK(all.items[0].mtime_ns == 1 && all.items[0].ctime_ns == 2 && all.items[0].size == 3);
        CHECK(all.items[0].inode == 4 && all.items[0].device == 5);
        CHECK(all.items[0].hash.low == UINT64_MAX && all.items[0].hash.high == 7);
    }
    store_file_list_release(&all);
    /* what follows from the runs: versions, the generation, the next id */
    CHECK(version_of(st, "a") > 0 && version_of(st, "b") > 0);
    int64_t g = 0;
    CHECK(store_generation(st, &g) == 0 && g > 0);
    struct run_record next = {.job = (char *)"a"};
    CHECK(begin(st, &next, 100) > 9);
    struct run_list active = {0};
    CHECK_INT(store_active_runs(st, NULL, &active), 0);
    CHECK_INT(active.len, 2); /* runs[2] and the new one */
    run_list_release(&active);
    /* only into a database without runs: nothing is written */
    runs[0].id = 20;
    CHECK_INT(store_import(st, runs, 1, NULL, 0), -1);
    CHECK_INT(runs_of(st, NULL), 4);
    check_sound(db, st);
    store_close(st);
}
