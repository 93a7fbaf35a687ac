/* fe_parser.y: the model language's grammar (bison, pure, with locations).
 *
 * It only builds the syntax tree (fe_ast.h); names, types and arity are the
 * checker's business (fe_check.c).  Lists are built backwards in O(1) per
 * item and reversed once complete, so 100k statements stay linear.  Error
 * recovery is at statement and item level (`error ';'`), so one typo does
 * not hide the next; the lexer and the error cap can stop the parse early.
 */
%define api.pure full
%define api.prefix {fe_yy}
%define parse.error detailed
%locations
%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {fe_pstate *ps}

%code requires {
#include "fe_ast.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code {
#include <math.h>
#include <string.h>
int fe_yylex(FE_YYSTYPE *lval, FE_YYLTYPE *lloc, yyscan_t scanner);

static void fe_yyerror(FE_YYLTYPE *l, yyscan_t scanner, fe_pstate *ps, const char *msg) {
  (void)scanner;
  if (ps->fatal) return; /* the lexer already said why it stopped */
  ps->failed = true;
  if (!strcmp(msg, "memory exhausted")) {
    ssd_err_at(ps->c, fe_loc(ps, l->first_line, l->first_column), SSD_EPARSE,
               "expression nested too deeply");
    ps->fatal = true;
    return;
  }
  ssd_err_at(ps->c, fe_loc(ps, l->first_line, l->first_column), SSD_EPARSE, "%s", msg);
  if (fe_ctx_full(ps->c)) ps->fatal = true;
}

#define LOC(l) fe_loc(ps, (l).first_line, (l).first_column)
/* Constructors return NULL on OOM or after a fatal limit: stop parsing. */
#define NN(x) do { if (!(x) || ps->fatal) YYABORT; } while (0)
#define YYMAXDEPTH 4000
}

%union {
  int64_t i;
  double f;
  char *s;
  fe_expr *e;
  fe_arg *arg;
  fe_stmt *st;
  fe_name *nm;
  fe_key_ast *key;
  fe_cover *cov;
}

%token T_MODEL "model" T_FOR "for" T_PARAM "param" T_REQUIRE "require"
%token T_BLOCK "block" T_FORWARD "forward" T_WEIGHT "weight" T_RETURN "return"
%token T_IF "if" T_ELSE "else" T_IN "in" T_TRUE "true" T_FALSE "false"
%token T_NONE "none" T_INF "inf"
%token T_EQ "==" T_NE "!=" T_LE "<=" T_GE ">=" T_AND "&&" T_OR "||" T_DOTDOT ".."
%token <s> T_IDENT "identifier" T_STRING "string"
%token <i> T_INT "integer"
%token <f> T_FLOAT "number"

%type <e> expr primary
%type <arg> exprs exprs_opt args args_opt arg dims
%type <st> stmts stmt body if_stmt
%type <nm> names bparams bparams_opt bparam
%type <key> annots annot
%type <cov> covers covers_opt cover
%type <s> path dtype_opt
%type <e> wcond_opt

%right '?' ':'
%left T_OR
%left T_AND
%nonassoc T_EQ T_NE
%nonassoc '<' '>' T_LE T_GE T_IN
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

file: items ;

items: %empty | items item ;

item: model_decl | param_decl | require_decl | block_decl | forward_decl
    | error ';' { yyerrok; }
    | error '}' { yyerrok; }
    ;

model_decl: T_MODEL T_IDENT covers_opt ';' {
    if (ps->p->has_model) {
      ps->failed = true;
      ssd_err_at(ps->c, LOC(@1), SSD_EPARSE, "duplicate model declaration");
    } else {
      ps->p->has_model = true;
      ps->p->name = $2;
      ps->p->name_loc = LOC(@2);
      ps->p->covers = $3;
    }
  }
  ;

covers_opt: %empty { $$ = NULL; } | T_FOR covers { $$ = $2; } ;
covers: cover { $$ = $1; } | cover ',' covers { $1->next = $3; $$ = $1; } ;
cover: T_IDENT T_STRING {
    $$ = ssd_arena_alloc(ps->a, sizeof *$$);
    NN($$);
    $$->source = $1;
    $$->type = $2;
    $$->loc = LOC(@1);
  }
  ;

param_decl: T_PARAM T_IDENT '=' expr annots ';' {
    fe_param_ast *pa = ssd_arena_alloc(ps->a, sizeof *pa);
    NN(pa);
    pa->name = $2;
    pa->loc = LOC(@2);
    pa->value = $4;
    int n = 0;
    fe_key_ast *rev = NULL;
    for (fe_key_ast *k = $5, *nx; k; k = nx, n++) {
      nx = k->next;
      k->next = rev;
      rev = k;
    }
    pa->keys = rev;
    pa->nkeys = n;
    fe_add_param(ps, pa);
  }
  ;

annots: %empty { $$ = NULL; } | annots annot { $2->next = $1; $$ = $2; } ;
annot: '@' T_IDENT '(' path ')' {
    $$ = ssd_arena_alloc(ps->a, sizeof *$$);
    NN($$);
    *$$ = (fe_key_ast){.source = $2, .loc = LOC(@2), .path = $4};
  }
  | '@' T_IDENT '(' path ',' expr ')' {
    $$ = ssd_arena_alloc(ps->a, sizeof *$$);
    NN($$);
    *$$ = (fe_key_ast){.source = $2, .loc = LOC(@2), .path = $4, .dflt = $6};
  }
  ;

path: T_IDENT { $$ = $1; }
  | path '.' T_IDENT {
    if (strlen($1) > FE_MAX_IDENT) {
      ssd_err_at(ps->c, LOC(@3), SSD_EPARSE, "config key path too long");
      ps->fatal = ps->failed = true;
    }
    $$ = ssd_arena_printf(ps->a, "%s.%s", $1, $3);
    NN($$);
  }
  | path '[' T_INT ']' {
    if (strlen($1) > FE_MAX_IDENT) {
      ssd_err_at(ps->c, LOC(@3), SSD_EPARSE, "config key path too long");
      ps->fatal = ps->failed = true;
    }
    $$ = ssd_arena_printf(ps->a, "%s[%lld]", $1, (long long)$3);
    NN($$);
  }
  ;

require_decl: T_REQUIRE expr ':' T_STRING ';' {
    fe_require *r = ssd_arena_alloc(ps->a, sizeof *r);
    NN(r);
    r->cond = $2;
    r->msg = $4;
    r->loc = LOC(@1);
    fe_require **t = &ps->p->requires;
    r->next = *t; /* reversed; fe_parse_src restores source order */
    *t = r;
  }
  ;

block_decl: T_BLOCK T_IDENT '(' bparams_opt ')' body {
    fe_block *b = ssd_arena_alloc(ps->a, sizeof *b);
    NN(b);
    b->name = $2;
    b->loc = LOC(@2);
    b->params = fe_rev_names($4, &b->nparams);
    b->body = $6;
    b->layer_pos = -1;
    fe_add_block(ps, b);
  }
  ;

forward_decl: T_FORWARD '(' bparams_opt ')' body {
    fe_block *b = ssd_arena_alloc(ps->a, sizeof *b);
    NN(b);
    b->name = "forward";
    b->loc = LOC(@1);
    b->params = fe_rev_names($3, &b->nparams);
    b->body = $5;
    b->layer_pos = -1;
    b->is_forward = true;
    fe_add_block(ps, b);
  }
  ;

bparams_opt: %empty { $$ = NULL; } | bparams { $$ = $1; } ;
bparams: bparam { $$ = $1; } | bparams ',' bparam { $3->next = $1; $$ = $3; } ;
bparam: T_IDENT { $$ = fe_mk_name(ps, $1, LOC(@1)); NN($$); }
  | T_IDENT T_IDENT {
    /* `layer i`: "layer" is not reserved, so blocks may be called layer */
    if (strcmp($1, "layer")) {
      ps->failed = true;
      ssd_err_at(ps->c, LOC(@1), SSD_EPARSE,
                 "expected ',' or ')' after parameter '%s' (only 'layer NAME' takes a qualifier)", $1);
    }
    $$ = fe_mk_name(ps, $2, LOC(@2));
    NN($$);
    $$->layer = true;
  }
  ;

body: '{' stmts '}' { $$ = fe_rev_stmts($2); } ;

stmts: %empty { $$ = NULL; }
  | stmts stmt { if ($2) { $2->next = $1; $$ = $2; } else { $$ = $1; } }
  ;

stmt: T_WEIGHT T_IDENT '[' dims ']' dtype_opt '=' T_STRING wcond_opt ';' {
    $$ = fe_mk_stmt(ps, FE_S_WEIGHT, LOC(@1));
    NN($$);
    $$->name = $2;
    $$->nameloc = LOC(@2);
    $$->dims = fe_rev_args($4, &$$->ndims);
    $$->dtype = $6;
    $$->dtypeloc = LOC(@6);
    $$->ckpt = $8;
    $$->ckptloc = LOC(@8);
    $$->cond = $9;
  }
  | names '=' expr ';' {
    $$ = fe_mk_stmt(ps, FE_S_ASSIGN, LOC(@2));
    NN($$);
    $$->names = fe_rev_names($1, &$$->nnames);
    $$->value = $3;
  }
  | T_RETURN expr ';' {
    $$ = fe_mk_stmt(ps, FE_S_RETURN, LOC(@1));
    NN($$);
    $$->value = $2;
  }
  | T_FOR T_IDENT T_IN expr T_DOTDOT expr body {
    $$ = fe_mk_stmt(ps, FE_S_FOR, LOC(@1));
    NN($$);
    $$->name = $2;
    $$->nameloc = LOC(@2);
    $$->lo = $4;
    $$->hi = $6;
    $$->body = $7;
  }
  | if_stmt { $$ = $1; }
  | error ';' { yyerrok; $$ = NULL; }
  ;

if_stmt: T_IF expr body {
    $$ = fe_mk_stmt(ps, FE_S_IF, LOC(@1));
    NN($$);
    $$->cond = $2;
    $$->body = $3;
  }
  | T_IF expr body T_ELSE body {
    $$ = fe_mk_stmt(ps, FE_S_IF, LOC(@1));
    NN($$);
    $$->cond = $2;
    $$->body = $3;
    $$->els = $5;
  }
  | T_IF expr body T_ELSE if_stmt {
    $$ = fe_mk_stmt(ps, FE_S_IF, LOC(@1));
    NN($$);
    $$->cond = $2;
    $$->body = $3;
    $$->els = $5;
  }
  ;

dims: exprs { $$ = $1; } ;
dtype_opt: %empty { $$ = NULL; } | ':' T_IDENT { $$ = $2; } ;
wcond_opt: %empty { $$ = NULL; } | T_IF expr { $$ = $2; } ;

names: T_IDENT { $$ = fe_mk_name(ps, $1, LOC(@1)); NN($$); }
  | names ',' T_IDENT { $$ = fe_mk_name(ps, $3, LOC(@3)); NN($$); $$->next = $1; }
  ;

exprs: expr { $$ = fe_mk_arg(ps, NULL, $1, LOC(@1)); NN($$); }
  | exprs ',' expr { $$ = fe_mk_arg(ps, NULL, $3, LOC(@3)); NN($$); $$->next = $1; }
  ;
exprs_opt: %empty { $$ = NULL; } | exprs { $$ = $1; } ;

args: arg { $$ = $1; } | args ',' arg { $3->next = $1; $$ = $3; } ;
args_opt: %empty { $$ = NULL; } | args { $$ = $1; } ;
arg: expr { $$ = fe_mk_arg(ps, NULL, $1, LOC(@1)); NN($$); }
  | T_IDENT ':' expr { $$ = fe_mk_arg(ps, $1, $3, LOC(@1)); NN($$); }
  ;

expr: expr '?' expr ':' expr { $$ = fe_mk_cond(ps, $1, $3, $5, LOC(@2)); NN($$); }
  | expr T_OR expr  { $$ = fe_mk_bin(ps, FE_OP_OR, $1, $3, LOC(@2)); NN($$); }
  | expr T_AND expr { $$ = fe_mk_bin(ps, FE_OP_AND, $1, $3, LOC(@2)); NN($$); }
  | expr T_EQ expr  { $$ = fe_mk_bin(ps, FE_OP_EQ, $1, $3, LOC(@2)); NN($$); }
  | expr T_NE expr  { $$ = fe_mk_bin(ps, FE_OP_NE, $1, $3, LOC(@2)); NN($$); }
  | expr '<' expr   { $$ = fe_mk_bin(ps, '<', $1, $3, LOC(@2)); NN($$); }
  | expr '>' expr   { $$ = fe_mk_bin(ps, '>', $1, $3, LOC(@2)); NN($$); }
  | expr T_LE expr  { $$ = fe_mk_bin(ps, FE_OP_LE, $1, $3, LOC(@2)); NN($$); }
  | expr T_GE expr  { $$ = fe_mk_bin(ps, FE_OP_GE, $1, $3, LOC(@2)); NN($$); }
  | expr T_IN expr  { $$ = fe_mk_bin(ps, FE_OP_IN, $1, $3, LOC(@2)); NN($$); }
  | expr '+' expr   { $$ = fe_mk_bin(ps, '+', $1, $3, LOC(@2)); NN($$); }
  | expr '-' expr   { $$ = fe_mk_bin(ps, '-', $1, $3, LOC(@2)); NN($$); }
  | expr '*' expr   { $$ = fe_mk_bin(ps, '*', $1, $3, LOC(@2)); NN($$); }
  | expr '/' expr   { $$ = fe_mk_bin(ps, '/', $1, $3, LOC(@2)); NN($$); }
  | expr '%' expr   { $$ = fe_mk_bin(ps, '%', $1, $3, LOC(@2)); NN($$); }
  | '-' expr %prec UNARY { $$ = fe_mk_un(ps, '-', $2, LOC(@1)); NN($$); }
  | '!' expr %prec UNARY { $$ = fe_mk_un(ps, '!', $2, LOC(@1)); NN($$); }
  | primary { $$ = $1; }
  ;

primary: T_INT { $$ = fe_mk_expr(ps, FE_E_INT, LOC(@1)); NN($$); $$->i = $1; }
  | T_FLOAT { $$ = fe_mk_expr(ps, FE_E_FLOAT, LOC(@1)); NN($$); $$->f = $1; }
  | T_INF { $$ = fe_mk_expr(ps, FE_E_FLOAT, LOC(@1)); NN($$); $$->f = INFINITY; }
  | T_TRUE { $$ = fe_mk_expr(ps, FE_E_BOOL, LOC(@1)); NN($$); $$->i = 1; }
  | T_FALSE { $$ = fe_mk_expr(ps, FE_E_BOOL, LOC(@1)); NN($$); $$->i = 0; }
  | T_NONE { $$ = fe_mk_expr(ps, FE_E_NONE, LOC(@1)); NN($$); }
  | T_IDENT { $$ = fe_mk_expr(ps, FE_E_NAME, LOC(@1)); NN($$); $$->name = $1; }
  | T_IDENT '(' args_opt ')' { $$ = fe_mk_call(ps, $1, $3, LOC(@1)); NN($$); }
  | '(' expr ')' { $$ = $2; }
  | '[' exprs_opt ']' { $$ = fe_mk_list(ps, $2, LOC(@1)); NN($$); }
  ;

%%
