/* cache.c - target/cdbt.db: opening (WAL, busy timeout, schema version,
 * rebuild of corrupt or foreign files), warnings, and the run-results table.
 * The parse cache proper (keys, restore, store) is cache_parse.c; the byte
 * format is cache_ser.c.  The DDL is cache_schema.sql, embedded at build
 * time as generated/cache_schema.inc. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cache_priv.h"
#include "../base/fs.h"

static const char cache_schema_sql[] = {
#include "cache_schema.inc"
};

void cache_set_warning(char **warning, const char *fmt, ...)
{
    if (!warning)
        return;
    Sb s = SB_INIT;
    if (*warning) {
        sb_puts(&s, *warning);
        sb_putc(&s, '\n');
        free(*warning);
    }
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&s, fmt, ap);
    va_end(ap);
    *warning = sb_detach(&s);
}

void cache_warn_db(Cache *c, char **warning, const char *what)
{
    cache_set_warning(warning, "cdbt cache (%s): %s: %s", c->path, what,
                      c->db ? sqlite3_errmsg(c->db) : "cannot open");
}

static double now_epoch(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void remove_files(const char *path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char buf[4096];
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s", path, sfx[i]);
        unlink(buf);
    }
}

/* No initial bulk allocation of page-cache memory.  sqlite takes room
 * for 20 pages at once per connection (1.3 MB with 64 KiB pages: an mmap)
 * and frees it when cache_size is set below; glibc's malloc then raises
 * its mmap threshold to that size for the rest of the process, so the
 * loader's many allocations came from a fragmented heap instead: at 2k
 * models a compile that used the cache spent ~20M more instructions in
 * malloc than one that did not open it.  Pages are allocated one by one
 * instead, as needed (at most cache_size of them). */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

/* 0 ok, 1 corrupt/foreign (rebuild), 2 busy (give up), -1 other error */
static int try_open(Cache *c, char **warning)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    int rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto classify;
    sqlite3_busy_timeout(c->db, CACHE_BUSY_MS);
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int ver = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        goto classify;
    if (ver != 0 && ver != CACHE_SCHEMA_VERSION) {
        cache_set_warning(warning, "cdbt cache (%s): schema version %d is not %d; rebuilding it",
                          c->path, ver, CACHE_SCHEMA_VERSION);
        return 1;
    }
    /* 64 KiB pages (for a new file; an existing one keeps its own): a
     * snapshot stores a few MB in big rows, and each page is a read to free
     * it, a write to the log and one to copy it back at the checkpoint.  At
     * 10k models, with 4 KiB pages, deleting the old rows, inserting the new
     * ones and committing took about 0.03 s; 0.015 s with these. */
    if (ver == 0)
        sqlite3_exec(c->db, "PRAGMA page_size=65536", NULL, NULL, NULL);
    rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto classify;
    /* No fdatasync(): every entry is checked against the files on disk or
     * keyed by their content, so a database that lost its last writes to a
     * power failure is only stale, and a torn one is reported and rebuilt
     * (cache_open).  Syncing cost a reused compile four fdatasync()s - tens
     * of milliseconds here, most of its time.  The write-ahead log is kept
     * between runs (cut to 1 MiB) rather than deleted and created again. */
    sqlite3_exec(c->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    int persist = 1;
    sqlite3_file_control(c->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    sqlite3_exec(c->db, "PRAGMA journal_size_limit=1048576", NULL, NULL, NULL);
    /* checkpoint once the log holds 4 MiB, as sqlite's default of 1000
     * pages does with 4 KiB pages */
    rc = sqlite3_prepare_v2(c->db, "PRAGMA page_size", -1, &st, NULL);
    int psz = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (psz > 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%d", (4 << 20) / psz);
        sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    }
    /* 512 KiB of page cache (default 2 MB): the big rows are read and
     * written once, and this memory would sit on top of the compile's peak */
    sqlite3_exec(c->db, "PRAGMA cache_size=-512", NULL, NULL, NULL);
    /* Debian builds sqlite with SQLITE_SECURE_DELETE: every page a delete
     * frees is overwritten with zeros, which put the 3-4 MB of a snapshot's
     * old rows through the log again each time one was replaced (8-52 ms of
     * a 10k-model store).  A build cache holds nothing to wipe. */
    sqlite3_exec(c->db, "PRAGMA secure_delete=OFF", NULL, NULL, NULL);
    if (ver == 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", CACHE_SCHEMA_VERSION);
        rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(c->db, cache_schema_sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK) {
            char *q = sqlite3_mprintf("INSERT OR REPLACE INTO meta(name, value) VALUES ('cdbt_version', %Q)", CDBT_VERSION);
            rc = sqlite3_exec(c->db, q, NULL, NULL, NULL);
            sqlite3_free(q);
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
            goto classify;
        }
    } else {
        /* a quick sanity read of the tables this build expects */
        rc = sqlite3_exec(c->db, "SELECT count(*) FROM parse_nodes WHERE 0; SELECT count(*) FROM results WHERE 0; "
                          "SELECT count(*) FROM snapshots WHERE 0; SELECT count(*) FROM snapshot_heads WHERE 0",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
                goto classify;
            cache_set_warning(warning, "cdbt cache (%s): unexpected layout (%s); rebuilding it",
                              c->path, sqlite3_errmsg(c->db));
            return 1;
        }
    }
    return 0;
classify:
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
        cache_set_warning(warning, "cdbt cache (%s) is corrupt (%s); rebuilding it", c->path,
                          c->db ? sqlite3_errmsg(c->db) : "cannot open");
        return 1;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        cache_set_warning(warning, "cdbt cache (%s) is locked by another process; continuing without it", c->path);
        return 2;
    default:
        cache_warn_db(c, warning, "cannot open; continuing without it");
        return -1;
    }
}

static Cache *open_cache(const char *target_dir, bool rebuild, char **warning)
{
    Cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->gone = -1;
    arena_init(&c->arena, 0);
    arena_init(&c->arena2, 0);
    strmap_init(&c->ents);
    strmap_init(&c->res_status);
    strmap_init(&c->res_time);
    size_t n = strlen(target_dir) + 16;
    c->path = malloc(n);
    if (!c->path)
        goto fail;
    snprintf(c->path, n, "%s/cdbt.db", target_dir);
    if (fs_mkdir_p(target_dir) != 0) {
        cache_set_warning(warning, "cdbt cache: cannot create %s: %s; continuing without it", target_dir, strerror(errno));
        goto fail;
    }
    int r = try_open(c, warning);
    if (r == 1 && rebuild) {
        sqlite3_close(c->db);
        c->db = NULL;
        remove_files(c->path);
        r = try_open(c, warning);
    }
    if (r != 0)
        goto fail;
    return c;
fail:
    cache_close(c);
    return NULL;
}

Cache *cache_open(const char *target_dir, char **warning)
{
    return open_cache(target_dir, true, warning);
}

Cache *cache_open_quiet(const char *target_dir)
{
    char *w = NULL;
    Cache *c = open_cache(target_dir, false, &w);
    if (c && w) {                /* anything unusual is for the normal path to report */
        cache_close(c);
        c = NULL;
    }
    free(w);
    return c;
}

static void free_vals(StrMap *m)
{
    for (size_t i = 0; i < m->len; i++)
        free(m->entries[i].val);
    strmap_free(m);
}

void cache_close(Cache *c)
{
    if (!c)
        return;
    cache_parse_wait(c, NULL);
    if (c->db && c->in_batch)
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (c->db)
        sqlite3_close(c->db);
    for (int i = 0; i < c->nent; i++)
        sb_free(&c->entv[i]->envs);
    free(c->entv);
    strmap_free(&c->ents);
    cache_macros_free(c);
    free_vals(&c->res_status);
    free_vals(&c->res_time);
    arena_free(&c->arena);
    arena_free(&c->arena2);
    sb_free(&c->why);
    pthread_mutex_destroy(&c->mu);
    free(c->path);
    free(c);
}

/* ---------------------------------------------------------------- results */

void cache_batch(Cache *c, bool begin)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    if (!c->broken && c->db) {
        if (begin && !c->in_batch)
            c->in_batch = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        else if (!begin && c->in_batch) {
            if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
            c->in_batch = false;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

int cache_record_result(Cache *c, const char *unique_id, const char *status,
                        double started_at, double execution_time, const char *message)
{
    if (!c || !unique_id || !status)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->broken || !c->db)
        goto done;
    if (sqlite3_prepare_v2(c->db,
            "INSERT OR REPLACE INTO results(uid, status, started_at, execution_time, message, recorded_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, unique_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 3, started_at);
    sqlite3_bind_double(st, 4, execution_time);
    if (message)
        sqlite3_bind_text(st, 5, message, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_double(st, 6, now_epoch());
    if (sqlite3_step(st) == SQLITE_DONE)
        rc = 0;
    /* keep a loaded view in step with what was recorded */
    if (rc == 0 && c->results_loaded) {
        char *s = strdup(status);
        double *t = malloc(sizeof *t);
        if (s && t) {
            *t = execution_time;
            free(strmap_putz(&c->res_status, unique_id, s));
            free(strmap_putz(&c->res_time, unique_id, t));
        } else {
            free(s);
            free(t);
        }
    }
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void load_results(Cache *c)
{
    c->results_loaded = true;
    if (c->broken || !c->db)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT uid, status, execution_time FROM results", -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *uid = (const char *)sqlite3_column_text(st, 0);
        const char *status = (const char *)sqlite3_column_text(st, 1);
        if (!uid || !status)
            continue;
        char *s = strdup(status);
        double *t = malloc(sizeof *t);
        if (!s || !t) {
            free(s);
            free(t);
            break;
        }
        *t = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 2);
        free(strmap_putz(&c->res_status, uid, s));
        free(strmap_putz(&c->res_time, uid, t));
    }
    sqlite3_finalize(st);
}

const char *cache_last_status(Cache *c, const char *unique_id)
{
    if (!c)
        return NULL;
    pthread_mutex_lock(&c->mu);
    if (!c->results_loaded)
        load_results(c);
    const char *s = strmap_getz(&c->res_status, unique_id);
    pthread_mutex_unlock(&c->mu);
    return s;
}

double cache_last_time(Cache *c, const char *unique_id)
{
    if (!c)
        return -1;
    pthread_mutex_lock(&c->mu);
    if (!c->results_loaded)
        load_results(c);
    const double *t = strmap_getz(&c->res_time, unique_id);
    double r = t ? *t : -1;
    pthread_mutex_unlock(&c->mu);
    return r;
}
