/* eval.c: static evaluation of a declaration. Every refusal names the
 * expression, quotes it, and says what a declaration may contain. */
#include "eval.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALLOWED_HINT                                                                               \
    "a declaration may use literals (str, int, float, bool, None), lists, tuples, dicts with "     \
    "str keys, names bound above it at module level, f-strings over such names, + on two "         \
    "strings or two lists, + - * on numbers, // and % on ints, dict(...), ReportConfig(...) and "  \
    "ReportDependencies(...)"

/* What a binary operator may be, for the refusal of any other. */
#define OPERATORS_HINT                                                                             \
    "a declaration evaluates + - * on numbers, // and % on ints, and + on two strings or two "     \
    "lists"

enum { MAX_DEPTH = 100 };

/* The largest value a declaration may evaluate to, measured as about the length of its
 * JSON text: names bound to names make values that double at each line, which Python
 * shares but stau writes out in full (graph cache, `list --json`, `dot`). */
#define MAX_VALUE_SIZE ((size_t)16 * 1024 * 1024)
#define TOO_LARGE_HINT                                                                             \
    "stau copies a declaration's values into its graph cache and `list --json`; keep them "        \
    "under 16 MiB, and build large data inside the job"

/* The positional parameters of the original Stau's record types (SPEC §7). */
struct record_type {
    const char *name;
    const char *params[10];
    size_t required; /* the first `required` params have no default */
};
static const struct record_type record_types[] = {
    {"ReportConfig",
     {"job_type", "chunk_size", "dependencies", "main_func", "data_sources", "data_sinks",
      "is_streaming", "allow_multiple_jobs", NULL},
     4},
    {"ReportDependencies",
     {"job_type", "max_lag", "allow_missing_work_ids", "custom_kwargs", "unique", NULL},
     2},
    /* APScheduler's triggers, in the original Stau's timetable (stau_schedule.py). */
    {"CronTrigger",
     {"year", "month", "day", "week", "day_of_week", "hour", "minute", "second", NULL},
     0},
    {"IntervalTrigger", {"weeks", "days", "hours", "minutes", "seconds", NULL}, 0},
};

/* Evaluation state for one declaration. */
struct evaluator {
    struct eval_env *env;
    size_t depth;
    /* Each binding's value once evaluated, by its index in env->before: a name used
     * twice is evaluated once, so `A2 = A1 + A1; A3 = A2 + A2; ...` takes linear time. */
    struct value **bound;
};

static struct value *eval(struct evaluator *ev, const struct syntax *s, size_t visible);

/* Quote a node's text for a message, shortened to one line of sensible length. */
static char *quote(const struct syntax *s)
{
    struct strbuf sb = STRBUF_INIT;
    size_t limit = 60;
    for (size_t i = 0; i < s->len && sb.len < limit; i++) {
        char c = s->text[i];
        if (c == '\n' || c == '\r') {
            strbuf_addstr(&sb, " ");
            while (i + 1 < s->len && (s->text[i + 1] == ' ' || s->text[i + 1] == '\n'))
                i++;
        } else {
            strbuf_addch(&sb, c);
        }
    }
    if (sb.len >= limit)
        strbuf_addstr(&sb, "...");
    return strbuf_detach(&sb);
}

static struct value *fail(struct evaluator *ev, const struct syntax *s, const char *hint,
                          const char *fmt, const char *arg)
{
    diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, s->loc, fmt, arg);
    if (hint)
        diag_hint(ev->env->diags, "%s", hint);
    return NULL;
}

static struct value *fail_quoted(struct evaluator *ev, const struct syntax *s, const char *hint,
                                 const char *fmt)
{
    char *q = quote(s);
    fail(ev, s, hint, fmt, q);
    free(q);
    return NULL;
}

static struct value *new_value(struct evaluator *ev, enum value_kind kind, const struct syntax *s)
{
    struct value *v = arena_alloc(ev->env->arena, sizeof(*v));
    memset(v, 0, sizeof(*v));
    v->kind = kind;
    v->loc = s->loc;
    v->size = 5; /* a scalar; strings and containers set their own */
    return v;
}

static struct value *fail_too_large(struct evaluator *ev, const struct syntax *s)
{
    return fail_quoted(ev, s, TOO_LARGE_HINT, "%s evaluates to a value over 16 MiB");
}

static struct value *new_string(struct evaluator *ev, const struct syntax *s, const char *data,
                                size_t len)
{
    struct value *v = new_value(ev, VALUE_STR, s);
    v->str.data = arena_strndup(ev->env->arena, data, len);
    v->str.len = len;
    v->size = len + 2;
    return v;
}

static void add_utf8(struct strbuf *sb, uint32_t cp)
{
    if (cp < 0x80) {
        strbuf_addch(sb, (char)cp);
    } else if (cp < 0x800) {
        strbuf_addch(sb, (char)(0xC0 | (cp >> 6)));
        strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        strbuf_addch(sb, (char)(0xE0 | (cp >> 12)));
        strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
        strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
    } else {
        strbuf_addch(sb, (char)(0xF0 | (cp >> 18)));
        strbuf_addch(sb, (char)(0x80 | ((cp >> 12) & 0x3F)));
        strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
        strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one literal piece of a string into sb; -1 after an error. */
static int decode_text(struct evaluator *ev, const struct syntax *piece, bool raw, bool fstring,
                       struct strbuf *sb)
{
    const char *t = piece->text;
    size_t n = piece->len;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (fstring && (c == '{' || c == '}') && i + 1 < n && t[i + 1] == c) {
            strbuf_addch(sb, c);
            i++;
            continue;
        }
        if (c != '\\' || raw || i + 1 >= n) {
            strbuf_addch(sb, c);
            continue;
        }
        char e = t[++i];
        switch (e) {
        case '\n':
            break;
        case '\r':
            if (i + 1 < n && t[i + 1] == '\n')
                i++;
            break;
        case '\\':
        case '\'':
        case '"':
            strbuf_addch(sb, e);
            break;
        case 'a':
            strbuf_addch(sb, '\a');
            break;
        case 'b':
            strbuf_addch(sb, '\b');
            break;
        case 'f':
            strbuf_addch(sb, '\f');
            break;
        case 'n':
            strbuf_addch(sb, '\n');
            break;
        case 'r':
            strbuf_addch(sb, '\r');
            break;
        case 't':
            strbuf_addch(sb, '\t');
            break;
        case 'v':
            strbuf_addch(sb, '\v');
            break;
        case 'x':
        case 'u':
        case 'U': {
            size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (size_t k = 0; k < digits; k++) {
                int h = i + 1 + k < n ? hex_value(t[i + 1 + k]) : -1;
                if (h < 0) {
                    fail(ev, piece, NULL, "truncated \\%s escape in a string",
                         e == 'x'   ? "x"
                         : e == 'u' ? "u"
                                    : "U");
                    return -1;
                }
                cp = cp * 16 + (uint32_t)h;
            }
            i += digits;
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                fail(ev, piece, NULL, "escape \\%s names no valid Unicode character",
                     e == 'U' ? "U" : "u");
                return -1;
            }
            add_utf8(sb, cp);
            break;
        }
        case 'N':
            fail(ev, piece, "write the character itself or use a \\u escape",
                 "%s escapes are not evaluated by stau", "\\N{...}");
            return -1;
        default:
            if (e >= '0' && e <= '7') {
                uint32_t cp = 0;
                size_t k = 0;
                while (k < 3 && i + k < n && t[i + k] >= '0' && t[i + k] <= '7')
                    cp = cp * 8 + (uint32_t)(t[i + k++] - '0');
                i += k - 1;
                add_utf8(sb, cp);
            } else {
                /* Python keeps unknown escapes as they are (with a warning). */
                strbuf_addch(sb, '\\');
                strbuf_addch(sb, e);
            }
        }
    }
    return 0;
}

/* Format a scalar value into sb the way str() would; -1 if it is not a scalar. */
static int format_scalar(const struct value *v, struct strbuf *sb)
{
    switch (v->kind) {
    case VALUE_STR:
        strbuf_add(sb, v->str.data, v->str.len);
        return 0;
    case VALUE_INT:
        strbuf_addf(sb, "%lld", (long long)v->integer);
        return 0;
    case VALUE_FLOAT:
        value_format_float(sb, v->number);
        return 0;
    case VALUE_BOOL:
        strbuf_addstr(sb, v->boolean ? "True" : "False");
        return 0;
    case VALUE_NONE:
        strbuf_addstr(sb, "None");
        return 0;
    default:
        return -1;
    }
}

static int eval_string_into(struct evaluator *ev, const struct syntax *s, size_t visible,
                            struct strbuf *sb)
{
    const char *prefix = s->op ? s->op : "";
    bool raw = strpbrk(prefix, "rR") != NULL;
    bool fstring = strpbrk(prefix, "fF") != NULL;
    if (strpbrk(prefix, "bB")) {
        fail_quoted(ev, s, "write a str literal (without the b prefix)",
                    "bytes literal %s is not allowed in a declaration");
        return -1;
    }
    if (strpbrk(prefix, "tT")) {
        fail_quoted(ev, s, ALLOWED_HINT, "template string %s cannot be evaluated statically");
        return -1;
    }
    for (size_t i = 0; i < s->count; i++) {
        const struct syntax *piece = s->children[i];
        if (piece->kind == SYNTAX_TEXT) {
            if (decode_text(ev, piece, raw, fstring, sb) < 0)
                return -1;
            continue;
        }
        /* An interpolation: only a bare name, formatted plainly. */
        const struct syntax *expr = piece->count ? piece->children[0] : NULL;
        if (!expr || expr->kind != SYNTAX_NAME) {
            fail_quoted(ev, piece,
                        "an f-string field may only be a name bound above the declaration",
                        "cannot evaluate the f-string field %s statically");
            return -1;
        }
        if (piece->op && *piece->op) {
            fail_quoted(
                ev, piece, "write the field as {NAME}, without conversion or format spec",
                "f-string field %s uses a conversion or format spec, which stau does not evaluate");
            return -1;
        }
        struct value *v = eval(ev, expr, visible);
        if (!v)
            return -1;
        if (sb->len + v->size > MAX_VALUE_SIZE) {
            fail_too_large(ev, s);
            return -1;
        }
        if (format_scalar(v, sb) < 0) {
            char *q = quote(expr);
            diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, expr->loc,
                     "f-string field '%s' is a %s; only str, int, float, bool and None can be "
                     "formatted",
                     q, value_kind_name(v->kind));
            free(q);
            return -1;
        }
    }
    if (sb->len > MAX_VALUE_SIZE) {
        fail_too_large(ev, s);
        return -1;
    }
    return 0;
}

static struct value *eval_string(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    struct strbuf sb = STRBUF_INIT;
    int ok = 0;
    if (s->kind == SYNTAX_CONCAT) {
        for (size_t i = 0; i < s->count && ok == 0; i++)
            ok = eval_string_into(ev, s->children[i], visible, &sb);
    } else {
        ok = eval_string_into(ev, s, visible, &sb);
    }
    struct value *v = ok == 0 ? new_string(ev, s, strbuf_str(&sb), sb.len) : NULL;
    strbuf_release(&sb);
    return v;
}

static struct value *eval_integer(struct evaluator *ev, const struct syntax *s)
{
    char digits[128];
    size_t n = 0;
    for (size_t i = 0; i < s->len; i++) {
        char c = s->text[i];
        if (c == 'j' || c == 'J')
            return fail_quoted(ev, s, ALLOWED_HINT,
                               "complex number %s is not allowed in a declaration");
        if (c == 'l' || c == 'L')
            return fail_quoted(ev, s, "drop the L suffix", "%s is Python 2 syntax");
        if (c != '_' && n + 1 < sizeof(digits))
            digits[n++] = c;
    }
    digits[n] = '\0';
    int base = 10;
    const char *p = digits;
    if (n > 1 && p[0] == '0' && strchr("xXoObB", p[1])) {
        base = strchr("xX", p[1]) ? 16 : strchr("oO", p[1]) ? 8 : 2;
        p += 2;
    } else if (n > 1 && p[0] == '0' && strspn(p, "0") != n) {
        const char *digits_only = p + strspn(p, "0");
        fail_quoted(ev, s, NULL, "leading zeros in %s are not allowed");
        diag_hint(ev->env->diags, "write 0o%s for an octal number, or %s for a decimal one",
                  digits_only, digits_only);
        return NULL;
    }
    errno = 0;
    char *end;
    unsigned long long u = strtoull(p, &end, base);
    if (errno == ERANGE || *end || u > (unsigned long long)INT64_MAX || n + 1 >= sizeof(digits))
        return fail_quoted(ev, s, NULL, "integer %s does not fit in 64 bits");
    struct value *v = new_value(ev, VALUE_INT, s);
    v->integer = (int64_t)u;
    return v;
}

static struct value *eval_float(struct evaluator *ev, const struct syntax *s)
{
    char digits[128];
    size_t n = 0;
    for (size_t i = 0; i < s->len; i++) {
        char c = s->text[i];
        if (c == 'j' || c == 'J')
            return fail_quoted(ev, s, ALLOWED_HINT,
                               "complex number %s is not allowed in a declaration");
        if (c != '_' && n + 1 < sizeof(digits))
            digits[n++] = c;
    }
    digits[n] = '\0';
    char *end;
    double d = strtod(digits, &end);
    if (*end || n + 1 >= sizeof(digits))
        return fail_quoted(ev, s, NULL, "cannot read the number %s");
    if (!isfinite(d))
        return fail_quoted(ev, s, NULL, "number %s is too large");
    struct value *v = new_value(ev, VALUE_FLOAT, s);
    v->number = d;
    return v;
}

static bool name_is(const struct syntax *s, const char *name)
{
    size_t n = strlen(name);
    return s->len == n && memcmp(s->text, name, n) == 0;
}

/* Explain why a name has no usable binding. */
static struct value *fail_name(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    struct eval_env *env = ev->env;
    char *name = xstrndup(s->text, s->len);
    for (size_t i = 0; i < env->after_count; i++) {
        if (env->after[i].len == s->len && memcmp(env->after[i].name, s->text, s->len) == 0) {
            diag_add(env->diags, DIAG_ERROR, env->path, s->loc,
                     "name '%s' is assigned only below the declaration (line %u)", name,
                     env->after[i].line);
            diag_hint(env->diags, "move `%s = ...` above STAU_CONFIG", name);
            free(name);
            return NULL;
        }
    }
    for (size_t i = visible; i < env->before_count; i++) {
        if (env->before[i].len == s->len && memcmp(env->before[i].name, s->text, s->len) == 0) {
            diag_add(env->diags, DIAG_ERROR, env->path, s->loc,
                     "name '%s' is used before it is assigned (line %u)", name,
                     env->before[i].line);
            diag_hint(env->diags, "move `%s = ...` above the line that uses it", name);
            free(name);
            return NULL;
        }
    }
    for (size_t i = 0; i < env->import_count; i++) {
        if (strcmp(env->imports[i].name, name) == 0) {
            diag_add(env->diags, DIAG_ERROR, env->path, s->loc,
                     "name '%s' is imported from '%s' (line %u); stau does not follow imports to "
                     "read values",
                     name, env->imports[i].module, env->imports[i].line);
            diag_hint(env->diags, "bind the value in this file, above STAU_CONFIG");
            free(name);
            return NULL;
        }
    }
    diag_add(env->diags, DIAG_ERROR, env->path, s->loc, "name '%s' is not defined", name);
    char **names = xcalloc(visible + 1, sizeof(char *));
    for (size_t i = 0; i < visible; i++)
        names[i] = arena_strndup(env->arena, env->before[i].name, env->before[i].len);
    const char *best = did_you_mean(name, (const char *const *)names);
    if (best)
        diag_hint(env->diags, "did you mean '%s'?", best);
    else
        diag_hint(env->diags,
                  "stau reads declarations without running them: bind '%s' at module level above "
                  "STAU_CONFIG, or write the value itself",
                  name);
    free(names);
    free(name);
    return NULL;
}

static struct value *eval_name(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    if (name_is(s, "True") || name_is(s, "False") || name_is(s, "None")) {
        struct value *v = new_value(ev, name_is(s, "None") ? VALUE_NONE : VALUE_BOOL, s);
        v->boolean = name_is(s, "True");
        return v;
    }
    const struct eval_env *env = ev->env;
    for (size_t i = visible; i-- > 0;) {
        const struct binding *b = &env->before[i];
        if (b->len != s->len || memcmp(b->name, s->text, s->len) != 0)
            continue;
        if (!b->value) {
            char *name = xstrndup(s->text, s->len);
            diag_add(env->diags, DIAG_ERROR, env->path, s->loc,
                     "name '%s' is bound on line %u to something stau cannot read", name, b->line);
            free(name);
            return NULL;
        }
        /* The binding sees only what was bound before it, as in Python. */
        /* A binding with an error is reported at its first use only. */
        static struct value failed;
        if (ev->bound[i] == &failed)
            return NULL;
        struct value *v = ev->bound[i] ? ev->bound[i] : eval(ev, b->value, i);
        ev->bound[i] = v ? v : &failed;
        if (!v) {
            char *name = xstrndup(s->text, s->len);
            diag_add(env->diags, DIAG_NOTE, env->path, s->loc, "'%s' is used here", name);
            free(name);
            return NULL;
        }
        /* Report later problems at the use, not at the constant's definition. */
        struct value *copy = new_value(ev, v->kind, s);
        struct loc loc = copy->loc;
        *copy = *v;
        copy->loc = loc;
        return copy;
    }
    return fail_name(ev, s, visible);
}

static struct value *eval_sequence(struct evaluator *ev, const struct syntax *s, size_t visible,
                                   enum value_kind kind)
{
    struct value *v = new_value(ev, kind, s);
    v->size = 2;
    v->list.items = arena_alloc(ev->env->arena, s->count * sizeof(struct value *));
    /* An item with an error is reported and left out, and the rest read on: a
     * declaration tells every error it has at once. */
    for (size_t i = 0; i < s->count; i++) {
        const struct syntax *item = s->children[i];
        struct value *x = item->kind == SYNTAX_SPLAT
                              ? fail_quoted(ev, item, ALLOWED_HINT,
                                            "unpacking %s is not evaluated in a declaration")
                              : eval(ev, item, visible);
        if (x) {
            v->list.items[v->list.len++] = x;
            v->size += x->size + 1;
        } else
            v->incomplete = true;
    }
    return v;
}

/* A dict under construction, with an index of its keys once it has more than a few:
 * a scan per key made an 80,000-key literal take minutes. */
struct dict_builder {
    struct value *dict;
    size_t capacity;
    struct strmap index; /* key -> position, once the dict has DICT_INDEXED_FROM keys */
};

enum { DICT_INDEXED_FROM = 16 };

/* The position of key in the dict being built, or -1. */
static long dict_find(const struct dict_builder *b, const char *key, size_t len)
{
    const struct value *dict = b->dict;
    if (b->index.cap) {
        size_t at;
        return strmap_get(&b->index, key, len, &at) ? (long)at : -1;
    }
    for (size_t i = 0; i < dict->dict.len; i++) {
        const struct value *k = dict->dict.keys[i];
        if (k->str.len == len && memcmp(k->str.data, key, len) == 0)
            return (long)i;
    }
    return -1;
}

/* Add key: value to a dict under construction; a repeated key replaces the value, with a warning.
 */
static void dict_set(struct evaluator *ev, struct dict_builder *b, struct value *key,
                     struct value *val)
{
    struct value *dict = b->dict;
    long at = dict_find(b, key->str.data, key->str.len);
    if (at >= 0) {
        diag_add(ev->env->diags, DIAG_WARNING, ev->env->path, key->loc,
                 "duplicate key '%s'; the later value wins", key->str.data);
        dict->dict.values[at] = val;
        return;
    }
    if (dict->dict.len >= b->capacity)
        fatal("dict capacity exceeded");
    dict->dict.keys[dict->dict.len] = key;
    dict->dict.values[dict->dict.len++] = val;
    if (b->index.cap) {
        strmap_put(&b->index, key->str.data, key->str.len, dict->dict.len - 1);
    } else if (dict->dict.len == DICT_INDEXED_FROM) {
        for (size_t i = 0; i < dict->dict.len; i++)
            strmap_put(&b->index, dict->dict.keys[i]->str.data, dict->dict.keys[i]->str.len, i);
    }
}

static struct value *new_dict(struct evaluator *ev, const struct syntax *s, size_t capacity)
{
    struct value *v = new_value(ev, VALUE_DICT, s);
    v->dict.keys = arena_alloc(ev->env->arena, capacity * sizeof(struct value *));
    v->dict.values = arena_alloc(ev->env->arena, capacity * sizeof(struct value *));
    return v;
}

/* Set a finished dict's size from its keys and values. */
static void dict_measure(struct value *dict)
{
    dict->size = 2;
    for (size_t i = 0; i < dict->dict.len; i++)
        dict->size += dict->dict.keys[i]->size + dict->dict.values[i]->size + 2;
}

static struct value *eval_dict(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    struct value *v = new_dict(ev, s, s->count);
    struct dict_builder b = {v, s->count, {0}};
    /* A pair with an error is reported and left out, and the rest read on. */
    for (size_t i = 0; i < s->count; i++) {
        const struct syntax *pair = s->children[i];
        if (pair->kind != SYNTAX_PAIR) {
            fail_quoted(ev, pair, ALLOWED_HINT, "%s is not evaluated in a declaration");
            v->incomplete = true;
            continue;
        }
        struct value *key = eval(ev, pair->children[0], visible);
        if (key && key->kind != VALUE_STR) {
            diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, pair->children[0]->loc,
                     "dictionary keys must be strings, not %s", value_kind_name(key->kind));
            key = NULL;
        }
        struct value *val = eval(ev, pair->children[1], visible);
        if (key && val)
            dict_set(ev, &b, key, val);
        else
            v->incomplete = true;
    }
    strmap_release(&b.index);
    dict_measure(v);
    return v;
}

/* The name a callee is reached by: `ReportConfig` in both `ReportConfig` and `utils.ReportConfig`.
 */
static const struct syntax *callee_name(const struct syntax *callee)
{
    if (callee->kind == SYNTAX_NAME)
        return callee;
    if (callee->kind == SYNTAX_ATTRIBUTE && callee->count == 2 &&
        callee->children[1]->kind == SYNTAX_NAME)
        return callee->children[1];
    return NULL;
}

static struct value *key_value(struct evaluator *ev, const struct syntax *at, const char *name)
{
    return new_string(ev, at, name, strlen(name));
}

static struct value *eval_call(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    const struct syntax *callee = callee_name(s->children[0]);
    const struct record_type *record = NULL;
    bool is_dict = callee && name_is(callee, "dict") && s->children[0]->kind == SYNTAX_NAME;
    for (size_t i = 0; callee && i < sizeof(record_types) / sizeof(record_types[0]); i++)
        if (name_is(callee, record_types[i].name))
            record = &record_types[i];
    if (!record && !is_dict)
        return fail_quoted(ev, s,
                           "stau reads declarations without running code; compute such values "
                           "inside the job instead",
                           "cannot evaluate the call %s statically");
    const char *fname = record ? record->name : "dict";
    struct value *v = new_dict(ev, s, s->count);
    struct dict_builder b = {v, s->count, {0}};
    v->record = record ? record->name : NULL;
    size_t positional = 0;
    /* An argument with an error is reported and left out, and the rest read on. */
    size_t left_out = 0;
    for (size_t i = 1; i < s->count; i++) {
        const struct syntax *arg = s->children[i];
        left_out++; /* until this argument is in */
        if (arg->kind == SYNTAX_SPLAT) {
            fail_quoted(ev, arg, ALLOWED_HINT, "unpacking %s is not evaluated in a declaration");
            continue;
        }
        struct value *key;
        const struct syntax *value_syntax = arg;
        if (arg->kind == SYNTAX_KEYWORD) {
            const struct syntax *kw = arg->children[0];
            key = new_string(ev, kw, kw->text, kw->len);
            value_syntax = arg->children[1];
        } else {
            if (is_dict) {
                fail_quoted(ev, arg, "write dict(key=value, ...) or a {...} literal",
                            "dict() in a declaration takes keyword arguments only, not %s");
                continue;
            }
            size_t max = 0;
            while (record->params[max])
                max++;
            if (positional >= max) {
                diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, arg->loc,
                         "%s() takes at most %zu positional arguments", fname, max);
                continue;
            }
            key = key_value(ev, arg, record->params[positional++]);
        }
        if (dict_find(&b, key->str.data, key->str.len) >= 0) {
            diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, arg->loc,
                     "%s() got multiple values for argument '%s'", fname, key->str.data);
            continue;
        }
        struct value *val = eval(ev, value_syntax, visible);
        if (!val)
            continue;
        dict_set(ev, &b, key, val);
        left_out--;
    }
    strmap_release(&b.index);
    v->incomplete = left_out > 0;
    for (size_t i = 0; record && !v->incomplete && i < record->required; i++) {
        if (!value_dict_get(v, record->params[i])) {
            diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, s->loc,
                     "%s() missing required argument '%s'", fname, record->params[i]);
            return NULL;
        }
    }
    dict_measure(v);
    return v;
}

static struct value *fail_overflow(struct evaluator *ev, const struct syntax *s)
{
    return fail_quoted(ev, s,
                       "the result does not fit in 64 bits (stau's ints run from "
                       "-9223372036854775808 to 9223372036854775807)",
                       "integer overflow in %s");
}

static struct value *eval_unary(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    const char *op = s->op ? s->op : "";
    if (strcmp(op, "-") != 0 && strcmp(op, "+") != 0)
        return fail_quoted(ev, s, ALLOWED_HINT, "cannot evaluate %s statically");
    struct value *x = eval(ev, s->children[0], visible);
    if (!x)
        return NULL;
    if (x->kind != VALUE_INT && x->kind != VALUE_FLOAT) {
        diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, s->loc,
                 "unary '%s' needs an int or float, not %s", op, value_kind_name(x->kind));
        return NULL;
    }
    if (x->kind == VALUE_INT && *op == '-' && x->integer == INT64_MIN)
        return fail_overflow(ev, s);
    struct value *v = new_value(ev, x->kind, s);
    if (x->kind == VALUE_INT)
        v->integer = *op == '-' ? -x->integer : x->integer;
    else
        v->number = *op == '-' ? -x->number : x->number;
    return v;
}

/* The binary operators a declaration evaluates. */
enum binary_op { OP_ADD, OP_SUBTRACT, OP_MULTIPLY, OP_FLOOR_DIVIDE, OP_MODULO, OP_OTHER };

static enum binary_op binary_op(const char *op)
{
    static const char *const names[] = {"+", "-", "*", "//", "%"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(op, names[i]) == 0)
            return (enum binary_op)i;
    return OP_OTHER;
}

static bool is_number(const struct value *v)
{
    return v->kind == VALUE_INT || v->kind == VALUE_FLOAT;
}

static bool is_sequence(const struct value *v)
{
    return v->kind == VALUE_STR || v->kind == VALUE_LIST || v->kind == VALUE_TUPLE;
}

/* a op b on two ints, with Python's rounding of // and % toward negative infinity. */
static struct value *int_arithmetic(struct evaluator *ev, const struct syntax *s, enum binary_op op,
                                    int64_t a, int64_t b)
{
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
    case OP_ADD:
        overflow = __builtin_add_overflow(a, b, &r);
        break;
    case OP_SUBTRACT:
        overflow = __builtin_sub_overflow(a, b, &r);
        break;
    case OP_MULTIPLY:
        overflow = __builtin_mul_overflow(a, b, &r);
        break;
    case OP_FLOOR_DIVIDE:
    case OP_MODULO:
        if (b == 0)
            return fail_quoted(ev, s, "the right operand evaluates to 0",
                               op == OP_MODULO ? "modulo by zero in %s" : "division by zero in %s");
        if (b == -1) {
            /* C's INT64_MIN / -1 and INT64_MIN % -1 are undefined; Python's are not. */
            overflow = op == OP_FLOOR_DIVIDE && a == INT64_MIN;
            r = op == OP_FLOOR_DIVIDE && !overflow ? -a : 0;
            break;
        }
        if (op == OP_FLOOR_DIVIDE) {
            r = a / b;
            if (a % b != 0 && (a < 0) != (b < 0))
                r--;
        } else {
            r = a % b;
            if (r != 0 && (r < 0) != (b < 0))
                r += b;
        }
        break;
    case OP_OTHER:
        break;
    }
    if (overflow)
        return fail_overflow(ev, s);
    struct value *v = new_value(ev, VALUE_INT, s);
    v->integer = r;
    return v;
}

static double as_double(const struct value *v)
{
    return v->kind == VALUE_INT ? (double)v->integer : v->number;
}

/* a op b for + - * when either side is a float, as Python computes it. */
static struct value *float_arithmetic(struct evaluator *ev, const struct syntax *s,
                                      enum binary_op op, double a, double b)
{
    double r = op == OP_ADD ? a + b : op == OP_SUBTRACT ? a - b : a * b;
    if (!isfinite(r))
        return fail_quoted(ev, s, "the result is too large for a float", "float overflow in %s");
    struct value *v = new_value(ev, VALUE_FLOAT, s);
    v->number = r;
    return v;
}

/* Refuse a op b for the kinds of its operands, with the most telling hint. */
static struct value *fail_operands(struct evaluator *ev, const struct syntax *s, enum binary_op op,
                                   const struct value *a, const struct value *b)
{
    struct diags *diags = ev->env->diags;
    const char *ka = value_kind_name(a->kind), *kb = value_kind_name(b->kind);
    switch (op) {
    case OP_ADD:
        diag_add(diags, DIAG_ERROR, ev->env->path, s->loc, "cannot add %s and %s", ka, kb);
        break;
    case OP_SUBTRACT:
        diag_add(diags, DIAG_ERROR, ev->env->path, s->loc, "cannot subtract %s from %s", kb, ka);
        break;
    case OP_MULTIPLY:
        diag_add(diags, DIAG_ERROR, ev->env->path, s->loc, "cannot multiply %s and %s", ka, kb);
        break;
    case OP_FLOOR_DIVIDE:
        diag_add(diags, DIAG_ERROR, ev->env->path, s->loc, "cannot floor-divide %s by %s", ka, kb);
        break;
    case OP_MODULO:
    case OP_OTHER:
        diag_add(diags, DIAG_ERROR, ev->env->path, s->loc, "cannot take %s modulo %s", ka, kb);
        break;
    }
    if (a->kind == VALUE_BOOL || b->kind == VALUE_BOOL)
        diag_hint(diags, "True and False are not numbers in a declaration; write 1 or 0");
    else if (op == OP_MULTIPLY &&
             ((is_sequence(a) && b->kind == VALUE_INT) || (a->kind == VALUE_INT && is_sequence(b))))
        diag_hint(diags, "repeating a %s is not evaluated in a declaration; write it out in full",
                  is_sequence(a) ? ka : kb);
    else if (op == OP_MODULO && a->kind == VALUE_STR)
        diag_hint(diags, "%%-formatting is not evaluated in a declaration; write an f-string "
                         "over names bound above it");
    else if (op == OP_ADD)
        diag_hint(diags, "+ is evaluated between two numbers, two strings or two lists");
    else if (op == OP_SUBTRACT || op == OP_MULTIPLY)
        diag_hint(diags, "%s is evaluated between two numbers (int or float)",
                  op == OP_SUBTRACT ? "-" : "*");
    else
        diag_hint(diags, "%s is evaluated between two ints only", op == OP_MODULO ? "%" : "//");
    return NULL;
}

static struct value *eval_binary(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    const char *op_text = s->op ? s->op : "?";
    enum binary_op op = binary_op(op_text);
    if (op == OP_OTHER) {
        diag_add(ev->env->diags, DIAG_ERROR, ev->env->path, s->loc,
                 "operator '%s' is not evaluated in a declaration", op_text);
        diag_hint(ev->env->diags, "%s",
                  strcmp(op_text, "/") == 0
                      ? "/ gives a float, which stau does not evaluate; write // for the floor "
                        "division of two ints"
                      : OPERATORS_HINT);
        return NULL;
    }
    struct value *a = eval(ev, s->children[0], visible);
    if (!a)
        return NULL;
    struct value *b = eval(ev, s->children[1], visible);
    if (!b)
        return NULL;
    if (a->kind == VALUE_INT && b->kind == VALUE_INT)
        return int_arithmetic(ev, s, op, a->integer, b->integer);
    if (is_number(a) && is_number(b) && op != OP_FLOOR_DIVIDE && op != OP_MODULO)
        return float_arithmetic(ev, s, op, as_double(a), as_double(b));
    if (op == OP_ADD && a->size + b->size > MAX_VALUE_SIZE &&
        ((a->kind == VALUE_STR && b->kind == VALUE_STR) ||
         ((a->kind == VALUE_LIST || a->kind == VALUE_TUPLE) && a->kind == b->kind)))
        return fail_too_large(ev, s);
    if (op == OP_ADD && a->kind == VALUE_STR && b->kind == VALUE_STR) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_add(&sb, a->str.data, a->str.len);
        strbuf_add(&sb, b->str.data, b->str.len);
        struct value *v = new_string(ev, s, strbuf_str(&sb), sb.len);
        strbuf_release(&sb);
        return v;
    }
    if (op == OP_ADD && (a->kind == VALUE_LIST || a->kind == VALUE_TUPLE) && a->kind == b->kind) {
        struct value *v = new_value(ev, a->kind, s);
        v->list.len = a->list.len + b->list.len;
        v->list.items = arena_alloc(ev->env->arena, v->list.len * sizeof(struct value *));
        if (a->list.len)
            memcpy(v->list.items, a->list.items, a->list.len * sizeof(struct value *));
        if (b->list.len)
            memcpy(v->list.items + a->list.len, b->list.items,
                   b->list.len * sizeof(struct value *));
        v->size = a->size + b->size - 2;
        return v;
    }
    return fail_operands(ev, s, op, a, b);
}

static struct value *eval(struct evaluator *ev, const struct syntax *s, size_t visible)
{
    if (ev->depth >= MAX_DEPTH)
        return fail(ev, s, NULL, "%s", "declaration is nested too deeply (over 100 levels)");
    ev->depth++;
    struct value *v = NULL;
    switch (s->kind) {
    case SYNTAX_STRING:
    case SYNTAX_CONCAT:
        v = eval_string(ev, s, visible);
        break;
    case SYNTAX_INTEGER:
        v = eval_integer(ev, s);
        break;
    case SYNTAX_FLOAT:
        v = eval_float(ev, s);
        break;
    case SYNTAX_TRUE:
    case SYNTAX_FALSE:
        v = new_value(ev, VALUE_BOOL, s);
        v->boolean = s->kind == SYNTAX_TRUE;
        break;
    case SYNTAX_NONE:
        v = new_value(ev, VALUE_NONE, s);
        break;
    case SYNTAX_NAME:
        v = eval_name(ev, s, visible);
        break;
    case SYNTAX_LIST:
        v = eval_sequence(ev, s, visible, VALUE_LIST);
        break;
    case SYNTAX_TUPLE:
        v = eval_sequence(ev, s, visible, VALUE_TUPLE);
        break;
    case SYNTAX_DICT:
        v = eval_dict(ev, s, visible);
        break;
    case SYNTAX_CALL:
        v = eval_call(ev, s, visible);
        break;
    case SYNTAX_UNARY:
        v = eval_unary(ev, s, visible);
        break;
    case SYNTAX_BINARY:
        v = eval_binary(ev, s, visible);
        break;
    case SYNTAX_ERROR:
        v = fail_quoted(ev, s, "fix the Python syntax of the declaration",
                        "syntax error in the declaration at %s");
        break;
    case SYNTAX_ATTRIBUTE:
    case SYNTAX_OTHER:
    case SYNTAX_TEXT:
    case SYNTAX_INTERPOLATION:
    case SYNTAX_PAIR:
    case SYNTAX_KEYWORD:
    case SYNTAX_SPLAT:
        v = fail_quoted(ev, s, ALLOWED_HINT, "cannot evaluate %s statically");
        break;
    }
    ev->depth--;
    if (v && (v->kind == VALUE_DICT || v->kind == VALUE_LIST || v->kind == VALUE_TUPLE) &&
        v->size > MAX_VALUE_SIZE)
        return fail_too_large(ev, s);
    return v;
}

struct value *eval_declaration(struct eval_env *env, const struct syntax *expr)
{
    struct evaluator ev = {env, 0, NULL};
    ev.bound = arena_alloc(env->arena, (env->before_count + 1) * sizeof(struct value *));
    memset(ev.bound, 0, (env->before_count + 1) * sizeof(struct value *));
    return eval(&ev, expr, env->before_count);
}
