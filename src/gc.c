/* gc.c: `stau gc` (gc.h), driven by the files on disk rather than by the history.
 *
 * A year of history holds millions of runs, but after each gc few of them still have
 * files. So gc reads the folders, and of the history only what they point at:
 *
 * - The archive folders are listed. An archive's name carries its run's id, so those
 *   runs are read by id, a page of ids per request (store_gc_runs), oldest first:
 *   their logs go once their archive reads back whole (step 1), and the runs that may
 *   lose their archive by age are noted, with their jobs.
 * - .stau/logs is listed. The log of a run whose archive is there was dealt with in
 *   step 1 (a hash of each such log path is kept to tell). Every other log names its
 *   job, and the job's runs are read newest first, a page at a time (store_gc_page):
 *   a run's log is looked for until it is met, which tells its run's place among the
 *   job's runs (keep_last) (step 2). A select_work log is a run's log only when its
 *   selection failed, and no run records those of the selections that worked (gc used
 *   to leave them for ever): each goes once keep_last of its job's runs were queued
 *   after it started and it is older than older_than, which the walk tells within
 *   about keep_last runs. A run's log that no run records takes its job's whole
 *   history to tell, every time; stau leaves none.
 * - The same walk finds, for a job with archives that may go, its keep_last-th newest
 *   run with an archive (older ones are past keep_last); it stops there, or once below
 *   the job's oldest archive that may go.
 * - The archives noted are removed unless kept (each job's last success is read once),
 *   and forgotten by the store a page at a time (store_forget_archives) (step 3).
 *
 * Reading an archive back (step 1) is most of the time when many logs go: the archives
 * of a page are read on a thread per CPU, and what they found is then said in order.
 *
 * A run whose archive is gone already (removed by hand) is in no folder: gc forgets
 * it, as ever, when the walk meets it, which it does for those next below their job's
 * kept runs (when removing, the walk goes on down through runs that still record an
 * archive, up to the first one whose archive was forgotten before: each gc forgets
 * those that came below since the last). One further down (the old last success of a
 * job, past the kept ones when its file went) keeps its path. A run of another host
 * whose archive is in that host's .stau/ is left to gc there.
 *
 * Memory: 8 bytes per archive in the folders (its id, then a hash of its run's log
 * path), 24 more for one that may go, the paths of the logs left for step 2, a page
 * of runs and a few words per job met. A page starts at keep_last and a few runs (a walk
 * mostly ends there) and doubles up to opt->batch runs.
 */
#include "gc.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archiver.h"
#include "paths.h"
#include "store.h"
#include "work.h"

/* A log of .stau/logs that step 1 did not account for. */
struct leftover {
    const char *path; /* as runs record it: .stau/logs/NAME (in the arena) */
    size_t job;       /* its job, an index in gc.jobs */
    bool select;      /* a select_work log */
    int64_t started;  /* a select_work log's: when the selection started (its name says) */
    bool settled;     /* its run was met; for a select_work log, whether it goes is known */
};

/* A log step 2 removes: a run's (by its id, newest first), then select_work logs (by
 * their time, newest first). */
struct doomed_log {
    bool select;
    int64_t order; /* the run's id, or the selection's start */
    const char *path;
};

/* A job met in the folders. */
struct gc_job {
    const char *name;          /* in the arena */
    int64_t oldest_candidate;  /* its oldest run whose archive may go by age (INT64_MAX: none) */
    int64_t keep_from;         /* its runs below this id are past its keep_last newest runs
                                  with an archive (0: none is; INT64_MAX: all are) */
    size_t logs_from, logs_to; /* its leftovers: [from, to) in gc.leftovers once sorted */
    int success;               /* its last success: 0 not read yet, 1 none, 2 read, -1 unknown */
    int64_t success_id;        /* when read: that run, its batch, and its chunks (0: none) */
    int64_t success_batch;
    int success_chunks;
};

struct ids {
    int64_t *items;
    size_t len, cap;
};

/* A run whose archive may go, as step 3 needs it (so it reads no run again). */
struct candidate {
    int64_t id, batch;
    uint32_t job;  /* an index in gc.jobs */
    uint32_t path; /* its archive: 0 .stau/archive/<job>.<id>.tar.zst, 1 the same in the
                      --archive folder, else 2 + its index in gc.odd_paths */
};

struct gc {
    struct store *st;
    const char *root;
    const struct gc_options *opt;
    struct gc_result *out;
    size_t batch;                     /* opt->batch, or the default */
    struct arena arena;               /* job names and log paths */
    struct strmap job_index;          /* job name -> index in jobs */
    VEC(struct gc_job) jobs;          /* every job met */
    struct ids archives;              /* run ids of the archives in the folders */
    VEC(struct candidate) candidates; /* of those, the runs that may lose it by age */
    struct strlist odd_paths;         /* their archive paths of another form (in the arena) */
    VEC(uint64_t) accounted;          /* hashes of the log paths of those runs */
    VEC(struct leftover) leftovers;   /* the other logs */
    VEC(struct doomed_log) doomed;    /* step 2's logs */
};

static bool file_size(const char *path, int64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    *size = (int64_t)st.st_size;
    return true;
}

/* Remove (or with dry_run, only measure) one file gc chose, adding its bytes to
 * out->freed and counting it in *count: 1; 0 when it is gone already; -1 after a
 * message (out->failed set). */
static int gc_remove(struct gc *g, const char *rel, const char *what, size_t *count)
{
    char *path = paths_resolve(g->root, rel);
    int64_t size = 0;
    int rc = 1;
    if (!file_size(path, &size)) {
        rc = 0;
    } else if (!g->opt->dry_run && unlink(path) != 0 && errno != ENOENT) {
        rc = error("cannot remove '%s':", path);
        g->out->failed = true;
    } else {
        printf("%s %s %s (%lld bytes)\n", g->opt->dry_run ? "would remove" : "removed", what, rel,
               (long long)size);
        g->out->freed += size;
        (*count)++;
    }
    free(path);
    return rc;
}

/* -1 after saying what the store said. */
static int store_failed(struct gc *g)
{
    return error("%s", store_error(g->st));
}

static size_t job_of(struct gc *g, const char *name, size_t len)
{
    size_t k;
    if (strmap_get(&g->job_index, name, len, &k))
        return k;
    struct gc_job job = {.name = arena_strndup(&g->arena, name, len),
                         .oldest_candidate = INT64_MAX};
    k = g->jobs.len;
    VEC_PUSH(&g->jobs, job);
    strmap_put(&g->job_index, job.name, len, k);
    return k;
}

/* qsort, but also of no items (whose pointer may be NULL). */
static void sort(void *items, size_t len, size_t size, int (*cmp)(const void *, const void *))
{
    if (len > 1)
        qsort(items, len, size, cmp);
}

static int by_number(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int by_hash(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int by_doom(const void *a, const void *b)
{
    const struct doomed_log *x = a, *y = b;
    if (x->select != y->select)
        return x->select - y->select;
    if (x->order != y->order)
        return (x->order < y->order) - (x->order > y->order);
    return strcmp(x->path, y->path);
}

static int by_time_down(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

static int by_job(const void *a, const void *b)
{
    size_t x = ((const struct leftover *)a)->job, y = ((const struct leftover *)b)->job;
    return (x > y) - (x < y);
}

/* ---- the folders ---- */

typedef void file_fn(struct gc *g, const char *sub, const char *name);

/* Call fn for every regular file below the folder dir/sub (sub "": dir itself), with
 * its path below dir and its name: 0, or -1 after a message. A folder that is not
 * there holds nothing. */
static int list_files(struct gc *g, const char *dir, struct strbuf *sub, file_fn *fn)
{
    char *path = sub->len ? xprintf("%s/%s", dir, sub->buf) : xstrdup(dir);
    DIR *d = opendir(path);
    if (!d) {
        int rc = errno == ENOENT || errno == ENOTDIR ? 0 : error("cannot read folder '%s':", path);
        free(path);
        return rc;
    }
    int rc = 0;
    size_t keep = sub->len;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                rc = error("cannot read folder '%s':", path);
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            char *full = xprintf("%s/%s", path, e->d_name);
            struct stat st;
            type = lstat(full, &st) != 0 ? DT_UNKNOWN
                   : S_ISDIR(st.st_mode) ? DT_DIR
                   : S_ISREG(st.st_mode) ? DT_REG
                                         : DT_UNKNOWN;
            free(full);
        }
        if (keep)
            strbuf_addch(sub, '/');
        strbuf_addstr(sub, e->d_name);
        if (type == DT_REG)
            fn(g, sub->buf, e->d_name);
        else if (type == DT_DIR)
            rc = list_files(g, dir, sub, fn);
        sub->len = keep;
        sub->buf[keep] = '\0';
        if (rc < 0)
            break;
    }
    closedir(d);
    free(path);
    return rc;
}

static int list_folder(struct gc *g, const char *recorded, file_fn *fn)
{
    char *dir = paths_resolve(g->root, recorded);
    struct strbuf sub = STRBUF_INIT;
    strbuf_addstr(&sub, "");
    int rc = list_files(g, dir, &sub, fn);
    strbuf_release(&sub);
    free(dir);
    return rc;
}

static void note_archive(struct gc *g, const char *sub, const char *name)
{
    (void)sub;
    int64_t id = paths_archive_id(name);
    if (id > 0)
        VEC_PUSH(&g->archives, id);
}

static void note_log(struct gc *g, const char *sub, const char *name)
{
    bool select;
    size_t job_len = paths_log_job(name, &select);
    if (!job_len)
        return;
    char *rel = xprintf(PATHS_STATE_DIR "/logs/%s", sub);
    uint64_t h = hash_string(rel, strlen(rel));
    if (!g->accounted.len ||
        !bsearch(&h, g->accounted.items, g->accounted.len, sizeof(h), by_hash)) {
        struct leftover l = {.path = arena_strndup(&g->arena, rel, strlen(rel)),
                             .job = job_of(g, name, job_len),
                             .select = select,
                             .started = strtoll(name + job_len + 1, NULL, 10)};
        VEC_PUSH(&g->leftovers, l);
    }
    free(rel);
}

/* ---- step 1: the runs whose archive is there ---- */

/* A run whose log may go once its archive reads back whole (else the log is the run's
 * last copy). */
struct verify {
    const struct run_record *run;
    bool archived; /* its archive and its log are there */
    bool sound;    /* the archive read back whole */
    struct strbuf err;
};

/* The verifies of a page, shared by the threads reading them. */
struct verifying {
    const char *root;
    struct verify *items;
    size_t count;
    atomic_size_t next;
};

enum { MAX_VERIFIERS = 8 };

/* Note that run r (of job j) may lose its archive by age. */
static void add_candidate(struct gc *g, const struct run_record *r, size_t j)
{
    struct candidate c = {.id = r->id, .batch = r->batch, .job = (uint32_t)j};
    char *usual = xprintf(PATHS_STATE_DIR "/archive/%s.%lld.tar.zst", r->job, (long long)r->id);
    char *here = paths_archive(r->job, r->id);
    if (strcmp(r->archive_path, usual) == 0) {
        c.path = 0;
    } else if (strcmp(r->archive_path, here) == 0) {
        c.path = 1;
    } else {
        c.path = 2 + (uint32_t)g->odd_paths.len;
        VEC_PUSH(&g->odd_paths, arena_strndup(&g->arena, r->archive_path, strlen(r->archive_path)));
    }
    free(here);
    free(usual);
    VEC_PUSH(&g->candidates, c);
}

/* A candidate's archive path, as its run records it. */
static char *candidate_path(const struct gc *g, const struct candidate *c)
{
    const char *job = g->jobs.items[c->job].name;
    if (c->path == 0)
        return xprintf(PATHS_STATE_DIR "/archive/%s.%lld.tar.zst", job, (long long)c->id);
    if (c->path == 1)
        return paths_archive(job, c->id);
    return xstrdup(g->odd_paths.items[c->path - 2]);
}

static int by_candidate(const void *a, const void *b)
{
    int64_t x = ((const struct candidate *)a)->id, y = ((const struct candidate *)b)->id;
    return (x > y) - (x < y);
}

static void *verifier_main(void *arg)
{
    struct verifying *v = arg;
    size_t i;
    while ((i = atomic_fetch_add(&v->next, 1)) < v->count) {
        struct verify *c = &v->items[i];
        char *archive = paths_resolve(v->root, c->run->archive_path);
        char *log = paths_resolve(v->root, c->run->log_path);
        int64_t size;
        c->archived = file_size(archive, &size) && file_size(log, &size);
        c->sound = c->archived && archiver_verify(archive, &c->err) == 0;
        free(log);
        free(archive);
    }
    return NULL;
}

/* Read every archive of the page back, on a thread per CPU (each read is a small
 * decompression; a page holds many). */
static void verify_all(struct verifying *v)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = v->count / 16 + 1;
    if (threads > (size_t)(cpus > 0 ? cpus : 1))
        threads = (size_t)(cpus > 0 ? cpus : 1);
    if (threads > MAX_VERIFIERS)
        threads = MAX_VERIFIERS;
    pthread_t tids[MAX_VERIFIERS];
    size_t started = 0;
    for (size_t t = 1; t < threads; t++) {
        if (pthread_create(&tids[started], NULL, verifier_main, v) != 0)
            break; /* fewer threads only means slower */
        started++;
    }
    verifier_main(v);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}

/* Step 1 for a page of runs (by id, oldest first). */
static void archived_runs(struct gc *g, const struct run_list *page)
{
    struct verifying v = {.root = g->root, .items = xcalloc(page->len + 1, sizeof(struct verify))};
    for (size_t k = 0; k < page->len; k++) {
        const struct run_record *r = &page->items[k];
        if (!r->archive_path)
            continue;
        if (r->log_path)
            VEC_PUSH(&g->accounted, hash_string(r->log_path, strlen(r->log_path)));
        if (paths_is_state(r->archive_path) && r->finished_at &&
            r->finished_at < g->opt->older_than) {
            size_t j = job_of(g, r->job, strlen(r->job)); /* it may move the jobs */
            struct gc_job *job = &g->jobs.items[j];
            if (r->id < job->oldest_candidate)
                job->oldest_candidate = r->id;
            add_candidate(g, r, j);
        }
        if (paths_is_state(r->log_path))
            v.items[v.count++] = (struct verify){.run = r, .err = STRBUF_INIT};
    }
    verify_all(&v);
    for (size_t i = 0; i < v.count; i++) {
        const struct verify *c = &v.items[i];
        const struct run_record *r = c->run;
        if (c->archived && !c->sound) {
            fprintf(stderr,
                    "stau: error: the archive of run %lld of '%s' is unreadable: %s\n"
                    "  hint: its log '%s' is kept, the run's last whole copy of it (`stau log "
                    "%lld`); the outputs in the archive cannot be restored\n",
                    (long long)r->id, r->job, c->err.buf, r->log_path, (long long)r->id);
            g->out->unreadable++;
        } else if (c->archived) {
            gc_remove(g, r->log_path, "log", &g->out->logs);
        }
        strbuf_release(&v.items[i].err);
    }
    free(v.items);
}

/* Step 1 for each run of the archives, a page at a time, oldest first; 0 or -1. */
static int archived_pages(struct gc *g)
{
    const struct ids *ids = &g->archives;
    for (size_t i = 0; i < ids->len; i += g->batch) {
        size_t n = ids->len - i < g->batch ? ids->len - i : g->batch;
        struct run_list page = {0};
        if (store_gc_runs(g->st, ids->items + i, n, &page) < 0)
            return store_failed(g);
        archived_runs(g, &page);
        run_list_release(&page);
    }
    return 0;
}

/* ---- step 2: each job's newest runs ---- */

/* What a walk down one job's runs is looking for. */
struct walk {
    struct strmap logs;  /* its leftovers' paths (not select_work logs) -> index in gc.leftovers */
    size_t runs_left;    /* of those, not met yet */
    VEC(size_t) selects; /* its select_work logs old enough to go */
    size_t selects_left; /* of those, not settled yet */
    VEC(int64_t) queued; /* when each run passed was queued */
    bool keep_from_left; /* keep_from is still to be found */
    bool sweep_left;     /* below keep_from, runs may still record archives already gone */
    size_t seen;         /* runs passed so far (the walk's place among the job's runs) */
    size_t archived;     /* of those, runs with an archive */
    int64_t below;       /* the next page starts below this id */
};

static void walk_release(struct walk *w)
{
    strmap_release(&w->logs);
    VEC_FREE(&w->selects);
    VEC_FREE(&w->queued);
}

/* Whether a run's log is a leftover of the walk; if so, that log's step 2. */
static void meet_log(struct gc *g, struct walk *w, const struct run_record *r)
{
    size_t k;
    if (!r->log_path || !strmap_get(&w->logs, r->log_path, strlen(r->log_path), &k))
        return;
    struct leftover *l = &g->leftovers.items[k];
    if (l->settled)
        return;
    l->settled = true;
    w->runs_left--;
    /* A run without an archive holds its log alone: it goes by the archives' rules,
     * age and count, newest kept. */
    if (!r->archive_path && run_status_finished(r->status) && paths_is_state(r->log_path) &&
        w->seen >= g->opt->keep_last && r->finished_at < g->opt->older_than) {
        struct doomed_log d = {false, r->id, l->path};
        VEC_PUSH(&g->doomed, d);
    }
}

/* A select_work log goes once keep_last of its job's runs were queued after it started
 * (whether or not a run records it: only a failed selection's run does), and it is
 * older than older_than. Settle those the runs passed so far decide: when that many of
 * them were queued after it, it goes; when the walk is past its time (or at the bottom
 * of the job's runs), it stays. */
static void settle_selects(struct gc *g, struct walk *w, bool bottom)
{
    size_t keep_last = g->opt->keep_last;
    int64_t *times = xmalloc((w->queued.len + 1) * sizeof(int64_t));
    if (w->queued.len)
        memcpy(times, w->queued.items, w->queued.len * sizeof(int64_t));
    sort(times, w->queued.len, sizeof(int64_t), by_time_down);
    int64_t earliest = w->queued.len ? times[w->queued.len - 1] : INT64_MAX;
    for (size_t i = 0; i < w->selects.len; i++) {
        struct leftover *l = &g->leftovers.items[w->selects.items[i]];
        if (l->settled)
            continue;
        /* runs queued after it: the first `newer` of times, newest first */
        size_t newer = 0, top = w->queued.len;
        while (newer < top) {
            size_t mid = newer + (top - newer) / 2;
            if (times[mid] > l->started)
                newer = mid + 1;
            else
                top = mid;
        }
        if (newer >= keep_last) {
            struct doomed_log d = {true, l->started, l->path};
            VEC_PUSH(&g->doomed, d);
        } else if (!bottom && earliest > l->started) {
            continue;
        }
        l->settled = true;
        w->selects_left--;
    }
    free(times);
}

/* Whether a run past its job's kept ones records an archive that is gone, where this
 * host would have it: in the shared --archive folder, or in .stau/archive when the run
 * ran here (another host's is in its own .stau/). Such a run's archive is forgotten as
 * if gc had removed it. */
static bool archive_gone_here(const struct gc *g, const struct run_record *r)
{
    if (!r->archive_path || !paths_is_state(r->archive_path) || !r->finished_at ||
        r->finished_at >= g->opt->older_than)
        return false;
    char *folder = paths_archive_folder();
    size_t len = strlen(folder);
    bool shared = folder[0] == '/' && strncmp(r->archive_path, folder, len) == 0 &&
                  r->archive_path[len] == '/';
    free(folder);
    if (!shared && r->host && g->opt->host && strcmp(r->host, g->opt->host) != 0)
        return false;
    char *path = paths_resolve(g->root, r->archive_path);
    struct stat st;
    bool gone = lstat(path, &st) != 0 && errno == ENOENT;
    free(path);
    return gone;
}

/* Whether gc, or nothing, took this run's archive: it ended after it started, which
 * leaves an archive (unless it could not be written), and records none. Below its
 * job's kept runs the first such run ends the sweep: gc forgot the older ones before. */
static bool archive_forgotten(const struct run_record *r)
{
    return !r->archive_path && r->started_at &&
           (r->status == RUN_SUCCEEDED || r->status == RUN_FAILED || r->status == RUN_TIMED_OUT ||
            r->status == RUN_INTERRUPTED);
}

/* Read the job's next size runs into *page, below the walk's last; 0 or -1. */
static int next_page(struct gc *g, const struct gc_job *job, struct walk *w, size_t size,
                     struct run_list *page)
{
    if (store_gc_page(g->st, job->name, w->below, size, page) < 0)
        return store_failed(g);
    if (page->len)
        w->below = page->items[page->len - 1].id;
    return 0;
}

/* Walk down the job's runs, newest first, until it knows its keep_from and the fate of
 * each of its leftover logs (or reaches its first run). */
static int walk_job(struct gc *g, struct gc_job *job)
{
    size_t keep_last = g->opt->keep_last;
    struct walk w = {.below = INT64_MAX};
    /* Removing (not -n), gc also forgets the archives already gone of the runs just
     * below the kept ones (see archive_gone_here): it needs to know where those end. */
    w.sweep_left = !g->opt->dry_run;
    w.keep_from_left = (w.sweep_left || job->oldest_candidate != INT64_MAX) && keep_last > 0;
    job->keep_from = keep_last ? 0 : INT64_MAX;
    for (size_t k = job->logs_from; k < job->logs_to; k++) {
        struct leftover *l = &g->leftovers.items[k];
        if (!l->select) {
            strmap_put(&w.logs, l->path, strlen(l->path), k);
            w.runs_left++;
        } else if (l->started < g->opt->older_than) {
            VEC_PUSH(&w.selects, k); /* the younger ones stay */
        }
    }
    w.selects_left = w.selects.len;
    if (w.selects_left && !keep_last)
        settle_selects(g, &w, false); /* keep none: each goes, whatever follows it */
    /* A first page of keep_last and a few: a walk mostly ends there. */
    size_t size = keep_last + 8 < g->batch ? keep_last + 8 : g->batch;
    bool bottom = false;
    while ((w.keep_from_left || w.runs_left || w.selects_left || w.sweep_left) && !bottom) {
        struct run_list page = {0};
        if (next_page(g, job, &w, size, &page) < 0) {
            walk_release(&w);
            return -1;
        }
        for (size_t i = 0; i < page.len; i++) {
            const struct run_record *r = &page.items[i];
            if (w.keep_from_left && !w.sweep_left && r->id < job->oldest_candidate) {
                w.keep_from_left = false; /* every archive that may go is among the newest */
            } else if (w.keep_from_left) {
                if (r->archive_path && ++w.archived == keep_last) {
                    w.keep_from_left = false;
                    job->keep_from = r->id;
                }
            } else if (w.sweep_left && r->id < job->keep_from) {
                if (archive_forgotten(r))
                    w.sweep_left = false;
                else if (archive_gone_here(g, r))
                    add_candidate(g, r, (size_t)(job - g->jobs.items));
            }
            meet_log(g, &w, r);
            if (w.selects_left)
                VEC_PUSH(&w.queued, r->queued_at);
            w.seen++;
        }
        bottom = page.len < size;
        run_list_release(&page);
        if (w.selects_left)
            settle_selects(g, &w, bottom);
        size = size * 2 < g->batch ? size * 2 : g->batch;
    }
    walk_release(&w);
    return 0;
}

/* ---- step 3: the archives that may go ---- */

/* Whether the run is its job's last success, or a chunk of it (also when that cannot
 * be told, after a message): its archive stays. */
static bool last_success(struct gc *g, struct gc_job *job, const struct candidate *r)
{
    if (!job->success) {
        struct run_record last = {0};
        int found = work_last_success(g->st, job->name, &last);
        if (found < 0)
            store_failed(g);
        job->success = found < 0 ? -1 : found == 0 ? 1 : 2;
        job->success_id = last.id;
        job->success_batch = last.batch;
        job->success_chunks = last.chunks;
        run_record_release(&last);
    }
    return job->success < 0 ||
           (job->success == 2 &&
            (job->success_id == r->id || (job->success_chunks && job->success_batch == r->batch)));
}

/* Tell the store the archives of forget are gone (not when dry), and empty it. */
static void forget_archives(struct gc *g, struct ids *forget)
{
    if (!g->opt->dry_run && forget->len &&
        store_forget_archives(g->st, forget->items, forget->len) < 0) {
        store_failed(g);
        g->out->failed = true;
    }
    forget->len = 0;
}

static void remove_archives(struct gc *g)
{
    /* the walks added the runs whose archive is gone already: in id order again */
    sort(g->candidates.items, g->candidates.len, sizeof(struct candidate), by_candidate);
    struct ids forget = {0};
    for (size_t i = 0; i < g->candidates.len; i++) {
        const struct candidate *c = &g->candidates.items[i];
        struct gc_job *job = &g->jobs.items[c->job];
        if ((i && c->id == g->candidates.items[i - 1].id) || c->id >= job->keep_from ||
            last_success(g, job, c))
            continue;
        /* removed, or gone already: the store forgets it, a page at a time */
        char *path = candidate_path(g, c);
        if (gc_remove(g, path, "archive", &g->out->archives) >= 0)
            VEC_PUSH(&forget, c->id);
        free(path);
        if (forget.len >= g->batch)
            forget_archives(g, &forget);
    }
    forget_archives(g, &forget);
    VEC_FREE(&forget);
}

/* ---- all of it ---- */

static int collect(struct gc *g)
{
    /* the archives, by run id, once each (a run is in one folder) */
    if (list_folder(g, PATHS_STATE_DIR "/archive", note_archive) < 0)
        return -1;
    char *folder = paths_archive_folder();
    int rc = strcmp(folder, PATHS_STATE_DIR "/archive") ? list_folder(g, folder, note_archive) : 0;
    free(folder);
    if (rc < 0)
        return -1;
    sort(g->archives.items, g->archives.len, sizeof(int64_t), by_number);
    size_t unique = 0;
    for (size_t i = 0; i < g->archives.len; i++)
        if (!unique || g->archives.items[i] != g->archives.items[unique - 1])
            g->archives.items[unique++] = g->archives.items[i];
    g->archives.len = unique;
    if (archived_pages(g) < 0)
        return -1;
    VEC_FREE(&g->archives); /* the candidates have what step 3 needs */
    sort(g->accounted.items, g->accounted.len, sizeof(uint64_t), by_hash);
    if (list_folder(g, PATHS_STATE_DIR "/logs", note_log) < 0)
        return -1;
    /* each job's leftovers side by side; the map keys (paths) stay where they are */
    sort(g->leftovers.items, g->leftovers.len, sizeof(struct leftover), by_job);
    for (size_t k = 0; k < g->leftovers.len; k++) {
        struct gc_job *job = &g->jobs.items[g->leftovers.items[k].job];
        if (job->logs_to == 0)
            job->logs_from = k;
        job->logs_to = k + 1;
    }
    for (size_t j = 0; j < g->jobs.len; j++)
        if (walk_job(g, &g->jobs.items[j]) < 0)
            return -1;
    sort(g->doomed.items, g->doomed.len, sizeof(struct doomed_log), by_doom);
    for (size_t k = 0; k < g->doomed.len; k++)
        gc_remove(g, g->doomed.items[k].path, "log", &g->out->logs);
    remove_archives(g);
    return 0;
}

int gc_collect(struct store *st, const char *root, const struct gc_options *opt,
               struct gc_result *out)
{
    memset(out, 0, sizeof(*out));
    struct gc g = {.st = st,
                   .root = root,
                   .opt = opt,
                   .out = out,
                   .batch = opt->batch ? opt->batch : GC_BATCH_DEFAULT};
    int rc = collect(&g);
    arena_release(&g.arena);
    strmap_release(&g.job_index);
    VEC_FREE(&g.jobs);
    VEC_FREE(&g.archives);
    VEC_FREE(&g.candidates);
    VEC_FREE(&g.odd_paths);
    VEC_FREE(&g.accounted);
    VEC_FREE(&g.leftovers);
    VEC_FREE(&g.doomed);
    return rc;
}
