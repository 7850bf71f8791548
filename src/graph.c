/* graph.c: jobs, dependencies, cycles and orders. */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b)
{
    const struct graph_input *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->path, y->path);
}

long graph_find(const struct graph *g, const char *name)
{
    size_t index;
    if (strmap_get(&g->by_name, name, strlen(name), &index))
        return (long)index;
    return -1;
}

static void add_jobs(struct graph *g, struct graph_input *sorted, size_t count, struct diags *diags)
{
    for (size_t i = 0; i < count; i++) {
        const struct graph_input *in = &sorted[i];
        if (g->jobs.len && strcmp(g->jobs.items[g->jobs.len - 1].name, in->name) == 0) {
            const struct job *first = &g->jobs.items[g->jobs.len - 1];
            diag_add(diags, DIAG_ERROR, in->path, in->decl_loc,
                     "job name '%s' is already taken by %s", in->name, first->path);
            diag_hint(diags, "job names come from paths below the jobs root ('a/b.py' and "
                             "'a/b/__init__.py' are both 'a.b'); rename one of the files");
            diag_add(diags, DIAG_NOTE, first->path, first->decl_loc, "'%s' is declared here",
                     in->name);
            /* Which file the name means is not known: neither runs. */
            g->jobs.items[g->jobs.len - 1].invalid = true;
            continue;
        }
        struct job job = {.name = xstrdup(in->name),
                          .path = in->path,
                          .decl = in->decl,
                          .decl_loc = in->decl_loc,
                          .broken = in->broken};
        VEC_PUSH(&g->jobs, job);
    }
    for (size_t i = 0; i < g->jobs.len; i++)
        strmap_put(&g->by_name, g->jobs.items[i].name, strlen(g->jobs.items[i].name), i);
}

const char *graph_closest(const struct graph *g, const char *name, const char *exclude)
{
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    size_t n = strlen(name);
    for (size_t i = 0; i < g->jobs.len; i++) {
        if (exclude && strcmp(g->jobs.items[i].name, exclude) == 0)
            continue;
        size_t d = edit_distance(name, g->jobs.items[i].name);
        if (d < best_distance) {
            best_distance = d;
            best = g->jobs.items[i].name;
        }
    }
    if (best && best_distance <= 3 && best_distance * 3 <= n + 2)
        return best;
    /* A job reached by its last component only ("report" for "sales.report"). */
    for (size_t i = 0; i < g->jobs.len; i++) {
        const char *dot = strrchr(g->jobs.items[i].name, '.');
        if (exclude && strcmp(g->jobs.items[i].name, exclude) == 0)
            continue;
        if (dot && strcmp(dot + 1, name) == 0)
            return g->jobs.items[i].name;
    }
    return NULL;
}

static void add_edges(struct graph *g, struct diags *diags)
{
    for (size_t i = 0; i < g->jobs.len; i++) {
        struct job *job = &g->jobs.items[i];
        for (size_t k = 0; k < job->decl->deps.len; k++) {
            const struct dependency *dep = &job->decl->deps.items[k];
            long to = graph_find(g, dep->job);
            if (to < 0) {
                diag_add(diags, DIAG_ERROR, job->path, dep->loc,
                         "'%s' depends on '%s', which is not a job", job->name, dep->job);
                const char *suggestion = graph_closest(g, dep->job, job->name);
                if (suggestion)
                    diag_hint(diags, "did you mean '%s'?", suggestion);
                else
                    diag_hint(diags, "a job is a .py file below the jobs root with a STAU_CONFIG; "
                                     "`stau list` shows them all");
                continue;
            }
            if ((size_t)to == i) {
                diag_add(diags, DIAG_ERROR, job->path, dep->loc, "'%s' depends on itself",
                         job->name);
                diag_hint(diags, "remove '%s' from its own dependencies", job->name);
                job->in_cycle = true;
                continue;
            }
            bool repeated = false;
            for (size_t e = 0; e < job->deps.len; e++)
                repeated |= job->deps.items[e].to == (size_t)to;
            if (repeated) {
                diag_add(diags, DIAG_WARNING, job->path, dep->loc,
                         "'%s' is listed twice in the dependencies of '%s'", dep->job, job->name);
                continue;
            }
            struct edge edge = {(size_t)to, dep};
            VEC_PUSH(&job->deps, edge);
            g->edge_count++;
        }
    }
}

/* Report one cycle through the jobs of a strongly connected component. */
static void report_cycle(struct graph *g, const size_t *members, size_t count, struct diags *diags)
{
    /* Start at the smallest name and follow edges inside the component back to it (BFS). */
    bool *in = xcalloc(g->jobs.len, sizeof(bool));
    size_t start = members[0];
    for (size_t i = 0; i < count; i++) {
        in[members[i]] = true;
        g->jobs.items[members[i]].in_cycle = true;
        if (strcmp(g->jobs.items[members[i]].name, g->jobs.items[start].name) < 0)
            start = members[i];
    }
    size_t *parent = xmalloc(g->jobs.len * sizeof(size_t));
    size_t *parent_edge = xmalloc(g->jobs.len * sizeof(size_t));
    size_t *queue = xmalloc(g->jobs.len * sizeof(size_t));
    bool *seen = xcalloc(g->jobs.len, sizeof(bool));
    size_t head = 0, tail = 0, last = start, last_edge = 0;
    bool closed = false;
    queue[tail++] = start;
    seen[start] = true;
    while (head < tail && !closed) {
        size_t u = queue[head++];
        const struct job *job = &g->jobs.items[u];
        for (size_t e = 0; e < job->deps.len && !closed; e++) {
            size_t v = job->deps.items[e].to;
            if (!in[v])
                continue;
            if (v == start) {
                last = u;
                last_edge = e;
                closed = true;
            } else if (!seen[v]) {
                seen[v] = true;
                parent[v] = u;
                parent_edge[v] = e;
                queue[tail++] = v;
            }
        }
    }
    /* Walk back from the closing edge to get the cycle in order. */
    struct sizelist path = {0}, edges = {0};
    VEC_PUSH(&path, last);
    VEC_PUSH(&edges, last_edge);
    for (size_t u = last; u != start; u = parent[u]) {
        VEC_PUSH(&path, parent[u]);
        VEC_PUSH(&edges, parent_edge[u]);
    }
    struct strbuf text = STRBUF_INIT;
    for (size_t i = path.len; i-- > 0;)
        strbuf_addf(&text, "%s -> ", g->jobs.items[path.items[i]].name);
    strbuf_addstr(&text, g->jobs.items[start].name);
    const struct job *first = &g->jobs.items[path.items[path.len - 1]];
    const struct edge *first_edge = &first->deps.items[edges.items[edges.len - 1]];
    diag_add(diags, DIAG_ERROR, first->path, first_edge->dep->loc, "dependency cycle: %s",
             text.buf);
    diag_hint(diags, "a job cannot depend on itself, directly or through others; remove one of "
                     "these dependencies");
    for (size_t i = path.len; i-- > 0;) {
        const struct job *job = &g->jobs.items[path.items[i]];
        const struct edge *edge = &job->deps.items[edges.items[i]];
        diag_add(diags, DIAG_NOTE, job->path, edge->dep->loc, "'%s' depends on '%s' here",
                 job->name, g->jobs.items[edge->to].name);
    }
    strbuf_release(&text);
    VEC_FREE(&path);
    VEC_FREE(&edges);
    free(in);
    free(parent);
    free(parent_edge);
    free(queue);
    free(seen);
}

/* Tarjan's strongly connected components, iteratively; each component of more
 * than one job holds a cycle to report. */
static void find_cycles(struct graph *g, struct diags *diags)
{
    size_t n = g->jobs.len;
    const size_t unvisited = (size_t)-1;
    size_t *index = xmalloc(n * sizeof(size_t)), *low = xmalloc(n * sizeof(size_t));
    size_t *stack = xmalloc(n * sizeof(size_t)), *frames = xmalloc(n * sizeof(size_t));
    size_t *edge_at = xcalloc(n, sizeof(size_t));
    bool *on_stack = xcalloc(n, sizeof(bool));
    size_t next_index = 0, sp = 0;
    for (size_t i = 0; i < n; i++)
        index[i] = unvisited;
    for (size_t root = 0; root < n; root++) {
        if (index[root] != unvisited)
            continue;
        size_t fp = 0;
        frames[fp++] = root;
        index[root] = low[root] = next_index++;
        stack[sp++] = root;
        on_stack[root] = true;
        while (fp) {
            size_t u = frames[fp - 1];
            const struct job *job = &g->jobs.items[u];
            if (edge_at[u] < job->deps.len) {
                size_t v = job->deps.items[edge_at[u]++].to;
                if (index[v] == unvisited) {
                    index[v] = low[v] = next_index++;
                    stack[sp++] = v;
                    on_stack[v] = true;
                    frames[fp++] = v;
                } else if (on_stack[v] && index[v] < low[u]) {
                    low[u] = index[v];
                }
                continue;
            }
            fp--;
            if (fp && low[u] < low[frames[fp - 1]])
                low[frames[fp - 1]] = low[u];
            if (low[u] != index[u])
                continue;
            size_t from = sp;
            do
                on_stack[stack[--from]] = false;
            while (stack[from] != u);
            if (sp - from > 1)
                report_cycle(g, stack + from, sp - from, diags);
            sp = from;
        }
    }
    free(index);
    free(low);
    free(stack);
    free(frames);
    free(edge_at);
    free(on_stack);
}

void graph_build(struct graph *g, const struct graph_input *inputs, size_t count,
                 struct diags *diags)
{
    memset(g, 0, sizeof(*g));
    struct graph_input *sorted = xmalloc((count ? count : 1) * sizeof(*sorted));
    if (count)
        memcpy(sorted, inputs, count * sizeof(*sorted));
    qsort(sorted, count, sizeof(*sorted), by_name);
    add_jobs(g, sorted, count, diags);
    free(sorted);
    add_edges(g, diags);
    find_cycles(g, diags);
}

void graph_add_timetable(struct graph *g, const char *path, const struct timetable *t,
                         struct diags *diags)
{
    for (size_t i = 0; i < t->len; i++) {
        const struct timetable_entry *e = &t->items[i];
        long index = graph_find(g, e->job);
        if (index < 0) {
            diag_add(diags, DIAG_ERROR, path, e->loc,
                     "recurring_jobs entry '%s' runs '%s', which is not a job", e->id, e->job);
            const char *suggestion = graph_closest(g, e->job, NULL);
            if (suggestion)
                diag_hint(diags, "did you mean '%s'?", suggestion);
            continue;
        }
        VEC_PUSH(&g->jobs.items[index].timetable, e);
    }
}

static bool has_schedule(const struct job *job)
{
    return job->decl->schedules.len || job->timetable.len;
}

enum policy job_policy(const struct job *job)
{
    unsigned on = job->decl->on;
    if (on)
        return on & DECL_ON_SCHEDULE ? POLICY_SCHEDULED
               : on & DECL_ON_DEMAND ? POLICY_ON_DEMAND
                                     : POLICY_DERIVED;
    if (has_schedule(job))
        return POLICY_SCHEDULED;
    return job->decl->original_form ? POLICY_ON_DEMAND : POLICY_DERIVED;
}

bool job_on_change(const struct job *job)
{
    enum policy policy = job_policy(job);
    return policy == POLICY_DERIVED ||
           (policy == POLICY_SCHEDULED && (job->decl->on & DECL_ON_CHANGE));
}

const char *policy_name(enum policy policy)
{
    return policy == POLICY_SCHEDULED ? "scheduled"
           : policy == POLICY_DERIVED ? "derived"
                                      : "on demand";
}

const char *policy_json_name(enum policy policy)
{
    return policy == POLICY_SCHEDULED ? "scheduled"
           : policy == POLICY_DERIVED ? "derived"
                                      : "on-demand";
}

const char *job_policy_text(const struct job *job)
{
    enum policy policy = job_policy(job);
    if (policy == POLICY_SCHEDULED && job_on_change(job))
        return "scheduled and on change";
    return policy_name(policy);
}

void graph_check_policies(const struct graph *g, struct diags *diags)
{
    for (size_t i = 0; i < g->jobs.len; i++) {
        const struct job *job = &g->jobs.items[i];
        unsigned on = job->broken ? 0 : job->decl->on;
        if (!on)
            continue;
        if ((on & DECL_ON_SCHEDULE) && !has_schedule(job)) {
            diag_add(diags, DIAG_ERROR, job->path, job->decl->on_loc,
                     "'on' includes \"schedule\", but '%s' has no schedule", job->name);
            diag_hint(diags, "add a \"schedule\", or say \"on\": \"change\" to run it when "
                             "what it is made from changes");
        } else if (!(on & DECL_ON_SCHEDULE) && has_schedule(job)) {
            diag_add(diags, DIAG_ERROR, job->path, job->decl->on_loc,
                     "'%s' has a schedule, but 'on' does not include \"schedule\"", job->name);
            diag_hint(diags, "write \"on\": [\"schedule\", \"change\"] to run it at its "
                             "ticks and when what it is made from changes, or remove the "
                             "schedule");
        }
    }
}

size_t graph_mark_invalid(struct graph *g, const struct diags *diags)
{
    size_t n = g->jobs.len, blocked = 0;
    struct strmap by_path = {0};
    for (size_t i = 0; i < n; i++)
        strmap_put(&by_path, g->jobs.items[i].path, strlen(g->jobs.items[i].path), i);
    for (size_t k = 0; k < diags->items.len; k++) {
        const struct diag *d = &diags->items.items[k];
        size_t i;
        if (d->severity == DIAG_ERROR && d->path &&
            strmap_get(&by_path, d->path, strlen(d->path), &i))
            g->jobs.items[i].invalid = true;
    }
    strmap_release(&by_path);
    /* From each invalid job down its dependents, breadth first: each blocked job
     * names the dependency it was reached through, the shortest way to the cause. */
    struct sizelist *downstream = xcalloc(n + 1, sizeof(struct sizelist));
    struct sizelist queue = {0};
    for (size_t i = 0; i < n; i++) {
        struct job *job = &g->jobs.items[i];
        job->invalid |= job->broken || job->in_cycle;
        for (size_t e = 0; e < job->deps.len; e++)
            VEC_PUSH(&downstream[job->deps.items[e].to], i);
        if (job->invalid) {
            job->blocked = true;
            job->blocked_by = i;
            VEC_PUSH(&queue, i);
        }
    }
    for (size_t head = 0; head < queue.len; head++) {
        size_t u = queue.items[head];
        for (size_t k = 0; k < downstream[u].len; k++) {
            struct job *dependent = &g->jobs.items[downstream[u].items[k]];
            if (dependent->blocked)
                continue;
            dependent->blocked = true;
            dependent->blocked_by = u;
            VEC_PUSH(&queue, downstream[u].items[k]);
        }
    }
    blocked = queue.len;
    for (size_t i = 0; i < n; i++)
        VEC_FREE(&downstream[i]);
    free(downstream);
    VEC_FREE(&queue);
    return blocked;
}

void graph_blocked_reason(const struct graph *g, size_t job, struct strbuf *out)
{
    const struct job *j = &g->jobs.items[job];
    if (!j->blocked)
        return;
    if (j->blocked_by == job) {
        strbuf_addstr(out, j->in_cycle && !j->broken ? "it is in a dependency cycle"
                                                     : "its declaration is invalid");
        return;
    }
    strbuf_addstr(out, "it depends on ");
    for (size_t k = j->blocked_by;; k = g->jobs.items[k].blocked_by) {
        const struct job *up = &g->jobs.items[k];
        strbuf_addf(out, "'%s'", up->name);
        if (up->blocked_by == k) {
            strbuf_addstr(out, up->in_cycle && !up->broken ? ", which is in a dependency cycle"
                                                           : ", whose declaration is invalid");
            return;
        }
        strbuf_addstr(out, ", which depends on ");
    }
}

void graph_release(struct graph *g)
{
    for (size_t i = 0; i < g->jobs.len; i++) {
        free(g->jobs.items[i].name);
        VEC_FREE(&g->jobs.items[i].deps);
        VEC_FREE(&g->jobs.items[i].timetable);
    }
    VEC_FREE(&g->jobs);
    strmap_release(&g->by_name);
}

void graph_upstream(const struct graph *g, const size_t *roots, size_t count, bool *selected)
{
    struct sizelist todo = {0};
    for (size_t i = 0; i < count; i++) {
        if (!selected[roots[i]]) {
            selected[roots[i]] = true;
            VEC_PUSH(&todo, roots[i]);
        }
    }
    while (todo.len) {
        const struct job *job = &g->jobs.items[todo.items[--todo.len]];
        for (size_t e = 0; e < job->deps.len; e++) {
            size_t v = job->deps.items[e].to;
            if (!selected[v]) {
                selected[v] = true;
                VEC_PUSH(&todo, v);
            }
        }
    }
    VEC_FREE(&todo);
}

void graph_topological(const struct graph *g, struct sizelist *order)
{
    /* Kahn's algorithm over "upstream first"; jobs are sorted by name, and a
     * min-ordered scan keeps ties in name order. */
    size_t n = g->jobs.len;
    size_t *waiting = xcalloc(n ? n : 1, sizeof(size_t));
    struct sizelist *downstream = xcalloc(n ? n : 1, sizeof(struct sizelist));
    for (size_t i = 0; i < n; i++) {
        const struct job *job = &g->jobs.items[i];
        if (job->in_cycle)
            continue;
        for (size_t e = 0; e < job->deps.len; e++) {
            waiting[i]++;
            VEC_PUSH(&downstream[job->deps.items[e].to], i);
        }
    }
    /* A binary heap of ready jobs by index (= by name). */
    size_t *heap = xmalloc((n ? n : 1) * sizeof(size_t)), heap_len = 0;
    for (size_t i = 0; i < n; i++)
        if (!g->jobs.items[i].in_cycle && waiting[i] == 0)
            heap[heap_len++] = i; /* already in increasing order: a valid heap */
    while (heap_len) {
        size_t u = heap[0];
        heap[0] = heap[--heap_len];
        for (size_t i = 0;;) {
            size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < heap_len && heap[l] < heap[m])
                m = l;
            if (r < heap_len && heap[r] < heap[m])
                m = r;
            if (m == i)
                break;
            size_t t = heap[i];
            heap[i] = heap[m];
            heap[m] = t;
            i = m;
        }
        VEC_PUSH(order, u);
        for (size_t k = 0; k < downstream[u].len; k++) {
            size_t v = downstream[u].items[k];
            if (g->jobs.items[v].in_cycle || --waiting[v])
                continue;
            size_t i = heap_len++;
            heap[i] = v;
            while (i && heap[(i - 1) / 2] > heap[i]) {
                size_t t = heap[i];
                heap[i] = heap[(i - 1) / 2];
                heap[(i - 1) / 2] = t;
                i = (i - 1) / 2;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        VEC_FREE(&downstream[i]);
    free(downstream);
    free(waiting);
    free(heap);
}
