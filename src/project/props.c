/* props.c - properties files (spec §1.8, §11): `models`/`seeds`/`snapshots`/
 * `analyses` patches (description, columns, config, docs, meta, tags,
 * patch_path), `sources` (one source node per table, with its relation),
 * `macros` (description, arguments, meta), and queueing of the generic tests
 * declared there (built by gentest.c once every target's config is folded).
 *
 * Shapes are checked here with located errors; config semantics are
 * config.c's.  Strings are rendered (PR_PROPERTIES) except descriptions,
 * tests and hooks. */
#include "projpriv.h"
#include "../base/hash.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/fs.h"
#include "../base/journal.h"

typedef struct PatchCtx {
    Loader *L;
    YFile *f;
    const char *key;        /* "models", ... */
} PatchCtx;

static int shape_err(PatchCtx *c, const YNode *n, const char *what)
{
    return pl_err(c->L, c->f, n, "Invalid %s config given in %s @ %s: %s", c->key, c->f->rel, c->key, what);
}

static int render(PatchCtx *c, const YNode *n, unsigned flags, Value *out)
{
    return pl_conv(c->L, c->f, n, PR_PROPERTIES, flags, out);
}

/* A string value of str(v) (v itself when it is one). */
static Value str_value(Arena *a, Value v)
{
    return v.type == V_STR ? v : v_strz(a, pl_fmt_value(a, v));
}

/* name: a required scalar, as str(). */
static int entry_name_value(PatchCtx *c, const YNode *entry, Value *out)
{
    if (entry->kind != YN_MAP)
        return shape_err(c, entry, arena_sprintf(c->L->a, "expected each entry to be a mapping, got %s", pl_kind(entry)));
    const YNode *nn = ynode_get(entry, "name");
    if (!nn || nn->kind != YN_SCALAR || nn->value.type == V_NONE)
        return shape_err(c, entry, "'name' is a required property");
    Value v;
    if (render(c, nn, PL_RENDER, &v) != 0)
        return -1;
    *out = str_value(c->L->a, v);
    return 0;
}

static int entry_name(PatchCtx *c, const YNode *entry, const char **out)
{
    Value v;
    if (entry_name_value(c, entry, &v) != 0)
        return -1;
    *out = v.u.s->s;
    return 0;
}

/* description: an optional scalar, as str() (None: ""); *out is left alone when absent. */
static int opt_description_value(PatchCtx *c, const YNode *entry, Value *out)
{
    const YNode *d = ynode_get(entry, "description");
    if (!d)
        return 0;
    if (d->kind != YN_SCALAR)
        return shape_err(c, d, arena_sprintf(c->L->a, "'description' must be a string, got %s", pl_kind(d)));
    *out = d->value.type == V_NONE ? v_strz(c->L->a, "") : str_value(c->L->a, d->value);
    return 0;
}

static int opt_description(PatchCtx *c, const YNode *entry, const char **out)
{
    Value v = v_none();
    if (opt_description_value(c, entry, &v) != 0)
        return -1;
    if (v.type == V_STR)
        *out = v.u.s->s;
    return 0;
}

static int opt_dict(PatchCtx *c, const YNode *entry, const char *key, unsigned flags, VDict **out)
{
    const YNode *n = ynode_get(entry, key);
    if (!n || (n->kind == YN_SCALAR && n->value.type == V_NONE))
        return 0;
    if (n->kind != YN_MAP)
        return shape_err(c, n, arena_sprintf(c->L->a, "'%s' must be a mapping, got %s", key, pl_kind(n)));
    Value v;
    if (render(c, n, flags, &v) != 0)
        return -1;
    *out = v.u.d;
    return 0;
}

/* tags: a string or a list of strings -> fresh list. */
static int opt_tags(PatchCtx *c, const YNode *entry, VList **out)
{
    const YNode *n = ynode_get(entry, "tags");
    *out = v_list(c->L->a, 0).u.l;
    if (!n || (n->kind == YN_SCALAR && n->value.type == V_NONE))
        return 0;
    Value v;
    if (render(c, n, PL_RENDER, &v) != 0)
        return -1;
    if (v.type == V_STR) {
        list_append(c->L->a, *out, v);
        return 0;
    }
    if (v.type != V_LIST)
        return shape_err(c, n, arena_sprintf(c->L->a, "'tags' must be a string or a list of strings, got %s", pl_kind(n)));
    for (size_t i = 0; i < v.u.l->len; i++) {
        if (v.u.l->items[i].type != V_STR)
            return shape_err(c, n->items[i], "'tags' must be a string or a list of strings");
        list_append(c->L->a, *out, v.u.l->items[i]);
    }
    return 0;
}

static bool one_of(const char *s, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (!strcmp(s, set[i]))
            return true;
    return false;
}

/* Every key of mapping m is one of keys (NULL-terminated), else dbt's
 * schema error at the first other one. */
static int only_keys(PatchCtx *c, const YNode *m, const char *const *keys)
{
    for (size_t i = 0; i < m->n; i++) {
        const char *k = ynode_str(m->keys[i]);
        if (!k || !one_of(k, keys))
            return shape_err(c, m->keys[i], arena_sprintf(c->L->a, "Additional properties are not allowed ('%s' was unexpected)",
                                                          k ? k : ynode_kind_name(m->keys[i])));
    }
    return 0;
}

static const YNode *tests_node(PatchCtx *c, const YNode *entry, int *rc)
{
    const YNode *t = ynode_get(entry, "tests"), *dt = ynode_get(entry, "data_tests");
    *rc = 0;
    if (t && dt) {
        *rc = pl_err(c->L, c->f, t, "Invalid test config: cannot have both 'tests' and 'data_tests' defined");
        return NULL;
    }
    const YNode *r = dt ? dt : t;
    if (r && r->kind == YN_SCALAR && r->value.type == V_NONE)
        return NULL;
    if (r && r->kind != YN_SEQ) {
        *rc = shape_err(c, r, arena_sprintf(c->L->a, "'%s' must be a list, got %s", dt ? "data_tests" : "tests", pl_kind(r)));
        return NULL;
    }
    return r;
}

static int check_fk_to(PatchCtx *c, const YNode *cons, const char *model);

static const char *const column_keys[PL_NCOLUMN_KEYS] = {
    "name", "description", "meta", "data_type", "constraints", "quote", "tags",
};

/* Which of a versioned model's top-level columns a version keeps (its
 * `columns:` item with `include` / `exclude`; default: all of them), and
 * the names the version's own columns replace.  NULL: every column. */
typedef struct ColFilter {
    const YNode *include;        /* "all" / "*" or a list of names; NULL = all */
    const YNode *exclude;        /* a list of names or NULL */
    const YNode *own;            /* the version's `columns:` (its named items win) */
} ColFilter;

static bool yname_in(const YNode *list, const char *name)
{
    for (size_t i = 0; list && list->kind == YN_SEQ && i < list->n; i++) {
        const char *s = ynode_str(list->items[i]);
        if (s && strcmp(s, name) == 0)
            return true;
    }
    return false;
}

static bool col_kept(const ColFilter *f, Value name)
{
    if (!f)
        return true;
    const char *s = value_cstr(name);
    if (!s)
        return true;
    if (f->include && f->include->kind == YN_SEQ && !yname_in(f->include, s))
        return false;
    if (yname_in(f->exclude, s))
        return false;
    for (size_t i = 0; f->own && f->own->kind == YN_SEQ && i < f->own->n; i++) {
        const char *o = ynode_str(ynode_get(f->own->items[i], "name"));
        if (o && strcmp(o, s) == 0)
            return false;        /* the version redefines it */
    }
    return true;
}

/* columns -> dict name -> {name, description, meta, data_type, constraints, quote, tags};
 * column tests are queued against t (when t->node or a source is known).
 * cn: the `columns:` list (NULL: none); flt: a version's filter of the
 * model's columns, or NULL; items with `include` are filters, not columns. */
static int read_columns(PatchCtx *c, const YNode *cn, VDict *cols, const TestTarget *t, const ColFilter *flt)
{
    Loader *L = c->L;
    if (!cn || (cn->kind == YN_SCALAR && cn->value.type == V_NONE))
        return 0;
    if (cn->kind != YN_SEQ)
        return shape_err(c, cn, arena_sprintf(L->a, "'columns' must be a list, got %s", pl_kind(cn)));
    if (!L->column_keys[0].u.s)
        for (int k = 0; k < PL_NCOLUMN_KEYS; k++)
            L->column_keys[k] = v_strz(L->a, column_keys[k]);
    for (size_t i = 0; i < cn->n; i++) {
        const YNode *col = cn->items[i];
        if (col->kind == YN_MAP && ynode_get(col, "include") && !ynode_get(col, "name"))
            continue;            /* a version's include / exclude */
        Value name;
        if (entry_name_value(c, col, &name) != 0)
            return -1;
        if (!col_kept(flt, name))
            continue;
        Value desc = v_none();
        VDict *meta = NULL;
        VList *tags;
        if (opt_description_value(c, col, &desc) != 0 || opt_dict(c, col, "meta", PL_RENDER, &meta) != 0 ||
            opt_tags(c, col, &tags) != 0)
            return -1;
        Value dtype = v_none(), quote = v_none(), constraints = v_list(L->a, 0);
        const YNode *x;
        if ((x = ynode_get(col, "data_type")) && render(c, x, PL_RENDER, &dtype) != 0)
            return -1;
        if ((x = ynode_get(col, "quote")) && render(c, x, PL_RENDER, &quote) != 0)
            return -1;
        if ((x = ynode_get(col, "constraints")) && x->kind != YN_SCALAR &&
            ((t && t->rt == RT_MODEL && check_fk_to(c, x, t->name) != 0) || render(c, x, PL_RENDER, &constraints) != 0))
            return -1;
        const Value vals[PL_NCOLUMN_KEYS] = {
            name, desc.type == V_STR ? desc : v_strz(L->a, ""),
            meta ? (Value){.type = V_DICT, .u.d = meta} : v_dict(L->a),
            dtype, constraints, quote, (Value){.type = V_LIST, .u.l = tags},
        };
        Value cd = v_dict_cap(L->a, PL_NCOLUMN_KEYS);
        for (int k = 0; k < PL_NCOLUMN_KEYS; k++)
            dict_set(L->a, cd.u.d, L->column_keys[k], vals[k]);
        dict_set(L->a, cols, name, cd);
        int rc;
        const YNode *tn = tests_node(c, col, &rc);
        if (rc)
            return -1;
        if (tn && t) {
            const char *colname = name.u.s->s;
            if (quote.type == V_BOOL && quote.u.b)
                colname = arena_sprintf(L->a, "\"%s\"", colname);
            if (pl_queue_tests(L, c->f, tn, t, colname, tags) != 0)
                return -1;
        }
    }
    return 0;
}

static const char *const moved_keys[] = {"meta", "docs", "group", "access", "contract", NULL};

static int patch_node(PatchCtx *c, ResourceType rt, const YNode *entry, const YNode *ver, Node *n);
static int versioned_entry(PatchCtx *c, const YNode *entry, const char *name);

static int patch_entry(PatchCtx *c, ResourceType rt, const YNode *entry)
{
    Loader *L = c->L;
    const char *name;
    if (entry_name(c, entry, &name) != 0)
        return -1;
    const YNode *vers = rt == RT_MODEL ? ynode_get(entry, "versions") : NULL;
    if (vers && !(vers->kind == YN_SCALAR && vers->value.type == V_NONE))
        return versioned_entry(c, entry, name);
    Node *n = strmap_getz(&L->by_name[rt], name);
    if (!n && L->opt->nonly_models)
        return 0;                  /* delta mode: a model not loaded */
    if (!n) {
        pl_warn(L, "Did not find matching node for patch with name '%s' in the '%s' section of file '%s'",
                name, c->key, c->f->rel);
        return 0;
    }
    Patch *old = strmap_getz(&L->patched[rt], name);
    if (old)
        return pl_err(L, c->f, entry,
                      "dbt found two schema.yml entries for the same resource named %s. Resources and their "
                      "associated columns may only be described a single time. To fix this, remove one of the "
                      "resource entries for %s in this file:\n - %s", name, name, c->f->rel);
    Patch *pt = ARENA_NEW(&L->tree, Patch);
    pt->file = c->f;
    pt->entry = entry;
    pt->yaml_key = c->key;
    strmap_putz(&L->patched[rt], name, pt);
    return patch_node(c, rt, entry, NULL, n);
}

/* The properties of entry on n; ver: the entry's item in `versions:` for a
 * versioned model (its description, config, docs, access, constraints,
 * columns and tests over the model's), else NULL. */
static int patch_node(PatchCtx *c, ResourceType rt, const YNode *entry, const YNode *ver, Node *n)
{
    Loader *L = c->L;
    const char *pp = pl_cat(&L->tree, L->pkg->name, "://", c->f->rel, NULL);
    n->patch_path = pl_intern(L, pp, strlen(pp));
    if (opt_description(c, entry, &n->description) != 0)
        return -1;
    const char *vdesc = NULL;
    if (ver && opt_description(c, ver, &vdesc) != 0)
        return -1;
    if (vdesc && *vdesc)
        n->description = vdesc;
    VDict *cfg = NULL;
    if (opt_dict(c, entry, "config", PL_RENDER | PL_HOOKS_RAW, &cfg) != 0)
        return -1;
    const YNode *cfgn = ynode_get(entry, "config");
    Value raw = cfgn && cfgn->kind == YN_MAP ? ynode_to_value(L->a, cfgn) : v_dict(L->a);
    if (!cfg)
        cfg = v_dict(L->a).u.d;
    if (ver) {
        /* the version's config over the model's (dbt's deep_merge) */
        VDict *vcfg = NULL;
        if (opt_dict(c, ver, "config", PL_RENDER | PL_HOOKS_RAW, &vcfg) != 0)
            return -1;
        const YNode *vcn = ynode_get(ver, "config");
        if (vcfg) {
            VDict *m = v_dict(L->a).u.d;
            config_merge(L->a, m, cfg);
            config_merge(L->a, m, vcfg);
            cfg = m;
            Value vraw = ynode_to_value(L->a, vcn);
            VDict *mr = v_dict(L->a).u.d;
            VDictEntry *e;
            for (size_t it = 0; dict_next(raw.u.d, &it, &e);)
                dict_set(L->a, mr, e->key, e->val);
            for (size_t it = 0; dict_next(vraw.u.d, &it, &e);)
                dict_set(L->a, mr, e->key, e->val);
            raw.u.d = mr;
        }
    }
    /* top-level meta/docs/... move into config (error when both) */
    for (int i = 0; moved_keys[i]; i++) {
        const YNode *mk = ynode_get(entry, moved_keys[i]);
        const YNode *vk = ver && (!strcmp(moved_keys[i], "docs") || !strcmp(moved_keys[i], "access"))
                          ? ynode_get(ver, moved_keys[i]) : NULL;
        if (vk && !(vk->kind == YN_SCALAR && vk->value.type == V_NONE))
            mk = vk;             /* the version's docs / access */
        if (!mk)
            continue;
        if (dict_getz(cfg, moved_keys[i]))
            return pl_err(L, c->f, mk,
                          "In %s: found %s dictionary in 'config' dictionary and as top-level key. Remove the "
                          "top-level key and define it under 'config' dictionary only.", c->f->rel, moved_keys[i]);
        Value v;
        if (render(c, mk, PL_RENDER, &v) != 0)
            return -1;
        dict_setz(L->a, cfg, moved_keys[i], v);
        dict_setz(L->a, raw.u.d, moved_keys[i], ynode_to_value(L->a, mk));
    }
    VList *tags;
    if (opt_tags(c, entry, &tags) != 0)
        return -1;
    if (tags->len) {
        Value *ct = dict_getz(cfg, "tags");
        if (ct && ct->type == V_LIST)
            for (size_t i = 0; i < ct->u.l->len; i++)
                list_append(L->a, tags, ct->u.l->items[i]);
        else if (ct && ct->type == V_STR)
            list_append(L->a, tags, *ct);
        dict_setz(L->a, cfg, "tags", (Value){.type = V_LIST, .u.l = tags});
        dict_setz(L->a, raw.u.d, "tags", (Value){.type = V_LIST, .u.l = tags});
    }
    n->config = cfg;               /* the patch layer, folded in pl_apply_patches */
    n->unrendered_config = raw.u.d;

    TestTarget t = {0};
    t.rt = rt;
    t.name = n->name;
    t.node = n;
    t.version = n->version ? n->version->vtext : NULL;
    t.file_key_name = pl_cat(L->a, c->key, ".", n->name, NULL);
    n->columns = v_dict(L->a).u.d;
    ColFilter flt = {0}, *fp = NULL;
    const YNode *own = ver ? ynode_get(ver, "columns") : NULL;
    if (ver) {
        fp = &flt;
        flt.own = own;
        for (size_t i = 0; own && own->kind == YN_SEQ && i < own->n; i++) {
            const YNode *it = own->items[i];
            if (it->kind == YN_MAP && ynode_get(it, "include") && !ynode_get(it, "name")) {
                flt.include = ynode_get(it, "include");
                flt.exclude = ynode_get(it, "exclude");
                const char *inc = ynode_str(flt.include);
                if (flt.include->kind == YN_SCALAR && (!inc || (strcmp(inc, "all") && strcmp(inc, "*"))))
                    return pl_err(L, c->f, flt.include,
                                  "Invalid include value '%s': must be 'all', '*' or a list of column names",
                                  inc ? inc : "?");
            }
        }
    }
    if (read_columns(c, ynode_get(entry, "columns"), n->columns, &t, fp) != 0 ||
        (own && read_columns(c, own, n->columns, &t, NULL) != 0))
        return -1;
    const YNode *mcn = ver && ynode_get(ver, "constraints") ? ynode_get(ver, "constraints") : ynode_get(entry, "constraints");
    if (mcn && mcn->kind != YN_SCALAR) {
        Value mcv;
        if ((rt == RT_MODEL && check_fk_to(c, mcn, n->name) != 0) || render(c, mcn, PL_RENDER, &mcv) != 0)
            return -1;
        if (mcv.type == V_LIST)
            n->constraints = mcv.u.l;
    }
    int rc;
    const YNode *tn = tests_node(c, entry, &rc);
    if (rc)
        return -1;
    if (tn && pl_queue_tests(L, c->f, tn, &t, NULL, NULL) != 0)
        return -1;
    if (ver) {
        tn = tests_node(c, ver, &rc);
        if (rc)
            return -1;
        if (tn && pl_queue_tests(L, c->f, tn, &t, NULL, NULL) != 0)
            return -1;
    }
    return 0;
}

/* ---- model versions (dbt 1.5+) */

static const char *const kVersionKeys[] = {"v", "defined_in", "description", "docs", "access", "config",
                                           "constraints", "columns", "data_tests", "tests",
                                           "deprecation_date", NULL};

static bool numeric_value(Value v) { return v.type == V_INT || v.type == V_FLOAT; }

static double num_of(Value v) { return v.type == V_INT ? (double)v.u.i : v.u.f; }

/* dbt's ordering of version identifiers: numbers as numbers when all are,
 * else as strings. */
static int ver_cmp(Value a, const char *at, Value b, const char *bt, bool all_num)
{
    if (all_num) {
        double x = num_of(a), y = num_of(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    return strcmp(at, bt);
}

/* A model entry with `versions:`: each version is the model file
 * `defined_in` (default <name>_v<v>; the latest version may also be <name>
 * itself), renamed model.<pkg>.<name>.v<v> with fqn [..., name, v<v>], and
 * patched with the entry's properties and the version's over them. */
static int versioned_entry(PatchCtx *c, const YNode *entry, const char *name)
{
    Loader *L = c->L;
    Arena *a = L->a;
    const YNode *vers = ynode_get(entry, "versions");
    if (vers->kind != YN_SEQ)
        return shape_err(c, vers, arena_sprintf(a, "'versions' must be a list, got %s", pl_kind(vers)));
    size_t nv = vers->n;
    if (nv == 0)
        return shape_err(c, vers, "'versions' must not be empty");
    Value *vv = ARENA_ARRAY(a, Value, nv);
    const char **vt = ARENA_ARRAY(a, const char *, nv);
    bool all_num = true;
    for (size_t i = 0; i < nv; i++) {
        const YNode *it = vers->items[i];
        if (it->kind != YN_MAP)
            return shape_err(c, it, arena_sprintf(a, "a version must be a mapping, got %s", pl_kind(it)));
        if (only_keys(c, it, kVersionKeys) != 0)
            return -1;
        const YNode *v = ynode_get(it, "v");
        if (!v || v->kind != YN_SCALAR || v->value.type == V_NONE || v->value.type == V_BOOL)
            return shape_err(c, v ? v : it, "'v' is a required property of a version (a number or a string)");
        vv[i] = v->value;
        vt[i] = pl_fmt_value(a, v->value);
        all_num = all_num && numeric_value(v->value);
        for (size_t j = 0; j < i; j++)
            if (strcmp(vt[j], vt[i]) == 0)
                return pl_err(L, c->f, v, "Found duplicate version '%s' of model '%s'", vt[i], name);
    }
    /* latest_version: given, else the highest */
    size_t li = 0;
    const YNode *lv = ynode_get(entry, "latest_version");
    if (lv && !(lv->kind == YN_SCALAR && lv->value.type == V_NONE)) {
        const char *lt = lv->kind == YN_SCALAR ? pl_fmt_value(a, lv->value) : NULL;
        li = nv;
        for (size_t i = 0; lt && i < nv; i++)
            if (strcmp(vt[i], lt) == 0)
                li = i;
        if (li == nv) {
            Sb l = SB_INIT;
            for (size_t i = 0; i < nv; i++)
                sb_printf(&l, "%s%s", i ? ", " : "", vt[i]);
            int rc = pl_err(L, c->f, lv, "latest_version: %s is not one of model '%s' versions: [%s]", lt ? lt : "?",
                            name, sb_cstr(&l));
            sb_free(&l);
            return rc;
        }
    } else {
        for (size_t i = 1; i < nv; i++)
            if (ver_cmp(vv[i], vt[i], vv[li], vt[li], all_num) > 0)
                li = i;
    }
    for (size_t i = 0; i < nv; i++) {
        const YNode *it = vers->items[i];
        const YNode *di = ynode_get(it, "defined_in");
        const char *stem = di && di->kind == YN_SCALAR && di->value.type != V_NONE
                           ? pl_fmt_value(a, di->value) : pl_cat(a, name, "_v", vt[i], NULL);
        Node *n = strmap_getz(&L->by_name[RT_MODEL], stem);
        if (!n && i == li)
            n = strmap_getz(&L->by_name[RT_MODEL], name);
        if (!n && L->opt->nonly_models)
            continue;
        if (!n) {
            pl_warn(L, "Did not find matching node for patch with name '%s' in the '%s' section of file '%s'",
                    stem, c->key, c->f->rel);
            continue;
        }
        if (n->version)
            return pl_err(L, c->f, it, "Model file '%s' defines two versions of model '%s'", n->original_file_path, name);
        if (strmap_getz(&L->patched[RT_MODEL], n->name))
            return pl_err(L, c->f, it,
                          "dbt found two schema.yml entries for the same resource named %s. Resources and their "
                          "associated columns may only be described a single time. To fix this, remove one of the "
                          "resource entries for %s in this file:\n - %s", n->name, n->name, c->f->rel);
        Patch *pt = ARENA_NEW(&L->tree, Patch);
        pt->file = c->f;
        pt->entry = entry;
        pt->yaml_key = c->key;
        strmap_putz(&L->patched[RT_MODEL], n->name, pt);
        ModelVersion *mv = ARENA_NEW(a, ModelVersion);
        mv->v = vv[i];
        mv->vtext = vt[i];
        mv->latest = vv[li];
        mv->latest_text = vt[li];
        n->version = mv;
        n->name = name;
        n->unique_id = pl_cat(a, "model.", L->pkg->name, ".", name, ".v", vt[i], NULL);
        const char **fqn = ARENA_ARRAY(a, const char *, n->nfqn + 2);
        memcpy(fqn, n->fqn, sizeof *fqn * (size_t)n->nfqn);
        fqn[n->nfqn - 1] = name;
        fqn[n->nfqn] = pl_cat(a, "v", vt[i], NULL);
        n->fqn = fqn;
        n->nfqn++;
        if (patch_node(c, RT_MODEL, entry, it, n) != 0)
            return -1;
    }
    return 0;
}

/* ---- sources */

static Value get_rendered(PatchCtx *c, const YNode *m, const char *key, int *rc, bool *present)
{
    const YNode *n = ynode_get(m, key);
    Value v = v_none();
    *present = n != NULL;
    if (n && render(c, n, PL_RENDER, &v) != 0)
        *rc = -1;
    return v;
}

static bool quote_on(VDict *q, const char *part)
{
    Value *v = q ? dict_getz(q, part) : NULL;
    return !v || v->type == V_NONE || value_truthy(*v);
}

static void add_part(Sb *sb, const char *s, bool quote)
{
    if (!s)
        return;
    if (sb->len)
        sb_putc(sb, '.');
    if (quote) {
        sb_putc(sb, '"');
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                sb_putc(sb, '"');
            sb_putc(sb, *p);
        }
        sb_putc(sb, '"');
    } else {
        sb_puts(sb, s);
    }
}

static VDict *merged_dict(Arena *a, VDict *base, Value over)
{
    VDict *d = v_dict(a).u.d;
    VDictEntry *e;
    if (base)
        for (size_t it = 0; dict_next(base, &it, &e);)
            dict_set(a, d, e->key, e->val);
    if (over.type == V_DICT)
        for (size_t it = 0; dict_next(over.u.d, &it, &e);)
            dict_set(a, d, e->key, e->val);
    return d;
}

static VDict *default_freshness(Arena *a)
{
    VDict *f = v_dict(a).u.d;
    static const char *const keys[] = {"warn_after", "error_after"};
    for (int i = 0; i < 2; i++) {
        Value t = v_dict(a);
        dict_setz(a, t.u.d, "count", v_none());
        dict_setz(a, t.u.d, "period", v_none());
        dict_setz(a, f, keys[i], t);
    }
    dict_setz(a, f, "filter", v_none());
    return f;
}

static int source_entry(PatchCtx *c, const YNode *src)
{
    Loader *L = c->L;
    Arena *a = L->a;
    Project *p = L->p;
    const char *sname;
    if (entry_name(c, src, &sname) != 0)
        return -1;
    int rc = 0;
    bool has;
    const char *sdesc = "";
    if (opt_description(c, src, &sdesc) != 0)
        return -1;
    Value database = get_rendered(c, src, "database", &rc, &has);
    Value schema = get_rendered(c, src, "schema", &rc, &has);
    Value loader = get_rendered(c, src, "loader", &rc, &has);
    Value s_laf = get_rendered(c, src, "loaded_at_field", &rc, &has);
    Value s_fresh = get_rendered(c, src, "freshness", &rc, &has);
    Value s_quoting = get_rendered(c, src, "quoting", &rc, &has);
    if (rc)
        return -1;
    VDict *s_meta = NULL, *s_cfg = NULL;
    VList *s_tags;
    if (opt_dict(c, src, "meta", PL_RENDER, &s_meta) != 0 || opt_dict(c, src, "config", PL_RENDER, &s_cfg) != 0 ||
        opt_tags(c, src, &s_tags) != 0)
        return -1;
    const YNode *sc = ynode_get(src, "config");
    Value s_cfg_raw = sc && sc->kind == YN_MAP ? ynode_to_value(a, sc) : v_dict(a);
    const YNode *tables = ynode_get(src, "tables");
    if (tables && tables->kind == YN_SCALAR && tables->value.type == V_NONE)
        tables = NULL;
    if (tables && tables->kind != YN_SEQ)
        return shape_err(c, tables, arena_sprintf(a, "'tables' must be a list, got %s", pl_kind(tables)));
    const char *db = database.type == V_NONE ? NULL : pl_fmt_value(a, database);
    if (!db) {
        Value *td = p->target ? dict_getz(p->target, "database") : NULL;
        db = td && td->type != V_NONE ? pl_fmt_value(a, *td) : NULL;
    }
    const char *sch = schema.type == V_NONE ? sname : pl_fmt_value(a, schema);

    /* fqn prefix: [pkg, dirs of the yml relative to its search path...] */
    int nprefix;
    const char **prefix = pl_fqn(L, c->f->rel_in_search, "", &nprefix);
    nprefix--;   /* drop the "" name slot */

    for (size_t i = 0; tables && i < tables->n; i++) {
        const YNode *tb = tables->items[i];
        const char *tname;
        if (entry_name(c, tb, &tname) != 0)
            return -1;
        Node *n = pl_new_node(L, RT_SOURCE);
        n->name = tname;
        n->source_name = sname;
        n->source_description = sdesc;
        n->unique_id = arena_sprintf(a, "source.%s.%s.%s", L->pkg->name, sname, tname);
        n->original_file_path = c->f->rel;
        n->path = c->f->rel;
        n->yml_path = c->f->rel;
        n->fqn = ARENA_ARRAY(a, const char *, nprefix + 2);
        memcpy(n->fqn, prefix, (size_t)nprefix * sizeof *prefix);
        n->fqn[nprefix] = sname;
        n->fqn[nprefix + 1] = tname;
        n->nfqn = nprefix + 2;
        n->raw_code = "";
        n->checksum = "";
        srcfile_init(&n->src, c->f->rel, "", 0);
        if (opt_description(c, tb, &n->description) != 0)
            return -1;
        Value ident = get_rendered(c, tb, "identifier", &rc, &has);
        n->identifier = ident.type == V_NONE ? tname : pl_fmt_value(a, ident);
        n->loader = loader.type == V_NONE ? "" : pl_fmt_value(a, loader);
        Value t_laf = get_rendered(c, tb, "loaded_at_field", &rc, &has);
        Value laf = has ? t_laf : s_laf;
        n->loaded_at_field = laf.type == V_NONE ? NULL : pl_fmt_value(a, laf);
        Value t_fresh = get_rendered(c, tb, "freshness", &rc, &has);
        if (has && t_fresh.type == V_NONE)
            n->freshness = NULL;            /* explicitly disabled */
        else if (has || s_fresh.type == V_DICT)
            n->freshness = merged_dict(a, merged_dict(a, default_freshness(a), s_fresh), t_fresh);
        else
            n->freshness = default_freshness(a);
        Value t_quoting = get_rendered(c, tb, "quoting", &rc, &has);
        Value ext = get_rendered(c, tb, "external", &rc, &has);
        if (rc)
            return -1;
        VDict *q = v_dict(a).u.d;
        dict_setz(a, q, "database", v_none());
        dict_setz(a, q, "schema", v_none());
        dict_setz(a, q, "identifier", v_none());
        dict_setz(a, q, "column", v_none());
        n->quoting = merged_dict(a, merged_dict(a, q, s_quoting), t_quoting);
        n->external = ext.type == V_DICT ? ext.u.d : NULL;
        VDict *t_meta = NULL, *t_cfg = NULL;
        VList *t_tags;
        if (opt_dict(c, tb, "meta", PL_RENDER, &t_meta) != 0 || opt_dict(c, tb, "config", PL_RENDER, &t_cfg) != 0 ||
            opt_tags(c, tb, &t_tags) != 0)
            return -1;
        n->meta = t_meta ? t_meta : v_dict(a).u.d;
        n->source_meta = s_meta ? s_meta : v_dict(a).u.d;
        /* tags: sorted union of source and table tags */
        VList *tags = v_list(a, s_tags->len + t_tags->len).u.l;
        VList *both[2] = {s_tags, t_tags};
        for (int b = 0; b < 2; b++)
            for (size_t k = 0; k < both[b]->len; k++) {
                Value tv = both[b]->items[k];
                size_t pos = 0;
                bool dup = false;
                for (; pos < tags->len; pos++) {
                    int cmp = strcmp(value_cstr(tags->items[pos]), value_cstr(tv));
                    if (cmp == 0) { dup = true; break; }
                    if (cmp > 0) break;
                }
                if (!dup)
                    list_insert(a, tags, pos, tv);
            }
        n->tags = tags;
        VList *extra = v_list(a, s_tags->len + t_tags->len).u.l;
        for (int b = 0; b < 2; b++)
            for (size_t k = 0; k < both[b]->len; k++)
                list_append(a, extra, both[b]->items[k]);
        /* relation */
        n->database = db;
        n->schema = sch;
        Sb rel = SB_INIT;
        add_part(&rel, db, quote_on(n->quoting, "database"));
        add_part(&rel, sch, quote_on(n->quoting, "schema"));
        add_part(&rel, n->identifier, quote_on(n->quoting, "identifier"));
        n->relation_name = arena_strndup(a, sb_cstr(&rel), rel.len);
        sb_free(&rel);
        /* patch layer: source config then table config */
        VDict *cfg = v_dict(a).u.d, *raw = v_dict(a).u.d;
        if (s_cfg)
            config_merge(a, cfg, s_cfg);
        if (t_cfg)
            config_merge(a, cfg, t_cfg);
        config_merge(a, raw, s_cfg_raw.u.d);
        const YNode *tc = ynode_get(tb, "config");
        if (tc && tc->kind == YN_MAP)
            config_merge(a, raw, ynode_to_value(a, tc).u.d);
        n->config = cfg;
        n->unrendered_config = raw;
        n->columns = v_dict(a).u.d;
        vec_push(&L->pending, n);

        TestTarget t = {0};
        t.rt = RT_SOURCE;
        t.name = tname;
        t.source_name = sname;
        t.node = n;
        t.file_key_name = arena_sprintf(a, "sources.%s", sname);
        t.extra_tags = extra;
        if (read_columns(c, ynode_get(tb, "columns"), n->columns, &t, NULL) != 0)
            return -1;
        int trc;
        const YNode *tn = tests_node(c, tb, &trc);
        if (trc)
            return -1;
        if (tn && pl_queue_tests(L, c->f, tn, &t, NULL, NULL) != 0)
            return -1;
    }
    return 0;
}

/* ---- macros */

static int macro_entry(PatchCtx *c, const YNode *entry)
{
    Loader *L = c->L;
    const char *name;
    if (entry_name(c, entry, &name) != 0)
        return -1;
    MacroDef *m = strmap_getz(L->pkg->macro_by_name, name);
    if (!m) {
        pl_warn(L, "Found patch for macro \"%s\" which was not found", name);
        return 0;
    }
    if (opt_description(c, entry, &m->description) != 0)
        return -1;
    VDict *meta = NULL;
    if (opt_dict(c, entry, "meta", PL_RENDER, &meta) != 0)
        return -1;
    if (meta)
        m->meta = meta;
    const YNode *args = ynode_get(entry, "arguments");
    if (args && !(args->kind == YN_SCALAR && args->value.type == V_NONE)) {
        if (args->kind != YN_SEQ)
            return shape_err(c, args, arena_sprintf(L->a, "'arguments' must be a list, got %s", pl_kind(args)));
        VList *l = v_list(L->a, args->n).u.l;
        for (size_t i = 0; i < args->n; i++) {
            const char *an;
            if (entry_name(c, args->items[i], &an) != 0)
                return -1;
            const char *ad = "";
            if (opt_description(c, args->items[i], &ad) != 0)
                return -1;
            const YNode *ty = ynode_get(args->items[i], "type");
            Value d = v_dict(L->a);
            dict_setz(L->a, d.u.d, "name", v_strz(L->a, an));
            dict_setz(L->a, d.u.d, "type", ty && ty->value.type != V_NONE ? v_strz(L->a, pl_fmt_value(L->a, ty->value)) : v_none());
            dict_setz(L->a, d.u.d, "description", v_strz(L->a, ad));
            list_append(L->a, l, d);
        }
        m->arguments = l;
    }
    return 0;
}

/* ---- snapshots defined in YAML (dbt 1.9)
 *
 *   snapshots:
 *     - name: orders_snapshot
 *       relation: source('shop', 'orders')     # or ref('model')
 *       config: {unique_key: id, strategy: timestamp, updated_at: updated_at}
 *
 * A snapshot node whose code is `select * from {{ <relation> }}`, defined
 * by the properties file (its path and fqn are the file's, under the
 * snapshot or model path that holds it); the entry then patches it like a
 * SQL-defined snapshot's. */
static int yaml_snapshot(PatchCtx *c, const YNode *entry)
{
    Loader *L = c->L;
    const YNode *rel = entry->kind == YN_MAP ? ynode_get(entry, "relation") : NULL;
    if (!rel)
        return 0;
    const char *name;
    if (entry_name(c, entry, &name) != 0)
        return -1;
    if (rel->kind != YN_SCALAR || rel->value.type != V_STR)
        return shape_err(c, rel, "'relation' must be a string such as \"ref('model')\" or \"source('src', 'table')\"");
    const char *r = rel->value.u.s->s;
    while (*r == ' ')
        r++;
    if (strncmp(r, "ref(", 4) != 0 && strncmp(r, "source(", 7) != 0)
        return shape_err(c, rel, "'relation' must be a ref() or a source() call");
    Node *old = strmap_getz(&L->by_name[RT_SNAPSHOT], name);
    if (old)
        return pl_err(L, c->f, entry, "dbt found two snapshots with the name \"%s\": %s and %s", name,
                      old->original_file_path, c->f->rel);
    Node *n = pl_new_node(L, RT_SNAPSHOT);
    n->name = name;
    n->original_file_path = c->f->rel;
    n->abs_path = arena_sprintf(L->a, "%s/%s", L->pkg->root, c->f->rel);
    /* the file's place under the snapshot (or model) path that holds it */
    const char *in = c->f->rel;
    const char **roots[] = {L->pkg->snapshot_paths, L->pkg->model_paths};
    for (int k = 0; k < 2 && in == c->f->rel; k++)
        for (int i = 0; roots[k] && roots[k][i]; i++) {
            size_t rl = strlen(roots[k][i]);
            if (!strncmp(c->f->rel, roots[k][i], rl) && c->f->rel[rl] == '/') {
                in = c->f->rel + rl + 1;
                break;
            }
        }
    n->path = in;
    int nf;
    n->fqn = pl_fqn(L, in, name, &nf);
    n->nfqn = nf;
    n->unique_id = arena_sprintf(L->a, "snapshot.%s.%s", L->pkg->name, name);
    n->raw_code = arena_sprintf(L->a, "select * from {{ %s }}", r);
    n->raw_len = strlen(n->raw_code);
    srcfile_init(&n->src, c->f->rel, n->raw_code, n->raw_len);
    char hex[65];
    sha256_hex(n->raw_code, n->raw_len, hex);
    n->checksum = arena_strdup(L->a, hex);
    pl_register_node(L, n);
    return 0;
}

/* ---- unit tests (dbt 1.8+): `unit_tests:` entries
 *
 * Each entry becomes a node of type unit_test (unique_id
 * unit_test.<pkg>.<model>.<name>) depending on the tested model.  Fixture
 * rows are normalised here as dbt's parser does: dict rows kept as written,
 * csv rows (inline or a file under <test-path>/fixtures/) read into dicts of
 * strings with an empty field None, sql kept as text; a seed input without
 * rows reads the seed's CSV; the first row without a None is moved to the
 * front.  Rows are not rendered (dbt does not render them either). */

static UtLoc ut_loc(PatchCtx *c, const YNode *n)
{
    UtLoc l = {c->f->rel, n->line, n->col, pl_line_text(c->L, c->f, n->offset)};
    return l;
}

/* Python csv.DictReader over text: header from the first non-blank record,
 * one dict per later non-blank record (missing fields None, extra ones
 * dropped); empty_none: "" becomes None (dbt does that for csv fixtures). */
static Value csv_dicts(Arena *a, const char *s, size_t n, bool empty_none)
{
    Value out = v_list(a, 0);
    VList *header = NULL;
    size_t i = 0;
    Sb f = SB_INIT;
    while (i < n) {
        VList *rec = v_list(a, 0).u.l;
        bool any = false;
        for (;;) {                                   /* one field */
            sb_reset(&f);
            bool quoted = false;
            if (i < n && s[i] == '"') {
                quoted = true;
                i++;
                while (i < n) {
                    if (s[i] == '"') {
                        if (i + 1 < n && s[i + 1] == '"') {
                            sb_putc(&f, '"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    sb_putc(&f, s[i++]);
                }
            }
            while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
                sb_putc(&f, s[i++]);
            if (f.len || quoted || (i < n && s[i] == ','))
                any = true;
            list_append(a, rec, v_str(a, f.buf ? f.buf : "", f.len));
            if (i < n && s[i] == ',') {
                i++;
                continue;
            }
            if (i < n && s[i] == '\r')
                i++;
            if (i < n && s[i] == '\n')
                i++;
            break;
        }
        if (!any)
            continue;                                /* a blank line */
        if (!header) {
            header = rec;
            continue;
        }
        Value d = v_dict(a);
        for (size_t k = 0; k < header->len; k++) {
            Value v = k < rec->len ? rec->items[k] : v_none();
            if (empty_none && v.type == V_STR && v.u.s->len == 0)
                v = v_none();
            dict_set(a, d.u.d, header->items[k], v);
        }
        list_append(a, out.u.l, d);
    }
    sb_free(&f);
    return out;
}

/* dbt's _promote_first_non_none_row */
static void promote_full_row(Value rows)
{
    if (rows.type != V_LIST)
        return;
    for (size_t i = 0; i < rows.u.l->len; i++) {
        Value r = rows.u.l->items[i];
        if (r.type != V_DICT)
            return;
        bool full = true;
        VDictEntry *e;
        for (size_t it = 0; full && dict_next(r.u.d, &it, &e);)
            full = e->val.type != V_NONE;
        if (full) {
            rows.u.l->items[i] = rows.u.l->items[0];
            rows.u.l->items[0] = r;
            return;
        }
    }
}

typedef struct FixtureFind { const char *name; const char *found; Arena *a; } FixtureFind;

static int fixture_cb(void *ud, const char *rel)
{
    FixtureFind *ff = ud;
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    const char *dot = strrchr(base, '.');
    size_t bl = dot ? (size_t)(dot - base) : strlen(base);
    if (strlen(ff->name) == bl && memcmp(base, ff->name, bl) == 0) {
        ff->found = arena_strdup(ff->a, rel);
        return 1;
    }
    return 0;
}

/* The text of fixture `name` (<name>.csv or .sql anywhere under <test-path>/fixtures,
 * as fmt asks), or NULL with the error set at node n. */
static const char *read_fixture(PatchCtx *c, const YNode *n, const char *name, UtFormat fmt, size_t *len)
{
    Loader *L = c->L;
    Project *p = L->p;
    const char *suffix[] = {fmt == UT_SQL ? ".sql" : ".csv", NULL};
    for (int i = 0; p->test_paths && p->test_paths[i]; i++) {
        const char *dir = pl_cat(L->a, p->root, "/", p->test_paths[i], "/fixtures", NULL);
        FixtureFind ff = {name, NULL, L->a};
        if (!fs_is_dir(dir)) {
            journal_path(dir);
            continue;
        }
        fs_walk(dir, suffix, fixture_cb, &ff);
        if (!ff.found)
            continue;
        const char *rel = pl_cat(L->a, p->test_paths[i], "/fixtures/", ff.found, NULL);
        char *text;
        if (pl_read_utf8(L, pl_cat(L->a, dir, "/", ff.found, NULL), rel, &text, len) != 0)
            return NULL;
        return text;
    }
    pl_err(L, c->f, n, "File not found for fixture '%s' in unit tests in %s", name, c->f->rel);
    return NULL;
}

/* 'x' or "x" at *s (spaces skipped before): the text, or NULL. */
static const char *ut_quoted(Arena *a, const char **s)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\'' && *p != '"')
        return NULL;
    char q = *p++;
    const char *b = p;
    while (*p && *p != q)
        p++;
    if (!*p)
        return NULL;
    *s = p + 1;
    return arena_strndup(a, b, (size_t)(p - b));
}

/* Parse an input: this, ref('m'), ref('pkg', 'm'), ref('m', v=1),
 * source('s', 't').  0, or -1 when it is none of those. */
static int ut_parse_input(Arena *a, const char *in, UtFixture *fx)
{
    size_t st, en;
    pl_strip(in, strlen(in), &st, &en);
    const char *s = arena_strndup(a, in + st, en - st);
    if (!strcmp(s, "this")) {
        fx->kind = UT_THIS;
        return 0;
    }
    bool is_ref = !strncmp(s, "ref", 3), is_src = !strncmp(s, "source", 6);
    if (!is_ref && !is_src)
        return -1;
    const char *p = s + (is_ref ? 3 : 6);
    while (*p == ' ')
        p++;
    if (*p++ != '(')
        return -1;
    const char *args[2] = {NULL, NULL};
    int na = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ')')
            break;
        if (na > 0) {
            if (*p++ != ',')
                return -1;
            while (*p == ' ' || *p == '\t')
                p++;
        }
        const char *q = ut_quoted(a, &p);
        if (q) {
            if (na == 2)
                return -1;
            args[na++] = q;
            continue;
        }
        /* a keyword (version=, v=): skipped with its value */
        if (!is_ref || (strncmp(p, "v", 1) != 0))
            return -1;
        while (*p && *p != ',' && *p != ')')
            p++;
        if (!*p)
            return -1;
    }
    while (*++p == ' ')
        ;
    if (*p || na == 0)
        return -1;
    if (is_ref) {
        fx->kind = UT_REF;
        fx->ref.name = na == 2 ? args[1] : args[0];
        fx->ref.package = na == 2 ? args[0] : NULL;
    } else {
        if (na != 2)
            return -1;
        fx->kind = UT_SOURCE;
        fx->src.source = args[0];
        fx->src.table = args[1];
    }
    return 0;
}

/* A unit test's or an exposure's `config:` (rendered) merged into cfg, a
 * string `tags` as a one-item list; *unrendered: the mapping as written. */
/* n's config: the defaults of its resource type, the dbt_project.yml tree
 * of its kind (`unit_tests:`, `exposures:`) along its fqn, then the entry's
 * `config:` (unrendered_config: the tree's and the entry's as written). */
static int entry_config(PatchCtx *c, const YNode *entry, Node *n)
{
    Arena *a = c->L->a;
    VDict *ucfg = NULL;
    if (opt_dict(c, entry, "config", PL_RENDER, &ucfg) != 0)
        return -1;
    if (ucfg) {
        Value *t = dict_getz(ucfg, "tags");
        if (t && t->type == V_STR) {          /* tags: a string is a one-item list */
            Value l = v_list(a, 1);
            list_append(a, l.u.l, *t);
            dict_setz(a, ucfg, "tags", l);
        }
    }
    const YNode *cn = ynode_get(entry, "config");
    pl_config_fold(c->L, n, ucfg, cn && cn->kind == YN_MAP ? ynode_to_value(a, cn).u.d : NULL);
    return 0;
}

static int ut_err(PatchCtx *c, const YNode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ut_err(PatchCtx *c, const YNode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Sb sb = SB_INIT;
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    int rc = pl_err(c->L, c->f, n, "%s", sb_cstr(&sb));
    sb_free(&sb);
    return rc;
}

/* given[i] (input set) or expect: format, rows / fixture -> fx. */
static int ut_fixture(PatchCtx *c, const YNode *m, const char *test, bool input, UtFixture *fx)
{
    Loader *L = c->L;
    Arena *a = L->a;
    const char *what = input ? "input" : "expected";
    for (size_t i = 0; i < m->n; i++) {
        const char *k = ynode_str(m->keys[i]);
        if (!k || !(!strcmp(k, "rows") || !strcmp(k, "format") || !strcmp(k, "fixture") || (input && !strcmp(k, "input"))))
            return ut_err(c, m->keys[i], "Invalid unit_tests config given in %s @ unit_tests: Additional properties are not allowed ('%s' was unexpected)",
                          c->f->rel, k ? k : ynode_kind_name(m->keys[i]));
    }
    const YNode *fm = ynode_get(m, "format");
    fx->format = UT_DICT;
    if (fm && !(fm->kind == YN_SCALAR && fm->value.type == V_NONE)) {
        const char *f = ynode_str(fm);
        if (f && !strcmp(f, "csv"))
            fx->format = UT_CSV;
        else if (f && !strcmp(f, "sql"))
            fx->format = UT_SQL;
        else if (!f || strcmp(f, "dict") != 0)
            return ut_err(c, fm, "Invalid unit_tests config given in %s @ unit_tests: '%s' is not one of ['csv', 'dict', 'sql']",
                          c->f->rel, f ? f : pl_fmt_value(a, ynode_to_value(a, fm)));
    }
    const YNode *rows = ynode_get(m, "rows"), *fix = ynode_get(m, "fixture");
    if (rows && rows->kind == YN_SCALAR && rows->value.type == V_NONE)
        rows = NULL;
    if (fix && fix->kind == YN_SCALAR && fix->value.type == V_NONE)
        fix = NULL;
    if (fix) {
        const char *fname = ynode_str(fix);
        if (!fname)
            return ut_err(c, fix, "Invalid unit_tests config given in %s @ unit_tests: 'fixture' must be a string, got %s",
                          c->f->rel, ynode_kind_name(fix));
        fx->fixture = fname;
    }
    const char *fname[] = {"dict", "csv", "sql"};
    switch (fx->format) {
    case UT_DICT:
        if (!rows && !fx->fixture && input && fx->kind == UT_REF) {
            /* a seed given without rows: its CSV file */
            Node *seed = strmap_getz(&L->by_name[RT_SEED], fx->ref.name);
            if (!seed) {
                Sb sp = SB_INIT;
                for (int i = 0; L->p->seed_paths && L->p->seed_paths[i]; i++)
                    sb_printf(&sp, "%s'%s'", i ? ", " : "", L->p->seed_paths[i]);
                int rc = ut_err(c, m, "Unable to find seed '%s.%s' for unit tests in directories: [%s]",
                                fx->ref.package ? fx->ref.package : L->p->name, fx->ref.name, sb_cstr(&sp));
                sb_free(&sp);
                return rc;
            }
            char *text;
            size_t len;
            if (pl_read_utf8(L, pl_cat(a, L->p->root, "/", seed->original_file_path, NULL), seed->original_file_path,
                             &text, &len) != 0)
                return -1;
            fx->rows = csv_dicts(a, text, len, false);
            break;
        }
        if (!rows || rows->kind != YN_SEQ)
            return ut_err(c, rows ? rows : m, "Unit test %s has %s rows which do not match format dict", test, what);
        fx->rows = ynode_to_value(a, rows);
        for (size_t i = 0; i < fx->rows.u.l->len; i++)
            if (fx->rows.u.l->items[i].type != V_DICT)
                return ut_err(c, rows->items[i], "Unit test %s has %s rows which do not match format dict: each row must be a mapping, got %s",
                              test, what, ynode_kind_name(rows->items[i]));
        break;
    case UT_CSV:
    case UT_SQL: {
        const char *text = NULL;
        size_t len = 0;
        if (fx->fixture) {
            if (!(text = read_fixture(c, fix, fx->fixture, fx->format, &len)))
                return -1;
        } else if (rows && pl_is_str(rows)) {
            text = rows->value.u.s->s;
            len = rows->value.u.s->len;
        } else {
            return ut_err(c, rows ? rows : m, "Unit test %s has %s rows or fixtures which do not match format %s.  Expected string.",
                          test, what, fname[fx->format]);
        }
        fx->rows = fx->format == UT_CSV ? csv_dicts(a, text, len, true) : v_str(a, text, len);
        break;
    }
    }
    if (fx->format != UT_SQL)
        promote_full_row(fx->rows);
    return 0;
}

static int unit_entry(PatchCtx *c, const YNode *entry)
{
    Loader *L = c->L;
    Arena *a = L->a;
    Project *p = L->p;
    const char *name;
    if (entry_name(c, entry, &name) != 0)
        return -1;
    static const char *const keys[] = {"name", "model", "given", "expect", "description", "overrides",
                                       "config", "versions", NULL};
    if (only_keys(c, entry, keys) != 0)
        return -1;
    const YNode *mn = ynode_get(entry, "model");
    if (!mn || mn->kind != YN_SCALAR || mn->value.type == V_NONE)
        return shape_err(c, mn ? mn : entry, "'model' is a required property");
    const YNode *vn = ynode_get(entry, "versions");
    if (vn && !(vn->kind == YN_SCALAR && vn->value.type == V_NONE))
        return ut_err(c, vn, "Unit test '%s': 'versions' is not supported by cdbt yet", name);
    const char *model = pl_fmt_value(a, mn->value);
    UnitTest *ut = ARENA_NEW(a, UnitTest);
    ut->model = model;
    ut->model_loc = ut_loc(c, mn);
    ut->name_loc = ut_loc(c, ynode_get(entry, "name"));
    if (!strmap_getz(&L->by_name[RT_MODEL], model))
        return ut_err(c, mn, "Unable to find model '%s.%s' for unit test '%s' in %s", p->name, model, name, c->f->rel);
    const YNode *gn = ynode_get(entry, "given");
    if (!gn || gn->kind != YN_SEQ)
        return shape_err(c, gn ? gn : entry, gn ? arena_sprintf(a, "'given' must be a list, got %s", pl_kind(gn))
                                               : "'given' is a required property");
    const YNode *en = ynode_get(entry, "expect");
    if (!en || en->kind != YN_MAP)
        return shape_err(c, en ? en : entry, en ? arena_sprintf(a, "'expect' must be a mapping, got %s", pl_kind(en))
                                               : "'expect' is a required property");
    ut->ngiven = (int)gn->n;
    ut->given = ARENA_ARRAY(a, UtFixture, gn->n + 1);
    for (size_t i = 0; i < gn->n; i++) {
        const YNode *g = gn->items[i];
        UtFixture *fx = &ut->given[i];
        if (g->kind != YN_MAP)
            return shape_err(c, g, arena_sprintf(a, "each 'given' entry must be a mapping, got %s", pl_kind(g)));
        const YNode *in = ynode_get(g, "input");
        if (!in || !pl_is_str(in))
            return shape_err(c, in ? in : g, "'input' is a required property");
        fx->input = in->value.u.s->s;
        fx->loc = ut_loc(c, in);
        if (ut_parse_input(a, fx->input, fx) != 0)
            return ut_err(c, in, "Unit test given inputs must be either a 'ref', 'source' or 'this' call. Got: '%s'.",
                          fx->input);
        if (ut_fixture(c, g, name, true, fx) != 0)
            return -1;
    }
    ut->expect.loc = ut_loc(c, en);
    if (ut_fixture(c, en, name, false, &ut->expect) != 0)
        return -1;
    const YNode *on = ynode_get(entry, "overrides");
    if (on && !(on->kind == YN_SCALAR && on->value.type == V_NONE)) {
        if (on->kind != YN_MAP)
            return shape_err(c, on, arena_sprintf(a, "'overrides' must be a mapping, got %s", pl_kind(on)));
        VDict *o = v_dict(a).u.d;
        static const char *const okeys[] = {"macros", "vars", "env_vars", NULL};
        if (only_keys(c, on, okeys) != 0)
            return -1;
        for (int k = 0; k < 3; k++) {
            const YNode *x = ynode_get(on, okeys[k]);
            Value v = v_dict(a);
            if (x && !(x->kind == YN_SCALAR && x->value.type == V_NONE)) {
                if (x->kind != YN_MAP)
                    return shape_err(c, x, arena_sprintf(a, "'overrides.%s' must be a mapping, got %s", okeys[k], pl_kind(x)));
                v = ynode_to_value(a, x);
            }
            dict_setz(a, o, okeys[k], v);
        }
        ut->overrides = o;
    }

    Node *n = pl_new_node(L, RT_UNIT_TEST);
    n->name = name;
    n->unique_id = pl_cat(a, "unit_test.", p->name, ".", model, ".", name, NULL);
    n->path = c->f->rel_in_search;
    n->original_file_path = c->f->rel;
    n->yml_path = c->f->rel;
    int nf;
    const char **fqn = pl_fqn(L, c->f->rel_in_search, model, &nf);
    n->fqn = ARENA_ARRAY(a, const char *, nf + 1);
    memcpy(n->fqn, fqn, sizeof *fqn * (size_t)nf);
    n->fqn[nf] = name;
    n->nfqn = nf + 1;
    n->raw_code = "";
    n->checksum = "";
    srcfile_init(&n->src, c->f->rel, "", 0);
    n->description = "";
    if (opt_description(c, entry, &n->description) != 0)
        return -1;
    if (entry_config(c, entry, n) != 0)
        return -1;
    VDict *cfg = n->config;
    Value *tv = dict_getz(cfg, "tags"), *mv = dict_getz(cfg, "meta");
    n->tags = tv && tv->type == V_LIST ? tv->u.l : v_list(a, 0).u.l;
    n->meta = mv && mv->type == V_DICT ? mv->u.d : v_dict(a).u.d;
    n->columns = v_dict(a).u.d;
    n->refs = ARENA_NEW(a, NodeRef);
    n->refs[0].name = model;
    n->nrefs = 1;
    /* checksum: the definition as written (dbt hashes its Python reprs; not the same text) */
    Sb ck = SB_INIT;
    sb_puts(&ck, model);
    for (int i = 0; i < ut->ngiven; i++) {
        sb_printf(&ck, "-%s-%d-%s-", ut->given[i].input, (int)ut->given[i].format,
                  ut->given[i].fixture ? ut->given[i].fixture : "");
        value_repr(&ck, ut->given[i].rows);
    }
    sb_printf(&ck, "-%d-", (int)ut->expect.format);
    value_repr(&ck, ut->expect.rows);
    if (ut->overrides) {
        Value ov = {.type = V_DICT};
        ov.u.d = ut->overrides;
        value_repr(&ck, ov);
    }
    char hex[65];
    sha256_hex(ck.buf ? ck.buf : "", ck.len, hex);
    sb_free(&ck);
    ut->checksum = arena_strdup(a, hex);
    n->unit = ut;
    vec_push(&L->units, n);
    return 0;
}

int pl_add_unit_tests(Loader *L)
{
    for (size_t i = 0; i < L->units.len; i++)
        if (pl_add_node(L, L->units.items[i]) != 0)
            return -1;
    return 0;
}

/* ---- exposures: `exposures:` entries
 *
 * Each enabled entry becomes an exposure node (exposure.<pkg>.<name>, fqn
 * [pkg, directories of the file under its search path, name]) whose refs and
 * sources are the depends_on calls; src/dbt resolves them with the other
 * nodes' (a missing or disabled target is an error located at the entry).
 * Exposures are never rendered, compiled or run.  Strings are rendered as
 * dbt's SchemaYamlRenderer does (everything but the description). */

static const char *const kExpoTypes[] = {"dashboard", "notebook", "analysis", "ml", "application", NULL};
static const char *const kMaturities[] = {"low", "medium", "high", NULL};

/* An optional rendered scalar as str(); NULL when absent or null. */
static int expo_opt_str(PatchCtx *c, const YNode *entry, const char *key, const char **out)
{
    const YNode *n = ynode_get(entry, key);
    *out = NULL;
    if (!n || (n->kind == YN_SCALAR && n->value.type == V_NONE))
        return 0;
    if (n->kind != YN_SCALAR)
        return shape_err(c, n, arena_sprintf(c->L->a, "'%s' must be a string, got %s", key, pl_kind(n)));
    Value v;
    if (render(c, n, PL_RENDER, &v) != 0)
        return -1;
    *out = str_value(c->L->a, v).u.s->s;
    return 0;
}

/* ref('m'), ref('pkg', 'm'), source('s', 't'), metric('m'), metric('pkg', 'm'). */
static int expo_parse_dep(Arena *a, const char *text, ExpoDep *d, NodeRef *ref, NodeSrcRef *src, const char **metric)
{
    size_t st, en;
    pl_strip(text, strlen(text), &st, &en);
    const char *s = text + st;
    UtFixture fx;
    memset(&fx, 0, sizeof fx);
    if (!strncmp(s, "metric", 6)) {
        if (ut_parse_input(a, arena_sprintf(a, "ref%.*s", (int)(en - st - 6), s + 6), &fx) != 0 || fx.kind != UT_REF)
            return -1;
        d->kind = 'm';
        *metric = fx.ref.name;
        return 0;
    }
    if (ut_parse_input(a, arena_strndup(a, s, en - st), &fx) != 0 || fx.kind == UT_THIS)
        return -1;
    if (fx.kind == UT_REF) {
        d->kind = 'r';
        *ref = fx.ref;
    } else {
        d->kind = 's';
        *src = fx.src;
    }
    return 0;
}

int project_parse_ref_call(Arena *a, const char *text, NodeRef *ref, NodeSrcRef *src)
{
    size_t st, en;
    pl_strip(text, strlen(text), &st, &en);
    UtFixture fx;
    memset(&fx, 0, sizeof fx);
    if (ut_parse_input(a, arena_strndup(a, text + st, en - st), &fx) != 0 || fx.kind == UT_THIS)
        return 0;
    if (fx.kind == UT_REF) {
        *ref = fx.ref;
        return 'r';
    }
    *src = fx.src;
    return 's';
}

int project_fk_target(Arena *a, const char *to, NodeRef *ref, NodeSrcRef *src)
{
    size_t k = strspn(to, " \t");
    if (strncmp(to + k, "ref", 3) != 0 && strncmp(to + k, "source", 6) != 0)
        return 0;
    int kind = project_parse_ref_call(a, to, ref, src);
    return kind ? kind : -1;
}

/* dbt 1.9 checks a foreign key's `to: ref(...)` / `source(...)` as it
 * parses the model: bad syntax is an error at the `to` value. */
static int check_fk_to(PatchCtx *c, const YNode *cons, const char *model)
{
    for (size_t i = 0; cons && cons->kind == YN_SEQ && i < cons->n; i++) {
        const YNode *it = cons->items[i], *to = ynode_get(it, "to");
        const char *type = ynode_str(ynode_get(it, "type")), *text = ynode_str(to);
        NodeRef r;
        NodeSrcRef sr;
        if (type && !strcmp(type, "foreign_key") && to && to->value.type == V_STR &&
            project_fk_target(c->L->a, text, &r, &sr) < 0)
            return pl_err(c->L, c->f, to, "Invalid 'ref' or 'source' syntax on foreign key constraint 'to' on model %s: %s.",
                          model, text);
    }
    return 0;
}

static int exposure_entry(PatchCtx *c, const YNode *entry)
{
    Loader *L = c->L;
    Arena *a = L->a;
    const char *name;
    if (entry_name(c, entry, &name) != 0)
        return -1;
    static const char *const keys[] = {"name", "type", "owner", "description", "label", "maturity", "meta", "tags",
                                       "url", "depends_on", "config", NULL};
    if (only_keys(c, entry, keys) != 0)
        return -1;
    Exposure *ex = ARENA_NEW(a, Exposure);
    const YNode *tn = ynode_get(entry, "type");
    if (!tn || (tn->kind == YN_SCALAR && tn->value.type == V_NONE))
        return shape_err(c, tn ? tn : entry, "'type' is a required property");
    if (expo_opt_str(c, entry, "type", &ex->type) != 0)
        return -1;
    if (!one_of(ex->type, kExpoTypes))
        return shape_err(c, tn, arena_sprintf(a, "'%s' is not one of ['dashboard', 'notebook', 'analysis', 'ml', 'application']",
                                              ex->type));
    const YNode *on = ynode_get(entry, "owner");
    if (!on || (on->kind == YN_SCALAR && on->value.type == V_NONE))
        return shape_err(c, on ? on : entry, "'owner' is a required property");
    if (on->kind != YN_MAP)
        return shape_err(c, on, arena_sprintf(a, "'owner' must be a mapping, got %s", pl_kind(on)));
    Value ov;
    if (render(c, on, PL_RENDER, &ov) != 0)
        return -1;
    Value *oe = dict_getz(ov.u.d, "email"), *onm = dict_getz(ov.u.d, "name");
    if ((!oe || oe->type == V_NONE) && (!onm || onm->type == V_NONE))
        return shape_err(c, on, "Exposure owner must have at least one of 'name' or 'email'.");
    /* dbt's Owner: email and name first (null when absent), other keys after */
    ex->owner = v_dict(a);
    dict_setz(a, ex->owner.u.d, "email", oe ? *oe : v_none());
    dict_setz(a, ex->owner.u.d, "name", onm ? *onm : v_none());
    VDictEntry *de;
    for (size_t it = 0; dict_next(ov.u.d, &it, &de);)
        if (!(de->key.type == V_STR && (!strcmp(de->key.u.s->s, "email") || !strcmp(de->key.u.s->s, "name"))))
            dict_set(a, ex->owner.u.d, de->key, de->val);
    if (expo_opt_str(c, entry, "maturity", &ex->maturity) != 0 || expo_opt_str(c, entry, "label", &ex->label) != 0 ||
        expo_opt_str(c, entry, "url", &ex->url) != 0)
        return -1;
    if (ex->maturity && !one_of(ex->maturity, kMaturities))
        return shape_err(c, ynode_get(entry, "maturity"),
                         arena_sprintf(a, "'%s' is not one of ['low', 'medium', 'high']", ex->maturity));

    Node *n = pl_new_node(L, RT_EXPOSURE);
    n->name = name;
    const YNode *dn = ynode_get(entry, "depends_on");
    if (dn && !(dn->kind == YN_SCALAR && dn->value.type == V_NONE)) {
        if (dn->kind != YN_SEQ)
            return shape_err(c, dn, arena_sprintf(a, "'depends_on' must be a list, got %s", pl_kind(dn)));
        ex->deps = ARENA_ARRAY(a, ExpoDep, dn->n + 1);
        n->refs = ARENA_ARRAY(a, NodeRef, dn->n + 1);
        n->sources = ARENA_ARRAY(a, NodeSrcRef, dn->n + 1);
        ex->metrics = ARENA_ARRAY(a, const char *, dn->n + 1);
        for (size_t i = 0; i < dn->n; i++) {
            const YNode *e = dn->items[i];
            if (!pl_is_str(e))
                return shape_err(c, e, arena_sprintf(a, "each 'depends_on' entry must be a string, got %s", pl_kind(e)));
            Value v;
            if (render(c, e, PL_RENDER, &v) != 0)
                return -1;
            ExpoDep *d = &ex->deps[ex->ndeps];
            d->text = str_value(a, v).u.s->s;
            d->loc = ut_loc(c, e);
            NodeRef r = {0};
            NodeSrcRef sr = {0};
            const char *m = NULL;
            if (expo_parse_dep(a, d->text, d, &r, &sr, &m) != 0)
                return pl_err(L, c->f, e, "Exposure '%s': a depends_on entry must be a ref(), source() or metric() call. Got: '%s'.",
                              name, d->text);
            if (d->kind == 'r') {
                d->index = n->nrefs;
                n->refs[n->nrefs++] = r;
            } else if (d->kind == 's') {
                d->index = n->nsources;
                n->sources[n->nsources++] = sr;
            } else {
                d->index = ex->nmetrics;
                ex->metrics[ex->nmetrics++] = m;
            }
            ex->ndeps++;
        }
    }
    n->unique_id = pl_cat(a, "exposure.", L->pkg->name, ".", name, NULL);
    n->path = c->f->rel_in_search;
    n->original_file_path = c->f->rel;
    n->yml_path = c->f->rel;
    n->fqn = pl_fqn(L, c->f->rel_in_search, name, &n->nfqn);
    n->raw_code = "";
    n->checksum = "";
    srcfile_init(&n->src, c->f->rel, "", 0);
    if (opt_description(c, entry, &n->description) != 0)
        return -1;
    VList *tags;
    if (opt_tags(c, entry, &tags) != 0)
        return -1;
    VDict *meta = NULL;
    if (opt_dict(c, entry, "meta", PL_RENDER, &meta) != 0)
        return -1;
    /* config: enabled, tags, meta (dbt's ExposureConfig) */
    if (entry_config(c, entry, n) != 0)
        return -1;
    VDict *cfg = n->config;
    /* Node.tags: the entry's tags, then config tags not among them (what tag: selects) */
    Value *ct = dict_getz(cfg, "tags");
    for (size_t i = 0; ct && ct->type == V_LIST && i < ct->u.l->len; i++) {
        bool dup = false;
        for (size_t j = 0; j < tags->len && !dup; j++)
            dup = value_eq(tags->items[j], ct->u.l->items[i]);
        if (!dup)
            list_append(a, tags, ct->u.l->items[i]);
    }
    n->tags = tags;
    n->meta = meta ? meta : v_dict(a).u.d;
    n->columns = v_dict(a).u.d;
    n->expo = ex;
    vec_push(&L->expos, n);
    return 0;
}

int pl_add_exposures(Loader *L)
{
    for (size_t i = 0; i < L->expos.len; i++)
        if (pl_add_node(L, L->expos.items[i]) != 0)
            return -1;
    return 0;
}

/* ---- files */

static const struct { const char *key; ResourceType rt; } patch_keys[] = {
    {"models", RT_MODEL}, {"seeds", RT_SEED}, {"snapshots", RT_SNAPSHOT}, {"analyses", RT_ANALYSIS},
};

static int props_file(Loader *L, YFile *f)
{
    YNode *root = f->root;
    if (!root)
        return 0;
    if (root->kind != YN_MAP)
        return pl_err(L, f, root, "Invalid properties file %s: expected a mapping at the top level, got %s",
                      f->rel, pl_kind(root));
    YNode *ver = ynode_get(root, "version");
    if (ver) {
        if (ver->kind != YN_SCALAR || ver->value.type != V_INT)
            return pl_err(L, f, ver, "Invalid properties file %s: the version must be an integer, got %s",
                          f->rel, pl_kind(ver));
        if (ver->value.u.i != 2)
            return pl_err(L, f, ver, "Invalid properties file %s: version %lld is not supported, only version 2 is",
                          f->rel, (long long)ver->value.u.i);
    }
    for (size_t i = 0; i < root->n; i++) {
        const char *k = pl_is_str(root->keys[i]) ? root->keys[i]->value.u.s->s : NULL;
        if (!k)
            continue;
        YNode *list = root->items[i];
        int which = -1;
        for (int j = 0; j < 4; j++)
            if (!strcmp(k, patch_keys[j].key))
                which = j;
        bool is_src = !strcmp(k, "sources"), is_macro = !strcmp(k, "macros"), is_unit = !strcmp(k, "unit_tests");
        bool is_expo = !strcmp(k, "exposures");
        if (which < 0 && !is_src && !is_macro && !is_unit && !is_expo)
            continue;
        if (L->opt->nonly_models && which != 0)
            continue;              /* delta mode: models only */
        PatchCtx c = {L, f, k};
        if (list && list->kind == YN_SCALAR && list->value.type == V_NONE)
            continue;
        if (!list || list->kind != YN_SEQ)
            return shape_err(&c, list ? list : root->keys[i],
                             arena_sprintf(L->a, "expected a list, got %s", list ? pl_kind(list) : "nothing"));
        for (size_t e = 0; e < list->n; e++) {
            if (is_unit || is_expo) {
                if ((is_unit ? unit_entry(&c, list->items[e]) : exposure_entry(&c, list->items[e])) != 0)
                    return -1;
                continue;
            }
            if (!is_src && !is_macro && patch_keys[which].rt == RT_SNAPSHOT &&
                yaml_snapshot(&c, list->items[e]) != 0)
                return -1;
            int rc = is_src ? source_entry(&c, list->items[e])
                     : is_macro ? macro_entry(&c, list->items[e])
                     : patch_entry(&c, patch_keys[which].rt, list->items[e]);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- reading and parsing the properties files ahead
 *
 * libyaml's event parser is most of what reading a large properties file
 * costs, and nothing it does depends on the other files.  Before discovery,
 * pl_props_prefetch lists the properties files the way pl_read_properties
 * will find them (with the journal paused: that walk records them, in its
 * place) and a thread reads, checks and parses them, in that order, into
 * arenas of its own.  pl_read_properties waits for each file's result when
 * it gets to it and does what reading it would have done: the journal
 * entries in the same order, the same error for a file that cannot be read,
 * is not UTF-8 or is not valid YAML (the first one in walk order, as the
 * walk stops there).  A file the thread does not have (the directory
 * changed between the two listings) is read and parsed there as before.
 *
 * The thread touches nothing of the Loader: the job list is built before it
 * starts and each job's result fields are written before the job is counted
 * done (under the mutex).  Its arenas are adopted by L->tree (texts, trees)
 * and the project arena (scalar values) once it is joined. */
enum { JOB_FREE, JOB_THREAD, JOB_MAIN, JOB_DONE };

typedef struct PropJob {
    const char *ofp, *abs;        /* immutable while the thread runs */
    int state;                    /* (mu) JOB_*: who took it; JOB_DONE: the results are in */
    /* results (the thread's) */
    int read_errno;               /* 0, or errno of the failed read */
    struct stat st;               /* fstat before the read */
    char *text;
    size_t len, bad;              /* bad < len: not UTF-8 at that byte */
    int yrc;                      /* yaml_load_split's result */
    YNode *root;
    Diag diag;                    /* its error (moved to L->err when reported) */
} PropJob;

struct Prefetch {
    VEC(PropJob) jobs;
    StrMap index;                 /* ofp -> job index + 1 */
    Arena tree, vals;             /* the thread's: texts and trees, scalar values */
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool cancel;                  /* (mu) the thread is to stop */
};

/* Read, check and parse one file (what pl_yaml_file does, with the errors
 * kept for later).  false when it failed. */
static bool prefetch_one(Arena *tree, Arena *vals, PropJob *j)
{
    if (fs_read_file_at_st(AT_FDCWD, j->abs, tree, &j->text, &j->len, &j->st) != 0) {
        j->read_errno = errno;
        return false;
    }
    j->bad = pl_utf8_check(j->text, j->len);
    if (j->bad < j->len)
        return false;
    j->yrc = yaml_load_split(tree, vals, j->ofp, j->text, j->len, &j->root, &j->diag);
    return j->yrc == 0;
}

/* The jobs in order, skipping those the main thread took; stops at the
 * first failure (the walk stops there too). */
static void *prefetch_main(void *arg)
{
    struct Prefetch *pf = arg;
    pthread_mutex_lock(&pf->mu);
    for (size_t i = 0; i < pf->jobs.len && !pf->cancel; i++) {
        PropJob *j = &pf->jobs.items[i];
        if (j->state != JOB_FREE)
            continue;
        j->state = JOB_THREAD;
        pthread_mutex_unlock(&pf->mu);
        bool ok = prefetch_one(&pf->tree, &pf->vals, j);
        pthread_mutex_lock(&pf->mu);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&pf->cv);
        if (!ok)
            break;
    }
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

/* Job i's results: true once they are in.  false when the main thread is
 * to read the file itself (the thread had not taken it: it is the main
 * thread's now, or the thread has stopped).  While the thread is on job i,
 * the main thread reads and parses the next job nobody has taken (into
 * L's arenas, its errors kept like the thread's) rather than wait idle. */
static bool prefetch_wait(Loader *L, struct Prefetch *pf, size_t i)
{
    PropJob *j = &pf->jobs.items[i];
    pthread_mutex_lock(&pf->mu);
    if (j->state == JOB_FREE)
        j->state = JOB_MAIN;
    size_t next = i + 1;
    while (j->state == JOB_THREAD) {
        while (next < pf->jobs.len && pf->jobs.items[next].state != JOB_FREE)
            next++;
        if (next == pf->jobs.len) {
            pthread_cond_wait(&pf->cv, &pf->mu);
            continue;
        }
        PropJob *ahead = &pf->jobs.items[next];
        ahead->state = JOB_MAIN;
        pthread_mutex_unlock(&pf->mu);
        prefetch_one(&L->tree, L->a, ahead);
        pthread_mutex_lock(&pf->mu);
        ahead->state = JOB_DONE;
    }
    bool ok = j->state == JOB_DONE;
    pthread_mutex_unlock(&pf->mu);
    return ok;
}

/* ---- finding the properties files */

typedef struct PropWalk {
    Loader *L;
    const char *search;
    StrMap *seen;
    int rc;
    bool list;                    /* pl_props_prefetch: collect the files only */
} PropWalk;

/* pl_yaml_file, from the thread's result when it has one. */
static int yaml_file(Loader *L, const char *abs, const char *ofp, YFile *f)
{
    struct Prefetch *pf = L->prefetch;
    size_t k = pf ? (size_t)(uintptr_t)strmap_getz(&pf->index, ofp) : 0;
    if (!k || strcmp(pf->jobs.items[k - 1].abs, abs) != 0 || !prefetch_wait(L, pf, k - 1))
        return pl_yaml_file(L, abs, ofp, f);
    PropJob *j = &pf->jobs.items[k - 1];
    memset(f, 0, sizeof *f);
    f->rel = ofp;
    /* what fs_read_file records */
    journal_path(abs);
    if (j->read_errno) {
        diag_set(L->err, ofp, 0, 0, NULL, "Could not read file: %s", strerror(j->read_errno));
        return -1;
    }
    journal_path_stat(abs, &j->st);
    journal_content(j->text, j->len);
    if (j->bad < j->len)
        return pl_utf8_error(L, ofp, j->text, j->len, j->bad);
    f->text = j->text;
    f->len = j->len;
    if (j->yrc != 0) {
        if (j->diag.set) {
            diag_clear(L->err);
            *L->err = j->diag;
            memset(&j->diag, 0, sizeof j->diag);
        }
        return -1;
    }
    f->root = j->root;
    return 0;
}

static int prop_cb(void *ud, const char *rel)
{
    PropWalk *w = ud;
    Loader *L = w->L;
    Arena *a = w->list ? &L->tree : L->a;
    Sb sb = SB_INIT;
    path_join(&sb, w->search, rel);
    char *norm = path_normalize(sb_cstr(&sb));
    sb_free(&sb);
    const char *s = norm;
    while (s[0] == '.' && s[1] == '/')
        s += 2;
    const char *ofp = arena_strdup(a, s);
    free(norm);
    if (strmap_getz(w->seen, ofp) || pl_ignored(L->ignore, ofp))
        return 0;                /* seen, or excluded by .dbtignore */
    strmap_putz(w->seen, ofp, (void *)ofp);
    const char *abs = ofp[0] == '/' ? ofp : arena_sprintf(a, "%s/%s", L->pkg->root, ofp);
    if (w->list) {
        struct Prefetch *pf = L->prefetch;
        vec_push(&pf->jobs, ((PropJob){.ofp = ofp, .abs = abs}));
        strmap_putz(&pf->index, ofp, (void *)(uintptr_t)pf->jobs.len);
        return 0;
    }
    YFile *f = ARENA_NEW(L->a, YFile);
    if (yaml_file(L, abs, ofp, f) != 0 ||
        (f->search_path = w->search, f->rel_in_search = arena_strdup(L->a, rel), f->pkg = L->pkg,
         props_file(L, f) != 0)) {
        w->rc = -1;
        return 1;
    }
    return 0;
}

/* Every properties file under the search paths, in order, to prop_cb. */
static int walk_props(Loader *L, bool list)
{
    Package *p = L->pkg;
    const char **sets[] = {p->model_paths, p->seed_paths, p->snapshot_paths, p->analysis_paths,
                           p->macro_paths, p->test_paths};
    const char *const suffixes[] = {".yml", ".yaml", NULL};
    Arena *a = list ? &L->tree : L->a;
    StrMap seen;
    strmap_init(&seen);
    int rc = 0;
    for (size_t k = 0; k < sizeof sets / sizeof sets[0] && !rc; k++) {
        for (int i = 0; sets[k] && sets[k][i]; i++) {
            Sb sb = SB_INIT;
            path_join(&sb, p->root, sets[k][i]);
            const char *search = sets[k][i];
            bool isdir = fs_is_dir(sets[k][i][0] == '/' ? sets[k][i] : sb_cstr(&sb));
            const char *abs = sets[k][i][0] == '/' ? sets[k][i] : arena_strdup(a, sb_cstr(&sb));
            sb_free(&sb);
            if (!isdir)
                continue;
            PropWalk w = {L, search, &seen, 0, list};
            fs_walk(abs, suffixes, prop_cb, &w);
            if (w.rc) {
                rc = -1;
                break;
            }
        }
    }
    strmap_free(&seen);
    return rc;
}

void pl_props_prefetch(Loader *L)
{
    if (L->opt->nonly_models)
        return;
    struct Prefetch *pf = xcalloc(1, sizeof *pf);
    strmap_init(&pf->index);
    arena_init_huge(&pf->tree);
    arena_init_huge(&pf->vals);
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->cv, NULL);
    L->prefetch = pf;
    bool paused = journal_paused();
    journal_pause(true);          /* pl_read_properties' walk records the paths */
    walk_props(L, true);
    journal_pause(paused);
    if (pf->jobs.len && pthread_create(&pf->thread, NULL, prefetch_main, pf) == 0)
        pf->running = true;
    else
        pf->cancel = true;        /* pl_read_properties reads every file itself */
}

void pl_props_prefetch_end(Loader *L)
{
    struct Prefetch *pf = L->prefetch;
    if (!pf)
        return;
    if (pf->running) {
        pthread_mutex_lock(&pf->mu);
        pf->cancel = true;
        pthread_mutex_unlock(&pf->mu);
        pthread_join(pf->thread, NULL);
    }
    for (size_t i = 0; i < pf->jobs.len; i++)
        diag_clear(&pf->jobs.items[i].diag);
    arena_adopt(&L->tree, &pf->tree);
    arena_adopt(L->a, &pf->vals);
    vec_free(&pf->jobs);
    strmap_free(&pf->index);
    pthread_mutex_destroy(&pf->mu);
    pthread_cond_destroy(&pf->cv);
    free(pf);
    L->prefetch = NULL;
}

int pl_read_properties(Loader *L)
{
    Package *p = L->pkg;
    if (L->opt->nonly_models) {
        /* delta mode: the one properties file, under the search path that holds it */
        const char *ofp = L->opt->only_props;
        if (!ofp)
            return 0;
        const char **sets[] = {p->model_paths, p->seed_paths, p->snapshot_paths, p->analysis_paths,
                               p->macro_paths, p->test_paths};
        for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
            for (int i = 0; sets[k] && sets[k][i]; i++) {
                size_t sl = strlen(sets[k][i]);
                if (strncmp(ofp, sets[k][i], sl) != 0 || ofp[sl] != '/')
                    continue;
                StrMap seen;
                strmap_init(&seen);
                PropWalk w = {L, sets[k][i], &seen, 0, false};
                prop_cb(&w, ofp + sl + 1);
                strmap_free(&seen);
                return w.rc;
            }
        diag_set(L->err, ofp, 0, 0, NULL, "not under a search path");
        return -1;
    }
    int rc = walk_props(L, false);
    pl_props_prefetch_end(L);
    return rc;
}

int pl_read_package_properties(Loader *L)
{
    return walk_props(L, false);
}

int pl_apply_patches(Loader *L)
{
    for (size_t i = 0; i < L->pending.len; i++) {
        Node *n = L->pending.items[i];
        VDict *patch = n->config, *raw = n->unrendered_config;
        pl_config_fold(L, n, patch, raw);
        if (!n->columns)
            n->columns = v_dict(L->a).u.d;
        if (pl_add_node(L, n) != 0)
            return -1;
    }
    return 0;
}
