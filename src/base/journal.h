/* journal.h - what a run read from outside the process: every file and
 * directory looked at (read, listed, or probed and found missing) and every
 * environment variable a template read, plus whether templates wrote to the
 * console.  The whole-project snapshot of the parse cache (src/cache,
 * cache_snap.c) records these so that a later run can tell, from stat()s
 * alone, that nothing it depends on changed.
 *
 * Off by default: journal_start() turns it on for the calling process
 * (single-threaded use: the load/parse/compile passes; the parse pass's
 * helper thread records nothing - a render that would is given back to the
 * main thread, src/dbt/dbt_parse.c).  Recording costs a
 * hash lookup per distinct path; nothing is stat()ed here. */
#ifndef CDBT_JOURNAL_H
#define CDBT_JOURNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "fs.h"

void journal_start(void);
void journal_stop(void);                 /* off and forgotten */
bool journal_active(void);
void journal_pause(bool paused);         /* reads of outputs are no inputs */
bool journal_paused(void);
/* A path the run depends on (relative paths are made absolute with the
 * current directory).  Files, directories (their listing) and missing
 * paths alike: the snapshot stores what stat() says about each. */
void journal_path(const char *path);
/* The same for a file read, with what fstat said of it before the read:
 * the snapshot stores that rather than a stat() taken when the run ends
 * (one syscall less per input, and a file changed after it was read can
 * never be taken for the version read).  The first stat given is kept. */
void journal_path_stat(const char *path, const struct stat *st);
void journal_env(const char *name);      /* env_var(name) was read */
void journal_output(void);               /* a template printed (log/print) */
/* The text of a file read: one that mentions what differs on every run
 * (invocation_id, run_started_at, modules - the clock) makes the run
 * volatile, and a volatile run's outputs are never reused. */
void journal_content(const char *text, size_t n);
bool journal_volatile(void);
/* Does text mention invocation_id, run_started_at or modules?  (Also the
 * parse cache's test for renders it must never reuse.) */
bool journal_text_volatile(const char *text, size_t n);
/* Both tests in one pass: JOURNAL_VOLATILE as above, JOURNAL_FLAGS if text
 * mentions `flags` (the parse cache keys such renders on the command). */
enum { JOURNAL_VOLATILE = 1, JOURNAL_FLAGS = 2 };
int journal_text_scan(const char *text, size_t n);
size_t journal_npaths(void);
const char *journal_path_at(size_t i);   /* absolute */
const FsStamp *journal_path_stat_at(size_t i);   /* or NULL: stat it when storing */
/* The stat of an absolute path the journal recorded with one (a file read):
 * true and *st, else false. */
bool journal_stat_of(const char *path, FsStamp *st);
size_t journal_nenv(void);
const char *journal_env_at(size_t i);
bool journal_had_output(void);
#endif
