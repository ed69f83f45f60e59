/* diag.c - located diagnostics and source line maps.
 *
 * Owns: the SrcFile line index (built lazily on the first lookup), filling a
 * Diag from a byte offset or an explicit location, and rendering it in the
 * one exact shape documented in diag.h.  Printing the rendered text is left
 * to main.c and the command files. */
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* Gutter width of the excerpt: "%5d | " for the source line. */
#define DIAG_GUTTER 5

void srcfile_init(SrcFile *f, const char *path, const char *text, size_t len)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->text = text ? text : "";
    f->len = text ? len : 0;
}

void srcfile_free(SrcFile *f)
{
    free(f->line_starts);
    f->line_starts = NULL;
    f->nlines = 0;
}

/* The line index of f, built on first use.  A macro file's or the built-in
 * macros' SrcFile is shared by the two threads of the parse pass (an error
 * or an inline if without else asks for a line number), so the index is
 * published with a compare-and-swap: the loser of a race frees its copy. */
static const size_t *line_index(SrcFile *f, size_t *nlines)
{
    size_t *ls = __atomic_load_n(&f->line_starts, __ATOMIC_ACQUIRE);
    if (!ls) {
        size_t n = 1;
        for (size_t i = 0; i < f->len; i++)
            if (f->text[i] == '\n')
                n++;
        ls = xmalloc(n * sizeof *ls);
        size_t k = 0;
        ls[k++] = 0;
        for (size_t i = 0; i < f->len; i++)
            if (f->text[i] == '\n')
                ls[k++] = i + 1;
        __atomic_store_n(&f->nlines, n, __ATOMIC_RELAXED);   /* every builder stores the same */
        size_t *none = NULL;
        if (!__atomic_compare_exchange_n(&f->line_starts, &none, ls, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            free(ls);
            ls = none;
        }
    }
    *nlines = __atomic_load_n(&f->nlines, __ATOMIC_RELAXED);
    return ls;
}

/* 0-based local line index containing byte offset off. */
static size_t local_line(const size_t *ls, size_t nlines, size_t off)
{
    size_t lo = 0, hi = nlines;             /* invariant: ls[lo] <= off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ls[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void srcfile_linecol(SrcFile *f, size_t off, int *line, int *col)
{
    if (off > f->len)
        off = f->len;
    size_t nl;
    const size_t *ls = line_index(f, &nl);
    size_t li = local_line(ls, nl, off);
    int c = (int)(off - ls[li]) + 1;
    if (li == 0)
        c += f->col_base;
    *line = f->line_base + (int)li + 1;
    *col = c;
}

const char *srcfile_line(SrcFile *f, int line, size_t *len)
{
    size_t nl;
    const size_t *ls = line_index(f, &nl);
    long li = (long)line - f->line_base - 1;
    if (li < 0 || (size_t)li >= nl) {
        *len = 0;
        return NULL;
    }
    size_t start = ls[li];
    size_t end = start;
    while (end < f->len && f->text[end] != '\n')
        end++;
    if (end > start && f->text[end - 1] == '\r')
        end--;
    *len = end - start;
    return f->text + start;
}

void diag_clear(Diag *d)
{
    free(d->file);
    free(d->src_line);
    free(d->message);
    sb_free(&d->notes);
    memset(d, 0, sizeof *d);
}

static char *vformat(const char *fmt, va_list ap)
{
    Sb s = SB_INIT;
    sb_vprintf(&s, fmt, ap);
    return sb_detach(&s);
}

void diag_vat(Diag *d, SrcFile *f, size_t off, const char *fmt, va_list ap)
{
    char *msg = vformat(fmt, ap);
    diag_clear(d);
    d->severity = DIAG_ERROR;
    d->message = msg;
    d->set = true;
    if (!f)
        return;
    if (f->path)
        d->file = xstrdup(f->path);
    srcfile_linecol(f, off, &d->line, &d->col);
    size_t n;
    const char *p = srcfile_line(f, d->line, &n);
    if (!p)
        return;
    if (d->line == f->line_base + 1 && f->col_base > 0) {
        /* The text starts mid-line: pad so the caret still lines up. */
        Sb s = SB_INIT;
        for (int i = 0; i < f->col_base; i++)
            sb_putc(&s, ' ');
        sb_append(&s, p, n);
        d->src_line = sb_detach(&s);
    } else {
        d->src_line = xstrndup(p, n);
    }
}

void diag_at(Diag *d, SrcFile *f, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(d, f, off, fmt, ap);
    va_end(ap);
}

void diag_set(Diag *d, const char *file, int line, int col, const char *src_line,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    /* Copy first: the arguments may point into the Diag being replaced. */
    char *fcopy = file ? xstrdup(file) : NULL;
    char *lcopy = src_line ? xstrdup(src_line) : NULL;
    diag_clear(d);
    d->severity = DIAG_ERROR;
    d->message = msg;
    d->file = fcopy;
    d->line = line > 0 ? line : 0;
    d->col = col > 0 ? col : 0;
    d->src_line = lcopy;
    d->set = true;
}

void diag_note(Diag *d, const char *fmt, ...)
{
    va_list ap;
    sb_puts(&d->notes, "  ");
    va_start(ap, fmt);
    sb_vprintf(&d->notes, fmt, ap);
    va_end(ap);
    if (d->notes.buf[d->notes.len - 1] != '\n')
        sb_putc(&d->notes, '\n');
}

void diag_prefix(Diag *d, const char *fmt, ...)
{
    Sb s = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&s, fmt, ap);
    va_end(ap);
    if (d->message)
        sb_puts(&s, d->message);
    free(d->message);
    d->message = sb_detach(&s);
}

void diag_format(const Diag *d, Sb *out)
{
    const char *sev = d->severity == DIAG_WARNING ? "warning" : "error";
    const char *msg = d->message ? d->message : "";
    if (d->file && d->line > 0 && d->col > 0)
        sb_printf(out, "%s:%d:%d: %s: %s\n", d->file, d->line, d->col, sev, msg);
    else if (d->file && d->line > 0)
        sb_printf(out, "%s:%d: %s: %s\n", d->file, d->line, sev, msg);
    else if (d->file)
        sb_printf(out, "%s: %s: %s\n", d->file, sev, msg);
    else
        sb_printf(out, "%s: %s\n", sev, msg);

    if (d->line > 0 && d->src_line) {
        char num[16];
        int w = snprintf(num, sizeof num, "%d", d->line);
        if (w < DIAG_GUTTER)
            w = DIAG_GUTTER;
        sb_printf(out, "%*d | %s\n", w, d->line, d->src_line);
        if (d->col > 0) {
            sb_printf(out, "%*s | ", w, "");
            size_t sl = strlen(d->src_line);
            for (size_t i = 0; i + 1 < (size_t)d->col; i++)
                sb_putc(out, i < sl && d->src_line[i] == '\t' ? '\t' : ' ');
            sb_puts(out, "^\n");
        }
    }
    if (d->notes.len)
        sb_append(out, d->notes.buf, d->notes.len);
}
