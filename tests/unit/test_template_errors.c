/* test_template_errors.c - exact diagnostics of the template engine:
 * file:line:col, the source line with its caret, unclosed/stray block
 * messages, unknown tags/filters/tests, runtime errors with the macro call
 * stack as notes, and diagnostics of templates embedded at an offset
 * (line_base/col_base, as for YAML values). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "template/template.h"

static Arena arena;

static void setup(void) { arena_init(&arena, 0); }
static void teardown(void) { arena_free(&arena); }

/* Parse + render; return the formatted diagnostic ("" when it succeeded). */
static const char *err_of(const char *path, const char *text, int line_base, int col_base)
{
    Diag d;
    memset(&d, 0, sizeof d);
    SrcFile *f = ARENA_NEW(&arena, SrcFile);
    srcfile_init(f, path, text, strlen(text));
    f->line_base = line_base;
    f->col_base = col_base;
    Template *t = tpl_parse(&arena, f, &d);
    Sb out = SB_INIT;
    if (t) {
        Interp *I = interp_new(&arena, &d);
        VDict *g = v_dict(&arena).u.d;
        tpl_add_std_globals(&arena, g);
        dict_setz(&arena, g, "d", v_dict(&arena));
        interp_set_globals(I, g, NULL, NULL);
        if (tpl_render(I, t, &out) == 0) {
            sb_free(&out);
            srcfile_free(f);
            return "";
        }
    }
    sb_free(&out);
    Sb e = SB_INIT;
    diag_format(&d, &e);
    const char *r = arena_strdup(&arena, sb_cstr(&e));
    sb_free(&e);
    diag_clear(&d);
    srcfile_free(f);
    return r;
}

#define E(tpl, expect) ck_assert_str_eq(err_of("models/x.sql", tpl, 0, 0), expect)

START_TEST(test_unclosed_blocks)
{
    E("select\n{% for x in y %}\n{{ x }}\n",
      "models/x.sql:3:8: error: unexpected end of template: expected 'endfor' to close 'for' opened at models/x.sql:2:4\n"
      "    3 | {{ x }}\n"
      "      |        ^\n");
    E("{% if true %}{% for x in y %}{% endif %}",
      "models/x.sql:1:33: error: unexpected 'endif': expected 'endfor' to close 'for' opened at models/x.sql:1:17\n"
      "    1 | {% if true %}{% for x in y %}{% endif %}\n"
      "      |                                 ^\n");
    E("a{% endif %}",
      "models/x.sql:1:5: error: unexpected 'endif': no block is open\n"
      "    1 | a{% endif %}\n"
      "      |     ^\n");
    E("{% macro m() %}{% if 1 %}{% else %}{% else %}{% endif %}{% endmacro %}",
      "models/x.sql:1:39: error: unexpected 'else': expected 'endif' to close 'if' opened at models/x.sql:1:19\n"
      "    1 | {% macro m() %}{% if 1 %}{% else %}{% else %}{% endif %}{% endmacro %}\n"
      "      |                                       ^\n");
}
END_TEST

START_TEST(test_syntax)
{
    E("{% foo %}",
      "models/x.sql:1:4: error: Encountered unknown tag 'foo'.\n"
      "    1 | {% foo %}\n"
      "      |    ^\n");
    E("{{ 1 + }}",
      "models/x.sql:1:8: error: unexpected 'end of print statement'\n"
      "    1 | {{ 1 + }}\n"
      "      |        ^\n");
    E("{{ x | nope }}",
      "models/x.sql:1:8: error: no filter named 'nope'\n"
      "    1 | {{ x | nope }}\n"
      "      |        ^\n");
    E("{{ x is nope }}",
      "models/x.sql:1:9: error: no test named 'nope'\n"
      "    1 | {{ x is nope }}\n"
      "      |         ^\n");
    E("a {{ x",
      "models/x.sql:1:3: error: unexpected end of template, expected '}}'\n"
      "    1 | a {{ x\n"
      "      |   ^\n");
    E("{{ 'abc }}",
      "models/x.sql:1:4: error: unexpected char \"'\" at 3\n"
      "    1 | {{ 'abc }}\n"
      "      |    ^\n");
    E("a{% break %}",
      "models/x.sql:1:5: error: 'break' outside loop\n"
      "    1 | a{% break %}\n"
      "      |     ^\n");
    E("{% macro m(a=1, b) %}{% endmacro %}",
      "models/x.sql:1:17: error: non-default argument follows default argument\n"
      "    1 | {% macro m(a=1, b) %}{% endmacro %}\n"
      "      |                 ^\n");
    E("{% for x [1] %}{% endfor %}",
      "models/x.sql:1:10: error: unexpected '['\n"
      "    1 | {% for x [1] %}{% endfor %}\n"
      "      |          ^\n");
}
END_TEST

START_TEST(test_runtime)
{
    E("select 1\nfrom {{ missing_fn() }}",
      "models/x.sql:2:9: error: 'missing_fn' is undefined\n"
      "    2 | from {{ missing_fn() }}\n"
      "      |         ^\n");
    E("{{ d.a.b }}",
      "models/x.sql:1:7: error: 'dict object' has no attribute 'a'\n"
      "    1 | {{ d.a.b }}\n"
      "      |       ^\n");
    E("{{ 1 + 'a' }}",
      "models/x.sql:1:6: error: unsupported operand type(s) for +: 'int' and 'str'\n"
      "    1 | {{ 1 + 'a' }}\n"
      "      |      ^\n");
    E("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
      "models/x.sql:1:34: error: macro 'm' takes not more than 1 argument(s)\n"
      "    1 | {% macro m(a) %}{% endmacro %}{{ m(1, 2) }}\n"
      "      |                                  ^\n");
    E("{% macro m(a) %}{% endmacro %}{{ m(1, k=2) }}",
      "models/x.sql:1:34: error: macro 'm' takes no keyword argument 'k'\n"
      "    1 | {% macro m(a) %}{% endmacro %}{{ m(1, k=2) }}\n"
      "      |                                  ^\n");
    E("{% macro inner() %}{{ nope() }}{% endmacro %}\n{% macro outer() %}{{ inner() }}{% endmacro %}\n{{ outer() }}",
      "models/x.sql:1:23: error: 'nope' is undefined\n"
      "    1 | {% macro inner() %}{{ nope() }}{% endmacro %}\n"
      "      |                       ^\n"
      "  in macro 'inner' called at models/x.sql:2:23\n"
      "  in macro 'outer' called at models/x.sql:3:4\n");
    E("{% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}",
      "models/x.sql:1:19: error: No caller defined\n"
      "    1 | {% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}\n"
      "      |                   ^\n"
      "  in macro 'm' called at models/x.sql:1:47\n");
    E("{% set a, b = [1, 2, 3] %}",
      "models/x.sql:1:4: error: too many values to unpack (expected 2)\n"
      "    1 | {% set a, b = [1, 2, 3] %}\n"
      "      |    ^\n");
    E("{% set d.y = 1 %}",
      "models/x.sql:1:8: error: cannot assign attribute on non-namespace object\n"
      "    1 | {% set d.y = 1 %}\n"
      "      |        ^\n");
    E("{% for i in 5 %}{% endfor %}",
      "models/x.sql:1:13: error: 'int' object is not iterable\n"
      "    1 | {% for i in 5 %}{% endfor %}\n"
      "      |             ^\n");
}
END_TEST

START_TEST(test_embedded_offsets)
{
    /* a YAML value starting at line 7, column 12 of schema.yml */
    const char *e = err_of("models/schema.yml", "{{ nope() }}", 6, 11);
    ck_assert_msg(strncmp(e, "models/schema.yml:7:15: error: 'nope' is undefined", 50) == 0, "%s", e);
}
END_TEST

Suite *template_errors_suite(void)
{
    Suite *s = suite_create("template_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_unclosed_blocks);
    tcase_add_test(tc, test_syntax);
    tcase_add_test(tc, test_runtime);
    tcase_add_test(tc, test_embedded_offsets);
    suite_add_tcase(s, tc);
    return s;
}
