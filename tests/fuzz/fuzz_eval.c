/* fuzz_eval.c: a whole Python file through the scanner and the evaluator, as
 * project.c reads a job file (scan.c, eval.c, decl.c, pyscan.c, diag.c).
 *
 * Oracles besides the sanitizers: a declaration read without errors gives valid
 * JSON (decl_to_json, what `list --json` and the config fingerprint print), every
 * diagnostic prints with its source line, and the graph cache gives back exactly
 * what the scanner gave (a write and a read of the result print the same JSON).
 *
 * Seeds: the fixtures' job files (tests/fuzz/corpus/eval). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cache.h"
#include "scan.h"

static struct scanner *scanner;
static char *source_path, *cache_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    scanner = scanner_new();
    if (!scanner)
        abort();
    char *src = fuzz_path("src");
    mkdir(src, 0700);
    free(src);
    source_path = fuzz_path("src/fuzz.py");
    cache_path = fuzz_path("graph.cache");
    return 0;
}

/* What a result says, as text to compare: the declaration and the diagnostics. */
static void describe(const struct scan_result *r, struct strbuf *out)
{
    strbuf_addf(out, "job=%d ok=%d decl=%d imports=%zu\n", r->is_job, r->ok, r->has_decl,
                r->imports.len);
    if (r->ok)
        decl_to_json(&r->decl, out);
    else if (r->has_decl)
        for (size_t i = 0; i < r->decl.deps.len; i++)
            strbuf_addf(out, "dep %s\n", r->decl.deps.items[i].job);
    for (size_t i = 0; i < r->diags.items.len; i++) {
        const struct diag *d = &r->diags.items.items[i];
        strbuf_addf(out, "\n%d %u:%u-%u:%u %s | %s", d->severity, d->loc.line, d->loc.col,
                    d->loc.end_line, d->loc.end_col, d->message, d->hint ? d->hint : "-");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* as project.c's read_one: NUL bytes mean no Python source; a lone CR ends a line */
    if (memchr(data, '\0', size))
        return 0;
    char *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    for (size_t i = 0; i < size; i++)
        if (src[i] == '\r' && (i + 1 == size || src[i + 1] != '\n'))
            src[i] = '\n';
    fuzz_write(source_path, src, size);

    struct source_file f = {0};
    f.path = "src/fuzz.py";
    f.st.size = size;
    f.st.mtime_ns = 1;
    scanner_scan(scanner, f.path, "fuzz", src, size, &f.result);
    struct diag_printer printer = {fuzz_scratch(), "", false};
    diag_print_all(fuzz_devnull(), &printer, &f.result.diags);

    struct strbuf want = STRBUF_INIT;
    describe(&f.result, &want);
    if (f.result.ok) {
        struct strbuf json = STRBUF_INIT;
        decl_to_json(&f.result.decl, &json);
        if (!json_valid(json.buf, '{'))
            fuzz_fail("decl_to_json gave invalid JSON: %s", json.buf);
        strbuf_release(&json);
    }

    /* the graph cache keeps what the scanner found */
    if (cache_write(cache_path, "fuzz-root", &f, 1) < 0)
        fuzz_fail("cache_write failed");
    struct cache c;
    struct strbuf why = STRBUF_INIT;
    if (cache_read(cache_path, "fuzz-root", &c, &why) < 0 || c.files.len != 1)
        fuzz_fail("the cache just written does not read back: %s", why.buf);
    if (cache_decode_imports(&c, &c.files.items[0].result) < 0)
        fuzz_fail("the imports just written do not decode");
    struct strbuf got = STRBUF_INIT;
    describe(&c.files.items[0].result, &got);
    if (strcmp(want.buf, got.buf) != 0)
        fuzz_fail("the cache changed the result:\n--- scanned\n%s\n--- read back\n%s", want.buf,
                  got.buf);
    cache_release(&c);
    strbuf_release(&why);
    strbuf_release(&want);
    strbuf_release(&got);
    scan_result_release(&f.result);
    free(src);
    return 0;
}
