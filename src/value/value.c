/* value.c - the value data model: constructors, lists, insertion-ordered
 * dicts, truthiness, hashing, equality, ordering, str()/repr(), JSON and
 * deep copies, all with Python semantics.
 *
 * Pure data: this file never calls an interp_* function, so the YAML loader
 * can link the value library without the template engine.  Operators with
 * error reporting live in ops.c, methods in methods.c, formatting in pyfmt.c,
 * dates in vdatetime.c. */
#include "vpriv.h"
#include "../base/strmap.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The engine owns macro structs; when it is linked we can name macros in repr. */
#pragma weak tpl_macro_name
const char *tpl_macro_name(const struct TplMacro *m);

#define DICT_LINEAR_MAX 8

/* ------------------------------------------------------------ constructors */

VStr *vstr_new(Arena *a, const char *s, size_t n)
{
    VStr *v = arena_alloc(a, sizeof(VStr) + n + 1);
    v->len = n;
    v->hash = 0;
    if (n)
        memcpy(v->s, s, n);
    v->s[n] = 0;
    return v;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = strmap_hash(s, n);
    return h ? h : 1;
}

/* Strings are read by two threads at once (the parse pass renders on two:
 * template literals, globals, vars and configs are shared), so the cached
 * hash is loaded and stored atomically; racing writers store the same value. */
uint64_t vstr_hash(VStr *s)
{
    uint64_t h = __atomic_load_n(&s->hash, __ATOMIC_RELAXED);
    if (!h) {
        h = hash_bytes(s->s, s->len);
        __atomic_store_n(&s->hash, h, __ATOMIC_RELAXED);
    }
    return h;
}

Value v_vstr(VStr *s)
{
    Value v;
    v.type = V_STR;
    v.flags = 0;
    v.u.s = s;
    return v;
}

Value v_str(Arena *a, const char *s, size_t n) { return v_vstr(vstr_new(a, s, n)); }
Value v_strz(Arena *a, const char *z) { return v_str(a, z, strlen(z)); }
Value v_str_sb(Arena *a, const Sb *sb) { return v_str(a, sb_cstr(sb), sb->len); }

Value v_undef_named(Arena *a, const char *name, size_t n)
{
    Value v = v_undef();
    if (name)
        v.u.s = vstr_new(a, name, n);
    return v;
}

Value v_list(Arena *a, size_t cap)
{
    VList *l = ARENA_NEW(a, VList);
    if (cap) {
        l->items = ARENA_ARRAY(a, Value, cap);
        l->cap = cap;
    }
    Value v;
    v.type = V_LIST;
    v.flags = 0;
    v.u.l = l;
    return v;
}

Value v_tuple(Arena *a, size_t n)
{
    VList *l = ARENA_NEW(a, VList);
    if (n) {
        l->items = ARENA_ARRAY(a, Value, n);
        for (size_t i = 0; i < n; i++)
            l->items[i] = v_none();
    }
    l->len = l->cap = n;
    Value v;
    v.type = V_TUPLE;
    v.flags = 0;
    v.u.l = l;
    return v;
}

Value v_dict(Arena *a)
{
    Value v;
    v.type = V_DICT;
    v.flags = 0;
    v.u.d = ARENA_NEW(a, VDict);
    return v;
}

Value v_dict_cap(Arena *a, size_t cap)
{
    Value v = v_dict(a);
    if (cap) {
        v.u.d->entries = ARENA_ARRAY(a, VDictEntry, cap);
        v.u.d->cap = cap;
    }
    return v;
}

Value v_bound(Arena *a, const char *name, NativeFn fn, void *ud, Value self)
{
    VFunc *f = ARENA_NEW(a, VFunc);
    f->fn = fn;
    f->ud = ud;
    f->self = self;
    f->name = name;
    Value v;
    v.type = V_FUNC;
    v.flags = 0;
    v.u.fn = f;
    return v;
}

Value v_func(Arena *a, const char *name, NativeFn fn, void *ud)
{
    return v_bound(a, name, fn, ud, v_undef());
}

Value v_obj(Arena *a, const ObjClass *cls, void *data)
{
    VObj *o = ARENA_NEW(a, VObj);
    o->cls = cls;
    o->data = data;
    Value v;
    v.type = V_OBJ;
    v.flags = 0;
    v.u.o = o;
    return v;
}

/* ------------------------------------------------------------ lists */

static void list_grow(Arena *a, VList *l, size_t need)
{
    if (need <= l->cap)
        return;
    size_t nc = l->cap ? l->cap * 2 : 4;
    while (nc < need)
        nc *= 2;
    l->items = arena_realloc(a, l->items, l->len * sizeof(Value), nc * sizeof(Value));
    l->cap = nc;
}

void list_append(Arena *a, VList *l, Value v)
{
    list_grow(a, l, l->len + 1);
    l->items[l->len++] = v;
}

void list_insert(Arena *a, VList *l, size_t at, Value v)
{
    if (at > l->len)
        at = l->len;
    list_grow(a, l, l->len + 1);
    memmove(l->items + at + 1, l->items + at, (l->len - at) * sizeof(Value));
    l->items[at] = v;
    l->len++;
}

/* ------------------------------------------------------------ hashing */

static uint64_t mix64(uint64_t x)
{
    x = fmix64(x);
    return x ? x : 1;
}

bool value_is_num(Value v)
{
    return v.type == V_BOOL || v.type == V_INT || v.type == V_FLOAT;
}

double value_as_double(Value v)
{
    switch (v.type) {
    case V_BOOL: return v.u.b ? 1.0 : 0.0;
    case V_INT: return (double)v.u.i;
    case V_FLOAT: return v.u.f;
    default: return 0.0;
    }
}

static uint64_t hash_depth(Value v, int depth)
{
    switch (v.type) {
    case V_UNDEF: return 0x5555;
    case V_NONE: return 0x1234567;
    case V_BOOL: return mix64((uint64_t)(v.u.b ? 1 : 0));
    case V_INT: return mix64((uint64_t)v.u.i);
    case V_FLOAT: {
        double f = v.u.f;
        if (f == floor(f) && f >= -9.2e18 && f <= 9.2e18)
            return mix64((uint64_t)(int64_t)f);
        uint64_t bits;
        if (f == 0)
            f = 0;
        memcpy(&bits, &f, sizeof bits);
        return mix64(bits ^ 0x9e3779b97f4a7c15ULL);
    }
    case V_STR: return vstr_hash(v.u.s);
    case V_TUPLE: {
        uint64_t h = 0x345678;
        if (depth > VALUE_MAX_DEPTH)
            return h;
        for (size_t i = 0; i < v.u.l->len; i++)
            h = mix64(h ^ hash_depth(v.u.l->items[i], depth + 1)) + i;
        return h ? h : 1;
    }
    case V_OBJ:
        if (vdt_is_datetime(v)) {
            const VDateTime *t = v.u.o->data;
            return mix64((uint64_t)(t->y * 10000 + t->mo * 100 + t->d) * 1000000007ULL
                         + (uint64_t)((t->h * 3600 + t->mi * 60 + t->s) * 1000000 + t->us));
        }
        return mix64((uint64_t)(uintptr_t)v.u.o);
    default:
        return mix64((uint64_t)(uintptr_t)v.u.l);
    }
}

uint64_t value_hash(Value v) { return hash_depth(v, 0); }

bool value_is_hashable(Value v)
{
    switch (v.type) {
    case V_LIST:
    case V_DICT:
        return false;
    case V_TUPLE:
        for (size_t i = 0; i < v.u.l->len; i++)
            if (!value_is_hashable(v.u.l->items[i]))
                return false;
        return true;
    default:
        return true;
    }
}

/* ------------------------------------------------------------ equality, ordering */

static bool eq_depth(Value a, Value b, int depth);

static bool dict_eq(VDict *x, VDict *y, int depth)
{
    if (x->len != y->len)
        return false;
    VDictEntry *e;
    for (size_t it = 0; dict_next(x, &it, &e);) {
        Value *o = dict_get(y, e->key);
        if (!o || !eq_depth(e->val, *o, depth + 1))
            return false;
    }
    return true;
}

static bool eq_depth(Value a, Value b, int depth)
{
    if (depth > VALUE_MAX_DEPTH)
        return false;
    if (value_is_num(a) && value_is_num(b)) {
        if (a.type == V_FLOAT || b.type == V_FLOAT)
            return value_as_double(a) == value_as_double(b);
        int64_t x = a.type == V_BOOL ? a.u.b : a.u.i;
        int64_t y = b.type == V_BOOL ? b.u.b : b.u.i;
        return x == y;
    }
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case V_UNDEF:
    case V_NONE:
        return true;
    case V_STR:
        return a.u.s == b.u.s || (a.u.s->len == b.u.s->len && memcmp(a.u.s->s, b.u.s->s, a.u.s->len) == 0);
    case V_LIST:
    case V_TUPLE:
        if (a.u.l == b.u.l)
            return true;
        if (a.u.l->len != b.u.l->len)
            return false;
        for (size_t i = 0; i < a.u.l->len; i++)
            if (!eq_depth(a.u.l->items[i], b.u.l->items[i], depth + 1))
                return false;
        return true;
    case V_DICT:
        return a.u.d == b.u.d || dict_eq(a.u.d, b.u.d, depth);
    case V_FUNC:
        return a.u.fn == b.u.fn ||
               (a.u.fn->fn == b.u.fn->fn && a.u.fn->ud == b.u.fn->ud &&
                eq_depth(a.u.fn->self, b.u.fn->self, depth + 1) &&
                a.u.fn->self.type == b.u.fn->self.type);
    case V_MACRO:
        return a.u.m == b.u.m;
    case V_OBJ:
        if (a.u.o == b.u.o)
            return true;
        if (a.u.o->cls == b.u.o->cls && a.u.o->cls->eq)
            return a.u.o->cls->eq(a.u.o, b.u.o);
        return false;
    default:
        return false;
    }
}

bool value_eq(Value a, Value b) { return eq_depth(a, b, 0); }

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn, int *out)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c == 0)
        c = an < bn ? -1 : an > bn ? 1 : 0;
    *out = c < 0 ? -1 : c > 0 ? 1 : 0;
    return 0;
}

static int cmp_depth(Value a, Value b, int *out, int depth)
{
    if (depth > VALUE_MAX_DEPTH)
        return 1;
    if (value_is_num(a) && value_is_num(b)) {
        if (a.type == V_FLOAT || b.type == V_FLOAT) {
            double x = value_as_double(a), y = value_as_double(b);
            *out = x < y ? -1 : x > y ? 1 : 0;   /* nan compares "equal": callers rarely care */
        } else {
            int64_t x = a.type == V_BOOL ? a.u.b : a.u.i;
            int64_t y = b.type == V_BOOL ? b.u.b : b.u.i;
            *out = x < y ? -1 : x > y ? 1 : 0;
        }
        return 0;
    }
    if (a.type != b.type)
        return 1;
    switch (a.type) {
    case V_STR:
        return cmp_bytes(a.u.s->s, a.u.s->len, b.u.s->s, b.u.s->len, out);
    case V_LIST:
    case V_TUPLE: {
        size_t n = a.u.l->len < b.u.l->len ? a.u.l->len : b.u.l->len;
        for (size_t i = 0; i < n; i++) {
            Value x = a.u.l->items[i], y = b.u.l->items[i];
            if (eq_depth(x, y, depth + 1))
                continue;
            return cmp_depth(x, y, out, depth + 1);
        }
        *out = a.u.l->len < b.u.l->len ? -1 : a.u.l->len > b.u.l->len ? 1 : 0;
        return 0;
    }
    case V_OBJ:
        if (a.u.o->cls == b.u.o->cls && a.u.o->cls->cmp)
            return a.u.o->cls->cmp(a.u.o, b.u.o, out);
        return 1;
    default:
        return 1;
    }
}

int value_cmp(Value a, Value b, int *out) { return cmp_depth(a, b, out, 0); }

/* Jinja's ignore_case: lower-cases strings before comparing (ASCII + Latin-1 range
 * is what matters for identifiers; other bytes compare as they are). */
static int cmp_fold(const VStr *a, const VStr *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a->s[i], y = (unsigned char)b->s[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

int value_sort_cmp(Value a, Value b, bool case_sensitive, int *out)
{
    if (!case_sensitive && a.type == V_STR && b.type == V_STR) {
        *out = cmp_fold(a.u.s, b.u.s);
        return 0;
    }
    return value_cmp(a, b, out);
}

/* ------------------------------------------------------------ truthiness */

bool value_truthy(Value v)
{
    switch (v.type) {
    case V_UNDEF:
    case V_NONE: return false;
    case V_BOOL: return v.u.b;
    case V_INT: return v.u.i != 0;
    case V_FLOAT: return v.u.f != 0.0;
    case V_STR: return v.u.s->len != 0;
    case V_LIST:
    case V_TUPLE: return v.u.l->len != 0;
    case V_DICT: return v.u.d->len != 0;
    case V_OBJ:
        if (v.u.o->cls->truthy)
            return v.u.o->cls->truthy(v.u.o);
        if (v.u.o->cls->len) {
            int64_t n = 0;
            if (v.u.o->cls->len(v.u.o, &n) == 0)
                return n != 0;
        }
        return true;
    default: return true;
    }
}

/* ------------------------------------------------------------ dicts */

/* Dicts live in arenas and are never freed, so the index does too (the arena
 * comes from dict_set, VDict does not remember it). */
static void index_build(Arena *a, VDict *d, size_t nindex)
{
    d->index = ARENA_ARRAY(a, uint32_t, nindex);
    d->nindex = nindex;
    size_t mask = nindex - 1;
    for (size_t i = 0; i < d->n; i++) {
        if (d->entries[i].deleted)
            continue;
        size_t j = (size_t)d->entries[i].hash & mask;
        while (d->index[j])
            j = (j + 1) & mask;
        d->index[j] = (uint32_t)(i + 1);
    }
}

/* Find the entry index of key (with precomputed hash) or -1. */
static long dict_find(VDict *d, Value key, uint64_t h)
{
    if (!d->index) {
        for (size_t i = 0; i < d->n; i++) {
            VDictEntry *e = &d->entries[i];
            if (!e->deleted && e->hash == (uint32_t)h && value_eq(e->key, key))
                return (long)i;
        }
        return -1;
    }
    size_t mask = d->nindex - 1;
    for (size_t j = (size_t)h & mask; d->index[j]; j = (j + 1) & mask) {
        VDictEntry *e = &d->entries[d->index[j] - 1];
        if (!e->deleted && e->hash == (uint32_t)h && value_eq(e->key, key))
            return (long)(d->index[j] - 1);
    }
    return -1;
}

static long dict_find_str(VDict *d, const char *k, size_t n, uint64_t h)
{
    if (!d->index) {
        for (size_t i = 0; i < d->n; i++) {
            VDictEntry *e = &d->entries[i];
            if (!e->deleted && e->hash == (uint32_t)h && e->key.type == V_STR && e->key.u.s->len == n &&
                memcmp(e->key.u.s->s, k, n) == 0)
                return (long)i;
        }
        return -1;
    }
    size_t mask = d->nindex - 1;
    for (size_t j = (size_t)h & mask; d->index[j]; j = (j + 1) & mask) {
        VDictEntry *e = &d->entries[d->index[j] - 1];
        if (!e->deleted && e->hash == (uint32_t)h && e->key.type == V_STR && e->key.u.s->len == n &&
            memcmp(e->key.u.s->s, k, n) == 0)
            return (long)(d->index[j] - 1);
    }
    return -1;
}

/* dict_cow: a VDict whose entries and index are another dict's (cap 0 with
 * entries marks them borrowed) until dict_own copies them into the arena the
 * dict was made in. */
typedef struct VDictCow {
    VDict d;
    Arena *a;
} VDictCow;

static bool dict_borrowed(const VDict *d) { return d->cap == 0 && d->entries; }

static void dict_own(VDict *d)
{
    if (!dict_borrowed(d))
        return;
    Arena *a = ((VDictCow *)d)->a;
    size_t cap = d->n + 2;
    VDictEntry *e = ARENA_ARRAY(a, VDictEntry, cap);
    memcpy(e, d->entries, d->n * sizeof *e);
    d->entries = e;
    d->cap = cap;
    if (d->index) {
        uint32_t *ix = arena_alloc(a, d->nindex * sizeof *ix);
        memcpy(ix, d->index, d->nindex * sizeof *ix);
        d->index = ix;
    }
}

VDict *dict_cow(Arena *a, VDict *src)
{
    if (!src->n)
        return v_dict(a).u.d;
    VDictCow *c = ARENA_NEW(a, VDictCow);
    c->d = *src;
    c->d.cap = 0;
    c->a = a;
    return &c->d;
}

const void *dict_cow_source(const VDict *d)
{
    return dict_borrowed(d) ? d->entries : NULL;
}

void dict_cow_rehome(VDict *d, const Arena *from, Arena *to)
{
    if (d && dict_borrowed(d) && ((VDictCow *)d)->a == from)
        ((VDictCow *)d)->a = to;
}

/* The same value for every observer (the same string bytes, the same container). */
static bool value_same(Value x, Value y)
{
    if (x.type != y.type || x.flags != y.flags)
        return false;
    switch (x.type) {
    case V_NONE: return true;
    case V_BOOL: return x.u.b == y.u.b;
    case V_INT: return x.u.i == y.u.i;
    case V_FLOAT: return memcmp(&x.u.f, &y.u.f, sizeof x.u.f) == 0;
    case V_STR:
        return x.u.s == y.u.s || (x.u.s->len == y.u.s->len && memcmp(x.u.s->s, y.u.s->s, x.u.s->len) == 0);
    default: return x.u.d == y.u.d;
    }
}

/* Overwrite the value of entry i. */
static void dict_put_at(VDict *d, long i, Value val)
{
    if (dict_borrowed(d)) {
        if (value_same(d->entries[i].val, val))
            return;
        dict_own(d);
    }
    d->entries[i].val = val;
}

static void dict_add_entry(Arena *a, VDict *d, Value key, Value val, uint64_t h)
{
    dict_own(d);
    if (d->n == d->cap) {
        /* Compact tombstones when they make up half the table. */
        if (d->n - d->len >= d->n / 2 && d->n > 0 && d->len < d->n) {
            size_t w = 0;
            for (size_t i = 0; i < d->n; i++)
                if (!d->entries[i].deleted)
                    d->entries[w++] = d->entries[i];
            d->n = w;
            if (d->index)
                index_build(a, d, d->nindex);
        }
        if (d->n == d->cap) {
            size_t nc = d->cap ? d->cap * 2 : 4;
            d->entries = arena_realloc(a, d->entries, d->cap * sizeof(VDictEntry), nc * sizeof(VDictEntry));
            d->cap = nc;
        }
    }
    VDictEntry *e = &d->entries[d->n++];
    e->key = key;
    e->val = val;
    e->hash = (uint32_t)h;
    e->deleted = false;
    d->len++;
    if (d->n > DICT_LINEAR_MAX) {
        if (!d->index || d->n * 2 > d->nindex) {
            size_t ni = d->nindex ? d->nindex : 32;
            while (ni < d->n * 3)
                ni *= 2;
            index_build(a, d, ni);
        } else {
            size_t mask = d->nindex - 1, j = (size_t)h & mask;
            while (d->index[j])
                j = (j + 1) & mask;
            d->index[j] = (uint32_t)d->n;
        }
    }
}

void dict_set(Arena *a, VDict *d, Value key, Value val)
{
    uint64_t h = value_hash(key);
    long i = dict_find(d, key, h);
    if (i >= 0) {
        dict_put_at(d, i, val);
        return;
    }
    dict_add_entry(a, d, key, val, h);
}

void dict_setz(Arena *a, VDict *d, const char *key, Value val)
{
    size_t n = strlen(key);
    uint64_t h = hash_bytes(key, n);
    long i = dict_find_str(d, key, n, h);
    if (i >= 0) {
        dict_put_at(d, i, val);
        return;
    }
    VStr *s = vstr_new(a, key, n);
    s->hash = h;
    dict_add_entry(a, d, v_vstr(s), val, h);
}

Value *dict_get(VDict *d, Value key)
{
    if (!d->len)
        return NULL;
    if (key.type == V_STR)
        return dict_getn(d, key.u.s->s, key.u.s->len);
    long i = dict_find(d, key, value_hash(key));
    return i >= 0 ? &d->entries[i].val : NULL;
}

Value *dict_getn(VDict *d, const char *key, size_t n)
{
    if (!d->len)
        return NULL;
    long i = dict_find_str(d, key, n, hash_bytes(key, n));
    return i >= 0 ? &d->entries[i].val : NULL;
}

Value *dict_getz(VDict *d, const char *key) { return dict_getn(d, key, strlen(key)); }

bool dict_del(VDict *d, Value key, Value *old)
{
    if (!d->len)
        return false;
    long i = dict_find(d, key, value_hash(key));
    if (i < 0)
        return false;
    if (old)
        *old = d->entries[i].val;
    dict_own(d);
    d->entries[i].deleted = true;
    d->len--;
    /* Trailing tombstones can be dropped when there is no index to keep in sync. */
    if (!d->index)
        while (d->n && d->entries[d->n - 1].deleted)
            d->n--;
    return true;
}

bool dict_next(VDict *d, size_t *it, VDictEntry **e)
{
    while (*it < d->n) {
        VDictEntry *x = &d->entries[(*it)++];
        if (!x->deleted) {
            *e = x;
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------ str / repr */

const char *value_type_name(Value v)
{
    switch (v.type) {
    case V_UNDEF: return "Undefined";
    case V_NONE: return "NoneType";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "str";
    case V_LIST: return "list";
    case V_TUPLE: return "tuple";
    case V_DICT: return "dict";
    case V_FUNC: return v.u.fn->self.type == V_UNDEF ? "builtin_function_or_method" : "builtin_function_or_method";
    case V_MACRO: return "Macro";
    case V_OBJ: return v.u.o->cls->name;
    default: return "object";
    }
}

/* Decode one UTF-8 code point at s[i] (n bytes total); returns its length (>=1)
 * and the code point in *cp (invalid bytes decode as themselves, length 1). */
static size_t utf8_dec(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (!len || len > n || c >= 0xF8) { *cp = 0xDC00u + c; return 1; }
    uint32_t v = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *cp = 0xDC00u + c; return 1; }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

/* Python's str.isprintable() for the code points we care about. */
static bool cp_printable(uint32_t c)
{
    if (c < 0x20 || c == 0x7F) return false;
    if (c >= 0x80 && c <= 0xA0) return false;
    if (c == 0xAD) return false;
    if (c >= 0xDC80 && c <= 0xDCFF) return false;           /* our stand-in for bad bytes */
    if (c >= 0x2000 && c <= 0x200F) return false;
    if (c == 0x2028 || c == 0x2029 || (c >= 0x202A && c <= 0x202F) || (c >= 0x205F && c <= 0x206F))
        return false;
    if (c == 0x3000 || c == 0x1680 || c == 0xFEFF) return false;
    if (c >= 0xD800 && c <= 0xDFFF) return false;
    if (c >= 0xE000 && c <= 0xF8FF) return false;          /* private use */
    if (c == 0xFFF9 || c == 0xFFFA || c == 0xFFFB || c == 0xFFFE || c == 0xFFFF) return false;
    return true;
}

void value_repr_str(Sb *out, const char *s, size_t n)
{
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    sb_reserve(out, n + 2);
    sb_putc(out, q);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7F) {
            if (c == (unsigned char)q || c == '\\') {
                sb_putc(out, '\\');
                sb_putc(out, (char)c);
                i++;
                continue;
            }
            /* a run of printable ASCII that stands for itself goes in at once */
            size_t run = i + 1;
            while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != (unsigned char)q && p[run] != '\\')
                run++;
            sb_append(out, s + i, run - i);
            i = run;
            continue;
        }
        if (c == '\n') { sb_puts(out, "\\n"); i++; continue; }
        if (c == '\r') { sb_puts(out, "\\r"); i++; continue; }
        if (c == '\t') { sb_puts(out, "\\t"); i++; continue; }
        uint32_t cp;
        size_t l = utf8_dec(p + i, n - i, &cp);
        if (cp_printable(cp)) {
            sb_append(out, s + i, l);
        } else if (cp >= 0xDC80 && cp <= 0xDCFF) {
            sb_printf(out, "\\udc%02x", (unsigned)(cp & 0xFF));
        } else if (cp < 0x100) {
            sb_printf(out, "\\x%02x", (unsigned)cp);
        } else if (cp < 0x10000) {
            sb_printf(out, "\\u%04x", (unsigned)cp);
        } else {
            sb_printf(out, "\\U%08x", (unsigned)cp);
        }
        i += l;
    }
    sb_putc(out, q);
}

static void repr_depth(Sb *out, Value v, int depth);

static void func_repr(Sb *out, const VFunc *f)
{
    if (f->self.type == V_UNDEF)
        sb_printf(out, "<built-in function %s>", f->name ? f->name : "?");
    else
        sb_printf(out, "<built-in method %s of %s object>", f->name ? f->name : "?",
                  value_type_name(f->self));
}

static void str_depth(Sb *out, Value v, int depth)
{
    switch (v.type) {
    case V_UNDEF: return;
    case V_STR: sb_append(out, v.u.s->s, v.u.s->len); return;
    case V_OBJ:
        if (v.u.o->cls->str)
            v.u.o->cls->str(v.u.o, out);
        else if (v.u.o->cls->repr)
            v.u.o->cls->repr(v.u.o, out);
        else
            sb_printf(out, "<%s object>", v.u.o->cls->name);
        return;
    default:
        repr_depth(out, v, depth);
    }
}

static void repr_depth(Sb *out, Value v, int depth)
{
    switch (v.type) {
    case V_UNDEF: sb_puts(out, "Undefined"); return;
    case V_NONE: sb_puts(out, "None"); return;
    case V_BOOL: sb_puts(out, v.u.b ? "True" : "False"); return;
    case V_INT: sb_printf(out, "%" PRId64, v.u.i); return;
    case V_FLOAT: value_float_repr(out, v.u.f); return;
    case V_STR: value_repr_str(out, v.u.s->s, v.u.s->len); return;
    case V_LIST:
    case V_TUPLE: {
        bool tup = v.type == V_TUPLE;
        if (depth > VALUE_MAX_DEPTH) { sb_puts(out, tup ? "(...)" : "[...]"); return; }
        sb_putc(out, tup ? '(' : '[');
        for (size_t i = 0; i < v.u.l->len; i++) {
            if (i)
                sb_puts(out, ", ");
            repr_depth(out, v.u.l->items[i], depth + 1);
        }
        if (tup && v.u.l->len == 1)
            sb_putc(out, ',');
        sb_putc(out, tup ? ')' : ']');
        return;
    }
    case V_DICT: {
        if (depth > VALUE_MAX_DEPTH) { sb_puts(out, "{...}"); return; }
        sb_putc(out, '{');
        VDictEntry *e;
        bool first = true;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);) {
            if (!first)
                sb_puts(out, ", ");
            first = false;
            repr_depth(out, e->key, depth + 1);
            sb_puts(out, ": ");
            repr_depth(out, e->val, depth + 1);
        }
        sb_putc(out, '}');
        return;
    }
    case V_FUNC: func_repr(out, v.u.fn); return;
    case V_MACRO:
        if (tpl_macro_name && v.u.m)
            sb_printf(out, "<Macro '%s'>", tpl_macro_name(v.u.m));
        else
            sb_puts(out, "<Macro>");
        return;
    case V_OBJ:
        if (v.u.o->cls->repr)
            v.u.o->cls->repr(v.u.o, out);
        else
            str_depth(out, v, depth);
        return;
    default: sb_puts(out, "?"); return;
    }
}

void value_str(Sb *out, Value v) { str_depth(out, v, 0); }
void value_repr(Sb *out, Value v) { repr_depth(out, v, 0); }

const char *value_to_cstr(Arena *a, Value v)
{
    if (v.type == V_STR)
        return v.u.s->s;
    Sb sb = SB_INIT;
    value_str(&sb, v);
    char *r = arena_strndup(a, sb_cstr(&sb), sb.len);
    sb_free(&sb);
    return r;
}

/* ------------------------------------------------------------ JSON */

static void json_depth(JsonW *w, Value v, int depth)
{
    switch (v.type) {
    case V_UNDEF:
    case V_NONE: json_null(w); return;
    case V_BOOL: json_bool(w, v.u.b); return;
    case V_INT: json_int(w, v.u.i); return;
    case V_FLOAT: json_double(w, v.u.f); return;
    case V_STR: json_strn(w, v.u.s->s, v.u.s->len); return;
    case V_LIST:
    case V_TUPLE:
        json_arr_begin(w);
        if (depth < VALUE_MAX_DEPTH)
            for (size_t i = 0; i < v.u.l->len; i++)
                json_depth(w, v.u.l->items[i], depth + 1);
        json_arr_end(w);
        return;
    case V_DICT: {
        json_obj_begin(w);
        VDictEntry *e;
        Sb k = SB_INIT;
        for (size_t it = 0; depth < VALUE_MAX_DEPTH && dict_next(v.u.d, &it, &e);) {
            if (e->key.type == V_STR) {       /* the common case: no formatting */
                json_keyn(w, e->key.u.s->s, e->key.u.s->len);
                json_depth(w, e->val, depth + 1);
                continue;
            }
            sb_reset(&k);
            switch (e->key.type) {
            case V_NONE: sb_puts(&k, "null"); break;
            case V_BOOL: sb_puts(&k, e->key.u.b ? "true" : "false"); break;
            case V_FLOAT:
                if (isinf(e->key.u.f)) sb_puts(&k, e->key.u.f > 0 ? "Infinity" : "-Infinity");
                else if (isnan(e->key.u.f)) sb_puts(&k, "NaN");
                else value_float_repr(&k, e->key.u.f);
                break;
            default: value_str(&k, e->key); break;
            }
            json_keyn(w, sb_cstr(&k), k.len);
            json_depth(w, e->val, depth + 1);
        }
        sb_free(&k);
        json_obj_end(w);
        return;
    }
    case V_OBJ:
        if (v.u.o->cls->to_json) {
            v.u.o->cls->to_json(v.u.o, w);
            return;
        }
        /* fall through */
    default: {
        Sb s = SB_INIT;
        value_str(&s, v);
        json_strn(w, sb_cstr(&s), s.len);
        sb_free(&s);
        return;
    }
    }
}

void value_to_json(JsonW *w, Value v) { json_depth(w, v, 0); }

void value_to_json_memo(JsonW *w, Value v, JsonMemo *m)
{
    const void *key = NULL;
    size_t aux = 0;
    if (m && v.type == V_DICT && v.u.d->len) {
        key = v.u.d->entries;
        aux = v.u.d->n ^ ((size_t)v.u.d->len << 32 | (size_t)v.u.d->len >> 32);
    } else if (m && (v.type == V_LIST || v.type == V_TUPLE) && v.u.l->len) {
        key = v.u.l->items;
        aux = v.u.l->len;
    }
    if (!key) {
        json_depth(w, v, 0);
        return;
    }
    if (json_memo_hit(w, m, key, aux))
        return;
    JsonMark mk = json_memo_mark(w);
    json_depth(w, v, 0);
    json_memo_store(w, m, key, aux, mk);
}

/* ------------------------------------------------------------ deep copy */

static Value copy_depth(Arena *a, Value v, int depth)
{
    if (depth > VALUE_MAX_DEPTH)
        return v;
    switch (v.type) {
    case V_UNDEF:
        if (v.u.s)
            v.u.s = vstr_new(a, v.u.s->s, v.u.s->len);
        return v;
    case V_STR: {
        Value r = v_str(a, v.u.s->s, v.u.s->len);
        r.flags = v.flags;
        return r;
    }
    case V_LIST:
    case V_TUPLE: {
        Value r = v.type == V_LIST ? v_list(a, v.u.l->len) : v_tuple(a, v.u.l->len);
        for (size_t i = 0; i < v.u.l->len; i++)
            r.u.l->items[i] = copy_depth(a, v.u.l->items[i], depth + 1);
        r.u.l->len = v.u.l->len;
        return r;
    }
    case V_DICT: {
        Value r = v_dict(a);
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            dict_add_entry(a, r.u.d, copy_depth(a, e->key, depth + 1), copy_depth(a, e->val, depth + 1), e->hash);
        return r;
    }
    case V_OBJ:
        if (vdt_is_datetime(v)) {
            VDateTime *t = ARENA_NEW(a, VDateTime);
            *t = *(const VDateTime *)v.u.o->data;
            return v_obj(a, v.u.o->cls, t);
        }
        if (vdt_is_timedelta(v)) {
            const VTimeDelta *t = v.u.o->data;
            return vdt_timedelta(a, t->days, t->secs, t->us);
        }
        return v;
    default:
        return v;
    }
}

Value value_deep_copy(Arena *a, Value v) { return copy_depth(a, v, 0); }

static bool plain_depth(Value v, int depth)
{
    if (depth > 64)
        return false;
    switch (v.type) {
    case V_NONE: case V_BOOL: case V_INT: case V_FLOAT:
        return true;
    case V_STR:
        return v.flags == 0;
    case V_LIST: case V_TUPLE:
        for (size_t i = 0; i < v.u.l->len; i++)
            if (!plain_depth(v.u.l->items[i], depth + 1))
                return false;
        return true;
    case V_DICT: {
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            if (!plain_depth(e->key, depth + 1) || !plain_depth(e->val, depth + 1))
                return false;
        return true;
    }
    default:
        return false;
    }
}

bool value_plain(Value v) { return plain_depth(v, 0); }

/* ------------------------------------------------------------ float repr
 * (declared under pyfmt.c in value.h; lives here because value.c needs it
 * and must stay free of engine calls) */

void value_float_repr(Sb *out, double f)
{
    if (isnan(f)) { sb_puts(out, "nan"); return; }
    if (isinf(f)) { sb_puts(out, f > 0 ? "inf" : "-inf"); return; }
    if (f == 0) { sb_puts(out, signbit(f) ? "-0.0" : "0.0"); return; }
    /* Shortest %.Ne that round-trips, then Python's layout of those digits. */
    char buf[64];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec, f);
    char digits[32];
    size_t nd = 0;
    const char *p = buf;
    bool neg = false;
    if (*p == '-') { neg = true; p++; }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (neg)
        sb_putc(out, '-');
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++)
                sb_putc(out, (size_t)i < nd ? digits[i] : '0');
            sb_putc(out, '.');
            if ((size_t)exp + 1 < nd)
                sb_append(out, digits + exp + 1, nd - (size_t)exp - 1);
            else
                sb_putc(out, '0');
        } else {
            sb_puts(out, "0.");
            for (int i = 0; i < -exp - 1; i++)
                sb_putc(out, '0');
            sb_append(out, digits, nd);
        }
    } else {
        sb_putc(out, digits[0]);
        if (nd > 1) {
            sb_putc(out, '.');
            sb_append(out, digits + 1, nd - 1);
        }
        sb_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
}

/* ------------------------------------------------------------ UTF-8 helpers */

bool vu8_is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

size_t vu8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

size_t vu8_next(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return n;
    i++;
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

size_t vu8_offset(const char *s, size_t n, size_t idx)
{
    size_t i = 0;
    while (idx-- > 0 && i < n)
        i = vu8_next(s, n, i);
    return i;
}

size_t vu8_decode(const char *s, size_t n, uint32_t *cp)
{
    return utf8_dec((const unsigned char *)s, n, cp);
}

void vu8_encode(Sb *out, uint32_t cp)
{
    if (cp >= 0xDC80 && cp <= 0xDCFF) {       /* a stray byte kept as itself */
        sb_putc(out, (char)(cp & 0xFF));
    } else if (cp < 0x80) {
        sb_putc(out, (char)cp);
    } else if (cp < 0x800) {
        sb_putc(out, (char)(0xC0 | (cp >> 6)));
        sb_putc(out, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        sb_putc(out, (char)(0xE0 | (cp >> 12)));
        sb_putc(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sb_putc(out, (char)(0x80 | (cp & 0x3F)));
    } else {
        sb_putc(out, (char)(0xF0 | (cp >> 18)));
        sb_putc(out, (char)(0x80 | ((cp >> 12) & 0x3F)));
        sb_putc(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sb_putc(out, (char)(0x80 | (cp & 0x3F)));
    }
}

long vbytes_find(const char *h, size_t hn, const char *nd, size_t nn, size_t from)
{
    if (nn == 0)
        return from <= hn ? (long)from : -1;
    if (nn > hn)
        return -1;
    for (size_t i = from; i + nn <= hn; i++) {
        const char *p = memchr(h + i, nd[0], hn - nn + 1 - i);
        if (!p)
            return -1;
        i = (size_t)(p - h);
        if (memcmp(p, nd, nn) == 0)
            return (long)i;
    }
    return -1;
}

long vbytes_rfind(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn > hn)
        return -1;
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (memcmp(h + i, nd, nn) == 0)
            return (long)i;
    return -1;
}
