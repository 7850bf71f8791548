/* cli_check.c: `stau check` and `stau list`. */
#include "cli.h"
#include "paths.h"
#include "store.h"
#include "fingerprint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --db and --db-schema, when given (main sets them before any command runs). */
static const char *database_option, *schema_option;

void cli_set_database(const char *location, const char *schema, const char *archive)
{
    database_option = location;
    schema_option = schema;
    const char *dir = archive ? archive : getenv("STAU_ARCHIVE");
    paths_set_archive_dir(dir && *dir ? dir : NULL);
}

const char *cli_db_schema(void)
{
    const char *schema = schema_option ? schema_option : getenv("STAU_DB_SCHEMA");
    return schema && *schema ? schema : NULL;
}

char *cli_state_path(const struct project *p)
{
    const char *db = database_option ? database_option : getenv("STAU_DB");
    return db && *db ? xstrdup(db) : paths_state_file(p->root, "state.db");
}

bool cli_state_exists(const struct project *p)
{
    char *path = cli_state_path(p);
    const char *file = starts_with(path, "sqlite:") ? path + strlen("sqlite:") : path;
    bool exists = store_location_is_server(path) || access(file, F_OK) == 0;
    free(path);
    return exists;
}

/* Open the state database (to_read: when it cannot be opened to write, it is read
 * as it is); NULL after a message. */
static struct store *open_store(const struct project *p, bool to_read)
{
    char *path = cli_state_path(p);
    struct strbuf err = STRBUF_INIT, unused = STRBUF_INIT;
    struct store *st = store_open(path, cli_db_schema(), &err);
    bool writable = st != NULL;
    const char *file = starts_with(path, "sqlite:") ? path + strlen("sqlite:") : path;
    bool exists = !store_location_is_server(path) && access(file, F_OK) == 0;
    if (!st && to_read && exists)
        st = store_open_to_read(path, cli_db_schema(), &unused);
    struct store *readable =
        !st && !to_read && exists ? store_open_to_read(path, cli_db_schema(), &unused) : NULL;
    if (readable) {
        /* it reads, so what failed is writing: say which of the two cannot be */
        char *dir = xstrdup(file);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        bool dir_writable = access(slash ? dir : ".", W_OK) == 0;
        const char *what = dir_writable ? file : slash ? dir : ".";
        if (access(what, W_OK) == 0) {
            /* Both say writable: what failed is something else (busy, full, I/O). */
            error("%s", strbuf_str(&err));
        } else {
            fprintf(stderr,
                    "stau: error: cannot write state database '%s': %s '%s' is not writable "
                    "(%s)\n"
                    "  hint: `stau history`, `log`, `show` and `restore` read it as it is; "
                    "running jobs needs write access\n",
                    file, dir_writable ? "the file" : "its folder", what, strerror(errno));
        }
        free(dir);
        store_close(readable);
    } else if (!st) {
        error("%s", strbuf_str(&err));
    }
    if (st)
        cli_notice_lost_history(p, st, writable);
    strbuf_release(&err);
    strbuf_release(&unused);
    free(path);
    return st;
}

struct store *cli_open_store(const struct project *p)
{
    return open_store(p, false);
}

struct store *cli_open_store_to_read(const struct project *p)
{
    return open_store(p, true);
}

void cli_no_run(struct store *st, int64_t id)
{
    struct run_list newest = {0};
    int rc = store_history(st, NULL, 1, &newest);
    int64_t last = rc == 0 && newest.len ? newest.items[0].id : 0;
    run_list_release(&newest);
    if (rc < 0) {
        error("%s", store_error(st));
        return;
    }
    /* below the newest run, an id is only missing when its row is (runs are never
     * removed but an enqueued run withdrawn): is the file damaged? */
    if (id < last && store_check(st) < 0) {
        error("no run %lld, though it is older than the newest, run %lld: %s", (long long)id,
              (long long)last, store_error(st));
        return;
    }
    fprintf(stderr, "stau: error: no run %lld\n  hint: `stau history` lists the runs\n",
            (long long)id);
}

int cli_usage_error(const char *message, const char *usage)
{
    fprintf(stderr, "stau: error: %s\n  hint: usage: %s\n", message, usage);
    return EXIT_USAGE;
}

int cli_no_jobs(const struct cli *c, const struct project *p)
{
    if (p->graph.jobs.len)
        return 0;
    const char *prefix = c->printer.prefix ? c->printer.prefix : "";
    char *where = p->jobs_root[0] ? xprintf("%s%s", prefix, p->jobs_root)
                  : prefix[0]     ? xstrndup(prefix, strlen(prefix) - 1)
                                  : xstrdup(".");
    fprintf(stderr,
            "stau: error: no jobs found under '%s': %zu .py %s, none with STAU_CONFIG\n"
            "  hint: a job is a .py file with a module-level STAU_CONFIG; `stau init` makes "
            "one, -C DIR names another project and --jobs-root DIR another jobs root\n",
            where, p->files.len, p->files.len == 1 ? "file" : "files");
    free(where);
    return -1;
}

int cli_load(const struct cli *c, struct project *p)
{
    if (project_load(p, &c->project) < 0)
        return -1;
    if (!c->diags_shown)
        diag_print_all(stderr, &c->printer, &p->diags);
    if (c->verbose)
        fprintf(stderr, "%zu files, %zu read, %zu parsed\n", p->files.len, p->files_read,
                p->files_parsed);
    return cli_no_jobs(c, p);
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

int cli_check(const struct cli *c)
{
    struct project p;
    if (cli_load(c, &p) < 0) {
        project_release(&p);
        return EXIT_USAGE;
    }
    size_t jobs = p.graph.jobs.len, deps = p.graph.edge_count;
    size_t errors = p.diags.errors, warnings = p.diags.warnings + c->settings_warnings;
    int rc = EXIT_OK;
    if (errors) {
        fprintf(stderr, "%zu %s, %zu %s\n", errors, plural(errors, "error", "errors"), warnings,
                plural(warnings, "warning", "warnings"));
        rc = EXIT_USAGE;
    } else {
        printf("%zu %s, %zu %s, %zu %s\n", jobs, plural(jobs, "job", "jobs"), deps,
               plural(deps, "dependency", "dependencies"), warnings,
               plural(warnings, "warning", "warnings"));
    }
    project_release_at_exit(&p);
    return rc;
}

static void format_lag(struct strbuf *sb, double minutes)
{
    if (minutes == (double)(long long)minutes)
        strbuf_addf(sb, "%lld", (long long)minutes);
    else
        strbuf_addf(sb, "%g", minutes);
}

/* The dependencies column: "a, b (max_lag 60m)". */
static void deps_text(const struct job *job, const struct graph *g, struct strbuf *sb)
{
    for (size_t e = 0; e < job->decl->deps.len; e++) {
        const struct dependency *dep = &job->decl->deps.items[e];
        if (e)
            strbuf_addstr(sb, ", ");
        strbuf_addstr(sb, dep->job);
        if (dep->has_max_lag) {
            strbuf_addstr(sb, " (max_lag ");
            format_lag(sb, dep->max_lag);
            strbuf_addstr(sb, "m)");
        }
    }
    (void)g;
    if (!job->decl->deps.len)
        strbuf_addch(sb, '-');
}

static void join(const struct strlist *l, const char *sep, struct strbuf *sb)
{
    for (size_t i = 0; i < l->len; i++) {
        if (i)
            strbuf_addstr(sb, sep);
        strbuf_addstr(sb, l->items[i]);
    }
    if (!l->len)
        strbuf_addch(sb, '-');
}

/* The schedule column: the declaration's schedules, then the timetable's. */
static void schedules_text(const struct job *job, struct strbuf *sb)
{
    for (size_t i = 0; i < job->decl->schedules.len; i++)
        strbuf_addf(sb, "%s%s", i ? " | " : "", job->decl->schedules.items[i]);
    for (size_t i = 0; i < job->timetable.len; i++)
        strbuf_addf(sb, "%s%s", sb->len ? " | " : "", job->timetable.items[i]->schedule);
    if (!sb->len)
        strbuf_addch(sb, '-');
}

static void list_json(struct project *p, struct strbuf *out)
{
    project_load_imports(p);
    const struct graph *g = &p->graph;
    strbuf_addch(out, '[');
    for (size_t i = 0; i < g->jobs.len; i++) {
        const struct job *job = &g->jobs.items[i];
        strbuf_addstr(out, i ? ",\n{\"name\":" : "\n{\"name\":");
        json_quote(out, job->name, strlen(job->name));
        strbuf_addstr(out, ",\"file\":");
        json_quote(out, job->path, strlen(job->path));
        strbuf_addf(out, ",\"valid\":%s,\"not_run\":", job->invalid ? "false" : "true");
        if (job->blocked) {
            struct strbuf why = STRBUF_INIT;
            graph_blocked_reason(g, i, &why);
            json_quote(out, why.buf, why.len);
            strbuf_release(&why);
        } else {
            strbuf_addstr(out, "null");
        }
        if (job->broken) {
            strbuf_addch(out, '}'); /* its declaration could not be read: nothing more */
            continue;
        }
        strbuf_addstr(out, ",\"code_files\":[");
        struct sizelist files = {0};
        project_code_files(p, i, &files);
        for (size_t k = 0; k < files.len; k++) {
            const char *path = p->files.items[files.items[k]].path;
            if (k)
                strbuf_addch(out, ',');
            json_quote(out, path, strlen(path));
        }
        VEC_FREE(&files);
        char hex[33];
        fingerprint_hex(project_code_fingerprint(p, i), hex);
        strbuf_addf(out, "],\"code_fingerprint\":\"%s\",\"timetable\":[", hex);
        for (size_t k = 0; k < job->timetable.len; k++) {
            const struct timetable_entry *e = job->timetable.items[k];
            strbuf_addstr(out, k ? ",{\"id\":" : "{\"id\":");
            json_quote(out, e->id, strlen(e->id));
            strbuf_addstr(out, ",\"schedule\":");
            json_quote(out, e->schedule, strlen(e->schedule));
            json_field_raw(out, "kwargs", e->kwargs_json);
            strbuf_addch(out, '}');
        }
        strbuf_addstr(out, "],\"policy\":");
        const char *policy = policy_json_name(job_policy(job));
        json_quote(out, policy, strlen(policy));
        strbuf_addf(out, ",\"on_change\":%s,", job_on_change(job) ? "true" : "false");
        /* Not among the declaration's fields: those make its fingerprint, and a cap on
         * the log changes nothing a run makes. */
        strbuf_addf(out, "\"log_limit\":%lld,", (long long)job->decl->log_limit);
        decl_json_fields(job->decl, out);
        if (!job->decl->on)
            strbuf_addstr(out, ",\"on\":null"); /* decl_json_fields leaves it out then */
        strbuf_addch(out, '}');
    }
    strbuf_addstr(out, g->jobs.len ? "\n]\n" : "]\n");
}

int cli_list(const struct cli *c)
{
    struct project p;
    if (cli_load(c, &p) < 0) {
        project_release(&p);
        return EXIT_USAGE;
    }
    const struct graph *g = &p.graph;
    struct strbuf out = STRBUF_INIT;
    if (c->json) {
        list_json(&p, &out);
    } else if (c->names) {
        for (size_t i = 0; i < g->jobs.len; i++)
            strbuf_addf(&out, "%s\n", g->jobs.items[i].name);
    } else {
        /* Columns: name, file, dependencies, schedule, policy, tags; widths from the
         * data. */
        size_t n = g->jobs.len;
        char **cells = xcalloc(n * 3 + 1, sizeof(char *));
        size_t wname = 4, wfile = 4, wdeps = 12, wsched = 12, wpolicy = 6;
        for (size_t i = 0; i < n; i++) {
            const struct job *job = &g->jobs.items[i];
            struct strbuf sb = STRBUF_INIT;
            deps_text(job, g, &sb);
            cells[3 * i] = strbuf_detach(&sb);
            schedules_text(job, &sb);
            cells[3 * i + 1] = strbuf_detach(&sb);
            join(&job->decl->tags, ",", &sb);
            cells[3 * i + 2] = strbuf_detach(&sb);
            /* Values from declarations may hold control characters: shown escaped. */
            for (size_t k = 3 * i; k < 3 * i + 3; k++) {
                if (needs_escape(cells[k], strlen(cells[k]))) {
                    strbuf_add_printable(&sb, cells[k], strlen(cells[k]));
                    free(cells[k]);
                    cells[k] = strbuf_detach(&sb);
                }
            }
            size_t len = strlen(job->name);
            wname = len > wname ? len : wname;
            len = strlen(job->path);
            wfile = len > wfile ? len : wfile;
            len = strlen(cells[3 * i]);
            wdeps = len > wdeps ? len : wdeps;
            len = strlen(cells[3 * i + 1]);
            wsched = len > wsched ? len : wsched;
            len = job->broken ? 1 : strlen(job_policy_text(job));
            wpolicy = len > wpolicy ? len : wpolicy;
        }
        if (n)
            strbuf_addf(&out, "%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)wname, "NAME", (int)wfile,
                        "FILE", (int)wdeps, "DEPENDENCIES", (int)wsched, "SCHEDULE", (int)wpolicy,
                        "POLICY", "TAGS");
        for (size_t i = 0; i < n; i++) {
            const struct job *job = &g->jobs.items[i];
            strbuf_add_cell(&out, job->name, wname);
            strbuf_add_cell(&out, job->path, wfile);
            strbuf_add_cell(&out, cells[3 * i], wdeps);
            strbuf_add_cell(&out, cells[3 * i + 1], wsched);
            strbuf_add_cell(&out, job->broken ? "-" : job_policy_text(job), wpolicy);
            strbuf_addstr(&out, cells[3 * i + 2]);
            if (job->invalid) {
                strbuf_addstr(&out, "  (declaration has errors)");
            } else if (job->blocked) {
                strbuf_addstr(&out, "  (not run: ");
                graph_blocked_reason(g, i, &out);
                strbuf_addch(&out, ')');
            }
            strbuf_addch(&out, '\n');
            free(cells[3 * i]);
            free(cells[3 * i + 1]);
            free(cells[3 * i + 2]);
        }
        free(cells);
    }
    fwrite(out.buf ? out.buf : "", 1, out.len, stdout);
    strbuf_release(&out);
    int rc = p.diags.errors ? EXIT_USAGE : EXIT_OK;
    project_release_at_exit(&p);
    return rc;
}
