/* spec.c - compiles a cleanse model's YAML into a CleanseSpec: column types,
 * the ordered rules with their on_fail actions (PCRE2 patterns compiled once,
 * with JIT), input format options, unique_key/dedupe, reject thresholds and
 * incremental mode.  Every mistake is reported with file:line:col of the
 * offending YAML node (rules) or the model file (config keys).  Running the
 * rules is rules.c's job; reading input is readers.c's. */
#include "cpriv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct Ctx {
    Arena *a;
    const CleanseSource *src;
    Diag *err;
    SrcFile sf;
} Ctx;

static int yerr(Ctx *c, const YNode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int yerr(Ctx *c, const YNode *n, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *line = NULL;
    if (n && c->src->yml_text) {
        size_t ln;
        const char *lp = srcfile_line(&c->sf, n->line, &ln);
        if (lp)
            line = arena_strndup(c->a, lp, ln);
    }
    if (c->err->set)
        diag_clear(c->err);
    diag_set(c->err, c->src->yml_path, n ? n->line : 0, n ? n->col : 0, line,
             "cleanse model '%s': %s", c->src->model, buf);
    return -1;
}

static int cerr(Ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cerr(Ctx *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (c->err->set)
        diag_clear(c->err);
    diag_set(c->err, c->src->config_where, 0, 0, NULL, "cleanse model '%s': %s", c->src->model, buf);
    return -1;
}

/* ---- scalar helpers */

/* Text of a scalar node as the user meant it (quoted or not); NULL for null. */
static const char *ytext(Ctx *c, const YNode *n)
{
    if (!n || n->kind != YN_SCALAR)
        return NULL;
    if (n->value.type == V_NONE && !n->quoted)
        return NULL;
    if (n->value.type == V_BOOL && !n->quoted)     /* yes/no/on/off: keep the word as written */
        return arena_strndup(c->a, n->text, n->text_len);
    return arena_strndup(c->a, n->text, n->text_len);
}

static int ynum(Ctx *c, const YNode *n, const char *what, double *out)
{
    if (!n || n->kind != YN_SCALAR || (n->value.type != V_INT && n->value.type != V_FLOAT))
        return yerr(c, n, "%s must be a number", what);
    *out = n->value.type == V_INT ? (double)n->value.u.i : n->value.u.f;
    return 0;
}

static int words_from(Ctx *c, const YNode *n, const char *what, Words *w)
{
    if (!n || n->kind != YN_SEQ)
        return yerr(c, n, "%s must be a list", what);
    w->count = (int)n->n;
    w->w = ARENA_ARRAY(c->a, const char *, n->n + 1);
    w->n = ARENA_ARRAY(c->a, size_t, n->n + 1);
    for (size_t i = 0; i < n->n; i++) {
        const YNode *it = n->items[i];
        if (it->kind != YN_SCALAR)
            return yerr(c, it, "%s must be a list of scalars", what);
        const char *t = ytext(c, it);
        w->w[i] = t;               /* NULL = the YAML null: matches SQL NULL */
        w->n[i] = t ? strlen(t) : 0;
    }
    return 0;
}

/* ---- types */

static char *norm_type(Arena *a, const char *s)
{
    size_t n = strlen(s);
    char *o = arena_alloc(a, n + 1);
    size_t j = 0;
    bool sp = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isspace(ch)) {
            sp = j > 0;
            continue;
        }
        if (sp && o[j - 1] != '(' && ch != '(' && ch != ')' && ch != ',' && o[j - 1] != ',')
            o[j++] = ' ';
        sp = false;
        o[j++] = (char)tolower(ch);
    }
    o[j] = 0;
    return o;
}

static bool parse_args(const char *p, int *a1, int *a2, int *nargs)
{
    *nargs = 0;
    if (!*p)
        return true;
    if (*p != '(')
        return false;
    char *e;
    long v = strtol(p + 1, &e, 10);
    if (e == p + 1 || v < 0 || v > 100000)
        return false;
    *a1 = (int)v;
    *nargs = 1;
    if (*e == ',') {
        const char *q = e + 1;
        v = strtol(q, &e, 10);
        if (e == q || v < 0 || v > 1000)
            return false;
        *a2 = (int)v;
        *nargs = 2;
    }
    return e[0] == ')' && e[1] == 0;
}

static int parse_type(Ctx *c, const YNode *n, CleanseCol *col)
{
    const char *raw = ytext(c, n);
    if (!raw)
        return yerr(c, n, "data_type must be a string");
    char *t = norm_type(c->a, raw);
    col->sql_type = t;
    static const struct { const char *name; CleanseType t; } simple[] = {
        {"text", CT_TEXT}, {"smallint", CT_SMALLINT}, {"int2", CT_SMALLINT}, {"integer", CT_INT},
        {"int", CT_INT}, {"int4", CT_INT}, {"bigint", CT_BIGINT}, {"int8", CT_BIGINT},
        {"real", CT_FLOAT}, {"float4", CT_FLOAT}, {"double precision", CT_FLOAT}, {"float", CT_FLOAT},
        {"float8", CT_FLOAT}, {"boolean", CT_BOOL}, {"bool", CT_BOOL}, {"date", CT_DATE},
        {"timestamp", CT_TS}, {"timestamp without time zone", CT_TS}, {"timestamptz", CT_TSTZ},
        {"timestamp with time zone", CT_TSTZ}, {"varchar", CT_TEXT}, {"character varying", CT_TEXT},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(t, simple[i].name) == 0) {
            col->type = simple[i].t;
            return 0;
        }
    static const char *const lens[] = {"varchar", "character varying", "char", "character", NULL};
    for (int i = 0; lens[i]; i++) {
        size_t k = strlen(lens[i]);
        int a1 = 0, a2 = 0, na;
        if (strncmp(t, lens[i], k) == 0 && t[k] == '(' && parse_args(t + k, &a1, &a2, &na) && na == 1 && a1 > 0) {
            col->type = CT_VARCHAR;
            col->len = a1;
            return 0;
        }
    }
    static const char *const nums[] = {"numeric", "decimal", NULL};
    for (int i = 0; nums[i]; i++) {
        size_t k = strlen(nums[i]);
        int a1 = 0, a2 = 0, na;
        if (strncmp(t, nums[i], k) == 0 && parse_args(t + k, &a1, &a2, &na)) {
            if (na >= 1 && (a1 < 1 || a1 > 1000))
                return yerr(c, n, "impossible type '%s': numeric precision must be between 1 and 1000", raw);
            if (na == 2 && a2 > a1)
                return yerr(c, n, "impossible type '%s': numeric scale %d must be between 0 and precision %d", raw, a2, a1);
            col->type = CT_NUMERIC;
            col->prec = na >= 1 ? a1 : 0;
            col->scale = na == 2 ? a2 : 0;
            return 0;
        }
    }
    return yerr(c, n, "unsupported data_type '%s' (text, varchar(n), char(n), smallint, integer, bigint, "
                "numeric(p,s), real, double precision, boolean, date, timestamp, timestamptz)", raw);
}

/* ---- rules */

typedef struct RuleDef { const char *name; RuleKind kind; bool can_fail; } RuleDef;
static const RuleDef rule_defs[] = {
    {"trim", RK_TRIM, false}, {"ltrim", RK_LTRIM, false}, {"rtrim", RK_RTRIM, false},
    {"lower", RK_LOWER, false}, {"upper", RK_UPPER, false}, {"title", RK_TITLE, false},
    {"collapse_spaces", RK_COLLAPSE, false}, {"null_if", RK_NULL_IF, false},
    {"replace", RK_REPLACE, false}, {"regex_replace", RK_REGEX_REPLACE, false},
    {"match", RK_MATCH, true}, {"extract", RK_EXTRACT, true}, {"integer", RK_INTEGER, true},
    {"numeric", RK_NUMERIC, true}, {"float", RK_FLOAT, true}, {"boolean", RK_BOOLEAN, true},
    {"date", RK_DATE, true}, {"timestamp", RK_TIMESTAMP, true}, {"range", RK_RANGE, true},
    {"min_length", RK_MIN_LEN, true}, {"max_length", RK_MAX_LEN, true},
    {"accepted_values", RK_ACCEPTED, true}, {"default", RK_DEFAULT, false},
    {"not_null", RK_NOT_NULL, true}, {"surrogate_key", RK_SURROGATE, false},
};

static bool is_parse_kind(RuleKind k)
{
    return k == RK_INTEGER || k == RK_NUMERIC || k == RK_FLOAT || k == RK_BOOLEAN || k == RK_DATE ||
           k == RK_TIMESTAMP;
}

static RuleKind parse_kind_for(CleanseType t)
{
    switch (t) {
    case CT_SMALLINT: case CT_INT: case CT_BIGINT: return RK_INTEGER;
    case CT_NUMERIC: return RK_NUMERIC;
    case CT_FLOAT: return RK_FLOAT;
    case CT_BOOL: return RK_BOOLEAN;
    case CT_DATE: return RK_DATE;
    case CT_TS: case CT_TSTZ: return RK_TIMESTAMP;
    default: return RK_TRIM;   /* none */
    }
}

static const char *const default_ts_formats[] = {
    "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y-%m-%d",
};
static const char *const default_date_formats[] = {"%Y-%m-%d"};

static void set_parse_defaults(Ctx *c, CleanseRule *r, const CleanseCol *col)
{
    (void)c;
    r->type = col->type;
    r->prec = col->prec;
    r->scale = col->scale;
    if (r->kind == RK_DATE && !r->formats) {
        r->formats = (const char **)default_date_formats;
        r->nformats = 1;
    }
    if (r->kind == RK_TIMESTAMP && !r->formats) {
        r->formats = (const char **)default_ts_formats;
        r->nformats = (int)(sizeof default_ts_formats / sizeof default_ts_formats[0]);
    }
    if (r->kind == RK_BOOLEAN && !r->words.w) {
        static const char *const tw[] = {"true", "t", "yes", "y", "1", "on"};
        static const char *const fw[] = {"false", "f", "no", "n", "0", "off"};
        static size_t tn[] = {4, 1, 3, 1, 1, 2}, fn[] = {5, 1, 2, 1, 1, 3};
        r->words = (Words){(const char **)tw, tn, 6};
        r->words2 = (Words){(const char **)fw, fn, 6};
        r->ci = true;
    }
}

static pcre2_code *compile_re(Ctx *c, const YNode *n, const char *pat)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        yerr(c, n, "bad pattern '%s': %s at offset %zu", pat, (const char *)msg, (size_t)eo);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter if JIT is unavailable */
    return re;
}

/* Canonicalise a default value through the column's type parser. */
static int canon_default(Ctx *c, const YNode *n, const CleanseCol *col, const char **v, size_t *vn)
{
    if (!*v)
        return 0;
    Sb o = SB_INIT;
    const char *why = NULL;
    int rc = 0;
    int64_t iv;
    double dv;
    switch (col->type) {
    case CT_SMALLINT: case CT_INT: case CT_BIGINT: rc = cl_parse_integer(*v, *vn, col->type, &o, &iv, &why); break;
    case CT_NUMERIC: rc = cl_parse_numeric(*v, *vn, col->prec, col->scale, &o, &dv, &why); break;
    case CT_FLOAT: rc = cl_parse_float(*v, *vn, &o, &dv, &why); break;
    case CT_BOOL: {
        CleanseRule r = {0};
        r.kind = RK_BOOLEAN;
        set_parse_defaults(c, &r, col);
        if (cl_words_has(&r.words, true, *v, *vn))
            sb_puts(&o, "true");
        else if (cl_words_has(&r.words2, true, *v, *vn))
            sb_puts(&o, "false");
        else
            rc = -1, why = "not a boolean";
        break;
    }
    case CT_DATE: rc = cl_parse_time(default_date_formats, 1, CT_DATE, *v, *vn, &o, &why); break;
    case CT_TS: case CT_TSTZ:
        rc = cl_parse_time(default_ts_formats, (int)(sizeof default_ts_formats / sizeof default_ts_formats[0]),
                           col->type, *v, *vn, &o, &why);
        break;
    case CT_VARCHAR:
        if (cl_utf8_len(*v, *vn) > (size_t)col->len)
            rc = -1, why = "longer than the column";
        sb_append(&o, *v, *vn);
        break;
    default: sb_append(&o, *v, *vn); break;
    }
    if (rc != 0) {
        sb_free(&o);
        return yerr(c, n, "default '%s' is not a valid %s: %s", *v, col->sql_type, why ? why : "invalid");
    }
    *v = arena_strndup(c->a, o.buf ? o.buf : "", o.len);
    *vn = o.len;
    sb_free(&o);
    return 0;
}

static const YNode *opt(const YNode *m, const char *k) { return m && m->kind == YN_MAP ? ynode_get(m, k) : NULL; }

static int check_keys(Ctx *c, const YNode *m, const char *rule, const char *const *allowed)
{
    if (!m || m->kind != YN_MAP)
        return 0;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->kind == YN_SCALAR ? m->keys[i]->text : NULL;
        bool ok = k && (strcmp(k, "on_fail") == 0 || strcmp(k, "default") == 0);
        for (int j = 0; !ok && k && allowed[j]; j++)
            ok = strcmp(k, allowed[j]) == 0;
        if (!ok)
            return yerr(c, m->keys[i], "unknown option '%s' for rule '%s'", k ? k : "?", rule);
    }
    return 0;
}

static int compile_rule(Ctx *c, CleanseCol *col, const YNode *item, CleanseRule *r, const YNode *col_default)
{
    const YNode *key = item, *arg = NULL;
    const char *name;
    if (item->kind == YN_SCALAR) {
        name = ynode_str(item);
    } else if (item->kind == YN_MAP && item->n == 1) {
        key = item->keys[0];
        name = ynode_str(key);
        arg = item->items[0];
    } else {
        return yerr(c, item, "a rule must be a name or a mapping with one key (the rule name), got %s",
                    item->kind == YN_MAP ? "a mapping with several keys" : ynode_kind_name(item));
    }
    if (!name)
        return yerr(c, key, "rule name must be a string");
    const RuleDef *def = NULL;
    for (size_t i = 0; i < sizeof rule_defs / sizeof rule_defs[0]; i++)
        if (strcmp(rule_defs[i].name, name) == 0)
            def = &rule_defs[i];
    if (!def)
        return yerr(c, key, "unknown rule '%s'", name);
    memset(r, 0, sizeof *r);
    r->kind = def->kind;
    r->name = def->name;
    r->type = col->type;
    const YNode *m = arg && arg->kind == YN_MAP ? arg : NULL;
    if (arg && arg->kind == YN_SCALAR && arg->value.type == V_NONE && !arg->quoted && r->kind != RK_DEFAULT)
        arg = NULL, m = NULL;

    /* on_fail */
    r->on_fail = OF_REJECT;
    const YNode *of = opt(m, "on_fail");
    if (of) {
        if (!def->can_fail)
            return yerr(c, of, "rule '%s' cannot fail; on_fail is not allowed", name);
        const char *ofs = of->kind == YN_SCALAR ? (of->value.type == V_NONE ? "null" : ynode_str(of)) : NULL;
        if (ofs && strcmp(ofs, "reject") == 0)
            r->on_fail = OF_REJECT;
        else if (ofs && (strcmp(ofs, "null") == 0 || strcmp(ofs, "set_null") == 0))
            r->on_fail = OF_NULL;
        else if (ofs && strcmp(ofs, "default") == 0)
            r->on_fail = OF_DEFAULT;
        else
            return yerr(c, of, "on_fail must be one of reject, null, default");
    }
    if (r->on_fail == OF_DEFAULT) {
        const YNode *dn = opt(m, "default");
        if (!dn)
            dn = col_default;
        if (!dn)
            return yerr(c, of, "on_fail: default needs a 'default:' value on the rule or the column");
        r->dflt = ytext(c, dn);
        r->dflt_len = r->dflt ? strlen(r->dflt) : 0;
        if (canon_default(c, dn, col, &r->dflt, &r->dflt_len) != 0)
            return -1;
    } else if (opt(m, "default") && r->kind != RK_DEFAULT) {
        return yerr(c, opt(m, "default"), "'default' is only used with on_fail: default");
    }

    static const char *const none[] = {NULL};
    switch (r->kind) {
    case RK_TRIM: case RK_LTRIM: case RK_RTRIM: case RK_LOWER: case RK_UPPER: case RK_TITLE:
    case RK_COLLAPSE: case RK_NOT_NULL: case RK_INTEGER: case RK_FLOAT:
        if (arg && !m)
            return yerr(c, arg, "rule '%s' takes no argument", name);
        if (check_keys(c, m, name, none) != 0)
            return -1;
        break;
    case RK_NULL_IF: case RK_ACCEPTED: {
        static const char *const k[] = {"values", "case_sensitive", NULL};
        if (check_keys(c, m, name, k) != 0)
            return -1;
        const YNode *vals = m ? opt(m, "values") : arg;
        if (words_from(c, vals ? vals : item, arg ? (m ? "values" : name) : name, &r->words) != 0)
            return -1;
        const YNode *cs = opt(m, "case_sensitive");
        r->ci = r->kind == RK_NULL_IF;
        if (cs) {
            if (cs->value.type != V_BOOL)
                return yerr(c, cs, "case_sensitive must be true or false");
            r->ci = !cs->value.u.b;
        }
        break;
    }
    case RK_REPLACE: {
        static const char *const k[] = {"old", "new", NULL};
        if (!m)
            return yerr(c, arg ? arg : item, "rule 'replace' needs {old: ..., new: ...}");
        if (check_keys(c, m, name, k) != 0)
            return -1;
        r->s1 = ytext(c, opt(m, "old"));
        r->s2 = ytext(c, opt(m, "new"));
        if (!r->s1 || !*r->s1)
            return yerr(c, m, "rule 'replace' needs a non-empty 'old'");
        if (!r->s2)
            r->s2 = "";
        r->n1 = strlen(r->s1);
        r->n2 = strlen(r->s2);
        break;
    }
    case RK_REGEX_REPLACE: case RK_MATCH: case RK_EXTRACT: {
        static const char *const k[] = {"pattern", "replacement", "group", NULL};
        if (check_keys(c, m, name, k) != 0)
            return -1;
        const YNode *pn = m ? opt(m, "pattern") : arg;
        const char *pat = ytext(c, pn);
        if (!pat)
            return yerr(c, arg ? arg : item, "rule '%s' needs a pattern", name);
        if (!(r->re = compile_re(c, pn, pat)))
            return -1;
        if (r->kind == RK_REGEX_REPLACE) {
            r->s2 = ytext(c, opt(m, "replacement"));
            if (!r->s2)
                r->s2 = "";
            r->n2 = strlen(r->s2);
        }
        if (r->kind == RK_EXTRACT) {
            const YNode *g = opt(m, "group");
            uint32_t cap = 0;
            pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &cap);
            r->group = cap >= 1 ? 1 : 0;
            if (g && g->value.type == V_INT) {
                if (g->value.u.i < 0 || g->value.u.i > (int64_t)cap)
                    return yerr(c, g, "group %lld does not exist in the pattern (it has %u)", (long long)g->value.u.i, cap);
                r->group = (int)g->value.u.i;
            } else if (g) {
                const char *gn = ynode_str(g);
                int num = gn ? pcre2_substring_number_from_name(r->re, (PCRE2_SPTR)gn) : -1;
                if (num < 0)
                    return yerr(c, g, "group '%s' does not exist in the pattern", gn ? gn : "?");
                r->group = num;
            }
        }
        break;
    }
    case RK_NUMERIC: {
        static const char *const k[] = {"precision", "scale", NULL};
        if (check_keys(c, m, name, k) != 0)
            return -1;
        set_parse_defaults(c, r, col);
        double d = 0;
        if (opt(m, "precision")) {
            if (ynum(c, opt(m, "precision"), "precision", &d) != 0)
                return -1;
            if (d < 1 || d > 1000)
                return yerr(c, opt(m, "precision"), "precision must be between 1 and 1000");
            r->prec = (int)d;
        }
        if (opt(m, "scale")) {
            if (ynum(c, opt(m, "scale"), "scale", &d) != 0)
                return -1;
            if (d < 0 || (r->prec && d > r->prec))
                return yerr(c, opt(m, "scale"), "scale must be between 0 and precision");
            r->scale = (int)d;
        }
        break;
    }
    case RK_BOOLEAN: {
        static const char *const k[] = {"true", "false", "case_sensitive", NULL};
        if (check_keys(c, m, name, k) != 0)
            return -1;
        const YNode *tn = NULL, *fn = NULL;
        for (size_t i = 0; m && i < m->n; i++) {      /* keys `true:`/`false:` resolve to booleans */
            const YNode *kk = m->keys[i];
            if (kk->kind == YN_SCALAR && kk->text && strcasecmp(kk->text, "true") == 0)
                tn = m->items[i];
            if (kk->kind == YN_SCALAR && kk->text && strcasecmp(kk->text, "false") == 0)
                fn = m->items[i];
        }
        if ((tn == NULL) != (fn == NULL))
            return yerr(c, m, "rule 'boolean' needs both 'true' and 'false' word lists");
        if (tn) {
            if (words_from(c, tn, "true", &r->words) != 0 || words_from(c, fn, "false", &r->words2) != 0)
                return -1;
            r->ci = true;
        }
        const YNode *cs = opt(m, "case_sensitive");
        if (cs && cs->value.type == V_BOOL)
            r->ci = !cs->value.u.b;
        set_parse_defaults(c, r, col);
        break;
    }
    case RK_DATE: case RK_TIMESTAMP: {
        static const char *const k[] = {"formats", NULL};
        if (check_keys(c, m, name, k) != 0)
            return -1;
        const YNode *fl = m ? opt(m, "formats") : arg;
        if (fl) {
            Words w;
            if (fl->kind == YN_SCALAR) {
                w.count = 1;
                w.w = ARENA_ARRAY(c->a, const char *, 1);
                w.w[0] = ytext(c, fl);
            } else if (words_from(c, fl, "formats", &w) != 0) {
                return -1;
            }
            for (int i = 0; i < w.count; i++) {
                CleanseTm tm;
                const char *f = w.w[i];
                if (!f || !*f)
                    return yerr(c, fl, "empty date format");
                for (const char *p = f; *p; p++)
                    if (*p == '%') {
                        p++;
                        if (!*p || !strchr("YmdHMSfybIpz%", *p))
                            return yerr(c, fl, "unsupported directive '%%%c' in format '%s' (use %%Y %%m %%d %%H %%M %%S %%f %%y %%b %%I %%p %%z %%%%)",
                                        *p ? *p : ' ', f);
                    }
                (void)tm;
            }
            r->formats = w.w;
            r->nformats = w.count;
        }
        set_parse_defaults(c, r, col);
        if (r->kind == RK_DATE && col->type != CT_DATE && col->type != CT_TEXT && col->type != CT_VARCHAR)
            return yerr(c, key, "rule 'date' on a column of type %s", col->sql_type);
        if (r->kind == RK_TIMESTAMP && col->type != CT_TS && col->type != CT_TSTZ && col->type != CT_TEXT &&
            col->type != CT_VARCHAR)
            return yerr(c, key, "rule 'timestamp' on a column of type %s", col->sql_type);
        break;
    }
    case RK_RANGE: {
        static const char *const k[] = {"min", "max", NULL};
        if (!m)
            return yerr(c, arg ? arg : item, "rule 'range' needs {min: ..., max: ...}");
        if (check_keys(c, m, name, k) != 0)
            return -1;
        const YNode *mn = opt(m, "min"), *mx = opt(m, "max");
        if (!mn && !mx)
            return yerr(c, m, "rule 'range' needs min and/or max");
        bool timeish = col->type == CT_DATE || col->type == CT_TS || col->type == CT_TSTZ;
        bool numish = col->type == CT_SMALLINT || col->type == CT_INT || col->type == CT_BIGINT ||
                      col->type == CT_NUMERIC || col->type == CT_FLOAT;
        if (!timeish && !numish)
            return yerr(c, key, "rule 'range' needs a numeric, date or timestamp column (%s is %s)", col->name, col->sql_type);
        for (int i = 0; i < 2; i++) {
            const YNode *b = i ? mx : mn;
            if (!b)
                continue;
            if (timeish) {
                const char *s = ytext(c, b);
                Sb o = SB_INIT;
                const char *why;
                if (!s || cl_parse_time(col->type == CT_DATE ? default_date_formats : default_ts_formats,
                                        col->type == CT_DATE ? 1 : (int)(sizeof default_ts_formats / sizeof default_ts_formats[0]),
                                        col->type, s, strlen(s), &o, &why) != 0) {
                    sb_free(&o);
                    return yerr(c, b, "range bound must be an ISO %s", col->type == CT_DATE ? "date" : "timestamp");
                }
                *(i ? &r->smax : &r->smin) = arena_strdup(c->a, sb_cstr(&o));
                sb_free(&o);
            } else if (ynum(c, b, i ? "max" : "min", i ? &r->max : &r->min) != 0) {
                return -1;
            }
            *(i ? &r->has_max : &r->has_min) = true;
        }
        break;
    }
    case RK_MIN_LEN: case RK_MAX_LEN: {
        const YNode *v = m ? NULL : arg;
        if (!v || v->value.type != V_INT || v->value.u.i < 0)
            return yerr(c, arg ? arg : item, "rule '%s' needs a non-negative integer", name);
        r->ilen = v->value.u.i;
        break;
    }
    case RK_DEFAULT: {
        if (!arg || m || arg->kind != YN_SCALAR)
            return yerr(c, arg ? arg : item, "rule 'default' needs a scalar value");
        r->dflt = ytext(c, arg);
        r->dflt_len = r->dflt ? strlen(r->dflt) : 0;
        if (canon_default(c, arg, col, &r->dflt, &r->dflt_len) != 0)
            return -1;
        break;
    }
    case RK_SURROGATE:
        /* resolved after every column is known */
        if (!arg || arg->kind != YN_SEQ || arg->n == 0)
            return yerr(c, arg ? arg : item, "rule 'surrogate_key' needs a list of column names");
        break;
    default:
        break;
    }
    if (is_parse_kind(r->kind) && col->type != CT_TEXT && col->type != CT_VARCHAR &&
        parse_kind_for(col->type) != r->kind)
        return yerr(c, key, "rule '%s' does not fit data_type %s", name, col->sql_type);
    return 0;
}

static int find_col(const CleanseSpec *s, const char *name)
{
    for (int i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i].name, name) == 0)
            return i;
    return -1;
}

static int field_slot(CleanseSpec *s, const char *name)
{
    for (int i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i], name) == 0)
            return i;
    s->fields[s->nfields] = name;
    return s->nfields++;
}

static int compile_columns(Ctx *c, CleanseSpec *s)
{
    const YNode *cols = c->src->columns;
    if (!cols || cols->kind != YN_SEQ || cols->n == 0)
        return cerr(c, "no columns declared: list the output columns under the model's 'columns:' with data_type and rules");
    s->cols = ARENA_ARRAY(c->a, CleanseCol, cols->n);
    s->fields = ARENA_ARRAY(c->a, const char *, cols->n);
    const YNode **surr = ARENA_ARRAY(c->a, const YNode *, cols->n);
    for (size_t i = 0; i < cols->n; i++) {
        const YNode *cn = cols->items[i];
        const YNode *nm = opt(cn, "name"), *dt = opt(cn, "data_type"), *rl = opt(cn, "rules");
        if (!nm || !ynode_str(nm))
            return yerr(c, cn, "each column needs a name");
        if (!dt && !rl)
            continue;               /* documentation-only column */
        CleanseCol *col = &s->cols[s->ncols];
        col->name = ynode_str(nm);
        if (find_col(s, col->name) >= 0)
            return yerr(c, nm, "column '%s' is declared twice", col->name);
        s->ncols++;
        col->field = -1;
        col->source_index = -1;
        if (dt) {
            if (parse_type(c, dt, col) != 0)
                return -1;
        } else {
            col->sql_type = "text";
            col->type = CT_TEXT;
        }
        const YNode *src = opt(cn, "source");
        col->source = col->name;
        if (src) {
            if (src->kind != YN_SCALAR || src->value.type == V_NONE)
                return yerr(c, src, "source must be a field name, a dotted path or a field number");
            if (src->value.type == V_INT) {
                if (src->value.u.i < 1 || src->value.u.i > 100000)
                    return yerr(c, src, "field number must be between 1 and 100000");
                col->source_index = (int)src->value.u.i - 1;
            }
            col->source = ytext(c, src);
        }
        const YNode *cdef = opt(cn, "default");
        if (rl && rl->kind != YN_SEQ)
            return yerr(c, rl, "rules must be a list");
        size_t nr = rl ? rl->n : 0;
        col->rules = ARENA_ARRAY(c->a, CleanseRule, nr + 2);
        bool has_parse = false, is_surr = false;
        int first_range = -1;
        for (size_t j = 0; j < nr; j++) {
            CleanseRule *r = &col->rules[col->nrules];
            if (compile_rule(c, col, rl->items[j], r, cdef) != 0) {
                if (r->re)
                    pcre2_code_free(r->re);
                return -1;
            }
            if (is_parse_kind(r->kind))
                has_parse = true;
            if ((r->kind == RK_RANGE) && first_range < 0 && !has_parse)
                first_range = col->nrules;
            if (r->kind == RK_SURROGATE) {
                if (col->nrules != 0 || nr != 1)
                    return yerr(c, rl->items[j], "surrogate_key must be the column's only rule");
                surr[s->ncols - 1] = rl->items[j]->items[0];
                is_surr = true;
            }
            col->nrules++;
        }
        RuleKind pk = parse_kind_for(col->type);
        if (!has_parse && !is_surr && pk != RK_TRIM) {
            /* implicit parse: before the first range check, else last */
            int at = first_range >= 0 ? first_range : col->nrules;
            memmove(&col->rules[at + 1], &col->rules[at], sizeof(CleanseRule) * (size_t)(col->nrules - at));
            CleanseRule *r = &col->rules[at];
            memset(r, 0, sizeof *r);
            r->kind = pk;
            r->name = pk == RK_INTEGER ? "integer" : pk == RK_NUMERIC ? "numeric" : pk == RK_FLOAT ? "float" :
                      pk == RK_BOOLEAN ? "boolean" : pk == RK_DATE ? "date" : "timestamp";
            r->on_fail = OF_REJECT;
            set_parse_defaults(c, r, col);
            col->nrules++;
        }
        if (col->type == CT_VARCHAR) {
            CleanseRule *r = &col->rules[col->nrules++];
            memset(r, 0, sizeof *r);
            r->kind = RK_VARCHAR_LEN;
            r->name = "data_type";
            r->ilen = col->len;
            r->on_fail = OF_REJECT;
        }
        if (!is_surr)
            col->field = -2;        /* reads input; slot resolved below */
    }
    if (s->ncols == 0)
        return cerr(c, "no output columns: give each column a data_type (and rules)");
    for (int i = 0; i < s->ncols; i++) {
        CleanseCol *col = &s->cols[i];
        if (surr[i]) {
            const YNode *l = surr[i];
            CleanseRule *r = &col->rules[0];
            r->cols = ARENA_ARRAY(c->a, int, l->n);
            for (size_t k = 0; k < l->n; k++) {
                const char *cn = ynode_str(l->items[k]);
                int ci = cn ? find_col(s, cn) : -1;
                if (ci < 0)
                    return yerr(c, l->items[k], "surrogate_key column '%s' is not an output column", cn ? cn : "?");
                if (ci == i)
                    return yerr(c, l->items[k], "surrogate_key cannot include its own column");
                r->cols[r->ncols++] = ci;
            }
            continue;
        }
        col->field = field_slot(s, col->source);
        if (s->format == CF_NDJSON) {
            int np = 1;
            for (const char *p = col->source; *p; p++)
                np += *p == '.';
            col->path = ARENA_ARRAY(c->a, const char *, np);
            char *cp = arena_strdup(c->a, col->source);
            for (char *tok = strtok(cp, "."); tok; tok = strtok(NULL, "."))
                col->path[col->npath++] = tok;
            if (col->npath == 0)
                return cerr(c, "column '%s': empty source path", col->name);
        }
    }
    return 0;
}

/* ---- config */

static const char *cfg_str(VDict *d, const char *k)
{
    Value *v = d ? dict_getz(d, k) : NULL;
    return v && v->type == V_STR ? v->u.s->s : NULL;
}

static const char builtin_combined[] =
    "^(?<remote_addr>\\S+) (?<ident>\\S+) (?<remote_user>\\S+) \\[(?<time_local>[^\\]]+)\\] "
    "\"(?<method>[A-Z]+|-) ?(?<path>[^\" ]*) ?(?<protocol>[^\"]*)\" (?<status>\\d{3}) (?<body_bytes_sent>\\d+|-)"
    "(?: \"(?<http_referer>[^\"]*)\" \"(?<http_user_agent>[^\"]*)\")?\\s*$";

static int compile_input(Ctx *c, CleanseSpec *s, VDict *cfg)
{
    Value *in = cfg ? dict_getz(cfg, "input") : NULL;
    s->format = CF_SQL;
    s->delim = ',';
    s->quote = '"';
    s->header = true;
    s->max_field = 65536;
    if (!in || in->type == V_NONE)
        return 0;
    if (in->type == V_STR && strcmp(in->u.s->s, "sql") == 0)
        return 0;
    if (in->type != V_DICT)
        return cerr(c, "config 'input' must be a mapping (path, format, ...)");
    VDict *d = in->u.d;
    for (size_t i = 0; i < d->n; i++) {
        if (d->entries[i].key.type != V_STR)
            continue;
        const char *k = d->entries[i].key.u.s->s;
        static const char *const known[] = {"path", "format", "header", "delimiter", "quote", "encoding",
                                            "max_field_bytes", "pattern", "preset", NULL};
        bool ok = false;
        for (int j = 0; known[j]; j++)
            ok |= strcmp(known[j], k) == 0;
        if (!ok)
            return cerr(c, "unknown input option '%s' (path, format, header, delimiter, quote, encoding, "
                        "max_field_bytes, pattern, preset)", k);
    }
    const char *path = cfg_str(d, "path");
    const char *fmt = cfg_str(d, "format");
    if (!path || !*path)
        return cerr(c, "input needs a 'path' (a file or glob)");
    s->path_glob = arena_strdup(c->a, path);
    if (!fmt || strcmp(fmt, "csv") == 0)
        s->format = CF_CSV;
    else if (strcmp(fmt, "tsv") == 0)
        s->format = CF_CSV, s->delim = '\t';
    else if (strcmp(fmt, "regex") == 0)
        s->format = CF_REGEX;
    else if (strcmp(fmt, "ndjson") == 0 || strcmp(fmt, "jsonl") == 0)
        s->format = CF_NDJSON;
    else
        return cerr(c, "unknown input format '%s' (csv, tsv, regex, ndjson)", fmt);
    Value *h = dict_getz(d, "header");
    if (h && h->type != V_NONE) {
        if (h->type != V_BOOL)
            return cerr(c, "input.header must be true or false");
        s->header = h->u.b;
    }
    const char *dl = cfg_str(d, "delimiter");
    if (dl) {
        if (strcmp(dl, "\\t") == 0 || strcmp(dl, "tab") == 0)
            dl = "\t";
        if (strlen(dl) != 1 || dl[0] == '\n' || dl[0] == '\r')
            return cerr(c, "input.delimiter must be one character");
        s->delim = dl[0];
    }
    const char *q = cfg_str(d, "quote");
    if (q) {
        if (strlen(q) > 1)
            return cerr(c, "input.quote must be one character or empty");
        s->quote = q[0];
    }
    const char *enc = cfg_str(d, "encoding");
    if (enc) {
        if (strcasecmp(enc, "utf-8") == 0 || strcasecmp(enc, "utf8") == 0)
            s->latin1 = false;
        else if (strcasecmp(enc, "latin1") == 0 || strcasecmp(enc, "latin-1") == 0 || strcasecmp(enc, "iso-8859-1") == 0)
            s->latin1 = true;
        else
            return cerr(c, "unsupported input.encoding '%s' (utf-8, latin1)", enc);
    }
    Value *mf = dict_getz(d, "max_field_bytes");
    if (mf && mf->type != V_NONE) {
        if (mf->type != V_INT || mf->u.i < 1 || mf->u.i > (1 << 30))
            return cerr(c, "input.max_field_bytes must be a positive integer");
        s->max_field = (size_t)mf->u.i;
    }
    if (s->format == CF_REGEX) {
        const char *pat = cfg_str(d, "pattern"), *preset = cfg_str(d, "preset");
        if (preset) {
            if (strcmp(preset, "apache_combined") == 0 || strcmp(preset, "nginx_combined") == 0 ||
                strcmp(preset, "apache_common") == 0 || strcmp(preset, "combined") == 0)
                pat = builtin_combined;
            else
                return cerr(c, "unknown input.preset '%s' (apache_combined, apache_common, nginx_combined)", preset);
        }
        if (!pat)
            return cerr(c, "format regex needs input.pattern or input.preset");
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
        if (!re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            return cerr(c, "bad input.pattern: %s at offset %zu", (const char *)msg, (size_t)eo);
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        s->re = re;
    }
    return 0;
}

static int compile_config(Ctx *c, CleanseSpec *s, VDict *cfg)
{
    s->order_col = -1;
    s->max_reject_ratio = -1;
    s->max_rejects = -1;
    Value *uk = cfg ? dict_getz(cfg, "unique_key") : NULL;
    if (uk && uk->type != V_NONE) {
        const char **names;
        int n = 0;
        if (uk->type == V_STR) {
            names = ARENA_ARRAY(c->a, const char *, 1);
            names[n++] = uk->u.s->s;
        } else if (uk->type == V_LIST || uk->type == V_TUPLE) {
            names = ARENA_ARRAY(c->a, const char *, uk->u.l->len + 1);
            for (size_t i = 0; i < uk->u.l->len; i++) {
                if (uk->u.l->items[i].type != V_STR)
                    return cerr(c, "unique_key must be a column name or a list of names");
                names[n++] = uk->u.l->items[i].u.s->s;
            }
        } else {
            return cerr(c, "unique_key must be a column name or a list of names");
        }
        s->key_cols = ARENA_ARRAY(c->a, int, n + 1);
        for (int i = 0; i < n; i++) {
            int ci = find_col(s, names[i]);
            if (ci < 0)
                return cerr(c, "unique_key column '%s' is not an output column", names[i]);
            s->key_cols[s->nkey++] = ci;
        }
    }
    Value *dd = cfg ? dict_getz(cfg, "dedupe") : NULL;
    if (dd && dd->type != V_NONE) {
        if (dd->type != V_DICT)
            return cerr(c, "dedupe must be a mapping {keep: first|last, order_by: column}");
        if (!s->nkey)
            return cerr(c, "dedupe needs a unique_key");
        const char *keep = cfg_str(dd->u.d, "keep"), *ob = cfg_str(dd->u.d, "order_by");
        if (keep && strcmp(keep, "last") == 0)
            s->keep_last = true;
        else if (keep && strcmp(keep, "first") != 0)
            return cerr(c, "dedupe.keep must be first or last");
        if (ob) {
            s->order_col = find_col(s, ob);
            if (s->order_col < 0)
                return cerr(c, "dedupe.order_by column '%s' is not an output column", ob);
        }
    }
    Value *mr = cfg ? dict_getz(cfg, "max_reject_ratio") : NULL;
    if (mr && mr->type != V_NONE) {
        double v = mr->type == V_INT ? (double)mr->u.i : mr->type == V_FLOAT ? mr->u.f : -1;
        if (v < 0 || v > 1)
            return cerr(c, "max_reject_ratio must be a number between 0 and 1");
        s->max_reject_ratio = v;
    }
    Value *mx = cfg ? dict_getz(cfg, "max_rejects") : NULL;
    if (mx && mx->type != V_NONE) {
        if (mx->type != V_INT || mx->u.i < 0)
            return cerr(c, "max_rejects must be a non-negative integer");
        s->max_rejects = mx->u.i;
    }
    Value *inc = cfg ? dict_getz(cfg, "incremental") : NULL;
    if (inc && inc->type != V_NONE && !(inc->type == V_BOOL && !inc->u.b)) {
        if (inc->type == V_STR && strcmp(inc->u.s->s, "files") == 0) {
            if (s->format == CF_SQL)
                return cerr(c, "incremental: files needs file input");
            s->incr_files = true;
        } else if (inc->type == V_DICT && cfg_str(inc->u.d, "watermark")) {
            if (s->format != CF_SQL)
                return cerr(c, "incremental watermark needs SQL input");
            s->watermark = cfg_str(inc->u.d, "watermark");
            if (find_col(s, s->watermark) < 0)
                return cerr(c, "incremental watermark column '%s' is not an output column", s->watermark);
        } else {
            return cerr(c, "incremental must be 'files' or {watermark: column}");
        }
    }
    return 0;
}

CleanseSpec *cleanse_compile(Arena *a, const CleanseSource *src, Diag *err)
{
    Ctx c = {a, src, err, {0}};
    if (src->yml_text)
        srcfile_init(&c.sf, src->yml_path, src->yml_text, src->yml_len);
    CleanseSpec *s = ARENA_NEW(a, CleanseSpec);
    s->a = a;
    s->model = src->model;
    int rc = -1;
    if (compile_input(&c, s, src->config) != 0)
        goto out;
    if (compile_columns(&c, s) != 0 || compile_config(&c, s, src->config) != 0)
        goto out;
    if (s->format == CF_REGEX) {
        for (int i = 0; i < s->ncols; i++) {
            CleanseCol *col = &s->cols[i];
            if (col->field < 0)
                continue;
            int num = pcre2_substring_number_from_name((pcre2_code *)s->re, (PCRE2_SPTR)col->source);
            if (num < 0 && col->source_index < 0) {
                cerr(&c, "column '%s': the input pattern has no group named '%s'", col->name, col->source);
                goto out;
            }
        }
    }
    if (s->format == CF_CSV && !s->header)
        for (int i = 0; i < s->ncols; i++)
            if (s->cols[i].field >= 0 && s->cols[i].source_index < 0) {
                cerr(&c, "column '%s': input has no header, so 'source' must be a field number", s->cols[i].name);
                goto out;
            }
    rc = 0;
out:
    srcfile_free(&c.sf);
    if (rc != 0) {
        cleanse_spec_free(s);
        return NULL;
    }
    return s;
}

void cleanse_spec_free(CleanseSpec *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ncols; i++)
        for (int j = 0; j < s->cols[i].nrules; j++)
            if (s->cols[i].rules[j].re) {
                pcre2_code_free(s->cols[i].rules[j].re);
                s->cols[i].rules[j].re = NULL;
            }
    if (s->re) {
        pcre2_code_free((pcre2_code *)s->re);
        s->re = NULL;
    }
}
