/* discover.c - finding the project's files (spec §1.7): models, seeds,
 * snapshots, analyses and singular tests become Nodes (raw_code = the
 * stripped file text, sha256 checksum, name/path/fqn/unique_id), macro files
 * are parsed with the template engine and every top-level macro / test /
 * materialization block becomes a MacroDef.
 *
 * Node templates are NOT parsed here (Node.tpl stays NULL): src/dbt parses
 * them so syntax errors carry node context.  Config folding happens later
 * (props.c, config.c) once properties files are read. */
#include "projpriv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/fs.h"
#include "../base/hash.h"
#include "../base/journal.h"

#define SEED_MAX_HASHED (1024 * 1024)   /* larger seeds get a path checksum */

typedef struct Walk {
    Loader *L;
    const char *search;     /* search path as written, normalised ("models") */
    const char *abs_search; /* absolute */
    ResourceType rt;
    int kind;               /* W_* */
    int rc;
    int dir;                /* index of abs_search in the reader's directories */
} Walk;
enum { W_SQL_NODE, W_SEED, W_SNAPSHOT, W_TEST, W_MACRO };

/* "models" + "a/b.sql" -> "models/a/b.sql" (lexically normalised, no leading "./"). */
static const char *join_rel(Loader *L, const char *a, const char *b)
{
    Sb sb = SB_INIT;
    path_join(&sb, a, b);
    char *norm = path_normalize(sb_cstr(&sb));
    sb_free(&sb);
    const char *s = norm;
    while (s[0] == '.' && s[1] == '/')
        s += 2;
    const char *r = arena_strdup(L->a, s);
    free(norm);
    return r;
}

static const char *abs_of(Loader *L, const char *ofp)
{
    if (ofp[0] == '/')
        return ofp;
    return pl_cat(L->a, L->pkg->root, "/", ofp, NULL);
}

static const char *stem(Loader *L, const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    const char *dot = strrchr(base, '.');
    return arena_strndup(L->a, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

/* raw_code/src of n: text[s, e) (the stripped file text, NUL-terminated
 * here) with the line/column of its first byte; hex its sha256 (kept). */
static void set_code(Node *n, char *text, size_t s, size_t e, const char *hex)
{
    text[e] = '\0';
    n->raw_code = text + s;
    n->raw_len = e - s;
    srcfile_init(&n->src, n->original_file_path, n->raw_code, n->raw_len);
    int lines = 0;
    size_t ls = 0;
    for (size_t i = 0; i < s; i++)
        if (text[i] == '\n') {
            lines++;
            ls = i + 1;
        }
    n->src.line_base = lines;
    n->src.col_base = (int)(s - ls);
    n->checksum = hex;
}

/* ---- the model, analysis and singular test files' texts
 *
 * Reading ten thousand small files is mostly system time, and nothing
 * before the end of project_load needs their text: the walks only queue
 * them (ReadJob) and, once discovery is over, a thread reads, checks,
 * strips and hashes them while this one reads the properties files and
 * builds the tests.  The thread touches nothing of the Loader: it opens
 * files relative to their search directory, allocates from an arena of
 * its own and writes only its jobs' result fields; pl_discover_finish()
 * joins it, adopts its arena into the project's and fills in the nodes.
 *
 * Errors keep their order: a file that cannot be read or is not UTF-8 is
 * reported in place of any error raised after it was queued, as when files
 * were read during the walk (whose first failure ended the load). */
typedef struct ReadJob {
    Node *n;                /* main thread only */
    const char *rel;        /* under dirs[dir]; immutable while the thread runs */
    int dir;
    /* results, written by the reader */
    char *text;             /* in the reader's arena */
    size_t len, s, e;       /* text, and the stripped span [s, e) */
    int err;                /* 0; errno of a failed read; -1: not UTF-8 at byte bad */
    size_t bad;
    char *hex;              /* sha256 of the stripped text, in the reader's arena */
    struct stat st;         /* fstat before the read (for the journal) */
} ReadJob;

/* Jobs live in chunks from the loader's scratch arena: one large array,
 * grown and freed, would be served by mmap, and glibc answers the free by
 * raising its mmap threshold for the rest of the run, which left more of
 * the compile's memory in the heap (peak RSS +0.5 MB on 10,000 models). */
#define READ_CHUNK 128

struct Reader {
    VEC(ReadJob *) chunks;  /* READ_CHUNK jobs each */
    size_t njobs;
    VEC(const char *) dirs; /* absolute search directories */
    size_t done;            /* jobs [0, done) have their results */
    Arena arena;            /* the texts, adopted by the project arena */
    pthread_t thread;
    bool running;
};

#define READER_MIN_THREAD 8 /* fewer files are read without a thread */

static void read_one(ReadJob *j, int dirfd, Arena *a)
{
    if (fs_read_file_at_st(dirfd, j->rel, a, &j->text, &j->len, &j->st) != 0) {
        j->err = errno ? errno : EIO;
        return;
    }
    j->bad = pl_utf8_check(j->text, j->len);
    if (j->bad < j->len) {
        j->err = -1;
        return;
    }
    pl_strip(j->text, j->len, &j->s, &j->e);
    j->hex = arena_alloc(a, 65);
    sha256_hex(j->text + j->s, j->e - j->s, j->hex);
}

static ReadJob *job_at(struct Reader *r, size_t i)
{
    return &r->chunks.items[i / READ_CHUNK][i % READ_CHUNK];
}

/* Jobs [r->done, upto) in order, stopping after the first failure. */
static void read_jobs(struct Reader *r, size_t upto)
{
    int fd = -1, fd_dir = -1;
    for (size_t i = r->done; i < upto; i++) {
        ReadJob *j = job_at(r, i);
        if (j->dir != fd_dir) {
            if (fd >= 0)
                close(fd);
            fd = open(r->dirs.items[j->dir], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            fd_dir = j->dir;
        }
        if (fd < 0) {
            j->err = errno ? errno : EIO;
        } else {
            read_one(j, fd, &r->arena);
        }
        r->done = i + 1;
        if (j->err)
            break;
    }
    if (fd >= 0)
        close(fd);
}

static void *reader_main(void *arg)
{
    struct Reader *r = arg;
    read_jobs(r, r->njobs);
    return NULL;
}

static struct Reader *reader_of(Loader *L)
{
    if (!L->reader) {
        L->reader = xcalloc(1, sizeof *L->reader);
        arena_init(&L->reader->arena, 0);
    }
    return L->reader;
}

/* The first job that failed (NULL if none), once the thread is joined;
 * files it did not get to (no thread, or a failure ended discovery) are
 * read here. */
static ReadJob *first_failure(struct Reader *r)
{
    if (r->running) {
        pthread_join(r->thread, NULL);
        r->running = false;
    }
    for (size_t i = 0; i < r->njobs; i++) {
        if (i == r->done)
            read_jobs(r, r->njobs);
        ReadJob *j = job_at(r, i);
        if (j->err)
            return j;
    }
    return NULL;
}

static int report(Loader *L, ReadJob *j)
{
    const char *rel = j->n->original_file_path;
    if (L->err->set)
        diag_clear(L->err);
    if (j->err > 0)
        diag_set(L->err, rel, 0, 0, NULL, "Could not read file: %s", strerror(j->err));
    else
        pl_utf8_error(L, rel, j->text, j->len, j->bad);
    return -1;
}

int pl_discover_finish(Loader *L, bool ok)
{
    struct Reader *r = L->reader;
    if (!r)
        return ok ? 0 : -1;
    ReadJob *j = first_failure(r);
    int rc = ok ? 0 : -1;
    if (j) {
        rc = report(L, j);
    } else if (ok) {
        for (size_t i = 0; i < r->njobs; i++) {
            ReadJob *jb = job_at(r, i);
            /* what fs_read_file records, in the order the files were read */
            journal_path_stat(jb->n->abs_path, &jb->st);
            journal_content(jb->text, jb->len);
            set_code(jb->n, jb->text, jb->s, jb->e, jb->hex);
        }
    }
    arena_adopt(L->a, &r->arena);
    vec_free(&r->chunks);
    vec_free(&r->dirs);
    free(r);
    L->reader = NULL;
    return rc;
}

void pl_register_node(Loader *L, Node *n)
{
    vec_push(&L->pending, n);
    if (!strmap_getz(&L->by_name[n->rt], n->name))
        strmap_putz(&L->by_name[n->rt], n->name, n);
}

static int sql_node(Walk *w, const char *rel)
{
    Loader *L = w->L;
    Node *n = pl_new_node(L, w->rt);
    n->original_file_path = join_rel(L, w->search, rel);
    n->abs_path = abs_of(L, n->original_file_path);
    n->name = stem(L, rel);
    n->path = w->rt == RT_ANALYSIS ? pl_cat(L->a, "analysis/", rel, NULL) : arena_strdup(L->a, rel);
    n->fqn = pl_fqn(L, rel, n->name, &n->nfqn);
    n->unique_id = pl_cat(L->a, rt_name(w->rt), ".", L->pkg->name, ".", n->name, NULL);
    struct Reader *r = reader_of(L);
    if (w->dir < 0) {
        w->dir = (int)r->dirs.len;
        vec_push(&r->dirs, w->abs_search);
    }
    /* n->path is rel (analyses aside): no second copy */
    const char *jrel = w->rt == RT_ANALYSIS ? arena_strdup(L->a, rel) : n->path;
    if (r->njobs % READ_CHUNK == 0)
        vec_push(&r->chunks, ARENA_ARRAY(&L->tree, ReadJob, READ_CHUNK));
    *job_at(r, r->njobs++) = (ReadJob){.n = n, .rel = jrel, .dir = w->dir};
    pl_register_node(L, n);
    return 0;
}

static int seed_node(Walk *w, const char *rel)
{
    Loader *L = w->L;
    Node *n = pl_new_node(L, RT_SEED);
    n->original_file_path = join_rel(L, w->search, rel);
    n->abs_path = abs_of(L, n->original_file_path);
    n->name = stem(L, rel);
    n->path = arena_strdup(L->a, rel);
    n->fqn = pl_fqn(L, rel, n->name, &n->nfqn);
    n->unique_id = arena_sprintf(L->a, "seed.%s.%s", L->pkg->name, n->name);
    n->root_path = L->pkg->root;
    n->raw_code = "";
    n->raw_len = 0;
    srcfile_init(&n->src, n->original_file_path, "", 0);
    struct stat st;
    if (stat(n->abs_path, &st) == 0 && st.st_size > SEED_MAX_HASHED) {
        memcpy(n->checksum_name, "path", 5);
        n->checksum = n->original_file_path;
    } else {
        char *text;
        size_t len, s, e;
        if (pl_read_utf8(L, n->abs_path, n->original_file_path, &text, &len) != 0)
            return -1;
        pl_strip(text, len, &s, &e);
        char hex[65];
        sha256_hex(text + s, e - s, hex);
        n->checksum = arena_strdup(L->a, hex);
    }
    pl_register_node(L, n);
    return 0;
}

/* ---- snapshots: {% snapshot name %} ... {% endsnapshot %} blocks */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* If text[i..] is "{%[-] <word> [arg] [-]%}", return the index after "%}" and the word/arg. */
static size_t match_tag(const char *t, size_t len, size_t i, const char *word,
                        const char **arg, size_t *arglen)
{
    if (i + 2 > len || t[i] != '{' || t[i + 1] != '%')
        return 0;
    size_t j = i + 2;
    if (j < len && (t[j] == '-' || t[j] == '+'))
        j++;
    while (j < len && is_ws(t[j]))
        j++;
    size_t wl = strlen(word);
    if (j + wl > len || memcmp(t + j, word, wl) != 0)
        return 0;
    j += wl;
    if (j < len && !is_ws(t[j]) && t[j] != '-' && t[j] != '%')
        return 0;
    while (j < len && is_ws(t[j]))
        j++;
    size_t as = j;
    while (j < len && (t[j] == '_' || (t[j] >= '0' && t[j] <= '9') || ((t[j] | 32) >= 'a' && (t[j] | 32) <= 'z')))
        j++;
    if (arg) {
        *arg = t + as;
        *arglen = j - as;
    }
    while (j < len && is_ws(t[j]))
        j++;
    if (j < len && t[j] == '-')
        j++;
    if (j + 2 > len || t[j] != '%' || t[j + 1] != '}')
        return 0;
    return j + 2;
}

static int line_of(const char *t, size_t off)
{
    int l = 1;
    for (size_t i = 0; i < off; i++)
        if (t[i] == '\n')
            l++;
    return l;
}

static int snapshot_nodes(Walk *w, const char *rel)
{
    Loader *L = w->L;
    const char *ofp = join_rel(L, w->search, rel);
    char *text;
    size_t len;
    if (pl_read_utf8(L, abs_of(L, ofp), ofp, &text, &len) != 0)
        return -1;
    size_t s, e;
    pl_strip(text, len, &s, &e);
    char hex[65];
    sha256_hex(text + s, e - s, hex);
    const char *checksum = arena_strdup(L->a, hex);
    const char *file_stem = stem(L, rel);
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '{' || text[i + 1] != '%')
            continue;
        const char *nm;
        size_t nl;
        size_t body = match_tag(text, len, i, "snapshot", &nm, &nl);
        if (!body || nl == 0)
            continue;
        size_t j = body, end = 0, after = 0;
        for (; j + 1 < len; j++)
            if (text[j] == '{' && text[j + 1] == '%' && (after = match_tag(text, len, j, "endsnapshot", NULL, NULL))) {
                end = j;
                break;
            }
        if (!end) {
            diag_set(L->err, ofp, line_of(text, i), 1, NULL,
                     "Reached EOF without finding a close tag for snapshot (searched from line %d)", line_of(text, i));
            return -1;
        }
        Node *n = pl_new_node(L, RT_SNAPSHOT);
        n->original_file_path = ofp;
        n->abs_path = abs_of(L, ofp);
        n->name = arena_strndup(L->a, nm, nl);
        n->path = arena_strdup(L->a, rel);
        /* snapshot fqn includes the file stem: [pkg, dirs..., stem, name] */
        int nf;
        const char **dirs = pl_fqn(L, rel, file_stem, &nf);
        n->fqn = ARENA_ARRAY(L->a, const char *, nf + 1);
        memcpy(n->fqn, dirs, (size_t)nf * sizeof *dirs);
        n->fqn[nf] = n->name;
        n->nfqn = nf + 1;
        n->unique_id = arena_sprintf(L->a, "snapshot.%s.%s", L->pkg->name, n->name);
        n->raw_code = arena_strndup(L->a, text + body, end - body);
        n->raw_len = end - body;
        srcfile_init(&n->src, ofp, n->raw_code, n->raw_len);
        size_t ls = 0;
        int lines = 0;
        for (size_t k = 0; k < body; k++)
            if (text[k] == '\n') {
                lines++;
                ls = k + 1;
            }
        n->src.line_base = lines;
        n->src.col_base = (int)(body - ls);
        n->checksum = checksum;
        pl_register_node(L, n);
        i = after - 1;
    }
    return 0;
}

/* ---- macros */

static int macro_file(Walk *w, const char *rel)
{
    Loader *L = w->L;
    const char *ofp = join_rel(L, w->search, rel);
    char *text;
    size_t len;
    if (pl_read_utf8(L, abs_of(L, ofp), ofp, &text, &len) != 0)
        return -1;
    SrcFile *sf = ARENA_NEW(L->a, SrcFile);
    srcfile_init(sf, ofp, text, len);
    Template *t = tpl_parse(L->a, sf, L->err);
    if (!t) {
        srcfile_free(sf);
        return -1;
    }
    size_t nm = tpl_macro_count(t);
    for (size_t i = 0; i < nm; i++) {
        TplMacro *m = tpl_macro_at(t, i);
        MacroDef *d = ARENA_NEW(L->a, MacroDef);
        d->name = tpl_macro_name(m);
        d->package_name = L->pkg->name;
        d->unique_id = arena_sprintf(L->a, "macro.%s.%s", L->pkg->name, d->name);
        d->path = ofp;
        d->original_file_path = ofp;
        size_t s, e;
        tpl_macro_span(m, &s, &e);
        if (e > len)
            e = len;
        if (s > e)
            s = e;
        d->macro_sql = arena_strndup(L->a, text + s, e - s);
        d->macro = m;
        d->description = "";
        d->arguments = v_list(L->a, 0).u.l;
        d->meta = v_dict(L->a).u.d;
        MacroDef *old = strmap_getz(L->pkg->macro_by_name, d->name);
        if (old) {
            diag_set(L->err, NULL, 0, 0, NULL,
                     "dbt found two macros named \"%s\" in the project \"%s\" (%s and %s); rename or remove one of them",
                     d->name, L->pkg->name, old->original_file_path, ofp);
            return -1;
        }
        strmap_putz(L->pkg->macro_by_name, d->name, d);
        vec_push(&L->macros, d);
    }
    return 0;
}

static int walk_cb(void *ud, const char *rel)
{
    Walk *w = ud;
    int rc = 0;
    if (w->L->ignore && pl_ignored(w->L->ignore, join_rel(w->L, w->search, rel)))
        return 0;                /* .dbtignore */
    switch (w->kind) {
    case W_SQL_NODE: rc = sql_node(w, rel); break;
    case W_SEED: rc = seed_node(w, rel); break;
    case W_SNAPSHOT: rc = snapshot_nodes(w, rel); break;
    case W_TEST:
        if (!strncmp(rel, "generic/", 8) || !strncmp(rel, "fixtures/", 9))
            return 0;
        rc = sql_node(w, rel);
        break;
    case W_MACRO: rc = macro_file(w, rel); break;
    }
    if (rc != 0) {
        w->rc = -1;
        return 1;
    }
    return 0;
}

static int walk_paths(Loader *L, const char **paths, const char *suffix_dir, const char *ext,
                      int kind, ResourceType rt)
{
    const char *const suffixes[] = {ext, NULL};
    for (int i = 0; paths && paths[i]; i++) {
        const char *search = suffix_dir ? join_rel(L, paths[i], suffix_dir) : join_rel(L, paths[i], "");
        const char *abs = abs_of(L, search);
        if (!fs_is_dir(abs))
            continue;
        Walk w = {L, search, abs, rt, kind, 0, -1};
        if (fs_walk(abs, suffixes, walk_cb, &w) != 0 && !w.rc) {
            diag_set(L->err, search, 0, 0, NULL, "Could not list directory %s", search);
            return -1;
        }
        if (w.rc)
            return -1;
    }
    return 0;
}

/* Delta mode: the listed model files only, each under the model path that holds it. */
static int only_models(Loader *L)
{
    Package *p = L->pkg;
    for (int k = 0; k < L->opt->nonly_models; k++) {
        const char *ofp = L->opt->only_models[k];
        int done = 0;
        for (int i = 0; p->model_paths && p->model_paths[i] && !done; i++) {
            const char *search = join_rel(L, p->model_paths[i], "");
            size_t sl = strlen(search);
            if (strncmp(ofp, search, sl) != 0 || ofp[sl] != '/')
                continue;
            Walk w = {L, search, abs_of(L, search), RT_MODEL, W_SQL_NODE, 0, -1};
            if (sql_node(&w, ofp + sl + 1) != 0)
                return -1;
            done = 1;
        }
        if (!done) {
            diag_set(L->err, ofp, 0, 0, NULL, "not under a model path");
            return -1;
        }
    }
    return 0;
}

int pl_discover(Loader *L)
{
    Package *p = L->pkg;
    if (L->opt->nonly_models)
        return walk_paths(L, p->macro_paths, NULL, ".sql", W_MACRO, RT_MACRO) ||
               walk_paths(L, p->test_paths, "generic", ".sql", W_MACRO, RT_MACRO) || only_models(L)
                   ? -1 : 0;
    if (walk_paths(L, p->macro_paths, NULL, ".sql", W_MACRO, RT_MACRO) ||
        walk_paths(L, p->test_paths, "generic", ".sql", W_MACRO, RT_MACRO) ||
        walk_paths(L, p->model_paths, NULL, ".sql", W_SQL_NODE, RT_MODEL) ||
        walk_paths(L, p->seed_paths, NULL, ".csv", W_SEED, RT_SEED) ||
        walk_paths(L, p->snapshot_paths, NULL, ".sql", W_SNAPSHOT, RT_SNAPSHOT) ||
        walk_paths(L, p->analysis_paths, NULL, ".sql", W_SQL_NODE, RT_ANALYSIS) ||
        walk_paths(L, p->test_paths, NULL, ".sql", W_TEST, RT_TEST)) {
        /* every file queued so far came before the failing one */
        pl_discover_finish(L, false);
        return -1;
    }
    struct Reader *r = L->reader;
    if (r && r->njobs >= READER_MIN_THREAD && pthread_create(&r->thread, NULL, reader_main, r) == 0)
        r->running = true;
    return 0;
}
