/* diag.h - diagnostics: located error messages with a source line and caret.
 *
 * Library code never prints.  It fills a Diag and returns an error status;
 * main.c and the command files render it with diag_format() and print it.
 *
 * Rendered shape (exact; golden tests pin it):
 *
 *   <file>:<line>:<col>: error: <message>
 *     <line> | <source line text>
 *            |     ^
 *   <note lines, each "  note: ..." or "  in macro 'x' called at f:l:c">
 *
 * Line and column are 1-based; the column counts bytes.  When the Diag has no
 * file, the first line is "error: <message>"; with a file but no line, it is
 * "<file>: error: <message>" and no source excerpt is shown; with a line but
 * no column it is "<file>:<line>: error: <message>" and the caret line is
 * omitted.  Precisely: the source line is printf("%5d | %s\n") (the field
 * widens for lines >= 100000), the caret line is 5 spaces, " | ", then one
 * character per column before the caret (a tab where the source line has a
 * tab, else a space), then "^\n".  A warning says "warning:" instead. */
#ifndef CDBT_DIAG_H
#define CDBT_DIAG_H
#include <stdbool.h>
#include <stddef.h>
#include "sb.h"

/* A source text with a lazily built line index (safe to build from two
 * threads at once: see line_index in diag.c).  Owns nothing by default:
 * path and text must outlive it (they live in the project arena). */
typedef struct SrcFile {
    const char *path;        /* as shown to the user, relative to the project root when possible */
    const char *text;
    size_t len;
    int line_base;           /* line number of text[0] minus 1 (0 for a whole file) */
    int col_base;            /* column added on the first line (0 for a whole file) */
    size_t *line_starts;     /* built on demand (heap), nlines entries */
    size_t nlines;
} SrcFile;

void srcfile_init(SrcFile *f, const char *path, const char *text, size_t len);
void srcfile_free(SrcFile *f);                   /* frees the line index only */
/* 1-based line and column of a byte offset (clamped to the text). */
void srcfile_linecol(SrcFile *f, size_t off, int *line, int *col);
/* Pointer/length of the given 1-based line (without newline), relative to text.
 * The line number is as reported by srcfile_linecol (line_base included);
 * NULL with *len = 0 when out of range. */
const char *srcfile_line(SrcFile *f, int line, size_t *len);

enum { DIAG_ERROR = 0, DIAG_WARNING = 1 };

typedef struct Diag {
    int severity;            /* DIAG_ERROR / DIAG_WARNING */
    char *file;              /* heap copies (or NULL) */
    int line, col;           /* 1-based; 0 = unknown */
    char *src_line;          /* the offending source line's text (heap) or NULL */
    char *message;           /* heap */
    Sb notes;                /* extra lines, each already "  ...\n"-terminated */
    bool set;                /* true once an error has been recorded */
} Diag;

void diag_clear(Diag *d);                        /* free contents, back to empty */
/* Record an error at a byte offset of f (f may be NULL -> no location).
 * diag_at/diag_set replace any Diag already recorded (notes included);
 * callers that want to keep the first error test d->set. */
void diag_at(Diag *d, SrcFile *f, size_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void diag_vat(Diag *d, SrcFile *f, size_t off, const char *fmt, va_list ap);
/* Record an error with an explicit location (line/col may be 0; src_line may be NULL). */
void diag_set(Diag *d, const char *file, int line, int col, const char *src_line,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Append a note line: "  " + formatted text + "\n" (the caller writes the
 * "note: " or "in macro ..." word itself). */
void diag_note(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the message: "<prefix><old message>" (used for "Compilation Error in model x: "). */
void diag_prefix(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_format(const Diag *d, Sb *out);
#endif
