/* Unit tests of the graph cache: round trip, and every kind of damage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cache.h"
#include "unit.h"

static const char *job_source =
    "import common.io\nfrom . import helpers as h\nNAME = \"pkg.job\"\n"
    "STAU_CONFIG = {\"dependencies\": [\"a\", {\"job\": \"b\", \"max_lag\": 1.5, \"kwargs\": "
    "{\"x\": [1]}}],"
    " \"schedule\": \"@daily\", \"tags\": [\"t\"], \"kwargs\": {\"k\": NAME}, \"work_ids\": [3],"
    " \"dependancies\": 1, \"job_type\": NAME}\n";

/* Two files: a job (with a warning) and a plain module. */
static void make_files(struct source_file files[2])
{
    struct scanner *sc = scanner_new();
    memset(files, 0, 2 * sizeof(files[0]));
    files[0].path = xstrdup("src/pkg/job.py");
    files[0].st = (struct file_stat){111, 222, 333, 444, 555};
    files[0].hash = hash_bytes(job_source, strlen(job_source));
    scanner_scan(sc, files[0].path, "pkg.job", job_source, strlen(job_source), &files[0].result);
    const char *plain = "import os\n";
    files[1].path = xstrdup("src/pkg/plain.py");
    files[1].st = (struct file_stat){1, 2, 3, 4, 5};
    files[1].hash = hash_bytes(plain, strlen(plain));
    scanner_scan(sc, files[1].path, "pkg.plain", plain, strlen(plain), &files[1].result);
    scanner_free(sc);
}

static char *describe(const struct source_file *f)
{
    struct strbuf sb = STRBUF_INIT;
    const struct scan_result *r = &f->result;
    strbuf_addf(&sb, "%s %lld %lld %llu %llu %llu %llx %llx job=%d ok=%d loc=%u:%u\n", f->path,
                (long long)f->st.mtime_ns, (long long)f->st.ctime_ns,
                (unsigned long long)f->st.size, (unsigned long long)f->st.inode,
                (unsigned long long)f->st.device, (unsigned long long)f->hash.low,
                (unsigned long long)f->hash.high, r->is_job, r->ok, r->decl_loc.line,
                r->decl_loc.col);
    for (size_t i = 0; i < r->imports.len; i++) {
        strbuf_addf(&sb, "import %s level %d line %u:", r->imports.items[i].module,
                    r->imports.items[i].level, r->imports.items[i].line);
        for (size_t k = 0; k < r->imports.items[i].names.len; k++)
            strbuf_addf(&sb, " %s", r->imports.items[i].names.items[k]);
        strbuf_addch(&sb, '\n');
    }
    for (size_t i = 0; i < r->diags.items.len; i++) {
        const struct diag *d = &r->diags.items.items[i];
        strbuf_addf(&sb, "diag %d %s %u:%u-%u:%u %s / %s\n", d->severity, d->path, d->loc.line,
                    d->loc.col, d->loc.end_line, d->loc.end_col, d->message,
                    d->hint ? d->hint : "-");
    }
    if (r->ok) {
        decl_to_json(&r->decl, &sb);
        strbuf_addf(&sb, "\ndep0 at %u:%u\n", r->decl.deps.items[0].loc.line,
                    r->decl.deps.items[0].loc.col);
    }
    return strbuf_detach(&sb);
}

static char *write_bytes(const char *name, const void *data, size_t len)
{
    char *path = xprintf("%s/%s", unit_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        CHECK(!"cannot write test file");
    return path;
}

static void read_file(const char *path, struct strbuf *out)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_add(out, buf, n);
    if (f)
        fclose(f);
}

UNIT_TEST(cache_round_trip)
{
    struct source_file files[2];
    make_files(files);
    CHECK(files[0].result.ok);
    CHECK_INT(files[0].result.diags.warnings, 1);
    char *path = xprintf("%s/graph.cache", unit_tmpdir());
    CHECK_INT(cache_write(path, "src", files, 2), 0);
    struct cache c;
    struct strbuf why = STRBUF_INIT;
    CHECK_INT(cache_read(path, "src", &c, &why), 0);
    CHECK_STR(why.buf, NULL);
    if (CHECK_INT(c.files.len, 2)) {
        for (size_t i = 0; i < 2; i++) {
            CHECK(c.files.items[i].result.lazy_imports != NULL);
            cache_decode_imports(&c, &c.files.items[i].result);
            char *want = describe(&files[i]), *got = describe(&c.files.items[i]);
            CHECK_STR(got, want);
            free(want);
            free(got);
        }
    }
    CHECK(c.written_ns > 0);
    cache_release(&c);
    /* Another jobs root: not usable, but no warning either. */
    CHECK_INT(cache_read(path, "jobs", &c, &why), -1);
    CHECK_STR(why.buf, NULL);
    CHECK_INT(c.files.len, 0);
    /* A missing cache is simply empty. */
    char *missing = xprintf("%s/none", unit_tmpdir());
    CHECK_INT(cache_read(missing, "src", &c, &why), 0);
    CHECK_INT(c.files.len, 0);
    free(missing);
    for (size_t i = 0; i < 2; i++)
        source_file_release(&files[i]);
    strbuf_release(&why);
    free(path);
}

static void expect_unusable(const char *name, const void *data, size_t len, const char *reason)
{
    char *path = write_bytes(name, data, len);
    struct cache c;
    struct strbuf why = STRBUF_INIT;
    CHECK_INT(cache_read(path, "src", &c, &why), -1);
    if (reason)
        CHECK_STR(why.buf, reason);
    CHECK_INT(c.files.len, 0);
    strbuf_release(&why);
    free(path);
}

UNIT_TEST(cache_damage)
{
    struct source_file files[2];
    make_files(files);
    char *path = xprintf("%s/good.cache", unit_tmpdir());
    CHECK_INT(cache_write(path, "src", files, 2), 0);
    struct strbuf good = STRBUF_INIT;
    read_file(path, &good);
    CHECK(good.len > 100);

    expect_unusable("empty", "", 0, "it is not a stau graph cache");
    expect_unusable("foreign", "#!/bin/sh\necho hello\n", 21, "it is not a stau graph cache");
    /* Every truncation is caught, never a crash or a partial read. */
    for (size_t n = 16; n < good.len; n += 1)
        expect_unusable("truncated", good.buf, n, NULL);
    /* Every flipped byte after the header is caught by the check sum. */
    for (size_t i = 24; i < good.len; i += 7) {
        char *copy = xstrndup(good.buf, good.len);
        copy[i] ^= 0x40;
        expect_unusable("flipped", copy, good.len, "it is truncated or damaged");
        free(copy);
    }
    /* An older format version is rebuilt without a warning. */
    char *older = xstrndup(good.buf, good.len);
    older[16] ^= 0x7f;
    {
        char *older_path = write_bytes("older", older, good.len);
        struct cache c;
        struct strbuf why = STRBUF_INIT;
        CHECK_INT(cache_read(older_path, "src", &c, &why), -1);
        CHECK_INT(why.len, 0); /* no reason given: no warning is shown */
        strbuf_release(&why);
        free(older_path);
    }
    free(older);
    /* Random bytes. */
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(round * 13 % 700);
        char *junk = xmalloc(len + 1);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (char)(seed >> 16);
        }
        if (len > 16 && round % 2)
            memcpy(junk, "stau graph cache", 16); /* past the magic, into the body */
        expect_unusable("junk", junk, len, NULL);
        free(junk);
    }
    strbuf_release(&good);
    for (size_t i = 0; i < 2; i++)
        source_file_release(&files[i]);
    free(path);
}

UNIT_TEST(cache_appends)
{
    struct source_file files[2];
    make_files(files);
    char *path = xprintf("%s/graph.cache", unit_tmpdir());
    CHECK_INT(cache_write(path, "src", files, 2), 0);
    struct strbuf base = STRBUF_INIT;
    read_file(path, &base);

    /* The job changed, a new file "src/a.py" appeared, plain.py is gone. */
    struct source_file changed = {0}, added = {0};
    changed.path = xstrdup("src/pkg/job.py");
    changed.st = (struct file_stat){999, 2, 3, 4, 5};
    added.path = xstrdup("src/a.py");
    added.st = (struct file_stat){7, 7, 7, 7, 7};
    const struct source_file *list[] = {&changed, &added};
    char *gone[] = {"src/pkg/plain.py"};
    CHECK_INT(cache_append(path, list, 2, gone, 1), 0);

    struct cache c;
    struct strbuf why = STRBUF_INIT;
    CHECK_INT(cache_read(path, "src", &c, &why), 0);
    CHECK_INT(c.sections, 2);
    CHECK(!c.torn);
    if (CHECK_INT(c.files.len, 2)) {
        CHECK_STR(c.files.items[0].path, "src/a.py");
        CHECK_STR(c.files.items[1].path, "src/pkg/job.py");
        CHECK_INT(c.files.items[1].st.mtime_ns, 999);
        CHECK(!c.files.items[1].result.is_job);
    }
    cache_release(&c);

    /* A crash part-way through a second append: the torn section is ignored. */
    struct strbuf full = STRBUF_INIT;
    read_file(path, &full);
    CHECK_INT(cache_append(path, list, 1, NULL, 0), 0);
    struct strbuf longer = STRBUF_INIT;
    read_file(path, &longer);
    for (size_t cut = full.len + 1; cut < longer.len; cut += 5) {
        char *torn = write_bytes("torn.cache", longer.buf, cut);
        CHECK_INT(cache_read(torn, "src", &c, &why), 0);
        CHECK(c.torn);
        CHECK_INT(c.files.len, 2);
        CHECK_INT(why.len, 0);
        cache_release(&c);
        free(torn);
    }
    strbuf_release(&full);
    strbuf_release(&longer);
    strbuf_release(&base);
    strbuf_release(&why);
    source_file_release(&changed);
    source_file_release(&added);
    for (size_t i = 0; i < 2; i++)
        source_file_release(&files[i]);
    free(path);
}
