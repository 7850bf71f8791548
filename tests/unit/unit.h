/* unit.h: a tiny unit-test harness. Tests register themselves; checks record
 * failures with file:line and let the test go on. A store test (UNIT_STORE_TEST) is
 * one body run on each backend of the state database, on a fresh database each time. */
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

/* ---- store tests on every backend ---- */

/* The environment variable naming the PostgreSQL server store tests use (a libpq
 * URI or keyword string); the PostgreSQL variant of each store test fails without it. */
#define UNIT_PG_ENV "STAU_TEST_PG"

/* The fresh state database one run of a store test gets. */
struct unit_db {
    const char *kind; /* "sqlite" or "postgres": the end of the test's name */
    char *location;   /* what store_open takes: the file's path (in the test's temporary
                         directory), or the server's conninfo ($STAU_TEST_PG) */
    char *schema;     /* PostgreSQL: the test's own schema, "ut_<pid>_<n>", created by the
                         first open and dropped (store_pg_drop_schema) after the test;
                         SQLite: NULL */
};

static inline bool unit_db_is_sqlite(const struct unit_db *db)
{
    return db->kind[0] == 's';
}
static inline bool unit_db_is_postgres(const struct unit_db *db)
{
    return db->kind[0] == 'p';
}

/* Open (creating) db's state database; each call is another handle on the same one.
 * NULL after a failed check. */
struct store *unit_db_open(const struct unit_db *db);
/* Run one SQL statement on db directly, without the store (SQLite: through sqlite3 on
 * the file; PostgreSQL: through psql, with search_path set to the schema): the first
 * column of the first row, "" when there is none, or "error: ..." (free it). */
char *unit_db_sql(const struct unit_db *db, const char *sql);

/* Register a store test as two tests, name_sqlite and name_postgres (called by
 * UNIT_STORE_TEST's constructor). */
void unit_register_store(const char *sqlite_name, const char *postgres_name,
                         void (*fn)(const struct unit_db *db));

#define UNIT_TEST(name)                                                                            \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        unit_register(#name, name);                                                                \
    }                                                                                              \
    static void name(void)

/* A store test: one body, run once on a fresh SQLite file (as name_sqlite) and once on
 * a fresh PostgreSQL schema (as name_postgres); the body gets the database as `db`. */
#define UNIT_STORE_TEST(name)                                                                      \
    static void name(const struct unit_db *db);                                                    \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        unit_register_store(#name "_sqlite", #name "_postgres", name);                             \
    }                                                                                              \
    static void name(const struct unit_db *db)

#define CHECK(cond) unit_check((cond), __FILE__, __LINE__, #cond)
#define CHECK_STR(got, want) unit_check_str((got), (want), __FILE__, __LINE__, #got)
#define CHECK_INT(got, want)                                                                       \
    unit_check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got)

#endif
