/* graph.h - the DAG of project nodes and dbt's selection syntax (§2.6, §12.3).
 *
 * Nodes are identified by their dense index in Project.nodes; edges run
 * parent -> child and come from Node.parents (filled by the parse pass).
 * Sources are members of the graph (they are never executed).  This module
 * reads Project/Node fields; it never renders or touches the database. */
#ifndef CDBT_GRAPH_H
#define CDBT_GRAPH_H
#include <stdbool.h>
#include "../project/project.h"

typedef struct Graph {
    int n;
    int **children; int *nchildren;   /* per node, sorted ascending, deduplicated */
    int **parents;  int *nparents;
    int *topo;                         /* a topological order (parents first; ties by index) */
    int *depth;                        /* longest path from a root */
} Graph;

/* Build from Project nodes.  A cycle is an error (-> NULL) whose message
 * lists the path: "Found a cycle: model.p.a --> model.p.b --> model.p.a". */
Graph *graph_build(Project *p, Diag *err);
void   graph_free(Graph *g);

typedef enum { INDIRECT_EAGER, INDIRECT_CAUTIOUS, INDIRECT_BUILDABLE, INDIRECT_EMPTY } IndirectMode;

typedef struct SelectOptions {
    const char **select;  int nselect;     /* each may hold several space-separated expressions */
    const char **exclude; int nexclude;
    IndirectMode indirect;
    bool resource_types[RT__COUNT];        /* all false = every type */
    const char *state_dir;                 /* --state: previous manifest.json / run_results.json (state:, result:) */
    /* Optional (added by src/graph): called once for every space-separated
     * --select/--exclude expression that selects nothing, so the caller can
     * print dbt's warning "The selection criterion '<expr>' does not match
     * any enabled nodes".  expr is only valid during the call. */
    void (*on_unmatched)(void *ud, const char *expr);
    void *unmatched_ud;
    /* Optional (added by src/cache): the last run status of a node
     * ("success", "error", "fail", ...) or NULL, for result:<status> when
     * --state has no run_results.json. */
    const char *(*last_status)(void *ud, const char *unique_id);
    void *last_status_ud;
} SelectOptions;

/* Compute the selected set: out[i] true for selected node i.  Errors (bad
 * selector syntax, unknown method, '@' with trailing '+') -> -1 with err:
 * "Invalid selector '...': <reason>".  Disabled nodes are never in Project.nodes. */
int graph_select(Project *p, Graph *g, const SelectOptions *opt, bool *out, Diag *err);
/* Parse an --indirect-selection value; -1 if invalid. */
int graph_indirect_from_name(const char *s);
/* Read a JSON artifact (manifest.json, run_results.json) into Values in a:
 * 0, 1 when the file does not exist, -1 with *why on a read or syntax error. */
int graph_json_load(Arena *a, const char *path, Value *out, char *why, size_t whyn);
#endif
