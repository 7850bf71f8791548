/* stau.c: main: global flags, per-command help, dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "decl.h"

#define STAU_VERSION "0.1.0"

/* One command: its name, what it does, its usage and help text. */
struct command {
    const char *name;
    int (*run)(const struct cli *c);
    const char *usage;
    const char *summary;
    const char *help;
};

/* What `stau` does without a command. */
static const struct command run_due = {
    "", cli_run_due, "stau [-n] [-j N] [--fail-fast] [--force] [TARGET...]", "run whatever is due",
    "Works out which jobs are due (never run, failed, code, declaration, inputs or\n"
    "outputs changed, a dependency newer or running first, max_lag, a schedule\n"
    "tick, --force) and runs them in dependency order, -j N slots at a time.\n"
    "TARGETs (job names, globs, tag:NAME) restrict it to them and what they need.\n"
    "-n prints the plan with every reason and runs nothing. --fail-fast starts\n"
    "nothing new after a failure; otherwise a failure stops only its dependents.\n"
    "Exit status 0, 1 when a job failed, 2 on bad usage, 130 when interrupted.\n"};

static const struct command commands[] = {
    {"check", cli_check, "stau check", "validate every declaration",
     "Reads every job's declaration without running anything and checks it:\n"
     "values, types, schedules, dependencies (unknown jobs, cycles), names.\n"
     "Prints one summary line, or the errors. Exit status 0, or 2 on any error.\n"},
    {"list", cli_list, "stau list [--json]", "jobs with file, dependencies, schedule and tags",
     "One job per line: name, file, dependencies (with max_lag), schedule, tags.\n"
     "--json prints an array of objects holding every evaluated key, defaults\n"
     "included, and the local files each job's code is made of.\n"},
    {"run", cli_run, "stau run [--force] JOB...", "run these jobs now, with what they need",
     "Runs the named jobs (names, globs, tag:NAME) now, whatever their state, after\n"
     "whatever upstream of them is due; with --force, everything upstream of them\n"
     "runs again too. `stau JOB` runs JOB only when it is due.\n"},
    {"why", cli_why, "stau why [--json] JOB...", "every reason a job is due, or is not",
     "For a due job: each reason with its evidence. For one that is not: its last\n"
     "success, that its fingerprints match, its next schedule tick, and each\n"
     "dependency's age against its max_lag.\n"},
    {"log", cli_log, "stau log JOB|RUN", "the log of a job's last run, or of run RUN",
     "Prints the log of JOB's newest run, or of run number RUN (a number is a run\n"
     "unless a job has that name). While the run goes on, the log is followed until\n"
     "it ends, like `tail -f`. A log removed by `stau gc` is read from the archive.\n"},
    {"history", cli_history, "stau history [JOB] [--limit N] [--json]", "runs, newest first",
     "One line per run, newest first: run, job, attempt, status, start (local time),\n"
     "duration, and exit status or signal. JOB restricts it to one job; --limit N\n"
     "shows the N newest (default: all). --json prints an array of full run records.\n"},
    {"show", cli_show, "stau show RUN [--json]", "every field of one run record",
     "Prints run RUN's record: job, attempt, status, times, exit, host and pids, git\n"
     "commit, kwargs, work IDs, fingerprints, the reasons it ran, its log and its\n"
     "archive with the archive's members. --json prints it as one object.\n"},
    {"gc", cli_gc, "stau gc [-n] [--keep-days N] [--keep-last N]",
     "remove old run archives and logs",
     "Removes the archives of runs beyond each job's --keep-last N newest (default\n"
     "10) that also finished more than --keep-days N days ago (default: any age),\n"
     "and the logs of archived runs (each archive holds its log); the logs of runs\n"
     "without an archive go by the same rules. The archive of a job's last\n"
     "successful run is always kept. -n prints what would go.\n"},
    {"restore", cli_restore, "stau restore RUN [--to DIR]", "extract the outputs of a run",
     "Extracts the outputs archived by run RUN into DIR (default: the project root),\n"
     "replacing files of the same name. An archive with an absolute path, a '..',\n"
     "a link leading out or a path through a link is refused, and nothing written.\n"},
    {"status", cli_status, "stau status [--json] [JOB...]",
     "each job's state, last run and when it is next due",
     "One line per job: its state (due, succeeded, failed, running, never run), its\n"
     "last run with its age, and when it is next due: now (with the first reason),\n"
     "the next tick of its schedule, or when something upstream changes.\n"},
    {"schedule", cli_schedule, "stau schedule [--from TIME] [-n N] [--json]",
     "the next ticks of every schedule",
     "Prints the next N (default 5) ticks of every scheduled job after TIME\n"
     "(ISO 8601, e.g. 2026-11-27T15:00+01:00; UTC without an offset; default now),\n"
     "in the job's time zone and in UTC.\n"},
    {"rerun", cli_rerun, "stau rerun RUN", "repeat a run with its recorded arguments",
     "Runs the job of run RUN again, now, with the keyword arguments that run had\n"
     "(whatever its declaration says today); the new run records which it repeats.\n"},
    {"serve", cli_serve, "stau serve [-j N] [--grace SECONDS] [--json-log]",
     "keep running what falls due, for ever",
     "Sleeps until the next schedule tick, a change to a job file or a declared\n"
     "input, a run ending, or a signal; then runs what is due while earlier runs go\n"
     "on. Several copies may serve one project: each due job runs once, never twice\n"
     "at once. SIGTERM or SIGINT: start nothing new, let running jobs finish for\n"
     "--grace SECONDS (default 30), then stop them; a second one kills them at once.\n"
     "SIGHUP re-reads the job files now. One line per event on stderr; --json-log\n"
     "writes each as a JSON object. Exit status 0 after a clean stop.\n"},
    {"dot", cli_dot, "stau dot [--chunks] [JOB...]", "the graph in Graphviz DOT",
     "Writes the dependency graph as DOT: `stau dot | dot -Tsvg > graph.svg`.\n"
     "With JOB arguments, only those jobs and everything upstream of them.\n"
     "Edges carry max_lag; jobs whose declaration has errors are red.\n"
     "--chunks JOB...: the chunk graph of their latest invocations, a cluster per job,\n"
     "a node per chunk, an edge where a chunk needs one sharing its work IDs.\n"},
    {"db", cli_db, "stau db copy [--from DB] [--to DB]",
     "copy the run history into another state database",
     "Copies every run (ids and every field kept) and what stau remembers of files\n"
     "from the state database --from DB into --to DB in one transaction, then reads\n"
     "the copy back and compares the run count, the file count and a checksum. DB is\n"
     "a file, sqlite:PATH, or a PostgreSQL server (postgresql://USER@HOST/DB or\n"
     "'host=H dbname=D', in the schema --db-schema names). Either one left out is\n"
     "the project's own database (--db, $STAU_DB, else .stau/state.db): `stau db copy\n"
     "--to postgresql://...` moves the project's history to a server. The source must\n"
     "exist and hold runs; a destination that holds runs is refused. Logs and archives\n"
     "stay in .stau/, where the records point.\n"},
};
static const size_t command_count = sizeof(commands) / sizeof(commands[0]);

static void print_usage(FILE *out)
{
    fprintf(out, "usage: stau [-C DIR] [--jobs DIR] [-j N] [-v] COMMAND [ARGS]\n\n"
                 "stau is make for recurring Python jobs: it reads each job's STAU_CONFIG\n"
                 "without running it and works out the graph.\n\ncommands:\n");
    for (size_t i = 0; i < command_count; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\noptions:\n"
                 "  -C DIR       use DIR as the project root (default: .)\n"
                 "  --jobs DIR   jobs root below the project (default: src/ if it exists, else .)\n"
                 "  -j N         jobs to run at once (slots), and threads for reading files\n"
                 "               (default: one per CPU)\n"
                 "  --db DB      the state database: a file (default: .stau/state.db), or a\n"
                 "               PostgreSQL server as postgresql://USER@HOST/DB or\n"
                 "               'host=H dbname=D' (also $STAU_DB)\n"
                 "  --db-schema S  the schema stau keeps its tables in on a server\n"
                 "               (default: stau; also $STAU_DB_SCHEMA)\n"
                 "  --archive DIR  keep run archives in DIR, a folder every copy shares\n"
                 "               (default: .stau/archive; also $STAU_ARCHIVE)\n"
                 "  -v           say more (files read and parsed)\n"
                 "  --json       machine-readable output, where a command prints records\n"
                 "  -h, --help   this text, or a command's with `stau COMMAND --help`\n"
                 "  --version    print the version\n"
                 "  -n           with `stau`/`stau run`: print the plan, run nothing\n"
                 "  --force      with `stau`/`stau run`: run the targets whatever their state\n"
                 "  --fail-fast  start nothing new after a failure\n\n"
                 "Without a command, stau runs whatever is due: `stau [TARGET...]`.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "stau: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n  hint: see `stau --help`\n");
    return EXIT_USAGE;
}

static const struct command *find_command(const char *name)
{
    for (size_t k = 0; k < command_count; k++)
        if (strcmp(name, commands[k].name) == 0)
            return &commands[k];
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *names[sizeof(commands) / sizeof(commands[0]) + 1] = {0};
    for (size_t k = 0; k < command_count; k++)
        names[k] = commands[k].name;
    const char *suggestion = did_you_mean(name, names);
    fprintf(stderr, "stau: error: unknown command '%s'\n", name);
    if (suggestion)
        fprintf(stderr, "  hint: did you mean '%s'?\n", suggestion);
    else
        fprintf(stderr, "  hint: see `stau --help`\n");
    return EXIT_USAGE;
}

/* The value of an option: attached ("-Cdir", "--jobs=dir") or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *name, size_t name_len)
{
    const char *arg = argv[*i];
    if (arg[name_len] == '=')
        return arg + name_len + 1;
    if (arg[name_len] && name_len == 2)
        return arg + 2;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    c.project.dir = ".";
    bool help = false, grace_given = false;
    const char *db = NULL, *db_schema = NULL, *archive = NULL;
    const struct command *cmd = NULL;
    char **positional = xcalloc((size_t)argc + 1, sizeof(char *));
    size_t npositional = 0;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (!cmd && npositional == 0) {
                if ((cmd = find_command(a)))
                    continue;
                if (strcmp(a, "help") == 0) {
                    help = true;
                    continue;
                }
            }
            positional[npositional++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = true;
        } else if (strcmp(a, "--version") == 0) {
            printf("stau %s\n", STAU_VERSION);
            free(positional);
            return EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            c.json = true;
        } else if (strcmp(a, "--json-log") == 0) {
            c.json_log = true;
        } else if (strcmp(a, "--chunks") == 0) {
            c.chunks = true;
        } else if (starts_with(a, "--grace") && (a[7] == '\0' || a[7] == '=')) {
            const char *v = option_value(argc, argv, &i, "--grace", 7);
            char *end = NULL;
            double secs = v && *v ? strtod(v, &end) : -1;
            if (!v || !*v || *end || !(secs >= 0 && secs <= 86400)) {
                free(positional);
                return usage_error("--grace needs a number of seconds from 0 to 86400, not '%s'",
                                   v ? v : "");
            }
            c.grace_ms = (int64_t)(secs * 1000);
            grace_given = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            c.verbose = true;
        } else if (strcmp(a, "-n") == 0 && cmd && strcmp(cmd->name, "schedule") == 0) {
            /* For `schedule`, -n counts ticks. */
            char *end;
            long n = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || *end || n < 1 || n > 10000) {
                free(positional);
                return usage_error("-n needs a number of ticks from 1 to 10000, not '%s'",
                                   i + 1 < argc ? argv[i + 1] : "");
            }
            c.count = (size_t)n;
            i++;
        } else if (strcmp(a, "--from") == 0 || strncmp(a, "--from=", 7) == 0) {
            bool for_db = cmd && strcmp(cmd->name, "db") == 0;
            if (!(c.from = option_value(argc, argv, &i, "--from", 6)) || (for_db && !*c.from)) {
                free(positional);
                return usage_error(for_db ? "%s needs a database (a file, or postgresql://...)"
                                          : "%s needs a time",
                                   "--from");
            }
        } else if (strcmp(a, "-n") == 0 || strcmp(a, "--dry-run") == 0) {
            c.dry_run = true;
        } else if (strcmp(a, "--force") == 0) {
            c.force = true;
        } else if (strcmp(a, "--fail-fast") == 0) {
            c.fail_fast = true;
        } else if ((starts_with(a, "--keep-days") && (a[11] == '\0' || a[11] == '=')) ||
                   (starts_with(a, "--keep-last") && (a[11] == '\0' || a[11] == '=')) ||
                   (starts_with(a, "--limit") && (a[7] == '\0' || a[7] == '='))) {
            size_t len = a[2] == 'l' ? 7 : 11;
            long min = len == 7 ? 1 : 0, n = 0;
            char name[12], *end = NULL;
            snprintf(name, sizeof(name), "%.*s", (int)len, a);
            const char *v = option_value(argc, argv, &i, name, len);
            if (v && *v)
                n = strtol(v, &end, 10);
            if (!v || !*v || *end || n < min || n > 1000000) {
                char *msg = xprintf("%s needs a number from %ld to 1000000%s%s%s", name, min,
                                    v ? ", not '" : "", v ? v : "", v ? "'" : "");
                int rc = usage_error("%s", msg);
                free(msg);
                free(positional);
                return rc;
            }
            if (len == 7) {
                c.limit = n;
            } else if (a[7] == 'd') {
                c.keep_days = n;
                c.keep_days_given = true;
            } else {
                c.keep_last = n;
                c.keep_last_given = true;
            }
        } else if (starts_with(a, "--to") && (a[4] == '\0' || a[4] == '=')) {
            if (!(c.to = option_value(argc, argv, &i, "--to", 4)) || !*c.to) {
                free(positional);
                return usage_error(cmd && strcmp(cmd->name, "db") == 0
                                       ? "%s needs a database (a file, or postgresql://...)"
                                       : "%s needs a folder",
                                   "--to");
            }
        } else if (strncmp(a, "-C", 2) == 0) {
            if (!(c.project.dir = option_value(argc, argv, &i, "-C", 2))) {
                free(positional);
                return usage_error("%s needs a folder", "-C");
            }
        } else if (starts_with(a, "--archive") && (a[9] == '\0' || a[9] == '=')) {
            if (!(archive = option_value(argc, argv, &i, "--archive", 9)) || !*archive) {
                free(positional);
                return usage_error("%s needs a folder", "--archive");
            }
        } else if (starts_with(a, "--db-schema") && (a[11] == '\0' || a[11] == '=')) {
            if (!(db_schema = option_value(argc, argv, &i, "--db-schema", 11)) || !*db_schema) {
                free(positional);
                return usage_error("%s needs a schema name", "--db-schema");
            }
        } else if (starts_with(a, "--db") && (a[4] == '\0' || a[4] == '=')) {
            if (!(db = option_value(argc, argv, &i, "--db", 4)) || !*db) {
                free(positional);
                return usage_error("%s needs a database (a file, or postgresql://...)", "--db");
            }
        } else if (strncmp(a, "--jobs", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
            if (!(c.project.jobs_dir = option_value(argc, argv, &i, "--jobs", 6))) {
                free(positional);
                return usage_error("%s needs a folder", "--jobs");
            }
        } else if (strncmp(a, "-j", 2) == 0) {
            const char *v = option_value(argc, argv, &i, "-j", 2);
            char *end;
            long n = v ? strtol(v, &end, 10) : 0;
            if (!v) {
                free(positional);
                return usage_error("%s needs a number from 1 to 1024", "-j");
            }
            if (*end || n < 1 || n > 1024) {
                free(positional);
                return usage_error("-j needs a number from 1 to 1024, not '%s'", v);
            }
            c.project.threads = (int)n;
        } else {
            free(positional);
            return usage_error("unknown option '%s'", a);
        }
    }
    if (help) {
        if (!cmd && npositional && !(cmd = find_command(positional[0]))) {
            int rc = unknown_command(positional[0]);
            free(positional);
            return rc;
        }
        if (cmd)
            printf("usage: %s\n\n%s", cmd->usage, cmd->help);
        else
            print_usage(stdout);
        free(positional);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            error("cannot write the output:");
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }
    if (!cmd)
        cmd = &run_due;
    cli_set_database(db, db_schema, archive);
    if (!grace_given)
        c.grace_ms = 30000;
    const char *names[sizeof(commands) / sizeof(commands[0]) + 1] = {0};
    for (size_t k = 0; k < command_count; k++)
        names[k] = commands[k].name;
    c.commands = names;
    c.args = positional;
    c.arg_count = npositional;
    c.printer.root = c.project.dir;
    char *prefix = strcmp(c.project.dir, ".") == 0 ? xstrdup("")
                   : c.project.dir[strlen(c.project.dir) - 1] == '/'
                       ? xstrdup(c.project.dir)
                       : xprintf("%s/", c.project.dir);
    c.printer.prefix = prefix;
    c.printer.color = use_color(STDERR_FILENO);
    if ((cmd == find_command("check") || cmd == find_command("list")) && npositional) {
        fprintf(stderr, "stau: error: '%s' takes no arguments\n  hint: usage: %s\n", cmd->name,
                cmd->usage);
        free(prefix);
        free(positional);
        return EXIT_USAGE;
    }
    int rc = cmd->run(&c);
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
        error("cannot write the output:");
        rc = EXIT_USAGE;
    }
    free(prefix);
    free(positional);
    return rc;
}
