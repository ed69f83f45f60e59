/* exec_pipe.h - exec_sql for several statements in one round trip
 * (pg_exec_pipeline), private to src/exec (used by matu.c).
 *
 * Each statement is logged, recorded in job->sent (target/run), honours
 * cancellation and has its error position mapped to the compiled SQL
 * exactly as exec_sql does it one statement at a time; what changes is only
 * that the statements travel together and the server skips the ones after
 * a failure.  The log shows every statement before it is sent
 * ("SQL [pipeline i/n]:"), then one outcome line per statement. */
#ifndef CDBT_EXEC_PIPE_H
#define CDBT_EXEC_PIPE_H
#include "exec.h"

typedef struct ExecPipeItem {
    const char *sql;          /* ONE statement (pg_single_statement) */
    bool record;              /* cdbt's statement: query comment, job->sent, "SQL" log line;
                                 false: BEGIN / COMMIT, logged by name only (as matu_begin/commit) */
    char *tag; size_t tag_cap;   /* out: command tag (may be NULL) */
} ExecPipeItem;

/* 0 when every statement succeeded.  -1 with job->err set and *failed = the
 * index of the first statement that did not succeed (those after it were
 * not executed and are not in job->sent). */
int exec_sql_pipeline(NodeJob *job, ExecPipeItem *items, int n, int *failed);
#endif
