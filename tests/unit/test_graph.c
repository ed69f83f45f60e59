/* test_graph.c - the DAG (topological order, depth, cycle report) and dbt's
 * selection syntax (§12.3) over small hand-built Projects.
 *
 * The fixture is a jaffle-like project:
 *    0 source raw.orders        -> 2 stg_orders  -> 4 orders -> 5 customers -> 10 an (analysis)
 *    1 seed raw_customers       -> 3 stg_customers -> 4, 5
 *    6 not_null test on 2; 7 relationships test on 4 and 5; 8 singular test on 4;
 *    9 unique test on source 0; 11 util_model in package "utils".
 * Selections are rendered as the selected node names in index order. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "graph/graph.h"
#include "base/arena.h"
#include "base/sb.h"

/* ------------------------------------------------------------ builders */

static Project *proj_new(int cap)
{
    Project *p = xcalloc(1, sizeof *p);
    arena_init(&p->arena, 0);
    p->name = "p";
    p->root = "/proj";
    p->nodes = xcalloc((size_t)cap, sizeof(Node *));
    return p;
}

static void proj_free(Project *p)
{
    arena_free(&p->arena);
    free(p->nodes);
    free(p);
}

static const char *rt_str(ResourceType rt)
{
    static const char *const names[] = {"model", "seed", "test", "snapshot", "analysis",
                                        "source", "macro", "operation"};
    return names[rt];
}

/* fqn given as "a.b.c" (no dots inside segments in these fixtures). */
static Node *add(Project *p, ResourceType rt, const char *pkg, const char *name,
                 const char *ofp, const char *fqn)
{
    Arena *a = &p->arena;
    Node *n = ARENA_NEW(a, Node);
    n->index = p->nnodes;
    n->rt = rt;
    n->name = arena_strdup(a, name);
    n->package_name = pkg;
    n->unique_id = arena_sprintf(a, "%s.%s.%s", rt_str(rt), pkg, name);
    n->original_file_path = ofp;
    int cnt = 1;
    for (const char *s = fqn; *s; s++)
        cnt += *s == '.';
    n->fqn = ARENA_ARRAY(a, const char *, cnt);
    const char *s = fqn;
    for (int k = 0; k < cnt; k++) {
        const char *d = strchr(s, '.');
        size_t len = d ? (size_t)(d - s) : strlen(s);
        n->fqn[k] = arena_strndup(a, s, len);
        s += len + 1;
    }
    n->nfqn = cnt;
    n->config = v_dict(a).u.d;
    n->parents = ARENA_ARRAY(a, int, 8);
    p->nodes[p->nnodes++] = n;
    return n;
}

static void dep(Node *child, int parent)
{
    child->parents[child->nparents++] = parent;
}

static void tags(Project *p, Node *n, const char *csv)
{
    Value l = v_list(&p->arena, 4);
    const char *s = csv;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        list_append(&p->arena, l.u.l, v_str(&p->arena, s, len));
        s += len + (c ? 1 : 0);
    }
    n->tags = l.u.l;
    dict_setz(&p->arena, n->config, "tags", l);
}

static void cfg(Project *p, Node *n, const char *key, Value v)
{
    dict_setz(&p->arena, n->config, key, v);
}

static Node *gtest(Project *p, const char *name, const char *test_name, const char *ofp, const char *fqn)
{
    Node *n = add(p, RT_TEST, "p", name, ofp, fqn);
    n->is_generic_test = true;
    n->test_name = test_name;
    return n;
}

static Project *jaffle(void)
{
    Project *p = proj_new(16);
    Arena *a = &p->arena;
    Node *src = add(p, RT_SOURCE, "p", "orders", "models/sources.yml", "p.raw.orders");
    src->source_name = "raw";
    src->unique_id = "source.p.raw.orders";
    add(p, RT_SEED, "p", "raw_customers", "seeds/raw_customers.csv", "p.raw_customers");
    Node *so = add(p, RT_MODEL, "p", "stg_orders", "models/staging/stg_orders.sql", "p.staging.stg_orders");
    dep(so, 0);
    tags(p, so, "staging");
    so->patch_path = "p://models/staging/schema.yml";
    cfg(p, so, "materialized", v_strz(a, "view"));
    Node *sc = add(p, RT_MODEL, "p", "stg_customers", "models/staging/stg_customers.sql", "p.staging.stg_customers");
    dep(sc, 1);
    tags(p, sc, "staging,pii");
    cfg(p, sc, "materialized", v_strz(a, "view"));
    Node *o = add(p, RT_MODEL, "p", "orders", "models/marts/orders.sql", "p.marts.orders");
    dep(o, 2);
    dep(o, 3);
    dep(o, 2);   /* duplicate on purpose */
    tags(p, o, "mart");
    cfg(p, o, "materialized", v_strz(a, "table"));
    cfg(p, o, "enabled", v_bool(true));
    cfg(p, o, "limit", v_int(5));
    Value meta = v_dict(a);
    dict_setz(a, meta.u.d, "owner", v_strz(a, "alice"));
    cfg(p, o, "meta", meta);
    Node *c = add(p, RT_MODEL, "p", "customers", "models/marts/customers.sql", "p.marts.customers");
    dep(c, 4);
    dep(c, 3);
    cfg(p, c, "materialized", v_strz(a, "table"));
    Node *t6 = gtest(p, "not_null_stg_orders_id", "not_null", "models/staging/schema.yml",
                     "p.staging.not_null_stg_orders_id");
    dep(t6, 2);
    cfg(p, t6, "severity", v_strz(a, "ERROR"));
    Node *t7 = gtest(p, "relationships_orders_customer_id__id__ref_customers_", "relationships",
                     "models/marts/schema.yml", "p.marts.relationships_orders_customer_id__id__ref_customers_");
    dep(t7, 5);
    dep(t7, 4);
    t7->test_namespace = "dbt_utils";
    Node *t8 = add(p, RT_TEST, "p", "assert_positive", "tests/assert_positive.sql", "p.assert_positive");
    dep(t8, 4);
    Node *t9 = gtest(p, "source_unique_raw_orders_id", "unique", "models/sources.yml",
                     "p.source_unique_raw_orders_id");
    dep(t9, 0);
    Node *an = add(p, RT_ANALYSIS, "p", "an", "analyses/an.sql", "p.analysis.an");
    dep(an, 5);
    add(p, RT_MODEL, "utils", "util_model", "models/util_model.sql", "utils.util_model");
    return p;
}

/* ------------------------------------------------------------ selection helper */

static char result[4096];

/* Select with space-separated --select values given as one string per flag
 * ("|" separates repeated flags); NULL select = no --select. */
static const char *sel_full(Project *p, const char *select, const char *exclude,
                            IndirectMode mode, int only_rt)
{
    Diag err = {0};
    Graph *g = graph_build(p, &err);
    ck_assert_msg(g != NULL, "graph_build failed: %s", err.message ? err.message : "");
    const char *sv[8], *ev[8];
    char sbuf[512], ebuf[512];
    SelectOptions opt;
    memset(&opt, 0, sizeof opt);
    if (select) {
        snprintf(sbuf, sizeof sbuf, "%s", select);
        for (char *s = strtok(sbuf, "|"); s; s = strtok(NULL, "|"))
            sv[opt.nselect++] = s;
        opt.select = sv;
    }
    if (exclude) {
        snprintf(ebuf, sizeof ebuf, "%s", exclude);
        char *save = NULL;
        for (char *s = strtok_r(ebuf, "|", &save); s; s = strtok_r(NULL, "|", &save))
            ev[opt.nexclude++] = s;
        opt.exclude = ev;
    }
    opt.indirect = mode;
    if (only_rt >= 0)
        opt.resource_types[only_rt] = true;
    bool *out = xcalloc((size_t)p->nnodes + 1, sizeof(bool));
    result[0] = '\0';
    if (graph_select(p, g, &opt, out, &err) < 0) {
        snprintf(result, sizeof result, "ERR: %s", err.message);
    } else {
        size_t len = 0;
        for (int i = 0; i < p->nnodes; i++)
            if (out[i])
                len += (size_t)snprintf(result + len, sizeof result - len, "%s%s",
                                        len ? " " : "", p->nodes[i]->name);
    }
    free(out);
    diag_clear(&err);
    graph_free(g);
    return result;
}

static const char *sel(Project *p, const char *select)
{
    return sel_full(p, select, NULL, INDIRECT_EAGER, -1);
}

#define SEL_EQ(p, s, want) ck_assert_str_eq(sel((p), (s)), (want))

/* ------------------------------------------------------------ DAG */

START_TEST(test_build_topo)
{
    Project *p = jaffle();
    Diag err = {0};
    Graph *g = graph_build(p, &err);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->n, 12);
    /* duplicate parent removed, parents sorted */
    ck_assert_int_eq(g->nparents[4], 2);
    ck_assert_int_eq(g->parents[4][0], 2);
    ck_assert_int_eq(g->parents[4][1], 3);
    ck_assert_int_eq(g->parents[7][0], 4);
    ck_assert_int_eq(g->parents[7][1], 5);
    /* children sorted */
    ck_assert_int_eq(g->nchildren[4], 3);
    ck_assert_int_eq(g->children[4][0], 5);
    ck_assert_int_eq(g->children[4][1], 7);
    ck_assert_int_eq(g->children[4][2], 8);
    /* smallest-index-first topological order */
    static const int want[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    int order[12];
    memcpy(order, g->topo, sizeof order);
    ck_assert_mem_eq(order, want, sizeof want);
    ck_assert_int_eq(g->depth[0], 0);
    ck_assert_int_eq(g->depth[4], 2);
    ck_assert_int_eq(g->depth[5], 3);
    ck_assert_int_eq(g->depth[7], 4);
    ck_assert_int_eq(g->depth[10], 4);
    ck_assert_int_eq(g->depth[11], 0);
    graph_free(g);
    proj_free(p);
}
END_TEST

START_TEST(test_topo_ties_by_index)
{
    /* 0 <- 3, 1 <- 2: ready queue must prefer lower indices */
    Project *p = proj_new(8);
    add(p, RT_MODEL, "p", "a", "models/a.sql", "p.a");
    add(p, RT_MODEL, "p", "b", "models/b.sql", "p.b");
    dep(add(p, RT_MODEL, "p", "c", "models/c.sql", "p.c"), 3);
    add(p, RT_MODEL, "p", "d", "models/d.sql", "p.d");
    Diag err = {0};
    Graph *g = graph_build(p, &err);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->topo[0], 0);
    ck_assert_int_eq(g->topo[1], 1);
    ck_assert_int_eq(g->topo[2], 3);
    ck_assert_int_eq(g->topo[3], 2);
    graph_free(g);
    proj_free(p);
}
END_TEST

START_TEST(test_cycle)
{
    Project *p = proj_new(8);
    add(p, RT_MODEL, "p", "root", "models/root.sql", "p.root");
    Node *a = add(p, RT_MODEL, "p", "a", "models/a.sql", "p.a");
    Node *b = add(p, RT_MODEL, "p", "b", "models/b.sql", "p.b");
    Node *c = add(p, RT_MODEL, "p", "c", "models/c.sql", "p.c");
    Node *d = add(p, RT_MODEL, "p", "d", "models/d.sql", "p.d");
    dep(a, 0);
    dep(a, 3);   /* a <- c */
    dep(b, 1);   /* b <- a */
    dep(c, 2);   /* c <- b */
    dep(d, 3);   /* d is downstream of the cycle, not in it */
    Diag err = {0};
    Graph *g = graph_build(p, &err);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(err.message, "Found a cycle: model.p.a --> model.p.b --> model.p.c --> model.p.a");
    diag_clear(&err);
    proj_free(p);

    p = proj_new(4);
    a = add(p, RT_MODEL, "p", "a", "models/a.sql", "p.a");
    b = add(p, RT_MODEL, "p", "b", "models/b.sql", "p.b");
    dep(a, 1);
    dep(b, 0);
    g = graph_build(p, &err);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(err.message, "Found a cycle: model.p.a --> model.p.b --> model.p.a");
    diag_clear(&err);
    proj_free(p);

    p = proj_new(4);
    a = add(p, RT_MODEL, "p", "a", "models/a.sql", "p.a");
    dep(a, 0);
    g = graph_build(p, &err);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(err.message, "Found a cycle: model.p.a --> model.p.a");
    diag_clear(&err);
    proj_free(p);
}
END_TEST

START_TEST(test_bad_parent)
{
    Project *p = proj_new(4);
    dep(add(p, RT_MODEL, "p", "a", "models/a.sql", "p.a"), 7);
    Diag err = {0};
    ck_assert_ptr_null(graph_build(p, &err));
    ck_assert_str_eq(err.message, "node model.p.a has an invalid parent index 7");
    diag_clear(&err);
    proj_free(p);
}
END_TEST

START_TEST(test_empty_project)
{
    Project *p = proj_new(1);
    Diag err = {0};
    Graph *g = graph_build(p, &err);
    ck_assert_ptr_nonnull(g);
    SelectOptions opt;
    memset(&opt, 0, sizeof opt);
    bool out[1];
    ck_assert_int_eq(graph_select(p, g, &opt, out, &err), 0);
    graph_free(g);
    proj_free(p);
}
END_TEST

/* ------------------------------------------------------------ methods */

START_TEST(test_fqn)
{
    Project *p = jaffle();
    SEL_EQ(p, "orders", "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "fqn:customers", "customers relationships_orders_customer_id__id__ref_customers_");
    /* a directory, with and without package, and wildcards */
    SEL_EQ(p, "staging", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "p.staging", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "staging.*", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "p.staging.stg_orders", "stg_orders not_null_stg_orders_id");
    SEL_EQ(p, "staging.stg_orders", "stg_orders not_null_stg_orders_id");
    /* a wildcard part is matched against the rest of the whole fqn, so a
     * bare "stg_*" only finds top-level models (as in dbt) */
    SEL_EQ(p, "stg_*", "");
    SEL_EQ(p, "*.stg_*", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "*.stg_[ou]*", "stg_orders not_null_stg_orders_id");
    SEL_EQ(p, "*.stg_[!o]*", "stg_customers");
    SEL_EQ(p, "staging.?tg_orders", "stg_orders not_null_stg_orders_id");
    SEL_EQ(p, "util_*", "util_model");
    SEL_EQ(p, "utils", "util_model");
    SEL_EQ(p, "utils.*", "util_model");
    SEL_EQ(p, "marts.orders.x", "");
    SEL_EQ(p, "p.marts.orders.x", "");
    /* sources are not matched by fqn (dbt: fqn searches non-source nodes) */
    SEL_EQ(p, "raw", "");
    SEL_EQ(p, "nope", "");
    proj_free(p);
}
END_TEST

START_TEST(test_fqn_dotted_segment)
{
    /* dots inside a segment act as separators ("flattened" fqn) */
    Project *p = proj_new(4);
    Node *n = add(p, RT_MODEL, "p", "x", "models/x.sql", "p.x");
    n->fqn[1] = "a.b";
    SEL_EQ(p, "a.b", "x");
    SEL_EQ(p, "a", "x");
    SEL_EQ(p, "p.a.*", "x");
    SEL_EQ(p, "p.a.b.c", "");
    proj_free(p);
}
END_TEST

START_TEST(test_tag)
{
    Project *p = jaffle();
    SEL_EQ(p, "tag:staging", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "tag:pi*", "stg_customers");
    SEL_EQ(p, "tag:mart", "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "tag:nope", "");
    /* Python fnmatch corner cases */
    tags(p, p->nodes[1], "a[b,bx,\xc3\xbcn,]z");
    SEL_EQ(p, "tag:a[b", "raw_customers");          /* unclosed '[' is literal */
    SEL_EQ(p, "tag:[a-c]x", "raw_customers");
    SEL_EQ(p, "tag:[!a]x", "raw_customers");
    SEL_EQ(p, "tag:[!b]x", "");
    SEL_EQ(p, "tag:?n", "raw_customers");           /* '?' is one character, not one byte */
    SEL_EQ(p, "tag:??n", "");
    SEL_EQ(p, "tag:[]]z", "raw_customers");         /* ']' first in a class is a member */
    SEL_EQ(p, "tag:*[", "");
    proj_free(p);
}
END_TEST

START_TEST(test_path)
{
    Project *p = jaffle();
    SEL_EQ(p, "models/staging", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "path:models/staging/", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "path:./models/staging", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "path:/proj/models/staging", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "models/staging/stg_orders.sql", "stg_orders not_null_stg_orders_id");
    /* the yml: tests defined there and the patched model */
    SEL_EQ(p, "path:models/staging/schema.yml", "stg_orders not_null_stg_orders_id");
    SEL_EQ(p, "models/marts/*.sql", "orders customers relationships_orders_customer_id__id__ref_customers_ "
                                    "assert_positive");
    /* The models glob also yields the directories models/staging and models/marts */
    SEL_EQ(p, "models/*", "orders stg_orders stg_customers orders customers not_null_stg_orders_id "
                          "relationships_orders_customer_id__id__ref_customers_ assert_positive "
                          "source_unique_raw_orders_id util_model");
    SEL_EQ(p, "path:models/*/stg_c*", "stg_customers");
    SEL_EQ(p, "path:models/**/*.sql", "stg_orders stg_customers orders customers "
                                      "not_null_stg_orders_id relationships_orders_customer_id__id__ref_customers_ "
                                      "assert_positive util_model");
    SEL_EQ(p, "path:models/m*", "orders customers relationships_orders_customer_id__id__ref_customers_ "
                                "assert_positive");
    SEL_EQ(p, "path:seeds", "raw_customers");
    SEL_EQ(p, "path:model", "");
    SEL_EQ(p, "path:models/stag", "");
    ck_assert_str_eq(sel(p, "path:/elsewhere/models"),
                     "ERR: Invalid selector 'path:/elsewhere/models': path '/elsewhere/models' is outside the project directory");
    proj_free(p);
}
END_TEST

START_TEST(test_file)
{
    Project *p = jaffle();
    SEL_EQ(p, "orders.sql", "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "ORDERS.SQL", "");   /* default method is file (suffix check ignores case), names do not */
    SEL_EQ(p, "file:orders", "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "file:stg_*", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "raw_customers.csv", "raw_customers");
    SEL_EQ(p, "file:sources.yml", "orders source_unique_raw_orders_id");
    proj_free(p);
}
END_TEST

START_TEST(test_package)
{
    Project *p = jaffle();
    SEL_EQ(p, "package:utils", "util_model");
    SEL_EQ(p, "package:u*", "util_model");
    ck_assert_str_eq(sel_full(p, "package:this", NULL, INDIRECT_EAGER, RT_SEED), "raw_customers");
    SEL_EQ(p, "package:nope", "");
    proj_free(p);
}
END_TEST

START_TEST(test_config)
{
    Project *p = jaffle();
    SEL_EQ(p, "config.materialized:table",
           "orders customers relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "config.materialized:view", "stg_orders stg_customers not_null_stg_orders_id");
    SEL_EQ(p, "config.meta.owner:alice",
           "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "config.meta.owner:bob", "");
    SEL_EQ(p, "config.meta.owner.x:alice", "");
    SEL_EQ(p, "config.tags:pii", "stg_customers");
    SEL_EQ(p, "config.enabled:true", "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "config.enabled:True", "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "config.enabled:false", "");
    SEL_EQ(p, "config.limit:5", "orders relationships_orders_customer_id__id__ref_customers_ assert_positive");
    SEL_EQ(p, "config.severity:error", "not_null_stg_orders_id");
    SEL_EQ(p, "config.materialized:TABLE", "");
    proj_free(p);
}
END_TEST

START_TEST(test_resource_type_source_tests)
{
    Project *p = jaffle();
    SEL_EQ(p, "resource_type:seed", "raw_customers");
    SEL_EQ(p, "resource_type:source", "orders source_unique_raw_orders_id");
    SEL_EQ(p, "resource_type:analysis", "an");
    SEL_EQ(p, "resource_type:exposure", "");
    ck_assert_str_eq(sel(p, "resource_type:foo"),
                     "ERR: Invalid selector 'resource_type:foo': unknown resource type 'foo'");
    SEL_EQ(p, "source:raw", "orders source_unique_raw_orders_id");
    SEL_EQ(p, "source:raw.orders", "orders source_unique_raw_orders_id");
    SEL_EQ(p, "source:p.raw.*", "orders source_unique_raw_orders_id");
    SEL_EQ(p, "source:r*.ord?rs", "orders source_unique_raw_orders_id");
    SEL_EQ(p, "source:raw.nope", "");
    SEL_EQ(p, "source:utils.raw.orders", "");
    ck_assert_str_eq(sel(p, "source:a.b.c.d"),
                     "ERR: Invalid selector 'source:a.b.c.d': a source selector has the form source_name, "
                     "source_name.table_name or package_name.source_name.table_name");
    SEL_EQ(p, "test_type:generic", "not_null_stg_orders_id "
                                   "relationships_orders_customer_id__id__ref_customers_ source_unique_raw_orders_id");
    SEL_EQ(p, "test_type:schema", "not_null_stg_orders_id "
                                  "relationships_orders_customer_id__id__ref_customers_ source_unique_raw_orders_id");
    SEL_EQ(p, "test_type:singular", "assert_positive");
    SEL_EQ(p, "test_type:data", "not_null_stg_orders_id relationships_orders_customer_id__id__ref_customers_ "
                                "assert_positive source_unique_raw_orders_id");
    SEL_EQ(p, "test_type:unit", "");
    ck_assert_str_eq(sel(p, "test_type:foo"),
                     "ERR: Invalid selector 'test_type:foo': unknown test type 'foo' "
                     "(expected generic, singular, unit or data)");
    SEL_EQ(p, "test_name:not_null", "not_null_stg_orders_id");
    SEL_EQ(p, "test_name:rel*", "relationships_orders_customer_id__id__ref_customers_");
    SEL_EQ(p, "test_name:dbt_utils.relationships", "relationships_orders_customer_id__id__ref_customers_");
    SEL_EQ(p, "test_name:assert_positive", "");
    SEL_EQ(p, "exposure:x metric:y group:z semantic_model:a saved_query:b unit_test:c", "");
    SEL_EQ(p, "access:protected", "stg_orders stg_customers orders customers not_null_stg_orders_id "
                                  "relationships_orders_customer_id__id__ref_customers_ assert_positive util_model");
    proj_free(p);
}
END_TEST

/* ------------------------------------------------------------ operators */

START_TEST(test_operators)
{
    Project *p = jaffle();
    const char *R = "relationships_orders_customer_id__id__ref_customers_";
    char want[1024];
    snprintf(want, sizeof want, "orders raw_customers stg_orders stg_customers orders "
             "not_null_stg_orders_id %s assert_positive source_unique_raw_orders_id", R);
    /* note: source 0 and model 4 share the name "orders" */
    ck_assert_str_eq(sel(p, "+orders"), want);
    snprintf(want, sizeof want, "stg_orders stg_customers orders not_null_stg_orders_id %s assert_positive", R);
    ck_assert_str_eq(sel(p, "1+orders"), want);
    snprintf(want, sizeof want, "orders customers %s assert_positive an", R);
    ck_assert_str_eq(sel(p, "orders+"), want);
    snprintf(want, sizeof want, "stg_orders orders not_null_stg_orders_id %s assert_positive", R);
    ck_assert_str_eq(sel(p, "stg_orders+1"), want);
    SEL_EQ(p, "0+stg_orders+0", "stg_orders not_null_stg_orders_id");
    snprintf(want, sizeof want, "raw_customers stg_customers orders customers %s assert_positive an", R);
    ck_assert_str_eq(sel(p, "1+stg_customers+"), want);
    /* @: the node, its descendants and their ancestors */
    snprintf(want, sizeof want, "orders raw_customers stg_orders stg_customers orders customers "
             "not_null_stg_orders_id %s assert_positive source_unique_raw_orders_id an", R);
    ck_assert_str_eq(sel(p, "@stg_orders"), want);
    ck_assert_str_eq(sel(p, "@stg_orders+"),
                     "ERR: Invalid selector '@stg_orders+': '@' cannot be combined with a trailing '+'");
    SEL_EQ(p, "@util_model", "util_model");
    snprintf(want, sizeof want, "customers %s an", R);
    ck_assert_str_eq(sel(p, "customers+"), want);
    snprintf(want, sizeof want, "orders customers %s assert_positive an", R);
    ck_assert_str_eq(sel(p, "tag:mart+"), want);
    ck_assert_str_eq(sel(p, "+source:raw+1"), "orders stg_orders not_null_stg_orders_id source_unique_raw_orders_id");
    proj_free(p);
}
END_TEST

START_TEST(test_set_algebra)
{
    Project *p = jaffle();
    const char *R = "relationships_orders_customer_id__id__ref_customers_";
    char want[1024];
    snprintf(want, sizeof want, "orders customers %s assert_positive", R);
    ck_assert_str_eq(sel(p, "orders customers"), want);
    ck_assert_str_eq(sel(p, "orders|customers"), want);        /* repeated --select */
    ck_assert_str_eq(sel(p, "  orders \t customers  "), want);
    SEL_EQ(p, "tag:staging,tag:pii", "stg_customers");
    SEL_EQ(p, "tag:staging,config.materialized:view,*.stg_o*", "stg_orders not_null_stg_orders_id");
    SEL_EQ(p, "+orders,resource_type:seed", "raw_customers");
    /* exclude: an excluded model takes its tests with it (eager) */
    snprintf(want, sizeof want, "orders raw_customers stg_customers orders %s assert_positive "
             "source_unique_raw_orders_id", R);
    ck_assert_str_eq(sel_full(p, "+orders", "stg_orders", INDIRECT_EAGER, -1), want);
    snprintf(want, sizeof want, "stg_orders stg_customers orders %s assert_positive", R);
    ck_assert_str_eq(sel_full(p, "1+orders", "not_null_stg_orders_id", INDIRECT_EAGER, -1), want);
    ck_assert_str_eq(sel_full(p, NULL, "package:p", INDIRECT_EAGER, -1), "util_model");
    ck_assert_str_eq(sel_full(p, NULL, "tag:staging resource_type:source|resource_type:test package:utils",
                              INDIRECT_EAGER, -1),
                     "raw_customers orders customers an");
    /* default: everything; resource-type filter after selection */
    ck_assert_str_eq(sel_full(p, NULL, NULL, INDIRECT_EAGER, RT_MODEL),
                     "stg_orders stg_customers orders customers util_model");
    ck_assert_str_eq(sel_full(p, "+orders", NULL, INDIRECT_EAGER, RT_TEST),
                     "not_null_stg_orders_id relationships_orders_customer_id__id__ref_customers_ "
                     "assert_positive source_unique_raw_orders_id");
    /* more than a few plain names: answered from the fqn index, same result
     * as the scan (sources still excluded, packages and dirs still match) */
    snprintf(want, sizeof want, "stg_orders stg_customers orders customers not_null_stg_orders_id %s "
             "assert_positive util_model", R);
    ck_assert_str_eq(sel(p, "nope raw orders customers staging utils orders"), want);
    ck_assert_str_eq(sel(p, "x1 x2 x3 x4 x5 x6 marts|staging"),
                     "stg_orders stg_customers orders customers not_null_stg_orders_id "
                     "relationships_orders_customer_id__id__ref_customers_ assert_positive");
    ck_assert_str_eq(sel(p, "x1 x2 x3 x4 x5 x6 p,resource_type:seed"), "raw_customers");
    /* an empty --select value selects nothing */
    ck_assert_str_eq(sel(p, " "), "");
    proj_free(p);
}
END_TEST

START_TEST(test_indirect)
{
    Project *p = jaffle();
    const char *R = "relationships_orders_customer_id__id__ref_customers_";
    char want[1024];
    /* orders: the relationships test also needs customers */
    snprintf(want, sizeof want, "orders %s assert_positive", R);
    ck_assert_str_eq(sel_full(p, "orders", NULL, INDIRECT_EAGER, -1), want);
    ck_assert_str_eq(sel_full(p, "orders", NULL, INDIRECT_CAUTIOUS, -1), "orders assert_positive");
    ck_assert_str_eq(sel_full(p, "orders", NULL, INDIRECT_BUILDABLE, -1), "orders assert_positive");
    ck_assert_str_eq(sel_full(p, "orders", NULL, INDIRECT_EMPTY, -1), "orders");
    /* customers: orders is upstream, so buildable takes the test */
    snprintf(want, sizeof want, "customers %s", R);
    ck_assert_str_eq(sel_full(p, "customers", NULL, INDIRECT_EAGER, -1), want);
    ck_assert_str_eq(sel_full(p, "customers", NULL, INDIRECT_CAUTIOUS, -1), "customers");
    ck_assert_str_eq(sel_full(p, "customers", NULL, INDIRECT_BUILDABLE, -1), want);
    ck_assert_str_eq(sel_full(p, "customers", NULL, INDIRECT_EMPTY, -1), "customers");
    /* cautious: parents from different union members (same value or repeated flags) */
    snprintf(want, sizeof want, "orders customers %s assert_positive", R);
    ck_assert_str_eq(sel_full(p, "orders customers", NULL, INDIRECT_CAUTIOUS, -1), want);
    ck_assert_str_eq(sel_full(p, "orders|customers", NULL, INDIRECT_CAUTIOUS, -1), want);
    ck_assert_str_eq(sel_full(p, "orders customers", NULL, INDIRECT_EMPTY, -1), "orders customers");
    /* a test selected directly is kept whatever the mode */
    ck_assert_str_eq(sel_full(p, "test_name:relationships", NULL, INDIRECT_EMPTY, -1), R);
    /* excludes use the mode too: cautious exclude of orders keeps the relationships test
     * (not all of its parents are excluded) */
    snprintf(want, sizeof want, "customers %s", R);
    ck_assert_str_eq(sel_full(p, "orders+", "orders", INDIRECT_EAGER, -1), "customers an");
    ck_assert_str_eq(sel_full(p, "orders+", "orders an", INDIRECT_CAUTIOUS, -1), want);
    snprintf(want, sizeof want, "customers %s assert_positive an", R);
    ck_assert_str_eq(sel_full(p, "orders+", "orders", INDIRECT_EMPTY, -1), want);
    proj_free(p);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(test_errors)
{
    Project *p = jaffle();
    ck_assert_str_eq(sel(p, "foo:bar"), "ERR: Invalid selector 'foo:bar': unknown selection method 'foo'");
    ck_assert_str_eq(sel(p, "tag:"), "ERR: Invalid selector 'tag:': empty value for method 'tag'");
    ck_assert_str_eq(sel(p, "+"), "ERR: Invalid selector '+': no node name or method:value to select");
    ck_assert_str_eq(sel(p, "@x+2"), "ERR: Invalid selector '@x+2': '@' cannot be combined with a trailing '+'");
    ck_assert_str_eq(sel(p, "a,,b"), "ERR: Invalid selector 'a,,b': empty selector between commas");
    ck_assert_str_eq(sel(p, "orders,"), "ERR: Invalid selector 'orders,': empty selector between commas");
    ck_assert_str_eq(sel(p, "config:x"),
                     "ERR: Invalid selector 'config:x': method 'config' needs a key, as in config.materialized:x");
    ck_assert_str_eq(sel(p, "config..a:x"), "ERR: Invalid selector 'config..a:x': empty key after method 'config'");
    ck_assert_str_eq(sel(p, "state:modified"),
                     "ERR: Invalid selector 'state:modified': state: selection needs --state");
    ck_assert_str_eq(sel(p, "result:error"), "ERR: Invalid selector 'result:error': result: selection needs --state");
    ck_assert_str_eq(sel(p, "version:x"),
                     "ERR: Invalid selector 'version:x': Invalid version type selector x: expected one of: "
                     "'latest', 'prerelease', 'old', or 'none'");
    /* the error of a later part wins even after good parts */
    ck_assert_str_eq(sel(p, "orders tag:a,bad:x"), "ERR: Invalid selector 'bad:x': unknown selection method 'bad'");
    ck_assert_str_eq(sel_full(p, "orders", "nope:1", INDIRECT_EAGER, -1),
                     "ERR: Invalid selector 'nope:1': unknown selection method 'nope'");
    /* a value with ':' after a non-word method part is a plain value */
    SEL_EQ(p, "models/x:y", "");
    proj_free(p);
}
END_TEST

static void collect_unmatched(void *ud, const char *expr)
{
    Sb *sb = ud;
    sb_printf(sb, "[%s]", expr);
}

START_TEST(test_unmatched_callback)
{
    Project *p = jaffle();
    Diag err = {0};
    Graph *g = graph_build(p, &err);
    Sb seen = SB_INIT;
    const char *sv[] = {"orders nope tag:x,orders", "customers"};
    const char *ev[] = {"stg_nothing"};
    SelectOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.select = sv;
    opt.nselect = 2;
    opt.exclude = ev;
    opt.nexclude = 1;
    opt.on_unmatched = collect_unmatched;
    opt.unmatched_ud = &seen;
    bool out[16];
    ck_assert_int_eq(graph_select(p, g, &opt, out, &err), 0);
    ck_assert_str_eq(sb_cstr(&seen), "[nope][tag:x,orders][stg_nothing]");
    sb_free(&seen);
    graph_free(g);
    proj_free(p);
}
END_TEST

START_TEST(test_indirect_names)
{
    ck_assert_int_eq(graph_indirect_from_name("eager"), INDIRECT_EAGER);
    ck_assert_int_eq(graph_indirect_from_name("cautious"), INDIRECT_CAUTIOUS);
    ck_assert_int_eq(graph_indirect_from_name("Buildable"), INDIRECT_BUILDABLE);
    ck_assert_int_eq(graph_indirect_from_name("empty"), INDIRECT_EMPTY);
    ck_assert_int_eq(graph_indirect_from_name("greedy"), -1);
    ck_assert_int_eq(graph_indirect_from_name(NULL), -1);
}
END_TEST

/* ------------------------------------------------------------ scale */

START_TEST(test_scale)
{
    /* 10,000 models in 100 chains of 100 + 2 tests per model. */
    enum { NM = 10000, NT = 20000 };
    Project *p = proj_new(NM + NT);
    char name[64], path[96], fqn[96];
    for (int i = 0; i < NM; i++) {
        snprintf(name, sizeof name, "m%d", i);
        snprintf(path, sizeof path, "models/d%d/m%d.sql", i / 100, i);
        snprintf(fqn, sizeof fqn, "p.d%d.m%d", i / 100, i);
        Node *n = add(p, RT_MODEL, "p", name, arena_strdup(&p->arena, path), fqn);
        if (i % 100)
            dep(n, i - 1);
        if (i % 7 == 0)
            tags(p, n, "seven");
    }
    for (int i = 0; i < NT; i++) {
        snprintf(name, sizeof name, "t%d", i);
        snprintf(fqn, sizeof fqn, "p.t%d", i);
        Node *t = gtest(p, name, "unique", "models/schema.yml", fqn);
        dep(t, i / 2);
    }
    /* the CPU of this thread, not wall time: a loaded machine (CI, ASan)
     * must not fail it; quadratic selection would take minutes here */
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    Diag err = {0};
    Graph *g = graph_build(p, &err);
    ck_assert_ptr_nonnull(g);
    SelectOptions opt;
    memset(&opt, 0, sizeof opt);
    const char *sv[] = {"+m9999 m0+ @m5050 tag:seven,d3.* path:models/d7 m1042+3 3+m1077 stg_nothing"};
    opt.select = sv;
    opt.nselect = 1;
    const char *ev[] = {"m9998"};
    opt.exclude = ev;
    opt.nexclude = 1;
    bool *out = xcalloc(NM + NT, sizeof(bool));
    for (int mode = 0; mode < 4; mode++) {
        opt.indirect = (IndirectMode)mode;
        ck_assert_int_eq(graph_select(p, g, &opt, out, &err), 0);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 3.0, "build + 4 selections took %.3fs of CPU", secs);
    /* +m9999 minus m9998 (eager: its tests go too) */
    ck_assert(out[9999] && out[9900] && !out[9998]);
    ck_assert(!out[NM + 2 * 9998] && !out[NM + 2 * 9998 + 1]);
    ck_assert(out[0] && out[99] && !out[100]);
    ck_assert(out[322] && !out[321] && !out[420]);
    ck_assert(out[700] && out[799] && !out[800]);
    ck_assert(out[1045] && !out[1046] && out[1074] && !out[1073]);
    free(out);
    graph_free(g);
    proj_free(p);
}
END_TEST

Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("dag");
    tcase_add_test(tc, test_build_topo);
    tcase_add_test(tc, test_topo_ties_by_index);
    tcase_add_test(tc, test_cycle);
    tcase_add_test(tc, test_bad_parent);
    tcase_add_test(tc, test_empty_project);
    suite_add_tcase(s, tc);
    tc = tcase_create("methods");
    tcase_add_test(tc, test_fqn);
    tcase_add_test(tc, test_fqn_dotted_segment);
    tcase_add_test(tc, test_tag);
    tcase_add_test(tc, test_path);
    tcase_add_test(tc, test_file);
    tcase_add_test(tc, test_package);
    tcase_add_test(tc, test_config);
    tcase_add_test(tc, test_resource_type_source_tests);
    suite_add_tcase(s, tc);
    tc = tcase_create("select");
    tcase_add_test(tc, test_operators);
    tcase_add_test(tc, test_set_algebra);
    tcase_add_test(tc, test_indirect);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_indirect_names);
    tcase_add_test(tc, test_unmatched_callback);
    tcase_add_test(tc, test_scale);
    suite_add_tcase(s, tc);
    return s;
}
