/* pyfmt.c - Python's string formatting: printf-style `fmt % args` and
 * str.format() with the format-spec mini-language, with Python's errors.
 *
 * Declared with these in value.h but living in pure files (no engine calls,
 * so loaders can use them): value_float_repr in value.c, value_literal_eval
 * in vliteral.c. */
#include "vpriv.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ format specs */

typedef struct Spec {
    uint32_t fill;
    char align;          /* 0, '<', '>', '^', '=' */
    char sign;           /* 0, '+', '-', ' ' */
    bool alt;
    int width;           /* -1 none */
    char group;          /* 0, ',', '_' */
    int prec;            /* -1 none */
    char type;           /* 0 or the type char */
} Spec;

static int parse_spec(Interp *I, const char *s, size_t n, Spec *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->fill = ' ';
    sp->width = sp->prec = -1;
    size_t i = 0;
    uint32_t cp = 0;
    size_t l = n ? vu8_decode(s, n, &cp) : 0;
    if (n > l && strchr("<>=^", s[l])) {
        sp->fill = cp;
        sp->align = s[l];
        i = l + 1;
    } else if (n && strchr("<>=^", s[0])) {
        sp->align = s[0];
        i = 1;
    }
    if (i < n && (s[i] == '+' || s[i] == '-' || s[i] == ' '))
        sp->sign = s[i++];
    if (i < n && s[i] == 'z')
        i++;
    if (i < n && s[i] == '#') {
        sp->alt = true;
        i++;
    }
    if (i < n && s[i] == '0') {
        if (!sp->align) {
            sp->fill = '0';
            sp->align = '=';
        }
        i++;
    }
    if (i < n && isdigit((unsigned char)s[i])) {
        sp->width = 0;
        while (i < n && isdigit((unsigned char)s[i]))
            sp->width = sp->width * 10 + (s[i++] - '0');
    }
    if (i < n && (s[i] == ',' || s[i] == '_'))
        sp->group = s[i++];
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !isdigit((unsigned char)s[i]))
            return interp_error(I, "Format specifier missing precision");
        sp->prec = 0;
        while (i < n && isdigit((unsigned char)s[i]))
            sp->prec = sp->prec * 10 + (s[i++] - '0');
    }
    if (i < n)
        sp->type = s[i++];
    if (i < n)
        return interp_error(I, "Invalid format specifier");
    return 0;
}

/* Pad body (already signed/prefixed: sign+prefix in head, digits in body). */
static void pad_out(Sb *out, const Spec *sp, const char *head, const char *body, size_t blen, char defalign)
{
    size_t hlen = strlen(head);
    size_t w = vu8_count(head, hlen) + vu8_count(body, blen);
    char align = sp->align ? sp->align : defalign;
    size_t padn = sp->width > 0 && (size_t)sp->width > w ? (size_t)sp->width - w : 0;
    size_t left = 0, right = 0;
    switch (align) {
    case '<': right = padn; break;
    case '^': left = padn / 2; right = padn - left; break;
    default: left = padn; break;
    }
    if (align == '=') {
        sb_puts(out, head);
        for (size_t k = 0; k < left; k++)
            vu8_encode(out, sp->fill);
        sb_append(out, body, blen);
        return;
    }
    for (size_t k = 0; k < left; k++)
        vu8_encode(out, sp->fill);
    sb_puts(out, head);
    sb_append(out, body, blen);
    for (size_t k = 0; k < right; k++)
        vu8_encode(out, sp->fill);
}

static void group_digits(Sb *out, const char *s, char g)
{
    /* s: digits[.frac|e..]; insert g every 3 integer digits */
    size_t nint = 0;
    while (isdigit((unsigned char)s[nint]))
        nint++;
    for (size_t i = 0; i < nint; i++) {
        if (i && (nint - i) % 3 == 0)
            sb_putc(out, g);
        sb_putc(out, s[i]);
    }
    sb_puts(out, s + nint);
}

static void fmt_float_body(Sb *body, double f, const Spec *sp, char type)
{
    char buf[512];
    int prec = sp->prec;
    if (isinf(f) || isnan(f)) {
        const char *t = isnan(f) ? "nan" : "inf";
        if (type == 'E' || type == 'F' || type == 'G')
            t = isnan(f) ? "NAN" : "INF";
        sb_puts(body, t);
        if (type == '%')
            sb_putc(body, '%');
        return;
    }
    switch (type) {
    case 0:
        if (prec < 0) {
            value_float_repr(body, f);
            return;
        }
        snprintf(buf, sizeof buf, sp->alt ? "%#.*g" : "%.*g", prec ? prec : 1, f);
        sb_puts(body, buf);
        if (!strpbrk(buf, ".e") && !strstr(buf, "inf"))
            sb_puts(body, ".0");
        return;
    case '%':
        snprintf(buf, sizeof buf, sp->alt ? "%#.*f" : "%.*f", prec < 0 ? 6 : prec, f * 100);
        sb_puts(body, buf);
        sb_putc(body, '%');
        return;
    case 'n':
        type = 'g';
        /* fall through */
    default: {
        char cfmt[8] = "%.*", *p = cfmt + 3;
        if (sp->alt) {
            memmove(cfmt + 2, cfmt + 1, 3);
            cfmt[1] = '#';
            p++;
        }
        *p++ = type;
        *p = 0;
        snprintf(buf, sizeof buf, cfmt, prec < 0 ? 6 : prec, f);
        sb_puts(body, buf);
        return;
    }
    }
}

/* format(v, spec) */
static int format_value(Interp *I, Sb *out, Value v, const char *spec, size_t n)
{
    if (n == 0) {
        value_str(out, v);
        return 0;
    }
    if (vdt_is_datetime(v)) {       /* date.__format__ is strftime */
        char *f = arena_strndup(interp_arena(I), spec, n);
        vdt_strftime(v.u.o->data, f, out);
        return 0;
    }
    Spec sp;
    if (parse_spec(I, spec, n, &sp))
        return -1;
    if (v.type == V_STR || ((v.type == V_UNDEF) && !sp.type)) {
        if (sp.type && sp.type != 's')
            return interp_error(I, "Unknown format code '%c' for object of type 'str'", sp.type);
        if (sp.sign)
            return interp_error(I, "Sign not allowed in string format specifier");
        if (sp.align == '=')
            return interp_error(I, "'=' alignment not allowed in string format specifier");
        const char *s = v.type == V_STR ? v.u.s->s : "";
        size_t len = v.type == V_STR ? v.u.s->len : 0;
        if (sp.prec >= 0)
            len = vu8_offset(s, len, (size_t)sp.prec);
        pad_out(out, &sp, "", s, len, '<');
        return 0;
    }
    if (v.type == V_INT || v.type == V_BOOL || v.type == V_FLOAT) {
        char type = sp.type;
        bool is_int = v.type != V_FLOAT;
        if (is_int && type && strchr("eEfFgG%", type))
            is_int = false;
        if (v.type == V_FLOAT && type && strchr("bcdoxX", type))
            return interp_error(I, "Unknown format code '%c' for object of type 'float'", type);
        if (v.type == V_BOOL && !type && sp.prec < 0) {
            /* bool with a spec formats as int */
        }
        char head[8] = "";
        size_t hl = 0;
        Sb body = SB_INIT;
        double f = value_as_double(v);
        bool neg;
        if (is_int) {
            if (sp.prec >= 0)
                return interp_error(I, "Precision not allowed in integer format specifier");
            int64_t x = v.type == V_BOOL ? v.u.b : v.u.i;
            neg = x < 0;
            uint64_t u = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
            char buf[80];
            switch (type) {
            case 'b': {
                int k = 0;
                char tmp[70];
                do { tmp[k++] = (char)('0' + (u & 1)); u >>= 1; } while (u);
                for (int j = 0; j < k; j++) buf[j] = tmp[k - 1 - j];
                buf[k] = 0;
                break;
            }
            case 'o': snprintf(buf, sizeof buf, "%llo", (unsigned long long)u); break;
            case 'x': snprintf(buf, sizeof buf, "%llx", (unsigned long long)u); break;
            case 'X': snprintf(buf, sizeof buf, "%llX", (unsigned long long)u); break;
            case 'c': {
                sb_free(&body);
                Sb c = SB_INIT;
                vu8_encode(&c, (uint32_t)u);
                pad_out(out, &sp, "", sb_cstr(&c), c.len, '<');
                sb_free(&c);
                return 0;
            }
            case 0: case 'd': case 'n': snprintf(buf, sizeof buf, "%llu", (unsigned long long)u); break;
            default:
                return interp_error(I, "Unknown format code '%c' for object of type '%s'", type, value_type_name(v));
            }
            if (neg) head[hl++] = '-';
            else if (sp.sign == '+' || sp.sign == ' ') head[hl++] = sp.sign;
            if (sp.alt && (type == 'b' || type == 'o' || type == 'x' || type == 'X')) {
                head[hl++] = '0';
                head[hl++] = type == 'X' ? 'X' : type;
            }
            head[hl] = 0;
            if (sp.group)
                group_digits(&body, buf, sp.group);
            else
                sb_puts(&body, buf);
        } else {
            if (type && !strchr("eEfFgGn%", type)) {
                return interp_error(I, "Unknown format code '%c' for object of type '%s'", type, value_type_name(v));
            }
            neg = signbit(f) && !isnan(f);
            Sb tmp = SB_INIT;
            fmt_float_body(&tmp, fabs(f), &sp, type);
            if (neg) head[hl++] = '-';
            else if (sp.sign == '+' || sp.sign == ' ') head[hl++] = sp.sign;
            head[hl] = 0;
            if (sp.group)
                group_digits(&body, sb_cstr(&tmp), sp.group);
            else
                sb_append(&body, sb_cstr(&tmp), tmp.len);
            sb_free(&tmp);
        }
        pad_out(out, &sp, head, sb_cstr(&body), body.len, '>');
        sb_free(&body);
        return 0;
    }
    return interp_error(I, "unsupported format string passed to %s.__format__", value_type_name(v));
}

/* ------------------------------------------------------------ str.format */

static int field_lookup(Interp *I, const char *f, size_t n, CallArgs *args, int *autoidx, Value *out)
{
    size_t i = 0;
    while (i < n && f[i] != '.' && f[i] != '[')
        i++;
    Value v;
    if (i == 0) {
        if (*autoidx < 0)
            return interp_error(I, "cannot switch from manual field specification to automatic field numbering");
        int k = (*autoidx)++;
        if (k >= args->npos)
            return interp_error(I, "Replacement index %d out of range for positional args tuple", k);
        v = args->pos[k];
    } else if (isdigit((unsigned char)f[0])) {
        if (*autoidx > 0)
            return interp_error(I, "cannot switch from automatic field numbering to manual field specification");
        *autoidx = -1;
        int k = atoi(f);
        if (k >= args->npos)
            return interp_error(I, "Replacement index %d out of range for positional args tuple", k);
        v = args->pos[k];
    } else {
        bool found = false;
        for (int k = 0; k < args->nkw; k++)
            if (args->kwnames[k]->len == i && memcmp(args->kwnames[k]->s, f, i) == 0) {
                v = args->kwvals[k];
                found = true;
                break;
            }
        if (!found)
            return interp_error(I, "'%.*s'", (int)i, f);
    }
    Arena *a = interp_arena(I);
    for (int depth = 0; i < n; depth++) {
        if (depth > 50)
            return interp_error(I, "format field too deep");
        if (f[i] == '.') {
            size_t s = ++i;
            while (i < n && f[i] != '.' && f[i] != '[')
                i++;
            if (i == s)
                return interp_error(I, "Empty attribute in format string");
            if (interp_getattr(I, v, f + s, i - s, &v))
                return -1;
        } else if (f[i] == '[') {
            size_t s = ++i;
            while (i < n && f[i] != ']')
                i++;
            if (i >= n)
                return interp_error(I, "Missing ']' in format string");
            bool digits = i > s;
            for (size_t k = s; k < i; k++)
                if (!isdigit((unsigned char)f[k]))
                    digits = false;
            Value key = digits ? v_int(strtoll(f + s, NULL, 10)) : v_str(a, f + s, i - s);
            i++;
            if (interp_getitem(I, v, key, &v))
                return -1;
        } else {
            return interp_error(I, "Only '.' or '[' may follow ']' in format field specifier");
        }
    }
    *out = v;
    return 0;
}

static int str_format_depth(Interp *I, const char *s, size_t n, CallArgs *args, int *autoidx, Sb *out, int depth)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '}') {
            if (i + 1 < n && s[i + 1] == '}') {
                sb_putc(out, '}');
                i++;
                continue;
            }
            return interp_error(I, "Single '}' encountered in format string");
        }
        if (c != '{') {
            sb_putc(out, c);
            continue;
        }
        if (i + 1 < n && s[i + 1] == '{') {
            sb_putc(out, '{');
            i++;
            continue;
        }
        /* find the matching close brace, allowing nested {} in the spec */
        size_t j = i + 1;
        int lvl = 1;
        while (j < n) {
            if (s[j] == '{') lvl++;
            else if (s[j] == '}' && --lvl == 0) break;
            j++;
        }
        if (j >= n)
            return interp_error(I, lvl > 1 ? "expected '}' before end of string" : "Single '{' encountered in format string");
        const char *f = s + i + 1;
        size_t fn = j - i - 1;
        size_t nameend = 0;
        while (nameend < fn && f[nameend] != '!' && f[nameend] != ':') {
            if (f[nameend] == '[')
                while (nameend < fn && f[nameend] != ']')
                    nameend++;
            nameend++;
        }
        if (nameend > fn)
            nameend = fn;
        char conv = 0;
        size_t k = nameend;
        if (k < fn && f[k] == '!') {
            if (k + 1 >= fn)
                return interp_error(I, "end of string while looking for conversion specifier");
            conv = f[k + 1];
            k += 2;
            if (k < fn && f[k] != ':')
                return interp_error(I, "expected ':' after conversion specifier");
        }
        const char *spec = "";
        size_t specn = 0;
        if (k < fn && f[k] == ':') {
            spec = f + k + 1;
            specn = fn - k - 1;
        }
        Value v;
        if (field_lookup(I, f, nameend, args, autoidx, &v))
            return -1;
        if (conv) {
            Sb tmp = SB_INIT;
            if (conv == 'r' || conv == 'a')
                value_repr(&tmp, v);
            else if (conv == 's')
                value_str(&tmp, v);
            else {
                sb_free(&tmp);
                return interp_error(I, "Unknown conversion specifier %c", conv);
            }
            v = v_str_sb(interp_arena(I), &tmp);
            sb_free(&tmp);
        }
        int rc;
        if (memchr(spec, '{', specn)) {
            if (depth >= 2)
                return interp_error(I, "Max string recursion exceeded");
            Sb sp = SB_INIT;
            rc = str_format_depth(I, spec, specn, args, autoidx, &sp, depth + 1);
            if (rc == 0)
                rc = format_value(I, out, v, sb_cstr(&sp), sp.len);
            sb_free(&sp);
        } else {
            rc = format_value(I, out, v, spec, specn);
        }
        if (rc)
            return rc;
        i = j;
    }
    return 0;
}

int value_str_format(Interp *I, VStr *fmt, CallArgs *args, Value *out)
{
    Sb sb = SB_INIT;
    int autoidx = 0;
    int rc = str_format_depth(I, fmt->s, fmt->len, args, &autoidx, &sb, 0);
    if (rc == 0)
        *out = v_str_sb(interp_arena(I), &sb);
    sb_free(&sb);
    return rc;
}

/* ------------------------------------------------------------ printf-style */

static int pct_number(Interp *I, Value v, char conv, bool *isf, int64_t *iv, double *fv)
{
    switch (v.type) {
    case V_BOOL: *isf = false; *iv = v.u.b; return 0;
    case V_INT: *isf = false; *iv = v.u.i; return 0;
    case V_FLOAT: *isf = true; *fv = v.u.f; return 0;
    default:
        if (strchr("diu", conv))
            return interp_error(I, "%%%c format: a real number is required, not %s", conv, value_type_name(v));
        if (strchr("oxX", conv))
            return interp_error(I, "%%%c format: an integer is required, not %s", conv, value_type_name(v));
        return interp_error(I, "must be real number, not %s", value_type_name(v));
    }
}

int value_percent_format(Interp *I, Value fmtv, Value args, Value *out)
{
    const char *s = fmtv.u.s->s;
    size_t n = fmtv.u.s->len;
    Value *items;
    size_t nitems;
    bool single = false;
    VDict *dict = NULL;
    Value one = args;
    if (args.type == V_TUPLE) {
        items = args.u.l->items;
        nitems = args.u.l->len;
    } else {
        items = &one;
        nitems = 1;
        single = true;
        if (args.type == V_DICT)
            dict = args.u.d;
    }
    size_t argi = 0;
    Sb sb = SB_INIT;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            sb_putc(&sb, s[i]);
            continue;
        }
        size_t start = i;
        if (++i >= n) { rc = interp_error(I, "incomplete format"); goto done; }
        Value v;
        bool have = false;
        if (s[i] == '(') {
            if (!dict && !(args.type == V_OBJ)) { rc = interp_error(I, "format requires a mapping"); goto done; }
            size_t ks = ++i;
            int lvl = 1;
            while (i < n && lvl) {
                if (s[i] == '(') lvl++;
                else if (s[i] == ')') lvl--;
                if (lvl) i++;
            }
            if (i >= n) { rc = interp_error(I, "incomplete format key"); goto done; }
            Value *pv = dict ? dict_getn(dict, s + ks, i - ks) : NULL;
            if (!pv) { rc = interp_error(I, "'%.*s'", (int)(i - ks), s + ks); goto done; }
            v = *pv;
            have = true;
            i++;
        }
        char flags[8] = "";
        size_t nf = 0;
        while (i < n && strchr("-+ #0", s[i]) && s[i]) {
            if (nf < 6 && !strchr(flags, s[i]))
                flags[nf++] = s[i];
            i++;
        }
        flags[nf] = 0;
        int width = -1, prec = -1;
        if (i < n && s[i] == '*') {
            if (argi >= nitems) { rc = interp_error(I, "not enough arguments for format string"); goto done; }
            Value w = items[argi++];
            if (w.type != V_INT) { rc = interp_error(I, "* wants int"); goto done; }
            width = (int)w.u.i;
            i++;
        } else {
            while (i < n && isdigit((unsigned char)s[i]))
                width = (width < 0 ? 0 : width * 10) + (s[i++] - '0');
        }
        if (i < n && s[i] == '.') {
            i++;
            prec = 0;
            if (i < n && s[i] == '*') {
                if (argi >= nitems) { rc = interp_error(I, "not enough arguments for format string"); goto done; }
                Value w = items[argi++];
                if (w.type != V_INT) { rc = interp_error(I, "* wants int"); goto done; }
                prec = (int)w.u.i;
                i++;
            } else {
                while (i < n && isdigit((unsigned char)s[i]))
                    prec = prec * 10 + (s[i++] - '0');
            }
        }
        while (i < n && strchr("hlL", s[i]) && s[i])
            i++;
        if (i >= n) { rc = interp_error(I, "incomplete format"); goto done; }
        char conv = s[i];
        if (conv == '%') {
            sb_putc(&sb, '%');
            continue;
        }
        if (!strchr("sradiuoxXeEfFgGc", conv)) {
            rc = interp_error(I, "unsupported format character '%c' (0x%x) at index %zu", conv,
                              (unsigned)(unsigned char)conv, i);
            goto done;
        }
        (void)start;
        if (!have) {
            if (argi >= nitems) { rc = interp_error(I, "not enough arguments for format string"); goto done; }
            v = items[argi++];
        }
        Spec sp;
        memset(&sp, 0, sizeof sp);
        sp.fill = ' ';
        sp.width = width;
        sp.prec = -1;
        sp.align = strchr(flags, '-') ? '<' : '>';
        Sb body = SB_INIT;
        char head[8] = "";
        size_t hl = 0;
        if (conv == 's' || conv == 'r' || conv == 'a') {
            if (conv == 's') value_str(&body, v);
            else value_repr(&body, v);
            size_t len = body.len;
            if (prec >= 0)
                len = vu8_offset(sb_cstr(&body), body.len, (size_t)prec);
            pad_out(&sb, &sp, "", sb_cstr(&body), len, '>');
            sb_free(&body);
            continue;
        }
        if (conv == 'c') {
            if (v.type == V_INT) vu8_encode(&body, (uint32_t)v.u.i);
            else if (v.type == V_STR && vu8_count(v.u.s->s, v.u.s->len) == 1) sb_append(&body, v.u.s->s, v.u.s->len);
            else { rc = interp_error(I, "%%c requires int or char"); goto done; }
            pad_out(&sb, &sp, "", sb_cstr(&body), body.len, '>');
            sb_free(&body);
            continue;
        }
        bool isf = false;
        int64_t iv = 0;
        double fv = 0;
        if (pct_number(I, v, conv, &isf, &iv, &fv)) { rc = -1; goto done; }
        if (isf && strchr("oxX", conv)) {
            rc = interp_error(I, "%%%c format: an integer is required, not float", conv);
            goto done;
        }
        bool neg;
        char buf[512];
        if (strchr("diuoxX", conv)) {
            bool big = false;        /* a float past 2**63: its exact integer value, as Python prints it */
            if (isf) {
                if (isnan(fv) || isinf(fv)) { rc = interp_error(I, "cannot convert float %s to integer", isnan(fv) ? "NaN" : "infinity"); goto done; }
                big = !(fv >= -9223372036854775808.0 && fv < 9223372036854775808.0);
                iv = big ? 0 : (int64_t)fv;
            }
            neg = big ? fv < 0 : iv < 0;
            uint64_t u = neg ? (uint64_t)0 - (uint64_t)iv : (uint64_t)iv;
            const char *cf = conv == 'o' ? "%llo" : conv == 'x' ? "%llx" : conv == 'X' ? "%llX" : "%llu";
            if (big)
                snprintf(buf, sizeof buf, "%.0f", fabs(trunc(fv)));
            else
                snprintf(buf, sizeof buf, cf, (unsigned long long)u);
            size_t bl = strlen(buf);
            if (prec > 0 && bl < (size_t)prec && (size_t)prec < sizeof buf) {
                memmove(buf + (size_t)prec - bl, buf, bl + 1);
                memset(buf, '0', (size_t)prec - bl);
            }
            if (neg) head[hl++] = '-';
            else if (strchr(flags, '+')) head[hl++] = '+';
            else if (strchr(flags, ' ')) head[hl++] = ' ';
            if (strchr(flags, '#') && conv != 'd' && conv != 'i' && conv != 'u') {
                head[hl++] = '0';
                head[hl++] = conv;
            }
        } else {
            if (!isf) fv = (double)iv;
            neg = signbit(fv) && !isnan(fv);
            char cf[8];
            snprintf(cf, sizeof cf, "%%%s.*%c", strchr(flags, '#') ? "#" : "", conv);
            snprintf(buf, sizeof buf, cf, prec < 0 ? 6 : prec, fabs(fv));
            if (neg) head[hl++] = '-';
            else if (strchr(flags, '+')) head[hl++] = '+';
            else if (strchr(flags, ' ')) head[hl++] = ' ';
        }
        head[hl] = 0;
        if (strchr(flags, '0') && !strchr(flags, '-')) {
            sp.fill = '0';
            sp.align = '=';
        }
        pad_out(&sb, &sp, head, buf, strlen(buf), '>');
    }
    if (argi < nitems && !single) {
        rc = interp_error(I, "not all arguments converted during string formatting");
        goto done;
    }
    if (single && argi == 0 && !dict && nitems == 1) {
        rc = interp_error(I, "not all arguments converted during string formatting");
        goto done;
    }
    *out = v_str_sb(interp_arena(I), &sb);
done:
    sb_free(&sb);
    return rc;
}

