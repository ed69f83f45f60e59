/* config.c - node config folding (spec §1.4-1.5, layers 1-3).
 *
 * Owns the built-in defaults per resource type, dbt's per-key merge rules
 * (config_merge), the walk of the dbt_project.yml config trees along a
 * node's fqn (memoised per directory prefix, so ten thousand models in a few
 * directories cost a few walks), and the unrendered_config bookkeeping.
 * Layer 4 (in-file config() calls) is applied by src/dbt with config_merge. */
#include "projpriv.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ defaults */

typedef enum { D_NONE, D_TRUE, D_FALSE, D_STR, D_INT, D_LIST, D_DICT, D_DOCS, D_CONTRACT, D_SNAPMETA } DKind;
typedef struct { const char *key; DKind kind; const char *s; int i; } DefaultKey;

#define NODE_CONFIG_KEYS(MATERIALIZED) \
    {"enabled", D_TRUE, NULL, 0}, {"alias", D_NONE, NULL, 0}, {"schema", D_NONE, NULL, 0}, \
    {"database", D_NONE, NULL, 0}, {"tags", D_LIST, NULL, 0}, {"meta", D_DICT, NULL, 0}, \
    {"group", D_NONE, NULL, 0}, {"materialized", D_STR, MATERIALIZED, 0}, \
    {"incremental_strategy", D_NONE, NULL, 0}, {"batch_size", D_NONE, NULL, 0}, \
    {"lookback", D_INT, NULL, 1}, {"begin", D_NONE, NULL, 0}, {"persist_docs", D_DICT, NULL, 0}, \
    {"post-hook", D_LIST, NULL, 0}, {"pre-hook", D_LIST, NULL, 0}, {"quoting", D_DICT, NULL, 0}, \
    {"column_types", D_DICT, NULL, 0}, {"full_refresh", D_NONE, NULL, 0}, \
    {"unique_key", D_NONE, NULL, 0}, {"on_schema_change", D_STR, "ignore", 0}, \
    {"on_configuration_change", D_STR, "apply", 0}, {"grants", D_DICT, NULL, 0}, \
    {"packages", D_LIST, NULL, 0}, {"docs", D_DOCS, NULL, 0}, {"contract", D_CONTRACT, NULL, 0}, \
    {"event_time", D_NONE, NULL, 0}, {"concurrent_batches", D_NONE, NULL, 0}

static const DefaultKey model_defaults[] = {
    NODE_CONFIG_KEYS("view"), {"access", D_STR, "protected", 0}, {NULL, D_NONE, NULL, 0}};
static const DefaultKey analysis_defaults[] = {NODE_CONFIG_KEYS("view"), {NULL, D_NONE, NULL, 0}};
static const DefaultKey seed_defaults[] = {
    NODE_CONFIG_KEYS("seed"), {"delimiter", D_STR, ",", 0}, {"quote_columns", D_NONE, NULL, 0},
    {NULL, D_NONE, NULL, 0}};
static const DefaultKey snapshot_defaults[] = {
    NODE_CONFIG_KEYS("snapshot"), {"strategy", D_NONE, NULL, 0}, {"target_schema", D_NONE, NULL, 0},
    {"target_database", D_NONE, NULL, 0}, {"updated_at", D_NONE, NULL, 0},
    {"check_cols", D_NONE, NULL, 0}, {"snapshot_meta_column_names", D_SNAPMETA, NULL, 0},
    {"dbt_valid_to_current", D_NONE, NULL, 0}, {"hard_deletes", D_NONE, NULL, 0},
    {NULL, D_NONE, NULL, 0}};
static const DefaultKey test_defaults[] = {
    {"enabled", D_TRUE, NULL, 0}, {"alias", D_NONE, NULL, 0}, {"schema", D_STR, "dbt_test__audit", 0},
    {"database", D_NONE, NULL, 0}, {"tags", D_LIST, NULL, 0}, {"meta", D_DICT, NULL, 0},
    {"group", D_NONE, NULL, 0}, {"materialized", D_STR, "test", 0}, {"severity", D_STR, "ERROR", 0},
    {"store_failures", D_NONE, NULL, 0}, {"store_failures_as", D_NONE, NULL, 0},
    {"where", D_NONE, NULL, 0}, {"limit", D_NONE, NULL, 0}, {"fail_calc", D_STR, "count(*)", 0},
    {"warn_if", D_STR, "!= 0", 0}, {"error_if", D_STR, "!= 0", 0}, {NULL, D_NONE, NULL, 0}};
static const DefaultKey source_defaults[] = {
    {"enabled", D_TRUE, NULL, 0}, {"event_time", D_NONE, NULL, 0}, {NULL, D_NONE, NULL, 0}};
static const DefaultKey operation_defaults[] = {
    {"enabled", D_TRUE, NULL, 0}, {"tags", D_LIST, NULL, 0}, {"meta", D_DICT, NULL, 0},
    {NULL, D_NONE, NULL, 0}};

static const DefaultKey *defaults_for(ResourceType rt)
{
    switch (rt) {
    case RT_MODEL: return model_defaults;
    case RT_SEED: return seed_defaults;
    case RT_TEST: return test_defaults;
    case RT_SNAPSHOT: return snapshot_defaults;
    case RT_ANALYSIS: return analysis_defaults;
    case RT_SOURCE: return source_defaults;
    default: return operation_defaults;
    }
}

VDict *config_defaults(Arena *a, ResourceType rt)
{
    VDict *d = v_dict(a).u.d;
    for (const DefaultKey *k = defaults_for(rt); k->key; k++) {
        Value v;
        switch (k->kind) {
        case D_NONE: v = v_none(); break;
        case D_TRUE: v = v_bool(true); break;
        case D_FALSE: v = v_bool(false); break;
        case D_STR: v = v_strz(a, k->s); break;
        case D_INT: v = v_int(k->i); break;
        case D_LIST: v = v_list(a, 0); break;
        case D_DICT: v = v_dict(a); break;
        case D_DOCS:
            v = v_dict(a);
            dict_setz(a, v.u.d, "show", v_bool(true));
            dict_setz(a, v.u.d, "node_color", v_none());
            break;
        case D_CONTRACT:
            v = v_dict(a);
            dict_setz(a, v.u.d, "enforced", v_bool(false));
            dict_setz(a, v.u.d, "alias_types", v_bool(true));
            break;
        case D_SNAPMETA:
            v = v_dict(a);
            dict_setz(a, v.u.d, "dbt_valid_to", v_none());
            dict_setz(a, v.u.d, "dbt_valid_from", v_none());
            dict_setz(a, v.u.d, "dbt_scd_id", v_none());
            dict_setz(a, v.u.d, "dbt_updated_at", v_none());
            dict_setz(a, v.u.d, "dbt_is_deleted", v_none());
            break;
        default: v = v_none(); break;
        }
        dict_setz(a, d, k->key, v);
    }
    return d;
}

/* ------------------------------------------------------------ merging */

typedef enum { M_CLOBBER, M_APPEND, M_APPEND_UNIQUE, M_HOOKS, M_UPDATE, M_GRANTS } MergeKind;
static const struct { const char *key; MergeKind kind; } merge_rules[] = {
    {"tags", M_APPEND_UNIQUE}, {"packages", M_APPEND}, {"pre-hook", M_HOOKS}, {"post-hook", M_HOOKS},
    {"meta", M_UPDATE}, {"quoting", M_UPDATE}, {"column_types", M_UPDATE}, {"docs", M_UPDATE},
    {"contract", M_UPDATE}, {"snapshot_meta_column_names", M_UPDATE}, {"grants", M_GRANTS},
};

static MergeKind merge_kind(const char *k)
{
    for (size_t i = 0; i < sizeof merge_rules / sizeof merge_rules[0]; i++)
        if (!strcmp(k, merge_rules[i].key))
            return merge_rules[i].kind;
    return M_CLOBBER;
}

/* A fresh list holding the items of v (a list/tuple, or a scalar as one item; None: empty). */
static VList *listify_copy(Arena *a, const Value *v)
{
    VList *l = v_list(a, 4).u.l;
    if (!v || v->type == V_NONE || v->type == V_UNDEF)
        return l;
    if (v->type == V_LIST || v->type == V_TUPLE) {
        for (size_t i = 0; i < v->u.l->len; i++)
            list_append(a, l, v->u.l->items[i]);
    } else {
        list_append(a, l, *v);
    }
    return l;
}

static bool list_has(VList *l, Value v)
{
    for (size_t i = 0; i < l->len; i++)
        if (value_eq(l->items[i], v))
            return true;
    return false;
}

static Value hook_obj(Arena *a, Value sql, Value transaction)
{
    Value h = v_dict(a);
    dict_setz(a, h.u.d, "sql", sql);
    dict_setz(a, h.u.d, "transaction", transaction);
    dict_setz(a, h.u.d, "index", v_none());
    return h;
}

static void hook_one(Arena *a, VList *dst, Value v, int depth)
{
    if (depth > PL_MAX_DEPTH)
        return;
    if (v.type == V_NONE || v.type == V_UNDEF)
        return;
    if (v.type == V_LIST || v.type == V_TUPLE) {
        for (size_t i = 0; i < v.u.l->len; i++)
            hook_one(a, dst, v.u.l->items[i], depth + 1);
        return;
    }
    if (v.type == V_DICT) {
        Value *sql = dict_getz(v.u.d, "sql");
        Value *tr = dict_getz(v.u.d, "transaction");
        if (sql) {
            list_append(a, dst, hook_obj(a, *sql, tr ? *tr : v_bool(true)));
            return;
        }
    }
    if (v.type == V_STR) {
        /* a hook rendered from before_begin()/after_commit() may arrive as JSON-ish text;
         * src/dbt decodes those; here a string is plain SQL */
        list_append(a, dst, hook_obj(a, v, v_bool(true)));
        return;
    }
    list_append(a, dst, hook_obj(a, v_strz(a, value_to_cstr(a, v)), v_bool(true)));
}

void pl_hooks_append(Arena *a, VList *dst, Value v) { hook_one(a, dst, v, 0); }

static const char *clean_key(const char *k)
{
    while (*k == '+' || *k == ' ')
        k++;
    if (!strcmp(k, "pre_hook"))
        return "pre-hook";
    if (!strcmp(k, "post_hook"))
        return "post-hook";
    return k;
}

static void merge_one(Arena *a, VDict *dst, const char *key, Value v)
{
    Value *old = dict_getz(dst, key);
    switch (merge_kind(key)) {
    case M_CLOBBER:
        dict_setz(a, dst, key, v);
        return;
    case M_APPEND: {
        VList *l = listify_copy(a, old);
        VList *add = listify_copy(a, &v);
        for (size_t i = 0; i < add->len; i++)
            list_append(a, l, add->items[i]);
        dict_setz(a, dst, key, (Value){.type = V_LIST, .u.l = l});
        return;
    }
    case M_APPEND_UNIQUE: {
        VList *l = listify_copy(a, old);
        VList *add = listify_copy(a, &v);
        for (size_t i = 0; i < add->len; i++)
            if (!list_has(l, add->items[i]))
                list_append(a, l, add->items[i]);
        dict_setz(a, dst, key, (Value){.type = V_LIST, .u.l = l});
        return;
    }
    case M_HOOKS: {
        VList *l = v_list(a, 4).u.l;
        if (old && old->type == V_LIST)
            for (size_t i = 0; i < old->u.l->len; i++)
                list_append(a, l, old->u.l->items[i]);
        hook_one(a, l, v, 0);
        dict_setz(a, dst, key, (Value){.type = V_LIST, .u.l = l});
        return;
    }
    case M_UPDATE: {
        if (v.type != V_DICT) {
            dict_setz(a, dst, key, v);
            return;
        }
        Value d = v_dict(a);
        VDictEntry *e;
        if (old && old->type == V_DICT)
            for (size_t it = 0; dict_next(old->u.d, &it, &e);)
                dict_set(a, d.u.d, e->key, e->val);
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            dict_set(a, d.u.d, e->key, e->val);
        dict_setz(a, dst, key, d);
        return;
    }
    case M_GRANTS: {
        if (v.type != V_DICT) {
            dict_setz(a, dst, key, v);
            return;
        }
        Value d = v_dict(a);
        VDictEntry *e;
        if (old && old->type == V_DICT)
            for (size_t it = 0; dict_next(old->u.d, &it, &e);)
                dict_set(a, d.u.d, e->key, e->val);
        for (size_t it = 0; dict_next(v.u.d, &it, &e);) {
            const char *gk = value_cstr(e->key);
            if (gk && gk[0] == '+') {
                const char *ck = clean_key(gk);
                Value *prev = dict_getz(d.u.d, ck);
                VList *l = listify_copy(a, prev);
                VList *add = listify_copy(a, &e->val);
                for (size_t i = 0; i < add->len; i++)
                    list_append(a, l, add->items[i]);
                dict_setz(a, d.u.d, ck, (Value){.type = V_LIST, .u.l = l});
            } else {
                dict_set(a, d.u.d, e->key, e->val);
            }
        }
        dict_setz(a, dst, key, d);
        return;
    }
    }
}

void config_merge(Arena *a, VDict *dst, VDict *src)
{
    if (!dst || !src)
        return;
    VDictEntry *e;
    for (size_t it = 0; dict_next(src, &it, &e);) {
        const char *k = value_cstr(e->key);
        if (!k) {
            dict_set(a, dst, e->key, e->val);
            continue;
        }
        merge_one(a, dst, clean_key(k), e->val);
    }
}

VDict *config_merge_call(Project *p, VDict *dst, VDict *src)
{
    return config_merge_call_in(&p->arena, p->priv ? &p->priv->calls : NULL, dst, src);
}

VDict *config_merge_call_in(Arena *a, StrMap *calls, VDict *dst, VDict *src)
{
    const void *base = dict_cow_source(dst);
    Value sv = {.type = V_DICT, .u.d = src};
    if (!calls || !base || !value_plain(sv)) {
        config_merge(a, dst, value_deep_copy(a, sv).u.d);
        return dst;
    }
    /* a view of an unchanged config: the merge is a function of that config and src */
    Sb key = SB_INIT;
    sb_printf(&key, "%p/%zu/", base, dst->n);
    value_repr(&key, sv);
    VDict *merged = strmap_get(calls, key.buf, key.len);
    if (!merged) {
        merged = dict_cow(a, dst);
        config_merge(a, merged, value_deep_copy(a, sv).u.d);
        strmap_put(calls, key.buf, key.len, merged);
    }
    sb_free(&key);
    return dict_cow(a, merged);
}

/* Plain dict update with '+' prefixes removed (unrendered_config). */
static void plain_update(Arena *a, VDict *dst, VDict *src)
{
    if (!dst || !src)
        return;
    VDictEntry *e;
    for (size_t it = 0; dict_next(src, &it, &e);) {
        const char *k = value_cstr(e->key);
        if (k)
            dict_setz(a, dst, clean_key(k), e->val);
        else
            dict_set(a, dst, e->key, e->val);
    }
}

/* ------------------------------------------------------------ project trees */

static const char *tree_key(ResourceType rt)
{
    switch (rt) {
    case RT_MODEL: case RT_ANALYSIS: return "models";
    case RT_SEED: return "seeds";
    case RT_SNAPSHOT: return "snapshots";
    case RT_SOURCE: return "sources";
    case RT_TEST: return "data_tests";
    case RT_UNIT_TEST: return "unit_tests";
    case RT_EXPOSURE: return "exposures";
    default: return NULL;
    }
}

static VDict *tree_for(VDict *yml, ResourceType rt)
{
    const char *k = tree_key(rt);
    if (!yml || !k)
        return NULL;
    Value *v = dict_getz(yml, k);
    if (!v && rt == RT_TEST)
        v = dict_getz(yml, "tests");
    return v && v->type == V_DICT ? v->u.d : NULL;
}

/* The config keys of one tree level: '+' keys, and keys whose value is not a mapping. */
static VDict *level_configs(Arena *a, VDict *level)
{
    VDict *out = v_dict(a).u.d;
    VDictEntry *e;
    for (size_t it = 0; dict_next(level, &it, &e);) {
        const char *k = value_cstr(e->key);
        if (k && k[0] == '+')
            dict_setz(a, out, clean_key(k), e->val);
        else if (e->val.type != V_DICT)
            dict_set(a, out, e->key, e->val);
    }
    return out;
}

typedef struct CfgMemo {
    VDict *folded, *folded_raw;   /* levels root..prefix merged (from empty) */
    VDict *level, *level_raw;     /* the tree dict at the prefix, NULL once the walk stopped */
    VDict *base;                  /* defaults + folded, built on first use (shared copy on write by the nodes) */
} CfgMemo;

static VDict *child_dict(VDict *level, const char *name)
{
    if (!level)
        return NULL;
    Value *v = dict_getz(level, name);
    return v && v->type == V_DICT ? v->u.d : NULL;
}

/* "<rt>" + "\x1f<fqn[i]>" for i < k: looked up once per node folded, so
 * no printf ("%d" of rt: one digit, RT__COUNT <= 10).  The trees of an
 * installed package's dbt_project.yml are keyed "\x1e<index>" first. */
static void memo_key(Sb *key, const Package *pk, ResourceType rt, const char **fqn, int k)
{
    _Static_assert(RT__COUNT <= 10, "memo keys hold rt as one digit");
    sb_reset(key);
    if (pk && pk->index)
        sb_printf(key, "\x1e%d", pk->index);
    sb_putc(key, (char)('0' + (int)rt));
    for (int i = 0; i < k; i++) {
        sb_putc(key, '\x1f');
        sb_puts(key, fqn[i]);
    }
}

/* pk: whose dbt_project.yml (NULL: the root project's). */
static CfgMemo *memo_get(Project *p, const Package *pk, ResourceType rt, const char **fqn, int k, Sb *key)
{
    memo_key(key, pk, rt, fqn, k);
    CfgMemo *m = strmap_get(&p->priv->memo, key->buf, key->len);
    if (m)
        return m;
    Arena *a = &p->arena;
    m = ARENA_NEW(a, CfgMemo);
    if (k == 0) {
        m->level = tree_for(pk ? pk->project_yml : p->project_yml, rt);
        m->level_raw = tree_for(pk ? pk->raw_yml : p->priv->raw_yml, rt);
        m->folded = v_dict(a).u.d;
        m->folded_raw = v_dict(a).u.d;
        if (m->level)
            config_merge(a, m->folded, level_configs(a, m->level));
        if (m->level_raw)
            plain_update(a, m->folded_raw, level_configs(a, m->level_raw));
    } else {
        CfgMemo *parent = memo_get(p, pk, rt, fqn, k - 1, key);
        m->level = child_dict(parent->level, fqn[k - 1]);
        m->level_raw = child_dict(parent->level_raw, fqn[k - 1]);
        if (!m->level) {
            m->folded = parent->folded;
            m->folded_raw = parent->folded_raw;
            m->level_raw = NULL;
        } else {
            m->folded = v_dict(a).u.d;
            config_merge(a, m->folded, parent->folded);
            config_merge(a, m->folded, level_configs(a, m->level));
            m->folded_raw = v_dict(a).u.d;
            plain_update(a, m->folded_raw, parent->folded_raw);
            if (m->level_raw)
                plain_update(a, m->folded_raw, level_configs(a, m->level_raw));
        }
        /* rebuild the key of this prefix (the recursive call reused the buffer) */
        memo_key(key, pk, rt, fqn, k);
    }
    strmap_put(&p->priv->memo, key->buf, key->len, m);
    return m;
}

static CfgMemo *memo_for(Project *p, const Package *pk, ResourceType rt, const char **fqn, int nfqn)
{
    if (!p->priv || !tree_key(rt) || nfqn <= 0 || nfqn > PL_MAX_DEPTH)
        return NULL;
    Sb key = SB_INIT;
    CfgMemo *m = memo_get(p, pk, rt, fqn, nfqn - 1, &key);
    sb_free(&key);
    return m;
}

/* The memo of a walk already made (NULL if none): no insertion, so other
 * threads may look up while nothing is being loaded. */
static CfgMemo *memo_find(Project *p, ResourceType rt, const char **fqn, int nfqn)
{
    if (!p->priv || !tree_key(rt) || nfqn <= 0 || nfqn > PL_MAX_DEPTH)
        return NULL;
    Sb key = SB_INIT;
    memo_key(&key, NULL, rt, fqn, nfqn - 1);
    CfgMemo *m = strmap_get(&p->priv->memo, key.buf, key.len);
    sb_free(&key);
    return m;
}

/* The node-name level (fqn's last segment), merged into dst/dst_raw. */
static void apply_last(Arena *a, CfgMemo *m, const char **fqn, int nfqn, VDict *dst, VDict *dst_raw)
{
    VDict *last = child_dict(m->level, fqn[nfqn - 1]);
    if (last) {
        config_merge(a, dst, level_configs(a, last));
        VDict *last_raw = child_dict(m->level_raw, fqn[nfqn - 1]);
        if (dst_raw && last_raw)
            plain_update(a, dst_raw, level_configs(a, last_raw));
    }
}

static void apply_memo(Arena *a, CfgMemo *m, const char **fqn, int nfqn, VDict *dst, VDict *dst_raw)
{
    if (!m)
        return;
    config_merge(a, dst, m->folded);
    if (dst_raw)
        plain_update(a, dst_raw, m->folded_raw);
    apply_last(a, m, fqn, nfqn, dst, dst_raw);
}

void config_apply_project(Project *p, ResourceType rt, const char **fqn, int nfqn, VDict *dst)
{
    apply_memo(&p->arena, memo_for(p, NULL, rt, fqn, nfqn), fqn, nfqn, dst, NULL);
}

void config_apply_root(Project *p, Arena *a, ResourceType rt, const char **fqn, int nfqn,
                       VDict *dst, VDict *dst_raw)
{
    apply_memo(a, memo_find(p, rt, fqn, nfqn), fqn, nfqn, dst, dst_raw);
}

void pl_config_fold(Loader *L, Node *n, VDict *patch, VDict *patch_raw)
{
    Arena *a = L->a;
    VDict *cfg, *raw;
    Package *pk = L->p->npackages && node_in_package(L->p, n) ? project_package(L->p, n->package_name) : NULL;
    CfgMemo *m = memo_for(L->p, pk, n->rt, n->fqn, n->nfqn);
    if (m) {
        if (!m->base) {
            m->base = config_defaults(a, n->rt);
            config_merge(a, m->base, m->folded);
        }
        cfg = dict_cow(a, m->base);
        raw = dict_cow(a, m->folded_raw);
        apply_last(a, m, n->fqn, n->nfqn, cfg, raw);
    } else {
        cfg = config_defaults(a, n->rt);
        raw = v_dict(a).u.d;
    }
    if (patch)
        config_merge(a, cfg, patch);
    if (patch_raw)
        plain_update(a, raw, patch_raw);
    if (pk) {
        /* layer 5: the root project's tree on top; the parse pass applies it
         * again after the node's config() calls, from config_pkg */
        n->config_pkg = cfg;
        n->unrendered_pkg = raw;
        cfg = dict_cow(a, cfg);
        raw = dict_cow(a, raw);
        apply_memo(a, memo_for(L->p, NULL, n->rt, n->fqn, n->nfqn), n->fqn, n->nfqn, cfg, raw);
    }
    n->config = cfg;
    n->unrendered_config = raw;
    Value *meta = dict_getz(cfg, "meta");
    if (meta && meta->type == V_DICT && n->rt != RT_SOURCE)
        n->meta = meta->u.d;
    Value *tags = dict_getz(cfg, "tags");
    if (tags && tags->type == V_LIST && n->rt != RT_SOURCE && n->rt != RT_TEST)
        n->tags = tags->u.l;
    Value *docs = dict_getz(cfg, "docs");
    if (docs && docs->type == V_DICT)
        n->docs = docs->u.d;
}

void pl_config_free(Project *p)
{
    if (p->priv) {
        strmap_free(&p->priv->memo);
        strmap_free(&p->priv->calls);
        strmap_free(&p->priv->warn_seen);
    }
}
