/* pyscan.h: one fast linear pass over a Python file's bytes that finds every import
 * statement and the module-level `NAME = ...` statements with their byte ranges, so
 * that only those ranges need a real parse. Exact about Python 3.12's lexical rules
 * (strings of every kind, PEP 701 f-strings, brackets, continuations, comments). */
#ifndef STAU_PYSCAN_H
#define STAU_PYSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* One imported module: `import a, b` gives two, `from m import x, y` gives one. */
struct pyscan_import {
    unsigned line, col; /* 1-based line and 1-based byte column of the `import` or `from` keyword */
    int level;    /* leading dots of a relative import (`from ..a import b` -> 2); 0 if absolute */
    char *module; /* dotted name: "a.b" for `import a.b` and `from a.b import c`; "" for `from .
                     import x` */
    char **names; /* `from M import a, b as c` -> {"a", "b"}; {"*"} for a star import; NULL for
                     `import` */
    size_t name_count; /* entries in names; 0 for a plain `import` */
};

/* One module-level assignment statement `NAME = ...` or `NAME: annotation = ...`. */
struct pyscan_stmt {
    size_t start,
        end;       /* byte range; end is exclusive and includes the terminating newline or ';' */
    unsigned line; /* 1-based line of the first byte */
    unsigned end_line;   /* 1-based line where its last token ends (as ast's end_lineno) */
    size_t target_start; /* byte offset of the assigned NAME (equals start) */
    size_t target_len;   /* length of the assigned NAME in bytes */
};

/* A lexical problem; the scan goes on past it. */
struct pyscan_problem {
    unsigned line, col;  /* 1-based line and byte column */
    size_t offset;       /* byte offset into the source */
    const char *message; /* static lower-case text, e.g. "unterminated string" */
};

/* The result of one scan; initialise with pyscan_init(), free with pyscan_release(). */
struct pyscan {
    VEC(struct pyscan_import) imports;   /* every import in source order, in any scope */
    VEC(struct pyscan_stmt) assignments; /* module-level `NAME = ...` / `NAME: T = ...`, in order */
    long config_index; /* index in assignments of the last STAU_CONFIG one, or -1 */
    VEC(struct pyscan_problem) problems; /* the first few lexical problems, ordered by offset */
    bool mentions_config;                /* the bytes "STAU_CONFIG" occur anywhere */
};

/* At most this many problems are kept. */
#define PYSCAN_MAX_PROBLEMS 8

/* Prepare an empty result. */
void pyscan_init(struct pyscan *ps);
/* Scan len bytes of src (need not be NUL-terminated) into ps, replacing what it held;
 * returns 0: problems in the source are data, not failures. */
int pyscan_run(struct pyscan *ps, const char *src, size_t len);
/* Free everything ps owns and leave it empty (pyscan_init state). */
void pyscan_release(struct pyscan *ps);

#endif
