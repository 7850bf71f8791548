/* unit.c: the unit-test runner. `stau-unit [FILTER]` runs every registered test
 * whose name contains FILTER and ends with "unit: N passed, N failed". */
#include "unit.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct unit_test {
    const char *name;
    void (*fn)(void);
};

static struct unit_test tests[1024];
static size_t test_count;
static bool current_failed;
static char tmpdir[256];

void unit_register(const char *name, void (*fn)(void))
{
    if (test_count == sizeof(tests) / sizeof(tests[0]))
        fatal("too many unit tests");
    tests[test_count++] = (struct unit_test){name, fn};
}

bool unit_check(bool ok, const char *file, int line, const char *what)
{
    if (!ok) {
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
        current_failed = true;
    }
    return ok;
}

bool unit_check_str(const char *got, const char *want, const char *file, int line, const char *expr)
{
    if (got && want && strcmp(got, want) == 0)
        return true;
    if (!got && !want)
        return true;
    fprintf(stderr, "%s:%d: %s\n  got:  %s%s%s\n  want: %s%s%s\n", file, line, expr,
            got ? "\"" : "", got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
            want ? want : "NULL", want ? "\"" : "");
    current_failed = true;
    return false;
}

bool unit_check_int(long long got, long long want, const char *file, int line, const char *expr)
{
    if (got == want)
        return true;
    fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", file, line, expr, got, want);
    current_failed = true;
    return false;
}

const char *unit_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "%s/stau-unit-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpdir)) {
            tmpdir[0] = '\0';
            fprintf(stderr, "cannot make a temporary directory\n");
            current_failed = true;
        }
    }
    return tmpdir;
}

const char *unit_write(const char *dir, const char *relpath, const char *content)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, relpath);
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(content, 1, strlen(content), f) != strlen(content) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        current_failed = true;
    }
    return path;
}

struct store *unit_store_open(const char *path)
{
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(path, NULL, &err);
    if (!unit_check(st != NULL, __FILE__, __LINE__, "store_open"))
        fprintf(stderr, "  %s: %s\n", path, strbuf_str(&err));
    strbuf_release(&err);
    return st;
}

int unit_start_run(struct store *st, int64_t id, int pid, int64_t now)
{
    struct store_change c = {.kind = STORE_START, .id = id, .at = now, .pid = pid};
    return store_apply(st, &c, 1, NULL, 0, now);
}

int unit_finish_run(struct store *st, int64_t id, const struct run_finish *fin, int64_t now)
{
    struct store_change c = {.kind = STORE_FINISH, .id = id, .at = now, .finish = *fin};
    return store_apply(st, &c, 1, NULL, 0, now);
}

static void remove_tmpdir(void)
{
    if (!tmpdir[0])
        return;
    char *cmd = xprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    free(cmd);
    tmpdir[0] = '\0';
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct unit_test *)a)->name, ((const struct unit_test *)b)->name);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : "";
    size_t passed = 0, failed = 0;
    qsort(tests, test_count, sizeof(tests[0]), by_name);
    for (size_t i = 0; i < test_count; i++) {
        if (!strstr(tests[i].name, filter))
            continue;
        current_failed = false;
        tests[i].fn();
        remove_tmpdir();
        if (current_failed) {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        } else {
            passed++;
        }
        fflush(stdout);
    }
    printf("unit: %zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
