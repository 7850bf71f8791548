/* util.c: messages, checked allocation, growable strings and arrays, tables. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Where messages go instead of stderr (stau serve's --json-log); set once at start.
 * Process-wide as git's error routines are: a message may come from any thread. */
static size_t escape_step(const unsigned char *s, size_t len, bool text, char out[16],
                          size_t *out_len);

static message_sink_fn *message_sink;
static void *message_sink_ctx;

void set_message_sink(message_sink_fn *fn, void *ctx)
{
    message_sink = fn;
    message_sink_ctx = ctx;
}

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
    int saved = errno;
    size_t n = strlen(fmt);
    char text[4096];
    int len = vsnprintf(text, sizeof(text), fmt, ap);
    if (len < 0)
        len = 0;
    if ((size_t)len >= sizeof(text))
        len = (int)sizeof(text) - 1;
    if (n > 0 && fmt[n - 1] == ':')
        len += snprintf(text + len, sizeof(text) - (size_t)len, " %s", strerror(saved));
    if ((size_t)len >= sizeof(text))
        len = (int)sizeof(text) - 1;
    /* A name or value quoted in a message must not drive the terminal. Escaped into
     * a fixed buffer: this path must not allocate (fatal reports exhaustion). */
    char safe[sizeof(text)];
    if (needs_terminal_escape(text, (size_t)len)) {
        size_t used = 0;
        char piece[16];
        for (size_t i = 0; i < (size_t)len;) {
            size_t got;
            i += escape_step((const unsigned char *)text + i, (size_t)len - i, true, piece, &got);
            if (used + got >= sizeof(safe))
                break;
            memcpy(safe + used, piece, got);
            used += got;
        }
        safe[used] = '\0';
        memcpy(text, safe, used + 1);
        len = (int)used;
    }
    if (message_sink) {
        message_sink(kind, text, message_sink_ctx);
        return;
    }
    /* One write, so a message from another thread never splits a line. */
    char line[4200];
    int total = snprintf(line, sizeof(line), "stau: %s: %s\n", kind, text);
    if (total > 0) {
        size_t size = (size_t)total < sizeof(line) ? (size_t)total : sizeof(line) - 1;
        ssize_t written = write(STDERR_FILENO, line, size);
        (void)written; /* nowhere left to say it */
    }
}

void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning", fmt, ap);
    va_end(ap);
}

int error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("error", fmt, ap);
    va_end(ap);
    return -1;
}

_Noreturn void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("fatal", fmt, ap);
    va_end(ap);
    exit(2);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        fatal("out of memory allocating %zu bytes", size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        fatal("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        fatal("out of memory allocating %zu bytes", size);
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

int fd_write_all(int fd, const char *data, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

char *xprintf(const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    return strbuf_detach(&sb);
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    sb->buf = xrealloc(sb->buf, cap);
    sb->cap = cap;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    strbuf_grow(sb, len);
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
    strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, char c)
{
    strbuf_grow(sb, 1);
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        fatal("bad format string '%s'", fmt);
    strbuf_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

const char *strbuf_str(const struct strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}

char *strbuf_detach(struct strbuf *sb)
{
    char *s = sb->buf ? sb->buf : xstrdup("");
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return s;
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

void strbuf_add_cell(struct strbuf *sb, const char *s, size_t width)
{
    size_t n = strlen(s);
    strbuf_grow(sb, (n > width ? n : width) + 2);
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    for (size_t i = n; i < width + 2; i++)
        sb->buf[sb->len++] = ' ';
    sb->buf[sb->len] = '\0';
}

/* The length of the valid UTF-8 sequence at s (of at most len bytes), 0 if none. */
static size_t utf8_length(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    if (len < n)
        return 0;
    uint32_t code = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (s[i] & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        return 0;
    return n;
}

/* One step of escaping: the bytes of s (len > 0) from its start that make one
 * character, written to out as they are or escaped; returns how many were taken
 * and sets *out_len. text: keep '\n' and '\t', and bytes that are not UTF-8 but
 * no C1 control either (a Latin-1 source line is shown as it is). */
static size_t escape_step(const unsigned char *s, size_t len, bool text, char out[16],
                          size_t *out_len)
{
    size_t n = utf8_length(s, len);
    unsigned char c = s[0];
    bool control = (n == 1 && (c < 0x20 || c == 0x7f) && !(text && (c == '\n' || c == '\t')));
    if (n == 2 && c == 0xc2 && s[1] < 0xa0) {
        /* C1 controls: U+009B is a CSI to some terminals */
        *out_len = (size_t)snprintf(out, 16, "\\u%04x", (unsigned)s[1]);
        return 2;
    }
    if (n && !control) {
        memcpy(out, s, n);
        *out_len = n;
        return n;
    }
    if (!n && text && c >= 0xa0) {
        out[0] = (char)c;
        *out_len = 1;
        return 1;
    }
    if (c == '\n')
        *out_len = (size_t)snprintf(out, 16, "\\n");
    else if (c == '\t')
        *out_len = (size_t)snprintf(out, 16, "\\t");
    else if (c == '\r')
        *out_len = (size_t)snprintf(out, 16, "\\r");
    else
        *out_len = (size_t)snprintf(out, 16, "\\x%02x", c);
    return 1;
}

static void add_escaped(struct strbuf *sb, const char *s, size_t len, bool text)
{
    const unsigned char *p = (const unsigned char *)s;
    char piece[16];
    for (size_t i = 0; i < len;) {
        size_t n;
        i += escape_step(p + i, len - i, text, piece, &n);
        strbuf_add(sb, piece, n);
    }
}

void strbuf_add_printable(struct strbuf *sb, const char *s, size_t len)
{
    add_escaped(sb, s, len, false);
}

void strbuf_add_terminal_text(struct strbuf *sb, const char *s, size_t len)
{
    add_escaped(sb, s, len, true);
}

/* Whether escape_step would change anything in s. */
static bool escapes(const char *s, size_t len, bool text)
{
    const unsigned char *p = (const unsigned char *)s;
    char piece[16];
    for (size_t i = 0; i < len;) {
        size_t n, took = escape_step(p + i, len - i, text, piece, &n);
        if (n != took || memcmp(piece, p + i, n) != 0)
            return true;
        i += took;
    }
    return false;
}

bool needs_escape(const char *s, size_t len)
{
    return escapes(s, len, false);
}

bool needs_terminal_escape(const char *s, size_t len)
{
    return escapes(s, len, true);
}

int strbuf_read_fd(struct strbuf *sb, int fd)
{
    for (;;) {
        strbuf_grow(sb, 65536);
        ssize_t n = read(fd, sb->buf + sb->len, sb->cap - sb->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        sb->len += (size_t)n;
    }
    sb->buf[sb->len] = '\0';
    return 0;
}

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *arena_alloc(struct arena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct arena_block *b = arena->head;
    if (!b || b->used + size > b->cap) {
        size_t cap = size > 16384 ? size : 16384;
        b = xmalloc(sizeof(*b) + cap);
        b->used = 0;
        b->cap = cap;
        b->next = arena->head;
        arena->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

char *arena_strndup(struct arena *arena, const char *s, size_t len)
{
    char *p = arena_alloc(arena, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void arena_release(struct arena *arena)
{
    while (arena->head) {
        struct arena_block *next = arena->head->next;
        free(arena->head);
        arena->head = next;
    }
}

static void strmap_resize(struct strmap *map, size_t cap)
{
    struct strmap bigger = {xcalloc(cap, sizeof(char *)), xcalloc(cap, sizeof(size_t)),
                            xcalloc(cap, sizeof(size_t)), 0, cap};
    for (size_t i = 0; i < map->cap; i++)
        if (map->keys[i])
            strmap_put(&bigger, map->keys[i], map->lens[i], map->values[i]);
    strmap_release(map);
    *map = bigger;
}

bool strmap_put(struct strmap *map, const char *key, size_t len, size_t value)
{
    if ((map->count + 1) * 4 >= map->cap * 3)
        strmap_resize(map, map->cap ? map->cap * 2 : 64);
    size_t mask = map->cap - 1;
    for (size_t i = hash_string(key, len) & mask;; i = (i + 1) & mask) {
        if (!map->keys[i]) {
            map->keys[i] = key;
            map->lens[i] = len;
            map->values[i] = value;
            map->count++;
            return true;
        }
        if (map->lens[i] == len && memcmp(map->keys[i], key, len) == 0)
            return false;
    }
}

bool strmap_get(const struct strmap *map, const char *key, size_t len, size_t *value)
{
    if (!map->cap)
        return false;
    size_t mask = map->cap - 1;
    for (size_t i = hash_string(key, len) & mask; map->keys[i]; i = (i + 1) & mask) {
        if (map->lens[i] == len && memcmp(map->keys[i], key, len) == 0) {
            *value = map->values[i];
            return true;
        }
    }
    return false;
}

void strmap_release(struct strmap *map)
{
    free(map->keys);
    free(map->lens);
    free(map->values);
    memset(map, 0, sizeof(*map));
}

int parse_size(const char *text, uint64_t *out)
{
    const char *p = text;
    if (*p < '0' || *p > '9')
        return -1;
    uint64_t n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (UINT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (*p == ' ')
        p++;
    static const char units[] = "kmgt";
    int shift = 0;
    if (*p) {
        const char *u = strchr(units, *p | 0x20);
        if (!u || !*u)
            return -1;
        shift = 10 * (int)(u - units + 1);
        p++;
        if (*p == 'i' || *p == 'I')
            p++;
        if (*p == 'b' || *p == 'B')
            p++;
    }
    if (*p || (shift && n > (UINT64_MAX >> shift)))
        return -1;
    *out = n << shift;
    return 0;
}

size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    /* Three rows of the optimal-string-alignment table. */
    size_t *prev2 = xcalloc(m + 1, sizeof(size_t));
    size_t *prev = xcalloc(m + 1, sizeof(size_t));
    size_t *cur = xcalloc(m + 1, sizeof(size_t));
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[m];
    free(prev2);
    free(prev);
    free(cur);
    return d;
}

const char *did_you_mean(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    size_t n = strlen(word);
    for (size_t i = 0; candidates[i]; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_distance) {
            best_distance = d;
            best = candidates[i];
        }
    }
    /* Close enough to be a typo: at most 2 edits, and at most a third of the word. */
    if (best && best_distance <= 2 && best_distance * 3 <= n + 1)
        return best;
    return NULL;
}

int64_t wall_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool dumb_terminal(void)
{
    const char *term = getenv("TERM");
    return term && strcmp(term, "dumb") == 0;
}

bool use_color(int fd)
{
    const char *no = getenv("NO_COLOR");
    if (no && *no)
        return false;
    return isatty(fd) && !dumb_terminal();
}

int make_parent_folders(const char *root, const char *rel)
{
    char *full = xprintf("%s/%s", root, rel);
    /* Usually the folder is there already: one stat instead of a mkdir per level. */
    char *slash = strrchr(full, '/');
    struct stat st;
    if (slash) {
        *slash = '\0';
        bool exists = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
        *slash = '/';
        if (exists) {
            free(full);
            return 0;
        }
    }
    for (char *s = full + strlen(root) + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(full, 0700) < 0 && errno != EEXIST) {
            int rc = error("cannot create '%s':", full);
            free(full);
            return rc;
        }
        *s = '/';
    }
    free(full);
    return 0;
}

/* One member of a JSON object: its key as written (quotes included) and its value. */
struct json_member {
    const char *key, *value;
    size_t key_len, value_len;
};

struct json_member_list {
    struct json_member *items;
    size_t len, cap;
};

static const char *json_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* The end of the JSON string starting at s (its opening quote); NULL: unterminated. */
static const char *json_string_end(const char *s)
{
    for (s++; *s; s++) {
        if (*s == '\\' && s[1])
            s++;
        else if (*s == '"')
            return s + 1;
    }
    return NULL;
}

/* The end of the JSON value starting at s (strings, nesting); NULL: malformed. */
static const char *json_value_end(const char *s)
{
    int depth = 0;
    for (; *s; s++) {
        if (*s == '"') {
            s = json_string_end(s);
            if (!s)
                return NULL;
            s--;
        } else if (*s == '{' || *s == '[') {
            depth++;
        } else if (*s == '}' || *s == ']') {
            if (depth == 0)
                return s;
            if (--depth == 0)
                return s + 1;
        } else if (*s == ',' && depth == 0) {
            return s;
        }
    }
    return depth ? NULL : s;
}

/* The members of a JSON object; -1 when text is not one. */
static int json_members(const char *text, struct json_member_list *out)
{
    if (!text)
        return 0;
    const char *s = json_space(text);
    if (*s++ != '{')
        return -1;
    s = json_space(s);
    if (*s == '}')
        return *json_space(s + 1) ? -1 : 0;
    for (;;) {
        if (*s != '"')
            return -1;
        const char *key_end = json_string_end(s);
        if (!key_end)
            return -1;
        struct json_member m = {s, NULL, (size_t)(key_end - s), 0};
        s = json_space(key_end);
        if (*s++ != ':')
            return -1;
        s = json_space(s);
        const char *end = json_value_end(s);
        if (!end || end == s)
            return -1;
        const char *last = end;
        while (last > s &&
               (last[-1] == ' ' || last[-1] == '\n' || last[-1] == '\t' || last[-1] == '\r'))
            last--;
        m.value = s;
        m.value_len = (size_t)(last - s);
        VEC_PUSH(out, m);
        s = json_space(end);
        if (*s == '}')
            return *json_space(s + 1) ? -1 : 0;
        if (*s++ != ',')
            return -1;
        s = json_space(s);
    }
}

int json_array_item(const char *text, size_t index, struct strbuf *out)
{
    const char *s = text ? json_space(text) : "";
    if (*s++ != '[')
        return -1;
    s = json_space(s);
    if (*s == ']')
        return 0;
    for (size_t n = 0;; n++) {
        const char *end = json_value_end(s);
        if (!end || end == s)
            return -1;
        if (n == index) {
            const char *last = end;
            while (last > s &&
                   (last[-1] == ' ' || last[-1] == '\n' || last[-1] == '\t' || last[-1] == '\r'))
                last--;
            strbuf_add(out, s, (size_t)(last - s));
            return 1;
        }
        s = json_space(end);
        if (*s == ']')
            return 0;
        if (*s++ != ',')
            return -1;
        s = json_space(s);
    }
}

static bool same_key(const struct json_member *a, const struct json_member *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

int json_object_merge(const char *base, const char *over, struct strbuf *out)
{
    struct json_member_list a = {0}, b = {0};
    if (json_members(base, &a) < 0 || json_members(over, &b) < 0) {
        VEC_FREE(&a);
        VEC_FREE(&b);
        return -1;
    }
    strbuf_addch(out, '{');
    size_t n = 0;
    for (size_t i = 0; i < a.len; i++) {
        const struct json_member *m = &a.items[i];
        for (size_t k = 0; k < b.len; k++)
            if (same_key(m, &b.items[k]))
                m = &b.items[k];
        strbuf_addf(out, "%s%.*s:%.*s", n++ ? "," : "", (int)m->key_len, m->key, (int)m->value_len,
                    m->value);
    }
    for (size_t k = 0; k < b.len; k++) {
        bool seen = false;
        for (size_t i = 0; i < a.len && !seen; i++)
            seen = same_key(&a.items[i], &b.items[k]);
        if (!seen)
            strbuf_addf(out, "%s%.*s:%.*s", n++ ? "," : "", (int)b.items[k].key_len, b.items[k].key,
                        (int)b.items[k].value_len, b.items[k].value);
    }
    strbuf_addch(out, '}');
    VEC_FREE(&a);
    VEC_FREE(&b);
    return 0;
}

/* Whether member m's key is the JSON string of key (stau writes keys plainly:
 * compared as written, without unescaping). */
static bool key_is_text(const struct json_member *m, const char *key)
{
    size_t len = strlen(key);
    return m->key_len == len + 2 && memcmp(m->key + 1, key, len) == 0;
}

int json_object_get(const char *text, const char *key, struct strbuf *out)
{
    struct json_member_list list = {0};
    if (json_members(text, &list) < 0) {
        VEC_FREE(&list);
        return -1;
    }
    int found = 0;
    for (size_t i = list.len; i-- > 0 && !found;)
        if (key_is_text(&list.items[i], key)) {
            strbuf_add(out, list.items[i].value, list.items[i].value_len);
            found = 1;
        }
    VEC_FREE(&list);
    return found;
}

int json_object_without(const char *text, const char *key, struct strbuf *out)
{
    struct json_member_list list = {0};
    if (json_members(text, &list) < 0) {
        VEC_FREE(&list);
        return -1;
    }
    strbuf_addch(out, '{');
    size_t n = 0;
    for (size_t i = 0; i < list.len; i++)
        if (!key_is_text(&list.items[i], key))
            strbuf_addf(out, "%s%.*s:%.*s", n++ ? "," : "", (int)list.items[i].key_len,
                        list.items[i].key, (int)list.items[i].value_len, list.items[i].value);
    strbuf_addch(out, '}');
    VEC_FREE(&list);
    return 0;
}

/* The end of the strict JSON value at s (RFC 8259), or NULL; depth bounds nesting. */
static const char *json_strict_value(const char *s, int depth)
{
    s = json_space(s);
    if (depth > 512)
        return NULL;
    if (*s == '"') {
        for (s++; *s != '"'; s++) {
            if ((unsigned char)*s < 0x20)
                return NULL; /* the end of the text, or a control character */
            if (*s == '\\') {
                s++;
                if (*s == 'u') {
                    for (int i = 1; i <= 4; i++)
                        if (!s[i] || !strchr("0123456789abcdefABCDEF", s[i]))
                            return NULL;
                    s += 4;
                } else if (!*s || !strchr("\"\\/bfnrt", *s)) {
                    return NULL;
                }
            }
        }
        return s + 1;
    }
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        s = json_space(s + 1);
        if (*s == close)
            return s + 1;
        for (;;) {
            if (close == '}') {
                s = json_space(s); /* after a ',' */
                if (*s != '"' || !(s = json_strict_value(s, depth + 1)))
                    return NULL;
                s = json_space(s);
                if (*s++ != ':')
                    return NULL;
            }
            if (!(s = json_strict_value(s, depth + 1)))
                return NULL;
            s = json_space(s);
            if (*s == close)
                return s + 1;
            if (*s++ != ',')
                return NULL;
        }
    }
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++)
        if (strncmp(s, words[i], strlen(words[i])) == 0)
            return s + strlen(words[i]);
    const char *start = s;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return NULL;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return NULL;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return NULL;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return s > start ? s : NULL;
}

bool json_valid(const char *text, char kind)
{
    if (!text)
        return false;
    const char *s = json_space(text);
    if (kind && *s != kind)
        return false;
    const char *end = json_strict_value(s, 0);
    return end && !*json_space(end);
}

/* Append code point c as UTF-8. */
static void add_utf8(struct strbuf *out, uint32_t c)
{
    if (c < 0x80) {
        strbuf_addch(out, (char)c);
    } else if (c < 0x800) {
        strbuf_addch(out, (char)(0xC0 | (c >> 6)));
        strbuf_addch(out, (char)(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        strbuf_addch(out, (char)(0xE0 | (c >> 12)));
        strbuf_addch(out, (char)(0x80 | ((c >> 6) & 0x3F)));
        strbuf_addch(out, (char)(0x80 | (c & 0x3F)));
    } else {
        strbuf_addch(out, (char)(0xF0 | (c >> 18)));
        strbuf_addch(out, (char)(0x80 | ((c >> 12) & 0x3F)));
        strbuf_addch(out, (char)(0x80 | ((c >> 6) & 0x3F)));
        strbuf_addch(out, (char)(0x80 | (c & 0x3F)));
    }
}

static int hex4(const char *s, uint32_t *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++) {
        char ch = s[i];
        int v = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (v < 0)
            return -1;
        *out = *out << 4 | (uint32_t)v;
    }
    return 0;
}

int json_string_decode(const char *literal, struct strbuf *out)
{
    const char *s = literal ? json_space(literal) : "";
    if (*s++ != '"')
        return -1;
    for (; *s != '"'; s++) {
        if (!*s)
            return -1;
        if (*s != '\\') {
            strbuf_addch(out, *s);
            continue;
        }
        s++;
        uint32_t c;
        switch (*s) {
        case '"':
        case '\\':
        case '/':
            strbuf_addch(out, *s);
            break;
        case 'b':
            strbuf_addch(out, '\b');
            break;
        case 'f':
            strbuf_addch(out, '\f');
            break;
        case 'n':
            strbuf_addch(out, '\n');
            break;
        case 'r':
            strbuf_addch(out, '\r');
            break;
        case 't':
            strbuf_addch(out, '\t');
            break;
        case 'u':
            if (hex4(s + 1, &c) < 0)
                return -1;
            s += 4;
            if (c >= 0xD800 && c < 0xDC00 && s[1] == '\\' && s[2] == 'u') {
                uint32_t low;
                if (hex4(s + 3, &low) == 0 && low >= 0xDC00 && low < 0xE000) {
                    c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                    s += 6;
                }
            }
            if (c == 0)
                return -1; /* stau's strings hold no NUL */
            add_utf8(out, c);
            break;
        default:
            return -1;
        }
    }
    return *json_space(s + 1) ? -1 : 0;
}
