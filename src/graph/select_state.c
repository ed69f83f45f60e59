/* select_state.c - the selection methods that compare with a previous
 * invocation (spec §12.3): `state:new|modified[.body|.configs|.relation|
 * .persisted_descriptions|.macros|.contract]|unmodified|old` against
 * <--state>/manifest.json, and `result:<status>` against
 * <--state>/run_results.json or, without --state, the last results the
 * caller knows (SelectOptions.last_status: cdbt's target/cdbt.db).
 *
 * It owns a small JSON reader (into Values in its own arena) and the
 * comparisons; the method table and the other matchers are
 * select_methods.c's. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "select_priv.h"
#include "../base/fs.h"
#include "../base/json.h"
#include "../value/value.h"
#include "../base/utf8.h"

#define JSON_MAX_DEPTH 512

struct GselState {
    Arena a;
    VDict *nodes, *sources, *macros;   /* from manifest.json (NULL: not loaded) */
    VDict *exposures;
    VDict *results;                    /* unique_id -> status (run_results.json) */
    StrMap macro_changed;              /* macro uid -> (void*)1 changed, (void*)2 same */
};

/* ------------------------------------------------------------ JSON reader */

typedef struct Jp {
    const char *s, *p, *end;
    Arena *a;
    const char *err;
} Jp;

static void ws(Jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static bool lit(Jp *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) >= n && memcmp(j->p, w, n) == 0) {
        j->p += n;
        return true;
    }
    return false;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(Sb *b, unsigned cp)
{
    char u[4];
    sb_append(b, u, (size_t)utf8_encode(u, cp));
}

static bool jstring(Jp *j, Sb *b)
{
    j->p++;                                 /* opening quote */
    sb_reset(b);
    while (j->p < j->end) {
        const char *q = j->p;
        while (q < j->end && *q != '"' && *q != '\\')
            q++;
        sb_append(b, j->p, (size_t)(q - j->p));
        j->p = q;
        if (q >= j->end)
            break;
        if (*q == '"') {
            j->p++;
            return true;
        }
        if (j->end - q < 2)
            break;
        char e = q[1];
        j->p = q + 2;
        switch (e) {
        case '"': sb_putc(b, '"'); break;
        case '\\': sb_putc(b, '\\'); break;
        case '/': sb_putc(b, '/'); break;
        case 'b': sb_putc(b, '\b'); break;
        case 'f': sb_putc(b, '\f'); break;
        case 'n': sb_putc(b, '\n'); break;
        case 'r': sb_putc(b, '\r'); break;
        case 't': sb_putc(b, '\t'); break;
        case 'u': {
            if (j->end - j->p < 4 || hex4(j->p) < 0) {
                j->err = "bad \\u escape";
                return false;
            }
            unsigned cp = (unsigned)hex4(j->p);
            j->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
                hex4(j->p + 2) >= 0xDC00 && hex4(j->p + 2) < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned)hex4(j->p + 2) - 0xDC00);
                j->p += 6;
            }
            put_utf8(b, cp);
            break;
        }
        default:
            j->err = "bad escape";
            return false;
        }
    }
    j->err = "unterminated string";
    return false;
}

static bool jvalue(Jp *j, Value *out, Sb *b, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        j->err = "nested too deeply";
        return false;
    }
    ws(j);
    if (j->p >= j->end) {
        j->err = "unexpected end";
        return false;
    }
    char ch = *j->p;
    if (ch == '"') {
        if (!jstring(j, b))
            return false;
        *out = v_str(j->a, b->buf ? b->buf : "", b->len);
        return true;
    }
    if (ch == '{') {
        j->p++;
        Value d = v_dict(j->a);
        ws(j);
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            *out = d;
            return true;
        }
        for (;;) {
            ws(j);
            if (j->p >= j->end || *j->p != '"') {
                j->err = "expected a key";
                return false;
            }
            if (!jstring(j, b))
                return false;
            Value k = v_str(j->a, b->buf ? b->buf : "", b->len), v;
            ws(j);
            if (j->p >= j->end || *j->p != ':') {
                j->err = "expected ':'";
                return false;
            }
            j->p++;
            if (!jvalue(j, &v, b, depth + 1))
                return false;
            dict_set(j->a, d.u.d, k, v);
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                *out = d;
                return true;
            }
            j->err = "expected ',' or '}'";
            return false;
        }
    }
    if (ch == '[') {
        j->p++;
        Value l = v_list(j->a, 0);
        ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            *out = l;
            return true;
        }
        for (;;) {
            Value v;
            if (!jvalue(j, &v, b, depth + 1))
                return false;
            list_append(j->a, l.u.l, v);
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == ']') {
                j->p++;
                *out = l;
                return true;
            }
            j->err = "expected ',' or ']'";
            return false;
        }
    }
    if (lit(j, "true")) { *out = v_bool(true); return true; }
    if (lit(j, "false")) { *out = v_bool(false); return true; }
    if (lit(j, "null")) { *out = v_none(); return true; }
    if (lit(j, "NaN")) { *out = v_float(0.0 / 0.0); return true; }
    if (lit(j, "Infinity")) { *out = v_float(1.0 / 0.0); return true; }
    if (lit(j, "-Infinity")) { *out = v_float(-1.0 / 0.0); return true; }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        const char *q = j->p;
        bool is_float = false;
        if (*q == '-')
            q++;
        while (q < j->end && (isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')) {
            if (*q == '.' || *q == 'e' || *q == 'E')
                is_float = true;
            q++;
        }
        char buf[64];
        size_t n = (size_t)(q - j->p);
        if (n >= sizeof buf) {
            is_float = true;
            n = sizeof buf - 1;
        }
        memcpy(buf, j->p, n);
        buf[n] = '\0';
        j->p = q;
        if (!is_float) {
            errno = 0;
            long long v = strtoll(buf, NULL, 10);
            if (errno == 0) {
                *out = v_int(v);
                return true;
            }
        }
        *out = v_float(strtod(buf, NULL));
        return true;
    }
    j->err = "unexpected character";
    return false;
}

/* Parse the JSON file at path into *out.  0, 1 if the file does not exist,
 * -1 with *why on a read or syntax error. */
int graph_json_load(Arena *a, const char *path, Value *out, char *why, size_t whyn)
{
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, &text, &len) != 0) {
        if (errno == ENOENT)
            return 1;
        snprintf(why, whyn, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    Jp j = {text, text, text + len, a, NULL};
    Sb b = SB_INIT;
    bool ok = jvalue(&j, out, &b, 0);
    if (ok) {
        ws(&j);
        if (j.p != j.end) {
            ok = false;
            j.err = "trailing characters";
        }
    }
    if (!ok)
        snprintf(why, whyn, "%s is not valid JSON (%s at byte %zu)", path, j.err ? j.err : "error",
                 (size_t)(j.p - j.s));
    sb_free(&b);
    free(text);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------ loading */

void gsel_state_free(GselState *s)
{
    if (!s)
        return;
    strmap_free(&s->macro_changed);
    arena_free(&s->a);
    free(s);
}

static GselState *state_of(GselCtx *c)
{
    if (!c->state) {
        c->state = calloc(1, sizeof *c->state);
        if (!c->state)
            return NULL;
        arena_init(&c->state->a, 0);
        strmap_init(&c->state->macro_changed);
    }
    return c->state;
}

static VDict *dict_member(Value v, const char *key)
{
    if (v.type != V_DICT)
        return NULL;
    Value *m = dict_getz(v.u.d, key);
    return m && m->type == V_DICT ? m->u.d : NULL;
}

static int load_manifest(GselCtx *c, const GselAtom *a, GselState **out)
{
    GselState *s = state_of(c);
    if (!s)
        return gsel_fail(c, a, "out of memory");
    *out = s;
    if (s->nodes)
        return 0;
    if (!c->opt->state_dir)
        return gsel_fail(c, a, "state: selection needs --state");
    char path[4096], why[4400];
    snprintf(path, sizeof path, "%s/manifest.json", c->opt->state_dir);
    Value m;
    int r = graph_json_load(&s->a, path, &m, why, sizeof why);
    if (r == 1)
        return gsel_fail(c, a, "no manifest.json in the --state directory '%s'", c->opt->state_dir);
    if (r < 0)
        return gsel_fail(c, a, "%s", why);
    s->nodes = dict_member(m, "nodes");
    s->sources = dict_member(m, "sources");
    s->macros = dict_member(m, "macros");
    s->exposures = dict_member(m, "exposures");
    if (!s->exposures)
        s->exposures = v_dict(&s->a).u.d;
    if (!s->nodes)
        return gsel_fail(c, a, "%s has no \"nodes\"", path);
    if (!s->sources)
        s->sources = v_dict(&s->a).u.d;
    if (!s->macros)
        s->macros = v_dict(&s->a).u.d;
    return 0;
}

/* ------------------------------------------------------------ comparisons */

static Value *old_node(GselState *s, const Node *n)
{
    VDict *d = n->rt == RT_SOURCE ? s->sources : n->rt == RT_EXPOSURE ? s->exposures : s->nodes;
    return dict_getz(d, n->unique_id);
}

static const char *str_at(Value *d, const char *k)
{
    Value *v = d && d->type == V_DICT ? dict_getz(d->u.d, k) : NULL;
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

static bool same_str(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The value as the manifest would hold it: through JSON and back. */
static Value as_json(GselState *s, Value v)
{
    Sb out = SB_INIT;
    JsonW w;
    json_init(&w, &out, false);
    value_to_json(&w, v);
    Jp j = {out.buf, out.buf, out.buf + out.len, &s->a, NULL};
    Sb b = SB_INIT;
    Value r;
    if (!out.buf || !jvalue(&j, &r, &b, 0))
        r = v_none();
    sb_free(&b);
    sb_free(&out);
    return r;
}

static Value dict_val(VDict *d)
{
    Value v;
    if (!d)
        return v_none();
    v.type = V_DICT;
    v.flags = 0;
    v.u.d = d;
    return v;
}

static bool body_changed(Value *old, const Node *n)
{
    Value *ck = old->type == V_DICT ? dict_getz(old->u.d, "checksum") : NULL;
    const char *oc = str_at(ck, "checksum");
    if (n->rt == RT_SOURCE)
        return false;
    return !same_str(oc, n->checksum ? n->checksum : "");
}

static bool configs_changed(GselState *s, Value *old, const Node *n)
{
    Value *ou = dict_getz(old->u.d, "unrendered_config");
    Value nu = as_json(s, dict_val(n->unrendered_config));
    if (nu.type == V_NONE)
        nu = v_dict(&s->a);
    Value o = ou ? *ou : v_dict(&s->a);
    if (n->rt == RT_SOURCE) {
        Value *oc = dict_getz(old->u.d, "config");
        Value nc = as_json(s, dict_val(n->config));
        if (!value_eq(oc ? *oc : v_none(), nc.type == V_NONE ? v_dict(&s->a) : nc))
            return true;
    }
    return !value_eq(o, nu);
}

/* dbt's same_database_representation: for nodes the configured database,
 * schema and alias (unrendered_config), not the values the target and
 * generate_*_name made of them, so another target is no change; for
 * sources the resolved database, schema and identifier. */
static bool relation_changed(GselState *s, Value *old, const Node *n)
{
    if (n->rt == RT_SOURCE)
        return !same_str(str_at(old, "database"), n->database) || !same_str(str_at(old, "schema"), n->schema) ||
               !same_str(str_at(old, "identifier"), n->identifier);
    static const char *const keys[] = {"database", "schema", "alias"};
    Value *ou = dict_getz(old->u.d, "unrendered_config");
    for (int i = 0; i < 3; i++) {
        Value *ov = ou && ou->type == V_DICT ? dict_getz(ou->u.d, keys[i]) : NULL;
        Value *nv = n->unrendered_config ? dict_getz(n->unrendered_config, keys[i]) : NULL;
        Value o = ov ? *ov : v_none(), nn = nv ? as_json(s, *nv) : v_none();
        if (!value_eq(o, nn))
            return true;
    }
    return false;
}

static bool persist_on(const Node *n, const char *what)
{
    Value *pd = n->config ? dict_getz(n->config, "persist_docs") : NULL;
    Value *v = pd && pd->type == V_DICT ? dict_getz(pd->u.d, what) : NULL;
    return v && value_truthy(*v);
}

static bool descriptions_changed(GselState *s, Value *old, const Node *n)
{
    if (persist_on(n, "relation") && !same_str(str_at(old, "description"), n->description ? n->description : ""))
        return true;
    if (persist_on(n, "columns")) {
        Value *oc = dict_getz(old->u.d, "columns");
        VDict *od = oc && oc->type == V_DICT ? oc->u.d : NULL;
        size_t ncols = n->columns ? n->columns->len : 0;
        if ((od ? od->len : 0) != ncols)
            return true;
        VDictEntry *e;
        for (size_t it = 0; n->columns && dict_next(n->columns, &it, &e);) {
            Value *o = od ? dict_get(od, e->key) : NULL;
            Value *nd = e->val.type == V_DICT ? dict_getz(e->val.u.d, "description") : NULL;
            const char *ns = nd && nd->type == V_STR ? nd->u.s->s : "";
            if (!o || !same_str(str_at(o, "description"), ns))
                return true;
        }
    }
    (void)s;
    return false;
}

/* A root-project macro changed: new, or its text differs; or one it calls did. */
static bool macro_changed(GselState *s, Project *p, const char *uid, int depth)
{
    void *memo = strmap_getz(&s->macro_changed, uid);
    if (memo)
        return memo == (void *)1;
    if (depth > 64)
        return false;
    strmap_putz(&s->macro_changed, uid, (void *)2);    /* cycle guard */
    MacroDef *m = NULL;
    for (int i = 0; i < p->nmacros && !m; i++)
        if (strcmp(p->macros[i]->unique_id, uid) == 0)
            m = p->macros[i];
    bool changed = false;
    if (m) {
        Value *om = dict_getz(s->macros, uid);
        changed = !om || !same_str(str_at(om, "macro_sql"), m->macro_sql ? m->macro_sql : "");
        for (int i = 0; !changed && i < m->ndep_macros; i++)
            changed = macro_changed(s, p, m->dep_macros[i], depth + 1);
    }
    strmap_putz(&s->macro_changed, uid, changed ? (void *)1 : (void *)2);
    return changed;
}

static bool macros_changed(GselState *s, Project *p, const Node *n)
{
    for (int i = 0; i < n->ndep_macros; i++)
        if (macro_changed(s, p, n->dep_macros[i], 0))
            return true;
    return false;
}

static bool contract_changed(GselState *s, Value *old, const Node *n)
{
    Value *oc = dict_getz(old->u.d, "config");
    Value *octr = oc && oc->type == V_DICT ? dict_getz(oc->u.d, "contract") : NULL;
    Value *nctr = n->config ? dict_getz(n->config, "contract") : NULL;
    Value nj = nctr ? as_json(s, *nctr) : v_none();
    return !value_eq(octr ? *octr : v_none(), nj);
}

/* dbt's Exposure.same_contents: owner, type, url, description, label,
 * maturity, the set of depends_on nodes and the (unrendered) config. */
static bool exposure_changed(GselState *s, Value *old, const Node *n)
{
    const Exposure *ex = n->expo;
    if (!ex)
        return false;
    Value *oo = dict_getz(old->u.d, "owner");
    if (!oo || !value_eq(*oo, as_json(s, ex->owner)))
        return true;
    if (!same_str(str_at(old, "type"), ex->type) || !same_str(str_at(old, "url"), ex->url) ||
        !same_str(str_at(old, "label"), ex->label) || !same_str(str_at(old, "maturity"), ex->maturity) ||
        !same_str(str_at(old, "description"), n->description ? n->description : ""))
        return true;
    Value *od = dict_getz(old->u.d, "depends_on");
    Value *on = od && od->type == V_DICT ? dict_getz(od->u.d, "nodes") : NULL;
    if (!on || on->type != V_LIST)
        return true;
    for (size_t i = 0; i < on->u.l->len; i++) {       /* as sets */
        const char *u = value_cstr(on->u.l->items[i]);
        bool found = false;
        for (int k = 0; u && k < n->ndep_nodes && !found; k++)
            found = !strcmp(u, n->dep_nodes[k]);
        if (!found)
            return true;
    }
    for (int k = 0; k < n->ndep_nodes; k++) {
        bool found = false;
        for (size_t i = 0; i < on->u.l->len && !found; i++)
            found = same_str(value_cstr(on->u.l->items[i]), n->dep_nodes[k]);
        if (!found)
            return true;
    }
    return configs_changed(s, old, n);
}

enum { ST_NEW, ST_OLD, ST_MODIFIED, ST_UNMODIFIED, ST_BODY, ST_CONFIGS, ST_RELATION, ST_DESCR, ST_MACROS, ST_CONTRACT };

static bool modified_as(GselState *s, Project *p, Value *old, const Node *n, int what)
{
    if (n->rt == RT_EXPOSURE)
        return what == ST_CONFIGS ? configs_changed(s, old, n) : what == ST_MODIFIED ? exposure_changed(s, old, n) : false;
    switch (what) {
    case ST_BODY: return body_changed(old, n);
    case ST_CONFIGS: return configs_changed(s, old, n);
    case ST_RELATION: return relation_changed(s, old, n);
    case ST_DESCR: return descriptions_changed(s, old, n);
    case ST_MACROS: return macros_changed(s, p, n);
    case ST_CONTRACT: return contract_changed(s, old, n);
    default:
        return body_changed(old, n) || configs_changed(s, old, n) || relation_changed(s, old, n) ||
               descriptions_changed(s, old, n) || macros_changed(s, p, n) || contract_changed(s, old, n);
    }
}

int gsel_m_state(GselCtx *c, const GselAtom *a, GselSet *out)
{
    static const struct { const char *name; int what; } KINDS[] = {
        {"new", ST_NEW}, {"old", ST_OLD}, {"modified", ST_MODIFIED}, {"unmodified", ST_UNMODIFIED},
        {"modified.body", ST_BODY}, {"modified.configs", ST_CONFIGS}, {"modified.relation", ST_RELATION},
        {"modified.persisted_descriptions", ST_DESCR}, {"modified.macros", ST_MACROS},
        {"modified.contract", ST_CONTRACT},
    };
    int what = -1;
    for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++)
        if (strcmp(a->value, KINDS[k].name) == 0)
            what = KINDS[k].what;
    if (what < 0)
        return gsel_fail(c, a, "unknown state selector '%s' (expected new, old, modified, unmodified, "
                               "modified.body, modified.configs, modified.relation, "
                               "modified.persisted_descriptions, modified.macros or modified.contract)", a->value);
    GselState *s;
    if (load_manifest(c, a, &s) != 0)
        return -1;
    for (int i = 0; i < c->n; i++) {
        Node *n = c->p->nodes[i];
        if (!n->unique_id)
            continue;
        Value *old = old_node(s, n);
        bool hit;
        if (what == ST_NEW)
            hit = !old;
        else if (what == ST_OLD)
            hit = old != NULL;
        else if (!old || old->type != V_DICT)
            hit = what == ST_MODIFIED;          /* new nodes count as modified */
        else if (what == ST_UNMODIFIED)
            hit = !modified_as(s, c->p, old, n, ST_MODIFIED);
        else
            hit = modified_as(s, c->p, old, n, what);
        if (hit)
            gsel_add(out, i);
    }
    return 0;
}

static int load_results(GselCtx *c, const GselAtom *a, GselState *s, bool *have)
{
    *have = false;
    if (s->results) {
        *have = true;
        return 0;
    }
    if (!c->opt->state_dir)
        return 0;
    char path[4096], why[4400];
    snprintf(path, sizeof path, "%s/run_results.json", c->opt->state_dir);
    Value rr;
    int r = graph_json_load(&s->a, path, &rr, why, sizeof why);
    if (r == 1)
        return 0;
    if (r < 0)
        return gsel_fail(c, a, "%s", why);
    s->results = v_dict(&s->a).u.d;
    Value *res = rr.type == V_DICT ? dict_getz(rr.u.d, "results") : NULL;
    for (size_t i = 0; res && res->type == V_LIST && i < res->u.l->len; i++) {
        Value *it = &res->u.l->items[i];
        const char *uid = str_at(it, "unique_id"), *st = str_at(it, "status");
        if (uid && st)
            dict_setz(&s->a, s->results, uid, v_strz(&s->a, st));
    }
    *have = true;
    return 0;
}

int gsel_m_result(GselCtx *c, const GselAtom *a, GselSet *out)
{
    GselState *s = state_of(c);
    if (!s)
        return gsel_fail(c, a, "out of memory");
    bool have;
    if (load_results(c, a, s, &have) != 0)
        return -1;
    if (!have && !c->opt->last_status)
        return gsel_fail(c, a, "result: selection needs --state");
    for (int i = 0; i < c->n; i++) {
        Node *n = c->p->nodes[i];
        if (!n->unique_id)
            continue;
        const char *st = NULL;
        if (have) {
            Value *v = dict_getz(s->results, n->unique_id);
            st = v && v->type == V_STR ? v->u.s->s : NULL;
        } else {
            st = c->opt->last_status(c->opt->last_status_ud, n->unique_id);
        }
        if (st && gsel_fnmatch(a->value, strlen(a->value), st, strlen(st)))
            gsel_add(out, i);
    }
    return 0;
}
