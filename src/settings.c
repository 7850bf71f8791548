/* settings.c: finding the project root, and reading [tool.stau]. */
#include "settings.h"

#include "paths.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A pyproject.toml is a few KB; anything this big is not one stau should read. */
enum { MAX_SETTINGS_SIZE = 1 << 20 };

const char *const settings_keys[] = {"jobs_root",   "jobs",      "python",    "retries",
                                     "retry_delay", "log_limit", "keep_days", "keep_last",
                                     "env_file",    NULL};

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The whole of a regular file no bigger than MAX_SETTINGS_SIZE; -1 when there is none
 * (errno ENOENT) or it cannot be read. */
static int read_small_file(const char *path, struct strbuf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            errno = EISDIR;
        else if (st.st_size > MAX_SETTINGS_SIZE)
            errno = EFBIG;
        else
            rc = strbuf_read_fd(out, fd);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* A reader over the file's text, one token at a time, tracking line and column. */
struct reader {
    const char *s, *end;
    uint32_t line;
    const char *line_start;
};

static struct loc here(const struct reader *r, const char *from, const char *to)
{
    struct loc l = {r->line, (uint32_t)(from - r->line_start) + 1, r->line,
                    (uint32_t)(to - r->line_start) + 1};
    return l;
}

static void skip_blank(struct reader *r)
{
    while (r->s < r->end && (*r->s == ' ' || *r->s == '\t'))
        r->s++;
}

static void next_line(struct reader *r)
{
    while (r->s < r->end && *r->s != '\n')
        r->s++;
    if (r->s < r->end) {
        r->s++;
        r->line++;
        r->line_start = r->s;
    }
}

static bool at_line_end(const struct reader *r)
{
    return r->s >= r->end || *r->s == '\n' || *r->s == '#' ||
           (*r->s == '\r' && r->s + 1 < r->end && r->s[1] == '\n');
}

/* Skip a value of a table stau does not read: strings (multi-line ones too) and
 * arrays spanning lines, so nothing inside them looks like a table header. */
static void skip_value(struct reader *r)
{
    int depth = 0;
    while (r->s < r->end) {
        char c = *r->s;
        if (c == '"' || c == '\'') {
            bool triple = r->end - r->s >= 3 && r->s[1] == c && r->s[2] == c;
            r->s += triple ? 3 : 1;
            while (r->s < r->end) {
                if (*r->s == '\\' && c == '"' && r->s + 1 < r->end) {
                    r->s += 2;
                    continue;
                }
                if (*r->s == '\n') {
                    if (!triple)
                        break;
                    r->line++;
                    r->line_start = r->s + 1;
                }
                if (*r->s == c &&
                    (!triple || (r->end - r->s >= 3 && r->s[1] == c && r->s[2] == c))) {
                    r->s += triple ? 3 : 1;
                    break;
                }
                r->s++;
            }
            continue;
        }
        if (c == '#') {
            while (r->s < r->end && *r->s != '\n')
                r->s++;
            continue;
        }
        if (c == '[' || c == '{')
            depth++;
        else if ((c == ']' || c == '}') && depth > 0)
            depth--;
        else if (c == '\n') {
            if (depth == 0)
                return;
            r->line++;
            r->line_start = r->s + 1;
        }
        r->s++;
    }
}

/* A table header's name with the blanks around its dots removed, as "tool.stau". */
static char *header_name(const char *from, const char *to)
{
    struct strbuf sb = STRBUF_INIT;
    for (const char *p = from; p < to; p++)
        if (*p != ' ' && *p != '\t' && *p != '"')
            strbuf_add(&sb, p, 1);
    return strbuf_detach(&sb);
}

/* Position r after the [tool.stau] header line; false when the text has none. */
static bool find_table(struct reader *r)
{
    while (r->s < r->end) {
        skip_blank(r);
        if (r->s < r->end && *r->s == '[') {
            bool array = r->s + 1 < r->end && r->s[1] == '[';
            const char *from = r->s + (array ? 2 : 1), *close = from;
            while (close < r->end && *close != ']' && *close != '\n')
                close++;
            if (!array && close < r->end && *close == ']') {
                char *name = header_name(from, close);
                bool found = strcmp(name, "tool.stau") == 0;
                free(name);
                if (found) {
                    next_line(r);
                    return true;
                }
            }
            next_line(r);
            continue;
        }
        if (at_line_end(r)) {
            next_line(r);
            continue;
        }
        skip_value(r); /* key = value of another table */
        next_line(r);
    }
    return false;
}

/* One value of [tool.stau]. */
enum toml_kind { TOML_STRING, TOML_INT, TOML_FLOAT, TOML_BOOL, TOML_OTHER };
struct toml_value {
    enum toml_kind kind;
    char *str; /* TOML_STRING */
    long long i;
    double f;
    bool b;
    struct loc loc;
};

static const char *kind_name(enum toml_kind k)
{
    switch (k) {
    case TOML_STRING:
        return "a string";
    case TOML_INT:
        return "an integer";
    case TOML_FLOAT:
        return "a float";
    case TOML_BOOL:
        return "a boolean";
    case TOML_OTHER:
        break;
    }
    return "an array or table";
}

/* A string literal at r->s (basic or literal, one line); -1 after a message. */
static int read_string(struct reader *r, struct toml_value *v, struct diags *d)
{
    const char *start = r->s;
    char quote = *r->s++;
    struct strbuf sb = STRBUF_INIT;
    while (r->s < r->end && *r->s != quote && *r->s != '\n') {
        if (quote == '"' && *r->s == '\\' && r->s + 1 < r->end) {
            const char *esc = r->s;
            char c = r->s[1], out = 0;
            switch (c) {
            case '"':
            case '\\':
                out = c;
                break;
            case 'n':
                out = '\n';
                break;
            case 't':
                out = '\t';
                break;
            default:
                strbuf_release(&sb);
                diag_add(d, DIAG_ERROR, SETTINGS_FILE, here(r, esc, esc + 2),
                         "stau reads only the escapes \\\" \\\\ \\n \\t in [tool.stau]");
                diag_hint(d, "write the path as a literal string in single quotes");
                return -1;
            }
            strbuf_add(&sb, &out, 1);
            r->s += 2;
            continue;
        }
        strbuf_add(&sb, r->s, 1);
        r->s++;
    }
    if (r->s >= r->end || *r->s != quote) {
        strbuf_release(&sb);
        diag_add(d, DIAG_ERROR, SETTINGS_FILE, here(r, start, r->s), "the string is not closed");
        diag_hint(d, "end it with %c on the same line", quote);
        return -1;
    }
    r->s++;
    v->kind = TOML_STRING;
    v->str = strbuf_detach(&sb);
    v->loc = here(r, start, r->s);
    return 0;
}

/* The value at r->s; -1 after a message. */
static int read_value(struct reader *r, struct toml_value *v, struct diags *d)
{
    memset(v, 0, sizeof(*v));
    if (r->s < r->end && (*r->s == '"' || *r->s == '\''))
        return read_string(r, v, d);
    const char *start = r->s;
    while (r->s < r->end && !at_line_end(r) && *r->s != ' ' && *r->s != '\t')
        r->s++;
    size_t len = (size_t)(r->s - start);
    v->loc = here(r, start, r->s);
    char *text = xstrndup(start, len);
    /* TOML allows _ between digits. */
    char *digits = xstrndup(start, len);
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '_')
            digits[k++] = text[i];
    digits[k] = '\0';
    char *endp = NULL;
    errno = 0;
    int rc = 0;
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        v->kind = TOML_BOOL;
        v->b = text[0] == 't';
    } else if (len && (v->i = strtoll(digits, &endp, 10), !*endp) && errno == 0) {
        v->kind = TOML_INT;
    } else if (len && (v->f = strtod(digits, &endp), !*endp) && isfinite(v->f) &&
               strspn(digits, "+-0123456789.eE") == k) {
        v->kind = TOML_FLOAT;
    } else if (len && (text[0] == '[' || text[0] == '{')) {
        v->kind = TOML_OTHER;
        r->s = start;
        skip_value(r);
        v->loc = here(r, start, start + 1);
    } else if (!len) {
        diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc, "no value after '='");
        diag_hint(d, "a [tool.stau] value is a \"string\", an integer, a number of seconds, true "
                     "or false");
        rc = -1;
    } else {
        diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc, "cannot read the value '%s'", text);
        diag_hint(d, "a [tool.stau] value is a \"string\", an integer, a number of seconds, true "
                     "or false");
        rc = -1;
    }
    free(text);
    free(digits);
    return rc;
}

/* Check one key's value and store it. */
static void take(struct settings *s, const char *key, struct loc key_loc, struct toml_value *v,
                 struct diags *d)
{
    const char *want = NULL;
    if (strcmp(key, "jobs_root") == 0 || strcmp(key, "python") == 0 ||
        strcmp(key, "env_file") == 0) {
        char **slot = key[0] == 'j' ? &s->jobs_root : key[0] == 'p' ? &s->python : &s->env_file;
        if (v->kind != TOML_STRING)
            want = "a string";
        else if (!v->str[0]) {
            diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc, "'%s' must not be empty", key);
            diag_hint(d, "remove the line to use the default");
            return;
        } else if (key[0] != 'p' && v->str[0] == '/') {
            diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc,
                     "'%s' must be a path relative to the project root, not '%s'", key, v->str);
            diag_hint(d, "name it from the folder holding pyproject.toml");
            return;
        } else {
            free(*slot);
            *slot = v->str;
            v->str = NULL;
            return;
        }
    } else if (strcmp(key, "jobs") == 0 || strcmp(key, "retries") == 0 ||
               strcmp(key, "keep_days") == 0 || strcmp(key, "keep_last") == 0) {
        long long min = strcmp(key, "jobs") == 0 ? 1 : 0;
        long long max = strcmp(key, "jobs") == 0      ? 1024
                        : strcmp(key, "retries") == 0 ? 100
                                                      : 1000000;
        if (v->kind != TOML_INT)
            want = "an integer";
        else if (v->i < min || v->i > max) {
            diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc,
                     "'%s' must be an integer from %lld to %lld, not %lld", key, min, max, v->i);
            return;
        } else if (strcmp(key, "jobs") == 0) {
            s->jobs = (long)v->i;
            return;
        } else if (strcmp(key, "retries") == 0) {
            s->retries = v->i;
            s->retries_given = true;
            return;
        } else if (strcmp(key, "keep_days") == 0) {
            s->keep_days = (long)v->i;
            s->keep_days_given = true;
            return;
        } else {
            s->keep_last = (long)v->i;
            s->keep_last_given = true;
            return;
        }
    } else if (strcmp(key, "log_limit") == 0) {
        uint64_t size = 0;
        bool ok = v->kind == TOML_INT ? v->i >= 0
                                      : v->kind == TOML_STRING && parse_size(v->str, &size) == 0 &&
                                            size <= INT64_MAX;
        if (v->kind != TOML_INT && v->kind != TOML_STRING)
            want = "a size (bytes, or a string such as \"64M\")";
        else if (!ok) {
            diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc,
                     "'log_limit' must be a size such as \"64M\", \"1G\" or 500000 (bytes); 0: "
                     "no limit");
            return;
        } else {
            s->log_limit = v->kind == TOML_INT ? v->i : (int64_t)size;
            s->log_limit_given = true;
            return;
        }
    } else if (strcmp(key, "retry_delay") == 0) {
        double secs = v->kind == TOML_INT ? (double)v->i : v->f;
        if (v->kind != TOML_INT && v->kind != TOML_FLOAT)
            want = "a number of seconds";
        else if (secs < 0 || secs > 86400 * 7) {
            diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc,
                     "'retry_delay' must be from 0 to 604800 seconds, not %g", secs);
            return;
        } else {
            s->retry_delay = secs;
            s->retry_delay_given = true;
            return;
        }
    } else {
        const char *suggestion = did_you_mean(key, settings_keys);
        diag_add(d, DIAG_WARNING, SETTINGS_FILE, key_loc,
                 "unknown key '%s' in [tool.stau]; ignored", key);
        if (suggestion)
            diag_hint(d, "did you mean '%s'?", suggestion);
        else
            diag_hint(d, "[tool.stau] takes jobs_root, jobs, python, retries, retry_delay, "
                         "log_limit, keep_days, keep_last and env_file");
        return;
    }
    diag_add(d, DIAG_ERROR, SETTINGS_FILE, v->loc, "'%s' must be %s, not %s", key, want,
             kind_name(v->kind));
}

int settings_read(const char *root, struct settings *out, struct diags *diags)
{
    memset(out, 0, sizeof(*out));
    char *path =
        strcmp(root, ".") == 0 ? xstrdup(SETTINGS_FILE) : xprintf("%s/%s", root, SETTINGS_FILE);
    struct strbuf text = STRBUF_INIT;
    static const struct loc whole = {0, 0, 0, 0};
    size_t errors_before = diags->errors;
    if (read_small_file(path, &text) < 0) {
        /* No file, or no project folder (the project's own load says so). */
        if (errno != ENOENT && errno != ENOTDIR)
            diag_add(diags, DIAG_ERROR, SETTINGS_FILE, whole, "cannot read it: %s",
                     errno == EFBIG ? "over 1 MB, not a pyproject.toml" : strerror(errno));
        free(path);
        strbuf_release(&text);
        return diags->errors > errors_before ? -1 : 0;
    }
    free(path);
    struct reader r = {text.buf, text.buf + text.len, 1, text.buf};
    if (!find_table(&r)) {
        strbuf_release(&text);
        return 0;
    }
    out->present = true;
    struct strlist seen = {0};
    while (r.s < r.end) {
        skip_blank(&r);
        if (at_line_end(&r)) {
            next_line(&r);
            continue;
        }
        if (*r.s == '[')
            break; /* the next table */
        const char *key_start = r.s;
        bool quoted = *r.s == '"';
        if (quoted)
            r.s++;
        const char *name_start = r.s;
        while (r.s < r.end && (isalnum((unsigned char)*r.s) || *r.s == '_' || *r.s == '-'))
            r.s++;
        const char *name_end = r.s;
        if (quoted && r.s < r.end && *r.s == '"')
            r.s++;
        char *key = xstrndup(name_start, (size_t)(name_end - name_start));
        struct loc key_loc = here(&r, key_start, r.s);
        skip_blank(&r);
        if (!key[0] || r.s >= r.end || *r.s != '=') {
            diag_add(diags, DIAG_ERROR, SETTINGS_FILE, key_loc.col ? key_loc : whole,
                     "expected key = value in [tool.stau]");
            diag_hint(diags, "write e.g. jobs_root = \"src\"");
            free(key);
            next_line(&r);
            continue;
        }
        r.s++;
        skip_blank(&r);
        bool known = false;
        for (size_t i = 0; settings_keys[i]; i++)
            known = known || strcmp(settings_keys[i], key) == 0;
        if (!known) {
            /* An unknown key is a warning whatever its value (a multi-line string,
             * an array): its value is skipped, not read. */
            struct toml_value none = {.kind = TOML_STRING};
            take(out, key, key_loc, &none, diags);
            free(key);
            skip_value(&r);
            next_line(&r);
            continue;
        }
        struct toml_value v;
        if (read_value(&r, &v, diags) == 0) {
            skip_blank(&r);
            bool dup = false;
            for (size_t i = 0; i < seen.len; i++)
                dup = dup || strcmp(seen.items[i], key) == 0;
            if (dup) {
                diag_add(diags, DIAG_ERROR, SETTINGS_FILE, key_loc, "'%s' is given twice", key);
                diag_hint(diags, "keep one of the lines");
            } else if (!at_line_end(&r)) {
                diag_add(diags, DIAG_ERROR, SETTINGS_FILE, here(&r, r.s, r.s + 1),
                         "unexpected text after the value");
                diag_hint(diags, "one key = value per line; a comment starts with #");
            } else {
                take(out, key, key_loc, &v, diags);
                VEC_PUSH(&seen, key);
                key = NULL;
            }
            free(v.str);
        }
        free(key);
        next_line(&r);
    }
    for (size_t i = 0; i < seen.len; i++)
        free(seen.items[i]);
    VEC_FREE(&seen);
    strbuf_release(&text);
    return diags->errors > errors_before ? -1 : 0;
}

void settings_release(struct settings *s)
{
    free(s->jobs_root);
    free(s->python);
    free(s->env_file);
    memset(s, 0, sizeof(*s));
}

/* Whether dir/pyproject.toml has a [tool.stau] table. */
static bool has_settings(const char *dir)
{
    char *path = xprintf("%s/%s", dir, SETTINGS_FILE);
    struct strbuf text = STRBUF_INIT;
    bool found = false;
    if (read_small_file(path, &text) == 0) {
        struct reader r = {text.buf, text.buf + text.len, 1, text.buf};
        found = find_table(&r);
    }
    free(path);
    strbuf_release(&text);
    return found;
}

static bool is_root(const char *dir)
{
    char *state = xprintf("%s/%s", dir, PATHS_STATE_DIR);
    bool found = is_dir(state) || has_settings(dir);
    free(state);
    return found;
}

char *settings_find_root(void)
{
    char *dir = getcwd(NULL, 0);
    if (!dir)
        return xstrdup(".");
    const char *home = getenv("HOME");
    int up = 0, out_of_src = -1;
    bool found = false;
    for (;;) {
        /* A home folder is a boundary: a stray ~/.stau never makes it the project
         * of everything below. */
        if (up > 0 && home && home[0] == '/' && strcmp(dir, home) == 0)
            break;
        if (is_root(dir)) {
            found = true;
            break;
        }
        /* A git work tree's root ends the walk: stau never looks above it. */
        char *git = xprintf("%s/.git", dir), *src = xprintf("%s/src", dir);
        bool git_root = access(git, F_OK) == 0, jobs = is_dir(src);
        free(git);
        free(src);
        /* A start folder with a jobs root is the project (a copy of an example
         * inside a checkout or another project stays its own project). */
        if (git_root || (up == 0 && jobs)) {
            found = jobs;
            break;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        /* Coming up out of D/src: D is the project if nothing marked is found. */
        if (out_of_src < 0 && strcmp(slash + 1, "src") == 0)
            out_of_src = up + 1;
        *slash = '\0';
        up++;
    }
    free(dir);
    if (!found && out_of_src > 0) {
        found = true;
        up = out_of_src;
    }
    if (!found || up == 0)
        return xstrdup(".");
    struct strbuf rel = STRBUF_INIT;
    for (int i = 0; i < up; i++)
        strbuf_addf(&rel, "%s..", i ? "/" : "");
    return strbuf_detach(&rel);
}
