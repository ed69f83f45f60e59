/* cache_parse.c - the parse cache: per-node keys over every input of a
 * node's parse-time render, restore of matching entries into the project
 * before dbt_parse(), and storing what was re-parsed afterwards (encoded on
 * the caller's thread, written to the database on a thread of its own).
 * See the contract in cache.h for what a key covers.  Opening the database
 * and the run results are cache.c; the byte format is cache_ser.c. */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include "cache_priv.h"
#include "../base/journal.h"
#include "../base/hash.h"
#include "../base/vec.h"

#define OUT_FORMAT 2

static bool renders(ResourceType rt)
{
    return rt == RT_MODEL || rt == RT_TEST || rt == RT_ANALYSIS || rt == RT_SNAPSHOT;
}

/* SHA-256 of the key material (src/base: the CPU's SHA instructions when it
 * has them; OpenSSL is not linked, as loading it would cost every process). */
static void key_hash(const void *data, size_t len, uint8_t out[32])
{
    sha256(data, len, out);
}

/* dbt records unique / not_null tests without rendering them: looking
 * them up would cost more than parsing them, so they are always parsed. */
static bool cheap_to_parse(const Node *n)
{
    return n->is_generic_test && n->test_name &&
           (strcmp(n->test_name, "unique") == 0 || strcmp(n->test_name, "not_null") == 0);
}

/* Inputs that change on every invocation (invocation_id, run_started_at,
 * modules: JOURNAL_VOLATILE): a render that may read them is never cached
 * (dbt-core #4364).  `flags` (flags.WHICH, flags.FULL_REFRESH, ...;
 * JOURNAL_FLAGS) differs between commands: a render that may read it is
 * keyed on the command too.  journal_text_scan looks for both at once. */

/* What a parse renders besides the code: test kwargs (scanned from the key
 * material) and the pre/post hooks of the config.  Other values in a node's
 * config, columns or description were rendered by the loader already.
 * Returns the journal_text_scan bits of the hooks. */
static int hooks_scan(const Node *n)
{
    static const char *const keys[] = {"pre-hook", "post-hook", "pre_hook", "post_hook"};
    int r = 0;
    for (size_t i = 0; n->config && i < sizeof keys / sizeof keys[0]; i++) {
        Value *h = dict_getz(n->config, keys[i]);
        if (!h)
            continue;
        Sb t = SB_INIT;
        ser_value(&t, *h, false);
        r |= journal_text_scan(t.buf, t.len);
        sb_free(&t);
    }
    return r;
}

static void ser_bool(Sb *b, bool v) { ser_u8(b, v ? 1 : 0); }

/* A dbt_project.yml without its vars: the renders that read a var are keyed
 * on its value (read sets, below). */
static void ser_project_yml(Sb *b, VDict *yml, bool *ok)
{
    if (!yml || !dict_getz(yml, "vars")) {
        ser_dict_ptr(b, yml, false, ok);
        return;
    }
    Arena a;
    arena_init(&a, 0);
    Value d = v_dict(&a);
    VDictEntry *e;
    for (size_t it = 0; dict_next(yml, &it, &e);) {
        const char *k = value_cstr(e->key);
        if (!k || strcmp(k, "vars") != 0)
            dict_set(&a, d.u.d, e->key, e->val);
    }
    ser_dict_ptr(b, d.u.d, false, ok);
    arena_free(&a);
}

/* The global key: the build, the project's settings and target, and which
 * macros exist (unique_id and file: what a name resolves to).  Neither the
 * macros' text nor the vars are in it: each entry lists the macros its
 * render ran, with a hash of their text, and the vars it read, with their
 * values (read sets, below). */
static bool global_key(Project *p, uint8_t g[32], bool *vol, bool *flags)
{
    Sb b = SB_INIT;
    bool ok = true;
    ser_str(&b, "cdbt-parse-global-v4");
    if (!ser_build(&b))
        ok = false;              /* cannot tell one build from another */
    ser_str(&b, p->root);
    ser_str(&b, p->name);
    ser_str(&b, p->version);
    ser_str(&b, p->profile_name);
    ser_str(&b, p->target_name);
    ser_project_yml(&b, p->project_yml, &ok);
    ser_dict_ptr(&b, p->target, false, &ok);
    ser_dict_ptr(&b, p->quoting, false, &ok);
    /* installed packages: their config trees (their macros are among
     * p->macros, their vars read through var()) */
    for (int i = 0; i < p->npackages; i++) {
        Package *pk = p->packages[i];
        ser_u8(&b, 'K');
        ser_str(&b, pk->name);
        ser_str(&b, pk->root);
        ser_project_yml(&b, pk->project_yml, &ok);
    }
    int sc = journal_text_scan(b.buf, b.len);
    *vol = sc & JOURNAL_VOLATILE;
    *flags = sc & JOURNAL_FLAGS;
    ser_u32(&b, (uint32_t)p->nmacros);
    for (int i = 0; i < p->nmacros; i++) {
        ser_str(&b, p->macros[i]->unique_id);
        ser_str(&b, p->macros[i]->original_file_path);
    }
    key_hash(b.buf ? b.buf : "", b.len, g);
    sb_free(&b);
    return ok;
}

/* ---------------------------------------------------------------- read sets
 *
 * A node's render depends on the macros it ran and on nothing else of the
 * macros but which exist (the global key): a macro it did not run cannot
 * change what it did.  Likewise it depends on the vars it asked var() for
 * and on no other.  Each entry names a set (parse_msets): per macro run,
 * its unique_id and a hash of its text, or of its skeleton (tpl_skeleton:
 * the text between the tags left out) when the render saw no text a macro
 * emitted (cache.h); per var read, its package, name and value (or that it
 * was not defined); and the command's flags when one of those macros or
 * values mentions `flags`.  A set holds while every hash is still the
 * macro's and every var still has that value. */

typedef struct MacroMemo {
    uint8_t h[2][32];            /* 0: skeleton ('S'), 1: whole text ('F') */
    uint8_t have;                /* bit k: h[k] computed; 4: scan computed */
    int scan;                    /* journal_text_scan of the text */
} MacroMemo;

/* c->msets' value of a set that holds (the others': why not, malloc'ed) */
static char MSET_HOLDS[] = "";

void cache_macros_free(Cache *c)
{
    free(c->mm);
    c->mm = NULL;
    c->mp = NULL;
    strmap_free(&c->muid);
    for (size_t i = 0; i < c->msets.len; i++)
        if (c->msets.entries[i].val != MSET_HOLDS)
            free(c->msets.entries[i].val);
    strmap_free(&c->msets);
}

static void macros_init(Cache *c, Project *p)
{
    cache_macros_free(c);
    c->mp = p;
    c->mm = xcalloc((size_t)p->nmacros + 1, sizeof *c->mm);
    strmap_init(&c->muid);
    strmap_init(&c->msets);
    for (int i = 0; i < p->nmacros; i++) {
        const char *uid = p->macros[i]->unique_id;
        if (!uid)
            continue;
        bool dup = strmap_has(&c->muid, uid, strlen(uid));
        strmap_putz(&c->muid, uid, (void *)(intptr_t)(dup ? 0 : i + 1));   /* two of that name: never holds */
    }
}

/* The index of the macro named uid, or -1. */
static int macro_index(Cache *c, const char *uid, size_t n)
{
    intptr_t v = uid ? (intptr_t)strmap_get(&c->muid, uid, n) : 0;
    return v > 0 ? (int)v - 1 : -1;
}

static const uint8_t *macro_hash(Cache *c, int i, char mode)
{
    MacroMemo *m = &c->mm[i];
    int k = mode == 'F' ? 1 : 0;
    if (!(m->have & (1 << k))) {
        const char *sql = c->mp->macros[i]->macro_sql;
        size_t n = sql ? strlen(sql) : 0;
        Sb b = SB_INIT;
        if (k == 0 && sql && tpl_skeleton(sql, n, &b)) {
            sb_putc(&b, 'S');
        } else {
            sb_reset(&b);
            sb_append(&b, sql ? sql : "", n);
            sb_putc(&b, sql ? 'F' : 'N');
        }
        key_hash(b.buf ? b.buf : "", b.len, m->h[k]);
        sb_free(&b);
        m->have |= (uint8_t)(1 << k);
    }
    return m->h[k];
}

static int macro_scan(Cache *c, int i)
{
    MacroMemo *m = &c->mm[i];
    if (!(m->have & 4)) {
        const char *sql = c->mp->macros[i]->macro_sql;
        m->scan = sql ? journal_text_scan(sql, strlen(sql)) : 0;
        m->have |= 4;
    }
    return m->scan;
}

static int cmp_macro_uid(const void *a, const void *b)
{
    return strcmp((*(const MacroDef *const *)a)->unique_id, (*(const MacroDef *const *)b)->unique_id);
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* var(name) of a node of package pkg as the set records it: 0 (not
 * defined) or 1 and the value's encoding; false when the value does not
 * encode. */
static bool ser_var_read(Sb *b, Project *p, const char *pkg, const char *name)
{
    Value *v = project_var(p, p->cli_vars, pkg, name, true);
    ser_u8(b, v ? 1 : 0);
    return !v || ser_value(b, *v, false);
}

/* The set of n's render into body; false when it cannot be stored (a macro
 * that mentions the clock, or one the cache cannot tell apart). */
static bool mset_body(Cache *c, const Node *n, const CacheParseEnv *env, Sb *body)
{
    sb_reset(body);
    int k = n->nparse_macros;
    const MacroDef **v = k ? xmalloc(sizeof *v * (size_t)k) : NULL;
    if (k) {
        memcpy(v, n->parse_macros, sizeof *v * (size_t)k);
        qsort(v, (size_t)k, sizeof *v, cmp_macro_uid);
    }
    char mode = n->parse_text_seen ? 'F' : 'S';
    int scan = 0;
    bool ok = true;
    ser_u32(body, (uint32_t)k);
    for (int j = 0; j < k && ok; j++) {
        const char *uid = v[j]->unique_id;
        int i = macro_index(c, uid, uid ? strlen(uid) : 0);
        if (i < 0 || c->mp->macros[i] != v[j]) {
            ok = false;
            break;
        }
        scan |= macro_scan(c, i);
        ser_str(body, uid);
        ser_u8(body, (uint8_t)mode);
        sb_append(body, (const char *)macro_hash(c, i, mode), 32);
    }
    free(v);
    /* the vars, by name */
    int nv = ok ? n->nparse_vars : 0;
    const char **names = nv ? xmalloc(sizeof *names * (size_t)nv) : NULL;
    if (nv) {
        memcpy(names, n->parse_vars, sizeof *names * (size_t)nv);
        qsort(names, (size_t)nv, sizeof *names, cmp_name);
    }
    ser_u32(body, (uint32_t)nv);
    for (int j = 0; j < nv && ok; j++) {
        ser_str(body, n->package_name);
        ser_str(body, names[j]);
        size_t at = body->len;
        ok = ser_var_read(body, c->mp, n->package_name, names[j]);
        scan |= journal_text_scan(body->buf + at, body->len - at);
    }
    free(names);
    if (scan & JOURNAL_VOLATILE)
        ok = false;
    if (ok && (scan & JOURNAL_FLAGS)) {
        ser_u8(body, 'W');
        ser_str(body, env->which);
        ser_bool(body, env->full_refresh);
        ser_bool(body, env->empty);
    }
    return ok;
}

static int64_t mset_id(const Sb *body)
{
    uint8_t h[32];
    key_hash(body->buf ? body->buf : "", body->len, h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (int64_t)v;
}

/* Does a stored set still hold?  If not, *why says what changed. */
static bool mset_holds(Cache *c, const uint8_t *body, size_t len, const CacheParseEnv *env, char **why)
{
    Rd r = {body, body + len, false};
    Arena tmp;
    arena_init(&tmp, 0);
    bool ok = true;
    uint32_t k = rd_u32(&r);
    for (uint32_t j = 0; j < k && ok && !r.bad; j++) {
        const char *uid = rd_str(&r, &tmp);
        uint8_t mode = rd_u8(&r);
        const uint8_t *h = r.p;
        if (r.bad || !uid || (mode != 'S' && mode != 'F') || r.end - r.p < 32) {
            ok = false;
            break;
        }
        r.p += 32;
        int i = macro_index(c, uid, strlen(uid));
        ok = i >= 0 && memcmp(macro_hash(c, i, (char)mode), h, 32) == 0;
        if (!ok)
            cache_set_warning(why, "%s %s", uid,
                              i < 0 ? "is gone" : mode == 'S' ? "changed inside its tags" : "changed (its output is read)");
    }
    uint32_t nv = ok ? rd_u32(&r) : 0;
    Sb now = SB_INIT;
    for (uint32_t j = 0; j < nv && ok && !r.bad; j++) {
        const char *pkg = rd_str(&r, &tmp), *name = rd_str(&r, &tmp);
        const uint8_t *v0 = r.p;
        if (r.bad || !name || r.p >= r.end) {
            ok = false;
            break;
        }
        if (*r.p++ == 1)
            rd_skip(&r, 0);
        sb_reset(&now);
        ok = !r.bad && ser_var_read(&now, c->mp, pkg, name) && now.len == (size_t)(r.p - v0) &&
             memcmp(now.buf, v0, now.len) == 0;
        if (!ok && !r.bad)
            cache_set_warning(why, "var %s changed", name);
    }
    sb_free(&now);
    if (ok && !r.bad && r.p < r.end) {
        ok = rd_u8(&r) == 'W';
        const char *which = ok ? rd_str(&r, &tmp) : NULL;
        bool fr = rd_u8(&r), em = rd_u8(&r);
        ok = ok && !r.bad && which && env->which && strcmp(which, env->which) == 0 && fr == env->full_refresh &&
             em == env->empty;
        if (!ok && !*why)
            cache_set_warning(why, "another command or --full-refresh (a macro or var it read mentions flags)");
    }
    arena_free(&tmp);
    ok = ok && !r.bad && r.p == r.end;
    if (!ok && !*why)
        cache_set_warning(why, "its record does not decode");
    return ok;
}

/* Read every stored set and tell which hold; the number that do. */
static int msets_load(Cache *c, const CacheParseEnv *env, int *total)
{
    sqlite3_stmt *q = NULL;
    int nvalid = 0;
    *total = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT id, body FROM parse_msets", -1, &q, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        const void *b = sqlite3_column_blob(q, 1);
        char *why = NULL;
        bool holds = mset_holds(c, b, (size_t)sqlite3_column_bytes(q, 1), env, &why);
        if (holds) {
            free(why);
            why = MSET_HOLDS;
        }
        strmap_put(&c->msets, (const char *)&id, sizeof id, why);      /* (ids are unique) */
        nvalid += holds;
        (*total)++;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? nvalid : -1;
}

/* key = SHA-256(tag, global key, SHA-256 of the node's own material) */
static void node_key(char tag, const uint8_t g[32], const uint8_t base[32], uint8_t out[32])
{
    uint8_t m[65];
    m[0] = (uint8_t)tag;
    memcpy(m + 1, g, 32);
    memcpy(m + 33, base, 32);
    key_hash(m, sizeof m, out);
}

/* The encodings of the loader's config dicts, by the storage they read:
 * models of one folder share their folded config until something changes
 * it (dict_cow), so most nodes' configs encode to bytes already made.  The
 * key material then holds the SHA-256 of those bytes (after a tag no
 * encoding starts with) instead of the bytes: half as much to hash per
 * node at 10k models. */
typedef struct DictMemo {
    StrMap m;                    /* dict_cow_source pointer -> MemoEnc */
    Arena *a;
} DictMemo;
typedef struct MemoEnc { const char *p; size_t n; bool ok; uint8_t digest[32]; } MemoEnc;
#define KEY_DIGEST 'H'           /* not a cache_ser.c tag */

/* d for the key material: its encoding appended to b, or for a dict read
 * through dict_cow, the digest of its encoding; that encoding's copy in the
 * memo (kept as long as the memo's arena) or NULL. */
static const MemoEnc *ser_dict_memo(Sb *b, VDict *d, bool *ok, DictMemo *memo)
{
    const void *src = d ? dict_cow_source(d) : NULL;
    if (!src) {
        ser_dict_ptr(b, d, false, ok);
        return NULL;
    }
    MemoEnc *me = strmap_get(&memo->m, (const char *)&src, sizeof src);
    if (!me) {
        size_t at = b->len;
        bool dok = true;
        ser_dict_ptr(b, d, false, &dok);
        me = ARENA_NEW(memo->a, MemoEnc);
        me->n = b->len - at;
        char *cp = arena_alloc(memo->a, me->n + 1);
        memcpy(cp, b->buf + at, me->n);
        me->p = cp;
        me->ok = dok;
        key_hash(cp, me->n, me->digest);
        strmap_put(&memo->m, (const char *)&src, sizeof src, me);
        sb_truncate(b, at);
    }
    ser_u8(b, KEY_DIGEST);
    sb_append(b, (const char *)me->digest, 32);
    if (!me->ok)
        *ok = false;
    return me;
}

static void node_inputs(const Node *n, Sb *b, bool *ok, size_t span[5], DictMemo *memo, const MemoEnc *mc[2])
{
    ser_u32(b, (uint32_t)n->rt);
    ser_str(b, n->unique_id);
    ser_str(b, n->name);
    ser_str(b, n->package_name);
    ser_str(b, n->path);
    ser_str(b, n->original_file_path);
    ser_str(b, n->patch_path);
    ser_u32(b, (uint32_t)n->nfqn);
    for (int i = 0; i < n->nfqn; i++)
        ser_str(b, n->fqn[i]);
    ser_str(b, n->root_path);
    ser_str(b, n->abs_path);
    ser_str(b, n->database);
    ser_str(b, n->schema);
    ser_str(b, n->alias);
    ser_str(b, n->relation_name);
    ser_str(b, n->identifier);
    span[0] = b->len;
    mc[0] = ser_dict_memo(b, n->config, ok, memo);
    span[1] = b->len;
    mc[1] = ser_dict_memo(b, n->unrendered_config, ok, memo);
    span[4] = b->len;
    ser_str(b, n->description);
    ser_dict_ptr(b, n->columns, false, ok);
    ser_dict_ptr(b, n->meta, false, ok);
    ser_list_ptr(b, n->tags, false, ok);
    ser_dict_ptr(b, n->docs, false, ok);
    ser_str(b, n->checksum_name);
    ser_str(b, n->checksum);
    ser_u64(b, (uint64_t)n->raw_len);
    /* the file checksum is SHA-256 of exactly raw_code for file nodes;
     * anything else (generated tests, snapshots' blocks) hashes the code */
    bool sha_of_code = n->checksum && strlen(n->checksum) == 64 && !n->is_generic_test &&
                       (n->rt == RT_MODEL || n->rt == RT_ANALYSIS || n->rt == RT_TEST);
    if (!sha_of_code)
        ser_strn(b, n->raw_code ? n->raw_code : "", n->raw_code ? n->raw_len : 0);
    ser_bool(b, n->is_generic_test);
    ser_str(b, n->test_name);
    ser_str(b, n->test_namespace);
    ser_str(b, n->column_name);
    ser_str(b, n->attached_node);
    ser_str(b, n->file_key_name);
    span[2] = b->len;
    ser_dict_ptr(b, n->test_kwargs, false, ok);
    span[3] = b->len;
    ser_str(b, n->source_name);
    ser_str(b, n->source_description);
    ser_str(b, n->loader);
    ser_str(b, n->loaded_at_field);
    ser_dict_ptr(b, n->freshness, false, ok);
    ser_dict_ptr(b, n->quoting, false, ok);
    ser_dict_ptr(b, n->external, false, ok);
    ser_dict_ptr(b, n->source_meta, false, ok);
    ser_str(b, n->yml_path);
    ser_str(b, n->version ? n->version->vtext : NULL);
    ser_str(b, n->version ? n->version->latest_text : NULL);
    ser_bool(b, n->disabled);
    ser_u32(b, (uint32_t)n->nrefs);
    ser_u32(b, (uint32_t)n->nsources);
    ser_u32(b, (uint32_t)n->ndep_macros);
    if (n->config_pkg) {
        /* a package node: its config() calls go over these (§1.4 layer 5) */
        ser_u8(b, 'P');
        ser_dict_ptr(b, n->config_pkg, false, ok);
        ser_dict_ptr(b, n->unrendered_pkg, false, ok);
    }
}

/* A config dict after the parse, as the changes from its copy taken before
 * (updated or added top-level keys, in order: restoring applies them with
 * dict_set onto the loader's fresh dict), when replaying them provably gives
 * the same bytes; else the whole dict. */
enum { CFG_FULL = 'F', CFG_DIFF = 'P' };

/* A loader's dict decoded from its encoding, with, per entry, the last
 * key and value of a parsed dict found to encode alike: nodes that share a
 * folded config share its values, so the next node holding the very same
 * object needs no comparison. */
typedef struct PreCfg {
    VDict *d;                    /* NULL: does not decode (opaque values) */
    Value *keys, *vals;          /* d->len each */
} PreCfg;

/* What encoding the outputs of many nodes shares: the loader's dicts
 * decoded once per distinct encoding (nodes share them, see blob_once), and
 * a scratch buffer. */
typedef struct OutCtx {
    Arena a;
    StrMap pre;                  /* address of a pre encoding -> PreCfg */
    Sb d;
} OutCtx;

#define SAME_MAX_DEPTH 200       /* as the encoder's: deeper values do not encode */

/* Do a and b have the same strict encoding (ser_value)?  Compared without
 * writing it: the same types, string flags and bytes, items and keys in
 * order, numbers bit for bit; false for what strict encoding refuses. */
static bool same_encoding(Value a, Value b, int depth)
{
    if (a.type != b.type || depth > SAME_MAX_DEPTH)
        return false;
    switch ((VType)a.type) {
    case V_UNDEF:
    case V_NONE:
        return true;
    case V_BOOL:
        return a.u.b == b.u.b;
    case V_INT:
        return a.u.i == b.u.i;
    case V_FLOAT:
        return memcmp(&a.u.f, &b.u.f, sizeof a.u.f) == 0;
    case V_STR:
        return a.flags == b.flags && a.u.s->len == b.u.s->len && memcmp(a.u.s->s, b.u.s->s, a.u.s->len) == 0;
    case V_LIST:
    case V_TUPLE:
        if (a.u.l->len != b.u.l->len)
            return false;
        for (size_t i = 0; i < a.u.l->len; i++)
            if (!same_encoding(a.u.l->items[i], b.u.l->items[i], depth + 1))
                return false;
        return true;
    case V_DICT: {
        if (a.u.d->len != b.u.d->len)
            return false;
        size_t ia = 0, ib = 0;
        VDictEntry *ea, *eb;
        while (dict_next(a.u.d, &ia, &ea)) {
            if (!dict_next(b.u.d, &ib, &eb) || !same_encoding(ea->key, eb->key, depth + 1) ||
                !same_encoding(ea->val, eb->val, depth + 1))
                return false;
        }
        return true;
    }
    default:
        return false;
    }
}

/* same_encoding(pre, v), remembering in *seen the object found alike: a
 * string, list or dict is not changed while the outputs are encoded, so
 * the same one again is alike too. */
static bool same_as_pre(Value pre, Value v, Value *seen)
{
    bool obj = v.type == V_STR || v.type == V_LIST || v.type == V_TUPLE || v.type == V_DICT;
    if (obj && seen->type == v.type && seen->flags == v.flags && seen->u.d == v.u.d)
        return true;
    if (!same_encoding(pre, v, 0))
        return false;
    if (obj)
        *seen = v;
    return true;
}

/* The loader's dict of a pre encoding (decoded once); its d is NULL when it
 * does not decode into one with as many entries. */
static PreCfg *pre_cfg(OutCtx *x, const uint8_t *pre, size_t prelen)
{
    PreCfg *pc = strmap_get(&x->pre, (const char *)&pre, sizeof pre);
    if (!pc) {
        pc = ARENA_NEW(&x->a, PreCfg);
        Rd r = {pre, pre + prelen, false};
        rd_u8(&r);
        uint32_t cnt = rd_u32(&r);
        r.p = pre;
        Value v;
        if (rd_value(&r, &x->a, &v, 0) && r.p == r.end && v.type == V_DICT && v.u.d && v.u.d->len == cnt) {
            pc->d = v.u.d;
            pc->keys = arena_zalloc(&x->a, sizeof *pc->keys * (cnt ? cnt : 1));
            pc->vals = arena_zalloc(&x->a, sizeof *pc->vals * (cnt ? cnt : 1));
        }
        strmap_put(&x->pre, (const char *)&pre, sizeof pre, pc);
    }
    return pc;
}

/* The changes, compared value by value with the decoded pre dict: only
 * what changed is encoded.  False when they cannot be told (b unchanged). */
static bool ser_config_diff(OutCtx *x, Sb *b, VDict *post, PreCfg *pc)
{
    if (pc->d->len > post->len)
        return false;
    Sb *d = &x->d;
    sb_reset(d);
    uint32_t nd = 0;
    size_t ip = 0, iq = 0, i = 0;
    VDictEntry *e, *pe;
    while (dict_next(post, &ip, &e)) {
        /* the first keys must be the loader's, in its order */
        if (dict_next(pc->d, &iq, &pe)) {
            if (!same_as_pre(pe->key, e->key, &pc->keys[i]))
                return false;
            if (same_as_pre(pe->val, e->val, &pc->vals[i++]))
                continue;            /* unchanged by the parse */
        }
        if (!ser_value(d, e->key, true) || !ser_value(d, e->val, true))
            return false;
        nd++;
    }
    ser_u8(b, CFG_DIFF);
    ser_u32(b, nd);
    sb_append(b, d->buf ? d->buf : "", d->len);
    return true;
}

/* The same from the pre encoding itself (one that holds opaque values). */
static bool ser_config_bytes(OutCtx *x, Sb *b, VDict *post, const uint8_t *pre, size_t prelen)
{
    /* pre holds the same encoding as ser_value (not strict: opaque values
     * there never equal a strict encoding, so they count as changed) */
    Rd r = {pre, pre + prelen, false};
    rd_u8(&r);
    uint32_t cnt = rd_u32(&r);
    if (cnt > post->len)
        return false;
    Sb *d = &x->d;
    sb_reset(d);
    uint32_t nd = 0, i = 0;
    VDictEntry *e;
    for (size_t it = 0; dict_next(post, &it, &e); i++) {
        size_t k = d->len;
        if (!ser_value(d, e->key, true))
            return false;
        size_t v = d->len;
        if (!ser_value(d, e->val, true))
            return false;
        if (i < cnt) {
            /* the first cnt keys must be the loader's, in its order */
            const uint8_t *k0 = r.p;
            rd_skip(&r, 0);
            const uint8_t *v0 = r.p;
            rd_skip(&r, 0);
            if (r.bad || (size_t)(v0 - k0) != v - k || memcmp(k0, d->buf + k, v - k) != 0)
                return false;
            if ((size_t)(r.p - v0) == d->len - v && memcmp(v0, d->buf + v, d->len - v) == 0) {
                sb_truncate(d, k);   /* unchanged by the parse */
                continue;
            }
        }
        nd++;
    }
    if (r.bad)
        return false;
    ser_u8(b, CFG_DIFF);
    ser_u32(b, nd);
    sb_append(b, d->buf ? d->buf : "", d->len);
    return true;
}

static void ser_config(OutCtx *x, Sb *b, VDict *post, const uint8_t *pre, size_t prelen, bool *ok)
{
    if (post && pre && prelen > 5 && pre[0] == 'D') {
        PreCfg *pc = pre_cfg(x, pre, prelen);
        if (pc->d ? ser_config_diff(x, b, post, pc) : ser_config_bytes(x, b, post, pre, prelen))
            return;
    }
    ser_u8(b, CFG_FULL);
    ser_dict_ptr(b, post, true, ok);
}

/* tags/meta: NULL, the very object held by config[key], or a value */
static void ser_alias(Sb *b, Value v, VDict *config, const char *key, bool *ok)
{
    Value *in = config ? dict_getz(config, key) : NULL;
    if (!v.u.l)
        ser_u8(b, 0);
    else if (in && in->type == v.type && in->u.l == v.u.l)
        ser_u8(b, 1);
    else {
        ser_u8(b, 2);
        if (!ser_value(b, v, true))
            *ok = false;
    }
}

/* The outputs of the parse pass for n (false when not storable). */
static bool node_outputs(OutCtx *x, const CacheEnt *e, Sb *b)
{
    const Node *n = e->n;
    bool ok = true;
    ser_u32(b, OUT_FORMAT);
    ser_config(x, b, n->config, e->pre_cfg, e->pre_cfg_len, &ok);
    ser_config(x, b, n->unrendered_config, e->pre_unr, e->pre_unr_len, &ok);
    ser_alias(b, (Value){.type = V_LIST, .u.l = n->tags}, n->config, "tags", &ok);
    ser_alias(b, (Value){.type = V_DICT, .u.d = n->meta}, n->config, "meta", &ok);
    ser_u32(b, (uint32_t)n->nrefs);
    for (int i = 0; i < n->nrefs; i++) {
        ser_str(b, n->refs[i].name);
        ser_str(b, n->refs[i].package);
        ser_str(b, n->refs[i].version);
    }
    ser_u32(b, (uint32_t)n->nsources);
    for (int i = 0; i < n->nsources; i++) {
        ser_str(b, n->sources[i].source);
        ser_str(b, n->sources[i].table);
    }
    ser_u32(b, (uint32_t)n->ndep_macros);
    for (int i = 0; i < n->ndep_macros; i++)
        ser_str(b, n->dep_macros[i]);
    return ok;
}

static bool rd_dict_ptr(Rd *r, Arena *a, VDict **out)
{
    Value v;
    if (!rd_value(r, a, &v, 0) || v.type != V_DICT)
        return false;
    *out = v.u.d;
    return true;
}

typedef struct CfgOut {
    bool diff;
    VDict *full;
    VList *changes;
    const uint8_t *raw;          /* the encoded changes, for the memo */
    size_t rawlen;
} CfgOut;

static bool rd_config(Rd *r, Arena *a, CfgOut *o, VDict *have)
{
    const uint8_t *at = r->p;
    uint8_t kind = rd_u8(r);
    o->diff = kind == CFG_DIFF;
    o->full = NULL;
    o->changes = NULL;
    o->raw = NULL;
    o->rawlen = 0;
    if (kind == CFG_FULL)
        return rd_dict_ptr(r, a, &o->full);
    if (kind != CFG_DIFF || !have)
        return false;
    uint32_t cnt = rd_u32(r);
    if ((size_t)(r->end - r->p) < cnt)
        return false;
    o->changes = v_list(a, (size_t)cnt * 2).u.l;
    for (uint32_t i = 0; i < 2 * cnt; i++) {
        Value v;
        if (!rd_value(r, a, &v, 0))
            return false;
        list_append(a, o->changes, v);
    }
    o->raw = at;
    o->rawlen = (size_t)(r->p - at);
    return true;
}

/* Nodes share their folded configs copy on write, and many nodes' parses
 * change them alike: the same changes to a view of the same unchanged dict
 * give one merged dict (memo), and each node a view of it, as
 * config_merge_call_in does for a parse (a dict of its own per node cost
 * ~1 KB each and the time to copy it). */
static VDict *apply_config(Arena *a, VDict *have, const CfgOut *o, StrMap *memo)
{
    if (!o->diff)
        return o->full;
    const void *base = dict_cow_source(have);
    Sb key = SB_INIT;
    VDict *merged = NULL;
    if (memo && base) {
        sb_printf(&key, "%p/%zu/", base, have->n);
        sb_append(&key, (const char *)o->raw, o->rawlen);
        merged = strmap_get(memo, key.buf, key.len);
        if (merged) {
            sb_free(&key);
            return dict_cow(a, merged);
        }
    }
    VDict *d = memo && base ? dict_cow(a, have) : have;
    for (size_t i = 0; i + 1 < o->changes->len; i += 2)
        dict_set(a, d, o->changes->items[i], o->changes->items[i + 1]);
    if (memo && base) {
        strmap_put(memo, key.buf, key.len, d);
        d = dict_cow(a, d);
    }
    sb_free(&key);
    return d;
}

typedef struct AliasOut { uint8_t kind; Value v; } AliasOut;

static bool rd_alias(Rd *r, Arena *a, AliasOut *o)
{
    o->kind = rd_u8(r);
    o->v = v_none();
    if (o->kind == 2)
        return rd_value(r, a, &o->v, 0);
    return o->kind <= 1 && !r->bad;
}

static void *alias_ptr(const AliasOut *o, VDict *config, const char *key, VType t)
{
    if (o->kind == 0)
        return NULL;
    Value *in = o->kind == 1 && config ? dict_getz(config, key) : NULL;
    const Value *v = o->kind == 1 ? in : &o->v;
    if (!v || v->type != t)
        return NULL;
    return t == V_LIST ? (void *)v->u.l : (void *)v->u.d;
}

/* Decode into temporaries first; touch n only when the whole blob is sound. */
static bool restore(Node *n, Arena *a, const void *blob, size_t len, StrMap *memo)
{
    Rd r = {blob, (const uint8_t *)blob + len, false};
    if (rd_u32(&r) != OUT_FORMAT)
        return false;
    CfgOut cfg, unr;
    AliasOut tags, meta;
    if (!rd_config(&r, a, &cfg, n->config) || !rd_config(&r, a, &unr, n->unrendered_config) ||
        !rd_alias(&r, a, &tags) || !rd_alias(&r, a, &meta))
        return false;
    uint32_t nr = rd_u32(&r);
    if ((size_t)(r.end - r.p) < nr)
        return false;
    NodeRef *refs = nr ? ARENA_ARRAY(a, NodeRef, nr) : NULL;
    for (uint32_t i = 0; i < nr; i++) {
        refs[i].name = rd_str(&r, a);
        refs[i].package = rd_str(&r, a);
        refs[i].version = rd_str(&r, a);
    }
    uint32_t ns = rd_u32(&r);
    if ((size_t)(r.end - r.p) < ns)
        return false;
    NodeSrcRef *srcs = ns ? ARENA_ARRAY(a, NodeSrcRef, ns) : NULL;
    for (uint32_t i = 0; i < ns; i++) {
        srcs[i].source = rd_str(&r, a);
        srcs[i].table = rd_str(&r, a);
    }
    uint32_t nm = rd_u32(&r);
    if ((size_t)(r.end - r.p) < nm)
        return false;
    const char **macros = nm ? ARENA_ARRAY(a, const char *, nm) : NULL;
    for (uint32_t i = 0; i < nm; i++)
        macros[i] = rd_str(&r, a);
    if (r.bad || r.p != r.end)
        return false;
    n->config = apply_config(a, n->config, &cfg, memo);
    n->unrendered_config = apply_config(a, n->unrendered_config, &unr, memo);
    VList *tl = alias_ptr(&tags, n->config, "tags", V_LIST);
    VDict *md = alias_ptr(&meta, n->config, "meta", V_DICT);
    if ((tags.kind && !tl) || (meta.kind && !md))
        return false;         /* cannot happen for a blob this code wrote */
    n->tags = tl;
    n->meta = md;
    n->refs = refs;
    n->nrefs = (int)nr;
    n->sources = srcs;
    n->nsources = (int)ns;
    n->dep_macros = macros;
    n->ndep_macros = (int)nm;
    return true;
}

/* Do the env vars a stored render read still have the same values? */
static bool envs_match(const void *blob, size_t len)
{
    Rd r = {blob, (const uint8_t *)blob + len, false};
    Arena tmp;
    arena_init(&tmp, 0);
    bool ok = true;
    uint32_t cnt = rd_u32(&r);
    for (uint32_t i = 0; i < cnt && ok && !r.bad; i++) {
        const char *name = rd_str(&r, &tmp);
        uint8_t set = rd_u8(&r);
        const char *val = rd_str(&r, &tmp);
        if (r.bad || !name)
            break;
        const char *now = getenv(name);
        journal_env(name);       /* the render is skipped: the project snapshot must still know */
        ok = set ? (now && val && strcmp(now, val) == 0) : !now;
    }
    arena_free(&tmp);
    return ok && !r.bad;
}

void cache_env_read(Cache *c, const Node *n, const char *name, const char *value)
{
    if (!c || !n || !n->unique_id || !name)
        return;
    CacheEnt *e = strmap_getz(&c->ents, n->unique_id);
    if (!e || e->n != n)
        return;
    ser_str(&e->envs, name);
    ser_u8(&e->envs, value ? 1 : 0);
    ser_str(&e->envs, value);
    e->nenvs++;
}

bool cache_parse_skip(Cache *c, const Node *n)
{
    if (!c || !n->unique_id)
        return false;
    CacheEnt *e = strmap_getz(&c->ents, n->unique_id);
    return e && e->n == n && e->hit;
}

bool cache_parse_idle(const Cache *c) { return c && c->idle; }

/* The global key the last store wrote its entries under (meta
 * "parse_keys", 32 bytes); false when not known. */
static bool stored_gkey(Cache *c, uint8_t out[32])
{
    sqlite3_stmt *q = NULL;
    bool ok = sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE name = 'parse_keys'", -1, &q, NULL) == SQLITE_OK &&
              sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_BLOB &&
              sqlite3_column_bytes(q, 0) == 32;
    if (ok)
        memcpy(out, sqlite3_column_blob(q, 0), 32);
    sqlite3_finalize(q);
    return ok;
}

void cache_parse_release(Cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nent; i++)
        sb_free(&c->entv[i]->envs);
    free(c->entv);
    c->entv = NULL;
    c->nent = 0;
    strmap_free(&c->ents);
    strmap_init(&c->ents);
    arena_free(&c->arena);
    arena_init(&c->arena, 0);
    arena_free(&c->arena2);
    arena_init(&c->arena2, 0);
    cache_macros_free(c);
}

typedef struct WhyCount { const char *why; int n; } WhyCount;

static int cmp_why(const void *a, const void *b)
{
    const WhyCount *x = a, *y = b;
    return x->n != y->n ? (x->n < y->n ? 1 : -1) : strcmp(x->why, y->why);
}

size_t cache_parse_why(const Cache *c, char *buf, size_t cap)
{
    if (cap)
        buf[0] = '\0';
    if (!c || !cap)
        return 0;
    if (c->idle) {
        snprintf(buf, cap, "%s", c->stale_why ? c->stale_why : "");
        return strlen(buf);
    }
    WhyCount v[16];
    int nv = 0, other = 0;
    for (int i = 0; i < c->nent; i++) {
        const CacheEnt *e = c->entv[i];
        if (e->hit)
            continue;
        const char *why = !e->cacheable ? "not cacheable (it may read the clock, or its values cannot be stored)"
                          : e->why       ? e->why
                          : c->stale_why ? c->stale_why
                                         : "not stored yet";
        int k = 0;
        while (k < nv && strcmp(v[k].why, why) != 0)
            k++;
        if (k == nv && nv == (int)(sizeof v / sizeof v[0])) {
            other++;
            continue;
        }
        if (k == nv)
            v[nv++] = (WhyCount){why, 0};
        v[k].n++;
    }
    qsort(v, (size_t)nv, sizeof *v, cmp_why);
    size_t len = 0;
    for (int k = 0; k < nv && k < 4 && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%d: %s", k ? "; " : "", v[k].n, v[k].why);
    for (int k = 4; k < nv; k++)
        other += v[k].n;
    if (other && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "; %d: other reasons", other);
    return len < cap ? len : cap - 1;
}

void cache_parse_stats(const Cache *c, int *restored, int *parsed, int *uncacheable)
{
    *restored = c ? c->restored : 0;
    *parsed = c ? c->parsed : 0;
    *uncacheable = c ? c->uncacheable : 0;
}

/* The keys of entries [lo, hi): one thread's share of cache_parse_begin. */
typedef struct KeyJob {
    CacheEnt **ents;
    int lo, hi;
    const uint8_t *g;
    bool gok, gvol, gflags;
    const CacheParseEnv *env;
    Arena *keep;                 /* where the pre-parse config encodings go */
} KeyJob;

static const uint8_t *blob_keep(Arena *a, StrMap *seen, const char *p, size_t n)
{
    uint8_t *cp = strmap_get(seen, p, n);
    if (!cp) {
        cp = arena_alloc(a, n + 1);
        memcpy(cp, p, n);
        strmap_put(seen, p, n, cp);
    }
    return cp;
}

static void *key_job(void *arg)
{
    KeyJob *j = arg;
    Sb b = SB_INIT;
    sb_reserve(&b, 1 << 16);
    StrMap seen;                 /* one copy of each distinct encoding */
    strmap_init(&seen);
    DictMemo memo = {.a = j->keep};
    strmap_init(&memo.m);
    for (int i = j->lo; i < j->hi; i++) {
        CacheEnt *e = j->ents[i];
        const Node *n = e->n;
        if (!n)
            continue;
        bool ok = j->gok && !j->gvol;
        sb_reset(&b);
        size_t span[5];
        const MemoEnc *mc[2];
        node_inputs(n, &b, &ok, span, &memo, mc);
        if (ok) {
            size_t l1 = span[1] - span[0], l2 = span[4] - span[1];
            /* a memo's encoding, or the one in the key material */
            e->pre_cfg = mc[0] ? (const uint8_t *)mc[0]->p : blob_keep(j->keep, &seen, b.buf + span[0], l1);
            e->pre_cfg_len = mc[0] ? mc[0]->n : l1;
            e->pre_unr = mc[1] ? (const uint8_t *)mc[1]->p : blob_keep(j->keep, &seen, b.buf + span[1], l2);
            e->pre_unr_len = mc[1] ? mc[1]->n : l2;
        }
        size_t rl = n->raw_code ? n->raw_len : 0;
        int hs = hooks_scan(n) | journal_text_scan(b.buf + span[2], span[3] - span[2]) |
                 journal_text_scan(n->raw_code, rl);
        if (hs & JOURNAL_VOLATILE)
            ok = false;
        if (j->gflags || (hs & JOURNAL_FLAGS)) {
            ser_str(&b, "flags");
            ser_str(&b, j->env->which);
            ser_bool(&b, j->env->full_refresh);
            ser_bool(&b, j->env->empty);
        }
        e->cacheable = ok && !e->ambiguous;
        uint8_t base[32];
        key_hash(b.buf, b.len, base);
        node_key('K', j->g, base, e->key);
    }
    sb_free(&b);
    strmap_free(&seen);
    strmap_free(&memo.m);
    return NULL;
}

int cache_parse_begin(Cache *c, Project *p, const CacheParseEnv *env, char **warning)
{
    if (!c || c->broken || !c->db)
        return -1;
    c->gone = -1;
    c->idle = false;
    c->env = *env;
    uint8_t g[32];
    bool gvol = false, gflags = false;
    bool gok = global_key(p, g, &gvol, &gflags);
    memcpy(c->gkey, g, 32);
    macros_init(c, p);
    /* Every entry was stored under the global key of the store that wrote
     * it, and each store writes the key it used (store_rows).  When this
     * parse's differs from the last store's, or when no stored macro set
     * holds any more (a macro every entry ran was edited inside its tags),
     * no entry can match: the lookup is skipped, and with env->lazy the
     * entries too. */
    uint8_t last[32];
    int nsets = 0;
    int nvalid = msets_load(c, env, &nsets);
    bool gstale = stored_gkey(c, last) && memcmp(last, g, 32) != 0;
    bool stale = gstale || (nvalid == 0 && nsets > 0);
    c->stale_why = NULL;
    if (gstale) {
        c->stale_why = "dbt_project.yml, the target, the packages or which macros exist changed";
    } else if (stale) {
        for (size_t i = 0; i < c->msets.len && !c->stale_why; i++)
            if (c->msets.entries[i].val != MSET_HOLDS)
                c->stale_why = c->msets.entries[i].val;
    }
    if (stale && env->lazy) {
        c->idle = true;
        c->nent = c->restored = c->uncacheable = 0;
        c->parsed = 0;
        for (int i = 0; i < p->nnodes; i++)
            c->parsed += renders(p->nodes[i]->rt) && p->nodes[i]->unique_id && !cheap_to_parse(p->nodes[i]);
        return 0;
    }
    free(c->entv);
    c->entv = calloc((size_t)p->nnodes + 1, sizeof *c->entv);
    if (!c->entv)
        return -1;
    c->nent = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (!renders(n->rt) || !n->unique_id || cheap_to_parse(n))
            continue;
        CacheEnt *e = ARENA_NEW(&c->arena, CacheEnt);
        e->n = n;
        CacheEnt *dup = strmap_putz(&c->ents, n->unique_id, e);
        if (dup) {
            dup->ambiguous = true;
            e->n = NULL;        /* ambiguous unique_id: neither is cached */
        }
        c->entv[c->nent++] = e;
    }
    /* Serializing every node's inputs and hashing them is most of a lookup:
     * with many nodes, a second thread takes the second half (the nodes are
     * only read). */
    KeyJob jobs[2] = {{c->entv, 0, c->nent, g, gok, gvol, gflags, env, &c->arena},
                      {c->entv, c->nent, c->nent, g, gok, gvol, gflags, env, &c->arena2}};
    pthread_t th;
    bool two = c->nent >= 1024 && sysconf(_SC_NPROCESSORS_ONLN) > 1;
    if (two) {
        jobs[0].hi = jobs[1].lo = c->nent / 2;
        if (pthread_create(&th, NULL, key_job, &jobs[1]) != 0) {
            two = false;
            jobs[0].hi = c->nent;
        }
    }
    key_job(&jobs[0]);
    if (two)
        pthread_join(th, NULL);

    StrMap merges;               /* restored configs: (base, changes) -> merged (apply_config) */
    strmap_init(&merges);
    sqlite3_stmt *st = NULL;
    int rc = stale ? SQLITE_DONE : sqlite3_prepare_v2(c->db, "SELECT uid, key, mset, envs, out FROM parse_nodes", -1, &st, NULL);
    int gone = stale ? -1 : 0;
    while (!stale && rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        const char *uid = (const char *)sqlite3_column_text(st, 0);
        CacheEnt *e = uid ? strmap_getz(&c->ents, uid) : NULL;
        if (!e)
            gone++;
        if (!e || !e->n || !e->cacheable)
            continue;
        const void *key = sqlite3_column_blob(st, 1);
        if (sqlite3_column_bytes(st, 1) != 32 || !key || memcmp(key, e->key, 32) != 0) {
            e->why = "its file, properties or config changed";
            continue;
        }
        int64_t ms = sqlite3_column_int64(st, 2);
        const char *mwhy = strmap_get(&c->msets, (const char *)&ms, sizeof ms);
        if (mwhy != MSET_HOLDS) {
            /* a macro it ran or a var it read changed */
            e->why = mwhy ? mwhy : "its record is gone";
            continue;
        }
        const void *envs = sqlite3_column_blob(st, 3);
        if (!envs_match(envs, (size_t)sqlite3_column_bytes(st, 3))) {
            e->why = "an env var it read changed";
            continue;
        }
        const void *out = sqlite3_column_blob(st, 4);
        if (out && restore((Node *)e->n, &p->arena, out, (size_t)sqlite3_column_bytes(st, 4), &merges))
            e->hit = true;
    }
    c->gone = rc == SQLITE_DONE ? gone : -1;
    if (rc != SQLITE_DONE)
        cache_warn_db(c, warning, "reading the parse cache");
    strmap_free(&merges);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        c->broken = true;
        /* nodes already restored hold exactly what a parse gives: keep them */
    }
    c->restored = c->parsed = c->uncacheable = 0;
    for (int i = 0; i < c->nent; i++) {
        CacheEnt *e = c->entv[i];
        if (e->hit)
            c->restored++;
        else
            c->parsed++;
        if (!e->cacheable)
            c->uncacheable++;
    }
    return c->restored;
}

/* ---------------------------------------------------------------- store */

/* A row of the parse store: at off in the store's buffer, the unique_id
 * (uid bytes), the key (32), the env reads (envs) and the outputs (out). */
typedef struct StoreRow { size_t off; uint32_t uid, envs, out; int64_t mset; } StoreRow;
/* A macro set no stored entry named before: at off in the store's buffer. */
typedef struct StoreSet { size_t off; uint32_t len; int64_t id; } StoreSet;

/* What cache_parse_end read from the nodes, written to parse_nodes by a
 * thread of its own while the caller goes on. */
struct CacheStore {
    Cache *c;
    pthread_t th;
    sem_t locked;                /* posted once the thread holds c->mu */
    bool sem_ok;
    Sb buf;
    VEC(StoreRow) rows;
    VEC(StoreSet) sets;          /* new macro sets (parse_msets) */
    StrMap live;                 /* unique_ids of the renderable nodes: other rows are dropped */
    double now;
    uint8_t gkey[32];            /* the parse's global key (meta parse_keys) */
    int rc;                      /* 0, or -1 with warning */
    char *warning;
};

static void store_drop_rows(CacheStore *s)
{
    sb_free(&s->buf);
    vec_free(&s->rows);
    vec_free(&s->sets);
    strmap_free(&s->live);
    strmap_init(&s->live);
}

static void store_free(CacheStore *s)
{
    store_drop_rows(s);
    if (s->sem_ok)
        sem_destroy(&s->locked);
    free(s->warning);
    free(s);
}

/* The rows, then the removal of entries of nodes that are gone (deleted or
 * renamed files), in one transaction.  c->mu is held. */
static int store_rows(CacheStore *s)
{
    Cache *c = s->c;
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        cache_warn_db(c, &s->warning, "cannot update the parse cache");
        return -1;
    }
    sqlite3_stmt *ins = NULL, *sel = NULL, *del = NULL;
    /* an upsert rewrites a node's row in place: INSERT OR REPLACE deleted
     * it and inserted it again under a new rowid, index entry included
     * (30% more instructions for 10k rows) */
    rc = sqlite3_prepare_v2(c->db, "INSERT INTO parse_nodes(uid, key, mset, envs, out, parsed_at) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                   "ON CONFLICT(uid) DO UPDATE SET key = excluded.key, mset = excluded.mset, "
                                   "envs = excluded.envs, out = excluded.out, parsed_at = excluded.parsed_at",
                            -1, &ins, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < s->rows.len; i++) {
        const StoreRow *r = &s->rows.items[i];
        const char *at = s->buf.buf + r->off;
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, at, (int)r->uid, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 2, at + r->uid, 32, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, r->mset);
        sqlite3_bind_blob(ins, 4, at + r->uid + 32, (int)r->envs, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 5, at + r->uid + 32 + r->envs, (int)r->out, SQLITE_STATIC);
        sqlite3_bind_double(ins, 6, s->now);
        rc = sqlite3_step(ins) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc == SQLITE_OK && s->sets.len) {
        sqlite3_stmt *ms = NULL;
        rc = sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO parse_msets(id, body) VALUES (?1, ?2)", -1, &ms, NULL);
        for (size_t i = 0; rc == SQLITE_OK && i < s->sets.len; i++) {
            const StoreSet *t = &s->sets.items[i];
            sqlite3_reset(ms);
            sqlite3_bind_int64(ms, 1, t->id);
            sqlite3_bind_blob(ms, 2, s->buf.buf + t->off, (int)t->len, SQLITE_STATIC);
            rc = sqlite3_step(ms) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(ms);
    }
    if (rc == SQLITE_OK) {
        /* the global keys these entries are under (cache_parse_begin) */
        sqlite3_stmt *m = NULL;
        rc = sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO meta(name, value) VALUES ('parse_keys', ?1)", -1, &m,
                                NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_blob(m, 1, s->gkey, sizeof s->gkey, SQLITE_STATIC);
            rc = sqlite3_step(m) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(m);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "SELECT uid FROM parse_nodes", -1, &sel, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "DELETE FROM parse_nodes WHERE uid = ?1", -1, &del, NULL);
    if (rc == SQLITE_OK) {
        VEC(char *) gone = {0};
        while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
            const char *uid = (const char *)sqlite3_column_text(sel, 0);
            if (uid && !strmap_has(&s->live, uid, (size_t)sqlite3_column_bytes(sel, 0)))
                vec_push(&gone, strdup(uid));
        }
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        for (size_t i = 0; i < gone.len; i++) {
            if (rc == SQLITE_OK && gone.items[i]) {
                sqlite3_reset(del);
                sqlite3_bind_text(del, 1, gone.items[i], -1, SQLITE_STATIC);
                rc = sqlite3_step(del) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            }
            free(gone.items[i]);
        }
        vec_free(&gone);
    }
    /* the sets no entry names any more (a set per edit of a macro would
     * otherwise pile up) */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "DELETE FROM parse_msets WHERE id NOT IN (SELECT mset FROM parse_nodes)", NULL, NULL,
                          NULL);
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_finalize(del);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        cache_warn_db(c, &s->warning, "cannot update the parse cache");
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* The store's thread: it takes c->mu before the caller of cache_parse_end
 * goes on and keeps it until the transaction is over, so whatever uses the
 * database next waits for it. */
static void *store_main(void *arg)
{
    CacheStore *s = arg;
    pthread_mutex_lock(&s->c->mu);
    sem_post(&s->locked);
    s->rc = store_rows(s);
    pthread_mutex_unlock(&s->c->mu);
    store_drop_rows(s);          /* not held until the join */
    return NULL;
}

int cache_parse_end(Cache *c, Project *p, char **warning)
{
    if (!c || c->broken || !c->db)
        return -1;
    cache_parse_wait(c, warning);
    (void)p;
    if (c->idle)
        return 0;                /* (cache_parse_begin left the entries alone) */
    /* Everything the rows need is read from the nodes now: they are the
     * caller's again once this returns. */
    CacheStore *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->now = (double)time(NULL);
    memcpy(s->gkey, c->gkey, sizeof s->gkey);
    Sb *b = &s->buf;
    Sb body = SB_INIT;
    StrMap ids;                  /* set body -> its id (in ida) */
    strmap_init(&ids);
    Arena ida;
    arena_init(&ida, 0);
    sb_reserve(b, (size_t)c->parsed * 384);      /* a row is a few hundred bytes */
    OutCtx x = {.d = SB_INIT};
    arena_init(&x.a, 0);
    strmap_init(&x.pre);
    for (int i = 0; i < c->nent; i++) {
        CacheEnt *e = c->entv[i];
        if (e->hit || !e->cacheable || !e->n)
            continue;
        /* the macros it ran: a render that saw no macro's text holds for
         * any text (cache.h) */
        if (!mset_body(c, e->n, &c->env, &body))
            continue;
        int64_t *idp = strmap_get(&ids, body.buf, body.len);
        if (!idp) {
            idp = ARENA_NEW(&ida, int64_t);
            *idp = mset_id(&body);
            strmap_put(&ids, body.buf, body.len, idp);
            if (!strmap_has(&c->msets, (const char *)idp, sizeof *idp)) {
                StoreSet t = {b->len, (uint32_t)body.len, *idp};
                sb_append(b, body.buf, body.len);
                vec_push(&s->sets, t);
            }
        }
        StoreRow r = {.off = b->len, .uid = (uint32_t)strlen(e->n->unique_id), .mset = *idp};
        sb_append(b, e->n->unique_id, r.uid);
        sb_append(b, (const char *)e->key, 32);
        ser_u32(b, (uint32_t)e->nenvs);
        sb_append(b, e->envs.buf ? e->envs.buf : "", e->envs.len);
        r.envs = (uint32_t)(b->len - r.off - r.uid - 32);
        if (!node_outputs(&x, e, b)) {
            sb_truncate(b, r.off);
            continue;
        }
        r.out = (uint32_t)(b->len - r.off - r.uid - 32 - r.envs);
        vec_push(&s->rows, r);
    }
    sb_free(&x.d);
    strmap_free(&x.pre);
    arena_free(&x.a);
    sb_free(&body);
    strmap_free(&ids);
    arena_free(&ida);
    /* which rows are still wanted: the map of this parse's nodes moves to
     * the store (cache_parse_skip is false from now on) */
    s->live = c->ents;
    strmap_init(&c->ents);
    if (s->rows.len == 0 && c->gone == 0) {
        /* every row is a node's that was restored: nothing to write (a
         * transaction, a scan of the uids and a thread saved, after a
         * change that re-parsed nothing) */
        store_free(s);
        return 0;
    }
    s->sem_ok = sem_init(&s->locked, 0, 0) == 0;
    if (s->sem_ok && pthread_create(&s->th, NULL, store_main, s) == 0) {
        while (sem_wait(&s->locked) != 0 && errno == EINTR)
            ;
        c->store = s;
        return 0;
    }
    /* no thread: store on this one */
    pthread_mutex_lock(&c->mu);
    int rc = store_rows(s);
    pthread_mutex_unlock(&c->mu);
    if (s->warning)
        cache_set_warning(warning, "%s", s->warning);
    store_free(s);
    return rc;
}

int cache_parse_forget(Cache *c, char **warning)
{
    if (!c || c->broken || !c->db)
        return -1;
    cache_parse_wait(c, warning);
    for (int i = 0; i < c->nent; i++)
        c->entv[i]->cacheable = false;
    c->gone = 0;                 /* the rows go now */
    pthread_mutex_lock(&c->mu);
    int rc = sqlite3_exec(c->db, "DELETE FROM parse_nodes; DELETE FROM parse_msets; DELETE FROM meta WHERE name = 'parse_keys'",
                          NULL, NULL, NULL);
    pthread_mutex_unlock(&c->mu);
    if (rc != SQLITE_OK) {
        cache_warn_db(c, warning, "cannot update the parse cache");
        c->broken = true;        /* nothing of it is used or stored again */
        return -1;
    }
    return 0;
}

int cache_parse_wait(Cache *c, char **warning)
{
    if (!c || !c->store)
        return 0;
    CacheStore *s = c->store;
    c->store = NULL;
    pthread_join(s->th, NULL);
    int rc = s->rc;
    if (s->warning)
        cache_set_warning(warning, "%s", s->warning);
    store_free(s);
    return rc;
}
