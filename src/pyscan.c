/* pyscan.c: a single linear pass over Python source that tokenizes just enough to find
 * import statements and module-level assignments. The lexer follows CPython 3.12's
 * tokenizer: a stack of frames holds open brackets, f-strings (PEP 701) and their
 * replacement fields, so an f-string with nested strings, fields and format specs is
 * one token to the statement recognizer above it. Malformed input is reported as
 * problems and recovered from; every loop advances, so time stays linear. */
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

/* Byte classes. */
enum {
    C_NAME = 1,   /* continues an identifier (non-ASCII bytes count as letters) */
    C_START = 2,  /* starts an identifier */
    C_DIGIT = 4,  /* starts a number */
    C_STOP = 8,   /* stops the scan of a plain string: quotes, backslash, line ends */
    C_FSTOP = 16, /* stops the scan of f-string text: C_STOP and braces */
    C_SKIP = 32,  /* stops skip_tokens inside brackets: quotes, comments, lines, brackets */
    C_SKIP0 = 64, /* stops skip_tokens outside brackets: C_SKIP and ; : = */
};

/* clang-format off */
static const unsigned char byte_class[256] = {
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0, 120,   0,   0, 120,   0,   0,
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

/* The skip_* functions return the offset of the first byte at or after p that ends a
 * run, or n; with SSE2 they look at 16 bytes at a time. */
#ifdef __SSE2__
#define EQ(x, c) _mm_cmpeq_epi8(x, _mm_set1_epi8(c))
#define LOAD(s, p) _mm_loadu_si128((const __m128i *)(const void *)((s) + (p)))
#define FIRST(m) ((size_t)__builtin_ctz((unsigned)_mm_movemask_epi8(m)))
#define ANY(m) (_mm_movemask_epi8(m) != 0)
#endif

/* Skip string text up to a quote, backslash or line end, and also braces when braces. */
static size_t skip_text(const unsigned char *s, size_t p, size_t n, bool braces)
{
#ifdef __SSE2__
    for (; p + 16 <= n; p += 16) {
        __m128i x = LOAD(s, p);
        __m128i m = _mm_or_si128(_mm_or_si128(EQ(x, '"'), EQ(x, '\'')),
                                 _mm_or_si128(EQ(x, '\\'), _mm_or_si128(EQ(x, '\n'), EQ(x, '\r'))));
        if (braces)
            m = _mm_or_si128(m, _mm_or_si128(EQ(x, '{'), EQ(x, '}')));
        if (ANY(m))
            return p + FIRST(m);
    }
#endif
    const unsigned char stop = braces ? C_FSTOP : C_STOP;
    while (p < n && !(byte_class[s[p]] & stop))
        p++;
    return p;
}

/* Skip spaces, tabs and form feeds. */
static size_t skip_blanks(const unsigned char *s, size_t p, size_t n)
{
    if (p < n && s[p] != ' ' && s[p] != '\t' && s[p] != '\f')
        return p;
#ifdef __SSE2__
    for (; p + 16 <= n; p += 16) {
        __m128i x = LOAD(s, p);
        __m128i m = _mm_or_si128(EQ(x, ' '), _mm_or_si128(EQ(x, '\t'), EQ(x, '\f')));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask != 0xFFFF)
            return p + (size_t)__builtin_ctz(~mask);
    }
#endif
    while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\f'))
        p++;
    return p;
}

/* Skip a comment's text up to its line end. */
static size_t skip_comment(const unsigned char *s, size_t p, size_t n)
{
#ifdef __SSE2__
    for (; p + 16 <= n; p += 16) {
        __m128i x = LOAD(s, p);
        __m128i m = _mm_or_si128(EQ(x, '\n'), EQ(x, '\r'));
        if (ANY(m))
            return p + FIRST(m);
    }
#endif
    while (p < n && s[p] != '\n' && s[p] != '\r')
        p++;
    return p;
}

/* Skip the rest of an identifier. */
static size_t skip_name(const unsigned char *s, size_t p, size_t n)
{
#ifdef __SSE2__
    for (; p + 16 <= n; p += 16) {
        __m128i x = LOAD(s, p);
        __m128i lower = _mm_or_si128(x, _mm_set1_epi8(0x20));
        __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                      _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                      _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
        __m128i other = _mm_or_si128(EQ(x, '_'), _mm_cmplt_epi8(x, _mm_setzero_si128()));
        unsigned mask =
            (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), other));
        if (mask != 0xFFFF)
            return p + (size_t)__builtin_ctz(~mask);
    }
#endif
    while (p < n && (byte_class[s[p]] & C_NAME))
        p++;
    return p;
}

enum token_kind {
    TOKEN_EOF,
    TOKEN_NEWLINE,
    TOKEN_NAME,
    TOKEN_NUMBER,
    TOKEN_STRING,
    TOKEN_OP,
    TOKEN_OTHER
};

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
    unsigned line, col;  /* the same as a position, for "never closed" */
    unsigned char kind;  /* enum frame_kind */
    unsigned char open;  /* brackets and fields: '(', '[' or '{' */
    unsigned char quote; /* f-strings and fields: the f-string's quote character */
    bool triple;         /* ... and whether it is tripled */
    bool raw;            /* f-strings: a raw one, where \N{ does not escape the brace */
    bool spec;           /* fields: scanning the format spec after ':' */
};

struct lexer {
    const unsigned char *src;
    size_t len, pos;
    unsigned line;     /* current line, 1-based */
    size_t line_start; /* offset of its first byte (after a BOM on line 1) */
    struct frame frames[FRAME_MAX];
    size_t depth;         /* frames in use */
    size_t overflow;      /* brackets opened beyond FRAME_MAX, counted only */
    size_t fstrings;      /* f-string frames in use */
    unsigned last_line;   /* the line where the last token ended */
    bool line_has_tokens; /* the current logical line has a token */
    bool told_overflow;   /* "too many nested parentheses" was reported */
    struct pyscan *ps;
};

static void add_problem(struct pyscan *ps, size_t offset, unsigned line, unsigned col,
                        const char *message)
{
    if (ps->problems.len >= PYSCAN_MAX_PROBLEMS)
        return;
    struct pyscan_problem problem = {line, col, offset, message};
    VEC_PUSH(&ps->problems, problem);
}

/* A problem at an offset on the current line. */
static void lexer_problem(struct lexer *lx, size_t offset, const char *message)
{
    add_problem(lx->ps, offset, lx->line, (unsigned)(offset - lx->line_start + 1), message);
}

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
    p++;
    if (p >= lx->len)
        return p;
    if (lx->src[p] == '\n' || lx->src[p] == '\r')
        return pass_newline(lx, p);
    return p + 1;
}

static struct frame *push_frame(struct lexer *lx, enum frame_kind kind, size_t offset,
                                unsigned char open)
{
    if (lx->depth == FRAME_MAX) {
        if (!lx->told_overflow)
            lexer_problem(lx, offset, "too many nested parentheses");
        lx->told_overflow = true;
        return NULL;
    }
    struct frame *f = &lx->frames[lx->depth++];
    *f = (struct frame){offset, lx->line, (unsigned)(offset - lx->line_start + 1),
                        kind,   open,     0,
                        false,  false,    false};
    if (kind == FRAME_FSTRING)
        lx->fstrings++;
    return f;
}

static void pop_frame(struct lexer *lx)
{
    if (lx->frames[--lx->depth].kind == FRAME_FSTRING)
        lx->fstrings--;
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
        add_problem(lx->ps, f->offset, f->line, f->col, message);
    }
    lx->depth = lx->overflow = lx->fstrings = 0;
}

/* The message for closer c that meets an open bracket or field `open`, or nothing. */
static const char *mismatch_message(unsigned char c, unsigned char open)
{
    static const char *const messages[3][3] = {
        {NULL, "closing parenthesis ')' does not match opening parenthesis '['",
         "closing parenthesis ')' does not match opening parenthesis '{'"},
        {"closing parenthesis ']' does not match opening parenthesis '('", NULL,
         "closing parenthesis ']' does not match opening parenthesis '{'"},
        {"closing parenthesis '}' does not match opening parenthesis '('",
         "closing parenthesis '}' does not match opening parenthesis '['", NULL},
    };
    int row = c == ')' ? 0 : c == ']' ? 1 : 2;
    int column = open == '(' ? 0 : open == '[' ? 1 : 2;
    return messages[row][column];
}

/* Closer c at p: pop its opener, or report it and, when a nearby frame matches, pop to it. */
static void close_bracket(struct lexer *lx, size_t p, unsigned char c)
{
    unsigned char want = c == ')' ? '(' : c == ']' ? '[' : '{';
    if (lx->overflow) {
        lx->overflow--;
        return;
    }
    if (!lx->depth || lx->frames[lx->depth - 1].kind == FRAME_FSTRING) {
        lexer_problem(lx, p,
                      c == ')'   ? "unmatched ')'"
                      : c == ']' ? "unmatched ']'"
                                 : "unmatched '}'");
        return;
    }
    const struct frame *top = &lx->frames[lx->depth - 1];
    if (top->open == want) {
        pop_frame(lx);
        return;
    }
    lexer_problem(lx, p, mismatch_message(c, top->open));
    for (size_t i = lx->depth - 1; i > 0 && lx->depth - i < SEARCH_MAX; i--) {
        const struct frame *f = &lx->frames[i - 1];
        if (f->kind == FRAME_FSTRING)
            return;
        if (f->open == want) {
            lx->depth = i - 1;
            return;
        }
    }
}

/* Whether the line at p, inside brackets, can only be a new statement: the brackets
 * before it were never closed. Keeps one typo from hiding the rest of the file. */
static bool starts_statement(const unsigned char *s, size_t p, size_t n)
{
    static const char *const words[] = {"def", "class", "import", "from", "STAU_CONFIG"};
    if (p >= n || (s[p] != 'd' && s[p] != 'c' && s[p] != 'i' && s[p] != 'f' && s[p] != 'S'))
        return false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t len = strlen(words[i]);
        if (n - p <= len || memcmp(s + p, words[i], len) != 0)
            continue;
        size_t q = p + len;
        if (s[p] != 'S')
            return s[q] == ' ' || s[q] == '\t' || (s[p] == 'f' && s[q] == '.');
        while (q < n && (s[q] == ' ' || s[q] == '\t'))
            q++;
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
    const unsigned line = lx->line;
    const unsigned col = (unsigned)(token_start - lx->line_start + 1);
    if (p + 2 < n && s[p + 1] == quote && s[p + 2] == quote) {
        for (p += 3;;) {
            p = skip_text(s, p, n, false);
            if (p >= n) {
                add_problem(lx->ps, token_start, line, col, "unterminated triple-quoted string");
                return n;
            }
            if (s[p] == quote) {
                if (p + 2 < n && s[p + 1] == quote && s[p + 2] == quote)
                    return p + 3;
                p++;
            } else if (s[p] == '\\') {
                p = pass_escape(lx, p);
            } else if (s[p] == '\n' || s[p] == '\r') {
                p = pass_newline(lx, p);
            } else {
                p++;
            }
        }
    }
    for (p++;;) {
        p = skip_text(s, p, n, false);
        if (p >= n || s[p] == '\n' || s[p] == '\r') {
            add_problem(lx->ps, token_start, line, col, "unterminated string");
            return p;
        }
        if (s[p] == quote)
            return p + 1;
        p = s[p] == '\\' ? pass_escape(lx, p) : p + 1;
    }
}

/* Flags of a string prefix. */
enum { PREFIX_OK = 1, PREFIX_RAW = 2, PREFIX_FORMAT = 4 };

/* The flags of the len bytes at s as a string prefix (r u b f t rb br fr rf tr rt in any
 * case), 0 if they are not one. */
static int string_prefix(const unsigned char *s, size_t len)
{
    int flags = PREFIX_OK, kinds = 0;
    if (len > 2)
        return 0;
    for (size_t i = 0; i < len; i++) {
        switch (s[i] | 0x20) {
        case 'r':
            if (flags & PREFIX_RAW)
                return 0;
            flags |= PREFIX_RAW;
            break;
        case 'f':
        case 't':
            flags |= PREFIX_FORMAT;
            kinds++;
            break;
        case 'b':
            kinds++;
            break;
        case 'u':
            if (len != 1)
                return 0;
            break;
        default:
            return 0;
        }
    }
    return kinds > 1 ? 0 : flags;
}

/* Open a string at quote position q, prefix at token_start; an f-string pushes a frame
 * (returns true), any other string is scanned whole. */
static bool start_string(struct lexer *lx, size_t token_start, size_t q, int flags)
{
    struct frame *f = NULL;
    if (flags & PREFIX_FORMAT)
        f = push_frame(lx, FRAME_FSTRING, token_start, 0);
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

/* A backslash at p in f-string text or a format spec; returns the offset after the escape. */
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

/* Open a replacement field at the '{' at p inside f-string or spec f. */
static void open_field(struct lexer *lx, const struct frame *f, size_t p)
{
    unsigned char quote = f->quote;
    bool triple = f->triple, raw = f->raw;
    struct frame *field = push_frame(lx, FRAME_FIELD, p, '{');
    if (field) {
        field->quote = quote;
        field->triple = triple;
        field->raw = raw;
    }
    lx->pos = p + 1;
}

/* Whether the closing quote of f (one or three characters) is at p. */
static bool closes(const struct lexer *lx, const struct frame *f, size_t p)
{
    const unsigned char *s = lx->src;
    return s[p] == f->quote &&
           (!f->triple || (p + 2 < lx->len && s[p + 1] == f->quote && s[p + 2] == f->quote));
}

/* Scan the literal text of the f-string on top of the stack up to a field, its end or
 * the end of input. */
static void scan_fstring_text(struct lexer *lx, struct frame *f)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len;
    size_t p = lx->pos;
    for (;;) {
        p = skip_text(s, p, n, true);
        if (p >= n)
            break;
        if (closes(lx, f, p)) {
            lx->pos = p + (f->triple ? 3 : 1);
            pop_frame(lx);
            return;
        }
        switch (s[p]) {
        case '\\':
            p = pass_fstring_escape(lx, f, p);
            break;
        case '\n':
        case '\r':
            if (f->triple) {
                p = pass_newline(lx, p);
                break;
            }
            add_problem(lx->ps, f->offset, f->line, f->col, "unterminated string");
            lx->pos = p;
            pop_frame(lx);
            return;
        case '{':
            if (p + 1 < n && s[p + 1] == '{') {
                p += 2;
                break;
            }
            open_field(lx, f, p);
            return;
        case '}':
            if (p + 1 >= n || s[p + 1] != '}')
                lexer_problem(lx, p, "single '}' is not allowed in f-string");
            p += p + 1 < n && s[p + 1] == '}' ? 2 : 1;
            break;
        default: /* the other quote character, or a lone one of a triple */
            p++;
        }
    }
    lx->pos = p;
}

/* Scan the format spec of the field on top of the stack up to a nested field or its end. */
static void scan_spec_text(struct lexer *lx, struct frame *f)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len;
    size_t p = lx->pos;
    for (;;) {
        p = skip_text(s, p, n, true);
        if (p >= n)
            break;
        if (closes(lx, f, p) || ((s[p] == '\n' || s[p] == '\r') && !f->triple)) {
            lexer_problem(lx, p, "expecting '}' in f-string");
            lx->pos = p;
            pop_frame(lx);
            return;
        }
        switch (s[p]) {
        case '\\':
            p = pass_fstring_escape(lx, f, p);
            break;
        case '\n':
        case '\r':
            p = pass_newline(lx, p);
            break;
        case '{':
            open_field(lx, f, p);
            return;
        case '}':
            lx->pos = p + 1;
            pop_frame(lx);
            return;
        default:
            p++;
        }
    }
    lx->pos = p;
}

/* A zero-length NEWLINE at p when the logical line has tokens, else EOF at p. */
static void end_line(struct lexer *lx, struct token *t, size_t p)
{
    t->kind = lx->line_has_tokens ? TOKEN_NEWLINE : TOKEN_EOF;
    t->start = t->end = p;
    t->line = lx->last_line;
    t->line_start = lx->line_start;
    t->first = t->indent0 = false;
    lx->line_has_tokens = false;
}

/* Whether c can come before '=' in an operator (`==`, `<=`, `+=`, `:=` ...). */
static bool before_equals(unsigned char c)
{
    return c == '=' || c == '!' || c == '<' || c == '>' || c == '+' || c == '-' || c == '*' ||
           c == '/' || c == '%' || c == '&' || c == '|' || c == '^' || c == '@' || c == ':';
}

/* Between statement starts, pass the bytes that cannot matter to the statement
 * recognizer: names, numbers, blanks and operators other than ; : = outside brackets.
 * Returns where tokenizing must resume (the prefix of a string, if any). */
static size_t skip_tokens(struct lexer *lx, size_t p)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len, from = p;
    const bool top = !lx->depth && !lx->overflow;
    const unsigned char stop = top ? C_SKIP0 : C_SKIP;
    bool token = false; /* a token was passed, so this line is where the last one ended */
    for (;;) {
#ifdef __SSE2__
        for (; p + 16 <= n; p += 16) {
            __m128i x = LOAD(s, p);
            __m128i quotes = _mm_or_si128(EQ(x, '"'), EQ(x, '\''));
            __m128i lines = _mm_or_si128(_mm_or_si128(EQ(x, '\n'), EQ(x, '\r')),
                                         _mm_or_si128(EQ(x, '#'), EQ(x, '\\')));
            __m128i parens = _mm_or_si128(_mm_or_si128(EQ(x, '('), EQ(x, ')')),
                                          _mm_or_si128(EQ(x, '['), EQ(x, ']')));
            __m128i m = _mm_or_si128(_mm_or_si128(quotes, lines),
                                     _mm_or_si128(parens, _mm_or_si128(EQ(x, '{'), EQ(x, '}'))));
            if (top)
                m = _mm_or_si128(m, _mm_or_si128(EQ(x, ';'), _mm_or_si128(EQ(x, ':'), EQ(x, '='))));
            __m128i blank = _mm_or_si128(EQ(x, ' '), _mm_or_si128(EQ(x, '\t'), EQ(x, '\f')));
            unsigned stops = (unsigned)_mm_movemask_epi8(m);
            unsigned others = ~(unsigned)_mm_movemask_epi8(blank) & 0xFFFF;
            if (stops) {
                unsigned k = (unsigned)__builtin_ctz(stops);
                token |= (others & ((1u << k) - 1)) != 0;
                p += k;
                break;
            }
            token |= others != 0;
        }
#endif
        for (; p < n && !(byte_class[s[p]] & stop); p++)
            token |= s[p] != ' ' && s[p] != '\t' && s[p] != '\f';
        if (p >= n)
            break;
        unsigned char c = s[p];
        if ((c == '=' && p > 0 && before_equals(s[p - 1])) ||
            ((c == '=' || c == ':') && p + 1 < n && s[p + 1] == '=')) {
            p += c == ':' || (p + 1 < n && s[p + 1] == '=') ? 2 : 1;
            token = true;
            continue;
        }
        if (c == '"' || c == '\'') {
            size_t b = p;
            while (b > from && p - b < 3 && (byte_class[s[b - 1]] & C_NAME))
                b--;
            if (p - b <= 2 && string_prefix(s + b, p - b))
                p = b;
        }
        break;
    }
    if (token)
        lx->last_line = lx->line;
    return p;
}

/* The next token outside f-strings (f-strings come whole as one TOKEN_STRING); unless
 * all, only NEWLINE, EOF and ';' ':' '=' outside brackets, which is all the statement
 * recognizer needs between statement starts. */
static void lex(struct lexer *lx, struct token *t, bool all)
{
    const unsigned char *s = lx->src;
    const size_t n = lx->len;
    size_t p = lx->pos;
    for (;;) {
        if (p >= n) {
            lx->pos = n;
            drop_frames(lx);
            end_line(lx, t, n);
            return;
        }
        if (lx->depth) {
            struct frame *f = &lx->frames[lx->depth - 1];
            if (f->kind == FRAME_FSTRING || (f->kind == FRAME_FIELD && f->spec)) {
                bool fstring = f->kind == FRAME_FSTRING;
                lx->pos = p;
                if (fstring)
                    scan_fstring_text(lx, f);
                else
                    scan_spec_text(lx, f);
                p = lx->pos;
                if (fstring && lx->fstrings == 0) {
                    t->kind = TOKEN_STRING;
                    t->end = p;
                    lx->last_line = lx->line;
                    if (all)
                        return;
                }
                continue;
            }
        }
        if (!all && !lx->fstrings && (p = skip_tokens(lx, p)) >= n)
            continue;
        const unsigned char c = s[p];
        const unsigned line = lx->line;
        const size_t line_start = lx->line_start, start = p;
        const bool keep = lx->fstrings == 0;
        size_t q = p + 1;
        enum token_kind kind = TOKEN_OP;
        unsigned char op = c;
        int flags = PREFIX_OK;
        if (byte_class[c] & C_START) {
            q = skip_name(s, q, n);
            kind = TOKEN_NAME;
            if (q >= n || (s[q] != '"' && s[q] != '\'') || !(flags = string_prefix(s + p, q - p)))
                goto token;
            goto string;
        }
        switch (c) {
        case ' ':
        case '\t':
        case '\f':
            p = skip_blanks(s, q, n);
            continue;
        case '\n':
        case '\r':
            if (!lx->depth && !lx->overflow && lx->line_has_tokens) {
                t->kind = TOKEN_NEWLINE;
                t->start = p;
                t->line = lx->last_line;
                t->first = t->indent0 = false;
                t->end = lx->pos = pass_newline(lx, p);
                lx->line_has_tokens = false;
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
        case '#':
            p = skip_comment(s, q, n);
            continue;
        case '\\':
            if (q < n && (s[q] == '\n' || s[q] == '\r')) {
                p = pass_newline(lx, q);
                continue;
            }
            lexer_problem(lx, p, "unexpected character after line continuation character");
            kind = TOKEN_OTHER;
            break;
        case '"':
        case '\'':
            q = p;
        string:
            if (keep) {
                t->start = start;
                t->line = line;
                t->line_start = line_start;
                t->first = !lx->line_has_tokens;
                t->indent0 = start == line_start || s[start - 1] == '\f';
            }
            if (start_string(lx, start, q, flags)) {
                lx->line_has_tokens |= keep;
                p = lx->pos;
                continue;
            }
            q = lx->pos;
            kind = TOKEN_STRING;
            break;
        case '.':
            if (q >= n || !(byte_class[s[q]] & C_DIGIT))
                break;
            /* fall through */
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
            kind = TOKEN_NUMBER;
            while (q < n && ((byte_class[s[q]] & C_NAME) || s[q] == '.' ||
                             ((s[q] == '+' || s[q] == '-') && (s[q - 1] | 0x20) == 'e')))
                q++;
            break;
        case '(':
        case '[':
        case '{':
            if (!push_frame(lx, FRAME_BRACKET, p, c))
                lx->overflow++;
            break;
        case ')':
        case ']':
        case '}':
            close_bracket(lx, p, c);
            break;
        case ':':
            if (lx->depth && lx->frames[lx->depth - 1].kind == FRAME_FIELD) {
                lx->frames[lx->depth - 1].spec = true;
                p = q;
                continue;
            }
            if (q < n && s[q] == '=')
                op = 'O', q++;
            break;
        case ';':
        case ',':
            break;
        case '=':
        case '*':
        case '+':
        case '-':
        case '/':
        case '%':
        case '&':
        case '|':
        case '^':
        case '<':
        case '>':
        case '!':
        case '@':
        case '~':
            if (q < n && s[q] == '=')
                q++;
            if (q > p + 1 || (c != '=' && c != '*'))
                op = 'O';
            break;
        default:
            kind = TOKEN_OTHER;
        }
    token:
        p = q;
        if (!keep)
            continue;
        lx->last_line = lx->line;
        if (all || (kind == TOKEN_OP && (op == ';' || op == ':' || op == '=') && !lx->depth &&
                    !lx->overflow)) {
            t->kind = kind;
            t->op = op;
            t->start = start;
            t->end = q;
            t->line = line;
            t->line_start = line_start;
            t->first = !lx->line_has_tokens;
            t->indent0 = start == line_start || s[start - 1] == '\f';
            lx->line_has_tokens = true;
            lx->pos = q;
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

/* `import a.b as c, d` at t (the keyword); leaves t at the first token after it. */
static void parse_import(struct lexer *lx, struct token *t)
{
    const struct token keyword = *t;
    next_token(lx, t);
    for (;;) {
        struct strbuf module = STRBUF_INIT;
        if (!parse_dotted(lx, t, &module)) {
            strbuf_release(&module);
            return;
        }
        add_import(lx->ps, &keyword, 0, &module, NULL, 0);
        skip_alias(lx, t);
        if (!is_op(t, ','))
            return;
        next_token(lx, t);
    }
}

/* `from ..a.b import (c as d, e)` at t (the keyword); leaves t after it. */
static void parse_from(struct lexer *lx, struct token *t)
{
    const struct token keyword = *t;
    struct strbuf module = STRBUF_INIT;
    VEC(char *) names = {0};
    int level = 0;
    next_token(lx, t);
    for (; is_op(t, '.'); next_token(lx, t))
        level++;
    if (t->kind == TOKEN_NAME && !IS_WORD(lx, t, "import") && !parse_dotted(lx, t, &module))
        goto out;
    if ((!level && !module.len) || !IS_WORD(lx, t, "import"))
        goto out;
    next_token(lx, t);
    if (is_op(t, '*')) {
        VEC_PUSH(&names, xstrdup("*"));
        next_token(lx, t);
    } else {
        bool paren = is_op(t, '(');
        if (paren)
            next_token(lx, t);
        while (t->kind == TOKEN_NAME) {
            VEC_PUSH(&names, xstrndup((const char *)lx->src + t->start, t->end - t->start));
            next_token(lx, t);
            skip_alias(lx, t);
            if (!is_op(t, ','))
                break;
            next_token(lx, t);
        }
        if (paren && is_op(t, ')'))
            next_token(lx, t);
    }
    if (names.len) {
        add_import(lx->ps, &keyword, level, &module, names.items, names.len);
        return;
    }
out:
    strbuf_release(&module);
    VEC_FREE(&names);
}

/* Whether the first token of a logical line opens a compound statement, whose first
 * ':' outside brackets ends the header. */
static bool is_compound(const struct lexer *lx, const struct token *t)
{
    static const char *const words[] = {"if",  "elif",   "else",    "while", "for",   "try",
                                        "def", "except", "finally", "with",  "class", "async"};
    size_t len = t->end - t->start;
    if (t->kind != TOKEN_NAME || len < 2 || len > 7 || !memchr("iewftdca", lx->src[t->start], 8))
        return false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == len && memcmp(lx->src + t->start, words[i], len) == 0)
            return true;
    return false;
}

/* Whether t can begin the subject of `match` or the pattern of `case`. */
static bool starts_subject(const struct token *t)
{
    if (t->kind == TOKEN_OP)
        return t->op == '(' || t->op == '[' || t->op == '{' || t->op == '*' || t->op == 'O';
    return t->kind == TOKEN_NAME || t->kind == TOKEN_NUMBER || t->kind == TOKEN_STRING;
}

/* The assignment being recognised. */
enum pending { PENDING_NONE, PENDING_ANNOTATION, PENDING_ASSIGNMENT };

static void finish_statement(struct pyscan *ps, enum pending *pending, struct pyscan_stmt *stmt,
                             size_t end, unsigned end_line)
{
    if (*pending == PENDING_ASSIGNMENT) {
        stmt->end = end;
        stmt->end_line = end_line;
        VEC_PUSH(&ps->assignments, *stmt);
    }
    *pending = PENDING_NONE;
}

/* The statement recognizer: imports anywhere, assignments at module level. */
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
            finish_statement(ps, &pending, &stmt, t.end, t.line);
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
            if (IS_WORD(lx, &t, "import")) {
                parse_import(lx, &t);
                continue;
            }
            if (IS_WORD(lx, &t, "from")) {
                parse_from(lx, &t);
                continue;
            }
            if (t.kind == TOKEN_NAME && !compound) {
                const struct token name = t;
                next_token(lx, &t);
                if (module_level && !in_body && (is_op(&t, '=') || is_op(&t, ':'))) {
                    pending = is_op(&t, '=') ? PENDING_ASSIGNMENT : PENDING_ANNOTATION;
                    stmt = (struct pyscan_stmt){name.start, 0,          name.line,
                                                0,          name.start, name.end - name.start};
                } else if (name.first &&
                           (IS_WORD(lx, &name, "match") || IS_WORD(lx, &name, "case"))) {
                    compound = starts_subject(&t);
                }
                continue;
            }
        }
        if (t.kind == TOKEN_OP && lx->depth == 0 && lx->overflow == 0) {
            if (t.op == ';') {
                finish_statement(ps, &pending, &stmt, t.end, t.line);
                stmt_start = true;
            } else if (t.op == ':' && compound && !in_body) {
                in_body = stmt_start = true;
            } else if (t.op == '=' && pending == PENDING_ANNOTATION) {
                pending = PENDING_ASSIGNMENT;
            }
        }
        lex(lx, &t, stmt_start);
    }
    finish_statement(ps, &pending, &stmt, t.end, t.line);
}

/* Offset of the first invalid UTF-8 sequence in s, or n. */
static size_t find_invalid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t word;
        if (i + 8 <= n) {
            memcpy(&word, s + i, 8);
            if (!(word & UINT64_C(0x8080808080808080))) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need = 2;
        unsigned char low = 0x80, high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c == 0xE0)
            low = 0xA0;
        else if (c == 0xED)
            high = 0x9F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, low = c == 0xF0 ? 0x90 : 0x80, high = c == 0xF4 ? 0x8F : 0xBF;
        else if (c < 0xE1 || c > 0xEF)
            return i;
        if (n - i <= need || s[i + 1] < low || s[i + 1] > high)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return n;
}

/* Add a problem at offset, working out its line and column from the start. */
static void add_problem_at(struct pyscan *ps, const unsigned char *s, size_t n, size_t first,
                           size_t offset, const char *message)
{
    unsigned line = 1;
    size_t line_start = first;
    for (size_t i = first; i < offset; i++) {
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))) {
            line++;
            line_start = i + 1;
        }
    }
    struct pyscan_problem problem = {line, (unsigned)(offset - line_start + 1), offset, message};
    VEC_PUSH(&ps->problems, problem);
}

void pyscan_init(struct pyscan *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->config_index = -1;
}

int pyscan_run(struct pyscan *ps, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t first = len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    struct lexer lx = {
        .src = s, .len = len, .pos = first, .line = 1, .line_start = first, .ps = ps};
    pyscan_release(ps);
    scan_statements(&lx);

    const unsigned char *nul = len ? memchr(s, 0, len) : NULL;
    size_t bad = find_invalid_utf8(s, len);
    if (nul)
        add_problem_at(ps, s, len, first, (size_t)(nul - s), "NUL byte");
    if (bad < len)
        add_problem_at(ps, s, len, first, bad, "invalid UTF-8");
    for (size_t i = 1; i < ps->problems.len; i++) {
        struct pyscan_problem problem = ps->problems.items[i];
        size_t j = i;
        for (; j > 0 && ps->problems.items[j - 1].offset > problem.offset; j--)
            ps->problems.items[j] = ps->problems.items[j - 1];
        ps->problems.items[j] = problem;
    }
    if (ps->problems.len > PYSCAN_MAX_PROBLEMS)
        ps->problems.len = PYSCAN_MAX_PROBLEMS;

    for (const unsigned char *p = s;
         !ps->mentions_config && len >= 11 && (p = memchr(p, 'S', len - 10 - (size_t)(p - s))); p++)
        ps->mentions_config = memcmp(p, "STAU_CONFIG", 11) == 0;
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
    pyscan_init(ps);
}
