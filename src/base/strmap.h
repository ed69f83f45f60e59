/* strmap.h - insertion-ordered hash map from byte-string keys to void *.
 *
 * Keys are copied into the map's own storage (heap blocks, freed with the map).  Iteration order is
 * insertion order; deletion is not supported (not needed by the compiler).
 * Used for symbol tables: nodes by unique_id, macros by name, etc. */
#ifndef CDBT_STRMAP_H
#define CDBT_STRMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StrMapEntry {
    char *key;          /* NUL-terminated copy */
    size_t klen;
    uint64_t hash;
    void *val;
} StrMapEntry;

typedef struct StrMap {
    StrMapEntry *entries;   /* dense, insertion order */
    size_t len, cap;
    uint32_t *slots;        /* open addressing: index+1 into entries, 0 = empty */
    size_t nslots;
    /* the keys' storage: blocks chained through their first word (keys are
     * never removed one by one, so they are packed rather than malloc'd
     * each: a malloc and a free fewer per key) */
    void *kblocks;
    char *kfree;            /* room left in the newest block */
    size_t kleft, kblock;   /* its size; the next block's size */
} StrMap;

uint64_t strmap_hash(const char *k, size_t n);     /* 64-bit, 8 bytes a step; not stable across builds */
uint64_t fmix64(uint64_t h);                         /* murmur3's finalizer: every bit moves every bit */
void  strmap_init(StrMap *m);
void  strmap_free(StrMap *m);                      /* frees keys and tables, not values */
/* Insert or replace; returns the previous value or NULL. */
void *strmap_put(StrMap *m, const char *k, size_t n, void *val);
void *strmap_get(const StrMap *m, const char *k, size_t n);   /* NULL if absent */
bool  strmap_has(const StrMap *m, const char *k, size_t n);
#define strmap_putz(m, k, v) strmap_put((m), (k), strlen(k), (v))
#define strmap_getz(m, k)    strmap_get((m), (k), strlen(k))
#endif
