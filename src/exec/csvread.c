/* csvread.c - the seed CSV reader (§8.1): CPython's _csv reader with the
 * excel dialect, over a 1 MiB buffer so that a file of any size is read with
 * flat memory.
 *
 * Two paths read a record.  The fast path scans a record that lies whole in
 * the buffer and is plain (unquoted fields, or quoted fields without doubled
 * quotes, newlines or text after the closing quote; valid UTF-8; no NUL; no
 * field over the limit; not longer than the header): its fields are left in
 * place and NUL-terminated by overwriting the byte after each field (the
 * delimiter, newline or closing quote), so nothing is copied.  A record
 * running past the end of the buffer moves to the front and more is read.
 * Anything else (and every error) goes to the slow path, a byte-level state
 * machine that copies the record into its own buffer.  Both give the same
 * records, positions and errors.
 *
 * It owns tokenising, UTF-8 validation, header normalisation and located
 * errors.  It leaves null tokens, type inference and value normalisation to
 * seedtype.c, and loading to mat_seed.c.  Positions are absolute byte
 * offsets; the text of an offending line is fetched again (pread, or the
 * caller's memory) only when an error is reported. */
#include "csvread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../base/arena.h"
#include "../base/sb.h"
#include "../base/utf8.h"

#define CSV_BUF (1024 * 1024)
#define CSV_SRC_LINE_MAX 4096          /* bytes of an offending line shown */

typedef enum { ST_START_RECORD, ST_START_FIELD, ST_IN_FIELD, ST_IN_QUOTED, ST_QUOTE_IN_QUOTED } CsvState;

/* A remembered position: for errors reported after reading on. */
typedef struct CsvPos {
    int line;
    uint64_t line_start;
    uint64_t off;
} CsvPos;

struct CsvReader {
    char delim;
    char *display;
    FILE *fp;
    const char *mem;           /* csv_open_mem: the caller's bytes (for error lines) */
    size_t memlen;
    char *buf;                 /* heap, bcap + 1 bytes (room for a final NUL) */
    size_t bcap, blen, bpos;
    uint64_t boff;             /* file offset of buf[0] */
    bool eof;
    /* position of the next byte */
    int line;
    uint64_t line_start;
    /* current record: field i is fbase + starts[i] (fbase = buf on the fast
     * path, data.buf on the slow path) */
    const char *fbase;
    bool fast_rec;             /* read by the fast path: one line, fpos[i].off only */
    Sb data;
    size_t *starts, *lens;
    struct CsvPos *fpos;       /* where each field starts (for errors) */
    struct CsvPos rpos;        /* where the record starts */
    const char **ptrs;
    int nf, capf;
    /* header */
    char **names;
    int ncols;
    bool have_header;
    int64_t row_index;
    bool fast;                 /* the fast path is usable (ASCII delimiter) */
    unsigned char cls[256];    /* fast path: CL_* bits of every byte */
};

#define CL_UNQ 1               /* ends a run of an unquoted field: delimiter, \n, \r, NUL, >= 0x80 */
#define CL_QUO 2               /* ends a run of a quoted field: ", \n, \r, NUL, >= 0x80 */

void csv_letter_name(int i, char *out)
{
    int reps = i / 26 + 1;
    char c = (char)('a' + i % 26);
    for (int k = 0; k < reps; k++)
        out[k] = c;
    out[reps] = '\0';
}

/* ---- input ---- */

/* Read more input after the unread bytes [bpos, blen), which move to the
 * front of the buffer.  1 = read some, 0 = end of input, -1 = read error. */
static int refill(CsvReader *r, Diag *err)
{
    if (r->eof)
        return 0;
    if (!r->fp) {
        r->eof = true;
        return 0;
    }
    size_t keep = r->blen - r->bpos;
    if (keep && r->bpos)
        memmove(r->buf, r->buf + r->bpos, keep);
    r->boff += r->bpos;
    r->bpos = 0;
    r->blen = keep;
    size_t k = keep < r->bcap ? fread(r->buf + keep, 1, r->bcap - keep, r->fp) : 0;
    if (k == 0) {
        r->eof = true;
        if (ferror(r->fp)) {
            diag_set(err, r->display, 0, 0, NULL, "cannot read the CSV file: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    r->blen += k;
    return 1;
}

/* Next byte (0..255), -1 at end of input, -2 on read error. */
static inline int rd(CsvReader *r, Diag *err)
{
    if (r->bpos == r->blen) {
        int k = refill(r, err);
        if (k <= 0)
            return k == 0 ? -1 : -2;
    }
    return (unsigned char)r->buf[r->bpos++];
}

static inline int peek(CsvReader *r, Diag *err)
{
    if (r->bpos == r->blen) {
        int k = refill(r, err);
        if (k <= 0)
            return k == 0 ? -1 : -2;
    }
    return (unsigned char)r->buf[r->bpos];
}

static inline uint64_t cur_off(const CsvReader *r) { return r->boff + r->bpos; }

static void start_input(CsvReader *r, Diag *err)
{
    r->line = 1;
    r->line_start = 0;
    r->eof = false;
    r->boff = 0;
    r->bpos = 0;
    if (r->fp) {
        r->blen = 0;
        refill(r, err);
    } else {
        memcpy(r->buf, r->mem, r->memlen);      /* the fast path writes NULs into its buffer */
        r->blen = r->memlen;
        r->eof = true;                          /* nothing to refill */
    }
    if (r->blen >= 3 && (unsigned char)r->buf[0] == 0xEF && (unsigned char)r->buf[1] == 0xBB &&
        (unsigned char)r->buf[2] == 0xBF) {
        r->bpos = 3;
        r->line_start = 3;
    }
}

/* ---- errors ---- */

/* The text of the line starting at byte offset `start` (without its newline). */
static char *fetch_line(CsvReader *r, uint64_t start)
{
    Sb out = SB_INIT;
    if (!r->fp) {
        for (size_t i = (size_t)start; i < r->memlen && out.len < CSV_SRC_LINE_MAX; i++) {
            char c = r->mem[i];
            if (c == '\n' || c == '\r')
                break;
            sb_putc(&out, c);
        }
        return sb_detach(&out);
    }
    char tmp[512];
    uint64_t at = start;
    int fd = fileno(r->fp);
    while (out.len < CSV_SRC_LINE_MAX) {
        ssize_t k = pread(fd, tmp, sizeof tmp, (off_t)at);
        if (k <= 0)
            break;
        ssize_t i = 0;
        for (; i < k; i++)
            if (tmp[i] == '\n' || tmp[i] == '\r')
                break;
        sb_append(&out, tmp, (size_t)i);
        if (i < k)
            break;
        at += (uint64_t)k;
    }
    if (out.len > CSV_SRC_LINE_MAX)
        sb_truncate(&out, CSV_SRC_LINE_MAX);
    return sb_detach(&out);
}

static void csv_error_at(CsvReader *r, Diag *err, CsvPos p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void csv_error_at(CsvReader *r, Diag *err, CsvPos p, const char *fmt, ...)
{
    Sb msg = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&msg, fmt, ap);
    va_end(ap);
    char *line = fetch_line(r, p.line_start);
    int col = (int)(p.off - p.line_start) + 1;
    diag_set(err, r->display, p.line, col, line, "%s", sb_cstr(&msg));
    free(line);
    sb_free(&msg);
}

static inline CsvPos pos_of(const CsvReader *r, uint64_t off)
{
    CsvPos p = { r->line, r->line_start, off };
    return p;
}

/* ---- records ---- */

static void grow_fields(CsvReader *r, int need)
{
    if (need <= r->capf)
        return;
    int cap = r->capf ? r->capf : 16;
    while (cap < need)
        cap *= 2;
    r->capf = cap;
    r->starts = xrealloc(r->starts, sizeof *r->starts * (size_t)cap);
    r->lens = xrealloc(r->lens, sizeof *r->lens * (size_t)cap);
    r->fpos = xrealloc(r->fpos, sizeof *r->fpos * (size_t)cap);
}

static void save_field(CsvReader *r, size_t fstart, CsvPos fp)
{
    grow_fields(r, r->nf + 1);
    r->fpos[r->nf] = fp;
    r->starts[r->nf] = fstart;
    r->lens[r->nf] = r->data.len - fstart;
    r->nf++;
    sb_putc(&r->data, '\0');
}

/* Consume the continuation bytes of a UTF-8 sequence whose lead byte c was
 * just read at offset at; append the whole sequence to the record. */
static int take_utf8(CsvReader *r, int c, uint64_t at, Diag *err)
{
    unsigned lo, hi;
    int need = utf8_lead((unsigned)c, &lo, &hi);
    if (!need) {
        csv_error_at(r, err, pos_of(r, at), "invalid UTF-8: can't decode byte 0x%02x (invalid start byte)", c);
        return -1;
    }
    char seq[4];
    seq[0] = (char)c;
    for (int k = 1; k <= need; k++) {
        int d = peek(r, err);
        if (d == -2)
            return -1;
        if (d < 0) {
            csv_error_at(r, err, pos_of(r, at), "invalid UTF-8: can't decode byte 0x%02x (unexpected end of data)", c);
            return -1;
        }
        if ((unsigned)d < lo || (unsigned)d > hi) {
            csv_error_at(r, err, pos_of(r, at), "invalid UTF-8: can't decode byte 0x%02x (invalid continuation byte)", c);
            return -1;
        }
        lo = 0x80;
        hi = 0xBF;
        seq[k] = (char)d;
        r->bpos++;
    }
    sb_append(&r->data, seq, (size_t)need + 1);
    return 0;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80) in [p, end):
 * > 0 valid, 0 invalid, -1 valid so far but cut by end.  Same rules as
 * take_utf8 (utf8_lead). */
static int utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned lo, hi;
    int need = utf8_lead(p[0], &lo, &hi);
    if (!need)
        return 0;
    for (int k = 1; k <= need; k++) {
        if (p + k >= end)
            return -1;
        if (p[k] < lo || p[k] > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* The first i in [i, n) whose byte has class bit `bit` (stop is the byte
 * besides \n, \r, NUL and >= 0x80 that has it: the delimiter for CL_UNQ, the
 * quote for CL_QUO); n when none.  Sixteen bytes at a time with SSE2. */
static inline size_t skip_run(const unsigned char *b, size_t i, size_t n, const unsigned char *cls, unsigned bit,
                              unsigned char stop)
{
#ifdef __SSE2__
    const __m128i vs = _mm_set1_epi8((char)stop), vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r');
    const __m128i vz = _mm_setzero_si128();
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vs), _mm_cmpeq_epi8(x, vn)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, vr), _mm_cmpeq_epi8(x, vz)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m) | (unsigned)_mm_movemask_epi8(x);
        if (mask)
            return i + (unsigned)__builtin_ctz(mask);
        i += 16;
    }
#else
    (void)stop;
#endif
    while (i < n && !(cls[b[i]] & bit))
        i++;
    return i;
}

typedef enum { FAST_OK, FAST_SLOW, FAST_MORE } FastRes;

/* The fast path over buf[bpos, blen): FAST_OK = a record was read (fields
 * in place, NUL-terminated, bpos past it); FAST_SLOW = leave this record to
 * the slow path; FAST_MORE = the record runs past the buffer (not at end of
 * input).  Nothing is changed unless FAST_OK. */
/* Step i over the UTF-8 sequence at b[i] (lead byte >= 0x80): FAST_OK, or
 * FAST_SLOW for an invalid one, FAST_MORE when the buffer cuts it. */
static inline FastRes step_utf8(const unsigned char *b, size_t *i, size_t n, bool eof)
{
    int k = utf8_len(b + *i, b + n);
    if (k == 0 || (k < 0 && eof))
        return FAST_SLOW;
    if (k < 0)
        return FAST_MORE;
    *i += (size_t)k;
    return FAST_OK;
}

static FastRes fast_scan(CsvReader *r)
{
    unsigned char *b = (unsigned char *)r->buf;
    const unsigned char *cls = r->cls;
    const unsigned char dl = (unsigned char)r->delim;
    const size_t n = r->blen;
    const bool eof = r->eof;
    size_t i = r->bpos, end;
    bool newline = true;
    int nf = 0;
    if (i == n)
        return eof ? FAST_SLOW : FAST_MORE;
    if (b[i] == '\n' || b[i] == '\r') {               /* blank line: an empty record */
        if (b[i] == '\r' && i + 1 == n && !eof)
            return FAST_MORE;
        end = i + 1 + (b[i] == '\r' && i + 1 < n && b[i + 1] == '\n');
        goto commit;
    }
    for (;;) {
        if (r->have_header && nf == r->ncols)
            return FAST_SLOW;                          /* a field too many: the slow path reports it */
        if (nf == r->capf)
            grow_fields(r, nf + 1);
        size_t fstart = i, s, e;
        unsigned char x;
        if (i < n && b[i] == '"') {
            s = ++i;
            for (;;) {
                i = skip_run(b, i, n, cls, CL_QUO, '"');
                if (i == n)
                    return eof ? FAST_SLOW : FAST_MORE;
                x = b[i];
                if (x == '"')
                    break;
                if (x < 0x80)
                    return FAST_SLOW;                  /* NUL, or a newline inside quotes */
                FastRes u = step_utf8(b, &i, n, eof);
                if (u != FAST_OK)
                    return u;
            }
            e = i++;
            if (i == n) {
                if (!eof)
                    return FAST_MORE;
                x = 0;
            } else {
                x = b[i];
                if (x != dl && x != '\n' && x != '\r')
                    return FAST_SLOW;                  /* doubled quote, or text after the closing quote */
            }
        } else {
            s = i;
            for (;;) {
                i = skip_run(b, i, n, cls, CL_UNQ, dl);
                if (i == n) {
                    if (!eof)
                        return FAST_MORE;
                    x = 0;
                    break;
                }
                x = b[i];
                if (x == dl || x == '\n' || x == '\r')
                    break;
                if (x < 0x80)
                    return FAST_SLOW;                  /* NUL */
                FastRes u = step_utf8(b, &i, n, eof);
                if (u != FAST_OK)
                    return u;
            }
            e = i;
        }
        if (e - s > CSV_FIELD_LIMIT)
            return FAST_SLOW;                          /* may be over the limit in characters */
        r->starts[nf] = s;
        r->lens[nf] = e - s;
        r->fpos[nf].off = r->boff + fstart;          /* line and line_start: those of rpos */
        nf++;
        if (i == n) {                                  /* end of input */
            end = n;
            newline = false;
            break;
        }
        if (x == dl) {
            i++;
            continue;
        }
        if (x == '\r') {
            if (i + 1 == n && !eof)
                return FAST_MORE;
            end = i + 1 + (i + 1 < n && b[i + 1] == '\n');
        } else {
            end = i + 1;
        }
        break;
    }
commit:
    for (int k = 0; k < nf; k++)
        b[r->starts[k] + r->lens[k]] = '\0';      /* the delimiter, newline, closing quote or buf[blen] */
    r->nf = nf;
    r->fbase = r->buf;
    r->fast_rec = true;
    r->bpos = end;
    if (newline) {
        r->line++;
        r->line_start = r->boff + end;
    }
    return FAST_OK;
}

/* Read one record into r->nf / r->data.  *got = 1 record, 0 end of file.
 * When r->have_header, a record longer than the header is an error. */
static int read_record(CsvReader *r, int *got, int *rec_line, Diag *err)
{
    CsvState st = ST_START_RECORD;
    size_t fstart = 0;
    size_t fchars = 0;
    CsvPos quote_pos = { 0, 0, 0 }, extra_pos = { 0, 0, 0 }, fpos = { 0, 0, 0 };
    bool have_extra = false;
    r->nf = 0;
    *got = 0;
    *rec_line = r->line;
    r->rpos = pos_of(r, cur_off(r));
    while (r->fast) {
        FastRes fr = fast_scan(r);
        if (fr == FAST_OK) {
            *got = 1;
            return 0;
        }
        if (fr == FAST_SLOW || (r->bpos == 0 && r->blen == r->bcap))
            break;                                     /* (or a record larger than the buffer) */
        if (refill(r, err) < 0)
            return -1;
    }
    sb_reset(&r->data);
    r->fbase = NULL;
    r->fast_rec = false;
    for (;;) {
        uint64_t at = cur_off(r);
        int c = rd(r, err);
        if (c == -2)
            return -1;
        if (c == -1) {
            if (st == ST_START_RECORD)
                return 0;
            if (st == ST_IN_QUOTED) {
                csv_error_at(r, err, quote_pos, "unterminated quoted field: end of file reached inside the quotes opened here");
                return -1;
            }
            if (st == ST_START_FIELD) {
                fstart = r->data.len;
                fpos = pos_of(r, at);
                if (r->have_header && r->nf == r->ncols && !have_extra) {
                    extra_pos = pos_of(r, at);
                    have_extra = true;
                }
            }
            save_field(r, fstart, fpos);
            break;
        }
        bool nl = false;
        if (c == '\n')
            nl = true;
        else if (c == '\r') {
            nl = true;
            int d = peek(r, err);
            if (d == -2)
                return -1;
            if (d == '\n')
                r->bpos++;
        } else if (c == 0) {
            csv_error_at(r, err, pos_of(r, at), "NUL byte in CSV data");
            return -1;
        }
        if (st == ST_START_RECORD) {
            if (nl) {       /* blank line: an empty record */
                r->line++;
                r->line_start = cur_off(r);
                *got = 1;
                goto done;
            }
            st = ST_START_FIELD;
        }
        if (st == ST_START_FIELD) {
            fstart = r->data.len;
            fpos = pos_of(r, at);
            fchars = 0;
            if (r->have_header && r->nf == r->ncols && !have_extra) {
                extra_pos = pos_of(r, at);
                have_extra = true;
            }
        }
        if (nl && st != ST_IN_QUOTED) {
            save_field(r, fstart, fpos);
            r->line++;
            r->line_start = cur_off(r);
            break;
        }
        switch (st) {
        case ST_START_FIELD:
            if (c == '"') {
                st = ST_IN_QUOTED;
                quote_pos = pos_of(r, at);
                continue;
            }
            if (c == (unsigned char)r->delim) {
                save_field(r, fstart, fpos);
                continue;
            }
            st = ST_IN_FIELD;
            break;
        case ST_IN_FIELD:
            if (c == (unsigned char)r->delim) {
                save_field(r, fstart, fpos);
                st = ST_START_FIELD;
                continue;
            }
            break;
        case ST_IN_QUOTED:
            if (c == '"') {
                st = ST_QUOTE_IN_QUOTED;
                continue;
            }
            if (nl) {
                c = '\n';
                r->line++;
                r->line_start = cur_off(r);
            }
            break;
        case ST_QUOTE_IN_QUOTED:
            if (c == '"') {
                st = ST_IN_QUOTED;
                break;
            }
            if (c == (unsigned char)r->delim) {
                save_field(r, fstart, fpos);
                st = ST_START_FIELD;
                continue;
            }
            st = ST_IN_FIELD;      /* text after the closing quote: kept (non-strict) */
            break;
        default:
            break;
        }
        /* add character c to the field */
        if (fchars >= CSV_FIELD_LIMIT) {
            csv_error_at(r, err, pos_of(r, at), "field larger than field limit (%d)", CSV_FIELD_LIMIT);
            return -1;
        }
        fchars++;
        if (c >= 0x80) {
            if (take_utf8(r, c, at, err) != 0)
                return -1;
        } else {
            sb_putc(&r->data, (char)c);
        }
        /* fast path: a run of plain ASCII bytes within the buffer */
        if (st == ST_IN_FIELD || st == ST_IN_QUOTED) {
            const unsigned char *b = (const unsigned char *)r->buf;
            size_t j = r->bpos, lim = r->blen;
            if (lim - j > CSV_FIELD_LIMIT - fchars)
                lim = j + (CSV_FIELD_LIMIT - fchars);
            unsigned char dl = (unsigned char)r->delim;
            bool quoted = st == ST_IN_QUOTED;
            while (j < lim) {
                unsigned char x = b[j];
                if (x >= 0x80 || x == 0 || x == '\n' || x == '\r' || x == '"' || (!quoted && x == dl))
                    break;
                j++;
            }
            if (j > r->bpos) {
                sb_append(&r->data, r->buf + r->bpos, j - r->bpos);
                fchars += j - r->bpos;
                r->bpos = j;
            }
        }
    }
    *got = 1;
done:
    r->fbase = r->data.buf;
    if (have_extra) {
        csv_error_at(r, err, extra_pos, "Row %lld has %d values, but Table only has %d columns.",
                     (long long)r->row_index, r->nf, r->ncols);
        return -1;
    }
    return 0;
}

/* ---- public ---- */

static CsvReader *new_reader(const char *display, char delim)
{
    CsvReader *r = xcalloc(1, sizeof *r);
    r->display = xstrdup(display ? display : "<csv>");
    r->delim = delim;
    r->fast = delim != '\0' && (unsigned char)delim < 0x80 && delim != '"' && delim != '\n' && delim != '\r';
    for (int c = 0x80; c < 256; c++)
        r->cls[c] = CL_UNQ | CL_QUO;
    r->cls[0] = r->cls['\n'] = r->cls['\r'] = CL_UNQ | CL_QUO;
    r->cls['"'] |= CL_QUO;
    r->cls[(unsigned char)delim] |= CL_UNQ;
    return r;
}

CsvReader *csv_open_file(const char *path, const char *display, char delim, Diag *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        diag_set(err, display ? display : path, 0, 0, NULL, "cannot open the CSV file: %s", strerror(errno));
        return NULL;
    }
    CsvReader *r = new_reader(display ? display : path, delim);
    r->fp = fp;
    r->bcap = CSV_BUF;
    r->buf = xmalloc(CSV_BUF + 1);
    start_input(r, err);
    return r;
}

CsvReader *csv_open_mem(const char *data, size_t len, const char *display, char delim)
{
    CsvReader *r = new_reader(display, delim);
    r->mem = data ? data : "";
    r->memlen = data ? len : 0;
    r->bcap = r->memlen;
    r->buf = xmalloc(r->memlen + 1);
    start_input(r, NULL);
    return r;
}

void csv_close(CsvReader *r)
{
    if (!r)
        return;
    if (r->fp)
        fclose(r->fp);
    free(r->buf);
    for (int i = 0; i < r->ncols; i++)
        free(r->names[i]);
    free(r->names);
    free(r->starts);
    free(r->lens);
    free(r->fpos);
    free(r->ptrs);
    sb_free(&r->data);
    free(r->display);
    free(r);
}

int csv_rewind(CsvReader *r, Diag *err)
{
    if (r->fp) {
        if (fseek(r->fp, 0, SEEK_SET) != 0) {
            diag_set(err, r->display, 0, 0, NULL, "cannot rewind the CSV file: %s", strerror(errno));
            return -1;
        }
        clearerr(r->fp);
    }
    for (int i = 0; i < r->ncols; i++)
        free(r->names[i]);
    free(r->names);
    r->names = NULL;
    r->ncols = 0;
    r->have_header = false;
    r->row_index = 0;
    start_input(r, err);
    return 0;
}

static bool name_taken(char **names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return true;
    return false;
}

int csv_header(CsvReader *r, const char *const **names, int *ncols, Diag *err)
{
    int got, line;
    if (read_record(r, &got, &line, err) != 0)
        return -1;
    if (!got) {
        diag_set(err, r->display, 0, 0, NULL, "the CSV file is empty: a seed needs a header row");
        return -1;
    }
    r->ncols = r->nf;
    r->names = xcalloc((size_t)(r->nf ? r->nf : 1), sizeof *r->names);
    for (int i = 0; i < r->nf; i++) {
        const char *raw = r->fbase + r->starts[i];
        char *base;
        if (r->lens[i] == 0) {
            base = xmalloc((size_t)i / 26 + 2);
            csv_letter_name(i, base);
        } else {
            base = xstrdup(raw);
        }
        char *final = xstrdup(base);
        for (int dup = 2; name_taken(r->names, i, final); dup++) {
            free(final);
            Sb s = SB_INIT;
            sb_printf(&s, "%s_%d", base, dup);
            final = sb_detach(&s);
        }
        free(base);
        r->names[i] = final;
    }
    r->have_header = true;
    r->row_index = 0;
    /* room for a full record of pointers */
    free(r->ptrs);
    r->ptrs = xcalloc((size_t)(r->ncols ? r->ncols : 1), sizeof *r->ptrs);
    grow_fields(r, r->ncols);
    *names = (const char *const *)r->names;
    *ncols = r->ncols;
    return 0;
}

int csv_next(CsvReader *r, CsvRecord *rec, Diag *err)
{
    if (!r->have_header) {
        diag_set(err, r->display, 0, 0, NULL, "internal error: csv_next before csv_header");
        return -1;
    }
    int got, line;
    if (read_record(r, &got, &line, err) != 0)
        return -1;
    if (!got)
        return 0;
    for (int i = 0; i < r->ncols; i++) {
        if (i < r->nf) {
            r->ptrs[i] = r->fbase + r->starts[i];
        } else {
            r->ptrs[i] = NULL;
            r->lens[i] = 0;
        }
    }
    rec->n = r->ncols;
    rec->f = r->ptrs;
    rec->len = r->lens;
    rec->line = line;
    rec->index = r->row_index++;
    return 1;
}

void csv_field_error(CsvReader *r, const CsvRecord *rec, int field, Diag *err, const char *fmt, ...)
{
    (void)rec;
    Sb msg = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&msg, fmt, ap);
    va_end(ap);
    CsvPos p = r->rpos;
    if (field >= 0 && field < r->nf) {
        if (r->fast_rec)
            p.off = r->fpos[field].off;
        else
            p = r->fpos[field];
    }
    csv_error_at(r, err, p, "%s", sb_cstr(&msg));
    sb_free(&msg);
}
