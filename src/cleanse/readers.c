/* readers.c - turns input bytes into records for the Cleanser: tolerant
 * CSV/TSV (quotes, doubled quotes, CRLF, BOM, header binding), text lines
 * through a PCRE2 pattern with named groups, NDJSON objects with dotted
 * paths, and COPY text rows (SQL input).  Dirt never stops a read: wrong
 * field counts, unterminated quotes, invalid UTF-8, NUL bytes, over-long
 * fields, empty files and truncated last lines become rejects with a reason.
 * Files are mapped read-only (memory stays flat).  Rules run in rules.c. */
#define _GNU_SOURCE
#include "cpriv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../base/utf8.h"

#define RAW_CAP 65536

struct CleanseReader {
    Cleanser *c;
    Sb *out;
    size_t chunk;
    CleanseEmitFn emit; void *ud;
    bool (*cancelled)(void *ud); void *cancel_ud;
    /* record being built (pointers into the buffer or the row arena) */
    const char **f; size_t *fn; int nf, fcap;
    const char **slot; size_t *slotn;
    Arena scratch;                 /* unescaped fields; reset per record */
    int expect;                    /* csv: expected field count (-1 unknown) */
    int64_t nrec;
    Diag *err;
    Diag own;                      /* used when no caller Diag is given */
};

CleanseReader *cleanse_reader_new(Cleanser *c, Sb *out, size_t chunk, CleanseEmitFn emit, void *ud)
{
    CleanseReader *r = xcalloc(1, sizeof *r);
    r->c = c;
    r->out = out;
    r->chunk = chunk ? chunk : 256 * 1024;
    r->emit = emit;
    r->ud = ud;
    r->fcap = 64;
    r->f = xmalloc(sizeof *r->f * (size_t)r->fcap);
    r->fn = xmalloc(sizeof *r->fn * (size_t)r->fcap);
    int ns = c->s->nfields + 1;
    r->slot = xcalloc((size_t)ns, sizeof *r->slot);
    r->slotn = xcalloc((size_t)ns, sizeof *r->slotn);
    arena_init(&r->scratch, 64 * 1024);
    r->expect = -1;
    r->err = &r->own;
    return r;
}

void cleanse_reader_free(CleanseReader *r)
{
    if (!r)
        return;
    free(r->f);
    free(r->fn);
    free(r->slot);
    free(r->slotn);
    arena_free(&r->scratch);
    diag_clear(&r->own);
    free(r);
}

void cleanse_reader_set_cancel(CleanseReader *r, bool (*cancelled)(void *ud), void *ud)
{
    r->cancelled = cancelled;
    r->cancel_ud = ud;
}

static inline void push_field(CleanseReader *r, const char *p, size_t n)
{
    if (r->nf == r->fcap) {
        r->fcap *= 2;
        r->f = xrealloc(r->f, sizeof *r->f * (size_t)r->fcap);
        r->fn = xrealloc(r->fn, sizeof *r->fn * (size_t)r->fcap);
    }
    r->f[r->nf] = p;
    r->fn[r->nf] = n;
    r->nf++;
}

static size_t rawcap(size_t n) { return n > RAW_CAP ? RAW_CAP : n; }

static int after_record(CleanseReader *r)
{
    if (r->emit && r->out->len >= r->chunk && r->emit(r->ud, r->out) != 0)
        return -1;
    if ((++r->nrec & 4095) == 0 && r->cancelled && r->cancelled(r->cancel_ud)) {
        diag_set(r->err, NULL, 0, 0, NULL, "cancelled");
        return -1;
    }
    return 0;
}

static int reject(CleanseReader *r, int64_t line, const char *why, const char *raw, size_t n)
{
    if (cleanser_reject(r->c, line, why, raw, rawcap(n)) != 0) {
        diag_set(r->err, NULL, 0, 0, NULL, "writing rejects failed");
        return -1;
    }
    return after_record(r);
}

/* Map positional fields to slots and run the row. */
static int deliver(CleanseReader *r, int64_t line, const char *raw, size_t rawn)
{
    Cleanser *c = r->c;
    for (int i = 0; i < c->nslots; i++) {
        int pos = c->slot_pos[i];
        r->slot[i] = pos >= 0 && pos < r->nf ? r->f[pos] : NULL;
        r->slotn[i] = pos >= 0 && pos < r->nf ? r->fn[pos] : 0;
    }
    CleanseRec rec = {r->slot, r->slotn, c->nslots, line, raw, rawcap(rawn)};
    if (cleanser_row(c, &rec, r->out) != 0) {
        diag_set(r->err, NULL, 0, 0, NULL, "writing rejects failed");
        return -1;
    }
    return after_record(r);
}

/* ---- CSV */

typedef enum { CSV_OK, CSV_UNTERMINATED, CSV_AFTER_QUOTE, CSV_LONG } CsvStatus;

/* Parse one record starting at buf[*pos].  Sets *end (one past the record,
 * after its newline) and *nl_count (newlines consumed), *had_nl. */
static CsvStatus csv_record(CleanseReader *r, const char *buf, size_t len, size_t *pos, int *nlines, bool *had_nl)
{
    const CleanseSpec *s = r->c->s;
    char d = s->delim, q = s->quote;
    size_t i = *pos;
    CsvStatus st = CSV_OK;
    *nlines = 0;
    *had_nl = false;
    r->nf = 0;
    for (;;) {
        size_t fs = i;
        if (q && i < len && buf[i] == q) {
            /* quoted field */
            i++;
            size_t start = i;
            bool copy = false;
            size_t close = (size_t)-1;
            while (i < len) {
                if (buf[i] == q) {
                    if (i + 1 < len && buf[i + 1] == q) {
                        copy = true;
                        i += 2;
                        continue;
                    }
                    close = i;
                    break;
                }
                if (buf[i] == '\n')
                    (*nlines)++;
                i++;
                if (i - start > s->max_field)
                    break;
            }
            if (close == (size_t)-1)
                return CSV_UNTERMINATED;
            size_t n = close - start;
            if (n > s->max_field && st == CSV_OK)
                st = CSV_LONG;
            if (copy) {
                char *o = arena_alloc(&r->scratch, n + 1);
                size_t k = 0;
                for (size_t j = start; j < close; j++) {
                    o[k++] = buf[j];
                    if (buf[j] == q)
                        j++;
                }
                o[k] = 0;
                push_field(r, o, k);
            } else {
                push_field(r, buf + start, n);
            }
            i = close + 1;
            if (i < len && buf[i] != d && buf[i] != '\n' && !(buf[i] == '\r' && (i + 1 == len || buf[i + 1] == '\n'))) {
                if (st == CSV_OK)
                    st = CSV_AFTER_QUOTE;
                while (i < len && buf[i] != d && buf[i] != '\n')
                    i++;
            }
        } else {
            const char *p = buf + i;
            size_t rem = len - i, k = 0;
            while (k < rem && p[k] != d && p[k] != '\n')
                k++;
            size_t n = k;
            if (n && p[n - 1] == '\r' && (k == rem || p[k] == '\n'))
                n--;
            if (n > s->max_field && st == CSV_OK)
                st = CSV_LONG;
            push_field(r, p, n);
            i += k;
        }
        (void)fs;
        if (i >= len) {
            *pos = i;
            return st;
        }
        if (buf[i] == d) {
            i++;
            continue;
        }
        if (buf[i] == '\r')
            i++;
        if (i < len && buf[i] == '\n') {
            i++;
            (*nlines)++;
            *had_nl = true;
        }
        *pos = i;
        return st;
    }
}

/* The reason a raw line (or record) is rejected before parsing: a NUL byte
 * or invalid UTF-8; NULL when it is clean. */
static const char *line_dirt(const char *p, size_t n)
{
    if (memchr(p, 0, n))
        return "NUL byte";
    if (!cl_utf8_valid(p, n))
        return "invalid UTF-8";
    return NULL;
}

static size_t line_end(const char *buf, size_t len, size_t from)
{
    const char *nl = memchr(buf + from, '\n', len - from);
    return nl ? (size_t)(nl - buf) : len;
}

static int read_csv(CleanseReader *r, const char *buf, size_t len, bool clean)
{
    Cleanser *c = r->c;
    const CleanseSpec *s = c->s;
    size_t pos = 0;
    int64_t line = 1;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    bool header_done = !s->header;
    r->expect = -1;
    if (!s->header)
        for (int i = 0; i < c->nslots; i++)
            c->slot_pos[i] = -1;
    if (!s->header)
        for (int i = 0; i < s->ncols; i++)
            if (s->cols[i].field >= 0)
                c->slot_pos[s->cols[i].field] = s->cols[i].source_index;
    while (pos < len) {
        size_t start = pos;
        /* skip blank lines */
        if (buf[pos] == '\n' || (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n')) {
            pos += buf[pos] == '\r' ? 2 : 1;
            line++;
            continue;
        }
        arena_reset(&r->scratch);
        int nl;
        bool had_nl;
        size_t le = 0, rawn = 0;
        if (!clean) {
            le = line_end(buf, len, start);
            rawn = le - start;
            if (rawn && buf[start + rawn - 1] == '\r')
                rawn--;
            /* physical-line checks first: NUL bytes, invalid UTF-8 */
            const char *why = line_dirt(buf + start, le - start);
            if (why) {
                pos = le < len ? le + 1 : len;
                if (reject(r, line, why, buf + start, rawn) != 0)
                    return -1;
                line++;
                continue;
            }
        }
        CsvStatus st = csv_record(r, buf, len, &pos, &nl, &had_nl);
        if (st == CSV_UNTERMINATED) {
            le = line_end(buf, len, start);
            rawn = le - start;
            if (rawn && buf[start + rawn - 1] == '\r')
                rawn--;
            /* resume after the physical line where the record started */
            pos = le < len ? le + 1 : len;
            bool last = le >= len;
            if (reject(r, line, last ? "truncated last line (unterminated quote)" : "unterminated quote",
                       buf + start, rawn) != 0)
                return -1;
            line++;
            continue;
        }
        size_t recn = pos - start;
        while (recn && (buf[start + recn - 1] == '\n' || buf[start + recn - 1] == '\r'))
            recn--;
        if (!clean && nl > (had_nl ? 1 : 0)) {
            /* multi-line record: check the continuation lines too */
            const char *why = line_dirt(buf + start, recn);
            if (why) {
                if (reject(r, line, why, buf + start, recn) != 0)
                    return -1;
                line += nl ? nl : 1;
                continue;
            }
        }
        int64_t this_line = line;
        line += nl ? nl : 1;
        if (!header_done) {
            header_done = true;
            const char **names = ARENA_ARRAY(&r->scratch, const char *, r->nf + 1);
            for (int k = 0; k < r->nf; k++) {
                names[k] = arena_strndup(&r->scratch, r->f[k], r->fn[k]);
                char *t = (char *)names[k];          /* trim header names */
                size_t tl = strlen(t);
                while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
                    t[--tl] = 0;
                while (*t == ' ' || *t == '\t')
                    names[k] = ++t;
            }
            r->expect = r->nf;
            if (cleanser_bind_names(c, names, r->nf, cleanser_source(c), r->err) != 0)
                return -1;
            continue;
        }
        if (r->expect < 0)
            r->expect = r->nf;
        if (r->nf != r->expect) {
            char why[96];
            if (!had_nl && pos >= len && r->nf < r->expect)
                snprintf(why, sizeof why, "truncated last line (%d of %d fields)", r->nf, r->expect);
            else
                snprintf(why, sizeof why, "wrong field count: expected %d, got %d", r->expect, r->nf);
            if (reject(r, this_line, arena_strdup(&r->scratch, why), buf + start, recn) != 0)
                return -1;
            continue;
        }
        if (st == CSV_LONG) {
            char why[64];
            snprintf(why, sizeof why, "field longer than %zu bytes", s->max_field);
            if (reject(r, this_line, arena_strdup(&r->scratch, why), buf + start, recn) != 0)
                return -1;
            continue;
        }
        if (st == CSV_AFTER_QUOTE) {
            if (reject(r, this_line, "text after a closing quote", buf + start, recn) != 0)
                return -1;
            continue;
        }
        if (deliver(r, this_line, buf + start, recn) != 0)
            return -1;
    }
    if (!header_done) {
        /* nothing at all */
    }
    return 0;
}

/* ---- regex lines */

static int read_regex(CleanseReader *r, const char *buf, size_t len, bool clean)
{
    Cleanser *c = r->c;
    const CleanseSpec *s = c->s;
    pcre2_code *re = s->re;
    for (int i = 0; i < s->ncols; i++)
        if (s->cols[i].field >= 0) {
            int num = pcre2_substring_number_from_name(re, (PCRE2_SPTR)s->cols[i].source);
            c->slot_pos[s->cols[i].field] = num >= 0 ? num : s->cols[i].source_index + 1;
        }
    uint32_t cap = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &cap);
    size_t pos = 0;
    int64_t line = 0;
    while (pos < len) {
        size_t le = line_end(buf, len, pos);
        size_t n = le - pos;
        const char *p = buf + pos;
        pos = le < len ? le + 1 : len;
        line++;
        if (n && p[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        const char *why = clean ? NULL : line_dirt(p, n);
        if (why) {
            if (reject(r, line, why, p, n) != 0)
                return -1;
            continue;
        }
        if (n > s->max_field * 4) {
            if (reject(r, line, "line too long", p, n) != 0)
                return -1;
            continue;
        }
        int rc = pcre2_match(re, (PCRE2_SPTR)p, n, 0, PCRE2_NO_UTF_CHECK, c->md, NULL);
        if (rc < 0) {
            if (reject(r, line, le >= len && n ? "no match (truncated last line?)" : "no match", p, n) != 0)
                return -1;
            continue;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        r->nf = 0;
        for (uint32_t g = 0; g <= cap; g++) {
            if ((int)g < rc && ov[2 * g] != PCRE2_UNSET)
                push_field(r, p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
            else
                push_field(r, NULL, 0);
        }
        if (deliver(r, line, p, n) != 0)
            return -1;
    }
    return 0;
}

/* ---- NDJSON */

static const char *jws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static const char *jvalue(const char *p, const char *e, int depth);

static const char *jstring(const char *p, const char *e)
{
    if (p >= e || *p != '"')
        return NULL;
    for (p++; p < e; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            return p + 1;
        if (ch < 0x20)
            return NULL;
        if (ch == '\\') {
            p++;
            if (p >= e)
                return NULL;
            if (*p == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (p + k >= e || !strchr("0123456789abcdefABCDEF", p[k]) || !p[k])
                        return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
    }
    return NULL;
}

static const char *jvalue(const char *p, const char *e, int depth)
{
    if (depth > 64)
        return NULL;
    p = jws(p, e);
    if (p >= e)
        return NULL;
    if (*p == '"')
        return jstring(p, e);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = jws(p + 1, e);
        if (p < e && *p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                p = jstring(jws(p, e), e);
                if (!p)
                    return NULL;
                p = jws(p, e);
                if (p >= e || *p != ':')
                    return NULL;
                p++;
            }
            p = jvalue(p, e, depth + 1);
            if (!p)
                return NULL;
            p = jws(p, e);
            if (p < e && *p == ',') {
                p++;
                continue;
            }
            if (p < e && *p == close)
                return p + 1;
            return NULL;
        }
    }
    if (e - p >= 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0))
        return p + 4;
    if (e - p >= 5 && memcmp(p, "false", 5) == 0)
        return p + 5;
    const char *s = p;
    if (p < e && *p == '-')
        p++;
    if (p >= e || *p < '0' || *p > '9')
        return NULL;
    while (p < e && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
        p++;
    return p > s ? p : NULL;
}

static void put_utf8(char *o, size_t *k, unsigned cp)
{
    *k += (size_t)utf8_encode(o + *k, cp);
}

/* Unescape a validated JSON string token [p, e) (with quotes). */
static void junescape(Arena *a, const char *p, const char *e, const char **out, size_t *outn)
{
    p++, e--;
    if (!memchr(p, '\\', (size_t)(e - p))) {
        *out = p;
        *outn = (size_t)(e - p);
        return;
    }
    char *o = arena_alloc(a, (size_t)(e - p) + 1);
    size_t k = 0;
    while (p < e) {
        if (*p != '\\') {
            o[k++] = *p++;
            continue;
        }
        p++;
        char ch = *p++;
        switch (ch) {
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp = (unsigned)strtoul((char[5]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && e - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = (unsigned)strtoul((char[5]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0)
                cp = 0xFFFD;
            put_utf8(o, &k, cp);
            break;
        }
        default: o[k++] = ch; break;
        }
    }
    *out = o;
    *outn = k;
}

/* Find path in a validated object; returns the value span or NULL. */
static const char *jfind(const char *p, const char *e, const char *const *path, int npath, const char **vend)
{
    p = jws(p, e);
    if (p >= e || *p != '{')
        return NULL;
    p = jws(p + 1, e);
    if (p < e && *p == '}')
        return NULL;
    size_t seglen = strlen(path[0]);
    for (;;) {
        const char *ks = jws(p, e), *ke = jstring(ks, e);
        const char *vs = jws(ke, e) + 1;        /* past ':' */
        vs = jws(vs, e);
        const char *ve = jvalue(vs, e, 0);
        if ((size_t)(ke - ks - 2) == seglen && memcmp(ks + 1, path[0], seglen) == 0) {
            if (npath == 1) {
                *vend = ve;
                return vs;
            }
            return jfind(vs, ve, path + 1, npath - 1, vend);
        }
        p = jws(ve, e);
        if (*p != ',')
            return NULL;
        p++;
    }
}

static int read_ndjson(CleanseReader *r, const char *buf, size_t len, bool clean)
{
    Cleanser *c = r->c;
    const CleanseSpec *s = c->s;
    for (int i = 0; i < c->nslots; i++)
        c->slot_pos[i] = i;
    size_t pos = 0;
    int64_t line = 0;
    while (pos < len) {
        size_t le = line_end(buf, len, pos);
        size_t n = le - pos;
        const char *p = buf + pos;
        pos = le < len ? le + 1 : len;
        line++;
        if (n && p[n - 1] == '\r')
            n--;
        const char *e = p + n;
        if (jws(p, e) == e)
            continue;
        arena_reset(&r->scratch);
        const char *why = clean ? NULL : line_dirt(p, n);
        if (why) {
            if (reject(r, line, why, p, n) != 0)
                return -1;
            continue;
        }
        const char *ve = jvalue(p, e, 0);
        if (!ve || jws(ve, e) != e || *jws(p, e) != '{') {
            if (reject(r, line, le >= len ? "invalid JSON (truncated last line?)" : "invalid JSON", p, n) != 0)
                return -1;
            continue;
        }
        r->nf = 0;
        for (int i = 0; i < c->nslots; i++)
            push_field(r, NULL, 0);
        bool toolong = false;
        for (int i = 0; i < s->ncols; i++) {
            const CleanseCol *col = &s->cols[i];
            if (col->field < 0)
                continue;
            const char *vend = NULL;
            const char *vs = jfind(p, e, col->path, col->npath, &vend);
            if (!vs || (vend - vs == 4 && memcmp(vs, "null", 4) == 0))
                continue;
            const char *fv;
            size_t fl;
            if (*vs == '"')
                junescape(&r->scratch, vs, vend, &fv, &fl);
            else
                fv = vs, fl = (size_t)(vend - vs);
            if (fl > s->max_field)
                toolong = true;
            r->f[col->field] = fv;
            r->fn[col->field] = fl;
        }
        if (toolong) {
            char msg[64];
            snprintf(msg, sizeof msg, "field longer than %zu bytes", s->max_field);
            if (reject(r, line, arena_strdup(&r->scratch, msg), p, n) != 0)
                return -1;
            continue;
        }
        if (deliver(r, line, p, n) != 0)
            return -1;
    }
    return 0;
}

/* ---- entry points */

static char *latin1_to_utf8(const char *buf, size_t len, size_t *outlen)
{
    char *o = xmalloc(len * 2 + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch < 0x80) {
            o[k++] = (char)ch;
        } else {
            o[k++] = (char)(0xC0 | (ch >> 6));
            o[k++] = (char)(0x80 | (ch & 0x3F));
        }
    }
    *outlen = k;
    return o;
}

int cleanse_read_buffer(CleanseReader *r, const char *source, const char *buf, size_t len, Diag *err)
{
    Cleanser *c = r->c;
    const CleanseSpec *s = c->s;
    r->err = err;
    cleanser_set_source(c, source);
    size_t k = 0;
    while (k < len && (buf[k] == ' ' || buf[k] == '\n' || buf[k] == '\r' || buf[k] == '\t'))
        k++;
    if (k == len)
        return reject(r, 0, "empty file", buf, 0);
    char *conv = NULL;
    if (s->latin1) {
        conv = latin1_to_utf8(buf, len, &len);
        buf = conv;
    }
    bool clean = !memchr(buf, 0, len) && cl_utf8_valid(buf, len);
    int rc;
    if (s->format == CF_REGEX)
        rc = read_regex(r, buf, len, clean);
    else if (s->format == CF_NDJSON)
        rc = read_ndjson(r, buf, len, clean);
    else
        rc = read_csv(r, buf, len, clean);
    free(conv);
    return rc;
}

int cleanse_read_file(CleanseReader *r, const char *path, const char *label, Diag *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        diag_set(err, NULL, 0, 0, NULL, "cannot open %s: %s", label, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        diag_set(err, NULL, 0, 0, NULL, "cannot stat %s: %s", label, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        close(fd);
        r->err = err;
        cleanser_set_source(r->c, label);
        return reject(r, 0, "empty file", "", 0);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        diag_set(err, NULL, 0, 0, NULL, "cannot read %s: %s", label, strerror(errno));
        return -1;
    }
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    int rc = cleanse_read_buffer(r, label, m, (size_t)st.st_size, err);
    munmap(m, (size_t)st.st_size);
    return rc;
}

/* COPY text row: fields split on tab, backslash escapes, \N = NULL. */
int cleanse_read_copy_line(CleanseReader *r, const char *line, size_t n)
{
    if (n && line[n - 1] == '\n')
        n--;
    arena_reset(&r->scratch);
    r->nf = 0;
    size_t i = 0;
    for (;;) {
        size_t st = i;
        bool esc = false;
        while (i < n && line[i] != '\t') {
            if (line[i] == '\\')
                esc = true, i++;
            i++;
        }
        if (i > n)
            i = n;
        size_t fl = i - st;
        if (fl == 2 && line[st] == '\\' && line[st + 1] == 'N') {
            push_field(r, NULL, 0);
        } else if (!esc) {
            push_field(r, line + st, fl);
        } else {
            char *o = arena_alloc(&r->scratch, fl + 1);
            size_t k = 0;
            for (size_t j = st; j < st + fl; j++) {
                if (line[j] != '\\' || j + 1 >= st + fl) {
                    o[k++] = line[j];
                    continue;
                }
                char ch = line[++j];
                switch (ch) {
                case 'b': o[k++] = '\b'; break;
                case 'f': o[k++] = '\f'; break;
                case 'n': o[k++] = '\n'; break;
                case 'r': o[k++] = '\r'; break;
                case 't': o[k++] = '\t'; break;
                case 'v': o[k++] = '\v'; break;
                case 'x': {
                    unsigned v = 0;
                    int d = 0;
                    while (d < 2 && j + 1 < st + fl && strchr("0123456789abcdefABCDEF", line[j + 1]) && line[j + 1])
                        v = v * 16 + (unsigned)(line[j + 1] <= '9' ? line[j + 1] - '0' : (line[j + 1] | 32) - 'a' + 10), j++, d++;
                    o[k++] = (char)v;
                    break;
                }
                default:
                    if (ch >= '0' && ch <= '7') {
                        unsigned v = (unsigned)(ch - '0');
                        int d = 1;
                        while (d < 3 && j + 1 < st + fl && line[j + 1] >= '0' && line[j + 1] <= '7')
                            v = v * 8 + (unsigned)(line[j + 1] - '0'), j++, d++;
                        o[k++] = (char)v;
                    } else {
                        o[k++] = ch;
                    }
                }
            }
            o[k] = 0;
            push_field(r, o, k);
        }
        if (i >= n)
            break;
        i++;
    }
    return deliver(r, r->c->st.in + 1, line, n);
}
