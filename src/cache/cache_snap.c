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
 * The outputs a reuse rewrites (manifest.json, run_results.json: the
 * "heads") live in their own small table, so recording their new stat after
 * a reuse does not rewrite the big rows.  Entry lists are grouped by
 * directory (see "encoding" below); kinds: 0 missing, 1 file, 2 directory,
 * 3 other, 4 a file that is a model of the node table (inputs only: see
 * "model files" below), 5 a file of user macros (inputs of a compile's
 * snapshot: an edit of those alone is listed, cache_snap_macros_changed). */
#define _GNU_SOURCE            /* statx() */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "cache_priv.h"
#include "../base/arena.h"
#include "../base/clock.h"
#include "../base/fs.h"
#include "../base/hash.h"

#define RACY_MARGIN 0.05       /* seconds: more than a kernel clock tick */
#define KIND_CHANGED 255       /* an override that never matches (racy when recorded) */
#define KIND_MODEL 4           /* stored kind of a model file: kind 1, mark KIND_MODEL */
#define KIND_MACRO 5           /* stored kind of a macro file: kind 1, mark KIND_MACRO */

typedef struct SnapEnt {
    const char *path;
    uint8_t kind;
    uint8_t mark;              /* an input that is a model file of the node table (KIND_MODEL), a file
                                  of user macros (KIND_MACRO), else 0 */
    uint64_t size, ino, dev;
    int64_t ms, mns, cs, cns;
} SnapEnt;

/* A file whose stat a delta run recorded after the snapshot (snapshot_over). */
typedef struct Over { const char *path; SnapEnt ent; } Over;

#define MAX_CHANGED 8          /* more changed inputs than this: not a delta */
#define MAX_SETTLE 64          /* output directories settled per job and run */

struct CacheSnap {
    Arena a;
    uint8_t key[32];
    const char **heads; uint32_t nheads;   /* paths of the outputs a reuse rewrites */
    SnapEnt *head_ents;                    /* their stored stat */
    const uint8_t *info; size_t ninfo;
    Over *over; size_t nover;
    struct Shift { int file; int64_t at, delta; } *shift; size_t nshift;
    /* lookups that accept changed inputs (cache_snap_lookup(..., true, ...)) */
    const char *changed[MAX_CHANGED]; size_t nchanged;
    const char *mchanged[MAX_CHANGED]; size_t nmchanged;   /* macro files edited in place */
    const uint8_t *inputs; size_t ninputs; /* copies, kept only when something changed */
    const uint8_t *envs; size_t nenvs;
    const uint8_t *stamp; size_t nstamp;   /* the stamp column the lookup checked */
    bool unverified;                       /* a macro file changed: the other inputs are left to cache_snap_verify */
    /* output directories whose "." entry did not vouch but whose outputs
     * were all as written: their stat now (cache_snap_settle) */
    Over *settle; size_t nsettle;
};

/* ---------------------------------------------------------------- stat */

static void ent_from_stamp(SnapEnt *e, const FsStamp *st)
{
    e->mark = 0;
    if (!st) {
        e->kind = 0;
        e->size = e->ino = e->dev = 0;
        e->ms = e->mns = e->cs = e->cns = 0;
        return;
    }
    e->kind = S_ISREG(st->mode) ? 1 : S_ISDIR(st->mode) ? 2 : 3;
    e->size = e->kind == 2 ? 0 : st->size;
    e->ino = st->ino;
    e->dev = st->dev;
    e->ms = st->ms;
    e->mns = st->mns;
    e->cs = st->cs;
    e->cns = st->cns;
}

static void ent_from_stat(SnapEnt *e, const struct stat *st)
{
    FsStamp s;
    fs_stamp(&s, st);
    ent_from_stamp(e, st ? &s : NULL);
}

/* The same fields from statx(), asking only for what is compared (cheaper
 * than a full stat on this kernel path); falls back to fstatat(). */
static void ent_stat_at(int dfd, const char *name, SnapEnt *e)
{
#ifdef STATX_BASIC_STATS
    static atomic_int no_statx;          /* read by the checking and storing threads */
    if (!atomic_load_explicit(&no_statx, memory_order_relaxed)) {
        struct statx x;
        e->mark = 0;
        if (statx(dfd, name, 0, STATX_TYPE | STATX_SIZE | STATX_INO | STATX_MTIME | STATX_CTIME, &x) == 0 &&
            (x.stx_mask & (STATX_TYPE | STATX_SIZE | STATX_INO | STATX_MTIME | STATX_CTIME)) ==
                (STATX_TYPE | STATX_SIZE | STATX_INO | STATX_MTIME | STATX_CTIME)) {
            e->kind = S_ISREG(x.stx_mode) ? 1 : S_ISDIR(x.stx_mode) ? 2 : 3;
            e->size = e->kind == 2 ? 0 : x.stx_size;
            e->ino = x.stx_ino;
            e->dev = (uint64_t)makedev(x.stx_dev_major, x.stx_dev_minor);
            e->ms = x.stx_mtime.tv_sec;
            e->mns = x.stx_mtime.tv_nsec;
            e->cs = x.stx_ctime.tv_sec;
            e->cns = x.stx_ctime.tv_nsec;
            return;
        }
        if (errno != ENOSYS) {
            ent_from_stat(e, NULL);
            return;
        }
        atomic_store_explicit(&no_statx, 1, memory_order_relaxed);
    }
#endif
    struct stat st;
    ent_from_stat(e, fstatat(dfd, name, &st, 0) == 0 ? &st : NULL);
}

/* Might e have changed after a run that started at `started` read it,
 * without its stat showing it?  Changed at or after the start (less a clock
 * tick); on a file system with whole-second stamps, in the second the run
 * started in. */
static bool is_racy(const SnapEnt *e, double started)
{
    double lim = e->mns == 0 && e->cns == 0 ? floor(started) : started - RACY_MARGIN;
    return e->kind != 0 &&
           ((double)e->ms + (double)e->mns / 1e9 >= lim || (double)e->cs + (double)e->cns / 1e9 >= lim);
}

static bool ent_equal(const SnapEnt *a, const SnapEnt *b)
{
    return a->kind != KIND_CHANGED && a->kind == b->kind && a->size == b->size && a->ino == b->ino && a->dev == b->dev &&
           a->ms == b->ms && a->mns == b->mns && a->cs == b->cs && a->cns == b->cns;
}

/* ---------------------------------------------------------------- encoding
 *
 * An entry list is grouped by directory (in the order the paths came, each
 * directory once): u32 ngroups, then per group the directory (varint
 * length, bytes, NUL; "" when the names are whole paths), varint count,
 * varint byte length of its entries and per entry the name (varint length, bytes, NUL), u8 kind and varints size,
 * ino, dev, mtime s (zigzag), mtime ns, ctime s (zigzag), ctime ns.  The
 * checker stats each name relative to one directory fd, straight from the
 * stored bytes. */

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static void put_name(Sb *b, const char *s, size_t n)
{
    sb_reserve(b, n + 11);
    uint8_t *p = var_at((uint8_t *)b->buf + b->len, n);
    memcpy(p, s, n);
    p[n] = '\0';
    b->len = (size_t)((char *)p - b->buf) + n + 1;
    b->buf[b->len] = '\0';
}

/* the NUL-terminated name in the blob, or NULL */
static const char *get_name(Rd *r, size_t *len)
{
    uint64_t n = rd_var(r);
    if (r->bad || n >= (uint64_t)(r->end - r->p) || r->p[n] != '\0') {
        r->bad = true;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p += n + 1;
    if (len)
        *len = (size_t)n;
    return s;
}

static void put_ent(Sb *b, const SnapEnt *e)
{
    sb_reserve(b, 1 + 7 * 10);
    uint8_t *p = (uint8_t *)b->buf + b->len;
    *p++ = (uint8_t)(e->mark && e->kind == 1 ? e->mark : e->kind);
    p = var_at(p, e->size);
    p = var_at(p, e->ino);
    p = var_at(p, e->dev);
    p = var_at(p, zz(e->ms));
    p = var_at(p, (uint64_t)e->mns);
    p = var_at(p, zz(e->cs));
    p = var_at(p, (uint64_t)e->cns);
    b->len = (size_t)((char *)p - b->buf);
    b->buf[b->len] = '\0';
}

static void get_ent(Rd *r, SnapEnt *e)
{
    if (r->p >= r->end) {
        r->bad = true;
        return;
    }
    e->kind = *r->p++;
    e->mark = e->kind == KIND_MODEL || e->kind == KIND_MACRO ? e->kind : 0;
    if (e->mark)
        e->kind = 1;
    e->size = rd_var(r);
    e->ino = rd_var(r);
    e->dev = rd_var(r);
    e->ms = unzz(rd_var(r));
    e->mns = (int64_t)rd_var(r);
    e->cs = unzz(rd_var(r));
    e->cns = (int64_t)rd_var(r);
}

/* where a path's directory part ends: the index of the last '/', or 0 when
 * the path is its own name (no '/', a root-level path, a trailing '/') */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || !slash[1])
        return 0;
    return (size_t)(slash - path);
}

/* A string -> number table (open addressing, FNV-1a): the groups of a
 * list being encoded, the names of a group, the node table's files. */
typedef struct TabEnt { const char *s; uint32_t n, h, v; } TabEnt;
typedef struct Tab { TabEnt *v; size_t mask, len; } Tab;

/* A hash for these tables only (nothing stored depends on it): eight
 * bytes a step, where FNV-1a's byte a step was the biggest cost of
 * encoding 40,000 paths (directories some 40 bytes long). */
static uint32_t str_hash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    return (uint32_t)h;
}

/* Empty, with room for want strings (memory kept from before). */
static void tab_reset(Tab *t, size_t want)
{
    size_t cap = 16;
    while (cap < 2 * want)
        cap *= 2;
    if (!t->v || cap > t->mask + 1)
        t->v = xrealloc(t->v, sizeof *t->v * cap);
    else
        cap = t->mask + 1;
    memset(t->v, 0, sizeof *t->v * cap);
    t->mask = cap - 1;
    t->len = 0;
}

/* The slot of s[0..n) (hash h): where it is, or the empty one where it
 * would go (the table is never more than half full). */
static TabEnt *tab_slot(const Tab *t, const char *s, size_t n, uint32_t h)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        TabEnt *e = &t->v[i];
        if (!e->s || (e->h == h && e->n == n && memcmp(e->s, s, n) == 0))
            return e;
    }
}

/* Add s[0..n) with value v unless present; its slot. */
static TabEnt *tab_add(Tab *t, const char *s, size_t n, uint32_t h, uint32_t v)
{
    if (2 * (t->len + 1) > t->mask + 1) {
        Tab g = {0};
        tab_reset(&g, t->len + 1);
        for (size_t i = 0; t->v && i <= t->mask; i++)
            if (t->v[i].s)
                *tab_slot(&g, t->v[i].s, t->v[i].n, t->v[i].h) = t->v[i];
        g.len = t->len;
        free(t->v);
        *t = g;
    }
    TabEnt *e = tab_slot(t, s, n, h);
    if (!e->s) {
        *e = (TabEnt){s, (uint32_t)n, h, v};
        t->len++;
    }
    return e;
}

/* The "." entry of an output directory (open as dfd) whose outputs, about
 * to be stored as ents[0..n), are named in names (value: the index in
 * ents): the directory's stat, when that stat vouches for the entries, else
 * kind KIND_CHANGED (each file is checked).
 *
 * Why: a reuse stat()s every output, 30,000 at 10k models, most of the time
 * of a compile with nothing changed.  An output directory whose stat is
 * unchanged lists the same names with the same inodes, so a deleted,
 * renamed or replaced output is still seen; an output rewritten in place
 * (the same inode) is not -- cdbt's own runs that do that without
 * rewriting manifest.json (--no-write-json) change the outputs stamp
 * instead (cache_stamp_write).  The stat vouches when the directory lists
 * every output present with the inode recorded for it and lacks every
 * output recorded missing (so nothing changed between the writes and now),
 * it is the same before and after that listing, and it is not racy (a
 * change in the same clock tick would not show).  The listing is looked up
 * in names as it is read: nothing is copied or sorted.
 *
 * No listing is needed when the directory has not changed since the run
 * started (`started`, epoch seconds, 0 when unknown): every output's stat
 * was taken during the run, after it was written, and an entry added,
 * removed or renamed since the start would have moved the directory's
 * mtime past it (less a clock tick: the racy margin covers it), so the names
 * and inodes it lists are those the stats saw.  That is the usual case:
 * cdbt rewrites a changed output in place, and a later compile's outputs
 * sit in directories its predecessors made; listing them was most of the
 * time of storing a 10k-model snapshot. */
static void dir_entry(int dfd, const Tab *names, const SnapEnt *ents, size_t n, double started, SnapEnt *d)
{
    SnapEnt d1;
    ent_stat_at(dfd, ".", d);
    if (d->kind != 2) {
        d->kind = KIND_CHANGED;
        return;
    }
    if (started > 0 && started <= clock_epoch() && !is_racy(d, started))
        return;
    bool ok = false;
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dh && fd >= 0)
        close(fd);
    if (dh) {
        size_t present = 0, found = 0;
        for (size_t k = 0; k < n; k++)
            present += ents[k].kind != 0;
        ok = true;
        struct dirent *de;
        while (ok && (de = readdir(dh)) != NULL) {
            size_t nl = strlen(de->d_name);
            const TabEnt *e = tab_slot(names, de->d_name, nl, str_hash(de->d_name, nl));
            if (!e->s)
                continue;                      /* not an output ("." and ".." neither) */
            ok = ents[e->v].kind != 0 && ents[e->v].ino == (uint64_t)de->d_ino;
            found++;
        }
        closedir(dh);
        ok = ok && found == present;
    }
    ent_stat_at(dfd, ".", &d1);
    if (!ok || !ent_equal(d, &d1) || is_racy(d, clock_epoch()))
        d->kind = KIND_CHANGED;
}

/* ---------------------------------------------------------------- model files
 *
 * A lookup that accepts changes (the delta compile of src/cli/delta.c) can
 * use only a changed file that is a model of the node table (and changed
 * directories, whose listing it compares).  Such inputs are stored with
 * kind KIND_MODEL, so a lookup that meets any other changed file -- a macro,
 * dbt_project.yml, a properties file -- stops there, as for any other
 * difference, instead of stat()ing the rest of the project for a delta that
 * would refuse it anyway. */

/* The node table's files (original_file_path, relative to root). */
typedef struct ModelSet { const char *root; size_t rl; Tab t; } ModelSet;

/* The files of node table t, viewed in place. */
static void model_set_init(ModelSet *m, const char *root, const CacheDeltaTable *t)
{
    memset(m, 0, sizeof *m);
    if (!root || !t || !t->nents)
        return;
    m->root = root;
    m->rl = strlen(root);
    tab_reset(&m->t, t->nents);
    for (int b = 0; b < CACHE_DELTA_BUCKETS; b++) {
        Rd r = {(const uint8_t *)t->bucket[b].buf, (const uint8_t *)t->bucket[b].buf + t->bucket[b].len, false}, e;
        const char *ofp;
        size_t ol;
        while (cache_delta_next(&r, &e, &ofp, &ol))
            tab_add(&m->t, ofp, ol, str_hash(ofp, ol), 0);
    }
}

/* Is path (absolute, len bytes) root/<a file of the node table>? */
static bool model_set_has(const ModelSet *m, const char *path, size_t len)
{
    if (!m || !m->t.v || len <= m->rl + 1 || memcmp(path, m->root, m->rl) != 0 || path[m->rl] != '/')
        return false;
    const char *f = path + m->rl + 1;
    size_t n = len - m->rl - 1;
    return tab_slot(&m->t, f, n, str_hash(f, n))->s != NULL;
}

/* A directory's paths in list_paths: a list through next[], in the order given. */
typedef struct Grp { uint32_t first, last, count, dl; bool rel; } Grp;

/* The slot of the group of directory s[0..n) (hash h; rel: under root). */
static TabEnt *grp_slot(const Tab *t, const Grp *gv, const char *s, size_t n, uint32_t h, bool rel)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        TabEnt *e = &t->v[i];
        if (!e->s || (e->h == h && e->n == n && gv[e->v].rel == rel && memcmp(e->s, s, n) == 0))
            return e;
    }
}

/* A list of paths stat()ed and grouped by directory, not yet encoded: the
 * inputs are encoded only once the node table, which marks the model files
 * among them, is built (on the other thread). */
typedef struct LGroup {
    size_t dir, dirlen;          /* the directory's name, in Listing.dirs */
    uint32_t e0, ne, dl;         /* its entries, ents[e0..e0+ne); names start dl + 1 bytes into a
                                  * path (at 0 when dl is 0) */
    bool has_dot;                /* with a "." entry first (dir_entry) */
    SnapEnt dot;
} LGroup;
typedef struct Listing {
    LGroup *g;
    size_t ng;
    Sb dirs;
    SnapEnt *ents;
    uint32_t *nls;               /* each entry's name length */
    uint32_t *src;               /* each entry's index in the paths listed */
} Listing;

static void listing_free(Listing *l)
{
    free(l->g);
    sb_free(&l->dirs);
    free(l->ents);
    free(l->nls);
    free(l->src);
    memset(l, 0, sizeof *l);
}

/* The stat of each path: the one given (st[i], when st and st[i] are not
 * NULL; st_nlink == 0 means missing) or the current one.  racy_after > 0:
 * returns false (and *racy, the first such path) when an entry changed at
 * or after it.  dirs: each directory's group starts with its "." entry
 * (dir_entry; started: when the run began, or 0).
 *
 * Paths are grouped by directory with hash tables, in the order given (a
 * path given twice is stored once): at 30,000 outputs, sorting them whole
 * compared long common prefixes half a million times. */
static bool list_paths(Listing *l, const char *const *paths, const FsStamp *const *st, size_t n,
                       const char *root, double racy_after, char **racy, bool dirs, double started)
{
    memset(l, 0, sizeof *l);
    uint32_t *next = xmalloc(sizeof *next * (n ? n : 1)), *lens = xmalloc(sizeof *lens * (n ? n : 1));
    Grp *gv = NULL;
    size_t ng = 0, gcap = 0;
    Tab dirtab = {0};
    tab_reset(&dirtab, 32);
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        size_t len = strlen(p);
        /* where the directory part ends (dir_len) */
        const char *slash = memrchr(p, '/', len);
        size_t dl = !slash || slash == p || slash == p + len - 1 ? 0 : (size_t)(slash - p);
        lens[i] = (uint32_t)len;
        /* a relative path is under root: its group's directory is root/dir
         * (not the absolute one of the same bytes: "" for "/x" and "x") */
        bool rel = root && p[0] != '/';
        uint32_t h = str_hash(p, dl), gi;
        TabEnt *e = grp_slot(&dirtab, gv, p, dl, h, rel);
        if (e->s) {
            gi = e->v;
            next[gv[gi].last] = (uint32_t)i;
            gv[gi].last = (uint32_t)i;
            gv[gi].count++;
        } else {
            if (ng == gcap) {
                gcap = gcap ? gcap * 2 : 64;
                gv = xrealloc(gv, sizeof *gv * gcap);
            }
            gi = (uint32_t)ng++;
            gv[gi] = (Grp){(uint32_t)i, (uint32_t)i, 1, (uint32_t)dl, rel};
            *e = (TabEnt){p, (uint32_t)dl, h, gi};
            if (2 * ++dirtab.len > dirtab.mask + 1) {
                /* more directories than room: rehash them */
                Tab t2 = {0};
                tab_reset(&t2, dirtab.len);
                for (size_t k = 0; k < ng; k++) {
                    const char *q = paths[gv[k].first];
                    uint32_t hk = str_hash(q, gv[k].dl);
                    *grp_slot(&t2, gv, q, gv[k].dl, hk, gv[k].rel) = (TabEnt){q, gv[k].dl, hk, (uint32_t)k};
                }
                t2.len = dirtab.len;
                free(dirtab.v);
                dirtab = t2;
            }
        }
        next[i] = UINT32_MAX;
    }
    free(dirtab.v);
    l->g = xmalloc(sizeof *l->g * (ng ? ng : 1));
    l->ng = ng;
    l->ents = xmalloc(sizeof *l->ents * (n ? n : 1));
    l->nls = xmalloc(sizeof *l->nls * (n ? n : 1));
    l->src = xmalloc(sizeof *l->src * (n ? n : 1));
    bool ok = true;
    Tab names = {0};
    size_t m = 0;
    for (size_t gi = 0; gi < ng; gi++) {
        const Grp *gr = &gv[gi];
        const char *p0 = paths[gr->first];
        size_t dl = gr->dl;
        LGroup *lg = &l->g[gi];
        lg->dir = l->dirs.len;
        if (gr->rel) {
            sb_puts(&l->dirs, root);
            if (dl) {
                sb_putc(&l->dirs, '/');
                sb_append(&l->dirs, p0, dl);
            }
        } else {
            sb_append(&l->dirs, p0, dl);
        }
        lg->dirlen = l->dirs.len - lg->dir;
        sb_putc(&l->dirs, '\0');
        const char *dir = l->dirs.buf + lg->dir;
        int dfd = lg->dirlen ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
        tab_reset(&names, gr->count);
        lg->e0 = (uint32_t)m;
        lg->dl = (uint32_t)dl;
        for (uint32_t i = gr->first; i != UINT32_MAX; i = next[i]) {
            const char *path = paths[i], *name = dl ? path + dl + 1 : path;
            size_t nl = dl ? lens[i] - dl - 1 : lens[i];
            uint32_t h = str_hash(name, nl);
            TabEnt *e = tab_slot(&names, name, nl, h);
            if (e->s)
                continue;                                /* given twice: stored once */
            *e = (TabEnt){name, (uint32_t)nl, h, (uint32_t)(m - lg->e0)};
            names.len++;
            l->nls[m] = (uint32_t)nl;
            l->src[m] = (uint32_t)i;
            SnapEnt *en = &l->ents[m++];
            *en = (SnapEnt){.path = path};
            const FsStamp *sti = st ? st[i] : NULL;
            if (sti)
                ent_from_stamp(en, sti->nlink ? sti : NULL);
            else if (lg->dirlen && dfd < 0)
                ent_from_stat(en, NULL);
            else
                ent_stat_at(dfd, name, en);
            if (racy_after > 0 && is_racy(en, racy_after + RACY_MARGIN)) {
                if (ok && racy)
                    *racy = xstrdup(path);
                ok = false;
            }
        }
        lg->ne = (uint32_t)m - lg->e0;
        /* the directory itself, as "." (see dir_entry) */
        lg->has_dot = dirs && lg->dirlen;
        if (lg->has_dot)
            dir_entry(dfd, &names, l->ents + lg->e0, lg->ne, started, &lg->dot);
        if (dfd >= 0)
            close(dfd);
    }
    free(names.v);
    free(gv);
    free(next);
    free(lens);
    return ok;
}

/* Is path (absolute, len bytes) one of the sorted absolute paths v? */
static bool in_sorted(const char *const *v, size_t n, const char *path, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(v[mid], path, len);
        if (c == 0 && v[mid][len] != '\0')
            c = 1;
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Encode a listing (see "encoding" above); the files in models are marked
 * KIND_MODEL, the others among macros (sorted absolute paths) KIND_MACRO. */
static void write_listing(Sb *b, const Listing *l, const ModelSet *models, const char *const *macros, size_t nmacros)
{
    ser_u32(b, (uint32_t)l->ng);
    Sb g = SB_INIT;
    for (size_t gi = 0; gi < l->ng; gi++) {
        const LGroup *lg = &l->g[gi];
        put_name(b, l->dirs.buf + lg->dir, lg->dirlen);
        sb_reset(&g);
        ser_var(b, lg->ne + (lg->has_dot ? 1 : 0));
        if (lg->has_dot) {
            put_name(&g, ".", 1);
            put_ent(&g, &lg->dot);
        }
        for (uint32_t k = lg->e0; k < lg->e0 + lg->ne; k++) {
            SnapEnt en = l->ents[k];
            size_t off = lg->dl ? lg->dl + 1 : 0;
            if (models && en.kind == 1 && model_set_has(models, en.path, off + l->nls[k]))
                en.mark = KIND_MODEL;
            else if (nmacros && en.kind == 1 && in_sorted(macros, nmacros, en.path, off + l->nls[k]))
                en.mark = KIND_MACRO;
            put_name(&g, en.path + off, l->nls[k]);
            put_ent(&g, &en);
        }
        ser_var(b, g.len);
        sb_append(b, g.buf ? g.buf : "", g.len);
    }
    sb_free(&g);
}

/* list_paths and write_listing in one. */
static bool encode_paths(Sb *b, const char *const *paths, const FsStamp *const *st, size_t n,
                         const char *root, double racy_after, char **racy, bool dirs, double started)
{
    Listing l;
    bool ok = list_paths(&l, paths, st, n, root, racy_after, racy, dirs, started);
    write_listing(b, &l, NULL, NULL, 0);
    listing_free(&l);
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

/* One directory's entries in a stored list. */
typedef struct Group { const char *dir; size_t dlen; uint32_t n; bool output; Rd ents; } Group;
typedef struct Groups { Group *v; size_t n, cap, nents; } Groups;

static bool read_groups(const uint8_t *p, size_t len, bool output, Groups *gs)
{
    Rd r = {p, p + len, false};
    uint32_t ng = rd_u32(&r);
    for (uint32_t i = 0; i < ng && !r.bad; i++) {
        Group g;
        g.dir = get_name(&r, &g.dlen);
        uint64_t n = rd_var(&r), bytes = rd_var(&r);
        if (r.bad || n > UINT32_MAX || bytes > (uint64_t)(r.end - r.p))
            return false;
        g.n = (uint32_t)n;
        g.output = output;
        g.ents = (Rd){r.p, r.p + bytes, false};
        r.p += bytes;
        if (gs->n == gs->cap) {
            gs->cap = gs->cap ? gs->cap * 2 : 64;
            gs->v = xrealloc(gs->v, sizeof *gs->v * gs->cap);
        }
        gs->v[gs->n++] = g;
        gs->nents += g.n;
    }
    return !r.bad;
}

/* A job's groups; the first difference found by either job stops both.
 * With changes != NULL, an input that is a model file (KIND_MODEL) or a
 * directory before and after is a change (noted, up to MAX_CHANGED) rather
 * than a difference. */
typedef struct CheckJob {
    const Group *g; size_t n; bool same, output; atomic_bool *stop;
    const Over *over; size_t nover;
    Arena *a; const char **changes; size_t nchanges;
    Over *settle; size_t nsettle;     /* "." entries to record (cache_snap_settle) */
    const char *diff;                 /* the entry that differed (in a), for --debug */
    const char **mchanges; size_t nmchanges;   /* macro files edited in place (with changes) */
    /* the stat of dir/name as a run's reading knew it (cache_snap_verify):
     * true with *st, else the entry is stat()ed now */
    bool (*known)(void *ud, const char *path, FsStamp *st);
    void *known_ud;
} CheckJob;

/* The entry's stat now, or as j->known has it. */
static void check_stat(const CheckJob *j, const Group *g, int dfd, const char *name, SnapEnt *now)
{
    if (j->known && g->dlen) {
        char buf[4096];
        size_t nl = strlen(name);
        FsStamp st;
        if (g->dlen + 1 + nl < sizeof buf) {
            memcpy(buf, g->dir, g->dlen);
            buf[g->dlen] = '/';
            memcpy(buf + g->dlen + 1, name, nl + 1);
            if (j->known(j->known_ud, buf, &st)) {
                ent_from_stamp(now, &st);
                return;
            }
        }
    }
    ent_stat_at(dfd, name, now);
}

/* The override recorded for dir/name, or NULL. */
static const Over *find_over(const CheckJob *j, const Group *g, const char *name)
{
    for (size_t k = 0; k < j->nover; k++) {
        const char *p = j->over[k].path;
        if (strncmp(p, g->dir, g->dlen) == 0 && p[g->dlen] == '/' && strcmp(p + g->dlen + 1, name) == 0)
            return &j->over[k];
    }
    return NULL;
}

/* Does any override lie in g's directory? */
static bool group_has_over(const CheckJob *j, const Group *g)
{
    for (size_t k = 0; k < j->nover; k++) {
        const char *p = j->over[k].path;
        if (g->dlen && strncmp(p, g->dir, g->dlen) == 0 && p[g->dlen] == '/' && !strchr(p + g->dlen + 1, '/'))
            return true;
    }
    return false;
}

static void *check_range(void *arg)
{
    CheckJob *j = arg;
    j->same = true;
    for (size_t gi = 0; gi < j->n && j->same && !atomic_load_explicit(j->stop, memory_order_relaxed); gi++) {
        Group g = j->g[gi];
        int dfd = g.dlen ? open(g.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : AT_FDCWD;
        bool over = j->nover && group_has_over(j, &g);
        uint32_t i = 0;
        SnapEnt dot = {0};
        bool has_dot = false;
        if (g.output && g.n && dfd >= 0) {
            /* an output directory's "." entry (dir_entry): when the
             * directory stat()s the same, its outputs are as written */
            Rd peek = g.ents;
            size_t nl;
            const char *name = get_name(&peek, &nl);
            if (name && nl == 1 && name[0] == '.') {
                SnapEnt was = {0};
                get_ent(&peek, &was);
                if (over) {
                    const Over *o = find_over(j, &g, ".");
                    if (o)
                        was = o->ent;
                }
                g.ents = peek;
                i = 1;
                has_dot = true;
                ent_stat_at(dfd, ".", &dot);
                if (!peek.bad && ent_equal(&dot, &was)) {
                    close(dfd);
                    continue;
                }
            }
        }
        for (; i < g.n && j->same; i++) {
            if ((i & 63) == 63 && atomic_load_explicit(j->stop, memory_order_relaxed))
                break;
            const char *name = get_name(&g.ents, NULL);
            SnapEnt was = {0}, now = {0};
            get_ent(&g.ents, &was);
            uint8_t mark = was.mark;             /* an override keeps what the file is */
            if (over) {
                const Over *o = find_over(j, &g, name);
                if (o)
                    was = o->ent;
            }
            if (g.ents.bad) {
                j->same = false;
            } else if (g.dlen && dfd < 0) {
                j->same = was.kind == 0;         /* the directory is gone: so is the entry */
            } else {
                check_stat(j, &g, dfd, name, &now);
                j->same = ent_equal(&now, &was);
                /* a model file edited, or a directory whose listing may
                 * have changed (an editor that saves by renaming): the
                 * caller looks at them; any other file is a difference
                 * (see "model files") */
                if (!j->same && j->changes && !g.output && (now.kind == 2 || (now.kind == 1 && mark == KIND_MODEL)) &&
                    (was.kind == now.kind || was.kind == KIND_CHANGED) && j->nchanges < MAX_CHANGED && g.dlen) {
                    j->changes[j->nchanges++] = arena_sprintf(j->a, "%s/%s", g.dir, name);
                    j->same = true;
                } else if (!j->same && j->mchanges && !g.output && now.kind == 1 && mark == KIND_MACRO &&
                           (was.kind == 1 || was.kind == KIND_CHANGED) && j->nmchanges < MAX_CHANGED && g.dlen) {
                    /* a file of macros edited in place: the caller may know
                     * which nodes it cannot have changed (cmd_compile) */
                    j->mchanges[j->nmchanges++] = arena_sprintf(j->a, "%s/%s", g.dir, name);
                    j->same = true;
                }
            }
            if (!j->same && name)
                j->diff = g.dlen ? arena_sprintf(j->a, "%s/%s", g.dir, name) : arena_strdup(j->a, name);
        }
        /* every output as written, the "." entry not vouching: record the
         * directory's stat now for the next run, if it holds still and is
         * not racy (cache_snap_settle) */
        if (has_dot && j->same && j->settle && j->nsettle < MAX_SETTLE) {
            SnapEnt d1;
            ent_stat_at(dfd, ".", &d1);
            if (dot.kind == 2 && ent_equal(&dot, &d1) && !is_racy(&dot, clock_epoch())) {
                Over *o = &j->settle[j->nsettle++];
                o->path = arena_sprintf(j->a, "%.*s/.", (int)g.dlen, g.dir);
                o->ent = dot;
            }
        }
        if (dfd >= 0)
            close(dfd);
        j->output = !j->same && g.output;
    }
    if (!j->same)
        atomic_store(j->stop, true);
    return NULL;
}

/* src[0..ns) appended to dst (*n entries, at most MAX_CHANGED), copied into
 * s's arena; false when they do not fit. */
static bool append_changes(CacheSnap *s, const char **dst, size_t *n, const char *const *src, size_t ns)
{
    for (size_t k = 0; k < ns; k++) {
        if (*n == MAX_CHANGED)
            return false;
        dst[(*n)++] = arena_strdup(&s->a, src[k]);
    }
    return true;
}

/* The files of user macros among the inputs (gs), looked at first: when
 * one was edited in place, the run is a full one whatever the other inputs
 * say, and those are checked from what its own reading stat()ed
 * (cache_snap_verify) rather than stat()ed once more now.  True when one
 * was, with s->mchanged. */
static bool macro_first(const Groups *gs, CacheSnap *s)
{
    CheckJob j = {.over = s->over, .nover = s->nover};
    for (size_t gi = 0; gi < gs->n; gi++) {
        Group g = gs->v[gi];
        bool over = j.nover && group_has_over(&j, &g);
        int dfd = -2;
        for (uint32_t i = 0; i < g.n; i++) {
            const char *name = get_name(&g.ents, NULL);
            SnapEnt was = {0}, now = {0};
            get_ent(&g.ents, &was);
            if (g.ents.bad)
                return false;
            if (was.mark != KIND_MACRO || !g.dlen)
                continue;
            if (over) {
                const Over *o = find_over(&j, &g, name);
                if (o)
                    was = o->ent;
            }
            if (dfd == -2)
                dfd = open(g.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd < 0)
                continue;                /* (the full check sees it) */
            ent_stat_at(dfd, name, &now);
            if (!ent_equal(&now, &was) && now.kind == 1 && (was.kind == 1 || was.kind == KIND_CHANGED) &&
                s->nmchanged < MAX_CHANGED)
                s->mchanged[s->nmchanged++] = arena_sprintf(&s->a, "%s/%s", g.dir, name);
        }
        if (dfd >= 0)
            close(dfd);
    }
    return s->nmchanged > 0;
}

/* Every entry of every group still stat()s the same.  Large lists are
 * checked by two threads (stat() is mostly path lookup in the kernel, which
 * runs in parallel), split at half the entries. */
static bool all_unchanged(const Groups *gs, bool *output, CacheSnap *s, bool changes, Sb *diff)
{
    atomic_bool stop = false;
    Arena ab;
    arena_init(&ab, 0);
    Over sa[MAX_SETTLE], sb[MAX_SETTLE];
    if (!s->settle)
        s->settle = ARENA_ARRAY(&s->a, Over, MAX_SETTLE);
    CheckJob a = {gs->v, gs->n, true, false, &stop, s->over, s->nover, &s->a, NULL, 0, sa, 0, NULL, NULL, 0, NULL, NULL},
             b = {NULL, 0, true, false, &stop, s->over, s->nover, &ab, NULL, 0, sb, 0, NULL, NULL, 0, NULL, NULL};
    const char *cb[MAX_CHANGED], *mb[MAX_CHANGED];
    if (changes) {
        a.changes = s->changed;
        b.changes = cb;
        a.mchanges = s->mchanged;
        b.mchanges = mb;
    }
    pthread_t t;
    bool two = gs->nents >= 4096 && gs->n > 1;
    if (two) {
        size_t acc = 0, k = 0;
        while (k < gs->n - 1 && acc + gs->v[k].n <= gs->nents / 2)
            acc += gs->v[k++].n;
        if (k == 0)
            k = 1;
        a.n = k;
        b.g = gs->v + k;
        b.n = gs->n - k;
        if (pthread_create(&t, NULL, check_range, &b) != 0) {
            two = false;
            a.n = gs->n;
            b.n = 0;
        }
    }
    check_range(&a);
    if (two)
        pthread_join(t, NULL);
    *output = a.output || b.output;
    bool same = a.same && b.same;
    const char *d = !a.same && a.diff ? a.diff : !b.same ? b.diff : NULL;
    if (d) {
        sb_reset(diff);
        sb_puts(diff, d);
    }
    if (changes) {
        /* a's lists are s's own; b's follow them (copied out of ab) */
        s->nchanged = a.nchanges;
        s->nmchanged = a.nmchanges;
        if (!append_changes(s, s->changed, &s->nchanged, cb, b.nchanges) ||
            !append_changes(s, s->mchanged, &s->nmchanged, mb, b.nmchanges))
            same = false;
    }
    /* the "." entries to record, from both jobs (b's paths are in ab) */
    for (size_t k = 0; k < a.nsettle + b.nsettle && s->nsettle < MAX_SETTLE; k++) {
        Over o = k < a.nsettle ? sa[k] : sb[k - a.nsettle];
        o.path = arena_strdup(&s->a, o.path);
        s->settle[s->nsettle++] = o;
    }
    arena_free(&ab);
    return same;
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

/* The paths and stored stats of the entries in groups g[0..n) (the heads). */
static bool group_paths(const Group *g, size_t n, size_t nents, Arena *a, const char ***out, SnapEnt **ents,
                        uint32_t *count)
{
    *out = ARENA_ARRAY(a, const char *, nents ? nents : 1);
    *ents = ARENA_ARRAY(a, SnapEnt, nents ? nents : 1);
    *count = 0;
    for (size_t gi = 0; gi < n; gi++) {
        Rd r = g[gi].ents;
        for (uint32_t i = 0; i < g[gi].n; i++) {
            const char *name = get_name(&r, NULL);
            SnapEnt e;
            get_ent(&r, &e);
            if (r.bad)
                return false;
            (*ents)[*count] = e;
            (*out)[(*count)++] = g[gi].dlen ? arena_sprintf(a, "%s/%s", g[gi].dir, name) : arena_strdup(a, name);
        }
    }
    return true;
}

/* The shifts of s's key, in order (locked by the caller). */
static bool load_shifts(Cache *c, CacheSnap *s)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT file, at, delta FROM snapshot_shift WHERE key = ?1 ORDER BY seq", -1, &q,
                           NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (s->nshift == cap) {
            cap = cap ? cap * 2 : 8;
            struct Shift *nv = ARENA_ARRAY(&s->a, struct Shift, cap);
            if (s->nshift)
                memcpy(nv, s->shift, sizeof *nv * s->nshift);
            s->shift = nv;
        }
        s->shift[s->nshift++] = (struct Shift){sqlite3_column_int(q, 0), sqlite3_column_int64(q, 1),
                                               sqlite3_column_int64(q, 2)};
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE;
}

int64_t cache_snap_offset(const CacheSnap *s, int file, int64_t base, uint32_t *len)
{
    int64_t off = base;
    for (size_t i = 0; i < s->nshift; i++) {
        if (s->shift[i].file != file)
            continue;
        if (off > s->shift[i].at)
            off += s->shift[i].delta;
        else if (off == s->shift[i].at && len)
            *len = (uint32_t)((int64_t)*len + s->shift[i].delta);   /* the entry rewritten itself */
    }
    return off;
}

int cache_snap_shift(Cache *c, CacheSnap *s, int file, int64_t at, int64_t delta)
{
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    int rc = -1;
    if (!c->broken &&
        sqlite3_prepare_v2(c->db,
                           "INSERT INTO snapshot_shift(key, seq, file, at, delta) VALUES (?1, "
                           "(SELECT coalesce(max(seq), 0) + 1 FROM snapshot_shift WHERE key = ?1), ?2, ?3, ?4)",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, file);
        sqlite3_bind_int64(q, 3, at);
        sqlite3_bind_int64(q, 4, delta);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    if (rc == 0) {
        /* later offsets computed from this snapshot see the shift too */
        struct Shift *nv = ARENA_ARRAY(&s->a, struct Shift, s->nshift + 1);
        if (s->nshift)
            memcpy(nv, s->shift, sizeof *nv * s->nshift);
        nv[s->nshift++] = (struct Shift){file, at, delta};
        s->shift = nv;
    }
    return rc;
}

/* The overrides of s's key (locked by the caller). */
static bool load_over(Cache *c, CacheSnap *s)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT path, ent FROM snapshot_over WHERE key = ?1", -1, &q, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
    size_t cap = 0;
    bool ok = true;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(q, 0);
        const uint8_t *e = sqlite3_column_blob(q, 1);
        Rd r = {e, e + sqlite3_column_bytes(q, 1), false};
        if (!path || !e) {
            ok = false;
            break;
        }
        if (s->nover == cap) {
            cap = cap ? cap * 2 : 8;
            Over *nv = ARENA_ARRAY(&s->a, Over, cap);
            if (s->nover)
                memcpy(nv, s->over, sizeof *nv * s->nover);
            s->over = nv;
        }
        Over *o = &s->over[s->nover++];
        o->path = arena_strdup(&s->a, path);
        get_ent(&r, &o->ent);
        ok = ok && !r.bad;
    }
    sqlite3_finalize(q);
    return ok && rc == SQLITE_DONE;
}

/* ---------------------------------------------------------------- stamp
 *
 * Outputs rewritten in place keep their directory's stat, so the "."
 * entries (dir_entry) do not see them.  Every cdbt run that may write
 * outputs writes a token of its own into <target>/cdbt.stamp first, and a
 * snapshot keeps the token its run wrote: a later run that wrote outputs
 * without rewriting manifest.json (--no-write-json, a failed run) has
 * replaced the token.  Read by content: a stat could repeat. */

#define STAMP_MAX 128

int cache_stamp_write(const char *target_dir, const char *token)
{
    size_t n = strlen(token);
    if (n >= STAMP_MAX)
        return -1;
    Sb path = SB_INIT;
    sb_printf(&path, "%s/%s", target_dir, CACHE_STAMP_FILE);
    int rc = fs_write_file_direct(sb_cstr(&path), token, n);      /* creates target/ if need be */
    sb_free(&path);
    return rc;
}

/* The stamp stored with a snapshot ("path\0token", or empty: none) is
 * still the file's content. */
static bool stamp_same(const uint8_t *b, size_t n)
{
    if (!b || n == 0)
        return true;
    const char *path = (const char *)b;
    size_t pl = strnlen(path, n);
    if (pl + 1 >= n)
        return false;
    const char *token = path + pl + 1;
    size_t tl = n - pl - 1;
    char buf[STAMP_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = read(fd, buf, sizeof buf);
    close(fd);
    return got >= 0 && (size_t)got == tl && memcmp(buf, token, tl) == 0;
}

/* Name the entry that differed in *why (kept in c until the next lookup). */
static void why_changed(Cache *c, bool output, const char **why)
{
    if (c->why.len) {
        char *p = sb_detach(&c->why);
        sb_printf(&c->why, "%s changed: %s", output ? "an output file (target/)" : "a project file", p);
        free(p);
        *why = sb_cstr(&c->why);
    } else {
        *why = output ? "an output file (target/) changed" : "a project file changed";
    }
}

/* Copies of the stored inputs and env reads, for a snapshot that found
 * changes (cache_snap_has_input / _has_env, cache_snap_verify). */
static void keep_inputs(CacheSnap *s, const uint8_t *in, size_t nin, const uint8_t *ev, size_t nev)
{
    uint8_t *i = arena_alloc(&s->a, nin + 1), *e = arena_alloc(&s->a, nev + 1);
    if (nin)
        memcpy(i, in, nin);
    if (nev)
        memcpy(e, ev, nev);
    s->inputs = i;
    s->ninputs = nin;
    s->envs = e;
    s->nenvs = nev;
}

CacheSnap *cache_snap_lookup(Cache *c, const uint8_t key[32], bool changes, const char **why)
{
    *why = "no snapshot for this command line";
    if (!c || c->broken)
        return NULL;
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL, *qo = NULL;
    CacheSnap *s = NULL;
    Groups gin = {0}, gout = {0};
    /* The inputs first, the outputs only once the inputs are unchanged:
     * reading a column walks the row's overflow pages from its start, so
     * the outputs, the biggest, are the last column and a lookup that
     * fails on an input (a file edited) never reads them. */
    if (sqlite3_prepare_v2(c->db,
                           "SELECT s.stamp, s.info, s.envs, s.inputs, h.ents FROM snapshots s "
                           "JOIN snapshot_heads h ON h.key = s.key WHERE s.key = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW)
        goto out;
    s = calloc(1, sizeof *s);
    arena_init(&s->a, 0);
    memcpy(s->key, key, 32);
    /* the blobs are read in place: valid until q is finalized */
    enum { STAMP, INFO, ENVS, INPUTS, HEADS, NCOL };
    const uint8_t *blob[NCOL];
    size_t len[NCOL];
    for (int i = 0; i < NCOL; i++) {
        blob[i] = sqlite3_column_blob(q, i);
        len[i] = (size_t)sqlite3_column_bytes(q, i);
    }
    if (!blob[INPUTS] || !blob[HEADS] || !read_groups(blob[INPUTS], len[INPUTS], false, &gin)) {
        *why = "snapshot unreadable";
        goto bad;
    }
    uint8_t *info = arena_alloc(&s->a, len[INFO] + 1);
    if (len[INFO])
        memcpy(info, blob[INFO], len[INFO]);
    s->info = info;
    s->ninfo = len[INFO];
    Rd re = {blob[ENVS], blob[ENVS] + len[ENVS], false};
    if (!blob[ENVS] || !envs_unchanged(&re, &s->a)) {
        *why = "an environment variable read by a template changed";
        goto bad;
    }
    if (!load_over(c, s) || !load_shifts(c, s)) {
        *why = "snapshot unreadable";
        goto bad;
    }
    if (!stamp_same(blob[STAMP], len[STAMP])) {
        *why = "another cdbt run wrote outputs (target/) since";
        goto bad;
    }
    uint8_t *sc = arena_alloc(&s->a, len[STAMP] + 1);
    if (len[STAMP])
        memcpy(sc, blob[STAMP], len[STAMP]);
    s->stamp = sc;
    s->nstamp = len[STAMP];
    bool output = false;
    sb_reset(&c->why);
    if (changes && macro_first(&gin, s)) {
        s->unverified = true;    /* (the inputs kept for cache_snap_verify) */
        keep_inputs(s, blob[INPUTS], len[INPUTS], blob[ENVS], len[ENVS]);
        *why = NULL;
        goto out;
    }
    if (!all_unchanged(&gin, &output, s, changes, &c->why)) {
        why_changed(c, false, why);
        goto bad;
    }
    /* then the outputs and the heads (which come last) */
    bool ok = sqlite3_prepare_v2(c->db, "SELECT outputs FROM snapshots WHERE key = ?1", -1, &qo, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_blob(qo, 1, key, 32, SQLITE_STATIC);
        ok = sqlite3_step(qo) == SQLITE_ROW && sqlite3_column_blob(qo, 0);
    }
    ok = ok && read_groups(sqlite3_column_blob(qo, 0), (size_t)sqlite3_column_bytes(qo, 0), true, &gout);
    size_t h0 = gout.n, hents = gout.nents;
    ok = ok && read_groups(blob[HEADS], len[HEADS], true, &gout) &&
         group_paths(gout.v + h0, gout.n - h0, gout.nents - hents, &s->a, &s->heads, &s->head_ents, &s->nheads);
    if (!ok) {
        *why = "snapshot unreadable";
        goto bad;
    }
    if (!all_unchanged(&gout, &output, s, false, &c->why)) {
        why_changed(c, true, why);
        goto bad;
    }
    if (s->nchanged)
        keep_inputs(s, blob[INPUTS], len[INPUTS], blob[ENVS], len[ENVS]);
    *why = NULL;
    goto out;
bad:
    cache_snap_free(s);
    s = NULL;
out:
    free(gin.v);
    free(gout.v);
    sqlite3_finalize(qo);
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    return s;
}

bool cache_snap_head_same(const CacheSnap *s, const char *path, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return false;
    SnapEnt now;
    ent_from_stat(&now, &st);
    for (uint32_t i = 0; i < s->nheads; i++)
        if (strcmp(s->heads[i], path) == 0)
            return ent_equal(&s->head_ents[i], &now);
    return false;
}

void *cache_snap_tests(Cache *c, const CacheSnap *s, size_t *len, uint8_t digest[32])
{
    *len = 0;
    if (!c || c->broken || !s)
        return NULL;
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    sqlite3_int64 row = 0, n = -1;
    if (sqlite3_prepare_v2(c->db, "SELECT rowid, length(codes), digest FROM snapshot_tests WHERE key = ?1", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 2) == 32) {
            row = sqlite3_column_int64(q, 0);
            n = sqlite3_column_type(q, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 1);
            memcpy(digest, sqlite3_column_blob(q, 2), 32);
        }
    }
    sqlite3_finalize(q);
    /* read straight into the buffer the caller keeps (a SELECT of the
     * column would assemble the megabytes in a buffer of sqlite's first) */
    char *out = NULL;
    sqlite3_blob *b = NULL;
    if (n >= 0 && n < INT32_MAX && sqlite3_blob_open(c->db, "main", "snapshot_tests", "codes", row, 0, &b) == SQLITE_OK) {
        out = xmalloc((size_t)n + 1);
        if (n && sqlite3_blob_read(b, out, (int)n, 0) != SQLITE_OK) {
            free(out);
            out = NULL;
        } else {
            out[n] = '\0';
            *len = (size_t)n;
        }
    }
    sqlite3_blob_close(b);
    pthread_mutex_unlock(&c->mu);
    return out;
}

bool cache_snap_verify(CacheSnap *s, bool (*known)(void *ud, const char *path, FsStamp *st), void *ud)
{
    if (!s->unverified)
        return true;
    Groups gs = {0};
    if (!read_groups(s->inputs, s->ninputs, false, &gs)) {
        free(gs.v);
        return false;
    }
    atomic_bool stop = false;
    s->nchanged = s->nmchanged = 0;
    CheckJob j = {gs.v, gs.n, true, false, &stop, s->over, s->nover, &s->a, s->changed, 0, NULL, 0, NULL,
                  s->mchanged, 0, known, ud};
    check_range(&j);
    free(gs.v);
    s->nchanged = j.nchanges;
    s->nmchanged = j.nmchanges;
    return j.same;
}

size_t cache_snap_macros_changed(const CacheSnap *s, const char *const **paths)
{
    *paths = s->mchanged;
    return s->nmchanged;
}

size_t cache_snap_changed(const CacheSnap *s, const char *const **paths)
{
    *paths = s->changed;
    return s->nchanged;
}

/* Calls visit for each input stored directly in directory dir[0..dl) (a
 * directory's entries sit in one group; every group is looked at all the
 * same), until visit returns true; whether one did.  Known only when
 * something changed. */
static bool each_input_in(const CacheSnap *s, const char *dir, size_t dl,
                          bool (*visit)(void *ud, const char *name, const SnapEnt *e), void *ud)
{
    if (!s->inputs)
        return false;
    Groups gs = {0};
    bool stop = false;
    if (read_groups(s->inputs, s->ninputs, false, &gs))
        for (size_t gi = 0; gi < gs.n && !stop; gi++) {
            Group g = gs.v[gi];
            if (g.dlen != dl || memcmp(g.dir, dir, dl) != 0)
                continue;
            for (uint32_t i = 0; i < g.n && !stop; i++) {
                const char *name = get_name(&g.ents, NULL);
                SnapEnt e;
                get_ent(&g.ents, &e);
                if (g.ents.bad)
                    break;
                stop = visit(ud, name, &e);
            }
        }
    free(gs.v);
    return stop;
}

static bool is_name(void *ud, const char *name, const SnapEnt *e)
{
    (void)e;
    return strcmp(name, ud) == 0;
}

bool cache_snap_has_input(const CacheSnap *s, const char *path)
{
    size_t dl = dir_len(path);
    return each_input_in(s, path, dl, is_name, (void *)(path + dl + (dl ? 1 : 0)));
}

typedef struct DirNames { Arena *a; const char **v; size_t n, cap; } DirNames;

static bool add_dir_name(void *ud, const char *name, const SnapEnt *e)
{
    DirNames *d = ud;
    if (e->kind != 1 && e->kind != 2 && e->kind != KIND_CHANGED)
        return false;                  /* a path probed missing */
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        const char **v = ARENA_ARRAY(d->a, const char *, d->cap);
        if (d->n)
            memcpy(v, d->v, sizeof *v * d->n);
        d->v = v;
    }
    d->v[d->n++] = arena_strdup(d->a, name);
    return false;
}

size_t cache_snap_dir_names(const CacheSnap *s, const char *dir, Arena *a, const char ***names)
{
    DirNames d = {.a = a};
    each_input_in(s, dir, strlen(dir), add_dir_name, &d);
    *names = d.v;
    return d.n;
}

bool cache_snap_has_env(const CacheSnap *s, const char *name)
{
    if (!s->envs)
        return false;
    Arena a;
    arena_init(&a, 0);
    Rd r = {s->envs, s->envs + s->nenvs, false};
    uint32_t n = rd_u32(&r);
    bool found = false;
    for (uint32_t i = 0; i < n && !r.bad && !found; i++) {
        const char *k = rd_str(&r, &a);
        rd_str(&r, &a);
        found = k && strcmp(k, name) == 0;
    }
    arena_free(&a);
    return found;
}

/* One row of the node table (locked by the caller): a blob of the key's
 * row `which` in table, malloc'ed, or NULL. */
static uint8_t *node_row(Cache *c, const CacheSnap *s, const char *sql, int which, size_t *len)
{
    uint8_t *out = NULL;
    *len = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, which);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_BLOB) {
            const void *b = sqlite3_column_blob(q, 0);
            *len = (size_t)sqlite3_column_bytes(q, 0);
            out = xmalloc(*len + 1);
            memcpy(out, b, *len);
        }
    }
    sqlite3_finalize(q);
    return out;
}

bool cache_snap_find_node(Cache *c, const CacheSnap *s, const char *ofp, Arena *a, CacheDeltaNode *out)
{
    bool ok = false;
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    uint8_t *row = c->broken ? NULL
                             : node_row(c, s, "SELECT ents FROM snapshot_nodes WHERE key = ?1 AND bucket = ?2",
                                        (int)cache_delta_bucket(ofp, strlen(ofp)), &n);
    Rd refs;
    if (row && cache_delta_entry(row, n, ofp, a, out, &refs)) {
        /* the parents' stubs, a chunk row each (the last one read kept) */
        out->deps = ARENA_ARRAY(a, CacheDeltaDep, (size_t)out->ndeps + 1);
        uint8_t *chunk = NULL;
        size_t clen = 0;
        int64_t at = -1;
        ok = true;
        for (int i = 0; i < out->ndeps && ok; i++) {
            uint64_t k = rd_var(&refs);
            if (refs.bad || k > UINT32_MAX) {
                ok = false;
                break;
            }
            if ((int64_t)(k / STUB_CHUNK) != at) {
                free(chunk);
                at = (int64_t)(k / STUB_CHUNK);
                chunk = node_row(c, s, "SELECT stubs FROM snapshot_stubs WHERE key = ?1 AND chunk = ?2", (int)at,
                                 &clen);
            }
            ok = chunk && cache_delta_stub_at(chunk, clen, (uint32_t)(k % STUB_CHUNK), a, &out->deps[i]);
        }
        free(chunk);
    }
    free(row);
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* Store overrides v[0..n) of s's snapshot (snapshot_over) in one
 * transaction: 0, or -1. */
static int record_over(Cache *c, const CacheSnap *s, const Over *v, size_t n)
{
    int rc = -1;
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    if (!c->broken && sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
        rc = sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO snapshot_over(key, path, ent) VALUES (?1, ?2, ?3)",
                                -1, &q, NULL) == SQLITE_OK ? 0 : -1;
        for (size_t i = 0; i < n && rc == 0; i++) {
            Sb b = SB_INIT;
            put_ent(&b, &v[i].ent);
            sqlite3_reset(q);
            sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, v[i].path, -1, SQLITE_STATIC);
            sqlite3_bind_blob(q, 3, b.buf, (int)b.len, SQLITE_STATIC);
            if (sqlite3_step(q) != SQLITE_DONE)
                rc = -1;
            sb_free(&b);
        }
        sqlite3_finalize(q);
        if (sqlite3_exec(c->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
            rc = -1;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int cache_snap_record(Cache *c, CacheSnap *s, double started, const char *const *paths, const FsStamp *const *st,
                      size_t n, size_t ninputs)
{
    Over *v = xmalloc(sizeof *v * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        SnapEnt e = {.path = paths[i]};
        if (st && st[i])
            ent_from_stamp(&e, st[i]);
        else {
            struct stat now;
            ent_from_stat(&e, stat(paths[i], &now) == 0 ? &now : NULL);
        }
        /* racy: never taken as unchanged */
        if (i < ninputs && started > 0 && is_racy(&e, started))
            e.kind = KIND_CHANGED;
        v[i] = (Over){paths[i], e};
    }
    int rc = record_over(c, s, v, n);
    free(v);
    return rc;
}

int cache_snap_settle(Cache *c, CacheSnap *s)
{
    if (!s->nsettle)
        return 0;
    int rc = record_over(c, s, s->settle, s->nsettle);
    rc = rc == 0 ? (int)s->nsettle : -1;
    s->nsettle = 0;
    return rc;
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

int cache_snap_refresh(Cache *c, CacheSnap *s)
{
    Sb b = SB_INIT;
    encode_paths(&b, s->heads, NULL, s->nheads, NULL, 0, NULL, false, 0);
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    int rc = -1;
    if (!c->broken &&
        sqlite3_prepare_v2(c->db, "UPDATE snapshot_heads SET ents = ?2 WHERE key = ?1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, s->key, 32, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, b.buf ? b.buf : "", (int)b.len, SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    sb_free(&b);
    return rc;
}

/* ---------------------------------------------------------------- digests */

/* A compiled file by the 64-bit hash of its absolute path: two paths of
 * one hash would share an entry, whose stat then matches at most one of
 * them (the other is read), so no path is kept. */
typedef struct OutEnt {
    uint64_t h;                  /* 0: empty slot */
    uint64_t ino, dev, size;
    int64_t ms, cs;
    int32_t mns, cns;
    uint8_t dg[CACHE_DIGEST_LEN];
} OutEnt;

struct CacheOutputs {
    OutEnt *v;                   /* open addressing, mask + 1 slots */
    size_t mask, n;
    uint8_t *outs, *dg;          /* copies of the row's outputs and digests (freed once indexed) */
    size_t nouts, ndg;
    CacheSnap over;              /* the files delta runs rewrote since (load_over) */
    pthread_t th;
    bool threaded, ok;
};

/* Index the copied blobs (on a thread of its own: some 0.02 s at 30,000
 * compiled files, beside the project's load). */
static void *outputs_build(void *arg)
{
    CacheOutputs *o = arg;
    Groups gs = {0};
    o->ok = read_groups(o->outs, o->nouts, true, &gs);
    size_t want = 16;
    while (want < 2 * (gs.nents + 1))
        want *= 2;
    o->v = calloc(want, sizeof *o->v);
    o->mask = want - 1;
    o->ok = o->ok && o->v;
    Sb path = SB_INIT;
    size_t k = 0;
    static const uint8_t none[CACHE_DIGEST_LEN];
    for (size_t gi = 0; gi < gs.n && o->ok; gi++) {
        Group g = gs.v[gi];
        for (uint32_t i = 0; i < g.n; i++) {
            size_t nl = 0;
            const char *name = get_name(&g.ents, &nl);
            SnapEnt e;
            get_ent(&g.ents, &e);
            if (g.ents.bad || !name) {
                o->ok = false;
                break;
            }
            if (!(i == 0 && nl == 1 && name[0] == '.') && (k + 1) * CACHE_DIGEST_LEN > o->ndg) {
                o->ok = false;
                break;
            }
            if (i == 0 && nl == 1 && name[0] == '.')
                continue;            /* the directory's own entry */
            const uint8_t *d = o->dg + k++ * CACHE_DIGEST_LEN;
            if (e.kind != 1 || memcmp(d, none, CACHE_DIGEST_LEN) == 0)
                continue;
            sb_reset(&path);
            if (g.dlen) {
                sb_append(&path, g.dir, g.dlen);
                sb_putc(&path, '/');
            }
            sb_append(&path, name, nl);
            bool rewritten = false;      /* by a delta run since: its digest is not known */
            for (size_t v = 0; v < o->over.nover && !rewritten; v++)
                rewritten = strcmp(o->over.over[v].path, sb_cstr(&path)) == 0;
            if (rewritten)
                continue;
            uint64_t h = strmap_hash(path.buf, path.len) | 1;
            size_t at = (size_t)h & o->mask;
            while (o->v[at].h && o->v[at].h != h)
                at = (at + 1) & o->mask;
            if (o->v[at].h)
                continue;            /* the same hash: the first keeps the slot */
            o->v[at] = (OutEnt){h, e.ino, e.dev, e.size, e.ms, e.cs, (int32_t)e.mns, (int32_t)e.cns, {0}};
            memcpy(o->v[at].dg, d, CACHE_DIGEST_LEN);
            o->n++;
        }
    }
    sb_free(&path);
    free(gs.v);
    o->ok = o->ok && k * CACHE_DIGEST_LEN == o->ndg;
    free(o->outs);
    free(o->dg);
    o->outs = o->dg = NULL;
    return NULL;
}

static CacheOutputs *snap_outputs(Cache *c, const uint8_t key[32], const CacheSnap *seen, const char **why);

CacheOutputs *cache_snap_outputs(Cache *c, const uint8_t key[32], const char **why)
{
    return snap_outputs(c, key, NULL, why);
}

CacheOutputs *cache_snap_outputs_of(Cache *c, const CacheSnap *s, const char **why)
{
    return snap_outputs(c, s->key, s, why);
}

static CacheOutputs *snap_outputs(Cache *c, const uint8_t key[32], const CacheSnap *seen, const char **why)
{
    *why = "no snapshot for this command line";
    if (!c || c->broken)
        return NULL;
    pthread_mutex_lock(&c->mu);
    CacheOutputs *o = xmalloc(sizeof *o);
    memset(o, 0, sizeof *o);
    arena_init(&o->over.a, 0);
    memcpy(o->over.key, key, 32);
    bool ok = false;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT s.stamp, s.outputs, d.dg FROM snapshots s "
                           "LEFT JOIN snapshot_digests d ON d.key = s.key WHERE s.key = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW)
        goto out;
    const uint8_t *stamp = sqlite3_column_blob(q, 0), *outs = sqlite3_column_blob(q, 1),
                  *dg = sqlite3_column_blob(q, 2);
    size_t nstamp = (size_t)sqlite3_column_bytes(q, 0);
    o->nouts = (size_t)sqlite3_column_bytes(q, 1);
    o->ndg = (size_t)sqlite3_column_bytes(q, 2);
    if (seen ? nstamp != seen->nstamp || (nstamp && memcmp(stamp, seen->stamp, nstamp) != 0)
             : !stamp_same(stamp, nstamp)) {
        *why = "another cdbt run wrote outputs (target/) since";
        goto out;
    }
    if (!dg) {
        *why = "no digest stored: every compiled file was written in the last clock ticks before the snapshot";
        goto out;
    }
    *why = "snapshot unreadable";
    if (!outs || !load_over(c, &o->over))
        goto out;
    o->outs = xmalloc(o->nouts + 1);
    memcpy(o->outs, outs, o->nouts);
    o->dg = xmalloc(o->ndg + 1);
    memcpy(o->dg, dg, o->ndg);
    ok = true;
    *why = NULL;
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&c->mu);
    if (!ok) {
        cache_outputs_free(o);
        return NULL;
    }
    o->threaded = pthread_create(&o->th, NULL, outputs_build, o) == 0;
    if (!o->threaded)
        outputs_build(o);
    return o;
}

bool cache_outputs_ready(CacheOutputs *o)
{
    if (o && o->threaded) {
        pthread_join(o->th, NULL);
        o->threaded = false;
    }
    return o && o->ok;
}

bool cache_outputs_get(void *ud, const char *path, FsStamp *st, uint8_t digest[CACHE_DIGEST_LEN])
{
    CacheOutputs *o = ud;
    if (!o || !o->v)
        return false;
    uint64_t h = strmap_hash(path, strlen(path)) | 1;
    for (size_t at = (size_t)h & o->mask; o->v[at].h; at = (at + 1) & o->mask) {
        const OutEnt *e = &o->v[at];
        if (e->h != h)
            continue;
        *st = (FsStamp){.ino = e->ino, .dev = e->dev, .size = e->size, .ms = e->ms, .cs = e->cs, .mns = e->mns,
                        .cns = e->cns, .mode = S_IFREG, .nlink = 1};
        memcpy(digest, e->dg, CACHE_DIGEST_LEN);
        return true;
    }
    return false;
}

size_t cache_outputs_count(const CacheOutputs *o)
{
    return o ? o->n : 0;
}

void cache_outputs_free(CacheOutputs *o)
{
    if (!o)
        return;
    cache_outputs_ready(o);
    free(o->v);
    free(o->outs);
    free(o->dg);
    arena_free(&o->over.a);
    free(o);
}

/* The rows of node table t (locked, in the caller's transaction). */
static bool store_nodes(Cache *c, const uint8_t key[32], const CacheDeltaTable *t)
{
    sqlite3_stmt *q = NULL;
    bool ok = sqlite3_prepare_v2(c->db, "INSERT INTO snapshot_nodes(key, bucket, ents) VALUES (?1, ?2, ?3)", -1, &q,
                                 NULL) == SQLITE_OK;
    for (int b = 0; b < CACHE_DELTA_BUCKETS && ok; b++) {
        if (!t->bucket[b].len)
            continue;
        sqlite3_reset(q);
        sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, b);
        sqlite3_bind_blob(q, 3, t->bucket[b].buf, (int)t->bucket[b].len, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    q = NULL;
    ok = ok && sqlite3_prepare_v2(c->db, "INSERT INTO snapshot_stubs(key, chunk, stubs) VALUES (?1, ?2, ?3)", -1, &q,
                                  NULL) == SQLITE_OK;
    for (uint32_t k = 0; k * STUB_CHUNK < t->nstubs && ok; k++) {
        uint32_t first = k * STUB_CHUNK, last = first + STUB_CHUNK < t->nstubs ? first + STUB_CHUNK : t->nstubs;
        uint32_t from = first ? t->stub_end[first - 1] : 0, to = t->stub_end[last - 1];
        sqlite3_reset(q);
        sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, (int)k);
        sqlite3_bind_blob(q, 3, t->stubs.buf + from, (int)(to - from), SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return ok;
}

/* The outputs' half of a store, encoded on a second thread. */
typedef struct OutJob {
    const char *root;
    const char *const *outputs;
    const FsStamp *const *st;
    const uint8_t *const *dg;    /* digests (snapshot_digests), or NULL */
    size_t n, nheads;
    double started;              /* the run's start (dir_entry) */
    Sb hd, out, dgs;             /* dgs: empty when no digest is known */
} OutJob;

/* (the heads are encoded by the store itself: a prepared store encodes the
 * others before the heads are written) */
static void *encode_outputs(void *arg)
{
    OutJob *j = arg;
    Listing l;
    list_paths(&l, j->outputs + j->nheads, j->st ? j->st + j->nheads : NULL, j->n - j->nheads, j->root, 0, NULL,
               true, j->started);
    write_listing(&j->out, &l, NULL, NULL, 0);
    /* the digests in the order of the entries just encoded; not that of
     * a file changed in the last clock ticks (is_racy): another program's
     * write in the same tick would not show in its stat */
    bool any = false;
    static const uint8_t none[CACHE_DIGEST_LEN];
    double now = clock_epoch();
    for (size_t gi = 0; j->dg && gi < l.ng; gi++)
        for (uint32_t k = l.g[gi].e0; k < l.g[gi].e0 + l.g[gi].ne; k++) {
            const uint8_t *d = j->dg[j->nheads + l.src[k]];
            if (d && is_racy(&l.ents[k], now))
                d = NULL;
            any |= d != NULL;
            sb_append(&j->dgs, d ? (const char *)d : (const char *)none, CACHE_DIGEST_LEN);
        }
    if (!any)
        sb_reset(&j->dgs);
    listing_free(&l);
    return NULL;
}

/* Delete what the database holds for key and for all but the few most
 * recent command lines (locked, in the caller's transaction). */
static void clear_old(Cache *c, const uint8_t key[32])
{
    /* the oldest command lines, when there are more than 7 (each NOT IN
     * below scans a whole table: a few ms at 10k models, for nothing in the
     * usual case) */
    sqlite3_stmt *n = NULL;
    bool evict = sqlite3_prepare_v2(c->db, "SELECT count(*) > 7 FROM snapshots", -1, &n, NULL) == SQLITE_OK &&
                 sqlite3_step(n) == SQLITE_ROW && sqlite3_column_int(n, 0);
    sqlite3_finalize(n);
    if (evict)
        sqlite3_exec(c->db,
                     "DELETE FROM snapshots WHERE key NOT IN "
                     "(SELECT key FROM snapshots ORDER BY stored_at DESC LIMIT 7); "
                     "DELETE FROM snapshot_heads WHERE key NOT IN (SELECT key FROM snapshots); "
                     "DELETE FROM snapshot_over WHERE key NOT IN (SELECT key FROM snapshots); "
                     "DELETE FROM snapshot_nodes WHERE key NOT IN (SELECT key FROM snapshots); "
                     "DELETE FROM snapshot_stubs WHERE key NOT IN (SELECT key FROM snapshots); "
                     "DELETE FROM snapshot_shift WHERE key NOT IN (SELECT key FROM snapshots); "
                     "DELETE FROM snapshot_digests WHERE key NOT IN (SELECT key FROM snapshots); "
                     "DELETE FROM snapshot_tests WHERE key NOT IN (SELECT key FROM snapshots)",
                     NULL, NULL, NULL);
    static const char *const clear[] = {"DELETE FROM snapshots WHERE key = ?1",
                                        "DELETE FROM snapshot_heads WHERE key = ?1",
                                        "DELETE FROM snapshot_over WHERE key = ?1",
                                        "DELETE FROM snapshot_nodes WHERE key = ?1",
                                        "DELETE FROM snapshot_stubs WHERE key = ?1",
                                        "DELETE FROM snapshot_shift WHERE key = ?1",
                                        "DELETE FROM snapshot_digests WHERE key = ?1"};
    for (size_t k = 0; k < sizeof clear / sizeof clear[0]; k++) {
        sqlite3_stmt *d = NULL;
        if (sqlite3_prepare_v2(c->db, clear[k], -1, &d, NULL) == SQLITE_OK) {
            sqlite3_bind_blob(d, 1, key, 32, SQLITE_STATIC);
            sqlite3_step(d);
        }
        sqlite3_finalize(d);
    }
}

/* One statement of sql with ?1 the key, ?2 and ?3 blobs b1 and b2 (when
 * not NULL), run to its end.  false on a database error. */
static bool put_row(Cache *c, const char *sql, const uint8_t key[32], const void *b1, size_t n1, const void *b2,
                    size_t n2)
{
    sqlite3_stmt *q = NULL;
    bool ok = sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
        if (b1)
            sqlite3_bind_blob(q, 2, n1 ? b1 : "", (int)n1, SQLITE_STATIC);
        if (b2)
            sqlite3_bind_blob(q, 3, n2 ? b2 : "", (int)n2, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return ok;
}

/* snapshot_tests' row of key: left alone when it has t's digest, else
 * written from t's chunks through sqlite's incremental blob I/O. */
static bool put_chunks(Cache *c, const uint8_t key[32], const CacheChunks *t)
{
    sqlite3_stmt *q = NULL;
    bool same = false;
    if (sqlite3_prepare_v2(c->db, "SELECT digest FROM snapshot_tests WHERE key = ?1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
        same = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 32 &&
               memcmp(sqlite3_column_blob(q, 0), t->digest, 32) == 0;
    }
    sqlite3_finalize(q);
    if (same)
        return true;
    if (!put_row(c, "DELETE FROM snapshot_tests WHERE key = ?1", key, NULL, 0, NULL, 0))
        return false;
    q = NULL;
    bool ok = sqlite3_prepare_v2(c->db, "INSERT INTO snapshot_tests(key, digest, codes) VALUES (?1, ?2, zeroblob(?3))",
                                 -1, &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, t->digest, 32, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)t->len);
        ok = sqlite3_step(q) == SQLITE_DONE;
    }
    sqlite3_finalize(q);
    if (!ok || !t->len)
        return ok;
    sqlite3_blob *b = NULL;
    if (sqlite3_blob_open(c->db, "main", "snapshot_tests", "codes", sqlite3_last_insert_rowid(c->db), 1, &b) !=
        SQLITE_OK) {
        sqlite3_blob_close(b);
        return false;
    }
    char *buf = xmalloc(1 << 16);
    size_t off = 0, n;
    while (ok && (n = t->next(t->ud, buf, 1 << 16)) > 0) {
        if (off + n > t->len)
            ok = false;
        else
            ok = sqlite3_blob_write(b, buf, (int)n, (int)off) == SQLITE_OK;
        off += n;
    }
    free(buf);
    if (sqlite3_blob_close(b) != SQLITE_OK)
        ok = false;
    return ok && off == t->len;
}

/* What cache_snap_prepare did before the store. */
struct CacheSnapPrep {
    OutJob oj;
    pthread_t t;
    bool two;                    /* oj runs on t */
    Listing lin;
    bool fresh;
    char *racy;                  /* !fresh: the input that changed (malloc'd) */
};

CacheSnapPrep *cache_snap_prepare(double started, const char *const *inputs, const FsStamp *const *in_st, size_t nin,
                                  const char *out_root, const char *const *outputs, const FsStamp *const *out_st,
                                  const uint8_t *const *out_dg, size_t nout, size_t nheads)
{
    CacheSnapPrep *pr = xcalloc(1, sizeof *pr);
    if (nheads > nout)
        nheads = nout;
    /* Two threads: the other encodes the outputs (their stat mostly from
     * the writer, their directories' listings when they changed); this one
     * lists the inputs (their stat mostly as read).  At 10k models each
     * side takes some 0.02 s. */
    pr->oj = (OutJob){.root = out_root, .outputs = outputs, .st = out_st, .dg = out_dg, .n = nout, .nheads = nheads,
                      .started = started};
    pr->two = nout >= 256 && pthread_create(&pr->t, NULL, encode_outputs, &pr->oj) == 0;
    pr->fresh = list_paths(&pr->lin, inputs, in_st, nin, NULL, started - RACY_MARGIN, &pr->racy, false, 0);
    return pr;
}

void cache_snap_prep_free(CacheSnapPrep *pr)
{
    if (!pr)
        return;
    if (pr->two)
        pthread_join(pr->t, NULL);
    listing_free(&pr->lin);
    free(pr->racy);
    sb_free(&pr->oj.out);
    sb_free(&pr->oj.hd);
    sb_free(&pr->oj.dgs);
    free(pr);
}

int cache_snap_store(Cache *c, const uint8_t key[32], double started, const char *const *inputs,
                     const FsStamp *const *in_st, size_t nin,
                     const char *const *envs, size_t nenv, const char *out_root, const char *const *outputs,
                     const FsStamp *const *out_st, const uint8_t *const *out_dg, size_t nout, size_t nheads,
                     const char *stamp_dir,
                     const char *stamp, const void *info, size_t ninfo, CacheDeltaBuild build, void *build_ud,
                     const char *nodes_root, const char *const *macro_files, size_t nmacro_files,
                     const CacheChunks *tests, CacheSnapPrep *pr, char **warning)
{
    if (!c || c->broken) {
        cache_snap_prep_free(pr);
        return 0;
    }
    Sb ev = SB_INIT, sp = SB_INIT, in = SB_INIT;
    int rc = 0;
    if (nheads > nout)
        nheads = nout;
    if (!pr)
        pr = cache_snap_prepare(started, inputs, in_st, nin, out_root, outputs, out_st, out_dg, nout, nheads);
    OutJob *oj = &pr->oj;
    /* then this one builds the node table, begins the transaction and
     * deletes what the store replaces; it encodes the inputs, the model
     * files among them marked from the table, once the outputs are done */
    CacheDeltaTable nodes;
    cache_delta_init(&nodes);
    if (!pr->fresh) {
        /* racy: an input may have changed while we read it */
        cache_set_warning(warning, "%s changed during the run", pr->racy);
        goto done;
    }
    encode_paths(&oj->hd, outputs, out_st, nheads, out_root, 0, NULL, false, 0);
    if (build)
        build(build_ud, &nodes);
    encode_envs(&ev, envs, nenv);
    if (stamp_dir && stamp) {
        sb_printf(&sp, "%s/%s", stamp_dir, CACHE_STAMP_FILE);
        sb_append(&sp, "", 1);
        sb_puts(&sp, stamp);
    }
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *q = NULL;
    rc = -1;
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
        clear_old(c, key);
        if (pr->two) {
            pthread_join(pr->t, NULL);
            pr->two = false;
        } else {
            encode_outputs(oj);
        }
        ModelSet models;
        model_set_init(&models, nodes_root, &nodes);
        write_listing(&in, &pr->lin, &models, macro_files, nmacro_files);
        free(models.t.v);
        /* the node table: a row per bucket of entries, per chunk of stubs */
        rc = !nodes.nents || store_nodes(c, key, &nodes) ? 1 : -1;
        if (rc == 1 && sqlite3_prepare_v2(c->db,
                                          "INSERT INTO snapshots(key, inputs, envs, outputs, info, stored_at, stamp) "
                                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                          -1, &q, NULL) == SQLITE_OK) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            sqlite3_bind_blob(q, 1, key, 32, SQLITE_STATIC);
            sqlite3_bind_blob(q, 2, in.buf ? in.buf : "", (int)in.len, SQLITE_STATIC);
            sqlite3_bind_blob(q, 3, ev.buf ? ev.buf : "", (int)ev.len, SQLITE_STATIC);
            sqlite3_bind_blob(q, 4, oj->out.buf ? oj->out.buf : "", (int)oj->out.len, SQLITE_STATIC);
            sqlite3_bind_blob(q, 5, ninfo ? info : "", (int)ninfo, SQLITE_STATIC);
            sqlite3_bind_double(q, 6, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
            sqlite3_bind_blob(q, 7, sp.buf ? sp.buf : "", (int)sp.len, SQLITE_STATIC);
            if (sqlite3_step(q) != SQLITE_DONE)
                rc = -1;
        } else {
            rc = -1;
        }
        sqlite3_finalize(q);
        q = NULL;
        if (rc == 1 && !put_row(c, "INSERT INTO snapshot_heads(key, ents) VALUES (?1, ?2)", key,
                                oj->hd.buf ? oj->hd.buf : "", oj->hd.len, NULL, 0))
            rc = -1;
        if (rc == 1 && oj->dgs.len &&
            !put_row(c, "INSERT INTO snapshot_digests(key, dg) VALUES (?1, ?2)", key, oj->dgs.buf, oj->dgs.len, NULL, 0))
            rc = -1;
        if (rc == 1 && tests) {
            if (!put_chunks(c, key, tests))
                rc = -1;
        } else if (rc == 1) {
            put_row(c, "DELETE FROM snapshot_tests WHERE key = ?1", key, NULL, 0, NULL, 0);
        }
        if (sqlite3_exec(c->db, rc == 1 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
            rc = -1;
    }
    if (rc < 0)
        cache_warn_db(c, warning, "storing the project snapshot");
    pthread_mutex_unlock(&c->mu);
done:
    cache_snap_prep_free(pr);
    cache_delta_free(&nodes);
    sb_free(&in);
    sb_free(&ev);
    sb_free(&sp);
    return rc;
}
