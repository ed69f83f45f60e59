/* rules.c - the row transform: runs every column's compiled rules on one
 * record (values live in a per-row arena reset before each record), applies
 * the on_fail actions, computes surrogate keys, deduplicates on unique_key and
 * appends the row to the output in COPY text format, or hands a reject to the
 * caller's sink.  Splitting input into records is readers.c's job. */
#define _GNU_SOURCE
#include "cpriv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/hash.h"

Cleanser *cleanser_new(const CleanseSpec *s, CleanseRejectFn rej, void *rej_ud)
{
    Cleanser *c = xcalloc(1, sizeof *c);
    c->s = s;
    arena_init(&c->row, 64 * 1024);
    arena_init(&c->keys, 1 << 20);
    c->vals = xcalloc((size_t)s->ncols + 1, sizeof(CVal));
    uint32_t maxcap = 1;
    for (int i = 0; i < s->ncols; i++)
        for (int j = 0; j < s->cols[i].nrules; j++)
            if (s->cols[i].rules[j].re) {
                uint32_t cap = 0;
                pcre2_pattern_info(s->cols[i].rules[j].re, PCRE2_INFO_CAPTURECOUNT, &cap);
                if (cap + 1 > maxcap)
                    maxcap = cap + 1;
            }
    if (s->re) {
        uint32_t cap = 0;
        pcre2_pattern_info((pcre2_code *)s->re, PCRE2_INFO_CAPTURECOUNT, &cap);
        if (cap + 1 > maxcap)
            maxcap = cap + 1;
    }
    c->md = pcre2_match_data_create(maxcap, NULL);
    c->rej = rej;
    c->rej_ud = rej_ud;
    c->source = "";
    c->nslots = s->nfields;
    c->slot_pos = xmalloc(sizeof(int) * ((size_t)s->nfields + 1));
    for (int i = 0; i < s->nfields; i++)
        c->slot_pos[i] = i;
    c->hold = s->nkey > 0 && (s->keep_last || s->order_col >= 0);
    c->prefetch_at = -1;
    for (int i = 0; i < s->nkey; i++) {
        const CleanseCol *kc = &s->cols[s->key_cols[i]];
        if (kc->nrules && kc->rules[0].kind == RK_SURROGATE) {
            c->prefetch_at = -1;
            break;
        }
        if (s->key_cols[i] > c->prefetch_at)
            c->prefetch_at = s->key_cols[i];
    }
    return c;
}

void cleanser_free(Cleanser *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nents; i++) {
        free(c->ents[i].row);
        free(c->ents[i].ord);
    }
    free(c->ents);
    free(c->slots);
    pcre2_match_data_free(c->md);
    arena_free(&c->row);
    arena_free(&c->keys);
    free(c->vals);
    free(c->slot_pos);
    sb_free(&c->tmp);
    sb_free(&c->key);
    free(c);
}

const CleanseStats *cleanser_stats(const Cleanser *c) { return &c->st; }

void cleanser_set_watermark(Cleanser *c, const char *max_text)
{
    c->wm = NULL;
    c->wm_col = -1;
    if (!max_text || !c->s->watermark)
        return;
    for (int i = 0; i < c->s->ncols; i++)
        if (strcmp(c->s->cols[i].name, c->s->watermark) == 0)
            c->wm_col = i;
    if (c->wm_col < 0)
        return;
    c->wm = arena_strdup(&c->keys, max_text);
    c->wmnum = strtod(max_text, NULL);
}
void cleanser_set_source(Cleanser *c, const char *source) { c->source = source; }
const char *cleanser_source(const Cleanser *c) { return c->source; }

int cleanser_bind_names(Cleanser *c, const char **names, int n, const char *where, Diag *err)
{
    for (int i = 0; i < c->s->nfields; i++) {
        c->slot_pos[i] = -1;
        for (int k = 0; k < n; k++)
            if (names[k] && strcmp(names[k], c->s->fields[i]) == 0) {
                c->slot_pos[i] = k;
                break;
            }
        if (c->slot_pos[i] < 0)
            for (int k = 0; k < n; k++)          /* then case-insensitively */
                if (names[k] && strcasecmp(names[k], c->s->fields[i]) == 0) {
                    c->slot_pos[i] = k;
                    break;
                }
        if (c->slot_pos[i] < 0) {
            diag_set(err, NULL, 0, 0, NULL, "cleanse model '%s': input field '%s' not found in %s", c->s->model,
                     c->s->fields[i], where);
            return -1;
        }
    }
    return 0;
}

/* COPY text escapes: byte -> letter after the backslash (0 = as is). */
static const char copy_esc[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};

void cleanse_copy_escape(Sb *out, const char *s, size_t n)
{
    if (!s) {
        sb_append(out, "\\N", 2);
        return;
    }
    sb_reserve(out, n + 16);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
            sb_append(out, s + start, i - start);
            char e[2] = {'\\', ch == '\\' ? '\\' : ch == '\t' ? 't' : ch == '\n' ? 'n' : 'r'};
            sb_append(out, e, 2);
            start = i + 1;
        }
    }
    sb_append(out, s + start, n - start);
}

int cleanser_reject(Cleanser *c, int64_t line, const char *reason, const char *raw, size_t raw_len)
{
    c->st.in++;
    c->st.rejected++;
    CleanseReject r = {line, NULL, NULL, reason, raw, raw_len};
    return c->rej ? c->rej(c->rej_ud, &r) : 0;
}

/* ---- string rules */

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'; }

static char *rowdup(Cleanser *c, const char *p, size_t n)
{
    char *o = arena_alloc(&c->row, n + 1);
    memcpy(o, p, n);
    o[n] = 0;
    return o;
}

static void do_case(Cleanser *c, CVal *v, RuleKind k)
{
    char *o = rowdup(c, v->p, v->n);
    bool start = true;
    for (size_t i = 0; i < v->n; i++) {
        unsigned char ch = (unsigned char)o[i];
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        if (k == RK_LOWER || (k == RK_TITLE && !start)) {
            if (ch >= 'A' && ch <= 'Z')
                o[i] = (char)(ch + 32);
        } else if (ch >= 'a' && ch <= 'z') {
            o[i] = (char)(ch - 32);
        }
        if (k == RK_TITLE)
            start = !(alpha || (ch >= '0' && ch <= '9') || ch >= 0x80);   /* word boundaries as initcap() */
    }
    v->p = o;
}

static void do_collapse(Cleanser *c, CVal *v)
{
    char *o = arena_alloc(&c->row, v->n + 1);
    size_t j = 0;
    bool prev = false;
    for (size_t i = 0; i < v->n; i++) {
        if (is_ws(v->p[i])) {
            if (!prev)
                o[j++] = ' ';
            prev = true;
        } else {
            o[j++] = v->p[i];
            prev = false;
        }
    }
    o[j] = 0;
    v->p = o;
    v->n = j;
}

static void do_replace(Cleanser *c, CVal *v, const CleanseRule *r)
{
    if (v->n < r->n1 || !memmem(v->p, v->n, r->s1, r->n1))
        return;
    Sb *t = &c->tmp;
    sb_reset(t);
    size_t i = 0;
    while (i < v->n) {
        const char *hit = v->n - i >= r->n1 ? memmem(v->p + i, v->n - i, r->s1, r->n1) : NULL;
        if (!hit) {
            sb_append(t, v->p + i, v->n - i);
            break;
        }
        sb_append(t, v->p + i, (size_t)(hit - (v->p + i)));
        sb_append(t, r->s2, r->n2);
        i = (size_t)(hit - v->p) + r->n1;
    }
    v->p = rowdup(c, t->buf ? t->buf : "", t->len);
    v->n = t->len;
}

static int do_regex_replace(Cleanser *c, CVal *v, const CleanseRule *r)
{
    PCRE2_SIZE cap = v->n * 2 + r->n2 + 64;
    for (int attempt = 0; attempt < 2; attempt++) {
        PCRE2_UCHAR *o = arena_alloc(&c->row, cap + 1);
        PCRE2_SIZE olen = cap;
        int rc = pcre2_substitute(r->re, (PCRE2_SPTR)v->p, v->n, 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_NO_UTF_CHECK,
                                  c->md, NULL, (PCRE2_SPTR)r->s2, r->n2, o, &olen);
        if (rc >= 0) {
            v->p = (const char *)o;
            v->n = olen;
            return 0;
        }
        if (rc != PCRE2_ERROR_NOMEMORY)
            return -1;
        cap = olen + 1;
    }
    return -1;
}

/* ---- surrogate key / dedupe */

static void surrogate(Cleanser *c, CVal *v, const CleanseRule *r)
{
    Sb *t = &c->tmp;
    sb_reset(t);
    for (int k = 0; k < r->ncols; k++) {
        if (k)
            sb_putc(t, '-');
        const CVal *x = &c->vals[r->cols[k]];
        if (x->null)
            sb_puts(t, "_dbt_utils_surrogate_key_null_");
        else
            sb_append(t, x->p, x->n);
    }
    char *hex = arena_alloc(&c->row, 33);
    md5_hex(t->buf ? t->buf : "", t->len, hex);
    v->p = hex;
    v->n = 32;
    v->null = false;
}

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h ? h : 1;
}

static void build_key(Cleanser *c)
{
    const CleanseSpec *s = c->s;
    Sb *k = &c->key;
    sb_reset(k);
    for (int i = 0; i < s->nkey; i++) {
        const CVal *v = &c->vals[s->key_cols[i]];
        if (v->null)
            sb_putc(k, 0x1e);
        else
            sb_append(k, v->p, v->n);
        sb_putc(k, 0x1f);
    }
    /* a single integer key (the common case: ids) keeps runs of 64 consecutive
     * values in neighbouring slots, so mostly increasing ids probe memory
     * that is already cached; other keys hash with FNV-1a */
    if (s->nkey == 1 && k->len >= 2 && k->len <= 19) {
        uint64_t v = 0;
        size_t i = 0;
        for (; i + 1 < k->len && k->buf[i] >= '0' && k->buf[i] <= '9'; i++)
            v = v * 10 + (uint64_t)(k->buf[i] - '0');
        if (i + 1 == k->len) {
            uint64_t hi = (v >> 6) * 0x9E3779B97F4A7C15ull;
            hi ^= hi >> 29;
            c->khash = (hi << 6) | (v & 63);
            return;
        }
    }
    c->khash = fnv(k->buf, k->len);
}

static DedupEnt *dedup_slot(Cleanser *c, const char *k, size_t kn, uint64_t h, bool *found)
{
    if (c->nents * 2 >= c->nslots_tab) {
        size_t ncap = c->nslots_tab ? c->nslots_tab * 2 : 4096;
        DedupSlot *nt = xcalloc(ncap, sizeof *nt);
        for (size_t i = 0; i < c->nslots_tab; i++)
            if (c->slots[i].ent) {
                size_t j = c->slots[i].hash & (ncap - 1);
                while (nt[j].ent)
                    j = (j + 1) & (ncap - 1);
                nt[j] = c->slots[i];
            }
        free(c->slots);
        c->slots = nt;
        c->nslots_tab = ncap;
    }
    size_t mask = c->nslots_tab - 1, j = h & mask;
    while (c->slots[j].ent) {
        DedupSlot *sl = &c->slots[j];
        if (sl->hash == h && sl->klen == kn && memcmp(c->ents[sl->ent - 1].key, k, kn) == 0) {
            *found = true;
            return &c->ents[sl->ent - 1];
        }
        j = (j + 1) & mask;
    }
    *found = false;
    if (c->nents == c->capents) {
        c->capents = c->capents ? c->capents * 2 : 4096;
        c->ents = xrealloc(c->ents, sizeof *c->ents * c->capents);
    }
    DedupEnt *e = &c->ents[c->nents++];
    memset(e, 0, sizeof *e);
    e->key = arena_alloc(&c->keys, kn + 1);
    memcpy(e->key, k, kn);
    e->klen = kn;
    c->slots[j].hash = h;
    c->slots[j].klen = (uint32_t)kn;
    c->slots[j].ent = (uint32_t)c->nents;
    return e;
}

static bool numeric_type(CleanseType t)
{
    return t == CT_SMALLINT || t == CT_INT || t == CT_BIGINT || t == CT_NUMERIC || t == CT_FLOAT;
}

/* >0 if (a) sorts after (b); NULLs first. */
static int ord_cmp(const CleanseSpec *s, bool an, const char *a, size_t al, double ad,
                   bool bn, const char *b, size_t bl, double bd)
{
    if (an || bn)
        return an == bn ? 0 : an ? -1 : 1;
    if (numeric_type(s->cols[s->order_col].type))
        return ad > bd ? 1 : ad < bd ? -1 : 0;
    size_t m = al < bl ? al : bl;
    int r = memcmp(a, b, m);
    return r ? r : al > bl ? 1 : al < bl ? -1 : 0;
}

/* ---- the row */

/* Decimal text to double: exact fast path for short plain decimals, strtod otherwise. */
static int to_double(const char *p, size_t n, double *out)
{
    static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = 0;
    bool neg = false;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (; i < n; i++) {
        char ch = p[i];
        if (ch >= '0' && ch <= '9') {
            m = m * 10 + (uint64_t)(ch - '0');
            digits++;
            if (frac >= 0)
                frac++;
        } else if (ch == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (i == n && digits > 0 && digits <= 15) {
        double d = (double)m / pow10[frac > 0 ? frac : 0];
        *out = neg ? -d : d;
        return 0;
    }
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, p, n);
    buf[n] = 0;
    char *e;
    *out = strtod(buf, &e);
    return e == buf ? -1 : 0;
}

static int txt_cmp(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b), m = an < bn ? an : bn;
    int r = memcmp(a, b, m);
    return r ? r : an > bn ? 1 : an < bn ? -1 : 0;
}

static int apply_rules(Cleanser *c, const CleanseRec *rec, int ci, const char **fail_rule, const char **fail_why)
{
    const CleanseCol *col = &c->s->cols[ci];
    CVal *v = &c->vals[ci];
    Sb *t = &c->tmp;
    for (int j = 0; j < col->nrules; j++) {
        const CleanseRule *r = &col->rules[j];
        const char *why = NULL;
        bool fail = false;
        switch (r->kind) {
        case RK_TRIM: case RK_LTRIM: case RK_RTRIM:
            if (v->null)
                break;
            if (r->kind != RK_RTRIM)
                while (v->n && is_ws(*v->p))
                    v->p++, v->n--;
            if (r->kind != RK_LTRIM)
                while (v->n && is_ws(v->p[v->n - 1]))
                    v->n--;
            break;
        case RK_LOWER: case RK_UPPER: case RK_TITLE:
            if (!v->null)
                do_case(c, v, r->kind);
            break;
        case RK_COLLAPSE:
            if (!v->null)
                do_collapse(c, v);
            break;
        case RK_NULL_IF:
            if (!v->null && cl_words_has(&r->words, r->ci, v->p, v->n))
                v->null = true;
            break;
        case RK_REPLACE:
            if (!v->null)
                do_replace(c, v, r);
            break;
        case RK_REGEX_REPLACE:
            if (!v->null && do_regex_replace(c, v, r) != 0)
                fail = true, why = "regex_replace failed";
            break;
        case RK_MATCH:
            if (!v->null && pcre2_match(r->re, (PCRE2_SPTR)v->p, v->n, 0, PCRE2_NO_UTF_CHECK, c->md, NULL) < 0)
                fail = true, why = "does not match the pattern";
            break;
        case RK_EXTRACT: {
            if (v->null)
                break;
            int rc = pcre2_match(r->re, (PCRE2_SPTR)v->p, v->n, 0, PCRE2_NO_UTF_CHECK, c->md, NULL);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
            if (rc < 0 || rc <= r->group || ov[2 * r->group] == PCRE2_UNSET) {
                fail = true, why = "pattern did not match";
                break;
            }
            v->p += ov[2 * r->group];
            v->n = ov[2 * r->group + 1] - ov[2 * r->group];
            break;
        }
        case RK_INTEGER: case RK_NUMERIC: case RK_FLOAT: case RK_DATE: case RK_TIMESTAMP: {
            if (v->null)
                break;
            sb_reset(t);
            int64_t iv;
            double dv;
            int rc;
            CleanseType ty = r->type;
            if (r->kind == RK_INTEGER)
                rc = cl_parse_integer(v->p, v->n, ty == CT_SMALLINT || ty == CT_INT ? ty : CT_BIGINT, t, &iv, &why);
            else if (r->kind == RK_NUMERIC)
                rc = cl_parse_numeric(v->p, v->n, r->prec, r->scale, t, NULL, &why);
            else if (r->kind == RK_FLOAT)
                rc = cl_parse_float(v->p, v->n, t, &dv, &why);
            else if (r->kind == RK_DATE)
                rc = cl_parse_time((const char *const *)r->formats, r->nformats, CT_DATE, v->p, v->n, t, &why);
            else
                rc = cl_parse_time((const char *const *)r->formats, r->nformats, ty == CT_TSTZ ? CT_TSTZ : CT_TS,
                                   v->p, v->n, t, &why);
            if (rc != 0) {
                fail = true;
                break;
            }
            v->p = rowdup(c, t->buf, t->len);
            v->n = t->len;
            break;
        }
        case RK_BOOLEAN:
            if (v->null)
                break;
            {
                const char *p = v->p;
                size_t n = v->n;
                while (n && is_ws(*p))
                    p++, n--;
                while (n && is_ws(p[n - 1]))
                    n--;
                if (cl_words_has(&r->words, r->ci, p, n))
                    v->p = "true", v->n = 4;
                else if (cl_words_has(&r->words2, r->ci, p, n))
                    v->p = "false", v->n = 5;
                else
                    fail = true, why = "not a boolean";
            }
            break;
        case RK_RANGE:
            if (v->null)
                break;
            if (r->smin || r->smax) {
                if ((r->smin && txt_cmp(v->p, v->n, r->smin) < 0) || (r->smax && txt_cmp(v->p, v->n, r->smax) > 0))
                    fail = true, why = "out of range";
            } else {
                double d;
                if (to_double(v->p, v->n, &d) != 0)
                    fail = true, why = "not a number";
                else if ((r->has_min && d < r->min) || (r->has_max && d > r->max))
                    fail = true, why = "out of range";
            }
            break;
        case RK_MIN_LEN: case RK_MAX_LEN: case RK_VARCHAR_LEN:
            if (!v->null) {
                size_t len = cl_utf8_len(v->p, v->n);
                if (r->kind == RK_MIN_LEN ? len < (size_t)r->ilen : len > (size_t)r->ilen)
                    fail = true, why = r->kind == RK_MIN_LEN ? "too short" : "too long";
            }
            break;
        case RK_ACCEPTED:
            if (!v->null && !cl_words_has(&r->words, r->ci, v->p, v->n))
                fail = true, why = "not an accepted value";
            break;
        case RK_DEFAULT:
            if (v->null && r->dflt) {
                v->p = r->dflt;
                v->n = r->dflt_len;
                v->null = false;
            }
            break;
        case RK_NOT_NULL:
            if (v->null)
                fail = true, why = "is null";
            break;
        case RK_SURROGATE:
            surrogate(c, v, r);
            break;
        }
        if (!fail)
            continue;
        if (r->on_fail == OF_REJECT) {
            *fail_rule = r->name;
            *fail_why = why ? why : "failed";
            return -1;
        }
        if (r->on_fail == OF_NULL) {
            v->null = true;
        } else {
            v->null = r->dflt == NULL;
            v->p = r->dflt ? r->dflt : "";
            v->n = r->dflt_len;
        }
    }
    (void)rec;
    return 0;
}

int cleanser_row(Cleanser *c, const CleanseRec *rec, Sb *out)
{
    const CleanseSpec *s = c->s;
    arena_reset(&c->row);
    c->st.in++;
    for (int i = 0; i < s->ncols; i++) {
        const CleanseCol *col = &s->cols[i];
        CVal *v = &c->vals[i];
        if (col->field >= 0) {
            int pos = col->field;
            const char *p = pos < rec->nf ? rec->f[pos] : NULL;
            v->p = p ? p : "";
            v->n = p ? rec->n[pos] : 0;
            v->null = p == NULL;
        } else {
            v->p = "";
            v->n = 0;
            v->null = true;
        }
        if (col->rules && col->rules[0].kind == RK_SURROGATE)
            continue;
        const char *rule = NULL, *why = NULL;
        if (apply_rules(c, rec, i, &rule, &why) != 0) {
            c->st.rejected++;
            CleanseReject r = {rec->line, col->name, rule, why, rec->raw, rec->raw_len};
            return c->rej && c->rej(c->rej_ud, &r) != 0 ? -1 : 0;
        }
        if (i == c->prefetch_at) {
            /* the key is final: start fetching its hash slot while the other columns run */
            build_key(c);
            if (c->slots)
                __builtin_prefetch(&c->slots[c->khash & (c->nslots_tab - 1)]);
        }
    }
    for (int i = 0; i < s->ncols; i++)
        if (s->cols[i].rules && s->cols[i].nrules && s->cols[i].rules[0].kind == RK_SURROGATE)
            surrogate(c, &c->vals[i], &s->cols[i].rules[0]);

    if (c->wm) {
        const CVal *w = &c->vals[c->wm_col];
        bool skip = w->null;
        if (!skip && numeric_type(s->cols[c->wm_col].type)) {
            char buf[64];
            size_t n = w->n < 63 ? w->n : 63;
            memcpy(buf, w->p, n);
            buf[n] = 0;
            skip = strtod(buf, NULL) <= c->wmnum;
        } else if (!skip) {
            skip = txt_cmp(w->p, w->n, c->wm) <= 0;
        }
        if (skip) {
            c->st.skipped++;
            return 0;
        }
    }
    DedupEnt *e = NULL;
    bool found = false;
    if (s->nkey) {
        if (c->prefetch_at < 0)
            build_key(c);
        e = dedup_slot(c, c->key.buf, c->key.len, c->khash, &found);
        if (found && !c->hold) {
            c->st.dups++;
            return 0;
        }
    }
    size_t mark = out->len;
    size_t need = 1;
    for (int i = 0; i < s->ncols; i++)
        need += (c->vals[i].null ? 2 : c->vals[i].n * 2) + 1;
    sb_reserve(out, need);
    char *w = out->buf + out->len;
    for (int i = 0; i < s->ncols; i++) {
        if (i)
            *w++ = '\t';
        const CVal *v = &c->vals[i];
        if (v->null) {
            *w++ = '\\';
            *w++ = 'N';
            continue;
        }
        const unsigned char *p = (const unsigned char *)v->p, *pe = p + v->n;
        while (pe - p >= 8) {           /* 8 bytes at a time while none needs escaping */
            uint64_t x;
            memcpy(&x, p, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            uint64_t lt = (x - ones * 0x0e) & ~x & highs;          /* some byte < 0x0e */
            uint64_t bs = x ^ (ones * 0x5c);
            bs = (bs - ones) & ~bs & highs;                         /* some byte == '\\' */
            if (lt | bs)
                break;
            memcpy(w, p, 8);
            w += 8;
            p += 8;
        }
        for (; p < pe; p++) {
            unsigned char ch = *p;
            char x = copy_esc[ch];
            if (!x) {
                *w++ = (char)ch;
            } else {
                *w++ = '\\';
                *w++ = x;
            }
        }
    }
    *w++ = '\n';
    out->len = (size_t)(w - out->buf);
    out->buf[out->len] = 0;
    if (!c->hold) {
        c->st.out++;
        return 0;
    }
    /* keep last / order_by: remember the row, decide which one wins */
    const CVal *ov = s->order_col >= 0 ? &c->vals[s->order_col] : NULL;
    double od = 0;
    if (ov && !ov->null && numeric_type(s->cols[s->order_col].type)) {
        char buf[64];
        size_t n = ov->n < 63 ? ov->n : 63;
        memcpy(buf, ov->p, n);
        buf[n] = 0;
        od = strtod(buf, NULL);
    }
    bool take = !found;
    if (found) {
        c->st.dups++;
        if (!ov) {
            take = s->keep_last;
        } else {
            int cmp = ord_cmp(s, ov->null, ov->p, ov->n, od, e->ord_null, e->ord, e->ordlen, e->ordnum);
            take = s->keep_last ? cmp >= 0 : cmp < 0;
        }
    }
    if (take) {
        free(e->row);
        free(e->ord);
        e->rowlen = out->len - mark;
        e->row = xmalloc(e->rowlen);
        memcpy(e->row, out->buf + mark, e->rowlen);
        e->ord = NULL;
        e->ord_null = !ov || ov->null;
        if (ov && !ov->null) {
            e->ord = xmalloc(ov->n + 1);
            memcpy(e->ord, ov->p, ov->n);
            e->ordlen = ov->n;
        }
        e->ordnum = od;
    }
    sb_truncate(out, mark);
    return 0;
}

int cleanser_finish(Cleanser *c, Sb *out, size_t chunk, int (*flush)(void *ud, Sb *out), void *ud)
{
    if (!c->hold)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < c->nents && rc == 0; i++) {     /* first-seen order */
        DedupEnt *e = &c->ents[i];
        if (!e->row)
            continue;
        sb_append(out, e->row, e->rowlen);
        c->st.out++;
        free(e->row);
        e->row = NULL;
        if (flush && out->len >= chunk)
            rc = flush(ud, out);
    }
    return rc;
}
