/* mat_incremental.c - the incremental materialization (§7): first build
 * (create table T), full refresh (build __dbt_tmp and swap), or an
 * incremental step: new rows into a session temporary table, varchar
 * widening, on_schema_change (ignore / fail / append_new_columns /
 * sync_all_columns), then the strategy statement (append, delete+insert,
 * merge; default = delete+insert with a unique_key, else append).
 *
 * Column introspection (dbt's get_columns_in_relation, Column/PostgresColumn
 * data_type rules, alter_column_type, varchar widening), names, hooks,
 * grants, indexes and cache undo come from matu.c. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "matu.h"

static void py_str_list(Sb *s, const char **items, int n)
{
    sb_putc(s, '[');
    for (int i = 0; i < n; i++)
        sb_printf(s, "%s'%s'", i ? ", " : "", items[i]);
    sb_putc(s, ']');
}

/* on_schema_change for mode != ignore.  *dest = TMP's columns. */
static int schema_changes(MatCtx *m, const char *mode, const MRel *T, const MCols *src, const MCols *tgt)
{
    const char **add = ARENA_ARRAY(m->a, const char *, src->n + 1);
    const MCol **addc = ARENA_ARRAY(m->a, const MCol *, src->n + 1);
    const char **rem = ARENA_ARRAY(m->a, const char *, tgt->n + 1);
    const MCol **chg = ARENA_ARRAY(m->a, const MCol *, src->n + 1);
    int nadd = 0, nrem = 0, nchg = 0;
    for (int i = 0; i < src->n; i++) {
        const MCol *tc = matu_find_col(tgt, src->c[i].name);
        if (!tc) {
            addc[nadd] = &src->c[i];
            add[nadd++] = src->c[i].name;
        } else if (strcmp(matu_data_type(m->a, &src->c[i]), matu_data_type(m->a, tc)) != 0 &&
                   !matu_can_expand_to(&src->c[i], tc)) {
            chg[nchg++] = &src->c[i];
        }
    }
    for (int i = 0; i < tgt->n; i++)
        if (!matu_find_col(src, tgt->c[i].name))
            rem[nrem++] = tgt->c[i].name;
    if (nadd + nrem + nchg == 0)
        return 0;
    if (strcmp(mode, "fail") == 0) {
        Sb s = SB_INIT;
        sb_puts(&s, "The source and target schemas on this incremental model are out of sync!\n"
                    "They can be reconciled in several ways:\n"
                    "  - set the `on_schema_change` config to either append_new_columns or sync_all_columns, depending on your situation.\n"
                    "  - Re-run the incremental model with `full_refresh: True` to update the target schema.\n"
                    "  - update the schema manually and re-run the process.\n\n"
                    "Additional troubleshooting context:\n   Source columns not in target: ");
        py_str_list(&s, add, nadd);
        sb_puts(&s, "\n   Target columns not in source: ");
        py_str_list(&s, rem, nrem);
        sb_puts(&s, "\n   New column types: [");
        for (int i = 0; i < nchg; i++)
            sb_printf(&s, "%s{'column_name': '%s', 'new_type': '%s'}", i ? ", " : "", chg[i]->name,
                      matu_data_type(m->a, chg[i]));
        sb_puts(&s, "]");
        matu_error_kind(m, "Compilation Error", "%s", sb_cstr(&s));
        sb_free(&s);
        return -1;
    }
    bool sync = strcmp(mode, "sync_all_columns") == 0;
    if (nadd > 0 || (sync && nrem > 0)) {
        Sb s = SB_INIT;
        sb_printf(&s, "alter table %s\n", T->sql);
        for (int i = 0; i < nadd; i++)
            sb_printf(&s, "  add column %s %s%s\n", addc[i]->name, matu_data_type(m->a, addc[i]),
                      i + 1 < nadd ? "," : "");
        if (sync) {
            if (nadd && nrem)
                sb_puts(&s, ",\n");
            for (int i = 0; i < nrem; i++)
                sb_printf(&s, "  drop column %s%s\n", rem[i], i + 1 < nrem ? "," : "");
        }
        int rc = matu_sql(m, sb_cstr(&s), NULL, NULL, 0);
        sb_free(&s);
        if (rc != 0)
            return -1;
    }
    if (sync)
        for (int i = 0; i < nchg; i++)
            if (matu_alter_column_type(m, T, chg[i]->name, matu_data_type(m->a, chg[i])) != 0)
                return -1;
    return 0;
}

static bool is_list(const Value *v) { return v && (v->type == V_LIST || v->type == V_TUPLE); }

static bool key_set(const Value *k)
{
    if (!k || k->type == V_NONE || k->type == V_UNDEF)
        return false;
    if (k->type == V_STR)
        return k->u.s->len > 0;
    if (is_list(k))
        return k->u.l->len > 0;
    return value_truthy(*k);
}

static void dest_csv(Sb *s, const MCols *d)
{
    for (int i = 0; i < d->n; i++) {
        if (i)
            sb_puts(s, ", ");
        matu_put_qident(s, d->c[i].name);
    }
}

static void insert_sql(Sb *s, const MRel *T, const MRel *TMP, const MCols *dest)
{
    Sb csv = SB_INIT;
    dest_csv(&csv, dest);
    sb_printf(s, "insert into %s (%s)\n(\n    select %s\n    from %s\n)", T->sql, sb_cstr(&csv),
              sb_cstr(&csv), TMP->sql);
    sb_free(&csv);
}

static void delete_insert_sql(MatCtx *m, Sb *s, const MRel *T, const MRel *TMP, const Value *key,
                              const char **preds, int npreds, const MCols *dest)
{
    if (key_set(key)) {
        if (is_list(key)) {
            sb_printf(s, "delete from %s\nusing %s\nwhere (\n", T->sql, TMP->sql);
            for (size_t i = 0; i < key->u.l->len; i++) {
                const char *k = value_to_cstr(m->a, key->u.l->items[i]);
                sb_printf(s, "    %s.%s = %s.%s%s\n", TMP->sql, k, T->sql, k,
                          i + 1 < key->u.l->len ? " and" : "");
            }
            for (int i = 0; i < npreds; i++)
                sb_printf(s, "    and %s\n", preds[i]);
            sb_puts(s, ");\n");
        } else {
            const char *k = value_to_cstr(m->a, *key);
            sb_printf(s, "delete from %s\nwhere (\n    %s) in (\n    select (%s)\n    from %s\n)", T->sql, k, k,
                      TMP->sql);
            for (int i = 0; i < npreds; i++)
                sb_printf(s, "\n    and %s", preds[i]);
            sb_puts(s, ";\n");
        }
    }
    insert_sql(s, T, TMP, dest);
}

static int merge_sql(MatCtx *m, Sb *s, const MRel *T, const MRel *TMP, const Value *key,
                     const char **preds, int npreds, const MCols *dest)
{
    int nupd = 0, nexc = 0;
    const char **upd = matu_cfg_strlist(m, "merge_update_columns", &nupd);
    const char **exc = matu_cfg_strlist(m, "merge_exclude_columns", &nexc);
    if (upd && exc && nupd && nexc) {
        matu_error_kind(m, "Compilation Error", "Model cannot specify merge_update_columns and merge_exclude_columns. "
                      "Please update model to use only one config");
        return -1;
    }
    Sb on = SB_INIT;
    for (int i = 0; i < npreds; i++)
        sb_printf(&on, "%s(%s)", on.len ? " and " : "", preds[i]);
    bool has_key = key_set(key);
    if (has_key && is_list(key)) {
        for (size_t i = 0; i < key->u.l->len; i++) {
            const char *k = value_to_cstr(m->a, key->u.l->items[i]);
            sb_printf(&on, "%s(DBT_INTERNAL_SOURCE.%s = DBT_INTERNAL_DEST.%s)", on.len ? " and " : "", k, k);
        }
    } else if (has_key) {
        const char *k = value_to_cstr(m->a, *key);
        sb_printf(&on, "%s(DBT_INTERNAL_SOURCE.%s = DBT_INTERNAL_DEST.%s)", on.len ? " and " : "", k, k);
    } else {
        sb_printf(&on, "%s(FALSE)", on.len ? " and " : "");
    }
    const char *hdr = exec_cfg_str(m->n, "sql_header");
    if (hdr)
        sb_printf(s, "%s\n", hdr);
    sb_printf(s, "merge into %s as DBT_INTERNAL_DEST\n    using %s as DBT_INTERNAL_SOURCE\n    on %s\n",
              T->sql, TMP->sql, sb_cstr(&on));
    sb_free(&on);
    if (has_key) {
        sb_puts(s, "when matched then update set\n    ");
        bool first = true;
        if (nupd) {
            for (int i = 0; i < nupd; i++) {
                sb_printf(s, "%s%s = DBT_INTERNAL_SOURCE.%s", first ? "" : ", ", upd[i], upd[i]);
                first = false;
            }
        } else {
            for (int i = 0; i < dest->n; i++) {
                bool excluded = false;
                for (int k = 0; k < nexc; k++)
                    if (strcasecmp(dest->c[i].name, exc[k]) == 0)
                        excluded = true;
                if (excluded)
                    continue;
                Sb q = SB_INIT;
                matu_put_qident(&q, dest->c[i].name);
                sb_printf(s, "%s%s = DBT_INTERNAL_SOURCE.%s", first ? "" : ", ", sb_cstr(&q), sb_cstr(&q));
                sb_free(&q);
                first = false;
            }
        }
        sb_puts(s, "\n");
    }
    Sb csv = SB_INIT;
    dest_csv(&csv, dest);
    sb_printf(s, "when not matched then insert\n    (%s)\nvalues\n    (%s)\n", sb_cstr(&csv), sb_cstr(&csv));
    sb_free(&csv);
    return 0;
}

static bool should_full_refresh(MatCtx *m)
{
    if (m->job->mb_incremental)
        return false;   /* microbatch: batches after the first (dbt overrides should_full_refresh) */
    Value *fr = exec_cfg(m->n, "full_refresh");
    if (fr && fr->type != V_NONE && fr->type != V_UNDEF)
        return exec_cfg_bool(m->n, "full_refresh", false);
    return m->job->full_refresh;
}

int mat_incremental(NodeJob *job)
{
    MatCtx m;
    if (matu_init(&m, job) != 0)
        return -1;
    RelType E = m.E;
    bool fr_flag = should_full_refresh(&m);
    bool full_refresh_mode = fr_flag || E == REL_VIEW;
    const char *osc = exec_cfg_str(m.n, "on_schema_change");
    if (!osc || (strcmp(osc, "ignore") != 0 && strcmp(osc, "fail") != 0 &&
                 strcmp(osc, "append_new_columns") != 0 && strcmp(osc, "sync_all_columns") != 0)) {
        if (osc)
            exec_log(job->sh, m.n->unique_id,
                     "Invalid value for on_schema_change (%s) specified. Setting default value of ignore.", osc);
        osc = "ignore";
    }
    bool swap = false;
    /* 1. stale I/B, outside pre-hooks, BEGIN, inside pre-hooks */
    if (matu_begin(&m) != 0)
        return matu_fail(&m);
    if (matu_drop(&m, &m.I, matu_cached(&m, &m.I)) != 0 ||
        matu_drop(&m, &m.B, matu_cached(&m, &m.B)) != 0)
        return matu_fail(&m);
    if (matu_hooks(&m, true, false) != 0 || matu_begin(&m) != 0 || matu_hooks(&m, true, true) != 0)
        return matu_fail(&m);
    /* 2. strategy */
    const char *strategy = exec_cfg_str(m.n, "incremental_strategy");
    if (!strategy || !*strategy)
        strategy = "default";
    if (strcmp(strategy, "insert_overwrite") == 0) {
        matu_error_kind(&m, "Runtime Error", "The incremental strategy '%s' is not valid for this adapter", strategy);
        return matu_fail(&m);
    }
    /* microbatch (dbt-postgres 1.9's postgres__get_incremental_microbatch_sql):
     * each batch is a merge on unique_key, which it requires; the batch's
     * rows come from the SQL compiled with its window (src/exec/runner.c) */
    bool microbatch = strcmp(strategy, "microbatch") == 0;
    if (strcmp(strategy, "default") != 0 && strcmp(strategy, "append") != 0 && !microbatch &&
        strcmp(strategy, "delete+insert") != 0 && strcmp(strategy, "merge") != 0) {
        Sb mn = SB_INIT;
        for (const char *p = strategy; *p; p++)
            sb_putc(&mn, *p == '+' ? '_' : *p);
        matu_error_kind(&m, "Compilation Error", "'get_incremental_%s_sql' is not defined (custom incremental strategies are not "
                       "supported by cdbt)", sb_cstr(&mn));
        sb_free(&mn);
        return matu_fail(&m);
    }
    /* contracts: on_schema_change must keep the columns the contract
     * names, and every run asserts the query against them */
    if (matu_contract_enforced(&m) && strcmp(osc, "append_new_columns") != 0 && strcmp(osc, "fail") != 0) {
        matu_error_kind(&m, "Compilation Error",
                        "Invalid value for on_schema_change: %s. Models materialized as incremental with contracts "
                        "enabled must set on_schema_change to 'append_new_columns' or 'fail'", osc);
        return matu_fail(&m);
    }
    if (matu_contract_check(&m, job->sql) != 0)
        return matu_fail(&m);
    const char *main_sql;
    if (E == REL_NONE) {
        /* 3a. first build */
        main_sql = matu_create_table(&m, &m.T, job->sql, false);
        if (matu_sql(&m, main_sql, NULL, m.main_tag, sizeof m.main_tag) != 0)
            return matu_fail(&m);
        matu_cache_set(&m, &m.T, REL_TABLE);
    } else if (full_refresh_mode) {
        /* 3b. full refresh: build I, swap */
        main_sql = matu_create_table(&m, &m.I, job->sql, false);
        if (matu_sql(&m, main_sql, NULL, m.main_tag, sizeof m.main_tag) != 0)
            return matu_fail(&m);
        matu_cache_set(&m, &m.I, REL_TABLE);
        if (matu_rename(&m, &m.T, &m.B) != 0 || matu_rename(&m, &m.I, &m.T) != 0)
            return matu_fail(&m);
        swap = true;
    } else {
        /* 3c. incremental step */
        MRel TMP;
        matu_tmp(&m, &TMP);
        if (matu_sql(&m, matu_create_table(&m, &TMP, job->sql, true), NULL, NULL, 0) != 0)
            return matu_fail(&m);
        MCols src = {0}, tgt = {0};
        if (matu_get_columns(&m, &TMP, &src) != 0 || matu_get_columns(&m, &m.T, &tgt) != 0)
            return matu_fail(&m);
        /* b. varchar widening (not with an enforced contract) */
        bool widened = false;
        if (!matu_contract_enforced(&m) && matu_expand_column_types(&m, &m.T, &src, &tgt, &widened) != 0)
            return matu_fail(&m);
        /* c. on_schema_change */
        const MCols *dest = &tgt;
        if (strcmp(osc, "ignore") != 0) {
            if (widened && matu_get_columns(&m, &m.T, &tgt) != 0)
                return matu_fail(&m);
            if (schema_changes(&m, osc, &m.T, &src, &tgt) != 0)
                return matu_fail(&m);
            dest = &src;
        } else if (widened && matu_get_columns(&m, &m.T, &tgt) != 0) {
            return matu_fail(&m);
        }
        /* d. strategy statement */
        Value *key = exec_cfg(m.n, "unique_key");
        int npreds = 0;
        const char **preds = matu_cfg_strlist(&m, "predicates", &npreds);
        if (!npreds)
            preds = matu_cfg_strlist(&m, "incremental_predicates", &npreds);
        Sb s = SB_INIT;
        if (microbatch && !key_set(key)) {
            sb_free(&s);
            matu_error_kind(&m, "Compilation Error", "dbt-postgres 'microbatch' requires a `unique_key` config");
            return matu_fail(&m);
        }
        if (strcmp(strategy, "merge") == 0 || microbatch) {
            if (merge_sql(&m, &s, &m.T, &TMP, key, preds, npreds, dest) != 0) {
                sb_free(&s);
                return matu_fail(&m);
            }
        } else if (strcmp(strategy, "delete+insert") == 0 ||
                   (strcmp(strategy, "default") == 0 && key_set(key))) {
            delete_insert_sql(&m, &s, &m.T, &TMP, key, preds, npreds, dest);
        } else {
            insert_sql(&s, &m.T, &TMP, dest);
        }
        main_sql = arena_strndup(m.a, sb_cstr(&s), s.len);
        sb_free(&s);
        if (matu_sql(&m, main_sql, NULL, m.main_tag, sizeof m.main_tag) != 0)
            return matu_fail(&m);
    }
    /* 4. grants, indexes */
    if (matu_grants(&m, &m.T, E != REL_NONE && !full_refresh_mode) != 0 ||
        matu_persist_docs(&m, &m.T, REL_TABLE) != 0)
        return matu_fail(&m);
    if ((E == REL_NONE || E == REL_VIEW || fr_flag) && matu_indexes(&m, &m.T) != 0)
        return matu_fail(&m);
    /* 5. inside post-hooks, COMMIT, drop backup, outside post-hooks */
    if (matu_hooks(&m, false, true) != 0 || matu_commit(&m) != 0)
        return matu_fail(&m);
    if (swap && matu_drop(&m, &m.B, E) != 0)
        return matu_fail(&m);
    if (matu_hooks(&m, false, false) != 0)
        return matu_fail(&m);
    matu_success(&m, m.main_tag);
    return 0;
}
