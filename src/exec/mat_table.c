/* mat_table.c - the table materialization (§6.4): `create [unlogged] table
 * <alias>__dbt_tmp as (...)`, swap with the target through __dbt_backup in
 * one transaction, indexes, grants, drop the backup after COMMIT.  Statement
 * order is dbt-postgres 1.9's (stale drops before the hooks, post-hooks
 * before grants).  cdbt's own statements are pipelined as in mat_view.c. */
#include "matu.h"

int mat_table(NodeJob *job)
{
    MatCtx m;
    if (matu_init(&m, job) != 0)
        return -1;
    matu_pipeline(&m, true);
    RelType E = m.E;
    /* 1. stale intermediate / backup */
    if (matu_begin(&m) != 0)
        return matu_fail(&m);
    if (matu_drop(&m, &m.I, matu_cached(&m, &m.I)) != 0 ||
        matu_drop(&m, &m.B, matu_cached(&m, &m.B)) != 0)
        return matu_fail(&m);
    /* 2. outside pre-hooks (`commit;` first), BEGIN, inside pre-hooks */
    if (matu_hooks(&m, true, false) != 0 || matu_begin(&m) != 0 || matu_hooks(&m, true, true) != 0)
        return matu_fail(&m);
    /* 3. main (an enforced contract: the query's columns checked first) */
    if (matu_contract_check(&m, job->sql) != 0 ||
        matu_sql(&m, matu_create_table(&m, &m.I, job->sql, false), NULL, m.main_tag, sizeof m.main_tag) != 0)
        return matu_fail(&m);
    matu_cache_set(&m, &m.I, REL_TABLE);
    /* 4. swap */
    if (matu_cached(&m, &m.T) != REL_NONE && matu_rename(&m, &m.T, &m.B) != 0)
        return matu_fail(&m);
    if (matu_rename(&m, &m.I, &m.T) != 0)
        return matu_fail(&m);
    /* 5-7. indexes, inside post-hooks, grants */
    if (matu_indexes(&m, &m.T) != 0 || matu_hooks(&m, false, true) != 0 ||
        matu_grants(&m, &m.T, false) != 0 || matu_persist_docs(&m, &m.T, REL_TABLE) != 0)
        return matu_fail(&m);
    /* 8. COMMIT, drop backup, outside post-hooks */
    if (matu_commit(&m) != 0)
        return matu_fail(&m);
    if (matu_drop(&m, &m.B, E != REL_NONE ? E : REL_TABLE) != 0)
        return matu_fail(&m);
    if (matu_hooks(&m, false, false) != 0 || matu_flush(&m) != 0)
        return matu_fail(&m);
    matu_success(&m, m.main_tag);
    return 0;
}
