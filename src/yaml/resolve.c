/* resolve.c - YAML 1.1 scalar resolution and construction, as PyYAML's
 * SafeLoader does it.
 *
 * Owns: the implicit resolvers for plain scalars (null, bool, int, float,
 * timestamp, merge "<<", value "="), written as small hand matchers that
 * accept exactly what PyYAML's resolver regexes accept, and the scalar
 * constructors for explicit tags (!!str, !!int, !!float, !!bool, !!null,
 * !!timestamp).  Tree building, anchors and error locations are load.c's.
 *
 * Known differences from Python: integers are 64-bit (a plain integer that
 * does not fit stays a string; an explicit !!int that does not fit is an
 * error) and a timestamp with a UTC offset becomes a UTC datetime, since
 * v_datetime only knows naive and UTC values. */
#include "ypriv.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_BUF 128      /* longest numeral we strip '_' from on the stack */

static bool isdig(char c) { return c >= '0' && c <= '9'; }
static bool ishex(char c) { return isdig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static bool eqw(const char *s, size_t n, const char *w) { return strlen(w) == n && memcmp(s, w, n) == 0; }

static YScalarKind fail(char *errbuf, const char *what, const char *s, size_t n)
{
    int shown = n > 60 ? 60 : (int)n;
    snprintf(errbuf, YAML_ERRBUF, "%s '%.*s%s'", what, shown, s, n > 60 ? "..." : "");
    return YS_ERROR;
}

/* ------------------------------------------------------------ word tables */

static const char *const null_words[] = { "~", "null", "Null", "NULL" };

static const struct { const char *w; bool v; } bool_words[] = {
    { "yes", true },  { "Yes", true },  { "YES", true },
    { "no", false },  { "No", false },  { "NO", false },
    { "true", true }, { "True", true }, { "TRUE", true },
    { "false", false }, { "False", false }, { "FALSE", false },
    { "on", true },   { "On", true },   { "ON", true },
    { "off", false }, { "Off", false }, { "OFF", false },
};

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* ------------------------------------------------------------ matchers */

/* One sexagesimal digit group "[0-5]?[0-9]" at *p (greedy is exact here:
 * the group is always followed by ':' or '.' or the end). */
static bool sexa_group(const char *s, size_t n, size_t *p)
{
    if (*p >= n || !isdig(s[*p]))
        return false;
    if (s[*p] <= '5' && *p + 1 < n && isdig(s[*p + 1]))
        *p += 2;
    else
        *p += 1;
    return true;
}

/* "(?:[eE][-+][0-9]+)?$" from p. */
static bool exp_tail(const char *s, size_t n, size_t p)
{
    if (p == n)
        return true;
    if (s[p] != 'e' && s[p] != 'E')
        return false;
    p++;
    if (p >= n || (s[p] != '+' && s[p] != '-'))
        return false;
    p++;
    if (p >= n || !isdig(s[p]))
        return false;
    while (p < n && isdig(s[p]))
        p++;
    return p == n;
}

static bool is_dot_word(const char *s, size_t n, const char *lo, const char *cap, const char *up)
{
    return n == 4 && s[0] == '.' && (memcmp(s + 1, lo, 3) == 0 || memcmp(s + 1, cap, 3) == 0 ||
                                     memcmp(s + 1, up, 3) == 0);
}

enum { FL_NUM, FL_SEXA, FL_INF, FL_NAN };

/* PyYAML's float regex.  *form tells the constructor what it matched. */
static bool match_float(const char *s, size_t n, int *form)
{
    if (is_dot_word(s, n, "nan", "NaN", "NAN")) {
        *form = FL_NAN;
        return true;
    }
    size_t p = 0;
    bool sign = n > 0 && (s[0] == '+' || s[0] == '-');
    if (sign)
        p++;
    if (is_dot_word(s + p, n - p, "inf", "Inf", "INF")) {
        *form = FL_INF;
        return true;
    }
    *form = FL_NUM;
    if (p < n && s[p] == '.') {           /* \.[0-9][0-9_]*exp (no sign allowed) */
        if (sign)
            return false;
        p++;
        if (p >= n || !isdig(s[p]))
            return false;
        while (p < n && (isdig(s[p]) || s[p] == '_'))
            p++;
        return exp_tail(s, n, p);
    }
    if (p >= n || !isdig(s[p]))
        return false;
    while (p < n && (isdig(s[p]) || s[p] == '_'))
        p++;
    if (p < n && s[p] == '.') {
        p++;
        while (p < n && (isdig(s[p]) || s[p] == '_'))
            p++;
        return exp_tail(s, n, p);
    }
    if (p < n && s[p] == ':') {
        while (p < n && s[p] == ':') {
            p++;
            if (!sexa_group(s, n, &p))
                return false;
        }
        if (p >= n || s[p] != '.')
            return false;
        p++;
        while (p < n && (isdig(s[p]) || s[p] == '_'))
            p++;
        *form = FL_SEXA;
        return p == n;
    }
    return false;
}

/* PyYAML's int regex. */
static bool match_int(const char *s, size_t n)
{
    size_t p = 0;
    if (n > 0 && (s[0] == '+' || s[0] == '-'))
        p++;
    if (p >= n || !isdig(s[p]))
        return false;
    if (s[p] == '0') {
        if (p + 1 == n)
            return true;
        char c = s[p + 1];
        if (c == 'b' || c == 'x') {
            p += 2;
            if (p >= n)
                return false;
            for (; p < n; p++)
                if (s[p] != '_' && !(c == 'b' ? (s[p] == '0' || s[p] == '1') : ishex(s[p])))
                    return false;
            return true;
        }
        for (p++; p < n; p++)
            if (s[p] != '_' && !(s[p] >= '0' && s[p] <= '7'))
                return false;
        return true;
    }
    while (p < n && (isdig(s[p]) || s[p] == '_'))
        p++;
    if (p == n)
        return true;
    if (s[p] != ':')
        return false;
    while (p < n && s[p] == ':') {
        p++;
        if (!sexa_group(s, n, &p))
            return false;
    }
    return p == n;
}

/* ------------------------------------------------------------ numbers */

/* Copy s without '_' into buf (NUM_BUF); false if too long. */
static bool strip_us(const char *s, size_t n, char *buf, size_t *outn)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_')
            continue;
        if (k + 1 >= NUM_BUF)
            return false;
        buf[k++] = s[i];
    }
    buf[k] = 0;
    *outn = k;
    return true;
}

static int digit_val(char c)
{
    if (isdig(c))
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Unsigned digits in base; 0 ok, 1 overflow, -1 bad or no digits. */
static int parse_digits(const char *s, size_t n, int base, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d = digit_val(s[i]);
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return 1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* construct_yaml_int on text without '_': 0 ok, 1 out of range, -1 invalid. */
static int build_int(const char *s, size_t n, int64_t *out)
{
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    bool neg = false;
    if (n && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++, n--;
    }
    uint64_t u = 0;
    int rc;
    if (n >= 2 && s[0] == '0' && s[1] == 'b')
        rc = parse_digits(s + 2, n - 2, 2, &u);
    else if (n >= 2 && s[0] == '0' && s[1] == 'x')
        rc = parse_digits(s + 2, n - 2, 16, &u);
    else if (n >= 1 && s[0] == '0')
        rc = parse_digits(s, n, 8, &u);
    else if (memchr(s, ':', n)) {
        /* base 60: each ':'-separated part is decimal */
        rc = 0;
        size_t i = 0;
        while (rc == 0) {
            size_t j = i;
            while (j < n && s[j] != ':')
                j++;
            uint64_t part;
            rc = parse_digits(s + i, j - i, 10, &part);
            if (rc == 0) {
                if (u > (UINT64_MAX - part) / 60)
                    rc = 1;
                else
                    u = u * 60 + part;
            }
            if (j >= n)
                break;
            i = j + 1;
        }
    } else
        rc = parse_digits(s, n, 10, &u);
    if (rc)
        return rc;
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
        return 1;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* Python float() syntax on s (no '_'), then strtod. */
static bool py_float(const char *s, size_t n, double *out)
{
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    char buf[NUM_BUF];
    if (n == 0 || n >= NUM_BUF)
        return false;
    size_t p = 0;
    double sign = 1.0;
    if (s[0] == '+' || s[0] == '-') {
        sign = s[0] == '-' ? -1.0 : 1.0;
        p++;
    }
    char low[16];
    size_t wl = n - p;
    if (wl < sizeof low) {
        for (size_t i = 0; i < wl; i++)
            low[i] = (char)((s[p + i] >= 'A' && s[p + i] <= 'Z') ? s[p + i] + 32 : s[p + i]);
        low[wl] = 0;
        if (!strcmp(low, "inf") || !strcmp(low, "infinity")) {
            *out = sign * INFINITY;
            return true;
        }
        if (!strcmp(low, "nan")) {
            *out = NAN;
            return true;
        }
    }
    size_t digits = 0;
    while (p < n && isdig(s[p]))
        p++, digits++;
    if (p < n && s[p] == '.') {
        p++;
        while (p < n && isdig(s[p]))
            p++, digits++;
    }
    if (!digits)
        return false;
    if (p < n && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < n && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p >= n || !isdig(s[p]))
            return false;
        while (p < n && isdig(s[p]))
            p++;
    }
    if (p != n)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return true;
}

/* construct_yaml_float on text without '_'. */
static bool build_float(const char *s, size_t n, double *out)
{
    char low[NUM_BUF];
    if (n >= NUM_BUF)
        return false;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    low[n] = 0;
    const char *v = low;
    size_t vn = n;
    double sign = 1.0;
    if (vn && (v[0] == '-' || v[0] == '+')) {
        sign = v[0] == '-' ? -1.0 : 1.0;
        v++, vn--;
    }
    if (eqw(v, vn, ".inf")) {
        *out = sign * INFINITY;
        return true;
    }
    if (eqw(v, vn, ".nan")) {
        *out = NAN;
        return true;
    }
    if (memchr(v, ':', vn)) {
        double acc = 0.0;
        size_t i = 0;
        for (;;) {
            size_t j = i;
            while (j < vn && v[j] != ':')
                j++;
            double part;
            if (!py_float(v + i, j - i, &part))
                return false;
            acc = acc * 60.0 + part;
            if (j >= vn)
                break;
            i = j + 1;
        }
        *out = sign * acc;
        return true;
    }
    double d;
    if (!py_float(v, vn, &d))
        return false;
    *out = sign * d;
    return true;
}

/* ------------------------------------------------------------ timestamps */

typedef struct Ts {
    int y, mo, d, h, mi, s, us;
    bool has_time, has_tz, tz_z;
    int tz_min;              /* signed offset in minutes */
} Ts;

/* Up to maxd digits (at least mind) at *p. */
static bool digits_at(const char *s, size_t n, size_t *p, int mind, int maxd, int *val, int *count)
{
    int v = 0, k = 0;
    while (k < maxd && *p < n && isdig(s[*p])) {
        v = v * 10 + (s[*p] - '0');
        (*p)++, k++;
    }
    if (k < mind)
        return false;
    *val = v;
    if (count)
        *count = k;
    return true;
}

/* The timestamp grammar.  implicit: PyYAML's resolver regex (a bare date
 * needs two-digit month and day); otherwise the constructor's regex. */
static bool match_ts(const char *s, size_t n, bool implicit, Ts *t)
{
    size_t p = 0;
    int mc, dc;
    memset(t, 0, sizeof *t);
    if (!digits_at(s, n, &p, 4, 4, &t->y, NULL) || p >= n || s[p++] != '-')
        return false;
    if (!digits_at(s, n, &p, 1, 2, &t->mo, &mc) || p >= n || s[p++] != '-')
        return false;
    if (!digits_at(s, n, &p, 1, 2, &t->d, &dc))
        return false;
    if (p == n)
        return !implicit || (mc == 2 && dc == 2);
    if (s[p] == 'T' || s[p] == 't')
        p++;
    else if (s[p] == ' ' || s[p] == '\t')
        while (p < n && (s[p] == ' ' || s[p] == '\t'))
            p++;
    else
        return false;
    t->has_time = true;
    if (!digits_at(s, n, &p, 1, 2, &t->h, NULL) || p >= n || s[p++] != ':')
        return false;
    if (!digits_at(s, n, &p, 2, 2, &t->mi, NULL) || p >= n || s[p++] != ':')
        return false;
    if (!digits_at(s, n, &p, 2, 2, &t->s, NULL))
        return false;
    if (p < n && s[p] == '.') {
        p++;
        int k = 0;
        while (p < n && isdig(s[p])) {
            if (k < 6)
                t->us = t->us * 10 + (s[p] - '0');
            p++, k++;
        }
        for (; k < 6; k++)
            t->us *= 10;
    }
    if (p == n)
        return true;
    while (p < n && (s[p] == ' ' || s[p] == '\t'))
        p++;
    if (p >= n)
        return false;
    t->has_tz = true;
    if (s[p] == 'Z') {
        t->tz_z = true;
        return p + 1 == n;
    }
    if (s[p] != '+' && s[p] != '-')
        return false;
    int sg = s[p++] == '-' ? -1 : 1, th, tm = 0;
    if (!digits_at(s, n, &p, 1, 2, &th, NULL))
        return false;
    if (p < n && s[p] == ':') {
        p++;
        if (!digits_at(s, n, &p, 2, 2, &tm, NULL))
            return false;
    }
    t->tz_min = sg * (th * 60 + tm);
    return p == n;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
    static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static YScalarKind build_ts(Arena *a, Ts *t, Value *out, char *errbuf)
{
    const char *bad = NULL;
    if (t->y < 1)
        bad = "year 0 is out of range";
    else if (t->mo < 1 || t->mo > 12)
        bad = "month must be in 1..12";
    else if (t->d < 1 || t->d > month_days(t->y, t->mo))
        bad = "day is out of range for month";
    else if (t->h > 23)
        bad = "hour must be in 0..23";
    else if (t->mi > 59)
        bad = "minute must be in 0..59";
    else if (t->s > 59)
        bad = "second must be in 0..59";
    if (bad) {
        snprintf(errbuf, YAML_ERRBUF, "invalid timestamp: %s", bad);
        return YS_ERROR;
    }
    if (!t->has_time) {
        *out = v_date(a, t->y, t->mo, t->d);
        return YS_VALUE;
    }
    if (t->has_tz && !t->tz_z && t->tz_min != 0) {
        /* Shift to UTC. */
        int64_t mins = days_from_civil(t->y, t->mo, t->d) * 1440 + t->h * 60 + t->mi - t->tz_min;
        int64_t days = mins >= 0 ? mins / 1440 : -((-mins + 1439) / 1440);
        int64_t rem = mins - days * 1440;
        civil_from_days(days, &t->y, &t->mo, &t->d);
        t->h = (int)(rem / 60);
        t->mi = (int)(rem % 60);
    }
    *out = v_datetime(a, t->y, t->mo, t->d, t->h, t->mi, t->s, t->us, t->has_tz);
    return YS_VALUE;
}

/* ------------------------------------------------------------ entry points */

static YScalarKind make_int(const char *s, size_t n, bool implicit, Value *out, char *errbuf)
{
    char buf[NUM_BUF];
    size_t bn;
    int64_t i;
    int rc = strip_us(s, n, buf, &bn) ? build_int(buf, bn, &i) : 1;
    if (rc == 0) {
        *out = v_int(i);
        return YS_VALUE;
    }
    if (rc == 1 && implicit)
        return YS_STR;      /* beyond 64 bits: keep the text */
    return fail(errbuf, rc == 1 ? "integer out of range:" : "invalid integer", s, n);
}

static YScalarKind make_float(const char *s, size_t n, Value *out, char *errbuf)
{
    char buf[NUM_BUF];
    size_t bn;
    double d;
    if (!strip_us(s, n, buf, &bn) || !build_float(buf, bn, &d))
        return fail(errbuf, "invalid float", s, n);
    *out = v_float(d);
    return YS_VALUE;
}

YScalarKind yaml_resolve_plain(Arena *a, const char *s, size_t n, Value *out, char *errbuf)
{
    if (n == 0) {
        *out = v_none();
        return YS_VALUE;
    }
    char c = s[0];
    if (c == '~' || c == 'n' || c == 'N')
        for (size_t i = 0; i < COUNT(null_words); i++)
            if (eqw(s, n, null_words[i])) {
                *out = v_none();
                return YS_VALUE;
            }
    if (n <= 5 && strchr("yYnNtTfFoO", c))
        for (size_t i = 0; i < COUNT(bool_words); i++)
            if (eqw(s, n, bool_words[i].w)) {
                *out = v_bool(bool_words[i].v);
                return YS_VALUE;
            }
    if (isdig(c) || c == '-' || c == '+' || c == '.') {
        int form;
        if (match_float(s, n, &form))
            return make_float(s, n, out, errbuf);
        if (match_int(s, n))
            return make_int(s, n, true, out, errbuf);
        Ts t;
        if (isdig(c) && n >= 10 && match_ts(s, n, true, &t))
            return build_ts(a, &t, out, errbuf);
    }
    if (n == 2 && c == '<' && s[1] == '<')
        return YS_MERGE;
    if (n == 1 && c == '=')
        return YS_EQUALS;
    return YS_STR;
}

YScalarKind yaml_construct_tagged(Arena *a, const char *tag, const char *s, size_t n,
                                  Value *out, char *errbuf)
{
    size_t pl = strlen(YAML_TAG_PREFIX);
    if (strncmp(tag, YAML_TAG_PREFIX, pl) != 0) {
        snprintf(errbuf, YAML_ERRBUF, "could not determine a constructor for the tag '%.100s'", tag);
        return YS_ERROR;
    }
    const char *t = tag + pl;
    if (!strcmp(t, "str"))
        return YS_STR;
    if (!strcmp(t, "null")) {
        *out = v_none();
        return YS_VALUE;
    }
    if (!strcmp(t, "bool")) {
        char low[8];
        if (n < sizeof low) {
            for (size_t i = 0; i < n; i++)
                low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
            low[n] = 0;
            for (size_t i = 0; i < COUNT(bool_words); i++)
                if (!strcmp(low, bool_words[i].w)) {
                    *out = v_bool(bool_words[i].v);
                    return YS_VALUE;
                }
        }
        return fail(errbuf, "invalid boolean", s, n);
    }
    if (!strcmp(t, "int"))
        return make_int(s, n, false, out, errbuf);
    if (!strcmp(t, "float"))
        return make_float(s, n, out, errbuf);
    if (!strcmp(t, "timestamp")) {
        Ts ts;
        if (!match_ts(s, n, false, &ts))
            return fail(errbuf, "invalid timestamp", s, n);
        return build_ts(a, &ts, out, errbuf);
    }
    if (!strcmp(t, "merge"))
        return YS_MERGE;
    if (!strcmp(t, "value"))
        return YS_EQUALS;
    if (!strcmp(t, "binary") || !strcmp(t, "set") || !strcmp(t, "omap") || !strcmp(t, "pairs")) {
        snprintf(errbuf, YAML_ERRBUF, "the tag '%s' is not supported", tag);
        return YS_ERROR;
    }
    snprintf(errbuf, YAML_ERRBUF, "could not determine a constructor for the tag '%.100s'", tag);
    return YS_ERROR;
}
