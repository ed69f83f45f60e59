/* ast.c - AST builders called by the grammar actions, and the open-block stack.
 *
 * Owns: node construction (arena), name interning, the stack of open blocks
 * (if/for/macro/call/...) with "expected 'endfor' to close 'for' opened at
 * f:l:c" diagnostics, parse-time resolution of filters and tests (unknown
 * ones are parse errors, as in Jinja2), detection of `varargs`/`kwargs`/
 * `caller` use in macro bodies, and the called-names lists.
 * Leaves to others: tokens (lexer.c), the grammar (grammar/template.y), the
 * driver and public accessors (parse.c), evaluation (eval.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "tplgram.h"

#define MAX_EXPR_DEPTH 500

static const char *const block_names[] = {
    [BLK_ROOT] = "template", [BLK_IF] = "if", [BLK_FOR] = "for", [BLK_SET] = "set",
    [BLK_MACRO] = "macro", [BLK_CALL] = "call", [BLK_FILTER] = "filter", [BLK_WITH] = "with",
    [BLK_TEST] = "test", [BLK_MATERIALIZATION] = "materialization", [BLK_SNAPSHOT] = "snapshot",
    [BLK_DOCS] = "docs",
};

void ast_fail(Builder *B, size_t off, const char *fmt, ...)
{
    if (B->failed)
        return;
    B->failed = true;
    va_list ap;
    va_start(ap, fmt);
    diag_vat(B->err, B->src, off, fmt, ap);
    va_end(ap);
}

void ast_init(Builder *B, Arena *a, SrcFile *src, Diag *err)
{
    memset(B, 0, offsetof(Builder, stack));      /* blocks are initialised when pushed */
    memset(&B->stack[0], 0, sizeof B->stack[0]);
    memset((char *)B + offsetof(Builder, depth), 0, sizeof *B - offsetof(Builder, depth));
    B->a = a;
    B->src = src;
    B->err = err;
    B->t = ARENA_NEW(a, Template);
    B->t->src = src;
    B->t->arena = a;
    B->stack[0].kind = BLK_ROOT;
    B->stack[0].cur = &B->t->body;
}

uint32_t tpl_name_hash(const char *s, size_t n);
uint32_t tpl_name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ? h : 1;
}

Name name_make(const char *s, size_t n)
{
    Name nm = {s, (uint32_t)n, tpl_name_hash(s, n)};
    return nm;
}

Name ast_name(Builder *B, const char *s, size_t n)
{
    Template *t = B->t;
    uint32_t h = tpl_name_hash(s, n);
    if (t->namecap == 0) {
        t->namecap = 8;               /* grows by doubling; most templates use a handful of names */
        t->names = ARENA_ARRAY(B->a, Name, t->namecap);
    }
    size_t mask = t->namecap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        Name *e = &t->names[i];
        if (!e->s)
            break;
        if (e->hash == h && e->len == n && memcmp(e->s, s, n) == 0)
            return *e;
    }
    if ((t->nnames + 1) * 2 > t->namecap) {
        size_t nc = t->namecap * 2;
        Name *nn = ARENA_ARRAY(B->a, Name, nc);
        for (size_t i = 0; i < t->namecap; i++) {
            if (!t->names[i].s)
                continue;
            size_t j = t->names[i].hash & (nc - 1);
            while (nn[j].s)
                j = (j + 1) & (nc - 1);
            nn[j] = t->names[i];
        }
        t->names = nn;
        t->namecap = nc;
        mask = nc - 1;
    }
    Name nm = {arena_strndup(B->a, s, n), (uint32_t)n, h};
    size_t i = h & mask;
    while (t->names[i].s)
        i = (i + 1) & mask;
    t->names[i] = nm;
    t->nnames++;
    return nm;
}

static void nl_push(Arena *a, NodeList *l, Node *n)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 4;
        l->items = arena_realloc(a, l->items, sizeof(Node *) * (size_t)l->cap, sizeof(Node *) * (size_t)nc);
        l->cap = nc;
    }
    l->items[l->n++] = n;
}

static Node *mk(Builder *B, int kind, size_t off)
{
    Node *n = ARENA_NEW(B->a, Node);
    n->kind = (uint8_t)kind;
    n->off = off;
    n->start = off;
    n->depth = 1;
    return n;
}

/* Track tree height; fail when an expression gets too deep to evaluate recursively. */
static Node *grow(Builder *B, Node *n, Node *child)
{
    if (n && child && child->depth + 1 > n->depth) {
        n->depth = (uint16_t)(child->depth + 1 > MAX_EXPR_DEPTH ? MAX_EXPR_DEPTH : child->depth + 1);
        if (child->depth + 1 >= MAX_EXPR_DEPTH)
            ast_fail(B, n->off, "expression too complex (nesting limit %d)", MAX_EXPR_DEPTH);
    }
    return n;
}

/* ---------------------------------------------------------------- items */
static NodeList *cur_body(Builder *B)
{
    return B->stack[B->depth].cur;
}

static void add_stmt(Builder *B, Node *n)
{
    nl_push(B->a, cur_body(B), n);
}

void ast_text(Builder *B, Tok *t)
{
    if (B->failed)
        return;
    Node *n = mk(B, S_TEXT, t->off);
    n->text = t->s;
    n->tlen = t->slen;
    add_stmt(B, n);
}

void ast_output(Builder *B, Tok *t, Node *e)
{
    if (B->failed || !e)
        return;
    Node *n = mk(B, S_OUTPUT, e->off);
    n->a = e;
    add_stmt(B, n);
}

/* ---------------------------------------------------------------- expressions */
Node *ast_const(Builder *B, Tok *t)
{
    Node *n = mk(B, N_CONST, t->off);
    switch (t->code) {
    case TK_STRING: n->v = v_str(B->a, t->s, t->slen); break;
    case TK_INT: n->v = v_int(t->i); break;
    case TK_FLOAT: n->v = v_float(t->f); break;
    case TK_TRUE: n->v = v_bool(true); break;
    case TK_FALSE: n->v = v_bool(false); break;
    default: n->v = v_none(); break;
    }
    return n;
}

Node *ast_strcat(Builder *B, Node *a, Tok *t)
{
    if (!a)
        return NULL;
    VStr *s = a->v.u.s;
    size_t n = s->len + t->slen;
    char *buf = arena_alloc(B->a, n + 1);
    memcpy(buf, s->s, s->len);
    memcpy(buf + s->len, t->s, t->slen);
    a->v = v_str(B->a, buf, n);
    return a;
}

static bool name_is(const Name *n, const char *z)
{
    size_t l = strlen(z);
    return n->len == l && memcmp(n->s, z, l) == 0;
}

Node *ast_var(Builder *B, Tok *t)
{
    Node *n = mk(B, N_NAME, t->off);
    n->name = ast_name(B, t->s, t->slen);
    bool va = name_is(&n->name, "varargs"), kw = name_is(&n->name, "kwargs"), ca = name_is(&n->name, "caller");
    if (va || kw || ca) {
        for (int i = B->depth; i > 0; i--) {
            MacroDef *m = B->stack[i].macro;
            if (!m)
                continue;
            bool shadowed = false;
            for (int p = 0; p < m->nparams; p++)
                if (name_is(&m->params[p]->name, n->name.s))
                    shadowed = true;
            if (shadowed)
                break;
            m->catch_varargs |= va;
            m->catch_kwargs |= kw;
            m->uses_caller |= ca;
        }
    }
    return n;
}

Node *ast_binop(Builder *B, int op, Node *a, Node *b, Tok *optok)
{
    if (!a || !b)
        return NULL;
    Node *n = mk(B, N_BINOP, optok->off);
    n->start = a->start;
    n->op = (uint8_t)op;
    n->a = a;
    n->b = b;
    grow(B, n, a);
    return grow(B, n, b);
}

Node *ast_logic(Builder *B, int kind, Node *a, Node *b)
{
    if (!a || !b)
        return NULL;
    Node *n = mk(B, kind, a->off);
    n->start = a->start;
    n->a = a;
    n->b = b;
    grow(B, n, a);
    return grow(B, n, b);
}

Node *ast_unary(Builder *B, int kind, Tok *t, Node *a)
{
    if (!a)
        return NULL;
    Node *n = mk(B, kind, t->off);
    n->a = a;
    return grow(B, n, a);
}

Node *ast_compare(Builder *B, Node *a, int op, Node *b, Tok *optok)
{
    if (!a || !b)
        return NULL;
    Node *n = a;
    if (a->kind != N_COMPARE || a->paren) {
        n = mk(B, N_COMPARE, optok->off);
        n->start = a->start;
        nl_push(B->a, &n->list, a);
        grow(B, n, a);
    }
    int nops = n->list.n - 1;
    uint8_t *ops = arena_alloc(B->a, (size_t)nops + 1);
    if (nops)
        memcpy(ops, n->ops, (size_t)nops);
    ops[nops] = (uint8_t)op;
    n->ops = ops;
    nl_push(B->a, &n->list, b);
    return grow(B, n, b);
}

Node *ast_cond(Builder *B, Node *x, Node *c, Node *y)
{
    if (!x || !c)
        return NULL;
    Node *n = mk(B, N_COND, c->off);
    n->start = x->start;
    n->a = x;
    n->b = c;
    n->c = y;
    grow(B, n, x);
    grow(B, n, c);
    return grow(B, n, y);
}

Node *ast_getattr(Builder *B, Node *obj, Tok *name, Tok *dot)
{
    if (!obj)
        return NULL;
    Node *n = mk(B, N_GETATTR, dot->off);
    n->start = obj->start;
    n->a = obj;
    n->name = ast_name(B, name->s, name->slen);
    return grow(B, n, obj);
}

Node *ast_getitem(Builder *B, Node *obj, Node *key)
{
    if (!key)
        return NULL;
    Node *n = mk(B, N_GETITEM, key->off);
    n->a = obj;
    n->b = key;
    if (obj)
        grow(B, n, obj);
    return grow(B, n, key);
}

Node *ast_slice(Builder *B, Node *obj, Node *lo, Node *hi, Node *step)
{
    Node *n = mk(B, N_SLICE, lo ? lo->off : hi ? hi->off : step ? step->off : B->tag_start);
    n->a = obj;
    n->b = lo;
    n->c = hi;
    if (step) {
        Args *x = ast_args_pos(B, NULL, step);
        n->args = x;
    }
    grow(B, n, lo);
    grow(B, n, hi);
    return grow(B, n, step);
}

static void add_called(Builder *B, const char ***arr, int *n, int *cap, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*arr)[i], name) == 0)
            return;
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        *arr = arena_realloc(B->a, (void *)*arr, sizeof(char *) * (size_t)*cap, sizeof(char *) * (size_t)nc);
        *cap = nc;
    }
    (*arr)[(*n)++] = name;
}

Node *ast_call(Builder *B, Node *callee, Args *args)
{
    if (!callee || !args)
        return NULL;
    Node *n = mk(B, N_CALL, callee->start);
    n->a = callee;
    n->args = args;
    grow(B, n, callee);
    for (int i = 0; i < args->pos.n; i++)
        grow(B, n, args->pos.items[i]);
    for (int i = 0; i < args->kwvals.n; i++)
        grow(B, n, args->kwvals.items[i]);
    grow(B, n, args->star);
    grow(B, n, args->dstar);
    const char *cn = NULL;
    if (callee->kind == N_NAME)
        cn = callee->name.s;
    else if (callee->kind == N_GETATTR && callee->a->kind == N_NAME)
        cn = arena_sprintf(B->a, "%s.%s", callee->a->name.s, callee->name.s);
    if (cn) {
        add_called(B, &B->t->called, &B->t->ncalled, &B->t->calledcap, cn);
        for (int i = B->depth; i > 0; i--) {
            MacroDef *m = B->stack[i].macro;
            if (m && !m->is_caller)
                add_called(B, &m->called, &m->ncalled, &m->calledcap, cn);
        }
    }
    return n;
}

Node *ast_filter(Builder *B, Tok *name, Args *args)
{
    Node *n = mk(B, N_FILTER, name->off);
    n->name = ast_name(B, name->s, name->slen);
    n->args = args;
    n->fn = tpl_find_filter(name->s, name->slen);
    if (!n->fn)
        ast_fail(B, name->off, "no filter named '%.*s'", (int)name->slen, name->s);
    if (args)
        for (int i = 0; i < args->pos.n; i++)
            grow(B, n, args->pos.items[i]);
    return n;
}

Node *ast_test(Builder *B, Tok *name, Args *args, Node *arg, bool negated)
{
    Node *n = mk(B, N_TEST, name->off);
    n->name = ast_name(B, name->s, name->slen);
    if (arg)
        args = ast_args_pos(B, NULL, arg);
    n->args = args;
    n->op = negated;
    n->fn = tpl_find_test(name->s, name->slen);
    if (!n->fn)
        ast_fail(B, name->off, "no test named '%.*s'", (int)name->slen, name->s);
    if (args)
        for (int i = 0; i < args->pos.n; i++)
            grow(B, n, args->pos.items[i]);
    return n;
}

Node *ast_apply(Builder *B, Node *subject, Node *f)
{
    if (!subject || !f)
        return NULL;
    f->a = subject;
    f->start = subject->start;
    return grow(B, f, subject);
}

Node *ast_subscript(Builder *B, Node *obj, Node *sub, Tok *lb)
{
    if (!obj || !sub)
        return NULL;
    sub->off = lb->off;
    return ast_apply(B, obj, sub);
}

Node *ast_chain_filters(Builder *B, Node *inner, Node *outer)
{
    if (!inner || !outer)
        return NULL;
    /* the innermost filter keeps a NULL subject: the block's captured text */
    outer->a = inner;
    outer->start = inner->start;
    return grow(B, outer, inner);
}

Node *ast_list(Builder *B, Node *list, Node *item)
{
    if (!list) {
        list = mk(B, N_LIST, item ? item->off : B->tag_start);
        list->op = 1;                    /* an expression list, not a [..] literal */
    }
    if (item) {
        nl_push(B->a, &list->list, item);
        grow(B, list, item);
    }
    return list;
}

Node *ast_seq(Builder *B, int kind, Tok *t, Node *list)
{
    Node *n = mk(B, kind, t->off);
    if (list) {
        /* a list built by ast_list(B, ast_list(NULL, e), L) nests L: flatten */
        for (int i = 0; i < list->list.n; i++) {
            Node *it = list->list.items[i];
            if (it && it->kind == N_LIST && it->op == 1) {
                for (int j = 0; j < it->list.n; j++)
                    nl_push(B->a, &n->list, it->list.items[j]);
            } else {
                nl_push(B->a, &n->list, it);
            }
        }
        n->depth = list->depth;
        grow(B, n, list);
    }
    return n;
}

Node *ast_paren(Builder *B, Node *e)
{
    if (e)
        e->paren = 1;
    return e;
}

Node *ast_dict(Builder *B, Node *dict, Node *k, Node *v)
{
    if (!k || !v)
        return dict;
    if (!dict)
        dict = mk(B, N_DICT, k->off);
    nl_push(B->a, &dict->list, k);
    nl_push(B->a, &dict->list2, v);
    grow(B, dict, k);
    return grow(B, dict, v);
}

Node *ast_dict_done(Builder *B, Tok *t, Node *dict)
{
    if (!dict)
        dict = mk(B, N_DICT, t->off);
    dict->off = t->off;
    return dict;
}

Args *ast_args_empty(Builder *B)
{
    return ARENA_NEW(B->a, Args);
}

Args *ast_args_pos(Builder *B, Args *a, Node *e)
{
    if (!a)
        a = ast_args_empty(B);
    if (e)
        nl_push(B->a, &a->pos, e);
    return a;
}

Args *ast_args_kw(Builder *B, Args *a, Tok *name, Node *e)
{
    if (!a)
        a = ast_args_empty(B);
    if (!e)
        return a;
    if (a->kwvals.n == a->kwcap) {
        int nc = a->kwcap ? a->kwcap * 2 : 4;
        a->kwnames = arena_realloc(B->a, a->kwnames, sizeof(Name) * (size_t)a->kwcap, sizeof(Name) * (size_t)nc);
        a->kwstrs = arena_realloc(B->a, a->kwstrs, sizeof(VStr *) * (size_t)a->kwcap, sizeof(VStr *) * (size_t)nc);
        a->kwcap = nc;
    }
    a->kwnames[a->kwvals.n] = ast_name(B, name->s, name->slen);
    a->kwstrs[a->kwvals.n] = vstr_new(B->a, name->s, name->slen);
    nl_push(B->a, &a->kwvals, e);
    return a;
}

Args *ast_args_star(Builder *B, Args *a, Node *e, bool dstar)
{
    if (!a)
        a = ast_args_empty(B);
    if (dstar)
        a->dstar = e;
    else
        a->star = e;
    return a;
}

/* ---------------------------------------------------------------- targets */
Target *ast_target_name(Builder *B, Tok *name)
{
    Target *t = ARENA_NEW(B->a, Target);
    t->name = ast_name(B, name->s, name->slen);
    return t;
}

Target *ast_target_add(Builder *B, Target *tuple, Target *item)
{
    if (!tuple)
        return item;
    if (!item) {                         /* parenthesised: make sure it is a tuple node */
        if (tuple->is_tuple)
            tuple->closed = true;
        return tuple;                    /* `(a)` is just a */
    }
    if (!tuple->is_tuple || tuple->closed) {
        Target *t = ARENA_NEW(B->a, Target);
        t->is_tuple = true;
        t->cap = 4;
        t->items = ARENA_ARRAY(B->a, Target *, 4);
        t->items[t->n++] = tuple;
        tuple = t;
    }
    if (tuple->n == tuple->cap) {
        int nc = tuple->cap * 2;
        tuple->items = arena_realloc(B->a, tuple->items, sizeof(Target *) * (size_t)tuple->cap, sizeof(Target *) * (size_t)nc);
        tuple->cap = nc;
    }
    tuple->items[tuple->n++] = item;
    return tuple;
}

/* ---------------------------------------------------------------- blocks */
static const char *loc(Builder *B, size_t off)
{
    int line, col;
    srcfile_linecol(B->src, off, &line, &col);
    return arena_sprintf(B->a, "%s:%d:%d", B->src->path ? B->src->path : "<template>", line, col);
}

static Block *push(Builder *B, int kind, Node *node, NodeList *cur, size_t off)
{
    if (B->failed)
        return NULL;
    if (B->depth >= TPL_MAX_NESTING) {
        ast_fail(B, off, "blocks nested too deeply (limit %d)", TPL_MAX_NESTING);
        return NULL;
    }
    if (node)
        add_stmt(B, node);
    Block *b = &B->stack[++B->depth];
    memset(b, 0, sizeof *b);
    b->kind = (BlockKind)kind;
    b->node = node;
    b->cur = cur;
    b->off = off;
    b->tag_start = B->tag_start;
    return b;
}

static const char *end_of(int kind)
{
    switch (kind) {
    case BLK_IF: return "endif";
    case BLK_FOR: return "endfor";
    case BLK_SET: return "endset";
    case BLK_MACRO: return "endmacro";
    case BLK_CALL: return "endcall";
    case BLK_FILTER: return "endfilter";
    case BLK_WITH: return "endwith";
    case BLK_TEST: return "endtest";
    case BLK_MATERIALIZATION: return "endmaterialization";
    case BLK_SNAPSHOT: return "endsnapshot";
    case BLK_DOCS: return "enddocs";
    default: return "end";
    }
}

static void unexpected_tag(Builder *B, Tok *k)
{
    Block *top = &B->stack[B->depth];
    if (B->depth == 0)
        ast_fail(B, k->off, "unexpected '%.*s': no block is open", (int)k->len, B->src->text + k->off);
    else
        ast_fail(B, k->off, "unexpected '%.*s': expected '%s' to close '%s' opened at %s",
                 (int)k->len, B->src->text + k->off, end_of(top->kind), block_names[top->kind],
                 loc(B, top->off));
}

void ast_open_if(Builder *B, Tok *k, Node *e)
{
    if (B->failed || !e)
        return;
    Node *n = mk(B, S_IF, k->off);
    n->a = e;
    Block *b = push(B, BLK_IF, n, &n->list, k->off);
    if (b)
        b->aux = n;
}

void ast_elif(Builder *B, Tok *k, Node *e)
{
    if (B->failed || !e)
        return;
    Block *b = &B->stack[B->depth];
    if (b->kind != BLK_IF || b->has_else) {
        unexpected_tag(B, k);
        return;
    }
    Node *n = mk(B, S_IF, k->off);
    n->a = e;
    nl_push(B->a, &b->aux->list2, n);
    b->aux = n;
    b->cur = &n->list;
}

void ast_else(Builder *B, Tok *k)
{
    if (B->failed)
        return;
    Block *b = &B->stack[B->depth];
    if ((b->kind != BLK_IF && b->kind != BLK_FOR) || b->has_else) {
        unexpected_tag(B, k);
        return;
    }
    b->has_else = true;
    b->cur = b->kind == BLK_IF ? &b->aux->list2 : &b->node->list2;
}

static void register_macro(Builder *B, MacroDef *m)
{
    Template *t = B->t;
    if (t->nmacros == t->macrocap) {
        int nc = t->macrocap ? t->macrocap * 2 : 8;
        t->macros = arena_realloc(B->a, t->macros, sizeof(TplMacro *) * (size_t)t->macrocap, sizeof(TplMacro *) * (size_t)nc);
        t->macrocap = nc;
    }
    TplMacro *tm = ARENA_NEW(B->a, TplMacro);
    tm->def = m;
    t->macros[t->nmacros++] = tm;
}

void ast_end(Builder *B, Tok *k, int blk)
{
    if (B->failed)
        return;
    Block *b = &B->stack[B->depth];
    if (B->depth == 0 || (int)b->kind != blk) {
        unexpected_tag(B, k);
        return;
    }
    if (b->macro) {
        b->macro->end = B->tag_end;
        if (B->depth == 1 && !b->macro->is_caller)
            register_macro(B, b->macro);
    }
    B->depth--;
}

void ast_open_for(Builder *B, Tok *k, Target *t, Node *iter, Node *cond)
{
    if (B->failed || !t || !iter)
        return;
    if (!cond && iter->kind == N_COND && !iter->c && !iter->paren) {
        cond = iter->b;                  /* `for x in y if c`: a loop filter */
        iter = iter->a;
    }
    Node *n = mk(B, S_FOR, k->off);
    n->target = t;
    n->a = iter;
    n->b = cond;
    push(B, BLK_FOR, n, &n->list, k->off);
}

void ast_loopctl(Builder *B, Tok *k, int kind)
{
    if (B->failed)
        return;
    bool ok = false;
    for (int i = B->depth; i > 0; i--) {
        if (B->stack[i].kind == BLK_FOR) {
            ok = true;
            break;
        }
        if (B->stack[i].macro)
            break;
    }
    if (!ok) {
        ast_fail(B, k->off, "'%s' outside loop", kind == S_BREAK ? "break" : "continue");
        return;
    }
    add_stmt(B, mk(B, kind, k->off));
}

void ast_set(Builder *B, Tok *k, Target *t, Node *e)
{
    if (B->failed || !t || !e)
        return;
    Node *n = mk(B, S_SET, k->off);
    n->target = t;
    n->a = e;
    add_stmt(B, n);
}

void ast_set_attr(Builder *B, Tok *k, Tok *obj, Tok *attr, Node *e)
{
    if (B->failed || !e)
        return;
    Node *n = mk(B, S_SETATTR, obj->off);
    n->b = ast_var(B, obj);
    n->name = ast_name(B, attr->s, attr->slen);
    n->a = e;
    add_stmt(B, n);
}

void ast_open_setblock(Builder *B, Tok *k, Tok *name, Node *filters)
{
    if (B->failed)
        return;
    Node *n = mk(B, S_SETBLOCK, k->off);
    n->target = ast_target_name(B, name);
    n->c = filters;
    push(B, BLK_SET, n, &n->list, k->off);
}

void ast_do(Builder *B, Tok *k, Node *e)
{
    if (B->failed || !e)
        return;
    Node *n = mk(B, S_DO, e->off);
    n->a = e;
    add_stmt(B, n);
}

Node *ast_param(Builder *B, Node *list, Tok *name, Node *dflt)
{
    if (!list)
        list = mk(B, N_LIST, name ? name->off : B->tag_start);
    if (!name)
        return list;
    if (!dflt && list->list.n > 0 && list->list.items[list->list.n - 1]->a)
        ast_fail(B, name->off, "non-default argument follows default argument");
    Node *p = mk(B, N_NAME, name->off);
    p->name = ast_name(B, name->s, name->slen);
    p->a = dflt;
    nl_push(B->a, &list->list, p);
    return list;
}

static MacroDef *new_macro(Builder *B, const char *fullname, size_t off, Node *params)
{
    MacroDef *m = ARENA_NEW(B->a, MacroDef);
    m->fullname = fullname;
    m->name = ast_name(B, fullname, strlen(fullname));
    m->off = off;
    m->start = B->tag_start;
    m->tpl = B->t;
    B->t->has_defs = true;
    if (params) {
        m->params = params->list.items;
        m->nparams = params->list.n;
    }
    return m;
}

static void open_macro_block(Builder *B, MacroDef *m, int blk, size_t off)
{
    Node *n = mk(B, S_MACRO, off);
    n->macro = m;
    Block *b = push(B, blk, n, &m->body, off);
    if (b)
        b->macro = m;
}

void ast_open_macro(Builder *B, Tok *k, Tok *name, Node *params, int blk)
{
    if (B->failed || !params)
        return;
    const char *full = blk == BLK_TEST ? arena_sprintf(B->a, "test_%.*s", (int)name->slen, name->s)
                                       : arena_strndup(B->a, name->s, name->slen);
    open_macro_block(B, new_macro(B, full, name->off, params), blk, k->off);
}

void ast_open_materialization(Builder *B, Tok *k, Tok *name, Args *args)
{
    if (B->failed || !args)
        return;
    const char *adapter = NULL;
    for (int i = 0; i < args->pos.n; i++) {
        Node *p = args->pos.items[i];
        if (p->kind == N_NAME && strcmp(p->name.s, "default") == 0)
            adapter = "default";
    }
    for (int i = 0; i < args->kwvals.n; i++) {
        Node *v = args->kwvals.items[i];
        if (strcmp(args->kwnames[i].s, "adapter") == 0 && v->kind == N_CONST && v->v.type == V_STR)
            adapter = v->v.u.s->s;
    }
    if (!adapter) {
        ast_fail(B, k->off, "materialization '%.*s' needs an adapter: write 'default' or adapter='name'",
                 (int)name->slen, name->s);
        return;
    }
    const char *full = arena_sprintf(B->a, "materialization_%.*s_%s", (int)name->slen, name->s, adapter);
    open_macro_block(B, new_macro(B, full, name->off, NULL), BLK_MATERIALIZATION, k->off);
}

void ast_open_call(Builder *B, Tok *k, Node *params, Node *call)
{
    if (B->failed || !call)
        return;
    MacroDef *m = new_macro(B, "caller", k->off, params);
    m->is_caller = true;
    Node *n = mk(B, S_CALLBLOCK, k->off);
    n->a = call;
    n->macro = m;
    Block *b = push(B, BLK_CALL, n, &m->body, k->off);
    if (b)
        b->macro = m;
}

void ast_open_filterblock(Builder *B, Tok *k, Node *filters)
{
    if (B->failed || !filters)
        return;
    Node *n = mk(B, S_FILTERBLOCK, k->off);
    n->c = filters;
    push(B, BLK_FILTER, n, &n->list, k->off);
}

void ast_open_with(Builder *B, Tok *k)
{
    if (B->failed)
        return;
    Node *n = mk(B, S_WITH, k->off);
    push(B, BLK_WITH, n, &n->list, k->off);
}

void ast_with_assign(Builder *B, Tok *name, Node *e)
{
    if (B->failed || !e)
        return;
    Node *n = B->stack[B->depth].node;
    Target **nt = arena_alloc(B->a, sizeof(Target *) * (size_t)(n->list2.n + 1));
    if (n->list2.n)
        memcpy(nt, n->targets, sizeof(Target *) * (size_t)n->list2.n);
    nt[n->list2.n] = ast_target_name(B, name);
    n->targets = nt;
    nl_push(B->a, &n->list2, e);
}

void ast_open_named(Builder *B, Tok *k, Tok *name, int blk)
{
    if (B->failed)
        return;
    Node *n = mk(B, blk == BLK_DOCS ? S_DOCS : S_SNAPSHOT, k->off);
    n->name = ast_name(B, name->s, name->slen);
    push(B, blk, n, &n->list, k->off);
}

/* ---------------------------------------------------------------- errors and end */
void ast_syntax_error(Builder *B, int major, Tok *t)
{
    if (B->failed)
        return;
    const char *d = lex_token_desc(major);
    if (major == 0)
        ast_fail(B, t->off, "unexpected end of template");
    else if (major == TK_VAR_END || major == TK_BLOCK_END || major == TK_TEXT || major == TK_VAR_BEGIN
             || major == TK_BLOCK_BEGIN)
        ast_fail(B, t->off, "unexpected '%s'", d);
    else
        ast_fail(B, t->off, "unexpected '%.*s'", (int)t->len, B->src->text + t->off);
}

int ast_finish(Builder *B, size_t eof_off)
{
    if (B->failed)
        return -1;
    if (B->depth > 0) {
        Block *b = &B->stack[B->depth];
        ast_fail(B, eof_off, "unexpected end of template: expected '%s' to close '%s' opened at %s",
                 end_of(b->kind), block_names[b->kind], loc(B, b->off));
        return -1;
    }
    Template *t = B->t;
    if (t->body.n == 0) {
        t->plain = true;
        t->plain_text = "";
    } else if (t->body.n == 1 && t->body.items[0]->kind == S_TEXT) {
        t->plain = true;
        t->plain_text = t->body.items[0]->text;
        t->plain_len = t->body.items[0]->tlen;
    }
    return 0;
}
