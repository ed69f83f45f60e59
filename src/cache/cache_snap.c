/* cache_snap.c - whole-project snapshots (the `snapshots` table).
 *
 * A `parse` or `compile` run that read nothing new may reuse the outputs of
 * the run that stored the snapshot.  "Nothing new" is decided from stat()s:
 * every path the run depended on (read, listed or probed missing; the
 * journal of src/base/journal.h) must still give the same kind, size,
 * inode, mtime and ctime; every env var a template read must have the same
 * value; and every output file must still be what that run wrote.  The key
 * covers what is not a file: cdbt's build, the command line, the working
 * directory, DBT_* variables and HOME (the CLI builds the key parts).
 *
 * Racy files (git's term): an input whose mtime or ctime is not older than
 * the start of the storing run (less a clock tick; on a file system with
 * whole-second stamps, not older than the second it started in) may have
 * changed after it was read without changing its stat, so such a run stores
 * nothing.
 *
 * Entry encoding (inputs, outputs): u32 count, then per entry str path, u8
 * kind (0 missing, 1 file, 2 directory, 3 other), u64 size, ino, dev,
 * mtime_s, mtime_ns, ctime_s, ctime_ns. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cache_priv.h"
#include "../base/arena.h"
#include "../base/hash.h"

#define RACY_MARGIN 0.05       /* seconds: more than a kernel clock tick */

typedef struct SnapEnt {
    const char *path;
    uint8_t kind;
    uint64_t size, ino, dev;
    int64_t ms, mns, cs, cns;
} SnapEnt;

struct CacheSnap {
    Arena a;
    uint8_t key[32];
    SnapEnt *out; uint32_t nout;
    const uint8_t *info; size_t ninfo;
};

/* ---------------------------------------------------------------- stat */

static void ent_from_stat(SnapEnt *e, const struct stat *st)
{
    if (!st) {
        e->kind = 0;
        e->size = e->ino = e->dev = 0;
        e->ms = e->mns = e->cs = e->cns = 0;
        return;
    }
    e->kind = S_ISREG(st->st_mode) ? 1 : S_ISDIR(st->st_mode) ? 2 : 3;
    e->size = e->kind == 2 ? 0 : (uint64_t)st->st_size;
    e->ino = (uint64_t)st->st_ino;
    e->dev = (uint64_t)st->st_dev;
    e->ms = st->st_mtim.tv_sec;
    e->mns = st->st_mtim.tv_nsec;
    e->cs = st->st_ctim.tv_sec;
    e->cns = st->st_ctim.tv_nsec;
}

static bool ent_equal(const SnapEnt *a, const SnapEnt *b)
{
    return a->kind == b->kind && a->size == b->size && a->ino == b->ino && a->dev == b->dev &&
           a->ms == b->ms && a->mns == b->mns && a->cs == b->cs && a->cns == b->cns;
}

/* stat() many absolute paths; consecutive paths in one directory share a
 * directory fd (fstatat on a short name is much cheaper than a full walk). */
typedef struct Statter { int dfd; char dir[4096]; size_t dlen; } Statter;

static void statter_init(Statter *s) { s->dfd = -1; s->dlen = (size_t)-1; }
static void statter_done(Statter *s)
{
    if (s->dfd >= 0)
        close(s->dfd);
}

static void statter_stat(Statter *s, const char *path, SnapEnt *e)
{
    struct stat st;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    if (!slash || dl == 0 || dl >= sizeof s->dir || !slash[1]) {
        ent_from_stat(e, stat(path, &st) == 0 ? &st : NULL);
        return;
    }
    if (dl != s->dlen || memcmp(s->dir, path, dl) != 0) {
        if (s->dfd >= 0)
            close(s->dfd);
        memcpy(s->dir, path, dl);
        s->dir[dl] = '\0';
        s->dlen = dl;
        s->dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (s->dfd < 0) {
        ent_from_stat(e, stat(path, &st) == 0 ? &st : NULL);
        return;
    }
    ent_from_stat(e, fstatat(s->dfd, slash + 1, &st, 0) == 0 ? &st : NULL);
}

/* ---------------------------------------------------------------- encoding */

static void ser_ent(Sb *b, const SnapEnt *e)
{
    ser_str(b, e->path);
    ser_u8(b, e->kind);
    ser_u64(b, e->size);
    ser_u64(b, e->ino);
    ser_u64(b, e->dev);
    ser_u64(b, (uint64_t)e->ms);
    ser_u64(b, (uint64_t)e->mns);
    ser_u64(b, (uint64_t)e->cs);
    ser_u64(b, (uint64_t)e->cns);
}

static SnapEnt *rd_ents(Rd *r, Arena *a, uint32_t *n)
{
    *n = rd_u32(r);
    if (r->bad || *n > (uint32_t)((r->end - r->p) / 8 + 1)) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    SnapEnt *v = ARENA_ARRAY(a, SnapEnt, *n ? *n : 1);
    for (uint32_t i = 0; i < *n && !r->bad; i++) {
        v[i].path = rd_str(r, a);
        v[i].kind = rd_u8(r);
        v[i].size = rd_u64(r);
        v[i].ino = rd_u64(r);
        v[i].dev = rd_u64(r);
        v[i].ms = (int64_t)rd_u64(r);
        v[i].mns = (int64_t)rd_u64(r);
        v[i].cs = (int64_t)rd_u64(r);
        v[i].cns = (int64_t)rd_u64(r);
        if (!v[i].path)
            r->bad = true;
    }
    return v;
}

typedef struct PathSt { const char *path; const struct stat *st; } PathSt;

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const PathSt *)a)->path, ((const PathSt *)b)->path);
}

/* Encode the stat of each path (sorted, so directories group): the one given
 * (st[i], when st and st[i] are not NULL; st_nlink == 0 means missing) or
 * the current one.  racy_after > 0: returns false (and *racy, the first such
 * path) when an entry changed at or after it. */
static bool encode_paths(Sb *b, const char *const *paths, const struct stat *const *st, size_t n,
                         double racy_after, char **racy)
{
    PathSt *sorted = xmalloc(sizeof *sorted * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        sorted[i].path = paths[i];
        sorted[i].st = st ? st[i] : NULL;
    }
    qsort(sorted, n, sizeof *sorted, cmp_path);
    Statter sr;
    statter_init(&sr);
    bool ok = true;
    ser_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        SnapEnt e = {.path = sorted[i].path};
        if (sorted[i].st)
            ent_from_stat(&e, sorted[i].st->st_nlink ? sorted[i].st : NULL);
        else
            statter_stat(&sr, sorted[i].path, &e);
        /* a file system with whole-second stamps: anything stamped in the
         * second the run started in may have changed after it was read */
        double lim = e.mns == 0 && e.cns == 0 ? floor(racy_after + RACY_MARGIN) : racy_after;
        if (racy_after > 0 && e.kind != 0 &&
            ((double)e.ms + (double)e.mns / 1e9 >= lim || (double)e.cs + (double)e.cns / 1e9 >= lim)) {
            if (ok && racy)
                *racy = xstrdup(sorted[i].path);
            ok = false;
        }
        ser_ent(b, &e);
    }
    statter_done(&sr);
    free(sorted);
    return ok;
}

static void encode_envs(Sb *b, const char *const *names, size_t n)
{
    ser_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const char *v = getenv(names[i]);
        ser_str(b, names[i]);
        ser_str(b, v);           /* NULL (unset) is distinct from "" */
    }
}

/* ---------------------------------------------------------------- API */

bool cache_snap_key(const char *const *parts, size_t n, uint8_t key[32])
{
    Sb b = SB_INIT;
    ser_str(&b, "cdbt-snapshot-v1");
    bool ok = ser_build(&b);
    ser_u32(&b, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        ser_str(&b, parts[i]);
    sha256(b.buf ? b.buf : "", b.len, key);
    sb_free(&b);
    return ok;
}

typedef struct CheckJob { const SnapEnt *v; uint32_t n; bool same; } CheckJob;

static void *check_range(void *arg)
{
    CheckJob *j = arg;
    Statter st;
    statter_init(&st);
    j->same = true;
    for (uint32_t i = 0; i < j->n && j->same; i++) {
        SnapEnt now = {.path = j->v[i].path};
        statter_stat(&st, j->v[i].path, &now);
        j->same = ent_equal(&now, &j->v[i]);
    }
    statter_done(&st);
    return NULL;
}

/* Large lists are checked by two threads (stat() is mostly path lookup in
 * the kernel, which runs in parallel). */
static bool all_unchanged(const SnapEnt *v, uint32_t n)
{
    CheckJob a = {v, n, true}, b = {NULL, 0, true};
    pthread_t t;
    bool two = n >= 4096;
    if (two) {
        a.n = n / 2;
        b.v = v + a.n;
        b.n = n - a.n;
        if (pthread_create(&t, NULL, check_range, &b) != 0) {
            two = false;
            a.n = n;
        }
    }
    check_range(&a);
    if (two)
        pthread_join(t, NULL);
    return a.same && b.same;
}

static bool envs_unchanged(Rd *r, Arena *a)
{
    uint32_t n = rd_u32(r);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        const char *name = rd_str(r, a);
        const char *val = rd_str(r, a);
        if (r->bad || !name)
            return false;
        const char *now = getenv(name);
        if ((now == NULL) != (val == NULL) || (now && strcmp(now, val) != 0))
            return false;
    }
    return !r->bad;
}

CacheSnap *cache_snap_lookup(Cache *c, const uint8_t key[32], const char **why)
{
    *why = "no snapshot for this command line";
    if (!c || c->broken)
        return NULL;
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    CacheSnap *s = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT inputs, envs, outputs, info FROM snapshots WHERE key = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW)
        goto out;
    s = calloc(1, sizeof *s);
    arena_init(&s->a, 0);
    memcpy(s->key, key, 32);
    const uint8_t *blob[4];
    size_t len[4];
    for (int i = 0; i < 4; i++) {
        len[i] = (size_t)sqlite3_column_bytes(q, i);
        uint8_t *copy = arena_alloc(&s->a, len[i] + 1);
        if (len[i])
            memcpy(copy, sqlite3_column_blob(q, i), len[i]);
        blob[i] = copy;
    }
    Rd r = {blob[0], blob[0] + len[0], false};
    uint32_t nin = 0;
    SnapEnt *in = rd_ents(&r, &s->a, &nin);
    Rd re = {blob[1], blob[1] + len[1], false};
    Rd ro = {blob[2], blob[2] + len[2], false};
    s->out = rd_ents(&ro, &s->a, &s->nout);
    s->info = blob[3];
    s->ninfo = len[3];
    if (r.bad || ro.bad) {
        *why = "snapshot unreadable";
        goto bad;
    }
    if (!envs_unchanged(&re, &s->a)) {
        *why = "an environment variable read by a template changed";
        goto bad;
    }
    if (!all_unchanged(in, nin)) {
        *why = "a project file changed";
        goto bad;
    }
    if (!all_unchanged(s->out, s->nout)) {
        *why = "an output file (target/) changed";
        goto bad;
    }
    *why = NULL;
    goto out;
bad:
    cache_snap_free(s);
    s = NULL;
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    return s;
}

const uint8_t *cache_snap_info(const CacheSnap *s, size_t *len)
{
    *len = s->ninfo;
    return s->info;
}

void cache_snap_free(CacheSnap *s)
{
    if (!s)
        return;
    arena_free(&s->a);
    free(s);
}

int cache_snap_refresh(Cache *c, CacheSnap *s, const char *const *paths, size_t n)
{
    Statter st;
    statter_init(&st);
    for (uint32_t i = 0; i < s->nout; i++)
        for (size_t k = 0; k < n; k++)
            if (strcmp(s->out[i].path, paths[k]) == 0)
                statter_stat(&st, s->out[i].path, &s->out[i]);
    statter_done(&st);
    Sb b = SB_INIT;
    ser_u32(&b, s->nout);
    for (uint32_t i = 0; i < s->nout; i++)
        ser_ent(&b, &s->out[i]);
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    int rc = -1;
    if (!c->broken &&
        sqlite3_prepare_v2(c->db, "UPDATE snapshots SET outputs = ?2 WHERE key = ?1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, b.buf ? b.buf : "", (int)b.len, SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    sb_free(&b);
    return rc;
}

int cache_snap_store(Cache *c, const uint8_t key[32], double started, const char *const *inputs, size_t nin,
                     const char *const *envs, size_t nenv, const char *const *outputs,
                     const struct stat *const *out_st, size_t nout, const void *info, size_t ninfo,
                     char **warning)
{
    if (!c || c->broken)
        return 0;
    Sb in = SB_INIT, ev = SB_INIT, out = SB_INIT;
    int rc = 0;
    char *racy = NULL;
    if (!encode_paths(&in, inputs, NULL, nin, started - RACY_MARGIN, &racy)) {
        /* racy: an input may have changed while we read it */
        cache_set_warning(warning, "%s changed during the run", racy);
        free(racy);
        goto done;
    }
    encode_envs(&ev, envs, nenv);
    encode_paths(&out, outputs, out_st, nout, 0, NULL);
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    rc = -1;
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
        /* keep the few most recent command lines */
        sqlite3_exec(c->db,
                     "DELETE FROM snapshots WHERE key NOT IN "
                     "(SELECT key FROM snapshots ORDER BY stored_at DESC LIMIT 7)",
                     NULL, NULL, NULL);
        if (sqlite3_prepare_v2(c->db,
                               "INSERT OR REPLACE INTO snapshots(key, inputs, envs, outputs, info, stored_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                               -1, &q, NULL) == SQLITE_OK) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
            sqlite3_bind_blob(q, 2, in.buf ? in.buf : "", (int)in.len, SQLITE_STATIC);
            sqlite3_bind_blob(q, 3, ev.buf ? ev.buf : "", (int)ev.len, SQLITE_STATIC);
            sqlite3_bind_blob(q, 4, out.buf ? out.buf : "", (int)out.len, SQLITE_STATIC);
            sqlite3_bind_blob(q, 5, ninfo ? info : "", (int)ninfo, SQLITE_STATIC);
            sqlite3_bind_double(q, 6, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
            if (sqlite3_step(q) == SQLITE_DONE)
                rc = 1;
        }
        sqlite3_finalize(q);
        if (sqlite3_exec(c->db, rc == 1 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
            rc = -1;
    }
    if (rc < 0)
        cache_warn_db(c, warning, "storing the project snapshot");
    pthread_mutex_unlock(&c->mu);
done:
    sb_free(&in);
    sb_free(&ev);
    sb_free(&out);
    return rc;
}
