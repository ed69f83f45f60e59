/* dbt_macros.c - the macro namespace of the dbt context (§3.9): dbt's
 * built-in macros (Jinja text in dbt_builtins.sql, embedded as
 * dbt_builtins.inc), the root project's macros, bare-name lookup (root
 * first, then dbt), package namespaces (`dbt.x`, `<project>.x`),
 * adapter.dispatch's search, and macro unique_ids for depends_on.
 *
 * Duplicate-definition errors and MacroDef creation are the loader's
 * (src/project); the template engine owns parsing and calling macros. */
#include <stdio.h>
#include <stdlib.h>
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

void dbt_macros_free(Dbt *d)
{
    for (int i = 0; i < d->npkg; i++)
        strmap_free(&d->macros[i]);
    free(d->macros);
    free(d->pkg_ns);
    free(d->pkg_globals);
    d->macros = NULL;
    d->pkg_ns = NULL;
    d->pkg_globals = NULL;
    d->npkg = 0;
}

int dbt_pkg_slot(Dbt *d, const char *pkg)
{
    Project *p = d->p;
    if (!pkg)
        return -1;
    if (p && p->name && strcmp(pkg, p->name) == 0)
        return DBT_PKG_ROOT;
    if (strcmp(pkg, "dbt") == 0 || strcmp(pkg, "dbt_postgres") == 0)
        return DBT_PKG_DBT;
    for (int k = 0; p && k < p->npackages; k++)
        if (strcmp(p->packages[k]->name, pkg) == 0)
            return DBT_PKG_FIRST + k;
    return -1;
}

int dbt_node_slot(Dbt *d, const Node *n)
{
    if (!n || !d->p || !d->p->npackages || !node_in_package(d->p, n))
        return DBT_PKG_ROOT;
    int s = dbt_pkg_slot(d, n->package_name);
    return s < 0 ? DBT_PKG_ROOT : s;
}

static void index_macros(Dbt *d, int slot, MacroDef **defs, int ndefs, const char *pkgname)
{
    for (int i = 0; i < ndefs; i++) {
        MacroDef *md = defs[i];
        if (!md->macro || strcmp(md->package_name, pkgname) != 0)
            continue;
        add_macro(d, slot, pkgname, md->name, md->unique_id, md->macro);
    }
}

static bool overrides(Dbt *d, const char *name)
{
    char buf[128];
    for (int slot = 0; slot < d->npkg; slot++) {
        if (slot == DBT_PKG_DBT)
            continue;
        snprintf(buf, sizeof buf, "%s", name);
        if (dbt_macro_in(d, slot, buf))
            return true;
        snprintf(buf, sizeof buf, "default__%s", name);
        if (dbt_macro_in(d, slot, buf))
            return true;
        snprintf(buf, sizeof buf, "postgres__%s", name);
        if (dbt_macro_in(d, slot, buf))
            return true;
    }
    return false;
}

int dbt_macros_init(Dbt *d, Diag *err)
{
    Project *p = d->p;
    dbt_macros_free(d);
    d->npkg = DBT_PKG_FIRST + (p ? p->npackages : 0);
    d->macros = xcalloc((size_t)d->npkg, sizeof *d->macros);
    d->pkg_ns = xcalloc((size_t)d->npkg, sizeof *d->pkg_ns);
    d->pkg_globals = xcalloc((size_t)d->npkg, sizeof *d->pkg_globals);
    for (int i = 0; i < d->npkg; i++) {
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
    if (p) {
        index_macros(d, DBT_PKG_ROOT, p->macros, p->nmacros, p->name);
        for (int k = 0; k < p->npackages; k++)
            index_macros(d, DBT_PKG_FIRST + k, p->macros, p->nmacros, p->packages[k]->name);
    }
    /* macros overridden by the root project or a package make the native fast paths invalid */
    d->native_schema = !overrides(d, "generate_schema_name");
    d->native_alias = !overrides(d, "generate_alias_name");
    d->native_database = !overrides(d, "generate_database_name");
    /* user macros' own dependencies (manifest depends_on.macros) */
    for (int i = 0; p && i < p->nmacros; i++) {
        MacroDef *md = p->macros[i];
        if (!md->macro)
            continue;
        const char **names = NULL;
        size_t nn = tpl_macro_called_names(md->macro, &names);
        int from = dbt_pkg_slot(d, md->package_name);
        dbt_macro_deps(d, from < 0 ? DBT_PKG_ROOT : from, names, nn, &p->arena, &md->dep_macros, &md->ndep_macros);
    }
    return 0;
}

DbtMacro *dbt_macro_in(Dbt *d, int pkg, const char *name)
{
    if (pkg < 0 || pkg >= d->npkg)
        return NULL;
    return (DbtMacro *)strmap_getz(&d->macros[pkg], name);
}

DbtMacro *dbt_macro_lookup_from(Dbt *d, int from, const char *name)
{
    DbtMacro *m = from >= DBT_PKG_FIRST ? dbt_macro_in(d, from, name) : NULL;
    if (!m)
        m = dbt_macro_in(d, DBT_PKG_ROOT, name);
    return m ? m : dbt_macro_in(d, DBT_PKG_DBT, name);
}

DbtMacro *dbt_macro_lookup(Dbt *d, const char *name)
{
    return dbt_macro_lookup_from(d, DBT_PKG_ROOT, name);
}

/* The root dbt_project.yml's `dispatch:` search order for ns (NULL if none). */
static VList *dispatch_config(Dbt *d, const char *ns)
{
    Value *dv = d->p && d->p->project_yml ? dict_getz(d->p->project_yml, "dispatch") : NULL;
    if (!dv || dv->type != V_LIST)
        return NULL;
    for (size_t i = 0; i < dv->u.l->len; i++) {
        Value e = dv->u.l->items[i];
        if (e.type != V_DICT)
            continue;
        Value *mn = dict_getz(e.u.d, "macro_namespace");
        Value *so = dict_getz(e.u.d, "search_order");
        if (mn && mn->type == V_STR && strcmp(mn->u.s->s, ns) == 0 && so && so->type == V_LIST)
            return so->u.l;
    }
    return NULL;
}

/* adapter.dispatch (§3.9): the search order is the `dispatch:` entry of the
 * namespace; else [root project, ns] when ns is a package (installed, the
 * root project itself or dbt); else (no namespace, or one not installed)
 * the bare-name lookup of the calling node.  In each, postgres__ then
 * default__. */
static const char *slot_name(Dbt *d, int slot)
{
    if (slot == DBT_PKG_ROOT)
        return d->p && d->p->name ? d->p->name : "";
    if (slot == DBT_PKG_DBT)
        return "dbt";
    return d->p->packages[slot - DBT_PKG_FIRST]->name;
}

DbtMacro *dbt_dispatch(Dbt *d, int from, const char *name, const char *ns, Sb *attempts)
{
    int order[8], norder = 0;
    const char *onames[8];
    VList *cfg = ns ? dispatch_config(d, ns) : NULL;
    int *ord = order;
    const char **on = onames;
    if (cfg && cfg->len > sizeof order / sizeof *order) {
        ord = xmalloc(cfg->len * sizeof *ord);
        on = xmalloc(cfg->len * sizeof *on);
    }
    if (cfg) {
        /* a package that is not installed is skipped (dbt catches the
         * lookup's error), but listed among the attempts */
        for (size_t i = 0; i < cfg->len; i++) {
            Value it = cfg->items[i];
            on[norder] = it.type == V_STR ? it.u.s->s : "None";
            ord[norder++] = it.type == V_STR ? dbt_pkg_slot(d, it.u.s->s) : -1;
        }
    } else if (ns && dbt_pkg_slot(d, ns) >= 0) {
        ord[norder++] = DBT_PKG_ROOT;
        ord[norder++] = dbt_pkg_slot(d, ns);
    } else {
        /* dbt searches "package None": the bare-name lookup */
        if (from >= DBT_PKG_FIRST)
            ord[norder++] = from;
        ord[norder++] = DBT_PKG_ROOT;
        ord[norder++] = DBT_PKG_DBT;
        if (attempts) {
            sb_printf(attempts, "'postgres__%s', 'default__%s'", name, name);
            attempts = NULL;
        }
    }
    static const char *const prefixes[] = {"postgres__", "default__"};
    char buf[512];
    DbtMacro *found = NULL;
    for (int k = 0; k < norder && !found; k++) {
        for (int j = 0; j < 2 && !found; j++) {
            int w = snprintf(buf, sizeof buf, "%s%s", prefixes[j], name);
            if (w < 0 || (size_t)w >= sizeof buf)
                break;
            found = ord[k] >= 0 ? dbt_macro_in(d, ord[k], buf) : NULL;
            if (attempts)
                sb_printf(attempts, "%s'%s.%s'", attempts->len ? ", " : "",
                          cfg ? on[k] : slot_name(d, ord[k]), buf);
        }
    }
    if (ord != order) {
        free(ord);
        free(on);
    }
    return found;
}

void dbt_macro_deps(Dbt *d, int from, const char **names, size_t nnames, Arena *a,
                    const char ***out, int *nout)
{
    const char **ids = nnames ? ARENA_ARRAY(a, const char *, nnames) : NULL;
    int n = 0;
    char pkg[256];
    for (size_t i = 0; i < nnames; i++) {
        const char *nm = names[i];
        const char *dot = strchr(nm, '.');
        DbtMacro *m = NULL;
        if (!dot) {
            m = dbt_macro_lookup_from(d, from, nm);
        } else {
            size_t pl = (size_t)(dot - nm);
            if (pl < sizeof pkg) {
                memcpy(pkg, nm, pl);
                pkg[pl] = '\0';
                m = dbt_macro_in(d, dbt_pkg_slot(d, pkg), dot + 1);
            }
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
