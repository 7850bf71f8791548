/* cli.h: what every command gets from the command line, and the commands. */
#ifndef STAU_CLI_H
#define STAU_CLI_H

#include "project.h"

/* Exit statuses (SPEC §3). */
enum { EXIT_OK = 0, EXIT_JOB_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

/* The parsed command line. */
struct cli {
    struct project_options project; /* -C, --jobs, -j */
    bool json;                      /* --json */
    bool verbose;                   /* -v */
    bool dry_run;                   /* -n: print the plan, run nothing */
    bool force;                     /* --force: run the named jobs whatever their state */
    bool fail_fast;                 /* --fail-fast: start nothing new after a failure */
    char **args;                    /* arguments after the command */
    size_t arg_count;
    struct diag_printer printer; /* how diagnostics are shown */
    const char *const *commands; /* the command names, NULL-terminated */
};

/* Load the project and print its diagnostics to stderr; -1 if it could not be loaded. */
int cli_load(const struct cli *c, struct project *p);

int cli_check(const struct cli *c);
int cli_list(const struct cli *c);
int cli_dot(const struct cli *c);
/* `stau [TARGET...]`: run what is due among the targets and what they need. */
int cli_run_due(const struct cli *c);
int cli_run(const struct cli *c);
int cli_why(const struct cli *c);

#endif
