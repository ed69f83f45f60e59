/* journal.c - see journal.h. */
#include "journal.h"

#include <stdbool.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "fs.h"
#include "sb.h"
#include "strmap.h"

static struct {
    bool on, output, volatile_, paused;
    char *cwd;
    StrMap paths, envs;          /* keys are the entries; values unused */
    Arena stats;                 /* the stat copies of paths */
} J;

void journal_start(void)
{
    journal_stop();
    J.on = true;
    char buf[4096];
    J.cwd = xstrdup(getcwd(buf, sizeof buf) ? buf : "/");
    strmap_init(&J.paths);
    strmap_init(&J.envs);
    arena_init(&J.stats, 0);
}

#define NO_STAT ((void *)1)      /* the value of a path without a stat */

void journal_stop(void)
{
    if (!J.cwd)
        return;
    strmap_free(&J.paths);
    arena_free(&J.stats);
    strmap_free(&J.envs);
    free(J.cwd);
    memset(&J, 0, sizeof J);
}

bool journal_active(void) { return J.on; }
void journal_pause(bool paused) { J.paused = paused; }
bool journal_paused(void) { return J.paused; }

static void record(const char *path, const struct stat *st)
{
    if (!J.on || J.paused || !path || !*path)
        return;
    char buf[1024];              /* most absolute paths fit: no malloc */
    Sb abs = {.buf = buf, .cap = sizeof buf};
    bool heap = false;
    const char *k = path;
    size_t n;
    if (path[0] == '/') {
        n = strlen(path);
    } else {
        const char *rel = path[0] == '.' && path[1] == '/' ? path + 2 : path;
        size_t lc = strlen(J.cwd), lr = strcmp(path, ".") != 0 ? strlen(rel) : 0;
        if (lc + 1 + lr + 1 > sizeof buf) {
            abs = (Sb)SB_INIT;
            heap = true;
        }
        sb_append(&abs, J.cwd, lc);
        if (lr) {
            sb_putc(&abs, '/');
            sb_append(&abs, rel, lr);
        }
        k = abs.buf;
        n = abs.len;
    }
    void *v = strmap_get(&J.paths, k, n);
    if (!v || (st && v == NO_STAT)) {
        void *nv = NO_STAT;
        if (st) {
            nv = arena_alloc(&J.stats, sizeof(FsStamp));
            fs_stamp(nv, st);
        }
        strmap_put(&J.paths, k, n, nv);
    }
    if (heap)
        sb_free(&abs);
}

void journal_path(const char *path) { record(path, NULL); }
void journal_path_stat(const char *path, const struct stat *st) { record(path, st); }

void journal_env(const char *name)
{
    if (J.on && name && !strmap_getz(&J.envs, name))
        strmap_putz(&J.envs, name, (void *)1);
}

void journal_output(void)
{
    if (J.on)
        J.output = true;
}

/* The words, told apart by their first two letters. */
static int word_at(const char *p, const char *end)
{
    static const struct { const char *w; size_t n; int bit; } words[] = {
        {"invocation_id", 13, JOURNAL_VOLATILE}, {"run_started_at", 14, JOURNAL_VOLATILE},
        {"modules", 7, JOURNAL_VOLATILE}, {"flags", 5, JOURNAL_FLAGS},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (p[0] == words[i].w[0] && (size_t)(end - p) >= words[i].n && memcmp(p, words[i].w, words[i].n) == 0)
            return words[i].bit;
    return 0;
}

static bool pair_start(const char *p)
{
    return (p[0] == 'i' && p[1] == 'n') || (p[0] == 'r' && p[1] == 'u') || (p[0] == 'm' && p[1] == 'o') ||
           (p[0] == 'f' && p[1] == 'l');
}

/* One pass over the text (callers scan every model's code; a memmem per
 * word went over it four times): sixteen positions at a time are checked
 * for the words' first two letters ("in", "ru", "mo", "fl", rare in SQL),
 * and only those are compared. */
int journal_text_scan(const char *text, size_t n)
{
    if (!text || n < 2)
        return 0;
    int r = 0;
    const char *p = text, *end = text + n;
#ifdef __SSE2__
    const __m128i ci = _mm_set1_epi8('i'), cn = _mm_set1_epi8('n'), cr = _mm_set1_epi8('r'),
                  cu = _mm_set1_epi8('u'), cm = _mm_set1_epi8('m'), co = _mm_set1_epi8('o'),
                  cf = _mm_set1_epi8('f'), cl = _mm_set1_epi8('l');
    for (; end - p >= 17; p += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 1));
        __m128i m = _mm_or_si128(
            _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(a, ci), _mm_cmpeq_epi8(b, cn)),
                         _mm_and_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(b, cu))),
            _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(a, cm), _mm_cmpeq_epi8(b, co)),
                         _mm_and_si128(_mm_cmpeq_epi8(a, cf), _mm_cmpeq_epi8(b, cl))));
        for (unsigned mask = (unsigned)_mm_movemask_epi8(m); mask; mask &= mask - 1) {
            r |= word_at(p + __builtin_ctz(mask), end);
            if (r == (JOURNAL_VOLATILE | JOURNAL_FLAGS))
                return r;
        }
    }
#endif
    for (; end - p >= 2; p++)
        if (pair_start(p))
            r |= word_at(p, end);
    return r;
}

bool journal_text_volatile(const char *text, size_t n)
{
    return journal_text_scan(text, n) & JOURNAL_VOLATILE;
}

void journal_content(const char *text, size_t n)
{
    if (J.on && !J.paused && !J.volatile_ && journal_text_volatile(text, n))
        J.volatile_ = true;
}

bool journal_volatile(void) { return J.volatile_; }

size_t journal_npaths(void) { return J.on ? J.paths.len : 0; }
const char *journal_path_at(size_t i) { return J.paths.entries[i].key; }
const FsStamp *journal_path_stat_at(size_t i)
{
    void *v = J.paths.entries[i].val;
    return v == NO_STAT ? NULL : v;
}
bool journal_stat_of(const char *path, FsStamp *st)
{
    void *v = J.on ? strmap_getz(&J.paths, path) : NULL;
    if (!v || v == NO_STAT)
        return false;
    *st = *(const FsStamp *)v;
    return true;
}

size_t journal_nenv(void) { return J.on ? J.envs.len : 0; }
const char *journal_env_at(size_t i) { return J.envs.entries[i].key; }
bool journal_had_output(void) { return J.output; }
