/* test_yaml.c - the YAML loader against PyYAML SafeLoader behaviour.
 *
 * Expected values were derived by running PyYAML 6.0 (yaml.safe_load) on
 * each input and writing down repr() of the result; the tests themselves
 * need no Python.  Covers scalar resolution, explicit tags, anchors, merge
 * keys, duplicate keys, marks, error texts, limits and alias bombs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "yaml/yaml.h"

static Arena A;

static void setup(void) { arena_init(&A, 0); }
static void teardown(void) { arena_free(&A); }

/* repr() of the loaded document, or "ERR <message>"; heap string. */
static char *load_repr(const char *src)
{
    Diag d = { 0 };
    YNode *root = NULL;
    Sb out = SB_INIT;
    if (yaml_load(&A, "t.yml", src, strlen(src), &root, &d)) {
        sb_printf(&out, "ERR %s", d.message);
    } else {
        value_repr(&out, ynode_to_value(&A, root));
    }
    diag_clear(&d);
    return sb_detach(&out);
}

/* Fully rendered diagnostic of a document that must fail. */
static char *load_diag(const char *src)
{
    Diag d = { 0 };
    YNode *root = NULL;
    Sb out = SB_INIT;
    int rc = yaml_load(&A, "t.yml", src, strlen(src), &root, &d);
    ck_assert_msg(rc == -1, "expected an error for: %s", src);
    ck_assert(d.set);
    diag_format(&d, &out);
    diag_clear(&d);
    return sb_detach(&out);
}

static YNode *load_ok(const char *src)
{
    Diag d = { 0 };
    YNode *root = NULL;
    int rc = yaml_load(&A, "t.yml", src, strlen(src), &root, &d);
    ck_assert_msg(rc == 0, "unexpected error %s for: %s", d.message ? d.message : "", src);
    diag_clear(&d);
    return root;
}

typedef struct Case { const char *src, *want; } Case;

static void run_cases(const Case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *got = load_repr(c[i].src);
        ck_assert_msg(strcmp(got, c[i].want) == 0, "input %s\n  got  %s\n  want %s", c[i].src, got, c[i].want);
        free(got);
    }
}
#define RUN(t) run_cases(t, sizeof(t) / sizeof(t[0]))

/* ------------------------------------------------------------ resolution */

START_TEST(test_pyyaml_cases)
{
    static const Case cases[] = {
    { "~", "None" },
    { "null", "None" },
    { "Null", "None" },
    { "NULL", "None" },
    { "nULL", "'nULL'" },
    { "a:", "{'a': None}" },
    { "[~, null, Null, NULL, '']", "[None, None, None, None, '']" },
    { "[yes, Yes, YES, no, No, NO, true, True, TRUE, false, False, FALSE, on, On, ON, off, Off, OFF]", "[True, True, True, False, False, False, True, True, True, False, False, False, True, True, True, False, False, False]" },
    { "[y, n, Y, N, yEs, tRUE, oN]", "['y', 'n', 'Y', 'N', 'yEs', 'tRUE', 'oN']" },
    { "[0, -0, +1_000, 12, -12, 0b101, -0b_1, 0x1F, -0x1f, 0x1_f, 010, 0_7_7, 00, 0_, 09, 08, 0b, 0o10, 1__]", "[0, 0, 1000, 12, -12, 5, -1, 31, -31, 31, 8, 63, 0, 0, '09', '08', '0b', '0o10', 1]" },
    { "[1:30, -1:30, 190:20:30, 1:5, 60:00, 0:30, 01:30, 1:60, 1_2:3_0, 0b1:0]", "[90, -90, 685230, 65, 3600, '0:30', '01:30', '1:60', '1_2:3_0', '0b1:0']" },
    { "[9223372036854775807, -9223372036854775808]", "[9223372036854775807, -9223372036854775808]" },
    { "[1.0, -1.5, +2.5, 5., 0., .5, 1_0.5, 1_000.0_1, 1.0e+3, 1.e+3, -1.5e-3, .5e+3, 1.5E+3]", "[1.0, -1.5, 2.5, 5.0, 0.0, 0.5, 10.5, 1000.01, 1000.0, 1000.0, -0.0015, 500.0, 1500.0]" },
    { "[.inf, -.inf, +.inf, .Inf, .INF, .iNF, .nan, .NaN, .NAN, -.nan]", "[inf, -inf, inf, inf, inf, '.iNF', nan, nan, nan, '-.nan']" },
    { "[1:30.5, -1:30.5, 0:30.5, 1:00:00.25]", "[90.5, -90.5, 30.5, 3600.25]" },
    { "1.5e+400", "inf" },
    { "2024-01-31", "datetime.date(2024, 1, 31)" },
    { "2024-1-31", "'2024-1-31'" },
    { "2024-01-31 10:00:00", "datetime.datetime(2024, 1, 31, 10, 0)" },
    { "2024-01-31T10:00:00Z", "datetime.datetime(2024, 1, 31, 10, 0, tzinfo=datetime.timezone.utc)" },
    { "2024-01-31t10:00:00.5", "datetime.datetime(2024, 1, 31, 10, 0, 0, 500000)" },
    { "2024-01-31 10:00:00.123456789", "datetime.datetime(2024, 1, 31, 10, 0, 0, 123456)" },
    { "2024-01-31  10:00:00 Z", "datetime.datetime(2024, 1, 31, 10, 0, tzinfo=datetime.timezone.utc)" },
    { "2024-01-31 10:00", "'2024-01-31 10:00'" },
    { "2024-1-3 1:02:03", "datetime.datetime(2024, 1, 3, 1, 2, 3)" },
    { "['1', \"yes\", 'null', \"1.0e+3\", '2024-01-31', '']", "['1', 'yes', 'null', '1.0e+3', '2024-01-31', '']" },
    { "a: |\n  123\nb: >\n  true\n", "{'a': '123\\n', 'b': 'true\\n'}" },
    { "a: 'x'\nb: \"~\"", "{'a': 'x', 'b': '~'}" },
    { "[!!str 12, !!str yes, !!int '12', !!int 0x10, !!float 1e3, !!float '1', !!bool 'Yes', !!null foo, !!null '', ! 12, ! '12', !!timestamp 2024-1-1]", "['12', 'yes', 12, 16, 1000.0, 1.0, True, None, None, 12, 12, datetime.date(2024, 1, 1)]" },
    { "!!map {a: 1}", "{'a': 1}" },
    { "!!seq [1]", "[1]" },
    { "!!str", "''" },
    { "- !!str\n- !!int 1:30", "['', 90]" },
    { "1: a\n2.5: b\n~: c\nyes: d", "{1: 'd', 2.5: 'b', None: 'c'}" },
    { "1: x\n1.0: y\ntrue: z", "{1: 'z'}" },
    { "'1': a\n1: b", "{'1': 'a', 1: 'b'}" },
    { "=: 1", "{'=': 1}" },
    { "'<<': 1", "{'<<': 1}" },
    { "{? a}", "{'a': None}" },
    { "?\n: 1", "{None: 1}" },
    { "[a: 1]", "[{'a': 1}]" },
    { "a: &x [1, 2]\nb: *x", "{'a': [1, 2], 'b': [1, 2]}" },
    { "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3", "{'base': {'x': 1, 'y': 2}, 'm': {'x': 1, 'y': 3}}" },
    { "b: &b {x: 1, y: 2}\na: &a {x: 3, z: 4}\nm:\n  <<: [*a, *b]\n  w: 0\n  x: 9", "{'b': {'x': 1, 'y': 2}, 'a': {'x': 3, 'z': 4}, 'm': {'x': 9, 'y': 2, 'z': 4, 'w': 0}}" },
    { "m: {<<: {a: 1}, a: 2}", "{'m': {'a': 2}}" },
    { "m: {a: 2, <<: {a: 1, b: 1}}", "{'m': {'a': 2, 'b': 1}}" },
    { "a: 1\nb: 2\na: 3", "{'a': 3, 'b': 2}" },
    { "k0: 0\nk1: 1\nk2: 2\nk3: 3\nk4: 4\nk5: 5\nk6: 6\nk7: 7\nk8: 8\nk9: 9\nk1: 10\nk0: 11", "{'k0': 11, 'k1': 10, 'k2': 2, 'k3': 3, 'k4': 4, 'k5': 5, 'k6': 6, 'k7': 7, 'k8': 8, 'k9': 9}" },
    { "# only a comment\n", "None" },
    { "---\n", "None" },
    { "--- ~\n", "None" },
        { "[1e3, 1.0e3, -.5, +.5, ., 1.0e+3_, -1_0.0e-1_0, 0.1:2]",
          "['1e3', '1.0e3', '-.5', '+.5', '.', '1.0e+3_', '-1_0.0e-1_0', '0.1:2']" },
        { "- :30", "[':30']" },
        { "{1: a, \"1\": b, 1.5: c, 2024-01-01: d, ~: e, true: f, false: g}",
          "{1: 'f', '1': 'b', 1.5: 'c', datetime.date(2024, 1, 1): 'd', None: 'e', False: 'g'}" },
    };
    RUN(cases);
}
END_TEST

/* Differences from Python that are deliberate (see resolve.c). */
START_TEST(test_documented_differences)
{
    static const Case cases[] = {
        /* 64-bit ints: a plain integer beyond int64 stays text */
        { "12345678901234567890", "'12345678901234567890'" },
        { "!!int 12345678901234567890", "ERR integer out of range: '12345678901234567890'" },
        /* offsets are folded into UTC */
        { "2024-01-31 10:00:00+02:30", "datetime.datetime(2024, 1, 31, 7, 30, tzinfo=datetime.timezone.utc)" },
        { "2024-01-01 01:00:00 +05", "datetime.datetime(2023, 12, 31, 20, 0, tzinfo=datetime.timezone.utc)" },
        { "2024-12-31T23:30:00-01:00", "datetime.datetime(2025, 1, 1, 0, 30, tzinfo=datetime.timezone.utc)" },
        /* PyYAML raises ValueError/KeyError for these; we report them */
        { "2024-02-30", "ERR invalid timestamp: day is out of range for month" },
        { "2024-02-29", "datetime.date(2024, 2, 29)" },
        { "2023-02-29", "ERR invalid timestamp: day is out of range for month" },
        { "x: 2024-01-31 25:00:00", "ERR invalid timestamp: hour must be in 0..23" },
        { "0x_", "ERR invalid integer '0x_'" },
        { "!!bool foo", "ERR invalid boolean 'foo'" },
        { "!!float abc", "ERR invalid float 'abc'" },
        { "!!int abc", "ERR invalid integer 'abc'" },
        /* only the first document is loaded (PyYAML's safe_load refuses several) */
        { "a: 1\n---\nb: 2", "{'a': 1}" },
        /* recursive aliases are refused (PyYAML builds a cycle) */
        { "&a [*a]", "ERR found recursive alias 'a': a node cannot contain itself" },
    };
    RUN(cases);
}
END_TEST

START_TEST(test_scalar_nodes)
{
    YNode *r = load_ok("a: '1'\nb: 1\nc: |\n  x\nd: plain text\n");
    ck_assert_int_eq(r->kind, YN_MAP);
    ck_assert_uint_eq(r->n, 4);
    YNode *a = ynode_get(r, "a"), *b = ynode_get(r, "b"), *c = ynode_get(r, "c"), *d = ynode_get(r, "d");
    ck_assert(a && a->quoted && a->value.type == V_STR);
    ck_assert_str_eq(ynode_str(a), "1");
    ck_assert(b && !b->quoted && b->value.type == V_INT && b->value.u.i == 1);
    ck_assert_str_eq(b->text, "1");
    ck_assert_ptr_null(ynode_str(b));
    ck_assert(c && c->quoted);
    ck_assert_str_eq(ynode_str(c), "x\n");
    ck_assert_str_eq(ynode_str(d), "plain text");
    ck_assert_uint_eq(d->text_len, 10);
    ck_assert_ptr_null(ynode_get(r, "zz"));
    ck_assert_ptr_null(ynode_get(a, "a"));
    ck_assert_str_eq(ynode_kind_name(r), "mapping");
    ck_assert_str_eq(ynode_kind_name(a), "string");
    ck_assert_str_eq(ynode_kind_name(b), "integer");
    ck_assert_str_eq(ynode_kind_name(NULL), "null");
    /* the text need not be NUL-terminated: only len bytes are read */
    Diag d0 = { 0 };
    YNode *cut = NULL;
    ck_assert_int_eq(yaml_load(&A, "t.yml", "a: 12: junk", 5, &cut, &d0), 0);
    ck_assert_int_eq(ynode_get(cut, "a")->value.u.i, 12);
    YNode *s = load_ok("[1.5, true, ~, 2024-01-01, [x]]");
    ck_assert_str_eq(ynode_kind_name(s), "sequence");
    ck_assert_str_eq(ynode_kind_name(s->items[0]), "float");
    ck_assert_str_eq(ynode_kind_name(s->items[1]), "boolean");
    ck_assert_str_eq(ynode_kind_name(s->items[2]), "null");
    ck_assert_str_eq(ynode_kind_name(s->items[3]), "date");
    ck_assert_str_eq(ynode_kind_name(s->items[4]), "sequence");
}
END_TEST

START_TEST(test_empty_documents)
{
    ck_assert_ptr_null(load_ok(""));
    ck_assert_ptr_null(load_ok("# nothing\n\n"));
    ck_assert_ptr_null(load_ok("---\n...\n"));
    YNode *r = load_ok("~");
    ck_assert(r && r->kind == YN_SCALAR && r->value.type == V_NONE);
    Diag d = { 0 };
    YNode *root = (YNode *)1;
    ck_assert_int_eq(yaml_load(&A, "t.yml", NULL, 0, &root, &d), 0);
    ck_assert_ptr_null(root);
    ck_assert(ynode_to_value(&A, NULL).type == V_NONE);
}
END_TEST

/* ------------------------------------------------------------ anchors, merge, duplicates */

START_TEST(test_alias_shares_node)
{
    YNode *r = load_ok("a: &x {k: [1, 2]}\nb: *x\nc: *x\n");
    YNode *a = ynode_get(r, "a"), *b = ynode_get(r, "b");
    ck_assert_ptr_eq(a, b);
    ck_assert(a->shared);
    Value v = ynode_to_value(&A, r);
    Value *va = dict_getz(v.u.d, "a"), *vb = dict_getz(v.u.d, "b"), *vc = dict_getz(v.u.d, "c");
    ck_assert(va && vb && vc);
    ck_assert_ptr_eq(va->u.d, vb->u.d);     /* one dict, as PyYAML shares the object */
    ck_assert_ptr_eq(va->u.d, vc->u.d);
}
END_TEST

START_TEST(test_merge_keys)
{
    static const Case cases[] = {
        { "x: &a {p: 1, q: 2}\ny:\n  <<: *a\n  q: 3\n  r: 4", "{'x': {'p': 1, 'q': 2}, 'y': {'p': 1, 'q': 3, 'r': 4}}" },
        /* earlier maps in the list win; order as PyYAML flatten_mapping */
        { "a: &a {k: a, x: 1}\nb: &b {k: b, y: 2}\nc: {<<: [*a, *b]}", "{'a': {'k': 'a', 'x': 1}, 'b': {'k': 'b', 'y': 2}, 'c': {'k': 'a', 'y': 2, 'x': 1}}" },
        /* nested merges are flattened first */
        { "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}", "{'a': {'x': 1}, 'b': {'x': 1, 'y': 2}, 'c': {'x': 1, 'y': 2, 'z': 3}}" },
        /* an explicit key placed before the merge still wins */
        { "m: {a: 2, <<: {a: 1, b: 1}}", "{'m': {'a': 2, 'b': 1}}" },
        /* quoted "<<" is an ordinary key */
        { "'<<': {a: 1}", "{'<<': {'a': 1}}" },
        { "m: {<<: 1}", "ERR expected a mapping or list of mappings for merging, but found scalar" },
        { "m: {<<: [{a: 1}, [2]]}", "ERR expected a mapping for merging, but found sequence" },
        { "a: <<", "ERR could not determine a constructor for the tag 'tag:yaml.org,2002:merge'" },
        { "a: =", "ERR could not determine a constructor for the tag 'tag:yaml.org,2002:value'" },
    };
    RUN(cases);
    /* marks of merged keys point at their definition */
    YNode *r = load_ok("base: &b\n  x: 1\nm:\n  <<: *b\n  y: 2\n");
    YNode *m = ynode_get(r, "m");
    ck_assert_uint_eq(m->n, 2);
    ck_assert_int_eq(m->keys[0]->line, 2);
    ck_assert_int_eq(m->keys[1]->line, 5);
}
END_TEST

START_TEST(test_duplicate_keys)
{
    /* last value wins; the key keeps its first position and node */
    YNode *r = load_ok("a: 1\nb: 2\na: 3\n");
    ck_assert_uint_eq(r->n, 2);
    ck_assert_str_eq(ynode_str(r->keys[0]), "a");
    ck_assert_int_eq(r->keys[0]->line, 1);
    ck_assert_int_eq(r->items[0]->line, 3);
    ck_assert_int_eq(ynode_get(r, "a")->value.u.i, 3);
    /* large maps use the hashed path */
    Sb s = SB_INIT;
    for (int i = 0; i < 100; i++)
        sb_printf(&s, "k%d: %d\n", i % 40, i);
    YNode *big = load_ok(sb_cstr(&s));
    sb_free(&s);
    ck_assert_uint_eq(big->n, 40);
    ck_assert_str_eq(ynode_str(big->keys[5]), "k5");
    ck_assert_int_eq(big->items[5]->value.u.i, 85);
}
END_TEST

START_TEST(test_non_string_keys)
{
    Value v;
    Diag d = { 0 };
    ck_assert_int_eq(yaml_load_value(&A, "t.yml", "1: x\n2: y\n", 10, &v, &d), 0);
    ck_assert_int_eq(v.type, V_DICT);
    Value *x = dict_get(v.u.d, v_int(1));
    ck_assert(x && x->type == V_STR);
    ck_assert_str_eq(x->u.s->s, "x");
    ck_assert_ptr_null(dict_getz(v.u.d, "1"));
}
END_TEST

/* ------------------------------------------------------------ marks */

START_TEST(test_marks)
{
    const char *src =
        "version: 2\n"
        "models:\n"
        "  - name: orders\n"
        "    columns:\n"
        "      - name: id\n"
        "        tests: [unique, not_null]\n";
    YNode *r = load_ok(src);
    ck_assert_int_eq(r->line, 1);
    ck_assert_int_eq(r->col, 1);
    YNode *models = ynode_get(r, "models");
    ck_assert_int_eq(models->kind, YN_SEQ);
    ck_assert_int_eq(models->line, 3);
    ck_assert_int_eq(models->col, 3);
    YNode *m0 = models->items[0];
    ck_assert_int_eq(m0->line, 3);
    ck_assert_int_eq(m0->col, 5);
    YNode *name = ynode_get(m0, "name");
    ck_assert_int_eq(name->line, 3);
    ck_assert_int_eq(name->col, 11);
    ck_assert_uint_eq(name->offset, (size_t)(strstr(src, "orders") - src));
    ck_assert_int_eq(m0->keys[1]->line, 4);      /* "columns" key */
    ck_assert_int_eq(m0->keys[1]->col, 5);
    YNode *col0 = ynode_get(m0, "columns")->items[0];
    YNode *tests = ynode_get(col0, "tests");
    ck_assert_int_eq(tests->line, 6);
    ck_assert_int_eq(tests->col, 16);
    ck_assert_int_eq(tests->items[1]->col, 25);
    ck_assert_uint_eq(tests->items[1]->offset, (size_t)(strstr(src, "not_null") - src));
}
END_TEST

START_TEST(test_marks_utf8)
{
    /* libyaml counts characters; marks are bytes */
    const char *src = "d: \"h\xc3\xa9llo\" \n\xc3\xa9t\xc3\xa9: [a, \xe2\x82\xac, b]\n";
    YNode *r = load_ok(src);
    YNode *v = r->items[1];
    ck_assert_int_eq(r->keys[1]->line, 2);
    ck_assert_int_eq(r->keys[1]->col, 1);
    ck_assert_int_eq(v->col, 8);
    ck_assert_int_eq(v->items[2]->col, 17);
    ck_assert_uint_eq(v->items[2]->offset, (size_t)(strstr(src, ", b]") - src) + 2);
    /* a BOM is skipped by libyaml but still counted in bytes */
    YNode *b = load_ok("\xef\xbb\xbf" "a: x\n");
    ck_assert_int_eq(b->keys[0]->col, 4);
    ck_assert_uint_eq(b->keys[0]->offset, 3);
    ck_assert_uint_eq(b->items[0]->offset, 6);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(test_error_texts)
{
    static const Case cases[] = {
        { "a:\n\tb: 1\n",
          "t.yml:2:1: error: found character that cannot start any token while scanning for the next token\n"
          "    2 | \tb: 1\n"
          "      | ^\n" },
        { "a: 'x\n",
          "t.yml:2:1: error: found unexpected end of stream while scanning a quoted scalar\n"
          "    2 | \n"
          "      | ^\n"
          "  note: while scanning a quoted scalar starting at line 1, column 4\n" },
        { "a: 1\n b: 2\n",
          "t.yml:2:3: error: mapping values are not allowed in this context\n"
          "    2 |  b: 2\n"
          "      |   ^\n" },
        { "a:\n  b: 1\n c: 2\n",
          "t.yml:3:2: error: did not find expected key while parsing a block mapping\n"
          "    3 |  c: 2\n"
          "      |  ^\n"
          "  note: while parsing a block mapping starting at line 1, column 1\n" },
        { "[1, 2]: x\n",
          "t.yml:1:1: error: found unhashable key\n"
          "    1 | [1, 2]: x\n"
          "      | ^\n" },
        { "a:\n  ? {b: 1}\n  : x\n",
          "t.yml:2:5: error: found unhashable key\n"
          "    2 |   ? {b: 1}\n"
          "      |     ^\n" },
        { "a: !foo x\n",
          "t.yml:1:4: error: could not determine a constructor for the tag '!foo'\n"
          "    1 | a: !foo x\n"
          "      |    ^\n" },
        { "a: !!foo x\n",
          "t.yml:1:4: error: could not determine a constructor for the tag 'tag:yaml.org,2002:foo'\n"
          "    1 | a: !!foo x\n"
          "      |    ^\n" },
        { "a: *nope\n",
          "t.yml:1:4: error: found undefined alias 'nope'\n"
          "    1 | a: *nope\n"
          "      |    ^\n" },
        { "a: &x 1\nb: &x 2\n",
          "t.yml:2:4: error: found duplicate anchor 'x'\n"
          "    2 | b: &x 2\n"
          "      |    ^\n"
          "  note: first occurrence at line 1, column 4\n" },
        { "- !!str [1]\n",
          "t.yml:1:3: error: expected a scalar node, but found sequence\n"
          "    1 | - !!str [1]\n"
          "      |   ^\n" },
        { "- !!map [1]\n",
          "t.yml:1:3: error: expected a mapping node, but found sequence\n"
          "    1 | - !!map [1]\n"
          "      |   ^\n" },
        { "- !!seq x\n",
          "t.yml:1:3: error: expected a sequence node, but found scalar\n"
          "    1 | - !!seq x\n"
          "      |   ^\n" },
        { "a: \xff\n",
          "t.yml:1:4: error: invalid leading UTF-8 octet (#FF)\n"
          "    1 | a: \xff\n"
          "      |    ^\n" },
        { "a: b\x01\n",
          "t.yml:1:5: error: control characters are not allowed (#1)\n"
          "    1 | a: b\x01\n"
          "      |     ^\n" },
        { "- a\nb: 1\n",
          "t.yml:2:1: error: did not find expected '-' indicator while parsing a block collection\n"
          "    2 | b: 1\n"
          "      | ^\n"
          "  note: while parsing a block collection starting at line 1, column 1\n" },
        { "a: =\n",
          "t.yml:1:4: error: could not determine a constructor for the tag 'tag:yaml.org,2002:value'\n"
          "    1 | a: =\n"
          "      |    ^\n" },
        { "key: \"bad \\q\"\n",
          "t.yml:1:11: error: found unknown escape character while parsing a quoted scalar\n"
          "    1 | key: \"bad \\q\"\n"
          "      |           ^\n"
          "  note: while parsing a quoted scalar starting at line 1, column 6\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = load_diag(cases[i].src);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "input %s\n--- got\n%s--- want\n%s", cases[i].src, got, cases[i].want);
        free(got);
    }
}
END_TEST

START_TEST(test_vars_string)
{
    Value v;
    Diag d = { 0 };
    const char *s = "{a: 1, b: [x, yes], c: {d: 2024-01-01}}";
    ck_assert_int_eq(yaml_load_value(&A, "--vars", s, strlen(s), &v, &d), 0);
    Sb out = SB_INIT;
    value_repr(&out, v);
    ck_assert_str_eq(sb_cstr(&out), "{'a': 1, 'b': ['x', True], 'c': {'d': datetime.date(2024, 1, 1)}}");
    sb_free(&out);
    ck_assert_int_eq(yaml_load_value(&A, "--vars", "{a: 1", 5, &v, &d), -1);
    diag_format(&d, &out);
    ck_assert_str_eq(sb_cstr(&out),
                     "--vars:1:6: error: did not find expected ',' or '}' while parsing a flow mapping\n"
                     "    1 | {a: 1\n"
                     "      |      ^\n"
                     "  note: while parsing a flow mapping starting at line 1, column 1\n");
    sb_free(&out);
    diag_clear(&d);
    ck_assert_int_eq(yaml_load_value(&A, "--vars", "", 0, &v, &d), 0);
    ck_assert_int_eq(v.type, V_NONE);
}
END_TEST

/* ------------------------------------------------------------ limits */

START_TEST(test_depth_limit)
{
    Sb s = SB_INIT;
    for (int i = 0; i < YAML_MAX_DEPTH; i++)
        sb_putc(&s, '[');
    for (int i = 0; i < YAML_MAX_DEPTH; i++)
        sb_putc(&s, ']');
    ck_assert_ptr_nonnull(load_ok(sb_cstr(&s)));
    sb_reset(&s);
    for (int i = 0; i < 100000; i++)
        sb_putc(&s, '[');
    char *got = load_repr(sb_cstr(&s));
    ck_assert_str_eq(got, "ERR YAML nesting is deeper than 200 levels");
    free(got);
    /* block style nesting */
    sb_reset(&s);
    for (int i = 0; i <= YAML_MAX_DEPTH; i++) {
        for (int j = 0; j < i; j++)
            sb_putc(&s, ' ');
        sb_puts(&s, "k:\n");
    }
    got = load_repr(sb_cstr(&s));
    ck_assert_str_eq(got, "ERR YAML nesting is deeper than 200 levels");
    free(got);
    /* an alias cannot be used to nest deeper than the limit */
    sb_reset(&s);
    sb_puts(&s, "a: &d ");
    for (int i = 0; i < 150; i++)
        sb_putc(&s, '[');
    for (int i = 0; i < 150; i++)
        sb_putc(&s, ']');
    sb_puts(&s, "\nb: ");
    for (int i = 0; i < 100; i++)
        sb_putc(&s, '[');
    sb_puts(&s, "*d");
    for (int i = 0; i < 100; i++)
        sb_putc(&s, ']');
    got = load_repr(sb_cstr(&s));
    ck_assert_str_eq(got, "ERR alias 'd' makes YAML nesting deeper than 200 levels");
    free(got);
    sb_free(&s);
}
END_TEST

START_TEST(test_billion_laughs)
{
    /* 9 levels of 9-fold aliasing: 387 million leaves if expanded */
    Sb s = SB_INIT;
    sb_puts(&s, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i <= 9; i++) {
        sb_printf(&s, "l%d: &l%d [", i, i);
        for (int j = 0; j < 9; j++)
            sb_printf(&s, "%s*l%d", j ? ", " : "", i - 1);
        sb_puts(&s, "]\n");
    }
    clock_t t0 = clock();
    YNode *r = load_ok(sb_cstr(&s));
    Value v = ynode_to_value(&A, r);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    sb_free(&s);
    ck_assert_int_eq(v.type, V_DICT);
    ck_assert_uint_eq(v.u.d->len, 10);
    Value *l9 = dict_getz(v.u.d, "l9"), *l8 = dict_getz(v.u.d, "l8");
    ck_assert_ptr_eq(l9->u.l->items[0].u.l, l8->u.l);
    ck_assert_msg(secs < 1.0, "alias bomb took %.3fs", secs);
    /* the same through merge keys */
    Sb m = SB_INIT;
    sb_puts(&m, "m0: &m0 {a: [x, y], b: 1}\n");
    for (int i = 1; i <= 30; i++)
        sb_printf(&m, "m%d: &m%d {<<: [*m%d, *m%d], k%d: [*m%d, *m%d]}\n", i, i, i - 1, i - 1, i, i - 1, i - 1);
    t0 = clock();
    r = load_ok(sb_cstr(&m));
    v = ynode_to_value(&A, r);
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    sb_free(&m);
    ck_assert_msg(secs < 1.0, "merge bomb took %.3fs", secs);
}
END_TEST

START_TEST(test_large_file_speed)
{
    /* ~10,000 model entries, as a big project's properties files hold */
    Sb s = SB_INIT;
    sb_puts(&s, "version: 2\nmodels:\n");
    for (int i = 0; i < 10000; i++)
        sb_printf(&s,
                  "  - name: model_%d\n"
                  "    description: \"Model number %d\"\n"
                  "    config: {materialized: table, tags: [a, b]}\n"
                  "    columns:\n"
                  "      - name: id\n"
                  "        tests: [unique, not_null]\n",
                  i, i);
    clock_t t0 = clock();
    YNode *r = load_ok(sb_cstr(&s));
    Value v = ynode_to_value(&A, r);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    sb_free(&s);
    ck_assert_uint_eq(ynode_get(r, "models")->n, 10000);
    ck_assert_int_eq(v.type, V_DICT);
    ck_assert_msg(secs < 2.0, "10k entries took %.3fs", secs);
}
END_TEST

Suite *yaml_suite(void)
{
    Suite *s = suite_create("yaml");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pyyaml_cases);
    tcase_add_test(tc, test_documented_differences);
    tcase_add_test(tc, test_scalar_nodes);
    tcase_add_test(tc, test_empty_documents);
    tcase_add_test(tc, test_alias_shares_node);
    tcase_add_test(tc, test_merge_keys);
    tcase_add_test(tc, test_duplicate_keys);
    tcase_add_test(tc, test_non_string_keys);
    tcase_add_test(tc, test_marks);
    tcase_add_test(tc, test_marks_utf8);
    tcase_add_test(tc, test_error_texts);
    tcase_add_test(tc, test_vars_string);
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_billion_laughs);
    tcase_add_test(tc, test_large_file_speed);
    suite_add_tcase(s, tc);
    return s;
}
