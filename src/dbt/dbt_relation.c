/* dbt_relation.c - the Relation object of the dbt context (§2.4): a
 * database/schema/identifier triple with include and quote policies, rendered
 * `"db"."schema"."identifier"`, plus api.Relation.create.
 *
 * Owns the relation class and the node -> relation mapping (project quoting,
 * node quoting config, sources' own quoting, ephemeral CTE names).  Knows
 * nothing of the relation cache or the database (src/exec decides whether a
 * relation exists); every relation is immutable, methods return copies. */
#include <string.h>
#include "dbtpriv.h"

static const char *const part_names[3] = {"database", "schema", "identifier"};

static DbtRel *rel_of(Value v) { return (DbtRel *)v.u.o->data; }

bool dbt_is_rel(Value v)
{
    return v.type == V_OBJ && v.u.o->cls == &dbt_relation_class;
}

Value dbt_rel_value(Arena *a, const DbtRel *r)
{
    DbtRel *c = ARENA_NEW(a, DbtRel);
    *c = *r;
    return v_obj(a, &dbt_relation_class, c);
}

void dbt_rel_put_part(Sb *out, const char *s, bool quote)
{
    if (!quote) {
        sb_puts(out, s);
        return;
    }
    sb_putc(out, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            sb_putc(out, '"');      /* cdbt doubles embedded quotes (§2.4) */
        sb_putc(out, *p);
    }
    sb_putc(out, '"');
}

void dbt_rel_render(const DbtRel *r, Sb *out)
{
    const char *parts[3] = {r->database, r->schema, r->identifier};
    bool first = true;
    for (int i = 0; i < 3; i++) {
        if (!r->include[i] || !parts[i])
            continue;
        if (!first)
            sb_putc(out, '.');
        dbt_rel_put_part(out, parts[i], r->quote[i]);
        first = false;
    }
}

/* str(): the relation, or with --empty what dbt-adapters' render_limited
 * gives for limit 0 (postgres requires the subquery's alias) */
static void rel_limited(const DbtRel *r, Sb *out)
{
    if (!r->empty) {
        dbt_rel_render(r, out);
        return;
    }
    sb_puts(out, "(select * from ");
    dbt_rel_render(r, out);
    sb_printf(out, " where false limit 0) _dbt_limit_subq_%s", r->identifier ? r->identifier : "");
}

/* ... and a microbatch's event-time filter around that (dbt-adapters'
 * render_event_time_filtered: the limited subquery is wrapped, not the
 * other way round) */
static void rel_str(VObj *o, Sb *out)
{
    const DbtRel *r = o->data;
    if (!r->et_field) {
        rel_limited(r, out);
        return;
    }
    sb_puts(out, "(select * from ");
    rel_limited(r, out);
    sb_printf(out, " where %s >= '%s' and %s < '%s') _dbt_et_filter_subq_%s", r->et_field, r->et_start,
              r->et_field, r->et_end, r->identifier ? r->identifier : "");
}

static bool rel_eq(VObj *a, VObj *b)
{
    Sb x = SB_INIT, y = SB_INIT;
    dbt_rel_render((DbtRel *)a->data, &x);
    dbt_rel_render((DbtRel *)b->data, &y);
    bool eq = strcmp(sb_cstr(&x), sb_cstr(&y)) == 0;
    sb_free(&x);
    sb_free(&y);
    return eq;
}

static Value opt_str(Arena *a, const char *s) { return s ? v_strz(a, s) : v_none(); }

/* Policy methods: include(database=, schema=, identifier=) and quote(...). */
static int rel_policy(Interp *I, Value self, CallArgs *args, Value *out, bool quote)
{
    Value slots[3];
    if (callargs_bind(I, quote ? "quote" : "include", args, part_names, 3, 0, slots) != 0)
        return -1;
    DbtRel r = *rel_of(self);
    for (int i = 0; i < 3; i++) {
        if (slots[i].type == V_UNDEF || slots[i].type == V_NONE)
            continue;
        if (quote)
            r.quote[i] = value_truthy(slots[i]);
        else
            r.include[i] = value_truthy(slots[i]);
    }
    *out = dbt_rel_value(interp_arena(I), &r);
    return 0;
}

static int m_include(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    return rel_policy(I, self, args, out, false);
}

static int m_quote(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    return rel_policy(I, self, args, out, true);
}

static int m_render(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Sb s = SB_INIT;
    dbt_rel_render(rel_of(self), &s);
    *out = v_str(interp_arena(I), s.buf ? s.buf : "", s.len);
    sb_free(&s);
    return 0;
}

static int m_without_identifier(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbtRel r = *rel_of(self);
    r.include[2] = false;
    *out = dbt_rel_value(interp_arena(I), &r);
    return 0;
}

static const char *str_or_null(Interp *I, Value v)
{
    if (v.type == V_STR)
        return v.u.s->s;
    if (v.type == V_NONE || v.type == V_UNDEF)
        return NULL;
    return value_to_cstr(interp_arena(I), v);
}

static int m_incorporate(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"path", "type", "quote_policy", "include_policy"};
    Value slots[4];
    if (callargs_bind(I, "incorporate", args, params, 4, 0, slots) != 0)
        return -1;
    DbtRel r = *rel_of(self);
    if (slots[0].type == V_DICT) {
        const char **dst[3] = {&r.database, &r.schema, &r.identifier};
        for (int i = 0; i < 3; i++) {
            Value *v = dict_getz(slots[0].u.d, part_names[i]);
            if (v)
                *dst[i] = str_or_null(I, *v);
        }
    }
    if (slots[1].type == V_STR || slots[1].type == V_NONE)
        r.type = str_or_null(I, slots[1]);
    for (int k = 2; k < 4; k++) {
        if (slots[k].type != V_DICT)
            continue;
        for (int i = 0; i < 3; i++) {
            Value *v = dict_getz(slots[k].u.d, part_names[i]);
            if (v) {
                if (k == 2)
                    r.quote[i] = value_truthy(*v);
                else
                    r.include[i] = value_truthy(*v);
            }
        }
    }
    *out = dbt_rel_value(interp_arena(I), &r);
    return 0;
}

static Value policy_dict(Arena *a, const bool *p)
{
    Value d = v_dict(a);
    for (int i = 0; i < 3; i++)
        dict_setz(a, d.u.d, part_names[i], v_bool(p[i]));
    return d;
}

static int rel_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    Arena *a = interp_arena(I);
    DbtRel *r = (DbtRel *)o->data;
    Value self = {.type = V_OBJ, .u.o = o};
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (IS("database"))
        *out = opt_str(a, r->database);
    else if (IS("schema"))
        *out = opt_str(a, r->schema);
    else if (IS("identifier") || IS("name") || IS("table"))
        *out = opt_str(a, r->identifier);
    else if (IS("type"))
        *out = opt_str(a, r->type);
    else if (IS("is_table"))
        *out = v_bool(r->type && strcmp(r->type, "table") == 0);
    else if (IS("is_view"))
        *out = v_bool(r->type && strcmp(r->type, "view") == 0);
    else if (IS("is_materialized_view"))
        *out = v_bool(r->type && strcmp(r->type, "materialized_view") == 0);
    else if (IS("is_cte"))
        *out = v_bool(r->cte || (r->type && strcmp(r->type, "cte") == 0));
    else if (IS("quote_policy"))
        *out = policy_dict(a, r->quote);
    else if (IS("include_policy"))
        *out = policy_dict(a, r->include);
    else if (IS("render"))
        *out = v_bound(a, "render", m_render, NULL, self);
    else if (IS("include"))
        *out = v_bound(a, "include", m_include, NULL, self);
    else if (IS("quote"))
        *out = v_bound(a, "quote", m_quote, NULL, self);
    else if (IS("incorporate") || IS("replace_path"))
        *out = v_bound(a, "incorporate", m_incorporate, NULL, self);
    else if (IS("without_identifier"))
        *out = v_bound(a, "without_identifier", m_without_identifier, NULL, self);
    else
        return 1;
#undef IS
    return 0;
}

const ObjClass dbt_relation_class = {
    .name = "PostgresRelation",
    .getattr = rel_getattr,
    .str = rel_str,
    .eq = rel_eq,
};

/* ---------------------------------------------------------------- node relations */

static void apply_quoting(VDict *q, bool *quote)
{
    if (!q)
        return;
    for (int i = 0; i < 3; i++) {
        Value *v = dict_getz(q, part_names[i]);
        if (v && v->type != V_NONE)
            quote[i] = value_truthy(*v);
    }
}

void dbt_node_rel(Dbt *d, Node *n, bool as_cte, DbtRel *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 3; i++)
        out->quote[i] = out->include[i] = true;
    if (n->rt == RT_SOURCE) {
        out->database = n->database;
        out->schema = n->schema;
        out->identifier = n->identifier ? n->identifier : n->name;
        out->type = NULL;
        apply_quoting(n->quoting, out->quote);
        return;
    }
    const char *alias = n->alias ? n->alias : n->name;
    if (as_cte) {
        /* dbt: Relation.create(type=CTE, identifier=prefix+alias).quote(identifier=False) */
        out->cte = true;
        out->type = "cte";
        out->identifier = d->p ? arena_sprintf(&d->p->arena, "__dbt__cte__%s", alias) : alias;
        for (int i = 0; i < 3; i++)
            out->quote[i] = false;
        return;
    }
    out->database = n->database;
    out->schema = n->schema;
    out->identifier = alias;
    if (d->p)
        apply_quoting(d->p->quoting, out->quote);
    if (n->config) {
        Value *q = dict_getz(n->config, "quoting");
        if (q && q->type == V_DICT)
            apply_quoting(q->u.d, out->quote);
    }
}

const char *dbt_rel_text(const DbtRel *r, Arena *a)
{
    Sb s = SB_INIT;
    dbt_rel_render(r, &s);
    const char *z = arena_strndup(a, sb_cstr(&s), s.len);
    sb_free(&s);
    return z;
}

const char *dbt_node_relation_name(Dbt *d, Node *n, Arena *a)
{
    DbtRel r;
    dbt_node_rel(d, n, false, &r);
    return dbt_rel_text(&r, a);
}

/* ---------------------------------------------------------------- api.Relation.create */

static int api_create(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"database", "schema", "identifier", "type",
                                         "quote_policy", "include_policy"};
    Value slots[6];
    if (callargs_bind(I, "create", args, params, 6, 0, slots) != 0)
        return -1;
    DbtRel r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 3; i++)
        r.quote[i] = r.include[i] = true;
    r.database = str_or_null(I, slots[0]);
    r.schema = str_or_null(I, slots[1]);
    r.identifier = str_or_null(I, slots[2]);
    r.type = str_or_null(I, slots[3]);
    for (int k = 4; k < 6; k++) {
        if (slots[k].type != V_DICT)
            continue;
        for (int i = 0; i < 3; i++) {
            Value *v = dict_getz(slots[k].u.d, part_names[i]);
            if (v) {
                if (k == 4)
                    r.quote[i] = value_truthy(*v);
                else
                    r.include[i] = value_truthy(*v);
            }
        }
    }
    *out = dbt_rel_value(interp_arena(I), &r);
    return 0;
}

Value dbt_api_value(Arena *a)
{
    Value api = v_dict(a);
    Value rel = v_dict(a);
    dict_setz(a, rel.u.d, "create", v_func(a, "create", api_create, NULL));
    dict_setz(a, api.u.d, "Relation", rel);
    return api;
}
