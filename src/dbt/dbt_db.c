/* dbt_db.c - the adapter methods that talk to the live database (§3.7-3.8):
 * adapter.execute (behind `statement` and `run_query`), get_relation /
 * load_relation (behind is_incremental()), get_columns_in_relation and
 * commit, plus the agate-like result table, its rows and columns, the
 * adapter response and the Column objects they return.
 *
 * The database itself is reached only through the DbtDb callbacks the
 * runner binds with dbt_set_db (src/exec owns connections and the relation
 * cache).  Without a bound database, or at parse time (execute=false), every
 * method answers like dbt's parse-time stubs: execute -> (empty response,
 * empty table), get_relation -> none, get_columns_in_relation -> [].
 * Values keep driver types: integers, floats, numeric (int when integral,
 * else float: no Decimal type), booleans, dates and timestamps; the rest
 * are strings. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dbtpriv.h"

static DbtCtx *ctx_of(Interp *I) { return (DbtCtx *)interp_userdata(I); }

static bool db_live(Interp *I)
{
    DbtCtx *c = ctx_of(I);
    return c && c->execute && c->d->db;
}

void dbt_set_db(Dbt *d, const DbtDb *db) { d->db = db; }

void dbt_set_defer(Dbt *d, const StrMap *map, bool favor_state)
{
    d->defer = map;
    d->favor_state = favor_state;
}

const char *dbt_defer_rel_text(Dbt *d, Node *n, const DbtDeferRel *df)
{
    DbtRel r;
    dbt_node_rel(d, n, false, &r);
    r.database = df->database;
    r.schema = df->schema;
    r.identifier = df->identifier;
    return dbt_rel_text(&r, &d->arena);
}

void dbt_set_batch(Dbt *d, const DbtBatch *b)
{
    d->batch_on = b != NULL;
    if (!b)
        return;
    d->batch = *b;
    d->batch.id = arena_strdup(&d->arena, b->id);
    d->batch.start = arena_strdup(&d->arena, b->start);
    d->batch.end = arena_strdup(&d->arena, b->end);
}

static Value obj_value(VObj *o)
{
    Value v;
    v.type = V_OBJ;
    v.flags = 0;
    v.u.o = o;
    return v;
}

#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)

/* ---------------------------------------------------------------- response */

typedef struct DbResp { const char *message, *code; int64_t rows; } DbResp;

static int resp_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    DbResp *r = o->data;
    Arena *a = interp_arena(I);
    if (IS("_message"))
        *out = v_strz(a, r->message);
    else if (IS("code"))
        *out = v_strz(a, r->code);
    else if (IS("rows_affected"))
        *out = v_int(r->rows);
    else
        return 1;
    return 0;
}

static int resp_getitem(Interp *I, VObj *o, Value key, Value *out)
{
    const char *k = value_cstr(key);
    return k ? resp_getattr(I, o, k, strlen(k), out) : 1;
}

static void resp_str(VObj *o, Sb *out) { sb_puts(out, ((DbResp *)o->data)->message); }

static const ObjClass resp_class = {
    .name = "AdapterResponse",
    .getattr = resp_getattr,
    .getitem = resp_getitem,
    .str = resp_str,
};

static Value make_response(Arena *a, const char *status, int64_t rows)
{
    DbResp *r = ARENA_NEW(a, DbResp);
    r->message = arena_strdup(a, status ? status : "OK");
    /* dbt-postgres: code = the status words that are not all digits */
    Sb code = SB_INIT;
    const char *p = r->message;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        bool digits = true;
        while (*p && *p != ' ') {
            if (*p < '0' || *p > '9')
                digits = false;
            p++;
        }
        if (p > w && !digits) {
            if (code.len)
                sb_putc(&code, ' ');
            sb_append(&code, w, (size_t)(p - w));
        }
    }
    r->code = arena_strdup(a, sb_cstr(&code));
    sb_free(&code);
    r->rows = rows;
    return v_obj(a, &resp_class, r);
}

/* ---------------------------------------------------------------- values */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD[ HH:MM:SS[.ffffff]][+00]" -> date / datetime; 1 when not parseable */
static int parse_stamp(Arena *a, const char *s, bool want_time, Value *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0, us = 0;
    size_t n = strlen(s);
    if (n < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d))
        return 1;
    if (!want_time) {
        if (n != 10)
            return 1;
        *out = v_date(a, y, mo, d);
        return 0;
    }
    if (n < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' || digits(s + 11, 2, &h) ||
        digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return 1;
    const char *p = s + 19;
    if (*p == '.') {
        int k = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (k < 6) {
                us = us * 10 + (*p - '0');
                k++;
            }
            p++;
        }
        for (; k < 6; k++)
            us *= 10;
    }
    bool utc = false;
    if (*p) {
        if (strcmp(p, "+00") != 0 && strcmp(p, "+00:00") != 0)
            return 1;      /* other offsets stay text */
        utc = true;
    }
    *out = v_datetime(a, y, mo, d, h, mi, se, us, utc);
    return 0;
}

static Value cell_value(Arena *a, unsigned oid, const char *s)
{
    if (!s)
        return v_none();
    char *end;
    switch (oid) {
    case 16: return v_bool(s[0] == 't');
    case 20: case 21: case 23: case 26: {
        long long x = strtoll(s, &end, 10);
        if (!*end)
            return v_int(x);
        break;
    }
    case 700: case 701: {
        double x = strtod(s, &end);
        if (!*end)
            return v_float(x);
        break;
    }
    case 1700: {
        if (!strpbrk(s, ".eEN")) {
            long long x = strtoll(s, &end, 10);
            if (!*end)
                return v_int(x);
        }
        double x = strtod(s, &end);
        if (!*end)
            return v_float(x);
        break;
    }
    case 1082: case 1114: case 1184: {
        Value v;
        if (parse_stamp(a, s, oid != 1082, &v) == 0)
            return v;
        break;
    }
    default: break;
    }
    return v_strz(a, s);
}

static const char *agate_type(unsigned oid)
{
    switch (oid) {
    case 16: return "Boolean";
    case 20: case 21: case 23: case 26: case 700: case 701: case 1700: return "Number";
    case 1082: return "Date";
    case 1114: case 1184: return "DateTime";
    default: return "Text";
    }
}

/* ---------------------------------------------------------------- rows */

typedef struct DbRow { VList *names, *values; } DbRow;
static const ObjClass row_class;

static int row_index(Interp *I, DbRow *r, Value key, Value *out)
{
    if (key.type == V_INT) {
        int64_t i = key.u.i, n = (int64_t)r->values->len;
        if (i < 0)
            i += n;
        if (i < 0 || i >= n)
            return interp_error(I, "tuple index out of range");
        *out = r->values->items[i];
        return 0;
    }
    if (key.type == V_STR) {
        for (size_t i = 0; i < r->names->len; i++)
            if (value_eq(r->names->items[i], key)) {
                *out = r->values->items[i];
                return 0;
            }
    }
    return 1;
}

static int row_getitem(Interp *I, VObj *o, Value key, Value *out)
{
    int rc = row_index(I, o->data, key, out);
    if (rc == 1) {
        Sb k = SB_INIT;
        value_repr(&k, key);
        rc = interp_error(I, "KeyError: %s", sb_cstr(&k));
        sb_free(&k);
    }
    return rc;
}

static int row_keys(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbRow *r = self.u.o->data;
    Value l = v_list(interp_arena(I), r->names->len);
    for (size_t i = 0; i < r->names->len; i++)
        list_append(interp_arena(I), l.u.l, r->names->items[i]);
    *out = l;
    return 0;
}

static int row_values(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbRow *r = self.u.o->data;
    Value l = v_list(interp_arena(I), r->values->len);
    for (size_t i = 0; i < r->values->len; i++)
        list_append(interp_arena(I), l.u.l, r->values->items[i]);
    *out = l;
    return 0;
}

static int row_items(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbRow *r = self.u.o->data;
    Arena *a = interp_arena(I);
    Value l = v_list(a, r->values->len);
    for (size_t i = 0; i < r->values->len; i++) {
        Value t = v_tuple(a, 2);
        t.u.l->items[0] = r->names->items[i];
        t.u.l->items[1] = r->values->items[i];
        list_append(a, l.u.l, t);
    }
    *out = l;
    return 0;
}

static int row_get(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"key", "default"};
    Value slots[2];
    if (callargs_bind(I, "get", args, params, 2, 1, slots) != 0)
        return -1;
    int rc = row_index(I, self.u.o->data, slots[0], out);
    if (rc == 1)
        *out = slots[1].type == V_UNDEF ? v_none() : slots[1];
    return rc < 0 ? -1 : 0;
}

static int row_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    Arena *a = interp_arena(I);
    NativeFn fn = IS("keys") ? row_keys : IS("values") ? row_values : IS("items") ? row_items
                : IS("get") ? row_get : NULL;
    if (fn) {
        *out = v_bound(a, "method", fn, NULL, obj_value(o));
        return 0;
    }
    DbRow *r = o->data;
    Value key = v_str(a, name, n);
    int rc = row_index(I, r, key, out);
    return rc;
}

static int row_iter(Interp *I, VObj *o, VList **out)
{
    *out = ((DbRow *)o->data)->values;
    return 0;
}

static int row_len(VObj *o, int64_t *out)
{
    *out = (int64_t)((DbRow *)o->data)->values->len;
    return 0;
}

static void row_repr(VObj *o, Sb *out)
{
    DbRow *r = o->data;
    sb_puts(out, "<agate.Row: (");
    for (size_t i = 0; i < r->values->len; i++) {
        if (i)
            sb_puts(out, ", ");
        value_repr(out, r->values->items[i]);
    }
    sb_puts(out, ")>");
}

static const ObjClass row_class = {
    .name = "Row",
    .getattr = row_getattr,
    .getitem = row_getitem,
    .iter = row_iter,
    .len = row_len,
    .str = row_repr,
};

/* ---------------------------------------------------------------- table */

typedef struct DbTable { VList *names, *types, *rows; } DbTable;

typedef struct DbCol { Value name; VList *values; } DbCol;

static int col_values(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbCol *c = self.u.o->data;
    Value l = v_list(interp_arena(I), c->values->len);
    for (size_t i = 0; i < c->values->len; i++)
        list_append(interp_arena(I), l.u.l, c->values->items[i]);
    *out = l;
    return 0;
}

static int col_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    DbCol *c = o->data;
    if (IS("name"))
        *out = c->name;
    else if (IS("values"))
        *out = v_bound(interp_arena(I), "values", col_values, NULL, obj_value(o));
    else
        return 1;
    return 0;
}

static int col_iter(Interp *I, VObj *o, VList **out)
{
    *out = ((DbCol *)o->data)->values;
    return 0;
}

static const ObjClass agate_col_class = {
    .name = "Column",
    .getattr = col_getattr,
    .iter = col_iter,
};

static int tbl_print(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_str(interp_arena(I), "", 0);
    return 0;
}

static int tbl_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    DbTable *t = o->data;
    Arena *a = interp_arena(I);
    Value v = {0};
    if (IS("rows")) {
        v.type = V_LIST;
        v.u.l = t->rows;
    } else if (IS("column_names")) {
        v.type = V_LIST;
        v.u.l = t->names;
    } else if (IS("column_types")) {
        v.type = V_LIST;
        v.u.l = t->types;
    } else if (IS("columns")) {
        v = v_list(a, t->names->len);
        for (size_t k = 0; k < t->names->len; k++) {
            DbCol *c = ARENA_NEW(a, DbCol);
            c->name = t->names->items[k];
            c->values = v_list(a, t->rows->len).u.l;
            for (size_t r = 0; r < t->rows->len; r++)
                list_append(a, c->values, ((DbRow *)t->rows->items[r].u.o->data)->values->items[k]);
            list_append(a, v.u.l, v_obj(a, &agate_col_class, c));
        }
    } else if (IS("print_table")) {
        v = v_bound(a, "print_table", tbl_print, NULL, obj_value(o));
    } else {
        return 1;
    }
    *out = v;
    return 0;
}

static int tbl_getitem(Interp *I, VObj *o, Value key, Value *out)
{
    DbTable *t = o->data;
    if (key.type != V_INT)
        return 1;
    int64_t i = key.u.i, n = (int64_t)t->rows->len;
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        return interp_error(I, "tuple index out of range");
    *out = t->rows->items[i];
    return 0;
}

static int tbl_iter(Interp *I, VObj *o, VList **out)
{
    *out = ((DbTable *)o->data)->rows;
    return 0;
}

static int tbl_len(VObj *o, int64_t *out)
{
    *out = (int64_t)((DbTable *)o->data)->rows->len;
    return 0;
}

static const ObjClass tbl_class = {
    .name = "Table",
    .getattr = tbl_getattr,
    .getitem = tbl_getitem,
    .iter = tbl_iter,
    .len = tbl_len,
};

static Value make_table(Arena *a, const DbtDbTable *src)
{
    DbTable *t = ARENA_NEW(a, DbTable);
    int nc = src ? src->ncols : 0, nr = src ? src->nrows : 0;
    t->names = v_list(a, (size_t)nc).u.l;
    t->types = v_list(a, (size_t)nc).u.l;
    t->rows = v_list(a, (size_t)nr).u.l;
    for (int c = 0; c < nc; c++) {
        /* duplicate column names get _2, _3, ... (agate) */
        const char *nm = src->colnames[c];
        int dup = 1;
        for (int k = 0; k < c; k++)
            if (!strcmp(src->colnames[k], nm))
                dup++;
        Value name = dup > 1 ? v_strz(a, arena_sprintf(a, "%s_%d", nm, dup)) : v_strz(a, nm);
        list_append(a, t->names, name);
        list_append(a, t->types, v_strz(a, agate_type(src->coltypes ? src->coltypes[c] : 25)));
    }
    for (int r = 0; r < nr; r++) {
        DbRow *row = ARENA_NEW(a, DbRow);
        row->names = t->names;
        row->values = v_list(a, (size_t)nc).u.l;
        for (int c = 0; c < nc; c++)
            list_append(a, row->values, cell_value(a, src->coltypes ? src->coltypes[c] : 25, src->rows[r][c]));
        list_append(a, t->rows, v_obj(a, &row_class, row));
    }
    return v_obj(a, &tbl_class, t);
}

/* ---------------------------------------------------------------- adapter.execute */

static int run_sql(Interp *I, const char *sql, bool auto_begin, bool fetch, Value *resp, Value *table)
{
    DbtCtx *c = ctx_of(I);
    const DbtDb *db = c->d->db;
    Arena *a = interp_arena(I);
    DbtDbTable res;
    memset(&res, 0, sizeof res);
    Diag err = {0};
    if (db->execute(db->ud, sql, auto_begin, fetch, &res, &err) != 0) {
        Sb m = SB_INIT;
        sb_puts(&m, err.message ? err.message : "database error");
        diag_clear(&err);
        int rc = interp_error(I, "Database Error\n  %s", sb_cstr(&m));
        sb_free(&m);
        return rc;
    }
    *resp = make_response(a, res.status, res.rows_affected);
    *table = make_table(a, fetch ? &res : NULL);
    db->release(db->ud, &res);
    return 0;
}

int dbt_a_execute(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"sql", "auto_begin", "fetch", "limit"};
    Value slots[4];
    if (callargs_bind(I, "execute", args, params, 4, 1, slots) != 0)
        return -1;
    Arena *a = interp_arena(I);
    Value resp, table;
    if (!db_live(I)) {
        resp = make_response(a, "OK", -1);
        table = make_table(a, NULL);
    } else {
        Sb sql = SB_INIT;
        value_str(&sql, slots[0]);
        bool auto_begin = slots[1].type != V_UNDEF && value_truthy(slots[1]);
        bool fetch = slots[2].type != V_UNDEF && value_truthy(slots[2]);
        int rc = run_sql(I, sb_cstr(&sql), auto_begin, fetch, &resp, &table);
        sb_free(&sql);
        if (rc != 0)
            return rc;
    }
    Value t = v_tuple(a, 2);
    t.u.l->items[0] = resp;
    t.u.l->items[1] = table;
    *out = t;
    return 0;
}

int dbt_a_commit(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_str(interp_arena(I), "", 0);
    if (!db_live(I) || !ctx_of(I)->d->db->commit)
        return 0;
    const DbtDb *db = ctx_of(I)->d->db;
    Diag err = {0};
    if (db->commit(db->ud, &err) != 0) {
        int rc = interp_error(I, "Database Error\n  %s", err.message ? err.message : "commit failed");
        diag_clear(&err);
        return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- drop / rename / truncate */

/* The relation's type: as given, else from the relation cache (NULL when it
 * does not exist). */
static const char *rel_type(Interp *I, const DbtRel *r)
{
    if (r->type && strcmp(r->type, "cte") != 0)
        return r->type;
    const DbtDb *db = ctx_of(I)->d->db;
    return r->schema && r->identifier ? db->relation_type(db->ud, r->database, r->schema, r->identifier) : NULL;
}

/* The relation kind as SQL writes it after drop / alter. */
static const char *sql_kind(const char *type)
{
    return strcmp(type, "materialized_view") == 0 ? "materialized view" : type;
}

static int want_rel(Interp *I, const char *fn, Value v, const DbtRel **out)
{
    if (!dbt_is_rel(v))
        return interp_error(I, "%s expects a Relation, got %s", fn, value_type_name(v));
    *out = v.u.o->data;
    return 0;
}

static void rel_changed(Interp *I, const DbtRel *r, const char *new_ident)
{
    const DbtDb *db = ctx_of(I)->d->db;
    if (db->relation_changed && r->schema && r->identifier)
        db->relation_changed(db->ud, r->schema, r->identifier, new_ident);
}

/* adapter.drop_relation(relation): postgres__drop_relation, `drop <type> if
 * exists <relation> cascade`; nothing when the relation does not exist. */
int dbt_a_drop_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"relation"};
    Value slots[1];
    const DbtRel *r = NULL;
    *out = v_str(interp_arena(I), "", 0);
    if (callargs_bind(I, "drop_relation", args, params, 1, 1, slots) != 0 ||
        want_rel(I, "drop_relation", slots[0], &r) != 0)
        return -1;
    if (!db_live(I))
        return 0;
    const char *type = rel_type(I, r);
    if (!type)
        return 0;
    Sb sql = SB_INIT;
    sb_printf(&sql, "drop %s if exists ", sql_kind(type));
    dbt_rel_render(r, &sql);
    sb_puts(&sql, " cascade");
    Value resp, table;
    int rc = run_sql(I, sb_cstr(&sql), false, false, &resp, &table);
    sb_free(&sql);
    if (rc == 0)
        rel_changed(I, r, NULL);
    return rc;
}

/* adapter.truncate_relation(relation): `truncate table <relation>`. */
int dbt_a_truncate_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"relation"};
    Value slots[1];
    const DbtRel *r = NULL;
    *out = v_str(interp_arena(I), "", 0);
    if (callargs_bind(I, "truncate_relation", args, params, 1, 1, slots) != 0 ||
        want_rel(I, "truncate_relation", slots[0], &r) != 0)
        return -1;
    if (!db_live(I))
        return 0;
    Sb sql = SB_INIT;
    sb_puts(&sql, "truncate table ");
    dbt_rel_render(r, &sql);
    Value resp, table;
    int rc = run_sql(I, sb_cstr(&sql), true, false, &resp, &table);
    sb_free(&sql);
    return rc;
}

/* adapter.rename_relation(from_relation, to_relation): postgres__rename_relation,
 * `alter <type> <from> rename to <to.identifier>` (quoted as configured). */
int dbt_a_rename_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"from_relation", "to_relation"};
    Value slots[2];
    const DbtRel *from = NULL, *to = NULL;
    *out = v_str(interp_arena(I), "", 0);
    if (callargs_bind(I, "rename_relation", args, params, 2, 2, slots) != 0 ||
        want_rel(I, "rename_relation", slots[0], &from) != 0 || want_rel(I, "rename_relation", slots[1], &to) != 0)
        return -1;
    if (!db_live(I))
        return 0;
    if (!to->identifier)
        return interp_error(I, "rename_relation: the target relation has no identifier");
    const char *type = rel_type(I, from);
    Sb sql = SB_INIT;
    sb_printf(&sql, "alter %s ", sql_kind(type ? type : "table"));
    dbt_rel_render(from, &sql);
    sb_puts(&sql, " rename to ");
    dbt_rel_put_part(&sql, to->identifier, to->quote[2]);
    Value resp, table;
    int rc = run_sql(I, sb_cstr(&sql), true, false, &resp, &table);
    sb_free(&sql);
    if (rc == 0)
        rel_changed(I, from, to->identifier);
    return rc;
}

/* ---------------------------------------------------------------- relations */

static const char *opt_cstr(Value v) { return v.type == V_STR ? v.u.s->s : NULL; }

static int lookup_rel(Interp *I, const char *database, const char *schema, const char *ident, Value *out)
{
    *out = v_none();
    if (!db_live(I) || !ident || !schema)
        return 0;
    const DbtDb *db = ctx_of(I)->d->db;
    const char *type = db->relation_type(db->ud, database, schema, ident);
    if (!type)
        return 0;
    Arena *a = interp_arena(I);
    DbtRel r;
    memset(&r, 0, sizeof r);
    r.database = database ? arena_strdup(a, database) : NULL;
    r.schema = arena_strdup(a, schema);
    r.identifier = arena_strdup(a, ident);
    r.type = type;
    for (int i = 0; i < 3; i++)
        r.quote[i] = r.include[i] = true;
    *out = dbt_rel_value(a, &r);
    return 0;
}

int dbt_a_get_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"database", "schema", "identifier"};
    Value slots[3];
    if (callargs_bind(I, "get_relation", args, params, 3, 3, slots) != 0)
        return -1;
    return lookup_rel(I, opt_cstr(slots[0]), opt_cstr(slots[1]), opt_cstr(slots[2]), out);
}

int dbt_a_load_relation(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"relation"};
    Value slots[1];
    if (callargs_bind(I, "load_relation", args, params, 1, 1, slots) != 0)
        return -1;
    if (!dbt_is_rel(slots[0])) {
        *out = v_none();
        return 0;
    }
    const DbtRel *r = slots[0].u.o->data;
    return lookup_rel(I, r->database, r->schema, r->identifier, out);
}

/* ---------------------------------------------------------------- Column */

typedef struct DbColumn {
    const char *name, *dtype;
    int64_t char_size, precision, scale;     /* -1 = None */
} DbColumn;

static bool in_set(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcasecmp(s, *set))
            return true;
    return false;
}

static const char *const kStrings[] = {"text", "character varying", "character", "varchar", NULL};
static const char *const kNumeric[] = {"numeric", "decimal", NULL};
static const char *const kInts[] = {"smallint", "integer", "bigint", "smallserial", "serial", "bigserial",
                                    "int2", "int4", "int8", "serial2", "serial4", "serial8", NULL};
static const char *const kFloats[] = {"real", "float4", "float", "double precision", "float8", "double", NULL};

static void column_data_type(const DbColumn *c, Sb *out)
{
    bool is_str = in_set(c->dtype, kStrings);
    /* PostgresColumn: text and unbounded varchar stay as they are */
    if (is_str && (!strcasecmp(c->dtype, "text") ||
                   (!strcasecmp(c->dtype, "character varying") && c->char_size < 0))) {
        sb_puts(out, c->dtype);
    } else if (is_str) {
        sb_printf(out, "character varying(%lld)", (long long)(c->char_size < 0 ? 256 : c->char_size));
    } else if (in_set(c->dtype, kNumeric) && c->precision >= 0 && c->scale >= 0) {
        sb_printf(out, "%s(%lld,%lld)", c->dtype, (long long)c->precision, (long long)c->scale);
    } else {
        sb_puts(out, c->dtype);
    }
}

static int colm_bool(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbColumn *c = self.u.o->data;
    const char *which = ud;
    bool r = false;
    if (!strcmp(which, "is_string"))
        r = in_set(c->dtype, kStrings);
    else if (!strcmp(which, "is_numeric"))
        r = in_set(c->dtype, kNumeric);
    else if (!strcmp(which, "is_integer"))
        r = in_set(c->dtype, kInts);
    else if (!strcmp(which, "is_float"))
        r = in_set(c->dtype, kFloats);
    else if (!strcmp(which, "is_number"))
        r = in_set(c->dtype, kNumeric) || in_set(c->dtype, kInts) || in_set(c->dtype, kFloats);
    *out = v_bool(r);
    return 0;
}

static int colm_string_size(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    DbColumn *c = self.u.o->data;
    if (!in_set(c->dtype, kStrings))
        return interp_error(I, "Called string_size() on non-string field!");
    *out = v_int(c->char_size < 0 ? 256 : c->char_size);
    return 0;
}

static Value opt_int(int64_t v) { return v < 0 ? v_none() : v_int(v); }

static int column_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    DbColumn *c = o->data;
    Arena *a = interp_arena(I);
    if (IS("name") || IS("column")) {
        *out = v_strz(a, c->name);
    } else if (IS("quoted")) {
        *out = v_strz(a, arena_sprintf(a, "\"%s\"", c->name));
    } else if (IS("dtype")) {
        *out = v_strz(a, c->dtype);
    } else if (IS("data_type")) {
        Sb s = SB_INIT;
        column_data_type(c, &s);
        *out = v_str(a, sb_cstr(&s), s.len);
        sb_free(&s);
    } else if (IS("char_size")) {
        *out = opt_int(c->char_size);
    } else if (IS("numeric_precision")) {
        *out = opt_int(c->precision);
    } else if (IS("numeric_scale")) {
        *out = opt_int(c->scale);
    } else if (IS("is_string") || IS("is_numeric") || IS("is_integer") || IS("is_float") || IS("is_number")) {
        *out = v_bound(a, arena_strndup(a, name, n), colm_bool, arena_strndup(a, name, n), obj_value(o));
    } else if (IS("string_size")) {
        *out = v_bound(a, "string_size", colm_string_size, NULL, obj_value(o));
    } else {
        return 1;
    }
    return 0;
}

static void column_repr(VObj *o, Sb *out)
{
    DbColumn *c = o->data;
    sb_printf(out, "<Column %s (", c->name);
    column_data_type(c, out);
    sb_puts(out, ")>");
}

static const ObjClass column_class = {
    .name = "PostgresColumn",
    .getattr = column_getattr,
    .str = column_repr,
};

static int64_t num_or_none(const char *s) { return s ? strtoll(s, NULL, 10) : -1; }

static void pg_lit(Sb *q, const char *s)
{
    sb_putc(q, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            sb_putc(q, '\'');
        sb_putc(q, *s);
    }
    sb_putc(q, '\'');
}

int dbt_a_get_columns(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"relation"};
    Value slots[1];
    if (callargs_bind(I, "get_columns_in_relation", args, params, 1, 1, slots) != 0)
        return -1;
    Arena *a = interp_arena(I);
    *out = v_list(a, 0);
    if (!db_live(I) || !dbt_is_rel(slots[0]))
        return 0;
    const DbtRel *r = slots[0].u.o->data;
    if (!r->identifier)
        return 0;
    /* postgres__get_columns_in_relation */
    Sb q = SB_INIT;
    sb_puts(&q, "select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale\n"
                "from information_schema.columns\nwhere table_name = ");
    Sb lit = SB_INIT;
#define LIT(s) do { sb_putc(&q, '\''); for (const char *p_ = (s); *p_; p_++) { if (*p_ == '\'') sb_putc(&q, '\''); sb_putc(&q, *p_); } sb_putc(&q, '\''); } while (0)
    LIT(r->identifier);
    if (r->schema) {
        sb_puts(&q, "\n  and table_schema = ");
        LIT(r->schema);
    }
#undef LIT
    sb_puts(&q, "\norder by ordinal_position");
    sb_free(&lit);
    const DbtDb *db = ctx_of(I)->d->db;
    DbtDbTable res;
    memset(&res, 0, sizeof res);
    Diag err = {0};
    int rc = db->execute(db->ud, sb_cstr(&q), false, true, &res, &err);
    sb_free(&q);
    if (rc != 0) {
        rc = interp_error(I, "Database Error\n  %s", err.message ? err.message : "database error");
        diag_clear(&err);
        return rc;
    }
    for (int i = 0; i < res.nrows && res.ncols >= 5; i++) {
        const char *const *row = res.rows[i];
        DbColumn *c = ARENA_NEW(a, DbColumn);
        c->name = arena_strdup(a, row[0] ? row[0] : "");
        c->dtype = arena_strdup(a, row[1] ? row[1] : "");
        c->char_size = num_or_none(row[2]);
        c->precision = num_or_none(row[3]);
        c->scale = num_or_none(row[4]);
        list_append(a, out->u.l, v_obj(a, &column_class, c));
    }
    db->release(db->ud, &res);
    return 0;
}

int dbt_db_columns(Dbt *d, const DbtRel *r, Arena *a, const char ***names, const char ***types, int *n, Diag *err)
{
    *n = 0;
    *names = *types = NULL;
    if (!d->db || !r->identifier)
        return 0;
    Sb q = SB_INIT;
    sb_puts(&q, "select column_name, data_type, character_maximum_length, numeric_precision, numeric_scale\n"
                "from information_schema.columns\nwhere table_name = ");
    pg_lit(&q, r->identifier);
    if (r->schema) {
        sb_puts(&q, "\n  and table_schema = ");
        pg_lit(&q, r->schema);
    }
    sb_puts(&q, "\norder by ordinal_position");
    DbtDbTable res;
    memset(&res, 0, sizeof res);
    int rc = d->db->execute(d->db->ud, sb_cstr(&q), false, true, &res, err);
    sb_free(&q);
    if (rc != 0)
        return -1;
    *names = ARENA_ARRAY(a, const char *, (size_t)res.nrows + 1);
    *types = ARENA_ARRAY(a, const char *, (size_t)res.nrows + 1);
    Sb t = SB_INIT;
    for (int i = 0; i < res.nrows && res.ncols >= 5; i++) {
        const char *const *row = res.rows[i];
        DbColumn c = {row[0] ? row[0] : "", row[1] ? row[1] : "", num_or_none(row[2]), num_or_none(row[3]),
                      num_or_none(row[4])};
        sb_reset(&t);
        column_data_type(&c, &t);
        (*names)[*n] = arena_strdup(a, c.name);
        (*types)[*n] = arena_strdup(a, sb_cstr(&t));
        (*n)++;
    }
    sb_free(&t);
    d->db->release(d->db->ud, &res);
    return 0;
}

/* ---------------------------------------------------------------- run hooks */

int dbt_render_hook(Dbt *d, const char *text, const char *what, VDict *extra, const char **out, Diag *err)
{
    Project *p = d->p;
    if (!p || !d->parsed) {
        diag_set(err, NULL, 0, 0, NULL, "dbt_render_hook called before dbt_parse");
        return -1;
    }
    Arena ra;
    arena_init(&ra, 0);
    DbtCtx c;
    dbt_ctx_init(&c, d, NULL, DBT_COMPILE, &ra);
    c.extra = extra;
    Sb sb = SB_INIT;
    int rc = -1;
    SrcFile f;
    srcfile_init(&f, what ? what : "<hook>", text, strlen(text));
    Template *t = tpl_parse(&ra, &f, err);
    if (t) {
        Interp *I = dbt_interp(&c, err);
        if (tpl_render(I, t, &sb) == 0) {
            *out = arena_strndup(&p->arena, sb_cstr(&sb), sb.len);
            rc = 0;
        }
    }
    sb_free(&sb);
    srcfile_free(&f);
    dbt_ctx_fini(&c);
    arena_free(&ra);
    return rc;
}
#undef IS
