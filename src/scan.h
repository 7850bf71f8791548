/* scan.h: reading one Python file without running it: its imports, and, when
 * it is a job, its declaration. The only user of tree-sitter. */
#ifndef STAU_SCAN_H
#define STAU_SCAN_H

#include "decl.h"
#include "diag.h"
#include "timetable.h"

/* One import statement of a file. */
struct scan_import {
    char *module;         /* dotted name as written ("" for `from . import x`) */
    int level;            /* leading dots of a relative import */
    struct strlist names; /* names after `from M import`; empty for `import M` */
    uint32_t line;        /* where the statement is */
};

/* What one file yields. */
struct scan_result {
    bool is_job;                     /* has a module-level STAU_CONFIG assignment */
    bool ok;                         /* is_job and the declaration was read without errors */
    bool borrowed;                   /* decl and imports live in a loaded cache; never freed here */
    bool has_decl;                   /* decl holds something: the declaration when ok, else
                                        the dependencies of one with errors (checked against
                                        the graph, so that every error is told at once) */
    struct decl decl;                /* the declaration (see has_decl) */
    struct hash128 code_hash;        /* the file's code without comments (fingerprint_code) */
    bool is_timetable;               /* the original Stau's timetable (stau_schedule.py) */
    struct timetable timetable;      /* its entries, when is_timetable (those without errors) */
    struct loc decl_loc;             /* where `STAU_CONFIG = ...` is */
    VEC(struct scan_import) imports; /* every import in the file, in order */
    const void *lazy_imports;        /* when set, the imports are still encoded in a loaded
                                        cache: see cache_decode_imports */
    size_t lazy_imports_len;         /* bytes at lazy_imports */
    struct diags diags;              /* what was wrong, with locations */
};

struct scanner;

/* A scanner owns a parser; use one per thread. NULL (after a message) when the
 * grammar and the tree-sitter runtime do not fit together. */
struct scanner *scanner_new(void);
void scanner_free(struct scanner *sc);
/* Read src (the content of path, relative to the project root) as the job
 * `job_name` (NULL if unknown) into out, which must be zeroed. */
void scanner_scan(struct scanner *sc, const char *path, const char *job_name, const char *src,
                  size_t len, struct scan_result *out);
/* Read src as the original Stau's timetable: its module-level recurring_jobs. */
void scanner_scan_timetable(struct scanner *sc, const char *path, const char *src, size_t len,
                            struct scan_result *out);
void scan_result_release(struct scan_result *r);

#endif
