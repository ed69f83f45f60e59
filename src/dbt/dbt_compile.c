/* dbt_compile.c - the compile pass (§3.1 execute=true, §5, §9.2): render a
 * node strictly, resolve refs to target relations (ephemerals to CTE names),
 * flatten the ephemeral chain into extra_ctes and inject it, set
 * compiled_code / compiled_path, write target/compiled/..., and compile
 * free SQL given with --inline.
 *
 * Parsing and dependency resolution are dbt_parse.c's; the CTE splice is
 * dbt_ephemeral.c's; running the SQL is src/exec's. */
#include <errno.h>
#include <string.h>
#include "dbtpriv.h"
#include "../base/fs.h"

static int compile_rec(Dbt *d, Node *n, int depth, Diag *err);

static bool renders(ResourceType rt)
{
    return rt == RT_MODEL || rt == RT_TEST || rt == RT_ANALYSIS || rt == RT_SNAPSHOT;
}

const char *dbt_node_compiled_path(Dbt *d, Node *n)
{
    Project *p = d->p;
    const char *tp = p->target_path ? p->target_path : "target";
    const char *ofp = n->original_file_path ? n->original_file_path : "";
    const char *pkg = n->package_name ? n->package_name : "";
    if (n->is_generic_test)
        return arena_sprintf(&p->arena, "%s/compiled/%s/%s/%s", tp, pkg, ofp, n->path ? n->path : "");
    return arena_sprintf(&p->arena, "%s/compiled/%s/%s", tp, pkg, ofp);
}

/* One CTE list entry being built: unique_id -> sql, first position wins. */
typedef struct Cte { const char *id, *sql; } Cte;
typedef VEC(Cte) CteVec;

static void cte_add(CteVec *v, const char *id, const char *sql)
{
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->items[i].id, id) == 0) {
            v->items[i].sql = sql;          /* refreshed, position kept */
            return;
        }
    Cte c = {id, sql};
    vec_push(v, c);
}

static int build_ctes(Dbt *d, Node **eph, size_t neph, int depth, CteVec *out, Diag *err)
{
    Project *p = d->p;
    for (size_t i = 0; i < neph; i++) {
        Node *e = eph[i];
        if (!e->compiled && compile_rec(d, e, depth + 1, err) != 0)
            return -1;
        if (e->extra_ctes)
            for (size_t k = 0; k < e->extra_ctes->len; k++) {
                Value c = e->extra_ctes->items[k];
                Value *id = dict_getz(c.u.d, "id"), *sql = dict_getz(c.u.d, "sql");
                cte_add(out, value_cstr(*id), value_cstr(*sql));
            }
        const char *alias = e->alias ? e->alias : e->name;
        const char *sql = arena_sprintf(&p->arena, " __dbt__cte__%s as (\n%s\n)", alias,
                                        e->compiled_pre ? e->compiled_pre : "");
        cte_add(out, e->unique_id, sql);
    }
    return 0;
}

/* Generic tests of one kind have the same code ("{{ test_unique(**...) }}"):
 * one parse serves them all, each reporting positions in its own SrcFile.
 * NULL (parse the node's own text) when the shared parse fails. */
static Template *shared_tpl(Dbt *d, Node *n, Arena *ra)
{
    Diag e = {0};
    Template *t = dbt_cached_tpl(d, n->src.text, n->src.len, "<string>", &e);
    diag_clear(&e);
    return t ? tpl_rebind(ra, t, &n->src) : NULL;
}

typedef struct FkTo { Dbt *d; Node *n; Diag *err; } FkTo;

/* dbt 1.9's compile: a foreign key's `to: ref(...)` / `source(...)` becomes
 * the relation of that node (as the node's own relation renders) */
static int fk_to(void *ud, VDict *c, const char *to)
{
    FkTo *x = ud;
    Arena *a = &x->d->p->arena;
    NodeRef r = {0};
    NodeSrcRef sr = {0};
    int kind = project_fk_target(a, to, &r, &sr);
    if (kind == 0)
        return 0;
    Node *t = NULL;
    if (kind == 'r') {
        t = dbt_find_ref(x->d, &x->d->refable, x->n, r.package, r.name, r.version);
    } else if (kind == 's') {
        char *key = arena_sprintf(a, "%s.%s", sr.source, sr.table);
        t = dbt_find_node(x->d, &x->d->sources, x->n, NULL, key);
    }
    if (!t) {
        diag_set(x->err, NULL, 0, 0, NULL, "'%s' depends on '%s' which is not in the graph!", x->n->unique_id, to);
        return -1;
    }
    dict_setz(a, c, "to", v_strz(a, dbt_node_relation_name(x->d, t, a)));
    return 0;
}

static int compile_rec(Dbt *d, Node *n, int depth, Diag *err)
{
    Project *p = d->p;
    if (depth > DBT_MAX_EPHEMERAL_DEPTH) {
        diag_set(err, NULL, 0, 0, NULL, "ephemeral models nested deeper than %d levels at '%s'",
                 DBT_MAX_EPHEMERAL_DEPTH, n->unique_id);
        return -1;
    }
    if (!renders(n->rt))
        return 0;
    /* each (possibly nested) compile gets its own render arena; the tree
     * is parsed into it (unless the node already holds one) and dropped with
     * it, so only the nodes being compiled have a tree in memory */
    Arena ra;
    arena_init(&ra, 0);
    Template *tpl = n->tpl;
    if (!tpl && !n->src.text)
        srcfile_init(&n->src, n->original_file_path, n->raw_code ? n->raw_code : "", n->raw_len);
    if (!tpl && n->is_generic_test)
        tpl = shared_tpl(d, n, &ra);
    if (!tpl) {
        tpl = tpl_parse(&ra, &n->src, err);
        if (!tpl) {
            dbt_error_prefix(err, n);
            arena_free(&ra);
            return -1;
        }
    }
    DbtCtx c;
    dbt_ctx_init(&c, d, n, DBT_COMPILE, &ra);
    Sb sb = SB_INIT, inj = SB_INIT;
    CteVec ctes = {0};
    int rc = -1;
    Interp *I = dbt_interp(&c, err);
    if (n->is_generic_test && dbt_test_kwargs(&c, I) != 0)
        goto fail;
    if (tpl_render(I, tpl, &sb) != 0)
        goto fail;
    n->compiled_pre = arena_strndup(&p->arena, sb_cstr(&sb), sb.len);
    if (build_ctes(d, c.ephem.items, c.ephem.len, depth, &ctes, err) != 0)
        goto done;              /* error already names the ephemeral node */
    n->extra_ctes = v_list(&p->arena, ctes.len).u.l;
    if (ctes.len) {
        Sb joined = SB_INIT;
        for (size_t i = 0; i < ctes.len; i++) {
            Value e = v_dict(&p->arena);
            dict_setz(&p->arena, e.u.d, "id", v_strz(&p->arena, ctes.items[i].id));
            dict_setz(&p->arena, e.u.d, "sql", v_strz(&p->arena, ctes.items[i].sql));
            list_append(&p->arena, n->extra_ctes, e);
            if (i)
                sb_puts(&joined, ", ");
            sb_puts(&joined, ctes.items[i].sql);
        }
        dbt_inject_ctes(n->compiled_pre, sb.len, sb_cstr(&joined), joined.len, &inj);
        node_set_compiled_code(n, arena_strndup(&p->arena, sb_cstr(&inj), inj.len));
        sb_free(&joined);
    } else {
        node_set_compiled_code(n, n->compiled_pre);
    }
    FkTo fk = {d, n, err};
    if (dbt_each_fk(n, fk_to, &fk) != 0)
        goto fail;
    n->compiled = true;
    n->compiled_path = dbt_node_compiled_path(d, n);
    rc = 0;
    goto done;
fail:
    dbt_error_prefix(err, n);
done:
    vec_free(&ctes);
    sb_free(&sb);
    sb_free(&inj);
    dbt_ctx_fini(&c);
    arena_free(&ra);
    return rc;
}

int dbt_compile_node(Dbt *d, Node *n, Diag *err)
{
    if (!d->p || !d->parsed) {
        diag_set(err, NULL, 0, 0, NULL, "dbt_compile_node called before dbt_parse");
        return -1;
    }
    if (n->compiled)
        return 0;
    if (n->rt == RT_UNIT_TEST)
        return dbt_compile_unit_test(d, n, err);
    return compile_rec(d, n, 0, err);
}

bool dbt_compiled_file(Dbt *d, const Node *n, Sb *path)
{
    if (!n->compiled || !n->compiled_path)
        return false;
    if (n->compiled_path[0] == '/')
        sb_puts(path, n->compiled_path);
    else
        path_join(path, d->p->root ? d->p->root : ".", n->compiled_path);
    return true;
}

int dbt_write_compiled(Dbt *d, Node *n, Diag *err)
{
    Sb path = SB_INIT;
    if (!dbt_compiled_file(d, n, &path))
        return 0;
    const char *code = n->compiled_code ? n->compiled_code : "";
    int rc = fs_write_file_direct(sb_cstr(&path), code, strlen(code));
    if (rc != 0)
        diag_set(err, sb_cstr(&path), 0, 0, NULL, "cannot write compiled SQL: %s", strerror(errno));
    sb_free(&path);
    return rc;
}

static int compile_inline_node(Dbt *d, Node *n, const char **out, Diag *err)
{
    Project *p = d->p;
    Arena *a = &p->arena;
    if (dbt_parse_node(d, n, err) != 0)
        return -1;
    /* resolve its refs/sources against the parsed project */
    for (int i = 0; i < n->nrefs; i++) {
        Node *t = dbt_find_ref(d, &d->refable, n, n->refs[i].package, n->refs[i].name, n->refs[i].version);
        if (!t) {
            bool dis = dbt_find_ref(d, &d->refable_disabled, n, n->refs[i].package, n->refs[i].name, n->refs[i].version) != NULL;
            diag_set(err, NULL, 0, 0, NULL, "Model '%s' (%s) depends on a node named '%s' which %s",
                     n->unique_id, n->original_file_path, n->refs[i].name,
                     dis ? "is disabled" : "was not found");
            return -1;
        }
    }
    const char **deps = ARENA_ARRAY(a, const char *, n->nrefs + n->nsources + 1);
    int nd = 0;
    for (int i = 0; i < n->nrefs; i++)
        deps[nd++] = dbt_find_ref(d, &d->refable, n, n->refs[i].package, n->refs[i].name, n->refs[i].version)->unique_id;
    Sb k = SB_INIT;
    for (int i = 0; i < n->nsources; i++) {
        sb_reset(&k);
        sb_printf(&k, "%s.%s", n->sources[i].source, n->sources[i].table);
        Node *t = dbt_find_node(d, &d->sources, n, NULL, sb_cstr(&k));
        if (!t) {
            diag_set(err, NULL, 0, 0, NULL, "Model '%s' (%s) depends on a source named '%s' which was not found",
                     n->unique_id, n->original_file_path, sb_cstr(&k));
            sb_free(&k);
            return -1;
        }
        deps[nd++] = t->unique_id;
    }
    sb_free(&k);
    n->dep_nodes = deps;
    n->ndep_nodes = nd;
    Value *tdb = p->target ? dict_getz(p->target, "database") : NULL;
    Value *tsc = p->target ? dict_getz(p->target, "schema") : NULL;
    n->database = tdb ? value_cstr(*tdb) : NULL;
    n->schema = tsc ? value_cstr(*tsc) : NULL;
    n->alias = n->name;
    if (compile_rec(d, n, 0, err) != 0)
        return -1;
    *out = n->compiled_code;
    return 0;
}

int dbt_compile_inline(Dbt *d, const char *sql, const char **out, Diag *err)
{
    Project *p = d->p;
    if (!p || !d->parsed) {
        diag_set(err, NULL, 0, 0, NULL, "dbt_compile_inline called before dbt_parse");
        return -1;
    }
    Arena *a = &p->arena;
    Node *n = ARENA_NEW(a, Node);
    n->index = -1;
    n->rt = RT_MODEL;
    n->name = "inline_query";
    n->package_name = p->name;
    n->unique_id = arena_sprintf(a, "sql_operation.%s.inline_query", p->name ? p->name : "");
    n->path = "sql/inline_query";
    n->original_file_path = "from remote system.sql";
    n->raw_code = arena_strdup(a, sql);
    n->raw_len = strlen(sql);
    n->config = config_defaults(a, RT_MODEL);
    n->unrendered_config = v_dict(a).u.d;
    const char **fqn = ARENA_ARRAY(a, const char *, 2);
    fqn[0] = p->name;
    fqn[1] = "inline_query";
    n->fqn = fqn;
    n->nfqn = 2;
    srcfile_init(&n->src, "inline_query", n->raw_code, n->raw_len);
    int rc = compile_inline_node(d, n, out, err);
    /* the node is no project node: project_free does not free its line
     * index (built when an error names a line) */
    srcfile_free(&n->src);
    return rc;
}

int dbt_render_in_node(Dbt *d, Node *n, const char *text, const char **out, Diag *err)
{
    Project *p = d->p;
    if (!p || !d->parsed) {
        diag_set(err, NULL, 0, 0, NULL, "dbt_render_in_node called before dbt_parse");
        return -1;
    }
    Arena ra;
    arena_init(&ra, 0);
    DbtCtx c;
    dbt_ctx_init(&c, d, n, DBT_COMPILE, &ra);
    Sb sb = SB_INIT;
    int rc = -1;
    SrcFile f;
    srcfile_init(&f, n->original_file_path ? n->original_file_path : "<hook>", text, strlen(text));
    Template *t = tpl_parse(&ra, &f, err);
    if (!t)
        goto fail;
    Interp *I = dbt_interp(&c, err);
    if (tpl_render(I, t, &sb) != 0)
        goto fail;
    *out = arena_strndup(&p->arena, sb_cstr(&sb), sb.len);
    rc = 0;
    goto done;
fail:
    dbt_error_prefix(err, n);
done:
    sb_free(&sb);
    srcfile_free(&f);
    dbt_ctx_fini(&c);
    arena_free(&ra);
    return rc;
}
