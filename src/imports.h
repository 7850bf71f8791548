/* imports.h: resolving a file's import statements to the project's own files,
 * the way Python would find them with the jobs root on sys.path. */
#ifndef STAU_IMPORTS_H
#define STAU_IMPORTS_H

#include "scan.h"

/* The project's Python files, to look modules up in. */
struct import_index {
    const char *jobs_root; /* relative to the project root ("" for the root itself) */
    char *const *paths;    /* every file, relative to the project root */
    size_t count;          /* number of paths */
    struct strmap by_path; /* path -> index in paths */
};

void import_index_init(struct import_index *ix, const char *jobs_root, char *const *paths,
                       size_t count);
void import_index_release(struct import_index *ix);
/* Append to out the indices of the files that `imp`, written in file `from`,
 * loads: the module, its parent packages, and imported submodules. Modules not
 * in the project (the standard library, installed packages) add nothing. */
void import_resolve(const struct import_index *ix, const char *from, const struct scan_import *imp,
                    struct sizelist *out);

#endif
