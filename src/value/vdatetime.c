/* vdatetime.c - Python's datetime.date, datetime.datetime and
 * datetime.timedelta as native objects: construction, str()/repr() exactly as
 * Python prints them, fields, strftime/isoformat and the other methods,
 * ordering and date arithmetic.
 *
 * Pure like value.c (never calls interp_*): the YAML loader makes dates.
 * Methods given bad arguments fall back to a best-effort result instead of
 * raising.  The `modules.datetime` namespace (constructors, now(), today())
 * is built in modules.c. */
#include "vpriv.h"
#include <inttypes.h>
#include <string.h>
#include <time.h>

/* Methods allocate their results in the engine's arena.  The reference is
 * weak so that programs linking the value library without the engine (the
 * YAML loader) still link; without an engine nobody asks for methods. */
#pragma weak interp_arena

/* ------------------------------------------------------------ calendar */

int64_t vdt_days_from_civil(int y, int m, int d)
{
    /* days since 1970-01-01 (H. Hinnant's algorithm), then shifted to 0001-01-01 */
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + 719162;
}

void vdt_civil_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days - 719162 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static int weekday(const VDateTime *t)   /* Monday = 0 */
{
    int64_t days = vdt_days_from_civil(t->y, t->mo, t->d);   /* 0 = Monday 0001-01-01 */
    int64_t w = days % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int yday(const VDateTime *t)      /* 1-based */
{
    return (int)(vdt_days_from_civil(t->y, t->mo, t->d) - vdt_days_from_civil(t->y, 1, 1) + 1);
}

void vdt_now(VDateTime *dt, bool local)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    time_t sec = ts.tv_sec;
    if (local)
        localtime_r(&sec, &tm);
    else
        gmtime_r(&sec, &tm);
    memset(dt, 0, sizeof *dt);
    dt->y = tm.tm_year + 1900;
    dt->mo = tm.tm_mon + 1;
    dt->d = tm.tm_mday;
    dt->h = tm.tm_hour;
    dt->mi = tm.tm_min;
    dt->s = tm.tm_sec;
    dt->us = (int)(ts.tv_nsec / 1000);
}

/* ------------------------------------------------------------ constructors */

Value v_datetime(Arena *a, int y, int mo, int d, int h, int mi, int s, int us, bool utc)
{
    VDateTime *t = ARENA_NEW(a, VDateTime);
    t->y = y; t->mo = mo; t->d = d; t->h = h; t->mi = mi; t->s = s; t->us = us;
    t->utc = utc;
    return v_obj(a, &vdt_datetime_class, t);
}

Value v_date(Arena *a, int y, int mo, int d)
{
    VDateTime *t = ARENA_NEW(a, VDateTime);
    t->y = y; t->mo = mo; t->d = d;
    t->is_date = true;
    return v_obj(a, &vdt_date_class, t);
}

Value vdt_timedelta(Arena *a, int64_t days, int64_t secs, int64_t us)
{
    VTimeDelta *t = ARENA_NEW(a, VTimeDelta);
    secs += us / 1000000;
    us %= 1000000;
    if (us < 0) { us += 1000000; secs--; }
    days += secs / 86400;
    secs %= 86400;
    if (secs < 0) { secs += 86400; days--; }
    t->days = days; t->secs = secs; t->us = us;
    return v_obj(a, &vdt_timedelta_class, t);
}

bool vdt_is_datetime(Value v)
{
    return v.type == V_OBJ && (v.u.o->cls == &vdt_datetime_class || v.u.o->cls == &vdt_date_class);
}

bool vdt_is_timedelta(Value v)
{
    return v.type == V_OBJ && v.u.o->cls == &vdt_timedelta_class;
}

/* ------------------------------------------------------------ printing */

static const char *const wd_abbr[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const wd_full[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
static const char *const mo_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const mo_full[] = {"January", "February", "March", "April", "May", "June", "July",
                                      "August", "September", "October", "November", "December"};

static void iso(const VDateTime *t, char sep, Sb *out)
{
    sb_printf(out, "%04d-%02d-%02d", t->y, t->mo, t->d);
    if (t->is_date)
        return;
    sb_printf(out, "%c%02d:%02d:%02d", sep, t->h, t->mi, t->s);
    if (t->us)
        sb_printf(out, ".%06d", t->us);
    if (t->utc)
        sb_puts(out, "+00:00");
}

void vdt_strftime(const VDateTime *t, const char *fmt, Sb *out)
{
    int mo = t->mo >= 1 && t->mo <= 12 ? t->mo - 1 : 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%' || !p[1]) {
            sb_putc(out, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'Y': sb_printf(out, "%d", t->y); break;    /* glibc: no zero padding */
        case 'y': sb_printf(out, "%02d", t->y % 100); break;
        case 'm': sb_printf(out, "%02d", t->mo); break;
        case 'd': sb_printf(out, "%02d", t->d); break;
        case 'e': sb_printf(out, "%2d", t->d); break;
        case 'H': sb_printf(out, "%02d", t->h); break;
        case 'I': sb_printf(out, "%02d", t->h % 12 ? t->h % 12 : 12); break;
        case 'M': sb_printf(out, "%02d", t->mi); break;
        case 'S': sb_printf(out, "%02d", t->s); break;
        case 'f': sb_printf(out, "%06d", t->us); break;
        case 'p': sb_puts(out, t->h < 12 ? "AM" : "PM"); break;
        case 'j': sb_printf(out, "%03d", yday(t)); break;
        case 'a': sb_puts(out, wd_abbr[weekday(t)]); break;
        case 'A': sb_puts(out, wd_full[weekday(t)]); break;
        case 'b': case 'h': sb_puts(out, mo_abbr[mo]); break;
        case 'B': sb_puts(out, mo_full[mo]); break;
        case 'w': sb_printf(out, "%d", (weekday(t) + 1) % 7); break;
        case 'u': sb_printf(out, "%d", weekday(t) + 1); break;
        case 'z': if (t->utc) sb_puts(out, "+0000"); break;
        case 'Z': if (t->utc) sb_puts(out, "UTC"); break;
        case 'D': sb_printf(out, "%02d/%02d/%02d", t->mo, t->d, t->y % 100); break;
        case 'F': sb_printf(out, "%d-%02d-%02d", t->y, t->mo, t->d); break;
        case 'T': sb_printf(out, "%02d:%02d:%02d", t->h, t->mi, t->s); break;
        case 'R': sb_printf(out, "%02d:%02d", t->h, t->mi); break;
        case 'c':
            sb_printf(out, "%s %s %2d %02d:%02d:%02d %d", wd_abbr[weekday(t)], mo_abbr[mo], t->d,
                      t->h, t->mi, t->s, t->y);
            break;
        case 'x': sb_printf(out, "%02d/%02d/%02d", t->mo, t->d, t->y % 100); break;
        case 'X': sb_printf(out, "%02d:%02d:%02d", t->h, t->mi, t->s); break;
        case 'U': {
            int wd = (weekday(t) + 1) % 7;     /* Sunday = 0 */
            sb_printf(out, "%02d", (yday(t) - 1 + 7 - wd) / 7);
            break;
        }
        case 'W': {
            int wd = weekday(t);
            sb_printf(out, "%02d", (yday(t) - 1 + 7 - wd) / 7);
            break;
        }
        case 'G': case 'V': {
            /* ISO week: the week with the year's first Thursday is week 1. */
            int64_t days = vdt_days_from_civil(t->y, t->mo, t->d);
            int wd = weekday(t);
            int64_t thursday = days - wd + 3;
            int iy, im, id;
            vdt_civil_from_days(thursday, &iy, &im, &id);
            int64_t week = (thursday - vdt_days_from_civil(iy, 1, 1)) / 7 + 1;
            if (*p == 'G') sb_printf(out, "%d", iy);
            else sb_printf(out, "%02d", (int)week);
            break;
        }
        case '%': sb_putc(out, '%'); break;
        default: sb_putc(out, '%'); sb_putc(out, *p); break;
        }
    }
}

static void dt_str(VObj *o, Sb *out) { iso(o->data, ' ', out); }

static void dt_repr(VObj *o, Sb *out)
{
    const VDateTime *t = o->data;
    if (t->is_date) {
        sb_printf(out, "datetime.date(%d, %d, %d)", t->y, t->mo, t->d);
        return;
    }
    sb_printf(out, "datetime.datetime(%d, %d, %d, %d, %d", t->y, t->mo, t->d, t->h, t->mi);
    if (t->s || t->us)
        sb_printf(out, ", %d", t->s);
    if (t->us)
        sb_printf(out, ", %d", t->us);
    if (t->utc)
        sb_puts(out, ", tzinfo=datetime.timezone.utc");
    sb_putc(out, ')');
}

static void dt_json(VObj *o, JsonW *w)
{
    Sb s = SB_INIT;
    iso(o->data, 'T', &s);
    json_strn(w, sb_cstr(&s), s.len);
    sb_free(&s);
}

static int64_t dt_key_us(const VDateTime *t)
{
    int64_t days = vdt_days_from_civil(t->y, t->mo, t->d);
    return ((days * 86400 + t->h * 3600 + t->mi * 60 + t->s) * 1000000) + t->us;
}

static bool dt_eq(VObj *a, VObj *b)
{
    const VDateTime *x = a->data, *y = b->data;
    return x->is_date == y->is_date && dt_key_us(x) == dt_key_us(y);
}

static int dt_cmp(VObj *a, VObj *b, int *out)
{
    int64_t x = dt_key_us(a->data), y = dt_key_us(b->data);
    *out = x < y ? -1 : x > y ? 1 : 0;
    return 0;
}

/* ------------------------------------------------------------ methods */

static Value arena_strv(Arena *a, Sb *s)
{
    Value v = v_str_sb(a, s);
    sb_free(s);
    return v;
}

/* Bound methods carry the arena to allocate results in as ud. */
static int m_strftime(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Sb s = SB_INIT;
    const char *fmt = args->npos > 0 ? value_cstr(args->pos[0]) : NULL;
    if (!fmt && args->nkw > 0)
        fmt = value_cstr(args->kwvals[0]);
    vdt_strftime(self.u.o->data, fmt ? fmt : "", &s);
    *out = arena_strv(ud, &s);
    return 0;
}

static int m_isoformat(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    Sb s = SB_INIT;
    char sep = 'T';
    if (args->npos > 0 && args->pos[0].type == V_STR && args->pos[0].u.s->len == 1)
        sep = args->pos[0].u.s->s[0];
    iso(self.u.o->data, sep, &s);
    *out = arena_strv(ud, &s);
    return 0;
}

static int m_date(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    const VDateTime *t = self.u.o->data;
    *out = v_date(ud, t->y, t->mo, t->d);
    return 0;
}

static int m_weekday(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_int(weekday(self.u.o->data));
    return 0;
}

static int m_isoweekday(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_int(weekday(self.u.o->data) + 1);
    return 0;
}

static int m_timestamp(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    const VDateTime *t = self.u.o->data;
    int64_t days = vdt_days_from_civil(t->y, t->mo, t->d) - vdt_days_from_civil(1970, 1, 1);
    double secs = (double)(days * 86400 + t->h * 3600 + t->mi * 60 + t->s) + t->us / 1e6;
    *out = v_float(secs);
    return 0;
}

static int m_replace(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    VDateTime *t = ARENA_NEW((Arena *)ud, VDateTime);
    *t = *(const VDateTime *)self.u.o->data;
    static const char *const names[] = {"year", "month", "day", "hour", "minute", "second", "microsecond"};
    int *fields[] = {&t->y, &t->mo, &t->d, &t->h, &t->mi, &t->s, &t->us};
    for (int i = 0; i < args->npos && i < 7; i++)
        if (args->pos[i].type == V_INT)
            *fields[i] = (int)args->pos[i].u.i;
    for (int k = 0; k < args->nkw; k++)
        for (int i = 0; i < 7; i++)
            if (strcmp(args->kwnames[k]->s, names[i]) == 0 && args->kwvals[k].type == V_INT)
                *fields[i] = (int)args->kwvals[k].u.i;
    *out = v_obj(ud, self.u.o->cls, t);
    return 0;
}

typedef struct DtMethod {
    const char *name;
    NativeFn fn;
    bool datetime_only;
} DtMethod;

static const DtMethod dt_methods[] = {
    {"strftime", m_strftime, false},
    {"isoformat", m_isoformat, false},
    {"date", m_date, true},
    {"weekday", m_weekday, false},
    {"isoweekday", m_isoweekday, false},
    {"timestamp", m_timestamp, true},
    {"replace", m_replace, false},
};

static int dt_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    const VDateTime *t = o->data;
    static const char *const fields[] = {"year", "month", "day", "hour", "minute", "second", "microsecond"};
    int vals[] = {t->y, t->mo, t->d, t->h, t->mi, t->s, t->us};
    int nf = t->is_date ? 3 : 7;
    for (int i = 0; i < nf; i++)
        if (strlen(fields[i]) == n && memcmp(fields[i], name, n) == 0) {
            *out = v_int(vals[i]);
            return 0;
        }
    if (!t->is_date && n == 6 && memcmp(name, "tzinfo", 6) == 0) {
        *out = v_none();   /* a timezone object is not modelled */
        return 0;
    }
    if (!interp_arena || !I)
        return 1;
    Arena *a = interp_arena(I);
    for (size_t i = 0; i < sizeof dt_methods / sizeof dt_methods[0]; i++) {
        const DtMethod *m = &dt_methods[i];
        if (m->datetime_only && t->is_date)
            continue;
        if (strlen(m->name) == n && memcmp(m->name, name, n) == 0) {
            *out = v_bound(a, m->name, m->fn, a, v_obj(a, o->cls, o->data));
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------ timedelta */

static void td_str(VObj *o, Sb *out)
{
    const VTimeDelta *t = o->data;
    if (t->days)
        sb_printf(out, "%" PRId64 " day%s, ", t->days, (t->days == 1 || t->days == -1) ? "" : "s");
    sb_printf(out, "%d:%02d:%02d", (int)(t->secs / 3600), (int)(t->secs / 60 % 60), (int)(t->secs % 60));
    if (t->us)
        sb_printf(out, ".%06d", (int)t->us);
}

static void td_repr(VObj *o, Sb *out)
{
    const VTimeDelta *t = o->data;
    sb_puts(out, "datetime.timedelta(");
    bool any = false;
    if (t->days) { sb_printf(out, "days=%" PRId64, t->days); any = true; }
    if (t->secs) { sb_printf(out, "%sseconds=%" PRId64, any ? ", " : "", t->secs); any = true; }
    if (t->us) { sb_printf(out, "%smicroseconds=%" PRId64, any ? ", " : "", t->us); any = true; }
    if (!any)
        sb_putc(out, '0');
    sb_putc(out, ')');
}

static int64_t td_us(const VTimeDelta *t) { return (t->days * 86400 + t->secs) * 1000000 + t->us; }

static bool td_eq(VObj *a, VObj *b) { return td_us(a->data) == td_us(b->data); }

static int td_cmp(VObj *a, VObj *b, int *out)
{
    int64_t x = td_us(a->data), y = td_us(b->data);
    *out = x < y ? -1 : x > y ? 1 : 0;
    return 0;
}

static bool td_truthy(VObj *o) { return td_us(o->data) != 0; }

static int m_total_seconds(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    *out = v_float((double)td_us(self.u.o->data) / 1e6);
    return 0;
}

static int td_getattr(Interp *I, VObj *o, const char *name, size_t n, Value *out)
{
    const VTimeDelta *t = o->data;
    if (n == 4 && memcmp(name, "days", 4) == 0) { *out = v_int(t->days); return 0; }
    if (n == 7 && memcmp(name, "seconds", 7) == 0) { *out = v_int(t->secs); return 0; }
    if (n == 12 && memcmp(name, "microseconds", 12) == 0) { *out = v_int(t->us); return 0; }
    if (n == 13 && memcmp(name, "total_seconds", 13) == 0 && interp_arena && I) {
        Arena *a = interp_arena(I);
        *out = v_bound(a, "total_seconds", m_total_seconds, a, v_obj(a, o->cls, o->data));
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ arithmetic */

int vdt_binop(Arena *a, BinOp op, Value x, Value y, Value *out)
{
    if ((op == OP_ADD || op == OP_SUB) && vdt_is_datetime(x) && vdt_is_timedelta(y)) {
        const VDateTime *t = x.u.o->data;
        const VTimeDelta *d = y.u.o->data;
        int64_t us = dt_key_us(t), dus = td_us(d);
        if (t->is_date)
            dus = d->days * 86400 * 1000000LL;
        us += op == OP_ADD ? dus : -dus;
        int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
        if (rem < 0) { rem += 86400000000LL; days--; }
        int yy, mm, dd;
        vdt_civil_from_days(days, &yy, &mm, &dd);
        if (yy < 1 || yy > 9999)
            return -1;
        if (t->is_date) {
            *out = v_date(a, yy, mm, dd);
        } else {
            int64_t s = rem / 1000000;
            *out = v_datetime(a, yy, mm, dd, (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60),
                              (int)(rem % 1000000), t->utc);
        }
        return 0;
    }
    if (op == OP_ADD && vdt_is_timedelta(x) && vdt_is_datetime(y))
        return vdt_binop(a, op, y, x, out);
    if (op == OP_SUB && vdt_is_datetime(x) && vdt_is_datetime(y) && x.u.o->cls == y.u.o->cls) {
        int64_t us = dt_key_us(x.u.o->data) - dt_key_us(y.u.o->data);
        *out = vdt_timedelta(a, 0, 0, us);
        return 0;
    }
    if ((op == OP_ADD || op == OP_SUB) && vdt_is_timedelta(x) && vdt_is_timedelta(y)) {
        int64_t p = td_us(x.u.o->data), q = td_us(y.u.o->data);
        *out = vdt_timedelta(a, 0, 0, op == OP_ADD ? p + q : p - q);
        return 0;
    }
    return 1;
}

const ObjClass vdt_datetime_class = {
    .name = "datetime", .getattr = dt_getattr, .str = dt_str, .repr = dt_repr,
    .eq = dt_eq, .cmp = dt_cmp, .to_json = dt_json,
};
const ObjClass vdt_date_class = {
    .name = "date", .getattr = dt_getattr, .str = dt_str, .repr = dt_repr,
    .eq = dt_eq, .cmp = dt_cmp, .to_json = dt_json,
};
const ObjClass vdt_timedelta_class = {
    .name = "timedelta", .getattr = td_getattr, .str = td_str, .repr = td_repr,
    .eq = td_eq, .cmp = td_cmp, .truthy = td_truthy,
};
