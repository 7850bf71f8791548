/* diag.c: located diagnostics and their printing. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int diag_add(struct diags *d, enum diag_severity severity, const char *path, struct loc loc,
             const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    struct diag diag = {severity, path ? xstrdup(path) : NULL, loc, strbuf_detach(&sb), NULL};
    VEC_PUSH(&d->items, diag);
    if (severity == DIAG_ERROR)
        d->errors++;
    else if (severity == DIAG_WARNING)
        d->warnings++;
    return severity == DIAG_ERROR ? -1 : 0;
}

void diag_hint(struct diags *d, const char *fmt, ...)
{
    if (!d->items.len)
        return;
    struct diag *last = &d->items.items[d->items.len - 1];
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    free(last->hint);
    last->hint = strbuf_detach(&sb);
}

void diag_append(struct diags *dst, const struct diags *src)
{
    for (size_t i = 0; i < src->items.len; i++) {
        const struct diag *s = &src->items.items[i];
        diag_add(dst, s->severity, s->path, s->loc, "%s", s->message);
        if (s->hint)
            diag_hint(dst, "%s", s->hint);
    }
}

void diag_release(struct diags *d)
{
    for (size_t i = 0; i < d->items.len; i++) {
        free(d->items.items[i].path);
        free(d->items.items[i].message);
        free(d->items.items[i].hint);
    }
    VEC_FREE(&d->items);
    d->errors = d->warnings = 0;
}

/* Read line number `line` of root/path into sb; false when the file or line is missing. */
static bool read_source_line(const char *root, const char *path, uint32_t line, struct strbuf *sb)
{
    char *full = xprintf("%s/%s", root, path);
    FILE *f = fopen(full, "rb");
    free(full);
    if (!f)
        return false;
    uint32_t at = 1;
    int c;
    bool found = false;
    while ((c = getc(f)) != EOF) {
        if (at == line) {
            found = true;
            if (c == '\n' || c == '\r')
                break;
            strbuf_addch(sb, (char)c);
            if (sb->len > 400) /* enough context; keep minified files from flooding */
                break;
        } else if (c == '\n') {
            at++;
        } else if (at > line) {
            break;
        }
    }
    if (at == line)
        found = true;
    fclose(f);
    return found;
}

/* Columns as a terminal shows them: continuation bytes of UTF-8 take no column, tabs stay tabs. */
static void put_pad(FILE *out, const char *line, size_t upto)
{
    for (size_t i = 0; i < upto && line[i]; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\t')
            fputc('\t', out);
        else if ((c & 0xC0) != 0x80)
            fputc(' ', out);
    }
}

static size_t display_width(const char *s, size_t from, size_t to)
{
    size_t w = 0;
    for (size_t i = from; i < to && s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

/* s as text safe on a terminal (control characters escaped), in sb. */
static const char *safe_text(struct strbuf *sb, const char *s, size_t len)
{
    strbuf_reset(sb);
    strbuf_add_terminal_text(sb, s, len);
    return strbuf_str(sb);
}

/* diag_print, the source line and caret left out when show_source is false. */
static void print_one(FILE *out, const struct diag_printer *p, const struct diag *d,
                      bool show_source)
{
    static const char *names[] = {"error", "warning", "note"};
    static const char *colors[] = {"\033[1;31m", "\033[1;35m", "\033[1;36m"};
    const char *bold = p->color ? "\033[1m" : "", *reset = p->color ? "\033[0m" : "";
    uint32_t col = d->loc.col ? d->loc.col : 1;
    struct strbuf safe = STRBUF_INIT;
    if (d->path) {
        fprintf(out, "%s%s%s", bold, p->prefix, safe_text(&safe, d->path, strlen(d->path)));
        if (d->loc.line)
            fprintf(out, ":%u:%u", d->loc.line, col);
        fprintf(out, ":%s ", reset);
    } else {
        fprintf(out, "stau: ");
    }
    fprintf(out, "%s%s:%s %s\n", p->color ? colors[d->severity] : "", names[d->severity], reset,
            safe_text(&safe, d->message, strlen(d->message)));
    struct strbuf src = STRBUF_INIT;
    if (show_source && d->path && d->loc.line &&
        read_source_line(p->root, d->path, d->loc.line, &src)) {
        /* Editors hide a UTF-8 byte-order mark, and columns already leave it out
         * (the parser skips it): so does the line shown. */
        const char *line = strbuf_str(&src);
        if (d->loc.line == 1 && starts_with(line, "\xef\xbb\xbf"))
            line += 3;
        size_t len = strlen(line);
        size_t at = col - 1;
        if (at > len)
            at = len;
        size_t end = d->loc.end_line == d->loc.line && d->loc.end_col > d->loc.col
                         ? d->loc.end_col - 1
                         : at + 1;
        if (end > len)
            end = len > at ? len : at + 1;
        /* Escaped piece by piece, so that the caret still points where it should. */
        struct strbuf before = STRBUF_INIT, marked = STRBUF_INIT, after = STRBUF_INIT;
        size_t stop = end < len ? end : len; /* the caret may stand past the line's end */
        strbuf_add_terminal_text(&before, line, at);
        strbuf_add_terminal_text(&marked, line + at, stop - at);
        strbuf_add_terminal_text(&after, line + stop, len - stop);
        fprintf(out, " %5u | %s%s%s\n       | ", d->loc.line, strbuf_str(&before),
                strbuf_str(&marked), strbuf_str(&after));
        put_pad(out, strbuf_str(&before), before.len);
        size_t width = display_width(strbuf_str(&marked), 0, marked.len);
        if (!width)
            width = 1;
        strbuf_release(&before);
        strbuf_release(&marked);
        strbuf_release(&after);
        fprintf(out, "%s^", p->color ? colors[d->severity] : "");
        for (size_t i = 1; i < width; i++)
            fputc('~', out);
        fprintf(out, "%s\n", reset);
    }
    strbuf_release(&src);
    if (d->hint)
        fprintf(out, "  %shint:%s %s\n", bold, reset, safe_text(&safe, d->hint, strlen(d->hint)));
    strbuf_release(&safe);
}

void diag_print(FILE *out, const struct diag_printer *p, const struct diag *d)
{
    print_one(out, p, d, true);
}

/* Whether b is about the very place a is. */
static bool same_place(const struct diag *a, const struct diag *b)
{
    return a->path && b->path && strcmp(a->path, b->path) == 0 && a->loc.line == b->loc.line &&
           a->loc.col == b->loc.col && a->loc.end_line == b->loc.end_line &&
           a->loc.end_col == b->loc.end_col;
}

void diag_print_all(FILE *out, const struct diag_printer *p, const struct diags *d)
{
    for (size_t i = 0; i < d->items.len; i++) {
        const struct diag *at = &d->items.items[i];
        /* A note about the place just shown does not show it again. */
        bool again = i && at->severity == DIAG_NOTE && same_place(&d->items.items[i - 1], at);
        print_one(out, p, at, !again);
    }
}
