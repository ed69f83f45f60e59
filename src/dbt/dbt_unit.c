/* dbt_unit.c - compiling a unit test (dbt 1.8+, `unit_tests:`): the tested
 * model's SQL rendered with each of the test's given inputs in place of the
 * relation it stands for, as dbt's unit-test context does:
 *
 *   - ref('x') / source('s', 't') / this render as the bare CTE name
 *     __dbt__cte__<x> (models and seeds: their alias; sources: the table
 *     name; this: the model's alias), and the inputs used are prepended as
 *     CTEs ` __dbt__cte__<x> as (\n<fixture sql>\n)` in first-use order,
 *     exactly where an ephemeral model's CTE goes (dbt_inject_ctes);
 *   - a dict or csv fixture is dbt's get_fixture_sql: `-- Fixture for <x>`,
 *     then one `select <v> as <col>, ...` per row joined by `union all`,
 *     every column of the input relation in its order (read from the
 *     database: the relation must exist), `cast(<value> as <type>)` for the
 *     given values and `cast(null as <type>)` for the others; no rows:
 *     one all-null select with `limit 0`; a sql fixture is used verbatim;
 *   - overrides.vars are read before any other var (as --vars), overrides
 *     .env_vars before the environment, overrides.macros replace the named
 *     globals for this render (a macro becomes a function returning the
 *     value: `is_incremental: true`).
 *
 * The expected side (the model's column types from an empty temporary
 * table, the comparison) runs on the database: src/exec/mat_unit.c. */
#include <string.h>
#include <strings.h>
#include "dbtpriv.h"

void dbt_unit_literal(Sb *out, Value v)
{
    switch (v.type) {
    case V_NONE:
    case V_UNDEF:
        sb_puts(out, "null");
        return;
    case V_BOOL:
        sb_puts(out, v.u.b ? "True" : "False");
        return;
    case V_INT:
    case V_FLOAT:
        value_str(out, v);
        return;
    default: {
        /* strings, and (cdbt) every other value as its text: dates */
        Sb s = SB_INIT;
        value_str(&s, v);
        sb_putc(out, '\'');
        for (size_t i = 0; i < s.len; i++) {
            if (s.buf[i] == '\'')
                sb_putc(out, '\'');
            sb_putc(out, s.buf[i]);
        }
        sb_putc(out, '\'');
        sb_free(&s);
        return;
    }
    }
}

static UnitTest *ut_of(DbtCtx *c) { return c->unit->unit; }

static void mark_used(DbtCtx *c, int g)
{
    for (size_t i = 0; i < c->unit_used.len; i++)
        if (c->unit_used.items[i] == g)
            return;
    vec_push(&c->unit_used, g);
}

/* The CTE name an input renders as (without the prefix). */
static const char *input_name(Dbt *d, Node *model, const UtFixture *fx)
{
    if (fx->kind == UT_SOURCE)
        return fx->src.table;
    Node *t = fx->kind == UT_THIS ? model : (Node *)strmap_getz(&d->refable, fx->ref.name);
    if (!t)
        return fx->ref.name;
    return t->alias ? t->alias : t->name;
}

static Value cte_value(DbtCtx *c, const char *name)
{
    DbtRel r;
    memset(&r, 0, sizeof r);
    r.cte = true;
    r.type = "cte";
    for (int i = 0; i < 3; i++)
        r.include[i] = true;
    r.identifier = arena_sprintf(c->a, "__dbt__cte__%s", name);
    return dbt_rel_value(c->a, &r);
}

int dbt_unit_ref(Interp *I, DbtCtx *c, const char *pkg, const char *name, Value *out)
{
    UnitTest *ut = ut_of(c);
    for (int g = 0; g < ut->ngiven; g++) {
        UtFixture *fx = &ut->given[g];
        if (fx->kind != UT_REF || strcmp(fx->ref.name, name) != 0)
            continue;
        if (pkg && fx->ref.package && strcmp(pkg, fx->ref.package) != 0)
            continue;
        mark_used(c, g);
        *out = cte_value(c, input_name(c->d, c->n, fx));
        return 0;
    }
    return interp_error(I, "Unit test '%s' (%s) has no given input for ref('%s') of model '%s': every ref() and "
                        "source() of the model needs one", c->unit->name, c->unit->original_file_path, name,
                        c->n->name);
}

int dbt_unit_source(Interp *I, DbtCtx *c, const char *src, const char *tbl, Value *out)
{
    UnitTest *ut = ut_of(c);
    for (int g = 0; g < ut->ngiven; g++) {
        UtFixture *fx = &ut->given[g];
        if (fx->kind != UT_SOURCE || strcmp(fx->src.source, src) != 0 || strcmp(fx->src.table, tbl) != 0)
            continue;
        mark_used(c, g);
        *out = cte_value(c, tbl);
        return 0;
    }
    return interp_error(I, "Unit test '%s' (%s) has no given input for source('%s', '%s') of model '%s': every "
                        "ref() and source() of the model needs one", c->unit->name, c->unit->original_file_path,
                        src, tbl, c->n->name);
}

Value dbt_unit_this(DbtCtx *c)
{
    UnitTest *ut = ut_of(c);
    for (int g = 0; g < ut->ngiven; g++)
        if (ut->given[g].kind == UT_THIS) {
            mark_used(c, g);
            return cte_value(c, c->n->alias ? c->n->alias : c->n->name);
        }
    return v_none();             /* dbt: `this` is None without a `this` input */
}

Value *dbt_unit_override(DbtCtx *c, const char *which, const char *name)
{
    UnitTest *ut = ut_of(c);
    Value *w = ut->overrides ? dict_getz(ut->overrides, which) : NULL;
    return w && w->type == V_DICT ? dict_getz(w->u.d, name) : NULL;
}

static int f_override(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    (void)I; (void)self; (void)args;
    *out = *(Value *)ud;
    return 0;
}

/* The value a name gets: a callable stays callable (returning the value). */
static Value override_value(Arena *a, const char *name, Value *orig, Value v)
{
    if (orig && (orig->type == V_MACRO || orig->type == V_FUNC)) {
        Value *box = ARENA_NEW(a, Value);
        *box = v;
        return v_func(a, arena_strdup(a, name), f_override, box);
    }
    return v;
}

static VDict *override_globals(Dbt *d, Arena *a, VDict *macros)
{
    VDict *g = dict_cow(a, d->globals);
    VDictEntry *e;
    for (size_t it = 0; dict_next(macros, &it, &e);) {
        if (e->key.type != V_STR)
            continue;
        const char *name = e->key.u.s->s;
        const char *dot = strchr(name, '.');
        if (dot && !strchr(dot + 1, '.')) {
            char *pkg = arena_strndup(a, name, (size_t)(dot - name));
            Value *ns = dict_getz(g, pkg);
            if (ns && ns->type == V_DICT) {
                VDict *copy = dict_cow(a, ns->u.d);
                dict_setz(a, copy, dot + 1, override_value(a, dot + 1, dict_getz(ns->u.d, dot + 1), e->val));
                Value nv = {.type = V_DICT};
                nv.u.d = copy;
                dict_setz(a, g, pkg, nv);
                continue;
            }
        }
        dict_setz(a, g, name, override_value(a, name, dict_getz(d->globals, name), e->val));
    }
    return g;
}

/* Python repr of a list of strings, as dbt prints the accepted columns. */
static void py_list(Arena *a, Sb *out, const char *const *names, int n)
{
    sb_putc(out, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            sb_puts(out, ", ");
        value_repr(out, v_strz(a, names[i]));
    }
    sb_putc(out, ']');
}

int dbt_unit_format_rows(Arena *a, Value rows, const char *const *names, const char *const *types, int ncols,
                         const char *fixture_name, bool all_columns, Sb *out, Diag *err)
{
    /* lower-cased relation columns */
    const char **lower = ARENA_ARRAY(a, const char *, (size_t)ncols + 1);
    for (int k = 0; k < ncols; k++) {
        char *l = arena_strdup(a, names[k]);
        for (char *q = l; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        lower[k] = l;
    }
    size_t nrows = rows.type == V_LIST ? rows.u.l->len : 0;
    const char **vals = ARENA_ARRAY(a, const char *, (size_t)ncols + 1);
    Sb v = SB_INIT;
    for (size_t r = 0; r < nrows; r++) {
        Value row = rows.u.l->items[r];
        if (row.type != V_DICT)
            continue;
        for (int k = 0; k < ncols; k++)
            vals[k] = NULL;
        /* the row's own columns, in its order, for the expected side */
        VEC(int) order = {0};
        VDictEntry *e;
        for (size_t it = 0; dict_next(row.u.d, &it, &e);) {
            sb_reset(&v);
            value_str(&v, e->key);
            for (size_t i = 0; i < v.len; i++)
                if (v.buf[i] >= 'A' && v.buf[i] <= 'Z')
                    v.buf[i] = (char)(v.buf[i] - 'A' + 'a');
            int k = 0;
            while (k < ncols && strcmp(lower[k], sb_cstr(&v)) != 0)
                k++;
            if (k == ncols) {
                Sb acc = SB_INIT;
                py_list(a, &acc, lower, ncols);
                diag_set(err, NULL, 0, 0, NULL,
                         "Invalid column name: '%s' in unit test fixture for %s.\nAccepted columns for %s are: %s",
                         sb_cstr(&v), fixture_name, fixture_name, sb_cstr(&acc));
                sb_free(&acc);
                sb_free(&v);
                vec_free(&order);
                return -1;
            }
            Sb lit = SB_INIT;
            sb_puts(&lit, "cast(");
            dbt_unit_literal(&lit, e->val);
            sb_printf(&lit, " as %s)", types[k]);
            vals[k] = arena_strdup(a, sb_cstr(&lit));
            sb_free(&lit);
            bool seen = false;
            for (size_t i = 0; i < order.len; i++)
                seen = seen || order.items[i] == k;
            if (!seen)
                vec_push(&order, k);
        }
        if (r)
            sb_puts(out, "\nunion all\n");
        sb_puts(out, "select");
        if (all_columns) {
            for (int k = 0; k < ncols; k++) {
                if (vals[k])
                    sb_printf(out, "%s %s as %s", k ? "," : "", vals[k], lower[k]);
                else
                    sb_printf(out, "%s cast(null as %s) as %s", k ? "," : "", types[k], lower[k]);
            }
        } else {
            for (size_t i = 0; i < order.len; i++)
                sb_printf(out, "%s %s as %s", i ? "," : "", vals[order.items[i]], lower[order.items[i]]);
        }
        vec_free(&order);
    }
    sb_free(&v);
    return 0;
}

/* get_fixture_sql for one input. */
static int fixture_sql(Dbt *d, Node *u, Node *model, const UtFixture *fx, Arena *a, Sb *out, Diag *err)
{
    if (fx->format == UT_SQL) {
        sb_puts(out, value_cstr(fx->rows));
        return 0;
    }
    DbtRel rel;
    Node *t = NULL;
    if (fx->kind == UT_THIS) {
        t = model;
    } else if (fx->kind == UT_REF) {
        t = (Node *)strmap_getz(&d->refable, fx->ref.name);
    } else {
        char *k = arena_sprintf(a, "%s.%s", fx->src.source, fx->src.table);
        t = (Node *)strmap_getz(&d->sources, k);
    }
    if (!t) {
        diag_set(err, NULL, 0, 0, NULL, "Unit test '%s' had an input (%s) which was not found in the manifest.",
                 u->name, fx->input);
        return -1;
    }
    const char *fname = t->name;
    dbt_node_rel(d, t, false, &rel);
    const char **names, **types;
    int ncols;
    if (dbt_db_columns(d, &rel, a, &names, &types, &ncols, err) != 0)
        return -1;
    if (ncols == 0) {
        Sb rs = SB_INIT;
        dbt_rel_render(&rel, &rs);
        diag_set(err, NULL, 0, 0, NULL,
                 "Not able to get columns for unit test '%s' from relation %s because the relation doesn't exist",
                 fname, sb_cstr(&rs));
        sb_free(&rs);
        return -1;
    }
    sb_printf(out, "-- Fixture for %s\n", fname);
    size_t nrows = fx->rows.type == V_LIST ? fx->rows.u.l->len : 0;
    if (nrows == 0) {
        sb_puts(out, "select");
        for (int k = 0; k < ncols; k++) {
            char *l = arena_strdup(a, names[k]);
            for (char *q = l; *q; q++)
                if (*q >= 'A' && *q <= 'Z')
                    *q = (char)(*q - 'A' + 'a');
            sb_printf(out, "%s cast(null as %s) as %s", k ? "," : "", types[k], l);
        }
        sb_puts(out, "\nlimit 0");
        return 0;
    }
    const char *fixture_name = arena_sprintf(a, "'%s'", fname);
    return dbt_unit_format_rows(a, fx->rows, names, types, ncols, fixture_name, true, out, err);
}

int dbt_compile_unit_test(Dbt *d, Node *u, Diag *err)
{
    Project *p = d->p;
    if (!p || !d->parsed || !u->unit || u->nparents < 1) {
        diag_set(err, NULL, 0, 0, NULL, "unit test '%s' has no tested model", u->name);
        return -1;
    }
    Node *m = p->nodes[u->parents[0]];
    Arena ra;
    arena_init(&ra, 0);
    if (!m->src.text)
        srcfile_init(&m->src, m->original_file_path, m->raw_code ? m->raw_code : "", m->raw_len);
    Template *tpl = m->tpl ? m->tpl : tpl_parse(&ra, &m->src, err);
    if (!tpl) {
        dbt_error_prefix(err, u);
        arena_free(&ra);
        return -1;
    }
    DbtCtx c;
    dbt_ctx_init(&c, d, m, DBT_COMPILE, &ra);
    c.unit = u;
    Value *mac = u->unit->overrides ? dict_getz(u->unit->overrides, "macros") : NULL;
    if (mac && mac->type == V_DICT)
        c.globals = override_globals(d, &ra, mac->u.d);
    Sb sb = SB_INIT, ctes = SB_INIT, inj = SB_INIT, fx = SB_INIT;
    int rc = -1;
    Interp *I = dbt_interp(&c, err);
    if (tpl_render(I, tpl, &sb) != 0)
        goto fail;
    for (size_t i = 0; i < c.unit_used.len; i++) {
        const UtFixture *f = &u->unit->given[c.unit_used.items[i]];
        sb_reset(&fx);
        if (fixture_sql(d, u, m, f, &ra, &fx, err) != 0)
            goto fail;
        if (i)
            sb_puts(&ctes, ", ");
        sb_printf(&ctes, " __dbt__cte__%s as (\n%s\n)", input_name(d, m, f), sb_cstr(&fx));
    }
    u->compiled_pre = arena_strndup(&p->arena, sb_cstr(&sb), sb.len);
    if (ctes.len) {
        dbt_inject_ctes(u->compiled_pre, sb.len, sb_cstr(&ctes), ctes.len, &inj);
        node_set_compiled_code(u, arena_strndup(&p->arena, sb_cstr(&inj), inj.len));
    } else {
        node_set_compiled_code(u, u->compiled_pre);
    }
    u->compiled = true;
    u->compiled_path = arena_sprintf(&p->arena, "%s/compiled/%s/%s/%s.sql", p->target_path ? p->target_path : "target",
                                     u->package_name, u->original_file_path, u->name);
    rc = 0;
    goto done;
fail:
    dbt_error_prefix(err, u);
done:
    sb_free(&sb);
    sb_free(&ctes);
    sb_free(&inj);
    sb_free(&fx);
    dbt_ctx_fini(&c);
    arena_free(&ra);
    return rc;
}
