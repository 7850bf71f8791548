/* eval.h: static evaluation of a declaration's expression into a value, with
 * located errors that quote the expression and say what is allowed. Nothing
 * here runs Python: only the subset SPEC §1 lists is understood. */
#ifndef STAU_EVAL_H
#define STAU_EVAL_H

#include "syntax.h"
#include "value.h"

/* A module-level `NAME = value` statement. */
struct binding {
    const char *name;     /* the bound name (not NUL-terminated) */
    size_t len;           /* its length */
    struct syntax *value; /* the assigned expression, or NULL if it could not be read */
    uint32_t line;        /* line of the statement */
};

/* A name brought in by an import, remembered for better messages. */
struct imported_name {
    const char *name;   /* the local name */
    const char *module; /* where it comes from, as written */
    uint32_t line;      /* line of the import */
};

/* What the evaluator knows about the file. */
struct eval_env {
    const char *path;             /* file, relative to the project root, for messages */
    const struct binding *before; /* assignments above the declaration, in order */
    size_t before_count;
    const struct binding *after; /* assignments below it (only to explain errors) */
    size_t after_count;
    const struct imported_name *imports; /* imported names (only to explain errors) */
    size_t import_count;
    struct arena *arena; /* where values are allocated */
    struct diags *diags; /* where errors and warnings go */
};

/* Evaluate the declaration's expression; NULL after adding errors to env->diags. */
struct value *eval_declaration(struct eval_env *env, const struct syntax *expr);

#endif
