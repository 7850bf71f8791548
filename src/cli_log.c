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
#include "lease.h"
#include "proc.h"
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

/* Whether a recorded path may be removed by gc: inside .stau/, without "..". */
static bool removable(const char *rel)
{
    return paths_is_state(rel);
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

/* Copy what the file holds from *offset on to stdout; false when it cannot be read. */
static bool copy_from(const char *path, long *offset)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
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
    while (!run_status_finished(run->status)) {
        if (log)
            copy_from(log, &offset);
        if (owner_gone(&self, run, wall_clock_ms(), &probe)) {
            warn("run %lld of '%s' was left %s by a stau that is gone (pid %d on %s)",
                 (long long)run->id, run->job, run_status_name(run->status), run->owner_pid,
                 run->host ? run->host : "?");
            free(log);
            return EXIT_OK;
        }
        struct timespec pause = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&pause, NULL);
        int64_t id = run->id;
        run_record_release(run);
        if (find_run(s, id, run) < 0) {
            free(log);
            return EXIT_USAGE;
        }
        if (!log && run->log_path)
            log = root_path(s, run->log_path);
    }
    if (log && copy_from(log, &offset)) {
        free(log);
        return rc;
    }
    if (offset == 0 && run->archive_path) {
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

static void show_line(const char *label, const char *value)
{
    printf("  %-13s %s\n", label, value && *value ? value : "-");
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
    show_line("git commit:", r->git_commit);
    show_line("kwargs:", r->kwargs_json);
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
    if (r->reasons_json && *r->reasons_json) {
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
            printf("    %-8s %10lld  %s", member_type_name(m->type), (long long)m->size, m->path);
            if (m->link_target)
                printf(" -> %s", m->link_target);
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

/* Remove (or with dry_run, only measure) one file gc chose; adds its bytes to *freed.
 * 1 when removed, 0 when already gone, -1 after a message. */
static int gc_remove(const struct state *s, const char *rel, const char *what, bool dry_run,
                     int64_t *freed)
{
    char *path = root_path(s, rel);
    int64_t size = 0;
    int rc = 1;
    if (!file_size(path, &size)) {
        rc = 0;
    } else if (!dry_run && unlink(path) != 0 && errno != ENOENT) {
        rc = error("cannot remove '%s':", path);
    } else {
        printf("%s %s %s (%lld bytes)\n", dry_run ? "would remove" : "removed", what, rel,
               (long long)size);
        *freed += size;
    }
    free(path);
    return rc;
}

/* Count what gc_remove did: a file removed in *count, a failure in *rc. */
static void tally(int removed, size_t *count, int *rc)
{
    if (removed < 0)
        *rc = EXIT_USAGE;
    else
        *count += (size_t)removed;
}

/* Whether gc must keep this run's archive: it is its job's last success, or a chunk
 * of it (or that cannot be told, after a message). */
static bool last_success(struct state *s, const struct run_record *run)
{
    struct run_record last = {0};
    int found = work_last_success(s->store, run->job, &last);
    if (found < 0)
        error("%s", store_error(s->store));
    bool keep = found < 0 ||
                (found == 1 && (last.id == run->id || (last.chunks && last.batch == run->batch)));
    run_record_release(&last);
    return keep;
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
    int64_t older_than =
        c->keep_days_given ? wall_clock_ms() - c->keep_days * 86400000LL : INT64_MAX;
    size_t keep_last = c->keep_last_given ? (size_t)c->keep_last : GC_KEEP_LAST_DEFAULT;
    struct run_list doomed = {0}, all = {0};
    int rc = EXIT_OK;
    size_t archives = 0, logs = 0;
    int64_t freed = 0;
    if (store_runs_for_gc(s.store, older_than, keep_last, &doomed) < 0 ||
        store_history(s.store, NULL, 0, &all) < 0) {
        error("%s", store_error(s.store));
        rc = EXIT_USAGE;
        goto out;
    }
    /* First, oldest first, the logs of runs whose archive is there: it holds the log,
     * once it reads back whole (else the log is the run's last copy). */
    size_t unreadable = 0;
    for (size_t i = all.len; i-- > 0;) {
        const struct run_record *r = &all.items[i];
        if (!r->archive_path || !removable(r->log_path))
            continue;
        char *archive = root_path(&s, r->archive_path);
        char *log = root_path(&s, r->log_path);
        int64_t size;
        bool archived = file_size(archive, &size) && file_size(log, &size);
        free(log);
        struct strbuf err = STRBUF_INIT;
        if (archived && archiver_verify(archive, &err) < 0) {
            fprintf(stderr,
                    "stau: error: the archive of run %lld of '%s' is unreadable: %s\n"
                    "  hint: its log '%s' is kept, the run's last whole copy of it (`stau log "
                    "%lld`); the outputs in the archive cannot be restored\n",
                    (long long)r->id, r->job, err.buf, r->log_path, (long long)r->id);
            unreadable++;
        } else if (archived) {
            tally(gc_remove(&s, r->log_path, "log", c->dry_run, &freed), &logs, &rc);
        }
        strbuf_release(&err);
        free(archive);
    }
    /* Runs without an archive (never started, or not archived) hold their log
     * alone: it goes by the archives' rules, age and count, newest kept. */
    struct strmap seen = {0};
    size_t *per_job = xcalloc(all.len + 1, sizeof(size_t));
    size_t jobs = 0;
    for (size_t i = 0; i < all.len; i++) {
        const struct run_record *r = &all.items[i];
        size_t k;
        if (!strmap_get(&seen, r->job, strlen(r->job), &k)) {
            k = jobs++;
            strmap_put(&seen, r->job, strlen(r->job), k);
        }
        size_t newer = per_job[k]++;
        if (!r->archive_path && run_status_finished(r->status) && removable(r->log_path) &&
            newer >= keep_last && r->finished_at < older_than)
            tally(gc_remove(&s, r->log_path, "log", c->dry_run, &freed), &logs, &rc);
    }
    free(per_job);
    strmap_release(&seen);
    /* Then the archives the store selects, except each job's last success. */
    for (size_t i = 0; i < doomed.len; i++) {
        const struct run_record *r = &doomed.items[i];
        if (!removable(r->archive_path) || last_success(&s, r))
            continue;
        int removed = gc_remove(&s, r->archive_path, "archive", c->dry_run, &freed);
        if (removed < 0) {
            rc = EXIT_USAGE;
            continue;
        }
        archives += (size_t)removed;
        if (!c->dry_run && store_set_archive(s.store, r->id, NULL) < 0) {
            error("%s", store_error(s.store));
            rc = EXIT_USAGE;
        }
    }
    if (!archives && !logs)
        printf("gc: nothing to remove\n");
    else
        printf("gc: %s %zu %s and %zu %s, %s %lld bytes\n", c->dry_run ? "would remove" : "removed",
               archives, archives == 1 ? "archive" : "archives", logs, logs == 1 ? "log" : "logs",
               c->dry_run ? "freeing" : "freed", (long long)freed);
    if (unreadable && rc == EXIT_OK)
        rc = EXIT_JOB_FAILED;
out:
    run_list_release(&doomed);
    run_list_release(&all);
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
    char *archive = root_path(&s, run.archive_path);
    const char *target = c->to ? c->to : s.project.root;
    struct archiver_members members = {0};
    struct strbuf err = STRBUF_INIT;
    if (archiver_list(archive, &members, &err) == 0 &&
        archiver_restore(archive, target, &err) == 0) {
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
        if (access(archive, F_OK) != 0)
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
