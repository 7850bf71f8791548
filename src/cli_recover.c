/* cli_recover.c: a lost run history. A state database that holds no runs while the
 * archive folder and .stau/logs hold those of earlier runs was removed or emptied:
 * opening it says so, and numbers new runs past the largest id an archive carries,
 * so no archive is ever written over. `stau db recover` rebuilds the history from
 * the archives' manifests (each holds its run's record, as `stau show --json`). */
#include "cli.h"
#include "archiver.h"
#include "paths.h"
#include "store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One archive in the archive folder, by its name "<job>.<run id>.tar.zst". */
struct archived {
    char *name;
    int64_t id;
};

struct archived_list {
    struct archived *items;
    size_t len, cap;
};

static void archived_release(struct archived_list *list)
{
    for (size_t i = 0; i < list->len; i++)
        free(list->items[i].name);
    VEC_FREE(list);
}

/* The run id an archive's name carries; 0 when it is no archive's name. */
static int64_t archive_name_id(const char *name)
{
    static const char suffix[] = ".tar.zst";
    size_t len = strlen(name), s = sizeof(suffix) - 1;
    if (len <= s || strcmp(name + len - s, suffix) != 0)
        return 0;
    size_t end = len - s, start = end;
    while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9')
        start--;
    if (start == end || start < 2 || name[start - 1] != '.' || end - start > 18)
        return 0;
    return strtoll(name + start, NULL, 10);
}

/* The archives in the folder (a recorded path, see paths_archive_folder), and how
 * many logs .stau/logs holds. */
static void kept_runs(const char *root, const char *folder, struct archived_list *archives,
                      size_t *logs)
{
    char *dir = paths_resolve(root, folder);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int64_t id = archive_name_id(e->d_name);
        if (id > 0) {
            struct archived a = {xstrdup(e->d_name), id};
            VEC_PUSH(archives, a);
        }
    }
    if (d)
        closedir(d);
    free(dir);
    *logs = 0;
    char *log_dir = paths_resolve(root, PATHS_STATE_DIR "/logs");
    d = opendir(log_dir);
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        *logs += len > 4 && strcmp(e->d_name + len - 4, ".log") == 0;
    }
    if (d)
        closedir(d);
    free(log_dir);
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void cli_notice_lost_history(const struct project *p, struct store *st, bool writable)
{
    struct run_list one = {0};
    int rc = store_history(st, NULL, 1, &one);
    bool empty = rc == 0 && one.len == 0;
    int64_t newest = rc == 0 && one.len ? one.items[0].id : 0;
    run_list_release(&one);
    /* A failure here shows on the command's own reads. A history that is there is
     * checked against the archives only by a command that may add runs to it. */
    if (rc != 0 || (!empty && !writable))
        return;
    char *folder = paths_archive_folder();
    struct archived_list archives = {0};
    size_t logs;
    kept_runs(p->root, folder, &archives, &logs);
    int64_t highest = 0;
    for (size_t i = 0; i < archives.len; i++)
        if (archives.items[i].id > highest)
            highest = archives.items[i].id;
    if (!empty) {
        if (highest > newest) {
            struct strbuf numbered = STRBUF_INIT;
            if (store_keep_ids_above(st, highest) == 0)
                strbuf_addf(&numbered, "new runs are numbered from %lld on",
                            (long long)highest + 1);
            else
                strbuf_addf(&numbered, "new runs cannot be numbered past the archived ones: %s",
                            store_error(st));
            warn("state database '%s' records runs up to %lld, but '%s' holds archives up to "
                 "run %lld (an older copy of the database?): %s, so no archive is written over\n"
                 "  hint: `stau db recover` adds the archived runs the database lacks",
                 st->location, (long long)newest, folder, (long long)highest, numbered.buf);
            strbuf_release(&numbered);
        }
    } else if (archives.len || logs) {
        struct strbuf kept = STRBUF_INIT;
        if (archives.len)
            strbuf_addf(&kept, "%zu %s (in '%s')", archives.len,
                        plural(archives.len, "archive", "archives"), folder);
        if (logs)
            strbuf_addf(&kept, "%s%zu %s (in '" PATHS_STATE_DIR "/logs')",
                        archives.len ? " and " : "", logs, plural(logs, "log", "logs"));
        struct strbuf numbered = STRBUF_INIT;
        if (!writable)
            ; /* read as it is: nothing is numbered */
        else if (highest && store_keep_ids_above(st, highest) == 0)
            strbuf_addf(&numbered,
                        "; new runs are numbered from %lld on, so no archive is written over",
                        (long long)highest + 1);
        else if (highest)
            strbuf_addf(&numbered, "; and new runs cannot be numbered past the archived ones: %s",
                        store_error(st));
        warn("state database '%s' holds no runs, but %s of earlier runs %s kept: the run "
             "history was lost (the database removed or emptied)%s\n"
             "  hint: %s",
             st->location, kept.buf, archives.len + logs == 1 ? "is" : "are", strbuf_str(&numbered),
             archives.len ? "`stau db recover` rebuilds the run history from the archives"
                          : "the logs hold what those runs printed; no archive is left to "
                            "rebuild their history from");
        strbuf_release(&kept);
        strbuf_release(&numbered);
    }
    archived_release(&archives);
    free(folder);
}

/* ---- stau db recover ---- */

/* The text of string field key of a manifest into *out (NULL when null or absent);
 * false when it is there but no string. */
static bool manifest_text(const char *json, const char *key, char **out)
{
    struct strbuf raw = STRBUF_INIT, text = STRBUF_INIT;
    *out = NULL;
    bool ok = true;
    if (json_object_get(json, key, &raw) == 1 && strcmp(raw.buf, "null") != 0) {
        ok = json_string_decode(raw.buf, &text) == 0;
        if (ok)
            *out = strbuf_detach(&text);
    }
    strbuf_release(&raw);
    strbuf_release(&text);
    return ok;
}

/* A JSON value of a manifest as written (objects, arrays), NULL when null or absent. */
static char *manifest_raw(const char *json, const char *key)
{
    struct strbuf raw = STRBUF_INIT;
    if (json_object_get(json, key, &raw) != 1 || strcmp(raw.buf, "null") == 0) {
        strbuf_release(&raw);
        return NULL;
    }
    return strbuf_detach(&raw);
}

/* An integer field (none: when null or absent); false when it is no integer. */
static bool manifest_number(const char *json, const char *key, int64_t none, int64_t *out)
{
    struct strbuf raw = STRBUF_INIT;
    *out = none;
    bool ok = true;
    if (json_object_get(json, key, &raw) == 1 && strcmp(raw.buf, "null") != 0) {
        char *end;
        long long v = strtoll(raw.buf, &end, 10);
        ok = end != raw.buf && !*end;
        *out = v;
    }
    strbuf_release(&raw);
    return ok;
}

/* manifest_number of key, or of old_key when the manifest has no key (a manifest
 * written before times were "queued_ms" and the owner an "invocation" object). */
static bool manifest_number_or(const char *json, const char *key, const char *old_key, int64_t none,
                               int64_t *out)
{
    struct strbuf raw = STRBUF_INIT;
    bool has = json_object_get(json, key, &raw) == 1;
    strbuf_release(&raw);
    return manifest_number(json, has || !old_key ? key : old_key, none, out);
}

bool cli_manifest_run(const char *json, struct run_record *r, struct strbuf *why)
{
    memset(r, 0, sizeof(*r));
    strbuf_reset(why);
    if (!json_valid(json, '{')) {
        strbuf_addstr(why, "its manifest.json is no JSON object");
        return false;
    }
    /* The stau that ran it: an "invocation" object, or (older manifests) host,
     * owner_pid and owner_start beside the other fields. */
    char *invocation = manifest_raw(json, "invocation");
    const char *owner = invocation ? invocation : json;
    if (invocation && !json_valid(invocation, '{')) {
        strbuf_addstr(why, "its manifest's invocation is no object");
        free(invocation);
        return false;
    }
    struct {
        const char *key;
        char **field;
        const char *in;
    } texts[] = {
        {"job", &r->job, json},
        {"host", &r->host, owner},
        {"git_commit", &r->git_commit, json},
        {"code_fingerprint", &r->code_fingerprint, json},
        {"config_fingerprint", &r->config_fingerprint, json},
        {"inputs_fingerprint", &r->inputs_fingerprint, json},
        {"outputs_fingerprint", &r->outputs_fingerprint, json},
        {"log_path", &r->log_path, json},
        {"archive_path", &r->archive_path, json},
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (!manifest_text(texts[i].in, texts[i].key, texts[i].field)) {
            strbuf_addf(why, "its manifest's %s is no string", texts[i].key);
            free(invocation);
            return false;
        }
    r->kwargs_json = manifest_raw(json, "kwargs");
    r->work_ids_json = manifest_raw(json, "work_ids");
    r->reasons_json = manifest_raw(json, "reasons");
    r->env_names_json = manifest_raw(json, "env_names");
    r->kwargs_given_json = manifest_raw(json, "kwargs_given");
    r->git_changes_json = manifest_raw(json, "git_changes");
    char *dirty = manifest_raw(json, "git_dirty");
    r->git_dirty = !dirty                       ? RUN_GIT_UNKNOWN
                   : strcmp(dirty, "true") == 0 ? RUN_GIT_DIRTY
                                                : RUN_GIT_CLEAN;
    free(dirty);
    char *status = NULL;
    if (!manifest_text(json, "status", &status) || !status || !run_status_parse(status, &r->status))
        r->status = RUN_STATUS_COUNT;
    free(status);
    int64_t id, attempt, queued, started, finished, exit_code, signal, owner_pid, owner_start, pid,
        heartbeat, rerun_of, batch, chunk, chunks;
    struct {
        const char *key, *old_key; /* old_key: its name in a manifest older than key */
        int64_t none, *value;
        const char *in;
    } numbers[] = {
        {"id", NULL, 0, &id, json},
        {"attempt", NULL, 0, &attempt, json},
        {"queued_ms", "queued_at", 0, &queued, json},
        {"started_ms", "started_at", 0, &started, json},
        {"finished_ms", "finished_at", 0, &finished, json},
        {"exit_code", NULL, -1, &exit_code, json},
        {"signal", NULL, 0, &signal, json},
        {invocation ? "pid" : "owner_pid", NULL, 0, &owner_pid, owner},
        {invocation ? "started_ms" : "owner_start", NULL, 0, &owner_start, owner},
        {"pid", NULL, 0, &pid, json},
        {"heartbeat_ms", "heartbeat_at", 0, &heartbeat, json},
        {"rerun_of", NULL, 0, &rerun_of, json},
        {"batch", NULL, 0, &batch, json},
        {"chunk", NULL, 0, &chunk, json},
        {"chunks", NULL, 0, &chunks, json},
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        if (!manifest_number_or(numbers[i].in, numbers[i].key, numbers[i].old_key, numbers[i].none,
                                numbers[i].value)) {
            strbuf_addf(why, "its manifest's %s is no integer", numbers[i].key);
            free(invocation);
            return false;
        }
    free(invocation);
    r->id = id;
    r->attempt = (int)attempt;
    /* manifests before this stau carry no queue time: it is at most the start */
    r->queued_at = queued ? queued : started ? started : finished;
    r->started_at = started;
    r->finished_at = finished;
    r->exit_code = (int)exit_code;
    r->signal = (int)signal;
    r->owner_pid = (int)owner_pid;
    r->owner_start = owner_start;
    r->pid = (int)pid;
    r->heartbeat_at = heartbeat;
    r->rerun_of = rerun_of;
    r->batch = batch ? batch : id;
    r->chunk = (int)chunk;
    r->chunks = (int)chunks;
    struct strbuf impossible = STRBUF_INIT;
    const char *bad = run_record_impossible(r, &impossible);
    if (bad)
        strbuf_addf(why, "the run its manifest records is impossible: %s", bad);
    else if (!run_status_finished(r->status))
        strbuf_addf(why, "its manifest records the run as %s", run_status_name(r->status));
    strbuf_release(&impossible);
    return why->len == 0;
}

static int by_run_id(const void *a, const void *b)
{
    int64_t x = ((const struct run_record *)a)->id, y = ((const struct run_record *)b)->id;
    return (x > y) - (x < y);
}

static int by_number(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool has_id(const int64_t *ids, size_t n, int64_t id)
{
    return n && bsearch(&id, ids, n, sizeof(*ids), by_number) != NULL;
}

/* The run of a history (newest first, as store_history gives it) with this id. */
static const struct run_record *run_of_id(const struct run_list *history, int64_t id)
{
    size_t lo = 0, hi = history->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t at = history->items[mid].id;
        if (at == id)
            return &history->items[mid];
        if (at > id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int cli_db_recover(const struct cli *c)
{
    static const char usage[] = "stau db recover";
    if (c->arg_count > 1)
        return cli_usage_error("'db recover' takes no arguments", usage);
    struct project p;
    if (project_load(&p, &c->project) < 0) {
        project_release(&p);
        return EXIT_USAGE;
    }
    char *location = cli_state_path(&p);
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(location, cli_db_schema(), &err);
    char *folder = paths_archive_folder();
    struct archived_list archives = {0};
    struct run_list existing = {0}, found = {0};
    int64_t *ids = NULL;
    size_t logs, unreadable = 0, known = 0;
    int rc = EXIT_USAGE;
    if (!st) {
        error("%s", err.buf);
        goto out;
    }
    kept_runs(p.root, folder, &archives, &logs);
    if (!archives.len) {
        fprintf(stderr,
                "stau: error: no archives in '%s' to recover runs from\n"
                "  hint: archives are kept there unless --archive DIR ($STAU_ARCHIVE) names "
                "another folder\n",
                folder);
        goto out;
    }
    if (store_history(st, NULL, 0, &existing) < 0) {
        error("%s", store_error(st));
        goto out;
    }
    ids = xcalloc(existing.len + archives.len + 1, sizeof(*ids));
    for (size_t i = 0; i < existing.len; i++)
        ids[i] = existing.items[i].id;
    if (existing.len)
        qsort(ids, existing.len, sizeof(*ids), by_number);
    struct strbuf manifest = STRBUF_INIT, why = STRBUF_INIT;
    for (size_t i = 0; i < archives.len; i++) {
        char *recorded = xprintf("%s/%s", folder, archives.items[i].name);
        char *path = paths_resolve(p.root, recorded);
        strbuf_reset(&manifest);
        strbuf_reset(&err);
        struct run_record r = {0};
        if (archiver_read_manifest(path, &manifest, &err) < 0) {
            warn("cannot recover the run of archive '%s': %s", recorded, err.buf);
            unreadable++;
        } else if (!cli_manifest_run(manifest.buf, &r, &why)) {
            warn("cannot recover the run of archive '%s': %s", recorded, why.buf);
            unreadable++;
        } else if (has_id(ids, existing.len, r.id)) {
            /* The same id for another job: the database was begun again and numbered
             * over the archives; the archive is not the run the database holds. */
            const struct run_record *there = run_of_id(&existing, r.id);
            if (there && there->job && r.job && strcmp(there->job, r.job) != 0) {
                warn("archive '%s' holds run %lld of '%s', but run %lld in the database is of "
                     "'%s': not recovered",
                     recorded, (long long)r.id, r.job, (long long)r.id, there->job);
                unreadable++;
            } else
                known++;
        } else {
            /* where the archive is now, whatever the manifest says */
            free(r.archive_path);
            r.archive_path = recorded;
            recorded = NULL;
            VEC_PUSH(&found, r);
            memset(&r, 0, sizeof(r));
        }
        run_record_release(&r);
        free(recorded);
        free(path);
    }
    strbuf_release(&manifest);
    strbuf_release(&why);
    /* two archives of one id (a copy): the first of them */
    if (found.len)
        qsort(found.items, found.len, sizeof(found.items[0]), by_run_id);
    size_t kept = 0;
    for (size_t i = 0; i < found.len; i++) {
        if (kept && found.items[kept - 1].id == found.items[i].id) {
            warn("archive '%s' holds run %lld again: kept '%s'", found.items[i].archive_path,
                 (long long)found.items[i].id, found.items[kept - 1].archive_path);
            run_record_release(&found.items[i]);
            continue;
        }
        found.items[kept++] = found.items[i];
    }
    found.len = kept;
    size_t all = existing.len;
    for (size_t i = 0; i < found.len; i++)
        ids[all++] = found.items[i].id;
    if (all)
        qsort(ids, all, sizeof(*ids), by_number);
    /* a rerun of a run no archive is left of repeats nothing recorded */
    for (size_t i = 0; i < found.len; i++)
        if (found.items[i].rerun_of && !has_id(ids, all, found.items[i].rerun_of))
            found.items[i].rerun_of = 0;
    if (found.len && store_merge_runs(st, found.items, found.len) < 0) {
        error("%s", store_error(st));
        goto out;
    }
    if (found.len)
        printf("recovered %zu %s from the archives in '%s' into '%s'", found.len,
               plural(found.len, "run", "runs"), folder, st->location);
    else
        printf("nothing to recover: state database '%s' records every run archived in '%s'",
               st->location, folder);
    if (known && found.len)
        printf(" (%zu recorded already)", known);
    printf("\n");
    if (unreadable)
        fprintf(stderr,
                "stau: error: %zu %s could not be read (the warnings above say which and "
                "why): %s not recovered\n",
                unreadable, plural(unreadable, "archive", "archives"),
                plural(unreadable, "its run is", "their runs are"));
    rc = unreadable ? EXIT_JOB_FAILED : EXIT_OK;
out:
    free(ids);
    run_list_release(&existing);
    run_list_release(&found);
    archived_release(&archives);
    free(folder);
    strbuf_release(&err);
    store_close(st);
    free(location);
    project_release_at_exit(&p);
    return rc;
}
