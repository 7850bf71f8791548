/* pyscan.h: one fast linear pass over a Python file's bytes that finds every import and
 * the module-level `NAME = ...` statements with their byte ranges, so that only those
 * ranges need a real parse. It is exact about Python 3.12's lexical rules: strings with
 * any prefix and quote, f-strings with nested quotes, fields and format specs (PEP 701),
 * brackets, backslash continuations, comments, \n \r\n and \r line ends, a UTF-8 BOM,
 * tabs and form feeds. Malformed input yields problems, never a crash, in linear time.
 *
 * Lines are 1-based; columns are 1-based byte columns, not counting a BOM on line 1. */
#ifndef STAU_PYSCAN_H
#define STAU_PYSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* One imported module, from any scope: `import a, b` gives two, `from m import x, y` one. */
struct pyscan_import {
    unsigned line, col; /* position of the `import` or `from` keyword */
    int level;          /* leading dots of a relative import (`from ..a import b` -> 2), else 0 */
    /* The dotted name: "a.b" for `import a.b` and `from a.b import c`; "" for `from . import x`. */
    char *module;
    /* `from M import a, b as c` -> {"a", "b"}; {"*"} for a star import; NULL for `import`. */
    char **names;
    size_t name_count; /* entries in names */
};

/* One module-level `NAME = ...` (also `A = B = ...`) or `NAME: annotation = ...`. A
 * statement is module-level when it begins a logical line at indentation 0 (a form feed
 * resets the indentation, as in Python) or follows one after `;`, and is not the body of
 * a one-line compound statement (`if x: A = 1`). */
struct pyscan_stmt {
    /* Byte range from NAME up to and including the newline or ';' that ends the statement
     * (or the end of input); a comment before that newline is inside. */
    size_t start, end;
    unsigned line;       /* line of the first byte */
    unsigned end_line;   /* line where the last token ends (as ast's end_lineno) */
    size_t target_start; /* byte offset of the assigned NAME (equals start) */
    size_t target_len;   /* its length in bytes */
};

/* A lexical problem; the scan goes on past it. Inside brackets never closed, a line that
 * starts with `def`, `class`, `import`, `from` or `STAU_CONFIG =` at column 0 begins a new
 * statement, so one typo does not hide the rest of the file. */
struct pyscan_problem {
    unsigned line, col; /* where it is */
    size_t offset;      /* the same as a byte offset */
    /* Static lower-case text: "unterminated string", "unterminated triple-quoted string",
     * "unmatched ')'", "'(' was never closed", "expecting '}' in f-string", "single '}' is
     * not allowed in f-string", "NUL byte", "invalid UTF-8" (the first one only) ... */
    const char *message;
};

/* The result of one scan; pyscan_init() it once, pyscan_release() it at the end. */
struct pyscan {
    VEC(struct pyscan_import) imports;   /* every import, in source order */
    VEC(struct pyscan_stmt) assignments; /* the module-level assignments, in order */
    long config_index;                   /* index of the last STAU_CONFIG assignment, or -1 */
    VEC(struct pyscan_problem) problems; /* the first few problems, ordered by offset */
    struct sizelist comments;            /* offset of every comment's '#', in order */
    bool mentions_config;                /* the bytes "STAU_CONFIG" occur anywhere */
};

/* At most this many problems are kept. */
#define PYSCAN_MAX_PROBLEMS 8

/* Make ps empty. */
void pyscan_init(struct pyscan *ps);
/* Scan len bytes at src (need not be NUL-terminated) into ps, replacing what it held;
 * returns 0, as problems in the source are data, not failures. */
int pyscan_run(struct pyscan *ps, const char *src, size_t len);
/* Free what ps holds and make it empty again. */
void pyscan_release(struct pyscan *ps);

#endif
