/* cli_db.c: `stau db copy`: move a project's run history from one state database to
 * another (the SQLite file to a PostgreSQL server and back) without loss, checked
 * by reading the copy back: run count, file count and a checksum must agree.
 *
 * The checksum is XXH3-128 over, in id order, each run's digest (the hash of its
 * JSON as `history --json` prints it, plus its file evidence), then, by path (byte
 * order, whatever a server's collation), each remembered file's digest. It is
 * computed from what each side returns, so it catches a backend that drops, rounds
 * or re-encodes anything. */
#include "cli.h"
#include "fingerprint.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] = "stau db copy [--from DB] [--to DB]";
static const char db_usage[] = "stau db copy [--from DB] [--to DB] | stau db recover";

/* How many ids or paths a mismatch names of each kind. */
enum { MISMATCH_SHOWN = 5 };

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* One run as the checksum sees it. */
struct run_digest {
    int64_t id;
    struct hash128 hash;
};

/* One remembered file as the checksum sees it; path borrowed from its list. */
struct file_digest {
    const char *path;
    struct hash128 hash;
};

/* What one side holds, reduced to what is compared. */
struct digests {
    VEC(struct run_digest) runs;   /* by id */
    VEC(struct file_digest) files; /* by path */
    struct hash128 checksum;
};

static void digests_release(struct digests *d)
{
    VEC_FREE(&d->runs);
    VEC_FREE(&d->files);
}

static int by_id(const void *a, const void *b)
{
    int64_t x = ((const struct run_record *)a)->id, y = ((const struct run_record *)b)->id;
    return (x > y) - (x < y);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct store_file *)a)->path, ((const struct store_file *)b)->path);
}

/* Sort runs by id and files by path, and digest them into d (paths borrowed from
 * files, which must outlive d). */
static void digest(struct run_list *runs, struct store_file_list *files, struct digests *d)
{
    memset(d, 0, sizeof(*d));
    if (runs->len)
        qsort(runs->items, runs->len, sizeof(runs->items[0]), by_id);
    if (files->len)
        qsort(files->items, files->len, sizeof(files->items[0]), by_path);
    struct hash_stream *all = hash_stream_new();
    struct strbuf sb = STRBUF_INIT;
    char hex[33];
    hash_stream_add_str(all, "stau db copy: runs");
    for (size_t i = 0; i < runs->len; i++) {
        const struct run_record *r = &runs->items[i];
        strbuf_reset(&sb);
        run_record_json_fields(r, &sb);
        /* the evidence is the one field the JSON leaves out; NULL differs from "" */
        strbuf_addch(&sb, '\0');
        strbuf_addch(&sb, r->files ? '1' : '0');
        strbuf_addstr(&sb, r->files ? r->files : "");
        struct run_digest rd = {r->id, hash_bytes(sb.buf, sb.len)};
        VEC_PUSH(&d->runs, rd);
        fingerprint_hex(rd.hash, hex);
        hash_stream_add_str(all, hex);
    }
    hash_stream_add_str(all, "files");
    for (size_t i = 0; i < files->len; i++) {
        const struct store_file *f = &files->items[i];
        fingerprint_hex(f->hash, hex);
        strbuf_reset(&sb);
        strbuf_addstr(&sb, f->path);
        strbuf_addf(&sb, "%c%lld %lld %llu %llu %llu %s", '\0', (long long)f->mtime_ns,
                    (long long)f->ctime_ns, (unsigned long long)f->size,
                    (unsigned long long)f->inode, (unsigned long long)f->device, hex);
        struct file_digest fd = {f->path, hash_bytes(sb.buf, sb.len)};
        VEC_PUSH(&d->files, fd);
        fingerprint_hex(fd.hash, hex);
        hash_stream_add_str(all, hex);
    }
    d->checksum = hash_stream_finish(all);
    strbuf_release(&sb);
}

/* A list of what differs, "runs 4, 9 and 3 more", built up one item at a time. */
struct names {
    struct strbuf text;
    size_t count;
};

static void names_add_run(struct names *n, int64_t id)
{
    if (n->count++ < MISMATCH_SHOWN)
        strbuf_addf(&n->text, "%s%lld", n->text.len ? ", " : "", (long long)id);
}

static void names_add_file(struct names *n, const char *path)
{
    if (n->count++ < MISMATCH_SHOWN)
        strbuf_addf(&n->text, "%s'%s'", n->text.len ? ", " : "", path);
}

/* Append "; LABEL: NOUN NAMES" when there are any (noun: "run" or "runs" as their
 * count says; NULL for none), and release n. */
static void names_flush(struct names *n, const char *label, const char *one, const char *many,
                        struct strbuf *out)
{
    if (n->count) {
        const char *noun = one ? plural(n->count, one, many) : NULL;
        strbuf_addf(out, "; %s: %s%s%s", label, noun ? noun : "", noun ? " " : "",
                    strbuf_str(&n->text));
        if (n->count > MISMATCH_SHOWN)
            strbuf_addf(out, " and %zu more", n->count - MISMATCH_SHOWN);
    }
    strbuf_release(&n->text);
}

/* Say what differs between the source a and the copy b (both sorted); false when
 * nothing does. */
static bool compare(const struct digests *a, const struct digests *b, const char *from,
                    const char *to, struct strbuf *out)
{
    bool differ = !hash_equal(a->checksum, b->checksum) || a->runs.len != b->runs.len ||
                  a->files.len != b->files.len;
    if (!differ)
        return false;
    struct names missing = {STRBUF_INIT, 0}, extra = {STRBUF_INIT, 0}, changed = {STRBUF_INIT, 0};
    size_t i = 0, k = 0;
    while (i < a->runs.len || k < b->runs.len) {
        if (k == b->runs.len || (i < a->runs.len && a->runs.items[i].id < b->runs.items[k].id)) {
            names_add_run(&missing, a->runs.items[i++].id);
        } else if (i == a->runs.len || b->runs.items[k].id < a->runs.items[i].id) {
            names_add_run(&extra, b->runs.items[k++].id);
        } else {
            if (!hash_equal(a->runs.items[i].hash, b->runs.items[k].hash))
                names_add_run(&changed, a->runs.items[i].id);
            i++;
            k++;
        }
    }
    if (missing.count || extra.count || changed.count || a->runs.len != b->runs.len) {
        strbuf_addf(out, "\n  runs: %zu in '%s', %zu in '%s'", a->runs.len, from, b->runs.len, to);
        names_flush(&missing, "missing from the copy", "run", "runs", out);
        names_flush(&extra, "not in the source", "run", "runs", out);
        names_flush(&changed, "different", "run", "runs", out);
    } else {
        strbuf_release(&missing.text);
        strbuf_release(&extra.text);
        strbuf_release(&changed.text);
    }
    struct names fmissing = {STRBUF_INIT, 0}, fextra = {STRBUF_INIT, 0},
                 fchanged = {STRBUF_INIT, 0};
    i = k = 0;
    while (i < a->files.len || k < b->files.len) {
        int order = k == b->files.len   ? -1
                    : i == a->files.len ? 1
                                        : strcmp(a->files.items[i].path, b->files.items[k].path);
        if (order < 0) {
            names_add_file(&fmissing, a->files.items[i++].path);
        } else if (order > 0) {
            names_add_file(&fextra, b->files.items[k++].path);
        } else {
            if (!hash_equal(a->files.items[i].hash, b->files.items[k].hash))
                names_add_file(&fchanged, a->files.items[i].path);
            i++;
            k++;
        }
    }
    if (fmissing.count || fextra.count || fchanged.count || a->files.len != b->files.len) {
        strbuf_addf(out, "\n  files: %zu in '%s', %zu in '%s'", a->files.len, from, b->files.len,
                    to);
        names_flush(&fmissing, "missing from the copy", NULL, NULL, out);
        names_flush(&fextra, "not in the source", NULL, NULL, out);
        names_flush(&fchanged, "different", NULL, NULL, out);
    } else {
        strbuf_release(&fmissing.text);
        strbuf_release(&fextra.text);
        strbuf_release(&fchanged.text);
    }
    char ha[33], hb[33];
    fingerprint_hex(a->checksum, ha);
    fingerprint_hex(b->checksum, hb);
    strbuf_addf(out, "\n  checksum: %s in '%s', %s in '%s'", ha, from, hb, to);
    return true;
}

/* The file a location names, or NULL for a server. */
static const char *location_file(const char *location)
{
    if (store_location_is_server(location))
        return NULL;
    return starts_with(location, "sqlite:") ? location + strlen("sqlite:") : location;
}

/* Remove an SQLite file this command made (and what SQLite keeps beside it). */
static void remove_made(const char *file)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char *path = xprintf("%s%s", file, suffixes[i]);
        (void)unlink(path);
        free(path);
    }
}

static struct store *open_store(const char *location, const char *schema)
{
    struct strbuf err = STRBUF_INIT;
    struct store *st = store_open(location, schema, &err);
    if (!st)
        error("%s", strbuf_str(&err));
    strbuf_release(&err);
    return st;
}

/* Whether st holds a run or a remembered file: 1, 0, or -1 after a message. */
static int holds_anything(struct store *st)
{
    struct run_list one = {0};
    struct store_file_list files = {0};
    int rc = store_history(st, NULL, 1, &one);
    if (rc == 0 && !one.len)
        rc = store_files_all(st, &files);
    if (rc < 0)
        error("%s", store_error(st));
    else
        rc = one.len || files.len;
    run_list_release(&one);
    store_file_list_release(&files);
    return rc;
}

/* Every run and remembered file of st, read as one snapshot, with the generation
 * the snapshot had; -1 after a message. All runs are held in memory at once: a run
 * takes from a few hundred bytes to a few KB with its reasons and file evidence, so
 * a million runs take one to a few GB. Acceptable for now; reading in pages needs a
 * store_history that starts after a given id (the copy is checked by digests, so
 * only one side's records are ever held at a time). */
static int read_all(struct store *st, struct run_list *runs, struct store_file_list *files,
                    int64_t *generation)
{
    bool snapshot = store_snapshot_begin(st) == 0; /* if not, reads go on one by one */
    int rc = 0;
    if (store_generation(st, generation) < 0 || store_history(st, NULL, 0, runs) < 0 ||
        store_files_all(st, files) < 0)
        rc = error("%s", store_error(st));
    if (snapshot && store_snapshot_end(st) < 0 && rc == 0)
        rc = error("%s", store_error(st));
    return rc;
}

static int db_copy(const struct cli *c)
{
    if (c->arg_count > 1)
        return cli_usage_error("'db copy' takes no arguments: name the databases with --from "
                               "and --to",
                               usage);
    if (!c->from && !c->to)
        return cli_usage_error("'db copy' needs --from DB or --to DB (the one left out is "
                               "the project's own database)",
                               usage);
    if ((c->from && !*c->from) || (c->to && !*c->to))
        return cli_usage_error(c->from && !*c->from ? "--from needs a database (a file, or "
                                                      "postgresql://...)"
                                                    : "--to needs a database (a file, or "
                                                      "postgresql://...)",
                               usage);
    const char *schema = cli_db_schema();

    /* The one left out is the database `stau` itself uses (--db, $STAU_DB, else
       .stau/state.db, which loading the project makes room for). */
    struct project p;
    bool loaded = false;
    char *own = NULL;
    if (!c->from || !c->to) {
        if (project_load(&p, &c->project) < 0) {
            project_release(&p);
            return EXIT_USAGE;
        }
        loaded = true;
        own = cli_state_path(&p);
        if (starts_with(own, "./") && own[2]) /* the project's file as `-C .` names it */
            memmove(own, own + 2, strlen(own + 2) + 1);
    }
    const char *from = c->from ? c->from : own, *to = c->to ? c->to : own;
    const char *from_file = location_file(from), *to_file = location_file(to);
    struct store *a = NULL, *b = NULL;
    struct run_list runs = {0};
    struct store_file_list files = {0}, copied_files = {0};
    struct digests da = {0}, db = {0};
    bool made = false; /* whether this command created the file to_file */
    int rc = EXIT_USAGE;

    struct stat sa, sb;
    if (from_file && stat(from_file, &sa) != 0) {
        fprintf(stderr, "stau: error: no state database at '%s'\n", from_file);
        if (!c->from)
            fprintf(stderr, "  hint: nothing ran here yet; name the database to copy with "
                            "--from\n");
        goto out;
    }
    bool to_exists = !to_file || stat(to_file, &sb) == 0;
    if (from_file && to_file && to_exists && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) {
        fprintf(stderr, "stau: error: --from and --to are the same database '%s'\n", from_file);
        goto out;
    }
    if (!(a = open_store(from, schema)))
        goto out;
    int held = holds_anything(a);
    if (held < 0)
        goto out;
    if (!held) {
        fprintf(stderr, "stau: error: state database '%s' holds no runs: nothing to copy\n",
                a->location);
        goto out;
    }
    made = to_file && !to_exists;
    if (made && !c->to && project_make_state_dir(&p) < 0)
        goto out;
    if (!(b = open_store(to, schema)))
        goto out;
    if (strcmp(a->location, b->location) == 0) {
        fprintf(stderr, "stau: error: --from and --to are the same database '%s'\n", a->location);
        goto out;
    }
    /* Refuse a destination with runs before reading the whole source: importing
       nothing into it fails with the store's own message. */
    struct run_list probe = {0};
    int probed = store_history(b, NULL, 1, &probe);
    bool has_runs = probe.len > 0;
    run_list_release(&probe);
    if (probed < 0) {
        error("%s", store_error(b));
        goto out;
    }
    if (has_runs) {
        if (store_import(b, NULL, 0, NULL, 0) < 0)
            error("%s", store_error(b));
        else
            error("cannot copy runs into state database '%s': it holds runs already; copy "
                  "into a new database",
                  b->location);
        goto out;
    }

    int64_t generation = 0;
    if (read_all(a, &runs, &files, &generation) < 0)
        goto out;
    digest(&runs, &files, &da);
    size_t active = 0;
    for (size_t i = 0; i < runs.len; i++)
        active += !run_status_finished(runs.items[i].status);
    if (store_import(b, runs.items, runs.len, files.items, files.len) < 0) {
        error("%s", store_error(b));
        goto out;
    }
    made = false;            /* it holds the copy now: kept whatever the check finds */
    run_list_release(&runs); /* only its digests are compared: the copy is read instead */

    int64_t unused;
    if (read_all(b, &runs, &copied_files, &unused) < 0)
        goto out;
    digest(&runs, &copied_files, &db);
    struct strbuf diff = STRBUF_INIT;
    if (compare(&da, &db, a->location, b->location, &diff)) {
        fprintf(stderr,
                "stau: error: the copy in '%s' does not match '%s'%s\n"
                "  hint: '%s' keeps what was written, to look into; remove it before copying "
                "again\n",
                b->location, a->location, diff.buf, b->location);
        strbuf_release(&diff);
        goto out;
    }
    strbuf_release(&diff);

    int64_t now_generation;
    if (store_generation(a, &now_generation) == 0 && now_generation != generation)
        warn("'%s' changed while it was copied (a stau is using it): the copy holds it as it "
             "was when the copy began",
             a->location);
    if (active)
        warn("%zu %s still queued or running in '%s': the copy holds %s as %s then", active,
             plural(active, "run was", "runs were"), a->location, plural(active, "it", "them"),
             plural(active, "it was", "they were"));
    char hex[33];
    fingerprint_hex(da.checksum, hex);
    printf("copied %zu %s and %zu %s from '%s' to '%s' (checksum %s on both)\n", da.runs.len,
           plural(da.runs.len, "run", "runs"), da.files.len, plural(da.files.len, "file", "files"),
           a->location, b->location, hex);
    rc = EXIT_OK;
out:
    digests_release(&da);
    digests_release(&db);
    run_list_release(&runs);
    store_file_list_release(&files);
    store_file_list_release(&copied_files);
    store_close(a);
    store_close(b);
    if (made)
        remove_made(to_file);
    free(own);
    if (loaded)
        project_release_at_exit(&p);
    return rc;
}

int cli_db(const struct cli *c)
{
    static const char *const subcommands[] = {"copy", "recover", NULL};
    if (!c->arg_count)
        return cli_usage_error("'db' needs a subcommand: copy or recover", db_usage);
    const char *sub = c->args[0];
    if (strcmp(sub, "copy") == 0)
        return db_copy(c);
    if (strcmp(sub, "recover") == 0)
        return cli_db_recover(c);
    const char *close = did_you_mean(sub, subcommands);
    fprintf(stderr, "stau: error: unknown db subcommand '%s'\n", sub);
    if (close)
        fprintf(stderr, "  hint: did you mean 'stau db %s'?\n", close);
    else
        fprintf(stderr, "  hint: usage: %s\n", db_usage);
    return EXIT_USAGE;
}
