/* manifest.c - serialise a Project as dbt's manifest.json (schema v12).
 *
 * Every key that downstream tools read (§13) is present with its type, even
 * when empty.  parent_map/child_map are derived here from Node.dep_nodes.
 * Owns no state; rendering and resolution are src/dbt's and src/project's. */
#include "manifest.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "../base/fs.h"
#include "../base/hash.h"
#include "../base/json.h"
#include "../base/strmap.h"
#include <stdio.h>
#include "../base/clock.h"

static void empty_obj(JsonW *w) { json_obj_begin(w); json_obj_end(w); }
static void empty_arr(JsonW *w) { json_arr_begin(w); json_arr_end(w); }

/* The kv_* helpers are called with literal keys only, which need no escaping. */
static inline void kv_str(JsonW *w, const char *k, const char *v) { json_key_plain(w, k, strlen(k)); json_str(w, v); }

/* memo: dicts written before (value_to_json_memo), or NULL. */
static inline void kv_dict(JsonW *w, const char *k, VDict *d, JsonMemo *memo)
{
    json_key_plain(w, k, strlen(k));
    if (!d) {
        empty_obj(w);
        return;
    }
    Value v = {.type = V_DICT};
    v.u.d = d;
    value_to_json_memo(w, v, memo);
}

/* "k": d, or null when there is none */
static inline void kv_dict_or_null(JsonW *w, const char *k, VDict *d)
{
    json_key_plain(w, k, strlen(k));
    if (d)
        value_to_json(w, (Value){.type = V_DICT, .u.d = d});
    else
        json_null(w);
}

static inline void kv_list(JsonW *w, const char *k, VList *l)
{
    json_key_plain(w, k, strlen(k));
    if (!l) {
        empty_arr(w);
        return;
    }
    Value v = {.type = V_LIST};
    v.u.l = l;
    value_to_json(w, v);
}

static inline void kv_strs(JsonW *w, const char *k, const char **v, int n)
{
    json_key_plain(w, k, strlen(k));
    json_arr_begin(w);
    for (int i = 0; i < n; i++)
        json_str(w, v[i]);
    json_arr_end(w);
}

static Value *cfg(Node *n, const char *k) { return n->config ? dict_getz(n->config, k) : NULL; }

static inline void kv_cfg_or(JsonW *w, Node *n, const char *k, const char *cfgkey, void (*dflt)(JsonW *),
                             JsonMemo *memo)
{
    Value *v = cfg(n, cfgkey);
    json_key_plain(w, k, strlen(k));
    if (v)
        value_to_json_memo(w, *v, memo);
    else
        dflt(w);
}

static void docs_default(JsonW *w)
{
    json_obj_begin(w);
    json_key_lit(w, "show");
    json_bool(w, true);
    json_key_lit(w, "node_color");
    json_null(w);
    json_obj_end(w);
}

static void contract_default(JsonW *w)
{
    json_obj_begin(w);
    json_key_lit(w, "enforced");
    json_bool(w, false);
    json_key_lit(w, "alias_types");
    json_bool(w, true);
    json_key_lit(w, "checksum");
    json_null(w);
    json_obj_end(w);
}

static void write_checksum(JsonW *w, Node *n)
{
    json_key_lit(w, "checksum");
    json_obj_begin(w);
    kv_str(w, "name", n->checksum_name[0] ? n->checksum_name : "sha256");
    kv_str(w, "checksum", n->checksum ? n->checksum : "");
    json_obj_end(w);
}

static void write_columns(JsonW *w, Node *n)
{
    kv_dict(w, "columns", n->columns, NULL);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The nodes in unique_id order, with what the document needs about their
 * ids computed once.  A node's rank is its position in that order, so ranks
 * order unique_ids as strcmp does.  Each unique_id is written several times
 * (object key, "unique_id", parent_map and child_map keys and values,
 * depends_on.nodes), and the strings are scattered over the arena: they are
 * escaped once, back to back, and copied from there. */
typedef struct Uids {
    Node **sorted;
    int n;
    Sb json;                /* every unique_id as a JSON string, in rank order */
    size_t *off;            /* n + 1 offsets into json */
    int *canon;             /* rank -> rank of the last node with an equal unique_id */
    const char **pkey;      /* open addressing: unique_id pointer -> canonical rank */
    int *pval;
    size_t pmask;
    StrMap byname;          /* unique_id text -> canonical rank + 1 (built on first need) */
    bool byname_built;
    int *dep;               /* ranks of each node's dep_nodes (-1: not a node), by node rank */
    size_t *dep_off;        /* n + 1 offsets into dep */
} Uids;

static size_t ptr_slot(const Uids *u, const char *k)
{
    uint64_t h = (uint64_t)(uintptr_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & u->pmask;
}

/* The canonical rank of the node whose unique_id is s, or -1. */
static int uids_rank(Uids *u, const char *s)
{
    for (size_t i = ptr_slot(u, s);; i = (i + 1) & u->pmask) {
        if (!u->pkey[i])
            break;
        if (u->pkey[i] == s)
            return u->pval[i];
    }
    if (!u->byname_built) {
        for (int i = 0; i < u->n; i++)
            strmap_put(&u->byname, u->sorted[i]->unique_id, strlen(u->sorted[i]->unique_id),
                       (void *)(intptr_t)(u->canon[i] + 1));
        u->byname_built = true;
    }
    return (int)(intptr_t)strmap_get(&u->byname, s, strlen(s)) - 1;
}

static void uids_build(Uids *u, Node **sorted, int n)
{
    memset(u, 0, sizeof *u);
    u->sorted = sorted;
    u->n = n;
    strmap_init(&u->byname);
    u->off = xmalloc(sizeof(size_t) * ((size_t)n + 1));
    for (int i = 0; i < n; i++) {
        u->off[i] = u->json.len;
        json_escape(&u->json, sorted[i]->unique_id, strlen(sorted[i]->unique_id));
    }
    u->off[n] = u->json.len;
    /* equal unique_ids are adjacent; each maps to the last one, as a map
     * filled in rank order would */
    u->canon = xmalloc(sizeof(int) * ((size_t)n + 1));
    for (int i = n - 1; i >= 0; i--) {
        size_t l = u->off[i + 1] - u->off[i];
        bool same = i + 1 < n && u->off[i + 2] - u->off[i + 1] == l &&
                    !memcmp(u->json.buf + u->off[i], u->json.buf + u->off[i + 1], l);
        u->canon[i] = same ? u->canon[i + 1] : i;
    }
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    u->pmask = cap - 1;
    u->pkey = xcalloc(cap, sizeof(char *));
    u->pval = xcalloc(cap, sizeof(int));
    for (int i = 0; i < n; i++) {
        const char *k = sorted[i]->unique_id;
        size_t j = ptr_slot(u, k);
        while (u->pkey[j] && u->pkey[j] != k)
            j = (j + 1) & u->pmask;
        u->pkey[j] = k;
        u->pval[j] = u->canon[i];
    }
    u->dep_off = xmalloc(sizeof(size_t) * ((size_t)n + 1));
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        u->dep_off[i] = total;
        total += (size_t)(sorted[i]->ndep_nodes > 0 ? sorted[i]->ndep_nodes : 0);
    }
    u->dep_off[n] = total;
    u->dep = xmalloc(sizeof(int) * (total + 1));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < sorted[i]->ndep_nodes; k++)
            u->dep[u->dep_off[i] + (size_t)k] = uids_rank(u, sorted[i]->dep_nodes[k]);
}

static void uids_free(Uids *u)
{
    sb_free(&u->json);
    free(u->off);
    free(u->canon);
    free(u->pkey);
    free(u->pval);
    strmap_free(&u->byname);
    free(u->dep);
    free(u->dep_off);
}

static inline void uid_value(JsonW *w, const Uids *u, int r)
{
    json_rawn(w, u->json.buf + u->off[r], u->off[r + 1] - u->off[r]);
}

static inline void uid_key(JsonW *w, const Uids *u, int r)
{
    json_key_raw(w, u->json.buf + u->off[r], u->off[r + 1] - u->off[r]);
}

/* u and rank: the node's place in the Uids (NULL, -1 for disabled nodes).
 * memo: the calling thread's memo of shared dicts (configs are mostly
 * dict_cow copies of a few folded dicts), or NULL. */
/* resource_type, package_name, path, original_file_path, unique_id, fqn:
 * the identity keys of sources, unit tests and exposures */
static void kv_identity(JsonW *w, const Node *n, const char *resource_type)
{
    kv_str(w, "resource_type", resource_type);
    kv_str(w, "package_name", n->package_name);
    kv_str(w, "path", n->path);
    kv_str(w, "original_file_path", n->original_file_path);
    kv_str(w, "unique_id", n->unique_id);
    kv_strs(w, "fqn", n->fqn, n->nfqn);
}

/* "refs": [{name, package, version}], "sources": [[source, table]] */
static void kv_refs_sources(JsonW *w, const Node *n)
{
    json_key_lit(w, "refs");
    json_arr_begin(w);
    for (int i = 0; i < n->nrefs; i++) {
        json_obj_begin(w);
        kv_str(w, "name", n->refs[i].name);
        kv_str(w, "package", n->refs[i].package);
        kv_str(w, "version", n->refs[i].version);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_key_lit(w, "sources");
    json_arr_begin(w);
    for (int i = 0; i < n->nsources; i++) {
        json_arr_begin(w);
        json_str(w, n->sources[i].source);
        json_str(w, n->sources[i].table);
        json_arr_end(w);
    }
    json_arr_end(w);
}

static void write_node(JsonW *w, Node *n, const Uids *u, int rank, JsonMemo *memo)
{
    json_obj_begin(w);
    kv_str(w, "database", n->database);
    kv_str(w, "schema", n->schema ? n->schema : "");
    kv_str(w, "name", n->name);
    kv_str(w, "resource_type", rt_name(n->rt));
    kv_str(w, "package_name", n->package_name);
    kv_str(w, "path", n->path);
    kv_str(w, "original_file_path", n->original_file_path);
    json_key_lit(w, "unique_id");
    if (u)
        uid_value(w, u, rank);
    else
        json_str(w, n->unique_id);
    kv_strs(w, "fqn", n->fqn, n->nfqn);
    kv_str(w, "alias", n->alias ? n->alias : n->name);
    write_checksum(w, n);
    kv_dict(w, "config", n->config, memo);
    kv_list(w, "tags", n->tags);
    kv_str(w, "description", n->description ? n->description : "");
    write_columns(w, n);
    kv_dict(w, "meta", n->meta, memo);
    json_key_lit(w, "group");
    json_null(w);
    kv_cfg_or(w, n, "docs", "docs", docs_default, memo);
    kv_str(w, "patch_path", n->patch_path);
    json_key_lit(w, "build_path");
    json_null(w);
    kv_dict(w, "unrendered_config", n->unrendered_config, memo);
    json_key_lit(w, "created_at");
    json_double(w, n->created_at);
    kv_str(w, "relation_name", n->relation_name);
    kv_str(w, "raw_code", n->raw_code ? n->raw_code : "");
    if (n->rt == RT_SEED) {
        kv_str(w, "root_path", n->root_path);
        json_key_lit(w, "depends_on");
        json_obj_begin(w);
        kv_strs(w, "macros", n->dep_macros, n->ndep_macros);
        json_obj_end(w);
        json_obj_end(w);
        return;
    }
    kv_str(w, "language", "sql");
    kv_refs_sources(w, n);
    json_key_lit(w, "metrics");
    empty_arr(w);
    json_key_lit(w, "depends_on");
    json_obj_begin(w);
    kv_strs(w, "macros", n->dep_macros, n->ndep_macros);
    json_key_lit(w, "nodes");
    json_arr_begin(w);
    for (int i = 0; i < n->ndep_nodes; i++) {
        int r = u ? u->dep[u->dep_off[rank] + (size_t)i] : -1;
        if (r >= 0)
            uid_value(w, u, r);
        else
            json_str(w, n->dep_nodes[i]);
    }
    json_arr_end(w);
    json_obj_end(w);
    kv_str(w, "compiled_path", n->compiled ? n->compiled_path : NULL);
    json_key_lit(w, "compiled");
    json_bool(w, n->compiled);
    if (n->compiled) {
        json_key_lit(w, "compiled_code");
        json_strn(w, n->compiled_code, node_compiled_len(n));
        json_key_lit(w, "extra_ctes_injected");
        json_bool(w, true);
        kv_list(w, "extra_ctes", n->extra_ctes);
    } else {
        json_key_lit(w, "extra_ctes_injected");
        json_bool(w, false);
        json_key_lit(w, "extra_ctes");
        empty_arr(w);
    }
    kv_cfg_or(w, n, "contract", "contract", contract_default, memo);
    if (n->rt == RT_MODEL) {
        kv_str(w, "access", "protected");
        json_key_lit(w, "constraints");
        if (n->constraints && n->constraints->len)
            value_to_json(w, (Value){.type = V_LIST, .u.l = n->constraints});
        else
            empty_arr(w);
        json_key_lit(w, "version");
        if (n->version)
            value_to_json(w, n->version->v);
        else
            json_null(w);
        json_key_lit(w, "latest_version");
        if (n->version)
            value_to_json(w, n->version->latest);
        else
            json_null(w);
        json_key_lit(w, "deprecation_date");
        json_null(w);
        json_key_lit(w, "primary_key");
        empty_arr(w);
        json_key_lit(w, "time_spine");
        json_null(w);
    }
    if (n->rt == RT_TEST) {
        if (n->is_generic_test) {
            json_key_lit(w, "test_metadata");
            json_obj_begin(w);
            kv_str(w, "name", n->test_name);
            kv_dict(w, "kwargs", n->test_kwargs, NULL);
            kv_str(w, "namespace", n->test_namespace);
            json_obj_end(w);
        }
        kv_str(w, "column_name", n->column_name);
        kv_str(w, "file_key_name", n->file_key_name);
        kv_str(w, "attached_node", n->attached_node);
    }
    json_obj_end(w);
}

static void write_source(JsonW *w, Node *n, JsonMemo *memo)
{
    json_obj_begin(w);
    kv_str(w, "database", n->database);
    kv_str(w, "schema", n->schema ? n->schema : "");
    kv_str(w, "name", n->name);
    kv_identity(w, n, "source");
    kv_str(w, "source_name", n->source_name);
    kv_str(w, "source_description", n->source_description ? n->source_description : "");
    kv_str(w, "loader", n->loader ? n->loader : "");
    kv_str(w, "identifier", n->identifier ? n->identifier : n->name);
    kv_dict(w, "quoting", n->quoting, memo);
    kv_str(w, "loaded_at_field", n->loaded_at_field);
    json_key_lit(w, "freshness");
    if (n->freshness) {
        Value v = {.type = V_DICT};
        v.u.d = n->freshness;
        value_to_json(w, v);
    } else {
        json_obj_begin(w);
        json_key_lit(w, "warn_after");
        empty_obj(w);
        json_key_lit(w, "error_after");
        empty_obj(w);
        json_key_lit(w, "filter");
        json_null(w);
        json_obj_end(w);
    }
    kv_dict_or_null(w, "external", n->external);
    kv_str(w, "description", n->description ? n->description : "");
    write_columns(w, n);
    kv_dict(w, "meta", n->meta, memo);
    json_key_lit(w, "source_meta");
    empty_obj(w);
    kv_list(w, "tags", n->tags);
    kv_dict(w, "config", n->config, memo);
    json_key_lit(w, "patch_path");
    json_null(w);
    kv_dict(w, "unrendered_config", n->unrendered_config, memo);
    kv_str(w, "relation_name", n->relation_name);
    json_key_lit(w, "created_at");
    json_double(w, n->created_at);
    json_obj_end(w);
}

static void write_fixture(JsonW *w, const UtFixture *fx)
{
    static const char *const fmt[] = {"dict", "csv", "sql"};
    json_obj_begin(w);
    if (fx->input)
        kv_str(w, "input", fx->input);
    json_key_lit(w, "rows");
    value_to_json(w, fx->rows);
    kv_str(w, "format", fmt[fx->format]);
    kv_str(w, "fixture", fx->fixture);
    json_obj_end(w);
}

/* A unit test, as dbt 1.8+ writes a UnitTestDefinition under "unit_tests". */
static void write_unit_test(JsonW *w, Node *n, JsonMemo *memo)
{
    UnitTest *ut = n->unit;
    json_obj_begin(w);
    kv_str(w, "model", ut->model);
    json_key_lit(w, "given");
    json_arr_begin(w);
    for (int i = 0; i < ut->ngiven; i++)
        write_fixture(w, &ut->given[i]);
    json_arr_end(w);
    json_key_lit(w, "expect");
    write_fixture(w, &ut->expect);
    kv_str(w, "name", n->name);
    kv_identity(w, n, "unit_test");
    kv_str(w, "description", n->description ? n->description : "");
    kv_dict_or_null(w, "overrides", ut->overrides);
    json_key_lit(w, "depends_on");
    json_obj_begin(w);
    json_key_lit(w, "macros");
    empty_arr(w);
    kv_strs(w, "nodes", n->dep_nodes, n->ndep_nodes);
    json_obj_end(w);
    kv_dict(w, "config", n->config, memo);
    kv_str(w, "checksum", ut->checksum);
    kv_str(w, "schema", n->schema);
    json_key_lit(w, "created_at");
    json_double(w, n->created_at);
    json_key_lit(w, "versions");
    json_null(w);
    json_key_lit(w, "version");
    json_null(w);
    json_obj_end(w);
}

/* An exposure (dbt's Exposure, manifest v12 key order). */
static void write_exposure(JsonW *w, Node *n, JsonMemo *memo)
{
    Exposure *ex = n->expo;
    json_obj_begin(w);
    kv_str(w, "name", n->name);
    kv_identity(w, n, "exposure");
    kv_str(w, "type", ex->type);
    json_key_lit(w, "owner");
    value_to_json(w, ex->owner);
    kv_str(w, "description", n->description ? n->description : "");
    kv_str(w, "label", ex->label);
    kv_str(w, "maturity", ex->maturity);
    kv_dict(w, "meta", n->meta, memo);
    kv_list(w, "tags", n->tags);
    kv_dict(w, "config", n->config, memo);
    kv_dict(w, "unrendered_config", n->unrendered_config, memo);
    kv_str(w, "url", ex->url);
    json_key_lit(w, "depends_on");
    json_obj_begin(w);
    json_key_lit(w, "macros");
    empty_arr(w);
    kv_strs(w, "nodes", n->dep_nodes, n->ndep_nodes);
    json_obj_end(w);
    kv_refs_sources(w, n);
    json_key_lit(w, "metrics");
    json_arr_begin(w);
    for (int i = 0; i < ex->nmetrics; i++) {
        json_arr_begin(w);
        json_str(w, ex->metrics[i]);
        json_arr_end(w);
    }
    json_arr_end(w);
    json_key_lit(w, "created_at");
    json_double(w, n->created_at);
    json_obj_end(w);
}

static void write_macro(JsonW *w, MacroDef *m)
{
    json_obj_begin(w);
    kv_str(w, "name", m->name);
    kv_str(w, "resource_type", "macro");
    kv_str(w, "package_name", m->package_name);
    kv_str(w, "path", m->path);
    kv_str(w, "original_file_path", m->original_file_path);
    kv_str(w, "unique_id", m->unique_id);
    kv_str(w, "macro_sql", m->macro_sql ? m->macro_sql : "");
    json_key_lit(w, "depends_on");
    json_obj_begin(w);
    kv_strs(w, "macros", m->dep_macros, m->ndep_macros);
    json_obj_end(w);
    kv_str(w, "description", m->description ? m->description : "");
    kv_dict(w, "meta", m->meta, NULL);
    json_key_lit(w, "docs");
    docs_default(w);
    json_key_lit(w, "patch_path");
    json_null(w);
    kv_list(w, "arguments", m->arguments);
    json_key_lit(w, "created_at");
    json_double(w, 0.0);
    json_key_lit(w, "supported_languages");
    json_null(w);
    json_obj_end(w);
}

typedef struct RankList { int *v; int n, cap; } RankList;

static void rank_push(RankList *l, int r)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = xrealloc(l->v, sizeof(int) * (size_t)l->cap);
    }
    l->v[l->n++] = r;
}

/* parent_map and child_map: every node and source is a key; values sorted.
 * A node's distinct parents that are nodes sort by rank; a list with any
 * other id sorts by strcmp.  Child lists are filled in rank order, so they
 * come out sorted. */
static void write_maps(JsonW *w, Uids *u)
{
    int n = u->n;
    RankList *children = xcalloc((size_t)n + 1, sizeof(RankList));
    int *ranks = NULL, cap = 0;
    const char **strs = NULL;
    json_key_lit(w, "parent_map");
    json_obj_begin(w);
    for (int i = 0; i < n; i++) {
        Node *nd = u->sorted[i];
        if (nd->ndep_nodes + 1 > cap) {
            cap = nd->ndep_nodes + 16;
            ranks = xrealloc(ranks, sizeof(int) * (size_t)cap);
            strs = xrealloc(strs, sizeof(char *) * (size_t)cap);
        }
        const int *dr = u->dep + u->dep_off[i];
        int nr = 0, ns = 0;
        for (int k = 0; k < nd->ndep_nodes; k++) {
            bool dup = false;
            if (dr[k] >= 0) {
                for (int j = 0; j < nr && !dup; j++)
                    dup = ranks[j] == dr[k];
                if (!dup) {
                    ranks[nr++] = dr[k];
                    rank_push(&children[dr[k]], i);
                }
            } else {
                for (int j = 0; j < ns && !dup; j++)
                    dup = !strcmp(strs[j], nd->dep_nodes[k]);
                if (!dup)
                    strs[ns++] = nd->dep_nodes[k];
            }
        }
        uid_key(w, u, i);
        json_arr_begin(w);
        if (!ns) {
            if (nr > 1)
                qsort(ranks, (size_t)nr, sizeof(int), cmp_int);
            for (int k = 0; k < nr; k++)
                uid_value(w, u, ranks[k]);
        } else {
            for (int k = 0; k < nr; k++)
                strs[ns + k] = u->sorted[ranks[k]]->unique_id;
            qsort(strs, (size_t)(ns + nr), sizeof(char *), cmp_str);
            for (int k = 0; k < ns + nr; k++)
                json_str(w, strs[k]);
        }
        json_arr_end(w);
    }
    json_obj_end(w);
    free(ranks);
    free(strs);
    json_key_lit(w, "child_map");
    json_obj_begin(w);
    for (int i = 0; i < n; i++) {
        uid_key(w, u, i);
        json_arr_begin(w);
        for (int k = 0; k < children[i].n; k++)
            uid_value(w, u, children[i].v[k]);
        json_arr_end(w);
        free(children[i].v);
    }
    json_obj_end(w);
    free(children);
}

/* The "nodes" object's entries, from block `first` on.  On large projects
 * two threads serialise them: the entries are cut into blocks of
 * kBlockNodes; the helper thread writes the blocks it claims into one of
 * kSlots buffers, the main thread writes the blocks it claims straight into
 * w and splices the helper's in order.  The helper claims a block only
 * while its buffer is free, so at most kSlots blocks sit in memory.
 * Serialising only reads the project. */
enum { kBlockNodes = 64, kSlots = 4 };

typedef struct NodeSlot { Sb buf; int block; bool done; } NodeSlot;

typedef struct NodeBlocks {
    const Uids *u;
    JsonW at;                       /* for json_fork: w as the entries began (w itself
                                     * changes under the helper's feet) */
    const int *ranks;               /* the entries: ranks of the non-source nodes */
    int n, nblocks;
    JsonSlot *slots;                /* by Node.index, or NULL */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next;                       /* first block nobody has claimed */
    int spliced;                    /* blocks before this one are in w */
    NodeSlot slot[kSlots];
} NodeBlocks;

/* One past the last entry of block b (of n entries). */
static int block_end(int b, int n) { return (b + 1) * kBlockNodes < n ? (b + 1) * kBlockNodes : n; }

/* A model's value is padded to its slot (json_pad_slot), and where it sits
 * is noted in slots[Node.index] when slots is not NULL: offsets relative to
 * w's document (a fork's offsets are made absolute when it is spliced). */
static void write_entry(JsonW *w, const Uids *u, int r, JsonSlot *slots, JsonMemo *memo)
{
    Node *n = u->sorted[r];
    uid_key(w, u, r);
    size_t start = json_offset(w);
    write_node(w, n, u, r, memo);
    if (n->rt != RT_MODEL)
        return;
    size_t len = json_pad_slot(w, start);
    if (slots && n->index >= 0)
        slots[n->index] = (JsonSlot){(int64_t)start, (uint32_t)len};
}

static inline void pf(const void *p)
{
    if (p)
        __builtin_prefetch(p);
}

/* What write_node reads of n beyond the Node itself (strings, arrays,
 * dicts) is scattered over the arenas, and cold when the manifest is
 * written long after parsing: each miss used to stall the writer (perf put
 * it under strlen, the first to touch a string).  The Node is asked for
 * two entries ahead and what it points to one entry ahead, so the misses
 * overlap with writing the entry before.  Only within the block: the
 * nodes of a block are final when it is written (manifest_begin), the
 * next block's may still be compiling. */
static void prefetch_node_data(const Node *n)
{
    pf(n->name);
    pf(n->path);
    pf(n->original_file_path);
    pf(n->patch_path);
    pf(n->schema);
    pf(n->alias);
    pf(n->relation_name);
    pf(n->description);
    pf(n->checksum);
    pf(n->raw_code);
    pf(n->compiled_code);
    pf(n->fqn);
    pf(n->config);
    pf(n->unrendered_config);
    pf(n->columns);
    pf(n->tags);
    pf(n->refs);
    pf(n->sources);
    pf(n->dep_macros);
    pf(n->test_kwargs);
    pf(n->file_key_name);
    pf(n->attached_node);
    pf(n->column_name);
    pf(n->test_name);
}

static void prefetch_node(const Node *n)
{
    const char *p = (const char *)n;
    for (size_t i = 0; i < sizeof *n; i += 64)
        __builtin_prefetch(p + i);
}

/* A render may change a config value in place (config.get('d').update(...),
 * value_shared_changes), which the nodes written after it show: a memo's
 * text is good only while the count of such changes it was taken at holds.
 * (In compile, blocks are written while later nodes compile.) */
static void memo_check(JsonMemo *memo)
{
    unsigned long c = value_shared_changes();
    if (c != memo->epoch) {
        json_memo_clear(memo);
        memo->epoch = c;
    }
}

static void write_block(JsonW *w, const Uids *u, const int *ranks, int n, int b, JsonSlot *slots, JsonMemo *memo)
{
    int start = b * kBlockNodes, end = block_end(b, n);
    if (start + 1 < end)
        prefetch_node(u->sorted[ranks[start + 1]]);
    for (int k = start; k < end; k++) {
        if (k + 2 < end)
            prefetch_node(u->sorted[ranks[k + 2]]);
        if (k + 1 < end)
            prefetch_node_data(u->sorted[ranks[k + 1]]);
        memo_check(memo);
        write_entry(w, u, ranks[k], slots, memo);
    }
}

/* A block written by a fork was spliced at base: its slots become absolute. */
static void rebase_block(const Uids *u, const int *ranks, int n, int b, JsonSlot *slots, size_t base)
{
    if (!slots)
        return;
    int end = block_end(b, n);
    for (int k = b * kBlockNodes; k < end; k++) {
        Node *nd = u->sorted[ranks[k]];
        if (nd->rt == RT_MODEL && nd->index >= 0)
            slots[nd->index].off += (int64_t)base;
    }
}

static void *nodes_helper(void *arg)
{
    NodeBlocks *nb = arg;
    JsonMemo memo = JSON_MEMO_INIT;
    pthread_mutex_lock(&nb->mu);
    for (;;) {
        while (nb->next < nb->nblocks && nb->next >= nb->spliced + kSlots)
            pthread_cond_wait(&nb->cv, &nb->mu);
        if (nb->next >= nb->nblocks)
            break;
        int b = nb->next++;
        NodeSlot *s = &nb->slot[b % kSlots];
        pthread_mutex_unlock(&nb->mu);
        JsonW f;
        sb_reset(&s->buf);
        json_fork(&f, &s->buf, &nb->at, b > 0);
        write_block(&f, nb->u, nb->ranks, nb->n, b, nb->slots, &memo);
        pthread_mutex_lock(&nb->mu);
        s->block = b;
        s->done = true;
        pthread_cond_broadcast(&nb->cv);
    }
    pthread_mutex_unlock(&nb->mu);
    json_memo_free(&memo);
    return NULL;
}

static int nblocks_of(int n) { return (n + kBlockNodes - 1) / kBlockNodes; }

/* memo: the calling thread's (the helper has its own). */
static void write_nodes(JsonW *w, const Uids *u, const int *ranks, int n, int first, JsonSlot *slots,
                        JsonMemo *memo)
{
    NodeBlocks nb = {.u = u, .at = *w, .ranks = ranks, .n = n, .nblocks = nblocks_of(n), .slots = slots};
    nb.next = nb.spliced = first;
    pthread_t th;
    bool threaded = false;
    if (nb.nblocks - first > 2 * kSlots) {
        pthread_mutex_init(&nb.mu, NULL);
        pthread_cond_init(&nb.cv, NULL);
        threaded = pthread_create(&th, NULL, nodes_helper, &nb) == 0;
        if (!threaded) {
            pthread_cond_destroy(&nb.cv);
            pthread_mutex_destroy(&nb.mu);
        }
    }
    if (!threaded) {
        for (int b = first; b < nb.nblocks; b++)
            write_block(w, u, ranks, n, b, slots, memo);
        return;
    }
    for (int b = first; b < nb.nblocks; b++) {
        pthread_mutex_lock(&nb.mu);
        bool mine = nb.next == b;
        if (mine)
            nb.next++;
        NodeSlot *s = &nb.slot[b % kSlots];
        while (!mine && !(s->done && s->block == b))
            pthread_cond_wait(&nb.cv, &nb.mu);
        pthread_mutex_unlock(&nb.mu);
        if (mine) {
            write_block(w, u, ranks, n, b, slots, memo);
        } else {
            rebase_block(u, ranks, n, b, slots, json_offset(w));
            json_splice(w, s->buf.buf, s->buf.len);
        }
        pthread_mutex_lock(&nb.mu);
        s->done = false;
        nb.spliced = b + 1;
        pthread_cond_broadcast(&nb.cv);
        pthread_mutex_unlock(&nb.mu);
    }
    pthread_join(th, NULL);
    for (int k = 0; k < kSlots; k++)
        sb_free(&nb.slot[k].buf);
    pthread_cond_destroy(&nb.cv);
    pthread_mutex_destroy(&nb.mu);
}

/* The ranks of the nodes that go into the "nodes" object (not sources). */
static int *entry_ranks(const Uids *u, int *n)
{
    int *r = xmalloc(sizeof(int) * ((size_t)u->n + 1));
    *n = 0;
    for (int i = 0; i < u->n; i++)
        if (u->sorted[i]->rt != RT_SOURCE && u->sorted[i]->rt != RT_UNIT_TEST && u->sorted[i]->rt != RT_EXPOSURE)
            r[(*n)++] = i;
    return r;
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp((*(Node *const *)a)->unique_id, (*(Node *const *)b)->unique_id);
}

static void iso_now(char *buf, size_t n) { clock_iso_now(buf, n); }

/* Everything before the "nodes" object's entries; the nodes sorted by
 * unique_id and their Uids into sorted/u. */
static void write_head(Project *p, const char *invocation_id, JsonW *w, Node ***sorted, Uids *u)
{
    char ts[64], pid[33];
    json_obj_begin(w);

    json_key_lit(w, "metadata");
    json_obj_begin(w);
    kv_str(w, "dbt_schema_version", "https://schemas.getdbt.com/dbt/manifest/v12.json");
    kv_str(w, "dbt_version", "1.9.0");
    iso_now(ts, sizeof ts);
    kv_str(w, "generated_at", ts);
    kv_str(w, "invocation_id", invocation_id);
    json_key_lit(w, "env");
    empty_obj(w);
    kv_str(w, "project_name", p->name);
    md5_hex(p->name, strlen(p->name), pid);
    kv_str(w, "project_id", pid);
    json_key_lit(w, "user_id");
    json_null(w);
    json_key_lit(w, "send_anonymous_usage_stats");
    json_bool(w, false);
    kv_str(w, "adapter_type", "postgres");
    json_obj_end(w);

    Node **s = xmalloc(sizeof(Node *) * (size_t)(p->nnodes + 1));
    for (int i = 0; i < p->nnodes; i++)
        s[i] = p->nodes[i];
    qsort(s, (size_t)p->nnodes, sizeof(Node *), cmp_node);
    uids_build(u, s, p->nnodes);
    *sorted = s;

    json_key_lit(w, "nodes");
    json_obj_begin(w);
}

/* Everything after the "nodes" object's entries; frees sorted and u. */
static void write_tail(Project *p, JsonW *w, Node **sorted, Uids *u, JsonMemo *memo)
{
    memo_check(memo);
    json_obj_end(w);
    json_key_lit(w, "sources");
    json_obj_begin(w);
    for (int i = 0; i < p->nnodes; i++) {
        if (sorted[i]->rt != RT_SOURCE)
            continue;
        uid_key(w, u, i);
        write_source(w, sorted[i], memo);
    }
    json_obj_end(w);
    json_key_lit(w, "macros");
    json_obj_begin(w);
    for (int i = 0; i < p->nmacros; i++) {
        json_key(w, p->macros[i]->unique_id);
        write_macro(w, p->macros[i]);
    }
    json_obj_end(w);
    json_key_lit(w, "docs");
    empty_obj(w);
    json_key_lit(w, "exposures");
    json_obj_begin(w);
    for (int i = 0; i < p->nnodes; i++) {
        if (sorted[i]->rt != RT_EXPOSURE || !sorted[i]->expo)
            continue;
        uid_key(w, u, i);
        write_exposure(w, sorted[i], memo);
    }
    json_obj_end(w);
    static const char *const kEmpty[] = {"metrics", "groups", "selectors"};
    for (size_t k = 0; k < sizeof kEmpty / sizeof kEmpty[0]; k++) {
        json_key(w, kEmpty[k]);
        empty_obj(w);
    }
    json_key_lit(w, "disabled");
    json_obj_begin(w);
    for (int i = 0; i < p->ndisabled; i++) {
        json_key(w, p->disabled[i]->unique_id);
        json_arr_begin(w);
        if (p->disabled[i]->rt == RT_SOURCE)
            write_source(w, p->disabled[i], memo);
        else if (p->disabled[i]->rt == RT_UNIT_TEST && p->disabled[i]->unit)
            write_unit_test(w, p->disabled[i], memo);
        else if (p->disabled[i]->rt == RT_EXPOSURE && p->disabled[i]->expo)
            write_exposure(w, p->disabled[i], memo);
        else
            write_node(w, p->disabled[i], NULL, -1, memo);
        json_arr_end(w);
    }
    json_obj_end(w);
    write_maps(w, u);
    uids_free(u);
    static const char *const kEmpty2[] = {"group_map", "saved_queries", "semantic_models"};
    for (size_t k = 0; k < sizeof kEmpty2 / sizeof kEmpty2[0]; k++) {
        json_key(w, kEmpty2[k]);
        empty_obj(w);
    }
    json_key_lit(w, "unit_tests");
    json_obj_begin(w);
    for (int i = 0; i < p->nnodes; i++) {
        if (sorted[i]->rt != RT_UNIT_TEST || !sorted[i]->unit)
            continue;
        json_key(w, sorted[i]->unique_id);
        write_unit_test(w, sorted[i], memo);
    }
    json_obj_end(w);
    json_obj_end(w);
    free(sorted);
}

/* The document into w (over out; streamed to sink_fd when >= 0). */
static void render(Project *p, const char *invocation_id, JsonW *w, Sb *out, int sink_fd, JsonSlot *slots)
{
    json_init(w, out, false);
    if (sink_fd >= 0)
        json_set_sink(w, sink_fd);
    Node **sorted;
    Uids u;
    write_head(p, invocation_id, w, &sorted, &u);
    int n;
    int *ranks = entry_ranks(&u, &n);
    JsonMemo memo = JSON_MEMO_INIT;
    write_nodes(w, &u, ranks, n, 0, slots, &memo);
    free(ranks);
    write_tail(p, w, sorted, &u, &memo);
    json_memo_free(&memo);
}

void manifest_node_json(Node *n, Sb *out)
{
    JsonW w;
    json_init(&w, out, false);
    write_node(&w, n, NULL, -1, NULL);
}

void manifest_render(Project *p, const char *invocation_id, Sb *out)
{
    JsonW w;
    render(p, invocation_id, &w, out, -1, NULL);
}

/* ---------------------------------------------------------------- written during compile */

struct ManifestWriter {
    Project *p;
    const char *path;
    Sb out, tmp;
    int fd;
    JsonW w;
    Node **sorted;
    Uids u;
    int *ranks, n, nblocks;         /* the "nodes" entries */
    JsonSlot *slots;                /* by Node.index, or NULL */
    JsonMemo memo;                  /* early_main's, then manifest_finish's */
    unsigned char *final;           /* by Node.index: the node will not change */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool threaded;
    bool all_final;                 /* manifest_finish: stop after the current block */
    bool waiting;                   /* the thread waits for a block to become final */
    int written;                    /* blocks before this one are in w */
    int pending;                    /* manifest_node_done calls since the last wake-up */
};

static bool block_final(const ManifestWriter *m, int b)
{
    int end = block_end(b, m->n);
    for (int k = b * kBlockNodes; k < end; k++) {
        int i = m->u.sorted[m->ranks[k]]->index;
        if (i < 0 || i >= m->p->nnodes || !__atomic_load_n(&m->final[i], __ATOMIC_ACQUIRE))
            return false;
    }
    return true;
}

/* Writes the blocks whose nodes are all final, in order, until every block
 * is written or manifest_finish takes over. */
static void *early_main(void *arg)
{
    ManifestWriter *m = arg;
    pthread_mutex_lock(&m->mu);
    while (m->written < m->nblocks && !m->all_final) {
        if (!block_final(m, m->written)) {
            m->waiting = true;
            pthread_cond_wait(&m->cv, &m->mu);
            m->waiting = false;
            continue;
        }
        pthread_mutex_unlock(&m->mu);
        write_block(&m->w, &m->u, m->ranks, m->n, m->written, m->slots, &m->memo);
        pthread_mutex_lock(&m->mu);
        m->written++;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

ManifestWriter *manifest_begin(Project *p, const char *invocation_id, const char *path, JsonSlot *slots)
{
    ManifestWriter *m = xcalloc(1, sizeof *m);
    m->p = p;
    m->slots = slots;
    m->path = path;
    m->fd = fs_atomic_open(path, &m->tmp);
    if (m->fd < 0) {
        sb_free(&m->tmp);
        free(m);
        return NULL;
    }
    json_init(&m->w, &m->out, false);
    json_set_sink(&m->w, m->fd);
    write_head(p, invocation_id, &m->w, &m->sorted, &m->u);
    m->ranks = entry_ranks(&m->u, &m->n);
    m->nblocks = nblocks_of(m->n);
    m->final = xcalloc((size_t)p->nnodes + 1, 1);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->threaded = pthread_create(&m->th, NULL, early_main, m) == 0;
    return m;
}

void manifest_node_done(ManifestWriter *m, const Node *n)
{
    if (!m || n->index < 0 || n->index >= m->p->nnodes)
        return;
    __atomic_store_n(&m->final[n->index], 1, __ATOMIC_RELEASE);
    /* the thread is woken per 64 nodes, not per node */
    if (++m->pending < kBlockNodes)
        return;
    m->pending = 0;
    pthread_mutex_lock(&m->mu);
    if (m->waiting)
        pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

int manifest_finish(ManifestWriter *m, Diag *err)
{
    if (m->threaded) {
        pthread_mutex_lock(&m->mu);
        m->all_final = true;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->th, NULL);
    }
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    write_nodes(&m->w, &m->u, m->ranks, m->n, m->written, m->slots, &m->memo);
    write_tail(m->p, &m->w, m->sorted, &m->u, &m->memo);
    json_memo_free(&m->memo);
    bool ok = json_flush(&m->w) == 0;
    int saved = errno;
    int rc = fs_atomic_commit(m->fd, sb_cstr(&m->tmp), m->path, ok);
    if (!ok)
        errno = saved;
    if (rc != 0)
        diag_set(err, m->path, 0, 0, NULL, "could not write manifest: %s", strerror(errno));
    free(m->ranks);
    free(m->final);
    sb_free(&m->out);
    sb_free(&m->tmp);
    free(m);
    return rc;
}

void manifest_cancel(ManifestWriter *m)
{
    if (!m)
        return;
    if (m->threaded) {
        pthread_mutex_lock(&m->mu);
        m->all_final = true;        /* stops after the block it is writing */
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->th, NULL);
    }
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    json_memo_free(&m->memo);
    fs_atomic_commit(m->fd, sb_cstr(&m->tmp), m->path, false);    /* the temporary file goes */
    uids_free(&m->u);            /* what write_tail frees after a finish */
    free(m->sorted);
    free(m->ranks);
    free(m->final);
    sb_free(&m->out);
    sb_free(&m->tmp);
    free(m);
}

int manifest_write(Project *p, const char *invocation_id, const char *path, Diag *err)
{
    return manifest_write_slots(p, invocation_id, path, NULL, err);
}

int manifest_write_slots(Project *p, const char *invocation_id, const char *path, JsonSlot *slots, Diag *err)
{
    /* Streamed to a temporary file in chunks (the document is tens of MB
     * for large projects), then renamed over path. */
    Sb out = SB_INIT, tmp = SB_INIT;
    int rc = -1;
    int fd = fs_atomic_open(path, &tmp);
    if (fd >= 0) {
        JsonW w;
        render(p, invocation_id, &w, &out, fd, slots);
        bool ok = json_flush(&w) == 0;
        int saved = errno;
        rc = fs_atomic_commit(fd, sb_cstr(&tmp), path, ok);
        if (!ok)
            errno = saved;
    }
    if (rc != 0)
        diag_set(err, path, 0, 0, NULL, "could not write manifest: %s", strerror(errno));
    sb_free(&out);
    sb_free(&tmp);
    return rc;
}
