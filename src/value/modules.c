/* modules.c - Jinja's global functions (range, dict, namespace, cycler,
 * joiner, lipsum) and dbt's `modules.datetime` (datetime, date, timedelta,
 * timezone classes with their constructors and now()/utcnow()/today()).
 *
 * The date objects themselves (printing, fields, methods, arithmetic) are in
 * vdatetime.c; the engine binds these globals into its context. */
#include "vpriv.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define ARENA interp_arena(I)
#define MAX_RANGE 100000

static int to_int(Interp *I, Value v, int64_t *out)
{
    if (v.type == V_INT) { *out = v.u.i; return 0; }
    if (v.type == V_BOOL) { *out = v.u.b; return 0; }
    return interp_error(I, "'%s' object cannot be interpreted as an integer", value_type_name(v));
}

/* ------------------------------------------------------------ range */

static int g_range(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (args->nkw)
        return interp_error(I, "range() takes no keyword arguments");
    if (args->npos < 1 || args->npos > 3)
        return interp_error(I, args->npos < 1 ? "range expected at least 1 argument, got 0"
                                              : "range expected at most 3 arguments, got %d", args->npos);
    int64_t a[3] = {0, 0, 1};
    for (int i = 0; i < args->npos; i++)
        if (to_int(I, args->pos[i], &a[i]))
            return -1;
    int64_t start = 0, stop, step = 1;
    if (args->npos == 1) {
        stop = a[0];
    } else {
        start = a[0];
        stop = a[1];
        if (args->npos == 3)
            step = a[2];
    }
    if (step == 0)
        return interp_error(I, "range() arg 3 must not be zero");
    int64_t n = 0;
    if (step > 0 && stop > start)
        n = (int64_t)(((uint64_t)stop - (uint64_t)start - 1) / (uint64_t)step + 1);
    else if (step < 0 && start > stop)
        n = (int64_t)(((uint64_t)start - (uint64_t)stop - 1) / ((uint64_t)0 - (uint64_t)step) + 1);
    if (n > MAX_RANGE)
        return interp_error(I, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", MAX_RANGE);
    Value l = v_list(ARENA, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        l.u.l->items[i] = v_int(start + i * step);
    l.u.l->len = (size_t)n;
    *out = l;
    return 0;
}

/* ------------------------------------------------------------ dict */

static int g_dict(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (args->npos > 1)
        return interp_error(I, "dict expected at most 1 argument, got %d", args->npos);
    Value d = v_dict(ARENA);
    if (args->npos == 1 && vdict_update(I, d.u.d, args->pos[0]))
        return -1;
    for (int k = 0; k < args->nkw; k++)
        dict_set(ARENA, d.u.d, v_vstr(args->kwnames[k]), args->kwvals[k]);
    *out = d;
    return 0;
}

/* ------------------------------------------------------------ namespace */

static int ns_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    Value *v = dict_getn(o->data, name, n);
    if (!v)
        return 1;
    *out = *v;
    return 0;
}

static int ns_setattr(Interp *I, VObj *o, const char *name, size_t n, Value v)
{
    Change c;
    if (change_begin(I, o->data, &c))
        return -1;
    int rc = change_keep(I, &c, v, &v);
    if (rc == 0)
        dict_set(c.a, o->data, v_str(c.a, name, n), v);
    change_end(&c);
    return rc;
}

static void ns_repr(VObj *o, Sb *out)
{
    Value d;
    d.type = V_DICT;
    d.flags = 0;
    d.u.d = o->data;
    sb_puts(out, "<Namespace ");
    value_repr(out, d);
    sb_putc(out, '>');
}

static const ObjClass namespace_class = {
    .name = "Namespace", .getattr = ns_getattr, .setattr = ns_setattr, .repr = ns_repr,
};

static int g_namespace(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Value d;
    if (g_dict(I, ud, self, args, &d))
        return -1;
    *out = v_obj(ARENA, &namespace_class, d.u.d);
    return 0;
}

/* ------------------------------------------------------------ cycler / joiner */

typedef struct Cycler {
    VList *items;
    size_t pos;
} Cycler;

static int cy_next(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Cycler *c = self.u.o->data;
    if (value_fence(I, c))
        return -1;
    *out = c->items->items[c->pos];
    c->pos = (c->pos + 1) % c->items->len;
    return 0;
}

static int cy_reset(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (value_fence(I, self.u.o->data))
        return -1;
    ((Cycler *)self.u.o->data)->pos = 0;
    *out = v_none();
    return 0;
}

static int cy_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    Cycler *c = o->data;
    Value selfv;
    selfv.type = V_OBJ;
    selfv.flags = 0;
    selfv.u.o = o;
    if (n == 7 && memcmp(name, "current", 7) == 0) {
        *out = c->items->items[c->pos];
        return 0;
    }
    if ((n == 4 && memcmp(name, "next", 4) == 0) || (n == 8 && memcmp(name, "__next__", 8) == 0)) {
        *out = v_bound(ARENA, "next", cy_next, NULL, selfv);
        return 0;
    }
    if (n == 5 && memcmp(name, "reset", 5) == 0) {
        *out = v_bound(ARENA, "reset", cy_reset, NULL, selfv);
        return 0;
    }
    if (n == 5 && memcmp(name, "items", 5) == 0) {
        Value l;
        l.type = V_LIST;
        l.flags = 0;
        l.u.l = c->items;
        *out = l;
        return 0;
    }
    return 1;
}

static const ObjClass cycler_class = {.name = "Cycler", .getattr = cy_getattr};

static int g_cycler(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (args->npos < 1)
        return interp_error(I, "at least one item has to be provided");
    Cycler *c = ARENA_NEW(ARENA, Cycler);
    c->items = v_list(ARENA, (size_t)args->npos).u.l;
    for (int i = 0; i < args->npos; i++)
        c->items->items[c->items->len++] = args->pos[i];
    *out = v_obj(ARENA, &cycler_class, c);
    return 0;
}

typedef struct Joiner {
    Value sep;
    bool used;
} Joiner;

static int jo_call(Interp *I, VObj *o, CallArgs *args, Value *out)
{
    Joiner *j = o->data;
    if (!j->used && value_fence(I, j))
        return -1;
    if (!j->used) {
        j->used = true;
        *out = v_str(ARENA, "", 0);
    } else {
        *out = j->sep;
    }
    return 0;
}

static const ObjClass joiner_class = {.name = "Joiner", .call = jo_call};

static int g_joiner(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"sep"};
    Value sep;
    if (callargs_bind(I, "joiner", args, params, 1, 0, &sep))
        return -1;
    Joiner *j = ARENA_NEW(ARENA, Joiner);
    j->sep = sep.type == V_UNDEF ? v_strz(ARENA, ", ") : value_str_value(ARENA, sep);
    *out = v_obj(ARENA, &joiner_class, j);
    return 0;
}

/* lipsum: Jinja's output is random; ours is a fixed text of the requested shape. */
static int g_lipsum(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    static const char *const params[] = {"n", "html", "min", "max"};
    Value p[4];
    if (callargs_bind(I, "lipsum", args, params, 4, 0, p))
        return -1;
    int64_t n = 5, mn = 20, mx = 100;
    if (p[0].type != V_UNDEF && to_int(I, p[0], &n)) return -1;
    if (p[2].type != V_UNDEF && to_int(I, p[2], &mn)) return -1;
    if (p[3].type != V_UNDEF && to_int(I, p[3], &mx)) return -1;
    bool html = p[1].type == V_UNDEF || value_truthy(p[1]);
    static const char *const words[] = {"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing",
                                        "elit", "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore",
                                        "et", "dolore", "magna", "aliqua"};
    Sb sb = SB_INIT;
    int64_t len = mn > 0 ? mn : 1;
    if (len > mx)
        len = mx;
    for (int64_t k = 0; k < n && k < 1000; k++) {
        if (k)
            sb_puts(&sb, "\n\n");
        if (html)
            sb_puts(&sb, "<p>");
        for (int64_t w = 0; w < len && w < 10000; w++) {
            const char *word = words[(size_t)(w + k) % (sizeof words / sizeof words[0])];
            if (w == 0) {
                sb_putc(&sb, (char)(word[0] - 32));
                sb_puts(&sb, word + 1);
            } else {
                sb_putc(&sb, ' ');
                sb_puts(&sb, word);
            }
        }
        sb_putc(&sb, '.');
        if (html)
            sb_puts(&sb, "</p>");
    }
    *out = v_str_sb(ARENA, &sb);
    sb_free(&sb);
    return 0;
}

void tpl_add_std_globals(Arena *a, VDict *d)
{
    dict_setz(a, d, "range", v_func(a, "range", g_range, NULL));
    dict_setz(a, d, "dict", v_func(a, "dict", g_dict, NULL));
    dict_setz(a, d, "namespace", v_func(a, "namespace", g_namespace, NULL));
    dict_setz(a, d, "cycler", v_func(a, "cycler", g_cycler, NULL));
    dict_setz(a, d, "joiner", v_func(a, "joiner", g_joiner, NULL));
    dict_setz(a, d, "lipsum", v_func(a, "lipsum", g_lipsum, NULL));
}

/* ------------------------------------------------------------ datetime module */

enum { DT_MODULE, DT_DATETIME, DT_DATE, DT_TIMEDELTA, DT_TIMEZONE, DT_UTC };

static const ObjClass dtmod_class;

static Value dtmod_obj(Arena *a, int kind)
{
    int *k = arena_alloc(a, sizeof(int));
    *k = kind;
    return v_obj(a, &dtmod_class, k);
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static bool is_utc(Value v)
{
    return v.type == V_OBJ && v.u.o->cls == &dtmod_class && *(int *)v.u.o->data == DT_UTC;
}

static int make_datetime(Interp *I, CallArgs *args, bool date_only, Value *out)
{
    static const char *const params[] = {"year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo"};
    Value p[8];
    if (callargs_bind(I, date_only ? "date" : "datetime", args, params, date_only ? 3 : 8, 3, p))
        return -1;
    int64_t f[7] = {0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < (date_only ? 3 : 7); i++)
        if (p[i].type != V_UNDEF && to_int(I, p[i], &f[i]))
            return -1;
    if (f[0] < 1 || f[0] > 9999)
        return interp_error(I, "year %lld is out of range", (long long)f[0]);
    if (f[1] < 1 || f[1] > 12)
        return interp_error(I, "month must be in 1..12");
    if (f[2] < 1 || f[2] > days_in_month((int)f[0], (int)f[1]))
        return interp_error(I, "day is out of range for month");
    if (date_only) {
        *out = v_date(ARENA, (int)f[0], (int)f[1], (int)f[2]);
        return 0;
    }
    if (f[3] < 0 || f[3] > 23) return interp_error(I, "hour must be in 0..23");
    if (f[4] < 0 || f[4] > 59) return interp_error(I, "minute must be in 0..59");
    if (f[5] < 0 || f[5] > 59) return interp_error(I, "second must be in 0..59");
    if (f[6] < 0 || f[6] > 999999) return interp_error(I, "microsecond must be in 0..999999");
    *out = v_datetime(ARENA, (int)f[0], (int)f[1], (int)f[2], (int)f[3], (int)f[4], (int)f[5], (int)f[6],
                      p[7].type != V_UNDEF && is_utc(p[7]));
    return 0;
}

static int num_arg(Interp *I, Value v, double *out)
{
    if (!value_is_num(v))
        return interp_error(I, "unsupported type for timedelta component: %s", value_type_name(v));
    *out = value_as_double(v);
    return 0;
}

static int make_timedelta(Interp *I, CallArgs *args, Value *out)
{
    static const char *const params[] = {"days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"};
    static const double mult[] = {86400e6, 1e6, 1, 1e3, 60e6, 3600e6, 7 * 86400e6};
    Value p[7];
    if (callargs_bind(I, "timedelta", args, params, 7, 0, p))
        return -1;
    /* integer parts exactly, fractional parts via double */
    int64_t us = 0;
    double frac = 0;
    for (int i = 0; i < 7; i++) {
        if (p[i].type == V_UNDEF)
            continue;
        if (p[i].type == V_INT || p[i].type == V_BOOL) {
            int64_t x = p[i].type == V_BOOL ? p[i].u.b : p[i].u.i, m = (int64_t)mult[i], r;
            if (__builtin_mul_overflow(x, m, &r) || __builtin_add_overflow(us, r, &us))
                return interp_error(I, "days=%lld; must have magnitude <= 999999999", (long long)x);
        } else {
            double d = 0;
            if (num_arg(I, p[i], &d))
                return -1;
            frac += d * mult[i];
        }
    }
    if (fabs(frac) > 8.6e19)
        return interp_error(I, "timedelta overflow");
    us += (int64_t)llround(frac);
    *out = vdt_timedelta(ARENA, 0, 0, us);
    return 0;
}

static int dt_now_fn(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    int which = (int)(intptr_t)ud;   /* 0 now, 1 utcnow, 2 today(datetime), 3 today(date) */
    VDateTime t;
    bool utc = args->npos > 0 && is_utc(args->pos[0]);
    Value *tz = callargs_kw(args, "tz");
    if (tz && is_utc(*tz))
        utc = true;
    vdt_now(&t, which == 0 && !utc ? true : which == 1 || utc ? false : true);
    if (which == 3)
        *out = v_date(ARENA, t.y, t.mo, t.d);
    else
        *out = v_datetime(ARENA, t.y, t.mo, t.d, t.h, t.mi, t.s, t.us, utc);
    return 0;
}

/* datetime.datetime.strptime(s, fmt) for the numeric directives. */
static int dt_strptime(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    if (args->npos != 2 || args->pos[0].type != V_STR || args->pos[1].type != V_STR)
        return interp_error(I, "strptime() argument must be str");
    const char *s = args->pos[0].u.s->s, *f = args->pos[1].u.s->s;
    int v[7] = {1900, 1, 1, 0, 0, 0, 0};
    const char *s0 = s;
    for (; *f; f++) {
        if (*f != '%') {
            if (*s != *f)
                goto bad;
            s++;
            continue;
        }
        f++;
        int idx = -1, maxd = 2;
        switch (*f) {
        case 'Y': idx = 0; maxd = 4; break;
        case 'm': idx = 1; break;
        case 'd': idx = 2; break;
        case 'H': idx = 3; break;
        case 'M': idx = 4; break;
        case 'S': idx = 5; break;
        case 'f': idx = 6; maxd = 6; break;
        case '%': if (*s != '%') goto bad; s++; continue;
        default: goto bad;
        }
        int val = 0, nd = 0;
        while (nd < maxd && *s >= '0' && *s <= '9') {
            val = val * 10 + (*s++ - '0');
            nd++;
        }
        if (!nd)
            goto bad;
        if (idx == 6)
            while (nd++ < 6)
                val *= 10;
        v[idx] = val;
    }
    if (*s)
        goto bad;
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1]) || v[3] > 23 || v[4] > 59 || v[5] > 61)
        goto bad;
    *out = v_datetime(ARENA, v[0], v[1], v[2], v[3], v[4], v[5], v[6], false);
    return 0;
bad:
    return interp_error(I, "time data '%s' does not match format '%s'", s0, args->pos[1].u.s->s);
}

static int dt_fromisoformat(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    bool date_only = ud != NULL;
    if (args->npos != 1 || args->pos[0].type != V_STR)
        return interp_error(I, "fromisoformat: argument must be str");
    const char *s = args->pos[0].u.s->s;
    int y, mo, d, h = 0, mi = 0, sec = 0, us = 0, nread = 0;
    size_t n = args->pos[0].u.s->len;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &nread) != 3 || nread != 10)
        return interp_error(I, "Invalid isoformat string: '%s'", s);
    if (!date_only && n > 10) {
        int k = 0;
        if (sscanf(s + 11, "%2d:%2d%n", &h, &mi, &k) != 2)
            return interp_error(I, "Invalid isoformat string: '%s'", s);
        size_t pos = 11 + (size_t)k;
        if (pos < n && s[pos] == ':') {
            sscanf(s + pos + 1, "%2d%n", &sec, &k);
            pos += 1 + (size_t)k;
        }
        if (pos < n && s[pos] == '.') {
            int digits = 0;
            pos++;
            while (pos < n && s[pos] >= '0' && s[pos] <= '9') {
                if (digits < 6) { us = us * 10 + (s[pos] - '0'); digits++; }
                pos++;
            }
            while (digits++ < 6) us *= 10;
        }
    } else if (n != 10) {
        return interp_error(I, "Invalid isoformat string: '%s'", s);
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return interp_error(I, "Invalid isoformat string: '%s'", s);
    *out = date_only ? v_date(ARENA, y, mo, d) : v_datetime(ARENA, y, mo, d, h, mi, sec, us, false);
    return 0;
}

static int dtmod_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    int kind = *(int *)o->data;
    Arena *a = ARENA;
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    switch (kind) {
    case DT_MODULE:
        if (IS("datetime")) { *out = dtmod_obj(a, DT_DATETIME); return 0; }
        if (IS("date")) { *out = dtmod_obj(a, DT_DATE); return 0; }
        if (IS("timedelta")) { *out = dtmod_obj(a, DT_TIMEDELTA); return 0; }
        if (IS("timezone")) { *out = dtmod_obj(a, DT_TIMEZONE); return 0; }
        if (IS("MINYEAR")) { *out = v_int(1); return 0; }
        if (IS("MAXYEAR")) { *out = v_int(9999); return 0; }
        return 1;
    case DT_DATETIME:
        if (IS("now")) { *out = v_func(a, "now", dt_now_fn, (void *)(intptr_t)0); return 0; }
        if (IS("utcnow")) { *out = v_func(a, "utcnow", dt_now_fn, (void *)(intptr_t)1); return 0; }
        if (IS("today")) { *out = v_func(a, "today", dt_now_fn, (void *)(intptr_t)2); return 0; }
        if (IS("strptime")) { *out = v_func(a, "strptime", dt_strptime, NULL); return 0; }
        if (IS("fromisoformat")) { *out = v_func(a, "fromisoformat", dt_fromisoformat, NULL); return 0; }
        return 1;
    case DT_DATE:
        if (IS("today")) { *out = v_func(a, "today", dt_now_fn, (void *)(intptr_t)3); return 0; }
        if (IS("fromisoformat")) { *out = v_func(a, "fromisoformat", dt_fromisoformat, (void *)1); return 0; }
        return 1;
    case DT_TIMEZONE:
        if (IS("utc")) { *out = dtmod_obj(a, DT_UTC); return 0; }
        return 1;
    default:
        return 1;
    }
#undef IS
}

static int dtmod_call(Interp *I, VObj *o, CallArgs *args, Value *out)
{
    switch (*(int *)o->data) {
    case DT_DATETIME: return make_datetime(I, args, false, out);
    case DT_DATE: return make_datetime(I, args, true, out);
    case DT_TIMEDELTA: return make_timedelta(I, args, out);
    default: return interp_error(I, "'%s' object is not callable", o->cls->name);
    }
}

static void dtmod_repr(VObj *o, Sb *out)
{
    static const char *const names[] = {"<module 'datetime'>", "<class 'datetime.datetime'>",
                                        "<class 'datetime.date'>", "<class 'datetime.timedelta'>",
                                        "<class 'datetime.timezone'>", "datetime.timezone.utc"};
    sb_puts(out, names[*(int *)o->data]);
}

static void dtmod_str(VObj *o, Sb *out)
{
    if (*(int *)o->data == DT_UTC)
        sb_puts(out, "UTC");
    else
        dtmod_repr(o, out);
}

static bool dtmod_eq(VObj *a, VObj *b) { return *(int *)a->data == *(int *)b->data; }

static const ObjClass dtmod_class = {
    .name = "module", .getattr = dtmod_getattr, .call = dtmod_call, .str = dtmod_str, .repr = dtmod_repr,
    .eq = dtmod_eq,
};

Value tpl_datetime_module(Arena *a) { return dtmod_obj(a, DT_MODULE); }
