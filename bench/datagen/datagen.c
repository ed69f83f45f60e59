/* datagen.c - deterministic landing-data generator for the bundled warehouse.
 *
 * Owns: the five landing feeds of the telecom warehouse at the repository
 * root (customer transactions CSV, web server access logs in the combined
 * format, social media posts NDJSON, ad campaign impression/click events CSV,
 * device sales CSV), their dirt at known rates, and the gold figures a
 * correct bronze -> silver -> gold pipeline must compute from them.
 *
 * Leaves to others: loading and cleansing (cdbt's cleanse materialization and
 * the models under models/), the reference seeds (the CSV files in seeds/, which use the
 * same product, customer and campaign codes as this file).
 *
 *   datagen --out DIR [--rows N] [--batch K] [--seed S] [--expect]
 *   datagen --expect [--rows N] [--batch K] [--seed S]
 *
 * Batch K is written to DIR/<feed>/<feed>_bKKK.<ext>; its rows are dated in
 * the K-th week of 2026.  --expect prints the figures for batches 1..K
 * together (what the warehouse holds after loading all of them), one line per
 * figure, fields separated by '|', in the shape tests/e2e/warehouse.sh reads
 * back from the gold tables.  Every row is a pure function of (seed, feed,
 * batch, row number): the same arguments always give the same bytes, and a
 * duplicate is the regenerated earlier row, so memory stays flat at any size.
 *
 * Dirt (per row, independent draws): padding 5% of fields, mixed case 10% of
 * coded fields, null tokens 3% of optional fields, dates half ISO and half
 * day-first, duplicates (re-delivered earlier rows) 2%, rows the reader must
 * reject (wrong field count, truncated log lines, invalid JSON) 0.5-1%, rows
 * a cleansing rule must reject (bad numbers, impossible dates, unknown codes)
 * about 2%.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- rng */

typedef struct { uint64_t s; } Rng;

static uint64_t rng_next(Rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static Rng rng_for(uint64_t seed, unsigned feed, unsigned batch, uint64_t row)
{
    Rng r = { seed * 0x100000001B3ULL ^ ((uint64_t)feed << 56) ^ ((uint64_t)batch << 40) ^ row };
    (void)rng_next(&r);
    return r;
}

static unsigned rng_below(Rng *r, unsigned n) { return (unsigned)(rng_next(r) % n); }
/* true with probability per_mille / 1000 */
static int rng_chance(Rng *r, unsigned per_mille) { return rng_below(r, 1000) < per_mille; }

/* ---------------------------------------------------------------- reference data (matches seeds/) */

typedef struct {
    const char *code, *brand, *model;
    long price_cents;
} Product;

static const Product PRODUCTS[] = {
    { "GS24",  "Samsung",   "Galaxy S24",   79900 },
    { "GA55",  "Samsung",   "Galaxy A55",   44900 },
    { "IP15",  "Apple",     "iPhone 15",    89900 },
    { "IP15P", "Apple",     "iPhone 15 Pro", 119900 },
    { "PX8",   "Google",    "Pixel 8",      69900 },
    { "PX8A",  "Google",    "Pixel 8a",     49900 },
    { "XR13",  "Xiaomi",    "Redmi 13",     19900 },
    { "MG54",  "Motorola",  "Moto G54",     22900 },
    { "NKG42", "Nokia",     "G42",          17900 },
    { "FP5",   "Fairphone", "Fairphone 5",  69900 },
};
#define N_PRODUCTS 10u
#define N_CUSTOMERS 60u
#define N_CAMPAIGNS 8u

static const char *const PAYMENT[] = { "card", "paypal", "direct_debit", "cash" };
static const char *const NULL_TOKENS[] = { "", "NULL", "n/a", "N/A", "null", "-" };
static const unsigned STORAGE[] = { 128, 256, 512 };
static const char *const COLORS[] = { "black", "white", "blue", "green", "titanium" };
static const char *const REGIONS[] = { "NORTH", "SOUTH", "EAST", "WEST", "CENTRAL" };
static const char *const CLASSES[] = { "retail", "business", "online" };
static const char *const PLATFORMS[] = { "twitter", "instagram", "facebook", "tiktok" };
static const char *const DEVICES[] = { "mobile", "desktop", "tablet" };
static const char *const PATHS[] = {
    "/", "/plans", "/plans/unlimited-5g", "/plans/family", "/devices", "/devices/gs24",
    "/devices/ip15", "/devices/px8", "/support", "/account/login", "/api/v1/usage",
    "/static/app.js", "/static/site.css", "/favicon.ico", "/checkout",
};
static const char *const AGENTS[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/8.4.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
};
/* HTTP statuses and their weights (per mille) */
static const unsigned STATUS[] = { 200, 304, 301, 404, 500, 403, 401, 503 };
static const unsigned STATUS_W[] = { 740, 70, 30, 80, 30, 20, 20, 10 };
static const char *const WORDS[] = {
    "love", "my", "new", "phone", "battery", "camera", "is", "amazing", "meh", "signal",
    "5G", "\"wow\"", "upgrade", "deal", "😍", "screen", "fast", "slow", "café",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- dates */

/* days since 1970-01-01 -> civil date */
static void civil(long days, int *y, int *m, int *d)
{
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

#define DAY_2026_01_01 20454L

/* a day of batch b's week */
static long batch_day(unsigned batch, Rng *r)
{
    return DAY_2026_01_01 + 7L * (long)(batch - 1) + (long)rng_below(r, 7);
}

static const char *const MON[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* ---------------------------------------------------------------- expected figures */

#define MAX_CONFIGS (N_PRODUCTS * 3u * 5u)

typedef struct {
    /* transactions */
    long tx_orders[N_PRODUCTS], tx_units[N_PRODUCTS], tx_cents[N_PRODUCTS];
    long tx_rows, tx_lines, tx_reader_rejects, tx_rule_rejects;
    /* web logs */
    long web_status[N_OF(STATUS)], web_hour[24];
    long web_rows, web_reader_rejects;
    /* social */
    long so_posts[N_PRODUCTS], so_likes[N_PRODUCTS];
    long so_rows, so_lines, so_reader_rejects, so_rule_rejects;
    /* ads */
    long ad_impr[N_CAMPAIGNS], ad_clicks[N_CAMPAIGNS], ad_cost[N_CAMPAIGNS]; /* cost in 1/10000 */
    long ad_rows, ad_lines, ad_reader_rejects, ad_rule_rejects;
    /* device sales */
    long ds_rows, ds_units, ds_net_cents, ds_lines, ds_reader_rejects, ds_rule_rejects;
    unsigned char ds_config_seen[MAX_CONFIGS];
    unsigned char ds_junk_seen[N_OF(REGIONS) * N_OF(CLASSES)];
} Expect;

/* ---------------------------------------------------------------- text helpers */

typedef struct {
    char buf[1024];
    size_t len;
} Line;

static void line_reset(Line *l) { l->len = 0; l->buf[0] = '\0'; }

static void line_put(Line *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n >= sizeof l->buf) n = sizeof l->buf - 1 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

static void line_fmt(Line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_fmt(Line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        l->len += (size_t)n;
        if (l->len >= sizeof l->buf) l->len = sizeof l->buf - 1;
    }
}

/* a field, maybe padded with blanks (5%) */
static void put_padded(Line *l, Rng *r, const char *s)
{
    int pad = rng_chance(r, 50);
    if (pad && rng_below(r, 2)) line_put(l, rng_below(r, 2) ? "  " : " ");
    line_put(l, s);
    if (pad && rng_below(r, 2)) line_put(l, rng_below(r, 2) ? " " : "   ");
}

/* s with its case mixed up (10%): upper, lower or alternating */
static void mix_case(char *out, size_t cap, const char *s, Rng *r)
{
    if (out != s) snprintf(out, cap, "%s", s);
    if (!rng_chance(r, 100)) return;
    unsigned how = rng_below(r, 3);
    for (size_t i = 0; out[i]; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c >= 0x80) continue;
        if (how == 0 || (how == 2 && i % 2 == 0))
            out[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
        else
            out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
}

static void lower_copy(char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

/* a date in one of the two landing formats */
static void fmt_date(char *out, size_t cap, long day, Rng *r)
{
    int y, m, d;
    civil(day, &y, &m, &d);
    if (rng_below(r, 2)) snprintf(out, cap, "%04d-%02d-%02d", y, m, d);
    else                 snprintf(out, cap, "%02d/%02d/%04d", d, m, y);
}

/* amount in cents -> "123.45" */
static void fmt_cents(char *out, size_t cap, long cents)
{
    snprintf(out, cap, "%s%ld.%02ld", cents < 0 ? "-" : "", labs(cents) / 100, labs(cents) % 100);
}

/* ---------------------------------------------------------------- feeds */

enum { FEED_TX = 1, FEED_WEB, FEED_SOCIAL, FEED_ADS, FEED_DEVICE };

typedef struct {
    uint64_t seed;
    unsigned batch;
    unsigned long rows;
    Expect *ex;
    FILE *out; /* NULL: compute the figures only */
} Gen;

static void emit(Gen *g, const Line *l)
{
    if (g->out) { fputs(l->buf, g->out); fputc('\n', g->out); }
}

/* Row decision shared by all feeds: a duplicate of an earlier row (2%), else
 * the row itself.  Returns the row number whose content is emitted. */
static uint64_t pick_row(Gen *g, unsigned feed, uint64_t i, int *is_dup, Rng *style)
{
    Rng r = rng_for(g->seed, feed, g->batch, i);
    *style = r;
    *is_dup = 0;
    if (i > 0 && rng_chance(&r, 20)) {
        uint64_t j = rng_next(&r) % i;
        *style = r;
        /* only a row emitted as itself can be repeated: if position j was a
         * duplicate draw too, row j's own content never went out */
        Rng rj = rng_for(g->seed, feed, g->batch, j);
        if (j > 0 && rng_chance(&rj, 20)) return i;
        *is_dup = 1;
        return j;
    }
    return i;
}

/* --- customer transactions CSV --------------------------------------------
 * transaction_id,customer_id,product_code,quantity,unit_price,transaction_date,payment_method */

typedef struct {
    char id[24];
    unsigned customer, product, qty;
    long price;
    long day;
    unsigned pay;   /* index into PAYMENT, or N_OF(PAYMENT) = null token */
    int bad;        /* 0 ok, 1 bad quantity, 2 bad price, 3 impossible date, 4 wrong field count */
} Tx;

static void tx_make(Gen *g, uint64_t j, Tx *t)
{
    Rng r = rng_for(g->seed, FEED_TX, g->batch, j);
    (void)rng_next(&r); /* the dup draw in pick_row */
    (void)rng_next(&r);
    snprintf(t->id, sizeof t->id, "TX%02u%07" PRIu64, g->batch, j + 1);
    t->customer = 1 + rng_below(&r, N_CUSTOMERS);
    t->product = rng_below(&r, N_PRODUCTS);
    t->qty = 1 + rng_below(&r, 3) + (rng_chance(&r, 100) ? 2 : 0);
    t->price = PRODUCTS[t->product].price_cents;
    if (rng_chance(&r, 200)) t->price = t->price * 9 / 10; /* promotion */
    t->day = batch_day(g->batch, &r);
    t->pay = rng_chance(&r, 30) ? (unsigned)N_OF(PAYMENT) : rng_below(&r, N_OF(PAYMENT));
    unsigned d = rng_below(&r, 1000);
    t->bad = d < 8 ? 1 : d < 16 ? 2 : d < 21 ? 3 : d < 26 ? 4 : 0;
}

static void gen_transactions(Gen *g)
{
    Line l;
    line_reset(&l);
    line_put(&l, "transaction_id,customer_id,product_code,quantity,unit_price,transaction_date,payment_method");
    emit(g, &l);
    for (uint64_t i = 0; i < g->rows; i++) {
        int dup;
        Rng st;
        uint64_t j = pick_row(g, FEED_TX, i, &dup, &st);
        Tx t;
        tx_make(g, j, &t);
        if (dup && t.bad) { j = i; dup = 0; tx_make(g, j, &t); }
        char f[64];
        line_reset(&l);
        put_padded(&l, &st, t.id);
        line_put(&l, ",");
        snprintf(f, sizeof f, "%u", t.customer);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        mix_case(f, sizeof f, PRODUCTS[t.product].code, &st);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        if (t.bad == 1) put_padded(&l, &st, rng_below(&st, 2) ? "two" : "3x");
        else { snprintf(f, sizeof f, "%u", t.qty); put_padded(&l, &st, f); }
        line_put(&l, ",");
        if (t.bad == 2) put_padded(&l, &st, rng_below(&st, 2) ? "12.3.4" : "abc");
        else { fmt_cents(f, sizeof f, t.price); put_padded(&l, &st, f); }
        line_put(&l, ",");
        if (t.bad == 3) put_padded(&l, &st, rng_below(&st, 2) ? "2026-02-30" : "31/04/2026");
        else { fmt_date(f, sizeof f, t.day, &st); put_padded(&l, &st, f); }
        if (t.bad != 4) {
            line_put(&l, ",");
            if (t.pay == N_OF(PAYMENT)) line_put(&l, NULL_TOKENS[rng_below(&st, N_OF(NULL_TOKENS))]);
            else { mix_case(f, sizeof f, PAYMENT[t.pay], &st); put_padded(&l, &st, f); }
        }
        emit(g, &l);
        Expect *e = g->ex;
        e->tx_lines++;
        if (t.bad == 4) { e->tx_reader_rejects++; continue; }
        if (t.bad) { e->tx_rule_rejects++; continue; }
        if (dup) continue;
        e->tx_rows++;
        e->tx_orders[t.product]++;
        e->tx_units[t.product] += t.qty;
        e->tx_cents[t.product] += (long)t.qty * t.price;
    }
}

/* --- web server access log (combined format) --------------------------------
 * 203.0.113.7 - - [05/Jan/2026:13:45:01 +0000] "GET /plans HTTP/1.1" 200 5123 "-" "Mozilla/5.0 ..." */

static void gen_weblogs(Gen *g)
{
    Line l;
    for (uint64_t i = 0; i < g->rows; i++) {
        /* log lines are not keyed: a repeated line is a real second request,
         * so this feed has no duplicates, only truncated lines */
        Rng r = rng_for(g->seed, FEED_WEB, g->batch, i);
        long day = batch_day(g->batch, &r);
        int y, m, d;
        civil(day, &y, &m, &d);
        /* busier during the day */
        unsigned hour = rng_chance(&r, 700) ? 8 + rng_below(&r, 14) : rng_below(&r, 24);
        unsigned mi = rng_below(&r, 60), se = rng_below(&r, 60);
        unsigned w = rng_below(&r, 1000), si = 0, acc = 0;
        for (si = 0; si < N_OF(STATUS); si++) { acc += STATUS_W[si]; if (w < acc) break; }
        if (si == N_OF(STATUS)) si = 0;
        const char *method = rng_chance(&r, 150) ? "POST" : "GET";
        const char *path = PATHS[rng_below(&r, N_OF(PATHS))];
        int truncated = rng_chance(&r, 10);
        line_reset(&l);
        if (rng_below(&r, 3)) line_fmt(&l, "10.%u.%u.%u", rng_below(&r, 256), rng_below(&r, 256), 1 + rng_below(&r, 254));
        else line_fmt(&l, "203.0.113.%u", 1 + rng_below(&r, 254));
        line_fmt(&l, " - %s [%02d/%s/%04d:%02u:%02u:%02u +0000] \"%s %s HTTP/1.1\" %u ",
                 rng_chance(&r, 50) ? "alice" : "-", d, MON[m - 1], y, hour, mi, se, method, path, STATUS[si]);
        if (STATUS[si] == 304 || rng_chance(&r, 30)) line_put(&l, "-");
        else line_fmt(&l, "%u", 200 + rng_below(&r, 50000));
        line_fmt(&l, " \"%s\" \"%s\"", rng_below(&r, 2) ? "-" : "https://www.example-telco.com/",
                 AGENTS[rng_below(&r, N_OF(AGENTS))]);
        if (truncated) {
            /* cut inside the request line: the combined pattern cannot match */
            char *q = strchr(l.buf, '"');
            if (q) { l.len = (size_t)(q - l.buf) + 6; l.buf[l.len] = '\0'; }
        }
        emit(g, &l);
        Expect *e = g->ex;
        if (truncated) { e->web_reader_rejects++; continue; }
        e->web_rows++;
        e->web_status[si]++;
        e->web_hour[hour]++;
    }
}

/* --- social media posts NDJSON ----------------------------------------------- */

typedef struct {
    char id[24];
    unsigned product, platform, followers, handle, shares;
    long likes;      /* -1: null */
    long day;
    unsigned hh, mi, se;
    int likes_as_text;
    int bad;         /* 0 ok, 1 invalid JSON, 2 unknown product */
    unsigned words[6];
} Post;

static void post_make(Gen *g, uint64_t j, Post *p)
{
    Rng r = rng_for(g->seed, FEED_SOCIAL, g->batch, j);
    (void)rng_next(&r);
    (void)rng_next(&r);
    snprintf(p->id, sizeof p->id, "SP%02u%07" PRIu64, g->batch, j + 1);
    p->product = rng_below(&r, N_PRODUCTS);
    p->platform = rng_below(&r, N_OF(PLATFORMS));
    p->followers = rng_below(&r, 50000);
    p->handle = rng_below(&r, 5000);
    p->likes = rng_chance(&r, 30) ? -1 : (long)(rng_below(&r, 200) + (p->product % 3) * 40);
    p->shares = rng_below(&r, 30);
    p->likes_as_text = rng_chance(&r, 100);
    p->day = batch_day(g->batch, &r);
    p->hh = rng_below(&r, 24);
    p->mi = rng_below(&r, 60);
    p->se = rng_below(&r, 60);
    for (unsigned k = 0; k < 6; k++) p->words[k] = rng_below(&r, N_OF(WORDS));
    unsigned d = rng_below(&r, 1000);
    p->bad = d < 8 ? 1 : d < 18 ? 2 : 0;
}

static void gen_social(Gen *g)
{
    Line l;
    for (uint64_t i = 0; i < g->rows; i++) {
        int dup;
        Rng st;
        uint64_t j = pick_row(g, FEED_SOCIAL, i, &dup, &st);
        Post p;
        post_make(g, j, &p);
        if (dup && p.bad) { j = i; dup = 0; post_make(g, j, &p); }
        int y, m, d;
        civil(p.day, &y, &m, &d);
        char prod[32], plat[32];
        if (p.bad == 2) snprintf(prod, sizeof prod, "%s", rng_below(&st, 2) ? "nokia3310" : "zz-unknown");
        else mix_case(prod, sizeof prod, PRODUCTS[p.product].code, &st);
        lower_copy(plat, sizeof plat, PLATFORMS[p.platform]);
        mix_case(plat, sizeof plat, plat, &st);
        line_reset(&l);
        line_fmt(&l, "{\"post_id\": \"%s\", \"platform\": \"%s\", \"author\": {\"handle\": \"@user%u\", \"followers\": %u}, ",
                 p.id, plat, p.handle, p.followers);
        line_fmt(&l, "\"product\": \"%s%s%s\", \"text\": \"", rng_chance(&st, 50) ? " " : "", prod,
                 rng_chance(&st, 50) ? " " : "");
        for (unsigned k = 0; k < 6; k++) {
            const char *w = WORDS[p.words[k]];
            if (k) line_put(&l, " ");
            if (w[0] == '"') line_put(&l, "\\\"wow\\\"");
            else line_put(&l, w);
        }
        line_put(&l, "\", ");
        if (p.likes < 0) line_put(&l, rng_below(&st, 2) ? "\"likes\": null, " : "");
        else if (p.likes_as_text) line_fmt(&l, "\"likes\": \"%ld\", ", p.likes);
        else line_fmt(&l, "\"likes\": %ld, ", p.likes);
        line_fmt(&l, "\"shares\": %u, \"posted_at\": \"%04d-%02d-%02dT%02u:%02u:%02uZ\"}",
                 p.shares, y, m, d, p.hh, p.mi, p.se);
        if (p.bad == 1) { l.len = l.len * 2 / 3; l.buf[l.len] = '\0'; }
        emit(g, &l);
        Expect *e = g->ex;
        e->so_lines++;
        if (p.bad == 1) { e->so_reader_rejects++; continue; }
        if (p.bad) { e->so_rule_rejects++; continue; }
        if (dup) continue;
        e->so_rows++;
        e->so_posts[p.product]++;
        e->so_likes[p.product] += p.likes < 0 ? 0 : p.likes;
    }
}

/* --- ad campaign events CSV ---------------------------------------------------
 * event_id,campaign_id,event_type,event_time,device_type,cost */

typedef struct {
    char id[24];
    unsigned campaign, device, hh, mi, se;
    int click;
    long day;
    long cost;   /* 1/10000 currency units; -1: null token */
    int bad;     /* 0 ok, 1 unknown event type, 2 bad cost, 3 wrong field count */
} AdEv;

static void ad_make(Gen *g, uint64_t j, AdEv *a)
{
    Rng r = rng_for(g->seed, FEED_ADS, g->batch, j);
    (void)rng_next(&r);
    (void)rng_next(&r);
    snprintf(a->id, sizeof a->id, "EV%02u%08" PRIu64, g->batch, j + 1);
    a->campaign = rng_below(&r, N_CAMPAIGNS);
    a->click = rng_below(&r, 1000) < 20 + 10 * a->campaign; /* CTR 2% .. 9% */
    a->device = rng_below(&r, N_OF(DEVICES));
    a->day = batch_day(g->batch, &r);
    a->hh = rng_below(&r, 24);
    a->mi = rng_below(&r, 60);
    a->se = rng_below(&r, 60);
    a->cost = a->click ? 2500 + (long)rng_below(&r, 5000) : 10 + (long)rng_below(&r, 30);
    if (rng_chance(&r, 30)) a->cost = -1;
    unsigned d = rng_below(&r, 1000);
    a->bad = d < 6 ? 1 : d < 10 ? 2 : d < 14 ? 3 : 0;
}

static void gen_ads(Gen *g)
{
    Line l;
    line_reset(&l);
    line_put(&l, "event_id,campaign_id,event_type,event_time,device_type,cost");
    emit(g, &l);
    for (uint64_t i = 0; i < g->rows; i++) {
        int dup;
        Rng st;
        uint64_t j = pick_row(g, FEED_ADS, i, &dup, &st);
        AdEv a;
        ad_make(g, j, &a);
        if (dup && a.bad) { j = i; dup = 0; ad_make(g, j, &a); }
        char f[64];
        int y, m, d;
        civil(a.day, &y, &m, &d);
        line_reset(&l);
        put_padded(&l, &st, a.id);
        line_put(&l, ",");
        snprintf(f, sizeof f, "cmp%03u", a.campaign + 1);
        mix_case(f, sizeof f, f, &st);
        if (!rng_chance(&st, 100)) for (char *c = f; *c; c++) if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        if (a.bad == 1) put_padded(&l, &st, rng_below(&st, 2) ? "view" : "hover");
        else { mix_case(f, sizeof f, a.click ? "click" : "impression", &st); put_padded(&l, &st, f); }
        line_put(&l, ",");
        if (rng_below(&st, 2)) snprintf(f, sizeof f, "%04d-%02d-%02d %02u:%02u:%02u", y, m, d, a.hh, a.mi, a.se);
        else snprintf(f, sizeof f, "%02d/%02d/%04d %02u:%02u:%02u", d, m, y, a.hh, a.mi, a.se);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        mix_case(f, sizeof f, DEVICES[a.device], &st);
        put_padded(&l, &st, f);
        if (a.bad != 3) {
            line_put(&l, ",");
            if (a.bad == 2) line_put(&l, rng_below(&st, 2) ? "0.0o3" : "free");
            else if (a.cost < 0) line_put(&l, NULL_TOKENS[rng_below(&st, N_OF(NULL_TOKENS))]);
            else { snprintf(f, sizeof f, "%ld.%04ld", a.cost / 10000, a.cost % 10000); put_padded(&l, &st, f); }
        }
        emit(g, &l);
        Expect *e = g->ex;
        e->ad_lines++;
        if (a.bad == 3) { e->ad_reader_rejects++; continue; }
        if (a.bad) { e->ad_rule_rejects++; continue; }
        if (dup) continue;
        e->ad_rows++;
        if (a.click) e->ad_clicks[a.campaign]++;
        else e->ad_impr[a.campaign]++;
        e->ad_cost[a.campaign] += a.cost < 0 ? 0 : a.cost;
    }
}

/* --- device sales CSV ---------------------------------------------------------
 * sale_id,batch_id,sale_date,brand,model,storage,color,region,classification,quantity,unit_price,discount */

typedef struct {
    char id[24];
    unsigned product, storage, color, region, cls, qty;
    long price, discount;  /* cents; discount -1: null token */
    long day;
    int storage_suffix;
    int bad;               /* 0 ok, 1 bad quantity, 2 impossible date, 3 wrong field count */
} Sale;

static void sale_make(Gen *g, uint64_t j, Sale *s)
{
    Rng r = rng_for(g->seed, FEED_DEVICE, g->batch, j);
    (void)rng_next(&r);
    (void)rng_next(&r);
    snprintf(s->id, sizeof s->id, "DS%02u%07" PRIu64, g->batch, j + 1);
    s->product = rng_below(&r, N_PRODUCTS);
    s->storage = rng_below(&r, N_OF(STORAGE));
    s->color = rng_below(&r, N_OF(COLORS));
    s->region = rng_below(&r, N_OF(REGIONS));
    s->cls = rng_below(&r, N_OF(CLASSES));
    s->qty = 1 + rng_below(&r, 3);
    s->price = PRODUCTS[s->product].price_cents + 10000L * (long)s->storage;
    s->discount = rng_chance(&r, 100) ? -1 : rng_chance(&r, 300) ? (long)rng_below(&r, 5000) : 0;
    s->day = batch_day(g->batch, &r);
    s->storage_suffix = rng_chance(&r, 50);
    unsigned d = rng_below(&r, 1000);
    s->bad = d < 8 ? 1 : d < 13 ? 2 : d < 18 ? 3 : 0;
}

static void gen_device_sales(Gen *g)
{
    Line l;
    line_reset(&l);
    line_put(&l, "sale_id,batch_id,sale_date,brand,model,storage,color,region,classification,quantity,unit_price,discount");
    emit(g, &l);
    for (uint64_t i = 0; i < g->rows; i++) {
        int dup;
        Rng st;
        uint64_t j = pick_row(g, FEED_DEVICE, i, &dup, &st);
        Sale s;
        sale_make(g, j, &s);
        if (dup && s.bad) { j = i; dup = 0; sale_make(g, j, &s); }
        char f[64];
        line_reset(&l);
        put_padded(&l, &st, s.id);
        line_fmt(&l, ",%u,", g->batch);
        if (s.bad == 2) put_padded(&l, &st, rng_below(&st, 2) ? "2026-02-29" : "32/01/2026");
        else { fmt_date(f, sizeof f, s.day, &st); put_padded(&l, &st, f); }
        line_put(&l, ",");
        mix_case(f, sizeof f, PRODUCTS[s.product].brand, &st);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        if (rng_chance(&st, 50)) {  /* a doubled inner blank */
            const char *mo = PRODUCTS[s.product].model, *sp = strchr(mo, ' ');
            if (sp) snprintf(f, sizeof f, "%.*s  %s", (int)(sp - mo), mo, sp + 1);
            else snprintf(f, sizeof f, "%s", mo);
        } else snprintf(f, sizeof f, "%s", PRODUCTS[s.product].model);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        if (s.storage_suffix) snprintf(f, sizeof f, "%u%s", STORAGE[s.storage], rng_below(&st, 2) ? "GB" : " gb");
        else snprintf(f, sizeof f, "%u", STORAGE[s.storage]);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        mix_case(f, sizeof f, COLORS[s.color], &st);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        mix_case(f, sizeof f, REGIONS[s.region], &st);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        mix_case(f, sizeof f, CLASSES[s.cls], &st);
        put_padded(&l, &st, f);
        line_put(&l, ",");
        if (s.bad == 1) line_put(&l, rng_below(&st, 2) ? "\"1,5\"" : "many");
        else { snprintf(f, sizeof f, "%u", s.qty); put_padded(&l, &st, f); }
        line_put(&l, ",");
        fmt_cents(f, sizeof f, s.price);
        put_padded(&l, &st, f);
        if (s.bad != 3) {
            line_put(&l, ",");
            if (s.discount < 0) line_put(&l, NULL_TOKENS[rng_below(&st, N_OF(NULL_TOKENS))]);
            else { fmt_cents(f, sizeof f, s.discount); put_padded(&l, &st, f); }
        }
        emit(g, &l);
        Expect *e = g->ex;
        e->ds_lines++;
        if (s.bad == 3) { e->ds_reader_rejects++; continue; }
        if (s.bad) { e->ds_rule_rejects++; continue; }
        if (dup) continue;
        e->ds_rows++;
        e->ds_units += s.qty;
        e->ds_net_cents += (long)s.qty * s.price - (s.discount < 0 ? 0 : s.discount);
        e->ds_config_seen[(s.product * N_OF(STORAGE) + s.storage) * N_OF(COLORS) + s.color] = 1;
        e->ds_junk_seen[s.region * N_OF(CLASSES) + s.cls] = 1;
    }
}

/* ---------------------------------------------------------------- output */

/* round(num / den, places) half away from zero, printed with `places` decimals */
static void print_ratio(long num, long den, unsigned places)
{
    long scale = 1;
    for (unsigned k = 0; k < places; k++) scale *= 10;
    long q = (2 * num * scale + den) / (2 * den);
    printf("%ld.%0*ld", q / scale, (int)places, q % scale);
}

static void print_expect(const Expect *e)
{
    char f[64];
    for (unsigned p = 0; p < N_PRODUCTS; p++) {
        if (!e->tx_orders[p]) continue;
        fmt_cents(f, sizeof f, e->tx_cents[p]);
        printf("sales_by_product|%s|%ld|%ld|%s\n", PRODUCTS[p].code, e->tx_orders[p], e->tx_units[p], f);
    }
    for (unsigned c = 0; c < N_CAMPAIGNS; c++) {
        if (!e->ad_impr[c] && !e->ad_clicks[c]) continue;
        printf("campaign|CMP%03u|%ld|%ld|", c + 1, e->ad_impr[c], e->ad_clicks[c]);
        if (e->ad_impr[c]) print_ratio(e->ad_clicks[c], e->ad_impr[c], 4);
        printf("|%ld.%04ld\n", e->ad_cost[c] / 10000, e->ad_cost[c] % 10000);
    }
    for (unsigned s = 0; s < N_OF(STATUS); s++)
        if (e->web_status[s]) printf("http_status|%u|%ld\n", STATUS[s], e->web_status[s]);
    for (unsigned h = 0; h < 24; h++)
        if (e->web_hour[h]) printf("http_hour|%u|%ld\n", h, e->web_hour[h]);
    for (unsigned p = 0; p < N_PRODUCTS; p++) {
        if (!e->so_posts[p]) continue;
        printf("social_likes|%s|%ld|", PRODUCTS[p].code, e->so_posts[p]);
        print_ratio(e->so_likes[p], e->so_posts[p], 2);
        printf("\n");
    }
    long configs = 0, junk = 0;
    for (unsigned k = 0; k < MAX_CONFIGS; k++) configs += e->ds_config_seen[k];
    for (unsigned k = 0; k < N_OF(REGIONS) * N_OF(CLASSES); k++) junk += e->ds_junk_seen[k];
    fmt_cents(f, sizeof f, e->ds_net_cents);
    printf("fact_sales|%ld|%ld|%s\n", e->ds_rows, e->ds_units, f);
    printf("dim_device|%ld\n", configs);
    printf("dim_sales_junk|%ld\n", junk);
    printf("rows|silver_transactions|%ld\n", e->tx_rows);
    printf("rows|silver_web_requests|%ld\n", e->web_rows);
    printf("rows|silver_social_posts|%ld\n", e->so_rows);
    printf("rows|silver_ad_events|%ld\n", e->ad_rows);
    printf("rows|silver_device_sales|%ld\n", e->ds_rows);
    printf("reader_rejects|transactions|%ld\n", e->tx_reader_rejects);
    printf("reader_rejects|web_requests|%ld\n", e->web_reader_rejects);
    printf("reader_rejects|social_posts|%ld\n", e->so_reader_rejects);
    printf("reader_rejects|ad_events|%ld\n", e->ad_reader_rejects);
    printf("reader_rejects|device_sales|%ld\n", e->ds_reader_rejects);
    printf("rule_rejects|transactions|%ld\n", e->tx_rule_rejects);
    printf("rule_rejects|social_posts|%ld\n", e->so_rule_rejects);
    printf("rule_rejects|ad_events|%ld\n", e->ad_rule_rejects);
    printf("rule_rejects|device_sales|%ld\n", e->ds_rule_rejects);
    printf("lines|transactions|%ld\n", e->tx_lines);
    printf("lines|social_posts|%ld\n", e->so_lines);
    printf("lines|ad_events|%ld\n", e->ad_lines);
    printf("lines|device_sales|%ld\n", e->ds_lines);
}

/* ---------------------------------------------------------------- main */

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "datagen: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

typedef struct {
    const char *dir, *stem, *ext;
    void (*gen)(Gen *);
} Feed;

static const Feed FEEDS[] = {
    { "transactions", "transactions", "csv",    gen_transactions },
    { "weblogs",      "access",       "log",    gen_weblogs },
    { "social",       "posts",        "ndjson", gen_social },
    { "ads",          "ad_events",    "csv",    gen_ads },
    { "device_sales", "device_sales", "csv",    gen_device_sales },
};

static int run_batch(const char *out, uint64_t seed, unsigned batch, unsigned long rows, Expect *ex)
{
    for (size_t k = 0; k < N_OF(FEEDS); k++) {
        Gen g = { seed, batch, rows, ex, NULL };
        char path[4096];
        if (out) {
            snprintf(path, sizeof path, "%s/%s", out, FEEDS[k].dir);
            if (make_dir(path)) return -1;
            snprintf(path, sizeof path, "%s/%s/%s_b%03u.%s", out, FEEDS[k].dir, FEEDS[k].stem, batch, FEEDS[k].ext);
            g.out = fopen(path, "w");
            if (!g.out) { fprintf(stderr, "datagen: cannot write %s: %s\n", path, strerror(errno)); return -1; }
        }
        FEEDS[k].gen(&g);
        if (g.out && fclose(g.out) != 0) { fprintf(stderr, "datagen: write error on %s\n", path); return -1; }
    }
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: datagen --out DIR [--rows N] [--batch K] [--seed S] [--expect]\n"
          "       datagen --expect [--rows N] [--batch K] [--seed S]\n"
          "Writes landing batch K (default 1) of N rows per feed (default 1000) under DIR;\n"
          "--expect prints the gold figures for batches 1..K to stdout.\n", f);
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *v)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    *v = strtoull(s, &end, 10);
    return (errno || *end || *v > max) ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    unsigned long long rows = 1000, batch = 1, seed = 42;
    int expect = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--expect")) { expect = 1; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (strcmp(a, "--out") && strcmp(a, "--rows") && strcmp(a, "--batch") && strcmp(a, "--seed")) {
            fprintf(stderr, "datagen: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (!v) { fprintf(stderr, "datagen: %s needs a value\n", a); usage(stderr); return 2; }
        int bad = 0;
        if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--rows")) bad = parse_num(v, 100000000ULL, &rows) || rows == 0;
        else if (!strcmp(a, "--batch")) bad = parse_num(v, 52, &batch) || batch == 0; /* weekly batches of 2026 (dim_date) */
        else bad = parse_num(v, UINT64_MAX, &seed);
        if (bad) { fprintf(stderr, "datagen: bad value for %s: %s\n", a, v); return 2; }
        i++;
    }
    if (!out && !expect) { usage(stderr); return 2; }
    Expect *ex = calloc(1, sizeof *ex);
    if (!ex) { fputs("datagen: out of memory\n", stderr); return 1; }
    int rc = 0;
    if (out && make_dir(out)) rc = 1;
    for (unsigned b = 1; !rc && b <= (unsigned)batch; b++) {
        if (b == (unsigned)batch) rc = run_batch(out, seed, b, (unsigned long)rows, ex) ? 1 : 0;
        else if (expect) rc = run_batch(NULL, seed, b, (unsigned long)rows, ex) ? 1 : 0;
    }
    if (!rc && expect) print_expect(ex);
    free(ex);
    return rc;
}
