/* harness.c - render templates with cdbt's engine, as tests/unit/test_golden.c does
 * (built as tests/golden_harness; driven by fuzz.py).
 * Protocol on stdin: "<mode> <ctxlen> <tpllen>\n<ctx bytes><tpl bytes>"
 * stdout: "OK <n>\n<bytes>" or "ERR <n>\n<bytes>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "template/template.h"
#define JSON_MAX_DEPTH 64
#include "../json_read.h"

static int native_return(Interp *I, void *ud, Value self, CallArgs *args, Value *out)
{
    (void)ud; (void)self; (void)out;
    return interp_return(I, args->npos > 0 ? args->pos[0] : v_none());
}

int main(void)
{
    char mode[32];
    size_t clen, tlen;
    while (scanf("%31s %zu %zu", mode, &clen, &tlen) == 3) {
        getchar();
        char *ctx = malloc(clen + 1), *tpl = malloc(tlen + 1);
        if (fread(ctx, 1, clen, stdin) != clen) return 1;
        if (fread(tpl, 1, tlen, stdin) != tlen) return 1;
        ctx[clen] = 0; tpl[tlen] = 0;
        Arena a; arena_init(&a, 0);
        Diag d = {0};
        SrcFile f;
        Sb got = SB_INIT;
        bool is_err = false;
        srcfile_init(&f, "t.sql", tpl, tlen);
        JRead j = {ctx, ctx + clen, &a, 0, false};
        Value cv = jr_value(&j);
        VDict *g = v_dict(&a).u.d;
        tpl_add_std_globals(&a, g);
        dict_setz(&a, g, "return", v_func(&a, "return", native_return, NULL));
        if (!j.bad && cv.type == V_DICT) {
            VDictEntry *e;
            for (size_t it = 0; dict_next(cv.u.d, &it, &e);) dict_set(&a, g, e->key, e->val);
        }
        Template *t = tpl_parse(&a, &f, &d);
        if (!t) { is_err = true; goto done; }
        Interp *I = interp_new(&a, &d);
        interp_set_globals(I, g, NULL, NULL);
        if (strcmp(mode, "native") == 0) {
            Value v = v_none();
            if (tpl_render_native(I, t, &v) != 0) { is_err = true; goto done; }
            sb_puts(&got, value_type_name(v)); sb_puts(&got, ": "); value_repr(&got, v);
        } else if (tpl_render(I, t, &got) != 0) is_err = true;
    done:
        if (is_err) { sb_reset(&got); if (d.set) diag_format(&d, &got); }
        printf("%s %zu\n", is_err ? "ERR" : "OK", got.len);
        fwrite(got.buf ? got.buf : "", 1, got.len, stdout);
        fflush(stdout);
        diag_clear(&d); sb_free(&got); srcfile_free(&f); arena_free(&a);
        free(ctx); free(tpl);
    }
    return 0;
}
