/* fuzz_template.c - libFuzzer target for src/template: tpl_parse on arbitrary
 * bytes, then (when it parses) the called-names/macro API and a render in
 * text mode, in lenient mode and in native mode against an empty context
 * (plus a `return` native), formatting any diagnostic.  Recursion is bounded
 * by the engine's own limits (TPL_MAX_NESTING, TPL_MAX_CALL_DEPTH); inputs
 * are capped at 64 KiB.  One arena, reset per input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "template/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_return(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    (void)ud;
    (void)self;
    (void)out;
    return interp_return(I, args->npos ? args->pos[0] : v_none());
}

static void render_once(Arena *a, const Template *t, int mode)
{
    Diag d;
    memset(&d, 0, sizeof d);
    Interp *I = interp_new(a, &d);
    VDict *g = v_dict(a).u.d;
    dict_setz(a, g, "return", v_func(a, "return", fz_return, NULL));
    interp_set_globals(I, g, NULL, NULL);
    interp_set_lenient(I, mode == 1);
    Sb out = SB_INIT;
    int rc;
    if (mode == 2) {
        Value v;
        rc = tpl_render_native(I, t, &v);
        if (rc == 0)
            value_repr(&out, v);
    } else {
        rc = tpl_render(I, t, &out);
    }
    if (rc != 0)
        diag_format(&d, &out);
    sb_free(&out);
    diag_clear(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Arena a;
    static int init;
    if (!init) {
        arena_init(&a, 0);
        init = 1;
    }
    if (size > 65536)
        return 0;
    SrcFile f;
    srcfile_init(&f, "fuzz.sql", (const char *)data, size);
    Diag d;
    memset(&d, 0, sizeof d);
    Template *t = tpl_parse(&a, &f, &d);
    if (t) {
        const char **names;
        tpl_called_names(t, &names);
        for (size_t i = 0; i < tpl_macro_count(t); i++) {
            size_t s, e;
            TplMacro *m = tpl_macro_at(t, i);
            tpl_macro_span(m, &s, &e);
            if (s > size || e > size || s > e)
                __builtin_trap();
            tpl_macro_called_names(m, &names);
        }
        for (int mode = 0; mode < 3; mode++)
            render_once(&a, t, mode);
    } else {
        Sb out = SB_INIT;
        diag_format(&d, &out);
        sb_free(&out);
    }
    diag_clear(&d);
    srcfile_free(&f);
    arena_reset(&a);
    return 0;
}
