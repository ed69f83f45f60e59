/* methods.c - Python methods of the builtin types as bound callables:
 * str (lower, split, format, ...), list (append, pop, sort, ...) and dict
 * (get, items, update, ...), plus the dict view objects that items()/keys()/
 * values() return (printed as dict_items([...]) like Python), the Unicode
 * case/space helpers and the stable sort shared with filters.c.
 *
 * Attribute lookup order (attribute vs item) and sandbox rules are the
 * engine's; this file answers only "does this builtin have that method". */
#include "vpriv.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* ------------------------------------------------------------ Unicode helpers */

uint32_t vcp_lower(uint32_t c)
{
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
        bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
        if (odd_upper) return (c & 1) ? c + 1 : c;
        return (c & 1) ? c : c + 1;
    }
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

uint32_t vcp_upper(uint32_t c)
{
    if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
        bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
        if (odd_upper) return (c & 1) ? c : c - 1;
        return (c & 1) ? c - 1 : c;
    }
    if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) return c - 32;
    if (c == 0x3C2) return 0x3A3;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    return c;
}

bool vcp_isspace(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static bool cp_isupper(uint32_t c) { return vcp_lower(c) != c; }
static bool cp_islower(uint32_t c) { return vcp_upper(c) != c || c == 0xDF; }
static bool cp_iscased(uint32_t c) { return cp_isupper(c) || cp_islower(c); }
static bool cp_isdigit(uint32_t c) { return c >= '0' && c <= '9'; }
static bool cp_isalpha(uint32_t c)
{
    if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
    return cp_iscased(c) || c == 0xAA || c == 0xBA || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x5D0 && c <= 0x5EA) ||
           (c >= 0x620 && c <= 0x64A);
}

static bool prev_cased_before(const char *p, size_t i)
{
    if (i == 0)
        return false;
    size_t st = i - 1;
    while (st > 0 && ((unsigned char)p[st] & 0xC0) == 0x80)
        st--;
    uint32_t c;
    vu8_decode(p + st, i - st, &c);
    return cp_iscased(c);
}

/* Python's str.lower/upper/title/capitalize/swapcase. */
Value vstr_case(Arena *a, Value s, int mode)
{
    const char *p = s.u.s->s;
    size_t n = s.u.s->len;
    Sb sb = SB_INIT;
    sb_reserve(&sb, n);
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t l = vu8_decode(p + i, n - i, &c);
        uint32_t r = c;
        switch (mode) {
        case CASE_LOWER: r = vcp_lower(c); break;
        case CASE_UPPER: r = vcp_upper(c); break;
        case CASE_SWAP: r = cp_isupper(c) ? vcp_lower(c) : vcp_upper(c); break;
        case CASE_CAPITALIZE: r = first ? vcp_upper(c) : vcp_lower(c); break;
        case CASE_TITLE:
            r = prev_cased ? vcp_lower(c) : vcp_upper(c);
            prev_cased = cp_iscased(c);
            break;
        }
        first = false;
        if (c == 0xDF && r == c && (mode == CASE_UPPER || mode == CASE_SWAP || (mode == CASE_TITLE && !prev_cased_before(p, i)))) {
            sb_puts(&sb, mode == CASE_TITLE ? "Ss" : "SS");   /* German sharp s */
            i += l;
            continue;
        }
        if (r == c)
            sb_append(&sb, p + i, l);
        else
            vu8_encode(&sb, r);
        i += l;
    }
    Value v = v_str_sb(a, &sb);
    sb_free(&sb);
    return v;
}

static bool in_cps(uint32_t c, const uint32_t *set, size_t nset)
{
    for (size_t i = 0; i < nset; i++)
        if (set[i] == c)
            return true;
    return false;
}

/* strip: which 1 = left, 2 = right, 3 = both; chars NULL = whitespace. */
Value vstr_strip(Arena *a, Value s, const char *chars, size_t nchars, int which)
{
    const char *p = s.u.s->s;
    size_t n = s.u.s->len;
    uint32_t set[64];
    size_t nset = 0;
    if (chars)
        for (size_t i = 0; i < nchars && nset < 64;) {
            i += vu8_decode(chars + i, nchars - i, &set[nset]);
            nset++;
        }
    size_t b = 0, e = n;
    if (which & 1)
        while (b < e) {
            uint32_t c;
            size_t l = vu8_decode(p + b, e - b, &c);
            if (chars ? !in_cps(c, set, nset) : !vcp_isspace(c))
                break;
            b += l;
        }
    if (which & 2)
        while (e > b) {
            size_t st = e - 1;
            while (st > b && ((unsigned char)p[st] & 0xC0) == 0x80)
                st--;
            uint32_t c;
            vu8_decode(p + st, e - st, &c);
            if (chars ? !in_cps(c, set, nset) : !vcp_isspace(c))
                break;
            e = st;
        }
    if (b == 0 && e == n) {
        s.flags = 0;
        return s;
    }
    return v_str(a, p + b, e - b);
}

/* Python's str.center/ljust/rjust. */
Value vstr_pad(Arena *a, Value s, int64_t width, const char *fill, size_t nfill, char how)
{
    int64_t len = (int64_t)vu8_count(s.u.s->s, s.u.s->len);
    if (width <= len) {
        s.flags = 0;
        return s;
    }
    int64_t marg = width - len, left;
    if (how == '<') left = 0;
    else if (how == '>') left = marg;
    else left = marg / 2 + (marg & width & 1);
    Sb sb = SB_INIT;
    for (int64_t i = 0; i < left; i++)
        sb_append(&sb, fill, nfill);
    sb_append(&sb, s.u.s->s, s.u.s->len);
    for (int64_t i = 0; i < marg - left; i++)
        sb_append(&sb, fill, nfill);
    Value v = v_str_sb(a, &sb);
    sb_free(&sb);
    return v;
}

/* ------------------------------------------------------------ stable sort */

int vsort(Interp *I, Value *items, size_t n, VSortCmp cmp, void *ctx)
{
    if (n < 2)
        return 0;
    Value *tmp = arena_alloc(interp_arena(I), n * sizeof(Value));
    /* bottom-up merge sort */
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int c;
                if (cmp(I, ctx, items[j], items[i], &c))
                    return -1;
                if (c < 0) tmp[k++] = items[j++];
                else tmp[k++] = items[i++];
            }
            while (i < mid) tmp[k++] = items[i++];
            while (j < hi) tmp[k++] = items[j++];
        }
        memcpy(items, tmp, n * sizeof(Value));
    }
    return 0;
}

int vsort_cmp_plain(Interp *I, void *ctx, Value a, Value b, int *out)
{
    const bool *case_sensitive = ctx;
    if (value_sort_cmp(a, b, case_sensitive ? *case_sensitive : true, out))
        return interp_error(I, "'<' not supported between instances of '%s' and '%s'", value_type_name(a),
                            value_type_name(b));
    return 0;
}

/* ------------------------------------------------------------ mutation fence */

/* Thread-local: the fence belongs to the thread that renders, and a test is
 * one load when no fence is set (every thread but a parallel parse's). */
static _Thread_local struct {
    const Arena *own;
    ValueFenceHook hook;
    void *ud;
} fence;

void value_fence_set(const Arena *own, ValueFenceHook hook, void *ud)
{
    fence.own = own;
    fence.hook = hook;
    fence.ud = ud;
}

int value_fence(Interp *I, const void *p)
{
    if (!fence.own || arena_owns(fence.own, p) || fence.hook(fence.ud) == 0)
        return 0;
    return interp_error(I, "a shared value cannot be changed on a parse thread");
}

/* The first statement of every method that changes self in place. */
#define FENCE(self) \
    do { if (value_fence(I, (self).type == V_DICT ? (const void *)(self).u.d : (const void *)(self).u.l)) return -1; } while (0)

/* ------------------------------------------------------------ changes of values that outlive a render
 *
 * A var, a global or a config value changed in place (`var('l').append(x)`,
 * `config.get('d').update(...)`) is seen by every later render, as in dbt:
 * what it takes in - its grown storage and the values it stores - must
 * outlive the render that stored them, whose arena is reset before the next
 * one.  A container not in the render's arena is such a value: the change
 * allocates in one process-wide arena instead and stores deep copies of
 * strings, lists and dicts; an object that belongs to the render (a
 * relation, a namespace, a macro's caller) cannot be kept there and is an
 * error.  The changes are counted (value_shared_changes): the parse cache
 * cannot reuse a render whose effects other renders see. */
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static Arena shared_arena;
static bool shared_ready;
static atomic_ulong shared_changes;

unsigned long value_shared_changes(void) { return atomic_load(&shared_changes); }

int change_begin(Interp *I, const void *self, Change *c)
{
    if (value_fence(I, self))
        return -1;
    c->shared = !arena_owns(interp_arena(I), self);
    if (!c->shared) {
        c->a = interp_arena(I);
        return 0;
    }
    pthread_mutex_lock(&shared_mu);
    if (!shared_ready) {
        arena_init(&shared_arena, 0);
        shared_ready = true;
    }
    atomic_fetch_add(&shared_changes, 1);
    c->a = &shared_arena;
    return 0;
}

void change_end(Change *c)
{
    if (c->shared)
        pthread_mutex_unlock(&shared_mu);
    c->shared = false;
}

/* Does v hold (at any depth) an object, function or macro allocated in the
 * render's arena? */
static bool holds_render_obj(Interp *I, Value v, int depth)
{
    if (depth > VALUE_MAX_DEPTH)
        return false;
    switch (v.type) {
    case V_LIST:
    case V_TUPLE:
        for (size_t i = 0; i < v.u.l->len; i++)
            if (holds_render_obj(I, v.u.l->items[i], depth + 1))
                return true;
        return false;
    case V_DICT: {
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);)
            if (holds_render_obj(I, e->key, depth + 1) || holds_render_obj(I, e->val, depth + 1))
                return true;
        return false;
    }
    case V_OBJ:
        return !vdt_is_datetime(v) && !vdt_is_timedelta(v) &&
               (arena_owns(interp_arena(I), v.u.o) || arena_owns(interp_arena(I), v.u.o->data));
    case V_FUNC: return arena_owns(interp_arena(I), v.u.fn);
    case V_MACRO: return arena_owns(interp_arena(I), v.u.m);
    default: return false;
    }
}

int change_keep(Interp *I, const Change *c, Value v, Value *out)
{
    if (!c->shared) {
        *out = v;
        return 0;
    }
    if (holds_render_obj(I, v, 0))
        return interp_error(I, "cannot store %s in a value other renders see (a var, a global or a config value "
                               "changed in place): only strings, numbers, lists and dicts",
                            value_type_name(v));
    *out = value_deep_copy(c->a, v);
    return 0;
}

/* dict_set through a change (c NULL: d is the render's own) */
static int change_set(Interp *I, const Change *c, VDict *d, Value k, Value v)
{
    if (c && c->shared && (change_keep(I, c, k, &k) || change_keep(I, c, v, &v)))
        return -1;
    dict_set(c ? c->a : interp_arena(I), d, k, v);
    return 0;
}

/* ------------------------------------------------------------ argument helpers */

#define ARENA (interp_arena(I))
#define NARGS(lo, hi, name) \
    do { if (args->nkw || args->npos < (lo) || args->npos > (hi)) return argc_error(I, name, lo, hi, args); } while (0)

static int argc_error(Interp *I, const char *name, int lo, int hi, CallArgs *args)
{
    if (args->nkw)
        return interp_error(I, "%s() takes no keyword arguments", name);
    if (hi == 0)
        return interp_error(I, "%s() takes no arguments (%d given)", name, args->npos);
    if (lo == hi)
        return interp_error(I, "%s() takes exactly %s argument (%d given)", name, lo == 1 ? "one" : "two", args->npos);
    if (args->npos < lo)
        return interp_error(I, "%s expected at least %d argument%s, got %d", name, lo, lo == 1 ? "" : "s", args->npos);
    return interp_error(I, "%s expected at most %d argument%s, got %d", name, hi, hi == 1 ? "" : "s", args->npos);
}

static int need_str(Interp *I, Value v, const char *what)
{
    if (v.type != V_STR)
        return interp_error(I, "%s must be str, not %s", what, value_type_name(v));
    return 0;
}

static int need_int(Interp *I, Value v, int64_t *out)
{
    if (v.type == V_INT) { *out = v.u.i; return 0; }
    if (v.type == V_BOOL) { *out = v.u.b; return 0; }
    return interp_error(I, "'%s' object cannot be interpreted as an integer", value_type_name(v));
}

/* byte offset -> code point index */
static int64_t cp_index(const char *s, size_t off) { return (int64_t)vu8_count(s, off); }

/* optional [start, end] code-point arguments to byte range */
static int sub_range(Interp *I, Value s, CallArgs *args, int first, size_t *b, size_t *e)
{
    const char *p = s.u.s->s;
    size_t n = s.u.s->len;
    int64_t len = (int64_t)vu8_count(p, n);
    int64_t st = 0, en = len;
    if (args->npos > first && args->pos[first].type != V_NONE && need_int(I, args->pos[first], &st)) return -1;
    if (args->npos > first + 1 && args->pos[first + 1].type != V_NONE && need_int(I, args->pos[first + 1], &en)) return -1;
    if (st < 0) { st += len; if (st < 0) st = 0; }
    if (en < 0) { en += len; if (en < 0) en = 0; }
    if (st > len) st = len + 1;   /* empty, and find('') fails like Python */
    if (en > len) en = len;
    *b = st > len ? n + 1 : vu8_offset(p, n, (size_t)st);
    *e = vu8_offset(p, n, (size_t)en);
    return 0;
}

/* ------------------------------------------------------------ str methods */

static int s_lower(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "lower"); *out = vstr_case(ARENA, self, CASE_LOWER); return 0; }
static int s_upper(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "upper"); *out = vstr_case(ARENA, self, CASE_UPPER); return 0; }
static int s_title(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "title"); *out = vstr_case(ARENA, self, CASE_TITLE); return 0; }
static int s_capitalize(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "capitalize"); *out = vstr_case(ARENA, self, CASE_CAPITALIZE); return 0; }
static int s_swapcase(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "swapcase"); *out = vstr_case(ARENA, self, CASE_SWAP); return 0; }
static int s_casefold(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "casefold"); *out = vstr_case(ARENA, self, CASE_LOWER); return 0; }

static int strip_common(Interp *I, Value self, CallArgs *args, Value *out, int which, const char *name)
{
    NARGS(0, 1, name);
    if (args->npos == 1 && args->pos[0].type != V_NONE) {
        if (args->pos[0].type != V_STR)
            return interp_error(I, "%s arg must be None or str", name);
        *out = vstr_strip(ARENA, self, args->pos[0].u.s->s, args->pos[0].u.s->len, which);
    } else {
        *out = vstr_strip(ARENA, self, NULL, 0, which);
    }
    return 0;
}
static int s_strip(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return strip_common(I, self, args, out, 3, "strip"); }
static int s_lstrip(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return strip_common(I, self, args, out, 1, "lstrip"); }
static int s_rstrip(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return strip_common(I, self, args, out, 2, "rstrip"); }

static int split_args(Interp *I, CallArgs *args, Value *sep, int64_t *maxsplit, const char *name)
{
    static const char *const params[] = {"sep", "maxsplit"};
    Value slots[2];
    if (callargs_bind(I, name, args, params, 2, 0, slots))
        return -1;
    *sep = slots[0];
    *maxsplit = -1;
    if (slots[1].type != V_UNDEF && need_int(I, slots[1], maxsplit))
        return -1;
    if (sep->type == V_UNDEF)
        *sep = v_none();
    if (sep->type != V_NONE) {
        if (sep->type != V_STR)
            return interp_error(I, "must be str or None, not %s", value_type_name(*sep));
        if (sep->u.s->len == 0)
            return interp_error(I, "empty separator");
    }
    return 0;
}

static bool ws_at(const char *p, size_t n, size_t i, size_t *len)
{
    uint32_t c;
    *len = vu8_decode(p + i, n - i, &c);
    return vcp_isspace(c);
}

Value vstr_split(Arena *a, Value self, Value sep, int64_t maxsplit)
{
    const char *p = self.u.s->s;
    size_t n = self.u.s->len;
    Value l = v_list(a, 0);
    if (sep.type == V_NONE) {
        size_t i = 0, wl;
        while (i < n) {
            while (i < n && ws_at(p, n, i, &wl))
                i += wl;
            if (i >= n)
                break;
            if (maxsplit >= 0 && (int64_t)l.u.l->len >= maxsplit) {
                size_t e = n;
                while (e > i) {
                    size_t st = e - 1;
                    while (st > i && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
                    if (!ws_at(p, n, st, &wl)) break;
                    e = st;
                }
                list_append(a, l.u.l, v_str(a, p + i, e - i));
                break;
            }
            size_t st = i;
            while (i < n && !ws_at(p, n, i, &wl))
                i = vu8_next(p, n, i);
            list_append(a, l.u.l, v_str(a, p + st, i - st));
        }
        return l;
    }
    const char *sp = sep.u.s->s;
    size_t sn = sep.u.s->len, i = 0;
    for (;;) {
        long f = (maxsplit < 0 || (int64_t)l.u.l->len < maxsplit) ? vbytes_find(p, n, sp, sn, i) : -1;
        if (f < 0) {
            list_append(a, l.u.l, v_str(a, p + i, n - i));
            break;
        }
        list_append(a, l.u.l, v_str(a, p + i, (size_t)f - i));
        i = (size_t)f + sn;
    }
    return l;
}

static Value rsplit(Arena *a, Value self, Value sep, int64_t maxsplit)
{
    if (maxsplit < 0)
        return vstr_split(a, self, sep, -1);
    const char *p = self.u.s->s;
    size_t n = self.u.s->len;
    Value l = v_list(a, 0);   /* built reversed */
    if (sep.type == V_NONE) {
        size_t e = n, wl;
        while (e > 0) {
            while (e > 0) {
                size_t st = e - 1;
                while (st > 0 && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
                if (!ws_at(p, n, st, &wl)) break;
                e = st;
            }
            if (e == 0)
                break;
            if ((int64_t)l.u.l->len >= maxsplit) {
                size_t b = 0;
                while (b < e && ws_at(p, n, b, &wl))
                    b += wl;
                list_append(a, l.u.l, v_str(a, p + b, e - b));
                break;
            }
            size_t b = e;
            while (b > 0) {
                size_t st = b - 1;
                while (st > 0 && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
                if (ws_at(p, n, st, &wl)) break;
                b = st;
            }
            list_append(a, l.u.l, v_str(a, p + b, e - b));
            e = b;
        }
    } else {
        const char *sp = sep.u.s->s;
        size_t sn = sep.u.s->len, e = n;
        for (;;) {
            long f = (int64_t)l.u.l->len < maxsplit ? vbytes_rfind(p, e, sp, sn) : -1;
            if (f < 0) {
                list_append(a, l.u.l, v_str(a, p, e));
                break;
            }
            list_append(a, l.u.l, v_str(a, p + f + sn, e - (size_t)f - sn));
            e = (size_t)f;
        }
    }
    for (size_t i = 0, j = l.u.l->len; i + 1 < j; i++, j--) {
        Value t = l.u.l->items[i];
        l.u.l->items[i] = l.u.l->items[j - 1];
        l.u.l->items[j - 1] = t;
    }
    return l;
}

static int s_split(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Value sep;
    int64_t ms;
    if (split_args(I, args, &sep, &ms, "split"))
        return -1;
    *out = vstr_split(ARENA, self, sep, ms);
    return 0;
}

static int s_rsplit(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Value sep;
    int64_t ms;
    if (split_args(I, args, &sep, &ms, "rsplit"))
        return -1;
    *out = rsplit(ARENA, self, sep, ms);
    return 0;
}

Value vstr_replace(Arena *a, Value self, Value old, Value new_, int64_t count)
{
    const char *p = self.u.s->s, *op = old.u.s->s, *np = new_.u.s->s;
    size_t n = self.u.s->len, on = old.u.s->len, nn = new_.u.s->len;
    Sb sb = SB_INIT;
    int64_t done = 0;
    if (on == 0) {
        size_t i = 0;
        for (;;) {
            if (count < 0 || done < count) {
                sb_append(&sb, np, nn);
                done++;
            }
            if (i >= n)
                break;
            size_t j = vu8_next(p, n, i);
            sb_append(&sb, p + i, j - i);
            i = j;
        }
    } else {
        size_t i = 0;
        for (;;) {
            long f = (count < 0 || done < count) ? vbytes_find(p, n, op, on, i) : -1;
            if (f < 0) {
                sb_append(&sb, p + i, n - i);
                break;
            }
            sb_append(&sb, p + i, (size_t)f - i);
            sb_append(&sb, np, nn);
            i = (size_t)f + on;
            done++;
        }
    }
    Value v = v_str_sb(a, &sb);
    sb_free(&sb);
    return v;
}

static int s_replace(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(2, 3, "replace");
    if (need_str(I, args->pos[0], "replace() argument 1") || need_str(I, args->pos[1], "replace() argument 2"))
        return -1;
    int64_t cnt = -1;
    if (args->npos == 3 && need_int(I, args->pos[2], &cnt))
        return -1;
    *out = vstr_replace(ARENA, self, args->pos[0], args->pos[1], cnt);
    return 0;
}

static int startend(Interp *I, Value self, CallArgs *args, Value *out, bool end, const char *name)
{
    NARGS(1, 3, name);
    size_t b, e;
    if (sub_range(I, self, args, 1, &b, &e))
        return -1;
    Value arg = args->pos[0];
    Value *cands = &arg;
    size_t nc = 1;
    if (arg.type == V_TUPLE) {
        cands = arg.u.l->items;
        nc = arg.u.l->len;
    }
    *out = v_bool(false);
    if (b > self.u.s->len)
        return 0;
    for (size_t k = 0; k < nc; k++) {
        Value c = cands[k];
        if (c.type != V_STR)
            return interp_error(I, "%s first arg must be str or a tuple of str, not %s", name, value_type_name(c));
        size_t cn = c.u.s->len;
        if (e < b || cn > e - b)
            continue;
        const char *at = end ? self.u.s->s + e - cn : self.u.s->s + b;
        if (memcmp(at, c.u.s->s, cn) == 0) {
            *out = v_bool(true);
            return 0;
        }
    }
    return 0;
}
static int s_startswith(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return startend(I, self, args, out, false, "startswith"); }
static int s_endswith(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return startend(I, self, args, out, true, "endswith"); }

/* str.removeprefix / str.removesuffix (Python 3.9) */
static int remove_affix(Interp *I, Value self, CallArgs *args, Value *out, bool suffix, const char *name)
{
    NARGS(1, 1, name);
    Value a = args->pos[0];
    if (a.type != V_STR)
        return interp_error(I, "%s() argument must be str, not %s", name, value_type_name(a));
    size_t n = self.u.s->len, k = a.u.s->len;
    *out = self;
    if (k && k <= n && memcmp(suffix ? self.u.s->s + n - k : self.u.s->s, a.u.s->s, k) == 0)
        *out = v_str(ARENA, suffix ? self.u.s->s : self.u.s->s + k, n - k);
    return 0;
}
static int s_removeprefix(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return remove_affix(I, self, args, out, false, "removeprefix"); }
static int s_removesuffix(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return remove_affix(I, self, args, out, true, "removesuffix"); }

static int s_format(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    return value_str_format(I, self.u.s, args, out);
}

static int s_join(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 1, "join");
    VList *l;
    if (value_iterate(I, args->pos[0], &l))
        return -1;
    Sb sb = SB_INIT;
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i].type != V_STR) {
            sb_free(&sb);
            return interp_error(I, "sequence item %zu: expected str instance, %s found", i, value_type_name(l->items[i]));
        }
        if (i)
            sb_append(&sb, self.u.s->s, self.u.s->len);
        sb_append(&sb, l->items[i].u.s->s, l->items[i].u.s->len);
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

static int find_common(Interp *I, Value self, CallArgs *args, Value *out, bool rev, bool raise, const char *name)
{
    NARGS(1, 3, name);
    if (need_str(I, args->pos[0], "must be str, not"))
        return -1;
    size_t b, e;
    if (sub_range(I, self, args, 1, &b, &e))
        return -1;
    long f = -1;
    if (b <= self.u.s->len && e >= b) {
        const char *p = self.u.s->s;
        Value nd = args->pos[0];
        if (rev) {
            long r = vbytes_rfind(p + b, e - b, nd.u.s->s, nd.u.s->len);
            f = r < 0 ? -1 : r + (long)b;
        } else {
            long r = vbytes_find(p + b, e - b, nd.u.s->s, nd.u.s->len, 0);
            f = r < 0 ? -1 : r + (long)b;
        }
    }
    if (f < 0 && raise)
        return interp_error(I, "substring not found");
    *out = v_int(f < 0 ? -1 : cp_index(self.u.s->s, (size_t)f));
    return 0;
}
static int s_find(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return find_common(I, self, args, out, false, false, "find"); }
static int s_rfind(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return find_common(I, self, args, out, true, false, "rfind"); }
static int s_index(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return find_common(I, self, args, out, false, true, "index"); }
static int s_rindex(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return find_common(I, self, args, out, true, true, "rindex"); }

static int s_count(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 3, "count");
    if (need_str(I, args->pos[0], "must be str, not"))
        return -1;
    size_t b, e;
    if (sub_range(I, self, args, 1, &b, &e))
        return -1;
    int64_t c = 0;
    if (b <= self.u.s->len && e >= b) {
        const char *p = self.u.s->s + b;
        size_t n = e - b;
        Value nd = args->pos[0];
        if (nd.u.s->len == 0) {
            c = (int64_t)vu8_count(p, n) + 1;
        } else {
            size_t i = 0;
            long f;
            while ((f = vbytes_find(p, n, nd.u.s->s, nd.u.s->len, i)) >= 0) {
                c++;
                i = (size_t)f + nd.u.s->len;
            }
        }
    }
    *out = v_int(c);
    return 0;
}

typedef bool (*CpPred)(uint32_t);
static int is_all(Interp *I, Value self, CallArgs *args, Value *out, CpPred pred, const char *name)
{
    NARGS(0, 0, name);
    const char *p = self.u.s->s;
    size_t n = self.u.s->len;
    bool ok = n > 0;
    for (size_t i = 0; i < n && ok;) {
        uint32_t c;
        i += vu8_decode(p + i, n - i, &c);
        if (!pred(c))
            ok = false;
    }
    *out = v_bool(ok);
    return 0;
}
static bool cp_isalnum(uint32_t c) { return cp_isalpha(c) || cp_isdigit(c); }
static int s_isdigit(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return is_all(I, self, args, out, cp_isdigit, "isdigit"); }
static int s_isalpha(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return is_all(I, self, args, out, cp_isalpha, "isalpha"); }
static int s_isalnum(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return is_all(I, self, args, out, cp_isalnum, "isalnum"); }
static int s_isspace(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return is_all(I, self, args, out, vcp_isspace, "isspace"); }

bool vstr_is_case(Value s, bool upper)
{
    const char *p = s.u.s->s;
    size_t n = s.u.s->len;
    bool any = false;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        i += vu8_decode(p + i, n - i, &c);
        if (upper ? cp_islower(c) : cp_isupper(c))
            return false;
        if (cp_iscased(c))
            any = true;
    }
    return any;
}
static int s_islower(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "islower"); *out = v_bool(vstr_is_case(self, false)); return 0; }
static int s_isupper(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ NARGS(0, 0, "isupper"); *out = v_bool(vstr_is_case(self, true)); return 0; }

static int s_splitlines(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"keepends"};
    Value slot;
    if (callargs_bind(I, "splitlines", args, params, 1, 0, &slot))
        return -1;
    bool keep = slot.type != V_UNDEF && value_truthy(slot);
    Arena *a = ARENA;
    const char *p = self.u.s->s;
    size_t n = self.u.s->len, i = 0, st = 0;
    Value l = v_list(a, 0);
    while (i < n) {
        uint32_t c;
        size_t cl = vu8_decode(p + i, n - i, &c);
        bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
                   c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!brk) {
            i += cl;
            continue;
        }
        size_t eol = i + cl;
        if (c == '\r' && eol < n && p[eol] == '\n')
            eol++;
        list_append(a, l.u.l, v_str(a, p + st, (keep ? eol : i) - st));
        i = st = eol;
    }
    if (st < n)
        list_append(a, l.u.l, v_str(a, p + st, n - st));
    *out = l;
    return 0;
}

static int s_zfill(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 1, "zfill");
    int64_t w = 0;
    if (need_int(I, args->pos[0], &w))
        return -1;
    int64_t len = (int64_t)vu8_count(self.u.s->s, self.u.s->len);
    if (w <= len) {
        *out = self;
        out->flags = 0;
        return 0;
    }
    Sb sb = SB_INIT;
    const char *p = self.u.s->s;
    size_t n = self.u.s->len, k = 0;
    if (n && (p[0] == '+' || p[0] == '-')) {
        sb_putc(&sb, p[0]);
        k = 1;
    }
    for (int64_t i = 0; i < w - len; i++)
        sb_putc(&sb, '0');
    sb_append(&sb, p + k, n - k);
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

static int pad_common(Interp *I, Value self, CallArgs *args, Value *out, char how, const char *name)
{
    NARGS(1, 2, name);
    int64_t w = 0;
    if (need_int(I, args->pos[0], &w))
        return -1;
    const char *fill = " ";
    size_t nf = 1;
    if (args->npos == 2) {
        Value f = args->pos[1];
        if (f.type != V_STR || vu8_count(f.u.s->s, f.u.s->len) != 1)
            return interp_error(I, "The fill character must be exactly one character long");
        fill = f.u.s->s;
        nf = f.u.s->len;
    }
    *out = vstr_pad(ARENA, self, w, fill, nf, how);
    return 0;
}
static int s_center(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return pad_common(I, self, args, out, '^', "center"); }
static int s_ljust(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return pad_common(I, self, args, out, '<', "ljust"); }
static int s_rjust(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return pad_common(I, self, args, out, '>', "rjust"); }

static int partition_common(Interp *I, Value self, CallArgs *args, Value *out, bool rev)
{
    NARGS(1, 1, rev ? "rpartition" : "partition");
    Value sep = args->pos[0];
    if (need_str(I, sep, "must be str, not"))
        return -1;
    if (sep.u.s->len == 0)
        return interp_error(I, "empty separator");
    Arena *a = ARENA;
    const char *p = self.u.s->s;
    size_t n = self.u.s->len;
    long f = rev ? vbytes_rfind(p, n, sep.u.s->s, sep.u.s->len) : vbytes_find(p, n, sep.u.s->s, sep.u.s->len, 0);
    Value t = v_tuple(a, 3);
    Value empty = v_str(a, "", 0);
    if (f < 0) {
        t.u.l->items[0] = rev ? empty : self;
        t.u.l->items[1] = empty;
        t.u.l->items[2] = rev ? self : empty;
    } else {
        t.u.l->items[0] = v_str(a, p, (size_t)f);
        t.u.l->items[1] = sep;
        t.u.l->items[2] = v_str(a, p + f + sep.u.s->len, n - (size_t)f - sep.u.s->len);
    }
    *out = t;
    return 0;
}
static int s_partition(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return partition_common(I, self, args, out, false); }
static int s_rpartition(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return partition_common(I, self, args, out, true); }

static int s_encode(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = self;   /* no bytes type: encode() is identity */
    return 0;
}

/* ------------------------------------------------------------ list methods */

static int l_append(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 1, "append");
    Change c;
    Value v;
    if (change_begin(I, self.u.l, &c))
        return -1;
    int rc = change_keep(I, &c, args->pos[0], &v);
    if (rc == 0)
        list_append(c.a, self.u.l, v);
    change_end(&c);
    *out = v_none();
    return rc;
}

static int l_extend(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 1, "extend");
    VList *src;
    if (value_iterate(I, args->pos[0], &src))
        return -1;
    Change c;
    if (change_begin(I, self.u.l, &c))
        return -1;
    int rc = 0;
    size_t n = src->len;            /* l.extend(l) */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Value v;
        rc = change_keep(I, &c, src->items[i], &v);
        if (rc == 0)
            list_append(c.a, self.u.l, v);
    }
    change_end(&c);
    *out = v_none();
    return rc;
}

static int l_insert(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(2, 2, "insert");
    int64_t i = 0;
    if (need_int(I, args->pos[0], &i))
        return -1;
    Change c;
    Value v;
    if (change_begin(I, self.u.l, &c))
        return -1;
    int64_t n = (int64_t)self.u.l->len;
    if (i < 0) { i += n; if (i < 0) i = 0; }
    if (i > n) i = n;
    int rc = change_keep(I, &c, args->pos[1], &v);
    if (rc == 0)
        list_insert(c.a, self.u.l, (size_t)i, v);
    change_end(&c);
    *out = v_none();
    return rc;
}

static int l_pop(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    NARGS(0, 1, "pop");
    VList *l = self.u.l;
    int64_t i = -1;
    if (args->npos && need_int(I, args->pos[0], &i))
        return -1;
    if (l->len == 0)
        return interp_error(I, "pop from empty list");
    if (i < 0)
        i += (int64_t)l->len;
    if (i < 0 || i >= (int64_t)l->len)
        return interp_error(I, "pop index out of range");
    *out = l->items[i];
    memmove(l->items + i, l->items + i + 1, (l->len - (size_t)i - 1) * sizeof(Value));
    l->len--;
    return 0;
}

static int l_remove(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    NARGS(1, 1, "remove");
    VList *l = self.u.l;
    for (size_t i = 0; i < l->len; i++)
        if (value_eq(l->items[i], args->pos[0])) {
            memmove(l->items + i, l->items + i + 1, (l->len - i - 1) * sizeof(Value));
            l->len--;
            *out = v_none();
            return 0;
        }
    return interp_error(I, "list.remove(x): x not in list");
}

static int l_index(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 3, "index");
    VList *l = self.u.l;
    for (size_t i = 0; i < l->len; i++)
        if (value_eq(l->items[i], args->pos[0])) {
            *out = v_int((int64_t)i);
            return 0;
        }
    Sb sb = SB_INIT;
    value_repr(&sb, args->pos[0]);
    interp_error(I, "%s is not in %s", sb_cstr(&sb), self.type == V_TUPLE ? "tuple" : "list");
    sb_free(&sb);
    return -1;
}

static int l_count(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 1, "count");
    int64_t c = 0;
    for (size_t i = 0; i < self.u.l->len; i++)
        if (value_eq(self.u.l->items[i], args->pos[0]))
            c++;
    *out = v_int(c);
    return 0;
}

static int l_reverse(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    NARGS(0, 0, "reverse");
    VList *l = self.u.l;
    for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) {
        Value t = l->items[i];
        l->items[i] = l->items[j - 1];
        l->items[j - 1] = t;
    }
    *out = v_none();
    return 0;
}

typedef struct KeyCmp {
    Value key;     /* callable or undefined */
} KeyCmp;

static int l_sort(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    static const char *const params[] = {"key", "reverse"};
    Value slots[2];
    if (args->npos)
        return interp_error(I, "sort() takes no positional arguments");
    if (callargs_bind(I, "sort", args, params, 2, 0, slots))
        return -1;
    VList *l = self.u.l;
    bool rev = slots[1].type != V_UNDEF && value_truthy(slots[1]);
    bool cs = true;
    if (slots[0].type != V_UNDEF && slots[0].type != V_NONE) {
        /* decorate with keys: pairs (key, value) as 2-tuples sorted by key */
        Arena *a = ARENA;
        Value *keys = arena_alloc(a, l->len * sizeof(Value));
        Value *pairs = arena_alloc(a, l->len * sizeof(Value));
        for (size_t i = 0; i < l->len; i++) {
            Value arg = l->items[i];
            CallArgs ca = {1, &arg, 0, NULL, NULL};
            if (interp_call(I, slots[0], &ca, &keys[i]))
                return -1;
            Value t = v_tuple(a, 2);
            t.u.l->items[0] = keys[i];
            t.u.l->items[1] = v_int((int64_t)i);
            pairs[i] = t;
        }
        if (rev)
            for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) { Value t = pairs[i]; pairs[i] = pairs[j - 1]; pairs[j - 1] = t; }
        if (vsort(I, pairs, l->len, vsort_cmp_key0, &cs))
            return -1;
        if (rev)
            for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) { Value t = pairs[i]; pairs[i] = pairs[j - 1]; pairs[j - 1] = t; }
        Value *vals = arena_alloc(a, l->len * sizeof(Value));
        for (size_t i = 0; i < l->len; i++)
            vals[i] = l->items[pairs[i].u.l->items[1].u.i];
        memcpy(l->items, vals, l->len * sizeof(Value));
        *out = v_none();
        return 0;
    }
    /* Python's reverse sort keeps equal elements in original order: reverse,
     * stable sort, reverse. */
    if (rev)
        for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) { Value t = l->items[i]; l->items[i] = l->items[j - 1]; l->items[j - 1] = t; }
    if (vsort(I, l->items, l->len, vsort_cmp_plain, &cs))
        return -1;
    if (rev)
        for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) { Value t = l->items[i]; l->items[i] = l->items[j - 1]; l->items[j - 1] = t; }
    *out = v_none();
    return 0;
}

int vsort_cmp_key0(Interp *I, void *ctx, Value a, Value b, int *out)
{
    return vsort_cmp_plain(I, ctx, a.u.l->items[0], b.u.l->items[0], out);
}

static int l_copy(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(0, 0, "copy");
    Value r = v_list(ARENA, self.u.l->len);
    if (self.u.l->len)
        memcpy(r.u.l->items, self.u.l->items, self.u.l->len * sizeof(Value));
    r.u.l->len = self.u.l->len;
    *out = r;
    return 0;
}

static int l_clear(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    NARGS(0, 0, "clear");
    if (self.type == V_DICT) {
        VDict *d = self.u.d;
        memset(d, 0, sizeof *d);
    } else {
        self.u.l->len = 0;
    }
    *out = v_none();
    return 0;
}

/* ------------------------------------------------------------ dict views */

typedef struct DictView {
    VDict *d;
    int kind;   /* 0 keys, 1 values, 2 items */
} DictView;

static VList *view_list(Arena *a, const DictView *v)
{
    Value l = v_list(a, v->d->len);
    VDictEntry *e;
    for (size_t it = 0; dict_next(v->d, &it, &e);) {
        Value x;
        if (v->kind == 0) {
            x = e->key;
        } else if (v->kind == 1) {
            x = e->val;
        } else {
            x = v_tuple(a, 2);
            x.u.l->items[0] = e->key;
            x.u.l->items[1] = e->val;
        }
        l.u.l->items[l.u.l->len++] = x;
    }
    return l.u.l;
}

static int view_iter(Interp *I, VObj *o, VList **out)
{
    *out = view_list(interp_arena(I), o->data);
    return 0;
}

static int view_len(VObj *o, int64_t *out)
{
    *out = (int64_t)((const DictView *)o->data)->d->len;
    return 0;
}

static void view_repr(VObj *o, Sb *out)
{
    const DictView *v = o->data;
    static const char *const names[] = {"dict_keys", "dict_values", "dict_items"};
    sb_printf(out, "%s([", names[v->kind]);
    VDictEntry *e;
    bool first = true;
    for (size_t it = 0; dict_next(v->d, &it, &e);) {
        if (!first)
            sb_puts(out, ", ");
        first = false;
        if (v->kind == 2) {
            sb_putc(out, '(');
            value_repr(out, e->key);
            sb_puts(out, ", ");
            value_repr(out, e->val);
            sb_putc(out, ')');
        } else {
            value_repr(out, v->kind == 0 ? e->key : e->val);
        }
    }
    sb_puts(out, "])");
}

static void view_json(VObj *o, JsonW *w)
{
    const DictView *v = o->data;
    json_arr_begin(w);
    VDictEntry *e;
    for (size_t it = 0; dict_next(v->d, &it, &e);) {
        if (v->kind == 2) {
            json_arr_begin(w);
            value_to_json(w, e->key);
            value_to_json(w, e->val);
            json_arr_end(w);
        } else {
            value_to_json(w, v->kind == 0 ? e->key : e->val);
        }
    }
    json_arr_end(w);
}

static bool view_truthy(VObj *o) { return ((const DictView *)o->data)->d->len != 0; }

static int view_getitem(Interp *I, VObj *o, Value key, Value *out)
{
    (void)I; (void)o; (void)key; (void)out;
    return 1;   /* views are not subscriptable */
}

const ObjClass vm_dict_keys_class = {.name = "dict_keys", .repr = view_repr, .iter = view_iter,
    .len = view_len, .truthy = view_truthy, .to_json = view_json, .getitem = view_getitem};
const ObjClass vm_dict_values_class = {.name = "dict_values", .repr = view_repr, .iter = view_iter,
    .len = view_len, .truthy = view_truthy, .to_json = view_json, .getitem = view_getitem};
const ObjClass vm_dict_items_class = {.name = "dict_items", .repr = view_repr, .iter = view_iter,
    .len = view_len, .truthy = view_truthy, .to_json = view_json, .getitem = view_getitem};

static int make_view(Interp *I, Value self, CallArgs *args, Value *out, int kind, const char *name)
{
    NARGS(0, 0, name);
    static const ObjClass *const cls[] = {&vm_dict_keys_class, &vm_dict_values_class, &vm_dict_items_class};
    DictView *v = ARENA_NEW(ARENA, DictView);
    v->d = self.u.d;
    v->kind = kind;
    *out = v_obj(ARENA, cls[kind], v);
    return 0;
}

/* ------------------------------------------------------------ dict methods */

static int d_keys(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return make_view(I, self, args, out, 0, "keys"); }
static int d_values(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return make_view(I, self, args, out, 1, "values"); }
static int d_items(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{ return make_view(I, self, args, out, 2, "items"); }

static int hashable(Interp *I, Value k)
{
    if (!value_is_hashable(k))
        return interp_error(I, "unhashable type: '%s'", value_type_name(k));
    return 0;
}

static int d_get(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(1, 2, "get");
    if (hashable(I, args->pos[0]))
        return -1;
    Value *v = dict_get(self.u.d, args->pos[0]);
    *out = v ? *v : args->npos == 2 ? args->pos[1] : v_none();
    return 0;
}

static int key_error(Interp *I, Value k)
{
    Sb sb = SB_INIT;
    value_repr(&sb, k);
    interp_error(I, "%s", sb_cstr(&sb));
    sb_free(&sb);
    return -1;
}

static int d_pop(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    NARGS(1, 2, "pop");
    if (hashable(I, args->pos[0]))
        return -1;
    if (dict_del(self.u.d, args->pos[0], out))
        return 0;
    if (args->npos == 2) {
        *out = args->pos[1];
        return 0;
    }
    return key_error(I, args->pos[0]);
}

static int d_popitem(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    NARGS(0, 0, "popitem");
    VDict *d = self.u.d;
    for (size_t i = d->n; i-- > 0;)
        if (!d->entries[i].deleted) {
            Value t = v_tuple(ARENA, 2);
            t.u.l->items[0] = d->entries[i].key;
            t.u.l->items[1] = d->entries[i].val;
            dict_del(d, d->entries[i].key, NULL);
            *out = t;
            return 0;
        }
    return interp_error(I, "'popitem(): dictionary is empty'");
}

static int d_setdefault(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    FENCE(self);
    NARGS(1, 2, "setdefault");
    if (hashable(I, args->pos[0]))
        return -1;
    Value *v = dict_get(self.u.d, args->pos[0]);
    if (v) {
        *out = *v;
        return 0;
    }
    Value dv = args->npos == 2 ? args->pos[1] : v_none();
    Change c;
    if (change_begin(I, self.u.d, &c))
        return -1;
    int rc = change_set(I, &c, self.u.d, args->pos[0], dv);
    change_end(&c);
    *out = dv;
    return rc;
}

static int dict_update_change(Interp *I, VDict *d, Value src, const Change *c)
{
    if (src.type == V_DICT) {
        VDictEntry *e;
        for (size_t it = 0; dict_next(src.u.d, &it, &e);)
            if (change_set(I, c, d, e->key, e->val))
                return -1;
        return 0;
    }
    VList *l;
    if (value_iterate(I, src, &l))
        return -1;
    for (size_t i = 0; i < l->len; i++) {
        VList *pair;
        if (value_iterate(I, l->items[i], &pair))
            return -1;
        if (pair->len != 2)
            return interp_error(I, "dictionary update sequence element #%zu has length %zu; 2 is required", i, pair->len);
        if (hashable(I, pair->items[0]))
            return -1;
        if (change_set(I, c, d, pair->items[0], pair->items[1]))
            return -1;
    }
    return 0;
}

static int d_update(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (args->npos > 1)
        return interp_error(I, "update expected at most 1 argument, got %d", args->npos);
    Change c;
    if (change_begin(I, self.u.d, &c))
        return -1;
    int rc = args->npos == 1 ? dict_update_change(I, self.u.d, args->pos[0], &c) : 0;
    for (int k = 0; rc == 0 && k < args->nkw; k++)
        rc = change_set(I, &c, self.u.d, v_vstr(args->kwnames[k]), args->kwvals[k]);
    change_end(&c);
    *out = v_none();
    return rc;
}

/* dict.update(src) of a dict the caller made in this render */
int vdict_update(Interp *I, VDict *d, Value src) { return dict_update_change(I, d, src, NULL); }

static int d_copy(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    NARGS(0, 0, "copy");
    Value r = v_dict(ARENA);
    VDictEntry *e;
    for (size_t it = 0; dict_next(self.u.d, &it, &e);)
        dict_set(ARENA, r.u.d, e->key, e->val);
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ lookup */

typedef struct Method {
    const char *name;
    NativeFn fn;
} Method;

static const Method str_methods[] = {
    {"lower", s_lower}, {"upper", s_upper}, {"strip", s_strip}, {"lstrip", s_lstrip}, {"rstrip", s_rstrip},
    {"split", s_split}, {"rsplit", s_rsplit}, {"replace", s_replace}, {"startswith", s_startswith},
    {"endswith", s_endswith}, {"format", s_format}, {"join", s_join}, {"title", s_title},
    {"capitalize", s_capitalize}, {"swapcase", s_swapcase}, {"casefold", s_casefold}, {"find", s_find},
    {"rfind", s_rfind}, {"index", s_index}, {"rindex", s_rindex}, {"count", s_count},
    {"isdigit", s_isdigit}, {"isnumeric", s_isdigit}, {"isdecimal", s_isdigit}, {"isalpha", s_isalpha},
    {"isalnum", s_isalnum}, {"isspace", s_isspace}, {"islower", s_islower}, {"isupper", s_isupper},
    {"splitlines", s_splitlines}, {"zfill", s_zfill}, {"ljust", s_ljust}, {"rjust", s_rjust},
    {"center", s_center}, {"partition", s_partition}, {"rpartition", s_rpartition}, {"encode", s_encode},
    {"removeprefix", s_removeprefix}, {"removesuffix", s_removesuffix}, {NULL, NULL},
};

static const Method list_methods[] = {
    {"append", l_append}, {"extend", l_extend}, {"insert", l_insert}, {"pop", l_pop}, {"remove", l_remove},
    {"index", l_index}, {"count", l_count}, {"reverse", l_reverse}, {"sort", l_sort}, {"copy", l_copy},
    {"clear", l_clear}, {NULL, NULL},
};

static const Method tuple_methods[] = {
    {"index", l_index}, {"count", l_count}, {NULL, NULL},
};

static const Method dict_methods[] = {
    {"get", d_get}, {"items", d_items}, {"keys", d_keys}, {"values", d_values}, {"update", d_update},
    {"pop", d_pop}, {"popitem", d_popitem}, {"setdefault", d_setdefault}, {"copy", d_copy},
    {"clear", l_clear}, {NULL, NULL},
};

int value_getattr_builtin(Interp *I, Value obj, const char *name, size_t n, Value *out)
{
    const Method *tab;
    switch (obj.type) {
    case V_STR: tab = str_methods; break;
    case V_LIST: tab = list_methods; break;
    case V_TUPLE: tab = tuple_methods; break;
    case V_DICT: tab = dict_methods; break;
    case V_OBJ:
        if (obj.u.o->cls->getattr)
            return obj.u.o->cls->getattr(I, obj.u.o, name, n, out);
        return 1;
    default: return 1;
    }
    for (; tab->name; tab++)
        if (strncmp(tab->name, name, n) == 0 && tab->name[n] == 0) {
            if (obj.type == V_STR)
                obj.flags = 0;
            *out = v_bound(interp_arena(I), tab->name, tab->fn, NULL, obj);
            return 0;
        }
    return 1;
}
