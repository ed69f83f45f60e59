/* mat_unit.c - dbt's `unit` materialization (dbt 1.8+ unit tests) on
 * PostgreSQL.  job->sql is the tested model compiled with its inputs as
 * fixture CTEs (src/dbt/dbt_unit.c).  As dbt does:
 *
 *   1. create temporary table <name>__dbt_tmp<time> as
 *        (select * from (<sql>) as __dbt_sbq where false limit 0)
 *      and read its columns: the model's column types;
 *   2. the expected rows as `select cast(<v> as <type>) as <col>, ...`
 *      joined by `union all` (each row's own columns; no rows: none of the
 *      actual ones; format sql: the SQL as given);
 *   3. one query: the actual rows (only the expected columns: those of the
 *      first expected row, or every model column) tagged 'actual' and the
 *      expected ones tagged 'expected' in "actual_or_expected";
 *   4. drop the temporary table.
 *
 * The test passes when the two multisets of rows are equal (order does not
 * matter; values compared as the server prints them, both sides having the
 * union's column types).  On failure the message is a daff-like table of
 * the rows that differ: `+++` a row in actual not in expected, `---` one
 * expected but missing (dbt prints daff's full diff with context rows and
 * `→` for modified cells; cdbt lists only the rows that differ). */
#include <stdlib.h>
#include <string.h>
#include "matu.h"
#include "../dbt/dbt.h"

typedef struct URow { const char *const *cells; const char *key; int side; bool matched; } URow;

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const URow *)a)->key, ((const URow *)b)->key);
}

/* A row's cells as one comparable text (NULL distinct from every string). */
static const char *row_key(Arena *a, const char *const *cells, int n)
{
    Sb s = SB_INIT;
    for (int k = 0; k < n; k++) {
        if (cells[k]) {
            sb_putc(&s, 'v');
            for (const char *p = cells[k]; *p; p++) {
                if (*p == '\\' || *p == '\x01')
                    sb_putc(&s, '\\');
                sb_putc(&s, *p);
            }
        } else {
            sb_putc(&s, 'n');
        }
        sb_putc(&s, '\x01');
    }
    const char *out = arena_strdup(a, s.buf ? s.buf : "");
    sb_free(&s);
    return out;
}

static void cell_text(Sb *out, const char *c) { sb_puts(out, c ? c : "NULL"); }

/* The diff table: header "@@", then the unmatched rows, columns padded. */
static const char *render_diff(Arena *a, const char *const *colnames, int ncols, URow *rows, int nrows)
{
    int *w = calloc((size_t)ncols + 1, sizeof(int));
    for (int k = 0; k < ncols; k++)
        w[k] = (int)strlen(colnames[k]);
    for (int i = 0; i < nrows; i++) {
        if (rows[i].matched)
            continue;
        for (int k = 0; k < ncols; k++) {
            int l = rows[i].cells[k] ? (int)strlen(rows[i].cells[k]) : 4;
            if (l > w[k])
                w[k] = l;
        }
    }
    Sb s = SB_INIT;
    sb_puts(&s, "actual differs from expected:\n\n@@ ");
    for (int k = 0; k < ncols; k++)
        sb_printf(&s, ",%-*s", k + 1 < ncols ? w[k] : 0, colnames[k]);
    sb_putc(&s, '\n');
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < nrows; i++) {
            if (rows[i].matched || rows[i].side != side)
                continue;
            sb_puts(&s, side == 0 ? "+++" : "---");
            for (int k = 0; k < ncols; k++) {
                Sb c = SB_INIT;
                cell_text(&c, rows[i].cells[k]);
                sb_printf(&s, ",%-*s", k + 1 < ncols ? w[k] : 0, sb_cstr(&c));
                sb_free(&c);
            }
            sb_putc(&s, '\n');
        }
    free(w);
    const char *out = arena_strndup(a, s.buf, s.len);
    sb_free(&s);
    return out;
}

int mat_unit(NodeJob *job)
{
    MatCtx m;
    if (matu_init(&m, job) != 0)
        return -1;
    Node *u = m.n;
    UnitTest *ut = u->unit;
    if (!ut || !job->sql) {
        matu_error(&m, "unit test %s was not compiled", u->name);
        return matu_fail(&m);
    }
    /* 1. the model's columns, from an empty temporary table */
    MRel tmp;
    matu_tmp(&m, &tmp);
    const char *empty = arena_sprintf(m.a, "select * from (\n        %s\n    ) as __dbt_sbq\n    where false\n    limit 0\n",
                                      job->sql);
    if (matu_sql(&m, matu_create_table(&m, &tmp, empty, true), NULL, NULL, 0) != 0)
        return matu_fail(&m);
    MCols cols;
    if (matu_get_columns(&m, &tmp, &cols) != 0)
        return matu_fail(&m);
    const char **names = ARENA_ARRAY(m.a, const char *, (size_t)cols.n + 1);
    const char **types = ARENA_ARRAY(m.a, const char *, (size_t)cols.n + 1);
    for (int k = 0; k < cols.n; k++) {
        names[k] = cols.c[k].name;
        types[k] = matu_data_type(m.a, &cols.c[k]);
    }

    /* 2. the expected rows, and the columns compared */
    Value rows = ut->expect.rows;
    size_t nexp = ut->expect.format != UT_SQL && rows.type == V_LIST ? rows.u.l->len : 0;
    Sb cols_a = SB_INIT, cols_e = SB_INIT, exp = SB_INIT;
    if (nexp > 0 && rows.u.l->items[0].type == V_DICT) {
        VDictEntry *e;
        int k = 0;
        for (size_t it = 0; dict_next(rows.u.l->items[0].u.d, &it, &e); k++) {
            Sb nm = SB_INIT;
            value_str(&nm, e->key);
            sb_printf(&cols_a, "%s%s", k ? "," : "", sb_cstr(&nm));
            sb_printf(&cols_e, "%s%s", k ? ", " : "", sb_cstr(&nm));
            sb_free(&nm);
        }
    } else {
        for (int k = 0; k < cols.n; k++) {
            Sb q = SB_INIT;
            matu_put_qident(&q, names[k]);
            sb_printf(&cols_a, "%s%s", k ? "," : "", sb_cstr(&q));
            sb_printf(&cols_e, "%s%s", k ? ", " : "", sb_cstr(&q));
            sb_free(&q);
        }
    }
    int rc = -1;
    PgResult *res = NULL;
    if (ut->expect.format == UT_SQL) {
        sb_puts(&exp, value_cstr(rows));
    } else if (nexp == 0) {
        sb_puts(&exp, "select * from dbt_internal_unit_test_actual\n    limit 0");
    } else {
        Diag ferr = {0};
        if (dbt_unit_format_rows(m.a, rows, names, types, cols.n, "expected output", false, &exp, &ferr) != 0) {
            matu_error_kind(&m, "Compilation Error", "%s", ferr.message ? ferr.message : "invalid expected rows");
            diag_clear(&ferr);
            goto out;
        }
    }

    /* 3. actual and expected in one query */
    const char *q = arena_sprintf(m.a,
        "-- Build actual result given inputs\n"
        "with dbt_internal_unit_test_actual as (\n"
        "  select\n"
        "    %s, 'actual' as \"actual_or_expected\"\n"
        "  from (\n"
        "    %s\n"
        "  ) _dbt_internal_unit_test_actual\n"
        "),\n"
        "-- Build expected result\n"
        "dbt_internal_unit_test_expected as (\n"
        "  select\n"
        "    %s, 'expected' as \"actual_or_expected\"\n"
        "  from (\n"
        "    %s\n"
        "  ) _dbt_internal_unit_test_expected\n"
        ")\n"
        "-- Union actual and expected results\n"
        "select * from dbt_internal_unit_test_actual\n"
        "union all\n"
        "select * from dbt_internal_unit_test_expected",
        sb_cstr(&cols_a), job->sql, sb_cstr(&cols_e), sb_cstr(&exp));
    char tag[64] = "";
    if (matu_sql(&m, q, &res, tag, sizeof tag) != 0)
        goto out;
    snprintf(m.main_tag, sizeof m.main_tag, "%s", tag);

    /* 4. the temporary table goes */
    if (matu_sql(&m, arena_sprintf(m.a, "drop table if exists %s cascade", tmp.sql), NULL, NULL, 0) != 0)
        goto out;

    /* compare the two multisets of rows */
    int tagcol = res->ncols - 1;
    int nc = res->ncols - 1;
    URow *all = ARENA_ARRAY(m.a, URow, (size_t)res->nrows + 1);
    for (int i = 0; i < res->nrows; i++) {
        all[i].cells = (const char *const *)res->rows[i];
        all[i].key = row_key(m.a, all[i].cells, nc);
        all[i].side = res->rows[i][tagcol] && !strcmp(res->rows[i][tagcol], "actual") ? 0 : 1;
    }
    qsort(all, (size_t)res->nrows, sizeof *all, cmp_row);
    /* within each run of equal rows, pair actual with expected */
    int unmatched = 0;
    for (int i = 0; i < res->nrows;) {
        int j = i;
        while (j < res->nrows && !strcmp(all[j].key, all[i].key))
            j++;
        int na = 0, ne = 0;
        for (int k = i; k < j; k++)
            all[k].side == 0 ? na++ : ne++;
        int pairs = na < ne ? na : ne, pa = 0, pe = 0;
        for (int k = i; k < j; k++) {
            if (all[k].side == 0 && pa < pairs) {
                all[k].matched = true;
                pa++;
            } else if (all[k].side == 1 && pe < pairs) {
                all[k].matched = true;
                pe++;
            } else {
                unmatched++;
            }
        }
        i = j;
    }
    matu_parse_tag(m.a, m.main_tag, &job->adapter_code, &job->rows_affected);
    job->adapter_message = arena_strdup(m.a, m.main_tag);
    if (unmatched == 0) {
        job->status = NS_PASS;
        job->failures = 0;
        job->message = NULL;
    } else {
        job->status = NS_FAIL;
        job->failures = 1;
        job->message = render_diff(m.a, (const char *const *)res->colnames, nc, all, res->nrows);
    }
    rc = 0;
out:
    if (res)
        pg_result_free(res);
    sb_free(&cols_a);
    sb_free(&cols_e);
    sb_free(&exp);
    if (rc != 0)
        return matu_fail(&m);
    return 0;
}
