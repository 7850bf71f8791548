/* dot.h: the graph as Graphviz DOT, written with libcgraph. */
#ifndef STAU_DOT_H
#define STAU_DOT_H

#include <stdio.h>
#include "graph.h"

/* Write the jobs marked in selected (all when NULL) and the edges between them
 * to out. Edges carry max_lag when set; broken jobs and jobs in a cycle have a red
 * border; states (one per job, NULL for none) name each node's state, which its
 * fill colour shows. Returns 0, or -1 after a message. */
int dot_write(FILE *out, const struct graph *g, const bool *selected, const char *const *states);

/* One chunk (or whole run) of the chunk graph: a node. */
struct dot_chunk {
    const char *job;   /* its job, the cluster it is drawn in */
    const char *label; /* "1-3" (its work IDs), or "run 12" */
    const char *state; /* its run's status */
    const char *id;    /* its node name, unique ("job_a#2") */
};

/* An edge of the chunk graph: chunk from (upstream) to chunk to. */
struct dot_chunk_edge {
    size_t from, to;
};

/* Write the chunk graph: each job a cluster of its chunks, edges between chunks
 * sharing work IDs. 0, or -1 after a message. */
int dot_write_chunks(FILE *out, const struct dot_chunk *chunks, size_t count,
                     const struct dot_chunk_edge *edges, size_t edge_count);

#endif
