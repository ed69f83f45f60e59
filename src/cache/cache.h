/* cache.h - the sqlite3 manifest cache (target/cdbt.db): reuse of the
 * parse-pass outputs of nodes whose inputs did not change, and each node's
 * last run result (for `--select result:<status>`).
 *
 * Contract of the parse cache (what makes it never wrong):
 *   - project_load() always runs (dbt_project.yml, profiles.yml, properties
 *     files, discovery, config layers 1-3 are always fresh).  The cache only
 *     replaces the parse-time render of models/tests/snapshots/analyses
 *     (layer 4: config() calls, ref(), source(), hooks' refs, macro deps).
 *   - A node's key is SHA-256 over cdbt's version and build (size + mtime of
 *     the running executable), the command (flags.WHICH, --full-refresh) when
 *     the node's code, hooks or test kwargs mention `flags`, the whole
 *     dbt_project.yml but its vars, the target, quoting, which project
 *     macros exist (unique_id and path), and everything the loader gave the
 *     node (file checksum or raw code, fqn, paths, folded config, unrendered
 *     config, description, columns, meta, tags, docs, test kwargs, ...).
 *   - The entry also names the set of project macros the render ran
 *     (Node.parse_macros: every call at any depth), each with a hash of its
 *     text, and of the vars it read (Node.parse_vars), each with its value
 *     or "not defined", and the command when one of them mentions `flags`;
 *     it is reused only while every one is unchanged.  A macro the render
 *     did not run, or a var it did not read, cannot have changed what it did.
 *   - A macro's text between its tags (tpl_skeleton) counts only for nodes
 *     whose parse render looked at text a macro emitted
 *     (interp_text_seen): the others hash the macros' skeletons, so
 *     editing the SQL a macro emits does not re-parse them.  The parse pass
 *     drops its output; a render that never reads a macro's text takes the
 *     same path and makes the same calls whatever that text says.
 *   - Each stored node also keeps the env vars its render read (name and
 *     value or unset); the entry is reused only if all still match.
 *   - Nodes that read invocation_id, run_started_at or modules (the clock;
 *     in their code, a macro they ran or a var they read) are never cached.
 *   - Errors are never cached: outputs are stored only after a successful
 *     dbt_parse().
 *
 * Robustness: WAL journal, busy_timeout, every write in one transaction.  A
 * corrupt file or a foreign schema version is reported as a warning and the
 * file is rebuilt; a database still locked after the timeout is reported and
 * the run continues without the cache.  Nothing here prints: warnings are
 * returned as text the caller prints.
 *
 * Thread safety: one Cache may be shared by threads (a mutex guards it); the
 * parse functions are meant for the main thread, cache_record_result() may
 * be called from workers.  cache_parse_end() leaves the writing of what it
 * stores to a thread of its own (see there). */
#ifndef CDBT_CACHE_H
#define CDBT_CACHE_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include "../project/project.h"
#include "../base/fs.h"
#include "../base/sb.h"

typedef struct Cache Cache;

/* Open (creating) <target_dir>/cdbt.db.  Returns NULL when no cache can be
 * used this run; *warning (malloc'ed, caller frees, may be NULL) then or on
 * success says what was wrong ("cache is corrupt, rebuilt", ...). */
Cache *cache_open(const char *target_dir, char **warning);
void   cache_close(Cache *c);
/* Open an existing, healthy cache; NULL (and nothing changed on disk) when
 * it is missing, corrupt, foreign or locked: the caller then goes the normal
 * way, where cache_open() reports and repairs. */
Cache *cache_open_quiet(const char *target_dir);

/* What the parse pass sees besides the project (part of every key). */
typedef struct CacheParseEnv {
    const char *which;           /* command name (flags.WHICH) */
    bool full_refresh;
    bool empty;                  /* --empty (flags.EMPTY) */
    /* nothing else than macros changed since the last store could matter
     * (the project snapshot says so): when no entry can match, because a
     * macro every entry ran changed since, neither read nor write the
     * entries (cache_parse_idle) */
    bool lazy;
} CacheParseEnv;

/* After dbt_attach(), before dbt_parse() (with DbtOptions.record_macros:
 * the store needs Node.parse_macros): compute every renderable node's
 * key and restore the parse outputs of those whose stored entry matches
 * (config, unrendered_config, tags, meta, refs, sources, dep_macros, into
 * p->arena).  Returns the number of nodes restored, -1 on a cache failure
 * (*warning set; the cache then restores nothing and stores nothing). */
int  cache_parse_begin(Cache *c, Project *p, const CacheParseEnv *env, char **warning);
/* DbtOptions.parse_skip: true when n was restored by cache_parse_begin. */
bool cache_parse_skip(Cache *c, const Node *n);
/* Did cache_parse_begin find, with env->lazy, that no entry can match and
 * leave the entries alone?  (cache_parse_end then stores nothing.) */
bool cache_parse_idle(const Cache *c);
/* DbtOptions.env_read: record an env_var() read during n's render. */
void cache_env_read(Cache *c, const Node *n, const char *name, const char *value);
/* After a successful dbt_parse(): store the outputs of re-parsed nodes and
 * drop entries of nodes that no longer exist.  The outputs are read from the
 * nodes before it returns (the caller may change them afterwards); the
 * database is written by a thread of its own, which every later use of c
 * waits for.  Afterwards cache_parse_skip is false.  0 (the store started,
 * or was done), or -1 with *warning. */
int  cache_parse_end(Cache *c, Project *p, char **warning);
/* A render of this parse changed a value other renders see (a var, a
 * global, a config value: value_shared_changes): a restored node's render,
 * skipped, did not make its change, so no entry can be trusted, now or
 * later.  Deletes every entry (before returning) and makes cache_parse_end
 * store none; the caller parses again without restoring when
 * cache_parse_begin restored any node.  0, or -1 with *warning. */
int  cache_parse_forget(Cache *c, char **warning);
/* Wait for the store cache_parse_end started, if any: 0, or -1 with
 * *warning saying why it failed (the words cache_parse_end would have
 * returned).  cache_close() waits too, but drops the warning; another
 * cache_parse_begin on the same Cache must come after it. */
int  cache_parse_wait(Cache *c, char **warning);
/* Free the per-node state of the parse (keys, env reads) once it is stored,
 * so it does not add to the compile's peak memory.  Afterwards
 * cache_parse_skip is false and cache_env_read records nothing. */
void cache_parse_release(Cache *c);
/* Why the nodes cache_parse_begin did not restore are parsed again, most
 * frequent first, into buf ("100: macro.p.m changed; 2: not stored yet";
 * for an idle parse, why no entry could match).  Its length. */
size_t cache_parse_why(const Cache *c, char *buf, size_t cap);
/* Counters of the last cache_parse_begin/end (for --debug and tests). */
void cache_parse_stats(const Cache *c, int *restored, int *parsed, int *uncacheable);

/* Run results.  status is dbt's (§12.5): success, error, skipped, pass,
 * fail, warn, ...; started_at is epoch seconds; message may be NULL.
 * 0, or -1 (database error; the result is simply not recorded). */
int  cache_record_result(Cache *c, const char *unique_id, const char *status,
                         double started_at, double execution_time, const char *message);
/* cache_batch(c, true) ... cache_batch(c, false): the results recorded in
 * between are written in one transaction (one commit instead of one per
 * node).  No-op for a NULL cache. */
void cache_batch(Cache *c, bool begin);
/* The last recorded status of unique_id, or NULL.  The string is owned by
 * the cache and valid until cache_close(). */
const char *cache_last_status(Cache *c, const char *unique_id);
/* Execution time of the last recorded result, or -1. */
double cache_last_time(Cache *c, const char *unique_id);

/* Whole-project snapshots (cache_snap.c): a `parse`/`compile` whose inputs
 * are all unchanged reuses the outputs of the run that stored the snapshot.
 *
 * cache_snap_key: the key over cdbt's build and the caller's parts (the
 * command line, working directory, DBT_* env, ...); false when the build
 * cannot be told (no snapshot may be used then).
 * cache_snap_lookup: the snapshot stored under key if every input path has
 * the same stat() (kind, size, inode, device, mtime, ctime), every env var
 * read by a template the same value, and every output file the same stat as
 * when it was written; NULL otherwise, with *why saying which check failed
 * (valid until the next lookup on c or cache_close).
 * cache_snap_info: the opaque bytes the caller stored with it.
 * cache_snap_refresh: after the caller rewrote the heads (see below), record
 * their new stat so the snapshot stays valid.
 * cache_snap_store: record inputs (paths the run depended on; in_st, when
 * not NULL, holds the stat a file's reader took, NULL entries are stat()ed
 * now), envs (names) and outputs (files written; out_st, when not NULL,
 * holds the stat taken right after each write, NULL entries are stat()ed
 * now); the first nheads
 * outputs are the heads, the files a reuse rewrites (manifest.json,
 * run_results.json), kept apart so that refreshing them is cheap.  Relative
 * outputs are under out_root (absolute; NULL: the working directory).
 * build (with build_ud), when not NULL, fills the node table (below),
 * while a second thread encodes the outputs: its files are relative to nodes_root,
 * and the inputs that are among them are the only changed files a lookup
 * with changes accepts.  Stores nothing (returns 0) when an input
 * changed at or after `started` (epoch seconds): it may have been read
 * before that change (*warning then names it; not worth telling a user
 * unless debugging).  1 stored, -1 database error (*warning). */
typedef struct CacheSnap CacheSnap;
typedef struct CacheDeltaTable CacheDeltaTable;   /* the node table, below */
/* A blob handed over in chunks (the store writes it straight into the
 * database: a copy of a few MB would be the run's peak of memory). */
typedef struct CacheChunks {
    size_t len;                  /* bytes in all */
    uint8_t digest[32];          /* what the caller says identifies the content */
    size_t (*next)(void *ud, char *buf, size_t cap);   /* the next bytes into buf; 0 at the end */
    void *ud;
} CacheChunks;
/* Fills t, an empty node table, for a store (while its second thread
 * encodes the outputs). */
typedef void (*CacheDeltaBuild)(void *ud, CacheDeltaTable *t);
typedef struct CacheSnapPrep CacheSnapPrep;
bool        cache_snap_key(const char *const *parts, size_t n, uint8_t key[32]);
CacheSnap  *cache_snap_lookup(Cache *c, const uint8_t key[32], bool changes, const char **why);
/* With changes: inputs that are model files of the node table (or
 * directories) before and after but whose stat differs (at most 8; any other
 * difference, a macro edited say, still fails the lookup, at once) are listed
 * here (absolute paths) instead of failing it.  The caller then either
 * handles them (src/cli/delta.c) or does a full run. */
size_t      cache_snap_changed(const CacheSnap *s, const char *const **paths);
/* With changes: files of user macros (as the store's macro_files named
 * them) edited in place, at most 8, listed here instead of failing the
 * lookup.  A snapshot with any is never reused: the caller does a full run,
 * which may reuse what those files cannot have changed (cmd_compile). */
size_t      cache_snap_macros_changed(const CacheSnap *s, const char *const **paths);
/* With changes, a lookup that finds a file of user macros edited looks no
 * further (the run is a full one): the snapshot is "unverified", and the
 * other inputs are compared, once the run has read them, by
 * cache_snap_verify: known(ud, path, st) gives the stat a file had when the
 * run read it (false: stat() it now).  True when they are as stored, but
 * for model files and directories (cache_snap_changed) and files of macros
 * (cache_snap_macros_changed, listed again); true at once for a snapshot
 * the lookup checked whole. */
bool        cache_snap_verify(CacheSnap *s, bool (*known)(void *ud, const char *path, FsStamp *st), void *ud);
/* The opaque blob the store of s kept with it (cache_snap_store's tests:
 * cmd_compile's tests' compiled code; rewritten only when its digest
 * changed), malloc'd with a NUL byte after its *len bytes, and the digest
 * stored with it; NULL when none. */
void       *cache_snap_tests(Cache *c, const CacheSnap *s, size_t *len, uint8_t digest[32]);
/* Was path (absolute) an input / name an env var read by templates of the
 * run that stored the snapshot?  (Known only when something changed.) */
bool        cache_snap_has_input(const CacheSnap *s, const char *path);
bool        cache_snap_has_env(const CacheSnap *s, const char *name);
/* The names under directory dir (absolute) that the snapshot's run found
 * there (files and directories, not paths probed missing), into *names
 * (in a); their count.  Known only when something changed. */
size_t      cache_snap_dir_names(const CacheSnap *s, const char *dir, Arena *a, const char ***names);
/* Is the file open as fd still the head (manifest.json, run_results.json)
 * path whose stat the snapshot holds?  (A concurrent run may have replaced
 * it since the lookup.) */
bool        cache_snap_head_same(const CacheSnap *s, const char *path, int fd);
/* Offsets stored with a snapshot (the node table's slots, the place of
 * run_results.json's elapsed_time) are those of the run that stored it;
 * a delta run that rewrote an entry at another length (cache_snap_shift:
 * the entry at `at` of file 0 manifest.json / 1 run_results.json grew by
 * delta bytes) moved what follows.  cache_snap_offset maps a stored offset
 * to where it is now, and *len (when not NULL), the stored length of the
 * entry there, to its length now. */
int64_t     cache_snap_offset(const CacheSnap *s, int file, int64_t base, uint32_t *len);
int         cache_snap_shift(Cache *c, CacheSnap *s, int file, int64_t at, int64_t delta);
/* A run that handled the changes records the stat of the files it read or
 * rewrote (st[i], or stat() now when st or st[i] is NULL); it supersedes the
 * snapshot's.  Of the first ninputs (files read), one changed at or after
 * `started` is recorded as always changed (it may have changed again
 * unseen).  0, or -1 on a database error. */
int         cache_snap_record(Cache *c, CacheSnap *s, double started, const char *const *paths,
                              const FsStamp *const *st, size_t n, size_t ninputs);
const uint8_t *cache_snap_info(const CacheSnap *s, size_t *len);
int         cache_snap_refresh(Cache *c, CacheSnap *s);
void        cache_snap_free(CacheSnap *s);
int         cache_snap_store(Cache *c, const uint8_t key[32], double started, const char *const *inputs,
                             const FsStamp *const *in_st, size_t nin, const char *const *envs, size_t nenv,
                             const char *out_root, const char *const *outputs,
                             const FsStamp *const *out_st, const uint8_t *const *out_dg, size_t nout, size_t nheads,
                             const char *stamp_dir, const char *stamp, const void *info,
                             size_t ninfo, CacheDeltaBuild build, void *build_ud, const char *nodes_root,
                             const char *const *macro_files, size_t nmacro_files, const CacheChunks *tests,
                             CacheSnapPrep *prep, char **warning);
/* The part of a store that needs neither the heads nor the node table,
 * done early (cache_snap_store's arguments of the same names, which must
 * stay valid and be passed to it again): the inputs' listing, and the
 * outputs after the heads encoded on a thread.  cache_snap_store takes prep
 * (NULL: it does this itself) and frees it; cache_snap_prep_free frees one
 * not given to it. */
CacheSnapPrep *cache_snap_prepare(double started, const char *const *inputs, const FsStamp *const *in_st, size_t nin,
                                  const char *out_root, const char *const *outputs, const FsStamp *const *out_st,
                                  const uint8_t *const *out_dg, size_t nout, size_t nheads);
void          cache_snap_prep_free(CacheSnapPrep *prep);
/* Output digests: out_dg (may be NULL; NULL entries: unknown) holds the
 * first 16 bytes of the SHA-256 of what each output held when its out_st
 * was taken.  cache_snap_outputs gives them back for the next full run of
 * the same command line (key): the outputs other than the heads whose
 * digest is known, by absolute path, with that stat - NULL (and *why) when
 * the snapshot has none, or another cdbt run wrote outputs since
 * (target/cdbt.stamp).  A file a delta run rewrote since is left out.
 * cache_outputs_get(o, path, st, digest) is an FsOracle (base/fswriter.h):
 * a compile's writer then stat()s an unchanged compiled file instead of
 * reading it.  The index is built on a thread: cache_outputs_ready waits
 * for it (false: the stored rows were unreadable; free o) and must be called
 * before the first cache_outputs_get, which any thread may call then. */
#define CACHE_DIGEST_LEN 16
typedef struct CacheOutputs CacheOutputs;
CacheOutputs *cache_snap_outputs(Cache *c, const uint8_t key[32], const char **why);
/* The same for the snapshot s a lookup found (its key), on any thread and
 * at any time after: instead of target/cdbt.stamp as it is now, the
 * snapshot's stamp must be the one s had (which the lookup checked). */
CacheOutputs *cache_snap_outputs_of(Cache *c, const CacheSnap *s, const char **why);
bool          cache_outputs_ready(CacheOutputs *o);
bool          cache_outputs_get(void *o, const char *path, FsStamp *st, uint8_t digest[16]);
size_t        cache_outputs_count(const CacheOutputs *o);
void          cache_outputs_free(CacheOutputs *o);
/* Output directories: besides each output, the stat of its directory is
 * stored (when, at store time, it lists every output with the inode
 * recorded for it and is not racy); a lookup that finds a directory
 * unchanged does not stat its outputs.  That sees an output deleted,
 * renamed, replaced or added beside, not one rewritten in place by another
 * program (see README: "A compile with nothing changed").  cdbt's own runs
 * that may write outputs first write a token of theirs into
 * <target>/CACHE_STAMP_FILE (cache_stamp_write); a snapshot stored with
 * stamp (the token its run wrote to stamp_dir; NULL: none) is valid only
 * while that file still holds it.
 * cache_snap_settle: after a lookup that found an output directory changed
 * but every output in it as written, record the directory's stat (once it
 * is no longer racy) so that the next lookup skips it.  How many were
 * recorded, or -1. */
#define CACHE_STAMP_FILE "cdbt.stamp"
int         cache_stamp_write(const char *target_dir, const char *token);
int         cache_snap_settle(Cache *c, CacheSnap *s);

/* The node table of a compile's snapshot (cache_delta.c): what recompiling
 * one model alone needs (src/cli/delta.c). */
typedef struct CacheDeltaDep {
    int rt;                                    /* ResourceType */
    const char *unique_id, *name, *package, *database, *schema, *alias;
    const char *identifier, *source_name;      /* sources */
    const char *materialized;                  /* models, seeds, snapshots */
    Value quoting;                             /* config.quoting (sources: quoting), or None */
} CacheDeltaDep;
typedef struct CacheDeltaNode {
    const char *ofp, *unique_id;               /* original_file_path: the key */
    int64_t moff; uint32_t mlen;               /* manifest.json slot */
    int64_t roff; uint32_t rlen;               /* run_results.json slot */
    const char *compiled_path;                 /* relative to the project root */
    const char *patch_file;                    /* the properties file that patches it, or NULL */
    CacheDeltaDep *deps; int ndeps;
} CacheDeltaNode;
/* A node table being built: entries grouped by a hash of their file, each
 * stub once (an entry names its parents by stub number). */
#define CACHE_DELTA_BUCKETS 256
struct CacheDeltaTable {
    Sb bucket[CACHE_DELTA_BUCKETS];            /* encoded entries */
    Sb stubs;                                  /* encoded stubs, in number order */
    uint32_t *stub_end;                        /* where stub i ends in stubs */
    uint32_t nstubs, cap;
    size_t nents;
    Sb scratch;                                /* one entry or stub being encoded */
};
void     cache_delta_init(CacheDeltaTable *t);
void     cache_delta_free(CacheDeltaTable *t);
/* Add a stub; its number. */
uint32_t cache_delta_stub(CacheDeltaTable *t, const CacheDeltaDep *d);
/* Add n, its parents being the stubs numbered stubs[0..n->ndeps) (n->deps unused). */
void     cache_delta_add_refs(CacheDeltaTable *t, const CacheDeltaNode *n, const uint32_t *stubs);
/* Add n with a stub of each of n->deps. */
void     cache_delta_add(CacheDeltaTable *t, const CacheDeltaNode *n);
/* The entry of model file ofp (relative to the project root) in the node
 * table stored with s, its deps decoded, into a: true, or false when there
 * is none (or it cannot be read). */
bool     cache_snap_find_node(Cache *c, const CacheSnap *s, const char *ofp, Arena *a, CacheDeltaNode *out);
#endif
