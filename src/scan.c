/* scan.c: reading one Python file without running it. A fast lexical pass
 * (pyscan) finds the imports and the module-level assignments; tree-sitter then
 * parses only those assignments (included ranges), so function bodies, which
 * are most of a job file, are never parsed. */
#include "scan.h"

#include <stdlib.h>
#include <string.h>
#include <tree_sitter/api.h>
#include "eval.h"
#include "fingerprint.h"
#include "pyscan.h"

const TSLanguage *tree_sitter_python(void);

/* The grammar's node kinds stau looks at, by symbol rather than by name. */
enum node_kind {
    NODE_EXPRESSION_STATEMENT,
    NODE_ASSIGNMENT,
    NODE_IDENTIFIER,
    NODE_STRING,
    NODE_CONCATENATED_STRING,
    NODE_INTEGER,
    NODE_FLOAT,
    NODE_TRUE,
    NODE_FALSE,
    NODE_NONE,
    NODE_ATTRIBUTE,
    NODE_LIST,
    NODE_TUPLE,
    NODE_DICTIONARY,
    NODE_PAIR,
    NODE_CALL,
    NODE_ARGUMENT_LIST,
    NODE_KEYWORD_ARGUMENT,
    NODE_UNARY_OPERATOR,
    NODE_BINARY_OPERATOR,
    NODE_PARENTHESIZED_EXPRESSION,
    NODE_LIST_SPLAT,
    NODE_DICTIONARY_SPLAT,
    NODE_COMMENT,
    NODE_STRING_START,
    NODE_STRING_END,
    NODE_INTERPOLATION,
    NODE_KIND_COUNT
};
static const char *const node_names[NODE_KIND_COUNT] = {
    "expression_statement",
    "assignment",
    "identifier",
    "string",
    "concatenated_string",
    "integer",
    "float",
    "true",
    "false",
    "none",
    "attribute",
    "list",
    "tuple",
    "dictionary",
    "pair",
    "call",
    "argument_list",
    "keyword_argument",
    "unary_operator",
    "binary_operator",
    "parenthesized_expression",
    "list_splat",
    "dictionary_splat",
    "comment",
    "string_start",
    "string_end",
    "interpolation",
};

struct scanner {
    TSParser *parser;
    TSSymbol symbols[NODE_KIND_COUNT]; /* the grammar's symbol for each node_kind */
};

struct scanner *scanner_new(void)
{
    const TSLanguage *lang = tree_sitter_python();
    struct scanner *sc = xcalloc(1, sizeof(*sc));
    sc->parser = ts_parser_new();
    if (!ts_parser_set_language(sc->parser, lang)) {
        error("the Python grammar (ABI %u) does not fit this tree-sitter runtime (ABI %u-%u)",
              ts_language_version(lang), TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION,
              TREE_SITTER_LANGUAGE_VERSION);
        ts_parser_delete(sc->parser);
        free(sc);
        return NULL;
    }
    for (int k = 0; k < NODE_KIND_COUNT; k++) {
        sc->symbols[k] =
            ts_language_symbol_for_name(lang, node_names[k], (uint32_t)strlen(node_names[k]), true);
        if (!sc->symbols[k])
            fatal("the Python grammar has no '%s' node", node_names[k]);
    }
    return sc;
}

void scanner_free(struct scanner *sc)
{
    if (!sc)
        return;
    ts_parser_delete(sc->parser);
    free(sc);
}

/* State while converting tree-sitter nodes of one file into struct syntax. */
struct converter {
    const char *src;
    struct arena *arena;
    const TSSymbol *symbols; /* the scanner's symbols, by node_kind */
    size_t depth;            /* nesting of the node being converted */
};

static struct loc node_loc(TSNode n)
{
    TSPoint a = ts_node_start_point(n), b = ts_node_end_point(n);
    return (struct loc){a.row + 1, a.column + 1, b.row + 1, b.column + 1};
}

static struct syntax *new_syntax(struct converter *cv, enum syntax_kind kind, TSNode n,
                                 size_t count)
{
    struct syntax *s = arena_alloc(cv->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->loc = node_loc(n);
    s->text = cv->src + ts_node_start_byte(n);
    s->len = ts_node_end_byte(n) - ts_node_start_byte(n);
    s->type = ts_node_type(n);
    s->count = count;
    s->children = count ? arena_alloc(cv->arena, count * sizeof(struct syntax *)) : NULL;
    return s;
}

static const char *node_text(struct converter *cv, TSNode n)
{
    return arena_strndup(cv->arena, cv->src + ts_node_start_byte(n),
                         ts_node_end_byte(n) - ts_node_start_byte(n));
}

static bool kind_is(const struct converter *cv, TSNode n, enum node_kind kind)
{
    return ts_node_symbol(n) == cv->symbols[kind];
}

static struct syntax *convert(struct converter *cv, TSNode n);

/* The named, non-comment children of n, in order, into out (a cursor walks them:
 * ts_node_named_child(n, i) starts from the first child each time). */
struct node_list {
    TSNode *items;
    size_t len, cap;
};

static void named_children(const struct converter *cv, TSNode n, struct node_list *out)
{
    out->len = 0;
    TSTreeCursor cursor = ts_tree_cursor_new(n);
    for (bool more = ts_tree_cursor_goto_first_child(&cursor); more;
         more = ts_tree_cursor_goto_next_sibling(&cursor)) {
        TSNode child = ts_tree_cursor_current_node(&cursor);
        if (ts_node_is_named(child) && !kind_is(cv, child, NODE_COMMENT))
            VEC_PUSH(out, child);
    }
    ts_tree_cursor_delete(&cursor);
}

/* Convert the named, non-comment children of n, in order. */
static struct syntax *convert_children(struct converter *cv, enum syntax_kind kind, TSNode n)
{
    struct node_list children = {0};
    named_children(cv, n, &children);
    struct syntax *s = new_syntax(cv, kind, n, children.len);
    for (size_t k = 0; k < children.len; k++)
        s->children[k] = convert(cv, children.items[k]);
    VEC_FREE(&children);
    return s;
}

/* One string literal: its prefix, then literal pieces and interpolations. The
 * literal text is taken between the delimiters, escapes undecoded. */
static struct syntax *convert_string(struct converter *cv, TSNode n)
{
    uint32_t total = ts_node_child_count(n);
    struct syntax *s = new_syntax(cv, SYNTAX_STRING, n, total);
    s->count = 0;
    uint32_t text_from = ts_node_start_byte(n);
    uint32_t end = ts_node_end_byte(n);
    for (uint32_t i = 0; i < total; i++) {
        TSNode child = ts_node_child(n, i);
        if (kind_is(cv, child, NODE_STRING_START)) {
            /* The prefix is everything before the quote. */
            const char *t = cv->src + ts_node_start_byte(child);
            size_t len = ts_node_end_byte(child) - ts_node_start_byte(child);
            size_t p = 0;
            while (p < len && t[p] != '\'' && t[p] != '"')
                p++;
            s->op = arena_strndup(cv->arena, t, p);
            text_from = ts_node_end_byte(child);
        } else if (kind_is(cv, child, NODE_STRING_END)) {
            end = ts_node_start_byte(child);
        } else if (kind_is(cv, child, NODE_INTERPOLATION)) {
            if (ts_node_start_byte(child) > text_from) {
                struct syntax *text = new_syntax(cv, SYNTAX_TEXT, child, 0);
                text->text = cv->src + text_from;
                text->len = ts_node_start_byte(child) - text_from;
                s->children[s->count++] = text;
            }
            struct syntax *field = new_syntax(cv, SYNTAX_INTERPOLATION, child, 1);
            TSNode expr = ts_node_child_by_field_name(child, "expression", 10);
            field->count = 0;
            if (!ts_node_is_null(expr))
                field->children[field->count++] = convert(cv, expr);
            /* Anything after the expression but before '}' is a conversion or spec. */
            uint32_t after =
                ts_node_is_null(expr) ? ts_node_start_byte(child) + 1 : ts_node_end_byte(expr);
            uint32_t close = ts_node_end_byte(child) - 1;
            field->op =
                close > after ? arena_strndup(cv->arena, cv->src + after, close - after) : "";
            s->children[s->count++] = field;
            text_from = ts_node_end_byte(child);
        }
    }
    if (end > text_from) {
        /* Grow by one slot if needed: the children array was sized by named children. */
        struct syntax **children = arena_alloc(cv->arena, (s->count + 1) * sizeof(*children));
        if (s->count)
            memcpy(children, s->children, s->count * sizeof(*children));
        s->children = children;
        struct syntax *text = new_syntax(cv, SYNTAX_TEXT, n, 0);
        text->text = cv->src + text_from;
        text->len = end - text_from;
        s->children[s->count++] = text;
    }
    return s;
}

static struct syntax *convert_call(struct converter *cv, TSNode n)
{
    TSNode fn = ts_node_child_by_field_name(n, "function", 8);
    TSNode args = ts_node_child_by_field_name(n, "arguments", 9);
    if (ts_node_is_null(fn) || ts_node_is_null(args) || !kind_is(cv, args, NODE_ARGUMENT_LIST))
        return new_syntax(cv, SYNTAX_OTHER, n, 0);
    uint32_t total = ts_node_named_child_count(args), count = 1;
    for (uint32_t i = 0; i < total; i++)
        if (!kind_is(cv, ts_node_named_child(args, i), NODE_COMMENT))
            count++;
    struct syntax *s = new_syntax(cv, SYNTAX_CALL, n, count);
    s->children[0] = convert(cv, fn);
    size_t k = 1;
    for (uint32_t i = 0; i < total; i++) {
        TSNode arg = ts_node_named_child(args, i);
        if (kind_is(cv, arg, NODE_COMMENT))
            continue;
        if (kind_is(cv, arg, NODE_KEYWORD_ARGUMENT)) {
            struct syntax *kw = new_syntax(cv, SYNTAX_KEYWORD, arg, 2);
            TSNode name = ts_node_child_by_field_name(arg, "name", 4);
            TSNode value = ts_node_child_by_field_name(arg, "value", 5);
            if (ts_node_is_null(name) || ts_node_is_null(value)) {
                s->children[k++] = new_syntax(cv, SYNTAX_ERROR, arg, 0);
                continue;
            }
            kw->children[0] = convert(cv, name);
            kw->children[1] = convert(cv, value);
            s->children[k++] = kw;
        } else {
            s->children[k++] = convert(cv, arg);
        }
    }
    return s;
}

static struct syntax *convert_operator(struct converter *cv, TSNode n, enum syntax_kind kind)
{
    TSNode op = ts_node_child_by_field_name(n, "operator", 8);
    struct syntax *s;
    if (kind == SYNTAX_UNARY) {
        TSNode arg = ts_node_child_by_field_name(n, "argument", 8);
        if (ts_node_is_null(arg))
            return new_syntax(cv, SYNTAX_ERROR, n, 0);
        s = new_syntax(cv, kind, n, 1);
        s->children[0] = convert(cv, arg);
    } else {
        TSNode left = ts_node_child_by_field_name(n, "left", 4);
        TSNode right = ts_node_child_by_field_name(n, "right", 5);
        if (ts_node_is_null(left) || ts_node_is_null(right))
            return new_syntax(cv, SYNTAX_ERROR, n, 0);
        s = new_syntax(cv, kind, n, 2);
        s->children[0] = convert(cv, left);
        s->children[1] = convert(cv, right);
    }
    s->op = ts_node_is_null(op) ? "?" : node_text(cv, op);
    return s;
}

/* A node of two named fields (object.attribute, key: value). */
static struct syntax *convert_pair(struct converter *cv, TSNode n, enum syntax_kind kind,
                                   const char *first, const char *second)
{
    TSNode a = ts_node_child_by_field_name(n, first, (uint32_t)strlen(first));
    TSNode b = ts_node_child_by_field_name(n, second, (uint32_t)strlen(second));
    if (ts_node_is_null(a) || ts_node_is_null(b))
        return new_syntax(cv, SYNTAX_ERROR, n, 0);
    struct syntax *s = new_syntax(cv, kind, n, 2);
    s->children[0] = convert(cv, a);
    s->children[1] = convert(cv, b);
    return s;
}

/* Deeper than this, a node is not converted: the evaluator refuses anything nested
 * over 100 levels anyway, and the recursion must not exhaust the stack. */
enum { MAX_CONVERT_DEPTH = 150 };

static struct syntax *convert_node(struct converter *cv, TSNode n);

static struct syntax *convert(struct converter *cv, TSNode n)
{
    if (cv->depth >= MAX_CONVERT_DEPTH)
        return new_syntax(cv, SYNTAX_OTHER, n, 0);
    cv->depth++;
    struct syntax *s = convert_node(cv, n);
    cv->depth--;
    return s;
}

static struct syntax *convert_node(struct converter *cv, TSNode n)
{
    if (ts_node_has_error(n) && (ts_node_is_missing(n) || strcmp(ts_node_type(n), "ERROR") == 0))
        return new_syntax(cv, SYNTAX_ERROR, n, 0);
    TSSymbol sym = ts_node_symbol(n);
    const TSSymbol *k = cv->symbols;
    if (sym == k[NODE_STRING])
        return convert_string(cv, n);
    if (sym == k[NODE_CONCATENATED_STRING])
        return convert_children(cv, SYNTAX_CONCAT, n);
    if (sym == k[NODE_INTEGER])
        return new_syntax(cv, SYNTAX_INTEGER, n, 0);
    if (sym == k[NODE_FLOAT])
        return new_syntax(cv, SYNTAX_FLOAT, n, 0);
    if (sym == k[NODE_TRUE])
        return new_syntax(cv, SYNTAX_TRUE, n, 0);
    if (sym == k[NODE_FALSE])
        return new_syntax(cv, SYNTAX_FALSE, n, 0);
    if (sym == k[NODE_NONE])
        return new_syntax(cv, SYNTAX_NONE, n, 0);
    if (sym == k[NODE_IDENTIFIER])
        return new_syntax(cv, SYNTAX_NAME, n, 0);
    if (sym == k[NODE_ATTRIBUTE])
        return convert_pair(cv, n, SYNTAX_ATTRIBUTE, "object", "attribute");
    if (sym == k[NODE_LIST])
        return convert_children(cv, SYNTAX_LIST, n);
    if (sym == k[NODE_TUPLE])
        return convert_children(cv, SYNTAX_TUPLE, n);
    if (sym == k[NODE_DICTIONARY])
        return convert_children(cv, SYNTAX_DICT, n);
    if (sym == k[NODE_PAIR])
        return convert_pair(cv, n, SYNTAX_PAIR, "key", "value");
    if (sym == k[NODE_CALL])
        return convert_call(cv, n);
    if (sym == k[NODE_UNARY_OPERATOR])
        return convert_operator(cv, n, SYNTAX_UNARY);
    if (sym == k[NODE_BINARY_OPERATOR])
        return convert_operator(cv, n, SYNTAX_BINARY);
    if (sym == k[NODE_PARENTHESIZED_EXPRESSION]) {
        for (uint32_t i = 0; i < ts_node_named_child_count(n); i++) {
            TSNode child = ts_node_named_child(n, i);
            if (!kind_is(cv, child, NODE_COMMENT))
                return convert(cv, child);
        }
        return new_syntax(cv, SYNTAX_ERROR, n, 0);
    }
    if (sym == k[NODE_LIST_SPLAT] || sym == k[NODE_DICTIONARY_SPLAT]) {
        struct syntax *s = new_syntax(cv, SYNTAX_SPLAT, n, 0);
        s->op = sym == k[NODE_LIST_SPLAT] ? "*" : "**";
        return s;
    }
    return new_syntax(cv, SYNTAX_OTHER, n, 0);
}

/* The first ERROR or MISSING node below n, in document order; iterative, since
 * the tree may be deeper than the stack would allow. */
static bool find_error(TSNode n, TSNode *out)
{
    if (!ts_node_has_error(n))
        return false;
    TSTreeCursor cursor = ts_tree_cursor_new(n);
    bool found = false;
    for (;;) {
        TSNode cur = ts_tree_cursor_current_node(&cursor);
        if (ts_node_is_missing(cur) || strcmp(ts_node_type(cur), "ERROR") == 0) {
            *out = cur;
            found = true;
            break;
        }
        /* Go down only where an error is; else on to the next sibling or up. */
        if (ts_node_has_error(cur) && ts_tree_cursor_goto_first_child(&cursor))
            continue;
        bool moved = false;
        while (!(moved = ts_tree_cursor_goto_next_sibling(&cursor)))
            if (!ts_tree_cursor_goto_parent(&cursor))
                break;
        if (!moved)
            break;
    }
    ts_tree_cursor_delete(&cursor);
    return found;
}

static void report_syntax_error(struct scan_result *out, const char *path, const char *src,
                                TSNode statement)
{
    TSNode bad = statement;
    find_error(statement, &bad);
    struct loc loc = node_loc(bad);
    if (ts_node_is_missing(bad)) {
        diag_add(&out->diags, DIAG_ERROR, path, loc,
                 "syntax error in the declaration: missing '%s'", ts_node_type(bad));
    } else {
        uint32_t a = ts_node_start_byte(bad), b = ts_node_end_byte(bad);
        size_t len = b - a;
        const char *nl = memchr(src + a, '\n', len);
        if (nl)
            len = (size_t)(nl - (src + a));
        if (len > 40)
            len = 40;
        diag_add(&out->diags, DIAG_ERROR, path, loc,
                 "syntax error in the declaration: unexpected '%.*s'", (int)len, src + a);
    }
    diag_hint(&out->diags,
              "the declaration must be valid Python; stau reads it without running it");
}

/* Zero-based column of byte offset `at` within its line. */
static uint32_t column_of(const char *src, size_t at)
{
    size_t start = at;
    while (start > 0 && src[start - 1] != '\n')
        start--;
    return (uint32_t)(at - start);
}

static void copy_imports(const struct pyscan *ps, struct scan_result *out)
{
    for (size_t i = 0; i < ps->imports.len; i++) {
        const struct pyscan_import *pi = &ps->imports.items[i];
        struct scan_import imp = {xstrdup(pi->module), pi->level, {0}, pi->line};
        for (size_t k = 0; k < pi->name_count; k++)
            VEC_PUSH(&imp.names, xstrdup(pi->names[k]));
        VEC_PUSH(&out->imports, imp);
    }
}

/* Lexical problems are errors inside the declaration and warnings elsewhere:
 * the declaration can still be read, but Python will refuse the file. */
static void report_problems(const struct pyscan *ps, const char *path,
                            const struct pyscan_stmt *config, struct scan_result *out)
{
    for (size_t i = 0; i < ps->problems.len; i++) {
        const struct pyscan_problem *p = &ps->problems.items[i];
        struct loc loc = {p->line, p->col, p->line, p->col + 1};
        bool inside = p->offset >= config->start && p->offset < config->end;
        if (inside && strcmp(p->message, "invalid UTF-8") == 0) {
            diag_add(&out->diags, DIAG_ERROR, path, loc, "the declaration is not valid UTF-8");
            diag_hint(&out->diags, "save the file as UTF-8");
        } else if (inside) {
            diag_add(&out->diags, DIAG_ERROR, path, loc, "syntax error in the declaration: %s",
                     p->message);
            diag_hint(&out->diags,
                      "the declaration must be valid Python; stau reads it without running it");
        } else if (strcmp(p->message, "NUL byte") == 0) {
            diag_add(&out->diags, DIAG_ERROR, path, loc,
                     "source contains a NUL byte, so Python cannot import it");
            diag_hint(&out->diags, "is this a binary file named .py?");
            return;
        } else if (!inside) {
            diag_add(&out->diags, DIAG_WARNING, path, loc,
                     "%s (outside the declaration, which was read; Python will not import this "
                     "file as it is)",
                     p->message);
        }
    }
}

static bool is_name_byte(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

/* One name an assignment above the declaration binds: `A = B = 1` binds A and B. */
struct target {
    size_t statement; /* index in the pyscan assignments */
    size_t start;     /* byte offset of the name */
    size_t len;       /* its length */
};

static size_t skip_blanks(const char *src, size_t i, size_t end)
{
    while (i < end && (src[i] == ' ' || src[i] == '\t'))
        i++;
    return i;
}

/* Every target of the first n statements, in order, chained ones found lexically. */
static void find_targets(const struct pyscan *ps, const char *src, size_t n, struct target **out,
                         size_t *count)
{
    VEC(struct target) targets = {0};
    for (size_t k = 0; k < n; k++) {
        const struct pyscan_stmt *st = &ps->assignments.items[k];
        struct target t = {k, st->target_start, st->target_len};
        VEC_PUSH(&targets, t);
        size_t i = skip_blanks(src, st->target_start + st->target_len, st->end);
        while (i < st->end && src[i] == '=' && (i + 1 >= st->end || src[i + 1] != '=')) {
            size_t from = skip_blanks(src, i + 1, st->end), to = from;
            while (to < st->end && is_name_byte((unsigned char)src[to]))
                to++;
            i = skip_blanks(src, to, st->end);
            bool chained = to > from && !(src[from] >= '0' && src[from] <= '9') && i < st->end &&
                           src[i] == '=' && (i + 1 >= st->end || src[i + 1] != '=');
            if (!chained)
                break;
            struct target c = {k, from, to - from};
            VEC_PUSH(&targets, c);
        }
    }
    *out = targets.items;
    *count = targets.len;
}

/* Mark in wanted[] the statements to parse: the declaration (the last one) and,
 * transitively, every earlier assignment to a name its text mentions. Names
 * are found lexically, strings included (f-string fields are names too): a
 * few extra constants parsed cost less than telling them apart. */
static void select_statements(const struct pyscan *ps, const char *src, size_t n,
                              const struct target *targets, size_t ntargets, bool *wanted)
{
    /* Targets by name, each name's targets chained in source order: a file with
     * thousands of constants costs a lookup per name, not a scan of them all. */
    struct strmap first = {0};
    size_t *next = xmalloc((ntargets + 1) * sizeof(size_t));
    size_t *tail = xmalloc((ntargets + 1) * sizeof(size_t));
    for (size_t k = 0; k < ntargets; k++) {
        size_t head;
        next[k] = SIZE_MAX;
        if (strmap_get(&first, src + targets[k].start, targets[k].len, &head)) {
            next[tail[head]] = k;
            tail[head] = k;
        } else {
            strmap_put(&first, src + targets[k].start, targets[k].len, k);
            tail[k] = k;
        }
    }
    struct sizelist todo = {0};
    wanted[n - 1] = true;
    VEC_PUSH(&todo, n - 1);
    while (todo.len) {
        const struct pyscan_stmt *st = &ps->assignments.items[todo.items[--todo.len]];
        size_t i = st->target_start + st->target_len;
        while (i < st->end) {
            unsigned char c = (unsigned char)src[i];
            if (!is_name_byte(c) || (c >= '0' && c <= '9')) {
                /* Skip numbers whole, so 1e5 does not name `e5`. */
                if (c >= '0' && c <= '9')
                    while (i < st->end && is_name_byte((unsigned char)src[i]))
                        i++;
                else
                    i++;
                continue;
            }
            size_t from = i;
            while (i < st->end && is_name_byte((unsigned char)src[i]))
                i++;
            size_t k;
            if (!strmap_get(&first, src + from, i - from, &k))
                continue;
            for (; k != SIZE_MAX; k = next[k]) {
                const struct target *t = &targets[k];
                if (t->start >= st->start)
                    break; /* only what was bound before this statement */
                if (!wanted[t->statement]) {
                    wanted[t->statement] = true;
                    VEC_PUSH(&todo, t->statement);
                }
            }
        }
    }
    VEC_FREE(&todo);
    free(next);
    free(tail);
    strmap_release(&first);
}

/* Length of an augmented assignment operator at p ("+=", "//=", ...), else 0. */
static size_t augmented_operator(const char *p, const char *end)
{
    static const char *const ops[] = {
        "**=", "//=", ">>=", "<<=", "+=", "-=", "*=", "/=", "%=", "@=", "&=", "|=", "^="};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i]);
        if ((size_t)(end - p) >= n && memcmp(p, ops[i], n) == 0)
            return n;
    }
    return 0;
}

/* Warn about changes stau cannot follow: a constant the declaration uses changed
 * by an augmented assignment above it, or STAU_CONFIG changed after it is
 * assigned. Found lexically at the start of lines; values stay those of the
 * plain assignments. */
static void warn_other_changes(const struct pyscan *ps, const char *src, size_t len,
                               const struct target *targets, size_t ntargets, const bool *wanted,
                               size_t nstmts, bool timetable, struct scan_result *out,
                               const char *path)
{
    const struct pyscan_stmt *decl = &ps->assignments.items[nstmts - 1];
    const char *decl_name = timetable ? TIMETABLE_NAME : "STAU_CONFIG";
    /* The names to look for: the declaration's own, and each constant it uses. */
    for (size_t t = 0; t <= ntargets; t++) {
        const char *name = t == ntargets ? decl_name : src + targets[t].start;
        size_t word = t == ntargets ? strlen(decl_name) : targets[t].len;
        if (t < ntargets && !wanted[targets[t].statement])
            continue;
        bool duplicate = false; /* a name bound twice is looked for once */
        for (size_t u = 0; u < t && u < ntargets && !duplicate; u++)
            duplicate = wanted[targets[u].statement] && targets[u].len == word &&
                        memcmp(src + targets[u].start, name, word) == 0;
        if (duplicate)
            continue;
        /* Each line that starts with the name (memmem finds them fast): constants
         * above the declaration, the declaration's own name below it. */
        size_t from = t == ntargets ? decl->end : 0;
        size_t limit = t == ntargets ? len : decl->start;
        for (size_t at = from; at < limit;) {
            const char *hit = at == 0 && limit >= word && memcmp(src, name, word) == 0 ? src : NULL;
            if (!hit) {
                const char *nl = memmem(src + at, limit - at, name, word);
                while (nl && nl > src && nl[-1] != '\n')
                    nl = memmem(nl + 1, limit - (size_t)(nl + 1 - src), name, word);
                if (!nl)
                    break;
                hit = nl;
            }
            size_t start = (size_t)(hit - src), i = start + word;
            at = i;
            if (i < len && is_name_byte((unsigned char)src[i]))
                continue;
            const char *eol = memchr(src + i, '\n', len - i);
            size_t end = eol ? (size_t)(eol - src) : len;
            while (i < end && (src[i] == ' ' || src[i] == '\t'))
                i++;
            size_t op = augmented_operator(src + i, src + end);
            uint32_t line = 1;
            for (const char *c = src; (c = memchr(c, '\n', (size_t)(hit - c))); c++)
                line++;
            if (t == ntargets && start > decl->start &&
                (op || (i < end && (src[i] == '[' || src[i] == '.')))) {
                struct loc loc = {line, 1, line, (uint32_t)(i - start + 1)};
                diag_add(&out->diags, DIAG_WARNING, path, loc,
                         "%s is changed here, after its assignment on line %u; stau reads only "
                         "the assignment",
                         decl_name, decl->line);
                diag_hint(&out->diags, "put every key into the assignment itself");
            } else if (t < ntargets && op && start < decl->start) {
                struct loc loc = {line, 1, line, (uint32_t)(i - start + op + 1)};
                diag_add(&out->diags, DIAG_WARNING, path, loc,
                         "'%.*s' is changed here with %.*s, which stau does not follow; the "
                         "declaration gets its plain assignment",
                         (int)word, name, (int)op, src + i);
                diag_hint(&out->diags, "bind the final value with one assignment above %s",
                          decl_name);
            }
        }
    }
}

/* Index of the assignment statement starting at byte `start` (among the first n), or -1. */
static long statement_at(const struct pyscan *ps, size_t n, uint32_t start)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ps->assignments.items[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ps->assignments.items[lo].start == start ? (long)lo : -1;
}

/* Index of the last module-level assignment to `name`, or -1. */
static long last_assignment(const struct pyscan *ps, const char *src, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = ps->assignments.len; i-- > 0;) {
        const struct pyscan_stmt *st = &ps->assignments.items[i];
        if (st->target_len == n && memcmp(src + st->target_start, name, n) == 0)
            return (long)i;
    }
    return -1;
}

/* Read a file: a job (STAU_CONFIG) or, when timetable, the original Stau's timetable. */
static void scan_file(struct scanner *sc, const char *path, const char *job_name, const char *src,
                      size_t len, bool timetable, struct scan_result *out)
{
    struct pyscan ps;
    pyscan_init(&ps);
    pyscan_run(&ps, src, len);
    copy_imports(&ps, out);
    out->code_hash = fingerprint_code(src, len, ps.comments.items, ps.comments.len);
    long decl_index = timetable ? last_assignment(&ps, src, TIMETABLE_NAME) : ps.config_index;
    if (decl_index < 0) {
        pyscan_release(&ps);
        return;
    }
    out->is_job = !timetable;
    out->is_timetable = timetable;
    const struct pyscan_stmt *config = &ps.assignments.items[decl_index];
    out->decl_loc = (struct loc){config->line, 1, config->line, 12};
    report_problems(&ps, path, config, out);
    if (out->diags.errors) {
        pyscan_release(&ps);
        return;
    }

    /* Parse only the declaration and the constants it may refer to. */
    size_t nstmts = (size_t)decl_index + 1;
    bool *wanted = xcalloc(nstmts, sizeof(bool));
    struct target *targets;
    size_t ntargets;
    find_targets(&ps, src, nstmts - 1, &targets, &ntargets);
    select_statements(&ps, src, nstmts, targets, ntargets, wanted);
    TSRange *ranges = xmalloc(nstmts * sizeof(*ranges));
    uint32_t nranges = 0;
    for (size_t i = 0; i < nstmts; i++) {
        if (!wanted[i])
            continue;
        const struct pyscan_stmt *st = &ps.assignments.items[i];
        bool newline_end = st->end > st->start && src[st->end - 1] == '\n';
        TSRange *r = &ranges[nranges++];
        r->start_byte = (uint32_t)st->start;
        r->end_byte = (uint32_t)st->end;
        /* Not column 0 after a ';'. Tree-sitter does not count a BOM as a column. */
        uint32_t col = column_of(src, st->start);
        if (st->line == 1 && col >= 3 && len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0)
            col -= 3;
        r->start_point = (TSPoint){st->line - 1, col};
        r->end_point = newline_end ? (TSPoint){st->end_line, 0}
                                   : (TSPoint){st->end_line - 1, column_of(src, st->end)};
    }
    ts_parser_reset(sc->parser);
    if (!ts_parser_set_included_ranges(sc->parser, ranges, nranges))
        fatal("tree-sitter refused the ranges of %s", path);
    TSTree *tree = ts_parser_parse_string(sc->parser, NULL, src, (uint32_t)len);
    free(ranges);
    if (!tree)
        fatal("tree-sitter could not parse %s", path);

    /* Every assignment above the declaration is a binding (in order, so
     * Python's "last one before the use" holds); only the parsed ones have a value. */
    struct arena arena = ARENA_INIT;
    struct converter cv = {src, &arena, sc->symbols, 0};
    struct syntax **values = xcalloc(nstmts, sizeof(struct syntax *));
    TSNode config_statement = {0}, config_value = {0};
    bool found = false;
    /* The tree holds just the chosen statements: walk the module's children. */
    TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(tree));
    for (bool more = ts_tree_cursor_goto_first_child(&cursor); more;
         more = ts_tree_cursor_goto_next_sibling(&cursor)) {
        TSNode statement = ts_tree_cursor_current_node(&cursor);
        if (!kind_is(&cv, statement, NODE_EXPRESSION_STATEMENT))
            continue;
        TSNode assignment = ts_node_named_child(statement, 0);
        if (ts_node_is_null(assignment) || !kind_is(&cv, assignment, NODE_ASSIGNMENT))
            continue;
        /* `A = B = 1`: the value is at the end of the chain. */
        TSNode value = ts_node_child_by_field_name(assignment, "right", 5);
        while (!ts_node_is_null(value) && kind_is(&cv, value, NODE_ASSIGNMENT))
            value = ts_node_child_by_field_name(value, "right", 5);
        long index = statement_at(&ps, nstmts, ts_node_start_byte(statement));
        if (index < 0)
            continue;
        if ((size_t)index == nstmts - 1) {
            config_statement = statement;
            config_value = value;
            found = true;
        } else if (!ts_node_is_null(value)) {
            values[index] = convert(&cv, value);
        }
    }
    ts_tree_cursor_delete(&cursor);
    warn_other_changes(&ps, src, len, targets, ntargets, wanted, nstmts, timetable, out, path);
    free(wanted);
    struct binding *before = xcalloc(ntargets + 1, sizeof(struct binding));
    for (size_t i = 0; i < ntargets; i++) {
        const struct target *t = &targets[i];
        before[i] = (struct binding){src + t->start, t->len, values[t->statement],
                                     ps.assignments.items[t->statement].line};
    }
    free(values);
    free(targets);

    VEC(struct binding) after = {0};
    for (size_t i = (size_t)decl_index + 1; i < ps.assignments.len; i++) {
        const struct pyscan_stmt *st = &ps.assignments.items[i];
        struct binding b = {src + st->target_start, st->target_len, NULL, st->line};
        VEC_PUSH(&after, b);
    }
    VEC(struct imported_name) imported = {0};
    for (size_t i = 0; i < ps.imports.len; i++) {
        const struct pyscan_import *pi = &ps.imports.items[i];
        for (size_t k = 0; k < pi->name_count; k++) {
            struct imported_name in = {pi->names[k], pi->module, pi->line};
            VEC_PUSH(&imported, in);
        }
    }

    if (!found || ts_node_is_null(config_value)) {
        /* The statement did not even parse as an assignment: show the first error. */
        report_syntax_error(out, path, src, ts_tree_root_node(tree));
    } else if (ts_node_has_error(config_statement)) {
        report_syntax_error(out, path, src, config_statement);
    } else {
        struct eval_env env = {path,           before,       ntargets, after.items, after.len,
                               imported.items, imported.len, &arena,   &out->diags};
        size_t errors = out->diags.errors;
        struct value *v = eval_declaration(&env, convert(&cv, config_value));
        /* With errors, v holds what had none: checked too, so that each is told. */
        bool evaluated = out->diags.errors == errors;
        if (v && timetable) {
            /* Good entries are kept even when others have errors: they are reported. */
            if (evaluated)
                timetable_build(v, path, &out->timetable, &out->diags);
        } else if (v) {
            out->ok = decl_build(v, path, job_name, &out->decl, &out->diags) == 0 && evaluated;
            out->has_decl = true;
            if (!out->ok)
                decl_keep_dependencies(&out->decl);
        }
        if (out->ok) {
            if (job_name && out->decl.job_type && strcmp(out->decl.job_type, job_name) != 0) {
                diag_add(&out->diags, DIAG_ERROR, path, out->decl.job_type_loc,
                         "job_type '%s' does not match the job's name '%s'", out->decl.job_type,
                         job_name);
                diag_hint(&out->diags,
                          "a job's name is its path below the jobs root with '/' written as '.'; "
                          "write job_type=\"%s\" or rename the file",
                          job_name);
                decl_keep_dependencies(&out->decl);
                out->ok = false;
            }
        }
    }
    free(before);
    VEC_FREE(&after);
    VEC_FREE(&imported);
    arena_release(&arena);
    ts_tree_delete(tree);
    pyscan_release(&ps);
}

void scanner_scan(struct scanner *sc, const char *path, const char *job_name, const char *src,
                  size_t len, struct scan_result *out)
{
    scan_file(sc, path, job_name, src, len, false, out);
}

void scanner_scan_timetable(struct scanner *sc, const char *path, const char *src, size_t len,
                            struct scan_result *out)
{
    scan_file(sc, path, NULL, src, len, true, out);
}

void scan_result_release(struct scan_result *r)
{
    if (r->borrowed) {
        diag_release(&r->diags);
        memset(r, 0, sizeof(*r));
        return;
    }
    if (r->has_decl)
        decl_release(&r->decl);
    timetable_release(&r->timetable);
    for (size_t i = 0; i < r->imports.len; i++) {
        struct scan_import *imp = &r->imports.items[i];
        free(imp->module);
        for (size_t k = 0; k < imp->names.len; k++)
            free(imp->names.items[k]);
        VEC_FREE(&imp->names);
    }
    VEC_FREE(&r->imports);
    diag_release(&r->diags);
    memset(r, 0, sizeof(*r));
}
