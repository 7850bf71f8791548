/* settings.h: where the project is when no -C names it (found by walking up, as
 * git does), and the project's settings in pyproject.toml's [tool.stau] table,
 * read statically (a small TOML subset: strings, integers, floats, booleans). */
#ifndef STAU_SETTINGS_H
#define STAU_SETTINGS_H

#include "diag.h"

#include <stdbool.h>
#include <stdint.h>

#define SETTINGS_FILE "pyproject.toml"

/* [tool.stau]; a setting not given keeps its "given" flag false. */
struct settings {
    bool present;    /* pyproject.toml has a [tool.stau] table */
    char *jobs_root; /* jobs_root = "DIR": the jobs root below the project */
    long jobs;       /* jobs = N: the default of -j (0: not given) */
    char *python;    /* python = "PATH": the interpreter of jobs that name none */
    int64_t retries; /* retries = N: a declaration's default */
    bool retries_given;
    double retry_delay; /* retry_delay = SECONDS: a declaration's default */
    bool retry_delay_given;
    int64_t log_limit; /* log_limit = BYTES or "64M": a declaration's default (0: no cap) */
    bool log_limit_given;
    long keep_days; /* keep_days = N: stau gc's default --keep-days */
    bool keep_days_given;
    long keep_last; /* keep_last = N: stau gc's default --keep-last */
    bool keep_last_given;
    char *env_file; /* env_file = "PATH": variables loaded into every job's environment */
};

/* The project root for a command run from the current folder: the nearest folder
 * at or above it that holds .stau/, or a pyproject.toml with [tool.stau], or has a
 * jobs root (src/) and is the current folder or the root of a git work tree; failing
 * those, D when the walk came up out of D/src. The walk stops below $HOME. "." when
 * none is found. Returned
 * relative to the current folder ("." or "../.."), newly allocated. */
char *settings_find_root(void);

/* Read root/pyproject.toml's [tool.stau] into out (zeroed first); a missing file or
 * table is no error. Problems go to diags, located, under path "pyproject.toml";
 * returns -1 when there was an error. */
int settings_read(const char *root, struct settings *out, struct diags *diags);
void settings_release(struct settings *s);

/* Every key [tool.stau] may hold, NULL-terminated. */
extern const char *const settings_keys[];

#endif
