/* vec.h - type-generic growable arrays on the C heap (macros).
 *
 *   VEC(int) v = {0};  vec_push(&v, 3);  v.items[0];  vec_free(&v);
 * Allocation failure aborts (xrealloc). */
#ifndef CDBT_VEC_H
#define CDBT_VEC_H
#include <stddef.h>
#include "arena.h"

#define VEC(T) struct { T *items; size_t len, cap; }
#define vec_grow(v, need) do { \
        if ((need) > (v)->cap) { \
            size_t nc_ = (v)->cap ? (v)->cap * 2 : 8; \
            while (nc_ < (need)) nc_ *= 2; \
            (v)->items = xrealloc((v)->items, nc_ * sizeof(*(v)->items)); \
            (v)->cap = nc_; \
        } } while (0)
#define vec_push(v, x) do { vec_grow((v), (v)->len + 1); (v)->items[(v)->len++] = (x); } while (0)
#define vec_pop(v) ((v)->items[--(v)->len])
#define vec_last(v) ((v)->items[(v)->len - 1])
#define vec_free(v) do { free((v)->items); (v)->items = NULL; (v)->len = (v)->cap = 0; } while (0)
#endif
