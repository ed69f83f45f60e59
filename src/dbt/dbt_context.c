/* dbt_context.c - the Jinja context dbt gives to models, tests, macros and
 * YAML values (§3.2-3.8): ref, source, config, var, env_var, this, model,
 * adapter, statement results, log/print/return, exceptions, tojson & co.
 *
 * Speed rule: the globals dict is built ONCE per Dbt (dbt_add_*_globals) and
 * shared by every render; per-node members (this, model, database, schema,
 * execute, target in YAML scopes, _dbt_generic_test_kwargs) come from the
 * resolver callback reading the DbtCtx in the interp's userdata.  Natives
 * find their node the same way.  Introspection (adapter.execute,
 * get_relation, get_columns_in_relation, commit) is dbt_db.c's: the live
 * database when the runner bound one, stubs otherwise.
 * Node identity/parse/compile orchestration is in dbt_parse.c/dbt_compile.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dbtpriv.h"
#include "../base/hash.h"
#include "../base/journal.h"
#include "../base/clock.h"
#include "../base/json.h"
#include "../yaml/yaml.h"

#define JSON_MAX_DEPTH 100

static DbtCtx *ctx_of(Interp *I) { return (DbtCtx *)interp_userdata(I); }

static Value str_of(Arena *a, const char *s) { return s ? v_strz(a, s) : v_none(); }

Value *dbt_config_get(VDict *cfg, const char *key)
{
    if (!cfg)
        return NULL;
    Value *v = dict_getz(cfg, key);
    if (v)
        return v;
    if (strcmp(key, "pre_hook") == 0)
        return dict_getz(cfg, "pre-hook");
    if (strcmp(key, "post_hook") == 0)
        return dict_getz(cfg, "post-hook");
    return NULL;
}

void dbt_ctx_init(DbtCtx *c, Dbt *d, Node *n, DbtPass pass, Arena *a)
{
    memset(c, 0, sizeof *c);
    c->d = d;
    c->n = n;
    c->pass = pass;
    c->a = a;
    c->execute = pass == DBT_COMPILE;
    c->scope = PR_PROPERTIES;
    c->config_calls = v_list(a, 0).u.l;
    c->test_kwargs = v_undef();
}

void dbt_ctx_fini(DbtCtx *c)
{
    vec_free(&c->refs);
    vec_free(&c->srcs);
    vec_free(&c->ephem);
    vec_free(&c->unit_used);
}

Interp *dbt_interp(DbtCtx *c, Diag *err)
{
    Interp *I = interp_new(c->a, err);
    VDict *g = c->pass == DBT_YAML ? c->d->yaml_globals : c->globals ? c->globals : c->d->globals;
    if (c->pass != DBT_YAML && !c->globals && c->n && c->d->p && c->d->p->npackages) {
        int slot = dbt_node_slot(c->d, c->n);
        if (slot >= DBT_PKG_FIRST && c->d->pkg_globals[slot])
            g = c->d->pkg_globals[slot];
    }
    interp_set_globals(I, g, dbt_resolve, c);
    interp_set_lenient(I, c->pass == DBT_PARSE && !c->runtime_config);
    interp_set_userdata(I, c);
    dbt_trace_attach(c, I);
    return I;
}

/* ---------------------------------------------------------------- string rendering */

static bool has_jinja(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#'))
            return true;
    return false;
}

/* Parsed templates of strings rendered again and again (var values), keyed
 * by text; they live in the Dbt arena. */
Template *dbt_cached_tpl(Dbt *d, const char *s, size_t n, const char *what, Diag *err)
{
    Template *t = (Template *)strmap_get(&d->tpl_cache, s, n);
    if (t)
        return t;
    SrcFile *f = ARENA_NEW(&d->arena, SrcFile);
    char *text = arena_strndup(&d->arena, s, n);
    srcfile_init(f, what, text, n);
    t = tpl_parse(&d->arena, f, err);
    if (t)
        strmap_put(&d->tpl_cache, s, n, t);
    return t;
}

/* How many times a string with this text was rendered before (0, 1, or 2
 * for two or more); counts this render.  The table keeps a hash per text
 * with the count in its low two bits; a hash collision only makes a text
 * cached sooner. */
static int renders_before(Dbt *d, const char *s, size_t n)
{
    uint64_t h = strmap_hash(s, n) & ~(uint64_t)3;
    if (2 * (d->tpl_seen_n + 1) > d->tpl_seen_cap) {
        size_t cap = d->tpl_seen_cap ? 2 * d->tpl_seen_cap : 1024;
        uint64_t *t = xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < d->tpl_seen_cap; i++) {
            uint64_t x = d->tpl_seen[i];
            if (!x)
                continue;
            size_t j = (size_t)(x >> 7) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = x;
        }
        free(d->tpl_seen);
        d->tpl_seen = t;
        d->tpl_seen_cap = cap;
    }
    size_t mask = d->tpl_seen_cap - 1;
    for (size_t j = (size_t)(h >> 7) & mask;; j = (j + 1) & mask) {
        uint64_t x = d->tpl_seen[j];
        if (!x) {
            d->tpl_seen[j] = h | 1;
            d->tpl_seen_n++;
            return 0;
        }
        if ((x & ~(uint64_t)3) == h) {
            int before = (int)(x & 3);
            if (before < 3)
                d->tpl_seen[j] = x + 1;
            return before;
        }
    }
}

/* The template of a rendered string: parsed into the render arena the first
 * two times its text is rendered, then cached (var values are rendered per
 * node).  Test kwargs are rendered once or twice (not_null and unique of
 * one model share their `model` text): caching them would keep a tree per
 * model, ~20 MB at 10,000 models, for no time saved. */
static Template *string_tpl(DbtCtx *c, const char *s, size_t n, SrcFile **own, Diag *err)
{
    Dbt *d = c->d;
    *own = NULL;
    Template *t = NULL;
    /* The cache is the main thread's (it grows while the helper renders):
     * the helper parses every string it renders. */
    if (!c->lane)
        t = (Template *)strmap_get(&d->tpl_cache, s, n);
    if (t)
        return t;
    if (!c->lane && renders_before(d, s, n) >= 2)
        return dbt_cached_tpl(d, s, n, "<string>", err);
    SrcFile *f = ARENA_NEW(c->a, SrcFile);
    srcfile_init(f, "<string>", arena_strndup(c->a, s, n), n);
    *own = f;
    return tpl_parse(c->a, f, err);
}

int dbt_render_string(DbtCtx *c, Interp *outer, const char *s, size_t n, bool native, Value *out)
{
    Arena *a = c->a;
    if (!has_jinja(s, n)) {
        *out = v_str(a, s, n);
        return 0;
    }
    if (c->var_depth >= DBT_MAX_VAR_DEPTH)
        return interp_error(outer, "recursion limit reached while rendering '%.*s'", (int)n, s);
    Diag err = {0};
    int rc = -1;
    Sb sb = SB_INIT;
    SrcFile *own;
    Template *t = string_tpl(c, s, n, &own, &err);
    if (!t)
        goto done;
    Interp *I = dbt_interp(c, &err);
    interp_watch_output(I);          /* the result is a value: its text is seen */
    c->var_depth++;
    if (native)
        rc = tpl_render_native(I, t, out);
    else {
        rc = tpl_render(I, t, &sb);
        if (rc == 0)
            *out = v_str(a, sb_cstr(&sb), sb.len);
    }
    c->var_depth--;
    if (interp_text_seen(I))
        interp_mark_text_seen(outer);
done:
    if (rc != 0) {
        rc = interp_error(outer, "%s", err.message ? err.message : "error rendering string");
    }
    sb_free(&sb);
    diag_clear(&err);
    if (own)
        srcfile_free(own);     /* its line index, if an error built one */
    return rc;
}

/* ---------------------------------------------------------------- small helpers */

static int want_str(Interp *I, const char *fn, Value v, const char **out)
{
    *out = NULL;
    if (v.type != V_STR)
        return interp_error(I, "%s(): expected a string argument, got %s", fn, value_type_name(v));
    *out = v.u.s->s;
    return 0;
}

static Value empty_str(void)
{
    static struct { VStr s; char z[1]; } e = {{0, 0}, {0}};
    Value v = {.type = V_STR, .u.s = &e.s};
    return v;
}

/* ---------------------------------------------------------------- this / model */

Value dbt_model_dict(DbtCtx *c)
{
    if (c->have_model)
        return c->model;
    Arena *a = c->a;
    Node *n = c->n;
    Value m = v_dict(a);
    VDict *d = m.u.d;
    c->model = m;
    c->have_model = true;
    if (!n)
        return m;
    dict_setz(a, d, "unique_id", str_of(a, n->unique_id));
    dict_setz(a, d, "name", str_of(a, n->name));
    dict_setz(a, d, "resource_type", v_strz(a, rt_name(n->rt)));
    dict_setz(a, d, "package_name", str_of(a, n->package_name));
    dict_setz(a, d, "path", str_of(a, n->path));
    dict_setz(a, d, "original_file_path", str_of(a, n->original_file_path));
    Value fqn = v_list(a, (size_t)n->nfqn);
    for (int i = 0; i < n->nfqn; i++)
        list_append(a, fqn.u.l, v_strz(a, n->fqn[i]));
    dict_setz(a, d, "fqn", fqn);
    dict_setz(a, d, "database", str_of(a, n->database));
    dict_setz(a, d, "schema", str_of(a, n->schema));
    dict_setz(a, d, "alias", str_of(a, n->alias ? n->alias : n->name));
    dict_setz(a, d, "identifier", str_of(a, n->identifier ? n->identifier : n->alias));
    dict_setz(a, d, "version", n->version ? n->version->v : v_none());
    if (n->rt == RT_MODEL)
        dict_setz(a, d, "latest_version", n->version ? n->version->latest : v_none());
    dict_setz(a, d, "language", v_strz(a, "sql"));
    Value cfg = {.type = V_DICT, .u.d = n->config};
    dict_setz(a, d, "config", n->config ? cfg : v_dict(a));
    Value tags = {.type = V_LIST, .u.l = n->tags};
    dict_setz(a, d, "tags", n->tags ? tags : v_list(a, 0));
    Value meta = {.type = V_DICT, .u.d = n->meta};
    dict_setz(a, d, "meta", n->meta ? meta : v_dict(a));
    dict_setz(a, d, "description", v_strz(a, n->description ? n->description : ""));
    Value cols = {.type = V_DICT, .u.d = n->columns};
    dict_setz(a, d, "columns", n->columns ? cols : v_dict(a));
    dict_setz(a, d, "raw_code", v_str(a, n->raw_code ? n->raw_code : "", n->raw_code ? n->raw_len : 0));
    dict_setz(a, d, "raw_sql", v_str(a, n->raw_code ? n->raw_code : "", n->raw_code ? n->raw_len : 0));
    if (n->compiled_code) {
        dict_setz(a, d, "compiled_code", v_strz(a, n->compiled_code));
        dict_setz(a, d, "compiled_sql", v_strz(a, n->compiled_code));
    }
    dict_setz(a, d, "relation_name", str_of(a, n->relation_name));
    dict_setz(a, d, "patch_path", str_of(a, n->patch_path));
    if (c->d->batch_on && c->d->batch.node == n) {
        Value b = v_dict(a);
        dict_setz(a, b.u.d, "id", v_strz(a, c->d->batch.id));
        dict_setz(a, b.u.d, "event_time_start", v_strz(a, c->d->batch.start));
        dict_setz(a, b.u.d, "event_time_end", v_strz(a, c->d->batch.end));
        dict_setz(a, d, "batch", b);
    } else if (dbt_is_microbatch(n)) {
        dict_setz(a, d, "batch", v_none());   /* dbt: BatchContext or None */
    }
    Value deps = v_dict(a), dn = v_list(a, 0), dm = v_list(a, 0);
    for (int i = 0; i < n->ndep_nodes; i++)
        list_append(a, dn.u.l, v_strz(a, n->dep_nodes[i]));
    for (int i = 0; i < n->ndep_macros; i++)
        list_append(a, dm.u.l, v_strz(a, n->dep_macros[i]));
    dict_setz(a, deps.u.d, "macros", dm);
    dict_setz(a, deps.u.d, "nodes", dn);
    dict_setz(a, d, "depends_on", deps);
    Value refs = v_list(a, 0);
    for (int i = 0; i < n->nrefs; i++) {
        Value r = v_dict(a);
        dict_setz(a, r.u.d, "name", str_of(a, n->refs[i].name));
        dict_setz(a, r.u.d, "package", str_of(a, n->refs[i].package));
        dict_setz(a, r.u.d, "version", str_of(a, n->refs[i].version));
        list_append(a, refs.u.l, r);
    }
    dict_setz(a, d, "refs", refs);
    Value srcs = v_list(a, 0);
    for (int i = 0; i < n->nsources; i++) {
        Value pair = v_list(a, 2);
        list_append(a, pair.u.l, v_strz(a, n->sources[i].source));
        list_append(a, pair.u.l, v_strz(a, n->sources[i].table));
        list_append(a, srcs.u.l, pair);
    }
    dict_setz(a, d, "sources", srcs);
    if (n->rt == RT_TEST) {
        dict_setz(a, d, "column_name", str_of(a, n->column_name));
        dict_setz(a, d, "attached_node", str_of(a, n->attached_node));
        if (n->is_generic_test) {
            Value tm = v_dict(a);
            dict_setz(a, tm.u.d, "name", str_of(a, n->test_name));
            Value kw = {.type = V_DICT, .u.d = n->test_kwargs};
            dict_setz(a, tm.u.d, "kwargs", n->test_kwargs ? kw : v_dict(a));
            dict_setz(a, tm.u.d, "namespace", str_of(a, n->test_namespace));
            dict_setz(a, d, "test_metadata", tm);
        }
    }
    return m;
}

static Value this_rel(DbtCtx *c)
{
    if (!c->have_this) {
        DbtRel r;
        dbt_node_rel(c->d, c->n, false, &r);
        c->this_rel = dbt_rel_value(c->a, &r);
        c->have_this = true;
    }
    return c->this_rel;
}

/* ---------------------------------------------------------------- resolver */

int dbt_resolve(Interp *I, void *ud, const char *name, size_t n, Value *out)
{
    DbtCtx *c = (DbtCtx *)ud;
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (IS("execute")) {
        *out = v_bool(c->execute);
        return 0;
    }
    Project *p = c->d->p;
    if (IS("target")) {
        if (!p || !p->target || (c->pass == DBT_YAML && (c->scope == PR_PROFILE || c->scope == PR_PACKAGES)))
            return 1;
        out->type = V_DICT;
        out->flags = 0;
        out->u.d = p->target;
        return 0;
    }
    if (IS("project_name")) {
        if (!p || !p->name)
            return 1;
        *out = v_strz(c->a, p->name);
        return 0;
    }
    if (c->extra) {
        Value *xv = dict_getn(c->extra, name, n);
        if (xv) {
            *out = *xv;
            return 0;
        }
    }
    if (!c->n)
        return 1;
    if (IS("this")) {
        *out = c->unit ? dbt_unit_this(c) : this_rel(c);
        return 0;
    }
    if (IS("model")) {
        *out = dbt_model_dict(c);
        return 0;
    }
    if (IS("__cdbt_incremental_batch")) {   /* read by the built-in is_incremental / should_full_refresh */
        if (!c->d->batch_on || c->d->batch.node != c->n || !c->d->batch.incremental)
            return 1;
        *out = v_bool(true);
        return 0;
    }
    if (IS("database")) {
        *out = str_of(c->a, c->n->database);
        return 0;
    }
    if (IS("schema")) {
        *out = str_of(c->a, c->n->schema);
        return 0;
    }
    if ((IS("sql") || IS("compiled_code")) && c->pass == DBT_COMPILE && c->n->compiled_code) {
        *out = v_strz(c->a, c->n->compiled_code);
        return 0;
    }
    if (IS("pre_hooks") || IS("post_hooks")) {
        Value *h = c->n->config ? dict_getz(c->n->config, IS("pre_hooks") ? "pre-hook" : "post-hook") : NULL;
        *out = h ? *h : v_list(c->a, 0);
        return 0;
    }
    if (IS("_dbt_generic_test_kwargs")) {
        if (c->test_kwargs.type == V_UNDEF)
            return 1;
        *out = c->test_kwargs;
        return 0;
    }
#undef IS
    return 1;
}

/* ---------------------------------------------------------------- ref / source */

static Node *find_refable(Dbt *d, const Node *from, const char *pkg, const char *name, const char *version,
                          bool *disabled)
{
    *disabled = false;
    Node *t = dbt_find_ref(d, &d->refable, from, pkg, name, version);
    if (t)
        return t;
    t = dbt_find_ref(d, &d->refable_disabled, from, pkg, name, version);
    *disabled = t != NULL;
    return t;
}

static bool in_deps(Node *n, const char *uid)
{
    for (int i = 0; i < n->ndep_nodes; i++)
        if (strcmp(n->dep_nodes[i], uid) == 0)
            return true;
    return false;
}

static bool is_ephemeral(Node *n)
{
    Value *m = n->config ? dict_getz(n->config, "materialized") : NULL;
    return m && m->type == V_STR && strcmp(m->u.s->s, "ephemeral") == 0;
}

static int depends_on_error(Interp *I, Node *n, const char *call)
{
    return interp_error(I,
        "dbt was unable to infer all dependencies for the model \"%s\".\n"
        "This typically happens when ref() is placed within a conditional block.\n\n"
        "To fix this, add the following hint to the top of the model \"%s\":\n\n"
        "-- depends_on: %s", n->name, n->name, call);
}

/* Microbatch: while a batch of the node being compiled is bound, a ref or
 * source whose config names an event_time column reads only the batch. */
static bool batch_of(const DbtCtx *c)
{
    return c->d->batch_on && c->n && c->n == c->d->batch.node;
}

static void et_filter(DbtCtx *c, Node *t, DbtRel *r)
{
    if (!batch_of(c) || !t->config)
        return;
    Value *et = dict_getz(t->config, "event_time");
    if (!et || et->type != V_STR || !et->u.s->len)
        return;
    r->et_field = et->u.s->s;
    r->et_start = c->d->batch.start;
    r->et_end = c->d->batch.end;
}

static int f_ref(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbtCtx *c = ctx_of(I);
    const char *pkg = NULL, *name = NULL, *version = NULL;
    if (args->npos < 1 || args->npos > 2)
        return interp_error(I, "ref() takes at most two arguments (%d given)", args->npos);
    for (int i = 0; i < args->nkw; i++) {
        const char *k = args->kwnames[i]->s;
        if (strcmp(k, "version") == 0 || strcmp(k, "v") == 0) {
            Value v = args->kwvals[i];
            if (v.type != V_NONE)
                version = value_to_cstr(c->a, v);
        } else {
            return interp_error(I, "ref() got an unexpected keyword argument '%s'", k);
        }
    }
    if (want_str(I, "ref", args->pos[0], args->npos == 2 ? &pkg : &name) != 0)
        return -1;
    if (args->npos == 2 && want_str(I, "ref", args->pos[1], &name) != 0)
        return -1;
    if (!c->n) {
        *out = v_none();
        return 0;
    }
    if (c->pass != DBT_COMPILE) {
        if (c->pass == DBT_PARSE && !c->runtime_config) {
            NodeRef r = {name, pkg, version};
            vec_push(&c->refs, r);
        }
        /* parse time: a relation for the current node (§2.5) */
        *out = this_rel(c);
        return 0;
    }
    if (c->unit)
        return dbt_unit_ref(I, c, pkg, name, out);
    bool disabled;
    Node *t = find_refable(c->d, c->n, pkg, name, version, &disabled);
    if (!t || disabled) {
        const char *vs = version ? arena_sprintf(c->a, "with version '%s' ", version) : "";
        if (pkg)
            return interp_error(I, "%s '%s' (%s) depends on a node named '%s' %sin package or project '%s' which %s",
                                c->n->rt == RT_TEST ? "Test" : "Model", c->n->unique_id,
                                c->n->original_file_path, name, vs, pkg, t ? "is disabled" : "was not found");
        return interp_error(I, "%s '%s' (%s) depends on a node named '%s' %swhich %s",
                            c->n->rt == RT_TEST ? "Test" : "Model", c->n->unique_id,
                            c->n->original_file_path, name, vs, t ? "is disabled" : "was not found");
    }
    if (t != c->n && !in_deps(c->n, t->unique_id)) {
        const char *vk = version ? arena_sprintf(c->a, ", v=%s", version) : "";
        char *call = pkg ? arena_sprintf(c->a, "{{ ref('%s', '%s'%s) }}", pkg, name, vk)
                         : arena_sprintf(c->a, "{{ ref('%s'%s) }}", name, vk);
        return depends_on_error(I, c->n, call);
    }
    DbtRel r;
    bool eph = is_ephemeral(t);
    dbt_node_rel(c->d, t, eph, &r);
    if (!eph && c->d->defer) {
        /* --defer: a node not selected, absent here, is read where the
         * state's run built it */
        const DbtDeferRel *df = strmap_getz((StrMap *)c->d->defer, t->unique_id);
        if (df && (c->d->favor_state || !c->d->db ||
                   !c->d->db->relation_type(c->d->db->ud, r.database, r.schema, r.identifier))) {
            r.database = df->database;
            r.schema = df->schema;
            r.identifier = df->identifier;
        }
    }
    r.empty = c->d->opt.empty;
    et_filter(c, t, &r);
    if (eph)
        vec_push(&c->ephem, t);
    *out = dbt_rel_value(c->a, &r);
    return 0;
}

static int f_source(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbtCtx *c = ctx_of(I);
    static const char *const params[] = {"source_name", "table_name"};
    Value slots[2];
    if (callargs_bind(I, "source", args, params, 2, 2, slots) != 0)
        return -1;
    const char *src = NULL, *tbl = NULL;
    if (want_str(I, "source", slots[0], &src) != 0 || want_str(I, "source", slots[1], &tbl) != 0)
        return -1;
    if (!c->n) {
        *out = v_none();
        return 0;
    }
    if (c->pass != DBT_COMPILE) {
        if (c->pass == DBT_PARSE && !c->runtime_config) {
            NodeSrcRef r = {src, tbl};
            vec_push(&c->srcs, r);
        }
        *out = this_rel(c);
        return 0;
    }
    if (c->unit)
        return dbt_unit_source(I, c, src, tbl, out);
    char *key = arena_sprintf(c->a, "%s.%s", src, tbl);
    Node *t = dbt_find_node(c->d, &c->d->sources, c->n, NULL, key);
    if (!t)
        return interp_error(I, "%s '%s' (%s) depends on a source named '%s' which was not found",
                            c->n->rt == RT_TEST ? "Test" : "Model", c->n->unique_id,
                            c->n->original_file_path, key);
    if (!in_deps(c->n, t->unique_id)) {
        char *call = arena_sprintf(c->a, "{{ source('%s', '%s') }}", src, tbl);
        return depends_on_error(I, c->n, call);
    }
    DbtRel r;
    dbt_node_rel(c->d, t, false, &r);
    r.empty = c->d->opt.empty;
    et_filter(c, t, &r);
    *out = dbt_rel_value(c->a, &r);
    return 0;
}

/* ---------------------------------------------------------------- config object */

static int config_record(Interp *I, DbtCtx *c, Value dict)
{
    if (c->pass == DBT_PARSE && !c->runtime_config && c->n)
        list_append(c->a, c->config_calls, dict);
    return 0;
}

static int config_call(Interp *I, VObj *self, CallArgs *args, Value *out)
{
    DbtCtx *c = ctx_of(I);
    *out = empty_str();
    if (args->npos > 1)
        return interp_error(I, "config() takes at most one positional argument");
    if (args->npos == 1 && args->nkw > 0)
        return interp_error(I, "Invalid inline model config: config() was given both a dict and keyword arguments");
    if (args->npos == 1) {
        if (args->pos[0].type != V_DICT)
            return interp_error(I, "Invalid inline model config: expected a dict, got %s",
                                value_type_name(args->pos[0]));
        return config_record(I, c, args->pos[0]);
    }
    Value d = v_dict(c->a);
    for (int i = 0; i < args->nkw; i++)
        dict_set(c->a, d.u.d, v_vstr(args->kwnames[i]), args->kwvals[i]);
    return config_record(I, c, d);
}

static int cfg_get(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"name", "default", "validator"};
    Value slots[3];
    if (callargs_bind(I, "get", args, params, 3, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    if (c->pass == DBT_PARSE && !c->runtime_config) {
        *out = empty_str();
        return 0;
    }
    const char *k = NULL;
    if (want_str(I, "config.get", slots[0], &k) != 0)
        return -1;
    Value *v = c->n ? dbt_config_get(c->n->config, k) : NULL;
    *out = v ? *v : (slots[1].type == V_UNDEF ? v_none() : slots[1]);
    return 0;
}

static int cfg_require(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"name", "validator"};
    Value slots[2];
    if (callargs_bind(I, "require", args, params, 2, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    if (c->pass == DBT_PARSE && !c->runtime_config) {
        *out = empty_str();
        return 0;
    }
    const char *k = NULL;
    if (want_str(I, "config.require", slots[0], &k) != 0)
        return -1;
    Value *v = c->n ? dbt_config_get(c->n->config, k) : NULL;
    if (!v)
        return interp_error(I, "Model '%s' does not define a required config parameter '%s'.",
                            c->n ? c->n->unique_id : "", k);
    *out = *v;
    return 0;
}

static int cfg_set(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"name", "value"};
    Value slots[2];
    if (callargs_bind(I, "set", args, params, 2, 2, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    Value d = v_dict(c->a);
    dict_set(c->a, d.u.d, slots[0], slots[1]);
    *out = empty_str();
    return config_record(I, c, d);
}

static int cfg_false(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_bool(false);
    return 0;
}

static int config_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    Arena *a = interp_arena(I);
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (IS("get"))
        *out = v_func(a, "get", cfg_get, NULL);
    else if (IS("require"))
        *out = v_func(a, "require", cfg_require, NULL);
    else if (IS("set"))
        *out = v_func(a, "set", cfg_set, NULL);
    else if (IS("persist_relation_docs") || IS("persist_column_docs"))
        *out = v_func(a, "persist_docs", cfg_false, NULL);
    else
        return 1;
#undef IS
    return 0;
}

static const ObjClass config_class = {
    .name = "Config",
    .getattr = config_getattr,
    .call = config_call,
};

/* ---------------------------------------------------------------- var / env_var */


/* json.dumps(v, sort_keys=True, indent=4) for the missing-var message. */
static void json_pretty(Sb *out, Value v, int indent, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        sb_puts(out, "null");
        return;
    }
    if (v.type == V_DICT && v.u.d->len) {
        size_t cnt = v.u.d->len, k = 0;
        VDictEntry **es = xmalloc(cnt * sizeof *es);
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            es[k++] = e;
        for (size_t i = 1; i < k; i++)          /* insertion sort by key */
            for (size_t j = i; j > 0; j--) {
                int r = 0;
                if (value_cmp(es[j - 1]->key, es[j]->key, &r) != 0 || r <= 0)
                    break;
                VDictEntry *t = es[j]; es[j] = es[j - 1]; es[j - 1] = t;
            }
        sb_puts(out, "{\n");
        for (size_t i = 0; i < k; i++) {
            sb_printf(out, "%*s", indent + 4, "");
            Sb ks = SB_INIT;
            value_str(&ks, es[i]->key);
            json_escape(out, sb_cstr(&ks), ks.len);
            sb_free(&ks);
            sb_puts(out, ": ");
            json_pretty(out, es[i]->val, indent + 4, depth + 1);
            sb_puts(out, i + 1 < k ? ",\n" : "\n");
        }
        sb_printf(out, "%*s}", indent, "");
        free(es);
        return;
    }
    if ((v.type == V_LIST || v.type == V_TUPLE) && v.u.l->len) {
        sb_puts(out, "[\n");
        for (size_t i = 0; i < v.u.l->len; i++) {
            sb_printf(out, "%*s", indent + 4, "");
            json_pretty(out, v.u.l->items[i], indent + 4, depth + 1);
            sb_puts(out, i + 1 < v.u.l->len ? ",\n" : "\n");
        }
        sb_printf(out, "%*s]", indent, "");
        return;
    }
    JsonW w;
    json_init(&w, out, false);
    value_to_json(&w, v);
}

static int var_missing(Interp *I, DbtCtx *c, const char *name)
{
    Dbt *d = c->d;
    Arena *a = c->a;
    Value merged = v_dict(a);
    const char *pkg = c->n ? c->n->package_name : c->yaml_pkg;
    VDictEntry *e;
    if (d->p && d->p->vars && c->pass != DBT_YAML) {
        for (size_t it = 0; dict_next(d->p->vars, &it, &e);) {
            const char *k = value_cstr(e->key);
            if (e->val.type == V_DICT && k && d->p->name && strcmp(k, d->p->name) == 0)
                continue;
            dict_set(a, merged.u.d, e->key, e->val);
        }
        Value *scoped = pkg ? dict_getz(d->p->vars, pkg) : NULL;
        if (scoped && scoped->type == V_DICT)
            for (size_t it = 0; dict_next(scoped->u.d, &it, &e);)
                dict_set(a, merged.u.d, e->key, e->val);
    }
    if (d->opt.cli_vars)
        for (size_t it = 0; dict_next(d->opt.cli_vars, &it, &e);)
            dict_set(a, merged.u.d, e->key, e->val);
    Sb js = SB_INIT;
    json_pretty(&js, merged, 0, 0);
    int rc = interp_error(I, "Required var '%s' not found in config:\nVars supplied to %s = %s", name,
                          c->n ? c->n->name : "<Configuration>", sb_cstr(&js));
    sb_free(&js);
    return rc;
}

static int f_var(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"name", "default"};
    Value slots[2];
    if (callargs_bind(I, "var", args, params, 2, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    const char *name = NULL;
    if (want_str(I, "var", slots[0], &name) != 0)
        return -1;
    bool project_vars = c->pass != DBT_YAML || c->scope == PR_PROPERTIES;
    Value *v = c->unit ? dbt_unit_override(c, "vars", name) : NULL;   /* as --vars would */
    if (!v)
        v = project_var(c->d->p, c->d->opt.cli_vars, c->n ? c->n->package_name : c->yaml_pkg, name, project_vars);
    if (c->rec && c->pass == DBT_PARSE && c->n && !c->unit)
        dbt_rec_var(c, name);    /* the parse cache keys the node on it */
    if (!v) {
        if (slots[1].type != V_UNDEF) {
            *out = slots[1];
            return 0;
        }
        if (c->pass == DBT_PARSE && !c->runtime_config) {
            *out = v_none();
            return 0;
        }
        return var_missing(I, c, name);
    }
    if (v->type == V_STR)
        return dbt_render_string(c, I, v->u.s->s, v->u.s->len, false, out);
    *out = *v;
    return 0;
}

static int f_env_var(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"var", "default"};
    Value slots[2];
    if (callargs_bind(I, "env_var", args, params, 2, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    const char *name = NULL;
    if (want_str(I, "env_var", slots[0], &name) != 0)
        return -1;
    if (strncmp(name, "DBT_ENV_SECRET", 14) == 0 &&
        !(c->pass == DBT_YAML && (c->scope == PR_PROFILE || c->scope == PR_PACKAGES)))
        return interp_error(I, "Secret env vars are allowed only in profiles.yml or packages.yml. "
                               "Found '%s' referenced elsewhere.", name);
    if (c->lane)
        return dbt_lane_refuse(I, c->lane, "env_var");   /* journal, parse-cache hook */
    Value *ov = c->unit ? dbt_unit_override(c, "env_vars", name) : NULL;
    if (ov) {
        *out = *ov;
        return 0;
    }
    const char *e = getenv(name);
    journal_env(name);
    if (c->n && c->d->opt.env_read)
        c->d->opt.env_read(c->d->opt.hook_ud, c->n, name, e);
    if (e) {
        *out = v_strz(c->a, e);
        return 0;
    }
    if (slots[1].type != V_UNDEF) {
        *out = slots[1];
        return 0;
    }
    return interp_error(I, "Env var required but not provided: '%s'", name);
}

/* ---------------------------------------------------------------- output natives */

static FILE *out_of(Dbt *d) { return d->opt.out ? d->opt.out : stdout; }

void dbt_json_log_info(JsonW *w, const char *name, const char *level, const char *msg, const char *invocation_id)
{
    char ts[64];
    clock_iso_now(ts, sizeof ts);
    json_key(w, "info");
    json_obj_begin(w);
    json_key(w, "name");
    json_str(w, name);
    json_key(w, "level");
    json_str(w, level);
    json_key(w, "msg");
    json_str(w, msg);
    json_key(w, "ts");
    json_str(w, ts);
    json_key(w, "invocation_id");
    json_str(w, invocation_id);
    json_key(w, "thread");
    json_str(w, "MainThread");
    json_key(w, "pid");
    json_int(w, (int64_t)getpid());
    json_obj_end(w);
}

static int f_log(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"msg", "info"};
    Value slots[2];
    if (callargs_bind(I, "log", args, params, 2, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    if (slots[1].type != V_UNDEF && value_truthy(slots[1])) {
        if (c->lane)
            return dbt_lane_refuse(I, c->lane, "log");
        Sb s = SB_INIT;
        value_str(&s, slots[0]);
        journal_output();
        if (c->d->opt.log_json) {
            /* the shape of the console's other JSON lines */
            Sb line = SB_INIT;
            JsonW w;
            json_init(&w, &line, false);
            json_obj_begin(&w);
            dbt_json_log_info(&w, "JinjaLogInfo", "info", sb_cstr(&s), c->d->invocation_id);
            json_key(&w, "data");
            json_obj_begin(&w);
            json_key(&w, "msg");
            json_str(&w, sb_cstr(&s));
            json_obj_end(&w);
            json_obj_end(&w);
            fprintf(out_of(c->d), "%s\n", sb_cstr(&line));
            sb_free(&line);
        } else {
            time_t now = time(NULL);
            struct tm tmv;
            localtime_r(&now, &tmv);
            fprintf(out_of(c->d), "%02d:%02d:%02d  %s\n", tmv.tm_hour, tmv.tm_min, tmv.tm_sec, sb_cstr(&s));
        }
        sb_free(&s);
    }
    *out = empty_str();
    return 0;
}

static int f_print(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"msg"};
    Value slots[1];
    if (callargs_bind(I, "print", args, params, 1, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    if (!c->d->opt.no_print) {
        if (c->lane)
            return dbt_lane_refuse(I, c->lane, "print");
        journal_output();
        Sb s = SB_INIT;
        value_str(&s, slots[0]);
        fprintf(out_of(c->d), "%s\n", sb_cstr(&s));
        sb_free(&s);
    }
    *out = empty_str();
    return 0;
}

static int f_return(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Value v = args->npos > 0 ? args->pos[0] : v_none();
    *out = v;
    return interp_return(I, v);
}

static int f_raise_compiler_error(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Sb s = SB_INIT;
    if (args->npos > 0)
        value_str(&s, args->pos[0]);
    int rc = interp_error(I, "%s", sb_cstr(&s));
    sb_free(&s);
    return rc;
}

static int f_raise_not_implemented(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Sb s = SB_INIT;
    if (args->npos > 0)
        value_str(&s, args->pos[0]);
    int rc = interp_error(I, "ERROR: %s", sb_cstr(&s));
    sb_free(&s);
    return rc;
}

static int f_warn(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbtCtx *c = ctx_of(I);
    if (c->lane)
        return dbt_lane_refuse(I, c->lane, "exceptions.warn");
    Sb s = SB_INIT;
    if (args->npos > 0)
        value_str(&s, args->pos[0]);
    fprintf(out_of(c->d), "[WARNING]: %s\n", sb_cstr(&s));
    sb_free(&s);
    *out = empty_str();
    return 0;
}

/* ---------------------------------------------------------------- json / misc helpers */

static void json_py(Sb *out, Value v, bool sort, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        sb_puts(out, "null");
        return;
    }
    switch (v.type) {
    case V_DICT: {
        size_t cnt = v.u.d->len, k = 0;
        VDictEntry **es = cnt ? xmalloc(cnt * sizeof *es) : NULL;
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            es[k++] = e;
        if (sort)
            for (size_t i = 1; i < k; i++)
                for (size_t j = i; j > 0; j--) {
                    int r = 0;
                    if (value_cmp(es[j - 1]->key, es[j]->key, &r) != 0 || r <= 0)
                        break;
                    VDictEntry *t = es[j]; es[j] = es[j - 1]; es[j - 1] = t;
                }
        sb_putc(out, '{');
        for (size_t i = 0; i < k; i++) {
            if (i)
                sb_puts(out, ", ");
            Sb ks = SB_INIT;
            if (es[i]->key.type == V_STR)
                json_escape(out, es[i]->key.u.s->s, es[i]->key.u.s->len);
            else {
                JsonW w;
                Sb tmp = SB_INIT;
                json_init(&w, &tmp, false);
                value_to_json(&w, es[i]->key);
                if (tmp.len && tmp.buf[0] == '"')
                    sb_append(out, tmp.buf, tmp.len);
                else
                    json_escape(out, sb_cstr(&tmp), tmp.len);
                sb_free(&tmp);
            }
            sb_free(&ks);
            sb_puts(out, ": ");
            json_py(out, es[i]->val, sort, depth + 1);
        }
        sb_putc(out, '}');
        free(es);
        return;
    }
    case V_LIST:
    case V_TUPLE:
        sb_putc(out, '[');
        for (size_t i = 0; i < v.u.l->len; i++) {
            if (i)
                sb_puts(out, ", ");
            json_py(out, v.u.l->items[i], sort, depth + 1);
        }
        sb_putc(out, ']');
        return;
    default: {
        JsonW w;
        json_init(&w, out, false);
        value_to_json(&w, v);
        return;
    }
    }
}

static int f_tojson(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"value", "default", "sort_keys"};
    Value slots[3];
    if (callargs_bind(I, "tojson", args, params, 3, 1, slots) != 0)
        return -1;
    Sb s = SB_INIT;
    json_py(&s, slots[0], slots[2].type != V_UNDEF && value_truthy(slots[2]), 0);
    *out = v_str(interp_arena(I), sb_cstr(&s), s.len);
    sb_free(&s);
    return 0;
}

static int f_fromjson(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"string", "default"};
    Value slots[2];
    if (callargs_bind(I, "fromjson", args, params, 2, 1, slots) != 0)
        return -1;
    Value dflt = slots[1].type == V_UNDEF ? v_none() : slots[1];
    if (slots[0].type != V_STR) {
        *out = dflt;
        return 0;
    }
    Diag err = {0};
    if (yaml_load_value(interp_arena(I), "<fromjson>", slots[0].u.s->s, slots[0].u.s->len, out, &err) != 0)
        *out = dflt;
    diag_clear(&err);
    return 0;
}

static int f_local_md5(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"value"};
    Value slots[1];
    if (callargs_bind(I, "local_md5", args, params, 1, 1, slots) != 0)
        return -1;
    Sb s = SB_INIT;
    value_str(&s, slots[0]);
    char hex[33];
    md5_hex(sb_cstr(&s), s.len, hex);
    sb_free(&s);
    *out = v_strz(interp_arena(I), hex);
    return 0;
}

static int f_zip(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Arena *a = interp_arena(I);
    VList **ls = args->npos ? ARENA_ARRAY(a, VList *, args->npos) : NULL;
    size_t minlen = (size_t)-1;
    for (int i = 0; i < args->npos; i++) {
        if (value_iterate(I, args->pos[i], &ls[i]) != 0)
            return -1;
        if (ls[i]->len < minlen)
            minlen = ls[i]->len;
    }
    if (!args->npos)
        minlen = 0;
    Value res = v_list(a, minlen);
    for (size_t k = 0; k < minlen; k++) {
        Value t = v_tuple(a, (size_t)args->npos);
        for (int i = 0; i < args->npos; i++)
            t.u.l->items[i] = ls[i]->items[k];
        list_append(a, res.u.l, t);
    }
    *out = res;
    return 0;
}

static int f_set(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"value", "default"};
    Value slots[2];
    if (callargs_bind(I, "set", args, params, 2, 1, slots) != 0)
        return -1;
    Arena *a = interp_arena(I);
    VList *l;
    if (value_iterate(I, slots[0], &l) != 0)
        return -1;
    Value seen = v_dict(a), res = v_list(a, l->len);
    for (size_t i = 0; i < l->len; i++) {
        if (!value_is_hashable(l->items[i]))
            return interp_error(I, "unhashable type: '%s'", value_type_name(l->items[i]));
        if (dict_get(seen.u.d, l->items[i]))
            continue;
        dict_set(a, seen.u.d, l->items[i], v_none());
        list_append(a, res.u.l, l->items[i]);
    }
    *out = res;
    return 0;
}

/* ---------------------------------------------------------------- results / adapter */

static int table_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    Arena *a = interp_arena(I);
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (IS("rows") || IS("columns") || IS("column_names") || IS("column_types"))
        *out = v_list(a, 0);
    else
        return 1;
#undef IS
    return 0;
}

static int table_iter(Interp *I, VObj *o, VList **out)
{
    *out = v_list(interp_arena(I), 0).u.l;
    return 0;
}

static int table_len(VObj *o, int64_t *out)
{
    *out = 0;
    return 0;
}

static const ObjClass table_class = {
    .name = "Table",
    .getattr = table_getattr,
    .iter = table_iter,
    .len = table_len,
};

static int f_store_result(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"name", "response", "agate_table"};
    Value slots[3];
    if (callargs_bind(I, "store_result", args, params, 3, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    Arena *a = c->a;
    if (!c->results)
        c->results = v_dict(a).u.d;
    Value r = v_dict(a);
    dict_setz(a, r.u.d, "response", slots[1].type == V_UNDEF ? v_none() : slots[1]);
    Value tbl = slots[2].type == V_UNDEF || slots[2].type == V_NONE ? v_obj(a, &table_class, NULL) : slots[2];
    dict_setz(a, r.u.d, "table", tbl);
    dict_setz(a, r.u.d, "data", v_list(a, 0));
    dict_set(a, c->results, slots[0], r);
    *out = empty_str();
    return 0;
}

static int f_load_result(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"name"};
    Value slots[1];
    if (callargs_bind(I, "load_result", args, params, 1, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    Value *v = c->results ? dict_get(c->results, slots[0]) : NULL;
    *out = v ? *v : v_none();
    return 0;
}

static int a_quote(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"identifier"};
    Value slots[1];
    if (callargs_bind(I, "quote", args, params, 1, 1, slots) != 0)
        return -1;
    Sb s = SB_INIT;
    sb_putc(&s, '"');
    value_str(&s, slots[0]);
    sb_putc(&s, '"');
    *out = v_str(interp_arena(I), sb_cstr(&s), s.len);
    sb_free(&s);
    return 0;
}

static int a_quote_as_configured(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"identifier", "quote_key"};
    Value slots[2];
    if (callargs_bind(I, "quote_as_configured", args, params, 2, 2, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    bool q = true;
    const char *k = value_cstr(slots[1]);
    if (k && c->d->p && c->d->p->quoting) {
        Value *v = dict_getz(c->d->p->quoting, k);
        if (v && v->type != V_NONE)
            q = value_truthy(*v);
    }
    if (!q) {
        *out = slots[0];
        return 0;
    }
    CallArgs one = {.npos = 1, .pos = &slots[0]};
    return a_quote(I, ud, self, &one, out);
}

static int a_quote_seed_column(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"column", "quote_config"};
    Value slots[2];
    if (callargs_bind(I, "quote_seed_column", args, params, 2, 1, slots) != 0)
        return -1;
    if (slots[1].type == V_BOOL && !slots[1].u.b) {
        *out = slots[0];
        return 0;
    }
    CallArgs one = {.npos = 1, .pos = &slots[0]};
    return a_quote(I, ud, self, &one, out);
}

static int a_dispatch(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"macro_name", "macro_namespace", "packages"};
    Value slots[3];
    if (callargs_bind(I, "dispatch", args, params, 3, 1, slots) != 0)
        return -1;
    DbtCtx *c = ctx_of(I);
    const char *name, *ns = NULL;
    if (want_str(I, "adapter.dispatch", slots[0], &name) != 0)
        return -1;
    if (slots[1].type == V_STR)
        ns = slots[1].u.s->s;
    if (strchr(name, '.'))
        return interp_error(I, "In adapter.dispatch, got a macro name of \"%s\", but \".\" is not a "
                               "valid macro name component. Did you mean `adapter.dispatch(\"%s\", "
                               "macro_namespace=\"%.*s\")`?", name, strchr(name, '.') + 1,
                            (int)(strchr(name, '.') - name), name);
    int from = dbt_node_slot(c->d, c->n);
    DbtMacro *m = dbt_dispatch(c->d, from, name, ns, NULL);
    if (!m) {
        if (c->pass == DBT_PARSE && !c->runtime_config) {
            *out = v_undef_named(c->a, name, strlen(name));
            return 0;
        }
        Sb at = SB_INIT;
        dbt_dispatch(c->d, from, name, ns, &at);
        int rc = interp_error(I, "In dispatch: No macro named '%s' found within namespace: '%s'\n"
                                 "    Searched for: %s", name, ns ? ns : "None", sb_cstr(&at));
        sb_free(&at);
        return rc;
    }
    *out = v_macro(m->m);
    return 0;
}

static int a_none(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_none();
    return 0;
}

static int a_false(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_bool(false);
    return 0;
}

static int a_empty_list(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_list(interp_arena(I), 0);
    return 0;
}

static int a_empty_str(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = empty_str();
    return 0;
}

static int a_type(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_strz(interp_arena(I), "postgres");
    return 0;
}

/* adapter methods: X-table of name -> native */
static const struct { const char *name; NativeFn fn; } adapter_methods[] = {
    {"quote", a_quote},
    {"quote_as_configured", a_quote_as_configured},
    {"quote_seed_column", a_quote_seed_column},
    {"dispatch", a_dispatch},
    {"get_relation", dbt_a_get_relation},
    {"load_relation", dbt_a_load_relation},
    {"get_columns_in_relation", dbt_a_get_columns},
    {"get_missing_columns", a_empty_list},
    {"list_relations_without_caching", a_empty_list},
    {"list_relations", a_empty_list},
    {"get_columns_in_table", a_empty_list},
    {"already_exists", a_false},
    {"check_schema_exists", a_false},
    {"type", a_type},
    {"execute", dbt_a_execute},
    {"create_schema", a_empty_str},
    {"drop_schema", a_empty_str},
    {"drop_relation", dbt_a_drop_relation},
    {"rename_relation", dbt_a_rename_relation},
    {"truncate_relation", dbt_a_truncate_relation},
    {"expand_target_column_types", a_empty_str},
    {"commit", dbt_a_commit},
    {"add_query", a_none},
    {"verify_database", a_empty_str},
};

static int adapter_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    for (size_t i = 0; i < sizeof adapter_methods / sizeof adapter_methods[0]; i++) {
        if (strlen(adapter_methods[i].name) == n && memcmp(adapter_methods[i].name, name, n) == 0) {
            *out = v_func(interp_arena(I), adapter_methods[i].name, adapter_methods[i].fn, NULL);
            return 0;
        }
    }
    return 1;
}

static const ObjClass adapter_class = {
    .name = "PostgresAdapter",
    .getattr = adapter_getattr,
};

/* ---------------------------------------------------------------- globals */

static void setf(Arena *a, VDict *g, const char *name, NativeFn fn)
{
    dict_setz(a, g, name, v_func(a, name, fn, NULL));
}

void dbt_add_common_globals(Dbt *d, VDict *g)
{
    Arena *a = &d->arena;
    tpl_add_std_globals(a, g);
    setf(a, g, "env_var", f_env_var);
    setf(a, g, "var", f_var);
    setf(a, g, "log", f_log);
    setf(a, g, "print", f_print);
    setf(a, g, "return", f_return);
    setf(a, g, "tojson", f_tojson);
    setf(a, g, "fromjson", f_fromjson);
    setf(a, g, "fromyaml", f_fromjson);
    setf(a, g, "local_md5", f_local_md5);
    setf(a, g, "zip", f_zip);
    setf(a, g, "set", f_set);
    Value ex = v_dict(a);
    setf(a, ex.u.d, "raise_compiler_error", f_raise_compiler_error);
    setf(a, ex.u.d, "raise_not_implemented", f_raise_not_implemented);
    setf(a, ex.u.d, "warn", f_warn);
    dict_setz(a, g, "exceptions", ex);
    Value mods = v_dict(a);
    dict_setz(a, mods.u.d, "datetime", tpl_datetime_module(a));
    dict_setz(a, g, "modules", mods);
    dict_setz(a, g, "run_started_at", d->run_started_at);
    dict_setz(a, g, "invocation_id", v_strz(a, d->invocation_id));
    dict_setz(a, g, "dbt_version", v_strz(a, "1.9.0"));
    dict_setz(a, g, "thread_id", v_strz(a, "Thread-1"));
    Value flags = v_dict(a);
    dict_setz(a, flags.u.d, "FULL_REFRESH", v_bool(d->opt.full_refresh));
    dict_setz(a, flags.u.d, "EMPTY", v_bool(d->opt.empty));
    dict_setz(a, flags.u.d, "STORE_FAILURES", v_bool(false));
    dict_setz(a, flags.u.d, "WHICH", v_strz(a, d->opt.which ? d->opt.which : "compile"));
    dict_setz(a, flags.u.d, "WARN_ERROR", v_bool(false));
    dict_setz(a, flags.u.d, "FAIL_FAST", v_bool(false));
    dict_setz(a, flags.u.d, "USE_COLORS", v_bool(false));
    dict_setz(a, g, "flags", flags);
}

void dbt_add_node_globals(Dbt *d, VDict *g)
{
    Arena *a = &d->arena;
    setf(a, g, "ref", f_ref);
    setf(a, g, "source", f_source);
    dict_setz(a, g, "config", v_obj(a, &config_class, NULL));
    dict_setz(a, g, "adapter", v_obj(a, &adapter_class, NULL));
    setf(a, g, "store_result", f_store_result);
    setf(a, g, "load_result", f_load_result);
    dict_setz(a, g, "api", dbt_api_value(a));
    Value graph = v_dict(a);
    static const char *const parts[] = {"nodes", "sources", "exposures", "metrics", "groups",
                                        "semantic_models", "saved_queries"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        dict_setz(a, graph.u.d, parts[i], v_dict(a));
    dict_setz(a, g, "graph", graph);
    Value builtins = v_dict(a);
    dict_setz(a, builtins.u.d, "ref", *dict_getz(g, "ref"));
    dict_setz(a, builtins.u.d, "source", *dict_getz(g, "source"));
    dict_setz(a, builtins.u.d, "config", *dict_getz(g, "config"));
    dict_setz(a, g, "builtins", builtins);
}
