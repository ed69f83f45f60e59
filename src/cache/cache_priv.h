/* cache_priv.h - internals shared by the files of src/cache (not a
 * contract): the Cache struct, the per-node entry of the parse cache, and
 * the byte-buffer serializer of Values used both for keys and for the
 * stored outputs. */
#ifndef CDBT_CACHE_PRIV_H
#define CDBT_CACHE_PRIV_H
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include "cache.h"
#include "../base/sb.h"
#include "../base/strmap.h"

#define CACHE_SCHEMA_VERSION 12
#define CACHE_BUSY_MS 5000

typedef struct CacheEnt {
    const Node *n;
    /* the key of its entry (cache_parse.c): the global key and the node's
     * own inputs; the macros its render ran are checked apart (macro sets) */
    uint8_t key[32];
    bool cacheable;              /* false: volatile inputs or unserializable values */
    bool hit;                    /* outputs restored from the cache */
    bool ambiguous;              /* another node has this unique_id: never cached */
    const char *why;             /* not restored: why (--debug), NULL: no entry stored */
    Sb envs;                     /* env reads of this run: serialized (name, set, value)* */
    /* encoded config / unrendered_config as the loader gave them (from the key material) */
    const uint8_t *pre_cfg, *pre_unr;
    size_t pre_cfg_len, pre_unr_len;
    int nenvs;
} CacheEnt;

/* The parse store running on its own thread (cache_parse.c). */
typedef struct CacheStore CacheStore;

/* c->db is used under c->mu (or, before cache_parse_end, by the main thread
 * alone).  The parse store's thread holds c->mu from before cache_parse_end
 * returns until its transaction is over: whatever locks it next waits. */
struct Cache {
    sqlite3 *db;
    char *path;
    pthread_mutex_t mu;
    bool broken;                 /* a database error happened: stop using it this run */
    bool in_batch;               /* inside cache_batch(c, true) */
    Sb why;                      /* the *why of the last snapshot lookup, when it names a file */
    /* parse cache state (cache_parse.c) */
    Arena arena;
    Arena arena2;                /* what the second key thread keeps */
    StrMap ents;                 /* unique_id -> CacheEnt* */
    CacheEnt **entv; int nent;
    int restored, parsed, uncacheable;
    int gone;                    /* rows of nodes no longer parsed (-1: not counted) */
    bool idle;                   /* cache_parse_idle */
    uint8_t gkey[32];            /* this parse's global key (meta parse_keys) */
    /* the macro sets (cache_parse.c): per macro of the project, its hashes
     * once computed; the stored sets, by id, that still hold */
    CacheParseEnv env;           /* the last cache_parse_begin's */
    Project *mp;                 /* the project of mm and muid */
    struct MacroMemo *mm;        /* p->nmacros, by index */
    StrMap muid;                 /* macro unique_id -> index + 1 (NULL-ish 0: ambiguous) */
    StrMap msets;                /* stored set id (8 bytes) -> MSET_HOLDS, or why not (malloc'ed text) */
    const char *stale_why;       /* no entry could match: why (static text), or NULL */
    CacheStore *store;           /* started by cache_parse_end, not yet joined (main thread only) */
    /* results (cache.c), loaded on first lookup */
    bool results_loaded;
    StrMap res_status;           /* uid -> char* (malloc'ed) */
    StrMap res_time;             /* uid -> double* (malloc'ed) */
};

/* cache_parse.c: free the macro sets' state (cache_close, cache_parse_release) */
void cache_macros_free(Cache *c);

/* cache.c: record the sqlite error as *warning ("cdbt cache: <what>: <msg>"). */
void cache_warn_db(Cache *c, char **warning, const char *what);
void cache_set_warning(char **warning, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cache_ser.c: tagged, length-prefixed binary encoding. */
void ser_u8(Sb *b, uint8_t v);
void ser_u32(Sb *b, uint32_t v);
void ser_u64(Sb *b, uint64_t v);
void ser_str(Sb *b, const char *s);                 /* NULL is distinct from "" */
void ser_strn(Sb *b, const char *s, size_t n);
/* Encode v.  strict: fail (return false) on functions, macros and objects;
 * otherwise they are encoded by class name and str() (good for hashing). */
bool ser_value(Sb *b, Value v, bool strict);
void ser_dict_ptr(Sb *b, VDict *d, bool strict, bool *ok);
void ser_list_ptr(Sb *b, VList *l, bool strict, bool *ok);
/* cdbt's version and this executable's size, mtime and inode (a rebuilt
 * binary is another build); false when the executable cannot be stat()ed. */
bool ser_build(Sb *b);

typedef struct Rd { const uint8_t *p, *end; bool bad; } Rd;
uint8_t  rd_u8(Rd *r);
uint32_t rd_u32(Rd *r);
uint64_t rd_u64(Rd *r);
const char *rd_str(Rd *r, Arena *a);               /* NULL for an encoded NULL */
/* The same in place (not NUL-terminated): *s NULL for an encoded NULL; false when malformed. */
bool rd_str_view(Rd *r, const char **s, size_t *n);
bool rd_value(Rd *r, Arena *a, Value *out, int depth);
bool rd_skip(Rd *r, int depth);                    /* step over one encoded value */

/* LEB128 varints (the snapshot lists and the node table), written in
 * place: a store writes some 300,000 of them. */
static inline uint8_t *var_at(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline void ser_var(Sb *b, uint64_t v)
{
    if (!b->buf || b->cap - b->len <= 10)
        sb_reserve(b, 10);
    b->len = (size_t)((char *)var_at((uint8_t *)b->buf + b->len, v) - b->buf);
    b->buf[b->len] = '\0';
}

static inline uint64_t rd_var(Rd *r)
{
    uint64_t v = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

/* cache_delta.c: the node table's layout, for cache_snap.c to store and
 * read it.  Stubs are stored STUB_CHUNK to a row. */
#define STUB_CHUNK 64
unsigned cache_delta_bucket(const char *ofp, size_t n);
/* The next entry of a row (*entry: the rest of it, after its file *ofp). */
bool cache_delta_next(Rd *r, Rd *entry, const char **ofp, size_t *ol);
/* The entry of ofp in a row, but its deps: out->ndeps stub numbers (varints) are left in *refs. */
bool cache_delta_entry(const uint8_t *row, size_t len, const char *ofp, Arena *a, CacheDeltaNode *out, Rd *refs);
/* Stub pos of a chunk. */
bool cache_delta_stub_at(const uint8_t *chunk, size_t len, uint32_t pos, Arena *a, CacheDeltaDep *d);
#endif
