/* pg.h - the PostgreSQL connection layer: one PgConn per worker thread.
 *
 * Knows nothing of templates or dbt nodes: it takes SQL text and relation
 * names, and reports results and errors (with the server's error position,
 * which the caller maps back to the compiled SQL).  Every function leaves the
 * libpq protocol in a known state on every exit (results drained, COPY ended
 * with an error reason when the client fails, transaction state tracked).
 *
 * Ownership: strings returned inside PgResult / PgError live until
 * pg_result_free / the next call on the same PgConn, unless noted.
 * Return convention: 0 ok, -1 error with *err filled (err may be NULL). */
#ifndef CDBT_PG_H
#define CDBT_PG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/diag.h"
#include "../value/value.h"

typedef struct PgConn PgConn;

/* Connection settings, from a postgres profile target (§1.6).  NULL / 0
 * members are left to libpq's own defaults (PG* environment, .pgpass,
 * service files). */
typedef struct PgParams {
    const char *host, *user, *password, *dbname, *sslmode, *sslcert, *sslkey,
               *sslrootcert, *application_name, *role, *search_path;
    int port, connect_timeout, keepalives_idle, retries;
    const char *profile_name, *target_name;   /* for error messages only */
    bool managed;                 /* `managed: true`: cdbt runs the server (pgserver.h) */
    char scratch[13][24];         /* pg_params_from_profile: text of numeric values */
    char host_buf[128];           /* pgserver_ensure: the managed server's socket directory */
} PgParams;

/* Fill p from the rendered profile output dict (Project.profile_output).
 * Strings point into the dict, or into p->scratch for numeric values: do not
 * copy a filled PgParams by value (pass pointers). */
void pg_params_from_profile(PgParams *p, VDict *output, const char *profile, const char *target);

/* Connect (with `retries` attempts).  On failure *err says profile, target,
 * host, port and libpq's reason; returns NULL. Sets role/search_path if given. */
/* Load libpq (pqdl.c: the binary does not link it, so commands that never
 * connect do not pay for its libraries).  0, or -1 with *why set. */
int pq_load(const char **why);
PgConn *pg_connect(const PgParams *p, Diag *err);
void    pg_close(PgConn *c);                 /* rolls back an open transaction */

/* Error details of the last failed call. */
typedef struct PgError {
    char sqlstate[6];
    const char *message;      /* primary message, no trailing newline */
    const char *detail, *hint, *context;
    int position;             /* 1-based character offset in the statement, 0 = none */
} PgError;
const PgError *pg_last_error(PgConn *c);

/* A fetched result (text values; NULL as NULL pointer). */
typedef struct PgResult {
    int nrows, ncols;
    const char **colnames;    /* ncols */
    unsigned *coltypes;       /* ncols: pg_type OIDs */
    const char ***rows;       /* rows[r][c]; NULL = SQL NULL */
    const char *status;       /* command tag: "SELECT 3", "CREATE VIEW", "INSERT 0 5" */
    int64_t rows_affected;    /* from the tag, -1 if none */
} PgResult;
void pg_result_free(PgResult *r);

/* Execute one or more statements (simple query protocol).  If out is not NULL
 * the last statement's rows and tag are returned in *out (free with
 * pg_result_free).  tag_out (may be NULL) receives the last command tag,
 * copied into the caller's buffer of size tag_cap. On SQL error: -1, the
 * PgError is available from pg_last_error, *err holds "<message>" + detail. */
int pg_exec(PgConn *c, const char *sql, PgResult **out, char *tag_out, size_t tag_cap, Diag *err);

/* Pipelining (libpq pipeline mode, extended query protocol): send n
 * statements in one round trip, one Sync at the end, and read one result
 * per statement.  Each sql must be ONE statement (see pg_single_statement)
 * that returns no rows worth keeping (DDL, BEGIN/COMMIT, DML without
 * RETURNING).  Statements run in order; after the first failure the server
 * skips the rest.  Without an explicit BEGIN the statements between two
 * Syncs form one implicit transaction, so callers pipeline their own
 * BEGIN ... COMMIT and only statements that may run inside a transaction
 * block.
 *
 * Returns 0 when all succeeded; -1 when one failed: items[k].status says
 * which (-1 failed, 1 not executed), the error is in pg_last_error (its
 * position counts in that statement's text) and *err.  done_at is the
 * CLOCK_MONOTONIC time its result arrived (0 if none). */
typedef struct PgPipeItem {
    const char *sql;          /* in */
    int status;               /* out: 0 ok, -1 failed, 1 not executed */
    char tag[64];             /* out: command tag */
    double done_at;           /* out */
} PgPipeItem;
int  pg_exec_pipeline(PgConn *c, PgPipeItem *items, int n, Diag *err);
/* Is sql at most one statement?  A lexical check: quotes, "identifiers",
 * dollar quotes, -- and nested block comments are skipped; a ';' followed by
 * anything but blanks and comments means several.  Conservative: false for
 * text with a backslash (escape-string syntax) or an unterminated quote or
 * comment. */
bool pg_single_statement(const char *sql);

/* Transaction helpers tracking state the way psycopg2 (dbt) does: §6.1. */
int  pg_begin(PgConn *c, Diag *err);          /* no-op if already in a transaction */
int  pg_commit(PgConn *c, Diag *err);         /* no-op if not in one */
int  pg_rollback(PgConn *c);                  /* best effort; never fails */
bool pg_in_transaction(PgConn *c);

/* COPY ... FROM STDIN.  pg_copy_in_begin sends the COPY statement; feed data
 * with pg_copy_in_put (any chunking), then pg_copy_in_end(c, NULL, ...) to
 * finish, or pg_copy_in_end(c, "reason", ...) to abort it (server rolls the
 * COPY back).  rows_out (may be NULL) receives the row count from the tag. */
int pg_copy_in_begin(PgConn *c, const char *copy_sql, Diag *err);
int pg_copy_in_put(PgConn *c, const char *buf, size_t n, Diag *err);
int pg_copy_in_end(PgConn *c, const char *abort_reason, int64_t *rows_out, Diag *err);

/* COPY ... TO STDOUT: each data row (one line in the COPY format, with its
 * newline) is passed to fn; fn returns non-zero to stop (the COPY is then
 * cancelled and drained).  */
int pg_copy_out(PgConn *c, const char *copy_sql,
                int (*fn)(void *ud, const char *line, size_t n), void *ud, Diag *err);

/* Cancel whatever is running on c (safe to call from another thread or a
 * signal-handling thread). */
void pg_cancel(PgConn *c);

/* Quoting helpers: "ident" with doubled quotes; 'literal' with doubled quotes. */
void pg_quote_ident(Sb *out, const char *s);
void pg_quote_literal(Sb *out, const char *s);

int pg_server_version(PgConn *c);             /* e.g. 150018 */
#endif
