/* utf8.h - encoding one code point as UTF-8 (shared by the template lexer's
 * \u escapes, the JSON readers and the cleanse readers).  Validation and
 * decoding stay with their callers, whose error reporting differs. */
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
#endif
