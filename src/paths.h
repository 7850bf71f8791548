/* paths.h: every path stau keeps below a project, named in one place.
 *
 *   .stau/                                 everything stau keeps (with its own .gitignore)
 *   .stau/state.db                         the state database (SQLite; $STAU_DB elsewhere)
 *   .stau/graph.cache                      the graph cache (cache.c)
 *   .stau/settled                          the settled mark (settled.c)
 *   .stau/logs/<job>.<unix ms>.<attempt>.log   stdout and stderr of one attempt
 *   .stau/logs/<job>.<unix ms>.select.log  ... of select_work (.select.json: its answer)
 *   .stau/archive/<job>.<run id>.tar.zst   a finished run (archiver.c), or
 *   ARCHIVE/<job>.<run id>.tar.zst         with --archive ARCHIVE ($STAU_ARCHIVE): a folder
 *                                          every copy of stau serve shares (NFS), so each
 *                                          one reads the archives the others wrote
 *
 * One flat folder each for logs and archives: a folder per job would cost a mkdir per
 * new job, which is a good part of what running a trivial job costs stau.
 * Functions returning char * return it newly allocated. "rel" paths are relative to
 * the project root, as run records keep them.
 */
#ifndef STAU_PATHS_H
#define STAU_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The folder itself, relative to the project root. */
#define PATHS_STATE_DIR ".stau"

/* root/.stau/NAME, for the files directly in it ("state.db", "graph.cache", "settled"). */
char *paths_state_file(const char *root, const char *name);
/* The log of one attempt of a run (rel). */
char *paths_run_log(const char *job, int64_t started_ms, int attempt);
/* The log of a job's select_work (rel), and the file it answers in (below root). */
char *paths_select_log(const char *job, int64_t started_ms);
char *paths_select_result(const char *root, const char *job, int64_t started_ms);
/* Keep archives in dir (made absolute against the working folder; NULL: in .stau/archive
 * of the project): main sets it from --archive or $STAU_ARCHIVE. */
void paths_set_archive_dir(const char *dir);
/* The folder archives are kept in, as a recorded path: rel (.stau/archive), or the
 * --archive folder (absolute). */
char *paths_archive_folder(void);
/* The archive of a run: rel, or absolute in the --archive folder. */
char *paths_archive(const char *job, int64_t run_id);
/* The run id an archive's file name ("<job>.<run id>.tar.zst") carries; 0 when it is no
 * archive's name. */
int64_t paths_archive_id(const char *name);
/* The job whose log a file name in .stau/logs is ("<job>.<ms>.<attempt>.log", or a
 * select_work log "<job>.<ms>.select.log": *select set): the length of its job name
 * at the start of name, or 0 when it is no log's name. */
size_t paths_log_job(const char *name, bool *select);
/* A recorded path as a path to open: an absolute one as it is, a rel one below root. */
char *paths_resolve(const char *root, const char *recorded);
/* Make the folders above a recorded path (paths_resolve's); 0, or -1 after a message. */
int paths_make_parent(const char *root, const char *recorded);
/* Whether a recorded path is one of stau's own (inside .stau/, or in the --archive
 * folder, without ".."): only such files are ever removed (gc). */
bool paths_is_state(const char *rel);

#endif
