/* strmap.c - insertion-ordered string-keyed hash map.
 *
 * Entries live in a dense array in insertion order; an open-addressing slot
 * table (linear probing, power-of-two size, load <= 1/2) indexes them.  The
 * map owns copies of its keys; values are opaque and belong to the caller. */
#include "strmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* Eight bytes per step, then murmur3's final mix so that every bit of the
 * result depends on every input bit (tables use the low bits, the template
 * cache's counter the middle ones).  FNV-1a went a byte at a time, which
 * showed in the long keys (config encodings) the parse cache dedupes. */
uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t strmap_hash(const char *k, size_t n)
{
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
    uint64_t w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
    }
    if (n) {
        w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
    }
    return fmix64(h);
}

void strmap_init(StrMap *m)
{
    memset(m, 0, sizeof *m);
}

void strmap_free(StrMap *m)
{
    for (void *b = m->kblocks; b;) {
        void *next;
        memcpy(&next, b, sizeof next);
        free(b);
        b = next;
    }
    free(m->entries);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Slot index holding key k, or the empty slot where it would go. */
static size_t find_slot(const StrMap *m, const char *k, size_t n, uint64_t h)
{
    size_t mask = m->nslots - 1;
    size_t i = (size_t)h & mask;
    for (;;) {
        uint32_t s = m->slots[i];
        if (s == 0)
            return i;
        const StrMapEntry *e = &m->entries[s - 1];
        if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static void rehash(StrMap *m, size_t nslots)
{
    free(m->slots);
    m->slots = xcalloc(nslots, sizeof *m->slots);
    m->nslots = nslots;
    size_t mask = nslots - 1;
    for (size_t j = 0; j < m->len; j++) {
        size_t i = (size_t)m->entries[j].hash & mask;
        while (m->slots[i])
            i = (i + 1) & mask;
        m->slots[i] = (uint32_t)(j + 1);
    }
}

/* A NUL-terminated copy of k in the map's key blocks: 256 bytes at first,
 * doubling up to 64 KiB; a key bigger than a quarter of that gets a block
 * of its own (the current block stays the one to fill). */
enum { KBLOCK_MIN = 256, KBLOCK_MAX = 64 << 10 };

static char *key_copy(StrMap *m, const char *k, size_t n)
{
    size_t need = n + 1;
    char *d;
    if (need <= m->kleft) {
        d = m->kfree;
        m->kfree += need;
        m->kleft -= need;
    } else {
        size_t bs = m->kblock ? m->kblock : KBLOCK_MIN;
        bool own = need > KBLOCK_MAX / 4;
        size_t size = sizeof(void *) + (own ? need : (need > bs ? need : bs));
        char *b = xmalloc(size);
        d = b + sizeof(void *);
        if (own && m->kblocks) {         /* behind the current block */
            void *after;
            memcpy(&after, m->kblocks, sizeof after);
            memcpy(b, &after, sizeof after);
            memcpy(m->kblocks, &b, sizeof b);
        } else {
            memcpy(b, &m->kblocks, sizeof m->kblocks);
            m->kblocks = b;
            m->kfree = d + need;
            m->kleft = size - sizeof(void *) - need;
            if (!own && bs < KBLOCK_MAX)
                m->kblock = bs * 2;
        }
    }
    memcpy(d, k, n);
    d[n] = '\0';
    return d;
}

void *strmap_put(StrMap *m, const char *k, size_t n, void *val)
{
    uint64_t h = strmap_hash(k, n);
    if (m->nslots == 0 || (m->len + 1) * 2 > m->nslots)
        rehash(m, m->nslots ? m->nslots * 2 : 16);
    size_t i = find_slot(m, k, n, h);
    if (m->slots[i]) {
        StrMapEntry *e = &m->entries[m->slots[i] - 1];
        void *old = e->val;
        e->val = val;
        return old;
    }
    if (m->len == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->entries = xrealloc(m->entries, m->cap * sizeof *m->entries);
    }
    StrMapEntry *e = &m->entries[m->len++];
    e->key = key_copy(m, k, n);
    e->klen = n;
    e->hash = h;
    e->val = val;
    m->slots[i] = (uint32_t)m->len;
    return NULL;
}

void *strmap_get(const StrMap *m, const char *k, size_t n)
{
    if (m->len == 0)
        return NULL;
    size_t i = find_slot(m, k, n, strmap_hash(k, n));
    return m->slots[i] ? m->entries[m->slots[i] - 1].val : NULL;
}

bool strmap_has(const StrMap *m, const char *k, size_t n)
{
    if (m->len == 0)
        return false;
    return m->slots[find_slot(m, k, n, strmap_hash(k, n))] != 0;
}
