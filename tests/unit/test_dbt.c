/* test_dbt.c - src/dbt: parse and compile of the jaffle fixture project
 * against expected SQL (tests/fixtures/expected/jaffle/...), ephemeral CTE
 * injection, generate_schema_name override, var precedence, env_var errors,
 * config precedence and missing/disabled ref errors.
 *
 * Set CDBT_DBT_DUMP=<dir> to write every compiled node there (to refresh
 * expectations by hand after checking them). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dbt/dbt.h"
#include "dbt/dbtpriv.h"
#include "base/fs.h"

#define JAFFLE CDBT_SOURCE_DIR "/tests/fixtures/projects/jaffle"
#define EXPECTED CDBT_SOURCE_DIR "/tests/fixtures/expected/jaffle"

typedef struct Loaded {
    Dbt *d;
    Project *p;
    Diag err;
    Sb out;             /* print()/log() output */
    FILE *outf;
    char *outbuf;
    size_t outlen;
} Loaded;

static bool g_record_macros;       /* load_dir's DbtOptions.record_macros */

static int load_dir(Loaded *L, const char *dir, VDict *cli_vars)
{
    memset(L, 0, sizeof *L);
    L->outf = open_memstream(&L->outbuf, &L->outlen);
    DbtOptions o = {.which = "compile", .cli_vars = cli_vars, .out = L->outf, .record_macros = g_record_macros};
    L->d = dbt_new(&o);
    ProjectOptions po = {.project_dir = dir, .profiles_dir = dir, .cli_vars = cli_vars,
                         .need_profile = true};
    L->p = project_load(&po, dbt_renderer(L->d), &L->err);
    if (!L->p)
        return -1;
    if (dbt_attach(L->d, L->p, &L->err) != 0)
        return -2;
    if (dbt_parse(L->d, &L->err) != 0)
        return -3;
    return 0;
}

static void unload(Loaded *L)
{
    if (L->p)
        project_free(L->p);
    dbt_free(L->d);
    diag_clear(&L->err);
    if (L->outf)
        fclose(L->outf);
    free(L->outbuf);
}

static const char *errtext(Loaded *L)
{
    static Sb s;
    sb_reset(&s);
    diag_format(&L->err, &s);
    return sb_cstr(&s);
}

static Node *by_name(Project *p, ResourceType rt, const char *name)
{
    for (int i = 0; i < p->nnodes; i++)
        if (p->nodes[i]->rt == rt && strcmp(p->nodes[i]->name, name) == 0)
            return p->nodes[i];
    return NULL;
}

static const char *cfg_str(Node *n, const char *k)
{
    Value *v = dict_getz(n->config, k);
    return v ? value_cstr(*v) : NULL;
}

/* ---------------------------------------------------------------- small fixture projects */

static char tmp_root[256];

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_root, rel);
    ck_assert_int_eq(fs_write_file(path, text, strlen(text)), 0);
}

static const char *PROFILE =
    "p:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: h\n      user: u\n"
    "      password: pw\n      port: 5432\n      dbname: db\n      schema: sch\n";

static void mini_project(const char *extra_project_yml)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/cdbt_test_dbt_%d_%ld", (int)getpid(), (long)random());
    fs_rm_rf(tmp_root);
    char buf[2048];
    snprintf(buf, sizeof buf, "name: p\nversion: '1'\nconfig-version: 2\nprofile: p\n%s",
             extra_project_yml ? extra_project_yml : "");
    write_file("dbt_project.yml", buf);
    write_file("profiles.yml", PROFILE);
}

/* ---------------------------------------------------------------- jaffle */

static void check_expected(Node *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", EXPECTED, n->compiled_path + strlen("target/compiled/jaffle/"));
    const char *dump = getenv("CDBT_DBT_DUMP");
    if (dump) {
        char dp[1024];
        snprintf(dp, sizeof dp, "%s/%s", dump, n->compiled_path + strlen("target/compiled/jaffle/"));
        fs_write_file(dp, n->compiled_code, strlen(n->compiled_code));
        return;
    }
    char *want = NULL;
    size_t wl = 0;
    if (fs_read_file(path, &want, &wl) != 0)
        ck_abort_msg("missing expected file %s for %s:\n%s", path, n->unique_id, n->compiled_code);
    ck_assert_msg(strcmp(want, n->compiled_code) == 0, "%s differs from %s:\n--- got\n%s\n--- want\n%s",
                  n->unique_id, path, n->compiled_code, want);
    free(want);
}

START_TEST(jaffle_compiles_as_dbt)
{
    Loaded L;
    int rc = load_dir(&L, JAFFLE, NULL);
    ck_assert_msg(rc == 0, "load failed (%d): %s", rc, errtext(&L));
    Project *p = L.p;
    int compiled = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (n->rt == RT_SOURCE || n->rt == RT_SEED)
            continue;
        ck_assert_msg(dbt_compile_node(L.d, n, &L.err) == 0, "%s: %s", n->unique_id, errtext(&L));
        check_expected(n);
        compiled++;
    }
    ck_assert_int_gt(compiled, 15);
    unload(&L);
}
END_TEST

START_TEST(jaffle_parse_results)
{
    Loaded L;
    int rc = load_dir(&L, JAFFLE, NULL);
    ck_assert_msg(rc == 0, "load failed (%d): %s", rc, errtext(&L));
    Project *p = L.p;
    Node *stg = by_name(p, RT_MODEL, "stg_orders");
    ck_assert_ptr_nonnull(stg);
    ck_assert_str_eq(stg->database, "jaffle");
    ck_assert_str_eq(stg->schema, "dbt_dev_staging");            /* project override of generate_schema_name */
    ck_assert_str_eq(stg->alias, "stg_orders");
    ck_assert_str_eq(stg->relation_name, "\"jaffle\".\"dbt_dev_staging\".\"stg_orders\"");
    ck_assert_str_eq(cfg_str(stg, "materialized"), "table");     /* schema.yml over dbt_project.yml */
    ck_assert_int_eq(stg->ndep_nodes, 1);
    ck_assert_str_eq(stg->dep_nodes[0], "source.jaffle.raw.orders");
    ck_assert_int_eq(stg->nsources, 1);

    Node *eph = by_name(p, RT_MODEL, "int_order_totals");
    ck_assert_str_eq(cfg_str(eph, "materialized"), "ephemeral"); /* in-file config over dbt_project.yml */
    ck_assert_ptr_null(eph->relation_name);
    ck_assert_int_eq(eph->ndep_nodes, 2);
    ck_assert_str_eq(eph->dep_nodes[0], "model.jaffle.stg_orders");
    ck_assert_str_eq(eph->dep_nodes[1], "model.jaffle.stg_payments");

    Node *orders = by_name(p, RT_MODEL, "orders");
    ck_assert_str_eq(cfg_str(orders, "materialized"), "incremental");
    ck_assert_int_eq(orders->nparents, 2);

    Node *pay = by_name(p, RT_MODEL, "stg_payments");
    ck_assert_int_eq(pay->ndep_macros, 1);
    ck_assert_str_eq(pay->dep_macros[0], "macro.jaffle.cents_to_dollars");

    Node *seed = by_name(p, RT_SEED, "raw_payments");
    ck_assert_str_eq(seed->schema, "dbt_dev_raw");

    /* source quoting: table-level identifier: false, project quoting ignored */
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (n->rt == RT_SOURCE && strcmp(n->name, "orders") == 0)
            ck_assert_str_eq(n->relation_name, "\"jaffle\".\"raw_data\".raw_orders");
    }
    /* generic test deps: relationships records the `to:` ref first */
    int seen = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (!n->is_generic_test)
            continue;
        if (strncmp(n->name, "relationships_customers_", 24) == 0) {
            ck_assert_int_eq(n->ndep_nodes, 2);
            ck_assert_str_eq(n->dep_nodes[0], "model.jaffle.stg_customers");
            ck_assert_str_eq(n->dep_nodes[1], "model.jaffle.customers");
            ck_assert_str_eq(n->dep_macros[0], "macro.dbt.test_relationships");
            ck_assert_str_eq(n->dep_macros[1], "macro.dbt.get_where_subquery");
            seen++;
        }
        if (strcmp(n->name, "not_null_customers_customer_id") == 0) {
            ck_assert_int_eq(n->ndep_nodes, 1);
            ck_assert_str_eq(n->dep_macros[0], "macro.dbt.test_not_null");
            ck_assert_str_eq(n->schema, "dbt_dev_dbt_test__audit");
            ck_assert_ptr_null(n->relation_name);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 2);
    unload(&L);
}
END_TEST

START_TEST(jaffle_ephemeral_chain)
{
    Loaded L;
    ck_assert_int_eq(load_dir(&L, JAFFLE, NULL), 0);
    Node *c = by_name(L.p, RT_MODEL, "customers");
    ck_assert_int_eq(dbt_compile_node(L.d, c, &L.err), 0);
    ck_assert_int_eq((int)c->extra_ctes->len, 1);
    Value id = *dict_getz(c->extra_ctes->items[0].u.d, "id");
    ck_assert_str_eq(value_cstr(id), "model.jaffle.int_order_totals");
    Node *e = by_name(L.p, RT_MODEL, "int_order_totals");
    ck_assert(e->compiled);
    ck_assert_str_eq(c->compiled_path, "target/compiled/jaffle/models/marts/customers.sql");
    unload(&L);
}
END_TEST

/* ---------------------------------------------------------------- injection unit cases */

static void inj(const char *sql, const char *ctes, const char *want)
{
    Sb out = SB_INIT;
    dbt_inject_ctes(sql, strlen(sql), ctes, strlen(ctes), &out);
    ck_assert_msg(strcmp(sb_cstr(&out), want) == 0, "inject(%s):\n got: [%s]\nwant: [%s]", sql,
                  sb_cstr(&out), want);
    sb_free(&out);
}

START_TEST(inject_cases)
{
    const char *a = " __dbt__cte__a as (\nselect 1\n)";
    inj("select * from __dbt__cte__a", a, "with __dbt__cte__a as (\nselect 1\n)select * from __dbt__cte__a");
    inj("with x as (select 1) select * from x", a,
        "with  __dbt__cte__a as (\nselect 1\n),x as (select 1) select * from x");
    inj("WITH RECURSIVE t(n) as (select 1) select * from t", a,
        "WITH RECURSIVE  __dbt__cte__a as (\nselect 1\n),t(n) as (select 1) select * from t");
    inj("-- leading\nselect 1", a, "with __dbt__cte__a as (\nselect 1\n)-- leading\nselect 1");
    inj("\n\nselect 1", a, "\n\nwith __dbt__cte__a as (\nselect 1\n)select 1");
    /* WITH inside parentheses, strings and comments does not count */
    inj("select * from (with q as (select 1) select * from q) s where c = 'with'", a,
        "with __dbt__cte__a as (\nselect 1\n)select * from (with q as (select 1) select * from q) s where c = 'with'");
    inj("/* with */ with q as (select 1) select 1", a,
        "/* with */ with  __dbt__cte__a as (\nselect 1\n),q as (select 1) select 1");
    inj("select 'it''s' as with_col", a, "with __dbt__cte__a as (\nselect 1\n)select 'it''s' as with_col");
}
END_TEST

/* ---------------------------------------------------------------- mini projects */

START_TEST(nested_ephemerals_dedup)
{
    mini_project(NULL);
    write_file("models/a.sql", "{{ config(materialized='ephemeral') }}\nselect 1 as id");
    write_file("models/b.sql", "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('a') }}");
    write_file("models/c.sql", "with x as (select * from {{ ref('b') }})\nselect * from x join {{ ref('a') }} using (id)");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *c = by_name(L.p, RT_MODEL, "c");
    ck_assert_msg(dbt_compile_node(L.d, c, &L.err) == 0, "%s", errtext(&L));
    ck_assert_str_eq(c->compiled_code,
        "with  __dbt__cte__a as (\n\nselect 1 as id\n),  __dbt__cte__b as (\n\nselect * from __dbt__cte__a\n),"
        "x as (select * from __dbt__cte__b)\nselect * from x join __dbt__cte__a using (id)");
    ck_assert_int_eq((int)c->extra_ctes->len, 2);
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(ref_errors)
{
    mini_project(NULL);
    write_file("models/a.sql", "select * from {{ ref('nope') }}");
    Loaded L;
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -3);
    ck_assert_str_eq(L.err.message,
                     "Model 'model.p.a' (models/a.sql) depends on a node named 'nope' which was not found");
    unload(&L);
    fs_rm_rf(tmp_root);

    mini_project(NULL);
    write_file("models/a.sql", "select * from {{ ref('b') }}");
    write_file("models/b.sql", "{{ config(enabled=false) }}\nselect 1");
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -3);
    ck_assert_str_eq(L.err.message,
                     "Model 'model.p.a' (models/a.sql) depends on a node named 'b' which is disabled");
    unload(&L);
    fs_rm_rf(tmp_root);

    mini_project(NULL);
    write_file("models/a.sql", "select * from {{ source('s', 't') }}");
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -3);
    ck_assert_str_eq(L.err.message,
                     "Model 'model.p.a' (models/a.sql) depends on a source named 's.t' which was not found");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(depends_on_hint)
{
    mini_project(NULL);
    write_file("models/b.sql", "select 1");
    write_file("models/a.sql", "{% if execute %}select * from {{ ref('b') }}{% endif %}");
    Loaded L;
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), 0);
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_int_eq(dbt_compile_node(L.d, a, &L.err), -1);
    ck_assert_msg(strstr(L.err.message, "Compilation Error in model a (models/a.sql)\n") == L.err.message,
                  "%s", L.err.message);
    ck_assert_msg(strstr(L.err.message, "-- depends_on: {{ ref('b') }}") != NULL, "%s", L.err.message);
    unload(&L);
    fs_rm_rf(tmp_root);

    mini_project(NULL);
    write_file("models/b.sql", "select 1");
    write_file("models/a.sql", "-- depends_on: {{ ref('b') }}\n{% if execute %}select * from {{ ref('b') }}{% endif %}");
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), 0);
    a = by_name(L.p, RT_MODEL, "a");
    ck_assert_msg(dbt_compile_node(L.d, a, &L.err) == 0, "%s", errtext(&L));
    ck_assert_str_eq(a->compiled_code, "-- depends_on: \"db\".\"sch\".\"b\"\nselect * from \"db\".\"sch\".\"b\"");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(var_precedence)
{
    mini_project("vars:\n  x: project\n  y: '{{ var(\"x\") }}-rendered'\n  z: 1\n  p:\n    x: scoped\n");
    write_file("models/a.sql", "{{ var('x') }}|{{ var('y') }}|{{ var('z') }}|{{ var('w', 'dflt') }}");
    write_file("models/b.sql", "{{ var('missing') }}");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_msg(dbt_compile_node(L.d, a, &L.err) == 0, "%s", errtext(&L));
    ck_assert_str_eq(a->compiled_code, "scoped|scoped-rendered|1|dflt");
    Node *b = by_name(L.p, RT_MODEL, "b");
    ck_assert_int_eq(dbt_compile_node(L.d, b, &L.err), -1);
    ck_assert_msg(strstr(L.err.message, "Required var 'missing' not found in config:\nVars supplied to b = {\n"
                                        "    \"x\": \"scoped\",\n") != NULL, "%s", L.err.message);
    unload(&L);

    /* CLI vars win over everything */
    Arena a2;
    arena_init(&a2, 0);
    VDict *cli = v_dict(&a2).u.d;
    dict_setz(&a2, cli, "x", v_strz(&a2, "cli"));
    ck_assert_msg(load_dir(&L, tmp_root, cli) == 0, "%s", errtext(&L));
    a = by_name(L.p, RT_MODEL, "a");
    ck_assert_msg(dbt_compile_node(L.d, a, &L.err) == 0, "%s", errtext(&L));
    ck_assert_str_eq(a->compiled_code, "cli|cli-rendered|1|dflt");
    unload(&L);
    arena_free(&a2);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(env_var_rules)
{
    mini_project(NULL);
    setenv("CDBT_TEST_ENV_X", "hello", 1);
    unsetenv("CDBT_TEST_ENV_MISSING");
    setenv("DBT_ENV_SECRET_TOKEN", "s3cret", 1);
    write_file("models/a.sql", "{{ env_var('CDBT_TEST_ENV_X') }} {{ env_var('CDBT_TEST_ENV_MISSING', 'd') }}");
    write_file("models/b.sql", "{{ env_var('CDBT_TEST_ENV_MISSING') }}");
    write_file("models/c.sql", "{{ env_var('DBT_ENV_SECRET_TOKEN') }}");
    Loaded L;
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -3);
    ck_assert_msg(strstr(L.err.message, "Env var required but not provided: 'CDBT_TEST_ENV_MISSING'") != NULL,
                  "%s", L.err.message);
    unload(&L);
    fs_rm_rf(tmp_root);

    mini_project(NULL);
    write_file("models/c.sql", "{{ env_var('DBT_ENV_SECRET_TOKEN') }}");
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -3);
    ck_assert_msg(strstr(L.err.message, "Secret env vars are allowed only in profiles.yml or packages.yml") != NULL,
                  "%s", L.err.message);
    unload(&L);
    fs_rm_rf(tmp_root);

    mini_project(NULL);
    write_file("models/a.sql", "{{ env_var('CDBT_TEST_ENV_X') }} {{ env_var('CDBT_TEST_ENV_MISSING', 'd') }}");
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), 0);
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_int_eq(dbt_compile_node(L.d, a, &L.err), 0);
    ck_assert_str_eq(a->compiled_code, "hello d");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(config_precedence)
{
    mini_project("models:\n  p:\n    +materialized: table\n    +tags: [proj]\n    +schema: from_project\n");
    write_file("models/props.yml", "version: 2\nmodels:\n  - name: a\n    config:\n      materialized: view\n"
                                   "      tags: [yml]\n      alias: from_yml\n");
    write_file("models/a.sql", "{{ config(materialized='incremental', tags=['file']) }}\nselect 1");
    write_file("models/b.sql", "select {{ config.get('materialized') }}");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_str_eq(cfg_str(a, "materialized"), "incremental");
    Value *tags = dict_getz(a->config, "tags");
    ck_assert_int_eq((int)tags->u.l->len, 3);
    ck_assert_str_eq(value_cstr(tags->u.l->items[2]), "file");
    ck_assert_str_eq(a->alias, "from_yml");
    ck_assert_str_eq(a->schema, "sch_from_project");
    ck_assert_str_eq(a->relation_name, "\"db\".\"sch_from_project\".\"from_yml\"");
    Node *b = by_name(L.p, RT_MODEL, "b");
    ck_assert_int_eq(dbt_compile_node(L.d, b, &L.err), 0);
    ck_assert_str_eq(b->compiled_code, "select table");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

/* Nodes with the same folded config (and the same config() call, rendered on
 * one parse thread) share it copy on write: a change to one node's config is
 * that node's alone. */
START_TEST(shared_configs_stay_separate)
{
    mini_project("models:\n  p:\n    +tags: [proj]\n");
    write_file("models/props.yml", "version: 2\nmodels:\n  - name: c\n    columns:\n      - name: id\n"
                                   "        data_tests: [unique, not_null]\n");
    write_file("models/c.sql", "{{ config(materialized='table', tags=['t']) }}\nselect 1 as id");
    write_file("models/d.sql", "{{ config(materialized='table', tags=['t']) }}\nselect 1 as id");
    write_file("models/e.sql", "select 1 as id");
    Loaded L;
    /* sharing is per parse thread (each has its own memo of merges): pin one,
     * whatever CDBT_PARSE_THREADS the suite runs with */
    const char *pt = getenv("CDBT_PARSE_THREADS");
    char *saved = pt ? strdup(pt) : NULL;
    setenv("CDBT_PARSE_THREADS", "1", 1);
    int lrc = load_dir(&L, tmp_root, NULL);
    if (saved)
        setenv("CDBT_PARSE_THREADS", saved, 1);
    else
        unsetenv("CDBT_PARSE_THREADS");
    free(saved);
    ck_assert_msg(lrc == 0, "%s", errtext(&L));
    Arena *a = &L.p->arena;
    Node *c = by_name(L.p, RT_MODEL, "c"), *d = by_name(L.p, RT_MODEL, "d"), *e = by_name(L.p, RT_MODEL, "e");
    ck_assert_str_eq(cfg_str(c, "materialized"), "table");
    ck_assert_int_eq((int)c->tags->len, 2);
    ck_assert_str_eq(value_cstr(*dict_getz(d->unrendered_config, "materialized")), "table");
    ck_assert_str_eq(cfg_str(e, "materialized"), "view");
    ck_assert_ptr_nonnull(dict_cow_source(c->config));
    ck_assert_ptr_eq(dict_cow_source(c->config), dict_cow_source(d->config));
    dict_setz(a, c->config, "materialized", v_strz(a, "incremental"));
    dict_setz(a, e->config, "alias", v_strz(a, "e2"));
    ck_assert_str_eq(cfg_str(c, "materialized"), "incremental");
    ck_assert_str_eq(cfg_str(d, "materialized"), "table");
    ck_assert_ptr_null(cfg_str(d, "alias"));
    ck_assert_str_eq(cfg_str(e, "alias"), "e2");
    Node *tests[2];
    int nt = 0;
    for (int i = 0; i < L.p->nnodes && nt < 2; i++)
        if (L.p->nodes[i]->rt == RT_TEST)
            tests[nt++] = L.p->nodes[i];
    ck_assert_int_eq(nt, 2);
    dict_setz(a, tests[0]->config, "severity", v_strz(a, "warn"));
    ck_assert_str_eq(cfg_str(tests[0], "severity"), "warn");
    ck_assert_str_eq(cfg_str(tests[1], "severity"), "ERROR");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

/* DbtOptions.record_macros: each node's parse render records the project
 * macros it ran, at any depth (through another macro, adapter.dispatch, a
 * hook), and those whose attributes it read; not those it only could have
 * called; and the vars it read; on either thread of the parse pass. */
static const char *macro_names(Node *n)
{
    static char buf[512];
    const char *v[32];
    int k = n->nparse_macros < 32 ? n->nparse_macros : 32;
    for (int i = 0; i < k; i++)
        v[i] = n->parse_macros[i]->name;
    for (int i = 0; i < k; i++)          /* sorted: the order is first-run */
        for (int j = i + 1; j < k; j++)
            if (strcmp(v[j], v[i]) < 0) {
                const char *t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
    buf[0] = '\0';
    for (int i = 0; i < k; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "", v[i]);
    return buf;
}

START_TEST(parse_records_macros_run)
{
    mini_project(NULL);
    write_file("macros/m.sql",
               "{% macro outer(x) %}{{ inner(x) }}{% endmacro %}\n"
               "{% macro inner(x) %}{% if x %}{{ deep() }}{% else %}{{ never() }}{% endif %}{% endmacro %}\n"
               "{% macro deep() %}1{% endmacro %}\n"
               "{% macro never() %}0{% endmacro %}\n"
               "{% macro default__disp() %}{{ return('view') }}{% endmacro %}\n"
               "{% macro looked_at(a, b) %}{% endmacro %}\n"
               "{% macro in_hook() %}select 1{% endmacro %}\n"
               "{% macro reads_var() %}{{ var('v2') }}{% endmacro %}\n");
    write_file("models/a.sql", "select {{ outer(true) }} as x");
    write_file("models/b.sql", "{{ config(materialized=adapter.dispatch('disp')()) }}select 1 as x");
    write_file("models/c.sql", "select {{ looked_at.arguments | length }} as x");
    write_file("models/d.sql", "{{ config(pre_hook=\"{{ in_hook() }}\") }}select 1 as x");
    write_file("models/e.sql", "select 1 as x");
    write_file("models/f.sql", "select '{{ var('v1', 'd') }}{{ reads_var() }}{{ var('v1') }}' as x");
    static const char *const want[][2] = {{"a", "deep,inner,outer"}, {"b", "default__disp"},
                                          {"c", "looked_at"}, {"d", "in_hook"}, {"e", ""}, {"f", "reads_var"}};
    for (int round = 0; round < 3; round++) {
        /* 0: one thread; 1: the helper thread renders every node first;
         * 2: not asked for, nothing recorded */
        if (round == 1)
            setenv("CDBT_PARSE_THREADS", "helper", 1);
        g_record_macros = round < 2;
        Loaded L;
        ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            Node *n = by_name(L.p, RT_MODEL, want[i][0]);
            ck_assert_ptr_nonnull(n);
            ck_assert_msg(strcmp(macro_names(n), round < 2 ? want[i][1] : "") == 0, "round %d, %s: %s", round,
                          want[i][0], macro_names(n));
        }
        /* the vars f asked for, each once (v2 through a macro) */
        Node *f = by_name(L.p, RT_MODEL, "f");
        ck_assert_int_eq(f->nparse_vars, round < 2 ? 2 : 0);
        if (round < 2) {
            ck_assert_str_eq(f->parse_vars[0], "v1");
            ck_assert_str_eq(f->parse_vars[1], "v2");
        }
        unload(&L);
        unsetenv("CDBT_PARSE_THREADS");
    }
    g_record_macros = false;
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(schema_override_and_dispatch)
{
    mini_project(NULL);
    write_file("macros/m.sql",
               "{% macro generate_schema_name(custom_schema_name, node) %} custom_{{ node.name }} {% endmacro %}\n"
               "{% macro default__test_unique(model, column_name) %}select 'mine' from {{ model }}{% endmacro %}\n"
               "{% macro postgres__current_timestamp() %}clock_timestamp(){% endmacro %}\n");
    write_file("models/a.sql", "select {{ dbt.current_timestamp() }}, {{ current_timestamp() }}, '{{ this.schema }}'");
    write_file("models/props.yml", "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n"
                                   "        data_tests: [unique]\n");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_str_eq(a->schema, "custom_a");
    ck_assert_int_eq(dbt_compile_node(L.d, a, &L.err), 0);
    ck_assert_str_eq(a->compiled_code, "select clock_timestamp(), clock_timestamp(), 'custom_a'");
    for (int i = 0; i < L.p->nnodes; i++) {
        Node *t = L.p->nodes[i];
        if (!t->is_generic_test)
            continue;
        ck_assert_msg(dbt_compile_node(L.d, t, &L.err) == 0, "%s", errtext(&L));
        ck_assert_msg(strstr(t->compiled_code, "select 'mine' from \"db\".\"custom_a\".\"a\"") != NULL,
                      "%s", t->compiled_code);
    }
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(error_location)
{
    mini_project(NULL);
    write_file("models/a.sql", "select 1\n{% if %}");
    Loaded L;
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -3);
    ck_assert_msg(strncmp(L.err.message, "Compilation Error in model a (models/a.sql)\n  ", 46) == 0,
                  "%s", L.err.message);
    ck_assert_str_eq(L.err.file, "models/a.sql");
    ck_assert_int_eq(L.err.line, 2);
    unload(&L);
    fs_rm_rf(tmp_root);

    mini_project(NULL);
    write_file("models/a.sql", "select {{ exceptions.raise_compiler_error('boom') }}");
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -3);
    ck_assert_str_eq(L.err.message, "Compilation Error in model a (models/a.sql)\n  boom");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(context_members)
{
    mini_project(NULL);
    write_file("models/a.sql",
               "{% set r = run_query('select 1') %}{{ r is none }}|{{ execute }}|{{ is_incremental() }}|"
               "{{ adapter.quote('x') }}|{{ adapter.type() }}|{{ target.name }}|{{ project_name }}|"
               "{{ model.unique_id }}|{{ this.identifier }}|{{ tojson({'a': [1, none]}) }}|{{ local_md5('x') }}|"
               "{{ api.Relation.create(database='d', schema='s', identifier='i') }}|"
               "{{ this.include(database=false) }}|{{ fromjson('{\"k\": 2}').k }}|{{ invocation_id | length }}");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_msg(dbt_compile_node(L.d, a, &L.err) == 0, "%s", errtext(&L));
    ck_assert_str_eq(a->compiled_code,
                     "False|True|False|\"x\"|postgres|dev|p|model.p.a|a|{\"a\": [1, null]}|"
                     "9dd4e461268c8034f5c8564e155c67a6|\"d\".\"s\".\"i\"|\"sch\".\"a\"|2|36");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(yaml_rendering_scopes)
{
    /* profiles.yml may use secrets; dbt_project.yml sees CLI vars only;
     * properties files see project vars and target */
    setenv("DBT_ENV_SECRET_PW", "pw", 1);
    mini_project("vars:\n  mat: view\n  t: from_project\n"
                 "models:\n  p:\n    +tags: \"{{ var('t', 'not_visible') }}\"\n");
    write_file("profiles.yml",
               "p:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: h\n      user: u\n"
               "      password: \"{{ env_var('DBT_ENV_SECRET_PW') }}\"\n      port: 5432\n      dbname: db\n"
               "      schema: sch\n");
    write_file("models/props.yml", "version: 2\nmodels:\n  - name: a\n    config:\n"
                                   "      materialized: \"{{ var('mat') }}\"\n      alias: \"{{ target.name }}_a\"\n");
    write_file("models/a.sql", "select 1");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_str_eq(cfg_str(a, "materialized"), "view");
    ck_assert_str_eq(a->alias, "dev_a");
    Value *tags = dict_getz(a->config, "tags");
    ck_assert_int_eq((int)tags->u.l->len, 1);
    ck_assert_str_eq(value_cstr(tags->u.l->items[0]), "not_visible");
    unload(&L);
    fs_rm_rf(tmp_root);

    /* missing env var in a property value: located error */
    mini_project(NULL);
    unsetenv("CDBT_NOPE");
    write_file("models/props.yml", "version: 2\nmodels:\n  - name: a\n    config:\n"
                                   "      materialized: \"{{ env_var('CDBT_NOPE') }}\"\n");
    write_file("models/a.sql", "select 1");
    ck_assert_int_eq(load_dir(&L, tmp_root, NULL), -1);
    ck_assert_msg(strstr(L.err.message, "Env var required but not provided: 'CDBT_NOPE'") != NULL, "%s",
                  L.err.message);
    ck_assert_int_eq(L.err.line, 5);
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(statements_log_inline_write)
{
    mini_project(NULL);
    write_file("models/b.sql", "select 1 as id");
    write_file("models/a.sql",
               "{% call statement('q', fetch_result=true) %}select 1{% endcall %}"
               "{% set r = load_result('q') %}{{ r is none }}|"
               "{% if execute %}{% set t = run_query('select 1') %}{% for row in t.rows %}x{% endfor %}"
               "{{ t.column_names | length }}{% endif %}|"
               "{{ log('to-log', info=true) }}{{ log('hidden') }}{{ print('printed') }}"
               "{{ ref('b') }}");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_msg(dbt_compile_node(L.d, a, &L.err) == 0, "%s", errtext(&L));
    ck_assert_str_eq(a->compiled_code, "False|0|\"db\".\"sch\".\"b\"");
    fflush(L.outf);
    ck_assert_msg(strstr(L.outbuf, "  to-log\n") != NULL, "%s", L.outbuf);
    ck_assert_msg(strstr(L.outbuf, "printed\n") != NULL, "%s", L.outbuf);
    ck_assert_msg(strstr(L.outbuf, "hidden") == NULL, "%s", L.outbuf);
    ck_assert_int_eq(dbt_write_compiled(L.d, a, &L.err), 0);
    char path[512], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/target/compiled/p/models/a.sql", tmp_root);
    ck_assert_int_eq(fs_read_file(path, &text, &len), 0);
    ck_assert_str_eq(text, a->compiled_code);
    free(text);
    const char *sql = NULL;
    ck_assert_msg(dbt_compile_inline(L.d, "select * from {{ ref('b') }} where {{ execute }}", &sql, &L.err) == 0,
                  "%s", errtext(&L));
    ck_assert_str_eq(sql, "select * from \"db\".\"sch\".\"b\" where True");
    ck_assert_int_eq(dbt_compile_inline(L.d, "select * from {{ ref('zzz') }}", &sql, &L.err), -1);
    ck_assert_msg(strstr(L.err.message, "depends on a node named 'zzz' which was not found") != NULL, "%s",
                  L.err.message);
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(hooks_refs_and_render_in_node)
{
    mini_project("models:\n  p:\n    +post-hook: \"insert into {{ ref('log_t') }} select '{{ this }}'\"\n");
    write_file("models/log_t.sql", "select 1");
    write_file("models/a.sql", "select 2");
    Loaded L;
    ck_assert_msg(load_dir(&L, tmp_root, NULL) == 0, "%s", errtext(&L));
    Node *a = by_name(L.p, RT_MODEL, "a");
    ck_assert_int_eq(a->ndep_nodes, 1);
    ck_assert_str_eq(a->dep_nodes[0], "model.p.log_t");
    ck_assert_int_eq(dbt_compile_node(L.d, a, &L.err), 0);
    const char *out = NULL;
    ck_assert_msg(dbt_render_in_node(L.d, a, "insert into {{ ref('log_t') }} select '{{ this }}' -- {{ sql }}",
                                     &out, &L.err) == 0, "%s", errtext(&L));
    ck_assert_str_eq(out, "insert into \"db\".\"sch\".\"log_t\" select '\"db\".\"sch\".\"a\"' -- select 2");
    unload(&L);
    fs_rm_rf(tmp_root);
}
END_TEST

START_TEST(builtins_inc_matches_sql)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(fs_read_file(CDBT_SOURCE_DIR "/src/dbt/dbt_builtins.sql", &text, &len), 0);
    ck_assert_msg(strcmp(text, dbt_builtin_macros_sql) == 0,
                  "dbt_builtins.inc is stale: run src/dbt/gen_builtins.sh");
    free(text);
}
END_TEST

Suite *dbt_suite(void)
{
    Suite *s = suite_create("dbt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, builtins_inc_matches_sql);
    tcase_add_test(tc, inject_cases);
    tcase_add_test(tc, jaffle_parse_results);
    tcase_add_test(tc, jaffle_ephemeral_chain);
    tcase_add_test(tc, jaffle_compiles_as_dbt);
    tcase_add_test(tc, nested_ephemerals_dedup);
    tcase_add_test(tc, ref_errors);
    tcase_add_test(tc, depends_on_hint);
    tcase_add_test(tc, var_precedence);
    tcase_add_test(tc, env_var_rules);
    tcase_add_test(tc, config_precedence);
    tcase_add_test(tc, shared_configs_stay_separate);
    tcase_add_test(tc, schema_override_and_dispatch);
    tcase_add_test(tc, parse_records_macros_run);
    tcase_add_test(tc, error_location);
    tcase_add_test(tc, context_members);
    tcase_add_test(tc, yaml_rendering_scopes);
    tcase_add_test(tc, statements_log_inline_write);
    tcase_add_test(tc, hooks_refs_and_render_in_node);
    suite_add_tcase(s, tc);
    return s;
}
