/* store.h: the state database, behind one interface with a backend per kind of
 * database. It records every run (SPEC §4), a version per job that claims check,
 * and the stat data and content hash of input and output files.
 *
 * Two backends: embedded SQLite (store_sqlite.c, which documents the tables) and a
 * PostgreSQL server through libpq (store_pg.c, for copies of stau serve on several
 * hosts). Each fills a struct store_ops; store_open picks one by the location's
 * form. Callers only ever use the store_* functions below.
 *
 * Conventions:
 * - Every change is one transaction: a crash at any point leaves either all of it
 *   or none of it, and the next store_open repairs the database.
 * - Times are unix milliseconds supplied by the caller (`now`); the store never
 *   reads a clock, so tests can use a fake one. 0 means "not yet" or "unknown".
 * - Functions return -1 on failure, with the message (naming the database) in
 *   store_error(); lookups return 1 when found and 0 when not.
 * - The store makes no operating-system process calls: whether a run's owner is
 *   still alive is asked of the caller through a callback.
 * - Strings are UTF-8 without NUL bytes; NULL is kept as NULL.
 */
#ifndef STAU_STORE_H
#define STAU_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* The state of a run. Stored by name (run_status_name), never by number. */
enum run_status {
    RUN_QUEUED,      /* recorded, not started yet */
    RUN_RUNNING,     /* its process was started */
    RUN_SUCCEEDED,   /* exited 0 with every declared output present */
    RUN_FAILED,      /* non-zero exit, a signal, a missing output, or it could not start */
    RUN_TIMED_OUT,   /* killed after its timeout */
    RUN_INTERRUPTED, /* stau was interrupted (Ctrl-C, SIGTERM) while it ran */
    RUN_LOST,        /* its owner died or its lease expired before it finished */
    RUN_SKIPPED,     /* never started: an upstream run failed */
    RUN_CANCELLED,   /* never started: its master's select_work chose no work IDs (SPEC §7);
                        neither a success nor a failure, and no work ID's success */
};
enum { RUN_STATUS_COUNT = RUN_CANCELLED + 1 };

/* "queued", "running", "succeeded", "failed", "timed-out", "interrupted", "lost", "skipped",
 * "cancelled". */
const char *run_status_name(enum run_status status);
/* The status as a sentence says it of a run: "failed", "timed out", "was interrupted",
 * "was lost", "was skipped", "is running" ... */
const char *run_status_said(enum run_status status);
/* The status with that name; false when there is none. */
bool run_status_parse(const char *name, enum run_status *out);
/* Whether a run in this state is over (anything but queued and running). */
static inline bool run_status_finished(enum run_status status)
{
    return status != RUN_QUEUED && status != RUN_RUNNING;
}

/* The stau process that owns (queued and runs) a run, for leases. */
struct store_owner {
    const char *host; /* host name */
    int pid;          /* process id of stau itself (not of the job) */
    int64_t start;    /* the process's start time as the OS reports it (0: unknown), so a
                         recycled pid is not taken for the same process */
};

/* Whether a run's work tree matched its git commit (git.h): stored as NULL, 0, 1. */
enum run_git_state {
    RUN_GIT_UNKNOWN, /* not a git checkout, git could not tell, or recorded before v13 */
    RUN_GIT_CLEAN,   /* nothing in the project differed from the commit */
    RUN_GIT_DIRTY,   /* something did (git_changes_json: what, under the jobs root) */
};

/* One run of one job: one attempt of one chunk. Strings are owned (see
 * run_record_release) when the record comes from the store. */
struct run_record {
    int64_t id;                /* run id, increasing, never reused */
    char *job;                 /* job name, e.g. "sales.report" */
    int attempt;               /* 1 for the first try, 2 for the first retry, ... */
    enum run_status status;    /* where it is */
    int64_t queued_at;         /* when it was recorded */
    int64_t started_at;        /* when its process started; 0: not yet (or never) */
    int64_t finished_at;       /* when it ended; 0: not yet */
    int exit_code;             /* the process's exit status; -1: none (not ended, or a signal) */
    int signal;                /* the signal that ended the process; 0: none */
    char *host;                /* host of the owning stau */
    int owner_pid;             /* pid of the owning stau */
    int64_t owner_start;       /* start time of the owning stau (see struct store_owner) */
    int pid;                   /* pid (= process group) of the job's process; 0: not started */
    int64_t heartbeat_at;      /* the owner's last sign of life for this run (the lease) */
    char *git_commit;          /* the project's commit when it is a git checkout, else NULL */
    char *kwargs_json;         /* keyword arguments, a JSON object */
    char *work_ids_json;       /* work IDs of this chunk, a JSON array; NULL: not chunked */
    char *code_fingerprint;    /* fingerprint of the job's code and local imports */
    char *config_fingerprint;  /* fingerprint of the evaluated declaration */
    char *inputs_fingerprint;  /* fingerprint of the inputs when it started */
    char *outputs_fingerprint; /* fingerprint of the outputs it left (set when it ends) */
    char *reasons_json;        /* why it ran: a JSON array of reasons with evidence */
    char *log_path;            /* its log while it runs, relative to the project root */
    char *archive_path;        /* its archive; NULL: none, or removed by gc */
    int64_t rerun_of;          /* the run this one repeats (stau rerun); 0: none */
    int64_t batch;             /* the invocation it belongs to: the id of the first run of a
                                  chunked job's chunks; its own id for an ordinary run */
    int chunk;                 /* which chunk, 1-based; 0: not chunked */
    int chunks;                /* how many chunks its invocation has; 0: not chunked */
    char *files;               /* the evidence behind its fingerprints: a line
                                  "KIND\tPATH\tHASH" for each file of its code (c) and
                                  inputs (i) as it started and of its outputs (o) as it
                                  left them (see plan_files_diff); NULL: not recorded */
    char *env_names_json;      /* the names of the variables the project's env file gave its
                                  process, a JSON array (the values are never kept); NULL: none */
    char *kwargs_given_json;   /* the keyword arguments given on the command line (stau run
                                  --kwargs, -p), a JSON object merged over the job's own into
                                  kwargs_json; a rerun keeps its run's; NULL: none */
    char *git_changes_json;    /* git_dirty: the changed files under the jobs root, relative
                                  to the project root, a JSON array (at most GIT_CHANGES_KEPT);
                                  NULL: none, or not known */
    /* The work tree against git_commit as the run was queued. */
    enum run_git_state git_dirty;
};

/* Runs, in the order the function producing them says; works with VEC_PUSH. */
struct run_list {
    struct run_record *items;
    size_t len, cap;
};

/* Whether the run was enqueued by the leading serve (store_enqueue) and no stau has
 * taken it yet: queued, with no owner. Such a run is nobody's: no lease applies to
 * it, and the first claim of its job takes it over. */
static inline bool run_unassigned(const struct run_record *r)
{
    return r->status == RUN_QUEUED && r->owner_pid == 0 && !r->host;
}

/* What a record read from a state database has that stau never writes (a garbled
 * page, or a row changed by hand): "job is NULL", "status is 'x'", ...; NULL when
 * nothing. Backends refuse such a row rather than hand it out (a job would get
 * garbage kwargs on `stau rerun`). A backend that cannot parse the status gives
 * the record the status RUN_STATUS_COUNT. */
const char *run_record_impossible(const struct run_record *r, struct strbuf *why);
/* Free a record's strings (the record itself is the caller's) and zero it. */
void run_record_release(struct run_record *run);
/* Release every record and the array. */
void run_list_release(struct run_list *list);
/* Append the record's fields as the members of a JSON object, without its braces
 * ("id":1,"job":"a",...): the one shape of a run in JSON, for `history --json`,
 * `show --json` and each archive's manifest.json (README, "JSON output"). */
void run_record_json_fields(const struct run_record *r, struct strbuf *out);
/* Append the stau process that owns the run as a JSON object, {"id":"PID:START",
 * "host","pid","started","started_ms"} (the id is the $STAU_OWNER its jobs see), or
 * null when nobody does (an enqueued run nobody took). */
void run_invocation_json(const struct run_record *r, struct strbuf *out);
/* Append a JSON object of the run's id, status, attempt, times and invocation (null
 * for id 0): how `status --json` and `why --json` name a job's last run. */
void run_record_brief_json(const struct run_record *r, struct strbuf *out);
/* ,"git_dirty":true|false|null,"git_changes":[...]|null of r, appended to out. */
void run_record_git_state_json(const struct run_record *r, struct strbuf *out);

/* How a run ended, for a STORE_FINISH change. */
struct run_finish {
    enum run_status status;          /* any finished state */
    int exit_code;                   /* exit status; -1: none */
    int signal;                      /* the ending signal; 0: none */
    const char *outputs_fingerprint; /* the outputs as it left them; NULL: not taken */
    const char *archive_path;        /* its archive if already written; NULL: none yet */
    const char *output_files;        /* evidence lines of its outputs (see run_record.files);
                                        NULL: none */
};

/* A run starting or ending, for store_apply. */
struct store_change {
    enum { STORE_START, STORE_FINISH } kind;
    int64_t id;                     /* the run */
    int64_t at;                     /* when it started or ended (unix ms) */
    int pid;                        /* STORE_START: its process (and process group) */
    const char *inputs_fingerprint; /* STORE_START: its inputs as it started; NULL: keep */
    const char *log_path;           /* STORE_START: its log; NULL: keep */
    const char *work_ids_json;      /* STORE_START: its work IDs; NULL: keep */
    int chunk, chunks;              /* STORE_START: which chunk of how many; 0: keep */
    const char *files;              /* STORE_START: evidence lines of its code and inputs
                                       (see run_record.files); NULL: keep */
    struct run_finish finish;       /* STORE_FINISH: how it ended */
};

/* What stau remembers of one file, to hash it again only when its stat data moved. */
struct store_file {
    char *path;          /* relative to the project root */
    int64_t mtime_ns;    /* modification time, nanoseconds */
    int64_t ctime_ns;    /* status change time, nanoseconds */
    uint64_t size;       /* bytes */
    uint64_t inode;      /* inode number */
    uint64_t device;     /* device number */
    struct hash128 hash; /* content hash when it had that stat data */
};

/* A serving stau as the store keeps it (store_owners). */
struct store_owner_row {
    char *host;           /* owned */
    int pid;              /* its pid */
    int64_t start;        /* its process start (as struct store_owner) */
    int64_t since;        /* when it began serving (unix ms) */
    int64_t heartbeat_at; /* its last sign of life */
    bool leads;           /* it holds the leader lease (store_lead) */
};
/* Works with VEC_PUSH. */
struct store_owner_list {
    struct store_owner_row *items;
    size_t len, cap;
};
/* Free every row's host and the array. */
void store_owner_list_release(struct store_owner_list *list);

/* One job's past as a plan reads it (store_job_pasts): the rows, not the verdicts
 * (work.c judges them). */
struct store_job_past {
    struct run_list last_batch;      /* the runs of its newest batch, oldest first */
    struct run_list succeeded_batch; /* the runs of its newest batch holding a success */
    struct run_record last_started;  /* its newest run that started (id 0: none) */
    int64_t version;                 /* as store_job_version */
};
/* Free what a past holds and zero it. */
void store_job_past_release(struct store_job_past *past);

/* Files to remember; works with VEC_PUSH. */
struct store_file_list {
    struct store_file *items;
    size_t len, cap;
};

/* Free every entry's path and the array. */
void store_file_list_release(struct store_file_list *list);

/* Answers whether the owner of a queued or running run is alive (lease.h has the
 * rule); called inside the claim's transaction, so it must be quick. */
typedef bool store_holder_live_fn(const struct run_record *active, void *ctx);

/* Answers whether the stau holding the leader lease is alive (lease.h has the rule). */
typedef bool store_leader_live_fn(const struct store_owner_row *leader, void *ctx);

struct store_claim;
/* Whether r was recorded by the stau making claim c (same host, pid and start). */
bool store_claim_owns(const struct store_claim *c, const struct run_record *r);
/* For a claim after a lost run (after_run): when one of the job's runs since then
 * (after) is another stau's, it claimed the job first: c becomes CHANGED with that
 * run moved into its holder; true then. */
bool store_claim_taken_meanwhile(struct store_claim *c, struct run_list *after);

/* One job to claim with store_claim. */
struct store_claim {
    struct run_record run;        /* in: the run to record, as for store_begin_run */
    bool exclusive;               /* in: refuse while a live owner holds a queued or running
                                     run of the job (no allow_multiple_jobs) */
    int64_t seen_version;         /* in: the job's version when its need was judged
                                     (store_job_version); -1: do not check */
    int64_t after_run;            /* in: > 0 when the claim follows the loss of that run of
                                     the job (another stau's, waited for): a newer run of
                                     the job (another stau claimed it first) is CHANGED */
    const char *const *upstreams; /* in: the jobs it depends on: while a live owner other
                                     than the claim's own runs one of them, it waits */
    size_t upstream_count;
    enum {
        CLAIM_GOT,            /* recorded: id is the new run, or the job's unassigned run
                                 (run_unassigned), now the claim's */
        CLAIM_HELD,           /* a live owner's run of the job is queued or running: holder */
        CLAIM_CHANGED,        /* a run of the job was recorded or ended since seen_version: the
                                 need must be judged again; holder is the job's newest run */
        CLAIM_WAIT,           /* an upstream is queued or running in another live owner: try
                                 again once it ended; holder is that run */
    } outcome;                /* out */
    int64_t id;               /* out, CLAIM_GOT: the run's id */
    struct run_record holder; /* out, otherwise: the run in the way (release it) */
};

/* One job's work IDs to look up with store_work_done_many. */
struct work_done_ask {
    const char *job;      /* in: the job */
    const int64_t *ids;   /* in: its work IDs (repeats allowed) */
    size_t count;         /* in: how many */
    int64_t *finished_at; /* out: count entries, when the job last succeeded for ids[i]
                             (unix ms; 0: never) */
};

/* The kinds of state database. */
enum store_kind {
    STORE_SQLITE,   /* a file, normally .stau/state.db */
    STORE_POSTGRES, /* a schema in a PostgreSQL database */
};

struct store;

/* A backend: one function per operation, each documented at its store_* wrapper below. */
struct store_ops {
    void (*close)(struct store *st);
    int (*check)(struct store *st);
    int (*begin_runs)(struct store *st, const struct run_record *runs, size_t count, int64_t now,
                      int64_t *ids);
    int (*claim)(struct store *st, struct store_claim *claims, size_t count, int64_t now,
                 store_holder_live_fn *live, void *ctx);
    int (*enqueue)(struct store *st, const struct store_owner *leader,
                   const struct run_record *runs, const int64_t *seen_versions, size_t count,
                   int64_t now, int64_t *ids);
    int (*withdraw)(struct store *st, int64_t id);
    int (*lead)(struct store *st, const struct store_owner *owner, bool leaving, int64_t now,
                store_leader_live_fn *live, void *ctx, struct store_owner_row *leader);
    int (*heartbeat)(struct store *st, const struct store_owner *owner, int64_t now);
    int (*set_archive)(struct store *st, int64_t id, const char *archive_path);
    int (*run)(struct store *st, int64_t id, struct run_record *out);
    int (*last_run)(struct store *st, const char *job, struct run_record *out);
    int (*job_version)(struct store *st, const char *job, int64_t *out);
    /* the asks' finished_at are zeroed; one request */
    int (*work_done)(struct store *st, struct work_done_ask *asks, size_t n);
    int (*succeeded_batch)(struct store *st, const char *job, int64_t before, struct run_list *out);
    int (*last_started)(struct store *st, const char *job, struct run_record *out);
    int (*job_pasts)(struct store *st, const char *const *jobs, size_t count,
                     struct store_job_past *out);
    int (*snapshot)(struct store *st, bool begin);
    int (*last_batch)(struct store *st, const char *job, struct run_list *out);
    int (*history)(struct store *st, const char *job, size_t limit, struct run_list *out);
    int (*active_runs)(struct store *st, const char *job, struct run_list *out);
    int (*mark_lost)(struct store *st, int64_t id, int64_t heartbeat_seen, int64_t now);
    int (*gc_runs)(struct store *st, const int64_t *ids, size_t count, struct run_list *out);
    int (*gc_page)(struct store *st, const char *job, int64_t below, size_t limit,
                   struct run_list *out);
    int (*forget_archives)(struct store *st, const int64_t *ids, size_t count);
    int (*owner_beat)(struct store *st, const struct store_owner *owner, bool leaving, int64_t now);
    int (*owners)(struct store *st, struct store_owner_list *out);
    int (*file_get)(struct store *st, const char *path, struct store_file *out);
    int (*files_get)(struct store *st, const char *const *paths, size_t count,
                     struct store_file *out, bool *found);
    int (*file_put)(struct store *st, const struct store_file *files, size_t count, int64_t now);
    int (*generation)(struct store *st, int64_t *out);
    int (*apply)(struct store *st, const struct store_change *changes, size_t count,
                 const struct store_file *files, size_t file_count, int64_t now);
    struct store *(*reopen)(struct store *st, struct strbuf *err);
    int (*wake_fd)(struct store *st);
    int (*woken)(struct store *st);
    int (*import)(struct store *st, const struct run_record *runs, size_t count,
                  const struct store_file *files, size_t file_count, bool merge);
    int (*keep_ids_above)(struct store *st, int64_t id);
    int (*files_all)(struct store *st, struct store_file_list *out);
};

/* An open state database. Backends embed this as their first member. */
struct store {
    const struct store_ops *ops; /* the backend */
    enum store_kind kind;        /* which one */
    char *location;              /* the file, or the server's name without its password
                                    and the schema ("postgresql://u@h:5432/db schema stau") */
    int schema_version;          /* the schema version the database has (the current one) */
    int64_t round_trips;         /* requests sent to a server so far (0 for SQLite): tests
                                    check that a plan's reads do not grow with its jobs */
    int64_t reconnects;          /* times a lost connection to a server was made again */
    size_t ids_per_request;      /* the most work IDs one request of store_work_done_many
                                    carries (0: STORE_IDS_PER_REQUEST; tests lower it) */
    struct strbuf error;         /* the last failure's message */
};

/* The most work IDs one request of store_work_done_many carries: 16 Mi, whose text
 * (at most 21 bytes each) stays well below the 1 GB a value may have in either
 * database. */
enum { STORE_IDS_PER_REQUEST = 16 * 1024 * 1024 };

/* For the backends: append the numbers, separated by commas (the text of an array). */
void store_add_numbers(struct strbuf *out, const int64_t *numbers, size_t count);

/* The schema a PostgreSQL store uses when none is named (--db-schema). */
#define STORE_DEFAULT_SCHEMA "stau"

/* Open the state database at location:
 * - "postgresql://..." or "postgres://..." (a libpq URI), or a libpq keyword string
 *   ("host=db1 dbname=jobs", "service=prod"): a PostgreSQL server, with .pgpass,
 *   PGSERVICE and the PG* variables as psql has them; the tables live in schema
 *   (NULL: STORE_DEFAULT_SCHEMA), created when missing.
 * - "sqlite:PATH" or any other text: an SQLite file (created with the current schema
 *   when missing; an older schema is copied to "<path>.bak-v<N>" and then migrated).
 * A database written by a newer stau, or one that is no stau database, is refused.
 * NULL, with the reason in err (never a password), on failure. */
struct store *store_open(const char *location, const char *schema, struct strbuf *err);
/* Whether location names a PostgreSQL server (as store_open reads it). */
bool store_location_is_server(const char *location);
/* The backends' opens; store_open calls the one the location names. */
struct store *store_sqlite_open(const char *path, struct strbuf *err);
/* store_open to read only: an SQLite file is neither created, migrated nor written
 * (writes fail), so it works in a read-only folder; a server is opened as ever. */
struct store *store_open_to_read(const char *location, const char *schema, struct strbuf *err);
struct store *store_sqlite_open_to_read(const char *path, struct strbuf *err);
struct store *store_pg_open(const char *conninfo, const char *schema, struct strbuf *err);
/* For tests of migrations: make the database as this stau makes it, but with the
 * schema at an older version (SQLite: 1 up, PostgreSQL: 8 up), migrating one that
 * is older still up to it, and close it. 0, or -1 with the reason in err. */
int store_make_version(const char *location, const char *schema, int version, struct strbuf *err);
int store_sqlite_make_version(const char *path, int version, struct strbuf *err);
int store_pg_make_version(const char *conninfo, const char *schema, int version,
                          struct strbuf *err);
/* Drop a PostgreSQL schema and everything in it (tests use it to clean up): 0, or -1
 * with the reason in err. */
int store_pg_drop_schema(const char *conninfo, const char *schema, struct strbuf *err);

/* A second, independent handle on the same database (another connection: a thread
 * writing beside the main one); NULL with the reason in err. */
static inline struct store *store_reopen(struct store *st, struct strbuf *err)
{
    return st->ops->reopen(st, err);
}

/* A descriptor that becomes readable when another stau recorded, took or ended a run
 * (PostgreSQL's LISTEN/NOTIFY), for a serving loop to poll() on beside its others;
 * -1 when the backend has none (SQLite: poll store_generation instead). */
static inline int store_wake_fd(struct store *st)
{
    return st->ops->wake_fd(st);
}

/* After store_wake_fd became readable: consume what arrived; 1 when a run moved
 * somewhere, 0 when nothing did, -1 (the connection broke). */
static inline int store_woken(struct store *st)
{
    return st->ops->woken(st);
}

/* Write runs and remembered files exactly as given (ids, batches, every field kept)
 * into a database that holds no run yet, in one transaction, so the job versions,
 * the generation and the next run id follow from them (stau db copy). 0, or -1 (a
 * database with runs is refused: nothing is written). */
static inline int store_import(struct store *st, const struct run_record *runs, size_t count,
                               const struct store_file *files, size_t file_count)
{
    return st->ops->import(st, runs, count, files, file_count, false);
}

/* store_import into a database that may hold runs (stau db recover): a run whose id
 * it holds already is left as it is; the others go in as given, in one transaction.
 * Their rerun_of must name a run the database holds or that goes in too. 0, or -1. */
static inline int store_merge_runs(struct store *st, const struct run_record *runs, size_t count)
{
    return st->ops->import(st, runs, count, NULL, 0, true);
}

/* Make every run id recorded from now on larger than id (the ids archives on disk
 * carry, when the database that numbered them was lost). 0, or -1. */
static inline int store_keep_ids_above(struct store *st, int64_t id)
{
    return st->ops->keep_ids_above(st, id);
}

/* Append every remembered file to out, by path. */
static inline int store_files_all(struct store *st, struct store_file_list *out)
{
    return st->ops->files_all(st, out);
}

/* The message of the last failure, e.g. "cannot ... in state database '...': ...". */
static inline const char *store_error(const struct store *st)
{
    return strbuf_str(&st->error);
}

/* Close the database and free the handle (NULL is fine). */
static inline void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

/* Check the whole database for damage (PRAGMA integrity_check); 0 when sound. */
static inline int store_check(struct store *st)
{
    return st->ops->check(st);
}

/* Record a new run as queued at now and set *id. Taken from run: job (required),
 * attempt (0: 1), host, owner_pid, owner_start, git_commit, kwargs_json, work_ids_json, the
 * code, config and inputs fingerprints, reasons_json, log_path, rerun_of, batch (0: a
 * new invocation, whose batch is the run's own id), chunk, chunks; the rest is
 * ignored. Its lease starts at now. A retry is a new run with attempt + 1 (and, for a
 * chunk, the same batch and chunk). */
static inline int store_begin_run(struct store *st, const struct run_record *run, int64_t now,
                                  int64_t *id)
{
    return st->ops->begin_runs(st, run, 1, now, id);
}

/* store_begin_run for count runs at once, in one transaction: all or none are
 * recorded; ids[i] gets the id of runs[i] (ids increase in that order). */
static inline int store_begin_runs(struct store *st, const struct run_record *runs, size_t count,
                                   int64_t now, int64_t *ids)
{
    return st->ops->begin_runs(st, runs, count, now, ids);
}

/* Atomically, in one transaction, for each claim: the job's run is recorded (its id in
 * id) unless the job is held (exclusive, and live() says the owner of one of its
 * queued or running runs is alive: holder), must wait (an upstream's queued or running
 * run has a live owner that is not the claim's own: holder), or changed (its version
 * moved since seen_version: holder is its newest run). An unassigned run
 * (run_unassigned) of an upstream makes the claim wait (holder: that run); one of the
 * job itself holds nothing: the job, claimed for
 * a new invocation (batch and rerun_of 0), gets that run, its fields set from the
 * claim's, whatever its version: the leader's need stands until a stau ran it.
 * Which runs got recorded never depends on the order of run ids. The runs' batch is
 * as store_begin_runs makes it. 0, or -1 (nothing recorded). */
static inline int store_claim(struct store *st, struct store_claim *claims, size_t count,
                              int64_t now, store_holder_live_fn *live, void *ctx)
{
    return st->ops->claim(st, claims, count, now, live, ctx);
}

/* Record, in one transaction, each run as queued and unassigned (run_unassigned: its
 * owner, batch and rerun_of are ignored) unless its job already has an unassigned run
 * or its version moved since seen_versions[i] (another stau ran or took it since the
 * plan); ids[i] gets the new run's id, or 0. Only while leader holds the leader lease
 * (store_lead): 1; 0 when it does not (nothing recorded); -1. The leading serve
 * enqueues scheduled work this way, and whichever stau claims the job first takes
 * the run (store_claim). */
static inline int store_enqueue(struct store *st, const struct store_owner *leader,
                                const struct run_record *runs, const int64_t *seen_versions,
                                size_t count, int64_t now, int64_t *ids)
{
    return st->ops->enqueue(st, leader, runs, seen_versions, count, now, ids);
}

/* Remove an unassigned run no longer needed (its job went, or is no longer due): 1,
 * or 0 when a stau took it meanwhile (or it is gone). */
static inline int store_withdraw(struct store *st, int64_t id)
{
    return st->ops->withdraw(st, id);
}

/* Take or renew the leader lease for owner, atomically: it is taken when nobody holds
 * it, owner does, or live() says its holder is gone. 1 when owner leads now; 0 when
 * another stau does (its row into *leader when not NULL; release its host). */
static inline int store_lead(struct store *st, const struct store_owner *owner, int64_t now,
                             store_leader_live_fn *live, void *ctx, struct store_owner_row *leader)
{
    return st->ops->lead(st, owner, false, now, live, ctx, leader);
}

/* Give the leader lease up if owner holds it (it stops serving). */
static inline int store_resign(struct store *st, const struct store_owner *owner)
{
    return st->ops->lead(st, owner, true, 0, NULL, NULL, NULL);
}

/* Renew the lease of every queued or running run of this owner; returns how many
 * (a run already marked lost stays lost). */
static inline int store_heartbeat(struct store *st, const struct store_owner *owner, int64_t now)
{
    return st->ops->heartbeat(st, owner, now);
}

/* Set a run's archive path once the archive is written, or forget it (NULL) once
 * gc removed the archive. Failing when the run is unknown. */
static inline int store_set_archive(struct store *st, int64_t id, const char *archive_path)
{
    return st->ops->set_archive(st, id, archive_path);
}

/* The run with this id into *out (release it): 1, or 0 when there is none. */
static inline int store_run(struct store *st, int64_t id, struct run_record *out)
{
    return st->ops->run(st, id, out);
}

/* The job's newest run, whatever its state: 1, or 0 when it never ran. */
static inline int store_last_run(struct store *st, const char *job, struct run_record *out)
{
    return st->ops->last_run(st, job, out);
}

/* The job's version into *out: a number that moves on whenever a run of the job is
 * recorded or changes state (0: none ever), so a claim can tell that the past its need
 * was judged on is still the past. */
static inline int store_job_version(struct store *st, const char *job, int64_t *out)
{
    return st->ops->job_version(st, job, out);
}

/* For every ask, when its job last succeeded for each of its work IDs (unix ms; 0:
 * never, or no such job), into its finished_at: in one request whatever n and the
 * counts (SPEC §7: freshness is judged per work ID, for every job of a plan at once)
 * up to STORE_IDS_PER_REQUEST IDs in all, one more per as many beyond, and none when
 * there is no ID to look up. Kept by the database itself as chunks succeed. 0, or -1
 * (the finished_at arrays then hold nothing to trust). */
int store_work_done_many(struct store *st, struct work_done_ask *asks, size_t n);

/* store_work_done_many of the one job's count work IDs. */
static inline int store_work_done(struct store *st, const char *job, const int64_t *ids,
                                  size_t count, int64_t *finished_at)
{
    struct work_done_ask ask = {job, ids, count, finished_at};
    return store_work_done_many(st, &ask, 1);
}

/* Append to out, oldest first, the runs of the job's newest batch below `before`
 * (INT64_MAX: any) that holds a succeeded run; nothing when there is none. Whether
 * the batch succeeded is for the caller to judge (work_batch_judge). */
static inline int store_succeeded_batch(struct store *st, const char *job, int64_t before,
                                        struct run_list *out)
{
    return st->ops->succeeded_batch(st, job, before, out);
}

/* The pasts of count jobs at once (out[i] for jobs[i], zeroed first): what a plan
 * reads of each, in one call (one round trip for a server). On failure, -1 and
 * every out[i] released. */
static inline int store_job_pasts(struct store *st, const char *const *jobs, size_t count,
                                  struct store_job_past *out)
{
    return st->ops->job_pasts(st, jobs, count, out);
}

/* Read what follows, until store_snapshot_end, as one consistent snapshot (one
 * read transaction: a plan's thousands of reads take the database's lock once).
 * Nothing may be written meanwhile. 0, or -1 with a message (reads then go on one
 * by one). */
static inline int store_snapshot_begin(struct store *st)
{
    return st->ops->snapshot(st, true);
}
static inline int store_snapshot_end(struct store *st)
{
    return st->ops->snapshot(st, false);
}

/* The job's newest run that started, whatever came of it: 1, or 0 when none did. */
static inline int store_last_started(struct store *st, const char *job, struct run_record *out)
{
    return st->ops->last_started(st, job, out);
}

/* Append the runs of the job's newest batch (its latest invocation: every attempt of
 * every chunk, or one ordinary run) to out, oldest first; nothing when it never ran. */
static inline int store_last_batch(struct store *st, const char *job, struct run_list *out)
{
    return st->ops->last_batch(st, job, out);
}

/* Append the runs of job (NULL: of every job) to out, newest first, at most limit
 * of them (0: all). */
static inline int store_history(struct store *st, const char *job, size_t limit,
                                struct run_list *out)
{
    return st->ops->history(st, job, limit, out);
}

/* Append the queued and running runs of job (NULL: of every job) to out, oldest first. */
static inline int store_active_runs(struct store *st, const char *job, struct run_list *out)
{
    return st->ops->active_runs(st, job, out);
}

/* Mark a run lost at now, if it is still queued or running with the heartbeat_at
 * seen when it was judged lost (lease_recover): 1 when marked, 0 when it moved on meanwhile
 * (finished, renewed, or another stau marked it). */
static inline int store_mark_lost(struct store *st, int64_t id, int64_t heartbeat_seen, int64_t now)
{
    return st->ops->mark_lost(st, id, heartbeat_seen, now);
}

/* gc reads runs a page at a time, each without the texts it never looks at: in the
 * records of store_gc_runs and store_gc_page, git_commit, kwargs_json, work_ids_json,
 * the four fingerprints, reasons_json, files, env_names_json, kwargs_given_json and
 * git_changes_json are NULL, and git_dirty is unknown. */

/* Append to out, by id, the runs among ids[0..count) (ascending; a page, not the
 * history) that are recorded: one request, each a look-up by the key. */
static inline int store_gc_runs(struct store *st, const int64_t *ids, size_t count,
                                struct run_list *out)
{
    return st->ops->gc_runs(st, ids, count, out);
}

/* Append to out, newest first, at most limit of the job's runs with an id below
 * `below` (INT64_MAX: from its newest), by the index on (job, id). */
static inline int store_gc_page(struct store *st, const char *job, int64_t below, size_t limit,
                                struct run_list *out)
{
    return st->ops->gc_page(st, job, below, limit, out);
}

/* store_set_archive(id, NULL) of count runs at once, in one transaction, once gc
 * removed their archives; ids not recorded are passed over. */
static inline int store_forget_archives(struct store *st, const int64_t *ids, size_t count)
{
    return st->ops->forget_archives(st, ids, count);
}

/* Record that owner serves the project, as of now (its first call is its start). */
static inline int store_owner_serving(struct store *st, const struct store_owner *owner,
                                      int64_t now)
{
    return st->ops->owner_beat(st, owner, false, now);
}

/* Forget that owner serves the project (it stopped). */
static inline int store_owner_stopped(struct store *st, const struct store_owner *owner)
{
    return st->ops->owner_beat(st, owner, true, 0);
}

/* Append the staus recorded as serving, longest serving first (leads set for the one
 * holding the leader lease); whether each is still alive is for the caller to judge
 * (lease.h). */
static inline int store_owners(struct store *st, struct store_owner_list *out)
{
    return st->ops->owners(st, out);
}

/* What is remembered of the file at path into *out (free out->path): 1, or 0. */
static inline int store_file_get(struct store *st, const char *path, struct store_file *out)
{
    return st->ops->file_get(st, path, out);
}

/* What is remembered of count files at once: found[i] says whether out[i] (free its
 * path) holds paths[i]'s. 0, or -1 with nothing to free. */
static inline int store_files_get(struct store *st, const char *const *paths, size_t count,
                                  struct store_file *out, bool *found)
{
    return st->ops->files_get(st, paths, count, out, found);
}

/* Remember these files' stat data and hashes, replacing older entries, in one transaction. */
static inline int store_file_put(struct store *st, const struct store_file *files, size_t count,
                                 int64_t now)
{
    return st->ops->file_put(st, files, count, now);
}

/* The database's generation into *out: a number that moves on whenever a run is
 * added or removed, its status, times or fingerprints are set, or a schedule mark
 * is set, so equal numbers mean the past a plan reads is unchanged. */
static inline int store_generation(struct store *st, int64_t *out)
{
    return st->ops->generation(st, out);
}

/* Apply changes in order and
 * remember files (as store_file_put), all in one transaction. A change that finds
 * its run no longer in the state it expects (a start of a run another stau marked
 * lost meanwhile, an end of a run already ended) changes nothing; returns how many
 * did so, or -1 (and nothing is recorded). */
static inline int store_apply(struct store *st, const struct store_change *changes, size_t count,
                              const struct store_file *files, size_t file_count, int64_t now)
{
    return st->ops->apply(st, changes, count, files, file_count, now);
}

#endif
