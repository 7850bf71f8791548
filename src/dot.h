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

#endif
