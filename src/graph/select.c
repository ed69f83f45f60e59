/* select.c - dbt's node selection (spec §12.3): expression syntax, graph
 * operators, set algebra and indirect selection of tests.
 *
 * Shape of a selection, as dbt builds it:
 *     difference( union(select...), union(exclude...) )
 *     union        = every space-separated token of every --select value
 *     token        = intersection of its comma-separated atoms
 *     atom         = [@][N+][method[.arg...]:]value[+N]
 * Each level yields a pair (direct, direct+indirect): an atom marks what its
 * method matches, adds the graph neighbours its operators ask for, then adds
 * the tests hanging off the result (eager: any parent selected; cautious:
 * all parents; buildable: all parents selected or upstream of the
 * selection; empty: none).  Every combination (intersection, union,
 * difference) combines both sets and lets cautious/buildable pick up tests
 * whose remaining parents arrived through another part.  Sets are sparse
 * (membership bytes + member list) and neighbours come from multi-source
 * BFS with generation-stamped visits, so beyond its method's matching an
 * atom costs O(members + their edges), not O(nodes): wide unions of model
 * names stay linear (plain fqn names are answered from an index).
 *
 * The method matchers live in select_methods.c; the DAG in graph.c. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "select_priv.h"
#include "../base/arena.h"

typedef struct Sets { GselSet d, u; } Sets;   /* direct, direct+indirect */

typedef struct SelState {
    GselCtx c;
    IndirectMode mode;
    uint8_t *bytes;                  /* backing store of every set */
    int *ints;
    GselSet col, s, tmp;
    Sets atom, isect, inc, exc;
    int *queue, *dist, *seen;        /* BFS; seen[i] == gen marks a visit */
    int gen;
    int *sources; int nsources;      /* every source node (buildable) */
} SelState;

static void set_clear(GselSet *s)
{
    for (int k = 0; k < s->len; k++)
        s->b[s->list[k]] = 0;
    s->len = 0;
}

static void set_copy(GselSet *dst, const GselSet *src)
{
    set_clear(dst);
    for (int k = 0; k < src->len; k++)
        gsel_add(dst, src->list[k]);
}

static void set_add_all(GselSet *dst, const GselSet *src)
{
    for (int k = 0; k < src->len; k++)
        gsel_add(dst, src->list[k]);
}

/* Keep only the members of s for which keep[i] is (not) set. */
static void set_filter(GselSet *s, const uint8_t *keep, const uint8_t *keep2, bool negate)
{
    int w = 0;
    for (int k = 0; k < s->len; k++) {
        int i = s->list[k];
        bool in = keep[i] || (keep2 && keep2[i]);
        if (in != negate)
            s->list[w++] = i;
        else
            s->b[i] = 0;
    }
    s->len = w;
}

int gsel_fail(GselCtx *c, const GselAtom *a, const char *fmt, ...)
{
    Sb r = SB_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&r, fmt, ap);
    va_end(ap);
    diag_set(c->err, NULL, 0, 0, NULL, "Invalid selector '%s': %s", a->text, sb_cstr(&r));
    sb_free(&r);
    return -1;
}

int graph_indirect_from_name(const char *s)
{
    static const char *const names[] = {"eager", "cautious", "buildable", "empty"};
    static const IndirectMode modes[] = {INDIRECT_EAGER, INDIRECT_CAUTIOUS, INDIRECT_BUILDABLE, INDIRECT_EMPTY};
    for (size_t k = 0; s && k < sizeof names / sizeof names[0]; k++)
        if (strcasecmp(s, names[k]) == 0)
            return (int)modes[k];
    return -1;
}

/* ------------------------------------------------------------ graph walks */

/* Add to out every node reachable from a member of src in at most maxdepth
 * steps (-1 = unlimited) along parent edges (up) or child edges. */
static void bfs(SelState *st, const GselSet *src, bool up, int maxdepth, GselSet *out)
{
    Graph *g = st->c.g;
    int head = 0, tail = 0, gen = ++st->gen;
    if (maxdepth == 0)
        return;
    for (int k = 0; k < src->len; k++) {
        int i = src->list[k];
        st->seen[i] = gen;
        st->dist[i] = 0;
        st->queue[tail++] = i;
    }
    while (head < tail) {
        int v = st->queue[head++];
        if (maxdepth > 0 && st->dist[v] >= maxdepth)
            continue;
        int cnt = up ? g->nparents[v] : g->nchildren[v];
        const int *adj = up ? g->parents[v] : g->children[v];
        for (int k = 0; k < cnt; k++) {
            int w = adj[k];
            if (st->seen[w] == gen)
                continue;
            st->seen[w] = gen;
            st->dist[w] = st->dist[v] + 1;
            st->queue[tail++] = w;
            gsel_add(out, w);
        }
    }
}

static bool parents_within(SelState *st, int t, const uint8_t *set)
{
    Graph *g = st->c.g;
    for (int k = 0; k < g->nparents[t]; k++)
        if (!set[g->parents[t][k]])
            return false;
    return true;
}

static bool is_test(SelState *st, int i)
{
    return st->c.p->nodes[i]->rt == RT_TEST || st->c.p->nodes[i]->rt == RT_UNIT_TEST;
}

/* ------------------------------------------------------------ indirect selection */

/* Atom level: out = s plus the tests of s per the indirect mode. */
static void expand(SelState *st, const GselSet *s, Sets *out)
{
    Graph *g = st->c.g;
    set_copy(&out->d, s);
    set_copy(&out->u, s);
    if (st->mode == INDIRECT_EMPTY)
        return;
    if (st->mode == INDIRECT_BUILDABLE) {
        /* selected, their ancestors, and every source */
        set_copy(&st->tmp, s);
        bfs(st, s, true, -1, &st->tmp);
        for (int k = 0; k < st->nsources; k++)
            gsel_add(&st->tmp, st->sources[k]);
    }
    for (int m = 0; m < s->len; m++) {
        int v = s->list[m];
        for (int k = 0; k < g->nchildren[v]; k++) {
            int t = g->children[v][k];
            if (out->u.b[t] || !is_test(st, t))
                continue;
            gsel_add(&out->u, t);
            if (st->mode == INDIRECT_EAGER || parents_within(st, t, s->b) ||
                (st->mode == INDIRECT_BUILDABLE && parents_within(st, t, st->tmp.b)))
                gsel_add(&out->d, t);
        }
    }
}

/* Composite level: tests held back as indirect join the direct set once all
 * their parents are there (cautious) or are there or upstream (buildable). */
static void incorporate(SelState *st, Sets *x)
{
    if (st->mode != INDIRECT_CAUTIOUS && st->mode != INDIRECT_BUILDABLE)
        return;
    bool pending = false;
    for (int k = 0; k < x->u.len && !pending; k++)
        pending = !x->d.b[x->u.list[k]];
    if (!pending)
        return;
    set_copy(&st->tmp, &x->d);
    if (st->mode == INDIRECT_BUILDABLE)
        bfs(st, &x->d, true, -1, &st->tmp);
    for (int k = 0; k < x->u.len; k++) {
        int i = x->u.list[k];
        if (!x->d.b[i] && parents_within(st, i, st->tmp.b))
            gsel_add(&x->d, i);
    }
}

/* ------------------------------------------------------------ atoms */

static bool is_word(unsigned char ch)
{
    return isalnum(ch) || ch == '_' || ch >= 0x80;
}

static int parse_depth(const char *p, const char *e)
{
    long v = 0;
    for (; p < e; p++) {
        v = v * 10 + (*p - '0');
        if (v > INT_MAX / 4)
            return INT_MAX / 4;   /* deeper than any graph: same as unlimited */
    }
    return (int)v;
}

static bool ends_with_ci(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && strcasecmp(s + n - k, suf) == 0;
}

/* Parse the atom in w (modified in place; text is an untouched copy used in
 * messages).  On success a->parts is heap-allocated (caller frees). */
static int parse_atom(GselCtx *c, char *w, const char *text, GselAtom *a, GselMatchFn *fn)
{
    memset(a, 0, sizeof *a);
    a->text = text;
    a->parents_depth = a->children_depth = -1;
    a->wild_part = -1;

    char *p = w, *q;
    if (*p == '@') {
        a->at = true;
        p++;
    }
    for (q = p; isdigit((unsigned char)*q); q++) {}
    if (*q == '+') {
        a->parents = true;
        if (q > p)
            a->parents_depth = parse_depth(p, q);
        p = q + 1;
    }
    char *method = NULL;
    for (q = p; is_word((unsigned char)*q) || *q == '.'; q++) {}
    if (q > p && *q == ':') {
        method = p;
        *q = '\0';
        p = q + 1;
    }
    char *end = p + strlen(p), *e = end;
    while (e > p && isdigit((unsigned char)e[-1]))
        e--;
    if (e > p && e[-1] == '+') {
        a->children = true;
        if (e < end)
            a->children_depth = parse_depth(e, end);
        e[-1] = '\0';
        end = e - 1;
    }
    a->value = p;
    if (a->at && a->children)
        return gsel_fail(c, a, "'@' cannot be combined with a trailing '+'");

    if (method) {
        a->method_given = true;
        char *dot = strchr(method, '.');
        if (dot) {
            *dot = '\0';
            char *arg = dot + 1;
            for (;;) {
                char *nd = strchr(arg, '.');
                if (nd)
                    *nd = '\0';
                if (!*arg)
                    return gsel_fail(c, a, "empty key after method '%s'", method);
                if (a->nargs == GSEL_MAX_ARGS)
                    return gsel_fail(c, a, "too many keys after method '%s' (at most %d)",
                                     method, GSEL_MAX_ARGS);
                a->args[a->nargs++] = arg;
                if (!nd)
                    break;
                arg = nd + 1;
            }
        }
        a->method = method;
    } else {
        size_t vn = (size_t)(end - p);
        if (memchr(p, '/', vn))
            a->method = "path";
        else if (ends_with_ci(p, vn, ".sql") || ends_with_ci(p, vn, ".py") || ends_with_ci(p, vn, ".csv"))
            a->method = "file";
        else
            a->method = "fqn";
    }
    *fn = gsel_find_method(a->method, strlen(a->method));
    if (!*fn)
        return gsel_fail(c, a, "unknown selection method '%s'", a->method);
    if (!*a->value) {
        if (a->method_given)
            return gsel_fail(c, a, "empty value for method '%s'", a->method);
        return gsel_fail(c, a, "no node name or method:value to select");
    }

    size_t vn = (size_t)(end - p);
    a->wild = gsel_has_wild(p, vn);
    int nparts = 1;
    for (size_t k = 0; k < vn; k++)
        nparts += p[k] == '.';
    a->parts = xmalloc(sizeof(GselSlice) * (size_t)nparts);
    const char *s = p;
    for (int k = 0; k < nparts; k++) {
        const char *d = memchr(s, '.', (size_t)(end - s));
        size_t len = d ? (size_t)(d - s) : (size_t)(end - s);
        a->parts[k].p = s;
        a->parts[k].n = len;
        if (a->wild_part < 0 && gsel_has_wild(s, len))
            a->wild_part = k;
        s += len + 1;
    }
    a->nparts = nparts;
    return 0;
}

/* Evaluate one atom (text[0..len)) into st->atom. */
static int eval_atom(SelState *st, const char *text, size_t len)
{
    int rc = -1;
    char *buf = xmalloc(2 * len + 2);
    char *orig = buf, *w = buf + len + 1;
    GselAtom a;
    GselMatchFn fn = NULL;

    memcpy(orig, text, len);
    orig[len] = '\0';
    memcpy(w, text, len);
    w[len] = '\0';
    a.parts = NULL;
    if (parse_atom(&st->c, w, orig, &a, &fn) < 0)
        goto done;
    set_clear(&st->col);
    if (fn(&st->c, &a, &st->col) < 0)
        goto done;
    set_copy(&st->s, &st->col);
    if (a.at) {
        /* the node, its descendants, and every ancestor of those */
        set_copy(&st->tmp, &st->col);
        bfs(st, &st->col, false, -1, &st->tmp);
        set_add_all(&st->s, &st->tmp);
        bfs(st, &st->tmp, true, -1, &st->s);
    }
    if (a.parents)
        bfs(st, &st->col, true, a.parents_depth, &st->s);
    if (a.children)
        bfs(st, &st->col, false, a.children_depth, &st->s);
    expand(st, &st->s, &st->atom);
    rc = 0;
done:
    free(a.parts);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ set algebra */

/* One space-free token: the intersection of its comma-separated atoms. */
static int eval_token(SelState *st, const char *tok, size_t len)
{
    bool first = true;
    const char *p = tok, *end = tok + len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *ae = comma ? comma : end;
        if (ae == p) {
            char *text = xstrndup(tok, len);
            GselAtom a;
            memset(&a, 0, sizeof a);
            a.text = text;
            gsel_fail(&st->c, &a, "empty selector between commas");
            free(text);
            return -1;
        }
        if (eval_atom(st, p, (size_t)(ae - p)) < 0)
            return -1;
        if (first) {
            set_copy(&st->isect.d, &st->atom.d);
            set_copy(&st->isect.u, &st->atom.u);
            first = false;
        } else {
            set_filter(&st->isect.d, st->atom.d.b, NULL, false);
            set_filter(&st->isect.u, st->atom.u.b, NULL, false);
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    incorporate(st, &st->isect);
    return 0;
}

/* The union of every token of every value into out. */
static int eval_union(SelState *st, const char *const *vals, int nvals, Sets *out)
{
    set_clear(&out->d);
    set_clear(&out->u);
    for (int k = 0; k < nvals; k++) {
        const char *s = vals[k];
        while (s && *s) {
            while (*s && isspace((unsigned char)*s))
                s++;
            const char *t = s;
            while (*s && !isspace((unsigned char)*s))
                s++;
            if (s == t)
                break;
            if (eval_token(st, t, (size_t)(s - t)) < 0)
                return -1;
            if (st->isect.d.len == 0 && st->c.opt->on_unmatched) {
                char *expr = xstrndup(t, (size_t)(s - t));
                st->c.opt->on_unmatched(st->c.opt->unmatched_ud, expr);
                free(expr);
            }
            set_add_all(&out->d, &st->isect.d);
            set_add_all(&out->u, &st->isect.d);
            set_add_all(&out->u, &st->isect.u);
        }
    }
    incorporate(st, out);
    return 0;
}

/* ------------------------------------------------------------ entry point */

static void set_init(SelState *st, GselSet *s, int k)
{
    size_t un = (size_t)st->c.n + 1;
    s->b = st->bytes + (size_t)k * un;
    s->list = st->ints + (size_t)k * un;
    s->len = 0;
}

int graph_select(Project *p, Graph *g, const SelectOptions *opt, bool *out, Diag *err)
{
    enum { NSETS = 11 };
    SelState st;
    int rc = -1;
    memset(&st, 0, sizeof st);
    if (!g || g->n != p->nnodes) {
        diag_set(err, NULL, 0, 0, NULL, "graph_select: the graph does not match the project");
        return -1;
    }
    int n = g->n;
    size_t un = (size_t)n + 1;
    st.c.p = p;
    st.c.g = g;
    st.c.n = n;
    st.c.opt = opt;
    st.c.err = err;
    st.mode = opt->indirect;
    st.bytes = xcalloc(NSETS, un);
    st.ints = xmalloc(sizeof(int) * NSETS * un);
    GselSet *sets[NSETS] = {&st.col, &st.s, &st.tmp, &st.atom.d, &st.atom.u, &st.isect.d,
                            &st.isect.u, &st.inc.d, &st.inc.u, &st.exc.d, &st.exc.u};
    for (int k = 0; k < NSETS; k++)
        set_init(&st, sets[k], k);
    st.queue = xmalloc(sizeof(int) * un);
    st.dist = xmalloc(sizeof(int) * un);
    st.seen = xcalloc(un, sizeof(int));
    st.sources = xmalloc(sizeof(int) * un);
    for (int i = 0; i < n; i++)
        if (p->nodes[i]->rt == RT_SOURCE)
            st.sources[st.nsources++] = i;

    if (opt->nselect == 0) {
        /* dbt's default includes (fqn:*, source:*, ...): every node */
        for (int i = 0; i < n; i++) {
            gsel_add(&st.inc.d, i);
            gsel_add(&st.inc.u, i);
        }
    } else if (eval_union(&st, opt->select, opt->nselect, &st.inc) < 0) {
        goto done;
    }
    if (opt->nexclude > 0 && eval_union(&st, opt->exclude, opt->nexclude, &st.exc) < 0)
        goto done;

    /* difference: direct = inc.d - exc.d; indirect = (inc.d|inc.u) - (exc.d|exc.u) */
    set_add_all(&st.inc.u, &st.inc.d);
    set_filter(&st.inc.d, st.exc.d.b, NULL, true);
    set_filter(&st.inc.u, st.exc.d.b, st.exc.u.b, true);
    incorporate(&st, &st.inc);

    bool any_rt = false;
    for (int k = 0; k < RT__COUNT; k++)
        any_rt |= opt->resource_types[k];
    memset(out, 0, sizeof(bool) * (size_t)n);
    for (int k = 0; k < st.inc.d.len; k++) {
        int i = st.inc.d.list[k];
        int rt = (int)p->nodes[i]->rt;
        out[i] = !any_rt || (rt >= 0 && rt < RT__COUNT && opt->resource_types[rt]);
    }
    rc = 0;
done:
    gsel_ctx_free(&st.c);
    free(st.bytes);
    free(st.ints);
    free(st.queue);
    free(st.dist);
    free(st.seen);
    free(st.sources);
    return rc;
}
