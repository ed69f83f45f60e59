/* arena.h - region allocator with named lifetimes (project, node render, row).
 *
 * Everything allocated from an Arena is released at once by arena_reset() or
 * arena_free(); there is no per-object free.  With -DCDBT_DEBUG_ARENA every
 * allocation is a separate malloc block (kept on a list) so ASan/valgrind see
 * each one.  Out-of-memory aborts the process with a message (allocation
 * failure is not a recoverable condition for a compiler). */
#ifndef CDBT_ARENA_H
#define CDBT_ARENA_H
#include <stdbool.h>
#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;       /* current block (singly linked to older ones) */
    size_t block_size;      /* default size of new blocks */
    size_t total;           /* bytes handed out, for statistics */
    bool huge;              /* every block a huge-page mapping (arena_init_huge) */
} Arena;

/* Initialise an arena; block_size 0 selects 64 KiB. */
void  arena_init(Arena *a, size_t block_size);
/* An arena known to grow to megabytes: its blocks are 2 MiB huge-page
 * mappings from the first (see arena.c), not malloc'ed.  For an arena a
 * thread fills: its blocks then come from no thread's malloc heap. */
void  arena_init_huge(Arena *a);
/* Heap-allocate and initialise an arena; free with arena_destroy(). */
Arena *arena_new(size_t block_size);
void  arena_destroy(Arena *a);
/* Release every block (the Arena struct itself is kept reusable). */
void  arena_free(Arena *a);
/* Forget all allocations but keep the first block for reuse. */
void  arena_reset(Arena *a);
/* Move every block of src into dst (src ends empty): what was allocated
 * from src now lives as long as dst.  Lets a thread fill an arena of its
 * own that the owner of dst takes over once the thread is joined. */
void  arena_adopt(Arena *dst, Arena *src);
/* Was p handed out by a (and not released since)?  A walk of a's blocks:
 * meant for arenas of a few blocks (a render's), not the project's. */
bool  arena_owns(const Arena *a, const void *p);
/* 16-byte aligned, uninitialised / zeroed memory.  Never returns NULL. */
void *arena_alloc(Arena *a, size_t n);
void *arena_zalloc(Arena *a, size_t n);
/* Grow an allocation made from this arena (copies; old memory is not reused). */
void *arena_realloc(Arena *a, void *old, size_t oldn, size_t newn);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);   /* NUL-terminated copy */
char *arena_sprintf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ARENA_NEW(a, T)      ((T *)arena_zalloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_zalloc((a), sizeof(T) * (size_t)(n)))

/* malloc/realloc/strdup that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#endif
