/* contract.c - model contracts (`contract: {enforced: true}`) as dbt-core
 * 1.9 with dbt-postgres enforces them:
 *
 *   - assert_columns_equivalent: the model's query and the properties
 *     file's columns (`select cast(null as <data_type>) as <name>, ...`)
 *     are both described by the server (`select * from (...) as __dbt_sbq
 *     where false limit 0`); each column is "<name> <type name>" with the
 *     type name psycopg2 reports for the column's type OID (INTEGER for
 *     int2/int4, LONGINTEGER for int8, STRING for text/varchar/char, ...),
 *     and the two lists must have the same length and, name by name, the
 *     same type name.  Otherwise dbt's ContractError: a table of the
 *     mismatches sorted by column name;
 *   - a table (not a temporary one) is created from the columns with their
 *     data types and constraints (column constraints: not_null, unique,
 *     primary_key, check, foreign_key, custom; model constraints likewise
 *     over a column list), then filled by `insert into ... (select <cols>
 *     from (<sql>) as model_subq)`.
 *
 * Views assert only; incremental models assert on every run and build
 * their first table with the DDL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "matu.h"

bool matu_contract_enforced(MatCtx *m)
{
    if (m->n->rt != RT_MODEL)
        return false;
    Value *c = exec_cfg(m->n, "contract");
    Value *e = c && c->type == V_DICT ? dict_getz(c->u.d, "enforced") : NULL;
    return e && value_truthy(*e);
}

/* psycopg2.extensions.string_types[oid].name, as dbt-postgres's
 * data_type_code_to_name reports it. */
static const char *type_code_name(Arena *a, unsigned oid)
{
    static const struct { unsigned oid; const char *name; } kNames[] = {
        {16, "BOOLEAN"}, {17, "BINARY"}, {18, "STRING"}, {19, "STRING"}, {20, "LONGINTEGER"}, {21, "INTEGER"},
        {23, "INTEGER"}, {25, "STRING"}, {26, "ROWID"}, {114, "JSON"}, {199, "JSONARRAY"}, {700, "FLOAT"},
        {701, "FLOAT"}, {704, "INTERVAL"}, {705, "UNKNOWN"}, {1000, "BOOLEANARRAY"}, {1001, "BINARYARRAY"},
        {1002, "STRINGARRAY"}, {1003, "STRINGARRAY"}, {1005, "INTEGERARRAY"}, {1007, "INTEGERARRAY"},
        {1009, "STRINGARRAY"}, {1013, "ROWIDARRAY"}, {1014, "STRINGARRAY"}, {1015, "STRINGARRAY"},
        {1016, "LONGINTEGERARRAY"}, {1021, "FLOATARRAY"}, {1022, "FLOATARRAY"}, {1028, "ROWIDARRAY"},
        {1042, "STRING"}, {1043, "STRING"}, {1082, "DATE"}, {1083, "TIME"}, {1114, "DATETIME"},
        {1115, "DATETIMEARRAY"}, {1182, "DATEARRAY"}, {1183, "TIMEARRAY"}, {1184, "DATETIMETZ"},
        {1185, "DATETIMETZARRAY"}, {1186, "INTERVAL"}, {1187, "INTERVALARRAY"}, {1231, "DECIMALARRAY"},
        {1266, "TIME"}, {1270, "TIMEARRAY"}, {1700, "DECIMAL"}, {3802, "JSONB"}, {3807, "JSONBARRAY"},
    };
    for (size_t i = 0; i < sizeof kNames / sizeof kNames[0]; i++)
        if (kNames[i].oid == oid)
            return kNames[i].name;
    return arena_sprintf(a, "unknown type_code %u", oid);
}

typedef struct CCol { const char *name, *type; bool used; } CCol;
typedef struct CCols { CCol *c; int n; } CCols;

/* get_column_schema_from_query: the columns of select (names and type names) */
static int describe(MatCtx *m, const char *select, CCols *out)
{
    const char *hdr = exec_cfg_str(m->n, "sql_header");
    const char *q = arena_sprintf(m->a, "%s%sselect * from (\n%s\n) as __dbt_sbq\nwhere false\nlimit 0",
                                  hdr ? hdr : "", hdr ? "\n" : "", select);
    PgResult *res = NULL;
    if (matu_sql(m, q, &res, NULL, 0) != 0)
        return -1;
    out->n = res ? res->ncols : 0;
    out->c = ARENA_ARRAY(m->a, CCol, (size_t)out->n + 1);
    for (int i = 0; i < out->n; i++) {
        out->c[i].name = arena_strdup(m->a, res->colnames[i]);
        out->c[i].type = type_code_name(m->a, res->coltypes[i]);
        out->c[i].used = false;
    }
    if (res)
        pg_result_free(res);
    return 0;
}

static bool quoted_col(VDict *col)
{
    Value *q = dict_getz(col, "quote");
    return q && q->type == V_BOOL && q->u.b;
}

static const char *col_str(VDict *col, const char *key)
{
    Value *v = dict_getz(col, key);
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

/* a column's name as the DDL and the insert list write it */
static void put_col_name(Sb *s, VDict *col)
{
    const char *name = col_str(col, "name");
    if (quoted_col(col))
        matu_put_qident(s, name ? name : "");
    else
        sb_puts(s, name ? name : "");
}

static int cmp_row(const void *x, const void *y)
{
    return strcmp(((const char *const *)x)[0], ((const char *const *)y)[0]);
}

/* dbt's ContractError message: the mismatches as agate prints a table */
static void contract_error(MatCtx *m, const CCols *yaml, const CCols *sqlc)
{
    int cap = yaml->n + sqlc->n + 1, n = 0;
    typedef const char *Row[4];
    Row *rows = ARENA_ARRAY(m->a, Row, (size_t)cap);
    for (int i = 0; i < sqlc->n; i++)
        sqlc->c[i].used = false;
    for (int i = 0; i < yaml->n; i++) {
        const CCol *s = NULL;
        for (int k = 0; k < sqlc->n && !s; k++)
            if (strcmp(sqlc->c[k].name, yaml->c[i].name) == 0) {
                s = &sqlc->c[k];
                sqlc->c[k].used = true;
            }
        if (!s) {
            rows[n][0] = yaml->c[i].name, rows[n][1] = "", rows[n][2] = yaml->c[i].type;
            rows[n++][3] = "missing in definition";
        } else if (strcmp(s->type, yaml->c[i].type) != 0) {
            rows[n][0] = yaml->c[i].name, rows[n][1] = s->type, rows[n][2] = yaml->c[i].type;
            rows[n++][3] = "data type mismatch";
        }
    }
    for (int k = 0; k < sqlc->n; k++)
        if (!sqlc->c[k].used) {
            rows[n][0] = sqlc->c[k].name, rows[n][1] = sqlc->c[k].type, rows[n][2] = "";
            rows[n++][3] = "missing in contract";
        }
    qsort(rows, (size_t)n, sizeof rows[0], cmp_row);
    static const char *const head[4] = {"column_name", "definition_type", "contract_type", "mismatch_reason"};
    size_t w[4];
    for (int c = 0; c < 4; c++) {
        w[c] = strlen(head[c]);
        for (int r = 0; r < n; r++)
            if (strlen(rows[r][c]) > w[c])
                w[c] = strlen(rows[r][c]);
    }
    Sb t = SB_INIT;
    for (int r = -2; r < n; r++) {
        sb_putc(&t, '|');
        for (int c = 0; c < 4; c++) {
            if (r == -1) {
                sb_putc(&t, ' ');
                for (size_t k = 0; k < w[c]; k++)
                    sb_putc(&t, '-');
                sb_puts(&t, " |");
            } else {
                const char *v = r == -2 ? head[c] : rows[r][c];
                sb_printf(&t, " %-*s |", (int)w[c], v);
            }
        }
        sb_putc(&t, '\n');
    }
    matu_error_kind(m, "Compilation Error",
                    "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number "
                    "of columns in your contract match the columns in your model's definition.\n\n%s",
                    sb_cstr(&t));
    sb_free(&t);
}

int matu_contract_check(MatCtx *m, const char *sql)
{
    if (!matu_contract_enforced(m))
        return 0;
    VDict *cols = m->n->columns;
    if (!cols || cols->len == 0) {
        matu_error_kind(m, "Compilation Error",
                        "This model has an enforced contract, and its 'columns' specification is missing");
        return -1;
    }
    /* get_empty_schema_sql over the properties file's columns */
    Sb sel = SB_INIT, missing = SB_INIT, naked = SB_INIT;
    sb_puts(&sel, "select\n");
    size_t i = 0, it = 0;
    VDictEntry *e;
    for (; dict_next(cols, &it, &e); i++) {
        VDict *col = e->val.type == V_DICT ? e->val.u.d : NULL;
        if (!col)
            continue;
        const char *name = col_str(col, "name"), *dt = col_str(col, "data_type");
        if (!dt) {
            sb_printf(&missing, "%s'%s'", missing.len ? ", " : "", name ? name : "");
            continue;
        }
        char low[32];
        size_t k = 0;
        const char *p = dt;
        while (*p == ' ' || *p == '\t')
            p++;
        for (; *p && k + 1 < sizeof low; p++)
            low[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        while (k && (low[k - 1] == ' ' || low[k - 1] == '\t'))
            k--;
        low[k] = 0;
        if (!strcmp(low, "numeric") || !strcmp(low, "decimal") || !strcmp(low, "number"))
            sb_printf(&naked, "%s'%s'", naked.len ? ", " : "", name ? name : "");
        sb_printf(&sel, "%s    cast(null as %s) as ", i ? ",\n" : "", dt);
        put_col_name(&sel, col);
    }
    int rc = 0;
    if (missing.len) {
        matu_error_kind(m, "Compilation Error",
                        "Contracted models require data_type to be defined for each column. Please ensure the "
                        "following columns have a data_type defined: [%s]", sb_cstr(&missing));
        rc = -1;
    } else if (naked.len) {
        fprintf(stderr, "[WARNING]: Detected columns with numeric type and unspecified precision/scale, this can "
                        "lead to unintended rounding: [%s]`\n", sb_cstr(&naked));
    }
    CCols sqlc = {0}, yaml = {0};
    if (rc == 0 && (describe(m, sql, &sqlc) != 0 || describe(m, sb_cstr(&sel), &yaml) != 0))
        rc = -1;
    sb_free(&sel);
    sb_free(&missing);
    sb_free(&naked);
    if (rc != 0)
        return -1;
    bool ok = sqlc.n == yaml.n;
    for (int s = 0; s < sqlc.n && ok; s++) {
        const CCol *y = NULL;
        for (int k = 0; k < yaml.n && !y; k++)
            if (strcmp(yaml.c[k].name, sqlc.c[s].name) == 0)
                y = &yaml.c[k];
        ok = y && strcmp(y->type, sqlc.c[s].type) == 0;
    }
    if (!ok) {
        contract_error(m, &yaml, &sqlc);
        return -1;
    }
    return 0;
}

/* render_column_constraint / render_model_constraint (dbt-adapters) */
static const char *render_constraint(MatCtx *m, VDict *c, bool model_level)
{
    const char *type = col_str(c, "type"), *expr = col_str(c, "expression"), *name = col_str(c, "name");
    if (!type)
        return NULL;
    Sb s = SB_INIT, cols = SB_INIT;
    if (model_level) {
        Value *cv = dict_getz(c, "columns");
        int nc = 0;
        const char **cl = cv ? matu_value_strlist(m->a, *cv, &nc) : NULL;
        for (int i = 0; i < nc; i++)
            sb_printf(&cols, "%s%s", i ? ", " : "", cl[i]);
        if (name)
            sb_printf(&s, "constraint %s ", name);
    }
    Value *to = dict_getz(c, "to");
    Value *tocols = dict_getz(c, "to_columns");
    bool ok = true;
    if (!strcmp(type, "check") && expr) {
        sb_printf(&s, "check (%s)", expr);
    } else if (!strcmp(type, "not_null") && !model_level) {
        sb_printf(&s, "not null %s", expr ? expr : "");
    } else if (!strcmp(type, "unique")) {
        if (model_level)
            sb_printf(&s, "unique%s%s (%s)", expr ? " " : "", expr ? expr : "", sb_cstr(&cols));
        else
            sb_printf(&s, "unique %s", expr ? expr : "");
    } else if (!strcmp(type, "primary_key")) {
        if (model_level)
            sb_printf(&s, "primary key%s%s (%s)", expr ? " " : "", expr ? expr : "", sb_cstr(&cols));
        else
            sb_printf(&s, "primary key %s", expr ? expr : "");
    } else if (!strcmp(type, "foreign_key")) {
        int nt = 0;
        const char **tc = tocols ? matu_value_strlist(m->a, *tocols, &nt) : NULL;
        Sb tl = SB_INIT;
        for (int i = 0; i < nt; i++)
            sb_printf(&tl, "%s%s", i ? ", " : "", tc[i]);
        const char *tos = to && to->type == V_STR ? to->u.s->s : NULL;
        if (model_level && tos && nt)
            sb_printf(&s, "foreign key (%s) references %s (%s)", sb_cstr(&cols), tos, sb_cstr(&tl));
        else if (model_level && expr)
            sb_printf(&s, "foreign key (%s) references %s", sb_cstr(&cols), expr);
        else if (!model_level && tos && nt)
            sb_printf(&s, "references %s (%s)", tos, sb_cstr(&tl));
        else if (!model_level && expr)
            sb_printf(&s, "references %s", expr);
        else
            ok = false;
        sb_free(&tl);
    } else if (!strcmp(type, "custom") && expr) {
        sb_puts(&s, expr);
    } else {
        ok = false;
    }
    /* strip trailing blanks (not null + no expression) */
    while (s.len && s.buf[s.len - 1] == ' ')
        s.len--;
    const char *out = ok ? arena_strndup(m->a, s.buf ? s.buf : "", s.len) : NULL;
    sb_free(&s);
    sb_free(&cols);
    return out;
}

const char *matu_contract_table(MatCtx *m, const MRel *r, const char *sql)
{
    const char *hdr = exec_cfg_str(m->n, "sql_header");
    bool unlogged = exec_cfg_bool(m->n, "unlogged", false);
    Sb s = SB_INIT, names = SB_INIT;
    sb_printf(&s, "%s%screate %stable %s\n(\n", hdr ? hdr : "", hdr ? "\n" : "", unlogged ? "unlogged " : "", r->sql);
    VList *mc = m->n->constraints;
    int nmodel = 0;
    const char **rendered_model = mc ? ARENA_ARRAY(m->a, const char *, mc->len + 1) : NULL;
    for (size_t i = 0; mc && i < mc->len; i++)
        if (mc->items[i].type == V_DICT) {
            const char *c = render_constraint(m, mc->items[i].u.d, true);
            if (c)
                rendered_model[nmodel++] = c;
        }
    size_t ncol = 0, total = m->n->columns ? m->n->columns->len : 0, it = 0;
    VDictEntry *e;
    for (; m->n->columns && dict_next(m->n->columns, &it, &e); ncol++) {
        VDict *col = e->val.type == V_DICT ? e->val.u.d : NULL;
        if (!col)
            continue;
        sb_puts(&s, "    ");
        put_col_name(&s, col);
        sb_printf(&s, " %s", col_str(col, "data_type") ? col_str(col, "data_type") : "");
        Value *cons = dict_getz(col, "constraints");
        for (size_t k = 0; cons && cons->type == V_LIST && k < cons->u.l->len; k++)
            if (cons->u.l->items[k].type == V_DICT) {
                const char *c = render_constraint(m, cons->u.l->items[k].u.d, false);
                if (c)
                    sb_printf(&s, " %s", c);
            }
        sb_puts(&s, ncol + 1 < total || nmodel ? ",\n" : "\n");
        if (names.len)
            sb_puts(&names, ", ");
        put_col_name(&names, col);
    }
    for (int i = 0; i < nmodel; i++)
        sb_printf(&s, "    %s%s\n", rendered_model[i], i + 1 < nmodel ? "," : "");
    sb_printf(&s, ") ;\ninsert into %s (\n    %s\n)\n(\n    select %s\n    from (\n%s\n    ) as model_subq\n);",
              r->sql, sb_cstr(&names), sb_cstr(&names), sql ? sql : "");
    const char *out = arena_strndup(m->a, sb_cstr(&s), s.len);
    sb_free(&s);
    sb_free(&names);
    return out;
}
