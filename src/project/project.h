/* project.h - the loaded dbt project: files, nodes, configs (no rendering of
 * SQL, no database).
 *
 * project_load() reads dbt_project.yml, the selected profiles.yml output,
 * discovers models/seeds/tests/snapshots/analyses/macros (spec §1.7), reads
 * every properties file (§1.8: models, seeds, sources, columns, tests,
 * config, description), creates source nodes and generic test nodes (§9.1,
 * §9.3 names and ids), and folds each node's config from built-in defaults,
 * the dbt_project.yml tree along its fqn and the properties-file config
 * (§1.4-1.5, layers 1-3).  Layer 4 (in-file config() calls) and everything
 * that needs Jinja over SQL (refs, sources, generate_*_name, compiled code)
 * belong to src/dbt/.
 *
 * Strings in YAML that must be rendered as Jinja (dbt_project.yml values,
 * profiles.yml output, properties-file values, test config values) go through
 * the ProjectRenderer supplied by the caller; when it is NULL they are kept as
 * written.  Everything lives in Project.arena. */
#ifndef CDBT_PROJECT_H
#define CDBT_PROJECT_H
#include <stdbool.h>
#include <string.h>
#include "../base/arena.h"
#include "../base/diag.h"
#include "../base/strmap.h"
#include "../value/value.h"
#include "../template/template.h"
#include "../yaml/yaml.h"

typedef enum ResourceType {
    RT_MODEL, RT_SEED, RT_TEST, RT_SNAPSHOT, RT_ANALYSIS, RT_SOURCE, RT_MACRO, RT_OPERATION,
    RT_UNIT_TEST, RT_EXPOSURE,
    RT__COUNT
} ResourceType;
const char *rt_name(ResourceType rt);              /* "model", "seed", ... */
int         rt_from_name(const char *s);           /* -1 if unknown */

typedef struct NodeRef { const char *name; const char *package; const char *version; } NodeRef;
/* A versioned model (`versions:` in its properties file, dbt 1.5+): its
 * version and the model's latest, as written (int, float or string), and
 * str() of each ("2", "1.5", "beta"). */
typedef struct ModelVersion {
    Value v, latest;
    const char *vtext, *latest_text;
} ModelVersion;
typedef struct NodeSrcRef { const char *source; const char *table; } NodeSrcRef;

/* Unit tests (dbt 1.8+ `unit_tests:` in a properties file), normalised by
 * the loader (props.c): rows of dict and csv fixtures are lists of dicts
 * (csv values strings, an empty field None), sql fixtures the SQL text. */
typedef enum { UT_REF, UT_SOURCE, UT_THIS } UtInputKind;
typedef enum { UT_DICT, UT_CSV, UT_SQL } UtFormat;
typedef struct UtLoc {               /* where an entry was written, for errors after loading */
    const char *file; int line, col;
    const char *src_line;
} UtLoc;
typedef struct UtFixture {
    const char *input;               /* as written: "ref('a')", "source('s', 't')", "this"; NULL for expect */
    UtInputKind kind;
    NodeRef ref;                     /* UT_REF */
    NodeSrcRef src;                  /* UT_SOURCE */
    UtFormat format;
    Value rows;                      /* dict/csv: list of dicts; sql: the SQL string */
    const char *fixture;             /* fixture name or NULL */
    UtLoc loc;                       /* the input (expect: the expect key) */
} UtFixture;
typedef struct UnitTest {
    const char *model;               /* the tested model's name */
    UtLoc model_loc, name_loc;
    UtFixture *given; int ngiven;
    UtFixture expect;
    VDict *overrides;                /* {macros, vars, env_vars} (each a dict) or NULL */
    const char *checksum;            /* sha256 hex over the definition (not dbt's exact text) */
} UnitTest;

/* Exposures (`exposures:` in a properties file): what the loader read
 * (props.c); the node's refs/sources come from depends_on, resolved with
 * the other nodes' in src/dbt (errors located at the entry). */
typedef struct ExpoDep {
    const char *text;                /* as written: "ref('a')" */
    char kind;                       /* 'r' ref, 's' source, 'm' metric */
    int index;                       /* into refs / sources / metrics */
    UtLoc loc;
} ExpoDep;
typedef struct Exposure {
    const char *type;                /* dashboard|notebook|analysis|ml|application */
    const char *label, *url, *maturity;   /* NULL: absent */
    Value owner;                     /* dict {email, name, ...} */
    ExpoDep *deps; int ndeps;
    const char **metrics; int nmetrics;   /* metric('m') names */
} Exposure;

typedef struct Node {
    int index;                      /* dense index in Project.nodes */
    ResourceType rt;
    const char *unique_id;
    const char *name;
    const char *package_name;
    const char *path;               /* relative to the search path it was found under (tests: <short name>.sql) */
    const char *original_file_path; /* relative to project root (generic tests, sources: the yml) */
    const char *patch_path;         /* "<pkg>://<yml path>" or NULL */
    const char **fqn;               /* nfqn parts (the counts are grouped at the end) */
    const char *root_path;          /* absolute project root (seeds) */

    /* identity, resolved by src/dbt (generate_*_name) */
    const char *database, *schema, *alias, *relation_name;

    VDict *config;                  /* folded config; dbt layer adds in-file config() */
    VDict *unrendered_config;
    const char *description;
    VDict *columns;                 /* name -> {name, description, meta, data_type, constraints, quote, tags} */
    VDict *meta;                    /* = config.meta */
    VList *tags;                    /* = config.tags (strings) */
    VDict *docs;

    /* source text */
    const char *raw_code; size_t raw_len;  /* stripped file content (§1.7) */
    const char *abs_path;                  /* absolute path of the file read */
    SrcFile src;                            /* over raw_code, path = original_file_path */
    char checksum_name[8];                  /* "sha256" or "path" */
    const char *checksum;                   /* hex or path */
    Template *tpl;                          /* parsed raw_code (NULL until parsed) */

    /* dependencies (filled by the parse pass in src/dbt) */
    NodeRef *refs;                              /* nrefs */
    NodeSrcRef *sources;                        /* nsources */
    const char **dep_nodes;                     /* ndep_nodes unique_ids, in first-seen order */
    const char **dep_macros;                    /* ndep_macros */
    int *parents;                               /* nparents indices of dep_nodes in Project.nodes */

    /* tests */
    const char *test_name;          /* generic: "unique", "accepted_values", ... */
    const char *test_namespace;     /* NULL or package */
    const char *column_name;        /* NULL for model-level */
    const char *attached_node;      /* unique_id of the tested node */
    const char *file_key_name;      /* "models.<name>" / "sources.<src>" */
    VDict *test_kwargs;             /* raw kwargs (strings unrendered), incl. column_name, model */

    /* sources */
    const char *source_name, *source_description, *identifier, *loader, *loaded_at_field;
    VDict *freshness, *quoting, *external;

    /* compile results (src/dbt) */
    const char *compiled_code;      /* with ephemeral CTEs injected */
    /* strlen(compiled_code), measured once where it is set (it is written to
     * the compiled file, manifest.json and run_results.json), valid while
     * compiled_len_of == compiled_code: use node_compiled_len() */
    const char *compiled_len_of;
    size_t compiled_len;
    const char *compiled_pre;       /* before injection */
    VList *extra_ctes;              /* [{id, sql}] */
    const char *compiled_path;
    double created_at;

    /* unit tests (RT_UNIT_TEST): depends on the tested model (refs[0]) */
    UnitTest *unit;
    /* exposures (RT_EXPOSURE): never rendered, compiled or run */
    Exposure *expo;

    /* installed packages (§1.4 layer 5): a package node's config before the
     * root project's dbt_project.yml tree was applied on top (layers 1-3);
     * NULL for root-project nodes */
    VDict *config_pkg, *unrendered_pkg;

    /* added by src/project */
    VDict *source_meta;             /* sources: the source-level meta (Node.meta is the table's) */
    const char *yml_path;           /* generic tests/sources: the properties file (= original_file_path) */
    VList *constraints;             /* models: model-level `constraints:` of the properties file (NULL: none) */
    const ModelVersion *version;    /* versioned models, else NULL */

    /* the counts of the arrays above, and the flags, side by side (no
     * padding between them: there are 30,000 nodes in a big project) */
    int nfqn, nrefs, nsources, ndep_nodes, ndep_macros, nparents;
    bool parse_text_seen;   /* the parse render read text a macro emitted (interp_text_seen) */
    /* the project macros the parse render ran, each once (recorded when
     * DbtOptions.record_macros is set: the parse cache keys a node on them
     * and on the vars it read) */
    const struct MacroDef **parse_macros; int nparse_macros;
    const char **parse_vars; int nparse_vars;   /* the vars it asked var() for (same) */
    bool is_generic_test;   /* tests */
    bool compiled;          /* compile results */
    bool disabled;
    bool stub;              /* delta compile: stands for a node not loaded (identity preset, not rendered) */
} Node;

/* Set n->compiled_code to code (may be NULL) and note its length. */
static inline void node_set_compiled_code(Node *n, const char *code)
{
    n->compiled_code = code;
    n->compiled_len_of = code;
    n->compiled_len = code ? strlen(code) : 0;
}

/* strlen(n->compiled_code) (0 for NULL), without measuring it again when
 * node_set_compiled_code() already did. */
static inline size_t node_compiled_len(const Node *n)
{
    if (!n->compiled_code)
        return 0;
    return n->compiled_len_of == n->compiled_code ? n->compiled_len : strlen(n->compiled_code);
}

typedef struct MacroDef {
    const char *unique_id;          /* macro.<pkg>.<name> */
    const char *name, *package_name, *path, *original_file_path;
    const char *macro_sql;          /* text of the block */
    TplMacro *macro;
    const char *description;
    VList *arguments;
    VDict *meta;
    const char **dep_macros; int ndep_macros;
} MacroDef;

/* The root project or an installed package (a directory under
 * packages-install-path holding a dbt_project.yml). */
typedef struct Package {
    const char *name;               /* dbt_project.yml name: the package_name of its nodes */
    const char *root;               /* absolute directory */
    const char *rel_dir;            /* relative to the root project ("" for the root) */
    int index;                      /* 0: the root project; 1..: installed packages, by name */
    VDict *project_yml;             /* its dbt_project.yml (config trees rendered, hooks and vars not) */
    VDict *raw_yml;                 /* as written */
    VDict *vars;                    /* its own vars (unrendered) */
    const char **model_paths, **seed_paths, **macro_paths, **test_paths,
               **snapshot_paths, **analysis_paths; /* NULL-terminated */
    StrMap *macro_by_name;          /* name -> MacroDef* of this package */
} Package;

struct Project;   /* for ProjectRenderer.bind */
/* PR_PACKAGES: packages.yml, dependencies.yml, package-lock.yml and the
 * `name` of a package's dbt_project.yml as `cdbt deps` reads them (dbt's
 * PackageRenderer: env_var() incl. DBT_ENV_SECRET_*, --vars only, no target). */
typedef enum { PR_PROJECT, PR_PROFILE, PR_PROPERTIES, PR_PACKAGES } RenderScope;
typedef struct ProjectRenderer {
    /* Render s natively (§4.3) in the given scope; file/line/col locate s for diagnostics.
     * pkg: the installed package whose file s is in (its vars apply, §3.4), or NULL.
     * Return 0 and *out, or -1 with err filled. */
    int (*render)(void *ud, RenderScope scope, const char *pkg, const char *s, size_t n,
                  const char *file, int line, int col, Value *out, Diag *err);
    void *ud;
    /* Optional (may be NULL).  project_load() calls it once dbt_project.yml and
     * the profile are read, BEFORE the first PR_PROPERTIES render, so the
     * renderer can see p->name, p->vars, p->cli_vars and p->target (added by src/dbt). */
    void (*bind)(void *ud, struct Project *p);
} ProjectRenderer;

typedef struct ProjectOptions {
    const char *project_dir;        /* NULL: --project-dir/DBT_PROJECT_DIR/ancestor search already applied by caller? no: NULL = search from cwd */
    const char *profiles_dir;       /* NULL = §1.1 precedence */
    const char *profile;            /* --profile */
    const char *target;             /* --target */
    const char *target_path;        /* --target-path */
    VDict *cli_vars;                /* parsed --vars (may be NULL) */
    bool need_profile;              /* false: a missing profiles.yml is not an error (ls, parse, compile) */
    int threads;                    /* --threads, 0 = unset */
    /* Delta compile (src/cli/delta.c): load only these model files (paths
     * relative to the project root) and the one properties file only_props
     * (may be NULL), patching only those models; no other nodes, sources or
     * tests.  nonly_models == 0: the whole project. */
    const char *const *only_models; int nonly_models;
    const char *only_props;
    /* Stop once dbt_project.yml (and the profile, when one is needed) is
     * read: no discovery, no properties files, no nodes (`cdbt deps`). */
    bool only_project_yml;
} ProjectOptions;

typedef struct Project {
    Arena arena;
    const char *root;               /* absolute project dir */
    const char *name;               /* project name = package of local nodes */
    const char *version;
    const char *profile_name, *target_name;
    int threads;
    VDict *target;                  /* the `target` context dict (no password) */
    VDict *profile_output;          /* the rendered output incl. password (for connecting) */
    VDict *project_yml;             /* dbt_project.yml as Values (vars and hooks unrendered) */
    VDict *vars;                    /* project vars (unrendered) */
    VDict *cli_vars;
    const char **model_paths, **seed_paths, **macro_paths, **test_paths,
               **snapshot_paths, **analysis_paths; /* NULL-terminated */
    const char *target_path, *log_path;
    const char **clean_targets;
    VDict *quoting;                 /* project-level quoting */

    Node **nodes; int nnodes;       /* enabled nodes incl. sources and tests */
    StrMap by_id;                   /* unique_id -> Node* */
    Node **disabled; int ndisabled;
    MacroDef **macros; int nmacros; /* user macros (root project), in file order */
    StrMap macro_by_name;           /* name -> MacroDef* (root project) */

    /* installed packages (dbt_packages/): none when the directory is absent */
    Package *self;                  /* the root project as a Package (index 0) */
    Package **packages; int npackages; /* installed packages, by name */
    const char *packages_install_path; /* as configured ("dbt_packages") */

    /* added by src/project */
    const char **warnings; int nwarnings;  /* load-time warnings (patch for a missing node, ...) */
    const char *profiles_dir;       /* absolute directory profiles.yml was looked up in */
    struct ProjectPriv *priv;       /* loader internals (config memo, raw dbt_project.yml) */
} Project;

/* Load the project. Returns NULL with err filled on any project error (exit code 2). */
Project *project_load(const ProjectOptions *opt, const ProjectRenderer *r, Diag *err);
void     project_free(Project *p);
/* The project root and absolute target directory project_load() would use,
 * found without loading (malloc'ed).  -1 when unknown (no dbt_project.yml,
 * a templated target-path, ...). */
int      project_locate(const ProjectOptions *opt, char **root, char **target_dir);
/* The directory profiles.yml is looked up in (§1.1): given (--profiles-dir)
 * when set, else DBT_PROFILES_DIR, else the working directory when it holds
 * a profiles.yml, else ~/.dbt.  In a (not made absolute). */
const char *project_profiles_dir(const char *given, Arena *a);
Node    *project_node(Project *p, const char *unique_id);
/* A static ref('m') / ref('pkg', 'm') / ref('m', v=1) / source('s', 't')
 * call (a foreign key's `to`, ...): 'r' with *ref, 's' with *src, 0 when
 * text is none of those.  Strings in a. */
int      project_parse_ref_call(Arena *a, const char *text, NodeRef *ref, NodeSrcRef *src);
/* A foreign key's `to` (dbt 1.9): 0 for a relation written out (used as
 * is), 'r' / 's' for a ref() / source() call parsed into *ref / *src, -1
 * for neither (bad syntax). */
int      project_fk_target(Arena *a, const char *to, NodeRef *ref, NodeSrcRef *src);
/* The package named name (p->self for the root project), or NULL. */
Package *project_package(const Project *p, const char *name);
/* §3.4: what var(name) gives a node of package pkg: --vars (cli_vars), then
 * the root project's vars (scoped to pkg, then global), then an installed
 * package's own vars (scoped, then global); with project_vars false,
 * --vars alone.  NULL when not defined.  The value is unrendered. */
Value *project_var(const Project *p, VDict *cli_vars, const char *pkg, const char *name, bool project_vars);
/* Is n an ephemeral model (config materialized: ephemeral)? */
static inline bool node_is_ephemeral(const Node *n)
{
    Value *m = n->rt == RT_MODEL && n->config ? dict_getz(n->config, "materialized") : NULL;
    return m && m->type == V_STR && strcmp(m->u.s->s, "ephemeral") == 0;
}
/* Does node n belong to an installed package (not the root project)? */
static inline bool node_in_package(const Project *p, const Node *n)
{
    return p->npackages && n->package_name && n->package_name != p->name && strcmp(n->package_name, p->name) != 0;
}

/* Config folding (config.c). */
VDict *config_defaults(Arena *a, ResourceType rt);
/* Merge src into dst with dbt's per-key rules (§1.4: append tags/hooks,
 * shallow-update meta/quoting/column_types/docs/contract, grants key-append,
 * pre_hook/post_hook normalised to pre-hook/post-hook, '+' prefixes removed). */
void   config_merge(Arena *a, VDict *dst, VDict *src);
/* dst merged with the dict of an in-file config() call (layer 4), src's
 * values copied into p's arena; returns the merged dict (dst itself, or a
 * copy-on-write view of a result shared by every equal merge: dst viewing
 * the same config and src of the same plain values). */
VDict *config_merge_call(Project *p, VDict *dst, VDict *src);
/* The same with the copies in a and the memo of shared results in calls
 * (NULL: none), for a thread that must not touch p's arena or memo. */
VDict *config_merge_call_in(Arena *a, StrMap *calls, VDict *dst, VDict *src);
/* The dbt_project.yml tree for rt walked along fqn (§1.4 layer 2), merged into dst. */
void   config_apply_project(Project *p, ResourceType rt, const char **fqn, int nfqn, VDict *dst);
/* Layer 5 (§1.4) for a package node: the root project's tree along its fqn
 * merged into dst and dst_raw (may be NULL), copies in a.  Reads only what
 * the loader already walked for that node, so any thread may call it. */
void   config_apply_root(Project *p, Arena *a, ResourceType rt, const char **fqn, int nfqn,
                         VDict *dst, VDict *dst_raw);
#endif
