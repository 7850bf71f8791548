/* value.h: values of the Python subset a declaration may use, produced by the
 * evaluator, and their JSON form. */
#ifndef STAU_VALUE_H
#define STAU_VALUE_H

#include <stdbool.h>
#include <stdint.h>
#include "diag.h"

enum value_kind {
    VALUE_NONE,
    VALUE_BOOL,
    VALUE_INT,
    VALUE_FLOAT,
    VALUE_STR,
    VALUE_LIST,
    VALUE_TUPLE,
    VALUE_DICT,
};

/* One value; lives in the arena of the file it was read from. */
struct value {
    enum value_kind kind;
    struct loc loc;     /* the expression that produced it */
    const char *record; /* for a dict made by a record call (ReportConfig(...)): its name */
    size_t size;        /* about the length of its JSON text: the evaluator bounds it */
    bool incomplete;    /* a list or dict some of whose items had errors, left out (each
                           reported): what is missing from it is no error of its own */
    union {
        bool boolean;
        int64_t integer;
        double number;
        struct {
            const char *data; /* UTF-8, NUL-terminated, may contain NUL */
            size_t len;
        } str;
        struct {
            struct value **items;
            size_t len;
        } list; /* VALUE_LIST and VALUE_TUPLE */
        struct {
            struct value **keys; /* VALUE_STR each */
            struct value **values;
            size_t len;
        } dict;
    };
};

/* The Python name of a kind ("str", "int", "list", ...), for messages. */
const char *value_kind_name(enum value_kind kind);
/* Look key up in a dict value; NULL when absent (or v is not a dict). */
struct value *value_dict_get(const struct value *v, const char *key);
/* Append v as JSON (tuples become arrays, None null); keys keep their order. */
void value_to_json(const struct value *v, struct strbuf *out);
/* Append a double the way Python's repr() writes it (shortest round trip). */
void value_format_float(struct strbuf *out, double d);

#endif
