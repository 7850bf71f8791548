/* pyscan.c: a single linear pass over Python source that tokenizes just enough to find
 * import statements and module-level assignments. The lexer follows CPython 3.12's
 * tokenizer: a stack of frames holds open brackets, f-strings (PEP 701) and their
 * replacement fields, so an f-string with nested strings, fields and format specs is
 * one token to the statement recognizer above it. Between statement starts only
 * brackets, strings, comments, line ends and ; : = matter, and the lexer skips all
 * else 16 bytes at a time. Malformed input becomes problems and is recovered from;
 * every step advances, so time stays linear. */
#include "pyscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
    FRAME_MAX = 200, /* nesting kept, as CPython's limit on parentheses */
    SEARCH_MAX = 16, /* frames searched for the opener of a mismatched closer */
};

/* Byte classes; the C_STOP... classes end a run of bytes that skip_to() passes. */
enum {
    C_NAME = 1,   /* continues an identifier (non-ASCII bytes count as letters) */
    C_START = 2,  /* starts an identifier */
    C_DIGIT = 4,  /* starts a number */
    C_STOP = 8,   /* in plain string text: quotes, backslash, line ends */
    C_FSTOP = 16, /* in f-string text: C_STOP and braces */
    C_SKIP = 32,  /* between statements, inside brackets: quotes # \ line ends brackets */
    C_SKIP0 = 64, /* between statements, outside brackets: C_SKIP and ; : = */
    C_LINE = 128, /* in a comment: line ends */
};

/* clang-format off */
static const unsigned char byte_class[256] = {
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 248,   0,   0, 248,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0, 120,  96,   0,   0,   0, 120,  96,  96,   0,   0,   0,   0,   0,   0,
      5,   5,   5,   5,   5,   5,   5,   5,   5,   5,  64,  64,   0,  64,   0,   0,
      0,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,  96, 120,  96,   0,   3,
      0,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3, 112,   0, 112,   0,   0,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
      3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,   3,
};
/* clang-format on */

#ifdef __SSE2__
#define LOAD(s, p) _mm_loadu_si128((const __m128i *)(const void *)((s) + (p)))
#define EQ(x, c) _mm_cmpeq_epi8(x, _mm_set1_epi8((char)(c)))
#define OR(a, b) _mm_or_si128(a, b)
#define MASK(m) ((unsigned)_mm_movemask_epi8(m))
#define FIRST(mask) ((size_t)__builtin_ctz(mask))

/* Bytes of x in [low, high]. */
static inline __m128i in_range(__m128i x, unsigned char low, unsigned char high)
{
    __m128i d = _mm_sub_epi8(x, _mm_set1_epi8((char)low));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((char)(high - low))), d);
}
#endif

/* The first byte at or after p in class stop, or n. With SSE2 16 bytes at a time: a
 * mask that is a superset of the class finds candidates, the table confirms them. */
static inline size_t skip_to(const unsigned char *s, size_t p, size_t n, unsigned char stop)
{
#ifdef __SSE2__
    while (p + 16 <= n) {
        __m128i x = LOAD(s, p), m = in_range(x, '\n', '\r');
        if (stop & (C_SKIP | C_SKIP0)) /* " # $ % & ' ( )  [ \ ] { | }  : ; < = */
            m = OR(OR(m, in_range(x, '"', ')')),
                   in_range(_mm_and_si128(x, _mm_set1_epi8((char)0xDF)), '[', ']'));
        if (stop & C_SKIP0)
            m = OR(m, in_range(x, ':', '='));
        if (stop & (C_STOP | C_FSTOP))
            m = OR(m, OR(OR(EQ(x, '"'), EQ(x, '\'')), EQ(x, '\\')));
        if (stop & C_FSTOP)
            m = OR(m, OR(EQ(x, '{'), EQ(x, '}')));
        if (!MASK(m)) {
            p += 16;
            continue;
        }
        p += FIRST(MASK(m));
        if (byte_class[s[p]] & stop)
            return p;
        p++;
    }
#endif
    while (p < n && !(byte_class[s[p]] & stop))
        p++;
    return p;
}

/* Spaces, tabs and form feeds. */
static size_t skip_blanks(const unsigned char *s, size_t p, size_t n)
{
#ifdef __SSE2__
    for (; p + 16 <= n && s[p] == ' '; p += 16) {
        __m128i x = LOAD(s, p);
        unsigned mask = MASK(OR(EQ(x, ' '), OR(EQ(x, '\t'), EQ(x, '\f')))) ^ 0xFFFF;
        if (mask)
            return p + FIRST(mask);
    }
#endif
    while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\f'))
        p++;
    return p;
}

enum token_kind { TOKEN_EOF, TOKEN_NEWLINE, TOKEN_NAME, TOKEN_NUMBER, TOKEN_STRING, TOKEN_OP };

struct token {
    enum token_kind kind;
    unsigned char op;  /* TOKEN_OP: ( ) [ ] { } : ; , . * = as themselves, 'O' for any other */
    bool first;        /* the first token of its logical line */
    bool indent0;      /* that logical line is at indentation 0 */
    size_t start, end; /* byte range */
    unsigned line;     /* line of the first byte; NEWLINE: where the last token ended */
    size_t line_start; /* offset of the first byte of that line */
};

enum frame_kind { FRAME_BRACKET, FRAME_FSTRING, FRAME_FIELD };

/* An open bracket, f-string or f-string replacement field. */
struct frame {
    size_t offset;       /* where it opened */
    unsigned char kind;  /* enum frame_kind */
    unsigned char open;  /* brackets and fields: '(', '[' or '{' */
    unsigned char quote; /* f-strings and fields: the f-string's quote character */
    bool triple;         /* ... and whether it is tripled */
    bool raw;            /* ... and whether it is raw, so that \N{ does not escape a brace */
    bool spec;           /* fields: scanning the format spec after ':' */
};

struct lexer {
    const unsigned char *src;
    size_t len, pos;
    size_t first;      /* offset of the first byte after a BOM */
    unsigned line;     /* current line, 1-based */
    size_t line_start; /* offset of its first byte */
    struct frame frames[FRAME_MAX];
    size_t depth;         /* frames in use */
    size_t overflow;      /* brackets opened beyond FRAME_MAX, counted only */
    size_t fstrings;      /* f-string frames in use */
    bool line_has_tokens; /* the current logical line has a token */
    bool continued;       /* a backslash continued the line after the last token... */
    unsigned last_line;   /* ... which ended on this line */
    struct pyscan *ps;
};

/* Record a problem; its line and column are worked out at the end. The tokenizer finds
 * problems in order and keeps the first few (limit); check_bytes() adds its own. */
static void add_problem(struct pyscan *ps, size_t offset, const char *message, bool limit)
{
    struct pyscan_problem problem = {0, 0, offset, message};
    if (!limit || ps->problems.len < PYSCAN_MAX_PROBLEMS)
        VEC_PUSH(&ps->problems, problem);
}
#define PROBLEM(lx, offset, message) add_problem((lx)->ps, offset, message, true)

/* Pass the line ending at p (\n, \r\n or \r); returns the offset after it. */
static size_t pass_newline(struct lexer *lx, size_t p)
{
    if (lx->src[p] == '\r' && p + 1 < lx->len && lx->src[p + 1] == '\n')
        p++;
    lx->line++;
    lx->line_start = ++p;
    return p;
}

/* Pass the backslash at p and the character it escapes (a line ending included). */
static size_t pass_escape(struct lexer *lx, size_t p)
{
    if (++p >= lx->len)
        return p;
    if (lx->src[p] == '\n' || lx->src[p] == '\r')
        return pass_newline(lx, p);
    return p + 1;
}

static inline struct frame *push_frame(struct lexer *lx, enum frame_kind kind, size_t offset,
                                       unsigned char open)
{
    if (lx->depth == FRAME_MAX) {
        if (!lx->overflow)
            PROBLEM(lx, offset, "too many nested parentheses");
        lx->overflow += kind == FRAME_BRACKET;
        return NULL;
    }
    struct frame *f = &lx->frames[lx->depth++];
    if (kind == FRAME_FIELD) /* in the f-string or format spec below it */
        *f = lx->frames[lx->depth - 2];
    f->offset = offset; /* start_string() fills in an f-string's quote, triple and raw */
    f->kind = kind;
    f->open = open;
    f->spec = false;
    lx->fstrings += kind == FRAME_FSTRING;
    return f;
}

static void pop_frame(struct lexer *lx)
{
    lx->fstrings -= lx->frames[--lx->depth].kind == FRAME_FSTRING;
}

/* Remember a comment at p (once, in order): code fingerprints leave comments out. */
static inline void note_comment(struct pyscan *ps, size_t p)
{
    if (!ps->comments.len || ps->comments.items[ps->comments.len - 1] < p)
        VEC_PUSH(&ps->comments, p);
}

/* Report the innermost open frame as never closed and forget all of them. */
static void drop_frames(struct lexer *lx)
{
    if (lx->depth) {
        const struct frame *f = &lx->frames[lx->depth - 1];
        const char *message = "expecting '}' in f-string";
        if (f->kind == FRAME_FSTRING)
            message = f->triple ? "unterminated triple-quoted string" : "unterminated string";
        else if (f->kind == FRAME_BRACKET)
            message = f->open == '('   ? "'(' was never closed"
                      : f->open == '[' ? "'[' was never closed"
                                       : "'{' was never closed";
        PROBLEM(lx, f->offset, message);
    }
    lx->depth = lx->overflow = lx->fstrings = 0;
}

/* Python's words for a closer c that matches no opener, or not the innermost one. */
static const char *closer_message(const struct lexer *lx, unsigned char c)
{
    unsigned char open = 0;
    if (lx->depth && lx->frames[lx->depth - 1].kind != FRAME_FSTRING)
        open = lx->frames[lx->depth - 1].open;
    switch (c * 256 + open) {
    case ')' * 256 + '[':
        return "closing parenthesis ')' does not match opening parenthesis '['";
    case ')' * 256 + '{':
        return "closing parenthesis ')' does not match opening parenthesis '{'";
    case ']' * 256 + '(':
        return "closing parenthesis ']' does not match opening parenthesis '('";
    case ']' * 256 + '{':
        return "closing parenthesis ']' does not match opening parenthesis '{'";
    case '}' * 256 + '(':
        return "closing parenthesis '}' does not match opening parenthesis '('";
    case '}' * 256 + '[':
        return "closing parenthesis '}' does not match opening parenthesis '['";
    default:
        return c == ')' ? "unmatched ')'" : c == ']' ? "unmatched ']'" : "unmatched '}'";
    }
}

/* Closer c at p: pop its opener, or report it and, when a nearby frame matches, pop to it. */
static void close_bracket(struct lexer *lx, size_t p, unsigned char c)
{
    const unsigned char want = c == ')' ? '(' : c - 2;
    if (lx->overflow) {
        lx->overflow--;
        return;
    }
    if (lx->depth && lx->frames[lx->depth - 1].kind != FRAME_FSTRING &&
        lx->frames[lx->depth - 1].open == want) {
        pop_frame(lx);
        return;
    }
    PROBLEM(lx, p, closer_message(lx, c));
    for (size_t i = lx->depth; i > 0 && lx->depth - i < SEARCH_MAX; i--) {
        if (lx->frames[i - 1].kind == FRAME_FSTRING)
            return;
        if (lx->frames[i - 1].open == want) {
            lx->depth = i - 1;
            return;
        }
    }
}

/* Whether the line at p, inside brackets, can only be a new statement, so the brackets
 * before it were never closed. Keeps one typo from hiding the rest of the file. */
static bool starts_statement(const unsigned char *s, size_t p, size_t n)
{
    static const char *const words[] = {"def", "class", "import", "from", "STAU_CONFIG"};
    if (p >= n || (s[p] != 'd' && s[p] != 'c' && s[p] != 'i' && s[p] != 'f' && s[p] != 'S'))
        return false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t len = strlen(words[i]), q = p + len;
        if (n - p <= len || memcmp(s + p, words[i], len) != 0)
            continue;
        if (s[p] != 'S')
            return s[q] == ' ' || s[q] == '\t' || (s[p] == 'f' && s[q] == '.');
        q = skip_blanks(s, q, n);
        return q < n && (s[q] == ':' || (s[q] == '=' && (q + 1 == n || s[q + 1] != '=')));
    }
    return false;
}

/* Scan a plain (not f-) string whose opening quote is at p; returns the offset after it. */
static size_t scan_string(struct lexer *lx, size_t token_start, size_t p)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len;
    const unsigned char quote = s[p];
    const bool triple = p + 2 < n && s[p + 1] == quote && s[p + 2] == quote;
    for (p += triple ? 3 : 1;;) {
        p = skip_to(s, p, n, C_STOP);
        if (p >= n || (!triple && (s[p] == '\n' || s[p] == '\r'))) {
            PROBLEM(lx, token_start,
                    triple ? "unterminated triple-quoted string" : "unterminated string");
            return p;
        }
        if (s[p] == quote && (!triple || (p + 2 < n && s[p + 1] == quote && s[p + 2] == quote)))
            return p + (triple ? 3 : 1);
        if (s[p] == '\\')
            p = pass_escape(lx, p);
        else if (s[p] == '\n' || s[p] == '\r')
            p = pass_newline(lx, p);
        else
            p++;
    }
}

/* Flags of a string prefix. */
enum { PREFIX_OK = 1, PREFIX_RAW = 2, PREFIX_FORMAT = 4 };

/* The flags of the len bytes at s as a string prefix (r u b f t rb br fr rf tr rt, any
 * case; t-strings lex like f-strings), or 0 if they are not one. */
static int string_prefix(const unsigned char *s, size_t len)
{
    int flags = PREFIX_OK, kinds = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i] | 0x20;
        if (len > 2 || (c == 'r' && (flags & PREFIX_RAW)) || (c == 'u' && len != 1))
            return 0;
        if (c == 'r')
            flags |= PREFIX_RAW;
        else if (c == 'f' || c == 't')
            flags |= PREFIX_FORMAT, kinds++;
        else if (c == 'b')
            kinds++;
        else if (c != 'u')
            return 0;
    }
    return kinds > 1 ? 0 : flags;
}

/* Open a string with its prefix at token_start and its quote at q: an f-string pushes a
 * frame (returns true); any other string is scanned whole. */
static bool start_string(struct lexer *lx, size_t token_start, size_t q, int flags)
{
    struct frame *f =
        (flags & PREFIX_FORMAT) ? push_frame(lx, FRAME_FSTRING, token_start, 0) : NULL;
    if (!f) {
        lx->pos = scan_string(lx, token_start, q);
        return false;
    }
    const unsigned char *s = lx->src;
    f->quote = s[q];
    f->triple = q + 2 < lx->len && s[q + 1] == s[q] && s[q + 2] == s[q];
    f->raw = flags & PREFIX_RAW;
    lx->pos = q + (f->triple ? 3 : 1);
    return true;
}

/* A backslash at p in f-string text or a format spec; returns the offset after it. */
static size_t pass_fstring_escape(struct lexer *lx, const struct frame *f, size_t p)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len;
    if (p + 1 < n && (s[p + 1] == '{' || s[p + 1] == '}'))
        return p + 1; /* "\{" is a backslash, then a field */
    if (!f->raw && p + 2 < n && s[p + 1] == 'N' && s[p + 2] == '{') {
        for (p += 3; p < n && s[p] != '}' && s[p] != f->quote && s[p] != '\n' && s[p] != '\r';)
            p++;
        return p < n && s[p] == '}' ? p + 1 : p;
    }
    return pass_escape(lx, p);
}

/* Whether the closing quote of f (one or three characters) is at p. */
static bool closes(const struct lexer *lx, const struct frame *f, size_t p)
{
    const unsigned char *s = lx->src;
    return s[p] == f->quote &&
           (!f->triple || (p + 2 < lx->len && s[p + 1] == f->quote && s[p + 2] == f->quote));
}

/* Scan the literal text of the f-string f (on top of the stack), or with spec the format
 * spec of the field f, up to a field, its end or the end of input. */
static void scan_fstring_text(struct lexer *lx, struct frame *f, bool spec)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len;
    size_t p = lx->pos;
    for (; (p = skip_to(s, p, n, C_FSTOP)) < n;) {
        const unsigned char c = s[p];
        const bool end = closes(lx, f, p), cut = (c == '\n' || c == '\r') && !f->triple;
        if (end || cut) { /* the end of the f-string, or of the line of a one-line one */
            if (spec || cut)
                PROBLEM(lx, spec ? p : f->offset,
                        spec ? "expecting '}' in f-string" : "unterminated string");
            lx->pos = end && !spec ? p + (f->triple ? 3 : 1) : p;
            pop_frame(lx);
            return;
        }
        if (c == '\\') {
            p = pass_fstring_escape(lx, f, p);
        } else if (c == '\n' || c == '\r') {
            p = pass_newline(lx, p);
        } else if (c == '{' && (spec || p + 1 >= n || s[p + 1] != '{')) {
            push_frame(lx, FRAME_FIELD, p, '{');
            lx->pos = p + 1;
            return;
        } else if (c == '}' && spec) {
            lx->pos = p + 1;
            pop_frame(lx);
            return;
        } else if (c == '{' || c == '}') {
            if (c == '}' && (p + 1 >= n || s[p + 1] != '}'))
                PROBLEM(lx, p, "single '}' is not allowed in f-string");
            p += p + 1 < n && s[p + 1] == c ? 2 : 1;
        } else {
            p++; /* the other quote character, or one of a triple */
        }
    }
    lx->pos = p;
}

/* A zero-length NEWLINE at p (the end, or a line after brackets never closed) when the
 * logical line has tokens, else EOF. Its line is that of the last token before p. */
static void end_line(struct lexer *lx, struct token *t, size_t p)
{
    const unsigned char *s = lx->src;
    unsigned line = lx->line;
    for (size_t i = p; !lx->continued && i > lx->first && strchr(" \t\f\r\n", s[i - 1]) && s[i - 1];
         i--)
        line -= s[i - 1] == '\n' || (s[i - 1] == '\r' && (i >= lx->len || s[i] != '\n'));
    t->kind = lx->line_has_tokens ? TOKEN_NEWLINE : TOKEN_EOF;
    t->start = t->end = p;
    t->line = lx->continued ? lx->last_line : line;
    t->first = t->indent0 = lx->line_has_tokens = lx->continued = false;
}

/* Between statement starts: pass everything the statement recognizer does not need,
 * keeping track of brackets, strings, comments and lines. Stops at a line end or ; : =
 * outside brackets, a backslash, an f-string (at its prefix), or the end of input. */
static size_t skip_tokens(struct lexer *lx, size_t p)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len, from = p;
    if (lx->continued) {
        size_t q = skip_blanks(s, p, n);
        if (q < n && !(byte_class[s[q]] & C_SKIP0))
            lx->continued = false;
    }
    for (;; p++) {
        const bool top = !lx->depth && !lx->overflow;
        p = top ? skip_to(s, p, n, C_SKIP0) : skip_to(s, p, n, C_SKIP); /* constant classes */
        if (p >= n)
            return n;
        const unsigned char c = s[p];
        if (c == '(' || c == '[' || c == '{') {
            push_frame(lx, FRAME_BRACKET, p, c);
        } else if (c == ')' || c == ']' || c == '}') { /* no f-string is open here */
            if (lx->depth && !lx->overflow && lx->frames[lx->depth - 1].open == c - 1 - (c != ')'))
                lx->depth--;
            else
                close_bracket(lx, p, c);
        } else if (c == '#') {
            note_comment(lx->ps, p);
            p = skip_to(s, p + 1, n, C_LINE) - 1;
            continue;
        } else if (c == '\n' || c == '\r') {
            if (top || starts_statement(s, p + 1 + (c == '\r' && p + 1 < n && s[p + 1] == '\n'), n))
                return p; /* a NEWLINE, or brackets never closed: lex() deals with it */
            p = pass_newline(lx, p) - 1;
            continue;
        } else if (c == '"' || c == '\'') {
            size_t b = p;
            while (b > from && p - b < 3 && (byte_class[s[b - 1]] & C_NAME))
                b--;
            int flags = p - b <= 2 ? string_prefix(s + b, p - b) : 0;
            if (flags & PREFIX_FORMAT)
                return b;
            p = scan_string(lx, flags ? b : p, p) - 1;
        } else if (c == ':' || c == '=') { /* not when part of := == <= += ... */
            if (p + 1 < n && s[p + 1] == '=')
                p++;
            else if (c == ':' || p == 0 || !strchr("=!<>+-*/%&|^@:", s[p - 1]) || !s[p - 1])
                return p;
        } else {
            return p; /* ';' or '\\' */
        }
        lx->continued = false;
    }
}

/* Fill t with the token just lexed. */
static void set_token(struct lexer *lx, struct token *t, enum token_kind kind, size_t start,
                      unsigned line, size_t line_start)
{
    t->kind = kind;
    t->start = start;
    t->line = line;
    t->line_start = line_start;
    t->first = !lx->line_has_tokens;
    t->indent0 = start == line_start || lx->src[start - 1] == '\f';
    lx->line_has_tokens = true;
}

/* The next token outside f-strings (f-strings come whole as one TOKEN_STRING); unless
 * all, only NEWLINE, EOF and ; : = outside brackets, which is all the statement
 * recognizer needs between statement starts. */
static void lex(struct lexer *lx, struct token *t, bool all)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len;
    size_t p = lx->pos;
    for (;;) {
        if (lx->fstrings) {
            struct frame *f = &lx->frames[lx->depth - 1];
            if (p < n && (f->kind == FRAME_FSTRING || (f->kind == FRAME_FIELD && f->spec))) {
                lx->pos = p;
                scan_fstring_text(lx, f, f->kind == FRAME_FIELD);
                p = lx->pos;
                if (!lx->fstrings) {
                    t->end = p;
                    lx->continued = false;
                    if (all)
                        return;
                }
                continue;
            }
        } else if (!all) {
            p = skip_tokens(lx, p);
        }
        if (p >= n) {
            lx->pos = n;
            drop_frames(lx);
            end_line(lx, t, n);
            return;
        }
        const unsigned char c = s[p];
        const unsigned line = lx->line;
        const size_t line_start = lx->line_start, start = p;
        const bool keep = !lx->fstrings;
        size_t q = p + 1;
        int flags = PREFIX_OK;
        if (c == ' ' || c == '\t' || c == '\f') { /* mostly indentation */
            p = skip_blanks(s, q, n);
            continue;
        }
        if (byte_class[c] & C_START) {
            while (q < n && (byte_class[s[q]] & C_NAME))
                q++;
            if (q >= n || (s[q] != '"' && s[q] != '\'') || !(flags = string_prefix(s + p, q - p))) {
                p = q;
                if (keep) {
                    set_token(lx, t, TOKEN_NAME, start, line, line_start);
                    lx->continued = false;
                    if (all) {
                        t->end = lx->pos = q;
                        return;
                    }
                }
                continue;
            }
        } else if (c == '\n' || c == '\r') {
            if (!lx->depth && !lx->overflow && lx->line_has_tokens) {
                t->kind = TOKEN_NEWLINE;
                t->start = p;
                t->line = lx->continued ? lx->last_line : lx->line;
                t->first = t->indent0 = lx->line_has_tokens = lx->continued = false;
                t->end = lx->pos = pass_newline(lx, p);
                return;
            }
            p = pass_newline(lx, p);
            if ((lx->depth || lx->overflow) && starts_statement(s, p, n)) {
                lx->pos = p;
                drop_frames(lx);
                if (lx->line_has_tokens) {
                    end_line(lx, t, p);
                    return;
                }
            }
            continue;
        } else if (c == '#') {
            note_comment(lx->ps, p);
            p = skip_to(s, q, n, C_LINE);
            continue;
        } else if (c == '\\' && q < n && (s[q] == '\n' || s[q] == '\r')) {
            if (!lx->continued)
                lx->last_line = lx->line;
            lx->continued = lx->line_has_tokens;
            p = pass_newline(lx, q);
            continue;
        }
        enum token_kind kind = TOKEN_OP;
        unsigned char op = c;
        if (c == '"' || c == '\'' || (byte_class[c] & C_START)) {
            if (keep)
                set_token(lx, t, TOKEN_STRING, start, line, line_start);
            if (start_string(lx, start, c == '"' || c == '\'' ? p : q, flags)) {
                p = lx->pos;
                continue;
            }
            kind = TOKEN_STRING;
            q = lx->pos;
        } else if ((byte_class[c] & C_DIGIT) ||
                   (c == '.' && q < n && (byte_class[s[q]] & C_DIGIT))) {
            kind = TOKEN_NUMBER;
            while (q < n && ((byte_class[s[q]] & C_NAME) || s[q] == '.' ||
                             ((s[q] == '+' || s[q] == '-') && (s[q - 1] | 0x20) == 'e')))
                q++;
        } else if (c == '(' || c == '[' || c == '{') {
            push_frame(lx, FRAME_BRACKET, p, c);
        } else if (c == ')' || c == ']' || c == '}') {
            close_bracket(lx, p, c);
        } else if (c == ':' && lx->depth && lx->frames[lx->depth - 1].kind == FRAME_FIELD) {
            lx->frames[lx->depth - 1].spec = true;
            p = q;
            continue;
        } else if (c && strchr(":=*+-/%&|^<>!@~", c)) {
            q += q < n && s[q] == '=';
            if (q > p + 1 || (c != '=' && c != '*' && c != ':'))
                op = 'O';
        } else if (c != ';' && c != ',' && c != '.') {
            if (c == '\\')
                PROBLEM(lx, p, "unexpected character after line continuation character");
            op = 'O'; /* a character that is no Python token: harmless here */
        }
        p = q;
        if (!keep)
            continue;
        lx->continued = false;
        if (all || (kind == TOKEN_OP && (op == ';' || op == ':' || op == '=') && !lx->depth &&
                    !lx->overflow)) {
            if (kind != TOKEN_STRING)
                set_token(lx, t, kind, start, line, line_start);
            t->op = op;
            t->end = lx->pos = q;
            return;
        }
        lx->line_has_tokens = true;
    }
}

static void next_token(struct lexer *lx, struct token *t)
{
    lex(lx, t, true);
}

static bool is_op(const struct token *t, unsigned char op)
{
    return t->kind == TOKEN_OP && t->op == op;
}

static bool is_word(const struct lexer *lx, const struct token *t, const char *word, size_t len)
{
    return t->kind == TOKEN_NAME && t->end - t->start == len &&
           memcmp(lx->src + t->start, word, len) == 0;
}
#define IS_WORD(lx, t, word) is_word(lx, t, word, sizeof(word) - 1)

/* Append a dotted name `a.b.c` starting at t to sb; false if it is malformed. */
static bool parse_dotted(struct lexer *lx, struct token *t, struct strbuf *sb)
{
    for (;;) {
        if (t->kind != TOKEN_NAME)
            return false;
        strbuf_add(sb, lx->src + t->start, t->end - t->start);
        next_token(lx, t);
        if (!is_op(t, '.'))
            return true;
        strbuf_addch(sb, '.');
        next_token(lx, t);
    }
}

/* Pass an optional `as NAME`. */
static void skip_alias(struct lexer *lx, struct token *t)
{
    if (!IS_WORD(lx, t, "as"))
        return;
    next_token(lx, t);
    if (t->kind == TOKEN_NAME)
        next_token(lx, t);
}

static void add_import(struct pyscan *ps, const struct token *keyword, int level,
                       struct strbuf *module, char **names, size_t name_count)
{
    struct pyscan_import import = {
        keyword->line, (unsigned)(keyword->start - keyword->line_start + 1),
        level,         strbuf_detach(module),
        names,         name_count};
    VEC_PUSH(&ps->imports, import);
}

/* `import a.b as c, d` or `from ..a.b import (c as d, e)` at t (the keyword); leaves t
 * at the first token after it. */
static void parse_import(struct lexer *lx, struct token *t, bool from)
{
    const struct token keyword = *t;
    struct strbuf module = STRBUF_INIT;
    VEC(char *) names = {0};
    int level = 0;
    next_token(lx, t);
    while (!from && parse_dotted(lx, t, &module)) {
        add_import(lx->ps, &keyword, 0, &module, NULL, 0);
        skip_alias(lx, t);
        if (!is_op(t, ','))
            return;
        next_token(lx, t);
    }
    for (; from && is_op(t, '.'); next_token(lx, t))
        level++;
    if (!from ||
        (t->kind == TOKEN_NAME && !IS_WORD(lx, t, "import") && !parse_dotted(lx, t, &module)) ||
        (!level && !module.len) || !IS_WORD(lx, t, "import"))
        goto out;
    next_token(lx, t);
    bool paren = is_op(t, '(');
    if (paren)
        next_token(lx, t);
    for (bool star = is_op(t, '*'); star || t->kind == TOKEN_NAME; star = false) {
        VEC_PUSH(&names, xstrndup((const char *)lx->src + t->start, t->end - t->start));
        next_token(lx, t);
        skip_alias(lx, t);
        if (star || !is_op(t, ','))
            break;
        next_token(lx, t);
    }
    if (paren && is_op(t, ')'))
        next_token(lx, t);
    if (names.len) {
        add_import(lx->ps, &keyword, level, &module, names.items, names.len);
        return;
    }
out:
    strbuf_release(&module);
    VEC_FREE(&names);
}

/* Whether t, first on its logical line, opens a compound statement, whose first ':'
 * outside brackets ends the header. */
static bool is_compound(const struct lexer *lx, const struct token *t)
{
    static const char words[] = "\2if\4elif\4else\5while\3for\3try\3def\6except\7finally\4with"
                                "\5class\5async";
    const unsigned char *name = lx->src + t->start;
    const size_t len = t->end - t->start;
    if (t->kind != TOKEN_NAME || len < 2 || len > 7 || !((0x90027Au >> (name[0] & 31)) & 1))
        return false; /* the first letter is none of a c d e f i t w */
    for (const char *w = words; *w; w += *w + 1)
        if ((size_t)*w == len && (unsigned char)w[1] == name[0] && !memcmp(w + 1, name, len))
            return true;
    return false;
}

/* The assignment being recognized. */
enum pending { PENDING_NONE, PENDING_ANNOTATION, PENDING_ASSIGNMENT };

static inline void finish_statement(struct pyscan *ps, enum pending *pending,
                                    struct pyscan_stmt *stmt, const struct token *t)
{
    if (*pending == PENDING_ASSIGNMENT) {
        stmt->end = t->end;
        stmt->end_line = t->line;
        VEC_PUSH(&ps->assignments, *stmt);
    }
    *pending = PENDING_NONE;
}

/* The statement recognizer: imports anywhere, assignments at module level. Tokens are
 * looked at one by one only at the start of a statement. */
static void scan_statements(struct lexer *lx)
{
    struct pyscan *ps = lx->ps;
    struct token t;
    struct pyscan_stmt stmt = {0};
    enum pending pending = PENDING_NONE;
    bool stmt_start = true, module_level = false, compound = false, in_body = false;
    next_token(lx, &t);
    while (t.kind != TOKEN_EOF) {
        if (t.kind == TOKEN_NEWLINE) {
            finish_statement(ps, &pending, &stmt, &t);
            stmt_start = true;
            compound = in_body = false;
            next_token(lx, &t);
            continue;
        }
        if (stmt_start) {
            stmt_start = false;
            if (t.first) {
                module_level = t.indent0;
                compound = is_compound(lx, &t);
            }
            if (IS_WORD(lx, &t, "import") || IS_WORD(lx, &t, "from")) {
                parse_import(lx, &t, IS_WORD(lx, &t, "from"));
                continue;
            }
            bool soft = t.first && (IS_WORD(lx, &t, "match") || IS_WORD(lx, &t, "case"));
            if (t.kind == TOKEN_NAME && !compound && ((module_level && !in_body) || soft)) {
                const struct token name = t;
                next_token(lx, &t);
                if (module_level && !in_body && (is_op(&t, '=') || is_op(&t, ':'))) {
                    pending = is_op(&t, '=') ? PENDING_ASSIGNMENT : PENDING_ANNOTATION;
                    stmt = (struct pyscan_stmt){name.start, 0,          name.line,
                                                0,          name.start, name.end - name.start};
                } else if (soft) { /* `match x:` and `case [a]:`, not `match = 1` */
                    compound = t.kind == TOKEN_NAME || t.kind == TOKEN_NUMBER ||
                               t.kind == TOKEN_STRING ||
                               (t.kind == TOKEN_OP && strchr("([{*O", t.op) && t.op);
                }
                continue;
            }
        }
        if (t.kind == TOKEN_OP && !lx->depth && !lx->overflow) {
            if (t.op == ';') {
                finish_statement(ps, &pending, &stmt, &t);
                stmt_start = true;
            } else if (t.op == ':' && compound && !in_body) {
                in_body = stmt_start = true;
            } else if (t.op == '=' && pending == PENDING_ANNOTATION) {
                pending = PENDING_ASSIGNMENT;
            }
        }
        lex(lx, &t, stmt_start);
    }
    finish_statement(ps, &pending, &stmt, &t);
}

/* Length of the valid UTF-8 sequence starting with a non-ASCII byte at s, or 0. */
static size_t utf8_length(const unsigned char *s, size_t avail)
{
    const unsigned char c = s[0], low = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || avail < len || s[1] < low || s[1] > high)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* What the tokenizer does not look for, in one pass: the first NUL byte and the first
 * invalid UTF-8 sequence (as problems), and whether "STAU_CONFIG" occurs. */
static void check_bytes(struct pyscan *ps, const unsigned char *s, size_t n)
{
    bool nul = false, bad = false;
    for (size_t i = 0; i < n;) {
#ifdef __SSE2__
        unsigned mask = 0; /* 32 bytes without NUL, "ST" or non-ASCII bytes pass at once */
        for (; i + 33 <= n; i += 32) {
            __m128i x = LOAD(s, i), y = LOAD(s, i + 16);
            __m128i xm = OR(x, OR(EQ(x, 0), _mm_and_si128(EQ(x, 'S'), EQ(LOAD(s, i + 1), 'T'))));
            __m128i ym = OR(y, OR(EQ(y, 0), _mm_and_si128(EQ(y, 'S'), EQ(LOAD(s, i + 17), 'T'))));
            if ((mask = MASK(xm) | MASK(ym) << 16))
                break;
        }
        if ((i += mask ? FIRST(mask) : 0) >= n)
            break;
#endif
        size_t len = s[i] < 0x80 ? 1 : utf8_length(s + i, n - i);
        if (!s[i] && !nul)
            nul = true, add_problem(ps, i, "NUL byte", false);
        if (s[i] == 'S' && n - i >= 11 && memcmp(s + i, "STAU_CONFIG", 11) == 0)
            ps->mentions_config = true;
        if (!len && !bad)
            bad = true, add_problem(ps, i, "invalid UTF-8", false);
        i += len ? len : 1;
    }
}

/* Order the problems by offset, keep the first few and work out their lines and columns. */
static void locate_problems(struct pyscan *ps, const unsigned char *s, size_t n, size_t first)
{
    struct pyscan_problem *items = ps->problems.items;
    for (size_t i = 1; i < ps->problems.len; i++) {
        struct pyscan_problem problem = items[i];
        size_t j = i;
        for (; j > 0 && items[j - 1].offset > problem.offset; j--)
            items[j] = items[j - 1];
        items[j] = problem;
    }
    if (ps->problems.len > PYSCAN_MAX_PROBLEMS)
        ps->problems.len = PYSCAN_MAX_PROBLEMS;
    unsigned line = 1;
    size_t line_start = first, i = first;
    for (size_t k = 0; k < ps->problems.len; k++) {
        for (; i < items[k].offset; i++) {
            if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))) {
                line++;
                line_start = i + 1;
            }
        }
        items[k].line = line;
        items[k].col = (unsigned)(items[k].offset - line_start + 1);
    }
}

void pyscan_init(struct pyscan *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->config_index = -1;
}

int pyscan_run(struct pyscan *ps, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    const size_t first = len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    struct lexer lx = {.src = s, .len = len, .pos = first, .first = first, .line = 1};
    lx.line_start = first;
    lx.ps = ps;
    pyscan_release(ps);
    scan_statements(&lx);
    check_bytes(ps, s, len);
    locate_problems(ps, s, len, first);
    for (size_t i = 0; i < ps->assignments.len; i++) {
        const struct pyscan_stmt *stmt = &ps->assignments.items[i];
        if (stmt->target_len == 11 && memcmp(s + stmt->target_start, "STAU_CONFIG", 11) == 0)
            ps->config_index = (long)i;
    }
    return 0;
}

void pyscan_release(struct pyscan *ps)
{
    for (size_t i = 0; i < ps->imports.len; i++) {
        struct pyscan_import *import = &ps->imports.items[i];
        free(import->module);
        for (size_t k = 0; k < import->name_count; k++)
            free(import->names[k]);
        free(import->names);
    }
    VEC_FREE(&ps->imports);
    VEC_FREE(&ps->assignments);
    VEC_FREE(&ps->problems);
    VEC_FREE(&ps->comments);
    pyscan_init(ps);
}
