/* store_sqlite.c: the state database in an SQLite file (normally .stau/state.db);
 * the only user of <sqlite3.h>.
 *
 * The file is in WAL mode (readers never wait for the writer), with a busy timeout
 * so that several stau processes queue for the write lock instead of failing, and
 * synchronous=NORMAL (a power cut may lose the last commits, never consistency).
 * Every change runs in BEGIN IMMEDIATE ... COMMIT, so the write lock is taken up
 * front and a crash leaves all of a change or none of it; SQLite's own recovery
 * on the next open repairs the file.
 *
 * Schema version: PRAGMA user_version, the number of migrations applied. Opening
 * applies the missing ones in order, each in a transaction of its own, after
 * copying the file to "<path>.bak-v<old version>"; a version above ours is
 * refused. A new database is made by the same migrations, so every step is
 * exercised on every fresh install. Never edit a migration that has shipped:
 * append one. Tables (version 13):
 *
 * runs: one row per run (one attempt of one chunk of one job).
 *   id INTEGER PRIMARY KEY AUTOINCREMENT  run id, never reused (archives are named by it)
 *   job TEXT NOT NULL          job name
 *   attempt INTEGER NOT NULL   1, 2, ... for retries
 *   status TEXT NOT NULL       queued|running|succeeded|failed|timed-out|interrupted|lost|skipped
 *                              |cancelled (v10; the table was made again to allow it)
 *   queued_at INTEGER NOT NULL     unix ms
 *   started_at, finished_at INTEGER  unix ms; NULL: not yet
 *   exit_code INTEGER          NULL: none (running, never started, or killed by a signal)
 *   signal INTEGER             the signal that killed it; NULL: none
 *   host TEXT                  host of the stau process that owns the run
 *   pid INTEGER                pid (and process group) of the job's process; NULL: not started
 *   git_commit TEXT            HEAD of the project when a git checkout; NULL: not one
 *   kwargs_json TEXT           keyword arguments (JSON object)
 *   work_ids_json TEXT         work IDs (JSON array); NULL: not chunked
 *   code_fingerprint, config_fingerprint, inputs_fingerprint TEXT  when it was queued
 *   outputs_fingerprint TEXT   the outputs it left; NULL: not taken
 *   reasons_json TEXT          why it ran (JSON array)
 *   log_path TEXT              its log, relative to the project root
 *   archive_path TEXT          its archive; NULL: none, or removed by gc
 *   rerun_of INTEGER           the run it repeats; NULL: none (SET NULL when that row goes)
 *   owner_pid INTEGER NOT NULL    (v2) pid of the owning stau; 0: unknown
 *   owner_start INTEGER NOT NULL  (v2) that process's start time as the OS reports it; 0: unknown
 *   heartbeat_at INTEGER       (v2) the owner's last sign of life (the lease), unix ms
 *   batch INTEGER NOT NULL     (v4) the invocation the run belongs to: the id of the first run
 *                              of a chunked job's chunks (its retries and `stau rerun`s of a
 *                              chunk join it too), the run's own id for an ordinary run
 *                              (rows older than v4 get their own id)
 *   chunk INTEGER              (v4) which chunk, 1-based; NULL: not chunked
 *   chunks INTEGER             (v4) how many chunks the invocation has; NULL: not chunked
 *   files TEXT                 (v5) the evidence behind its fingerprints, file by file
 *   env_names_json TEXT        (v11) the names of the variables the project's env file gave
 *                              its process (JSON array; the values are never kept); NULL: none
 *   kwargs_given_json TEXT     (v12) the keyword arguments given on the command line (stau run
 *                              --kwargs, -p; JSON object), merged over the job's own into
 *                              kwargs_json; a rerun keeps its run's; NULL: none
 *   git_dirty INTEGER          (v13) 1: the project's work tree differed from git_commit as the
 *                              run was queued, 0: it did not; NULL: not known
 *   git_changes_json TEXT      (v13) then the changed files under the jobs root (JSON array, at
 *                              most 100); NULL: none, or not known
 *   indexes: (job, id); (job, status, id); (status) for queued and running runs only;
 *   (job, batch); (job, status, batch)
 * schedule (v1, dropped in v6): schedule marks, which nothing read.
 * owners (v7): the stau processes serving the project (stau serve), for `stau status`.
 *   host, pid, start (the owner's identity, as runs record it), since, heartbeat_at (unix ms);
 *   a row goes when its serve stops, or is passed over once its owner is gone.
 * leader (v8): at most one row (id 1): the serving stau that holds the leader lease and
 *   enqueues scheduled work (host, pid, start, since, heartbeat_at as in owners).
 *   Unassigned runs (status queued, host NULL, owner_pid 0) are what it enqueued.
 * work_done (v9): job TEXT, work_id INTEGER (PRIMARY KEY (job, work_id)), run_id,
 *   finished_at INTEGER NOT NULL: when the job last succeeded for the work ID, and in
 *   which run; kept by triggers as runs with work IDs succeed (filled from the runs
 *   when the table was made). Freshness per work ID (SPEC §7) reads it in bulk.
 * job_versions (v6): job TEXT PRIMARY KEY, n INTEGER NOT NULL: moved on by triggers when
 *   a run of the job is added or its status changes. A claim compares it with what the
 *   plan read, so a need judged on a past that has moved on is not claimed.
 * files (v2): stat data and content hash of input and output files.
 *   path TEXT PRIMARY KEY (relative to the project root), mtime_ns, ctime_ns, size, inode,
 *   device INTEGER NOT NULL, hash_low, hash_high INTEGER NOT NULL (the XXH3-128 halves,
 *   stored as signed 64-bit), checked_at INTEGER NOT NULL (unix ms)
 * generation (v3): one row, n INTEGER NOT NULL, moved on by triggers whenever a run
 *   is added or removed, or a column staleness reads (job, status, times, fingerprints)
 *   is set: while n stays, so does what a plan reads from
 *   the database (see settled.c). Heartbeats and archive paths leave it alone.
 */
#include "store.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "state_file.h"

/* ---- the schema ---- */

/* The work IDs column x when it holds a JSON array, else NULL (json_each gives no rows
 * then: a row written by hand must not stop a migration or a run's end). */
#define WORK_IDS_ARRAY(x)                                                                          \
    "CASE WHEN json_valid(" x ") THEN CASE WHEN json_type(" x ") = 'array' THEN " x " END END"
/* What the triggers of migration 9 do with a run that succeeded with work IDs. */
#define WORK_DONE_NOTED                                                                            \
    " WHEN NEW.status = 'succeeded' AND NEW.finished_at IS NOT NULL"                               \
    " BEGIN INSERT INTO work_done SELECT NEW.job, j.value, NEW.id, NEW.finished_at"                \
    " FROM json_each(" WORK_IDS_ARRAY(                                                             \
        "NEW.work_ids_json") ") j"                                                                 \
                             " WHERE typeof(j.value) = 'integer'"                                  \
                             " ON CONFLICT (job, work_id) DO UPDATE SET run_id = excluded.run_id," \
                             " finished_at = excluded.finished_at WHERE excluded.finished_at >= "  \
                             "work_done.finished_at;"                                              \
                             " END;"

/* Opens a migration that makes the runs table again, as SQLite's page on ALTER TABLE
 * says a change it cannot make in place is done: the migration's SQL makes runs_new
 * and copies the rows into it; then (rebuild_runs) runs goes, runs_new takes its name,
 * and every index and trigger runs had is made again from its own SQL. Foreign keys
 * are off meanwhile: dropping a table they are on for deletes its rows one by one,
 * each looking for runs that name it as rerun_of, a scan each. */
#define REBUILDS_RUNS "-- rebuilds runs\n"

static const char *const migrations[] = {
    /* 1: runs and schedule marks */
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
    " marked_at INTEGER NOT NULL);",
    /* 2: leases (owner and heartbeat) and the file memory */
    "ALTER TABLE runs ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN owner_start INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;"
    "UPDATE runs SET heartbeat_at = COALESCE(started_at, queued_at)"
    " WHERE status IN ('queued', 'running');"
    "CREATE INDEX runs_active ON runs(status) WHERE status IN ('queued', 'running');"
    "CREATE TABLE files (path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL,"
    " ctime_ns INTEGER NOT NULL, size INTEGER NOT NULL, inode INTEGER NOT NULL,"
    " device INTEGER NOT NULL, hash_low INTEGER NOT NULL, hash_high INTEGER NOT NULL,"
    " checked_at INTEGER NOT NULL);",
    /* 3: the generation, moved by every change a plan depends on */
    "CREATE TABLE generation (n INTEGER NOT NULL);"
    "INSERT INTO generation VALUES (0);"
    "CREATE TRIGGER runs_added AFTER INSERT ON runs"
    " BEGIN UPDATE generation SET n = n + 1; END;"
    "CREATE TRIGGER runs_moved AFTER UPDATE OF job, status, queued_at, started_at,"
    " finished_at, code_fingerprint, config_fingerprint, inputs_fingerprint,"
    " outputs_fingerprint ON runs"
    " BEGIN UPDATE generation SET n = n + 1; END;"
    "CREATE TRIGGER runs_removed AFTER DELETE ON runs"
    " BEGIN UPDATE generation SET n = n + 1; END;"
    "CREATE TRIGGER ticks_added AFTER INSERT ON schedule"
    " BEGIN UPDATE generation SET n = n + 1; END;"
    "CREATE TRIGGER ticks_moved AFTER UPDATE ON schedule"
    " BEGIN UPDATE generation SET n = n + 1; END;",
    /* 4: chunks of one invocation, grouped (batch, chunk, chunks) */
    "ALTER TABLE runs ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN chunk INTEGER;"
    "ALTER TABLE runs ADD COLUMN chunks INTEGER;"
    "UPDATE runs SET batch = id;"
    "CREATE INDEX runs_by_job_batch ON runs(job, batch);"
    "CREATE INDEX runs_by_job_status_batch ON runs(job, status, batch);",
    /* 5: the evidence behind a run's fingerprints, file by file */
    "ALTER TABLE runs ADD COLUMN files TEXT;",
    /* 6: a version per job for claims; schedule marks go (ticks count from runs) */
    "CREATE TABLE job_versions (job TEXT PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO job_versions SELECT job, count(*) FROM runs GROUP BY job;"
    "CREATE TRIGGER job_run_added AFTER INSERT ON runs BEGIN"
    " INSERT INTO job_versions VALUES (NEW.job, 1)"
    " ON CONFLICT (job) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER job_run_moved AFTER UPDATE OF status ON runs BEGIN"
    " UPDATE job_versions SET n = n + 1 WHERE job = NEW.job; END;"
    "DROP TRIGGER ticks_added;"
    "DROP TRIGGER ticks_moved;"
    "DROP TABLE schedule;",
    /* 7: the stau processes serving the project */
    "CREATE TABLE owners (host TEXT NOT NULL, pid INTEGER NOT NULL, start INTEGER NOT NULL,"
    " since INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL, PRIMARY KEY (host, pid, start));"
    "CREATE INDEX owners_by_since ON owners(since);",
    /* 8: the leader lease */
    "CREATE TABLE leader (id INTEGER PRIMARY KEY CHECK (id = 1), host TEXT NOT NULL,"
    " pid INTEGER NOT NULL, start INTEGER NOT NULL, since INTEGER NOT NULL,"
    " heartbeat_at INTEGER NOT NULL);",
    /* 9: per job and work ID, the last success (kept by triggers, filled from runs) */
    "CREATE TABLE work_done (job TEXT NOT NULL, work_id INTEGER NOT NULL,"
    " run_id INTEGER NOT NULL, finished_at INTEGER NOT NULL, PRIMARY KEY (job, work_id))"
    " WITHOUT ROWID;"
    "INSERT INTO work_done SELECT r.job, j.value, r.id, r.finished_at"
    " FROM runs r, json_each(" WORK_IDS_ARRAY(
        "r.work_ids_json") ") j"
                           " WHERE r.status = 'succeeded' AND r.finished_at IS NOT NULL"
                           " AND typeof(j.value) = 'integer' ORDER BY r.finished_at, r.id"
                           " ON CONFLICT (job, work_id) DO UPDATE SET run_id = excluded.run_id,"
                           " finished_at = excluded.finished_at;"
                           "CREATE TRIGGER work_done_added AFTER INSERT ON runs" WORK_DONE_NOTED
                           "CREATE TRIGGER work_done_moved AFTER UPDATE OF status, finished_at ON "
                           "runs" WORK_DONE_NOTED,
    /* 10: the status 'cancelled' (SQLite cannot change a CHECK: runs is made again) */
    REBUILDS_RUNS
    "CREATE TABLE runs_new (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL,"
    " attempt INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL CHECK (status IN ('queued',"
    " 'running', 'succeeded', 'failed', 'timed-out', 'interrupted', 'lost', 'skipped',"
    " 'cancelled')), queued_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,"
    " exit_code INTEGER, signal INTEGER, host TEXT, pid INTEGER, git_commit TEXT,"
    " kwargs_json TEXT, work_ids_json TEXT, code_fingerprint TEXT, config_fingerprint TEXT,"
    " inputs_fingerprint TEXT, outputs_fingerprint TEXT, reasons_json TEXT, log_path TEXT,"
    " archive_path TEXT, rerun_of INTEGER REFERENCES runs_new(id) ON DELETE SET NULL,"
    " owner_pid INTEGER NOT NULL DEFAULT 0, owner_start INTEGER NOT NULL DEFAULT 0,"
    " heartbeat_at INTEGER, batch INTEGER NOT NULL DEFAULT 0, chunk INTEGER, chunks INTEGER,"
    " files TEXT);"
    /* the columns written out, not RUN_COLUMNS: a later migration may add to that */
    "INSERT INTO runs_new SELECT id, job, attempt, status, queued_at, started_at, finished_at,"
    " exit_code, signal, host, pid, git_commit, kwargs_json, work_ids_json, code_fingerprint,"
    " config_fingerprint, inputs_fingerprint, outputs_fingerprint, reasons_json, log_path,"
    " archive_path, rerun_of, owner_pid, owner_start, heartbeat_at, batch, chunk, chunks, files"
    " FROM runs;"
    /* ids are never reused: the next one follows the old table's last, even when the
     * runs that had the highest ids were removed */
    "DELETE FROM sqlite_sequence WHERE name = 'runs_new';"
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'runs_new', seq FROM sqlite_sequence"
    " WHERE name = 'runs';",
    /* 11: the names of the variables the env file gave a run */
    "ALTER TABLE runs ADD COLUMN env_names_json TEXT;",
    /* 12: the keyword arguments given on the command line */
    "ALTER TABLE runs ADD COLUMN kwargs_given_json TEXT;",
    /* 13: whether the work tree matched the commit, and what did not */
    ("ALTER TABLE runs ADD COLUMN git_dirty INTEGER;"
     "ALTER TABLE runs ADD COLUMN git_changes_json TEXT;"),
};
enum { SCHEMA_VERSION = sizeof(migrations) / sizeof(migrations[0]) };
enum { BUSY_TIMEOUT_MS = 10000 };

/* The columns of a run, in the order read_run expects. */
#define RUN_COLUMNS                                                                                \
    "id, job, attempt, status, queued_at, started_at, finished_at, exit_code, signal, host, "      \
    "owner_pid, owner_start, pid, heartbeat_at, git_commit, kwargs_json, work_ids_json, "          \
    "code_fingerprint, config_fingerprint, inputs_fingerprint, outputs_fingerprint, "              \
    "reasons_json, log_path, archive_path, rerun_of, batch, chunk, chunks, files, "                \
    "env_names_json, kwargs_given_json, git_dirty, git_changes_json"
/* What gc reads of a run (store_gc_runs, store_gc_page): RUN_COLUMNS with NULL for the
 * texts it never looks at, so that its pages are not filled with every run's evidence. */
#define GC_COLUMNS                                                                                 \
    "id, job, attempt, status, queued_at, started_at, finished_at, exit_code, signal, host, "      \
    "owner_pid, owner_start, pid, heartbeat_at, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "  \
    "log_path, archive_path, rerun_of, batch, chunk, chunks, NULL, NULL, NULL, NULL, NULL"

/* The prepared statements, made once at open and reused (reset and cleared) by every call. */
enum statement {
    SQL_BEGIN,
    SQL_BEGIN_READ,
    SQL_COMMIT,
    SQL_ROLLBACK,
    SQL_INSERT_RUN,
    SQL_OWN_BATCH,
    SQL_START_RUN,
    SQL_HEARTBEAT,
    SQL_FINISH_RUN,
    SQL_SET_ARCHIVE,
    SQL_RUN,
    SQL_LAST_RUN,
    SQL_RUNS_AFTER,
    SQL_JOB_VERSION,
    SQL_SUCCEEDED_BATCH,
    SQL_LAST_STARTED,
    SQL_LAST_BATCH,
    SQL_HISTORY_JOB,
    SQL_HISTORY_ALL,
    SQL_ACTIVE_JOB,
    SQL_ACTIVE_ALL,
    SQL_MARK_LOST,
    SQL_GC_RUNS,
    SQL_GC_PAGE,
    SQL_FORGET_ARCHIVES,
    SQL_OWNER_BEAT,
    SQL_OWNER_LEAVE,
    SQL_OWNERS,
    SQL_LEADER,
    SQL_LEAD,
    SQL_RESIGN,
    SQL_UNASSIGNED,
    SQL_ADOPT,
    SQL_WITHDRAW,
    SQL_FILE_GET,
    SQL_FILE_PUT,
    SQL_GENERATION,
    SQL_RUN_COUNT,
    SQL_IMPORT_RUN,
    SQL_MERGE_RUN,
    SQL_SEQUENCE_ADD,
    SQL_SEQUENCE_RAISE,
    SQL_FILES_ALL,
    SQL_WORK_DONE,
    SQL_COUNT
};

static const char *const statement_text[SQL_COUNT] = {
    [SQL_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_BEGIN_READ] = "BEGIN",
    [SQL_COMMIT] = "COMMIT",
    [SQL_ROLLBACK] = "ROLLBACK",
    [SQL_INSERT_RUN] =
        "INSERT INTO runs (job, attempt, status, queued_at, host, owner_pid, owner_start,"
        " heartbeat_at, git_commit, kwargs_json, work_ids_json, code_fingerprint,"
        " config_fingerprint, inputs_fingerprint, reasons_json, log_path, rerun_of, batch, chunk,"
        " chunks, env_names_json, kwargs_given_json, git_dirty, git_changes_json) VALUES (?1, ?2,"
        " 'queued', ?3, ?4, ?5, ?6, ?3, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?20, ?21, ?22, ?23)",
    [SQL_OWN_BATCH] = "UPDATE runs SET batch = id WHERE id = ?1",
    [SQL_START_RUN] = "UPDATE runs SET status = 'running', started_at = ?2, pid = ?3,"
                      " heartbeat_at = ?2, inputs_fingerprint = COALESCE(?4, inputs_fingerprint),"
                      " log_path = COALESCE(?5, log_path), work_ids_json = COALESCE(?6,"
                      " work_ids_json), chunk = COALESCE(?7, chunk), chunks = COALESCE(?8, chunks),"
                      " files = COALESCE(?9, files) WHERE id = ?1 AND status = 'queued'",
    [SQL_HEARTBEAT] = "UPDATE runs SET heartbeat_at = ?4 WHERE host IS ?1 AND owner_pid = ?2"
                      " AND owner_start = ?3 AND status IN ('queued', 'running')",
    [SQL_FINISH_RUN] =
        "UPDATE runs SET status = ?2, exit_code = ?3, signal = ?4, outputs_fingerprint = ?5,"
        " archive_path = ?6, finished_at = ?7,"
        " files = CASE WHEN ?8 IS NULL THEN files ELSE COALESCE(files, '') || ?8 END"
        " WHERE id = ?1 AND status IN ('queued', 'running')",
    [SQL_SET_ARCHIVE] = "UPDATE runs SET archive_path = ?2 WHERE id = ?1",
    [SQL_RUN] = "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?1",
    [SQL_LAST_RUN] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT 1",
    [SQL_RUNS_AFTER] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1 AND id > ?2 ORDER BY id DESC",
    [SQL_JOB_VERSION] = "SELECT n FROM job_versions WHERE job = ?1",
    [SQL_SUCCEEDED_BATCH] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1 AND batch ="
                            " (SELECT max(batch) FROM runs WHERE job = ?1 AND batch < ?2"
                            " AND status = 'succeeded') ORDER BY id",
    [SQL_LAST_STARTED] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1"
                         " AND started_at IS NOT NULL ORDER BY id DESC LIMIT 1",
    [SQL_LAST_BATCH] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1 AND batch ="
                       " (SELECT max(batch) FROM runs WHERE job = ?1) ORDER BY id",
    [SQL_HISTORY_JOB] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2",
    [SQL_HISTORY_ALL] = "SELECT " RUN_COLUMNS " FROM runs ORDER BY id DESC LIMIT ?2",
    [SQL_ACTIVE_JOB] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1"
                       " AND status IN ('queued', 'running') ORDER BY id",
    [SQL_ACTIVE_ALL] =
        "SELECT " RUN_COLUMNS " FROM runs WHERE status IN ('queued', 'running') ORDER BY id",
    [SQL_MARK_LOST] = "UPDATE runs SET status = 'lost', finished_at = ?3 WHERE id = ?1"
                      " AND status IN ('queued', 'running') AND heartbeat_at IS ?2",
    /* ?1: the ids as a JSON array; each a look-up by the key */
    [SQL_GC_RUNS] = "SELECT " GC_COLUMNS " FROM runs WHERE id IN (SELECT value FROM json_each(?1))"
                    " ORDER BY id",
    /* a page by runs_by_job (job, id), from ?2 down */
    [SQL_GC_PAGE] = "SELECT " GC_COLUMNS " FROM runs WHERE job = ?1 AND id < ?2"
                    " ORDER BY id DESC LIMIT ?3",
    [SQL_FORGET_ARCHIVES] = "UPDATE runs SET archive_path = NULL"
                            " WHERE id IN (SELECT value FROM json_each(?1))",
    [SQL_OWNER_BEAT] = "INSERT INTO owners (host, pid, start, since, heartbeat_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (host, pid, start)"
                       " DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    [SQL_OWNER_LEAVE] = "DELETE FROM owners WHERE host = ?1 AND pid = ?2 AND start = ?3",
    [SQL_OWNERS] = "SELECT o.host, o.pid, o.start, o.since, o.heartbeat_at, l.id IS NOT NULL"
                   " FROM owners o LEFT JOIN leader l ON l.host = o.host AND l.pid = o.pid"
                   " AND l.start = o.start ORDER BY o.since",
    [SQL_LEADER] = "SELECT host, pid, start, since, heartbeat_at FROM leader WHERE id = 1",
    [SQL_LEAD] = "INSERT INTO leader (id, host, pid, start, since, heartbeat_at)"
                 " VALUES (1, ?1, ?2, ?3, ?4, ?4) ON CONFLICT (id) DO UPDATE SET"
                 " since = CASE WHEN host = excluded.host AND pid = excluded.pid"
                 " AND start = excluded.start THEN since ELSE excluded.since END,"
                 " host = excluded.host, pid = excluded.pid, start = excluded.start,"
                 " heartbeat_at = excluded.heartbeat_at",
    [SQL_RESIGN] = "DELETE FROM leader WHERE host = ?1 AND pid = ?2 AND start = ?3",
    [SQL_UNASSIGNED] = "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1 AND status = 'queued'"
                       " AND owner_pid = 0 AND host IS NULL ORDER BY id LIMIT 1",
    /* The parameters as SQL_INSERT_RUN's (?19 is left out of that one), and ?19 the run. */
    [SQL_ADOPT] = "UPDATE runs SET attempt = ?2, heartbeat_at = ?3, host = ?4, owner_pid = ?5,"
                  " owner_start = ?6, git_commit = ?7, kwargs_json = ?8, work_ids_json = ?9,"
                  " code_fingerprint = ?10, config_fingerprint = ?11, inputs_fingerprint = ?12,"
                  " reasons_json = ?13, log_path = ?14, chunk = ?17, chunks = ?18,"
                  " env_names_json = ?20, kwargs_given_json = ?21, git_dirty = ?22,"
                  " git_changes_json = ?23"
                  " WHERE id = ?19 AND job = ?1 AND status = 'queued' AND owner_pid = 0"
                  " AND host IS NULL",
    [SQL_WITHDRAW] = "DELETE FROM runs WHERE id = ?1 AND status = 'queued' AND owner_pid = 0"
                     " AND host IS NULL",
    [SQL_FILE_GET] = "SELECT path, mtime_ns, ctime_ns, size, inode, device, hash_low, hash_high"
                     " FROM files WHERE path = ?1",
    [SQL_FILE_PUT] =
        "INSERT INTO files (path, mtime_ns, ctime_ns, size, inode, device, hash_low, hash_high,"
        " checked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (path) DO UPDATE"
        " SET mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, size = excluded.size,"
        " inode = excluded.inode, device = excluded.device, hash_low = excluded.hash_low,"
        " hash_high = excluded.hash_high, checked_at = excluded.checked_at",
    [SQL_GENERATION] = "SELECT n FROM generation",
    [SQL_RUN_COUNT] = "SELECT count(*) FROM runs",
    /* every column, in RUN_COLUMNS order */
    [SQL_IMPORT_RUN] = "INSERT INTO runs (" RUN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                       " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,"
                       " ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)",
    [SQL_MERGE_RUN] = "INSERT INTO runs (" RUN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                      " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,"
                      " ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33) ON CONFLICT (id) DO"
                      " NOTHING",
    [SQL_SEQUENCE_ADD] = "INSERT INTO sqlite_sequence (name, seq) SELECT 'runs', ?1"
                         " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'runs')",
    [SQL_SEQUENCE_RAISE] = "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'runs' AND seq < ?1",
    [SQL_FILES_ALL] = "SELECT path, mtime_ns, ctime_ns, size, inode, device, hash_low, hash_high"
                      " FROM files ORDER BY path",
    /* ?1: the asks as a JSON array of [job, [work IDs]]; a row per ID found: which ask,
     * which of its IDs, and when. The asks are taken apart once (MATERIALIZED), not
     * once per ID; CROSS JOIN keeps this order of the loops, so each ID is one look-up
     * by the key (left free, the planner reads all of a job's rows and parses its IDs
     * again for each: 200 ms for 10,000 IDs). */
    [SQL_WORK_DONE] = "WITH a AS MATERIALIZED (SELECT key AS n, value ->> 0 AS job,"
                      " value -> 1 AS ids FROM json_each(?1))"
                      " SELECT a.n, i.key, w.finished_at FROM a CROSS JOIN json_each(a.ids) i"
                      " CROSS JOIN work_done w WHERE w.job = a.job AND w.work_id = i.value",
};

/* ---- the handle, errors, statements ---- */

struct sqlite_store {
    struct store base;                   /* must come first */
    sqlite3 *db;                         /* the connection */
    bool read_only;                      /* opened to read only (store_open_to_read) */
    bool immutable;                      /* read as an immutable file: a snapshot that
                                            misses what a writer holds in its -wal */
    sqlite3_stmt *statements[SQL_COUNT]; /* all prepared at open, kept until close */
    FILE *trace;                         /* $STAU_SQL_TRACE: each statement as it ends */
};

static struct sqlite_store *backend(struct store *st)
{
    return (struct sqlite_store *)st;
}

/* What to do about a damaged file, as a hint line to append to a message. */
#define DAMAGED_HINT                                                                               \
    "\n  hint: move it aside (`sqlite3 FILE .recover` may save what is left of it) and run "       \
    "`stau db recover` to rebuild the run history from the archives"

/* The hint for a file that reads as damaged: read as an immutable snapshot (its
 * folder read-only), what a writer keeps in its -wal is missing, so nothing is to be
 * moved aside on that reading alone. */
static const char *damaged_hint(const struct sqlite_store *s)
{
    return s->immutable ? "\n  hint: it was read as a snapshot (its folder cannot be written), "
                          "which misses what a running stau has not yet checkpointed; check it "
                          "again where its folder is writable before moving it aside"
                        : DAMAGED_HINT;
}

/* Put "cannot <what> in state database '<path>': <sqlite's message>" in the error (a
 * damaged file is said so, with what to do); -1. */
static int fail(struct sqlite_store *s, const char *what)
{
    strbuf_reset(&s->base.error);
    int code = sqlite3_errcode(s->db) & 0xff;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        strbuf_addf(&s->base.error, "state database '%s' is damaged: cannot %s: %s%s",
                    s->base.location, what, sqlite3_errmsg(s->db), damaged_hint(s));
    else
        strbuf_addf(&s->base.error, "cannot %s in state database '%s': %s", what, s->base.location,
                    sqlite3_errmsg(s->db));
    return -1;
}

/* A cached statement, ready for binding (store_sqlite_open prepared them all). */
static sqlite3_stmt *statement(struct sqlite_store *s, enum statement which)
{
    return s->statements[which];
}

/* Make a statement ready for its next use. Its result code was seen by the step already. */
static void finish(sqlite3_stmt *q)
{
    (void)sqlite3_reset(q);
    (void)sqlite3_clear_bindings(q);
}

static int bind_text(sqlite3_stmt *q, int i, const char *text)
{
    return text ? sqlite3_bind_text(q, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(q, i);
}

/* Bind an integer where 0 (or, for exit codes, -1) means NULL. */
static int bind_or_null(sqlite3_stmt *q, int i, int64_t value, int64_t none)
{
    return value == none ? sqlite3_bind_null(q, i) : sqlite3_bind_int64(q, i, value);
}

/* Run a statement that returns no rows; 0, or -1 with the error set. The statement
 * is finished either way. */
static int run_done(struct sqlite_store *s, sqlite3_stmt *q, const char *what)
{
    int result = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(s, what);
    finish(q);
    return result;
}

static int execute(struct sqlite_store *s, enum statement which, const char *what)
{
    return run_done(s, statement(s, which), what);
}

/* BEGIN IMMEDIATE: take the write lock now, waiting up to the busy timeout. */
static int write_begin(struct sqlite_store *s, const char *what)
{
    return execute(s, SQL_BEGIN, what);
}

/* Undo the open transaction, if any, keeping the error already set. */
static void write_rollback(struct sqlite_store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return;
    /* a failed ROLLBACK means SQLite rolled back already */
    (void)sqlite3_step(statement(s, SQL_ROLLBACK));
    finish(statement(s, SQL_ROLLBACK));
}

static int write_commit(struct sqlite_store *s, const char *what)
{
    if (execute(s, SQL_COMMIT, what) < 0) {
        write_rollback(s);
        return -1;
    }
    return 0;
}

/* Run one prepared, bound change in a transaction; returns the rows changed or -1.
 * rowid, when not NULL, receives the id of the row inserted. */
static int write_one(struct sqlite_store *s, sqlite3_stmt *q, const char *what, int64_t *rowid)
{
    if (write_begin(s, what) < 0) {
        finish(q);
        return -1;
    }
    if (run_done(s, q, what) < 0) {
        write_rollback(s);
        return -1;
    }
    int changes = sqlite3_changes(s->db);
    if (rowid)
        *rowid = sqlite3_last_insert_rowid(s->db);
    return write_commit(s, what) < 0 ? -1 : changes;
}

/* After binding q's parameters (failed: a bind failed): 0, or -1 with q finished and
 * the error set. */
static int bound(struct sqlite_store *s, sqlite3_stmt *q, bool failed, const char *what)
{
    if (!failed)
        return 0;
    fail(s, what);
    finish(q);
    return -1;
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

/* ---- reading rows ---- */

static char *column_text(sqlite3_stmt *q, int i)
{
    const unsigned char *text = sqlite3_column_text(q, i);
    return text ? xstrndup((const char *)text, (size_t)sqlite3_column_bytes(q, i)) : NULL;
}

/* The SQLite types each run column may hold, in RUN_COLUMNS order: 'i' an integer,
 * 't' text, capitals NOT NULL. */
static const char run_column_types[] = "ITITIiiiitIIiittttttttttiIiitttit";

/* Whether column i of the row holds what kind (from run_column_types) allows: text
 * without NUL bytes, or an integer. */
static bool column_fits(sqlite3_stmt *q, int i, char kind)
{
    int type = sqlite3_column_type(q, i);
    if (type == SQLITE_NULL)
        return kind == 'i' || kind == 't';
    if (kind == 'i' || kind == 'I')
        return type == SQLITE_INTEGER;
    if (type != SQLITE_TEXT)
        return false;
    const char *text = (const char *)sqlite3_column_text(q, i);
    return text && strlen(text) == (size_t)sqlite3_column_bytes(q, i);
}

/* The current row of a run query into *r; false when it holds what stau never writes
 * (the reason in *why, *r released). */
static bool read_run(sqlite3_stmt *q, struct run_record *r, struct strbuf *why)
{
    static const char *const names[] = {"id",
                                        "job",
                                        "attempt",
                                        "status",
                                        "queued_at",
                                        "started_at",
                                        "finished_at",
                                        "exit_code",
                                        "signal",
                                        "host",
                                        "owner_pid",
                                        "owner_start",
                                        "pid",
                                        "heartbeat_at",
                                        "git_commit",
                                        "kwargs_json",
                                        "work_ids_json",
                                        "code_fingerprint",
                                        "config_fingerprint",
                                        "inputs_fingerprint",
                                        "outputs_fingerprint",
                                        "reasons_json",
                                        "log_path",
                                        "archive_path",
                                        "rerun_of",
                                        "batch",
                                        "chunk",
                                        "chunks",
                                        "files",
                                        "env_names_json",
                                        "kwargs_given_json",
                                        "git_dirty",
                                        "git_changes_json"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(run_column_types) - 1,
                   "a type for each run column");
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(q, 0);
    for (int i = 0; i < (int)sizeof(names) / (int)sizeof(names[0]); i++) {
        if (!column_fits(q, i, run_column_types[i])) {
            static const char *const type_names[] = {"?",    "an integer", "a real",
                                                     "text", "a blob",     "NULL"};
            int type = sqlite3_column_type(q, i);
            strbuf_reset(why);
            strbuf_addf(why, "its %s is %s", names[i],
                        type == SQLITE_TEXT      ? "text with a NUL byte"
                        : type >= 1 && type <= 5 ? type_names[type]
                                                 : "of no known type");
            return false;
        }
    }
    r->id = sqlite3_column_int64(q, 0);
    r->job = column_text(q, 1);
    r->attempt = sqlite3_column_int(q, 2);
    const char *status = (const char *)sqlite3_column_text(q, 3);
    if (!status || !run_status_parse(status, &r->status))
        r->status = RUN_STATUS_COUNT; /* refused below */
    r->queued_at = sqlite3_column_int64(q, 4);
    r->started_at = sqlite3_column_int64(q, 5);
    r->finished_at = sqlite3_column_int64(q, 6);
    r->exit_code = sqlite3_column_type(q, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 7);
    r->signal = sqlite3_column_int(q, 8);
    r->host = column_text(q, 9);
    r->owner_pid = sqlite3_column_int(q, 10);
    r->owner_start = sqlite3_column_int64(q, 11);
    r->pid = sqlite3_column_int(q, 12);
    r->heartbeat_at = sqlite3_column_int64(q, 13);
    r->git_commit = column_text(q, 14);
    r->kwargs_json = column_text(q, 15);
    r->work_ids_json = column_text(q, 16);
    r->code_fingerprint = column_text(q, 17);
    r->config_fingerprint = column_text(q, 18);
    r->inputs_fingerprint = column_text(q, 19);
    r->outputs_fingerprint = column_text(q, 20);
    r->reasons_json = column_text(q, 21);
    r->log_path = column_text(q, 22);
    r->archive_path = column_text(q, 23);
    r->rerun_of = sqlite3_column_int64(q, 24);
    r->batch = sqlite3_column_int64(q, 25);
    r->chunk = sqlite3_column_int(q, 26);
    r->chunks = sqlite3_column_int(q, 27);
    r->files = column_text(q, 28);
    r->env_names_json = column_text(q, 29);
    r->kwargs_given_json = column_text(q, 30);
    r->git_dirty = sqlite3_column_type(q, 31) == SQLITE_NULL ? RUN_GIT_UNKNOWN
                   : sqlite3_column_int(q, 31)               ? RUN_GIT_DIRTY
                                                             : RUN_GIT_CLEAN;
    r->git_changes_json = column_text(q, 32);
    if (!run_record_impossible(r, why))
        return true;
    run_record_release(r);
    return false;
}

/* A row of run id that cannot be read (why): the database is damaged. PRAGMA
 * quick_check says whether its pages are, too (a row changed by hand leaves them
 * sound). Sets the error; -1. */
static int damaged(struct sqlite_store *s, int64_t id, const char *why)
{
    struct strbuf problems = STRBUF_INIT;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(5)", -1, &q, NULL) == SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *line = (const char *)sqlite3_column_text(q, 0);
            if (line && strcmp(line, "ok") != 0)
                strbuf_addf(&problems, "%s%s", problems.len ? "; " : "", line);
        }
        (void)sqlite3_finalize(q);
    } else {
        strbuf_addf(&problems, "cannot run it: %s", sqlite3_errmsg(s->db));
    }
    strbuf_reset(&s->base.error);
    strbuf_addf(&s->base.error,
                "state database '%s' is damaged: run %lld is unreadable (%s); PRAGMA "
                "quick_check %s%s",
                s->base.location, (long long)id, why,
                problems.len ? "finds: "
                             : "finds the file's structure sound, so the row's values "
                               "themselves were changed",
                strbuf_str(&problems));
    strbuf_addstr(&s->base.error, damaged_hint(s));
    strbuf_release(&problems);
    return -1;
}

/* Step a bound run query, appending every row to out; 0 or -1. Finishes q. */
static int read_runs(struct sqlite_store *s, sqlite3_stmt *q, struct run_list *out,
                     const char *what)
{
    int rc;
    struct strbuf why = STRBUF_INIT;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct run_record r;
        if (!read_run(q, &r, &why)) {
            int64_t id = sqlite3_column_int64(q, 0);
            finish(q);
            damaged(s, id, strbuf_str(&why));
            strbuf_release(&why);
            return -1;
        }
        VEC_PUSH(out, r);
    }
    strbuf_release(&why);
    int result = rc == SQLITE_DONE ? 0 : fail(s, what);
    finish(q);
    return result;
}

/* Step a bound query for at most one row: 1 (the row is current; finish q after
 * reading it), 0 (q finished), or -1 (q finished, the error set). */
static int step_one(struct sqlite_store *s, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return 1;
    int result = rc == SQLITE_DONE ? 0 : fail(s, what);
    finish(q);
    return result;
}

/* Step a bound query for at most one run: 1 with *out filled, 0, or -1. Finishes q. */
static int read_one_run(struct sqlite_store *s, sqlite3_stmt *q, struct run_record *out,
                        const char *what)
{
    int found = step_one(s, q, what);
    if (found == 1) {
        struct strbuf why = STRBUF_INIT;
        bool sound = read_run(q, out, &why);
        int64_t id = sqlite3_column_int64(q, 0);
        finish(q);
        if (!sound)
            found = damaged(s, id, strbuf_str(&why));
        strbuf_release(&why);
    }
    return found;
}

/* ---- runs ---- */

/* Bind a new run's fields to the insert statement; 0, or -1 with q finished. */
static int bind_new_run(struct sqlite_store *s, sqlite3_stmt *q, const struct run_record *run,
                        int64_t now, const char *what)
{
    bool failed =
        bind_text(q, 1, run->job) || sqlite3_bind_int(q, 2, run->attempt > 0 ? run->attempt : 1) ||
        sqlite3_bind_int64(q, 3, now) || bind_text(q, 4, run->host) ||
        sqlite3_bind_int(q, 5, run->owner_pid) || sqlite3_bind_int64(q, 6, run->owner_start) ||
        bind_text(q, 7, run->git_commit) || bind_text(q, 8, run->kwargs_json) ||
        bind_text(q, 9, run->work_ids_json) || bind_text(q, 10, run->code_fingerprint) ||
        bind_text(q, 11, run->config_fingerprint) || bind_text(q, 12, run->inputs_fingerprint) ||
        bind_text(q, 13, run->reasons_json) || bind_text(q, 14, run->log_path) ||
        bind_or_null(q, 15, run->rerun_of, 0) || sqlite3_bind_int64(q, 16, run->batch) ||
        bind_or_null(q, 17, run->chunk, 0) || bind_or_null(q, 18, run->chunks, 0) ||
        bind_text(q, 20, run->env_names_json) || bind_text(q, 21, run->kwargs_given_json) ||
        bind_or_null(q, 22, (int64_t)run->git_dirty - 1, -1) ||
        bind_text(q, 23, run->git_changes_json);
    return bound(s, q, failed, what);
}

/* Record one new run (the insert bound and run, its batch set); its id into *id. */
static int insert_run(struct sqlite_store *s, const struct run_record *run, int64_t now,
                      int64_t *id, const char *what)
{
    sqlite3_stmt *q = statement(s, SQL_INSERT_RUN);
    sqlite3_stmt *own = statement(s, SQL_OWN_BATCH);
    if (bind_new_run(s, q, run, now, what) < 0 || run_done(s, q, what) < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(s->db);
    /* A new invocation: its batch is the run's own id, known once inserted. */
    if (!run->batch && (bound(s, own, sqlite3_bind_int64(own, 1, *id) != SQLITE_OK, what) < 0 ||
                        run_done(s, own, what) < 0))
        return -1;
    return 0;
}

static int sqlite_begin_runs(struct store *st, const struct run_record *runs, size_t count,
                             int64_t now, int64_t *ids)
{
    struct sqlite_store *s = backend(st);
    const char *what = "record a new run";
    if (write_begin(s, what) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (insert_run(s, &runs[i], now, &ids[i], what) < 0) {
            write_rollback(s);
            return -1;
        }
    }
    return write_commit(s, what);
}

static int lookup_run(struct sqlite_store *s, enum statement which, const char *job, int64_t id,
                      struct run_record *out);
static int read_job_number(struct sqlite_store *s, enum statement which, const char *job,
                           int64_t *out, const char *what);

/* Whether one of job's queued or running runs has a live owner (and, with
 * skip_own, is not the claim's own): 1 with it in *holder, 0, or -1. An unassigned
 * run has no owner: it counts only with upstream (the job is due and will run soon,
 * so its dependents wait for it). */
static int live_active_run(struct sqlite_store *s, const char *job, const struct store_claim *c,
                           bool upstream, store_holder_live_fn *live, void *ctx,
                           struct run_record *holder, const char *what)
{
    bool skip_own = upstream;
    struct run_list active = {0};
    sqlite3_stmt *q = statement(s, SQL_ACTIVE_JOB);
    if (bound(s, q, bind_text(q, 1, job) != SQLITE_OK, what) < 0 ||
        read_runs(s, q, &active, what) < 0) {
        run_list_release(&active);
        return -1;
    }
    int found = 0;
    for (size_t i = 0; i < active.len && !found; i++) {
        struct run_record *r = &active.items[i];
        bool own = skip_own && store_claim_owns(c, r);
        bool counts = run_unassigned(r) ? upstream : !own && live(r, ctx);
        if (counts) {
            *holder = *r;
            memset(r, 0, sizeof(*r));
            found = 1;
        }
    }
    run_list_release(&active);
    return found;
}

/* The job's oldest unassigned run into *out: 1, 0, or -1. */
static int unassigned_run(struct sqlite_store *s, const char *job, struct run_record *out,
                          const char *what)
{
    sqlite3_stmt *q = statement(s, SQL_UNASSIGNED);
    if (bound(s, q, bind_text(q, 1, job) != SQLITE_OK, what) < 0)
        return -1;
    return read_one_run(s, q, out, what);
}

/* Give the claim its job's unassigned run, if it has one: 1 (c->id set), 0, or -1. */
static int adopt_unassigned(struct sqlite_store *s, struct store_claim *c, int64_t now,
                            const char *what)
{
    struct run_record queued = {0};
    int found = unassigned_run(s, c->run.job, &queued, what);
    int64_t id = queued.id;
    run_record_release(&queued);
    if (found <= 0)
        return found;
    sqlite3_stmt *q = statement(s, SQL_ADOPT);
    if (bind_new_run(s, q, &c->run, now, what) < 0)
        return -1;
    if (bound(s, q, sqlite3_bind_int64(q, 19, id) != SQLITE_OK, what) < 0 ||
        run_done(s, q, what) < 0)
        return -1;
    c->id = id;
    return 1;
}

/* Decide one claim inside the claim's transaction: 0 (outcome set), or -1. */
static int claim_one(struct sqlite_store *s, struct store_claim *c, int64_t now,
                     store_holder_live_fn *live, void *ctx, const char *what)
{
    c->outcome = CLAIM_GOT;
    int found = 0;
    if (c->exclusive &&
        (found = live_active_run(s, c->run.job, c, false, live, ctx, &c->holder, what)) != 0) {
        if (found < 0)
            return -1;
        c->outcome = CLAIM_HELD;
    }
    for (size_t u = 0; u < c->upstream_count && c->outcome == CLAIM_GOT; u++) {
        found = live_active_run(s, c->upstreams[u], c, true, live, ctx, &c->holder, what);
        if (found < 0)
            return -1;
        if (found)
            c->outcome = CLAIM_WAIT;
    }
    if (c->outcome == CLAIM_GOT && !c->run.batch && !c->run.rerun_of) {
        int adopted = adopt_unassigned(s, c, now, what);
        if (adopted != 0)
            return adopted < 0 ? -1 : 0;
    }
    if (c->outcome == CLAIM_GOT && c->seen_version >= 0) {
        int64_t version;
        if (read_job_number(s, SQL_JOB_VERSION, c->run.job, &version, what) < 0)
            return -1;
        if (version != c->seen_version) {
            c->outcome = CLAIM_CHANGED;
            if (lookup_run(s, SQL_LAST_RUN, c->run.job, 0, &c->holder) < 0)
                return -1;
        }
    }
    if (c->outcome == CLAIM_GOT && c->after_run > 0) {
        /* Another stau's run since the lost one: it claimed the job first. Runs this
         * stau recorded meanwhile (other chunks, other kwargs) do not count. */
        struct run_list after = {0};
        sqlite3_stmt *q = statement(s, SQL_RUNS_AFTER);
        if (bound(s, q,
                  bind_text(q, 1, c->run.job) != SQLITE_OK ||
                      sqlite3_bind_int64(q, 2, c->after_run) != SQLITE_OK,
                  what) < 0 ||
            read_runs(s, q, &after, what) < 0) {
            run_list_release(&after);
            return -1;
        }
        (void)store_claim_taken_meanwhile(c, &after);
        run_list_release(&after);
    }
    if (c->outcome == CLAIM_GOT)
        return insert_run(s, &c->run, now, &c->id, what);
    return 0;
}

/* All claims in one BEGIN IMMEDIATE transaction: SQLite has one writer at a time, so
 * what a claim reads cannot change before it commits. */
static int sqlite_claim(struct store *st, struct store_claim *claims, size_t count, int64_t now,
                        store_holder_live_fn *live, void *ctx)
{
    struct sqlite_store *s = backend(st);
    const char *what = "claim runs";
    if (write_begin(s, what) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        claims[i].id = 0;
        memset(&claims[i].holder, 0, sizeof(claims[i].holder));
        if (claim_one(s, &claims[i], now, live, ctx, what) < 0) {
            for (size_t k = 0; k <= i; k++) {
                run_record_release(&claims[k].holder);
                claims[k].id = 0;
            }
            write_rollback(s);
            return -1;
        }
    }
    if (write_commit(s, what) < 0) {
        for (size_t k = 0; k < count; k++) {
            run_record_release(&claims[k].holder);
            claims[k].id = 0;
        }
        return -1;
    }
    return 0;
}

static int bind_owner(sqlite3_stmt *q, const struct store_owner *o);

/* The leader lease's row into *row (its host the caller's): 1, 0 (nobody holds it), or -1. */
static int read_leader(struct sqlite_store *s, struct store_owner_row *row, const char *what)
{
    sqlite3_stmt *q = statement(s, SQL_LEADER);
    int found = step_one(s, q, what);
    if (found > 0) {
        *row = (struct store_owner_row){
            .host = column_text(q, 0),
            .pid = sqlite3_column_int(q, 1),
            .start = sqlite3_column_int64(q, 2),
            .since = sqlite3_column_int64(q, 3),
            .heartbeat_at = sqlite3_column_int64(q, 4),
            .leads = true,
        };
        finish(q);
    }
    return found;
}

static bool is_owner(const struct store_owner_row *row, const struct store_owner *o)
{
    return row->host && o->host && strcmp(row->host, o->host) == 0 && row->pid == o->pid &&
           row->start == o->start;
}

static int sqlite_enqueue(struct store *st, const struct store_owner *leader,
                          const struct run_record *runs, const int64_t *seen_versions, size_t count,
                          int64_t now, int64_t *ids)
{
    struct sqlite_store *s = backend(st);
    const char *what = "enqueue scheduled runs";
    for (size_t i = 0; i < count; i++)
        ids[i] = 0;
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
        struct run_record queued = {0};
        int64_t version = 0;
        int has = unassigned_run(s, runs[i].job, &queued, what);
        run_record_release(&queued);
        if (has == 0 && read_job_number(s, SQL_JOB_VERSION, runs[i].job, &version, what) < 0)
            has = -1;
        struct run_record rec = runs[i];
        rec.host = NULL;
        rec.owner_pid = 0;
        rec.owner_start = 0;
        rec.batch = 0;
        rec.rerun_of = 0;
        /* Moved since the plan read it: another stau ran or took the job meanwhile, and
         * the tick is judged again on the next plan. */
        bool moved = version != seen_versions[i];
        if (has < 0 || (has == 0 && !moved && insert_run(s, &rec, now, &ids[i], what) < 0)) {
            write_rollback(s);
            for (size_t k = 0; k < count; k++)
                ids[k] = 0;
            return -1;
        }
    }
    return write_commit(s, what) < 0 ? -1 : 1;
}

static int sqlite_withdraw(struct store *st, int64_t id)
{
    struct sqlite_store *s = backend(st);
    const char *what = "withdraw an enqueued run";
    sqlite3_stmt *q = statement(s, SQL_WITHDRAW);
    if (bound(s, q, sqlite3_bind_int64(q, 1, id) != SQLITE_OK, what) < 0)
        return -1;
    return write_one(s, q, what, NULL);
}

/* Whether the lease's holder is someone else, alive: 1 (its row into *leader, or
 * freed), 0 (its row freed), or -1. */
static int held_by_other(struct sqlite_store *s, const struct store_owner *owner,
                         store_leader_live_fn *live, void *ctx, struct store_owner_row *leader,
                         const char *what)
{
    struct store_owner_row row = {0};
    int found = read_leader(s, &row, what);
    if (found > 0 && !is_owner(&row, owner) && live(&row, ctx)) {
        if (leader)
            *leader = row;
        else
            free(row.host);
        return 1;
    }
    free(row.host);
    return found < 0 ? -1 : 0;
}

/* A follower asks at every plan, so a live holder is seen without the write lock;
 * the taking reads again inside one write transaction: SQLite's single writer makes
 * that read and the taking one step, so two copies never both take it. */
static int sqlite_lead(struct store *st, const struct store_owner *owner, bool leaving, int64_t now,
                       store_leader_live_fn *live, void *ctx, struct store_owner_row *leader)
{
    struct sqlite_store *s = backend(st);
    const char *what = leaving ? "give up the leader lease" : "take the leader lease";
    if (leaving) {
        sqlite3_stmt *q = statement(s, SQL_RESIGN);
        if (bound(s, q, bind_owner(q, owner) != SQLITE_OK, what) < 0)
            return -1;
        return write_one(s, q, what, NULL) < 0 ? -1 : 0;
    }
    int held = held_by_other(s, owner, live, ctx, leader, what);
    if (held != 0)
        return held < 0 ? -1 : 0;
    if (write_begin(s, what) < 0)
        return -1;
    held = held_by_other(s, owner, live, ctx, leader, what);
    if (held != 0) {
        write_rollback(s);
        return held < 0 ? -1 : 0;
    }
    sqlite3_stmt *q = statement(s, SQL_LEAD);
    bool failed = bind_owner(q, owner) || sqlite3_bind_int64(q, 4, now);
    if (bound(s, q, failed, what) < 0 || run_done(s, q, what) < 0) {
        write_rollback(s);
        return -1;
    }
    return write_commit(s, what) < 0 ? -1 : 1;
}

/* Bind a start to its statement (c: what else it sets, or NULL); 0, or -1 with q finished. */
static int bind_start(struct sqlite_store *s, sqlite3_stmt *q, int64_t id, int pid, int64_t now,
                      const struct store_change *c, const char *what)
{
    bool failed = sqlite3_bind_int64(q, 1, id) || sqlite3_bind_int64(q, 2, now) ||
                  bind_or_null(q, 3, pid, 0) || bind_text(q, 4, c ? c->inputs_fingerprint : NULL) ||
                  bind_text(q, 5, c ? c->log_path : NULL) ||
                  bind_text(q, 6, c ? c->work_ids_json : NULL) ||
                  bind_or_null(q, 7, c ? c->chunk : 0, 0) ||
                  bind_or_null(q, 8, c ? c->chunks : 0, 0) || bind_text(q, 9, c ? c->files : NULL);
    return bound(s, q, failed, what);
}

static int sqlite_heartbeat(struct store *st, const struct store_owner *owner, int64_t now)
{
    struct sqlite_store *s = backend(st);
    const char *what = "renew the leases of runs";
    sqlite3_stmt *q = statement(s, SQL_HEARTBEAT);
    bool failed = bind_text(q, 1, owner->host) || sqlite3_bind_int(q, 2, owner->pid) ||
                  sqlite3_bind_int64(q, 3, owner->start) || sqlite3_bind_int64(q, 4, now);
    if (bound(s, q, failed, what) < 0)
        return -1;
    return write_one(s, q, what, NULL);
}

/* Bind an end to its statement; 0, or -1 with q finished (or not started). */
static int bind_finish(struct sqlite_store *s, sqlite3_stmt *q, int64_t id,
                       const struct run_finish *fin, int64_t now, const char *what)
{
    if (!run_status_finished(fin->status))
        return problem(&s->base, "cannot record run %lld as ended while it is '%s'", (long long)id,
                       run_status_name(fin->status));
    bool failed = sqlite3_bind_int64(q, 1, id) || bind_text(q, 2, run_status_name(fin->status)) ||
                  bind_or_null(q, 3, fin->exit_code, -1) || bind_or_null(q, 4, fin->signal, 0) ||
                  bind_text(q, 5, fin->outputs_fingerprint) || bind_text(q, 6, fin->archive_path) ||
                  sqlite3_bind_int64(q, 7, now) || bind_text(q, 8, fin->output_files);
    return bound(s, q, failed, what);
}

/* Remember one file's stat data and hash (the statement bound and run). */
static int put_file(struct sqlite_store *s, sqlite3_stmt *q, const struct store_file *f,
                    int64_t now, const char *what)
{
    bool failed = bind_text(q, 1, f->path) || sqlite3_bind_int64(q, 2, f->mtime_ns) ||
                  sqlite3_bind_int64(q, 3, f->ctime_ns) ||
                  sqlite3_bind_int64(q, 4, (int64_t)f->size) ||
                  sqlite3_bind_int64(q, 5, (int64_t)f->inode) ||
                  sqlite3_bind_int64(q, 6, (int64_t)f->device) ||
                  sqlite3_bind_int64(q, 7, (int64_t)f->hash.low) ||
                  sqlite3_bind_int64(q, 8, (int64_t)f->hash.high) || sqlite3_bind_int64(q, 9, now);
    if (bound(s, q, failed, what) < 0)
        return -1;
    return run_done(s, q, what);
}

static int sqlite_apply(struct store *st, const struct store_change *changes, size_t count,
                        const struct store_file *files, size_t file_count, int64_t now)
{
    struct sqlite_store *s = backend(st);
    const char *what = "record runs starting and ending";
    if (write_begin(s, what) < 0)
        return -1;
    int unapplied = 0;
    for (size_t i = 0; i < count; i++) {
        const struct store_change *c = &changes[i];
        sqlite3_stmt *q = statement(s, c->kind == STORE_START ? SQL_START_RUN : SQL_FINISH_RUN);
        int rc = c->kind == STORE_START ? bind_start(s, q, c->id, c->pid, c->at, c, what)
                                        : bind_finish(s, q, c->id, &c->finish, c->at, what);
        if (rc < 0 || run_done(s, q, what) < 0) {
            write_rollback(s);
            return -1;
        }
        unapplied += sqlite3_changes(s->db) == 0;
    }
    sqlite3_stmt *q = statement(s, SQL_FILE_PUT);
    for (size_t i = 0; i < file_count; i++) {
        if (put_file(s, q, &files[i], now, what) < 0) {
            write_rollback(s);
            return -1;
        }
    }
    return write_commit(s, what) < 0 ? -1 : unapplied;
}

static int sqlite_set_archive(struct store *st, int64_t id, const char *archive_path)
{
    struct sqlite_store *s = backend(st);
    const char *what = "record the archive of a run";
    sqlite3_stmt *q = statement(s, SQL_SET_ARCHIVE);
    bool failed = sqlite3_bind_int64(q, 1, id) || bind_text(q, 2, archive_path);
    if (bound(s, q, failed, what) < 0)
        return -1;
    int changes = write_one(s, q, what, NULL);
    if (changes == 0)
        return problem(st,
                       "cannot record the archive of run %lld in state database '%s': no "
                       "such run",
                       (long long)id, st->location);
    return changes < 0 ? -1 : 0;
}

/* A lookup of one run by a job name (or, when job is NULL, by id). */
static int lookup_run(struct sqlite_store *s, enum statement which, const char *job, int64_t id,
                      struct run_record *out)
{
    sqlite3_stmt *q = statement(s, which);
    bool failed = job ? bind_text(q, 1, job) : sqlite3_bind_int64(q, 1, id);
    if (bound(s, q, failed, "read a run") < 0)
        return -1;
    return read_one_run(s, q, out, "read a run");
}

static int sqlite_run(struct store *st, int64_t id, struct run_record *out)
{
    return lookup_run(backend(st), SQL_RUN, NULL, id, out);
}

static int sqlite_last_run(struct store *st, const char *job, struct run_record *out)
{
    return lookup_run(backend(st), SQL_LAST_RUN, job, 0, out);
}

/* One integer of a one-row query bound to job into *out (0 when there is no row). */
static int read_job_number(struct sqlite_store *s, enum statement which, const char *job,
                           int64_t *out, const char *what)
{
    sqlite3_stmt *q = statement(s, which);
    if (bound(s, q, bind_text(q, 1, job) != SQLITE_OK, what) < 0)
        return -1;
    int found = step_one(s, q, what);
    *out = 0;
    if (found == 1) {
        *out = sqlite3_column_int64(q, 0);
        finish(q);
    }
    return found < 0 ? -1 : 0;
}

static int sqlite_job_version(struct store *st, const char *job, int64_t *out)
{
    return read_job_number(backend(st), SQL_JOB_VERSION, job, out, "read the version of a job");
}

static int sqlite_succeeded_batch(struct store *st, const char *job, int64_t before,
                                  struct run_list *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read the last successes of a job";
    sqlite3_stmt *q = statement(s, SQL_SUCCEEDED_BATCH);
    bool failed = bind_text(q, 1, job) || sqlite3_bind_int64(q, 2, before);
    if (bound(s, q, failed, what) < 0)
        return -1;
    return read_runs(s, q, out, what);
}

static int sqlite_last_started(struct store *st, const char *job, struct run_record *out)
{
    return lookup_run(backend(st), SQL_LAST_STARTED, job, 0, out);
}

static int sqlite_last_batch(struct store *st, const char *job, struct run_list *out);

/* SQLite is in the process: "one call" is a loop over the per-job queries, inside
 * one read transaction when the caller has none open. */
static int sqlite_job_pasts(struct store *st, const char *const *jobs, size_t count,
                            struct store_job_past *out)
{
    struct sqlite_store *s = backend(st);
    bool own = sqlite3_get_autocommit(s->db) != 0;
    if (own && execute(s, SQL_BEGIN_READ, "begin reading") < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < count; i++)
        memset(&out[i], 0, sizeof(out[i]));
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct store_job_past *p = &out[i];
        if (sqlite_last_batch(st, jobs[i], &p->last_batch) < 0 ||
            sqlite_succeeded_batch(st, jobs[i], INT64_MAX, &p->succeeded_batch) < 0 ||
            lookup_run(s, SQL_LAST_STARTED, jobs[i], 0, &p->last_started) < 0 ||
            read_job_number(s, SQL_JOB_VERSION, jobs[i], &p->version, "read the version of a job") <
                0)
            rc = -1;
    }
    if (own && execute(s, SQL_COMMIT, "end reading") < 0)
        rc = -1;
    if (rc < 0)
        for (size_t i = 0; i < count; i++)
            store_job_past_release(&out[i]);
    return rc;
}

static int sqlite_snapshot(struct store *st, bool begin)
{
    struct sqlite_store *s = backend(st);
    if (begin)
        return execute(s, SQL_BEGIN_READ, "begin reading");
    return execute(s, SQL_COMMIT, "end reading");
}

static int sqlite_last_batch(struct store *st, const char *job, struct run_list *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read the last runs of a job";
    sqlite3_stmt *q = statement(s, SQL_LAST_BATCH);
    if (bound(s, q, bind_text(q, 1, job) != SQLITE_OK, what) < 0)
        return -1;
    return read_runs(s, q, out, what);
}

static int sqlite_history(struct store *st, const char *job, size_t limit, struct run_list *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read the history of runs";
    sqlite3_stmt *q = statement(s, job ? SQL_HISTORY_JOB : SQL_HISTORY_ALL);
    /* LIMIT -1 is no limit in SQLite */
    int64_t most = limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit;
    bool failed = (job && bind_text(q, 1, job)) || sqlite3_bind_int64(q, 2, most);
    if (bound(s, q, failed, what) < 0)
        return -1;
    return read_runs(s, q, out, what);
}

static int sqlite_active_runs(struct store *st, const char *job, struct run_list *out)
{
    struct sqlite_store *s = backend(st);
    sqlite3_stmt *q = statement(s, job ? SQL_ACTIVE_JOB : SQL_ACTIVE_ALL);
    bool failed = job && bind_text(q, 1, job);
    if (bound(s, q, failed, "read the active runs") < 0)
        return -1;
    return read_runs(s, q, out, "read the active runs");
}

static int sqlite_mark_lost(struct store *st, int64_t id, int64_t heartbeat_seen, int64_t now)
{
    struct sqlite_store *s = backend(st);
    sqlite3_stmt *q = statement(s, SQL_MARK_LOST);
    bool failed = sqlite3_bind_int64(q, 1, id) || bind_or_null(q, 2, heartbeat_seen, 0) ||
                  sqlite3_bind_int64(q, 3, now);
    if (bound(s, q, failed, "mark a run lost") < 0)
        return -1;
    return write_one(s, q, "mark a run lost", NULL);
}

/* The ids as a JSON array, for json_each. */
static void id_array(const int64_t *ids, size_t count, struct strbuf *out)
{
    strbuf_addch(out, '[');
    store_add_numbers(out, ids, count);
    strbuf_addch(out, ']');
}

static int sqlite_gc_runs(struct store *st, const int64_t *ids, size_t count, struct run_list *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read runs for gc";
    if (!count)
        return 0;
    struct strbuf array = STRBUF_INIT;
    id_array(ids, count, &array);
    sqlite3_stmt *q = statement(s, SQL_GC_RUNS);
    int rc = bound(s, q, bind_text(q, 1, array.buf), what);
    if (rc == 0)
        rc = read_runs(s, q, out, what);
    strbuf_release(&array);
    return rc;
}

static int sqlite_gc_page(struct store *st, const char *job, int64_t below, size_t limit,
                          struct run_list *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read runs for gc";
    sqlite3_stmt *q = statement(s, SQL_GC_PAGE);
    int64_t most = limit > INT64_MAX ? INT64_MAX : (int64_t)limit;
    bool failed =
        bind_text(q, 1, job) || sqlite3_bind_int64(q, 2, below) || sqlite3_bind_int64(q, 3, most);
    if (bound(s, q, failed, what) < 0)
        return -1;
    return read_runs(s, q, out, what);
}

static int sqlite_forget_archives(struct store *st, const int64_t *ids, size_t count)
{
    struct sqlite_store *s = backend(st);
    const char *what = "forget the archives of runs";
    if (!count)
        return 0;
    struct strbuf array = STRBUF_INIT;
    id_array(ids, count, &array);
    sqlite3_stmt *q = statement(s, SQL_FORGET_ARCHIVES);
    int rc = bound(s, q, bind_text(q, 1, array.buf), what);
    if (rc == 0)
        rc = write_one(s, q, what, NULL) < 0 ? -1 : 0;
    strbuf_release(&array);
    return rc;
}

/* ---- serving owners ---- */

static int bind_owner(sqlite3_stmt *q, const struct store_owner *o)
{
    return bind_text(q, 1, o->host) || sqlite3_bind_int(q, 2, o->pid) ||
           sqlite3_bind_int64(q, 3, o->start);
}

static int sqlite_owner_beat(struct store *st, const struct store_owner *owner, bool leaving,
                             int64_t now)
{
    struct sqlite_store *s = backend(st);
    const char *what = leaving ? "forget a serving stau" : "record a serving stau";
    sqlite3_stmt *q = statement(s, leaving ? SQL_OWNER_LEAVE : SQL_OWNER_BEAT);
    bool failed = bind_owner(q, owner) || (!leaving && sqlite3_bind_int64(q, 4, now));
    if (bound(s, q, failed, what) < 0)
        return -1;
    return write_one(s, q, what, NULL) < 0 ? -1 : 0;
}

static int sqlite_owners(struct store *st, struct store_owner_list *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read the serving staus";
    sqlite3_stmt *q = statement(s, SQL_OWNERS);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_owner_row row = {
            .host = column_text(q, 0),
            .pid = sqlite3_column_int(q, 1),
            .start = sqlite3_column_int64(q, 2),
            .since = sqlite3_column_int64(q, 3),
            .heartbeat_at = sqlite3_column_int64(q, 4),
            .leads = sqlite3_column_int(q, 5) != 0,
        };
        VEC_PUSH(out, row);
    }
    int result = rc == SQLITE_DONE ? 0 : fail(s, what);
    finish(q);
    return result;
}

/* ---- the file memory ---- */

/* The current row of a query of SQL_FILE_GET's columns into *out. */
static void read_file(sqlite3_stmt *q, struct store_file *out)
{
    out->path = column_text(q, 0);
    out->mtime_ns = sqlite3_column_int64(q, 1);
    out->ctime_ns = sqlite3_column_int64(q, 2);
    out->size = (uint64_t)sqlite3_column_int64(q, 3);
    out->inode = (uint64_t)sqlite3_column_int64(q, 4);
    out->device = (uint64_t)sqlite3_column_int64(q, 5);
    out->hash.low = (uint64_t)sqlite3_column_int64(q, 6);
    out->hash.high = (uint64_t)sqlite3_column_int64(q, 7);
}

static int sqlite_file_get(struct store *st, const char *path, struct store_file *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read what is known of a file";
    sqlite3_stmt *q = statement(s, SQL_FILE_GET);
    bool failed = bind_text(q, 1, path);
    if (bound(s, q, failed, what) < 0)
        return -1;
    int found = step_one(s, q, what);
    if (found == 1) {
        read_file(q, out);
        finish(q);
    }
    return found;
}

static int sqlite_files_get(struct store *st, const char *const *paths, size_t count,
                            struct store_file *out, bool *found)
{
    for (size_t i = 0; i < count; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        int got = sqlite_file_get(st, paths[i], &out[i]);
        if (got < 0) {
            for (size_t k = 0; k < i; k++)
                free(out[k].path);
            return -1;
        }
        found[i] = got == 1;
    }
    return 0;
}

static int sqlite_file_put(struct store *st, const struct store_file *files, size_t count,
                           int64_t now)
{
    struct sqlite_store *s = backend(st);
    const char *what = "remember files";
    sqlite3_stmt *q = statement(s, SQL_FILE_PUT);
    if (write_begin(s, what) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (put_file(s, q, &files[i], now, what) < 0) {
            write_rollback(s);
            return -1;
        }
    }
    return write_commit(s, what);
}

static int sqlite_generation(struct store *st, int64_t *out)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read the generation";
    sqlite3_stmt *q = statement(s, SQL_GENERATION);
    int found = step_one(s, q, what);
    if (found == 1) {
        *out = sqlite3_column_int64(q, 0);
        finish(q);
    } else if (found == 0) {
        strbuf_reset(&st->error);
        strbuf_addf(&st->error, "cannot %s in state database '%s': its row is missing", what,
                    st->location);
        return -1;
    }
    return found < 0 ? -1 : 0;
}

static int sqlite_work_done(struct store *st, struct work_done_ask *asks, size_t n)
{
    struct sqlite_store *s = backend(st);
    const char *what = "read the work IDs' last successes";
    struct strbuf json = STRBUF_INIT;
    strbuf_addch(&json, '[');
    for (size_t a = 0; a < n; a++) {
        strbuf_addstr(&json, a ? ",[" : "[");
        json_quote(&json, asks[a].job, strlen(asks[a].job));
        strbuf_addstr(&json, ",[");
        store_add_numbers(&json, asks[a].ids, asks[a].count);
        strbuf_addstr(&json, "]]");
    }
    strbuf_addch(&json, ']');
    sqlite3_stmt *q = statement(s, SQL_WORK_DONE);
    int rc = SQLITE_OK;
    if (sqlite3_bind_text(q, 1, json.buf, (int)json.len, SQLITE_STATIC) != SQLITE_OK) {
        finish(q);
        strbuf_release(&json);
        return fail(s, what);
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t a = sqlite3_column_int64(q, 0), i = sqlite3_column_int64(q, 1);
        if (a >= 0 && (size_t)a < n && i >= 0 && (size_t)i < asks[a].count)
            asks[a].finished_at[i] = sqlite3_column_int64(q, 2);
    }
    int result = rc == SQLITE_DONE ? 0 : fail(s, what);
    finish(q);
    strbuf_release(&json);
    return result;
}

static int sqlite_files_all(struct store *st, struct store_file_list *out)
{
    struct sqlite_store *s = backend(st);
    sqlite3_stmt *q = statement(s, SQL_FILES_ALL);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_file f;
        read_file(q, &f);
        VEC_PUSH(out, f);
    }
    int result = rc == SQLITE_DONE ? 0 : fail(s, "read what is known of files");
    finish(q);
    return result;
}

/* ---- copying a history in ---- */

/* Bind every column of a run, in RUN_COLUMNS order; 0, or -1 with q finished. */
static int bind_whole_run(struct sqlite_store *s, sqlite3_stmt *q, const struct run_record *r,
                          const char *what)
{
    bool failed =
        sqlite3_bind_int64(q, 1, r->id) || bind_text(q, 2, r->job) ||
        sqlite3_bind_int(q, 3, r->attempt) || bind_text(q, 4, run_status_name(r->status)) ||
        sqlite3_bind_int64(q, 5, r->queued_at) || bind_or_null(q, 6, r->started_at, 0) ||
        bind_or_null(q, 7, r->finished_at, 0) || bind_or_null(q, 8, r->exit_code, -1) ||
        bind_or_null(q, 9, r->signal, 0) || bind_text(q, 10, r->host) ||
        sqlite3_bind_int(q, 11, r->owner_pid) || sqlite3_bind_int64(q, 12, r->owner_start) ||
        bind_or_null(q, 13, r->pid, 0) || bind_or_null(q, 14, r->heartbeat_at, 0) ||
        bind_text(q, 15, r->git_commit) || bind_text(q, 16, r->kwargs_json) ||
        bind_text(q, 17, r->work_ids_json) || bind_text(q, 18, r->code_fingerprint) ||
        bind_text(q, 19, r->config_fingerprint) || bind_text(q, 20, r->inputs_fingerprint) ||
        bind_text(q, 21, r->outputs_fingerprint) || bind_text(q, 22, r->reasons_json) ||
        bind_text(q, 23, r->log_path) || bind_text(q, 24, r->archive_path) ||
        bind_or_null(q, 25, r->rerun_of, 0) || sqlite3_bind_int64(q, 26, r->batch) ||
        bind_or_null(q, 27, r->chunk, 0) || bind_or_null(q, 28, r->chunks, 0) ||
        bind_text(q, 29, r->files) || bind_text(q, 30, r->env_names_json) ||
        bind_text(q, 31, r->kwargs_given_json) ||
        bind_or_null(q, 32, (int64_t)r->git_dirty - 1, -1) || bind_text(q, 33, r->git_changes_json);
    return bound(s, q, failed, what);
}

/* Rows in id order keep rerun_of's references valid as they go in; AUTOINCREMENT
 * carries on past the largest id. */
static int sqlite_import(struct store *st, const struct run_record *runs, size_t count,
                         const struct store_file *files, size_t file_count, bool merge)
{
    struct sqlite_store *s = backend(st);
    const char *what = merge ? "recover runs" : "copy runs in";
    if (write_begin(s, what) < 0)
        return -1;
    if (merge) {
        sqlite3_stmt *q = statement(s, SQL_MERGE_RUN);
        for (size_t i = 0; i < count; i++) {
            if (bind_whole_run(s, q, &runs[i], what) < 0 || run_done(s, q, what) < 0) {
                write_rollback(s);
                return -1;
            }
        }
        return write_commit(s, what);
    }
    int64_t existing = 0;
    sqlite3_stmt *c = statement(s, SQL_RUN_COUNT);
    int found = step_one(s, c, what);
    if (found == 1) {
        existing = sqlite3_column_int64(c, 0);
        finish(c);
    }
    if (found < 0 || existing > 0) {
        write_rollback(s);
        return found < 0 ? -1
                         : problem(st,
                                   "cannot copy runs into state database '%s': it holds %lld "
                                   "runs already; copy into a new database",
                                   st->location, (long long)existing);
    }
    sqlite3_stmt *q = statement(s, SQL_IMPORT_RUN);
    for (size_t i = 0; i < count; i++) {
        if (bind_whole_run(s, q, &runs[i], what) < 0 || run_done(s, q, what) < 0) {
            write_rollback(s);
            return -1;
        }
    }
    sqlite3_stmt *f = statement(s, SQL_FILE_PUT);
    for (size_t i = 0; i < file_count; i++) {
        if (put_file(s, f, &files[i], 0, what) < 0) {
            write_rollback(s);
            return -1;
        }
    }
    return write_commit(s, what);
}

static int sqlite_keep_ids_above(struct store *st, int64_t id)
{
    struct sqlite_store *s = backend(st);
    const char *what = "number new runs after the archived ones";
    if (write_begin(s, what) < 0)
        return -1;
    for (int which = SQL_SEQUENCE_ADD; which <= SQL_SEQUENCE_RAISE; which++) {
        sqlite3_stmt *q = statement(s, (enum statement)which);
        if (bound(s, q, sqlite3_bind_int64(q, 1, id) != SQLITE_OK, what) < 0 ||
            run_done(s, q, what) < 0) {
            write_rollback(s);
            return -1;
        }
    }
    return write_commit(s, what);
}

/* SQLite has no notifications: a serving loop polls the generation. */
static int sqlite_wake_fd(struct store *st)
{
    return -1;
}

static int sqlite_woken(struct store *st)
{
    return 0;
}

static struct store *sqlite_reopen(struct store *st, struct strbuf *err)
{
    return store_sqlite_open(st->location, err);
}

/* ---- checking, closing, opening and migrating ---- */

static int sqlite_check(struct store *st)
{
    struct sqlite_store *s = backend(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
        return fail(s, "check the database");
    struct strbuf problems = STRBUF_INIT;
    int rc;
    size_t count = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(q, 0);
        if (line && strcmp(line, "ok") != 0 && count++ < 3) /* the first few say enough */
            strbuf_addf(&problems, "%s%s", problems.len ? "; " : "", line);
    }
    if (count > 3)
        strbuf_addf(&problems, " (and %zu more)", count - 3);
    int result = 0;
    if (rc != SQLITE_DONE) {
        result = fail(s, "check the database");
    } else if (problems.len) {
        strbuf_reset(&st->error);
        strbuf_addf(&st->error, "state database '%s' is damaged: %s%s", st->location,
                    strbuf_str(&problems), damaged_hint(s));
        result = -1;
    }
    (void)sqlite3_finalize(q);
    strbuf_release(&problems);
    return result;
}

static void sqlite_close(struct store *st)
{
    struct sqlite_store *s = backend(st);
    for (int i = 0; i < SQL_COUNT; i++)
        (void)sqlite3_finalize(s->statements[i]);
    /* every statement is finalised, so this cannot be SQLITE_BUSY; a failure to
       checkpoint leaves the WAL for the next open, which is harmless */
    (void)sqlite3_close(s->db);
    if (s->trace)
        (void)fclose(s->trace);
    free(st->location);
    strbuf_release(&st->error);
    free(s);
}

static const struct store_ops sqlite_ops = {
    .close = sqlite_close,
    .check = sqlite_check,
    .begin_runs = sqlite_begin_runs,
    .claim = sqlite_claim,
    .enqueue = sqlite_enqueue,
    .withdraw = sqlite_withdraw,
    .lead = sqlite_lead,
    .heartbeat = sqlite_heartbeat,
    .set_archive = sqlite_set_archive,
    .run = sqlite_run,
    .last_run = sqlite_last_run,
    .job_version = sqlite_job_version,
    .work_done = sqlite_work_done,
    .succeeded_batch = sqlite_succeeded_batch,
    .last_started = sqlite_last_started,
    .job_pasts = sqlite_job_pasts,
    .snapshot = sqlite_snapshot,
    .last_batch = sqlite_last_batch,
    .history = sqlite_history,
    .active_runs = sqlite_active_runs,
    .mark_lost = sqlite_mark_lost,
    .gc_runs = sqlite_gc_runs,
    .gc_page = sqlite_gc_page,
    .forget_archives = sqlite_forget_archives,
    .owner_beat = sqlite_owner_beat,
    .owners = sqlite_owners,
    .file_get = sqlite_file_get,
    .files_get = sqlite_files_get,
    .file_put = sqlite_file_put,
    .generation = sqlite_generation,
    .apply = sqlite_apply,
    .reopen = sqlite_reopen,
    .wake_fd = sqlite_wake_fd,
    .woken = sqlite_woken,
    .import = sqlite_import,
    .keep_ids_above = sqlite_keep_ids_above,
    .files_all = sqlite_files_all,
};

/* The first column of a query's one row, as a number and, when text is not NULL, as
 * text (PRAGMA user_version, journal_mode, a count); -1 on failure. */
static int query_row(struct sqlite_store *s, const char *sql, int *number, struct strbuf *text,
                     const char *what)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return fail(s, what);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *number = sqlite3_column_int(q, 0);
        if (text && sqlite3_column_text(q, 0))
            strbuf_addstr(text, (const char *)sqlite3_column_text(q, 0));
    }
    int result = rc == SQLITE_ROW ? 0 : fail(s, what);
    (void)sqlite3_finalize(q);
    return result;
}

/* Copy the database to path.bak-v<version> (a consistent snapshot, WAL included).
 * A backup left by an earlier attempt at the same migration is kept as it is. */
static int backup(struct sqlite_store *s, int version)
{
    char *target = xprintf("%s.bak-v%d", s->base.location, version);
    FILE *existing = fopen(target, "rb");
    if (existing) {
        fclose(existing);
        free(target);
        return 0;
    }
    sqlite3_stmt *q;
    int result = 0;
    if (sqlite3_prepare_v2(s->db, "VACUUM INTO ?1", -1, &q, NULL) != SQLITE_OK) {
        result = fail(s, "back up before migrating");
    } else {
        if ((sqlite3_bind_text(q, 1, target, -1, SQLITE_STATIC) != SQLITE_OK ||
             sqlite3_step(q) != SQLITE_DONE) &&
            !(existing = fopen(target, "rb"))) { /* else another stau made it meanwhile */
            strbuf_reset(&s->base.error);
            strbuf_addf(&s->base.error, "cannot back up state database '%s' to '%s': %s",
                        s->base.location, target, sqlite3_errmsg(s->db));
            result = -1;
        }
        if (existing)
            fclose(existing);
        /* VACUUM INTO makes it 0644 less the umask; it holds kwargs as the original. */
        if (result == 0 && chmod(target, 0600) < 0)
            warn("cannot make backup '%s' private:", target);
        (void)sqlite3_finalize(q);
    }
    free(target);
    return result;
}

/* The rest of a REBUILDS_RUNS migration, after its SQL made runs_new: runs goes and
 * runs_new takes its name (its own foreign key, rerun_of, follows the name), with
 * every index and trigger runs had, made again from the SQL SQLite kept of each. The
 * rows are copied as they were, so no foreign key can point nowhere that did not
 * before. 0, or -1. */
static int rebuild_runs(struct sqlite_store *s, const char *what)
{
    struct strbuf again = STRBUF_INIT;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT sql FROM sqlite_master WHERE tbl_name = 'runs'"
                           " AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(s, what);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        strbuf_addf(&again, "%s;", (const char *)sqlite3_column_text(q, 0));
    (void)sqlite3_finalize(q);
    int result = rc == SQLITE_DONE &&
                         sqlite3_exec(s->db, "DROP TABLE runs; ALTER TABLE runs_new RENAME TO runs",
                                      NULL, NULL, NULL) == SQLITE_OK &&
                         sqlite3_exec(s->db, strbuf_str(&again), NULL, NULL, NULL) == SQLITE_OK
                     ? 0
                     : fail(s, what);
    strbuf_release(&again);
    return result;
}

/* One migration, inside the transaction migrate opened. */
static int apply_migration(struct sqlite_store *s, int step, const char *what)
{
    char set_version[64];
    snprintf(set_version, sizeof(set_version), "PRAGMA user_version = %d", step + 1);
    if (sqlite3_exec(s->db, migrations[step], NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, what);
    if (starts_with(migrations[step], REBUILDS_RUNS) && rebuild_runs(s, what) < 0)
        return -1;
    return sqlite3_exec(s->db, set_version, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, what);
}

/* Bring the schema to version target, one migration per transaction. Another stau
 * migrating at the same time is fine: the version is read again under the lock. */
static int migrate(struct sqlite_store *s, int version, int target)
{
    if (version > 0 && backup(s, version) < 0)
        return -1;
    for (int step = version; step < target; step++) {
        char what[64];
        snprintf(what, sizeof(what), "migrate to schema version %d", step + 1);
        /* outside the transaction: inside it, the pragma does nothing */
        bool rebuilds = starts_with(migrations[step], REBUILDS_RUNS);
        if (rebuilds &&
            sqlite3_exec(s->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL) != SQLITE_OK)
            return fail(s, what);
        int now_version, rc = write_begin(s, what);
        if (rc == 0 && query_row(s, "PRAGMA user_version", &now_version, NULL, what) < 0)
            rc = -1;
        if (rc == 0 && now_version <= step)
            rc = apply_migration(s, step, what);
        if (rc < 0)
            write_rollback(s);
        else
            rc = write_commit(s, what);
        if (rebuilds &&
            sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK &&
            rc == 0)
            rc = fail(s, what);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Prepare the cached statements from..to-1; 0, or -1 with the reason in err. */
static int prepare_statements(struct sqlite_store *s, int from, int to, struct strbuf *err)
{
    for (int i = from; i < to; i++) {
        if (sqlite3_prepare_v3(s->db, statement_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &s->statements[i], NULL) != SQLITE_OK) {
            strbuf_addf(err, "cannot prepare statement %d for state database '%s': %s", i,
                        s->base.location, sqlite3_errmsg(s->db));
            return -1;
        }
    }
    return 0;
}

/* Settings, then the schema version: create, migrate (to target), or refuse; then,
 * at SCHEMA_VERSION, the statements. */
static int prepare_database(struct sqlite_store *s, int target, struct strbuf *err)
{
    const char *path = s->base.location;
    int version, tables, unused;
    struct strbuf mode = STRBUF_INIT;
    /* Version and tables read in one transaction: another stau may be creating the
     * schema this very moment, and the two must come from the same snapshot. */
    if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        query_row(s, "PRAGMA user_version", &version, NULL, "open") < 0 ||
        query_row(s, "SELECT count(*) FROM sqlite_master", &tables, NULL, "open") < 0 ||
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int code = sqlite3_errcode(s->db) & 0xff;
        /* a truncated or garbled file: say what to do about it */
        strbuf_addf(err, "cannot open state database '%s': %s%s", path, sqlite3_errmsg(s->db),
                    code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? damaged_hint(s) : "");
        return -1;
    }
    if (s->read_only && version < target) {
        strbuf_addf(err,
                    "cannot read state database '%s': its schema version %d is older than "
                    "this stau's (%d), and bringing it up to date needs write access to it",
                    path, version, target);
        return -1;
    }
    if (version > target) {
        strbuf_addf(err,
                    "cannot use state database '%s': its schema version %d is newer than this "
                    "stau knows (%d); use a newer stau",
                    path, version, target);
        return -1;
    }
    if (version == 0 && tables > 0) {
        strbuf_addf(err, "cannot use '%s' as a state database: it has tables but no stau schema",
                    path);
        return -1;
    }
    if (s->read_only) {
        s->base.schema_version = target;
        return target < SCHEMA_VERSION ? 0 : prepare_statements(s, 0, SQL_COUNT, err);
    }
    /* journal_mode answers with the mode now in force. Switching needs the database
     * to itself, and the busy handler does not wait for that: retry a while, as
     * another stau opening it at the same moment holds it only briefly. */
    int wal = -1;
    for (int attempt = 0; attempt < 500 && wal < 0; attempt++) {
        strbuf_reset(&mode);
        if (query_row(s, "PRAGMA journal_mode = WAL", &unused, &mode, "open") == 0 &&
            strcmp(strbuf_str(&mode), "wal") == 0) {
            wal = 0;
        } else {
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    if (wal < 0 ||
        sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        strbuf_addf(err, "cannot put state database '%s' in WAL mode: %s", path,
                    mode.len ? strbuf_str(&mode) : sqlite3_errmsg(s->db));
        strbuf_release(&mode);
        return -1;
    }
    strbuf_release(&mode);
    /* the transaction statements first: migrating needs them, the rest needs the schema */
    if (prepare_statements(s, 0, SQL_INSERT_RUN, err) < 0)
        return -1;
    if (version < target && migrate(s, version, target) < 0) {
        strbuf_addstr(err, store_error(&s->base));
        return -1;
    }
    s->base.schema_version = target;
    if (target < SCHEMA_VERSION)
        return 0; /* an older schema, for tests: the statements are this version's */
    if (prepare_statements(s, SQL_INSERT_RUN, SQL_COUNT, err) < 0)
        return -1;
    return 0;
}

/* "file:PATH?immutable=1", PATH escaped as a URI path. */
static char *immutable_uri(const char *path)
{
    struct strbuf uri = STRBUF_INIT;
    strbuf_addstr(&uri, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
            strbuf_addf(&uri, "%%%02X", *p);
        else
            strbuf_addch(&uri, (char)*p);
    }
    strbuf_addstr(&uri, "?immutable=1");
    return strbuf_detach(&uri);
}

/* For tests that check what the history's readers cost (t_scale.sh): with
 * $STAU_SQL_TRACE naming a file, every statement is appended to it as it ends, a
 * line "FULLSCAN_STEPS\tVM_STEPS\tSQL" (its steps through tables without an index,
 * and all its steps, since it began; SQL with its bound values, newlines as spaces). */
static int trace_statement(unsigned kind, void *ctx, void *statement, void *unused)
{
    (void)kind;
    (void)unused;
    sqlite3_stmt *q = statement;
    char *sql = sqlite3_expanded_sql(q);
    const char *text = sql ? sql : sqlite3_sql(q);
    fprintf(ctx, "%d\t%d\t", sqlite3_stmt_status(q, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1),
            sqlite3_stmt_status(q, SQLITE_STMTSTATUS_VM_STEP, 1));
    for (const char *c = text ? text : ""; *c; c++)
        fputc(*c == '\n' ? ' ' : *c, ctx);
    fputc('\n', ctx);
    (void)fflush(ctx);
    sqlite3_free(sql);
    return 0;
}

static void start_trace(struct sqlite_store *s)
{
    const char *path = getenv("STAU_SQL_TRACE");
    if (!path || !*path)
        return;
    s->trace = fopen(path, "ae");
    if (!s->trace)
        warn("cannot write the statement trace '%s':", path);
    else if (sqlite3_trace_v2(s->db, SQLITE_TRACE_PROFILE, trace_statement, s->trace) != SQLITE_OK)
        warn("cannot trace the statements of state database '%s'", s->base.location);
}

/* Open path with its schema brought to version target; NULL with the reason in err.
 * read_only: neither create, migrate nor write; where even SQLite's shared-memory
 * file cannot be made (a read-only folder), it is read as an immutable file. */
/* Whether the file at path may be opened as a database: none yet, or a regular file
 * (not a link: one to /dev/zero made SQLite fail with "disk I/O error"); else the
 * reason and what to do in err. */
static bool openable(const char *path, struct strbuf *err)
{
    struct stat st;
    if (lstat(path, &st) < 0 || S_ISREG(st.st_mode))
        return true;
    strbuf_addf(err, "cannot open state database '%s': ", path);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        strbuf_addstr(err, "it is a symbolic link");
        if (n > 0) {
            strbuf_addstr(err, " (to ");
            strbuf_add_printable(err, target, (size_t)n);
            strbuf_addch(err, ')');
        }
        strbuf_addstr(err, ", which stau does not follow\n  hint: name the database itself "
                           "with STAU_DB, or remove the link to start a new one");
    } else {
        strbuf_addf(err,
                    "it is %s, not a regular file\n  hint: move it aside; stau then starts "
                    "a new database",
                    state_file_kind(st.st_mode));
    }
    return false;
}

static struct store *open_mode(const char *path, int target, bool read_only, bool immutable,
                               struct strbuf *err)
{
    if (!openable(path, err))
        return NULL;
    struct sqlite_store *s = xcalloc(1, sizeof(*s));
    s->base.ops = &sqlite_ops;
    s->base.kind = STORE_SQLITE;
    s->base.location = xstrdup(path);
    s->read_only = read_only;
    s->immutable = immutable;
    if (!read_only) {
        /* Made 0600 before SQLite makes it 0644: it holds every run's kwargs, and
         * SQLite gives its -wal and -shm files the database's own mode. (An empty file
         * is an empty database.) Only when it is not there (O_EXCL): closing a
         * descriptor of a database this process has open would drop that connection's
         * locks. */
        int made = state_file_create(path, O_CREAT | O_EXCL);
        if (made >= 0)
            (void)close(made); /* a failure to make it is sqlite3_open_v2's to report */
    }
    char *uri = immutable ? immutable_uri(path) : NULL;
    int flags = read_only ? SQLITE_OPEN_READONLY | (immutable ? SQLITE_OPEN_URI : 0)
                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_NOFOLLOW; /* a link made since openable() looked */
    int rc = sqlite3_open_v2(uri ? uri : path, &s->db, flags, NULL);
    free(uri);
    if (rc != SQLITE_OK || sqlite3_extended_result_codes(s->db, 1) != SQLITE_OK) {
        strbuf_addf(err, "cannot open state database '%s': %s", path,
                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite_close(&s->base);
        return NULL;
    }
    if (prepare_database(s, target, err) < 0) {
        sqlite_close(&s->base);
        return NULL;
    }
    start_trace(s);
    return &s->base;
}

static struct store *open_at(const char *path, int target, struct strbuf *err)
{
    return open_mode(path, target, false, false, err);
}

struct store *store_sqlite_open(const char *path, struct strbuf *err)
{
    return open_at(path, SCHEMA_VERSION, err);
}

struct store *store_sqlite_open_to_read(const char *path, struct strbuf *err)
{
    struct strbuf first = STRBUF_INIT;
    struct store *st = open_mode(path, SCHEMA_VERSION, true, false, &first);
    struct strbuf second = STRBUF_INIT;
    if (!st)
        st = open_mode(path, SCHEMA_VERSION, true, true, &second);
    if (!st)
        strbuf_add(err, first.buf, first.len);
    strbuf_release(&second);
    strbuf_release(&first);
    return st;
}

int store_sqlite_make_version(const char *path, int version, struct strbuf *err)
{
    if (version < 1 || version > SCHEMA_VERSION) {
        strbuf_addf(err, "no SQLite schema version %d (this stau has 1 to %d)", version,
                    SCHEMA_VERSION);
        return -1;
    }
    struct store *st = open_at(path, version, err);
    if (!st)
        return -1;
    sqlite_close(st);
    return 0;
}
