/* callargs.c - binding call arguments to a native's parameter list the way
 * Python binds a def's parameters, with Python's error messages.
 *
 * Used by filters, tests, methods and globals in this library and by dbt's
 * natives.  Calling conventions (CallArgs) are defined in value.h; the engine
 * builds them. */
#include "value.h"
#include <string.h>

int callargs_bind(Interp *I, const char *fname, CallArgs *args,
                  const char *const *params, int nparams, int nreq, Value *slots)
{
    for (int i = 0; i < nparams; i++)
        slots[i] = v_undef();
    if (args->npos > nparams) {
        if (nparams == 0)
            return interp_error(I, "%s() takes no arguments (%d given)", fname, args->npos);
        return interp_error(I, "%s() takes at most %d positional argument%s (%d given)", fname, nparams,
                            nparams == 1 ? "" : "s", args->npos);
    }
    bool set[64] = {0};
    for (int i = 0; i < args->npos; i++) {
        slots[i] = args->pos[i];
        if (i < 64)
            set[i] = true;
    }
    for (int k = 0; k < args->nkw; k++) {
        const VStr *kn = args->kwnames[k];
        int found = -1;
        for (int i = 0; i < nparams; i++)
            if (strlen(params[i]) == kn->len && memcmp(params[i], kn->s, kn->len) == 0) {
                found = i;
                break;
            }
        if (found < 0)
            return interp_error(I, "%s() got an unexpected keyword argument '%s'", fname, kn->s);
        if (found < 64 && set[found])
            return interp_error(I, "%s() got multiple values for argument '%s'", fname, kn->s);
        slots[found] = args->kwvals[k];
        if (found < 64)
            set[found] = true;
    }
    for (int i = 0; i < nreq && i < nparams; i++)
        if (!(i < 64 && set[i]))
            return interp_error(I, "%s() missing required argument '%s'", fname, params[i]);
    return 0;
}

Value *callargs_kw(CallArgs *args, const char *name)
{
    size_t n = strlen(name);
    for (int k = 0; k < args->nkw; k++)
        if (args->kwnames[k]->len == n && memcmp(args->kwnames[k]->s, name, n) == 0)
            return &args->kwvals[k];
    return NULL;
}
