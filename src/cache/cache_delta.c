/* cache_delta.c - the node table stored with a compile's snapshot, for
 * recompiling one edited model alone (src/cli/delta.c).
 *
 * One entry per model that compiled: its file (original_file_path, the
 * lookup key), unique_id, where its padded value sits in manifest.json and
 * run_results.json, its compiled file, its properties file, and a stub of
 * every node it depends on (what ref()/source() need to render the same
 * relation: identity, materialization, quoting).  Entries are
 *   u32 byte length of the rest, str ofp, str uid, u64 moff, u32 mlen,
 *   u64 roff, u32 rlen, str compiled_path, str patch_file, u32 ndeps, deps
 * so a lookup steps over entries without decoding them. */
#include <string.h>
#include "cache_priv.h"

void cache_delta_dep(Sb *b, const CacheDeltaDep *d)
{
    ser_u8(b, (uint8_t)d->rt);
    ser_str(b, d->unique_id);
    ser_str(b, d->name);
    ser_str(b, d->package);
    ser_str(b, d->database);
    ser_str(b, d->schema);
    ser_str(b, d->alias);
    ser_str(b, d->identifier);
    ser_str(b, d->source_name);
    ser_str(b, d->materialized);
    ser_value(b, d->quoting, false);
}

void cache_delta_add(Sb *b, const CacheDeltaNode *n)
{
    Sb deps = SB_INIT;
    for (int i = 0; i < n->ndeps; i++)
        cache_delta_dep(&deps, &n->deps[i]);
    cache_delta_add_raw(b, n, deps.buf, deps.len);
    sb_free(&deps);
}

void cache_delta_add_raw(Sb *b, const CacheDeltaNode *n, const void *deps, size_t len)
{
    size_t at = b->len;
    ser_u32(b, 0);
    ser_str(b, n->ofp);
    ser_str(b, n->unique_id);
    ser_u64(b, (uint64_t)n->moff);
    ser_u32(b, n->mlen);
    ser_u64(b, (uint64_t)n->roff);
    ser_u32(b, n->rlen);
    ser_str(b, n->compiled_path);
    ser_str(b, n->patch_file);
    ser_u32(b, (uint32_t)n->ndeps);
    if (len)
        sb_append(b, deps, len);
    uint32_t el = (uint32_t)(b->len - at - 4);
    uint8_t h[4] = {(uint8_t)el, (uint8_t)(el >> 8), (uint8_t)(el >> 16), (uint8_t)(el >> 24)};
    memcpy(b->buf + at, h, 4);
}

/* Is the string encoded at r->p equal to s?  Steps over it either way. */
static bool str_is(Rd *r, const char *s)
{
    const char *v;
    size_t n;
    return rd_str_view(r, &v, &n) && v && n == strlen(s) && memcmp(v, s, n) == 0;
}

bool cache_delta_find(const uint8_t *blob, size_t len, const char *ofp, Arena *a, CacheDeltaNode *out)
{
    Rd r = {blob, blob + len, false};
    memset(out, 0, sizeof *out);
    while (r.p < r.end && !r.bad) {
        uint32_t n = rd_u32(&r);
        if (r.bad || n > (size_t)(r.end - r.p))
            return false;
        Rd e = {r.p, r.p + n, false};
        r.p += n;
        if (!str_is(&e, ofp))
            continue;
        out->ofp = arena_strdup(a, ofp);
        out->unique_id = rd_str(&e, a);
        out->moff = (int64_t)rd_u64(&e);
        out->mlen = rd_u32(&e);
        out->roff = (int64_t)rd_u64(&e);
        out->rlen = rd_u32(&e);
        out->compiled_path = rd_str(&e, a);
        out->patch_file = rd_str(&e, a);
        uint32_t nd = rd_u32(&e);
        if (e.bad || nd > 100000)
            return false;
        out->ndeps = (int)nd;
        out->deps = ARENA_ARRAY(a, CacheDeltaDep, nd + 1);
        for (uint32_t i = 0; i < nd && !e.bad; i++) {
            CacheDeltaDep *d = &out->deps[i];
            d->rt = rd_u8(&e);
            d->unique_id = rd_str(&e, a);
            d->name = rd_str(&e, a);
            d->package = rd_str(&e, a);
            d->database = rd_str(&e, a);
            d->schema = rd_str(&e, a);
            d->alias = rd_str(&e, a);
            d->identifier = rd_str(&e, a);
            d->source_name = rd_str(&e, a);
            d->materialized = rd_str(&e, a);
            if (!rd_value(&e, a, &d->quoting, 0))
                e.bad = true;
        }
        return !e.bad && out->unique_id;
    }
    return false;
}
