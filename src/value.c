/* value.c: value helpers and JSON output. */
#include "value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *value_kind_name(enum value_kind kind)
{
    switch (kind) {
    case VALUE_NONE:
        return "None";
    case VALUE_BOOL:
        return "bool";
    case VALUE_INT:
        return "int";
    case VALUE_FLOAT:
        return "float";
    case VALUE_STR:
        return "str";
    case VALUE_LIST:
        return "list";
    case VALUE_TUPLE:
        return "tuple";
    case VALUE_DICT:
        return "dict";
    }
    return "value";
}

struct value *value_dict_get(const struct value *v, const char *key)
{
    if (!v || v->kind != VALUE_DICT)
        return NULL;
    size_t n = strlen(key);
    for (size_t i = v->dict.len; i-- > 0;) {
        const struct value *k = v->dict.keys[i];
        if (k->str.len == n && memcmp(k->str.data, key, n) == 0)
            return v->dict.values[i];
    }
    return NULL;
}

void value_format_float(struct strbuf *out, double d)
{
    if (isinf(d)) {
        strbuf_addstr(out, d > 0 ? "inf" : "-inf");
        return;
    }
    if (isnan(d)) {
        strbuf_addstr(out, "nan");
        return;
    }
    /* The shortest digits that read back as d, then laid out as repr() does:
     * positional for exponents -4..15, scientific otherwise. */
    char buf[40];
    for (int precision = 0; precision <= 16; precision++) {
        snprintf(buf, sizeof(buf), "%.*e", precision, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    char digits[24];
    size_t n = 0;
    const char *p = buf;
    bool negative = *p == '-';
    if (negative)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && n + 1 < sizeof(digits))
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    int exponent = atoi(p + 1);
    if (negative)
        strbuf_addch(out, '-');
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            strbuf_addstr(out, "0.");
            for (int i = -1; i > exponent; i--)
                strbuf_addch(out, '0');
            strbuf_addstr(out, digits);
        } else {
            for (int i = 0; i <= exponent; i++)
                strbuf_addch(out, (size_t)i < n ? digits[i] : '0');
            strbuf_addch(out, '.');
            if ((size_t)exponent + 1 < n)
                strbuf_addstr(out, digits + exponent + 1);
            else
                strbuf_addch(out, '0');
        }
    } else {
        strbuf_addch(out, digits[0]);
        if (n > 1) {
            strbuf_addch(out, '.');
            strbuf_addstr(out, digits + 1);
        }
        strbuf_addf(out, "e%c%02d", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
    }
}

void value_to_json(const struct value *v, struct strbuf *out)
{
    switch (v->kind) {
    case VALUE_NONE:
        strbuf_addstr(out, "null");
        break;
    case VALUE_BOOL:
        strbuf_addstr(out, v->boolean ? "true" : "false");
        break;
    case VALUE_INT:
        strbuf_addf(out, "%lld", (long long)v->integer);
        break;
    case VALUE_FLOAT:
        if (isfinite(v->number))
            value_format_float(out, v->number);
        else
            strbuf_addstr(out, "null"); /* JSON has no inf/nan; eval rejects them anyway */
        break;
    case VALUE_STR:
        json_quote(out, v->str.data, v->str.len);
        break;
    case VALUE_LIST:
    case VALUE_TUPLE:
        strbuf_addch(out, '[');
        for (size_t i = 0; i < v->list.len; i++) {
            if (i)
                strbuf_addch(out, ',');
            value_to_json(v->list.items[i], out);
        }
        strbuf_addch(out, ']');
        break;
    case VALUE_DICT:
        strbuf_addch(out, '{');
        for (size_t i = 0; i < v->dict.len; i++) {
            if (i)
                strbuf_addch(out, ',');
            value_to_json(v->dict.keys[i], out);
            strbuf_addch(out, ':');
            value_to_json(v->dict.values[i], out);
        }
        strbuf_addch(out, '}');
        break;
    }
}
