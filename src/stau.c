/* stau.c: main: the command and option tables, option parsing per command, and
 * everything generated from the tables (help, the man page, shell completion), so
 * that what stau accepts and what it documents cannot drift apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "decl.h"
#include "settings.h"

#define STAU_VERSION "0.1.0"

/* Every option, by what it means (one spelling may mean two things: `-n` is a dry
 * run for `stau` and a count for `history`; each command takes one of them). */
enum opt {
    /* Options every command takes. */
    O_DIR,
    O_JOBS_ROOT,
    O_SLOTS,
    O_DB,
    O_DB_SCHEMA,
    O_ARCHIVE,
    O_VERBOSE,
    O_HELP,
    O_VERSION,
    /* Options of some commands. */
    O_DRY_RUN,
    O_FORCE,
    O_FAIL_FAST,
    O_KEEP_GOING,
    O_JSON,
    O_NAMES,
    O_LIMIT_RUNS,
    O_COUNT_RUNS,
    O_LIMIT_TICKS,
    O_FROM_TIME,
    O_FROM_DB,
    O_TO_DIR,
    O_TO_DB,
    O_RESTORE_LIMIT,
    O_KEEP_DAYS,
    O_KEEP_LAST,
    O_GRACE,
    O_JSON_LOG,
    O_CHUNKS,
    O_KWARGS,
    O_PARAM,
    O_MAN,
    O_EXIT_CODE_STATUS,
    O_EXIT_CODE_PLAN,
    O_COUNT
};

#define BIT(o) (1ull << (o))
#define GLOBAL_OPTIONS                                                                             \
    (BIT(O_DIR) | BIT(O_JOBS_ROOT) | BIT(O_SLOTS) | BIT(O_DB) | BIT(O_DB_SCHEMA) |                 \
     BIT(O_ARCHIVE) | BIT(O_VERBOSE) | BIT(O_HELP) | BIT(O_VERSION))

/* One option: its short and long spelling (either may be absent), the name of its
 * value (NULL for a flag), and one line of help. */
struct option_def {
    enum opt id;
    char short_name;
    const char *long_name;
    const char *value;
    const char *help;
};

static const struct option_def options[] = {
    {O_DIR, 'C', NULL, "DIR", "use DIR as the project root (default: found by walking up)"},
    {O_JOBS_ROOT, 0, "jobs-root", "DIR",
     "the jobs root below the project (default: src/ if it exists, else the root)"},
    {O_SLOTS, 'j', "jobs", "N",
     "jobs to run at once, and threads for reading files (default: one per CPU)"},
    {O_DB, 0, "db", "DB",
     "the state database: a file (default: .stau/state.db), or a PostgreSQL server as "
     "postgresql://USER@HOST/DB or 'host=H dbname=D' (also $STAU_DB)"},
    {O_DB_SCHEMA, 0, "db-schema", "S",
     "the schema stau keeps its tables in on a server (default: stau; also $STAU_DB_SCHEMA)"},
    {O_ARCHIVE, 0, "archive", "DIR",
     "keep run archives in DIR, a folder every copy shares (default: .stau/archive; also "
     "$STAU_ARCHIVE)"},
    {O_VERBOSE, 'v', "verbose", NULL, "say more (files read and parsed)"},
    {O_HELP, 'h', "help", NULL, "this text; `stau COMMAND --help` for a command's"},
    {O_VERSION, 'V', "version", NULL, "print the version"},
    {O_DRY_RUN, 'n', "dry-run", NULL, "print the plan with every reason, run nothing"},
    {O_FORCE, 0, "force", NULL, "run the targets whatever their state"},
    {O_FAIL_FAST, 0, "fail-fast", NULL, "start nothing new after a failure"},
    {O_KEEP_GOING, 'k', "keep-going", NULL,
     "after a failure, go on with what does not depend on it (the default)"},
    {O_LIMIT_RUNS, 0, "limit", "N", "show the N newest runs (default: all)"},
    {O_COUNT_RUNS, 'n', NULL, "N", "the same as --limit N"},
    {O_LIMIT_TICKS, 0, "limit", "N", "the next N ticks of each job (default: 5)"},
    {O_FROM_TIME, 0, "from", "TIME",
     "ticks after TIME (ISO 8601, e.g. 2026-11-27T15:00+01:00; UTC without an offset; "
     "default: now)"},
    {O_FROM_DB, 0, "from", "DB", "the database to copy (default: the project's)"},
    {O_TO_DIR, 0, "to", "DIR", "extract into DIR (default: the project root)"},
    {O_TO_DB, 0, "to", "DB", "the database to copy into (default: the project's)"},
    {O_RESTORE_LIMIT, 0, "limit", "SIZE",
     "refuse an archive whose files hold more than SIZE (default: 1G; 0: no limit; also "
     "$STAU_RESTORE_LIMIT)"},
    {O_KEEP_DAYS, 0, "keep-days", "N", "keep what finished less than N days ago"},
    {O_KEEP_LAST, 0, "keep-last", "N", "keep each job's N newest archives (default: 10)"},
    {O_GRACE, 0, "grace", "SECONDS",
     "on SIGTERM or SIGINT, let running jobs finish this long (default: 30)"},
    {O_JSON_LOG, 0, "json-log", NULL, "write each event as a JSON object"},
    {O_CHUNKS, 0, "chunks", NULL, "the chunk graph of the jobs' latest invocations"},
    {O_KWARGS, 0, "kwargs", "JSON",
     "run the job with these keyword arguments (a JSON object) over its declared ones"},
    {O_PARAM, 'p', "param", "KEY=VALUE",
     "run the job with KEY set to VALUE over its declared kwargs (VALUE is JSON if it "
     "parses as JSON, else a string); may be repeated"},
    {O_JSON, 0, "json", NULL, "machine-readable output"},
    {O_NAMES, 0, "names", NULL, "only the job names, one per line"},
    {O_MAN, 0, "man", NULL, "print the manual page (roff)"},
    {O_EXIT_CODE_STATUS, 0, "exit-code", NULL,
     "exit status 1 when a job is failed or due (for monitoring)"},
    {O_EXIT_CODE_PLAN, 0, "exit-code", NULL,
     "with -n: exit status 1 when something would run (as `make -q`)"},
};
static const size_t option_count = sizeof(options) / sizeof(options[0]);

/* One command: its name, what runs it, the options it takes besides the global
 * ones, its arguments (for the usage line), what it does in a line and in full. */
struct command {
    const char *name;
    int (*run)(const struct cli *c);
    unsigned long long takes;
    const char *args;
    const char *summary;
    const char *help;
};

static int cli_help(const struct cli *c);

/* What `stau` does without a command. */
static const struct command run_due = {
    "",
    cli_run_due,
    BIT(O_DRY_RUN) | BIT(O_FORCE) | BIT(O_FAIL_FAST) | BIT(O_KEEP_GOING) | BIT(O_EXIT_CODE_PLAN),
    "[TARGET...]",
    "run whatever is due",
    "Works out which jobs are due (never run, failed, code, declaration, inputs or\n"
    "outputs changed, a dependency newer or running first, max_lag, a schedule\n"
    "tick, --force) and runs them in dependency order, -j N slots at a time.\n"
    "TARGETs (job names, globs, tag:NAME) restrict it to them and what they need.\n"
    "-n prints the plan with every reason and runs nothing. --fail-fast starts\n"
    "nothing new after a failure; otherwise a failure stops only its dependents.\n"
    "Exit status 0, 1 when a job failed, 2 on bad usage, 130 when interrupted;\n"
    "with -n --exit-code, 1 when something would run.\n"};

static const struct command commands[] = {
    {"check", cli_check, 0, "", "validate every declaration",
     "Reads every job's declaration without running anything and checks it:\n"
     "values, types, schedules, dependencies (unknown jobs, cycles), names.\n"
     "Prints one summary line, or the errors. Exit status 0, or 2 on any error.\n"},
    {"list", cli_list, BIT(O_JSON) | BIT(O_NAMES), "",
     "jobs with file, dependencies, schedule and tags",
     "One job per line: name, file, dependencies (with max_lag), schedule, tags.\n"
     "--json prints an array of objects holding every evaluated key, defaults\n"
     "included, and the local files each job's code is made of.\n"},
    {"run", cli_run,
     BIT(O_DRY_RUN) | BIT(O_FORCE) | BIT(O_FAIL_FAST) | BIT(O_KEEP_GOING) | BIT(O_KWARGS) |
         BIT(O_PARAM),
     "JOB...", "run these jobs now, with what they need",
     "Runs the named jobs (names, globs, tag:NAME) now, whatever their state, after\n"
     "whatever upstream of them is due; with --force, everything upstream of them\n"
     "runs again too. `stau JOB` runs JOB only when it is due.\n"
     "--kwargs JSON and -p KEY=VALUE run one job with other keyword arguments, merged\n"
     "over its declared ones in the order given (what it needs runs with its own);\n"
     "the run records them, `stau show` and `stau why` say they were given on the\n"
     "command line, and `stau rerun` repeats them.\n"},
    {"why", cli_why, BIT(O_JSON), "JOB...", "every reason a job is due, or is not",
     "For a due job: each reason with its evidence. For one that is not: its last\n"
     "success, that its fingerprints match, its next schedule tick, and each\n"
     "dependency's age against its max_lag.\n"},
    {"log", cli_log, 0, "[JOB|RUN]",
     "the log of a job's last run, of run RUN, or of the last failure",
     "Prints the log of JOB's newest run that has one, or of run number RUN (a number\n"
     "is a run unless a job has that name); when a newer run of JOB has no log\n"
     "(skipped, queued), stderr says so: `stau: run 19; run 31 was skipped`. Without\n"
     "an argument, the log of the last run that did not succeed (failed, timed out,\n"
     "interrupted, lost), named on stderr. While the run goes on, the log is followed\n"
     "until it ends, like `tail -f`. A log removed by `stau gc` is read from the\n"
     "archive.\n"},
    {"history", cli_history, BIT(O_LIMIT_RUNS) | BIT(O_COUNT_RUNS) | BIT(O_JSON), "[JOB]",
     "runs, newest first",
     "One line per run, newest first: run, job, attempt, status, start (local time),\n"
     "duration, and exit status or signal. JOB restricts it to one job; --limit N\n"
     "(or -n N) shows the N newest. --json prints an array of full run records.\n"},
    {"show", cli_show, BIT(O_JSON), "RUN", "every field of one run record",
     "Prints run RUN's record: job, attempt, status, times, exit, host and pids, git\n"
     "commit, kwargs, work IDs, fingerprints, the reasons it ran, its log and its\n"
     "archive with the archive's members. --json prints it as one object.\n"},
    {"gc", cli_gc, BIT(O_DRY_RUN) | BIT(O_KEEP_DAYS) | BIT(O_KEEP_LAST), "",
     "remove old run archives and logs",
     "Removes the archives of runs beyond each job's --keep-last N newest (default\n"
     "10) that also finished more than --keep-days N days ago (default: any age),\n"
     "and the logs of archived runs (each archive holds its log); the logs of runs\n"
     "without an archive go by the same rules. The archive of a job's last\n"
     "successful run is always kept. -n prints what would go.\n"},
    {"restore", cli_restore, BIT(O_TO_DIR) | BIT(O_RESTORE_LIMIT), "RUN",
     "extract the outputs of a run",
     "Extracts the outputs archived by run RUN into DIR (default: the project root),\n"
     "replacing files of the same name. An archive with an absolute path, a '..',\n"
     "a link leading out or a path through a link is refused, and nothing written;\n"
     "so is one whose files hold more than --limit SIZE (default 1G). Everything\n"
     "is extracted into a folder inside DIR first and then moved into place: a\n"
     "restore that fails or is killed leaves DIR as it was.\n"},
    {"status", cli_status, BIT(O_JSON) | BIT(O_EXIT_CODE_STATUS), "[JOB...]",
     "each job's state, last run and when it is next due",
     "One line per job: its state, its last run with its age, and when it is next\n"
     "due: now (with the first reason), the next tick of its schedule, or when\n"
     "something upstream changes. The state is failed (its last run failed or timed\n"
     "out), running (with its time so far and run), due (it would run now), ok (its\n"
     "last success stands), or waiting (not due, with no success to stand on, or a\n"
     "run of it queued); in colour on a terminal. --exit-code: exit status 1 when a\n"
     "job is failed or due.\n"},
    {"schedule", cli_schedule, BIT(O_FROM_TIME) | BIT(O_LIMIT_TICKS) | BIT(O_JSON), "",
     "the next ticks of every schedule",
     "Prints the next N (default 5) ticks of every scheduled job after TIME\n"
     "(default now), in the job's time zone and in UTC.\n"},
    {"rerun", cli_rerun, 0, "RUN", "repeat a run with its recorded arguments",
     "Runs the job of run RUN again, now, with the keyword arguments that run had\n"
     "(whatever its declaration says today); the new run records which it repeats.\n"},
    {"serve", cli_serve, BIT(O_GRACE) | BIT(O_JSON_LOG), "",
     "keep running what falls due, for ever",
     "Sleeps until the next schedule tick, a change to a job file or a declared\n"
     "input, a run ending, or a signal; then runs what is due while earlier runs go\n"
     "on. Several copies may serve one project: each due job runs once, never twice\n"
     "at once. SIGTERM or SIGINT: start nothing new, let running jobs finish for\n"
     "--grace SECONDS (default 30), then stop them; a second one kills them at once.\n"
     "SIGHUP re-reads the job files now. One line per event on stderr; --json-log\n"
     "writes each as a JSON object. Exit status 0 after a clean stop.\n"},
    {"dot", cli_dot, BIT(O_CHUNKS), "[JOB...]", "the graph in Graphviz DOT",
     "Writes the dependency graph as DOT: `stau dot | dot -Tsvg > graph.svg`.\n"
     "With JOB arguments, only those jobs and everything upstream of them.\n"
     "Edges carry max_lag; jobs whose declaration has errors are red.\n"
     "--chunks JOB...: the chunk graph of their latest invocations, a cluster per job,\n"
     "a node per chunk, an edge where a chunk needs one sharing its work IDs.\n"},
    {"db", cli_db, BIT(O_FROM_DB) | BIT(O_TO_DB), "copy|recover",
     "copy the run history into another state database, or rebuild it from the archives",
     "Copies every run (ids and every field kept) and what stau remembers of files\n"
     "from the state database --from DB into --to DB in one transaction, then reads\n"
     "the copy back and compares the run count, the file count and a checksum. DB is\n"
     "a file, sqlite:PATH, or a PostgreSQL server (postgresql://USER@HOST/DB or\n"
     "'host=H dbname=D', in the schema --db-schema names). Either one left out is\n"
     "the project's own database (--db, $STAU_DB, else .stau/state.db): `stau db copy\n"
     "--to postgresql://...` moves the project's history to a server. The source must\n"
     "exist and hold runs; a destination that holds runs is refused. Logs and archives\n"
     "stay in .stau/, where the records point.\n"
     "\n"
     "recover: rebuilds the run history of a state database that was lost (removed or\n"
     "emptied) from the manifest every archive holds: each archived run not recorded\n"
     "goes in with its id and record. A database without runs while archives exist is\n"
     "said on every command, and numbers new runs past the archived ids, so recovering\n"
     "later still works. An unreadable archive is said, and the exit status is 1.\n"},
    {"init", cli_init, 0, "[DIR]", "start a project: a jobs root with an example job",
     "Creates src/hello.py, an example job, and a [tool.stau] table in pyproject.toml\n"
     "(added to one that exists), in DIR (default: the current folder), then prints\n"
     "what to run next and the crontab line and systemd timer that run stau every\n"
     "minute. Nothing is written over: an existing src/hello.py is an error.\n"},
    {"completion", NULL, 0, "bash|zsh", "print a shell completion script",
     "Prints the completion script for bash or zsh: commands, their options and job\n"
     "names. Load it with `eval \"$(stau completion bash)\"` in ~/.bashrc, or\n"
     "`stau completion zsh > ~/.zfunc/_stau` with ~/.zfunc on $fpath.\n"},
    {"help", cli_help, BIT(O_MAN), "[COMMAND]", "a command's help, or the manual page",
     "Prints the help of COMMAND (the same as `stau COMMAND --help`), or stau's.\n"
     "--man prints the manual page as roff: `stau help --man | man -l -`.\n"},
};
static const size_t command_count = sizeof(commands) / sizeof(commands[0]);

/* Spellings that meant something else once, and what to say instead. */
static const struct {
    const char *command, *spelling, *hint;
} renamed[] = {
    {"schedule", "-n", "the number of ticks is --limit N"},
};

static const struct command *find_command(const char *name)
{
    for (size_t k = 0; k < command_count; k++)
        if (strcmp(name, commands[k].name) == 0)
            return &commands[k];
    return NULL;
}

static const char *command_label(const struct command *cmd)
{
    return cmd->name[0] ? cmd->name : "stau";
}

/* "stau NAME ARGS [-o V]...", from the tables (newly allocated); `stau` itself
 * puts its targets last. */
static char *usage_line(const struct command *cmd)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "stau%s%s", cmd->name[0] ? " " : "", cmd->name);
    if (cmd->name[0] && cmd->args[0])
        strbuf_addf(&sb, " %s", cmd->args);
    for (size_t i = 0; i < option_count; i++) {
        const struct option_def *o = &options[i];
        if (!(cmd->takes & BIT(o->id)) || o->id == O_COUNT_RUNS)
            continue;
        if (o->short_name)
            strbuf_addf(&sb, " [-%c%s%s]", o->short_name, o->value ? " " : "",
                        o->value ? o->value : "");
        else
            strbuf_addf(&sb, " [--%s%s%s]", o->long_name, o->value ? " " : "",
                        o->value ? o->value : "");
    }
    if (!cmd->name[0] && cmd->args[0])
        strbuf_addf(&sb, " %s", cmd->args);
    return strbuf_detach(&sb);
}

/* "-n, --dry-run" or "--limit N": how help lists an option. */
static char *spelling(const struct option_def *o)
{
    struct strbuf sb = STRBUF_INIT;
    if (o->short_name)
        strbuf_addf(&sb, "-%c", o->short_name);
    if (o->short_name && o->long_name)
        strbuf_add(&sb, ", ", 2);
    if (o->long_name)
        strbuf_addf(&sb, "--%s", o->long_name);
    if (o->value)
        strbuf_addf(&sb, " %s", o->value);
    return strbuf_detach(&sb);
}

/* Options in two columns, the help wrapped at 79 columns. */
static void print_options(FILE *out, unsigned long long which)
{
    enum { indent = 21, width = 79 };
    for (size_t i = 0; i < option_count; i++) {
        if (!(which & BIT(options[i].id)))
            continue;
        char *s = spelling(&options[i]);
        fprintf(out, "  %-18s", s);
        free(s);
        size_t col = indent - 1;
        for (const char *w = options[i].help; *w;) {
            size_t len = strcspn(w, " ");
            if (col + 1 + len > width && col > indent - 1) {
                fprintf(out, "\n%*s", indent - 1, "");
                col = indent - 1;
            }
            fprintf(out, " %.*s", (int)len, w);
            col += 1 + len;
            w += len;
            w += strspn(w, " ");
        }
        fputc('\n', out);
    }
}

static void print_command_help(FILE *out, const struct command *cmd)
{
    char *usage = usage_line(cmd);
    fprintf(out, "usage: %s\n\n%s", usage, cmd->help);
    free(usage);
    if (cmd->takes) {
        fprintf(out, "\noptions:\n");
        print_options(out, cmd->takes);
    }
    fprintf(out, "\nThe options every command takes: see `stau --help`.\n");
}

static void print_usage(FILE *out)
{
    fprintf(out, "usage: stau [OPTIONS] [COMMAND] [ARGS]\n\n"
                 "stau is make for recurring Python jobs: it reads each job's STAU_CONFIG\n"
                 "without running it and works out the graph.\n\ncommands:\n");
    for (size_t i = 0; i < command_count; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\noptions every command takes:\n");
    print_options(out, GLOBAL_OPTIONS);
    fprintf(out, "\nWithout a command, stau runs whatever is due: `stau [TARGET...]`, with\n");
    print_options(out, run_due.takes);
    fprintf(out, "\nSee `stau COMMAND --help` for a command's options.\n");
}

/* roff text: a leading '.' or '\'' and every backslash escaped. */
static void roff(FILE *out, const char *text)
{
    bool line_start = true;
    for (const char *p = text; *p; p++) {
        if (line_start && (*p == '.' || *p == '\''))
            fputs("\\&", out);
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-')
            fputs("\\-", out);
        else
            fputc(*p, out);
        line_start = *p == '\n';
    }
}

static void man_options(FILE *out, unsigned long long which)
{
    for (size_t i = 0; i < option_count; i++) {
        if (!(which & BIT(options[i].id)))
            continue;
        char *s = spelling(&options[i]);
        fputs(".TP\n.B ", out);
        roff(out, s);
        fputs("\n", out);
        roff(out, options[i].help);
        fputs("\n", out);
        free(s);
    }
}

static void print_man(FILE *out)
{
    fputs(".TH STAU 1 \"\" \"stau " STAU_VERSION "\" \"User Commands\"\n"
          ".SH NAME\nstau \\- make for recurring Python jobs\n"
          ".SH SYNOPSIS\n.B stau\n[\\fIOPTIONS\\fR] [\\fICOMMAND\\fR] [\\fIARGS\\fR]\n"
          ".SH DESCRIPTION\nstau reads each job's STAU_CONFIG without running it, works out "
          "the dependency graph, and runs what is due, explaining every decision.\n"
          "Without a command it runs whatever is due.\n"
          ".SH OPTIONS\nEvery command takes these:\n",
          out);
    man_options(out, GLOBAL_OPTIONS);
    fputs(".SH COMMANDS\n", out);
    const struct command *all[sizeof(commands) / sizeof(commands[0]) + 1];
    all[0] = &run_due;
    for (size_t i = 0; i < command_count; i++)
        all[i + 1] = &commands[i];
    for (size_t i = 0; i <= command_count; i++) {
        char *usage = usage_line(all[i]);
        fputs(".SS ", out);
        roff(out, usage);
        fputs("\n", out);
        free(usage);
        roff(out, all[i]->help);
        if (all[i]->takes) {
            fputs(".RS\n", out);
            man_options(out, all[i]->takes);
            fputs(".RE\n", out);
        }
    }
    fputs(".SH EXIT STATUS\n0 when everything went well, 1 when a job failed, 2 on bad usage "
          "or invalid declarations (\\fBstau check\\fR), 130 when interrupted.\n"
          ".SH ENVIRONMENT\n.TP\n.B STAU_DB\nthe state database, as \\fB\\-\\-db\\fR\n"
          ".TP\n.B STAU_DB_SCHEMA\nthe schema on a server, as \\fB\\-\\-db\\-schema\\fR\n"
          ".TP\n.B STAU_ARCHIVE\nthe archive folder, as \\fB\\-\\-archive\\fR\n"
          ".SH FILES\n.TP\n.I .stau/\nthe project's state: state.db, logs, archives and "
          "the graph cache\n",
          out);
}

/* Every spelling of the options in `which`, space-separated (for completion). */
static void completion_words(FILE *out, unsigned long long which)
{
    for (size_t i = 0; i < option_count; i++) {
        const struct option_def *o = &options[i];
        if (!(which & BIT(o->id)))
            continue;
        if (o->short_name)
            fprintf(out, " -%c", o->short_name);
        if (o->long_name)
            fprintf(out, " --%s", o->long_name);
    }
}

/* The spellings other than -C that take a value, as a case pattern ("-j|--jobs|..."),
 * each once. */
static void completion_value_options(FILE *out)
{
    bool first = true;
    for (size_t i = 0; i < option_count; i++) {
        const struct option_def *o = &options[i];
        if (!o->value || o->id == O_COUNT_RUNS || o->id == O_DIR)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen |= options[k].value && o->long_name && options[k].long_name &&
                    strcmp(options[k].long_name, o->long_name) == 0;
        if (o->short_name)
            fprintf(out, "%s-%c", first ? "" : "|", o->short_name), first = false;
        if (o->long_name && !seen)
            fprintf(out, "%s--%s", first ? "" : "|", o->long_name), first = false;
    }
}

/* The case arms setting opts to each command's options, in a shell's syntax. */
static void completion_command_options(FILE *out, const char *open, const char *assign,
                                       const char *close)
{
    for (size_t i = 0; i <= command_count; i++) {
        const struct command *cmd = i < command_count ? &commands[i] : &run_due;
        fprintf(out, "        %s%s) opts=%s", open, i < command_count ? cmd->name : "*", assign);
        completion_words(out, cmd->takes | GLOBAL_OPTIONS);
        fprintf(out, "%s ;;\n", close);
    }
}

static void print_bash_completion(FILE *out)
{
    fputs("# bash completion for stau (generated by `stau completion bash`)\n"
          "_stau() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local cmd= dir=. i opts words\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case ${COMP_WORDS[i]} in\n"
          "            -C) dir=${COMP_WORDS[i+1]}; ((i++)) ;;\n"
          "            ",
          out);
    completion_value_options(out);
    fputs(
        ") ((i++)) ;;\n"
        "            -*) ;;\n"
        "            *) cmd=${COMP_WORDS[i]}; break ;;\n"
        "        esac\n"
        "    done\n"
        "    case $prev in\n"
        "        -C|--jobs-root|--archive|--to) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
        "    esac\n"
        "    case $cmd in\n",
        out);
    completion_command_options(out, "", "\"", "\"");
    fputs("    esac\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    case $cmd in\n"
          "        completion) words=\"bash zsh\" ;;\n"
          "        help) words=\"",
          out);
    for (size_t i = 0; i < command_count; i++)
        fprintf(out, "%s%s", i ? " " : "", commands[i].name);
    fputs("\" ;;\n"
          "        check|list|gc|schedule|serve|db|show|restore|rerun) words= ;;\n"
          "        '') words=\"",
          out);
    for (size_t i = 0; i < command_count; i++)
        fprintf(out, "%s ", commands[i].name);
    fputs("$(stau -C \"$dir\" list --names 2>/dev/null)\" ;;\n"
          "        *) words=$(stau -C \"$dir\" list --names 2>/dev/null) ;;\n"
          "    esac\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "}\n"
          "complete -F _stau stau\n",
          out);
}

static void print_zsh_completion(FILE *out)
{
    fputs("#compdef stau\n"
          "# zsh completion for stau (generated by `stau completion zsh`)\n"
          "_stau() {\n"
          "    local cmd= dir=. i\n"
          "    local -a opts cmds\n"
          "    cmds=(\n",
          out);
    for (size_t i = 0; i < command_count; i++) {
        fprintf(out, "        '%s:", commands[i].name);
        for (const char *p = commands[i].summary; *p; p++)
            fputs(*p == '\'' ? "'\\''" : (char[2]){*p, 0}, out);
        fputs("'\n", out);
    }
    fputs("    )\n"
          "    for ((i = 2; i < CURRENT; i++)); do\n"
          "        case ${words[i]} in\n"
          "            (-C) dir=${words[i+1]}; ((i++)) ;;\n"
          "            (",
          out);
    completion_value_options(out);
    fputs(") ((i++)) ;;\n"
          "            (-*) ;;\n"
          "            (*) cmd=${words[i]}; break ;;\n"
          "        esac\n"
          "    done\n"
          "    case $cmd in\n",
          out);
    completion_command_options(out, "(", "(", ")");
    fputs("    esac\n"
          "    if [[ ${words[CURRENT]} == -* ]]; then\n"
          "        compadd -- $opts\n"
          "        return\n"
          "    fi\n"
          "    case $cmd in\n"
          "        (completion) compadd bash zsh ;;\n"
          "        (help) _describe command cmds ;;\n"
          "        (check|list|gc|schedule|serve|db|show|restore|rerun) ;;\n"
          "        ('') _describe command cmds\n"
          "            compadd -- ${(f)\"$(stau -C $dir list --names 2>/dev/null)\"} ;;\n"
          "        (*) compadd -- ${(f)\"$(stau -C $dir list --names 2>/dev/null)\"} ;;\n"
          "    esac\n"
          "}\n"
          "_stau \"$@\"\n",
          out);
}

/* The command being parsed, whose help a usage error points to. */
static const struct command *parsed_command;

static int usage_error(const char *fmt, const char *arg)
{
    const char *name = parsed_command ? parsed_command->name : "";
    fprintf(stderr, "stau: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n  hint: see 'stau%s%s --help'\n", name[0] ? " " : "", name);
    return EXIT_USAGE;
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
        fprintf(stderr, "  hint: see 'stau --help'\n");
    return EXIT_USAGE;
}

/* The option spelt `name` (a long name, or one short letter when short != 0)
 * among those in `which`; NULL when none. */
static const struct option_def *lookup(const char *name, size_t len, char short_name,
                                       unsigned long long which)
{
    for (size_t i = 0; i < option_count; i++) {
        const struct option_def *o = &options[i];
        if (!(which & BIT(o->id)))
            continue;
        if (short_name ? o->short_name == short_name
                       : o->long_name && strlen(o->long_name) == len &&
                             strncmp(o->long_name, name, len) == 0)
            return o;
    }
    return NULL;
}

/* The parse of one command line. */
struct parse {
    struct cli *c;
    const struct command *cmd;
    bool help, grace_given, man;
    const char *db, *db_schema, *archive;
};

static int not_taken(const struct command *cmd, const char *shown)
{
    for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
        if (strcmp(renamed[i].command, cmd->name) == 0 && strcmp(renamed[i].spelling, shown) == 0) {
            fprintf(stderr,
                    "stau: error: '%s' does not take %s: %s\n  hint: see 'stau %s --help'\n",
                    command_label(cmd), shown, renamed[i].hint, cmd->name);
            return EXIT_USAGE;
        }
    fprintf(stderr, "stau: error: '%s' does not take %s\n  hint: see 'stau%s%s --help'\n",
            command_label(cmd), shown, cmd->name[0] ? " " : "", cmd->name);
    return EXIT_USAGE;
}

static int unknown_option(const struct command *cmd, const char *shown)
{
    const char *names[sizeof(options) / sizeof(options[0]) + 1] = {0};
    char *spelt[sizeof(options) / sizeof(options[0])] = {0};
    size_t n = 0;
    for (size_t i = 0; i < option_count; i++)
        if (options[i].long_name && ((cmd->takes | GLOBAL_OPTIONS) & BIT(options[i].id)))
            names[n] = spelt[n] = xprintf("--%s", options[i].long_name), n++;
    const char *suggestion = shown[1] == '-' ? did_you_mean(shown, names) : NULL;
    fprintf(stderr, "stau: error: unknown option '%s'\n", shown);
    if (suggestion)
        fprintf(stderr, "  hint: did you mean '%s'?\n", suggestion);
    fprintf(stderr, "  hint: see 'stau%s%s --help'\n", cmd->name[0] ? " " : "", cmd->name);
    for (size_t i = 0; i < n; i++)
        free(spelt[i]);
    return EXIT_USAGE;
}

/* A number from min to max in v, else -1 after the message "SHOWN needs a number ...". */
static int number(const char *shown, const char *v, long min, long max, long *out)
{
    char *end = NULL;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    if (v && *v && !*end && n >= min && n <= max) {
        *out = n;
        return 0;
    }
    char *msg = xprintf("%s needs a number from %ld to %ld%s%s%s", shown, min, max,
                        v ? ", not '" : "", v ? v : "", v ? "'" : "");
    usage_error("%s", msg);
    free(msg);
    return -1;
}

/* Merge --kwargs JSON or -p KEY=VALUE (as shown) over the kwargs given before it;
 * 0, or EXIT_USAGE after a message. */
static int given_kwargs(struct cli *c, const char *shown, const char *v)
{
    bool param = strcmp(shown, "--kwargs") != 0;
    struct strbuf over = STRBUF_INIT, merged = STRBUF_INIT;
    int rc = 0;
    if (!v || !*v) {
        rc = usage_error(param ? "%s needs KEY=VALUE" : "%s needs a JSON object", shown);
    } else if (!param) {
        if (!json_valid(v, 0)) {
            char *msg = xprintf("--kwargs needs a JSON object, and '%s' is not valid JSON", v);
            rc = usage_error("%s", msg);
            free(msg);
        } else if (!json_valid(v, '{')) {
            char *msg =
                xprintf("--kwargs needs a JSON object ({\"KEY\": VALUE, ...}), not '%s'", v);
            rc = usage_error("%s", msg);
            free(msg);
        } else {
            strbuf_addstr(&over, v);
        }
    } else {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v) {
            char *msg = xprintf("%s needs KEY=VALUE, not '%s'", shown, v);
            rc = usage_error("%s", msg);
            free(msg);
        } else {
            /* VALUE as JSON when it is JSON (1, true, [1, 2], "x"), else as a string. */
            strbuf_addch(&over, '{');
            json_quote(&over, v, (size_t)(eq - v));
            strbuf_addch(&over, ':');
            if (json_valid(eq + 1, 0))
                strbuf_addstr(&over, eq + 1);
            else
                json_quote(&over, eq + 1, strlen(eq + 1));
            strbuf_addch(&over, '}');
        }
    }
    if (rc == 0 && json_object_merge(c->kwargs, over.buf, &merged) == 0) {
        free(c->kwargs);
        c->kwargs = strbuf_detach(&merged);
    }
    strbuf_release(&over);
    strbuf_release(&merged);
    return rc;
}

/* Take option o with value v (NULL for a flag, or when the value is missing);
 * 0, or EXIT_USAGE after a message. */
static int apply(struct parse *ps, const struct option_def *o, const char *shown, const char *v)
{
    struct cli *c = ps->c;
    long n = 0;
    bool missing = o->value && (!v || !*v);
    switch (o->id) {
    case O_DIR:
        if (missing)
            return usage_error("%s needs a folder", shown);
        c->project.dir = v;
        c->dir_given = true;
        return 0;
    case O_JOBS_ROOT:
        if (missing)
            return usage_error("%s needs a folder", shown);
        c->project.jobs_dir = v;
        return 0;
    case O_SLOTS: {
        char *end = NULL;
        long slots = missing ? 0 : strtol(v, &end, 10);
        if (!missing && *end && strcmp(shown, "--jobs") == 0) {
            fprintf(stderr,
                    "stau: error: --jobs is the number of jobs to run at once, not '%s'\n"
                    "  hint: the jobs root is named with --jobs-root %s\n",
                    v, v);
            return EXIT_USAGE;
        }
        if (missing || *end || slots < 1 || slots > 1024) {
            char *msg = xprintf("%s needs a number from 1 to 1024%s%s%s", shown, v ? ", not '" : "",
                                v ? v : "", v ? "'" : "");
            usage_error("%s", msg);
            free(msg);
            return EXIT_USAGE;
        }
        c->project.threads = (int)slots;
        return 0;
    }
    case O_DB:
        if (missing)
            return usage_error("%s needs a database (a file, or postgresql://...)", shown);
        ps->db = v;
        return 0;
    case O_DB_SCHEMA:
        if (missing)
            return usage_error("%s needs a schema name", shown);
        ps->db_schema = v;
        return 0;
    case O_ARCHIVE:
        if (missing)
            return usage_error("%s needs a folder", shown);
        ps->archive = v;
        return 0;
    case O_VERBOSE:
        c->verbose = true;
        return 0;
    case O_HELP:
        ps->help = true;
        return 0;
    case O_VERSION:
        return 0; /* handled before anything else */
    case O_DRY_RUN:
        c->dry_run = true;
        return 0;
    case O_FORCE:
        c->force = true;
        return 0;
    case O_FAIL_FAST:
        c->fail_fast = true;
        return 0;
    case O_KEEP_GOING:
        c->fail_fast = false;
        return 0;
    case O_JSON:
        c->json = true;
        return 0;
    case O_NAMES:
        c->names = true;
        return 0;
    case O_LIMIT_RUNS:
    case O_COUNT_RUNS:
        if (number(shown, v, 1, 1000000, &n) < 0)
            return EXIT_USAGE;
        c->limit = n;
        return 0;
    case O_LIMIT_TICKS:
        if (number(shown, v, 1, 10000, &n) < 0)
            return EXIT_USAGE;
        c->count = (size_t)n;
        return 0;
    case O_FROM_TIME:
        if (missing)
            return usage_error("%s needs a time", shown);
        c->from = v;
        return 0;
    case O_FROM_DB:
    case O_TO_DB:
        if (missing)
            return usage_error("%s needs a database (a file, or postgresql://...)", shown);
        *(o->id == O_FROM_DB ? &c->from : &c->to) = v;
        return 0;
    case O_TO_DIR:
        if (missing)
            return usage_error("%s needs a folder", shown);
        c->to = v;
        return 0;
    case O_RESTORE_LIMIT: {
        uint64_t size;
        if (missing || parse_size(v, &size) < 0)
            return usage_error("--limit needs a size such as 500M or 4G (0: no limit), not '%s'",
                               v ? v : "");
        c->restore_limit = v;
        return 0;
    }
    case O_KEEP_DAYS:
    case O_KEEP_LAST:
        if (number(shown, v, 0, 1000000, &n) < 0)
            return EXIT_USAGE;
        if (o->id == O_KEEP_DAYS)
            c->keep_days = n, c->keep_days_given = true;
        else
            c->keep_last = n, c->keep_last_given = true;
        return 0;
    case O_GRACE: {
        char *end = NULL;
        double secs = missing ? -1 : strtod(v, &end);
        if (missing || *end || !(secs >= 0 && secs <= 86400))
            return usage_error("--grace needs a number of seconds from 0 to 86400, not '%s'",
                               v ? v : "");
        c->grace_ms = (int64_t)(secs * 1000);
        ps->grace_given = true;
        return 0;
    }
    case O_JSON_LOG:
        c->json_log = true;
        return 0;
    case O_CHUNKS:
        c->chunks = true;
        return 0;
    case O_KWARGS:
    case O_PARAM:
        return given_kwargs(c, shown, v);
    case O_EXIT_CODE_STATUS:
    case O_EXIT_CODE_PLAN:
        c->exit_code = true;
        return 0;
    case O_MAN:
        ps->man = true;
        return 0;
    case O_COUNT:
        break;
    }
    return usage_error("unknown option '%s'", shown);
}

/* Whether option argv[i] takes the next argument as its value, judged without
 * knowing the command (to find the command): a flag wherever a spelling is both. */
static bool consumes_next(const char *a)
{
    if (a[1] == '-') {
        const char *eq = strchr(a + 2, '=');
        if (eq)
            return false;
        const struct option_def *o = lookup(a + 2, strlen(a + 2), 0, ~0ull);
        return o && o->value;
    }
    for (const char *p = a + 1; *p; p++) {
        bool flag = false, value = false;
        for (size_t i = 0; i < option_count; i++)
            if (options[i].short_name == *p)
                *(options[i].value ? &value : &flag) = true;
        if (flag)
            continue;
        return value && !p[1];
    }
    return false;
}

/* The index of the command word in argv, or 0 when there is none. */
static int find_command_word(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1 < argc && find_command(argv[i + 1]) ? i + 1 : 0;
        if (a[0] != '-' || strcmp(a, "-") == 0)
            return find_command(a) ? i : 0;
        if (consumes_next(a))
            i++;
    }
    return 0;
}

/* One option argument (argv[*i], starting with '-'); 0, or EXIT_USAGE after a message. */
static int parse_option(struct parse *ps, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    unsigned long long takes = ps->cmd->takes | GLOBAL_OPTIONS;
    if (a[1] == '-') {
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        char *shown = xprintf("--%.*s", (int)len, name);
        const struct option_def *o = lookup(name, len, 0, takes);
        int rc = 0;
        if (!o)
            rc = lookup(name, len, 0, ~0ull) ? not_taken(ps->cmd, shown)
                                             : unknown_option(ps->cmd, shown);
        else if (!o->value && eq)
            rc = usage_error("%s takes no value", shown);
        else if (o->value && !eq && *i + 1 >= argc)
            rc = apply(ps, o, shown, NULL);
        else
            rc = apply(ps, o, shown, !o->value ? NULL : eq ? eq + 1 : argv[++*i]);
        free(shown);
        return rc;
    }
    /* Short options, combined as -vn or with a value attached as -j4. */
    for (const char *p = a + 1; *p; p++) {
        char shown[3] = {'-', *p, 0};
        const struct option_def *o = lookup(NULL, 0, *p, takes);
        if (!o) {
            if (!lookup(NULL, 0, *p, ~0ull))
                return unknown_option(ps->cmd, shown);
            return not_taken(ps->cmd, shown);
        }
        if (!o->value) {
            int rc = apply(ps, o, shown, NULL);
            if (rc)
                return rc;
            continue;
        }
        /* The value attached (-j4, also -j=4 as stau took it once), or the next argument. */
        const char *v = p[1] ? p + 1 + (p[1] == '=') : *i + 1 < argc ? argv[++*i] : NULL;
        return apply(ps, o, shown, v);
    }
    return 0;
}

static int cli_help(const struct cli *c)
{
    if (c->arg_count > 1)
        return cli_usage_error("'help' takes one command", "stau help [COMMAND]");
    if (c->arg_count == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    const struct command *cmd = find_command(c->args[0]);
    if (!cmd)
        return unknown_command(c->args[0]);
    print_command_help(stdout, cmd);
    return EXIT_OK;
}

static int completion(const struct cli *c)
{
    if (c->arg_count == 1 && strcmp(c->args[0], "bash") == 0)
        print_bash_completion(stdout);
    else if (c->arg_count == 1 && strcmp(c->args[0], "zsh") == 0)
        print_zsh_completion(stdout);
    else
        return cli_usage_error("'completion' needs one shell: bash or zsh",
                               "stau completion bash|zsh");
    return EXIT_OK;
}

/* Print what stdout held; EXIT_USAGE when it could not be written. */
static int flush_stdout(int rc)
{
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
        error("cannot write the output:");
        return EXIT_USAGE;
    }
    return rc;
}

/* Read the project's [tool.stau] and take what the command line left to it; 0, or
 * EXIT_USAGE after the located errors. */
static int apply_settings(struct cli *c, struct settings *s)
{
    struct diags d = DIAGS_INIT;
    int rc = settings_read(c->project.dir, s, &d);
    c->settings_warnings = d.warnings;
    diag_print_all(stderr, &c->printer, &d);
    diag_release(&d);
    if (rc < 0) {
        fprintf(stderr,
                "stau: error: the [tool.stau] settings in '%spyproject.toml' have errors; "
                "nothing runs until they are fixed\n",
                c->printer.prefix);
        return EXIT_USAGE;
    }
    if (!c->project.jobs_dir && s->jobs_root)
        c->project.jobs_dir = s->jobs_root;
    if (!c->project.threads && s->jobs)
        c->project.threads = (int)s->jobs;
    if (s->python)
        cli_set_default_python(s->python);
    if (s->retries_given)
        decl_defaults.retries = s->retries;
    if (s->retry_delay_given)
        decl_defaults.retry_delay = s->retry_delay;
    if (s->log_limit_given)
        decl_defaults.log_limit = s->log_limit;
    if (!c->keep_days_given && s->keep_days_given)
        c->keep_days = s->keep_days, c->keep_days_given = true;
    if (!c->keep_last_given && s->keep_last_given)
        c->keep_last = s->keep_last, c->keep_last_given = true;
    c->env_file = s->env_file;
    return 0;
}

int main(int argc, char **argv)
{
    /* Under a pipe or a redirect each line goes out when it is written, so a reader
     * (tail -f, a log collector) sees it at once and a killed stau loses none. */
    if (!isatty(STDOUT_FILENO))
        setvbuf(stdout, NULL, _IOLBF, 0);
    struct cli c = {0};
    c.project.dir = ".";
    c.grace_ms = 30000;
    struct parse ps = {.c = &c};
    int word = find_command_word(argc, argv);
    ps.cmd = word ? find_command(argv[word]) : &run_due;
    parsed_command = ps.cmd;
    char **positional = xcalloc((size_t)argc + 1, sizeof(char *));
    size_t npositional = 0;
    bool options_done = false;
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (i == word)
            continue;
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0)
            positional[npositional++] = argv[i];
        else if (strcmp(a, "--") == 0)
            options_done = true;
        else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("stau %s\n", STAU_VERSION);
            free(positional);
            free(c.kwargs);
            return flush_stdout(EXIT_OK);
        } else
            rc = parse_option(&ps, argc, argv, &i);
    }
    if (rc) {
        free(c.kwargs);
        free(positional);
        return rc;
    }
    const struct command *cmd = ps.cmd;
    if (ps.help || ps.man) {
        if (ps.man) {
            print_man(stdout);
        } else if (cmd == &run_due && npositional) {
            rc = unknown_command(positional[0]);
            free(positional);
            free(c.kwargs);
            return rc;
        } else if (cmd == &run_due)
            print_usage(stdout);
        else
            print_command_help(stdout, cmd);
        free(positional);
        free(c.kwargs);
        return flush_stdout(EXIT_OK);
    }
    if (cmd == &run_due && c.exit_code && !c.dry_run) {
        /* (What ran is in the exit status already.) */
        fprintf(stderr, "stau: error: --exit-code goes with -n: `stau -n --exit-code` exits 1 "
                        "when something would run\n  hint: see 'stau --help'\n");
        free(positional);
        return EXIT_USAGE;
    }
    cli_set_database(ps.db, ps.db_schema, ps.archive);
    const char *names[sizeof(commands) / sizeof(commands[0]) + 1] = {0};
    for (size_t k = 0; k < command_count; k++)
        names[k] = commands[k].name;
    c.commands = names;
    c.args = positional;
    c.arg_count = npositional;
    /* Every command but these works on a project: found by walking up unless -C names it. */
    bool in_project = cmd->run && cmd->run != cli_help && cmd->run != cli_init;
    char *found_root = in_project && !c.dir_given ? settings_find_root() : NULL;
    if (found_root) {
        c.project.dir = found_root;
        if (c.verbose && strcmp(found_root, ".") != 0)
            fprintf(stderr, "stau: the project root is '%s'\n", found_root);
    }
    c.printer.root = c.project.dir;
    char *prefix = strcmp(c.project.dir, ".") == 0 ? xstrdup("")
                   : c.project.dir[strlen(c.project.dir) - 1] == '/'
                       ? xstrdup(c.project.dir)
                       : xprintf("%s/", c.project.dir);
    c.printer.prefix = prefix;
    c.printer.color = use_color(STDERR_FILENO);
    struct settings settings = {0};
    if (in_project && (rc = apply_settings(&c, &settings)) != 0) {
        settings_release(&settings);
        free(found_root);
        free(prefix);
        free(positional);
        free(c.kwargs);
        return rc;
    }
    if (!cmd->args[0] && npositional) {
        char *usage = usage_line(cmd);
        fprintf(stderr, "stau: error: '%s' takes no arguments\n  hint: usage: %s\n", cmd->name,
                usage);
        free(usage);
        rc = EXIT_USAGE;
    } else {
        rc = cmd->run ? cmd->run(&c) : completion(&c);
    }
    rc = flush_stdout(rc);
    settings_release(&settings);
    free(found_root);
    free(prefix);
    free(positional);
    free(c.kwargs);
    return rc;
}
