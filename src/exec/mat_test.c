/* mat_test.c - the test materialization (§9.2): optionally store the
 * failing rows (store_failures / --store-failures) as a table or view named
 * by the test alias in the audit schema, then run dbt's wrapper
 *   select <fail_calc> as failures, <fail_calc> <warn_if> as should_warn,
 *          <fail_calc> <error_if> as should_error from (<sql> [limit n]) dbt_internal_test
 * and turn its single row into pass / warn / fail with dbt's messages.  The
 * test's `where` is applied at compile time by get_where_subquery (src/dbt);
 * `limit` is applied here.  The query's transaction is never committed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "matu.h"

static const char *cfg_text(MatCtx *m, const char *key, const char *dflt)
{
    Value *v = exec_cfg(m->n, key);
    if (!v || v->type == V_NONE || v->type == V_UNDEF)
        return dflt;
    return value_to_cstr(m->a, *v);
}

static bool pg_bool(const char *s) { return s && (s[0] == 't' || s[0] == 'T' || strcmp(s, "1") == 0); }

/* Create the audit schema once if the runner has not loaded it. */
static int ensure_schema(MatCtx *m, const MRel *r)
{
    RelCache *rc = m->job->rc;
    if (!r->schema || (rc && relcache_schema_loaded(rc, r->schema)))
        return 0;
    Sb s = SB_INIT;
    sb_puts(&s, "create schema if not exists ");
    sb_putc(&s, '"');
    for (const char *p = r->schema; *p; p++) {
        if (*p == '"')
            sb_putc(&s, '"');
        sb_putc(&s, *p);
    }
    sb_putc(&s, '"');
    int res = matu_sql(m, sb_cstr(&s), NULL, NULL, 0);
    sb_free(&s);
    if (res != 0) {
        /* a concurrent create of the same schema loses the race harmlessly */
        const PgError *pe = pg_last_error(m->job->conn);
        if (!pe || (strcmp(pe->sqlstate, "23505") != 0 && strcmp(pe->sqlstate, "42P06") != 0))
            return -1;
        diag_clear(&m->job->err);
    }
    if (rc) {
        Diag d = {0};
        if (relcache_load_schema(rc, m->job->conn, r->schema, &d) != 0) {
            matu_error(m, "%s", d.message ? d.message : "cannot list relations");
            diag_clear(&d);
            return -1;
        }
        diag_clear(&d);
    }
    return 0;
}

static const char *plural(Arena *a, int64_t n)
{
    return arena_sprintf(a, "%lld result%s", (long long)n, n == 1 ? "" : "s");
}

int mat_test(NodeJob *job)
{
    MatCtx m;
    if (matu_init(&m, job) != 0)
        return -1;
    const char *main_sql = job->sql ? job->sql : "";
    /* store_failures config, else the --store-failures flag; a set
     * store_failures_as takes precedence over both (ephemeral = off). */
    Value *sfv = exec_cfg(m.n, "store_failures");
    bool store = (sfv && sfv->type != V_NONE && sfv->type != V_UNDEF)
               ? exec_cfg_bool(m.n, "store_failures", false) : job->store_failures;
    const char *as = exec_cfg_str(m.n, "store_failures_as");
    if (as) {
        if (strcmp(as, "ephemeral") != 0 && strcmp(as, "table") != 0 && strcmp(as, "view") != 0) {
            matu_error_kind(&m, "Compilation Error", "'%s' is not a valid value for `store_failures_as`. "
                            "Accepted values are: ['ephemeral', 'table', 'view']", as);
            return matu_fail(&m);
        }
        store = strcmp(as, "ephemeral") != 0;
    } else {
        as = "table";
    }
    if (store) {
        if (ensure_schema(&m, &m.T) != 0)
            return matu_fail(&m);
        if (matu_begin(&m) != 0)
            return matu_fail(&m);
        if (matu_drop(&m, &m.T, matu_cached(&m, &m.T)) != 0)
            return matu_fail(&m);
        bool view = strcmp(as, "view") == 0;
        const char *c = view ? matu_create_view(&m, &m.T, main_sql)
                             : matu_create_table(&m, &m.T, main_sql, false);
        if (matu_sql(&m, c, NULL, NULL, 0) != 0)
            return matu_fail(&m);
        matu_cache_set(&m, &m.T, view ? REL_VIEW : REL_TABLE);
        if (matu_commit(&m) != 0)
            return matu_fail(&m);
        main_sql = arena_sprintf(m.a, "select *\nfrom %s", m.T.sql);
    }
    const char *fail_calc = cfg_text(&m, "fail_calc", "count(*)");
    const char *warn_if = cfg_text(&m, "warn_if", "!= 0");
    const char *error_if = cfg_text(&m, "error_if", "!= 0");
    Value *lim = exec_cfg(m.n, "limit");
    const char *limit = lim && lim->type != V_NONE && lim->type != V_UNDEF ? value_to_cstr(m.a, *lim) : NULL;
    const char *sql = arena_sprintf(m.a,
        "select\n  %s as failures,\n  %s %s as should_warn,\n  %s %s as should_error\nfrom (\n%s\n%s%s%s) dbt_internal_test",
        fail_calc, fail_calc, warn_if, fail_calc, error_if, main_sql,
        limit ? "limit " : "", limit ? limit : "", limit ? "\n" : "");
    if (matu_begin(&m) != 0)
        return matu_fail(&m);
    PgResult *res = NULL;
    if (matu_sql(&m, sql, &res, m.main_tag, sizeof m.main_tag) != 0)
        return matu_fail(&m);
    if (!res || res->nrows != 1 || res->ncols < 3) {
        matu_error_kind(&m, "Runtime Error", "dbt internally failed to execute %s: Returned %d rows, but expected 1 row",
                   m.n->unique_id, res ? res->nrows : 0);
        if (res)
            pg_result_free(res);
        return matu_fail(&m);
    }
    const char *fv = res->rows[0][0];
    int64_t failures = fv ? strtoll(fv, NULL, 10) : 0;
    bool should_warn = pg_bool(res->rows[0][1]);
    bool should_error = pg_bool(res->rows[0][2]);
    pg_result_free(res);
    /* the test's transaction is rolled back, never committed (§6.1) */
    exec_log(job->sh, m.n->unique_id, "ROLLBACK");
    pg_rollback(job->conn);
    m.nundo = 0;

    const char *severity = exec_cfg_str(m.n, "severity");
    bool sev_error = !severity || strcasecmp(severity, "error") == 0;
    matu_parse_tag(m.a, m.main_tag, &job->adapter_code, &job->rows_affected);
    job->adapter_message = arena_strdup(m.a, m.main_tag);
    job->failures = 0;
    job->message = NULL;
    if (sev_error && should_error) {
        job->status = NS_FAIL;
        job->message = arena_sprintf(m.a, "Got %s, configured to fail if %s", plural(m.a, failures), error_if);
        job->failures = failures;
    } else if (should_warn) {
        if (exec_shared_warn_error(job->sh)) {
            job->status = NS_FAIL;
            job->message = arena_sprintf(m.a, "Got %s, configured to fail if %s", plural(m.a, failures), warn_if);
        } else {
            job->status = NS_WARN;
            job->message = arena_sprintf(m.a, "Got %s, configured to warn if %s", plural(m.a, failures), warn_if);
        }
        job->failures = failures;
    } else {
        job->status = NS_PASS;
    }
    return 0;
}
