/* fs.h - small filesystem helpers (POSIX).  Return 0 on success, -1 with
 * errno set on failure; no printing. */
#ifndef CDBT_FS_H
#define CDBT_FS_H
#include <stdbool.h>
#include <stddef.h>
#include "sb.h"

/* Read a whole file into a malloc'd NUL-terminated buffer (*out, *len). */
int  fs_read_file(const char *path, char **out, size_t *len);
/* Write atomically: write <path>.tmp.<pid> then rename over path.  Creates parent dirs. */
int  fs_write_file(const char *path, const char *data, size_t len);
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
/* path_join into sb: "a" + "b" -> "a/b" (no duplicate slashes; "" parts skipped). */
void path_join(Sb *out, const char *a, const char *b);
/* Lexically normalise: collapse "//", "/./", "x/../"; keeps a leading "/". Result malloc'd. */
char *path_normalize(const char *p);
/* Absolute, normalised path of p against the cwd (no symlink resolution). Result malloc'd. */
char *path_absolute(const char *p);
#endif
