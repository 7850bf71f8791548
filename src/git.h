/* git.h: what differs from the commit in the project's git checkout, asked of git
 * itself (`git status`), once for a submission of runs to record: a dirty flag and
 * the changed files under the jobs root. (The commit is read from .git without git:
 * project_git_commit.) Reading the index alone would miss what is staged but not
 * committed, and telling that needs the commit's tree from the object store, which
 * only git reads well; so one process, and no answer at all rather than a wrong one
 * when git is missing, fails, or says something unexpected. */
#ifndef STAU_GIT_H
#define STAU_GIT_H

#include "util.h"

/* The changed files kept for a run, at most. */
enum { GIT_CHANGES_KEPT = 100 };

/* The work tree against its commit. */
struct git_changes {
    int dirty;        /* 1: something in the project differs from the commit (a tracked
                         file changed, staged or not, added, removed; or a file under the
                         jobs root not tracked); 0: nothing does; -1: not known */
    char *files_json; /* the changed files under the jobs root, relative to the project
                         root, as a JSON array (the first GIT_CHANGES_KEPT, sorted as git
                         sorts them; an untracked folder as "dir/"); NULL: none, or not
                         known */
};

/* Ask git (`git --no-optional-locks -C ROOT status --porcelain=v1 -z --ignored -- .`) what
 * differs in the project at root, whose jobs root is jobs_root (relative to root, "" for
 * root itself). Never fails: what git does not answer is left not known. A .py file
 * under the jobs root that git ignores counts as not tracked, and a folder git ignores
 * that holds the jobs root (a project copied into a build folder) as the whole jobs
 * root not tracked ("src/"). */
void git_changes_of(const char *root, const char *jobs_root, struct git_changes *out);
/* Parse git status --porcelain=v1 -z output (len bytes) of a project at prefix in its
 * checkout ("" or "a/b/"), with jobs_root as above; -1 when the text is not that
 * (out is then not known). */
int git_changes_parse(const char *text, size_t len, const char *prefix, const char *jobs_root,
                      struct git_changes *out);
void git_changes_release(struct git_changes *c);

/* Append " (dirty: a.py, b.py and 3 more)", " (dirty outside the jobs root)" or nothing
 * (clean, or not known) for a run's git_dirty (1, 0, -1) and git_changes JSON. */
void git_describe_changes(int dirty, const char *files_json, struct strbuf *out);

#endif
