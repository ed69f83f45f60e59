/* template.y - lemon grammar of the Jinja2 template language (dbt subset).
 *
 * This file is the only source of the template parser: the build copies it
 * to tplgram.y and runs lemon on it (see grammar/README.md).  The lexer in
 * src/template/lexer.c pushes tokens (type Tok, codes TK_* from tplgram.h).
 * Each `{% ... %}` tag is parsed as one statement; nesting of blocks
 * (if/for/macro ...) is tracked by the builder's open-block stack in
 * src/template/ast.c, so every action here is a one-line call into an
 * ast_* builder.  Expression precedence follows Jinja2's parser exactly
 * (loosest first):  x if c else y,  or,  and,  not,  comparisons and
 * in / not in (chained),  + -,  ~,  * / // %,  **  (left-assoc),
 * `|filter` and `is test` (applied to the whole unary), unary - +, and
 * postfix . [] () binding tightest.  One nonterminal `e` with lemon
 * precedence keeps the parser to a few reductions per operand. */

%name TplParse
%token_prefix TK_
%extra_context {Builder *B}
%token_type {Tok}
%default_type {Node *}
%stack_size 400

%include {
#ifndef NDEBUG
#define NDEBUG 1      /* no parser tracing or asserts in the generated code */
#endif
#include <assert.h>
#include <stdlib.h>
#include "template/ast.h"
}

%syntax_error { ast_syntax_error(B, yymajor, &yyminor); }
%stack_overflow { ast_fail(B, B->tag_start, "expression nested too deeply"); }
%parse_failure { if (!B->failed) ast_fail(B, B->tag_start, "syntax error"); }

/* Token order: the lexer's keyword table (keywords.def) names these. */
%token TEXT VAR_BEGIN VAR_END BLOCK_BEGIN BLOCK_END
       NAME STRING INT FLOAT TRUE FALSE NONE
       AND OR NOT IN IS IF ELSE
       ELIF ENDIF FOR ENDFOR SET ENDSET DO MACRO ENDMACRO CALL ENDCALL
       FILTER ENDFILTER WITH ENDWITH BREAK CONTINUE TEST ENDTEST
       MATERIALIZATION ENDMATERIALIZATION SNAPSHOT ENDSNAPSHOT DOCS ENDDOCS
       PLUS MINUS MUL DIV FLOORDIV MOD POW TILDE
       EQ NE LT LE GT GE ASSIGN DOT COMMA COLON PIPE
       LP RP LB RB LBRACE RBRACE UMINUS.

/* Operator precedence, loosest first (Jinja2's parser levels).  `|filter`
 * and `is test` apply to a whole unary expression: -1|abs is abs(-1). */
%right IF ELSE.
%left OR.
%left AND.
%right NOT.
%left EQ NE LT LE GT GE IN.
%left PLUS MINUS.
%left TILDE.
%left MUL DIV FLOORDIV MOD.
%left POW.
%left PIPE IS.
%right UMINUS.
%left DOT LB LP.

%type targets {Target *}
%type target_list {Target *}
%type target_atom {Target *}
%type args {Args *}
%type arglist {Args *}
%type matargs {Args *}

template ::= items.
items ::= items item.
items ::= .

item ::= TEXT(T).                                { ast_text(B, &T); }
item ::= VAR_BEGIN(K) tuple_expr(E) VAR_END.     { ast_output(B, &K, E); }
item ::= BLOCK_BEGIN stmt BLOCK_END.

/* ---------------------------------------------------------------- statements */
stmt ::= IF(K) expr(E).                          { ast_open_if(B, &K, E); }
stmt ::= ELIF(K) expr(E).                        { ast_elif(B, &K, E); }
stmt ::= ELSE(K).                                { ast_else(B, &K); }
stmt ::= ENDIF(K).                               { ast_end(B, &K, BLK_IF); }

/* `for x in y if c`: parsed as a conditional expression without else, split by the builder */
stmt ::= FOR(K) targets(T) IN expr(E).           { ast_open_for(B, &K, T, E, NULL); }
stmt ::= ENDFOR(K).                              { ast_end(B, &K, BLK_FOR); }
stmt ::= BREAK(K).                               { ast_loopctl(B, &K, S_BREAK); }
stmt ::= CONTINUE(K).                            { ast_loopctl(B, &K, S_CONTINUE); }

stmt ::= SET(K) targets(T) ASSIGN tuple_expr(E). { ast_set(B, &K, T, E); }
stmt ::= SET(K) NAME(O) DOT NAME(A) ASSIGN tuple_expr(E). { ast_set_attr(B, &K, &O, &A, E); }
stmt ::= SET(K) NAME(N).                         { ast_open_setblock(B, &K, &N, NULL); }
stmt ::= SET(K) NAME(N) PIPE filterchain(F).     { ast_open_setblock(B, &K, &N, F); }
stmt ::= ENDSET(K).                              { ast_end(B, &K, BLK_SET); }

stmt ::= DO(K) tuple_expr(E).                    { ast_do(B, &K, E); }

stmt ::= MACRO(K) NAME(N) LP params(P) RP.       { ast_open_macro(B, &K, &N, P, BLK_MACRO); }
stmt ::= ENDMACRO(K).                            { ast_end(B, &K, BLK_MACRO); }
stmt ::= TEST(K) NAME(N) LP params(P) RP.        { ast_open_macro(B, &K, &N, P, BLK_TEST); }
stmt ::= ENDTEST(K).                             { ast_end(B, &K, BLK_TEST); }
stmt ::= MATERIALIZATION(K) NAME(N) COMMA matargs(A). { ast_open_materialization(B, &K, &N, A); }
stmt ::= ENDMATERIALIZATION(K).                  { ast_end(B, &K, BLK_MATERIALIZATION); }

stmt ::= CALL(K) callexpr(C).                    { ast_open_call(B, &K, NULL, C); }
stmt ::= CALL(K) LP params(P) RP callexpr(C).    { ast_open_call(B, &K, P, C); }
stmt ::= ENDCALL(K).                             { ast_end(B, &K, BLK_CALL); }

stmt ::= FILTER(K) filterchain(F).               { ast_open_filterblock(B, &K, F); }
stmt ::= ENDFILTER(K).                           { ast_end(B, &K, BLK_FILTER); }

stmt ::= withhead.
stmt ::= withhead withlist.
stmt ::= ENDWITH(K).                             { ast_end(B, &K, BLK_WITH); }
withhead ::= WITH(K).                            { ast_open_with(B, &K); }
withlist ::= withitem.
withlist ::= withlist COMMA withitem.
withitem ::= NAME(N) ASSIGN expr(E).             { ast_with_assign(B, &N, E); }

stmt ::= SNAPSHOT(K) NAME(N).                    { ast_open_named(B, &K, &N, BLK_SNAPSHOT); }
stmt ::= ENDSNAPSHOT(K).                         { ast_end(B, &K, BLK_SNAPSHOT); }
stmt ::= DOCS(K) NAME(N).                        { ast_open_named(B, &K, &N, BLK_DOCS); }
stmt ::= ENDDOCS(K).                             { ast_end(B, &K, BLK_DOCS); }

targets(A) ::= target_list(L).                   { A = L; }
target_list(A) ::= target_atom(X).               { A = X; }
target_list(A) ::= target_list(L) COMMA target_atom(X). { A = ast_target_add(B, L, X); }
target_atom(A) ::= NAME(N).                      { A = ast_target_name(B, &N); }
target_atom(A) ::= LP target_list(L) RP.         { A = ast_target_add(B, L, NULL); }

params(A) ::= .                                  { A = ast_param(B, NULL, NULL, NULL); }
params(A) ::= plist(L).                          { A = L; }
params(A) ::= plist(L) COMMA.                    { A = L; }
plist(A) ::= NAME(N).                            { A = ast_param(B, NULL, &N, NULL); }
plist(A) ::= NAME(N) ASSIGN expr(E).             { A = ast_param(B, NULL, &N, E); }
plist(A) ::= plist(L) COMMA NAME(N).             { A = ast_param(B, L, &N, NULL); }
plist(A) ::= plist(L) COMMA NAME(N) ASSIGN expr(E). { A = ast_param(B, L, &N, E); }

matargs(A) ::= arglist(L).                       { A = L; }

callexpr(A) ::= dotted(D) LP args(R) RP.         { A = ast_call(B, D, R); }
dotted(A) ::= NAME(N).                           { A = ast_var(B, &N); }
dotted(A) ::= dotted(D) DOT(K) NAME(N).          { A = ast_getattr(B, D, &N, &K); }

filterchain(A) ::= filter(F).                    { A = F; }
filterchain(A) ::= filterchain(I) PIPE filter(F). { A = ast_chain_filters(B, I, F); }

/* ---------------------------------------------------------------- expressions */
tuple_expr(A) ::= expr(E).                       { A = E; }
tuple_expr(A) ::= expr(E) COMMA(C).              { A = ast_seq(B, N_TUPLE, &C, ast_list(B, NULL, E)); }
tuple_expr(A) ::= expr(E) COMMA(C) exprlist(L).  { A = ast_seq(B, N_TUPLE, &C, ast_list(B, ast_list(B, NULL, E), L)); }
tuple_expr(A) ::= expr(E) COMMA(C) exprlist(L) COMMA. { A = ast_seq(B, N_TUPLE, &C, ast_list(B, ast_list(B, NULL, E), L)); }

expr(A) ::= e(X).                                { A = X; }

e(A) ::= e(X) IF e(C).                           { A = ast_cond(B, X, C, NULL); }
e(A) ::= e(X) IF e(C) ELSE e(Y).                 { A = ast_cond(B, X, C, Y); }
e(A) ::= e(X) OR e(Y).                           { A = ast_logic(B, N_OR, X, Y); }
e(A) ::= e(X) AND e(Y).                          { A = ast_logic(B, N_AND, X, Y); }
e(A) ::= NOT(K) e(X).                            { A = ast_unary(B, N_NOT, &K, X); }
e(A) ::= e(X) EQ(O) e(Y).                        { A = ast_compare(B, X, OP_EQ, Y, &O); }
e(A) ::= e(X) NE(O) e(Y).                        { A = ast_compare(B, X, OP_NE, Y, &O); }
e(A) ::= e(X) LT(O) e(Y).                        { A = ast_compare(B, X, OP_LT, Y, &O); }
e(A) ::= e(X) LE(O) e(Y).                        { A = ast_compare(B, X, OP_LE, Y, &O); }
e(A) ::= e(X) GT(O) e(Y).                        { A = ast_compare(B, X, OP_GT, Y, &O); }
e(A) ::= e(X) GE(O) e(Y).                        { A = ast_compare(B, X, OP_GE, Y, &O); }
e(A) ::= e(X) IN(O) e(Y).                        { A = ast_compare(B, X, OP_IN, Y, &O); }
e(A) ::= e(X) NOT(O) IN e(Y). [IN]               { A = ast_compare(B, X, OP_NOTIN, Y, &O); }
e(A) ::= e(X) PLUS(O) e(Y).                      { A = ast_binop(B, OP_ADD, X, Y, &O); }
e(A) ::= e(X) MINUS(O) e(Y).                     { A = ast_binop(B, OP_SUB, X, Y, &O); }
e(A) ::= e(X) TILDE(O) e(Y).                     { A = ast_binop(B, OP_CONCAT, X, Y, &O); }
e(A) ::= e(X) MUL(O) e(Y).                       { A = ast_binop(B, OP_MUL, X, Y, &O); }
e(A) ::= e(X) DIV(O) e(Y).                       { A = ast_binop(B, OP_DIV, X, Y, &O); }
e(A) ::= e(X) FLOORDIV(O) e(Y).                  { A = ast_binop(B, OP_FLOORDIV, X, Y, &O); }
e(A) ::= e(X) MOD(O) e(Y).                       { A = ast_binop(B, OP_MOD, X, Y, &O); }
e(A) ::= e(X) POW(O) e(Y).                       { A = ast_binop(B, OP_POW, X, Y, &O); }
e(A) ::= e(X) PIPE filter(F).                    { A = ast_apply(B, X, F); }
e(A) ::= e(X) IS test(T).                        { A = ast_apply(B, X, T); }
e(A) ::= MINUS(K) e(X). [UMINUS]                 { A = ast_unary(B, N_NEG, &K, X); }
e(A) ::= PLUS(K) e(X). [UMINUS]                  { A = ast_unary(B, N_POS, &K, X); }
e(A) ::= e(X) DOT(D) NAME(N).                    { A = ast_getattr(B, X, &N, &D); }
e(A) ::= e(X) DOT(D) INT(N).                     { A = ast_subscript(B, X, ast_getitem(B, NULL, ast_const(B, &N)), &D); }
e(A) ::= e(X) LB(K) subscript(S) RB.             { A = ast_subscript(B, X, S, &K); }
e(A) ::= e(X) LP args(R) RP.                     { A = ast_call(B, X, R); }
e(A) ::= primary(X).                             { A = X; }

filter(A) ::= NAME(N). [PIPE]                    { A = ast_filter(B, &N, NULL); }
filter(A) ::= NAME(N) LP args(R) RP.             { A = ast_filter(B, &N, R); }

test(A) ::= tname(N). [IS]                       { A = ast_test(B, &N, NULL, NULL, false); }
test(A) ::= tname(N) LP args(R) RP.              { A = ast_test(B, &N, R, NULL, false); }
test(A) ::= tname(N) targ(X). [IS]               { A = ast_test(B, &N, NULL, X, false); }
test(A) ::= NOT tname(N). [IS]                   { A = ast_test(B, &N, NULL, NULL, true); }
test(A) ::= NOT tname(N) LP args(R) RP.          { A = ast_test(B, &N, R, NULL, true); }
test(A) ::= NOT tname(N) targ(X). [IS]           { A = ast_test(B, &N, NULL, X, true); }
%type tname {Tok}
tname(A) ::= NAME(N).                            { A = N; }
tname(A) ::= NONE(N).                            { A = N; }
tname(A) ::= TRUE(N).                            { A = N; }
tname(A) ::= FALSE(N).                           { A = N; }
tname(A) ::= IN(N).                              { A = N; }

/* A test's single unparenthesised argument: a primary that does not start with '(' */
targ(A) ::= atom(X).                             { A = X; }
targ(A) ::= targ(X) DOT(D) NAME(N).              { A = ast_getattr(B, X, &N, &D); }
targ(A) ::= targ(X) LB(K) subscript(S) RB.       { A = ast_subscript(B, X, S, &K); }
targ(A) ::= targ(X) LP args(R) RP.               { A = ast_call(B, X, R); }

/* subscript: N_GETITEM / N_SLICE with no object yet (ast_apply fills it) */
subscript(A) ::= expr(E).                        { A = ast_getitem(B, NULL, E); }
subscript(A) ::= sl(L) COLON sl(H).              { A = ast_slice(B, NULL, L, H, NULL); }
subscript(A) ::= sl(L) COLON sl(H) COLON sl(S).  { A = ast_slice(B, NULL, L, H, S); }
sl(A) ::= .                                      { A = NULL; }
sl(A) ::= expr(E).                               { A = E; }

primary(A) ::= atom(X).                          { A = X; }
primary(A) ::= LP(K) RP.                         { A = ast_seq(B, N_TUPLE, &K, NULL); }
primary(A) ::= LP expr(E) RP.                    { A = ast_paren(B, E); }
primary(A) ::= LP(K) expr(E) COMMA RP.           { A = ast_seq(B, N_TUPLE, &K, ast_list(B, NULL, E)); }
primary(A) ::= LP(K) expr(E) COMMA exprlist(L) RP. { A = ast_seq(B, N_TUPLE, &K, ast_list(B, ast_list(B, NULL, E), L)); }
primary(A) ::= LP(K) expr(E) COMMA exprlist(L) COMMA RP. { A = ast_seq(B, N_TUPLE, &K, ast_list(B, ast_list(B, NULL, E), L)); }

atom(A) ::= NAME(N).                             { A = ast_var(B, &N); }
atom(A) ::= strings(S).                          { A = S; }
atom(A) ::= INT(T).                              { A = ast_const(B, &T); }
atom(A) ::= FLOAT(T).                            { A = ast_const(B, &T); }
atom(A) ::= TRUE(T).                             { A = ast_const(B, &T); }
atom(A) ::= FALSE(T).                            { A = ast_const(B, &T); }
atom(A) ::= NONE(T).                             { A = ast_const(B, &T); }
atom(A) ::= LB(K) RB.                            { A = ast_seq(B, N_LIST, &K, NULL); }
atom(A) ::= LB(K) exprlist(L) RB.                { A = ast_seq(B, N_LIST, &K, L); }
atom(A) ::= LB(K) exprlist(L) COMMA RB.          { A = ast_seq(B, N_LIST, &K, L); }
atom(A) ::= LBRACE(K) RBRACE.                    { A = ast_dict_done(B, &K, NULL); }
atom(A) ::= LBRACE(K) dictlist(D) RBRACE.        { A = ast_dict_done(B, &K, D); }
atom(A) ::= LBRACE(K) dictlist(D) COMMA RBRACE.  { A = ast_dict_done(B, &K, D); }

strings(A) ::= STRING(T).                        { A = ast_const(B, &T); }
strings(A) ::= strings(S) STRING(T).             { A = ast_strcat(B, S, &T); }

exprlist(A) ::= expr(E).                         { A = ast_list(B, NULL, E); }
exprlist(A) ::= exprlist(L) COMMA expr(E).       { A = ast_list(B, L, E); }

dictlist(A) ::= expr(K) COLON expr(V).           { A = ast_dict(B, NULL, K, V); }
dictlist(A) ::= dictlist(D) COMMA expr(K) COLON expr(V). { A = ast_dict(B, D, K, V); }

args(A) ::= .                                    { A = ast_args_empty(B); }
args(A) ::= arglist(L).                          { A = L; }
args(A) ::= arglist(L) COMMA.                    { A = L; }
arglist(A) ::= expr(E).                          { A = ast_args_pos(B, NULL, E); }
arglist(A) ::= NAME(N) ASSIGN expr(E).           { A = ast_args_kw(B, NULL, &N, E); }
arglist(A) ::= MUL expr(E).                      { A = ast_args_star(B, NULL, E, false); }
arglist(A) ::= POW expr(E).                      { A = ast_args_star(B, NULL, E, true); }
arglist(A) ::= arglist(L) COMMA expr(E).         { A = ast_args_pos(B, L, E); }
arglist(A) ::= arglist(L) COMMA NAME(N) ASSIGN expr(E). { A = ast_args_kw(B, L, &N, E); }
arglist(A) ::= arglist(L) COMMA MUL expr(E).     { A = ast_args_star(B, L, E, false); }
arglist(A) ::= arglist(L) COMMA POW expr(E).     { A = ast_args_star(B, L, E, true); }
