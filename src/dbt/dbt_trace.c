/* dbt_trace.c - macro tracing (dbt.h: dbt_trace_macros): the files of the
 * user macros that renders call, through the template engine's macro hook.
 *
 * cmd_compile uses it to reuse the compiled code of tests after an edit of
 * macro files only: a test whose compile called no macro of an edited file
 * compiles as before, unless the parse pass called one and a relation
 * changed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dbtpriv.h"

typedef struct DbtTrace {
    int mode;
    pthread_mutex_t mu;          /* the parse pass renders on two threads */
    StrMap seen;                 /* absolute file path -> itself */
} DbtTrace;

/* A user macro as renders meet it (d->macro_defs' values). */
typedef struct DbtMacroRef {
    const MacroDef *md;
    const char *file;            /* absolute path of its file */
} DbtMacroRef;

static const char *macro_file(Dbt *d, const MacroDef *md)
{
    const Package *pk = project_package(d->p, md->package_name);
    const char *root = pk ? pk->root : d->p->root;
    return arena_sprintf(&d->arena, "%s/%s", root ? root : ".", md->original_file_path ? md->original_file_path : "");
}

void dbt_trace_macros(Dbt *d, int mode)
{
    if (mode == DBT_TRACE_OFF) {
        if (d->trace) {
            strmap_free(&d->trace->seen);
            pthread_mutex_destroy(&d->trace->mu);
            free(d->trace);
            d->trace = NULL;
        }
        return;
    }
    if (!d->p)
        return;
    if (!d->trace) {
        DbtTrace *t = xcalloc(1, sizeof *t);
        pthread_mutex_init(&t->mu, NULL);
        strmap_init(&t->seen);
        dbt_macro_defs_build(d);
        d->trace = t;
    }
    d->trace->mode = mode;
}

static void trace_note(DbtTrace *t, const char *f)
{
    pthread_mutex_lock(&t->mu);
    if (!strmap_getz(&t->seen, f))
        strmap_putz(&t->seen, f, (void *)f);
    pthread_mutex_unlock(&t->mu);
}

static bool trace_wants(const DbtCtx *c)
{
    const DbtTrace *t = c->d->trace;
    return t && (t->mode == DBT_TRACE_ALL ||
                 (t->mode == DBT_TRACE_TESTS && c->pass == DBT_COMPILE && c->n && c->n->rt == RT_TEST));
}

/* Built before any render may look it up (no insertion later). */
void dbt_macro_defs_build(Dbt *d)
{
    if (d->macro_defs_built || !d->p)
        return;
    strmap_init(&d->macro_defs);
    for (int i = 0; i < d->p->nmacros; i++) {
        MacroDef *md = d->p->macros[i];
        if (!md->macro)
            continue;
        DbtMacroRef *r = ARENA_NEW(&d->arena, DbtMacroRef);
        *r = (DbtMacroRef){md, macro_file(d, md)};
        strmap_put(&d->macro_defs, (const char *)&md->macro, sizeof md->macro, r);
    }
    d->macro_defs_built = true;
}

/* Every macro call (and read of a macro's attributes) of the render. */
static void hook(void *ud, const TplMacro *m)
{
    DbtCtx *c = ud;
    const DbtMacroRef *r = strmap_get(&c->d->macro_defs, (const char *)&m, sizeof m);
    if (!r)
        return;                  /* dbt's built-ins, caller blocks, macros of the node's own code */
    if (c->rec) {
        bool seen = false;
        for (size_t i = c->rec->macros.len; i-- > 0 && !seen;)
            seen = c->rec->macros.items[i] == r->md;
        if (!seen)
            vec_push(&c->rec->macros, r->md);
    }
    if (trace_wants(c))
        trace_note(c->d->trace, r->file);
}

void dbt_trace_attach(DbtCtx *c, Interp *I)
{
    if (c->d->macro_defs_built && (c->rec || trace_wants(c)))
        interp_set_macro_hook(I, hook, c);
}

void dbt_rec_var(DbtCtx *c, const char *name)
{
    for (size_t i = 0; i < c->rec->vars.len; i++)
        if (strcmp(c->rec->vars.items[i], name) == 0)
            return;
    vec_push(&c->rec->vars, arena_strdup(c->rec->keep, name));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

size_t dbt_traced_files(Dbt *d, const char ***out)
{
    *out = NULL;
    if (!d->trace)
        return 0;
    DbtTrace *t = d->trace;
    pthread_mutex_lock(&t->mu);
    size_t n = t->seen.len;
    const char **v = ARENA_ARRAY(&d->arena, const char *, n + 1);
    for (size_t i = 0; i < n; i++)
        v[i] = t->seen.entries[i].val;
    strmap_free(&t->seen);
    strmap_init(&t->seen);
    pthread_mutex_unlock(&t->mu);
    qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

size_t dbt_macro_files(Dbt *d, const char ***out)
{
    *out = NULL;
    if (!d->p)
        return 0;
    StrMap seen;
    strmap_init(&seen);
    for (int i = 0; i < d->p->nmacros; i++) {
        const char *f = macro_file(d, d->p->macros[i]);
        if (!strmap_getz(&seen, f))
            strmap_putz(&seen, f, (void *)f);
    }
    const char **v = ARENA_ARRAY(&d->arena, const char *, seen.len + 1);
    size_t n = seen.len;
    for (size_t i = 0; i < n; i++)
        v[i] = seen.entries[i].val;
    strmap_free(&seen);
    qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

void dbt_compile_reuse(Dbt *d, Node *n, const char *code)
{
    n->compiled_pre = code;
    n->extra_ctes = v_list(&d->p->arena, 0).u.l;
    node_set_compiled_code(n, code);
    n->compiled = true;
    n->compiled_path = dbt_node_compiled_path(d, n);
}
