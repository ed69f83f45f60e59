/* fswriter.h - write many files from a background thread.
 *
 * `cdbt compile` produces one file per node; on a 10,000-model project the
 * kernel's work for 30,000 creates is as large as the compile itself, so it
 * runs on the second core while the main thread renders.  Each file goes
 * through fs_write_file_direct() (unchanged files are not rewritten), in the
 * order queued.  The data must stay valid until fs_writer_finish(). */
#ifndef CDBT_FSWRITER_H
#define CDBT_FSWRITER_H
#include <stddef.h>
#include <sys/stat.h>
#include "fs.h"

typedef struct FsWriter FsWriter;

/* NULL when no thread can be started: fs_writer_put then writes at once. */
FsWriter *fs_writer_start(void);
/* Queue a write (path is copied).  st, when not NULL, receives the file's
 * stat() after writing (nlink == 0 when the write failed). */
void fs_writer_put(FsWriter *w, const char *path, const char *data, size_t len, FsStamp *st, void *tag);
/* Wait for every queued write and free w.  on_error(ud, tag, path, errno)
 * is called for each failed write; returns their number. */
int  fs_writer_finish(FsWriter *w, void (*on_error)(void *ud, void *tag, const char *path, int err), void *ud);

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
