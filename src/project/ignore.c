/* ignore.c - .dbtignore (§1.7): files of the project that discovery skips.
 *
 * gitignore's syntax, as dbt reads it (pathspec's gitwildmatch) from the
 * project root: blank lines and `#` comments are skipped, trailing spaces
 * dropped unless escaped with `\`; `!` re-includes; a trailing `/` matches
 * directories only; a pattern with a `/` elsewhere is anchored at the root
 * (a leading `/` only anchors), one without matches a name at any depth;
 * `*` and `?` do not match `/`, `[...]` is a class (`!` or `^` negates),
 * `**` matches across directories (`**` + `/` zero or more of them, a
 * trailing `/` + `**` everything inside).  The last pattern that matches
 * decides, and a file whose directory is excluded stays excluded whatever
 * later patterns say about the file (git's rule). */
#include <stdlib.h>
#include <string.h>
#include "projpriv.h"
#include "../base/fs.h"
#include "../base/journal.h"

typedef struct IgPat {
    const char *glob;            /* without the leading '!' or '/' and the trailing '/' */
    bool negate, dir_only, anchored;
} IgPat;

struct DbtIgnore {
    IgPat *v;
    int n;
};

/* [...] at p (p[0] == '['): does c match?  *end: after the ']'.  false
 * with *end = NULL when the class is not closed (then '[' is literal). */
static bool class_match(const char *p, char c, const char **end)
{
    const char *q = p + 1;
    bool neg = *q == '!' || *q == '^';
    if (neg)
        q++;
    bool hit = false, first = true;
    for (; *q && (first || *q != ']'); first = false) {
        char lo = *q;
        if (lo == '\\' && q[1])
            lo = *++q;
        q++;
        char hi = lo;
        if (q[0] == '-' && q[1] && q[1] != ']') {
            hi = q[1];
            if (hi == '\\' && q[2])
                hi = q[2], q++;
            q += 2;
        }
        if (c >= lo && c <= hi)
            hit = true;
    }
    if (*q != ']') {
        *end = NULL;
        return false;
    }
    *end = q + 1;
    return c != '/' && hit != neg;
}

/* Matching with backtracking over `*` and `**` is exponential in the
 * number of stars for some pattern/path pairs (`*a*a*a*a*b` against a long
 * run of a's); pairs (pattern position, path position) already known not to
 * match are remembered once a match has taken many steps, which bounds the
 * work by their number. */
typedef struct GM {
    const char *p0, *s0;
    size_t np, ns;
    unsigned long steps;
    unsigned char *failed;       /* (np + 1) * (ns + 1) bits, or NULL */
} GM;

#define GM_MEMO_AFTER 4096

static bool gmatch_at(GM *g, const char *p, const char *s);

static bool gmatch(GM *g, const char *p, const char *s)
{
    size_t bit = 0;
    if (++g->steps > GM_MEMO_AFTER && !g->failed) {
        size_t nbits = (g->np + 1) * (g->ns + 1);
        g->failed = calloc(nbits / 8 + 1, 1);
    }
    if (g->failed) {
        bit = (size_t)(p - g->p0) * (g->ns + 1) + (size_t)(s - g->s0);
        if (g->failed[bit / 8] & (1u << (bit % 8)))
            return false;
    }
    bool m = gmatch_at(g, p, s);
    if (!m && g->failed)
        g->failed[bit / 8] |= (unsigned char)(1u << (bit % 8));
    return m;
}

/* Does glob p match all of s? */
static bool gmatch_at(GM *g, const char *p, const char *s)
{
    while (*p) {
        if (p[0] == '*' && p[1] == '*') {
            const char *q = p + 2;
            while (*q == '*')
                q++;
            if (*q == '/') {         /* zero or more directories */
                q++;
                if (gmatch(g, q, s))
                    return true;
                for (const char *t = s; *t; t++)
                    if (*t == '/' && gmatch(g, q, t + 1))
                        return true;
                return false;
            }
            for (const char *t = s;; t++) {
                if (gmatch(g, q, t))
                    return true;
                if (!*t)
                    return false;
            }
        }
        if (*p == '*') {
            p++;
            for (const char *t = s;; t++) {
                if (gmatch(g, p, t))
                    return true;
                if (!*t || *t == '/')
                    return false;
            }
        }
        if (!*s)
            return false;
        if (*p == '?') {
            if (*s == '/')
                return false;
            p++;
            s++;
            continue;
        }
        if (*p == '[') {
            const char *end;
            bool m = class_match(p, *s, &end);
            if (end) {
                if (!m)
                    return false;
                p = end;
                s++;
                continue;
            }
        }
        if (*p == '\\' && p[1])
            p++;
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return !*s;
}

static bool glob_match(const char *pat, const char *str)
{
    GM g = {pat, str, strlen(pat), strlen(str), 0, NULL};
    bool m = gmatch(&g, pat, str);
    free(g.failed);
    return m;
}

/* The last pattern's verdict on path (relative to the root): 1 excluded,
 * 0 re-included, -1 no pattern matches. */
static int verdict(const DbtIgnore *ig, const char *path, bool is_dir)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int v = -1;
    for (int i = 0; i < ig->n; i++) {
        const IgPat *pt = &ig->v[i];
        if (pt->dir_only && !is_dir)
            continue;
        if (glob_match(pt->glob, pt->anchored ? path : base))
            v = pt->negate ? 0 : 1;
    }
    return v;
}

bool pl_ignored(const DbtIgnore *ig, const char *path)
{
    if (!ig || !ig->n || !path)
        return false;
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return false;
    memcpy(buf, path, n + 1);
    /* each directory on the way first: an excluded one excludes the rest */
    for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        int v = verdict(ig, buf, true);
        *s = '/';
        if (v == 1)
            return true;
    }
    return verdict(ig, buf, false) == 1;
}

DbtIgnore *pl_ignore_load(Loader *L)
{
    const char *path = arena_sprintf(L->a, "%s/.dbtignore", L->pkg->root);
    char *text = NULL;
    size_t len = 0;
    if (!fs_is_file(path)) {
        journal_path(path);      /* looked for: creating it changes the project */
        return NULL;
    }
    if (fs_read_file(path, &text, &len) != 0)
        return NULL;
    DbtIgnore *ig = pl_ignore_parse(L->a, text, len);
    free(text);
    return ig;
}

DbtIgnore *pl_ignore_parse(Arena *a, const char *text, size_t len)
{
    DbtIgnore *ig = ARENA_NEW(a, DbtIgnore);
    int cap = 0;
    const char *end = text + len;
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
        char *s = arena_strndup(a, line, ll);
        line = nl ? nl + 1 : end;
        s[strnlen(s, ll)] = '\0';   /* a NUL inside the line ends it */
        size_t k = strlen(s);
        if (k && s[k - 1] == '\r')
            s[--k] = '\0';
        /* trailing spaces, unless the last is escaped */
        while (k && s[k - 1] == ' ' && !(k >= 2 && s[k - 2] == '\\'))
            s[--k] = '\0';
        if (!k || s[0] == '#')
            continue;
        IgPat pt = {0};
        if (s[0] == '!') {
            pt.negate = true;
            s++;
            k--;
        } else if (s[0] == '\\' && (s[1] == '!' || s[1] == '#')) {
            s++;
            k--;
        }
        if (k && s[k - 1] == '/') {
            pt.dir_only = true;
            s[--k] = '\0';
        }
        if (s[0] == '/') {
            pt.anchored = true;
            s++;
            k--;
        }
        if (!k)
            continue;
        if (strchr(s, '/'))
            pt.anchored = true;
        pt.glob = s;
        if (ig->n == cap) {
            cap = cap ? cap * 2 : 16;
            IgPat *nv = ARENA_ARRAY(a, IgPat, cap);
            if (ig->n)
                memcpy(nv, ig->v, sizeof *nv * (size_t)ig->n);
            ig->v = nv;
        }
        ig->v[ig->n++] = pt;
    }
    return ig;
}
