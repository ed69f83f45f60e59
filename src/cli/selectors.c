/* selectors.c - named selectors from <project>/selectors.yml (§12.3):
 * `--selector NAME`, and the selector marked `default: true` when a command
 * is given no --select/--exclude/--selector.
 *
 *   selectors:
 *     - name: nightly
 *       default: true                      # optional
 *       definition:                        # a CLI string, or a tree of:
 *         union:                           #   union / intersection: lists
 *           - tag:nightly                  #   a CLI string
 *           - method: path                 #   method/value with parents,
 *             value: models/marts          #   children (or *_depth) and
 *             children: true               #   childrens_parents
 *           - intersection: [tag:a, tag:b]
 *           - selector: other              #   another selector's definition
 *           - exclude: [tag:deprecated]    #   excludes of this union
 *
 * A definition becomes the --select/--exclude pair of the CLI: unions and
 * intersections are multiplied out into a union of intersections (A and (B
 * or C) = A,B A,C), the excludes of the outermost union go to --exclude.
 * An exclude anywhere else cannot be written that way and is reported as
 * not supported.  The file is read through fs_read_file, so the project
 * snapshot sees it change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "../base/fs.h"
#include "../base/journal.h"
#include "../yaml/yaml.h"

/* A union of intersections of CLI atoms ("tag:x", "+path:y+"). */
typedef struct Terms { const char ***t; int *len; int n; } Terms;

typedef struct SelCtx {
    Arena *a;
    VDict *by_name;              /* selector name -> definition */
    const char *file;
    Diag *err;
    int depth;
} SelCtx;

static void terms_add(SelCtx *c, Terms *t, const char **atoms, int n)
{
    const char ***nt = ARENA_ARRAY(c->a, const char **, t->n + 1);
    int *nl = ARENA_ARRAY(c->a, int, t->n + 1);
    if (t->n) {
        memcpy(nt, t->t, sizeof *nt * (size_t)t->n);
        memcpy(nl, t->len, sizeof *nl * (size_t)t->n);
    }
    nt[t->n] = atoms;
    nl[t->n] = n;
    t->t = nt;
    t->len = nl;
    t->n++;
}

static int bad(SelCtx *c, const char *fmt, const char *what)
{
    diag_set(c->err, c->file, 0, 0, NULL, fmt, what);
    return -1;
}

static bool truthy_key(VDict *d, const char *k)
{
    Value *v = dict_getz(d, k);
    return v && value_truthy(*v);
}

/* A method/value mapping as a CLI atom. */
static int atom_of(SelCtx *c, VDict *d, const char **out)
{
    Value *m = dict_getz(d, "method"), *v = dict_getz(d, "value");
    if (!m || m->type != V_STR || !v)
        return bad(c, "Invalid selector definition: a mapping needs 'method' and 'value' (or union, intersection, "
                      "exclude, selector)%s", "");
    Sb sb = SB_INIT;
    Value *pd = dict_getz(d, "parents_depth"), *cd = dict_getz(d, "children_depth");
    if (truthy_key(d, "childrens_parents"))
        sb_putc(&sb, '@');
    else if (pd && pd->type == V_INT)
        sb_printf(&sb, "%lld+", (long long)pd->u.i);
    else if (truthy_key(d, "parents"))
        sb_putc(&sb, '+');
    const char *method = m->u.s->s;
    Sb val = SB_INIT;
    value_str(&val, *v);
    if (strcmp(method, "fqn") == 0 && !strchr(sb_cstr(&val), ':'))
        sb_puts(&sb, sb_cstr(&val));
    else
        sb_printf(&sb, "%s:%s", method, sb_cstr(&val));
    sb_free(&val);
    if (cd && cd->type == V_INT)
        sb_printf(&sb, "+%lld", (long long)cd->u.i);
    else if (truthy_key(d, "children"))
        sb_putc(&sb, '+');
    *out = arena_strdup(c->a, sb_cstr(&sb));
    sb_free(&sb);
    return 0;
}

static int eval_def(SelCtx *c, Value def, Terms *inc, Terms *exc, bool top);

/* every element of a list into one Terms each */
static int eval_list(SelCtx *c, Value list, const char *op, Terms **parts, int *np, Terms *exc, bool top)
{
    if (list.type != V_LIST)
        return bad(c, "Invalid selector definition: '%s' needs a list", op);
    *parts = ARENA_ARRAY(c->a, Terms, list.u.l->len + 1);
    *np = 0;
    for (size_t i = 0; i < list.u.l->len; i++) {
        Value e = list.u.l->items[i];
        if (e.type == V_DICT && dict_getz(e.u.d, "exclude")) {
            if (!top || strcmp(op, "union") != 0)
                return bad(c, "cdbt does not support an 'exclude' inside '%s' below the top of a selector "
                              "definition yet", op);
            Value *x = dict_getz(e.u.d, "exclude");
            Terms *xp;
            int nx;
            if (eval_list(c, *x, "exclude", &xp, &nx, NULL, false) != 0)
                return -1;
            for (int k = 0; k < nx; k++)
                for (int j = 0; j < xp[k].n; j++)
                    terms_add(c, exc, xp[k].t[j], xp[k].len[j]);
            continue;
        }
        Terms t = {0};
        if (eval_def(c, e, &t, NULL, false) != 0)
            return -1;
        (*parts)[(*np)++] = t;
    }
    return 0;
}

static int eval_def(SelCtx *c, Value def, Terms *inc, Terms *exc, bool top)
{
    if (++c->depth > 64)
        return bad(c, "Invalid selector definition: nested too deeply (a selector that refers to itself?)%s", "");
    int rc = 0;
    if (def.type == V_STR) {
        /* a CLI expression: space-separated unions of comma intersections */
        char *s = arena_strdup(c->a, def.u.s->s), *outer = NULL;
        for (char *tok = strtok_r(s, " \t\n", &outer); tok; tok = strtok_r(NULL, " \t\n", &outer)) {
            int n = 1;
            for (char *q = tok; *q; q++)
                n += *q == ',';
            const char **atoms = ARENA_ARRAY(c->a, const char *, n);
            int k = 0;
            for (char *save = NULL, *a = strtok_r(tok, ",", &save); a; a = strtok_r(NULL, ",", &save))
                atoms[k++] = a;
            if (k)
                terms_add(c, inc, atoms, k);
        }
    } else if (def.type == V_DICT) {
        VDict *d = def.u.d;
        Value *u = dict_getz(d, "union"), *x = dict_getz(d, "intersection"), *sel = dict_getz(d, "selector");
        if (u) {
            Terms *parts;
            int np;
            Terms dummy = {0};
            if (eval_list(c, *u, "union", &parts, &np, exc ? exc : &dummy, top) != 0)
                rc = -1;
            for (int k = 0; !rc && k < np; k++)
                for (int j = 0; j < parts[k].n; j++)
                    terms_add(c, inc, parts[k].t[j], parts[k].len[j]);
        } else if (x) {
            Terms *parts;
            int np;
            if (eval_list(c, *x, "intersection", &parts, &np, NULL, false) != 0) {
                rc = -1;
            } else {
                /* multiply out: every choice of one term from each part */
                Terms acc = {0};
                const char **none = NULL;
                terms_add(c, &acc, none, 0);
                for (int k = 0; k < np; k++) {
                    Terms next = {0};
                    for (int i = 0; i < acc.n; i++)
                        for (int j = 0; j < parts[k].n; j++) {
                            int n = acc.len[i] + parts[k].len[j];
                            const char **atoms = ARENA_ARRAY(c->a, const char *, n + 1);
                            if (acc.len[i])
                                memcpy(atoms, acc.t[i], sizeof *atoms * (size_t)acc.len[i]);
                            memcpy(atoms + acc.len[i], parts[k].t[j], sizeof *atoms * (size_t)parts[k].len[j]);
                            terms_add(c, &next, atoms, n);
                        }
                    acc = next;
                    if (acc.n > 4096) {
                        rc = bad(c, "Invalid selector definition: too many combinations%s", "");
                        break;
                    }
                }
                for (int i = 0; !rc && i < acc.n; i++)
                    if (acc.len[i])
                        terms_add(c, inc, acc.t[i], acc.len[i]);
            }
        } else if (sel) {
            Value *other = sel->type == V_STR ? dict_getz(c->by_name, sel->u.s->s) : NULL;
            if (!other)
                rc = bad(c, "Invalid selector definition: no selector named '%s'",
                         sel->type == V_STR ? sel->u.s->s : "?");
            else
                rc = eval_def(c, *other, inc, exc, top);
        } else if (dict_getz(d, "exclude")) {
            rc = bad(c, "Invalid selector definition: an 'exclude' must be an element of a 'union'%s", "");
        } else {
            const char *atom;
            rc = atom_of(c, d, &atom);
            if (!rc) {
                const char **atoms = ARENA_ARRAY(c->a, const char *, 1);
                atoms[0] = atom;
                terms_add(c, inc, atoms, 1);
            }
        }
    } else {
        rc = bad(c, "Invalid selector definition: expected a string or a mapping, got %s", value_type_name(def));
    }
    c->depth--;
    return rc;
}

static const char **terms_strings(SelCtx *c, const Terms *t, int *n)
{
    const char **v = ARENA_ARRAY(c->a, const char *, t->n + 1);
    *n = 0;
    for (int i = 0; i < t->n; i++) {
        Sb sb = SB_INIT;
        for (int k = 0; k < t->len[i]; k++) {
            if (k)
                sb_putc(&sb, ',');
            sb_puts(&sb, t->t[i][k]);
        }
        v[(*n)++] = arena_strdup(c->a, sb_cstr(&sb));
        sb_free(&sb);
    }
    return v;
}

int selectors_resolve(Session *s, const char ***out_sel, int *nsel, const char ***out_exc, int *nexc, bool *found,
                      Diag *err)
{
    Project *p = s->project;
    Flags *f = s->flags;
    *found = false;
    const char *path = arena_sprintf(&s->arena, "%s/selectors.yml", p->root);
    SelCtx c = {.a = &s->arena, .file = "selectors.yml", .err = err};
    if (!fs_is_file(path)) {
        journal_path(path);      /* looked for: creating it changes what is selected */
        if (f->selector) {
            diag_set(err, NULL, 0, 0, NULL, "--selector %s: the project has no selectors.yml", f->selector);
            return -1;
        }
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, &text, &len) != 0) {
        diag_set(err, "selectors.yml", 0, 0, NULL, "cannot read selectors.yml");
        return -1;
    }
    Value root;
    int rc = yaml_load_value(&s->arena, "selectors.yml", text, len, &root, err);
    free(text);
    if (rc != 0)
        return -1;
    Value *list = root.type == V_DICT ? dict_getz(root.u.d, "selectors") : NULL;
    if (!list || list->type != V_LIST) {
        diag_set(err, "selectors.yml", 0, 0, NULL, "selectors.yml must hold a 'selectors' list");
        return -1;
    }
    c.by_name = v_dict(c.a).u.d;
    const char *dflt = NULL;
    for (size_t i = 0; i < list->u.l->len; i++) {
        Value e = list->u.l->items[i];
        Value *name = e.type == V_DICT ? dict_getz(e.u.d, "name") : NULL;
        Value *def = e.type == V_DICT ? dict_getz(e.u.d, "definition") : NULL;
        if (!name || name->type != V_STR || !def) {
            diag_set(err, "selectors.yml", 0, 0, NULL, "selector %zu: needs a 'name' and a 'definition'", i + 1);
            return -1;
        }
        if (dict_getz(c.by_name, name->u.s->s)) {
            diag_set(err, "selectors.yml", 0, 0, NULL, "two selectors named '%s'", name->u.s->s);
            return -1;
        }
        dict_setz(c.a, c.by_name, name->u.s->s, *def);
        if (truthy_key(e.u.d, "default")) {
            if (dflt) {
                diag_set(err, "selectors.yml", 0, 0, NULL, "two selectors have default: true ('%s' and '%s')", dflt,
                         name->u.s->s);
                return -1;
            }
            dflt = name->u.s->s;
        }
    }
    const char *want = f->selector ? f->selector : (!f->nselect && !f->nexclude ? dflt : NULL);
    if (!want)
        return 0;
    Value *def = dict_getz(c.by_name, want);
    if (!def) {
        diag_set(err, NULL, 0, 0, NULL, "Could not find selector named %s, expected one of %s", want,
                 list->u.l->len ? "the names in selectors.yml" : "none");
        return -1;
    }
    Terms inc = {0}, exc = {0};
    if (eval_def(&c, *def, &inc, &exc, true) != 0)
        return -1;
    if (inc.n == 0) {
        diag_set(err, "selectors.yml", 0, 0, NULL, "Invalid selector definition: selector '%s' selects nothing", want);
        return -1;
    }
    *out_sel = terms_strings(&c, &inc, nsel);
    *out_exc = terms_strings(&c, &exc, nexc);
    *found = true;
    return 0;
}
