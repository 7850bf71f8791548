/* cli_dot.c: `stau dot [JOB...]`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include "dot.h"
#include "store.h"
#include "work.h"
#include <unistd.h>

/* Each job's last run status from the state database, when there is one (never
 * created here: drawing the graph must not leave state behind); NULL without. */
static const char **job_states(const struct project *p)
{
    struct store *st = cli_state_exists(p) ? cli_open_store(p) : NULL;
    if (!st)
        return NULL; /* no runs yet (or the message said why): plain nodes */
    const struct graph *g = &p->graph;
    const char **states = xcalloc(g->jobs.len + 1, sizeof(char *));
    for (size_t i = 0; i < g->jobs.len; i++) {
        struct run_record last = {0};
        size_t missing;
        /* A chunked job's latest invocation as a whole (failed if one chunk failed). */
        int found = work_last_invocation(st, g->jobs.items[i].name, &last, &missing);
        if (found < 0) {
            warn("%s", store_error(st));
            break;
        }
        states[i] = found ? run_status_name(last.status) : "never run";
        run_record_release(&last);
    }
    store_close(st);
    return states;
}

/* One node of the chunk graph, with what it is made of. */
struct chunk_node {
    size_t job;          /* graph index */
    struct work_ids ids; /* its work IDs; none: a run not split */
    bool split;          /* it is a chunk */
};

/* Whether two sorted ID lists share one. */
static bool share_an_id(const struct work_ids *a, const struct work_ids *b)
{
    for (size_t i = 0, j = 0; i < a->len && j < b->len;) {
        if (a->items[i] == b->items[j])
            return true;
        if (a->items[i] < b->items[j])
            i++;
        else
            j++;
    }
    return false;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* `stau dot --chunks JOB...`: the latest invocation of the jobs and what they need,
 * chunk by chunk (SPEC §7): a chunk needs the chunks of its dependencies sharing
 * one of its IDs; a run not split needs, or is needed by, all of them. */
static int dot_chunks(struct project *p, const bool *selected)
{
    const struct graph *g = &p->graph;
    struct store *st = cli_state_exists(p) ? cli_open_store(p) : NULL;
    if (!st) {
        error("nothing has run yet: the chunk graph is drawn from the latest runs");
        fprintf(stderr, "  hint: run the jobs first (`stau`), or draw the job graph: stau dot\n");
        return EXIT_USAGE;
    }
    VEC(struct chunk_node) nodes = {0};
    VEC(struct dot_chunk) chunks = {0};
    size_t *first = xcalloc(g->jobs.len + 1, sizeof(size_t)),
           *count = xcalloc(g->jobs.len + 1, sizeof(size_t));
    int rc = EXIT_OK;
    for (size_t i = 0; i < g->jobs.len && rc == EXIT_OK; i++) {
        first[i] = nodes.len;
        if (!selected[i])
            continue;
        struct run_list batch = {0};
        if (store_last_batch(st, g->jobs.items[i].name, &batch) < 0) {
            error("%s", store_error(st));
            rc = EXIT_USAGE;
            break;
        }
        /* The latest attempt of each chunk (the runs come oldest first). */
        for (size_t r = 0; r < batch.len; r++) {
            const struct run_record *run = &batch.items[r];
            bool later = false;
            for (size_t k = r + 1; k < batch.len && !later; k++)
                later = run->chunk && batch.items[k].chunk == run->chunk;
            if (later)
                continue;
            struct chunk_node n = {i, {0}, run->chunk > 0};
            if (run->work_ids_json && work_ids_parse(run->work_ids_json, &n.ids) == 0 && n.ids.len)
                qsort(n.ids.items, n.ids.len, sizeof(int64_t), by_value);
            /* "1-3 (run 12)" for a chunk, "run 12" for a run not split. */
            struct strbuf label = STRBUF_INIT;
            if (n.split && n.ids.len)
                work_ids_describe(n.ids.items, n.ids.len, 30, &label);
            else if (n.split)
                strbuf_addstr(&label, "no IDs");
            strbuf_addf(&label, label.len ? " (run %lld)" : "run %lld", (long long)run->id);
            struct dot_chunk dc = {g->jobs.items[i].name, strbuf_detach(&label),
                                   run_status_name(run->status),
                                   xprintf("%s#%d", g->jobs.items[i].name, run->chunk)};
            VEC_PUSH(&nodes, n);
            VEC_PUSH(&chunks, dc);
        }
        count[i] = nodes.len - first[i];
        run_list_release(&batch);
    }
    store_close(st);
    VEC(struct dot_chunk_edge) edges = {0};
    for (size_t i = 0; i < g->jobs.len && rc == EXIT_OK; i++) {
        const struct job *job = &g->jobs.items[i];
        for (size_t e = 0; selected[i] && e < job->deps.len; e++) {
            size_t up = job->deps.items[e].to;
            for (size_t a = first[up]; a < first[up] + count[up]; a++)
                for (size_t b = first[i]; b < first[i] + count[i]; b++) {
                    const struct chunk_node *x = &nodes.items[a], *y = &nodes.items[b];
                    bool both = x->split && y->split;
                    if (!both || share_an_id(&x->ids, &y->ids)) {
                        struct dot_chunk_edge edge = {a, b};
                        VEC_PUSH(&edges, edge);
                    }
                }
        }
    }
    if (rc == EXIT_OK &&
        dot_write_chunks(stdout, chunks.items, chunks.len, edges.items, edges.len) < 0)
        rc = EXIT_USAGE;
    for (size_t k = 0; k < nodes.len; k++) {
        VEC_FREE(&nodes.items[k].ids);
        free((char *)(uintptr_t)chunks.items[k].label);
        free((char *)(uintptr_t)chunks.items[k].id);
    }
    VEC_FREE(&nodes);
    VEC_FREE(&chunks);
    VEC_FREE(&edges);
    free(first);
    free(count);
    return rc;
}

int cli_dot(const struct cli *c)
{
    struct project p;
    if (cli_load(c, &p) < 0) {
        project_release(&p);
        return EXIT_USAGE;
    }
    const struct graph *g = &p.graph;
    bool *selected = NULL;
    int rc = EXIT_OK;
    if (c->arg_count) {
        selected = xcalloc(g->jobs.len + 1, sizeof(bool));
        struct sizelist roots = {0};
        for (size_t i = 0; i < c->arg_count; i++) {
            long index = graph_find(g, c->args[i]);
            if (index < 0) {
                error("no job named '%s'", c->args[i]);
                const char *suggestion = graph_closest(g, c->args[i], NULL);
                if (suggestion)
                    fprintf(stderr, "  hint: did you mean '%s'?\n", suggestion);
                rc = EXIT_USAGE;
                continue;
            }
            VEC_PUSH(&roots, (size_t)index);
        }
        graph_upstream(g, roots.items, roots.len, selected);
        VEC_FREE(&roots);
    }
    if (c->chunks && rc == EXIT_OK) {
        if (!selected) {
            error("'dot --chunks' needs the jobs whose chunk graph to draw");
            fprintf(stderr, "  hint: stau dot --chunks JOB... (a master: what it needs is drawn "
                            "too)\n");
            rc = EXIT_USAGE;
        } else {
            rc = dot_chunks(&p, selected);
        }
        free(selected);
        project_release_at_exit(&p);
        return rc;
    }
    const char **states = job_states(&p);
    if (rc == EXIT_OK && dot_write(stdout, g, selected, states) < 0)
        rc = EXIT_USAGE;
    if (rc == EXIT_OK && p.diags.errors)
        rc = EXIT_USAGE;
    free(selected);
    free(states);
    project_release_at_exit(&p);
    return rc;
}
