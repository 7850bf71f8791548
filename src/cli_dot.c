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
