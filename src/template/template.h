/* template.h - the Jinja2-compatible template engine: public API.
 *
 * The engine knows nothing of dbt.  It parses template text (configured as
 * dbt configures Jinja2: default delimiters, trim_blocks=false,
 * lstrip_blocks=false, keep_trailing_newline=false, extensions `do` and
 * loop controls, plus the block tags `macro`, `test` (-> macro "test_<name>"),
 * `materialization` (-> macro "materialization_<name>_<adapter>", adapter
 * "default" when written `default`), `snapshot`, `docs`, `call`, `filter`,
 * `set`, `raw`) and renders it against a context of Values.
 *
 * Lifetimes: a Template and its AST are allocated in the arena given to
 * tpl_parse() and point into the SrcFile's text, which must outlive it.
 * An Interp is cheap (create one per render); everything a render produces
 * is allocated in the Interp's arena.
 *
 * Errors: tpl_parse() and the render functions return -1 and fill the Diag
 * (file:line:col of the offending token/expression, the source line, a caret,
 * "expected 'endfor' to close 'for' opened at <file>:3:5" style notes for
 * unclosed blocks, and for runtime errors the macro call stack as notes). */
#ifndef CDBT_TEMPLATE_H
#define CDBT_TEMPLATE_H
#include <stdbool.h>
#include "../value/value.h"
#include "../base/diag.h"

typedef struct Template Template;
typedef struct TplMacro TplMacro;

/* Limits (every recursion is bounded). */
#define TPL_MAX_NESTING     100   /* nested blocks/expressions at parse time */
#define TPL_MAX_CALL_DEPTH  200   /* macro call depth at render time */

/* Statuses returned by render/eval functions besides 0 and -1. */
#define TPL_RETURN  (-2)   /* a `return(v)` unwinding to the enclosing macro call */

/* Parse src (the whole text of f, or a string such as a YAML value: then set
 * f->line_base/col_base so diagnostics point into the enclosing file).
 * Returns NULL on a syntax error (err filled). */
Template *tpl_parse(Arena *a, SrcFile *f, Diag *err);

/* The same tree reporting positions in src, which must hold the same text
 * (one parse shared by many nodes with identical code: generic tests).
 * Allocated in a; NULL when the tree defines macros or call blocks (those
 * keep a pointer to the template they were parsed into). */
Template *tpl_rebind(Arena *a, const Template *t, SrcFile *src);

/* True and the text when the template has no tags at all (fast path for
 * rendering YAML strings: no Interp needed). */
bool tpl_is_plain(const Template *t, const char **text, size_t *len);

/* Top-level macro-like blocks of a template in source order ({% macro %},
 * {% test %} as "test_<name>", {% materialization %} as
 * "materialization_<name>_<adapter>").  Other top-level content is ignored
 * when a file is used as a macro file. */
size_t      tpl_macro_count(const Template *t);
TplMacro   *tpl_macro_at(const Template *t, size_t i);
const char *tpl_macro_name(const TplMacro *m);
const Template *tpl_macro_template(const TplMacro *m);
SrcFile    *tpl_srcfile(const Template *t);
/* Byte offsets of the whole block in the source ({% macro ... %} .. {% endmacro %}),
 * for the manifest's macro_sql. */
void        tpl_macro_span(const TplMacro *m, size_t *start, size_t *end);
/* Names called anywhere inside the macro body as bare functions (foo(...)) or
 * as ns.foo(...) with a one-level namespace: used for depends_on.macros.
 * Returns the count; names in *out point into arena memory. */
size_t      tpl_macro_called_names(const TplMacro *m, const char ***out);
size_t      tpl_called_names(const Template *t, const char ***out);   /* same, whole template */
Value       v_macro(TplMacro *m);

/* Resolver for names not found in locals or the globals dict:
 * return 0 (found, *out set), 1 (not found -> undefined), -1 (error recorded via interp_error). */
typedef int (*TplResolve)(Interp *I, void *ud, const char *name, size_t n, Value *out);

Interp *interp_new(Arena *a, Diag *diag);
/* Globals dict consulted after local scopes, then the resolver. Either may be NULL. */
void    interp_set_globals(Interp *I, VDict *globals, TplResolve resolve, void *resolve_ud);
void    interp_set_lenient(Interp *I, bool lenient);
/* Called with every macro the render calls (before its body runs) and
 * every macro whose attributes it reads (.name, .arguments, ...); NULL: none. */
typedef void (*TplMacroHook)(void *ud, const TplMacro *m);
void    interp_set_macro_hook(Interp *I, TplMacroHook fn, void *ud);
void    interp_set_userdata(Interp *I, void *ud);       /* for natives: the dbt node context */
void   *interp_userdata(Interp *I);
Diag   *interp_diag(Interp *I);

/* Render in text mode: appends to out. 0 ok, -1 error (diag filled; out holds partial text). */
int tpl_render(Interp *I, const Template *t, Sb *out);
/* Render in dbt's native mode (used for YAML values and test kwargs):
 *   - no output nodes -> ""; exactly one node: if it is a V_STR marked
 *     VF_MARK_TEXT -> that string; marked BOOL/NUMBER/NATIVE -> literal_eval
 *     of it (falling back to the string), with "Could not convert value 'x'
 *     into type 'bool'" / "'number'" errors for BOOL/NUMBER markers when the
 *     result has the wrong type; any other single value (incl. plain text) -> as is;
 *   - several nodes -> the concatenation of their str() as a string. */
int tpl_render_native(Interp *I, const Template *t, Value *out);

/* Did the render so far read text that a macro emitted?  False while every
 * macro call whose result was its body's text (not a return() value) was the
 * whole expression of a {{ }} (or a call block) outside native mode and
 * outside any set/filter block: then the macros' text only went on to the
 * output.  A render whose output is dropped (dbt's parse pass)
 * and that saw no macro text behaves the same whatever text the macros'
 * bodies hold (see tpl_skeleton).  Cleared by interp_clear_text_seen. */
bool    interp_text_seen(const Interp *I);
void    interp_clear_text_seen(Interp *I);
void    interp_mark_text_seen(Interp *I);
/* The render's own output is looked at (a string rendered into a value): a
 * macro called anywhere in it counts as seen. */
void    interp_watch_output(Interp *I);

/* The skeleton of a template source: its tokens with the text between tags
 * replaced by a marker, appended to out.  Two sources with the same skeleton
 * differ only in what they emit as text: a render of either that does not
 * look at that text (interp_text_seen) takes the same path and makes the
 * same calls.  Returns false (out unchanged) when the source has set, filter
 * or call blocks, whose bodies' text is captured and can be looked at, or
 * does not lex. */
bool    tpl_skeleton(const char *src, size_t len, Sb *out);

/* Stop the innermost macro call with value v: natives implementing dbt's
 * return() call this and return its result (TPL_RETURN) unchanged. */
int interp_return(Interp *I, Value v);
/* Call a macro value (V_MACRO) or any callable; same as interp_call. */
#endif
