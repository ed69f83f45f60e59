/* delta.c - `cdbt compile` (and `cdbt parse`) after only some model files
 * changed: recompile those models alone and rewrite their entries in place.
 *
 * A full compile or parse that stores a snapshot (fastpath.c) also stores a node
 * table (src/cache/cache_delta.c): for each model, where its value sits in
 * manifest.json and run_results.json (both pad each model's value with
 * spaces to a multiple of JSON_SLOT bytes, json.h), its compiled file, its
 * properties file and a stub of each node it depends on.  When the snapshot
 * check finds that the only differences are model files edited in place,
 * this file:
 *
 *   1. loads dbt_project.yml, the profile, the macros, those model files and
 *      their one properties file only (ProjectOptions.only_models), adds the
 *      stubs (identity preset, never rendered), parses and compiles them;
 *   2. refuses (returns -1: the caller does a full run, which is always
 *      right) unless every model's manifest entry is the same as before
 *      except raw_code, compiled_code, checksum and created_at - so config,
 *      refs, sources, macro dependencies, relation and columns are unchanged
 *      and no other node's output can differ (no ephemeral is involved: the
 *      model is a view, table or incremental, none of its parents is
 *      ephemeral); its new values round to the same slots; the run read no
 *      file that the snapshot's run did not, no env var it did not, printed
 *      nothing and read nothing volatile;
 *   3. writes the compiled files, rewrites the slots (value, then spaces),
 *      stamps generated_at / invocation_id / elapsed_time as a reuse does,
 *      and records the new stat of the files it read and wrote in the
 *      snapshot (cache_snap_record), so the next run starts from here.
 *
 * Since the padding depends only on a value's length, the files are then
 * byte for byte what a full compile writes (timings and the nodes'
 * created_at aside, as with any two runs). */
#define _GNU_SOURCE            /* copy_file_range() */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "console.h"
#include "results.h"
#include "../base/clock.h"
#include "../base/fs.h"
#include "../base/journal.h"
#include "../base/json.h"
#include "../cache/cache.h"
#include "../dbt/manifest.h"

#define DELTA_MAX 8

/* ---------------------------------------------------------------- JSON members */

static const char *skip_ws(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
        s++;
    return s;
}

/* s at '"': past the closing quote, or NULL */
static const char *skip_str(const char *s, const char *e)
{
    for (s++; s < e; s++) {
        if (*s == '\\')
            s++;
        else if (*s == '"')
            return s + 1;
    }
    return NULL;
}

static const char *skip_value(const char *s, const char *e)
{
    s = skip_ws(s, e);
    if (s >= e)
        return NULL;
    if (*s == '"')
        return skip_str(s, e);
    if (*s == '{' || *s == '[') {
        int depth = 0;
        while (s < e) {
            if (*s == '"') {
                s = skip_str(s, e);
                if (!s)
                    return NULL;
                continue;
            }
            if (*s == '{' || *s == '[')
                depth++;
            else if ((*s == '}' || *s == ']') && --depth == 0)
                return s + 1;
            s++;
        }
        return NULL;
    }
    while (s < e && *s != ',' && *s != '}' && *s != ']' && *s != ' ' && *s != '\n')
        s++;
    return s;
}

/* One member of an object: *p just inside it or after a member.  false at
 * the end (or on malformed input, *bad). */
static bool next_member(const char **p, const char *e, const char **k, size_t *kl, const char **v, size_t *vl,
                        bool *bad)
{
    const char *s = skip_ws(*p, e);
    if (s < e && *s == ',')
        s = skip_ws(s + 1, e);
    if (s >= e || *s == '}')
        return false;
    const char *ke = *s == '"' ? skip_str(s, e) : NULL;
    if (!ke) {
        *bad = true;
        return false;
    }
    *k = s;
    *kl = (size_t)(ke - s);
    s = skip_ws(ke, e);
    if (s >= e || *s != ':') {
        *bad = true;
        return false;
    }
    s = skip_ws(s + 1, e);
    const char *ve = skip_value(s, e);
    if (!ve) {
        *bad = true;
        return false;
    }
    *v = s;
    *vl = (size_t)(ve - s);
    *p = ve;
    return true;
}

/* Are the objects a and b the same but for the members a recompile of the
 * same file body may change? */
static bool same_but_code(const char *a, size_t an, const char *b, size_t bn)
{
    static const char *const skip[] = {"\"raw_code\"", "\"compiled_code\"", "\"checksum\"", "\"created_at\""};
    const char *ae = a + an, *be = b + bn;
    const char *pa = skip_ws(a, ae), *pb = skip_ws(b, be);
    if (pa >= ae || pb >= be || *pa != '{' || *pb != '{')
        return false;
    pa++;
    pb++;
    bool bad = false;
    int nmembers = 0;
    for (;;) {
        const char *ka, *va, *kb, *vb;
        size_t kla, vla, klb, vlb;
        bool ma = next_member(&pa, ae, &ka, &kla, &va, &vla, &bad);
        bool mb = next_member(&pb, be, &kb, &klb, &vb, &vlb, &bad);
        if (bad || ma != mb)
            return false;
        if (!ma)
            return nmembers > 0;
        nmembers++;
        if (kla != klb || memcmp(ka, kb, kla) != 0)
            return false;
        bool masked = false;
        for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
            masked |= strlen(skip[i]) == kla && memcmp(skip[i], ka, kla) == 0;
        if (!masked && (vla != vlb || memcmp(va, vb, vla) != 0))
            return false;
    }
}

/* ---------------------------------------------------------------- files */

static char *read_slot(int fd, int64_t off, uint32_t len)
{
    char *b = xmalloc((size_t)len + 1);
    if (pread(fd, b, len, (off_t)off) != (ssize_t)len) {
        free(b);
        return NULL;
    }
    b[len] = '\0';
    return b;
}

/* n bytes of in from offset from, appended to out */
static bool copy_range(int in, off_t from, int out, off_t n)
{
    while (n > 0) {
        ssize_t k = copy_file_range(in, &from, out, NULL, (size_t)n, 0);
        if (k <= 0) {
            if (k < 0 && errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
                return false;
            /* not offered here: plain reads and writes */
            char buf[1 << 16];
            while (n > 0) {
                ssize_t r = pread(in, buf, n < (off_t)sizeof buf ? (size_t)n : sizeof buf, from);
                if (r <= 0 || fs_atomic_write(out, buf, (size_t)r) != 0)
                    return false;
                from += r;
                n -= r;
            }
            return true;
        }
        n -= k;
    }
    return true;
}

/* path (open as in) written again with the value at [off, off + len)
 * replaced by v padded to its own slot; renamed over path. */
static int splice_file(const char *path, int in, int64_t off, uint32_t len, const Sb *v)
{
    struct stat st;
    if (fstat(in, &st) != 0 || off + len > st.st_size)
        return -1;
    Sb tmp = SB_INIT;
    int out = fs_atomic_open(path, &tmp);
    if (out < 0) {
        sb_free(&tmp);
        return -1;
    }
    size_t slot = json_slot_len(v->len);
    char *pad = xmalloc(slot - v->len + 1);
    memset(pad, ' ', slot - v->len);
    bool ok = copy_range(in, 0, out, (off_t)off) && fs_atomic_write(out, v->buf, v->len) == 0 &&
              fs_atomic_write(out, pad, slot - v->len) == 0 &&
              copy_range(in, (off_t)(off + len), out, st.st_size - (off_t)(off + len));
    free(pad);
    int rc = fs_atomic_commit(out, sb_cstr(&tmp), path, ok);
    sb_free(&tmp);
    return ok && rc == 0 ? 0 : -1;
}

/* value padded with spaces to exactly len bytes, at off */
static int write_slot(int fd, int64_t off, uint32_t len, const Sb *v)
{
    char *b = xmalloc(len);
    memcpy(b, v->buf, v->len);
    memset(b + v->len, ' ', len - v->len);
    int rc = pwrite(fd, b, len, (off_t)off) == (ssize_t)len ? 0 : -1;
    free(b);
    return rc;
}

/* ---------------------------------------------------------------- stubs */

/* Nodes standing for the models' dependencies (not loaded), into p. */
static bool add_stubs(Project *p, const CacheDeltaNode *ents, int n)
{
    int cap = p->nnodes;
    for (int k = 0; k < n; k++)
        cap += ents[k].ndeps;
    Node **nodes = ARENA_ARRAY(&p->arena, Node *, cap + 1);
    memcpy(nodes, p->nodes, sizeof *nodes * (size_t)p->nnodes);
    int nn = p->nnodes;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < ents[k].ndeps; i++) {
            const CacheDeltaDep *d = &ents[k].deps[i];
            if (!d->unique_id || !d->name || project_node(p, d->unique_id))
                continue;
            if (d->materialized && strcmp(d->materialized, "ephemeral") == 0)
                return false;            /* its SQL would be injected: not a stub's job */
            if (d->rt != RT_MODEL && d->rt != RT_SEED && d->rt != RT_SNAPSHOT && d->rt != RT_SOURCE)
                return false;
            Node *s = ARENA_NEW(&p->arena, Node);
            s->stub = true;
            s->rt = (ResourceType)d->rt;
            s->unique_id = d->unique_id;
            s->name = d->name;
            s->package_name = d->package ? d->package : p->name;
            s->database = d->database;
            s->schema = d->schema;
            s->alias = d->alias;
            s->identifier = d->identifier;
            s->source_name = d->source_name;
            s->description = "";
            s->config = v_dict(&p->arena).u.d;
            if (d->materialized)
                dict_setz(&p->arena, s->config, "materialized", v_strz(&p->arena, d->materialized));
            if (d->quoting.type == V_DICT) {
                if (s->rt == RT_SOURCE)
                    s->quoting = d->quoting.u.d;
                else
                    dict_setz(&p->arena, s->config, "quoting", d->quoting);
            }
            s->index = nn;
            nodes[nn++] = s;
            strmap_putz(&p->by_id, s->unique_id, s);
        }
    p->nodes = nodes;
    p->nnodes = nn;
    return true;
}

static bool plain_materialization(const Node *n)
{
    Value *m = n->config ? dict_getz(n->config, "materialized") : NULL;
    const char *s = m && m->type == V_STR ? m->u.s->s : "";
    return !strcmp(s, "view") || !strcmp(s, "table") || !strcmp(s, "incremental");
}

/* Every path the run read (journal) was an input of the snapshot's run,
 * every env var it read too, nothing printed, nothing volatile. */
static bool journal_within(const CacheSnap *snap, const char *why[1])
{
    if (journal_had_output()) {
        *why = "templates printed";
        return false;
    }
    if (value_shared_changes() != 0) {
        /* the other models' renders would have seen the change */
        *why = "a render changed a value other renders see";
        return false;
    }
    if (journal_volatile()) {
        *why = "volatile inputs";
        return false;
    }
    for (size_t i = 0; i < journal_nenv(); i++)
        if (!cache_snap_has_env(snap, journal_env_at(i))) {
            *why = "a template read a new env var";
            return false;
        }
    for (size_t i = 0; i < journal_npaths(); i++)
        if (!cache_snap_has_input(snap, journal_path_at(i))) {
            *why = "a new file was read";
            return false;
        }
    return true;
}

/* ---------------------------------------------------------------- the node table */

static const char *cfg_str(const Node *n, const char *k)
{
    Value *v = n->config ? dict_getz(n->config, k) : NULL;
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

/* The number of parent t's stub in the table, added on first use (num: by
 * Node.index, the number + 1). */
static uint32_t stub_of(const Node *t, CacheDeltaTable *out, uint32_t *num)
{
    if (num[t->index])
        return num[t->index] - 1;
    CacheDeltaDep d = {0};
    d.rt = (int)t->rt;
    d.unique_id = t->unique_id;
    d.name = t->name;
    d.package = t->package_name;
    d.database = t->database;
    d.schema = t->schema;
    d.alias = t->alias;
    d.identifier = t->identifier;
    d.source_name = t->source_name;
    d.materialized = cfg_str(t, "materialized");
    d.quoting = v_none();
    Value *q = t->rt == RT_SOURCE ? NULL : t->config ? dict_getz(t->config, "quoting") : NULL;
    if (t->rt == RT_SOURCE && t->quoting)
        d.quoting = (Value){.type = V_DICT, .u.d = t->quoting};
    else if (q && q->type == V_DICT)
        d.quoting = *q;
    uint32_t k = cache_delta_stub(out, &d);
    num[t->index] = k + 1;
    return k;
}

void delta_node_table(Project *p, const JsonSlot *mslots, const JsonSlot *rslots, CacheDeltaTable *out)
{
    /* A project with installed packages gets no node table: its delta
     * loads would need the packages' macros and nodes (ProjectOptions
     * .only_models loads the root project alone), so any edit of a model
     * file fails the snapshot lookup and the full path runs. */
    if (p->npackages)
        return;
    uint32_t *num = xcalloc((size_t)p->nnodes + 1, sizeof *num), *deps = NULL;
    int cap = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *nd = p->nodes[i];
        if (nd->rt != RT_MODEL || nd->index < 0 || !mslots[nd->index].len)
            continue;
        if (rslots && (!nd->compiled || !nd->compiled_path || !rslots[nd->index].len))
            continue;
        CacheDeltaNode e = {0};
        e.ofp = nd->original_file_path;
        e.unique_id = nd->unique_id;
        e.moff = mslots[nd->index].off;
        e.mlen = mslots[nd->index].len;
        if (rslots) {
            e.roff = rslots[nd->index].off;
            e.rlen = rslots[nd->index].len;
            e.compiled_path = nd->compiled_path;
        }
        const char *pp = nd->patch_path ? strstr(nd->patch_path, "://") : NULL;
        e.patch_file = pp ? pp + 3 : NULL;
        /* parents: the dep_nodes that are nodes, by index (dbt_parse) */
        if (nd->nparents > cap) {
            cap = nd->nparents * 2;
            deps = xrealloc(deps, sizeof *deps * (size_t)cap);
        }
        for (int k = 0; k < nd->nparents; k++)
            deps[k] = stub_of(p->nodes[nd->parents[k]], out, num);
        e.ndeps = nd->nparents;
        cache_delta_add_refs(out, &e, deps);
    }
    free(num);
    free(deps);
}

void delta_node_table_build(void *ud, CacheDeltaTable *out)
{
    const DeltaTableArgs *a = ud;
    delta_node_table(a->p, a->mslots, a->rslots, out);
}

/* ---------------------------------------------------------------- slots */

/* The times in an entry print with as many digits as they need
 * (1796130118.45661 and 1796130118.456617 alike), so an entry whose content
 * did not change length can still round to another slot.  These try the
 * time at microsecond precision, then rounded to 10 µs, 100 µs and 1 ms
 * (still the time the node was parsed or compiled), and keep the first
 * that fits. */
static const double kUnits[] = {0, 1e-5, 1e-4, 1e-3};    /* 0: as it is */

static double rounded(double t, double unit) { return unit > 0 ? floor(t / unit + 0.5) * unit : t; }

static bool fit_manifest(Node *n, uint32_t slot, Sb *out)
{
    double t = n->created_at;
    for (size_t i = 0; i < sizeof kUnits / sizeof kUnits[0]; i++) {
        n->created_at = rounded(t, kUnits[i]);
        sb_reset(out);
        manifest_node_json(n, out);
        if (json_slot_len(out->len) == slot)
            return true;
    }
    return false;
}

static bool fit_result(Node *n, double started, uint32_t slot, Sb *out)
{
    double took = results_wallclock() - started;
    for (size_t i = 0; i < sizeof kUnits / sizeof kUnits[0]; i++) {
        NodeResult nr = {.node = n, .status = "success", .failures = -1};
        nr.started_at = started;
        nr.compiled_at = nr.completed_at = started + rounded(took, kUnits[i]);
        sb_reset(out);
        results_entry_json(&nr, out);
        if (json_slot_len(out->len) == slot)
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------- directories */

typedef struct Names { const char **v; size_t n, cap; Arena *a; } Names;

static int add_name(void *ud, const char *name)
{
    Names *ns = ud;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 64;
        const char **v = ARENA_ARRAY(ns->a, const char *, cap);
        if (ns->n)
            memcpy(v, ns->v, sizeof *v * ns->n);
        ns->v = v;
        ns->cap = cap;
    }
    ns->v[ns->n++] = arena_strdup(ns->a, name);
    return 0;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* A directory whose stat changed (an editor saved a file in it by writing a
 * new one and renaming it, or made and removed a temporary file): does
 * discovery still find what the snapshot's run found there?  Every walk
 * looks for one of these suffixes and descends into every directory; the
 * comparison errs on the side of a full run (a new .csv in a model
 * directory, say, counts as a change). */
bool delta_same_listing(const CacheSnap *snap, const char *dir, Arena *a)
{
    static const char *const suffixes[] = {".sql", ".yml", ".yaml", ".csv", NULL};
    Names now = {.a = a};
    if (fs_walk_names(dir, suffixes, add_name, &now) != 0)
        return false;
    const char **then;
    size_t nthen = cache_snap_dir_names(snap, dir, a, &then);
    if (nthen != now.n)
        return false;
    if (!nthen)
        return true;
    qsort(now.v, now.n, sizeof *now.v, cmp_name);
    qsort(then, nthen, sizeof *then, cmp_name);
    for (size_t i = 0; i < nthen; i++)
        if (strcmp(now.v[i], then[i]) != 0)
            return false;
    return true;
}

/* ---------------------------------------------------------------- the delta */

typedef struct Item {
    CacheDeltaNode e;
    bool msplice, rsplice;     /* the new value needs another slot length */
    Node *n;
    const char *abs;           /* the model file */
    const char *out_abs;       /* its compiled file */
    Sb mjson, rjson;
} Item;

int delta_compile(Flags *f, Cache *c, CacheSnap *snap, const char *root, const char *found, int nodes, int nok,
                  long elapsed_off, double t0)
{
    const char *const *changed;
    size_t nch = cache_snap_changed(snap, &changed);
    if (!nch || nch > DELTA_MAX || !root)
        return -1;
    double started = clock_epoch();
    bool compile = strcmp(f->command, "compile") == 0;
    size_t rl = strlen(root);
    Arena a;
    arena_init(&a, 0);
    Item items[DELTA_MAX];
    memset(items, 0, sizeof items);
    const char *models[DELTA_MAX];
    const char *props = NULL, *why = "not a model of the last compile";
    int rc = -1, mfd = -1, rfd = -1;
    Session s;
    bool opened = false;
    Diag err = {0};
    Sb mpath = SB_INIT, rpath = SB_INIT;
    /* directories first: each must still list the same names */
    const char *dirs[DELTA_MAX];
    size_t ndirs = 0, nfiles = 0;
    const char *files[DELTA_MAX];
    for (size_t k = 0; k < nch; k++) {
        struct stat st;
        if (stat(changed[k], &st) == 0 && S_ISDIR(st.st_mode))
            dirs[ndirs++] = changed[k];
        else
            files[nfiles++] = changed[k];
    }
    why = "a directory lists other files";
    for (size_t k = 0; k < ndirs; k++)
        if (!delta_same_listing(snap, dirs[k], &a))
            goto out;
    why = "not a model of the last compile";
    changed = files;
    nch = nfiles;
    if (!nch)
        goto out;
    for (size_t k = 0; k < nch; k++) {
        Item *it = &items[k];
        if (strncmp(changed[k], root, rl) != 0 || changed[k][rl] != '/')
            goto out;
        if (!cache_snap_find_node(c, snap, changed[k] + rl + 1, &a, &it->e))
            goto out;
        if (k && (it->e.patch_file ? !props || strcmp(props, it->e.patch_file) : props != NULL)) {
            why = "models patched by different properties files";
            goto out;
        }
        props = it->e.patch_file;
        models[k] = it->e.ofp;
        it->abs = changed[k];
        it->e.moff = cache_snap_offset(snap, 0, it->e.moff, &it->e.mlen);
        it->e.roff = cache_snap_offset(snap, 1, it->e.roff, &it->e.rlen);
    }

    journal_start();
    opened = true;
    why = "the models do not load alone";
    if (session_open_delta(&s, f, models, (int)nch, props, &err) != 0)
        goto out;
    Project *p = s.project;
    CacheDeltaNode ents[DELTA_MAX];
    for (size_t k = 0; k < nch; k++)
        ents[k] = items[k].e;
    why = "a parent is ephemeral";
    if (!add_stubs(p, ents, (int)nch))
        goto out;
    why = "the models do not parse alone";
    if (dbt_parse(s.dbt, &err) != 0)
        goto out;
    for (size_t k = 0; k < nch; k++) {
        Item *it = &items[k];
        it->n = project_node(p, it->e.unique_id);
        why = "a model is disabled, renamed or not a view, table or incremental";
        if (!it->n || it->n->stub || it->n->rt != RT_MODEL || !plain_materialization(it->n))
            goto out;
        why = "a model does not compile alone";
        if (compile && (dbt_compile_node(s.dbt, it->n, &err) != 0 || !it->n->compiled || !it->n->compiled_path ||
                        !it->e.compiled_path || strcmp(it->n->compiled_path, it->e.compiled_path) != 0))
            goto out;
    }
    why = "the run read more than the last one";
    if (!journal_within(snap, &why))
        goto out;

    /* the new values: same slots, same entry but for the code */
    const char *target = session_target_dir(&s);
    path_join(&mpath, target, "manifest.json");
    path_join(&rpath, target, "run_results.json");
    why = "the artifacts cannot be opened";
    mfd = open(sb_cstr(&mpath), O_RDWR | O_CLOEXEC);
    rfd = compile ? open(sb_cstr(&rpath), O_RDWR | O_CLOEXEC) : -1;
    if (mfd < 0 || (compile && rfd < 0))
        goto out;
    why = "the artifacts changed since the snapshot check (a concurrent run?)";
    if (!cache_snap_head_same(snap, sb_cstr(&mpath), mfd) ||
        (compile && !cache_snap_head_same(snap, sb_cstr(&rpath), rfd)))
        goto out;
    double now = results_wallclock();
    for (size_t k = 0; k < nch; k++) {
        Item *it = &items[k];
        /* a value that no longer rounds to its slot: the file is written
         * again around it (one model only; the shift is recorded) */
        why = "new values do not fit their slots (more than one model)";
        it->msplice = !fit_manifest(it->n, it->e.mlen, &it->mjson);
        it->rsplice = compile && !fit_result(it->n, now, it->e.rlen, &it->rjson);
        if ((it->msplice || it->rsplice) && nch != 1)
            goto out;
        char *old = read_slot(mfd, it->e.moff, it->e.mlen);
        bool same = old && same_but_code(old, it->e.mlen, it->mjson.buf, it->mjson.len);
        free(old);
        why = "more than the code of a model changed";
        if (!same)
            goto out;
        if (!compile)
            continue;
        old = read_slot(rfd, it->e.roff, it->e.rlen);
        char uid[600];
        snprintf(uid, sizeof uid, "\"unique_id\":\"%s\"", it->n->unique_id);
        same = old && old[0] == '{' && strstr(old, uid) != NULL;
        free(old);
        why = "run_results.json does not match the snapshot";
        if (!same)
            goto out;
        it->out_abs = it->e.compiled_path[0] == '/' ? it->e.compiled_path
                                                     : arena_sprintf(&a, "%s/%s", root, it->e.compiled_path);
    }

    /* write: compiled files, then the slots, then the stamps */
    journal_stop();
    int64_t rgrow = 0;
    for (size_t k = 0; k < nch; k++) {
        Item *it = &items[k];
        if (compile && dbt_write_compiled(s.dbt, it->n, &err) != 0)
            goto written;
        if (compile && (it->rsplice ? splice_file(sb_cstr(&rpath), rfd, it->e.roff, it->e.rlen, &it->rjson)
                                    : write_slot(rfd, it->e.roff, it->e.rlen, &it->rjson)) != 0)
            goto written;
        if ((it->msplice ? splice_file(sb_cstr(&mpath), mfd, it->e.moff, it->e.mlen, &it->mjson)
                         : write_slot(mfd, it->e.moff, it->e.mlen, &it->mjson)) != 0)
            goto written;
        if (it->rsplice) {
            rgrow = (int64_t)json_slot_len(it->rjson.len) - it->e.rlen;
            if (cache_snap_shift(c, snap, 1, it->e.roff, rgrow) != 0)
                goto written;
        }
        if (it->msplice &&
            cache_snap_shift(c, snap, 0, it->e.moff, (int64_t)json_slot_len(it->mjson.len) - it->e.mlen) != 0)
            goto written;
    }
    elapsed_off += (long)rgrow;
    close(mfd);
    if (rfd >= 0)
        close(rfd);
    mfd = rfd = -1;
    char ts[64];
    clock_iso_utc(clock_epoch(), ts, sizeof ts);
    const char *inv = dbt_invocation_id(s.dbt);
    if (fastpath_patch_manifest(sb_cstr(&mpath), ts, inv) != 0 ||
        (compile && fastpath_patch_results(sb_cstr(&rpath), elapsed_off, ts, inv, t0) != 0))
        goto written;
    /* inputs first (the model files, the directories), then outputs */
    const char *paths[3 * DELTA_MAX];
    size_t np = 0;
    for (size_t k = 0; k < nch; k++)
        paths[np++] = items[k].abs;
    for (size_t k = 0; k < ndirs; k++)
        paths[np++] = dirs[k];
    size_t nin = np;
    for (size_t k = 0; k < nch && compile; k++)
        paths[np++] = items[k].out_abs;
    if (cache_snap_record(c, snap, started, paths, NULL, np, nin) != 0 || cache_snap_refresh(c, snap) != 0)
        goto written;
    cache_snap_settle(c, snap);
    if (f->debug)
        fprintf(stderr, "cdbt cache: %zu model file(s) changed; recompiled alone, their entries rewritten in place\n",
                nch);
    console_line(f, "Found %s", found);
    if (compile)
        console_line(f, "Compiled %d nodes in %.3fs (%d ok, 0 error, 0 skipped)", nodes, clock_epoch() - t0, nok);
    else
        console_line(f, "Performance info: parsed %d nodes in %.3fs", nodes, clock_epoch() - t0);
    rc = EXIT_OK;
    goto out;
written:
    /* something was rewritten: the heads no longer match the snapshot, so
     * the full run the caller does now rewrites everything */
    why = "writing failed";
out:
    if (rc != EXIT_OK && f->debug)
        fprintf(stderr, "cdbt cache: no delta compile (%s)\n", why);
    if (opened) {
        journal_stop();
        session_close(&s);
    }
    diag_clear(&err);
    if (mfd >= 0)
        close(mfd);
    if (rfd >= 0)
        close(rfd);
    for (size_t k = 0; k < DELTA_MAX; k++) {
        sb_free(&items[k].mjson);
        sb_free(&items[k].rjson);
    }
    sb_free(&mpath);
    sb_free(&rpath);
    arena_free(&a);
    return rc;
}
