/* dbtproject.c - locating the project and reading dbt_project.yml (spec §1.1,
 * §1.2): name and config-version checks, search paths with their deprecated
 * aliases, target/log paths, clean-targets, vars (kept unrendered), quoting
 * and the config trees (rendered except hooks).
 *
 * The profile is read from here (profile.c) as soon as the profile name is
 * known, because the rest of dbt_project.yml renders with `target` in scope.
 * What the config trees mean is config.c's business. */
#include "projpriv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/fs.h"

int pl_locate_project(Loader *L, char **root_out)
{
    const char *dir = L->opt->project_dir;
    if (!dir || !*dir) {
        const char *e = getenv("DBT_PROJECT_DIR");
        if (e && *e)
            dir = e;
    }
    char *root = NULL;
    if (dir && *dir) {
        root = path_absolute(dir);
    } else {
        char *cwd = path_absolute(".");
        char *cand = xstrdup(cwd);
        for (;;) {
            Sb f = SB_INIT;
            path_join(&f, cand, "dbt_project.yml");
            bool ok = fs_is_file(sb_cstr(&f));
            sb_free(&f);
            if (ok) {
                root = cand;
                cand = NULL;
                break;
            }
            char *slash = strrchr(cand, '/');
            if (!slash || slash == cand)
                break;
            *slash = '\0';
        }
        free(cand);
        if (!root)
            root = cwd;
        else
            free(cwd);
    }
    Sb f = SB_INIT;
    path_join(&f, root, "dbt_project.yml");
    if (!fs_is_file(sb_cstr(&f))) {
        diag_set(L->err, NULL, 0, 0, NULL, "No dbt_project.yml found at expected path %s", sb_cstr(&f));
        sb_free(&f);
        free(root);
        return -1;
    }
    sb_free(&f);
    *root_out = root;
    return 0;
}

/* Python's \w for one character at s (ASCII rules; any non-ASCII byte counts as a letter). */
static bool word_char(unsigned char c) { return c == '_' || c >= 0x80 || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'); }

static bool valid_identifier(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!*u || (*u >= '0' && *u <= '9') || !word_char(*u))
        return false;
    for (; *u; u++)
        if (!word_char(*u))
            return false;
    return true;
}

typedef struct {
    Loader *L;
    YFile *f;
    YNode *root;
} Ctx;

/* Rendered value of key (or *found=false). */
static int get_rendered(Ctx *c, const char *key, unsigned flags, Value *out, YNode **node)
{
    YNode *n = ynode_get(c->root, key);
    *node = n;
    if (!n)
        return 1;
    return pl_conv(c->L, c->f, n, PR_PROJECT, flags, out) == 0 ? 0 : -1;
}

/* dbt_project.yml's `name`: required, a string, an identifier (§1.2). */
static int read_name(Ctx *c, const char **out)
{
    Value v;
    YNode *n;
    int rc = get_rendered(c, "name", PL_RENDER, &v, &n);
    if (rc < 0)
        return -1;
    if (rc > 0 || v.type == V_NONE)
        return pl_err(c->L, c->f, NULL, "Invalid dbt_project.yml: 'name' is a required property");
    if (v.type != V_STR)
        return pl_err(c->L, c->f, n, "Invalid value for 'name' in dbt_project.yml: expected a string, got %s",
                      yaml_value_kind(v));
    if (!valid_identifier(v.u.s->s))
        return pl_err(c->L, c->f, n,
                      "Invalid project name '%s' in dbt_project.yml: names must match ^[^\\d\\W]\\w*$ "
                      "(letters, digits and underscores, not starting with a digit)", v.u.s->s);
    *out = v.u.s->s;
    return 0;
}

/* A list of strings; *out NULL-terminated in the arena. */
static int str_list(Ctx *c, const char *key, Value v, YNode *n, const char ***out)
{
    Loader *L = c->L;
    if (v.type != V_LIST)
        return pl_err(L, c->f, n, "Invalid value for '%s' in dbt_project.yml: expected a list of strings, got %s",
                      key, yaml_value_kind(v));
    const char **l = ARENA_ARRAY(L->a, const char *, v.u.l->len + 1);
    for (size_t i = 0; i < v.u.l->len; i++) {
        Value it = v.u.l->items[i];
        if (it.type != V_STR) {
            YNode *in = n->kind == YN_SEQ && i < n->n ? n->items[i] : n;
            return pl_err(L, c->f, in, "Invalid value for '%s' in dbt_project.yml: expected a list of strings, got a list item of type %s",
                          key, yaml_value_kind(it));
        }
        l[i] = it.u.s->s;
    }
    *out = l;
    return 0;
}

static const char **default_list(Loader *L, const char *one)
{
    const char **l = ARENA_ARRAY(L->a, const char *, 2);
    l[0] = one;
    return l;
}

static int read_paths(Ctx *c, const char *key, const char *alias, const char *dflt, const char ***out)
{
    Value v;
    YNode *n = NULL, *na = NULL;
    int rc = get_rendered(c, key, PL_RENDER, &v, &n);
    if (rc < 0)
        return -1;
    if (alias && ynode_get(c->root, alias)) {
        if (n)
            return pl_err(c->L, c->f, ynode_get(c->root, alias),
                          "Invalid dbt_project.yml: both '%s' and its deprecated alias '%s' are set; use '%s' only",
                          key, alias, key);
        rc = get_rendered(c, alias, PL_RENDER, &v, &na);
        if (rc < 0)
            return -1;
        pl_warn(c->L, "The `%s` config has been renamed to `%s`. Please update your `dbt_project.yml` configuration to reflect this change.",
                alias, key);
        key = alias;
        n = na;
    }
    if (!n || v.type == V_NONE) {
        *out = default_list(c->L, dflt);
        return 0;
    }
    return str_list(c, key, v, n, out);
}

static int read_str(Ctx *c, const char *key, const char **out)
{
    Value v;
    YNode *n;
    int rc = get_rendered(c, key, PL_RENDER, &v, &n);
    if (rc != 0)
        return rc;
    if (v.type == V_NONE)
        return 1;
    if (v.type != V_STR)
        return pl_err(c->L, c->f, n, "Invalid value for '%s' in dbt_project.yml: expected a string, got %s",
                      key, yaml_value_kind(v));
    *out = v.u.s->s;
    return 0;
}

static const char *const tree_keys[] = {"models", "seeds", "snapshots", "sources", "data_tests", "tests",
                                        "analyses", "unit_tests", "metrics", "semantic-models",
                                        "saved-queries", "exposures", NULL};
static const char *const raw_keys[] = {"vars", "on-run-start", "on-run-end", "query-comment", NULL};

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (!strcmp(*l, s))
            return true;
    return false;
}

/* <root>/dbt_project.yml loaded (display: its name in messages); NULL after
 * reporting an error, or when it is not a mapping at the top level. */
static YFile *open_project_yml(Loader *L, const char *root, const char *display)
{
    Sb path = SB_INIT;
    path_join(&path, root, "dbt_project.yml");
    YFile *f = ARENA_NEW(L->a, YFile);
    int rc = pl_yaml_file(L, sb_cstr(&path), display, f);
    sb_free(&path);
    if (rc != 0)
        return NULL;
    if (!f->root || f->root->kind != YN_MAP) {
        pl_err(L, f, f->root, "Invalid dbt_project.yml: expected a mapping at the top level, got %s",
               f->root ? pl_kind(f->root) : "an empty document");
        return NULL;
    }
    return f;
}

int pl_read_project_yml(Loader *L)
{
    Project *p = L->p;
    YFile *f = open_project_yml(L, p->root, "dbt_project.yml");
    if (!f)
        return -1;
    Ctx c = {L, f, f->root};
    int rc;
    Value raw = ynode_to_value(L->a, f->root);
    p->priv->raw_yml = raw.u.d;

    /* name, profile: rendered without a target (the profile is not known yet) */
    if (read_name(&c, &p->name) != 0)
        return -1;

    const char *profile = NULL;
    if (read_str(&c, "profile", &profile) < 0)
        return -1;

    Value *cv = dict_getz(p->priv->raw_yml, "vars");
    YNode *vn = ynode_get(f->root, "vars");
    if (cv && cv->type != V_NONE && cv->type != V_DICT)
        return pl_err(L, f, vn, "Invalid value for 'vars' in dbt_project.yml: expected a mapping, got %s",
                      yaml_value_kind(*cv));
    p->vars = cv && cv->type == V_DICT ? cv->u.d : v_dict(L->a).u.d;
    p->cli_vars = L->opt->cli_vars ? L->opt->cli_vars : v_dict(L->a).u.d;

    if (pl_read_profile(L, profile) != 0)
        return -1;
    if (L->r && L->r->bind)
        L->r->bind(L->r->ud, p);

    /* the whole file, rendered except vars, run hooks, query-comment and config-tree hooks */
    if (ynode_get(f->root, "tests") && ynode_get(f->root, "data_tests"))
        return pl_err(L, f, ynode_get(f->root, "tests"),
                      "Invalid project config: cannot have both 'tests' and 'data_tests' defined");
    VDict *yml = v_dict(L->a).u.d;
    for (size_t i = 0; i < f->root->n; i++) {
        YNode *k = f->root->keys[i], *val = f->root->items[i];
        const char *ks = pl_is_str(k) ? k->value.u.s->s : NULL;
        Value out;
        if (!ks) {
            dict_set(L->a, yml, k->value, ynode_to_value(L->a, val));
            continue;
        }
        if (!strcmp(ks, "name")) {
            out = v_strz(L->a, p->name);
        } else if (in_list(raw_keys, ks)) {
            out = ynode_to_value(L->a, val);
        } else if (in_list(tree_keys, ks)) {
            if (val && val->kind != YN_MAP && !(val->kind == YN_SCALAR && val->value.type == V_NONE))
                return pl_err(L, f, val, "Invalid value for '%s' in dbt_project.yml: expected a mapping, got %s",
                              ks, pl_kind(val));
            if (pl_conv(L, f, val, PR_PROJECT, PL_RENDER | PL_HOOKS_RAW, &out) != 0)
                return -1;
            if (out.type == V_NONE)
                out = v_dict(L->a);
        } else {
            if (pl_conv(L, f, val, PR_PROJECT, PL_RENDER, &out) != 0)
                return -1;
        }
        dict_setz(L->a, yml, ks, out);
    }
    p->project_yml = yml;

    /* config-version */
    Value *cvv = dict_getz(yml, "config-version");
    if (cvv && cvv->type != V_NONE && !(cvv->type == V_INT && cvv->u.i == 2))
        return pl_err(L, f, ynode_get(f->root, "config-version"),
                      "Invalid config version: %s, expected 2", pl_fmt_value(L->a, *cvv));
    Value *ver = dict_getz(yml, "version");
    if (ver && ver->type != V_NONE) {
        if (ver->type != V_STR && ver->type != V_INT && ver->type != V_FLOAT)
            return pl_err(L, f, ynode_get(f->root, "version"),
                          "Invalid value for 'version' in dbt_project.yml: expected a string or a number, got %s",
                          yaml_value_kind(*ver));
        p->version = pl_fmt_value(L->a, *ver);
    }

    if (read_paths(&c, "model-paths", "source-paths", "models", &p->model_paths) ||
        read_paths(&c, "seed-paths", "data-paths", "seeds", &p->seed_paths) ||
        read_paths(&c, "macro-paths", NULL, "macros", &p->macro_paths) ||
        read_paths(&c, "test-paths", NULL, "tests", &p->test_paths) ||
        read_paths(&c, "snapshot-paths", NULL, "snapshots", &p->snapshot_paths) ||
        read_paths(&c, "analysis-paths", NULL, "analyses", &p->analysis_paths))
        return -1;

    /* target-path: --target-path, DBT_TARGET_PATH, key, "target" */
    const char *tp = L->opt->target_path;
    if (!tp || !*tp) {
        const char *e = getenv("DBT_TARGET_PATH");
        tp = e && *e ? e : NULL;
    }
    const char *key_tp = NULL;
    if ((rc = read_str(&c, "target-path", &key_tp)) < 0)
        return -1;
    p->target_path = arena_strdup(L->a, tp ? tp : key_tp ? key_tp : "target");
    const char *lp = getenv("DBT_LOG_PATH");
    const char *key_lp = NULL;
    if (read_str(&c, "log-path", &key_lp) < 0)
        return -1;
    p->log_path = arena_strdup(L->a, lp && *lp ? lp : key_lp ? key_lp : "logs");

    Value *ct = dict_getz(yml, "clean-targets");
    if (ct && ct->type != V_NONE) {
        if (str_list(&c, "clean-targets", *ct, ynode_get(f->root, "clean-targets"), &p->clean_targets) != 0)
            return -1;
    } else {
        p->clean_targets = default_list(L, p->target_path);
    }

    Value *q = dict_getz(yml, "quoting");
    if (q && q->type != V_NONE && q->type != V_DICT)
        return pl_err(L, f, ynode_get(f->root, "quoting"),
                      "Invalid value for 'quoting' in dbt_project.yml: expected a mapping, got %s", yaml_value_kind(*q));
    p->quoting = q && q->type == V_DICT ? q->u.d : v_dict(L->a).u.d;

    const char *pip = NULL;
    if (read_str(&c, "packages-install-path", &pip) < 0)
        return -1;
    p->packages_install_path = pip ? pip : "dbt_packages";

    Package *self = ARENA_NEW(L->a, Package);
    self->name = p->name;
    self->root = p->root;
    self->rel_dir = "";
    self->project_yml = yml;
    self->raw_yml = p->priv->raw_yml;
    self->vars = p->vars;
    self->model_paths = p->model_paths;
    self->seed_paths = p->seed_paths;
    self->macro_paths = p->macro_paths;
    self->test_paths = p->test_paths;
    self->snapshot_paths = p->snapshot_paths;
    self->analysis_paths = p->analysis_paths;
    self->macro_by_name = &p->macro_by_name;
    p->self = self;

    static const char *const hook_keys[] = {"on-run-start", "on-run-end", NULL};
    for (int i = 0; hook_keys[i]; i++) {
        Value *h = dict_getz(yml, hook_keys[i]);
        if (!h || h->type == V_NONE || h->type == V_STR)
            continue;
        YNode *hn = ynode_get(f->root, hook_keys[i]);
        const char **dummy;
        if (h->type != V_LIST)
            return pl_err(L, f, hn, "Invalid value for '%s' in dbt_project.yml: expected a string or a list of strings, got %s",
                          hook_keys[i], yaml_value_kind(*h));
        if (str_list(&c, hook_keys[i], *h, hn, &dummy) != 0)
            return -1;
    }
    return 0;
}

/* An installed package's dbt_project.yml (pk->root set): its name, vars,
 * search paths and config trees.  Its profile, target-path, clean-targets,
 * run hooks and the rest count only in the root project: they are kept in
 * pk->project_yml but never read. */
int pl_read_package_yml(Loader *L, Package *pk, const char *display)
{
    YFile *f = open_project_yml(L, pk->root, display);
    if (!f)
        return -1;
    Ctx c = {L, f, f->root};
    pk->raw_yml = ynode_to_value(L->a, f->root).u.d;
    if (read_name(&c, &pk->name) != 0)
        return -1;
    Value *cv = dict_getz(pk->raw_yml, "vars");
    if (cv && cv->type != V_NONE && cv->type != V_DICT)
        return pl_err(L, f, ynode_get(f->root, "vars"),
                      "Invalid value for 'vars' in dbt_project.yml: expected a mapping, got %s", yaml_value_kind(*cv));
    pk->vars = cv && cv->type == V_DICT ? cv->u.d : v_dict(L->a).u.d;
    if (ynode_get(f->root, "tests") && ynode_get(f->root, "data_tests"))
        return pl_err(L, f, ynode_get(f->root, "tests"),
                      "Invalid project config: cannot have both 'tests' and 'data_tests' defined");
    VDict *yml = v_dict(L->a).u.d;
    for (size_t i = 0; i < f->root->n; i++) {
        YNode *k = f->root->keys[i], *val = f->root->items[i];
        const char *ks = pl_is_str(k) ? k->value.u.s->s : NULL;
        if (!ks || !in_list(tree_keys, ks)) {
            if (ks)
                dict_setz(L->a, yml, ks, ynode_to_value(L->a, val));
            continue;
        }
        Value out;
        if (val && val->kind != YN_MAP && !(val->kind == YN_SCALAR && val->value.type == V_NONE))
            return pl_err(L, f, val, "Invalid value for '%s' in dbt_project.yml: expected a mapping, got %s",
                          ks, pl_kind(val));
        if (pl_conv(L, f, val, PR_PROJECT, PL_RENDER | PL_HOOKS_RAW, &out) != 0)
            return -1;
        if (out.type == V_NONE)
            out = v_dict(L->a);
        dict_setz(L->a, yml, ks, out);
    }
    pk->project_yml = yml;
    if (read_paths(&c, "model-paths", "source-paths", "models", &pk->model_paths) ||
        read_paths(&c, "seed-paths", "data-paths", "seeds", &pk->seed_paths) ||
        read_paths(&c, "macro-paths", NULL, "macros", &pk->macro_paths) ||
        read_paths(&c, "test-paths", NULL, "tests", &pk->test_paths) ||
        read_paths(&c, "snapshot-paths", NULL, "snapshots", &pk->snapshot_paths) ||
        read_paths(&c, "analysis-paths", NULL, "analyses", &pk->analysis_paths))
        return -1;
    return 0;
}

/* Where the project and its target directory are, without loading it: the
 * same precedence as project_load() (--project-dir, DBT_PROJECT_DIR, the
 * nearest dbt_project.yml; --target-path, DBT_TARGET_PATH, target-path,
 * "target").  A templated target-path cannot be known without rendering:
 * -1 then, as for any failure. */
int project_locate(const ProjectOptions *opt, char **root_out, char **target_out)
{
    Diag err = {0};
    Loader L = {0};
    L.opt = opt;
    L.err = &err;
    char *root = NULL;
    if (pl_locate_project(&L, &root) != 0) {
        diag_clear(&err);
        return -1;
    }
    const char *tp = opt->target_path;
    if (!tp || !*tp) {
        const char *e = getenv("DBT_TARGET_PATH");
        tp = e && *e ? e : NULL;
    }
    Arena a;
    arena_init(&a, 0);
    int rc = 0;
    if (!tp) {
        Sb f = SB_INIT;
        path_join(&f, root, "dbt_project.yml");
        char *text = NULL;
        size_t len = 0;
        Value v;
        rc = -1;
        if (fs_read_file(sb_cstr(&f), &text, &len) == 0 &&
            yaml_load_value(&a, "dbt_project.yml", text, len, &v, &err) == 0 && v.type == V_DICT) {
            Value *t = dict_getz(v.u.d, "target-path");
            if (!t || t->type == V_NONE) {
                tp = "target";
                rc = 0;
            } else if (t->type == V_STR && !strstr(t->u.s->s, "{{") && !strstr(t->u.s->s, "{%")) {
                tp = arena_strdup(&a, t->u.s->s);
                rc = 0;
            }
        }
        diag_clear(&err);
        free(text);
        sb_free(&f);
    }
    if (rc == 0) {
        Sb t = SB_INIT;
        if (tp[0] == '/')
            sb_puts(&t, tp);
        else
            path_join(&t, root, tp);
        *target_out = sb_detach(&t);
        *root_out = root;
    } else {
        free(root);
    }
    arena_free(&a);
    return rc;
}
