/* test_value.c - unit tests of the value library's data model, operators and
 * formatting (value.c, ops.c, pyfmt.c, vdatetime.c).  The engine's interp_*
 * services are stubbed below: this executable links cdbt_value only. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "value/value.h"

struct Interp {
    Arena *a;
    char err[512];
    bool lenient;
};

Arena *interp_arena(Interp *I) { return I->a; }
bool interp_lenient(Interp *I) { return I->lenient; }
int interp_error(Interp *I, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(I->err, sizeof I->err, fmt, ap);
    va_end(ap);
    return -1;
}
int interp_call(Interp *I, Value callee, CallArgs *args, Value *out)
{
    if (callee.type == V_FUNC)
        return callee.u.fn->fn(I, callee.u.fn->ud, callee.u.fn->self, args, out);
    return interp_error(I, "not callable");
}
int interp_getattr(Interp *I, Value obj, const char *name, size_t n, Value *out)
{
    if (obj.type == V_DICT) {
        Value *v = dict_getn(obj.u.d, name, n);
        *out = v ? *v : v_undef();
        return 0;
    }
    if (value_getattr_builtin(I, obj, name, n, out) == 0)
        return 0;
    *out = v_undef();
    return 0;
}
int interp_getitem(Interp *I, Value obj, Value key, Value *out)
{
    if (value_getitem_builtin(I, obj, key, out) == 0)
        return 0;
    *out = v_undef();
    return 0;
}
int interp_filter(Interp *I, const char *name, Value v, CallArgs *args, Value *out)
{
    NativeFn f = tpl_find_filter(name, strlen(name));
    if (!f)
        return interp_error(I, "no filter named '%s'", name);
    Value pos[8];
    pos[0] = v;
    for (int i = 0; i < args->npos && i < 7; i++)
        pos[i + 1] = args->pos[i];
    CallArgs a2 = {args->npos + 1, pos, args->nkw, args->kwnames, args->kwvals};
    return f(I, NULL, v_undef(), &a2, out);
}
int interp_test(Interp *I, const char *name, Value v, CallArgs *args, bool *out)
{
    NativeFn f = tpl_find_test(name, strlen(name));
    if (!f)
        return interp_error(I, "no test named '%s'", name);
    Value pos[8];
    pos[0] = v;
    for (int i = 0; i < args->npos && i < 7; i++)
        pos[i + 1] = args->pos[i];
    CallArgs a2 = {args->npos + 1, pos, args->nkw, args->kwnames, args->kwvals};
    Value r;
    if (f(I, NULL, v_undef(), &a2, &r))
        return -1;
    *out = value_truthy(r);
    return 0;
}

static Arena A;
static Interp In;
static Interp *I = &In;

static void setup(void)
{
    arena_init(&A, 0);
    In.a = &A;
    In.err[0] = 0;
    In.lenient = false;
}
static void teardown(void) { arena_free(&A); }

static char *repr(Value v)
{
    Sb sb = SB_INIT;
    value_repr(&sb, v);
    char *r = arena_strdup(&A, sb_cstr(&sb));
    sb_free(&sb);
    return r;
}
static char *str(Value v)
{
    Sb sb = SB_INIT;
    value_str(&sb, v);
    char *r = arena_strdup(&A, sb_cstr(&sb));
    sb_free(&sb);
    return r;
}
static Value S(const char *z) { return v_strz(&A, z); }
/* Parse a Python literal (test helper). */
static Value L(const char *z)
{
    Value v;
    ck_assert_msg(value_literal_eval(&A, z, strlen(z), &v) == 0, "literal_eval failed: %s", z);
    return v;
}
static char *fr(double f)
{
    Sb sb = SB_INIT;
    value_float_repr(&sb, f);
    char *r = arena_strdup(&A, sb_cstr(&sb));
    sb_free(&sb);
    return r;
}

START_TEST(t_float_repr)
{
    ck_assert_str_eq(fr(1.0), "1.0");
    ck_assert_str_eq(fr(0.1), "0.1");
    ck_assert_str_eq(fr(0.1 + 0.2), "0.30000000000000004");
    ck_assert_str_eq(fr(1e16), "1e+16");
    ck_assert_str_eq(fr(1e15), "1000000000000000.0");
    ck_assert_str_eq(fr(1e-5), "1e-05");
    ck_assert_str_eq(fr(0.0001), "0.0001");
    ck_assert_str_eq(fr(1.5e300), "1.5e+300");
    ck_assert_str_eq(fr(-2.5), "-2.5");
    ck_assert_str_eq(fr(-0.0), "-0.0");
    ck_assert_str_eq(fr(INFINITY), "inf");
    ck_assert_str_eq(fr(-INFINITY), "-inf");
    ck_assert_str_eq(fr(NAN), "nan");
    ck_assert_str_eq(fr(123456789012345678.0), "1.2345678901234568e+17");
    ck_assert_str_eq(fr(3.14), "3.14");
}
END_TEST

START_TEST(t_repr)
{
    ck_assert_str_eq(repr(S("a")), "'a'");
    ck_assert_str_eq(repr(S("it's")), "\"it's\"");
    ck_assert_str_eq(repr(S("it's \"x\"")), "'it\\'s \"x\"'");
    ck_assert_str_eq(repr(S("a\nb\tc\\")), "'a\\nb\\tc\\\\'");
    ck_assert_str_eq(repr(S("\x01")), "'\\x01'");
    ck_assert_str_eq(repr(S("é")), "'é'");
    ck_assert_str_eq(repr(S("ab\\cd'ef\"gh\x7f ij")), "'ab\\\\cd\\'ef\"gh\\x7f ij'");
    ck_assert_str_eq(repr(v_none()), "None");
    ck_assert_str_eq(repr(v_bool(true)), "True");
    ck_assert_str_eq(repr(L("[1, 'a', None, 2.5, (1,), (), {'k': [True]}]")),
                     "[1, 'a', None, 2.5, (1,), (), {'k': [True]}]");
    ck_assert_str_eq(str(S("x")), "x");
    ck_assert_str_eq(str(v_undef()), "");
    ck_assert_str_eq(str(L("(1, 2)")), "(1, 2)");
    ck_assert_str_eq(str(v_int(-42)), "-42");
}
END_TEST

START_TEST(t_dict)
{
    Value d = v_dict(&A);
    dict_set(&A, d.u.d, v_int(1), S("int"));
    dict_set(&A, d.u.d, v_float(1.0), S("float"));
    dict_set(&A, d.u.d, v_bool(true), S("bool"));
    ck_assert_int_eq(d.u.d->len, 1);
    ck_assert_str_eq(repr(d), "{1: 'bool'}");
    /* many keys: index path, order kept, deletes */
    Value big = v_dict(&A);
    char k[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "k%d", i);
        dict_setz(&A, big.u.d, k, v_int(i));
    }
    ck_assert_int_eq(big.u.d->len, 100);
    for (int i = 0; i < 100; i += 2) {
        snprintf(k, sizeof k, "k%d", i);
        ck_assert(dict_del(big.u.d, S(k), NULL));
    }
    ck_assert_int_eq(big.u.d->len, 50);
    ck_assert_ptr_null(dict_getz(big.u.d, "k10"));
    ck_assert_int_eq(dict_getz(big.u.d, "k11")->u.i, 11);
    for (int i = 100; i < 300; i++) {
        snprintf(k, sizeof k, "k%d", i);
        dict_setz(&A, big.u.d, k, v_int(i));
    }
    VDictEntry *e;
    size_t it = 0;
    ck_assert(dict_next(big.u.d, &it, &e));
    ck_assert_str_eq(e->key.u.s->s, "k1");
    ck_assert_int_eq(dict_getz(big.u.d, "k299")->u.i, 299);
    ck_assert_int_eq(dict_getz(big.u.d, "k99")->u.i, 99);
    /* re-adding a deleted key puts it at the end */
    Value s = v_dict(&A);
    dict_setz(&A, s.u.d, "a", v_int(1));
    dict_setz(&A, s.u.d, "b", v_int(2));
    dict_del(s.u.d, S("a"), NULL);
    dict_setz(&A, s.u.d, "a", v_int(3));
    ck_assert_str_eq(repr(s), "{'b': 2, 'a': 3}");
    /* tuple keys */
    dict_set(&A, s.u.d, L("(1, 'x')"), v_none());
    ck_assert_ptr_nonnull(dict_get(s.u.d, L("(1.0, 'x')")));
}
END_TEST

START_TEST(t_dict_cow)
{
    for (int size = 3; size <= 12; size += 9) {     /* linear scan and index */
        Value src = v_dict(&A);
        char k[16];
        for (int i = 0; i < size; i++) {
            snprintf(k, sizeof k, "k%d", i);
            dict_setz(&A, src.u.d, k, S(k));
        }
        const char *before = repr(src);
        /* reads see the source; the same value again copies nothing */
        VDict *v = dict_cow(&A, src.u.d);
        ck_assert_ptr_nonnull(dict_cow_source(v));
        ck_assert_ptr_null(dict_cow_source(src.u.d));
        ck_assert_str_eq(repr((Value){.type = V_DICT, .u.d = v}), before);
        dict_setz(&A, v, "k1", S("k1"));
        ck_assert_ptr_nonnull(dict_cow_source(v));
        /* a change copies: the source and other views stay as they were */
        VDict *w = dict_cow(&A, src.u.d);
        dict_setz(&A, v, "k1", v_int(1));
        ck_assert_ptr_null(dict_cow_source(v));
        ck_assert_int_eq(dict_getz(v, "k1")->u.i, 1);
        dict_setz(&A, w, "new", v_none());
        ck_assert_int_eq(w->len, (size_t)size + 1);
        VDict *x = dict_cow(&A, src.u.d);
        ck_assert(dict_del(x, S("k0"), NULL));
        ck_assert_ptr_null(dict_getz(x, "k0"));
        ck_assert_str_eq(repr(src), before);
        ck_assert_str_eq(repr((Value){.type = V_DICT, .u.d = dict_cow(&A, src.u.d)}), before);
        /* a view of a view reads the same storage */
        VDict *y = dict_cow(&A, dict_cow(&A, src.u.d));
        ck_assert_ptr_eq(dict_cow_source(y), dict_cow_source(dict_cow(&A, src.u.d)));
    }
    /* a view of an empty dict is a plain empty dict */
    Value empty = v_dict(&A);
    VDict *e = dict_cow(&A, empty.u.d);
    dict_setz(&A, e, "a", v_int(1));
    ck_assert_int_eq(empty.u.d->len, 0);
    /* a presized dict grows past its size */
    Value c = v_dict_cap(&A, 2);
    for (int i = 0; i < 20; i++)
        dict_set(&A, c.u.d, v_int(i), v_int(i * i));
    ck_assert_int_eq(c.u.d->len, 20);
    ck_assert_int_eq(dict_get(c.u.d, v_int(19))->u.i, 361);
}
END_TEST

START_TEST(t_eq_cmp_truthy)
{
    ck_assert(value_eq(v_int(1), v_float(1.0)));
    ck_assert(value_eq(v_bool(true), v_int(1)));
    ck_assert(!value_eq(S("1"), v_int(1)));
    ck_assert(value_eq(L("[1, [2]]"), L("[1, [2.0]]")));
    ck_assert(!value_eq(L("[1]"), L("(1,)")));
    ck_assert(value_eq(L("{'a': 1, 'b': 2}"), L("{'b': 2, 'a': 1}")));
    ck_assert_uint_eq(value_hash(v_int(2)), value_hash(v_float(2.0)));
    int c;
    ck_assert_int_eq(value_cmp(S("abc"), S("abd"), &c), 0);
    ck_assert_int_eq(c, -1);
    ck_assert_int_eq(value_cmp(L("[1, 2]"), L("[1, 2, 0]"), &c), 0);
    ck_assert_int_eq(c, -1);
    ck_assert_int_eq(value_cmp(S("a"), v_int(1), &c), 1);
    ck_assert(!value_truthy(S("")));
    ck_assert(!value_truthy(L("[]")));
    ck_assert(!value_truthy(v_float(0.0)));
    ck_assert(value_truthy(L("{'a': 1}")));
    ck_assert(!value_truthy(v_undef()));
    ck_assert_str_eq(value_type_name(v_none()), "NoneType");
}
END_TEST

static char *binop(BinOp op, Value a, Value b)
{
    Value r;
    In.err[0] = 0;
    if (value_binop(I, op, a, b, &r) != 0)
        return arena_sprintf(&A, "!%s", In.err);
    return repr(r);
}

START_TEST(t_ops)
{
    ck_assert_str_eq(binop(OP_ADD, v_int(1), v_int(2)), "3");
    ck_assert_str_eq(binop(OP_ADD, v_int(1), v_float(0.5)), "1.5");
    ck_assert_str_eq(binop(OP_ADD, v_bool(true), v_int(1)), "2");
    ck_assert_str_eq(binop(OP_ADD, S("a"), S("b")), "'ab'");
    ck_assert_str_eq(binop(OP_ADD, S("a"), v_int(1)), "!can only concatenate str (not \"int\") to str");
    ck_assert_str_eq(binop(OP_ADD, v_int(1), S("a")), "!unsupported operand type(s) for +: 'int' and 'str'");
    ck_assert_str_eq(binop(OP_ADD, L("[1]"), L("[2]")), "[1, 2]");
    ck_assert_str_eq(binop(OP_ADD, L("[1]"), L("(2,)")), "!can only concatenate list (not \"tuple\") to list");
    ck_assert_str_eq(binop(OP_ADD, L("(1,)"), L("(2,)")), "(1, 2)");
    ck_assert_str_eq(binop(OP_DIV, v_int(1), v_int(2)), "0.5");
    ck_assert_str_eq(binop(OP_DIV, v_int(4), v_int(2)), "2.0");
    ck_assert_str_eq(binop(OP_DIV, v_int(1), v_int(0)), "!division by zero");
    ck_assert_str_eq(binop(OP_FLOORDIV, v_int(1), v_int(0)), "!integer division or modulo by zero");
    ck_assert_str_eq(binop(OP_FLOORDIV, v_int(-7), v_int(2)), "-4");
    ck_assert_str_eq(binop(OP_MOD, v_int(-7), v_int(3)), "2");
    ck_assert_str_eq(binop(OP_MOD, v_int(7), v_int(-3)), "-2");
    ck_assert_str_eq(binop(OP_MOD, v_float(-7.5), v_int(2)), "0.5");
    ck_assert_str_eq(binop(OP_FLOORDIV, v_float(7.0), v_int(-2)), "-4.0");
    ck_assert_str_eq(binop(OP_POW, v_int(2), v_int(10)), "1024");
    ck_assert_str_eq(binop(OP_POW, v_int(2), v_int(-1)), "0.5");
    ck_assert_str_eq(binop(OP_POW, v_int(2), v_int(100)), "!integer overflow");
    ck_assert_str_eq(binop(OP_MUL, S("ab"), v_int(3)), "'ababab'");
    ck_assert_str_eq(binop(OP_MUL, v_int(2), L("[1]")), "[1, 1]");
    ck_assert_str_eq(binop(OP_MUL, S("a"), v_float(1.5)), "!can't multiply sequence by non-int of type 'float'");
    ck_assert_str_eq(binop(OP_CONCAT, v_int(1), S("a")), "'1a'");
    ck_assert_str_eq(binop(OP_CONCAT, v_undef(), L("[1]")), "'[1]'");
    ck_assert_str_eq(binop(OP_LT, S("a"), v_int(1)), "!'<' not supported between instances of 'str' and 'int'");
    ck_assert_str_eq(binop(OP_LT, v_int(1), v_float(1.5)), "True");
    ck_assert_str_eq(binop(OP_IN, S("b"), S("abc")), "True");
    ck_assert_str_eq(binop(OP_IN, v_int(1), S("abc")), "!'in <string>' requires string as left operand, not int");
    ck_assert_str_eq(binop(OP_IN, v_int(2), L("[1, 2]")), "True");
    ck_assert_str_eq(binop(OP_NOTIN, S("a"), L("{'a': 1}")), "False");
    ck_assert_str_eq(binop(OP_IN, v_int(1), v_undef()), "False");
    ck_assert_str_eq(binop(OP_IN, v_int(1), v_int(3)), "!argument of type 'int' is not iterable");
    ck_assert_str_eq(binop(OP_ADD, v_undef_named(&A, "x", 1), v_int(1)), "!'x' is undefined");
    ck_assert_str_eq(binop(OP_EQ, v_undef(), v_undef()), "True");
    ck_assert_str_eq(binop(OP_MOD, S("%s-%d"), L("('a', 3)")), "'a-3'");
    Value r;
    ck_assert_int_eq(value_unop(I, OP_NEG, S("a"), &r), -1);
    ck_assert_str_eq(In.err, "bad operand type for unary -: 'str'");
}
END_TEST

static char *slice(Value seq, Value a, Value b, Value c)
{
    Value r;
    if (value_slice(I, seq, a, b, c, &r))
        return arena_sprintf(&A, "!%s", In.err);
    return repr(r);
}

START_TEST(t_slice_index)
{
    Value n = v_none();
    ck_assert_str_eq(slice(S("abcdef"), v_int(1), v_int(-1), n), "'bcde'");
    ck_assert_str_eq(slice(S("abcdef"), n, n, v_int(-1)), "'fedcba'");
    ck_assert_str_eq(slice(S("abcdef"), n, n, v_int(2)), "'ace'");
    ck_assert_str_eq(slice(S("héllo"), v_int(1), v_int(3), n), "'él'");
    ck_assert_str_eq(slice(L("[1, 2, 3, 4]"), v_int(-2), n, n), "[3, 4]");
    ck_assert_str_eq(slice(L("[1, 2, 3, 4]"), n, n, v_int(-2)), "[4, 2]");
    ck_assert_str_eq(slice(L("(1, 2, 3)"), v_int(5), n, n), "()");
    ck_assert_str_eq(slice(S("ab"), n, n, v_int(0)), "!slice step cannot be zero");
    Value r;
    ck_assert_int_eq(value_getitem_builtin(I, L("[1, 2]"), v_int(-1), &r), 0);
    ck_assert_int_eq(r.u.i, 2);
    ck_assert_int_eq(value_getitem_builtin(I, L("[1, 2]"), v_int(2), &r), 1);
    ck_assert_int_eq(value_getitem_builtin(I, S("hé"), v_int(1), &r), 0);
    ck_assert_str_eq(r.u.s->s, "é");
    ck_assert_int_eq(value_getitem_builtin(I, L("{1: 'x'}"), v_float(1.0), &r), 0);
    VList *l;
    ck_assert_int_eq(value_iterate(I, S("hé"), &l), 0);
    ck_assert_int_eq(l->len, 2);
    ck_assert_int_eq(value_iterate(I, v_none(), &l), -1);
    ck_assert_str_eq(In.err, "'NoneType' object is not iterable");
    int64_t len;
    ck_assert_int_eq(value_len(I, S("hé"), &len), 0);
    ck_assert_int_eq(len, 2);
}
END_TEST

START_TEST(t_literal_eval)
{
    ck_assert_str_eq(repr(L("1")), "1");
    ck_assert_str_eq(repr(L(" -3.5")), "-3.5");
    ck_assert_str_eq(repr(L("1_000")), "1000");
    ck_assert_str_eq(repr(L("0x1F")), "31");
    ck_assert_str_eq(repr(L("1e3")), "1000.0");
    ck_assert_str_eq(repr(L("'a' \"b\"")), "'ab'");
    ck_assert_str_eq(repr(L("'\\n\\x41'")), "'\\nA'");
    ck_assert_str_eq(repr(L("True")), "True");
    ck_assert_str_eq(repr(L("None")), "None");
    ck_assert_str_eq(repr(L("[1, (2, 3), {'a': [None]},]")), "[1, (2, 3), {'a': [None]}]");
    ck_assert_str_eq(repr(L("1, 2")), "(1, 2)");
    ck_assert_str_eq(repr(L("(1)")), "1");
    ck_assert_str_eq(repr(L("{1, 2, 1}")), "[1, 2]");
    Value v;
    ck_assert_int_eq(value_literal_eval(&A, "abc", 3, &v), -1);
    ck_assert_int_eq(value_literal_eval(&A, "1 +", 3, &v), -1);
    ck_assert_int_eq(value_literal_eval(&A, "[1", 2, &v), -1);
    ck_assert_int_eq(value_literal_eval(&A, "", 0, &v), -1);
    ck_assert_int_eq(value_literal_eval(&A, "012", 3, &v), -1);
}
END_TEST

static char *pct(const char *fmt, Value args)
{
    Value r;
    if (value_percent_format(I, S(fmt), args, &r))
        return arena_sprintf(&A, "!%s", In.err);
    return r.u.s->s;
}

static char *sfmt(const char *fmt, const char *args)
{
    Value t = L(args);
    CallArgs ca = {(int)t.u.l->len, t.u.l->items, 0, NULL, NULL};
    Value r;
    if (value_str_format(I, S(fmt).u.s, &ca, &r))
        return arena_sprintf(&A, "!%s", In.err);
    return r.u.s->s;
}

START_TEST(t_format)
{
    ck_assert_str_eq(pct("%s", S("x")), "x");
    ck_assert_str_eq(pct("%5.1f|%-5d|%05d|%+d", L("(3.14159, 42, 42, 5)")), "  3.1|42   |00042|+5");
    ck_assert_str_eq(pct("%e %g %g %G", L("(12345.678, 0.00001234, 1e20, 1e-20)")), "1.234568e+04 1.234e-05 1e+20 1E-20");
    ck_assert_str_eq(pct("%r %s %%", L("('a', None)")), "'a' None %");
    ck_assert_str_eq(pct("%(a)s %(a)r", L("{'a': 'q'}")), "q 'q'");
    ck_assert_str_eq(pct("%s", L("{'a': 1}")), "{'a': 1}");
    ck_assert_str_eq(pct("%s %s", L("(1,)")), "!not enough arguments for format string");
    ck_assert_str_eq(pct("%s", L("(1, 2)")), "!not all arguments converted during string formatting");
    ck_assert_str_eq(pct("x", v_int(1)), "!not all arguments converted during string formatting");
    ck_assert_str_eq(pct("%d", S("a")), "!%d format: a real number is required, not str");
    ck_assert_str_eq(pct("%d %x %o %#x", L("(3.9, 255, 8, 255)")), "3 ff 10 0xff");
    ck_assert_str_eq(pct("%.3s|%5s", L("('abcdef', 'ab')")), "abc|   ab");
    ck_assert_str_eq(pct("%z", v_int(1)), "!unsupported format character 'z' (0x7a) at index 1");
    ck_assert_str_eq(sfmt("{}-{}", "('a', 1)"), "a-1");
    ck_assert_str_eq(sfmt("{1}{0}", "('a', 'b')"), "ba");
    ck_assert_str_eq(sfmt("{:>5}|{:<3}|{:^7}|{:.2f}|{!r}", "('a', 'b', 'c', 1.234, 'x')"), "    a|b  |   c   |1.23|'x'");
    ck_assert_str_eq(sfmt("{:,}|{:05d}|{:x}|{:#x}", "(1234567, 42, 255, 12)"), "1,234,567|00042|ff|0xc");
    ck_assert_str_eq(sfmt("{:*^6}|{:=+6}|{:.2}|{:.2}", "('ab', 12, 1.0, 123.0)"), "**ab**|+   12|1.0|1.2e+02");
    ck_assert_str_eq(sfmt("{:%}|{:e}|{:g}|{}", "(0.5, 1.5, 1.5, 1.0)"), "50.000000%|1.500000e+00|1.5|1.0");
    ck_assert_str_eq(sfmt("{0[1]}|{{x}}", "([1, 2],)"), "2|{x}");
    ck_assert_str_eq(sfmt("{} {}", "(1,)"), "!Replacement index 1 out of range for positional args tuple");
    ck_assert_str_eq(sfmt("{:d}", "(1.5,)"), "!Unknown format code 'd' for object of type 'float'");
    ck_assert_str_eq(sfmt("{:>5}", "(True,)"), "    1");
    ck_assert_str_eq(sfmt("{:>5}", "(None,)"), "!unsupported format string passed to NoneType.__format__");
}
END_TEST

/* value_to_json_memo writes what value_to_json does: dicts that share
 * their storage (dict_cow) are found again, a cow dict that changed is
 * not, and lists, tuples, empty containers and scalars pass through. */
static char *json_of(Value v, JsonMemo *m)
{
    Sb sb = SB_INIT;
    JsonW w;
    json_init(&w, &sb, false);
    json_arr_begin(&w);
    json_int(&w, 0);                      /* the value comes after a comma */
    if (m)
        value_to_json_memo(&w, v, m);
    else
        value_to_json(&w, v);
    json_arr_end(&w);
    char *r = arena_strdup(&A, sb_cstr(&sb));
    sb_free(&sb);
    return r;
}

START_TEST(t_json_memo)
{
    JsonMemo m = JSON_MEMO_INIT;
    Value src = L("{'enabled': True, 'tags': ['a', 'b\"'], 'meta': {}, 'x': 1.5, 'n': None}");
    Value vals[] = {
        src, L("[1, 'two', (3,)]"), L("(1, 2)"), L("{}"), L("[]"), S("s\n"), L("7"), L("None"),
    };
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
            ck_assert_str_eq(json_of(vals[i], &m), json_of(vals[i], NULL));
    VDict *c1 = dict_cow(&A, src.u.d), *c2 = dict_cow(&A, src.u.d);
    Value v1 = {.type = V_DICT}, v2 = {.type = V_DICT};
    v1.u.d = c1;
    v2.u.d = c2;
    ck_assert_str_eq(json_of(v1, &m), json_of(src, NULL));
    dict_setz(&A, c2, "x", v_int(2));      /* c2 owns its entries now */
    ck_assert_str_eq(json_of(v2, &m), json_of(v2, NULL));
    ck_assert(strstr(json_of(v2, &m), "\"x\":2"));
    dict_setz(&A, c2, "new", v_int(3));    /* grows in place: n changes */
    ck_assert_str_eq(json_of(v2, &m), json_of(v2, NULL));
    ck_assert(strstr(json_of(v2, &m), "\"new\":3"));
    Value d;
    dict_del(c2, S("new"), &d);            /* len changes */
    ck_assert_str_eq(json_of(v2, &m), json_of(v2, NULL));
    ck_assert(!strstr(json_of(v2, &m), "\"new\""));
    ck_assert_str_eq(json_of(v1, &m), json_of(src, NULL));
    json_memo_free(&m);
}
END_TEST

START_TEST(t_json_copy_dates)
{
    Sb sb = SB_INIT;
    JsonW w;
    json_init(&w, &sb, false);
    value_to_json(&w, L("{'a': [1, 2.5, None, True, 'x'], 1: (2,)}"));
    ck_assert_str_eq(sb_cstr(&sb), "{\"a\":[1,2.5,null,true,\"x\"],\"1\":[2]}");
    sb_free(&sb);
    Arena B;
    arena_init(&B, 0);
    Value src = L("{'a': [1, 'x']}");
    Value cp = value_deep_copy(&B, src);
    ck_assert(value_eq(src, cp));
    ck_assert_ptr_ne(cp.u.d, src.u.d);
    arena_free(&B);
    ck_assert_str_eq(str(v_datetime(&A, 2024, 1, 2, 3, 4, 5, 0, false)), "2024-01-02 03:04:05");
    ck_assert_str_eq(str(v_datetime(&A, 2024, 1, 2, 3, 4, 5, 6, true)), "2024-01-02 03:04:05.000006+00:00");
    ck_assert_str_eq(repr(v_datetime(&A, 2024, 1, 2, 3, 4, 0, 0, false)), "datetime.datetime(2024, 1, 2, 3, 4)");
    ck_assert_str_eq(str(v_date(&A, 2024, 2, 29)), "2024-02-29");
    ck_assert_str_eq(repr(v_date(&A, 2024, 2, 29)), "datetime.date(2024, 2, 29)");
    ck_assert(value_eq(v_date(&A, 2024, 2, 29), v_date(&A, 2024, 2, 29)));
}
END_TEST


/* Call filter/test `name` on subject with positional args from a Python tuple
 * literal and optional keyword args from a dict literal. */
static char *call_ft(bool test, const char *name, Value subj, const char *pos, const char *kw)
{
    NativeFn f = test ? tpl_find_test(name, strlen(name)) : tpl_find_filter(name, strlen(name));
    ck_assert_msg(f != NULL, "no filter/test %s", name);
    Value t = L(pos ? pos : "()");
    Value p[16];
    p[0] = subj;
    for (size_t i = 0; i < t.u.l->len; i++)
        p[i + 1] = t.u.l->items[i];
    VStr *kn[8];
    Value kv[8];
    int nkw = 0;
    if (kw) {
        Value d = L(kw);
        VDictEntry *e;
        for (size_t it = 0; dict_next(d.u.d, &it, &e);) {
            kn[nkw] = e->key.u.s;
            kv[nkw++] = e->val;
        }
    }
    CallArgs ca = {(int)t.u.l->len + 1, p, nkw, kn, kv};
    Value r;
    In.err[0] = 0;
    if (f(I, NULL, v_undef(), &ca, &r))
        return arena_sprintf(&A, "!%s", In.err);
    return repr(r);
}
#define FL(name, subj, pos, kw) call_ft(false, name, L(subj), pos, kw)
#define TS(name, subj, pos) call_ft(true, name, L(subj), pos, NULL)

START_TEST(t_filters)
{
    ck_assert_str_eq(FL("round", "2.5", NULL, NULL), "2.0");
    ck_assert_str_eq(FL("round", "3", NULL, NULL), "3");
    ck_assert_str_eq(FL("round", "2.675", "(2,)", NULL), "2.67");
    ck_assert_str_eq(FL("round", "2.1", "(0, 'ceil')", NULL), "3.0");
    ck_assert_str_eq(FL("round", "1.5", "(1, 'bad')", NULL), "!method must be common, ceil or floor");
    ck_assert_str_eq(FL("int", "'3.7'", NULL, NULL), "3");
    ck_assert_str_eq(FL("int", "'x'", "(5,)", NULL), "5");
    ck_assert_str_eq(FL("int", "'0x1A'", "(0, 16)", NULL), "26");
    ck_assert_str_eq(FL("int", "' 1_000 '", NULL, NULL), "1000");
    ck_assert_str_eq(FL("float", "'x'", NULL, NULL), "0.0");
    ck_assert_str_eq(FL("float", "' 1e3 '", NULL, NULL), "1000.0");
    ck_assert_str_eq(call_ft(false, "default", v_undef(), "('d',)", NULL), "'d'");
    ck_assert_str_eq(FL("default", "None", "('d',)", NULL), "None");
    ck_assert_str_eq(FL("default", "''", "('d', True)", NULL), "'d'");
    ck_assert_str_eq(FL("join", "[1, 2]", "(', ',)", NULL), "'1, 2'");
    ck_assert_str_eq(FL("join", "[{'n': 'a'}, {'n': 'b'}]", "(',',)", "{'attribute': 'n'}"), "'a,b'");
    ck_assert_str_eq(FL("trim", "'xxhixx'", "('x',)", NULL), "'hi'");
    ck_assert_str_eq(FL("truncate", "'hello world foo'", "(9,)", NULL), "'hello...'");
    ck_assert_str_eq(FL("truncate", "'hello world foo'", "(9, True)", NULL), "'hello ...'");
    ck_assert_str_eq(FL("truncate", "'abc'", "(2,)", NULL), "!expected length >= 3, got 2");
    ck_assert_str_eq(FL("indent", "'a\\nb\\n\\nc'", NULL, NULL), "'a\\n    b\\n\\n    c'");
    ck_assert_str_eq(FL("indent", "'a\\nb'", "(2, True)", NULL), "'  a\\n  b'");
    ck_assert_str_eq(FL("center", "'ab'", "(6,)", NULL), "'  ab  '");
    ck_assert_str_eq(FL("wordcount", "'hello  world-foo'", NULL, NULL), "3");
    ck_assert_str_eq(FL("title", "\"they're bill's x-y (z\"", NULL, NULL), "\"They're Bill's X-Y (Z\"");
    ck_assert_str_eq(FL("capitalize", "'hELLO wORLD'", NULL, NULL), "'Hello world'");
    ck_assert_str_eq(FL("tojson", "{'b': 1, 'a': [1, '<&>\\'\"é']}", NULL, NULL),
                     "'{\"a\": [1, \"\\\\u003c\\\\u0026\\\\u003e\\\\u0027\\\\\"\\\\u00e9\"], \"b\": 1}'");
    ck_assert_str_eq(FL("tojson", "{'a': 1}", NULL, "{'indent': 2}"), "'{\\n  \"a\": 1\\n}'");
    ck_assert_str_eq(FL("dictsort", "{'b': 2, 'a': 1, 'C': 3}", NULL, NULL), "[('a', 1), ('b', 2), ('C', 3)]");
    ck_assert_str_eq(FL("dictsort", "{'b': 2, 'a': 1, 'C': 3}", "(True,)", NULL), "[('C', 3), ('a', 1), ('b', 2)]");
    ck_assert_str_eq(FL("dictsort", "{'b': 2, 'a': 1}", NULL, "{'by': 'value', 'reverse': True}"), "[('b', 2), ('a', 1)]");
    ck_assert_str_eq(FL("sort", "['b', 'A', 'a', 'C']", NULL, NULL), "['A', 'a', 'b', 'C']");
    ck_assert_str_eq(FL("sort", "['b', 'A', 'a', 'C']", NULL, "{'case_sensitive': True}"), "['A', 'C', 'a', 'b']");
    ck_assert_str_eq(FL("sort", "[3, 1, 2]", "(True,)", NULL), "[3, 2, 1]");
    ck_assert_str_eq(FL("sort", "[1, 'a']", NULL, NULL), "!'<' not supported between instances of 'str' and 'int'");
    ck_assert_str_eq(FL("unique", "['a', 'A', 'b', 'a']", NULL, NULL), "['a', 'b']");
    ck_assert_str_eq(FL("min", "['b', 'A', 'c']", NULL, NULL), "'A'");
    ck_assert_str_eq(FL("max", "[{'g': 1}, {'g': 3}]", NULL, "{'attribute': 'g'}"), "{'g': 3}");
    ck_assert_str_eq(FL("sum", "[1.5, 2]", NULL, "{'start': 1}"), "4.5");
    ck_assert_str_eq(FL("sum", "['a', 1]", NULL, NULL), "!unsupported operand type(s) for +: 'int' and 'str'");
    ck_assert_str_eq(FL("batch", "[1, 2, 3, 4, 5]", "(2, 'x')", NULL), "[[1, 2], [3, 4], [5, 'x']]");
    ck_assert_str_eq(FL("slice", "[1, 2, 3, 4, 5]", "(3, 0)", NULL), "[[1, 2], [3, 4], [5, 0]]");
    ck_assert_str_eq(FL("groupby", "[{'g': 1, 'n': 'a'}, {'g': 2, 'n': 'b'}, {'g': 1, 'n': 'c'}]", "('g',)", NULL),
                     "[(1, [{'g': 1, 'n': 'a'}, {'g': 1, 'n': 'c'}]), (2, [{'g': 2, 'n': 'b'}])]");
    ck_assert_str_eq(FL("map", "[{'n': 1}, {}]", NULL, "{'attribute': 'n', 'default': 0}"), "[1, 0]");
    ck_assert_str_eq(FL("map", "['a', 'b']", "('upper',)", NULL), "['A', 'B']");
    ck_assert_str_eq(FL("select", "[1, 2, 3, 4]", "('odd',)", NULL), "[1, 3]");
    ck_assert_str_eq(FL("reject", "[1, 5, 10]", "('gt', 3)", NULL), "[1]");
    ck_assert_str_eq(FL("selectattr", "[{'g': 1}, {'g': 2}]", "('g', 'equalto', 2)", NULL), "[{'g': 2}]");
    ck_assert_str_eq(FL("items", "{'a': 1}", NULL, NULL), "[('a', 1)]");
    ck_assert_str_eq(FL("list", "'ab'", NULL, NULL), "['a', 'b']");
    ck_assert_str_eq(FL("length", "5", NULL, NULL), "!object of type 'int' has no len()");
    ck_assert_str_eq(FL("reverse", "'abc'", NULL, NULL), "'cba'");
    ck_assert_str_eq(FL("first", "[]", NULL, NULL), "Undefined");
    ck_assert_str_eq(FL("format", "'%s-%s'", "(1, 'a')", NULL), "'1-a'");
    ck_assert_str_eq(FL("e", "'<a href=\"x\">&\\''", NULL, NULL), "'&lt;a href=&#34;x&#34;&gt;&amp;&#39;'");
    ck_assert_str_eq(FL("replace", "'aaa'", "('a', 'b', 2)", NULL), "'bba'");
    ck_assert_str_eq(FL("urlencode", "{'a': 'b c', 'd': 1}", NULL, NULL), "'a=b+c&d=1'");
    ck_assert_str_eq(FL("urlencode", "'a/b?c=é'", NULL, NULL), "'a/b%3Fc%3D%C3%A9'");
    ck_assert_str_eq(FL("filesizeformat", "12345678", NULL, NULL), "'12.3 MB'");
    ck_assert_str_eq(FL("abs", "'a'", NULL, NULL), "!bad operand type for abs(): 'str'");
    Value r;
    NativeFn as_number = tpl_find_filter("as_number", 9);
    Value subj = S("3");
    CallArgs ca = {1, &subj, 0, NULL, NULL};
    ck_assert_int_eq(as_number(I, NULL, v_undef(), &ca, &r), 0);
    ck_assert_int_eq(r.flags, VF_MARK_NUMBER);
    ck_assert_ptr_null(tpl_find_filter("nope", 4));
    /* every table entry is reachable (tables must stay sorted) */
    static const char *const names[] = {"abs", "as_bool", "as_native", "as_text", "attr", "batch", "count", "d",
        "default", "dictsort", "e", "escape", "float", "forceescape", "int", "items", "join", "last", "length",
        "list", "wordwrap", "wordcount", "urlencode", "upper", "unique", "truncate", "trim", "tojson"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(tpl_find_filter(names[i], strlen(names[i])) != NULL, "filter %s", names[i]);
    static const char *const tests[] = {"!=", "<", "<=", "==", ">", ">=", "boolean", "callable", "defined",
        "divisibleby", "eq", "equalto", "upper", "undefined", "true", "test", "string", "sequence", "sameas"};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        ck_assert_msg(tpl_find_test(tests[i], strlen(tests[i])) != NULL, "test %s", tests[i]);
}
END_TEST

START_TEST(t_tests)
{
    ck_assert_str_eq(TS("number", "True", NULL), "True");
    ck_assert_str_eq(TS("integer", "True", NULL), "False");
    ck_assert_str_eq(TS("sequence", "'a'", NULL), "True");
    ck_assert_str_eq(TS("sequence", "{}", NULL), "True");
    ck_assert_str_eq(TS("iterable", "1", NULL), "False");
    ck_assert_str_eq(TS("odd", "3", NULL), "True");
    ck_assert_str_eq(TS("divisibleby", "9", "(3,)"), "True");
    ck_assert_str_eq(TS("in", "2", "([1, 2],)"), "True");
    ck_assert_str_eq(TS("lower", "'ab'", NULL), "True");
    ck_assert_str_eq(TS("upper", "'aB'", NULL), "False");
    ck_assert_str_eq(TS("==", "1", "(1.0,)"), "True");
    ck_assert_str_eq(TS("lt", "'a'", "(1,)"), "!'<' not supported between instances of 'str' and 'int'");
    ck_assert_str_eq(call_ft(true, "defined", v_undef(), NULL, NULL), "False");
    ck_assert_str_eq(TS("filter", "'upper'", NULL), "True");
}
END_TEST

static char *meth(const char *obj, const char *name, const char *pos)
{
    Value o = L(obj), f;
    ck_assert_int_eq(value_getattr_builtin(I, o, name, strlen(name), &f), 0);
    Value t = L(pos ? pos : "()");
    CallArgs ca = {(int)t.u.l->len, t.u.l->items, 0, NULL, NULL};
    Value r;
    In.err[0] = 0;
    if (interp_call(I, f, &ca, &r))
        return arena_sprintf(&A, "!%s", In.err);
    return repr(r);
}

START_TEST(t_methods)
{
    ck_assert_str_eq(meth("' a,b,,c'", "split", "(',',)"), "[' a', 'b', '', 'c']");
    ck_assert_str_eq(meth("' a  b '", "split", NULL), "['a', 'b']");
    ck_assert_str_eq(meth("'a b c'", "split", "(None, 1)"), "['a', 'b c']");
    ck_assert_str_eq(meth("'a b c'", "rsplit", "(None, 1)"), "['a b', 'c']");
    ck_assert_str_eq(meth("'a,b,c'", "rsplit", "(',', 1)"), "['a,b', 'c']");
    ck_assert_str_eq(meth("'x'", "split", "('',)"), "!empty separator");
    ck_assert_str_eq(meth("'abc'", "center", "(6,)"), "' abc  '");
    ck_assert_str_eq(meth("'abc'", "center", "(7, '*')"), "'**abc**'");
    ck_assert_str_eq(meth("'-5'", "zfill", "(4,)"), "'-005'");
    ck_assert_str_eq(meth("'ab'", "replace", "('', '-')"), "'-a-b-'");
    ck_assert_str_eq(meth("'hello world'", "title", NULL), "'Hello World'");
    ck_assert_str_eq(meth("\"they're\"", "title", NULL), "\"They'Re\"");
    ck_assert_str_eq(meth("'a\\nb\\r\\nc'", "splitlines", NULL), "['a', 'b', 'c']");
    ck_assert_str_eq(meth("'abcabc'", "find", "('c', 3)"), "5");
    ck_assert_str_eq(meth("'abc'", "rpartition", "('x',)"), "('', '', 'abc')");
    ck_assert_str_eq(meth("'Hello'", "endswith", "(('x', 'lo'),)"), "True");
    ck_assert_str_eq(meth("','", "join", "([1],)"), "!sequence item 0: expected str instance, int found");
    ck_assert_str_eq(meth("'{}{a}'", "format", "(1,)"), "!'a'");
    ck_assert_str_eq(meth("[1]", "index", "(2,)"), "!2 is not in list");
    ck_assert_str_eq(meth("[]", "pop", NULL), "!pop from empty list");
    ck_assert_str_eq(meth("[1]", "remove", "(2,)"), "!list.remove(x): x not in list");
    ck_assert_str_eq(meth("{}", "pop", "('a',)"), "!'a'");
    ck_assert_str_eq(meth("{'a': 1}", "get", "('b', 2)"), "2");
    ck_assert_str_eq(meth("{'a': 1}", "items", NULL), "dict_items([('a', 1)])");
    ck_assert_str_eq(meth("{'a': 1}", "keys", NULL), "dict_keys(['a'])");
    ck_assert_str_eq(meth("{'a': 1}", "values", NULL), "dict_values([1])");
    Value l = L("[3, 1, 2]"), f, r;
    ck_assert_int_eq(value_getattr_builtin(I, l, "sort", 4, &f), 0);
    CallArgs ca = {0, NULL, 0, NULL, NULL};
    ck_assert_int_eq(interp_call(I, f, &ca, &r), 0);
    ck_assert_str_eq(repr(l), "[1, 2, 3]");
    ck_assert_int_eq(value_getattr_builtin(I, l, "nope", 4, &f), 1);
}
END_TEST

static char *gcall(const char *name, const char *pos)
{
    Value g = v_dict(&A);
    tpl_add_std_globals(&A, g.u.d);
    Value f = *dict_getz(g.u.d, name);
    Value t = L(pos ? pos : "()");
    CallArgs ca = {(int)t.u.l->len, t.u.l->items, 0, NULL, NULL};
    Value r;
    In.err[0] = 0;
    if (interp_call(I, f, &ca, &r))
        return arena_sprintf(&A, "!%s", In.err);
    return repr(r);
}

START_TEST(t_globals)
{
    ck_assert_str_eq(gcall("range", "(5,)"), "[0, 1, 2, 3, 4]");
    ck_assert_str_eq(gcall("range", "(5, 0, -2)"), "[5, 3, 1]");
    ck_assert_str_eq(gcall("range", "(1, 10, 3)"), "[1, 4, 7]");
    ck_assert_str_eq(gcall("range", "(1, 2, 0)"), "!range() arg 3 must not be zero");
    ck_assert_str_eq(gcall("range", "(100001,)"), "!Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    ck_assert_str_eq(gcall("dict", "([('a', 1)],)"), "{'a': 1}");
    ck_assert_str_eq(gcall("namespace", "({'a': 1},)"), "<Namespace {'a': 1}>");
    /* datetime module: classes are callable objects */
    Value m = tpl_datetime_module(&A), cls, r;
    ck_assert_int_eq(value_getattr_builtin(I, m, "datetime", 8, &cls), 0);
    Value t = L("(2024, 1, 31, 23)");
    CallArgs ca = {(int)t.u.l->len, t.u.l->items, 0, NULL, NULL};
    ck_assert_int_eq(cls.u.o->cls->call(I, cls.u.o, &ca, &r), 0);
    ck_assert_str_eq(str(r), "2024-01-31 23:00:00");
    Value td_cls, td;
    ck_assert_int_eq(value_getattr_builtin(I, m, "timedelta", 9, &td_cls), 0);
    VStr *kn[1] = {S("hours").u.s};
    Value kv[1] = {v_int(2)};
    CallArgs tca = {0, NULL, 1, kn, kv};
    ck_assert_int_eq(td_cls.u.o->cls->call(I, td_cls.u.o, &tca, &td), 0);
    ck_assert_str_eq(binop(OP_ADD, r, td), "datetime.datetime(2024, 2, 1, 1, 0)");
    Value f;
    ck_assert_int_eq(value_getattr_builtin(I, r, "strftime", 8, &f), 0);
    Value fmt = S("%Y%m%d %a %j");
    CallArgs sca = {1, &fmt, 0, NULL, NULL};
    ck_assert_int_eq(interp_call(I, f, &sca, &r), 0);
    ck_assert_str_eq(r.u.s->s, "20240131 Wed 031");
}
END_TEST

Suite *value_suite(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t_float_repr);
    tcase_add_test(tc, t_repr);
    tcase_add_test(tc, t_dict);
    tcase_add_test(tc, t_dict_cow);
    tcase_add_test(tc, t_eq_cmp_truthy);
    tcase_add_test(tc, t_ops);
    tcase_add_test(tc, t_slice_index);
    tcase_add_test(tc, t_literal_eval);
    tcase_add_test(tc, t_format);
    tcase_add_test(tc, t_json_copy_dates);
    tcase_add_test(tc, t_json_memo);
    tcase_add_test(tc, t_filters);
    tcase_add_test(tc, t_tests);
    tcase_add_test(tc, t_methods);
    tcase_add_test(tc, t_globals);
    suite_add_tcase(s, tc);
    return s;
}
