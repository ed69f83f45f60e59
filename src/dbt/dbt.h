/* dbt.h - dbt's semantics bound into the template engine: the Jinja context
 * (ref, source, config, var, env_var, this, target, is_incremental, adapter,
 * log, print, return, exceptions, modules, run_started_at, invocation_id,
 * model, ...), the built-in macros (generate_*_name, generic tests,
 * get_where_subquery, ...), the parse pass (execute=false) that records
 * config()/ref()/source() and resolves dependencies, the compile pass
 * (execute=true) with ephemeral CTE injection (§5), and manifest.json (§13).
 *
 * Usage:
 *   Dbt *d = dbt_new(&opts);
 *   Project *p = project_load(&popt, dbt_renderer(d), &err);
 *   dbt_attach(d, p, &err);          // macros, builtins
 *   dbt_parse(d, &err);              // every node: config, refs, names, parents
 *   ... graph_build / graph_select ...
 *   dbt_compile_node(d, node, &err); // for each selected node, in topo order
 *   manifest_write(p, dbt_invocation_id(d), path, &err);   // manifest.h
 * Nothing here prints; log()/print() output goes through DbtOptions.out. */
#ifndef CDBT_DBT_H
#define CDBT_DBT_H
#include <stdbool.h>
#include <stdio.h>
#include "../project/project.h"

typedef struct Dbt Dbt;

typedef struct DbtOptions {
    const char *which;          /* command name: "compile", "run", ... (flags.WHICH) */
    VDict *cli_vars;            /* --vars */
    bool full_refresh;
    FILE *out;                  /* where print()/log(info=True) write; NULL = stdout */
    bool no_print;
} DbtOptions;

Dbt  *dbt_new(const DbtOptions *opt);
void  dbt_free(Dbt *d);
const ProjectRenderer *dbt_renderer(Dbt *d);
int   dbt_attach(Dbt *d, Project *p, Diag *err);
/* Parse pass over every node (models, seeds, tests, snapshots, analyses, sources):
 * records config(), refs, sources; applies generate_database/schema/alias_name;
 * resolves refs/sources to Node.dep_nodes/parents (missing or disabled -> error). */
int   dbt_parse(Dbt *d, Diag *err);
/* Compile one node with execute=true (no database: is_incremental() false,
 * introspection empty).  Sets compiled_code etc.; ephemeral parents are
 * compiled on demand.  Does not write files. */
int   dbt_compile_node(Dbt *d, Node *n, Diag *err);
/* Render text (a hook, a materialization snippet) with execute=true in the
 * context of node n (this, model, refs, sql = n's compiled_code once compiled).
 * *out lives in the project arena.  Errors are prefixed like compile errors. */
int   dbt_render_in_node(Dbt *d, Node *n, const char *text, const char **out, Diag *err);
/* Compile free SQL given with --inline (as an anonymous model "inline_query"). */
int   dbt_compile_inline(Dbt *d, const char *sql, const char **out, Diag *err);
/* Write target/compiled/<pkg>/<original_file_path> for a compiled node. */
int   dbt_write_compiled(Dbt *d, Node *n, Diag *err);
/* manifest.json is written by manifest_write() (manifest.h), from the Project alone. */
const char *dbt_invocation_id(Dbt *d);
/* The project given to dbt_attach (or bound by project_load), NULL before. */
Project    *dbt_project(Dbt *d);
#endif
