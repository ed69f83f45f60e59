/* sb.h - growable byte string (string builder) on the C heap.
 *
 * An Sb always holds a NUL-terminated buffer (buf may be NULL while empty:
 * use sb_cstr() to get "" then).  Appending never fails: allocation failure
 * aborts.  An Sb initialised with SB_INIT or {0} is empty and valid. */
#ifndef CDBT_SB_H
#define CDBT_SB_H
#include <stdarg.h>
#include <stddef.h>

typedef struct Sb {
    char *buf;
    size_t len;
    size_t cap;
} Sb;
#define SB_INIT {NULL, 0, 0}

void sb_reserve(Sb *s, size_t extra);            /* ensure room for extra bytes + NUL */
void sb_append(Sb *s, const char *p, size_t n);
void sb_puts(Sb *s, const char *z);
void sb_putc(Sb *s, char c);
void sb_printf(Sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(Sb *s, const char *fmt, va_list ap);
void sb_truncate(Sb *s, size_t len);             /* shrink len (no-op if larger) */
void sb_reset(Sb *s);                            /* len = 0, keep memory */
void sb_free(Sb *s);                             /* release memory; s becomes empty */
const char *sb_cstr(const Sb *s);                /* never NULL */
char *sb_detach(Sb *s);                          /* caller owns (free()); s becomes empty; never NULL */
#endif
