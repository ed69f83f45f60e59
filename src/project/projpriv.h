/* projpriv.h - internals shared by the files of src/project (not a contract).
 *
 * A Loader carries the state of one project_load() call: the project being
 * built, the caller's options and renderer, the error sink, and the
 * per-resource-type name tables used to attach properties-file patches.
 * ProjectPriv is what the loaded Project keeps after loading (the raw
 * dbt_project.yml tree for unrendered_config and the config-fold memo). */
#ifndef CDBT_PROJPRIV_H
#define CDBT_PROJPRIV_H
#include <stdarg.h>
#include "project.h"
#include "../base/vec.h"

#define PL_MAX_DEPTH 64          /* recursion bound for config trees and value walks */
#define PL_NCOLUMN_KEYS 7        /* name, description, meta, data_type, constraints, quote, tags */

struct ProjectPriv {
    VDict *raw_yml;              /* dbt_project.yml as written (no rendering) */
    StrMap memo;                 /* "<rt>/<fqn prefix>" -> CfgMemo* (config.c) */
    StrMap calls;                /* "<storage>/<repr of a config() dict>" -> merged VDict* (config.c) */
    StrMap warn_seen;            /* de-duplicates identical warnings */
};

/* One YAML file loaded for semantic checks: errors point into it. */
typedef struct YFile {
    const char *rel;             /* path shown to the user (relative to the project root) */
    const char *text;
    size_t len;
    YNode *root;
    const char *search_path;     /* properties files: the search path it was found under */
    const char *rel_in_search;   /* and its path relative to that search path */
    Package *pkg;                /* properties files: the package it belongs to */
} YFile;

/* A properties-file entry for a model/seed/snapshot/analysis. */
typedef struct Patch {
    YFile *file;
    const YNode *entry;
    const char *yaml_key;        /* "models", "seeds", ... */
} Patch;

typedef struct Loader {
    Project *p;
    Arena *a;
    Arena tree;                  /* YAML texts and trees (pl_yaml_file): dropped when loading ends */
    const ProjectOptions *opt;
    const ProjectRenderer *r;
    Diag *err;
    Package *pkg;                /* the package being loaded (p->self for the root project) */
    StrMap *by_name;             /* [RT__COUNT] of pkg: name -> Node* for models/seeds/snapshots/analyses/tests (enabled or not) */
    StrMap *patched;             /* [RT__COUNT] of pkg: name -> Patch* */
    StrMap root_by_name[RT__COUNT], root_patched[RT__COUNT];
    VEC(Node *) pending;         /* discovered, config not folded yet */
    VEC(Node *) nodes;           /* enabled, final order */
    VEC(Node *) disabled;
    VEC(MacroDef *) macros;
    VEC(const char *) warnings;
    VEC(struct TestJob *) jobs;
    VEC(Node *) expos;           /* exposures, added after the unit tests (props.c) */
    VEC(Node *) units;           /* unit tests, added after the generic tests (props.c) */  /* generic tests to build once targets are folded */
    Value column_keys[PL_NCOLUMN_KEYS]; /* the keys of a column dict, shared by every column (props.c) */
    Value kwarg_keys[2];         /* "column_name", "model": generic test kwargs keys (gentest.c) */
    StrMap interned;             /* pl_intern: text -> its one copy in the project arena */
    struct Reader *reader;       /* files whose text a thread is reading (discover.c) */
    struct Prefetch *prefetch;   /* properties files a thread is reading and parsing (props.c) */
    struct DbtIgnore *ignore;    /* .dbtignore, or NULL (ignore.c) */
} Loader;

/* ---- ignore.c */
typedef struct DbtIgnore DbtIgnore;
/* <root>/.dbtignore, or NULL when there is none (its absence is journaled). */
DbtIgnore *pl_ignore_load(Loader *L);
/* The patterns of a .dbtignore text (in a). */
DbtIgnore *pl_ignore_parse(Arena *a, const char *text, size_t len);
/* Is path (relative to the project root) excluded by it?  ig may be NULL. */
bool pl_ignored(const DbtIgnore *ig, const char *path);

/* ---- yutil.c */
enum {
    PL_RENDER    = 1,            /* render strings holding "{{", "{%" or "{#" */
    PL_HOOKS_RAW = 2,            /* keep pre-hook/post-hook subtrees unrendered */
    PL_PROPS_RAW = 4,            /* keep description/tests/data_tests unrendered */
};
/* Located error at node n of f (n may be NULL: file-level). Returns -1. */
int  pl_err(Loader *L, const YFile *f, const YNode *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The text of the line of f holding byte off (in the project arena), or NULL. */
const char *pl_line_text(Loader *L, const YFile *f, size_t off);
void pl_warn(Loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read a file into the arena as strict UTF-8 (errors located at the bad byte). */
int  pl_read_utf8(Loader *L, const char *abs, const char *rel, char **text, size_t *len);
/* Offset of the first byte of text that is not strict UTF-8, n if none.
 * Pure: safe on any thread. */
size_t pl_utf8_check(const char *text, size_t n);
/* The error pl_read_utf8 reports for the bad byte at offset i.  Returns -1. */
int  pl_utf8_error(Loader *L, const char *rel, const char *text, size_t n, size_t i);
/* Load a YAML file; *f->root NULL for an empty document.  The text and the
 * tree live in L->tree (gone after project_load), the scalars' values in L->a. */
int  pl_yaml_file(Loader *L, const char *abs, const char *rel, YFile *f);
/* Convert a subtree to Values, rendering strings per flags in the given scope. */
int  pl_conv(Loader *L, const YFile *f, const YNode *n, RenderScope scope, unsigned flags, Value *out);
/* Render one string scalar (fast path when it holds no Jinja). */
int  pl_render_scalar(Loader *L, const YFile *f, const YNode *n, RenderScope scope, Value *out);
bool pl_needs_render(const char *s, size_t n);
/* Python str.strip() over UTF-8: the [start, end) byte range kept. */
void pl_strip(const char *s, size_t n, size_t *start, size_t *end);
/* Python-style helpers. */
const char *pl_kind(const YNode *n);                     /* "string", "mapping", ... */
bool pl_is_str(const YNode *n);                         /* scalar resolving to a string */
const char *pl_fmt_value(Arena *a, Value v);             /* str() */

/* ---- project.c */
Node *pl_new_node(Loader *L, ResourceType rt);
/* One copy in the project arena of each distinct text (names, fqn parts, generated code). */
const char *pl_intern(Loader *L, const char *s, size_t n);
/* The strings given (NULL ends the list, so none may be NULL) one after
 * the other, in a: the names and ids of tens of thousands of nodes are put
 * together this way for a fraction of what arena_sprintf's format parsing
 * costs. */
char *pl_cat(Arena *a, ...) __attribute__((sentinel));
int   pl_add_node(Loader *L, Node *n);                  /* after folding: enabled -> nodes, else disabled */
const char **pl_fqn(Loader *L, const char *dirs_path, const char *name, int *n); /* [pkg, dirs..., name] */
bool  pl_enabled(VDict *config);
VDict *pl_empty_dict(Loader *L);

/* ---- dbtproject.c / profile.c */
int pl_locate_project(Loader *L, char **root_out);
int pl_read_project_yml(Loader *L);
int pl_read_profile(Loader *L, const char *project_profile);
/* Installed packages (packages.c): list packages-install-path, read each
 * package's dbt_project.yml, then load its files as the root's are. */
int pl_read_package_yml(Loader *L, Package *pk, const char *display);
int pl_load_packages(Loader *L);

/* ---- discover.c */
int pl_discover(Loader *L);           /* models, seeds, snapshots, analyses, singular tests, macros (of L->pkg) */
/* A discovered node (pending its config) that can be found by name. */
void pl_register_node(Loader *L, Node *n);
/* Wait for the texts of the model, analysis and singular test files (read
 * by a thread while the load goes on) and set the nodes' raw_code, src and
 * checksum.  ok: the steps since pl_discover succeeded.  A file that could
 * not be read replaces any later error in L->err.  Returns 0 when ok and
 * every file was read. */
int pl_discover_finish(Loader *L, bool ok);

/* ---- props.c */
/* Start a thread that reads and parses the properties files, in the order
 * pl_read_properties takes them, while discovery goes on (no-op in delta
 * mode).  pl_read_properties uses its results and ends it. */
void pl_props_prefetch(Loader *L);
/* Stop and join that thread (if any) and adopt what it allocated. */
void pl_props_prefetch_end(Loader *L);
int pl_read_properties(Loader *L);    /* collects patches, sources, macro patches; builds sources */
int pl_read_package_properties(Loader *L);  /* the same for L->pkg, without the prefetch thread */
int pl_apply_patches(Loader *L);
/* Add the unit tests read from the properties files (after the generic tests). */
int pl_add_unit_tests(Loader *L);
/* Add the exposures read from the properties files (after the unit tests). */
int pl_add_exposures(Loader *L);      /* fold configs of discovered nodes, add them, then generic tests */

/* ---- gentest.c */
typedef struct TestTarget {
    ResourceType rt;              /* RT_MODEL/RT_SEED/RT_SNAPSHOT/RT_SOURCE/... */
    const char *name;             /* model name, or table name for sources */
    const char *version;          /* a versioned model's version (str(v)), else NULL */
    const char *source_name;      /* sources only */
    Node *node;                   /* the tested node (NULL if missing) */
    const char *file_key_name;
    VList *extra_tags;            /* sources: source + table tags */
} TestTarget;
typedef struct TestJob {
    YFile *f;
    const YNode *tests;           /* the data_tests/tests sequence */
    TestTarget t;
    const char *column_name;      /* NULL for target-level tests (already quoted when quote: true) */
    VList *column_tags;
    Value column_value, model_value; /* kwargs column_name and model, shared by the job's tests (V_UNDEF until made) */
} TestJob;
/* Queue a test list; checks its shape now (located errors). */
int pl_queue_tests(Loader *L, YFile *f, const YNode *tests, const TestTarget *t,
                   const char *column_name, VList *column_tags);
/* Build every queued generic test node (after the targets' configs are folded). */
int pl_build_tests(Loader *L);

/* ---- config.c */
/* n->config/unrendered_config = defaults + project tree along n->fqn + (patch, patch_raw). */
void pl_config_fold(Loader *L, Node *n, VDict *patch, VDict *patch_raw);
void pl_config_free(Project *p);
/* Normalise one hook value (string, dict or list) into dst (list of {sql, transaction, index}). */
void pl_hooks_append(Arena *a, VList *dst, Value v);
#endif
