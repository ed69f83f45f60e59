/* filters.c - Jinja2 3.1's builtin filters (and dbt's as_* markers) with
 * Jinja's argument names, defaults, outputs and error texts.  The table is
 * filters.def; tpl_find_filter() looks names up in it.
 *
 * Filters get the subject as args->pos[0].  Filters that need the engine
 * (map('upper'), select('odd'), attribute lookups) go through interp_filter,
 * interp_test and interp_getitem.  Results that Jinja returns as generators
 * (map, select, batch, ...) are lists here: they print differently only if
 * printed raw, which templates do not do. */
#include "vpriv.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILTER(name, fn) static int fn(Interp *I, void *ud, Value self, CallArgs *args, Value *out);
#include "filters.def"
#undef FILTER

#define ARENA interp_arena(I)
#define MAXP 8

/* Bind a filter's arguments (subject included as the first parameter). */
#define BIND(fname, nreq, ...) \
    static const char *const params_[] = {__VA_ARGS__}; \
    enum { NP_ = sizeof params_ / sizeof params_[0] }; \
    Value p[NP_]; \
    if (callargs_bind(I, fname, args, params_, NP_, nreq, p)) return -1

static bool given(Value v) { return v.type != V_UNDEF; }

static int to_int(Interp *I, Value v, const char *what, int64_t *out)
{
    if (v.type == V_INT) { *out = v.u.i; return 0; }
    if (v.type == V_BOOL) { *out = v.u.b; return 0; }
    if (v.type == V_FLOAT) { *out = (int64_t)v.u.f; return 0; }
    return interp_error(I, "'%s' object cannot be interpreted as an integer", value_type_name(v));
    (void)what;
}

static Value strv(Interp *I, Value v) { return value_str_value(ARENA, v); }

static Value lower_if_str(Interp *I, Value v, bool case_sensitive)
{
    if (!case_sensitive && v.type == V_STR)
        return vstr_case(ARENA, v, CASE_LOWER);
    return v;
}

/* Jinja's make_attrgetter: "a.b.0" -> item lookups (item first, then attribute). */
static int attr_get(Interp *I, Value item, Value attr, Value dflt, Value *out)
{
    if (attr.type == V_INT || attr.type == V_BOOL) {
        if (interp_getitem(I, item, attr, out))
            return -1;
    } else {
        Value spec = strv(I, attr);
        const char *s = spec.u.s->s;
        size_t n = spec.u.s->len, i = 0;
        Value cur = item;
        while (i <= n) {
            size_t j = i;
            while (j < n && s[j] != '.')
                j++;
            bool digits = j > i;
            for (size_t k = i; k < j; k++)
                if (!isdigit((unsigned char)s[k]))
                    digits = false;
            Value key = digits ? v_int(strtoll(s + i, NULL, 10)) : v_str(ARENA, s + i, j - i);
            if (interp_getitem(I, cur, key, &cur))
                return -1;
            i = j + 1;
        }
        *out = cur;
    }
    if (out->type == V_UNDEF && given(dflt))
        *out = dflt;
    return 0;
}

/* Jinja 3.1 sort attributes may be "a,b" */
static int attr_key(Interp *I, Value item, Value attr, bool cs, Value *out)
{
    if (!given(attr) || attr.type == V_NONE) {
        *out = lower_if_str(I, item, cs);
        return 0;
    }
    if (attr.type == V_STR && memchr(attr.u.s->s, ',', attr.u.s->len)) {
        Value parts = vstr_split(ARENA, attr, v_strz(ARENA, ","), -1);
        Value t = v_tuple(ARENA, parts.u.l->len);
        for (size_t i = 0; i < parts.u.l->len; i++) {
            Value k;
            if (attr_get(I, item, parts.u.l->items[i], v_undef(), &k))
                return -1;
            t.u.l->items[i] = lower_if_str(I, k, cs);
        }
        *out = t;
        return 0;
    }
    Value k;
    if (attr_get(I, item, attr, v_undef(), &k))
        return -1;
    *out = lower_if_str(I, k, cs);
    return 0;
}

static int iter(Interp *I, Value v, VList **out) { return value_iterate(I, v, out); }

static Value list_of(Interp *I, size_t cap) { return v_list(ARENA, cap); }

/* ------------------------------------------------------------ dbt markers */

static int mark(Interp *I, CallArgs *args, Value *out, uint8_t flag, const char *name)
{
    if (args->npos < 1)
        return interp_error(I, "%s() missing required argument 'value'", name);
    *out = args->pos[0];
    /* dbt's native markers are str subclasses: as_text stringifies anything;
     * the others leave non-strings alone (literal_eval(str(x)) == x for the
     * numbers and booleans they are meant for, and text mode is identity). */
    if (out->type != V_STR && flag == VF_MARK_TEXT)
        *out = value_str_value(ARENA, *out);
    if (out->type == V_STR)
        out->flags = flag;
    return 0;
}
static int f_as_text(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return mark(I, args, out, VF_MARK_TEXT, "as_text"); }
static int f_as_bool(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return mark(I, args, out, VF_MARK_BOOL, "as_bool"); }
static int f_as_number(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return mark(I, args, out, VF_MARK_NUMBER, "as_number"); }
static int f_as_native(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return mark(I, args, out, VF_MARK_NATIVE, "as_native"); }

/* ------------------------------------------------------------ simple string filters */

static int f_lower(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("lower", 1, "s");
    *out = vstr_case(ARENA, strv(I, p[0]), CASE_LOWER);
    return 0;
}

static int f_upper(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("upper", 1, "s");
    *out = vstr_case(ARENA, strv(I, p[0]), CASE_UPPER);
    return 0;
}

static int f_capitalize(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("capitalize", 1, "s");
    *out = vstr_case(ARENA, strv(I, p[0]), CASE_CAPITALIZE);
    return 0;
}

/* Jinja's title: words start after runs of '-', whitespace, '(', '{', '[', '<'. */
static int f_title(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("title", 1, "s");
    Value s = strv(I, p[0]);
    const char *t = s.u.s->s;
    size_t n = s.u.s->len;
    Sb sb = SB_INIT;
    bool start = true;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t l = vu8_decode(t + i, n - i, &c);
        bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || vcp_isspace(c);
        if (sep) {
            sb_append(&sb, t + i, l);
            start = true;
        } else {
            vu8_encode(&sb, start ? vcp_upper(c) : vcp_lower(c));
            start = false;
        }
        i += l;
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

static int f_trim(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("trim", 1, "value", "chars");
    Value s = strv(I, p[0]);
    if (given(p[1]) && p[1].type != V_NONE) {
        if (p[1].type != V_STR)
            return interp_error(I, "strip arg must be None or str");
        *out = vstr_strip(ARENA, s, p[1].u.s->s, p[1].u.s->len, 3);
    } else {
        *out = vstr_strip(ARENA, s, NULL, 0, 3);
    }
    return 0;
}

static int f_center(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("center", 1, "value", "width");
    int64_t w = 80;
    if (given(p[1]) && to_int(I, p[1], "width", &w))
        return -1;
    *out = vstr_pad(ARENA, strv(I, p[0]), w, " ", 1, '^');
    return 0;
}

static int f_replace(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("replace", 3, "s", "old", "new", "count");
    int64_t cnt = -1;
    if (given(p[3]) && p[3].type != V_NONE && to_int(I, p[3], "count", &cnt))
        return -1;
    *out = vstr_replace(ARENA, strv(I, p[0]), strv(I, p[1]), strv(I, p[2]), cnt);
    return 0;
}

static int f_string(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("string", 1, "value");
    *out = strv(I, p[0]);
    return 0;
}

static int f_safe(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("safe", 1, "value");
    *out = p[0].type == V_STR ? p[0] : strv(I, p[0]);
    return 0;
}

static int f_pprint(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("pprint", 1, "value");
    Sb sb = SB_INIT;
    value_repr(&sb, p[0]);
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

void vhtml_escape(Sb *sb, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': sb_puts(sb, "&amp;"); break;
        case '<': sb_puts(sb, "&lt;"); break;
        case '>': sb_puts(sb, "&gt;"); break;
        case '"': sb_puts(sb, "&#34;"); break;
        case '\'': sb_puts(sb, "&#39;"); break;
        default: sb_putc(sb, s[i]);
        }
    }
}

static int f_escape(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("escape", 1, "s");
    Value s = strv(I, p[0]);
    Sb sb = SB_INIT;
    vhtml_escape(&sb, s.u.s->s, s.u.s->len);
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

static int f_striptags(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("striptags", 1, "value");
    Value s = strv(I, p[0]);
    const char *t = s.u.s->s;
    size_t n = s.u.s->len;
    Sb tmp = SB_INIT;
    for (size_t i = 0; i < n;) {
        if (t[i] == '<' && i + 3 < n && memcmp(t + i, "<!--", 4) == 0) {
            long e = vbytes_find(t, n, "-->", 3, i + 4);
            if (e >= 0) { i = (size_t)e + 3; continue; }
        }
        if (t[i] == '<') {
            size_t j = i + 1;
            while (j < n && t[j] != '>')
                j++;
            if (j < n && j > i + 1) { i = j + 1; continue; }
        }
        sb_putc(&tmp, t[i++]);
    }
    Value joined = vstr_split(ARENA, v_str_sb(ARENA, &tmp), v_none(), -1);
    sb_reset(&tmp);
    for (size_t i = 0; i < joined.u.l->len; i++) {
        if (i)
            sb_putc(&tmp, ' ');
        Value w = joined.u.l->items[i];
        /* unescape the common entities */
        const char *q = w.u.s->s;
        size_t m = w.u.s->len;
        for (size_t k = 0; k < m;) {
            static const struct { const char *e; char c; } ents[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#34;", '"'}, {"&#39;", '\''},
            };
            bool done = false;
            if (q[k] == '&')
                for (size_t e = 0; e < sizeof ents / sizeof ents[0]; e++) {
                    size_t el = strlen(ents[e].e);
                    if (k + el <= m && memcmp(q + k, ents[e].e, el) == 0) {
                        sb_putc(&tmp, ents[e].c);
                        k += el;
                        done = true;
                        break;
                    }
                }
            if (!done)
                sb_putc(&tmp, q[k++]);
        }
    }
    *out = v_str_sb(ARENA, &tmp);
    sb_free(&tmp);
    return 0;
}

static int f_wordcount(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("wordcount", 1, "s");
    Value s = strv(I, p[0]);
    const char *t = s.u.s->s;
    size_t n = s.u.s->len;
    int64_t cnt = 0;
    bool in = false;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        i += vu8_decode(t + i, n - i, &c);
        bool w = c < 0x80 ? (isalnum((int)c) || c == '_') : !vcp_isspace(c) && !(c >= 0x2010 && c <= 0x206F) && c != 0xA0;
        if (w && !in)
            cnt++;
        in = w;
    }
    *out = v_int(cnt);
    return 0;
}

static int f_truncate(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("truncate", 1, "s", "length", "killwords", "end", "leeway");
    Value s = strv(I, p[0]);
    int64_t length = 255, leeway = 5;
    if (given(p[1]) && to_int(I, p[1], "length", &length))
        return -1;
    bool killwords = given(p[2]) && value_truthy(p[2]);
    Value end = given(p[3]) ? strv(I, p[3]) : v_strz(ARENA, "...");
    if (given(p[4]) && p[4].type != V_NONE && to_int(I, p[4], "leeway", &leeway))
        return -1;
    int64_t endlen = (int64_t)vu8_count(end.u.s->s, end.u.s->len);
    if (length < endlen)
        return interp_error(I, "expected length >= %lld, got %lld", (long long)endlen, (long long)length);
    if (leeway < 0)
        return interp_error(I, "expected leeway >= 0, got %lld", (long long)leeway);
    int64_t len = (int64_t)vu8_count(s.u.s->s, s.u.s->len);
    if (len <= length + leeway) {
        *out = s;
        return 0;
    }
    size_t cut = vu8_offset(s.u.s->s, s.u.s->len, (size_t)(length - endlen));
    Sb sb = SB_INIT;
    if (killwords) {
        sb_append(&sb, s.u.s->s, cut);
    } else {
        long sp = vbytes_rfind(s.u.s->s, cut, " ", 1);
        sb_append(&sb, s.u.s->s, sp >= 0 ? (size_t)sp : cut);
    }
    sb_append(&sb, end.u.s->s, end.u.s->len);
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

static int f_indent(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("indent", 1, "s", "width", "first", "blank");
    Value s = p[0];
    if (s.type != V_STR)
        return interp_error(I, "unsupported operand type(s) for +=: '%s' and 'str'", value_type_name(s));
    Sb ind = SB_INIT;
    if (given(p[1]) && p[1].type == V_STR) {
        sb_append(&ind, p[1].u.s->s, p[1].u.s->len);
    } else {
        int64_t w = 4;
        if (given(p[1]) && to_int(I, p[1], "width", &w)) {
            sb_free(&ind);
            return -1;
        }
        for (int64_t i = 0; i < w; i++)
            sb_putc(&ind, ' ');
    }
    bool first = given(p[2]) && value_truthy(p[2]);
    bool blank = given(p[3]) && value_truthy(p[3]);
    Sb src = SB_INIT;
    sb_append(&src, s.u.s->s, s.u.s->len);
    sb_putc(&src, '\n');
    Value tmp = v_str_sb(ARENA, &src);
    sb_free(&src);
    CallArgs none = {0, NULL, 0, NULL, NULL};
    Value lines;
    Value bound;
    if (value_getattr_builtin(I, tmp, "splitlines", 10, &bound) != 0 || interp_call(I, bound, &none, &lines)) {
        sb_free(&ind);
        return -1;
    }
    VList *l = lines.u.l;
    Sb sb = SB_INIT;
    if (first)
        sb_append(&sb, ind.buf ? ind.buf : "", ind.len);
    for (size_t i = 0; i < l->len; i++) {
        Value ln = l->items[i];
        if (i) {
            sb_putc(&sb, '\n');
            if (blank || ln.u.s->len)
                sb_append(&sb, ind.buf ? ind.buf : "", ind.len);
        }
        sb_append(&sb, ln.u.s->s, ln.u.s->len);
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    sb_free(&ind);
    return 0;
}

static int f_wordwrap(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("wordwrap", 1, "s", "width", "break_long_words", "wrapstring", "break_on_hyphens");
    Value s = strv(I, p[0]);
    int64_t width = 79;
    if (given(p[1]) && to_int(I, p[1], "width", &width))
        return -1;
    if (width <= 0)
        return interp_error(I, "invalid width %lld (must be > 0)", (long long)width);
    bool breaklong = !given(p[2]) || value_truthy(p[2]);
    Value wrap = given(p[3]) && p[3].type != V_NONE ? strv(I, p[3]) : v_strz(ARENA, "\n");
    const char *t = s.u.s->s;
    size_t n = s.u.s->len;
    Sb sb = SB_INIT;
    size_t ls = 0;
    bool first_line = true;
    while (ls <= n) {
        size_t le = ls;
        while (le < n && t[le] != '\n')
            le++;
        if (!(le == n && ls == n && !first_line) || n == 0) {
            /* wrap one source line */
            if (!first_line)
                sb_append(&sb, wrap.u.s->s, wrap.u.s->len);
            first_line = false;
            Value words = vstr_split(ARENA, v_str(ARENA, t + ls, le - ls), v_none(), -1);
            int64_t cur = 0;
            bool line_started = false;
            for (size_t i = 0; i < words.u.l->len; i++) {
                Value w = words.u.l->items[i];
                int64_t wl = (int64_t)vu8_count(w.u.s->s, w.u.s->len);
                const char *wp = w.u.s->s;
                size_t wn = w.u.s->len;
                if (line_started && cur + 1 + wl <= width) {
                    sb_putc(&sb, ' ');
                    sb_append(&sb, wp, wn);
                    cur += 1 + wl;
                    continue;
                }
                if (line_started)
                    sb_append(&sb, wrap.u.s->s, wrap.u.s->len);
                while (breaklong && wl > width) {
                    size_t cut = vu8_offset(wp, wn, (size_t)width);
                    sb_append(&sb, wp, cut);
                    sb_append(&sb, wrap.u.s->s, wrap.u.s->len);
                    wp += cut;
                    wn -= cut;
                    wl -= width;
                }
                sb_append(&sb, wp, wn);
                cur = wl;
                line_started = true;
            }
        }
        if (le >= n)
            break;
        ls = le + 1;
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

/* ------------------------------------------------------------ numbers */

static bool parse_int_str(const char *s, size_t n, int base, int64_t *out)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i])) i++;
    while (n > i && isspace((unsigned char)s[n - 1])) n--;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i + 1 < n && s[i] == '0') {
        char c = (char)tolower((unsigned char)s[i + 1]);
        int pb = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 0;
        if (pb && (base == pb || base == 0)) {
            base = pb;
            i += 2;
            if (i < n && s[i] == '_') i++;
        }
    }
    if (base == 0)
        base = 10;
    if (i >= n)
        return false;
    uint64_t v = 0;
    bool prev_us = true;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '_') {
            if (prev_us) return false;
            prev_us = true;
            continue;
        }
        int d = isdigit((unsigned char)c) ? c - '0' : isalpha((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10 : 99;
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
        prev_us = false;
    }
    if (prev_us || v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Python float(str). */
bool vparse_float(const char *s, size_t n, double *out)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i])) i++;
    while (n > i && isspace((unsigned char)s[n - 1])) n--;
    if (i >= n || n - i > 300)
        return false;
    char buf[320];
    size_t bn = 0;
    size_t j = i;
    if (s[j] == '+' || s[j] == '-') buf[bn++] = s[j++];
    size_t rest = n - j;
    const char *w = s + j;
    if ((rest == 3 && strncasecmp(w, "inf", 3) == 0) || (rest == 8 && strncasecmp(w, "infinity", 8) == 0)) {
        *out = buf[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (rest == 3 && strncasecmp(w, "nan", 3) == 0) {
        *out = NAN;
        return true;
    }
    bool digits = false, dot = false, exp = false;
    char prev = 0;
    for (; j < n; j++) {
        char c = s[j];
        if (isdigit((unsigned char)c)) {
            digits = true;
        } else if (c == '_') {
            if (!isdigit((unsigned char)prev) || j + 1 >= n || !isdigit((unsigned char)s[j + 1]))
                return false;
            prev = c;
            continue;
        } else if (c == '.' && !dot && !exp) {
            dot = true;
        } else if ((c == 'e' || c == 'E') && digits && !exp) {
            exp = true;
            buf[bn++] = c;
            prev = c;
            if (j + 1 < n && (s[j + 1] == '+' || s[j + 1] == '-'))
                buf[bn++] = s[++j];
            if (j + 1 >= n || !isdigit((unsigned char)s[j + 1]))
                return false;
            continue;
        } else {
            return false;
        }
        buf[bn++] = c;
        prev = c;
    }
    if (!digits)
        return false;
    buf[bn] = 0;
    *out = strtod(buf, NULL);
    return true;
}

static int f_int(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("int", 1, "value", "default", "base");
    Value v = p[0];
    Value dflt = given(p[1]) ? p[1] : v_int(0);
    int64_t base = 10;
    if (given(p[2]) && to_int(I, p[2], "base", &base))
        return -1;
    int64_t r;
    double d;
    switch (v.type) {
    case V_INT: *out = v; return 0;
    case V_BOOL: *out = v_int(v.u.b); return 0;
    case V_FLOAT:
        d = v.u.f;
        goto from_float;
    case V_STR:
        if (parse_int_str(v.u.s->s, v.u.s->len, (int)base, &r)) {
            *out = v_int(r);
            return 0;
        }
        if (!vparse_float(v.u.s->s, v.u.s->len, &d)) {
            *out = dflt;
            return 0;
        }
    from_float:
        /* Jinja: int(x), then int(float(x)); a ValueError (NaN) gives the
         * default, an OverflowError (infinity) propagates.  Integers are
         * 64-bit here: beyond 2**63 is an error, not a wrapped value. */
        if (isnan(d)) {
            *out = dflt;
            return 0;
        }
        if (isinf(d))
            return interp_error(I, "cannot convert float infinity to integer");
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return interp_error(I, "integer overflow");
        *out = v_int((int64_t)d);
        return 0;
    case V_UNDEF:
        /* Undefined's __int__ raises (lenient at parse time) */
        if (interp_lenient(I)) {
            *out = v;
            return 0;
        }
        return value_undef_error(I, v);
    default:
        *out = dflt;
        return 0;
    }
}

static int f_float(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("float", 1, "value", "default");
    Value v = p[0];
    Value dflt = given(p[1]) ? p[1] : v_float(0.0);
    double d;
    switch (v.type) {
    case V_INT: *out = v_float((double)v.u.i); return 0;
    case V_BOOL: *out = v_float(v.u.b); return 0;
    case V_FLOAT: *out = v; return 0;
    case V_STR:
        *out = vparse_float(v.u.s->s, v.u.s->len, &d) ? v_float(d) : dflt;
        return 0;
    case V_UNDEF:
        if (interp_lenient(I)) {
            *out = v;
            return 0;
        }
        return value_undef_error(I, v);
    default:
        *out = dflt;
        return 0;
    }
}

static int f_abs(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("abs", 1, "x");
    Value v = p[0];
    switch (v.type) {
    case V_BOOL: *out = v_int(v.u.b); return 0;
    case V_INT:
        if (v.u.i == INT64_MIN)
            return interp_error(I, "integer overflow");
        *out = v_int(v.u.i < 0 ? -v.u.i : v.u.i);
        return 0;
    case V_FLOAT: *out = v_float(fabs(v.u.f)); return 0;
    default:
        if (v.type == V_OBJ && vdt_is_timedelta(v)) {
            const VTimeDelta *t = v.u.o->data;
            *out = t->days < 0 ? vdt_timedelta(ARENA, -t->days, -t->secs, -t->us) : v;
            return 0;
        }
        return interp_error(I, "bad operand type for abs(): '%s'", value_type_name(v));
    }
}

/* Python round(x, n) for floats: correctly rounded, ties to even on the exact value. */
static double py_round(double x, int64_t nd)
{
    if (isnan(x) || isinf(x) || x == 0)
        return x;
    if (nd > 300)
        return x;
    if (nd >= 0) {
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", (int)nd, x);
        return strtod(buf, NULL);
    }
    if (nd < -308)
        return copysign(0.0, x);
    double pw = pow(10.0, (double)-nd);
    double y = x / pw;
    double r = nearbyint(y);
    if (fabs(y - trunc(y)) == 0.5)
        r = 2.0 * nearbyint(y / 2.0);
    return copysign(r * pw, x);
}

static int f_round(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("round", 1, "value", "precision", "method");
    int64_t prec = 0;
    if (given(p[1]) && to_int(I, p[1], "precision", &prec))
        return -1;
    const char *method = given(p[2]) ? value_cstr(p[2]) : "common";
    if (!method || (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor")))
        return interp_error(I, "method must be common, ceil or floor");
    Value v = p[0];
    if (!value_is_num(v))
        return interp_error(I, "type %s doesn't define __round__ method", value_type_name(v));
    if (strcmp(method, "common") == 0) {
        if (v.type == V_FLOAT) {
            *out = v_float(py_round(v.u.f, prec));
            return 0;
        }
        int64_t x = v.type == V_BOOL ? v.u.b : v.u.i;
        if (prec >= 0) {
            *out = v_int(x);
            return 0;
        }
        *out = v_int((int64_t)py_round((double)x, prec));
        return 0;
    }
    double pw = pow(10.0, (double)prec);
    double x = value_as_double(v) * pw;
    x = strcmp(method, "ceil") == 0 ? ceil(x) : floor(x);
    if (x == 0)
        x = 0.0;                 /* math.ceil/floor give an int: no -0.0 */
    *out = v_float(x / pw);
    return 0;
}

static int f_filesizeformat(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("filesizeformat", 1, "value", "binary");
    bool binary = given(p[1]) && value_truthy(p[1]);
    double bytes;
    if (value_is_num(p[0]))
        bytes = value_as_double(p[0]);
    else if (!(p[0].type == V_STR && vparse_float(p[0].u.s->s, p[0].u.s->len, &bytes)))
        return interp_error(I, "could not convert string to float");
    double base = binary ? 1024 : 1000;
    static const char *const bin[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    static const char *const dec[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    Sb sb = SB_INIT;
    if (bytes == 1) {
        sb_puts(&sb, "1 Byte");
    } else if (bytes < base) {
        sb_printf(&sb, "%lld Bytes", (long long)bytes);
    } else {
        double unit = base;
        int i;
        for (i = 0; i < 8; i++) {
            unit = pow(base, i + 2);
            if (bytes < unit)
                break;
        }
        if (i == 8)
            i = 7;
        sb_printf(&sb, "%.1f %s", base * bytes / unit, binary ? bin[i] : dec[i]);
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

/* ------------------------------------------------------------ containers */

static int f_length(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("length", 1, "obj");
    int64_t n = 0;
    if (value_len(I, p[0], &n))
        return -1;
    *out = v_int(n);
    return 0;
}

static int f_list(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("list", 1, "value");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    Value r = list_of(I, l->len);
    if (l->len)
        memcpy(r.u.l->items, l->items, l->len * sizeof(Value));
    r.u.l->len = l->len;
    *out = r;
    return 0;
}

static int f_first(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("first", 1, "seq");
    if (p[0].type == V_STR) {
        size_t e = vu8_next(p[0].u.s->s, p[0].u.s->len, 0);
        *out = p[0].u.s->len ? v_str(ARENA, p[0].u.s->s, e) : v_undef();
        return 0;
    }
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    *out = l->len ? l->items[0] : v_undef();
    return 0;
}

static int f_last(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("last", 1, "seq");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    *out = l->len ? l->items[l->len - 1] : v_undef();
    return 0;
}

static int f_reverse(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("reverse", 1, "value");
    if (p[0].type == V_STR) {
        const char *s = p[0].u.s->s;
        size_t n = p[0].u.s->len;
        Sb sb = SB_INIT;
        size_t e = n;
        while (e > 0) {
            size_t st = e - 1;
            while (st > 0 && ((unsigned char)s[st] & 0xC0) == 0x80)
                st--;
            sb_append(&sb, s + st, e - st);
            e = st;
        }
        *out = v_str_sb(ARENA, &sb);
        sb_free(&sb);
        return 0;
    }
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    Value r = list_of(I, l->len);
    for (size_t i = 0; i < l->len; i++)
        r.u.l->items[i] = l->items[l->len - 1 - i];
    r.u.l->len = l->len;
    *out = r;
    return 0;
}

static int f_items(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("items", 1, "value");
    Value v = p[0];
    if (v.type == V_UNDEF) {
        *out = list_of(I, 0);
        return 0;
    }
    if (v.type != V_DICT)
        return interp_error(I, "Can only get item pairs from a mapping.");
    Value r = list_of(I, v.u.d->len);
    VDictEntry *e;
    for (size_t it = 0; dict_next(v.u.d, &it, &e);) {
        Value t = v_tuple(ARENA, 2);
        t.u.l->items[0] = e->key;
        t.u.l->items[1] = e->val;
        r.u.l->items[r.u.l->len++] = t;
    }
    *out = r;
    return 0;
}

static int f_attr(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("attr", 2, "obj", "name");
    Value name = strv(I, p[1]);
    int rc = p[0].type == V_DICT ? 1 : value_getattr_builtin(I, p[0], name.u.s->s, name.u.s->len, out);
    if (rc < 0)
        return -1;
    if (rc == 1)
        *out = v_undef_named(ARENA, name.u.s->s, name.u.s->len);
    return 0;
}

static int f_default(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("default", 1, "value", "default_value", "boolean");
    bool boolean = given(p[2]) && value_truthy(p[2]);
    /* an undefined passed explicitly as the default is still the default */
    bool has_default = args->npos >= 2 || callargs_kw(args, "default_value");
    if (p[0].type == V_UNDEF || (boolean && !value_truthy(p[0])))
        *out = has_default ? p[1] : v_str(ARENA, "", 0);
    else
        *out = p[0];
    return 0;
}

static int f_join(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("join", 1, "value", "d", "attribute");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    Value sep = given(p[1]) ? strv(I, p[1]) : v_str(ARENA, "", 0);
    Sb sb = SB_INIT;
    for (size_t i = 0; i < l->len; i++) {
        Value it = l->items[i];
        if (given(p[2]) && p[2].type != V_NONE && attr_get(I, it, p[2], v_undef(), &it)) {
            sb_free(&sb);
            return -1;
        }
        if (i)
            sb_append(&sb, sep.u.s->s, sep.u.s->len);
        value_str(&sb, it);
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

static int f_format(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (args->npos < 1)
        return interp_error(I, "format() missing required argument 'value'");
    if (args->npos > 1 && args->nkw)
        return interp_error(I, "can't handle positional and keyword arguments at the same time");
    Value fmt = strv(I, args->pos[0]);
    if (args->nkw) {
        Value d = v_dict(ARENA);
        for (int k = 0; k < args->nkw; k++)
            dict_set(ARENA, d.u.d, v_vstr(args->kwnames[k]), args->kwvals[k]);
        return value_percent_format(I, fmt, d, out);
    }
    Value t = v_tuple(ARENA, (size_t)(args->npos - 1));
    for (int i = 1; i < args->npos; i++)
        t.u.l->items[i - 1] = args->pos[i];
    return value_percent_format(I, fmt, t, out);
}

static int f_batch(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("batch", 2, "value", "linecount", "fill_with");
    int64_t n = 0;
    if (to_int(I, p[1], "linecount", &n))
        return -1;
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    Value r = list_of(I, 0);
    if (n <= 0) {
        /* Jinja yields an empty batch first, then the rest */
        list_append(ARENA, r.u.l, list_of(I, 0));
        Value all = list_of(I, l->len);
        for (size_t i = 0; i < l->len; i++)
            list_append(ARENA, all.u.l, l->items[i]);
        if (l->len)
            list_append(ARENA, r.u.l, all);
        *out = r;
        return 0;
    }
    Value cur = v_undef();
    for (size_t i = 0; i < l->len; i++) {
        if (cur.type == V_UNDEF || (int64_t)cur.u.l->len == n) {
            cur = list_of(I, (size_t)n);
            list_append(ARENA, r.u.l, cur);
        }
        list_append(ARENA, cur.u.l, l->items[i]);
    }
    if (cur.type != V_UNDEF && given(p[2]) && p[2].type != V_NONE)
        while ((int64_t)cur.u.l->len < n)
            list_append(ARENA, cur.u.l, p[2]);
    *out = r;
    return 0;
}

static int f_slice(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("slice", 2, "value", "slices", "fill_with");
    int64_t slices = 0;
    if (to_int(I, p[1], "slices", &slices))
        return -1;
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    if (slices <= 0)
        return interp_error(I, "integer division or modulo by zero");
    int64_t len = (int64_t)l->len, per = len / slices, extra = len % slices, offset = 0;
    Value r = list_of(I, (size_t)slices);
    for (int64_t k = 0; k < slices; k++) {
        int64_t st = offset + k * per;
        if (k < extra)
            offset++;
        int64_t en = offset + (k + 1) * per;
        Value t = list_of(I, (size_t)(en - st + 1));
        for (int64_t i = st; i < en; i++)
            list_append(ARENA, t.u.l, l->items[i]);
        if (given(p[2]) && p[2].type != V_NONE && k >= extra)
            list_append(ARENA, t.u.l, p[2]);
        list_append(ARENA, r.u.l, t);
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ sorting & aggregation */

static int keyed_sort(Interp *I, VList *l, Value attr, bool cs, bool reverse, Value *out)
{
    size_t n = l->len;
    Value *pairs = arena_alloc(ARENA, (n ? n : 1) * sizeof(Value));
    for (size_t i = 0; i < n; i++) {
        Value k;
        if (attr_key(I, l->items[i], attr, cs, &k))
            return -1;
        if (given(attr) && attr.type != V_NONE) {
            /* Jinja's multi-attrgetter returns a list: equal (even undefined)
             * keys then compare without '<' */
            Value w = v_tuple(ARENA, 1);
            w.u.l->items[0] = k;
            k = w;
        }
        Value t = v_tuple(ARENA, 2);
        t.u.l->items[0] = k;
        t.u.l->items[1] = l->items[i];
        pairs[reverse ? n - 1 - i : i] = t;
    }
    bool sens = true;
    if (vsort(I, pairs, n, vsort_cmp_key0, &sens))
        return -1;
    Value r = list_of(I, n);
    for (size_t i = 0; i < n; i++)
        r.u.l->items[i] = pairs[reverse ? n - 1 - i : i].u.l->items[1];
    r.u.l->len = n;
    *out = r;
    return 0;
}

static int f_sort(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("sort", 1, "value", "reverse", "case_sensitive", "attribute");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    return keyed_sort(I, l, p[3], given(p[2]) && value_truthy(p[2]), given(p[1]) && value_truthy(p[1]), out);
}

static int f_dictsort(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("dictsort", 1, "value", "case_sensitive", "by", "reverse");
    bool cs = given(p[1]) && value_truthy(p[1]);
    int pos = 0;
    if (given(p[2])) {
        const char *by = value_cstr(p[2]);
        if (by && strcmp(by, "key") == 0) pos = 0;
        else if (by && strcmp(by, "value") == 0) pos = 1;
        else return interp_error(I, "You can only sort by either \"key\" or \"value\"");
    }
    Value items;
    CallArgs ia = {1, p, 0, NULL, NULL};
    if (p[0].type != V_DICT)
        return interp_error(I, "'%s' object has no attribute 'items'", value_type_name(p[0]));
    if (f_items(I, NULL, self, &ia, &items))
        return -1;
    return keyed_sort(I, items.u.l, v_int(pos), cs, given(p[3]) && value_truthy(p[3]), out);
}

static int f_unique(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("unique", 1, "value", "case_sensitive", "attribute");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    bool cs = given(p[1]) && value_truthy(p[1]);
    Value seen = v_dict(ARENA);
    Value r = list_of(I, 0);
    for (size_t i = 0; i < l->len; i++) {
        Value k;
        if (attr_key(I, l->items[i], p[2], cs, &k))
            return -1;
        if (!value_is_hashable(k))
            return interp_error(I, "unhashable type: '%s'", value_type_name(k));
        if (dict_get(seen.u.d, k))
            continue;
        dict_set(ARENA, seen.u.d, k, v_none());
        list_append(ARENA, r.u.l, l->items[i]);
    }
    *out = r;
    return 0;
}

static int minmax(Interp *I, CallArgs *args, Value *out, bool max, const char *name)
{
    BIND(name, 1, "value", "case_sensitive", "attribute");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    bool cs = given(p[1]) && value_truthy(p[1]);
    if (l->len == 0) {
        *out = v_undef();
        return 0;
    }
    Value best = l->items[0], bk;
    if (attr_key(I, best, p[2], cs, &bk))
        return -1;
    for (size_t i = 1; i < l->len; i++) {
        Value k;
        if (attr_key(I, l->items[i], p[2], cs, &k))
            return -1;
        int c;
        if (value_cmp(k, bk, &c))
            return interp_error(I, "'%s' not supported between instances of '%s' and '%s'", max ? ">" : "<",
                                value_type_name(k), value_type_name(bk));
        if (max ? c > 0 : c < 0) {
            best = l->items[i];
            bk = k;
        }
    }
    *out = best;
    return 0;
}
static int f_min(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return minmax(I, args, out, false, "min"); }
static int f_max(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return minmax(I, args, out, true, "max"); }

static int f_sum(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("sum", 1, "iterable", "attribute", "start");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    Value acc = given(p[2]) ? p[2] : v_int(0);
    for (size_t i = 0; i < l->len; i++) {
        Value it = l->items[i];
        if (given(p[1]) && p[1].type != V_NONE && attr_get(I, it, p[1], v_undef(), &it))
            return -1;
        if (value_binop(I, OP_ADD, acc, it, &acc))
            return -1;
    }
    *out = acc;
    return 0;
}

/* groupby results: tuples that also answer .grouper / .list */
static int gt_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    VList *t = o->data;
    if (n == 7 && memcmp(name, "grouper", 7) == 0) { *out = t->items[0]; return 0; }
    if (n == 4 && memcmp(name, "list", 4) == 0) { *out = t->items[1]; return 0; }
    Value tv;
    tv.type = V_TUPLE; tv.flags = 0; tv.u.l = t;
    return value_getattr_builtin(I, tv, name, n, out);
}
static int gt_getitem(Interp *I, VObj *o, Value key, Value *out)
{
    Value tv;
    tv.type = V_TUPLE; tv.flags = 0; tv.u.l = o->data;
    return value_getitem_builtin(I, tv, key, out);
}
static void gt_repr(VObj *o, Sb *out)
{
    Value tv;
    tv.type = V_TUPLE; tv.flags = 0; tv.u.l = o->data;
    value_repr(out, tv);
}
static int gt_iter(Interp *I, VObj *o, VList **out) { *out = o->data; return 0; }
static int gt_len(VObj *o, int64_t *out) { *out = 2; return 0; }
static bool gt_eq(VObj *a, VObj *b)
{
    Value x, y;
    x.type = y.type = V_TUPLE; x.flags = y.flags = 0; x.u.l = a->data; y.u.l = b->data;
    return value_eq(x, y);
}
static int gt_cmp(VObj *a, VObj *b, int *out)
{
    Value x, y;
    x.type = y.type = V_TUPLE; x.flags = y.flags = 0; x.u.l = a->data; y.u.l = b->data;
    return value_cmp(x, y, out);
}
static void gt_json(VObj *o, JsonW *w)
{
    Value tv;
    tv.type = V_TUPLE; tv.flags = 0; tv.u.l = o->data;
    value_to_json(w, tv);
}
static const ObjClass group_tuple_class = {
    .name = "_GroupTuple", .getattr = gt_getattr, .getitem = gt_getitem, .repr = gt_repr,
    .iter = gt_iter, .len = gt_len, .eq = gt_eq, .cmp = gt_cmp, .to_json = gt_json,
};

static int f_groupby(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("groupby", 2, "value", "attribute", "default", "case_sensitive");
    VList *l;
    if (iter(I, p[0], &l))
        return -1;
    bool cs = given(p[3]) && value_truthy(p[3]);
    size_t n = l->len;
    /* (key, item) pairs sorted stably by key */
    Value *pairs = arena_alloc(ARENA, (n ? n : 1) * sizeof(Value));
    for (size_t i = 0; i < n; i++) {
        Value k;
        if (attr_get(I, l->items[i], p[1], given(p[2]) ? p[2] : v_undef(), &k))
            return -1;
        Value t = v_tuple(ARENA, 2);
        t.u.l->items[0] = lower_if_str(I, k, cs);
        t.u.l->items[1] = l->items[i];
        pairs[i] = t;
    }
    bool sens = true;
    if (vsort(I, pairs, n, vsort_cmp_key0, &sens))
        return -1;
    Value r = list_of(I, 0);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        Value grp = list_of(I, 0);
        while (j < n && value_eq(pairs[j].u.l->items[0], pairs[i].u.l->items[0]))
            list_append(ARENA, grp.u.l, pairs[j++].u.l->items[1]);
        Value grouper = pairs[i].u.l->items[0];
        if (!cs && attr_get(I, grp.u.l->items[0], p[1], given(p[2]) ? p[2] : v_undef(), &grouper))
            return -1;
        Value t = v_tuple(ARENA, 2);
        t.u.l->items[0] = grouper;
        t.u.l->items[1] = grp;
        list_append(ARENA, r.u.l, v_obj(ARENA, &group_tuple_class, t.u.l));
        i = j;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ map / select */

static int f_map(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (args->npos < 1)
        return interp_error(I, "map() missing required argument 'value'");
    if (!value_truthy(args->pos[0])) {
        *out = list_of(I, 0);    /* Jinja: `if value:` before anything else */
        return 0;
    }
    VList *l;
    if (iter(I, args->pos[0], &l))
        return -1;
    Value r = list_of(I, l->len);
    if (args->npos == 1) {
        Value *attr = callargs_kw(args, "attribute");
        if (!attr)
            return interp_error(I, "map requires a filter argument");
        Value *dflt = callargs_kw(args, "default");
        for (int k = 0; k < args->nkw; k++) {
            const char *kn = args->kwnames[k]->s;
            if (strcmp(kn, "attribute") && strcmp(kn, "default"))
                return interp_error(I, "Unexpected keyword argument '%s'", kn);
        }
        for (size_t i = 0; i < l->len; i++) {
            Value v;
            if (attr_get(I, l->items[i], *attr, dflt ? *dflt : v_undef(), &v))
                return -1;
            r.u.l->items[r.u.l->len++] = v;
        }
        *out = r;
        return 0;
    }
    Value name = strv(I, args->pos[1]);
    CallArgs rest = {args->npos - 2, args->pos + 2, args->nkw, args->kwnames, args->kwvals};
    for (size_t i = 0; i < l->len; i++) {
        Value v;
        if (interp_filter(I, name.u.s->s, l->items[i], &rest, &v))
            return -1;
        r.u.l->items[r.u.l->len++] = v;
    }
    *out = r;
    return 0;
}

static int select_common(Interp *I, CallArgs *args, Value *out, bool want, bool by_attr, const char *name)
{
    int need = by_attr ? 2 : 1;
    if (args->npos < need)
        return interp_error(I, "%s() missing required argument '%s'", name, by_attr && args->npos == 1 ? "attr" : "value");
    if (!value_truthy(args->pos[0])) {
        *out = list_of(I, 0);    /* Jinja: `if value:` before anything else */
        return 0;
    }
    VList *l;
    if (iter(I, args->pos[0], &l))
        return -1;
    const char *test = NULL;
    if (args->npos > need)
        test = strv(I, args->pos[need]).u.s->s;
    int skip = need + (test ? 1 : 0);
    CallArgs rest = {args->npos - skip, args->pos + skip, args->nkw, args->kwnames, args->kwvals};
    Value r = list_of(I, 0);
    for (size_t i = 0; i < l->len; i++) {
        Value v = l->items[i];
        if (by_attr && attr_get(I, v, args->pos[1], v_undef(), &v))
            return -1;
        bool ok;
        if (test) {
            if (interp_test(I, test, v, &rest, &ok))
                return -1;
        } else {
            ok = value_truthy(v);
        }
        if (ok == want)
            list_append(ARENA, r.u.l, l->items[i]);
    }
    *out = r;
    return 0;
}
static int f_select(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return select_common(I, args, out, true, false, "select"); }
static int f_reject(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return select_common(I, args, out, false, false, "reject"); }
static int f_selectattr(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return select_common(I, args, out, true, true, "selectattr"); }
static int f_rejectattr(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return select_common(I, args, out, false, true, "rejectattr"); }

/* ------------------------------------------------------------ tojson / urlencode */

static void json_str_html(Sb *sb, const char *s, size_t n)
{
    sb_putc(sb, '"');
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t l = vu8_decode(s + i, n - i, &c);
        i += l;
        switch (c) {
        case '"': sb_puts(sb, "\\\""); continue;
        case '\\': sb_puts(sb, "\\\\"); continue;
        case '\n': sb_puts(sb, "\\n"); continue;
        case '\r': sb_puts(sb, "\\r"); continue;
        case '\t': sb_puts(sb, "\\t"); continue;
        case '\b': sb_puts(sb, "\\b"); continue;
        case '\f': sb_puts(sb, "\\f"); continue;
        case '<': sb_puts(sb, "\\u003c"); continue;
        case '>': sb_puts(sb, "\\u003e"); continue;
        case '&': sb_puts(sb, "\\u0026"); continue;
        case '\'': sb_puts(sb, "\\u0027"); continue;
        default: break;
        }
        if (c < 0x20 || c >= 0x7F) {
            if (c >= 0x10000) {
                uint32_t v = c - 0x10000;
                sb_printf(sb, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            } else {
                sb_printf(sb, "\\u%04x", c);
            }
        } else {
            sb_putc(sb, (char)c);
        }
    }
    sb_putc(sb, '"');
}

static void json_nl(Sb *sb, int64_t indent, int level)
{
    sb_putc(sb, '\n');
    for (int64_t i = 0; i < indent * level; i++)
        sb_putc(sb, ' ');
}

static void json_float(Sb *sb, double f)
{
    if (isnan(f)) sb_puts(sb, "NaN");
    else if (isinf(f)) sb_puts(sb, f > 0 ? "Infinity" : "-Infinity");
    else value_float_repr(sb, f);
}

static int pyjson(Interp *I, Sb *sb, Value v, int64_t indent, int level)
{
    if (level > 200)
        return interp_error(I, "maximum recursion depth exceeded while encoding a JSON object");
    switch (v.type) {
    case V_NONE: sb_puts(sb, "null"); return 0;
    case V_BOOL: sb_puts(sb, v.u.b ? "true" : "false"); return 0;
    case V_INT: sb_printf(sb, "%lld", (long long)v.u.i); return 0;
    case V_FLOAT: json_float(sb, v.u.f); return 0;
    case V_STR: json_str_html(sb, v.u.s->s, v.u.s->len); return 0;
    case V_LIST:
    case V_TUPLE: {
        VList *l = v.u.l;
        if (!l->len) { sb_puts(sb, "[]"); return 0; }
        sb_putc(sb, '[');
        for (size_t i = 0; i < l->len; i++) {
            if (i) sb_puts(sb, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_nl(sb, indent, level + 1);
            if (pyjson(I, sb, l->items[i], indent, level + 1)) return -1;
        }
        if (indent >= 0) json_nl(sb, indent, level);
        sb_putc(sb, ']');
        return 0;
    }
    case V_DICT: {
        VDict *d = v.u.d;
        if (!d->len) { sb_puts(sb, "{}"); return 0; }
        Value *ents = arena_alloc(ARENA, d->len * sizeof(Value));
        size_t n = 0;
        VDictEntry *e;
        for (size_t it = 0; dict_next(d, &it, &e);) {
            Value t = v_tuple(ARENA, 2);
            t.u.l->items[0] = e->key;
            t.u.l->items[1] = e->val;
            ents[n++] = t;
        }
        if (vsort(I, ents, n, vsort_cmp_key0, NULL))
            return -1;
        sb_putc(sb, '{');
        for (size_t i = 0; i < n; i++) {
            Value k = ents[i].u.l->items[0];
            if (i) sb_puts(sb, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_nl(sb, indent, level + 1);
            switch (k.type) {
            case V_STR: json_str_html(sb, k.u.s->s, k.u.s->len); break;
            case V_INT: sb_printf(sb, "\"%lld\"", (long long)k.u.i); break;
            case V_BOOL: sb_puts(sb, k.u.b ? "\"true\"" : "\"false\""); break;
            case V_NONE: sb_puts(sb, "\"null\""); break;
            case V_FLOAT: sb_putc(sb, '"'); json_float(sb, k.u.f); sb_putc(sb, '"'); break;
            default:
                return interp_error(I, "keys must be str, int, float, bool or None, not %s", value_type_name(k));
            }
            sb_puts(sb, ": ");
            if (pyjson(I, sb, ents[i].u.l->items[1], indent, level + 1)) return -1;
        }
        if (indent >= 0) json_nl(sb, indent, level);
        sb_putc(sb, '}');
        return 0;
    }
    default:
        return interp_error(I, "Object of type %s is not JSON serializable", value_type_name(v));
    }
}

static int f_tojson(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("tojson", 1, "value", "indent");
    int64_t indent = -1;
    if (given(p[1]) && p[1].type != V_NONE && to_int(I, p[1], "indent", &indent))
        return -1;
    Sb sb = SB_INIT;
    int rc = pyjson(I, &sb, p[0], indent, 0);
    if (rc == 0)
        *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return rc;
}

static void url_quote(Sb *sb, Value v, bool for_qs)
{
    Sb tmp = SB_INIT;
    value_str(&tmp, v);
    const char *s = sb_cstr(&tmp);
    for (size_t i = 0; i < tmp.len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' || (c == '/' && !for_qs))
            sb_putc(sb, (char)c);
        else if (c == ' ' && for_qs)
            sb_putc(sb, '+');
        else
            sb_printf(sb, "%%%02X", c);
    }
    sb_free(&tmp);
}

/* Can Jinja iterate v (str aside)?  What value_iterate takes. */
static bool iterable(Value v)
{
    return v.type == V_LIST || v.type == V_TUPLE || v.type == V_DICT || v.type == V_STR || v.type == V_UNDEF ||
           (v.type == V_OBJ && v.u.o->cls->iter);
}

static int f_urlencode(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    BIND("urlencode", 1, "value");
    Sb sb = SB_INIT;
    /* Jinja quotes a string or anything not iterable as its str() */
    if (p[0].type == V_STR || !iterable(p[0])) {
        url_quote(&sb, p[0], false);
    } else {
        VList *l;
        Value src = p[0];
        if (src.type == V_DICT) {
            CallArgs ia = {1, p, 0, NULL, NULL};
            if (f_items(I, NULL, self, &ia, &src)) {
                sb_free(&sb);
                return -1;
            }
        }
        if (iter(I, src, &l)) {
            sb_free(&sb);
            return -1;
        }
        for (size_t i = 0; i < l->len; i++) {
            Value it = l->items[i];
            VList *pair = NULL;
            int rc = 0;
            if (!iterable(it))
                rc = interp_error(I, "cannot unpack non-iterable %s object", value_type_name(it));
            else if (iter(I, it, &pair))
                rc = -1;
            else if (pair->len > 2)
                rc = interp_error(I, "too many values to unpack (expected 2)");
            else if (pair->len < 2)
                rc = interp_error(I, "not enough values to unpack (expected 2, got %zu)", pair->len);
            if (rc) {
                sb_free(&sb);
                return rc;
            }
            if (i)
                sb_putc(&sb, '&');
            url_quote(&sb, pair->items[0], true);
            sb_putc(&sb, '=');
            url_quote(&sb, pair->items[1], true);
        }
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

/* ------------------------------------------------------------ lookup */

typedef struct FilterEntry {
    const char *name;
    NativeFn fn;
} FilterEntry;

static const FilterEntry filter_table[] = {
#define FILTER(name, fn) {#name, fn},
#include "filters.def"
#undef FILTER
};

NativeFn tpl_find_filter(const char *name, size_t n)
{
    size_t lo = 0, hi = sizeof filter_table / sizeof filter_table[0];
    while (lo < hi) {     /* the table is sorted by name */
        size_t mid = (lo + hi) / 2;
        int c = strncmp(filter_table[mid].name, name, n);
        if (c == 0 && filter_table[mid].name[n] != 0)
            c = 1;
        if (c == 0)
            return filter_table[mid].fn;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
