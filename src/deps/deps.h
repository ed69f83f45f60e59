/* deps.h - `cdbt deps`: installing a project's packages as dbt-core 1.9 does.
 *
 * Reading (spec.c): packages.yml, or the `packages:` key of dependencies.yml,
 * and package-lock.yml, checked entry by entry (the four kinds of dbt 1.9:
 * local, tarball, git, hub; unknown keys and wrong types are located
 * errors) and rendered with the caller's ProjectRenderer in scope
 * PR_PACKAGES (env_var() including DBT_ENV_SECRET_*, --vars, no target).
 * The lock's sha1_hash is dbt's: the SHA-1 of the sorted json.dumps(...,
 * sort_keys=True) texts of every declared entry as dbt's dataclasses
 * serialise it (every field, defaults included, and `unrendered`: the
 * entry as written).  package-lock.yml is written as PyYAML's dump writes
 * it (sorted keys, list items indented by two).
 *
 * Resolving and installing (deps.c, git.c): dbt's breadth-first
 * resolution over each package's own packages.yml; local packages are
 * symlinked as <install path>/<project name>, git packages cloned with the
 * system `git` into a temporary directory (shallow, sparse for a
 * subdirectory), checked out at the revision (tag before branch, or a
 * commit), pinned to the commit in the lock file and moved into place.
 * cdbt has no HTTP client: a hub package (`package:` + `version:`) is only
 * kept when it is already installed at the version package-lock.yml pins,
 * and tarball packages are an error.
 *
 * Nothing here prints: messages go through DepsOptions.log. */
#ifndef CDBT_DEPS_H
#define CDBT_DEPS_H
#include <stdbool.h>
#include "../base/arena.h"
#include "../base/diag.h"
#include "../base/sb.h"
#include "../project/project.h"

typedef enum { PKG_LOCAL, PKG_TARBALL, PKG_GIT, PKG_HUB } PkgKind;

/* One entry of packages.yml / dependencies.yml / package-lock.yml. */
typedef struct PkgSpec {
    PkgKind kind;
    const char *local;            /* local: the path as rendered */
    const char *tarball;          /* tarball: url */
    const char *git;              /* git: the url as rendered */
    const char *git_raw;          /* git: the url as written (the lock keeps this) */
    Value revision;               /* git: V_NONE when absent, else a string or a number */
    const char *revision_str;     /* str(revision) or NULL */
    int warn_unpinned;            /* git: -1 absent, 0, 1 */
    const char *subdirectory;     /* git: NULL when absent */
    const char *package;          /* hub: "namespace/name" */
    Value version;                /* hub: a string, a number or a list of them */
    Value install_prerelease;     /* hub: V_NONE when absent */
    const char *name;             /* tarball (required); lock files of dbt 1.10+ (optional) */
    Value raw;                    /* the entry as written, unrendered */
    /* where it is declared */
    const char *file;
    int line, col;
    const char *src_line;
} PkgSpec;

typedef enum { PKGF_PACKAGES, PKGF_DEPENDENCIES, PKGF_LOCK } PkgFileKind;

typedef struct PkgFile {
    PkgSpec *specs;
    int n;
    bool has_packages;            /* the `packages` key is there */
    const char *sha1_hash;        /* lock files: the recorded hash, or NULL */
} PkgFile;

/* Parse and check text (a file shown as rel in diagnostics), rendering its
 * values with r (may be NULL: kept as written).  An empty document has no
 * packages.  0, or -1 with err set (a located error). */
int  deps_parse(Arena *a, const char *rel, const char *text, size_t len, PkgFileKind kind,
                const ProjectRenderer *r, PkgFile *out, Diag *err);
/* dbt's sha1_hash of the declared specs (40 hex digits + NUL). */
void deps_specs_hash(const PkgSpec *specs, int n, char out[41]);
/* json.dumps(v, sort_keys=True) as Python writes it (ensure_ascii). */
void deps_py_json(Sb *out, Value v);
/* One scalar as PyYAML's safe_dump writes it: plain when that reads back
 * as the same string, else single-quoted, else double-quoted. */
void deps_yaml_scalar(Sb *out, const char *s);

/* A pinned package as package-lock.yml records it. */
typedef struct PkgPin {
    PkgKind kind;
    const char *key;              /* local path, git url (+ "/" subdirectory), hub package, tarball url */
    const char *local, *git_raw, *git, *revision, *subdirectory, *package, *version, *tarball;
    const char *name;             /* the package's project name */
    const PkgSpec *spec;          /* the first declaration (for errors) */
} PkgPin;

/* package-lock.yml's text for these pins and hash. */
void deps_lock_text(const PkgPin *pins, int n, const char *hash, Sb *out);

enum { DEPS_INFO, DEPS_WARN };
typedef struct DepsOptions {
    const char *root;             /* absolute project root */
    const char *project_name;     /* the root project's name */
    const char *install_path;     /* absolute packages-install-path */
    const ProjectRenderer *r;     /* renders in scope PR_PACKAGES */
    bool lock_only;               /* --lock: write package-lock.yml, install nothing */
    bool upgrade;                 /* --upgrade: resolve again even when the lock is current */
    bool warn_error;              /* --warn-error: a warning (unpinned git package) is an error */
    void (*log)(void *ud, int level, const char *msg);
    void *ud;
} DepsOptions;

/* The whole command.  0, or -1 with err set (exit 2). */
int  deps_run(const DepsOptions *o, Diag *err);

/* git.c: run `git args...` in cwd with LC_ALL=C; stdout and stderr into
 * out/errout (either may be NULL).  Returns git's exit status, or -1 with
 * errno (ENOENT: no git on PATH). */
int  deps_git(const char *cwd, const char *const *args, Sb *out, Sb *errout);
/* Is there a `git` on PATH? */
bool deps_have_git(void);
#endif
