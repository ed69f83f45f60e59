/* parse.c - tpl_parse(): drives the lexer into the lemon parser; Template accessors.
 *
 * Owns: the token loop (lexer.c -> generated TplParse), the Template's public
 * accessors (plain text fast path, macro list, spans, called names).
 * Leaves to others: tokens (lexer.c), tree building (ast.c), rendering (eval.c). */
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "tplgram.h"

/* lemon-generated (grammar/template.y, %extra_context Builder *B) */
void *TplParseAlloc(void *(*alloc)(size_t), Builder *B);
void  TplParse(void *p, int major, Tok minor);
void  TplParseFree(void *p, void (*dealloc)(void *));

Template *tpl_parse(Arena *a, SrcFile *f, Diag *err)
{
    Builder *B = xmalloc(sizeof *B);
    Template *result = NULL;
    void *p = NULL;
    Lexer L;
    ast_init(B, a, f, err);
    lex_init(&L, B, f->text, f->len);
    p = TplParseAlloc(xmalloc, B);
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
    if (p)
        TplParseFree(p, free);
    free(B);
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
