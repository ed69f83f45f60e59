/* csvread.c - the seed CSV reader (§8.1): a byte-level state machine that
 * mirrors CPython's _csv reader with the excel dialect, fed through a 64 KiB
 * buffer so that a file of any size is read with flat memory.
 *
 * It owns tokenising, UTF-8 validation, header normalisation and located
 * errors.  It leaves null tokens, type inference and value normalisation to
 * seedtype.c, and loading to mat_seed.c.  Positions are absolute byte
 * offsets; the text of an offending line is fetched again (pread, or the
 * memory buffer) only when an error is reported. */
#include "csvread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/arena.h"
#include "../base/sb.h"

#define CSV_BUF 65536
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
    const char *mem;
    size_t memlen;
    char *buf;                 /* file buffer (heap) or the memory itself */
    size_t blen, bpos;
    uint64_t boff;             /* file offset of buf[0] */
    bool eof;
    /* position of the next byte */
    int line;
    uint64_t line_start;
    /* current record */
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
};

void csv_letter_name(int i, char *out)
{
    int reps = i / 26 + 1;
    char c = (char)('a' + i % 26);
    for (int k = 0; k < reps; k++)
        out[k] = c;
    out[reps] = '\0';
}

/* ---- input ---- */

static int refill(CsvReader *r, Diag *err)
{
    if (r->eof)
        return 0;
    if (!r->fp) {
        r->eof = true;
        return 0;
    }
    r->boff += r->blen;
    r->bpos = 0;
    r->blen = fread(r->buf, 1, CSV_BUF, r->fp);
    if (r->blen == 0) {
        r->eof = true;
        if (ferror(r->fp)) {
            diag_set(err, r->display, 0, 0, NULL, "cannot read the CSV file: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
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
    if (r->fp) {
        r->boff = 0;
        r->blen = r->bpos = 0;
        refill(r, err);
    } else {
        r->buf = (char *)r->mem;
        r->blen = r->memlen;
        r->bpos = 0;
        r->boff = 0;
        r->eof = true;      /* nothing to refill */
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
    int need;
    int lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
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
        if (d < lo || d > hi) {
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
    sb_reset(&r->data);
    *got = 0;
    *rec_line = r->line;
    r->rpos = pos_of(r, cur_off(r));
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
    r->buf = xmalloc(CSV_BUF);
    start_input(r, err);
    return r;
}

CsvReader *csv_open_mem(const char *data, size_t len, const char *display, char delim)
{
    CsvReader *r = new_reader(display, delim);
    r->mem = data ? data : "";
    r->memlen = data ? len : 0;
    start_input(r, NULL);
    return r;
}

void csv_close(CsvReader *r)
{
    if (!r)
        return;
    if (r->fp) {
        fclose(r->fp);
        free(r->buf);
    }
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
        const char *raw = r->data.buf + r->starts[i];
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
            r->ptrs[i] = r->data.buf + r->starts[i];
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
    CsvPos p = field >= 0 && field < r->nf ? r->fpos[field] : r->rpos;
    csv_error_at(r, err, p, "%s", sb_cstr(&msg));
    sb_free(&msg);
}
