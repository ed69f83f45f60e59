/* mat_view.c - the view materialization (§6.3): build <alias>__dbt_tmp as a
 * view, swap it in for the target (old one renamed to __dbt_backup) inside
 * one transaction, then drop the backup.  Statement order is dbt-postgres
 * 1.9's; shared pieces (names, hooks, grants, cache undo) are in matu.c.
 *
 * cdbt's own statements are pipelined (matu_pipeline): without hooks a
 * rebuild is one round trip, BEGIN; create view; alter T rename to B; alter I
 * rename to T; COMMIT; drop B -- still one statement and one result each, in
 * this order, the drop only after the COMMIT succeeded.  Hooks run on their
 * own after whatever is queued. */
#include "matu.h"

int mat_view(NodeJob *job)
{
    MatCtx m;
    if (matu_init(&m, job) != 0)
        return -1;
    matu_pipeline(&m, true);
    RelType E = m.E;
    /* 1. outside pre-hooks */
    if (matu_hooks(&m, true, false) != 0)
        return matu_fail(&m);
    /* 2. stale intermediate / backup (psycopg2 opens the transaction here) */
    if (matu_begin(&m) != 0)
        return matu_fail(&m);
    if (matu_drop(&m, &m.I, matu_cached(&m, &m.I)) != 0 ||
        matu_drop(&m, &m.B, matu_cached(&m, &m.B)) != 0)
        return matu_fail(&m);
    /* 3. BEGIN (no-op) + inside pre-hooks */
    if (matu_hooks(&m, true, true) != 0)
        return matu_fail(&m);
    /* 4. main (an enforced contract: the query's columns checked first) */
    if (matu_contract_check(&m, job->sql) != 0 ||
        matu_sql(&m, matu_create_view(&m, &m.I, job->sql), NULL, m.main_tag, sizeof m.main_tag) != 0)
        return matu_fail(&m);
    matu_cache_set(&m, &m.I, REL_VIEW);
    /* 5-6. swap */
    RelType e_now = matu_cached(&m, &m.T);
    if (e_now != REL_NONE && matu_rename(&m, &m.T, &m.B) != 0)
        return matu_fail(&m);
    if (matu_rename(&m, &m.I, &m.T) != 0)
        return matu_fail(&m);
    /* 7. grants (fresh relation: no revoke check) */
    if (matu_grants(&m, &m.T, false) != 0 || matu_persist_docs(&m, &m.T, REL_VIEW) != 0)
        return matu_fail(&m);
    /* 8-9. inside post-hooks, COMMIT */
    if (matu_hooks(&m, false, true) != 0 || matu_commit(&m) != 0)
        return matu_fail(&m);
    /* 10. always drop the backup, typed as E (else view) */
    if (matu_drop(&m, &m.B, E != REL_NONE ? E : REL_VIEW) != 0)
        return matu_fail(&m);
    /* 11. outside post-hooks */
    if (matu_hooks(&m, false, false) != 0 || matu_flush(&m) != 0)
        return matu_fail(&m);
    matu_success(&m, m.main_tag);
    return 0;
}
