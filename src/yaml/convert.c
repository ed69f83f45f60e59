/* convert.c - YNode trees -> Values, and small tree accessors.
 *
 * Owns: ynode_to_value (maps -> V_DICT keyed by the keys' resolved scalar
 * values, seqs -> V_LIST; a node reachable from several parents is
 * converted once and the Value shared, as PyYAML shares the object, so an
 * alias bomb stays as small as its text), ynode_get/ynode_str/
 * ynode_kind_name, and yaml_load_value for strings such as --vars.
 * Parsing is load.c's; scalar values were already resolved there. */
#include "ypriv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Pointer-keyed memo of shared containers (heap, grown on demand). */
typedef struct Memo {
    const YNode **keys;
    Value *vals;
    size_t n, cap;
} Memo;

static size_t ptr_hash(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h;
}

static Value *memo_find(Memo *m, const YNode *n)
{
    if (!m->cap)
        return NULL;
    for (size_t i = ptr_hash(n) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == n)
            return &m->vals[i];
    return NULL;
}

static void memo_put(Memo *m, const YNode *n, Value v);

static void memo_grow(Memo *m)
{
    Memo old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->n = 0;
    m->keys = xcalloc(m->cap, sizeof *m->keys);
    m->vals = xmalloc(m->cap * sizeof *m->vals);
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            memo_put(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

static void memo_put(Memo *m, const YNode *n, Value v)
{
    if ((m->n + 1) * 2 > m->cap)
        memo_grow(m);
    size_t i = ptr_hash(n) & (m->cap - 1);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = n;
    m->vals[i] = v;
    m->n++;
}

/* depth: the loader already bounds every path (aliases included) by
 * YAML_MAX_DEPTH; the check here guards hand-built trees. */
static Value conv(Arena *a, const YNode *n, Memo *memo, int depth)
{
    if (!n || depth > YAML_MAX_DEPTH)
        return v_none();
    if (n->kind == YN_SCALAR)
        return n->value;
    if (n->shared) {
        Value *hit = memo_find(memo, n);
        if (hit)
            return *hit;
    }
    Value out;
    if (n->kind == YN_SEQ) {
        out = v_list(a, n->n);
        if (n->shared)
            memo_put(memo, n, out);
        for (size_t i = 0; i < n->n; i++)
            list_append(a, out.u.l, conv(a, n->items[i], memo, depth + 1));
    } else {
        out = v_dict(a);
        if (n->shared)
            memo_put(memo, n, out);
        for (size_t i = 0; i < n->n; i++)
            dict_set(a, out.u.d, n->keys[i]->value, conv(a, n->items[i], memo, depth + 1));
    }
    return out;
}

Value ynode_to_value(Arena *a, const YNode *n)
{
    Memo memo = { 0 };
    Value v = conv(a, n, &memo, 0);
    free(memo.keys);
    free(memo.vals);
    return v;
}

YNode *ynode_get(const YNode *map, const char *key)
{
    if (!map || map->kind != YN_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        const YNode *k = map->keys[i];
        if (k->value.type == V_STR && k->value.u.s->len == kl && memcmp(k->value.u.s->s, key, kl) == 0)
            return map->items[i];
    }
    return NULL;
}

const char *ynode_str(const YNode *n)
{
    return n && n->kind == YN_SCALAR ? value_cstr(n->value) : NULL;
}

const char *ynode_kind_name(const YNode *n)
{
    if (!n)
        return "null";
    if (n->kind == YN_MAP)
        return "mapping";
    if (n->kind == YN_SEQ)
        return "sequence";
    switch (n->value.type) {
    case V_NONE:  return "null";
    case V_BOOL:  return "boolean";
    case V_INT:   return "integer";
    case V_FLOAT: return "float";
    case V_STR:   return "string";
    case V_OBJ:   return n->value.u.o->cls->name;     /* "date" / "datetime" */
    default:      return "scalar";
    }
}

const char *yaml_value_kind(Value v)
{
    switch (v.type) {
    case V_NONE: return "null";
    case V_BOOL: return "boolean";
    case V_INT: return "integer";
    case V_FLOAT: return "float";
    case V_STR: return "string";
    case V_LIST: case V_TUPLE: return "list";
    case V_DICT: return "mapping";
    default: return value_type_name(v);
    }
}

int yaml_load_value(Arena *a, const char *what, const char *text, size_t len, Value *out, Diag *err)
{
    YNode *root;
    if (yaml_load(a, what, text, len, &root, err))
        return -1;
    *out = ynode_to_value(a, root);
    return 0;
}
