/* util.h: messages, checked allocation, growable strings and arrays, tables. */
#ifndef STAU_UTIL_H
#define STAU_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "hash.h" /* struct hash128, hash_bytes, hash_string: used all over */
#include "json.h" /* json_quote, json_field_time, ...: writing JSON, used all over */

/* Takes warn(), error() and fatal() messages: kind "warning", "error" or "fatal", and
 * the message as formatted. */
typedef void message_sink_fn(const char *kind, const char *message, void *ctx);
/* Send messages to fn instead of stderr (NULL: stderr again). */
void set_message_sink(message_sink_fn *fn, void *ctx);
/* Print "stau: warning: ..." to stderr; a format ending in ':' appends strerror(errno). */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "stau: error: ..." like warn() and return -1, so callers can `return error(...)`. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "stau: fatal: ..." like warn() and exit(2); for broken invariants and OOM only. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that dies on exhaustion, so callers never see NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
/* A newly allocated string formatted like printf. */
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write all len bytes of data to fd, again after EINTR and short writes; 0, or -1
 * with errno set (EIO for a write that wrote nothing). */
int fd_write_all(int fd, const char *data, size_t len);

/* A growable NUL-terminated byte string; initialise with STRBUF_INIT. */
struct strbuf {
    char *buf;  /* the bytes, always NUL-terminated once anything was added */
    size_t len; /* bytes in use, not counting the NUL */
    size_t cap; /* bytes allocated */
};
#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* The string so far ("" when empty); stays owned by sb. */
const char *strbuf_str(const struct strbuf *sb);
/* Hand the buffer to the caller (never NULL) and reset sb. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* Append s, then spaces up to width and two more: one cell of a text table. */
void strbuf_add_cell(struct strbuf *sb, const char *s, size_t width);
/* Append s (len bytes) safe to print on a terminal: control characters (C0, DEL and
 * the C1 range U+0080-U+009F) as \n, \t, \r or \xHH, and bytes that are not UTF-8
 * as \xHH; the rest as it is. */
void strbuf_add_printable(struct strbuf *sb, const char *s, size_t len);
/* Whether s holds anything strbuf_add_printable would escape. */
bool needs_escape(const char *s, size_t len);
/* strbuf_add_printable for text of lines (messages, source lines): '\n' and '\t'
 * stay, and so do bytes that are not UTF-8 unless they are C1 controls. */
void strbuf_add_terminal_text(struct strbuf *sb, const char *s, size_t len);
bool needs_terminal_escape(const char *s, size_t len);
/* Append everything left to read from fd; -1 with errno set on a read error. */
int strbuf_read_fd(struct strbuf *sb, int fd);

/* A growable array of T: `VEC(int) v = {0}; VEC_PUSH(&v, 3);`. */
#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *items;                                                                                  \
        size_t len, cap;                                                                           \
    }
#define VEC_PUSH(v, x)                                                                             \
    do {                                                                                           \
        if ((v)->len == (v)->cap) {                                                                \
            (v)->cap = (v)->cap ? (v)->cap * 2 : 8;                                                \
            (v)->items = xrealloc((v)->items, (v)->cap * sizeof(*(v)->items));                     \
        }                                                                                          \
        (v)->items[(v)->len++] = (x);                                                              \
    } while (0)
#define VEC_FREE(v)                                                                                \
    do {                                                                                           \
        free((v)->items);                                                                          \
        (v)->items = NULL;                                                                         \
        (v)->len = (v)->cap = 0;                                                                   \
    } while (0)

/* A region allocator: many small allocations, freed all at once. */
struct arena {
    struct arena_block *head; /* the block being filled; older blocks follow its next */
};
#define ARENA_INIT                                                                                 \
    {                                                                                              \
        NULL                                                                                       \
    }
/* size bytes aligned for any type; never NULL. */
void *arena_alloc(struct arena *arena, size_t size);
char *arena_strndup(struct arena *arena, const char *s, size_t len);
void arena_release(struct arena *arena);

/* A growable list of indices; works with VEC_PUSH. */
struct sizelist {
    size_t *items;
    size_t len, cap;
};

/* A list of owned strings; works with VEC_PUSH. */
struct strlist {
    char **items;
    size_t len, cap;
};

/* A string -> index table with open addressing; keys are borrowed, not copied. */
struct strmap {
    const char **keys; /* borrowed key pointers; NULL marks an empty slot */
    size_t *lens;      /* key lengths */
    size_t *values;    /* the index stored for each key */
    size_t count;      /* keys in the table */
    size_t cap;        /* slots, a power of two */
};
/* Store key -> value; returns false (and changes nothing) if key is already present. */
bool strmap_put(struct strmap *map, const char *key, size_t len, size_t value);
/* Look key up; returns true and sets *value when present. */
bool strmap_get(const struct strmap *map, const char *key, size_t len, size_t *value);
void strmap_release(struct strmap *map);

/* A size in bytes: digits, then optionally K, M, G or T (powers of 1024), with or
 * without "B" or "iB" and a space before ("64M", "1 GiB", "512kb"). 0, or -1 when
 * text is no such size. */
int parse_size(const char *text, uint64_t *out);

/* Edit distance (with transpositions) between two strings, for did-you-mean hints. */
size_t edit_distance(const char *a, const char *b);
/* The closest of the NULL-terminated candidates to word, or NULL if none is close. */
const char *did_you_mean(const char *word, const char *const *candidates);

/* True when s starts with prefix / ends with suffix. */
bool starts_with(const char *s, const char *prefix);
bool ends_with(const char *s, const char *suffix);

/* mkdir -p for the folders of rel, a path below root (the file itself is not made);
 * -1 after a message naming the folder. */
int make_parent_folders(const char *root, const char *rel);

/* The wall clock in unix milliseconds. */
int64_t wall_clock_ms(void);

/* Append the JSON object over laid on the JSON object base: base's keys in their
 * order (with over's value where over has the key too), then over's other keys.
 * Either may be NULL (an empty object). -1 (out untouched) when one is not a JSON
 * object. Values are kept as written. */
int json_object_merge(const char *base, const char *over, struct strbuf *out);

/* The value of key in the JSON object text, as written, appended to out: 1; 0 when
 * it has no such key; -1 when text is not a JSON object. */
int json_object_get(const char *text, const char *key, struct strbuf *out);
/* The index-th item of the JSON array text, as written, appended to out: 1; 0 past
 * its end; -1 when text is not a JSON array. */
int json_array_item(const char *text, size_t index, struct strbuf *out);
/* The JSON object text without key, appended to out; -1 when text is not one. */
int json_object_without(const char *text, const char *key, struct strbuf *out);
/* Whether text is one well-formed JSON value (RFC 8259) and nothing else; with kind
 * '{' or '[' it must be an object or an array (0: any value). */
bool json_valid(const char *text, char kind);
/* Append the text of the JSON string literal (escapes undone, as UTF-8); -1 when
 * literal is no string literal (or holds \u0000). */
int json_string_decode(const char *literal, struct strbuf *out);

/* Whether TERM is "dumb": a terminal that takes no escape codes. */
bool dumb_terminal(void);
/* Whether colour may be used on the stream with this file descriptor (a tty, no NO_COLOR,
 * TERM not dumb). */
bool use_color(int fd);

#endif
