/* matu.c - shared pieces of the materializations (§6.2): relation naming
 * with the 63-character rule, drop / rename / create statements, transaction
 * points with relation-cache undo, hooks, grants, indexes and run-result
 * fields.  The statement order of each materialization is decided by its own
 * mat_*.c file; the connection layer is pg.c. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "../base/hash.h"
#include "matu.h"

/* ---------------------------------------------------------------- names */

static void put_part(Sb *out, const char *s, bool quote)
{
    if (!quote) {
        sb_puts(out, s);
        return;
    }
    sb_putc(out, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            sb_putc(out, '"');
        sb_putc(out, *p);
    }
    sb_putc(out, '"');
}

void matu_render(Arena *a, MRel *r)
{
    Sb s = SB_INIT;
    if (r->temp) {
        put_part(&s, r->identifier, r->quote[2]);
    } else {
        const char *parts[3] = {r->database, r->schema, r->identifier};
        bool first = true;
        for (int i = 0; i < 3; i++) {
            if (!parts[i] || !*parts[i])
                continue;
            if (!first)
                sb_putc(&s, '.');
            put_part(&s, parts[i], r->quote[i]);
            first = false;
        }
    }
    r->sql = arena_strndup(a, sb_cstr(&s), s.len);
    sb_free(&s);
}

/* Split a rendered relation name `"db"."schema"."ident"` (parts quoted or
 * not) into parts.  Returns the number of parts (0 on a malformed name). */
static int split_relation(Arena *a, const char *s, const char **parts, bool *quoted)
{
    int np = 0;
    const char *p = s;
    while (*p && np < 3) {
        Sb part = SB_INIT;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) {
                    sb_free(&part);
                    return 0;
                }
                if (*p == '"') {
                    if (p[1] == '"') {
                        sb_putc(&part, '"');
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                sb_putc(&part, *p++);
            }
            quoted[np] = true;
        } else {
            while (*p && *p != '.')
                sb_putc(&part, *p++);
            quoted[np] = false;
        }
        parts[np++] = arena_strndup(a, sb_cstr(&part), part.len);
        sb_free(&part);
        if (*p == '.')
            p++;
        else
            break;
    }
    return *p ? 0 : np;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Byte length of the first k characters of s. */
static size_t utf8_prefix(const char *s, size_t k)
{
    size_t b = 0, c = 0;
    while (s[b]) {
        if (((unsigned char)s[b] & 0xC0) != 0x80) {
            if (c == k)
                break;
            c++;
        }
        b++;
    }
    return b;
}

void matu_error(MatCtx *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Sb s = SB_INIT;
    sb_vprintf(&s, fmt, ap);
    va_end(ap);
    diag_set(&m->job->err, m->n->original_file_path, 0, 0, NULL, "%s", sb_cstr(&s));
    sb_free(&s);
}

static const char *rt_word(ResourceType rt)
{
    switch (rt) {
    case RT_TEST: return "test";
    case RT_UNIT_TEST: return "unit_test";
    case RT_SEED: return "seed";
    case RT_SNAPSHOT: return "snapshot";
    default: return "model";
    }
}

void matu_error_kind(MatCtx *m, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Sb body = SB_INIT, s = SB_INIT;
    sb_vprintf(&body, fmt, ap);
    va_end(ap);
    sb_printf(&s, "%s in %s %s (%s)\n  ", kind, rt_word(m->n->rt), m->n->name ? m->n->name : "?",
              m->n->original_file_path ? m->n->original_file_path : "");
    for (const char *p = sb_cstr(&body); *p; p++) {
        sb_putc(&s, *p);
        if (*p == '\n')
            sb_puts(&s, "  ");
    }
    diag_set(&m->job->err, m->n->original_file_path, 0, 0, NULL, "%s", sb_cstr(&s));
    sb_free(&body);
    sb_free(&s);
}

static const char *catalog_name(Arena *a, const char *s, bool quoted);

int matu_init(MatCtx *m, NodeJob *job)
{
    memset(m, 0, sizeof *m);
    m->job = job;
    m->n = job->node;
    m->a = &job->arena;
    Node *n = job->node;
    MRel *T = &m->T;
    const char *parts[3] = {0};
    bool quoted[3] = {true, true, true};
    int np = n->relation_name ? split_relation(m->a, n->relation_name, parts, quoted) : 0;
    if (np == 3) {
        T->database = parts[0];
        T->schema = parts[1];
        T->identifier = parts[2];
    } else if (np == 2) {
        T->schema = parts[0];
        T->identifier = parts[1];
        quoted[2] = quoted[1];
        quoted[1] = quoted[0];
    } else {
        T->database = n->database;
        T->schema = n->schema;
        T->identifier = n->alias ? n->alias : n->name;
        quoted[0] = quoted[1] = quoted[2] = true;
    }
    for (int i = 0; i < 3; i++)
        T->quote[i] = quoted[i];
    matu_render(m->a, T);
    if (utf8_chars(T->identifier) > 63) {
        matu_error_kind(m, "Runtime Error", "Relation name '%s' is longer than 63 characters", T->identifier);
        job->status = NS_ERROR;
        return -1;
    }
    matu_derive(m, T, "__dbt_tmp", &m->I);
    matu_derive(m, T, "__dbt_backup", &m->B);
    /* The runner lists every schema it writes to; a job started without
     * that (another caller) lists its own schema so E is never guessed. */
    const char *cs = catalog_name(m->a, T->schema, T->quote[1]);
    if (job->rc && job->conn && cs && n->rt != RT_TEST && n->rt != RT_UNIT_TEST && !relcache_schema_loaded(job->rc, cs)) {
        Diag d = {0};
        if (relcache_load_schema(job->rc, job->conn, cs, &d) != 0) {
            matu_error(m, "%s", d.message ? d.message : "cannot list the relations of the schema");
            diag_clear(&d);
            job->status = NS_ERROR;
            return -1;
        }
        diag_clear(&d);
    }
    m->E = matu_cached(m, T);
    m->fail_seq = -1;
    job->rows_affected = -1;
    job->failures = -1;
    return 0;
}

void matu_derive(MatCtx *m, const MRel *base, const char *suffix, MRel *out)
{
    *out = *base;
    size_t keep = 63 - utf8_chars(suffix);
    size_t b = utf8_prefix(base->identifier, keep);
    out->identifier = arena_sprintf(m->a, "%.*s%s", (int)b, base->identifier, suffix);
    matu_render(m->a, out);
}

void matu_tmp(MatCtx *m, MRel *out)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    char suffix[40];
    snprintf(suffix, sizeof suffix, "__dbt_tmp%02d%02d%02d%06ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000);
    matu_derive(m, &m->T, suffix, out);
    out->temp = true;
    out->database = out->schema = NULL;
    matu_render(m->a, out);
}

/* ---------------------------------------------------------------- cache */

/* The name as the catalog stores it: unquoted parts fold to lower case. */
static const char *catalog_name(Arena *a, const char *s, bool quoted)
{
    if (!s || quoted)
        return s;
    char *c = arena_strdup(a, s);
    for (char *p = c; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return c;
}

RelType matu_cached(MatCtx *m, const MRel *r)
{
    if (!m->job->rc || r->temp)
        return REL_NONE;
    return relcache_get(m->job->rc, catalog_name(m->a, r->schema, r->quote[1]),
                        catalog_name(m->a, r->identifier, r->quote[2]));
}

/* Was a COMMIT issued after statement `after` and before statement `before`? */
static bool committed_between(const MatCtx *m, int after, int before)
{
    for (int i = 0; i < m->ncommits; i++)
        if (m->commits[i] > after && m->commits[i] < before)
            return true;
    return false;
}

/* Forget the cache changes that can no longer be taken back: everything
 * issued so far has succeeded (nothing queued), so a change is permanent
 * unless it was made inside a transaction that has not committed yet. */
static void prune_undo(MatCtx *m)
{
    if (m->nq)
        return;
    int k = 0;
    for (int i = 0; i < m->nundo; i++)
        if (m->undo[i].in_txn && !committed_between(m, m->undo[i].seq, m->seq))
            m->undo[k++] = m->undo[i];
    m->nundo = k;
    if (k == 0)
        m->ncommits = 0;
}

static void note_commit(MatCtx *m, int seq)
{
    if (m->ncommits == MATU_MAX_UNDO)
        prune_undo(m);
    if (m->ncommits == MATU_MAX_UNDO) {     /* keep the newest */
        memmove(m->commits, m->commits + 1, sizeof m->commits[0] * (MATU_MAX_UNDO - 1));
        m->ncommits--;
    }
    m->commits[m->ncommits++] = seq;
}

static void cache_set_raw(MatCtx *m, const char *schema, const char *ident, RelType t)
{
    RelCache *rc = m->job->rc;
    /* the change follows the statement issued last: inside a transaction it
     * lasts only with a later COMMIT; a queued statement may still fail */
    bool in_txn = matu_in_txn(m);
    if (in_txn || m->last_queued) {
        if (m->nundo == MATU_MAX_UNDO)
            prune_undo(m);
        if (m->nundo < MATU_MAX_UNDO) {
            m->undo[m->nundo].schema = schema;
            m->undo[m->nundo].ident = ident;
            m->undo[m->nundo].prev = relcache_get(rc, schema, ident);
            m->undo[m->nundo].seq = m->seq - 1;
            m->undo[m->nundo].in_txn = in_txn;
            m->nundo++;
        }
    }
    relcache_set(rc, schema, ident, t);
}

void matu_cache_set(MatCtx *m, const MRel *r, RelType t)
{
    if (!m->job->rc || r->temp)
        return;
    cache_set_raw(m, catalog_name(m->a, r->schema, r->quote[1]),
                  catalog_name(m->a, r->identifier, r->quote[2]), t);
}

/* ---------------------------------------------------------------- statements */

/* ---------------------------------------------------------------- pipelining */

bool matu_in_txn(MatCtx *m)
{
    return m->nq ? m->q_txn : pg_in_transaction(m->job->conn);
}

void matu_pipeline(MatCtx *m, bool on)
{
    m->pipe = on;
}

/* Queue one statement.  Statements between two Syncs share one implicit
 * transaction, so a statement outside BEGIN .. COMMIT (autocommit) must be
 * the last of its pipeline: anything queued after it flushes first, and it
 * commits on its own exactly as when sent alone. */
static int enqueue(MatCtx *m, const char *sql, bool record, char *tag, size_t tag_cap)
{
    if ((m->nq == MATU_MAX_PIPE || (m->nq && m->q_autocommit_tail)) && matu_flush(m) != 0)
        return -1;
    if (m->nq == 0)
        m->q_txn = pg_in_transaction(m->job->conn);
    m->q_autocommit_tail = record && !m->q_txn;
    ExecPipeItem *it = &m->q[m->nq];
    it->sql = arena_strdup(m->a, sql);
    it->record = record;
    it->tag = tag;
    it->tag_cap = tag_cap;
    if (tag && tag_cap)
        tag[0] = '\0';
    m->qseq[m->nq++] = m->seq++;
    m->last_queued = true;
    return 0;
}

int matu_flush(MatCtx *m)
{
    int n = m->nq;
    if (n == 0)
        return 0;
    int failed = n;
    int rc = exec_sql_pipeline(m->job, m->q, n, &failed);
    int first = m->qseq[0];
    m->nq = 0;
    m->last_queued = false;
    if (rc != 0) {
        m->fail_seq = failed < n ? first + failed : m->seq;
        return -1;
    }
    prune_undo(m);
    return 0;
}

/* ---------------------------------------------------------------- statements */

int matu_sql_now(MatCtx *m, const char *sql, PgResult **res, char *tag, size_t tag_cap)
{
    if (matu_flush(m) != 0)
        return -1;
    m->seq++;
    m->last_queued = false;
    int rc = exec_sql(m->job, sql, res, tag, tag_cap);
    if (rc != 0)
        m->fail_seq = m->seq - 1;
    return rc;
}

int matu_sql(MatCtx *m, const char *sql, PgResult **res, char *tag, size_t tag_cap)
{
    if (m->pipe && !res && pg_single_statement(sql))
        return enqueue(m, sql, true, tag, tag_cap);
    return matu_sql_now(m, sql, res, tag, tag_cap);
}

int matu_begin(MatCtx *m)
{
    if (matu_in_txn(m))
        return 0;
    if (exec_cancelled(m->job->sh)) {
        matu_error(m, "cancelled");
        return -1;
    }
    if (m->pipe) {
        if (enqueue(m, "BEGIN", false, NULL, 0) != 0)
            return -1;
        m->q_txn = true;
        return 0;
    }
    if (matu_flush(m) != 0)
        return -1;
    Diag d = {0};
    m->seq++;
    m->last_queued = false;
    exec_log(m->job->sh, m->n->unique_id, "BEGIN");
    int rc = pg_begin(m->job->conn, &d);
    if (rc != 0) {
        m->fail_seq = m->seq - 1;
        matu_error(m, "%s", d.message ? d.message : "BEGIN failed");
        diag_clear(&d);
        return -1;
    }
    prune_undo(m);
    return 0;
}

int matu_commit(MatCtx *m)
{
    if (!matu_in_txn(m))
        return 0;
    if (m->pipe) {
        if (enqueue(m, "COMMIT", false, NULL, 0) != 0)
            return -1;
        m->q_txn = false;
        note_commit(m, m->seq - 1);
        return 0;
    }
    if (matu_flush(m) != 0)
        return -1;
    Diag d = {0};
    m->seq++;
    m->last_queued = false;
    note_commit(m, m->seq - 1);
    exec_log(m->job->sh, m->n->unique_id, "COMMIT");
    int rc = pg_commit(m->job->conn, &d);
    if (rc != 0) {
        m->fail_seq = m->seq - 1;
        matu_error(m, "%s", d.message ? d.message : "COMMIT failed");
        diag_clear(&d);
        return -1;
    }
    prune_undo(m);
    return 0;
}

static const char *drop_kind(RelType t)
{
    switch (t) {
    case REL_VIEW: return "view";
    case REL_MATVIEW: return "materialized view";
    default: return "table";
    }
}

int matu_drop_tag(MatCtx *m, const MRel *r, RelType t, char *tag, size_t tag_cap)
{
    if (t == REL_NONE)
        return 0;
    const char *sql = arena_sprintf(m->a, "drop %s if exists %s cascade", drop_kind(t), r->sql);
    if (matu_sql(m, sql, NULL, tag, tag_cap) != 0)
        return -1;
    matu_cache_set(m, r, REL_NONE);
    return 0;
}

int matu_drop(MatCtx *m, const MRel *r, RelType t) { return matu_drop_tag(m, r, t, NULL, 0); }

int matu_rename(MatCtx *m, const MRel *from, const MRel *to)
{
    Sb s = SB_INIT;
    RelType t = matu_cached(m, from);
    /* postgres__get_rename_sql: a materialized view needs its own ALTER */
    sb_printf(&s, "alter %s %s rename to ", t == REL_MATVIEW ? "materialized view" : "table", from->sql);
    put_part(&s, to->identifier, to->quote[2]);
    int rc = matu_sql(m, sb_cstr(&s), NULL, NULL, 0);
    sb_free(&s);
    if (rc != 0)
        return -1;
    if (t == REL_NONE)
        t = REL_TABLE;
    matu_cache_set(m, from, REL_NONE);
    matu_cache_set(m, to, t);
    return 0;
}

int matu_hooks(MatCtx *m, bool pre, bool inside)
{
    NodeJob *j = m->job;
    const char **hooks = pre ? j->pre_hooks : j->post_hooks;
    bool *in_txn = pre ? j->pre_in_txn : j->post_in_txn;
    int nh = pre ? j->npre : j->npost;
    bool first = true;
    for (int i = 0; i < nh; i++) {
        bool h_inside = in_txn ? in_txn[i] : true;
        if (h_inside != inside)
            continue;
        if (!inside && first) {
            if (matu_sql_now(m, "commit;", NULL, NULL, 0) != 0)
                return -1;
            note_commit(m, m->seq - 1);
            prune_undo(m);
        }
        first = false;
        if (inside && matu_begin(m) != 0)
            return -1;
        if (!hooks[i] || !*hooks[i])
            continue;
        if (matu_sql_now(m, hooks[i], NULL, NULL, 0) != 0)
            return -1;
    }
    return 0;
}

const char *matu_create_table(MatCtx *m, const MRel *r, const char *sql, bool temporary)
{
    if (!temporary && matu_contract_enforced(m))
        return matu_contract_table(m, r, sql);
    const char *hdr = exec_cfg_str(m->n, "sql_header");
    bool unlogged = exec_cfg_bool(m->n, "unlogged", false);
    return arena_sprintf(m->a, "%s%screate %stable %s as (\n%s\n);",
                         hdr ? hdr : "", hdr ? "\n" : "",
                         temporary ? "temporary " : unlogged ? "unlogged " : "",
                         r->sql, sql ? sql : "");
}

const char *matu_create_view(MatCtx *m, const MRel *r, const char *sql)
{
    const char *hdr = exec_cfg_str(m->n, "sql_header");
    return arena_sprintf(m->a, "%s%screate view %s as (\n%s\n);",
                         hdr ? hdr : "", hdr ? "\n" : "", r->sql, sql ? sql : "");
}

/* ---------------------------------------------------------------- config lists */

const char **matu_cfg_strlist(MatCtx *m, const char *key, int *n)
{
    *n = 0;
    Value *v = exec_cfg(m->n, key);
    if (!v || v->type == V_NONE || v->type == V_UNDEF)
        return NULL;
    if (v->type == V_STR) {
        const char **out = ARENA_ARRAY(m->a, const char *, 1);
        out[0] = v->u.s->s;
        *n = 1;
        return out;
    }
    if (v->type != V_LIST && v->type != V_TUPLE)
        return NULL;
    VList *l = v->u.l;
    const char **out = ARENA_ARRAY(m->a, const char *, l->len + 1);
    for (size_t i = 0; i < l->len; i++)
        out[(*n)++] = value_to_cstr(m->a, l->items[i]);
    return out;
}

const char **matu_value_strlist(Arena *a, Value v, int *n)
{
    *n = 0;
    if (v.type == V_STR) {
        const char **out = ARENA_ARRAY(a, const char *, 1);
        out[0] = v.u.s->s;
        *n = 1;
        return out;
    }
    if (v.type != V_LIST && v.type != V_TUPLE)
        return NULL;
    const char **out = ARENA_ARRAY(a, const char *, v.u.l->len + 1);
    for (size_t i = 0; i < v.u.l->len; i++)
        out[(*n)++] = value_to_cstr(a, v.u.l->items[i]);
    return out;
}

/* ---------------------------------------------------------------- grants */

static bool in_list_ci(const char *s, const char **l, int n)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(s, l[i]) == 0)
            return true;
    return false;
}

int matu_grants(MatCtx *m, const MRel *r, bool revoke)
{
    Value *g = exec_cfg(m->n, "grants");
    if (!g || g->type != V_DICT || g->u.d->len == 0)
        return 0;
    VDict *want = g->u.d;
    Sb sql = SB_INIT;
    PgResult *cur = NULL;
    int rc = -1;
    if (revoke) {
        Sb q = SB_INIT;
        sb_puts(&q, "select privilege_type, grantee\n"
                    "from information_schema.role_table_grants\n"
                    "where grantor = current_role\n"
                    "  and grantee != current_role\n"
                    "  and table_schema = ");
        pg_quote_literal(&q, catalog_name(m->a, r->schema, r->quote[1]));
        sb_puts(&q, "\n  and table_name = ");
        pg_quote_literal(&q, catalog_name(m->a, r->identifier, r->quote[2]));
        int qrc = matu_sql(m, sb_cstr(&q), &cur, NULL, 0);
        sb_free(&q);
        if (qrc != 0)
            goto out;
        /* revoke: current grantees not wanted (per privilege, case-insensitive) */
        for (int i = 0; cur && i < cur->nrows; i++) {
            const char *priv = cur->rows[i][0], *who = cur->rows[i][1];
            if (!priv || !who)
                continue;
            int nw = 0;
            const char **w = NULL;
            for (size_t it = 0; ; ) {
                VDictEntry *e;
                if (!dict_next(want, &it, &e))
                    break;
                const char *k = value_to_cstr(m->a, e->key);
                if (strcasecmp(k, priv) == 0)
                    w = matu_value_strlist(m->a, e->val, &nw);
            }
            if (!in_list_ci(who, w, nw))
                sb_printf(&sql, "revoke %s on %s from %s;\n", priv, r->sql, who);
        }
    }
    for (size_t it = 0; ; ) {
        VDictEntry *e;
        if (!dict_next(want, &it, &e))
            break;
        const char *priv = value_to_cstr(m->a, e->key);
        int nw = 0;
        const char **w = matu_value_strlist(m->a, e->val, &nw);
        Sb to = SB_INIT;
        for (int i = 0; i < nw; i++) {
            bool have = false;
            for (int k = 0; revoke && cur && k < cur->nrows; k++)
                if (cur->rows[k][0] && cur->rows[k][1] && strcasecmp(cur->rows[k][0], priv) == 0 &&
                    strcasecmp(cur->rows[k][1], w[i]) == 0)
                    have = true;
            if (have)
                continue;
            if (to.len)
                sb_puts(&to, ", ");
            sb_puts(&to, w[i]);
        }
        if (to.len)
            sb_printf(&sql, "grant %s on %s to %s;\n", priv, r->sql, sb_cstr(&to));
        sb_free(&to);
    }
    rc = 0;
    if (sql.len)
        rc = matu_sql(m, sb_cstr(&sql), NULL, NULL, 0);
out:
    if (cur)
        pg_result_free(cur);
    sb_free(&sql);
    return rc;
}

/* ---------------------------------------------------------------- persist_docs */

#define COMMENT_DELIM "$dbt_comment_literal_block$"

static int escape_comment(MatCtx *m, Sb *out, const char *text)
{
    if (strstr(text, COMMENT_DELIM)) {
        matu_error_kind(m, "Compilation Error", "The string '%s' is not allowed in comments.", COMMENT_DELIM);
        return -1;
    }
    sb_printf(out, "%s%s%s", COMMENT_DELIM, text, COMMENT_DELIM);
    return 0;
}

static bool docs_flag(Value *pd, const char *key)
{
    if (!pd || pd->type != V_DICT)
        return false;
    Value *v = dict_getz(pd->u.d, key);
    return v && value_truthy(*v);
}

int matu_persist_docs(MatCtx *m, const MRel *r, RelType t)
{
    Value *pd = exec_cfg(m->n, "persist_docs");
    Node *n = m->n;
    if (docs_flag(pd, "relation") && n->description && *n->description) {
        Sb s = SB_INIT;
        sb_printf(&s, "comment on %s %s is ", t == REL_VIEW ? "view" : t == REL_MATVIEW ? "materialized view" : "table",
                  r->sql);
        int rc = escape_comment(m, &s, n->description);
        if (rc == 0) {
            sb_putc(&s, ';');
            rc = matu_sql(m, sb_cstr(&s), NULL, NULL, 0);
        }
        sb_free(&s);
        if (rc != 0)
            return -1;
    }
    if (!docs_flag(pd, "columns") || !n->columns || n->columns->len == 0)
        return 0;
    Sb q = SB_INIT;
    sb_puts(&q, "select column_name\nfrom information_schema.columns\nwhere table_name = ");
    pg_quote_literal(&q, catalog_name(m->a, r->identifier, r->quote[2]));
    sb_puts(&q, "\n  and table_schema = ");
    pg_quote_literal(&q, catalog_name(m->a, r->schema, r->quote[1]));
    sb_puts(&q, "\norder by ordinal_position");
    PgResult *cols = NULL;
    int rc = matu_sql(m, sb_cstr(&q), &cols, NULL, 0);
    sb_free(&q);
    if (rc != 0)
        return -1;
    Sb s = SB_INIT;
    for (size_t it = 0; rc == 0; ) {
        VDictEntry *e;
        if (!dict_next(n->columns, &it, &e))
            break;
        const char *name = value_to_cstr(m->a, e->key);
        bool exists = false;
        for (int i = 0; cols && i < cols->nrows; i++)
            if (cols->rows[i][0] && strcmp(cols->rows[i][0], name) == 0)
                exists = true;
        if (!exists)
            continue;
        const char *desc = "";
        bool quote = false;
        if (e->val.type == V_DICT) {
            Value *dv = dict_getz(e->val.u.d, "description");
            if (dv && dv->type == V_STR)
                desc = dv->u.s->s;
            Value *qv = dict_getz(e->val.u.d, "quote");
            quote = qv && value_truthy(*qv);
        }
        sb_printf(&s, "comment on column %s.", r->sql);
        put_part(&s, name, quote);
        sb_puts(&s, " is ");
        rc = escape_comment(m, &s, desc);
        sb_puts(&s, ";\n");
    }
    if (cols)
        pg_result_free(cols);
    if (rc == 0 && s.len)
        rc = matu_sql(m, sb_cstr(&s), NULL, NULL, 0);
    sb_free(&s);
    return rc;
}

/* ---------------------------------------------------------------- indexes */

int matu_indexes(MatCtx *m, const MRel *r) { return matu_indexes_of(m, r, exec_cfg(m->n, "indexes"), NULL, 0); }

int matu_index_entry(MatCtx *m, Value e, MIndex *out)
{
    if (e.type != V_DICT) {
        matu_error_kind(m, "Compilation Error", "Could not parse index config: each entry of 'indexes' must be a dict");
        return -1;
    }
    Value *cv = dict_getz(e.u.d, "columns");
    out->ncols = 0;
    out->cols = cv ? matu_value_strlist(m->a, *cv, &out->ncols) : NULL;
    if (out->ncols == 0) {
        matu_error_kind(m, "Compilation Error", "Could not parse index config: 'columns' is required");
        return -1;
    }
    Value *uv = dict_getz(e.u.d, "unique");
    out->unique = uv && value_truthy(*uv);
    Value *tv = dict_getz(e.u.d, "type");
    out->type = tv && tv->type == V_STR && tv->u.s->len ? tv->u.s->s : NULL;
    return 0;
}

int matu_indexes_of(MatCtx *m, const MRel *r, Value *ix, char *tag, size_t tag_cap)
{
    if (!ix || (ix->type != V_LIST && ix->type != V_TUPLE))
        return 0;
    for (size_t i = 0; i < ix->u.l->len; i++) {
        MIndex mi;
        if (matu_index_entry(m, ix->u.l->items[i], &mi) != 0)
            return -1;
        const char **cols = mi.cols;
        int nc = mi.ncols;
        bool unique = mi.unique;
        const char *type = mi.type;
        /* name: md5 of columns + relation + str(unique) + str(type) + UTC ISO time, joined by "_" */
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        char iso[48];
        size_t k = strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(iso + k, sizeof iso - k, ".%06ld", ts.tv_nsec / 1000);
        Sb in = SB_INIT, csv = SB_INIT;
        for (int c = 0; c < nc; c++) {
            sb_printf(&in, "%s_", cols[c]);
            sb_printf(&csv, "%s%s", c ? ", " : "", cols[c]);
        }
        sb_printf(&in, "%s_%s_%s_%s", r->sql, unique ? "True" : "False", type ? type : "None", iso);
        char name[33];
        md5_hex(in.buf, in.len, name);
        const char *sql = arena_sprintf(m->a, "create %sindex if not exists\n\"%s\"\non %s%s%s\n(%s);",
                                        unique ? "unique " : "", name, r->sql,
                                        type ? " using " : "", type ? type : "", sb_cstr(&csv));
        sb_free(&in);
        sb_free(&csv);
        if (matu_sql(m, sql, NULL, tag, tag_cap) != 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- outcome */

int matu_fail(MatCtx *m)
{
    NodeJob *j = m->job;
    /* k: the first statement that did not take effect.  Statements still
     * queued were never sent. */
    int k = m->fail_seq >= 0 ? m->fail_seq : m->seq;
    if (m->nq) {
        if (m->qseq[0] < k)
            k = m->qseq[0];
        m->nq = 0;
    }
    m->last_queued = false;
    if (pg_in_transaction(j->conn)) {
        exec_log(j->sh, m->n->unique_id, "ROLLBACK");
        pg_rollback(j->conn);
    }
    /* Uncommitted work is gone whether we rolled back or the connection
     * died (server killed, backend terminated), and so is whatever did not
     * run: the cache follows. */
    for (int i = m->nundo - 1; i >= 0; i--)
        if (m->undo[i].seq >= k || (m->undo[i].in_txn && !committed_between(m, m->undo[i].seq, k)))
            relcache_set(j->rc, m->undo[i].schema, m->undo[i].ident, m->undo[i].prev);
    m->nundo = 0;
    m->ncommits = 0;
    if (!j->err.set)
        matu_error(m, "error");
    j->status = NS_ERROR;
    return -1;
}

void matu_parse_tag(Arena *a, const char *tag, const char **code, int64_t *rows)
{
    Sb c = SB_INIT;
    int64_t last = -1;
    const char *p = tag ? tag : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if (p == w)
            break;
        bool digits = true;
        for (const char *q = w; q < p; q++)
            if (!isdigit((unsigned char)*q))
                digits = false;
        if (digits) {
            last = strtoll(w, NULL, 10);
        } else {
            if (c.len)
                sb_putc(&c, ' ');
            sb_append(&c, w, (size_t)(p - w));
            last = -1;
        }
    }
    *code = arena_strndup(a, sb_cstr(&c), c.len);
    *rows = last;
    sb_free(&c);
}

void matu_success(MatCtx *m, const char *tag)
{
    NodeJob *j = m->job;
    j->status = NS_SUCCESS;
    j->message = arena_strdup(m->a, tag ? tag : "");
    j->adapter_message = j->message;
    matu_parse_tag(m->a, tag, &j->adapter_code, &j->rows_affected);
}

/* ---------------------------------------------------------------- columns
 * dbt's get_columns_in_relation, Column / PostgresColumn data_type rules and
 * alter_column_type, shared by the incremental and snapshot executors. */

static bool is_string(const MCol *c)
{
    return strcasecmp(c->dtype, "text") == 0 || strcasecmp(c->dtype, "character varying") == 0 ||
           strcasecmp(c->dtype, "character") == 0 || strcasecmp(c->dtype, "varchar") == 0;
}

long matu_string_size(const MCol *c) { return c->char_size < 0 ? 256 : c->char_size; }

/* dbt's Column.data_type with PostgresColumn's text/varchar exception. */
const char *matu_data_type(Arena *a, const MCol *c)
{
    if (strcasecmp(c->dtype, "text") == 0 ||
        (strcasecmp(c->dtype, "character varying") == 0 && c->char_size < 0))
        return c->dtype;
    if (is_string(c))
        return arena_sprintf(a, "character varying(%ld)", matu_string_size(c));
    if ((strcasecmp(c->dtype, "numeric") == 0 || strcasecmp(c->dtype, "decimal") == 0) &&
        c->prec >= 0 && c->scale >= 0)
        return arena_sprintf(a, "%s(%ld,%ld)", c->dtype, c->prec, c->scale);
    return c->dtype;
}

/* self can expand to other: both strings and other is longer. */
bool matu_can_expand_to(const MCol *self, const MCol *other)
{
    return is_string(self) && is_string(other) && matu_string_size(other) > matu_string_size(self);
}

const MCol *matu_find_col(const MCols *cs, const char *name)
{
    for (int i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].name, name) == 0)
            return &cs->c[i];
    return NULL;
}

static long num_or(const char *s) { return s ? strtol(s, NULL, 10) : -1; }

int matu_get_columns(MatCtx *m, const MRel *r, MCols *out)
{
    Sb q = SB_INIT;
    sb_puts(&q, "select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale\n"
                "from information_schema.columns\nwhere table_name = ");
    pg_quote_literal(&q, r->identifier);
    if (!r->temp && r->schema) {
        sb_puts(&q, "\n  and table_schema = ");
        pg_quote_literal(&q, r->schema);
    }
    sb_puts(&q, "\norder by ordinal_position");
    PgResult *res = NULL;
    int rc = matu_sql(m, sb_cstr(&q), &res, NULL, 0);
    sb_free(&q);
    if (rc != 0)
        return -1;
    out->n = res ? res->nrows : 0;
    out->c = ARENA_ARRAY(m->a, MCol, out->n + 1);
    for (int i = 0; i < out->n; i++) {
        const char **row = res->rows[i];
        out->c[i].name = arena_strdup(m->a, row[0] ? row[0] : "");
        out->c[i].dtype = arena_strdup(m->a, row[1] ? row[1] : "");
        out->c[i].char_size = num_or(row[2]);
        out->c[i].prec = num_or(row[3]);
        out->c[i].scale = num_or(row[4]);
    }
    if (res)
        pg_result_free(res);
    return 0;
}

void matu_put_qident(Sb *s, const char *name)
{
    sb_putc(s, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            sb_putc(s, '"');
        sb_putc(s, *p);
    }
    sb_putc(s, '"');
}

/* dbt's alter_column_type: four statements sent as one. */
int matu_alter_column_type(MatCtx *m, const MRel *T, const char *col, const char *type)
{
    Sb tmp = SB_INIT, c = SB_INIT, s = SB_INIT;
    const char *alter = arena_sprintf(m->a, "%s__dbt_alter", col);
    matu_put_qident(&tmp, alter);
    matu_put_qident(&c, col);
    sb_printf(&s, "alter table %s add column %s %s;\n", T->sql, sb_cstr(&tmp), type);
    sb_printf(&s, "update %s set %s = %s;\n", T->sql, sb_cstr(&tmp), sb_cstr(&c));
    sb_printf(&s, "alter table %s drop column %s cascade;\n", T->sql, sb_cstr(&c));
    sb_printf(&s, "alter table %s rename column %s to %s", T->sql, sb_cstr(&tmp), sb_cstr(&c));
    int rc = matu_sql(m, sb_cstr(&s), NULL, NULL, 0);
    sb_free(&tmp);
    sb_free(&c);
    sb_free(&s);
    return rc;
}

int matu_expand_column_types(MatCtx *m, const MRel *T, const MCols *src, const MCols *tgt, bool *widened)
{
    *widened = false;
    for (int i = 0; i < src->n; i++) {
        const MCol *tc = matu_find_col(tgt, src->c[i].name);
        if (tc && matu_can_expand_to(tc, &src->c[i])) {
            const char *nt = arena_sprintf(m->a, "character varying(%ld)", matu_string_size(&src->c[i]));
            if (matu_alter_column_type(m, T, tc->name, nt) != 0)
                return -1;
            *widened = true;
        }
    }
    return 0;
}
