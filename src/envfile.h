/* envfile.h: the project's .env (or the file [tool.stau] env_file names), read when
 * jobs are about to run and handed to their processes' environment; never stored.
 *
 * The forms read, one variable a line, as python-dotenv and docker compose take them:
 *   KEY=VALUE             the value up to the end of the line, spaces around it trimmed;
 *                         " #" starts a comment
 *   export KEY=VALUE      the same (a file a shell may source too)
 *   KEY='VALUE'           literal, up to the closing quote (which may be on a later line)
 *   KEY="VALUE"           \n \t \r \" \\ and \$ undone, other backslashes kept; may span lines
 *   KEY=                  the empty string
 *   # comment, blank lines
 * A key is letters, digits and '_', not starting with a digit. A later line of the
 * same key wins. No $VAR expansion: a value is taken as written. Anything else (a line
 * without '=', a bad key, an unclosed quote, text after the closing quote, a NUL byte)
 * is a located error (".env:3:1: error: ..."). A STAU_* variable is stau's own, set for
 * each run: the file's is ignored, with a warning.
 *
 * A variable that stau's own environment already has is not taken from the file:
 * the real environment wins (as python-dotenv's default and docker compose do), so
 * `DB_URL=... stau run job` overrides the file for one call. */
#ifndef STAU_ENVFILE_H
#define STAU_ENVFILE_H

#include <stdbool.h>

#include "diag.h"
#include "util.h"

/* The file read when [tool.stau] names none (a missing one is no error). */
#define ENVFILE_DEFAULT ".env"

/* What a file gives the jobs. */
struct envfile {
    char **entries;   /* NULL-terminated "KEY=VALUE", one per key it sets that stau's own
                         environment lacks, in the order of their first line; NULL: none */
    size_t count;     /* how many entries */
    char *names_json; /* their keys as a JSON array, for the run record; NULL: none */
};

/* Parse text (len bytes; the file path, relative to the project root, is for the
 * messages) into the variables it sets, every one (the real environment not consulted):
 * "KEY=VALUE" strings appended to out. 0, or -1 after the located errors in diags (out
 * then holds the lines that were right). */
int envfile_parse(const char *text, size_t len, const char *path, struct strlist *out,
                  struct diags *diags);

/* Read the env file of the project at root: setting, the path [tool.stau] env_file
 * gives (relative to root; it must exist), or NULL for ENVFILE_DEFAULT (which may be
 * missing: out stays empty). Keeps the variables stau's environment lacks. 0, or -1
 * after the errors in diags (out is empty then). */
int envfile_load(const char *root, const char *setting, struct envfile *out, struct diags *diags);
void envfile_release(struct envfile *e);

#endif
