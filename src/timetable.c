/* timetable.c: the original Stau's recurring_jobs, read statically. */
#include "timetable.h"

#include <stdlib.h>
#include <string.h>
#include "cron.h"
#include "decl.h"

static const char *const entry_keys[] = {"id", "name", "trigger", "kwargs_stau_api", NULL};
static const char *const api_keys[] = {"jobType", "kwargs_func", NULL};

/* APScheduler's CronTrigger fields, most significant first, and the value a field
 * less significant than every given one takes (NULL: "*" whatever is given). */
static const struct {
    const char *name;
    const char *minimum;
} cron_fields[] = {
    {"year", NULL},        {"month", "1"}, {"day", "1"},    {"week", NULL},
    {"day_of_week", NULL}, {"hour", "0"},  {"minute", "0"}, {"second", "0"},
};
enum { FIELD_COUNT = sizeof(cron_fields) / sizeof(cron_fields[0]) };

static int fail(struct diags *diags, const char *path, const struct value *at, const char *message,
                const char *hint)
{
    diag_add(diags, DIAG_ERROR, path, at->loc, "%s", message);
    if (hint)
        diag_hint(diags, "%s", hint);
    return -1;
}

/* A field's text: an int or a str, as APScheduler takes either. */
static char *field_text(const struct value *v)
{
    if (v->kind == VALUE_INT)
        return xprintf("%lld", (long long)v->integer);
    if (v->kind == VALUE_STR)
        return xstrdup(v->str.data);
    return NULL;
}

/* APScheduler counts weekdays from Monday = 0; cron from Sunday = 0 (7 too).
 * Numbers become n + 1 and names their number, so ranges never wrap. */
static char *weekdays_to_cron(const char *s)
{
    static const char *const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    struct strbuf out = STRBUF_INIT;
    bool step = false;
    for (size_t i = 0; s[i];) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            long n = strtol(s + i, NULL, 10);
            while (s[i] >= '0' && s[i] <= '9')
                i++;
            strbuf_addf(&out, "%ld", step ? n : n + 1);
            continue;
        }
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            size_t from = i;
            while ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')
                i++;
            bool mapped = false;
            for (int d = 0; d < 7 && !mapped; d++) {
                if (i - from == 3 && strncasecmp(s + from, names[d], 3) == 0) {
                    strbuf_addf(&out, "%d", d + 1);
                    mapped = true;
                }
            }
            if (!mapped) /* left for the cron parser to refuse, in the user's words */
                strbuf_add(&out, s + from, i - from);
            continue;
        }
        step = c == '/' ? true : c == ',' ? false : step;
        strbuf_addch(&out, c);
        i++;
    }
    return strbuf_detach(&out);
}

char *timetable_cron(const struct value *trigger, const char *path, struct diags *diags)
{
    static const char *const refused[] = {"start_date", "end_date", "timezone", "jitter"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const struct value *v = value_dict_get(trigger, refused[i]);
        if (v && v->kind != VALUE_NONE) {
            char *message = xprintf("CronTrigger(%s=...) is not read by stau", refused[i]);
            fail(diags, path, v, message,
                 strcmp(refused[i], "timezone") == 0
                     ? "set \"timezone\" in the job's STAU_CONFIG instead"
                     : "remove it; stau runs a schedule from when it is read");
            free(message);
            return NULL;
        }
    }
    char *text[FIELD_COUNT] = {0};
    int least = -1;
    for (int f = 0; f < FIELD_COUNT; f++) {
        const struct value *v = value_dict_get(trigger, cron_fields[f].name);
        if (!v || v->kind == VALUE_NONE)
            continue;
        if (!(text[f] = field_text(v))) {
            char *message = xprintf("CronTrigger's %s must be an int or a str, not %s",
                                    cron_fields[f].name, value_kind_name(v->kind));
            fail(diags, path, v, message, NULL);
            free(message);
            goto fail;
        }
        least = f;
    }
    if (least < 0) {
        fail(diags, path, trigger, "CronTrigger() without fields would fire every second",
             "give at least minute=..., as in CronTrigger(minute=\"*/20\")");
        goto fail;
    }
    for (int f = 0; f < FIELD_COUNT; f++)
        if (!text[f])
            text[f] = xstrdup(f > least && cron_fields[f].minimum ? cron_fields[f].minimum : "*");
    for (int f = 0; f < FIELD_COUNT; f++) {
        /* stau's schedules have minutes, not seconds, weeks of the year or years. */
        bool ok =
            strcmp(cron_fields[f].name, "second") == 0 ? strcmp(text[f], "0") == 0
            : strcmp(cron_fields[f].name, "year") == 0 || strcmp(cron_fields[f].name, "week") == 0
                ? strcmp(text[f], "*") == 0
                : true;
        if (!ok) {
            const struct value *v = value_dict_get(trigger, cron_fields[f].name);
            char *message = xprintf("CronTrigger(%s=%s) cannot be written as a stau schedule",
                                    cron_fields[f].name, text[f]);
            fail(diags, path, v ? v : trigger, message,
                 "stau schedules are 5-field cron: minute, hour, day, month, day_of_week");
            free(message);
            goto fail;
        }
    }
    char *weekdays = weekdays_to_cron(text[4]);
    char *schedule = xprintf("%s %s %s %s %s", text[6], text[5], text[2], text[1], weekdays);
    free(weekdays);
    for (int f = 0; f < FIELD_COUNT; f++)
        free(text[f]);
    return schedule;
fail:
    for (int f = 0; f < FIELD_COUNT; f++)
        free(text[f]);
    return NULL;
}

/* IntervalTrigger(weeks=, days=, hours=, minutes=, seconds=) as "@every 1h30m". */
static char *interval_schedule(const struct value *trigger, const char *path, struct diags *diags)
{
    static const struct {
        const char *name;
        int64_t seconds;
    } units[] = {
        {"weeks", 604800}, {"days", 86400}, {"hours", 3600}, {"minutes", 60}, {"seconds", 1}};
    int64_t total = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        const struct value *v = value_dict_get(trigger, units[i].name);
        if (!v || v->kind == VALUE_NONE)
            continue;
        if (v->kind != VALUE_INT || v->integer < 0 || v->integer > 1000000) {
            char *message =
                xprintf("IntervalTrigger's %s must be a whole number >= 0", units[i].name);
            fail(diags, path, v, message, NULL);
            free(message);
            return NULL;
        }
        total += v->integer * units[i].seconds;
    }
    for (size_t i = 0; i < trigger->dict.len; i++) {
        const char *key = trigger->dict.keys[i]->str.data;
        bool known = false;
        for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
            known |= strcmp(key, units[k].name) == 0;
        if (!known && trigger->dict.values[i]->kind != VALUE_NONE) {
            char *message = xprintf("IntervalTrigger(%s=...) is not read by stau", key);
            fail(diags, path, trigger->dict.values[i], message,
                 "give weeks, days, hours, minutes or seconds");
            free(message);
            return NULL;
        }
    }
    if (total <= 0) {
        fail(diags, path, trigger, "IntervalTrigger() needs an interval above zero", NULL);
        return NULL;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addstr(&sb, "@every ");
    static const struct {
        char unit;
        int64_t seconds;
    } parts[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (total >= parts[i].seconds) {
            strbuf_addf(&sb, "%lld%c", (long long)(total / parts[i].seconds), parts[i].unit);
            total %= parts[i].seconds;
        }
    }
    return strbuf_detach(&sb);
}

static void warn_unknown_keys(const struct value *dict, const char *const *known, const char *what,
                              const char *path, struct diags *diags)
{
    for (size_t i = 0; i < dict->dict.len; i++) {
        const struct value *k = dict->dict.keys[i];
        bool found = false;
        for (size_t j = 0; known[j]; j++)
            found |= strcmp(known[j], k->str.data) == 0;
        if (!found)
            decl_unknown_key(diags, path, k, known, what);
    }
}

/* One entry of recurring_jobs into out; -1 after an error. */
static int build_entry(const struct value *v, size_t index, const char *path,
                       struct timetable_entry *out, struct diags *diags)
{
    memset(out, 0, sizeof(*out));
    out->loc = v->loc;
    if (v->kind != VALUE_DICT)
        return fail(diags, path, v, "an entry of recurring_jobs must be a dict",
                    "write {\"id\": ..., \"trigger\": CronTrigger(...), \"kwargs_stau_api\": "
                    "{\"jobType\": ...}}");
    warn_unknown_keys(v, entry_keys, "an entry of recurring_jobs", path, diags);
    const struct value *id = value_dict_get(v, "id");
    out->id = id && id->kind == VALUE_STR ? xstrdup(id->str.data) : xprintf("%zu", index);
    const struct value *api = value_dict_get(v, "kwargs_stau_api");
    const struct value *job =
        api && api->kind == VALUE_DICT ? value_dict_get(api, "jobType") : NULL;
    if (!job || job->kind != VALUE_STR)
        return fail(diags, path,
                    job   ? job
                    : api ? api
                          : v,
                    "an entry of recurring_jobs needs kwargs_stau_api.jobType, the job's name",
                    "write \"kwargs_stau_api\": {\"jobType\": \"name.of.job\"}");
    warn_unknown_keys(api, api_keys, "kwargs_stau_api", path, diags);
    out->job = xstrdup(job->str.data);
    out->loc = job->loc;
    const struct value *kwargs = value_dict_get(api, "kwargs_func");
    if (kwargs && kwargs->kind == VALUE_DICT) {
        struct strbuf sb = STRBUF_INIT;
        value_to_json(kwargs, &sb);
        out->kwargs_json = strbuf_detach(&sb);
    } else if (kwargs && kwargs->kind != VALUE_NONE) {
        /* The original Stau hands kwargs_func to the job as its kwargs: a dict. */
        char *message = xprintf("kwargs_func must be a dict of keyword arguments, not %s",
                                value_kind_name(kwargs->kind));
        fail(diags, path, kwargs, message,
             "the original Stau passes it to the job as its kwargs: write {\"name\": value, ...}");
        free(message);
        return -1;
    }
    const struct value *trigger = value_dict_get(v, "trigger");
    if (!trigger)
        return fail(
            diags, path, v, "an entry of recurring_jobs needs a \"trigger\"",
            "write \"trigger\": CronTrigger(minute=\"*/20\") or IntervalTrigger(minutes=5)");
    if (trigger->kind == VALUE_DICT && trigger->record &&
        strcmp(trigger->record, "CronTrigger") == 0)
        out->schedule = timetable_cron(trigger, path, diags);
    else if (trigger->kind == VALUE_DICT && trigger->record &&
             strcmp(trigger->record, "IntervalTrigger") == 0)
        out->schedule = interval_schedule(trigger, path, diags);
    else
        return fail(diags, path, trigger,
                    "a trigger must be CronTrigger(...) or IntervalTrigger(...)", NULL);
    if (!out->schedule)
        return -1;
    struct cron cron;
    struct strbuf err = STRBUF_INIT;
    size_t offset;
    if (cron_parse(out->schedule, &cron, &err, &offset) < 0) {
        char *message = xprintf("trigger gives the schedule '%s', which is invalid: %s",
                                out->schedule, strbuf_str(&err));
        fail(diags, path, trigger, message, NULL);
        free(message);
        strbuf_release(&err);
        return -1;
    }
    strbuf_release(&err);
    return 0;
}

static void entry_release(struct timetable_entry *e)
{
    free(e->id);
    free(e->job);
    free(e->schedule);
    free(e->kwargs_json);
}

int timetable_build(const struct value *v, const char *path, struct timetable *out,
                    struct diags *diags)
{
    memset(out, 0, sizeof(*out));
    if (v->kind != VALUE_LIST && v->kind != VALUE_TUPLE)
        return fail(diags, path, v, "recurring_jobs must be a list of dicts", NULL);
    int rc = 0;
    for (size_t i = 0; i < v->list.len; i++) {
        struct timetable_entry e;
        if (build_entry(v->list.items[i], i, path, &e, diags) < 0) {
            entry_release(&e);
            rc = -1;
            continue;
        }
        for (size_t k = 0; k < out->len; k++) {
            if (strcmp(out->items[k].id, e.id) == 0) {
                diag_add(diags, DIAG_WARNING, path, e.loc,
                         "id '%s' is used twice in recurring_jobs", e.id);
                break;
            }
        }
        VEC_PUSH(out, e);
    }
    return rc;
}

void timetable_release(struct timetable *t)
{
    for (size_t i = 0; i < t->len; i++)
        entry_release(&t->items[i]);
    VEC_FREE(t);
}
