/* matu.h - pieces shared by the view/table/incremental/test executors
 * (§6.2): relation names (T, __dbt_tmp, __dbt_backup, TMP with the 63-char
 * truncation rule), drop / rename / create statements, transaction points
 * with relation-cache undo on rollback, hooks, grants, indexes and the
 * run-result fields.  Private to src/exec (not a contract for other modules).
 *
 * Every function taking a MatCtx returns 0 on success and -1 after filling
 * job->err (the caller then returns matu_fail(m)).  Strings live in the job
 * arena. */
#ifndef CDBT_MATU_H
#define CDBT_MATU_H
#include "exec.h"
#include "exec_pipe.h"

typedef struct MRel {
    const char *database, *schema, *identifier;   /* identifier as written */
    bool quote[3];
    bool temp;            /* session temporary: renders the identifier only */
    const char *sql;      /* rendered name */
} MRel;

#define MATU_MAX_UNDO 32
#define MATU_MAX_PIPE 16
typedef struct MatCtx {
    NodeJob *job;
    Node *n;
    Arena *a;
    MRel T, I, B;         /* target, intermediate (__dbt_tmp), backup (__dbt_backup) */
    RelType E;            /* cached type of T when the executor started */
    /* Relation-cache changes that a failure may have to take back: seq is
     * the statement that made the change; in_txn: it ran inside a
     * transaction, which makes it permanent only with a later COMMIT. */
    struct { const char *schema, *ident; RelType prev; int seq; bool in_txn; } undo[MATU_MAX_UNDO];
    int nundo;
    int commits[MATU_MAX_UNDO]; int ncommits;   /* seq of each COMMIT / `commit;` since the oldest entry */
    int seq;              /* statements issued so far (BEGIN and COMMIT included) */
    int fail_seq;         /* first statement that did not succeed (-1: none known) */
    /* pipelining (matu_pipeline): statements queued, sent together */
    bool pipe;
    ExecPipeItem q[MATU_MAX_PIPE];
    int qseq[MATU_MAX_PIPE];
    int nq;
    bool q_txn;           /* transaction state after the last queued statement */
    bool q_autocommit_tail;   /* the last queued statement runs outside a transaction */
    bool last_queued;     /* the statement issued last is still in the queue */
    char main_tag[64];    /* command tag of the main statement */
} MatCtx;

/* T from the node (relation_name, else database/schema/alias quoted), I and
 * B derived from it, E from the cache.  -1 if the identifier is longer than
 * 63 characters. */
int  matu_init(MatCtx *m, NodeJob *job);
/* base identifier truncated to 63 - len(suffix) characters, + suffix. */
void matu_derive(MatCtx *m, const MRel *base, const char *suffix, MRel *out);
/* TMP = <alias>__dbt_tmp<HHMMSSffffff> (local wall-clock), temporary. */
void matu_tmp(MatCtx *m, MRel *out);
void matu_render(Arena *a, MRel *r);

RelType matu_cached(MatCtx *m, const MRel *r);
void    matu_cache_set(MatCtx *m, const MRel *r, RelType t);   /* undone on rollback */

/* Send sql (exec_sql).  With pipelining on, a single statement whose rows
 * are not wanted (res NULL) is queued instead and 0 returned: its outcome
 * (and tag) is known at the next matu_flush, which every statement that
 * cannot be queued triggers first, so the order on the wire never changes. */
int  matu_sql(MatCtx *m, const char *sql, PgResult **res, char *tag, size_t tag_cap);
/* Send sql now (after the queue), never pipelined: hooks and other user SQL
 * (which may be several statements or refuse to run in a pipeline, VACUUM). */
int  matu_sql_now(MatCtx *m, const char *sql, PgResult **res, char *tag, size_t tag_cap);
/* Pipelining for the rest of this node: cdbt's own statements (BEGIN, the
 * create, renames, drops, COMMIT, grants, comments, indexes) go to the server
 * in one round trip per run of queueable statements (pg_exec_pipeline).
 * Executors that turn it on must matu_flush before matu_success. */
void matu_pipeline(MatCtx *m, bool on);
int  matu_flush(MatCtx *m);
/* In a transaction, counting queued BEGIN / COMMIT. */
bool matu_in_txn(MatCtx *m);
int  matu_begin(MatCtx *m);
int  matu_commit(MatCtx *m);
/* drop <type> if exists r cascade (type REL_NONE: nothing). */
int  matu_drop(MatCtx *m, const MRel *r, RelType t);
int  matu_drop_tag(MatCtx *m, const MRel *r, RelType t, char *tag, size_t tag_cap);   /* with its command tag */
/* alter table (materialized view) <from> rename to "<to identifier>" (cache follows). */
int  matu_rename(MatCtx *m, const MRel *from, const MRel *to);
/* The node's pre (pre=true) or post hooks whose transaction flag equals
 * inside; outside-transaction hooks are preceded by the statement `commit;`. */
int  matu_hooks(MatCtx *m, bool pre, bool inside);
/* Grants config; revoke: read current grants and send only the difference. */
int  matu_grants(MatCtx *m, const MRel *r, bool revoke);
int  matu_indexes(MatCtx *m, const MRel *r);
/* One entry of the `indexes` config: columns (a string or a list), unique,
 * type (NULL: the default).  -1 with the error set when malformed. */
typedef struct MIndex { const char **cols; int ncols; bool unique; const char *type; } MIndex;
int  matu_index_entry(MatCtx *m, Value e, MIndex *out);
/* The index entries of ix (a list of dicts, or NULL: none) on r; tag: the
 * last statement's command tag. */
int  matu_indexes_of(MatCtx *m, const MRel *r, Value *ix, char *tag, size_t tag_cap);
/* persist_docs: {relation: true} comments the relation with the node
 * description, {columns: true} each documented column that exists. */
int  matu_persist_docs(MatCtx *m, const MRel *r, RelType t);
/* [sql_header\n]create [temporary|unlogged] table <r> as (\n<sql>\n); */
const char *matu_create_table(MatCtx *m, const MRel *r, const char *sql, bool temporary);
/* contract.c: model contracts (contract: {enforced: true}).  enforced: a
 * model whose contract is enforced; check: dbt's assert_columns_equivalent
 * of sql against the properties file's columns (0 when not enforced);
 * table: the create-with-columns-and-constraints + insert statements that
 * replace `create table r as (sql)`. */
bool matu_contract_enforced(MatCtx *m);
int  matu_contract_check(MatCtx *m, const char *sql);
const char *matu_contract_table(MatCtx *m, const MRel *r, const char *sql);
/* [sql_header\n]create view <r> as (\n<sql>\n); */
const char *matu_create_view(MatCtx *m, const MRel *r, const char *sql);

/* Roll back (restoring the cache), status error; returns -1.  Statements
 * still queued are dropped unsent (the node failed before they were due). */
int  matu_fail(MatCtx *m);
/* status success; message/adapter_code/rows_affected from tag. */
void matu_success(MatCtx *m, const char *tag);
/* code (non-digit words) and rows (last number, -1) of a command tag. */
void matu_parse_tag(Arena *a, const char *tag, const char **code, int64_t *rows);
/* Node config as a list of strings (a string becomes a one-item list);
 * NULL when absent/none. */
const char **matu_cfg_strlist(MatCtx *m, const char *key, int *n);
/* A string as a one-item list, a list's items as strings; NULL otherwise. */
const char **matu_value_strlist(Arena *a, Value v, int *n);
void matu_error(MatCtx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dbt's non-database errors: "<kind> in <model|test> <name> (<path>)\n  <message,
 * every line indented by two spaces>" (kind: "Compilation Error", "Runtime Error"). */
void matu_error_kind(MatCtx *m, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Columns of a relation: dbt's get_columns_in_relation query over
 * information_schema.columns (a temporary relation: by name only), in
 * ordinal order, with dbt's Column / PostgresColumn data_type rules. */
typedef struct MCol {
    const char *name, *dtype;
    long char_size;             /* -1: none */
    long prec, scale;           /* -1: none */
} MCol;
typedef struct MCols { MCol *c; int n; } MCols;
int  matu_get_columns(MatCtx *m, const MRel *r, MCols *out);
const MCol *matu_find_col(const MCols *cs, const char *name);   /* exact name */
const char *matu_data_type(Arena *a, const MCol *c);
long matu_string_size(const MCol *c);                           /* text counts as 256 */
/* self can expand to other: both strings and other is longer. */
bool matu_can_expand_to(const MCol *self, const MCol *other);
void matu_put_qident(Sb *s, const char *name);                  /* "name" with "" doubling */
/* dbt's alter_column_type: add "<col>__dbt_alter", copy, drop cascade,
 * rename; four statements sent as one. */
int  matu_alter_column_type(MatCtx *m, const MRel *T, const char *col, const char *type);
/* dbt's expand_target_column_types: every string column of T narrower than
 * the same-named column of src becomes character varying(<src size>);
 * *widened tells whether any did (T's columns must then be read again). */
int  matu_expand_column_types(MatCtx *m, const MRel *T, const MCols *src, const MCols *tgt, bool *widened);
#endif
