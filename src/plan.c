/* plan.c: what runs in an invocation and why. */
#include "plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fingerprint.h"
#include "hash.h"
#include "work.h"

/* Hashing files through the state database's memory: a file whose stat data is
 * what it was when last hashed is not read again (as git's index). */
struct hasher {
    struct store *st;
    const char *root;
    int64_t now;
    struct store_file_list updates; /* new hashes to remember */
    struct strbuf buf;              /* file contents being hashed */
    struct witness *witness;        /* where to note each path looked at; NULL: nowhere */
    bool incomplete;                /* a path could not be looked at (the witness lacks it) */
    struct strbuf *files;           /* where to note each file hashed, as evidence (see
                                       run_record.files); NULL: nowhere */
    size_t noted;                   /* ... lines noted there for the present kind */
    /* What the file memory held of the paths a plan looks at, read in one call
     * (preload); a path not among them is asked of the store alone. */
    struct strmap known;           /* path -> index in memory */
    struct store_file_list memory; /* the remembered entries (path NULL: none) */
    struct strmap globs;           /* input glob -> index in matches */
    VEC(struct strlist) matches;   /* what each glob matched */
};
#define HASHER_INIT(st_, root_, now_, witness_, files_)                                            \
    {                                                                                              \
        .st = (st_), .root = (root_), .now = (now_), .buf = STRBUF_INIT, .witness = (witness_),    \
        .files = (files_)                                                                          \
    }

/* A run keeps at most this many evidence lines of each kind: a glob matching more
 * is told as "too many to list". */
enum { FILES_EVIDENCE_MAX = 1000 };

/* Note one file of kind ('c' code, 'i' input, 'o' output) as evidence: its hash in
 * hex, or "-" when it is missing. */
static void note_file(struct hasher *h, char kind, const char *path, const struct hash128 *hash)
{
    if (!h->files || strpbrk(path, "\t\n"))
        return;
    if (h->noted++ == FILES_EVIDENCE_MAX) {
        strbuf_addf(h->files, "%c\t*\t-\n", kind); /* more than listed */
        return;
    }
    if (h->noted > FILES_EVIDENCE_MAX)
        return;
    char hex[33] = "-";
    if (hash)
        fingerprint_hex(*hash, hex);
    strbuf_addf(h->files, "%c\t%s\t%s\n", kind, path, hex);
}

static int hash_file(struct hasher *h, const char *path, struct stat *st_out, struct hash128 *out);

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder's hash: its entries' names and hashes, in name order, recursively (so a
 * changed file inside a folder output is noticed). Hidden entries count too. */
static int hash_folder(struct hasher *h, const char *path, struct hash128 *out)
{
    char *full = xprintf("%s/%s", h->root, path);
    DIR *d = opendir(full);
    free(full);
    if (!d) {
        warn("cannot read folder '%s':", path);
        h->incomplete = true;
        return -1;
    }
    VEC(char *) names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            VEC_PUSH(&names, xstrdup(e->d_name));
    closedir(d);
    if (names.len)
        qsort(names.items, names.len, sizeof(char *), by_string);
    struct hash_stream *state = hash_stream_new();
    hash_stream_add(state, "folder", 7);
    for (size_t i = 0; i < names.len; i++) {
        char *child = xprintf("%s/%s", path, names.items[i]);
        struct hash128 hash = {0, 0};
        if (hash_file(h, child, NULL, &hash) == 0) {
            hash_stream_add_str(state, names.items[i]);
            hash_stream_add(state, &hash, sizeof(hash));
        }
        free(child);
        free(names.items[i]);
    }
    VEC_FREE(&names);
    *out = hash_stream_finish(state);
    return 0;
}

/* Hash root/path into *out (a folder by its contents); 1 when it does not exist,
 * -1 on another error (warned). */
static int hash_file(struct hasher *h, const char *path, struct stat *st_out, struct hash128 *out)
{
    char *full = xprintf("%s/%s", h->root, path);
    struct stat st;
    if (stat(full, &st) < 0) {
        int missing = errno == ENOENT || errno == ENOTDIR;
        if (!missing) {
            warn("cannot stat '%s':", full);
            h->incomplete = true;
        } else if (h->witness) {
            witness_file(h->witness, path, NULL);
        }
        free(full);
        return missing ? 1 : -1;
    }
    if (st_out)
        *st_out = st;
    if (h->witness)
        witness_file(h->witness, path, &st);
    if (S_ISDIR(st.st_mode)) {
        free(full);
        return hash_folder(h, path, out);
    }
    struct file_stat now_stat;
    file_stat_from(&now_stat, &st);
    struct store_file mem = {0};
    size_t at;
    bool preloaded = strmap_get(&h->known, path, strlen(path), &at);
    bool found =
        preloaded ? h->memory.items[at].path != NULL : store_file_get(h->st, path, &mem) == 1;
    const struct store_file *m = preloaded ? &h->memory.items[at] : &mem;
    if (found && m->mtime_ns == now_stat.mtime_ns && m->ctime_ns == now_stat.ctime_ns &&
        m->size == now_stat.size && m->inode == now_stat.inode && m->device == now_stat.device &&
        now_stat.mtime_ns / 1000000 < h->now - 2000) {
        *out = m->hash;
        free(mem.path);
        free(full);
        return 0;
    }
    free(mem.path);
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        warn("cannot read '%s':", full);
        h->incomplete = true;
        free(full);
        return -1;
    }
    strbuf_reset(&h->buf);
    if (strbuf_read_fd(&h->buf, fd) < 0) {
        warn("cannot read '%s':", full);
        h->incomplete = true;
        close(fd);
        free(full);
        return -1;
    }
    close(fd);
    free(full);
    *out = hash_bytes(h->buf.buf ? h->buf.buf : "", h->buf.len);
    /* A racily new file (changed within two seconds of this hash) could change again
     * within the same timestamp tick without its stat data moving: it is remembered
     * with an mtime no file has, so the next look hashes it again (as git's index). */
    struct store_file remember = {xstrdup(path), now_stat.mtime_ns, now_stat.ctime_ns,
                                  now_stat.size, now_stat.inode,    now_stat.device,
                                  *out};
    if (now_stat.mtime_ns / 1000000 >= h->now - 2000)
        remember.mtime_ns = -1;
    VEC_PUSH(&h->updates, remember);
    return 0;
}

/* Remember the hashes taken (a lost memory only means hashing again), or hand them
 * to learned when given, then free. */
static void hasher_finish(struct hasher *h, struct store_file_list *learned)
{
    if (learned) {
        for (size_t i = 0; i < h->updates.len; i++)
            VEC_PUSH(learned, h->updates.items[i]);
        VEC_FREE(&h->updates);
    } else if (h->updates.len &&
               store_file_put(h->st, h->updates.items, h->updates.len, h->now) < 0) {
        warn("%s", store_error(h->st));
    }
    store_file_list_release(&h->updates);
    strbuf_release(&h->buf);
    strmap_release(&h->known);
    store_file_list_release(&h->memory);
    strmap_release(&h->globs);
    for (size_t i = 0; i < h->matches.len; i++) {
        for (size_t k = 0; k < h->matches.items[i].len; k++)
            free(h->matches.items[i].items[k]);
        VEC_FREE(&h->matches.items[i]);
    }
    VEC_FREE(&h->matches);
}

/* What an input glob matches, expanded once per hasher (jobs often share one). */
static const struct strlist *glob_matches(struct hasher *h, const char *pattern)
{
    size_t at;
    if (strmap_get(&h->globs, pattern, strlen(pattern), &at))
        return &h->matches.items[at];
    struct strlist matches = {0};
    fingerprint_glob(h->root, pattern, &matches);
    VEC_PUSH(&h->matches, matches);
    strmap_put(&h->globs, pattern, strlen(pattern), h->matches.len - 1);
    return &h->matches.items[h->matches.len - 1];
}

static void add_hash(struct hash_stream *state, const char *text, struct hash128 hash)
{
    hash_stream_add_str(state, text);
    hash_stream_add(state, &hash, sizeof(hash));
}

/* The fingerprint of everything added to state, as hex into out; frees state. */
static void finish_fp(struct hash_stream *state, char out[33])
{
    fingerprint_hex(hash_stream_finish(state), out);
}

static bool has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Fingerprint of the inputs: every pattern, the files it matches, their contents. */
static void inputs_fingerprint(struct hasher *h, const struct decl *d, char out[33])
{
    struct hash_stream *state = hash_stream_new();
    h->noted = 0;
    for (size_t i = 0; i < d->inputs.len; i++) {
        const char *pattern = d->inputs.items[i];
        hash_stream_add_str(state, pattern);
        if (!has_glob(pattern)) {
            struct hash128 hash;
            int rc = hash_file(h, pattern, NULL, &hash);
            add_hash(state, rc == 0 ? "present" : "missing",
                     rc == 0 ? hash : (struct hash128){0, 0});
            note_file(h, 'i', pattern, rc == 0 ? &hash : NULL);
            continue;
        }
        const struct strlist *matches = glob_matches(h, pattern);
        if (h->witness)
            witness_glob(h->witness, pattern, matches);
        for (size_t k = 0; k < matches->len; k++) {
            struct hash128 hash;
            if (hash_file(h, matches->items[k], NULL, &hash) == 0) {
                add_hash(state, matches->items[k], hash);
                note_file(h, 'i', matches->items[k], &hash);
            }
        }
    }
    finish_fp(state, out);
}

/* Fingerprint of the outputs as they are; the first missing one in *missing. */
static void outputs_fingerprint(struct hasher *h, const struct decl *d, char out[33],
                                char **missing)
{
    struct hash_stream *state = hash_stream_new();
    h->noted = 0;
    for (size_t i = 0; i < d->outputs.len; i++) {
        struct hash128 hash;
        int rc = hash_file(h, d->outputs.items[i], NULL, &hash);
        if (rc == 1 && !*missing)
            *missing = xstrdup(d->outputs.items[i]);
        add_hash(state, d->outputs.items[i], rc == 0 ? hash : (struct hash128){1, 1});
        note_file(h, 'o', d->outputs.items[i], rc == 0 ? &hash : NULL);
    }
    finish_fp(state, out);
}

/* Note the job's code files (its own and the local modules it imports) as evidence. */
static void code_files(struct hasher *h, const struct project *p, size_t job)
{
    if (!h->files)
        return;
    struct sizelist files = {0};
    project_code_files(p, job, &files);
    h->noted = 0;
    for (size_t i = 0; i < files.len; i++) {
        const struct source_file *f = &p->files.items[files.items[i]];
        note_file(h, 'c', f->path, &f->result.code_hash);
    }
    VEC_FREE(&files);
}

/* The kwargs a schedule gives (timetable entry `entry`, or SIZE_MAX: the declaration's
 * own, none), as JSON. */
static const char *schedule_kwargs(const struct job *job, size_t entry)
{
    const char *kwargs = entry == SIZE_MAX ? NULL : job->timetable.items[entry]->kwargs_json;
    return kwargs ? kwargs : "{}";
}

int plan_load_schedules(struct plan_job *pj, const struct job *job)
{
    size_t n = job->decl->schedules.len + job->timetable.len;
    pj->schedules = xcalloc(n + 1, sizeof(struct cron));
    pj->schedule_texts = xcalloc(n + 1, sizeof(char *));
    pj->schedule_entry = xcalloc(n + 1, sizeof(size_t));
    pj->schedule_groups = xcalloc(n + 1, sizeof(size_t));
    pj->schedule_ids = xcalloc(n + 1, sizeof(char *));
    /* The original Stau's allow_multiple_jobs=False: a second entry's tick finds the
     * first's run queued and is dropped (SPEC §7): all its schedules are alike then. */
    bool apart = !job->decl->original_form || job->decl->allow_multiple_jobs;
    size_t own = job->decl->schedules.len;
    for (size_t i = 0; i < n; i++) {
        const char *text =
            i < own ? job->decl->schedules.items[i] : job->timetable.items[i - own]->schedule;
        struct strbuf err = STRBUF_INIT;
        size_t offset;
        if (cron_parse(text, &pj->schedules[pj->schedule_count], &err, &offset) == 0) {
            size_t k = pj->schedule_count++;
            pj->schedule_texts[k] = xstrdup(text);
            pj->schedule_entry[k] = i < own ? SIZE_MAX : i - own;
            pj->schedule_ids[k] = i < own ? NULL : job->timetable.items[i - own]->id;
            /* Alike: the first schedule with the same kwargs (the declaration's: none). */
            pj->schedule_groups[k] = apart ? k : 0;
            for (size_t m = 0; m < k && apart; m++) {
                if (strcmp(schedule_kwargs(job, pj->schedule_entry[k]),
                           schedule_kwargs(job, pj->schedule_entry[m])) == 0) {
                    pj->schedule_groups[k] = pj->schedule_groups[m];
                    break;
                }
            }
        }
        strbuf_release(&err);
    }
    if (!pj->schedule_count)
        return 0; /* no zone needed */
    struct strbuf err = STRBUF_INIT;
    pj->zone = tz_load(job->decl->timezone, &err);
    if (!pj->zone) {
        error("%s: %s", job->name, strbuf_str(&err));
        strbuf_release(&err);
        return -1;
    }
    strbuf_release(&err);
    return 0;
}

void plan_job_now(const struct plan_job *pj, struct job_now *out)
{
    *out = (struct job_now){pj->code_fp,
                            pj->config_fp,
                            pj->inputs_fp,
                            pj->outputs_fp,
                            pj->missing_output,
                            pj->schedules,
                            (const char *const *)pj->schedule_texts,
                            pj->schedule_count,
                            pj->zone,
                            false,
                            pj->files,
                            NULL,
                            pj->schedule_groups,
                            pj->schedule_ids};
}

int64_t plan_job_next_tick(const struct plan_job *pj, int64_t now, size_t *which)
{
    if (!pj->schedule_count)
        return CRON_NEVER;
    struct job_now now_state;
    plan_job_now(pj, &now_state);
    return stale_next_tick(&now_state, pj->schedule_from ? pj->schedule_from : now, which);
}

bool plan_target_matches(const char *target, const struct job *job)
{
    if (starts_with(target, "tag:")) {
        for (size_t k = 0; k < job->decl->tags.len; k++)
            if (strcmp(job->decl->tags.items[k], target + 4) == 0)
                return true;
        return false;
    }
    return fnmatch(target, job->name, 0) == 0;
}

/* Mark the targets (names, globs, tag:x) and what they need; -1 on an unknown one. */
static int select_targets(struct plan *plan, const struct graph *g, const struct plan_options *opt,
                          bool *is_target)
{
    size_t n = g->jobs.len;
    if (!opt->target_count) {
        for (size_t i = 0; i < n; i++)
            plan->jobs[i].selected = is_target[i] = !g->jobs.items[i].blocked;
        return 0;
    }
    struct sizelist roots = {0};
    for (size_t t = 0; t < opt->target_count; t++) {
        const char *target = opt->targets[t];
        size_t before = roots.len;
        for (size_t i = 0; i < n; i++) {
            if (plan_target_matches(target, &g->jobs.items[i])) {
                VEC_PUSH(&roots, i);
                is_target[i] = true;
            }
        }
        if (roots.len == before) {
            error("no job matches '%s'", target);
            const char *suggestion =
                starts_with(target, "tag:") ? NULL : graph_closest(g, target, NULL);
            const char *command =
                !suggestion && opt->commands && t == 0 ? did_you_mean(target, opt->commands) : NULL;
            if (suggestion)
                fprintf(stderr, "  hint: did you mean '%s'?\n", suggestion);
            else if (command)
                fprintf(stderr, "  hint: did you mean the command '%s'?\n", command);
            else
                fprintf(stderr, "  hint: `stau list` shows every job; `stau --help` the "
                                "commands\n");
            VEC_FREE(&roots);
            return -1;
        }
    }
    bool *selected = xcalloc(n + 1, sizeof(bool));
    graph_upstream(g, roots.items, roots.len, selected);
    /* A job that cannot run (graph_mark_invalid) is left out, and so is what needs it. */
    for (size_t i = 0; i < n; i++)
        plan->jobs[i].selected = selected[i] && !g->jobs.items[i].blocked;
    free(selected);
    VEC_FREE(&roots);
    return 0;
}

/* A due job's dependents that run on change are due too; an on-demand dependent
 * keeps the reason until something needs it (in topological order, once through). */
static bool spread_upstream_due(struct plan *plan, const struct graph *g,
                                const struct sizelist *topo)
{
    bool changed = false;
    for (size_t k = 0; k < topo->len; k++) {
        size_t i = topo->items[k];
        struct plan_job *pj = &plan->jobs[i];
        const struct job *job = &g->jobs.items[i];
        bool on_change = job_on_change(job);
        if (!pj->selected || (!on_change && job_policy(job) != POLICY_ON_DEMAND))
            continue;
        /* (An on-demand job already pulled in runs: the reason is why.) */
        bool runs = on_change || pj->due;
        struct reasons *to = runs ? &pj->why : &pj->held_back;
        for (size_t e = 0; e < job->deps.len; e++) {
            size_t d = job->deps.items[e].to;
            if (plan->jobs[d].due && !reasons_have(to, REASON_UPSTREAM_DUE)) {
                reasons_add(to, REASON_UPSTREAM_DUE, "'%s' runs first", g->jobs.items[d].name);
                if (runs)
                    pj->due = changed = true;
            }
        }
    }
    return changed;
}

/* The pull rule: a due job's on-demand dependency runs first when the make rule
 * holds for it, or would once its own on-demand dependencies ran (wants). */
static bool pull_on_demand(struct plan *plan, const struct graph *g, const struct sizelist *topo)
{
    size_t n = g->jobs.len;
    bool *wants = xcalloc(n + 1, sizeof(bool));
    for (size_t k = 0; k < topo->len; k++) {
        size_t i = topo->items[k];
        const struct job *job = &g->jobs.items[i];
        if (!plan->jobs[i].selected || job_policy(job) != POLICY_ON_DEMAND)
            continue;
        wants[i] = plan->jobs[i].held_back.len > 0;
        for (size_t e = 0; e < job->deps.len && !wants[i]; e++) {
            size_t d = job->deps.items[e].to;
            wants[i] = plan->jobs[d].due || wants[d];
        }
    }
    bool changed = false;
    for (size_t k = topo->len; k-- > 0;) {
        size_t i = topo->items[k];
        if (!plan->jobs[i].due)
            continue;
        const struct job *job = &g->jobs.items[i];
        for (size_t e = 0; e < job->deps.len; e++) {
            size_t d = job->deps.items[e].to;
            struct plan_job *dep = &plan->jobs[d];
            if (dep->due || !wants[d])
                continue;
            /* The original Stau's edges (both ends in its form, with a max_lag) pull by
             * max_lag alone: a fresh dependency prunes its branch (SPEC §7), whatever
             * else changed; apply_max_lag judges it. */
            if (job->decl->original_form && g->jobs.items[d].decl->original_form &&
                job->deps.items[e].dep->has_max_lag)
                continue;
            /* Its held-back reasons are why it runs now (an upstream-due one comes
             * with the dependency it pulls in turn). */
            for (size_t r = 0; r < dep->held_back.len; r++)
                VEC_PUSH(&dep->why, dep->held_back.items[r]);
            VEC_FREE(&dep->held_back);
            dep->pulled_by = i;
            dep->pulled = dep->due = changed = true;
        }
    }
    free(wants);
    return changed;
}

/* Once the due set is final, each upstream-due reason names every dependency that
 * runs first ("'a', 'b' and 'c' run first"), not only the one that made it due. */
static void name_due_upstream_in(struct plan *plan, const struct graph *g, size_t i,
                                 struct reasons *why)
{
    struct reason *reason = NULL;
    for (size_t r = 0; r < why->len && !reason; r++)
        if (why->items[r].kind == REASON_UPSTREAM_DUE)
            reason = &why->items[r];
    if (!reason)
        return;
    const struct job *job = &g->jobs.items[i];
    size_t total = 0, named = 0;
    for (size_t e = 0; e < job->deps.len; e++)
        total += plan->jobs[job->deps.items[e].to].due;
    struct strbuf sb = STRBUF_INIT;
    for (size_t e = 0; e < job->deps.len; e++) {
        size_t d = job->deps.items[e].to;
        if (!plan->jobs[d].due)
            continue;
        named++;
        strbuf_addstr(&sb, named == 1 ? "" : named == total ? " and " : ", ");
        strbuf_addf(&sb, "'%s'", g->jobs.items[d].name);
    }
    strbuf_addf(&sb, " run%s first", total == 1 ? "s" : "");
    free(reason->evidence);
    reason->evidence = strbuf_detach(&sb);
}

static void name_due_upstream(struct plan *plan, const struct graph *g)
{
    for (size_t i = 0; i < g->jobs.len; i++) {
        name_due_upstream_in(plan, g, i, &plan->jobs[i].why);
        name_due_upstream_in(plan, g, i, &plan->jobs[i].held_back);
    }
}

/* Whether an edge may give its job a copy of its own of the dependency (SPEC §7:
 * unique=True): both due, the dependency only because it is needed (pulled: on its
 * dependents' work IDs and kwargs). An exclusive job (allow_multiple_jobs=False) is
 * always shared: two runs of it do not overlap. */
static bool may_copy(const struct plan *plan, const struct graph *g, size_t i,
                     const struct edge *edge)
{
    return edge->dep->unique && plan->jobs[i].due && plan->jobs[edge->to].due &&
           plan->jobs[edge->to].pulled && g->jobs.items[edge->to].decl->allow_multiple_jobs;
}

/* plan_job.copies: the unique edges over which a job gets a run of the dependency of
 * its own, besides the one its other dependents share (a dependency reached over
 * unique edges only is shared by the first of them, in the plan's order). */
static void mark_copies(struct plan *plan, const struct graph *g)
{
    size_t *sharing = xcalloc(g->jobs.len + 1, sizeof(size_t));
    for (size_t k = 0; k < plan->order.len; k++) {
        const struct job *job = &g->jobs.items[plan->order.items[k]];
        for (size_t e = 0; e < job->deps.len; e++)
            sharing[job->deps.items[e].to] +=
                !may_copy(plan, g, plan->order.items[k], &job->deps.items[e]);
    }
    for (size_t k = 0; k < plan->order.len; k++) {
        size_t i = plan->order.items[k];
        const struct job *job = &g->jobs.items[i];
        for (size_t e = 0; e < job->deps.len; e++) {
            size_t to = job->deps.items[e].to;
            if (!may_copy(plan, g, i, &job->deps.items[e]))
                continue;
            if (!sharing[to]) {
                sharing[to] = 1; /* the first takes the shared one */
                continue;
            }
            if (!plan->jobs[i].copies)
                plan->jobs[i].copies = xcalloc(job->deps.len + 1, sizeof(bool));
            plan->jobs[i].copies[e] = true;
            plan->copies++;
        }
    }
    free(sharing);
}

/* The reason naming the schedule the job runs for, or NULL. */
static struct reason *tick_reason(struct plan_job *pj)
{
    for (size_t r = 0; r < pj->why.len; r++)
        if (pj->why.items[r].schedule)
            return &pj->why.items[r];
    return NULL;
}

/* The kwargs of the timetable entry the job runs for: the one whose tick it runs
 * for, else (it never ran, or runs for another reason) its first entry's; and
 * whether another entry ticked then too, with other kwargs (a run of its own). The
 * schedule reason names its entry, recorded with the run (SPEC §7: each timetable
 * entry is a schedule of its own). */
static void entry_for_tick(struct plan_job *pj, const struct job *job)
{
    if (!job->timetable.len)
        return;
    struct reason *r = tick_reason(pj);
    if (!r && !job->decl->schedules.len && pj->schedule_count && !pj->schedule_from) {
        /* Its first run: the first entry's, then each entry's with other kwargs. */
        for (size_t k = 0; k < pj->why.len && !r; k++)
            if (pj->why.items[k].kind == REASON_NEVER_RUN) {
                r = &pj->why.items[k];
                r->schedule = 1;
            }
    }
    size_t entry = 0;
    if (r && pj->schedule_entry[r->schedule - 1] != SIZE_MAX) {
        entry = pj->schedule_entry[r->schedule - 1];
        r->entry = pj->run_entry = job->timetable.items[entry]->id;
        struct job_now present;
        size_t next;
        plan_job_now(pj, &present);
        if (r->tick ? stale_tick_left(&present, r->tick, r->schedule - 1, &next)
                    : stale_entry_left(&present, r->schedule - 1, &next))
            pj->then_entry = pj->schedule_ids[next];
    }
    pj->entry_kwargs = job->timetable.items[entry]->kwargs_json;
}

/* The tick the run stood for, from its schedule reason ("tick" and "entry"). */
static void tick_of(const struct run_record *r, const struct job *job, struct plan_job *pj)
{
    pj->last_tick = 0;
    pj->last_schedule = 0;
    if (!r->id || !r->reasons_json || !job->timetable.len)
        return;
    struct strbuf item = STRBUF_INIT, value = STRBUF_INIT;
    for (size_t n = 0; json_array_item(r->reasons_json, n, &item) == 1; n++) {
        if (json_object_get(item.buf, "entry", &value) == 1) {
            /* "tick_ms", or in a run recorded before times were written twice, "tick" */
            struct strbuf tick = STRBUF_INIT;
            if (json_object_get(item.buf, "tick_ms", &tick) == 1 ||
                json_object_get(item.buf, "tick", &tick) == 1)
                pj->last_tick = strtoll(tick.buf, NULL, 10);
            strbuf_release(&tick);
            for (size_t k = 0; k < pj->schedule_count; k++) {
                size_t e = pj->schedule_entry[k];
                const char *id = e != SIZE_MAX ? job->timetable.items[e]->id : NULL;
                struct strbuf quoted = STRBUF_INIT;
                if (id)
                    json_quote(&quoted, id, strlen(id));
                bool same = id && strcmp(quoted.buf, value.buf) == 0;
                strbuf_release(&quoted);
                if (same) {
                    pj->last_schedule = k + 1;
                    break;
                }
            }
            break;
        }
        strbuf_reset(&item);
    }
    if (!pj->last_schedule)
        pj->last_tick = 0;
    strbuf_release(&item);
    strbuf_release(&value);
}

/* Move the reasons the job's policy does not run it for on its own to held_back: a
 * scheduled job (not "on" change) runs at its ticks, when it never ran, and again
 * when its last run did not finish (interrupted, lost); an on-demand job only when
 * asked for or needed. */
static void hold_back(struct plan_job *pj, const struct job *job)
{
    enum policy policy = job_policy(job);
    if (job_on_change(job))
        return;
    bool unfinished =
        pj->chunks_missing || pj->last.status == RUN_INTERRUPTED || pj->last.status == RUN_LOST;
    size_t kept = 0;
    for (size_t r = 0; r < pj->why.len; r++) {
        enum reason_kind kind = pj->why.items[r].kind;
        /* ("Never ran": no run ever started, not merely none succeeded: a job
         * that only failed so far waits for its next tick too.) */
        bool keep =
            kind == REASON_FORCED ||
            (policy == POLICY_SCHEDULED &&
             ((kind == REASON_NEVER_RUN && (!pj->schedule_from || pj->why.items[r].schedule)) ||
              kind == REASON_SCHEDULE || (kind == REASON_FAILED && unfinished)));
        if (keep)
            pj->why.items[kept++] = pj->why.items[r];
        else
            VEC_PUSH(&pj->held_back, pj->why.items[r]);
    }
    pj->why.len = kept;
}

/* A due job's dependency with max_lag M and no success in the last M minutes runs first. */
/* Whether a timetable entry's kwargs give the master its work IDs. */
static bool gives_ids(const char *entry_kwargs)
{
    struct work_ids ids = {0};
    bool given = work_ids_given(entry_kwargs, &ids);
    VEC_FREE(&ids);
    return given;
}

static bool apply_max_lag(struct plan *plan, const struct graph *g, const char *root, int64_t now)
{
    bool changed = false;
    for (size_t i = 0; i < g->jobs.len; i++) {
        if (!plan->jobs[i].due)
            continue;
        const struct job *job = &g->jobs.items[i];
        for (size_t e = 0; e < job->deps.len; e++) {
            const struct edge *edge = &job->deps.items[e];
            struct plan_job *dep = &plan->jobs[edge->to];
            if (!edge->dep->has_max_lag || dep->due || !dep->selected)
                continue;
            int64_t limit = (int64_t)(edge->dep->max_lag * 60000.0);
            int64_t finished = dep->success.id ? dep->success.finished_at : 0;
            const struct decl *up = g->jobs.items[edge->to].decl;
            /* (Only when the dependent has IDs to give: declared, given by its
             * timetable entry, chosen, or given to it by what needs it.) */
            const struct plan_job *pj = &plan->jobs[i];
            bool per_id = work_is_chunked(job->decl) && work_is_chunked(up) && !up->has_work_ids &&
                          !edge->dep->allow_missing_work_ids &&
                          (job->decl->has_work_ids || gives_ids(pj->entry_kwargs) ||
                           work_may_select(root, job->path) || pj->pulled);
            if (finished && now - finished <= limit && per_id) {
                /* Fresh as a whole, maybe not for the IDs the dependent chooses (SPEC
                 * §7): it is judged per work ID then, and dropped when fresh for all. */
                struct strbuf age = STRBUF_INIT;
                stale_format_age(now - finished, &age);
                reasons_add(&dep->why, REASON_MAX_LAG,
                            "'%s' needs each of its work IDs within %g minutes; the last success "
                            "was %s ago, for some IDs: judged per ID once '%s' has chosen them",
                            job->name, edge->dep->max_lag, age.buf, job->name);
                strbuf_release(&age);
                dep->pulled_by = i;
                dep->pulled = dep->due = dep->lag_per_id = changed = true;
                continue;
            }
            if (finished && now - finished <= limit)
                continue;
            struct strbuf age = STRBUF_INIT;
            if (finished)
                stale_format_age(now - finished, &age);
            reasons_add(&dep->why, REASON_MAX_LAG,
                        "'%s' needs it within %g minutes; its last success was %s%s", job->name,
                        edge->dep->max_lag, finished ? strbuf_str(&age) : "never",
                        finished ? " ago" : "");
            strbuf_release(&age);
            dep->pulled_by = i;
            dep->pulled = dep->due = changed = true;
        }
    }
    return changed;
}

/* When the job's schedule counts ticks from: its last run's start; for a run still
 * waiting to start, when it was queued; for a run enqueued by the leader and not
 * taken yet, or for a last run that never started because
 * it was skipped (a dependency failed, or stau stopped first), the newest run that
 * did start, so the tick it was due for is not lost. -1 after a store error. */
static void schedule_from(const struct run_record *last_started, const struct job *job,
                          struct plan_job *pj)
{
    const struct run_record *last = &pj->last;
    pj->schedule_from = !last->id ? 0 : last->started_at ? last->started_at : last->queued_at;
    /* A run skipped, or enqueued by the leader and not taken yet, stands for the tick,
     * not past it. */
    bool never_started = last->status == RUN_SKIPPED || run_unassigned(last);
    if (!last->id || last->started_at || !never_started || !pj->schedule_count) {
        /* The original Stau's allow_multiple_jobs=False: a tick while a run was queued
         * or running is dropped (SPEC §7), so ticks count from its end. (stau's own
         * form runs once after a run that a tick came during.) */
        if (job->decl->original_form && !job->decl->allow_multiple_jobs &&
            last->finished_at > pj->schedule_from)
            pj->schedule_from = last->finished_at;
        tick_of(last, job, pj);
        return;
    }
    pj->schedule_from = last_started->id ? last_started->started_at : 0;
    tick_of(last_started, job, pj);
}

/* Read what the file memory holds of every input and output path the plan will
 * look at, in one call (a network store then answers in one round trip). */
static int preload_files(struct hasher *h, const struct plan *plan, const struct graph *g)
{
    VEC(const char *) paths = {0};
    for (size_t i = 0; i < plan->count; i++) {
        if (!plan->jobs[i].selected)
            continue;
        const struct decl *d = g->jobs.items[i].decl;
        for (size_t k = 0; k < d->inputs.len; k++) {
            if (!has_glob(d->inputs.items[k])) {
                VEC_PUSH(&paths, d->inputs.items[k]);
                continue;
            }
            const struct strlist *matches = glob_matches(h, d->inputs.items[k]);
            for (size_t m = 0; m < matches->len; m++)
                VEC_PUSH(&paths, matches->items[m]);
        }
        for (size_t k = 0; k < d->outputs.len; k++)
            VEC_PUSH(&paths, d->outputs.items[k]);
    }
    /* Each path once: the first of equal ones is the one asked. */
    size_t unique = 0;
    for (size_t i = 0; i < paths.len; i++)
        if (strmap_put(&h->known, paths.items[i], strlen(paths.items[i]), unique))
            paths.items[unique++] = paths.items[i];
    bool *found = xcalloc(unique + 1, sizeof(bool));
    for (size_t i = 0; i < unique; i++) {
        struct store_file none = {0};
        VEC_PUSH(&h->memory, none);
    }
    int rc = store_files_get(h->st, paths.items, unique, h->memory.items, found);
    for (size_t i = 0; rc == 0 && i < unique; i++)
        if (!found[i])
            h->memory.items[i].path = NULL;
    if (rc < 0) {
        /* Ask the store path by path instead. */
        strmap_release(&h->known);
        memset(&h->known, 0, sizeof(h->known));
        memset(h->memory.items, 0, unique * sizeof(*h->memory.items));
    }
    free(found);
    VEC_FREE(&paths);
    return rc;
}

/* Read the past of every selected job in one call and judge it (work.c): its last
 * invocation, last success, version and where its schedule counts from. */
static int read_pasts(struct plan *plan, const struct graph *g, struct store *st)
{
    size_t n = 0;
    const char **names = xcalloc(plan->count + 1, sizeof(*names));
    for (size_t i = 0; i < plan->count; i++)
        if (plan->jobs[i].selected)
            names[n++] = g->jobs.items[i].name;
    struct store_job_past *pasts = xcalloc(n + 1, sizeof(*pasts));
    int rc = store_job_pasts(st, names, n, pasts);
    for (size_t i = 0, k = 0; rc == 0 && i < plan->count; i++) {
        struct plan_job *pj = &plan->jobs[i];
        if (!pj->selected)
            continue;
        struct store_job_past *past = &pasts[k++];
        work_invocation_of(&past->last_batch, &pj->last, &pj->chunks_missing);
        if (work_success_of(st, names[k - 1], &past->succeeded_batch, &pj->success) < 0)
            rc = -1;
        pj->version = past->version;
        schedule_from(&past->last_started, &g->jobs.items[i], pj);
    }
    for (size_t k = 0; k < n; k++)
        store_job_past_release(&pasts[k]);
    free(pasts);
    free(names);
    return rc;
}

int plan_build(struct plan *plan, struct project *p, struct store *st,
               const struct plan_options *opt)
{
    const struct graph *g = &p->graph;
    size_t n = g->jobs.len;
    memset(plan, 0, sizeof(*plan));
    plan->count = n;
    plan->jobs = xcalloc(n + 1, sizeof(struct plan_job));
    bool *is_target = xcalloc(n + 1, sizeof(bool));
    if (select_targets(plan, g, opt, is_target) < 0) {
        free(is_target);
        plan_release(plan);
        return -1;
    }
    project_load_imports(p);
    struct hasher h = HASHER_INIT(st, p->root, opt->now, &plan->witness, NULL);
    int rc = 0;
    bool snapshot = store_snapshot_begin(st) == 0;
    if (preload_files(&h, plan, g) < 0)
        warn("%s", store_error(st));
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct plan_job *pj = &plan->jobs[i];
        if (!pj->selected)
            continue;
        const struct job *job = &g->jobs.items[i];
        fingerprint_hex(project_code_fingerprint(p, i), pj->code_fp);
        struct strbuf json = STRBUF_INIT;
        decl_to_json(job->decl, &json);
        for (size_t k = 0; k < job->timetable.len; k++)
            strbuf_addf(&json, "|%s", job->timetable.items[k]->schedule);
        fingerprint_hex(hash_bytes(json.buf, json.len), pj->config_fp);
        strbuf_release(&json);
        struct strbuf files = STRBUF_INIT;
        h.files = &files;
        code_files(&h, p, i);
        inputs_fingerprint(&h, job->decl, pj->inputs_fp);
        outputs_fingerprint(&h, job->decl, pj->outputs_fp, &pj->missing_output);
        h.files = NULL;
        pj->files = strbuf_detach(&files);
        if (plan_load_schedules(pj, job) < 0)
            rc = -1;
    }
    if (rc == 0 && read_pasts(plan, g, st) < 0)
        rc = -1;
    for (size_t i = 0; i < n; i++) {
        struct plan_job *pj = &plan->jobs[i];
        pj->pulled_by = SIZE_MAX;
        if (pj->selected)
            stale_upstream_fp(g->jobs.items[i].decl->outputs.len > 0,
                              pj->success.outputs_fingerprint, pj->success.id, pj->up_fp);
    }
    if (snapshot && store_snapshot_end(st) < 0)
        rc = -1;
    plan->witness_complete = !h.incomplete;
    hasher_finish(&h, NULL);
    if (rc < 0) {
        if (store_error(st)[0])
            error("%s", store_error(st));
        free(is_target);
        plan_release(plan);
        return -1;
    }

    struct sizelist topo = {0};
    graph_topological(g, &topo);
    for (size_t k = 0; k < topo.len; k++) {
        size_t i = topo.items[k];
        struct plan_job *pj = &plan->jobs[i];
        if (!pj->selected)
            continue;
        const struct job *job = &g->jobs.items[i];
        struct upstream *ups = xcalloc(job->deps.len + 1, sizeof(struct upstream));
        for (size_t e = 0; e < job->deps.len; e++) {
            const struct plan_job *dep = &plan->jobs[job->deps.items[e].to];
            ups[e] = (struct upstream){g->jobs.items[job->deps.items[e].to].name,
                                       dep->due,
                                       dep->success.id ? dep->success.started_at : 0,
                                       dep->success.id ? dep->success.finished_at : 0,
                                       dep->up_fp[0] ? dep->up_fp : NULL,
                                       dep->success.id};
        }
        struct job_now now;
        plan_job_now(pj, &now);
        now.forced = opt->force && is_target[i];
        now.forced_why = opt->force_why;
        if (opt->force_upstream && !is_target[i]) {
            now.forced = true;
            now.forced_why = "needed by a job asked for with `stau run --force`";
            pj->pulled = true; /* it runs for the targets: on their work IDs */
        }
        struct job_past past = {pj->last.id ? &pj->last : NULL,
                                pj->success.id ? &pj->success : NULL,
                                pj->chunks_missing,
                                pj->schedule_from,
                                pj->last_tick,
                                pj->last_schedule};
        stale_reasons(&now, &past, ups, job->deps.len, opt->now, &pj->why);
        entry_for_tick(pj, job);
        hold_back(pj, job);
        pj->due = pj->why.len > 0;
        free(ups);
    }
    /* The rules feed each other; each round only adds, so this ends. */
    for (size_t round = 0; round <= n; round++) {
        bool a = spread_upstream_due(plan, g, &topo);
        bool b = pull_on_demand(plan, g, &topo);
        bool c = apply_max_lag(plan, g, p->root, opt->now);
        if (!a && !b && !c)
            break;
    }
    name_due_upstream(plan, g);
    for (size_t i = 0; i < n; i++) {
        struct plan_job *pj = &plan->jobs[i];
        /* A job that runs picks up what was held back: it is why it runs too (not one
         * pulled in by max_lag alone and judged per work ID: it runs for the stale IDs
         * only, as the original Stau did). */
        if (pj->due && pj->held_back.len && !pj->lag_per_id) {
            for (size_t r = 0; r < pj->held_back.len; r++)
                VEC_PUSH(&pj->why, pj->held_back.items[r]);
            VEC_FREE(&pj->held_back);
        }
        bool only_upstream = pj->due && pj->why.len, only_lag = only_upstream;
        for (size_t r = 0; r < pj->why.len; r++) {
            enum reason_kind kind = pj->why.items[r].kind;
            only_upstream &= kind == REASON_UPSTREAM_DUE;
            /* (Needed, and to redo what did not succeed: the same, per work ID.) */
            only_lag &= kind == REASON_MAX_LAG ||
                        (pj->pulled && (kind == REASON_FAILED || kind == REASON_NEVER_RUN));
        }
        pj->cutoff = only_upstream;
        pj->lag_only = only_lag;
        pj->lag_per_id &= only_lag;
    }
    for (size_t k = 0; k < topo.len; k++)
        if (plan->jobs[topo.items[k]].due)
            VEC_PUSH(&plan->order, topo.items[k]);
    mark_copies(plan, g);
    VEC_FREE(&topo);
    free(is_target);
    return 0;
}

void plan_job_release(struct plan_job *pj)
{
    reasons_release(&pj->why);
    reasons_release(&pj->held_back);
    free(pj->missing_output);
    free(pj->files);
    run_record_release(&pj->last);
    run_record_release(&pj->success);
    for (size_t k = 0; k < pj->schedule_count; k++)
        free(pj->schedule_texts[k]);
    free(pj->schedule_texts);
    free(pj->schedule_entry);
    free(pj->schedule_groups);
    free(pj->schedule_ids);
    free(pj->copies);
    free(pj->schedules);
    tz_free(pj->zone);
    memset(pj, 0, sizeof(*pj));
}

void plan_release(struct plan *plan)
{
    for (size_t i = 0; i < plan->count; i++)
        plan_job_release(&plan->jobs[i]);
    free(plan->jobs);
    VEC_FREE(&plan->order);
    witness_release(&plan->witness);
    memset(plan, 0, sizeof(*plan));
}

int64_t plan_next_tick(const struct plan *plan)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < plan->count; i++) {
        const struct plan_job *pj = &plan->jobs[i];
        if (!pj->selected || !pj->schedule_count)
            continue;
        if (!pj->schedule_from)
            return 0; /* due now: never ran */
        struct job_now now;
        plan_job_now(pj, &now);
        int64_t tick = stale_next_tick(&now, pj->schedule_from, NULL);
        if (tick != CRON_NEVER && tick < next)
            next = tick;
    }
    return next;
}

void plan_outputs_fingerprint(struct project *p, struct store *st, size_t job, int64_t now,
                              char out[33], char **missing, struct store_file_list *learned,
                              struct strbuf *files)
{
    struct hasher h = HASHER_INIT(st, p->root, now, NULL, files);
    *missing = NULL;
    outputs_fingerprint(&h, p->graph.jobs.items[job].decl, out, missing);
    hasher_finish(&h, learned);
}

void plan_inputs_fingerprint(struct project *p, struct store *st, size_t job, int64_t now,
                             char out[33], struct store_file_list *learned, struct strbuf *files)
{
    struct hasher h = HASHER_INIT(st, p->root, now, NULL, files);
    code_files(&h, p, job);
    inputs_fingerprint(&h, p->graph.jobs.items[job].decl, out);
    hasher_finish(&h, learned);
}
