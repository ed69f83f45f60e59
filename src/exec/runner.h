/* runner.h - executing a selection of nodes against PostgreSQL: `cdbt run`,
 * `test`, `seed`, `snapshot`, `build`, `clone` (§6.1-6.2, §6.6, §12.4-12.5).
 *
 * The runner owns the connections (one for the main thread, one per worker),
 * the shared relation cache, schema creation, on-run-start / on-run-end
 * hooks, the DAG walk with N worker threads, skipping (§12.4), --fail-fast,
 * cancellation, logs/cdbt.log and target/run/.  Nodes are compiled and their
 * hooks rendered on the calling (main) thread just before dispatch; template
 * rendering never runs on two threads.  Executors (exec.h) run on workers.
 *
 * It never prints: console lines are the caller's, through RunnerEvents,
 * which are always called on the thread that called runner_run(). */
#ifndef CDBT_RUNNER_H
#define CDBT_RUNNER_H
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "exec.h"
#include "../dbt/dbt.h"
#include "../graph/graph.h"

typedef enum { RUNNER_RUN, RUNNER_TEST, RUNNER_SEED, RUNNER_BUILD, RUNNER_SNAPSHOT, RUNNER_CLONE } RunnerCommand;

/* One executed, failed or skipped node (a run_results entry) or run hook. */
typedef struct RunItem {
    Node *node;                   /* hooks: a synthetic operation node */
    int index;                    /* 1-based position in the console ("3 of 12") */
    NodeStatus status;
    bool is_hook;
    const char *kind;             /* console description: "sql view model", "seed file", "test", "snapshot", "hook" */
    const char *message;          /* run_results message (NULL = null) */
    const char *adapter_message;  /* adapter_response._message; NULL = {} */
    const char *adapter_code;
    int64_t rows_affected;        /* -1 n/a */
    int64_t failures;             /* tests; -1 = null */
    double compile_start, compile_end, exec_start, exec_end;   /* epoch seconds, 0 = none */
    int thread;                   /* 1-based worker, 0 = main thread */
    const char *error_detail;     /* errors: formatted diagnostic (file:line:col, compiled line, caret) */
    const char *run_path;         /* target/run/... written (relative to the project), or NULL */
    const char *console_extra;    /* executor's extra console text or NULL */
    bool fail_fast_skip;          /* skipped because of --fail-fast / interruption */
    /* microbatch models: [start, end) epoch pairs of the batches that
     * succeeded / failed (run_results' batch_results); is_microbatch says
     * the entry has batch_results at all */
    bool is_microbatch;
    int64_t *batch_ok; int nbatch_ok;
    int64_t *batch_fail; int nbatch_fail;
} RunItem;

/* One batch of a microbatch model, for the console. */
typedef struct RunBatch {
    const RunItem *model;         /* index, node, kind of the model's line */
    int index, total;             /* 1-based batch number, batches of the model */
    const char *label;            /* "2024-01-01" (hour batches: the timestamp) */
    int phase;                    /* 0 start, 1 done ok, 2 error, 3 skipped */
    const char *status;           /* done: the batch's adapter message ("MERGE 3") */
    double secs;
} RunBatch;

typedef struct RunnerEvents {
    void *ud;
    void (*info)(void *ud, const char *line);                      /* a console line ("" = blank) */
    void (*start)(void *ud, const RunItem *it, int total);         /* a node or hook is dispatched */
    void (*done)(void *ud, const RunItem *it, int total);          /* finished, failed or skipped */
    void (*batch)(void *ud, const RunBatch *b);                    /* microbatch: a batch starts / ends (may be NULL) */
} RunnerEvents;

typedef struct RunnerExtraMat { const char *name; MatFn fn; } RunnerExtraMat;

typedef struct RunnerOptions {
    Dbt *dbt;
    Project *project;
    Graph *graph;
    const bool *selected;         /* per Project.nodes index (already filtered by the command's types) */
    RunnerCommand cmd;
    int threads;                  /* >= 1 */
    bool full_refresh, fail_fast, store_failures, warn_error;
    const int64_t *event_time_start, *event_time_end;   /* --event-time-start / -end (epoch, UTC) or NULL */
    const PgParams *params;       /* connection (filled by the caller: profile, managed server; not copied) */
    const char *target_dir;       /* absolute target path */
    const char *log_dir;          /* absolute log path (cdbt.log goes there); NULL = no log */
    const volatile sig_atomic_t *interrupted;   /* set by the caller's signal handler; polled */
    RunnerEvents ev;
    const RunnerExtraMat *extra_mats; int nextra_mats;   /* e.g. {"cleanse", mat_cleanse} */
    /* RUNNER_CLONE (dbt's clone task): unique_id -> the rendered relation
     * the state built (const char *).  A selected node without one, or
     * whose relation exists here (without full_refresh), is a "No-op";
     * the others become views `select * from` it (the view
     * materialization, with the node's hooks and grants).  Nodes run
     * independently: a failure skips nothing.  No on-run hooks. */
    const StrMap *clone_from;
} RunnerOptions;

typedef struct RunnerResult {
    RunItem *items; int n;        /* nodes and hooks, in completion order (run_results order) */
    int total;                    /* executable nodes selected */
    int npass, nwarn, nerror, nskip;
    bool interrupted;             /* SIGINT/SIGTERM: exit 2 */
    bool stopped;                 /* --fail-fast stopped scheduling */
    double started_at, elapsed;   /* epoch seconds / seconds */
    Arena arena;                  /* strings of the items */
} RunnerResult;

/* Run.  Returns 0 when the run took place (node outcomes in *out, even if
 * every node failed) and -1 when it could not start: connection failure,
 * schema creation failure (err set; nothing ran).  out must be freed with
 * runner_result_free in both cases. */
int  runner_run(const RunnerOptions *o, RunnerResult *out, Diag *err);
void runner_result_free(RunnerResult *r);
/* `cdbt run-operation`: render text (execute=true, no node; extra adds
 * context members, may be NULL) with o->params' database bound, on one
 * connection that is closed without committing.  Uses o->dbt, project,
 * params, target_dir, log_dir, warn_error.  *output: what it rendered (in
 * the project arena).  0, or -1 with *err. */
int  runner_operation(const RunnerOptions *o, const char *text, VDict *extra, const char **output, Diag *err);
/* `cdbt show`: compile n (or inline_sql when n is NULL) with the database
 * bound and fetch `<sql>\nlimit <limit>` (limit < 0: all rows) in a
 * transaction that is rolled back.  *sql_out: the compiled SQL; *res: the
 * rows (pg_result_free).  0, or -1 with *err. */
struct PgResult;
int  runner_query(const RunnerOptions *o, Node *n, const char *inline_sql, int limit, const char **sql_out,
                  struct PgResult **res, Diag *err);
const char *runner_status_name(NodeStatus s);   /* "success", "error", "skipped", "pass", "warn", "fail", "partial success" */
#endif
