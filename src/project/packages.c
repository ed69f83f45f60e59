/* packages.c - installed packages (spec §1.2 packages-install-path, §1.4
 * layer 5, §2.1): every immediate subdirectory of
 * <root>/<packages-install-path> (default dbt_packages) holding a
 * dbt_project.yml is a package named by that file's `name`.  Its models,
 * seeds, snapshots, analyses, singular and generic tests, macros and
 * properties files are found under its own search paths exactly as the
 * root project's are (discover.c, props.c), with L->pkg pointing at it:
 * ids, fqns and package_name carry its name, original_file_path is
 * relative to its directory.
 *
 * Everything looked at goes through the journaled fs calls: the install
 * directory (its listing, or its absence), each subdirectory's
 * dbt_project.yml (or its absence), and then each package's files as for
 * the root project, so the whole-project snapshot sees a package added,
 * removed or edited. */
#include "projpriv.h"

#include <stdlib.h>
#include <string.h>

#include "../base/fs.h"

typedef struct { VEC(char *) names; } DirNames;

static int collect_dir(void *ud, const char *name)
{
    DirNames *d = ud;
    if (strncmp(name, "__", 2) != 0)
        vec_push(&d->names, xstrdup(name));
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_pkg(const void *a, const void *b)
{
    return strcmp((*(Package *const *)a)->name, (*(Package *const *)b)->name);
}

/* Load one package's files with L->pkg = pk. */
static int load_one(Loader *L, Package *pk)
{
    StrMap *by_name = ARENA_ARRAY(&L->tree, StrMap, RT__COUNT);
    StrMap *patched = ARENA_ARRAY(&L->tree, StrMap, RT__COUNT);
    for (int i = 0; i < RT__COUNT; i++) {
        strmap_init(&by_name[i]);
        strmap_init(&patched[i]);
    }
    struct Reader *root_reader = L->reader;
    struct DbtIgnore *root_ignore = L->ignore;
    L->reader = NULL;
    L->pkg = pk;
    L->by_name = by_name;
    L->patched = patched;
    L->ignore = pl_ignore_load(L);
    int rc = pl_discover(L);
    if (rc == 0)
        rc = pl_read_package_properties(L);
    if (L->reader || rc == 0)
        rc = pl_discover_finish(L, rc == 0) != 0 ? -1 : rc;
    L->reader = root_reader;
    L->ignore = root_ignore;
    L->pkg = L->p->self;
    L->by_name = L->root_by_name;
    L->patched = L->root_patched;
    for (int i = 0; i < RT__COUNT; i++) {
        strmap_free(&by_name[i]);
        strmap_free(&patched[i]);
    }
    return rc;
}

int pl_load_packages(Loader *L)
{
    Project *p = L->p;
    if (L->opt->nonly_models)
        return 0;                 /* delta mode runs only on projects without packages */
    const char *pip = p->packages_install_path ? p->packages_install_path : "dbt_packages";
    Sb dir = SB_INIT;
    if (pip[0] == '/')
        sb_puts(&dir, pip);
    else
        path_join(&dir, p->root, pip);
    /* journaled: its absence, or its listing (a package added or removed) */
    if (!fs_is_dir(sb_cstr(&dir))) {
        sb_free(&dir);
        return 0;
    }
    static const char *const no_files[] = {"/", NULL};   /* directories only */
    DirNames dn = {0};
    fs_walk_names(sb_cstr(&dir), no_files, collect_dir, &dn);
    if (dn.names.len > 1)
        qsort(dn.names.items, dn.names.len, sizeof *dn.names.items, cmp_name);
    VEC(Package *) pkgs = {0};
    int rc = 0;
    for (size_t i = 0; i < dn.names.len && rc == 0; i++) {
        Sb yml = SB_INIT;
        path_join(&yml, sb_cstr(&dir), dn.names.items[i]);
        const char *abs = arena_strdup(L->a, sb_cstr(&yml));
        sb_reset(&yml);
        path_join(&yml, abs, "dbt_project.yml");
        bool has = fs_is_file(sb_cstr(&yml));   /* journaled, found or not */
        sb_free(&yml);
        if (!has)
            continue;
        Package *pk = ARENA_NEW(L->a, Package);
        pk->root = abs;
        pk->rel_dir = pip[0] == '/' ? abs : pl_cat(L->a, pip, "/", dn.names.items[i], NULL);
        pk->macro_by_name = ARENA_NEW(L->a, StrMap);
        strmap_init(pk->macro_by_name);
        vec_push(&pkgs, pk);
        const char *display = pl_cat(L->a, pk->rel_dir, "/dbt_project.yml", NULL);
        if (pl_read_package_yml(L, pk, display) != 0) {
            rc = -1;
            break;
        }
        const char *other = strcmp(pk->name, p->name) == 0 ? "the root project" : NULL;
        const char *other_dir = other ? p->root : NULL;
        for (size_t k = 0; !other && k + 1 < pkgs.len; k++)
            if (strcmp(pkgs.items[k]->name, pk->name) == 0) {
                other = "";
                other_dir = pkgs.items[k]->rel_dir;
            }
        if (other) {
            diag_set(L->err, NULL, 0, 0, NULL,
                     "dbt found more than one package with the name \"%s\" included in this project: %s%s%s and %s. "
                     "Package names must be unique in a project. Please rename one of these packages.",
                     pk->name, other, *other ? " " : "", other_dir, pk->rel_dir);
            rc = -1;
        }
    }
    for (size_t i = 0; i < dn.names.len; i++)
        free(dn.names.items[i]);
    vec_free(&dn.names);
    sb_free(&dir);
    if (rc == 0 && pkgs.len) {
        qsort(pkgs.items, pkgs.len, sizeof *pkgs.items, cmp_pkg);
        p->npackages = (int)pkgs.len;
        p->packages = ARENA_ARRAY(L->a, Package *, pkgs.len + 1);
        for (size_t i = 0; i < pkgs.len; i++) {
            pkgs.items[i]->index = (int)i + 1;
            p->packages[i] = pkgs.items[i];
        }
        for (size_t i = 0; i < pkgs.len && rc == 0; i++)
            rc = load_one(L, pkgs.items[i]);
    } else {
        /* freed with the project only once listed in it */
        for (size_t i = 0; i < pkgs.len; i++)
            strmap_free(pkgs.items[i]->macro_by_name);
    }
    vec_free(&pkgs);
    return rc;
}
