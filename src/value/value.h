/* value.h - the template engine's values: a tagged union with Python semantics.
 *
 * OWNERSHIP RULE (the only one): a Value is a small struct copied by value.
 * Everything it points to (strings, lists, dicts, objects) lives in an Arena
 * and is never freed individually.  Containers are shared by reference and
 * mutable, exactly like Python objects: appending to a list seen through two
 * names changes both.  A value that must outlive the arena it was made in
 * (e.g. a config value captured during a node render and stored on the node)
 * is copied with value_deep_copy() into the longer-lived arena.
 *
 * This header is shared by the evaluator (src/template: eval.c) and the value
 * library (src/value: value.c, callargs.c, ops.c, filters.c,
 * tests.c, methods.c, pyfmt.c, modules.c).  Functions are tagged with the file
 * that implements them. */
#ifndef CDBT_VALUE_H
#define CDBT_VALUE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/arena.h"
#include "../base/sb.h"
#include "../base/json.h"

typedef enum VType {
    V_UNDEF = 0,   /* Jinja Undefined; u.s = name that was looked up (may be NULL) */
    V_NONE,
    V_BOOL,        /* u.b */
    V_INT,         /* u.i (64-bit; overflow -> error "integer overflow") */
    V_FLOAT,       /* u.f */
    V_STR,         /* u.s, immutable */
    V_LIST,        /* u.l */
    V_TUPLE,       /* u.l (never mutated) */
    V_DICT,        /* u.d, insertion ordered */
    V_FUNC,        /* u.fn: native callable, optionally bound to a self value */
    V_MACRO,       /* u.m: a template macro (engine-owned struct TplMacro) or a caller block */
    V_OBJ,         /* u.o: native object with a class (relation, datetime, loop, namespace ...) */
} VType;

/* Marker flags on V_STR values made by dbt's as_text/as_bool/as_number/as_native
 * filters; read by native rendering (see template.h).  Any other operation on
 * the string drops the flag. */
enum { VF_MARK_TEXT = 1, VF_MARK_BOOL = 2, VF_MARK_NUMBER = 4, VF_MARK_NATIVE = 8 };

typedef struct VStr   VStr;
typedef struct VList  VList;
typedef struct VDict  VDict;
typedef struct VFunc  VFunc;
typedef struct VObj   VObj;
struct TplMacro;

typedef struct Value {
    uint8_t type;      /* VType */
    uint8_t flags;     /* VF_* (strings only) */
    union {
        bool b;
        int64_t i;
        double f;
        VStr *s;
        VList *l;
        VDict *d;
        VFunc *fn;
        VObj *o;
        struct TplMacro *m;
    } u;
} Value;

struct VStr {
    size_t len;
    uint64_t hash;     /* 0 = not yet computed */
    char s[];          /* NUL-terminated, may contain NULs */
};

struct VList {
    size_t len, cap;
    Value *items;
};

typedef struct VDictEntry {
    Value key;
    Value val;
    uint32_t hash;      /* low 32 bits of value_hash(key): 40-byte entries instead of 48 */
    bool deleted;
} VDictEntry;

struct VDict {
    size_t len;            /* live entries */
    size_t n, cap;         /* used slots in entries (incl. deleted) and capacity */
    VDictEntry *entries;   /* insertion order */
    uint32_t *index;       /* open-addressed: entry index + 1, 0 = empty; NULL while n <= 8 (linear scan) */
    size_t nindex;
};

typedef struct Interp Interp;

/* Call arguments as seen by a callee. Keyword names are plain strings. */
typedef struct CallArgs {
    int npos;
    Value *pos;
    int nkw;
    VStr **kwnames;
    Value *kwvals;
} CallArgs;

/* A native function.  Returns 0 and sets *out, or returns -1 after recording
 * an error with interp_error() (or another TPL_* status propagated from a
 * nested call, which must be returned unchanged). */
typedef int (*NativeFn)(Interp *I, void *ud, Value self, CallArgs *args, Value *out);

struct VFunc {
    NativeFn fn;
    void *ud;
    Value self;            /* V_UNDEF when unbound */
    const char *name;      /* for messages and repr: "<built-in function name>" */
};

/* Native object classes.  Hooks may be NULL (then the operation is not
 * supported: attribute -> undefined, call -> error "'<class>' object is not callable", ...).
 * getattr/getitem return 0 (found, *out set), 1 (not found), -1 (error recorded). */
typedef struct ObjClass {
    const char *name;                                                     /* Python type name */
    int  (*getattr)(Interp *I, VObj *self, const char *name, size_t n, Value *out);
    int  (*setattr)(Interp *I, VObj *self, const char *name, size_t n, Value v);  /* 0 / -1 */
    int  (*getitem)(Interp *I, VObj *self, Value key, Value *out);
    int  (*call)(Interp *I, VObj *self, CallArgs *args, Value *out);
    void (*str)(VObj *self, Sb *out);                                     /* str(); NULL -> "<name object>" */
    void (*repr)(VObj *self, Sb *out);                                    /* NULL -> same as str */
    int  (*iter)(Interp *I, VObj *self, VList **out);                     /* materialise iteration */
    int  (*len)(VObj *self, int64_t *out);                                /* 0 ok, 1 unsupported */
    bool (*truthy)(VObj *self);                                           /* NULL -> true */
    bool (*eq)(VObj *a, VObj *b);                                         /* NULL -> identity */
    int  (*cmp)(VObj *a, VObj *b, int *out);                              /* ordering; 0 ok, 1 unsupported */
    void (*to_json)(VObj *self, JsonW *w);                                /* NULL -> str() as JSON string */
    struct TplMacro *(*as_macro)(VObj *self);                             /* NULL unless object wraps a macro */
} ObjClass;

struct VObj {
    const ObjClass *cls;
    void *data;
};

/* ---------------------------------------------------------------- value.c
 * (pure data: value.c never calls interp_* so that the YAML loader can link
 * against it without the engine) */
/* Constructors (strings are copied into the arena). */
static inline Value v_undef(void) { Value v; v.type = V_UNDEF; v.flags = 0; v.u.s = NULL; return v; }
static inline Value v_none(void)  { Value v; v.type = V_NONE;  v.flags = 0; v.u.i = 0; return v; }
static inline Value v_bool(bool b){ Value v; v.type = V_BOOL;  v.flags = 0; v.u.b = b; return v; }
static inline Value v_int(int64_t i){ Value v; v.type = V_INT; v.flags = 0; v.u.i = i; return v; }
static inline Value v_float(double f){ Value v; v.type = V_FLOAT; v.flags = 0; v.u.f = f; return v; }
Value v_undef_named(Arena *a, const char *name, size_t n);   /* undefined that remembers its name */
Value v_str(Arena *a, const char *s, size_t n);
Value v_strz(Arena *a, const char *z);
Value v_str_sb(Arena *a, const Sb *sb);
Value v_vstr(VStr *s);                                     /* wrap existing VStr (no copy) */
VStr *vstr_new(Arena *a, const char *s, size_t n);
uint64_t vstr_hash(VStr *s);
Value v_list(Arena *a, size_t cap);                          /* empty list */
Value v_tuple(Arena *a, size_t n);                           /* tuple of n slots, all V_NONE; fill u.l->items */
Value v_dict(Arena *a);                                      /* empty dict */
Value v_dict_cap(Arena *a, size_t cap);                      /* empty dict with room for cap entries */
Value v_func(Arena *a, const char *name, NativeFn fn, void *ud);
Value v_bound(Arena *a, const char *name, NativeFn fn, void *ud, Value self);
Value v_obj(Arena *a, const ObjClass *cls, void *data);

void  list_append(Arena *a, VList *l, Value v);
void  list_insert(Arena *a, VList *l, size_t at, Value v);
/* Dict: keys may be any hashable value (str, int, float, bool, none, tuple);
 * 1 == 1.0 == True hash and compare equal as in Python. */
void  dict_set(Arena *a, VDict *d, Value key, Value val);
void  dict_setz(Arena *a, VDict *d, const char *key, Value val);   /* key copied into a */
Value *dict_get(VDict *d, Value key);                                 /* NULL if absent */
Value *dict_getz(VDict *d, const char *key);                          /* NULL if absent */
Value *dict_getn(VDict *d, const char *key, size_t n);
bool  dict_del(VDict *d, Value key, Value *old);                      /* true if removed */
/* A dict that reads src's entries until its first change (copy on write:
 * dict_set/dict_setz/dict_del then copy them into a).  src must not change
 * afterwards.  Writing through a pointer from dict_get() is a change the
 * dict cannot see: change such a dict with dict_set/dict_setz only.  Setting
 * a key to the very value it holds copies nothing. */
VDict *dict_cow(Arena *a, VDict *src);
/* The storage a dict_cow dict still reads (NULL once it has its own): equal
 * pointers mean equal contents. */
const void *dict_cow_source(const VDict *d);
/* A dict_cow dict made in `from` copies its entries into `to` instead, once
 * changed (from's blocks went to `to` with arena_adopt; from goes away). */
void  dict_cow_rehome(VDict *d, const Arena *from, Arena *to);
/* Iterate live entries in order: for (size_t i = 0; dict_next(d, &i, &e);) */
bool  dict_next(VDict *d, size_t *it, VDictEntry **e);

bool  value_truthy(Value v);
bool  value_is_hashable(Value v);
uint64_t value_hash(Value v);
bool  value_eq(Value a, Value b);                         /* Python == */
/* Python ordering (<): 0 ok (*out = -1/0/1), 1 if the types are unorderable. */
int   value_cmp(Value a, Value b, int *out);
void  value_str(Sb *out, Value v);                        /* Python str() (undefined -> "") */
void  value_repr(Sb *out, Value v);                       /* Python repr() */
const char *value_type_name(Value v);                     /* 'str', 'int', 'NoneType', 'list', 'dict', 'Undefined', ... */
/* Write v as one JSON value (tuples -> arrays, undefined/none -> null,
 * objects -> their to_json hook or str()). */
void  value_to_json(JsonW *w, Value v);
/* value_to_json through a memo (NULL: none): a non-empty dict, list or
 * tuple is keyed by its storage (entries or items) and length, so dicts
 * that share storage (dict_cow) are written once and copied after.  Valid
 * while no dict or list that v reaches changes: the memo must not outlive
 * a stretch of writing over unchanging values (e.g. one artifact). */
void  value_to_json_memo(JsonW *w, Value v, JsonMemo *m);
Value value_deep_copy(Arena *a, Value v);                  /* strings, lists, dicts copied; funcs/objs shallow */
/* Plain data (None, bools, numbers, unmarked strings, lists, tuples, dicts
 * of plain data, at most 64 levels deep): what Jinja2 folds as a constant
 * (has_safe_repr), and values whose repr() tells them apart. */
bool  value_plain(Value v);
/* Convenience: C string of a V_STR (NULL otherwise). */
static inline const char *value_cstr(Value v) { return v.type == V_STR ? v.u.s->s : NULL; }
/* str(v) into the arena as a NUL-terminated string. */
const char *value_to_cstr(Arena *a, Value v);

/* ---------------------------------------------------------------- ops.c */
typedef enum BinOp {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT /* ~ */,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN,
} BinOp;
typedef enum UnOp { OP_NEG, OP_POS, OP_NOT } UnOp;
/* Python semantics incl. errors ("unsupported operand type(s) for +: 'str' and 'int'",
 * "division by zero", str*int, list*int, list+list, tuple+tuple, dict|... not needed). */
int value_binop(Interp *I, BinOp op, Value a, Value b, Value *out);
int value_unop(Interp *I, UnOp op, Value a, Value *out);
/* Python slicing of str/list/tuple; missing bounds are V_NONE. */
int value_slice(Interp *I, Value seq, Value start, Value stop, Value step, Value *out);
/* Subscript of builtin types: list/tuple/str with int (negative ok), dict with key.
 * 0 found, 1 not found/out of range (Jinja then tries attribute), -1 error. */
int value_getitem_builtin(Interp *I, Value obj, Value key, Value *out);
/* Iterate builtin iterables into a list: list/tuple (shared items ok), str (chars,
 * UTF-8 aware), dict (keys), undefined/none? (undefined -> empty; none -> error). */
int value_iterate(Interp *I, Value v, VList **out);
int value_len(Interp *I, Value v, int64_t *out);

/* ---------------------------------------------------------------- methods.c */
/* Attribute lookup on builtin types: str/list/dict methods (bound V_FUNC),
 * e.g. "x".upper, d.items, l.append.  0 found, 1 not found. */
int value_getattr_builtin(Interp *I, Value obj, const char *name, size_t n, Value *out);

/* Mutation fence, per thread (renders on two threads: src/dbt/dbt_parse.c).
 * While a thread has one set, an in-place change (list.append, dict.update,
 * namespace attribute, cycler.next, ...) of a container whose storage is not
 * in `own` - a value other renders can see: globals, vars, configs - first
 * calls hook(ud): 0 lets the change happen, anything else refuses it (the
 * render fails with an error).  own NULL turns the fence off.  Containers
 * in `own` are this thread's render values and change freely. */
typedef int (*ValueFenceHook)(void *ud);
void value_fence_set(const Arena *own, ValueFenceHook hook, void *ud);
/* 0: p may be changed; -1: refused, error recorded on I. */
int  value_fence(Interp *I, const void *p);
/* How many in-place changes of values that outlive their render (a var, a
 * global, a config value) this process has made (methods.c): such a change
 * is seen by later renders. */
unsigned long value_shared_changes(void);

/* ---------------------------------------------------------------- pyfmt.c */
/* Python printf-style formatting: fmt % args (args: tuple, dict or single value). */
int value_percent_format(Interp *I, Value fmt, Value args, Value *out);
/* str.format(*args, **kwargs). */
int value_str_format(Interp *I, VStr *fmt, CallArgs *args, Value *out);
/* ast.literal_eval subset: numbers, strings, True/False/None, lists, tuples, dicts,
 * sets (as lists), unary minus.  0 ok, -1 not a literal (nothing recorded). */
int value_literal_eval(Arena *a, const char *s, size_t n, Value *out);
/* Python float repr ("0.1", "1e+16", "inf", "nan", "-0.0", "1.0"). */
void value_float_repr(Sb *out, double f);

/* ---------------------------------------------------------------- filters.c / tests.c */
/* Filters and tests are NativeFns receiving the subject as args->pos[0]
 * (self is V_UNDEF).  Tests set *out to a V_BOOL.  Lookup returns NULL if unknown.
 * The tables are X-macro lists in filters.def / tests.def. */
NativeFn tpl_find_filter(const char *name, size_t n);
NativeFn tpl_find_test(const char *name, size_t n);

/* ---------------------------------------------------------------- callargs.c */
/* Bind args to a parameter list like a Python function:
 *   params: names in order; nreq: how many are required; slots: out array of
 *   length nparams (unset optional params are V_UNDEF).  Errors (recorded):
 *   "<fname>() missing required argument 'x'", "<fname>() got an unexpected keyword argument 'k'",
 *   "<fname>() takes at most N positional arguments". */
int callargs_bind(Interp *I, const char *fname, CallArgs *args,
                  const char *const *params, int nparams, int nreq, Value *slots);
Value *callargs_kw(CallArgs *args, const char *name);   /* NULL if not passed by keyword */

/* ---------------------------------------------------------------- modules.c */
/* Jinja globals: range, dict, namespace, cycler, joiner, lipsum.
 * Adds them to d (keys copied into a). */
void  tpl_add_std_globals(Arena *a, VDict *d);
/* dbt's modules.datetime: object with attributes date, datetime, time, timedelta, tzinfo? (timezone). */
Value tpl_datetime_module(Arena *a);
/* datetime values (naive when tz_minutes == INT32_MIN... keep simple: utc flag). */
Value v_datetime(Arena *a, int y, int mo, int d, int h, int mi, int s, int us, bool utc);
Value v_date(Arena *a, int y, int mo, int d);

/* ---------------------------------------------------------------- eval.c (engine) */
/* Services the engine offers to natives. */
Arena *interp_arena(Interp *I);
bool   interp_lenient(Interp *I);                 /* parse-time leniency (dbt execute=false) */
/* Record a runtime error (location and macro stack added by the engine); returns -1. */
int    interp_error(Interp *I, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int    interp_call(Interp *I, Value callee, CallArgs *args, Value *out);
int    interp_getattr(Interp *I, Value obj, const char *name, size_t n, Value *out);  /* Jinja: attr then item; missing -> undefined, 0 */
int    interp_getitem(Interp *I, Value obj, Value key, Value *out);                  /* Jinja: item then attr */
int    interp_filter(Interp *I, const char *name, Value v, CallArgs *args, Value *out);
int    interp_test(Interp *I, const char *name, Value v, CallArgs *args, bool *out);
#endif
