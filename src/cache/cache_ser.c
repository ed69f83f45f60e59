/* cache_ser.c - a small tagged binary encoding of Values and strings, used
 * for the parse-cache keys (hashed) and the stored node outputs (decoded
 * back into the project arena).  It owns only the byte format; what is
 * encoded, and when, is cache_parse.c's business.
 *
 * Format: one tag byte per item.  Integers little-endian.  Strings carry
 * their length (they may hold NULs) and, for values, the VF_* flags byte so
 * that as_text/as_native marks survive a round trip. */
#include <string.h>
#include <sys/stat.h>
#include "cache_priv.h"

#define MAX_DEPTH 200

enum {
    T_NULL = 'z', T_STRP = 's',                 /* C strings (NULL distinct) */
    T_UNDEF = 'u', T_NONE = 'n', T_TRUE = 't', T_FALSE = 'f', T_INT = 'i', T_FLOAT = 'd',
    T_STR = 'S', T_LIST = 'L', T_TUPLE = 'T', T_DICT = 'D', T_OPAQUE = 'O',
    T_NULLDICT = 'Z',
};

/* sb_append with the common case (room left) inline */
static inline void put(Sb *b, const void *p, size_t n)
{
    if (b->buf && b->cap - b->len > n) {
        memcpy(b->buf + b->len, p, n);
        b->len += n;
        b->buf[b->len] = '\0';
        return;
    }
    sb_append(b, p, n);
}

void ser_u8(Sb *b, uint8_t v) { put(b, &v, 1); }

void ser_u32(Sb *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

void ser_u64(Sb *b, uint64_t v)
{
    ser_u32(b, (uint32_t)v);
    ser_u32(b, (uint32_t)(v >> 32));
}

void ser_strn(Sb *b, const char *s, size_t n)
{
    uint8_t h[5] = {T_STRP, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    put(b, h, 5);
    put(b, s, n);
}

void ser_str(Sb *b, const char *s)
{
    if (!s)
        ser_u8(b, T_NULL);
    else
        ser_strn(b, s, strlen(s));
}

static bool ser_rec(Sb *b, Value v, bool strict, int depth);

static bool ser_items(Sb *b, VList *l, bool strict, int depth)
{
    ser_u32(b, (uint32_t)l->len);
    for (size_t i = 0; i < l->len; i++)
        if (!ser_rec(b, l->items[i], strict, depth + 1))
            return false;
    return true;
}

static bool ser_rec(Sb *b, Value v, bool strict, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    switch ((VType)v.type) {
    case V_UNDEF: ser_u8(b, T_UNDEF); return true;
    case V_NONE: ser_u8(b, T_NONE); return true;
    case V_BOOL: ser_u8(b, v.u.b ? T_TRUE : T_FALSE); return true;
    case V_INT: ser_u8(b, T_INT); ser_u64(b, (uint64_t)v.u.i); return true;
    case V_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v.u.f, sizeof bits);
        ser_u8(b, T_FLOAT);
        ser_u64(b, bits);
        return true;
    }
    case V_STR: {
        size_t n = v.u.s->len;
        uint8_t h[6] = {T_STR, v.flags, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        put(b, h, 6);
        put(b, v.u.s->s, n);
        return true;
    }
    case V_LIST:
    case V_TUPLE:
        ser_u8(b, v.type == V_LIST ? T_LIST : T_TUPLE);
        return ser_items(b, v.u.l, strict, depth);
    case V_DICT: {
        ser_u8(b, T_DICT);
        ser_u32(b, (uint32_t)v.u.d->len);
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            if (!ser_rec(b, e->key, strict, depth + 1) || !ser_rec(b, e->val, strict, depth + 1))
                return false;
        return true;
    }
    case V_FUNC:
    case V_MACRO:
    case V_OBJ:
    default: {
        if (strict)
            return false;
        Sb s = SB_INIT;
        sb_printf(&s, "%d:", v.type);
        if (v.type == V_OBJ && v.u.o && v.u.o->cls)
            sb_puts(&s, v.u.o->cls->name);
        sb_putc(&s, ':');
        value_repr(&s, v);
        ser_u8(b, T_OPAQUE);
        ser_u32(b, (uint32_t)s.len);
        sb_append(b, sb_cstr(&s), s.len);
        sb_free(&s);
        return true;
    }
    }
}

bool ser_value(Sb *b, Value v, bool strict) { return ser_rec(b, v, strict, 0); }

void ser_dict_ptr(Sb *b, VDict *d, bool strict, bool *ok)
{
    if (!d) {
        ser_u8(b, T_NULLDICT);
        return;
    }
    Value v = {.type = V_DICT, .u.d = d};
    if (!ser_rec(b, v, strict, 0))
        *ok = false;
}

void ser_list_ptr(Sb *b, VList *l, bool strict, bool *ok)
{
    if (!l) {
        ser_u8(b, T_NULLDICT);
        return;
    }
    Value v = {.type = V_LIST, .u.l = l};
    if (!ser_rec(b, v, strict, 0))
        *ok = false;
}

/* ---------------------------------------------------------------- reading */

static bool need(Rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}

uint8_t rd_u8(Rd *r)
{
    if (!need(r, 1))
        return 0;
    return *r->p++;
}

uint32_t rd_u32(Rd *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

uint64_t rd_u64(Rd *r)
{
    uint64_t lo = rd_u32(r);
    uint64_t hi = rd_u32(r);
    return lo | hi << 32;
}

bool rd_str_view(Rd *r, const char **s, size_t *n)
{
    *s = NULL;
    *n = 0;
    uint8_t t = rd_u8(r);
    if (t == T_NULL)
        return true;
    if (t != T_STRP) {
        r->bad = true;
        return false;
    }
    uint32_t len = rd_u32(r);
    if (!need(r, len))
        return false;
    *s = (const char *)r->p;
    *n = len;
    r->p += len;
    return true;
}

const char *rd_str(Rd *r, Arena *a)
{
    const char *s;
    size_t n;
    if (!rd_str_view(r, &s, &n) || !s)
        return NULL;
    return arena_strndup(a, s, n);
}

bool rd_value(Rd *r, Arena *a, Value *out, int depth)
{
    if (depth > MAX_DEPTH) {
        r->bad = true;
        return false;
    }
    uint8_t t = rd_u8(r);
    switch (t) {
    case T_UNDEF: *out = v_undef(); break;
    case T_NONE: *out = v_none(); break;
    case T_TRUE: *out = v_bool(true); break;
    case T_FALSE: *out = v_bool(false); break;
    case T_INT: *out = v_int((int64_t)rd_u64(r)); break;
    case T_FLOAT: {
        uint64_t bits = rd_u64(r);
        double f;
        memcpy(&f, &bits, sizeof f);
        *out = v_float(f);
        break;
    }
    case T_STR: {
        uint8_t fl = rd_u8(r);
        uint32_t n = rd_u32(r);
        if (!need(r, n))
            return false;
        *out = v_str(a, (const char *)r->p, n);
        out->flags = fl;
        r->p += n;
        break;
    }
    case T_LIST:
    case T_TUPLE: {
        uint32_t n = rd_u32(r);
        if (!need(r, n))        /* at least one byte per item */
            return false;
        Value l;
        if (t == T_LIST) {
            l = v_list(a, n);
            for (uint32_t i = 0; i < n; i++) {
                Value x;
                if (!rd_value(r, a, &x, depth + 1))
                    return false;
                list_append(a, l.u.l, x);
            }
        } else {
            l = v_tuple(a, n);
            for (uint32_t i = 0; i < n; i++)
                if (!rd_value(r, a, &l.u.l->items[i], depth + 1))
                    return false;
        }
        *out = l;
        break;
    }
    case T_DICT: {
        uint32_t n = rd_u32(r);
        if (!need(r, n))
            return false;
        Value d = v_dict(a);
        for (uint32_t i = 0; i < n; i++) {
            Value k, v;
            if (!rd_value(r, a, &k, depth + 1) || !rd_value(r, a, &v, depth + 1))
                return false;
            dict_set(a, d.u.d, k, v);
        }
        *out = d;
        break;
    }
    case T_NULLDICT:
        out->type = V_DICT;
        out->flags = 0;
        out->u.d = NULL;
        break;
    default:
        r->bad = true;
        return false;
    }
    return !r->bad;
}

bool rd_skip(Rd *r, int depth)
{
    if (depth > MAX_DEPTH) {
        r->bad = true;
        return false;
    }
    uint8_t t = rd_u8(r);
    switch (t) {
    case T_NULL: case T_UNDEF: case T_NONE: case T_TRUE: case T_FALSE: case T_NULLDICT:
        break;
    case T_INT: case T_FLOAT:
        if (need(r, 8))
            r->p += 8;
        break;
    case T_STRP: case T_OPAQUE: {
        uint32_t n = rd_u32(r);
        if (need(r, n))
            r->p += n;
        break;
    }
    case T_STR: {
        rd_u8(r);
        uint32_t n = rd_u32(r);
        if (need(r, n))
            r->p += n;
        break;
    }
    case T_LIST: case T_TUPLE: case T_DICT: {
        uint32_t n = rd_u32(r);
        uint64_t items = t == T_DICT ? 2 * (uint64_t)n : n;
        for (uint64_t i = 0; i < items && !r->bad; i++)
            rd_skip(r, depth + 1);
        break;
    }
    default:
        r->bad = true;
    }
    return !r->bad;
}

bool ser_build(Sb *b)
{
    ser_str(b, CDBT_VERSION);
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0)
        return false;
    ser_u64(b, (uint64_t)st.st_size);
    ser_u64(b, (uint64_t)st.st_mtim.tv_sec);
    ser_u64(b, (uint64_t)st.st_mtim.tv_nsec);
    ser_u64(b, (uint64_t)st.st_ino);
    return true;
}
