/* cli_dot.c: `stau dot [JOB...]`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include "dot.h"

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
    if (rc == EXIT_OK && dot_write(stdout, g, selected) < 0)
        rc = EXIT_USAGE;
    if (rc == EXIT_OK && p.diags.errors)
        rc = EXIT_USAGE;
    free(selected);
    project_release_at_exit(&p);
    return rc;
}
