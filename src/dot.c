/* dot.c: DOT output; the only user of <graphviz/cgraph.h>. cgraph quotes and
 * escapes names and attribute values itself, so any job name is safe. */
#include "dot.h"

#include <graphviz/cgraph.h>
#include <stdlib.h>
#include <string.h>

/* cgraph takes char * for names and values it only reads. */
static char *mutable(const char *s)
{
    return (char *)(uintptr_t)s;
}

/* DOT gives backslashes in labels and tooltips meaning (\n, \l, \N): double them so a name shows as
 * it is. */
static char *label_text(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    for (; *s; s++) {
        if (*s == '\\')
            strbuf_addch(&sb, '\\');
        strbuf_addch(&sb, *s);
    }
    return strbuf_detach(&sb);
}

static void format_minutes(char *buf, size_t size, double minutes)
{
    if (minutes == (double)(long long)minutes)
        snprintf(buf, size, "max_lag %lldm", (long long)minutes);
    else
        snprintf(buf, size, "max_lag %gm", minutes);
}

/* Fill colours by state: green done, red failed, blue running, grey never run. */
static const char *state_color(const char *state)
{
    static const struct {
        const char *state, *color;
    } colors[] = {
        {"succeeded", "#c8e6c9"}, {"failed", "#ffcdd2"},      {"timed-out", "#ffcdd2"},
        {"lost", "#ffcdd2"},      {"interrupted", "#ffe0b2"}, {"running", "#bbdefb"},
        {"queued", "#bbdefb"},    {"skipped", "#eeeeee"},     {"cancelled", "#eeeeee"},
        {"never run", "#f5f5f5"},
    };
    for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
        if (strcmp(colors[i].state, state) == 0)
            return colors[i].color;
    return "white";
}

/* A new directed graph laid out left to right; NULL after a message. */
static Agraph_t *new_graph(void)
{
    Agraph_t *graph = agopen(mutable("stau"), Agstrictdirected, NULL);
    if (!graph) {
        error("cannot create a graph (out of memory?)");
        return NULL;
    }
    agattr(graph, AGRAPH, mutable("rankdir"), mutable("LR"));
    return graph;
}

/* Write the graph to out unless rc says it failed already, and free it: the result. */
static int finish(Agraph_t *graph, FILE *out, int rc)
{
    if (rc == 0 && agwrite(graph, out) != 0)
        rc = error("cannot write the graph:");
    if (agclose(graph) != 0 && rc == 0)
        rc = error("cannot free the graph");
    return rc;
}

int dot_write(FILE *out, const struct graph *g, const bool *selected, const char *const *states)
{
    Agraph_t *graph = new_graph();
    if (!graph)
        return -1;
    agattr(graph, AGNODE, mutable("shape"), mutable("box"));
    agattr(graph, AGNODE, mutable("style"), mutable("rounded"));
    agattr(graph, AGNODE, mutable("label"), mutable(""));
    agattr(graph, AGNODE, mutable("tooltip"), mutable(""));
    agattr(graph, AGNODE, mutable("color"), mutable("black"));
    agattr(graph, AGNODE, mutable("fillcolor"), mutable("white"));
    agattr(graph, AGNODE, mutable("state"), mutable(""));
    agattr(graph, AGNODE, mutable("policy"), mutable(""));
    agattr(graph, AGNODE, mutable("peripheries"), mutable("1"));
    agattr(graph, AGEDGE, mutable("label"), mutable(""));
    Agnode_t **nodes = xcalloc(g->jobs.len + 1, sizeof(Agnode_t *));
    int rc = 0;
    for (size_t i = 0; i < g->jobs.len && rc == 0; i++) {
        if (selected && !selected[i])
            continue;
        const struct job *job = &g->jobs.items[i];
        nodes[i] = agnode(graph, job->name, 1);
        if (!nodes[i]) {
            rc = error("cannot add node '%s' to the graph", job->name);
            break;
        }
        char *label = label_text(job->name);
        agset(nodes[i], mutable("label"), label);
        free(label);
        char *tooltip = label_text(job->path);
        agset(nodes[i], mutable("tooltip"), tooltip);
        free(tooltip);
        if (job->broken || job->in_cycle)
            agset(nodes[i], mutable("color"), mutable("red"));
        /* Scheduled jobs get a double border, on-demand ones a dashed one. */
        enum policy policy = job->broken ? POLICY_DERIVED : job_policy(job);
        if (!job->broken)
            agset(nodes[i], mutable("policy"), mutable(job_policy_text(job)));
        if (policy == POLICY_SCHEDULED)
            agset(nodes[i], mutable("peripheries"), mutable("2"));
        bool dashed = policy == POLICY_ON_DEMAND;
        if (dashed)
            agset(nodes[i], mutable("style"), mutable("rounded,dashed"));
        if (states && states[i]) {
            agset(nodes[i], mutable("style"),
                  mutable(dashed ? "rounded,filled,dashed" : "rounded,filled"));
            agset(nodes[i], mutable("fillcolor"), mutable(state_color(states[i])));
            agset(nodes[i], mutable("state"), mutable(states[i]));
        }
    }
    for (size_t i = 0; i < g->jobs.len && rc == 0; i++) {
        if (!nodes[i])
            continue;
        const struct job *job = &g->jobs.items[i];
        for (size_t e = 0; e < job->deps.len; e++) {
            const struct edge *edge = &job->deps.items[e];
            if (!nodes[edge->to])
                continue;
            /* Upstream first: an arrow points the way data flows. */
            Agedge_t *ae = agedge(graph, nodes[edge->to], nodes[i], NULL, 1);
            if (!ae) {
                rc = error("cannot add edge '%s' -> '%s' to the graph",
                           g->jobs.items[edge->to].name, job->name);
                break;
            }
            if (edge->dep->has_max_lag) {
                char buf[64];
                format_minutes(buf, sizeof(buf), edge->dep->max_lag);
                agset(ae, mutable("label"), buf);
            }
        }
    }
    free(nodes);
    return finish(graph, out, rc);
}

int dot_write_chunks(FILE *out, const struct dot_chunk *chunks, size_t count,
                     const struct dot_chunk_edge *edges, size_t edge_count)
{
    Agraph_t *graph = new_graph();
    if (!graph)
        return -1;
    agattr(graph, AGRAPH, mutable("label"), mutable(""));
    agattr(graph, AGNODE, mutable("shape"), mutable("box"));
    agattr(graph, AGNODE, mutable("style"), mutable("rounded,filled"));
    agattr(graph, AGNODE, mutable("label"), mutable(""));
    agattr(graph, AGNODE, mutable("fillcolor"), mutable("white"));
    agattr(graph, AGNODE, mutable("state"), mutable(""));
    Agnode_t **nodes = xcalloc(count + 1, sizeof(*nodes));
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char *cluster = xprintf("cluster_%s", chunks[i].job);
        Agraph_t *sub = agsubg(graph, cluster, 1);
        free(cluster);
        char *job_label = label_text(chunks[i].job);
        if (sub)
            agset(sub, mutable("label"), job_label);
        free(job_label);
        nodes[i] = sub ? agnode(sub, mutable(chunks[i].id), 1) : NULL;
        if (!nodes[i]) {
            rc = error("cannot add node '%s' to the graph", chunks[i].id);
            break;
        }
        char *label = label_text(chunks[i].label);
        agset(nodes[i], mutable("label"), label);
        free(label);
        agset(nodes[i], mutable("fillcolor"), mutable(state_color(chunks[i].state)));
        agset(nodes[i], mutable("state"), mutable(chunks[i].state));
    }
    for (size_t e = 0; e < edge_count && rc == 0; e++)
        if (!agedge(graph, nodes[edges[e].from], nodes[edges[e].to], NULL, 1))
            rc = error("cannot add edge '%s' -> '%s' to the graph", chunks[edges[e].from].id,
                       chunks[edges[e].to].id);
    free(nodes);
    return finish(graph, out, rc);
}
