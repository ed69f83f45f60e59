/* mat_snapshot.c - the snapshot materialization (§10) as dbt-core 1.9 with
 * dbt-postgres runs it: validate the config, then either the first build
 * (`create table T as (select *, <scd_id> as dbt_scd_id, ... from (<sql>)
 * sbq)`) or a later run: the staging query (snapshot_staging_table) into a
 * session temporary table, varchar widening, missing columns added to T,
 * then dbt's postgres__snapshot_merge_sql (update closing changed / deleted
 * rows, insert of new versions) as the main statement, COMMIT, and the
 * staging table dropped (postgres__post_snapshot).
 *
 * Strategies: timestamp (updated_at column) and check (check_cols 'all' or a
 * list; updated_at = now()::timestamp without time zone unless configured).
 * unique_key: a string or (1.9) a list.  Hard deletes: ignore, invalidate
 * (hard_deletes: invalidate or legacy invalidate_hard_deletes: true) and
 * new_record (1.9: a dbt_is_deleted column, 'True' on the row a deletion
 * inserts, closed again when the key comes back).
 * Not supported (a clear error, never different data): renamed
 * snapshot_meta_column_names, custom strategies.  Column helpers, names, hooks, grants, indexes and
 * cache undo come from matu.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "matu.h"

/* The snapshot's configuration, validated before anything is sent. */
typedef struct SnapCfg {
    bool check;                  /* strategy: check (else timestamp) */
    const char **keys; int nkeys;
    bool key_list;               /* unique_key given as a list */
    const char *updated_at;      /* the strategy's updated_at expression */
    bool check_all;              /* check_cols: 'all' */
    const char **check_cols; int ncheck;
    bool invalidate;             /* hard deletes: invalidate (or new_record) */
    bool new_record;             /* hard deletes: new_record (dbt_is_deleted) */
    const char *valid_to_current;    /* dbt_valid_to_current (1.9): the current rows' dbt_valid_to, or NULL */
} SnapCfg;

static bool unset(const Value *v) { return !v || v->type == V_NONE || v->type == V_UNDEF; }
static bool is_list(const Value *v) { return v && (v->type == V_LIST || v->type == V_TUPLE); }

/* A list of non-empty strings (a string is a list of one); false if v is
 * anything else or empty. */
static bool str_list(MatCtx *m, const Value *v, const char ***out, int *n)
{
    *n = 0;
    if (v->type == V_STR) {
        if (!v->u.s->len)
            return false;
        *out = ARENA_ARRAY(m->a, const char *, 1);
        (*out)[(*n)++] = v->u.s->s;
        return true;
    }
    if (!is_list(v) || v->u.l->len == 0)
        return false;
    *out = ARENA_ARRAY(m->a, const char *, v->u.l->len + 1);
    for (size_t i = 0; i < v->u.l->len; i++) {
        Value it = v->u.l->items[i];
        if (it.type != V_STR || !it.u.s->len)
            return false;
        (*out)[(*n)++] = it.u.s->s;
    }
    return true;
}

/* dbt's SnapshotConfig.validate, adapter.get_hard_deletes_behavior and the
 * options cdbt does not implement. */
static int read_config(MatCtx *m, SnapCfg *c)
{
    memset(c, 0, sizeof *c);
    const char *strategy = exec_cfg_str(m->n, "strategy");
    Value *key = exec_cfg(m->n, "unique_key");
    if (!strategy || !*strategy || unset(key) || (key->type == V_STR && !key->u.s->len) ||
        (is_list(key) && key->u.l->len == 0)) {
        matu_error_kind(m, "Compilation Error", "Snapshots must be configured with a 'strategy' and 'unique_key'.");
        return -1;
    }
    if (!str_list(m, key, &c->keys, &c->nkeys)) {
        matu_error_kind(m, "Compilation Error",
                        "Invalid value for 'unique_key': expected a column name or a list of column names");
        return -1;
    }
    c->key_list = is_list(key);
    const char *upd = exec_cfg_str(m->n, "updated_at");
    if (upd && !*upd)
        upd = NULL;
    if (strcmp(strategy, "timestamp") == 0) {
        if (!upd) {
            matu_error_kind(m, "Compilation Error", "A snapshot configured with the timestamp strategy must specify "
                                                    "an updated_at configuration.");
            return -1;
        }
        c->updated_at = upd;
    } else if (strcmp(strategy, "check") == 0) {
        c->check = true;
        Value *cc = exec_cfg(m->n, "check_cols");
        if (unset(cc) || (cc->type == V_STR && !cc->u.s->len) || (is_list(cc) && cc->u.l->len == 0)) {
            matu_error_kind(m, "Compilation Error",
                            "A snapshot configured with the check strategy must specify a check_cols configuration.");
            return -1;
        }
        if (cc->type == V_STR) {
            if (strcmp(cc->u.s->s, "all") != 0) {
                matu_error_kind(m, "Compilation Error",
                                "Invalid value for 'check_cols': %s. Expected 'all' or a list of strings.", cc->u.s->s);
                return -1;
            }
            c->check_all = true;
        } else if (!str_list(m, cc, &c->check_cols, &c->ncheck)) {
            matu_error_kind(m, "Compilation Error", "Invalid value for 'check_cols': %s. Expected 'all' or a list of strings.",
                            value_to_cstr(m->a, *cc));
            return -1;
        }
        c->updated_at = upd ? upd : "now()::timestamp without time zone";   /* postgres__snapshot_get_time */
    } else {
        matu_error_kind(m, "Compilation Error", "Snapshot strategy '%s' is not supported by cdbt yet (custom strategies: "
                                                "macro 'snapshot_%s_strategy'); use 'timestamp' or 'check'",
                        strategy, strategy);
        return -1;
    }
    Value *ihd = exec_cfg(m->n, "invalidate_hard_deletes");
    Value *hd = exec_cfg(m->n, "hard_deletes");
    if (!unset(ihd) && !unset(hd)) {
        matu_error_kind(m, "Runtime Error", "You cannot set both the invalidate_hard_deletes and hard_deletes config "
                                            "properties on the same snapshot.");
        return -1;
    }
    const char *hds = hd && hd->type == V_STR ? hd->u.s->s : NULL;
    if (exec_cfg_bool(m->n, "invalidate_hard_deletes", false) || (hds && strcmp(hds, "invalidate") == 0)) {
        c->invalidate = true;
    } else if (hds && strcmp(hds, "new_record") == 0) {
        c->invalidate = c->new_record = true;
    } else if (!unset(hd) && !(hds && strcmp(hds, "ignore") == 0)) {
        matu_error_kind(m, "Runtime Error", "Invalid setting for property hard_deletes.");
        return -1;
    }
    Value *vtc = exec_cfg(m->n, "dbt_valid_to_current");
    if (!unset(vtc)) {
        if (vtc->type != V_STR || !vtc->u.s->len) {
            matu_error_kind(m, "Compilation Error", "Invalid value for 'dbt_valid_to_current': expected a SQL "
                                                    "expression as a string, such as \"'9999-12-31'::date\"");
            return -1;
        }
        c->valid_to_current = vtc->u.s->s;
    }
    Value *meta = exec_cfg(m->n, "snapshot_meta_column_names");
    if (meta && meta->type == V_DICT) {
        static const char *const kMeta[] = {"dbt_valid_to", "dbt_valid_from", "dbt_scd_id", "dbt_updated_at",
                                            "dbt_is_deleted"};
        for (size_t i = 0; i < sizeof kMeta / sizeof kMeta[0]; i++) {
            Value *v = dict_getz(meta->u.d, kMeta[i]);
            if (!unset(v) && !(v->type == V_STR && strcmp(v->u.s->s, kMeta[i]) == 0)) {
                matu_error_kind(m, "Runtime Error", "snapshot_meta_column_names (renaming %s) is not supported by cdbt yet",
                                kMeta[i]);
                return -1;
            }
        }
    } else if (!unset(meta)) {
        matu_error_kind(m, "Runtime Error", "snapshot_meta_column_names is not supported by cdbt yet");
        return -1;
    }
    return 0;
}

/* snapshot_hash_arguments(scd_args(unique_key, updated_at)) */
static void scd_id(Sb *s, const SnapCfg *c)
{
    sb_puts(s, "md5(");
    for (int i = 0; i <= c->nkeys; i++) {
        const char *arg = i < c->nkeys ? c->keys[i] : c->updated_at;
        sb_printf(s, "coalesce(cast(%s as varchar ), '')", arg);
        if (i < c->nkeys)
            sb_puts(s, "\n         || '|' || ");
    }
    sb_putc(s, ')');
}

/* unique_key_fields */
static void key_fields(Sb *s, const SnapCfg *c)
{
    if (!c->key_list) {
        sb_printf(s, "%s as dbt_unique_key", c->keys[0]);
        return;
    }
    for (int i = 0; i < c->nkeys; i++)
        sb_printf(s, "%s%s as dbt_unique_key_%d", i ? " , " : "", c->keys[i], i + 1);
}

/* unique_key_join_on(snapshotted_data, source_data) */
static void key_join(Sb *s, const SnapCfg *c)
{
    if (!c->key_list) {
        sb_puts(s, "snapshotted_data.dbt_unique_key = source_data.dbt_unique_key");
        return;
    }
    for (int i = 0; i < c->nkeys; i++)
        sb_printf(s, "%ssnapshotted_data.dbt_unique_key_%d = source_data.dbt_unique_key_%d", i ? "\n                and " : "",
                  i + 1, i + 1);
}

/* unique_key_is_null / unique_key_is_not_null (a list key: its first column) */
static void key_null(Sb *s, const SnapCfg *c, const char *rel, bool is_null)
{
    sb_printf(s, "%s.dbt_unique_key%s is %snull", rel, c->key_list ? "_1" : "", is_null ? "" : "not ");
}

/* dbt's get_columns_in_query: the column names of a select. */
static int query_columns(MatCtx *m, const char *select, const char ***out, int *n)
{
    const char *q = arena_sprintf(m->a, "select * from (\n%s\n) as __dbt_sbq\nwhere false\nlimit 0", select);
    PgResult *res = NULL;
    if (matu_sql(m, q, &res, NULL, 0) != 0)
        return -1;
    *n = res ? res->ncols : 0;
    *out = ARENA_ARRAY(m->a, const char *, *n + 1);
    for (int i = 0; i < *n; i++)
        (*out)[i] = arena_strdup(m->a, res->colnames[i]);
    if (res)
        pg_result_free(res);
    return 0;
}

/* snapshot_check_all_get_existing_columns + the check strategy's
 * row_changed expression (the target exists). */
static int check_row_changed(MatCtx *m, const SnapCfg *c, const MCols *existing, Sb *out)
{
    const char **qc = NULL;
    int nq = 0;
    const char *select = m->job->sql;
    if (!c->check_all) {
        Sb s = SB_INIT;
        sb_puts(&s, "select ");
        for (int i = 0; i < c->ncheck; i++)
            sb_printf(&s, "%s%s", i ? ", " : "", c->check_cols[i]);
        sb_printf(&s, " from (\n                %s\n            ) subq", m->job->sql);
        select = arena_strndup(m->a, sb_cstr(&s), s.len);
        sb_free(&s);
    }
    if (query_columns(m, select, &qc, &nq) != 0)
        return -1;
    bool added = false;
    Sb q = SB_INIT;
    int nint = 0;
    sb_putc(out, '(');
    for (int i = 0; i < nq; i++) {
        if (!matu_find_col(existing, qc[i])) {
            added = true;
            continue;
        }
        sb_reset(&q);
        matu_put_qident(&q, qc[i]);
        const char *col = sb_cstr(&q);
        if (nint++)
            sb_puts(out, " or ");
        sb_printf(out,
                  "snapshotted_data.%s != source_data.%s\n        or\n        (\n"
                  "            ((snapshotted_data.%s is null) and not (source_data.%s is null))\n            or\n"
                  "            ((not snapshotted_data.%s is null) and (source_data.%s is null))\n        )",
                  col, col, col, col, col, col);
    }
    sb_free(&q);
    if (added) {
        sb_reset(out);
        sb_puts(out, "(TRUE");
    } else if (nint == 0) {
        sb_puts(out, "FALSE");
    }
    sb_putc(out, ')');
    return 0;
}

/* default__build_snapshot_table */
/* get_dbt_valid_to_current: a new current row's dbt_valid_to */
static void valid_to_new(Sb *s, const SnapCfg *c)
{
    if (c->valid_to_current)
        sb_printf(s, "coalesce(nullif(%s, %s), %s)", c->updated_at, c->updated_at, c->valid_to_current);
    else
        sb_printf(s, "nullif(%s, %s)", c->updated_at, c->updated_at);
}

/* a row of T that is current: dbt_valid_to null, or dbt_valid_to_current */
static void is_current(Sb *s, const SnapCfg *c, const char *rel)
{
    if (c->valid_to_current)
        sb_printf(s, "(%s%sdbt_valid_to = %s or %s%sdbt_valid_to is null)", rel ? rel : "", rel ? "." : "",
                  c->valid_to_current, rel ? rel : "", rel ? "." : "");
    else
        sb_printf(s, "%s%sdbt_valid_to is null", rel ? rel : "", rel ? "." : "");
}

static const char *build_sql(MatCtx *m, const SnapCfg *c)
{
    Sb s = SB_INIT, id = SB_INIT, vt = SB_INIT;
    scd_id(&id, c);
    valid_to_new(&vt, c);
    sb_printf(&s,
              "\n    select *,\n        %s as dbt_scd_id,\n        %s as dbt_updated_at,\n"
              "        %s as dbt_valid_from,\n        %s as dbt_valid_to%s\n"
              "    from (\n        %s\n    ) sbq\n",
              sb_cstr(&id), c->updated_at, c->updated_at, sb_cstr(&vt),
              c->new_record ? ",\n        'False' as dbt_is_deleted" : "", m->job->sql);
    sb_free(&vt);
    const char *r = arena_strndup(m->a, sb_cstr(&s), s.len);
    sb_free(&s);
    sb_free(&id);
    return r;
}

/* new_record: a current row of T marked deleted */
static void deleted_current(Sb *s, const SnapCfg *c)
{
    sb_puts(s, "snapshotted_data.dbt_is_deleted = 'True'\n                and\n                ");
    if (c->valid_to_current)
        sb_printf(s, "snapshotted_data.dbt_valid_to = %s", c->valid_to_current);
    else
        sb_puts(s, "snapshotted_data.dbt_valid_to is null");
}

/* new_record's deletion_records: for each key gone from the source whose
 * current row is not already a deletion, a row with T's values of the
 * source query's columns (null for a column T does not have yet),
 * dbt_is_deleted 'True', valid from now. */
static void deletion_records(Sb *s, const SnapCfg *c, const MCols *tgt, const char *const *qc, int nq,
                             const char *kj)
{
    const char *now = "now()::timestamp without time zone";
    sb_puts(s, ",\n\n    deletion_records as (\n\n        select\n            'insert' as dbt_change_type,");
    Sb q = SB_INIT;
    for (int i = 0; i < nq; i++) {
        sb_reset(&q);
        matu_put_qident(&q, qc[i]);
        if (matu_find_col(tgt, qc[i]))
            sb_printf(s, "\n            snapshotted_data.%s,", sb_cstr(&q));
        else
            sb_printf(s, "\n            NULL as %s,", sb_cstr(&q));
    }
    sb_free(&q);
    if (c->key_list)
        for (int i = 0; i < c->nkeys; i++)
            sb_printf(s, "\n            snapshotted_data.%s as dbt_unique_key_%d,", c->keys[i], i + 1);
    else
        sb_puts(s, "\n            snapshotted_data.dbt_unique_key as dbt_unique_key,");
    sb_printf(s, "\n            %s as dbt_valid_from,\n            %s as dbt_updated_at,\n"
                 "            snapshotted_data.dbt_valid_to as dbt_valid_to,\n"
                 "            md5(coalesce(cast(dbt_scd_id as varchar ), '')\n         || '|' || "
                 "coalesce(cast(%s as varchar ), '')) as dbt_scd_id,\n"
                 "            'True' as dbt_is_deleted\n"
                 "        from snapshotted_data\n        left join deletes_source_data as source_data\n"
                 "            on %s\n        where ",
              now, now, now, kj);
    key_null(s, c, "source_data", true);
    sb_puts(s, "\n        and not (\n                ");
    deleted_current(s, c);
    sb_puts(s, "\n        )\n\n    )");
}

/* default__snapshot_staging_table (1.9).  new_record: tgt holds T's columns
 * and qc the source query's. */
static const char *staging_sql(MatCtx *m, const SnapCfg *c, const char *row_changed, const MCols *tgt,
                               const char *const *qc, int nq)
{
    Sb s = SB_INIT, id = SB_INIT, kf = SB_INIT, kj = SB_INIT;
    scd_id(&id, c);
    key_fields(&kf, c);
    key_join(&kj, c);
    const char *u = c->updated_at, *now = "now()::timestamp without time zone";
    sb_printf(&s, "with snapshot_query as (\n\n        %s\n\n    ),\n\n", m->job->sql);
    Sb cur = SB_INIT, vt = SB_INIT;
    is_current(&cur, c, NULL);
    valid_to_new(&vt, c);
    sb_printf(&s, "    snapshotted_data as (\n\n        select *, %s\n        from %s\n        where\n"
                  "                %s\n\n    ),\n\n", sb_cstr(&kf), m->T.sql, sb_cstr(&cur));
    sb_printf(&s, "    insertions_source_data as (\n\n        select *, %s,\n            %s as dbt_updated_at,\n"
                  "            %s as dbt_valid_from,\n            %s as dbt_valid_to,\n"
                  "            %s as dbt_scd_id\n\n        from snapshot_query\n    ),\n\n",
              sb_cstr(&kf), u, u, sb_cstr(&vt), sb_cstr(&id));
    sb_free(&cur);
    sb_free(&vt);
    sb_printf(&s, "    updates_source_data as (\n\n        select *, %s,\n            %s as dbt_updated_at,\n"
                  "            %s as dbt_valid_from,\n            %s as dbt_valid_to\n\n        from snapshot_query\n    ),\n\n",
              sb_cstr(&kf), u, u, u);
    if (c->invalidate)
        sb_printf(&s, "    deletes_source_data as (\n\n        select *, %s\n        from snapshot_query\n    ),\n\n",
                  sb_cstr(&kf));
    const char *nr = c->new_record ? " or snapshotted_data.dbt_is_deleted = 'True'" : "";
    sb_printf(&s, "    insertions as (\n\n        select\n            'insert' as dbt_change_type,\n"
                  "            source_data.*%s\n\n        from insertions_source_data as source_data\n"
                  "        left outer join snapshotted_data\n            on %s\n            where ",
              c->new_record ? ",\n            'False' as dbt_is_deleted" : "", sb_cstr(&kj));
    key_null(&s, c, "snapshotted_data", true);
    sb_puts(&s, "\n            or (");
    key_null(&s, c, "snapshotted_data", false);
    sb_printf(&s, " and (\n               %s%s\n            )\n\n        )\n\n    ),\n\n", row_changed, nr);
    sb_printf(&s, "    updates as (\n\n        select\n            'update' as dbt_change_type,\n"
                  "            source_data.*,\n            snapshotted_data.dbt_scd_id%s\n\n"
                  "        from updates_source_data as source_data\n        join snapshotted_data\n"
                  "            on %s\n        where (\n            %s%s\n        )\n    )",
              c->new_record ? ",\n            snapshotted_data.dbt_is_deleted" : "", sb_cstr(&kj), row_changed, nr);
    if (c->invalidate) {
        sb_printf(&s, ",\n\n    deletes as (\n\n        select\n            'delete' as dbt_change_type,\n"
                      "            source_data.*,\n            %s as dbt_valid_from,\n            %s as dbt_updated_at,\n"
                      "            %s as dbt_valid_to,\n            snapshotted_data.dbt_scd_id%s\n\n"
                      "        from snapshotted_data\n        left join deletes_source_data as source_data\n"
                      "            on %s\n            where ",
                  now, now, now, c->new_record ? ",\n            snapshotted_data.dbt_is_deleted" : "", sb_cstr(&kj));
        key_null(&s, c, "source_data", true);
        if (c->new_record) {
            sb_puts(&s, "\n            and not (\n                ");
            deleted_current(&s, c);
            sb_puts(&s, "\n            )");
        }
        sb_puts(&s, "\n    )");
    }
    if (c->new_record)
        deletion_records(&s, c, tgt, qc, nq, sb_cstr(&kj));
    sb_puts(&s, "\n\n    select * from insertions\n    union all\n    select * from updates");
    if (c->invalidate)
        sb_puts(&s, "\n    union all\n    select * from deletes");
    if (c->new_record)
        sb_puts(&s, "\n    union all\n    select * from deletion_records");
    sb_putc(&s, '\n');
    const char *r = arena_strndup(m->a, sb_cstr(&s), s.len);
    sb_free(&s);
    sb_free(&id);
    sb_free(&kf);
    sb_free(&kj);
    return r;
}

/* Staging-table columns that never go into the snapshot table. */
static bool removed_col(const SnapCfg *c, const char *name)
{
    if (strcmp(name, "dbt_change_type") == 0 || strcmp(name, "DBT_CHANGE_TYPE") == 0 ||
        strcmp(name, "dbt_unique_key") == 0 || strcmp(name, "DBT_UNIQUE_KEY") == 0)
        return true;
    if (c->key_list)
        for (int i = 0; i < c->nkeys; i++) {
            char a[48], b[48];
            snprintf(a, sizeof a, "dbt_unique_key_%d", i + 1);
            snprintf(b, sizeof b, "DBT_UNIQUE_KEY_%d", i + 1);
            if (strcmp(name, a) == 0 || strcmp(name, b) == 0)
                return true;
        }
    return false;
}

/* adapter.assert_valid_snapshot_target_given_strategy: the meta columns,
 * and dbt_is_deleted for new_record */
static int valid_target(MatCtx *m, const SnapCfg *c, const MCols *tgt)
{
    static const char *const kNeed[] = {"dbt_scd_id", "dbt_valid_from", "dbt_valid_to", "dbt_updated_at",
                                        "dbt_is_deleted"};
    Sb miss = SB_INIT;
    for (size_t i = 0; i < sizeof kNeed / sizeof kNeed[0] - (c->new_record ? 0 : 1); i++) {
        bool found = false;
        for (int k = 0; k < tgt->n; k++)
            if (strcasecmp(tgt->c[k].name, kNeed[i]) == 0)
                found = true;
        if (!found)
            sb_printf(&miss, "%s\"%s\"", miss.len ? ", " : "", kNeed[i]);
    }
    int rc = 0;
    if (miss.len) {
        matu_error_kind(m, "Compilation Error", "Snapshot target is not a snapshot table (missing %s)", sb_cstr(&miss));
        rc = -1;
    }
    sb_free(&miss);
    return rc;
}

int mat_snapshot(NodeJob *job)
{
    MatCtx m;
    if (matu_init(&m, job) != 0)
        return -1;
    SnapCfg c;
    if (read_config(&m, &c) != 0)
        return matu_fail(&m);
    RelType E = m.E;
    if (E != REL_NONE && E != REL_TABLE) {
        const char *is = E == REL_VIEW ? "view" : E == REL_MATVIEW ? "materialized_view" : "relation";
        matu_error_kind(&m, "Compilation Error", "Trying to create table %s, but it currently exists as a %s. Either drop "
                                                 "%s manually, or run dbt with `--full-refresh` and dbt will drop it for you.",
                        m.T.sql, is, m.T.sql);
        return matu_fail(&m);
    }
    /* outside pre-hooks (`commit;` first), BEGIN, inside pre-hooks */
    if (matu_begin(&m) != 0 || matu_hooks(&m, true, false) != 0 || matu_begin(&m) != 0 ||
        matu_hooks(&m, true, true) != 0)
        return matu_fail(&m);
    MRel TMP;
    bool staged = false;
    if (E == REL_NONE) {
        /* first run: build the table */
        const char *main_sql = matu_create_table(&m, &m.T, build_sql(&m, &c), false);
        if (matu_sql(&m, main_sql, NULL, m.main_tag, sizeof m.main_tag) != 0)
            return matu_fail(&m);
        matu_cache_set(&m, &m.T, REL_TABLE);
    } else {
        MCols tgt = {0}, stg = {0};
        if (matu_get_columns(&m, &m.T, &tgt) != 0 || valid_target(&m, &c, &tgt) != 0)
            return matu_fail(&m);
        /* the strategy's row_changed */
        Sb rc = SB_INIT;
        if (c.check) {
            if (check_row_changed(&m, &c, &tgt, &rc) != 0) {
                sb_free(&rc);
                return matu_fail(&m);
            }
        } else {
            sb_printf(&rc, "(snapshotted_data.dbt_valid_from < source_data.%s)", c.updated_at);
        }
        /* new_record: get_column_schema_from_query(source_sql) */
        const char **qc = NULL;
        int nq = 0;
        if (c.new_record && query_columns(&m, m.job->sql, &qc, &nq) != 0) {
            sb_free(&rc);
            return matu_fail(&m);
        }
        const char *stage = staging_sql(&m, &c, sb_cstr(&rc), &tgt, qc, nq);
        sb_free(&rc);
        /* build_snapshot_staging_table */
        matu_tmp(&m, &TMP);
        if (matu_sql(&m, matu_create_table(&m, &TMP, stage, true), NULL, NULL, 0) != 0)
            return matu_fail(&m);
        staged = true;
        /* expand_target_column_types, then the missing columns */
        bool widened = false;
        if (matu_get_columns(&m, &TMP, &stg) != 0 || matu_expand_column_types(&m, &m.T, &stg, &tgt, &widened) != 0)
            return matu_fail(&m);
        if (widened && matu_get_columns(&m, &m.T, &tgt) != 0)
            return matu_fail(&m);
        Sb s = SB_INIT, q = SB_INIT, cols = SB_INIT, sel = SB_INIT;
        for (int i = 0; i < stg.n; i++) {
            const MCol *sc = &stg.c[i];
            if (removed_col(&c, sc->name))
                continue;
            sb_reset(&q);
            matu_put_qident(&q, sc->name);
            if (!matu_find_col(&tgt, sc->name)) {
                sb_reset(&s);
                sb_printf(&s, "alter table %s add column %s %s;", m.T.sql, sb_cstr(&q), matu_data_type(m.a, sc));
                if (matu_sql(&m, sb_cstr(&s), NULL, NULL, 0) != 0) {
                    sb_free(&s);
                    sb_free(&q);
                    sb_free(&cols);
                    sb_free(&sel);
                    return matu_fail(&m);
                }
            }
            sb_printf(&cols, "%s%s", cols.len ? ", " : "", sb_cstr(&q));
            sb_printf(&sel, "%sDBT_INTERNAL_SOURCE.%s", sel.len ? ",\n        " : "", sb_cstr(&q));
        }
        /* postgres__snapshot_merge_sql */
        Sb cur = SB_INIT;
        is_current(&cur, &c, m.T.sql);
        sb_reset(&s);
        sb_printf(&s,
                  "update %s\n    set dbt_valid_to = DBT_INTERNAL_SOURCE.dbt_valid_to\n"
                  "    from %s as DBT_INTERNAL_SOURCE\n"
                  "    where DBT_INTERNAL_SOURCE.dbt_scd_id::text = %s.dbt_scd_id::text\n"
                  "      and DBT_INTERNAL_SOURCE.dbt_change_type::text in ('update'::text, 'delete'::text)\n"
                  "      and %s;\n\n"
                  "    insert into %s (%s)\n    select %s\n    from %s as DBT_INTERNAL_SOURCE\n"
                  "    where DBT_INTERNAL_SOURCE.dbt_change_type::text = 'insert'::text;\n",
                  m.T.sql, TMP.sql, m.T.sql, sb_cstr(&cur), m.T.sql, sb_cstr(&cols), sb_cstr(&sel), TMP.sql);
        sb_free(&cur);
        const char *main_sql = arena_strndup(m.a, sb_cstr(&s), s.len);
        sb_free(&s);
        sb_free(&q);
        sb_free(&cols);
        sb_free(&sel);
        if (matu_sql(&m, main_sql, NULL, m.main_tag, sizeof m.main_tag) != 0)
            return matu_fail(&m);
    }
    /* grants (revoke check when the table existed), docs, indexes when new */
    if (matu_grants(&m, &m.T, E != REL_NONE) != 0 || matu_persist_docs(&m, &m.T, REL_TABLE) != 0)
        return matu_fail(&m);
    if (E == REL_NONE && matu_indexes(&m, &m.T) != 0)
        return matu_fail(&m);
    /* inside post-hooks, COMMIT, post_snapshot (drop the staging table),
     * outside post-hooks */
    if (matu_hooks(&m, false, true) != 0 || matu_commit(&m) != 0)
        return matu_fail(&m);
    if (staged && matu_drop(&m, &TMP, REL_TABLE) != 0)
        return matu_fail(&m);
    if (matu_hooks(&m, false, false) != 0)
        return matu_fail(&m);
    matu_success(&m, m.main_tag);
    return 0;
}
