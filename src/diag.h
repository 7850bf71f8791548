/* diag.h: located diagnostics (errors, warnings, notes) and their printing in
 * the compilers' form `path:line:col: error: message`, with the source line, a
 * caret under the offending text and an optional hint. */
#ifndef STAU_DIAG_H
#define STAU_DIAG_H

#include <stdint.h>
#include <stdio.h>
#include "util.h"

/* A span of source text; lines and columns are 1-based, columns count bytes. */
struct loc {
    uint32_t line, col;         /* where the text starts; line 0 means "the whole file" */
    uint32_t end_line, end_col; /* where it ends (exclusive column) */
};

enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

/* One message about one place. */
struct diag {
    enum diag_severity severity;
    char *path;     /* file the message is about, relative to the project root; NULL for none */
    struct loc loc; /* where in the file */
    char *message;  /* what is wrong, lower case, no full stop */
    char *hint;     /* what to do about it, or NULL */
};

/* An ordered list of diagnostics with counts; initialise with DIAGS_INIT. */
struct diags {
    VEC(struct diag) items; /* in the order they were added; notes follow their error */
    size_t errors;          /* diagnostics of severity DIAG_ERROR */
    size_t warnings;        /* diagnostics of severity DIAG_WARNING */
};
#define DIAGS_INIT                                                                                 \
    {                                                                                              \
        {NULL, 0, 0}, 0, 0                                                                         \
    }

/* Add a diagnostic; message is printf-formatted, path is copied. Returns -1 for errors. */
int diag_add(struct diags *d, enum diag_severity severity, const char *path, struct loc loc,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Attach a hint to the last diagnostic added. */
void diag_hint(struct diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append copies of every diagnostic in src to dst. */
void diag_append(struct diags *dst, const struct diags *src);
void diag_release(struct diags *d);

/* How diagnostics are printed. */
struct diag_printer {
    const char *root; /* the project root: source lines are read from root/path */
    const char
        *prefix; /* prepended to paths so they are valid from the user's cwd ("" or "dir/") */
    bool color;  /* use ANSI colours */
};
/* Print one diagnostic, with its source line and caret when the file can be read. */
void diag_print(FILE *out, const struct diag_printer *p, const struct diag *d);
/* Print them all in order; a note about the place of the message before it goes
 * without the source line again. */
void diag_print_all(FILE *out, const struct diag_printer *p, const struct diags *d);

#endif
