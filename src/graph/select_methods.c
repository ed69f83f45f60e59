/* select_methods.c - the `method:value` matchers of dbt's selection syntax
 * (spec §12.3): fqn, tag, path, file, package, config.<key>, resource_type,
 * source, exposure, test_type, test_name, group, access, version, and the
 * methods that match nothing in cdbt (metric:, ...) or need --state.
 *
 * Each matcher scans Project.nodes once and marks hits in a byte set; which
 * nodes a method looks at follows dbt (fqn: every node but sources and exposures; tag,
 * path, file, package, config, resource_type: all nodes; source: sources
 * only).  Parsing the expression, the graph operators and the set algebra
 * are select.c's business.  Wildcards follow Python's fnmatch (the `*`
 * crosses '/' and '.'), except path: which globs segment-wise like
 * pathlib (`*` within one segment, `**` across segments). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "select_priv.h"
#include "../value/value.h"
#include "../base/arena.h"

/* ------------------------------------------------------------ fnmatch */

/* Decode one UTF-8 sequence (lenient: a bad byte counts as one char). */
static size_t utf8_char(const char *s, size_t n, unsigned *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = 1;
    unsigned c = u[0];
    if (c >= 0xF0 && n >= 4) { len = 4; c &= 0x07; }
    else if (c >= 0xE0 && n >= 3) { len = 3; c &= 0x0F; }
    else if (c >= 0xC0 && n >= 2) { len = 2; c &= 0x1F; }
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) { *cp = u[0]; return 1; }
        c = (c << 6) | (u[i] & 0x3F);
    }
    *cp = c;
    return len;
}

/* Length of the [..] class starting at pat[0] == '[', or 0 when it is not
 * closed (Python then treats the '[' literally). */
static size_t class_len(const char *pat, size_t pn)
{
    size_t j = 1;
    if (j < pn && pat[j] == '!') j++;
    if (j < pn && pat[j] == ']') j++;
    while (j < pn && pat[j] != ']') j++;
    return j < pn ? j + 1 : 0;
}

static bool class_match(const char *pat, size_t clen, unsigned ch)
{
    size_t i = 1, end = clen - 1;
    bool neg = false, hit = false;
    if (pat[i] == '!') { neg = true; i++; }
    while (i < end) {
        unsigned lo, hi;
        i += utf8_char(pat + i, end - i, &lo);
        hi = lo;
        /* a '-' between two members makes a range */
        if (i + 1 < end && pat[i] == '-') {
            i++;
            i += utf8_char(pat + i, end - i, &hi);
        }
        if (lo <= ch && ch <= hi)
            hit = true;
    }
    return hit != neg;
}

bool gsel_fnmatch(const char *pat, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star_pi = (size_t)-1, star_si = 0;
    while (si < sn) {
        if (pi < pn) {
            char ch = pat[pi];
            if (ch == '*') {
                star_pi = pi++;
                star_si = si;
                continue;
            }
            if (ch == '?') {
                unsigned cp;
                si += utf8_char(s + si, sn - si, &cp);
                pi++;
                continue;
            }
            size_t cl = ch == '[' ? class_len(pat + pi, pn - pi) : 0;
            if (cl) {
                unsigned cp;
                size_t k = utf8_char(s + si, sn - si, &cp);
                if (class_match(pat + pi, cl, cp)) {
                    pi += cl;
                    si += k;
                    continue;
                }
            } else if (ch == s[si]) {
                pi++;
                si++;
                continue;
            }
        }
        if (star_pi == (size_t)-1)
            return false;
        pi = star_pi + 1;
        si = ++star_si;
    }
    while (pi < pn && pat[pi] == '*')
        pi++;
    return pi == pn;
}

bool gsel_has_wild(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == ']')
            return true;
    return false;
}

static bool fnmatchz(const GselAtom *a, const char *pat, const char *s)
{
    if (!s)
        return false;
    if (!a->wild)
        return strcmp(pat, s) == 0;
    return gsel_fnmatch(pat, strlen(pat), s, strlen(s));
}

/* ------------------------------------------------------------ fqn */

/* Walks the fqn "flattened": every segment split on '.'. */
typedef struct FlatCur { const char *const *seg; int nseg, si; const char *p; } FlatCur;

static bool flat_next(FlatCur *fc, GselSlice *out)
{
    if (fc->si >= fc->nseg)
        return false;
    if (!fc->p)
        fc->p = fc->seg[fc->si] ? fc->seg[fc->si] : "";
    const char *dot = strchr(fc->p, '.');
    out->p = fc->p;
    if (dot) {
        out->n = (size_t)(dot - fc->p);
        fc->p = dot + 1;
    } else {
        out->n = strlen(fc->p);
        fc->si++;
        fc->p = NULL;
    }
    return true;
}

/* dbt's is_selected_node() for a versioned model: its name (fqn[-2]), the
 * last two parts joined by '_' or '.' ("dim_v2", "dim.v2"). */
static bool version_selected(const Node *nd, const char *sel)
{
    if (!nd->version || nd->nfqn < 2)
        return false;
    const char *name = nd->fqn[nd->nfqn - 2], *v = nd->fqn[nd->nfqn - 1];
    if (strcmp(name, sel) == 0)
        return true;
    size_t nl = strlen(name);
    if (strncmp(sel, name, nl) == 0 && sel[nl] == '_' && strcmp(sel + nl + 1, v) == 0)
        return true;
    /* the selector's last two dotted parts ("dim.v2", "pkg.dim.v2") */
    const char *last = strrchr(sel, '.');
    if (!last || strcmp(last + 1, v) != 0)
        return false;
    const char *prev = last;
    while (prev > sel && prev[-1] != '.')
        prev--;
    return (size_t)(last - prev) == nl && strncmp(prev, name, nl) == 0;
}

/* dbt's is_selected_node() for an unversioned node. */
static bool fqn_selected(GselCtx *c, const GselAtom *a, const char *const *fqn, int nfqn, bool check_leaf)
{
    if (nfqn <= 0)
        return false;
    if (check_leaf && fqn[nfqn - 1] && strcmp(fqn[nfqn - 1], a->value) == 0)
        return true;
    FlatCur fc = {fqn, nfqn, 0, NULL};
    for (int i = 0; i < a->nparts; i++) {
        GselSlice fp;
        if (!flat_next(&fc, &fp))
            return false;
        if (i == a->wild_part) {
            /* fnmatch the rest of the flat fqn, re-joined with '.', against
             * the rest of the selector. */
            Sb *sb = &c->sb;
            sb_reset(sb);
            sb_append(sb, fp.p, strlen(fp.p));
            if (fc.p) {
                /* fp was inside a segment: its tail already copied; skip it */
                fc.si++;
            }
            for (int k = fc.si; k < nfqn; k++) {
                sb_putc(sb, '.');
                sb_puts(sb, fqn[k] ? fqn[k] : "");
            }
            size_t nflat = 1;
            for (size_t k = 0; k < sb->len; k++)
                nflat += sb->buf[k] == '.';
            if ((size_t)i + nflat < (size_t)a->nparts)
                return false;
            const char *pat = a->parts[i].p;
            return gsel_fnmatch(pat, strlen(pat), sb_cstr(sb), sb->len);
        }
        if (fp.n != a->parts[i].n || memcmp(fp.p, a->parts[i].p, fp.n) != 0)
            return false;
    }
    return true;
}

static void fqn_index_add(GselFqnIndex *ix, const char *k, size_t kn, int node)
{
    void *v = strmap_get(&ix->map, k, kn);
    int head = v ? (int)(intptr_t)v - 1 : -1;
    if (head >= 0 && ix->ent_node[head] == node)
        return;                       /* same node under the same key twice */
    int e = ix->nent++;
    ix->ent_node[e] = node;
    ix->ent_next[e] = head;
    strmap_put(&ix->map, k, kn, (void *)(intptr_t)(e + 1));
}

static size_t first_flat_len(const char *seg)
{
    const char *d = strchr(seg, '.');
    return d ? (size_t)(d - seg) : strlen(seg);
}

static void fqn_index_build(GselCtx *c)
{
    GselFqnIndex *ix = &c->fqn_index;
    strmap_init(&ix->map);
    ix->ent_node = xmalloc(sizeof(int) * (4 * (size_t)c->n + 1));
    ix->ent_next = xmalloc(sizeof(int) * (4 * (size_t)c->n + 1));
    ix->nent = 0;
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (nd->rt == RT_SOURCE || nd->rt == RT_EXPOSURE || !nd->fqn || nd->nfqn <= 0)
            continue;
        const char *leaf = nd->fqn[nd->nfqn - 1] ? nd->fqn[nd->nfqn - 1] : "";
        const char *f0 = nd->fqn[0] ? nd->fqn[0] : "";
        if (nd->version && nd->nfqn >= 2) {
            /* a versioned model: its name and <name>_v<v> (version_selected) */
            const char *name = nd->fqn[nd->nfqn - 2];
            fqn_index_add(ix, name, strlen(name), i);
            sb_reset(&c->sb);
            sb_printf(&c->sb, "%s_%s", name, leaf);
            fqn_index_add(ix, c->sb.buf, c->sb.len, i);
        } else {
            fqn_index_add(ix, leaf, strlen(leaf), i);
        }
        fqn_index_add(ix, f0, first_flat_len(f0), i);
        if (nd->nfqn > 1) {
            const char *f1 = nd->fqn[1] ? nd->fqn[1] : "";
            fqn_index_add(ix, f1, first_flat_len(f1), i);
        }
    }
    ix->built = true;
}

void gsel_ctx_free(GselCtx *c)
{
    if (c->fqn_index.built) {
        strmap_free(&c->fqn_index.map);
        free(c->fqn_index.ent_node);
        free(c->fqn_index.ent_next);
        c->fqn_index.built = false;
    }
    gsel_state_free(c->state);
    c->state = NULL;
    sb_free(&c->sb);
}

static int m_fqn(GselCtx *c, const GselAtom *a, GselSet *out)
{
    /* A plain name matches exactly the nodes whose leaf, first flat part or
     * first flat part after the package equals it: after a few such atoms
     * (wide unions of model names) answer them from an index. */
    if (a->nparts == 1 && !a->wild) {
        if (!c->fqn_index.built && ++c->plain_fqn_atoms > 4)
            fqn_index_build(c);
        if (c->fqn_index.built) {
            void *v = strmap_get(&c->fqn_index.map, a->value, strlen(a->value));
            for (int e = v ? (int)(intptr_t)v - 1 : -1; e >= 0; e = c->fqn_index.ent_next[e])
                gsel_add(out, c->fqn_index.ent_node[e]);
            return 0;
        }
    }
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (nd->rt == RT_SOURCE || nd->rt == RT_EXPOSURE || !nd->fqn || nd->nfqn <= 0)
            continue;
        const char *const *fqn = (const char *const *)nd->fqn;
        if ((nd->version && version_selected(nd, a->value)) || fqn_selected(c, a, fqn, nd->nfqn, !nd->version) ||
            fqn_selected(c, a, fqn + 1, nd->nfqn - 1, false))
            gsel_add(out, i);
    }
    return 0;
}

/* ------------------------------------------------------------ tag, package, file */

static int m_tag(GselCtx *c, const GselAtom *a, GselSet *out)
{
    for (int i = 0; i < c->n; i++) {
        VList *tags = c->p->nodes[i]->tags;
        if (!tags)
            continue;
        for (size_t k = 0; k < tags->len; k++) {
            const char *t = value_cstr(tags->items[k]);
            if (t && fnmatchz(a, a->value, t)) {
                gsel_add(out, i);
                break;
            }
        }
    }
    return 0;
}

static int m_package(GselCtx *c, const GselAtom *a, GselSet *out)
{
    const char *pkg = a->value;
    bool wild = a->wild;
    if (strcmp(pkg, "this") == 0) {
        pkg = c->p->name ? c->p->name : "";
        wild = gsel_has_wild(pkg, strlen(pkg));
    }
    for (int i = 0; i < c->n; i++) {
        const char *np = c->p->nodes[i]->package_name;
        if (!np)
            continue;
        if (wild ? gsel_fnmatch(pkg, strlen(pkg), np, strlen(np)) : strcmp(pkg, np) == 0)
            gsel_add(out, i);
    }
    return 0;
}

static int m_file(GselCtx *c, const GselAtom *a, GselSet *out)
{
    size_t vn = strlen(a->value);
    for (int i = 0; i < c->n; i++) {
        const char *ofp = c->p->nodes[i]->original_file_path;
        if (!ofp)
            continue;
        const char *name = strrchr(ofp, '/');
        name = name ? name + 1 : ofp;
        size_t nn = strlen(name);
        const char *dot = strrchr(name, '.');
        size_t stem = (dot && dot != name && dot[1]) ? (size_t)(dot - name) : nn;
        if (a->wild) {
            if (gsel_fnmatch(a->value, vn, name, nn) || gsel_fnmatch(a->value, vn, name, stem))
                gsel_add(out, i);
        } else if ((vn == nn || vn == stem) && memcmp(a->value, name, vn) == 0) {
            gsel_add(out, i);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ path */

/* pathlib-style glob of pattern against path (both '/'-separated, relative):
 * '*' and friends stay within a segment, a whole "**" segment spans any
 * number of segments (zero included). */
static bool glob_path(const char *pat, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0;
    size_t star_pi = (size_t)-1, star_si = 0;
    for (;;) {
        bool p_end = pi >= pn, s_end = si >= sn;
        if (p_end && s_end)
            return true;
        size_t pe = pi, se = si;
        while (pe < pn && pat[pe] != '/') pe++;
        while (se < sn && s[se] != '/') se++;
        if (!p_end && pe - pi == 2 && pat[pi] == '*' && pat[pi + 1] == '*') {
            star_pi = pi;
            star_si = si;
            pi = pe < pn ? pe + 1 : pe;
            continue;
        }
        if (!p_end && !s_end && gsel_fnmatch(pat + pi, pe - pi, s + si, se - si)) {
            pi = pe < pn ? pe + 1 : pe;
            si = se < sn ? se + 1 : se;
            /* "a/" vs "a": a trailing separator on one side only is no match */
            continue;
        }
        if (star_pi == (size_t)-1 || star_si >= sn)
            return false;
        /* let the last "**" swallow one more segment */
        size_t nx = star_si;
        while (nx < sn && s[nx] != '/') nx++;
        star_si = nx < sn ? nx + 1 : nx;
        si = star_si;
        pi = star_pi;
        pi += 2;
        if (pi < pn) pi++;
    }
}

/* Does the selector (normalised, relative) match path or any parent dir of it? */
static bool path_or_parent_hit(const char *sel, size_t sl, bool wild, const char *path)
{
    size_t n = strlen(path);
    if (!wild) {
        if (n < sl || memcmp(path, sel, sl) != 0)
            return false;
        return n == sl || path[sl] == '/';
    }
    if (glob_path(sel, sl, path, n))
        return true;
    for (size_t k = n; k-- > 0;)
        if (path[k] == '/' && glob_path(sel, sl, path, k))
            return true;
    return false;
}

/* Normalise a path selector into c->sb: drop "." segments, empty segments
 * and the trailing '/', and make an absolute path under the root relative. */
static int path_normalise(GselCtx *c, const GselAtom *a)
{
    const char *v = a->value;
    Sb *sb = &c->sb;
    sb_reset(sb);
    if (v[0] == '/') {
        const char *root = c->p->root ? c->p->root : "";
        size_t rl = strlen(root);
        while (rl > 0 && root[rl - 1] == '/')
            rl--;
        if (rl == 0 || strncmp(v, root, rl) != 0 || (v[rl] != '/' && v[rl] != '\0'))
            return gsel_fail(c, a, "path '%s' is outside the project directory", v);
        v += rl;
    }
    const char *s = v;
    while (*s) {
        while (*s == '/') s++;
        const char *e = s;
        while (*e && *e != '/') e++;
        size_t len = (size_t)(e - s);
        if (len && !(len == 1 && s[0] == '.')) {
            if (sb->len)
                sb_putc(sb, '/');
            sb_append(sb, s, len);
        }
        s = e;
    }
    return 0;
}

static int m_path(GselCtx *c, const GselAtom *a, GselSet *out)
{
    if (path_normalise(c, a) < 0)
        return -1;
    const char *sel = sb_cstr(&c->sb);
    size_t sl = c->sb.len;
    bool wild = gsel_has_wild(sel, sl);
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (sl == 0) {                 /* "." : the project root is every file's parent */
            if (nd->original_file_path)
                gsel_add(out, i);
            continue;
        }
        if (nd->original_file_path && path_or_parent_hit(sel, sl, wild, nd->original_file_path)) {
            gsel_add(out, i);
            continue;
        }
        if (nd->patch_path) {
            const char *yml = strstr(nd->patch_path, "://");
            yml = yml ? yml + 3 : nd->patch_path;
            size_t yn = strlen(yml);
            if (wild ? glob_path(sel, sl, yml, yn) : (yn == sl && memcmp(yml, sel, sl) == 0))
                gsel_add(out, i);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ config, group, access */

static bool scalar_eq(GselCtx *c, Value v, const char *sel, bool ci)
{
    switch (v.type) {
    case V_STR:
        return ci ? strcasecmp(v.u.s->s, sel) == 0
                  : (v.u.s->len == strlen(sel) && memcmp(v.u.s->s, sel, v.u.s->len) == 0);
    case V_BOOL:
        return strcasecmp(sel, v.u.b ? "true" : "false") == 0;
    case V_INT:
    case V_FLOAT:
        sb_reset(&c->sb);
        value_str(&c->sb, v);
        return strcmp(sb_cstr(&c->sb), sel) == 0;
    default:
        return false;
    }
}

static int m_config(GselCtx *c, const GselAtom *a, GselSet *out)
{
    if (a->nargs == 0)
        return gsel_fail(c, a, "method 'config' needs a key, as in config.materialized:%s", a->value);
    bool ci = a->nargs == 1 && strcmp(a->args[0], "severity") == 0;
    for (int i = 0; i < c->n; i++) {
        VDict *d = c->p->nodes[i]->config;
        Value *v = NULL;
        for (int k = 0; d && k < a->nargs; k++) {
            v = dict_getz(d, a->args[k]);
            d = (v && v->type == V_DICT) ? v->u.d : NULL;
            if (!v)
                break;
            if (k + 1 < a->nargs && !d)
                v = NULL;
        }
        if (!v)
            continue;
        if (v->type == V_LIST || v->type == V_TUPLE) {
            for (size_t k = 0; k < v->u.l->len; k++)
                if (scalar_eq(c, v->u.l->items[k], a->value, ci)) {
                    gsel_add(out, i);
                    break;
                }
        } else if (scalar_eq(c, *v, a->value, ci)) {
            gsel_add(out, i);
        }
    }
    return 0;
}

static const char *config_str(Node *nd, const char *key)
{
    Value *v = nd->config ? dict_getz(nd->config, key) : NULL;
    return v ? value_cstr(*v) : NULL;
}

static int m_group(GselCtx *c, const GselAtom *a, GselSet *out)
{
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        const char *grp = nd->rt == RT_SOURCE ? NULL : config_str(nd, "group");
        if (grp && strcmp(grp, a->value) == 0)
            gsel_add(out, i);
    }
    return 0;
}

static int m_access(GselCtx *c, const GselAtom *a, GselSet *out)
{
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (nd->rt != RT_MODEL)
            continue;
        const char *acc = config_str(nd, "access");
        if (strcmp(acc ? acc : "protected", a->value) == 0)
            gsel_add(out, i);
    }
    return 0;
}

/* ------------------------------------------------------------ resource_type, tests */

/* dbt's NodeType values; those cdbt has no nodes for map to -1. */
static const struct { const char *name; int rt; } RT_NAMES[] = {
    {"model", RT_MODEL}, {"seed", RT_SEED}, {"test", RT_TEST}, {"snapshot", RT_SNAPSHOT},
    {"analysis", RT_ANALYSIS}, {"source", RT_SOURCE}, {"macro", RT_MACRO},
    {"operation", RT_OPERATION}, {"exposure", RT_EXPOSURE}, {"metric", -1}, {"unit_test", RT_UNIT_TEST},
    {"semantic_model", -1}, {"saved_query", -1}, {"group", -1}, {"doc", -1},
    {"sql_operation", -1}, {"rpc", -1}, {"fixture", -1},
};

static int m_resource_type(GselCtx *c, const GselAtom *a, GselSet *out)
{
    for (size_t k = 0; k < sizeof RT_NAMES / sizeof RT_NAMES[0]; k++) {
        if (strcmp(RT_NAMES[k].name, a->value) != 0)
            continue;
        for (int i = 0; i < c->n; i++)
            if ((int)c->p->nodes[i]->rt == RT_NAMES[k].rt)
                gsel_add(out, i);
        return 0;
    }
    return gsel_fail(c, a, "unknown resource type '%s'", a->value);
}

static int m_test_type(GselCtx *c, const GselAtom *a, GselSet *out)
{
    const char *v = a->value;
    bool generic, singular;
    if (strcmp(v, "generic") == 0 || strcmp(v, "schema") == 0) {
        generic = true; singular = false;
    } else if (strcmp(v, "singular") == 0) {
        generic = false; singular = true;
    } else if (strcmp(v, "data") == 0) {      /* dbt >= 1.8: "data tests" = both kinds */
        generic = true; singular = true;
    } else if (strcmp(v, "unit") == 0) {
        for (int i = 0; i < c->n; i++)
            if (c->p->nodes[i]->rt == RT_UNIT_TEST)
                gsel_add(out, i);
        return 0;
    } else {
        return gsel_fail(c, a, "unknown test type '%s' (expected generic, singular, unit or data)", v);
    }
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (nd->rt == RT_TEST && (nd->is_generic_test ? generic : singular))
            gsel_add(out, i);
    }
    return 0;
}

static int m_test_name(GselCtx *c, const GselAtom *a, GselSet *out)
{
    bool dotted = strchr(a->value, '.') != NULL;
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (nd->rt != RT_TEST || !nd->is_generic_test || !nd->test_name)
            continue;
        if (fnmatchz(a, a->value, nd->test_name)) {
            gsel_add(out, i);
        } else if (dotted && nd->test_namespace) {
            /* cdbt extension: "<namespace>.<name>" */
            sb_reset(&c->sb);
            sb_printf(&c->sb, "%s.%s", nd->test_namespace, nd->test_name);
            if (fnmatchz(a, a->value, sb_cstr(&c->sb)))
                gsel_add(out, i);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ source */

static int m_source(GselCtx *c, const GselAtom *a, GselSet *out)
{
    static const GselSlice star = {"*", 1};
    GselSlice pkg = star, src, tbl = star;
    if (a->nparts == 1) {
        src = a->parts[0];
    } else if (a->nparts == 2) {
        src = a->parts[0]; tbl = a->parts[1];
    } else if (a->nparts == 3) {
        pkg = a->parts[0]; src = a->parts[1]; tbl = a->parts[2];
    } else {
        return gsel_fail(c, a, "a source selector has the form source_name, "
                         "source_name.table_name or package_name.source_name.table_name");
    }
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (nd->rt != RT_SOURCE || !nd->package_name || !nd->source_name || !nd->name)
            continue;
        if (gsel_fnmatch(pkg.p, pkg.n, nd->package_name, strlen(nd->package_name)) &&
            gsel_fnmatch(src.p, src.n, nd->source_name, strlen(nd->source_name)) &&
            gsel_fnmatch(tbl.p, tbl.n, nd->name, strlen(nd->name)))
            gsel_add(out, i);
    }
    return 0;
}

/* ------------------------------------------------------------ exposure */

/* exposure:<name> or exposure:<package>.<name> (fnmatch on each part). */
static int m_exposure(GselCtx *c, const GselAtom *a, GselSet *out)
{
    static const GselSlice star = {"*", 1};
    GselSlice pkg = star, name;
    if (a->nparts == 1) {
        name = a->parts[0];
    } else if (a->nparts == 2) {
        pkg = a->parts[0]; name = a->parts[1];
    } else {
        return gsel_fail(c, a, "Invalid exposure selector value \"%s\". Exposures must be of the form "
                         "${exposure_name} or ${exposure_package.exposure_name}", a->value);
    }
    for (int i = 0; i < c->n; i++) {
        Node *nd = c->p->nodes[i];
        if (nd->rt != RT_EXPOSURE || !nd->package_name || !nd->name)
            continue;
        if (gsel_fnmatch(pkg.p, pkg.n, nd->package_name, strlen(nd->package_name)) &&
            gsel_fnmatch(name.p, name.n, nd->name, strlen(nd->name)))
            gsel_add(out, i);
    }
    return 0;
}

/* ------------------------------------------------------------ the rest */

/* dbt's UnparsedVersion order: as numbers when both read as numbers, else
 * as strings. */
static int version_cmp(const char *x, const char *y)
{
    char *ex, *ey;
    double a = strtod(x, &ex), b = strtod(y, &ey);
    if (*x && *y && !*ex && !*ey)
        return a < b ? -1 : a > b ? 1 : 0;
    return strcmp(x, y);
}

static int m_version(GselCtx *c, const GselAtom *a, GselSet *out)
{
    const char *v = a->value;
    int want;                              /* 0 latest, 1 prerelease, -1 old, 2 none */
    if (strcmp(v, "latest") == 0)
        want = 0;
    else if (strcmp(v, "prerelease") == 0)
        want = 1;
    else if (strcmp(v, "old") == 0)
        want = -1;
    else if (strcmp(v, "none") == 0)
        want = 2;
    else
        return gsel_fail(c, a, "Invalid version type selector %s: expected one of: 'latest', 'prerelease', 'old', or 'none'", v);
    for (int i = 0; i < c->n; i++) {
        const Node *nd = c->p->nodes[i];
        if (nd->rt != RT_MODEL)
            continue;
        const ModelVersion *mv = nd->version;
        if (want == 2 ? !mv : mv && version_cmp(mv->vtext, mv->latest_text) == want)
            gsel_add(out, i);
    }
    return 0;
}

/* Resource kinds cdbt does not have (metrics, ...): never match. */
static int m_nothing(GselCtx *c, const GselAtom *a, GselSet *out)
{
    return 0;
}

static int m_needs_state(GselCtx *c, const GselAtom *a, GselSet *out)
{
    if (!c->opt->state_dir)
        return gsel_fail(c, a, "%s: selection needs --state", a->method);
    /* TODO(state): sources.json for source_status:. */
    return gsel_fail(c, a, "%s: selection is not supported by cdbt yet", a->method);
}

static const struct { const char *name; GselMatchFn fn; } METHODS[] = {
    {"fqn", m_fqn}, {"tag", m_tag}, {"path", m_path}, {"file", m_file},
    {"package", m_package}, {"config", m_config}, {"resource_type", m_resource_type},
    {"source", m_source}, {"test_type", m_test_type}, {"test_name", m_test_name},
    {"group", m_group}, {"access", m_access}, {"version", m_version},
    {"state", gsel_m_state}, {"result", gsel_m_result}, {"source_status", m_needs_state},
    {"exposure", m_exposure}, {"metric", m_nothing}, {"semantic_model", m_nothing},
    {"saved_query", m_nothing}, {"unit_test", m_nothing}, {"wildcard", m_nothing},
};

GselMatchFn gsel_find_method(const char *name, size_t n)
{
    for (size_t k = 0; k < sizeof METHODS / sizeof METHODS[0]; k++)
        if (strlen(METHODS[k].name) == n && memcmp(METHODS[k].name, name, n) == 0)
            return METHODS[k].fn;
    return NULL;
}
