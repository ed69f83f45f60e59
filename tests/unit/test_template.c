/* test_template.c - unit tests of the template engine (src/template):
 * lexing and whitespace control, every statement, precedence, scoping,
 * macros / call / caller / return, native rendering, the parse-time API
 * (macro list, spans, called names, plain fast path).  Expected outputs were
 * checked against Jinja2 3.1 configured as dbt configures it.  Exact error
 * texts live in test_template_errors.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "template/template.h"

static Arena arena;
static Diag diag;
static SrcFile src;
static Sb out;

static int native_return(Interp *I, void *ud, Value self, CallArgs *args, Value *res)
{
    return interp_return(I, args->npos > 0 ? args->pos[0] : v_none());
}

static void setup(void)
{
    arena_init(&arena, 0);
    memset(&diag, 0, sizeof diag);
    memset(&out, 0, sizeof out);
}

static void teardown(void)
{
    sb_free(&out);
    diag_clear(&diag);
    srcfile_free(&src);
    arena_free(&arena);
}

static VDict *globals(void)
{
    VDict *g = v_dict(&arena).u.d;
    tpl_add_std_globals(&arena, g);
    dict_setz(&arena, g, "return", v_func(&arena, "return", native_return, NULL));
    dict_setz(&arena, g, "x", v_int(5));
    dict_setz(&arena, g, "s", v_strz(&arena, "hi"));
    Value l = v_list(&arena, 3);
    for (int i = 1; i <= 3; i++)
        list_append(&arena, l.u.l, v_int(i));
    dict_setz(&arena, g, "l", l);
    Value d = v_dict(&arena);
    dict_setz(&arena, d.u.d, "a", v_int(1));
    dict_setz(&arena, d.u.d, "b", v_strz(&arena, "two"));
    dict_setz(&arena, g, "d", d);
    return g;
}

/* Render text; returns the output, or "ERR: <formatted diag>". */
static const char *render_opt(const char *text, bool lenient)
{
    srcfile_free(&src);
    srcfile_init(&src, "t.sql", text, strlen(text));
    diag_clear(&diag);
    sb_reset(&out);
    Template *t = tpl_parse(&arena, &src, &diag);
    if (t) {
        Interp *I = interp_new(&arena, &diag);
        interp_set_globals(I, globals(), NULL, NULL);
        interp_set_lenient(I, lenient);
        if (tpl_render(I, t, &out) == 0)
            return arena_strdup(&arena, sb_cstr(&out));
    }
    Sb e = SB_INIT;
    diag_format(&diag, &e);
    const char *r = arena_sprintf(&arena, "ERR: %s", sb_cstr(&e));
    sb_free(&e);
    return r;
}

static const char *render(const char *text)
{
    return render_opt(text, false);
}

#define R(tpl, expect) ck_assert_str_eq(render(tpl), expect)

START_TEST(test_text_and_newlines)
{
    R("", "");
    R("plain text", "plain text");
    R("a\n", "a");                    /* one trailing newline dropped */
    R("a\n\n", "a\n");
    R("a\r\nb\rc\r\n", "a\nb\nc");
    R("{{ 1 }}\n", "1");
    R("a{# comment #}b", "ab");
    R("{# multi\nline #}x", "x");
    const char *txt;
    size_t n;
    srcfile_init(&src, "p", "hello\n", 6);
    Template *t = tpl_parse(&arena, &src, &diag);
    ck_assert_ptr_nonnull(t);
    ck_assert(tpl_is_plain(t, &txt, &n));
    ck_assert_int_eq((int)n, 5);
}
END_TEST

START_TEST(test_whitespace_control)
{
    R("a  {%- if true %}b{% endif %}", "ab");
    R("a {% if true -%}  \n b{% endif %}", "a b");
    R("  {%- if 1 -%}  x  {%- endif -%}  ", "x");
    R("a {{- 1 -}} b", "a1b");
    R("a {#- c -#} b", "ab");
    R("a{%+ if 1 +%}  b{% endif %}", "a  b");
    R("x\n  {% if true %}\n  y\n  {% endif %}\nz", "x\n  \n  y\n  \nz");
    R("{% for i in [1,2] -%}\n  {{ i }}\n{%- endfor %}", "12");
    R("{{-1}}", "1");
}
END_TEST

START_TEST(test_raw)
{
    R("{% raw %}{{ x }}{% endraw %}", "{{ x }}");
    R("a {%- raw -%}  {% if %}  {%- endraw -%} b", "a{% if %}b");
    R("{% raw %}{% raw %}{% endraw %}", "{% raw %}");
}
END_TEST

START_TEST(test_literals)
{
    R("{{ 'a\\nb' }}", "a\nb");
    R("{{ \"\\x41\\u00e9\\101\" }}", "A\xc3\xa9" "A");
    R("{{ 'a\\qb' }}", "a\\qb");
    R("{{ 'a' 'b' }}", "ab");
    R("{{ 1_000 + 0x10 + 0o7 + 0b11 }}", "1026");
    R("{{ 1.5e3 }}", "1500.0");
    R("{{ (1,) }}{{ () }}{{ (1, 2) }}", "(1,)()(1, 2)");
    R("{{ [1, 'a', none, true] }}", "[1, 'a', None, True]");
    R("{{ {'k': 'v', 1: 2} }}", "{'k': 'v', 1: 2}");
    R("{{ True }}{{ False }}{{ None }}", "TrueFalseNone");
    R("{{ 1, 2 }}", "(1, 2)");
}
END_TEST

START_TEST(test_precedence)
{
    R("{{ 1 + 2 * 3 }}", "7");
    R("{{ 2 * 3 ~ 4 }}", "64");            /* ~ looser than *, tighter than + */
    R("{{ 'a' ~ 1 ~ 2 }}", "a12");
    R("{{ -2 ** 2 }}", "4");                /* unary binds before ** */
    R("{{ 2 ** 3 ** 2 }}", "64");           /* ** is left-associative */
    R("{{ 1 + none is none }}", "2");       /* tests bind to the unary */
    R("{{ not none is none }}", "False");
    R("{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}", "TrueFalse");
    R("{{ 1 in [1] }}{{ 2 not in [1] }}", "TrueTrue");
    R("{{ 0 or 'x' }}{{ 1 and 'y' }}{{ '' and 1 }}|", "xy|");
    R("{{ 1 if 0 else 2 if 0 else 3 }}", "3");
    R("{{ 1 if 0 }}|", "|");
    R("{{ 7 // 2 }}{{ 7 % 3 }}{{ 7 / 2 }}", "313.5");
    R("{{ not 1 == 2 }}", "True");
    R("{{ (1 < 2) == true }}", "True");
}
END_TEST

START_TEST(test_access)
{
    R("{{ d.a }}{{ d['b'] }}{{ l[0] }}{{ l[-1] }}", "1two13");
    R("{{ l[1:] }}{{ 'hello'[::-1] }}{{ 'hello'[1:-1:2] }}", "[2, 3]ollehel");
    R("{{ d.nope }}|{{ l.5 }}|", "||");
    R("{{ d.nope is defined }}{{ d.a is defined }}", "FalseTrue");
    R("{{ 'abc'.upper() }}", "ABC");
    R("{{ d._a }}|", "|");                   /* private attribute: undefined */
}
END_TEST

START_TEST(test_if)
{
    R("{% if x > 3 %}big{% elif x > 1 %}mid{% else %}small{% endif %}", "big");
    R("{% if x > 9 %}big{% elif x > 1 %}mid{% else %}small{% endif %}", "mid");
    R("{% if x > 9 %}big{% elif x > 7 %}mid{% else %}small{% endif %}", "small");
    R("{% if nothing %}a{% endif %}b", "b");
}
END_TEST

START_TEST(test_for)
{
    R("{% for i in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
      "{{ loop.first }}{{ loop.last }}{{ loop.length }} {% endfor %}",
      "1032TrueFalse3 2121FalseFalse3 3210FalseTrue3 ");
    R("{% for i in l %}{{ loop.previtem }}-{{ loop.nextitem }},{% endfor %}", "-2,1-3,2-,");
    R("{% for i in l %}{{ loop.cycle('a', 'b') }}{% endfor %}", "aba");
    R("{% for i in [1, 1, 2] %}{{ loop.changed(i) }}{% endfor %}", "TrueFalseTrue");
    R("{% for k, v in [(1, 2), (3, 4)] %}{{ k }}{{ v }}{% endfor %}", "1234");
    R("{% for (a, b), c in [((1, 2), 3)] %}{{ a }}{{ b }}{{ c }}{% endfor %}", "123");
    R("{% for i in l if i != 2 %}{{ loop.index }}{{ i }}{% endfor %}", "1123");
    R("{% for i in [] %}x{% else %}empty{% endfor %}", "empty");
    R("{% for i in l %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}", "1");
    R("{% for i in l %}{% if i == 2 %}{% continue %}{% endif %}{{ i }}{% endfor %}", "13");
    R("{% for i in [1, 2] %}{% break %}{% else %}else{% endfor %}done", "elsedone");
    R("{% for c in 'ab' %}{{ c }}.{% endfor %}", "a.b.");
    R("{% for k in d %}{{ k }}{% endfor %}", "ab");
    R("{% for i in undefined_thing %}x{% endfor %}ok", "ok");
    R("{% for i in [1] %}{% for j in [2] %}{{ loop.index }}{{ i }}{{ j }}{% endfor %}{% endfor %}", "112");
}
END_TEST

START_TEST(test_scoping)
{
    /* loop bodies have their own scope, one per iteration */
    R("{% set y = 0 %}{% for i in [1,2] %}{{ y }}{% set y = i %}{{ y }}{% endfor %}{{ y }}", "01020");
    R("{% for i in [1,2] %}{% if i == 2 %}{{ q }}{% endif %}{% set q = i %}{% endfor %}", "");
    /* if does not create a scope */
    R("{% if true %}{% set y = 3 %}{% endif %}{{ y }}", "3");
    /* macros see the defining template's top-level names at call time */
    R("{% set y = 5 %}{% macro m() %}{{ y }}{% endmacro %}{% set y = 6 %}{{ m() }}", "6");
    /* but not the caller's locals */
    R("{% macro m() %}[{{ i }}]{% endmacro %}{% for i in [1] %}{{ m() }}{% endfor %}", "[]");
    R("{% with a = 1, b = 2 %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", "12[]");
    R("{% set a, b = 1, 2 %}{{ a }}{{ b }}", "12");
}
END_TEST

START_TEST(test_set_block_do)
{
    R("{% set v %}a {{ x }}{% endset %}[{{ v }}]", "[a 5]");
    R("{% set v | upper %}abc{% endset %}{{ v }}", "ABC");
    R("{% do l.append(4) %}{{ l }}", "[1, 2, 3, 4]");
    R("{% filter upper %}ab{{ 'c' }}{% endfilter %}", "ABC");
    R("{% set ns = namespace(n=0) %}{% for i in l %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "6");
}
END_TEST

START_TEST(test_macros)
{
    R("{% macro m(a, b=2) %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(1, b=3) }}{{ m(b=4, a=0) }}", "[12][13][04]");
    R("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}", "[]");
    R("{% macro m(a, b=a) %}{{ b }}{% endmacro %}{{ m(7) }}", "7");
    R("{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }}", "(1, 2){'k': 3}");
    R("{% macro m() %}5{% endmacro %}{{ m() ~ '1' }}", "51");
    R("{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}body{% endcall %}", "body");
    R("{% macro m(x) %}<{{ caller(x * 2) }}>{% endmacro %}{% call(v) m(3) %}v={{ v }}{% endcall %}", "<v=6>");
    R("{% macro m() %}{{ caller() }}{% endmacro %}{% set y = 1 %}{% call m() %}{{ y }}{% endcall %}", "1");
    R("{% macro m() %}a{{ return([1, 2]) }}b{% endmacro %}{{ m() }}{{ m() | length }}", "[1, 2]2");
    R("{% macro m() %}{% do return(3) %}{% endmacro %}{{ m() + 1 }}", "4");
    R("{% macro m(n) %}{% if n > 0 %}{{ n }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(3) }}", "321");
    R("{% macro m(a, b) %}{% endmacro %}{{ m.name }}{{ m.arguments }}", "m('a', 'b')");
    R("{% test not_null(model, column_name) %}t{% endtest %}{{ test_not_null(1, 2) }}", "t");
    R("{% materialization view, default %}mv{% endmaterialization %}{{ materialization_view_default() }}", "mv");
    R("{% docs d1 %}ignored {{ x }}{% enddocs %}ok", "ok");
    R("{% snapshot s %}select {{ x }}{% endsnapshot %}", "select 5");
}
END_TEST

START_TEST(test_lenient)
{
    ck_assert_str_eq(render_opt("[{{ nope() }}][{{ nope.attr.x }}][{{ nope(1).y }}]", true), "[][][]");
    ck_assert_str_eq(render_opt("{% for i in nope.x %}{% endfor %}ok", true), "ok");
}
END_TEST

static int parse_only(const char *text, Template **t)
{
    srcfile_free(&src);
    srcfile_init(&src, "macros/m.sql", text, strlen(text));
    diag_clear(&diag);
    *t = tpl_parse(&arena, &src, &diag);
    return *t ? 0 : -1;
}

START_TEST(test_macro_api)
{
    const char *text = "junk {% macro a(x) %}{{ ref('m') }}{{ dbt_utils.star(x) }}{{ a(1) }}{% endmacro %}\n"
                       "{% test uniq(model) %}{{ b() }}{% endtest %}"
                       "{% materialization table, adapter='postgres' %}{% endmaterialization %}";
    Template *t;
    ck_assert_int_eq(parse_only(text, &t), 0);
    ck_assert_int_eq((int)tpl_macro_count(t), 3);
    ck_assert_str_eq(tpl_macro_name(tpl_macro_at(t, 0)), "a");
    ck_assert_str_eq(tpl_macro_name(tpl_macro_at(t, 1)), "test_uniq");
    ck_assert_str_eq(tpl_macro_name(tpl_macro_at(t, 2)), "materialization_table_postgres");
    size_t s, e;
    tpl_macro_span(tpl_macro_at(t, 0), &s, &e);
    ck_assert_int_eq((int)s, 5);
    ck_assert(strncmp(text + e - 14, "{% endmacro %}", 14) == 0);
    const char **names;
    size_t n = tpl_macro_called_names(tpl_macro_at(t, 0), &names);
    ck_assert_int_eq((int)n, 3);
    ck_assert_str_eq(names[0], "ref");
    ck_assert_str_eq(names[1], "dbt_utils.star");
    ck_assert_str_eq(names[2], "a");
    n = tpl_called_names(t, &names);
    ck_assert_int_eq((int)n, 4);
    ck_assert_str_eq(names[3], "b");
    ck_assert_ptr_eq(tpl_srcfile(t), &src);
}
END_TEST

static const char *native(const char *text)
{
    Template *t;
    if (parse_only(text, &t) != 0)
        return "parse error";
    Interp *I = interp_new(&arena, &diag);
    interp_set_globals(I, globals(), NULL, NULL);
    Value v;
    if (tpl_render_native(I, t, &v) != 0)
        return diag.message;
    Sb sb = SB_INIT;
    sb_printf(&sb, "%s:", value_type_name(v));
    value_repr(&sb, v);
    const char *r = arena_strdup(&arena, sb_cstr(&sb));
    sb_free(&sb);
    return r;
}

START_TEST(test_native)
{
    ck_assert_str_eq(native("{{ x }}"), "int:5");
    ck_assert_str_eq(native("{{ l }}"), "list:[1, 2, 3]");
    ck_assert_str_eq(native("{{ 1 }}"), "str:'1'");             /* folded constant */
    ck_assert_str_eq(native(""), "str:''");
    ck_assert_str_eq(native("a{{ x }}"), "str:'a5'");
    ck_assert_str_eq(native("{{ x }}{{ x }}"), "str:'55'");
    ck_assert_str_eq(native("{% if true %}{{ d }}{% endif %}"), "dict:{'a': 1, 'b': 'two'}");
}
END_TEST

START_TEST(test_limits)
{
    /* deep nesting fails cleanly, at parse time */
    Sb deep = SB_INIT;
    sb_puts(&deep, "{{ ");
    for (int i = 0; i < 300; i++)
        sb_putc(&deep, '(');
    sb_puts(&deep, "1");
    for (int i = 0; i < 300; i++)
        sb_putc(&deep, ')');
    sb_puts(&deep, " }}");
    ck_assert(strncmp(render(sb_cstr(&deep)), "ERR: ", 5) == 0);
    sb_reset(&deep);
    for (int i = 0; i < 150; i++)
        sb_puts(&deep, "{% if 1 %}");
    ck_assert(strstr(render(sb_cstr(&deep)), "nested too deeply") != NULL);
    sb_reset(&deep);
    sb_puts(&deep, "{{ 1");
    for (int i = 0; i < 2000; i++)
        sb_puts(&deep, " + 1");
    sb_puts(&deep, " }}");
    ck_assert(strstr(render(sb_cstr(&deep)), "too complex") != NULL);
    sb_free(&deep);
    /* unbounded recursion stops at the call depth limit */
    ck_assert(strstr(render("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"), "maximum macro call depth") != NULL);
}
END_TEST

/* Render text (macros defined in it) and report interp_text_seen. */
static bool seen(const char *text)
{
    srcfile_free(&src);
    srcfile_init(&src, "t.sql", text, strlen(text));
    diag_clear(&diag);
    sb_reset(&out);
    Template *t = tpl_parse(&arena, &src, &diag);
    ck_assert_msg(t != NULL, "parse failed: %s", diag.message ? diag.message : "");
    Interp *I = interp_new(&arena, &diag);
    interp_set_globals(I, globals(), NULL, NULL);
    ck_assert_int_eq(tpl_render(I, t, &out), 0);
    bool r = interp_text_seen(I);
    interp_clear_text_seen(I);
    ck_assert(!interp_text_seen(I));
    return r;
}

#define M "{% macro m(a='') %}text {{ a }}{% endmacro %}"
#define MR "{% macro r() %}text{{ return(3) }}{% endmacro %}"

START_TEST(test_text_seen)
{
    /* the macro's text only goes on to the output */
    ck_assert(!seen(M "{{ m() }}"));
    ck_assert(!seen(M "{% if x %}{{ m('y') }}{% endif %}{% for i in l %}{{ m(i) }}{% endfor %}"));
    ck_assert(!seen(M "{% macro outer() %}[{{ m() }}]{% endmacro %}{{ outer() }}"));
    ck_assert(!seen(M "{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}{{ m() }}{% endcall %}"));
    ck_assert(!seen("text only {{ x }}"));
    /* a value from return() is not the body's text */
    ck_assert(!seen(MR "{% set v = r() %}{{ v + 1 }}"));
    ck_assert(!seen(MR "{% if r() == 3 %}a{% endif %}"));
    /* the text becomes a value */
    ck_assert(seen(M "{% set v = m() %}"));
    ck_assert(seen(M "{% if m() %}a{% endif %}"));
    ck_assert(seen(M "{{ m() | upper }}"));
    ck_assert(seen(M "{{ m() ~ 'x' }}"));
    ck_assert(seen(M "{{ m(m()) }}"));
    ck_assert(seen(M "{% do m() %}"));
    ck_assert(seen(M "{% set v %}{{ m() }}{% endset %}"));
    ck_assert(seen(M "{% filter upper %}{{ m() }}{% endfilter %}"));
    ck_assert(seen(M "{% macro outer() %}{% set v = m() %}{% endmacro %}{{ outer() }}"));
    ck_assert(seen(M "{% macro w() %}{% set c = caller() %}{{ c }}{% endmacro %}{% call w() %}t{% endcall %}"));
    ck_assert(seen(M "{% set v %}{% macro q() %}{{ m() }}{% endmacro %}{{ q() }}{% endset %}"));
    /* a native function's result and what it calls are not direct */
    ck_assert(seen(M "{{ (m,)[0]() }}") == false);
}
END_TEST

static const char *skel(const char *text)
{
    Sb b = SB_INIT;
    bool ok = tpl_skeleton(text, strlen(text), &b);
    const char *r = ok ? arena_strndup(&arena, b.buf ? b.buf : "", b.len) : NULL;
    if (ok) {
        /* printable: token bytes as hex */
        Sb h = SB_INIT;
        for (size_t i = 0; i < b.len; i++)
            sb_printf(&h, "%02x", (unsigned char)b.buf[i]);
        r = arena_strdup(&arena, sb_cstr(&h));
        sb_free(&h);
    }
    sb_free(&b);
    return r;
}

START_TEST(test_skeleton)
{
    const char *a = skel("{% macro m(c) %}  ({{ c }} / 100)::numeric {% endmacro %}");
    ck_assert_ptr_nonnull(a);
    /* other text between tags, other whitespace inside tags, a comment */
    ck_assert_str_eq(skel("{% macro m(c) %}\n({{c}} / 1000)::int{# n #}{% endmacro %}"), a);
    /* what happens, what is called, how whitespace is controlled: not the same */
    ck_assert_str_ne(skel("{% macro m(c) %}  ({{ c }} / 100)::numeric {%- endmacro %}"), a);
    ck_assert_str_ne(skel("{% macro m(c) %}  ({{ d }} / 100)::numeric {% endmacro %}"), a);
    ck_assert_str_ne(skel("{% macro m(c) %}  ({{ c ~ '1' }} / 100)::numeric {% endmacro %}"), a);
    ck_assert_str_ne(skel("{% macro m(c) %}{{ c }}{{ c }}{% endmacro %}"), a);
    /* text next to a tag and no text there differ (one TEXT token less) */
    ck_assert_str_ne(skel("{% macro m(c) %}{{ c }} / 100)::numeric {% endmacro %}"), a);
    /* a '%}' inside a string is part of the tag, not text */
    ck_assert_str_ne(skel("{% macro m(c) %}{{ '%}' }}x{% endmacro %}"), skel("{% macro m(c) %}{{ '%}}' }}x{% endmacro %}"));
    /* blocks whose text is captured have no skeleton; neither has bad input */
    ck_assert_ptr_null(skel("{% macro m() %}{% set v %}t{% endset %}{% endmacro %}"));
    ck_assert_ptr_null(skel("{% macro m() %}{% filter upper %}t{% endfilter %}{% endmacro %}"));
    ck_assert_ptr_null(skel("{% macro m() %}{% call x() %}t{% endcall %}{% endmacro %}"));
    ck_assert_ptr_null(skel("{% macro m() %}{{ 'unterminated }}{% endmacro %}"));
    ck_assert_ptr_null(skel("{% macro m() %}{# open"));
}
END_TEST

Suite *template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_text_and_newlines);
    tcase_add_test(tc, test_whitespace_control);
    tcase_add_test(tc, test_raw);
    tcase_add_test(tc, test_literals);
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_access);
    tcase_add_test(tc, test_if);
    tcase_add_test(tc, test_for);
    tcase_add_test(tc, test_scoping);
    tcase_add_test(tc, test_set_block_do);
    tcase_add_test(tc, test_macros);
    tcase_add_test(tc, test_lenient);
    tcase_add_test(tc, test_macro_api);
    tcase_add_test(tc, test_native);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_text_seen);
    tcase_add_test(tc, test_skeleton);
    suite_add_tcase(s, tc);
    return s;
}
