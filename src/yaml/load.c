/* load.c - libyaml events -> a marked YNode tree (PyYAML SafeLoader rules).
 *
 * Owns: driving libyaml's event parser over the first document, building
 * nodes without recursion (an explicit frame stack bounded by
 * YAML_MAX_DEPTH and one scratch array of child pointers shared by all open
 * containers), anchors and aliases (an alias shares the anchored node; its
 * depth counts towards the limit, so alias bombs stay small and bounded),
 * merge keys and duplicate keys in the order PyYAML's flatten_mapping and
 * dict construction give, tag checks on collections, source marks (byte
 * offsets, 1-based line/column in bytes) and located error messages.
 * Equal short string scalars share one VStr.  Scalar typing is resolve.c's;
 * conversion to Values is convert.c's.
 *
 * Deliberate difference: a recursive alias (a node containing itself) is
 * rejected, where PyYAML would build a cyclic structure. */
#include "ypriv.h"
#include "../base/strmap.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define DEDUP_LINEAR_MAX 8     /* maps up to this size dedupe keys by linear scan */

typedef struct Anchor {
    const char *name;      /* arena copy */
    YNode *node;
    int height;            /* container levels at and below the node (0: scalar) */
    bool open;             /* container still being built */
} Anchor;

typedef struct Frame {
    YNode *node;
    size_t base;           /* first slot of this container's children in stack */
    int anchor;            /* index into anchors, or -1 */
    int height;            /* largest child height so far */
} Frame;

typedef struct Loader {
    Arena *a;              /* the tree: nodes, child arrays, anchors, non-string texts */
    Arena *va;             /* resolved scalar values */
    Diag *err;
    SrcFile src;
    const char *text;
    size_t len;
    bool ascii;            /* libyaml's character index is then the byte offset */
    size_t *lines;         /* non-ASCII text: byte offset of each libyaml line */
    size_t nlines;
    YNode **stack;         /* children of the open containers (maps: key, value, ...) */
    size_t sp, scap;
    Frame frames[YAML_MAX_DEPTH];
    int depth;
    Anchor *anchors;
    size_t nanchors, acap;
    uint32_t *aidx;        /* open addressing over anchors: index + 1, 0 empty */
    size_t aidx_cap;
    uint32_t *kidx;        /* scratch table for duplicate keys of large maps */
    size_t kidx_cap;
    struct StrSlot *strs;  /* open addressing over the short string scalars seen so far */
    size_t nstrs, strs_cap;
    YNode *root;
    bool have_root;
} Loader;

/* ------------------------------------------------------------ positions */

static bool all_ascii(const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL)
            return false;
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] & 0x80)
            return false;
    return true;
}

/* Length of the line break at s[i] as libyaml counts breaks (\r\n, \r, \n,
 * NEL, LS, PS), 0 if none. */
static size_t break_len(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '\n')
        return 1;
    if (c == '\r')
        return i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
    if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
        return 2;
    if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
        ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
        return 3;
    return 0;
}

static void build_lines(Loader *L)
{
    size_t cap = 64, n = 0;
    size_t *v = xmalloc(cap * sizeof *v);
    v[n++] = 0;
    for (size_t i = 0; i < L->len;) {
        size_t b = break_len(L->text, L->len, i);
        if (!b) {
            i++;
            continue;
        }
        i += b;
        if (n == cap) {
            cap *= 2;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[n++] = i;
    }
    L->lines = v;
    L->nlines = n;
}

/* Byte offset (and 1-based line/column in bytes) of a libyaml mark, whose
 * index and column count characters. */
static size_t mark_pos(Loader *L, yaml_mark_t m, int *line, int *col)
{
    if (L->ascii) {
        size_t off = m.index < L->len ? m.index : L->len;
        *line = (int)m.line + 1;
        *col = (int)m.column + 1;
        return off;
    }
    if (!L->lines)
        build_lines(L);
    size_t ln = m.line < L->nlines ? m.line : L->nlines - 1;
    size_t start = L->lines[ln], o = start;
    size_t end = ln + 1 < L->nlines ? L->lines[ln + 1] : L->len;
    if (ln == 0 && L->len >= 3 && memcmp(L->text, "\xEF\xBB\xBF", 3) == 0)
        o = 3;                                   /* libyaml does not count the BOM */
    for (size_t c = 0; c < m.column && o < end; c++) {
        o++;
        while (o < end && ((unsigned char)L->text[o] & 0xC0) == 0x80)
            o++;
    }
    *line = (int)ln + 1;
    *col = (int)(o - start) + 1;
    return o;
}

static size_t mark_off(Loader *L, yaml_mark_t m)
{
    int line, col;
    return mark_pos(L, m, &line, &col);
}

static int fail_at(Loader *L, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(Loader *L, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(L->err, &L->src, off, fmt, ap);
    va_end(ap);
    return -1;
}

static void parser_error(Loader *L, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown problem";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        diag_set(L->err, L->src.path, 0, 0, NULL, "out of memory while parsing YAML");
        break;
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            fail_at(L, p->problem_offset, "%s (#%X)", problem, (unsigned)p->problem_value);
        else
            fail_at(L, p->problem_offset, "%s", problem);
        break;
    default: {
        size_t off = mark_off(L, p->problem_mark);
        if (!p->context) {
            fail_at(L, off, "%s", problem);
            break;
        }
        fail_at(L, off, "%s %s", problem, p->context);
        int cl, cc;
        mark_pos(L, p->context_mark, &cl, &cc);
        if (p->context_mark.index != p->problem_mark.index)
            diag_note(L->err, "note: %s starting at line %d, column %d", p->context, cl, cc);
        break;
    }
    }
}

/* ------------------------------------------------------------ anchors */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static Anchor *find_anchor(Loader *L, const char *name)
{
    if (!L->aidx_cap)
        return NULL;
    size_t mask = L->aidx_cap - 1;
    for (size_t i = hash_name(name) & mask; L->aidx[i]; i = (i + 1) & mask) {
        Anchor *an = &L->anchors[L->aidx[i] - 1];
        if (!strcmp(an->name, name))
            return an;
    }
    return NULL;
}

static void index_anchor(Loader *L, size_t k)
{
    size_t mask = L->aidx_cap - 1;
    size_t i = hash_name(L->anchors[k].name) & mask;
    while (L->aidx[i])
        i = (i + 1) & mask;
    L->aidx[i] = (uint32_t)(k + 1);
}

/* Register an anchor on node n; returns its index, or -1 (error recorded)
 * for a duplicate, as PyYAML's composer rejects those. */
static int add_anchor(Loader *L, const char *name, YNode *n, bool open)
{
    Anchor *old = find_anchor(L, name);
    if (old) {
        int line = old->node->line, col = old->node->col;
        fail_at(L, n->offset, "found duplicate anchor '%s'", name);
        diag_note(L->err, "note: first occurrence at line %d, column %d", line, col);
        return -1;
    }
    if (L->nanchors == L->acap) {
        L->acap = L->acap ? L->acap * 2 : 16;
        L->anchors = xrealloc(L->anchors, L->acap * sizeof *L->anchors);
    }
    size_t k = L->nanchors++;
    L->anchors[k] = (Anchor){ arena_strdup(L->a, name), n, 0, open };
    if (L->nanchors * 2 > L->aidx_cap) {
        free(L->aidx);
        L->aidx_cap = L->aidx_cap ? L->aidx_cap * 2 : 32;
        L->aidx = xcalloc(L->aidx_cap, sizeof *L->aidx);
        for (size_t j = 0; j < L->nanchors; j++)
            index_anchor(L, j);
    } else {
        index_anchor(L, k);
    }
    return (int)k;
}

/* ------------------------------------------------------------ string scalars */

#define INTERN_MAX 64          /* longer strings are rarely repeated: not looked up */

typedef struct StrSlot {
    VStr *v;               /* NULL: empty */
    uint64_t h;            /* strmap_hash of its text */
} StrSlot;

static void strs_grow(Loader *L)
{
    size_t cap = L->strs_cap ? L->strs_cap * 2 : 256, mask = cap - 1;
    StrSlot *t = xcalloc(cap, sizeof *t);
    for (size_t i = 0; i < L->strs_cap; i++) {
        if (!L->strs[i].v)
            continue;
        size_t j = (size_t)L->strs[i].h & mask;
        while (t[j].v)
            j = (j + 1) & mask;
        t[j] = L->strs[i];
    }
    free(L->strs);
    L->strs = t;
    L->strs_cap = cap;
}

/* The value of a string scalar: short strings equal to one seen before in
 * this document share its VStr (strings are immutable), so the keys and
 * repeated words of a large properties file cost their bytes once.  The
 * table points at the VStrs themselves (no copies of the keys), and a
 * VStr made here carries its hash (vstr_hash's value), computed anyway. */
static VStr *scalar_str(Loader *L, const char *s, size_t len)
{
    if (len > INTERN_MAX)
        return vstr_new(L->va, s, len);
    if ((L->nstrs + 1) * 2 > L->strs_cap)
        strs_grow(L);
    uint64_t h = strmap_hash(s, len);
    size_t mask = L->strs_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        StrSlot *e = &L->strs[i];
        if (!e->v) {
            e->v = vstr_new(L->va, s, len);
            e->v->hash = h ? h : 1;
            e->h = h;
            L->nstrs++;
            return e->v;
        }
        if (e->h == h && e->v->len == len && memcmp(e->v->s, s, len) == 0)
            return e->v;
    }
}

/* ------------------------------------------------------------ tree building */

static void push(Loader *L, YNode *n)
{
    if (L->sp == L->scap) {
        L->scap = L->scap ? L->scap * 2 : 256;
        L->stack = xrealloc(L->stack, L->scap * sizeof *L->stack);
    }
    L->stack[L->sp++] = n;
}

static YNode *new_node(Loader *L, YNodeKind kind, yaml_mark_t m)
{
    YNode *n = ARENA_NEW(L->a, YNode);
    n->kind = kind;
    n->offset = mark_pos(L, m, &n->line, &n->col);
    return n;
}

static const char *node_id(const YNode *n)
{
    return n->kind == YN_MAP ? "mapping" : n->kind == YN_SEQ ? "sequence" : "scalar";
}

/* A scalar that resolved to "<<" or "=" carries V_UNDEF with u.i = kind
 * until its place in the tree is known. */
static bool is_special(const YNode *n, YScalarKind k)
{
    return n->kind == YN_SCALAR && n->value.type == V_UNDEF && n->value.u.i == (int64_t)k;
}

/* Attach a finished node (height: its container levels) to the open
 * container, or make it the document root. */
static int add_child(Loader *L, YNode *n, int height)
{
    bool key_pos = false;
    if (L->depth > 0) {
        Frame *f = &L->frames[L->depth - 1];
        key_pos = f->node->kind == YN_MAP && (L->sp - f->base) % 2 == 0;
        if (height > f->height)
            f->height = height;
    }
    if (n->kind == YN_SCALAR && n->value.type == V_UNDEF) {
        bool eq = is_special(n, YS_EQUALS);
        if (key_pos && eq)
            n->value = v_str(L->va, n->text, n->text_len);    /* flatten_mapping makes it a str */
        else if (!key_pos)
            return fail_at(L, n->offset, "could not determine a constructor for the tag '%s%s'",
                           YAML_TAG_PREFIX, eq ? "value" : "merge");
    }
    if (key_pos && n->kind != YN_SCALAR)
        return fail_at(L, n->offset, "found unhashable key");
    if (L->depth == 0) {
        L->root = n;
        L->have_root = true;
        return 0;
    }
    push(L, n);
    return 0;
}

static void push_pairs_of(Loader *L, YNode *m)
{
    for (size_t j = 0; j < m->n; j++) {
        m->items[j]->shared = true;      /* now reachable from two mappings */
        push(L, m->keys[j]);
        push(L, m->items[j]);
    }
}

static bool key_eq(const YNode *a, const YNode *b)
{
    return a == b || value_eq(a->value, b->value);
}

/* Fill m->keys/items from cnt (key, value) pairs at stack[src..]: first
 * position of a key, last value (Python dict semantics). */
static void dedupe(Loader *L, YNode *m, size_t src, size_t cnt)
{
    YNode **keys = ARENA_ARRAY(L->a, YNode *, cnt ? cnt : 1);
    YNode **items = ARENA_ARRAY(L->a, YNode *, cnt ? cnt : 1);
    size_t out = 0;
    if (cnt <= DEDUP_LINEAR_MAX) {
        for (size_t i = 0; i < cnt; i++) {
            YNode *k = L->stack[src + 2 * i], *v = L->stack[src + 2 * i + 1];
            size_t j = 0;
            while (j < out && !key_eq(keys[j], k))
                j++;
            if (j < out) {
                items[j] = v;
            } else {
                keys[out] = k;
                items[out++] = v;
            }
        }
    } else {
        size_t cap = 16;
        while (cap < cnt * 2)
            cap *= 2;
        if (cap > L->kidx_cap) {
            free(L->kidx);
            L->kidx = xmalloc(cap * sizeof *L->kidx);
            L->kidx_cap = cap;
        }
        memset(L->kidx, 0, cap * sizeof *L->kidx);
        size_t mask = cap - 1;
        for (size_t i = 0; i < cnt; i++) {
            YNode *k = L->stack[src + 2 * i], *v = L->stack[src + 2 * i + 1];
            size_t h = (size_t)value_hash(k->value) & mask;
            while (L->kidx[h] && !key_eq(keys[L->kidx[h] - 1], k))
                h = (h + 1) & mask;
            if (L->kidx[h]) {
                items[L->kidx[h] - 1] = v;
            } else {
                keys[out] = k;
                items[out] = v;
                L->kidx[h] = (uint32_t)++out;
            }
        }
    }
    m->keys = keys;
    m->items = items;
    m->n = out;
}

/* Close a mapping: merge keys as PyYAML's flatten_mapping orders them
 * (merged pairs first, a list of maps reversed so earlier maps win, then
 * the mapping's own pairs), then duplicate keys. */
static int finish_map(Loader *L, Frame *f)
{
    YNode *m = f->node;
    size_t base = f->base, np = (L->sp - base) / 2;
    size_t src = base, cnt = np;
    bool merge = false;
    for (size_t i = 0; i < np && !merge; i++)
        merge = is_special(L->stack[base + 2 * i], YS_MERGE);
    if (merge) {
        size_t start = L->sp;
        for (size_t i = 0; i < np; i++) {
            if (!is_special(L->stack[base + 2 * i], YS_MERGE))
                continue;
            YNode *v = L->stack[base + 2 * i + 1];
            if (v->kind == YN_MAP) {
                push_pairs_of(L, v);
            } else if (v->kind == YN_SEQ) {
                for (size_t j = 0; j < v->n; j++)
                    if (v->items[j]->kind != YN_MAP)
                        return fail_at(L, v->items[j]->offset,
                                       "expected a mapping for merging, but found %s",
                                       node_id(v->items[j]));
                for (size_t j = v->n; j-- > 0;)
                    push_pairs_of(L, v->items[j]);
            } else {
                return fail_at(L, v->offset,
                               "expected a mapping or list of mappings for merging, but found %s",
                               node_id(v));
            }
        }
        for (size_t i = 0; i < np; i++) {
            YNode *k = L->stack[base + 2 * i];
            if (is_special(k, YS_MERGE))
                continue;
            YNode *v = L->stack[base + 2 * i + 1];
            push(L, k);
            push(L, v);
        }
        src = start;
        cnt = (L->sp - start) / 2;
    }
    dedupe(L, m, src, cnt);
    L->sp = base;
    return 0;
}

static void finish_seq(Loader *L, Frame *f)
{
    YNode *s = f->node;
    s->n = L->sp - f->base;
    if (s->n) {
        s->items = arena_alloc(L->a, s->n * sizeof *s->items);
        memcpy(s->items, L->stack + f->base, s->n * sizeof *s->items);
    }
    L->sp = f->base;
}

/* An explicit tag on a collection: only !!seq / !!map (and the
 * non-specific "!") are accepted. */
static int check_collection_tag(Loader *L, const char *tag, YNode *n)
{
    if (!tag || !strcmp(tag, "!"))
        return 0;
    size_t pl = strlen(YAML_TAG_PREFIX);
    const char *found = node_id(n);
    if (strncmp(tag, YAML_TAG_PREFIX, pl) != 0)
        return fail_at(L, n->offset, "could not determine a constructor for the tag '%s'", tag);
    const char *t = tag + pl;
    if ((n->kind == YN_SEQ && !strcmp(t, "seq")) || (n->kind == YN_MAP && !strcmp(t, "map")))
        return 0;
    static const char *const scalar_tags[] = { "str", "int", "float", "bool", "null",
                                               "timestamp", "binary", "merge", "value" };
    for (size_t i = 0; i < sizeof scalar_tags / sizeof scalar_tags[0]; i++)
        if (!strcmp(t, scalar_tags[i]))
            return fail_at(L, n->offset, "expected a scalar node, but found %s", found);
    if (!strcmp(t, "map"))
        return fail_at(L, n->offset, "expected a mapping node, but found %s", found);
    if (!strcmp(t, "seq"))
        return fail_at(L, n->offset, "expected a sequence node, but found %s", found);
    if (!strcmp(t, "set") || !strcmp(t, "omap") || !strcmp(t, "pairs"))
        return fail_at(L, n->offset, "the tag '%s' is not supported", tag);
    return fail_at(L, n->offset, "could not determine a constructor for the tag '%s'", tag);
}

static int on_scalar(Loader *L, const yaml_event_t *ev)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    char errbuf[YAML_ERRBUF];
    YNode *n = new_node(L, YN_SCALAR, ev->start_mark);
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
                ev->data.scalar.style != YAML_ANY_SCALAR_STYLE;
    n->text_len = len;
    YScalarKind k;
    if (!tag || !strcmp(tag, "!"))
        k = ev->data.scalar.plain_implicit ? yaml_resolve_plain(L->va, s, len, &n->value, errbuf) : YS_STR;
    else if (!strcmp(tag, YAML_TAG_PREFIX "map") || !strcmp(tag, YAML_TAG_PREFIX "seq"))
        return fail_at(L, n->offset, "expected a %s node, but found scalar",
                       tag[strlen(YAML_TAG_PREFIX)] == 'm' ? "mapping" : "sequence");
    else
        k = yaml_construct_tagged(L->va, tag, s, len, &n->value, errbuf);
    switch (k) {
    case YS_STR: {
        VStr *vs = scalar_str(L, s, len);
        n->value = v_vstr(vs);
        n->text = vs->s;
        break;
    }
    case YS_VALUE:
        n->text = arena_strndup(L->a, s, len);
        break;
    case YS_MERGE:
    case YS_EQUALS:
        n->text = arena_strndup(L->a, s, len);
        n->value = v_undef();
        n->value.u.i = (int64_t)k;
        break;
    case YS_ERROR:
        return fail_at(L, n->offset, "%s", errbuf);
    }
    if (ev->data.scalar.anchor && add_anchor(L, (const char *)ev->data.scalar.anchor, n, false) < 0)
        return -1;
    return add_child(L, n, 0);
}

static int on_start(Loader *L, const yaml_event_t *ev, YNodeKind kind)
{
    const char *tag, *anchor;
    if (kind == YN_SEQ) {
        tag = (const char *)ev->data.sequence_start.tag;
        anchor = (const char *)ev->data.sequence_start.anchor;
    } else {
        tag = (const char *)ev->data.mapping_start.tag;
        anchor = (const char *)ev->data.mapping_start.anchor;
    }
    YNode *n = new_node(L, kind, ev->start_mark);
    if (L->depth >= YAML_MAX_DEPTH)
        return fail_at(L, n->offset, "YAML nesting is deeper than %d levels", YAML_MAX_DEPTH);
    if (check_collection_tag(L, tag, n))
        return -1;
    int ai = -1;
    if (anchor && (ai = add_anchor(L, anchor, n, true)) < 0)
        return -1;
    L->frames[L->depth++] = (Frame){ n, L->sp, ai, 0 };
    return 0;
}

static int on_end(Loader *L)
{
    Frame f = L->frames[--L->depth];
    if (f.node->kind == YN_MAP) {
        if (finish_map(L, &f))
            return -1;
    } else {
        finish_seq(L, &f);
    }
    int height = f.height + 1;
    if (f.anchor >= 0) {
        L->anchors[f.anchor].open = false;
        L->anchors[f.anchor].height = height;
    }
    return add_child(L, f.node, height);
}

static int on_alias(Loader *L, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    size_t off = mark_off(L, ev->start_mark);
    Anchor *an = find_anchor(L, name);
    if (!an)
        return fail_at(L, off, "found undefined alias '%s'", name);
    if (an->open)
        return fail_at(L, off, "found recursive alias '%s': a node cannot contain itself", name);
    if (L->depth + an->height > YAML_MAX_DEPTH)
        return fail_at(L, off, "alias '%s' makes YAML nesting deeper than %d levels", name,
                       YAML_MAX_DEPTH);
    an->node->shared = true;
    return add_child(L, an->node, an->height);
}

int yaml_load(Arena *a, const char *path, const char *text, size_t len, YNode **root, Diag *err)
{
    return yaml_load_split(a, a, path, text, len, root, err);
}

int yaml_load_split(Arena *tree, Arena *values, const char *path, const char *text, size_t len,
                    YNode **root, Diag *err)
{
    Loader L;
    yaml_parser_t p;
    yaml_event_t ev;
    bool have_ev = false;
    int rc = -1;

    *root = NULL;
    if (!text) {
        text = "";
        len = 0;
    }
    memset(&L, 0, sizeof L);
    L.a = tree;
    L.va = values;
    L.err = err;
    L.text = text;
    L.len = len;
    L.ascii = all_ascii(text, len);
    srcfile_init(&L.src, path, text, len);
    if (!yaml_parser_initialize(&p)) {
        diag_set(err, path, 0, 0, NULL, "out of memory while parsing YAML");
        srcfile_free(&L.src);
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (bool done = false; !done;) {
        if (!yaml_parser_parse(&p, &ev)) {
            parser_error(&L, &p);
            goto out;
        }
        have_ev = true;
        int st = 0;
        switch (ev.type) {
        case YAML_SCALAR_EVENT:         st = on_scalar(&L, &ev); break;
        case YAML_SEQUENCE_START_EVENT: st = on_start(&L, &ev, YN_SEQ); break;
        case YAML_MAPPING_START_EVENT:  st = on_start(&L, &ev, YN_MAP); break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:    st = on_end(&L); break;
        case YAML_ALIAS_EVENT:          st = on_alias(&L, &ev); break;
        case YAML_DOCUMENT_END_EVENT:   /* only the first document is loaded */
        case YAML_STREAM_END_EVENT:     done = true; break;
        default: break;
        }
        yaml_event_delete(&ev);
        have_ev = false;
        if (st)
            goto out;
    }
    if (L.have_root) {
        YNode *r = L.root;
        bool empty = r->kind == YN_SCALAR && r->value.type == V_NONE && r->text_len == 0 && !r->quoted;
        *root = empty ? NULL : r;
    }
    rc = 0;
out:
    if (have_ev)
        yaml_event_delete(&ev);
    yaml_parser_delete(&p);
    free(L.stack);
    free(L.anchors);
    free(L.aidx);
    free(L.kidx);
    free(L.strs);
    free(L.lines);
    srcfile_free(&L.src);
    return rc;
}
