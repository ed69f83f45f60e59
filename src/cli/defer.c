/* defer.c - `--defer` (dbt's deferral, §12.2): the nodes a command does not
 * select are looked up in the state manifest (--defer-state, else --state);
 * each that the state built as a relation (a model that is not ephemeral, a
 * seed or a snapshot) is bound to the Dbt with the state's database, schema
 * and alias.  ref() of such a node then renders the state's relation when
 * the node's own relation does not exist in the target (with --favor-state:
 * always; without a database, as `compile` runs: always), as dbt resolves
 * refs for "slim CI" (`cdbt build -s state:modified+ --defer --state prod/`).
 *
 * `cdbt clone` reads the same manifest for the nodes it does select: each
 * becomes a view over the relation the state built (session_clone_sources). */
#include <string.h>
#include "cli.h"
#include "../graph/graph.h"

static const char *member_str(VDict *d, const char *key)
{
    Value *v = d ? dict_getz(d, key) : NULL;
    return v && v->type == V_STR && v->u.s->len ? v->u.s->s : NULL;
}

static VDict *member_dict(VDict *d, const char *key)
{
    Value *v = d ? dict_getz(d, key) : NULL;
    return v && v->type == V_DICT ? v->u.d : NULL;
}

/* The state manifest's relations of the refable nodes of p: those selected
 * (want_selected) or those not, into map (unique_id -> DbtDeferRel *).
 * 0, 1 when dir has no manifest.json, -1 on a bad one (why filled). */
static int state_relations(Session *s, const char *dir, const bool *sel, bool want_selected, StrMap *map,
                           int *count, char *why, size_t nwhy)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    Value m;
    int r = graph_json_load(&s->arena, path, &m, why, nwhy);
    if (r != 0)
        return r;
    VDict *nodes = m.type == V_DICT ? member_dict(m.u.d, "nodes") : NULL;
    if (!nodes) {
        snprintf(why, nwhy, "%s has no \"nodes\"", path);
        return -1;
    }
    Project *p = s->project;
    int n = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *nd = p->nodes[i];
        if (sel[i] != want_selected || (nd->rt != RT_MODEL && nd->rt != RT_SEED && nd->rt != RT_SNAPSHOT))
            continue;
        Value *ov = dict_getz(nodes, nd->unique_id);
        VDict *old = ov && ov->type == V_DICT ? ov->u.d : NULL;
        const char *rt = member_str(old, "resource_type");
        if (!rt || (strcmp(rt, "model") && strcmp(rt, "seed") && strcmp(rt, "snapshot")))
            continue;
        const char *mat = member_str(member_dict(old, "config"), "materialized");
        if (mat && strcmp(mat, "ephemeral") == 0)
            continue;
        const char *schema = member_str(old, "schema");
        const char *ident = member_str(old, "alias");
        if (!ident)
            ident = member_str(old, "name");
        if (!schema || !ident)
            continue;
        DbtDeferRel *df = arena_zalloc(&s->arena, sizeof *df);
        df->database = member_str(old, "database");
        df->schema = schema;
        df->identifier = ident;
        strmap_putz(map, nd->unique_id, df);
        n++;
    }
    *count = n;
    return 0;
}

/* The state's relations (state_relations) of the selected nodes or of the
 * others, as a map in s's arena; NULL after printing why (no state
 * directory: no_dir; no manifest.json in it: no_manifest with the
 * directory; a bad one: prefix and what is wrong). */
static StrMap *state_map(Session *s, const bool *sel, bool selected, const char *no_dir, const char *no_manifest,
                         const char *prefix, int *count)
{
    Flags *f = s->flags;
    const char *dir = f->defer_state ? f->defer_state : f->state;
    if (!dir) {
        fprintf(stderr, "error: %s\n", no_dir);
        return NULL;
    }
    char why[4400];
    StrMap *map = arena_zalloc(&s->arena, sizeof *map);
    strmap_init(map);
    int r = state_relations(s, dir, sel, selected, map, count, why, sizeof why);
    if (r == 1) {
        fputs("error: ", stderr);
        fprintf(stderr, no_manifest, dir);
        fputc('\n', stderr);
    } else if (r != 0) {
        fprintf(stderr, "error: %s: %s\n", prefix, why);
    }
    if (r != 0) {
        strmap_free(map);
        return NULL;
    }
    return map;
}

int session_defer(Session *s, const bool *sel)
{
    Flags *f = s->flags;
    if (!f->defer)
        return EXIT_OK;
    int n = 0;
    StrMap *map = state_map(s, sel, false, "Received a --defer argument, but no value was provided to --state",
                            "--defer: no manifest.json in the state directory '%s'", "--defer", &n);
    if (!map)
        return EXIT_PROJECT_ERROR;
    s->defer = map;
    dbt_set_defer(s->dbt, map, f->favor_state);
    if (f->debug)
        fprintf(stderr, "cdbt: --defer: %d nodes not selected can resolve to the state's manifest.json\n", n);
    return EXIT_OK;
}

int session_clone_sources(Session *s, const bool *sel)
{
    int n = 0;
    StrMap *map = state_map(s, sel, true, "--state is required for cloning relations from another environment",
                            "Could not find manifest in --state path: \"%s\"", "--state", &n);
    if (!map)
        return EXIT_PROJECT_ERROR;
    /* each as the node's own relation would render, with the state's parts */
    StrMap *rels = arena_zalloc(&s->arena, sizeof *rels);
    strmap_init(rels);
    Project *p = s->project;
    for (int i = 0; i < p->nnodes; i++) {
        const DbtDeferRel *df = sel[i] ? strmap_getz(map, p->nodes[i]->unique_id) : NULL;
        if (df)
            strmap_putz(rels, p->nodes[i]->unique_id, (void *)dbt_defer_rel_text(s->dbt, p->nodes[i], df));
    }
    strmap_free(map);
    s->clone_from = rels;        /* freed by session_close */
    if (s->flags->debug)
        fprintf(stderr, "cdbt: clone: %d selected nodes have a relation in the state's manifest.json\n", n);
    return EXIT_OK;
}
