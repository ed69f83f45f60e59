/* vliteral.c - Python's ast.literal_eval for the subset dbt relies on:
 * numbers (with _, 0x/0o/0b, exponents), strings (quotes, triple quotes,
 * prefixes, escapes, implicit concatenation), True/False/None, lists,
 * tuples, dicts, sets (as lists) and unary +/-.
 *
 * Pure (no engine calls): native rendering and any loader may use it.
 * Returns -1 without recording anything when the text is not a literal. */
#include "vpriv.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ literal_eval */

typedef struct Lit {
    Arena *a;
    const char *s;
    size_t n, i;
} Lit;

static void lit_ws(Lit *p)
{
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            p->i++;
        } else if (c == '\\' && p->i + 1 < p->n && p->s[p->i + 1] == '\n') {
            p->i += 2;
        } else if (c == '#') {
            while (p->i < p->n && p->s[p->i] != '\n')
                p->i++;
        } else {
            break;
        }
    }
}

static int lit_value(Lit *p, Value *out, int depth);

static int lit_string(Lit *p, Sb *sb)
{
    bool raw = false;
    while (p->i < p->n && strchr("rRuUbB", p->s[p->i]) && p->s[p->i]) {
        if (p->s[p->i] == 'r' || p->s[p->i] == 'R')
            raw = true;
        p->i++;
    }
    if (p->i >= p->n)
        return -1;
    char q = p->s[p->i];
    if (q != '\'' && q != '"')
        return -1;
    bool triple = p->i + 2 < p->n && p->s[p->i + 1] == q && p->s[p->i + 2] == q;
    p->i += triple ? 3 : 1;
    for (;;) {
        if (p->i >= p->n)
            return -1;
        char c = p->s[p->i];
        if (c == q) {
            if (!triple) { p->i++; return 0; }
            if (p->i + 2 < p->n && p->s[p->i + 1] == q && p->s[p->i + 2] == q) { p->i += 3; return 0; }
            sb_putc(sb, c);
            p->i++;
            continue;
        }
        if (c == '\n' && !triple)
            return -1;
        if (c != '\\' || raw) {
            if (c == '\\' && raw && p->i + 1 < p->n) {
                sb_putc(sb, c);
                sb_putc(sb, p->s[p->i + 1]);
                p->i += 2;
                continue;
            }
            sb_putc(sb, c);
            p->i++;
            continue;
        }
        if (++p->i >= p->n)
            return -1;
        c = p->s[p->i++];
        switch (c) {
        case '\n': break;
        case '\\': sb_putc(sb, '\\'); break;
        case '\'': sb_putc(sb, '\''); break;
        case '"': sb_putc(sb, '"'); break;
        case 'a': sb_putc(sb, '\a'); break;
        case 'b': sb_putc(sb, '\b'); break;
        case 'f': sb_putc(sb, '\f'); break;
        case 'n': sb_putc(sb, '\n'); break;
        case 'r': sb_putc(sb, '\r'); break;
        case 't': sb_putc(sb, '\t'); break;
        case 'v': sb_putc(sb, '\v'); break;
        case 'x': case 'u': case 'U': {
            int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < nd; k++) {
                if (p->i >= p->n || !isxdigit((unsigned char)p->s[p->i]))
                    return -1;
                char h = p->s[p->i++];
                cp = cp * 16 + (uint32_t)(isdigit((unsigned char)h) ? h - '0' : (tolower((unsigned char)h) - 'a' + 10));
            }
            vu8_encode(sb, cp);
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                uint32_t cp = (uint32_t)(c - '0');
                for (int k = 0; k < 2 && p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '7'; k++)
                    cp = cp * 8 + (uint32_t)(p->s[p->i++] - '0');
                vu8_encode(sb, cp);
            } else {
                sb_putc(sb, '\\');
                sb_putc(sb, c);
            }
        }
    }
}

static int lit_number(Lit *p, Value *out)
{
    size_t st = p->i;
    char buf[128];
    size_t bn = 0;
    const char *s = p->s;
    if (p->i + 1 < p->n && s[p->i] == '0' && strchr("xXoObB", s[p->i + 1]) && s[p->i + 1]) {
        int base = strchr("xX", s[p->i + 1]) ? 16 : strchr("oO", s[p->i + 1]) ? 8 : 2;
        p->i += 2;
        while (p->i < p->n && (isalnum((unsigned char)s[p->i]) || s[p->i] == '_')) {
            if (s[p->i] != '_' && bn < sizeof buf - 1)
                buf[bn++] = s[p->i];
            p->i++;
        }
        buf[bn] = 0;
        if (!bn)
            return -1;
        char *end;
        errno = 0;
        unsigned long long u = strtoull(buf, &end, base);
        if (*end || errno || u > INT64_MAX)
            return -1;
        *out = v_int((int64_t)u);
        return 0;
    }
    bool isf = false;
    while (p->i < p->n) {
        char c = s[p->i];
        if (c == '_') {
            /* only between two digits */
            if (p->i == st || !isdigit((unsigned char)s[p->i - 1]) || p->i + 1 >= p->n ||
                !isdigit((unsigned char)s[p->i + 1]))
                return -1;
        } else if (isdigit((unsigned char)c)) {
        } else if (c == '.') {
            isf = true;
        } else if ((c == 'e' || c == 'E') && p->i > st) {
            isf = true;
            if (p->i + 1 < p->n && (s[p->i + 1] == '+' || s[p->i + 1] == '-')) {
                if (bn < sizeof buf - 1)
                    buf[bn++] = c;
                p->i++;
                c = s[p->i];
            }
        } else {
            break;
        }
        if (c != '_' && bn < sizeof buf - 1)
            buf[bn++] = c;
        p->i++;
    }
    buf[bn] = 0;
    if (!bn || (bn == 1 && buf[0] == '.'))
        return -1;
    if (p->i < p->n && (s[p->i] == 'j' || s[p->i] == 'J' || isalpha((unsigned char)s[p->i])))
        return -1;
    char *end;
    if (!isf) {
        if (bn > 1 && buf[0] == '0') {       /* Python rejects 0123 */
            for (size_t k = 0; k < bn; k++)
                if (buf[k] != '0')
                    return -1;
        }
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (*end)
            return -1;
        if (errno == ERANGE) {
            *out = v_float(strtod(buf, NULL));    /* bignum stand-in */
            return 0;
        }
        *out = v_int(v);
        return 0;
    }
    double d = strtod(buf, &end);
    if (*end)
        return -1;
    *out = v_float(d);
    return 0;
}

static int lit_seq(Lit *p, char close, Value *out, int depth, bool *had_comma)
{
    Value l = v_list(p->a, 0);
    *had_comma = false;
    for (;;) {
        lit_ws(p);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            break;
        }
        Value v;
        if (lit_value(p, &v, depth + 1))
            return -1;
        list_append(p->a, l.u.l, v);
        lit_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            *had_comma = true;
            p->i++;
            continue;
        }
        lit_ws(p);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            break;
        }
        return -1;
    }
    *out = l;
    return 0;
}

static bool lit_word(Lit *p, const char *w)
{
    size_t n = strlen(w);
    if (p->i + n <= p->n && memcmp(p->s + p->i, w, n) == 0 &&
        (p->i + n == p->n || !(isalnum((unsigned char)p->s[p->i + n]) || p->s[p->i + n] == '_'))) {
        p->i += n;
        return true;
    }
    return false;
}

static int lit_value(Lit *p, Value *out, int depth)
{
    if (depth > 100)
        return -1;
    lit_ws(p);
    if (p->i >= p->n)
        return -1;
    char c = p->s[p->i];
    if (c == '-' || c == '+') {
        /* ast.literal_eval allows a sign only directly on a number literal */
        p->i++;
        lit_ws(p);
        if (p->i >= p->n || !(isdigit((unsigned char)p->s[p->i]) || p->s[p->i] == '.'))
            return -1;
        Value v;
        if (lit_number(p, &v))
            return -1;
        if (v.type == V_INT) {
            if (c == '-') v.u.i = -v.u.i;
        } else if (c == '-') {
            v.u.f = -v.u.f;
        }
        *out = v;
        return 0;
    }
    if (isdigit((unsigned char)c) || (c == '.' && p->i + 1 < p->n && isdigit((unsigned char)p->s[p->i + 1])))
        return lit_number(p, out);
    if (c == '[') {
        p->i++;
        bool comma;
        return lit_seq(p, ']', out, depth, &comma);
    }
    if (c == '(') {
        p->i++;
        bool comma;
        Value l;
        if (lit_seq(p, ')', &l, depth, &comma))
            return -1;
        if (l.u.l->len == 1 && !comma) {
            *out = l.u.l->items[0];
            return 0;
        }
        l.type = V_TUPLE;
        *out = l;
        return 0;
    }
    if (c == '{') {
        p->i++;
        lit_ws(p);
        Value d = v_dict(p->a);
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            *out = d;
            return 0;
        }
        Value first;
        if (lit_value(p, &first, depth + 1))
            return -1;
        lit_ws(p);
        if (p->i < p->n && p->s[p->i] != ':') {
            /* a set: return as a list of distinct items */
            Value l = v_list(p->a, 0);
            list_append(p->a, l.u.l, first);
            if (p->s[p->i] == ',') {
                p->i++;
                bool comma;
                Value rest;
                if (lit_seq(p, '}', &rest, depth, &comma))
                    return -1;
                for (size_t k = 0; k < rest.u.l->len; k++) {
                    bool dup = false;
                    for (size_t j = 0; j < l.u.l->len; j++)
                        if (value_eq(l.u.l->items[j], rest.u.l->items[k]))
                            dup = true;
                    if (!dup)
                        list_append(p->a, l.u.l, rest.u.l->items[k]);
                }
            } else if (p->s[p->i] == '}') {
                p->i++;
            } else {
                return -1;
            }
            *out = l;
            return 0;
        }
        Value key = first;
        for (;;) {
            if (p->i >= p->n || p->s[p->i] != ':')
                return -1;
            p->i++;
            Value val;
            if (lit_value(p, &val, depth + 1))
                return -1;
            if (!value_is_hashable(key))
                return -1;
            dict_set(p->a, d.u.d, key, val);
            lit_ws(p);
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                lit_ws(p);
            }
            if (p->i < p->n && p->s[p->i] == '}') {
                p->i++;
                break;
            }
            if (lit_value(p, &key, depth + 1))
                return -1;
            lit_ws(p);
        }
        *out = d;
        return 0;
    }
    if (lit_word(p, "True")) { *out = v_bool(true); return 0; }
    if (lit_word(p, "False")) { *out = v_bool(false); return 0; }
    if (lit_word(p, "None")) { *out = v_none(); return 0; }
    if (c == '\'' || c == '"' || ((strchr("rRuUbB", c) && c) && p->i + 1 < p->n)) {
        Sb sb = SB_INIT;
        int any = 0;
        for (;;) {
            lit_ws(p);
            size_t save = p->i;
            if (p->i >= p->n)
                break;
            char d = p->s[p->i];
            if (!(d == '\'' || d == '"' || strchr("rRuUbB", d)) || !d)
                break;
            if (lit_string(p, &sb)) {
                p->i = save;
                if (!any) {
                    sb_free(&sb);
                    return -1;
                }
                break;
            }
            any = 1;
        }
        *out = v_str_sb(p->a, &sb);
        sb_free(&sb);
        return 0;
    }
    return -1;
}

int value_literal_eval(Arena *a, const char *s, size_t n, Value *out)
{
    Lit p = {a, s, n, 0};
    while (p.i < n && (s[p.i] == ' ' || s[p.i] == '\t'))
        p.i++;
    Value v;
    if (lit_value(&p, &v, 0))
        return -1;
    lit_ws(&p);
    if (p.i < n && s[p.i] == ',') {
        /* bare tuple: 1, 2 */
        Value t = v_list(a, 0);
        list_append(a, t.u.l, v);
        while (p.i < n && s[p.i] == ',') {
            p.i++;
            lit_ws(&p);
            if (p.i >= n)
                break;
            Value x;
            if (lit_value(&p, &x, 1))
                return -1;
            list_append(a, t.u.l, x);
            lit_ws(&p);
        }
        t.type = V_TUPLE;
        v = t;
    }
    if (p.i != n)
        return -1;
    *out = v;
    return 0;
}
