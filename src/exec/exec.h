/* exec.h - the contract between the runner (scheduler, console, run results:
 * runner.c) and the per-node executors (materializations: mat_view.c,
 * mat_table.c, mat_incremental.c, mat_test.c, mat_seed.c, mat_snapshot.c, and the cleanse
 * materialization in src/cleanse).
 *
 * Division of labour:
 *  - The runner owns the DAG walk, the threads, one PgConn per worker, the
 *    shared RelCache, schema creation, on-run-start/end hooks, console lines,
 *    run_results.json and target/run/.  It compiles each node (and renders its
 *    pre-/post-hooks) on the main thread just before dispatching it, so
 *    template rendering never runs on two threads at once.
 *  - An executor receives a NodeJob with everything rendered, runs the
 *    node's statements on job->conn in dbt's exact order (§6-9), keeps the
 *    RelCache up to date, and fills the outcome fields.  It never prints.
 *    A failure must leave the previously built relation untouched (roll back;
 *    drop only our own __dbt_tmp relations).
 *
 * Every statement an executor sends goes through exec_sql() so it is logged
 * (logs/cdbt.log), appended to job->sent (target/run/...), cancellable, and
 * its error mapped to a line of the compiled SQL. */
#ifndef CDBT_EXEC_H
#define CDBT_EXEC_H
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include "pg.h"
#include "relcache.h"
#include "../project/project.h"

typedef enum {
    NS_SUCCESS,     /* models, seeds: "success" */
    NS_ERROR,       /* "error" */
    NS_SKIPPED,     /* "skipped" */
    NS_PASS,        /* tests */
    NS_WARN,
    NS_FAIL,
    NS_PARTIAL      /* microbatch models: some batches failed, "partial success" */
} NodeStatus;

typedef struct ExecShared ExecShared;   /* runner-owned: log file, cancel flag, flags */

typedef struct NodeJob {
    /* in */
    Node *node;
    PgConn *conn;                 /* this worker's connection */
    RelCache *rc;                 /* shared, thread-safe */
    ExecShared *sh;
    const char *sql;              /* compiled SQL (ephemeral CTEs injected); NULL for seeds */
    const char **pre_hooks;  bool *pre_in_txn;  int npre;    /* rendered, trimmed, non-empty */
    const char **post_hooks; bool *post_in_txn; int npost;
    bool full_refresh;            /* flags.FULL_REFRESH, before the node's full_refresh config */
    bool store_failures;          /* --store-failures */
    int mb_batch;                 /* microbatch: this batch's index (0-based), -1 otherwise */
    bool mb_incremental;          /* microbatch: an incremental batch (after the first, or on an existing table
                                     without full refresh): never a full refresh, whatever the config says */
    const PgParams *params;       /* connection settings of job->conn, for executors that open a
                                     second connection (cleanse: COPY OUT while COPY IN); may be NULL */
    /* out */
    NodeStatus status;
    const char *message;          /* run_results message: "CREATE VIEW", "SELECT 5", "INSERT 0 3", test: "Got 3 results, configured to fail if != 0" */
    int64_t rows_affected;        /* -1 when not applicable */
    int64_t failures;             /* tests: number of failing rows; -1 otherwise */
    const char *adapter_code;     /* "CREATE VIEW", "SELECT", "INSERT" ... (adapter_response._message) */
    const char *adapter_message;  /* adapter_response._message: the main statement's full tag
                                   * ("SELECT 1" for a test's query); NULL = same as message */
    Sb sent;                      /* every statement sent, ";\n"-joined: target/run/<pkg>/<path> */
    Diag err;                     /* on NS_ERROR (file = node's original_file_path) */
    char *console_extra;          /* optional text for the console line, e.g. "in=10 out=9 rejected=1" (malloc) */
    Arena arena;                  /* job lifetime: strings above */
} NodeJob;

/* Send sql on job->conn: logs it, appends it to job->sent, honours
 * cancellation; on error fills job->err with the server message, mapping
 * the server's error position into `sql` (line:col of the compiled code)
 * and returns -1.  tag/res as in pg_exec. */
int exec_sql(NodeJob *job, const char *sql, PgResult **res, char *tag, size_t tag_cap);
bool exec_cancelled(const ExecShared *sh);

/* Node config accessors (folded config incl. in-file config()). */
const char *exec_cfg_str(Node *n, const char *key);      /* NULL if absent/none */
bool        exec_cfg_bool(Node *n, const char *key, bool dflt);
Value      *exec_cfg(Node *n, const char *key);

/* Executors.  Return 0 when the node reached a status (including test
 * FAIL/WARN), -1 on NS_ERROR (job->err set). */
int mat_view(NodeJob *job);
int mat_table(NodeJob *job);
int mat_incremental(NodeJob *job);
int mat_test(NodeJob *job);
int mat_unit(NodeJob *job);   /* unit tests (dbt 1.8+): actual vs expected rows */
int mat_seed(NodeJob *job);
int mat_snapshot(NodeJob *job);
int mat_matview(NodeJob *job);
int mat_cleanse(NodeJob *job);     /* src/cleanse */

/* Look up the executor for a node by resource type and `materialized`. */
typedef int (*MatFn)(NodeJob *job);
MatFn exec_materialization(Node *n, Diag *err);

/* ---- shared run state (exec_common.c) ----
 * One ExecShared per invocation, created by the runner and given to every
 * NodeJob.  Thread-safe: the log is written under a mutex, the cancel flag is
 * atomic.  `log` (logs/cdbt.log, may be NULL = no log) is not owned: the
 * caller closes it after exec_shared_free. */
ExecShared *exec_shared_new(FILE *log);
void        exec_shared_free(ExecShared *sh);
/* Set the cancel flag: every later exec_sql fails with "cancelled" without
 * sending anything (the runner also pg_cancel()s the running statements). */
void        exec_shared_cancel(ExecShared *sh);
void        exec_shared_set_target_dir(ExecShared *sh, const char *dir);  /* copied */
const char *exec_shared_target_dir(const ExecShared *sh);                 /* "target" by default */
/* --warn-error: a test that would WARN is a FAIL (§9.2). */
void        exec_shared_set_warn_error(ExecShared *sh, bool on);
bool        exec_shared_warn_error(const ExecShared *sh);
/* Executors that live outside cdbt_exec (src/cleanse: "cleanse") or are
 * owned by another file are registered by name by whoever links them (the
 * CLI): exec_materialization returns a dispatcher that calls the registered
 * function, or fails with "<name> executor not built".  Not thread-safe:
 * register before the run starts. */
void        exec_shared_register(ExecShared *sh, const char *materialization, MatFn fn);
/* Query comment (§3.10): once set, every statement exec_sql sends starts with
 * a block comment holding {"app": "cdbt", "dbt_version": "<v>",
 * "profile_name": "<p>", "target_name": "<t>", "node_id": "<unique_id>"} and
 * a newline (visible in pg_stat_activity; job->sent and error positions do
 * not include it).  Not thread-safe: set before the run starts. */
void        exec_shared_set_query_comment(ExecShared *sh, const char *profile, const char *target);
/* Append one timestamped line to the log ("<UTC time> [<who>] <text>"). */
void        exec_log(ExecShared *sh, const char *who, const char *fmt, ...)
                __attribute__((format(printf, 3, 4)));
#endif
