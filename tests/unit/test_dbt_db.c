/* test_dbt_db.c - src/dbt/dbt_db.c: the adapter methods answered by a bound
 * database (a fake DbtDb recording what it is asked): statement /
 * load_result / run_query with typed values and the agate-like table,
 * adapter.execute responses, get_relation and is_incremental() from the
 * relation lookup, get_columns_in_relation's Column objects, adapter.commit,
 * database errors, the stubs when no database is bound, and run hooks with
 * extra context. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dbt/dbt.h"
#include "base/fs.h"

typedef struct Fake {
    Sb log;                  /* "<auto_begin><fetch>:<sql>\n" per execute */
    int commits;
    const char *existing;    /* "schema.ident=type" of the one relation that exists */
    bool fail;
} Fake;

static const char *kCols[] = {"id", "amount", "ok", "day", "name", "id"};
static const unsigned kTypes[] = {23, 1700, 16, 1082, 25, 20};
static const char *kRow0[] = {"1", "12.50", "t", "2026-01-31", "x", "7"};
static const char *kRow1[] = {"2", "3", "f", NULL, NULL, "8"};
static const char *const *kRows[] = {kRow0, kRow1};
static const char *kColCols[] = {"column_name", "data_type", "character_maximum_length", "numeric_precision", "numeric_scale"};
static const unsigned kColTypes[] = {25, 25, 23, 23, 23};
static const char *kC0[] = {"id", "integer", NULL, "32", "0"};
static const char *kC1[] = {"name", "character varying", "20", NULL, NULL};
static const char *kC2[] = {"price", "numeric", NULL, "10", "2"};
static const char *kC3[] = {"note", "text", NULL, NULL, NULL};
static const char *const *kColRows[] = {kC0, kC1, kC2, kC3};

static int fake_execute(void *ud, const char *sql, bool auto_begin, bool fetch, DbtDbTable *out, Diag *err)
{
    Fake *f = ud;
    sb_printf(&f->log, "%d%d:%s\n", auto_begin, fetch, sql);
    if (f->fail) {
        diag_set(err, NULL, 0, 0, NULL, "relation \"nope\" does not exist");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (strstr(sql, "information_schema.columns")) {
        out->nrows = 4;
        out->ncols = 5;
        out->colnames = kColCols;
        out->coltypes = kColTypes;
        out->rows = kColRows;
        out->status = "SELECT 4";
        out->rows_affected = 4;
    } else if (fetch) {
        out->nrows = 2;
        out->ncols = 6;
        out->colnames = kCols;
        out->coltypes = kTypes;
        out->rows = kRows;
        out->status = "SELECT 2";
        out->rows_affected = 2;
    } else {
        out->status = "INSERT 0 5";
        out->rows_affected = 5;
    }
    return 0;
}

static void fake_release(void *ud, DbtDbTable *t) { (void)ud; (void)t; }

static const char *fake_relation_type(void *ud, const char *database, const char *schema, const char *ident)
{
    Fake *f = ud;
    char key[256];
    snprintf(key, sizeof key, "%s.%s=", schema, ident);
    if (f->existing && strncmp(f->existing, key, strlen(key)) == 0)
        return f->existing + strlen(key);
    return NULL;
}

static int fake_commit(void *ud, Diag *err)
{
    ((Fake *)ud)->commits++;
    return 0;
}

static char tmp_root[256];

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_root, rel);
    ck_assert_int_eq(fs_write_file(path, text, strlen(text)), 0);
}

typedef struct Loaded { Dbt *d; Project *p; Diag err; Fake fake; DbtDb db; } Loaded;

static void load(Loaded *L, bool bind)
{
    memset(L, 0, sizeof *L);
    DbtOptions o = {.which = "run"};
    L->d = dbt_new(&o);
    ProjectOptions po = {.project_dir = tmp_root, .profiles_dir = tmp_root, .need_profile = true};
    L->p = project_load(&po, dbt_renderer(L->d), &L->err);
    ck_assert_msg(L->p != NULL, "%s", L->err.message);
    ck_assert_int_eq(dbt_attach(L->d, L->p, &L->err), 0);
    ck_assert_msg(dbt_parse(L->d, &L->err) == 0, "%s", L->err.message);
    L->db = (DbtDb){.ud = &L->fake, .execute = fake_execute, .release = fake_release,
                    .relation_type = fake_relation_type, .commit = fake_commit};
    if (bind)
        dbt_set_db(L->d, &L->db);
}

static void unload(Loaded *L)
{
    project_free(L->p);
    dbt_free(L->d);
    diag_clear(&L->err);
    sb_free(&L->fake.log);
    fs_rm_rf(tmp_root);
}

static Node *model(Project *p, const char *name)
{
    for (int i = 0; i < p->nnodes; i++)
        if (p->nodes[i]->rt == RT_MODEL && !strcmp(p->nodes[i]->name, name))
            return p->nodes[i];
    return NULL;
}

static void project(const char *model_name, const char *sql)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/cdbt_test_dbt_db_%d_%ld", (int)getpid(), (long)random());
    fs_rm_rf(tmp_root);
    write_file("dbt_project.yml", "name: p\nversion: '1'\nconfig-version: 2\nprofile: p\n");
    write_file("profiles.yml", "p:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: h\n"
                               "      user: u\n      password: pw\n      port: 5432\n      dbname: db\n      schema: sch\n");
    char path[256];
    snprintf(path, sizeof path, "models/%s.sql", model_name);
    write_file(path, sql);
}

static const char *compile(Loaded *L, const char *name)
{
    Node *n = model(L->p, name);
    ck_assert_ptr_nonnull(n);
    Sb e = SB_INIT;
    int rc = dbt_compile_node(L->d, n, &L->err);
    if (rc != 0)
        diag_format(&L->err, &e);
    ck_assert_msg(rc == 0, "%s", sb_cstr(&e));
    sb_free(&e);
    return n->compiled_code;
}

START_TEST(statement_and_run_query_typed_values)
{
    project("a",
            "{% call statement('main', fetch_result=true) %}select stuff{% endcall %}"
            "{% set r = load_result('main') %}"
            "{{ r.response }}|{{ r.response.code }}|{{ r.response.rows_affected }}|"
            "{{ r.table.column_names }}|{{ r.table | length }}|"
            "{% for row in r.table.rows %}{{ row[0] + 1 }},{{ row['amount'] }},{{ row.ok }},{{ row.day }},"
            "{{ row['name'] }},{{ row.id_2 }};{% endfor %}|"
            "{{ run_query('select 2').columns[1].values() }}|"
            "{{ r.table.rows[0].keys() | list | length }}|{{ r.table.rows[1].get('nothere', 'd') }}|"
            "{{ r.table.column_types[1] }}");
    Loaded L;
    load(&L, true);
    ck_assert_str_eq(compile(&L, "a"),
                     "SELECT 2|SELECT|2|['id', 'amount', 'ok', 'day', 'name', 'id_2']|2|"
                     "2,12.5,True,2026-01-31,x,7;3,3,False,None,None,8;|"
                     "[12.5, 3]|6|d|Number");
    /* statement: auto_begin true, fetch; run_query: no auto_begin */
    ck_assert_str_eq(sb_cstr(&L.fake.log), "11:select stuff\n01:\n    select 2\n  \n");
    unload(&L);
}
END_TEST

START_TEST(execute_response_and_commit)
{
    project("a",
            "{% set res, t = adapter.execute('insert into x select 1', fetch=false) %}"
            "{{ res._message }}|{{ res.code }}|{{ res.rows_affected }}|{{ t | length }}{{ adapter.commit() }}");
    Loaded L;
    load(&L, true);
    ck_assert_str_eq(compile(&L, "a"), "INSERT 0 5|INSERT|5|0");
    ck_assert_str_eq(sb_cstr(&L.fake.log), "00:insert into x select 1\n");
    ck_assert_int_eq(L.fake.commits, 1);
    unload(&L);
}
END_TEST

START_TEST(relations_and_is_incremental)
{
    project("inc",
            "{{ config(materialized='incremental') }}"
            "{{ is_incremental() }}|{{ adapter.get_relation(this.database, this.schema, this.identifier) }}|"
            "{{ adapter.get_relation('db', 'sch', 'missing') is none }}|"
            "{{ adapter.load_relation(this).type }}");
    Loaded L;
    load(&L, true);
    L.fake.existing = "sch.inc=table";
    ck_assert_str_eq(compile(&L, "inc"), "True|\"db\".\"sch\".\"inc\"|True|table");
    unload(&L);

    /* a view in the way, or --full-refresh, is not incremental */
    project("inc", "{{ config(materialized='incremental') }}{{ is_incremental() }}");
    load(&L, true);
    L.fake.existing = "sch.inc=view";
    ck_assert_str_eq(compile(&L, "inc"), "False");
    unload(&L);
}
END_TEST

START_TEST(columns_in_relation)
{
    project("a",
            "{% for c in adapter.get_columns_in_relation(api.Relation.create(schema='sch', identifier='t')) %}"
            "{{ c.name }}:{{ c.data_type }}:{{ c.dtype }}:{{ c.is_string() }}:{{ c.is_numeric() }}:{{ c.quoted }};"
            "{% endfor %}");
    Loaded L;
    load(&L, true);
    ck_assert_str_eq(compile(&L, "a"),
                     "id:integer:integer:False:False:\"id\";"
                     "name:character varying(20):character varying:True:False:\"name\";"
                     "price:numeric(10,2):numeric:False:True:\"price\";"
                     "note:text:text:True:False:\"note\";");
    ck_assert_msg(strstr(sb_cstr(&L.fake.log), "where table_name = 't'\n  and table_schema = 'sch'") != NULL, "%s",
                  sb_cstr(&L.fake.log));
    unload(&L);
}
END_TEST

START_TEST(database_error_is_a_compile_error)
{
    project("a", "select {{ run_query('select * from nope') }}");
    Loaded L;
    load(&L, true);
    L.fake.fail = true;
    Node *n = model(L.p, "a");
    ck_assert_int_eq(dbt_compile_node(L.d, n, &L.err), -1);
    ck_assert_msg(strstr(L.err.message, "Compilation Error in model a (models/a.sql)") != NULL, "%s", L.err.message);
    ck_assert_msg(strstr(L.err.message, "Database Error\n  relation \"nope\" does not exist") != NULL, "%s",
                  L.err.message);
    unload(&L);
}
END_TEST

START_TEST(stubs_without_database)
{
    project("inc",
            "{{ config(materialized='incremental') }}{{ is_incremental() }}|"
            "{{ adapter.get_columns_in_relation(this) | length }}|"
            "{% if execute %}{{ run_query('select 1') | length }}{% endif %}|"
            "{{ adapter.get_relation('db', 'sch', 'inc') }}");
    Loaded L;
    load(&L, false);
    L.fake.existing = "sch.inc=table";
    ck_assert_str_eq(compile(&L, "inc"), "False|0|0|None");
    ck_assert_str_eq(sb_cstr(&L.fake.log), "");
    unload(&L);
}
END_TEST

START_TEST(run_hook_extra_context)
{
    project("a", "select 1");
    Loaded L;
    load(&L, true);
    VDict *extra = v_dict(&L.p->arena).u.d;
    Value schemas = v_list(&L.p->arena, 0);
    list_append(&L.p->arena, schemas.u.l, v_strz(&L.p->arena, "analytics"));
    dict_setz(&L.p->arena, extra, "schemas", schemas);
    const char *out = NULL;
    ck_assert_int_eq(dbt_render_hook(L.d, "grant usage on schema {{ schemas | join(',') }} to {{ target.user }}"
                                          "{{ this is defined }}", "dbt_project.yml", extra, &out, &L.err), 0);
    ck_assert_str_eq(out, "grant usage on schema analytics to uFalse");
    ck_assert_int_eq(dbt_render_hook(L.d, "{{ nope() }}", "dbt_project.yml", NULL, &out, &L.err), -1);
    unload(&L);
}
END_TEST

Suite *dbt_db_suite(void)
{
    Suite *s = suite_create("dbt_db");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, statement_and_run_query_typed_values);
    tcase_add_test(tc, execute_response_and_commit);
    tcase_add_test(tc, relations_and_is_incremental);
    tcase_add_test(tc, columns_in_relation);
    tcase_add_test(tc, database_error_is_a_compile_error);
    tcase_add_test(tc, stubs_without_database);
    tcase_add_test(tc, run_hook_extra_context);
    suite_add_tcase(s, tc);
    return s;
}
