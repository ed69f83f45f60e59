/* dbt.c - the Dbt object: options, invocation id, run_started_at, the
 * ProjectRenderer used while loading YAML (§1.6, §1.8, §3.5), attaching a
 * loaded project (macro namespace + the shared globals dict), and the thin
 * manifest entry point.
 *
 * The parse pass is dbt_parse.c, the compile pass dbt_compile.c, the context
 * members dbt_context.c; manifest.json itself is written by manifest.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "dbtpriv.h"
#include "manifest.h"

static void make_uuid4(char out[37])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(b, 1, sizeof b, f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof b) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        unsigned long long x = (unsigned long long)tv.tv_sec * 1000003ULL ^ (unsigned long long)tv.tv_usec;
        for (size_t i = 0; i < sizeof b; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

void dbt_uuid4(char out[37]) { make_uuid4(out); }

static bool has_jinja(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#'))
            return true;
    return false;
}

static int yaml_render(void *ud, RenderScope scope, const char *pkg, const char *s, size_t n, const char *file,
                       int line, int col, Value *out, Diag *err)
{
    Dbt *d = (Dbt *)ud;
    if (!has_jinja(s, n)) {
        *out = v_str(&d->arena, s, n);
        return 0;
    }
    int rc = -1;
    SrcFile f;
    srcfile_init(&f, file ? file : "<yaml>", s, n);
    f.line_base = line > 0 ? line - 1 : 0;
    f.col_base = col > 0 ? col - 1 : 0;
    DbtCtx c;
    dbt_ctx_init(&c, d, NULL, DBT_YAML, &d->scratch);
    c.scope = scope;
    if (scope == PR_PROPERTIES)
        c.yaml_pkg = pkg;
    Template *t = tpl_parse(&d->scratch, &f, err);
    if (!t)
        goto done;
    Interp *I = dbt_interp(&c, err);
    Value v;
    if (tpl_render_native(I, t, &v) != 0)
        goto done;
    *out = value_deep_copy(&d->arena, v);
    rc = 0;
done:
    dbt_ctx_fini(&c);
    srcfile_free(&f);
    arena_reset(&d->scratch);
    return rc;
}

static void yaml_bind(void *ud, Project *p)
{
    Dbt *d = (Dbt *)ud;
    d->p = p;
}

Dbt *dbt_new(const DbtOptions *opt)
{
    Dbt *d = xcalloc(1, sizeof *d);
    if (opt)
        d->opt = *opt;
    arena_init(&d->arena, 0);
    arena_init(&d->scratch, 0);
    strmap_init(&d->refable);
    strmap_init(&d->refable_disabled);
    strmap_init(&d->sources);
    strmap_init(&d->tpl_cache);
    make_uuid4(d->invocation_id);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tmv;
    time_t secs = tv.tv_sec;
    gmtime_r(&secs, &tmv);
    d->run_started_at = v_datetime(&d->arena, tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
                                   tmv.tm_hour, tmv.tm_min, tmv.tm_sec, (int)tv.tv_usec, true);
    d->yaml_globals = v_dict(&d->arena).u.d;
    dbt_add_common_globals(d, d->yaml_globals);
    d->renderer.render = yaml_render;
    d->renderer.ud = d;
    d->renderer.bind = yaml_bind;
    return d;
}

void dbt_free(Dbt *d)
{
    if (!d)
        return;
    dbt_trace_macros(d, DBT_TRACE_OFF);
    dbt_macros_free(d);
    if (d->macro_defs_built)
        strmap_free(&d->macro_defs);
    strmap_free(&d->refable);
    strmap_free(&d->refable_disabled);
    strmap_free(&d->sources);
    Template *t;
    for (size_t i = 0; i < d->tpl_cache.len; i++) {
        t = (Template *)d->tpl_cache.entries[i].val;
        srcfile_free(tpl_srcfile(t));
    }
    strmap_free(&d->tpl_cache);
    free(d->tpl_seen);
    srcfile_free(&d->builtins_src);
    arena_free(&d->arena);
    arena_free(&d->scratch);
    free(d);
}

const ProjectRenderer *dbt_renderer(Dbt *d) { return &d->renderer; }

const char *dbt_invocation_id(Dbt *d) { return d->invocation_id; }

Project *dbt_project(Dbt *d) { return d->p; }

int dbt_attach(Dbt *d, Project *p, Diag *err)
{
    d->p = p;
    if (dbt_macros_init(d, err) != 0)
        return -1;
    Arena *a = &d->arena;
    VDict *g = v_dict(a).u.d;
    dbt_add_common_globals(d, g);
    dbt_add_node_globals(d, g);
    /* macros (§3.9 lookup order): dbt's first, then the "dbt" namespace and
     * the packages' namespaces (by package name), the root project's macros
     * over them */
    StrMap *m = &d->macros[DBT_PKG_DBT];
    for (size_t i = 0; i < m->len; i++) {
        DbtMacro *dm = (DbtMacro *)m->entries[i].val;
        dict_setz(a, g, dm->name, v_macro(dm->m));
    }
    Value ns = {.type = V_DICT};
    ns.u.d = d->pkg_ns[DBT_PKG_DBT];
    dict_setz(a, g, "dbt", ns);
    for (int k = 0; k < p->npackages; k++) {
        ns.u.d = d->pkg_ns[DBT_PKG_FIRST + k];
        dict_setz(a, g, p->packages[k]->name, ns);
    }
    m = &d->macros[DBT_PKG_ROOT];
    for (size_t i = 0; i < m->len; i++) {
        DbtMacro *dm = (DbtMacro *)m->entries[i].val;
        dict_setz(a, g, dm->name, v_macro(dm->m));
    }
    if (p->name && !dict_getz(g, p->name)) {
        ns.u.d = d->pkg_ns[DBT_PKG_ROOT];
        dict_setz(a, g, p->name, ns);
    }
    /* a package's nodes see its own macros first */
    for (int k = 0; k < p->npackages; k++) {
        int slot = DBT_PKG_FIRST + k;
        VDict *pg = v_dict(a).u.d;
        VDictEntry *e;
        for (size_t it = 0; dict_next(g, &it, &e);)
            dict_set(a, pg, e->key, e->val);
        m = &d->macros[slot];
        for (size_t i = 0; i < m->len; i++) {
            DbtMacro *dm = (DbtMacro *)m->entries[i].val;
            dict_setz(a, pg, dm->name, v_macro(dm->m));
        }
        d->pkg_globals[slot] = pg;
    }
    d->globals = g;
    return 0;
}

int dbt_write_manifest(Dbt *d, const char *path, Diag *err)
{
    if (!d->p) {
        diag_set(err, NULL, 0, 0, NULL, "no project loaded");
        return -1;
    }
    return manifest_write(d->p, d->invocation_id, path, err);
}
