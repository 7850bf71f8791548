/* paths.c: the paths of paths.h. */
#include "paths.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util.h"

char *paths_state_file(const char *root, const char *name)
{
    return xprintf("%s/" PATHS_STATE_DIR "/%s", root, name);
}

char *paths_run_log(const char *job, int64_t started_ms, int attempt)
{
    return xprintf(PATHS_STATE_DIR "/logs/%s.%lld.%d.log", job, (long long)started_ms, attempt);
}

char *paths_select_log(const char *job, int64_t started_ms)
{
    return xprintf(PATHS_STATE_DIR "/logs/%s.%lld.select.log", job, (long long)started_ms);
}

char *paths_select_result(const char *root, const char *job, int64_t started_ms)
{
    return xprintf("%s/" PATHS_STATE_DIR "/logs/%s.%lld.select.json", root, job,
                   (long long)started_ms);
}

static char *archive_dir; /* absolute, without a trailing slash; NULL: .stau/archive */

void paths_set_archive_dir(const char *dir)
{
    free(archive_dir);
    archive_dir = NULL;
    if (!dir || !*dir)
        return;
    char cwd[4096];
    if (dir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        archive_dir = xstrdup(dir);
    else
        archive_dir = xprintf("%s/%s", cwd, dir);
    size_t len = strlen(archive_dir);
    while (len > 1 && archive_dir[len - 1] == '/')
        archive_dir[--len] = '\0';
}

char *paths_archive_folder(void)
{
    return xstrdup(archive_dir ? archive_dir : PATHS_STATE_DIR "/archive");
}

char *paths_archive(const char *job, int64_t run_id)
{
    if (archive_dir)
        return xprintf("%s/%s.%lld.tar.zst", archive_dir, job, (long long)run_id);
    return xprintf(PATHS_STATE_DIR "/archive/%s.%lld.tar.zst", job, (long long)run_id);
}

/* Where the digits end that precede name[end] back to a '.' (end itself when none do):
 * the start of those digits, or 0 when they are not there or are not after a dot. */
static size_t number_before(const char *name, size_t end)
{
    size_t start = end;
    while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9')
        start--;
    if (start == end || end - start > 18 || start < 2 || name[start - 1] != '.')
        return 0;
    return start;
}

int64_t paths_archive_id(const char *name)
{
    static const char suffix[] = ".tar.zst";
    size_t len = strlen(name), s = sizeof(suffix) - 1;
    if (len <= s || strcmp(name + len - s, suffix) != 0)
        return 0;
    size_t start = number_before(name, len - s);
    return start ? strtoll(name + start, NULL, 10) : 0;
}

size_t paths_log_job(const char *name, bool *select)
{
    static const char run_log[] = ".log", select_log[] = ".select.log";
    size_t len = strlen(name), end;
    *select = ends_with(name, select_log);
    if (*select) {
        end = len - (sizeof(select_log) - 1);
    } else if (ends_with(name, run_log)) {
        end = number_before(name, len - (sizeof(run_log) - 1)); /* the attempt */
        if (!end)
            return 0;
        end--;
    } else {
        return 0;
    }
    size_t start = number_before(name, end); /* the start time */
    return start ? start - 1 : 0;
}

char *paths_resolve(const char *root, const char *recorded)
{
    if (recorded[0] == '/' || strcmp(root, ".") == 0)
        return xstrdup(recorded);
    return xprintf("%s/%s", root, recorded);
}

int paths_make_parent(const char *root, const char *recorded)
{
    if (recorded[0] == '/')
        return make_parent_folders("", recorded + 1);
    return make_parent_folders(root, recorded);
}

bool paths_is_state(const char *rel)
{
    if (!rel || strstr(rel, ".."))
        return false;
    if (archive_dir && starts_with(rel, archive_dir) && rel[strlen(archive_dir)] == '/')
        return true;
    return starts_with(rel, PATHS_STATE_DIR "/");
}
