/* mat_matview.c - the materialized_view materialization as dbt-core 1.9
 * with dbt-postgres runs it:
 *
 *   - no relation yet: `create materialized view if not exists T as <sql>`
 *     and the configured indexes;
 *   - --full-refresh (or the node's full_refresh config), or T is a table or
 *     a view: replace it through the intermediate and backup names (create
 *     the materialized view as T__dbt_tmp with its indexes, rename T to
 *     T__dbt_backup, T__dbt_tmp to T, drop the backup);
 *   - T is a materialized view: compare its indexes with the `indexes`
 *     config (columns as a set, unique, method); no change: `refresh
 *     materialized view T`; changes: on_configuration_change `apply`
 *     (default: drop the indexes no longer configured, create the new
 *     ones), `continue` (a warning, nothing built, status "skip <T>") or
 *     `fail` (a node error, T left alone).
 *
 * Order of dbt's macros: stale backup / intermediate dropped and outside
 * pre-hooks first, then BEGIN, inside pre-hooks, the build statements,
 * grants, persist_docs, inside post-hooks, COMMIT, the backup and
 * intermediate dropped, outside post-hooks.  The run result's message is the
 * tag of the build's last statement, as psycopg2 reports a multi-statement
 * string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "matu.h"

/* One index of the config or of the relation: dbt-postgres's
 * PostgresIndexConfig (columns compared as a set, lowercased). */
typedef struct MvIndex {
    const char *name;            /* existing indexes: the index's name */
    const char **cols; int ncols;
    bool unique;
    const char *method;          /* lowercased, "btree" by default */
    Value cfg;                   /* config entries: the dict (for matu-style creation) */
    bool matched;
} MvIndex;

static const char *lower_dup(Arena *a, const char *s)
{
    char *d = arena_strdup(a, s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

/* columns sorted and without duplicates: the frozenset */
static void normalize(MvIndex *ix)
{
    qsort(ix->cols, (size_t)ix->ncols, sizeof *ix->cols, cmp_str);
    int k = 0;
    for (int i = 0; i < ix->ncols; i++)
        if (k == 0 || strcmp(ix->cols[k - 1], ix->cols[i]) != 0)
            ix->cols[k++] = ix->cols[i];
    ix->ncols = k;
}

static bool same_index(const MvIndex *a, const MvIndex *b)
{
    if (a->unique != b->unique || strcmp(a->method, b->method) != 0 || a->ncols != b->ncols)
        return false;
    for (int i = 0; i < a->ncols; i++)
        if (strcmp(a->cols[i], b->cols[i]) != 0)
            return false;
    return true;
}

/* The `indexes` config.  -1 with the error set when an entry is malformed. */
static int config_indexes(MatCtx *m, MvIndex **out, int *n)
{
    *n = 0;
    *out = NULL;
    Value *ix = exec_cfg(m->n, "indexes");
    if (!ix || (ix->type != V_LIST && ix->type != V_TUPLE))
        return 0;
    *out = ARENA_ARRAY(m->a, MvIndex, ix->u.l->len + 1);
    for (size_t i = 0; i < ix->u.l->len; i++) {
        Value e = ix->u.l->items[i];
        MIndex mi;
        if (matu_index_entry(m, e, &mi) != 0)
            return -1;
        MvIndex *x = &(*out)[(*n)++];
        memset(x, 0, sizeof *x);
        x->ncols = mi.ncols;
        x->cols = ARENA_ARRAY(m->a, const char *, (size_t)x->ncols);
        for (int c = 0; c < x->ncols; c++)
            x->cols[c] = lower_dup(m->a, mi.cols[c]);
        x->unique = mi.unique;
        x->method = mi.type ? lower_dup(m->a, mi.type) : "btree";
        x->cfg = e;
        normalize(x);
    }
    return 0;
}

/* postgres__get_show_indexes_sql: the indexes of T. */
static int existing_indexes(MatCtx *m, MvIndex **out, int *n)
{
    Sb q = SB_INIT;
    sb_puts(&q, "select\n    i.relname as name,\n    m.amname as method,\n    ix.indisunique as \"unique\",\n"
                "    array_to_string(array_agg(a.attname), ',') as column_names\n"
                "from pg_index ix\njoin pg_class i\n    on i.oid = ix.indexrelid\njoin pg_am m\n    on m.oid = i.relam\n"
                "join pg_class t\n    on t.oid = ix.indrelid\njoin pg_namespace n\n    on n.oid = t.relnamespace\n"
                "join pg_attribute a\n    on a.attrelid = t.oid\n    and a.attnum = ANY(ix.indkey)\n"
                "where t.relname = ");
    pg_quote_literal(&q, m->T.identifier);
    sb_puts(&q, "\n  and n.nspname = ");
    pg_quote_literal(&q, m->T.schema);
    sb_puts(&q, "\n  and t.relkind in ('r', 'm')\ngroup by 1, 2, 3\norder by 1, 2, 3");
    PgResult *res = NULL;
    int rc = matu_sql(m, sb_cstr(&q), &res, NULL, 0);
    sb_free(&q);
    if (rc != 0)
        return -1;
    *n = 0;
    *out = ARENA_ARRAY(m->a, MvIndex, (size_t)(res ? res->nrows : 0) + 1);
    for (int r = 0; res && r < res->nrows; r++) {
        MvIndex *x = &(*out)[(*n)++];
        memset(x, 0, sizeof *x);
        const char *const *row = res->rows[r];
        x->name = arena_strdup(m->a, row[0] ? row[0] : "");
        x->method = lower_dup(m->a, row[1] ? row[1] : "btree");
        x->unique = row[2] && strcmp(row[2], "t") == 0;
        char *cols = arena_strdup(m->a, row[3] ? row[3] : ""), *save = NULL;
        int cap = 1;
        for (char *p = cols; *p; p++)
            cap += *p == ',';
        x->cols = ARENA_ARRAY(m->a, const char *, (size_t)cap);
        for (char *t = strtok_r(cols, ",", &save); t; t = strtok_r(NULL, ",", &save))
            x->cols[x->ncols++] = lower_dup(m->a, t);
        normalize(x);
    }
    if (res)
        pg_result_free(res);
    return 0;
}

/* create materialized view if not exists r as <sql>; then r's indexes */
static int create_mv(MatCtx *m, const MRel *r)
{
    Value *hdr = exec_cfg(m->n, "sql_header");
    const char *sql = arena_sprintf(m->a, "%s%screate materialized view if not exists %s as %s",
                                    hdr && hdr->type == V_STR ? hdr->u.s->s : "", hdr && hdr->type == V_STR ? "\n" : "",
                                    r->sql, m->job->sql);
    if (matu_sql(m, sql, NULL, m->main_tag, sizeof m->main_tag) != 0)
        return -1;
    matu_cache_set(m, r, REL_MATVIEW);
    return matu_indexes_of(m, r, exec_cfg(m->n, "indexes"), m->main_tag, sizeof m->main_tag);
}

/* get_replace_sql for a materialized view over T of type E: intermediate,
 * backup, rename, drop backup. */
static int replace_mv(MatCtx *m, RelType E)
{
    if (matu_drop(m, &m->I, REL_MATVIEW) != 0 || create_mv(m, &m->I) != 0)
        return -1;
    if (matu_drop(m, &m->B, E) != 0 || matu_rename(m, &m->T, &m->B) != 0)
        return -1;
    if (matu_rename(m, &m->I, &m->T) != 0)
        return -1;
    return matu_drop_tag(m, &m->B, E, m->main_tag, sizeof m->main_tag);
}

typedef enum { MV_CREATE, MV_REPLACE, MV_REFRESH, MV_APPLY, MV_SKIP } MvPlan;

static bool should_full_refresh(MatCtx *m)
{
    Value *fr = exec_cfg(m->n, "full_refresh");
    if (fr && fr->type != V_NONE && fr->type != V_UNDEF)
        return exec_cfg_bool(m->n, "full_refresh", false);
    return m->job->full_refresh;
}

int mat_matview(NodeJob *job)
{
    MatCtx m;
    if (matu_init(&m, job) != 0)
        return -1;
    RelType E = m.E;
    /* materialized_view_setup: stale backup / intermediate, outside pre-hooks */
    if (matu_begin(&m) != 0)
        return matu_fail(&m);
    if (matu_drop(&m, &m.B, matu_cached(&m, &m.B)) != 0 || matu_drop(&m, &m.I, matu_cached(&m, &m.I)) != 0)
        return matu_fail(&m);
    if (matu_hooks(&m, true, false) != 0)
        return matu_fail(&m);
    /* materialized_view_get_build_sql: the scenario */
    MvPlan plan;
    MvIndex *want = NULL, *have = NULL;
    int nwant = 0, nhave = 0;
    if (E == REL_NONE) {
        plan = MV_CREATE;
    } else if (should_full_refresh(&m) || E != REL_MATVIEW) {
        plan = MV_REPLACE;
    } else {
        const char *occ = exec_cfg_str(m.n, "on_configuration_change");
        if (!occ)
            occ = "apply";
        if (config_indexes(&m, &want, &nwant) != 0 || existing_indexes(&m, &have, &nhave) != 0)
            return matu_fail(&m);
        bool changed = false;
        for (int i = 0; i < nwant; i++)
            for (int k = 0; k < nhave; k++)
                if (!have[k].matched && same_index(&want[i], &have[k])) {
                    want[i].matched = have[k].matched = true;
                    break;
                }
        for (int i = 0; i < nwant; i++)
            changed |= !want[i].matched;
        for (int k = 0; k < nhave; k++)
            changed |= !have[k].matched;
        if (!changed) {
            plan = MV_REFRESH;
        } else if (strcmp(occ, "apply") == 0) {
            plan = MV_APPLY;
        } else if (strcmp(occ, "continue") == 0) {
            plan = MV_SKIP;
            fprintf(stderr, "[WARNING]: Configuration changes were identified and `on_configuration_change` was set "
                            "to `continue` for `%s`\n", m.T.sql);
        } else if (strcmp(occ, "fail") == 0) {
            matu_error_kind(&m, "Compilation Error",
                            "Configuration changes were identified and `on_configuration_change` was set to `fail` "
                            "for `%s`", m.T.sql);
            return matu_fail(&m);
        } else {
            matu_error_kind(&m, "Compilation Error", "Unexpected configuration scenario");
            return matu_fail(&m);
        }
    }
    if (plan == MV_SKIP) {
        /* materialized_view_execute_no_op */
        if (matu_commit(&m) != 0 || matu_hooks(&m, false, false) != 0)
            return matu_fail(&m);
        matu_success(&m, arena_sprintf(m.a, "skip %s", m.T.sql));
        job->adapter_code = "skip";
        job->rows_affected = -1;
        return 0;
    }
    /* materialized_view_execute_build_sql: BEGIN, inside pre-hooks, main */
    if (matu_begin(&m) != 0 || matu_hooks(&m, true, true) != 0)
        return matu_fail(&m);
    int rc = 0;
    switch (plan) {
    case MV_CREATE:
        rc = create_mv(&m, &m.T);
        break;
    case MV_REPLACE:
        rc = replace_mv(&m, E);
        break;
    case MV_REFRESH:
        rc = matu_sql(&m, arena_sprintf(m.a, "refresh materialized view %s", m.T.sql), NULL, m.main_tag,
                      sizeof m.main_tag);
        break;
    case MV_APPLY:
        /* postgres__update_indexes_on_materialized_view: drops, then creates */
        for (int k = 0; k < nhave && rc == 0; k++) {
            if (have[k].matched)
                continue;
            Sb s = SB_INIT;
            sb_puts(&s, "drop index if exists ");
            matu_put_qident(&s, m.T.schema);
            sb_putc(&s, '.');
            matu_put_qident(&s, have[k].name);
            sb_puts(&s, " cascade");
            rc = matu_sql(&m, sb_cstr(&s), NULL, m.main_tag, sizeof m.main_tag);
            sb_free(&s);
        }
        if (rc == 0) {
            /* the new ones: matu_indexes over the unmatched entries alone */
            int nnew = 0;
            for (int i = 0; i < nwant; i++)
                nnew += !want[i].matched;
            if (nnew) {
                Value l = v_list(m.a, (size_t)nnew);
                for (int i = 0; i < nwant; i++)
                    if (!want[i].matched)
                        list_append(m.a, l.u.l, want[i].cfg);
                rc = matu_indexes_of(&m, &m.T, &l, m.main_tag, sizeof m.main_tag);
            }
        }
        break;
    default:
        break;
    }
    if (rc != 0)
        return matu_fail(&m);
    /* grants (should_revoke(existing, full_refresh_mode=True): copy_grants()
     * is false on postgres), docs, inside post-hooks, COMMIT */
    if (matu_grants(&m, &m.T, false) != 0 || matu_persist_docs(&m, &m.T, REL_MATVIEW) != 0 ||
        matu_hooks(&m, false, true) != 0 || matu_commit(&m) != 0)
        return matu_fail(&m);
    /* materialized_view_teardown */
    if (matu_drop(&m, &m.B, matu_cached(&m, &m.B)) != 0 || matu_drop(&m, &m.I, matu_cached(&m, &m.I)) != 0 ||
        matu_hooks(&m, false, false) != 0)
        return matu_fail(&m);
    matu_success(&m, m.main_tag);
    return 0;
}
