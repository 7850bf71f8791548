/* driver.c: a small coverage-guided fuzzer for stau's harnesses.
 *
 * Each harness (tests/fuzz/fuzz_*.c) defines libFuzzer's entry point
 *
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *
 * (and optionally LLVMFuzzerInitialize), so it also links against libFuzzer
 * where a toolchain ships it. Zig 0.15 instruments code for libFuzzer
 * (-fsanitize=fuzzer-no-link) but ships no libFuzzer runtime, so this file is
 * the runtime: build.zig compiles stau's sources with
 * -fsanitize-coverage=trace-pc-guard,trace-cmp beside AddressSanitizer and
 * UBSan and links each harness with this driver (zig-out/sanitize/bin/stau-fuzz-*).
 *
 *   stau-fuzz-NAME [-max_total_time=S] [-runs=N] [-seed=N] [-max_len=N]
 *                  [-timeout=S] [-dict=FILE] [-artifact_prefix=P] [-save_new=DIR]
 *                  CORPUS_DIR_OR_FILE...
 *
 * First every file given (folders: every regular file in them) runs once, in
 * name order: the replay. Then, for S seconds (or N executions; neither: stop
 * after the replay), inputs taken from the corpus are mutated (bit flips, byte
 * changes, inserts, deletes, copies, splices with another input, interesting
 * integers, tokens of the dictionary and tokens stau's code was seen comparing
 * against) and run. An input that reaches code no earlier input reached (edge
 * coverage, with hit-count buckets) joins the corpus in memory, and the folder
 * -save_new names when given. A leak is looked for when an input allocated more
 * than it freed and is a seed or reached new code (LeakSanitizer reports the
 * others at exit).
 *
 * An input that crashes (an AddressSanitizer or UBSan report, an abort, a trap),
 * leaks or runs longer than -timeout seconds (default 10) is written to
 * <artifact_prefix><kind>-<hash> and printed escaped on stderr; the exit status
 * is then non-zero. The last line on stderr is always the summary:
 *
 *   fuzz NAME: R replayed, E executions in T s, C crashes, F edges, K in corpus,
 *   W tokens seen, L leak checks (seed S)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The sanitizers' interface (weak: the driver links without them too). */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *))
    __attribute__((weak));

/* ---- coverage: trace-pc-guard edge counters ---- */

enum { MAX_EDGES = 1 << 21 };
static uint8_t counters[MAX_EDGES]; /* hits of each edge in the current execution */
static uint8_t seen[MAX_EDGES];     /* hit-count buckets any execution reached */
static uint32_t edge_count;         /* guards numbered so far (edge 0 is unused) */
static size_t edges_covered;        /* edges with some bucket seen */

void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop);
void __sanitizer_cov_trace_pc_guard(uint32_t *guard);

void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop)
{
    if (start == stop || *start)
        return;
    for (uint32_t *g = start; g < stop; g++) {
        if (edge_count + 1 < MAX_EDGES)
            edge_count++;
        *g = edge_count; /* past MAX_EDGES, the last counter is shared */
    }
}

void __sanitizer_cov_trace_pc_guard(uint32_t *guard)
{
    counters[*guard]++;
}

/* Tokens the code compared input against (constants of comparisons, the other
 * side of strcmp and memcmp): used as a dictionary the harness did not have to
 * write. A small table, overwritten at random when full. */
enum { AUTO_TOKENS = 512, TOKEN_MAX = 32 };
struct token {
    uint8_t len;
    uint8_t bytes[TOKEN_MAX];
};
static struct token auto_tokens[AUTO_TOKENS];
static size_t auto_count;
static int running; /* inside LLVMFuzzerTestOneInput: record comparisons */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static void remember(const void *p, size_t n)
{
    if (!running || n == 0 || n > TOKEN_MAX)
        return;
    /* cheap duplicate check against a few recent entries */
    for (size_t i = 0; i < auto_count && i < 16; i++) {
        const struct token *t = &auto_tokens[(auto_count - 1 - i) % AUTO_TOKENS];
        if (t->len == n && memcmp(t->bytes, p, n) == 0)
            return;
    }
    struct token *t = &auto_tokens[auto_count < AUTO_TOKENS ? auto_count : below(AUTO_TOKENS)];
    t->len = (uint8_t)n;
    memcpy(t->bytes, p, n);
    if (auto_count < AUTO_TOKENS)
        auto_count++;
}

static void remember_int(uint64_t v, size_t n)
{
    /* small numbers are everywhere and say nothing */
    if (v < 256 && n > 1)
        return;
    remember(&v, n);
}

/* The comparison hooks -fsanitize-coverage=trace-cmp calls. */
void __sanitizer_cov_trace_cmp1(uint8_t a, uint8_t b);
void __sanitizer_cov_trace_cmp2(uint16_t a, uint16_t b);
void __sanitizer_cov_trace_cmp4(uint32_t a, uint32_t b);
void __sanitizer_cov_trace_cmp8(uint64_t a, uint64_t b);
void __sanitizer_cov_trace_const_cmp1(uint8_t a, uint8_t b);
void __sanitizer_cov_trace_const_cmp2(uint16_t a, uint16_t b);
void __sanitizer_cov_trace_const_cmp4(uint32_t a, uint32_t b);
void __sanitizer_cov_trace_const_cmp8(uint64_t a, uint64_t b);
void __sanitizer_cov_trace_switch(uint64_t val, uint64_t *cases);

void __sanitizer_cov_trace_cmp1(uint8_t a, uint8_t b)
{
}
void __sanitizer_cov_trace_cmp2(uint16_t a, uint16_t b)
{
}
void __sanitizer_cov_trace_cmp4(uint32_t a, uint32_t b)
{
}
void __sanitizer_cov_trace_cmp8(uint64_t a, uint64_t b)
{
}
void __sanitizer_cov_trace_const_cmp1(uint8_t a, uint8_t b)
{
}
void __sanitizer_cov_trace_const_cmp2(uint16_t a, uint16_t b)
{
    if (a != b)
        remember_int(a, 2);
}
void __sanitizer_cov_trace_const_cmp4(uint32_t a, uint32_t b)
{
    if (a != b)
        remember_int(a, 4);
}
void __sanitizer_cov_trace_const_cmp8(uint64_t a, uint64_t b)
{
    if (a != b)
        remember_int(a, 8);
}
void __sanitizer_cov_trace_switch(uint64_t val, uint64_t *cases)
{
    /* cases[0]: how many, cases[1]: their width in bits, then the values */
    if (!running || cases[0] == 0)
        return;
    uint64_t v = cases[2 + below(cases[0])];
    if (v != val)
        remember_int(v, cases[1] / 8 ? cases[1] / 8 : 1);
}

/* The sanitizers' string interceptors call these when they are defined. */
void __sanitizer_weak_hook_strcmp(void *pc, const char *a, const char *b, int result);
void __sanitizer_weak_hook_strncmp(void *pc, const char *a, const char *b, size_t n, int result);
void __sanitizer_weak_hook_strcasecmp(void *pc, const char *a, const char *b, int result);
void __sanitizer_weak_hook_strncasecmp(void *pc, const char *a, const char *b, size_t n,
                                       int result);
void __sanitizer_weak_hook_memcmp(void *pc, const void *a, const void *b, size_t n, int result);
void __sanitizer_weak_hook_strstr(void *pc, const char *a, const char *b, char *result);

static void remember_pair(const char *a, const char *b, size_t limit)
{
    if (!running)
        return;
    remember(a, strnlen(a, limit < TOKEN_MAX + 1 ? limit : TOKEN_MAX + 1));
    remember(b, strnlen(b, limit < TOKEN_MAX + 1 ? limit : TOKEN_MAX + 1));
}

void __sanitizer_weak_hook_strcmp(void *pc, const char *a, const char *b, int result)
{
    if (result)
        remember_pair(a, b, SIZE_MAX);
}
void __sanitizer_weak_hook_strncmp(void *pc, const char *a, const char *b, size_t n, int result)
{
    if (result)
        remember_pair(a, b, n);
}
void __sanitizer_weak_hook_strcasecmp(void *pc, const char *a, const char *b, int result)
{
    if (result)
        remember_pair(a, b, SIZE_MAX);
}
void __sanitizer_weak_hook_strncasecmp(void *pc, const char *a, const char *b, size_t n,
                                       int result)
{
    if (result)
        remember_pair(a, b, n);
}
void __sanitizer_weak_hook_memcmp(void *pc, const void *a, const void *b, size_t n, int result)
{
    if (result && n <= TOKEN_MAX) {
        remember(a, n);
        remember(b, n);
    }
}
void __sanitizer_weak_hook_strstr(void *pc, const char *a, const char *b, char *result)
{
    if (!result)
        remember_pair(b, b, SIZE_MAX);
}

/* Bucket of a hit count, as a bit: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
static uint8_t bucket(uint8_t n)
{
    if (n <= 3)
        return (uint8_t)(1u << (n - 1));
    if (n < 8)
        return 8;
    if (n < 16)
        return 16;
    if (n < 32)
        return 32;
    if (n < 128)
        return 64;
    return 128;
}

/* Fold the execution's counters into seen and clear them; how many new buckets. */
static size_t collect(void)
{
    size_t fresh = 0;
    size_t n = (size_t)edge_count + 1;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, counters + i, 8);
        if (!word)
            continue;
        for (size_t k = i; k < i + 8; k++) {
            if (!counters[k])
                continue;
            uint8_t b = bucket(counters[k]);
            if (!(seen[k] & b)) {
                if (!seen[k])
                    edges_covered++;
                seen[k] |= b;
                fresh++;
            }
            counters[k] = 0;
        }
    }
    for (; i < n; i++) {
        if (!counters[i])
            continue;
        uint8_t b = bucket(counters[i]);
        if (!(seen[i] & b)) {
            if (!seen[i])
                edges_covered++;
            seen[i] |= b;
            fresh++;
        }
        counters[i] = 0;
    }
    return fresh;
}

/* ---- allocation balance, for leak checks ---- */

static volatile long allocations;

static void on_malloc(const volatile void *p, size_t n)
{
    if (running)
        allocations++;
}

static void on_free(const volatile void *p)
{
    if (running && p)
        allocations--;
}

/* ---- crashes: save and print the input that caused one ---- */

static const char *harness = "fuzz";
static const char *artifact_prefix = "";
static const uint8_t *current;
static size_t current_len;
static int timeout_seconds = 10;

static void put(const char *s)
{
    ssize_t unused = write(2, s, strlen(s));
    (void)unused;
}

/* Write the current input to <prefix><kind>-<hash> and print it. Signal-safe. */
static void save_input(const char *kind)
{
    if (!current)
        return;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < current_len; i++)
        h = (h ^ current[i]) * 1099511628211ull;
    char path[4096];
    size_t at = 0;
    for (const char *s = artifact_prefix; *s && at < sizeof(path) - 64; s++)
        path[at++] = *s;
    for (const char *s = kind; *s; s++)
        path[at++] = *s;
    path[at++] = '-';
    for (int i = 15; i >= 0; i--)
        path[at++] = "0123456789abcdef"[(h >> (i * 4)) & 15];
    path[at] = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        size_t done = 0;
        while (done < current_len) {
            ssize_t w = write(fd, current + done, current_len - done);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        close(fd);
    }
    put("\nfuzz ");
    put(harness);
    put(": ");
    put(kind);
    put(fd >= 0 ? ": input saved to " : ": could not save the input to ");
    put(path);
    put("\ninput (C escapes, at most 4096 bytes shown): \"");
    char out[8];
    for (size_t i = 0; i < current_len && i < 4096; i++) {
        uint8_t c = current[i];
        if (c == '\\' || c == '"') {
            out[0] = '\\', out[1] = (char)c, out[2] = 0;
        } else if (c == '\n') {
            memcpy(out, "\\n", 3);
        } else if (c >= 32 && c < 127) {
            out[0] = (char)c, out[1] = 0;
        } else {
            out[0] = '\\', out[1] = 'x', out[2] = "0123456789abcdef"[c >> 4];
            out[3] = "0123456789abcdef"[c & 15], out[4] = 0;
        }
        put(out);
    }
    put(current_len > 4096 ? "\"...\n" : "\"\n");
    current = NULL;
}

static void on_death(void)
{
    save_input("crash");
}

static void on_signal(int sig)
{
    save_input(sig == SIGALRM ? "timeout" : "crash");
    if (sig == SIGALRM) {
        put("fuzz: the input ran longer than the timeout\n");
        _exit(70);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- inputs ---- */

struct input {
    uint8_t *data;
    size_t len;
};

static struct input *corpus;
static size_t corpus_len, corpus_cap;
static struct token *dict;
static size_t dict_len;
static long executions, crashes, leak_checks;
static const char *save_dir;
static int always_check; /* the replay: look for leaks whatever the coverage */

/* Run one input (a copy of exactly its size, so reading past it is caught). */
static size_t execute(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        put("fuzz: out of memory\n");
        exit(2);
    }
    memcpy(copy, data, len);
    current = data;
    current_len = len;
    allocations = 0;
    alarm((unsigned)timeout_seconds);
    running = 1;
    LLVMFuzzerTestOneInput(copy, len);
    running = 0;
    alarm(0);
    executions++;
    size_t fresh = collect();
    /* As libFuzzer: look for a leak (a stop-the-world scan, milliseconds) only when
     * the input reached new code and allocated more than it freed; other leaks
     * LeakSanitizer reports at exit, failing the run. */
    if ((fresh || always_check) && allocations > 0 && __lsan_do_recoverable_leak_check &&
        ++leak_checks && __lsan_do_recoverable_leak_check()) {
        save_input("leak");
        crashes++;
        put("fuzz: the input leaked memory (LeakSanitizer's report is above)\n");
    }
    current = NULL;
    free(copy);
    return fresh;
}

static void add_input(const uint8_t *data, size_t len)
{
    if (corpus_len == corpus_cap) {
        corpus_cap = corpus_cap ? corpus_cap * 2 : 64;
        corpus = realloc(corpus, corpus_cap * sizeof(*corpus));
        if (!corpus)
            exit(2);
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        exit(2);
    memcpy(copy, data, len);
    corpus[corpus_len++] = (struct input){copy, len};
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Save a new input to -save_new's folder, named by its content. */
static void save_new(const uint8_t *data, size_t len)
{
    if (!save_dir)
        return;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%016llx", save_dir, (unsigned long long)h);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file a corpus argument names, sorted (a folder: its regular files). */
static size_t list_inputs(const char *arg, char ***out)
{
    struct stat st;
    size_t n = 0;
    if (stat(arg, &st) < 0) {
        fprintf(stderr, "fuzz: cannot read '%s': %s\n", arg, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        *out = malloc(sizeof(char *));
        (*out)[0] = strdup(arg);
        return 1;
    }
    DIR *d = opendir(arg);
    if (!d) {
        fprintf(stderr, "fuzz: cannot read folder '%s': %s\n", arg, strerror(errno));
        exit(2);
    }
    size_t cap = 16;
    *out = malloc(cap * sizeof(char *));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = malloc(strlen(arg) + strlen(e->d_name) + 2);
        sprintf(path, "%s/%s", arg, e->d_name);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap)
            *out = realloc(*out, (cap *= 2) * sizeof(char *));
        (*out)[n++] = path;
    }
    closedir(d);
    qsort(*out, n, sizeof(char *), by_name);
    return n;
}

/* A dictionary in libFuzzer's (AFL's) form: lines `name="token"` or `"token"`,
 * with \\, \" and \xHH escapes; # starts a comment. */
static void load_dict(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "fuzz: cannot read dictionary '%s': %s\n", path, strerror(errno));
        exit(2);
    }
    char line[4096];
    int number = 0;
    while (fgets(line, sizeof(line), f)) {
        number++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || !*p)
            continue;
        char *q = strchr(p, '"');
        if (!q) {
            fprintf(stderr, "fuzz: %s:%d: no \"token\" on the line\n", path, number);
            exit(2);
        }
        struct token t = {0};
        for (q++; *q && *q != '"'; q++) {
            int c = (unsigned char)*q;
            if (c == '\\' && q[1] == 'x' && q[2] && q[3]) {
                char hex[3] = {q[2], q[3], 0};
                c = (int)strtol(hex, NULL, 16);
                q += 3;
            } else if (c == '\\' && q[1]) {
                c = (unsigned char)*++q;
            }
            if (t.len < TOKEN_MAX)
                t.bytes[t.len++] = (uint8_t)c;
        }
        if (*q != '"') {
            fprintf(stderr, "fuzz: %s:%d: the token has no closing quote\n", path, number);
            exit(2);
        }
        dict = realloc(dict, (dict_len + 1) * sizeof(*dict));
        dict[dict_len++] = t;
    }
    fclose(f);
}

/* ---- mutations ---- */

static const int64_t interesting[] = {0,     1,     -1,         16,        32,         64,
                                      100,   127,   128,        255,       256,        512,
                                      1000,  1024,  4096,       32767,     32768,      65535,
                                      65536, -128,  -32768,     INT32_MAX, INT32_MIN,  UINT32_MAX,
                                      (int64_t)0x7fffffffffffffff, INT64_MIN};

/* Change buf (len bytes of cap) in place once; the new length. */
static size_t mutate_once(uint8_t *buf, size_t len, size_t cap)
{
    switch (below(12)) {
    case 0: /* flip a bit */
        if (len)
            buf[below(len)] ^= (uint8_t)(1u << below(8));
        return len;
    case 1: /* a random byte */
        if (len)
            buf[below(len)] = (uint8_t)rnd();
        return len;
    case 2: /* add or subtract a little */
        if (len)
            buf[below(len)] += (uint8_t)(below(35) - 17);
        return len;
    case 3: { /* insert bytes: one repeated, or random */
        if (len >= cap)
            return len;
        size_t at = below(len + 1), n = 1 + below(cap - len < 16 ? cap - len : 16);
        memmove(buf + at + n, buf + at, len - at);
        uint8_t c = (uint8_t)rnd();
        int same = (int)below(2);
        for (size_t i = 0; i < n; i++)
            buf[at + i] = same ? c : (uint8_t)rnd();
        return len + n;
    }
    case 4: { /* delete a range */
        if (len < 2)
            return len;
        size_t at = below(len), n = 1 + below(len - at < 16 ? len - at : 16);
        memmove(buf + at, buf + at + n, len - at - n);
        return len - n;
    }
    case 5: { /* copy a range over another place */
        if (len < 2)
            return len;
        size_t from = below(len), to = below(len), n = 1 + below(len - from);
        if (n > len - to)
            n = len - to;
        memmove(buf + to, buf + from, n);
        return len;
    }
    case 6: { /* insert a copy of a range */
        if (len < 1 || len >= cap)
            return len;
        size_t from = below(len), n = 1 + below(len - from);
        if (n > cap - len)
            n = cap - len;
        size_t to = below(len + 1);
        uint8_t tmp[256];
        if (n > sizeof(tmp))
            n = sizeof(tmp);
        memcpy(tmp, buf + from, n);
        memmove(buf + to + n, buf + to, len - to);
        memcpy(buf + to, tmp, n);
        return len + n;
    }
    case 7: { /* an interesting integer, 1, 2, 4 or 8 bytes, either byte order */
        size_t w = (size_t)1 << below(4);
        if (len < w)
            return len;
        int64_t v = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
        uint8_t bytes[8];
        for (size_t i = 0; i < 8; i++)
            bytes[i] = (uint8_t)((uint64_t)v >> (8 * i));
        size_t at = below(len - w + 1);
        int big = (int)below(2);
        for (size_t i = 0; i < w; i++)
            buf[at + i] = bytes[big ? w - 1 - i : i];
        return len;
    }
    case 8:
    case 9: { /* a token: the dictionary's or one the code compared against */
        const struct token *t = NULL;
        if (dict_len && (!auto_count || below(2)))
            t = &dict[below(dict_len)];
        else if (auto_count)
            t = &auto_tokens[below(auto_count)];
        if (!t || !t->len)
            return len;
        if (below(2) && len + t->len <= cap) { /* insert */
            size_t at = below(len + 1);
            memmove(buf + at + t->len, buf + at, len - at);
            memcpy(buf + at, t->bytes, t->len);
            return len + t->len;
        }
        if (len >= t->len) /* overwrite */
            memcpy(buf + below(len - t->len + 1), t->bytes, t->len);
        return len;
    }
    case 10: { /* splice: our head with another input's tail */
        if (!corpus_len)
            return len;
        const struct input *o = &corpus[below(corpus_len)];
        size_t keep = below(len + 1), from = below(o->len + 1), n = o->len - from;
        if (keep + n > cap)
            n = cap - keep;
        memcpy(buf + keep, o->data + from, n);
        return keep + n;
    }
    default: { /* a decimal number in text: change one digit run */
        if (!len)
            return len;
        size_t at = below(len);
        while (at < len && (buf[at] < '0' || buf[at] > '9'))
            at++;
        if (at == len)
            return len;
        char num[24];
        int n = snprintf(num, sizeof(num), "%lld",
                         (long long)interesting[below(sizeof(interesting) / sizeof(interesting[0]))]);
        size_t end = at;
        while (end < len && buf[end] >= '0' && buf[end] <= '9')
            end++;
        if (len - (end - at) + (size_t)n > cap)
            return len;
        memmove(buf + at + n, buf + end, len - end);
        memcpy(buf + at, num, (size_t)n);
        return len - (end - at) + (size_t)n;
    }
    }
}

static long parse_flag(const char *arg, const char *name, const char **text)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return 0;
    *text = arg + n + 1;
    return 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: %s [-max_total_time=S] [-runs=N] [-seed=N] [-max_len=N] "
                    "[-timeout=S] [-dict=FILE] [-artifact_prefix=P] [-save_new=DIR] "
                    "CORPUS_DIR_OR_FILE...\n",
            harness);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    harness = slash ? slash + 1 : argv[0];
    if (strncmp(harness, "stau-fuzz-", 10) == 0)
        harness += 10;
    double max_time = 0;
    long runs = -1, max_len = 8192;
    uint64_t seed = 0;
    char **paths = calloc((size_t)argc, sizeof(char *));
    size_t path_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (parse_flag(argv[i], "-max_total_time", &v))
            max_time = atof(v);
        else if (parse_flag(argv[i], "-runs", &v))
            runs = atol(v);
        else if (parse_flag(argv[i], "-seed", &v))
            seed = strtoull(v, NULL, 10);
        else if (parse_flag(argv[i], "-max_len", &v))
            max_len = atol(v);
        else if (parse_flag(argv[i], "-timeout", &v))
            timeout_seconds = atoi(v);
        else if (parse_flag(argv[i], "-dict", &v))
            load_dict(v);
        else if (parse_flag(argv[i], "-artifact_prefix", &v))
            artifact_prefix = v;
        else if (parse_flag(argv[i], "-save_new", &v))
            save_dir = v;
        else if (argv[i][0] == '-')
            usage();
        else
            paths[path_count++] = argv[i];
    }
    if (max_len < 1 || timeout_seconds < 1)
        usage();
    if (!seed)
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    rng_state = seed ? seed : 1;
    for (int i = 0; i < 4; i++)
        rnd();

    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(on_death);
    if (__sanitizer_install_malloc_and_free_hooks)
        __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
    int sigs[] = {SIGABRT, SIGILL, SIGTRAP, SIGALRM};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], on_signal);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);

    double start = now_seconds();
    long replayed = 0;
    for (size_t i = 0; i < path_count; i++) {
        char **files;
        size_t n = list_inputs(paths[i], &files);
        for (size_t k = 0; k < n; k++) {
            uint8_t *data;
            size_t len;
            if (read_file(files[k], &data, &len) < 0) {
                fprintf(stderr, "fuzz: cannot read '%s': %s\n", files[k], strerror(errno));
                exit(2);
            }
            always_check = 1;
            execute(data, len);
            always_check = 0;
            replayed++;
            add_input(data, len);
            free(data);
            free(files[k]);
        }
        free(files);
    }
    free(paths);
    if (!corpus_len)
        add_input((const uint8_t *)"", 0);

    /* mutated inputs grow to -max_len, or to the largest seed and a little */
    size_t cap = (size_t)max_len;
    for (size_t i = 0; i < corpus_len; i++)
        if (corpus[i].len + 256 > cap)
            cap = corpus[i].len + 256;
    uint8_t *buf = malloc(cap);
    double last_report = start;
    if (max_time > 0 || runs > 0) {
        for (long done = 0; runs < 0 || done < runs; done++) {
            if ((done & 15) == 0) {
                double t = now_seconds();
                if (max_time > 0 && t - start >= max_time)
                    break;
                if (t - last_report >= 10) {
                    fprintf(stderr, "fuzz %s: %ld executions, %zu edges, %zu in corpus\n",
                            harness, executions, edges_covered, corpus_len);
                    last_report = t;
                }
            }
            const struct input *base = &corpus[below(corpus_len)];
            size_t len = base->len < cap ? base->len : cap;
            memcpy(buf, base->data, len);
            size_t steps = 1 + below(1u << below(4));
            for (size_t s = 0; s < steps; s++)
                len = mutate_once(buf, len, cap);
            if (execute(buf, len)) {
                add_input(buf, len);
                save_new(buf, len);
            }
            if (crashes)
                break;
        }
    }
    fprintf(stderr,
            "fuzz %s: %ld replayed, %ld executions in %.0f s, %ld crashes, %zu edges, %zu in "
            "corpus, %zu tokens seen, %ld leak checks (seed %llu)\n",
            harness, replayed, executions, now_seconds() - start, crashes, edges_covered,
            corpus_len, auto_count, leak_checks, (unsigned long long)seed);
    free(buf);
    for (size_t i = 0; i < corpus_len; i++)
        free(corpus[i].data);
    free(corpus);
    free(dict);
    return crashes ? 1 : 0;
}
