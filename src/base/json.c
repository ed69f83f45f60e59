/* json.c - streaming JSON writer into an Sb.
 *
 * Owns comma/indent placement, string escaping (Python json.dumps with
 * ensure_ascii=False) and float formatting (Python repr).  What goes into
 * an artifact, and in which key order, is decided by the callers.
 *
 * Speed matters (manifest.json is tens of MB on large projects): every item
 * reserves its room once and writes straight into the buffer; strings are
 * scanned 8 bytes at a time for characters that need escaping and copied in
 * clean runs; doubles take an exact integer path (shortest_digits) instead
 * of printf/strtod whenever it provably gives the same text. */
#include "json.h"
#include "arena.h"
#include "fs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_SINK_CHUNK (256u * 1024u)

static void newline_indent(JsonW *w)
{
    sb_putc(w->out, '\n');
    for (int i = 0; i < w->depth; i++)
        sb_append(w->out, "  ", 2);
}

void json_set_sink(JsonW *w, int fd)
{
    w->has_sink = true;
    w->sink_fd = fd;
    w->sink_errno = 0;
    w->flush_at = JSON_SINK_CHUNK;
    /* one chunk plus headroom, so the buffer rarely grows */
    sb_reserve(w->out, JSON_SINK_CHUNK + JSON_SINK_CHUNK / 4);
}

int json_flush(JsonW *w)
{
    if (!w->has_sink)
        return 0;
    if (w->out->len && !w->sink_errno && fs_atomic_write(w->sink_fd, w->out->buf, w->out->len) != 0)
        w->sink_errno = errno ? errno : EIO;
    w->flushed += w->out->len;
    sb_reset(w->out);
    if (w->sink_errno) {
        errno = w->sink_errno;
        return -1;
    }
    return 0;
}

void json_init(JsonW *w, Sb *out, bool pretty)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->pretty = pretty;
    w->flush_at = SIZE_MAX;
    w->sep = JSON_SEP_NONE;
}

void json_init_spaced(JsonW *w, Sb *out)
{
    json_init(w, out, false);
    w->spaced = true;
}

/* The separator for pretty or spaced output, then room for n bytes. */
static char *item_slow(JsonW *w, size_t n)
{
    Sb *o = w->out;
    if (w->sep == JSON_SEP_COMMA)
        sb_append(o, ", ", w->spaced ? 2 : 1);
    if (w->pretty && w->sep != JSON_SEP_NONE)
        newline_indent(w);
    sb_reserve(o, n);
    return o->buf + o->len;
}

/* Start an item (value or key) needing at most n bytes (the terminating NUL
 * is accounted for here): flushes a full chunk, writes the separator, and
 * returns where the item's text goes. */
static inline char *item(JsonW *w, size_t n)
{
    Sb *o = w->out;
    if (o->len >= w->flush_at)
        json_flush(w);
    if (w->pretty || w->spaced)
        return item_slow(w, n);
    if (o->cap - o->len < n + 2)
        sb_reserve(o, n + 1);
    char *p = o->buf + o->len;
    if (w->sep == JSON_SEP_COMMA)
        *p++ = ',';
    return p;
}

/* End an item at p: NUL-terminate, set len, choose the next separator. */
static inline void item_end(JsonW *w, char *p, unsigned next_sep)
{
    Sb *o = w->out;
    *p = '\0';
    o->len = (size_t)(p - o->buf);
    w->sep = next_sep;
}

static inline unsigned after_value(const JsonW *w)
{
    return w->depth > 0 ? JSON_SEP_COMMA : JSON_SEP_NONE;
}

static void open_container(JsonW *w, char c)
{
    char *p = item(w, 1);
    *p++ = c;
    w->depth++;
    item_end(w, p, JSON_SEP_FIRST);
}

static void close_container(JsonW *w, char c)
{
    bool nonempty = w->sep != JSON_SEP_FIRST && w->depth > 0;
    if (w->depth > 0)
        w->depth--;
    if (w->pretty && nonempty)
        newline_indent(w);
    Sb *o = w->out;
    if (o->cap - o->len < 2)
        sb_reserve(o, 1);
    char *p = o->buf + o->len;
    *p++ = c;
    item_end(w, p, after_value(w));
}

void json_obj_begin(JsonW *w) { open_container(w, '{'); }
void json_obj_end(JsonW *w)   { close_container(w, '}'); }
void json_arr_begin(JsonW *w) { open_container(w, '['); }
void json_arr_end(JsonW *w)   { close_container(w, ']'); }

/* ------------------------------------------------------------ escaping */

/* 1 for the bytes json_escape must rewrite: control chars, '"' and '\\'. */
static const unsigned char kNeedsEscape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
    [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
    [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
    ['"'] = 1, ['\\'] = 1,
};

/* The letter after the backslash for the bytes with a short escape; 0 for
 * the other control chars (\u00XX). */
static const char kShortEscape[256] = {
    ['"'] = '"', ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\b'] = 'b', ['\f'] = 'f',
};

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The high bit of each byte of x that is < 0x20, '"' or '\\' (the classic
 * "has zero byte" test).  Subtraction borrows can also mark a byte that
 * follows a marked one, never one before it: on little-endian the lowest
 * marked byte is always a true hit. */
static inline uint64_t special_bytes(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    /* ~x keeps only bytes < 0x80 (q and b have the same high bits as x) */
    return ((x - ONES * 0x20) | (q - ONES) | (b - ONES)) & ~x & HIGHS;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
#define JSON_SWAR 1
#endif

#if defined(__SSE2__) && defined(JSON_SWAR)
#include <emmintrin.h>
/* One bit per byte of x that is < 0x20, '"' or '\\' (exact: SIMD
 * compares have no borrows between bytes). */
static inline unsigned special16(__m128i x)
{
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
    __m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
    __m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(q, b)));
}
#define JSON_SSE2 1
#endif

/* Copies the bytes of [*sp, end) that need no escaping to *pp, up to the
 * first one that does (or end); advances both.  The destination has room
 * for end - *sp bytes. */
static inline void copy_clean(char **pp, const char **sp, const char *end)
{
    char *p = *pp;
    const char *s = *sp;
#ifdef JSON_SSE2
    /* SQL text has a newline every few dozen bytes: 16 at a time takes
     * half the instructions of the word loop below on such runs */
    while (end - s >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
        _mm_storeu_si128((__m128i *)(void *)p, x);   /* bytes from the hit on are rewritten */
        unsigned hit = special16(x);
        if (hit) {
            size_t k = (size_t)__builtin_ctz(hit);
            *pp = p + k;
            *sp = s + k;
            return;
        }
        s += 16;
        p += 16;
    }
#endif
#ifdef JSON_SWAR
    while (end - s >= 8) {
        uint64_t x;
        memcpy(&x, s, 8);
        memcpy(p, &x, 8);          /* whole word; bytes from the hit on are rewritten */
        uint64_t hit = special_bytes(x);
        if (hit) {
            size_t k = (size_t)__builtin_ctzll(hit) >> 3;
            *pp = p + k;
            *sp = s + k;
            return;
        }
        s += 8;
        p += 8;
    }
#endif
    while (s < end && !kNeedsEscape[(unsigned char)*s])
        *p++ = *s++;
    *pp = p;
    *sp = s;
}

/* Writes s as a quoted JSON string at p, inside o.  On entry there is room
 * at p for n + 2 + extra bytes; on return, for extra more after the result
 * (o may have been reallocated: the returned pointer is the valid one). */
static char *escape_at(Sb *o, char *p, const char *s, size_t n, size_t extra)
{
    static const char hx[] = "0123456789abcdef";
    const char *end = s + n;
    *p++ = '"';
    for (;;) {
        copy_clean(&p, &s, end);
        if (s == end)
            break;
        /* this byte takes up to 6 bytes where 1 was reserved */
        size_t used = (size_t)(p - o->buf), need = (size_t)(end - s) + 6 + 1 + extra;
        if (o->cap - used < need) {
            o->len = used;
            sb_reserve(o, need);
            p = o->buf + used;
        }
        unsigned char c = (unsigned char)*s++;
        *p++ = '\\';
        /* a table rather than a switch: SQL alternates newlines and quotes,
         * which kept the switch's indirect jump mispredicted */
        char e = kShortEscape[c];
        if (e) {
            *p++ = e;
        } else {
            p[0] = 'u';
            p[1] = '0';
            p[2] = '0';
            p[3] = hx[c >> 4];
            p[4] = hx[c & 15];
            p += 5;
        }
    }
    *p++ = '"';
    return p;
}

void json_escape(Sb *out, const char *s, size_t n)
{
    sb_reserve(out, n + 2);
    char *p = escape_at(out, out->buf + out->len, s, n, 1);
    *p = '\0';
    out->len = (size_t)(p - out->buf);
}

/* ------------------------------------------------------------ keys and scalars */

/* The ':' (and ' ' when pretty or spaced) after a key ending at p. */
static void key_end(JsonW *w, char *p)
{
    *p++ = ':';
    if (w->pretty || w->spaced)
        *p++ = ' ';
    item_end(w, p, JSON_SEP_NONE);
}

void json_keyn(JsonW *w, const char *k, size_t n)
{
    char *p = item(w, n + 4);
    key_end(w, escape_at(w->out, p, k, n, 3));
}

void json_key_plain_slow(JsonW *w, const char *k, size_t n)
{
    char *p = item(w, n + 4);
    *p++ = '"';
    memcpy(p, k, n);
    p += n;
    *p++ = '"';
    key_end(w, p);
}

void json_key_raw(JsonW *w, const char *k, size_t n)
{
    char *p = item(w, n + 2);
    memcpy(p, k, n);
    key_end(w, p + n);
}

void json_strn(JsonW *w, const char *s, size_t n)
{
    if (!s) {
        json_null(w);
        return;
    }
    char *p = item(w, n + 2);
    p = escape_at(w->out, p, s, n, 1);
    item_end(w, p, after_value(w));
}

void json_int(JsonW *w, int64_t v)
{
    char buf[24];
    char *d = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--d = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--d = '-';
    size_t n = (size_t)(buf + sizeof buf - d);
    char *p = item(w, n);
    memcpy(p, d, n);
    item_end(w, p + n, after_value(w));
}

void json_rawn_slow(JsonW *w, const char *s, size_t n)
{
    char *p = item(w, n);
    memcpy(p, s, n);
    item_end(w, p + n, after_value(w));
}

size_t json_pad_slot(JsonW *w, size_t start)
{
    static const char spaces[64] = "                                                                ";
    size_t len = json_offset(w) - start, slot = json_slot_len(len);
    for (size_t left = slot - len; left;) {
        size_t k = left < sizeof spaces ? left : sizeof spaces;
        sb_append(w->out, spaces, k);
        left -= k;
    }
    return slot;
}

void json_fork(JsonW *f, Sb *out, const JsonW *w, bool after_item)
{
    json_init(f, out, w->pretty);
    f->spaced = w->spaced;
    f->depth = w->depth;
    f->sep = after_item ? JSON_SEP_COMMA : JSON_SEP_FIRST;
}

void json_splice(JsonW *w, const char *s, size_t n)
{
    if (!n)
        return;
    Sb *o = w->out;
    if (w->has_sink && o->len + n >= w->flush_at) {
        json_flush(w);
        if (n >= w->flush_at) {         /* large: straight to the sink */
            if (!w->sink_errno && fs_atomic_write(w->sink_fd, s, n) != 0)
                w->sink_errno = errno ? errno : EIO;
            w->flushed += n;
            w->sep = JSON_SEP_COMMA;
            return;
        }
    }
    sb_append(o, s, n);
    w->sep = JSON_SEP_COMMA;
}

void json_raw(JsonW *w, const char *s)
{
    json_rawn(w, s, strlen(s));
}

/* ------------------------------------------------------------ memo */

struct JsonMemoEnt {
    const void *key;    /* NULL: free slot */
    size_t aux;
    size_t off, len;    /* the text, in JsonMemo.text */
};

/* Beyond this much text a memo stops storing (it keeps serving what it has). */
#define JSON_MEMO_MAX_TEXT (16u * 1024u * 1024u)

static size_t memo_slot(const JsonMemo *m, const void *key, size_t aux)
{
    uint64_t h = ((uint64_t)(uintptr_t)key ^ (uint64_t)aux) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & m->mask;
}

bool json_memo_hit(JsonW *w, const JsonMemo *m, const void *key, size_t aux)
{
    if (!m->tab || w->pretty || w->spaced)    /* compact text only */
        return false;
    for (size_t i = memo_slot(m, key, aux);; i = (i + 1) & m->mask) {
        const JsonMemoEnt *e = &m->tab[i];
        if (!e->key)
            return false;
        if (e->key == key && e->aux == aux) {
            json_rawn(w, m->text.buf + e->off, e->len);
            return true;
        }
    }
}

JsonMark json_memo_mark(const JsonW *w)
{
    /* compact: a value's separator is at most its comma */
    return (JsonMark){w->flushed, w->out->len + (w->sep == JSON_SEP_COMMA ? 1 : 0)};
}

static void memo_insert(JsonMemo *m, JsonMemoEnt e)
{
    size_t i = memo_slot(m, e.key, e.aux);
    while (m->tab[i].key)
        i = (i + 1) & m->mask;
    m->tab[i] = e;
}

void json_memo_store(JsonW *w, JsonMemo *m, const void *key, size_t aux, JsonMark mk)
{
    if (w->pretty || w->spaced || !key || w->flushed != mk.flushed || mk.at > w->out->len)
        return;
    size_t len = w->out->len - mk.at;
    if (m->text.len + len > JSON_MEMO_MAX_TEXT)
        return;
    if (2 * (m->used + 1) > (m->tab ? m->mask + 1 : 0)) {
        size_t cap = m->tab ? 2 * (m->mask + 1) : 64;
        JsonMemoEnt *old = m->tab;
        size_t oldn = old ? m->mask + 1 : 0;
        m->tab = xcalloc(cap, sizeof *m->tab);
        m->mask = cap - 1;
        for (size_t i = 0; i < oldn; i++)
            if (old[i].key)
                memo_insert(m, old[i]);
        free(old);
    }
    JsonMemoEnt e = {key, aux, m->text.len, len};
    sb_append(&m->text, w->out->buf + mk.at, len);
    memo_insert(m, e);
    m->used++;
}

void json_memo_clear(JsonMemo *m)
{
    if (m->tab)
        memset(m->tab, 0, (m->mask + 1) * sizeof *m->tab);
    m->used = 0;
    sb_reset(&m->text);
}

void json_memo_free(JsonMemo *m)
{
    free(m->tab);
    sb_free(&m->text);
    m->tab = NULL;
    m->mask = m->used = 0;
}

/* ------------------------------------------------------------ doubles */

/* The digits (trailing zeros stripped) and decimal point position of the
 * shortest correctly rounded decimal that reads back as v > 0, computed with
 * printf and strtod.  Round-tripping is monotonic in the precision (the
 * correctly rounded p+1 digit decimal is at least as close to v as the p
 * digit one), so a binary search over 0..16 finds the same precision as
 * trying each in turn, in at most 5 conversions.  Returns the digit count. */
static int slow_shortest(double v, char *digits, int *decpt)
{
    char buf[40];
    int lo = 0, hi = 16;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, sizeof buf, "%.*e", mid, v);
        if (strtod(buf, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(buf, sizeof buf, "%.*e", lo, v);
    /* buf is d[.ddd]e(+|-)XX: collect digits and exponent. */
    const char *p = buf;
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    *decpt = exp10 + 1;
    return nd;
}

#if defined(__SIZEOF_INT128__)
typedef unsigned __int128 u128;

static const uint64_t kPow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

static int count_digits(uint64_t x)
{
    int d = 1;
    while (d < 20 && x >= kPow10[d])
        d++;
    return d;
}

/* slow_shortest's result by exact integer arithmetic, for the doubles where
 * that is quick and provably the same; 0 when v is not one of them.
 *
 * v = m * 2^e.  X = v * 10^q = m * 5^q * 2^(q+e) is held exactly as A / 2^t
 * with q chosen so that floor(X) = N has 17 or 18 digits.  For n = 1..17
 * significant digits, rounding N (with the exact fraction) half-to-even to a
 * multiple U of 10^(D-n) gives printf's %.*e digits; the candidate C reads
 * back as v when |C - X| is below half an ulp of v (scaled: 5^q * 2^(q+e-1)),
 * or equal to it with m even (strtod rounds ties to even).  Since the ulp
 * interval is symmetric unless v is a power of two, "reads back" is monotonic
 * in n there and the first n that passes is the binary search's answer.
 * Powers of two, subnormals, and v outside about [1e-11, 1e17] (where the
 * numbers would not fit 128 bits) are left to slow_shortest. */
/* N + fr / 2^t rounded half-to-even to a multiple of U, as the quotient
 * (never 0), if that multiple reads back as v (see shortest_digits); 0 if not. */
static uint64_t round_check(uint64_t N, u128 fr, int t, u128 A, u128 H, uint64_t m, uint64_t U)
{
    uint64_t Qn = N / U, rem = N % U;
    u128 T2 = (((u128)rem << t) | fr) << 1;           /* 2 * (X - Qn*U) * 2^t */
    u128 W = (u128)U << t;
    if (T2 > W || (T2 == W && (Qn & 1)))
        Qn++;
    u128 C = (u128)(Qn * U) << t;
    u128 diff = C > A ? C - A : A - C;
    diff <<= 1;
    if (diff < H || (diff == H && !(m & 1)))
        return Qn;
    return 0;
}

static int shortest_digits(double v, char *digits, int *decpt)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t frac = bits & ((1ull << 52) - 1);
    if (be == 0 || be == 0x7ff || frac == 0)
        return 0;
    uint64_t m = frac | (1ull << 52);
    int e = be - 1075;
    int e2 = be - 1023;                               /* floor(log2 v) */
    /* floor(log10 v) is k_est or k_est + 1, so N = floor(v * 10^q) has 17 or 18 digits */
    int q = 16 - (int)floor((double)e2 * 0.30102999566398120);
    uint64_t N = 0, pow5 = 0;
    u128 A = 0;
    int t = 0, s2 = 0;
    for (int tries = 0; tries < 2; tries++, q++) {
        if (q < 0 || q > 27)
            return 0;
        pow5 = 1;
        for (int i = 0; i < q; i++)
            pow5 *= 5;
        A = (u128)m * pow5;                           /* < 2^53 * 2^63 */
        s2 = q + e;
        if (s2 >= 0) {
            if (s2 > 60)
                return 0;
            A <<= s2;
            t = 0;
        } else {
            t = -s2;
            if (t > 120)
                return 0;
        }
        u128 Nw = A >> t;
        if (Nw >= (u128)kPow10[18])
            return 0;
        N = (uint64_t)Nw;
        if (N >= kPow10[16])
            break;
        if (tries == 1)
            return 0;
    }
    if (N < kPow10[16])
        return 0;
    u128 fr = t ? A & (((u128)1 << t) - 1) : 0;
    int D = count_digits(N);                          /* 17 or 18 */
    u128 H = (u128)pow5 << (s2 > 0 ? s2 : 0);         /* 2 * half ulp, scaled by 2^t */
    /* binary search for the fewest digits that read back (monotonic, see above) */
    int lo = 1, hi = 17;
    uint64_t best = 0;
    while (lo <= hi) {
        int n = (lo + hi) / 2;
        uint64_t r = round_check(N, fr, t, A, H, m, kPow10[D - n]);
        if (r) {
            best = r;
            hi = n - 1;
        } else {
            lo = n + 1;
        }
    }
    if (!best || lo > 17)
        return 0;
    int j = D - lo;
    char tmp[24];
    int L = 0;
    for (uint64_t x = best; x; x /= 10)
        tmp[L++] = (char)('0' + x % 10);
    int nd = 0;
    for (int i = L - 1; i >= 0; i--)
        digits[nd++] = tmp[i];
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    *decpt = L + j - q;
    return nd;
}
#else
static int shortest_digits(double v, char *digits, int *decpt)
{
    (void)v; (void)digits; (void)decpt;
    return 0;
}
#endif

/* Python repr(float): shortest digits that round-trip, fixed notation when
 * the decimal point position is in (-4, 16], exponent notation otherwise. */
size_t json_format_double(char *buf, double v)
{
    char *p = buf;
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        const char *s = v < 0 ? "-Infinity" : "Infinity";
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        return n;
    }
    if (v == 0) {
        const char *s = signbit(v) ? "-0.0" : "0.0";
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        return n;
    }
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    char digits[24];
    int decpt;
    int nd = shortest_digits(v, digits, &decpt);
    if (!nd)
        nd = slow_shortest(v, digits, &decpt);
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -decpt; i++)
                *p++ = '0';
            memcpy(p, digits, (size_t)nd);
            p += nd;
        } else if (decpt >= nd) {
            memcpy(p, digits, (size_t)nd);
            p += nd;
            for (int i = nd; i < decpt; i++)
                *p++ = '0';
            *p++ = '.';
            *p++ = '0';
        } else {
            memcpy(p, digits, (size_t)decpt);
            p += decpt;
            *p++ = '.';
            memcpy(p, digits + decpt, (size_t)(nd - decpt));
            p += nd - decpt;
        }
    } else {
        int exp10 = decpt - 1;
        *p++ = digits[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t)(nd - 1));
            p += nd - 1;
        }
        *p++ = 'e';
        *p++ = exp10 < 0 ? '-' : '+';
        int a = exp10 < 0 ? -exp10 : exp10;
        if (a >= 100)
            *p++ = (char)('0' + a / 100);
        *p++ = (char)('0' + a / 10 % 10);
        *p++ = (char)('0' + a % 10);
    }
    *p = '\0';
    return (size_t)(p - buf);
}

void json_double(JsonW *w, double v)
{
    char buf[40];
    size_t n = json_format_double(buf, v);
    json_rawn(w, buf, n);
}
