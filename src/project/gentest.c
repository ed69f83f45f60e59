/* gentest.c - generic test nodes from properties files (spec §9.1-9.3).
 *
 * Owns the entry forms (`- unique`, `- accepted_values: {...}`, `- name: x` +
 * `test_name:`, namespaced `- pkg.test`), the split of arguments and config
 * (legacy top-level config keys vs `config:`), dbt's synthesised names (full
 * name, and the short md5 name when the full one has 64+ characters), the
 * unique_id hash over the Python repr of the test metadata, raw_code with its
 * trailing config() call, and the test's tags and config fold.
 *
 * Choices (documented in README.md): Node.name is the full name (dbt's
 * fqn_name; a user `name:` replaces it), Node.path is "<short name>.sql", and
 * config.alias is set to the short name when it differs (as dbt does), so the
 * compiled file and relation use the short name.  Kwargs are kept unrendered;
 * src/dbt renders them at compile time. */
#include "projpriv.h"

#include <stdlib.h>
#include <string.h>

#include "../base/hash.h"

/* dbt's TestBuilder.CONFIG_ARGS, in its order (the order of legacy keys in config). */
static const char *const config_args[] = {
    "severity", "tags", "enabled", "where", "limit", "warn_if", "error_if", "fail_calc",
    "store_failures", "store_failures_as", "meta", "database", "schema", "alias", NULL,
};

static bool is_config_arg(const char *k)
{
    for (int i = 0; config_args[i]; i++)
        if (!strcmp(k, config_args[i]))
            return true;
    return false;
}

int pl_queue_tests(Loader *L, YFile *f, const YNode *tests, const TestTarget *t,
                   const char *column_name, VList *column_tags)
{
    TestJob *j = ARENA_NEW(&L->tree, TestJob);
    j->f = f;
    j->tests = tests;
    j->t = *t;
    j->column_name = column_name;
    j->column_tags = column_tags;
    vec_push(&L->jobs, j);
    return 0;
}

static bool ident_char(char c, bool first)
{
    return c == '_' || ((c | 32) >= 'a' && (c | 32) <= 'z') || (!first && c >= '0' && c <= '9');
}

/* "ns.name" or "name" (each [a-zA-Z_][0-9a-zA-Z_]*). */
static bool split_test_name(Arena *a, const char *s, const char **ns, const char **name)
{
    const char *dot = strchr(s, '.');
    const char *nm = dot ? dot + 1 : s;
    if (dot) {
        if (dot == s || !ident_char(s[0], true))
            return false;
        for (const char *p = s; p < dot; p++)
            if (!ident_char(*p, p == s))
                return false;
    }
    if (!*nm || !ident_char(nm[0], true))
        return false;
    for (const char *p = nm; *p; p++)
        if (!ident_char(*p, p == nm))
            return false;
    *ns = dot ? arena_strndup(a, s, (size_t)(dot - s)) : NULL;
    *name = arena_strdup(a, nm);
    return true;
}

static size_t py_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* First k characters (code points) of s. */
static const char *py_prefix(Arena *a, const char *s, size_t k)
{
    const char *p = s;
    size_t n = 0;
    while (*p) {
        if (((unsigned char)*p & 0xC0) != 0x80) {
            if (n == k)
                break;
            n++;
        }
        p++;
    }
    return arena_strndup(a, s, (size_t)(p - s));
}

static void clean_append(Sb *out, const char *s, size_t n)
{
    bool in_run = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
        if (ok) {
            sb_putc(out, c);
            in_run = false;
        } else if (!in_run) {
            sb_putc(out, '_');
            in_run = true;
        }
    }
}

static int cmp_keys(const void *x, const void *y)
{
    const VDictEntry *a = *(const VDictEntry *const *)x, *b = *(const VDictEntry *const *)y;
    const char *sa = value_cstr(a->key), *sb = value_cstr(b->key);
    if (!sa || !sb)
        return sa ? 1 : sb ? -1 : 0;
    return strcmp(sa, sb);
}

#define SMALL_DICT 8      /* entries sorted on the stack (a test's kwargs: two or three) */

/* Live entries of d sorted by (string) key, in buf when they fit (else
 * malloc'ed: the caller frees a result other than buf).  Small dicts are
 * insertion-sorted: stable, like glibc's qsort (a merge sort), so keys
 * that compare equal (non-strings) keep the same order either way. */
static VDictEntry **sorted_entries(VDict *d, size_t *n, VDictEntry **buf)
{
    VDictEntry **v = d->len <= SMALL_DICT ? buf : xmalloc((d->len + 1) * sizeof *v);
    size_t k = 0;
    VDictEntry *e;
    for (size_t it = 0; dict_next(d, &it, &e);)
        v[k++] = e;
    if (v != buf) {
        qsort(v, k, sizeof *v, cmp_keys);
    } else {
        for (size_t i = 1; i < k; i++) {
            VDictEntry *x = v[i];
            size_t j = i;
            for (; j > 0 && cmp_keys(&v[j - 1], &x) > 0; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
    }
    *n = k;
    return v;
}

static void flat_part(Sb *unique, bool *first, Value v)
{
    if (!*first)
        sb_puts(unique, "__");
    *first = false;
    if (v.type == V_STR) {          /* str() of a str is itself */
        clean_append(unique, v.u.s->s, v.u.s->len);
        return;
    }
    Sb s = SB_INIT;
    value_str(&s, v);
    clean_append(unique, sb_cstr(&s), s.len);
    sb_free(&s);
}

/* The `unique` part of the synthesised name: args (except model) sorted, flattened, cleaned. */
static void synth_unique(VDict *args, Sb *unique)
{
    size_t n;
    VDictEntry *buf[SMALL_DICT], **es = sorted_entries(args, &n, buf);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const char *k = value_cstr(es[i]->key);
        if (k && !strcmp(k, "model"))
            continue;
        Value v = es[i]->val;
        if (v.type == V_DICT) {
            VDictEntry *e;
            for (size_t it = 0; dict_next(v.u.d, &it, &e);)
                flat_part(unique, &first, e->val);
        } else if (v.type == V_LIST || v.type == V_TUPLE) {
            for (size_t j = 0; j < v.u.l->len; j++)
                flat_part(unique, &first, v.u.l->items[j]);
        } else {
            flat_part(unique, &first, v);
        }
    }
    if (es != buf)
        free(es);
}

/* Python repr() of a str given as UTF-8 bytes (printable non-ASCII passes through). */
static void py_repr_str(Sb *out, const char *s, size_t n)
{
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = sq && !dq ? '"' : '\'';
    sb_putc(out, q);
    for (size_t i = 0; i < n; i++) {
        /* a run of bytes that stand for themselves goes in at once */
        size_t run = i;
        while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != 0x7f && s[run] != '\\' && s[run] != q)
            run++;
        if (run > i) {
            sb_append(out, s + i, run - i);
            i = run - 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q) {
            sb_putc(out, '\\');
            sb_putc(out, (char)c);
        } else if (c == '\n') {
            sb_puts(out, "\\n");
        } else if (c == '\r') {
            sb_puts(out, "\\r");
        } else if (c == '\t') {
            sb_puts(out, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            sb_printf(out, "\\x%02x", c);
        } else {
            sb_putc(out, (char)c);
        }
    }
    sb_putc(out, q);
}

/* repr() of dbt's get_hashable_md(v): dicts with sorted keys, lists kept,
 * every other leaf str()'d -- written directly, without building the copy. */
static void hashable_repr(Sb *out, Value v, int depth)
{
    if (depth > PL_MAX_DEPTH) {
        sb_puts(out, "...");
        return;
    }
    if (v.type == V_DICT) {
        size_t n;
        VDictEntry *buf[SMALL_DICT], **es = sorted_entries(v.u.d, &n, buf);
        sb_putc(out, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sb_puts(out, ", ");
            value_repr(out, es[i]->key);
            sb_puts(out, ": ");
            hashable_repr(out, es[i]->val, depth + 1);
        }
        sb_putc(out, '}');
        if (es != buf)
            free(es);
        return;
    }
    if (v.type == V_LIST) {
        sb_putc(out, '[');
        for (size_t i = 0; i < v.u.l->len; i++) {
            if (i)
                sb_puts(out, ", ");
            hashable_repr(out, v.u.l->items[i], depth + 1);
        }
        sb_putc(out, ']');
        return;
    }
    if (v.type == V_STR) {
        py_repr_str(out, v.u.s->s, v.u.s->len);
        return;
    }
    Sb tmp = SB_INIT;
    value_str(&tmp, v);
    py_repr_str(out, sb_cstr(&tmp), tmp.len);
    sb_free(&tmp);
}

/* `k="v"` / `k=<str(v)>` pairs joined with ",", as dbt's construct_config. */
static void config_call(VDict *cfg, Sb *out)
{
    if (!cfg || cfg->len == 0)
        return;
    sb_puts(out, "{{ config(");
    bool first = true;
    VDictEntry *e;
    for (size_t it = 0; dict_next(cfg, &it, &e);) {
        if (!first)
            sb_putc(out, ',');
        first = false;
        value_str(out, e->key);
        sb_putc(out, '=');
        if (e->val.type == V_STR) {
            sb_putc(out, '"');
            for (size_t i = 0; i < e->val.u.s->len; i++) {
                if (e->val.u.s->s[i] == '"')
                    sb_putc(out, '\\');
                sb_putc(out, e->val.u.s->s[i]);
            }
            sb_putc(out, '"');
        } else {
            value_str(out, e->val);
        }
    }
    sb_puts(out, ") }}");
}

static void add_tags(Arena *a, VList *dst, VList *src)
{
    for (size_t i = 0; src && i < src->len; i++) {
        bool dup = false;
        for (size_t j = 0; j < dst->len && !dup; j++)
            dup = value_eq(dst->items[j], src->items[i]);
        if (!dup)
            list_append(a, dst, src->items[i]);
    }
}

static int cmp_str_values(const void *x, const void *y)
{
    const char *a = value_cstr(*(const Value *)x), *b = value_cstr(*(const Value *)y);
    return strcmp(a ? a : "", b ? b : "");
}

/* Buffers build_one reuses from one test to the next. */
typedef struct Scratch {
    Sb unique, hs, raw;
} Scratch;

static int build_one(Loader *L, TestJob *j, const YNode *item, Scratch *sc)
{
    Arena *a = L->a;
    YFile *f = j->f;
    const TestTarget *t = &j->t;
    const char *full_test;      /* as written: "unique", "dbt_utils.x" */
    const YNode *argmap = NULL; /* mapping of arguments (may be NULL = none) */
    bool test_name_form = false;

    if (item->kind == YN_SCALAR && item->value.type == V_STR) {
        full_test = item->value.u.s->s;
    } else if (item->kind == YN_MAP) {
        const YNode *tn = ynode_get(item, "test_name");
        if (tn) {
            if (!pl_is_str(tn))
                return pl_err(L, f, tn, "test name must be a str, got %s (value %s)", pl_kind(tn),
                              pl_fmt_value(a, ynode_to_value(a, tn)));
            full_test = tn->value.u.s->s;
            argmap = item;
            test_name_form = true;
        } else {
            if (item->n != 1)
                return pl_err(L, f, item, "test definition dictionary must have exactly one key, got %zu instead (%zu keys)",
                              item->n, item->n);
            if (!pl_is_str(item->keys[0]))
                return pl_err(L, f, item->keys[0], "test name must be a str, got %s", pl_kind(item->keys[0]));
            full_test = item->keys[0]->value.u.s->s;
            argmap = item->items[0];
            if (argmap && argmap->kind == YN_SCALAR && argmap->value.type == V_NONE)
                argmap = NULL;
            else if (argmap && argmap->kind != YN_MAP)
                return pl_err(L, f, argmap, "test arguments must be a dictionary, got %s (value %s)",
                              pl_kind(argmap), pl_fmt_value(a, ynode_to_value(a, argmap)));
        }
    } else {
        return pl_err(L, f, item, "test definition must be a string or a dictionary, got %s", pl_kind(item));
    }
    /* working strings and the config layer's dicts live in L->tree (gone
     * after loading): only what the node keeps is in the project arena */
    Arena *tmp = &L->tree;
    const char *ns, *tname;
    if (!split_test_name(tmp, full_test, &ns, &tname))
        return pl_err(L, f, item, "Test name string did not match expected pattern: %s", full_test);
    tname = pl_intern(L, tname, strlen(tname));
    if (ns)
        ns = pl_intern(L, ns, strlen(ns));

    /* arguments (unrendered), legacy config keys, nested config */
    VDict *args = v_dict_cap(a, (argmap ? argmap->n : 0) + 2).u.d;
    VDict *cfg = v_dict(tmp).u.d, *cfg_raw = v_dict(tmp).u.d;
    const YNode *nested = NULL, *user_name = NULL, *desc = NULL;
    const YNode *legacy[32] = {0};
    for (size_t i = 0; argmap && i < argmap->n; i++) {
        const YNode *k = argmap->keys[i], *v = argmap->items[i];
        const char *ks = pl_is_str(k) ? k->value.u.s->s : NULL;
        if (ks && test_name_form && !strcmp(ks, "test_name"))
            continue;
        if (ks && !strcmp(ks, "model"))
            return pl_err(L, f, k, "Test arguments include \"model\", which is a reserved argument");
        if (ks && !strcmp(ks, "config")) {
            if (v && !(v->kind == YN_SCALAR && v->value.type == V_NONE) && v->kind != YN_MAP)
                return pl_err(L, f, v, "test config must be a dictionary, got %s", pl_kind(v));
            nested = v && v->kind == YN_MAP ? v : NULL;
            continue;
        }
        if (ks && !strcmp(ks, "name")) {
            user_name = v;
            continue;
        }
        if (ks && !strcmp(ks, "description")) {
            desc = v;
            continue;
        }
        if (ks && is_config_arg(ks)) {
            for (int c = 0; config_args[c]; c++)
                if (!strcmp(ks, config_args[c]))
                    legacy[c] = v;
            continue;
        }
        dict_set(a, args, k->value, ynode_to_value(a, v));
    }
    if (!L->kwarg_keys[0].u.s) {
        L->kwarg_keys[0] = v_strz(a, "column_name");
        L->kwarg_keys[1] = v_strz(a, "model");
    }
    if (j->column_name) {
        if (j->column_value.type != V_STR)
            j->column_value = v_strz(a, j->column_name);
        dict_set(a, args, L->kwarg_keys[0], j->column_value);
    }
    if (j->model_value.type != V_STR)
        j->model_value = v_strz(a, t->rt == RT_SOURCE
            ? pl_cat(tmp, "{{ get_where_subquery(source('", t->source_name, "', '", t->name, "')) }}", NULL)
            : t->version ? pl_cat(tmp, "{{ get_where_subquery(ref('", t->name, "', version='", t->version, "')) }}", NULL)
            : pl_cat(tmp, "{{ get_where_subquery(ref('", t->name, "')) }}", NULL));
    dict_set(a, args, L->kwarg_keys[1], j->model_value);

    for (int c = 0; config_args[c]; c++) {
        const YNode *v = legacy[c];
        if (!v || (v->kind == YN_SCALAR && v->value.type == V_NONE))
            continue;
        Value raw = ynode_to_value(a, v);
        if (value_truthy(raw) && nested && ynode_get(nested, config_args[c]))
            return pl_err(L, f, ynode_get(nested, config_args[c]),
                          "Test cannot have the same key at the top-level and in config ('%s')", config_args[c]);
        Value rv = raw;
        if (v->kind == YN_SCALAR && pl_render_scalar(L, f, v, PR_PROPERTIES, &rv) != 0)
            return -1;
        dict_setz(tmp, cfg, config_args[c], rv);
        dict_setz(tmp, cfg_raw, config_args[c], raw);
    }
    for (size_t i = 0; nested && i < nested->n; i++) {
        const YNode *v = nested->items[i];
        Value raw = ynode_to_value(a, v), rv = raw;
        if (v->kind == YN_SCALAR && pl_render_scalar(L, f, v, PR_PROPERTIES, &rv) != 0)
            return -1;
        dict_set(tmp, cfg, nested->keys[i]->value, rv);
        dict_set(tmp, cfg_raw, nested->keys[i]->value, raw);
    }

    /* names */
    const char *target_name = t->rt == RT_SOURCE ? pl_cat(tmp, t->source_name, "_", t->name, NULL)
                            : t->version ? pl_cat(tmp, t->name, "_v", t->version, NULL) : t->name;
    const char *short_name, *full_name;
    if (user_name) {
        full_name = short_name = pl_fmt_value(a, ynode_to_value(a, user_name));
    } else {
        const char *test_type = ns ? pl_cat(tmp, ns, "_", tname, NULL) : tname;
        if (t->rt == RT_SOURCE)
            test_type = pl_cat(tmp, "source_", test_type, NULL);
        const char *ident = pl_cat(tmp, test_type, "_", target_name, NULL);
        Sb *unique = &sc->unique;
        sb_reset(unique);
        synth_unique(args, unique);
        full_name = pl_cat(a, ident, "_", sb_cstr(unique), NULL);
        if (py_len(full_name) >= 64) {
            char hex[33];
            md5_hex(full_name, strlen(full_name), hex);
            short_name = pl_cat(tmp, py_prefix(tmp, ident, 30), "_", hex, NULL);
        } else {
            short_name = full_name;
        }
        if (strcmp(short_name, full_name) != 0 && !dict_getz(cfg, "alias"))
            dict_setz(tmp, cfg, "alias", v_strz(a, short_name));
    }

    /* unique_id: md5(name + repr(hashable metadata))[-10:] */
    Sb *hs = &sc->hs;
    sb_reset(hs);
    sb_puts(hs, full_name);
    sb_puts(hs, "{'kwargs': ");
    hashable_repr(hs, (Value){.type = V_DICT, .u.d = args}, 0);
    sb_puts(hs, ", 'name': ");
    py_repr_str(hs, tname, strlen(tname));
    sb_puts(hs, ", 'namespace': ");
    if (ns)
        py_repr_str(hs, ns, strlen(ns));
    else
        sb_puts(hs, "'None'");
    sb_putc(hs, '}');
    char hex[33];
    md5_hex(hs->buf, hs->len, hex);

    Node *n = pl_new_node(L, RT_TEST);
    n->is_generic_test = true;
    n->name = full_name;
    n->unique_id = pl_cat(a, "test.", L->pkg->name, ".", full_name, ".", hex + 22, NULL);
    n->path = pl_cat(a, short_name, ".sql", NULL);
    n->original_file_path = f->rel;
    n->yml_path = f->rel;
    const char *slash = strchr(f->rel, '/');
    n->fqn = pl_fqn(L, slash ? slash + 1 : "", full_name, &n->nfqn);
    n->test_name = tname;
    n->test_namespace = ns;
    n->column_name = j->column_name;
    n->attached_node = t->rt != RT_SOURCE && t->node ? t->node->unique_id : NULL;
    n->file_key_name = t->file_key_name;
    n->test_kwargs = args;
    if (desc && desc->kind == YN_SCALAR && desc->value.type != V_NONE)
        n->description = pl_fmt_value(a, desc->value);
    Sb *raw = &sc->raw;
    sb_reset(raw);
    sb_puts(raw, "{{ ");
    if (ns) {
        sb_puts(raw, ns);
        sb_putc(raw, '.');
    }
    sb_puts(raw, "test_");
    sb_puts(raw, tname);
    sb_puts(raw, "(**_dbt_generic_test_kwargs) }}");
    config_call(cfg, raw);
    n->raw_len = raw->len;
    n->raw_code = pl_intern(L, sb_cstr(raw), raw->len);
    memcpy(n->checksum_name, "none", 5);
    n->checksum = "";
    srcfile_init(&n->src, f->rel, n->raw_code, n->raw_len);
    n->src.line_base = item->line - 1;
    n->src.col_base = item->col - 1;

    pl_config_fold(L, n, cfg, cfg_raw);

    /* tags: sorted set of target/column tags and the test's tags, then folded config tags */
    VList *tags = v_list(a, 0).u.l;
    add_tags(a, tags, t->extra_tags);
    add_tags(a, tags, j->column_tags);
    Value *ct = dict_getz(cfg, "tags");
    if (ct && ct->type == V_STR)
        add_tags(a, tags, &(VList){1, 1, ct});
    else if (ct && ct->type == V_LIST)
        add_tags(a, tags, ct->u.l);
    for (size_t i = 0; i < tags->len; i++)
        if (tags->items[i].type != V_STR)
            return pl_err(L, f, item, "test tags must be strings, got %s", value_type_name(tags->items[i]));
    if (tags->len > 1)
        qsort(tags->items, tags->len, sizeof *tags->items, cmp_str_values);
    Value *ft = dict_getz(n->config, "tags");
    if (ft && ft->type == V_LIST)
        add_tags(a, tags, ft->u.l);
    n->tags = tags;

    if (t->node && t->node->disabled && dict_getz(n->config, "enabled"))
        dict_setz(a, n->config, "enabled", v_bool(false));
    return pl_add_node(L, n);
}

int pl_build_tests(Loader *L)
{
    if (L->opt->nonly_models)
        return 0;                  /* delta mode: tests are not recompiled */
    Scratch sc = {SB_INIT, SB_INIT, SB_INIT};
    int rc = 0;
    for (size_t i = 0; i < L->jobs.len && !rc; i++) {
        TestJob *j = L->jobs.items[i];
        if (j->f->pkg)
            L->pkg = j->f->pkg;      /* tests belong to the package of their properties file */
        for (size_t k = 0; k < j->tests->n && !rc; k++)
            rc = build_one(L, j, j->tests->items[k], &sc);
    }
    sb_free(&sc.unique);
    sb_free(&sc.hs);
    sb_free(&sc.raw);
    L->pkg = L->p->self;
    return rc;
}
