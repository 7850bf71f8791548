/* cli.h: what every command gets from the command line, and the commands. */
#ifndef STAU_CLI_H
#define STAU_CLI_H

#include "project.h"

struct run_record;
struct store;

/* Exit statuses (SPEC §3). */
enum { EXIT_OK = 0, EXIT_JOB_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

/* The parsed command line. */
struct cli {
    struct project_options project; /* -C, --jobs, -j */
    bool json;                      /* --json */
    bool names;                     /* list --names: only the job names */
    bool dir_given;                 /* -C was given (else the root is found by walking up) */
    bool verbose;                   /* -v */
    bool dry_run;                   /* -n: print the plan, run nothing */
    bool force;                     /* --force: run the named jobs whatever their state */
    bool fail_fast;                 /* --fail-fast: start nothing new after a failure */
    bool exit_code;                 /* --exit-code: status, -n: exit 1 when something is
                                       failed or due, or would run */
    long keep_days;                 /* --keep-days N: gc keeps archives younger than N days */
    bool keep_days_given;           /* whether --keep-days was given (else: no age limit) */
    long keep_last;                 /* --keep-last N: gc keeps each job's N newest archives */
    bool keep_last_given;           /* whether --keep-last was given (else: 10) */
    long limit;                     /* --limit N: history shows at most N runs; 0: all */
    const char *restore_limit;      /* restore --limit SIZE (else $STAU_RESTORE_LIMIT, 1G) */
    const char *to;                 /* --to DIR: restore into DIR (else: the project root);
                                       db copy --to DB: the database to copy into */
    char **args;                    /* arguments after the command */
    size_t arg_count;
    struct diag_printer printer; /* how diagnostics are shown */
    bool diags_shown;            /* cli_load loads again: the diagnostics were shown */
    const char *const *commands; /* the command names, NULL-terminated */
    const char *from;            /* schedule --from TIME; db copy --from DB: the database to copy */
    size_t count;                /* schedule -n N: ticks per job */
    int64_t grace_ms;            /* serve --grace SECONDS: how long running jobs may finish */
    bool json_log;               /* serve --json-log: events as JSON lines */
    bool chunks;                 /* dot --chunks: the chunk graph of the latest invocations */
    const char *env_file;        /* [tool.stau] env_file: loaded into each job's environment */
    size_t settings_warnings;    /* warnings [tool.stau] printed (check counts them) */
    char *kwargs;                /* run --kwargs JSON, -p KEY=VALUE: keyword arguments given on
                                    the command line, merged in order (a JSON object, owned);
                                    NULL: none */
};

/* Use this state database (--db; NULL: $STAU_DB, else .stau/state.db), on a
 * PostgreSQL server this schema (--db-schema; NULL: $STAU_DB_SCHEMA, else "stau"), and
 * this archive folder (--archive; NULL: $STAU_ARCHIVE, else .stau/archive). */
void cli_set_database(const char *location, const char *schema, const char *archive);
/* The schema named by --db-schema, else $STAU_DB_SCHEMA; NULL when neither (the default). */
const char *cli_db_schema(void);
/* Where the state database is: --db, $STAU_DB, else .stau/state.db in the project (new). */
char *cli_state_path(const struct project *p);
/* Whether the state database exists already (a server always counts as existing). */
bool cli_state_exists(const struct project *p);
/* Open the state database; NULL after a message. A database without runs while the
 * project keeps archives or logs of earlier runs is said (cli_notice_lost_history). */
struct store *cli_open_store(const struct project *p);
/* cli_open_store for a command that only reads: a database that cannot be opened to
 * write (a read-only folder or file) is opened to read. */
struct store *cli_open_store_to_read(const struct project *p);
/* Say that the store has no run id: "no run N", or, when it should have it (older
 * than the newest) and the file is damaged, that. */
void cli_no_run(struct store *st, int64_t id);
/* When st holds no runs but the archive folder or .stau/logs hold some: warn that the
 * history was lost; when its newest run is below the largest archived id (an older
 * copy put back): warn too. Where st can be written, new runs are numbered past the
 * largest archived id (cli_recover.c). */
void cli_notice_lost_history(const struct project *p, struct store *st, bool writable);
/* The run an archive's manifest.json records (as `stau show --json` prints it) into
 * *r; false with the reason in *why (stau db recover, cli_recover.c). Release *r with
 * run_record_release either way. */
bool cli_manifest_run(const char *json, struct run_record *r, struct strbuf *why);
/* Load the project and print its diagnostics to stderr; -1 if it could not be loaded
 * or holds no job (an error: `no jobs found under ...`). */
int cli_load(const struct cli *c, struct project *p);
/* -1 after the message `no jobs found under ...` when p holds no job; else 0. */
int cli_no_jobs(const struct cli *c, const struct project *p);
struct envfile;
/* Read the project's env file (c->env_file, else .env; envfile.h) at root into out,
 * printing its diagnostics; -1 after saying that no job runs. */
int cli_load_env(const struct cli *c, const char *root, struct envfile *out);
/* Print "stau: error: MESSAGE" with the usage as a hint; EXIT_USAGE. */
int cli_usage_error(const char *message, const char *usage);
/* The interpreter for jobs that name none: [tool.stau]'s python (see
 * cli_set_default_python), else the project's .venv, else python3, asked once for its
 * real path (newly allocated). */
char *cli_default_python(const char *root);
/* The python [tool.stau] names (a path relative to the project root, or a command). */
void cli_set_default_python(const char *python);

int cli_check(const struct cli *c);
int cli_list(const struct cli *c);
int cli_dot(const struct cli *c);
/* `stau [TARGET...]`: run what is due among the targets and what they need. */
int cli_run_due(const struct cli *c);
int cli_run(const struct cli *c);
int cli_why(const struct cli *c);
/* `stau log JOB|RUN`: a run's log, followed while the run goes on. */
int cli_log(const struct cli *c);
/* `stau history [JOB]`: runs, newest first. */
int cli_history(const struct cli *c);
/* `stau show RUN`: every field of one run record and its archive's members. */
int cli_show(const struct cli *c);
/* `stau gc`: remove old archives and the logs that archives hold. */
int cli_gc(const struct cli *c);
/* `stau restore RUN`: extract a run's archived outputs. */
int cli_restore(const struct cli *c);
int cli_status(const struct cli *c);
int cli_schedule(const struct cli *c);
int cli_rerun(const struct cli *c);
/* `stau serve`: run what falls due, for ever (cli_serve.c). */
int cli_serve(const struct cli *c);
/* `stau init [DIR]`: a jobs root with an example job, and how to run stau from cron. */
int cli_init(const struct cli *c);
/* `stau db copy`: copy the run history into another state database (cli_db.c). */
int cli_db(const struct cli *c);
/* `stau db recover`: rebuild the run history from the archives' manifests (cli_recover.c). */
int cli_db_recover(const struct cli *c);

#endif
