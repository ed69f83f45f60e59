/* deps.c - `cdbt deps` as dbt-core 1.9's DepsTask runs it.
 *
 *   1. Read packages.yml, or dependencies.yml's `packages:` (both: error).
 *   2. When package-lock.yml is missing, --upgrade is given or its
 *      sha1_hash is not the hash of the declared packages: resolve them
 *      (breadth first: each package's own packages.yml adds its
 *      dependencies; a package declared twice is merged; a git package
 *      asked for at two revisions, two packages with one project name, or
 *      one named like the root project are errors) and write the lock:
 *      git packages pinned to the commit checked out.
 *   3. Unless --lock: install what the lock file lists into the install
 *      path, which is emptied first.
 *
 * Where cdbt differs: every package is fetched and checked before the
 * install directory is touched (dbt empties it first, so a failed clone
 * leaves it empty); a hub package is kept only if it is already installed
 * at the version the lock pins (cdbt has no HTTP client) and the directory
 * holding it is not emptied; with no packages declared nothing is
 * installed (dbt then installs from a stale package-lock.yml); a package
 * that depends on itself through others is fetched once (dbt loops). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deps.h"
#include "../base/fs.h"
#include "../base/hash.h"
#include "../base/vec.h"
#include "../yaml/yaml.h"

#define PIN_URL "https://docs.getdbt.com/docs/package-management#section-specifying-package-versions"

typedef struct Checkout {
    const char *key;               /* git url (+ "/" subdirectory) */
    const char *dir;               /* the clone */
    const char *requested;         /* the revision asked for */
    const char *sha;               /* what it is at */
    bool moved;                    /* installed (moved away) */
} Checkout;

/* A package in a listing (dbt's PackageListing entry). */
typedef struct Pkg {
    PkgPin pin;
    VEC(const char *) revs;        /* git: requested revisions, distinct, in order */
    VEC(const PkgSpec *) decls;    /* every declaration */
    bool warn_unpinned;
    const char *fetched;           /* the revision/version metadata was read at */
    const char *dir;               /* where its files are (local, hub, git checkout) */
} Pkg;

typedef VEC(Pkg *) PkgVec;

typedef struct Deps {
    const DepsOptions *o;
    Arena a;
    Diag *err;
    char *downloads;               /* mkdtemp'd directory of clones, or NULL */
    VEC(Checkout *) checkouts;
    PkgFile root;                  /* the declared packages */
    PkgFile old_lock;              /* package-lock.yml as it was (n == 0 if none) */
    const char *specs_file;        /* "packages.yml" or "dependencies.yml" */
} Deps;

/* ---------------------------------------------------------------- messages */

/* s with the values of DBT_ENV_SECRET* variables masked, as dbt scrubs its output. */
extern char **environ;

static char *scrub(Deps *D, const char *s)
{
    char *cur = arena_strdup(&D->a, s);
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "DBT_ENV_SECRET", 14) != 0)
            continue;
        const char *v = strchr(*e, '=');
        if (!v || !v[1])
            continue;
        v++;
        size_t vl = strlen(v);
        Sb out = SB_INIT;
        const char *p = cur;
        for (const char *hit; (hit = strstr(p, v));) {
            sb_append(&out, p, (size_t)(hit - p));
            sb_puts(&out, "*****");
            p = hit + vl;
        }
        sb_puts(&out, p);
        cur = arena_strndup(&D->a, sb_cstr(&out), out.len);
        sb_free(&out);
    }
    return cur;
}

static void say(Deps *D, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(Deps *D, int level, const char *fmt, ...)
{
    if (!D->o->log)
        return;
    Sb sb = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    D->o->log(D->o->ud, level, scrub(D, sb_cstr(&sb)));
    sb_free(&sb);
}

/* An error located at a declaration (s may be NULL: no location). */
static int fail_at(Deps *D, const PkgSpec *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(Deps *D, const PkgSpec *s, const char *fmt, ...)
{
    Sb sb = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    if (D->err->set)
        diag_clear(D->err);
    const char *msg = scrub(D, sb_cstr(&sb));
    if (s)
        diag_set(D->err, s->file, s->line, s->col, s->src_line, "%s", msg);
    else
        diag_set(D->err, NULL, 0, 0, NULL, "%s", msg);
    sb_free(&sb);
    return -1;
}

/* ---------------------------------------------------------------- files */

static const char *joinp(Deps *D, const char *a, const char *b)
{
    Sb s = SB_INIT;
    path_join(&s, a, b);
    const char *r = arena_strndup(&D->a, sb_cstr(&s), s.len);
    sb_free(&s);
    return r;
}

static int read_text(Deps *D, const char *path, char **text, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    if (fs_read_file(path, &buf, &n) != 0)
        return -1;
    *text = arena_strndup(&D->a, buf ? buf : "", n);
    *len = n;
    free(buf);
    return 0;
}

/* The packages declared in dir (packages.yml or dependencies.yml), shown
 * in messages as <label>/<file>.  *which: the file used. */
static int read_declared(Deps *D, const char *dir, const char *label, PkgFile *pf, const char **which)
{
    memset(pf, 0, sizeof *pf);
    const char *names[2] = {"packages.yml", "dependencies.yml"};
    const char *rels[2], *texts[2];
    size_t lens[2];
    bool have[2] = {false, false}, listed[2] = {false, false};
    for (int i = 0; i < 2; i++) {
        const char *path = joinp(D, dir, names[i]);
        char *text;
        if (!fs_is_file(path))
            continue;
        if (read_text(D, path, &text, &lens[i]) != 0)
            return fail_at(D, NULL, "Could not read %s: %s", path, strerror(errno));
        texts[i] = text;
        rels[i] = label ? arena_sprintf(&D->a, "%s/%s", label, names[i]) : names[i];
        /* which file declares packages is decided before anything is rendered, as dbt does */
        PkgFile raw;
        if (deps_parse(&D->a, rels[i], text, lens[i], i == 0 ? PKGF_PACKAGES : PKGF_DEPENDENCIES, NULL, &raw,
                       D->err) != 0)
            return -1;
        have[i] = true;
        listed[i] = raw.has_packages;
    }
    if (listed[0] && listed[1]) {
        diag_set(D->err, rels[1], 0, 0, NULL,
                 "The 'packages' key cannot be specified in both packages.yml and dependencies.yml");
        return -1;
    }
    int use = listed[1] ? 1 : 0;
    if (which)
        *which = names[use];
    if (!have[use])
        return 0;
    return deps_parse(&D->a, rels[use], texts[use], lens[use], use == 0 ? PKGF_PACKAGES : PKGF_DEPENDENCIES,
                      D->o->r, pf, D->err);
}

static bool valid_name(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!*u || (*u >= '0' && *u <= '9'))
        return false;
    for (; *u; u++)
        if (!(*u == '_' || *u >= 0x80 || (*u >= '0' && *u <= '9') || ((*u | 32) >= 'a' && (*u | 32) <= 'z')))
            return false;
    return true;
}

/* A package's dbt_project.yml: its name (rendered as dbt's PackageRenderer
 * does) and version (as written, or NULL).  at: where the package is
 * declared, for the errors. */
static int pkg_project(Deps *D, const char *dir, const PkgSpec *at, const char **name, const char **version)
{
    const char *path = joinp(D, dir, "dbt_project.yml");
    char *text;
    size_t len;
    if (!fs_is_file(path) || read_text(D, path, &text, &len) != 0)
        return fail_at(D, at,
                       "No dbt_project.yml found at expected path %s\nVerify that each entry within packages.yml "
                       "(and their transitive dependencies) contains a file named dbt_project.yml", path);
    YNode *root = NULL;
    if (yaml_load(&D->a, path, text, len, &root, D->err) != 0)
        return -1;
    YNode *nn = root && root->kind == YN_MAP ? ynode_get(root, "name") : NULL;
    const char *raw = ynode_str(nn);
    if (!raw)
        return fail_at(D, at, "Invalid dbt_project.yml at %s: 'name' is a required string property", path);
    Value v = nn->value;
    if (D->o->r && D->o->r->render && (strstr(raw, "{{") || strstr(raw, "{%"))) {
        if (D->o->r->render(D->o->r->ud, PR_PACKAGES, NULL, raw, strlen(raw), path, nn->line, nn->col, &v, D->err) != 0)
            return -1;
    }
    if (v.type != V_STR || !valid_name(v.u.s->s))
        return fail_at(D, at, "Invalid project name '%s' in %s: names must match ^[^\\d\\W]\\w*$",
                       value_to_cstr(&D->a, v), path);
    *name = arena_strdup(&D->a, v.u.s->s);
    YNode *vn = ynode_get(root, "version");
    *version = vn && vn->kind == YN_SCALAR && vn->value.type != V_NONE ? value_to_cstr(&D->a, vn->value) : NULL;
    return 0;
}

/* ---------------------------------------------------------------- keys */

static const char *spec_key(Deps *D, const PkgSpec *s)
{
    switch (s->kind) {
    case PKG_LOCAL: return s->local;
    case PKG_TARBALL: return s->tarball;
    case PKG_HUB: return s->package;
    case PKG_GIT:
        return s->subdirectory ? arena_sprintf(&D->a, "%s/%s", s->git, s->subdirectory) : s->git;
    }
    return "";
}

/* dbt's all_names(): a git url also matches itself with ".git" added or removed. */
static bool same_key(Deps *D, const Pkg *p, const PkgSpec *s)
{
    const char *k = spec_key(D, s);
    if (!strcmp(p->pin.key, k))
        return true;
    if (s->kind != PKG_GIT)
        return false;
    size_t n = strlen(s->git);
    const char *other = n >= 4 && !strcmp(s->git + n - 4, ".git") ? arena_strndup(&D->a, s->git, n - 4)
                                                                   : arena_sprintf(&D->a, "%s.git", s->git);
    if (s->subdirectory)
        other = arena_sprintf(&D->a, "%s/%s", other, s->subdirectory);
    return !strcmp(p->pin.key, other);
}

static const char *kind_class(PkgKind k)
{
    static const char *const n[] = {"LocalUnpinnedPackage", "TarballUnpinnedPackage", "GitUnpinnedPackage",
                                    "RegistryUnpinnedPackage"};
    return n[k];
}

/* Add a declaration to a listing (dbt's PackageListing.incorporate). */
static int incorporate(Deps *D, PkgVec *list, const PkgSpec *s, Pkg **out)
{
    Pkg *p = NULL;
    for (size_t i = 0; i < list->len && !p; i++)
        if (same_key(D, list->items[i], s))
            p = list->items[i];
    if (p && p->pin.kind != s->kind)
        return fail_at(D, s, "Cannot incorporate %s (%s) in %s (%s): mismatched types", spec_key(D, s),
                       kind_class(s->kind), p->pin.key, kind_class(p->pin.kind));
    if (!p) {
        p = ARENA_NEW(&D->a, Pkg);
        p->pin.kind = s->kind;
        p->pin.key = spec_key(D, s);
        p->pin.spec = s;
        p->pin.local = s->local;
        p->pin.git = s->git;
        p->pin.git_raw = s->git_raw;
        p->pin.subdirectory = s->subdirectory;
        p->pin.package = s->package;
        p->pin.tarball = s->tarball;
        p->pin.name = s->kind == PKG_TARBALL ? s->name : NULL;
        p->warn_unpinned = true;
        vec_push(list, p);
    }
    vec_push(&p->decls, s);
    if (s->kind == PKG_GIT) {
        if (s->warn_unpinned == 0)
            p->warn_unpinned = false;
        if (s->revision_str) {
            bool seen = false;
            for (size_t i = 0; i < p->revs.len; i++)
                seen = seen || !strcmp(p->revs.items[i], s->revision_str);
            if (!seen)
                vec_push(&p->revs, s->revision_str);
        }
    }
    *out = p;
    return 0;
}

static void free_listing(PkgVec *l)
{
    for (size_t i = 0; i < l->len; i++) {
        vec_free(&l->items[i]->revs);
        vec_free(&l->items[i]->decls);
    }
    vec_free(l);
}

/* ---------------------------------------------------------------- semver */

typedef struct Sem { long v[3]; const char *pre; } Sem;

static bool sem_parse(const char *s, Sem *out)
{
    memset(out, 0, sizeof *out);
    if (*s == 'v' || *s == 'V')
        s++;
    for (int i = 0; i < 3; i++) {
        if (*s < '0' || *s > '9')
            return false;
        char *end;
        out->v[i] = strtol(s, &end, 10);
        s = end;
        if (i == 2)
            break;
        if (*s != '.') {
            if (i == 1)
                break;       /* "1.2": dbt accepts two parts */
            return false;
        }
        s++;
    }
    if (*s == '-') {
        out->pre = s + 1;
        while (*s && *s != '+')
            s++;
    }
    return !*s || *s == '+';
}

static int sem_cmp(const Sem *a, const Sem *b)
{
    for (int i = 0; i < 3; i++)
        if (a->v[i] != b->v[i])
            return a->v[i] < b->v[i] ? -1 : 1;
    if (!a->pre || !b->pre)
        return a->pre ? -1 : b->pre ? 1 : 0;       /* a prerelease sorts before its release */
    return strcmp(a->pre, b->pre);
}

/* Does version v satisfy one spec ("1.2.3", ">=1.0.0", "<2", "=1.1.0")? -1: not a version. */
static int sem_satisfies(const char *v, const char *spec)
{
    while (*spec == ' ')
        spec++;
    const char *op = "=";
    if (!strncmp(spec, ">=", 2) || !strncmp(spec, "<=", 2)) {
        op = spec[0] == '>' ? ">=" : "<=";
        spec += 2;
    } else if (*spec == '>' || *spec == '<' || *spec == '=') {
        op = *spec == '>' ? ">" : *spec == '<' ? "<" : "=";
        spec++;
    }
    while (*spec == ' ')
        spec++;
    Sem a, b;
    if (!sem_parse(v, &a) || !sem_parse(spec, &b))
        return -1;
    int c = sem_cmp(&a, &b);
    if (!strcmp(op, "="))
        return c == 0;
    if (!strcmp(op, ">="))
        return c >= 0;
    if (!strcmp(op, "<="))
        return c <= 0;
    if (!strcmp(op, ">"))
        return c > 0;
    return c < 0;
}

static bool same_version(const char *a, const char *b)
{
    if (!strcmp(a, b))
        return true;
    Sem x, y;
    return sem_parse(a, &x) && sem_parse(b, &y) && sem_cmp(&x, &y) == 0;
}

/* ---------------------------------------------------------------- hub packages */

/* The lock entry pinning hub package pkg, or NULL. */
static const PkgSpec *old_lock_pin(Deps *D, const char *pkg)
{
    for (int i = 0; i < D->old_lock.n; i++)
        if (D->old_lock.specs[i].kind == PKG_HUB && !strcmp(D->old_lock.specs[i].package, pkg))
            return &D->old_lock.specs[i];
    return NULL;
}

static const char *lock_version(Deps *D, const PkgSpec *l)
{
    Value v = l->version;
    if (v.type == V_LIST && v.u.l->len == 1)
        v = v.u.l->items[0];
    return v.type == V_STR || v.type == V_INT || v.type == V_FLOAT ? value_to_cstr(&D->a, v) : NULL;
}

/* Is hub package pkg installed at version want (the lock's `name`, else the
 * part after '/', names its directory)?  The directory, or NULL with *why. */
static const char *hub_installed(Deps *D, const char *pkg, const char *lock_name, const char *want,
                                 const char **why)
{
    const char *slash = strrchr(pkg, '/');
    const char *dirname = lock_name ? lock_name : slash ? slash + 1 : pkg;
    const char *dir = joinp(D, D->o->install_path, dirname);
    const char *yml = joinp(D, dir, "dbt_project.yml");
    char *text;
    size_t len;
    if (!fs_is_file(yml) || read_text(D, yml, &text, &len) != 0) {
        *why = arena_sprintf(&D->a, "nothing is installed at %s", dir);
        return NULL;
    }
    Arena tmp;
    arena_init(&tmp, 0);
    Diag e = {0};
    Value v;
    const char *have = NULL;
    if (yaml_load_value(&tmp, yml, text, len, &v, &e) == 0 && v.type == V_DICT) {
        Value *ver = dict_getz(v.u.d, "version");
        if (ver && ver->type != V_NONE)
            have = arena_strdup(&D->a, value_to_cstr(&tmp, *ver));
    }
    diag_clear(&e);
    arena_free(&tmp);
    if (!have || !same_version(have, want)) {
        *why = arena_sprintf(&D->a, "%s holds version %s, not %s", dir, have ? have : "(none)", want);
        return NULL;
    }
    return dir;
}

static int hub_unavailable(Deps *D, const PkgSpec *at, const char *pkg, const char *version, const char *why)
{
    return fail_at(D, at,
                   "Hub package '%s'%s%s cannot be installed: cdbt has no HTTP client to download it from the "
                   "package hub (%s). Install it with `dbt deps` (cdbt keeps an installed hub package at the "
                   "version package-lock.yml pins), or declare it as a `git:` package with a `revision:`",
                   pkg, version ? " version " : "", version ? version : "", why);
}

/* Pin a hub package: the version the old lock pins, if it is installed and
 * satisfies every declared version range. */
static int pin_hub(Deps *D, Pkg *p)
{
    const PkgSpec *at = p->decls.items[0];
    const PkgSpec *l = old_lock_pin(D, p->pin.package);
    const char *declared = value_to_cstr(&D->a, at->version);
    if (!l)
        return hub_unavailable(D, at, p->pin.package, declared, "package-lock.yml does not pin it");
    const char *v = lock_version(D, l);
    if (!v)
        return hub_unavailable(D, at, p->pin.package, declared, "package-lock.yml pins no single version of it");
    for (size_t i = 0; i < p->decls.len; i++) {
        Value want = p->decls.items[i]->version;
        size_t n = want.type == V_LIST ? want.u.l->len : 1;
        for (size_t k = 0; k < n; k++) {
            Value one = want.type == V_LIST ? want.u.l->items[k] : want;
            const char *spec = value_to_cstr(&D->a, one);
            int ok = sem_satisfies(v, spec);
            if (ok == 0)
                return hub_unavailable(D, p->decls.items[i], p->pin.package, declared,
                                       arena_sprintf(&D->a, "package-lock.yml pins %s, which does not satisfy %s",
                                                     v, spec));
            if (ok < 0)
                return fail_at(D, p->decls.items[i], "Invalid version for hub package '%s': '%s'",
                               p->pin.package, spec);
        }
    }
    const char *why = NULL;
    const char *dir = hub_installed(D, p->pin.package, l->name, v, &why);
    if (!dir)
        return hub_unavailable(D, at, p->pin.package, v, why);
    p->pin.version = v;
    p->dir = dir;
    return 0;
}

/* ---------------------------------------------------------------- git */

static bool is_commit(const char *r)
{
    for (int i = 0; i < 40; i++)
        if (!((r[i] >= '0' && r[i] <= '9') || (r[i] >= 'a' && r[i] <= 'f')))
            return false;
    char c = r[40];
    return !c || !(c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'));
}

static void trim(Sb *s)
{
    while (s->len && (s->buf[s->len - 1] == '\n' || s->buf[s->len - 1] == '\r' || s->buf[s->len - 1] == ' '))
        sb_truncate(s, s->len - 1);
}

/* Run git; on failure dbt's "Error checking out spec=..." error at `at`. */
static int git_step(Deps *D, const PkgSpec *at, const char *cwd, const char *const *args, const char *url,
                    const char *rev, Sb *out)
{
    Sb err = SB_INIT;
    int rc = deps_git(cwd, args, out, &err);
    if (rc == 0) {
        sb_free(&err);
        return 0;
    }
    if (rc < 0) {
        int e = errno;
        sb_free(&err);
        if (e == ENOENT)
            return fail_at(D, at, "git is not installed (no `git` on PATH): cdbt runs the system git to install "
                                  "git packages. Make sure git is installed on your machine. More information: "
                                  "https://docs.getdbt.com/docs/package-management");
        return fail_at(D, at, "could not run git: %s", strerror(e));
    }
    trim(&err);
    fail_at(D, at, "Error checking out spec='%s' for repo %s", rev, url);
    /* git's own words, one note per line (up to its usage text) */
    const char *msg = scrub(D, sb_cstr(&err));
    for (const char *l = msg; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (!strncmp(l, "usage: git", 10))
            break;
        if (n)
            diag_note(D->err, "git: %.*s", (int)n, l);
        l = nl ? nl + 1 : l + n;
    }
    sb_free(&err);
    return -1;
}

/* A clone of the git package of pin p at revision rev (NULL: HEAD), made
 * the way dbt's clone_and_checkout does it; reused when this run already
 * has one at that revision or commit. */
static int git_checkout(Deps *D, const PkgPin *p, const PkgSpec *at, const char *rev, Checkout **out)
{
    if (!rev)
        rev = "HEAD";
    for (size_t i = 0; i < D->checkouts.len; i++) {
        Checkout *c = D->checkouts.items[i];
        if (!c->moved && !strcmp(c->key, p->key) && (!strcmp(c->requested, rev) || !strcmp(c->sha, rev))) {
            *out = c;
            return 0;
        }
    }
    if (!deps_have_git())
        return fail_at(D, at, "git is not installed (no `git` on PATH): cdbt runs the system git to install git "
                              "packages. Make sure git is installed on your machine. More information: "
                              "https://docs.getdbt.com/docs/package-management");
    if (!D->downloads) {
        const char *tmp = getenv("TMPDIR");
        char *templ = strdup(arena_sprintf(&D->a, "%s/cdbt-deps-XXXXXX", tmp && *tmp ? tmp : "/tmp"));
        if (!mkdtemp(templ)) {
            int e = errno;
            free(templ);
            return fail_at(D, at, "could not create a temporary directory for git clones: %s", strerror(e));
        }
        D->downloads = templ;
    }
    char md5[33];
    md5_hex(p->key, strlen(p->key), md5);
    const char *name = arena_sprintf(&D->a, "%s-%zu", md5, D->checkouts.len);
    const char *dir = joinp(D, D->downloads, name);
    const char *url = p->git;
    VEC(const char *) args = {0};
    vec_push(&args, "clone");
    vec_push(&args, "--depth");
    vec_push(&args, "1");
    if (p->subdirectory) {
        vec_push(&args, "--filter=blob:none");
        vec_push(&args, "--sparse");
    }
    vec_push(&args, url);
    vec_push(&args, name);
    vec_push(&args, NULL);
    int rc = git_step(D, at, D->downloads, args.items, url, rev, NULL);
    vec_free(&args);
    if (rc != 0)
        return -1;
    if (p->subdirectory) {
        const char *sp[] = {"sparse-checkout", "set", p->subdirectory, NULL};
        if (git_step(D, at, dir, sp, url, rev, NULL) != 0)
            return -1;
    }
    const char *spec;
    if (is_commit(rev)) {
        const char *f[] = {"fetch", "origin", "--depth", "1", rev, NULL};
        if (git_step(D, at, dir, f, url, rev, NULL) != 0)
            return -1;
        spec = rev;
    } else {
        const char *sb[] = {"remote", "set-branches", "origin", rev, NULL};
        const char *f[] = {"fetch", "origin", "--depth", "1", "--tags", rev, NULL};
        if (git_step(D, at, dir, sb, url, rev, NULL) != 0 || git_step(D, at, dir, f, url, rev, NULL) != 0)
            return -1;
        Sb tags = SB_INIT;
        const char *tl[] = {"tag", "--list", NULL};
        if (git_step(D, at, dir, tl, url, rev, &tags) != 0) {
            sb_free(&tags);
            return -1;
        }
        bool is_tag = false;            /* dbt prefers a tag to a branch of the same name */
        for (const char *l = sb_cstr(&tags); *l && !is_tag;) {
            const char *nl = strchr(l, '\n');
            size_t n = nl ? (size_t)(nl - l) : strlen(l);
            is_tag = n == strlen(rev) && !strncmp(l, rev, n);
            l = nl ? nl + 1 : l + n;
        }
        sb_free(&tags);
        spec = arena_sprintf(&D->a, "%s/%s", is_tag ? "tags" : "origin", rev);
    }
    const char *rs[] = {"reset", "--hard", spec, NULL};
    if (git_step(D, at, dir, rs, url, rev, NULL) != 0)
        return -1;
    Sb sha = SB_INIT;
    const char *rp[] = {"rev-parse", "HEAD", NULL};
    if (git_step(D, at, dir, rp, url, rev, &sha) != 0) {
        sb_free(&sha);
        return -1;
    }
    trim(&sha);
    Checkout *c = ARENA_NEW(&D->a, Checkout);
    c->key = p->key;
    c->dir = dir;
    c->requested = arena_strdup(&D->a, rev);
    c->sha = arena_strndup(&D->a, sb_cstr(&sha), sha.len);
    sb_free(&sha);
    vec_push(&D->checkouts, c);
    if (p->subdirectory && !fs_is_dir(joinp(D, dir, p->subdirectory)))
        return fail_at(D, at, "Subdirectory '%s' not found in %s at revision %s", p->subdirectory, url, rev);
    *out = c;
    return 0;
}

static const char *checkout_root(Deps *D, const Checkout *c, const PkgPin *p)
{
    return p->subdirectory ? joinp(D, c->dir, p->subdirectory) : c->dir;
}

/* ---------------------------------------------------------------- resolving */

static const char *local_path(Deps *D, const char *local)
{
    Sb s = SB_INIT;
    if (local[0] == '/')
        sb_puts(&s, local);
    else
        path_join(&s, D->o->root, local);
    char *n = path_normalize(sb_cstr(&s));
    const char *r = arena_strdup(&D->a, n);
    free(n);
    sb_free(&s);
    return r;
}

/* Pin p (dbt's resolved()) and read its metadata: name and the packages
 * it declares.  *children is left empty when p was read already at this
 * pin (a cycle, or a second declaration). */
static int fetch(Deps *D, Pkg *p, PkgFile *children, const char **label)
{
    memset(children, 0, sizeof *children);
    const PkgSpec *at = p->decls.items[0];
    const char *pin = NULL;
    switch (p->pin.kind) {
    case PKG_TARBALL:
        return fail_at(D, at, "Tarball package '%s' cannot be installed: cdbt has no HTTP client to download it. "
                              "Install it with `dbt deps`, or declare it as a `git:` or `local:` package",
                       p->pin.tarball);
    case PKG_HUB:
        if (pin_hub(D, p) != 0)
            return -1;
        pin = p->pin.version;
        *label = arena_sprintf(&D->a, "%s", p->dir);
        break;
    case PKG_LOCAL:
        p->dir = local_path(D, p->pin.local);
        pin = "local";
        *label = p->pin.local;
        break;
    case PKG_GIT: {
        if (p->revs.len > 1) {
            Sb set = SB_INIT;
            sb_putc(&set, '{');
            for (size_t i = 0; i < p->revs.len; i++)
                sb_printf(&set, "%s'%s'", i ? ", " : "", p->revs.items[i]);
            sb_putc(&set, '}');
            fail_at(D, p->decls.items[p->decls.len - 1],
                    "git dependencies should contain exactly one version. %s contains: %s", p->pin.git,
                    sb_cstr(&set));
            sb_free(&set);
            return -1;
        }
        const char *rev = p->revs.len ? p->revs.items[0] : "HEAD";
        if (p->fetched && !strcmp(p->fetched, rev))
            return 0;
        Checkout *c;
        if (git_checkout(D, &p->pin, at, rev, &c) != 0)
            return -1;
        if (p->warn_unpinned && (!strcmp(rev, "HEAD") || !strcmp(rev, "main") || !strcmp(rev, "master"))) {
            const char *why = !strcmp(rev, "HEAD") ? "not pinned, using HEAD (default branch)"
                            : arena_sprintf(&D->a, "pinned to the \"%s\" branch", rev);
            if (D->o->warn_error)
                return fail_at(D, at, "The git package \"%s\" \n\tis %s.\n\tThis can introduce breaking changes "
                                      "into your project without warning!\n\nSee %s", p->pin.git, why, PIN_URL);
            say(D, DEPS_WARN, "WARNING: The git package \"%s\" \n\tis %s.\n\tThis can introduce breaking changes "
                              "into your project without warning!\n\nSee %s", p->pin.git, why, PIN_URL);
        }
        p->pin.revision = c->sha;
        p->dir = checkout_root(D, c, &p->pin);
        p->fetched = rev;
        *label = p->pin.key;
        break;
    }
    }
    if (p->pin.kind != PKG_GIT) {
        if (p->fetched && !strcmp(p->fetched, pin))
            return 0;
        p->fetched = pin;
    }
    const char *version;
    if (pkg_project(D, p->dir, at, &p->pin.name, &version) != 0)
        return -1;
    return read_declared(D, p->dir, *label, children, NULL);
}

static int resolve(Deps *D, PkgVec *final)
{
    /* one round: the declarations found in the previous round's packages */
    VEC(const PkgSpec *) round = {0};
    for (int i = 0; i < D->root.n; i++)
        vec_push(&round, &D->root.specs[i]);
    int rc = 0;
    while (round.len && rc == 0) {
        VEC(const PkgSpec *) next = {0};
        for (size_t i = 0; i < round.len && rc == 0; i++) {
            Pkg *p;
            if (incorporate(D, final, round.items[i], &p) != 0) {
                rc = -1;
                break;
            }
            PkgFile kids;
            const char *label = NULL;
            if (fetch(D, p, &kids, &label) != 0) {
                rc = -1;
                break;
            }
            for (int k = 0; k < kids.n; k++)
                vec_push(&next, &kids.specs[k]);
        }
        vec_free(&round);
        round.items = next.items;
        round.len = next.len;
        round.cap = next.cap;
    }
    vec_free(&round);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < final->len; i++) {
        Pkg *p = final->items[i];
        if (!strcmp(p->pin.name, D->o->project_name))
            return fail_at(D, p->decls.items[0],
                           "Found a dependency with the same name as the root project \"%s\". Package names must "
                           "be unique in a project. Please rename one of these packages.", p->pin.name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(final->items[j]->pin.name, p->pin.name))
                return fail_at(D, p->decls.items[0],
                               "Found duplicate project \"%s\". This occurs when a dependency has the same project "
                               "name as some other dependency.", p->pin.name);
    }
    return 0;
}

/* ---------------------------------------------------------------- installing */

static int copy_tree(const char *src, const char *dst, int depth)
{
    struct stat st;
    if (depth > 64 || lstat(src, &st) != 0)
        return -1;
    if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = readlink(src, buf, sizeof buf - 1);
        if (n < 0)
            return -1;
        buf[n] = '\0';
        return symlink(buf, dst);
    }
    if (S_ISREG(st.st_mode)) {
        int in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
            return -1;
        int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
        if (out < 0) {
            close(in);
            return -1;
        }
        char buf[65536];
        ssize_t n;
        int rc = 0;
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n) {
                rc = -1;
                break;
            }
        if (n < 0)
            rc = -1;
        close(in);
        if (close(out) != 0)
            rc = -1;
        return rc;
    }
    if (!S_ISDIR(st.st_mode))
        return 0;
    if (mkdir(dst, (st.st_mode & 07777) | 0700) != 0 && errno != EEXIST)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) && rc == 0) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        Sb s = SB_INIT, t = SB_INIT;
        path_join(&s, src, de->d_name);
        path_join(&t, dst, de->d_name);
        rc = copy_tree(sb_cstr(&s), sb_cstr(&t), depth + 1);
        sb_free(&s);
        sb_free(&t);
    }
    closedir(d);
    return rc;
}

/* Remove whatever is at path (a symlink itself, not what it points to). */
static int remove_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return fs_rm_rf(path);
}

static int move_tree(Deps *D, const char *src, const char *dst, const PkgSpec *at)
{
    if (remove_path(dst) != 0)
        return fail_at(D, at, "could not remove %s: %s", dst, strerror(errno));
    if (rename(src, dst) == 0)
        return 0;
    if (errno != EXDEV)
        return fail_at(D, at, "could not move %s to %s: %s", src, dst, strerror(errno));
    if (copy_tree(src, dst, 0) != 0)
        return fail_at(D, at, "could not copy %s to %s: %s", src, dst, strerror(errno));
    fs_rm_rf(src);
    return 0;
}

/* Where the lock entry's package is declared in packages.yml (for errors
 * about it), else the lock entry itself. */
static const PkgSpec *declared_at(Deps *D, const PkgSpec *lock_entry)
{
    const char *k = spec_key(D, lock_entry);
    for (int i = 0; i < D->root.n; i++) {
        const PkgSpec *s = &D->root.specs[i];
        if (s->kind == lock_entry->kind && !strcmp(spec_key(D, s), k))
            return s;
    }
    return lock_entry;
}

static const char *nice_version(Deps *D, const PkgPin *p)
{
    switch (p->kind) {
    case PKG_LOCAL: return arena_sprintf(&D->a, "<local @ %s>", p->local);
    case PKG_GIT:
        return !p->revision || !strcmp(p->revision, "HEAD") ? "HEAD (default revision)"
                                                             : arena_sprintf(&D->a, "revision %s", p->revision);
    case PKG_HUB: return arena_sprintf(&D->a, "version %s", p->version);
    case PKG_TARBALL: return "tarball";
    }
    return "";
}

/* Empty the install directory, keeping the directories in keep. */
static int clear_install_dir(Deps *D, const char *const *keep, size_t nkeep)
{
    const char *dir = D->o->install_path;
    struct stat st;
    if (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(dir) != 0)
        return fail_at(D, NULL, "could not remove %s: %s", dir, strerror(errno));
    if (fs_mkdir_p(dir) != 0)
        return fail_at(D, NULL, "could not create %s: %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return fail_at(D, NULL, "could not list %s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) && rc == 0) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        const char *path = joinp(D, dir, de->d_name);
        bool kept = false;
        for (size_t i = 0; i < nkeep && !kept; i++)
            kept = !strcmp(keep[i], path);
        if (!kept && remove_path(path) != 0)
            rc = fail_at(D, NULL, "could not remove %s: %s", path, strerror(errno));
    }
    closedir(d);
    return rc;
}

typedef struct Todo {
    PkgPin pin;
    const PkgSpec *at;             /* for errors */
    const char *src;               /* local: the directory; git: the checkout (subdirectory) */
    Checkout *co;
} Todo;

static int install_from_lock(Deps *D, const char *lock_path)
{
    char *text;
    size_t len;
    PkgFile lock = {0};
    if (fs_is_file(lock_path)) {
        if (read_text(D, lock_path, &text, &len) != 0)
            return fail_at(D, NULL, "Could not read %s: %s", lock_path, strerror(errno));
        if (deps_parse(&D->a, "package-lock.yml", text, len, PKGF_LOCK, D->o->r, &lock, D->err) != 0)
            return -1;
    }
    if (lock.n == 0) {
        say(D, DEPS_INFO, "Warning: No packages were found in packages.yml");
        return clear_install_dir(D, NULL, 0);
    }
    /* dbt's resolve_lock_packages: one entry per package */
    PkgVec list = {0};
    int rc = 0;
    for (int i = 0; i < lock.n && rc == 0; i++) {
        Pkg *p;
        rc = incorporate(D, &list, &lock.specs[i], &p);
        if (rc == 0 && p->revs.len > 1)
            rc = fail_at(D, &lock.specs[i], "git dependencies should contain exactly one version. %s contains: "
                                            "{'%s', '%s'}", p->pin.git, p->revs.items[0], p->revs.items[1]);
    }
    Todo *todo = ARENA_ARRAY(&D->a, Todo, list.len + 1);
    VEC(const char *) keep = {0};
    /* fetch and check everything before touching the install directory */
    for (size_t i = 0; i < list.len && rc == 0; i++) {
        Pkg *p = list.items[i];
        Todo *t = &todo[i];
        t->pin = p->pin;
        t->at = declared_at(D, p->decls.items[0]);
        const char *version = NULL;
        switch (p->pin.kind) {
        case PKG_TARBALL:
            rc = fail_at(D, t->at, "Tarball package '%s' cannot be installed: cdbt has no HTTP client to download "
                                   "it. Install it with `dbt deps`, or declare it as a `git:` or `local:` package",
                         p->pin.tarball);
            break;
        case PKG_HUB: {
            const char *v = lock_version(D, p->decls.items[0]);
            const char *why = "package-lock.yml pins no single version of it";
            const char *dir = v ? hub_installed(D, p->pin.package, p->decls.items[0]->name, v, &why) : NULL;
            if (!dir) {
                rc = hub_unavailable(D, t->at, p->pin.package, v, why);
                break;
            }
            t->pin.version = v;
            t->src = dir;
            vec_push(&keep, dir);
            break;
        }
        case PKG_LOCAL:
            t->src = local_path(D, p->pin.local);
            rc = pkg_project(D, t->src, t->at, &t->pin.name, &version);
            break;
        case PKG_GIT: {
            const char *rev = p->revs.len ? p->revs.items[0] : "HEAD";
            rc = git_checkout(D, &p->pin, t->at, rev, &t->co);
            if (rc == 0) {
                t->src = checkout_root(D, t->co, &p->pin);
                t->pin.revision = rev;
                rc = pkg_project(D, t->src, t->at, &t->pin.name, &version);
            }
            break;
        }
        }
    }
    if (rc == 0)
        rc = clear_install_dir(D, keep.items, keep.len);
    for (size_t i = 0; i < list.len && rc == 0; i++) {
        Todo *t = &todo[i];
        say(D, DEPS_INFO, "Installing %s", t->pin.key);
        const char *dest = t->pin.kind == PKG_HUB ? t->src : joinp(D, D->o->install_path, t->pin.name);
        if (t->pin.kind == PKG_LOCAL) {
            if (remove_path(dest) != 0)
                rc = fail_at(D, t->at, "could not remove %s: %s", dest, strerror(errno));
            else if (symlink(t->src, dest) != 0 && copy_tree(t->src, dest, 0) != 0)
                rc = fail_at(D, t->at, "could not link or copy %s to %s: %s", t->src, dest, strerror(errno));
        } else if (t->pin.kind == PKG_GIT) {
            rc = move_tree(D, t->src, dest, t->at);
            t->co->moved = true;
        }
        if (rc != 0)
            break;
        say(D, DEPS_INFO, "  Installed from %s", nice_version(D, &t->pin));
        if (t->pin.kind == PKG_HUB) {
            size_t rl = strlen(D->o->root);
            const char *shown = !strncmp(dest, D->o->root, rl) && dest[rl] == '/' ? dest + rl + 1 : dest;
            say(D, DEPS_INFO, "  Kept the copy already installed in %s (cdbt cannot download from the package hub)",
                shown);
        }
        if (t->pin.subdirectory)
            say(D, DEPS_INFO, "   and subdirectory %s", t->pin.subdirectory);
    }
    vec_free(&keep);
    free_listing(&list);
    return rc;
}

int deps_run(const DepsOptions *o, Diag *err)
{
    Deps D;
    memset(&D, 0, sizeof D);
    D.o = o;
    D.err = err;
    arena_init(&D.a, 0);
    int rc = -1;
    PkgVec final = {0};
    const char *lock_path = joinp(&D, o->root, "package-lock.yml");

    if (read_declared(&D, o->root, NULL, &D.root, &D.specs_file) != 0)
        goto done;
    if (fs_is_file(lock_path)) {
        char *text;
        size_t len;
        if (read_text(&D, lock_path, &text, &len) != 0) {
            fail_at(&D, NULL, "Could not read %s: %s", lock_path, strerror(errno));
            goto done;
        }
        if (deps_parse(&D.a, "package-lock.yml", text, len, PKGF_LOCK, o->r, &D.old_lock, err) != 0)
            goto done;
    }
    char hash[41];
    deps_specs_hash(D.root.specs, D.root.n, hash);
    bool relock = !fs_is_file(lock_path) || o->upgrade || !D.old_lock.sha1_hash ||
                  strcmp(D.old_lock.sha1_hash, hash) != 0;
    if (relock || D.root.n == 0) {
        if (D.root.n == 0) {
            say(&D, DEPS_INFO, "Warning: No packages were found in packages.yml");
            rc = o->lock_only ? 0 : clear_install_dir(&D, NULL, 0);
            goto done;
        }
        if (resolve(&D, &final) != 0)
            goto done;
        PkgPin *pins = ARENA_ARRAY(&D.a, PkgPin, final.len + 1);
        for (size_t i = 0; i < final.len; i++)
            pins[i] = final.items[i]->pin;
        Sb text = SB_INIT;
        deps_lock_text(pins, (int)final.len, hash, &text);
        int w = fs_write_file(lock_path, sb_cstr(&text), text.len);
        sb_free(&text);
        if (w != 0) {
            fail_at(&D, NULL, "Could not write %s: %s", lock_path, strerror(errno));
            goto done;
        }
        say(&D, DEPS_INFO, "Updating lock file in file path: %s", lock_path);
    }
    if (o->lock_only) {
        rc = 0;
        goto done;
    }
    rc = install_from_lock(&D, lock_path);
done:
    if (rc != 0 && err->set && err->message) {
        char *m = scrub(&D, err->message);
        free(err->message);
        err->message = strdup(m);
    }
    free_listing(&final);
    vec_free(&D.checkouts);
    if (D.downloads) {
        fs_rm_rf(D.downloads);
        free(D.downloads);
    }
    arena_free(&D.a);
    return rc;
}
