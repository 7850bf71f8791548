/* syntax.h: the small syntax tree stau evaluates. scan.c builds it from
 * tree-sitter's tree for the declaration and the module-level constants, so the
 * evaluator never sees tree-sitter and can be tested on its own. */
#ifndef STAU_SYNTAX_H
#define STAU_SYNTAX_H

#include <stddef.h>
#include "diag.h"

enum syntax_kind {
    SYNTAX_STRING,        /* one string literal: prefix in op, pieces in children */
    SYNTAX_TEXT,          /* a literal piece of a string, raw source text (escapes undecoded) */
    SYNTAX_INTERPOLATION, /* `{name}` in an f-string: children[0] the expression; op the
                             conversion or format spec text when there is one */
    SYNTAX_CONCAT,        /* implicit concatenation "a" "b": children are SYNTAX_STRING */
    SYNTAX_INTEGER,
    SYNTAX_FLOAT,
    SYNTAX_TRUE,
    SYNTAX_FALSE,
    SYNTAX_NONE,
    SYNTAX_NAME,      /* an identifier */
    SYNTAX_ATTRIBUTE, /* children[0].children[1]: children[1] is a SYNTAX_NAME */
    SYNTAX_LIST,
    SYNTAX_TUPLE,
    SYNTAX_DICT,    /* children are SYNTAX_PAIR (or SYNTAX_SPLAT for **x) */
    SYNTAX_PAIR,    /* children[0]: children[1] */
    SYNTAX_CALL,    /* children[0] the callee, then the arguments in order */
    SYNTAX_KEYWORD, /* name=value argument: children[0] a SYNTAX_NAME, children[1] the value */
    SYNTAX_UNARY,   /* op children[0] */
    SYNTAX_BINARY,  /* children[0] op children[1] */
    SYNTAX_SPLAT,   /* *x or **x: op is "*" or "**" */
    SYNTAX_ERROR,   /* text tree-sitter could not parse */
    SYNTAX_OTHER,   /* any other expression; type names it (e.g. "list_comprehension") */
};

/* One node; everything lives in the arena of the file being read. */
struct syntax {
    enum syntax_kind kind;
    struct loc loc;           /* where the node's text is */
    const char *text;         /* the node's source text (not NUL-terminated) */
    size_t len;               /* its length in bytes */
    const char *op;           /* operator, string prefix, or interpolation suffix; NUL-terminated */
    const char *type;         /* the parser's name for the node kind, for messages */
    struct syntax **children; /* sub-nodes, as described per kind above */
    size_t count;             /* number of children */
};

#endif
