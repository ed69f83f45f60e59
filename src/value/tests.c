/* tests.c - Jinja2 3.1's builtin tests (`x is defined`, `is divisibleby 3`,
 * `is ==`, ...).  The table is tests.def; tpl_find_test() looks names up.
 *
 * Tests receive the subject as args->pos[0] and return a V_BOOL.  Comparison
 * tests reuse value_binop so errors match Python's. */
#include "vpriv.h"
#include <string.h>

#define TEST(name, fn) static int fn(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
#include "tests.def"
#undef TEST

static int nargs(Interp *I, CallArgs *args, int n, const char *name)
{
    if (args->npos < n)
        return interp_error(I, "%s() missing required argument", name);
    if (args->npos > n)
        return interp_error(I, "%s() takes %d positional argument%s but %d were given", name, n,
                            n == 1 ? "" : "s", args->npos);
    return 0;
}

#define SUBJECT(n, name) \
    if (nargs(I, args, n, name)) return -1; \
    Value v = args->pos[0]

static int t_defined(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "defined"); *out = v_bool(v.type != V_UNDEF); return 0; }
static int t_undefined(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "undefined"); *out = v_bool(v.type == V_UNDEF); return 0; }
static int t_none(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "none"); *out = v_bool(v.type == V_NONE); return 0; }
static int t_string(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "string"); *out = v_bool(v.type == V_STR); return 0; }
static int t_number(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "number"); *out = v_bool(value_is_num(v)); return 0; }
static int t_integer(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "integer"); *out = v_bool(v.type == V_INT); return 0; }
static int t_float(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "float"); *out = v_bool(v.type == V_FLOAT); return 0; }
static int t_boolean(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "boolean"); *out = v_bool(v.type == V_BOOL); return 0; }
static int t_true(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "true"); *out = v_bool(v.type == V_BOOL && v.u.b); return 0; }
static int t_false(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "false"); *out = v_bool(v.type == V_BOOL && !v.u.b); return 0; }
static int t_mapping(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "mapping"); *out = v_bool(v.type == V_DICT); return 0; }
static int t_escaped(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "escaped"); (void)v; *out = v_bool(false); return 0; }

static int t_sequence(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    SUBJECT(1, "sequence");
    bool r = v.type == V_STR || v.type == V_LIST || v.type == V_TUPLE || v.type == V_DICT;
    if (v.type == V_OBJ)
        r = v.u.o->cls->len && v.u.o->cls->getitem;
    *out = v_bool(r);
    return 0;
}

static int t_iterable(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    SUBJECT(1, "iterable");
    bool r = v.type == V_STR || v.type == V_LIST || v.type == V_TUPLE || v.type == V_DICT || v.type == V_UNDEF;
    if (v.type == V_OBJ)
        r = v.u.o->cls->iter != NULL;
    *out = v_bool(r);
    return 0;
}

static int t_callable(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    SUBJECT(1, "callable");
    bool r = v.type == V_FUNC || v.type == V_MACRO;
    if (v.type == V_OBJ)
        r = v.u.o->cls->call || v.u.o->cls->as_macro;
    *out = v_bool(r);
    return 0;
}

static int t_sameas(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    SUBJECT(2, "sameas");
    Value o = args->pos[1];
    bool r = false;
    if (v.type == o.type) {
        switch (v.type) {
        case V_UNDEF:
        case V_NONE: r = true; break;
        case V_BOOL: r = v.u.b == o.u.b; break;
        case V_INT: r = v.u.i == o.u.i; break;         /* CPython caches small ints; close enough */
        case V_FLOAT: r = false; break;
        case V_STR: r = v.u.s == o.u.s; break;
        default: r = v.u.l == o.u.l; break;            /* pointer identity */
        }
    }
    *out = v_bool(r);
    return 0;
}

static int cmp_test(Interp *I, CallArgs *args, Value *out, BinOp op, const char *name)
{
    if (nargs(I, args, 2, name))
        return -1;
    return value_binop(I, op, args->pos[0], args->pos[1], out);
}
static int t_eq(Interp *I, void *ud, Value self, CallArgs *args, Value *out) { return cmp_test(I, args, out, OP_EQ, "eq"); }
static int t_ne(Interp *I, void *ud, Value self, CallArgs *args, Value *out) { return cmp_test(I, args, out, OP_NE, "ne"); }
static int t_lt(Interp *I, void *ud, Value self, CallArgs *args, Value *out) { return cmp_test(I, args, out, OP_LT, "lt"); }
static int t_le(Interp *I, void *ud, Value self, CallArgs *args, Value *out) { return cmp_test(I, args, out, OP_LE, "le"); }
static int t_gt(Interp *I, void *ud, Value self, CallArgs *args, Value *out) { return cmp_test(I, args, out, OP_GT, "gt"); }
static int t_ge(Interp *I, void *ud, Value self, CallArgs *args, Value *out) { return cmp_test(I, args, out, OP_GE, "ge"); }
static int t_in(Interp *I, void *ud, Value self, CallArgs *args, Value *out) { return cmp_test(I, args, out, OP_IN, "in"); }

static int mod_eq(Interp *I, Value v, Value m, int64_t want, Value *out)
{
    Value r;
    if (value_binop(I, OP_MOD, v, m, &r))
        return -1;
    *out = v_bool(value_eq(r, v_int(want)));
    return 0;
}
static int t_odd(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "odd"); return mod_eq(I, v, v_int(2), 1, out); }
static int t_even(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "even"); return mod_eq(I, v, v_int(2), 0, out); }
static int t_divisibleby(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(2, "divisibleby"); return mod_eq(I, v, args->pos[1], 0, out); }

static int t_lower(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "lower"); *out = v_bool(vstr_is_case(value_str_value(interp_arena(I), v), false)); return 0; }
static int t_upper(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ SUBJECT(1, "upper"); *out = v_bool(vstr_is_case(value_str_value(interp_arena(I), v), true)); return 0; }

static int t_filter(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    SUBJECT(1, "filter");
    *out = v_bool(v.type == V_STR && tpl_find_filter(v.u.s->s, v.u.s->len) != NULL);
    return 0;
}
static int t_test(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    SUBJECT(1, "test");
    *out = v_bool(v.type == V_STR && tpl_find_test(v.u.s->s, v.u.s->len) != NULL);
    return 0;
}

typedef struct TestEntry {
    const char *name;
    NativeFn fn;
} TestEntry;

static const TestEntry test_table[] = {
#define TEST(name, fn) {name, fn},
#include "tests.def"
#undef TEST
};

NativeFn tpl_find_test(const char *name, size_t n)
{
    size_t lo = 0, hi = sizeof test_table / sizeof test_table[0];
    while (lo < hi) {     /* the table is sorted by name (strcmp order) */
        size_t mid = (lo + hi) / 2;
        int c = strncmp(test_table[mid].name, name, n);
        if (c == 0 && test_table[mid].name[n] != 0)
            c = 1;
        if (c == 0)
            return test_table[mid].fn;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
