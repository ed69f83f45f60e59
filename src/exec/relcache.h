/* relcache.h - the relation cache (§6.2): which relations exist in the
 * schemas a run writes to, and their types.  Filled with one query per
 * schema at run start, then kept up to date by executors on create / rename
 * / drop.  Thread-safe (one mutex); lookups compare names exactly as stored
 * (identifiers as PostgreSQL reports them: unquoted lower case unless
 * created quoted).  Database names are not part of the key (postgres: one
 * database per connection). */
#ifndef CDBT_RELCACHE_H
#define CDBT_RELCACHE_H
#include <stdbool.h>
#include "pg.h"

typedef enum { REL_NONE = 0, REL_TABLE, REL_VIEW, REL_MATVIEW } RelType;

typedef struct RelCache RelCache;

RelCache *relcache_new(void);
void      relcache_free(RelCache *rc);
/* List every relation of schema (case-insensitive match as dbt's ilike) on c
 * and remember the schema as loaded. */
int       relcache_load_schema(RelCache *rc, PgConn *c, const char *schema, Diag *err);
bool      relcache_schema_loaded(RelCache *rc, const char *schema);
RelType   relcache_get(RelCache *rc, const char *schema, const char *ident);
void      relcache_set(RelCache *rc, const char *schema, const char *ident, RelType t);   /* REL_NONE = drop */
void      relcache_rename(RelCache *rc, const char *schema, const char *from, const char *to);
/* Drop every cached relation of schema (drop schema cascade). */
void      relcache_drop_schema(RelCache *rc, const char *schema);
const char *relcache_type_name(RelType t);   /* "table", "view", "materialized_view", NULL */
#endif
