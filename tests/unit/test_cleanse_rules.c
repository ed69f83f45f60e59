/* test_cleanse_rules.c - the cleanse rule engine (spec.c, rules.c, parse.c):
 * each rule on small CSV inputs with the exact COPY text produced and the
 * exact rejects, on_fail actions, surrogate keys, dedupe, and the located
 * parse-time errors for bad rules, patterns and types. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanse/cleanse.h"

typedef struct T {
    Arena a;
    CleanseSpec *s;
    Diag err;
    Sb out, rej;
    CleanseStats st;
} T;

static int sink(void *ud, const CleanseReject *r)
{
    Sb *o = ud;
    sb_printf(o, "%lld|%s|%s|%s|%.*s\n", (long long)r->line, r->column ? r->column : "-", r->rule ? r->rule : "-",
              r->reason, (int)r->raw_len, r->raw);
    return 0;
}

/* Compile `columns` (a YAML list) with `config` (YAML mapping, may be NULL). */
static int compile(T *t, const char *columns, const char *config)
{
    arena_init(&t->a, 0);
    memset(&t->err, 0, sizeof t->err);
    t->out = (Sb)SB_INIT;
    t->rej = (Sb)SB_INIT;
    YNode *root = NULL;
    Diag e = {0};
    ck_assert_int_eq(yaml_load(&t->a, "models/props.yml", columns, strlen(columns), &root, &e), 0);
    CleanseSource src = {0};
    src.model = "m";
    src.columns = root;
    src.yml_path = "models/props.yml";
    src.yml_text = columns;
    src.yml_len = strlen(columns);
    src.config_where = "models/m.sql";
    Value cfg = v_dict(&t->a);
    if (config)
        ck_assert_int_eq(yaml_load_value(&t->a, "cfg", config, strlen(config), &cfg, &e), 0);
    src.config = cfg.u.d;
    t->s = cleanse_compile(&t->a, &src, &t->err);
    return t->s ? 0 : -1;
}

static void run_csv(T *t, const char *data)
{
    Cleanser *c = cleanser_new(t->s, sink, &t->rej);
    CleanseReader *r = cleanse_reader_new(c, &t->out, 0, NULL, NULL);
    Diag e = {0};
    int rc = cleanse_read_buffer(r, "in.csv", data, strlen(data), &e);
    if (rc != 0)
        ck_abort_msg("read failed: %s", e.message);
    ck_assert_int_eq(cleanser_finish(c, &t->out, 1 << 20, NULL, NULL), 0);
    t->st = *cleanser_stats(c);
    cleanse_reader_free(r);
    cleanser_free(c);
}

static void done(T *t)
{
    cleanse_spec_free(t->s);
    sb_free(&t->out);
    sb_free(&t->rej);
    diag_clear(&t->err);
    arena_free(&t->a);
}

/* One column `v` of type `type` with `rules`; returns the COPY output for the given values. */
static void one(const char *type, const char *rules, const char *csv, const char *want_out, const char *want_rej)
{
    T t;
    char cols[2048];
    snprintf(cols, sizeof cols, "- name: v\n  data_type: %s\n  rules: %s\n", type, rules);
    if (compile(&t, cols, NULL) != 0)
        ck_abort_msg("compile failed: %s", t.err.message);
    run_csv(&t, csv);
    ck_assert_str_eq(sb_cstr(&t.out), want_out);
    ck_assert_str_eq(sb_cstr(&t.rej), want_rej);
    done(&t);
}

START_TEST(t_string_rules)
{
    one("text", "[trim]", "v\n  a b  \n", "a b\n", "");
    one("text", "[ltrim]", "v\n\"  a \"\n", "a \n", "");
    one("text", "[rtrim]", "v\n\"  a \"\n", "  a\n", "");
    one("text", "[lower]", "v\nHeLLo É\n", "hello É\n", "");
    one("text", "[upper]", "v\nhello\n", "HELLO\n", "");
    one("text", "[title]", "v\njOHN o'neil-smith\n", "John O'Neil-Smith\n", "");
    one("text", "[collapse_spaces]", "v\n\"a  \t b\"\n", "a b\n", "");
    one("text", "[trim, {null_if: ['', 'N/A', null]}]", "v\nn/a\n\"  \"\nx\n", "\\N\n\\N\nx\n", "");
    one("text", "[{null_if: {values: ['N/A'], case_sensitive: true}}]", "v\nn/a\nN/A\n", "n/a\n\\N\n", "");
    one("text", "[{replace: {old: ',', new: ''}}]", "v\n\"1,234,5\"\n", "12345\n", "");
    one("text", "[{regex_replace: {pattern: '(\\d+)-(\\d+)', replacement: '$2/$1'}}]", "v\n10-20 x 3-4\n",
        "20/10 x 4/3\n", "");
    one("text", "[{match: '^[a-z]+$'}]", "v\nabc\nab1\n", "abc\n", "3|v|match|does not match the pattern|ab1\n");
    one("text", "[{match: {pattern: '^[a-z]+$', on_fail: null}}]", "v\nab1\n", "\\N\n", "");
    one("text", "[{extract: {pattern: 'id=(?<id>\\d+)', group: id}}]", "v\nx id=42 y\n", "42\n", "");
    one("text", "[{extract: {pattern: '(\\d+)', on_fail: default, default: none}}]", "v\nabc\n", "none\n", "");
    one("text", "[{min_length: 2}, {max_length: 3}]", "v\na\nabcd\nabc\n", "abc\n",
        "2|v|min_length|too short|a\n3|v|max_length|too long|abcd\n");
    one("varchar(2)", "[trim]", "v\nab\nabc\n", "ab\n", "3|v|data_type|too long|abc\n");
    /* COPY text escaping of the output */
    one("text", "[]", "v\n\"a\tb\\c\nd\"\n", "a\\tb\\\\c\\nd\n", "");
}
END_TEST

START_TEST(t_integer)
{
    one("bigint", "[trim]", "v\n 42 \n+7\n-0\n9223372036854775807\n", "42\n7\n0\n9223372036854775807\n", "");
    one("bigint", "[trim]", "v\n9223372036854775808\n12a\n\n", "",
        "2|v|integer|out of range for bigint|9223372036854775808\n3|v|integer|not an integer|12a\n");
    one("smallint", "[]", "v\n32767\n-32768\n32768\n", "32767\n-32768\n", "4|v|integer|out of range for smallint|32768\n");
    one("integer", "[{integer: {on_fail: null}}]", "v\nx\n", "\\N\n", "");
    one("integer", "[{null_if: ['']}]", "v\n\"\"\n", "\\N\n", "");
}
END_TEST

START_TEST(t_numeric)
{
    one("numeric(6,2)", "[]", "v\n12.345\n-0.004\n1e2\n0.005\n9999.994\n-12.5\n",
        "12.35\n0.00\n100.00\n0.01\n9999.99\n-12.50\n", "");
    one("numeric(6,2)", "[]", "v\n9999.995\n12345\nabc\n1.2.3\n", "",
        "2|v|numeric|numeric field overflow|9999.995\n3|v|numeric|numeric field overflow|12345\n"
        "4|v|numeric|not a number|abc\n5|v|numeric|not a number|1.2.3\n");
    one("numeric", "[]", "v\n007.50\n1.5e-3\n", "7.50\n0.0015\n", "");
    one("numeric(10,2)", "[trim, {replace: {old: ',', new: ''}}, {range: {min: 0, max: 1000}}]",
        "v\n\" 1,000.00 \"\n-1\n1000.01\n", "1000.00\n",
        "3|v|range|out of range|-1\n4|v|range|out of range|1000.01\n");
    one("double precision", "[]", "v\n0.1\n1e300\n1e999\nNaN\n", "0.1\n1e+300\nNaN\n",
        "4|v|float|out of range for double precision|1e999\n");
}
END_TEST

START_TEST(t_boolean)
{
    one("boolean", "[]", "v\nYes\nf\n1\nmaybe\n", "true\nfalse\ntrue\n", "5|v|boolean|not a boolean|maybe\n");
    one("boolean", "[{boolean: {true: [ja, oui], false: [nein, non], on_fail: null}}, {default: false}]",
        "v\nJA\nnon\nyes\n", "true\nfalse\nfalse\n", "");
}
END_TEST

START_TEST(t_dates)
{
    one("date", "[{date: {formats: ['%Y-%m-%d', '%d/%m/%Y']}}]",
        "v\n2024-02-29\n29/02/2024\n2023-02-29\n2024-02-30\n31/04/2024\n2024-13-01\nnope\n2024-01-05 10:11:12\n",
        "2024-02-29\n2024-02-29\n2024-01-05\n",
        "4|v|date|impossible date|2023-02-29\n5|v|date|impossible date|2024-02-30\n"
        "6|v|date|impossible date|31/04/2024\n7|v|date|impossible date|2024-13-01\n"
        "8|v|date|not a date in the given formats|nope\n");
    one("timestamp", "[{timestamp: {formats: ['%Y-%m-%d %H:%M:%S', '%d/%m/%Y %H:%M', '%d %b %Y %I:%M %p']}}]",
        "v\n2024-01-02 03:04:05.120\n02/01/2024 13:45\n5 Mar 2024 01:30 PM\n2024-01-02 24:00:00\n",
        "2024-01-02 03:04:05.12\n2024-01-02 13:45:00\n2024-03-05 13:30:00\n",
        "5|v|timestamp|impossible timestamp|2024-01-02 24:00:00\n");
    one("timestamptz", "[]", "v\n2024-01-02T03:04:05+05:30\n2024-01-02 03:04:05Z\n2024-01-02\n",
        "2024-01-02 03:04:05+05:30\n2024-01-02 03:04:05+00\n2024-01-02 00:00:00\n", "");
    one("date", "[{range: {min: '2024-01-01', max: '2024-12-31'}}]", "v\n2023-12-31\n2024-06-01\n2025-01-01\n",
        "2024-06-01\n", "2|v|range|out of range|2023-12-31\n4|v|range|out of range|2025-01-01\n");
    one("timestamp", "[{timestamp: {formats: ['%d/%b/%Y:%H:%M:%S %z']}}]", "v\n10/Oct/2000:13:55:36 -0700\n",
        "2000-10-10 13:55:36\n", "");
}
END_TEST

START_TEST(t_values_default_notnull)
{
    one("varchar(3)", "[trim, upper, {accepted_values: {values: [EUR, USD], on_fail: default, default: EUR}}]",
        "v\nusd\ngbp\n\"\"\n", "USD\nEUR\nEUR\n", "");
    one("text", "[{accepted_values: [a, b]}]", "v\na\nc\n", "a\n", "3|v|accepted_values|not an accepted value|c\n");
    one("text", "[{null_if: ['']}, {default: 'x'}]", "v\n\"\"\ny\n", "x\ny\n", "");
    one("text", "[{null_if: ['']}, not_null]", "v\n\"\"\ny\n", "y\n", "2|v|not_null|is null|\"\"\n");
}
END_TEST

START_TEST(t_not_null_default_column)
{
    T t;
    const char *cols = "- name: v\n  data_type: integer\n  default: 0\n  rules: [{null_if: ['']}, {not_null: {on_fail: default}}]\n";
    ck_assert_int_eq(compile(&t, cols, NULL), 0);
    run_csv(&t, "v\n\"\"\n5\n");
    ck_assert_str_eq(sb_cstr(&t.out), "0\n5\n");
    done(&t);
}
END_TEST

START_TEST(t_surrogate_and_dedupe)
{
    T t;
    const char *cols =
        "- name: id\n  data_type: integer\n"
        "- name: email\n  data_type: text\n  rules: [trim, lower, {null_if: ['']}]\n"
        "- name: k\n  data_type: text\n  rules: [{surrogate_key: [id, email]}]\n";
    ck_assert_int_eq(compile(&t, cols, NULL), 0);
    run_csv(&t, "id,email\n1,\n1, A@B.c \n");
    ck_assert_str_eq(sb_cstr(&t.out), "1\t\\N\t9902a3dc3ffe71035ef18229afae9987\n1\ta@b.c\t230044f684ee64c1ef04d6542c92385c\n");
    done(&t);

    const char *c2 = "- name: id\n  data_type: integer\n- name: v\n  data_type: text\n- name: ts\n  data_type: integer\n";
    ck_assert_int_eq(compile(&t, c2, "{unique_key: id}"), 0);
    run_csv(&t, "id,v,ts\n1,a,5\n2,b,1\n1,c,9\n1,d,2\n");
    ck_assert_str_eq(sb_cstr(&t.out), "1\ta\t5\n2\tb\t1\n");
    ck_assert_int_eq(t.st.dups, 2);
    ck_assert_int_eq(t.st.out, 2);
    done(&t);
    ck_assert_int_eq(compile(&t, c2, "{unique_key: id, dedupe: {keep: last}}"), 0);
    run_csv(&t, "id,v,ts\n1,a,5\n2,b,1\n1,c,9\n1,d,2\n");
    ck_assert_str_eq(sb_cstr(&t.out), "1\td\t2\n2\tb\t1\n");
    done(&t);
    ck_assert_int_eq(compile(&t, c2, "{unique_key: id, dedupe: {keep: last, order_by: ts}}"), 0);
    run_csv(&t, "id,v,ts\n1,a,5\n2,b,1\n1,c,9\n1,d,2\n");
    ck_assert_str_eq(sb_cstr(&t.out), "1\tc\t9\n2\tb\t1\n");
    done(&t);
    ck_assert_int_eq(compile(&t, c2, "{unique_key: [id], dedupe: {keep: first, order_by: ts}}"), 0);
    run_csv(&t, "id,v,ts\n1,a,5\n2,b,1\n1,c,9\n1,d,2\n");
    ck_assert_str_eq(sb_cstr(&t.out), "1\td\t2\n2\tb\t1\n");
    done(&t);
}
END_TEST

START_TEST(t_implicit_parse_order)
{
    /* range without a parse rule: the implicit parse runs before it */
    one("integer", "[trim, {range: {min: 1, max: 10}}]", "v\n 5 \n0\nx\n", "5\n",
        "3|v|range|out of range|0\n4|v|integer|not an integer|x\n");
}
END_TEST

static void bad(const char *cols, const char *config, const char *want)
{
    T t;
    ck_assert_int_eq(compile(&t, cols, config), -1);
    Sb s = SB_INIT;
    diag_format(&t.err, &s);
    if (!strstr(sb_cstr(&s), want))
        ck_abort_msg("expected '%s' in:\n%s", want, sb_cstr(&s));
    sb_free(&s);
    done(&t);
}

START_TEST(t_errors)
{
    bad("- name: v\n  data_type: text\n  rules:\n    - trim\n    - frobnicate\n", NULL,
        "models/props.yml:5:7: error: cleanse model 'm': unknown rule 'frobnicate'");
    bad("- name: v\n  data_type: text\n  rules: [{match: '(unclosed'}]\n", NULL,
        "models/props.yml:3:19: error: cleanse model 'm': bad pattern '(unclosed': missing closing parenthesis");
    bad("- name: v\n  data_type: numeric(2,5)\n", NULL,
        "models/props.yml:2:14: error: cleanse model 'm': impossible type 'numeric(2,5)'");
    bad("- name: v\n  data_type: geometry\n", NULL, "2:14: error: cleanse model 'm': unsupported data_type 'geometry'");
    bad("- name: v\n  data_type: integer\n  rules: [{integer: {on_fail: explode}}]\n", NULL,
        "3:31: error: cleanse model 'm': on_fail must be one of reject, null, default");
    bad("- name: v\n  data_type: integer\n  rules: [{date: {formats: ['%Q']}}]\n", NULL, "unsupported directive '%Q'");
    bad("- name: v\n  data_type: integer\n  rules: [{default: abc}]\n", NULL,
        "3:21: error: cleanse model 'm': default 'abc' is not a valid integer: not an integer");
    bad("- name: v\n  data_type: text\n  rules: [trim, {on_fail: null}]\n", NULL, "unknown rule 'on_fail'");
    bad("- name: v\n  data_type: text\n", "{unique_key: nope}", "cleanse model 'm': unique_key column 'nope' is not an output column");
    bad("- name: v\n  data_type: text\n", "{input: {path: x.csv, format: xml}}", "unknown input format 'xml'");
    bad("- name: v\n  data_type: text\n  rules: [{surrogate_key: [w]}]\n", NULL, "surrogate_key column 'w' is not an output column");
    bad("- name: v\n  data_type: text\n  rules: [{trim: {x: 1}}]\n", NULL, "unknown option 'x' for rule 'trim'");
    bad("- name: v\n  data_type: text\n  rules: [{trim: {on_fail: null}}]\n", NULL, "rule 'trim' cannot fail");
}
END_TEST

START_TEST(t_parse_time_api)
{
    CleanseTm tm;
    ck_assert_int_eq(cleanse_parse_time("%Y-%m-%d", "2024-02-30", 10, false, &tm), -2);
    ck_assert_int_eq(cleanse_parse_time("%Y-%m-%d", "2000-02-29", 10, false, &tm), 0);
    ck_assert_int_eq(cleanse_parse_time("%Y-%m-%d", "1900-02-29", 10, false, &tm), -2);
    ck_assert_int_eq(cleanse_parse_time("%Y-%m-%d", "2024-01-01x", 11, false, &tm), -1);
    Sb o = SB_INIT;
    cleanse_copy_escape(&o, NULL, 0);
    cleanse_copy_escape(&o, "a\r\\", 3);
    ck_assert_str_eq(sb_cstr(&o), "\\Na\\r\\\\");
    sb_free(&o);
}
END_TEST

Suite *cleanse_rules_suite(void)
{
    Suite *s = suite_create("cleanse_rules");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, t_string_rules);
    tcase_add_test(tc, t_integer);
    tcase_add_test(tc, t_numeric);
    tcase_add_test(tc, t_boolean);
    tcase_add_test(tc, t_dates);
    tcase_add_test(tc, t_values_default_notnull);
    tcase_add_test(tc, t_not_null_default_column);
    tcase_add_test(tc, t_surrogate_and_dedupe);
    tcase_add_test(tc, t_implicit_parse_order);
    tcase_add_test(tc, t_errors);
    tcase_add_test(tc, t_parse_time_api);
    suite_add_tcase(s, tc);
    return s;
}
