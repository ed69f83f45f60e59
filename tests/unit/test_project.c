/* test_project.c - project loading: the jaffle fixture (nodes, fqns, paths,
 * folded configs, sources, generic test names and ids, macros, warnings),
 * profile/target selection and environment precedence, the renderer
 * contract (what is and is not rendered), config merging rules, the
 * bad-input cases under tests/fixtures/bad/ with their exact messages, and
 * a 10,000-model load-time check. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "project/project.h"

#define JAFFLE CDBT_SOURCE_DIR "/tests/fixtures/projects/jaffle"
#define BAD CDBT_SOURCE_DIR "/tests/fixtures/bad/"

static void clear_env(void)
{
    unsetenv("DBT_PROJECT_DIR");
    unsetenv("DBT_PROFILES_DIR");
    unsetenv("DBT_PROFILE");
    unsetenv("DBT_TARGET");
    unsetenv("DBT_TARGET_PATH");
}

static Project *load_dir(const char *dir, const char *target, const ProjectRenderer *r, Diag *err)
{
    ProjectOptions o = {0};
    o.project_dir = dir;
    o.profiles_dir = dir;
    o.target = target;
    o.need_profile = true;
    return project_load(&o, r, err);
}

static Project *load_jaffle(void)
{
    clear_env();
    Diag err = {0};
    Project *p = load_dir(JAFFLE, NULL, NULL, &err);
    if (!p) {
        Sb s = SB_INIT;
        diag_format(&err, &s);
        fprintf(stderr, "%s\n", sb_cstr(&s));
        sb_free(&s);
    }
    ck_assert_ptr_nonnull(p);
    diag_clear(&err);
    return p;
}

static const char *repr(Value v)
{
    static char buf[8][4096];
    static int k;
    Sb s = SB_INIT;
    value_repr(&s, v);
    char *out = buf[k++ % 8];
    snprintf(out, 4096, "%s", sb_cstr(&s));
    sb_free(&s);
    return out;
}

static const char *repr_d(VDict *d) { return d ? repr((Value){.type = V_DICT, .u.d = d}) : "NULL"; }
static const char *repr_l(VList *l) { return l ? repr((Value){.type = V_LIST, .u.l = l}) : "NULL"; }

static const char *cfg(Node *n, const char *key)
{
    Value *v = dict_getz(n->config, key);
    return v ? repr(*v) : "<missing>";
}

static const char *fqn_str(Node *n)
{
    static char buf[1024];
    buf[0] = '\0';
    for (int i = 0; i < n->nfqn; i++) {
        if (i)
            strcat(buf, ".");
        strcat(buf, n->fqn[i]);
    }
    return buf;
}

static Node *find(Project *p, const char *id)
{
    Node *n = project_node(p, id);
    if (!n)
        ck_abort_msg("node %s not found", id);
    return n;
}

START_TEST(test_jaffle_nodes)
{
    Project *p = load_jaffle();
    ck_assert_str_eq(p->name, "jaffle");
    ck_assert_str_eq(p->version, "1.0.0");
    ck_assert_str_eq(p->target_path, "target");
    ck_assert_str_eq(p->log_path, "logs");
    ck_assert_str_eq(p->clean_targets[1], "dbt_packages");
    ck_assert_ptr_null(p->clean_targets[2]);
    ck_assert_str_eq(p->model_paths[0], "models");
    /* 6 models, 3 seeds, 1 snapshot, 1 analysis, 1 singular test, 3 sources, 16 generic tests */
    ck_assert_int_eq(p->nnodes, 31);
    ck_assert_int_eq(p->ndisabled, 0);

    Node *n = find(p, "model.jaffle.stg_customers");
    ck_assert_int_eq(n->rt, RT_MODEL);
    ck_assert_str_eq(n->name, "stg_customers");
    ck_assert_str_eq(n->path, "staging/stg_customers.sql");
    ck_assert_str_eq(n->original_file_path, "models/staging/stg_customers.sql");
    ck_assert_str_eq(fqn_str(n), "jaffle.staging.stg_customers");
    ck_assert_str_eq(n->package_name, "jaffle");
    ck_assert(strncmp(n->raw_code, "with source as (", 16) == 0);
    ck_assert_int_eq(n->raw_code[n->raw_len - 1], 'e');             /* trailing blank lines stripped */
    ck_assert_int_eq(n->src.line_base, 2);                            /* two blank lines stripped */
    ck_assert_int_eq(n->src.col_base, 2);                             /* and two spaces */
    ck_assert_str_eq(n->src.path, "models/staging/stg_customers.sql");
    ck_assert_str_eq(n->checksum_name, "sha256");
    ck_assert_str_eq(n->checksum, "484cd8cafb4da65588924ef06f10c20b21c11eca0b620ac8531ea83df5d1ac54");
    ck_assert_ptr_null(n->tpl);
    ck_assert_str_eq(n->description, "Customers, cleaned");
    ck_assert_str_eq(n->patch_path, "jaffle://models/staging/_stg_models.yml");
    ck_assert_str_eq(repr(*dict_getz(n->columns, "customer_id")),
                     "{'name': 'customer_id', 'description': 'The primary key', 'meta': {}, 'data_type': None, "
                     "'constraints': [], 'quote': None, 'tags': ['pk']}");

    n = find(p, "seed.jaffle.raw_payments");
    ck_assert_str_eq(n->raw_code, "");
    ck_assert_str_eq(n->path, "raw_payments.csv");
    ck_assert_str_eq(n->root_path, p->root);
    ck_assert_str_eq(n->checksum, "77ec522d03d1f4ed7742afc039692344727fef9cc9bff13cbe2d582d2d65e155");
    ck_assert_str_eq(n->description, "Payments as exported");

    n = find(p, "snapshot.jaffle.orders_snapshot");
    ck_assert_str_eq(fqn_str(n), "jaffle.orders_snapshot.orders_snapshot");
    ck_assert(strstr(n->raw_code, "select * from {{ ref('stg_orders') }}") != NULL);
    ck_assert(strstr(n->raw_code, "endsnapshot") == NULL);
    ck_assert_int_eq(n->src.line_base, 0);

    n = find(p, "analysis.jaffle.orders_by_day");
    ck_assert_str_eq(n->path, "analysis/orders_by_day.sql");
    ck_assert_str_eq(n->original_file_path, "analyses/orders_by_day.sql");

    n = find(p, "test.jaffle.assert_positive_total");
    ck_assert(!n->is_generic_test);
    ck_assert_str_eq(n->path, "assert_positive_total.sql");
    ck_assert_str_eq(cfg(n, "severity"), "'ERROR'");                  /* not under marts/ */
    ck_assert_str_eq(cfg(n, "store_failures"), "False");

    ck_assert_ptr_null(project_node(p, "model.jaffle.does_not_exist"));
    ck_assert_int_eq(p->nwarnings, 2);
    ck_assert_str_eq(p->warnings[0], "Did not find matching node for patch with name 'does_not_exist' in the "
                                     "'models' section of file 'models/staging/_stg_models.yml'");
    ck_assert_str_eq(p->warnings[1], "Found patch for macro \"no_such_macro\" which was not found");
    /* dense indices */
    for (int i = 0; i < p->nnodes; i++)
        ck_assert_int_eq(p->nodes[i]->index, i);
    project_free(p);
}
END_TEST

START_TEST(test_jaffle_configs)
{
    Project *p = load_jaffle();
    Node *n = find(p, "model.jaffle.stg_customers");
    ck_assert_str_eq(cfg(n, "materialized"), "'view'");
    ck_assert_str_eq(cfg(n, "schema"), "'staging'");                  /* non-mapping key without '+' */
    ck_assert_str_eq(repr_l(n->tags), "['jaffle', 'staging']");       /* appended, scalar listified */
    ck_assert_str_eq(repr_d(n->meta), "{'owner': 'data-team'}");
    ck_assert_str_eq(cfg(n, "docs"), "{'show': True, 'node_color': None}");
    ck_assert_str_eq(cfg(n, "contract"), "{'enforced': False, 'alias_types': True}");
    ck_assert_str_eq(cfg(n, "access"), "'protected'");
    ck_assert_str_eq(repr_d(n->unrendered_config),
                     "{'tags': 'staging', 'meta': {'owner': 'data-team'}, 'materialized': 'view', 'schema': 'staging'}");

    n = find(p, "model.jaffle.stg_orders");
    ck_assert_str_eq(cfg(n, "materialized"), "'table'");              /* patch config wins */
    ck_assert_str_eq(repr_l(n->tags), "['jaffle', 'staging', 'patched']");

    n = find(p, "model.jaffle.stg_payments");
    ck_assert_str_eq(repr_d(n->meta), "{'owner': 'data-team', 'source_system': 'stripe'}");

    n = find(p, "model.jaffle.orders");
    ck_assert_str_eq(cfg(n, "materialized"), "'incremental'");
    ck_assert_str_eq(cfg(n, "unique_key"), "'order_id'");
    ck_assert_str_eq(cfg(n, "unknown_key"), "'kept'");
    ck_assert_str_eq(repr_l(n->tags), "['jaffle', 'orders_model']");
    ck_assert_str_eq(repr_d(n->meta), "{'owner': 'data-team', 'tier': 'gold'}");
    ck_assert_str_eq(cfg(n, "post-hook"),
                     "[{'sql': 'grant select on {{ this }} to reporting', 'transaction': True, 'index': None}]");
    ck_assert_str_eq(cfg(n, "pre-hook"), "[]");

    n = find(p, "model.jaffle.customers");
    ck_assert_str_eq(cfg(n, "materialized"), "'table'");
    ck_assert_str_eq(repr_d(n->meta), "{'owner': 'data-team', 'tier': 'platinum'}");
    ck_assert_str_eq(repr_d(n->docs), "{'show': False, 'node_color': None}");
    ck_assert_str_eq(repr_l(n->tags), "['jaffle', 'pii']");

    n = find(p, "seed.jaffle.raw_payments");
    ck_assert_str_eq(cfg(n, "materialized"), "'seed'");
    ck_assert_str_eq(cfg(n, "schema"), "'raw'");
    ck_assert_str_eq(cfg(n, "column_types"), "{'amount': 'integer'}");
    ck_assert_str_eq(cfg(n, "delimiter"), "','");
    ck_assert_str_eq(cfg(n, "quote_columns"), "None");

    n = find(p, "snapshot.jaffle.orders_snapshot");
    ck_assert_str_eq(cfg(n, "target_schema"), "'snapshots'");
    ck_assert_str_eq(cfg(n, "materialized"), "'snapshot'");

    /* project-level values */
    ck_assert_str_eq(repr(*dict_getz(p->vars, "unrendered")), "\"{{ env_var('NOT_RENDERED_AT_LOAD') }}\"");
    ck_assert_str_eq(repr_d(p->quoting), "{'identifier': True}");
    ck_assert_str_eq(repr(*dict_getz(p->project_yml, "on-run-start")),
                     "'create schema if not exists {{ target.schema }}_audit'");
    project_free(p);
}
END_TEST

START_TEST(test_jaffle_sources)
{
    Project *p = load_jaffle();
    Node *n = find(p, "source.jaffle.raw.customers");
    ck_assert_int_eq(n->rt, RT_SOURCE);
    ck_assert_str_eq(n->name, "customers");
    ck_assert_str_eq(n->source_name, "raw");
    ck_assert_str_eq(n->source_description, "Raw jaffle shop data");
    ck_assert_str_eq(n->description, "One record per customer");
    ck_assert_str_eq(n->identifier, "customers");
    ck_assert_str_eq(n->loader, "csv");
    ck_assert_str_eq(n->loaded_at_field, "_loaded_at");
    ck_assert_str_eq(n->database, "jaffle");                           /* target database */
    ck_assert_str_eq(n->schema, "raw_data");
    ck_assert_str_eq(n->relation_name, "\"jaffle\".\"raw_data\".\"customers\"");
    ck_assert_str_eq(fqn_str(n), "jaffle.staging.raw.customers");
    ck_assert_str_eq(n->original_file_path, "models/staging/_sources.yml");
    ck_assert_str_eq(n->path, "models/staging/_sources.yml");
    ck_assert_str_eq(repr_l(n->tags), "['raw']");
    ck_assert_str_eq(repr_d(n->source_meta), "{'contains_pii': True}");
    ck_assert_str_eq(repr_d(n->config), "{'enabled': True, 'event_time': None}");
    ck_assert_str_eq(repr_d(n->freshness),
                     "{'warn_after': {'count': 12, 'period': 'hour'}, 'error_after': {'count': None, 'period': None}, 'filter': None}");

    n = find(p, "source.jaffle.raw.orders");
    ck_assert_str_eq(n->identifier, "raw_orders");
    ck_assert_str_eq(n->relation_name, "\"jaffle\".\"raw_data\".raw_orders");   /* identifier: false */
    ck_assert_str_eq(repr_l(n->tags), "['orders', 'raw']");
    ck_assert_str_eq(repr_d(n->freshness),
                     "{'warn_after': {'count': 12, 'period': 'hour'}, 'error_after': {'count': 24, 'period': 'hour'}, 'filter': None}");

    n = find(p, "source.jaffle.raw.events");
    ck_assert_ptr_null(n->freshness);                                  /* freshness: null */
    ck_assert_str_eq(n->loaded_at_field, "event_ts");
    project_free(p);
}
END_TEST

START_TEST(test_jaffle_generic_tests)
{
    Project *p = load_jaffle();
    /* ids pinned from Python: md5(name + repr(hashable metadata))[-10:] */
    Node *n = find(p, "test.jaffle.unique_customers_customer_id.c5af1ff4b1");
    ck_assert(n->is_generic_test);
    ck_assert_str_eq(n->name, "unique_customers_customer_id");
    ck_assert_str_eq(n->path, "unique_customers_customer_id.sql");
    ck_assert_str_eq(n->original_file_path, "models/marts/_marts.yml");
    ck_assert_str_eq(fqn_str(n), "jaffle.marts.unique_customers_customer_id");
    ck_assert_str_eq(n->test_name, "unique");
    ck_assert_ptr_null(n->test_namespace);
    ck_assert_str_eq(n->column_name, "customer_id");
    ck_assert_str_eq(n->attached_node, "model.jaffle.customers");
    ck_assert_str_eq(n->file_key_name, "models.customers");
    ck_assert_str_eq(n->raw_code, "{{ test_unique(**_dbt_generic_test_kwargs) }}");
    ck_assert_str_eq(repr_d(n->test_kwargs),
                     "{'column_name': 'customer_id', 'model': \"{{ get_where_subquery(ref('customers')) }}\"}");
    ck_assert_str_eq(cfg(n, "severity"), "'warn'");                   /* data_tests: marts: +severity */
    ck_assert_str_eq(cfg(n, "schema"), "'dbt_test__audit'");
    ck_assert_str_eq(repr_l(n->tags), "['mart_test']");
    ck_assert_str_eq(n->checksum_name, "none");

    /* long name: short md5 name as path and alias, full name in id/fqn */
    n = find(p, "test.jaffle.accepted_values_orders_status__True__placed__shipped__completed__return_pending__returned.a826c2ec2b");
    ck_assert_str_eq(n->path, "accepted_values_orders_39fdd741fa8e960152504329ac7cc8ab.sql");
    ck_assert_str_eq(cfg(n, "alias"), "'accepted_values_orders_39fdd741fa8e960152504329ac7cc8ab'");
    ck_assert_str_eq(cfg(n, "where"), "\"order_date > '2018-01-01'\"");
    ck_assert_str_eq(n->raw_code,
                     "{{ test_accepted_values(**_dbt_generic_test_kwargs) }}{{ config(where=\"order_date > '2018-01-01'\","
                     "alias=\"accepted_values_orders_39fdd741fa8e960152504329ac7cc8ab\") }}");
    ck_assert_str_eq(repr_d(n->test_kwargs),
                     "{'values': ['placed', 'shipped', 'completed', 'return_pending', 'returned'], 'quote': True, "
                     "'column_name': 'status', 'model': \"{{ get_where_subquery(ref('orders')) }}\"}");

    n = find(p, "test.jaffle.relationships_customers_customer_id__customer_id__ref_stg_customers_.e17c67013c");
    ck_assert_str_eq(n->path, "relationships_customers_d323b71203c2ada7ae80e3467ade1853.sql");

    /* legacy top-level config keys; tags from config */
    n = find(p, "test.jaffle.unique_orders_order_id.fed79b3a6e");
    ck_assert_str_eq(cfg(n, "severity"), "'error'");
    ck_assert_str_eq(n->raw_code, "{{ test_unique(**_dbt_generic_test_kwargs) }}{{ config(severity=\"error\",tags=['critical']) }}");
    ck_assert_str_eq(repr_l(n->tags), "['critical', 'mart_test']");
    ck_assert_str_eq(cfg(n, "tags"), "['mart_test', 'critical']");

    /* user name + test_name */
    n = find(p, "test.jaffle.clv_not_null.f18db9027e");
    ck_assert_str_eq(n->name, "clv_not_null");
    ck_assert_str_eq(n->test_name, "not_null");
    ck_assert_str_eq(cfg(n, "where"), "'customer_lifetime_value is not null'");

    /* namespaced, model-level */
    n = find(p, "test.jaffle.jaffle_is_positive_orders_amount.984497375b");
    ck_assert_str_eq(n->test_namespace, "jaffle");
    ck_assert_str_eq(n->raw_code, "{{ jaffle.test_is_positive(**_dbt_generic_test_kwargs) }}");

    /* source tests */
    n = find(p, "test.jaffle.source_not_null_raw_orders_id.f232a64478");
    ck_assert_str_eq(repr_d(n->test_kwargs),
                     "{'column_name': 'id', 'model': \"{{ get_where_subquery(source('raw', 'orders')) }}\"}");
    ck_assert_ptr_null(n->attached_node);
    ck_assert_str_eq(n->file_key_name, "sources.raw");
    ck_assert_str_eq(repr_l(n->tags), "['orders', 'raw']");
    ck_assert_str_eq(fqn_str(n), "jaffle.staging.source_not_null_raw_orders_id");
    ck_assert_str_eq(cfg(n, "severity"), "'ERROR'");

    /* column tags reach column tests; nested config severity */
    n = find(p, "test.jaffle.unique_stg_customers_customer_id.c7614daada");
    ck_assert_str_eq(repr_l(n->tags), "['pk']");
    n = find(p, "test.jaffle.accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer__gift_card.3c3820f278");
    ck_assert_str_eq(cfg(n, "severity"), "'warn'");
    n = find(p, "test.jaffle.unique_raw_payments_id.9143e24f3f");
    ck_assert_str_eq(n->attached_node, "seed.jaffle.raw_payments");
    ck_assert_str_eq(n->file_key_name, "seeds.raw_payments");
    ck_assert_str_eq(fqn_str(n), "jaffle.unique_raw_payments_id");
    project_free(p);
}
END_TEST

START_TEST(test_jaffle_macros)
{
    Project *p = load_jaffle();
    ck_assert_int_eq(p->nmacros, 4);
    MacroDef *m = strmap_getz(&p->macro_by_name, "cents_to_dollars");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->unique_id, "macro.jaffle.cents_to_dollars");
    ck_assert_str_eq(m->path, "macros/cents_to_dollars.sql");
    ck_assert_str_eq(m->original_file_path, "macros/cents_to_dollars.sql");
    ck_assert(strncmp(m->macro_sql, "{% macro cents_to_dollars(", 26) == 0);
    ck_assert(strstr(m->macro_sql, "{%- endmacro %}") != NULL);
    ck_assert(strstr(m->macro_sql, "dollars_to_cents") == NULL);
    ck_assert_str_eq(m->description, "Converts cents to dollars");
    ck_assert_str_eq(repr_l(m->arguments),
                     "[{'name': 'column_name', 'type': 'string', 'description': 'The column holding cents'}, "
                     "{'name': 'scale', 'type': 'integer', 'description': ''}]");
    m = strmap_getz(&p->macro_by_name, "test_is_positive");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->original_file_path, "tests/generic/test_is_positive.sql");
    project_free(p);
}
END_TEST

START_TEST(test_profile_selection)
{
    clear_env();
    Diag err = {0};
    Project *p = load_dir(JAFFLE, NULL, NULL, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->target_name, "dev");
    ck_assert_str_eq(p->profile_name, "jaffle");
    ck_assert_int_eq(p->threads, 4);
    ck_assert_str_eq(repr(*dict_getz(p->target, "database")), "'jaffle'");
    ck_assert_str_eq(repr(*dict_getz(p->target, "dbname")), "'jaffle'");
    ck_assert_ptr_null(dict_getz(p->target, "password"));
    ck_assert_ptr_null(dict_getz(p->target, "pass"));
    ck_assert_str_eq(repr(*dict_getz(p->profile_output, "password")), "'secret-dev'");
    ck_assert_str_eq(repr(*dict_getz(p->target, "profile_name")), "'jaffle'");
    project_free(p);

    /* DBT_TARGET beats the profile's target:, --target beats DBT_TARGET */
    setenv("DBT_TARGET", "ci", 1);
    p = load_dir(JAFFLE, NULL, NULL, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->target_name, "ci");
    ck_assert_str_eq(repr(*dict_getz(p->target, "port")), "5433");     /* numeric string -> int */
    ck_assert_str_eq(repr(*dict_getz(p->target, "dbname")), "'jaffle_ci'");
    ck_assert_str_eq(repr(*dict_getz(p->target, "name")), "'ci'");
    ck_assert_int_eq(p->threads, 1);
    ck_assert_ptr_null(dict_getz(p->target, "password"));
    project_free(p);
    p = load_dir(JAFFLE, "dev", NULL, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->target_name, "dev");
    project_free(p);

    /* --threads wins */
    ProjectOptions o = {0};
    o.project_dir = JAFFLE;
    o.profiles_dir = JAFFLE;
    o.need_profile = true;
    o.threads = 7;
    p = project_load(&o, NULL, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->threads, 7);
    ck_assert_str_eq(repr(*dict_getz(p->target, "threads")), "7");
    project_free(p);
    unsetenv("DBT_TARGET");

    /* DBT_PROFILE names a profile that does not exist */
    setenv("DBT_PROFILE", "other", 1);
    p = load_dir(JAFFLE, NULL, NULL, &err);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.message, "Could not find profile named 'other'");
    diag_clear(&err);
    unsetenv("DBT_PROFILE");

    /* no profiles.yml: an error when the profile is needed, a placeholder otherwise */
    o.profiles_dir = CDBT_SOURCE_DIR "/tests/fixtures";
    o.threads = 0;
    p = project_load(&o, NULL, &err);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.message, "Could not find profile named 'jaffle'");
    diag_clear(&err);
    o.need_profile = false;
    p = project_load(&o, NULL, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(repr(*dict_getz(p->target, "schema")), "'public'");
    ck_assert_str_eq(repr(*dict_getz(p->target, "type")), "'postgres'");
    ck_assert_str_eq(p->target_name, "default");
    project_free(p);
}
END_TEST

START_TEST(test_project_dir_env)
{
    clear_env();
    Diag err = {0};
    setenv("DBT_PROJECT_DIR", JAFFLE, 1);
    setenv("DBT_PROFILES_DIR", JAFFLE, 1);
    setenv("DBT_TARGET_PATH", "elsewhere", 1);
    ProjectOptions o = {0};
    o.need_profile = true;
    Project *p = project_load(&o, NULL, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->name, "jaffle");
    ck_assert_str_eq(p->target_path, "elsewhere");
    ck_assert_str_eq(p->clean_targets[0], "target");
    project_free(p);
    o.target_path = "cli_target";
    p = project_load(&o, NULL, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->target_path, "cli_target");
    project_free(p);
    clear_env();

    o.project_dir = CDBT_SOURCE_DIR "/tests/fixtures";
    p = project_load(&o, NULL, &err);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.message, "No dbt_project.yml found at expected path " CDBT_SOURCE_DIR "/tests/fixtures/dbt_project.yml");
    diag_clear(&err);

    /* ancestor search from a subdirectory of the project */
    char old[4096];
    ck_assert_ptr_nonnull(getcwd(old, sizeof old));
    ck_assert_int_eq(chdir(JAFFLE "/models/staging"), 0);
    ProjectOptions o2 = {0};
    o2.profiles_dir = JAFFLE;
    p = project_load(&o2, NULL, &err);
    ck_assert_int_eq(chdir(old), 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->root, JAFFLE);
    project_free(p);
}
END_TEST

/* ---- a fake renderer: records what it was asked to render */

typedef struct FakeR {
    Arena arena;
    int calls;
    Sb seen;
} FakeR;

static int fake_render(void *ud, RenderScope scope, const char *pkg, const char *s, size_t n, const char *file, int line,
                       int col, Value *out, Diag *err)
{
    FakeR *f = ud;
    f->calls++;
    sb_append(&f->seen, s, n);
    sb_putc(&f->seen, '\n');
    if (strstr(s, "BROKEN")) {
        diag_set(err, file, line, col, NULL, "render failed");
        return -1;
    }
    *out = v_strz(&f->arena, scope == PR_PROFILE ? "rendered-profile" : "rendered");
    return 0;
}

START_TEST(test_renderer_contract)
{
    clear_env();
    FakeR f;
    memset(&f, 0, sizeof f);
    arena_init(&f.arena, 0);
    ProjectRenderer r = {fake_render, &f, NULL};
    Diag err = {0};
    Project *p = load_dir(JAFFLE, NULL, &r, &err);
    ck_assert_ptr_nonnull(p);
    /* hooks, vars, on-run-*, descriptions and test kwargs are not rendered; the broken output is not either */
    ck_assert_int_eq(f.calls, 0);
    project_free(p);

    setenv("DBT_TARGET", "broken", 1);
    p = load_dir(JAFFLE, NULL, &r, &err);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err.message, "render failed");
    ck_assert_int_eq(err.line, 23);
    diag_clear(&err);
    unsetenv("DBT_TARGET");
    sb_free(&f.seen);
    arena_free(&f.arena);
}
END_TEST

START_TEST(test_renderer_values)
{
    /* a project whose values use Jinja: rendered through the renderer, except the exceptions */
    clear_env();
    char dir[] = "/tmp/cdbt_project_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    Sb path = SB_INIT;
    sb_printf(&path, "%s/dbt_project.yml", dir);
    const char *yml =
        "name: r\nprofile: r\ntarget-path: \"{{ 'x' }}\"\n"
        "vars:\n  v: \"{{ raw }}\"\n"
        "on-run-end: \"{{ raw }}\"\n"
        "models:\n  r:\n    +schema: \"{{ 'y' }}\"\n    +post-hook: \"{{ raw }}\"\n";
    ck_assert_int_eq(fs_write_file(sb_cstr(&path), yml, strlen(yml)), 0);
    sb_reset(&path);
    sb_printf(&path, "%s/profiles.yml", dir);
    const char *prof = "r:\n  outputs:\n    default:\n      type: postgres\n      host: \"{{ h }}\"\n"
                       "      user: u\n      pass: \"{{ BROKEN }}\"\n      port: 1\n      dbname: d\n      schema: s\n";
    ck_assert_int_eq(fs_write_file(sb_cstr(&path), prof, strlen(prof)), 0);
    sb_reset(&path);
    sb_printf(&path, "%s/models/a.sql", dir);
    ck_assert_int_eq(fs_write_file(sb_cstr(&path), "select 1", 8), 0);

    FakeR f;
    memset(&f, 0, sizeof f);
    arena_init(&f.arena, 0);
    ProjectRenderer r = {fake_render, &f, NULL};
    Diag err = {0};
    Project *p = load_dir(dir, NULL, &r, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->target_path, "rendered");
    ck_assert_str_eq(repr(*dict_getz(p->target, "host")), "'rendered-profile'");
    /* a password that fails to render is used verbatim */
    ck_assert_str_eq(repr(*dict_getz(p->profile_output, "password")), "'{{ BROKEN }}'");
    ck_assert_str_eq(repr(*dict_getz(p->vars, "v")), "'{{ raw }}'");
    Node *n = find(p, "model.r.a");
    ck_assert_str_eq(cfg(n, "schema"), "'rendered'");
    ck_assert_str_eq(cfg(n, "post-hook"), "[{'sql': '{{ raw }}', 'transaction': True, 'index': None}]");
    ck_assert_str_eq(repr(*dict_getz(n->unrendered_config, "schema")), "\"{{ 'y' }}\"");
    ck_assert(strstr(sb_cstr(&f.seen), "raw") == NULL);
    project_free(p);
    sb_free(&f.seen);
    arena_free(&f.arena);
    fs_rm_rf(dir);
    sb_free(&path);
}
END_TEST

START_TEST(test_config_merge_rules)
{
    Arena a;
    arena_init(&a, 0);
    VDict *dst = config_defaults(&a, RT_MODEL);
    VDict *src = v_dict(&a).u.d;
    dict_setz(&a, src, "+tags", v_strz(&a, "a"));
    Value meta = v_dict(&a);
    dict_setz(&a, meta.u.d, "x", v_int(1));
    dict_setz(&a, src, "meta", meta);
    Value grants = v_dict(&a);
    Value sel = v_list(&a, 1);
    list_append(&a, sel.u.l, v_strz(&a, "r1"));
    dict_setz(&a, grants.u.d, "select", sel);
    dict_setz(&a, src, "grants", grants);
    dict_setz(&a, src, "pre_hook", v_strz(&a, "select 1"));
    config_merge(&a, dst, src);

    VDict *src2 = v_dict(&a).u.d;
    Value tags2 = v_list(&a, 2);
    list_append(&a, tags2.u.l, v_strz(&a, "b"));
    list_append(&a, tags2.u.l, v_strz(&a, "a"));
    dict_setz(&a, src2, "tags", tags2);
    Value meta2 = v_dict(&a);
    dict_setz(&a, meta2.u.d, "y", v_int(2));
    dict_setz(&a, src2, "meta", meta2);
    Value grants2 = v_dict(&a);
    Value sel2 = v_list(&a, 1);
    list_append(&a, sel2.u.l, v_strz(&a, "r2"));
    dict_setz(&a, grants2.u.d, "+select", sel2);
    dict_setz(&a, src2, "grants", grants2);
    Value hook = v_dict(&a);
    dict_setz(&a, hook.u.d, "sql", v_strz(&a, "vacuum"));
    dict_setz(&a, hook.u.d, "transaction", v_bool(false));
    dict_setz(&a, src2, "pre-hook", hook);
    Value pd = v_dict(&a);
    dict_setz(&a, pd.u.d, "relation", v_bool(true));
    dict_setz(&a, src2, "persist_docs", pd);
    config_merge(&a, dst, src2);

    ck_assert_str_eq(repr(*dict_getz(dst, "tags")), "['a', 'b']");
    ck_assert_str_eq(repr(*dict_getz(dst, "meta")), "{'x': 1, 'y': 2}");
    ck_assert_str_eq(repr(*dict_getz(meta.u.d, "x")), "1");
    ck_assert_int_eq(meta.u.d->len, 1);                               /* sources are never mutated */
    ck_assert_str_eq(repr(*dict_getz(dst, "grants")), "{'select': ['r1', 'r2']}");
    ck_assert_str_eq(repr(*dict_getz(dst, "pre-hook")),
                     "[{'sql': 'select 1', 'transaction': True, 'index': None}, "
                     "{'sql': 'vacuum', 'transaction': False, 'index': None}]");
    ck_assert_ptr_null(dict_getz(dst, "pre_hook"));
    ck_assert_str_eq(repr(*dict_getz(dst, "persist_docs")), "{'relation': True}");

    VDict *t = config_defaults(&a, RT_TEST);
    ck_assert_str_eq(repr((Value){.type = V_DICT, .u.d = t}),
                     "{'enabled': True, 'alias': None, 'schema': 'dbt_test__audit', 'database': None, 'tags': [], "
                     "'meta': {}, 'group': None, 'materialized': 'test', 'severity': 'ERROR', 'store_failures': None, "
                     "'store_failures_as': None, 'where': None, 'limit': None, 'fail_calc': 'count(*)', "
                     "'warn_if': '!= 0', 'error_if': '!= 0'}");
    arena_free(&a);
}
END_TEST

/* ---- bad inputs: exact messages and locations */

static const struct {
    const char *dir, *file, *message;
    int line, col;
} bad_cases[] = {
    {"bad_yaml", "dbt_project.yml", "did not find expected ',' or ']' while parsing a flow sequence", 5, 1},
    {"bad_paths_type", "dbt_project.yml",
     "Invalid value for 'model-paths' in dbt_project.yml: expected a list of strings, got integer", 3, 14},
    {"dup_models", NULL, "dbt found two models with the name \"x\" (models/a/x.sql and models/b/x.sql)", 0, 0},
    {"bad_name", "dbt_project.yml",
     "Invalid project name 'my-project' in dbt_project.yml: names must match ^[^\\d\\W]\\w*$ "
     "(letters, digits and underscores, not starting with a digit)", 1, 7},
    {"missing_profile", NULL, "Could not find profile named 'nope'", 0, 0},
    {"unknown_adapter", "profiles.yml", "Could not find adapter type snowflake!", 5, 13},
    {"test_config_twice", "models/schema.yml",
     "Test cannot have the same key at the top-level and in config ('severity')", 10, 27},
    {"bad_props_shape", "models/schema.yml",
     "Invalid models config given in models/schema.yml @ models: expected a list, got mapping", 3, 3},
    {"tests_and_data_tests", "dbt_project.yml",
     "Invalid project config: cannot have both 'tests' and 'data_tests' defined", 4, 3},
    {"invalid_utf8", "models/m.sql", "'utf-8' codec can't decode byte 0xe9 in position 21: invalid continuation byte", 1, 22},
    {"config_version", "dbt_project.yml", "Invalid config version: 1, expected 2", 2, 17},
    {"dup_macro", NULL,
     "dbt found two macros named \"x\" in the project \"p\" (macros/a.sql and macros/b.sql); rename or remove one of them", 0, 0},
    {"bad_test_args", "models/schema.yml", "test arguments must be a dictionary, got sequence (value ['a', 'b'])", 7, 30},
    {"missing_credential", "profiles.yml",
     "Credentials in profile \"p\", target \"dev\" invalid: 'host' is a required property", 5, 7},
    {"bad_target", "profiles.yml",
     "The profile 'p' does not have a target named 'prod'. The valid target names for this profile are:\n - dev", 2, 11},
    {"patch_twice", "models/b.yml",
     "dbt found two schema.yml entries for the same resource named m. Resources and their associated columns may "
     "only be described a single time. To fix this, remove one of the resource entries for m in this file:\n - models/b.yml", 3, 5},
    {"meta_twice", "models/schema.yml",
     "In models/schema.yml: found meta dictionary in 'config' dictionary and as top-level key. Remove the top-level key "
     "and define it under 'config' dictionary only.", 4, 11},
    {"bad_port", "profiles.yml",
     "Credentials in profile \"p\", target \"dev\" invalid: port must be an integer between 0 and 65535, got 'fifty'", 9, 13},
    {"model_reserved_arg", "models/schema.yml", "Test arguments include \"model\", which is a reserved argument", 6, 11},
};

START_TEST(test_bad_inputs)
{
    clear_env();
    int i = _i;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s", BAD, bad_cases[i].dir);
    Diag err = {0};
    Project *p = load_dir(dir, NULL, NULL, &err);
    if (p)
        ck_abort_msg("%s: loaded without error", bad_cases[i].dir);
    ck_assert_msg(err.message && !strcmp(err.message, bad_cases[i].message), "%s: message\n  got:  %s\n  want: %s",
                  bad_cases[i].dir, err.message, bad_cases[i].message);
    if (bad_cases[i].file) {
        ck_assert_ptr_nonnull(err.file);
        size_t fl = strlen(err.file), wl = strlen(bad_cases[i].file);
        ck_assert_msg(fl >= wl && !strcmp(err.file + fl - wl, bad_cases[i].file), "%s: file %s", bad_cases[i].dir, err.file);
    } else {
        ck_assert_ptr_null(err.file);
    }
    ck_assert_msg(err.line == bad_cases[i].line && err.col == bad_cases[i].col, "%s: at %d:%d, want %d:%d",
                  bad_cases[i].dir, err.line, err.col, bad_cases[i].line, bad_cases[i].col);
    diag_clear(&err);
}
END_TEST

/* ---- scale: 10,000 models in 20 directories, 100 properties files, 20,000 tests */

static void put_file(const char *path, const char *text)
{
    ck_assert_int_eq(fs_write_file(path, text, strlen(text)), 0);
}

START_TEST(test_scale)
{
    clear_env();
    char dir[] = "/tmp/cdbt_scale_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    Sb path = SB_INIT, text = SB_INIT;
    sb_printf(&path, "%s/dbt_project.yml", dir);
    put_file(sb_cstr(&path),
          "name: big\nprofile: big\nmodels:\n  big:\n    +tags: [t]\n    d3:\n      +materialized: table\n");
    sb_reset(&path);
    sb_printf(&path, "%s/profiles.yml", dir);
    put_file(sb_cstr(&path), "big:\n  outputs:\n    default: {type: postgres, host: h, user: u, port: 1, dbname: d, schema: s}\n");
    for (int i = 0; i < 10000; i++) {
        sb_reset(&path);
        sb_printf(&path, "%s/models/d%d/m%d.sql", dir, i % 20, i);
        sb_reset(&text);
        sb_printf(&text, "select %d as id from {{ ref('m%d') }}\n", i, i ? i - 1 : 0);
        ck_assert_int_eq(fs_write_file(sb_cstr(&path), text.buf, text.len), 0);
    }
    for (int f = 0; f < 100; f++) {
        sb_reset(&text);
        sb_puts(&text, "version: 2\nmodels:\n");
        for (int k = 0; k < 100; k++) {
            int i = f * 100 + k;
            sb_printf(&text, "  - name: m%d\n    description: model %d\n    columns:\n      - name: id\n"
                             "        data_tests: [unique, not_null]\n", i, i);
        }
        sb_reset(&path);
        sb_printf(&path, "%s/models/d%d/schema_%d.yml", dir, f % 20, f);
        ck_assert_int_eq(fs_write_file(sb_cstr(&path), text.buf, text.len), 0);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Diag err = {0};
    Project *p = load_dir(dir, NULL, NULL, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_ptr_nonnull(p);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "project_load: 10000 models, 100 properties files, 20000 tests: %.1f ms\n", ms);
    ck_assert_int_eq(p->nnodes, 30000);
    Node *n = find(p, "model.big.m3");
    ck_assert_str_eq(cfg(n, "materialized"), "'table'");
    ck_assert_str_eq(repr_l(n->tags), "['t']");
    /* speed is measured by bench/compile_bench.sh, not asserted here */
    project_free(p);
    fs_rm_rf(dir);
    sb_free(&path);
    sb_free(&text);
}
END_TEST

/* cdbt_value's filters call back into the template evaluator (a library
 * cycle the link line lists only once): referencing the evaluator from the
 * test object makes the linker pull it in before libcdbt_value is scanned. */
void *project_test_link_evaluator = (void *)&interp_new;

Suite *project_suite(void)
{
    Suite *s = suite_create("project");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_jaffle_nodes);
    tcase_add_test(tc, test_jaffle_configs);
    tcase_add_test(tc, test_jaffle_sources);
    tcase_add_test(tc, test_jaffle_generic_tests);
    tcase_add_test(tc, test_jaffle_macros);
    tcase_add_test(tc, test_profile_selection);
    tcase_add_test(tc, test_project_dir_env);
    tcase_add_test(tc, test_renderer_contract);
    tcase_add_test(tc, test_renderer_values);
    tcase_add_test(tc, test_config_merge_rules);
    tcase_add_loop_test(tc, test_bad_inputs, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    suite_add_tcase(s, tc);
    TCase *big = tcase_create("scale");
    tcase_set_timeout(big, 120);
    tcase_add_test(big, test_scale);
    suite_add_tcase(s, big);
    return s;
}
