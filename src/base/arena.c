/* arena.c - region allocator and the aborting malloc wrappers.
 *
 * Owns: block management (bump allocation over malloc'd blocks, 16-byte
 * alignment, oversized requests in their own block) and x* helpers.  In
 * CDBT_DEBUG_ARENA builds every allocation is its own malloc block so that
 * sanitizers see overflows.  Lifetimes (which arena a thing belongs to) are
 * the caller's business. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_ALIGN 16u
#define ARENA_DEFAULT_BLOCK (64u * 1024u)
/* An arena that has handed out HUGE_AFTER bytes takes its further blocks
 * HUGE_BLOCK at a time from mmap(), aligned and marked MADV_HUGEPAGE: a big
 * arena (the project's: ~60% of a 10k-model compile's page faults, first
 * touches in arena_zalloc) then faults once per 2 MiB instead of once per
 * 4 KiB page.  Small arenas (per render, per file) never get there. */
#define HUGE_AFTER (8u << 20)
#define HUGE_BLOCK (2u << 20)

struct ArenaBlock {
    ArenaBlock *next;                /* older block */
    size_t size;                     /* usable bytes in data[] */
    size_t used;
    size_t mapped;                   /* mmap()ed length (0: malloc'ed) */
    _Alignas(16) unsigned char data[];
};

static void oom(void)
{
    fputs("cdbt: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_init(Arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
    a->total = 0;
    a->huge = false;
}

void arena_init_huge(Arena *a)
{
    arena_init(a, 0);
    a->huge = true;
}

Arena *arena_new(size_t block_size)
{
    Arena *a = xmalloc(sizeof *a);
    arena_init(a, block_size);
    return a;
}

void arena_destroy(Arena *a)
{
    if (!a)
        return;
    arena_free(a);
    free(a);
}

static void block_free(ArenaBlock *b)
{
    if (b->mapped)
        munmap(b, b->mapped);
    else
        free(b);
}

void arena_free(Arena *a)
{
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        block_free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void arena_adopt(Arena *dst, Arena *src)
{
    ArenaBlock *first = src->head;
    if (!first)
        return;
    ArenaBlock *last = first;
    while (last->next)
        last = last->next;
    /* Behind dst's current block, like an oversized request: that block
     * keeps serving small allocations. */
    if (dst->head) {
        last->next = dst->head->next;
        dst->head->next = first;
    } else {
        dst->head = first;
    }
    dst->total += src->total;
    src->head = NULL;
    src->total = 0;
}

bool arena_owns(const Arena *a, const void *p)
{
    uintptr_t q = (uintptr_t)p;
    for (const ArenaBlock *b = a->head; b; b = b->next)
        if (q >= (uintptr_t)b->data && q - (uintptr_t)b->data < b->used)
            return true;
    return false;
}

static ArenaBlock *block_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(ArenaBlock))
        oom();
    ArenaBlock *b = xmalloc(sizeof(ArenaBlock) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    b->mapped = 0;
    return b;
}

#ifndef CDBT_DEBUG_ARENA
/* A HUGE_BLOCK-aligned mapping of HUGE_BLOCK bytes advised for huge pages,
 * or a malloc'ed block of the same size where that cannot be had. */
static ArenaBlock *block_new_huge(void)
{
#ifdef MADV_HUGEPAGE
    size_t len = HUGE_BLOCK;
    unsigned char *m = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
        uintptr_t start = ((uintptr_t)m + len - 1) & ~(uintptr_t)(len - 1);
        unsigned char *s = (unsigned char *)start;
        if (s > m)
            munmap(m, (size_t)(s - m));
        if (s + len < m + 2 * len)
            munmap(s + len, (size_t)(m + 2 * len - (s + len)));
        madvise(s, len, MADV_HUGEPAGE);      /* advice only: fine if refused */
        ArenaBlock *b = (ArenaBlock *)s;
        b->next = NULL;
        b->size = len - sizeof(ArenaBlock);
        b->used = 0;
        b->mapped = len;
        return b;
    }
#endif
    return block_new(HUGE_BLOCK - sizeof(ArenaBlock));
}
#endif

#ifdef CDBT_DEBUG_ARENA

void arena_reset(Arena *a)
{
    arena_free(a);
}

void *arena_alloc(Arena *a, size_t n)
{
    ArenaBlock *b = block_new(n);
    b->used = n;
    b->next = a->head;
    a->head = b;
    a->total += n;
    return b->data;
}

#else

void arena_reset(Arena *a)
{
    /* Keep the oldest block (the first one allocated) and drop the rest. */
    ArenaBlock *b = a->head, *first = NULL;
    while (b) {
        ArenaBlock *next = b->next;
        if (!next)
            first = b;
        else
            block_free(b);
        b = next;
    }
    if (first)
        first->used = 0;
    a->head = first;
    a->total = 0;
}

void *arena_alloc(Arena *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN)
        oom();
    size_t need = (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    ArenaBlock *b = a->head;
    if (b && b->size - b->used >= need) {
        void *p = b->data + b->used;
        b->used += need;
        a->total += n;
        return p;
    }
    if (need > a->block_size / 4) {
        /* Oversized: a private block linked behind the current one, so the
         * current block keeps serving small requests. */
        ArenaBlock *big = block_new(need);
        big->used = need;
        if (b) {
            big->next = b->next;
            b->next = big;
        } else {
            a->head = big;
        }
        a->total += n;
        return big->data;
    }
    ArenaBlock *nb = (a->huge || a->total >= HUGE_AFTER) && a->block_size < HUGE_BLOCK ? block_new_huge() : block_new(a->block_size);
    nb->next = b;
    a->head = nb;
    nb->used = need;
    a->total += n;
    return nb->data;
}

#endif

void *arena_zalloc(Arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *arena_realloc(Arena *a, void *old, size_t oldn, size_t newn)
{
#ifndef CDBT_DEBUG_ARENA
    /* The most recent allocation of the current block can grow in place. */
    ArenaBlock *b = a->head;
    if (old && b && newn >= oldn && newn <= SIZE_MAX - ARENA_ALIGN) {
        size_t oldneed = (oldn + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
        size_t newneed = (newn + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
        if (oldneed == 0)
            oldneed = ARENA_ALIGN;
        unsigned char *o = old;
        if (o >= b->data && o + oldneed == b->data + b->used &&
            (size_t)(o - b->data) + newneed <= b->size) {
            b->used = (size_t)(o - b->data) + newneed;
            a->total += newn - oldn;
            return old;
        }
    }
#endif
    void *p = arena_alloc(a, newn);
    if (old && oldn)
        memcpy(p, old, oldn < newn ? oldn : newn);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_sprintf(Arena *a, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof small) {
        memcpy(p, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return p;
}
