/* store.c: the backend-neutral part of the state store: run statuses, releasing
 * records, and choosing the backend for a location. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_names[RUN_STATUS_COUNT] = {
    [RUN_QUEUED] = "queued", [RUN_RUNNING] = "running",     [RUN_SUCCEEDED] = "succeeded",
    [RUN_FAILED] = "failed", [RUN_TIMED_OUT] = "timed-out", [RUN_INTERRUPTED] = "interrupted",
    [RUN_LOST] = "lost",     [RUN_SKIPPED] = "skipped",
};

const char *run_status_name(enum run_status status)
{
    return (unsigned)status < RUN_STATUS_COUNT ? status_names[status] : "unknown";
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
                       r->files};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        free(strings[i]);
    memset(r, 0, sizeof(*r));
}

void run_list_release(struct run_list *list)
{
    for (size_t i = 0; i < list->len; i++)
        run_record_release(&list->items[i]);
    VEC_FREE(list);
}

void store_file_list_release(struct store_file_list *list)
{
    for (size_t i = 0; i < list->len; i++)
        free(list->items[i].path);
    VEC_FREE(list);
}

struct store *store_open(const char *location, struct strbuf *err)
{
    if (starts_with(location, "postgresql://") || starts_with(location, "postgres://")) {
        strbuf_addstr(err, "cannot use a PostgreSQL state database: this stau was built "
                           "without PostgreSQL support");
        return NULL;
    }
    return store_sqlite_open(location, err);
}
