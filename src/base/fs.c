/* fs.c - POSIX filesystem helpers: whole-file read, atomic write, mkdir -p,
 * rm -rf, a sorted recursive walk, and lexical path manipulation.
 *
 * Failures return -1 with errno set; nothing here prints.  Deciding what a
 * missing file means (error, default, skip) is the caller's job. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "journal.h"
#include "vec.h"

#define FS_MAX_DEPTH 64

/* All of fd into *out (NUL-terminated), from the arena a or, when a is
 * NULL, malloc'ed.  The size fstat gives, plus a byte more and the NUL, is
 * allocated at once: one read asks for a byte more than fstat promised, and
 * when a regular file gives exactly what was promised, that short read is
 * its end (POSIX: a regular file reads short only at its end or when a
 * signal interrupts it, and then it would fall short of the promise too).
 * A read of 0 ends anything else.  A file that grew since the fstat
 * continues in a growing heap buffer (copied to the arena at the end).
 * Closes fd.  0, or -1 with errno. */
static int read_fd(int fd, Arena *a, char **out, size_t *len, struct stat *stout)
{
    int rc = -1, saved;
    char *buf = NULL, *heap = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto done;
    if (stout)
        *stout = st;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto done;
    }
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 2 : 4096, n = 0;
    bool reg = S_ISREG(st.st_mode) && st.st_size > 0;
    buf = a ? arena_alloc(a, cap) : (heap = xmalloc(cap));
    for (;;) {
        if (n + 1 >= cap) {
            /* full at the size fstat promised: probe for EOF before growing */
            char probe;
            ssize_t pr = read(fd, &probe, 1);
            if (pr < 0) {
                if (errno == EINTR)
                    continue;
                goto done;
            }
            if (pr == 0)
                break;
            char *g = xmalloc(cap * 2);
            memcpy(g, buf, n);
            free(heap);
            heap = buf = g;
            cap *= 2;
            buf[n++] = probe;
            continue;
        }
        size_t want = cap - n - 1;
        ssize_t r = read(fd, buf + n, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            goto done;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (reg && (size_t)r < want && n == (size_t)st.st_size)
            break;               /* all fstat promised, and short: the end */
    }
    if (a && heap) {
        buf = arena_alloc(a, n + 1);
        memcpy(buf, heap, n);
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    if (!a)
        heap = NULL;              /* the caller's now */
    rc = 0;
done:
    saved = errno;
    free(heap);
    close(fd);
    errno = saved;
    return rc;
}

void fs_stamp(FsStamp *s, const struct stat *st)
{
    if (!st) {
        memset(s, 0, sizeof *s);
        return;
    }
    s->ino = (uint64_t)st->st_ino;
    s->dev = (uint64_t)st->st_dev;
    s->size = (uint64_t)st->st_size;
    s->ms = (int64_t)st->st_mtim.tv_sec;
    s->mns = (int32_t)st->st_mtim.tv_nsec;
    s->cs = (int64_t)st->st_ctim.tv_sec;
    s->cns = (int32_t)st->st_ctim.tv_nsec;
    s->mode = (uint32_t)st->st_mode;
    s->nlink = (uint32_t)st->st_nlink;
}

bool fs_stamp_same(const FsStamp *a, const FsStamp *b)
{
    return S_ISREG(a->mode) && S_ISREG(b->mode) && a->nlink && b->nlink && a->ino == b->ino && a->dev == b->dev &&
           a->size == b->size && a->ms == b->ms && a->mns == b->mns && a->cs == b->cs && a->cns == b->cns;
}

int fs_read_file(const char *path, char **out, size_t *len)
{
    journal_path(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    struct stat st;
    if (read_fd(fd, NULL, out, &n, &st) != 0)
        return -1;
    journal_path_stat(path, &st);
    journal_content(*out, n);
    if (len)
        *len = n;
    return 0;
}

int fs_read_file_at(int dirfd, const char *path, Arena *a, char **out, size_t *len)
{
    return fs_read_file_at_st(dirfd, path, a, out, len, NULL);
}

int fs_read_file_at_st(int dirfd, const char *path, Arena *a, char **out, size_t *len, struct stat *st)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    return read_fd(fd, a, out, len, st);
}

int fs_mkdir_p(const char *path)
{
    if (!path || !*path)
        return 0;
    char *p = xstrdup(path);
    int rc = -1;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                goto done;
            if (c == '\0')
                break;
            *s = c;
        }
    }
    struct stat st;              /* not fs_is_dir(): a directory made for output is no input */
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        goto done;
    }
    rc = 0;
done:
    free(p);
    return rc;
}

static int mkdir_parent(const char *path);

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int fs_write_file(const char *path, const char *data, size_t len)
{
    int rc = -1, fd = -1, saved;
    Sb tmp = SB_INIT;
    if (mkdir_parent(path) != 0)
        goto done;
    sb_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        goto done;
    if (write_all(fd, data, len) != 0)
        goto done;
    if (close(fd) != 0) {
        fd = -1;
        goto done;
    }
    fd = -1;
    if (rename(tmp.buf, path) != 0)
        goto done;
    rc = 0;
done:
    saved = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp.buf)
        unlink(tmp.buf);
    sb_free(&tmp);
    errno = saved;
    return rc;
}

/* Parent directory of path created when missing; 0 or -1 (errno). */
static int mkdir_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = xstrndup(path, (size_t)(slash - path));
    int r = fs_mkdir_p(dir);
    free(dir);
    return r;
}

/* Does the file open as fd (of stat st) hold exactly data?  Reads only when
 * the size matches. */
static bool holds(int fd, const struct stat *st, const char *data, size_t len)
{
    if (!S_ISREG(st->st_mode) || (size_t)st->st_size != len)
        return false;
    char stackbuf[16384];
    char *buf = len <= sizeof stackbuf ? stackbuf : malloc(len ? len : 1);
    if (!buf)
        return false;
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    bool same = got == len && memcmp(buf, data, len) == 0;
    if (buf != stackbuf)
        free(buf);
    return same;
}

static int pwrite_all(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = pwrite(fd, data + off, len - off, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

int fs_write_file_direct(const char *path, const char *data, size_t len)
{
    return fs_write_file_direct_st(path, data, len, NULL);
}

int fs_write_file_direct_st(const char *path, const char *data, size_t len, struct stat *st)
{
    return fs_write_file_direct_at(AT_FDCWD, path, data, len, st);
}

/* One open for the check and the write.  A changed file is overwritten in
 * place and then cut to its new length, not truncated first: on ext4 a
 * file truncated to zero and written again is flushed when it is closed
 * (auto_da_alloc, the guard for programs that replace files that way),
 * which made a compile rewriting 10,000 compiled files wait ~2.3 s on the
 * disk; overwriting 4,000 such files took 0.15-0.17 s against 1.1 s,
 * flush included. */
int fs_write_file_direct_at(int dirfd, const char *path, const char *data, size_t len, struct stat *st)
{
    return fs_write_file_direct_known(dirfd, path, data, len, st, false);
}

int fs_write_file_direct_known(int dirfd, const char *path, const char *data, size_t len, struct stat *st,
                               bool differs)
{
    int fd = openat(dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && errno == ENOENT && dirfd == AT_FDCWD) {
        if (mkdir_parent(path) != 0)
            return -1;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    }
    if (fd < 0 && errno == EACCES) {
        /* a file we may read but not write: fine if it already holds data */
        int saved = errno;
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        struct stat cur;
        bool same = fd >= 0 && fstat(fd, &cur) == 0 && holds(fd, &cur, data, len);
        if (same && st)
            *st = cur;
        if (fd >= 0)
            close(fd);
        errno = saved;
        return same ? 0 : -1;
    }
    if (fd < 0)
        return -1;
    struct stat old;
    int rc = fstat(fd, &old);
    if (rc == 0 && !differs && holds(fd, &old, data, len)) {
        if (st)
            *st = old;
        return close(fd);
    }
    if (rc == 0)
        rc = pwrite_all(fd, data, len);
    if (rc == 0 && (size_t)old.st_size > len && ftruncate(fd, (off_t)len) != 0)
        rc = -1;
    if (rc == 0 && st && fstat(fd, st) != 0)
        rc = -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

/* Temporaries of streamed atomic writes still open: a SIGINT/SIGTERM
 * (fs_cleanup_on_signal) unlinks them, so an interrupted compile leaves no
 * 80 MB manifest.json.tmp.<pid> behind.  The handler reads only slots whose
 * flag is set, after their path was written. */
#define TMP_SLOTS 8
static char g_tmp_path[TMP_SLOTS][4096];
static volatile sig_atomic_t g_tmp_used[TMP_SLOTS];
static pthread_mutex_t g_tmp_mu = PTHREAD_MUTEX_INITIALIZER;

static void tmp_track(const char *path, bool on)
{
    pthread_mutex_lock(&g_tmp_mu);
    for (int i = 0; i < TMP_SLOTS; i++) {
        if (on && !g_tmp_used[i] && strlen(path) < sizeof g_tmp_path[i]) {
            strcpy(g_tmp_path[i], path);
            g_tmp_used[i] = 1;
            break;
        }
        if (!on && g_tmp_used[i] && strcmp(g_tmp_path[i], path) == 0) {
            g_tmp_used[i] = 0;
            break;
        }
    }
    pthread_mutex_unlock(&g_tmp_mu);
}

static void on_signal(int sig)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (g_tmp_used[i])
            unlink(g_tmp_path[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void fs_cleanup_on_signal(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int fs_atomic_open(const char *path, Sb *tmpname)
{
    if (mkdir_parent(path) != 0)
        return -1;
    sb_reset(tmpname);
    sb_printf(tmpname, "%s.tmp.%ld", path, (long)getpid());
    tmp_track(tmpname->buf, true);
    int fd = open(tmpname->buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        tmp_track(tmpname->buf, false);
    return fd;
}

int fs_atomic_write(int fd, const char *data, size_t len)
{
    return write_all(fd, data, len);
}

int fs_atomic_commit(int fd, const char *tmpname, const char *path, bool ok)
{
    int rc = -1, saved;
    if (close(fd) != 0)
        ok = false;
    if (ok && rename(tmpname, path) == 0)
        rc = 0;
    saved = errno;
    if (rc != 0)
        unlink(tmpname);
    tmp_track(tmpname, false);
    errno = saved;
    return rc;
}

bool fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool fs_is_dir(const char *path)
{
    journal_path(path);
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fs_is_file(const char *path)
{
    journal_path(path);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int rm_rf_rec(Sb *path, int depth)
{
    struct stat st;
    if (lstat(path->buf, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path->buf);
    if (depth >= FS_MAX_DEPTH * 4) {
        errno = ELOOP;
        return -1;
    }
    DIR *dir = opendir(path->buf);
    if (!dir)
        return -1;
    int rc = 0;
    size_t base = path->len;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        sb_putc(path, '/');
        sb_puts(path, de->d_name);
        if (rm_rf_rec(path, depth + 1) != 0)
            rc = -1;
        sb_truncate(path, base);
    }
    closedir(dir);
    if (rc == 0 && rmdir(path->buf) != 0)
        rc = -1;
    return rc;
}

int fs_rm_rf(const char *path)
{
    Sb p = SB_INIT;
    sb_puts(&p, path);
    int rc = rm_rf_rec(&p, 0);
    sb_free(&p);
    return rc;
}

static bool has_suffix(const char *name, const char *const *suffixes)
{
    if (!suffixes)
        return true;
    size_t n = strlen(name);
    for (const char *const *s = suffixes; *s; s++) {
        size_t k = strlen(*s);
        if (k <= n && memcmp(name + n - k, *s, k) == 0)
            return true;
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect every matching file under root/rel into out (relative paths). */
typedef VEC(char *) PathVec;

static int walk_rec(Sb *abs, Sb *rel, const char *const *suffixes, PathVec *out, int depth)
{
    journal_path(abs->buf);      /* its listing: entries added, removed, renamed */
    DIR *dir = opendir(abs->buf);
    if (!dir)
        return -1;
    int rc = 0;
    size_t abase = abs->len, rbase = rel->len;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        sb_putc(abs, '/');
        sb_puts(abs, de->d_name);
        if (rel->len)
            sb_putc(rel, '/');
        sb_puts(rel, de->d_name);
        /* d_type spares a stat() per entry; symlinks and file systems
         * that do not fill it in are stat()ed. */
        struct stat st;
        bool known = true, link = false;
        if (de->d_type == DT_REG)
            st.st_mode = S_IFREG;
        else if (de->d_type == DT_DIR)
            st.st_mode = S_IFDIR;
        else {
            known = stat(abs->buf, &st) == 0;
            link = de->d_type == DT_LNK;
            if (known && de->d_type == DT_UNKNOWN && S_ISDIR(st.st_mode)) {
                struct stat lst;
                link = lstat(abs->buf, &lst) == 0 && S_ISLNK(lst.st_mode);
            }
        }
        if (known) {
            if (S_ISDIR(st.st_mode)) {
                /* Real directories are always descended; symlinked ones
                 * only while under the depth limit (cycles end there). */
                if (depth + 1 < FS_MAX_DEPTH || !link) {
                    if (depth + 1 >= FS_MAX_DEPTH * 4) {
                        errno = ELOOP;
                        rc = -1;
                    } else if (walk_rec(abs, rel, suffixes, out, depth + 1) != 0) {
                        rc = -1;
                    }
                }
            } else if (S_ISREG(st.st_mode) && has_suffix(de->d_name, suffixes)) {
                journal_path(abs->buf);
                vec_push(out, xstrndup(rel->buf, rel->len));
            }
        }
        sb_truncate(abs, abase);
        sb_truncate(rel, rbase);
        if (rc != 0)
            break;
    }
    closedir(dir);
    return rc;
}

int fs_walk_names(const char *dir, const char *const *suffixes, fs_walk_cb cb, void *ud)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    Sb abs = SB_INIT;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        /* the same tests as walk_rec, without descending or journaling */
        bool isdir = de->d_type == DT_DIR, isreg = de->d_type == DT_REG;
        if (!isdir && !isreg) {
            struct stat st;
            sb_reset(&abs);
            path_join(&abs, dir, de->d_name);
            if (stat(sb_cstr(&abs), &st) == 0) {
                isdir = S_ISDIR(st.st_mode);
                isreg = S_ISREG(st.st_mode);
            }
        }
        if (isdir || (isreg && has_suffix(de->d_name, suffixes)))
            rc = cb(ud, de->d_name) != 0;
    }
    closedir(d);
    sb_free(&abs);
    return 0;
}

int fs_walk(const char *dir, const char *const *suffixes, fs_walk_cb cb, void *ud)
{
    Sb abs = SB_INIT, rel = SB_INIT;
    PathVec files = {0};
    int rc = -1, saved;
    sb_puts(&abs, dir);
    while (abs.len > 1 && abs.buf[abs.len - 1] == '/')
        sb_truncate(&abs, abs.len - 1);
    sb_reserve(&rel, 64);
    rel.buf[0] = '\0';
    if (walk_rec(&abs, &rel, suffixes, &files, 0) != 0)
        goto done;
    if (files.len > 1)
        qsort(files.items, files.len, sizeof *files.items, cmp_str);
    rc = 0;
    for (size_t i = 0; i < files.len; i++)
        if (cb(ud, files.items[i]) != 0)
            break;
done:
    saved = errno;
    for (size_t i = 0; i < files.len; i++)
        free(files.items[i]);
    vec_free(&files);
    sb_free(&abs);
    sb_free(&rel);
    errno = saved;
    return rc;
}

void path_join(Sb *out, const char *a, const char *b)
{
    size_t start = out->len;
    if (a && *a)
        sb_puts(out, a);
    if (b && *b) {
        if (out->len > start && out->buf[out->len - 1] != '/')
            sb_putc(out, '/');
        if (out->len > start)
            while (*b == '/')
                b++;
        sb_puts(out, b);
    }
}

char *path_normalize(const char *p)
{
    bool absolute = p[0] == '/';
    size_t n = strlen(p);
    /* Components as (start, len) pairs on a stack. */
    size_t *st = xmalloc((n / 2 + 2) * 2 * sizeof *st);
    size_t depth = 0, ups = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && p[i] == '/')
            i++;
        size_t s = i;
        while (i < n && p[i] != '/')
            i++;
        size_t len = i - s;
        if (len == 0 || (len == 1 && p[s] == '.'))
            continue;
        if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
            if (depth > ups) {
                depth--;
                continue;
            }
            if (absolute)
                continue;           /* "/.." is "/" */
            ups++;
        }
        st[depth * 2] = s;
        st[depth * 2 + 1] = len;
        depth++;
    }
    Sb out = SB_INIT;
    if (absolute)
        sb_putc(&out, '/');
    for (size_t k = 0; k < depth; k++) {
        if (k)
            sb_putc(&out, '/');
        sb_append(&out, p + st[k * 2], st[k * 2 + 1]);
    }
    if (out.len == 0)
        sb_putc(&out, '.');
    free(st);
    return sb_detach(&out);
}

char *path_absolute(const char *p)
{
    if (p[0] == '/')
        return path_normalize(p);
    Sb s = SB_INIT;
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd))
        sb_puts(&s, cwd);
    else
        sb_putc(&s, '/');
    sb_putc(&s, '/');
    sb_puts(&s, p);
    char *r = path_normalize(s.buf);
    sb_free(&s);
    return r;
}
