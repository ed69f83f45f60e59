/* test_cache.c - target/cdbt.db: run results (record, reload, overwrite,
 * concurrent writers), rebuilding corrupt and foreign-version files, and the
 * parse cache on a hand-built Project (miss, store, restore of exactly the
 * stored outputs, invalidation by an input change and by an env var read). */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cache/cache.h"
#include "cache/cache_priv.h"      /* CACHE_SCHEMA_VERSION */
#include "base/arena.h"
#include "base/clock.h"
#include "base/fs.h"

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/cdbt_test_cache_XXXXXX";
    char *d = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(d);
    return strdup(d);
}

static void rmdir_all(char *d)
{
    fs_rm_rf(d);
    free(d);
}

/* A project under d for the output-directory tests: the input m.sql, the
 * head t/manifest.json and two compiled outputs t/c/a.sql, t/c/b.sql. */
typedef struct SnapFiles { char in1[512], head[512], o1[512], o2[512]; } SnapFiles;

static void snap_files(const char *d, SnapFiles *f)
{
    snprintf(f->in1, sizeof f->in1, "%s/m.sql", d);
    snprintf(f->head, sizeof f->head, "%s/t/manifest.json", d);
    snprintf(f->o1, sizeof f->o1, "%s/t/c/a.sql", d);
    snprintf(f->o2, sizeof f->o2, "%s/t/c/b.sql", d);
    ck_assert_int_eq(fs_write_file(f->in1, "select 1", 8), 0);
    ck_assert_int_eq(fs_write_file(f->head, "{}", 2), 0);
    ck_assert_int_eq(fs_write_file(f->o1, "a", 1), 0);
    ck_assert_int_eq(fs_write_file(f->o2, "b", 1), 0);
}

/* A CacheDeltaBuild that fills the store's table with a copy of ud's. */
static void copy_table(void *ud, CacheDeltaTable *t)
{
    const CacheDeltaTable *from = ud;
    for (int b = 0; b < CACHE_DELTA_BUCKETS; b++)
        if (from->bucket[b].len)
            sb_append(&t->bucket[b], from->bucket[b].buf, from->bucket[b].len);
    sb_append(&t->stubs, from->stubs.buf ? from->stubs.buf : "", from->stubs.len);
    t->nstubs = t->cap = from->nstubs;
    t->stub_end = xmalloc(sizeof *t->stub_end * (from->nstubs + 1));
    if (from->nstubs)
        memcpy(t->stub_end, from->stub_end, sizeof *t->stub_end * from->nstubs);
    t->nents = from->nents;
}

/* A cache in a new temporary directory (*d; *w: its warning, if any). */
static Cache *fresh_cache(char **d, char **w)
{
    *d = tmpdir();
    *w = NULL;
    Cache *c = cache_open(*d, w);
    ck_assert_ptr_nonnull(c);
    return c;
}

START_TEST(results_roundtrip)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    ck_assert_ptr_null(w);
    ck_assert_ptr_null(cache_last_status(c, "model.p.a"));
    ck_assert_int_eq(cache_record_result(c, "model.p.a", "error", 1.0e9, 0.25, "boom"), 0);
    ck_assert_int_eq(cache_record_result(c, "model.p.b", "success", 1.0e9, 1.5, NULL), 0);
    ck_assert_str_eq(cache_last_status(c, "model.p.a"), "error");
    cache_close(c);

    c = cache_open(d, &w);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(cache_last_status(c, "model.p.a"), "error");
    ck_assert_str_eq(cache_last_status(c, "model.p.b"), "success");
    ck_assert(cache_last_time(c, "model.p.b") == 1.5);
    ck_assert(cache_last_time(c, "model.p.zzz") == -1);
    /* a later result replaces the earlier one, also in the loaded view */
    ck_assert_int_eq(cache_record_result(c, "model.p.a", "success", 1.0e9, 0.5, NULL), 0);
    ck_assert_str_eq(cache_last_status(c, "model.p.a"), "success");
    cache_close(c);
    rmdir_all(d);
}
END_TEST

START_TEST(corrupt_file_is_rebuilt)
{
    char *d = tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/cdbt.db", d);
    const char junk[] = "this is not a database, just some text that is long enough to look like a header....";
    char big[8192];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = junk[i % (sizeof junk - 1)];
    ck_assert_int_eq(fs_write_file(path, big, sizeof big), 0);
    char *w = NULL;
    Cache *c = cache_open(d, &w);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(strstr(w, "is corrupt") && strstr(w, "rebuilding it"), "warning: %s", w);
    free(w);
    ck_assert_int_eq(cache_record_result(c, "model.p.a", "fail", 0, 0, NULL), 0);
    ck_assert_str_eq(cache_last_status(c, "model.p.a"), "fail");
    cache_close(c);
    rmdir_all(d);
}
END_TEST

START_TEST(foreign_version_is_rebuilt)
{
    char *d = tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/cdbt.db", d);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE results(x); PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char *w = NULL;
    Cache *c = cache_open(d, &w);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(strstr(w, "schema version 99 is not ") != NULL && strstr(w, "; rebuilding it") != NULL,
                  "warning: %s", w);
    free(w);
    ck_assert_int_eq(cache_record_result(c, "model.p.a", "pass", 0, 0, NULL), 0);
    cache_close(c);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), CACHE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);
    rmdir_all(d);
}
END_TEST

typedef struct Writer { const char *dir; int id; int failures; } Writer;

static void *writer(void *arg)
{
    Writer *wr = arg;
    char *w = NULL;
    Cache *c = cache_open(wr->dir, &w);
    free(w);
    if (!c) {
        wr->failures = 1000;
        return NULL;
    }
    for (int i = 0; i < 100; i++) {
        char uid[64];
        snprintf(uid, sizeof uid, "model.p.w%d_%d", wr->id, i);
        if (cache_record_result(c, uid, i % 2 ? "success" : "error", 0, 0, NULL) != 0)
            wr->failures++;
    }
    cache_close(c);
    return NULL;
}

START_TEST(concurrent_writers)
{
    char *d = tmpdir();
    char *w = NULL;
    Cache *c0 = cache_open(d, &w);      /* create the schema first */
    ck_assert_ptr_nonnull(c0);
    cache_close(c0);
    pthread_t t[4];
    Writer wr[4];
    for (int i = 0; i < 4; i++) {
        wr[i] = (Writer){d, i, 0};
        pthread_create(&t[i], NULL, writer, &wr[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(wr[i].failures, 0);
    }
    Cache *c = cache_open(d, &w);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(cache_last_status(c, "model.p.w3_99"), "success");
    ck_assert_str_eq(cache_last_status(c, "model.p.w0_0"), "error");
    cache_close(c);
    rmdir_all(d);
}
END_TEST

/* ------------------------------------------------------------ parse cache */

static Project *mini_project(void)
{
    Project *p = calloc(1, sizeof *p);
    arena_init(&p->arena, 0);
    p->root = "/proj";
    p->name = "p";
    p->nodes = calloc(1, sizeof(Node *));
    Node *n = ARENA_NEW(&p->arena, Node);
    n->rt = RT_MODEL;
    n->unique_id = "model.p.m";
    n->name = "m";
    n->package_name = "p";
    n->original_file_path = "models/m.sql";
    n->raw_code = "select 1";
    n->raw_len = 8;
    n->checksum = "x";
    n->config = v_dict(&p->arena).u.d;
    dict_setz(&p->arena, n->config, "materialized", v_strz(&p->arena, "view"));
    p->nodes[0] = n;
    p->nnodes = 1;
    return p;
}

static void mini_free(Project *p)
{
    arena_free(&p->arena);
    free(p->nodes);
    free(p);
}

/* What a parse would do to the node: a config() call and a ref. */
static void fake_parse(Project *p, Cache *c, const char *envval)
{
    Node *n = p->nodes[0];
    dict_setz(&p->arena, n->config, "materialized", v_strz(&p->arena, envval ? envval : "table"));
    Value tags = v_list(&p->arena, 1);
    list_append(&p->arena, tags.u.l, v_strz(&p->arena, "t"));
    dict_setz(&p->arena, n->config, "tags", tags);
    n->tags = tags.u.l;
    n->refs = ARENA_NEW(&p->arena, NodeRef);
    n->refs[0].name = "up";
    n->nrefs = 1;
    cache_env_read(c, n, "CDBT_TEST_CACHE_ENV", envval);
}

/* Snapshots: stored, found while nothing changed, refused after an input,
 * output or env var changed, racy inputs not stored, garbage rows refused. */
START_TEST(snapshot_store_lookup_invalidate)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    char in1[512], in2[512], out1[512], out2[512], missing[512];
    snprintf(in1, sizeof in1, "%s/in1.sql", d);
    snprintf(in2, sizeof in2, "%s", d);                 /* a directory */
    snprintf(out1, sizeof out1, "%s/t/out1.json", d);     /* not under an input directory */
    snprintf(out2, sizeof out2, "%s/t/c/out2.sql", d);
    snprintf(missing, sizeof missing, "%s/not_there.yml", d);
    ck_assert_int_eq(fs_write_file(in1, "select 1", 8), 0);
    ck_assert_int_eq(fs_write_file(out1, "{}", 2), 0);
    ck_assert_int_eq(fs_write_file(out2, "select 1", 8), 0);
    setenv("CDBT_SNAP_TEST", "a", 1);
    const char *parts[] = {"compile", "--x"};
    uint8_t key[32], other[32];
    cache_snap_key(parts, 2, key);
    cache_snap_key(parts, 1, other);
    ck_assert(memcmp(key, other, 32) != 0);
    const char *ins[] = {in1, in2, missing};
    const char *envs[] = {"CDBT_SNAP_TEST"};
    /* out1 is a head (a reuse rewrites it); out2 is given relative to d */
    const char *outs[] = {out1, "t/c/out2.sql"};
    const char *why = NULL;
    /* racy: the inputs changed after a run that started in 1970 */
    ck_assert_int_eq(cache_snap_store(c, key, 1.0, ins, NULL, 3, envs, 1, d, outs, NULL, NULL, 2, 1, NULL, NULL, "info", 4, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 0);
    ck_assert_ptr_nonnull(w);
    ck_assert(strstr(w, "changed during the run") != NULL);
    free(w);
    w = NULL;
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, NULL, 3, envs, 1, d, outs, NULL, NULL, 2, 1, NULL, NULL, "info", 4, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1);
    free(w);
    w = NULL;
    CacheSnap *s = cache_snap_lookup(c, key, false, &why);
    ck_assert_ptr_nonnull(s);
    size_t n = 0;
    const uint8_t *info = cache_snap_info(s, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert(memcmp(info, "info", 4) == 0);
    cache_snap_free(s);
    ck_assert_ptr_null(cache_snap_lookup(c, other, false, &why));
    /* an env var */
    setenv("CDBT_SNAP_TEST", "b", 1);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "environment") != NULL);
    setenv("CDBT_SNAP_TEST", "a", 1);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    /* a missing path that appears */
    ck_assert_int_eq(fs_write_file(missing, "x", 1), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "project file") != NULL);
    unlink(missing);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));   /* the directory changed meanwhile */
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, NULL, 3, envs, 1, d, outs, NULL, NULL, 2, 1, NULL, NULL, "info", 4, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    /* an output rewritten: refused until refreshed */
    usleep(20000);
    ck_assert_int_eq(fs_write_file(out1, "{ }", 3), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "output") != NULL);
    ck_assert_int_eq(cache_snap_refresh(c, s), 0);
    cache_snap_free(s);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    /* any other output rewritten: refused, and refreshing does not cover it */
    ck_assert_int_eq(fs_write_file_direct(out2, "select 2", 8), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "output") != NULL);
    ck_assert_int_eq(cache_snap_refresh(c, s), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    /* deleted: refused */
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, NULL, 3, envs, 1, d, outs, NULL, NULL, 2, 1, NULL, NULL, "info", 4, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    unlink(out2);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "output") != NULL);
    ck_assert_int_eq(fs_write_file(out2, "select 1", 8), 0);
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, NULL, 3, envs, 1, d, outs, NULL, NULL, 2, 1, NULL, NULL, "info", 4, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    /* an input edited in place */
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(in1, "select 2", 8), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    cache_close(c);
    /* garbage in the row: refused, no crash */
    char db[600];
    snprintf(db, sizeof db, "%s/cdbt.db", d);
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "UPDATE snapshots SET inputs = x'ffffffff00', outputs = x'02', envs = x''; "
                                  "UPDATE snapshot_heads SET ents = x'0100000005'",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    c = cache_open(d, &w);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    cache_close(c);
    unsetenv("CDBT_SNAP_TEST");
    rmdir_all(d);
}
END_TEST

/* After a pause past the racy margin: the snapshot under key is reused and
 * settling records one directory.  A loaded machine can stretch the pause's
 * start (the directory then still looks just written, and nothing settles):
 * the lookup is tried again after a further pause, up to a second in all. */
static void settles_after_margin(Cache *c, const uint8_t key[32])
{
    const char *why = NULL;
    int got = 0;
    for (int tries = 0; tries < 12 && got == 0; tries++) {
        usleep(80000);
        CacheSnap *s = cache_snap_lookup(c, key, false, &why);
        ck_assert_msg(s != NULL, "not reused: %s", why ? why : "?");
        got = cache_snap_settle(c, s);
        cache_snap_free(s);
    }
    ck_assert_int_eq(got, 1);
}

/* The snapshot under key is reused, and settling records n directories. */
static void reuse_settles(Cache *c, const uint8_t key[32], int n)
{
    const char *why = NULL;
    CacheSnap *s = cache_snap_lookup(c, key, false, &why);
    ck_assert_msg(s != NULL, "not reused: %s", why ? why : "?");
    ck_assert_int_eq(cache_snap_settle(c, s), n);
    cache_snap_free(s);
}

/* Output directories (dir_entry in cache_snap.c): a directory written
 * within the racy margin is checked file by file and then recorded
 * (cache_snap_settle); once recorded, its outputs are not stat()ed but a
 * deletion, a replacement by rename or the outputs stamp still refuse the
 * snapshot, while an in-place edit by another program is not seen. */
START_TEST(snapshot_output_dirs_and_stamp)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    SnapFiles f;
    snap_files(d, &f);
    const char *in1 = f.in1, *head = f.head, *o1 = f.o1, *o2 = f.o2;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/t/x.tmp", d);
    char target[512];
    snprintf(target, sizeof target, "%s/t", d);
    ck_assert_int_eq(cache_stamp_write(target, "token-1"), 0);
    const char *parts[] = {"compile"};
    uint8_t key[32];
    cache_snap_key(parts, 1, key);
    const char *ins[] = {in1}, *outs[] = {head, o1, o2};
    const char *why = NULL;
    CacheSnap *s;
#define STORE_STAMPED() \
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, NULL, 1, NULL, 0, NULL, outs, NULL, NULL, 3, 1, target, "token-1", \
                                      "info", 4, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1)
    STORE_STAMPED();
    /* just written: racy, so checked file by file; an in-place edit shows */
    ck_assert_int_eq(fs_write_file_direct(o1, "A", 1), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "output") != NULL);
    ck_assert_int_eq(fs_write_file_direct(o1, "a", 1), 0);
    STORE_STAMPED();
    /* past the margin: the first lookup records the directory, the next skips it */
    settles_after_margin(c, key);
    reuse_settles(c, key, 0);
    /* a stray file beside the outputs: every output checked, still the same;
     * recorded again once settled */
    char stray[600];
    snprintf(stray, sizeof stray, "%s/t/c/stray.txt", d);
    ck_assert_int_eq(fs_write_file_direct(stray, "x", 1), 0);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    settles_after_margin(c, key);
    /* an in-place edit by another program: not seen (documented) */
    ck_assert_int_eq(fs_write_file_direct(o2, "B", 1), 0);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    /* another cdbt run that may have rewritten outputs: its stamp refuses */
    ck_assert_int_eq(cache_stamp_write(target, "token-2"), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "another cdbt run") != NULL);
    ck_assert_int_eq(cache_stamp_write(target, "token-1"), 0);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    /* replaced by rename, then deleted (each once settled): refused */
    ck_assert_int_eq(fs_write_file_direct(o2, "b", 1), 0);
    STORE_STAMPED();
    /* the directory last changed long before the store: vouched at once */
    reuse_settles(c, key, 0);
    ck_assert_int_eq(fs_write_file_direct(tmp, "a", 1), 0);
    ck_assert_int_eq(rename(tmp, o1), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "output") != NULL);
    STORE_STAMPED();
    settles_after_margin(c, key);
    reuse_settles(c, key, 0);
    unlink(o2);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "output") != NULL);
    /* the directory gone */
    ck_assert_int_eq(fs_write_file(o2, "b", 1), 0);
    STORE_STAMPED();
    unlink(o1);
    unlink(o2);
    unlink(stray);
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/t/c", d);
    ck_assert_int_eq(rmdir(cdir), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
#undef STORE_STAMPED
    free(w);
    cache_close(c);
    rmdir_all(d);
}
END_TEST

/* Snapshot lookups that accept changed inputs (the delta compile of
 * src/cli/delta.c): which differences count as changes, the node table,
 * and the overrides a delta run records. */
START_TEST(snapshot_changes_nodes_overrides)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    char ins[10][512], out1[512], out2[512];
    const char *inp[10];
    for (int i = 0; i < 10; i++) {
        snprintf(ins[i], sizeof ins[i], "%s/m%d.sql", d, i);
        ck_assert_int_eq(fs_write_file(ins[i], "select 1", 8), 0);
        inp[i] = ins[i];
    }
    snprintf(out1, sizeof out1, "%s/t/manifest.json", d);
    snprintf(out2, sizeof out2, "%s/t/c/m0.sql", d);
    ck_assert_int_eq(fs_write_file(out1, "{}", 2), 0);
    ck_assert_int_eq(fs_write_file(out2, "select 1", 8), 0);
    setenv("CDBT_SNAP_TEST", "a", 1);
    const char *parts[] = {"compile"};
    uint8_t key[32];
    cache_snap_key(parts, 1, key);
    const char *envs[] = {"CDBT_SNAP_TEST"};
    const char *outs[] = {out1, "t/c/m0.sql"};
    /* a store of this fixture, with a node table or none */
#define STORE_WITH(build, nodes) \
    cache_snap_store(c, key, 4.0e9, inp, NULL, 10, envs, 1, d, outs, NULL, NULL, 2, 1, NULL, NULL, "info", 4, build, nodes, d, NULL, 0, NULL, NULL, &w)
#define STORE(nodes) STORE_WITH(copy_table, nodes)
    /* the node table: one entry with a model stub and a source stub */
    Arena a;
    arena_init(&a, 0);
    CacheDeltaTable nodes;
    cache_delta_init(&nodes);
    CacheDeltaDep deps[2] = {
        {.rt = RT_MODEL, .unique_id = "model.p.up", .name = "up", .package = "p", .database = "db",
         .schema = "s", .alias = "up_alias", .materialized = "view", .quoting = v_none()},
        {.rt = RT_SOURCE, .unique_id = "source.p.raw.t", .name = "t", .package = "p", .database = "db",
         .schema = "raw", .identifier = "t_ident", .source_name = "raw", .quoting = v_dict(&a)},
    };
    dict_setz(&a, deps[1].quoting.u.d, "identifier", v_bool(false));
    CacheDeltaNode e = {.ofp = "m0.sql", .unique_id = "model.p.m0", .moff = 1234, .mlen = 512, .roff = 99,
                        .rlen = 1024, .compiled_path = "t/c/m0.sql", .patch_file = NULL, .deps = deps, .ndeps = 2};
    cache_delta_add(&nodes, &e);
    CacheDeltaNode e2 = {.ofp = "m1.sql", .unique_id = "model.p.m1", .compiled_path = "t/c/m1.sql",
                         .patch_file = "models/_p.yml"};
    cache_delta_add(&nodes, &e2);
    /* a third model whose parents are the first's (their stubs stored once) */
    uint32_t refs[2] = {0, 1};
    CacheDeltaNode e3 = {.ofp = "sub/m2.sql", .unique_id = "model.p.m2", .moff = 1ll << 40, .mlen = 64,
                         .compiled_path = "/abs/target/compiled/p/sub/m2.sql", .patch_file = "sub/_props.yml",
                         .ndeps = 2};
    cache_delta_add_refs(&nodes, &e3, refs);
    ck_assert_uint_eq(nodes.nstubs, 2);
    ck_assert_int_eq(STORE(&nodes), 1);
    const char *why = NULL;
    CacheSnap *s = cache_snap_lookup(c, key, true, &why);
    ck_assert_ptr_nonnull(s);
    const char *const *ch;
    ck_assert_uint_eq(cache_snap_changed(s, &ch), 0);
    cache_snap_free(s);

    /* one input edited in place: a change (not a failure) only when asked */
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(ins[0], "select 22", 9), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));
    ck_assert_uint_eq(cache_snap_changed(s, &ch), 1);
    ck_assert_str_eq(ch[0], ins[0]);
    ck_assert(cache_snap_has_input(s, ins[3]));
    ck_assert(!cache_snap_has_input(s, out2));
    ck_assert(cache_snap_has_env(s, "CDBT_SNAP_TEST"));
    ck_assert(!cache_snap_has_env(s, "CDBT_OTHER"));
    /* the node table entry, whole */
    CacheDeltaNode got;
    ck_assert(cache_snap_find_node(c, s, "m0.sql", &a, &got));
    ck_assert_str_eq(got.ofp, "m0.sql");
    ck_assert_str_eq(got.unique_id, "model.p.m0");
    ck_assert_int_eq(got.moff, 1234);
    ck_assert_uint_eq(got.mlen, 512);
    ck_assert_int_eq(got.roff, 99);
    ck_assert_uint_eq(got.rlen, 1024);
    ck_assert_str_eq(got.compiled_path, "t/c/m0.sql");
    ck_assert_ptr_null(got.patch_file);
    ck_assert_int_eq(got.ndeps, 2);
    ck_assert_str_eq(got.deps[0].alias, "up_alias");
    ck_assert_str_eq(got.deps[0].materialized, "view");
    ck_assert_int_eq(got.deps[0].quoting.type, V_NONE);
    ck_assert_int_eq(got.deps[1].rt, RT_SOURCE);
    ck_assert_str_eq(got.deps[1].identifier, "t_ident");
    ck_assert_str_eq(got.deps[1].source_name, "raw");
    ck_assert_int_eq(got.deps[1].quoting.type, V_DICT);
    ck_assert_int_eq(got.deps[1].quoting.u.d->len, 1);
    ck_assert_ptr_null(got.deps[1].materialized);
    ck_assert_ptr_null(got.deps[0].identifier);
    ck_assert(!cache_snap_find_node(c, s, "nope.sql", &a, &got));
    ck_assert(!cache_snap_find_node(c, s, "m0.sq", &a, &got));
    ck_assert(cache_snap_find_node(c, s, "m1.sql", &a, &got));
    ck_assert_str_eq(got.patch_file, "models/_p.yml");
    ck_assert_str_eq(got.compiled_path, "t/c/m1.sql");
    ck_assert_int_eq(got.ndeps, 0);
    ck_assert(cache_snap_find_node(c, s, "sub/m2.sql", &a, &got));
    ck_assert_int_eq(got.moff, 1ll << 40);
    ck_assert_str_eq(got.compiled_path, "/abs/target/compiled/p/sub/m2.sql");
    ck_assert_str_eq(got.patch_file, "sub/_props.yml");
    ck_assert_int_eq(got.ndeps, 2);
    ck_assert_str_eq(got.deps[0].unique_id, "model.p.up");
    ck_assert_str_eq(got.deps[1].unique_id, "source.p.raw.t");

    /* recorded by a run that started after the change: the new stat supersedes */
    ck_assert_int_eq(fs_write_file_direct(out2, "select 22", 9), 0);
    const char *rec[] = {ins[0], out2};
    ck_assert_int_eq(cache_snap_record(c, s, 4.0e9, rec, NULL, 2, 1), 0);
    cache_snap_free(s);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    /* recorded while racy (changed at or after the run started): always a change */
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));
    ck_assert_int_eq(cache_snap_record(c, s, 1.0, rec, NULL, 2, 1), 0);
    cache_snap_free(s);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));
    ck_assert_uint_eq(cache_snap_changed(s, &ch), 1);
    ck_assert_int_eq(cache_snap_record(c, s, 4.0e9, rec, NULL, 2, 1), 0);
    cache_snap_free(s);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);

    /* an output edited is never a change; nor is a deleted input */
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(out2, "select 3", 8), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, true, &why));
    ck_assert(strstr(why, "output") != NULL);
    ck_assert_int_eq(STORE_WITH(NULL, NULL), 1);
    unlink(ins[5]);
    ck_assert_ptr_null(cache_snap_lookup(c, key, true, &why));
    ck_assert_int_eq(fs_write_file(ins[5], "select 1", 8), 0);
    ck_assert_int_eq(STORE_WITH(NULL, NULL), 1);
    /* shifts: an entry rewritten at another length moves what follows it */
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));
    ck_assert_int_eq(cache_snap_shift(c, s, 0, 100, 512), 0);
    ck_assert_int_eq(cache_snap_shift(c, s, 0, 1000, -512), 0);   /* in the moved file's terms */
    uint32_t l = 512;
    ck_assert_int_eq(cache_snap_offset(s, 0, 50, &l), 50);
    ck_assert_uint_eq(l, 512);
    ck_assert_int_eq(cache_snap_offset(s, 0, 100, &l), 100);
    ck_assert_uint_eq(l, 1024);                                   /* the rewritten entry itself */
    ck_assert_int_eq(cache_snap_offset(s, 0, 488, NULL), 1000);   /* moved to 1000: itself rewritten there */
    ck_assert_int_eq(cache_snap_offset(s, 0, 2000, NULL), 2000);  /* +512 -512 */
    ck_assert_int_eq(cache_snap_offset(s, 1, 2000, NULL), 2000);  /* another file */
    cache_snap_free(s);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));   /* read back from the database */
    ck_assert_int_eq(cache_snap_offset(s, 0, 200, NULL), 712);
    cache_snap_free(s);
    /* a store drops the node table, the overrides and the shifts of its key */
    ck_assert_int_eq(STORE_WITH(NULL, NULL), 1);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));
    ck_assert(!cache_snap_find_node(c, s, "m0.sql", &a, &got));
    ck_assert_int_eq(cache_snap_offset(s, 0, 200, NULL), 200);
    cache_snap_free(s);
    /* more than eight inputs changed: not a delta */
    usleep(20000);
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(fs_write_file_direct(ins[i], "select 9", 8), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, true, &why));
    ck_assert_int_eq(fs_write_file_direct(ins[0], "select 1", 8), 0);

    /* only the node table's files are changes: any other file edited (a
     * macro, say) fails the lookup at once, and *why names it */
    ck_assert_int_eq(STORE(&nodes), 1);
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(ins[1], "select 11", 9), 0);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));
    ck_assert_uint_eq(cache_snap_changed(s, &ch), 1);
    ck_assert_str_eq(ch[0], ins[1]);
    cache_snap_free(s);
    ck_assert_int_eq(fs_write_file_direct(ins[4], "select 44", 9), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, true, &why));
    ck_assert(strstr(why, "a project file changed") && strstr(why, ins[4]));
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, ins[1]));                 /* the first difference, without changes */
    /* a node table relative to another root marks nothing */
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, inp, NULL, 10, envs, 1, d, outs, NULL, NULL, 2, 1, NULL, NULL, "info", 4,
                                      copy_table, &nodes, "/nonexistent", NULL, 0, NULL, NULL, &w), 1);
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(ins[0], "select 0", 8), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, true, &why));
    ck_assert(strstr(why, ins[0]));
    cache_delta_free(&nodes);
    arena_free(&a);
    cache_close(c);
    unsetenv("CDBT_SNAP_TEST");
    rmdir_all(d);
#undef STORE
#undef STORE_WITH
}
END_TEST

/* A node table of many models: each stub stored once, in chunks; entries
 * find their parents across chunks; a second store replaces the first. */
START_TEST(snapshot_node_table_chunks)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    char in[512];
    snprintf(in, sizeof in, "%s/dbt_project.yml", d);
    ck_assert_int_eq(fs_write_file(in, "name: p", 7), 0);
    const char *inp[] = {in};
    const char *parts[] = {"compile", "chunks"};
    uint8_t key[32];
    cache_snap_key(parts, 2, key);
    Arena a;
    arena_init(&a, 0);
    for (int round = 0; round < 2; round++) {
        CacheDeltaTable t;
        cache_delta_init(&t);
        enum { NSTUB = 300, NMODEL = 500 };
        for (int i = 0; i < NSTUB; i++) {
            CacheDeltaDep dep = {.rt = RT_MODEL, .unique_id = arena_sprintf(&a, "model.p.up%d_%d", i, round),
                                 .name = arena_sprintf(&a, "up%d", i), .package = "p", .database = "db",
                                 .schema = "s", .alias = "", .materialized = "table", .quoting = v_none()};
            ck_assert_uint_eq(cache_delta_stub(&t, &dep), (uint32_t)i);
        }
        for (int i = 0; i < NMODEL; i++) {
            uint32_t refs[3] = {(uint32_t)(i % NSTUB), (uint32_t)((i * 7 + 65) % NSTUB), (uint32_t)(NSTUB - 1)};
            const char *ofp = arena_sprintf(&a, "models/d%d/m%d.sql", i % 7, i);
            CacheDeltaNode e = {.ofp = ofp, .unique_id = arena_sprintf(&a, "model.p.m%d", i), .moff = i * 4096 + round,
                                .mlen = 4096, .roff = i * 512, .rlen = 512,
                                .compiled_path = arena_sprintf(&a, "target/compiled/p/%s", ofp),
                                .patch_file = i % 3 ? arena_sprintf(&a, "models/d%d/_schema.yml", i % 7) : NULL,
                                .ndeps = i % 4};
            cache_delta_add_refs(&t, &e, refs);
        }
        ck_assert_uint_eq(t.nents, NMODEL);
        ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, inp, NULL, 1, NULL, 0, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, "i", 1,
                                          copy_table, &t, d, NULL, 0, NULL, NULL, &w), 1);
        cache_delta_free(&t);
        const char *why;
        CacheSnap *s = cache_snap_lookup(c, key, true, &why);
        ck_assert_ptr_nonnull(s);
        for (int i = 0; i < NMODEL; i++) {
            CacheDeltaNode got;
            const char *ofp = arena_sprintf(&a, "models/d%d/m%d.sql", i % 7, i);
            ck_assert(cache_snap_find_node(c, s, ofp, &a, &got));
            ck_assert_int_eq(got.moff, i * 4096 + round);
            ck_assert_uint_eq(got.rlen, 512);
            ck_assert_str_eq(got.compiled_path, arena_sprintf(&a, "target/compiled/p/%s", ofp));
            if (i % 3)
                ck_assert_str_eq(got.patch_file, arena_sprintf(&a, "models/d%d/_schema.yml", i % 7));
            else
                ck_assert_ptr_null(got.patch_file);
            ck_assert_int_eq(got.ndeps, i % 4);
            int want[3] = {i % NSTUB, (i * 7 + 65) % NSTUB, NSTUB - 1};
            for (int k = 0; k < got.ndeps; k++) {
                ck_assert_str_eq(got.deps[k].unique_id, arena_sprintf(&a, "model.p.up%d_%d", want[k], round));
                ck_assert_str_eq(got.deps[k].name, arena_sprintf(&a, "up%d", want[k]));
                ck_assert_str_eq(got.deps[k].alias, "");
                ck_assert_ptr_null(got.deps[k].identifier);
            }
        }
        cache_snap_free(s);
    }
    arena_free(&a);
    cache_close(c);
    rmdir_all(d);
}
END_TEST

/* Lists grouped by directory as given: a path given twice, relative and
 * absolute spellings of one directory, many directories, an output
 * recorded missing; each difference is still seen. */
START_TEST(snapshot_paths_grouped)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    Arena a;
    arena_init(&a, 0);
    enum { NDIR = 40, NOUT = 300 };
    const char *ins[NDIR + 3], *outs[NOUT + 3];
    size_t nin = 0, nout = 0;
    for (int i = 0; i < NDIR; i++) {
        const char *f = arena_sprintf(&a, "%s/m/d%02d/x.sql", d, i);
        ck_assert_int_eq(fs_write_file(f, "select 1", 8), 0);
        ins[nin++] = f;
    }
    ins[nin++] = ins[3];                                          /* twice */
    ins[nin++] = arena_sprintf(&a, "%s/m", d);                    /* a directory */
    ins[nin++] = arena_sprintf(&a, "%s/m/d07/probed.yml", d);     /* missing */
    outs[nout++] = arena_sprintf(&a, "%s/t/manifest.json", d);   /* the head */
    ck_assert_int_eq(fs_write_file(outs[0], "{}", 2), 0);
    for (int i = 0; i < NOUT; i++) {
        const char *rel = arena_sprintf(&a, "t/c/o%03d.sql", i);
        ck_assert_int_eq(fs_write_file(arena_sprintf(&a, "%s/%s", d, rel), "x", 1), 0);
        outs[nout++] = rel;
    }
    outs[nout++] = arena_sprintf(&a, "%s/t/c/o007.sql", d);       /* the same file, absolute */
    outs[nout++] = "t/c/none.sql";                                /* recorded missing */
    const char *parts[] = {"compile", "grouped"};
    uint8_t key[32];
    cache_snap_key(parts, 2, key);
#define STORE() ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, NULL, nin, NULL, 0, d, outs, NULL, NULL, nout, 1, NULL, \
                                                  NULL, "i", 1, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1)
    STORE();
    const char *why;
    CacheSnap *s = cache_snap_lookup(c, key, false, &why);
    ck_assert_msg(s != NULL, "%s", why);
    cache_snap_free(s);
    /* an input in the last directory edited */
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(ins[NDIR - 1], "select 2", 8), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, ins[NDIR - 1]));
    STORE();
    /* the missing output appears (once the directory is past the margin
     * and vouched, so the directory's stat is what sees it) */
    usleep(80000);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    /* t/c, relative and absolute (one override each): recorded now when
     * the store found the directory racy, as it does unless this ran
     * slowly; on a loaded machine (ASan beside other jobs) the store may
     * have seen one group racy and, past the margin, not the other */
    int settled = cache_snap_settle(c, s);
    ck_assert_msg(settled >= 0 && settled <= 2, "settled %d", settled);
    cache_snap_free(s);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    ck_assert_int_eq(cache_snap_settle(c, s), 0);
    cache_snap_free(s);
    ck_assert_int_eq(fs_write_file(arena_sprintf(&a, "%s/t/c/none.sql", d), "x", 1), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "output") && strstr(why, "none.sql"));
    /* stored again with it there, then one output deleted */
    STORE();
    usleep(80000);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    ck_assert_int_eq(unlink(arena_sprintf(&a, "%s/t/c/o123.sql", d)), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "o123.sql"));
    ck_assert_int_eq(fs_write_file(arena_sprintf(&a, "%s/t/c/o123.sql", d), "x", 1), 0);
    /* with a node table (built while the other thread encodes the 300
     * outputs): its files among the inputs are changes, the others not */
    CacheDeltaTable t;
    cache_delta_init(&t);
    CacheDeltaNode e = {.ofp = "m/d05/x.sql", .unique_id = "model.p.x5", .compiled_path = "t/c/o005.sql"};
    cache_delta_add(&t, &e);
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, NULL, nin, NULL, 0, d, outs, NULL, NULL, nout, 1, NULL, NULL, "i",
                                      1, copy_table, &t, d, NULL, 0, NULL, NULL, &w), 1);
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(ins[5], "select 5", 8), 0);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, true, &why));
    const char *const *ch;
    ck_assert_uint_eq(cache_snap_changed(s, &ch), 1);
    ck_assert_str_eq(ch[0], ins[5]);
    CacheDeltaNode got;
    ck_assert(cache_snap_find_node(c, s, "m/d05/x.sql", &a, &got));
    ck_assert_str_eq(got.compiled_path, "t/c/o005.sql");
    cache_snap_free(s);
    ck_assert_int_eq(fs_write_file_direct(ins[6], "select 6", 8), 0);
    ck_assert_ptr_null(cache_snap_lookup(c, key, true, &why));
    ck_assert(strstr(why, ins[6]));
    cache_delta_free(&t);
#undef STORE
    arena_free(&a);
    cache_close(c);
    rmdir_all(d);
}
END_TEST

/* An output directory unchanged since the run started is vouched for
 * without listing it: the stats the writer took during the run stand (here
 * one with a wrong inode, to tell the two ways apart); changed since the
 * start, it is listed and the wrong inode seen. */
START_TEST(snapshot_dirs_quiet_since_start)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    SnapFiles f;
    snap_files(d, &f);
    const char *in1 = f.in1, *head = f.head, *o1 = f.o1, *o2 = f.o2;
    char stray[512];
    snprintf(stray, sizeof stray, "%s/t/c/stray.txt", d);
    const char *parts[] = {"compile", "quiet"};
    uint8_t key[32];
    cache_snap_key(parts, 2, key);
    const char *ins[] = {in1}, *outs[] = {head, o1, o2};
    const char *why;
    CacheSnap *s;
    for (int changed = 0; changed < 2; changed++) {
        usleep(80000);                                    /* the directory is older than the margin */
        double started = clock_epoch();
        usleep(80000);                                    /* nor is the input racy */
        /* this run rewrites the outputs in place; its writer's stat of a.sql is off */
        ck_assert_int_eq(fs_write_file_direct(o1, "a", 1), 0);
        ck_assert_int_eq(fs_write_file_direct(o2, "b", 1), 0);
        if (changed)
            ck_assert_int_eq(fs_write_file_direct(stray, "x", 1), 0);
        struct stat sa0;
        ck_assert_int_eq(stat(o1, &sa0), 0);
        FsStamp sa;
        fs_stamp(&sa, &sa0);
        sa.ino += 1000;
        const FsStamp *ost[] = {NULL, &sa, NULL};
        usleep(80000);                                    /* the change is past the margin */
        ck_assert_int_eq(cache_snap_store(c, key, started, ins, NULL, 1, NULL, 0, NULL, outs, ost, NULL, 3, 1, NULL, NULL, "i",
                                          1, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1);
        s = cache_snap_lookup(c, key, false, &why);
        if (!changed) {
            ck_assert_msg(s != NULL, "%s", why);          /* vouched: a.sql not stat()ed */
            ck_assert_int_eq(cache_snap_settle(c, s), 0);
            cache_snap_free(s);
        } else {
            ck_assert_ptr_null(s);                         /* listed: the inode differs */
            ck_assert(strstr(why, "output") && strstr(why, "a.sql"));
        }
    }
    cache_close(c);
    rmdir_all(d);
}
END_TEST

/* Inputs stored with the stat their reader took: a file changed since it
 * was read no longer matches; a stat from after the run started is racy. */
START_TEST(snapshot_inputs_stat_as_read)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    char in1[512], in2[512];
    snprintf(in1, sizeof in1, "%s/a.sql", d);
    snprintf(in2, sizeof in2, "%s/b.sql", d);
    ck_assert_int_eq(fs_write_file(in1, "select 1", 8), 0);
    ck_assert_int_eq(fs_write_file(in2, "select 2", 8), 0);
    const char *ins[] = {in1, in2, d};
    const char *parts[] = {"compile", "as-read"};
    uint8_t key[32];
    cache_snap_key(parts, 2, key);
    struct stat read1;
    ck_assert_int_eq(stat(in1, &read1), 0);
    FsStamp r1;
    fs_stamp(&r1, &read1);
    const FsStamp *st[] = {&r1, NULL, NULL};            /* b.sql and the directory: stat()ed by the store */
    const char *why;
    CacheSnap *s;
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, st, 3, NULL, 0, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, "i", 1,
                                      NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1);
    ck_assert_ptr_nonnull(s = cache_snap_lookup(c, key, false, &why));
    cache_snap_free(s);
    /* a.sql edited in place after it was read, before the store */
    usleep(20000);
    ck_assert_int_eq(fs_write_file_direct(in1, "select 9", 8), 0);
    ck_assert_int_eq(cache_snap_store(c, key, 4.0e9, ins, st, 3, NULL, 0, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, "i", 1,
                                      NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 1);
    ck_assert_ptr_null(cache_snap_lookup(c, key, false, &why));
    ck_assert(strstr(why, "a.sql"));
    /* the stat as read is racy when the run started before the file changed */
    ck_assert_int_eq(stat(in1, &read1), 0);
    fs_stamp(&r1, &read1);
    ck_assert_int_eq(cache_snap_store(c, key, (double)read1.st_mtim.tv_sec, ins, st, 3, NULL, 0, NULL, NULL, NULL, NULL, 0,
                                      0, NULL, NULL, "i", 1, NULL, NULL, NULL, NULL, 0, NULL, NULL, &w), 0);
    ck_assert(w && strstr(w, "a.sql changed during the run"));
    free(w);
    cache_close(c);
    rmdir_all(d);
}
END_TEST

/* Only the most recent command lines are kept, with what hangs off them. */
START_TEST(snapshot_oldest_evicted)
{
    char *d, *w;
    Cache *c = fresh_cache(&d, &w);
    char in1[512];
    snprintf(in1, sizeof in1, "%s/m.sql", d);
    ck_assert_int_eq(fs_write_file(in1, "select 1", 8), 0);
    const char *ins[] = {in1};
    CacheDeltaTable t;
    cache_delta_init(&t);
    CacheDeltaDep dep = {.rt = RT_MODEL, .unique_id = "model.p.up", .name = "up", .quoting = v_none()};
    CacheDeltaNode e = {.ofp = "m.sql", .unique_id = "model.p.m", .deps = &dep, .ndeps = 1};
    cache_delta_add(&t, &e);
    uint8_t keys[10][32];
    for (int i = 0; i < 10; i++) {
        char part[16];
        snprintf(part, sizeof part, "cmd%d", i);
        const char *parts[] = {part};
        cache_snap_key(parts, 1, keys[i]);
        ck_assert_int_eq(cache_snap_store(c, keys[i], 4.0e9, ins, NULL, 1, NULL, 0, NULL, NULL, NULL, NULL, 0, 0, NULL,
                                          NULL, "i", 1, copy_table, &t, d, NULL, 0, NULL, NULL, &w), 1);
    }
    const char *why;
    for (int i = 0; i < 10; i++) {
        CacheSnap *s = cache_snap_lookup(c, keys[i], false, &why);
        ck_assert_msg((s != NULL) == (i >= 2), "snapshot %d: %s", i, s ? "kept" : why);
        cache_snap_free(s);
    }
    cache_close(c);
    char db[600];
    snprintf(db, sizeof db, "%s/cdbt.db", d);
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM snapshots), (SELECT count(DISTINCT key) "
                                        "FROM snapshot_nodes), (SELECT count(DISTINCT key) FROM snapshot_stubs), "
                                        "(SELECT count(*) FROM snapshot_heads)", -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(sqlite3_column_int(q, k), 8);
    sqlite3_finalize(q);
    sqlite3_close(h);
    cache_delta_free(&t);
    rmdir_all(d);
}
END_TEST

START_TEST(parse_store_restore_invalidate)
{
    char *d = tmpdir();
    char *w = NULL;
    CacheParseEnv env = {"parse", false, false, false};
    unsetenv("CDBT_TEST_CACHE_ENV");

    /* 1: miss, parse, store */
    Project *p = mini_project();
    Cache *c = cache_open(d, &w);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    ck_assert(!cache_parse_skip(c, p->nodes[0]));
    fake_parse(p, c, NULL);
    ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
    ck_assert_ptr_null(w);
    cache_close(c);
    mini_free(p);

    /* 2: same inputs: restored exactly */
    p = mini_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 1);
    Node *n = p->nodes[0];
    ck_assert(cache_parse_skip(c, n));
    ck_assert_str_eq(dict_getz(n->config, "materialized")->u.s->s, "table");
    ck_assert_int_eq(n->nrefs, 1);
    ck_assert_str_eq(n->refs[0].name, "up");
    ck_assert_ptr_null(n->refs[0].package);
    ck_assert_int_eq((int)n->tags->len, 1);
    cache_parse_end(c, p, &w);
    /* released: the per-node state is gone, the counters and hooks stay safe */
    cache_parse_release(c);
    ck_assert(!cache_parse_skip(c, n));
    cache_env_read(c, n, "CDBT_TEST_CACHE_ENV", "x");
    int nrest = 0, npar = 0, nunc = 0;
    cache_parse_stats(c, &nrest, &npar, &nunc);
    ck_assert_int_eq(nrest, 1);
    cache_close(c);
    mini_free(p);

    /* 3: the env var the render read now has a value: re-parse */
    setenv("CDBT_TEST_CACHE_ENV", "incremental", 1);
    p = mini_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    fake_parse(p, c, "incremental");
    cache_parse_end(c, p, &w);
    cache_close(c);
    mini_free(p);
    p = mini_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 1);
    ck_assert_str_eq(dict_getz(p->nodes[0]->config, "materialized")->u.s->s, "incremental");
    cache_close(c);
    mini_free(p);
    unsetenv("CDBT_TEST_CACHE_ENV");

    /* 4: another input (the file checksum, the command) changes: miss */
    p = mini_project();
    p->nodes[0]->checksum = "y";
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    cache_close(c);
    mini_free(p);

    /* the command is part of the key only for renders that may read flags */
    CacheParseEnv env2 = {"run", false, false, false};
    for (int uses_flags = 0; uses_flags < 2; uses_flags++) {
        const char *code = uses_flags ? "{{ flags.WHICH }}" : "select 1";
        p = mini_project();
        p->nodes[0]->raw_code = code;
        p->nodes[0]->raw_len = strlen(code);
        c = cache_open(d, &w);
        cache_parse_begin(c, p, &env, &w);
        fake_parse(p, c, NULL);
        ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
        cache_close(c);
        mini_free(p);
        p = mini_project();
        p->nodes[0]->raw_code = code;
        p->nodes[0]->raw_len = strlen(code);
        c = cache_open(d, &w);
        ck_assert_int_eq(cache_parse_begin(c, p, &env2, &w), uses_flags ? 0 : 1);
        cache_close(c);
        mini_free(p);
    }

    /* 5: a render that may read invocation_id is never cached */
    p = mini_project();
    p->nodes[0]->raw_code = "{{ invocation_id }}";
    p->nodes[0]->raw_len = strlen(p->nodes[0]->raw_code);
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    fake_parse(p, c, NULL);
    cache_parse_end(c, p, &w);
    int r, np, u;
    cache_parse_stats(c, &r, &np, &u);
    ck_assert_int_eq(u, 1);
    cache_close(c);
    mini_free(p);
    p = mini_project();
    p->nodes[0]->raw_code = "{{ invocation_id }}";
    p->nodes[0]->raw_len = strlen(p->nodes[0]->raw_code);
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    cache_close(c);
    mini_free(p);
    ck_assert_ptr_null(w);
    rmdir_all(d);
}
END_TEST

/* A config the parse changed is stored as its changes (compared value by
 * value with the loader's) and restored exactly: a value equal in Python
 * but of another type (1 -> 1.0, 1 -> True), a nested dict changed, a key
 * added; unchanged keys keep the loader's values. */
static Project *config_project(void)
{
    Project *p = mini_project();
    Node *n = p->nodes[0];
    dict_setz(&p->arena, n->config, "lookback", v_int(1));
    dict_setz(&p->arena, n->config, "batch", v_int(1));
    Value docs = v_dict(&p->arena);
    dict_setz(&p->arena, docs.u.d, "show", v_bool(true));
    dict_setz(&p->arena, n->config, "docs", docs);
    n->unrendered_config = v_dict(&p->arena).u.d;
    dict_setz(&p->arena, n->unrendered_config, "materialized", v_strz(&p->arena, "view"));
    return p;
}

START_TEST(parse_store_config_changes)
{
    char *d = tmpdir();
    char *w = NULL;
    CacheParseEnv env = {"parse", false, false, false};
    Project *p = config_project();
    Cache *c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    Node *n = p->nodes[0];
    dict_setz(&p->arena, n->config, "lookback", v_float(1.0));
    dict_setz(&p->arena, n->config, "batch", v_bool(true));
    Value docs = v_dict(&p->arena);
    dict_setz(&p->arena, docs.u.d, "show", v_bool(false));
    dict_setz(&p->arena, n->config, "docs", docs);
    Value extra = v_list(&p->arena, 2);
    list_append(&p->arena, extra.u.l, v_int(7));
    list_append(&p->arena, extra.u.l, v_strz(&p->arena, "x"));
    dict_setz(&p->arena, n->config, "extra", extra);
    ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
    ck_assert_int_eq(cache_parse_wait(c, &w), 0);
    cache_close(c);
    mini_free(p);

    /* stored as changes: 'P' for both dicts, the unrendered one empty */
    char path[512];
    snprintf(path, sizeof path, "%s/cdbt.db", d);
    sqlite3 *db;
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT out FROM parse_nodes", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *out = sqlite3_column_blob(st, 0);
    ck_assert_int_ge(sqlite3_column_bytes(st, 0), 5);
    ck_assert_int_eq(out[4], 'P');
    sqlite3_finalize(st);
    sqlite3_close(db);

    p = config_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 1);
    n = p->nodes[0];
    ck_assert_int_eq((int)n->config->len, 5);
    ck_assert_str_eq(dict_getz(n->config, "materialized")->u.s->s, "view");
    ck_assert_int_eq(dict_getz(n->config, "lookback")->type, V_FLOAT);
    ck_assert_int_eq(dict_getz(n->config, "batch")->type, V_BOOL);
    Value *dv = dict_getz(n->config, "docs");
    ck_assert_int_eq(dv->type, V_DICT);
    ck_assert(!dict_getz(dv->u.d, "show")->u.b);
    Value *ev = dict_getz(n->config, "extra");
    ck_assert_int_eq(ev->type, V_LIST);
    ck_assert_int_eq((int)ev->u.l->len, 2);
    ck_assert_int_eq(ev->u.l->items[0].u.i, 7);
    ck_assert_int_eq((int)n->unrendered_config->len, 1);
    cache_close(c);
    mini_free(p);
    ck_assert_ptr_null(w);
    rmdir_all(d);
}
END_TEST

/* Nodes that share their loader's config objects (as folded configs are
 * shared): each one's changes are found, whether or not the one before
 * changed the same key. */
static Project *shared_project(void)
{
    Project *p = calloc(1, sizeof *p);
    arena_init(&p->arena, 0);
    p->root = "/proj";
    p->name = "p";
    p->nodes = calloc(3, sizeof(Node *));
    Value docs = v_dict(&p->arena);
    dict_setz(&p->arena, docs.u.d, "show", v_bool(true));
    Value mat = v_strz(&p->arena, "view");
    for (int i = 0; i < 3; i++) {
        Node *n = ARENA_NEW(&p->arena, Node);
        n->rt = RT_MODEL;
        n->unique_id = arena_sprintf(&p->arena, "model.p.m%d", i);
        n->name = arena_sprintf(&p->arena, "m%d", i);
        n->package_name = "p";
        n->original_file_path = arena_sprintf(&p->arena, "models/m%d.sql", i);
        n->raw_code = "select 1";
        n->raw_len = 8;
        n->checksum = "x";
        n->config = v_dict(&p->arena).u.d;
        dict_setz(&p->arena, n->config, "materialized", mat);
        dict_setz(&p->arena, n->config, "docs", docs);
        p->nodes[i] = n;
    }
    p->nnodes = 3;
    return p;
}

START_TEST(parse_store_shared_configs)
{
    char *d = tmpdir();
    char *w = NULL;
    CacheParseEnv env = {"parse", false, false, false};
    Project *p = shared_project();
    Cache *c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    /* m0 keeps both, m1 gets another docs, m2 keeps docs and changes materialized */
    Value docs = v_dict(&p->arena);
    dict_setz(&p->arena, docs.u.d, "show", v_bool(false));
    dict_setz(&p->arena, p->nodes[1]->config, "docs", docs);
    dict_setz(&p->arena, p->nodes[2]->config, "materialized", v_strz(&p->arena, "table"));
    ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
    ck_assert_int_eq(cache_parse_wait(c, &w), 0);
    cache_close(c);
    mini_free(p);

    p = shared_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 3);
    static const char *const mat[] = {"view", "view", "table"};
    static const bool show[] = {true, false, true};
    for (int i = 0; i < 3; i++) {
        VDict *cfg = p->nodes[i]->config;
        ck_assert_str_eq(dict_getz(cfg, "materialized")->u.s->s, mat[i]);
        ck_assert(dict_getz(dict_getz(cfg, "docs")->u.d, "show")->u.b == show[i]);
    }
    cache_close(c);
    mini_free(p);
    ck_assert_ptr_null(w);
    rmdir_all(d);
}
END_TEST

/* With CacheParseEnv.lazy, a parse where no stored entry can match (every
 * entry ran a macro whose tags were edited since) neither reads nor writes
 * the entries; without it the keys are still computed and the entries
 * stored.  Going back to the macros of the last store finds them again. */
static int parse_rows(const char *dbpath);

/* shared_project with macros m0.. of these texts (NULL-terminated) */
static Project *macros_project(const char *const *sqls)
{
    Project *p = shared_project();
    int n = 0;
    while (sqls[n])
        n++;
    p->macros = arena_zalloc(&p->arena, sizeof *p->macros * (size_t)n);
    for (int i = 0; i < n; i++) {
        MacroDef *m = ARENA_NEW(&p->arena, MacroDef);
        m->unique_id = arena_sprintf(&p->arena, "macro.p.m%d", i);
        m->name = arena_sprintf(&p->arena, "m%d", i);
        m->original_file_path = arena_sprintf(&p->arena, "macros/m%d.sql", i);
        m->macro_sql = sqls[i];
        p->macros[i] = m;
    }
    p->nmacros = n;
    return p;
}

static Project *macro_project(const char *sql)
{
    const char *sqls[] = {sql, NULL};
    return macros_project(sqls);
}

/* The end of a parse round: store, wait for the store, close, free. */
static void end_round(Cache *c, Project *p)
{
    char *w = NULL;
    ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
    ck_assert_int_eq(cache_parse_wait(c, &w), 0);
    cache_close(c);
    mini_free(p);
    ck_assert_ptr_null(w);
}

/* What the render of node i would record: it ran macro ran[i] (-1: none). */
static void fake_runs(Project *p, Cache *c, const int *ran)
{
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (cache_parse_skip(c, n) || ran[i] < 0)
            continue;
        n->parse_macros = (const MacroDef **)&p->macros[ran[i]];
        n->nparse_macros = 1;
    }
}

static int lazy_round(const char *dir, const char *sql, bool lazy, bool *idle)
{
    char *w = NULL;
    CacheParseEnv env = {"parse", false, false, lazy};
    Project *p = macro_project(sql);
    Cache *c = cache_open(dir, &w);
    int restored = cache_parse_begin(c, p, &env, &w);
    *idle = cache_parse_idle(c);
    static const int all_m0[] = {0, 0, 0};
    fake_runs(p, c, all_m0);
    ck_assert_ptr_null(w);
    end_round(c, p);
    return restored;
}

START_TEST(parse_lazy_after_macro_edit)
{
    char *d = tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/cdbt.db", d);
    const char *a = "{% macro m(x) %}({{ x }}){% endmacro %}", *b = "{% macro m(x) %}({{ x | int }}){% endmacro %}",
               *b2 = "{% macro m(x) %}({{ x | int | int }}){% endmacro %}",
               *t = "{% macro m(x) %}[{{ x }}]{% endmacro %}";
    bool idle;
    ck_assert_int_eq(lazy_round(d, a, true, &idle), 0);        /* no keys stored yet: a normal store */
    ck_assert(!idle);
    ck_assert_int_eq(parse_rows(path), 3);
    ck_assert_int_eq(lazy_round(d, a, true, &idle), 3);        /* same macros: restored */
    ck_assert(!idle);
    ck_assert_int_eq(lazy_round(d, t, true, &idle), 3);        /* text between the tags: restored */
    ck_assert(!idle);
    ck_assert_int_eq(lazy_round(d, b, true, &idle), 0);        /* inside the tags: nothing can match */
    ck_assert(idle);
    ck_assert_int_eq(lazy_round(d, b2, true, &idle), 0);       /* again: the entries are still a's */
    ck_assert(idle);
    ck_assert_int_eq(lazy_round(d, a, true, &idle), 3);        /* back to a: found again */
    ck_assert(!idle);
    ck_assert_int_eq(lazy_round(d, b, false, &idle), 0);       /* not lazy: parsed and stored */
    ck_assert(!idle);
    ck_assert_int_eq(lazy_round(d, b, true, &idle), 3);        /* now b's */
    ck_assert(!idle);
    rmdir_all(d);
}
END_TEST

/* A node is parsed again only when a macro its render ran changed: the
 * text between a macro's tags only for renders that saw macro text; a
 * macro added (what names resolve to may change) for every node; a macro
 * that mentions `flags`: per command; one that mentions the clock: never
 * stored. */
typedef struct MacroRound {
    const char *const *sqls;
    const int *ran;              /* per node: the macro its render runs, -1 none */
    const bool *text_seen;       /* per node, or NULL */
    const char *which;
} MacroRound;

static int macro_round(const char *dir, const MacroRound *r, int *stored)
{
    char *w = NULL;
    CacheParseEnv env = {r->which ? r->which : "parse", false, false, false};
    Project *p = macros_project(r->sqls);
    for (int i = 0; r->text_seen && i < p->nnodes; i++)
        p->nodes[i]->parse_text_seen = r->text_seen[i];
    Cache *c = cache_open(dir, &w);
    int restored = cache_parse_begin(c, p, &env, &w);
    fake_runs(p, c, r->ran);
    ck_assert_ptr_null(w);
    end_round(c, p);
    char path[512];
    snprintf(path, sizeof path, "%s/cdbt.db", dir);
    *stored = parse_rows(path);
    return restored;
}

START_TEST(parse_keyed_on_macros_run)
{
    char *d = tmpdir();
    int stored;
    const char *a0 = "{% macro m0() %}a{% endmacro %}", *a1 = "{% macro m1() %}b{% endmacro %}",
               *t1 = "{% macro m1() %}B{% endmacro %}", *g1 = "{% macro m1() %}{{ 1 }}b{% endmacro %}",
               *extra = "{% macro m2() %}c{% endmacro %}",
               *f1 = "{% macro m1() %}{{ flags.WHICH }}{% endmacro %}",
               *v1 = "{% macro m1() %}{{ invocation_id }}{% endmacro %}";
    static const int ran[] = {0, 0, 1};   /* m0 by nodes 0 and 1, m1 by node 2 */
    const char *s_a[] = {a0, a1, NULL}, *s_t[] = {a0, t1, NULL}, *s_g[] = {a0, g1, NULL},
               *s_x[] = {a0, g1, extra, NULL}, *s_f[] = {a0, f1, NULL}, *s_v[] = {a0, v1, NULL};
    MacroRound r = {s_a, ran, NULL, NULL};
    ck_assert_int_eq(macro_round(d, &r, &stored), 0);
    ck_assert_int_eq(stored, 3);
    ck_assert_int_eq(macro_round(d, &r, &stored), 3);
    /* the text of m1: node 2 saw no macro text, its entry holds */
    r.sqls = s_t;
    ck_assert_int_eq(macro_round(d, &r, &stored), 3);
    /* inside m1's tags: node 2 alone is parsed again */
    r.sqls = s_g;
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);
    ck_assert_int_eq(macro_round(d, &r, &stored), 3);
    /* a render that saw macro text: node 2 is keyed on m1's whole text */
    static const bool seen[] = {false, false, true};
    r.text_seen = seen;
    r.sqls = s_a;
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);
    r.sqls = s_t;
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);
    ck_assert_int_eq(macro_round(d, &r, &stored), 3);
    r.text_seen = NULL;
    r.sqls = s_g;
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);
    /* a macro added: names may resolve elsewhere, every node parsed */
    r.sqls = s_x;
    ck_assert_int_eq(macro_round(d, &r, &stored), 0);
    ck_assert_int_eq(macro_round(d, &r, &stored), 3);
    /* m1 reads flags: node 2's entry holds for its command only */
    r.sqls = s_f;
    ck_assert_int_eq(macro_round(d, &r, &stored), 0);     /* (m2 is gone) */
    ck_assert_int_eq(macro_round(d, &r, &stored), 3);
    r.which = "compile";
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);
    r.which = NULL;
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);     /* (the last store was compile's) */
    /* m1 reads the clock: node 2 is never stored */
    r.sqls = s_v;
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);
    ck_assert_int_eq(macro_round(d, &r, &stored), 2);
    rmdir_all(d);
}
END_TEST

/* A node is parsed again only when a var its render read changed: node 0
 * reads a, node 1 b (and c, not defined), node 2 none.  --vars over the
 * project's; a var defined that no render read changes nothing; a value
 * that mentions the clock is never stored, one that mentions `flags` holds
 * per command. */
static const char *const *g_var_names[3];
static int g_nvar_names[3];
static char g_why[256];          /* cache_parse_why of the last round */

static int vars_round(const char *dir, const char *vars_yaml_a, const char *vars_yaml_b, const char *cli_a,
                      const char *which)
{
    char *w = NULL;
    CacheParseEnv env = {which ? which : "parse", false, false, false};
    Project *p = shared_project();
    p->vars = v_dict(&p->arena).u.d;
    if (vars_yaml_a)
        dict_setz(&p->arena, p->vars, "a", v_strz(&p->arena, vars_yaml_a));
    if (vars_yaml_b)
        dict_setz(&p->arena, p->vars, "b", v_strz(&p->arena, vars_yaml_b));
    if (cli_a) {
        p->cli_vars = v_dict(&p->arena).u.d;
        dict_setz(&p->arena, p->cli_vars, "a", v_strz(&p->arena, cli_a));
    }
    Cache *c = cache_open(dir, &w);
    int restored = cache_parse_begin(c, p, &env, &w);
    for (int i = 0; i < 3; i++) {
        if (cache_parse_skip(c, p->nodes[i]))
            continue;
        p->nodes[i]->parse_vars = (const char **)g_var_names[i];
        p->nodes[i]->nparse_vars = g_nvar_names[i];
    }
    ck_assert_ptr_null(w);
    cache_parse_why(c, g_why, sizeof g_why);
    end_round(c, p);
    return restored;
}

START_TEST(parse_keyed_on_vars_read)
{
    char *d = tmpdir();
    static const char *const reads0[] = {"a"}, *const reads1[] = {"c", "b"};
    g_var_names[0] = reads0;
    g_nvar_names[0] = 1;
    g_var_names[1] = reads1;
    g_nvar_names[1] = 2;
    g_var_names[2] = NULL;
    g_nvar_names[2] = 0;
    ck_assert_int_eq(vars_round(d, "1", "2", NULL, NULL), 0);
    ck_assert_str_eq(g_why, "3: not stored yet");
    ck_assert_int_eq(vars_round(d, "1", "2", NULL, NULL), 3);
    ck_assert_str_eq(g_why, "");
    ck_assert_int_eq(vars_round(d, "1", "3", NULL, NULL), 2);       /* b: node 1 */
    ck_assert_str_eq(g_why, "1: var b changed");
    ck_assert_int_eq(vars_round(d, "1", "3", "1", NULL), 3);        /* --vars a: the same value */
    ck_assert_int_eq(vars_round(d, "1", "3", "9", NULL), 2);        /* --vars a over the project's: node 0 */
    ck_assert_int_eq(vars_round(d, "5", "3", "9", NULL), 3);        /* the project's a, under --vars: nothing */
    ck_assert_int_eq(vars_round(d, "5", NULL, "9", NULL), 2);       /* b no longer defined: node 1 */
    ck_assert_int_eq(vars_round(d, "5", NULL, "9", NULL), 3);
    ck_assert_int_eq(vars_round(d, "5", NULL, "{{ invocation_id }}", NULL), 2);
    ck_assert_int_eq(vars_round(d, "5", NULL, "{{ invocation_id }}", NULL), 2);   /* never stored */
    ck_assert_str_eq(g_why, "1: var a changed");         /* (from the row stored for "9") */
    ck_assert_int_eq(vars_round(d, "5", NULL, "{{ flags.WHICH }}", NULL), 2);
    ck_assert_int_eq(vars_round(d, "5", NULL, "{{ flags.WHICH }}", NULL), 3);
    ck_assert_int_eq(vars_round(d, "5", NULL, "{{ flags.WHICH }}", "compile"), 2);
    rmdir_all(d);
}
END_TEST

/* The parse store runs on a thread of its own: cache_parse_end returns
 * while another connection still holds the write lock; the next user of
 * the cache waits for it; its failure is reported by cache_parse_wait in
 * cache_parse_end's words; cache_close joins it. */
typedef struct Unlock { sqlite3 *db; } Unlock;

static void *unlock_later(void *arg)
{
    Unlock *u = arg;
    usleep(200 * 1000);
    sqlite3_exec(u->db, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

static int parse_rows(const char *dbpath)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM parse_nodes", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

START_TEST(parse_store_background)
{
    char *d = tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/cdbt.db", d);
    char *w = NULL;
    CacheParseEnv env = {"parse", false, false, false};
    unsetenv("CDBT_TEST_CACHE_ENV");

    /* 1: stored in the background, behind another writer's lock; a result
     * recorded meanwhile waits for the store */
    Project *p = mini_project();
    Cache *c = cache_open(d, &w);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    fake_parse(p, c, NULL);
    sqlite3 *other;
    ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
    ck_assert_ptr_null(w);
    /* the caller's nodes are its own again: the store read them already */
    p->nodes[0]->nrefs = 0;
    cache_parse_release(c);
    pthread_t t;
    Unlock u = {other};
    pthread_create(&t, NULL, unlock_later, &u);
    ck_assert_int_eq(cache_record_result(c, "model.p.m", "success", 1.0e9, 0.5, NULL), 0);
    ck_assert_int_eq(parse_rows(path), 1);
    pthread_join(t, NULL);
    sqlite3_close(other);
    ck_assert_int_eq(cache_parse_wait(c, &w), 0);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(cache_parse_wait(c, &w), 0);      /* nothing left to wait for */
    cache_close(c);
    mini_free(p);

    /* 2: the next run sees the stored row (with the refs read before they were cleared) */
    p = mini_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 1);
    ck_assert_int_eq(p->nodes[0]->nrefs, 1);
    ck_assert_str_eq(cache_last_status(c, "model.p.m"), "success");
    cache_close(c);
    mini_free(p);

    /* 3: a store that fails in the background: cache_parse_end has started
     * it; the wait says why, as cache_parse_end did */
    p = mini_project();
    p->nodes[0]->checksum = "z";
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    fake_parse(p, c, NULL);
    ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(other, "DROP TABLE parse_nodes", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(cache_parse_wait(c, &w), -1);
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(strstr(w, "cannot update the parse cache: no such table: parse_nodes") != NULL, "warning: %s", w);
    free(w);
    w = NULL;
    cache_close(c);
    mini_free(p);

    /* 4: closed without waiting (a command that ends early): cache_close
     * joins the store, which is then complete */
    rmdir_all(d);
    d = tmpdir();
    snprintf(path, sizeof path, "%s/cdbt.db", d);
    p = mini_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 0);
    fake_parse(p, c, NULL);
    ck_assert_int_eq(cache_parse_end(c, p, &w), 0);
    cache_close(c);
    ck_assert_int_eq(parse_rows(path), 1);
    mini_free(p);
    p = mini_project();
    c = cache_open(d, &w);
    ck_assert_int_eq(cache_parse_begin(c, p, &env, &w), 1);
    cache_close(c);
    mini_free(p);
    ck_assert_ptr_null(w);
    rmdir_all(d);
}
END_TEST

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, results_roundtrip);
    tcase_add_test(tc, corrupt_file_is_rebuilt);
    tcase_add_test(tc, foreign_version_is_rebuilt);
    tcase_add_test(tc, concurrent_writers);
    tcase_add_test(tc, parse_store_restore_invalidate);
    tcase_add_test(tc, parse_store_background);
    tcase_add_test(tc, parse_store_config_changes);
    tcase_add_test(tc, parse_store_shared_configs);
    tcase_add_test(tc, parse_lazy_after_macro_edit);
    tcase_add_test(tc, parse_keyed_on_macros_run);
    tcase_add_test(tc, parse_keyed_on_vars_read);
    tcase_add_test(tc, snapshot_store_lookup_invalidate);
    tcase_add_test(tc, snapshot_changes_nodes_overrides);
    tcase_add_test(tc, snapshot_node_table_chunks);
    tcase_add_test(tc, snapshot_paths_grouped);
    tcase_add_test(tc, snapshot_dirs_quiet_since_start);
    tcase_add_test(tc, snapshot_inputs_stat_as_read);
    tcase_add_test(tc, snapshot_oldest_evicted);
    tcase_add_test(tc, snapshot_output_dirs_and_stamp);
    suite_add_tcase(s, tc);
    return s;
}
