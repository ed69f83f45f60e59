/* mat_cleanse.c - the `cleanse` materialization (exec.h contract): compiles
 * the model's spec, streams the input (landing files, or the model's SQL via
 * COPY TO STDOUT on a second connection) through the Cleanser into
 * `COPY <alias>__dbt_tmp FROM STDIN` on the job's connection, loads the
 * rejects into `<alias>__rejects__dbt_tmp`, checks the reject limits, then
 * swaps both tables in place of the old ones inside one transaction (rename
 * old to __dbt_backup, new to target, drop backup).  Incremental runs merge
 * into the existing table instead.  Any error or cancel rolls back and leaves
 * the old relations untouched.  Scheduling, schemas and console lines are the
 * runner's; the rules are rules.c's. */
#define _GNU_SOURCE
#include "cpriv.h"

#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/hash.h"
#include "../exec/exec.h"

#define CHUNK (64 * 1024)     /* COPY data per send: small enough to keep client and server overlapping */

typedef struct Run {
    NodeJob *job;
    Node *n;
    Arena *a;
    CleanseSpec *s;
    Cleanser *c;
    CleanseReader *rd;
    Sb out;                 /* COPY rows waiting to be sent */
    Sb rej;                 /* rejects, COPY text, spooled to rejf past 1 MiB */
    FILE *rejf;
    bool in_copy;
    bool limit_hit;
    bool keep_rejects;      /* failed on a reject limit: still publish the rejects */
    bool send_failed;
    Diag d;
    const char *root;
    const char *T, *I, *B, *R, *RI, *RB, *F;   /* quoted schema.ident */
    const char *schema, *alias, *iI, *iB, *iR, *iRI, *iRB, *iF;   /* bare identifiers */
} Run;

/* ---- names */

static const char *ident(Run *r, const char *base, const char *suffix)
{
    size_t bl = strlen(base), sl = strlen(suffix);
    if (bl + sl > 63)
        bl = 63 - sl;
    return arena_sprintf(r->a, "%.*s%s", (int)bl, base, suffix);
}

static const char *qual(Run *r, const char *id)
{
    Sb s = SB_INIT;
    pg_quote_ident(&s, r->schema);
    sb_putc(&s, '.');
    pg_quote_ident(&s, id);
    const char *o = arena_strdup(r->a, sb_cstr(&s));
    sb_free(&s);
    return o;
}

static int fail(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Run *r, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    diag_clear(&r->job->err);
    diag_set(&r->job->err, r->n->original_file_path, 0, 0, NULL, "%s", buf);
    return -1;
}

static int sql(Run *r, const char *q)
{
    return exec_sql(r->job, q, NULL, NULL, 0);
}

static int sqlf(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sqlf(Run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Sb s = SB_INIT;
    sb_vprintf(&s, fmt, ap);
    va_end(ap);
    int rc = sql(r, sb_cstr(&s));
    sb_free(&s);
    return rc;
}

/* ---- COPY IN plumbing */

static int copy_begin(Run *r, const char *stmt)
{
    if (exec_cancelled(r->job->sh))
        return fail(r, "cancelled");
    sb_printf(&r->job->sent, "%s;\n", stmt);
    exec_log(r->job->sh, r->n->unique_id, "SQL:\n%s", stmt);
    Diag d = {0};
    if (pg_copy_in_begin(r->job->conn, stmt, &d) != 0) {
        fail(r, "%s", d.message ? d.message : "COPY failed");
        diag_clear(&d);
        return -1;
    }
    r->in_copy = true;
    return 0;
}

static int send_out(void *ud, Sb *out)
{
    Run *r = ud;
    if (!out->len)
        return 0;
    if (exec_cancelled(r->job->sh)) {
        r->send_failed = true;
        fail(r, "cancelled");
        return -1;
    }
    Diag d = {0};
    if (pg_copy_in_put(r->job->conn, out->buf, out->len, &d) != 0) {
        r->send_failed = true;
        fail(r, "%s", d.message ? d.message : "COPY failed");
        diag_clear(&d);
        return -1;
    }
    sb_reset(out);
    return 0;
}

static int copy_end(Run *r, int64_t *rows)
{
    Diag d = {0};
    r->in_copy = false;
    if (pg_copy_in_end(r->job->conn, NULL, rows, &d) != 0) {
        fail(r, "%s", d.message ? d.message : "COPY failed");
        diag_clear(&d);
        return -1;
    }
    return 0;
}

static void copy_abort(Run *r, const char *why)
{
    if (!r->in_copy)
        return;
    r->in_copy = false;
    Diag d = {0};
    pg_copy_in_end(r->job->conn, why, NULL, &d);
    diag_clear(&d);
}

/* ---- rejects */

/* Text safe for a PostgreSQL text column: invalid UTF-8 and NUL -> U+FFFD. */
static void safe_text(Sb *o, const char *s, size_t n)
{
    if (!s) {
        sb_append(o, "\\N", 2);
        return;
    }
    if (!memchr(s, 0, n) && cl_utf8_valid(s, n)) {
        cleanse_copy_escape(o, s, n);
        return;
    }
    Sb t = SB_INIT;
    size_t i = 0;
    while (i < n) {
        size_t k = 1;
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0xC2 && ch <= 0xF4)
            k = ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
        if (ch != 0 && i + k <= n && cl_utf8_valid(s + i, k)) {
            sb_append(&t, s + i, k);
            i += k;
        } else {
            sb_puts(&t, "\xEF\xBF\xBD");
            i++;
        }
    }
    cleanse_copy_escape(o, t.buf ? t.buf : "", t.len);
    sb_free(&t);
}

static int on_reject(void *ud, const CleanseReject *j)
{
    Run *r = ud;
    Sb *o = &r->rej;
    const char *src = cleanser_source(r->c);
    safe_text(o, src, strlen(src));
    sb_printf(o, "\t%lld\t", (long long)j->line);
    safe_text(o, j->column, j->column ? strlen(j->column) : 0);
    sb_putc(o, '\t');
    safe_text(o, j->rule, j->rule ? strlen(j->rule) : 0);
    sb_putc(o, '\t');
    safe_text(o, j->reason, strlen(j->reason));
    sb_putc(o, '\t');
    safe_text(o, j->raw, j->raw_len);
    sb_putc(o, '\n');
    if (o->len > (1u << 20)) {
        if (!r->rejf && !(r->rejf = tmpfile()))
            return -1;
        if (fwrite(o->buf, 1, o->len, r->rejf) != o->len)
            return -1;
        sb_reset(o);
    }
    if (r->s->max_rejects >= 0 && cleanser_stats(r->c)->rejected > r->s->max_rejects) {
        r->limit_hit = true;
        return -1;
    }
    return 0;
}

static int load_rejects(Run *r, const char *into)
{
    if (copy_begin(r, arena_sprintf(r->a, "copy %s (source, line, column_name, rule, reason, raw) from stdin", into)) != 0)
        return -1;
    Sb buf = SB_INIT;
    int rc = 0;
    if (r->rejf) {
        rewind(r->rejf);
        char tmp[65536];
        size_t k;
        while (rc == 0 && (k = fread(tmp, 1, sizeof tmp, r->rejf)) > 0) {
            sb_append(&buf, tmp, k);
            rc = send_out(r, &buf);
        }
    }
    if (rc == 0)
        rc = send_out(r, &r->rej);
    sb_free(&buf);
    if (rc != 0) {
        copy_abort(r, "cleanse failed");
        return -1;
    }
    return copy_end(r, NULL);
}

/* ---- input */

static bool cancelled_cb(void *ud) { return exec_cancelled(((Run *)ud)->job->sh); }

typedef struct FileEnt { const char *abs, *label; int64_t size; char sha[65]; bool skip; } FileEnt;

static int list_files(Run *r, FileEnt **out, int *nout)
{
    const char *pat = r->s->path_glob;
    const char *abs = pat[0] == '/' ? pat : arena_sprintf(r->a, "%s/%s", r->root, pat);
    glob_t g;
    int grc = glob(abs, GLOB_ERR, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        *out = NULL;
        *nout = 0;
        return 0;
    }
    if (grc != 0)
        return fail(r, "cleanse model '%s': cannot list input files '%s'", r->n->name, pat);
    FileEnt *f = ARENA_ARRAY(r->a, FileEnt, g.gl_pathc + 1);
    int n = 0;
    size_t rl = strlen(r->root);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct stat st;
        if (stat(g.gl_pathv[i], &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        f[n].abs = arena_strdup(r->a, g.gl_pathv[i]);
        f[n].label = pat[0] != '/' && strncmp(f[n].abs, r->root, rl) == 0 && f[n].abs[rl] == '/'
                         ? f[n].abs + rl + 1 : f[n].abs;
        f[n].size = (int64_t)st.st_size;
        n++;
    }
    globfree(&g);
    *out = f;
    *nout = n;
    return 0;
}

static int file_sha(Run *r, FileEnt *f)
{
    int fd = open(f->abs, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(r, "cannot open %s", f->label);
    if (f->size == 0) {
        sha256_hex("", 0, f->sha);
        close(fd);
        return 0;
    }
    void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return fail(r, "cannot read %s", f->label);
    sha256_hex(m, (size_t)f->size, f->sha);
    munmap(m, (size_t)f->size);
    return 0;
}

static int read_files(Run *r, FileEnt *f, int nf)
{
    for (int i = 0; i < nf; i++) {
        if (f[i].skip)
            continue;
        Diag d = {0};
        if (cleanse_read_file(r->rd, f[i].abs, f[i].label, &d) != 0) {
            if (!r->send_failed && !r->limit_hit)
                fail(r, "%s", d.message ? d.message : "read failed");
            diag_clear(&d);
            return -1;
        }
        diag_clear(&d);
    }
    return 0;
}

typedef struct CopyOutCtx { Run *r; FILE *spool; } CopyOutCtx;

static int on_copy_line(void *ud, const char *line, size_t n)
{
    CopyOutCtx *x = ud;
    if (x->spool)
        return fwrite(line, 1, n, x->spool) == n ? 0 : 1;
    return cleanse_read_copy_line(x->r->rd, line, n) != 0 ? 1 : 0;
}

/* SQL input: bind the query's column names, then stream COPY TO STDOUT. */
static int read_sql(Run *r)
{
    const char *q = r->job->sql;
    if (!q || !*q)
        return fail(r, "cleanse model '%s': no input: give the model a query or an input path", r->n->name);
    PgResult *res = NULL;
    if (exec_sql(r->job, arena_sprintf(r->a, "select * from (\n%s\n) as cdbt_cleanse_input limit 0", q), &res, NULL, 0) != 0)
        return -1;
    Diag d = {0};
    int rc = cleanser_bind_names(r->c, res->colnames, res->ncols, "the model's query", &d);
    pg_result_free(res);
    if (rc != 0) {
        fail(r, "%s", d.message);
        diag_clear(&d);
        return -1;
    }
    /* rejects name the input: the one source/ref the query reads, else "sql" */
    const char *label = "sql";
    if (r->n->nsources == 1 && r->n->nrefs == 0)
        label = arena_sprintf(r->a, "%s.%s", r->n->sources[0].source, r->n->sources[0].table);
    else if (r->n->nrefs == 1 && r->n->nsources == 0)
        label = r->n->refs[0].name;
    cleanser_set_source(r->c, label);
    const char *copy = arena_sprintf(r->a, "copy (\n%s\n) to stdout", q);
    PgConn *c2 = NULL;
    if (r->job->params) {
        Diag cd = {0};
        c2 = pg_connect(r->job->params, &cd);
        if (!c2)
            exec_log(r->job->sh, r->n->unique_id, "second connection failed (%s); spooling", cd.message ? cd.message : "?");
        diag_clear(&cd);
    }
    exec_log(r->job->sh, r->n->unique_id, "SQL (%s):\n%s", c2 ? "second connection" : "spooled", copy);
    sb_printf(&r->job->sent, "%s;\n", copy);
    CopyOutCtx x = {r, NULL};
    if (!c2 && !(x.spool = tmpfile()))
        return fail(r, "cannot create a spool file");
    if (c2 && copy_begin(r, arena_sprintf(r->a, "copy %s from stdin", r->I)) != 0) {
        pg_close(c2);
        return -1;
    }
    rc = pg_copy_out(c2 ? c2 : r->job->conn, copy, on_copy_line, &x, &d);
    if (c2)
        pg_close(c2);
    if (rc != 0) {
        if (x.spool)
            fclose(x.spool);
        if (!r->send_failed && !r->limit_hit)
            fail(r, "%s", d.message ? d.message : "COPY TO STDOUT failed");
        diag_clear(&d);
        return -1;
    }
    diag_clear(&d);
    if (!x.spool)
        return 0;
    /* spooled: the input COPY had to finish before our COPY IN could start */
    rewind(x.spool);
    if (copy_begin(r, arena_sprintf(r->a, "copy %s from stdin", r->I)) != 0) {
        fclose(x.spool);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t k;
    rc = 0;
    while (rc == 0 && (k = getline(&line, &cap, x.spool)) > 0)
        rc = cleanse_read_copy_line(r->rd, line, (size_t)k);
    free(line);
    fclose(x.spool);
    if (rc != 0 && !r->send_failed && !r->limit_hit)
        fail(r, "cleanse failed");
    return rc;
}

/* ---- main */

static void set_extra(Run *r)
{
    const CleanseStats *st = cleanser_stats(r->c);
    Sb e = SB_INIT;
    sb_printf(&e, "in=%lld out=%lld rejected=%lld", (long long)st->in, (long long)st->out, (long long)st->rejected);
    if (st->dups)
        sb_printf(&e, " dup=%lld", (long long)st->dups);
    if (st->skipped)
        sb_printf(&e, " skipped=%lld", (long long)st->skipped);
    free(r->job->console_extra);
    r->job->console_extra = sb_detach(&e);
}

static const char *col_list(Run *r, bool with_types)
{
    Sb s = SB_INIT;
    for (int i = 0; i < r->s->ncols; i++) {
        if (i)
            sb_puts(&s, ", ");
        pg_quote_ident(&s, r->s->cols[i].name);
        if (with_types)
            sb_printf(&s, " %s", r->s->cols[i].sql_type);
    }
    const char *o = arena_strdup(r->a, sb_cstr(&s));
    sb_free(&s);
    return o;
}

static int run_hooks(Run *r, bool pre, bool inside)
{
    NodeJob *j = r->job;
    int n = pre ? j->npre : j->npost;
    for (int i = 0; i < n; i++) {
        bool in = pre ? j->pre_in_txn[i] : j->post_in_txn[i];
        if (in != inside)
            continue;
        if (sql(r, pre ? j->pre_hooks[i] : j->post_hooks[i]) != 0)
            return -1;
    }
    return 0;
}

static int begin(Run *r)
{
    Diag d = {0};
    exec_log(r->job->sh, r->n->unique_id, "BEGIN");
    if (pg_begin(r->job->conn, &d) != 0) {
        fail(r, "%s", d.message ? d.message : "BEGIN failed");
        diag_clear(&d);
        return -1;
    }
    return 0;
}

static int commit(Run *r)
{
    Diag d = {0};
    exec_log(r->job->sh, r->n->unique_id, "COMMIT");
    if (pg_commit(r->job->conn, &d) != 0) {
        fail(r, "%s", d.message ? d.message : "COMMIT failed");
        diag_clear(&d);
        return -1;
    }
    return 0;
}

static const char *kind_word(RelType t) { return t == REL_VIEW ? "view" : t == REL_MATVIEW ? "materialized view" : "table"; }

static int drop_if(Run *r, const char *ident_, const char *q)
{
    RelType t = relcache_get(r->job->rc, r->schema, ident_);
    if (t == REL_NONE)
        return 0;
    return sqlf(r, "drop %s if exists %s cascade", kind_word(t), q);
}

static const char *key_match(Run *r, const char *a, const char *b)
{
    Sb s = SB_INIT;
    for (int i = 0; i < r->s->nkey; i++) {
        if (i)
            sb_puts(&s, " and ");
        Sb q = SB_INIT;
        pg_quote_ident(&q, r->s->cols[r->s->key_cols[i]].name);
        sb_printf(&s, "%s.%s is not distinct from %s.%s", a, sb_cstr(&q), b, sb_cstr(&q));
        sb_free(&q);
    }
    const char *o = arena_strdup(r->a, sb_cstr(&s));
    sb_free(&s);
    return o;
}

/* After a failure on a reject limit (transaction rolled back, the model's
 * table untouched): replace <alias>__rejects with this attempt's rejects in
 * a transaction of its own, so the user can see why.  job->err is kept. */
static void publish_rejects(Run *r)
{
    NodeJob *job = r->job;
    Diag saved = job->err;
    memset(&job->err, 0, sizeof job->err);
    RelType rex = relcache_get(job->rc, r->schema, r->iR);
    Sb q = SB_INIT;
    int rc = begin(r);
    if (rc == 0)
        rc = sqlf(r, "drop table if exists %s", r->RI);
    if (rc == 0)
        rc = sqlf(r, "create table %s (source text, line bigint, column_name text, rule text, reason text, raw text)", r->RI);
    if (rc == 0)
        rc = load_rejects(r, r->RI);
    if (rc == 0 && rex != REL_NONE)
        rc = sqlf(r, "drop %s if exists %s cascade", kind_word(rex), r->R);
    if (rc == 0) {
        pg_quote_ident(&q, r->iR);
        rc = sqlf(r, "alter table %s rename to %s", r->RI, sb_cstr(&q));
    }
    if (rc == 0)
        rc = commit(r);
    sb_free(&q);
    if (rc == 0) {
        relcache_set(job->rc, r->schema, r->iR, REL_TABLE);
    } else {
        copy_abort(r, "cleanse failed");
        if (pg_in_transaction(job->conn))
            pg_rollback(job->conn);
        exec_log(job->sh, r->n->unique_id, "could not publish the rejects: %s", job->err.message ? job->err.message : "?");
    }
    diag_clear(&job->err);
    job->err = saved;
}

int mat_cleanse(NodeJob *job)
{
    Run run = {0}, *r = &run;
    r->job = job;
    r->n = job->node;
    r->a = &job->arena;
    int rc = -1;
    FileEnt *files = NULL;
    int nfiles = 0;
    Node *n = r->n;

    /* project root: abs_path minus original_file_path */
    if (n->root_path) {
        r->root = n->root_path;
    } else if (n->abs_path && n->original_file_path) {
        size_t al = strlen(n->abs_path), ol = strlen(n->original_file_path);
        r->root = al > ol + 1 ? arena_strndup(r->a, n->abs_path, al - ol - 1) : ".";
    } else {
        r->root = ".";
    }
    r->s = cleanse_spec_for_node(r->a, n, r->root, &job->err);
    if (!r->s)
        goto out;
    r->schema = n->schema;
    r->alias = n->alias ? n->alias : n->name;
    r->iI = ident(r, r->alias, "__dbt_tmp");
    r->iB = ident(r, r->alias, "__dbt_backup");
    r->iR = ident(r, r->alias, "__rejects");
    r->iRI = ident(r, r->iR, "__dbt_tmp");
    r->iRB = ident(r, r->iR, "__dbt_backup");
    r->iF = ident(r, r->alias, "__cleanse_files");
    r->T = qual(r, r->alias);
    r->I = qual(r, r->iI);
    r->B = qual(r, r->iB);
    r->R = qual(r, r->iR);
    r->RI = qual(r, r->iRI);
    r->RB = qual(r, r->iRB);
    r->F = qual(r, r->iF);

    RelType existing = relcache_get(job->rc, r->schema, r->alias);
    bool full = job->full_refresh || exec_cfg_bool(n, "full_refresh", false);
    bool incremental = (r->s->incr_files || r->s->watermark) && existing == REL_TABLE && !full;

    r->c = cleanser_new(r->s, on_reject, r);
    r->rd = cleanse_reader_new(r->c, &r->out, CHUNK, send_out, r);
    cleanse_reader_set_cancel(r->rd, cancelled_cb, r);

    if (r->s->format != CF_SQL) {
        if (list_files(r, &files, &nfiles) != 0)
            goto out;
        if (nfiles == 0 && !incremental) {
            fail(r, "cleanse model '%s': input path '%s' matches no file", n->name, r->s->path_glob);
            goto out;
        }
    }

    if (run_hooks(r, true, false) != 0 || begin(r) != 0 || run_hooks(r, true, true) != 0)
        goto out;

    if (incremental && r->s->incr_files) {
        if (sqlf(r, "create table if not exists %s (path text, size bigint, sha256 text, loaded_at timestamptz default now())", r->F) != 0)
            goto out;
        PgResult *res = NULL;
        if (exec_sql(job, arena_sprintf(r->a, "select path, size::text, sha256 from %s", r->F), &res, NULL, 0) != 0)
            goto out;
        for (int i = 0; i < nfiles; i++) {
            if (file_sha(r, &files[i]) != 0) {
                pg_result_free(res);
                goto out;
            }
            for (int k = 0; k < res->nrows; k++)
                if (res->rows[k][0] && strcmp(res->rows[k][0], files[i].label) == 0 && res->rows[k][1] &&
                    strtoll(res->rows[k][1], NULL, 10) == files[i].size && res->rows[k][2] &&
                    strcmp(res->rows[k][2], files[i].sha) == 0)
                    files[i].skip = true;
        }
        pg_result_free(res);
    }
    if (incremental && r->s->watermark) {
        PgResult *res = NULL;
        Sb q = SB_INIT;
        pg_quote_ident(&q, r->s->watermark);
        if (exec_sql(job, arena_sprintf(r->a, "select max(%s)::text from %s", sb_cstr(&q), r->T), &res, NULL, 0) != 0) {
            sb_free(&q);
            goto out;
        }
        sb_free(&q);
        if (res->nrows == 1 && res->rows[0][0])
            cleanser_set_watermark(r->c, res->rows[0][0]);
        pg_result_free(res);
    }

    if (drop_if(r, r->iI, r->I) != 0 || drop_if(r, r->iB, r->B) != 0 || drop_if(r, r->iRI, r->RI) != 0 ||
        drop_if(r, r->iRB, r->RB) != 0)
        goto out;
    if (sqlf(r, "create table %s (%s)", r->I, col_list(r, true)) != 0)
        goto out;

    /* stream */
    int64_t copied = 0;
    if (r->s->format == CF_SQL) {
        if (read_sql(r) != 0)
            goto copy_failed;
    } else {
        if (copy_begin(r, arena_sprintf(r->a, "copy %s from stdin", r->I)) != 0)
            goto out;
        if (read_files(r, files, nfiles) != 0)
            goto copy_failed;
    }
    if (cleanser_finish(r->c, &r->out, CHUNK, send_out, r) != 0 || send_out(r, &r->out) != 0)
        goto copy_failed;
    if (copy_end(r, &copied) != 0)
        goto out;
    set_extra(r);

    const CleanseStats *st = cleanser_stats(r->c);
    if (r->s->max_reject_ratio >= 0 && st->in > 0 && (double)st->rejected / (double)st->in > r->s->max_reject_ratio) {
        r->keep_rejects = true;
        fail(r, "cleanse model '%s': %lld of %lld rows rejected (%.2f%%), more than max_reject_ratio %g; see %s",
             n->name, (long long)st->rejected, (long long)st->in, 100.0 * (double)st->rejected / (double)st->in,
             r->s->max_reject_ratio, r->R);
        goto out;
    }

    /* rejects */
    const char *rej_cols = "source text, line bigint, column_name text, rule text, reason text, raw text";
    if (incremental) {
        if (sqlf(r, "create table if not exists %s (%s)", r->R, rej_cols) != 0 || load_rejects(r, r->R) != 0)
            goto out;
        if (r->s->nkey) {
            if (sqlf(r, "delete from %s as t using %s as s where %s", r->T, r->I, key_match(r, "t", "s")) != 0)
                goto out;
        }
        const char *cl = col_list(r, false);
        if (sqlf(r, "insert into %s (%s) select %s from %s", r->T, cl, cl, r->I) != 0 ||
            sqlf(r, "drop table %s", r->I) != 0)
            goto out;
        for (int i = 0; r->s->incr_files && i < nfiles; i++) {
            if (files[i].skip)
                continue;
            Sb q = SB_INIT;
            sb_printf(&q, "insert into %s (path, size, sha256) values (", r->F);
            pg_quote_literal(&q, files[i].label);
            sb_printf(&q, ", %lld, '%s')", (long long)files[i].size, files[i].sha);
            int qrc = sql(r, sb_cstr(&q));
            sb_free(&q);
            if (qrc != 0)
                goto out;
        }
    } else {
        if (sqlf(r, "create table %s (%s)", r->RI, rej_cols) != 0 || load_rejects(r, r->RI) != 0)
            goto out;
        if (existing != REL_NONE &&
            sqlf(r, "alter %s %s rename to %s", kind_word(existing), r->T, r->iB) != 0)
            goto out;
        Sb q = SB_INIT;
        pg_quote_ident(&q, r->alias);
        int qrc = sqlf(r, "alter table %s rename to %s", r->I, sb_cstr(&q));
        sb_reset(&q);
        RelType rex = relcache_get(job->rc, r->schema, r->iR);
        if (qrc == 0 && rex != REL_NONE) {
            pg_quote_ident(&q, r->iRB);
            qrc = sqlf(r, "alter %s %s rename to %s", kind_word(rex), r->R, sb_cstr(&q));
            sb_reset(&q);
        }
        if (qrc == 0) {
            pg_quote_ident(&q, r->iR);
            qrc = sqlf(r, "alter table %s rename to %s", r->RI, sb_cstr(&q));
        }
        sb_free(&q);
        if (qrc != 0)
            goto out;
        if (r->s->incr_files) {       /* full refresh: restart the file bookkeeping */
            if (sqlf(r, "drop table if exists %s", r->F) != 0 ||
                sqlf(r, "create table %s (path text, size bigint, sha256 text, loaded_at timestamptz default now())", r->F) != 0)
                goto out;
            for (int i = 0; i < nfiles; i++) {
                if (file_sha(r, &files[i]) != 0)
                    goto out;
                Sb ins = SB_INIT;
                sb_printf(&ins, "insert into %s (path, size, sha256) values (", r->F);
                pg_quote_literal(&ins, files[i].label);
                sb_printf(&ins, ", %lld, '%s')", (long long)files[i].size, files[i].sha);
                int irc = sql(r, sb_cstr(&ins));
                sb_free(&ins);
                if (irc != 0)
                    goto out;
            }
        }
        if (run_hooks(r, false, true) != 0)
            goto out;
        if (existing != REL_NONE && sqlf(r, "drop %s if exists %s cascade", kind_word(existing), r->B) != 0)
            goto out;
        if (rex != REL_NONE && sqlf(r, "drop %s if exists %s cascade", kind_word(rex), r->RB) != 0)
            goto out;
    }
    if (incremental && run_hooks(r, false, true) != 0)
        goto out;
    if (commit(r) != 0)
        goto out;
    relcache_set(job->rc, r->schema, r->alias, REL_TABLE);
    relcache_set(job->rc, r->schema, r->iR, REL_TABLE);
    relcache_set(job->rc, r->schema, r->iI, REL_NONE);
    relcache_set(job->rc, r->schema, r->iB, REL_NONE);
    relcache_set(job->rc, r->schema, r->iRI, REL_NONE);
    relcache_set(job->rc, r->schema, r->iRB, REL_NONE);
    if (r->s->incr_files)
        relcache_set(job->rc, r->schema, r->iF, REL_TABLE);
    if (run_hooks(r, false, false) != 0)
        goto out;
    job->status = NS_SUCCESS;
    job->rows_affected = st->out;
    job->adapter_code = "COPY";
    job->message = arena_sprintf(r->a, "COPY %lld", (long long)st->out);
    job->adapter_message = job->message;
    rc = 0;
    goto out;

copy_failed:
    if (r->limit_hit) {
        r->keep_rejects = true;
        fail(r, "cleanse model '%s': more than max_rejects=%lld rows rejected; see %s", n->name,
             (long long)r->s->max_rejects, r->R);
    }
    else if (!job->err.set)
        fail(r, "cleanse model '%s': reading the input failed", n->name);
    copy_abort(r, job->err.message ? job->err.message : "cleanse failed");
out:
    if (rc != 0) {
        copy_abort(r, "cleanse failed");
        if (pg_in_transaction(job->conn)) {
            exec_log(job->sh, n->unique_id, "ROLLBACK");
            pg_rollback(job->conn);
        }
        if (r->c)
            set_extra(r);
        if (!job->err.set)
            fail(r, "cleanse failed");
        if (r->keep_rejects && !exec_cancelled(job->sh))
            publish_rejects(r);
        job->status = NS_ERROR;
    }
    cleanse_reader_free(r->rd);
    cleanser_free(r->c);
    cleanse_spec_free(r->s);
    sb_free(&r->out);
    sb_free(&r->rej);
    if (r->rejf)
        fclose(r->rejf);
    return rc;
}
