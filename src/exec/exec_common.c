/* exec_common.c - what every executor shares: the run-wide ExecShared (log
 * file, cancel flag, target dir, --warn-error, registered external
 * executors), exec_sql (log, record, cancel check, error position mapped to
 * the compiled SQL), node config accessors and the materialization lookup.
 *
 * Leaves the statements themselves to the mat_*.c files, connections and
 * transactions to pg.c, scheduling and printing to the runner. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "exec.h"
#include "exec_pipe.h"
#include "../base/clock.h"

#define EXEC_MAX_EXTERNAL 8

struct ExecShared {
    FILE *log;
    atomic_bool cancel;
    bool warn_error;
    char *target_dir;
    char *qc_profile, *qc_target;    /* query comment, NULL = off */
    struct { char *name; MatFn fn; } ext[EXEC_MAX_EXTERNAL];
    int next;
};

ExecShared *exec_shared_new(FILE *log)
{
    ExecShared *sh = xcalloc(1, sizeof *sh);
    sh->log = log;
    atomic_init(&sh->cancel, false);
    sh->target_dir = xstrdup("target");
    return sh;
}

void exec_shared_free(ExecShared *sh)
{
    if (!sh)
        return;
    free(sh->target_dir);
    free(sh->qc_profile);
    free(sh->qc_target);
    for (int i = 0; i < sh->next; i++)
        free(sh->ext[i].name);
    free(sh);
}

void exec_shared_cancel(ExecShared *sh)
{
    if (sh)
        atomic_store(&sh->cancel, true);
}

bool exec_cancelled(const ExecShared *sh)
{
    return sh && atomic_load(&((ExecShared *)sh)->cancel);
}

void exec_shared_set_target_dir(ExecShared *sh, const char *dir)
{
    free(sh->target_dir);
    sh->target_dir = xstrdup(dir ? dir : "target");
}

const char *exec_shared_target_dir(const ExecShared *sh) { return sh ? sh->target_dir : "target"; }
void exec_shared_set_warn_error(ExecShared *sh, bool on) { sh->warn_error = on; }
bool exec_shared_warn_error(const ExecShared *sh) { return sh && sh->warn_error; }

void exec_shared_set_query_comment(ExecShared *sh, const char *profile, const char *target)
{
    free(sh->qc_profile);
    free(sh->qc_target);
    sh->qc_profile = xstrdup(profile ? profile : "");
    sh->qc_target = xstrdup(target ? target : "");
}

/* A JSON string with "*" + "/" broken up so the comment cannot end early. */
static void qc_str(Sb *s, const char *z)
{
    sb_putc(s, '"');
    for (const char *p = z ? z : ""; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_printf(s, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            sb_printf(s, "\\u%04x", (unsigned char)*p);
        else if (*p == '*' && p[1] == '/')
            sb_puts(s, "\\u002a");
        else
            sb_putc(s, *p);
    }
    sb_putc(s, '"');
}

/* The comment line for job's node (empty when off). */
static void query_comment(const NodeJob *job, Sb *out)
{
    const ExecShared *sh = job->sh;
    if (!sh || !sh->qc_profile)
        return;
    sb_puts(out, "/* {\"app\": \"cdbt\", \"dbt_version\": ");
    qc_str(out, CDBT_VERSION);
    sb_puts(out, ", \"profile_name\": ");
    qc_str(out, sh->qc_profile);
    sb_puts(out, ", \"target_name\": ");
    qc_str(out, sh->qc_target);
    sb_puts(out, ", \"node_id\": ");
    qc_str(out, job->node && job->node->unique_id ? job->node->unique_id : "");
    sb_puts(out, "} */\n");
}

void exec_shared_register(ExecShared *sh, const char *materialization, MatFn fn)
{
    for (int i = 0; i < sh->next; i++)
        if (strcmp(sh->ext[i].name, materialization) == 0) {
            sh->ext[i].fn = fn;
            return;
        }
    if (sh->next < EXEC_MAX_EXTERNAL) {
        sh->ext[sh->next].name = xstrdup(materialization);
        sh->ext[sh->next].fn = fn;
        sh->next++;
    }
}

static MatFn registered(const ExecShared *sh, const char *name)
{
    if (!sh)
        return NULL;
    for (int i = 0; i < sh->next; i++)
        if (strcmp(sh->ext[i].name, name) == 0)
            return sh->ext[i].fn;
    return NULL;
}

/* ---------------------------------------------------------------- log */

static void log_stamp(char *buf, size_t cap) { clock_iso_now(buf, cap); }

void exec_log(ExecShared *sh, const char *who, const char *fmt, ...)
{
    if (!sh || !sh->log)
        return;
    char stamp[48];
    log_stamp(stamp, sizeof stamp);
    Sb line = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&line, fmt, ap);
    va_end(ap);
    /* One fprintf per line: stdio locks the stream, so lines from several
     * threads never interleave.  No flush per line (a write(2) each): the
     * owner of the FILE flushes it (the runner, periodically, and at close). */
    fprintf(sh->log, "%s [%s] %s\n", stamp, who ? who : "-", sb_cstr(&line));
    sb_free(&line);
}

/* ---------------------------------------------------------------- exec_sql */

/* Byte offset of the 1-based character position pos in s (UTF-8, as the
 * server counts), clamped to the string. */
static size_t char_pos_to_byte(const char *s, int pos)
{
    size_t b = 0;
    int chars = 0;
    while (s[b]) {
        if (((unsigned char)s[b] & 0xC0) != 0x80) {
            if (++chars == pos)
                return b;
        }
        b++;
    }
    return b;
}

static const char *job_who(const NodeJob *job)
{
    return job->node && job->node->unique_id ? job->node->unique_id : "-";
}

/* Fill job->err from the failed statement. */
/* A statement that failed because of Ctrl-C says so in its message. */
static void mark_cancelled(NodeJob *job)
{
    if (!exec_cancelled(job->sh) || !job->err.message)
        return;
    char *m = job->err.message;
    Sb s = SB_INIT;
    sb_printf(&s, "cancelled: %s", m);
    free(m);
    job->err.message = sb_detach(&s);
}

static void sql_error(NodeJob *job, const char *stmt, int prefix_chars, const Diag *pgd)
{
    const PgError *pe = job->conn ? pg_last_error(job->conn) : NULL;
    const char *msg = pe && pe->message && *pe->message ? pe->message
                    : (pgd->message ? pgd->message : "database error");
    Node *n = job->node;
    const char *ofp = n && n->original_file_path ? n->original_file_path : NULL;
    diag_clear(&job->err);
    bool placed = false;
    if (pe && pe->position > prefix_chars) {
        size_t b = char_pos_to_byte(stmt, pe->position - prefix_chars);
        const char *code = job->sql;
        const char *at = code && *code ? strstr(stmt, code) : NULL;
        size_t off = at ? (size_t)(at - stmt) : 0;
        if (at && b >= off && b <= off + strlen(code)) {
            /* Inside the compiled code: point into target/compiled/... (the
             * file whose lines these are), else "<model path> (compiled)". */
            char *path = n && n->compiled_path ? xstrdup(n->compiled_path)
                       : NULL;
            if (!path) {
                Sb p = SB_INIT;
                sb_printf(&p, "%s (compiled)", ofp ? ofp : "<sql>");
                path = sb_detach(&p);
            }
            SrcFile f;
            srcfile_init(&f, path, code, strlen(code));
            diag_at(&job->err, &f, b - off, "%s", msg);
            srcfile_free(&f);
            free(path);
            if (ofp)
                diag_note(&job->err, "note: compiled from %s", ofp);
            placed = true;
        } else {
            /* In the statement cdbt wrapped around the code. */
            SrcFile f;
            srcfile_init(&f, "statement", stmt, strlen(stmt));
            int line, col;
            srcfile_linecol(&f, b, &line, &col);
            size_t ll;
            const char *lp = srcfile_line(&f, line, &ll);
            diag_set(&job->err, ofp, 0, 0, NULL, "%s", msg);
            diag_note(&job->err, "note: at line %d, column %d of the statement sent:", line, col);
            if (lp) {
                diag_note(&job->err, "%5d | %.*s", line, (int)ll, lp);
                Sb caret = SB_INIT;
                for (int i = 1; i < col && (size_t)(i - 1) < ll; i++)
                    sb_putc(&caret, lp[i - 1] == '\t' ? '\t' : ' ');
                diag_note(&job->err, "      | %s^", sb_cstr(&caret));
                sb_free(&caret);
            }
            srcfile_free(&f);
            placed = true;
        }
    }
    if (!placed)
        diag_set(&job->err, ofp, 0, 0, NULL, "%s", msg);
    if (pe && pe->detail && *pe->detail)
        diag_note(&job->err, "detail: %s", pe->detail);
    if (pe && pe->hint && *pe->hint)
        diag_note(&job->err, "hint: %s", pe->hint);
}

/* target/run: statements joined with ";\n" (no doubled ';'). */
static void record_sent(NodeJob *job, const char *sql)
{
    sb_puts(&job->sent, sql);
    size_t e = strlen(sql);
    while (e > 0 && (sql[e - 1] == ' ' || sql[e - 1] == '\n' || sql[e - 1] == '\t' || sql[e - 1] == '\r'))
        e--;
    if (e == 0 || sql[e - 1] != ';')
        sb_putc(&job->sent, ';');
    sb_putc(&job->sent, '\n');
}

int exec_sql(NodeJob *job, const char *sql, PgResult **res, char *tag, size_t tag_cap)
{
    if (res)
        *res = NULL;
    if (!job->conn) {
        diag_set(&job->err, job->node ? job->node->original_file_path : NULL, 0, 0, NULL,
                 "no database connection");
        return -1;
    }
    if (exec_cancelled(job->sh)) {
        diag_clear(&job->err);
        diag_set(&job->err, job->node ? job->node->original_file_path : NULL, 0, 0, NULL,
                 "cancelled");
        return -1;
    }
    record_sent(job, sql);

    exec_log(job->sh, job_who(job), "SQL:\n%s", sql);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Diag d = {0};
    char tbuf[64];
    char *tb = tag ? tag : tbuf;
    size_t tcap = tag ? tag_cap : sizeof tbuf;
    if (tcap)
        tb[0] = '\0';
    Sb with = SB_INIT;
    query_comment(job, &with);
    int prefix_chars = 0;
    for (size_t i = 0; i < with.len; i++)
        if (((unsigned char)with.buf[i] & 0xC0) != 0x80)
            prefix_chars++;
    if (with.len)
        sb_puts(&with, sql);
    int rc = pg_exec(job->conn, with.len ? sb_cstr(&with) : sql, res, tb, tcap, &d);
    sb_free(&with);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc != 0) {
        sql_error(job, sql, prefix_chars, &d);
        exec_log(job->sh, job_who(job), "ERROR in %.3fs: %s", secs,
                 job->err.message ? job->err.message : "?");
        mark_cancelled(job);
    } else {
        exec_log(job->sh, job_who(job), "OK %s in %.3fs", tcap ? tb : "", secs);
    }
    diag_clear(&d);
    return rc;
}

int exec_sql_pipeline(NodeJob *job, ExecPipeItem *items, int n, int *failed)
{
    *failed = n;
    for (int i = 0; i < n; i++)
        if (items[i].tag && items[i].tag_cap)
            items[i].tag[0] = '\0';
    if (n == 0)
        return 0;
    const char *who = job_who(job);
    if (!job->conn || exec_cancelled(job->sh)) {
        *failed = 0;
        diag_clear(&job->err);
        diag_set(&job->err, job->node ? job->node->original_file_path : NULL, 0, 0, NULL, "%s",
                 job->conn ? "cancelled" : "no database connection");
        return -1;
    }
    Sb comment = SB_INIT;
    query_comment(job, &comment);
    int prefix_chars = 0;
    for (size_t i = 0; i < comment.len; i++)
        if (((unsigned char)comment.buf[i] & 0xC0) != 0x80)
            prefix_chars++;
    PgPipeItem stack[16];
    PgPipeItem *pi = n <= 16 ? stack : xcalloc((size_t)n, sizeof *pi);
    Sb texts = SB_INIT;                /* commented statements, NUL-separated */
    size_t *offs = xcalloc((size_t)n, sizeof *offs);
    for (int i = 0; i < n; i++) {
        offs[i] = texts.len;
        if (items[i].record && comment.len)
            sb_append(&texts, comment.buf, comment.len);
        sb_append(&texts, items[i].sql, strlen(items[i].sql) + 1);
        if (items[i].record)
            exec_log(job->sh, who, "SQL [pipeline %d/%d]:\n%s", i + 1, n, items[i].sql);
        else
            exec_log(job->sh, who, "%s [pipeline %d/%d]", items[i].sql, i + 1, n);
    }
    for (int i = 0; i < n; i++)
        pi[i].sql = texts.buf + offs[i];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double prev = (double)t0.tv_sec + (double)t0.tv_nsec / 1e9;
    Diag d = {0};
    int rc = pg_exec_pipeline(job->conn, pi, n, &d);
    for (int i = 0; i < n; i++) {
        ExecPipeItem *it = &items[i];
        if (pi[i].status == 1) {
            exec_log(job->sh, who, "not executed [pipeline %d/%d]: an earlier statement failed", i + 1, n);
            continue;
        }
        if (it->record)
            record_sent(job, it->sql);
        double secs = pi[i].done_at > prev ? pi[i].done_at - prev : 0.0;
        if (pi[i].done_at > prev)
            prev = pi[i].done_at;
        if (pi[i].status == 0) {
            if (it->tag && it->tag_cap)
                snprintf(it->tag, it->tag_cap, "%s", pi[i].tag);
            if (it->record)
                exec_log(job->sh, who, "OK %s in %.3fs [pipeline %d/%d]", pi[i].tag, secs, i + 1, n);
            continue;
        }
        if (*failed != n) {            /* a second failure (not expected): the first one is reported */
            exec_log(job->sh, who, "ERROR in %.3fs [pipeline %d/%d]", secs, i + 1, n);
            continue;
        }
        *failed = i;
        sql_error(job, it->sql, it->record ? prefix_chars : 0, &d);
        exec_log(job->sh, who, "ERROR in %.3fs [pipeline %d/%d]: %s", secs, i + 1, n,
                 job->err.message ? job->err.message : "?");
        mark_cancelled(job);
    }
    /* rc != 0 with every statement answered (the connection died before
     * the Sync): *failed stays n, nothing is known to have failed */
    if (rc != 0 && !job->err.set) {
        diag_set(&job->err, job->node ? job->node->original_file_path : NULL, 0, 0, NULL, "%s",
                 d.message ? d.message : "pipeline failed");
    }
    diag_clear(&d);
    free(offs);
    sb_free(&texts);
    sb_free(&comment);
    if (pi != stack)
        free(pi);
    return rc;
}

/* ---------------------------------------------------------------- config */

Value *exec_cfg(Node *n, const char *key)
{
    if (!n || !n->config)
        return NULL;
    return dict_getz(n->config, key);
}

const char *exec_cfg_str(Node *n, const char *key)
{
    Value *v = exec_cfg(n, key);
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

bool exec_cfg_bool(Node *n, const char *key, bool dflt)
{
    Value *v = exec_cfg(n, key);
    if (!v || v->type == V_NONE || v->type == V_UNDEF)
        return dflt;
    if (v->type == V_STR) {
        const char *s = v->u.s->s;
        if (strcasecmp(s, "true") == 0)
            return true;
        if (strcasecmp(s, "false") == 0 || !*s)
            return false;
    }
    return value_truthy(*v);
}

/* ---------------------------------------------------------------- dispatch */

static int run_registered(NodeJob *job, const char *name)
{
    MatFn fn = registered(job->sh, name);
    if (fn)
        return fn(job);
    job->status = NS_ERROR;
    diag_set(&job->err, job->node ? job->node->original_file_path : NULL, 0, 0, NULL,
             "%s executor not built (none registered for materialization '%s')", name, name);
    return -1;
}

/* Seeds: mat_seed.c, unless another executor was registered for "seed". */
static int dispatch_seed(NodeJob *job)
{
    MatFn fn = registered(job->sh, "seed");
    return fn ? fn(job) : mat_seed(job);
}
static int dispatch_cleanse(NodeJob *job) { return run_registered(job, "cleanse"); }

MatFn exec_materialization(Node *n, Diag *err)
{
    const char *m = NULL;
    switch (n->rt) {
    case RT_SEED:
        return dispatch_seed;
    case RT_TEST:
        return mat_test;
    case RT_UNIT_TEST:
        return mat_unit;
    case RT_SNAPSHOT:
        return mat_snapshot;
    case RT_MODEL:
        m = exec_cfg_str(n, "materialized");
        if (!m)
            m = "view";
        if (strcmp(m, "view") == 0)
            return mat_view;
        if (strcmp(m, "table") == 0)
            return mat_table;
        if (strcmp(m, "incremental") == 0)
            return mat_incremental;
        if (strcmp(m, "cleanse") == 0)
            return dispatch_cleanse;
        if (strcmp(m, "materialized_view") == 0)
            return mat_matview;
        if (strcmp(m, "ephemeral") == 0) {
            diag_set(err, n->original_file_path, 0, 0, NULL,
                     "ephemeral model '%s' is not executed (it is inlined as a CTE)", n->name);
            return NULL;
        }
        break;
    default:
        diag_set(err, n->original_file_path, 0, 0, NULL,
                 "%s is not an executable node", n->unique_id ? n->unique_id : "node");
        return NULL;
    }
    diag_set(err, n->original_file_path, 0, 0, NULL,
             "No materialization '%s' was found for adapter postgres! "
             "(searched types 'default' and 'postgres')", m);
    return NULL;
}
