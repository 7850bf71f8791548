/* unit.h: a tiny unit-test harness. Tests register themselves; checks record
 * failures with file:line and let the test go on. */
#ifndef STAU_UNIT_H
#define STAU_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct run_finish;

/* Register a test function under a name (called by UNIT_TEST's constructor). */
void unit_register(const char *name, void (*fn)(void));
/* Record the outcome of one check; returns ok. */
bool unit_check(bool ok, const char *file, int line, const char *what);
bool unit_check_str(const char *got, const char *want, const char *file, int line,
                    const char *expr);
bool unit_check_int(long long got, long long want, const char *file, int line, const char *expr);
/* A temporary directory for the running test, removed afterwards ("" on failure). */
const char *unit_tmpdir(void);
/* Write a file below dir (creating parent folders); returns its full path (static buffer). */
const char *unit_write(const char *dir, const char *relpath, const char *content);

/* Open (creating) a state database at path, for the tests of the store and of what is
 * built on it; NULL after a failed check. */
struct store *unit_store_open(const char *path);
/* Record run id as started (STORE_START at now, process pid) or as ended (STORE_FINISH
 * at now) through store_apply; returns its answer: 0 (done), 1 (the run was not in a
 * state to start or end), -1 (failed: store_error says why). */
int unit_start_run(struct store *st, int64_t id, int pid, int64_t now);
int unit_finish_run(struct store *st, int64_t id, const struct run_finish *fin, int64_t now);

#define UNIT_TEST(name)                                                                            \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        unit_register(#name, name);                                                                \
    }                                                                                              \
    static void name(void)

#define CHECK(cond) unit_check((cond), __FILE__, __LINE__, #cond)
#define CHECK_STR(got, want) unit_check_str((got), (want), __FILE__, __LINE__, #got)
#define CHECK_INT(got, want)                                                                       \
    unit_check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got)

#endif
