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
 * whose remaining parents arrived through another part.  Sets are byte
 * arrays over node indices; neighbours come from multi-source BFS, so one
 * atom costs O(nodes + edges) whatever its operators.
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

typedef struct Sets { uint8_t *d, *u; } Sets;   /* direct, direct+indirect */

typedef struct SelState {
    GselCtx c;
    IndirectMode mode;
    uint8_t *block;
    uint8_t *col, *s, *tmp, *seen;
    Sets atom, isect, inc, exc;
    int *queue, *dist;
} SelState;

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

/* Mark in out every node reachable from a node of src in at most maxdepth
 * steps (-1 = unlimited) along parent edges (up) or child edges. */
static void bfs(SelState *st, const uint8_t *src, bool up, int maxdepth, uint8_t *out)
{
    Graph *g = st->c.g;
    int n = st->c.n, head = 0, tail = 0;
    if (maxdepth == 0)
        return;
    memset(st->seen, 0, (size_t)n);
    for (int i = 0; i < n; i++)
        if (src[i]) {
            st->seen[i] = 1;
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
            if (st->seen[w])
                continue;
            st->seen[w] = 1;
            st->dist[w] = st->dist[v] + 1;
            st->queue[tail++] = w;
            out[w] = 1;
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
    return st->c.p->nodes[i]->rt == RT_TEST;
}

/* ------------------------------------------------------------ indirect selection */

/* Atom level: out = s plus the tests of s per the indirect mode. */
static void expand(SelState *st, const uint8_t *s, Sets *out)
{
    Graph *g = st->c.g;
    int n = st->c.n;
    memcpy(out->d, s, (size_t)n);
    memcpy(out->u, s, (size_t)n);
    if (st->mode == INDIRECT_EMPTY)
        return;
    if (st->mode == INDIRECT_BUILDABLE) {
        /* selected, their ancestors, and every source */
        memcpy(st->tmp, s, (size_t)n);
        bfs(st, s, true, -1, st->tmp);
        for (int i = 0; i < n; i++)
            if (st->c.p->nodes[i]->rt == RT_SOURCE)
                st->tmp[i] = 1;
    }
    for (int v = 0; v < n; v++) {
        if (!s[v])
            continue;
        for (int k = 0; k < g->nchildren[v]; k++) {
            int t = g->children[v][k];
            if (out->u[t] || !is_test(st, t))
                continue;
            out->u[t] = 1;
            if (st->mode == INDIRECT_EAGER || parents_within(st, t, s) ||
                (st->mode == INDIRECT_BUILDABLE && parents_within(st, t, st->tmp)))
                out->d[t] = 1;
        }
    }
}

/* Composite level: tests held back as indirect join the direct set once all
 * their parents are there (cautious) or are there or upstream (buildable). */
static void incorporate(SelState *st, Sets *x)
{
    int n = st->c.n;
    if (st->mode != INDIRECT_CAUTIOUS && st->mode != INDIRECT_BUILDABLE)
        return;
    bool pending = false;
    for (int i = 0; i < n && !pending; i++)
        pending = x->u[i] && !x->d[i];
    if (!pending)
        return;
    memcpy(st->tmp, x->d, (size_t)n);
    if (st->mode == INDIRECT_BUILDABLE)
        bfs(st, x->d, true, -1, st->tmp);
    for (int i = 0; i < n; i++)
        if (x->u[i] && !x->d[i] && parents_within(st, i, st->tmp))
            x->d[i] = 1;
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
    int n = st->c.n, rc = -1;
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
    memset(st->col, 0, (size_t)n);
    if (fn(&st->c, &a, st->col) < 0)
        goto done;
    memcpy(st->s, st->col, (size_t)n);
    if (a.at) {
        /* the node, its descendants, and every ancestor of those */
        memcpy(st->tmp, st->col, (size_t)n);
        bfs(st, st->col, false, -1, st->tmp);
        for (int i = 0; i < n; i++)
            st->s[i] |= st->tmp[i];
        bfs(st, st->tmp, true, -1, st->s);
    }
    if (a.parents)
        bfs(st, st->col, true, a.parents_depth, st->s);
    if (a.children)
        bfs(st, st->col, false, a.children_depth, st->s);
    expand(st, st->s, &st->atom);
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
    int n = st->c.n;
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
            memcpy(st->isect.d, st->atom.d, (size_t)n);
            memcpy(st->isect.u, st->atom.u, (size_t)n);
            first = false;
        } else {
            for (int i = 0; i < n; i++) {
                st->isect.d[i] &= st->atom.d[i];
                st->isect.u[i] &= st->atom.u[i];
            }
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
    int n = st->c.n;
    memset(out->d, 0, (size_t)n);
    memset(out->u, 0, (size_t)n);
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
            for (int i = 0; i < n; i++) {
                out->d[i] |= st->isect.d[i];
                out->u[i] |= st->isect.d[i] | st->isect.u[i];
            }
        }
    }
    incorporate(st, out);
    return 0;
}

/* ------------------------------------------------------------ entry point */

int graph_select(Project *p, Graph *g, const SelectOptions *opt, bool *out, Diag *err)
{
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
    st.block = xcalloc(12, un);
    uint8_t *b = st.block;
    st.col = b; b += un;
    st.s = b; b += un;
    st.tmp = b; b += un;
    st.seen = b; b += un;
    st.atom.d = b; b += un;  st.atom.u = b; b += un;
    st.isect.d = b; b += un; st.isect.u = b; b += un;
    st.inc.d = b; b += un;   st.inc.u = b; b += un;
    st.exc.d = b; b += un;   st.exc.u = b;
    st.queue = xmalloc(sizeof(int) * un);
    st.dist = xmalloc(sizeof(int) * un);

    if (opt->nselect == 0) {
        /* dbt's default includes (fqn:*, source:*, ...): every node */
        memset(st.inc.d, 1, (size_t)n);
        memset(st.inc.u, 1, (size_t)n);
    } else if (eval_union(&st, opt->select, opt->nselect, &st.inc) < 0) {
        goto done;
    }
    if (opt->nexclude > 0 && eval_union(&st, opt->exclude, opt->nexclude, &st.exc) < 0)
        goto done;

    for (int i = 0; i < n; i++) {
        uint8_t d = st.inc.d[i] && !st.exc.d[i];
        uint8_t u = (st.inc.d[i] || st.inc.u[i]) && !(st.exc.d[i] || st.exc.u[i]);
        st.inc.d[i] = d;
        st.inc.u[i] = u;
    }
    incorporate(&st, &st.inc);

    bool any_rt = false;
    for (int k = 0; k < RT__COUNT; k++)
        any_rt |= opt->resource_types[k];
    for (int i = 0; i < n; i++) {
        int rt = (int)p->nodes[i]->rt;
        out[i] = st.inc.d[i] && (!any_rt || (rt >= 0 && rt < RT__COUNT && opt->resource_types[rt]));
    }
    rc = 0;
done:
    sb_free(&st.c.sb);
    free(st.block);
    free(st.queue);
    free(st.dist);
    return rc;
}
