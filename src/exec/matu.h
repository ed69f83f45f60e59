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

typedef struct MRel {
    const char *database, *schema, *identifier;   /* identifier as written */
    bool quote[3];
    bool temp;            /* session temporary: renders the identifier only */
    const char *sql;      /* rendered name */
} MRel;

#define MATU_MAX_UNDO 32
typedef struct MatCtx {
    NodeJob *job;
    Node *n;
    Arena *a;
    MRel T, I, B;         /* target, intermediate (__dbt_tmp), backup (__dbt_backup) */
    RelType E;            /* cached type of T when the executor started */
    struct { const char *schema, *ident; RelType prev; } undo[MATU_MAX_UNDO];
    int nundo;
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

int  matu_sql(MatCtx *m, const char *sql, PgResult **res, char *tag, size_t tag_cap);
int  matu_begin(MatCtx *m);
int  matu_commit(MatCtx *m);
/* drop <type> if exists r cascade (type REL_NONE: nothing). */
int  matu_drop(MatCtx *m, const MRel *r, RelType t);
/* alter table <from> rename to "<to identifier>" (cache follows). */
int  matu_rename(MatCtx *m, const MRel *from, const MRel *to);
/* The node's pre (pre=true) or post hooks whose transaction flag equals
 * inside; outside-transaction hooks are preceded by the statement `commit;`. */
int  matu_hooks(MatCtx *m, bool pre, bool inside);
/* Grants config; revoke: read current grants and send only the difference. */
int  matu_grants(MatCtx *m, const MRel *r, bool revoke);
int  matu_indexes(MatCtx *m, const MRel *r);
/* persist_docs: {relation: true} comments the relation with the node
 * description, {columns: true} each documented column that exists. */
int  matu_persist_docs(MatCtx *m, const MRel *r, RelType t);
/* [sql_header\n]create [temporary|unlogged] table <r> as (\n<sql>\n); */
const char *matu_create_table(MatCtx *m, const MRel *r, const char *sql, bool temporary);
/* [sql_header\n]create view <r> as (\n<sql>\n); */
const char *matu_create_view(MatCtx *m, const MRel *r, const char *sql);

/* Roll back (restoring the cache), status error; returns -1. */
int  matu_fail(MatCtx *m);
/* status success; message/adapter_code/rows_affected from tag. */
void matu_success(MatCtx *m, const char *tag);
/* code (non-digit words) and rows (last number, -1) of a command tag. */
void matu_parse_tag(Arena *a, const char *tag, const char **code, int64_t *rows);
/* Node config as a list of strings (a string becomes a one-item list);
 * NULL when absent/none. */
const char **matu_cfg_strlist(MatCtx *m, const char *key, int *n);
void matu_error(MatCtx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dbt's non-database errors: "<kind> in <model|test> <name> (<path>)\n  <message,
 * every line indented by two spaces>" (kind: "Compilation Error", "Runtime Error"). */
void matu_error_kind(MatCtx *m, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
