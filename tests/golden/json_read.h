/* json_read.h - the tiny JSON reader the golden runner (tests/unit/test_golden.c)
 * and the differential harness (tests/golden/difffuzz/harness.c) read case
 * contexts with: objects become dicts, arrays lists, in an arena.  Static
 * functions; include once, after template/template.h, with JSON_MAX_DEPTH
 * defined. */
#ifndef CDBT_GOLDEN_JSON_READ_H
#define CDBT_GOLDEN_JSON_READ_H
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
typedef struct JRead {
    const char *p, *end;
    Arena *a;
    int depth;
    bool bad;
} JRead;

static void jr_ws(JRead *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

static unsigned jr_hex4(JRead *j)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = j->p < j->end ? *j->p++ : 0;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else j->bad = true;
    }
    return v;
}

static void jr_utf8(Sb *sb, unsigned cp)
{
    if (cp < 0x80) {
        sb_putc(sb, (char)cp);
    } else if (cp < 0x800) {
        sb_putc(sb, (char)(0xC0 | (cp >> 6)));
        sb_putc(sb, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        sb_putc(sb, (char)(0xE0 | (cp >> 12)));
        sb_putc(sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sb_putc(sb, (char)(0x80 | (cp & 0x3F)));
    } else {
        sb_putc(sb, (char)(0xF0 | (cp >> 18)));
        sb_putc(sb, (char)(0x80 | ((cp >> 12) & 0x3F)));
        sb_putc(sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sb_putc(sb, (char)(0x80 | (cp & 0x3F)));
    }
}

/* Parse a JSON string (j->p at the opening quote) into sb. */
static void jr_string(JRead *j, Sb *sb)
{
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c != '\\') {
            sb_putc(sb, c);
            continue;
        }
        if (j->p >= j->end) break;
        c = *j->p++;
        switch (c) {
        case 'n': sb_putc(sb, '\n'); break;
        case 't': sb_putc(sb, '\t'); break;
        case 'r': sb_putc(sb, '\r'); break;
        case 'b': sb_putc(sb, '\b'); break;
        case 'f': sb_putc(sb, '\f'); break;
        case 'u': {
            unsigned cp = jr_hex4(j);
            if (cp >= 0xD800 && cp < 0xDC00 && j->p + 1 < j->end && j->p[0] == '\\' && j->p[1] == 'u') {
                j->p += 2;
                unsigned lo = jr_hex4(j);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            jr_utf8(sb, cp);
            break;
        }
        default: sb_putc(sb, c); break;   /* \" \\ \/ */
        }
    }
    if (j->p < j->end) j->p++;
    else j->bad = true;
}

static Value jr_value(JRead *j)
{
    Value v = v_none();
    jr_ws(j);
    if (j->p >= j->end || ++j->depth > JSON_MAX_DEPTH) {
        j->bad = true;
        return v;
    }
    char c = *j->p;
    if (c == '{') {
        v = v_dict(j->a);
        j->p++;
        jr_ws(j);
        while (j->p < j->end && *j->p != '}' && !j->bad) {
            Sb key = SB_INIT;
            jr_ws(j);
            if (j->p >= j->end || *j->p != '"') { j->bad = true; break; }
            jr_string(j, &key);
            jr_ws(j);
            if (j->p < j->end && *j->p == ':') j->p++;
            else j->bad = true;
            Value item = jr_value(j);
            dict_set(j->a, v.u.d, v_str(j->a, sb_cstr(&key), key.len), item);
            sb_free(&key);
            jr_ws(j);
            if (j->p < j->end && *j->p == ',') j->p++;
        }
        if (j->p < j->end) j->p++;
    } else if (c == '[') {
        v = v_list(j->a, 4);
        j->p++;
        jr_ws(j);
        while (j->p < j->end && *j->p != ']' && !j->bad) {
            list_append(j->a, v.u.l, jr_value(j));
            jr_ws(j);
            if (j->p < j->end && *j->p == ',') j->p++;
        }
        if (j->p < j->end) j->p++;
    } else if (c == '"') {
        Sb s = SB_INIT;
        jr_string(j, &s);
        v = v_str(j->a, sb_cstr(&s), s.len);
        sb_free(&s);
    } else if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
        v = v_bool(true);
        j->p += 4;
    } else if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
        v = v_bool(false);
        j->p += 5;
    } else if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
    } else {
        char num[64];
        size_t n = 0;
        bool isfloat = false;
        while (j->p < j->end && n < sizeof num - 1 && strchr("+-0123456789.eE", *j->p)) {
            if (*j->p == '.' || *j->p == 'e' || *j->p == 'E') isfloat = true;
            num[n++] = *j->p++;
        }
        num[n] = 0;
        if (n == 0) j->bad = true;
        else if (isfloat) v = v_float(strtod(num, NULL));
        else v = v_int(strtoll(num, NULL, 10));
    }
    j->depth--;
    return v;
}
#endif
