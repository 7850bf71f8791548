/* exec_report.c: what a person reads while stau runs: the status line on a
 * terminal, one line per finished run, and the summary with the end of each failed
 * run's log. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* On a terminal, the one status line, redrawn: "[12/40 3 running] sales.report 4.2s",
 * naming what has run longest, cut to the terminal's width. */
void exec_status_line(struct runner *r)
{
    if (!r->tty)
        return;
    size_t running = 0;
    const struct task *oldest = NULL;
    for (size_t i = r->open_tasks; i < r->tasks.len; i++) {
        const struct task *t = r->tasks.items[i];
        if (t->state != TASK_RUNNING)
            continue;
        running++;
        if (!oldest || t->started_wall < oldest->started_wall)
            oldest = t;
    }
    for (size_t i = 0; i < r->due_count; i++)
        running += r->due[i].state == JOB_SELECTING;
    struct strbuf line = STRBUF_INIT;
    strbuf_addf(&line, "[%zu/%zu %zu running]", r->done, r->count, running);
    if (oldest) {
        char *label = exec_task_label(r, oldest);
        strbuf_addf(&line, " %s %.1fs", label,
                    (double)(wall_clock_ms() - oldest->started_wall) / 1000);
        free(label);
    }
    int width = r->columns > 1 ? r->columns - 1 : 79;
    printf("\r\033[K%.*s", width, line.buf);
    fflush(stdout);
    strbuf_release(&line);
}

/* text in an SGR colour on a colour terminal ("32" green, "31" red, "33" yellow). */
static void print_colored(const struct runner *r, const char *sgr, const char *text)
{
    if (r->color)
        printf("\033[%sm%s\033[0m", sgr, text);
    else
        fputs(text, stdout);
}

/* How a run is named in lines and the summary: "job_a", or "job_a (chunk 2/3)". */
char *exec_task_label(const struct runner *r, const struct task *t)
{
    const char *name = r->p->graph.jobs.items[t->job].name;
    return t->chunk ? xprintf("%s (chunk %d/%d)", name, t->chunk, t->chunks) : xstrdup(name);
}

/* Print one line about a finished task (above the status line on a terminal). */
void exec_report(struct runner *r, const struct task *t, int64_t ms)
{
    char *label = exec_task_label(r, t);
    if (r->tty)
        printf("\r\033[K");
    printf("[%zu/%zu] %s ", r->done, r->count, label);
    if (t->result == RUN_SUCCEEDED) {
        print_colored(r, "32", "ok");
        printf(" %.1fs%s\n", (double)ms / 1000,
               t->log_path ? "" : " (no work IDs: nothing to run)");
    } else if (t->result == RUN_SKIPPED) {
        print_colored(r, "33", "skipped");
        printf(": %s\n", t->skip_note);
    } else {
        print_colored(r, "31", t->failure ? t->failure : run_status_name(t->result));
        printf(" %.1fs (log: %s)\n", (double)ms / 1000, t->log_path);
    }
    exec_status_line(r);
    free(label);
}

/* The last lines of a log, indented, for the summary. */
static void print_tail(const char *root, const char *rel)
{
    char *full = xprintf("%s/%s", root, rel);
    FILE *f = fopen(full, "r");
    free(full);
    if (!f)
        return;
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
        printf("    %s%s", line, line[strlen(line) - 1] == '\n' ? "" : "\n");
    }
    for (size_t i = 0; i < LOG_TAIL_LINES; i++)
        free(lines[i]);
}

void exec_summary(struct runner *r, int64_t ms)
{
    if (r->tty)
        printf("\r\033[K");
    /* Stopped (--fail-fast, Ctrl-C) with chunks of a job not run: failed when one of
     * its chunks failed, else not finished. */
    size_t not_started = 0, not_finished = 0;
    for (size_t i = 0; i < r->due_count; i++) {
        const struct due_job *d = &r->due[i];
        if (d->state == JOB_DONE)
            continue;
        if (d->began && d->result == RUN_FAILED)
            r->failed++;
        else if (d->began)
            not_finished++;
        else
            not_started++;
    }
    printf("%zu ran: %zu succeeded, %zu failed, %zu skipped", r->succeeded + r->failed,
           r->succeeded, r->failed, r->skipped);
    if (not_finished)
        printf(", %zu not finished", not_finished);
    if (not_started)
        printf(", %zu not started", not_started);
    printf(" (%.1fs)\n", (double)ms / 1000);
    for (size_t i = 0; i < r->tasks.len; i++) {
        const struct task *t = r->tasks.items[i];
        if (t->state != TASK_DONE || t->result == RUN_SUCCEEDED || t->result == RUN_SKIPPED)
            continue;
        char *label = exec_task_label(r, t);
        printf("%s %s; the end of its log:\n", label,
               t->failure ? t->failure : run_status_name(t->result));
        free(label);
        print_tail(r->p->root, t->log_path);
        printf("  full log: %s\n", t->log_path);
    }
}

void exec_report_skip(struct runner *r, const char *job, const char *failed)
{
    if (r->tty)
        printf("\r\033[K");
    printf("[%zu/%zu] %s ", r->done, r->count, job);
    print_colored(r, "33", "skipped");
    printf(": '%s' failed\n", failed);
    exec_status_line(r);
    fflush(stdout);
}
