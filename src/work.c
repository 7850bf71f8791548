/* work.c: work IDs and chunks: splitting, their JSON, what a batch of chunk runs
 * amounts to, and asking a job file's select_work for the IDs. */
#include "work.h"
#include "paths.h"
#include "state_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Asks the job file for its work IDs. select_work may return any iterable of ints
 * (numpy integers too, bools not); a tuple whose first item is not an int is taken as
 * (work IDs, something else), which the original Stau allowed. */
const char work_selector[] =
    "import sys, os, json, operator\n"
    "with os.fdopen(3, 'rb') as f:\n"
    "    root, path, kwargs, result = json.loads(f.read())\n"
    "def say(kind, text=''):\n"
    "    with open(os.open(result, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:\n"
    "        f.write(kind + '\\n' + text)\n"
    "def first_line(e):\n"
    "    text = (str(e).splitlines() or [''])[0]\n"
    "    text = text if len(text) <= 200 else text[:197] + '...'\n"
    "    return type(e).__name__ + (': ' + text if text else '')\n"
    "def shown(v):\n"
    "    text = repr(v)\n"
    "    return text if len(text) <= 60 else text[:57] + '...'\n"
    "sys.path.insert(0, root)\n"
    "import importlib.util\n"
    "try:\n"
    "    spec = importlib.util.spec_from_file_location('__stau_job__', path)\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    sys.modules[spec.name] = module\n"
    "    spec.loader.exec_module(module)\n"
    "except Exception as e:\n"
    "    say('load', first_line(e))\n"
    "    raise\n"
    "select = getattr(module, 'select_work', None)\n"
    "if not callable(select):\n"
    "    say('none')\n"
    "    sys.exit(0)\n"
    "try:\n"
    "    got = select(**json.loads(kwargs))\n"
    "except Exception as e:\n"
    "    say('raised', first_line(e))\n"
    "    raise\n"
    "if isinstance(got, tuple) and got and not isinstance(got[0], int):\n"
    "    got = got[0]\n"
    "ids, bad = [], None\n"
    "if isinstance(got, (str, bytes, dict)) or not hasattr(got, '__iter__'):\n"
    "    bad = '%s (a %s)' % (shown(got), type(got).__name__)\n"
    "else:\n"
    "    items = list(got)\n"
    "    for n, x in enumerate(items, 1):\n"
    "        try:\n"
    "            if isinstance(x, bool):\n"
    "                raise TypeError\n"
    "            ids.append(operator.index(x))\n"
    "        except TypeError:\n"
    "            bad = '%s (item %d is %s, a %s)' % (shown(got if isinstance(got, (list, tuple)) "
    "else items), n, shown(x), type(x).__name__)\n"
    "            break\n"
    "if bad:\n"
    "    say('bad', bad)\n"
    "    sys.exit(1)\n"
    "else:\n"
    "    say('ok', json.dumps(ids))\n";

bool work_may_select(const char *root, const char *path)
{
    char *full = path[0] == '/' ? xstrdup(path) : xprintf("%s/%s", root, path);
    FILE *f = fopen(full, "rb");
    free(full);
    if (!f)
        return true; /* select_work's own run will say what is wrong */
    struct strbuf text = STRBUF_INIT;
    bool read = strbuf_read_fd(&text, fileno(f)) == 0;
    fclose(f);
    bool mentions = !read || (text.len && memmem(text.buf, text.len, "select_work", 11));
    strbuf_release(&text);
    return mentions;
}

bool work_is_chunked(const struct decl *d)
{
    return d->has_work_ids || d->chunk_size > 0;
}

size_t work_chunk_count(size_t count, int64_t chunk_size)
{
    if (!count)
        return 0;
    if (chunk_size <= 0)
        return 1;
    return (count + (size_t)chunk_size - 1) / (size_t)chunk_size;
}

void work_chunk_slice(size_t count, int64_t chunk_size, size_t k, size_t *first, size_t *len)
{
    size_t size = chunk_size > 0 ? (size_t)chunk_size : count;
    *first = k * size;
    if (*first > count)
        *first = count;
    *len = count - *first < size ? count - *first : size;
}

void work_ids_to_json(const int64_t *ids, size_t n, struct strbuf *out)
{
    strbuf_addch(out, '[');
    for (size_t i = 0; i < n; i++)
        strbuf_addf(out, "%s%lld", i ? "," : "", (long long)ids[i]);
    strbuf_addch(out, ']');
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

int work_ids_parse(const char *json, struct work_ids *out)
{
    const char *s = skip_space(json);
    if (*s++ != '[')
        return -1;
    s = skip_space(s);
    if (*s == ']')
        return *skip_space(s + 1) ? -1 : 0;
    for (;;) {
        char *end;
        errno = 0;
        long long id = strtoll(s, &end, 10);
        if (end == s || errno == ERANGE)
            return -1;
        VEC_PUSH(out, (int64_t)id);
        s = skip_space(end);
        if (*s == ']')
            return *skip_space(s + 1) ? -1 : 0;
        if (*s++ != ',')
            return -1;
        s = skip_space(s);
    }
}

void work_ids_describe(const int64_t *ids, size_t n, size_t max_len, struct strbuf *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && ids[j] < INT64_MAX && ids[j + 1] == ids[j] + 1)
            j++;
        if (i && out->len - start >= max_len) {
            strbuf_addf(out, ", ... (+%zu)", n - i);
            return;
        }
        strbuf_addstr(out, i ? ", " : "");
        if (j == i)
            strbuf_addf(out, "%lld", (long long)ids[i]);
        else
            strbuf_addf(out, "%lld-%lld", (long long)ids[i], (long long)ids[j]);
        i = j + 1;
    }
}

void work_ids_describe_json(const char *json, size_t max_len, struct strbuf *out)
{
    if (!json) {
        strbuf_addch(out, '-');
        return;
    }
    struct work_ids ids = {0};
    if (work_ids_parse(json, &ids) < 0)
        strbuf_addstr(out, json);
    else if (!ids.len)
        strbuf_addstr(out, "none");
    else
        work_ids_describe(ids.items, ids.len, max_len, out);
    VEC_FREE(&ids);
}

static bool status_failed(enum run_status s)
{
    return s == RUN_FAILED || s == RUN_TIMED_OUT || s == RUN_INTERRUPTED || s == RUN_LOST;
}

void work_batch_judge(const struct run_record *runs, size_t n, struct work_batch *out)
{
    memset(out, 0, sizeof(*out));
    size_t chunks = 1;
    for (size_t i = 0; i < n; i++)
        if (runs[i].chunks > 0 && (size_t)runs[i].chunks > chunks)
            chunks = (size_t)runs[i].chunks;
    const struct run_record **latest = xcalloc(chunks, sizeof(*latest));
    for (size_t i = 0; i < n; i++) {
        const struct run_record *r = &runs[i];
        size_t slot = r->chunk > 0 ? (size_t)r->chunk - 1 : 0;
        if (slot < chunks && (!latest[slot] || r->id > latest[slot]->id))
            latest[slot] = r;
        if (!out->newest || r->id > out->newest->id)
            out->newest = r;
        if (r->started_at && (!out->started_at || r->started_at < out->started_at))
            out->started_at = r->started_at;
        if (r->finished_at && r->finished_at >= out->finished_at) {
            out->finished_at = r->finished_at;
            out->ended = r;
        }
    }
    bool active = false, skipped = false;
    for (size_t k = 0; k < chunks; k++) {
        const struct run_record *r = latest[k];
        if (!r)
            out->missing++;
        else if (status_failed(r->status) && !out->failed)
            out->failed = r;
        else if (!run_status_finished(r->status))
            active = true;
        else if (r->status == RUN_SKIPPED || r->status == RUN_CANCELLED)
            skipped = true;
    }
    free(latest);
    out->chunks = chunks;
    out->state = out->failed    ? WORK_BATCH_FAILED
                 : active       ? WORK_BATCH_ACTIVE
                 : skipped      ? WORK_BATCH_SKIPPED
                 : out->missing ? WORK_BATCH_INCOMPLETE
                                : WORK_BATCH_SUCCEEDED;
}

/* Move runs->items[i] into *out, leaving the list's entry empty. */
static void take_run(struct run_list *runs, const struct run_record *which, struct run_record *out)
{
    size_t i = (size_t)(which - runs->items);
    *out = runs->items[i];
    memset(&runs->items[i], 0, sizeof(runs->items[i]));
}

int work_invocation_of(struct run_list *runs, struct run_record *out, size_t *missing)
{
    *missing = 0;
    if (!runs->len)
        return 0;
    struct work_batch b;
    work_batch_judge(runs->items, runs->len, &b);
    take_run(runs, b.failed ? b.failed : b.newest, out);
    if (out->chunks) {
        out->started_at = b.started_at;
        /* A failed invocation is told by its failing chunk's end (a later rerun of
         * another chunk does not move it); otherwise by the batch's last end. */
        if (b.state == WORK_BATCH_ACTIVE)
            out->finished_at = 0;
        else if (b.state != WORK_BATCH_FAILED)
            out->finished_at = b.finished_at;
        if (b.state == WORK_BATCH_SUCCEEDED)
            out->status = RUN_SUCCEEDED;
        else if (b.state == WORK_BATCH_ACTIVE && run_status_finished(out->status))
            out->status = RUN_RUNNING;
        else if (b.state == WORK_BATCH_SKIPPED && out->status != RUN_CANCELLED)
            out->status = RUN_SKIPPED;
        else if (b.state == WORK_BATCH_INCOMPLETE)
            out->status = RUN_INTERRUPTED;
        *missing = b.missing;
    }
    return 1;
}

int work_last_invocation(struct store *st, const char *job, struct run_record *out, size_t *missing)
{
    struct run_list runs = {0};
    *missing = 0;
    if (store_last_batch(st, job, &runs) < 0)
        return -1;
    int found = work_invocation_of(&runs, out, missing);
    run_list_release(&runs);
    return found;
}

/* How many batches holding a success work_success_of judges before it gives up:
 * a job whose newest successes are all in failed invocations this many times over
 * counts as never succeeded (its next success is what counts then). */
enum { SUCCESS_BATCHES_JUDGED = 64 };

int work_success_of(struct store *st, const char *job, struct run_list *first,
                    struct run_record *out)
{
    struct run_list runs = *first;
    memset(first, 0, sizeof(*first));
    for (int tries = 0; tries < SUCCESS_BATCHES_JUDGED && runs.len; tries++) {
        struct work_batch b;
        work_batch_judge(runs.items, runs.len, &b);
        if (b.state == WORK_BATCH_SUCCEEDED) {
            /* The chunk that finished last: its outputs fingerprint saw every chunk's. */
            const struct run_record *last = NULL;
            for (size_t i = 0; i < runs.len; i++) {
                const struct run_record *r = &runs.items[i];
                if (r->status == RUN_SUCCEEDED && (!last || r->finished_at >= last->finished_at))
                    last = r;
            }
            take_run(&runs, last, out);
            out->started_at = b.started_at;
            run_list_release(&runs);
            return 1;
        }
        int64_t before = runs.items[0].batch;
        run_list_release(&runs);
        if (store_succeeded_batch(st, job, before, &runs) < 0)
            return -1;
    }
    run_list_release(&runs);
    return 0;
}

int work_last_success(struct store *st, const char *job, struct run_record *out)
{
    struct run_list runs = {0};
    if (store_succeeded_batch(st, job, INT64_MAX, &runs) < 0)
        return -1;
    return work_success_of(st, job, &runs, out);
}

enum work_selection work_read_selection(const char *text, struct work_ids *ids,
                                        struct strbuf *problem)
{
    if (!text) {
        strbuf_addstr(problem, "select_work left no result");
        return WORK_SELECT_FAILED;
    }
    const char *nl = strchr(text, '\n');
    size_t kind_len = nl ? (size_t)(nl - text) : strlen(text);
    const char *rest = nl ? nl + 1 : "";
    if (kind_len == 4 && strncmp(text, "none", 4) == 0)
        return WORK_SELECT_NONE;
    if (kind_len == 2 && strncmp(text, "ok", 2) == 0) {
        if (work_ids_parse(rest, ids) == 0)
            return WORK_SELECT_OK;
        strbuf_addstr(problem, "select_work left an unreadable result");
    } else if (kind_len == 3 && strncmp(text, "bad", 3) == 0) {
        strbuf_addf(problem, "select_work returned %s, not a list of int", rest);
    } else if (kind_len == 6 && strncmp(text, "raised", 6) == 0) {
        strbuf_addf(problem, "select_work raised %s", rest);
    } else if (kind_len == 4 && strncmp(text, "load", 4) == 0) {
        strbuf_addf(problem, "loading the job file for select_work raised %s", rest);
    } else {
        strbuf_addstr(problem, "select_work left an unreadable result");
    }
    return WORK_SELECT_FAILED;
}

int work_select_start(struct work_select *ws, const struct work_select_spec *spec,
                      struct strbuf *err)
{
    ws->started = wall_clock_ms();
    ws->log = paths_select_log(spec->job, ws->started);
    ws->result = paths_select_result(spec->root, spec->job, ws->started);
    char *env[] = {xprintf("STAU_JOB=%s", spec->job), xprintf("STAU_KWARGS=%s", spec->kwargs),
                   NULL};
    /* The kwargs come on PROC_INPUT_FD: a command line is public (ps). */
    const char *argv[] = {spec->python, "-c", work_selector, spec->path, NULL};
    struct strbuf input = STRBUF_INIT;
    strbuf_addch(&input, '[');
    json_quote(&input, spec->jobs_path, strlen(spec->jobs_path));
    strbuf_addch(&input, ',');
    json_quote(&input, spec->path, strlen(spec->path));
    strbuf_addch(&input, ',');
    json_quote(&input, spec->kwargs, strlen(spec->kwargs));
    strbuf_addch(&input, ',');
    /* The selector runs in the root: it gets the result's path from there. */
    const char *result_in_root = ws->result + strlen(spec->root) + 1;
    json_quote(&input, result_in_root, strlen(result_in_root));
    strbuf_addch(&input, ']');
    char *full_log = xprintf("%s/%s", spec->root, ws->log);
    struct proc_spec ps = {.argv = argv,
                           .env_extra = (const char *const *)env,
                           .env_defaults = spec->env,
                           .cwd = spec->root,
                           .log_path = full_log,
                           .timeout_ms = (int64_t)(spec->timeout * 1000),
                           .grace_ms = spec->grace_ms,
                           .input = input.buf,
                           .input_len = input.len};
    int rc = 0;
    if (make_parent_folders(spec->root, ws->log) < 0) {
        strbuf_addstr(err, "see above");
        rc = -1;
    } else if (proc_start(&ps, &ws->proc, err) < 0) {
        rc = -1;
    }
    free(full_log);
    strbuf_release(&input);
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    return rc;
}

/* An answer of select_work bigger than this is refused (some ten million IDs). */
#define MAX_SELECTION_SIZE ((uint64_t)256 << 20)

enum work_selection work_select_end(struct work_select *ws, const struct proc_event *ev,
                                    bool interrupted, double timeout, struct work_ids *ids,
                                    struct strbuf *problem, enum run_status *status)
{
    struct strbuf text = STRBUF_INIT;
    struct strbuf refused = STRBUF_INIT;
    bool have = state_file_read(ws->result, MAX_SELECTION_SIZE, &text, &refused) == 0;
    if (refused.len)
        warn("ignoring '%s': %s", ws->result, refused.buf);
    if ((have || refused.len) && unlink(ws->result) < 0)
        warn("cannot remove '%s':", ws->result);
    strbuf_release(&refused);
    enum work_selection got = WORK_SELECT_FAILED;
    *status = RUN_FAILED;
    if (ev->timed_out) {
        *status = RUN_TIMED_OUT;
        strbuf_addf(problem, "timed out after %gs in select_work", timeout);
    } else if (interrupted && ev->status != 0) {
        *status = RUN_INTERRUPTED;
        strbuf_addstr(problem, "interrupted in select_work");
    } else {
        struct strbuf why = STRBUF_INIT;
        got = work_read_selection(have ? strbuf_str(&text) : NULL, ids, &why);
        /* What the file says about a failure tells more than the exit status does. */
        if (ev->status != 0 && (got != WORK_SELECT_FAILED || !have)) {
            got = WORK_SELECT_FAILED;
            strbuf_reset(&why);
            if (ev->signal)
                strbuf_addf(&why, "select_work was killed by signal %d", ev->signal);
            else
                strbuf_addf(&why, "select_work exited with status %d", ev->status);
        }
        if (got == WORK_SELECT_FAILED)
            strbuf_addf(problem, "failed: %s", strbuf_str(&why));
        strbuf_release(&why);
    }
    strbuf_release(&text);
    return got;
}

void work_select_release(struct work_select *ws)
{
    free(ws->log);
    free(ws->result);
    ws->log = ws->result = NULL;
}

static int by_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void work_ids_sort(struct work_ids *ids, bool unique)
{
    bool sorted = true; /* (IDs flowing down the chunk graph mostly are already) */
    for (size_t i = 1; i < ids->len && sorted; i++)
        sorted = ids->items[i - 1] <= ids->items[i];
    if (!sorted)
        qsort(ids->items, ids->len, sizeof(*ids->items), by_id);
    if (!unique || ids->len < 2)
        return;
    size_t kept = 1;
    for (size_t i = 1; i < ids->len; i++)
        if (ids->items[i] != ids->items[kept - 1])
            ids->items[kept++] = ids->items[i];
    ids->len = kept;
}

bool work_ids_given(const char *kwargs_json, struct work_ids *out)
{
    struct strbuf value = STRBUF_INIT;
    bool given = kwargs_json && json_object_get(kwargs_json, "work_ids", &value) == 1 &&
                 work_ids_parse(value.buf, out) == 0;
    strbuf_release(&value);
    return given;
}
