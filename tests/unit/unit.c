/* unit.c: the unit-test runner. `stau-unit [FILTER]` runs every registered test
 * whose name contains FILTER and ends with "unit: N passed, N failed". A store test
 * is two tests, NAME_sqlite and NAME_postgres, so "_postgres" runs those of one backend
 * (the PostgreSQL ones on the server $STAU_TEST_PG names, each in a schema of its own). */
#include "unit.h"
#include "store.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct unit_test {
    const char *name;
    void (*fn)(void);                         /* a plain test, or */
    void (*store_fn)(const struct unit_db *); /* a store test, on */
    const char *kind;                         /* this backend ("sqlite", "postgres") */
};

static struct unit_test tests[1024];
static size_t test_count;
static bool current_failed;
static char tmpdir[256];

void unit_register(const char *name, void (*fn)(void))
{
    if (test_count == sizeof(tests) / sizeof(tests[0]))
        fatal("too many unit tests");
    tests[test_count++] = (struct unit_test){name, fn, NULL, NULL};
}

void unit_register_store(const char *sqlite_name, const char *postgres_name,
                         void (*fn)(const struct unit_db *db))
{
    if (test_count + 2 > sizeof(tests) / sizeof(tests[0]))
        fatal("too many unit tests");
    tests[test_count++] = (struct unit_test){sqlite_name, NULL, fn, "sqlite"};
    tests[test_count++] = (struct unit_test){postgres_name, NULL, fn, "postgres"};
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

struct store *unit_db_open(const struct unit_db *db)
{
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(db->location, db->schema, &err);
    if (!unit_check(st != NULL, __FILE__, __LINE__, "store_open"))
        fprintf(stderr, "  %s%s%s: %s\n", db->location, db->schema ? " schema " : "",
                db->schema ? db->schema : "", strbuf_str(&err));
    strbuf_release(&err);
    return st;
}

static char *sqlite_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    char *result;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        result = xprintf("error: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return result;
    }
    if (sqlite3_exec(db, "PRAGMA busy_timeout = 10000", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        result = xprintf("error: %s", sqlite3_errmsg(db));
    } else {
        int rc = sqlite3_step(q);
        const unsigned char *text = rc == SQLITE_ROW ? sqlite3_column_text(q, 0) : NULL;
        result = rc == SQLITE_ROW || rc == SQLITE_DONE ? xstrdup(text ? (const char *)text : "")
                                                       : xprintf("error: %s", sqlite3_errmsg(db));
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return result;
}

/* Append s quoted for sh. */
static void shell_quote(struct strbuf *out, const char *s)
{
    strbuf_addch(out, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            strbuf_addstr(out, "'\\''");
        else
            strbuf_addch(out, *s);
    }
    strbuf_addch(out, '\'');
}

/* psql, unaligned, without headers, its fields split by \x1f. */
static char *postgres_sql(const char *conninfo, const char *schema, const char *sql)
{
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    strbuf_addstr(&cmd, "psql -X -q -A -t -v ON_ERROR_STOP=1 -F '\x1f' -d ");
    shell_quote(&cmd, conninfo);
    char *set = xprintf("SET search_path TO \"%s\"", schema);
    strbuf_addstr(&cmd, " -c ");
    shell_quote(&cmd, set);
    free(set);
    strbuf_addstr(&cmd, " -c ");
    shell_quote(&cmd, sql);
    strbuf_addstr(&cmd, " 2>&1 </dev/null");
    fflush(NULL);
    FILE *p = popen(strbuf_str(&cmd), "r");
    strbuf_release(&cmd);
    if (!p)
        return xstrdup("error: cannot start psql");
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        strbuf_add(&out, chunk, n);
    int status = pclose(p);
    char *text = strbuf_detach(&out);
    if (status != 0) {
        size_t len = strlen(text);
        while (len > 0 && text[len - 1] == '\n')
            text[--len] = '\0';
        char *result = xprintf("error: %s", text);
        free(text);
        return result;
    }
    text[strcspn(text, "\x1f\n")] = '\0'; /* the first field of the first row */
    return text;
}

char *unit_db_sql(const struct unit_db *db, const char *sql)
{
    return unit_db_is_postgres(db) ? postgres_sql(db->location, db->schema, sql)
                                   : sqlite_sql(db->location, sql);
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

/* Run a store test on a fresh database of its kind, and drop that database after it. */
static void run_store_test(const struct unit_test *t)
{
    static unsigned schemas;
    struct unit_db db = {.kind = t->kind};
    if (strcmp(t->kind, "sqlite") == 0) {
        const char *dir = unit_tmpdir();
        if (!dir[0])
            return;
        db.location = xprintf("%s/state.db", dir);
        t->store_fn(&db);
        free(db.location);
        return;
    }
    const char *server = getenv(UNIT_PG_ENV);
    if (!server || !server[0]) {
        fprintf(stderr, "%s: needs a PostgreSQL server (" UNIT_PG_ENV " is not set)\n", t->name);
        current_failed = true;
        return;
    }
    db.location = xstrdup(server);
    db.schema = xprintf("ut_%d_%u", (int)getpid(), ++schemas);
    /* dropped before too: a test that crashed leaves its schema, and pids come round */
    struct strbuf err = STRBUF_INIT;
    bool dropped = store_pg_drop_schema(db.location, db.schema, &err) == 0;
    if (dropped) {
        t->store_fn(&db);
        dropped = store_pg_drop_schema(db.location, db.schema, &err) == 0;
    }
    if (!dropped) {
        fprintf(stderr, "%s: cannot drop schema %s: %s\n", t->name, db.schema, strbuf_str(&err));
        current_failed = true;
    }
    strbuf_release(&err);
    free(db.schema);
    free(db.location);
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
        if (tests[i].store_fn)
            run_store_test(&tests[i]);
        else
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
