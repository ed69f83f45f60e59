/* yaml.h - YAML loading as PyYAML's SafeLoader does it (YAML 1.1 implicit
 * typing), on libyaml events, into a tree that keeps source marks.
 *
 * Scalars are resolved like PyYAML: null (~, null, Null, NULL, empty), bool
 * (yes/no/true/false/on/off in lower, Capitalised or UPPER case), int
 * (decimal with sign and '_', 0b, 0x, leading-0 octal, base-60 "1:30"), float
 * (needs a '.'; exponent needs a sign; .inf/-.inf/.nan variants), timestamp
 * (date -> v_date, datetime -> v_datetime), anything else a string.  Quoted
 * scalars and explicit !!str are always strings.  Anchors/aliases and merge
 * keys (<<) are supported; duplicate keys: last wins.  Only the first
 * document of a stream is loaded.  Nesting is limited to YAML_MAX_DEPTH.
 *
 * Errors: libyaml's problem with file:line:col, the offending line and a caret.
 * Everything is allocated in the arena given to yaml_load() (or in the two
 * given to yaml_load_split()). */
#ifndef CDBT_YAML_H
#define CDBT_YAML_H
#include <stdbool.h>
#include <stddef.h>
#include "../base/arena.h"
#include "../base/diag.h"
#include "../value/value.h"

#define YAML_MAX_DEPTH 200

typedef enum { YN_SCALAR, YN_SEQ, YN_MAP } YNodeKind;

typedef struct YNode {      /* fields ordered so that a node takes 80 bytes */
    /* scalars */
    Value value;              /* resolved value (V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, date objects) */
    const char *text;         /* raw scalar text (NUL-terminated, arena) */
    size_t text_len;
    size_t offset;            /* byte offset in the file */
    /* sequences: items[0..n); mappings: keys[i] -> items[i] (after merge keys) */
    size_t n;
    struct YNode **items;
    struct YNode **keys;
    YNodeKind kind;
    int line, col;            /* 1-based position of the node's first character */
    bool quoted;              /* written with quotes or a block style (|, >) */
    bool shared;              /* reachable from several parents (alias or merge key):
                                 ynode_to_value converts it once and shares the result */
} YNode;

/* Load the first document of text (len bytes; need not be NUL-terminated).
 * *root is NULL for an empty document.  path is used in diagnostics.
 * Returns 0, or -1 with err filled. */
int    yaml_load(Arena *a, const char *path, const char *text, size_t len, YNode **root, Diag *err);
/* The same, with the tree (nodes, child arrays, anchors, texts of non-string
 * scalars) in tree and the scalars' values (YNode.value: strings, dates) in
 * values, so that the tree can be dropped while values taken from it live on. */
int    yaml_load_split(Arena *tree, Arena *values, const char *path, const char *text, size_t len,
                       YNode **root, Diag *err);
/* Convert a subtree to plain Values (maps -> V_DICT, seqs -> V_LIST). NULL -> V_NONE. */
Value  ynode_to_value(Arena *a, const YNode *n);
/* Mapping lookup by string key (NULL if n is not a map or key absent). */
YNode *ynode_get(const YNode *map, const char *key);
/* Scalar string value (V_STR) or NULL. */
const char *ynode_str(const YNode *n);
const char *ynode_kind_name(const YNode *n);   /* "mapping", "sequence", "string", "integer", ... for errors */
const char *yaml_value_kind(Value v);          /* a loaded value's: "null", "boolean", "integer", "float", "string", "list", "mapping" */
/* Parse a YAML string such as --vars '{a: 1}' into a Value (-1 on error). */
int    yaml_load_value(Arena *a, const char *what, const char *text, size_t len, Value *out, Diag *err);
#endif
