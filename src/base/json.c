/* json.c - streaming JSON writer into an Sb.
 *
 * Owns comma/indent placement, string escaping (Python json.dumps with
 * ensure_ascii=False) and float formatting (Python repr).  What goes into
 * an artifact, and in which key order, is decided by the callers. */
#include "json.h"
#include "fs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 63   /* need_comma[] has 64 entries; deeper levels share the last */

static int lvl(int depth)
{
    return depth < JSON_MAX_DEPTH ? depth : JSON_MAX_DEPTH;
}

static void newline_indent(JsonW *w)
{
    sb_putc(w->out, '\n');
    for (int i = 0; i < w->depth; i++)
        sb_append(w->out, "  ", 2);
}

#define JSON_SINK_CHUNK (256u * 1024u)

void json_set_sink(JsonW *w, int fd)
{
    w->has_sink = true;
    w->sink_fd = fd;
    w->sink_errno = 0;
}

int json_flush(JsonW *w)
{
    if (!w->has_sink)
        return 0;
    if (w->out->len && !w->sink_errno && fs_atomic_write(w->sink_fd, w->out->buf, w->out->len) != 0)
        w->sink_errno = errno ? errno : EIO;
    sb_reset(w->out);
    if (w->sink_errno) {
        errno = w->sink_errno;
        return -1;
    }
    return 0;
}

/* Everything a value or key needs before it: separator and indentation. */
static void before_value(JsonW *w)
{
    if (w->has_sink && w->out->len >= JSON_SINK_CHUNK)
        json_flush(w);
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    int l = lvl(w->depth);
    if (w->need_comma[l])
        sb_append(w->out, ", ", w->spaced ? 2 : 1);
    if (w->pretty)
        newline_indent(w);
    w->need_comma[l] = true;
}

void json_init(JsonW *w, Sb *out, bool pretty)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->pretty = pretty;
}

void json_init_spaced(JsonW *w, Sb *out)
{
    json_init(w, out, false);
    w->spaced = true;
}

static void open_container(JsonW *w, char c)
{
    before_value(w);
    sb_putc(w->out, c);
    w->depth++;
    w->need_comma[lvl(w->depth)] = false;
}

static void close_container(JsonW *w, char c)
{
    bool nonempty = w->need_comma[lvl(w->depth)];
    if (w->depth > 0)
        w->depth--;
    if (w->pretty && nonempty)
        newline_indent(w);
    sb_putc(w->out, c);
    w->after_key = false;
}

void json_obj_begin(JsonW *w) { open_container(w, '{'); }
void json_obj_end(JsonW *w)   { close_container(w, '}'); }
void json_arr_begin(JsonW *w) { open_container(w, '['); }
void json_arr_end(JsonW *w)   { close_container(w, ']'); }

void json_keyn(JsonW *w, const char *k, size_t n)
{
    before_value(w);
    json_escape(w->out, k, n);
    if (w->pretty || w->spaced)
        sb_append(w->out, ": ", 2);
    else
        sb_putc(w->out, ':');
    w->after_key = true;
}

void json_key(JsonW *w, const char *k)
{
    json_keyn(w, k, strlen(k));
}

void json_strn(JsonW *w, const char *s, size_t n)
{
    before_value(w);
    if (!s)
        sb_append(w->out, "null", 4);
    else
        json_escape(w->out, s, n);
}

void json_str(JsonW *w, const char *s)
{
    json_strn(w, s, s ? strlen(s) : 0);
}

void json_int(JsonW *w, int64_t v)
{
    before_value(w);
    char buf[24];
    char *p = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    sb_append(w->out, p, (size_t)(buf + sizeof buf - p));
}

/* Python repr(float): shortest digits that round-trip, fixed notation when
 * the decimal point position is in (-4, 16], exponent notation otherwise. */
static void format_double(Sb *out, double v)
{
    if (isnan(v)) {
        sb_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        sb_puts(out, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (v == 0) {
        sb_puts(out, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest precision that round-trips.  Round-tripping is monotonic in
     * the precision (the correctly rounded p+1 digit decimal is at least as
     * close to v as the p digit one), so a binary search over 0..16 finds
     * the same precision as trying each in turn, in at most 5 conversions. */
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
    /* buf is [-]d[.ddd]e(+|-)XX: collect digits and exponent. */
    const char *p = buf;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int decpt = exp10 + 1;
    if (neg)
        sb_putc(out, '-');
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            sb_append(out, "0.", 2);
            for (int i = 0; i < -decpt; i++)
                sb_putc(out, '0');
            sb_append(out, digits, (size_t)nd);
        } else if (decpt >= nd) {
            sb_append(out, digits, (size_t)nd);
            for (int i = nd; i < decpt; i++)
                sb_putc(out, '0');
            sb_append(out, ".0", 2);
        } else {
            sb_append(out, digits, (size_t)decpt);
            sb_putc(out, '.');
            sb_append(out, digits + decpt, (size_t)(nd - decpt));
        }
    } else {
        sb_putc(out, digits[0]);
        if (nd > 1) {
            sb_putc(out, '.');
            sb_append(out, digits + 1, (size_t)(nd - 1));
        }
        sb_printf(out, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
}

void json_double(JsonW *w, double v)
{
    before_value(w);
    format_double(w->out, v);
}

void json_bool(JsonW *w, bool v)
{
    before_value(w);
    if (v)
        sb_append(w->out, "true", 4);
    else
        sb_append(w->out, "false", 5);
}

void json_null(JsonW *w)
{
    before_value(w);
    sb_append(w->out, "null", 4);
}

void json_raw(JsonW *w, const char *s)
{
    before_value(w);
    sb_puts(w->out, s);
}

/* 1 for the bytes json_escape must rewrite: control chars, '"' and '\\'. */
static const unsigned char kNeedsEscape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
    [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
    [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
    ['"'] = 1, ['\\'] = 1,
};

void json_escape(Sb *out, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    /* Fast path: one copy for strings without anything to escape. */
    size_t first = 0;
    while (first < n && !kNeedsEscape[(unsigned char)s[first]])
        first++;
    sb_reserve(out, n + 2);
    out->buf[out->len++] = '"';
    if (first == n) {
        memcpy(out->buf + out->len, s, n);
        out->len += n;
        out->buf[out->len++] = '"';
        out->buf[out->len] = '\0';
        return;
    }
    size_t run = 0;
    for (size_t i = first; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!kNeedsEscape[c])
            continue;
        sb_append(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':  sb_append(out, "\\\"", 2); break;
        case '\\': sb_append(out, "\\\\", 2); break;
        case '\n': sb_append(out, "\\n", 2); break;
        case '\r': sb_append(out, "\\r", 2); break;
        case '\t': sb_append(out, "\\t", 2); break;
        case '\b': sb_append(out, "\\b", 2); break;
        case '\f': sb_append(out, "\\f", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
            sb_append(out, u, 6);
        }
        }
    }
    sb_append(out, s + run, n - run);
    sb_putc(out, '"');
}
