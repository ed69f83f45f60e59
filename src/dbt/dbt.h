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
#include <stdint.h>
#include <stdio.h>
#include "../project/project.h"
#include "../base/sb.h"

typedef struct Dbt Dbt;

typedef struct DbtOptions {
    const char *which;          /* command name: "compile", "run", ... (flags.WHICH) */
    VDict *cli_vars;            /* --vars */
    bool full_refresh;
    bool empty;                  /* --empty: ref() and source() read no rows (render_limited, limit 0) */
    FILE *out;                  /* where print()/log(info=True) write; NULL = stdout */
    bool no_print;
    bool log_json;              /* --log-format json: log(info=True) writes a JinjaLogInfo JSON line */
    /* Optional hooks for the parse cache (src/cache); NULL = none.
     * parse_skip(hook_ud, n): true when the caller already restored n's
     *   parse outputs (config, unrendered_config, tags, meta, refs, sources,
     *   dep_macros); dbt_parse() then skips n's parse-time render.
     * env_read(hook_ud, n, name, value): every env_var() read while
     *   rendering in the context of node n (value NULL when unset).
     * Both are called on the thread that called dbt_parse(), in node order
     *   (the parse pass's helper thread calls neither). */
    bool (*parse_skip)(void *ud, const Node *n);
    void (*env_read)(void *ud, const Node *n, const char *name, const char *value);
    void *hook_ud;
    /* record_macros: the parse pass records in each node it renders the
     * project macros that render ran (Node.parse_macros) and the vars it
     * asked var() for (Node.parse_vars), whatever thread renders it; a
     * macro whose attributes (.name, .arguments) were read counts as run. */
    bool record_macros;
} DbtOptions;

Dbt  *dbt_new(const DbtOptions *opt);
void  dbt_uuid4(char out[37]);     /* a fresh random invocation id */
/* The "info" member of a --log-format json console line (name, level, msg,
 * ts, invocation_id, thread, pid), written into an object w has open. */
struct JsonW;
void  dbt_json_log_info(struct JsonW *w, const char *name, const char *level, const char *msg,
                        const char *invocation_id);
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
/* Unit tests (RT_UNIT_TEST; dbt_compile_node calls this for them): the
 * tested model's SQL with each given input (ref/source/this) replaced by a
 * CTE of its fixture rows, the columns and types of dict/csv fixtures read
 * from the input relation on the bound database (dbt_set_db).  Sets
 * compiled_code; the error says "Not able to get columns ..." when an input
 * relation does not exist. */
int   dbt_compile_unit_test(Dbt *d, Node *u, Diag *err);
/* A fixture value as dbt's format_row puts it in the cast: 'text' (quotes
 * doubled), null, True/False, numbers as Python prints them; any other
 * value (a date) as quoted text. */
void  dbt_unit_literal(Sb *out, Value v);
/* Fixture rows (list of dicts) as `select cast(<v> as <type>) as <col>, ...`
 * joined by "\nunion all\n", column names matched case-insensitively
 * against names/types (lower-cased in the output).  all_columns: every
 * column in relation order (null-cast when absent, get_fixture_sql); else
 * each row's own columns in its order (get_expected_sql).  fixture_name
 * goes into the "Invalid column name" error ("'x'" or "expected output"). */
int   dbt_unit_format_rows(Arena *a, Value rows, const char *const *names, const char *const *types, int ncols,
                           const char *fixture_name, bool all_columns, Sb *out, Diag *err);
/* Render text (a hook, a materialization snippet) with execute=true in the
 * context of node n (this, model, refs, sql = n's compiled_code once compiled).
 * *out lives in the project arena.  Errors are prefixed like compile errors. */
int   dbt_render_in_node(Dbt *d, Node *n, const char *text, const char **out, Diag *err);
/* Compile free SQL given with --inline (as an anonymous model "inline_query"). */
int   dbt_compile_inline(Dbt *d, const char *sql, const char **out, Diag *err);
/* Write target/compiled/<pkg>/<original_file_path> for a compiled node. */
int   dbt_write_compiled(Dbt *d, Node *n, Diag *err);
/* The absolute path dbt_write_compiled() writes, into path; false when n has none. */
bool  dbt_compiled_file(Dbt *d, const Node *n, Sb *path);
/* manifest.json is written by manifest_write() (manifest.h), from the Project alone. */

/* A live database for run-time introspection (§3.6-3.8), supplied by the
 * runner (src/exec) before it compiles nodes.  With none set (cdbt compile)
 * introspection stays stubbed: is_incremental() false, get_relation none,
 * adapter.execute an empty table.  Callbacks run on the thread that renders
 * (the runner's main thread). */
typedef struct DbtDbTable {
    int nrows, ncols;
    const char **colnames;
    const unsigned *coltypes;     /* PostgreSQL type OIDs (int, float, numeric, bool, date, timestamp become typed values) */
    const char *const *const *rows;   /* rows[r][c]; NULL = SQL NULL */
    const char *status;           /* command tag: "SELECT 3", "CREATE VIEW" */
    int64_t rows_affected;        /* -1 when n/a */
} DbtDbTable;
typedef struct DbtDb {
    void *ud;
    /* Run sql (one or several ';'-separated statements, one simple query).
     * auto_begin: open a transaction first when none is open.  *out is
     * filled (rows only when fetch) and stays valid until release(ud, out).
     * Returns 0, or -1 with err holding the server's message. */
    int  (*execute)(void *ud, const char *sql, bool auto_begin, bool fetch, DbtDbTable *out, Diag *err);
    void (*release)(void *ud, DbtDbTable *t);
    /* Type of schema.identifier ("table", "view", "materialized_view") from
     * the relation cache, or NULL when it does not exist. */
    const char *(*relation_type)(void *ud, const char *database, const char *schema, const char *identifier);
    /* adapter.commit(): commit the open transaction, if any. */
    int  (*commit)(void *ud, Diag *err);
    /* Optional: adapter.drop_relation / rename_relation changed schema.ident
     * (new_ident NULL: dropped), so the relation cache can follow. */
    void (*relation_changed)(void *ud, const char *schema, const char *ident, const char *new_ident);
} DbtDb;
/* Bind (or, with NULL, unbind) the database; db must outlive its use. */
void  dbt_set_db(Dbt *d, const DbtDb *db);
/* --defer: ref() of a node in map (unique_id -> DbtDeferRel *: the nodes
 * not selected that the state manifest has) renders the state's relation
 * when favor_state, when no database is bound (compile), or when the node's
 * own relation does not exist in the bound database.  map NULL: off; it
 * must outlive its use. */
typedef struct DbtDeferRel { const char *database, *schema, *identifier; } DbtDeferRel;
void  dbt_set_defer(Dbt *d, const StrMap *map, bool favor_state);
/* Macro tracing, for reusing tests' compiled code after edits of macros
 * they do not run (cmd_compile): which files of user macros (absolute
 * paths) renders call.  DBT_TRACE_ALL: every render (the parse pass, on any
 * thread); DBT_TRACE_TESTS: only compiles of tests; OFF frees the sets. */
enum { DBT_TRACE_OFF, DBT_TRACE_ALL, DBT_TRACE_TESTS };
void   dbt_trace_macros(Dbt *d, int mode);
/* The files traced since the mode was set (sorted, in d's arena); the set
 * is emptied. */
size_t dbt_traced_files(Dbt *d, const char ***out);
/* Every user macro's file (absolute, sorted, each once; in d's arena). */
size_t dbt_macro_files(Dbt *d, const char ***out);
/* n compiled to code (kept: it must outlive the project), without
 * rendering: what an earlier compile of n gave, for a node whose compile
 * inputs the caller knows are unchanged since (no ephemeral CTEs: n must
 * have none). */
void   dbt_compile_reuse(Dbt *d, Node *n, const char *code);
/* n's relation as ref() renders it (n's quoting), with df's database,
 * schema and identifier: `clone`'s source relation.  In d's arena. */
const char *dbt_defer_rel_text(Dbt *d, Node *n, const DbtDeferRel *df);
/* Microbatch (dbt 1.9): while a batch is bound, compiling `node` renders
 * ref()/source() of a node whose config has an `event_time` string as dbt's
 * event-time filtered subquery over [start, end), gives `model.batch`
 * ({id, event_time_start, event_time_end}) and, with incremental, makes the
 * built-in is_incremental() true and should_full_refresh() false (dbt's
 * context override for batches after the first).  start/end are the text
 * dbt renders ("2024-01-01 00:00:00+00:00"); strings are copied.  NULL
 * unbinds.  Nothing else is filtered: other nodes, compile without a batch. */
typedef struct DbtBatch {
    const Node *node;
    const char *id, *start, *end;
    bool incremental;
} DbtBatch;
void  dbt_set_batch(Dbt *d, const DbtBatch *b);

/* ---- dbt_microbatch.c: the microbatch strategy's time arithmetic (UTC,
 * whole seconds since the epoch; see the file's head) */
enum { DBT_MB_HOUR, DBT_MB_DAY, DBT_MB_MONTH, DBT_MB_YEAR };
int     dbt_mb_size(const char *s);                  /* "hour".."year" -> DBT_MB_*, else -1 */
bool    dbt_is_microbatch(const Node *n);            /* materialized incremental, strategy microbatch */
int     dbt_mb_parse_time(const char *s, int64_t *out);        /* fromisoformat subset; 0 / -1 */
int     dbt_mb_parse_flag_time(const char *s, int64_t *out);   /* click.DateTime's formats; 0 / -1 */
int     dbt_mb_begin(const Node *n, int64_t *out);   /* the `begin` config (string or datetime); 0 / -1 */
int64_t dbt_mb_truncate(int64_t t, int size);
int64_t dbt_mb_offset(int64_t t, int size, int k);   /* truncate, then k batches on */
int64_t dbt_mb_ceil(int64_t t, int size);
void    dbt_mb_fmt(int64_t t, char out[32]);         /* "2024-01-01 00:00:00+00:00" */
void    dbt_mb_label(int64_t t, int size, char out[32]);   /* console: "2024-01-01" (hour: whole timestamp) */
void    dbt_mb_id(int64_t t, int size, char out[32]);      /* model.batch.id: the label without '-' */
/* dbt 1.9's MicrobatchBuilder: [start, end) pairs into *out (malloc, 2 per
 * batch), their number returned.  end = ceil(event_time_end or now);
 * start = truncate(event_time_start), else truncate(begin) when not
 * incremental, else end minus lookback+1 batches. */
int     dbt_mb_batches(int size, int64_t begin, int lookback, bool incremental, const int64_t *ets,
                       const int64_t *ete, int64_t now, int64_t **out);
/* dbt's parse-time checks of every enabled microbatch model (event_time,
 * begin, batch_size, lookback, concurrent_batches, inputs' event_time);
 * dbt_parse calls it.  -1 with "Parsing Error\n  <dbt's message>". */
int     dbt_check_microbatch(Dbt *d, Diag *err);
/* Render a project run hook (on-run-start / on-run-end, §6.6) with
 * execute=true and no node (`this` is undefined); extra (may be NULL) adds
 * context members such as `schemas`, `database_schemas`, `results`.  *out
 * lives in the project arena. */
int   dbt_render_hook(Dbt *d, const char *text, const char *what, VDict *extra, const char **out, Diag *err);
const char *dbt_invocation_id(Dbt *d);
/* The project given to dbt_attach (or bound by project_load), NULL before. */
Project    *dbt_project(Dbt *d);
#endif
