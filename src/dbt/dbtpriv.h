/* dbtpriv.h - internals shared by the files of src/dbt (not a contract).
 *
 * Owns the Dbt struct, the per-render context (DbtCtx: which node, which
 * pass, what the render captured) and the helper signatures the files call
 * into each other: relations (dbt_relation.c), the context natives (dbt_context.c),
 * the macro namespace (dbt_macros.c), ephemeral injection (dbt_ephemeral.c).  The
 * engine itself (src/template) and the project loader (src/project) are
 * reached only through their public headers. */
#ifndef CDBT_DBTPRIV_H
#define CDBT_DBTPRIV_H
#include "dbt.h"
#include "../base/strmap.h"
#include <stdlib.h>
#include "../base/vec.h"

#define DBT_MAX_EPHEMERAL_DEPTH 64   /* nested ephemeral compilation bound */
#define DBT_MAX_VAR_DEPTH       16   /* var() values rendering var() ... */

/* One macro visible to dbt: a macro of the root project or of an installed
 * package, or a built-in (package dbt). */
typedef struct DbtMacro {
    const char *name;
    const char *unique_id;       /* macro.<pkg>.<name> */
    TplMacro *m;
    int pkg;                     /* slot: DBT_PKG_ROOT / DBT_PKG_DBT / DBT_PKG_FIRST + package index - 1 */
} DbtMacro;
/* Macro table slots: the root project, dbt's built-ins, then the installed
 * packages (Package.index 1.. at slot 1 + index). */
enum { DBT_PKG_ROOT = 0, DBT_PKG_DBT = 1, DBT_PKG_FIRST = 2 };

typedef enum DbtPass { DBT_YAML, DBT_PARSE, DBT_COMPILE } DbtPass;

/* A helper thread of the parse pass (dbt_parse.c): its own arenas and memo.
 * Renders that carry one must not touch what the main thread owns (console,
 * journal, parse-cache hooks, the Dbt's template cache, the project arena). */
typedef struct ParseLane ParseLane;

/* Per-render state: interp userdata of every render. */
typedef struct DbtCtx {
    struct Dbt *d;
    Node *n;                     /* NULL for YAML renders */
    DbtPass pass;
    RenderScope scope;           /* YAML renders */
    const char *yaml_pkg;        /* YAML renders of a package's properties file: its name, else NULL */
    Arena *a;                    /* render arena (values die with it) */
    bool execute;
    bool runtime_config;         /* parse-time render that reads config like run time (generate_*_name) */
    /* parse capture */
    VList *config_calls;         /* dicts, in call order */
    VEC(NodeRef) refs;
    VEC(NodeSrcRef) srcs;
    /* compile capture */
    VEC(Node *) ephem;           /* ephemeral nodes referenced, in call order */
    VDict *results;              /* statement results by name */
    /* lazily built per-node values */
    Value model, this_rel;
    bool have_model, have_this;
    Value test_kwargs;           /* _dbt_generic_test_kwargs (dict) or undefined */
    int var_depth;
    VDict *extra;                /* extra members (run hooks: schemas, results, ...) or NULL */
    ParseLane *lane;             /* parse render on the helper thread, or NULL */
    /* unit tests (dbt_unit.c): rendering the tested model of this unit test,
     * ref()/source()/this resolve to its given inputs' CTEs */
    Node *unit;
    VEC(int) unit_used;          /* indices into unit->unit->given, in first-use order */
    VDict *globals;              /* the render's globals when not d->globals (overrides) */
    struct DbtParseRec *rec;     /* parse pass with DbtOptions.record_macros: what the render read, or NULL */
} DbtCtx;

/* What a parse render read besides its node: the project macros it ran and
 * the vars it asked for, each once, in first-read order. */
typedef struct DbtParseRec {
    VEC(const MacroDef *) macros;
    VEC(const char *) vars;      /* names, in keep */
    Arena *keep;                 /* the node's: where the names are copied */
} DbtParseRec;
/* dbt_trace.c: note var(name) in c->rec */
void dbt_rec_var(DbtCtx *c, const char *name);

struct Dbt {
    DbtOptions opt;
    Arena arena;                 /* lifetime of the Dbt: builtins, globals */
    Arena scratch;               /* one render at a time, reset per node */
    ProjectRenderer renderer;
    Project *p;                  /* set by bind / attach */
    char invocation_id[37];
    Value run_started_at;
    VDict *yaml_globals;         /* env_var/var/target/... for YAML renders (rebuilt on bind) */
    VDict *globals;              /* shared node-render globals (built in dbt_attach) */
    Template *builtins;          /* parsed built-in macros */
    SrcFile builtins_src;
    StrMap *macros;              /* [npkg] name -> DbtMacro*, per slot */
    VDict **pkg_ns;              /* [npkg] namespace dicts: name -> macro value */
    int npkg;                    /* 2 + installed packages */
    VDict **pkg_globals;         /* [npkg] node-render globals of a package's nodes (slots >= DBT_PKG_FIRST; NULL: d->globals) */
    StrMap refable;              /* name -> Node* (enabled models/seeds/snapshots) */
    StrMap refable_disabled;     /* name -> Node* */
    StrMap sources;              /* "src.tbl" -> Node* */
    StrMap tpl_cache;            /* rendered-string text -> Template* (var values, test code) */
    uint64_t *tpl_seen;          /* hash|count of strings rendered (open addressing, 0 = empty) */
    size_t tpl_seen_n, tpl_seen_cap;
    bool native_schema, native_alias, native_database;   /* no user override of generate_*_name */
    bool parsed;
    const DbtDb *db;             /* live database (dbt_set_db) or NULL */
    const StrMap *defer;         /* --defer (dbt_set_defer) or NULL */
    bool favor_state;
    bool batch_on;               /* a microbatch batch is bound (dbt_set_batch) */
    DbtBatch batch;              /* its strings copied into arena */
    struct DbtTrace *trace;      /* dbt_trace_macros (dbt_trace.c), NULL: off */
    StrMap macro_defs;           /* TplMacro* (its bytes) -> its project MacroDef and file (dbt_trace.c) */
    bool macro_defs_built;
};
/* dbt_trace.c: the macro hook of a render that traces macro files
 * (dbt_trace_macros) or records the macros it runs (c->macs) */
void dbt_trace_attach(DbtCtx *c, Interp *I);
/* dbt_trace.c: build d->macro_defs (before the parse pass's threads start) */
void dbt_macro_defs_build(Dbt *d);
/* dbt_parse.c: f(ud, constraint, to) for each foreign_key constraint of a
 * model whose `to` is a string; the first nonzero return stops it. */
int dbt_each_fk(const Node *n, int (*f)(void *ud, VDict *c, const char *to), void *ud);
/* target/compiled/<pkg>/<path> of n (dbt_compile.c) */
const char *dbt_node_compiled_path(Dbt *d, Node *n);

/* ---- dbt_relation.c */
typedef struct DbtRel {
    const char *database, *schema, *identifier;   /* NULL = none */
    const char *type;            /* "table", "view", "cte", "materialized_view" or NULL */
    bool quote[3];               /* database, schema, identifier */
    bool include[3];
    bool cte;                    /* ephemeral: renders bare __dbt__cte__<identifier> */
    bool empty;                  /* --empty: str() is "(select * from <rel> where false limit 0) _dbt_limit_subq_<id>" */
    /* microbatch: str() is "(select * from <rel> where <f> >= '<start>' and
     * <f> < '<end>') _dbt_et_filter_subq_<id>" (outside the --empty wrap) */
    const char *et_field, *et_start, *et_end;
} DbtRel;
extern const ObjClass dbt_relation_class;
Value dbt_rel_value(Arena *a, const DbtRel *r);
bool  dbt_is_rel(Value v);
void  dbt_rel_render(const DbtRel *r, Sb *out);
void  dbt_rel_put_part(Sb *out, const char *part, bool quote);   /* one name, quoted or not */
/* The relation of a node (models/seeds/snapshots/tests: db.schema.alias with
 * project+node quoting; sources: their own quoting; ephemerals: CTE name). */
void  dbt_node_rel(Dbt *d, Node *n, bool as_cte, DbtRel *out);
const char *dbt_node_relation_name(Dbt *d, Node *n, Arena *a);
const char *dbt_rel_text(const DbtRel *r, Arena *a);          /* dbt_rel_render, into a */
Value dbt_api_value(Arena *a);   /* api = {Relation: ...} */

/* ---- dbt_context.c */
void  dbt_add_node_globals(Dbt *d, VDict *g);       /* ref, source, config, var, adapter, ... */
void  dbt_add_common_globals(Dbt *d, VDict *g);     /* target, project_name, modules, run_started_at, ... */
int   dbt_resolve(Interp *I, void *ud, const char *name, size_t n, Value *out);
void  dbt_ctx_init(DbtCtx *c, Dbt *d, Node *n, DbtPass pass, Arena *a);
void  dbt_ctx_fini(DbtCtx *c);
Value dbt_model_dict(DbtCtx *c);                    /* the `model`/`node` dict of c->n */
/* Render a template natively/textually inside a fresh Interp bound to ctx. */
Interp *dbt_interp(DbtCtx *c, Diag *err);
/* Render a string value as a var()/kwarg would: text or native mode. */
int   dbt_render_string(DbtCtx *c, Interp *outer, const char *s, size_t n, bool native, Value *out);
/* The parsed template of text s (what: its SrcFile name), parsed once per
 * Dbt and kept in d->tpl_cache; NULL on a syntax error (err filled). */
Template *dbt_cached_tpl(Dbt *d, const char *s, size_t n, const char *what, Diag *err);
/* Lookup of a key in a config dict, accepting pre_hook/pre-hook spellings. */
Value *dbt_config_get(VDict *cfg, const char *key);

/* ---- dbt_db.c: adapter methods answered by the live database (stubs without one) */
int   dbt_a_execute(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
int   dbt_a_get_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
int   dbt_a_load_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
int   dbt_a_get_columns(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
int   dbt_a_commit(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
int   dbt_a_drop_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
int   dbt_a_truncate_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
int   dbt_a_rename_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out);

/* ---- dbt_macros.c */
int   dbt_macros_init(Dbt *d, Diag *err);           /* parse builtins, index project and package macros */
void  dbt_macros_free(Dbt *d);
/* The slot of a package name (root project, "dbt", an installed package), -1 if unknown. */
int   dbt_pkg_slot(Dbt *d, const char *pkg);
/* The slot of a node's package (DBT_PKG_ROOT for root nodes and n NULL). */
int   dbt_node_slot(Dbt *d, const Node *n);
/* Bare name as seen from the nodes of slot `from` (§3.9): that package's
 * macros (when it is an installed package), the root project's, dbt's. */
DbtMacro *dbt_macro_lookup_from(Dbt *d, int from, const char *name);
DbtMacro *dbt_macro_lookup(Dbt *d, const char *name);              /* from the root project */
DbtMacro *dbt_macro_in(Dbt *d, int pkg, const char *name);
/* adapter.dispatch search from a node of slot `from` (§3.9): NULL when
 * nothing matched (a package of a dispatch: search_order that is not
 * installed is skipped). */
DbtMacro *dbt_dispatch(Dbt *d, int from, const char *name, const char *ns, Sb *attempts);   /* attempts (may be NULL): "'pkg.postgres__x', ..." as dbt lists them */
/* Resolve the names a template calls (from the nodes or macros of slot
 * `from`) to macro unique_ids (deduped, in order). */
void  dbt_macro_deps(Dbt *d, int from, const char **names, size_t nnames, Arena *a,
                     const char ***out, int *nout);
extern const char dbt_builtin_macros_sql[];

/* ---- dbt_unit.c (unit-test mode of the context natives) */
int   dbt_unit_ref(Interp *I, DbtCtx *c, const char *pkg, const char *name, Value *out);
int   dbt_unit_source(Interp *I, DbtCtx *c, const char *src, const char *tbl, Value *out);
Value dbt_unit_this(DbtCtx *c);
/* overrides.vars / overrides.env_vars entry (NULL when none) */
Value *dbt_unit_override(DbtCtx *c, const char *which, const char *name);
/* Columns (name, data_type as dbt's PostgresColumn.data_type) of a relation
 * on the bound database (dbt_db.c); *n = 0 when it does not exist. */
int   dbt_db_columns(Dbt *d, const DbtRel *r, Arena *a, const char ***names, const char ***types, int *n, Diag *err);

/* ---- dbt_ephemeral.c */
/* Insert the CTE list (already joined by ", ") into sql per §5. Result in out. */
void  dbt_inject_ctes(const char *sql, size_t n, const char *ctes, size_t cn, Sb *out);

/* ---- dbt_parse.c / dbt_compile.c shared */
void  dbt_error_prefix(Diag *err, Node *n);
/* The node of m (d->refable, d->refable_disabled, d->sources: "src.tbl")
 * named name as seen from `from` (§2.5): in package pkg when given, else
 * the root project's, from's package's, then any package's. */
Node *dbt_find_node(Dbt *d, StrMap *m, const Node *from, const char *pkg, const char *name);
/* ref() lookup: version NULL finds the latest version of a versioned model */
Node *dbt_find_ref(Dbt *d, StrMap *m, const Node *from, const char *pkg, const char *name, const char *version);
int   dbt_parse_node(Dbt *d, Node *n, Diag *err);      /* parse-time render + capture */
int   dbt_test_kwargs(DbtCtx *c, Interp *I);           /* generic test kwargs -> c->test_kwargs */
/* A native that only the main thread may run (it prints, reads the
 * environment, ...) was called on the helper thread: the node is marked to be
 * rendered again on the main thread, in node order; returns -1 (error recorded). */
int   dbt_lane_refuse(Interp *I, ParseLane *ln, const char *what);
#endif
