/* cmd_compile.c - `cdbt compile`: render every selected node to SQL.
 *
 * Needs no database: is_incremental() is false and introspection returns
 * nothing.  Writes target/compiled/<pkg>/<path> for each compiled node,
 * manifest.json (with compiled code) and run_results.json.  Prints the SQL
 * of every node whose name appears in --select, or of --inline SQL.  A node
 * that fails to compile is an error (exit 1) and its descendants are skipped;
 * project errors (YAML, template syntax, missing refs, cycles) exit 2. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "console.h"
#include "results.h"
#include "../base/fswriter.h"
#include "../base/hash.h"
#include "../base/journal.h"
#include "../dbt/manifest.h"
#include "../cache/cache.h"

static const int kCompileTypes[] = {RT_MODEL, RT_TEST, RT_ANALYSIS, RT_SNAPSHOT, -1};

static bool named_in_select(const Flags *f, const char *name)
{
    for (int i = 0; i < f->nselect; i++) {
        const char *sel = f->select[i];
        size_t n = strlen(name);
        /* the select value may hold several space-separated words */
        for (const char *p = sel; (p = strstr(p, name)) != NULL; p += n) {
            bool start = p == sel || p[-1] == ' ';
            bool end = p[n] == '\0' || p[n] == ' ';
            if (start && end)
                return true;
        }
    }
    return false;
}

static int compile_inline(Session *s, Flags *f)
{
    Diag err = {0};
    const char *sql = NULL;
    if (dbt_compile_inline(s->dbt, f->inline_sql, &sql, &err) != 0) {
        cli_print_diag(&err);
        diag_clear(&err);
        return EXIT_NODE_FAILURE;
    }
    if (!f->quiet)
        console_line(f, "Compiled inline node is:");
    printf("%s\n", sql);
    return EXIT_OK;
}

typedef struct WriteFail { Session *s; RunResults *rr; } WriteFail;

static void write_failed(void *ud, void *tag, const char *path, int e)
{
    WriteFail *wf = ud;
    NodeResult *nr = &wf->rr->items[(intptr_t)tag];
    Diag err = {0};
    diag_set(&err, path, 0, 0, NULL, "cannot write compiled SQL: %s", strerror(e));
    cli_print_diag(&err);
    Sb msg = SB_INIT;
    diag_format(&err, &msg);
    nr->message = arena_strdup(&wf->s->arena, sb_cstr(&msg));
    nr->status = "error";
    sb_free(&msg);
    diag_clear(&err);
}

/* manifest.json, on a thread of its own while run_results.json is written. */
typedef struct ManifestJob {
    ManifestWriter *mw;          /* begun during the compile, or NULL */
    Project *p;
    const char *invocation_id, *path;
    int old;                     /* the replaced file, held open (fs_hold) */
    int rc;
    Diag err;
} ManifestJob;

static void *manifest_job(void *arg)
{
    ManifestJob *j = arg;
    j->rc = j->mw ? manifest_finish(j->mw, &j->err) : manifest_write(j->p, j->invocation_id, j->path, &j->err);
    return NULL;
}

/* ---------------------------------------------------------------- tests kept after macro edits
 *
 * A compile that stores a snapshot also stores a key over every macro's
 * name and file ("M<hex>"), one over every node's relation ("R<hex>"), the
 * files of the user macros its tests' compiles called ("T<path>"), after the
 * info lines, and the tests' compiled code.  When the next identical
 * compile finds that only files of macros changed since
 * (fastpath_macro_hint), and
 *   - the macros are the same by name and file (every name a render looks
 *     up resolves as before; bodies and arguments may differ),
 *   - no changed file holds a macro a test's compile called then,
 *   - and no changed file holds a macro this run's parse called, or every
 *     relation is what it was (a test's compile sees its parents only
 *     through the relations ref() and source() render),
 * then a test without an ephemeral dependency compiles to the code the
 * snapshot kept: its render would call the same macros with the same
 * inputs.  Models are compiled as always; the compiled files still go
 * through the writer's stat and digest check. */

static bool listed(const char *const *v, size_t n, const char *x)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], x) == 0)
            return true;
    return false;
}

/* What a compile after an edit of macro files alone takes from the last
 * one (tests_reusable). */
typedef struct KeptTests {
    const char **code;           /* by node index: the test's compiled code then, or NULL */
    const char **prev;           /* the macro files the last compile's tests called (to store again) */
    size_t nprev;
    size_t nentries;             /* tests in the stored blob */
    size_t len;                  /* its length */
    const uint8_t *digest;       /* and digest */
    bool in_order;               /* its entries are this project's tests, in node order */
} KeptTests;

/* The tests' compiled code as a snapshot keeps it: "<unique_id>\0<code>\0"
 * per compiled test (a code holding a NUL byte is left out). */
static bool kept_test(const Node *n)
{
    return n->rt == RT_TEST && n->compiled && n->compiled_code &&
           !memchr(n->compiled_code, '\0', node_compiled_len(n));
}

/* The chunks of that blob, made from the nodes as the store asks for them
 * (the blob itself would be the run's peak of memory). */
typedef struct TestChunks {
    Project *p;
    int node;                    /* next node to look at */
    const char *part[2]; size_t left[2];   /* what is left of the current test's two strings (with their NULs) */
} TestChunks;

static size_t test_chunk(void *ud, char *buf, size_t cap)
{
    TestChunks *t = ud;
    size_t n = 0;
    while (n < cap) {
        int k = t->left[0] ? 0 : t->left[1] ? 1 : -1;
        if (k < 0) {
            while (t->node < t->p->nnodes && !kept_test(t->p->nodes[t->node]))
                t->node++;
            if (t->node >= t->p->nnodes)
                break;
            const Node *nd = t->p->nodes[t->node++];
            t->part[0] = nd->unique_id;
            t->left[0] = strlen(nd->unique_id) + 1;
            t->part[1] = nd->compiled_code;
            t->left[1] = node_compiled_len(nd) + 1;
            continue;
        }
        size_t m = t->left[k] < cap - n ? t->left[k] : cap - n;
        memcpy(buf + n, t->part[k], m);
        t->part[k] += m;
        t->left[k] -= m;
        n += m;
    }
    return n;
}

/* The chunks' length and digest (SHA-256 over each test's own digest), or
 * those of the blob stored (same: when every test kept its code from it, in
 * its order, the chunks are that blob). */
static void tests_chunks(Project *p, TestChunks *t, CacheChunks *out, const KeptTests *same)
{
    memset(t, 0, sizeof *t);
    t->p = p;
    memset(out, 0, sizeof *out);
    out->next = test_chunk;
    out->ud = t;
    if (same) {
        out->len = same->len;
        memcpy(out->digest, same->digest, 32);
        return;
    }
    size_t nt = 0;
    for (int i = 0; i < p->nnodes; i++)
        nt += kept_test(p->nodes[i]);
    uint8_t *dgs = xmalloc(32 * (nt ? nt : 1));
    size_t k = 0;
    Sb one = SB_INIT;
    for (int i = 0; i < p->nnodes; i++) {
        const Node *n = p->nodes[i];
        if (!kept_test(n))
            continue;
        size_t ul = strlen(n->unique_id) + 1, cl = node_compiled_len(n) + 1;
        out->len += ul + cl;
        sb_reset(&one);
        sb_append(&one, n->unique_id, ul);
        sb_append(&one, n->compiled_code, cl);
        sha256(one.buf, one.len, dgs + 32 * k++);
    }
    sb_free(&one);
    sha256(dgs, 32 * k, out->digest);
    free(dgs);
}

/* The two keys a compile stores for the next one, as hex: over every
 * macro's unique_id and file (the names a render can look up), and over
 * every node's relation (what a test's ref() or source() renders). */
typedef struct RunKeys { char names[65], rels[65]; } RunKeys;

static void keys_now(Project *p, RunKeys *out)
{
    Sb b = SB_INIT;
    uint8_t k[32];
    for (int i = 0; i < p->nmacros; i++) {
        const MacroDef *m = p->macros[i];
        sb_printf(&b, "%s\x1f%s\x1e", m->unique_id ? m->unique_id : "", m->original_file_path ? m->original_file_path : "");
    }
    sha256(b.buf ? b.buf : "", b.len, k);
    hash_hex(k, sizeof k, out->names);
    sb_reset(&b);
    for (int i = 0; i < p->nnodes; i++) {
        const Node *n = p->nodes[i];
        if (n->rt != RT_MODEL && n->rt != RT_SEED && n->rt != RT_SNAPSHOT && n->rt != RT_SOURCE)
            continue;
        sb_printf(&b, "%s\x1f%s\x1f%d\x1e", n->unique_id, n->relation_name ? n->relation_name : "-",
                  node_is_ephemeral(n));
    }
    sha256(b.buf ? b.buf : "", b.len, k);
    hash_hex(k, sizeof k, out->rels);
    sb_free(&b);
}

/* Can the tests keep their compiled code?  Fills *k (in s's arena; the
 * codes point into the blob fastpath_macro_hint keeps). */
static bool tests_reusable(Session *s, const RunKeys *keys, KeptTests *k, const char **why)
{
    const char *const *changed;
    size_t nchanged;
    const char *extra;
    const char *tests;
    size_t ntests;
    memset(k, 0, sizeof *k);
    *why = NULL;
    if (!s->traced || !fastpath_macro_hint(&changed, &nchanged, &extra, &tests, &ntests, &k->digest, why))
        return false;
    bool same_names = false, same_rels = false;
    size_t cap = 0;
    for (const char *l = extra; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (l[0] == 'M')
            same_names = len == 65 && memcmp(l + 1, keys->names, 64) == 0;
        else if (l[0] == 'R')
            same_rels = len == 65 && memcmp(l + 1, keys->rels, 64) == 0;
        else if (l[0] == 'T' && len > 1) {
            if (k->nprev == cap) {
                cap = cap ? cap * 2 : 16;
                const char **nv = arena_zalloc(&s->arena, sizeof *nv * cap);
                if (k->nprev)
                    memcpy(nv, k->prev, sizeof *nv * k->nprev);
                k->prev = nv;
            }
            k->prev[k->nprev++] = arena_strndup(&s->arena, l + 1, len - 1);
        }
        l += len + (nl ? 1 : 0);
    }
    if (!same_names) {
        *why = "a macro was added, removed or renamed";
        return false;
    }
    for (size_t i = 0; i < nchanged; i++) {
        if (listed(k->prev, k->nprev, changed[i])) {
            *why = "the tests call a macro of a changed file";
            return false;
        }
        if (listed(s->parse_macro_files, s->nparse_macro_files, changed[i]) && !same_rels) {
            *why = "the parse called a macro of a changed file and a relation changed";
            return false;
        }
    }
    /* The blob's entries ("<unique_id>\0<code>\0") are in the node order of
     * the compile that stored them: matched against the tests in order, by
     * unique_id through a map only from the first that differs. */
    Project *p = s->project;
    k->code = arena_zalloc(&s->arena, sizeof *k->code * (size_t)(p->nnodes + 1));
    k->len = ntests;
    StrMap rest;
    strmap_init(&rest);
    bool mapped = false;
    size_t at = 0;
    int i = 0;
    k->in_order = true;
    for (; at < ntests; k->nentries++) {
        const char *uid = tests + at;
        size_t ul = strlen(uid);
        if (at + ul + 1 >= ntests)
            break;
        const char *code = uid + ul + 1;
        at += ul + 1 + strlen(code) + 1;
        if (!mapped) {
            while (i < p->nnodes && p->nodes[i]->rt != RT_TEST)
                i++;
            if (i < p->nnodes && strcmp(p->nodes[i]->unique_id, uid) == 0) {
                k->code[i++] = code;
                continue;
            }
            mapped = true;
            k->in_order = false;
        }
        strmap_put(&rest, uid, ul, (void *)code);
    }
    if (at != ntests)
        k->in_order = false;            /* (a torn blob: its tail is not used) */
    for (; mapped && i < p->nnodes; i++)
        if (p->nodes[i]->rt == RT_TEST)
            k->code[i] = strmap_getz(&rest, p->nodes[i]->unique_id);
    strmap_free(&rest);
    return true;
}

static bool ephemeral_dep(Project *p, const Node *n)
{
    for (int i = 0; i < n->ndep_nodes; i++) {
        Node *t = project_node(p, n->dep_nodes[i]);
        if (!t || node_is_ephemeral(t))
            return true;
    }
    return false;
}

/* The whole-project snapshot (fastpath.c): outputs are manifest.json,
 * run_results.json and every compiled file.  Its first part is done while
 * manifest.json and run_results.json are still being written. */
typedef struct SnapStore {
    const char **out;
    const FsStamp **ost;
    const uint8_t **odg;
    size_t n;
    TestChunks tcs;
    CacheChunks tc;
    bool tests;                  /* tc holds the tests' chunks */
    FastpathPrep *prep;
} SnapStore;

/* keys: keys_now's, or NULL; same: the tests' blob stored is this run's. */
static void snapshot_prepare(Session *s, const RunResults *rr, const FsStamp *wst, const uint8_t (*wdg)[FS_DIGEST_LEN],
                             const RunKeys *keys, const KeptTests *same, SnapStore *st)
{
    memset(st, 0, sizeof *st);
    if (!journal_active())
        return;
    Project *p = s->project;
    st->out = arena_zalloc(&s->arena, sizeof *st->out * ((size_t)rr->n + 2));
    st->ost = arena_zalloc(&s->arena, sizeof *st->ost * ((size_t)rr->n + 2));
    st->odg = arena_zalloc(&s->arena, sizeof *st->odg * ((size_t)rr->n + 2));
    const char *target = session_target_dir(s);
    st->out[st->n++] = arena_sprintf(&s->arena, "%s/manifest.json", target);
    st->out[st->n++] = arena_sprintf(&s->arena, "%s/run_results.json", target);
    for (int r = 0; r < rr->n; r++) {
        const Node *nd = rr->items[r].node;
        if (!nd->compiled || !nd->compiled_path)
            continue;
        st->ost[st->n] = &wst[nd->index];
        st->odg[st->n] = wdg && wst[nd->index].nlink ? wdg[nd->index] : NULL;
        st->out[st->n++] = nd->compiled_path;      /* absolute, or relative to the project root */
    }
    if (keys) {
        tests_chunks(p, &st->tcs, &st->tc, same);
        st->tests = true;
    }
    st->prep = fastpath_store_prepare(s, p->root, st->out, st->ost, st->odg, st->n, 2);
}

static void snapshot_store(Session *s, const RunResults *rr, int nok, const JsonSlot *mslots, const RunKeys *keys,
                           const char *const *tfiles, size_t ntfiles, SnapStore *st)
{
    /* where the elapsed_time a reuse rewrites sits (results_write noted it) */
    long off = rr->elapsed_offset;
    if (!journal_active() || off <= 0 || !st->out) {
        fastpath_prep_free(st->prep);
        return;
    }
    Project *p = s->project;
    char found[512];
    console_found_text(p, found, sizeof found);
    Sb ib = SB_INIT;
    sb_printf(&ib, "%s\n%d\n%d\n%ld", found, rr->n, nok, off);
    if (keys) {
        sb_printf(&ib, "\nM%s\nR%s\n", keys->names, keys->rels);
        for (size_t i = 0; i < ntfiles; i++)
            sb_printf(&ib, "T%s\n", tfiles[i]);
    }
    const char *info = arena_strdup(&s->arena, sb_cstr(&ib));
    sb_free(&ib);
    /* the node table (manifest.json's and run_results.json's slots) */
    DeltaTableArgs nodes = {p, mslots, NULL};
    if (mslots && rr->slots) {
        JsonSlot *rslots = arena_zalloc(&s->arena, sizeof *rslots * (size_t)(p->nnodes + 1));
        for (int r = 0; r < rr->n; r++)
            if (rr->items[r].node->index >= 0)
                rslots[rr->items[r].node->index] = rr->slots[r];
        nodes.rslots = rslots;
    }
    fastpath_store(s, p->root, st->out, st->ost, st->odg, st->n, 2, info,
                   nodes.rslots && value_shared_changes() == 0 ? delta_node_table_build : NULL, &nodes,
                   st->tests ? &st->tc : NULL, st->prep);
    st->prep = NULL;
}

int cmd_compile(Flags *f)
{
    Session s;
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    int rc = fastpath_try(f);
    if (rc >= 0)
        return rc;
    fastpath_begin(f);
    rc = session_open(&s, f, true);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    console_found(f, s.project);
    if (f->inline_sql) {
        rc = compile_inline(&s, f);
        if (rc == EXIT_OK)
            rc = session_write_manifest(&s);
        session_close(&s);
        return rc;
    }
    Project *p = s.project;
    bool *sel = arena_zalloc(&s.arena, sizeof(bool) * (size_t)(p->nnodes + 1));
    rc = session_select(&s, kCompileTypes, sel);
    if (rc == EXIT_OK)
        rc = session_defer(&s, sel);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    bool *failed = arena_zalloc(&s.arena, sizeof(bool) * (size_t)(p->nnodes + 1));
    /* compiled files are written by a second thread while this one renders;
     * their stat is kept only for a run that may store a snapshot */
    FsStamp *wst = journal_active() ? arena_zalloc(&s.arena, sizeof *wst * (size_t)(p->nnodes + 1)) : NULL;
    /* and the digest of what each holds: the next full compile of this
     * command line then need not read those whose stat is unchanged
     * (fastpath_oracle, found by fastpath_try) */
    uint8_t (*wdg)[FS_DIGEST_LEN] = wst ? arena_zalloc(&s.arena, sizeof *wdg * (size_t)(p->nnodes + 1)) : NULL;
    FsWriter *fw = fs_writer_start(fastpath_oracle());
    /* With every node selected, nodes change only while the loop below
     * compiles them (an unselected ephemeral could be compiled later, by a
     * child): manifest.json is then written beside the compile, each block
     * of nodes as soon as the loop is past all of them. */
    const char *mpath = arena_sprintf(&s.arena, "%s/manifest.json", session_target_dir(&s));
    bool all_selected = !f->no_write_json;
    for (int i = 0; i < p->nnodes && all_selected; i++)
        for (const int *t = kCompileTypes; *t >= 0 && all_selected; t++)
            all_selected = (int)p->nodes[i]->rt != *t || sel[i];
    /* where each model's value sits in the artifacts: a snapshot keeps it,
     * for recompiling one edited model alone (delta.c) */
    JsonSlot *mslots = journal_active() && all_selected ? arena_zalloc(&s.arena, sizeof *mslots * (size_t)(p->nnodes + 1)) : NULL;
    ManifestWriter *mw = all_selected ? manifest_begin(p, dbt_invocation_id(s.dbt), mpath, mslots) : NULL;
    unsigned long shared0 = value_shared_changes();
    RunResults rr = {0};
    rr.pad_models = true;
    rr.slots = mslots ? arena_zalloc(&s.arena, sizeof *rr.slots * (size_t)(p->nnodes + 1)) : NULL;
    rr.started_at = results_wallclock();
    int nerr = 0, nok = 0, nskip = 0;
    const char *no_reuse = NULL;
    KeptTests kt;
    RunKeys keys;                /* (identities are final once parsed) */
    if (s.traced)
        keys_now(p, &keys);
    bool reuse_tests = tests_reusable(&s, &keys, &kt, &no_reuse);
    int nreused = 0;
    for (int k = 0; k < s.graph->n; k++) {
        int i = s.graph->topo[k];
        Node *n = p->nodes[i];
        /* a failed upstream (even unselected ephemeral) taints descendants */
        bool upstream_failed = false;
        for (int j = 0; j < s.graph->nparents[i]; j++)
            upstream_failed |= failed[s.graph->parents[i][j]];
        if (upstream_failed)
            failed[i] = true;
        if (!sel[i]) {
            manifest_node_done(mw, n);
            continue;
        }
        NodeResult nr = {.node = n, .failures = -1};
        nr.started_at = results_wallclock();
        if (upstream_failed) {
            nr.status = "skipped";
            nr.message = "Skipping due to an upstream error";
            nskip++;
        } else {
            Diag err = {0};
            const char *kept = reuse_tests && n->rt == RT_TEST && !ephemeral_dep(p, n) ? kt.code[i] : NULL;
            bool reused = kept != NULL;
            if (reused)
                dbt_compile_reuse(s.dbt, n, kept);
            nreused += reused;
            if (!reused && dbt_compile_node(s.dbt, n, &err) != 0) {
                cli_print_diag(&err);
                Sb msg = SB_INIT;
                diag_format(&err, &msg);
                nr.message = arena_strdup(&s.arena, sb_cstr(&msg));
                sb_free(&msg);
                diag_clear(&err);
                nr.status = "error";
                failed[i] = true;
                nerr++;
            } else {
                nr.status = "success";
                nok++;
                Sb path = SB_INIT;
                /* (a kept test's file too: another program may have
                 * rewritten it in place, which only its own stat shows) */
                if (dbt_compiled_file(s.dbt, n, &path))
                    fs_writer_put(fw, sb_cstr(&path), n->compiled_code ? n->compiled_code : "",
                                  node_compiled_len(n), wst ? &wst[i] : NULL, wdg ? wdg[i] : NULL,
                                  (void *)(intptr_t)rr.n);
                sb_free(&path);
            }
        }
        nr.compiled_at = nr.completed_at = results_wallclock();
        results_add(&rr, nr);
        manifest_node_done(mw, n);
    }
    cli_phase("compile");
    if (f->debug && reuse_tests)
        fprintf(stderr, "cdbt cache: only macros the tests do not call changed: %d tests' compiled code kept\n",
                nreused);
    else if (f->debug && no_reuse)
        fprintf(stderr, "cdbt cache: macros changed; tests compiled again (%s)\n", no_reuse);
    /* the macro files the tests call, for the next run: those traced now,
     * and (when tests were kept) those their last compile called */
    const char **tfiles = NULL;
    size_t ntfiles = s.traced ? dbt_traced_files(s.dbt, &tfiles) : 0;
    if (reuse_tests && nreused && kt.nprev) {
        const char **u = arena_zalloc(&s.arena, sizeof *u * (ntfiles + kt.nprev + 1));
        memcpy(u, tfiles, sizeof *u * ntfiles);
        size_t nu = ntfiles;
        for (size_t i = 0; i < kt.nprev; i++)
            if (!listed(u, nu, kt.prev[i]))
                u[nu++] = kt.prev[i];
        tfiles = u;
        ntfiles = nu;
    }
    /* every test kept, in the order stored: the stored blob is this run's */
    bool tests_same = false;
    if (reuse_tests && kt.in_order && (size_t)nreused == kt.nentries) {
        size_t nkept = 0;
        for (int i = 0; i < p->nnodes; i++)
            nkept += kept_test(p->nodes[i]);
        tests_same = nkept == kt.nentries;
    }
    if (mw && value_shared_changes() != shared0) {
        /* a render changed a var, a global or a config value in place: the
         * entries written beside the compile may show it as it was before
         * (dbt writes the manifest after every node is compiled) */
        manifest_cancel(mw);
        mw = NULL;
    }
    /* manifest.json depends neither on the compiled files being on disk nor
     * on run_results.json: it is finished on a thread while this one waits
     * for the writer (creating 30,000 new files takes longer than rendering
     * them) and writes run_results.json.  The errors are printed in the
     * order they always were: write errors, manifest, run results. */
    int wrc = EXIT_OK;
    FsCloser *closer = fs_closer_start();
    ManifestJob mj = {.mw = mw, .p = p, .invocation_id = dbt_invocation_id(s.dbt), .path = mpath, .old = -1};
    pthread_t mth;
    bool mthread = false;
    if (!f->no_write_json) {
        mj.old = fs_hold(mpath);
        mthread = pthread_create(&mth, NULL, manifest_job, &mj) == 0;
        if (!mthread)
            manifest_job(&mj);
    }
    WriteFail wf = {&s, &rr};
    size_t vouched = 0;
    int nwerr = fs_writer_finish(fw, write_failed, &wf, &vouched);
    if (f->debug && fastpath_oracle())
        fprintf(stderr, "cdbt cache: %zu compiled files unchanged by their stat and digest (not read), of %zu known\n",
                vouched, cache_outputs_count(fastpath_oracle()->ud));
    fastpath_oracle_free();
    nerr += nwerr;
    nok -= nwerr;
    cli_phase("write (rest)");
    /* print the SQL of nodes named in --select */
    bool printed_header = false;
    for (int r = 0; r < rr.n; r++) {
        Node *n = rr.items[r].node;
        if (!n->compiled || !named_in_select(f, n->name))
            continue;
        if (!f->quiet) {
            if (!printed_header)
                putchar('\n');
            console_line(f, "Compiled node '%s' is:", n->name);
        }
        printf("%s\n", n->compiled_code);
        printed_header = true;
    }
    /* the snapshot's first part while manifest.json is being finished */
    SnapStore snap = {0};
    bool storable = !nerr && !nskip && !printed_header;
    if (storable)
        snapshot_prepare(&s, &rr, wst, wdg, s.traced ? &keys : NULL, tests_same ? &kt : NULL, &snap);
    Diag rerr = {0};
    int rrc = 0;
    if (!f->no_write_json) {
        const char *path = arena_sprintf(&s.arena, "%s/run_results.json", session_target_dir(&s));
        int old = fs_hold(path);
        rrc = results_write(&s, &rr, path, &rerr);
        fs_closer_add(closer, old);
        if (mthread)
            pthread_join(mth, NULL);
        fs_closer_add(closer, mj.old);
        cli_phase("manifest.json + run_results.json");
    }
    if (mj.rc != 0) {
        cli_print_diag(&mj.err);
        diag_clear(&mj.err);
        wrc = EXIT_PROJECT_ERROR;
    }
    if (rrc != 0) {
        cli_print_diag(&rerr);
        diag_clear(&rerr);
        wrc = EXIT_PROJECT_ERROR;
    }
    console_line(f, "Compiled %d nodes in %.3fs (%d ok, %d error, %d skipped)", rr.n, cli_now() - s.t_start,
                 nok, nerr, nskip);
    if (wrc == EXIT_OK && storable)
        snapshot_store(&s, &rr, nok, mw ? mslots : NULL, s.traced ? &keys : NULL, tfiles, ntfiles, &snap);
    else
        fastpath_prep_free(snap.prep);
    cli_phase("snapshot store");
    results_free(&rr);
    session_close(&s);
    fs_closer_finish(closer);
    if (nerr || nskip)
        return EXIT_NODE_FAILURE;
    return wrc;
}
