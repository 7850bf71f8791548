/* status.c: the one-off stau's reporter (see status.h). */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "state_file.h"

enum { LOG_TAIL_LINES = 12 };

/* A failed run, kept for the summary. */
struct failed_run {
    char *label, *failure, *log_path, *root;
};

struct status {
    bool tty;
    bool color;  /* colour the outcomes (a terminal, no NO_COLOR) */
    int columns; /* the terminal's width (0: unknown) */
    VEC(struct failed_run) failures;
};

struct status *status_new(bool tty)
{
    struct status *s = xcalloc(1, sizeof(*s));
    s->tty = tty;
    s->color = tty && use_color(STDOUT_FILENO);
    struct winsize size;
    if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0)
        s->columns = size.ws_col;
    return s;
}

/* On a terminal, wipe the status line before a line of its own. */
static void clear_line(const struct status *s)
{
    if (s->tty)
        printf("\r\033[K");
}

/* On a terminal, the one status line, redrawn: "[12/40 3 running] sales.report 4.2s",
 * naming what has run longest, and the next retry's wait ("sales.daily retry 2 in
 * 38s"), cut to the terminal's width. */
static void on_progress(void *ctx, const struct engine_progress *pr)
{
    struct status *s = ctx;
    if (!s->tty)
        return;
    struct strbuf line = STRBUF_INIT;
    strbuf_addf(&line, "[%zu/%zu %zu running]", pr->done, pr->count, pr->running);
    if (pr->longest)
        strbuf_addf(&line, " %s %.1fs", pr->longest, (double)pr->longest_ms / 1000);
    if (pr->retrying && pr->retry_in_ms > 0)
        strbuf_addf(&line, "%s %s retry %d in %llds", pr->longest ? ";" : "", pr->retrying,
                    pr->retry, (long long)((pr->retry_in_ms + 999) / 1000));
    else if (pr->retrying)
        strbuf_addf(&line, "%s %s retry %d waits for a slot", pr->longest ? ";" : "", pr->retrying,
                    pr->retry);
    int width = s->columns > 1 ? s->columns - 1 : 79;
    printf("\r\033[K%.*s", width, line.buf);
    fflush(stdout);
    strbuf_release(&line);
}

/* text in an SGR colour on a colour terminal ("32" green, "31" red, "33" yellow). */
static void print_colored(const struct status *s, const char *sgr, const char *text)
{
    if (s->color)
        printf("\033[%sm%s\033[0m", sgr, text);
    else
        fputs(text, stdout);
}

/* " (run N)" after a line's words; nothing when no run was recorded. */
static void print_run_id(int64_t run_id)
{
    if (run_id)
        printf(" (run %lld)", (long long)run_id);
}

/* " after 2 retries" for a run that was not the first attempt. */
static void print_retries(int attempt)
{
    if (attempt > 1)
        printf(" after %d %s", attempt - 1, attempt == 2 ? "retry" : "retries");
}

/* A finished run's line (README "What stau prints"):
 *   [k/N] LABEL ok 0.2s (run 5)
 *   [k/N] LABEL ok 3.1s after 2 retries (run 9)
 *   [k/N] LABEL failed (exit 1) 3.2s: run 37, stau log 37
 *   [k/N] LABEL skipped: WHY (run 12) */
static void on_finished(void *ctx, const struct engine_run *run, const struct engine_progress *pr)
{
    struct status *s = ctx;
    clear_line(s);
    printf("[%zu/%zu] %s ", pr->done, pr->count, run->label);
    if (run->result == RUN_SKIPPED || run->result == RUN_CANCELLED) {
        /* A chunk whose IDs' dependency failed: told as a skipped job is; a cancelled
         * master (it chose no work IDs) alike, in its own word. */
        const char *word = run_status_name(run->result), *why = run->failure ? run->failure : "";
        size_t len = strlen(word);
        if (strncmp(why, word, len) == 0 && strncmp(why + len, ": ", 2) == 0)
            why += len + 2;
        print_colored(s, "33", word);
        printf(": %s", why);
        print_run_id(run->run_id);
        putchar('\n');
        fflush(stdout);
        return;
    }
    if (run->result == RUN_SUCCEEDED) {
        print_colored(s, "32", "ok");
        if (!run->log_path)
            printf(": no work IDs, nothing to run");
        else
            printf(" %.1fs", (double)run->ms / 1000);
        print_retries(run->attempt);
        print_run_id(run->run_id);
        putchar('\n');
    } else {
        const char *failure = run->failure ? run->failure : run_status_name(run->result);
        /* Red for what the job did (failed, timed out), yellow for what befell it. */
        bool befell = run->result == RUN_INTERRUPTED || run->result == RUN_LOST;
        print_colored(s, befell ? "33" : "31", failure);
        /* (A timeout's words carry its time.) */
        if (run->result != RUN_TIMED_OUT)
            printf(" %.1fs", (double)run->ms / 1000);
        print_retries(run->attempt);
        if (!run->run_id)
            printf(" (not recorded)\n");
        else if (run->log_path && run->result != RUN_LOST)
            printf(": run %lld, stau log %lld\n", (long long)run->run_id, (long long)run->run_id);
        else
            printf(": run %lld\n", (long long)run->run_id);
        struct failed_run f = {xstrdup(run->label), xstrdup(failure),
                               run->log_path ? xstrdup(run->log_path) : NULL,
                               xstrdup(run->project_root)};
        VEC_PUSH(&s->failures, f);
    }
    fflush(stdout);
}

/* "[N/M] JOB WORDS: WHY (run N)" for a job that did not run, WORDS coloured. */
static void job_line(struct status *s, const struct engine_progress *pr, const char *job,
                     const char *sgr, const char *words, const char *why, int64_t run_id)
{
    clear_line(s);
    printf("[%zu/%zu] %s ", pr->done, pr->count, job);
    print_colored(s, sgr, words);
    printf(": %s", why);
    print_run_id(run_id);
    putchar('\n');
    fflush(stdout);
}

static void on_skipped(void *ctx, const char *job, const char *why, int64_t run_id,
                       const struct engine_progress *pr)
{
    job_line(ctx, pr, job, "33", "skipped", why, run_id);
}

static void on_cancelled(void *ctx, const char *job, const char *why, int64_t run_id,
                         const struct engine_progress *pr)
{
    job_line(ctx, pr, job, "33", "cancelled", why, run_id);
}

static void on_up_to_date(void *ctx, const char *job, const char *why, int64_t run_id,
                          const struct engine_progress *pr)
{
    job_line(ctx, pr, job, "32", "up to date", why, run_id);
}

/* A run that never started: "[N/M] LABEL not started: stau was interrupted (run 8)". */
static void on_stopped(void *ctx, const char *label, const char *what, int64_t run_id,
                       const struct engine_progress *pr)
{
    struct status *s = ctx;
    const char *colon = strstr(what, ": ");
    size_t words = colon ? (size_t)(colon - what) : strlen(what);
    char *head = xprintf("%.*s", (int)words, what);
    job_line(s, pr, label, "33", head, colon ? colon + 2 : "", run_id);
    free(head);
}

/* Another stau's run of a job: waiting for it untold in the count; what came of it
 * ("[2/3] a run 1 of another stau ended: succeeded") counted. */
static void on_held(void *ctx, const char *job, const char *what, bool done,
                    const struct engine_progress *pr)
{
    struct status *s = ctx;
    clear_line(s);
    if (done)
        printf("[%zu/%zu] ", pr->done, pr->count);
    printf("%s %s\n", job, what);
    fflush(stdout);
}

static void on_retry(void *ctx, const struct engine_run *run, double delay_s, int next_attempt,
                     int attempts)
{
    struct status *s = ctx;
    clear_line(s);
    /* "a failed (exit 1) 2.1s: run 1, stau log 1; retry 1 of 2 in 3s (run 2)" */
    printf("%s %s", run->label, run->failure);
    if (run->result != RUN_TIMED_OUT)
        printf(" %.1fs", (double)run->ms / 1000);
    printf(": run %lld, stau log %lld; retry %d of %d in %gs", (long long)run->run_id,
           (long long)run->run_id, next_attempt - 1, attempts - 1, delay_s);
    print_run_id(run->next_run);
    putchar('\n');
    fflush(stdout);
}

struct engine_reporter status_reporter(struct status *s)
{
    return (struct engine_reporter){.ctx = s,
                                    .finished = on_finished,
                                    .skipped = on_skipped,
                                    .cancelled = on_cancelled,
                                    .up_to_date = on_up_to_date,
                                    .held = on_held,
                                    .stopped = on_stopped,
                                    .retry = on_retry,
                                    .progress = on_progress};
}

void status_interrupted(struct status *s, int times)
{
    clear_line(s);
    if (times == 1)
        printf("interrupted: stopping the running jobs (again to kill them at once)\n");
    fflush(stdout);
}

/* The last lines of a log, indented, for the summary. */
static void print_tail(const char *root, const char *rel)
{
    char *full = xprintf("%s/%s", root, rel);
    struct strbuf why = STRBUF_INIT; /* a log that is no file has no tail to show */
    int fd = state_file_open(full, 0, NULL, &why);
    free(full);
    strbuf_release(&why);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char *lines[LOG_TAIL_LINES] = {0};
    size_t count = 0;
    char buf[1024];
    while (fgets(buf, sizeof(buf), f)) {
        free(lines[count % LOG_TAIL_LINES]);
        lines[count % LOG_TAIL_LINES] = xstrdup(buf);
        count++;
    }
    fclose(f);
    size_t first = count > LOG_TAIL_LINES ? count - LOG_TAIL_LINES : 0;
    for (size_t i = first; i < count; i++) {
        const char *line = lines[i % LOG_TAIL_LINES];
        size_t len = strlen(line);
        printf("    %s%s", line, len && line[len - 1] == '\n' ? "" : "\n");
    }
    for (size_t i = 0; i < LOG_TAIL_LINES; i++)
        free(lines[i]);
}

void status_summary(struct status *s, const struct engine_totals *t, int64_t ms)
{
    clear_line(s);
    printf("%zu ran: %zu succeeded, %zu failed, %zu skipped",
           t->succeeded + t->failed + t->timed_out + t->interrupted + t->lost, t->succeeded,
           t->failed, t->skipped);
    if (t->timed_out)
        printf(", %zu timed out", t->timed_out);
    if (t->interrupted)
        printf(", %zu interrupted", t->interrupted);
    if (t->lost)
        printf(", %zu lost", t->lost);
    if (t->up_to_date)
        printf(", %zu up to date after all", t->up_to_date);
    if (t->cancelled)
        printf(", %zu cancelled", t->cancelled);
    if (t->elsewhere)
        printf(", %zu left to another stau", t->elsewhere);
    if (t->not_finished)
        printf(", %zu not finished", t->not_finished);
    if (t->not_started)
        printf(", %zu not started", t->not_started);
    printf(" (%.1fs)\n", (double)ms / 1000);
    for (size_t i = 0; i < s->failures.len; i++) {
        const struct failed_run *f = &s->failures.items[i];
        printf("%s %s; the end of its log:\n", f->label, f->failure);
        if (f->log_path) {
            print_tail(f->root, f->log_path);
            printf("  full log: %s\n", f->log_path);
        }
    }
    fflush(stdout);
}

void status_free(struct status *s)
{
    for (size_t i = 0; i < s->failures.len; i++) {
        struct failed_run *f = &s->failures.items[i];
        free(f->label);
        free(f->failure);
        free(f->log_path);
        free(f->root);
    }
    VEC_FREE(&s->failures);
    free(s);
}
