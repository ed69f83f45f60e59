/* dbt_parse.c - the parse pass (§3.1): render every SQL node with
 * execute=false and lenient undefined to capture config() calls, ref() and
 * source() calls; fold the in-file config (layer 4 of §1.4); move disabled
 * nodes out; compute database/schema/alias with generate_*_name (§2.3) and
 * relation_name; resolve refs and sources into depends_on (§2.5) and parents.
 * Generic tests render their kwargs natively first (§9.2), so the ref() in
 * `model` and in `to:` are recorded.
 *
 * The loader (src/project) has already created the nodes and folded layers
 * 1-3; compiling real SQL is dbt_compile.c. */
#include <ctype.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "dbtpriv.h"

#define KWARG_MAX_DEPTH 20

void dbt_error_prefix(Diag *err, Node *n)
{
    diag_prefix(err, "Compilation Error in %s %s (%s)\n  ", rt_name(n->rt), n->name,
                n->original_file_path ? n->original_file_path : "");
}

static const char *title_of(ResourceType rt)
{
    static const char *const titles[RT__COUNT] = {
        [RT_MODEL] = "Model", [RT_SEED] = "Seed", [RT_TEST] = "Test", [RT_SNAPSHOT] = "Snapshot",
        [RT_ANALYSIS] = "Analysis", [RT_SOURCE] = "Source", [RT_MACRO] = "Macro",
        [RT_OPERATION] = "Operation", [RT_UNIT_TEST] = "Unit test", [RT_EXPOSURE] = "Exposure",
    };
    return (unsigned)rt < RT__COUNT ? titles[rt] : "Node";
}

/* ---------------------------------------------------------------- generic test kwargs */

/* ^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$ (Python re, '.' excludes '\n') */
static bool wants_wrap(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    static const char *const fns[] = {"env_var", "ref", "var", "source", "doc"};
    size_t fl = 0;
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        size_t l = strlen(fns[k]);
        if (i + l <= n && memcmp(s + i, fns[k], l) == 0) {
            fl = l;
            break;
        }
    }
    if (!fl)
        return false;
    i += fl;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i >= n || s[i] != '(')
        return false;
    size_t open = i, end = n;
    while (end > open && isspace((unsigned char)s[end - 1]))
        end--;
    /* the last ')' such that only whitespace follows; '.+' forbids newlines */
    if (end == 0 || s[end - 1] != ')' || end - 1 < open + 2)
        return false;
    for (size_t k = open + 1; k < end - 1; k++)
        if (s[k] == '\n')
            return false;
    return true;
}

static int render_kwarg(DbtCtx *c, Interp *I, Value v, bool top, int depth, Value *out)
{
    if (depth > KWARG_MAX_DEPTH)
        return interp_error(I, "test arguments nested too deeply");
    Arena *a = c->a;
    if (v.type == V_STR) {
        const char *s = v.u.s->s;
        size_t n = v.u.s->len;
        if (top && wants_wrap(s, n)) {
            char *w = arena_sprintf(a, "{{ %s }}", s);
            return dbt_render_string(c, I, w, strlen(w), true, out);
        }
        return dbt_render_string(c, I, s, n, true, out);
    }
    if (v.type == V_LIST) {
        Value l = v_list(a, v.u.l->len);
        for (size_t i = 0; i < v.u.l->len; i++) {
            Value x;
            if (render_kwarg(c, I, v.u.l->items[i], false, depth + 1, &x) != 0)
                return -1;
            list_append(a, l.u.l, x);
        }
        *out = l;
        return 0;
    }
    if (v.type == V_DICT) {
        Value d = v_dict(a);
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);) {
            Value x;
            if (render_kwarg(c, I, e->val, false, depth + 1, &x) != 0)
                return -1;
            dict_set(a, d.u.d, e->key, x);
        }
        *out = d;
        return 0;
    }
    *out = v;
    return 0;
}

/* Render n->test_kwargs natively into c->test_kwargs: column_name as is,
 * every other argument in order, `model` last (dbt's ref order). */
int dbt_test_kwargs(DbtCtx *c, Interp *I)
{
    Arena *a = c->a;
    Value res = v_dict(a);
    VDictEntry *e;
    Value *model = NULL;
    if (c->n->test_kwargs) {
        for (size_t it = 0; dict_next(c->n->test_kwargs, &it, &e);)
            dict_set(a, res.u.d, e->key, e->val);
        for (size_t it = 0; dict_next(c->n->test_kwargs, &it, &e);) {
            const char *k = value_cstr(e->key);
            if (k && strcmp(k, "column_name") == 0)
                continue;
            if (k && strcmp(k, "model") == 0) {
                model = &e->val;
                continue;
            }
            Value x;
            if (render_kwarg(c, I, e->val, true, 0, &x) != 0)
                return -1;
            dict_set(a, res.u.d, e->key, x);
        }
        if (model) {
            Value x;
            if (render_kwarg(c, I, *model, true, 0, &x) != 0)
                return -1;
            dict_setz(a, res.u.d, "model", x);
        }
    }
    c->test_kwargs = res;
    return 0;
}

/* ---------------------------------------------------------------- one node */

static DbtMacro *test_macro(Dbt *d, Node *n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "test_%s", n->test_name ? n->test_name : "");
    if (n->test_namespace)
        return dbt_macro_in(d, dbt_pkg_slot(d, n->test_namespace), buf);
    return dbt_macro_lookup_from(d, dbt_node_slot(d, n), buf);
}

static void add_dep_macro(Arena *a, Node *n, const char *uid)
{
    for (int i = 0; i < n->ndep_macros; i++)
        if (strcmp(n->dep_macros[i], uid) == 0)
            return;
    const char **nd = ARENA_ARRAY(a, const char *, n->ndep_macros + 1);
    if (n->ndep_macros)
        memcpy(nd, n->dep_macros, sizeof *nd * (size_t)n->ndep_macros);
    nd[n->ndep_macros++] = uid;
    n->dep_macros = nd;
}

static const char *dup_opt(Arena *a, const char *s) { return s ? arena_strdup(a, s) : NULL; }

/* ---------------------------------------------------------------- the helper thread */

/* What a parse render changes on its node: saved before the helper renders
 * one, put back when that render must be done again on the main thread (or
 * must not have happened: a node after the first error). */
typedef struct NodeParsed {
    VDict *config, *unrendered_config, *meta;
    VList *tags;
    NodeRef *refs;
    NodeSrcRef *sources;
    const char **dep_macros;
    int nrefs, nsources, ndep_macros;
    bool text_seen;
    const MacroDef **parse_macros;
    int nparse_macros;
    const char **parse_vars;
    int nparse_vars;
    bool src_unset;              /* n->src was initialised by the render */
} NodeParsed;

enum { LANE_NONE, LANE_DONE, LANE_REDO };

struct ParseLane {
    Dbt *d;
    Arena scratch;               /* the helper's d->scratch */
    Arena keep;                  /* the helper's project arena: adopted by it after the join */
    StrMap calls;                /* the helper's config_merge_call memo */
    bool refused;                /* the render in progress did what only the main thread does */
    /* The work: todo[lo..hi) is unclaimed.  The main thread claims from the
     * front and renders in node order, exactly as the one-thread pass does;
     * the helper claims from the back.  Under mu. */
    pthread_mutex_t mu;
    Node **todo;
    int lo, hi;
    bool stop;                   /* the helper is to stop (also read atomically between its nodes) */
    /* The helper's results by todo index: written by it, read after the join. */
    unsigned char *state;        /* LANE_* */
    NodeParsed *before;
    pthread_t th;
    bool running;                /* started, not yet joined */
    bool aborted;                /* the main thread changed a shared value: no helper result stands */
};

static void node_save(const Node *n, NodeParsed *s)
{
    s->config = n->config;
    s->unrendered_config = n->unrendered_config;
    s->meta = n->meta;
    s->tags = n->tags;
    s->refs = n->refs;
    s->sources = n->sources;
    s->dep_macros = n->dep_macros;
    s->nrefs = n->nrefs;
    s->nsources = n->nsources;
    s->ndep_macros = n->ndep_macros;
    s->text_seen = n->parse_text_seen;
    s->parse_macros = n->parse_macros;
    s->nparse_macros = n->nparse_macros;
    s->parse_vars = n->parse_vars;
    s->nparse_vars = n->nparse_vars;
    s->src_unset = !n->src.text;
}

static void node_restore(Node *n, const NodeParsed *s)
{
    n->config = s->config;
    n->unrendered_config = s->unrendered_config;
    n->meta = s->meta;
    n->tags = s->tags;
    n->refs = s->refs;
    n->sources = s->sources;
    n->dep_macros = s->dep_macros;
    n->nrefs = s->nrefs;
    n->nsources = s->nsources;
    n->ndep_macros = s->ndep_macros;
    n->parse_text_seen = s->text_seen;
    n->parse_macros = s->parse_macros;
    n->nparse_macros = s->nparse_macros;
    n->parse_vars = s->parse_vars;
    n->nparse_vars = s->nparse_vars;
    if (s->src_unset) {
        srcfile_free(&n->src);
        memset(&n->src, 0, sizeof n->src);
    }
}

int dbt_lane_refuse(Interp *I, ParseLane *ln, const char *what)
{
    ln->refused = true;
    return interp_error(I, "%s() runs on the main thread only", what);
}

/* The helper's value fence: a change of a shared value is refused (the node
 * is rendered again on the main thread, after the join). */
static int lane_fence(void *ud)
{
    ((ParseLane *)ud)->refused = true;
    return -1;
}

static void lane_join(ParseLane *ln)
{
    if (!ln->running)
        return;
    pthread_mutex_lock(&ln->mu);
    __atomic_store_n(&ln->stop, true, __ATOMIC_RELAXED);   /* also read between the nodes of a claim */
    pthread_mutex_unlock(&ln->mu);
    pthread_join(ln->th, NULL);
    ln->running = false;
}

/* The main thread's value fence: it is about to change a value the helper
 * may be reading (a var, a global, a config).  The one-thread pass lets
 * later nodes see that change, so the helper stops here and none of its
 * results is kept: every node after this one is rendered on the main thread. */
static int main_fence(void *ud)
{
    ParseLane *ln = ud;
    lane_join(ln);
    ln->aborted = true;
    value_fence_set(NULL, NULL, NULL);
    return 0;
}

/* A config() argument that is not plain data (a relation, a macro, a
 * namespace) keeps pointers into the render arena; the helper's is freed
 * at the end rather than reused, so such nodes are left to the main thread. */
static bool capture_plain(const DbtCtx *c)
{
    for (size_t i = 0; i < c->config_calls->len; i++)
        if (!value_plain(c->config_calls->items[i]))
            return false;
    return true;
}

static void apply_capture(Dbt *d, ParseLane *ln, Node *n, DbtCtx *c)
{
    Project *p = d->p;
    Arena *pa = ln ? &ln->keep : &p->arena;
    if (ln && c->config_calls->len) {
        /* a merge may change the node's dicts in place: the helper merges
         * into views of them, so that node_restore() undoes everything */
        if (n->config)
            n->config = dict_cow(pa, n->config);
        if (n->unrendered_config)
            n->unrendered_config = dict_cow(pa, n->unrendered_config);
    }
    bool layer5 = c->config_calls->len && n->config_pkg;
    if (layer5) {
        /* a package node: its config() calls go over layers 1-3, and the
         * root project's tree over them again (§1.4 layer 5) */
        n->config = dict_cow(pa, n->config_pkg);
        n->unrendered_config = n->unrendered_pkg ? dict_cow(pa, n->unrendered_pkg) : NULL;
    }
    for (size_t i = 0; i < c->config_calls->len; i++) {
        VDict *call = c->config_calls->items[i].u.d;
        if (!n->config)
            n->config = v_dict(pa).u.d;
        n->config = ln ? config_merge_call_in(pa, &ln->calls, n->config, call)
                       : config_merge_call(p, n->config, call);
        if (n->unrendered_config)
            n->unrendered_config = ln ? config_merge_call_in(pa, &ln->calls, n->unrendered_config, call)
                                      : config_merge_call(p, n->unrendered_config, call);
    }
    if (layer5) {
        n->config = dict_cow(pa, n->config);
        if (n->unrendered_config)
            n->unrendered_config = dict_cow(pa, n->unrendered_config);
        config_apply_root(p, pa, n->rt, n->fqn, n->nfqn, n->config, n->unrendered_config);
    }
    if (c->config_calls->len && n->config) {
        Value *t = dict_getz(n->config, "tags");
        if (t && t->type == V_LIST)
            n->tags = t->u.l;
        Value *m = dict_getz(n->config, "meta");
        if (m && m->type == V_DICT)
            n->meta = m->u.d;
    }
    if (c->refs.len) {
        NodeRef *r = ARENA_ARRAY(pa, NodeRef, n->nrefs + (int)c->refs.len);
        if (n->nrefs)
            memcpy(r, n->refs, sizeof *r * (size_t)n->nrefs);
        for (size_t i = 0; i < c->refs.len; i++) {
            NodeRef *x = &r[n->nrefs + (int)i];
            x->name = dup_opt(pa, c->refs.items[i].name);
            x->package = dup_opt(pa, c->refs.items[i].package);
            x->version = dup_opt(pa, c->refs.items[i].version);
        }
        n->refs = r;
        n->nrefs += (int)c->refs.len;
    }
    if (c->srcs.len) {
        NodeSrcRef *r = ARENA_ARRAY(pa, NodeSrcRef, n->nsources + (int)c->srcs.len);
        if (n->nsources)
            memcpy(r, n->sources, sizeof *r * (size_t)n->nsources);
        for (size_t i = 0; i < c->srcs.len; i++) {
            r[n->nsources + (int)i].source = dup_opt(pa, c->srcs.items[i].source);
            r[n->nsources + (int)i].table = dup_opt(pa, c->srcs.items[i].table);
        }
        n->sources = r;
        n->nsources += (int)c->srcs.len;
    }
}

static bool has_jinja(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#'))
            return true;
    return false;
}

/* Hooks' ref()/source() calls are dependencies too (§2.6): render each hook
 * text of the folded config at parse time to record them. */
static int parse_hooks(Dbt *d, ParseLane *ln, Node *n, DbtParseRec *rec, Diag *err)
{
    static const char *const keys[] = {"pre-hook", "post-hook"};
    Arena *sa = ln ? &ln->scratch : &d->scratch;
    DbtCtx c;
    int rc = 0;
    bool any = false;
    dbt_ctx_init(&c, d, n, DBT_PARSE, sa);
    c.lane = ln;
    c.rec = rec;
    for (int k = 0; k < 2 && rc == 0; k++) {
        Value *h = n->config ? dict_getz(n->config, keys[k]) : NULL;
        if (!h || (h->type != V_LIST && h->type != V_STR))
            continue;
        size_t cnt = h->type == V_LIST ? h->u.l->len : 1;
        for (size_t i = 0; i < cnt && rc == 0; i++) {
            Value x = h->type == V_LIST ? h->u.l->items[i] : *h;
            if (x.type == V_DICT) {
                Value *sq = dict_getz(x.u.d, "sql");
                x = sq ? *sq : v_none();
            }
            if (x.type != V_STR || !has_jinja(x.u.s->s, x.u.s->len))
                continue;
            SrcFile *f = ARENA_NEW(sa, SrcFile);
            srcfile_init(f, n->original_file_path, x.u.s->s, x.u.s->len);
            Template *t = tpl_parse(sa, f, err);
            Sb sb = SB_INIT;
            Interp *I = t ? dbt_interp(&c, err) : NULL;
            if (!t)
                rc = -1;
            else if (tpl_render(I, t, &sb) != 0)
                rc = -1;
            if (I && interp_text_seen(I))
                n->parse_text_seen = true;
            sb_free(&sb);
            srcfile_free(f);
            any = true;
        }
    }
    c.config_calls->len = 0;              /* config() inside hooks has no effect */
    if (rc == 0 && any)
        apply_capture(d, ln, n, &c);
    dbt_ctx_fini(&c);
    return rc;
}

/* Parse-time render of one node, on the main thread (ln NULL) or the helper. */
static int parse_node(Dbt *d, ParseLane *ln, Node *n, Diag *err)
{
    Project *p = d->p;
    Arena *sa = ln ? &ln->scratch : &d->scratch;
    Arena *keep = ln ? &ln->keep : &p->arena;
    int rc = -1;
    Sb sb = SB_INIT;
    arena_reset(sa);
    DbtCtx c;
    dbt_ctx_init(&c, d, n, DBT_PARSE, sa);
    c.lane = ln;
    DbtParseRec rec = {.keep = keep};
    if (d->opt.record_macros)
        c.rec = &rec;
    n->nrefs = n->nsources = n->ndep_macros = 0;
    n->parse_text_seen = false;
    n->parse_macros = NULL;
    n->nparse_macros = 0;
    n->parse_vars = NULL;
    n->nparse_vars = 0;
    /* The tree is parsed into the scratch arena and dropped with it: keeping
     * every node's tree alive costs several KB per node (most of the memory
     * of a large project); the compile pass parses again, one node at a time. */
    Template *tpl = n->tpl;
    bool fast = false;           /* dbt's unique / not_null: recorded, not rendered */
    DbtMacro *tm = NULL;
    Node *target = NULL;
    if (n->is_generic_test) {
        tm = test_macro(d, n);
        target = n->attached_node ? project_node(p, n->attached_node) : NULL;
        fast = tm && tm->pkg == DBT_PKG_DBT && n->test_name &&
               (strcmp(n->test_name, "not_null") == 0 || strcmp(n->test_name, "unique") == 0) && target;
    }
    if (!tpl && !fast) {         /* a fast test's generated code is never looked at here */
        if (!n->src.text)
            srcfile_init(&n->src, n->original_file_path, n->raw_code ? n->raw_code : "", n->raw_len);
        tpl = tpl_parse(sa, &n->src, err);
        if (!tpl)
            goto fail;
    }
    if (n->is_generic_test) {
        if (tm)
            add_dep_macro(keep, n, tm->unique_id);
        DbtMacro *gws = dbt_macro_lookup_from(d, dbt_node_slot(d, n), "get_where_subquery");
        if (gws)
            add_dep_macro(keep, n, gws->unique_id);
        if (fast) {
            /* dbt skips rendering these two and records the tested node directly */
            if (target->rt == RT_SOURCE) {
                NodeSrcRef s = {target->source_name, target->name};
                vec_push(&c.srcs, s);
            } else {
                NodeRef r = {target->name, NULL, target->version ? target->version->vtext : NULL};
                vec_push(&c.refs, r);
            }
        } else {
            Interp *I = dbt_interp(&c, err);
            if (dbt_test_kwargs(&c, I) != 0 || tpl_render(I, tpl, &sb) != 0)
                goto fail;
            n->parse_text_seen = interp_text_seen(I);
        }
    } else {
        Interp *I = dbt_interp(&c, err);
        if (tpl_render(I, tpl, &sb) != 0)
            goto fail;
        n->parse_text_seen = interp_text_seen(I);
        const char **names = NULL;
        size_t nn = tpl_called_names(tpl, &names);
        dbt_macro_deps(d, dbt_node_slot(d, n), names, nn, keep, &n->dep_macros, &n->ndep_macros);
    }
    if (ln && (!capture_plain(&c) || (c.config_calls->len && n->config_pkg))) {
        /* (layer 5 of a package node reads the loader's memo: main thread) */
        ln->refused = true;
        goto fail;
    }
    apply_capture(d, ln, n, &c);
    if (parse_hooks(d, ln, n, c.rec, err) != 0)
        goto fail;
    if (rec.macros.len) {
        n->parse_macros = ARENA_ARRAY(keep, const MacroDef *, rec.macros.len);
        memcpy(n->parse_macros, rec.macros.items, sizeof *rec.macros.items * rec.macros.len);
        n->nparse_macros = (int)rec.macros.len;
    }
    if (rec.vars.len) {
        n->parse_vars = ARENA_ARRAY(keep, const char *, rec.vars.len);
        memcpy(n->parse_vars, rec.vars.items, sizeof *rec.vars.items * rec.vars.len);
        n->nparse_vars = (int)rec.vars.len;
    }
    rc = 0;
    goto done;
fail:
    dbt_error_prefix(err, n);
done:
    vec_free(&rec.macros);
    vec_free(&rec.vars);
    sb_free(&sb);
    dbt_ctx_fini(&c);
    return rc;
}

/* Parse-time render of one node (also used for inline SQL). */
int dbt_parse_node(Dbt *d, Node *n, Diag *err) { return parse_node(d, NULL, n, err); }

/* ---------------------------------------------------------------- rendering every node */

/* Below this many renders a second thread costs more than it saves. */
#define PARSE_LANE_MIN_NODES 200
/* Nodes taken per claim: fewer lock round trips between the two cores;
 * where the threads meet, one may wait for the other's last few nodes. */
#define PARSE_CLAIM 8

/* The helper renders todo[k]; a node it gives back is as it was. */
static void lane_node(ParseLane *ln, int k)
{
    Node *n = ln->todo[k];
    node_save(n, &ln->before[k]);
    ln->refused = false;
    Diag e = {0};
    bool ok = parse_node(ln->d, ln, n, &e) == 0 && !ln->refused;
    diag_clear(&e);
    if (!ok)
        node_restore(n, &ln->before[k]);   /* any error, too: its message is the main thread's to make */
    ln->state[k] = ok ? LANE_DONE : LANE_REDO;
}

static void *lane_main(void *arg)
{
    ParseLane *ln = arg;
    value_fence_set(&ln->scratch, lane_fence, ln);
    for (;;) {
        pthread_mutex_lock(&ln->mu);
        int top = ln->hi, take = ln->stop ? 0 : ln->hi - ln->lo;
        if (take > PARSE_CLAIM)
            take = PARSE_CLAIM;
        ln->hi -= take;
        pthread_mutex_unlock(&ln->mu);
        if (!take)
            break;
        for (int k = top - 1; k >= top - take && !__atomic_load_n(&ln->stop, __ATOMIC_RELAXED); k--)
            lane_node(ln, k);
    }
    value_fence_set(NULL, NULL, NULL);
    return NULL;
}


/* Two threads?  CDBT_PARSE_THREADS=1 forces one, =2 two for any project;
 * =helper (tests) has the helper try every node before the main thread
 * starts, which small projects otherwise never let it do.  By default: two
 * for projects big enough, on a machine with two cores. */
static bool want_lane(int ntodo, bool *helper_first)
{
    const char *e = getenv("CDBT_PARSE_THREADS");
    *helper_first = false;
    if (e && strcmp(e, "helper") == 0) {
        *helper_first = true;
        return ntodo >= 1;
    }
    if (e && *e)
        return atoi(e) >= 2 && ntodo >= 2;
    return ntodo >= PARSE_LANE_MIN_NODES && sysconf(_SC_NPROCESSORS_ONLN) >= 2;
}

/* Render todo[0..nt) as the one-thread loop does, with the same outputs,
 * console lines, journal entries and first error; a helper thread renders
 * from the back the nodes whose render is self-contained.
 *
 * What keeps the result that of one thread:
 * - the main thread renders its nodes in order with everything it would
 *   do alone; afterwards it renders, in order, every node the helper gave
 *   back, so side effects (log/print, env_var's journal and cache hook) and
 *   the first error come in node order;
 * - the helper renders into arenas of its own (its scratch, its keep that
 *   the project arena adopts), with a memo of its own for config merges,
 *   no string-template cache, and gives back (node_restore, LANE_REDO) any
 *   node whose render fails, prints, reads the environment, changes a value
 *   it did not make (value_fence) or configures non-plain values;
 * - renders of different nodes share only values nobody changes; when the
 *   main thread is about to change one (value_fence), the helper is joined
 *   and every later node is rendered on the main thread. */
static int parse_nodes(Dbt *d, Node **todo, int nt, Diag *err)
{
    bool helper_first;
    if (!want_lane(nt, &helper_first)) {
        for (int i = 0; i < nt; i++)
            if (dbt_parse_node(d, todo[i], err) != 0)
                return -1;
        return 0;
    }
    ParseLane ln;
    memset(&ln, 0, sizeof ln);
    ln.d = d;
    arena_init(&ln.scratch, 0);
    arena_init(&ln.keep, 0);
    strmap_init(&ln.calls);
    pthread_mutex_init(&ln.mu, NULL);
    ln.todo = todo;
    ln.hi = nt;
    ln.state = xcalloc((size_t)nt, 1);
    ln.before = xcalloc((size_t)nt, sizeof *ln.before);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, (size_t)64 << 20);   /* deep templates: at least the main thread's */
    ln.running = pthread_create(&ln.th, &at, lane_main, &ln) == 0;
    pthread_attr_destroy(&at);
    if (ln.running && helper_first) {
        pthread_join(ln.th, NULL);          /* it has claimed every node */
        ln.running = false;
    }
    if (ln.running || helper_first)
        value_fence_set(&d->scratch, main_fence, &ln);
    int rc = 0, i = 0, end = 0;      /* the main thread has claimed todo[..end) */
    for (;;) {
        if (i == end) {
            pthread_mutex_lock(&ln.mu);
            int take = ln.hi - ln.lo < PARSE_CLAIM ? ln.hi - ln.lo : PARSE_CLAIM;
            ln.lo += take;
            end = ln.lo;
            pthread_mutex_unlock(&ln.mu);
            if (!take)
                break;
        }
        if (dbt_parse_node(d, todo[i++], err) != 0) {
            rc = -1;
            break;
        }
        if (ln.aborted)
            break;
    }
    lane_join(&ln);
    /* One thread from here on: the helper's share and anything claimed but
     * not rendered (after an error or a stop), in order. */
    for (int k = i; rc == 0 && k < nt; k++) {
        if (ln.state[k] == LANE_DONE && !ln.aborted)
            continue;
        if (ln.state[k] == LANE_DONE)
            node_restore(todo[k], &ln.before[k]);
        ln.state[k] = LANE_NONE;
        if (dbt_parse_node(d, todo[k], err) != 0)
            rc = -1;
    }
    for (int k = i; k < nt; k++) {
        if (ln.state[k] != LANE_DONE)
            continue;
        if (rc != 0) {          /* the nodes after the error: untouched, as one thread leaves them */
            node_restore(todo[k], &ln.before[k]);
        } else {                /* the copy-on-write configs it made copy into the project arena */
            dict_cow_rehome(todo[k]->config, &ln.keep, &d->p->arena);
            dict_cow_rehome(todo[k]->unrendered_config, &ln.keep, &d->p->arena);
        }
    }
    value_fence_set(NULL, NULL, NULL);
    arena_adopt(&d->p->arena, &ln.keep);
    arena_free(&ln.scratch);
    strmap_free(&ln.calls);
    pthread_mutex_destroy(&ln.mu);
    free(ln.state);
    free(ln.before);
    return rc;
}

/* ---------------------------------------------------------------- identity (§2.3) */

static const char *target_str(Project *p, const char *key)
{
    Value *v = p->target ? dict_getz(p->target, key) : NULL;
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

static Value cfg_val(Node *n, const char *key)
{
    Value *v = n->config ? dict_getz(n->config, key) : NULL;
    return v ? *v : v_none();
}

static const char *strip_dup(Arena *a, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return arena_strndup(a, s, n);
}

static int call_generate(Dbt *d, Node *n, const char *macro, Value custom, Interp **Ip, DbtCtx *c,
                         const char **out, Diag *err)
{
    DbtMacro *m = dbt_macro_lookup_from(d, dbt_node_slot(d, n), macro);
    if (!m) {
        diag_set(err, NULL, 0, 0, NULL, "macro '%s' not found", macro);
        return -1;
    }
    if (!*Ip)
        *Ip = dbt_interp(c, err);
    Value args[2] = {custom, dbt_model_dict(c)};
    CallArgs ca = {.npos = 2, .pos = args};
    Value res;
    if (interp_call(*Ip, v_macro(m->m), &ca, &res) != 0)
        return -1;
    Sb s = SB_INIT;
    value_str(&s, res);
    *out = strip_dup(&d->p->arena, sb_cstr(&s), s.len);
    sb_free(&s);
    return 0;
}

static const char *trim_str(Arena *a, Value v)
{
    Sb s = SB_INIT;
    value_str(&s, v);
    const char *r = strip_dup(a, sb_cstr(&s), s.len);
    sb_free(&s);
    return r;
}

static int set_identity(Dbt *d, Node *n, Diag *err)
{
    Project *p = d->p;
    Arena *pa = &p->arena;
    if (n->rt == RT_UNIT_TEST)
        return 0;               /* schema: the tested model's (check_unit_tests) */
    if (n->rt == RT_EXPOSURE)
        return 0;               /* no relation */
    if (n->rt == RT_SOURCE) {
        if (!n->database)
            n->database = target_str(p, "database");
        if (!n->schema)
            n->schema = n->source_name;
        if (!n->identifier)
            n->identifier = n->name;
        n->relation_name = dbt_node_relation_name(d, n, pa);
        return 0;
    }
    int rc = -1;
    arena_reset(&d->scratch);
    DbtCtx c;
    dbt_ctx_init(&c, d, n, DBT_PARSE, &d->scratch);
    c.runtime_config = true;
    Interp *I = NULL;
    Value cdb = cfg_val(n, "database"), csch = cfg_val(n, "schema"), cal = cfg_val(n, "alias");
    bool snap_db = false, snap_schema = false;
    if (n->rt == RT_SNAPSHOT) {
        Value td = cfg_val(n, "target_database"), ts = cfg_val(n, "target_schema");
        if (td.type == V_STR) {
            n->database = arena_strdup(pa, td.u.s->s);
            snap_db = true;
        }
        if (ts.type == V_STR) {
            n->schema = arena_strdup(pa, ts.u.s->s);
            snap_schema = true;
        }
    }
    if (!snap_db) {
        if (d->native_database) {
            if (cdb.type == V_NONE)
                n->database = target_str(p, "database");
            else
                n->database = trim_str(pa, cdb);
        } else if (call_generate(d, n, "generate_database_name", cdb, &I, &c, &n->database, err) != 0)
            goto fail;
    }
    if (!snap_schema) {
        if (d->native_schema) {
            const char *ts = target_str(p, "schema");
            if (csch.type == V_NONE)
                n->schema = ts;
            else {
                const char *cs = trim_str(pa, csch);
                n->schema = arena_sprintf(pa, "%s_%s", ts ? ts : "None", cs);
            }
        } else if (call_generate(d, n, "generate_schema_name", csch, &I, &c, &n->schema, err) != 0)
            goto fail;
    }
    if (n->rt == RT_TEST && cal.type == V_NONE && n->alias) {
        /* generic tests keep the loader's (possibly hashed) short name */
    } else if (d->native_alias) {
        if (value_truthy(cal)) {
            n->alias = trim_str(pa, cal);
        } else if (n->version) {
            /* dbt 1.5+: <name>_v<version> ("." as "_") */
            char *al = arena_sprintf(pa, "%s_v%s", n->name, n->version->vtext);
            for (char *q = al + strlen(n->name); *q; q++)
                if (*q == '.')
                    *q = '_';
            n->alias = al;
        } else {
            n->alias = n->name;
        }
    } else if (call_generate(d, n, "generate_alias_name", cal, &I, &c, &n->alias, err) != 0)
        goto fail;

    Value mat = cfg_val(n, "materialized");
    bool ephemeral = mat.type == V_STR && strcmp(mat.u.s->s, "ephemeral") == 0;
    n->relation_name = NULL;
    if ((n->rt == RT_MODEL && !ephemeral) || n->rt == RT_SEED || n->rt == RT_SNAPSHOT)
        n->relation_name = dbt_node_relation_name(d, n, pa);
    else if (n->rt == RT_TEST && value_truthy(cfg_val(n, "store_failures")))
        n->relation_name = dbt_node_relation_name(d, n, pa);
    rc = 0;
    goto done;
fail:
    dbt_error_prefix(err, n);
done:
    dbt_ctx_fini(&c);
    return rc;
}

/* ---------------------------------------------------------------- disabling */

static bool cfg_disabled(Node *n)
{
    Value *v = n->config ? dict_getz(n->config, "enabled") : NULL;
    return n->disabled || (v && v->type == V_BOOL && !v->u.b);
}

/* Move nodes flagged disabled from p->nodes to p->disabled; reindex. */
static void move_disabled(Project *p)
{
    int k = 0, nd = 0;
    for (int i = 0; i < p->nnodes; i++)
        if (cfg_disabled(p->nodes[i]))
            nd++;
    if (!nd)
        return;
    Node **dis = ARENA_ARRAY(&p->arena, Node *, p->ndisabled + nd);
    if (p->ndisabled)
        memcpy(dis, p->disabled, sizeof *dis * (size_t)p->ndisabled);
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (cfg_disabled(n)) {
            n->disabled = true;
            dis[p->ndisabled++] = n;
            strmap_putz(&p->by_id, n->unique_id, NULL);
        } else {
            n->index = k;
            p->nodes[k++] = n;
        }
    }
    p->nnodes = k;
    p->disabled = dis;
}

/* ---------------------------------------------------------------- refs and sources */

static bool refable(ResourceType rt) { return rt == RT_MODEL || rt == RT_SEED || rt == RT_SNAPSHOT; }

/* With installed packages the maps also hold "<package>\x1f<name>" keys;
 * the bare name keeps the first node of that name (root project first). */
static void map_put(StrMap *m, Sb *k, const char *pkg, const char *name, Node *n, bool replace)
{
    if (replace || !strmap_getz(m, name))
        strmap_putz(m, name, n);
    if (!pkg)
        return;
    sb_reset(k);
    sb_puts(k, pkg);
    sb_putc(k, '\x1f');
    sb_puts(k, name);
    if (replace || !strmap_get(m, k->buf, k->len))
        strmap_put(m, k->buf, k->len, n);
}

static void build_maps(Dbt *d)
{
    Project *p = d->p;
    strmap_free(&d->refable);
    strmap_free(&d->refable_disabled);
    strmap_free(&d->sources);
    strmap_init(&d->refable);
    strmap_init(&d->refable_disabled);
    strmap_init(&d->sources);
    Sb k = SB_INIT, kk = SB_INIT;
    bool pk = p->npackages > 0;
    for (int round = 0; round < (pk ? 2 : 1); round++) {
        /* with packages: the root project's nodes first, so bare names find them */
        for (int pass = 0; pass < 2; pass++) {
            Node **v = pass ? p->disabled : p->nodes;
            int nv = pass ? p->ndisabled : p->nnodes;
            for (int i = 0; i < nv; i++) {
                Node *n = v[i];
                if (pk && node_in_package(p, n) != (round == 1))
                    continue;
                if (refable(n->rt)) {
                    StrMap *m = pass ? &d->refable_disabled : &d->refable;
                    if (n->version) {
                        /* a versioned model: "<name>\x1e<v>", and the bare
                         * name for its latest version */
                        sb_reset(&k);
                        sb_printf(&k, "%s\x1e%s", n->name, n->version->vtext);
                        map_put(m, &kk, pk ? n->package_name : NULL, arena_strdup(&p->arena, sb_cstr(&k)), n, false);
                        if (strcmp(n->version->vtext, n->version->latest_text) == 0)
                            map_put(m, &kk, pk ? n->package_name : NULL, n->name, n, false);
                    } else {
                        map_put(m, &kk, pk ? n->package_name : NULL, n->name, n, false);
                    }
                } else if (n->rt == RT_SOURCE) {
                    sb_reset(&k);
                    sb_printf(&k, "%s.%s", n->source_name ? n->source_name : "", n->name);
                    bool taken = strmap_get(&d->sources, k.buf, k.len) != NULL;
                    if (!taken || (!pass && !pk))
                        strmap_put(&d->sources, k.buf, k.len, n);
                    if (pk) {
                        sb_reset(&kk);
                        sb_puts(&kk, n->package_name);
                        sb_putc(&kk, '\x1f');
                        sb_append(&kk, k.buf, k.len);
                        if (!strmap_get(&d->sources, kk.buf, kk.len) || !pass)
                            strmap_put(&d->sources, kk.buf, kk.len, n);
                    }
                }
            }
        }
    }
    sb_free(&k);
    sb_free(&kk);
}

static Node *map_find(StrMap *m, const char *pkg, const char *name)
{
    Sb k = SB_INIT;
    sb_puts(&k, pkg);
    sb_putc(&k, '\x1f');
    sb_puts(&k, name);
    Node *t = strmap_get(m, k.buf, k.len);
    sb_free(&k);
    return t;
}

/* §2.5: ref(pkg, name) in pkg; ref(name) from `from` in the root project,
 * then from's package, then any package. */
Node *dbt_find_node(Dbt *d, StrMap *m, const Node *from, const char *pkg, const char *name)
{
    Project *p = d->p;
    if (!p->npackages) {
        Node *t = strmap_getz(m, name);
        return t && (!pkg || strcmp(t->package_name, pkg) == 0) ? t : NULL;
    }
    if (pkg)
        return map_find(m, pkg, name);
    Node *t = map_find(m, p->name, name);
    if (!t && from && from->package_name)
        t = map_find(m, from->package_name, name);
    return t ? t : strmap_getz(m, name);
}

Node *dbt_find_ref(Dbt *d, StrMap *m, const Node *from, const char *pkg, const char *name, const char *version)
{
    if (!version)
        return dbt_find_node(d, m, from, pkg, name);
    char key[512];
    if ((size_t)snprintf(key, sizeof key, "%s\x1e%s", name, version) >= sizeof key)
        return NULL;
    return dbt_find_node(d, m, from, pkg, key);
}

static void dep_add(Arena *a, Node *n, const char *uid, int *cap)
{
    for (int i = 0; i < n->ndep_nodes; i++)
        if (strcmp(n->dep_nodes[i], uid) == 0)
            return;
    if (n->ndep_nodes == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        const char **nd = ARENA_ARRAY(a, const char *, nc);
        if (n->ndep_nodes)
            memcpy(nd, n->dep_nodes, sizeof *nd * (size_t)n->ndep_nodes);
        n->dep_nodes = nd;
        *cap = nc;
    }
    n->dep_nodes[n->ndep_nodes++] = uid;
}

/* 0 ok, -1 error, 1 = a test whose target is missing/disabled (to disable) */
/* Where in n's own file is the call fn('a'[, 'b'])?  A text search (the
 * parse pass does not keep call positions): returns the byte offset of `fn`
 * or (size_t)-1 when the node is not a plain file (generic tests, hooks
 * from YAML) or the call is written some other way. */
static size_t find_call(const Node *n, const char *fn, const char *a, const char *b)
{
    if (!n->raw_code || (n->rt == RT_TEST && n->is_generic_test))
        return (size_t)-1;
    const char *s = n->raw_code, *end = s + n->raw_len;
    size_t fl = strlen(fn);
    for (const char *p = s; p + fl < end; p++) {
        if (memcmp(p, fn, fl) != 0 || (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.')))
            continue;
        const char *q = p + fl;
        while (q < end && isspace((unsigned char)*q)) q++;
        if (q >= end || *q != '(')
            continue;
        q++;
        const char *args[2] = {a, b};
        bool ok = true;
        for (int i = 0; i < 2 && args[i] && ok; i++) {
            while (q < end && isspace((unsigned char)*q)) q++;
            if (i == 1) {
                if (q >= end || *q != ',') { ok = false; break; }
                q++;
                while (q < end && isspace((unsigned char)*q)) q++;
            }
            if (q >= end || (*q != '\'' && *q != '"')) { ok = false; break; }
            char quote = *q++;
            size_t al = strlen(args[i]);
            if ((size_t)(end - q) < al + 1 || memcmp(q, args[i], al) != 0 || q[al] != quote)
                ok = false;
            q += al + 1;
        }
        if (ok)
            return (size_t)(p - s);
    }
    return (size_t)-1;
}

/* Record a dependency error, located at the call in n's file when found. */
static void dep_error(Node *n, Diag *err, size_t off, const char *msg)
{
    if (off != (size_t)-1)
        diag_at(err, &n->src, off, "%s", msg);
    else
        diag_set(err, NULL, 0, 0, NULL, "%s", msg);
}

/* An exposure's depends_on entry of kind k ('r', 's', 'm') and index i. */
static const ExpoDep *expo_dep(const Node *n, char k, int i)
{
    for (int j = 0; n->expo && j < n->expo->ndeps; j++)
        if (n->expo->deps[j].kind == k && n->expo->deps[j].index == i)
            return &n->expo->deps[j];
    return NULL;
}

/* A dependency error of an exposure, located at its depends_on entry. */
static int expo_dep_error(Node *n, Diag *err, char k, int i, const char *msg)
{
    const ExpoDep *e = expo_dep(n, k, i);
    if (e)
        diag_set(err, e->loc.file, e->loc.line, e->loc.col, e->loc.src_line, "%s", msg);
    else
        diag_set(err, NULL, 0, 0, NULL, "%s", msg);
    return -1;
}

/* Calls f(ud, constraint) for each foreign_key constraint of model n whose
 * `to` is a string (model-level, then per column); stops at a nonzero
 * return. */
static int each_fk_in(VList *l, int (*f)(void *ud, VDict *c, const char *to), void *ud)
{
    for (size_t i = 0; l && i < l->len; i++) {
        VDict *c = l->items[i].type == V_DICT ? l->items[i].u.d : NULL;
        Value *t = c ? dict_getz(c, "type") : NULL, *to = c ? dict_getz(c, "to") : NULL;
        if (t && t->type == V_STR && !strcmp(t->u.s->s, "foreign_key") && to && to->type == V_STR) {
            int r = f(ud, c, to->u.s->s);
            if (r)
                return r;
        }
    }
    return 0;
}

int dbt_each_fk(const Node *n, int (*f)(void *ud, VDict *c, const char *to), void *ud)
{
    if (n->rt != RT_MODEL)
        return 0;
    int r = each_fk_in(n->constraints, f, ud);
    size_t it = 0;
    VDictEntry *e;
    while (!r && n->columns && dict_next(n->columns, &it, &e)) {
        Value *cv = e->val.type == V_DICT ? dict_getz(e->val.u.d, "constraints") : NULL;
        r = each_fk_in(cv && cv->type == V_LIST ? cv->u.l : NULL, f, ud);
    }
    return r;
}

typedef struct FkRefs { Dbt *d; Node *n; Diag *err; } FkRefs;

/* dbt 1.9: a foreign key `to: ref(...)` / `source(...)` is a dependency of
 * the model (added to its refs / sources once) */
static int fk_dep(void *ud, VDict *c, const char *to)
{
    FkRefs *x = ud;
    Node *n = x->n;
    Arena *a = &x->d->p->arena;
    (void)c;
    NodeRef r = {0};
    NodeSrcRef sr = {0};
    int kind = project_fk_target(a, to, &r, &sr);
    if (kind == 0)
        return 0;                /* a relation written out: used as is */
    if (kind < 0) {
        diag_set(x->err, NULL, 0, 0, NULL,
                 "Invalid 'ref' or 'source' syntax on foreign key constraint 'to' on model %s: %s.", n->name, to);
        return -1;
    }
    if (kind == 'r') {
        for (int i = 0; i < n->nrefs; i++)
            if (!strcmp(n->refs[i].name, r.name) && !strcmp(n->refs[i].package ? n->refs[i].package : "",
                                                            r.package ? r.package : "") &&
                !strcmp(n->refs[i].version ? n->refs[i].version : "", r.version ? r.version : ""))
                return 0;
        NodeRef *v = ARENA_ARRAY(a, NodeRef, n->nrefs + 1);
        if (n->nrefs)
            memcpy(v, n->refs, sizeof *v * (size_t)n->nrefs);
        v[n->nrefs++] = r;
        n->refs = v;
    } else {
        for (int i = 0; i < n->nsources; i++)
            if (!strcmp(n->sources[i].source, sr.source) && !strcmp(n->sources[i].table, sr.table))
                return 0;
        NodeSrcRef *v = ARENA_ARRAY(a, NodeSrcRef, n->nsources + 1);
        if (n->nsources)
            memcpy(v, n->sources, sizeof *v * (size_t)n->nsources);
        v[n->nsources++] = sr;
        n->sources = v;
    }
    return 0;
}

static int resolve_deps(Dbt *d, Node *n, Diag *err)
{
    Project *p = d->p;
    int cap = 0;
    n->ndep_nodes = 0;
    n->dep_nodes = NULL;
    FkRefs fr = {d, n, err};
    if (dbt_each_fk(n, fk_dep, &fr) != 0) {
        dbt_error_prefix(err, n);
        return -1;
    }
    for (int i = 0; i < n->nrefs; i++) {
        NodeRef *r = &n->refs[i];
        Node *t = dbt_find_ref(d, &d->refable, n, r->package, r->name, r->version);
        if (!t) {
            if (n->rt == RT_TEST || n->rt == RT_UNIT_TEST)
                return 1;
            Node *dt = dbt_find_ref(d, &d->refable_disabled, n, r->package, r->name, r->version);
            char pk[300] = "", vs[300] = "";
            if (r->package)
                snprintf(pk, sizeof pk, "in package or project '%s' ", r->package);
            if (r->version)
                snprintf(vs, sizeof vs, "with version '%s' ", r->version);
            char msg[1200];
            snprintf(msg, sizeof msg, "%s '%s' (%s) depends on a node named '%s' %s%swhich %s",
                     title_of(n->rt), n->unique_id, n->original_file_path, r->name, vs, pk,
                     dt ? "is disabled" : "was not found");
            if (n->rt == RT_EXPOSURE)
                return expo_dep_error(n, err, 'r', i, msg);
            size_t off = r->package ? find_call(n, "ref", r->package, r->name) : find_call(n, "ref", r->name, NULL);
            dep_error(n, err, off, msg);
            return -1;
        }
        if (t != n)             /* a hook's ref to its own node is not an edge */
            dep_add(&p->arena, n, t->unique_id, &cap);
    }
    Sb k = SB_INIT;
    for (int i = 0; i < n->nsources; i++) {
        sb_reset(&k);
        sb_printf(&k, "%s.%s", n->sources[i].source, n->sources[i].table);
        Node *t = dbt_find_node(d, &d->sources, n, NULL, sb_cstr(&k));
        if (!t || t->disabled) {
            if (n->rt == RT_TEST) {
                sb_free(&k);
                return 1;
            }
            char msg[1200];
            snprintf(msg, sizeof msg, "%s '%s' (%s) depends on a source named '%s' which %s",
                     title_of(n->rt), n->unique_id, n->original_file_path, sb_cstr(&k),
                     t ? "is disabled" : "was not found");
            if (n->rt == RT_EXPOSURE) {
                sb_free(&k);
                return expo_dep_error(n, err, 's', i, msg);
            }
            dep_error(n, err, find_call(n, "source", n->sources[i].source, n->sources[i].table), msg);
            sb_free(&k);
            return -1;
        }
        dep_add(&p->arena, n, t->unique_id, &cap);
    }
    sb_free(&k);
    if (n->expo && n->expo->nmetrics) {    /* cdbt has no metrics: none can be found */
        char msg[1200];
        snprintf(msg, sizeof msg, "%s '%s' (%s) depends on a metric named '%s' which was not found",
                 title_of(n->rt), n->unique_id, n->original_file_path, n->expo->metrics[0]);
        return expo_dep_error(n, err, 'm', 0, msg);
    }
    return 0;
}

static bool renders(ResourceType rt)
{
    return rt == RT_MODEL || rt == RT_TEST || rt == RT_ANALYSIS || rt == RT_SNAPSHOT;
}

static int ut_error(Diag *err, const UtLoc *l, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ut_error(Diag *err, const UtLoc *l, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    diag_set(err, l->file, l->line, l->col, l->src_line, "%s", buf);
    return -1;
}

/* What dbt checks of a unit test once the models are parsed: each input is a
 * node of the project (cdbt also asks that the model refs or sources it),
 * and a model calling is_incremental() gets a boolean override, with a
 * `this` input when it is true.  Sets the unit test's schema (the model's). */
static int check_unit_tests(Dbt *d, Diag *err)
{
    Project *p = d->p;
    for (int i = 0; i < p->nnodes; i++) {
        Node *u = p->nodes[i];
        if (u->rt != RT_UNIT_TEST || !u->unit || u->nparents < 1)
            continue;
        Node *m = p->nodes[u->parents[0]];
        UnitTest *ut = u->unit;
        u->schema = m->schema;
        u->database = m->database;
        u->alias = u->name;     /* dbt's UnitTestNode: the temporary table is named after it */
        for (int g = 0; g < ut->ngiven; g++) {
            UtFixture *fx = &ut->given[g];
            const char *uid = NULL;
            if (fx->kind == UT_THIS)
                continue;
            if (fx->kind == UT_REF) {
                Node *t = (Node *)strmap_getz(&d->refable, fx->ref.name);
                if (t && (!fx->ref.package || !strcmp(t->package_name, fx->ref.package)))
                    uid = t->unique_id;
            } else {
                char *k = arena_sprintf(&d->scratch, "%s.%s", fx->src.source, fx->src.table);
                Node *t = (Node *)strmap_getz(&d->sources, k);
                if (t)
                    uid = t->unique_id;
            }
            if (!uid)
                return ut_error(err, &fx->loc, "Unit test '%s' had an input (%s) which was not found in the manifest.",
                                u->name, fx->input);
            bool dep = false;
            for (int k = 0; k < m->ndep_nodes && !dep; k++)
                dep = !strcmp(m->dep_nodes[k], uid);
            if (!dep)
                return ut_error(err, &fx->loc, "Unit test '%s' has an input (%s) that model '%s' does not ref or source",
                                u->name, fx->input, m->name);
        }
        bool incr = false;
        for (int k = 0; k < m->ndep_macros && !incr; k++)
            incr = !strcmp(m->dep_macros[k], "macro.dbt.is_incremental");
        if (!incr)
            continue;
        VDict *mac = NULL;
        Value *mv = ut->overrides ? dict_getz(ut->overrides, "macros") : NULL;
        if (mv && mv->type == V_DICT)
            mac = mv->u.d;
        Value *ov = mac ? dict_getz(mac, "is_incremental") : NULL;
        if (!ov || ov->type != V_BOOL)
            return ut_error(err, &ut->name_loc, "Boolean override for 'is_incremental' must be provided for unit test '%s' in model '%s'",
                            u->name, m->name);
        bool has_this = false;
        for (int g = 0; g < ut->ngiven; g++)
            has_this = has_this || ut->given[g].kind == UT_THIS;
        if (ov->u.b && !has_this)
            return ut_error(err, &ut->name_loc, "Unit test '%s' for incremental model '%s' must have a 'this' input",
                            u->name, m->name);
    }
    return 0;
}

int dbt_parse(Dbt *d, Diag *err)
{
    Project *p = d->p;
    if (!p || !d->globals) {
        diag_set(err, NULL, 0, 0, NULL, "dbt_parse called before dbt_attach");
        return -1;
    }
    if (d->opt.record_macros)
        dbt_macro_defs_build(d);  /* read by both threads of the pass */
    /* parse_skip depends on no render (the cache decided before the pass) */
    Node **todo = p->nnodes ? xmalloc(sizeof *todo * (size_t)p->nnodes) : NULL;
    int nt = 0;
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (renders(n->rt) && !n->stub && !(d->opt.parse_skip && d->opt.parse_skip(d->opt.hook_ud, n)))
            todo[nt++] = n;
    }
    int rc = parse_nodes(d, todo, nt, err);
    free(todo);
    if (rc != 0)
        return -1;
    move_disabled(p);
    for (int i = 0; i < p->nnodes; i++)
        if (!p->nodes[i]->stub && set_identity(d, p->nodes[i], err) != 0)
            return -1;
    build_maps(d);
    bool any = false;
    for (int i = 0; i < p->nnodes; i++) {
        int r = resolve_deps(d, p->nodes[i], err);
        if (r < 0)
            return -1;
        if (r > 0) {
            p->nodes[i]->disabled = true;   /* dbt disables tests of missing/disabled targets */
            any = true;
        }
    }
    if (any)
        move_disabled(p);
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        n->nparents = 0;
        n->parents = n->ndep_nodes ? ARENA_ARRAY(&p->arena, int, n->ndep_nodes) : NULL;
        for (int j = 0; j < n->ndep_nodes; j++) {
            Node *t = project_node(p, n->dep_nodes[j]);
            if (t)
                n->parents[n->nparents++] = t->index;
        }
    }
    if (check_unit_tests(d, err) != 0 || dbt_check_microbatch(d, err) != 0)
        return -1;
    arena_reset(&d->scratch);
    d->parsed = true;
    return 0;
}
