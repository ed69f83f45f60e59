/* cli.h - command-line flags and the command implementations.
 *
 * args.c turns argv (and the DBT_* environment twins) into a Flags struct;
 * each cmd_*.c implements one command and is the only code besides main.c
 * that writes to the terminal.  Commands return dbt's exit codes: 0 success,
 * 1 node failures, 2 project/CLI errors (§12.5). */
#ifndef CDBT_CLI_H
#define CDBT_CLI_H
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include "../base/diag.h"
#include "../base/fs.h"
#include "../base/fswriter.h"
#include "../base/json.h"
#include "../project/project.h"
#include "../graph/graph.h"
#include "../dbt/dbt.h"
#include "../exec/pg.h"
#include "../exec/runner.h"

enum { EXIT_OK = 0, EXIT_NODE_FAILURE = 1, EXIT_PROJECT_ERROR = 2 };

typedef struct Flags {
    int argc; char **argv;                   /* as given to cli_parse_args */
    const char *command;
    const char *subcommand;                  /* `cdbt server start|stop|status`, `docs generate`: the action */
    const char *project_dir, *profiles_dir, *profile, *target, *target_path, *log_path;
    const char *vars;                        /* YAML text */
    const char **select; int nselect;
    const char **exclude; int nexclude;
    const char **resource_types; int nresource_types;
    const char **exclude_resource_types; int nexclude_resource_types;
    const char *indirect_selection;
    const char *selector;
    const char *output;                      /* ls: selector|name|path|json */
    const char **output_keys; int noutput_keys;
    const char *inline_sql;
    const char *state;
    bool defer, favor_state;      /* --defer, --favor-state */
    const char *defer_state;      /* --defer-state (default: state) */
    const char **only_ids; int nonly_ids;    /* retry: select exactly these unique_ids (NULL: off) */
    int threads;
    bool quiet, no_write_json, full_refresh, fail_fast, debug, no_print, warn_error, store_failures;
    bool help, version;
    bool no_partial_parse;                   /* --no-partial-parse: do not use target/cdbt.db */
    bool clean_project_files_only;           /* default true */
    bool config_dir;                         /* debug --config-dir */
    bool empty;                              /* --empty: refs and sources read no rows */
    const char *event_time_start, *event_time_end;   /* microbatch backfill window (as given) */
    int64_t et_start, et_end;                /* ... parsed (epoch, UTC) when given */
    const char *op_args;                     /* run-operation --args (YAML mapping) */
    const char *limit;                       /* show --limit (text: -1 allowed) */
    bool deps_lock, deps_upgrade;            /* deps --lock / --upgrade */
    bool no_compile, empty_catalog;          /* docs generate --no-compile / --empty-catalog */
    const char *log_format;
    int use_colors;                          /* -1 auto, 0 no, 1 yes */
} Flags;

/* Parse argv into f (strings point into argv / environ).  Returns 0, or -1
 * with err set ("No such option: --foo", "Option '--threads' requires an argument", ...). */
int  cli_parse_args(int argc, char **argv, Flags *f, Diag *err);
void cli_print_help(FILE *out, const char *command);
void cli_free_flags(Flags *f);             /* the lists cli_parse_args allocated */

/* The loaded, parsed project shared by commands (load.c). */
typedef struct Session {
    Flags *flags;
    Dbt *dbt;
    Project *project;
    Graph *graph;
    VDict *cli_vars;
    Arena arena;                             /* for CLI-owned allocations */
    struct Cache *cache;                     /* target/cdbt.db (src/cache/cache.h) or NULL */
    bool parse_cached;                       /* the parse went through the cache (restored, stored) */
    const char *stamp;                       /* the token written to target/cdbt.stamp, or NULL */
    double t_start;
    StrMap *defer;                           /* --defer: unique_id -> DbtDeferRel (defer.c), or NULL */
    StrMap *clone_from;                      /* clone: unique_id -> the state's relation (defer.c), or NULL */
    /* compile storing a snapshot: the files of user macros the parse pass's
     * renders called (dbt_trace_macros), and tracing goes on for tests */
    bool traced;
    const char **parse_macro_files; size_t nparse_macro_files;
} Session;

/* Load + parse + graph.  On error prints the diagnostic and returns an exit code != 0. */
int  session_open(Session *s, Flags *f, bool need_profile);
/* Only load dbt_project.yml, the profile and the project's files (no
 * parse, no cache, no graph): `cdbt debug`.  -1 with *err; session_close
 * in both cases. */
int  session_load_project(Session *s, Flags *f, bool need_profile, Diag *err);
/* Only dbt_project.yml (the profile optional, no files): `cdbt deps`.
 * -1 with *err; session_close in both cases. */
int  session_load_project_yml(Session *s, Flags *f, Diag *err);
/* connect.c: the target's connection parameters (libpq loaded, a managed
 * server started): 0, or -1 with *err; and a session's runner options
 * (dbt, project, graph, params, target and log dirs, --warn-error). */
int  session_pg_params(Session *s, PgParams *params, Diag *err);
void session_runner_options(Session *s, PgParams *params, RunnerOptions *ro);
/* selectors.c: the --select/--exclude expressions of --selector NAME, or of
 * the selectors.yml selector with `default: true` when no --select,
 * --exclude or --selector is given (*found false: none applies).  0, or -1
 * with *err (exit 2). */
int  selectors_resolve(Session *s, const char ***sel, int *nsel, const char ***exc, int *nexc, bool *found,
                       Diag *err);
void session_close(Session *s);
/* delta.c: the project with only the given model files and properties file
 * loaded (ProjectOptions.only_models), attached but not parsed; prints
 * nothing (-1 with err set). */
int  session_open_delta(Session *s, Flags *f, const char *const *models, int nmodels, const char *props,
                        Diag *err);
/* delta.c: `compile` or `parse` after only model files changed since the
 * snapshot: render those models alone and rewrite their slots in place;
 * exit code, or -1 (nothing printed or written that a full run would not
 * redo): take the full path. */
struct Cache;
struct CacheSnap;
struct CacheChunks;
int  delta_compile(Flags *f, struct Cache *c, struct CacheSnap *snap, const char *root, const char *found,
                   int nodes, int nok, long elapsed_off, double t0);
/* delta.c: the snapshot's node table (src/cache/cache_delta.c) for every
 * model with a manifest slot (mslots, by Node.index); rslots (run_results
 * slots by Node.index) for a compile, NULL for a parse.  Only reads the
 * project: fastpath_store has it built while the store's second thread
 * encodes the outputs (delta_node_table_build, ud a DeltaTableArgs). */
struct CacheDeltaTable;
void delta_node_table(Project *p, const JsonSlot *mslots, const JsonSlot *rslots, struct CacheDeltaTable *out);
typedef struct DeltaTableArgs { Project *p; const JsonSlot *mslots, *rslots; } DeltaTableArgs;
void delta_node_table_build(void *ud, struct CacheDeltaTable *out);
/* fastpath.c: stamp this invocation in the artifacts a reuse keeps. */
int  fastpath_patch_manifest(const char *path, const char *ts, const char *invocation);
int  fastpath_patch_results(const char *path, long off, const char *ts, const char *invocation, double t0);
/* Select nodes per --select/--exclude/--resource-type with the command's default
 * resource types (NULL-terminated list of RT values, or NULL = all).  out has
 * Project.nnodes entries.  Prints errors; returns exit code. */
int  session_select(Session *s, const int *default_rts, bool *out);
/* defer.c: with --defer, bind to the Dbt every node of the state manifest
 * (--defer-state, else --state) that is not selected (sel) and that ref()
 * may resolve there instead.  EXIT_OK, or an exit code after printing the
 * error (--defer without a state directory, no or a bad manifest.json). */
int  session_defer(Session *s, const bool *sel);
/* `clone`: the --defer-state (else --state) manifest's relation of each
 * selected model, seed and snapshot it built, rendered ("db"."schema"."x"):
 * s->clone_from maps unique_id -> const char *.  EXIT_OK, or
 * EXIT_PROJECT_ERROR after printing why (no --state, no or a bad
 * manifest.json). */
int  session_clone_sources(Session *s, const bool *sel);
/* Write manifest.json unless --no-write-json; returns exit code. */
int  session_write_manifest(Session *s);
/* The same, noting each model's slot (manifest_write_slots). */
int  session_write_manifest_slots(Session *s, JsonSlot *slots);
const char *session_target_dir(Session *s);   /* absolute target path */
bool session_warned(void);                    /* session_select printed a warning */
void cli_print_diag(const Diag *d);
double cli_now(void);
void cli_phase(const char *name);   /* CDBT_PHASES=1 timing line, see load.c */

/* fastpath.c: whole-project snapshots for `parse` and `compile` (see there). */
int  fastpath_try(Flags *f);                 /* exit code, or -1: not taken */
void fastpath_begin(Flags *f);               /* before session_open() */
/* What the last run of this compile command line wrote in its compiled
 * files, for the writer (cache_snap_outputs): found by fastpath_try when it
 * does not reuse the outputs, NULL when not known; freed by
 * fastpath_oracle_free.  out_dg of fastpath_store are the digests. */
const FsOracle *fastpath_oracle(void);
/* After fastpath_try found that only files of user macros changed since the
 * last identical compile (absolute paths): those files, and the lines that
 * compile stored after its info ("M<macro names key hex>", "R<relations key
 * hex>", "T<macro file a test's compile called>", each ended by a newline),
 * and the tests' compiled code it stored (cmd_compile's encoding, ended by
 * a NUL byte, kept until the process ends) with its digest.  false: not so
 * (*why set when the files other than macros turned out, as this run read
 * them, to differ from the snapshot's: fastpath_try looked no further than
 * the edited macro file). */
bool fastpath_macro_hint(const char *const **changed, size_t *nchanged, const char **extra, const char **tests,
                         size_t *ntests, const uint8_t **digest, const char **why);
/* Did fastpath_try find that files of user macros changed since the last
 * identical command and nothing else that could matter to the parse cache
 * (only such files, with at most a few model files)?  The per-node parse cache is
 * then left alone when no entry can match (CacheParseEnv.lazy). */
bool fastpath_macros_only(void);
/* delta.c: does discovery still find in dir (absolute) what the snapshot's
 * run found there? */
bool delta_same_listing(const struct CacheSnap *snap, const char *dir, Arena *a);
void fastpath_oracle_free(void);
/* outputs[0..nheads) are the artifacts a reuse rewrites (manifest.json,
 * run_results.json); relative outputs are under out_root; out_st: stat after
 * writing, or NULL (stat now).  fastpath_store_prepare does the part that
 * needs neither the heads written nor the node table, early (its arguments
 * must stay valid and be passed again); NULL: nothing to prepare.
 * fastpath_store takes prep (or NULL) and frees it. */
typedef struct FastpathPrep FastpathPrep;
FastpathPrep *fastpath_store_prepare(Session *s, const char *out_root, const char *const *outputs,
                                     const FsStamp *const *out_st, const uint8_t *const *out_dg, size_t nout,
                                     size_t nheads);
void fastpath_store(Session *s, const char *out_root, const char *const *outputs, const FsStamp *const *out_st,
                    const uint8_t *const *out_dg, size_t nout, size_t nheads, const char *info, void (*nodes)(void *ud, struct CacheDeltaTable *t),
                    void *nodes_ud, const struct CacheChunks *tests, FastpathPrep *prep);
void fastpath_prep_free(FastpathPrep *prep);

int cmd_parse(Flags *f);
int cmd_compile(Flags *f);
int cmd_ls(Flags *f);
int cmd_clean(Flags *f);
int cmd_run(Flags *f);
int cmd_server(Flags *f);
int cmd_debug(Flags *f);
int cmd_run_operation(Flags *f);
int cmd_source(Flags *f);
int cmd_show(Flags *f);
int cmd_retry(Flags *f);
int cmd_deps(Flags *f);
int cmd_docs(Flags *f);
#endif
