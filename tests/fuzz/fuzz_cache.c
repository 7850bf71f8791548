/* fuzz_cache.c: the graph cache reader (cache.c's cache_read and
 * cache_decode_imports) on a file of arbitrary bytes.
 *
 * Each input is read twice: as it is, and with its checksums set right (the
 * header's and each section's, where the lengths in the file say they are), so
 * that mutations get past the checks to the entries' decoding. The jobs root is
 * the one the file names, so the entries are read too.
 *
 * Oracles besides the sanitizers: a cache that reads gives back every string
 * NUL-terminated in bounds (they are all printed), and writing what was read and
 * reading that again gives the same files (a cache the reader accepts is one the
 * writer could have written). Not an oracle: that a declaration's kwargs are valid
 * JSON. The reader takes them as stored, the checksums being what guards the file
 * against damage; with the checksums set right, any bytes get through.
 *
 * Seeds: graph caches of the fixture projects (corpus/cache). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include "cache.h"
#include "hash.h"

static char *input_path, *again_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    input_path = fuzz_path("graph.cache");
    again_path = fuzz_path("again.cache");
    return 0;
}

static uint64_t u64_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void set_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* Set the checksums of a cache file where its framing says they are (see the
 * format at the top of cache.c); the jobs root it names into *root. */
static void fix_checks(uint8_t *b, size_t len, char **root)
{
    *root = NULL;
    if (len < 28)
        return;
    uint32_t root_len;
    memcpy(&root_len, b + 24, 4);
    if (root_len > len - 28 || len - 28 - root_len < 1)
        return;
    *root = strndup((const char *)b + 28, root_len);
    size_t p = 28 + (size_t)root_len + 1;
    if (len - p < 8)
        return;
    set_u64(b + p, hash64_bytes(b, p));
    p += 8;
    while (len - p >= 16) {
        uint64_t bytes = u64_at(b + p);
        if (bytes > len - p - 16)
            return;
        set_u64(b + p + 8 + bytes, hash64_bytes(b + p + 8, (size_t)bytes));
        p += 16 + (size_t)bytes;
    }
}

/* What the cache holds, as text to compare. */
static void describe(struct cache *c, struct strbuf *out)
{
    for (size_t i = 0; i < c->files.len; i++) {
        struct source_file *f = &c->files.items[i];
        struct scan_result *r = &f->result;
        cache_decode_imports(c, r);
        strbuf_addf(out, "%s %lld %llu job=%d ok=%d decl=%d tt=%d\n", f->path,
                    (long long)f->st.mtime_ns, (unsigned long long)f->st.size, r->is_job, r->ok,
                    r->has_decl, r->is_timetable);
        for (size_t k = 0; k < r->imports.len; k++) {
            strbuf_addf(out, " import %s %d %u", r->imports.items[k].module,
                        r->imports.items[k].level, r->imports.items[k].line);
            for (size_t n = 0; n < r->imports.items[k].names.len; n++)
                strbuf_addf(out, " %s", r->imports.items[k].names.items[n]);
            strbuf_addch(out, '\n');
        }
        for (size_t k = 0; k < r->diags.items.len; k++) {
            const struct diag *d = &r->diags.items.items[k];
            strbuf_addf(out, " diag %d %u:%u %s | %s\n", d->severity, d->loc.line, d->loc.col,
                        d->message, d->hint ? d->hint : "-");
        }
        if (r->has_decl && r->ok) {
            struct strbuf json = STRBUF_INIT;
            decl_to_json(&r->decl, &json);
            strbuf_addf(out, " decl %s\n", json.buf);
            strbuf_release(&json);
        } else if (r->has_decl) {
            for (size_t k = 0; k < r->decl.deps.len; k++)
                strbuf_addf(out, " dep %s\n", r->decl.deps.items[k].job);
        }
        for (size_t k = 0; r->is_timetable && k < r->timetable.len; k++) {
            const struct timetable_entry *e = &r->timetable.items[k];
            strbuf_addf(out, " entry %s %s %s %s\n", e->id, e->job, e->schedule,
                        e->kwargs_json ? e->kwargs_json : "-");
        }
    }
}

static void read_one(const uint8_t *data, size_t size, const char *root)
{
    fuzz_write(input_path, data, size);
    struct cache c;
    struct strbuf why = STRBUF_INIT;
    if (cache_read(input_path, root, &c, &why) == 0) {
        struct strbuf first = STRBUF_INIT, second = STRBUF_INIT;
        describe(&c, &first);
        if (cache_write(again_path, root, c.files.items, c.files.len) < 0)
            fuzz_fail("cannot write back the cache just read");
        struct cache again;
        strbuf_reset(&why);
        if (cache_read(again_path, root, &again, &why) < 0)
            fuzz_fail("the cache written from one just read does not read: %s", why.buf);
        describe(&again, &second);
        if (strcmp(first.buf ? first.buf : "", second.buf ? second.buf : "") != 0)
            fuzz_fail("writing and reading changed the cache:\n--- read\n%s\n--- again\n%s",
                      strbuf_str(&first), strbuf_str(&second));
        cache_release(&again);
        strbuf_release(&first);
        strbuf_release(&second);
    }
    cache_release(&c);
    strbuf_release(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_one(data, size, "src");
    uint8_t *fixed = malloc(size ? size : 1);
    memcpy(fixed, data, size);
    char *root;
    fix_checks(fixed, size, &root);
    if (root)
        read_one(fixed, size, root);
    free(root);
    free(fixed);
    return 0;
}
