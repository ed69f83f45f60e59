/* defer.c - `--defer` (dbt's deferral, §12.2): the nodes a command does not
 * select are looked up in the state manifest (--defer-state, else --state);
 * each that the state built as a relation (a model that is not ephemeral, a
 * seed or a snapshot) is bound to the Dbt with the state's database, schema
 * and alias.  ref() of such a node then renders the state's relation when
 * the node's own relation does not exist in the target (with --favor-state:
 * always; without a database, as `compile` runs: always), as dbt resolves
 * refs for "slim CI" (`cdbt build -s state:modified+ --defer --state prod/`). */
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

int session_defer(Session *s, const bool *sel)
{
    Flags *f = s->flags;
    if (!f->defer)
        return EXIT_OK;
    const char *dir = f->defer_state ? f->defer_state : f->state;
    if (!dir) {
        fprintf(stderr, "error: Received a --defer argument, but no value was provided to --state\n");
        return EXIT_PROJECT_ERROR;
    }
    char path[4096], why[4400];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    Value m;
    int r = graph_json_load(&s->arena, path, &m, why, sizeof why);
    if (r != 0) {
        if (r == 1)
            fprintf(stderr, "error: --defer: no manifest.json in the state directory '%s'\n", dir);
        else
            fprintf(stderr, "error: --defer: %s\n", why);
        return EXIT_PROJECT_ERROR;
    }
    VDict *nodes = m.type == V_DICT ? member_dict(m.u.d, "nodes") : NULL;
    if (!nodes) {
        fprintf(stderr, "error: --defer: %s has no \"nodes\"\n", path);
        return EXIT_PROJECT_ERROR;
    }
    StrMap *map = arena_zalloc(&s->arena, sizeof *map);
    strmap_init(map);
    Project *p = s->project;
    int n = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *nd = p->nodes[i];
        if (sel[i] || (nd->rt != RT_MODEL && nd->rt != RT_SEED && nd->rt != RT_SNAPSHOT))
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
    s->defer = map;
    dbt_set_defer(s->dbt, map, f->favor_state);
    if (f->debug)
        fprintf(stderr, "cdbt: --defer: %d nodes not selected can resolve to %s\n", n, path);
    return EXIT_OK;
}
