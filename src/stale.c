/* stale.c: the reasons a job is due. */
#include "stale.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "value.h"

static const char *const names[] = {
    [REASON_NEVER_RUN] = "never-run",
    [REASON_FAILED] = "failed",
    [REASON_CODE_CHANGED] = "code-changed",
    [REASON_CONFIG_CHANGED] = "config-changed",
    [REASON_INPUT_CHANGED] = "input-changed",
    [REASON_OUTPUT_MISSING] = "output-missing",
    [REASON_OUTPUT_CHANGED] = "output-changed",
    [REASON_UPSTREAM_CHANGED] = "upstream-changed",
    [REASON_UPSTREAM_DUE] = "upstream-due",
    [REASON_MAX_LAG] = "max-lag",
    [REASON_SCHEDULE] = "schedule",
    [REASON_FORCED] = "forced",
};

const char *reason_name(enum reason_kind kind)
{
    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

void reasons_add(struct reasons *r, enum reason_kind kind, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    struct reason reason = {kind, strbuf_detach(&sb), 0, 0, NULL};
    VEC_PUSH(r, reason);
}

bool reasons_have(const struct reasons *r, enum reason_kind kind)
{
    for (size_t i = 0; i < r->len; i++)
        if (r->items[i].kind == kind)
            return true;
    return false;
}

void reasons_release(struct reasons *r)
{
    for (size_t i = 0; i < r->len; i++)
        free(r->items[i].evidence);
    VEC_FREE(r);
}

void reasons_to_json(const struct reasons *r, struct strbuf *out)
{
    strbuf_addch(out, '[');
    for (size_t i = 0; i < r->len; i++) {
        strbuf_addstr(out, i ? ",{\"reason\":" : "{\"reason\":");
        const char *name = reason_name(r->items[i].kind);
        json_quote(out, name, strlen(name));
        strbuf_addstr(out, ",\"evidence\":");
        json_quote(out, r->items[i].evidence, strlen(r->items[i].evidence));
        if (r->items[i].entry) {
            if (r->items[i].tick)
                json_field_time(out, "tick", r->items[i].tick, true, NULL);
            json_field_string(out, "entry", r->items[i].entry);
        }
        strbuf_addch(out, '}');
    }
    strbuf_addch(out, ']');
}

void stale_format_time(int64_t ms, const struct tz *zone, struct strbuf *out)
{
    if (!zone) {
        struct tz *utc = tz_utc();
        tz_format(utc, ms / 1000, out);
        tz_free(utc);
        return;
    }
    tz_format(zone, ms / 1000, out);
    strbuf_addf(out, " %s", tz_name(zone));
}

void stale_format_age(int64_t ms, struct strbuf *out)
{
    int64_t s = ms / 1000;
    if (s < 0)
        s = 0;
    if (s < 60)
        strbuf_addf(out, "%llds", (long long)s);
    else if (s < 3600)
        strbuf_addf(out, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        strbuf_addf(out, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        strbuf_addf(out, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

int64_t stale_next_tick(const struct job_now *job, int64_t after, size_t *which)
{
    int64_t best = CRON_NEVER;
    for (size_t i = 0; i < job->schedule_count; i++) {
        int64_t t = cron_next(&job->schedules[i], job->zone, after / 1000);
        if (t != CRON_NEVER && (best == CRON_NEVER || t * 1000 < best)) {
            best = t * 1000;
            if (which)
                *which = i;
        }
    }
    return best;
}

/* The timetable entry id of schedule i, or its text. */
static const char *entry_name(const struct job_now *job, size_t i)
{
    const char *id = job->schedule_entries ? job->schedule_entries[i] : NULL;
    return id ? id : job->schedule_texts[i];
}

/* Whether schedule i ticks at tick (unix ms, on a whole second). */
static bool ticks_at(const struct job_now *job, size_t i, int64_t tick)
{
    return tick % 1000 == 0 &&
           cron_next(&job->schedules[i], job->zone, tick / 1000 - 1) == tick / 1000;
}

/* The first schedule after `after` (ticking at tick, unless 0) whose runs are not
 * alike those of the schedules up to it (ticking then too, unless 0). */
static bool left_after(const struct job_now *job, int64_t tick, size_t after, size_t *which)
{
    if (!job->schedule_groups || after >= job->schedule_count)
        return false;
    for (size_t i = after + 1; i < job->schedule_count; i++) {
        if (tick && !ticks_at(job, i, tick))
            continue;
        /* (Alike a later one ticking then too: that one is found first.) */
        bool alike = false;
        for (size_t k = 0; k <= after && !alike; k++)
            alike = job->schedule_groups[k] == job->schedule_groups[i] &&
                    (!tick || k == after || ticks_at(job, k, tick));
        if (!alike) {
            *which = i;
            return true;
        }
    }
    return false;
}

bool stale_tick_left(const struct job_now *job, int64_t tick, size_t after, size_t *which)
{
    return tick && left_after(job, tick, after, which);
}

bool stale_entry_left(const struct job_now *job, size_t after, size_t *which)
{
    return left_after(job, 0, after, which);
}

/* One evidence line of a kind: "KIND\tPATH\tHASH". */
struct file_line {
    const char *path;
    size_t path_len;
    const char *hash;
    size_t hash_len;
};

struct file_lines {
    struct file_line *items;
    size_t len, cap;
};

/* The lines of kind in text; false when they are incomplete (more than a run keeps). */
static bool file_lines(const char *text, char kind, struct file_lines *out)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            break;
        const char *tab1 = memchr(line, '\t', (size_t)(end - line));
        const char *tab2 = tab1 ? memchr(tab1 + 1, '\t', (size_t)(end - tab1 - 1)) : NULL;
        if (line[0] == kind && tab1 == line + 1 && tab2) {
            struct file_line f = {tab1 + 1, (size_t)(tab2 - tab1 - 1), tab2 + 1,
                                  (size_t)(end - tab2 - 1)};
            if (f.path_len == 1 && f.path[0] == '*')
                return false;
            VEC_PUSH(out, f);
        }
        line = end + 1;
    }
    return true;
}

static int compare_paths(const struct file_line *a, const struct file_line *b)
{
    size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
    int c = memcmp(a->path, b->path, n);
    return c ? c : (a->path_len > b->path_len) - (a->path_len < b->path_len);
}

static int by_path(const void *a, const void *b)
{
    return compare_paths(a, b);
}

static void add_change(struct strbuf *out, size_t *count, const struct file_line *f,
                       const char *what)
{
    if ((*count)++ < 3)
        strbuf_addf(out, "%s%.*s %s", *count > 1 ? ", " : "", (int)f->path_len, f->path, what);
}

void stale_files_diff(const char *recorded, const char *now, char kind, struct strbuf *out)
{
    if (!recorded || !now)
        return;
    struct file_lines was = {0}, is = {0};
    if (file_lines(recorded, kind, &was) && file_lines(now, kind, &is)) {
        if (was.len)
            qsort(was.items, was.len, sizeof(*was.items), by_path);
        if (is.len)
            qsort(is.items, is.len, sizeof(*is.items), by_path);
        size_t count = 0, a = 0, b = 0;
        while (a < was.len || b < is.len) {
            int c = a == was.len  ? 1
                    : b == is.len ? -1
                                  : compare_paths(&was.items[a], &is.items[b]);
            if (c < 0) {
                add_change(out, &count, &was.items[a++], "is gone");
            } else if (c > 0) {
                add_change(out, &count, &is.items[b++], "is new");
            } else {
                const struct file_line *x = &was.items[a++], *y = &is.items[b++];
                bool x_missing = x->hash_len == 1 && x->hash[0] == '-';
                bool y_missing = y->hash_len == 1 && y->hash[0] == '-';
                if (x->hash_len != y->hash_len || memcmp(x->hash, y->hash, x->hash_len) != 0)
                    add_change(out, &count, y,
                               y_missing   ? "is gone"
                               : x_missing ? "is new"
                                           : "changed");
            }
        }
        if (count > 3)
            strbuf_addf(out, " and %zu more", count - 3);
    }
    VEC_FREE(&was);
    VEC_FREE(&is);
}

void stale_upstream_fp(bool has_outputs, const char *outputs_fp, int64_t success_run,
                       char out[UPSTREAM_FP_SIZE])
{
    if (!success_run)
        out[0] = 0;
    else if (has_outputs && outputs_fp && *outputs_fp)
        snprintf(out, UPSTREAM_FP_SIZE, "o:%.32s", outputs_fp);
    else
        snprintf(out, UPSTREAM_FP_SIZE, "r:%lld", (long long)success_run);
}

bool stale_recorded_upstream(const char *files, const char *job, char out[UPSTREAM_FP_SIZE])
{
    size_t len = strlen(job);
    for (const char *line = files; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            break;
        if (line[0] == 'u' && line[1] == '\t' && strncmp(line + 2, job, len) == 0 &&
            line[2 + len] == '\t') {
            const char *fp = line + 3 + len;
            size_t n = (size_t)(end - fp);
            if (n >= UPSTREAM_FP_SIZE)
                return false;
            memcpy(out, fp, n);
            out[n] = 0;
            return true;
        }
        line = end + 1;
    }
    return false;
}

static bool differs(const char *recorded, const char *now)
{
    return !recorded || !now || strcmp(recorded, now) != 0;
}

void stale_reasons(const struct job_now *job, const struct job_past *past,
                   const struct upstream *deps, size_t dep_count, int64_t now, struct reasons *out)
{
    struct strbuf when = STRBUF_INIT;
    if (job->forced)
        reasons_add(out, REASON_FORCED, "%s",
                    job->forced_why ? job->forced_why : "asked for with --force");
    const struct run_record *last = past->last, *ok = past->success;
    if (last && past->chunks_missing && last->status == RUN_INTERRUPTED) {
        reasons_add(out, REASON_FAILED,
                    "the last run (%lld) did not finish: %zu of its %d chunks never started",
                    (long long)last->batch, past->chunks_missing, last->chunks);
    } else if (last && (last->status == RUN_FAILED || last->status == RUN_TIMED_OUT ||
                        last->status == RUN_INTERRUPTED || last->status == RUN_LOST)) {
        stale_format_time(last->finished_at ? last->finished_at : last->started_at, NULL, &when);
        struct strbuf chunk = STRBUF_INIT;
        if (last->chunk)
            strbuf_addf(&chunk, ", chunk %d of %d", last->chunk, last->chunks);
        reasons_add(out, REASON_FAILED, "the last run (%lld%s) %s at %s", (long long)last->id,
                    strbuf_str(&chunk),
                    last->status == RUN_FAILED      ? "failed"
                    : last->status == RUN_TIMED_OUT ? "timed out"
                    : last->status == RUN_LOST      ? "was lost (its stau died)"
                                                    : "was interrupted",
                    when.buf);
        strbuf_release(&chunk);
        strbuf_reset(&when);
    }
    if (!ok) {
        reasons_add(out, REASON_NEVER_RUN, "no successful run is recorded");
    } else {
        /* Each names the files that differ when both sides kept them (older runs
         * did not), else says what kind of thing changed. */
        struct strbuf which = STRBUF_INIT;
        if (differs(ok->code_fingerprint, job->code_fp)) {
            stale_files_diff(ok->files, job->files, 'c', &which);
            reasons_add(out, REASON_CODE_CHANGED, "%s since run %lld",
                        which.len ? which.buf : "its code or a local module it imports changed",
                        (long long)ok->id);
            strbuf_reset(&which);
        }
        if (differs(ok->config_fingerprint, job->config_fp))
            reasons_add(out, REASON_CONFIG_CHANGED, "its declaration changed since run %lld",
                        (long long)ok->id);
        if (differs(ok->inputs_fingerprint, job->inputs_fp)) {
            stale_files_diff(ok->files, job->files, 'i', &which);
            reasons_add(out, REASON_INPUT_CHANGED, "%s since run %lld",
                        which.len ? which.buf
                                  : "an input's content, or the files its globs match, changed",
                        (long long)ok->id);
            strbuf_reset(&which);
        }
        if (job->missing_output) {
            reasons_add(out, REASON_OUTPUT_MISSING, "output '%s' is gone", job->missing_output);
        } else if (differs(ok->outputs_fingerprint, job->outputs_fp)) {
            stale_files_diff(ok->files, job->files, 'o', &which);
            if (which.len)
                reasons_add(out, REASON_OUTPUT_CHANGED, "%s since run %lld", which.buf,
                            (long long)ok->id);
            else
                reasons_add(out, REASON_OUTPUT_CHANGED, "its outputs are not what run %lld left",
                            (long long)ok->id);
        }
        strbuf_release(&which);
        /* Early cutoff: what a dependency left is compared with what this job's last
         * success started from; runs recorded before stau remembered that are judged by
         * time (a dependency's success after it started). */
        for (size_t i = 0; i < dep_count; i++) {
            char recorded[UPSTREAM_FP_SIZE];
            const struct upstream *u = &deps[i];
            if (stale_recorded_upstream(ok->files, u->name, recorded)) {
                if (!u->fp || strcmp(recorded, u->fp) == 0)
                    continue;
                if (u->fp[0] == 'o')
                    reasons_add(out, REASON_UPSTREAM_CHANGED,
                                "'%s' left different outputs (run %lld) since run %lld", u->name,
                                (long long)u->success_id, (long long)ok->id);
                else
                    reasons_add(out, REASON_UPSTREAM_CHANGED,
                                "'%s' succeeded again (run %lld) since run %lld; it declares no "
                                "outputs, so each success counts as a change",
                                u->name, (long long)u->success_id, (long long)ok->id);
            } else if (u->success_finished_at > ok->started_at) {
                stale_format_time(u->success_finished_at, NULL, &when);
                reasons_add(out, REASON_UPSTREAM_CHANGED,
                            "'%s' succeeded at %s, after run %lld started", u->name, when.buf,
                            (long long)ok->id);
                strbuf_reset(&when);
            }
        }
    }
    /* A tick since the last run of any kind started; missed ticks give one run. */
    if (past->schedule_from && job->schedule_count) {
        size_t which = 0;
        int64_t tick = stale_next_tick(job, past->schedule_from, &which);
        if (tick != CRON_NEVER && tick <= now) {
            stale_format_time(tick, job->zone, &when);
            reasons_add(out, REASON_SCHEDULE, "'%s' ticked at %s, after the last run started",
                        job->schedule_texts[which], when.buf);
        } else if (past->last_schedule &&
                   stale_tick_left(job, past->last_tick, past->last_schedule - 1, &which)) {
            /* The last run stood for this tick of another entry: this one's is left. */
            tick = past->last_tick;
            stale_format_time(tick, job->zone, &when);
            reasons_add(out, REASON_SCHEDULE,
                        "'%s' of timetable entry '%s' ticked at %s, the tick the last run "
                        "(entry '%s') was for: it runs for it with its own kwargs",
                        job->schedule_texts[which], entry_name(job, which), when.buf,
                        entry_name(job, past->last_schedule - 1));
        } else if (past->last_schedule && !past->last_tick &&
                   stale_entry_left(job, past->last_schedule - 1, &which)) {
            /* The last run was the first run of another entry: this one's is left. */
            reasons_add(out, REASON_NEVER_RUN,
                        "timetable entry '%s' never ran with its kwargs: the last run was "
                        "entry '%s''s first",
                        entry_name(job, which), entry_name(job, past->last_schedule - 1));
            out->items[out->len - 1].schedule = which + 1;
            tick = 0;
        } else {
            tick = 0;
        }
        if (tick) {
            out->items[out->len - 1].tick = tick;
            out->items[out->len - 1].schedule = which + 1;
        }
    }
    strbuf_release(&when);
}
