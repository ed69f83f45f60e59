/* pg.c - the PostgreSQL connection layer over libpq (contract: pg.h).
 *
 * Owns: turning a profile output into libpq keywords, connecting with
 * retries, running SQL with the simple query protocol, collecting results,
 * command tags and error fields, transaction state (read back from libpq
 * after every call), the COPY in/out pumps and query cancellation.
 * Leaves to others: which SQL to run (materializations), the managed local
 * server (pgserver.c), the relation cache (relcache.c), and printing.
 *
 * Every call first forgets the previous error; every exit leaves the protocol
 * idle (all results read, COPY ended) unless a COPY IN is deliberately open
 * between pg_copy_in_begin and pg_copy_in_end.  Server notices (e.g. the
 * warning for BEGIN inside a transaction) are swallowed: library code never
 * prints. */
#include "pg.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/arena.h"

struct PgConn {
    PGconn *conn;
    pthread_mutex_t cancel_mu;       /* guards cancel (pg_cancel may run on another thread) */
    PGcancel *cancel;
    PGresult *err_res;               /* result holding the last error's fields, or NULL */
    char *err_text;                  /* heap: message when there is no result (connection errors) */
    PgError err;
    bool in_copy_in;
};

/* A PgResult plus the PGresult whose strings it points into. */
typedef struct PgResultImpl {
    PgResult pub;                    /* first member: PgResult * casts back */
    PGresult *res;
    const char **cells;
} PgResultImpl;

/* ------------------------------------------------------------ parameters */

static const char *text_of(PgParams *p, VDict *d, const char *key, int slot)
{
    Value *v = dict_getz(d, key);
    if (!v)
        return NULL;
    switch (v->type) {
    case V_STR:
        return v->u.s->s;
    case V_INT:
        snprintf(p->scratch[slot], sizeof p->scratch[slot], "%lld", (long long)v->u.i);
        return p->scratch[slot];
    case V_FLOAT:
        snprintf(p->scratch[slot], sizeof p->scratch[slot], "%.17g", v->u.f);
        return p->scratch[slot];
    case V_BOOL:
        return v->u.b ? "True" : "False";
    default:
        return NULL;
    }
}

static int int_of(VDict *d, const char *key, int dflt)
{
    Value *v = dict_getz(d, key);
    if (!v)
        return dflt;
    if (v->type == V_INT)
        return (int)v->u.i;
    if (v->type == V_FLOAT)
        return (int)v->u.f;
    if (v->type == V_BOOL)
        return v->u.b ? 1 : 0;
    if (v->type == V_STR) {
        char *end;
        long n = strtol(v->u.s->s, &end, 10);
        if (end != v->u.s->s && *end == '\0')
            return (int)n;
    }
    return dflt;
}

void pg_params_from_profile(PgParams *p, VDict *output, const char *profile, const char *target)
{
    memset(p, 0, sizeof *p);
    p->profile_name = profile;
    p->target_name = target;
    p->connect_timeout = 10;
    p->retries = 1;
    if (!output)
        return;
    p->host = text_of(p, output, "host", 0);
    p->user = text_of(p, output, "user", 1);
    p->password = text_of(p, output, "password", 2);
    if (!p->password)
        p->password = text_of(p, output, "pass", 3);
    p->dbname = text_of(p, output, "dbname", 4);
    if (!p->dbname)
        p->dbname = text_of(p, output, "database", 5);
    p->sslmode = text_of(p, output, "sslmode", 6);
    p->sslcert = text_of(p, output, "sslcert", 7);
    p->sslkey = text_of(p, output, "sslkey", 8);
    p->sslrootcert = text_of(p, output, "sslrootcert", 9);
    p->application_name = text_of(p, output, "application_name", 10);
    p->role = text_of(p, output, "role", 11);
    p->search_path = text_of(p, output, "search_path", 12);
    p->port = int_of(output, "port", 0);
    p->connect_timeout = int_of(output, "connect_timeout", 10);
    p->keepalives_idle = int_of(output, "keepalives_idle", 0);
    p->retries = int_of(output, "retries", 1);
    p->managed = int_of(output, "managed", 0) != 0;
    /* An empty password means "none": leave it to PGPASSWORD / .pgpass. */
    if (p->password && !*p->password)
        p->password = NULL;
}

/* ------------------------------------------------------------ errors */

static void clear_error(PgConn *c)
{
    if (c->err_res)
        PQclear(c->err_res);
    c->err_res = NULL;
    free(c->err_text);
    c->err_text = NULL;
    memset(&c->err, 0, sizeof c->err);
    c->err.message = "";
}

static char *trimmed_dup(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char *d = xmalloc(n + 1);
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Record an error from a failed result (takes ownership of res) into c->err
 * and *err. */
static void take_result_error(PgConn *c, PGresult *res, Diag *err)
{
    clear_error(c);
    c->err_res = res;
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (st)
        snprintf(c->err.sqlstate, sizeof c->err.sqlstate, "%s", st);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (!msg) {
        c->err_text = trimmed_dup(PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                                                               : PQerrorMessage(c->conn));
        msg = c->err_text;
    }
    c->err.message = msg;
    c->err.detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    c->err.hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    c->err.context = PQresultErrorField(res, PG_DIAG_CONTEXT);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    c->err.position = pos ? atoi(pos) : 0;
    if (err) {
        diag_set(err, NULL, 0, 0, NULL, "%s", c->err.message);
        if (c->err.detail)
            diag_note(err, "DETAIL:  %s", c->err.detail);
        if (c->err.hint)
            diag_note(err, "HINT:  %s", c->err.hint);
    }
}

/* Record a connection-level error (no result). */
static void conn_error(PgConn *c, const char *what, Diag *err)
{
    clear_error(c);
    Sb s = SB_INIT;
    char *reason = trimmed_dup(PQerrorMessage(c->conn));
    if (what)
        sb_printf(&s, "%s: %s", what, *reason ? reason : "connection failure");
    else
        sb_puts(&s, *reason ? reason : "connection failure");
    free(reason);
    c->err_text = sb_detach(&s);
    c->err.message = c->err_text;
    if (PQstatus(c->conn) == CONNECTION_BAD)
        snprintf(c->err.sqlstate, sizeof c->err.sqlstate, "08006");
    if (err)
        diag_set(err, NULL, 0, 0, NULL, "%s", c->err.message);
}

const PgError *pg_last_error(PgConn *c)
{
    return &c->err;
}

/* ------------------------------------------------------------ connect */

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void escape_option_value(Sb *out, const char *v)
{
    for (; *v; v++) {
        if (*v == ' ' || *v == '\\')
            sb_putc(out, '\\');
        sb_putc(out, *v);
    }
}

static void kv_add(const char **keys, const char **vals, int *n, const char *k, const char *v)
{
    if (v && *v) {
        keys[*n] = k;
        vals[*n] = v;
        (*n)++;
    }
}

PgConn *pg_connect(const PgParams *p, Diag *err)
{
    const char *keys[24], *vals[24];
    int n = 0;
    char port[16], timeout[16], keep[16];
    Sb options = SB_INIT;
    PgConn *c = NULL;
    PGconn *conn = NULL;
    const char *why;
    if (pq_load(&why) != 0) {
        if (err)
            diag_set(err, NULL, 0, 0, NULL, "Could not connect to PostgreSQL: %s", why);
        return NULL;
    }

#define KV(k, v) kv_add(keys, vals, &n, (k), (v))
    KV("host", p->host);
    if (p->port > 0) {
        snprintf(port, sizeof port, "%d", p->port);
        KV("port", port);
    }
    KV("user", p->user);
    KV("password", p->password);
    KV("dbname", p->dbname);
    KV("sslmode", p->sslmode);
    KV("sslcert", p->sslcert);
    KV("sslkey", p->sslkey);
    KV("sslrootcert", p->sslrootcert);
    KV("application_name", p->application_name ? p->application_name : "cdbt");
    snprintf(timeout, sizeof timeout, "%d", p->connect_timeout > 0 ? p->connect_timeout : 10);
    KV("connect_timeout", timeout);
    if (p->keepalives_idle > 0) {
        snprintf(keep, sizeof keep, "%d", p->keepalives_idle);
        KV("keepalives_idle", keep);
    }
    if (p->search_path && *p->search_path) {
        sb_puts(&options, "-c search_path=");
        escape_option_value(&options, p->search_path);
        KV("options", sb_cstr(&options));
    }
    keys[n] = NULL;
    vals[n] = NULL;
#undef KV

    int attempts = p->retries > 0 ? p->retries : 1;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        conn = PQconnectdbParams(keys, vals, 0);
        if (conn && PQstatus(conn) == CONNECTION_OK)
            break;
        if (attempt == attempts)
            break;
        PQfinish(conn);
        conn = NULL;
        struct timespec ts = {(time_t)attempt * attempt, 0};
        nanosleep(&ts, NULL);
    }
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        if (err) {
            char *reason = trimmed_dup(conn ? PQerrorMessage(conn) : "out of memory");
            const char *h = p->host ? p->host : conn && PQhost(conn) ? PQhost(conn) : "(default)";
            const char *pt = p->port > 0 ? port : conn && PQport(conn) && *PQport(conn) ? PQport(conn) : "5432";
            diag_set(err, NULL, 0, 0, NULL,
                     "Could not connect to PostgreSQL (profile '%s', target '%s', host %s, port %s): %s",
                     p->profile_name ? p->profile_name : "?", p->target_name ? p->target_name : "?",
                     h, pt, reason);
            free(reason);
        }
        goto fail;
    }
    PQsetNoticeProcessor(conn, quiet_notice, NULL);

    c = xcalloc(1, sizeof *c);
    c->conn = conn;
    conn = NULL;
    pthread_mutex_init(&c->cancel_mu, NULL);
    c->cancel = PQgetCancel(c->conn);
    clear_error(c);

    if (p->role && *p->role) {
        Sb q = SB_INIT;
        sb_printf(&q, "set role %s", p->role);
        int rc = pg_exec(c, sb_cstr(&q), NULL, NULL, 0, err);
        sb_free(&q);
        if (rc != 0) {
            if (err)
                diag_prefix(err, "Could not set role '%s' (profile '%s', target '%s'): ", p->role,
                            p->profile_name ? p->profile_name : "?", p->target_name ? p->target_name : "?");
            pg_close(c);
            c = NULL;
            goto fail;
        }
    }
    sb_free(&options);
    return c;

fail:
    if (conn)
        PQfinish(conn);
    sb_free(&options);
    return NULL;
}

void pg_close(PgConn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->cancel_mu);
    if (c->cancel)
        PQfreeCancel(c->cancel);
    c->cancel = NULL;
    pthread_mutex_unlock(&c->cancel_mu);
    /* The server rolls back an open transaction when the session ends. */
    clear_error(c);
    free(c->err_text);
    PQfinish(c->conn);
    pthread_mutex_destroy(&c->cancel_mu);
    free(c);
}

void pg_cancel(PgConn *c)
{
    if (!c)
        return;
    char buf[256];
    pthread_mutex_lock(&c->cancel_mu);
    if (c->cancel)
        PQcancel(c->cancel, buf, sizeof buf);
    pthread_mutex_unlock(&c->cancel_mu);
}

int pg_server_version(PgConn *c)
{
    return c ? PQserverVersion(c->conn) : 0;
}

/* ------------------------------------------------------------ results */

/* Rows affected from a command tag: the last number of SELECT/INSERT/UPDATE/
 * DELETE/MERGE/COPY/MOVE/FETCH tags, -1 otherwise. */
static int64_t tag_rows(const char *tag)
{
    static const char *const verbs[] = {"SELECT ", "INSERT ", "UPDATE ", "DELETE ", "MERGE ",
                                        "COPY ", "MOVE ", "FETCH ", NULL};
    if (!tag)
        return -1;
    bool ok = false;
    for (int i = 0; verbs[i]; i++)
        if (!strncmp(tag, verbs[i], strlen(verbs[i])))
            ok = true;
    if (!ok)
        return -1;
    const char *sp = strrchr(tag, ' ');
    if (!sp || !sp[1])
        return -1;
    int64_t v = 0;
    for (const char *q = sp + 1; *q; q++) {
        if (*q < '0' || *q > '9')
            return -1;
        v = v * 10 + (*q - '0');
    }
    return v;
}

static PgResult *make_result(PGresult *res)
{
    PgResultImpl *ri = xcalloc(1, sizeof *ri);
    PgResult *r = &ri->pub;
    ri->res = res;
    r->nrows = PQntuples(res);
    r->ncols = PQnfields(res);
    r->colnames = xcalloc((size_t)r->ncols + 1, sizeof *r->colnames);
    r->coltypes = xcalloc((size_t)r->ncols + 1, sizeof *r->coltypes);
    for (int i = 0; i < r->ncols; i++) {
        r->colnames[i] = PQfname(res, i);
        r->coltypes[i] = PQftype(res, i);
    }
    r->rows = xcalloc((size_t)r->nrows + 1, sizeof *r->rows);
    const char **cells = xcalloc((size_t)r->nrows * (size_t)r->ncols + 1, sizeof *cells);
    for (int i = 0; i < r->nrows; i++) {
        r->rows[i] = cells + (size_t)i * (size_t)r->ncols;
        for (int j = 0; j < r->ncols; j++)
            cells[(size_t)i * (size_t)r->ncols + j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
    }
    ri->cells = cells;
    r->status = PQcmdStatus(res);
    r->rows_affected = tag_rows(r->status);
    return r;
}

void pg_result_free(PgResult *r)
{
    if (!r)
        return;
    PgResultImpl *ri = (PgResultImpl *)r;
    free(ri->cells);
    free(r->rows);
    free(r->colnames);
    free(r->coltypes);
    PQclear(ri->res);
    free(ri);
}

/* Read every remaining result.  A COPY IN found on the way is refused, a
 * COPY OUT is drained.  Keeps the first error result in *first_err (owned by
 * the caller) and the last non-error result in *last (caller owned). */
static void drain(PgConn *c, PGresult **last, PGresult **first_err)
{
    PGresult *res;
    while ((res = PQgetResult(c->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN) {
            PQclear(res);
            PQputCopyEnd(c->conn, "COPY FROM STDIN is not supported here");
            continue;
        }
        if (st == PGRES_COPY_OUT) {
            PQclear(res);
            char *buf;
            int n;
            while ((n = PQgetCopyData(c->conn, &buf, 0)) > 0)
                PQfreemem(buf);
            continue;
        }
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
            if (first_err && !*first_err)
                *first_err = res;
            else
                PQclear(res);
            continue;
        }
        if (last) {
            if (*last)
                PQclear(*last);
            *last = res;
        } else {
            PQclear(res);
        }
    }
}

int pg_exec(PgConn *c, const char *sql, PgResult **out, char *tag_out, size_t tag_cap, Diag *err)
{
    PGresult *last = NULL, *bad = NULL;
    int rc = -1;
    if (out)
        *out = NULL;
    if (tag_out && tag_cap)
        tag_out[0] = '\0';
    clear_error(c);
    if (!PQsendQuery(c->conn, sql)) {
        conn_error(c, NULL, err);
        drain(c, NULL, NULL);
        goto done;
    }
    drain(c, &last, &bad);
    if (bad) {
        take_result_error(c, bad, err);
        bad = NULL;
        goto done;
    }
    if (PQstatus(c->conn) == CONNECTION_BAD) {
        conn_error(c, NULL, err);
        goto done;
    }
    if (tag_out && tag_cap)
        snprintf(tag_out, tag_cap, "%s", last ? PQcmdStatus(last) : "");
    if (out && last) {
        *out = make_result(last);
        last = NULL;
    }
    rc = 0;
done:
    if (last)
        PQclear(last);
    return rc;
}

/* ------------------------------------------------------------ pipelines */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_ident_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           (unsigned char)ch >= 0x80;
}

/* Length of the dollar-quote tag opening at p ("$tag$" or "$$"), 0 if none. */
static size_t dollar_tag(const char *p)
{
    size_t k = 1;
    if (p[k] >= '0' && p[k] <= '9')
        return 0;                     /* $1: a parameter */
    while (is_ident_char(p[k]) || p[k] == '$') {
        if (p[k] == '$')
            return k + 1;
        k++;
    }
    return p[k] == '$' ? k + 1 : 0;
}

bool pg_single_statement(const char *sql)
{
    bool ended = false;                 /* a top-level ';' was seen */
    const char *p = sql;
    while (*p) {
        char ch = *p;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
            p++;
            continue;
        }
        if (ch == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (ch == '/' && p[1] == '*') {
            int depth = 1;
            p += 2;
            while (*p && depth) {
                if (p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
            if (depth)
                return false;
            continue;
        }
        if (ended)
            return false;               /* something after the ';' */
        if (ch == '\\')
            return false;
        if (ch == ';') {
            ended = true;
            p++;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            p++;
            for (;;) {
                if (!*p || *p == '\\')
                    return false;
                if (*p == ch) {
                    if (p[1] == ch) {
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                p++;
            }
            continue;
        }
        if (ch == '$' && (p == sql || !is_ident_char(p[-1]))) {
            size_t tl = dollar_tag(p);
            if (tl) {
                const char *end = p + tl;
                for (;;) {
                    end = strchr(end, '$');
                    if (!end)
                        return false;
                    if (strncmp(end, p, tl) == 0)
                        break;
                    end++;
                }
                p = end + tl;
                continue;
            }
        }
        if (is_ident_char(ch) || ch == '$') {
            while (is_ident_char(*p) || *p == '$')
                p++;
            continue;
        }
        p++;
    }
    return true;
}

#ifdef LIBPQ_HAS_PIPELINING
int pg_exec_pipeline(PgConn *c, PgPipeItem *items, int n, Diag *err)
{
    clear_error(c);
    for (int i = 0; i < n; i++) {
        items[i].status = 1;
        items[i].tag[0] = '\0';
        items[i].done_at = 0;
    }
    if (n == 0)
        return 0;
    if (!PQenterPipelineMode(c->conn)) {
        conn_error(c, "cannot enter pipeline mode", err);
        items[0].status = -1;
        return -1;
    }
    int rc = 0, nsent = 0;
    while (nsent < n && PQsendQueryParams(c->conn, items[nsent].sql, 0, NULL, NULL, NULL, NULL, 0))
        nsent++;
    if (nsent < n) {
        /* statement nsent could not be queued: it fails, the ones before it
         * are still synced and read normally, the rest never run */
        conn_error(c, NULL, err);
        items[nsent].status = -1;
        rc = -1;
    }
    if (!PQpipelineSync(c->conn)) {
        if (rc == 0) {
            conn_error(c, NULL, err);
            items[0].status = -1;
        }
        PQexitPipelineMode(c->conn);   /* fails while results are pending: the caller closes c */
        return -1;
    }
    /* Every statement yields exactly one result (its own, or
     * PGRES_PIPELINE_ABORTED once an earlier one failed), each followed by a
     * NULL; then the Sync's PGRES_PIPELINE_SYNC.  Results are matched to
     * statements by count, NULLs only guard against waiting for nothing. */
    int i = -1, nulls = 0;
    bool synced = false;
    for (;;) {
        PGresult *res = PQgetResult(c->conn);
        if (!res) {
            if (PQstatus(c->conn) == CONNECTION_BAD || ++nulls >= 2)
                break;
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            synced = true;
            break;
        }
        if (++i >= nsent) {             /* not expected */
            PQclear(res);
            continue;
        }
        PgPipeItem *it = &items[i];
        if (st == PGRES_PIPELINE_ABORTED) {
            PQclear(res);
            continue;                   /* stays 1: not executed */
        }
        it->done_at = mono_now();
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
            it->status = -1;
            if (rc == 0) {
                take_result_error(c, res, err);   /* owns res */
                rc = -1;
            } else {
                PQclear(res);
            }
            continue;
        }
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {   /* refused (not expected here) */
            if (st == PGRES_COPY_IN)
                PQputCopyEnd(c->conn, "COPY is not supported in a pipeline");
            PQclear(res);
            it->status = -1;
            if (rc == 0) {
                clear_error(c);
                c->err_text = trimmed_dup("COPY is not supported in a pipeline");
                c->err.message = c->err_text;
                if (err)
                    diag_set(err, NULL, 0, 0, NULL, "%s", c->err.message);
                rc = -1;
            }
            continue;
        }
        it->status = 0;
        snprintf(it->tag, sizeof it->tag, "%s", PQcmdStatus(res));
        PQclear(res);
    }
    if (!synced || PQstatus(c->conn) == CONNECTION_BAD) {
        if (rc == 0) {
            conn_error(c, NULL, err);
            rc = -1;
            for (int k = 0; k < n; k++)
                if (items[k].status == 1) {
                    items[k].status = -1;
                    break;
                }
        }
        PQexitPipelineMode(c->conn);   /* fails on a broken protocol state: the caller closes c */
        return -1;
    }
    if (!PQexitPipelineMode(c->conn) && rc == 0) {
        conn_error(c, "cannot leave pipeline mode", err);
        rc = -1;
    }
    /* every statement accounted for: a statement left at 1 after a success
     * run would mean a protocol surprise */
    if (rc == 0)
        for (int k = 0; k < n; k++)
            if (items[k].status != 0) {
                clear_error(c);
                c->err_text = trimmed_dup("pipeline ended before every statement reported");
                c->err.message = c->err_text;
                if (err)
                    diag_set(err, NULL, 0, 0, NULL, "%s", c->err.message);
                items[k].status = -1;
                rc = -1;
                break;
            }
    return rc;
}
#else
/* libpq without pipeline mode: one round trip per statement, same contract. */
int pg_exec_pipeline(PgConn *c, PgPipeItem *items, int n, Diag *err)
{
    for (int i = 0; i < n; i++) {
        items[i].status = 1;
        items[i].tag[0] = '\0';
        items[i].done_at = 0;
    }
    for (int i = 0; i < n; i++) {
        int rc = pg_exec(c, items[i].sql, NULL, items[i].tag, sizeof items[i].tag, err);
        items[i].done_at = mono_now();
        items[i].status = rc == 0 ? 0 : -1;
        if (rc != 0)
            return -1;
    }
    return 0;
}
#endif

/* ------------------------------------------------------------ transactions */

bool pg_in_transaction(PgConn *c)
{
    if (!c)
        return false;
    PGTransactionStatusType t = PQtransactionStatus(c->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

int pg_begin(PgConn *c, Diag *err)
{
    if (pg_in_transaction(c))
        return 0;
    return pg_exec(c, "BEGIN", NULL, NULL, 0, err);
}

int pg_commit(PgConn *c, Diag *err)
{
    if (!pg_in_transaction(c))
        return 0;
    return pg_exec(c, "COMMIT", NULL, NULL, 0, err);
}

int pg_rollback(PgConn *c)
{
    if (!c || !pg_in_transaction(c))
        return 0;
    /* Keep the error that caused the rollback visible to the caller. */
    PGresult *res = PQexec(c->conn, "ROLLBACK");
    PQclear(res);
    drain(c, NULL, NULL);
    return 0;
}

/* ------------------------------------------------------------ COPY */

int pg_copy_in_begin(PgConn *c, const char *copy_sql, Diag *err)
{
    clear_error(c);
    if (!PQsendQuery(c->conn, copy_sql)) {
        conn_error(c, NULL, err);
        drain(c, NULL, NULL);
        return -1;
    }
    PGresult *res = PQgetResult(c->conn);
    if (res && PQresultStatus(res) == PGRES_COPY_IN) {
        PQclear(res);
        c->in_copy_in = true;
        return 0;
    }
    /* Not a COPY FROM STDIN (or it failed): report and drain. */
    PGresult *bad = NULL, *last = NULL;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (res && (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE))
        bad = res;
    else if (res)
        PQclear(res);
    if (res && st == PGRES_COPY_OUT) {
        char *buf;
        while (PQgetCopyData(c->conn, &buf, 0) > 0)
            PQfreemem(buf);
    }
    drain(c, &last, bad ? NULL : &bad);
    if (last)
        PQclear(last);
    if (bad) {
        take_result_error(c, bad, err);
    } else {
        clear_error(c);
        c->err_text = trimmed_dup(PQstatus(c->conn) == CONNECTION_BAD ? PQerrorMessage(c->conn)
                                                                     : "statement is not a COPY ... FROM STDIN");
        c->err.message = c->err_text;
        if (err)
            diag_set(err, NULL, 0, 0, NULL, "%s", c->err.message);
    }
    return -1;
}

int pg_copy_in_put(PgConn *c, const char *buf, size_t n, Diag *err)
{
    if (!c->in_copy_in) {
        if (err)
            diag_set(err, NULL, 0, 0, NULL, "no COPY FROM STDIN in progress");
        return -1;
    }
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (PQputCopyData(c->conn, buf, chunk) != 1) {
            conn_error(c, "COPY data could not be sent", err);
            return -1;
        }
        buf += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

/* With abort_reason, a clean abort (the server acknowledged it with its
 * "COPY from stdin failed: <reason>" error, kept in pg_last_error) returns 0;
 * -1 means the connection failed.  Without it, the server's verdict decides. */
int pg_copy_in_end(PgConn *c, const char *abort_reason, int64_t *rows_out, Diag *err)
{
    if (rows_out)
        *rows_out = -1;
    if (!c->in_copy_in) {
        if (err)
            diag_set(err, NULL, 0, 0, NULL, "no COPY FROM STDIN in progress");
        return -1;
    }
    c->in_copy_in = false;
    int sent = PQputCopyEnd(c->conn, abort_reason);
    PGresult *last = NULL, *bad = NULL;
    drain(c, &last, &bad);
    int rc = 0;
    if (bad) {
        take_result_error(c, bad, abort_reason ? NULL : err);
        rc = abort_reason ? 0 : -1;
    } else if (sent != 1 || PQstatus(c->conn) == CONNECTION_BAD) {
        conn_error(c, "COPY could not be completed", err);
        rc = -1;
    } else if (last && rows_out) {
        *rows_out = tag_rows(PQcmdStatus(last));
    }
    if (last)
        PQclear(last);
    if (rc == 0 && abort_reason && !bad && PQstatus(c->conn) == CONNECTION_BAD)
        rc = -1;
    return rc;
}

int pg_copy_out(PgConn *c, const char *copy_sql,
                int (*fn)(void *ud, const char *line, size_t n), void *ud, Diag *err)
{
    clear_error(c);
    if (!PQsendQuery(c->conn, copy_sql)) {
        conn_error(c, NULL, err);
        drain(c, NULL, NULL);
        return -1;
    }
    PGresult *res = PQgetResult(c->conn);
    if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
        PGresult *bad = NULL, *last = NULL;
        if (res && (PQresultStatus(res) == PGRES_FATAL_ERROR || PQresultStatus(res) == PGRES_BAD_RESPONSE))
            bad = res;
        else if (res)
            PQclear(res);
        drain(c, &last, bad ? NULL : &bad);
        if (last)
            PQclear(last);
        if (bad) {
            take_result_error(c, bad, err);
        } else {
            clear_error(c);
            c->err_text = trimmed_dup("statement is not a COPY ... TO STDOUT");
            c->err.message = c->err_text;
            if (err)
                diag_set(err, NULL, 0, 0, NULL, "%s", c->err.message);
        }
        return -1;
    }
    PQclear(res);
    bool stopped = false;
    char *buf;
    int n;
    while ((n = PQgetCopyData(c->conn, &buf, 0)) > 0) {
        if (!stopped && fn(ud, buf, (size_t)n) != 0) {
            stopped = true;
            pg_cancel(c);
        }
        PQfreemem(buf);
    }
    PGresult *last = NULL, *bad = NULL;
    drain(c, &last, &bad);
    if (last)
        PQclear(last);
    if (n == -2 && !bad) {
        conn_error(c, "COPY data could not be read", err);
        return -1;
    }
    if (bad) {
        if (stopped) {                        /* our own cancel: not an error */
            take_result_error(c, bad, NULL);
            return 0;
        }
        take_result_error(c, bad, err);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ quoting */

void pg_quote_ident(Sb *out, const char *s)
{
    sb_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"')
            sb_putc(out, '"');
        sb_putc(out, *s);
    }
    sb_putc(out, '"');
}

void pg_quote_literal(Sb *out, const char *s)
{
    sb_putc(out, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            sb_putc(out, '\'');
        sb_putc(out, *s);
    }
    sb_putc(out, '\'');
}
