/* fastpath.c - `cdbt parse` and `cdbt compile` on a project where nothing
 * changed since the last identical command: reuse its outputs.
 *
 * A full run of an eligible command journals what it depends on (every
 * file and directory it read, listed or probed, every env var a template
 * read; src/base/journal.h) and, when it succeeded without printing
 * anything from templates and without reading anything volatile
 * (invocation_id, run_started_at, modules), stores a whole-project snapshot
 * in target/cdbt.db (src/cache/cache_snap.c) with the stat() of each input
 * and of each file it wrote.  The next run with the same command line,
 * working directory, DBT_* environment and cdbt build stat()s those paths;
 * when all are unchanged the outputs on disk are exactly what a full run
 * would write, except for what names this invocation:
 *   - manifest.json: metadata.generated_at and invocation_id are patched in
 *     place (both have a fixed width);
 *   - run_results.json (compile): the same metadata patched in place and
 *     the tail from elapsed_time (whose offset results_write noted) written
 *     again; each node's timing stays that of the run that compiled it;
 *   - compiled SQL files: left as they are.
 * Anything else (a changed file, a new file in a model directory, a changed
 * env var, an artifact edited, a compiled file deleted or replaced, another
 * cdbt run's token in target/cdbt.stamp, a different command line) takes
 * the normal path, which itself reuses unchanged nodes (cache_parse.c).
 * Compiled files are checked by their directories (cache.h: "Output
 * directories"), so one edited in place by another program is kept.
 *
 * `ls` is reused the same way: its listing is stored with the snapshot and
 * printed again.
 *
 * Eligible: parse and compile without --select/--exclude/--resource-type/
 * --exclude-resource-type; ls with any of those; none of them with
 * --selector, --inline, --state, --defer, --indirect-selection, --no-partial-parse,
 * --no-write-json, or a `result:` / `state:` selector. */
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "console.h"
#include "../base/clock.h"
#include "../base/fs.h"
#include "../base/journal.h"
#include "../base/json.h"
#include "../cache/cache.h"

extern char **environ;

/* CPU seconds of the whole process (both snapshot-check threads) */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double g_started;         /* epoch seconds at fastpath_begin() */
static CacheOutputs *g_outputs;  /* the compiled files' digests (fastpath_oracle) */
static FsOracle g_oracle;

static void bg_join(void);

const FsOracle *fastpath_oracle(void)
{
    bg_join();
    if (g_outputs && !cache_outputs_ready(g_outputs))
        fastpath_oracle_free();
    return g_outputs ? &g_oracle : NULL;
}

void fastpath_oracle_free(void)
{
    cache_outputs_free(g_outputs);
    g_outputs = NULL;
}

/* A full compile follows: what the last one of this command line wrote in
 * the compiled files, so that the writer need not read those unchanged
 * (snap: the snapshot of key a lookup found, or NULL). */
static void load_oracle(const Flags *f, Cache *c, const uint8_t key[32], const CacheSnap *snap)
{
    const char *why = NULL;
    fastpath_oracle_free();
    g_outputs = snap ? cache_snap_outputs_of(c, snap, &why) : cache_snap_outputs(c, key, &why);
    g_oracle = (FsOracle){cache_outputs_get, g_outputs};
    if (f->debug) {
        if (g_outputs)
            fprintf(stderr, "cdbt cache: the digests of the compiled files are known\n");
        else
            fprintf(stderr, "cdbt cache: compiled files will be read (%s)\n", why ? why : "?");
    }
}

static bool eligible(const Flags *f)
{
    if (!f->command)
        return false;
    bool ls = strcmp(f->command, "ls") == 0 || strcmp(f->command, "list") == 0;
    if (!ls && strcmp(f->command, "parse") != 0 && strcmp(f->command, "compile") != 0)
        return false;
    /* ls prints only what the key (the command line) and the inputs decide;
     * compile's --select would also print SQL, so it is left out */
    if (!ls && (f->nselect || f->nexclude || f->nresource_types || f->nexclude_resource_types))
        return false;
    if (f->selector || f->inline_sql || f->state || f->defer || f->defer_state || f->only_ids || f->indirect_selection ||
        f->no_partial_parse || f->no_write_json)
        return false;
    for (int i = 1; i < f->argc; i++)
        if (journal_text_volatile(f->argv[i], strlen(f->argv[i])) || strstr(f->argv[i], "result:") || strstr(f->argv[i], "state:"))
            return false;                  /* result: reads the last run, state: another manifest */
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* command line, working directory, DBT_* and HOME: what the key covers;
 * false when cdbt's own build cannot be told */
static bool snapshot_key(const Flags *f, uint8_t key[32])
{
    size_t nenv = 0;
    for (char **e = environ; e && *e; e++)
        nenv++;
    const char **parts = xmalloc(sizeof *parts * ((size_t)f->argc + nenv + 4));
    size_t n = 0;
    char cwd[4096];
    parts[n++] = getcwd(cwd, sizeof cwd) ? cwd : "?";
    for (int i = 1; i < f->argc; i++)
        parts[n++] = f->argv[i];
    parts[n++] = "--env--";
    size_t env0 = n;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, "DBT_", 4) == 0 || strncmp(*e, "HOME=", 5) == 0)
            parts[n++] = *e;
    qsort(parts + env0, n - env0, sizeof *parts, cmp_str);
    bool ok = cache_snap_key(parts, n, key);
    free(parts);
    return ok;
}

static ProjectOptions project_options(const Flags *f)
{
    ProjectOptions o = {0};
    o.project_dir = f->project_dir;
    o.profiles_dir = f->profiles_dir;
    o.target_path = f->target_path;
    return o;
}

void fastpath_begin(Flags *f)
{
    if (!eligible(f))
        return;
    g_started = clock_epoch();
    journal_start();
}

/* ---------------------------------------------------------------- store */

/* The inputs as the journal has them (paths and their stat when read). */
struct FastpathPrep {
    const char **paths;
    const FsStamp **pst;
    size_t np;
    CacheSnapPrep *cp;
};

static void journal_inputs(FastpathPrep *fp)
{
    size_t np = journal_npaths();
    fp->paths = xmalloc(sizeof *fp->paths * (np ? np : 1));
    fp->pst = xmalloc(sizeof *fp->pst * (np ? np : 1));
    for (size_t i = 0; i < np; i++) {
        fp->paths[i] = journal_path_at(i);
        fp->pst[i] = journal_path_stat_at(i);         /* files read: their stat then */
    }
    fp->np = np;
}

void fastpath_prep_free(FastpathPrep *fp)
{
    if (!fp)
        return;
    cache_snap_prep_free(fp->cp);
    free(fp->paths);
    free(fp->pst);
    free(fp);
}

static bool store_ok(Session *s)
{
    return journal_active() && s->cache && s->stamp && !journal_had_output() && !journal_volatile();
}

FastpathPrep *fastpath_store_prepare(Session *s, const char *out_root, const char *const *outputs,
                                     const FsStamp *const *out_st, const uint8_t *const *out_dg, size_t nout,
                                     size_t nheads)
{
    if (!store_ok(s))
        return NULL;
    FastpathPrep *fp = xcalloc(1, sizeof *fp);
    journal_inputs(fp);
    fp->cp = cache_snap_prepare(g_started, fp->paths, fp->pst, fp->np, out_root, outputs, out_st, out_dg, nout, nheads);
    return fp;
}

void fastpath_store(Session *s, const char *out_root, const char *const *outputs, const FsStamp *const *out_st,
                    const uint8_t *const *out_dg, size_t nout, size_t nheads, const char *info, void (*nodes)(void *ud, CacheDeltaTable *t),
                    void *nodes_ud, const CacheChunks *tests, FastpathPrep *fp)
{
    Flags *f = s->flags;
    if (!journal_active()) {
        fastpath_prep_free(fp);
        return;
    }
    /* without its stamp in target/, a snapshot could not tell another run's
     * in-place rewrites of the compiled files (cache.h) */
    bool ok = store_ok(s);
    if (ok) {
        if (fp && fp->np != journal_npaths()) {
            fastpath_prep_free(fp);                /* (something was read since) */
            fp = NULL;
        }
        if (!fp) {
            fp = xcalloc(1, sizeof *fp);
            journal_inputs(fp);
        }
        size_t np = fp->np, ne = journal_nenv();
        const char **envs = xmalloc(sizeof *envs * (ne ? ne : 1));
        for (size_t i = 0; i < ne; i++)
            envs[i] = journal_env_at(i);
        uint8_t key[32];
        char *w = NULL;
        /* the files of user macros are marked: after an edit of those alone
         * the next full run leaves the parse cache's entries alone when none
         * can match (CacheParseEnv.lazy), and a compile reuses what they
         * cannot have changed */
        const char **mf = NULL;
        size_t nmf = s->dbt ? dbt_macro_files(s->dbt, &mf) : 0;
        CacheSnapPrep *cp = fp->cp;
        fp->cp = NULL;
        int rc = 0;
        if (!snapshot_key(f, key))
            cache_snap_prep_free(cp);
        else
            rc = cache_snap_store(s->cache, key, g_started, fp->paths, fp->pst, np, envs, ne, out_root, outputs, out_st,
                                  out_dg, nout, nheads, s->stamp ? session_target_dir(s) : NULL, s->stamp, info,
                                  strlen(info), nodes, nodes_ud, s->project ? s->project->root : NULL, mf, nmf, tests,
                                  cp, &w);
        if (rc < 0 && w && !f->quiet)
            fprintf(stderr, "warning: %s\n", w);
        if (f->debug)
            fprintf(stderr, "cdbt cache: project snapshot %s%s (%zu inputs, %zu outputs)\n",
                    rc == 1 ? "stored" : "not stored: ", rc == 1 ? "" : w ? w : "", np, nout);
        free(w);
        free(envs);
    } else if (f->debug) {
        fprintf(stderr, "cdbt cache: no project snapshot (%s)\n",
                !s->cache ? "no cache" : !s->stamp ? "cannot write target/cdbt.stamp"
                : journal_had_output() ? "templates printed" : "volatile inputs");
    }
    fastpath_prep_free(fp);
    journal_stop();
}

/* ---------------------------------------------------------------- reuse */

/* Overwrite the string value of "key":"…" in the first bytes of a JSON file
 * with val (same length).  0, or -1 when not found or of another width. */
static int patch_head(int fd, const char *head, size_t hlen, const char *key, const char *val)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    size_t pl = strlen(pat), vl = strlen(val);
    for (size_t i = 0; i + pl <= hlen; i++) {
        if (memcmp(head + i, pat, pl) != 0)
            continue;
        size_t v0 = i + pl, v1 = v0;
        while (v1 < hlen && head[v1] != '"')
            v1++;
        if (v1 >= hlen || v1 - v0 != vl)
            return -1;
        return pwrite(fd, val, vl, (off_t)v0) == (ssize_t)vl ? 0 : -1;
    }
    return -1;
}

/* Stamp the metadata (generated_at, invocation_id) at the head of an
 * artifact open as fd. */
static int patch_metadata(int fd, const char *ts, const char *invocation)
{
    char head[1024];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n <= 0 || memcmp(head, "{\"metadata\":{", 13) != 0)
        return -1;
    return patch_head(fd, head, (size_t)n, "generated_at", ts) == 0 &&
                   patch_head(fd, head, (size_t)n, "invocation_id", invocation) == 0
               ? 0 : -1;
}

int fastpath_patch_manifest(const char *path, const char *ts, const char *invocation)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = patch_metadata(fd, ts, invocation);
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

static char *fmt_double(double v)
{
    Sb b = SB_INIT;
    JsonW w;
    json_init(&w, &b, false);
    json_double(&w, v);
    return sb_detach(&b);
}

/* run_results.json: new metadata at the head, new elapsed_time at off.  The
 * per-node results, timing included, stay those of the run that compiled
 * the nodes: nothing was compiled again. */
int fastpath_patch_results(const char *path, long off, const char *ts, const char *invocation, double t0)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = -1;
    struct stat st;
    char *tail = NULL;
    if (fstat(fd, &st) != 0 || off <= 0 || off >= st.st_size || st.st_size - off > (1 << 20))
        goto done;
    size_t tl = (size_t)(st.st_size - off);
    tail = xmalloc(tl + 1);
    if (pread(fd, tail, tl, (off_t)off) != (ssize_t)tl || tl <= 15 || memcmp(tail, "\"elapsed_time\":", 15) != 0)
        goto done;
    if (patch_metadata(fd, ts, invocation) != 0)
        goto done;
    size_t v = 15;
    while (v < tl && tail[v] != ',' && tail[v] != '}')
        v++;
    Sb nt = SB_INIT;
    sb_puts(&nt, "\"elapsed_time\":");
    char *el = fmt_double(clock_epoch() - t0);
    sb_puts(&nt, el);
    free(el);
    sb_append(&nt, tail + v, tl - v);
    if (pwrite(fd, nt.buf, nt.len, (off_t)off) == (ssize_t)nt.len && ftruncate(fd, (off_t)off + (off_t)nt.len) == 0)
        rc = 0;
    sb_free(&nt);
done:
    free(tail);
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

/* ---------------------------------------------------------------- macro edits */

/* The run after an edit of macro files alone (nothing else changed since
 * the snapshot): the files, what the snapshot's compile recorded after its
 * four info lines (cmd_compile: "M<hex>", "R<hex>", "T<path>" lines), and
 * the tests' compiled code it kept. */
static struct {
    const char **changed; size_t nchanged;
    char *extra;
    void *tests; size_t ntests;  /* cache_snap_tests; NULL: no hint */
    uint8_t digest[32];          /* stored with the tests */
} g_hint;

static bool g_macros_only;       /* fastpath_macros_only */

bool fastpath_macros_only(void) { return g_macros_only; }

static void set_macro_hint(const char *const *changed, size_t n, const char *extra, size_t nextra)
{
    g_hint.changed = xmalloc(sizeof *g_hint.changed * (n + 1));
    for (size_t i = 0; i < n; i++)
        g_hint.changed[i] = xstrdup(changed[i]);
    g_hint.nchanged = n;
    g_hint.extra = xstrndup(extra, nextra);
}

/* After an edit of macro files, the compile reads the compiled files'
 * digests and the tests' code on a thread of its own, beside the project's
 * load (both are wanted only once the compile begins). */
typedef struct BgRead {
    const Flags *f;
    Cache *c;
    CacheSnap *snap;             /* g_pend's */
} BgRead;
static CacheSnap *g_pend;        /* the snapshot, until fastpath_macro_hint has verified the other inputs */
static pthread_t g_bg;
static bool g_bg_on;

static void *bg_read(void *arg)
{
    BgRead *b = arg;
    /* at the lowest priority: the load's two threads come first, and
     * these reads take the time they leave */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    load_oracle(b->f, b->c, NULL, b->snap);
    g_hint.tests = cache_snap_tests(b->c, b->snap, &g_hint.ntests, g_hint.digest);
    cache_close(b->c);
    free(b);
    return NULL;
}

static void bg_join(void)
{
    if (g_bg_on) {
        pthread_join(g_bg, NULL);
        g_bg_on = false;
    }
}

/* Start bg_read with c (it closes it) and snap; false: not started. */
static bool bg_start(const Flags *f, Cache *c, CacheSnap *snap)
{
    BgRead *b = xmalloc(sizeof *b);
    *b = (BgRead){f, c, snap};
    if (pthread_create(&g_bg, NULL, bg_read, b) != 0) {
        free(b);
        return false;
    }
    g_bg_on = true;
    static bool registered;
    if (!registered)
        registered = atexit(bg_join) == 0;   /* a run that ends before the compile asks */
    return true;
}

/* Besides files of macros, only directories that list the same files (an
 * editor saved by renaming) changed? */
static bool only_macros(CacheSnap *snap)
{
    const char *const *changed;
    size_t nch = cache_snap_changed(snap, &changed);
    bool only = true;
    Arena a;
    arena_init(&a, 0);
    for (size_t k = 0; k < nch && only; k++) {
        struct stat st;
        only = stat(changed[k], &st) == 0 && S_ISDIR(st.st_mode) && delta_same_listing(snap, changed[k], &a);
    }
    arena_free(&a);
    return only;
}

static bool known_stat(void *ud, const char *path, FsStamp *st)
{
    (void)ud;
    return journal_stat_of(path, st);
}

static void drop_hint(void)
{
    free(g_hint.tests);
    g_hint.tests = NULL;
}

bool fastpath_macro_hint(const char *const **changed, size_t *nchanged, const char **extra, const char **tests,
                         size_t *ntests, const uint8_t **digest, const char **why)
{
    bg_join();
    if (g_pend) {
        /* the inputs other than macro files, as this run read them */
        if (!cache_snap_verify(g_pend, known_stat, NULL) || !only_macros(g_pend)) {
            *why = "a file other than macros changed";
            drop_hint();
        }
        cache_snap_free(g_pend);
        g_pend = NULL;
    }
    if (!g_hint.tests)
        return false;
    *changed = g_hint.changed;
    *nchanged = g_hint.nchanged;
    *extra = g_hint.extra;
    *tests = g_hint.tests;
    *ntests = g_hint.ntests;
    *digest = g_hint.digest;
    return true;
}

/* info: "<found text>\n<nodes>\n<ok>\n<offset of elapsed_time in run_results.json>\n[<ls output>]" */
static bool parse_info(const uint8_t *info, size_t n, char *found, size_t cap, int *nodes, int *ok, long *off,
                       const char **listing, size_t *nlisting)
{
    const char *nl = memchr(info, '\n', n);
    if (!nl || (size_t)(nl - (const char *)info) >= cap)
        return false;
    memcpy(found, info, (size_t)(nl - (const char *)info));
    found[nl - (const char *)info] = '\0';
    /* three numbers, each ended by a newline (the last one optionally) */
    const char *p = nl + 1, *end = (const char *)info + n;
    long v[3];
    for (int k = 0; k < 3; k++) {
        char num[32];
        size_t i = 0;
        while (p < end && *p != '\n' && i + 1 < sizeof num)
            num[i++] = *p++;
        num[i] = '\0';
        char *e;
        v[k] = strtol(num, &e, 10);
        if (!i || *e)
            return false;
        if (p < end)
            p++;
    }
    *nodes = (int)v[0];
    *ok = (int)v[1];
    *off = v[2];
    *listing = p;
    *nlisting = (size_t)(end - p);
    return true;
}

int fastpath_try(Flags *f)
{
    if (!eligible(f))
        return -1;
    double t0 = clock_epoch(), cpu0 = cpu_now();
    ProjectOptions o = project_options(f);
    char *root = NULL, *target = NULL;
    if (project_locate(&o, &root, &target) != 0)
        return -1;
    int rc = -1;
    Cache *c = NULL;
    CacheSnap *snap = NULL;
    Sb db = SB_INIT, manifest = SB_INIT, results = SB_INIT;
    path_join(&db, target, "cdbt.db");
    if (access(sb_cstr(&db), F_OK) != 0)
        goto done;
    c = cache_open_quiet(target);
    if (!c)
        goto done;
    uint8_t key[32];
    const char *why = "cdbt's own executable cannot be stat()ed";
    bool compile = strcmp(f->command, "compile") == 0;
    bool delta_ok = compile || strcmp(f->command, "parse") == 0;
    bool have_key = snapshot_key(f, key);
    snap = have_key ? cache_snap_lookup(c, key, delta_ok, &why) : NULL;
    if (!snap) {
        if (f->debug)
            fprintf(stderr, "cdbt cache: full parse (%s)\n", why);
        if (have_key && compile)
            load_oracle(f, c, key, NULL);
        goto done;
    }
    size_t ilen;
    const uint8_t *info = cache_snap_info(snap, &ilen);
    char found[512];
    int nodes = 0, nok = 0;
    long off = -1;
    const char *listing = NULL;
    size_t nlisting = 0;
    if (!parse_info(info, ilen, found, sizeof found, &nodes, &nok, &off, &listing, &nlisting))
        goto done;
    /* the elapsed_time of run_results.json, where it is now (a delta run may
     * have rewritten an entry at another length) */
    off = (long)cache_snap_offset(snap, 1, off, NULL);
    const char *const *changed;
    const char *const *mchanged;
    size_t nmchanged = cache_snap_macros_changed(snap, &mchanged);
    if (nmchanged) {
        /* files of macros edited: a full run; when nothing else changed, it
         * may keep the tests' compiled code (cmd_compile, macro_hint) */
        if (f->debug)
            fprintf(stderr, "cdbt cache: full parse (a project file changed: %s)\n", mchanged[0]);
        g_macros_only = true;
        if (compile) {
            /* the other inputs are compared once the run has read them
             * (fastpath_macro_hint) */
            set_macro_hint(mchanged, nmchanged, listing, nlisting);
            g_pend = snap;
            snap = NULL;
            if (bg_start(f, c, g_pend)) {
                c = NULL;                /* (the thread's now) */
            } else {
                load_oracle(f, c, key, g_pend);
                g_hint.tests = cache_snap_tests(c, g_pend, &g_hint.ntests, g_hint.digest);
            }
        }
        goto done;
    }
    if (cache_snap_changed(snap, &changed)) {
        /* only model files changed: recompile them alone when that is sure to
         * give what a full run would (delta.c) */
        rc = delta_compile(f, c, snap, root, found, nodes, nok, off, t0);
        if (rc < 0 && f->debug)
            fprintf(stderr, "cdbt cache: full parse (%s changed)\n", changed[0]);
        if (rc < 0 && compile)
            load_oracle(f, c, key, NULL);
        goto done;
    }
    char invocation[37], ts[64];
    dbt_uuid4(invocation);
    clock_iso_utc(clock_epoch(), ts, sizeof ts);
    path_join(&manifest, target, "manifest.json");
    path_join(&results, target, "run_results.json");
    if (fastpath_patch_manifest(sb_cstr(&manifest), ts, invocation) != 0)
        goto done;
    if (compile && fastpath_patch_results(sb_cstr(&results), off, ts, invocation, t0) != 0) {
        /* the manifest names an invocation with no results: redo it all */
        goto done;
    }
    cache_snap_refresh(c, snap);
    int settled = cache_snap_settle(c, snap);
    if (f->debug) {
        fprintf(stderr, "cdbt cache: project unchanged since the last identical command; outputs reused\n");
        if (settled > 0)
            fprintf(stderr, "cdbt cache: %d output director%s checked file by file, recorded for the next run\n",
                    settled, settled == 1 ? "y" : "ies");
    }
    console_line(f, "Found %s", found);
    if (compile)
        console_line(f, "Compiled %d nodes in %.3fs (%d ok, 0 error, 0 skipped)", nodes, clock_epoch() - t0, nok);
    else if (strcmp(f->command, "parse") == 0)
        console_line(f, "Performance info: parsed %d nodes in %.3fs", nodes, clock_epoch() - t0);
    else
        fwrite(listing, 1, nlisting, stdout);
    rc = EXIT_OK;
done:
    cache_snap_free(snap);
    if (c)
        cache_close(c);
    /* what looking cost a run that then does the work anyway */
    if (rc < 0 && f->debug)
        fprintf(stderr, "cdbt cache: snapshot check took %.3fs (cpu %.3fs)\n", clock_epoch() - t0, cpu_now() - cpu0);
    sb_free(&db);
    sb_free(&manifest);
    sb_free(&results);
    free(root);
    free(target);
    return rc;
}
