/* project.c - project_load(): the order of the loading steps, the node
 * registry (enabled nodes, disabled nodes, unique_id lookups) and the
 * resource-type names.
 *
 * The steps themselves live in dbtproject.c (locating the project,
 * dbt_project.yml), profile.c (profiles.yml), discover.c (files on disk),
 * props.c (properties files, sources), gentest.c (generic test nodes) and
 * config.c (config folding).  Nothing here renders SQL. */
#include "projpriv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static const char *const rt_names[RT__COUNT] = {
    "model", "seed", "test", "snapshot", "analysis", "source", "macro", "operation", "unit_test",
    "exposure",
};

const char *rt_name(ResourceType rt)
{
    return (unsigned)rt < RT__COUNT ? rt_names[rt] : "unknown";
}

int rt_from_name(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < RT__COUNT; i++)
        if (!strcmp(s, rt_names[i]))
            return i;
    return -1;
}

static double now_epoch(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

Node *pl_new_node(Loader *L, ResourceType rt)
{
    Node *n = ARENA_NEW(L->a, Node);
    n->rt = rt;
    n->package_name = L->pkg->name;
    n->index = -1;
    n->description = "";
    memcpy(n->checksum_name, "sha256", 7);
    return n;
}

const char *pl_intern(Loader *L, const char *s, size_t n)
{
    const char *c = strmap_get(&L->interned, s, n);
    if (!c) {
        c = arena_strndup(L->a, s, n);
        strmap_put(&L->interned, s, n, (void *)c);
    }
    return c;
}

char *pl_cat(Arena *a, ...)
{
    size_t lens[8], n = 0, k = 0;    /* lengths of the first parts, not measured twice */
    va_list ap;
    va_start(ap, a);
    for (const char *s; (s = va_arg(ap, const char *)); k++) {
        size_t l = strlen(s);
        if (k < sizeof lens / sizeof *lens)
            lens[k] = l;
        n += l;
    }
    va_end(ap);
    char *out = arena_alloc(a, n + 1), *p = out;
    va_start(ap, a);
    k = 0;
    for (const char *s; (s = va_arg(ap, const char *)); k++) {
        size_t l = k < sizeof lens / sizeof *lens ? lens[k] : strlen(s);
        memcpy(p, s, l);
        p += l;
    }
    va_end(ap);
    *p = '\0';
    return out;
}

VDict *pl_empty_dict(Loader *L) { return v_dict(L->a).u.d; }

bool pl_enabled(VDict *config)
{
    Value *v = config ? dict_getz(config, "enabled") : NULL;
    if (!v)
        return true;
    if (v->type == V_STR)
        return strcasecmp(v->u.s->s, "false") != 0;
    return value_truthy(*v);
}

int pl_add_node(Loader *L, Node *n)
{
    if (!n->created_at)
        n->created_at = now_epoch();
    if (!pl_enabled(n->config)) {
        n->disabled = true;
        vec_push(&L->disabled, n);
        return 0;
    }
    Node *old = strmap_putz(&L->p->by_id, n->unique_id, n);
    if (old) {
        strmap_putz(&L->p->by_id, n->unique_id, old);
        diag_set(L->err, NULL, 0, 0, NULL,
                 "dbt found two %ss with the name \"%s\" (%s and %s)",
                 rt_name(n->rt), n->name, old->original_file_path, n->original_file_path);
        return -1;
    }
    n->index = (int)L->nodes.len;
    vec_push(&L->nodes, n);
    return 0;
}

const char **pl_fqn(Loader *L, const char *dirs_path, const char *name, int *nout)
{
    int ndirs = 0;
    for (const char *s = dirs_path; s && *s; s++)
        if (*s == '/')
            ndirs++;
    const char **fqn = ARENA_ARRAY(L->a, const char *, ndirs + 2);
    int k = 0;
    fqn[k++] = L->pkg->name;
    const char *s = dirs_path;
    for (int i = 0; i < ndirs; i++) {
        const char *slash = strchr(s, '/');
        if (slash > s)
            fqn[k++] = pl_intern(L, s, (size_t)(slash - s));
        s = slash + 1;
    }
    fqn[k++] = name;
    *nout = k;
    return fqn;
}

Node *project_node(Project *p, const char *unique_id)
{
    return p && unique_id ? strmap_getz(&p->by_id, unique_id) : NULL;
}

/* A project's vars: those scoped to pkg (`vars: {<pkg>: {...}}`), then its global ones. */
static Value *vars_in(VDict *vars, const char *pkg, const char *name)
{
    if (!vars)
        return NULL;
    if (pkg) {
        Value *scoped = dict_getz(vars, pkg);
        if (scoped && scoped->type == V_DICT) {
            Value *v = dict_getz(scoped->u.d, name);
            if (v)
                return v;
        }
    }
    return dict_getz(vars, name);
}

Value *project_var(const Project *p, VDict *cli_vars, const char *pkg, const char *name, bool project_vars)
{
    Value *v = cli_vars ? dict_getz(cli_vars, name) : NULL;
    if (v || !project_vars || !p || !p->vars)
        return v;
    v = vars_in(p->vars, pkg, name);
    if (v || !pkg || !p->npackages || strcmp(pkg, p->name) == 0)
        return v;
    Package *pk = project_package(p, pkg);
    return pk ? vars_in(pk->vars, pkg, name) : NULL;
}

Package *project_package(const Project *p, const char *name)
{
    if (!p || !name)
        return NULL;
    if (p->name && strcmp(name, p->name) == 0)
        return p->self;
    for (int i = 0; i < p->npackages; i++)
        if (strcmp(p->packages[i]->name, name) == 0)
            return p->packages[i];
    return NULL;
}

void project_free(Project *p)
{
    if (!p)
        return;
    strmap_free(&p->by_id);
    strmap_free(&p->macro_by_name);
    for (int i = 0; i < p->npackages; i++)
        strmap_free(p->packages[i]->macro_by_name);
    pl_config_free(p);
    for (int i = 0; i < p->nnodes; i++)
        srcfile_free(&p->nodes[i]->src);
    for (int i = 0; i < p->ndisabled; i++)
        srcfile_free(&p->disabled[i]->src);
    /* a macro file's line index, built when a render asked for a line in it
     * (an error, an inline if without else); its macros share it */
    for (int i = 0; i < p->nmacros; i++)
        if (p->macros[i]->macro)
            srcfile_free(tpl_srcfile(tpl_macro_template(p->macros[i]->macro)));
    arena_free(&p->arena);
    free(p);
}

/* Check that refable names (models, seeds, snapshots) are unique among the
 * enabled nodes of each package (packages may share names). */
static int check_names(Loader *L)
{
    StrMap seen;
    strmap_init(&seen);
    int rc = 0;
    Sb key = SB_INIT;
    for (size_t i = 0; i < L->nodes.len; i++) {
        Node *n = L->nodes.items[i];
        if (n->rt != RT_MODEL && n->rt != RT_SEED && n->rt != RT_SNAPSHOT)
            continue;
        const char *k = n->name;
        if (L->p->npackages || n->version) {
            sb_reset(&key);
            if (L->p->npackages) {
                sb_puts(&key, n->package_name);
                sb_putc(&key, '\x1f');
            }
            sb_puts(&key, n->name);
            if (n->version) {    /* versions of one model share its name */
                sb_putc(&key, '\x1e');
                sb_puts(&key, n->version->vtext);
            }
            k = sb_cstr(&key);
        }
        Node *old = strmap_getz(&seen, k);
        if (old) {
            if (old->rt == n->rt)
                diag_set(L->err, NULL, 0, 0, NULL,
                         "dbt found two %ss with the name \"%s\" (%s and %s)", rt_name(n->rt), n->name,
                         old->original_file_path, n->original_file_path);
            else
                diag_set(L->err, NULL, 0, 0, NULL,
                         "dbt found two resources with the name \"%s\" (%s %s and %s %s)", n->name,
                         rt_name(old->rt), old->original_file_path, rt_name(n->rt), n->original_file_path);
            rc = -1;
            break;
        }
        strmap_putz(&seen, k, n);
    }
    sb_free(&key);
    strmap_free(&seen);
    return rc;
}

#define COPY_VEC(dst, cnt, vec, T) do { \
        (cnt) = (int)(vec).len; \
        (dst) = ARENA_ARRAY(&p->arena, T, (vec).len + 1); \
        if ((vec).len) memcpy((dst), (vec).items, (vec).len * sizeof(T)); \
    } while (0)

Project *project_load(const ProjectOptions *opt, const ProjectRenderer *r, Diag *err)
{
    static const ProjectOptions none = {0};
    Project *p = xcalloc(1, sizeof *p);
    arena_init(&p->arena, 0);
    strmap_init(&p->by_id);
    strmap_init(&p->macro_by_name);
    p->priv = ARENA_NEW(&p->arena, struct ProjectPriv);
    strmap_init(&p->priv->memo);
    strmap_init(&p->priv->calls);
    strmap_init(&p->priv->warn_seen);

    Loader L;
    memset(&L, 0, sizeof L);
    L.p = p;
    L.a = &p->arena;
    L.opt = opt ? opt : &none;
    L.r = r;
    L.err = err;
    arena_init(&L.tree, 0);
    strmap_init(&L.interned);
    for (int i = 0; i < RT__COUNT; i++) {
        strmap_init(&L.root_by_name[i]);
        strmap_init(&L.root_patched[i]);
    }
    L.by_name = L.root_by_name;
    L.patched = L.root_patched;
    int rc = -1;
    char *root = NULL;

    if (pl_locate_project(&L, &root) != 0)
        goto done;
    p->root = arena_strdup(L.a, root);
    if (pl_read_project_yml(&L) != 0)      /* also reads the profile and binds the renderer */
        goto done;
    if (L.opt->only_project_yml) {
        COPY_VEC(p->warnings, p->nwarnings, L.warnings, const char *);
        rc = 0;
        goto done;
    }
    L.pkg = p->self;
    L.ignore = pl_ignore_load(&L);
    pl_props_prefetch(&L);
    if (pl_discover(&L) != 0)
        goto done;
    if (pl_read_properties(&L) != 0)
        goto done;
    if (pl_load_packages(&L) != 0)
        goto done;
    if (pl_apply_patches(&L) != 0)
        goto done;
    if (pl_build_tests(&L) != 0)
        goto done;
    if (pl_add_unit_tests(&L) != 0)
        goto done;
    if (pl_add_exposures(&L) != 0)
        goto done;
    if (check_names(&L) != 0)
        goto done;
    if (pl_discover_finish(&L, true) != 0)
        goto done;

    COPY_VEC(p->nodes, p->nnodes, L.nodes, Node *);
    COPY_VEC(p->disabled, p->ndisabled, L.disabled, Node *);
    COPY_VEC(p->macros, p->nmacros, L.macros, MacroDef *);
    COPY_VEC(p->warnings, p->nwarnings, L.warnings, const char *);
    rc = 0;
done:
    pl_props_prefetch_end(&L);
    if (L.reader)
        pl_discover_finish(&L, false);    /* reports a file read before the failing step */
    free(root);
    arena_free(&L.tree);
    strmap_free(&L.interned);
    for (int i = 0; i < RT__COUNT; i++) {
        strmap_free(&L.root_by_name[i]);
        strmap_free(&L.root_patched[i]);
    }
    vec_free(&L.pending);
    vec_free(&L.nodes);
    vec_free(&L.disabled);
    vec_free(&L.macros);
    vec_free(&L.warnings);
    vec_free(&L.jobs);
    vec_free(&L.units);
    vec_free(&L.expos);
    if (rc != 0) {
        /* nodes not yet copied into p->nodes still own SrcFile indexes: none are built before
         * diagnostics, and diagnostics here never use node SrcFiles, so nothing leaks */
        project_free(p);
        return NULL;
    }
    return p;
}
