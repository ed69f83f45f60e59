/* utf8.h - encoding one code point as UTF-8 (shared by the template lexer's
 * \u escapes, the JSON readers and the cleanse readers) and the rule for a
 * lead byte (Unicode's well-formed sequences).  Decoding loops stay with
 * their callers, whose error reporting differs. */
#ifndef CDBT_UTF8_H
#define CDBT_UTF8_H
#include <stdint.h>

/* Write cp (<= 0x10FFFF) at o; returns the number of bytes (1-4). o needs 4 bytes. */
static inline int utf8_encode(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Lead byte c (>= 0x80) of a well-formed sequence: how many continuation
 * bytes follow (1-3) and the range [*lo, *hi] of the first one (later ones
 * are 0x80..0xBF); 0 when c cannot start a sequence. */
static inline int utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 1;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 2;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 3;
    }
    return 0;
}
#endif
