/* mat_seed.c - the seed executor (§8.3): read the CSV twice (pass 1 infers
 * the column types, pass 2 streams normalised values), and load them with
 * `COPY T (cols) FROM STDIN` inside the node's transaction, so a failed load
 * (bad value, server error, cancel) rolls back to the previous table.
 *
 * Statement order is dbt's seed materialization: the CSV is read before
 * anything is sent; outside pre-hooks, BEGIN, inside pre-hooks; a view in
 * the way is an error; an existing table is truncated (or dropped and
 * re-created under full refresh); else `create table T ("c" type, ...)`;
 * the load; grants (revoke check only when the table was kept),
 * persist_docs, indexes when the table was created; inside post-hooks; COMMIT; outside post-hooks.
 * Result: "INSERT <rows>" ("CREATE <rows>" under full refresh).
 *
 * The COPY is binary (FORMAT binary: each value sent as the datum the
 * column type's input function would make of its normalised text, so the
 * server skips text parsing, about half its work) when every column has a
 * binary encoding (seedtype.h: not for column_types, nor for Numbers the
 * server would reject) and the target's column types are known: a table
 * created here, the staging table, or a kept table whose columns read from
 * pg_attribute have exactly those types.  Otherwise text, as before.
 *
 * Values with a UTC offset in ISO timestamp columns are loaded the way
 * psycopg2 binds them (timestamptz cast to the session time zone): through
 * a temporary staging table whose offset-bearing columns are text, then
 * `insert into T select ... ::timestamptz::timestamp`.  Everything else goes
 * straight into T.
 *
 * CSV rules: csvread.c; types and values: seedtype.c; names, hooks, grants,
 * indexes, cache undo: matu.c. */
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "matu.h"
#include "seedtype.h"

#define SEED_COPY_CHUNK (256 * 1024)

typedef struct SeedCtx {
    MatCtx *m;
    const char *path;          /* absolute path of the CSV */
    char delim;
    int ncols;
    const char **names;        /* job arena */
    const char **coltype;      /* SQL type per column (user's for column_types) */
    SeedType *type;
    bool *staged;              /* loaded as text and cast by the insert-select */
    SeedBin *bin;              /* binary COPY encoding per column (SEED_BIN_NONE: text only) */
    bool binary_ok;            /* every column has one */
    bool quote;
    int64_t rows;
} SeedCtx;

static void put_col(Sb *s, const SeedCtx *c, int i)
{
    if (c->quote)
        pg_quote_ident(s, c->names[i]);
    else
        sb_puts(s, c->names[i]);
}

static const char *col_list(SeedCtx *c)
{
    Sb s = SB_INIT;
    for (int i = 0; i < c->ncols; i++) {
        if (i)
            sb_puts(&s, ", ");
        put_col(&s, c, i);
    }
    const char *r = arena_strdup(c->m->a, sb_cstr(&s));
    sb_free(&s);
    return r;
}

/* create table <rel> ("a" integer,"b" text): dbt's create_csv_table text. */
static const char *create_sql(SeedCtx *c, const char *rel, bool temporary, bool stage_types)
{
    Sb s = SB_INIT;
    sb_printf(&s, "create %stable %s (", temporary ? "temporary " : "", rel);
    for (int i = 0; i < c->ncols; i++) {
        if (i)
            sb_putc(&s, ',');
        put_col(&s, c, i);
        sb_printf(&s, " %s", stage_types && c->staged[i] ? "text" : c->coltype[i]);
    }
    sb_putc(&s, ')');
    if (temporary)
        sb_puts(&s, " on commit drop");
    const char *r = arena_strdup(c->m->a, sb_cstr(&s));
    sb_free(&s);
    return r;
}

/* Pass 1: header, column_types, inference, row count. */
static int infer(SeedCtx *c, CsvReader *r)
{
    MatCtx *m = c->m;
    NodeJob *job = m->job;
    const char *const *names;
    int ncols;
    if (csv_header(r, &names, &ncols, &job->err) != 0)
        return -1;
    c->ncols = ncols;
    c->names = ARENA_ARRAY(m->a, const char *, ncols + 1);
    c->coltype = ARENA_ARRAY(m->a, const char *, ncols + 1);
    c->type = ARENA_ARRAY(m->a, SeedType, ncols + 1);
    c->staged = ARENA_ARRAY(m->a, bool, ncols + 1);
    c->bin = ARENA_ARRAY(m->a, SeedBin, ncols + 1);
    bool *forced = ARENA_ARRAY(m->a, bool, ncols + 1);
    Value *ct = exec_cfg(m->n, "column_types");
    VDict *ctd = ct && ct->type == V_DICT ? ct->u.d : NULL;
    for (int i = 0; i < ncols; i++) {
        c->names[i] = arena_strdup(m->a, names[i]);
        Value *v = ctd ? dict_getz(ctd, names[i]) : NULL;
        if (v && v->type != V_NONE && v->type != V_UNDEF) {
            forced[i] = true;
            if (v->type == V_STR)
                c->coltype[i] = arena_strdup(m->a, v->u.s->s);
            else {
                Sb t = SB_INIT;
                value_str(&t, *v);
                c->coltype[i] = arena_strdup(m->a, sb_cstr(&t));
                sb_free(&t);
            }
        }
    }
    SeedTyper ty;
    seedtype_init(&ty, ncols, forced);
    CsvRecord rec;
    int k;
    c->rows = 0;
    while ((k = csv_next(r, &rec, &job->err)) == 1) {
        seedtype_feed(&ty, rec.f, rec.len, rec.n);
        c->rows++;
    }
    if (k == 0) {
        c->binary_ok = ncols > 0;
        for (int i = 0; i < ncols; i++) {
            c->type[i] = seedtype_result(&ty, i);
            c->staged[i] = !forced[i] && c->type[i] == SEED_ISODATETIME && ty.cols[i].any_aware;
            if (!forced[i])
                c->coltype[i] = seedtype_sql(&ty, i);
            c->bin[i] = seedtype_bin_kind(&ty, i, c->staged[i]);
            c->binary_ok &= c->bin[i] != SEED_BIN_NONE;
        }
    }
    seedtype_free(&ty);
    return k == 0 ? 0 : -1;
}

/* The COPY failed on the server: when its context says "COPY <t>, line N,
 * column <c>: ...", find row N again and point at that field of the CSV. */
static void copy_error(SeedCtx *c, CsvReader *r, const char *server_msg)
{
    NodeJob *job = c->m->job;
    const PgError *pe = pg_last_error(job->conn);
    const char *msg = pe && pe->message && *pe->message ? pe->message : server_msg;
    char *msg_copy = xstrdup(msg ? msg : "COPY failed");
    char *ctx_copy = pe && pe->context ? xstrdup(pe->context) : NULL;
    char *detail_copy = pe && pe->detail && *pe->detail ? xstrdup(pe->detail) : NULL;
    long line_no = 0;
    int field = -1;
    const char *lp = ctx_copy ? strstr(ctx_copy, ", line ") : NULL;
    if (lp)
        line_no = strtol(lp + 7, NULL, 10);
    const char *cp = ctx_copy ? strstr(ctx_copy, ", column ") : NULL;
    if (cp) {
        cp += 9;
        size_t best = 0;
        for (int i = 0; i < c->ncols; i++) {
            size_t l = strlen(c->names[i]);
            if (l > best && strncmp(cp, c->names[i], l) == 0 && (cp[l] == ':' || cp[l] == '\0' || cp[l] == '\n')) {
                best = l;
                field = i;
            }
        }
    }
    diag_clear(&job->err);
    bool located = false;
    if (line_no > 0) {
        Diag d = {0};
        const char *const *names;
        int nc, k = 0;
        CsvRecord rec;
        if (csv_rewind(r, &d) == 0 && csv_header(r, &names, &nc, &d) == 0) {
            for (long i = 0; i < line_no && (k = csv_next(r, &rec, &d)) == 1; i++)
                ;
            if (k == 1) {
                csv_field_error(r, &rec, field, &job->err, "%s", msg_copy);
                located = true;
            }
        }
        diag_clear(&d);
    }
    if (!located)
        diag_set(&job->err, c->m->n->original_file_path, 0, 0, NULL, "%s", msg_copy);
    if (ctx_copy)
        diag_note(&job->err, "context: %s", ctx_copy);
    if (detail_copy)
        diag_note(&job->err, "detail: %s", detail_copy);
    free(msg_copy);
    free(ctx_copy);
    free(detail_copy);
}

/* Pass 2: stream the normalised rows into `copy <target> (cols) from stdin`,
 * in binary format when `binary`.  0 ok, -1 error (job->err). */
static int load(SeedCtx *c, CsvReader *r, const char *target, bool binary, int64_t *rows_out)
{
    MatCtx *m = c->m;
    NodeJob *job = m->job;
    const char *copy_sql = arena_sprintf(m->a, "copy %s (%s) from stdin%s", target, col_list(c),
                                         binary ? " with (format binary)" : "");
    sb_puts(&job->sent, "-- dbt seed --\n");
    sb_puts(&job->sent, copy_sql);
    sb_puts(&job->sent, ";\n");
    exec_log(job->sh, m->n->unique_id, "SQL:\n%s", copy_sql);
    if (exec_cancelled(job->sh)) {
        matu_error(m, "cancelled");
        return -1;
    }
    Diag d = {0};
    if (pg_copy_in_begin(job->conn, copy_sql, &d) != 0) {
        matu_error(m, "%s", d.message ? d.message : "COPY failed");
        diag_clear(&d);
        return -1;
    }
    const char *const *names;
    int nc;
    if (csv_rewind(r, &job->err) != 0 || csv_header(r, &names, &nc, &job->err) != 0)
        goto abort;
    if (nc != c->ncols) {
        matu_error(m, "the CSV file changed while it was being loaded");
        goto abort;
    }
    Sb buf = SB_INIT;
    sb_reserve(&buf, SEED_COPY_CHUNK + 4096);
    CsvRecord rec;
    int k;
    int64_t n = 0;
    if (binary)
        seedtype_bin_header(&buf);
    while ((k = csv_next(r, &rec, &job->err)) == 1) {
        if (binary)
            seedtype_bin_tuple(&buf, c->ncols);
        for (int i = 0; i < c->ncols; i++) {
            const char *why = NULL;
            int w = binary ? seedtype_bin_value(&buf, c->bin[i], c->type[i], rec.f[i], rec.len[i], &why)
                           : seedtype_copy_value(&buf, c->type[i], rec.f[i], rec.len[i],
                                                 i + 1 < c->ncols ? '\t' : '\n', &why);
            if (w < 0) {
                diag_clear(&job->err);
                csv_field_error(r, &rec, i, &job->err, "cannot load value \"%s\" of column \"%s\": %s",
                                rec.f[i] ? rec.f[i] : "", c->names[i],
                                w == -1 && why ? why : "changed since type inference");
                k = -1;
                break;
            }
        }
        if (k < 0)
            break;
        if (c->ncols == 0 && !binary)
            sb_putc(&buf, '\n');
        n++;
        if (buf.len >= SEED_COPY_CHUNK) {
            if (exec_cancelled(job->sh)) {
                matu_error(m, "cancelled");
                k = -1;
                break;
            }
            if (pg_copy_in_put(job->conn, buf.buf, buf.len, &d) != 0) {
                k = -2;
                break;
            }
            sb_reset(&buf);
        }
    }
    if (k == 0 && binary)
        seedtype_bin_trailer(&buf);
    if (k == 0 && buf.len && pg_copy_in_put(job->conn, buf.buf, buf.len, &d) != 0)
        k = -2;
    sb_free(&buf);
    if (k == -1)
        goto abort;
    if (k == -2) {
        pg_copy_in_end(job->conn, "cdbt: sending COPY data failed", NULL, NULL);
        matu_error(m, "%s", d.message ? d.message : "COPY failed");
        diag_clear(&d);
        return -1;
    }
    int64_t rows = -1;
    if (pg_copy_in_end(job->conn, NULL, &rows, &d) != 0) {
        copy_error(c, r, d.message);
        diag_clear(&d);
        return -1;
    }
    diag_clear(&d);
    *rows_out = rows >= 0 ? rows : n;
    return 0;
abort:
    pg_copy_in_end(job->conn, "cdbt: seed load aborted", NULL, NULL);
    diag_clear(&d);
    if (!job->err.set)
        matu_error(m, "COPY aborted");
    return -1;
}

/* The SQL type a binary encoding is the wire format of, as format_type
 * names it. */
static const char *bin_sql_type(SeedBin k)
{
    switch (k) {
    case SEED_BIN_INT4: return "integer";
    case SEED_BIN_FLOAT8: return "double precision";
    case SEED_BIN_DATE: return "date";
    case SEED_BIN_TIMESTAMP: return "timestamp without time zone";
    case SEED_BIN_BOOL: return "boolean";
    case SEED_BIN_TEXT: return "text";
    default: return NULL;
    }
}

/* A kept (truncated) table: binary COPY only when each loaded column has
 * exactly the type whose wire format we would send; anything else (other
 * types, unquoted or over-long names that the server would fold or cut)
 * keeps the text format, where the server converts as before.  The lookup
 * is cdbt's own read of the catalog: logged, not part of target/run. */
static bool kept_table_takes_binary(SeedCtx *c)
{
    MatCtx *m = c->m;
    NodeJob *job = m->job;
    if (!c->binary_ok || !c->quote)
        return false;
    for (int i = 0; i < c->ncols; i++)
        if (strlen(c->names[i]) > 63)
            return false;
    if (matu_flush(m) != 0)
        return false;
    Sb q = SB_INIT;
    sb_puts(&q, "select attname, format_type(atttypid, atttypmod) from pg_catalog.pg_attribute where attrelid = ");
    pg_quote_literal(&q, m->T.sql);
    sb_puts(&q, "::regclass and attnum > 0 and not attisdropped");
    exec_log(job->sh, m->n->unique_id, "SQL:\n%s", sb_cstr(&q));
    PgResult *res = NULL;
    Diag d = {0};
    int rc = pg_exec(job->conn, sb_cstr(&q), &res, NULL, 0, &d);
    sb_free(&q);
    diag_clear(&d);
    bool ok = rc == 0 && res && res->ncols == 2;
    for (int i = 0; ok && i < c->ncols; i++) {
        bool found = false;
        for (int k = 0; k < res->nrows && !found; k++)
            if (res->rows[k][0] && strcmp(res->rows[k][0], c->names[i]) == 0) {
                found = true;
                ok = res->rows[k][1] && strcmp(res->rows[k][1], bin_sql_type(c->bin[i])) == 0;
            }
        ok &= found;
    }
    pg_result_free(res);
    return ok;
}

/* Offset-bearing ISO columns: COPY into a temporary table, then cast. */
static int load_staged(SeedCtx *c, CsvReader *r, int64_t *rows_out)
{
    MatCtx *m = c->m;
    const char *stage = arena_sprintf(m->a, "\"%s__dbt_seed_stage\"", m->T.identifier);
    if (matu_sql(m, create_sql(c, stage, true, true), NULL, NULL, 0) != 0)
        return -1;
    if (load(c, r, stage, c->binary_ok, rows_out) != 0)
        return -1;
    Sb s = SB_INIT;
    sb_printf(&s, "insert into %s (%s) select ", m->T.sql, col_list(c));
    for (int i = 0; i < c->ncols; i++) {
        if (i)
            sb_puts(&s, ", ");
        if (c->staged[i]) {
            Sb q = SB_INIT;
            put_col(&q, c, i);
            sb_printf(&s, "case when %s ~ '[+-][0-9][0-9]:[0-9][0-9]$' then %s::timestamptz::timestamp else %s::timestamp end",
                      q.buf, q.buf, q.buf);
            sb_free(&q);
        } else {
            put_col(&s, c, i);
        }
    }
    sb_printf(&s, " from %s", stage);
    int rc = matu_sql(m, arena_strdup(m->a, sb_cstr(&s)), NULL, NULL, 0);
    sb_free(&s);
    return rc;
}

int mat_seed(NodeJob *job)
{
    MatCtx m;
    CsvReader *r = NULL;
    int rc = -1;
    if (matu_init(&m, job) != 0)
        return -1;
    Node *n = job->node;
    SeedCtx c;
    memset(&c, 0, sizeof c);
    c.m = &m;
    /* config */
    const char *delim = exec_cfg_str(n, "delimiter");
    if (!delim)
        delim = ",";
    if (strlen(delim) != 1 || *delim == '"' || *delim == '\n' || *delim == '\r') {
        matu_error(&m, "seed delimiter must be a single ASCII character other than a quote or newline, got '%s'", delim);
        job->status = NS_ERROR;
        return -1;
    }
    c.delim = *delim;
    Value *qc = exec_cfg(n, "quote_columns");
    c.quote = !qc || qc->type == V_NONE || qc->type == V_UNDEF ? true : exec_cfg_bool(n, "quote_columns", true);
    Value *fr = exec_cfg(n, "full_refresh");
    bool full_refresh = fr && fr->type != V_NONE && fr->type != V_UNDEF ? exec_cfg_bool(n, "full_refresh", false)
                                                                          : job->full_refresh;
    if (n->abs_path)
        c.path = n->abs_path;
    else
        c.path = arena_sprintf(m.a, "%s/%s", n->root_path ? n->root_path : ".", n->original_file_path);

    /* read + infer before anything is sent (dbt loads the agate table first) */
    r = csv_open_file(c.path, n->original_file_path, c.delim, &job->err);
    if (!r || infer(&c, r) != 0) {
        job->status = NS_ERROR;
        goto done;
    }
    bool any_staged = false;
    for (int i = 0; i < c.ncols; i++)
        any_staged |= c.staged[i];

    RelType E = m.E;
    if (matu_hooks(&m, true, false) != 0 || matu_begin(&m) != 0 || matu_hooks(&m, true, true) != 0)
        goto fail;
    if (E == REL_VIEW) {
        matu_error_kind(&m, "Compilation Error", "Cannot seed to '%s', it is a view", m.T.sql);
        goto fail;
    }
    if (E == REL_TABLE && !full_refresh) {
        if (matu_sql(&m, arena_sprintf(m.a, "truncate table %s", m.T.sql), NULL, NULL, 0) != 0)
            goto fail;
    } else {
        if (E == REL_TABLE && matu_drop(&m, &m.T, REL_TABLE) != 0)
            goto fail;
        if (matu_sql(&m, create_sql(&c, m.T.sql, false, false), NULL, NULL, 0) != 0)
            goto fail;
        matu_cache_set(&m, &m.T, REL_TABLE);
    }
    int64_t rows = 0;
    bool created = !(E == REL_TABLE && !full_refresh);
    if (any_staged) {
        if (load_staged(&c, r, &rows) != 0)
            goto fail;
    } else {
        bool binary = c.binary_ok && (created || kept_table_takes_binary(&c));
        if (load(&c, r, m.T.sql, binary, &rows) != 0)
            goto fail;
    }
    bool kept = E == REL_TABLE && !full_refresh;
    if (matu_grants(&m, &m.T, kept) != 0 || matu_persist_docs(&m, &m.T, REL_TABLE) != 0)
        goto fail;
    if (!kept && matu_indexes(&m, &m.T) != 0)
        goto fail;
    if (matu_hooks(&m, false, true) != 0 || matu_commit(&m) != 0 || matu_hooks(&m, false, false) != 0)
        goto fail;
    matu_success(&m, arena_sprintf(m.a, "%s %lld", full_refresh ? "CREATE" : "INSERT", (long long)rows));
    rc = 0;
    goto done;
fail:
    matu_fail(&m);
done:
    csv_close(r);
    if (rc != 0)
        job->status = NS_ERROR;
    return rc;
}
