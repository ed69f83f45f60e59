/* fswriter.h - write many files from a background thread.
 *
 * `cdbt compile` produces one file per node; on a 10,000-model project the
 * kernel's work for 30,000 creates is as large as the compile itself, so it
 * runs on the second core while the main thread renders.  Each file goes
 * through fs_write_file_direct() (unchanged files are not rewritten), in the
 * order queued.  The data must stay valid until fs_writer_finish(). */
#ifndef CDBT_FSWRITER_H
#define CDBT_FSWRITER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "fs.h"

typedef struct FsWriter FsWriter;

/* What an earlier run left in a file: get(ud, path, st, digest) is true
 * when the file at path held content whose digest (the first
 * FS_DIGEST_LEN bytes of its SHA-256) is digest while its stat was st.
 * Called from the writer's thread; must be safe to call from there. */
#define FS_DIGEST_LEN 16
typedef struct FsOracle {
    bool (*get)(void *ud, const char *path, FsStamp *st, uint8_t digest[FS_DIGEST_LEN]);
    void *ud;
} FsOracle;

/* NULL when no thread can be started: fs_writer_put then writes at once.
 * With an oracle (o may be NULL), a file whose stat is still the one the
 * oracle knows is not read: the digests tell whether it holds the data. */
FsWriter *fs_writer_start(const FsOracle *o);
/* Queue a write (path is copied).  st, when not NULL, receives the file's
 * stat() after writing (nlink == 0 when the write failed); digest, when not
 * NULL, the data's digest (FS_DIGEST_LEN bytes). */
void fs_writer_put(FsWriter *w, const char *path, const char *data, size_t len, FsStamp *st, uint8_t *digest,
                   void *tag);
/* Wait for every queued write and free w.  on_error(ud, tag, path, errno)
 * is called for each failed write; returns their number.  *vouched (may be
 * NULL): how many files the oracle showed to hold their data already. */
int  fs_writer_finish(FsWriter *w, void (*on_error)(void *ud, void *tag, const char *path, int err), void *ud,
                      size_t *vouched);

/* Renaming a new file over a large one frees the old file's pages and
 * blocks inside rename() (~0.1 s for an 80 MB manifest.json).  Holding the
 * old file open across the rename (fs_hold: an fd or -1) and giving that fd
 * to a closer moves the freeing to the closer's thread, where it runs beside
 * the caller's next work.  fs_closer_finish waits for every close. */
typedef struct FsCloser FsCloser;
int  fs_hold(const char *path);
FsCloser *fs_closer_start(void);
void fs_closer_add(FsCloser *c, int fd);           /* fd < 0: nothing */
void fs_closer_finish(FsCloser *c);
#endif
