/* parse.c - tpl_parse(): drives the lexer into the lemon parser; Template accessors.
 *
 * Owns: the token loop (lexer.c -> generated TplParse), the Template's public
 * accessors (plain text fast path, macro list, spans, called names).
 * Leaves to others: tokens (lexer.c), tree building (ast.c), rendering (eval.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "tplgram.h"

/* lemon-generated (grammar/template.y, %extra_context Builder *B) */
void *TplParseAlloc(void *(*alloc)(size_t), Builder *B);
void  TplParseInit(void *p, Builder *B);
void  TplParse(void *p, int major, Tok minor);
void  TplParseFinalize(void *p);
void  TplParseFree(void *p, void (*dealloc)(void *));

/* The lemon parser (a 400-entry stack, ~26 KB) and the Builder (~6.5 KB)
 * were malloc'd and freed for every template, which showed in parsing the
 * many small ones.  Each thread keeps one pair for its next parse; a parse
 * started while that pair is in use (none does today) gets its own.  The
 * pthread key frees a thread's pair when the thread exits. */
typedef struct ParseMem {
    Builder B;
    void *parser;           /* NULL until the first parse */
    bool busy;
} ParseMem;

static pthread_key_t pm_key;
static pthread_once_t pm_once = PTHREAD_ONCE_INIT;

static void pm_free(void *arg)
{
    ParseMem *m = arg;
    free(m->parser);
    free(m);
}

static void pm_init(void)
{
    if (pthread_key_create(&pm_key, pm_free) != 0)
        abort();
}

static ParseMem *pm_get(void)
{
    pthread_once(&pm_once, pm_init);
    ParseMem *m = pthread_getspecific(pm_key);
    if (!m) {
        m = xmalloc(sizeof *m);
        m->parser = NULL;
        m->busy = false;
        if (pthread_setspecific(pm_key, m) != 0)
            abort();
    }
    return m;
}

Template *tpl_parse(Arena *a, SrcFile *f, Diag *err)
{
    ParseMem *m = pm_get();
    bool own = m->busy;
    Builder *B = own ? xmalloc(sizeof *B) : &m->B;
    Template *result = NULL;
    void *p = NULL;
    Lexer L;
    ast_init(B, a, f, err);
    lex_init(&L, B, f->text, f->len);
    if (own || !m->parser) {
        p = TplParseAlloc(xmalloc, B);
        if (!own)
            m->parser = p;
    } else {
        p = m->parser;
        TplParseInit(p, B);
    }
    if (!own)
        m->busy = true;
    for (;;) {
        Tok t;
        if (lex_next(&L, &t) < 0)
            break;
        TplParse(p, t.code, t);
        if (B->failed || t.code == 0)
            break;
    }
    if (B->failed)
        goto cleanup;
    if (ast_finish(B, L.len) < 0)
        goto cleanup;
    result = B->t;
cleanup:
    if (own) {
        TplParseFree(p, free);
        free(B);
    } else {
        TplParseFinalize(p);
        m->busy = false;
    }
    return result;
}

Template *tpl_rebind(Arena *a, const Template *t, SrcFile *src)
{
    if (t->has_defs || t->nmacros)
        return NULL;
    Template *r = ARENA_NEW(a, Template);
    *r = *t;
    r->src = src;
    return r;
}

bool tpl_is_plain(const Template *t, const char **text, size_t *len)
{
    if (!t->plain)
        return false;
    if (text)
        *text = t->plain_text;
    if (len)
        *len = t->plain_len;
    return true;
}

size_t tpl_macro_count(const Template *t)
{
    return (size_t)t->nmacros;
}

TplMacro *tpl_macro_at(const Template *t, size_t i)
{
    return i < (size_t)t->nmacros ? t->macros[i] : NULL;
}

const char *tpl_macro_name(const TplMacro *m)
{
    return m->def->fullname;
}

const Template *tpl_macro_template(const TplMacro *m)
{
    return m->def->tpl;
}

SrcFile *tpl_srcfile(const Template *t)
{
    return t->src;
}

void tpl_macro_span(const TplMacro *m, size_t *start, size_t *end)
{
    *start = m->def->start;
    *end = m->def->end;
}

size_t tpl_macro_called_names(const TplMacro *m, const char ***out)
{
    *out = m->def->called;
    return (size_t)m->def->ncalled;
}

size_t tpl_called_names(const Template *t, const char ***out)
{
    *out = t->called;
    return (size_t)t->ncalled;
}

Value v_macro(TplMacro *m)
{
    Value v;
    v.type = V_MACRO;
    v.flags = 0;
    v.u.m = m;
    return v;
}

/* ---------------------------------------------------------------- skeleton */

static void put_u32(Sb *out, uint32_t v)
{
    char b[4] = {(char)v, (char)(v >> 8), (char)(v >> 16), (char)(v >> 24)};
    sb_append(out, b, 4);
}

bool tpl_skeleton(const char *src, size_t len, Sb *out)
{
    Arena a;
    arena_init(&a, 0);
    SrcFile f;
    srcfile_init(&f, "<skeleton>", src, len);
    Diag err = {0};
    Builder *B = xmalloc(sizeof *B);
    ast_init(B, &a, &f, &err);
    Lexer L;
    lex_init(&L, B, src, len);
    size_t start = out->len;
    bool ok = true;
    for (;;) {
        Tok t;
        if (lex_next(&L, &t) < 0 || B->failed) {
            ok = false;
            break;
        }
        if (t.code == 0)
            break;
        if (t.code == TK_ENDSET || t.code == TK_ENDFILTER || t.code == TK_ENDCALL) {
            ok = false;               /* a block whose text is captured */
            break;
        }
        put_u32(out, (uint32_t)t.code);
        if (t.code == TK_TEXT)
            continue;                 /* what the text says is left out */
        put_u32(out, (uint32_t)t.len);
        sb_append(out, src + t.off, t.len);
    }
    if (!ok)
        out->len = start;
    free(B);
    diag_clear(&err);
    srcfile_free(&f);
    arena_free(&a);
    return ok;
}
