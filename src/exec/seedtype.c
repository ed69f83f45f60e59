/* seedtype.c - agate type inference for seeds, as dbt configures it (§8.2),
 * and the normalised values cdbt writes into COPY.
 *
 * Each parser reproduces the Python code path dbt runs for one agate type:
 *  - Number: str.strip, null tokens, strip('%'), a leading '-' as sign,
 *    str.strip of each currency symbol in agate's order, ',' removed, then
 *    decimal.Decimal(...) (whitespace stripped, '_' dropped, ASCII syntax incl.
 *    exponents, Inf/Infinity/NaN; sNaN rejected because `* sign` raises) and
 *    the product rounded to the context's 28 digits (half-even).
 *  - Date / DateTime: time.strptime's regular expressions for
 *    %Y-%m-%d [%H:%M:%S] (1-2 digit fields, " 5" days, \s+ between date and
 *    time, whole-string match) and datetime's range checks.
 *  - ISODateTime: isodate 0.6 parse_datetime: exactly one 'T', the first
 *    date and time pattern that matches a PREFIX (trailing text ignored, as
 *    isodate does), fractions of the last time component, Z/+hh[:mm] offsets.
 *  - Boolean: ',' removed, stripped, true/false in any case.
 * Not reproduced (documented gaps): non-ASCII decimal digits, which Python
 * accepts in Decimal and strptime; fractions of ISO hours/minutes beyond 20
 * digits are truncated before rounding.
 *
 * Loading lives in mat_seed.c; tokenising in csvread.c. */
#include "seedtype.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/arena.h"

#define DEC_PREC 28
#define DEC_EMAX 999999
#define DEC_ETINY (-999999 - DEC_PREC + 1)

static const char *const type_names[SEED__COUNT] = {
    "Number", "Date", "DateTime", "ISODateTime", "Boolean", "Text"
};

const char *seedtype_name(SeedType t)
{
    return (t >= 0 && t < SEED__COUNT) ? type_names[t] : "?";
}

/* ---- Unicode whitespace (str.isspace) ---- */

static bool is_space_cp(uint32_t c)
{
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F))
        return true;
    if (c < 0x85)
        return false;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Decode one code point at s[i] (valid UTF-8 assumed; bytes otherwise). */
static uint32_t cp_at(const char *s, size_t n, size_t i, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[i];
    int need = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (i + (size_t)need >= n + (need ? 0 : 1) && need) {
        *len = 1;
        return c;
    }
    uint32_t cp = need == 0 ? c : need == 1 ? (c & 0x1Fu) : need == 2 ? (c & 0x0Fu) : (c & 0x07u);
    for (int k = 1; k <= need; k++)
        cp = (cp << 6) | (u[i + (size_t)k] & 0x3Fu);
    *len = (size_t)need + 1;
    return cp;
}

static bool space_at(const char *s, size_t n, size_t i, size_t *len)
{
    if ((unsigned char)s[i] < 0x80) {
        *len = 1;
        return is_space_cp((unsigned char)s[i]);
    }
    return is_space_cp(cp_at(s, n, i, len));
}

/* A byte that is certainly not (the start of) whitespace: printable ASCII. */
static inline bool solid(char c)
{
    return (unsigned char)c > 0x20 && (unsigned char)c < 0x80;
}

void seedtype_strip(const char *s, size_t n, size_t *b, size_t *e)
{
    if (n && solid(s[0]) && solid(s[n - 1])) {      /* the usual case: nothing to strip */
        *b = 0;
        *e = n;
        return;
    }
    size_t i = 0, len;
    while (i < n && space_at(s, n, i, &len))
        i += len;
    size_t j = n;
    while (j > i) {
        size_t k = j - 1;
        while (k > i && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        if (!space_at(s, n, k, &len) || k + len != j)
            break;
        j = k;
    }
    *b = i;
    *e = j;
}

static bool ieq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

bool seedtype_is_null(const char *s, size_t n)
{
    if (n && solid(s[0]) && solid(s[n - 1]))
        return n == 4 && ieq(s, 4, "null");
    size_t b, e;
    seedtype_strip(s, n, &b, &e);
    return e == b || ieq(s + b, e - b, "null");
}

/* ---- Number ---- */

static const char *const currency[] = {
    "\xd8\x8b", "$", "\xc6\x92", "\xe1\x9f\x9b", "\xc2\xa5", "\xe2\x82\xa1", "\xe2\x82\xb1", "\xc2\xa3",
    "\xe2\x82\xac", "\xc2\xa2", "\xef\xb7\xbc", "\xe2\x82\xaa", "\xe2\x82\xa9", "\xe2\x82\xad",
    "\xe2\x82\xae", "\xe2\x82\xa6", "\xe0\xb8\xbf", "\xe2\x82\xa4", "\xe2\x82\xab",
};

/* str.strip(sym) for a one-character sym (as UTF-8 bytes). */
static void strip_sym(const char *s, size_t *b, size_t *e, const char *sym)
{
    size_t m = strlen(sym);
    while (*e - *b >= m && memcmp(s + *b, sym, m) == 0)
        *b += m;
    while (*e - *b >= m && memcmp(s + *e - m, sym, m) == 0)
        *e -= m;
}

/* Round the digit string d[0..*n) to keep digits, half-even; returns the
 * exponent increase.  keep >= 0; keep == 0 rounds to 0 or 1 unit. */
static int64_t round_digits(char *d, int *n, int keep)
{
    if (*n <= keep)
        return 0;
    int drop = *n - keep;
    /* compare the dropped part with one half */
    int cmp;                                   /* -1 below, 0 exactly half, 1 above */
    char first = d[keep];
    if (first > '5')
        cmp = 1;
    else if (first < '5')
        cmp = -1;
    else {
        cmp = 0;
        for (int i = keep + 1; i < *n; i++)
            if (d[i] != '0') {
                cmp = 1;
                break;
            }
    }
    bool up = cmp > 0 || (cmp == 0 && keep > 0 && ((d[keep - 1] - '0') & 1));
    *n = keep;
    if (up) {
        int i = keep - 1;
        while (i >= 0 && d[i] == '9') {
            d[i] = '0';
            i--;
        }
        if (i >= 0) {
            d[i]++;
        } else {                                /* all nines (or keep == 0): 10^keep */
            d[0] = '1';
            for (int k = 1; k < keep; k++)
                d[k] = '0';
            if (keep == 0) {
                *n = 1;
                return drop;
            }
            return drop + 1;                   /* coefficient 1 followed by keep-1 zeros, one more unit */
        }
    }
    if (*n == 0) {
        d[0] = '0';
        *n = 1;
    }
    return drop;
}

/* s[0..n) without the bytes equal to drop, NUL-terminated, in small when it
 * fits (cap bytes) else in a malloc'd buffer the caller frees (when != small). */
static char *copy_without(const char *s, size_t n, char drop, char *small, size_t cap, size_t *len)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != drop)
            m++;
    char *d = m < cap ? small : xmalloc(m + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != drop)
            d[k++] = s[i];
    d[k] = '\0';
    *len = k;
    return d;
}

/* Python Decimal(str) on t[0..n) (already comma-free).  Fills out; 1 ok, -1 not a number. */
static int py_decimal(const char *t, size_t n, SeedNum *out)
{
    size_t b, e;
    seedtype_strip(t, n, &b, &e);
    /* copy without underscores; ASCII only */
    char small[64];
    size_t m;
    char *s = copy_without(t + b, e - b, '_', small, sizeof small, &m);
    int rc = -1;
    size_t i = 0;
    bool neg = false;
    if (i < m && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    memset(out, 0, sizeof *out);
    out->neg = neg;
    if (ieq(s + i, m - i, "inf") || ieq(s + i, m - i, "infinity")) {
        out->kind = SNUM_INF;
        rc = 1;
        goto done;
    }
    if (m - i >= 3 && ieq(s + i, 3, "nan")) {
        size_t j = i + 3;
        while (j < m && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == m) {
            out->kind = SNUM_NAN;
            rc = 1;
        }
        goto done;
    }
    /* digits [. digits] [e [sign] digits] */
    size_t int_b = i;
    while (i < m && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t int_n = i - int_b, frac_b = i, frac_n = 0;
    if (i < m && s[i] == '.') {
        i++;
        frac_b = i;
        while (i < m && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_n = i - frac_b;
    }
    if (int_n + frac_n == 0)
        goto done;
    int64_t ex = 0;
    if (i < m && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < m && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t eb = i;
        while (i < m && s[i] >= '0' && s[i] <= '9') {
            if (ex < 1000000000000LL)
                ex = ex * 10 + (s[i] - '0');
            i++;
        }
        if (i == eb)
            goto done;
        if (eneg)
            ex = -ex;
    }
    if (i != m)
        goto done;
    /* coefficient without leading zeros; keep up to 29+ digits for rounding */
    ex -= (int64_t)frac_n;
    {
        /* gather significant digits (stack buffer for the usual sizes) */
        char dsmall[96];
        size_t cap = int_n + frac_n + 2;
        char *d = cap <= sizeof dsmall ? dsmall : xmalloc(cap);
        int nd = 0;
        bool started = false;
        for (size_t q = int_b; q < int_b + int_n; q++) {
            if (!started && s[q] == '0')
                continue;
            started = true;
            d[nd++] = s[q];
        }
        for (size_t q = frac_b; q < frac_b + frac_n; q++) {
            if (!started && s[q] == '0')
                continue;
            started = true;
            d[nd++] = s[q];
        }
        if (nd == 0) {
            out->kind = SNUM_FINITE;
            out->digits[0] = '0';
            out->ndigits = 1;
            out->exp = 0;
            if (d != dsmall)
                free(d);
            rc = 1;
            goto done;
        }
        /* context rounding to 28 digits */
        if (nd > DEC_PREC)
            ex += round_digits(d, &nd, DEC_PREC);
        /* subnormal: exponent below Etiny */
        if (ex < DEC_ETINY) {
            int64_t drop = DEC_ETINY - ex;
            if (drop > nd) {
                nd = 1;
                d[0] = '0';
            } else {
                ex += round_digits(d, &nd, nd - (int)drop);
            }
        }
        /* normalise: strip trailing zeros */
        while (nd > 1 && d[nd - 1] == '0') {
            nd--;
            ex++;
        }
        if (nd == 1 && d[0] == '0')
            ex = 0;
        else if (ex + nd - 1 > DEC_EMAX) {       /* Python raises decimal.Overflow */
            if (d != dsmall)
                free(d);
            goto done;
        }
        memcpy(out->digits, d, (size_t)nd);
        out->digits[nd] = '\0';
        out->ndigits = nd;
        out->exp = ex;
        out->kind = SNUM_FINITE;
        if (d != dsmall)
            free(d);
        rc = 1;
    }
done:
    if (s != small)
        free(s);
    return rc;
}

/* The plain numerals most files hold, [-]digits[.digits] with at most
 * DEC_PREC digits, straight into out (the result the general path below
 * gives them: no rounding can happen).  1 = done, 0 = not that shape. */
static int plain_number(const char *s, size_t n, SeedNum *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && s[0] == '-') {
        neg = true;
        i = 1;
    }
    size_t int_b = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t int_n = i - int_b, frac_b = i, frac_n = 0;
    if (i < n && s[i] == '.') {
        frac_b = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_n = i - frac_b;
    }
    if (i != n || int_n + frac_n == 0 || int_n + frac_n > DEC_PREC)
        return 0;
    memset(out, 0, sizeof *out);
    out->kind = SNUM_FINITE;
    out->neg = neg;
    int nd = 0;
    for (size_t q = int_b; q < int_b + int_n; q++)
        if (nd || s[q] != '0')
            out->digits[nd++] = s[q];
    for (size_t q = frac_b; q < frac_b + frac_n; q++)
        if (nd || s[q] != '0')
            out->digits[nd++] = s[q];
    int64_t ex = -(int64_t)frac_n;
    if (nd == 0) {
        out->digits[nd++] = '0';
        ex = 0;
    }
    while (nd > 1 && out->digits[nd - 1] == '0') {
        nd--;
        ex++;
    }
    out->digits[nd] = '\0';
    out->ndigits = nd;
    out->exp = ex;
    return 1;
}

int seedtype_parse_number(const char *s, size_t n, SeedNum *out)
{
    if (plain_number(s, n, out))
        return 1;
    size_t b, e;
    seedtype_strip(s, n, &b, &e);
    if (e == b || ieq(s + b, e - b, "null"))
        return 0;
    while (b < e && s[b] == '%')
        b++;
    while (e > b && s[e - 1] == '%')
        e--;
    bool neg = false;
    if (b < e && s[b] == '-') {
        neg = true;
        b++;
    }
    /* every symbol but '$' is non-ASCII: skip the list when neither end can match */
    if (b < e && (((unsigned char)s[b] >= 0x80 || s[b] == '$') || ((unsigned char)s[e - 1] >= 0x80 || s[e - 1] == '$')))
        for (size_t k = 0; k < sizeof currency / sizeof *currency; k++)
            strip_sym(s, &b, &e, currency[k]);
    char small[64];
    size_t k;
    char *t = copy_without(s + b, e - b, ',', small, sizeof small, &k);
    int rc = py_decimal(t, k, out);
    if (t != small)
        free(t);
    if (rc != 1)
        return -1;
    if (neg)
        out->neg = !out->neg;
    return 1;
}

/* ---- calendar ---- */

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static int mdays(int y, int m)
{
    static const int t[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : t[m - 1];
}
static bool valid_date(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= mdays(y, m);
}

/* Days since 0001-01-01 (proleptic Gregorian, day 0) and back. */
static int64_t days_of(int y, int m, int d)
{
    int64_t yy = y - 1;
    int64_t n = yy * 365 + yy / 4 - yy / 100 + yy / 400;
    for (int k = 1; k < m; k++)
        n += mdays(y, k);
    return n + d - 1;
}
static bool date_of(int64_t n, int *y, int *m, int *d)
{
    if (n < 0 || n > days_of(9999, 12, 31))
        return false;
    int64_t n400 = n / 146097, r = n % 146097;
    int64_t n100 = r / 36524;
    if (n100 == 4)
        n100 = 3;
    r -= n100 * 36524;
    int64_t n4 = r / 1461;
    r -= n4 * 1461;
    int64_t n1 = r / 365;
    if (n1 == 4)
        n1 = 3;
    r -= n1 * 365;
    int yr = (int)(n400 * 400 + n100 * 100 + n4 * 4 + n1 + 1);
    int mo = 1;
    while (r >= mdays(yr, mo)) {
        r -= mdays(yr, mo);
        mo++;
    }
    *y = yr;
    *m = mo;
    *d = (int)r + 1;
    return true;
}

/* ---- strptime ---- */

static int num(const char *s, int len);

/* Elements of the strptime regular expression for our two formats. */
typedef enum { E_LIT, E_YEAR, E_MONTH, E_DAY, E_HOUR, E_MIN, E_SEC, E_SPACES, E_END } ElKind;
typedef struct El { ElKind k; char lit; } El;

static bool dig(char c) { return c >= '0' && c <= '9'; }

/* Alternatives of one field at s[i]: fills lens[] in the regex's order. */
static int alts(ElKind k, const char *s, size_t n, size_t i, int lens[5])
{
    int c = 0;
    char a = i < n ? s[i] : 0, b = i + 1 < n ? s[i + 1] : 0;
    switch (k) {
    case E_MONTH:       /* 1[0-2]|0[1-9]|[1-9] */
        if (a == '1' && b >= '0' && b <= '2') lens[c++] = 2;
        if (a == '0' && b >= '1' && b <= '9') lens[c++] = 2;
        if (a >= '1' && a <= '9') lens[c++] = 1;
        break;
    case E_DAY:         /* 3[01]|[12]\d|0[1-9]|[1-9]| [1-9] */
        if (a == '3' && (b == '0' || b == '1')) lens[c++] = 2;
        if ((a == '1' || a == '2') && dig(b)) lens[c++] = 2;
        if (a == '0' && b >= '1' && b <= '9') lens[c++] = 2;
        if (a >= '1' && a <= '9') lens[c++] = 1;
        if (a == ' ' && b >= '1' && b <= '9') lens[c++] = 2;
        break;
    case E_HOUR:        /* 2[0-3]|[0-1]\d|\d */
        if (a == '2' && b >= '0' && b <= '3') lens[c++] = 2;
        if ((a == '0' || a == '1') && dig(b)) lens[c++] = 2;
        if (dig(a)) lens[c++] = 1;
        break;
    case E_MIN:         /* [0-5]\d|\d */
        if (a >= '0' && a <= '5' && dig(b)) lens[c++] = 2;
        if (dig(a)) lens[c++] = 1;
        break;
    case E_SEC:         /* 6[0-1]|[0-5]\d|\d */
        if (a == '6' && (b == '0' || b == '1')) lens[c++] = 2;
        if (a >= '0' && a <= '5' && dig(b)) lens[c++] = 2;
        if (dig(a)) lens[c++] = 1;
        break;
    case E_YEAR:
        if (i + 4 <= n && dig(s[i]) && dig(s[i + 1]) && dig(s[i + 2]) && dig(s[i + 3])) lens[c++] = 4;
        break;
    default:
        break;
    }
    return c;
}

static int fieldval(const char *s, size_t i, int len)
{
    int v = 0;
    for (int k = 0; k < len; k++)
        if (s[i + (size_t)k] != ' ')
            v = v * 10 + (s[i + (size_t)k] - '0');
    return v;
}

/* Backtracking match of els[k..] at s[i]: returns the end offset of the
 * first match in the regex's order (prefix, like re.match), or -1.  vals[]
 * receives the field values of that match. */
static long re_match(const El *els, int k, const char *s, size_t n, size_t i, int *vals)
{
    const El *el = &els[k];
    if (el->k == E_END)
        return (long)i;
    if (el->k == E_LIT) {
        if (i < n && s[i] == el->lit)
            return re_match(els, k + 1, s, n, i + 1, vals);
        return -1;
    }
    if (el->k == E_SPACES) {
        size_t ends[64];
        int ne = 0;
        size_t j = i, len;
        while (j < n && space_at(s, n, j, &len)) {
            j += len;
            if (ne < 64)
                ends[ne++] = j;
            else
                ends[ne - 1] = j;
        }
        for (int q = ne - 1; q >= 0; q--) {
            long r = re_match(els, k + 1, s, n, ends[q], vals);
            if (r >= 0)
                return r;
        }
        return -1;
    }
    int lens[5];
    int c = alts(el->k, s, n, i, lens);
    for (int q = 0; q < c; q++) {
        vals[k] = fieldval(s, i, lens[q]);
        long r = re_match(els, k + 1, s, n, i + (size_t)lens[q], vals);
        if (r >= 0)
            return r;
    }
    return -1;
}

/* The canonical zero-padded shapes YYYY-MM-DD / YYYY-MM-DD HH:MM:SS, where
 * the regex can only take the two-digit alternatives (ranges checked as it
 * would): 1 / -1 as strptime_like, -2 when p is not of that shape. */
static int ymd_shape(const char *p, size_t m, bool want_time, SeedTime *out)
{
    if (m != (want_time ? 19u : 10u) || !dig(p[0]) || !dig(p[1]) || !dig(p[2]) || !dig(p[3]) || p[4] != '-' ||
        !dig(p[5]) || !dig(p[6]) || p[7] != '-' || !dig(p[8]) || !dig(p[9]))
        return -2;
    if (want_time && (p[10] != ' ' || !dig(p[11]) || !dig(p[12]) || p[13] != ':' || !dig(p[14]) || !dig(p[15]) ||
                      p[16] != ':' || !dig(p[17]) || !dig(p[18])))
        return -2;
    memset(out, 0, sizeof *out);
    out->y = num(p, 4);
    out->mo = num(p + 5, 2);
    out->d = num(p + 8, 2);
    if (want_time) {
        out->h = num(p + 11, 2);
        out->mi = num(p + 14, 2);
        out->s = num(p + 17, 2);
    }
    if (out->h > 23 || out->mi > 59)
        return -1;
    if (!valid_date(out->y, out->mo, out->d) || out->s > 59)
        return -1;
    return 1;
}

static int strptime_like(const El *els, const char *s, size_t n, SeedTime *out)
{
    bool want_time = els[5].k == E_SPACES;
    int r = ymd_shape(s, n, want_time, out);    /* nothing to strip: it starts and ends with digits */
    if (r != -2)
        return r;
    size_t b, e;
    seedtype_strip(s, n, &b, &e);
    if (e == b || ieq(s + b, e - b, "null"))
        return 0;
    if ((r = ymd_shape(s + b, e - b, want_time, out)) != -2)
        return r;
    int vals[16] = {0};
    long end = re_match(els, 0, s + b, e - b, 0, vals);
    if (end < 0 || (size_t)end != e - b)
        return -1;
    memset(out, 0, sizeof *out);
    for (int k = 0; els[k].k != E_END; k++) {
        switch (els[k].k) {
        case E_YEAR: out->y = vals[k]; break;
        case E_MONTH: out->mo = vals[k]; break;
        case E_DAY: out->d = vals[k]; break;
        case E_HOUR: out->h = vals[k]; break;
        case E_MIN: out->mi = vals[k]; break;
        case E_SEC: out->s = vals[k]; break;
        default: break;
        }
    }
    if (!valid_date(out->y, out->mo, out->d) || out->s > 59)
        return -1;
    return 1;
}

int seedtype_parse_date(const char *s, size_t n, SeedTime *out)
{
    static const El els[] = {{E_YEAR, 0}, {E_LIT, '-'}, {E_MONTH, 0}, {E_LIT, '-'}, {E_DAY, 0}, {E_END, 0}};
    return strptime_like(els, s, n, out);
}

int seedtype_parse_datetime(const char *s, size_t n, SeedTime *out)
{
    static const El els[] = {{E_YEAR, 0}, {E_LIT, '-'}, {E_MONTH, 0}, {E_LIT, '-'}, {E_DAY, 0},
                             {E_SPACES, 0}, {E_HOUR, 0}, {E_LIT, ':'}, {E_MIN, 0}, {E_LIT, ':'},
                             {E_SEC, 0}, {E_END, 0}};
    return strptime_like(els, s, n, out);
}

/* ---- isodate ---- */

/* Prefix match of a pattern where 'D' is an ASCII digit, others literal. */
static bool pfx(const char *s, size_t n, const char *pat)
{
    size_t m = strlen(pat);
    if (n < m)
        return false;
    for (size_t i = 0; i < m; i++) {
        if (pat[i] == 'D' ? !dig(s[i]) : s[i] != pat[i])
            return false;
    }
    return true;
}
static int num(const char *s, int len)
{
    int v = 0;
    for (int i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool iso_date(const char *s, size_t n, int *y, int *m, int *d)
{
    int64_t base;
    if (pfx(s, n, "DDDD-DD-DD") || pfx(s, n, "DDDDDDDD")) {
        bool ext = s[4] == '-';
        *y = num(s, 4);
        *m = num(s + (ext ? 5 : 4), 2);
        *d = num(s + (ext ? 8 : 6), 2);
        if (*m == 0)
            *m = 1;
        return valid_date(*y, *m, *d);
    }
    int week = -1, wday = 1, yday = -1;
    if (pfx(s, n, "DDDD-WDD-D")) {
        week = num(s + 6, 2);
        wday = num(s + 9, 1);
    } else if (pfx(s, n, "DDDDWDDD")) {
        week = num(s + 5, 2);
        wday = num(s + 7, 1);
    } else if (pfx(s, n, "DDDD-DDD")) {
        yday = num(s + 5, 3);
    } else if (pfx(s, n, "DDDDDDD")) {
        yday = num(s + 4, 3);
    } else if (pfx(s, n, "DDDD-WDD")) {
        week = num(s + 6, 2);
    } else if (pfx(s, n, "DDDDWDD")) {
        week = num(s + 5, 2);
    } else if (pfx(s, n, "DDDD-DD") || pfx(s, n, "DDDDDD")) {
        *y = num(s, 4);
        *m = num(s + (s[4] == '-' ? 5 : 4), 2);
        if (*m == 0)
            *m = 1;
        *d = 1;
        return valid_date(*y, *m, *d);
    } else if (pfx(s, n, "DDDD")) {
        *y = num(s, 4);
        *m = *d = 1;
        return valid_date(*y, 1, 1);
    } else if (pfx(s, n, "DD")) {
        *y = num(s, 2) * 100 + 1;
        *m = *d = 1;
        return true;
    } else {
        return false;
    }
    int yr = num(s, 4);
    if (!valid_date(yr, 1, 1))
        return false;
    base = days_of(yr, 1, 1);
    if (week >= 0) {
        int iso_wd = (int)(base % 7) + 1;          /* day 0 (0001-01-01) is a Monday */
        int first_week_is_1 = iso_wd <= 4;
        base += 7 * (int64_t)(week - first_week_is_1) - iso_wd + wday;
    } else {
        base += yday - 1;
    }
    return date_of(base, y, m, d);
}

/* Fraction digits f[0..k) of one unit, scaled: returns floor(F * mul / 10^k)
 * and the remainder numerator (F * mul mod 10^k) over 10^k. */
typedef unsigned __int128 u128;
static u128 pow10u(int k)
{
    u128 p = 1;
    while (k-- > 0)
        p *= 10;
    return p;
}

/* microseconds from a remainder r/10^k (exact), rounded half-even. */
static int64_t micro_round(u128 r, int k)
{
    u128 den = pow10u(k);
    u128 num6 = r * 1000000u;
    u128 q = num6 / den, rem = num6 % den;
    if (rem * 2 > den || (rem * 2 == den && (q & 1)))
        q++;
    return (int64_t)q;
}

static bool iso_time(const char *s, size_t n, SeedTime *t)
{
    int shape;                          /* 3 = h:m:s, 2 = h:m, 1 = h */
    size_t i;
    if (pfx(s, n, "DD:DD:DD")) { shape = 3; i = 8; }
    else if (pfx(s, n, "DDDDDD")) { shape = 3; i = 6; }
    else if (pfx(s, n, "DD:DD")) { shape = 2; i = 5; }
    else if (pfx(s, n, "DDDD")) { shape = 2; i = 4; }
    else if (pfx(s, n, "DD")) { shape = 1; i = 2; }
    else return false;
    bool ext = n > 2 && s[2] == ':';
    int h = num(s, 2);
    int mi = shape >= 2 ? num(s + (ext ? 3 : 2), 2) : 0;
    int sec = shape == 3 ? num(s + (ext ? 6 : 4), 2) : 0;
    /* fraction */
    const char *fr = NULL;
    int fk = 0;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && dig(s[i + 1])) {
        fr = s + i + 1;
        size_t j = i + 1;
        while (j < n && dig(s[j]))
            j++;
        fk = (int)(j - i - 1);
        i = j;
    }
    /* time zone */
    t->aware = false;
    t->off_min = 0;
    if (i < n && s[i] == 'Z') {
        t->aware = true;
    } else if (i + 2 < n && (s[i] == '+' || s[i] == '-') && dig(s[i + 1]) && dig(s[i + 2])) {
        int sign = s[i] == '-' ? -1 : 1;
        int th = num(s + i + 1, 2), tm = 0;
        size_t j = i + 3;
        if (j + 2 < n && s[j] == ':' && dig(s[j + 1]) && dig(s[j + 2]))
            tm = num(s + j + 1, 2);
        else if (j + 1 < n && dig(s[j]) && dig(s[j + 1]))
            tm = num(s + j, 2);
        t->aware = true;
        t->off_min = sign * (th * 60 + tm);
    }
    int64_t us = 0;
    if (fr) {
        int k = fk > 20 ? 20 : fk;
        u128 F = 0;
        for (int q = 0; q < k; q++)
            F = F * 10 + (u128)(fr[q] - '0');
        u128 den = pow10u(k);
        if (shape == 3) {
            /* Decimal(second).quantize(.000001): half-even on the full fraction */
            int64_t q6 = 0;
            for (int q = 0; q < 6; q++)
                q6 = q6 * 10 + (q < fk ? fr[q] - '0' : 0);
            if (fk > 6) {
                int first = fr[6] - '0';
                bool more = false;
                for (int q = 7; q < fk; q++)
                    if (fr[q] != '0')
                        more = true;
                if (first > 5 || (first == 5 && (more || (q6 & 1))))
                    q6++;
            }
            if (q6 == 1000000) {
                q6 = 0;
                sec++;
            }
            us = q6;
        } else if (shape == 2) {
            u128 x = F * 60;
            sec = (int)(x / den);
            us = micro_round(x % den, k);
        } else {
            u128 x = F * 60;
            mi = (int)(x / den);
            u128 y = (x % den) * 60;
            sec = (int)(y / den);
            us = micro_round(y % den, k);
        }
    }
    if (h > 23 || mi > 59 || sec > 59 || us > 999999)
        return false;
    t->h = h;
    t->mi = mi;
    t->s = sec;
    t->us = (int)us;
    return true;
}

int seedtype_parse_isodatetime(const char *s, size_t n, SeedTime *out)
{
    size_t b, e;
    seedtype_strip(s, n, &b, &e);
    if (e == b || ieq(s + b, e - b, "null"))
        return 0;
    const char *p = s + b;
    size_t m = e - b;
    const char *tpos = NULL;
    for (size_t i = 0; i < m; i++)
        if (p[i] == 'T') {
            if (tpos)
                return -1;
            tpos = p + i;
        }
    if (!tpos)
        return -1;
    memset(out, 0, sizeof *out);
    if (!iso_date(p, (size_t)(tpos - p), &out->y, &out->mo, &out->d))
        return -1;
    if (!iso_time(tpos + 1, m - (size_t)(tpos - p) - 1, out))
        return -1;
    return 1;
}

static int bool_core(const char *t, size_t m, bool *out)
{
    if (m == 4 && memcmp(t, "true", 4) == 0) {
        *out = true;
        return 1;
    }
    if (m == 5 && memcmp(t, "false", 5) == 0) {
        *out = false;
        return 1;
    }
    size_t b, e;
    seedtype_strip(t, m, &b, &e);
    if (e == b || ieq(t + b, e - b, "null"))
        return 0;
    if (ieq(t + b, e - b, "true")) {
        *out = true;
        return 1;
    }
    if (ieq(t + b, e - b, "false")) {
        *out = false;
        return 1;
    }
    return -1;
}

int seedtype_parse_bool(const char *s, size_t n, bool *out)
{
    if (!memchr(s, ',', n))
        return bool_core(s, n, out);
    char small[64];
    Sb big = SB_INIT;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',')
            continue;
        if (m < sizeof small)
            small[m] = s[i];
        else {
            if (big.len == 0)
                sb_append(&big, small, m);
            sb_putc(&big, s[i]);
        }
        m++;
    }
    int r = bool_core(big.len ? big.buf : small, m, out);
    sb_free(&big);
    return r;
}

/* ---- inference ---- */

#define ALL_CAND ((1u << SEED__COUNT) - 1)

void seedtype_init(SeedTyper *t, int ncols, const bool *forced)
{
    t->ncols = ncols;
    t->cols = xcalloc((size_t)(ncols > 0 ? ncols : 1), sizeof *t->cols);
    for (int i = 0; i < ncols; i++) {
        t->cols[i].cand = ALL_CAND;
        t->cols[i].forced = forced && forced[i];
        t->cols[i].max_whole = 1;
        t->cols[i].max_dec = 0;
    }
}

void seedtype_free(SeedTyper *t)
{
    free(t->cols);
    t->cols = NULL;
    t->ncols = 0;
}

/* v = the number when it is a finite whole number within int32. */
static bool num_int4(const SeedNum *num, int64_t *v)
{
    if (num->kind != SNUM_FINITE || num->exp < 0 || num->ndigits + num->exp > 10)
        return false;
    int64_t x = 0;
    for (int i = 0; i < num->ndigits; i++)
        x = x * 10 + (num->digits[i] - '0');
    for (int64_t k = 0; k < num->exp; k++)
        x *= 10;
    if (num->neg)
        x = -x;
    if (x < INT32_MIN || x > INT32_MAX)
        return false;
    *v = x;
    return true;
}

/* A finite number strtod turns into a normal double, far from overflow and
 * underflow (float8in raises errors there): zero, or 1e-300 <= |v| < 1e300. */
static bool num_float8_safe(const SeedNum *num)
{
    if (num->ndigits == 1 && num->digits[0] == '0')
        return true;
    int64_t adj = num->ndigits + num->exp - 1;     /* decimal exponent of the leading digit */
    return adj >= -300 && adj < 299;
}

static void test_value(SeedCol *c, const char *s, size_t n)
{
    SeedNum num;
    SeedTime tm;
    bool b;
    if (c->cand & (1u << SEED_NUMBER)) {
        int r = seedtype_parse_number(s, n, &num);
        if (r < 0)
            c->cand &= ~(1u << SEED_NUMBER);
        else if (r == 1 && num.kind == SNUM_FINITE) {
            int64_t places = -num.exp;
            int64_t whole = (int64_t)num.ndigits - places;
            if (whole > c->max_whole)
                c->max_whole = whole;
            if (places > c->max_dec)
                c->max_dec = places;
            int64_t v;
            if (!c->not_int4 && !num_int4(&num, &v))
                c->not_int4 = true;
            if (!c->not_float8 && !num_float8_safe(&num))
                c->not_float8 = true;
        } else if (r == 1) {
            c->not_int4 = true;                    /* NaN / Infinity: int4in rejects "NaN" */
        }
    }
    if ((c->cand & (1u << SEED_DATE)) && seedtype_parse_date(s, n, &tm) < 0)
        c->cand &= ~(1u << SEED_DATE);
    if ((c->cand & (1u << SEED_DATETIME)) && seedtype_parse_datetime(s, n, &tm) < 0)
        c->cand &= ~(1u << SEED_DATETIME);
    if (c->cand & (1u << SEED_ISODATETIME)) {
        int r = seedtype_parse_isodatetime(s, n, &tm);
        if (r < 0)
            c->cand &= ~(1u << SEED_ISODATETIME);
        else if (r == 1 && tm.aware)
            c->any_aware = true;
    }
    if ((c->cand & (1u << SEED_BOOLEAN)) && seedtype_parse_bool(s, n, &b) < 0)
        c->cand &= ~(1u << SEED_BOOLEAN);
}

void seedtype_feed(SeedTyper *t, const char *const *f, const size_t *len, int n)
{
    for (int i = 0; i < n && i < t->ncols; i++) {
        SeedCol *c = &t->cols[i];
        if (c->forced || !f[i] || c->cand == (1u << SEED_TEXT))
            continue;
        test_value(c, f[i], len[i]);
    }
}

SeedType seedtype_result(const SeedTyper *t, int col)
{
    const SeedCol *c = &t->cols[col];
    if (c->forced)
        return SEED_TEXT;
    for (int k = 0; k < SEED__COUNT; k++)
        if (c->cand & (1u << k))
            return (SeedType)k;
    return SEED_TEXT;
}

bool seedtype_is_integer(const SeedTyper *t, int col)
{
    const SeedCol *c = &t->cols[col];
    int64_t dec = c->max_dec;
    if (c->max_whole + c->max_dec > DEC_PREC)
        dec = DEC_PREC - c->max_whole;
    return dec == 0;
}

const char *seedtype_sql(const SeedTyper *t, int col)
{
    switch (seedtype_result(t, col)) {
    case SEED_NUMBER: return seedtype_is_integer(t, col) ? "integer" : "float8";
    case SEED_DATE: return "date";
    case SEED_DATETIME:
    case SEED_ISODATETIME: return "timestamp without time zone";
    case SEED_BOOLEAN: return "boolean";
    default: return "text";
    }
}

/* ---- values ---- */

static void put_number(Sb *out, const SeedNum *v)
{
    if (v->kind != SNUM_FINITE) {
        sb_puts(out, "NaN");                 /* psycopg2 renders every non-finite Decimal as 'NaN'::numeric */
        return;
    }
    if (v->ndigits == 1 && v->digits[0] == '0') {
        sb_putc(out, '0');
        return;
    }
    if (v->exp < -64 || v->exp > 64) {
        if (v->neg)
            sb_putc(out, '-');
        sb_append(out, v->digits, (size_t)v->ndigits);
        sb_printf(out, "E%lld", (long long)v->exp);
        return;
    }
    /* at most 1 + 28 digits + 64 zeros + "0." */
    char b[128], *p = b;
    if (v->neg)
        *p++ = '-';
    if (v->exp >= 0) {
        memcpy(p, v->digits, (size_t)v->ndigits);
        p += v->ndigits;
        memset(p, '0', (size_t)v->exp);
        p += v->exp;
    } else {
        int64_t point = v->ndigits + v->exp;  /* digits before the decimal point */
        if (point <= 0) {
            *p++ = '0';
            *p++ = '.';
            memset(p, '0', (size_t)-point);
            p += -point;
            memcpy(p, v->digits, (size_t)v->ndigits);
            p += v->ndigits;
        } else {
            memcpy(p, v->digits, (size_t)point);
            p += point;
            *p++ = '.';
            memcpy(p, v->digits + point, (size_t)(v->ndigits - point));
            p += v->ndigits - point;
        }
    }
    sb_append(out, b, (size_t)(p - b));
}

/* Zero-padded decimal of v (0 <= v) in exactly w digits. */
static char *put_digits(char *p, int v, int w)
{
    for (int i = w - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + w;
}

static void put_date(Sb *out, const SeedTime *t)
{
    char b[16], *p = b;
    p = put_digits(p, t->y, 4);
    *p++ = '-';
    p = put_digits(p, t->mo, 2);
    *p++ = '-';
    p = put_digits(p, t->d, 2);
    sb_append(out, b, (size_t)(p - b));
}

static void put_ts(Sb *out, const SeedTime *t)
{
    put_date(out, t);
    char b[24], *p = b;
    *p++ = ' ';
    p = put_digits(p, t->h, 2);
    *p++ = ':';
    p = put_digits(p, t->mi, 2);
    *p++ = ':';
    p = put_digits(p, t->s, 2);
    if (t->us) {
        *p++ = '.';
        p = put_digits(p, t->us, 6);
    }
    sb_append(out, b, (size_t)(p - b));
}

int seedtype_value(Sb *out, SeedType t, bool as_integer, bool utc, const char *s, size_t n, const char **why)
{
    if (!s)
        return 0;
    SeedNum num;
    SeedTime tm;
    bool b;
    int r;
    switch (t) {
    case SEED_NUMBER:
        if ((r = seedtype_parse_number(s, n, &num)) <= 0)
            return r < 0 ? -1 : 0;
        (void)as_integer;
        put_number(out, &num);
        return 1;
    case SEED_DATE:
        if ((r = seedtype_parse_date(s, n, &tm)) <= 0)
            return r < 0 ? -1 : 0;
        put_date(out, &tm);
        return 1;
    case SEED_DATETIME:
        if ((r = seedtype_parse_datetime(s, n, &tm)) <= 0)
            return r < 0 ? -1 : 0;
        put_ts(out, &tm);
        return 1;
    case SEED_ISODATETIME:
        if ((r = seedtype_parse_isodatetime(s, n, &tm)) <= 0)
            return r < 0 ? -1 : 0;
        if (tm.aware && (tm.off_min >= 24 * 60 || tm.off_min <= -24 * 60)) {
            if (why)
                *why = "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)";
            return -1;
        }
        if (tm.aware && utc) {
            int64_t mins = days_of(tm.y, tm.mo, tm.d) * 1440 + tm.h * 60 + tm.mi - tm.off_min;
            int64_t days = mins >= 0 ? mins / 1440 : -((-mins + 1439) / 1440);
            int64_t rem = mins - days * 1440;
            if (!date_of(days, &tm.y, &tm.mo, &tm.d)) {
                if (why)
                    *why = "date value out of range";
                return -1;
            }
            tm.h = (int)(rem / 60);
            tm.mi = (int)(rem % 60);
            tm.aware = false;
        }
        put_ts(out, &tm);
        if (tm.aware) {
            int a = tm.off_min < 0 ? -tm.off_min : tm.off_min;
            sb_printf(out, "%c%02d:%02d", tm.off_min < 0 ? '-' : '+', a / 60, a % 60);
        }
        return 1;
    case SEED_BOOLEAN:
        if ((r = seedtype_parse_bool(s, n, &b)) <= 0)
            return r < 0 ? -1 : 0;
        sb_puts(out, b ? "true" : "false");
        return 1;
    default:
        if (seedtype_is_null(s, n))
            return 0;
        sb_append(out, s, n);
        return 1;
    }
}

/* No byte of w is a tab, newline, CR (or any byte below 0x0E) or a backslash. */
static inline bool word_plain(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t low = (w - ones * 0x0E) & ~w & highs;
    uint64_t bs = w ^ (ones * '\\');
    bs = (bs - ones) & ~bs & highs;
    return (low | bs) == 0;
}

void seedtype_copy_escape(Sb *out, const char *s, size_t n)
{
    size_t run = 0, i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (word_plain(w)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = (unsigned char)s[i++];
        if (c > '\r' && c != '\\')
            continue;
        const char *esc;
        switch (c) {
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: continue;
        }
        sb_append(out, s + run, i - 1 - run);
        sb_append(out, esc, 2);
        run = i;
    }
    sb_append(out, s + run, n - run);
}

/* A plain numeral whose normalised text (put_number) is itself: [-]digits
 * [.digits], no leading zero (a single 0 before the point is fine), no
 * trailing zero after the point, no point without digits after it, not -0,
 * at most DEC_PREC digits. */
static bool canonical_number(const char *s, size_t n)
{
    size_t i = s[0] == '-', ib = i;
    while (i < n && dig(s[i]))
        i++;
    size_t in = i - ib, fn = 0;
    if (in == 0 || (in > 1 && s[ib] == '0'))
        return false;
    if (i < n && s[i] == '.') {
        size_t fb = ++i;
        while (i < n && dig(s[i]))
            i++;
        fn = i - fb;
        if (fn == 0 || s[i - 1] == '0')
            return false;
    }
    if (i != n || in + fn > DEC_PREC)
        return false;
    return !(ib == 1 && in == 1 && fn == 0 && s[1] == '0');
}

int seedtype_copy_value(Sb *out, SeedType t, const char *s, size_t n, char sep, const char **why)
{
    int r = 1;
    if (!s) {
        r = 0;
    } else if (t == SEED_TEXT) {
        if (seedtype_is_null(s, n))
            r = 0;
        else
            seedtype_copy_escape(out, s, n);
    } else {
        /* values whose normalised text is the field itself go through as they are */
        SeedTime tm;
        bool same = n && ((t == SEED_NUMBER && canonical_number(s, n)) ||
                          (t == SEED_DATE && ymd_shape(s, n, false, &tm) == 1) ||
                          (t == SEED_DATETIME && ymd_shape(s, n, true, &tm) == 1) ||
                          (t == SEED_BOOLEAN && ((n == 4 && memcmp(s, "true", 4) == 0) ||
                                                 (n == 5 && memcmp(s, "false", 5) == 0))));
        if (same) {
            sb_append(out, s, n);
        } else {
            size_t mark = out->len;
            r = seedtype_value(out, t, false, false, s, n, why);
            if (r < 0) {
                sb_truncate(out, mark);
                return -1;
            }
        }
    }
    char tail[3] = {'\\', 'N', sep};
    if (r == 0)
        sb_append(out, tail, sep ? 3 : 2);
    else if (sep)
        sb_append(out, &sep, 1);
    return r;
}

/* ---- binary COPY ---- */

SeedBin seedtype_bin_kind(const SeedTyper *t, int col, bool staged)
{
    const SeedCol *c = &t->cols[col];
    if (c->forced)
        return SEED_BIN_NONE;
    switch (seedtype_result(t, col)) {
    case SEED_NUMBER:
        if (seedtype_is_integer(t, col))
            return c->not_int4 ? SEED_BIN_NONE : SEED_BIN_INT4;
        return c->not_float8 ? SEED_BIN_NONE : SEED_BIN_FLOAT8;
    case SEED_DATE: return SEED_BIN_DATE;
    case SEED_DATETIME: return SEED_BIN_TIMESTAMP;
    case SEED_ISODATETIME: return staged ? SEED_BIN_TEXT : SEED_BIN_TIMESTAMP;
    case SEED_BOOLEAN: return SEED_BIN_BOOL;
    default: return SEED_BIN_TEXT;
    }
}

static inline char *be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
    return p + 4;
}

static inline char *be64(char *p, uint64_t v)
{
    p = be32(p, (uint32_t)(v >> 32));
    return be32(p, (uint32_t)v);
}

void seedtype_bin_header(Sb *out)
{
    static const char sig[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";   /* signature, flags 0, extension 0 */
    sb_append(out, sig, sizeof sig);
}

void seedtype_bin_trailer(Sb *out)
{
    sb_append(out, "\377\377", 2);
}

void seedtype_bin_tuple(Sb *out, int nfields)
{
    char b[2] = {(char)(nfields >> 8), (char)nfields};
    sb_append(out, b, 2);
}

/* The double float8in (strtod) makes of the normalised decimal: exact when
 * the digits and the power of ten are both exact doubles (one rounding),
 * else strtod itself on the same decimal. */
static double num_double(const SeedNum *num)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (num->kind != SNUM_FINITE)
        return NAN;                            /* psycopg2 sends every non-finite Decimal as NaN */
    if (num->ndigits == 1 && num->digits[0] == '0')
        return 0.0;
    double v;
    if (num->ndigits <= 15 && num->exp >= -22 && num->exp <= 22) {
        int64_t m = 0;
        for (int i = 0; i < num->ndigits; i++)
            m = m * 10 + (num->digits[i] - '0');
        v = num->exp >= 0 ? (double)m * p10[num->exp] : (double)m / p10[-num->exp];
    } else {
        char b[64];
        snprintf(b, sizeof b, "%.*se%lld", num->ndigits, num->digits, (long long)num->exp);
        v = strtod(b, NULL);
    }
    return num->neg ? -v : v;
}

static const int64_t PG_EPOCH_DAYS = 730119;   /* days_of(2000, 1, 1) */

int seedtype_bin_value(Sb *out, SeedBin kind, SeedType t, const char *s, size_t n, const char **why)
{
    char b[16];
    char *p = b + 4;
    int r;
    if (!s) {
        r = 0;
    } else if (kind == SEED_BIN_TEXT) {
        size_t mark = out->len;
        if (t == SEED_TEXT) {                    /* the field's bytes */
            r = seedtype_is_null(s, n) ? 0 : 1;
            if (r == 1) {
                sb_append(out, "\0\0\0\0", 4);        /* length: set below */
                sb_append(out, s, n);
            }
        } else {                                 /* a staged ISO column: its normalised text */
            sb_append(out, "\0\0\0\0", 4);
            r = seedtype_value(out, t, false, false, s, n, why);
            if (r != 1)
                sb_truncate(out, mark);
        }
        if (r < 0)
            return -1;
        if (r == 1) {
            size_t len = out->len - mark - 4;
            if (len > INT32_MAX) {
                sb_truncate(out, mark);
                return -2;
            }
            be32(out->buf + mark, (uint32_t)len);
            return 1;
        }
    } else {
        SeedNum num;
        SeedTime tm;
        bool bv;
        switch (kind) {
        case SEED_BIN_INT4:
        case SEED_BIN_FLOAT8:
            if (t != SEED_NUMBER)
                return -2;
            r = seedtype_parse_number(s, n, &num);
            if (r == 1) {
                if (kind == SEED_BIN_INT4) {
                    int64_t v;
                    if (!num_int4(&num, &v))
                        return -2;
                    p = be32(p, (uint32_t)(int32_t)v);
                } else {
                    if (num.kind == SNUM_FINITE && !num_float8_safe(&num))
                        return -2;
                    double d = num_double(&num);
                    uint64_t bits;
                    memcpy(&bits, &d, 8);
                    p = be64(p, bits);
                }
            }
            break;
        case SEED_BIN_DATE:
            if (t != SEED_DATE)
                return -2;
            if ((r = ymd_shape(s, n, false, &tm)) == -2)
                r = seedtype_parse_date(s, n, &tm);
            if (r == 1)
                p = be32(p, (uint32_t)(int32_t)(days_of(tm.y, tm.mo, tm.d) - PG_EPOCH_DAYS));
            break;
        case SEED_BIN_TIMESTAMP:
            if (t == SEED_DATETIME) {
                if ((r = ymd_shape(s, n, true, &tm)) == -2)
                    r = seedtype_parse_datetime(s, n, &tm);
            } else if (t == SEED_ISODATETIME) {
                r = seedtype_parse_isodatetime(s, n, &tm);
                if (r == 1 && tm.aware)
                    return -2;                   /* offsets go through the staging table */
            } else {
                return -2;
            }
            if (r == 1) {
                int64_t days = days_of(tm.y, tm.mo, tm.d) - PG_EPOCH_DAYS;
                int64_t us = ((days * 24 + tm.h) * 60 + tm.mi) * 60 + tm.s;
                p = be64(p, (uint64_t)(us * 1000000 + tm.us));
            }
            break;
        case SEED_BIN_BOOL:
            if (t != SEED_BOOLEAN)
                return -2;
            r = seedtype_parse_bool(s, n, &bv);
            if (r == 1)
                *p++ = bv ? 1 : 0;
            break;
        default:
            return -2;
        }
        if (r < 0)
            return -1;
        if (r == 1) {
            be32(b, (uint32_t)(p - b - 4));
            sb_append(out, b, (size_t)(p - b));
            return 1;
        }
    }
    sb_append(out, "\377\377\377\377", 4);             /* NULL */
    return 0;
}
