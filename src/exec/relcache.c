/* relcache.c - the relation cache (contract: relcache.h, spec §6.2).
 *
 * Owns: the map (schema, identifier) -> relation type, the set of schemas
 * already listed, and the listing query dbt runs per schema (pg_tables,
 * pg_views, pg_matviews with `schemaname ilike '<schema>'`).  Leaves to the
 * executors: keeping it current when they create, rename or drop.
 *
 * Keys: the schema lower-cased (it was matched with ilike, as dbt's cache
 * lower-cases its keys), a 0x1f separator, then the identifier exactly as
 * PostgreSQL reports it.  StrMap cannot delete, so a dropped relation stays as
 * a REL_NONE value.  One mutex guards both maps. */
#include "relcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/strmap.h"

struct RelCache {
    pthread_mutex_t mu;
    StrMap rels;        /* key -> (void *)(intptr_t)RelType */
    StrMap schemas;     /* lower-cased schema -> (void *)1 once loaded */
};

static void lower_into(Sb *k, const char *s)
{
    for (; *s; s++)
        sb_putc(k, (*s >= 'A' && *s <= 'Z') ? (char)(*s + 32) : *s);
}

static void make_key(Sb *k, const char *schema, const char *ident)
{
    sb_reset(k);
    lower_into(k, schema ? schema : "");
    sb_putc(k, '\x1f');
    sb_puts(k, ident ? ident : "");
}

RelCache *relcache_new(void)
{
    RelCache *rc = calloc(1, sizeof *rc);
    if (!rc)
        abort();
    pthread_mutex_init(&rc->mu, NULL);
    strmap_init(&rc->rels);
    strmap_init(&rc->schemas);
    return rc;
}

void relcache_free(RelCache *rc)
{
    if (!rc)
        return;
    strmap_free(&rc->rels);
    strmap_free(&rc->schemas);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}

static RelType type_from_name(const char *t)
{
    if (!t)
        return REL_NONE;
    if (!strcmp(t, "table"))
        return REL_TABLE;
    if (!strcmp(t, "view"))
        return REL_VIEW;
    if (!strcmp(t, "materialized_view"))
        return REL_MATVIEW;
    return REL_NONE;
}

int relcache_load_schema(RelCache *rc, PgConn *c, const char *schema, Diag *err)
{
    Sb q = SB_INIT, lit = SB_INIT, k = SB_INIT;
    PgResult *r = NULL;
    int ret = -1;

    pg_quote_literal(&lit, schema);
    const char *L = sb_cstr(&lit);
    sb_printf(&q,
              "select tablename as name, schemaname as schema, 'table' as type from pg_tables\n"
              "where schemaname ilike %s\n"
              "union all\n"
              "select viewname as name, schemaname as schema, 'view' as type from pg_views\n"
              "where schemaname ilike %s\n"
              "union all\n"
              "select matviewname as name, schemaname as schema, 'materialized_view' as type from pg_matviews\n"
              "where schemaname ilike %s",
              L, L, L);
    if (pg_exec(c, sb_cstr(&q), &r, NULL, 0, err) != 0)
        goto done;
    pthread_mutex_lock(&rc->mu);
    for (int i = 0; i < r->nrows; i++) {
        const char *name = r->rows[i][0], *sch = r->rows[i][1];
        if (!name || !sch)
            continue;
        make_key(&k, sch, name);
        strmap_put(&rc->rels, k.buf, k.len, (void *)(intptr_t)type_from_name(r->rows[i][2]));
    }
    sb_reset(&k);
    lower_into(&k, schema);
    strmap_put(&rc->schemas, sb_cstr(&k), k.len, (void *)1);
    pthread_mutex_unlock(&rc->mu);
    ret = 0;
done:
    pg_result_free(r);
    sb_free(&q);
    sb_free(&lit);
    sb_free(&k);
    return ret;
}

bool relcache_schema_loaded(RelCache *rc, const char *schema)
{
    Sb k = SB_INIT;
    lower_into(&k, schema);
    pthread_mutex_lock(&rc->mu);
    bool v = strmap_get(&rc->schemas, sb_cstr(&k), k.len) != NULL;
    pthread_mutex_unlock(&rc->mu);
    sb_free(&k);
    return v;
}

RelType relcache_get(RelCache *rc, const char *schema, const char *ident)
{
    Sb k = SB_INIT;
    make_key(&k, schema, ident);
    pthread_mutex_lock(&rc->mu);
    RelType t = (RelType)(intptr_t)strmap_get(&rc->rels, k.buf, k.len);
    pthread_mutex_unlock(&rc->mu);
    sb_free(&k);
    return t;
}

void relcache_set(RelCache *rc, const char *schema, const char *ident, RelType t)
{
    Sb k = SB_INIT;
    make_key(&k, schema, ident);
    pthread_mutex_lock(&rc->mu);
    if (t != REL_NONE || strmap_has(&rc->rels, k.buf, k.len))
        strmap_put(&rc->rels, k.buf, k.len, (void *)(intptr_t)t);
    pthread_mutex_unlock(&rc->mu);
    sb_free(&k);
}

void relcache_rename(RelCache *rc, const char *schema, const char *from, const char *to)
{
    Sb k = SB_INIT;
    make_key(&k, schema, from);
    pthread_mutex_lock(&rc->mu);
    RelType t = (RelType)(intptr_t)strmap_get(&rc->rels, k.buf, k.len);
    if (t != REL_NONE) {
        strmap_put(&rc->rels, k.buf, k.len, (void *)(intptr_t)REL_NONE);
        make_key(&k, schema, to);
        strmap_put(&rc->rels, k.buf, k.len, (void *)(intptr_t)t);
    }
    pthread_mutex_unlock(&rc->mu);
    sb_free(&k);
}

void relcache_drop_schema(RelCache *rc, const char *schema)
{
    Sb k = SB_INIT;
    make_key(&k, schema, "");          /* "<schema>\x1f" */
    pthread_mutex_lock(&rc->mu);
    for (size_t i = 0; i < rc->rels.len; i++) {
        StrMapEntry *e = &rc->rels.entries[i];
        if (e->klen >= k.len && !memcmp(e->key, k.buf, k.len))
            e->val = (void *)(intptr_t)REL_NONE;
    }
    pthread_mutex_unlock(&rc->mu);
    sb_free(&k);
}

const char *relcache_type_name(RelType t)
{
    switch (t) {
    case REL_TABLE:
        return "table";
    case REL_VIEW:
        return "view";
    case REL_MATVIEW:
        return "materialized_view";
    default:
        return NULL;
    }
}
