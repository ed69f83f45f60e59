/* parse.c - the scalar parsers of the cleanse rules: integer (range of the
 * column type), numeric(p,s) with rounding half away from zero, float
 * (shortest round-trip text), date/timestamp through strftime-like formats
 * with calendar validation (Feb 30 fails), and small UTF-8 helpers.  Each
 * parser writes PostgreSQL's own text form of the value, so a later cast to
 * text (surrogate keys) gives the same string.  No allocation but the Sb. */
#include "cpriv.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void strip(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

int cl_parse_integer(const char *s, size_t n, CleanseType t, Sb *out, int64_t *v, const char **why)
{
    strip(&s, &n);
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n) {
        *why = "not an integer";
        return -1;
    }
    uint64_t acc = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            *why = "not an integer";
            return -1;
        }
        if (acc > (UINT64_MAX - 9) / 10) {
            *why = "integer out of range";
            return -1;
        }
        acc = acc * 10 + (uint64_t)(s[i] - '0');
    }
    uint64_t lim = t == CT_SMALLINT ? 32767u : t == CT_INT ? 2147483647u : (uint64_t)INT64_MAX;
    if (acc > lim + (neg ? 1u : 0u)) {
        *why = t == CT_SMALLINT ? "out of range for smallint" : t == CT_INT ? "out of range for integer" : "out of range for bigint";
        return -1;
    }
    int64_t r = neg ? (acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    *v = r;
    char buf[24];
    int k = 24;
    uint64_t u = acc;
    do {
        buf[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg && acc)
        buf[--k] = '-';
    sb_append(out, buf + k, (size_t)(24 - k));
    return 0;
}

int cl_parse_numeric(const char *s, size_t n, int prec, int scale, Sb *out, double *v, const char **why)
{
    strip(&s, &n);
    *why = "not a number";
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    char dig[1100];
    int nd = 0, point = -1;           /* point: digits before the decimal point */
    bool any = false;
    for (; i < n; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9') {
            any = true;
            if (nd == 0 && ch == '0' && point < 0)
                continue;             /* leading zero of the integer part */
            if (nd >= 1000) {
                *why = "numeric has too many digits";
                return -1;
            }
            dig[nd++] = ch;
        } else if (ch == '.' && point < 0) {
            point = nd;
        } else {
            break;
        }
    }
    if (!any)
        return -1;
    if (point < 0)
        point = nd;
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == n)
            return -1;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            exp = exp * 10 + (s[i] - '0');
            if (exp > 1000) {
                *why = "numeric exponent out of range";
                return -1;
            }
        }
        if (eneg)
            exp = -exp;
    }
    if (i != n)
        return -1;
    int nfrac_in = nd - point;        /* fraction digits as written (before exponent) */
    point += (int)exp;                /* may be negative or beyond nd */
    int sc = prec > 0 ? scale : (nfrac_in - (int)exp > 0 ? nfrac_in - (int)exp : 0);
    /* digit at position k (0 = first significant digit of dig[]), relative to the point */
    /* integer part: positions [0, point); fraction: [point, point+sc) */
    char res[2200];
    int rn = 0;
    int ilen = point > 0 ? point : 0;
    if (ilen > 1000) {
        *why = "numeric field overflow";
        return -1;
    }
    for (int k = 0; k < ilen; k++)
        res[rn++] = k < nd ? dig[k] : '0';
    int fstart = rn;
    for (int k = 0; k < sc && rn < 2100; k++) {
        int pos = point + k;
        res[rn++] = pos >= 0 && pos < nd ? dig[pos] : '0';
    }
    int nextpos = point + sc;
    if (nextpos >= 0 && nextpos < nd && dig[nextpos] >= '5') {   /* half away from zero */
        int k = rn - 1;
        while (k >= 0 && res[k] == '9')
            res[k--] = '0';
        if (k >= 0) {
            res[k]++;
        } else {
            memmove(res + 1, res, (size_t)rn);
            res[0] = '1';
            rn++;
            fstart++;
            ilen++;
        }
    }
    /* strip leading zeros of the integer part */
    int lead = 0;
    while (lead < fstart && res[lead] == '0')
        lead++;
    int intdigits = fstart - lead;
    if (prec > 0 && intdigits > prec - scale) {
        *why = "numeric field overflow";
        return -1;
    }
    bool allzero = true;
    for (int k = lead; k < rn; k++)
        allzero &= res[k] == '0';
    if (neg && !allzero)
        sb_putc(out, '-');
    size_t mark = out->len;
    if (intdigits == 0)
        sb_putc(out, '0');
    else
        sb_append(out, res + lead, (size_t)intdigits);
    if (sc > 0) {
        sb_putc(out, '.');
        sb_append(out, res + fstart, (size_t)(rn - fstart));
    }
    if (v)
        *v = strtod(out->buf + mark, NULL) * (neg && !allzero ? -1 : 1);
    return 0;
}

int cl_parse_float(const char *s, size_t n, Sb *out, double *v, const char **why)
{
    strip(&s, &n);
    *why = "not a number";
    char buf[80];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *p = buf[0] == '+' || buf[0] == '-' ? buf + 1 : buf;
    double d;
    if (strcasecmp(p, "nan") == 0) {
        *v = NAN;
        sb_puts(out, "NaN");
        return 0;
    }
    if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0) {
        *v = buf[0] == '-' ? -INFINITY : INFINITY;
        sb_puts(out, buf[0] == '-' ? "-Infinity" : "Infinity");
        return 0;
    }
    for (const char *q = p; *q; q++)
        if (!(isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-'))
            return -1;
    char *e;
    d = strtod(buf, &e);
    if (*e || e == buf)
        return -1;
    if (isinf(d)) {
        *why = "out of range for double precision";
        return -1;
    }
    *v = d;
    char o[40];
    for (int pr = 15; pr <= 17; pr++) {
        snprintf(o, sizeof o, "%.*g", pr, d);
        if (strtod(o, NULL) == d)
            break;
    }
    sb_puts(out, o);
    return 0;
}

/* ---- dates */

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

static int digits(const char *s, size_t n, size_t *i, int min, int max, int *out)
{
    int v = 0, k = 0;
    while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    if (k < min)
        return -1;
    *out = v;
    return 0;
}

static const char *const months[] = {"january", "february", "march", "april", "may", "june", "july",
                                     "august", "september", "october", "november", "december"};

int cleanse_parse_time(const char *fmt, const char *s, size_t n, bool prefix_ok, CleanseTm *tm)
{
    memset(tm, 0, sizeof *tm);
    tm->y = 1;
    tm->mo = 1;
    tm->d = 1;
    size_t i = 0;
    int pm = -1;
    bool has_date = false;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            if (*f == ' ') {          /* one or more blanks */
                if (i >= n || s[i] != ' ')
                    return -1;
                while (i < n && s[i] == ' ')
                    i++;
                continue;
            }
            if (i >= n || s[i] != *f)
                return -1;
            i++;
            continue;
        }
        f++;
        switch (*f) {
        case 'Y': if (digits(s, n, &i, 4, 4, &tm->y) != 0) return -1; has_date = true; break;
        case 'y': {
            int y;
            if (digits(s, n, &i, 2, 2, &y) != 0)
                return -1;
            tm->y = y < 69 ? 2000 + y : 1900 + y;
            break;
        }
        case 'm': if (digits(s, n, &i, 1, 2, &tm->mo) != 0) return -1; break;
        case 'd': if (digits(s, n, &i, 1, 2, &tm->d) != 0) return -1; break;
        case 'H': if (digits(s, n, &i, 1, 2, &tm->h) != 0) return -1; tm->has_time = true; break;
        case 'I': if (digits(s, n, &i, 1, 2, &tm->h) != 0 || tm->h < 1 || tm->h > 12) return -1; tm->has_time = true; break;
        case 'M': if (digits(s, n, &i, 2, 2, &tm->mi) != 0) return -1; break;
        case 'S':
            if (digits(s, n, &i, 2, 2, &tm->s) != 0)
                return -1;
            if (i + 1 < n && s[i] == '.' && f[1] != '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
                i++;
                int us = 0, k = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (k < 6)
                        us = us * 10 + (s[i] - '0'), k++;
                    else if (k == 6 && s[i] >= '5')   /* round the 7th digit */
                        us++, k++;
                    else
                        k++;
                    i++;
                }
                for (int z = k > 6 ? 6 : k; z < 6; z++)
                    us *= 10;
                if (us >= 1000000)
                    return -1;
                tm->us = us;
            }
            break;
        case 'f': {
            int k = 0, us = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9' && k < 6)
                us = us * 10 + (s[i++] - '0'), k++;
            if (k == 0)
                return -1;
            for (; k < 6; k++)
                us *= 10;
            tm->us = us;
            break;
        }
        case 'b': {
            int found = -1;
            size_t flen = 0;
            for (int m = 0; m < 12; m++) {
                size_t ml = strlen(months[m]);
                if (i + ml <= n && strncasecmp(s + i, months[m], ml) == 0) {
                    found = m, flen = ml;
                    break;
                }
                if (i + 3 <= n && strncasecmp(s + i, months[m], 3) == 0)
                    found = m, flen = 3;
            }
            if (found < 0)
                return -1;
            tm->mo = found + 1;
            i += flen;
            break;
        }
        case 'p':
            if (i + 2 <= n && strncasecmp(s + i, "am", 2) == 0)
                pm = 0;
            else if (i + 2 <= n && strncasecmp(s + i, "pm", 2) == 0)
                pm = 1;
            else
                return -1;
            i += 2;
            break;
        case 'z': {
            if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
                i++;
                tm->has_tz = true;
                tm->tzmin = 0;
                break;
            }
            if (i >= n || (s[i] != '+' && s[i] != '-'))
                return -1;
            int sign = s[i++] == '-' ? -1 : 1, hh, mm = 0;
            if (digits(s, n, &i, 2, 2, &hh) != 0 || hh > 15)
                return -1;
            if (i < n && s[i] == ':')
                i++;
            if (i < n && s[i] >= '0' && s[i] <= '9' && digits(s, n, &i, 2, 2, &mm) != 0)
                return -1;
            if (mm > 59)
                return -1;
            tm->has_tz = true;
            tm->tzmin = sign * (hh * 60 + mm);
            break;
        }
        case '%':
            if (i >= n || s[i] != '%')
                return -1;
            i++;
            break;
        default:
            return -1;
        }
    }
    if (i != n && !(prefix_ok && (s[i] == ' ' || s[i] == 'T')))
        return -1;
    (void)has_date;
    if (pm >= 0)
        tm->h = tm->h % 12 + (pm ? 12 : 0);
    if (tm->y < 1 || tm->mo < 1 || tm->mo > 12 || tm->d < 1 || tm->d > days_in(tm->y, tm->mo) || tm->h > 23 ||
        tm->mi > 59 || tm->s > 59)
        return -2;
    return 0;
}

static void put_n(char *o, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

int cl_parse_time(const char *const *formats, int nformats, CleanseType t, const char *s, size_t n,
                  Sb *out, const char **why)
{
    strip(&s, &n);
    CleanseTm tm;
    int impossible = 0;
    for (int k = 0; k < nformats; k++) {
        int rc = cleanse_parse_time(formats[k], s, n, t == CT_DATE, &tm);
        if (rc == -2) {
            impossible = 1;
            continue;
        }
        if (rc != 0)
            continue;
        char buf[64];
        int len = 10;
        put_n(buf, tm.y, 4);
        buf[4] = '-';
        put_n(buf + 5, tm.mo, 2);
        buf[7] = '-';
        put_n(buf + 8, tm.d, 2);
        if (t != CT_DATE && (t == CT_TS || t == CT_TSTZ || tm.has_time)) {
            buf[10] = ' ';
            put_n(buf + 11, tm.h, 2);
            buf[13] = ':';
            put_n(buf + 14, tm.mi, 2);
            buf[16] = ':';
            put_n(buf + 17, tm.s, 2);
            len = 19;
            if (tm.us) {
                buf[len++] = '.';
                put_n(buf + len, tm.us, 6);
                len += 6;
                while (buf[len - 1] == '0')
                    len--;
            }
        }
        sb_append(out, buf, (size_t)len);
        if (t == CT_TSTZ && tm.has_tz) {
            int z = tm.tzmin < 0 ? -tm.tzmin : tm.tzmin;
            len = z % 60 ? snprintf(buf, sizeof buf, "%c%02d:%02d", tm.tzmin < 0 ? '-' : '+', z / 60, z % 60)
                         : snprintf(buf, sizeof buf, "%c%02d", tm.tzmin < 0 ? '-' : '+', z / 60);
            sb_append(out, buf, (size_t)len);
        }
        return 0;
    }
    *why = impossible ? (t == CT_DATE ? "impossible date" : "impossible timestamp")
                      : (t == CT_DATE ? "not a date in the given formats" : "not a timestamp in the given formats");
    return -1;
}

static bool ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned char)((x | 0x20) - 'a') > 25))
            return false;
    }
    return true;
}

bool cl_words_has(const Words *w, bool ci, const char *s, size_t n)
{
    for (int i = 0; i < w->count; i++) {
        if (!w->w[i] || w->n[i] != n)
            continue;
        if (ci ? ascii_ieq(w->w[i], s, n) : memcmp(w->w[i], s, n) == 0)
            return true;
    }
    return false;
}

size_t cl_utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

bool cl_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        if (e - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (!(w & 0x8080808080808080ull)) {
                p += 8;
                continue;
            }
        }
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        int len;
        unsigned min;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, min = 0x10000;
        else
            return false;
        if (e - p < len)
            return false;
        unsigned cp = c & (0x3F >> (len - 1));
        for (int k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += len;
    }
    return true;
}
