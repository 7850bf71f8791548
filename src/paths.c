/* paths.c: the paths of paths.h. */
#include "paths.h"

#include <string.h>
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

char *paths_archive(const char *job, int64_t run_id)
{
    return xprintf(PATHS_STATE_DIR "/archive/%s.%lld.tar.zst", job, (long long)run_id);
}

bool paths_is_state(const char *rel)
{
    return rel && starts_with(rel, PATHS_STATE_DIR "/") && !strstr(rel, "..");
}
