/* ir.h: ssdc's intermediate representation, the contract every stage reads.
 *
 * A module is a typed graph of tensor ops in SSA form.  The frontend lowers a
 * model file into it: a `main` function whose layer stack is a list of
 * IR_CALL nodes into block functions (one template per `block` of the model
 * file, with the layer index left symbolic in checkpoint names).  The passes
 * (passes/) elaborate the calls, infer and verify shapes, fold hyperparameter
 * arithmetic, lower head patterns, choose an algorithm per sequence length for
 * every IR_SSM and group ops into fused kernels.  The runtime (runtime/) and
 * codegen (codegen/) then read the final module.
 *
 * Conventions
 * - Activations are row-major and contiguous, batch first then sequence:
 *   [batch, seqlen, ...].  `batch` and `seqlen` are the only symbolic dims
 *   that survive canonicalization; every other dim folds to a constant.
 * - Linear weights keep the checkpoint (PyTorch) layout [out, in].
 * - Every node carries the model-file location it came from, so that the
 *   verifier's errors point at the user's line and column.
 * - Operands have a fixed arity per op; optional operands are NULL.
 * - Everything is allocated from the module's arena; nothing is freed
 *   individually.  Dead nodes are unlinked, not freed.
 */
#ifndef SSD_IR_H
#define SSD_IR_H

#include <stdbool.h>
#include <stdint.h>

#include "ssd_base.h"

#define IR_MAX_RANK 6

/* ---- dtypes ----------------------------------------------------------------- */
typedef enum { IR_F32, IR_BF16, IR_F16, IR_I32, IR_I64, IR_NDTYPES } ir_dtype;
const char *ir_dtype_name(ir_dtype t);
size_t ir_dtype_size(ir_dtype t);
int ir_dtype_parse(const char *s, ir_dtype *out); /* "f32" ... ; 0 on success */

/* ---- hyperparameters -------------------------------------------------------- */
typedef enum { IR_PARAM_INT, IR_PARAM_FLOAT, IR_PARAM_BOOL, IR_PARAM_LIST } ir_param_kind;

typedef struct ir_param {
  const char *name;
  ir_param_kind kind;
  int64_t i;      /* INT, BOOL (0/1) */
  double f;       /* FLOAT (may be +-inf) */
  int64_t *list;  /* LIST of ints (e.g. attention layer indices) */
  int nlist;
  ssd_loc loc;
} ir_param;

/* ---- dimensions --------------------------------------------------------------- */
/* A dim is a small expression: a constant, a symbolic runtime size (batch,
 * seqlen) or arithmetic over hyperparameters.  Canonicalization folds all
 * hyperparameter arithmetic to constants. */
typedef enum {
  IR_DIM_CONST,
  IR_DIM_SYM,   /* name: "batch" or "seqlen" */
  IR_DIM_PARAM, /* name: a hyperparameter of the module */
  IR_DIM_ADD, IR_DIM_SUB, IR_DIM_MUL, IR_DIM_DIV, IR_DIM_MOD
} ir_dim_kind;

typedef struct ir_dim {
  ir_dim_kind kind;
  int64_t v;             /* CONST */
  const char *name;      /* SYM, PARAM */
  const struct ir_dim *a, *b;
} ir_dim;

typedef struct ir_module ir_module;

const ir_dim *ir_dim_const(ir_module *m, int64_t v);
const ir_dim *ir_dim_sym(ir_module *m, const char *name);
const ir_dim *ir_dim_param(ir_module *m, const char *name);
const ir_dim *ir_dim_bin(ir_module *m, ir_dim_kind k, const ir_dim *a, const ir_dim *b);
/* Evaluate to a constant using the module's params.  Returns 0 and sets *out
 * when the dim is constant; nonzero when it is symbolic (batch/seqlen) or
 * ill-formed (division by zero, unknown param). */
int ir_dim_eval(const ir_module *m, const ir_dim *d, int64_t *out);
/* Evaluate with runtime sizes bound (batch, seqlen). */
int ir_dim_eval_rt(const ir_module *m, const ir_dim *d, int64_t batch, int64_t seqlen,
                   int64_t *out);
/* Same size?  Constants by value, symbols by name. */
bool ir_dim_equal(const ir_module *m, const ir_dim *a, const ir_dim *b);
/* Print like "expand*d_model", "seqlen", "1536". */
int ir_dim_snprint(char *buf, size_t n, const ir_dim *d);

/* ---- ops ------------------------------------------------------------------------ */
#define IR_OPS(X)                                                                                  \
  /* name            text            nin  nout  family      operands */                            \
  X(INPUT,          "input",         0,   1, INPUT    )  /* attrs.name: "ids" */                   \
  X(WEIGHT,         "weight",        0,   1, WEIGHT   )  /* attrs.ckpt, attrs.dtype (storage) */   \
  X(CONST,          "const",         0,   1, CONST    )  /* attrs.scalar, rank-0 f32 */            \
  X(CALL,           "call",         -1,  -1, NONE     )  /* attrs.callee, attrs.layer */           \
  X(OUTPUT,         "output",        1,   0, OUTPUT   )  /* attrs.name: "logits" */                \
  X(EMBED,          "embed",         2,   1, EMBED    )  /* ids, table[V,D] */                     \
  X(LINEAR,         "linear",        3,   1, LINEAR   )  /* x[...,K], W[N,K], bias[N]? */          \
  X(RMSNORM,        "rmsnorm",       2,   1, NORM     )  /* x, w; attrs.eps */                     \
  X(GATED_RMSNORM,  "gated_rmsnorm", 3,   1, NORM     )  /* x, z, w; eps, ngroups, norm_before_gate */ \
  X(LAYERNORM,      "layernorm",     3,   1, NORM     )  /* x, w, b?; eps */                       \
  X(CONV1D,         "conv1d",        3,   1, CONV     )  /* x[B,L,C], w[C,1,K], b[C]?; causal depthwise, stateful */ \
  X(SILU,           "silu",          1,   1, UNARY    )                                            \
  X(SOFTPLUS,       "softplus",      1,   1, UNARY    )  /* v > 20 -> v, as mamba_ssm */           \
  X(EXP,            "exp",           1,   1, UNARY    )                                            \
  X(LOG,            "log",           1,   1, UNARY    )                                            \
  X(GELU,           "gelu",          1,   1, UNARY    )  /* attrs.approx: 0 erf, 1 tanh */         \
  X(SIGMOID,        "sigmoid",       1,   1, UNARY    )                                            \
  X(NEG,            "neg",           1,   1, UNARY    )                                            \
  X(CLAMP,          "clamp",         1,   1, UNARY    )  /* attrs.lo, attrs.hi */                  \
  X(ADD,            "add",           2,   1, BINARY   )  /* numpy broadcasting */                  \
  X(SUB,            "sub",           2,   1, BINARY   )                                            \
  X(MUL,            "mul",           2,   1, BINARY   )                                            \
  X(DIV,            "div",           2,   1, BINARY   )                                            \
  X(CAST,           "cast",          1,   1, CAST     )  /* to out dtype */                        \
  X(SPLIT,          "split",         1,  -1, SPLIT    )  /* attrs.axis, attrs.sizes */             \
  X(RESHAPE,        "reshape",       1,   1, RESHAPE  )  /* last attrs.axis dims -> attrs.sizes (one NULL: inferred) */ \
  X(CONCAT,         "concat",       -1,   1, CONCAT   )  /* attrs.axis */                          \
  X(SSM,            "ssm",           9,   2, SSM      )  /* see IR_SSM_* operand indices */        \
  X(ATTENTION,      "attention",     3,   1, ATTENTION)  /* q[B,L,Hq,Dh], k,v[B,L,Hkv,Dh]; attrs.attn; stateful */

typedef enum {
#define X(name, text, nin, nout, fam) IR_##name,
  IR_OPS(X)
#undef X
  IR_NOPS
} ir_op;

const char *ir_op_name(ir_op op);
bool ir_op_is_elementwise(ir_op op); /* unary, binary, clamp, cast */

/* Ops an executor handles alike (one handler per family in rt_exec.c and
 * rt_gpu_model.c): the last column of IR_OPS. */
typedef enum {
  IR_FAM_NONE, /* not executable (call: inlined before execution) */
  IR_FAM_INPUT, IR_FAM_WEIGHT, IR_FAM_CONST, IR_FAM_OUTPUT, IR_FAM_EMBED, IR_FAM_LINEAR,
  IR_FAM_NORM, IR_FAM_CONV, IR_FAM_UNARY, IR_FAM_BINARY, IR_FAM_CAST, IR_FAM_SPLIT,
  IR_FAM_RESHAPE, IR_FAM_CONCAT, IR_FAM_SSM, IR_FAM_ATTENTION,
  IR_NFAMS
} ir_family;
ir_family ir_op_family(ir_op op);

/* Operand slots of IR_SSM.  Absent optional operands are NULL. */
enum {
  IR_SSM_X = 0,   /* [B, L, hx, P]                                          */
  IR_SSM_DT,      /* [B, L, hdt]            optional: absent means dt = 1     */
  IR_SSM_A,       /* SSD: [hdt]; S6: [hdt, N]  optional: absent means A = 0  */
  IR_SSM_B,       /* [B, L, hb, N]                                          */
  IR_SSM_C,       /* [B, L, hc, N]                                          */
  IR_SSM_D,       /* [H] (per head) or [H, P]   optional skip: y += D * x   */
  IR_SSM_Z,       /* [B, L, H, P]           optional gate: y *= silu(z)     */
  IR_SSM_DT_BIAS, /* [hdt]                  optional: dt += dt_bias         */
  IR_SSM_INIT,    /* [B, H, P, N]           optional initial state          */
};
/* Results: out[0] y [B, L, H, P]; out[1] final state [B, H, P, N] or NULL. */

typedef enum { IR_SSM_SSD, IR_SSM_S6 } ir_ssm_kind;
typedef enum { IR_FORM_UNSET, IR_FORM_QUADRATIC, IR_FORM_CHUNKED, IR_FORM_RECURRENT } ir_ssm_form;
const char *ir_form_name(ir_ssm_form f);

/* What the fusion pass folded into an IR_SSM (bits of ir_ssm_attr.fused). */
enum {
  IR_FUSE_DT_BIAS = 1 << 0,  /* dt + dt_bias                          */
  IR_FUSE_SOFTPLUS = 1 << 1, /* softplus(dt)                          */
  IR_FUSE_DT_LIMIT = 1 << 2, /* clamp(dt, lo, hi)                     */
  IR_FUSE_A_EXP = 1 << 3,    /* A = -exp(A_log): operand A holds A_log */
  IR_FUSE_D = 1 << 4,        /* y + D * x                             */
  IR_FUSE_Z = 1 << 5,        /* y * silu(z)                           */
};

typedef struct ir_ssm_choice {
  int64_t max_len;   /* this choice holds for seqlen <= max_len; -1: no bound */
  ir_ssm_form form;
  int64_t chunk;     /* CHUNKED only */
  double cost;       /* the cost model's estimate at max_len (for the dump) */
} ir_ssm_choice;

typedef struct ir_ssm_attr {
  ir_ssm_kind kind;
  int64_t H, P, N;            /* output heads, head dim, state size */
  int64_t hx, hb, hc, hdt;    /* heads of x, B, C and dt/A; each divides H */
  bool dt_softplus;           /* apply softplus to dt (after dt_bias) */
  double dt_min, dt_max;      /* clamp of dt after softplus; (0, inf) = none */
  bool A_is_log;              /* operand A holds A_log and A = -exp(A_log) */
  int64_t chunk;              /* requested chunk size Q (model file), 0 = pick */
  unsigned fused;             /* IR_FUSE_* bits */
  int nchoices;               /* algorithm selection, ascending max_len */
  ir_ssm_choice choices[4];
  int state_slot;             /* runtime state cache slot, -1 none */
} ir_ssm_attr;

typedef struct ir_attn_attr {
  int64_t nheads, nkv, headdim;
  int64_t rotary_dim;         /* 0: no rotary */
  double rope_theta;
  double scale;               /* 0: 1/sqrt(headdim) */
  bool causal;
  int state_slot;             /* KV cache slot, -1 none */
} ir_attn_attr;

typedef struct ir_func ir_func;

typedef struct ir_attrs {
  const char *name;      /* INPUT/OUTPUT name; WEIGHT display name */
  const char *ckpt;      /* WEIGHT: checkpoint tensor name; "{i}" = layer index before elaboration */
  ir_dtype dtype;        /* WEIGHT: declared storage dtype (checked against the checkpoint) */
  bool tied;             /* WEIGHT: shares storage with another weight (tied embeddings) */
  double scalar;         /* CONST */
  double eps;            /* norms */
  int64_t ngroups;       /* GATED_RMSNORM */
  bool norm_before_gate; /* GATED_RMSNORM */
  double lo, hi;         /* CLAMP */
  int approx;            /* GELU */
  int axis;              /* SPLIT, CONCAT: -1 = last, non-negative after shape inference;
                            RESHAPE: how many trailing input dims are replaced */
  int nsizes;            /* SPLIT, RESHAPE */
  const ir_dim **sizes;  /* SPLIT: part sizes; RESHAPE: new trailing dims, one may be NULL */
  int64_t kernel;        /* CONV1D: K */
  int state_slot;        /* CONV1D: conv state slot, -1 none */
  ir_func *callee;       /* CALL */
  int64_t layer;         /* CALL: layer index bound to the block's `i` */
  ir_ssm_attr *ssm;      /* SSM */
  ir_attn_attr *attn;    /* ATTENTION */
} ir_attrs;

/* ---- values and nodes ---------------------------------------------------------- */
typedef struct ir_node ir_node;

typedef struct ir_value {
  int id;                 /* SSA number, printed %id; unique in the module */
  ir_dtype dtype;
  int rank;
  const ir_dim *dims[IR_MAX_RANK];
  ir_node *def;           /* NULL for function parameters */
  int def_index;          /* which result of def */
  const char *name;       /* source-level name, for readable dumps; may be NULL */
  int nuses;              /* maintained by ir_count_uses */
  int buffer;             /* memory plan (pass_memplan): activation buffer, 1-based; 0 = none */
} ir_value;

struct ir_node {
  ir_op op;
  int id;
  ssd_loc loc;
  int nin, nout;
  ir_value **in;          /* nin slots, optional ones NULL */
  ir_value **out;
  ir_attrs a;
  int layer;              /* layer index after elaboration, -1 outside the stack */
  int group;              /* fusion group, 0 = not fused with anything */
  ir_node *prev, *next;
};

struct ir_func {
  const char *name;       /* "main" or the block's name */
  ssd_loc loc;
  int nparams;
  ir_value **params;      /* block inputs; main has none (it uses IR_INPUT) */
  const char *layer_var;  /* the block's layer-index parameter name ("i"), or NULL */
  int nresults;
  ir_value **results;
  ir_node *first, *last;  /* nodes in a valid topological order */
};

struct ir_module {
  ssd_arena *arena;
  const char *name;       /* model name */
  const ssd_src *src;     /* the model file */
  int nparams;
  ir_param *params;       /* resolved hyperparameters, after --set/config */
  ir_func *main;
  int nfuncs;
  ir_func **funcs;        /* block templates (before elaboration) */
  int next_value, next_node;
  int64_t seqlen_hint;    /* --seqlen: 0 = none; algorithm selection names one form */
  int nstate_slots;       /* assigned by the state/memory planning pass */
  int ngroups;            /* fusion groups assigned */
  /* Memory plan (pass_memplan): activations [batch, seqlen, ...] share
   * nbuffers buffers; buffer b holds buffer_elems[b-1] elements per
   * (batch, seqlen) position.  Reshapes alias their input's buffer. */
  int nbuffers;
  int64_t *buffer_elems;
};

/* ---- building ------------------------------------------------------------------- */
/* The module owns an arena (created here, freed by ir_module_free). */
ir_module *ir_module_new(const char *name);
void ir_module_free(ir_module *m);
ir_param *ir_module_param(const ir_module *m, const char *name); /* NULL if absent */
ir_func *ir_func_new(ir_module *m, const char *name, ssd_loc loc);
ir_value *ir_func_add_param(ir_module *m, ir_func *f, ir_dtype t, int rank,
                            const ir_dim *const *dims, const char *name);

/* Append a node to f.  `in` is copied (nin slots, NULLs allowed).  The nout
 * results are created with dtype F32 and rank 0; set their types with
 * ir_value_set_type, or leave them for shape inference.  Returns NULL on OOM. */
ir_node *ir_node_new(ir_module *m, ir_func *f, ir_op op, ssd_loc loc, int nin,
                     ir_value *const *in, int nout);
void ir_value_set_type(ir_value *v, ir_dtype t, int rank, const ir_dim *const *dims);
/* Insert/unlink within a function's list. */
void ir_node_insert_before(ir_func *f, ir_node *pos, ir_node *n);
void ir_node_unlink(ir_func *f, ir_node *n);
/* Replace every use of `from` by `to` in f (and in f's results). */
void ir_replace_uses(ir_func *f, ir_value *from, ir_value *to);
void ir_count_uses(ir_func *f);
ir_ssm_attr *ir_ssm_attr_new(ir_module *m);
ir_attn_attr *ir_attn_attr_new(ir_module *m);

/* ---- reading --------------------------------------------------------------------- */
/* Element count with runtime sizes bound; 0 and nonzero return on overflow. */
int ir_value_numel(const ir_module *m, const ir_value *v, int64_t batch, int64_t seqlen,
                   int64_t *out);
/* The form selected for an IR_SSM at sequence length L. */
const ir_ssm_choice *ir_ssm_choose(const ir_ssm_attr *s, int64_t L);

/* ---- verify, print ------------------------------------------------------------------ */
/* Type, shape and head-divisibility checks.  Errors point at node locations. */
int ir_verify(const ir_module *m, ssd_ctx *c);
/* Stable text form, diffable in golden tests: no pointers, no timestamps. */
void ir_print(FILE *f, const ir_module *m);
/* Graphviz dot: one node per op, fusion groups as clusters. */
void ir_print_dot(FILE *f, const ir_module *m);

#endif
