/* fswriter.c - see fswriter.h. */
#include "fswriter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "fs.h"
#include "hash.h"

typedef struct Job {
    char *path;
    const char *data;
    size_t len;
    FsStamp *st;
    uint8_t *digest;
    void *tag;
    int err;                     /* errno of a failed write, 0 = written */
} Job;

/* The thread is woken only when this many jobs wait (or at the end): a
 * wake-up per file would cost the renderer more than the write check. */
#define FSW_BATCH 32

struct FsWriter {
    pthread_mutex_t mu;
    pthread_cond_t more;
    pthread_t thread;
    bool threaded, closing;
    bool idle;                   /* the thread waits for work */
    Job *jobs;
    size_t n, cap, next;         /* next: first job not taken by the thread */
    FsOracle oracle;             /* get == NULL: none */
    size_t vouched;              /* files the oracle vouched for (the thread's) */
};

/* Open directories of recent jobs: a file is opened by its name inside its
 * directory instead of by its whole path (the kernel's walk of 8-12 path
 * components was a quarter of this thread's time).  A directory that does
 * not exist yet is not cached; the write by path creates it. */
#define FSW_DIRS 16

typedef struct DirCache {
    char *path[FSW_DIRS];
    size_t len[FSW_DIRS];
    int fd[FSW_DIRS];
    int n, next;                 /* next: the entry replaced when full */
} DirCache;

static int dir_fd(DirCache *c, const char *dir, size_t n)
{
    for (int i = 0; i < c->n; i++)
        if (c->len[i] == n && memcmp(c->path[i], dir, n) == 0)
            return c->fd[i];
    char *z = xstrndup(dir, n);
    int fd = open(z, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        free(z);
        return -1;
    }
    int k;
    if (c->n < FSW_DIRS) {
        k = c->n++;
    } else {
        k = c->next;
        c->next = (c->next + 1) % FSW_DIRS;
        free(c->path[k]);
        close(c->fd[k]);
    }
    c->path[k] = z;
    c->len[k] = n;
    c->fd[k] = fd;
    return fd;
}

static void dir_cache_free(DirCache *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->path[i]);
        close(c->fd[i]);
    }
}

/* Is the file (name in dfd, or path) still what the oracle knows, and does
 * the data have the digest it had then?  1: the file holds the data (*st its
 * stat), 0: it does not (known without reading it), -1: not known. */
static int ask_oracle(const FsOracle *o, int dfd, const char *name, const Job *j, const uint8_t *dg,
                      struct stat *st)
{
    FsStamp was, now;
    uint8_t wdg[FS_DIGEST_LEN];
    if (!o->get || !o->get(o->ud, j->path, &was, wdg))
        return -1;
    struct stat cur;
    if ((dfd >= 0 ? fstatat(dfd, name, &cur, 0) : stat(j->path, &cur)) != 0)
        return -1;
    fs_stamp(&now, &cur);
    if (!fs_stamp_same(&was, &now))
        return -1;
    if (memcmp(wdg, dg, FS_DIGEST_LEN) != 0 || (size_t)cur.st_size != j->len)
        return 0;
    if (st)
        *st = cur;
    return 1;
}

static int write_st(FsWriter *w, DirCache *c, Job *j, struct stat *st)
{
    uint8_t dg[32];
    if (j->digest || w->oracle.get) {
        sha256(j->data, j->len, dg);
        if (j->digest)
            memcpy(j->digest, dg, FS_DIGEST_LEN);
    }
    const char *slash = strrchr(j->path, '/');
    if (c && slash && slash > j->path && slash[1]) {
        int dfd = dir_fd(c, j->path, (size_t)(slash - j->path));
        int known = w->oracle.get ? ask_oracle(&w->oracle, dfd, slash + 1, j, dg, st) : -1;
        if (known == 1) {
            w->vouched++;
            return 0;
        }
        if (dfd >= 0 && fs_write_file_direct_known(dfd, slash + 1, j->data, j->len, st, known == 0) == 0)
            return 0;
    }
    return fs_write_file_direct_st(j->path, j->data, j->len, st);
}

static int write_one(FsWriter *w, DirCache *c, Job *j)
{
    struct stat st;
    int rc = write_st(w, c, j, j->st ? &st : NULL);
    if (rc == 0 && j->st)
        fs_stamp(j->st, &st);
    return rc;
}

static void run_job(FsWriter *w, DirCache *c, Job *j)
{
    j->err = 0;
    if (write_one(w, c, j) != 0) {
        j->err = errno ? errno : EIO;
        if (j->st)
            memset(j->st, 0, sizeof *j->st);
    }
}

static void *writer_main(void *arg)
{
    FsWriter *w = arg;
    DirCache dc = {0};
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->next == w->n && !w->closing) {
            w->idle = true;
            pthread_cond_wait(&w->more, &w->mu);
        }
        w->idle = false;
        if (w->next == w->n)
            break;
        size_t i = w->next++;
        Job j = w->jobs[i];      /* the array may move while unlocked */
        pthread_mutex_unlock(&w->mu);
        run_job(w, &dc, &j);
        pthread_mutex_lock(&w->mu);
        w->jobs[i].err = j.err;
    }
    pthread_mutex_unlock(&w->mu);
    dir_cache_free(&dc);
    return NULL;
}

FsWriter *fs_writer_start(const FsOracle *o)
{
    FsWriter *w = xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    if (o)
        w->oracle = *o;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->more, NULL);
    w->threaded = pthread_create(&w->thread, NULL, writer_main, w) == 0;
    return w;
}

void fs_writer_put(FsWriter *w, const char *path, const char *data, size_t len, FsStamp *st, uint8_t *digest,
                   void *tag)
{
    Job j = {xstrdup(path), data, len, st, digest, tag, 0};
    pthread_mutex_lock(&w->mu);
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->jobs = xrealloc(w->jobs, w->cap * sizeof *w->jobs);
    }
    w->jobs[w->n++] = j;
    if (!w->threaded) {          /* no thread: write now */
        w->next = w->n;
        pthread_mutex_unlock(&w->mu);
        run_job(w, NULL, &w->jobs[w->n - 1]);
        return;
    }
    if (w->idle && w->n - w->next >= FSW_BATCH) {
        w->idle = false;
        pthread_cond_signal(&w->more);
    }
    pthread_mutex_unlock(&w->mu);
}

int fs_writer_finish(FsWriter *w, void (*on_error)(void *ud, void *tag, const char *path, int err), void *ud,
                     size_t *vouched)
{
    if (vouched)
        *vouched = 0;
    if (!w)
        return 0;
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        w->closing = true;
        pthread_cond_signal(&w->more);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    int nerr = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->jobs[i].err) {
            nerr++;
            if (on_error)
                on_error(ud, w->jobs[i].tag, w->jobs[i].path, w->jobs[i].err);
        }
        free(w->jobs[i].path);
    }
    if (vouched)
        *vouched = w->vouched;
    free(w->jobs);
    pthread_cond_destroy(&w->more);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return nerr;
}

/* ---------------------------------------------------------------- closer */

#define FSC_MAX 4

struct FsCloser {
    pthread_t thread[FSC_MAX];
    int fd[FSC_MAX];
    int n;
};

int fs_hold(const char *path)
{
    return open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);   /* a FIFO there must not block */
}

FsCloser *fs_closer_start(void)
{
    FsCloser *c = xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    return c;
}

static void *closer_main(void *arg)
{
    close(*(int *)arg);
    return NULL;
}

void fs_closer_add(FsCloser *c, int fd)
{
    if (fd < 0)
        return;
    if (c->n == FSC_MAX) {
        close(fd);
        return;
    }
    c->fd[c->n] = fd;
    if (pthread_create(&c->thread[c->n], NULL, closer_main, &c->fd[c->n]) != 0) {
        close(fd);
        return;
    }
    c->n++;
}

void fs_closer_finish(FsCloser *c)
{
    for (int i = 0; i < c->n; i++)
        pthread_join(c->thread[i], NULL);
    free(c);
}
