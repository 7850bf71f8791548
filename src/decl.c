/* decl.c: from STAU_CONFIG's value to a typed, checked declaration. */
#include "decl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cron.h"
#include "tz.h"

const char *const decl_keys[] = {
    "dependencies", "schedule",     "timezone",   "inputs",
    "outputs",      "main_func",    "kwargs",     "retries",
    "retry_delay",  "timeout",      "slots",      "tags",
    "python",       "chunk_size",   "work_ids",   "allow_multiple_jobs",
    "job_type",     "data_sources", "data_sinks", "is_streaming",
    "on",           "log_limit",    NULL,
};

static const char *const dependency_keys[] = {
    "job", "job_type", "max_lag", "kwargs", "custom_kwargs", "unique", "allow_missing_work_ids",
    NULL,
};

/* Context for checking one declaration. */
struct checker {
    const char *path;
    const char *job; /* its name as messages give it: "'sales.daily'", or "the job" */
    struct diags *diags;
    bool failed;
    const char *slip; /* check_key: the known key the key it checked is a slip for */
};

static void type_error(struct checker *c, const struct value *v, const char *key, const char *want)
{
    diag_add(c->diags, DIAG_ERROR, c->path, v->loc, "'%s' must be %s, not %s", key, want,
             v->kind == VALUE_DICT && v->record ? v->record : value_kind_name(v->kind));
    c->failed = true;
}

static void range_error(struct checker *c, const struct value *v, const char *key, const char *want)
{
    diag_add(c->diags, DIAG_ERROR, c->path, v->loc, "'%s' must be %s", key, want);
    c->failed = true;
}

static bool get_string(struct checker *c, const struct value *v, const char *key, char **out)
{
    if (v->kind != VALUE_STR) {
        type_error(c, v, key, "a str");
        return false;
    }
    if (strlen(v->str.data) != v->str.len) {
        range_error(c, v, key, "a str without NUL characters");
        return false;
    }
    free(*out);
    *out = xstrdup(v->str.data);
    return true;
}

static bool get_bool(struct checker *c, const struct value *v, const char *key, bool *out)
{
    if (v->kind != VALUE_BOOL) {
        type_error(c, v, key, "True or False");
        return false;
    }
    *out = v->boolean;
    return true;
}

static bool get_int(struct checker *c, const struct value *v, const char *key, int64_t min,
                    const char *range, int64_t *out)
{
    if (v->kind != VALUE_INT) {
        type_error(c, v, key, "an int");
        return false;
    }
    if (v->integer < min) {
        range_error(c, v, key, range);
        return false;
    }
    *out = v->integer;
    return true;
}

/* A size in bytes: an int >= 0, or a str such as "64M" (parse_size); 0: no cap. */
static bool get_size(struct checker *c, const struct value *v, const char *key, int64_t *out)
{
    uint64_t size;
    if (v->kind == VALUE_STR) {
        if (parse_size(v->str.data, &size) < 0 || size > INT64_MAX) {
            range_error(c, v, key, "a size such as 64M, 1G or 500000 (bytes); 0: no limit");
            return false;
        }
        *out = (int64_t)size;
        return true;
    }
    return get_int(c, v, key, 0, "an int >= 0 (bytes; 0: no limit) or a str such as \"64M\"", out);
}

static bool get_number(struct checker *c, const struct value *v, const char *key, bool positive,
                       double *out)
{
    double d;
    if (v->kind == VALUE_INT)
        d = (double)v->integer;
    else if (v->kind == VALUE_FLOAT)
        d = v->number;
    else {
        type_error(c, v, key, "a number");
        return false;
    }
    if (positive ? !(d > 0) : !(d >= 0)) {
        range_error(c, v, key, positive ? "a number > 0" : "a number >= 0");
        return false;
    }
    *out = d;
    return true;
}

/* A list (or tuple) of str; a single str is refused with a hint, as it is a common slip. */
static bool get_strings(struct checker *c, const struct value *v, const char *key,
                        struct strlist *out)
{
    if (v->kind != VALUE_LIST && v->kind != VALUE_TUPLE) {
        type_error(c, v, key, "a list of str");
        if (v->kind == VALUE_STR)
            diag_hint(c->diags, "write [\"%s\"]", v->str.data);
        return false;
    }
    for (size_t i = 0; i < v->list.len; i++) {
        const struct value *item = v->list.items[i];
        if (item->kind != VALUE_STR) {
            diag_add(c->diags, DIAG_ERROR, c->path, item->loc,
                     "'%s' must be a list of str, but item %zu is %s", key, i + 1,
                     value_kind_name(item->kind));
            c->failed = true;
            return false;
        }
        VEC_PUSH(out, xstrdup(item->str.data));
    }
    return true;
}

static bool get_json_dict(struct checker *c, const struct value *v, const char *key, char **out)
{
    if (v->kind != VALUE_DICT) {
        type_error(c, v, key, "a dict");
        return false;
    }
    struct strbuf sb = STRBUF_INIT;
    value_to_json(v, &sb);
    free(*out);
    *out = strbuf_detach(&sb);
    return true;
}

const char *decl_unknown_key(struct diags *diags, const char *path, const struct value *key,
                             const char *const *known, const char *what)
{
    const char *suggestion = did_you_mean(key->str.data, known);
    diag_add(diags, DIAG_WARNING, path, key->loc, "unknown key '%s' in %s is ignored",
             key->str.data, what);
    if (suggestion)
        diag_hint(diags, "did you mean '%s'?", suggestion);
    return suggestion;
}

/* Whether the dict v has the key name. */
static bool has_key(const struct value *v, const char *name)
{
    for (size_t i = 0; i < v->dict.len; i++)
        if (strcmp(v->dict.keys[i]->str.data, name) == 0)
            return true;
    return false;
}

/* After the warning about a key misspelt for `meant` (a key of STAU_CONFIG), at loc:
 * a note of what the declaration then lacks, for the keys that change what the job
 * does (not job_type and the documentation-only ones). */
static void note_missing(struct checker *c, const struct value *decl, const char *meant,
                         struct loc loc, const struct decl *out)
{
    const char *j = c->job;
    char *what = NULL;
    if (has_key(decl, meant))
        return; /* given as well: nothing is lacking */
    if (strcmp(meant, "dependencies") == 0)
        what = xprintf("so %s depends on nothing", j);
    else if (strcmp(meant, "schedule") == 0)
        what = xprintf("so %s has no schedule", j);
    else if (strcmp(meant, "timezone") == 0)
        what = xprintf("so the schedule of %s is read in the machine's time zone", j);
    else if (strcmp(meant, "inputs") == 0)
        what = xprintf("so %s declares no inputs: a change to them does not make it due", j);
    else if (strcmp(meant, "outputs") == 0)
        what = xprintf("so %s declares no outputs: none is checked or archived", j);
    else if (strcmp(meant, "main_func") == 0)
        what = xprintf("so %s runs its file as a script, calling no function", j);
    else if (strcmp(meant, "kwargs") == 0)
        what = xprintf("so %s gets no kwargs", j);
    else if (strcmp(meant, "retries") == 0)
        what = out->retries
                   ? xprintf("so %s is retried %lld times, the default", j, (long long)out->retries)
                   : xprintf("so %s is not retried after a failure", j);
    else if (strcmp(meant, "retry_delay") == 0)
        what = xprintf("so %s waits %g s before a retry, the default", j, out->retry_delay);
    else if (strcmp(meant, "timeout") == 0)
        what = xprintf("so %s has no timeout", j);
    else if (strcmp(meant, "slots") == 0)
        what = xprintf("so %s takes 1 slot", j);
    else if (strcmp(meant, "tags") == 0)
        what = xprintf("so %s has no tags: no tag:NAME selects it", j);
    else if (strcmp(meant, "python") == 0)
        what = xprintf("so %s runs with the default interpreter", j);
    else if (strcmp(meant, "chunk_size") == 0)
        what = has_key(decl, "work_ids") ? xprintf("so %s runs all its work IDs in one chunk", j)
                                         : xprintf("so %s is not split into chunks", j);
    else if (strcmp(meant, "work_ids") == 0)
        what = has_key(decl, "chunk_size")
                   ? xprintf("so %s has no work IDs of its own: select_work chooses them", j)
                   : xprintf("so %s is not split into chunks", j);
    else if (strcmp(meant, "allow_multiple_jobs") == 0)
        what = out->original_form ? xprintf("so %s may run twice at once", j)
                                  : xprintf("so %s never runs twice at once", j);
    else if (strcmp(meant, "on") == 0)
        what = xprintf("so %s runs on its default policy", j);
    if (what)
        diag_add(c->diags, DIAG_NOTE, c->path, loc, "%s", what);
    free(what);
}

/* The same for a key of a dependency on `up` (NULL: its job is not known). */
static void note_missing_in_dependency(struct checker *c, const struct value *dep,
                                       const char *meant, struct loc loc, const char *up)
{
    if (!up || has_key(dep, meant) ||
        ((strcmp(meant, "kwargs") == 0 || strcmp(meant, "custom_kwargs") == 0) &&
         (has_key(dep, "kwargs") || has_key(dep, "custom_kwargs"))))
        return;
    const char *lacks = strcmp(meant, "max_lag") == 0  ? "has no max_lag"
                        : strcmp(meant, "unique") == 0 ? "shares its run of it"
                        : strcmp(meant, "allow_missing_work_ids") == 0
                            ? "judges max_lag per work ID"
                        : strcmp(meant, "kwargs") == 0 || strcmp(meant, "custom_kwargs") == 0
                            ? "passes it no kwargs"
                            : NULL;
    if (lacks)
        diag_add(c->diags, DIAG_NOTE, c->path, loc, "so the dependency of %s on '%s' %s", c->job,
                 up, lacks);
}

/* Is this one of the keys, the canonical or an alias? */
static bool key_is(const struct value *key, const char *name)
{
    return strcmp(key->str.data, name) == 0;
}

static bool is_identifier(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || (unsigned char)*s >= 0x80))
            return false;
    return true;
}

/* A key written for a known one (meant), where, and the diagnostics there were after
 * its warning. */
struct slip {
    const char *meant;
    struct loc loc;
    size_t after;
};

static void check_dependency(struct checker *c, const struct value *v, struct decl *out)
{
    struct dependency dep = {0};
    if (v->kind == VALUE_STR) {
        dep.job = xstrdup(v->str.data);
        dep.loc = v->loc;
        VEC_PUSH(&out->deps, dep);
        return;
    }
    if (v->kind != VALUE_DICT) {
        diag_add(c->diags, DIAG_ERROR, c->path, v->loc,
                 "a dependency must be a job name, a dict with 'job', or ReportDependencies(...), "
                 "not %s",
                 value_kind_name(v->kind));
        c->failed = true;
        return;
    }
    const struct value *name_key = NULL;
    bool ok = true;
    VEC(struct slip) slips = {0};
    for (size_t i = 0; i < v->dict.len; i++) {
        const struct value *k = v->dict.keys[i], *x = v->dict.values[i];
        if (key_is(k, "job") || key_is(k, "job_type")) {
            if (name_key) {
                diag_add(c->diags, DIAG_ERROR, c->path, k->loc,
                         "dependency names its job twice ('%s' and '%s')", name_key->str.data,
                         k->str.data);
                c->failed = true;
                ok = false;
                continue;
            }
            name_key = k;
            if (get_string(c, x, k->str.data, &dep.job))
                dep.loc = x->loc;
            else
                ok = false;
        } else if (key_is(k, "max_lag")) {
            if (x->kind == VALUE_NONE)
                continue;
            dep.has_max_lag = get_number(c, x, "max_lag", false, &dep.max_lag);
            ok &= dep.has_max_lag;
        } else if (key_is(k, "kwargs") || key_is(k, "custom_kwargs")) {
            ok &= get_json_dict(c, x, k->str.data, &dep.kwargs_json);
        } else if (key_is(k, "unique")) {
            ok &= get_bool(c, x, "unique", &dep.unique);
        } else if (key_is(k, "allow_missing_work_ids")) {
            ok &= get_bool(c, x, "allow_missing_work_ids", &dep.allow_missing_work_ids);
        } else {
            const char *meant =
                decl_unknown_key(c->diags, c->path, k, dependency_keys, "a dependency");
            if (meant)
                VEC_PUSH(&slips, ((struct slip){meant, k->loc, 0}));
        }
    }
    for (size_t i = 0; i < slips.len; i++)
        note_missing_in_dependency(c, v, slips.items[i].meant, slips.items[i].loc, dep.job);
    VEC_FREE(&slips);
    if (!name_key && ok && !v->incomplete) {
        diag_add(c->diags, DIAG_ERROR, c->path, v->loc, "dependency has no 'job'");
        diag_hint(c->diags, "write {\"job\": \"name.of.job\", ...}");
        c->failed = true;
    }
    /* (Incomplete: its 'job' had an error, told already.) */
    ok &= name_key != NULL;
    if (!ok) {
        free(dep.job);
        free(dep.kwargs_json);
        return;
    }
    VEC_PUSH(&out->deps, dep);
}

static void check_schedule_one(struct checker *c, const struct value *v, struct decl *out)
{
    if (v->kind != VALUE_STR) {
        type_error(c, v, "schedule", "a cron string or a list of them");
        return;
    }
    struct cron cron;
    struct strbuf err = STRBUF_INIT;
    size_t offset = 0;
    if (cron_parse(v->str.data, &cron, &err, &offset) < 0) {
        struct loc loc = v->loc;
        /* Point into the string when it is written in place on one line: past the quote. */
        if (loc.line == loc.end_line && loc.end_col > loc.col + offset + 1) {
            loc.col += (uint32_t)offset + 1;
            loc.end_col = loc.col + 1;
        }
        diag_add(c->diags, DIAG_ERROR, c->path, loc, "invalid schedule '%s': %s", v->str.data,
                 strbuf_str(&err));
        diag_hint(c->diags, "a schedule is 5 cron fields (minute hour day-of-month month "
                            "day-of-week), @hourly/@daily/@weekly/@monthly/@yearly, or "
                            "@every 15m");
        c->failed = true;
    } else {
        VEC_PUSH(&out->schedules, xstrdup(v->str.data));
    }
    strbuf_release(&err);
}

/* "on": "schedule" | "change" | "demand", or a list of "schedule" and "change". */
static void check_on(struct checker *c, const struct value *x, struct decl *out)
{
    static const char *const words[] = {"schedule", "change", "demand", NULL};
    const struct value *const *items = &x;
    size_t count = 1;
    if (x->kind == VALUE_LIST || x->kind == VALUE_TUPLE) {
        items = (const struct value *const *)x->list.items;
        count = x->list.len;
        if (!count) {
            range_error(c, x, "on",
                        "\"schedule\", \"change\", \"demand\" or a list of "
                        "\"schedule\" and \"change\", not an empty list");
            return;
        }
    }
    unsigned on = 0;
    for (size_t i = 0; i < count; i++) {
        const struct value *v = items[i];
        if (v->kind != VALUE_STR) {
            type_error(c, v, "on", "\"schedule\", \"change\", \"demand\" or a list of them");
            return;
        }
        unsigned bit = 0;
        for (size_t w = 0; words[w]; w++)
            if (strcmp(v->str.data, words[w]) == 0)
                bit = 1u << w;
        if (!bit) {
            diag_add(c->diags, DIAG_ERROR, c->path, v->loc,
                     "'on' must be \"schedule\", \"change\" or \"demand\", not \"%s\"",
                     v->str.data);
            const char *suggestion = did_you_mean(v->str.data, words);
            if (suggestion)
                diag_hint(c->diags, "did you mean \"%s\"?", suggestion);
            c->failed = true;
            return;
        }
        on |= bit;
    }
    if ((on & DECL_ON_DEMAND) && on != DECL_ON_DEMAND) {
        range_error(c, x, "on",
                    "\"demand\" alone: a job run on demand runs only when a job that runs "
                    "needs it");
        return;
    }
    out->on = on;
    out->on_loc = x->loc;
}

/* Check one key of STAU_CONFIG; a misspelt one that is certainly a known key sets
 * c->slip to that key. */
static void check_key(struct checker *c, const struct value *k, const struct value *x,
                      struct decl *out)
{
    const char *key = k->str.data;
    if (key_is(k, "dependencies")) {
        if (x->kind != VALUE_LIST && x->kind != VALUE_TUPLE) {
            type_error(c, x, key, "a list");
            if (x->kind == VALUE_STR)
                diag_hint(c->diags, "write [\"%s\"]", x->str.data);
            return;
        }
        for (size_t i = 0; i < x->list.len; i++)
            check_dependency(c, x->list.items[i], out);
    } else if (key_is(k, "schedule")) {
        if (x->kind == VALUE_LIST || x->kind == VALUE_TUPLE) {
            for (size_t i = 0; i < x->list.len; i++)
                check_schedule_one(c, x->list.items[i], out);
        } else if (x->kind != VALUE_NONE) {
            check_schedule_one(c, x, out);
        }
    } else if (key_is(k, "timezone")) {
        if (x->kind == VALUE_NONE || !get_string(c, x, key, &out->timezone))
            return;
        struct strbuf err = STRBUF_INIT;
        struct tz *zone = tz_load(out->timezone, &err);
        if (!zone) {
            diag_add(c->diags, DIAG_ERROR, c->path, x->loc, "%s", strbuf_str(&err));
            char *close = tz_closest(out->timezone);
            if (close)
                diag_hint(c->diags, "did you mean '%s'?", close);
            else
                diag_hint(c->diags,
                          "use an IANA zone name such as \"Europe/Copenhagen\" or \"UTC\"");
            free(close);
            c->failed = true;
        }
        tz_free(zone);
        strbuf_release(&err);
    } else if (key_is(k, "inputs")) {
        get_strings(c, x, key, &out->inputs);
    } else if (key_is(k, "outputs")) {
        if (!get_strings(c, x, key, &out->outputs))
            return;
        for (size_t i = 0; i < out->outputs.len; i++) {
            const char *p = out->outputs.items[i];
            if (p[0] == '/' || strcmp(p, "..") == 0 || starts_with(p, "../") || strstr(p, "/../") ||
                ends_with(p, "/..")) {
                const struct value *item = x->list.len > i ? x->list.items[i] : x;
                diag_add(c->diags, DIAG_ERROR, c->path, item->loc,
                         "output '%s' is outside the project", p);
                diag_hint(c->diags, "outputs are paths relative to the project root, without '..'");
                c->failed = true;
            }
        }
    } else if (key_is(k, "main_func")) {
        if (x->kind == VALUE_NONE)
            return;
        if (get_string(c, x, key, &out->main_func) && !is_identifier(out->main_func)) {
            diag_add(c->diags, DIAG_ERROR, c->path, x->loc,
                     "'main_func' must name a function, not '%s'", out->main_func);
            c->failed = true;
        }
    } else if (key_is(k, "kwargs")) {
        get_json_dict(c, x, key, &out->kwargs_json);
    } else if (key_is(k, "retries")) {
        get_int(c, x, key, 0, "an int >= 0", &out->retries);
    } else if (key_is(k, "retry_delay")) {
        get_number(c, x, key, false, &out->retry_delay);
    } else if (key_is(k, "timeout")) {
        if (x->kind != VALUE_NONE)
            get_number(c, x, key, true, &out->timeout);
    } else if (key_is(k, "log_limit")) {
        get_size(c, x, key, &out->log_limit);
    } else if (key_is(k, "slots")) {
        get_int(c, x, key, 1, "an int >= 1", &out->slots);
    } else if (key_is(k, "tags")) {
        get_strings(c, x, key, &out->tags);
    } else if (key_is(k, "python")) {
        if (x->kind != VALUE_NONE)
            get_string(c, x, key, &out->python);
    } else if (key_is(k, "chunk_size")) {
        if (x->kind != VALUE_NONE)
            get_int(c, x, key, 1, "an int >= 1", &out->chunk_size);
    } else if (key_is(k, "work_ids")) {
        if (x->kind != VALUE_LIST && x->kind != VALUE_TUPLE) {
            type_error(c, x, key, "a list of int");
            return;
        }
        out->has_work_ids = true;
        for (size_t i = 0; i < x->list.len; i++) {
            const struct value *item = x->list.items[i];
            if (item->kind != VALUE_INT) {
                type_error(c, item, "work_ids", "a list of int");
                return;
            }
            VEC_PUSH(&out->work_ids, item->integer);
        }
    } else if (key_is(k, "allow_multiple_jobs")) {
        get_bool(c, x, key, &out->allow_multiple_jobs);
    } else if (key_is(k, "is_streaming")) {
        get_bool(c, x, key, &out->is_streaming);
    } else if (key_is(k, "job_type")) {
        if (get_string(c, x, key, &out->job_type))
            out->job_type_loc = x->loc;
    } else if (key_is(k, "data_sources")) {
        get_strings(c, x, key, &out->data_sources);
    } else if (key_is(k, "data_sinks")) {
        get_strings(c, x, key, &out->data_sinks);
    } else if (key_is(k, "on")) {
        check_on(c, x, out);
    } else {
        c->slip = decl_unknown_key(c->diags, c->path, k, decl_keys, "STAU_CONFIG");
    }
}

struct decl_defaults decl_defaults = {0, 60, DECL_LOG_LIMIT};

int decl_build(const struct value *v, const char *path, const char *job, struct decl *out,
               struct diags *diags)
{
    char *name = job ? xprintf("'%s'", job) : xstrdup("the job");
    struct checker c = {path, name, diags, false, NULL};
    memset(out, 0, sizeof(*out));
    out->slots = 1;
    out->retries = decl_defaults.retries;
    out->retry_delay = decl_defaults.retry_delay;
    out->log_limit = decl_defaults.log_limit;
    if (v->kind != VALUE_DICT) {
        diag_add(diags, DIAG_ERROR, path, v->loc,
                 "STAU_CONFIG must be a dict or ReportConfig(...), not %s",
                 value_kind_name(v->kind));
        diag_hint(diags, "write STAU_CONFIG = {\"dependencies\": [...], \"schedule\": \"...\"}");
        free(name);
        return -1;
    }
    out->original_form = v->record != NULL;
    /* The original Stau's ReportConfig allows concurrent runs unless told otherwise. */
    out->allow_multiple_jobs = out->original_form;
    VEC(struct slip) slips = {0};
    for (size_t i = 0; i < v->dict.len; i++) {
        size_t before = diags->errors;
        /* What a slip leaves out is told once the rest is known (has work_ids?). The note
         * goes right after its warning, which is the last diagnostic then. */
        c.slip = NULL;
        check_key(&c, v->dict.keys[i], v->dict.values[i], out);
        if (diags->errors != before)
            c.failed = true;
        if (c.slip)
            VEC_PUSH(&slips, ((struct slip){c.slip, v->dict.keys[i]->loc, diags->items.len}));
    }
    /* Each note goes right after its warning; the rest of the declaration is known by
     * then (does it give work_ids?). Inserted from the last, so positions hold. */
    for (size_t n = slips.len; n-- > 0;) {
        size_t before = diags->items.len;
        note_missing(&c, v, slips.items[n].meant, slips.items[n].loc, out);
        if (diags->items.len == before + 1 && slips.items[n].after < before) {
            struct diag note = diags->items.items[before];
            memmove(&diags->items.items[slips.items[n].after + 1],
                    &diags->items.items[slips.items[n].after],
                    (before - slips.items[n].after) * sizeof(struct diag));
            diags->items.items[slips.items[n].after] = note;
        }
    }
    VEC_FREE(&slips);
    if (!out->kwargs_json)
        out->kwargs_json = xstrdup("{}");
    free(name);
    return c.failed ? -1 : 0;
}

void decl_keep_dependencies(struct decl *d)
{
    struct decl kept = {0};
    kept.deps = d->deps;
    memset(&d->deps, 0, sizeof(d->deps));
    decl_release(d);
    kept.slots = 1;
    kept.kwargs_json = xstrdup("{}");
    *d = kept;
}

static void strlist_release(struct strlist *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    VEC_FREE(l);
}

void decl_release(struct decl *d)
{
    for (size_t i = 0; i < d->deps.len; i++) {
        free(d->deps.items[i].job);
        free(d->deps.items[i].kwargs_json);
    }
    VEC_FREE(&d->deps);
    strlist_release(&d->schedules);
    strlist_release(&d->inputs);
    strlist_release(&d->outputs);
    strlist_release(&d->tags);
    strlist_release(&d->data_sources);
    strlist_release(&d->data_sinks);
    VEC_FREE(&d->work_ids);
    free(d->timezone);
    free(d->main_func);
    free(d->kwargs_json);
    free(d->python);
    free(d->job_type);
    memset(d, 0, sizeof(*d));
}

static void json_string_or_null(struct strbuf *out, const char *s)
{
    if (s)
        json_quote(out, s, strlen(s));
    else
        strbuf_addstr(out, "null");
}

static void json_strings(struct strbuf *out, const struct strlist *l)
{
    strbuf_addch(out, '[');
    for (size_t i = 0; i < l->len; i++) {
        if (i)
            strbuf_addch(out, ',');
        json_quote(out, l->items[i], strlen(l->items[i]));
    }
    strbuf_addch(out, ']');
}

static void json_number(struct strbuf *out, double d)
{
    if (d == floor(d) && fabs(d) < 1e15)
        strbuf_addf(out, "%lld", (long long)d);
    else
        value_format_float(out, d);
}

void decl_to_json(const struct decl *d, struct strbuf *out)
{
    strbuf_addch(out, '{');
    decl_json_fields(d, out);
    strbuf_addch(out, '}');
}

void decl_json_fields(const struct decl *d, struct strbuf *out)
{
    strbuf_addstr(out, "\"dependencies\":[");
    for (size_t i = 0; i < d->deps.len; i++) {
        const struct dependency *dep = &d->deps.items[i];
        strbuf_addstr(out, i ? ",{\"job\":" : "{\"job\":");
        json_quote(out, dep->job, strlen(dep->job));
        strbuf_addstr(out, ",\"max_lag\":");
        if (dep->has_max_lag)
            json_number(out, dep->max_lag);
        else
            strbuf_addstr(out, "null");
        strbuf_addf(out, ",\"kwargs\":%s,\"unique\":%s,\"allow_missing_work_ids\":%s}",
                    dep->kwargs_json ? dep->kwargs_json : "{}", dep->unique ? "true" : "false",
                    dep->allow_missing_work_ids ? "true" : "false");
    }
    strbuf_addstr(out, "],\"schedule\":");
    json_strings(out, &d->schedules);
    strbuf_addstr(out, ",\"timezone\":");
    json_string_or_null(out, d->timezone);
    strbuf_addstr(out, ",\"inputs\":");
    json_strings(out, &d->inputs);
    strbuf_addstr(out, ",\"outputs\":");
    json_strings(out, &d->outputs);
    strbuf_addstr(out, ",\"main_func\":");
    json_string_or_null(out, d->main_func);
    strbuf_addf(out, ",\"kwargs\":%s,\"retries\":%lld,\"retry_delay\":", d->kwargs_json,
                (long long)d->retries);
    json_number(out, d->retry_delay);
    strbuf_addstr(out, ",\"timeout\":");
    if (d->timeout > 0)
        json_number(out, d->timeout);
    else
        strbuf_addstr(out, "null");
    strbuf_addf(out, ",\"slots\":%lld,\"tags\":", (long long)d->slots);
    json_strings(out, &d->tags);
    strbuf_addstr(out, ",\"python\":");
    json_string_or_null(out, d->python);
    strbuf_addstr(out, ",\"chunk_size\":");
    if (d->chunk_size)
        strbuf_addf(out, "%lld", (long long)d->chunk_size);
    else
        strbuf_addstr(out, "null");
    strbuf_addstr(out, ",\"work_ids\":");
    if (d->has_work_ids) {
        strbuf_addch(out, '[');
        for (size_t i = 0; i < d->work_ids.len; i++)
            strbuf_addf(out, "%s%lld", i ? "," : "", (long long)d->work_ids.items[i]);
        strbuf_addch(out, ']');
    } else {
        strbuf_addstr(out, "null");
    }
    strbuf_addf(out, ",\"allow_multiple_jobs\":%s,\"is_streaming\":%s,\"job_type\":",
                d->allow_multiple_jobs ? "true" : "false", d->is_streaming ? "true" : "false");
    json_string_or_null(out, d->job_type);
    strbuf_addstr(out, ",\"data_sources\":");
    json_strings(out, &d->data_sources);
    strbuf_addstr(out, ",\"data_sinks\":");
    json_strings(out, &d->data_sinks);
    /* Only when written, so that declarations without it keep their fingerprint. */
    if (d->on) {
        strbuf_addstr(out, ",\"on\":[");
        static const char *const words[] = {"\"schedule\"", "\"change\"", "\"demand\""};
        for (unsigned w = 0, n = 0; w < 3; w++)
            if (d->on & (1u << w))
                strbuf_addf(out, "%s%s", n++ ? "," : "", words[w]);
        strbuf_addch(out, ']');
    }
}
