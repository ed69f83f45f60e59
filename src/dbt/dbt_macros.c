/* dbt_macros.c - the macro namespace of the dbt context (§3.9): dbt's
 * built-in macros (Jinja text in dbt_builtins.sql, embedded as
 * dbt_builtins.inc), the root project's macros, bare-name lookup (root
 * first, then dbt), package namespaces (`dbt.x`, `<project>.x`),
 * adapter.dispatch's search, and macro unique_ids for depends_on.
 *
 * Duplicate-definition errors and MacroDef creation are the loader's
 * (src/project); the template engine owns parsing and calling macros. */
#include <string.h>
#include "dbtpriv.h"

#include "dbt_builtins.inc"

static void add_macro(Dbt *d, int pkg, const char *pkgname, const char *name, const char *uid,
                      TplMacro *m)
{
    DbtMacro *dm = ARENA_NEW(&d->arena, DbtMacro);
    dm->name = arena_strdup(&d->arena, name);
    dm->unique_id = uid ? uid : arena_sprintf(&d->arena, "macro.%s.%s", pkgname, name);
    dm->m = m;
    dm->pkg = pkg;
    strmap_putz(&d->macros[pkg], dm->name, dm);
    dict_setz(&d->arena, d->pkg_ns[pkg], dm->name, v_macro(m));
}

int dbt_macros_init(Dbt *d, Diag *err)
{
    for (int i = 0; i < DBT_NPKG; i++) {
        strmap_free(&d->macros[i]);
        strmap_init(&d->macros[i]);
        d->pkg_ns[i] = v_dict(&d->arena).u.d;
    }
    if (!d->builtins) {
        srcfile_init(&d->builtins_src, "<dbt builtin macros>", dbt_builtin_macros_sql,
                     sizeof dbt_builtin_macros_sql - 1);
        d->builtins = tpl_parse(&d->arena, &d->builtins_src, err);
        if (!d->builtins) {
            diag_prefix(err, "internal error in dbt's built-in macros: ");
            return -1;
        }
    }
    size_t nb = tpl_macro_count(d->builtins);
    for (size_t i = 0; i < nb; i++) {
        TplMacro *m = tpl_macro_at(d->builtins, i);
        add_macro(d, DBT_PKG_DBT, "dbt", tpl_macro_name(m), NULL, m);
    }
    Project *p = d->p;
    for (int i = 0; p && i < p->nmacros; i++) {
        MacroDef *md = p->macros[i];
        if (!md->macro)
            continue;
        add_macro(d, DBT_PKG_ROOT, p->name, md->name, md->unique_id, md->macro);
    }
    /* macros overridden by the root project make the native fast paths invalid */
    d->native_schema = !dbt_macro_in(d, DBT_PKG_ROOT, "generate_schema_name") &&
                       !dbt_macro_in(d, DBT_PKG_ROOT, "default__generate_schema_name") &&
                       !dbt_macro_in(d, DBT_PKG_ROOT, "postgres__generate_schema_name");
    d->native_alias = !dbt_macro_in(d, DBT_PKG_ROOT, "generate_alias_name") &&
                      !dbt_macro_in(d, DBT_PKG_ROOT, "default__generate_alias_name") &&
                      !dbt_macro_in(d, DBT_PKG_ROOT, "postgres__generate_alias_name");
    d->native_database = !dbt_macro_in(d, DBT_PKG_ROOT, "generate_database_name") &&
                         !dbt_macro_in(d, DBT_PKG_ROOT, "default__generate_database_name") &&
                         !dbt_macro_in(d, DBT_PKG_ROOT, "postgres__generate_database_name");
    /* user macros' own dependencies (manifest depends_on.macros) */
    for (int i = 0; p && i < p->nmacros; i++) {
        MacroDef *md = p->macros[i];
        if (!md->macro)
            continue;
        const char **names = NULL;
        size_t nn = tpl_macro_called_names(md->macro, &names);
        dbt_macro_deps(d, names, nn, &p->arena, &md->dep_macros, &md->ndep_macros);
    }
    return 0;
}

DbtMacro *dbt_macro_in(Dbt *d, int pkg, const char *name)
{
    return (DbtMacro *)strmap_getz(&d->macros[pkg], name);
}

DbtMacro *dbt_macro_lookup(Dbt *d, const char *name)
{
    DbtMacro *m = dbt_macro_in(d, DBT_PKG_ROOT, name);
    return m ? m : dbt_macro_in(d, DBT_PKG_DBT, name);
}

DbtMacro *dbt_dispatch(Dbt *d, const char *name, const char *ns)
{
    int order[DBT_NPKG], norder = 0;
    if (!ns || strcmp(ns, "dbt") == 0 || !d->p || strcmp(ns, d->p->name) != 0) {
        order[norder++] = DBT_PKG_ROOT;
        if (!ns || strcmp(ns, "dbt") == 0)
            order[norder++] = DBT_PKG_DBT;
    } else {
        order[norder++] = DBT_PKG_ROOT;
    }
    static const char *const prefixes[] = {"postgres__", "default__"};
    char buf[512];
    for (int k = 0; k < norder; k++) {
        for (int j = 0; j < 2; j++) {
            int w = snprintf(buf, sizeof buf, "%s%s", prefixes[j], name);
            if (w < 0 || (size_t)w >= sizeof buf)
                return NULL;
            DbtMacro *m = dbt_macro_in(d, order[k], buf);
            if (m)
                return m;
        }
    }
    return NULL;
}

void dbt_macro_deps(Dbt *d, const char **names, size_t nnames, Arena *a,
                    const char ***out, int *nout)
{
    const char **ids = nnames ? ARENA_ARRAY(a, const char *, nnames) : NULL;
    int n = 0;
    for (size_t i = 0; i < nnames; i++) {
        const char *nm = names[i];
        const char *dot = strchr(nm, '.');
        DbtMacro *m = NULL;
        if (!dot) {
            m = dbt_macro_lookup(d, nm);
        } else {
            size_t pl = (size_t)(dot - nm);
            if (pl == 3 && memcmp(nm, "dbt", 3) == 0)
                m = dbt_macro_in(d, DBT_PKG_DBT, dot + 1);
            else if (d->p && strlen(d->p->name) == pl && memcmp(nm, d->p->name, pl) == 0)
                m = dbt_macro_in(d, DBT_PKG_ROOT, dot + 1);
        }
        if (!m)
            continue;
        bool dup = false;
        for (int j = 0; j < n && !dup; j++)
            dup = strcmp(ids[j], m->unique_id) == 0;
        if (!dup)
            ids[n++] = m->unique_id;
    }
    *out = ids;
    *nout = n;
}
