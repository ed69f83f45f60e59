/* lexer.c - the modal template lexer.
 *
 * Owns: splitting template source into TEXT and tag tokens exactly as Jinja2
 * does with dbt's settings: whitespace control (`{%-`, `-%}`, `{{-`, `-}}`,
 * `{#-`, `-#}`; `+` accepted and ignored), comments, `{% raw %}` blocks,
 * newline normalisation of text (\r\n and \r -> \n), dropping one trailing
 * newline of the source, and the tokens inside tags (names, keywords from
 * keywords.def, Python string literals with escapes, ints with `_`/0x/0o/0b,
 * floats, operators; `}}`/`%}` only end a tag when brackets are balanced).
 * Leaves to others: grammar (grammar/template.y) and tree building (ast.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"
#include "tplgram.h"
#include "../base/utf8.h"

enum { MODE_TEXT = 0, MODE_VAR = 1, MODE_BLOCK = 2, MODE_EOF = 3 };
enum { EXPR = 0, TAG = 1 };

typedef struct Keyword {
    const char *text;
    size_t len;
    int code;
    int where;
} Keyword;

static const Keyword keywords[] = {
#define KW(t, c, w) {t, sizeof(t) - 1, TK_##c, w},
#include "keywords.def"
#undef KW
};

enum { NKEYWORDS = sizeof keywords / sizeof keywords[0], KW_BUCKETS = 64 };

/* Every name in a tag is looked up among the keywords; comparing it with
 * each entry in turn was a tenth of the lexer's time.  The entries are
 * chained by a hash of (length, first byte, last byte) instead, built once. */
static signed char kw_head[KW_BUCKETS];
static signed char kw_next[NKEYWORDS];
static size_t kw_maxlen;
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

static unsigned kw_bucket(const char *s, size_t n)
{
    return ((unsigned)n * 7u + (unsigned char)s[0] * 3u + (unsigned char)s[n - 1]) & (KW_BUCKETS - 1);
}

static void kw_build(void)
{
    memset(kw_head, -1, sizeof kw_head);
    for (int i = NKEYWORDS - 1; i >= 0; i--) {      /* chains keep table order */
        unsigned b = kw_bucket(keywords[i].text, keywords[i].len);
        kw_next[i] = kw_head[b];
        kw_head[b] = (signed char)i;
        if (keywords[i].len > kw_maxlen)
            kw_maxlen = keywords[i].len;
    }
}

/* The keyword spelled s[0, n) (n > 0), or NULL. */
static const Keyword *kw_find(const char *s, size_t n)
{
    if (n > kw_maxlen)
        return NULL;
    for (int i = kw_head[kw_bucket(s, n)]; i >= 0; i = kw_next[i])
        if (keywords[i].len == n && memcmp(keywords[i].text, s, n) == 0)
            return &keywords[i];
    return NULL;
}

void lex_init(Lexer *L, Builder *B, const char *src, size_t len)
{
    pthread_once(&kw_once, kw_build);
    memset(L, 0, sizeof *L);
    L->B = B;
    L->src = src;
    /* keep_trailing_newline=false: one final newline (\n, \r\n or \r) goes */
    if (len > 0 && src[len - 1] == '\n') {
        len--;
        if (len > 0 && src[len - 1] == '\r')
            len--;
    } else if (len > 0 && src[len - 1] == '\r') {
        len--;
    }
    L->len = len;
    L->prev = 0;
}

const char *lex_token_desc(int code)
{
    switch (code) {
    case 0: return "end of template";
    case TK_TEXT: return "template data";
    case TK_VAR_BEGIN: return "begin of print statement";
    case TK_VAR_END: return "end of print statement";
    case TK_BLOCK_BEGIN: return "begin of statement block";
    case TK_BLOCK_END: return "end of statement block";
    case TK_NAME: return "name";
    case TK_STRING: return "string";
    case TK_INT: return "integer";
    case TK_FLOAT: return "float";
    default: return NULL;
    }
}

/* Byte length of a whitespace character (Python str.isspace) starting at p, or 0. */
static size_t ws_fwd(const char *p, const char *end)
{
    unsigned char c = (unsigned char)p[0];
    if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f))
        return 1;
    if (c == 0xc2 && end - p >= 2 && ((unsigned char)p[1] == 0x85 || (unsigned char)p[1] == 0xa0))
        return 2;
    if (end - p >= 3) {
        unsigned char c1 = (unsigned char)p[1], c2 = (unsigned char)p[2];
        if (c == 0xe1 && c1 == 0x9a && c2 == 0x80) return 3;
        if (c == 0xe2 && c1 == 0x80 && (c2 <= 0x8a || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf)) return 3;
        if (c == 0xe2 && c1 == 0x81 && c2 == 0x9f) return 3;
        if (c == 0xe3 && c1 == 0x80 && c2 == 0x80) return 3;
    }
    return 0;
}

/* Byte length of a whitespace character ending just before end (not before start), or 0. */
static size_t ws_back(const char *start, const char *end)
{
    for (size_t k = 1; k <= 3 && (size_t)(end - start) >= k; k++) {
        const char *p = end - k;
        if (((unsigned char)p[0] & 0xc0) == 0x80)
            continue;
        return ws_fwd(p, end) == k ? k : 0;
    }
    return 0;
}

static bool is_tagws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Text [b, e) as a TEXT token (newlines normalised into the arena when needed). */
static void make_text(Lexer *L, Tok *t, size_t b, size_t e)
{
    memset(t, 0, sizeof *t);
    t->code = TK_TEXT;
    t->off = b;
    t->len = e - b;
    const char *s = L->src + b;
    size_t n = e - b;
    if (!memchr(s, '\r', n)) {
        t->s = s;
        t->slen = n;
        return;
    }
    char *o = arena_alloc(L->B->a, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            o[k++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = 0;
    t->s = o;
    t->slen = k;
}

/* Find "{{", "{%" or "{#" at or after p; returns L->len if none. */
static size_t find_tag(const Lexer *L, size_t p)
{
    while (p + 1 < L->len) {
        const char *q = memchr(L->src + p, '{', L->len - p - 1);
        if (!q)
            return L->len;
        size_t i = (size_t)(q - L->src);
        char c = L->src[i + 1];
        if (c == '{' || c == '%' || c == '#')
            return i;
        p = i + 1;
    }
    return L->len;
}

static size_t skip_ws_fwd(const Lexer *L, size_t p)
{
    size_t n;
    while (p < L->len && (n = ws_fwd(L->src + p, L->src + L->len)) > 0)
        p += n;
    return p;
}

static size_t strip_back(const Lexer *L, size_t b, size_t e)
{
    size_t n;
    while (e > b && (n = ws_back(L->src + b, L->src + e)) > 0)
        e -= n;
    return e;
}

/* At i (pointing at "{%"): is this `{%[-+]? raw [-]?%}`?  Returns the offset
 * after the tag (and whether it ended with '-'), or 0. */
static size_t match_rawtag(const Lexer *L, size_t i, const char *word, bool *minus_open, bool *minus_close)
{
    size_t p = i + 2, wl = strlen(word);
    *minus_open = false;
    *minus_close = false;
    if (p < L->len && (L->src[p] == '-' || L->src[p] == '+')) {
        *minus_open = L->src[p] == '-';
        p++;
    }
    while (p < L->len && is_tagws(L->src[p]))
        p++;
    if (p + wl > L->len || memcmp(L->src + p, word, wl) != 0)
        return 0;
    p += wl;
    if (p < L->len && is_ident(L->src[p]))
        return 0;
    while (p < L->len && is_tagws(L->src[p]))
        p++;
    if (p + 3 <= L->len && (L->src[p] == '-' || L->src[p] == '+') && L->src[p + 1] == '%' && L->src[p + 2] == '}') {
        *minus_close = L->src[p] == '-';
        return p + 3;
    }
    if (p + 2 <= L->len && L->src[p] == '%' && L->src[p + 1] == '}')
        return p + 2;
    return 0;
}

/* Text mode: produce the next TEXT token or switch into a tag.  Returns 1
 * when a token was produced, 0 to continue lexing, -1 on error. */
static int lex_text(Lexer *L, Tok *t)
{
    size_t p = L->pos;
    if (L->lstrip_next) {
        p = skip_ws_fwd(L, p);
        L->lstrip_next = false;
    }
    size_t q = find_tag(L, p);
    size_t e = q;
    bool minus = q < L->len && q + 2 < L->len && L->src[q + 2] == '-';
    bool raw_mo = false, raw_mc = false;
    size_t raw_end = 0;
    if (q < L->len && L->src[q + 1] == '%')
        raw_end = match_rawtag(L, q, "raw", &raw_mo, &raw_mc);
    if (minus || raw_mo)
        e = strip_back(L, p, q);
    if (e > p) {
        make_text(L, t, p, e);
        L->pos = q;
        /* the tag's own '-' already applied; do not strip again */
        return 1;
    }
    if (q >= L->len) {
        L->pos = L->len;
        L->mode = MODE_EOF;
        return 0;
    }
    char c = L->src[q + 1];
    size_t after = q + 2 + ((q + 2 < L->len && (L->src[q + 2] == '-' || L->src[q + 2] == '+')) ? 1 : 0);
    if (raw_end) {
        /* body up to {%[-+]? endraw [-+]?%} */
        size_t body = raw_end;
        if (raw_mc)
            body = skip_ws_fwd(L, body);
        size_t k = body;
        for (;;) {
            k = find_tag(L, k);
            if (k >= L->len) {
                ast_fail(L->B, q, "Missing end of raw directive");
                return -1;
            }
            bool mo, mc;
            size_t end = L->src[k + 1] == '%' ? match_rawtag(L, k, "endraw", &mo, &mc) : 0;
            if (end) {
                size_t be = mo ? strip_back(L, body, k) : k;
                L->pos = end;
                L->lstrip_next = mc;
                if (be > body) {
                    make_text(L, t, body, be);
                    return 1;
                }
                return 0;
            }
            k++;
        }
    }
    if (c == '#') {
        size_t k = after;
        for (;;) {
            const char *h = k < L->len ? memchr(L->src + k, '#', L->len - k) : NULL;
            if (!h || (size_t)(h - L->src) + 1 >= L->len) {
                ast_fail(L->B, q, "Missing end of comment tag");
                return -1;
            }
            size_t j = (size_t)(h - L->src);
            if (L->src[j + 1] == '}') {
                L->lstrip_next = j > after && L->src[j - 1] == '-';
                L->pos = j + 2;
                return 0;
            }
            k = j + 1;
        }
    }
    memset(t, 0, sizeof *t);
    t->off = q;
    t->len = after - q;
    L->tag_open = q;
    L->B->tag_start = q;
    L->pos = after;
    L->nest = 0;
    if (c == '{') {
        t->code = TK_VAR_BEGIN;
        L->mode = MODE_VAR;
    } else {
        t->code = TK_BLOCK_BEGIN;
        L->mode = MODE_BLOCK;
        L->tag_first = true;
    }
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_utf8(char *o, size_t *k, uint32_t cp)
{
    *k += (size_t)utf8_encode(o + *k, cp);
}

/* String literal starting at L->pos (a quote).  Python escape rules. */
static int lex_string(Lexer *L, Tok *t)
{
    size_t b = L->pos;
    char qc = L->src[b];
    size_t p = b + 1;
    while (p < L->len && L->src[p] != qc) {
        if (L->src[p] == '\\')
            p++;
        p++;
    }
    if (p >= L->len) {
        /* Python's repr of the quote: "'" or '"' */
        ast_fail(L->B, b, qc == '\'' ? "unexpected char \"'\" at %zu" : "unexpected char '\"' at %zu", b);
        return -1;
    }
    const char *s = L->src + b + 1;
    size_t n = p - b - 1;
    char *o = arena_alloc(L->B->a, n * 2 + 1);   /* \uXXXX (6) -> at most 3 bytes; \r\n -> \n */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\r') {
            o[k++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
            continue;
        }
        if (c != '\\' || i + 1 >= n) {
            o[k++] = c;
            continue;
        }
        char e = s[++i];
        int digits = 0;
        switch (e) {
        case '\n': break;                          /* line continuation */
        case '\\': o[k++] = '\\'; break;
        case '\'': o[k++] = '\''; break;
        case '"': o[k++] = '"'; break;
        case 'a': o[k++] = '\a'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'v': o[k++] = '\v'; break;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default:
            if (e >= '0' && e <= '7') {
                uint32_t v = 0;
                int m = 0;
                while (m < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
                    v = v * 8 + (uint32_t)(s[i] - '0');
                    i++;
                    m++;
                }
                i--;
                put_utf8(o, &k, v);
            } else {
                o[k++] = '\\';
                o[k++] = e;
            }
        }
        if (digits) {
            uint32_t v = 0;
            for (int m = 0; m < digits; m++) {
                int h = i + 1 < n ? hexval(s[i + 1]) : -1;
                if (h < 0) {
                    ast_fail(L->B, b, "invalid \\%c escape in string literal", e);
                    return -1;
                }
                v = v * 16 + (uint32_t)h;
                i++;
            }
            if (v > 0x10ffff) {
                ast_fail(L->B, b, "invalid \\%c escape in string literal", e);
                return -1;
            }
            put_utf8(o, &k, v);
        }
    }
    o[k] = 0;
    memset(t, 0, sizeof *t);
    t->code = TK_STRING;
    t->off = b;
    t->len = p + 1 - b;
    t->s = o;
    t->slen = k;
    L->pos = p + 1;
    return 1;
}

static size_t digits_us(const Lexer *L, size_t p, int base)
{
    /* (digit+ _)* digit+ */
    size_t start = p;
    while (p < L->len) {
        char c = L->src[p];
        int v = hexval(c);
        if (v >= 0 && v < base) {
            p++;
        } else if (c == '_' && p > start && p + 1 < L->len && hexval(L->src[p + 1]) >= 0
                   && hexval(L->src[p + 1]) < base) {
            p++;
        } else {
            break;
        }
    }
    return p;
}

static int lex_number(Lexer *L, Tok *t)
{
    size_t b = L->pos, p = b;
    memset(t, 0, sizeof *t);
    char buf[128];
    size_t k = 0;
    if (L->src[p] == '0' && p + 2 <= L->len && p + 1 < L->len) {
        char x = L->src[p + 1];
        int base = (x == 'x' || x == 'X') ? 16 : (x == 'o' || x == 'O') ? 8 : (x == 'b' || x == 'B') ? 2 : 0;
        if (base) {
            size_t e = digits_us(L, p + 2, base);
            if (e > p + 2) {
                uint64_t v = 0;
                for (size_t i = p + 2; i < e; i++) {
                    if (L->src[i] == '_')
                        continue;
                    uint64_t nv = v * (uint64_t)base + (uint64_t)hexval(L->src[i]);
                    if (nv / (uint64_t)base != v || nv > INT64_MAX) {
                        ast_fail(L->B, b, "integer literal too large");
                        return -1;
                    }
                    v = nv;
                }
                t->code = TK_INT;
                t->i = (int64_t)v;
                t->off = b;
                t->len = e - b;
                L->pos = e;
                return 1;
            }
        }
    }
    size_t e = digits_us(L, p, 10);
    bool isfloat = false;
    if (e + 1 < L->len && L->src[e] == '.' && L->src[e + 1] >= '0' && L->src[e + 1] <= '9') {
        e = digits_us(L, e + 1, 10);
        isfloat = true;
    }
    if (e < L->len && (L->src[e] == 'e' || L->src[e] == 'E')) {
        size_t x = e + 1;
        if (x < L->len && (L->src[x] == '+' || L->src[x] == '-'))
            x++;
        if (x < L->len && L->src[x] >= '0' && L->src[x] <= '9') {
            e = digits_us(L, x, 10);
            isfloat = true;
        }
    }
    for (size_t i = b; i < e && k + 1 < sizeof buf; i++)
        if (L->src[i] != '_')
            buf[k++] = L->src[i];
    buf[k] = 0;
    t->off = b;
    t->len = e - b;
    L->pos = e;
    if (isfloat) {
        t->code = TK_FLOAT;
        t->f = strtod(buf, NULL);
    } else {
        uint64_t v = 0;
        for (size_t i = 0; i < k; i++) {
            uint64_t nv = v * 10 + (uint64_t)(buf[i] - '0');
            if (nv / 10 != v || nv > INT64_MAX) {
                ast_fail(L->B, b, "integer literal too large");
                return -1;
            }
            v = nv;
        }
        t->code = TK_INT;
        t->i = (int64_t)v;
    }
    return 1;
}

/* The operator token at s (rem > 0 bytes left) and its length, or 0.  Two-
 * character operators win over their one-character prefixes. */
static int op_code(const char *s, size_t rem, size_t *n)
{
    char c1 = rem >= 2 ? s[1] : '\0';
    *n = 1;
    switch (s[0]) {
    case '/': if (c1 == '/') { *n = 2; return TK_FLOORDIV; } return TK_DIV;
    case '*': if (c1 == '*') { *n = 2; return TK_POW; } return TK_MUL;
    case '=': if (c1 == '=') { *n = 2; return TK_EQ; } return TK_ASSIGN;
    case '!': if (c1 == '=') { *n = 2; return TK_NE; } return 0;
    case '<': if (c1 == '=') { *n = 2; return TK_LE; } return TK_LT;
    case '>': if (c1 == '=') { *n = 2; return TK_GE; } return TK_GT;
    case '+': return TK_PLUS;
    case '-': return TK_MINUS;
    case '%': return TK_MOD;
    case '~': return TK_TILDE;
    case '.': return TK_DOT;
    case ',': return TK_COMMA;
    case ':': return TK_COLON;
    case '|': return TK_PIPE;
    case '(': return TK_LP;
    case ')': return TK_RP;
    case '[': return TK_LB;
    case ']': return TK_RB;
    case '{': return TK_LBRACE;
    case '}': return TK_RBRACE;
    default: return 0;
    }
}

/* Inside {{ }} / {% %}. */
static int lex_tag(Lexer *L, Tok *t)
{
    size_t p = L->pos;
    while (p < L->len && is_tagws(L->src[p]))
        p++;
    L->pos = p;
    memset(t, 0, sizeof *t);
    t->off = p;
    if (p >= L->len) {
        ast_fail(L->B, L->tag_open, "unexpected end of template, expected '%s'",
                 L->mode == MODE_VAR ? "}}" : "%}");
        return -1;
    }
    const char *s = L->src + p;
    size_t rem = L->len - p;
    /* `}}` / `%}` end the tag unless a '{' is open (Jinja's balancing) */
    if (L->nest == 0 || L->brackets[L->nest - 1] != '{') {
        char c2 = L->mode == MODE_VAR ? '}' : '%';
        size_t n = 0;
        bool minus = false;
        if (rem >= 3 && (s[0] == '-' || (s[0] == '+' && L->mode == MODE_BLOCK)) && s[1] == c2 && s[2] == '}') {
            n = 3;
            minus = s[0] == '-';
        } else if (rem >= 2 && s[0] == c2 && s[1] == '}') {
            n = 2;
        }
        if (n) {
            t->code = L->mode == MODE_VAR ? TK_VAR_END : TK_BLOCK_END;
            t->len = n;
            L->pos = p + n;
            L->lstrip_next = minus;
            L->mode = MODE_TEXT;
            L->B->tag_end = p + n;
            return 1;
        }
    }
    char c = s[0];
    if (is_ident_start(c)) {
        size_t e = p;
        while (e < L->len && is_ident(L->src[e]))
            e++;
        t->code = TK_NAME;
        t->s = s;
        t->slen = e - p;
        t->len = e - p;
        L->pos = e;
        bool first = L->tag_first;
        L->tag_first = false;
        if (L->prev == TK_DOT)
            return 1;
        const Keyword *k = kw_find(s, t->slen);
        if (k && !(k->where == TAG && !first) &&
            !(first && k->where == EXPR && k->code != TK_IF && k->code != TK_ELSE)) {
            t->code = k->code;
            return 1;
        }
        if (first) {
            ast_fail(L->B, p, "Encountered unknown tag '%.*s'.", (int)t->slen, s);
            return -1;
        }
        return 1;
    }
    if (L->tag_first) {
        ast_fail(L->B, p, "tag name expected");
        return -1;
    }
    if (c == '\'' || c == '"')
        return lex_string(L, t);
    if (c >= '0' && c <= '9')
        return lex_number(L, t);
    size_t n;
    int code = op_code(s, rem, &n);
    if (code) {
        t->code = code;
        t->len = n;
        L->pos = p + n;
        if (code == TK_LP || code == TK_LB || code == TK_LBRACE) {
            if (L->nest >= TPL_MAX_NESTING) {
                ast_fail(L->B, p, "expression nested too deeply (limit %d)", TPL_MAX_NESTING);
                return -1;
            }
            L->brackets[L->nest++] = s[0];
        } else if (code == TK_RP || code == TK_RB || code == TK_RBRACE) {
            if (L->nest > 0)
                L->nest--;
        }
        return 1;
    }
    if (c == '\\')
        ast_fail(L->B, p, "unexpected char '\\\\' at %zu", p);
    else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
        ast_fail(L->B, p, "unexpected char '%c' at %zu", c, p);
    else
        ast_fail(L->B, p, "unexpected char '\\x%02x' at %zu", (unsigned char)c, p);
    return -1;
}

int lex_next(Lexer *L, Tok *t)
{
    for (;;) {
        int r;
        if (L->mode == MODE_EOF) {
            memset(t, 0, sizeof *t);
            t->off = L->len;
            return 0;
        }
        if (L->mode == MODE_TEXT)
            r = lex_text(L, t);
        else
            r = lex_tag(L, t);
        if (r < 0)
            return -1;
        if (r > 0) {
            L->prev = t->code;
            return 0;
        }
    }
}
