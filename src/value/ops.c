/* ops.c - Python 3 operators on values: arithmetic, concatenation,
 * comparisons and membership, unary operators, subscripts, slices,
 * iteration and len(), with Python's exact error texts.
 *
 * Chained comparisons, `and`/`or` short-circuiting, attribute-vs-item
 * fallback and undefined-name messages with their locations are the engine's
 * (src/template).  Errors here are recorded with interp_error(). */
#include "vpriv.h"
#include <math.h>
#include <string.h>

static const char *const op_sym[] = {
    [OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/", [OP_FLOORDIV] = "//",
    [OP_MOD] = "%", [OP_POW] = "** or pow()", [OP_CONCAT] = "~", [OP_EQ] = "==", [OP_NE] = "!=",
    [OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=", [OP_IN] = "in", [OP_NOTIN] = "not in",
};

int value_undef_error(Interp *I, Value u)
{
    if (u.u.s)
        return interp_error(I, "'%s' is undefined", u.u.s->s);
    return interp_error(I, "'None' is undefined");
}

Value value_str_value(Arena *a, Value v)
{
    if (v.type == V_STR) {
        v.flags = 0;
        return v;
    }
    Sb sb = SB_INIT;
    value_str(&sb, v);
    Value r = v_str_sb(a, &sb);
    sb_free(&sb);
    return r;
}

static int unsupported(Interp *I, BinOp op, Value a, Value b)
{
    return interp_error(I, "unsupported operand type(s) for %s: '%s' and '%s'", op_sym[op],
                        value_type_name(a), value_type_name(b));
}

static int64_t as_i(Value v) { return v.type == V_BOOL ? (int64_t)v.u.b : v.u.i; }
static bool is_intish(Value v) { return v.type == V_INT || v.type == V_BOOL; }

static Value repeat_seq(Arena *a, Value seq, int64_t n)
{
    if (n < 0)
        n = 0;
    if (seq.type == V_STR) {
        size_t len = seq.u.s->len;
        VStr *s = arena_alloc(a, sizeof(VStr) + len * (size_t)n + 1);
        s->len = len * (size_t)n;
        s->hash = 0;
        for (int64_t i = 0; i < n; i++)
            memcpy(s->s + (size_t)i * len, seq.u.s->s, len);
        s->s[s->len] = 0;
        return v_vstr(s);
    }
    size_t len = seq.u.l->len, tot = len * (size_t)n;
    Value r = seq.type == V_TUPLE ? v_tuple(a, tot) : v_list(a, tot);
    for (size_t i = 0; i < tot; i++)
        r.u.l->items[i] = seq.u.l->items[i % len];
    r.u.l->len = tot;
    return r;
}

static Value concat_seq(Arena *a, Value x, Value y)
{
    size_t n = x.u.l->len + y.u.l->len;
    Value r = x.type == V_TUPLE ? v_tuple(a, n) : v_list(a, n);
    if (x.u.l->len)
        memcpy(r.u.l->items, x.u.l->items, x.u.l->len * sizeof(Value));
    if (y.u.l->len)
        memcpy(r.u.l->items + x.u.l->len, y.u.l->items, y.u.l->len * sizeof(Value));
    r.u.l->len = n;
    return r;
}

static int overflow(Interp *I) { return interp_error(I, "integer overflow"); }

static int ipow(Interp *I, int64_t base, int64_t e, Value *out)
{
    int64_t r = 1;
    while (e > 0) {
        if (e & 1) {
            if (__builtin_mul_overflow(r, base, &r))
                return overflow(I);
        }
        e >>= 1;
        if (e && __builtin_mul_overflow(base, base, &base))
            return overflow(I);
    }
    *out = v_int(r);
    return 0;
}

static int arith(Interp *I, BinOp op, Value a, Value b, Value *out)
{
    if (a.type != V_FLOAT && b.type != V_FLOAT) {
        int64_t x = as_i(a), y = as_i(b), r;
        switch (op) {
        case OP_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(I); *out = v_int(r); return 0;
        case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(I); *out = v_int(r); return 0;
        case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(I); *out = v_int(r); return 0;
        case OP_DIV:
            if (y == 0)
                return interp_error(I, "division by zero");
            *out = v_float((double)x / (double)y);
            return 0;
        case OP_FLOORDIV:
        case OP_MOD: {
            if (y == 0)
                return interp_error(I, op == OP_MOD ? "integer modulo by zero" : "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) {
                if (op == OP_MOD) { *out = v_int(0); return 0; }
                return overflow(I);
            }
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                q--;
                m += y;
            }
            *out = v_int(op == OP_MOD ? m : q);
            return 0;
        }
        case OP_POW:
            if (y < 0) {
                if (x == 0)
                    return interp_error(I, "0.0 cannot be raised to a negative power");
                *out = v_float(pow((double)x, (double)y));
                return 0;
            }
            return ipow(I, x, y, out);
        default: break;
        }
        return unsupported(I, op, a, b);
    }
    double x = value_as_double(a), y = value_as_double(b);
    switch (op) {
    case OP_ADD: *out = v_float(x + y); return 0;
    case OP_SUB: *out = v_float(x - y); return 0;
    case OP_MUL: *out = v_float(x * y); return 0;
    case OP_DIV:
        if (y == 0)
            return interp_error(I, "float division by zero");
        *out = v_float(x / y);
        return 0;
    case OP_FLOORDIV:
    case OP_MOD: {
        if (y == 0)
            return interp_error(I, op == OP_MOD ? "float modulo" : "float floor division by zero");
        double m = fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0)))
            m += y;
        if (op == OP_MOD) {
            if (m == 0)
                m = copysign(0.0, y);
            *out = v_float(m);
        } else {
            double q = (x - m) / y;
            *out = v_float(q == 0 ? copysign(0.0, x / y) : round(q));
        }
        return 0;
    }
    case OP_POW:
        if (x == 0 && y < 0)
            return interp_error(I, "0.0 cannot be raised to a negative power");
        *out = v_float(pow(x, y));
        return 0;
    default: break;
    }
    return unsupported(I, op, a, b);
}

static int contains(Interp *I, Value item, Value cont, bool *res)
{
    switch (cont.type) {
    case V_STR:
        if (item.type != V_STR)
            return interp_error(I, "'in <string>' requires string as left operand, not %s", value_type_name(item));
        if (item.u.s->len == 0) { *res = true; return 0; }
        *res = item.u.s->len <= cont.u.s->len &&
               vbytes_find(cont.u.s->s, cont.u.s->len, item.u.s->s, item.u.s->len, 0) >= 0;
        return 0;
    case V_LIST:
    case V_TUPLE:
        *res = false;
        for (size_t i = 0; i < cont.u.l->len; i++)
            if (value_eq(cont.u.l->items[i], item)) {
                *res = true;
                break;
            }
        return 0;
    case V_DICT:
        if (!value_is_hashable(item))
            return interp_error(I, "unhashable type: '%s'", value_type_name(item));
        *res = dict_get(cont.u.d, item) != NULL;
        return 0;
    case V_UNDEF:
        *res = false;
        return 0;
    case V_OBJ:
        if (cont.u.o->cls->iter) {
            VList *l;
            int rc = cont.u.o->cls->iter(I, cont.u.o, &l);
            if (rc)
                return rc;
            *res = false;
            for (size_t i = 0; i < l->len; i++)
                if (value_eq(l->items[i], item)) {
                    *res = true;
                    break;
                }
            return 0;
        }
        /* fall through */
    default:
        return interp_error(I, "argument of type '%s' is not iterable", value_type_name(cont));
    }
}

int value_binop(Interp *I, BinOp op, Value a, Value b, Value *out)
{
    Arena *ar = interp_arena(I);
    if (op == OP_EQ || op == OP_NE) {
        bool e = value_eq(a, b);
        *out = v_bool(op == OP_EQ ? e : !e);
        return 0;
    }
    if (op == OP_CONCAT) {
        if (a.type == V_STR && a.u.s->len == 0) { *out = value_str_value(ar, b); return 0; }
        if (b.type == V_STR && b.u.s->len == 0) { *out = value_str_value(ar, a); return 0; }
        Sb sb = SB_INIT;
        value_str(&sb, a);
        value_str(&sb, b);
        *out = v_str_sb(ar, &sb);
        sb_free(&sb);
        return 0;
    }
    if (op == OP_IN || op == OP_NOTIN) {
        bool r = false;
        int rc = contains(I, a, b, &r);
        if (rc)
            return rc;
        *out = v_bool(op == OP_IN ? r : !r);
        return 0;
    }
    if (a.type == V_UNDEF || b.type == V_UNDEF) {
        if (interp_lenient(I)) {
            *out = a.type == V_UNDEF ? a : b;
            return 0;
        }
        return value_undef_error(I, a.type == V_UNDEF ? a : b);
    }
    if (op >= OP_LT && op <= OP_GE) {
        int c;
        if (value_cmp(a, b, &c) != 0)
            return interp_error(I, "'%s' not supported between instances of '%s' and '%s'", op_sym[op],
                                value_type_name(a), value_type_name(b));
        /* NaN: every ordering is false */
        if ((a.type == V_FLOAT && isnan(a.u.f)) || (b.type == V_FLOAT && isnan(b.u.f))) {
            *out = v_bool(false);
            return 0;
        }
        bool r = op == OP_LT ? c < 0 : op == OP_LE ? c <= 0 : op == OP_GT ? c > 0 : c >= 0;
        *out = v_bool(r);
        return 0;
    }
    if (value_is_num(a) && value_is_num(b))
        return arith(I, op, a, b, out);
    switch (op) {
    case OP_ADD:
        if (a.type == V_STR) {
            if (b.type != V_STR)
                return interp_error(I, "can only concatenate str (not \"%s\") to str", value_type_name(b));
            size_t n = a.u.s->len + b.u.s->len;
            VStr *s = arena_alloc(ar, sizeof(VStr) + n + 1);
            s->len = n;
            s->hash = 0;
            memcpy(s->s, a.u.s->s, a.u.s->len);
            memcpy(s->s + a.u.s->len, b.u.s->s, b.u.s->len);
            s->s[n] = 0;
            *out = v_vstr(s);
            return 0;
        }
        if (a.type == V_LIST || a.type == V_TUPLE) {
            if (b.type != a.type)
                return interp_error(I, "can only concatenate %s (not \"%s\") to %s", value_type_name(a),
                                    value_type_name(b), value_type_name(a));
            *out = concat_seq(ar, a, b);
            return 0;
        }
        break;
    case OP_MUL: {
        Value seq = a, n = b;
        if (is_intish(a) && (b.type == V_STR || b.type == V_LIST || b.type == V_TUPLE)) {
            seq = b;
            n = a;
        }
        if (seq.type == V_STR || seq.type == V_LIST || seq.type == V_TUPLE) {
            if (!is_intish(n))
                return interp_error(I, "can't multiply sequence by non-int of type '%s'", value_type_name(n));
            int64_t k = as_i(n);
            size_t unit = seq.type == V_STR ? seq.u.s->len : seq.u.l->len;
            if (k > 0 && unit && (uint64_t)k > (uint64_t)(100000000 / unit))
                return interp_error(I, "result of repetition is too large");
            *out = repeat_seq(ar, seq, k);
            return 0;
        }
        break;
    }
    case OP_MOD:
        if (a.type == V_STR)
            return value_percent_format(I, a, b, out);
        break;
    default:
        break;
    }
    if (a.type == V_OBJ || b.type == V_OBJ) {
        int rc = vdt_binop(ar, op, a, b, out);
        if (rc == 0)
            return 0;
        if (rc < 0)
            return interp_error(I, "date value out of range");
    }
    return unsupported(I, op, a, b);
}

int value_unop(Interp *I, UnOp op, Value a, Value *out)
{
    if (op == OP_NOT) {
        *out = v_bool(!value_truthy(a));
        return 0;
    }
    if (a.type == V_UNDEF) {
        if (interp_lenient(I)) {
            *out = a;
            return 0;
        }
        return value_undef_error(I, a);
    }
    switch (a.type) {
    case V_BOOL:
    case V_INT: {
        int64_t x = as_i(a);
        if (op == OP_POS) {
            *out = v_int(x);
            return 0;
        }
        if (x == INT64_MIN)
            return overflow(I);
        *out = v_int(-x);
        return 0;
    }
    case V_FLOAT:
        *out = v_float(op == OP_NEG ? -a.u.f : a.u.f);
        return 0;
    case V_OBJ:
        if (op == OP_NEG && vdt_is_timedelta(a)) {
            const VTimeDelta *t = a.u.o->data;
            *out = vdt_timedelta(interp_arena(I), -t->days, -t->secs, -t->us);
            return 0;
        }
        if (op == OP_POS && vdt_is_timedelta(a)) {
            *out = a;
            return 0;
        }
        break;
    default:
        break;
    }
    return interp_error(I, "bad operand type for unary %s: '%s'", op == OP_NEG ? "-" : "+", value_type_name(a));
}

/* ------------------------------------------------------------ subscripts */

static int slice_index(Interp *I, Value v, bool *given, int64_t *out)
{
    if (v.type == V_NONE || v.type == V_UNDEF) {
        *given = false;
        return 0;
    }
    if (!is_intish(v))
        return interp_error(I, "slice indices must be integers or None or have an __index__ method");
    *given = true;
    *out = as_i(v);
    return 0;
}

/* Python's PySlice_AdjustIndices. */
static int64_t adjust(int64_t i, bool given, int64_t len, int64_t step, bool is_start)
{
    if (!given)
        return step < 0 ? (is_start ? len - 1 : -1) : (is_start ? 0 : len);
    if (i < 0) {
        i += len;
        if (i < 0)
            i = step < 0 ? -1 : 0;
    } else if (i >= len) {
        i = step < 0 ? len - 1 : len;
    }
    return i;
}

int value_slice(Interp *I, Value seq, Value start, Value stop, Value step, Value *out)
{
    Arena *a = interp_arena(I);
    bool g1 = false, g2 = false, g3 = false;
    int64_t i1 = 0, i2 = 0, st = 1;
    if (slice_index(I, start, &g1, &i1) || slice_index(I, stop, &g2, &i2) || slice_index(I, step, &g3, &st))
        return -1;
    if (!g3)
        st = 1;
    if (st == 0)
        return interp_error(I, "slice step cannot be zero");
    if (seq.type == V_STR) {
        const char *s = seq.u.s->s;
        size_t n = seq.u.s->len;
        bool ascii = vu8_is_ascii(s, n);
        int64_t len = ascii ? (int64_t)n : (int64_t)vu8_count(s, n);
        int64_t b = adjust(i1, g1, len, st, true), e = adjust(i2, g2, len, st, false);
        if (ascii && st == 1) {
            *out = e > b ? v_str(a, s + b, (size_t)(e - b)) : v_str(a, "", 0);
            return 0;
        }
        /* offsets of each code point */
        size_t *offs = NULL;
        if (!ascii) {
            offs = arena_alloc(a, sizeof(size_t) * (size_t)(len + 1));
            size_t o = 0;
            for (int64_t k = 0; k <= len; k++) {
                offs[k] = o;
                o = vu8_next(s, n, o);
            }
        }
        Sb sb = SB_INIT;
        for (int64_t k = b; st > 0 ? k < e : k > e; k += st) {
            if (ascii)
                sb_putc(&sb, s[k]);
            else
                sb_append(&sb, s + offs[k], offs[k + 1] - offs[k]);
        }
        *out = v_str_sb(a, &sb);
        sb_free(&sb);
        return 0;
    }
    if (seq.type == V_LIST || seq.type == V_TUPLE) {
        int64_t len = (int64_t)seq.u.l->len;
        int64_t b = adjust(i1, g1, len, st, true), e = adjust(i2, g2, len, st, false);
        size_t cnt = 0;
        if (st > 0 && e > b)
            cnt = (size_t)((e - b - 1) / st + 1);
        else if (st < 0 && b > e)
            cnt = (size_t)((b - e - 1) / (-st) + 1);
        Value r = seq.type == V_TUPLE ? v_tuple(a, cnt) : v_list(a, cnt);
        int64_t k = b;
        for (size_t j = 0; j < cnt; j++, k += st)
            r.u.l->items[j] = seq.u.l->items[k];
        r.u.l->len = cnt;
        *out = r;
        return 0;
    }
    if (seq.type == V_UNDEF) {
        if (interp_lenient(I)) {
            *out = seq;
            return 0;
        }
        return value_undef_error(I, seq);
    }
    if (seq.type == V_OBJ && seq.u.o->cls->iter) {
        VList *l;
        int rc = seq.u.o->cls->iter(I, seq.u.o, &l);
        if (rc)
            return rc;
        Value lv;
        lv.type = V_LIST;
        lv.flags = 0;
        lv.u.l = l;
        return value_slice(I, lv, start, stop, step, out);
    }
    return interp_error(I, "'%s' object is not subscriptable", value_type_name(seq));
}

int value_getitem_builtin(Interp *I, Value obj, Value key, Value *out)
{
    switch (obj.type) {
    case V_LIST:
    case V_TUPLE: {
        if (!is_intish(key))
            return 1;
        int64_t i = as_i(key), n = (int64_t)obj.u.l->len;
        if (i < 0)
            i += n;
        if (i < 0 || i >= n)
            return 1;
        *out = obj.u.l->items[i];
        return 0;
    }
    case V_STR: {
        if (!is_intish(key))
            return 1;
        const char *s = obj.u.s->s;
        size_t n = obj.u.s->len;
        bool ascii = vu8_is_ascii(s, n);
        int64_t len = ascii ? (int64_t)n : (int64_t)vu8_count(s, n);
        int64_t i = as_i(key);
        if (i < 0)
            i += len;
        if (i < 0 || i >= len)
            return 1;
        size_t off = ascii ? (size_t)i : vu8_offset(s, n, (size_t)i);
        size_t end = ascii ? off + 1 : vu8_next(s, n, off);
        *out = v_str(interp_arena(I), s + off, end - off);
        return 0;
    }
    case V_DICT: {
        if (!value_is_hashable(key))
            return 1;
        Value *v = dict_get(obj.u.d, key);
        if (!v)
            return 1;
        *out = *v;
        return 0;
    }
    case V_OBJ:
        if (obj.u.o->cls->getitem)
            return obj.u.o->cls->getitem(I, obj.u.o, key, out);
        return 1;
    default:
        return 1;
    }
}

int value_iterate(Interp *I, Value v, VList **out)
{
    Arena *a = interp_arena(I);
    switch (v.type) {
    case V_LIST:
    case V_TUPLE:
        *out = v.u.l;
        return 0;
    case V_UNDEF:
        *out = v_list(a, 0).u.l;
        return 0;
    case V_STR: {
        const char *s = v.u.s->s;
        size_t n = v.u.s->len;
        Value l = v_list(a, n);
        for (size_t i = 0; i < n;) {
            size_t j = vu8_next(s, n, i);
            l.u.l->items[l.u.l->len++] = v_str(a, s + i, j - i);
            i = j;
        }
        *out = l.u.l;
        return 0;
    }
    case V_DICT: {
        Value l = v_list(a, v.u.d->len);
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            l.u.l->items[l.u.l->len++] = e->key;
        *out = l.u.l;
        return 0;
    }
    case V_OBJ:
        if (v.u.o->cls->iter)
            return v.u.o->cls->iter(I, v.u.o, out);
        break;
    default:
        break;
    }
    return interp_error(I, "'%s' object is not iterable", value_type_name(v));
}

int value_len(Interp *I, Value v, int64_t *out)
{
    switch (v.type) {
    case V_STR:
        *out = (int64_t)vu8_count(v.u.s->s, v.u.s->len);
        return 0;
    case V_LIST:
    case V_TUPLE:
        *out = (int64_t)v.u.l->len;
        return 0;
    case V_DICT:
        *out = (int64_t)v.u.d->len;
        return 0;
    case V_UNDEF:
        *out = 0;
        return 0;
    case V_OBJ:
        if (v.u.o->cls->len && v.u.o->cls->len(v.u.o, out) == 0)
            return 0;
        if (v.u.o->cls->iter) {
            VList *l;
            int rc = v.u.o->cls->iter(I, v.u.o, &l);
            if (rc)
                return rc;
            *out = (int64_t)l->len;
            return 0;
        }
        break;
    default:
        break;
    }
    return interp_error(I, "object of type '%s' has no len()", value_type_name(v));
}
