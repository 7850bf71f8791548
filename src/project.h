/* project.h: loading a project: find the jobs root, walk it, take what the
 * graph cache still knows, read the rest in parallel, resolve the graph. */
#ifndef STAU_PROJECT_H
#define STAU_PROJECT_H

#include "cache.h"
#include "graph.h"
#include "imports.h"

/* What the user said about where things are. */
struct project_options {
    const char *dir;      /* project root (-C), "." by default */
    const char *jobs_dir; /* jobs root relative to the project root (--jobs), or NULL */
    int threads;          /* readers to use; 0 for one per CPU */
};

/* A loaded project. */
struct project {
    char *root;                    /* project root as given */
    char *jobs_root;               /* relative to root; "" for root itself */
    char *cache_key;               /* what the graph cache must have been written for */
    char *timetable_path;          /* where the original Stau's timetable would be */
    VEC(struct source_file) files; /* every Python file below the jobs root, by path */
    char **job_names;              /* per file: its job name, or NULL when not a job */
    struct graph graph;            /* the jobs */
    struct diags diags;            /* every problem found, files in path order, then the graph's */
    char **paths;                  /* per file: its path (borrowed), for the import index */
    struct import_index imports;   /* files by path, to resolve imports */
    struct cache cache;  /* the loaded cache, which unchanged files' results borrow from */
    size_t files_read;   /* files read this time (not taken from the cache) */
    size_t files_parsed; /* of those, files whose content had changed */
};

/* Load the project; -1 (after a message) only when it cannot be looked at at all. */
int project_load(struct project *p, const struct project_options *opt);
void project_release(struct project *p);
/* Make the project's .stau/ (with its .gitignore) if it is not there: 0, or -1 after
 * saying why on stderr. */
int project_make_state_dir(const struct project *p);
/* Release p when the process is about to exit: only where a leak checker is
 * watching, since the exit frees it all at once and faster (as git's UNLEAK). */
void project_release_at_exit(struct project *p);
/* The job name a file below the jobs root gets ("src/sales/report.py" -> "sales.report"),
 * or NULL when the path does not name one (newly allocated). */
char *project_job_name(const char *jobs_root, const char *path);
/* Whether the job file at path (below jobs_root) has a name Python can import: each
 * part of the path, without ".py", an identifier (letters, digits and '_', not
 * starting with a digit; non-ASCII letters as Python allows them). If not, *bad and
 * *bad_len (when not NULL) give the first part that is none. */
bool project_importable(const char *jobs_root, const char *path, const char **bad, size_t *bad_len);
/* A hash of every Python file of the project, by path and content: equal hashes
 * mean equal code and declarations for every job. */
struct hash128 project_sources_hash(const struct project *p);
/* Decode every file's imports that are still encoded in the loaded cache (needed
 * before project_code_files). */
void project_load_imports(struct project *p);
/* The fingerprint of job `job`'s code: its file and every local module it imports,
 * comments left out (needs project_load_imports first). */
struct hash128 project_code_fingerprint(const struct project *p, size_t job);
/* Append to out (as file indices) the project files job `job` runs: its own file and every
 * local module it imports, transitively. */
void project_code_files(const struct project *p, size_t job, struct sizelist *out);
/* The git commit checked out in the project at root, read from .git without running
 * git (a packed ref too); NULL when it is not a git checkout. */
char *project_git_commit(const char *root);
/* Where root is in the git checkout holding it: its path below the work tree's top
 * ("" at the top, else "a/b/"), newly allocated; NULL when it is not in a checkout. */
char *project_git_prefix(const char *root);

#endif
