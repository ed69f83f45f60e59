/* dbt_ephemeral.c - placing ephemeral CTEs into compiled SQL (§5).
 *
 * Owns the text surgery only: find the first top-level WITH (or WITH
 * RECURSIVE) of the first statement with a small SQL tokenizer that skips
 * parenthesised groups, strings, quoted identifiers, dollar quotes and
 * comments, and splice the CTE list in exactly where dbt's sqlparse-based
 * code does.  Which CTEs, in which order, is decided by dbt_compile.c. */
#include <ctype.h>
#include <string.h>
#include "dbtpriv.h"

typedef struct Tok {
    size_t start, end;
    bool word, ws, semicolon;
} Tok;

/* Next token at top level starting at *pos; parenthesised groups are one token. */
static bool next_tok(const char *s, size_t n, size_t *pos, Tok *t)
{
    size_t i = *pos;
    if (i >= n)
        return false;
    memset(t, 0, sizeof *t);
    t->start = i;
    unsigned char c = (unsigned char)s[i];
    if (isspace(c)) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        t->ws = true;
    } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
        while (i < n && s[i] != '\n')
            i++;
        if (i < n)
            i++;                 /* sqlparse keeps the newline in the comment token */
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
        i += 2;
        while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
            i++;
        i = i + 2 <= n ? i + 2 : n;
    } else if (c == '\'' || c == '"') {
        i++;
        while (i < n) {
            if (s[i] == (char)c) {
                if (i + 1 < n && s[i + 1] == (char)c) {
                    i += 2;
                    continue;
                }
                i++;
                break;
            }
            if (c == '\'' && s[i] == '\\' && i + 1 < n)
                i++;
            i++;
        }
    } else if (c == '$') {
        /* $tag$ ... $tag$ */
        size_t j = i + 1;
        while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_'))
            j++;
        if (j < n && s[j] == '$') {
            size_t taglen = j + 1 - i;
            size_t k = j + 1;
            while (k + taglen <= n && memcmp(s + k, s + i, taglen) != 0)
                k++;
            i = k + taglen <= n ? k + taglen : n;
        } else {
            i = j > i + 1 ? j : i + 1;
        }
    } else if (c == '(') {
        /* one group: skip to the matching ')' honouring nested tokens */
        int depth = 0;
        while (i < n) {
            Tok in;
            size_t p = i;
            if (s[p] == '(') {
                depth++;
                i++;
                continue;
            }
            if (s[p] == ')') {
                depth--;
                i++;
                if (depth == 0)
                    break;
                continue;
            }
            if (!next_tok(s, n, &p, &in))
                break;
            i = p;
        }
    } else if (isalpha(c) || c == '_' || c >= 0x80) {
        while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' ||
                         (unsigned char)s[i] >= 0x80))
            i++;
        t->word = true;
    } else {
        t->semicolon = c == ';';
        i++;
    }
    t->end = i;
    *pos = i;
    return true;
}

static bool tok_is(const char *s, const Tok *t, const char *kw)
{
    size_t len = strlen(kw);
    if (!t->word || t->end - t->start != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (tolower((unsigned char)s[t->start + i]) != kw[i])
            return false;
    return true;
}

void dbt_inject_ctes(const char *sql, size_t n, const char *ctes, size_t cn, Sb *out)
{
    size_t pos = 0, with_end = 0, first = n;
    bool found = false, have_first = false;
    Tok t;
    while (next_tok(sql, n, &pos, &t)) {
        if (!t.ws && !have_first) {
            first = t.start;
            have_first = true;
        }
        if (t.semicolon && !found)
            break;
        if (tok_is(sql, &t, "with")) {
            with_end = t.end;
            found = true;
        } else if (found && tok_is(sql, &t, "recursive")) {
            with_end = t.end;
            break;
        } else if (found && !t.ws) {
            break;
        }
    }
    if (!found) {
        sb_append(out, sql, first);
        sb_puts(out, "with");
        sb_append(out, ctes, cn);
        sb_append(out, sql + first, n - first);
        return;
    }
    /* insertion point: the first non-whitespace token after the keyword */
    size_t ip = with_end;
    while (ip < n && isspace((unsigned char)sql[ip]))
        ip++;
    sb_append(out, sql, ip);
    sb_append(out, ctes, cn);
    sb_putc(out, ',');
    sb_append(out, sql + ip, n - ip);
}
