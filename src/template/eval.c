/* eval.c - the tree-walking evaluator and the engine services offered to natives.
 *
 * Owns: Interp, scopes (Jinja2's rules: for-loop iterations, macros, caller
 * bodies and `with` get their own scope; `if` does not; macros see their
 * arguments, then the scope they were defined in, then the globals dict,
 * then the resolver), statement execution (if/for/set/do/macro/call/filter/
 * with), the loop object, macro calls (argument binding with Jinja2's error
 * texts, varargs/kwargs/caller, return() unwinding), undefined handling
 * (strict at run time, lenient at dbt parse time), attribute/item lookup
 * order, runtime diagnostics with the macro call stack, text and native
 * rendering.
 * Leaves to others: the operators, methods, filters, tests, globals and
 * formatting of values (src/value), parsing (lexer.c, ast.c, parse.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"

#define TPL_BREAK     (-3)
#define TPL_CONTINUE  (-4)
#define SMALL_ARGS    8

/* Undefined values carry either the looked-up name or, prefixed with HINT,
 * the whole message to report when they are used ("'dict object' has no
 * attribute 'x'"). */
#define HINT '\x01'

typedef struct Var {
    Name name;
    Value v;
} Var;

typedef struct Scope {
    struct Scope *parent;
    Var *vars;
    int n, cap;
} Scope;

typedef struct Frame {
    const MacroDef *m;
    const Template *call_tpl;   /* where the call happened */
    size_t call_off;
    struct Frame *up;
} Frame;

struct Interp {
    Arena *a;
    Diag *diag;
    VDict *globals;
    TplResolve resolve;
    void *resolve_ud;
    bool lenient;
    void *ud;
    Scope *scope;
    Frame *frame;
    int depth;                  /* macro call depth */
    Value retval;
    const Template *tpl;        /* template of the code being evaluated */
    size_t off;                 /* current source offset */
    Sb *out;
    VList *chunks;              /* native mode: output nodes of the root */
    /* Does anything read text a macro emitted (interp_text_seen)?  A call is
     * "direct" when it is the whole expression of an output statement (or a
     * call block) outside native mode: its result only goes on to the output.
     * Any other macro call, or one inside a set/filter block, lets the
     * render look at the macro's text. */
    const Node *direct;         /* the N_CALL an S_OUTPUT is about to evaluate */
    bool call_direct;           /* for the call_value() about to happen */
    int block_capture;          /* set/filter blocks being captured */
    bool text_seen;
    TplMacroHook macro_hook;    /* interp_set_macro_hook */
    void *macro_hook_ud;
};

static int exec_body(Interp *I, const NodeList *body);
static int eval(Interp *I, const Node *n, Value *out);

/* ---------------------------------------------------------------- services */
Interp *interp_new(Arena *a, Diag *diag)
{
    Interp *I = ARENA_NEW(a, Interp);
    I->a = a;
    I->diag = diag;
    return I;
}

void interp_set_globals(Interp *I, VDict *globals, TplResolve resolve, void *resolve_ud)
{
    I->globals = globals;
    I->resolve = resolve;
    I->resolve_ud = resolve_ud;
}

void   interp_set_lenient(Interp *I, bool lenient) { I->lenient = lenient; }
void   interp_set_macro_hook(Interp *I, TplMacroHook fn, void *ud)
{
    I->macro_hook = fn;
    I->macro_hook_ud = ud;
}
void   interp_set_userdata(Interp *I, void *ud) { I->ud = ud; }
void  *interp_userdata(Interp *I) { return I->ud; }
Diag  *interp_diag(Interp *I) { return I->diag; }
Arena *interp_arena(Interp *I) { return I->a; }
bool   interp_lenient(Interp *I) { return I->lenient; }
bool   interp_text_seen(const Interp *I) { return I->text_seen; }
void   interp_clear_text_seen(Interp *I) { I->text_seen = false; }
void   interp_mark_text_seen(Interp *I) { I->text_seen = true; }
void   interp_watch_output(Interp *I) { I->block_capture++; }

int interp_return(Interp *I, Value v)
{
    I->retval = v;
    return TPL_RETURN;
}

static void add_stack_notes(Interp *I)
{
    for (Frame *f = I->frame; f; f = f->up) {
        int line = 0, col = 0;
        SrcFile *src = f->call_tpl ? f->call_tpl->src : NULL;
        if (!src)
            continue;
        srcfile_linecol(src, f->call_off, &line, &col);
        diag_note(I->diag, "in macro '%s' called at %s:%d:%d", f->m->fullname,
                  src->path ? src->path : "<template>", line, col);
    }
}

int interp_error(Interp *I, const char *fmt, ...)
{
    if (I->diag->set)
        return -1;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* "'<HINT>message' is undefined" from the value library: report the hint */
    const char *msg = buf;
    size_t bl = strlen(buf);
    static const char undef_sfx[] = "' is undefined";
    if (buf[0] == '\'' && buf[1] == HINT && bl > sizeof undef_sfx + 1
        && strcmp(buf + bl - (sizeof undef_sfx - 1), undef_sfx) == 0) {
        buf[bl - (sizeof undef_sfx - 1)] = 0;
        msg = buf + 2;
    }
    SrcFile *src = I->tpl ? I->tpl->src : NULL;
    diag_at(I->diag, src, I->off, "%s", msg);
    add_stack_notes(I);
    return -1;
}

static Value undef_hint(Interp *I, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static Value undef_hint(Interp *I, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    buf[0] = HINT;
    va_start(ap, fmt);
    vsnprintf(buf + 1, sizeof buf - 1, fmt, ap);
    va_end(ap);
    return v_undef_named(I->a, buf, strlen(buf));
}

static int undef_error(Interp *I, Value u)
{
    if (u.u.s && u.u.s->s[0] == HINT)
        return interp_error(I, "%s", u.u.s->s + 1);
    if (u.u.s)
        return interp_error(I, "'%s' is undefined", u.u.s->s);
    return interp_error(I, "'None' is undefined");
}

/* 'dict object' / 'None' as Jinja names objects in messages */
static void obj_desc(Value v, char *buf, size_t n)
{
    if (v.type == V_NONE)
        snprintf(buf, n, "'None'");
    else if (v.type == V_OBJ)
        snprintf(buf, n, "'%s object'", v.u.o->cls->name);
    else
        snprintf(buf, n, "'%s object'", value_type_name(v));
}

/* ---------------------------------------------------------------- scopes */
static bool name_eq(const Name *a, const char *s, size_t n, uint32_t h)
{
    return a->s == s || (a->hash == h && a->len == n && memcmp(a->s, s, n) == 0);
}

static Var *scope_find(Scope *sc, const char *s, size_t n, uint32_t h)
{
    for (int i = sc->n - 1; i >= 0; i--)
        if (name_eq(&sc->vars[i].name, s, n, h))
            return &sc->vars[i];
    return NULL;
}

static void scope_set(Interp *I, Scope *sc, Name name, Value v)
{
    Var *x = scope_find(sc, name.s, name.len, name.hash);
    if (x) {
        x->v = v;
        return;
    }
    if (sc->n == sc->cap) {
        int nc = sc->cap ? sc->cap * 2 : 8;
        sc->vars = arena_realloc(I->a, sc->vars, sizeof(Var) * (size_t)sc->cap, sizeof(Var) * (size_t)nc);
        sc->cap = nc;
    }
    sc->vars[sc->n].name = name;
    sc->vars[sc->n].v = v;
    sc->n++;
}

static void scope_setz(Interp *I, Scope *sc, const char *z, Value v)
{
    scope_set(I, sc, name_make(z, strlen(z)), v);
}

static int lookup(Interp *I, const Name *nm, Value *out)
{
    for (Scope *sc = I->scope; sc; sc = sc->parent) {
        Var *x = scope_find(sc, nm->s, nm->len, nm->hash);
        if (x) {
            *out = x->v;
            return 0;
        }
    }
    if (I->globals) {
        Value *g = dict_getn(I->globals, nm->s, nm->len);
        if (g) {
            *out = *g;
            return 0;
        }
    }
    if (I->resolve) {
        int r = I->resolve(I, I->resolve_ud, nm->s, nm->len, out);
        if (r <= 0)
            return r;
    }
    *out = v_undef_named(I->a, nm->s, nm->len);
    return 0;
}

/* ---------------------------------------------------------------- output */
static void emit(Interp *I, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (I->chunks)
        list_append(I->a, I->chunks, v_str(I->a, s, n));
    else
        sb_append(I->out, s, n);
}

static void emit_value(Interp *I, Value v)
{
    if (I->chunks) {
        list_append(I->a, I->chunks, v);
        return;
    }
    if (v.type == V_STR)
        sb_append(I->out, v.u.s->s, v.u.s->len);
    else
        value_str(I->out, v);
}

/* Run body into a string (macro bodies, set blocks, filter blocks). */
static int capture(Interp *I, const NodeList *body, Value *out)
{
    Sb sb = SB_INIT;
    Sb *saved = I->out;
    VList *saved_chunks = I->chunks;
    I->out = &sb;
    I->chunks = NULL;
    int rc = exec_body(I, body);
    I->out = saved;
    I->chunks = saved_chunks;
    if (rc == 0)
        *out = v_str(I->a, sb_cstr(&sb), sb.len);
    sb_free(&sb);
    return rc;
}

/* ---------------------------------------------------------------- lookups */
static int macro_getattr(Interp *I, TplMacro *m, const char *name, size_t n, Value *out)
{
    const MacroDef *d = m->def;
    if (I->macro_hook)
        I->macro_hook(I->macro_hook_ud, m);      /* its signature was looked at */
    if (n == 4 && memcmp(name, "name", 4) == 0) {
        *out = v_strz(I->a, d->fullname);
    } else if (n == 9 && memcmp(name, "arguments", 9) == 0) {
        Value t = v_tuple(I->a, (size_t)d->nparams);
        for (int i = 0; i < d->nparams; i++)
            t.u.l->items[i] = v_str(I->a, d->params[i]->name.s, d->params[i]->name.len);
        *out = t;
    } else if (n == 12 && memcmp(name, "catch_kwargs", 12) == 0) {
        *out = v_bool(d->catch_kwargs);
    } else if (n == 13 && memcmp(name, "catch_varargs", 13) == 0) {
        *out = v_bool(d->catch_varargs);
    } else if (n == 6 && memcmp(name, "caller", 6) == 0) {
        *out = v_bool(d->uses_caller);
    } else {
        return 1;
    }
    return 0;
}

int interp_getattr(Interp *I, Value obj, const char *name, size_t n, Value *out)
{
    int r = 1;
    char desc[160];
    if (obj.type == V_UNDEF) {
        if (I->lenient) {
            *out = obj;
            return 0;
        }
        return undef_error(I, obj);
    }
    if (n > 0 && name[0] == '_') {      /* sandbox: no private attributes, items are fine */
        Value *x = obj.type == V_DICT ? dict_getn(obj.u.d, name, n) : NULL;
        if (x) {
            *out = *x;
            return 0;
        }
        if (obj.type == V_OBJ && obj.u.o->cls->getitem) {
            r = obj.u.o->cls->getitem(I, obj.u.o, v_str(I->a, name, n), out);
            if (r <= 0)
                return r;
        }
        goto missing;
    }
    switch (obj.type) {
    case V_OBJ:
        if (obj.u.o->cls->getattr) {
            r = obj.u.o->cls->getattr(I, obj.u.o, name, n, out);
            if (r <= 0)
                return r;
        }
        if (obj.u.o->cls->getitem) {
            r = obj.u.o->cls->getitem(I, obj.u.o, v_str(I->a, name, n), out);
            if (r <= 0)
                return r;
        }
        break;
    case V_MACRO:
        if (macro_getattr(I, obj.u.m, name, n, out) == 0)
            return 0;
        break;
    case V_DICT: {
        r = value_getattr_builtin(I, obj, name, n, out);
        if (r <= 0)
            return r;
        Value *x = dict_getn(obj.u.d, name, n);
        if (x) {
            *out = *x;
            return 0;
        }
        break;
    }
    default:
        r = value_getattr_builtin(I, obj, name, n, out);
        if (r <= 0)
            return r;
        break;
    }
missing:
    obj_desc(obj, desc, sizeof desc);
    *out = undef_hint(I, "%s has no attribute '%.*s'", desc, (int)n, name);
    return 0;
}

int interp_getitem(Interp *I, Value obj, Value key, Value *out)
{
    char desc[160];
    if (obj.type == V_UNDEF) {
        if (I->lenient) {
            *out = obj;
            return 0;
        }
        return undef_error(I, obj);
    }
    int r = 1;
    if (obj.type == V_OBJ) {
        if (obj.u.o->cls->getitem)
            r = obj.u.o->cls->getitem(I, obj.u.o, key, out);
    } else if (obj.type != V_MACRO) {
        r = value_getitem_builtin(I, obj, key, out);
    }
    if (r <= 0)
        return r;
    if (key.type == V_STR) {
        if (key.u.s->len > 0 && key.u.s->s[0] == '_')
            goto missing;
        if (obj.type == V_OBJ && obj.u.o->cls->getattr) {
            r = obj.u.o->cls->getattr(I, obj.u.o, key.u.s->s, key.u.s->len, out);
            if (r <= 0)
                return r;
        } else if (obj.type == V_MACRO) {
            if (macro_getattr(I, obj.u.m, key.u.s->s, key.u.s->len, out) == 0)
                return 0;
        } else if (obj.type != V_OBJ) {
            r = value_getattr_builtin(I, obj, key.u.s->s, key.u.s->len, out);
            if (r <= 0)
                return r;
        }
    }
missing:
    obj_desc(obj, desc, sizeof desc);
    if (key.type == V_STR) {
        *out = undef_hint(I, "%s has no attribute '%s'", desc, key.u.s->s);
    } else {
        Sb sb = SB_INIT;
        value_repr(&sb, key);
        *out = undef_hint(I, "%s has no attribute %s", desc, sb_cstr(&sb));
        sb_free(&sb);
    }
    return 0;
}

/* Iterate any value: builtins via the value library, objects via their hook. */
static int iterate(Interp *I, Value v, VList **out)
{
    if (v.type == V_UNDEF) {
        *out = v_list(I->a, 0).u.l;
        return 0;
    }
    if (v.type == V_OBJ) {
        if (v.u.o->cls->iter)
            return v.u.o->cls->iter(I, v.u.o, out);
        return interp_error(I, "'%s' object is not iterable", v.u.o->cls->name);
    }
    return value_iterate(I, v, out);
}

/* ---------------------------------------------------------------- calls */
typedef struct ArgBuf {
    CallArgs ca;
    Value pos_small[SMALL_ARGS];
    Value kwv_small[SMALL_ARGS];
    VStr *kwn_small[SMALL_ARGS];
    int poscap, kwcap;
} ArgBuf;

static void ab_init(ArgBuf *b)
{
    memset(&b->ca, 0, sizeof b->ca);
    b->ca.pos = b->pos_small;
    b->ca.kwvals = b->kwv_small;
    b->ca.kwnames = b->kwn_small;
    b->poscap = b->kwcap = SMALL_ARGS;
}

static void ab_pos(Interp *I, ArgBuf *b, Value v)
{
    if (b->ca.npos == b->poscap) {
        int nc = b->poscap * 2;
        Value *np = arena_alloc(I->a, sizeof(Value) * (size_t)nc);
        memcpy(np, b->ca.pos, sizeof(Value) * (size_t)b->ca.npos);
        b->ca.pos = np;
        b->poscap = nc;
    }
    b->ca.pos[b->ca.npos++] = v;
}

static void ab_kw(Interp *I, ArgBuf *b, VStr *name, Value v)
{
    for (int i = 0; i < b->ca.nkw; i++) {
        if (b->ca.kwnames[i]->len == name->len && memcmp(b->ca.kwnames[i]->s, name->s, name->len) == 0) {
            b->ca.kwvals[i] = v;
            return;
        }
    }
    if (b->ca.nkw == b->kwcap) {
        int nc = b->kwcap * 2;
        Value *nv = arena_alloc(I->a, sizeof(Value) * (size_t)nc);
        VStr **nn = arena_alloc(I->a, sizeof(VStr *) * (size_t)nc);
        memcpy(nv, b->ca.kwvals, sizeof(Value) * (size_t)b->ca.nkw);
        memcpy(nn, b->ca.kwnames, sizeof(VStr *) * (size_t)b->ca.nkw);
        b->ca.kwvals = nv;
        b->ca.kwnames = nn;
        b->kwcap = nc;
    }
    b->ca.kwnames[b->ca.nkw] = name;
    b->ca.kwvals[b->ca.nkw++] = v;
}

static int eval_args(Interp *I, const Args *args, ArgBuf *b)
{
    if (!args)
        return 0;
    Value v;
    int rc;
    for (int i = 0; i < args->pos.n; i++) {
        if ((rc = eval(I, args->pos.items[i], &v)) != 0)
            return rc;
        ab_pos(I, b, v);
    }
    if (args->star) {
        VList *l;
        if ((rc = eval(I, args->star, &v)) != 0)
            return rc;
        I->off = args->star->start;
        if ((rc = iterate(I, v, &l)) != 0)
            return rc;
        for (size_t i = 0; i < l->len; i++)
            ab_pos(I, b, l->items[i]);
    }
    for (int i = 0; i < args->kwvals.n; i++) {
        if ((rc = eval(I, args->kwvals.items[i], &v)) != 0)
            return rc;
        ab_kw(I, b, args->kwstrs[i], v);
    }
    if (args->dstar) {
        if ((rc = eval(I, args->dstar, &v)) != 0)
            return rc;
        if (v.type != V_DICT) {
            I->off = args->dstar->start;
            if (v.type == V_UNDEF && I->lenient)
                return 0;
            return interp_error(I, "argument after ** must be a mapping, not %s", value_type_name(v));
        }
        VDictEntry *e;
        for (size_t it = 0; dict_next(v.u.d, &it, &e);) {
            if (e->key.type != V_STR) {
                I->off = args->dstar->start;
                return interp_error(I, "keywords must be strings");
            }
            ab_kw(I, b, e->key.u.s, e->val);
        }
    }
    return 0;
}

static int bind_target(Interp *I, const Target *t, Value v, size_t off);

static int call_macro(Interp *I, TplMacro *tm, CallArgs *args, Value caller, bool direct, Value *out)
{
    const MacroDef *d = tm->def;
    /* the body's text becomes a value someone can look at, unless return()
     * replaces it (see below) */
    bool watched = !direct || I->block_capture;
    if (I->depth >= TPL_MAX_CALL_DEPTH)
        return interp_error(I, "maximum macro call depth (%d) exceeded calling '%s'", TPL_MAX_CALL_DEPTH, d->fullname);
    if (I->macro_hook)
        I->macro_hook(I->macro_hook_ud, tm);
    Scope sc = {tm->closure, NULL, 0, 0};
    Frame fr = {d, I->tpl, I->off, I->frame};
    const char *mname = d->is_caller ? "caller" : d->fullname;
    int npos = args ? args->npos : 0, nkw = args ? args->nkw : 0;
    if (npos > d->nparams && !d->catch_varargs)
        return interp_error(I, "macro '%s' takes not more than %d argument(s)", mname, d->nparams);
    /* keywords: must name a parameter not already given positionally */
    Value kwargs = v_undef();
    bool *used = NULL;
    bool used_small[SMALL_ARGS * 2];
    if (nkw) {
        used = nkw <= SMALL_ARGS * 2 ? used_small : arena_alloc(I->a, sizeof(bool) * (size_t)nkw);
        memset(used, 0, sizeof(bool) * (size_t)nkw);
    }
    for (int k = 0; k < nkw; k++) {
        VStr *kn = args->kwnames[k];
        if (kn->len == 6 && memcmp(kn->s, "caller", 6) == 0 && d->uses_caller) {
            caller = args->kwvals[k];
            used[k] = true;
            continue;
        }
        for (int p = npos; p < d->nparams; p++)
            if (d->params[p]->name.len == kn->len && memcmp(d->params[p]->name.s, kn->s, kn->len) == 0)
                used[k] = true;
        if (!used[k] && !d->catch_kwargs)
            return interp_error(I, "macro '%s' takes no keyword argument '%s'", mname, kn->s);
    }
    /* bind in the new scope; defaults see earlier parameters */
    Scope *saved_scope = I->scope;
    const Template *saved_tpl = I->tpl;
    size_t saved_off = I->off;
    Frame *saved_frame = I->frame;
    I->scope = &sc;
    I->frame = &fr;
    I->tpl = d->tpl;
    I->depth++;
    int rc = 0;
    for (int p = 0; p < d->nparams && rc == 0; p++) {
        const Node *pn = d->params[p];
        Value v;
        bool have = false;
        if (p < npos) {
            v = args->pos[p];
            have = true;
        } else {
            for (int k = nkw - 1; k >= 0; k--) {
                VStr *kn = args->kwnames[k];
                if (kn->len == pn->name.len && memcmp(kn->s, pn->name.s, kn->len) == 0) {
                    v = args->kwvals[k];
                    have = true;
                    break;
                }
            }
        }
        if (!have) {
            if (pn->a)
                rc = eval(I, pn->a, &v);
            else
                v = v_undef_named(I->a, pn->name.s, pn->name.len);
        }
        if (rc == 0)
            scope_set(I, &sc, pn->name, v);
    }
    if (rc == 0 && d->catch_varargs) {
        int extra = npos > d->nparams ? npos - d->nparams : 0;
        Value t = v_tuple(I->a, (size_t)extra);
        for (int i = 0; i < extra; i++)
            t.u.l->items[i] = args->pos[d->nparams + i];
        scope_setz(I, &sc, "varargs", t);
    }
    if (rc == 0 && d->catch_kwargs) {
        kwargs = v_dict(I->a);
        for (int k = 0; k < nkw; k++)
            if (!used[k])
                dict_set(I->a, kwargs.u.d, v_vstr(args->kwnames[k]), args->kwvals[k]);
        scope_setz(I, &sc, "kwargs", kwargs);
    }
    if (rc == 0 && d->uses_caller) {
        if (caller.type == V_UNDEF)
            caller = undef_hint(I, "No caller defined");
        scope_setz(I, &sc, "caller", caller);
    }
    if (rc == 0) {
        rc = capture(I, &d->body, out);
        if (rc == TPL_RETURN) {
            *out = I->retval;         /* the text is dropped */
            rc = 0;
        } else if (rc == 0 && watched) {
            I->text_seen = true;
        }
    }
    I->depth--;
    I->scope = saved_scope;
    I->tpl = saved_tpl;
    I->off = saved_off;
    I->frame = saved_frame;
    return rc;
}

static int call_value(Interp *I, Value callee, CallArgs *args, Value caller, Value *out)
{
    /* only this call is direct: not what a native function calls in turn */
    bool direct = I->call_direct;
    I->call_direct = false;
    switch (callee.type) {
    case V_FUNC:
        return callee.u.fn->fn(I, callee.u.fn->ud, callee.u.fn->self, args, out);
    case V_MACRO:
        return call_macro(I, callee.u.m, args, caller, direct, out);
    case V_OBJ:
        if (callee.u.o->cls->as_macro) {
            TplMacro *m = callee.u.o->cls->as_macro(callee.u.o);
            if (m)
                return call_macro(I, m, args, caller, direct, out);
        }
        if (callee.u.o->cls->call)
            return callee.u.o->cls->call(I, callee.u.o, args, out);
        return interp_error(I, "'%s' object is not callable", callee.u.o->cls->name);
    case V_UNDEF:
        if (I->lenient) {
            *out = callee;
            return 0;
        }
        return undef_error(I, callee);
    default:
        return interp_error(I, "'%s' object is not callable", value_type_name(callee));
    }
}

int interp_call(Interp *I, Value callee, CallArgs *args, Value *out)
{
    CallArgs empty = {0, NULL, 0, NULL, NULL};
    return call_value(I, callee, args ? args : &empty, v_undef(), out);
}

static int apply_filter(Interp *I, NativeFn fn, Value v, CallArgs *extra, Value *out)
{
    Value small[SMALL_ARGS];
    int n = extra ? extra->npos : 0;
    Value *pos = n + 1 <= SMALL_ARGS ? small : arena_alloc(I->a, sizeof(Value) * (size_t)(n + 1));
    pos[0] = v;
    for (int i = 0; i < n; i++)
        pos[i + 1] = extra->pos[i];
    CallArgs ca = {n + 1, pos, extra ? extra->nkw : 0, extra ? extra->kwnames : NULL, extra ? extra->kwvals : NULL};
    return fn(I, NULL, v_undef(), &ca, out);
}

int interp_filter(Interp *I, const char *name, Value v, CallArgs *args, Value *out)
{
    NativeFn fn = tpl_find_filter(name, strlen(name));
    if (!fn)
        return interp_error(I, "no filter named '%s'", name);
    return apply_filter(I, fn, v, args, out);
}

int interp_test(Interp *I, const char *name, Value v, CallArgs *args, bool *out)
{
    NativeFn fn = tpl_find_test(name, strlen(name));
    if (!fn)
        return interp_error(I, "no test named '%s'", name);
    Value r;
    int rc = apply_filter(I, fn, v, args, &r);
    if (rc == 0)
        *out = value_truthy(r);
    return rc;
}

/* Apply a filter chain (innermost filter has a NULL subject: use v). */
static int eval_filter_chain(Interp *I, const Node *f, Value v, Value *out)
{
    if (!f) {
        *out = v;
        return 0;
    }
    Value subj;
    int rc = eval_filter_chain(I, f->a, v, &subj);
    if (rc)
        return rc;
    ArgBuf b;
    ab_init(&b);
    if ((rc = eval_args(I, f->args, &b)) != 0)
        return rc;
    I->off = f->off;
    return apply_filter(I, f->fn, subj, &b.ca, out);
}

/* ---------------------------------------------------------------- expressions */
static bool is_arith(int op)
{
    return op != OP_EQ && op != OP_NE && op != OP_IN && op != OP_NOTIN && op != OP_CONCAT;
}

static int eval(Interp *I, const Node *n, Value *out)
{
    Value a, b;
    int rc;
    switch (n->kind) {
    case N_CONST:
        *out = n->v;
        return 0;
    case N_NAME:
        I->off = n->off;
        return lookup(I, &n->name, out);
    case N_LIST:
    case N_TUPLE: {
        Value l = n->kind == N_LIST ? v_list(I->a, (size_t)n->list.n) : v_tuple(I->a, (size_t)n->list.n);
        for (int i = 0; i < n->list.n; i++) {
            if ((rc = eval(I, n->list.items[i], &a)) != 0)
                return rc;
            if (n->kind == N_LIST)
                list_append(I->a, l.u.l, a);
            else
                l.u.l->items[i] = a;
        }
        *out = l;
        return 0;
    }
    case N_DICT: {
        Value d = v_dict(I->a);
        for (int i = 0; i < n->list.n; i++) {
            if ((rc = eval(I, n->list.items[i], &a)) != 0 || (rc = eval(I, n->list2.items[i], &b)) != 0)
                return rc;
            if (!value_is_hashable(a)) {
                I->off = n->list.items[i]->start;
                return interp_error(I, "unhashable type: '%s'", value_type_name(a));
            }
            dict_set(I->a, d.u.d, a, b);
        }
        *out = d;
        return 0;
    }
    case N_BINOP:
        if ((rc = eval(I, n->a, &a)) != 0 || (rc = eval(I, n->b, &b)) != 0)
            return rc;
        I->off = n->off;
        if ((a.type == V_UNDEF || b.type == V_UNDEF) && is_arith(n->op)) {
            if (I->lenient) {
                *out = a.type == V_UNDEF ? a : b;
                return 0;
            }
            return undef_error(I, a.type == V_UNDEF ? a : b);
        }
        return value_binop(I, (BinOp)n->op, a, b, out);
    case N_AND:
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        if (!value_truthy(a)) {
            *out = a;
            return 0;
        }
        return eval(I, n->b, out);
    case N_OR:
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        if (value_truthy(a)) {
            *out = a;
            return 0;
        }
        return eval(I, n->b, out);
    case N_NOT:
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        *out = v_bool(!value_truthy(a));
        return 0;
    case N_NEG:
    case N_POS:
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        I->off = n->off;
        if (a.type == V_UNDEF) {
            if (I->lenient) {
                *out = a;
                return 0;
            }
            return undef_error(I, a);
        }
        return value_unop(I, n->kind == N_NEG ? OP_NEG : OP_POS, a, out);
    case N_COMPARE: {
        if ((rc = eval(I, n->list.items[0], &a)) != 0)
            return rc;
        Value r = v_bool(true);
        for (int i = 1; i < n->list.n; i++) {
            if ((rc = eval(I, n->list.items[i], &b)) != 0)
                return rc;
            I->off = n->off;
            int op = n->ops[i - 1];
            if ((a.type == V_UNDEF || b.type == V_UNDEF) && is_arith(op)) {
                if (I->lenient) {
                    *out = v_bool(false);
                    return 0;
                }
                return undef_error(I, a.type == V_UNDEF ? a : b);
            }
            if ((rc = value_binop(I, (BinOp)op, a, b, &r)) != 0)
                return rc;
            if (!value_truthy(r))
                break;
            a = b;
        }
        *out = r;
        return 0;
    }
    case N_COND:
        if ((rc = eval(I, n->b, &a)) != 0)
            return rc;
        if (value_truthy(a))
            return eval(I, n->a, out);
        if (n->c)
            return eval(I, n->c, out);
        {
            int line = 0, col = 0;
            srcfile_linecol(I->tpl->src, n->off, &line, &col);
            *out = undef_hint(I, "the inline if-expression on line %d evaluated to false and no else section was defined.", line);
        }
        return 0;
    case N_GETATTR:
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        I->off = n->off;
        return interp_getattr(I, a, n->name.s, n->name.len, out);
    case N_GETITEM:
        if ((rc = eval(I, n->a, &a)) != 0 || (rc = eval(I, n->b, &b)) != 0)
            return rc;
        I->off = n->off;
        return interp_getitem(I, a, b, out);
    case N_SLICE: {
        Value lo = v_none(), hi = v_none(), st = v_none();
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        if (n->b && (rc = eval(I, n->b, &lo)) != 0)
            return rc;
        if (n->c && (rc = eval(I, n->c, &hi)) != 0)
            return rc;
        if (n->args && (rc = eval(I, n->args->pos.items[0], &st)) != 0)
            return rc;
        I->off = n->off;
        if (a.type == V_UNDEF) {
            if (I->lenient) {
                *out = a;
                return 0;
            }
            return undef_error(I, a);
        }
        return value_slice(I, a, lo, hi, st, out);
    }
    case N_CALL: {
        bool direct = I->direct == n;
        I->direct = NULL;
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        ArgBuf ab;
        ab_init(&ab);
        if ((rc = eval_args(I, n->args, &ab)) != 0)
            return rc;
        I->off = n->off;
        I->call_direct = direct;
        return call_value(I, a, &ab.ca, v_undef(), out);
    }
    case N_FILTER:
    case N_TEST: {
        if ((rc = eval(I, n->a, &a)) != 0)
            return rc;
        ArgBuf ab;
        ab_init(&ab);
        if ((rc = eval_args(I, n->args, &ab)) != 0)
            return rc;
        I->off = n->off;
        if ((rc = apply_filter(I, n->fn, a, &ab.ca, &b)) != 0)
            return rc;
        if (n->kind == N_TEST)
            b = v_bool(value_truthy(b) != (n->op != 0));
        *out = b;
        return 0;
    }
    default:
        return interp_error(I, "internal error: bad expression node %d", n->kind);
    }
}

/* ---------------------------------------------------------------- statements */
static int bind_target(Interp *I, const Target *t, Value v, size_t off)
{
    if (!t->is_tuple) {
        scope_set(I, I->scope, t->name, v);
        return 0;
    }
    VList *l;
    int rc;
    I->off = off;
    if (v.type == V_UNDEF && !I->lenient)
        return undef_error(I, v);
    if ((rc = iterate(I, v, &l)) != 0)
        return rc;
    if (l->len > (size_t)t->n) {
        I->off = off;
        return interp_error(I, "too many values to unpack (expected %d)", t->n);
    }
    if (l->len < (size_t)t->n) {
        I->off = off;
        return interp_error(I, "not enough values to unpack (expected %d, got %zu)", t->n, l->len);
    }
    for (int i = 0; i < t->n; i++)
        if ((rc = bind_target(I, t->items[i], l->items[i], off)) != 0)
            return rc;
    return 0;
}

/* The loop object. */
typedef struct LoopCtx {
    VList *items;
    int64_t index0;
    Value last_changed;
    bool have_changed;
} LoopCtx;

static int loop_cycle(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    LoopCtx *lc = self.u.o->data;
    if (args->npos == 0)
        return interp_error(I, "no items for cycling given");
    *out = args->pos[lc->index0 % args->npos];
    return 0;
}

static int loop_changed(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    LoopCtx *lc = self.u.o->data;
    if (value_fence(I, lc))
        return -1;
    Value t = v_tuple(I->a, (size_t)args->npos);
    for (int i = 0; i < args->npos; i++)
        t.u.l->items[i] = args->pos[i];
    bool changed = !lc->have_changed || !value_eq(lc->last_changed, t);
    lc->last_changed = t;
    lc->have_changed = true;
    *out = v_bool(changed);
    return 0;
}

static int loop_getattr(Interp *I, VObj *self, const char *name, size_t n, Value *out)
{
    LoopCtx *lc = self->data;
    int64_t len = (int64_t)lc->items->len, i0 = lc->index0;
#define IS(z) (n == sizeof(z) - 1 && memcmp(name, z, n) == 0)
    if (IS("index")) *out = v_int(i0 + 1);
    else if (IS("index0")) *out = v_int(i0);
    else if (IS("revindex")) *out = v_int(len - i0);
    else if (IS("revindex0")) *out = v_int(len - i0 - 1);
    else if (IS("first")) *out = v_bool(i0 == 0);
    else if (IS("last")) *out = v_bool(i0 == len - 1);
    else if (IS("length")) *out = v_int(len);
    else if (IS("depth")) *out = v_int(1);
    else if (IS("depth0")) *out = v_int(0);
    else if (IS("previtem"))
        *out = i0 > 0 ? lc->items->items[i0 - 1] : undef_hint(I, "there is no previous item");
    else if (IS("nextitem"))
        *out = i0 + 1 < len ? lc->items->items[i0 + 1] : undef_hint(I, "there is no next item");
    else if (IS("cycle")) *out = v_bound(I->a, "cycle", loop_cycle, NULL, v_obj(I->a, self->cls, lc));
    else if (IS("changed")) *out = v_bound(I->a, "changed", loop_changed, NULL, v_obj(I->a, self->cls, lc));
    else return 1;
#undef IS
    return 0;
}

static void loop_str(VObj *self, Sb *out)
{
    LoopCtx *lc = self->data;
    sb_printf(out, "<LoopContext %lld/%zu>", (long long)lc->index0 + 1, lc->items->len);
}

static int loop_call(Interp *I, VObj *self, CallArgs *args, Value *out)
{
    return interp_error(I, "Tried to call non recursive loop.  Maybe you forgot the 'recursive' modifier.");
}

static const ObjClass loop_class = {
    .name = "LoopContext", .getattr = loop_getattr, .str = loop_str, .call = loop_call,
};

static int exec_for(Interp *I, const Node *n)
{
    Value it;
    VList *items;
    int rc;
    if ((rc = eval(I, n->a, &it)) != 0)
        return rc;
    I->off = n->a->start;
    if ((rc = iterate(I, it, &items)) != 0)
        return rc;
    Scope *outer = I->scope;
    Scope sc = {outer, NULL, 0, 0};
    if (n->b) {                       /* `for x in y if cond`: filter first */
        VList *kept = v_list(I->a, items->len).u.l;
        I->scope = &sc;
        for (size_t i = 0; i < items->len && rc == 0; i++) {
            Value c;
            sc.n = 0;
            if ((rc = bind_target(I, n->target, items->items[i], n->off)) != 0)
                break;
            if ((rc = eval(I, n->b, &c)) != 0)
                break;
            if (value_truthy(c))
                list_append(I->a, kept, items->items[i]);
        }
        I->scope = outer;
        if (rc)
            return rc;
        items = kept;
    }
    if (items->len == 0)
        return exec_body(I, &n->list2);
    LoopCtx *lc = ARENA_NEW(I->a, LoopCtx);
    lc->items = items;
    Value loopv = v_obj(I->a, &loop_class, lc);
    Name loopname = name_make("loop", 4);
    bool completed = false;
    I->scope = &sc;
    for (size_t i = 0; i < items->len; i++) {
        lc->index0 = (int64_t)i;
        sc.n = 0;
        scope_set(I, &sc, loopname, loopv);
        if ((rc = bind_target(I, n->target, items->items[i], n->off)) != 0)
            break;
        rc = exec_body(I, &n->list);
        if (rc == TPL_CONTINUE) {
            rc = 0;
            continue;
        }
        if (rc == TPL_BREAK) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        completed = true;
    }
    I->scope = outer;
    /* as Jinja2: `else` runs unless some iteration ran its body to the end */
    if (rc == 0 && !completed)
        rc = exec_body(I, &n->list2);
    return rc;
}

/* Would Jinja2's optimizer fold this expression to a constant? */
static bool is_const(const Node *n, int depth)
{
    if (!n)
        return true;
    if (depth > 64)
        return false;
    switch (n->kind) {
    case N_CONST:
        return true;
    case N_LIST: case N_TUPLE:
        for (int i = 0; i < n->list.n; i++)
            if (!is_const(n->list.items[i], depth + 1))
                return false;
        return true;
    case N_DICT:
        for (int i = 0; i < n->list.n; i++)
            if (!is_const(n->list.items[i], depth + 1) || !is_const(n->list2.items[i], depth + 1))
                return false;
        return true;
    case N_BINOP: case N_AND: case N_OR: case N_GETITEM: case N_SLICE:
        return is_const(n->a, depth + 1) && is_const(n->b, depth + 1) && is_const(n->c, depth + 1);
    case N_NOT: case N_NEG: case N_POS: case N_GETATTR:
        return is_const(n->a, depth + 1);
    case N_COMPARE:
        for (int i = 0; i < n->list.n; i++)
            if (!is_const(n->list.items[i], depth + 1))
                return false;
        return true;
    case N_COND:
        return n->c && is_const(n->a, depth + 1) && is_const(n->b, depth + 1) && is_const(n->c, depth + 1);
    case N_FILTER: case N_TEST:
        if (n->kind == N_FILTER && n->name.len > 3 && memcmp(n->name.s, "as_", 3) == 0)
            return false;                   /* dbt's marker filters are not foldable */
        if (n->args) {
            if (n->args->star || n->args->dstar)
                return false;
            for (int i = 0; i < n->args->pos.n; i++)
                if (!is_const(n->args->pos.items[i], depth + 1))
                    return false;
            for (int i = 0; i < n->args->kwvals.n; i++)
                if (!is_const(n->args->kwvals.items[i], depth + 1))
                    return false;
        }
        return is_const(n->a, depth + 1);
    default:
        return false;
    }
}

static int exec_stmt(Interp *I, const Node *n)
{
    Value v;
    int rc;
    switch (n->kind) {
    case S_TEXT:
        emit(I, n->text, n->tlen);
        return 0;
    case S_OUTPUT:
        if (!I->chunks && n->a->kind == N_CALL)
            I->direct = n->a;
        if ((rc = eval(I, n->a, &v)) != 0)
            return rc;
        if (I->chunks && is_const(n->a, 0) && value_plain(v)) {
            /* native mode: Jinja2 folds constant output into template data */
            Sb sb = SB_INIT;
            value_str(&sb, v);
            emit(I, sb_cstr(&sb), sb.len);
            sb_free(&sb);
            return 0;
        }
        emit_value(I, v);
        return 0;
    case S_IF:
        for (;;) {
            if ((rc = eval(I, n->a, &v)) != 0)
                return rc;
            if (value_truthy(v))
                return exec_body(I, &n->list);
            /* elif chains are a single nested S_IF in the else body */
            if (n->list2.n == 1 && n->list2.items[0]->kind == S_IF) {
                n = n->list2.items[0];
                continue;
            }
            return exec_body(I, &n->list2);
        }
    case S_FOR:
        return exec_for(I, n);
    case S_BREAK:
        return TPL_BREAK;
    case S_CONTINUE:
        return TPL_CONTINUE;
    case S_SET:
        if ((rc = eval(I, n->a, &v)) != 0)
            return rc;
        return bind_target(I, n->target, v, n->off);
    case S_SETATTR: {
        Value obj;
        if ((rc = eval(I, n->a, &v)) != 0 || (rc = eval(I, n->b, &obj)) != 0)
            return rc;
        I->off = n->off;
        if (obj.type != V_OBJ || !obj.u.o->cls->setattr)
            return interp_error(I, "cannot assign attribute on non-namespace object");
        return obj.u.o->cls->setattr(I, obj.u.o, n->name.s, n->name.len, v);
    }
    case S_SETBLOCK:
        I->block_capture++;
        rc = capture(I, &n->list, &v);
        I->block_capture--;
        if (rc != 0)
            return rc;
        if ((rc = eval_filter_chain(I, n->c, v, &v)) != 0)
            return rc;
        return bind_target(I, n->target, v, n->off);
    case S_FILTERBLOCK:
        I->block_capture++;
        rc = capture(I, &n->list, &v);
        I->block_capture--;
        if (rc != 0)
            return rc;
        if ((rc = eval_filter_chain(I, n->c, v, &v)) != 0)
            return rc;
        emit_value(I, v);
        return 0;
    case S_DO:
        return eval(I, n->a, &v);
    case S_MACRO: {
        TplMacro *m = ARENA_NEW(I->a, TplMacro);
        m->def = n->macro;
        m->closure = I->scope;
        scope_set(I, I->scope, n->macro->name, v_macro(m));
        return 0;
    }
    case S_CALLBLOCK: {
        const Node *call = n->a;
        Value callee;
        if ((rc = eval(I, call->a, &callee)) != 0)
            return rc;
        ArgBuf ab;
        ab_init(&ab);
        if ((rc = eval_args(I, call->args, &ab)) != 0)
            return rc;
        TplMacro *cm = ARENA_NEW(I->a, TplMacro);
        cm->def = n->macro;
        cm->closure = I->scope;
        Value caller = v_macro(cm);
        I->off = call->off;
        bool is_macro = callee.type == V_MACRO || (callee.type == V_OBJ && callee.u.o->cls->as_macro
                                                   && callee.u.o->cls->as_macro(callee.u.o));
        if (!is_macro)
            ab_kw(I, &ab, vstr_new(I->a, "caller", 6), caller);
        I->call_direct = !I->chunks;     /* its result is output, as {{ }} */
        if ((rc = call_value(I, callee, &ab.ca, caller, &v)) != 0)
            return rc;
        emit_value(I, v);
        return 0;
    }
    case S_WITH: {
        Scope *outer = I->scope;
        Scope sc = {outer, NULL, 0, 0};
        Value small[SMALL_ARGS];
        Value *vals = n->list2.n <= SMALL_ARGS ? small : arena_alloc(I->a, sizeof(Value) * (size_t)n->list2.n);
        for (int i = 0; i < n->list2.n; i++)
            if ((rc = eval(I, n->list2.items[i], &vals[i])) != 0)
                return rc;
        I->scope = &sc;
        for (int i = 0; i < n->list2.n; i++)
            scope_set(I, &sc, n->targets[i]->name, vals[i]);
        rc = exec_body(I, &n->list);
        I->scope = outer;
        return rc;
    }
    case S_DOCS:
        return 0;
    case S_SNAPSHOT:
        return exec_body(I, &n->list);
    default:
        I->off = n->off;
        return interp_error(I, "internal error: bad statement node %d", n->kind);
    }
}

static int exec_body(Interp *I, const NodeList *body)
{
    for (int i = 0; i < body->n; i++) {
        int rc = exec_stmt(I, body->items[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- rendering */
static int render_root(Interp *I, const Template *t)
{
    Scope root = {NULL, NULL, 0, 0};
    Scope *saved_scope = I->scope;
    const Template *saved_tpl = I->tpl;
    Frame *saved_frame = I->frame;
    int saved_depth = I->depth;
    I->scope = &root;
    I->tpl = t;
    I->frame = NULL;
    int rc = exec_body(I, &t->body);
    if (rc == TPL_RETURN)            /* return() outside any macro ends the template */
        rc = 0;
    I->scope = saved_scope;
    I->tpl = saved_tpl;
    I->frame = saved_frame;
    I->depth = saved_depth;
    return rc == 0 ? 0 : -1;
}

int tpl_render(Interp *I, const Template *t, Sb *out)
{
    if (t->plain) {
        sb_append(out, t->plain_text, t->plain_len);
        return 0;
    }
    Sb *saved = I->out;
    VList *saved_chunks = I->chunks;
    I->out = out;
    I->chunks = NULL;
    int rc = render_root(I, t);
    I->out = saved;
    I->chunks = saved_chunks;
    return rc;
}

static int convert_marked(Interp *I, Value s, Value *out)
{
    Value r;
    const VStr *str = s.u.s;
    if (value_literal_eval(I->a, str->s, str->len, &r) != 0) {
        r = s;
        r.flags = 0;
    }
    if (s.flags & VF_MARK_BOOL) {
        if (r.type != V_BOOL) {
            I->off = 0;
            return interp_error(I, "Could not convert value '%s' into type 'bool'", str->s);
        }
    } else if (s.flags & VF_MARK_NUMBER) {
        if (r.type != V_INT && r.type != V_FLOAT) {
            I->off = 0;
            return interp_error(I, "Could not convert value '%s' into type 'number'", str->s);
        }
    }
    *out = r;
    return 0;
}

int tpl_render_native(Interp *I, const Template *t, Value *out)
{
    VList chunks = {0, 0, NULL};
    Sb dummy = SB_INIT;
    Sb *saved = I->out;
    VList *saved_chunks = I->chunks;
    I->out = &dummy;
    I->chunks = &chunks;
    int rc;
    if (t->plain) {
        if (t->plain_len)
            list_append(I->a, &chunks, v_str(I->a, t->plain_text, t->plain_len));
        rc = 0;
    } else {
        rc = render_root(I, t);
    }
    I->out = saved;
    I->chunks = saved_chunks;
    sb_free(&dummy);
    if (rc)
        return -1;
    if (chunks.len == 0) {
        *out = v_str(I->a, "", 0);
        return 0;
    }
    if (chunks.len == 1) {
        Value v = chunks.items[0];
        if (v.type == V_STR && (v.flags & VF_MARK_TEXT)) {
            v.flags = 0;
            *out = v;
            return 0;
        }
        if (v.type == V_STR && (v.flags & (VF_MARK_BOOL | VF_MARK_NUMBER | VF_MARK_NATIVE))) {
            const Template *st = I->tpl;
            I->tpl = t;
            rc = convert_marked(I, v, out);
            I->tpl = st;
            return rc;
        }
        *out = v;
        return 0;
    }
    Sb sb = SB_INIT;
    for (size_t i = 0; i < chunks.len; i++) {
        Value v = chunks.items[i];
        if (v.type == V_STR)
            sb_append(&sb, v.u.s->s, v.u.s->len);
        else
            value_str(&sb, v);
    }
    *out = v_str(I->a, sb_cstr(&sb), sb.len);
    sb_free(&sb);
    return 0;
}
