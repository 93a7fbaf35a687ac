/* fe_ast.h: the frontend's private data: the syntax tree the parser builds
 * (arena-allocated, never freed piecemeal), the builtin table the checker
 * and the lowering share, and the entry points between the frontend's files.
 *
 * Data flow: fe_parse.c drives the bison parser (fe_parser.y) over the flex
 * scanner (fe_lexer.l) to build an fe_program; fe_check.c resolves names and
 * types in place; fe_params.c evaluates hyperparameters with overrides;
 * fe_lower.c turns the checked tree into IR (ir.h).
 */
#ifndef SSD_FE_AST_H
#define SSD_FE_AST_H

#include "fe.h"

/* Limits that keep hostile input from exhausting the stack or the clock. */
enum {
  FE_MAX_FILE = 16 << 20,  /* bytes of model file */
  FE_MAX_NEST = 256,       /* open brackets and braces at once */
  FE_MAX_DEPTH = 512,      /* expression tree depth */
  FE_MAX_IDENT = 256,      /* identifier length */
  FE_MAX_UNROLL = 1 << 16, /* iterations of one `for` */
  FE_MAX_NODES = 1 << 20,  /* IR nodes one lowering may create */
  FE_MAX_LIST = 4096,      /* elements of a list value */
};

/* ---- types (checker) -------------------------------------------------- */
typedef enum {
  FE_T_ERR,    /* already diagnosed: stay quiet */
  FE_T_INT,
  FE_T_FLOAT,
  FE_T_BOOL,
  FE_T_LIST,   /* list of ints */
  FE_T_TENSOR, /* may still be `none` at lowering if it is an optional weight */
  FE_T_NONE,
  FE_T_LAYER,  /* a block's layer index: symbolic until elaboration */
  FE_T_MULTI,  /* several results (split, ssm): only an assignment takes them */
} fe_type;
const char *fe_type_name(fe_type t);

/* ---- expressions ------------------------------------------------------ */
enum { FE_OP_EQ = 256, FE_OP_NE, FE_OP_LE, FE_OP_GE, FE_OP_AND, FE_OP_OR, FE_OP_IN };

typedef enum {
  FE_E_INT, FE_E_FLOAT, FE_E_BOOL, FE_E_NONE, FE_E_NAME, FE_E_LIST,
  FE_E_UNARY, FE_E_BINARY, FE_E_COND, FE_E_CALL
} fe_ekind;

typedef struct fe_expr fe_expr;
typedef struct fe_block fe_block;
typedef struct fe_builtin fe_builtin;

typedef struct fe_arg {
  const char *kw; /* keyword argument name, or NULL */
  ssd_loc loc;
  fe_expr *e;
  struct fe_arg *next;
} fe_arg;

struct fe_expr {
  fe_ekind kind;
  ssd_loc loc;          /* the operator, the callee's name, the literal */
  ssd_loc first;        /* where the whole expression starts */
  int op;               /* UNARY: '-' '!'; BINARY: + - * / % < > FE_OP_* */
  int64_t i;            /* INT, BOOL */
  double f;             /* FLOAT */
  const char *name;     /* NAME, CALL */
  fe_expr *a, *b, *c;   /* operands; COND: a ? b : c */
  fe_arg *args;         /* CALL arguments, LIST items */
  int nargs;
  int depth;            /* tree depth, bounded by FE_MAX_DEPTH */
  /* Filled by the checker. */
  fe_type type;
  int nresults;              /* CALL: results it yields (split: n) */
  const fe_builtin *builtin; /* CALL of a builtin */
  fe_block *block;           /* CALL of a block */
};

/* ---- statements -------------------------------------------------------- */
typedef struct fe_name {
  const char *name;
  ssd_loc loc;
  bool layer; /* block parameter declared `layer NAME` */
  struct fe_name *next;
} fe_name;

typedef enum { FE_S_WEIGHT, FE_S_ASSIGN, FE_S_RETURN, FE_S_FOR, FE_S_IF } fe_skind;

typedef struct fe_stmt fe_stmt;
struct fe_stmt {
  fe_skind kind;
  ssd_loc loc;
  fe_stmt *next;
  const char *name;   /* WEIGHT name, FOR variable */
  ssd_loc nameloc;
  fe_arg *dims;       /* WEIGHT */
  int ndims;
  const char *ckpt;   /* WEIGHT checkpoint name template */
  ssd_loc ckptloc;
  const char *dtype;  /* WEIGHT storage dtype name, or NULL (f32) */
  ssd_loc dtypeloc;
  fe_expr *cond;      /* WEIGHT `if`, IF condition */
  fe_name *names;     /* ASSIGN targets */
  int nnames;
  fe_expr *value;     /* ASSIGN, RETURN */
  fe_expr *lo, *hi;   /* FOR range [lo, hi) */
  fe_stmt *body, *els;
};

/* ---- string maps (open addressing, arena-backed): lookups stay O(1) even
 * for hostile files with 100k names. ---------------------------------------- */
typedef struct fe_map {
  ssd_arena *a;
  const char **keys;
  void **vals;
  size_t cap, n;
} fe_map;
void fe_map_init(fe_map *m, ssd_arena *a);
void *fe_map_get(const fe_map *m, const char *key);
int fe_map_put(fe_map *m, const char *key, void *val); /* SSD_OK or SSD_ENOMEM */

/* ---- top level ---------------------------------------------------------- */
typedef struct fe_key_ast {
  const char *source;
  ssd_loc loc;
  const char *path;
  fe_expr *dflt; /* NULL: no default */
  struct fe_key_ast *next;
} fe_key_ast;

typedef struct fe_param_ast {
  const char *name;
  ssd_loc loc;
  fe_expr *value;
  fe_key_ast *keys;
  int nkeys;
  struct fe_param_ast *next;
  int index;
  /* Filled by the checker. */
  ir_param_kind kind;
  bool derived;
  /* Set by fe_set / fe_set_value. */
  bool overridden;
  ir_param over;
} fe_param_ast;

typedef struct fe_require {
  fe_expr *cond;
  const char *msg;
  ssd_loc loc;
  struct fe_require *next;
} fe_require;

struct fe_block {
  const char *name;
  ssd_loc loc;
  fe_name *params;
  int nparams;
  int layer_pos;       /* index of the `layer` parameter, -1 none */
  fe_stmt *body;
  bool is_forward;
  struct fe_block *next;
  int mark;            /* recursion check: 0 new, 1 on stack, 2 done */
};

typedef struct fe_cover {
  const char *source, *type;
  ssd_loc loc;
  struct fe_cover *next;
} fe_cover;

struct fe_program {
  ssd_arena *a;
  const ssd_src *src;
  const char *name;
  ssd_loc name_loc;
  bool has_model;
  fe_cover *covers;
  fe_param_ast *params;
  int nparams;
  fe_param_ast **param_at;  /* by index */
  fe_param_info *infos;     /* fe_param() views, built by the checker */
  fe_require *requires;
  fe_block *blocks;
  fe_block *forward;
  fe_map param_map; /* name -> fe_param_ast (built by the checker) */
  fe_map block_map; /* name -> fe_block */
};

/* ---- builtins ------------------------------------------------------------ */
/* What an argument slot accepts. */
typedef enum {
  FE_A_TENSOR,   /* required tensor */
  FE_A_OPT,      /* optional tensor: may be omitted or `none` */
  FE_A_FLOAT,    /* compile-time number */
  FE_A_INT,      /* compile-time int */
  FE_A_BOOL,     /* compile-time bool */
  FE_A_SIZES,    /* list literal of int expressions (dims) */
  FE_A_DTYPE,    /* a dtype name: f32, bf16, f16 */
  FE_A_LIST,     /* a compile-time list value */
} fe_akind;

typedef struct fe_slot {
  const char *name;
  fe_akind kind;
  bool required;
} fe_slot;

typedef enum {
  FE_B_EMBED, FE_B_LINEAR, FE_B_RMSNORM, FE_B_GATED_RMSNORM, FE_B_LAYERNORM, FE_B_CONV1D,
  FE_B_SILU, FE_B_SOFTPLUS, FE_B_EXP, FE_B_LOG, FE_B_GELU, FE_B_SIGMOID, FE_B_CLAMP,
  FE_B_CAST, FE_B_SPLIT, FE_B_HEADS, FE_B_MERGE, FE_B_CONCAT, FE_B_SSM, FE_B_ATTENTION,
  FE_B_GATED_MLP,
  /* compile-time scalar functions */
  FE_B_INT, FE_B_FLOAT, FE_B_CEIL, FE_B_MIN, FE_B_MAX, FE_B_LEN,
} fe_bid;

struct fe_builtin {
  const char *name;
  fe_bid id;
  bool scalar;     /* compile-time function of numbers */
  bool variadic;   /* concat: any number of tensors */
  int nslots;
  fe_slot slots[14];
};

const fe_builtin *fe_builtin_find(const char *name);
int fe_builtin_slot(const fe_builtin *b, const char *name); /* -1 if none */
/* Match a call's arguments to slots: out[slot] = argument or NULL.
 * Reports arity and keyword errors; returns SSD_OK or SSD_ECHECK. */
int fe_builtin_bind(const fe_builtin *b, const fe_expr *call, const fe_arg **out, ssd_ctx *c);

/* ---- the parser's state (shared by fe_lexer.l, fe_parser.y, fe_parse.c) -- */
typedef struct fe_pstate {
  ssd_arena *a;
  const ssd_src *src;
  ssd_ctx *c;
  fe_program *p;
  int line, col;   /* where the scanner stands (1-based) */
  int nest;        /* open ( [ { */
  bool fatal;      /* stop: limits hit or too many errors */
  bool failed;     /* some syntax or lexical error was reported */
} fe_pstate;

ssd_loc fe_loc(const fe_pstate *ps, int line, int col);
fe_expr *fe_mk_expr(fe_pstate *ps, fe_ekind k, ssd_loc loc);
fe_expr *fe_mk_bin(fe_pstate *ps, int op, fe_expr *a, fe_expr *b, ssd_loc loc);
fe_expr *fe_mk_un(fe_pstate *ps, int op, fe_expr *a, ssd_loc loc);
fe_expr *fe_mk_cond(fe_pstate *ps, fe_expr *a, fe_expr *b, fe_expr *c, ssd_loc loc);
fe_expr *fe_mk_call(fe_pstate *ps, const char *name, fe_arg *args, ssd_loc loc);
fe_expr *fe_mk_list(fe_pstate *ps, fe_arg *items, ssd_loc loc);
fe_arg *fe_mk_arg(fe_pstate *ps, const char *kw, fe_expr *e, ssd_loc loc);
fe_stmt *fe_mk_stmt(fe_pstate *ps, fe_skind k, ssd_loc loc);
fe_name *fe_mk_name(fe_pstate *ps, const char *name, ssd_loc loc);
/* Lists are built backwards by the parser (O(1) per item) and reversed once. */
fe_arg *fe_rev_args(fe_arg *l, int *n);
fe_stmt *fe_rev_stmts(fe_stmt *l);
fe_name *fe_rev_names(fe_name *l, int *n);
void fe_add_param(fe_pstate *ps, fe_param_ast *pa);
void fe_add_block(fe_pstate *ps, fe_block *b);

/* ---- between the frontend's files --------------------------------------- */
int fe_parse_src(ssd_arena *a, const ssd_src *src, fe_program **out, ssd_ctx *c);
int fe_check(fe_program *p, ssd_ctx *c);
/* Evaluate every param (declaration order, overrides applied) into vals
 * (nparams entries, allocated from a). */
int fe_eval_params(fe_program *p, ssd_arena *a, ir_param **vals, ssd_ctx *c);
/* Evaluate a compile-time (int, float, bool, list) expression; names are
 * resolved by fn (NULL: no names allowed).  Lists are allocated from a. */
typedef int (*fe_lookup_fn)(void *env, const fe_expr *name, ir_param *out, ssd_ctx *c);
int fe_eval_const(const fe_expr *e, fe_lookup_fn fn, void *env, ssd_arena *a, ir_param *out,
                  ssd_ctx *c);
/* Name lookup over evaluated params (env: the fe_program, vals in order). */
typedef struct fe_param_env {
  const fe_program *p;
  const ir_param *vals;
} fe_param_env;
int fe_param_lookup(void *env, const fe_expr *name, ir_param *out, ssd_ctx *c);
int fe_check_requires(const fe_program *p, const ir_param *vals, ssd_arena *a, ssd_ctx *c);
fe_param_ast *fe_param_find(const fe_program *p, const char *name);
bool fe_ctx_full(const ssd_ctx *c); /* error cap reached: stop reporting */

/* Shared scalar arithmetic with overflow and division checks.  Operands are
 * INT, FLOAT or BOOL ir_params; the result kind follows the usual
 * promotion (int op int -> int, otherwise float). */
int fe_scalar_binop(int op, const ir_param *x, const ir_param *y, ir_param *out, ssd_loc loc,
                    ssd_ctx *c);
int fe_scalar_unop(int op, const ir_param *x, ir_param *out, ssd_loc loc, ssd_ctx *c);
int fe_scalar_call(const fe_builtin *b, const ir_param *args, int nargs, ir_param *out,
                   ssd_loc loc, ssd_ctx *c);

#endif
