/* dbt_microbatch.c - the microbatch incremental strategy's time arithmetic
 * and config checks (dbt-core 1.9): batch sizes, truncation and offsets in
 * UTC, the batch list of a run, the text dbt renders for a batch boundary,
 * and the parse-time validation of a microbatch model's configs.
 *
 * Times are whole seconds since the epoch, read as UTC wall-clock fields
 * (dbt attaches UTC to naive values and keeps the fields of aware ones).
 * Leaves to others: filtering refs (dbt_context.c, bound by dbt_set_batch),
 * running the batches (src/exec/runner.c). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dbtpriv.h"

int dbt_mb_size(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "hour")) return DBT_MB_HOUR;
    if (!strcmp(s, "day")) return DBT_MB_DAY;
    if (!strcmp(s, "month")) return DBT_MB_MONTH;
    if (!strcmp(s, "year")) return DBT_MB_YEAR;
    return -1;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int64_t from_fields(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static int mdays(int y, int mo)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[mo - 1];
}

/* Python's datetime.fromisoformat for the shapes dbt users write:
 * YYYY-MM-DD[(T| )HH[:MM[:SS[.ffffff]]]][Z|(+|-)HH:MM]; the offset is
 * accepted and ignored (wall-clock fields are kept). */
int dbt_mb_parse_time(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) || y < 1)
        return -1;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h))
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &mi))
                return -1;
            if (*p == ':') {
                p++;
                if (digits(&p, 2, &sec))
                    return -1;
                if (*p == '.' || *p == ',') {
                    p++;
                    int nd = 0;
                    while (isdigit((unsigned char)*p)) {
                        p++;
                        nd++;
                    }
                    if (nd != 3 && nd != 6)
                        return -1;
                }
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            p++;
            if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
                return -1;
        }
    }
    if (*p)
        return -1;
    *out = from_fields(y, mo, d, h, mi, sec);
    return 0;
}

/* the CLI's --event-time-start / --event-time-end: click.DateTime's default
 * formats %Y-%m-%d, %Y-%m-%dT%H:%M:%S, %Y-%m-%d %H:%M:%S */
int dbt_mb_parse_flag_time(const char *s, int64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n != 10 && n != 19)
        return -1;
    if (n == 19 && s[10] != 'T' && s[10] != ' ')
        return -1;
    return dbt_mb_parse_time(s, out);
}

int64_t dbt_mb_truncate(int64_t t, int size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    switch (size) {
    case DBT_MB_HOUR: return from_fields(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, 0, 0);
    case DBT_MB_DAY: return from_fields(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0);
    case DBT_MB_MONTH: return from_fields(tm.tm_year + 1900, tm.tm_mon + 1, 1, 0, 0, 0);
    default: return from_fields(tm.tm_year + 1900, 1, 1, 0, 0, 0);
    }
}

/* truncate, then move by k batches (dbt's offset_timestamp) */
int64_t dbt_mb_offset(int64_t t, int size, int k)
{
    int64_t b = dbt_mb_truncate(t, size);
    time_t tt = (time_t)b;
    struct tm tm;
    gmtime_r(&tt, &tm);
    switch (size) {
    case DBT_MB_HOUR: return b + (int64_t)k * 3600;
    case DBT_MB_DAY: return b + (int64_t)k * 86400;
    case DBT_MB_MONTH: {
        int m = tm.tm_year * 12 + tm.tm_mon + k;
        int y = m >= 0 ? m / 12 : -((-m + 11) / 12);
        return from_fields(y + 1900, m - y * 12 + 1, 1, 0, 0, 0);
    }
    default: return from_fields(tm.tm_year + 1900 + k, 1, 1, 0, 0, 0);
    }
}

int64_t dbt_mb_ceil(int64_t t, int size)
{
    int64_t tr = dbt_mb_truncate(t, size);
    return tr == t ? t : dbt_mb_offset(tr, size, 1);
}

/* str() of an aware UTC datetime: "2024-01-01 00:00:00+00:00" */
void dbt_mb_fmt(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d+00:00", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
}

/* format_batch_start: the date for day/month/year, the whole timestamp for hour */
void dbt_mb_label(int64_t t, int size, char out[32])
{
    dbt_mb_fmt(t, out);
    if (size != DBT_MB_HOUR)
        out[10] = '\0';
}

/* batch.id: the label without '-' */
void dbt_mb_id(int64_t t, int size, char out[32])
{
    char l[32];
    dbt_mb_label(t, size, l);
    int k = 0;
    for (const char *p = l; *p; p++)
        if (*p != '-')
            out[k++] = *p;
    out[k] = '\0';
}

int dbt_mb_batches(int size, int64_t begin, int lookback, bool incremental, const int64_t *ets, const int64_t *ete,
                   int64_t now, int64_t **out)
{
    int64_t end = dbt_mb_ceil(ete ? *ete : now, size);
    int64_t start;
    if (ets) {
        start = dbt_mb_truncate(*ets, size);
    } else if (!incremental) {
        start = dbt_mb_truncate(begin, size);
    } else {
        /* the checkpoint is `end`, on a batch boundary: one batch more */
        start = dbt_mb_offset(end, size, -(lookback + 1));
    }
    int cap = 16, n = 0;
    int64_t *b = xmalloc(sizeof(int64_t) * 2 * (size_t)cap);
    int64_t cs = start, ce = dbt_mb_offset(cs, size, 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            b = xrealloc(b, sizeof(int64_t) * 2 * (size_t)cap);
        }
        b[2 * n] = cs;
        b[2 * n + 1] = ce;
        n++;
        if (ce >= end || n > 1000000)
            break;
        cs = ce;
        ce = dbt_mb_offset(cs, size, 1);
    }
    b[2 * n - 1] = end;   /* dbt: the last batch ends at the end exactly */
    *out = b;
    return n;
}

/* ---------------------------------------------------------------- parse-time validation */

static const char *py_type(Value v)
{
    if (v.type == V_OBJ && v.u.o->cls && v.u.o->cls->name) {
        if (!strcmp(v.u.o->cls->name, "datetime"))
            return "<class 'datetime.datetime'>";
        if (!strcmp(v.u.o->cls->name, "date"))
            return "<class 'datetime.date'>";
    }
    switch (v.type) {
    case V_STR: return "<class 'str'>";
    case V_INT: return "<class 'int'>";
    case V_FLOAT: return "<class 'float'>";
    case V_BOOL: return "<class 'bool'>";
    case V_LIST: return "<class 'list'>";
    case V_TUPLE: return "<class 'tuple'>";
    case V_DICT: return "<class 'dict'>";
    case V_NONE: return "<class 'NoneType'>";
    default: return "<class 'object'>";
    }
}

static Value *cfg(Node *n, const char *k)
{
    Value *v = n->config ? dict_getz(n->config, k) : NULL;
    return v && v->type != V_UNDEF && v->type != V_NONE ? v : NULL;
}

static bool is_dt_obj(Value v, const char *cls)
{
    return v.type == V_OBJ && v.u.o->cls && v.u.o->cls->name && !strcmp(v.u.o->cls->name, cls);
}

bool dbt_is_microbatch(const Node *n)
{
    if (n->rt != RT_MODEL || !n->config)
        return false;
    Value *m = dict_getz(n->config, "materialized");
    Value *s = dict_getz(n->config, "incremental_strategy");
    return m && m->type == V_STR && !strcmp(m->u.s->s, "incremental") && s && s->type == V_STR &&
           !strcmp(s->u.s->s, "microbatch");
}

int dbt_mb_begin(const Node *n, int64_t *out)
{
    Value *b = cfg((Node *)n, "begin");
    if (!b)
        return -1;
    Sb s = SB_INIT;
    value_str(&s, *b);
    int rc = dbt_mb_parse_time(sb_cstr(&s), out);
    sb_free(&s);
    return rc;
}

static int perr(Diag *err, Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(Diag *err, Node *n, const char *fmt, ...)
{
    Sb s = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&s, fmt, ap);
    va_end(ap);
    diag_set(err, NULL, 0, 0, NULL, "Parsing Error\n  %s", sb_cstr(&s));
    sb_free(&s);
    (void)n;
    return -1;
}

int dbt_check_microbatch(Dbt *d, Diag *err)
{
    Project *p = d->p;
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (n->disabled || !dbt_is_microbatch(n))
            continue;
        Value *et = cfg(n, "event_time");
        if (!et)
            return perr(err, n, "Microbatch model '%s' must provide an 'event_time' (string) config that indicates "
                        "the name of the event time column.", n->name);
        if (et->type != V_STR)
            return perr(err, n, "Microbatch model '%s' must provide an 'event_time' config of type string, but got: %s.",
                        n->name, py_type(*et));
        Value *b = cfg(n, "begin");
        if (!b)
            return perr(err, n, "Microbatch model '%s' must provide a 'begin' (datetime) config that indicates the "
                        "earliest timestamp the microbatch model should be built from.", n->name);
        int64_t t;
        if (b->type == V_STR) {
            if (dbt_mb_parse_time(b->u.s->s, &t) != 0)
                return perr(err, n, "Microbatch model '%s' must provide a 'begin' config of valid datetime (ISO format), "
                            "but got: %s.", n->name, b->u.s->s);
        } else if (!is_dt_obj(*b, "datetime")) {
            return perr(err, n, "Microbatch model '%s' must provide a 'begin' config of type datetime, but got: %s.",
                        n->name, py_type(*b));
        }
        Value *bs = cfg(n, "batch_size");
        if (!bs || bs->type != V_STR || dbt_mb_size(bs->u.s->s) < 0) {
            Sb s = SB_INIT;
            if (bs)
                value_str(&s, *bs);
            else
                sb_puts(&s, "None");
            perr(err, n, "Microbatch model '%s' must provide a 'batch_size' config that is one of "
                 "['hour', 'day', 'month', 'year'], but got: %s.", n->name, sb_cstr(&s));
            sb_free(&s);
            return -1;
        }
        Value *lb = cfg(n, "lookback");
        if (lb && lb->type != V_INT && lb->type != V_BOOL)
            return perr(err, n, "Microbatch model '%s' must provide the optional 'lookback' config as type int, but got: %s).",
                        n->name, py_type(*lb));
        Value *cb = cfg(n, "concurrent_batches");
        if (cb && cb->type != V_BOOL)
            return perr(err, n, "Microbatch model '%s' optional 'concurrent_batches' config must be of type `bool` if "
                        "specified, but got: %s).", n->name, py_type(*cb));
        for (int k = 0; k < n->nparents; k++) {
            Node *in = p->nodes[n->parents[k]];
            Value *iet = cfg(in, "event_time");
            if (iet && iet->type != V_STR)
                return perr(err, n, "Microbatch model '%s' depends on an input node '%s' with an 'event_time' config of "
                            "invalid (non-string) type: %s.", n->name, in->name, py_type(*iet));
        }
    }
    return 0;
}
