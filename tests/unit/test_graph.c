/* Unit tests of the graph (unknown jobs, self-dependencies, duplicates, cycles,
 * orders), job names from paths, and import resolution. */
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "imports.h"
#include "project.h"
#include "unit.h"

/* A tiny declaration table: each job's dependencies as a space-separated list. */
struct fake_job {
    const char *name;
    const char *deps;
};

struct fake_graph {
    struct decl decls[16];
    struct graph_input inputs[16];
    size_t count;
    struct graph graph;
    struct diags diags;
};

static void fake_build(struct fake_graph *fg, const struct fake_job *jobs, size_t count)
{
    memset(fg, 0, sizeof(*fg));
    for (size_t i = 0; i < count; i++) {
        struct decl *d = &fg->decls[i];
        char *deps = xstrdup(jobs[i].deps);
        uint32_t col = 1;
        for (char *tok = strtok(deps, " "); tok; tok = strtok(NULL, " ")) {
            struct dependency dep = {0};
            dep.job = xstrdup(tok);
            dep.loc =
                (struct loc){(uint32_t)i + 1, col, (uint32_t)i + 1, col + (uint32_t)strlen(tok)};
            col += 10;
            VEC_PUSH(&d->deps, dep);
        }
        free(deps);
        fg->inputs[i] = (struct graph_input){jobs[i].name, jobs[i].name, d, {1, 1, 1, 12}, false};
    }
    fg->count = count;
    graph_build(&fg->graph, fg->inputs, count, &fg->diags);
}

static void fake_release(struct fake_graph *fg)
{
    graph_release(&fg->graph);
    for (size_t i = 0; i < fg->count; i++)
        decl_release(&fg->decls[i]);
    diag_release(&fg->diags);
}

static char *diag_lines(const struct diags *d)
{
    static const char *names[] = {"error", "warning", "note"};
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < d->items.len; i++) {
        const struct diag *x = &d->items.items[i];
        strbuf_addf(&sb, "%s:%u:%u: %s: %s", x->path, x->loc.line, x->loc.col, names[x->severity],
                    x->message);
        if (x->hint)
            strbuf_addf(&sb, " [hint: %s]", x->hint);
        strbuf_addch(&sb, '\n');
    }
    return strbuf_detach(&sb);
}

static char *order_text(const struct graph *g)
{
    struct sizelist order = {0};
    graph_topological(g, &order);
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < order.len; i++)
        strbuf_addf(&sb, "%s%s", i ? " " : "", g->jobs.items[order.items[i]].name);
    VEC_FREE(&order);
    return strbuf_detach(&sb);
}

UNIT_TEST(graph_order_and_lookup)
{
    const struct fake_job jobs[] = {
        {"report", "clean fx"}, {"clean", "raw"}, {"raw", ""}, {"fx", ""}, {"alone", ""}};
    struct fake_graph fg;
    fake_build(&fg, jobs, 5);
    char *d = diag_lines(&fg.diags);
    CHECK_STR(d, "");
    CHECK_INT(fg.graph.jobs.len, 5);
    CHECK_INT(fg.graph.edge_count, 3);
    CHECK_INT(graph_find(&fg.graph, "clean"), 1);
    CHECK_INT(graph_find(&fg.graph, "nope"), -1);
    char *order = order_text(&fg.graph);
    CHECK_STR(order, "alone fx raw clean report");
    bool selected[5] = {0};
    size_t root = (size_t)graph_find(&fg.graph, "clean");
    graph_upstream(&fg.graph, &root, 1, selected);
    CHECK(selected[1] && selected[3] && !selected[0] && !selected[2] && !selected[4]);
    free(order);
    free(d);
    fake_release(&fg);
}

UNIT_TEST(graph_unknown_and_self)
{
    const struct fake_job jobs[] = {{"sales.report", "sales.clen me.self"},
                                    {"sales.clean", ""},
                                    {"me.self", "me.self"},
                                    {"x", "report"}};
    struct fake_graph fg;
    fake_build(&fg, jobs, 4);
    char *d = diag_lines(&fg.diags);
    CHECK_STR(d, "me.self:3:1: error: 'me.self' depends on itself [hint: remove 'me.self' from its "
                 "own dependencies]\n"
                 "sales.report:1:1: error: 'sales.report' depends on 'sales.clen', which is not a "
                 "job [hint: did you mean 'sales.clean'?]\n"
                 "x:4:1: error: 'x' depends on 'report', which is not a job [hint: did you mean "
                 "'sales.report'?]\n");
    free(d);
    fake_release(&fg);
}

UNIT_TEST(graph_duplicates)
{
    struct fake_graph fg;
    memset(&fg, 0, sizeof(fg));
    fg.inputs[0] = (struct graph_input){"a.b", "src/a/b.py", &fg.decls[0], {3, 1, 3, 12}, false};
    fg.inputs[1] =
        (struct graph_input){"a.b", "src/a/b/__init__.py", &fg.decls[1], {5, 1, 5, 12}, false};
    fg.count = 2;
    graph_build(&fg.graph, fg.inputs, 2, &fg.diags);
    char *d = diag_lines(&fg.diags);
    CHECK_STR(d, "src/a/b/__init__.py:5:1: error: job name 'a.b' is already taken by src/a/b.py "
                 "[hint: job names come from paths below the jobs root ('a/b.py' and "
                 "'a/b/__init__.py' are both 'a.b'); rename one of the files]\n"
                 "src/a/b.py:3:1: note: 'a.b' is declared here\n");
    CHECK_INT(fg.graph.jobs.len, 1);
    free(d);
    fake_release(&fg);
}

UNIT_TEST(graph_cycles)
{
    /* Two cycles: a -> b -> c -> a and d <-> e; f hangs below a cycle. */
    const struct fake_job jobs[] = {{"a", "b"}, {"b", "c"}, {"c", "a"}, {"d", "e"},
                                    {"e", "d"}, {"f", "a"}, {"g", ""}};
    struct fake_graph fg;
    fake_build(&fg, jobs, 7);
    char *d = diag_lines(&fg.diags);
    CHECK_STR(d,
              "a:1:1: error: dependency cycle: a -> b -> c -> a [hint: a job cannot depend on "
              "itself, directly or through others; remove one of these dependencies]\n"
              "a:1:1: note: 'a' depends on 'b' here\n"
              "b:2:1: note: 'b' depends on 'c' here\n"
              "c:3:1: note: 'c' depends on 'a' here\n"
              "d:4:1: error: dependency cycle: d -> e -> d [hint: a job cannot depend on itself, "
              "directly or through others; remove one of these dependencies]\n"
              "d:4:1: note: 'd' depends on 'e' here\n"
              "e:5:1: note: 'e' depends on 'd' here\n");
    char *order = order_text(&fg.graph);
    CHECK_STR(order, "g");
    free(order);
    free(d);
    fake_release(&fg);
}

UNIT_TEST(graph_large_chain)
{
    /* A long chain must not recurse: 5000 jobs each depending on the previous. */
    enum { N = 5000 };
    struct decl *decls = xcalloc(N, sizeof(struct decl));
    struct graph_input *inputs = xcalloc(N, sizeof(struct graph_input));
    char **names = xcalloc(N, sizeof(char *));
    for (size_t i = 0; i < N; i++) {
        names[i] = xprintf("job%05zu", i);
        if (i) {
            struct dependency dep = {0};
            dep.job = xprintf("job%05zu", i - 1);
            VEC_PUSH(&decls[i].deps, dep);
        }
        inputs[i] = (struct graph_input){names[i], names[i], &decls[i], {1, 1, 1, 1}, false};
    }
    struct graph g;
    struct diags diags = DIAGS_INIT;
    graph_build(&g, inputs, N, &diags);
    CHECK_INT(diags.items.len, 0);
    struct sizelist order = {0};
    graph_topological(&g, &order);
    CHECK_INT(order.len, N);
    CHECK_INT(order.items[N - 1], N - 1);
    VEC_FREE(&order);
    graph_release(&g);
    diag_release(&diags);
    for (size_t i = 0; i < N; i++) {
        decl_release(&decls[i]);
        free(names[i]);
    }
    free(decls);
    free(inputs);
    free(names);
}

UNIT_TEST(names_from_paths)
{
    const char *cases[][3] = {
        {"src", "src/sales/report.py", "sales.report"},
        {"src", "src/a.py", "a"},
        {"src", "src/pkg/__init__.py", "pkg"},
        {"src", "src/__init__.py", NULL},
        {"src", "other/a.py", NULL},
        {"src", "srcx/a.py", NULL},
        {"", "a/b/c.py", "a.b.c"},
        {"jobs/etl", "jobs/etl/x.py", "x"},
        {"src", "src/a.b.py", "a.b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *name = project_job_name(cases[i][0], cases[i][1]);
        CHECK_STR(name, cases[i][2]);
        free(name);
    }
}

static char *resolve_text(const struct import_index *ix, const char *from, const char *module,
                          int level, const char *names)
{
    struct scan_import imp = {xstrdup(module), level, {0}, 1};
    if (names) {
        char *copy = xstrdup(names);
        for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " "))
            VEC_PUSH(&imp.names, xstrdup(tok));
        free(copy);
    }
    struct sizelist out = {0};
    import_resolve(ix, from, &imp, &out);
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < out.len; i++)
        strbuf_addf(&sb, "%s%s", i ? " " : "", ix->paths[out.items[i]]);
    VEC_FREE(&out);
    free(imp.module);
    for (size_t i = 0; i < imp.names.len; i++)
        free(imp.names.items[i]);
    VEC_FREE(&imp.names);
    return strbuf_detach(&sb);
}

UNIT_TEST(imports_resolve)
{
    char *paths[] = {"src/common/__init__.py",   "src/common/io.py",     "src/common/dates.py",
                     "src/sales/report.py",      "src/sales/helpers.py", "src/utils.py",
                     "src/deep/a/b/__init__.py", "src/deep/a/b/c.py"};
    struct import_index ix;
    import_index_init(&ix, "src", paths, sizeof(paths) / sizeof(paths[0]));
    char *r;
    r = resolve_text(&ix, "src/sales/report.py", "common.io", 0, NULL);
    CHECK_STR(r, "src/common/__init__.py src/common/io.py");
    free(r);
    r = resolve_text(&ix, "src/sales/report.py", "common", 0, "dates nothing");
    CHECK_STR(r, "src/common/__init__.py src/common/dates.py");
    free(r);
    r = resolve_text(&ix, "src/sales/report.py", "", 1, "helpers");
    CHECK_STR(r, "src/sales/helpers.py");
    free(r);
    r = resolve_text(&ix, "src/sales/report.py", "utils", 2, "x");
    CHECK_STR(r, "src/utils.py");
    free(r);
    r = resolve_text(&ix, "src/sales/report.py", "pandas", 0, "DataFrame");
    CHECK_STR(r, "");
    free(r);
    r = resolve_text(&ix, "src/x.py", "deep.a.b.c", 0, NULL);
    CHECK_STR(r, "src/deep/a/b/__init__.py src/deep/a/b/c.py");
    free(r);
    r = resolve_text(&ix, "src/x.py", "src.utils", 0, NULL);
    CHECK_STR(r, "src/utils.py");
    free(r);
    import_index_release(&ix);
}
