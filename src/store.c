/* store.c: the backend-neutral part of the state store: run statuses, releasing
 * records, and choosing the backend for a location. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_names[RUN_STATUS_COUNT] = {
    [RUN_QUEUED] = "queued", [RUN_RUNNING] = "running",     [RUN_SUCCEEDED] = "succeeded",
    [RUN_FAILED] = "failed", [RUN_TIMED_OUT] = "timed-out", [RUN_INTERRUPTED] = "interrupted",
    [RUN_LOST] = "lost",     [RUN_SKIPPED] = "skipped",     [RUN_CANCELLED] = "cancelled",
};

const char *run_status_name(enum run_status status)
{
    return (unsigned)status < RUN_STATUS_COUNT ? status_names[status] : "unknown";
}

const char *run_status_said(enum run_status status)
{
    static const char *const said[RUN_STATUS_COUNT] = {
        [RUN_QUEUED] = "is queued",       [RUN_RUNNING] = "is running",
        [RUN_SUCCEEDED] = "succeeded",    [RUN_FAILED] = "failed",
        [RUN_TIMED_OUT] = "timed out",    [RUN_INTERRUPTED] = "was interrupted",
        [RUN_LOST] = "was lost",          [RUN_SKIPPED] = "was skipped",
        [RUN_CANCELLED] = "was cancelled"};
    return (unsigned)status < RUN_STATUS_COUNT ? said[status] : "ended";
}

bool run_status_parse(const char *name, enum run_status *out)
{
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum run_status)i;
            return true;
        }
    }
    return false;
}

const char *run_record_impossible(const struct run_record *r, struct strbuf *why)
{
    strbuf_reset(why);
    if (r->id <= 0)
        strbuf_addf(why, "its id is %lld", (long long)r->id);
    else if (!r->job)
        strbuf_addstr(why, "its job is NULL");
    else if (!*r->job)
        strbuf_addstr(why, "its job is empty");
    else if ((unsigned)r->status >= RUN_STATUS_COUNT)
        strbuf_addstr(why, "its status is unknown");
    else if (r->attempt < 1)
        strbuf_addf(why, "its attempt is %d", r->attempt);
    else if (r->queued_at < 0)
        strbuf_addf(why, "its queue time is %lld", (long long)r->queued_at);
    else if (r->kwargs_json && !json_valid(r->kwargs_json, '{'))
        strbuf_addstr(why, "its kwargs are no JSON object");
    else if (r->env_names_json && !json_valid(r->env_names_json, '['))
        strbuf_addstr(why, "its env_names are no JSON array");
    else if (r->kwargs_given_json && !json_valid(r->kwargs_given_json, '{'))
        strbuf_addstr(why, "its kwargs_given are no JSON object");
    else if (r->git_changes_json && !json_valid(r->git_changes_json, '['))
        strbuf_addstr(why, "its git_changes are no JSON array");
    else if (r->chunk < 0 || r->chunks < 0 || r->chunk > r->chunks)
        strbuf_addf(why, "it is chunk %d of %d", r->chunk, r->chunks);
    return why->len ? strbuf_str(why) : NULL;
}

void run_record_release(struct run_record *r)
{
    char *strings[] = {r->job,
                       r->host,
                       r->git_commit,
                       r->kwargs_json,
                       r->work_ids_json,
                       r->code_fingerprint,
                       r->config_fingerprint,
                       r->inputs_fingerprint,
                       r->outputs_fingerprint,
                       r->reasons_json,
                       r->log_path,
                       r->archive_path,
                       r->files,
                       r->env_names_json,
                       r->kwargs_given_json,
                       r->git_changes_json};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        free(strings[i]);
    memset(r, 0, sizeof(*r));
}

void run_invocation_json(const struct run_record *r, struct strbuf *out)
{
    if (!r->host && !r->owner_pid) {
        strbuf_addstr(out, "null"); /* enqueued, not taken yet; or recorded before owners */
        return;
    }
    strbuf_addstr(out, "{\"id\":");
    if (r->owner_pid)
        strbuf_addf(out, "\"%d:%lld\"", r->owner_pid, (long long)r->owner_start);
    else
        strbuf_addstr(out, "null");
    json_field_string(out, "host", r->host);
    json_field_number(out, "pid", r->owner_pid, r->owner_pid);
    json_field_time(out, "started", r->owner_start, r->owner_start, NULL);
    strbuf_addch(out, '}');
}

void run_record_json_fields(const struct run_record *r, struct strbuf *out)
{
    strbuf_addf(out, "\"id\":%lld", (long long)r->id);
    json_field_string(out, "job", r->job);
    strbuf_addf(out, ",\"attempt\":%d,\"status\":", r->attempt);
    json_quote(out, run_status_name(r->status), strlen(run_status_name(r->status)));
    json_field_time(out, "queued", r->queued_at, r->queued_at, NULL);
    json_field_time(out, "started", r->started_at, r->started_at, NULL);
    json_field_time(out, "finished", r->finished_at, r->finished_at, NULL);
    json_field_number(out, "exit_code", r->exit_code, r->exit_code >= 0 && r->finished_at);
    json_field_number(out, "signal", r->signal, r->signal);
    strbuf_addstr(out, ",\"invocation\":");
    run_invocation_json(r, out);
    json_field_number(out, "pid", r->pid, r->pid);
    json_field_time(out, "heartbeat", r->heartbeat_at, r->heartbeat_at, NULL);
    json_field_string(out, "git_commit", r->git_commit);
    json_field_raw(out, "kwargs", r->kwargs_json);
    json_field_raw(out, "work_ids", r->work_ids_json);
    json_field_string(out, "code_fingerprint", r->code_fingerprint);
    json_field_string(out, "config_fingerprint", r->config_fingerprint);
    json_field_string(out, "inputs_fingerprint", r->inputs_fingerprint);
    json_field_string(out, "outputs_fingerprint", r->outputs_fingerprint);
    json_field_raw(out, "reasons", r->reasons_json);
    json_field_string(out, "log_path", r->log_path);
    json_field_string(out, "archive_path", r->archive_path);
    json_field_number(out, "rerun_of", r->rerun_of, r->rerun_of);
    json_field_number(out, "batch", r->batch, r->batch);
    json_field_number(out, "chunk", r->chunk, r->chunk);
    json_field_number(out, "chunks", r->chunks, r->chunks);
    json_field_raw(out, "env_names", r->env_names_json);
    json_field_raw(out, "kwargs_given", r->kwargs_given_json);
    run_record_git_state_json(r, out);
}

void run_record_git_state_json(const struct run_record *r, struct strbuf *out)
{
    strbuf_addf(out, ",\"git_dirty\":%s",
                r->git_dirty == RUN_GIT_DIRTY   ? "true"
                : r->git_dirty == RUN_GIT_CLEAN ? "false"
                                                : "null");
    json_field_raw(out, "git_changes", r->git_changes_json);
}

void run_record_brief_json(const struct run_record *r, struct strbuf *out)
{
    if (!r->id) {
        strbuf_addstr(out, "null");
        return;
    }
    strbuf_addf(out, "{\"id\":%lld,\"status\":", (long long)r->id);
    json_quote(out, run_status_name(r->status), strlen(run_status_name(r->status)));
    strbuf_addf(out, ",\"attempt\":%d", r->attempt);
    json_field_time(out, "queued", r->queued_at, r->queued_at, NULL);
    json_field_time(out, "started", r->started_at, r->started_at, NULL);
    json_field_time(out, "finished", r->finished_at, r->finished_at, NULL);
    strbuf_addstr(out, ",\"invocation\":");
    run_invocation_json(r, out);
    strbuf_addch(out, '}');
}

void run_list_release(struct run_list *list)
{
    for (size_t i = 0; i < list->len; i++)
        run_record_release(&list->items[i]);
    VEC_FREE(list);
}

void store_job_past_release(struct store_job_past *past)
{
    run_list_release(&past->last_batch);
    run_list_release(&past->succeeded_batch);
    run_record_release(&past->last_started);
    memset(past, 0, sizeof(*past));
}

void store_owner_list_release(struct store_owner_list *list)
{
    for (size_t i = 0; i < list->len; i++)
        free(list->items[i].host);
    VEC_FREE(list);
}

void store_file_list_release(struct store_file_list *list)
{
    for (size_t i = 0; i < list->len; i++)
        free(list->items[i].path);
    VEC_FREE(list);
}

void store_add_numbers(struct strbuf *out, const int64_t *numbers, size_t count)
{
    /* by hand: a plan's millions of work IDs are worth it (printf is ~5x slower) */
    strbuf_grow(out, count * 8);
    for (size_t i = 0; i < count; i++) {
        char digits[24];
        size_t len = 0;
        uint64_t magnitude = numbers[i] < 0 ? 0 - (uint64_t)numbers[i] : (uint64_t)numbers[i];
        do {
            digits[sizeof(digits) - ++len] = (char)('0' + magnitude % 10);
            magnitude /= 10;
        } while (magnitude);
        if (numbers[i] < 0)
            digits[sizeof(digits) - ++len] = '-';
        if (i)
            strbuf_addch(out, ',');
        strbuf_add(out, digits + sizeof(digits) - len, len);
    }
}

int store_work_done_many(struct store *st, struct work_done_ask *asks, size_t n)
{
    size_t total = 0;
    for (size_t a = 0; a < n; a++) {
        for (size_t i = 0; i < asks[a].count; i++)
            asks[a].finished_at[i] = 0;
        total += asks[a].count;
    }
    size_t limit = st->ids_per_request ? st->ids_per_request : STORE_IDS_PER_REQUEST;
    if (!total)
        return 0;
    if (total <= limit)
        return st->ops->work_done(st, asks, n);
    /* More than one request carries: cut the asks into pieces of at most limit IDs in
     * all (an ask may be cut in two); each request holds at most one piece an ask. */
    struct work_done_ask *pieces = xcalloc(n, sizeof(*pieces));
    size_t a = 0, done = 0;
    int rc = 0;
    while (a < n && rc == 0) {
        size_t k = 0, room = limit;
        for (; a < n && room; done = 0, a++) {
            size_t take = asks[a].count - done < room ? asks[a].count - done : room;
            if (take)
                pieces[k++] = (struct work_done_ask){asks[a].job, asks[a].ids + done, take,
                                                     asks[a].finished_at + done};
            room -= take;
            done += take;
            if (done < asks[a].count)
                break; /* the rest of this ask goes in the next request */
        }
        if (k)
            rc = st->ops->work_done(st, pieces, k);
    }
    free(pieces);
    return rc;
}

bool store_location_is_server(const char *location)
{
    if (starts_with(location, "postgresql://") || starts_with(location, "postgres://"))
        return true;
    /* a libpq keyword string: "word=..." (a file path of that form is named "sqlite:...") */
    const char *p = location;
    while (*p == ' ')
        p++;
    const char *word = p;
    while ((*p >= 'a' && *p <= 'z') || *p == '_')
        p++;
    while (*p == ' ')
        p++;
    return p > word && *p == '=';
}

struct store *store_open(const char *location, const char *schema, struct strbuf *err)
{
    if (starts_with(location, "sqlite:"))
        return store_sqlite_open(location + strlen("sqlite:"), err);
    if (store_location_is_server(location))
        return store_pg_open(location, schema ? schema : STORE_DEFAULT_SCHEMA, err);
    return store_sqlite_open(location, err);
}

struct store *store_open_to_read(const char *location, const char *schema, struct strbuf *err)
{
    if (starts_with(location, "sqlite:"))
        return store_sqlite_open_to_read(location + strlen("sqlite:"), err);
    if (store_location_is_server(location))
        return store_pg_open(location, schema ? schema : STORE_DEFAULT_SCHEMA, err);
    return store_sqlite_open_to_read(location, err);
}

int store_make_version(const char *location, const char *schema, int version, struct strbuf *err)
{
    if (starts_with(location, "sqlite:"))
        return store_sqlite_make_version(location + strlen("sqlite:"), version, err);
    if (store_location_is_server(location))
        return store_pg_make_version(location, schema ? schema : STORE_DEFAULT_SCHEMA, version,
                                     err);
    return store_sqlite_make_version(location, version, err);
}

bool store_claim_owns(const struct store_claim *c, const struct run_record *r)
{
    return r->host && c->run.host && strcmp(r->host, c->run.host) == 0 &&
           r->owner_pid == c->run.owner_pid && r->owner_start == c->run.owner_start;
}

bool store_claim_taken_meanwhile(struct store_claim *c, struct run_list *after)
{
    for (size_t i = 0; i < after->len; i++) {
        if (!store_claim_owns(c, &after->items[i])) {
            c->outcome = CLAIM_CHANGED;
            c->holder = after->items[i];
            memset(&after->items[i], 0, sizeof(after->items[i]));
            return true;
        }
    }
    return false;
}
