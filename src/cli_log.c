/* cli_log.c: `stau log`, `stau history`, `stau show`, `stau gc`, `stau restore`:
 * reading run records, logs and archives, and upkeep of the archive. */
#include "cli.h"
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "archiver.h"
#include "gc.h"
#include "git.h"
#include "lease.h"
#include "proc.h"
#include "state_file.h"
#include "stale.h"
#include "store.h"
#include "value.h"
#include "work.h"

enum { FOLLOW_POLL_MS = 200, GC_KEEP_LAST_DEFAULT = 10 };

/* The project (for its root and job names) and its state database. */
struct state {
    struct project project;
    struct store *store;
};

/* Load the project without printing its diagnostics (a broken declaration does
 * not stop reading the history) and open the state database; -1 after a message. */
static int state_open(const struct cli *c, struct state *s)
{
    memset(s, 0, sizeof(*s));
    if (project_load(&s->project, &c->project) < 0)
        return -1;
    /* No database and no job: this is no project (and none is made here). */
    if (!cli_state_exists(&s->project) && cli_no_jobs(c, &s->project) < 0)
        return -1;
    /* they only read (gc's writes fail with the database's own message): a state
     * folder that is read-only still shows its history, logs and archives */
    s->store = cli_open_store_to_read(&s->project);
    return s->store ? 0 : -1;
}

static void state_close(struct state *s)
{
    store_close(s->store);
    project_release_at_exit(&s->project);
}

/* A path stau recorded relative to the project root, as a path to open. */
static char *root_path(const struct state *s, const char *rel)
{
    return paths_resolve(s->project.root, rel);
}

/* When a file of a run is not here and the run ran on another host, say where it is
 * (copies of stau serve on several hosts keep their logs and archives each in its own
 * .stau/, unless --archive names one folder they share). */
static void elsewhere_hint(const struct run_record *r, const char *what, const char *recorded)
{
    struct owner self;
    owner_self(&self);
    if (!r->host || strcmp(r->host, self.host) == 0)
        return;
    fprintf(stderr,
            "  hint: run %lld ran on host '%s', not here ('%s'): its %s is on that host at "
            "'%s'; run this there, or give every copy one shared folder with --archive DIR\n",
            (long long)r->id, r->host, self.host, what, recorded);
}

static bool file_size(const char *path, int64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    *size = (int64_t)st.st_size;
    return true;
}

/* A run number: digits only. */
static bool parse_run_id(const char *arg, int64_t *id)
{
    size_t n = strspn(arg, "0123456789");
    if (n == 0 || arg[n] || n > 18)
        return false;
    *id = strtoll(arg, NULL, 10);
    return true;
}

/* The run with this id into *out: 0, or -1 after "no run N" or the store's message. */
static int find_run(struct state *s, int64_t id, struct run_record *out)
{
    int found = store_run(s->store, id, out);
    if (found < 0)
        return error("%s", store_error(s->store));
    if (!found) {
        cli_no_run(s->store, id);
        return -1;
    }
    return 0;
}

/* The argument of `show` and `restore`: an existing run's record; -1 after a message. */
static int run_argument(struct state *s, const char *arg, struct run_record *out)
{
    int64_t id;
    if (!parse_run_id(arg, &id)) {
        fprintf(stderr,
                "stau: error: '%s' is not a run number\n"
                "  hint: `stau history` lists the runs with their numbers\n",
                arg);
        return -1;
    }
    return find_run(s, id, out);
}

/* A job named on the command line: one the project has, or one with recorded
 * runs (its file may be gone). 1 when known, 0 after "no job named", -1. */
static int known_job(struct state *s, const char *name)
{
    if (graph_find(&s->project.graph, name) >= 0)
        return 1;
    struct run_record last = {0};
    int found = store_last_run(s->store, name, &last);
    run_record_release(&last);
    if (found < 0)
        return error("%s", store_error(s->store));
    if (found)
        return 1;
    const char *close = graph_closest(&s->project.graph, name, NULL);
    fprintf(stderr, "stau: error: no job named '%s'\n", name);
    if (close)
        fprintf(stderr, "  hint: did you mean '%s'?\n", close);
    else
        fprintf(stderr, "  hint: `stau list` shows the jobs\n");
    return 0;
}

/* "2026-11-27 22:47:11" in local time; "-" for 0. */
static void format_local_time(int64_t ms, struct strbuf *out)
{
    if (!ms) {
        strbuf_addch(out, '-');
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[64];
    if (!localtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
        strbuf_addf(out, "@%lld", (long long)t);
    else
        strbuf_addstr(out, buf);
}

/* How long the run took ("0.3s", "4m 2s"); "-" when it did not both start and end. */
static void format_duration(const struct run_record *run, struct strbuf *out)
{
    if (!run->started_at || !run->finished_at) {
        strbuf_addch(out, '-');
        return;
    }
    int64_t ms = run->finished_at - run->started_at;
    if (ms < 60000)
        strbuf_addf(out, "%.1fs", (double)(ms < 0 ? 0 : ms) / 1000);
    else
        stale_format_age(ms, out);
}

/* "0", "1", "signal 9", or "-" when the process did not end by itself. */
static void format_exit(const struct run_record *run, struct strbuf *out)
{
    if (run->signal)
        strbuf_addf(out, "signal %d", run->signal);
    else if (run->exit_code >= 0 && run->finished_at)
        strbuf_addf(out, "%d", run->exit_code);
    else
        strbuf_addch(out, '-');
}

/* A new line indented by `base` spaces plus two a level. */
static void add_indent(struct strbuf *out, int base, int depth)
{
    strbuf_addch(out, '\n');
    for (int i = 0; i < base + 2 * depth; i++)
        strbuf_addch(out, ' ');
}

/* Re-indent compact JSON, two spaces a level, every line starting with `base`
 * spaces (strings are copied untouched; empty [] and {} stay on one line). */
static void json_pretty(const char *json, int base, struct strbuf *out)
{
    int depth = 0;
    bool in_string = false;
    for (int i = 0; i < base; i++)
        strbuf_addch(out, ' ');
    for (const char *p = json; *p; p++) {
        char ch = *p;
        if (in_string) {
            strbuf_addch(out, ch);
            if (ch == '\\' && p[1])
                strbuf_addch(out, *++p);
            else if (ch == '"')
                in_string = false;
            continue;
        }
        switch (ch) {
        case '[':
        case '{':
            strbuf_addch(out, ch);
            if (p[1] == (ch == '[' ? ']' : '}'))
                strbuf_addch(out, *++p);
            else
                add_indent(out, base, ++depth);
            break;
        case ']':
        case '}':
            add_indent(out, base, --depth);
            strbuf_addch(out, ch);
            break;
        case ',':
            strbuf_addch(out, ch);
            add_indent(out, base, depth);
            break;
        case ':':
            strbuf_addstr(out, ": ");
            break;
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            break;
        default:
            in_string = ch == '"';
            strbuf_addch(out, ch);
        }
    }
}

/* Copy what the file holds from *offset on to stdout; false when it cannot be read,
 * with why said when it is there but no regular file (a link, a FIFO, a device). */
static bool copy_from(const char *path, long *offset, struct strbuf *why)
{
    int fd = state_file_open(path, 0, NULL, why);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    bool ok = fseek(f, *offset, SEEK_SET) == 0;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        fwrite(buf, 1, n, stdout);
        *offset += (long)n;
    }
    ok = ok && !ferror(f);
    fclose(f);
    fflush(stdout);
    return ok;
}

/* Print a run's log, following it while the run goes on; an exit status. */
static int print_log(struct state *s, struct run_record *run)
{
    char *log = run->log_path ? root_path(s, run->log_path) : NULL;
    long offset = 0;
    int rc = EXIT_OK;
    struct owner self;
    owner_self(&self);
    struct lease_probe probe = lease_probe_system();
    struct strbuf why = STRBUF_INIT;
    while (!run_status_finished(run->status)) {
        if (log)
            copy_from(log, &offset, &why);
        strbuf_reset(&why);
        if (owner_gone(&self, run, wall_clock_ms(), &probe)) {
            warn("run %lld of '%s' was left %s by a stau that is gone (pid %d on %s)",
                 (long long)run->id, run->job, run_status_name(run->status), run->owner_pid,
                 run->host ? run->host : "?");
            free(log);
            strbuf_release(&why);
            return EXIT_OK;
        }
        struct timespec pause = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&pause, NULL);
        int64_t id = run->id;
        run_record_release(run);
        if (find_run(s, id, run) < 0) {
            free(log);
            strbuf_release(&why);
            return EXIT_USAGE;
        }
        if (!log && run->log_path)
            log = root_path(s, run->log_path);
    }
    if (log && copy_from(log, &offset, &why)) {
        free(log);
        strbuf_release(&why);
        return rc;
    }
    /* A log refused is told unless the archive can stand in for it. */
    bool archived = offset == 0 && run->archive_path;
    if (archived && why.len) {
        char *archive = root_path(s, run->archive_path);
        archived = access(archive, F_OK) == 0;
        free(archive);
    }
    if (why.len && !archived) {
        error("cannot read the log of run %lld, '%s': %s", (long long)run->id, run->log_path,
              why.buf);
        rc = EXIT_USAGE;
    } else if (archived) {
        if (why.len)
            warn("ignoring the log '%s': %s; showing the one archived", run->log_path, why.buf);
        char *archive = root_path(s, run->archive_path);
        struct strbuf err = STRBUF_INIT;
        if (archiver_read_log(archive, stdout, &err) < 0) {
            error("%s", err.buf);
            if (access(archive, F_OK) != 0)
                elsewhere_hint(run, "archive", run->archive_path);
            rc = EXIT_USAGE;
        }
        strbuf_release(&err);
        free(archive);
    } else if (offset == 0) {
        if (!run->log_path || !run->started_at)
            fprintf(stderr, "stau: error: run %lld of '%s' never started; it has no log\n",
                    (long long)run->id, run->job);
        else
            fprintf(stderr,
                    "stau: error: the log of run %lld is gone: '%s' was removed and the run "
                    "has no archive\n",
                    (long long)run->id, run->log_path);
        if (run->log_path && run->started_at)
            elsewhere_hint(run, "log", run->log_path);
        rc = EXIT_USAGE;
    }
    free(log);
    strbuf_release(&why);
    return rc;
}

/* Whether a run has a log to show: it started (or runs) with one. A queued run, one
 * skipped or cancelled, a chunk without work IDs have none. */
static bool has_log(const struct run_record *r)
{
    return r->log_path && (r->started_at || r->status == RUN_RUNNING);
}

/* Whether a run ended without success by itself or by what befell it (failed, timed
 * out, interrupted, lost): what `stau log` alone shows. */
static bool did_not_succeed(const struct run_record *r)
{
    return r->status == RUN_FAILED || r->status == RUN_TIMED_OUT || r->status == RUN_INTERRUPTED ||
           r->status == RUN_LOST;
}

/* What the newest run of a history was (id 0: there is none). */
struct newest_run {
    int64_t id;
    enum run_status status;
};

/* The newest run (of job; NULL: of any) with a log that want accepts (NULL: any),
 * into *out, and what the newest run of all was. 1 when found, 0 when none, -1 after
 * a message. A short look first, then the whole history. */
static int newest_with_log(struct state *s, const char *job,
                           bool (*want)(const struct run_record *r), struct run_record *out,
                           struct newest_run *newest)
{
    for (size_t limit = 200;; limit = 0) {
        struct run_list runs = {0};
        if (store_history(s->store, job, limit, &runs) < 0) {
            run_list_release(&runs);
            return error("%s", store_error(s->store));
        }
        if (runs.len)
            *newest = (struct newest_run){runs.items[0].id, runs.items[0].status};
        int found = 0;
        for (size_t i = 0; i < runs.len && !found; i++) {
            if (has_log(&runs.items[i]) && (!want || want(&runs.items[i]))) {
                *out = runs.items[i];
                memset(&runs.items[i], 0, sizeof(runs.items[i]));
                found = 1;
            }
        }
        bool whole = limit == 0 || runs.len < limit;
        run_list_release(&runs);
        if (found || whole)
            return found;
    }
}

/* `stau log JOB`: its newest run with a log, saying which when a newer one has none. */
static int log_of_job(struct state *s, const char *job)
{
    struct run_record run = {0};
    struct newest_run newest = {0};
    int found = newest_with_log(s, job, NULL, &run, &newest);
    int rc = EXIT_USAGE;
    if (found < 0) {
        ;
    } else if (!newest.id) {
        fprintf(stderr, "stau: error: '%s' has not run yet\n  hint: stau run %s\n", job, job);
    } else if (!found) {
        fprintf(stderr,
                "stau: error: no run of '%s' has a log: the newest, run %lld, %s and never "
                "started\n  hint: `stau history %s` lists its runs\n",
                job, (long long)newest.id, run_status_said(newest.status), job);
    } else {
        if (run.id != newest.id)
            fprintf(stderr, "stau: run %lld; run %lld %s\n", (long long)run.id,
                    (long long)newest.id, run_status_said(newest.status));
        rc = print_log(s, &run);
    }
    run_record_release(&run);
    return rc;
}

/* `stau log`: the last run that did not succeed (failed, timed out, interrupted,
 * lost), saying which; none is no error. */
static int log_of_last_failure(struct state *s)
{
    struct run_record run = {0};
    struct newest_run newest = {0};
    int found = newest_with_log(s, NULL, did_not_succeed, &run, &newest);
    int rc = EXIT_USAGE;
    if (found == 0) {
        printf(newest.id ? "no run has failed\n" : "no run is recorded yet\n");
        rc = EXIT_OK;
    } else if (found > 0) {
        struct strbuf exit = STRBUF_INIT;
        if (run.status == RUN_FAILED) {
            strbuf_addstr(&exit, " (exit ");
            format_exit(&run, &exit);
            strbuf_addch(&exit, ')');
        }
        fprintf(stderr, "stau: run %lld of '%s', the last that did not succeed: %s%s\n",
                (long long)run.id, run.job, run_status_said(run.status), strbuf_str(&exit));
        strbuf_release(&exit);
        rc = print_log(s, &run);
    }
    run_record_release(&run);
    return rc;
}

int cli_log(const struct cli *c)
{
    static const char usage[] = "stau log [JOB|RUN]";
    if (c->arg_count > 1)
        return cli_usage_error("'log' takes one job or run number", usage);
    struct state s;
    if (state_open(c, &s) < 0) {
        state_close(&s);
        return EXIT_USAGE;
    }
    const char *arg = c->arg_count ? c->args[0] : NULL;
    struct run_record run = {0};
    int64_t id;
    int rc = EXIT_USAGE;
    if (!arg) {
        rc = log_of_last_failure(&s);
    } else if (graph_find(&s.project.graph, arg) < 0 && parse_run_id(arg, &id)) {
        if (find_run(&s, id, &run) == 0)
            rc = print_log(&s, &run);
    } else if (known_job(&s, arg) == 1) {
        rc = log_of_job(&s, arg);
    }
    run_record_release(&run);
    state_close(&s);
    return rc;
}

int cli_history(const struct cli *c)
{
    if (c->arg_count > 1)
        return cli_usage_error("'history' takes at most one job",
                               "stau history [JOB] [--limit N] [--json]");
    struct state s;
    if (state_open(c, &s) < 0) {
        state_close(&s);
        return EXIT_USAGE;
    }
    const char *job = c->arg_count ? c->args[0] : NULL;
    struct run_list runs = {0};
    int rc = EXIT_USAGE;
    if (job && known_job(&s, job) != 1)
        goto out;
    if (store_history(s.store, job, (size_t)c->limit, &runs) < 0) {
        error("%s", store_error(s.store));
        goto out;
    }
    rc = EXIT_OK;
    struct strbuf sb = STRBUF_INIT;
    if (c->json) {
        strbuf_addch(&sb, '[');
        for (size_t i = 0; i < runs.len; i++) {
            strbuf_addstr(&sb, i ? ",\n" : "\n");
            strbuf_addch(&sb, '{');
            run_record_json_fields(&runs.items[i], &sb);
            strbuf_addch(&sb, '}');
        }
        strbuf_addstr(&sb, runs.len ? "\n]\n" : "]\n");
        fwrite(sb.buf, 1, sb.len, stdout);
    } else if (!runs.len) {
        if (job)
            printf("no runs of '%s' yet\n", job);
        else
            printf("no runs yet\n");
    } else {
        int width = 3;
        bool chunked = false; /* a WORK IDS column only when some run has work IDs */
        for (size_t i = 0; i < runs.len; i++) {
            /* A damaged or foreign database may hold anything: shown escaped. */
            char *name = runs.items[i].job;
            if (needs_escape(name, strlen(name))) {
                strbuf_reset(&sb);
                strbuf_add_printable(&sb, name, strlen(name));
                free(name);
                runs.items[i].job = xstrdup(sb.buf);
            }
            if ((int)strlen(runs.items[i].job) > width)
                width = (int)strlen(runs.items[i].job);
            chunked |= runs.items[i].work_ids_json != NULL;
        }
        printf("%6s  %-*s  %3s  %-11s  %-19s  %8s  %s%s\n", "RUN", width, "JOB", "TRY", "STATUS",
               "STARTED", "DURATION", chunked ? "EXIT      " : "EXIT", chunked ? "WORK IDS" : "");
        for (size_t i = 0; i < runs.len; i++) {
            const struct run_record *r = &runs.items[i];
            strbuf_reset(&sb);
            format_local_time(r->started_at, &sb);
            size_t started_end = sb.len;
            strbuf_addch(&sb, '\0');
            format_duration(r, &sb);
            size_t duration_end = sb.len;
            strbuf_addch(&sb, '\0');
            format_exit(r, &sb);
            size_t exit_end = sb.len;
            strbuf_addch(&sb, '\0');
            if (r->work_ids_json) {
                work_ids_describe_json(r->work_ids_json, 40, &sb);
                if (r->chunk)
                    strbuf_addf(&sb, " (chunk %d/%d)", r->chunk, r->chunks);
            }
            printf("%6lld  %-*s  %3d  %-11s  %-19s  %8s  ", (long long)r->id, width, r->job,
                   r->attempt, run_status_name(r->status), sb.buf, sb.buf + started_end + 1);
            if (chunked && sb.buf[exit_end + 1])
                printf("%-8s  %s\n", sb.buf + duration_end + 1, sb.buf + exit_end + 1);
            else
                printf("%s\n", sb.buf + duration_end + 1);
        }
    }
    strbuf_release(&sb);
out:
    run_list_release(&runs);
    state_close(&s);
    return rc;
}

static const char *member_type_name(enum archiver_member_type type)
{
    switch (type) {
    case ARCHIVER_MEMBER_FILE:
        return "file";
    case ARCHIVER_MEMBER_DIR:
        return "folder";
    case ARCHIVER_MEMBER_SYMLINK:
        return "symlink";
    case ARCHIVER_MEMBER_HARDLINK:
        return "hardlink";
    default:
        return "other";
    }
}

/* value as a terminal may show it (a damaged database may hold anything). */
static const char *shown(struct strbuf *sb, const char *value)
{
    strbuf_reset(sb);
    strbuf_add_terminal_text(sb, value, strlen(value));
    return strbuf_str(sb);
}

static void show_line(const char *label, const char *value)
{
    struct strbuf sb = STRBUF_INIT;
    printf("  %-13s %s\n", label, value && *value ? shown(&sb, value) : "-");
    strbuf_release(&sb);
}

static void show_time(const char *label, int64_t ms)
{
    struct strbuf sb = STRBUF_INIT;
    format_local_time(ms, &sb);
    if (ms)
        strbuf_addf(&sb, " (%lld)", (long long)ms);
    show_line(label, sb.buf);
    strbuf_release(&sb);
}

/* The reasons a run ran (its reasons JSON) as `stau why` says them, a line each:
 * "    forced: asked for with `stau run`", the timetable entry after one it names. -1
 * when the text is not an array of reasons as stau writes them. */
static int reasons_text(const char *json, struct strbuf *out)
{
    struct strbuf item = STRBUF_INIT, raw = STRBUF_INIT, name = STRBUF_INIT, evidence = STRBUF_INIT,
                  entry = STRBUF_INIT;
    int rc = json_array_item(json, 0, &item) < 0 ? -1 : 0;
    strbuf_reset(&item);
    for (size_t i = 0; rc == 0 && json_array_item(json, i, &item) == 1; i++) {
        strbuf_reset(&name);
        strbuf_reset(&evidence);
        strbuf_reset(&entry);
        if (json_object_get(item.buf, "reason", &raw) != 1 || json_string_decode(raw.buf, &name))
            rc = -1;
        strbuf_reset(&raw);
        if (rc == 0 && (json_object_get(item.buf, "evidence", &raw) != 1 ||
                        json_string_decode(raw.buf, &evidence)))
            rc = -1;
        strbuf_reset(&raw);
        if (rc == 0 && json_object_get(item.buf, "entry", &raw) == 1 &&
            json_string_decode(raw.buf, &entry))
            rc = -1;
        strbuf_reset(&raw);
        if (rc == 0) {
            strbuf_addf(out, "    %s: %s", strbuf_str(&name), strbuf_str(&evidence));
            if (entry.len && !strstr(strbuf_str(&evidence), entry.buf))
                strbuf_addf(out, " (timetable entry '%s')", entry.buf);
            strbuf_addch(out, '\n');
        }
        strbuf_reset(&item);
    }
    if (rc == 0 && !out->len)
        strbuf_addstr(out, "    none\n");
    strbuf_release(&item);
    strbuf_release(&raw);
    strbuf_release(&name);
    strbuf_release(&evidence);
    strbuf_release(&entry);
    return rc;
}

/* The strings of a JSON array of them, comma-separated ("A, B"); nothing for NULL. */
static void names_of(const char *json, struct strbuf *out)
{
    struct strbuf item = STRBUF_INIT, text = STRBUF_INIT;
    for (size_t i = 0; json && json_array_item(json, i, &item) == 1; i++) {
        strbuf_reset(&text);
        if (json_string_decode(item.buf, &text) == 0)
            strbuf_addf(out, "%s%s", out->len ? ", " : "", strbuf_str(&text));
        strbuf_reset(&item);
    }
    strbuf_release(&item);
    strbuf_release(&text);
}

/* The record as text; the archive's members (or why they are missing) at the end. */
static void show_text(struct state *s, const struct run_record *r,
                      const struct archiver_members *members, const char *archive_problem)
{
    struct strbuf sb = STRBUF_INIT;
    printf("run %lld\n", (long long)r->id);
    show_line("job:", r->job);
    strbuf_addf(&sb, "%d", r->attempt);
    show_line("attempt:", sb.buf);
    show_line("status:", run_status_name(r->status));
    strbuf_reset(&sb);
    format_exit(r, &sb);
    show_line("exit:", sb.buf);
    show_time("queued:", r->queued_at);
    show_time("started:", r->started_at);
    show_time("finished:", r->finished_at);
    strbuf_reset(&sb);
    format_duration(r, &sb);
    show_line("duration:", sb.buf);
    show_line("host:", r->host);
    strbuf_reset(&sb);
    strbuf_addf(&sb, "%d", r->owner_pid);
    if (r->owner_start)
        strbuf_addf(&sb, " (process start %lld)", (long long)r->owner_start);
    show_line("stau pid:", r->owner_pid ? sb.buf : NULL);
    strbuf_reset(&sb);
    strbuf_addf(&sb, "%d", r->pid);
    show_line("job pid:", r->pid ? sb.buf : NULL);
    show_time("heartbeat:", r->heartbeat_at);
    strbuf_reset(&sb);
    if (r->git_commit) {
        strbuf_addstr(&sb, r->git_commit);
        if (r->git_dirty == RUN_GIT_CLEAN)
            strbuf_addstr(&sb, " (clean)");
        git_describe_changes(r->git_dirty == RUN_GIT_DIRTY ? 1 : 0, r->git_changes_json, &sb);
    }
    show_line("git commit:", sb.buf);
    strbuf_reset(&sb);
    if (r->kwargs_json)
        strbuf_addstr(&sb, r->kwargs_json);
    if (r->kwargs_given_json)
        strbuf_addf(&sb, " (given on the command line: %s)", r->kwargs_given_json);
    show_line("kwargs:", sb.buf);
    strbuf_reset(&sb);
    names_of(r->env_names_json, &sb);
    if (sb.len)
        strbuf_addstr(&sb, " (from the env file; values are never kept)");
    show_line("env:", sb.buf);
    show_line("work ids:", r->work_ids_json);
    strbuf_reset(&sb);
    if (r->chunk)
        strbuf_addf(&sb, "%d of %d (batch %lld)", r->chunk, r->chunks, (long long)r->batch);
    show_line("chunk:", r->chunk ? sb.buf : NULL);
    strbuf_reset(&sb);
    strbuf_addf(&sb, "%lld", (long long)r->rerun_of);
    show_line("rerun of:", r->rerun_of ? sb.buf : NULL);
    printf("  fingerprints:\n");
    printf("    %-12s %s\n", "code:", r->code_fingerprint ? r->code_fingerprint : "-");
    printf("    %-12s %s\n", "declaration:", r->config_fingerprint ? r->config_fingerprint : "-");
    printf("    %-12s %s\n", "inputs:", r->inputs_fingerprint ? r->inputs_fingerprint : "-");
    printf("    %-12s %s\n", "outputs:", r->outputs_fingerprint ? r->outputs_fingerprint : "-");
    strbuf_reset(&sb);
    if (r->reasons_json && *r->reasons_json && reasons_text(r->reasons_json, &sb) == 0) {
        printf("  reasons:\n%s", sb.buf);
    } else if (r->reasons_json && *r->reasons_json) {
        /* not what stau writes: shown as it is */
        strbuf_reset(&sb);
        json_pretty(r->reasons_json, 4, &sb);
        printf("  reasons:\n%s\n", sb.buf);
    } else {
        show_line("reasons:", NULL);
    }
    int64_t size;
    if (r->log_path) {
        char *log = root_path(s, r->log_path);
        bool there = file_size(log, &size);
        printf("  %-13s %s%s\n", "log:", r->log_path, there ? "" : " (removed)");
        free(log);
    } else {
        show_line("log:", NULL);
    }
    if (!r->archive_path) {
        show_line("archive:", NULL);
    } else if (archive_problem) {
        printf("  %-13s %s (%s)\n", "archive:", r->archive_path, archive_problem);
    } else {
        printf("  %-13s %s\n", "archive:", r->archive_path);
        for (size_t i = 0; i < members->len; i++) {
            const struct archiver_member *m = &members->items[i];
            printf("    %-8s %10lld  %s", member_type_name(m->type), (long long)m->size,
                   shown(&sb, m->path));
            if (m->link_target)
                printf(" -> %s", shown(&sb, m->link_target));
            printf("\n");
        }
    }
    strbuf_release(&sb);
}

int cli_show(const struct cli *c)
{
    if (c->arg_count != 1)
        return cli_usage_error(c->arg_count ? "'show' takes one run number"
                                            : "'show' needs a run number",
                               "stau show RUN [--json]");
    struct state s;
    if (state_open(c, &s) < 0) {
        state_close(&s);
        return EXIT_USAGE;
    }
    struct run_record run = {0};
    if (run_argument(&s, c->args[0], &run) < 0) {
        state_close(&s);
        return EXIT_USAGE;
    }
    struct archiver_members members = {0};
    struct strbuf err = STRBUF_INIT;
    const char *problem = NULL;
    int rc = EXIT_OK;
    if (run.archive_path) {
        char *archive = root_path(&s, run.archive_path);
        if (access(archive, F_OK) != 0) {
            problem = "missing";
            elsewhere_hint(&run, "archive", run.archive_path);
        } else if (archiver_list(archive, &members, &err) < 0) {
            problem = "unreadable";
            rc = EXIT_USAGE;
        }
        free(archive);
    }
    if (c->json) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addch(&sb, '{');
        run_record_json_fields(&run, &sb);
        strbuf_addstr(&sb, ",\"archive_members\":");
        if (!run.archive_path || problem)
            strbuf_addstr(&sb, "null");
        else
            strbuf_addch(&sb, '[');
        for (size_t i = 0; run.archive_path && !problem && i < members.len; i++) {
            const struct archiver_member *m = &members.items[i];
            strbuf_addstr(&sb, i ? ",{\"path\":" : "{\"path\":");
            json_quote(&sb, m->path, strlen(m->path));
            strbuf_addf(&sb, ",\"type\":\"%s\",\"size\":%lld", member_type_name(m->type),
                        (long long)m->size);
            json_field_string(&sb, "link_target", m->link_target);
            strbuf_addch(&sb, '}');
        }
        if (run.archive_path && !problem)
            strbuf_addch(&sb, ']');
        strbuf_addstr(&sb, "}\n");
        fwrite(sb.buf, 1, sb.len, stdout);
        strbuf_release(&sb);
    } else {
        show_text(&s, &run, &members, problem);
    }
    if (err.len)
        error("%s", err.buf);
    strbuf_release(&err);
    archiver_members_release(&members);
    run_record_release(&run);
    state_close(&s);
    return rc;
}

/* The most runs gc reads in one request: $STAU_GC_BATCH when it is a number above 0
 * (tests move the pages' seams with it), else gc's own. */
static size_t gc_batch(void)
{
    const char *text = getenv("STAU_GC_BATCH");
    char *end;
    unsigned long long n = text && *text ? strtoull(text, &end, 10) : 0;
    return n > 0 && n <= 1000000 && *end == '\0' ? (size_t)n : 0;
}

int cli_gc(const struct cli *c)
{
    if (c->arg_count)
        return cli_usage_error("'gc' takes no arguments",
                               "stau gc [-n] [--keep-days N] [--keep-last N]");
    struct state s;
    if (state_open(c, &s) < 0) {
        state_close(&s);
        return EXIT_USAGE;
    }
    struct owner self;
    owner_self(&self);
    struct gc_options opt = {
        .older_than = c->keep_days_given ? wall_clock_ms() - c->keep_days * 86400000LL : INT64_MAX,
        .keep_last = c->keep_last_given ? (size_t)c->keep_last : GC_KEEP_LAST_DEFAULT,
        .dry_run = c->dry_run,
        .batch = gc_batch(),
        .host = self.host,
    };
    struct gc_result done;
    int rc = EXIT_OK;
    if (gc_collect(s.store, s.project.root, &opt, &done) < 0) {
        rc = EXIT_USAGE;
    } else {
        if (!done.archives && !done.logs)
            printf("gc: nothing to remove\n");
        else
            printf("gc: %s %zu %s and %zu %s, %s %lld bytes\n",
                   c->dry_run ? "would remove" : "removed", done.archives,
                   done.archives == 1 ? "archive" : "archives", done.logs,
                   done.logs == 1 ? "log" : "logs", c->dry_run ? "freeing" : "freed",
                   (long long)done.freed);
        rc = done.failed ? EXIT_USAGE : done.unreadable ? EXIT_JOB_FAILED : EXIT_OK;
    }
    state_close(&s);
    return rc;
}

int cli_restore(const struct cli *c)
{
    static const char usage[] = "stau restore RUN [--to DIR]";
    if (c->arg_count != 1)
        return cli_usage_error(c->arg_count ? "'restore' takes one run number"
                                            : "'restore' needs a run number",
                               usage);
    struct state s;
    if (state_open(c, &s) < 0) {
        state_close(&s);
        return EXIT_USAGE;
    }
    struct run_record run = {0};
    int rc = EXIT_USAGE;
    if (run_argument(&s, c->args[0], &run) < 0)
        goto out;
    if (!run_status_finished(run.status)) {
        fprintf(stderr, "stau: error: run %lld of '%s' is still %s; it has no archive yet\n",
                (long long)run.id, run.job, run_status_name(run.status));
        goto out;
    }
    if (!run.archive_path) {
        fprintf(stderr,
                "stau: error: run %lld of '%s' has no archive\n"
                "  hint: `stau gc` removed it, or it could not be written (see `stau show %lld`)\n",
                (long long)run.id, run.job, (long long)run.id);
        goto out;
    }
    /* The limit: --limit, else $STAU_RESTORE_LIMIT, else 1 GiB. */
    struct archiver_restore_options opt = {.limit = ARCHIVER_RESTORE_LIMIT};
    const char *limit = c->restore_limit ? c->restore_limit : getenv("STAU_RESTORE_LIMIT");
    if (limit && *limit && parse_size(limit, &opt.limit) < 0) {
        fprintf(stderr,
                "stau: error: STAU_RESTORE_LIMIT='%s' is no size\n"
                "  hint: a number of bytes, or one with K, M, G or T (500M, 4G); 0: no limit\n",
                limit);
        goto out;
    }
    char *archive = root_path(&s, run.archive_path);
    const char *target = c->to ? c->to : s.project.root;
    struct archiver_members members = {0};
    struct strbuf err = STRBUF_INIT;
    if (archiver_list(archive, &members, &err) == 0 &&
        archiver_restore_with(archive, target, &opt, &err) == 0) {
        size_t files = 0;
        for (size_t i = 0; i < members.len; i++)
            if (starts_with(members.items[i].path, "outputs/") &&
                members.items[i].type != ARCHIVER_MEMBER_DIR)
                files++;
        if (!files)
            printf("run %lld of '%s' archived no outputs (it left none of those declared)\n",
                   (long long)run.id, run.job);
        else
            printf("restored %zu %s of run %lld of '%s' into %s\n", files,
                   files == 1 ? "file" : "files", (long long)run.id, run.job, target);
        rc = EXIT_OK;
    } else {
        error("%s", err.buf);
        if (opt.over_limit)
            fprintf(stderr,
                    "  hint: if that is what run %lld made, raise the limit: `stau restore %lld "
                    "--limit 4G` or STAU_RESTORE_LIMIT=4G (0: no limit)\n",
                    (long long)run.id, (long long)run.id);
        else if (access(archive, F_OK) != 0)
            elsewhere_hint(&run, "archive", run.archive_path);
    }
    strbuf_release(&err);
    archiver_members_release(&members);
    free(archive);
out:
    run_record_release(&run);
    state_close(&s);
    return rc;
}
