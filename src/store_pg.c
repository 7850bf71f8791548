/* store_pg.c: the state database on a PostgreSQL server, for copies of stau serve on
 * several hosts; the only user of <libpq-fe.h>.
 *
 * Where: the tables live in a schema stau owns (--db-schema, default "stau"), made
 * when missing, so several projects can share one database. The connection string
 * is the user's, as libpq reads it (URI or keywords; .pgpass, PGSERVICE and the PG*
 * variables apply); stau adds only defaults the user can override: a connect
 * timeout and TCP keepalives, so a cut network is noticed in seconds, not hours.
 * The password is never shown: messages name the server by a URI rebuilt without it.
 *
 * Concurrency. Every write transaction first takes one transaction-scoped advisory
 * lock of the schema (pg_advisory_xact_lock), so writes are one at a time, exactly
 * as SQLite's single writer has them, and every rule of store.h (a claim reads the
 * job's active runs, its upstreams' and its version, then records, as one step)
 * holds for both backends by the same reasoning and the same tests. Row locks per
 * job would let claims of different jobs overlap, but they bring an order to keep
 * among job rows, the generation row and the triggers (or deadlocks), for a gain
 * a team's scheduler rarely needs: stau writes three short transactions per run, and
 * one writer does about a thousand a second here (tests/bench/bench_pg.sh: ~300 runs
 * a second unbatched, ~580 batched, below the 2,000 aimed at; statements taking a
 * whole batch at once are the known next step). Readers take no
 * lock: a single statement is a consistent snapshot under READ COMMITTED, and a
 * plan's reads (store_snapshot_begin) run in one REPEATABLE READ READ ONLY
 * transaction. A write transaction sets idle_in_transaction_session_timeout, so a
 * copy cut off mid-transaction cannot hold the write lock for longer than that.
 * So no claim needs a unique index or SELECT ... FOR UPDATE SKIP LOCKED to stay
 * atomic: what it reads cannot change before it commits. (A partial unique index on
 * a job's unassigned run was tried as a second guard; it also refused runs recorded
 * without an owner, which SQLite keeps, so the one rule is the lock.)
 *
 * The leader lease is a session-level advisory lock (pg_try_advisory_lock): it is
 * held for as long as the holder's connection lives, so a copy that dies or is cut
 * off loses it when the server drops the connection, and another copy takes it at
 * its next store_lead. The leader row beside it says who holds it (for `stau
 * status`); enqueueing requires both the lock on this session and the row.
 *
 * Wake-ups: triggers NOTIFY a channel named after the schema when a run is recorded,
 * changes state or goes; every connection LISTENs on it (store_wake_fd, store_woken),
 * so a copy waiting for another host's run hears of its end at once.
 *
 * Round trips: a plan's reads of any number of jobs (store_job_pasts,
 * store_files_get) are one query each, with the job names as an array parameter.
 *
 * A lost connection: the call fails with a message saying so; later calls reconnect,
 * no more often than a backoff that doubles from 0.5 s to 30 s (the one clock this
 * file reads is the monotonic one, for that backoff). After a reconnect the session
 * no longer holds the leader lock; store_lead takes it again if it is free.
 *
 * Schema versions: the table meta holds the version. PostgreSQL support began at
 * version 8, so a new schema is made at version 8 in one step (the same tables,
 * columns and meaning as store_sqlite.c documents for its version 8, in PostgreSQL's
 * types: bigint for unix ms, bigserial ids); migrations after 8 are appended to both
 * backends under the same numbers. Opening under an advisory lock makes two copies
 * creating the schema at once safe.
 */
#include "store.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SCHEMA_VERSION = 13 };

/* The columns of a run, in the order read_run expects (from column `first`). */
#define RUN_COLUMNS                                                                                \
    "id, job, attempt, status, queued_at, started_at, finished_at, exit_code, signal, host, "      \
    "owner_pid, owner_start, pid, heartbeat_at, git_commit, kwargs_json, work_ids_json, "          \
    "code_fingerprint, config_fingerprint, inputs_fingerprint, outputs_fingerprint, "              \
    "reasons_json, log_path, archive_path, rerun_of, batch, chunk, chunks, files, "                \
    "env_names_json, kwargs_given_json, git_dirty, git_changes_json"
#define RUN_COLUMN_COUNT 33
/* What gc reads of a run (store_gc_runs, store_gc_page): RUN_COLUMNS with NULL for the
 * texts it never looks at, so that its pages do not carry every run's evidence. */
#define GC_COLUMNS                                                                                 \
    "id, job, attempt, status, queued_at, started_at, finished_at, exit_code, signal, host, "      \
    "owner_pid, owner_start, pid, heartbeat_at, NULL::text, NULL::text, NULL::text, NULL::text, "  \
    "NULL::text, NULL::text, NULL::text, NULL::text, log_path, archive_path, rerun_of, batch, "    \
    "chunk, chunks, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text"

/* The schema at version 8, made with the schema first on the search path. @CHANNEL@
 * stands for the notification channel (the schema's name) as a string literal. The
 * trigger functions skip their work while a copy is written in (stau.importing),
 * which then sets what they would have. */
static const char create_schema[] =
    "CREATE TABLE meta (version integer NOT NULL);"
    "INSERT INTO meta VALUES (8);"
    "CREATE TABLE runs (id bigserial PRIMARY KEY, job text NOT NULL,"
    " attempt integer NOT NULL DEFAULT 1, status text NOT NULL CHECK (status IN ('queued',"
    " 'running', 'succeeded', 'failed', 'timed-out', 'interrupted', 'lost', 'skipped')),"
    " queued_at bigint NOT NULL, started_at bigint, finished_at bigint, exit_code integer,"
    " signal integer, host text, pid integer, git_commit text, kwargs_json text,"
    " work_ids_json text, code_fingerprint text, config_fingerprint text,"
    " inputs_fingerprint text, outputs_fingerprint text, reasons_json text, log_path text,"
    " archive_path text, rerun_of bigint REFERENCES runs(id) ON DELETE SET NULL,"
    " owner_pid integer NOT NULL DEFAULT 0, owner_start bigint NOT NULL DEFAULT 0,"
    " heartbeat_at bigint, batch bigint NOT NULL DEFAULT 0, chunk integer, chunks integer,"
    " files text);"
    "CREATE INDEX runs_by_job ON runs(job, id);"
    "CREATE INDEX runs_by_job_status ON runs(job, status, id);"
    "CREATE INDEX runs_active ON runs(status) WHERE status IN ('queued', 'running');"
    "CREATE INDEX runs_by_job_batch ON runs(job, batch);"
    "CREATE INDEX runs_by_job_status_batch ON runs(job, status, batch);"
    "CREATE TABLE files (path text PRIMARY KEY, mtime_ns bigint NOT NULL,"
    " ctime_ns bigint NOT NULL, size bigint NOT NULL, inode bigint NOT NULL,"
    " device bigint NOT NULL, hash_low bigint NOT NULL, hash_high bigint NOT NULL,"
    " checked_at bigint NOT NULL);"
    "CREATE TABLE generation (n bigint NOT NULL);"
    "INSERT INTO generation VALUES (0);"
    "CREATE TABLE job_versions (job text PRIMARY KEY, n bigint NOT NULL);"
    "CREATE TABLE owners (host text NOT NULL, pid integer NOT NULL, start bigint NOT NULL,"
    " since bigint NOT NULL, heartbeat_at bigint NOT NULL, PRIMARY KEY (host, pid, start));"
    "CREATE INDEX owners_by_since ON owners(since);"
    "CREATE TABLE leader (id integer PRIMARY KEY CHECK (id = 1), host text NOT NULL,"
    " pid integer NOT NULL, start bigint NOT NULL, since bigint NOT NULL,"
    " heartbeat_at bigint NOT NULL);"
    "CREATE FUNCTION bump_generation() RETURNS trigger LANGUAGE plpgsql"
    " SET search_path FROM CURRENT AS $$ BEGIN"
    " IF coalesce(current_setting('stau.importing', true), '') <> 'on' THEN"
    " UPDATE generation SET n = n + 1; PERFORM pg_notify(@CHANNEL@, ''); END IF;"
    " RETURN NULL; END $$;"
    "CREATE FUNCTION bump_job_version() RETURNS trigger LANGUAGE plpgsql"
    " SET search_path FROM CURRENT AS $$ BEGIN"
    " IF coalesce(current_setting('stau.importing', true), '') <> 'on' THEN"
    " INSERT INTO job_versions VALUES (NEW.job, 1)"
    " ON CONFLICT (job) DO UPDATE SET n = job_versions.n + 1; END IF;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER runs_added AFTER INSERT OR DELETE ON runs"
    " FOR EACH ROW EXECUTE FUNCTION bump_generation();"
    "CREATE TRIGGER runs_moved AFTER UPDATE OF job, status, queued_at, started_at,"
    " finished_at, code_fingerprint, config_fingerprint, inputs_fingerprint,"
    " outputs_fingerprint ON runs FOR EACH ROW EXECUTE FUNCTION bump_generation();"
    "CREATE TRIGGER job_run_added AFTER INSERT ON runs"
    " FOR EACH ROW EXECUTE FUNCTION bump_job_version();"
    "CREATE TRIGGER job_run_moved AFTER UPDATE OF status ON runs"
    " FOR EACH ROW EXECUTE FUNCTION bump_job_version();";

/* The migrations after version 8, by the version they make (as store_sqlite.c's). */
static const char *const migrations[] = {
    /* 9: per job and work ID, the last success (kept by a trigger, filled from runs;
     * it runs while a copy is imported too, so that the copy has it) */
    [9] = "CREATE TABLE work_done (job text NOT NULL, work_id bigint NOT NULL,"
          " run_id bigint NOT NULL, finished_at bigint NOT NULL, PRIMARY KEY (job, work_id));"
          /* The work IDs of a recorded array; nothing for text that is not one (a row
           * written by hand must not stop a migration, an import or a run's end). */
          "CREATE FUNCTION work_ids_of(t text) RETURNS SETOF bigint LANGUAGE plpgsql IMMUTABLE"
          " AS $$ DECLARE j jsonb; e jsonb; BEGIN"
          " BEGIN j := t::jsonb; EXCEPTION WHEN others THEN RETURN; END;"
          " IF jsonb_typeof(j) IS DISTINCT FROM 'array' THEN RETURN; END IF;"
          " FOR e IN SELECT jsonb_array_elements(j) LOOP"
          " IF jsonb_typeof(e) = 'number' AND e::text ~ '^-?[0-9]{1,18}$' THEN"
          " RETURN NEXT e::text::bigint; END IF; END LOOP; END $$;"
          "INSERT INTO work_done SELECT DISTINCT ON (r.job, w.id) r.job, w.id, r.id, r.finished_at"
          " FROM runs r, LATERAL work_ids_of(r.work_ids_json) AS w(id)"
          " WHERE r.status = 'succeeded' AND r.finished_at IS NOT NULL"
          " AND r.work_ids_json IS NOT NULL"
          " ORDER BY r.job, w.id, r.finished_at DESC, r.id DESC;"
          "CREATE FUNCTION note_work_done() RETURNS trigger LANGUAGE plpgsql"
          " SET search_path FROM CURRENT AS $$ BEGIN"
          " IF NEW.status = 'succeeded' AND NEW.finished_at IS NOT NULL"
          " AND NEW.work_ids_json IS NOT NULL THEN"
          " INSERT INTO work_done SELECT DISTINCT NEW.job, w.id, NEW.id, NEW.finished_at"
          " FROM work_ids_of(NEW.work_ids_json) AS w(id)"
          " ON CONFLICT (job, work_id) DO UPDATE SET run_id = excluded.run_id,"
          " finished_at = excluded.finished_at"
          " WHERE excluded.finished_at >= work_done.finished_at; END IF;"
          " RETURN NULL; END $$;"
          "CREATE TRIGGER work_done_added AFTER INSERT ON runs"
          " FOR EACH ROW EXECUTE FUNCTION note_work_done();"
          "CREATE TRIGGER work_done_moved AFTER UPDATE OF status, finished_at ON runs"
          " FOR EACH ROW EXECUTE FUNCTION note_work_done();",
    /* 10: the status 'cancelled'. The CHECK on status goes by whatever name it has
     * (the server chose it when version 8 made the table: normally runs_status_check,
     * read from the catalog rather than assumed), and comes back as runs_status_check. */
    [10] = "DO $$ DECLARE c name; BEGIN"
           " FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'runs'::regclass"
           " AND contype = 'c' AND conkey = ARRAY[(SELECT attnum FROM pg_attribute"
           " WHERE attrelid = 'runs'::regclass AND attname = 'status')] LOOP"
           " EXECUTE format('ALTER TABLE runs DROP CONSTRAINT %I', c); END LOOP; END $$;"
           "ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN ('queued',"
           " 'running', 'succeeded', 'failed', 'timed-out', 'interrupted', 'lost', 'skipped',"
           " 'cancelled'));",
    /* 11: the names of the variables the env file gave a run */
    [11] = "ALTER TABLE runs ADD COLUMN env_names_json text;",
    /* 12: the keyword arguments given on the command line */
    [12] = "ALTER TABLE runs ADD COLUMN kwargs_given_json text;",
    /* 13: whether the work tree matched the commit, and what did not */
    [13] = "ALTER TABLE runs ADD COLUMN git_dirty integer;"
           "ALTER TABLE runs ADD COLUMN git_changes_json text;",
};

/* ---- the handle, errors, queries ---- */

struct pg_store {
    struct store base;               /* must come first */
    PGconn *conn;                    /* the connection (PQreset after it broke) */
    char *conninfo;                  /* as given: may hold a password, never shown */
    char *schema;                    /* the schema's name */
    char *quoted;                    /* the same as an SQL identifier */
    char *begin_write;               /* "BEGIN; ...; SELECT pg_advisory_xact_lock(K)" */
    long long leader_key, write_key; /* advisory lock keys of this schema */
    bool leading;                    /* this session holds the leader lock */
    bool in_snapshot;                /* store_snapshot_begin's transaction is open */
    int64_t retry_at;                /* monotonic ms: no reconnect before */
    int backoff_ms;                  /* the next wait after a failed reconnect */
};

static struct pg_store *backend(struct store *st)
{
    return (struct pg_store *)st;
}

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Set a message of our own as the error; -1. */
static int problem(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(struct store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_reset(&st->error);
    strbuf_vaddf(&st->error, fmt, ap);
    va_end(ap);
    return -1;
}

/* libpq's message, first line only and without its newline. */
static void add_message(struct strbuf *out, const char *message)
{
    size_t len = strcspn(message, "\n");
    while (len && message[len - 1] == ' ')
        len--;
    strbuf_addf(out, "%.*s", (int)len, len ? message : "no message from the server");
}

/* "cannot <what> in state database '<location>': <the server's message>"; -1. res may
 * be NULL (the connection's message is used); a broken connection schedules its
 * reconnect. */
static int fail(struct pg_store *s, const char *what, const PGresult *res)
{
    strbuf_reset(&s->base.error);
    strbuf_addf(&s->base.error, "cannot %s in state database '%s': ", what, s->base.location);
    const char *msg = res ? PQresultErrorMessage(res) : "";
    add_message(&s->base.error, msg && *msg ? msg : PQerrorMessage(s->conn));
    if (PQstatus(s->conn) != CONNECTION_OK) {
        strbuf_addstr(&s->base.error, " (the connection is lost; stau reconnects)");
        s->leading = false;
        s->in_snapshot = false;
        if (!s->retry_at)
            s->retry_at = monotonic_ms();
    }
    return -1;
}

/* Query parameters as text; NULL stays NULL. */
struct params {
    const char *values[RUN_COLUMN_COUNT + 4];
    char numbers[RUN_COLUMN_COUNT + 4][24];
    int count;
};

static void p_text(struct params *p, const char *text)
{
    p->values[p->count++] = text;
}

static void p_int(struct params *p, int64_t value)
{
    snprintf(p->numbers[p->count], sizeof(p->numbers[0]), "%lld", (long long)value);
    p->values[p->count] = p->numbers[p->count];
    p->count++;
}

/* An integer where `none` means NULL (0 for most, -1 for exit codes). */
static void p_int_or_null(struct params *p, int64_t value, int64_t none)
{
    if (value == none)
        p_text(p, NULL);
    else
        p_int(p, value);
}

static int session_setup(struct pg_store *s);

/* A usable connection: the one there is, or a new one once the backoff allows. */
static int ensure(struct pg_store *s, const char *what)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    /* While it is away, every call fails with the same words (whatever it was for), so
     * a serving loop can say it once. */
    if (monotonic_ms() < s->retry_at)
        return -1; /* the message of the last attempt stands */
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK || session_setup(s) < 0) {
        s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 500;
        if (s->backoff_ms > 30000)
            s->backoff_ms = 30000;
        s->retry_at = monotonic_ms() + s->backoff_ms;
        strbuf_reset(&s->base.error);
        strbuf_addf(&s->base.error, "state database '%s' is unreachable: ", s->base.location);
        add_message(&s->base.error, PQerrorMessage(s->conn));
        strbuf_addstr(&s->base.error, "; stau keeps trying to reconnect");
        return -1;
    }
    s->backoff_ms = 0;
    s->retry_at = 0;
    s->leading = false;
    s->in_snapshot = false;
    s->base.reconnects++;
    return 0;
}

/* Run a query (with parameters when p is not NULL); the result (PQclear it), or NULL
 * with the error set. */
static PGresult *query(struct pg_store *s, const char *sql, const struct params *p,
                       const char *what)
{
    if (ensure(s, what) < 0)
        return NULL;
    s->base.round_trips++;
    PGresult *res = p ? PQexecParams(s->conn, sql, p->count, NULL, p->values, NULL, NULL, 0)
                      : PQexec(s->conn, sql);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    fail(s, what, res);
    PQclear(res);
    return NULL;
}

/* A query whose rows are not read: rows changed (or returned), or -1. */
static int execute(struct pg_store *s, const char *sql, const struct params *p, const char *what)
{
    PGresult *res = query(s, sql, p, what);
    if (!res)
        return -1;
    const char *n = PQcmdTuples(res);
    int changed = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : (n && *n ? atoi(n) : 0);
    PQclear(res);
    return changed;
}

/* Take the write lock: the transaction begins with it held. */
static int write_begin(struct pg_store *s, const char *what)
{
    return execute(s, s->begin_write, NULL, what) < 0 ? -1 : 0;
}

/* Undo the open transaction, keeping the error already set. */
static void write_rollback(struct pg_store *s)
{
    if (PQstatus(s->conn) != CONNECTION_OK || PQtransactionStatus(s->conn) == PQTRANS_IDLE)
        return;
    s->base.round_trips++;
    PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int write_commit(struct pg_store *s, const char *what)
{
    if (execute(s, "COMMIT", NULL, what) < 0) {
        write_rollback(s);
        return -1;
    }
    return 0;
}

/* One change in a write transaction of its own: rows changed, or -1. */
static int write_one(struct pg_store *s, const char *sql, const struct params *p, const char *what)
{
    if (write_begin(s, what) < 0)
        return -1;
    int changed = execute(s, sql, p, what);
    if (changed < 0) {
        write_rollback(s);
        return -1;
    }
    return write_commit(s, what) < 0 ? -1 : changed;
}

/* ---- reading rows ---- */

static char *text_at(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static int64_t int_at(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool bool_at(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static void read_run_fields(const PGresult *res, int row, int c, struct run_record *r);

/* The run in row `row`, its columns from `c` on in RUN_COLUMNS order: true, or false
 * when it holds what stau never writes (the error set, *r released). */
static bool read_run(struct pg_store *s, const PGresult *res, int row, int c, struct run_record *r)
{
    read_run_fields(res, row, c, r);
    struct strbuf why = STRBUF_INIT;
    bool sound = !run_record_impossible(r, &why);
    if (!sound) {
        problem(&s->base,
                "state database '%s' is damaged: run %lld is unreadable (%s); the row was "
                "changed outside stau",
                s->base.location, (long long)r->id, strbuf_str(&why));
        run_record_release(r);
    }
    strbuf_release(&why);
    return sound;
}

static void read_run_fields(const PGresult *res, int row, int c, struct run_record *r)
{
    memset(r, 0, sizeof(*r));
    r->id = int_at(res, row, c + 0);
    r->job = text_at(res, row, c + 1);
    r->attempt = (int)int_at(res, row, c + 2);
    if (!run_status_parse(PQgetvalue(res, row, c + 3), &r->status))
        r->status = RUN_STATUS_COUNT; /* refused by read_run */
    r->queued_at = int_at(res, row, c + 4);
    r->started_at = int_at(res, row, c + 5);
    r->finished_at = int_at(res, row, c + 6);
    r->exit_code = PQgetisnull(res, row, c + 7) ? -1 : (int)int_at(res, row, c + 7);
    r->signal = (int)int_at(res, row, c + 8);
    r->host = text_at(res, row, c + 9);
    r->owner_pid = (int)int_at(res, row, c + 10);
    r->owner_start = int_at(res, row, c + 11);
    r->pid = (int)int_at(res, row, c + 12);
    r->heartbeat_at = int_at(res, row, c + 13);
    r->git_commit = text_at(res, row, c + 14);
    r->kwargs_json = text_at(res, row, c + 15);
    r->work_ids_json = text_at(res, row, c + 16);
    r->code_fingerprint = text_at(res, row, c + 17);
    r->config_fingerprint = text_at(res, row, c + 18);
    r->inputs_fingerprint = text_at(res, row, c + 19);
    r->outputs_fingerprint = text_at(res, row, c + 20);
    r->reasons_json = text_at(res, row, c + 21);
    r->log_path = text_at(res, row, c + 22);
    r->archive_path = text_at(res, row, c + 23);
    r->rerun_of = int_at(res, row, c + 24);
    r->batch = int_at(res, row, c + 25);
    r->chunk = (int)int_at(res, row, c + 26);
    r->chunks = (int)int_at(res, row, c + 27);
    r->files = text_at(res, row, c + 28);
    r->env_names_json = text_at(res, row, c + 29);
    r->kwargs_given_json = text_at(res, row, c + 30);
    r->git_dirty = PQgetisnull(res, row, c + 31) ? RUN_GIT_UNKNOWN
                   : int_at(res, row, c + 31)    ? RUN_GIT_DIRTY
                                                 : RUN_GIT_CLEAN;
    r->git_changes_json = text_at(res, row, c + 32);
}

/* Append every row of a run query to out; 0 or -1. */
static int read_runs(struct pg_store *s, const char *sql, const struct params *p,
                     struct run_list *out, const char *what)
{
    PGresult *res = query(s, sql, p, what);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        struct run_record r;
        if (!read_run(s, res, i, 0, &r)) {
            PQclear(res);
            return -1;
        }
        VEC_PUSH(out, r);
    }
    PQclear(res);
    return 0;
}

/* At most one run: 1 with *out filled, 0, or -1. */
static int read_one_run(struct pg_store *s, const char *sql, const struct params *p,
                        struct run_record *out, const char *what)
{
    PGresult *res = query(s, sql, p, what);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found && !read_run(s, res, 0, 0, out))
        found = -1;
    PQclear(res);
    return found;
}

/* One integer of a one-row query into *out (0 when there is no row); 0 or -1. */
static int read_number(struct pg_store *s, const char *sql, const struct params *p, int64_t *out,
                       const char *what)
{
    PGresult *res = query(s, sql, p, what);
    if (!res)
        return -1;
    *out = PQntuples(res) > 0 ? int_at(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

/* A PostgreSQL array literal of strings ({"a","b\"c"}) for a text[] parameter. */
static char *text_array(const char *const *items, size_t count)
{
    struct strbuf out = STRBUF_INIT;
    strbuf_addch(&out, '{');
    for (size_t i = 0; i < count; i++) {
        if (!items[i]) { /* a NULL element */
            strbuf_addstr(&out, i ? ",NULL" : "NULL");
            continue;
        }
        strbuf_addstr(&out, i ? ",\"" : "\"");
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                strbuf_addch(&out, '\\');
            strbuf_addch(&out, *c);
        }
        strbuf_addch(&out, '"');
    }
    strbuf_addch(&out, '}');
    return strbuf_detach(&out);
}

/* ---- runs ---- */

/* The parameters of a new run, $1..$22, in INSERT_RUN's order. */
static void new_run_params(struct params *p, const struct run_record *run, int64_t now)
{
    p->count = 0;
    p_text(p, run->job);
    p_int(p, run->attempt > 0 ? run->attempt : 1);
    p_int(p, now);
    p_text(p, run->host);
    p_int(p, run->owner_pid);
    p_int(p, run->owner_start);
    p_text(p, run->git_commit);
    p_text(p, run->kwargs_json);
    p_text(p, run->work_ids_json);
    p_text(p, run->code_fingerprint);
    p_text(p, run->config_fingerprint);
    p_text(p, run->inputs_fingerprint);
    p_text(p, run->reasons_json);
    p_text(p, run->log_path);
    p_int_or_null(p, run->rerun_of, 0);
    p_int(p, run->batch);
    p_int_or_null(p, run->chunk, 0);
    p_int_or_null(p, run->chunks, 0);
    p_text(p, run->env_names_json);
    p_text(p, run->kwargs_given_json);
    p_int_or_null(p, (int64_t)run->git_dirty - 1, -1);
    p_text(p, run->git_changes_json);
}

/* A new invocation's batch is the run's own id: taken from the sequence first, so one
 * statement records it. */
static const char insert_run_sql[] =
    "WITH n AS (SELECT nextval('runs_id_seq') AS id)"
    " INSERT INTO runs (id, job, attempt, status, queued_at, host, owner_pid, owner_start,"
    " heartbeat_at, git_commit, kwargs_json, work_ids_json, code_fingerprint,"
    " config_fingerprint, inputs_fingerprint, reasons_json, log_path, rerun_of, batch, chunk,"
    " chunks, env_names_json, kwargs_given_json, git_dirty, git_changes_json) SELECT n.id, $1,"
    " $2, 'queued', $3, $4, $5, $6, $3, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
    " CASE WHEN $16::bigint = 0 THEN n.id ELSE $16::bigint END, $17, $18, $19, $20,"
    " $21::integer, $22 FROM n"
    " RETURNING id";

/* Record one new run; its id into *id. With unassigned, as store_enqueue has it: no
 * owner, its own batch. */
static int insert_run(struct pg_store *s, const struct run_record *run, int64_t now, int64_t *id,
                      bool unassigned, const char *what)
{
    static const char enqueue_sql[] =
        "WITH n AS (SELECT nextval('runs_id_seq') AS id)"
        " INSERT INTO runs (id, job, attempt, status, queued_at, heartbeat_at, git_commit,"
        " kwargs_json, work_ids_json, code_fingerprint, config_fingerprint, inputs_fingerprint,"
        " reasons_json, log_path, batch, chunk, chunks) SELECT n.id, $1, $2, 'queued', $3, $3,"
        " $4, $5, $6, $7, $8, $9, $10, $11, n.id, $12, $13 FROM n RETURNING id";
    struct params p = {0};
    if (unassigned) { /* no owner, no batch of its own yet, no rerun */
        p_text(&p, run->job);
        p_int(&p, run->attempt > 0 ? run->attempt : 1);
        p_int(&p, now);
        p_text(&p, run->git_commit);
        p_text(&p, run->kwargs_json);
        p_text(&p, run->work_ids_json);
        p_text(&p, run->code_fingerprint);
        p_text(&p, run->config_fingerprint);
        p_text(&p, run->inputs_fingerprint);
        p_text(&p, run->reasons_json);
        p_text(&p, run->log_path);
        p_int_or_null(&p, run->chunk, 0);
        p_int_or_null(&p, run->chunks, 0);
    } else {
        new_run_params(&p, run, now);
    }
    PGresult *res = query(s, unassigned ? enqueue_sql : insert_run_sql, &p, what);
    if (!res)
        return -1;
    *id = PQntuples(res) > 0 ? int_at(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

static int pg_begin_runs(struct store *st, const struct run_record *runs, size_t count, int64_t now,
                         int64_t *ids)
{
    struct pg_store *s = backend(st);
    const char *what = "record a new run";
    if (write_begin(s, what) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (insert_run(s, &runs[i], now, &ids[i], false, what) < 0) {
            write_rollback(s);
            return -1;
        }
    }
    return write_commit(s, what);
}

static const char job_version_sql[] = "SELECT n FROM job_versions WHERE job = $1";
static const char last_run_sql[] =
    "SELECT " RUN_COLUMNS " FROM runs WHERE job = $1 ORDER BY id DESC LIMIT 1";
static const char runs_after_sql[] =
    "SELECT " RUN_COLUMNS " FROM runs WHERE job = $1 AND id > $2 ORDER BY id DESC";

/* Move the first run of list that is in the way into *holder: with upstream, any
 * unassigned run and a live run of another owner; else a live run. 1, or 0. */
static int first_in_way(struct run_list *list, const char *job, const struct store_claim *c,
                        bool upstream, store_holder_live_fn *live, void *ctx,
                        struct run_record *holder)
{
    for (size_t i = 0; i < list->len; i++) {
        struct run_record *r = &list->items[i];
        if (strcmp(r->job, job) != 0)
            continue;
        bool counts = run_unassigned(r) ? upstream : !(upstream && store_claim_owns(c, r)) && live(r, ctx);
        if (counts) {
            *holder = *r;
            memset(r, 0, sizeof(*r));
            r->job = xstrdup(""); /* keep the list releasable and out of later matches */
            return 1;
        }
    }
    return 0;
}

/* Decide one claim inside the claim's transaction: 0 (outcome set), or -1. The active
 * runs of the job and its upstreams come in one query. */
static int claim_one(struct pg_store *s, struct store_claim *c, int64_t now,
                     store_holder_live_fn *live, void *ctx, const char *what)
{
    const char **names = xcalloc(c->upstream_count + 1, sizeof(*names));
    names[0] = c->run.job;
    for (size_t u = 0; u < c->upstream_count; u++)
        names[u + 1] = c->upstreams[u];
    char *array = text_array(names, c->upstream_count + 1);
    free(names);
    struct params p = {0};
    p_text(&p, array);
    struct run_list active = {0};
    int rc = read_runs(s,
                       "SELECT " RUN_COLUMNS " FROM runs WHERE job = ANY($1::text[])"
                       " AND status IN ('queued', 'running') ORDER BY id",
                       &p, &active, what);
    free(array);
    if (rc < 0)
        return -1;
    c->outcome = CLAIM_GOT;
    if (c->exclusive && first_in_way(&active, c->run.job, c, false, live, ctx, &c->holder))
        c->outcome = CLAIM_HELD;
    for (size_t u = 0; u < c->upstream_count && c->outcome == CLAIM_GOT; u++)
        if (first_in_way(&active, c->upstreams[u], c, true, live, ctx, &c->holder))
            c->outcome = CLAIM_WAIT;
    int64_t unassigned = 0;
    for (size_t i = 0; i < active.len && !unassigned; i++)
        if (strcmp(active.items[i].job, c->run.job) == 0 && run_unassigned(&active.items[i]))
            unassigned = active.items[i].id;
    run_list_release(&active);
    if (c->outcome != CLAIM_GOT)
        return 0;
    if (unassigned && !c->run.batch && !c->run.rerun_of) {
        static const char adopt_sql[] =
            "UPDATE runs SET attempt = $2, heartbeat_at = $3, host = $4, owner_pid = $5,"
            " owner_start = $6, git_commit = $7, kwargs_json = $8, work_ids_json = $9,"
            " code_fingerprint = $10, config_fingerprint = $11, inputs_fingerprint = $12,"
            " reasons_json = $13, log_path = $14, chunk = $17, chunks = $18,"
            " env_names_json = $19, kwargs_given_json = $20, git_dirty = $21::integer,"
            " git_changes_json = $22 WHERE id = $23 AND job = $1 AND status = 'queued'"
            " AND owner_pid = 0"
            " AND host IS NULL AND $15::bigint IS NULL AND $16::bigint = 0";
        new_run_params(&p, &c->run, now);
        p_int(&p, unassigned);
        int changed = execute(s, adopt_sql, &p, what);
        if (changed < 0)
            return -1;
        if (changed > 0) {
            c->id = unassigned;
            return 0;
        }
    }
    if (c->seen_version >= 0) {
        int64_t version;
        p.count = 0;
        p_text(&p, c->run.job);
        if (read_number(s, job_version_sql, &p, &version, what) < 0)
            return -1;
        if (version != c->seen_version) {
            c->outcome = CLAIM_CHANGED;
            return read_one_run(s, last_run_sql, &p, &c->holder, what) < 0 ? -1 : 0;
        }
    }
    if (c->after_run > 0) {
        /* Another stau's run since the lost one: it claimed the job first. Runs this
         * stau recorded meanwhile (other chunks, other kwargs) do not count. */
        struct run_list after = {0};
        p.count = 0;
        p_text(&p, c->run.job);
        p_int(&p, c->after_run);
        if (read_runs(s, runs_after_sql, &p, &after, what) < 0) {
            run_list_release(&after);
            return -1;
        }
        bool taken = store_claim_taken_meanwhile(c, &after);
        run_list_release(&after);
        if (taken)
            return 0;
    }
    return insert_run(s, &c->run, now, &c->id, false, what);
}

static void claims_reset(struct store_claim *claims, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        run_record_release(&claims[k].holder);
        claims[k].id = 0;
    }
}

static int pg_claim(struct store *st, struct store_claim *claims, size_t count, int64_t now,
                    store_holder_live_fn *live, void *ctx)
{
    struct pg_store *s = backend(st);
    const char *what = "claim runs";
    for (size_t i = 0; i < count; i++) {
        claims[i].id = 0;
        memset(&claims[i].holder, 0, sizeof(claims[i].holder));
    }
    if (write_begin(s, what) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (claim_one(s, &claims[i], now, live, ctx, what) < 0) {
            write_rollback(s);
            claims_reset(claims, count);
            return -1;
        }
    }
    if (write_commit(s, what) < 0) {
        claims_reset(claims, count);
        return -1;
    }
    return 0;
}

static bool is_owner(const struct store_owner_row *row, const struct store_owner *o)
{
    return row->host && o->host && strcmp(row->host, o->host) == 0 && row->pid == o->pid &&
           row->start == o->start;
}

/* The leader row into *row (its host the caller's): 1, 0 (none), or -1. */
static int read_leader(struct pg_store *s, struct store_owner_row *row, const char *what)
{
    PGresult *res = query(
        s, "SELECT host, pid, start, since, heartbeat_at FROM leader WHERE id = 1", NULL, what);
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        *row = (struct store_owner_row){
            .host = text_at(res, 0, 0),
            .pid = (int)int_at(res, 0, 1),
            .start = int_at(res, 0, 2),
            .since = int_at(res, 0, 3),
            .heartbeat_at = int_at(res, 0, 4),
            .leads = true,
        };
    PQclear(res);
    return found;
}

static int pg_enqueue(struct store *st, const struct store_owner *leader,
                      const struct run_record *runs, const int64_t *seen_versions, size_t count,
                      int64_t now, int64_t *ids)
{
    struct pg_store *s = backend(st);
    const char *what = "enqueue scheduled runs";
    for (size_t i = 0; i < count; i++)
        ids[i] = 0;
    if (!s->leading)
        return 0;
    if (write_begin(s, what) < 0)
        return -1;
    struct store_owner_row row = {0};
    int found = read_leader(s, &row, what);
    bool leads = found > 0 && is_owner(&row, leader);
    free(row.host);
    if (found < 0 || !leads) {
        write_rollback(s);
        return found < 0 ? -1 : 0;
    }
    for (size_t i = 0; i < count; i++) {
        struct params p = {0};
        p_text(&p, runs[i].job);
        int64_t version;
        /* Already enqueued (-1), or moved since the plan read it: another stau ran or
         * took the job meanwhile, and the tick is judged again on the next plan. */
        if (read_number(s,
                        "SELECT CASE WHEN EXISTS (SELECT 1 FROM runs WHERE job = $1 AND"
                        " status = 'queued' AND owner_pid = 0 AND host IS NULL) THEN -1 ELSE"
                        " coalesce((SELECT n FROM job_versions WHERE job = $1), 0) END",
                        &p, &version, what) < 0 ||
            (version == seen_versions[i] &&
             insert_run(s, &runs[i], now, &ids[i], true, what) < 0)) {
            write_rollback(s);
            for (size_t k = 0; k < count; k++)
                ids[k] = 0;
            return -1;
        }
    }
    if (write_commit(s, what) < 0) {
        for (size_t k = 0; k < count; k++)
            ids[k] = 0;
        return -1;
    }
    return 1;
}

static int pg_withdraw(struct store *st, int64_t id)
{
    struct params p = {0};
    p_int(&p, id);
    return write_one(backend(st),
                     "DELETE FROM runs WHERE id = $1 AND status = 'queued' AND owner_pid = 0"
                     " AND host IS NULL",
                     &p, "withdraw an enqueued run");
}

static void owner_params(struct params *p, const struct store_owner *o)
{
    p->count = 0;
    p_text(p, o->host);
    p_int(p, o->pid);
    p_int(p, o->start);
}

/* The lock decides who leads, not the row: the row only says who it is. */
static int pg_lead(struct store *st, const struct store_owner *owner, bool leaving, int64_t now,
                   store_leader_live_fn *live, void *ctx, struct store_owner_row *leader)
{
    struct pg_store *s = backend(st);
    const char *what = leaving ? "give up the leader lease" : "take the leader lease";
    struct params p;
    owner_params(&p, owner);
    char sql[128];
    if (leaving) {
        int was = write_one(s, "DELETE FROM leader WHERE host = $1 AND pid = $2 AND start = $3", &p,
                            what);
        if (was < 0)
            return -1;
        if (!s->leading || was == 0) /* not this owner's to give up */
            return 0;
        snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", s->leader_key);
        s->leading = false;
        return execute(s, sql, NULL, what) < 0 ? -1 : 0;
    }
    if (s->leading) {
        /* This session holds the lock; within it (one stau, or a test playing several
         * on one handle) the rule is SQLite's: a live holder keeps the lease. */
        struct store_owner_row row = {0};
        int found = read_leader(s, &row, what);
        if (found < 0)
            return -1;
        if (found && !is_owner(&row, owner) && live && live(&row, ctx)) {
            if (leader)
                *leader = row;
            else
                free(row.host);
            return 0;
        }
        free(row.host);
    } else {
        snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)", s->leader_key);
        PGresult *res = query(s, sql, NULL, what);
        if (!res)
            return -1;
        s->leading = bool_at(res, 0, 0);
        PQclear(res);
        if (!s->leading) {
            struct store_owner_row row = {0};
            int found = read_leader(s, &row, what);
            if (found < 0)
                return -1;
            if (leader)
                *leader = row;
            else
                free(row.host);
            return 0;
        }
    }
    p_int(&p, now);
    int rc = write_one(s,
                       "INSERT INTO leader (id, host, pid, start, since, heartbeat_at)"
                       " VALUES (1, $1, $2, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET"
                       " since = CASE WHEN leader.host = excluded.host AND leader.pid ="
                       " excluded.pid AND leader.start = excluded.start THEN leader.since ELSE"
                       " excluded.since END, host = excluded.host, pid = excluded.pid,"
                       " start = excluded.start, heartbeat_at = excluded.heartbeat_at",
                       &p, what);
    return rc < 0 ? -1 : 1;
}

static int pg_heartbeat(struct store *st, const struct store_owner *owner, int64_t now)
{
    struct params p;
    owner_params(&p, owner);
    p_int(&p, now);
    return write_one(backend(st),
                     "UPDATE runs SET heartbeat_at = $4 WHERE host IS NOT DISTINCT FROM $1"
                     " AND owner_pid = $2 AND owner_start = $3 AND status IN ('queued', 'running')",
                     &p, "renew the leases of runs");
}

static const char start_sql[] =
    "UPDATE runs SET status = 'running', started_at = $2, pid = $3, heartbeat_at = $2,"
    " inputs_fingerprint = COALESCE($4, inputs_fingerprint), log_path = COALESCE($5, log_path),"
    " work_ids_json = COALESCE($6, work_ids_json), chunk = COALESCE($7::integer, chunk),"
    " chunks = COALESCE($8::integer, chunks), files = COALESCE($9, files)"
    " WHERE id = $1 AND status = 'queued'";
static const char finish_sql[] =
    "UPDATE runs SET status = $2, exit_code = $3, signal = $4, outputs_fingerprint = $5,"
    " archive_path = $6, finished_at = $7,"
    " files = CASE WHEN $8::text IS NULL THEN files ELSE COALESCE(files, '') || $8::text END"
    " WHERE id = $1 AND status IN ('queued', 'running')";

/* The parameters of one change for start_sql or finish_sql; -1 for an end that is no end. */
static int change_params(struct pg_store *s, const struct store_change *c, struct params *p)
{
    p->count = 0;
    p_int(p, c->id);
    if (c->kind == STORE_START) {
        p_int(p, c->at);
        p_int_or_null(p, c->pid, 0);
        p_text(p, c->inputs_fingerprint);
        p_text(p, c->log_path);
        p_text(p, c->work_ids_json);
        p_int_or_null(p, c->chunk, 0);
        p_int_or_null(p, c->chunks, 0);
        p_text(p, c->files);
        return 0;
    }
    const struct run_finish *fin = &c->finish;
    if (!run_status_finished(fin->status))
        return problem(&s->base, "cannot record run %lld as ended while it is '%s'",
                       (long long)c->id, run_status_name(fin->status));
    p_text(p, run_status_name(fin->status));
    p_int_or_null(p, fin->exit_code, -1);
    p_int_or_null(p, fin->signal, 0);
    p_text(p, fin->outputs_fingerprint);
    p_text(p, fin->archive_path);
    p_int(p, c->at);
    p_text(p, fin->output_files);
    return 0;
}

/* Remember files in one statement (arrays of each column); 0 or -1. */
static int put_files(struct pg_store *s, const struct store_file *files, size_t count, int64_t now,
                     const char *what)
{
    if (!count)
        return 0;
    const char **paths = xcalloc(count, sizeof(*paths));
    struct strbuf cols[7];
    for (int k = 0; k < 7; k++) {
        cols[k] = (struct strbuf)STRBUF_INIT;
        strbuf_addch(&cols[k], '{');
    }
    for (size_t i = 0; i < count; i++) {
        const struct store_file *f = &files[i];
        paths[i] = f->path;
        int64_t v[7] = {f->mtime_ns,          f->ctime_ns,        (int64_t)f->size,
                        (int64_t)f->inode,    (int64_t)f->device, (int64_t)f->hash.low,
                        (int64_t)f->hash.high};
        for (int k = 0; k < 7; k++)
            strbuf_addf(&cols[k], "%s%lld", i ? "," : "", (long long)v[k]);
    }
    struct params p = {0};
    char *path_array = text_array(paths, count);
    p_text(&p, path_array);
    for (int k = 0; k < 7; k++) {
        strbuf_addch(&cols[k], '}');
        p_text(&p, strbuf_str(&cols[k]));
    }
    p_int(&p, now);
    /* the last entry of a path wins, as one statement may not touch a row twice */
    int rc = execute(s,
                     "INSERT INTO files (path, mtime_ns, ctime_ns, size, inode, device, hash_low,"
                     " hash_high, checked_at) SELECT DISTINCT ON (path) path, m, c, sz, ino, dev,"
                     " lo, hi, $9 FROM unnest($1::text[], $2::bigint[], $3::bigint[],"
                     " $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])"
                     " WITH ORDINALITY AS f(path, m, c, sz, ino, dev, lo, hi, i)"
                     " ORDER BY path, i DESC ON CONFLICT (path) DO UPDATE SET"
                     " mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,"
                     " size = excluded.size, inode = excluded.inode, device = excluded.device,"
                     " hash_low = excluded.hash_low, hash_high = excluded.hash_high,"
                     " checked_at = excluded.checked_at",
                     &p, what);
    free(path_array);
    for (int k = 0; k < 7; k++)
        strbuf_release(&cols[k]);
    free(paths);
    return rc < 0 ? -1 : 0;
}

static int pg_apply(struct store *st, const struct store_change *changes, size_t count,
                    const struct store_file *files, size_t file_count, int64_t now)
{
    struct pg_store *s = backend(st);
    const char *what = "record runs starting and ending";
    for (size_t i = 0; i < count; i++) { /* refuse a bad change before anything is sent */
        struct params p;
        if (change_params(s, &changes[i], &p) < 0)
            return -1;
    }
    if (write_begin(s, what) < 0)
        return -1;
    int unapplied = 0;
    for (size_t i = 0; i < count; i++) {
        struct params p;
        change_params(s, &changes[i], &p);
        int changed = execute(s, changes[i].kind == STORE_START ? start_sql : finish_sql, &p, what);
        if (changed < 0) {
            write_rollback(s);
            return -1;
        }
        unapplied += changed == 0;
    }
    if (put_files(s, files, file_count, now, what) < 0) {
        write_rollback(s);
        return -1;
    }
    return write_commit(s, what) < 0 ? -1 : unapplied;
}

static int pg_set_archive(struct store *st, int64_t id, const char *archive_path)
{
    struct params p = {0};
    p_int(&p, id);
    p_text(&p, archive_path);
    int changed = write_one(backend(st), "UPDATE runs SET archive_path = $2 WHERE id = $1", &p,
                            "record the archive of a run");
    if (changed == 0)
        return problem(st,
                       "cannot record the archive of run %lld in state database '%s': no "
                       "such run",
                       (long long)id, st->location);
    return changed < 0 ? -1 : 0;
}

static int pg_run(struct store *st, int64_t id, struct run_record *out)
{
    struct params p = {0};
    p_int(&p, id);
    return read_one_run(backend(st), "SELECT " RUN_COLUMNS " FROM runs WHERE id = $1", &p, out,
                        "read a run");
}

static int pg_last_run(struct store *st, const char *job, struct run_record *out)
{
    struct params p = {0};
    p_text(&p, job);
    return read_one_run(backend(st), last_run_sql, &p, out, "read a run");
}

/* Every ask in one query: the jobs, their counts and all their IDs end to end as
 * three arrays; per ask a row with an array of when each of its IDs last succeeded
 * (0: never), in the ask's order, so the answer is one row an ask, not one an ID. */
static int pg_work_done(struct store *st, struct work_done_ask *asks, size_t n)
{
    struct pg_store *s = backend(st);
    const char *what = "read the work IDs' last successes";
    const char **jobs = xcalloc(n, sizeof(*jobs));
    int64_t *counts = xcalloc(n, sizeof(*counts));
    struct strbuf ids = STRBUF_INIT, count_array = STRBUF_INIT;
    strbuf_addch(&ids, '{');
    for (size_t a = 0; a < n; a++) {
        jobs[a] = asks[a].job;
        counts[a] = (int64_t)asks[a].count;
        if (a && asks[a].count && ids.len > 1)
            strbuf_addch(&ids, ',');
        store_add_numbers(&ids, asks[a].ids, asks[a].count);
    }
    strbuf_addch(&ids, '}');
    strbuf_addch(&count_array, '{');
    store_add_numbers(&count_array, counts, n);
    strbuf_addch(&count_array, '}');
    char *job_array = text_array(jobs, n);
    free(jobs);
    free(counts);
    struct params p = {0};
    p_text(&p, job_array);
    p_text(&p, ids.buf);
    p_text(&p, count_array.buf);
    PGresult *res = query(
        s,
        "WITH a AS (SELECT n, job, c, sum(c) OVER (ORDER BY n) - c AS off"
        " FROM unnest($1::text[], $3::integer[]) WITH ORDINALITY AS a(job, c, n))"
        " SELECT a.n, array_agg(coalesce(w.finished_at, 0) ORDER BY u.k) FROM a"
        " CROSS JOIN LATERAL generate_series(1, a.c) AS u(k)"
        " LEFT JOIN work_done w ON w.job = a.job AND w.work_id = ($2::bigint[])[(a.off + u.k)::int]"
        " GROUP BY a.n",
        &p, what);
    free(job_array);
    strbuf_release(&ids);
    strbuf_release(&count_array);
    if (!res)
        return -1;
    int rc = 0;
    for (int row = 0; row < PQntuples(res) && rc == 0; row++) {
        int64_t a = int_at(res, row, 0) - 1;
        const char *at = PQgetvalue(res, row, 1);
        size_t i = 0;
        if (a < 0 || (size_t)a >= n || *at++ != '{')
            rc = -1;
        while (rc == 0 && *at != '}' && i < asks[a].count) {
            char *end;
            asks[a].finished_at[i++] = strtoll(at, &end, 10);
            at = *end == ',' ? end + 1 : end;
            if (end == at && *end != '}')
                rc = -1;
        }
        if (rc == 0 && (i != asks[a].count || *at != '}'))
            rc = -1;
    }
    if (rc < 0)
        problem(st, "cannot %s in state database '%s': the server's answer is not one time per ID",
                what, st->location);
    PQclear(res);
    return rc;
}

static int pg_job_version(struct store *st, const char *job, int64_t *out)
{
    struct params p = {0};
    p_text(&p, job);
    return read_number(backend(st), job_version_sql, &p, out, "read the version of a job");
}

static int pg_succeeded_batch(struct store *st, const char *job, int64_t before,
                              struct run_list *out)
{
    struct params p = {0};
    p_text(&p, job);
    p_int(&p, before);
    return read_runs(backend(st),
                     "SELECT " RUN_COLUMNS " FROM runs WHERE job = $1 AND batch ="
                     " (SELECT max(batch) FROM runs WHERE job = $1 AND batch < $2"
                     " AND status = 'succeeded') ORDER BY id",
                     &p, out, "read the last successes of a job");
}

static int pg_last_started(struct store *st, const char *job, struct run_record *out)
{
    struct params p = {0};
    p_text(&p, job);
    return read_one_run(backend(st),
                        "SELECT " RUN_COLUMNS " FROM runs WHERE job = $1"
                        " AND started_at IS NOT NULL ORDER BY id DESC LIMIT 1",
                        &p, out, "read a run");
}

static int pg_last_batch(struct store *st, const char *job, struct run_list *out)
{
    struct params p = {0};
    p_text(&p, job);
    return read_runs(backend(st),
                     "SELECT " RUN_COLUMNS " FROM runs WHERE job = $1 AND batch ="
                     " (SELECT max(batch) FROM runs WHERE job = $1) ORDER BY id",
                     &p, out, "read the last runs of a job");
}

/* Every job's past in one query: per job (in the order given) its newest batch, its
 * newest batch with a success, its newest started run and its version, as rows
 * flagged with which of them each run belongs to. */
static int pg_job_pasts(struct store *st, const char *const *jobs, size_t count,
                        struct store_job_past *out)
{
    struct pg_store *s = backend(st);
    for (size_t i = 0; i < count; i++)
        memset(&out[i], 0, sizeof(out[i]));
    if (!count)
        return 0;
    char *array = text_array(jobs, count);
    struct params p = {0};
    p_text(&p, array);
    PGresult *res = query(
        s,
        "WITH p AS MATERIALIZED (SELECT j.i, j.job,"
        " (SELECT max(batch) FROM runs r WHERE r.job = j.job) AS last_b,"
        " (SELECT max(batch) FROM runs r WHERE r.job = j.job AND r.status = 'succeeded') AS ok_b,"
        " (SELECT max(id) FROM runs r WHERE r.job = j.job AND r.started_at IS NOT NULL)"
        " AS started_id,"
        " (SELECT n FROM job_versions v WHERE v.job = j.job) AS version"
        " FROM unnest($1::text[]) WITH ORDINALITY AS j(job, i))"
        " SELECT p.i, p.version, r.batch = p.last_b, r.batch = p.ok_b, r.id = p.started_id, r.*"
        " FROM p LEFT JOIN LATERAL (SELECT " RUN_COLUMNS " FROM runs r WHERE r.job = p.job"
        " AND r.batch IN (p.last_b, p.ok_b) UNION ALL SELECT " RUN_COLUMNS " FROM runs r"
        " WHERE r.id = p.started_id AND r.batch IS DISTINCT FROM p.last_b"
        " AND r.batch IS DISTINCT FROM p.ok_b) r ON true ORDER BY p.i, r.id",
        &p, "read the past of jobs");
    free(array);
    if (!res)
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        int64_t i = int_at(res, row, 0) - 1;
        if (i < 0 || (size_t)i >= count)
            continue;
        struct store_job_past *past = &out[i];
        past->version = int_at(res, row, 1);
        if (PQgetisnull(res, row, 5))
            continue; /* no runs */
        bool in_last = bool_at(res, row, 2), in_ok = bool_at(res, row, 3),
             started = bool_at(res, row, 4);
        struct run_record r;
        if (!read_run(s, res, row, 5, &r)) {
            PQclear(res);
            for (size_t k = 0; k < count; k++)
                store_job_past_release(&out[k]);
            return -1;
        }
        if (in_last) {
            struct run_record copy;
            read_run_fields(res, row, 5, &copy);
            VEC_PUSH(&past->last_batch, copy);
        }
        if (in_ok) {
            struct run_record copy;
            read_run_fields(res, row, 5, &copy);
            VEC_PUSH(&past->succeeded_batch, copy);
        }
        if (started) {
            run_record_release(&past->last_started);
            past->last_started = r;
        } else {
            run_record_release(&r);
        }
    }
    PQclear(res);
    return 0;
}

static int pg_snapshot(struct store *st, bool begin)
{
    struct pg_store *s = backend(st);
    if (begin) {
        if (execute(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, "begin reading") <
            0)
            return -1;
        s->in_snapshot = true;
        return 0;
    }
    if (!s->in_snapshot)
        return 0;
    s->in_snapshot = false;
    return execute(s, "COMMIT", NULL, "end reading") < 0 ? -1 : 0;
}

static int pg_history(struct store *st, const char *job, size_t limit, struct run_list *out)
{
    struct params p = {0};
    p_text(&p, job);
    p_int_or_null(&p, limit == 0 || limit > INT64_MAX ? 0 : (int64_t)limit, 0); /* NULL: all */
    return read_runs(backend(st),
                     "SELECT " RUN_COLUMNS " FROM runs WHERE ($1::text IS NULL OR job = $1)"
                     " ORDER BY id DESC LIMIT $2::bigint",
                     &p, out, "read the history of runs");
}

static int pg_active_runs(struct store *st, const char *job, struct run_list *out)
{
    struct params p = {0};
    p_text(&p, job);
    return read_runs(backend(st),
                     "SELECT " RUN_COLUMNS " FROM runs WHERE ($1::text IS NULL OR job = $1)"
                     " AND status IN ('queued', 'running') ORDER BY id",
                     &p, out, "read the active runs");
}

static int pg_mark_lost(struct store *st, int64_t id, int64_t heartbeat_seen, int64_t now)
{
    struct params p = {0};
    p_int(&p, id);
    p_int_or_null(&p, heartbeat_seen, 0);
    p_int(&p, now);
    return write_one(backend(st),
                     "UPDATE runs SET status = 'lost', finished_at = $3 WHERE id = $1"
                     " AND status IN ('queued', 'running')"
                     " AND heartbeat_at IS NOT DISTINCT FROM $2::bigint",
                     &p, "mark a run lost");
}

/* The ids as a PostgreSQL array literal ({1,2,3}) for a bigint[] parameter. */
static char *id_array(const int64_t *ids, size_t count)
{
    struct strbuf out = STRBUF_INIT;
    strbuf_addch(&out, '{');
    store_add_numbers(&out, ids, count);
    strbuf_addch(&out, '}');
    return strbuf_detach(&out);
}

static int pg_gc_runs(struct store *st, const int64_t *ids, size_t count, struct run_list *out)
{
    if (!count)
        return 0;
    char *array = id_array(ids, count);
    struct params p = {0};
    p_text(&p, array);
    int rc = read_runs(backend(st),
                       "SELECT " GC_COLUMNS " FROM runs WHERE id = ANY($1::bigint[]) ORDER BY id",
                       &p, out, "read runs for gc");
    free(array);
    return rc;
}

static int pg_gc_page(struct store *st, const char *job, int64_t below, size_t limit,
                      struct run_list *out)
{
    struct params p = {0};
    p_text(&p, job);
    p_int(&p, below);
    p_int(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    return read_runs(backend(st),
                     "SELECT " GC_COLUMNS " FROM runs WHERE job = $1 AND id < $2"
                     " ORDER BY id DESC LIMIT $3",
                     &p, out, "read runs for gc");
}

static int pg_forget_archives(struct store *st, const int64_t *ids, size_t count)
{
    if (!count)
        return 0;
    char *array = id_array(ids, count);
    struct params p = {0};
    p_text(&p, array);
    int rc =
        write_one(backend(st), "UPDATE runs SET archive_path = NULL WHERE id = ANY($1::bigint[])",
                  &p, "forget the archives of runs");
    free(array);
    return rc < 0 ? -1 : 0;
}

/* ---- serving owners ---- */

static int pg_owner_beat(struct store *st, const struct store_owner *owner, bool leaving,
                         int64_t now)
{
    struct params p;
    owner_params(&p, owner);
    if (leaving)
        return write_one(backend(st),
                         "DELETE FROM owners WHERE host = $1 AND pid = $2 AND start = $3", &p,
                         "forget a serving stau") < 0
                   ? -1
                   : 0;
    p_int(&p, now);
    return write_one(backend(st),
                     "INSERT INTO owners (host, pid, start, since, heartbeat_at)"
                     " VALUES ($1, $2, $3, $4, $4) ON CONFLICT (host, pid, start)"
                     " DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                     &p, "record a serving stau") < 0
               ? -1
               : 0;
}

static int pg_owners(struct store *st, struct store_owner_list *out)
{
    PGresult *res = query(backend(st),
                          "SELECT o.host, o.pid, o.start, o.since, o.heartbeat_at, l.id IS NOT NULL"
                          " FROM owners o LEFT JOIN leader l ON l.host = o.host AND l.pid = o.pid"
                          " AND l.start = o.start ORDER BY o.since",
                          NULL, "read the serving staus");
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_owner_row row = {
            .host = text_at(res, i, 0),
            .pid = (int)int_at(res, i, 1),
            .start = int_at(res, i, 2),
            .since = int_at(res, i, 3),
            .heartbeat_at = int_at(res, i, 4),
            .leads = bool_at(res, i, 5),
        };
        VEC_PUSH(out, row);
    }
    PQclear(res);
    return 0;
}

/* ---- the file memory ---- */

#define FILE_COLUMNS "path, mtime_ns, ctime_ns, size, inode, device, hash_low, hash_high"

static void read_file(const PGresult *res, int row, int c, struct store_file *out)
{
    out->path = text_at(res, row, c + 0);
    out->mtime_ns = int_at(res, row, c + 1);
    out->ctime_ns = int_at(res, row, c + 2);
    out->size = (uint64_t)int_at(res, row, c + 3);
    out->inode = (uint64_t)int_at(res, row, c + 4);
    out->device = (uint64_t)int_at(res, row, c + 5);
    out->hash.low = (uint64_t)int_at(res, row, c + 6);
    out->hash.high = (uint64_t)int_at(res, row, c + 7);
}

static int pg_files_get(struct store *st, const char *const *paths, size_t count,
                        struct store_file *out, bool *found)
{
    for (size_t i = 0; i < count; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        found[i] = false;
    }
    if (!count)
        return 0;
    char *array = text_array(paths, count);
    struct params p = {0};
    p_text(&p, array);
    PGresult *res = query(backend(st),
                          "SELECT q.i, " FILE_COLUMNS " FROM unnest($1::text[]) WITH ORDINALITY"
                          " AS q(path, i) JOIN files f USING (path)",
                          &p, "read what is known of files");
    free(array);
    if (!res)
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        int64_t i = int_at(res, row, 0) - 1;
        if (i < 0 || (size_t)i >= count || found[i])
            continue;
        read_file(res, row, 1, &out[i]);
        found[i] = true;
    }
    PQclear(res);
    return 0;
}

static int pg_file_get(struct store *st, const char *path, struct store_file *out)
{
    bool found = false;
    memset(out, 0, sizeof(*out));
    if (pg_files_get(st, &path, 1, out, &found) < 0)
        return -1;
    return found ? 1 : 0;
}

static int pg_file_put(struct store *st, const struct store_file *files, size_t count, int64_t now)
{
    struct pg_store *s = backend(st);
    const char *what = "remember files";
    if (write_begin(s, what) < 0)
        return -1;
    if (put_files(s, files, count, now, what) < 0) {
        write_rollback(s);
        return -1;
    }
    return write_commit(s, what);
}

static int pg_files_all(struct store *st, struct store_file_list *out)
{
    PGresult *res = query(backend(st), "SELECT " FILE_COLUMNS " FROM files ORDER BY path", NULL,
                          "read what is known of files");
    if (!res)
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        struct store_file f;
        read_file(res, row, 0, &f);
        VEC_PUSH(out, f);
    }
    PQclear(res);
    return 0;
}

static int pg_generation(struct store *st, int64_t *out)
{
    struct pg_store *s = backend(st);
    PGresult *res = query(s, "SELECT n FROM generation", NULL, "read the generation");
    if (!res)
        return -1;
    int rows = PQntuples(res);
    if (rows > 0)
        *out = int_at(res, 0, 0);
    PQclear(res);
    if (rows == 0)
        return problem(st, "cannot read the generation in state database '%s': its row is missing",
                       st->location);
    return 0;
}

/* ---- copying a history in ---- */

/* Rows go in 200 to a statement (29 parameters each), in id order, so rerun_of's
 * references are there before they are pointed at. */
enum { IMPORT_ROWS = 200 };

static int import_some(struct pg_store *s, const struct run_record *runs, size_t count, bool merge,
                       const char *what)
{
    struct strbuf sql = STRBUF_INIT;
    strbuf_addstr(&sql, "INSERT INTO runs (" RUN_COLUMNS ") VALUES ");
    const char **values = xcalloc(count * RUN_COLUMN_COUNT, sizeof(*values));
    char(*numbers)[24] = xcalloc(count * RUN_COLUMN_COUNT, sizeof(*numbers));
    for (size_t i = 0; i < count; i++) {
        const struct run_record *r = &runs[i];
        struct params p = {0};
        p_int(&p, r->id);
        p_text(&p, r->job);
        p_int(&p, r->attempt);
        p_text(&p, run_status_name(r->status));
        p_int(&p, r->queued_at);
        p_int_or_null(&p, r->started_at, 0);
        p_int_or_null(&p, r->finished_at, 0);
        p_int_or_null(&p, r->exit_code, -1);
        p_int_or_null(&p, r->signal, 0);
        p_text(&p, r->host);
        p_int(&p, r->owner_pid);
        p_int(&p, r->owner_start);
        p_int_or_null(&p, r->pid, 0);
        p_int_or_null(&p, r->heartbeat_at, 0);
        p_text(&p, r->git_commit);
        p_text(&p, r->kwargs_json);
        p_text(&p, r->work_ids_json);
        p_text(&p, r->code_fingerprint);
        p_text(&p, r->config_fingerprint);
        p_text(&p, r->inputs_fingerprint);
        p_text(&p, r->outputs_fingerprint);
        p_text(&p, r->reasons_json);
        p_text(&p, r->log_path);
        p_text(&p, r->archive_path);
        p_int_or_null(&p, r->rerun_of, 0);
        p_int(&p, r->batch);
        p_int_or_null(&p, r->chunk, 0);
        p_int_or_null(&p, r->chunks, 0);
        p_text(&p, r->files);
        p_text(&p, r->env_names_json);
        p_text(&p, r->kwargs_given_json);
        p_int_or_null(&p, (int64_t)r->git_dirty - 1, -1);
        p_text(&p, r->git_changes_json);
        strbuf_addstr(&sql, i ? ",(" : "(");
        for (int k = 0; k < RUN_COLUMN_COUNT; k++) {
            size_t at = i * RUN_COLUMN_COUNT + (size_t)k;
            if (p.values[k] == p.numbers[k]) {
                memcpy(numbers[at], p.numbers[k], sizeof(numbers[at]));
                values[at] = numbers[at];
            } else {
                values[at] = p.values[k];
            }
            strbuf_addf(&sql, "%s$%zu", k ? "," : "", at + 1);
        }
        strbuf_addch(&sql, ')');
    }
    if (merge)
        strbuf_addstr(&sql, " ON CONFLICT (id) DO NOTHING");
    int rc = -1;
    if (ensure(s, what) == 0) {
        s->base.round_trips++;
        PGresult *res = PQexecParams(s->conn, strbuf_str(&sql), (int)(count * RUN_COLUMN_COUNT),
                                     NULL, values, NULL, NULL, 0);
        if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
            rc = 0;
        else
            fail(s, what, res);
        PQclear(res);
    }
    free(numbers);
    free(values);
    strbuf_release(&sql);
    return rc;
}

static int pg_import(struct store *st, const struct run_record *runs, size_t count,
                     const struct store_file *files, size_t file_count, bool merge)
{
    struct pg_store *s = backend(st);
    const char *what = merge ? "recover runs" : "copy runs in";
    if (write_begin(s, what) < 0)
        return -1;
    int64_t existing = 0;
    if (!merge && read_number(s, "SELECT count(*) FROM runs", NULL, &existing, what) < 0) {
        write_rollback(s);
        return -1;
    }
    if (existing > 0) {
        write_rollback(s);
        return problem(st,
                       "cannot copy runs into state database '%s': it holds %lld runs already; "
                       "copy into a new database",
                       st->location, (long long)existing);
    }
    int rc = execute(s, "SET LOCAL stau.importing = 'on'", NULL, what) < 0 ? -1 : 0;
    for (size_t i = 0; i < count && rc == 0; i += IMPORT_ROWS)
        rc = import_some(s, runs + i, count - i < IMPORT_ROWS ? count - i : IMPORT_ROWS, merge,
                         what);
    if (rc == 0)
        rc = put_files(s, files, file_count, 0, what);
    /* what the triggers would have done, at once */
    if (rc == 0 && (execute(s, "SET LOCAL stau.importing = 'off'", NULL, what) < 0 ||
                    execute(s,
                            "INSERT INTO job_versions SELECT job, count(*) FROM runs GROUP BY job"
                            " ON CONFLICT (job) DO UPDATE SET n = job_versions.n + excluded.n",
                            NULL, what) < 0 ||
                    execute(s, "UPDATE generation SET n = n + 1", NULL, what) < 0 ||
                    execute(s,
                            "SELECT setval('runs_id_seq', GREATEST((SELECT max(id) FROM runs),"
                            " (SELECT last_value FROM runs_id_seq)))",
                            NULL, what) < 0))
        rc = -1;
    if (rc < 0) {
        write_rollback(s);
        return -1;
    }
    return write_commit(s, what);
}

static int pg_keep_ids_above(struct store *st, int64_t id)
{
    struct pg_store *s = backend(st);
    const char *what = "number new runs after the archived ones";
    if (id <= 0)
        return 0;
    struct params p = {0};
    p_int(&p, id);
    if (write_begin(s, what) < 0)
        return -1;
    /* a sequence not used yet hands out last_value itself next: setval makes it "called" */
    if (execute(s,
                "SELECT setval('runs_id_seq', GREATEST($1::bigint, (SELECT CASE WHEN is_called"
                " THEN last_value ELSE last_value - 1 END FROM runs_id_seq)))",
                &p, what) < 0) {
        write_rollback(s);
        return -1;
    }
    return write_commit(s, what);
}

/* ---- wake-ups ---- */

static int pg_wake_fd(struct store *st)
{
    struct pg_store *s = backend(st);
    return PQstatus(s->conn) == CONNECTION_OK ? PQsocket(s->conn) : -1;
}

static int pg_woken(struct store *st)
{
    struct pg_store *s = backend(st);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return ensure(s, "listen for runs") < 0 ? -1 : 1; /* back: anything may have moved */
    if (!PQconsumeInput(s->conn))
        return fail(s, "listen for runs", NULL);
    int woken = 0;
    PGnotify *n;
    while ((n = PQnotifies(s->conn))) {
        woken = 1;
        PQfreemem(n);
    }
    return woken;
}

/* ---- checking, closing, opening ---- */

/* PostgreSQL keeps its own pages sound; what can be checked from here is that every
 * table answers and the single rows are there. */
static int pg_check(struct store *st)
{
    struct pg_store *s = backend(st);
    int64_t rows;
    if (read_number(s,
                    "SELECT (SELECT count(*) FROM meta) + (SELECT count(*) FROM generation) +"
                    " (SELECT count(*) FROM (SELECT 1 FROM runs LIMIT 1) r) * 0 +"
                    " (SELECT count(*) FROM (SELECT 1 FROM files LIMIT 1) f) * 0",
                    NULL, &rows, "check the database") < 0)
        return -1;
    if (rows != 2)
        return problem(st, "state database '%s' is damaged: table meta or generation lost its row",
                       st->location);
    return 0;
}

static void pg_close(struct store *st)
{
    struct pg_store *s = backend(st);
    if (s->conn)
        PQfinish(s->conn);
    free(s->conninfo);
    free(s->schema);
    free(s->quoted);
    free(s->begin_write);
    free(st->location);
    strbuf_release(&st->error);
    free(s);
}

static struct store *pg_reopen(struct store *st, struct strbuf *err)
{
    struct pg_store *s = backend(st);
    return store_pg_open(s->conninfo, s->schema, err);
}

static const struct store_ops pg_ops = {
    .close = pg_close,
    .check = pg_check,
    .begin_runs = pg_begin_runs,
    .claim = pg_claim,
    .enqueue = pg_enqueue,
    .withdraw = pg_withdraw,
    .lead = pg_lead,
    .heartbeat = pg_heartbeat,
    .set_archive = pg_set_archive,
    .run = pg_run,
    .last_run = pg_last_run,
    .job_version = pg_job_version,
    .work_done = pg_work_done,
    .succeeded_batch = pg_succeeded_batch,
    .last_started = pg_last_started,
    .job_pasts = pg_job_pasts,
    .snapshot = pg_snapshot,
    .last_batch = pg_last_batch,
    .history = pg_history,
    .active_runs = pg_active_runs,
    .mark_lost = pg_mark_lost,
    .gc_runs = pg_gc_runs,
    .gc_page = pg_gc_page,
    .forget_archives = pg_forget_archives,
    .owner_beat = pg_owner_beat,
    .owners = pg_owners,
    .file_get = pg_file_get,
    .files_get = pg_files_get,
    .file_put = pg_file_put,
    .generation = pg_generation,
    .apply = pg_apply,
    .reopen = pg_reopen,
    .wake_fd = pg_wake_fd,
    .woken = pg_woken,
    .import = pg_import,
    .keep_ids_above = pg_keep_ids_above,
    .files_all = pg_files_all,
};

static void ignore_notice(void *ctx, const char *message)
{
    (void)ctx;
    (void)message;
}

/* "postgresql://user@host:port/dbname", from what the connection string names
 * (never its password); what it leaves out comes from libpq's defaults. */
static char *server_name(const char *conninfo)
{
    char *parse_error = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &parse_error);
    if (!options) {
        PQfreemem(parse_error);
        return xstrdup("postgresql://(a connection string libpq cannot read)");
    }
    const char *user = NULL, *host = NULL, *port = NULL, *dbname = NULL, *service = NULL;
    for (PQconninfoOption *o = options; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "user") == 0)
            user = o->val;
        else if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !host))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            dbname = o->val;
        else if (strcmp(o->keyword, "service") == 0)
            service = o->val;
    }
    struct strbuf out = STRBUF_INIT;
    strbuf_addstr(&out, "postgresql://");
    if (user)
        strbuf_addf(&out, "%s@", user);
    if (host)
        strbuf_addstr(&out, host);
    if (port)
        strbuf_addf(&out, ":%s", port);
    strbuf_addf(&out, "/%s", dbname ? dbname : "");
    if (service)
        strbuf_addf(&out, "?service=%s", service);
    PQconninfoFree(options);
    return strbuf_detach(&out);
}

/* Per connection: the schema first on the search path, the notification channel
 * listened to, and the advisory lock keys of this schema (hashes of its name). */
static int session_setup(struct pg_store *s)
{
    struct params p = {0};
    p_text(&p, s->quoted);
    p_text(&p, s->schema);
    s->base.round_trips++;
    PGresult *res = PQexecParams(
        s->conn,
        "SELECT set_config('search_path', $1, false), hashtextextended('stau lead ' || $2, 0),"
        " hashtextextended('stau write ' || $2, 0)",
        p.count, NULL, p.values, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        fail(s, "open", res);
        PQclear(res);
        return -1;
    }
    s->leader_key = (long long)int_at(res, 0, 1);
    s->write_key = (long long)int_at(res, 0, 2);
    PQclear(res);
    /* Made once: the keys depend only on the schema, and a reconnect (which runs
     * this again) may happen inside write_begin while the text is being sent. */
    if (!s->begin_write)
        s->begin_write = xprintf("BEGIN; SET LOCAL idle_in_transaction_session_timeout = '10s';"
                                 " SELECT pg_advisory_xact_lock(%lld)",
                                 s->write_key);
    char *listen = xprintf("SET client_min_messages = warning; SET jit = off;"
                           /* the server notices a copy cut off within ~25 s, so its session
                            * (and the leader lock) goes */
                           " SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5;"
                           " SET tcp_keepalives_count = 3; SET tcp_user_timeout = 20000;"
                           " LISTEN %s",
                           s->quoted);
    s->base.round_trips++;
    res = PQexec(s->conn, listen);
    free(listen);
    int rc = res && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : fail(s, "open", res);
    PQclear(res);
    return rc;
}

/* Make the schema when missing, or check its version, and bring it to version target,
 * under a lock of its own so that two copies starting together do not both create it. */
static int prepare_schema(struct pg_store *s, int target, struct strbuf *err)
{
    const char *where = s->base.location;
    char *create = xprintf("CREATE SCHEMA IF NOT EXISTS %s", s->quoted);
    int rc = write_begin(s, "open") < 0 ? -1 : execute(s, create, NULL, "open");
    free(create);
    int64_t tables = 0, version = 0;
    struct params p = {0};
    p_text(&p, s->schema);
    if (rc < 0 || read_number(s, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", &p,
                              &tables, "open") < 0) {
        strbuf_addstr(err, store_error(&s->base));
        write_rollback(s);
        return -1;
    }
    bool has_meta = false;
    if (tables > 0) {
        int64_t meta = 0;
        if (read_number(s,
                        "SELECT count(*) FROM pg_tables WHERE schemaname = $1"
                        " AND tablename = 'meta'",
                        &p, &meta, "open") < 0 ||
            (meta && read_number(s, "SELECT max(version) FROM meta", NULL, &version, "open") < 0)) {
            strbuf_addstr(err, store_error(&s->base));
            write_rollback(s);
            return -1;
        }
        has_meta = meta > 0;
    }
    if (tables > 0 && !has_meta) {
        strbuf_addf(err,
                    "cannot use '%s' as a state database: its schema has tables but none of "
                    "stau's; name another with --db-schema",
                    where);
        write_rollback(s);
        return -1;
    }
    if (version > target) {
        strbuf_addf(err,
                    "cannot use state database '%s': its schema version %lld is newer than this "
                    "stau knows (%d); use a newer stau",
                    where, (long long)version, target);
        write_rollback(s);
        return -1;
    }
    if (!has_meta) {
        char *channel = PQescapeLiteral(s->conn, s->schema, strlen(s->schema));
        char *sql = NULL;
        if (channel) { /* the one placeholder, wherever it stands */
            struct strbuf text = STRBUF_INIT;
            const char *at = create_schema, *mark;
            while ((mark = strstr(at, "@CHANNEL@"))) {
                strbuf_add(&text, at, (size_t)(mark - at));
                strbuf_addstr(&text, channel);
                at = mark + strlen("@CHANNEL@");
            }
            strbuf_addstr(&text, at);
            sql = strbuf_detach(&text);
        }
        PQfreemem(channel);
        rc = sql ? execute(s, sql, NULL, "create the schema") : -1;
        free(sql);
        if (rc < 0) {
            strbuf_addstr(err, store_error(&s->base));
            write_rollback(s);
            return -1;
        }
    }
    /* A new schema is made at version 8, then brought up like an older one, in the
     * same transaction (under the lock). */
    for (int64_t v = has_meta ? version : 8; v < target; v++) {
        char *set = xprintf("UPDATE meta SET version = %lld", (long long)(v + 1));
        char *what = xprintf("migrate to schema version %lld", (long long)(v + 1));
        rc = execute(s, migrations[v + 1], NULL, what) < 0 ? -1 : execute(s, set, NULL, what);
        free(set);
        free(what);
        if (rc < 0) {
            strbuf_addstr(err, store_error(&s->base));
            write_rollback(s);
            return -1;
        }
    }
    if (execute(s, "COMMIT", NULL, "open") < 0) {
        strbuf_addstr(err, store_error(&s->base));
        write_rollback(s);
        return -1;
    }
    s->base.schema_version = target;
    return 0;
}

/* Open the schema on the server with its schema brought to version target; NULL with
 * the reason in err. */
static struct store *open_at(const char *conninfo, const char *schema, int target,
                             struct strbuf *err)
{
    struct pg_store *s = xcalloc(1, sizeof(*s));
    s->base.ops = &pg_ops;
    s->base.kind = STORE_POSTGRES;
    char *server = server_name(conninfo);
    s->base.location = xprintf("%s schema %s", server, schema);
    free(server);
    s->conninfo = xstrdup(conninfo);
    s->schema = xstrdup(schema);
    if (!*schema || strlen(schema) > 63) {
        strbuf_addf(err, "cannot use '%s' as a schema name: it must have 1 to 63 characters",
                    schema);
        pg_close(&s->base);
        return NULL;
    }
    /* Defaults first: the user's connection string (expanded from dbname) overrides them. */
    const char *keys[] = {"connect_timeout",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "application_name",
                          "dbname",
                          NULL};
    const char *values[] = {"10", "10", "5", "3", "20000", "stau", conninfo, NULL};
    s->conn = PQconnectdbParams(keys, values, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        strbuf_addf(err, "cannot connect to state database '%s': ", s->base.location);
        add_message(err, s->conn ? PQerrorMessage(s->conn) : "out of memory");
        pg_close(&s->base);
        return NULL;
    }
    /* The server's notices (a FATAL as it shuts down) reach the user as stau's own
     * messages, through the errors of the calls they broke, not as raw lines. */
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    char *quoted = PQescapeIdentifier(s->conn, schema, strlen(schema));
    s->quoted = xstrdup(quoted ? quoted : "");
    PQfreemem(quoted);
    if (session_setup(s) < 0) {
        strbuf_addstr(err, store_error(&s->base));
        pg_close(&s->base);
        return NULL;
    }
    if (prepare_schema(s, target, err) < 0) {
        pg_close(&s->base);
        return NULL;
    }
    return &s->base;
}

struct store *store_pg_open(const char *conninfo, const char *schema, struct strbuf *err)
{
    return open_at(conninfo, schema, SCHEMA_VERSION, err);
}

int store_pg_make_version(const char *conninfo, const char *schema, int version, struct strbuf *err)
{
    if (version < 8 || version > SCHEMA_VERSION) {
        strbuf_addf(err, "no PostgreSQL schema version %d (this stau has 8 to %d)", version,
                    SCHEMA_VERSION);
        return -1;
    }
    struct store *st = open_at(conninfo, schema, version, err);
    if (!st)
        return -1;
    pg_close(st);
    return 0;
}

int store_pg_drop_schema(const char *conninfo, const char *schema, struct strbuf *err)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        char *name = server_name(conninfo);
        strbuf_addf(err, "cannot connect to state database '%s': ", name);
        add_message(err, PQerrorMessage(conn));
        free(name);
        PQfinish(conn);
        return -1;
    }
    char *quoted = PQescapeIdentifier(conn, schema, strlen(schema));
    char *sql = xprintf("SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE",
                        quoted ? quoted : "\"\"");
    PQfreemem(quoted);
    PGresult *res = PQexec(conn, sql);
    free(sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        strbuf_addf(err, "cannot drop schema '%s': ", schema);
        add_message(err, PQerrorMessage(conn));
        rc = -1;
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}
