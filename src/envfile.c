/* envfile.c: reading the project's .env (the forms are in envfile.h). */
#include "envfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the parser is: the text, the byte it looks at, and that byte's line and column. */
struct cursor {
    const char *text;
    size_t len, at;
    uint32_t line, col;
    const char *path;
    struct diags *diags;
};

static bool at_end(const struct cursor *c)
{
    return c->at >= c->len;
}

static char peek(const struct cursor *c)
{
    return at_end(c) ? '\0' : c->text[c->at];
}

static void advance(struct cursor *c)
{
    if (at_end(c))
        return;
    if (c->text[c->at++] == '\n')
        c->line++, c->col = 1;
    else
        c->col++;
}

static void skip_blanks(struct cursor *c)
{
    while (peek(c) == ' ' || peek(c) == '\t')
        advance(c);
}

/* Whether the line ends here: its end, or a '\r' before it. */
static bool at_line_end(const struct cursor *c)
{
    char ch = peek(c);
    return at_end(c) || ch == '\n' ||
           (ch == '\r' && (c->at + 1 >= c->len || c->text[c->at + 1] == '\n'));
}

static void skip_line(struct cursor *c)
{
    while (!at_end(c) && peek(c) != '\n')
        advance(c);
    advance(c);
}

/* The rest of the line (without '\r'), for a message. */
static char *rest_of_line(const struct cursor *c, size_t from)
{
    size_t end = from;
    while (end < c->len && c->text[end] != '\n')
        end++;
    if (end > from && c->text[end - 1] == '\r')
        end--;
    return xstrndup(c->text + from, end - from);
}

static struct loc here(const struct cursor *c, size_t width)
{
    return (struct loc){c->line, c->col, c->line, c->col + (uint32_t)(width ? width : 1)};
}

/* An error at the cursor; the line is skipped. -1. */
static int fail_here(struct cursor *c, size_t width, const char *hint, const char *fmt,
                     const char *arg)
{
    diag_add(c->diags, DIAG_ERROR, c->path, here(c, width), fmt, arg);
    if (hint)
        diag_hint(c->diags, "%s", hint);
    skip_line(c);
    return -1;
}

static bool key_start(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool key_char(char ch)
{
    return key_start(ch) || (ch >= '0' && ch <= '9');
}

/* After a closing quote: blanks, then the line's end or a comment. */
static int after_quote(struct cursor *c)
{
    skip_blanks(c);
    if (peek(c) == '#' || at_line_end(c)) {
        skip_line(c);
        return 0;
    }
    char *rest = rest_of_line(c, c->at);
    int rc =
        fail_here(c, strlen(rest), "quote the whole value, or write a comment as ' # ...' after it",
                  "text after the closing quote: '%s'", rest);
    free(rest);
    return rc;
}

/* A quoted value, the cursor on its opening quote, into value. */
static int quoted(struct cursor *c, struct strbuf *value)
{
    char quote = peek(c);
    struct loc open = here(c, 1);
    advance(c);
    while (!at_end(c) && peek(c) != quote) {
        char ch = peek(c);
        if (quote == '"' && ch == '\\' && c->at + 1 < c->len) {
            char next = c->text[c->at + 1];
            const char *undone = next == 'n'    ? "\n"
                                 : next == 't'  ? "\t"
                                 : next == 'r'  ? "\r"
                                 : next == '"'  ? "\""
                                 : next == '\\' ? "\\"
                                 : next == '$'  ? "$"
                                                : NULL;
            if (undone) {
                strbuf_addstr(value, undone);
                advance(c);
                advance(c);
                continue;
            }
        }
        /* A value spanning lines keeps its line ends as '\n'. */
        if (!(ch == '\r' && c->at + 1 < c->len && c->text[c->at + 1] == '\n'))
            strbuf_addch(value, ch);
        advance(c);
    }
    if (at_end(c)) {
        diag_add(c->diags, DIAG_ERROR, c->path, open, "unclosed %s quote",
                 quote == '"' ? "double" : "single");
        diag_hint(c->diags, "close it with %c; a value may span lines, up to its closing quote",
                  quote);
        return -1;
    }
    advance(c);
    return after_quote(c);
}

/* An unquoted value: the rest of the line up to a " #" comment, blanks trimmed. */
static void unquoted(struct cursor *c, struct strbuf *value)
{
    size_t kept = 0;
    bool blank_before = false; /* "KEY=#x" is "#x", as python-dotenv reads it */
    while (!at_line_end(c)) {
        char ch = peek(c);
        if (ch == '#' && blank_before)
            break;
        strbuf_addch(value, ch);
        blank_before = ch == ' ' || ch == '\t';
        if (!blank_before)
            kept = value->len;
        advance(c);
    }
    value->len = kept;
    if (value->buf)
        value->buf[kept] = '\0';
    skip_line(c);
}

/* Put "KEY=VALUE" in out, replacing an earlier one of the same key. */
static void put(struct strlist *out, const char *key, size_t key_len, const char *value)
{
    char *entry = xprintf("%.*s=%s", (int)key_len, key, value);
    for (size_t i = 0; i < out->len; i++)
        if (strncmp(out->items[i], entry, key_len + 1) == 0) {
            free(out->items[i]);
            out->items[i] = entry;
            return;
        }
    VEC_PUSH(out, entry);
}

/* One line (or a quoted value's lines) at the cursor; -1 after an error. */
static int parse_line(struct cursor *c, struct strlist *out)
{
    skip_blanks(c);
    if (peek(c) == '#' || at_line_end(c)) {
        skip_line(c);
        return 0;
    }
    if (c->len - c->at > 7 && strncmp(c->text + c->at, "export", 6) == 0 &&
        (c->text[c->at + 6] == ' ' || c->text[c->at + 6] == '\t')) {
        for (int i = 0; i < 6; i++)
            advance(c);
        skip_blanks(c);
    }
    size_t key_at = c->at;
    struct cursor key_pos = *c;
    while (!at_end(c) && key_char(peek(c)))
        advance(c);
    size_t key_len = c->at - key_at;
    skip_blanks(c);
    if (!key_len || !key_start(c->text[key_at]) || peek(c) != '=') {
        /* What stands where a name and '=' should. */
        size_t word_end = key_at;
        while (word_end < c->len && c->text[word_end] != '=' && c->text[word_end] != '\n' &&
               c->text[word_end] != ' ' && c->text[word_end] != '\t' && c->text[word_end] != '\r')
            word_end++;
        char *word = xstrndup(c->text + key_at, word_end - key_at);
        char *line = rest_of_line(c, key_at);
        int rc;
        *c = key_pos;
        if (word_end < c->len && c->text[word_end] == '=' && word_end > key_at)
            rc = fail_here(c, word_end - key_at,
                           "a name is letters, digits and '_', not starting with a digit",
                           "'%s' is not a variable name", word);
        else if (!strchr(line, '='))
            rc = fail_here(c, strlen(line), "write KEY=VALUE, or '# ...' for a comment",
                           "expected KEY=VALUE, not '%s'", line);
        else
            rc = fail_here(c, strlen(line),
                           "a name is letters, digits and '_', not starting with a digit, "
                           "then '='",
                           "expected a variable name before '=' in '%s'", line);
        free(word);
        free(line);
        return rc;
    }
    /* stau sets its own for each run (STAU_RUN_ID, ...): they are not the file's. */
    bool own = key_len > 5 && strncmp(c->text + key_at, "STAU_", 5) == 0;
    if (own) {
        char *key = xstrndup(c->text + key_at, key_len);
        diag_add(c->diags, DIAG_WARNING, c->path, here(&key_pos, key_len),
                 "'%s' is ignored: variables named STAU_* are stau's own", key);
        diag_hint(c->diags, "stau sets them for each run; the env file is for the jobs' variables");
        free(key);
    }
    advance(c); /* '=' */
    skip_blanks(c);
    struct strbuf value = STRBUF_INIT;
    int rc = 0;
    if (peek(c) == '"' || peek(c) == '\'')
        rc = quoted(c, &value);
    else
        unquoted(c, &value);
    if (rc == 0 && !own)
        put(out, c->text + key_at, key_len, strbuf_str(&value));
    strbuf_release(&value);
    return rc;
}

int envfile_parse(const char *text, size_t len, const char *path, struct strlist *out,
                  struct diags *diags)
{
    struct cursor c = {text, len, 0, 1, 1, path, diags};
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        c.at = 3; /* a UTF-8 byte order mark */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        while (c.at < (size_t)(nul - text))
            advance(&c);
        diag_add(diags, DIAG_ERROR, path, here(&c, 1), "a NUL byte, which no variable may hold");
        diag_hint(diags, "an env file is text: KEY=VALUE lines");
        return -1;
    }
    int rc = 0;
    while (!at_end(&c))
        if (parse_line(&c, out) < 0)
            rc = -1;
    return rc;
}

int envfile_load(const char *root, const char *setting, struct envfile *out, struct diags *diags)
{
    memset(out, 0, sizeof(*out));
    const char *path = setting ? setting : ENVFILE_DEFAULT;
    char *full = xprintf("%s/%s", root, path);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    free(full);
    if (fd < 0 && errno == ENOENT && !setting)
        return 0;
    struct strbuf text = STRBUF_INIT;
    if (fd < 0 || strbuf_read_fd(&text, fd) < 0) {
        diag_add(diags, DIAG_ERROR, path, (struct loc){0}, "cannot read the env file: %s",
                 strerror(errno));
        if (setting)
            diag_hint(diags, "[tool.stau] env_file in pyproject.toml names it; make the file, "
                             "or remove the setting");
        if (fd >= 0)
            close(fd);
        strbuf_release(&text);
        return -1;
    }
    close(fd);
    struct strlist all = {0};
    int rc = envfile_parse(strbuf_str(&text), text.len, path, &all, diags);
    strbuf_release(&text);
    struct strbuf names = STRBUF_INIT;
    if (rc == 0) {
        out->entries = xcalloc(all.len + 1, sizeof(char *));
        for (size_t i = 0; i < all.len; i++) {
            size_t key_len = strcspn(all.items[i], "=");
            char *key = xstrndup(all.items[i], key_len);
            bool real = getenv(key) != NULL; /* the real environment wins */
            if (!real) {
                out->entries[out->count++] = all.items[i];
                all.items[i] = NULL;
                strbuf_addch(&names, names.len ? ',' : '[');
                json_quote(&names, key, key_len);
            }
            free(key);
        }
        if (names.len) {
            strbuf_addch(&names, ']');
            out->names_json = strbuf_detach(&names);
        }
    }
    for (size_t i = 0; i < all.len; i++)
        free(all.items[i]);
    VEC_FREE(&all);
    strbuf_release(&names);
    if (rc == 0 && !out->count) {
        free(out->entries);
        out->entries = NULL;
    }
    return rc;
}

void envfile_release(struct envfile *e)
{
    for (size_t i = 0; i < e->count; i++)
        free(e->entries[i]);
    free(e->entries);
    free(e->names_json);
    memset(e, 0, sizeof(*e));
}
