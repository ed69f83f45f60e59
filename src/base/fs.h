/* fs.h - small filesystem helpers (POSIX).  Return 0 on success, -1 with
 * errno set on failure; no printing. */
#ifndef CDBT_FS_H
#define CDBT_FS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "arena.h"
#include "sb.h"

/* What a project snapshot compares of a file (src/cache/cache_snap.c):
 * 56 bytes where struct stat takes 144 - a compile keeps one per compiled
 * file (30,000 at 10k models) until it stores its snapshot.  nlink 0: the
 * file could not be stat()ed (or written). */
typedef struct FsStamp {
    uint64_t ino, dev, size;
    int64_t ms, cs;              /* mtime, ctime: seconds */
    int32_t mns, cns;            /* and nanoseconds */
    uint32_t mode, nlink;
} FsStamp;
/* *s from st (st NULL: all zero). */
void fs_stamp(FsStamp *s, const struct stat *st);
/* Do a and b describe the same regular file as of the same change (inode,
 * device, size, mtime and ctime to the nanosecond)? */
bool fs_stamp_same(const FsStamp *a, const FsStamp *b);

/* Read a whole file into a malloc'd NUL-terminated buffer (*out, *len). */
int  fs_read_file(const char *path, char **out, size_t *len);
/* Read path (relative to the directory open as dirfd, or AT_FDCWD) into
 * memory from arena a, NUL-terminated.  Unlike fs_read_file it records
 * nothing in the journal and touches no shared state, so a thread may call
 * it with an arena of its own. */
int  fs_read_file_at(int dirfd, const char *path, Arena *a, char **out, size_t *len);
/* The same, also giving what fstat said of the file before it was read (st may be NULL). */
int  fs_read_file_at_st(int dirfd, const char *path, Arena *a, char **out, size_t *len, struct stat *st);
/* Write atomically: write <path>.tmp.<pid> then rename over path.  Creates parent dirs. */
int  fs_write_file(const char *path, const char *data, size_t len);
/* Write in place (no temporary file; an existing file is overwritten and
 * then cut to the new length): an existing file keeps its inode, which is
 * much cheaper than create + rename, or than truncating first, when
 * thousands of files are rewritten (compiled SQL).  Creates parent dirs only when the open fails
 * with ENOENT.  A file that already holds exactly these bytes is left alone
 * (no write, mtime kept), so recompiling an unchanged project costs reads
 * only.  Not atomic: a reader may see a partial file.  The _st form also
 * gives the file's stat once written (st may be NULL). */
int  fs_write_file_direct(const char *path, const char *data, size_t len);
int  fs_write_file_direct_st(const char *path, const char *data, size_t len, struct stat *st);
/* The same for path relative to the directory open as dirfd (AT_FDCWD:
 * the _st form); with a dirfd, no directory is created. */
int  fs_write_file_direct_at(int dirfd, const char *name, const char *data, size_t len, struct stat *st);
/* The same, for a file known not to hold data already (differs): it is
 * written without reading it first. */
int  fs_write_file_direct_known(int dirfd, const char *name, const char *data, size_t len, struct stat *st,
                                bool differs);
/* Streaming atomic write: fs_atomic_open creates parent dirs and
 * <path>.tmp.<pid> (its name left in *tmpname) and returns its fd (-1 on
 * error); fs_atomic_write appends; fs_atomic_commit closes fd and renames the
 * temporary over path when ok, else (or when closing fails) unlinks it. */
int  fs_atomic_open(const char *path, Sb *tmpname);
int  fs_atomic_write(int fd, const char *data, size_t len);
int  fs_atomic_commit(int fd, const char *tmpname, const char *path, bool ok);
/* Make SIGINT/SIGTERM unlink the temporaries of streamed atomic writes
 * still open, then die of the signal as before. */
void fs_cleanup_on_signal(void);
int  fs_mkdir_p(const char *path);
bool fs_exists(const char *path);
bool fs_is_dir(const char *path);
bool fs_is_file(const char *path);
int  fs_rm_rf(const char *path);
/* Recursively list regular files under dir whose name ends with one of the
 * given suffixes (NULL-terminated list; NULL = all files).  Paths are
 * reported relative to dir, '/'-separated, sorted by byte order; hidden
 * entries (starting with '.') are skipped.  cb returns non-zero to stop. */
typedef int (*fs_walk_cb)(void *ud, const char *relpath);
int  fs_walk(const char *dir, const char *const *suffixes, fs_walk_cb cb, void *ud);
/* The names directly in dir that fs_walk would take (a regular file with one
 * of the suffixes) or descend into (a directory), in directory order,
 * without recording anything in the journal.  -1 when dir cannot be opened. */
int  fs_walk_names(const char *dir, const char *const *suffixes, fs_walk_cb cb, void *ud);
/* path_join into sb: "a" + "b" -> "a/b" (no duplicate slashes; "" parts skipped). */
void path_join(Sb *out, const char *a, const char *b);
/* Lexically normalise: collapse "//", "/./", "x/../"; keeps a leading "/". Result malloc'd. */
char *path_normalize(const char *p);
/* Absolute, normalised path of p against the cwd (no symlink resolution). Result malloc'd. */
char *path_absolute(const char *p);
#endif
