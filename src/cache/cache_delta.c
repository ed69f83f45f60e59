/* cache_delta.c - the node table stored with a compile's snapshot, for
 * recompiling one edited model alone (src/cli/delta.c).
 *
 * One entry per model that compiled: its file (original_file_path, the
 * lookup key), unique_id, where its padded value sits in manifest.json and
 * run_results.json, its compiled file, its properties file, and the stubs
 * of the nodes it depends on (what ref()/source() need to render the same
 * relation: identity, materialization, quoting).
 *
 * A stub is stored once however many models depend on it (at 10k models
 * every stub repeated in each child's entry made 4.1 MB of the 6 MB a
 * snapshot wrote); an entry names its parents by stub number.  Entries are
 * kept in CACHE_DELTA_BUCKETS groups by a hash of the file, stubs in chunks
 * of STUB_CHUNK by number (cache_snap.c stores one row per group and per
 * chunk), so recompiling a model reads one small row and one per parent.
 *
 * Encoding (v: LEB128 varint; s: string as v(length + 1) and the bytes, v(0)
 * for NULL):
 *   entry: v(byte length of the rest), s ofp, s uid, v moff, v mlen, v roff,
 *          v rlen, r compiled_path, r patch_file, v ndeps, v stub number * ndeps
 *   stub:  v(byte length of the rest), u8 rt, s uid, s name, s package,
 *          s database, s schema, s alias, s identifier, s source_name,
 *          s materialized, quoting (ser_value)
 * where r is a path told by what it shares with ofp, as both usually do
 * ("target/compiled/<package>/" + ofp; the properties file beside the
 * model): v(0) for NULL, else v(p + 1), v q, s middle -- ofp's first p
 * bytes, middle, then ofp's last q bytes. */
#include <stdlib.h>
#include <string.h>
#include "cache_priv.h"

static void put_s(Sb *b, const char *s, size_t n)
{
    if (!s) {
        ser_var(b, 0);
        return;
    }
    sb_reserve(b, n + 10);
    uint8_t *p = var_at((uint8_t *)b->buf + b->len, (uint64_t)n + 1);
    memcpy(p, s, n);
    b->len = (size_t)((char *)p - b->buf) + n;
    b->buf[b->len] = '\0';
}

static void put_str(Sb *b, const char *s) { put_s(b, s, s ? strlen(s) : 0); }

/* v(n), then the n bytes (an entry, a stub) */
static void put_block(Sb *b, const char *s, size_t n)
{
    sb_reserve(b, n + 10);
    uint8_t *p = var_at((uint8_t *)b->buf + b->len, n);
    if (n)
        memcpy(p, s, n);
    b->len = (size_t)((char *)p - b->buf) + n;
    b->buf[b->len] = '\0';
}

/* s (in place, not NUL-terminated; NULL for NULL) */
static bool get_s(Rd *r, const char **s, size_t *n)
{
    uint64_t v = rd_var(r);
    *s = NULL;
    *n = 0;
    if (r->bad)
        return false;
    if (v == 0)
        return true;
    if (v - 1 > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return false;
    }
    *s = (const char *)r->p;
    *n = (size_t)(v - 1);
    r->p += v - 1;
    return true;
}

static const char *get_str(Rd *r, Arena *a)
{
    const char *s;
    size_t n;
    return get_s(r, &s, &n) && s ? arena_strndup(a, s, n) : NULL;
}

static void put_rel(Sb *b, const char *s, const char *ofp, size_t ol)
{
    if (!s) {
        ser_var(b, 0);
        return;
    }
    size_t sl = strlen(s), p = 0, q = 0;
    while (p < sl && p < ol && s[p] == ofp[p])
        p++;
    while (q < sl - p && q < ol - p && s[sl - 1 - q] == ofp[ol - 1 - q])
        q++;
    ser_var(b, (uint64_t)p + 1);
    ser_var(b, q);
    put_s(b, s + p, sl - p - q);
}

static const char *get_rel(Rd *r, const char *ofp, size_t ol, Arena *a)
{
    uint64_t p = rd_var(r);
    if (r->bad || p == 0)
        return NULL;
    p--;
    uint64_t q = rd_var(r);
    const char *mid;
    size_t ml;
    if (!get_s(r, &mid, &ml) || !mid || p > ol || q > ol - p) {
        r->bad = true;
        return NULL;
    }
    char *s = arena_alloc(a, p + ml + q + 1);
    memcpy(s, ofp, p);
    memcpy(s + p, mid, ml);
    memcpy(s + p + ml, ofp + ol - q, q);
    s[p + ml + q] = '\0';
    return s;
}

/* ---------------------------------------------------------------- building */

void cache_delta_init(CacheDeltaTable *t) { memset(t, 0, sizeof *t); }

void cache_delta_free(CacheDeltaTable *t)
{
    for (int b = 0; b < CACHE_DELTA_BUCKETS; b++)
        sb_free(&t->bucket[b]);
    sb_free(&t->stubs);
    sb_free(&t->scratch);
    free(t->stub_end);
    memset(t, 0, sizeof *t);
}

unsigned cache_delta_bucket(const char *ofp, size_t n)
{
    uint32_t h = 2166136261u;                 /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)ofp[i]) * 16777619u;
    return h % CACHE_DELTA_BUCKETS;
}

uint32_t cache_delta_stub(CacheDeltaTable *t, const CacheDeltaDep *d)
{
    Sb *body = &t->scratch;
    sb_reset(body);
    ser_u8(body, (uint8_t)d->rt);
    put_str(body, d->unique_id);
    put_str(body, d->name);
    put_str(body, d->package);
    put_str(body, d->database);
    put_str(body, d->schema);
    put_str(body, d->alias);
    put_str(body, d->identifier);
    put_str(body, d->source_name);
    put_str(body, d->materialized);
    ser_value(body, d->quoting, false);
    put_block(&t->stubs, body->buf, body->len);
    if (t->nstubs == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->stub_end = xrealloc(t->stub_end, sizeof *t->stub_end * t->cap);
    }
    t->stub_end[t->nstubs] = t->stubs.len;
    return t->nstubs++;
}

void cache_delta_add_refs(CacheDeltaTable *t, const CacheDeltaNode *n, const uint32_t *stubs)
{
    if (!n->ofp)
        return;                  /* no key: could never be found */
    size_t ol = strlen(n->ofp);
    Sb *e = &t->scratch;
    sb_reset(e);
    put_s(e, n->ofp, ol);
    put_str(e, n->unique_id);
    ser_var(e, (uint64_t)n->moff);
    ser_var(e, n->mlen);
    ser_var(e, (uint64_t)n->roff);
    ser_var(e, n->rlen);
    put_rel(e, n->compiled_path, n->ofp, ol);
    put_rel(e, n->patch_file, n->ofp, ol);
    ser_var(e, (uint64_t)n->ndeps);
    for (int i = 0; i < n->ndeps; i++)
        ser_var(e, stubs[i]);
    put_block(&t->bucket[cache_delta_bucket(n->ofp, ol)], e->buf, e->len);
    t->nents++;
}

void cache_delta_add(CacheDeltaTable *t, const CacheDeltaNode *n)
{
    uint32_t *idx = xmalloc(sizeof *idx * (size_t)(n->ndeps + 1));
    for (int i = 0; i < n->ndeps; i++)
        idx[i] = cache_delta_stub(t, &n->deps[i]);
    cache_delta_add_refs(t, n, idx);
    free(idx);
}

/* ---------------------------------------------------------------- reading */

bool cache_delta_next(Rd *r, Rd *entry, const char **ofp, size_t *ol)
{
    while (r->p < r->end && !r->bad) {
        uint64_t n = rd_var(r);
        if (r->bad || n > (uint64_t)(r->end - r->p)) {
            r->bad = true;
            return false;
        }
        *entry = (Rd){r->p, r->p + n, false};
        r->p += n;
        if (get_s(entry, ofp, ol) && *ofp)
            return true;
        r->bad = true;
    }
    return false;
}

bool cache_delta_entry(const uint8_t *row, size_t len, const char *ofp, Arena *a, CacheDeltaNode *out, Rd *refs)
{
    Rd r = {row, row + len, false}, e;
    const char *k;
    size_t kl, ol = strlen(ofp);
    memset(out, 0, sizeof *out);
    while (cache_delta_next(&r, &e, &k, &kl)) {
        if (kl != ol || memcmp(k, ofp, ol) != 0)
            continue;
        out->ofp = arena_strndup(a, ofp, ol);
        out->unique_id = get_str(&e, a);
        out->moff = (int64_t)rd_var(&e);
        out->mlen = (uint32_t)rd_var(&e);
        out->roff = (int64_t)rd_var(&e);
        out->rlen = (uint32_t)rd_var(&e);
        out->compiled_path = get_rel(&e, ofp, ol, a);
        out->patch_file = get_rel(&e, ofp, ol, a);
        uint64_t nd = rd_var(&e);
        if (e.bad || nd > 100000 || !out->unique_id)
            return false;
        out->ndeps = (int)nd;
        *refs = e;
        return true;
    }
    return false;
}

bool cache_delta_stub_at(const uint8_t *chunk, size_t len, uint32_t pos, Arena *a, CacheDeltaDep *d)
{
    Rd r = {chunk, chunk + len, false};
    for (uint32_t i = 0; i < pos && !r.bad; i++) {
        uint64_t n = rd_var(&r);
        if (r.bad || n > (uint64_t)(r.end - r.p))
            return false;
        r.p += n;
    }
    uint64_t n = rd_var(&r);
    if (r.bad || n > (uint64_t)(r.end - r.p))
        return false;
    Rd s = {r.p, r.p + n, false};
    memset(d, 0, sizeof *d);
    d->rt = rd_u8(&s);
    d->unique_id = get_str(&s, a);
    d->name = get_str(&s, a);
    d->package = get_str(&s, a);
    d->database = get_str(&s, a);
    d->schema = get_str(&s, a);
    d->alias = get_str(&s, a);
    d->identifier = get_str(&s, a);
    d->source_name = get_str(&s, a);
    d->materialized = get_str(&s, a);
    if (!rd_value(&s, a, &d->quoting, 0))
        s.bad = true;
    return !s.bad && d->unique_id;
}
