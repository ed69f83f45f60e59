/* yutil.c - the loader's YAML and text helpers: located errors and warnings,
 * strict UTF-8 file reading, Python str.strip(), and conversion of YAML
 * subtrees into Values with selective Jinja rendering through the caller's
 * ProjectRenderer.
 *
 * What a key means is left to the callers (dbtproject.c, profile.c,
 * props.c); this file only knows which subtrees stay unrendered (hooks,
 * descriptions, tests) when asked by flag. */
#include "projpriv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/fs.h"

const char *pl_line_text(Loader *L, const YFile *f, size_t off)
{
    if (!f || !f->text || off > f->len)
        return NULL;
    size_t s = off, e = off;
    while (s > 0 && f->text[s - 1] != '\n')
        s--;
    while (e < f->len && f->text[e] != '\n' && f->text[e] != '\r')
        e++;
    return arena_strndup(L->a, f->text + s, e - s);
}

int pl_err(Loader *L, const YFile *f, const YNode *n, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (L->err->set)
        diag_clear(L->err);
    if (n)
        diag_set(L->err, f ? f->rel : NULL, n->line, n->col, pl_line_text(L, f, n->offset), "%s", buf);
    else
        diag_set(L->err, f ? f->rel : NULL, 0, 0, NULL, "%s", buf);
    return -1;
}

void pl_warn(Loader *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Sb sb = SB_INIT;
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    const char *w = arena_strndup(L->a, sb_cstr(&sb), sb.len);
    sb_free(&sb);
    if (strmap_getz(&L->p->priv->warn_seen, w))
        return;
    strmap_putz(&L->p->priv->warn_seen, w, (void *)w);
    vec_push(&L->warnings, w);
}

/* Length of a valid UTF-8 sequence at s (0 if invalid), strict (no overlongs,
 * no surrogates, max U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    unsigned min;
    if ((c & 0xE0) == 0xC0) { len = 2; c &= 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; c &= 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; c &= 0x07; min = 0x10000; }
    else return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

size_t pl_utf8_check(const char *text, size_t n)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        /* ASCII eight bytes at a time: most files hold nothing else */
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
        }
        while (i < n && u[i] < 0x80)
            i++;
        if (i == n)
            break;
        unsigned cp;
        size_t k = utf8_seq(u + i, n - i, &cp);
        if (!k)
            return i;
        i += k;
    }
    return n;
}

int pl_utf8_error(Loader *L, const char *rel, const char *buf, size_t n, size_t i)
{
    const unsigned char *u = (const unsigned char *)buf;
    int line = 1, col = 1;
    size_t ls = 0;
    for (size_t j = 0; j < i; j++)
        if (buf[j] == '\n') {
            line++;
            ls = j + 1;
        }
    col = (int)(i - ls) + 1;
    size_t le = i;
    while (le < n && buf[le] != '\n')
        le++;
    char *src = arena_strndup(L->a, buf + ls, le - ls);
    diag_set(L->err, rel, line, col, src,
             "'utf-8' codec can't decode byte 0x%02x in position %zu: invalid %s",
             u[i], i, (u[i] & 0xC0) == 0x80 ? "start byte" : "continuation byte");
    return -1;
}

/* Read abs as strict UTF-8 into a. */
static int read_utf8(Loader *L, Arena *a, const char *abs, const char *rel, char **text, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    if (fs_read_file(abs, &buf, &n) != 0) {
        diag_set(L->err, rel, 0, 0, NULL, "Could not read file: %s", strerror(errno));
        return -1;
    }
    size_t bad = pl_utf8_check(buf, n);
    if (bad < n) {
        pl_utf8_error(L, rel, buf, n, bad);
        free(buf);
        return -1;
    }
    *text = arena_strndup(a, buf, n);
    *len = n;
    free(buf);
    return 0;
}

int pl_read_utf8(Loader *L, const char *abs, const char *rel, char **text, size_t *len)
{
    return read_utf8(L, L->a, abs, rel, text, len);
}

int pl_yaml_file(Loader *L, const char *abs, const char *rel, YFile *f)
{
    char *text;
    size_t n;
    memset(f, 0, sizeof *f);
    f->rel = rel;
    if (read_utf8(L, &L->tree, abs, rel, &text, &n) != 0)
        return -1;
    f->text = text;
    f->len = n;
    if (yaml_load_split(&L->tree, L->a, rel, text, n, &f->root, L->err) != 0)
        return -1;
    return 0;
}

/* Python's str.isspace() for a code point. */
static bool py_space(unsigned c)
{
    if (c <= 0x20)
        return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

void pl_strip(const char *s, size_t n, size_t *start, size_t *end)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned cp;
        size_t k = utf8_seq(u + i, n - i, &cp);
        if (!k || !py_space(cp))
            break;
        i += k;
    }
    size_t e = n;
    while (e > i) {
        /* step back one code point */
        size_t b = e - 1;
        while (b > i && (u[b] & 0xC0) == 0x80)
            b--;
        unsigned cp;
        size_t k = utf8_seq(u + b, e - b, &cp);
        if (!k || b + k != e || !py_space(cp))
            break;
        e = b;
    }
    *start = i;
    *end = e;
}

bool pl_needs_render(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#'))
            return true;
    return false;
}

const char *pl_kind(const YNode *n)
{
    if (!n)
        return "null";
    return ynode_kind_name(n);
}

bool pl_is_str(const YNode *n)
{
    return n && n->kind == YN_SCALAR && n->value.type == V_STR;
}

const char *pl_fmt_value(Arena *a, Value v)
{
    return value_to_cstr(a, v);
}

int pl_render_scalar(Loader *L, const YFile *f, const YNode *n, RenderScope scope, Value *out)
{
    Value v = n->value;
    if (v.type != V_STR || !L->r || !L->r->render || !pl_needs_render(v.u.s->s, v.u.s->len)) {
        *out = v;
        return 0;
    }
    if (L->err->set)
        diag_clear(L->err);
    const char *pkg = L->pkg && L->pkg->index > 0 ? L->pkg->name : NULL;
    return L->r->render(L->r->ud, scope, pkg, v.u.s->s, v.u.s->len, f ? f->rel : NULL,
                        n->line, n->col, out, L->err);
}

static bool is_hook_key(Value k)
{
    const char *s = value_cstr(k);
    if (!s)
        return false;
    while (*s == '+' || *s == ' ')
        s++;
    return !strcmp(s, "pre-hook") || !strcmp(s, "post-hook") || !strcmp(s, "pre_hook") ||
           !strcmp(s, "post_hook");
}

static bool is_props_raw_key(Value k)
{
    const char *s = value_cstr(k);
    return s && (!strcmp(s, "description") || !strcmp(s, "tests") || !strcmp(s, "data_tests"));
}

static int conv(Loader *L, const YFile *f, const YNode *n, RenderScope scope, unsigned flags,
                Value *out, int depth)
{
    if (depth > PL_MAX_DEPTH)
        return pl_err(L, f, n, "YAML nesting deeper than %d levels", PL_MAX_DEPTH);
    if (!n) {
        *out = v_none();
        return 0;
    }
    switch (n->kind) {
    case YN_SCALAR:
        if (flags & PL_RENDER) {
            if (n->value.type == V_OBJ) {           /* dates become ISO strings */
                *out = v_strz(L->a, value_to_cstr(L->a, n->value));
                return 0;
            }
            return pl_render_scalar(L, f, n, scope, out);
        }
        *out = n->value;
        return 0;
    case YN_SEQ: {
        Value l = v_list(L->a, n->n);
        for (size_t i = 0; i < n->n; i++) {
            Value item;
            if (conv(L, f, n->items[i], scope, flags, &item, depth + 1) != 0)
                return -1;
            list_append(L->a, l.u.l, item);
        }
        *out = l;
        return 0;
    }
    case YN_MAP: {
        Value d = v_dict(L->a);
        for (size_t i = 0; i < n->n; i++) {
            Value k = n->keys[i]->kind == YN_SCALAR ? n->keys[i]->value : ynode_to_value(L->a, n->keys[i]);
            if (!value_is_hashable(k))
                return pl_err(L, f, n->keys[i], "unhashable mapping key (%s)", pl_kind(n->keys[i]));
            unsigned fl = flags;
            if ((flags & PL_HOOKS_RAW) && is_hook_key(k))
                fl &= ~(unsigned)PL_RENDER;
            if ((flags & PL_PROPS_RAW) && is_props_raw_key(k))
                fl &= ~(unsigned)PL_RENDER;
            Value v;
            if (conv(L, f, n->items[i], scope, fl, &v, depth + 1) != 0)
                return -1;
            dict_set(L->a, d.u.d, k, v);
        }
        *out = d;
        return 0;
    }
    }
    *out = v_none();
    return 0;
}

int pl_conv(Loader *L, const YFile *f, const YNode *n, RenderScope scope, unsigned flags, Value *out)
{
    return conv(L, f, n, scope, flags, out, 0);
}
