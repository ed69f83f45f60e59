/* sb.c - growable NUL-terminated byte strings on the C heap.
 *
 * Owns growth policy (doubling, in sb_reserve only) and formatting.  Does
 * not know about encodings; bytes in, bytes out. */
#include "sb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

void sb_reserve(Sb *s, size_t extra)
{
    size_t need = s->len + extra + 1;
    if (need <= s->cap)
        return;
    size_t nc = s->cap ? s->cap : 64;
    while (nc < need)
        nc *= 2;
    s->buf = xrealloc(s->buf, nc);
    s->cap = nc;
}

void sb_append(Sb *s, const char *p, size_t n)
{
    sb_reserve(s, n);
    if (n)
        memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

void sb_puts(Sb *s, const char *z)
{
    sb_append(s, z, strlen(z));
}

void sb_putc(Sb *s, char c)
{
    sb_reserve(s, 1);
    s->buf[s->len++] = c;
    s->buf[s->len] = '\0';
}

void sb_vprintf(Sb *s, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    sb_reserve(s, 0);
    size_t room = s->cap - s->len;
    int n = vsnprintf(s->buf + s->len, room, fmt, ap);
    if (n < 0) {
        s->buf[s->len] = '\0';
        va_end(ap2);
        return;
    }
    if ((size_t)n >= room) {
        sb_reserve(s, (size_t)n);
        vsnprintf(s->buf + s->len, (size_t)n + 1, fmt, ap2);
    }
    s->len += (size_t)n;
    va_end(ap2);
}

void sb_printf(Sb *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(s, fmt, ap);
    va_end(ap);
}

void sb_truncate(Sb *s, size_t len)
{
    if (len < s->len) {
        s->len = len;
        s->buf[len] = '\0';
    }
}

void sb_reset(Sb *s)
{
    s->len = 0;
    if (s->buf)
        s->buf[0] = '\0';
}

void sb_free(Sb *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
}

const char *sb_cstr(const Sb *s)
{
    return s->buf ? s->buf : "";
}

char *sb_detach(Sb *s)
{
    char *p = s->buf ? s->buf : xstrdup("");
    s->buf = NULL;
    s->len = s->cap = 0;
    return p;
}
