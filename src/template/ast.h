/* ast.h - private to src/template: tokens, AST nodes, the parse-time builder.
 *
 * The lexer (lexer.c) produces Tok values; the lemon grammar
 * (grammar/template.y -> generated tplgram.c) calls the ast_* builders in
 * ast.c with them; the builders keep the stack of open blocks and produce
 * the Template, which the evaluator (eval.c) walks.  Everything here is
 * allocated in the parse arena and points into the SrcFile's text.
 * Values (constants) are built with the value library's constructors. */
#ifndef CDBT_TPL_AST_H
#define CDBT_TPL_AST_H
#include <stdint.h>
#include "template.h"

/* A token.  off/len: span in the source.  For STRING/TEXT s/slen is the
 * decoded text (arena); NAME/keywords: s points into the source. */
typedef struct Tok {
    int code;
    size_t off, len;
    const char *s;
    size_t slen;
    int64_t i;
    double f;
} Tok;

/* Interned identifier: pointer equality within one template; hash+len+bytes otherwise. */
typedef struct Name {
    const char *s;
    uint32_t len;
    uint32_t hash;
} Name;

typedef struct Node Node;
typedef struct NodeList {
    Node **items;
    int n, cap;
} NodeList;

typedef enum NodeKind {
    /* expressions */
    N_CONST, N_NAME, N_LIST, N_TUPLE, N_DICT,
    N_BINOP, N_AND, N_OR, N_NOT, N_NEG, N_POS,
    N_COMPARE, N_COND, N_GETATTR, N_GETITEM, N_SLICE,
    N_CALL, N_FILTER, N_TEST,
    /* statements */
    S_TEXT, S_OUTPUT, S_IF, S_FOR, S_SET, S_SETATTR, S_SETBLOCK, S_DO,
    S_MACRO, S_CALLBLOCK, S_FILTERBLOCK, S_WITH, S_BREAK, S_CONTINUE,
    S_DOCS, S_SNAPSHOT,
} NodeKind;

/* Call arguments (also used for filter/test arguments). */
typedef struct Args {
    NodeList pos;
    NodeList kwvals;
    Name *kwnames;
    VStr **kwstrs;       /* the same names as value strings (built once, at parse time) */
    int kwcap;
    Node *star, *dstar;
} Args;

/* Assignment target: a name or a (possibly nested) tuple of targets. */
typedef struct Target {
    bool is_tuple;
    bool closed;         /* parenthesised tuple: a following comma starts a new tuple */
    Name name;
    struct Target **items;
    int n, cap;
} Target;

typedef struct MacroDef MacroDef;

struct Node {
    uint8_t kind;
    uint8_t op;          /* BinOp for N_BINOP; negation for N_TEST */
    uint8_t paren;       /* expression was parenthesised (compare chains) */
    uint16_t depth;      /* expression tree height (bounded) */
    size_t off;          /* source offset for diagnostics (operator / '.' / '[' / keyword) */
    size_t start;        /* offset of the expression's leftmost token */
    Node *a, *b, *c;     /* children: operands, condition, iterable, ... */
    Value v;             /* N_CONST; S_TEXT text */
    Name name;           /* N_NAME, N_GETATTR attr, N_FILTER/N_TEST name */
    Args *args;          /* N_CALL, N_FILTER, N_TEST */
    NodeList list;       /* N_LIST/N_TUPLE items, N_DICT keys, N_COMPARE operands, bodies */
    NodeList list2;      /* N_DICT values, else bodies, S_WITH values */
    uint8_t *ops;        /* N_COMPARE operators (BinOp), list.n - 1 of them */
    Target *target;      /* S_FOR, S_SET, S_SETBLOCK */
    Target **targets;    /* S_WITH targets (list2 holds values) */
    MacroDef *macro;     /* S_MACRO, S_CALLBLOCK (the caller body) */
    NativeFn fn;         /* N_FILTER/N_TEST resolved at parse time */
    const char *text;    /* S_TEXT (normalised template data) */
    size_t tlen;
};

struct MacroDef {
    Name name;              /* variable the definition binds ("test_x" for tests) */
    const char *fullname;   /* same as name.s, NUL-terminated */
    Node **params;          /* N_NAME nodes; ->a = default expression or NULL */
    int nparams;
    NodeList body;
    bool catch_varargs, catch_kwargs, uses_caller;
    bool is_caller;         /* a {% call %} body */
    size_t off, start, end; /* name token offset; whole block span */
    Template *tpl;
    const char **called;    /* names called in the body */
    int ncalled, calledcap;
};

/* The macro value: a definition plus the scope it closes over (NULL for
 * macros taken from a parsed file, e.g. dbt's macro table). */
struct Scope;
struct TplMacro {
    MacroDef *def;
    struct Scope *closure;
};

struct Template {
    SrcFile *src;
    Arena *arena;
    NodeList body;
    TplMacro **macros;        /* top-level macro-like blocks */
    int nmacros, macrocap;
    const char **called;
    int ncalled, calledcap;
    bool plain;               /* only text */
    bool has_defs;            /* a MacroDef points here (macro, test, call block...) */
    const char *plain_text;
    size_t plain_len;
    /* name interning (parse time only) */
    Name *names;
    size_t nnames, namecap;
};

typedef enum BlockKind {
    BLK_ROOT, BLK_IF, BLK_FOR, BLK_SET, BLK_MACRO, BLK_CALL, BLK_FILTER,
    BLK_WITH, BLK_TEST, BLK_MATERIALIZATION, BLK_SNAPSHOT, BLK_DOCS,
} BlockKind;

typedef struct Block {
    BlockKind kind;
    Node *node;
    Node *aux;            /* BLK_IF: the innermost if/elif node */
    NodeList *cur;        /* where statements go */
    size_t off;           /* offset of the opening tag keyword */
    bool has_else;
    MacroDef *macro;      /* BLK_MACRO/TEST/MATERIALIZATION/CALL */
    size_t tag_start;     /* offset of "{%" of the opening tag */
} Block;

/* Parse-time state shared by the driver, the grammar actions and builders. */
typedef struct Builder {
    Arena *a;
    Template *t;
    SrcFile *src;
    Diag *err;
    bool failed;
    Block stack[TPL_MAX_NESTING + 1];
    int depth;            /* index of top block; stack[0] is the root */
    size_t tag_start;     /* offset of the current tag's opening delimiter */
    size_t tag_end;       /* offset just past the current tag's closing delimiter */
    int loop_depth;
} Builder;

/* ---- builders (ast.c); all return NULL / do nothing once B->failed */
void  ast_init(Builder *B, Arena *a, SrcFile *src, Diag *err);
int   ast_finish(Builder *B, size_t eof_off);
void  ast_fail(Builder *B, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void  ast_syntax_error(Builder *B, int major, Tok *t);
Name  ast_name(Builder *B, const char *s, size_t n);
Name  name_make(const char *s, size_t n);

/* items */
void  ast_text(Builder *B, Tok *t);
void  ast_output(Builder *B, Tok *t, Node *e);

/* expressions */
Node *ast_const(Builder *B, Tok *t);       /* STRING, INT, FLOAT, TRUE, FALSE, NONE */
Node *ast_strcat(Builder *B, Node *a, Tok *t);
Node *ast_var(Builder *B, Tok *t);
Node *ast_binop(Builder *B, int op, Node *a, Node *b, Tok *optok);
Node *ast_logic(Builder *B, int kind, Node *a, Node *b);
Node *ast_unary(Builder *B, int kind, Tok *t, Node *a);
Node *ast_compare(Builder *B, Node *a, int op, Node *b, Tok *optok);
Node *ast_cond(Builder *B, Node *x, Node *c, Node *y);
Node *ast_getattr(Builder *B, Node *obj, Tok *name, Tok *dot);
Node *ast_subscript(Builder *B, Node *obj, Node *sub, Tok *lb);
Node *ast_getitem(Builder *B, Node *obj, Node *key);
Node *ast_slice(Builder *B, Node *obj, Node *lo, Node *hi, Node *step);
Node *ast_call(Builder *B, Node *callee, Args *args);
Node *ast_filter(Builder *B, Tok *name, Args *args);  /* subject set by ast_apply */
Node *ast_test(Builder *B, Tok *name, Args *args, Node *arg, bool negated);
Node *ast_apply(Builder *B, Node *subject, Node *filter_or_test);
Node *ast_chain_filters(Builder *B, Node *inner, Node *outer);
Node *ast_list(Builder *B, Node *list, Node *item);   /* list NULL -> new */
Node *ast_seq(Builder *B, int kind, Tok *t, Node *list);  /* N_LIST/N_TUPLE from list (may be NULL) */
Node *ast_paren(Builder *B, Node *e);
Node *ast_dict(Builder *B, Node *dict, Node *k, Node *v);
Node *ast_dict_done(Builder *B, Tok *t, Node *dict);
Args *ast_args_pos(Builder *B, Args *a, Node *e);
Args *ast_args_kw(Builder *B, Args *a, Tok *name, Node *e);
Args *ast_args_star(Builder *B, Args *a, Node *e, bool dstar);
Args *ast_args_empty(Builder *B);

/* targets */
Target *ast_target_name(Builder *B, Tok *name);
Target *ast_target_add(Builder *B, Target *tuple, Target *item);  /* tuple NULL -> new */

/* statements */
void ast_open_if(Builder *B, Tok *k, Node *e);
void ast_elif(Builder *B, Tok *k, Node *e);
void ast_else(Builder *B, Tok *k);
void ast_end(Builder *B, Tok *k, int blk);
void ast_open_for(Builder *B, Tok *k, Target *t, Node *iter, Node *cond);
void ast_loopctl(Builder *B, Tok *k, int kind);
void ast_set(Builder *B, Tok *k, Target *t, Node *e);
void ast_set_attr(Builder *B, Tok *k, Tok *obj, Tok *attr, Node *e);
void ast_open_setblock(Builder *B, Tok *k, Tok *name, Node *filters);
void ast_do(Builder *B, Tok *k, Node *e);
Node *ast_param(Builder *B, Node *list, Tok *name, Node *dflt);
void ast_open_macro(Builder *B, Tok *k, Tok *name, Node *params, int blk);
void ast_open_materialization(Builder *B, Tok *k, Tok *name, Args *args);
void ast_open_call(Builder *B, Tok *k, Node *params, Node *call);
void ast_open_filterblock(Builder *B, Tok *k, Node *filters);
void ast_open_with(Builder *B, Tok *k);
void ast_with_assign(Builder *B, Tok *name, Node *e);
void ast_open_named(Builder *B, Tok *k, Tok *name, int blk);   /* snapshot, docs */

/* ---- lexer (lexer.c) */
typedef struct Lexer {
    Builder *B;
    const char *src;
    size_t len;          /* effective length (trailing newline dropped) */
    size_t pos;
    int mode;            /* 0 text, 1 var tag, 2 block tag */
    bool lstrip_next;    /* previous tag ended with '-' */
    bool tag_first;      /* next token is the first of a block tag */
    int nest;            /* bracket depth inside a tag */
    char brackets[TPL_MAX_NESTING];   /* open bracket characters */
    int prev;            /* previous token code */
    size_t tag_open;     /* offset of the current tag's opening delimiter */
} Lexer;

void lex_init(Lexer *L, Builder *B, const char *src, size_t len);
/* Next token; 0 ok (code 0 at end of input), -1 error recorded in B. */
int  lex_next(Lexer *L, Tok *t);
const char *lex_token_desc(int code);   /* "end of print statement", "name", ... */
#endif
