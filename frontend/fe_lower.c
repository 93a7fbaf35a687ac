/* fe_lower.c: checked program + hyperparameters -> IR module (ir.h).
 *
 * Everything that depends only on hyperparameters is decided here: `for`
 * unrolls, `if` and `?:` pick a branch, optional weights become `none` or a
 * WEIGHT node, builtin sugar (gated_mlp) expands.  What stays symbolic:
 * - the layer stack: each block that forward calls becomes one ir_func
 *   template whose checkpoint names keep "{i}" (ir_func.layer_var), and
 *   forward's calls become IR_CALL nodes in `main`; blocks that a block
 *   calls are inlined into the caller's template (so the IR nests one
 *   level only), with the caller's layer index passed through;
 * - weight dims and split/heads sizes: IR dims over the hyperparameter
 *   names, for the canonicalization pass to fold.
 * Node types are set only where the frontend knows them (INPUT, WEIGHT,
 * CONST, CAST's dtype); shape inference does the rest.
 */
#include <math.h>
#include <string.h>

#include "fe_ast.h"

typedef enum { V_SCALAR, V_TENSOR, V_NONE, V_LAYER } vkind;

typedef struct val {
  vkind k;
  ir_param s;   /* SCALAR */
  ir_value *t;  /* TENSOR */
} val;

typedef struct lscope {
  fe_map names; /* name -> val* */
  struct lscope *up;
} lscope;

/* One block body being lowered (a template, or a block inlined into one). */
typedef struct frame {
  fe_block *blk;
  lscope *sc;
  bool layer_sym;       /* layer index is the template's symbolic index */
  int64_t layer;        /* otherwise its value (-1: none) */
} frame;

typedef struct L {
  fe_program *p;
  ssd_ctx *c;
  ir_module *m;
  ir_param *vals;       /* evaluated params, in declaration order */
  ir_func *f;           /* function receiving nodes */
  frame *fr;
  fe_map templates;     /* block name -> ir_func */
  long steps;           /* statements and loop iterations executed */
  int inline_depth;
  int recursion;        /* lw_expr + lw_stmts frames active */
} L;

/* Work and recursion bounds: statements and iterations executed, blocks
 * inlined into each other, and lw_expr/lw_stmts frames on the stack (the
 * parser bounds each expression and each body, but inlining stacks them). */
enum { MAX_STEPS = 1 << 19, MAX_INLINE = 16, MAX_RECURSION = 4096 };

static int oom(L *l) { return ssd_err(l->c, SSD_ENOMEM, "out of memory while lowering"); }

/* ---- scopes ----------------------------------------------------------------- */
static int push(L *l) {
  lscope *s = ssd_arena_alloc(l->m->arena, sizeof *s);
  if (!s) return oom(l);
  fe_map_init(&s->names, l->m->arena);
  s->up = l->fr->sc;
  l->fr->sc = s;
  return SSD_OK;
}

static void pop(L *l) { l->fr->sc = l->fr->sc->up; }

static val *find(L *l, const char *name) {
  for (lscope *s = l->fr->sc; s; s = s->up) {
    val *v = fe_map_get(&s->names, name);
    if (v) return v;
  }
  return NULL;
}

/* Assignment updates the innermost existing binding, else defines here. */
static int bind(L *l, const char *name, val v) {
  val *old = find(l, name);
  if (old) {
    *old = v;
    return SSD_OK;
  }
  val *n = ssd_arena_alloc(l->m->arena, sizeof *n);
  if (!n || fe_map_put(&l->fr->sc->names, name, n)) return oom(l);
  *n = v;
  return SSD_OK;
}

/* Names in compile-time expressions: loop variables and locals first. */
static int lookup_scalar(void *env, const fe_expr *e, ir_param *out, ssd_ctx *c) {
  L *l = env;
  val *v = find(l, e->name);
  if (v) {
    if (v->k != V_SCALAR) return ssd_err_at(c, e->loc, SSD_ECHECK, "'%s' is not a constant", e->name);
    *out = v->s;
    return SSD_OK;
  }
  fe_param_env pe = {l->p, l->vals};
  return fe_param_lookup(&pe, e, out, c);
}

static int eval(L *l, const fe_expr *e, ir_param *out) {
  return fe_eval_const(e, lookup_scalar, l, l->m->arena, out, l->c);
}

/* ---- nodes ---------------------------------------------------------------------- */
static ir_node *node(L *l, ir_op op, ssd_loc loc, int nin, ir_value *const *in, int nout) {
  if (l->m->next_node >= FE_MAX_NODES) {
    ssd_err_at(l->c, loc, SSD_ECHECK, "model too large: more than %d IR nodes", FE_MAX_NODES);
    return NULL;
  }
  ir_node *n = ir_node_new(l->m, l->f, op, loc, nin, in, nout);
  if (!n) oom(l);
  return n;
}

static ir_value *unop(L *l, ir_op op, ssd_loc loc, ir_value *x) {
  ir_node *n = node(l, op, loc, 1, &x, 1);
  return n ? n->out[0] : NULL;
}

static ir_value *binop(L *l, ir_op op, ssd_loc loc, ir_value *x, ir_value *y) {
  ir_value *in[2] = {x, y};
  ir_node *n = node(l, op, loc, 2, in, 1);
  return n ? n->out[0] : NULL;
}

static ir_value *constant(L *l, ssd_loc loc, double v) {
  ir_node *n = node(l, IR_CONST, loc, 0, NULL, 1);
  if (!n) return NULL;
  n->a.scalar = v;
  ir_value_set_type(n->out[0], IR_F32, 0, NULL);
  return n->out[0];
}

/* ---- dims ------------------------------------------------------------------------ */
static int64_t as_int(const ir_param *v) { return v->kind == IR_PARAM_FLOAT ? (int64_t)v->f : v->i; }

static ir_dim_kind dim_op(int op) {
  switch (op) {
  case '+': return IR_DIM_ADD;
  case '-': return IR_DIM_SUB;
  case '*': return IR_DIM_MUL;
  case '/': return IR_DIM_DIV;
  case '%': return IR_DIM_MOD;
  default: return IR_DIM_CONST;
  }
}

/* The IR form of an int expression: param names and + - * / % stay
 * symbolic; anything else (loop variables, calls, ?:) folds to a constant.
 * Deep expressions fold too: ir_dim_eval bounds its recursion. */
static const ir_dim *sym_dim(L *l, const fe_expr *e, int64_t value) {
  if (e->depth <= 24) {
    if (e->kind == FE_E_NAME && !find(l, e->name) && fe_param_find(l->p, e->name))
      return ir_dim_param(l->m, e->name);
    if (e->kind == FE_E_BINARY && dim_op(e->op) != IR_DIM_CONST) {
      ir_param a, b;
      if (eval(l, e->a, &a) || eval(l, e->b, &b)) return NULL;
      const ir_dim *x = sym_dim(l, e->a, as_int(&a)), *y = sym_dim(l, e->b, as_int(&b));
      return x && y ? ir_dim_bin(l->m, dim_op(e->op), x, y) : NULL;
    }
  }
  return ir_dim_const(l->m, value);
}

/* A positive size (weight dim, split part, head count). */
static const ir_dim *size_dim(L *l, const fe_expr *e, const char *what) {
  ir_param v;
  if (eval(l, e, &v)) return NULL;
  if (v.i <= 0) {
    ssd_err_at(l->c, e->first, SSD_ECHECK, "%s evaluates to %lld; it must be positive", what,
               (long long)v.i);
    return NULL;
  }
  const ir_dim *d = sym_dim(l, e, v.i);
  if (!d) oom(l);
  return d;
}

/* ---- weights ------------------------------------------------------------------------ */
/* "backbone.layers.{i}.norm": the template's own layer index stays "{i}"
 * (under the template's layer_var name); loop variables and inlined
 * constant layers become digits. */
static const char *ckpt_name(L *l, const fe_stmt *s) {
  /* One pass into one buffer (no re-copying per placeholder): a
   * placeholder is at least 3 bytes ("{k}") and becomes at most 258. */
  size_t n = strlen(s->ckpt), cap = n * 86 + 1, o = 0;
  char *out = ssd_arena_alloc(l->m->arena, cap);
  if (!out) return NULL;
  for (const char *t = s->ckpt; *t;) {
    if (*t != '{') {
      out[o++] = *t++;
      continue;
    }
    const char *cl = strchr(t, '}');
    char name[FE_MAX_IDENT + 1];
    size_t k = (size_t)(cl - t - 1);
    memcpy(name, t + 1, k);
    name[k] = 0;
    val *v = find(l, name);
    if (v && v->k == V_LAYER && l->fr->layer_sym)
      o += (size_t)snprintf(out + o, cap - o, "{%s}", l->f->layer_var);
    else
      o += (size_t)snprintf(out + o, cap - o, "%lld",
                            (long long)(v && v->k == V_LAYER ? l->fr->layer : v ? v->s.i : 0));
    t = cl + 1;
  }
  out[o] = 0;
  return out;
}

static int lw_weight(L *l, const fe_stmt *s) {
  if (s->cond) {
    ir_param c;
    int rc = eval(l, s->cond, &c);
    if (rc) return rc;
    if (!c.i) return bind(l, s->name, (val){.k = V_NONE});
  }
  const ir_dim *dims[IR_MAX_RANK];
  int i = 0;
  for (const fe_arg *d = s->dims; d; d = d->next, i++)
    if (!(dims[i] = size_dim(l, d->e, "weight dim"))) return SSD_ECHECK;
  ir_dtype dt = IR_F32;
  if (s->dtype) ir_dtype_parse(s->dtype, &dt);
  ir_node *n = node(l, IR_WEIGHT, s->loc, 0, NULL, 1);
  if (!n) return SSD_ECHECK;
  n->a.name = ssd_arena_strdup(l->m->arena, s->name);
  n->a.ckpt = ckpt_name(l, s);
  if (!n->a.name || !n->a.ckpt) return oom(l);
  n->a.dtype = dt;
  ir_value_set_type(n->out[0], IR_F32, s->ndims, dims);
  n->out[0]->name = n->a.name;
  return bind(l, s->name, (val){.k = V_TENSOR, .t = n->out[0]});
}

/* ---- expressions ------------------------------------------------------------------- */
static int lw_expr(L *l, const fe_expr *e, val *out);
static int lw_call(L *l, const fe_expr *e, val *outs, int nouts);

static bool scalar_type(fe_type t) {
  return t == FE_T_INT || t == FE_T_FLOAT || t == FE_T_BOOL || t == FE_T_LIST;
}

/* A tensor operand: scalars become rank-0 constants; none is an error. */
static ir_value *tensor_of(L *l, const val *v, const fe_expr *e) {
  if (v->k == V_TENSOR) return v->t;
  if (v->k == V_SCALAR) {
    double x = v->s.kind == IR_PARAM_FLOAT ? v->s.f : (double)v->s.i;
    return constant(l, e->loc, x);
  }
  ssd_err_at(l->c, e->first, SSD_ECHECK,
             "this value is none (an optional weight whose condition is false) but a tensor is "
             "needed here");
  return NULL;
}

static int lw_tensor(L *l, const fe_expr *e, ir_value **out) {
  val v;
  int rc = lw_expr(l, e, &v);
  if (rc) return rc;
  *out = tensor_of(l, &v, e);
  return *out ? SSD_OK : SSD_ECHECK;
}

/* An optional tensor operand: none or absent -> NULL. */
static int lw_opt(L *l, const fe_arg *a, ir_value **out) {
  *out = NULL;
  if (!a) return SSD_OK;
  val v;
  int rc = lw_expr(l, a->e, &v);
  if (rc) return rc;
  if (v.k == V_NONE) return SSD_OK;
  *out = tensor_of(l, &v, a->e);
  return *out ? SSD_OK : SSD_ECHECK;
}

static int lw_binary(L *l, const fe_expr *e, val *out) {
  static const struct { int op; ir_op ir; } ops[] = {
      {'+', IR_ADD}, {'-', IR_SUB}, {'*', IR_MUL}, {'/', IR_DIV}};
  ir_value *x, *y;
  int rc = lw_tensor(l, e->a, &x);
  if (!rc) rc = lw_tensor(l, e->b, &y);
  if (rc) return rc;
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (ops[i].op == e->op) {
      out->k = V_TENSOR;
      out->t = binop(l, ops[i].ir, e->loc, x, y);
      return out->t ? SSD_OK : SSD_ECHECK;
    }
  return ssd_err_at(l->c, e->loc, SSD_EINTERNAL, "operator not supported on tensors");
}

static int lw_expr_at(L *l, const fe_expr *e, val *out);

static int too_deep(L *l, ssd_loc loc) {
  return ssd_err_at(l->c, loc, SSD_ECHECK, "model nested too deeply to lower (blocks within blocks)");
}

static int lw_expr(L *l, const fe_expr *e, val *out) {
  if (++l->recursion > MAX_RECURSION) return too_deep(l, e->loc);
  int rc = lw_expr_at(l, e, out);
  l->recursion--;
  return rc;
}

static int lw_expr_at(L *l, const fe_expr *e, val *out) {
  memset(out, 0, sizeof *out);
  if (scalar_type(e->type)) {
    out->k = V_SCALAR;
    return eval(l, e, &out->s);
  }
  int rc;
  switch (e->kind) {
  case FE_E_NONE: out->k = V_NONE; return SSD_OK;
  case FE_E_NAME: {
    val *v = find(l, e->name);
    if (!v) return ssd_err_at(l->c, e->loc, SSD_EINTERNAL, "unbound name '%s'", e->name);
    *out = *v;
    return SSD_OK;
  }
  case FE_E_UNARY: {
    ir_value *x;
    if ((rc = lw_tensor(l, e->a, &x))) return rc;
    out->k = V_TENSOR;
    out->t = unop(l, IR_NEG, e->loc, x);
    return out->t ? SSD_OK : SSD_ECHECK;
  }
  case FE_E_BINARY: return lw_binary(l, e, out);
  case FE_E_COND: {
    ir_param c;
    if ((rc = eval(l, e->a, &c))) return rc;
    return lw_expr(l, c.i ? e->b : e->c, out);
  }
  case FE_E_CALL: return lw_call(l, e, out, 1);
  default: break;
  }
  return ssd_err_at(l->c, e->loc, SSD_EINTERNAL, "cannot lower this expression");
}

/* ---- builtins ------------------------------------------------------------------------ */
typedef struct bargs {
  const fe_arg *slot[16];
} bargs;

static int arg_num(L *l, const fe_arg *a, double dflt, double *out) {
  if (!a) {
    *out = dflt;
    return SSD_OK;
  }
  ir_param v;
  int rc = eval(l, a->e, &v);
  if (!rc) *out = v.kind == IR_PARAM_FLOAT ? v.f : (double)v.i;
  return rc;
}

static int arg_int(L *l, const fe_arg *a, int64_t dflt, int64_t *out) {
  if (!a) {
    *out = dflt;
    return SSD_OK;
  }
  ir_param v;
  int rc = eval(l, a->e, &v);
  if (!rc) *out = v.i;
  return rc;
}

static int arg_bool(L *l, const fe_arg *a, bool dflt, bool *out) {
  int64_t v = dflt;
  int rc = arg_int(l, a, dflt, &v);
  *out = v != 0;
  return rc;
}

/* Tensor operands for slots [0, n): required ones must not be none. */
static int operands(L *l, const fe_builtin *b, const bargs *ba, int n, ir_value **in) {
  for (int i = 0; i < n; i++) {
    int rc = b->slots[i].kind == FE_A_OPT ? lw_opt(l, ba->slot[i], &in[i])
             : ba->slot[i]                ? lw_tensor(l, ba->slot[i]->e, &in[i])
                                          : SSD_OK;
    if (rc) return rc;
  }
  return SSD_OK;
}

static const ir_dim **dim_list(L *l, int n) {
  return ssd_arena_alloc(l->m->arena, (size_t)(n ? n : 1) * sizeof(const ir_dim *));
}

static ir_node *reshape(L *l, ssd_loc loc, ir_value *x, int axis, const ir_dim *size0) {
  ir_node *n = node(l, IR_RESHAPE, loc, 1, &x, 1);
  if (!n) return NULL;
  n->a.axis = axis;
  n->a.nsizes = size0 ? 2 : 1;
  n->a.sizes = dim_list(l, 2);
  if (!n->a.sizes) return oom(l), NULL;
  n->a.sizes[0] = size0; /* heads: [n, inferred]; merge: [inferred] */
  return n;
}

/* Is v computed from a rank-2 weight through elementwise ops only?  Then A
 * is Mamba-1's per-channel [d_inner, N] matrix (S6), not one scalar per head. */
static bool from_matrix_weight(const ir_value *v) {
  for (int hops = 0; v && v->def && hops < 8; hops++) {
    const ir_node *d = v->def;
    if (d->op == IR_WEIGHT) return v->rank == 2;
    if (d->nin != 1 || !ir_op_is_elementwise(d->op)) return false;
    v = d->in[0];
  }
  return false;
}

static int lw_ssm(L *l, const fe_expr *e, const fe_builtin *b, const bargs *ba, val *outs, int nouts) {
  ir_value *in[9];
  int rc = operands(l, b, ba, 9, in);
  if (rc) return rc;
  ir_ssm_attr *s = ir_ssm_attr_new(l->m);
  if (!s) return oom(l);
  s->kind = in[IR_SSM_A] && from_matrix_weight(in[IR_SSM_A]) ? IR_SSM_S6 : IR_SSM_SSD;
  rc = arg_int(l, ba->slot[9], 0, &s->chunk);
  if (!rc) rc = arg_bool(l, ba->slot[10], false, &s->dt_softplus);
  if (!rc) rc = arg_num(l, ba->slot[11], 0.0, &s->dt_min);
  if (!rc) rc = arg_num(l, ba->slot[12], INFINITY, &s->dt_max);
  if (!rc) rc = arg_bool(l, ba->slot[13], false, &s->A_is_log);
  if (rc) return rc;
  if (s->chunk < 0) return ssd_err_at(l->c, ba->slot[9]->e->loc, SSD_ECHECK, "chunk must be >= 0");
  if (!(s->dt_min <= s->dt_max) || s->dt_min < 0)
    return ssd_err_at(l->c, e->loc, SSD_ECHECK, "dt limits must satisfy 0 <= dt_min <= dt_max");
  s->state_slot = -1;
  /* The final state (out[1]) exists only when the user binds it. */
  ir_node *n = node(l, IR_SSM, e->loc, 9, in, nouts == 2 ? 2 : 1);
  if (!n) return SSD_ECHECK;
  n->a.ssm = s;
  for (int i = 0; i < nouts; i++) outs[i] = (val){.k = V_TENSOR, .t = n->out[i]};
  return SSD_OK;
}

static int lw_attention(L *l, const fe_expr *e, const fe_builtin *b, const bargs *ba, val *out) {
  ir_value *in[3];
  int rc = operands(l, b, ba, 3, in);
  if (rc) return rc;
  ir_attn_attr *a = ir_attn_attr_new(l->m);
  if (!a) return oom(l);
  rc = arg_int(l, ba->slot[3], 0, &a->nheads);
  if (!rc) rc = arg_int(l, ba->slot[4], a->nheads, &a->nkv);
  if (!rc) rc = arg_int(l, ba->slot[5], 0, &a->headdim);
  if (!rc) rc = arg_int(l, ba->slot[6], 0, &a->rotary_dim);
  if (!rc) rc = arg_num(l, ba->slot[7], 10000.0, &a->rope_theta);
  if (!rc) rc = arg_bool(l, ba->slot[8], true, &a->causal);
  if (!rc) rc = arg_num(l, ba->slot[9], 0.0, &a->scale);
  if (rc) return rc;
  if (a->nheads <= 0 || a->nkv <= 0 || a->nheads % a->nkv)
    return ssd_err_at(l->c, e->loc, SSD_ECHECK,
                      "attention heads (%lld) must be a positive multiple of kv_heads (%lld)",
                      (long long)a->nheads, (long long)a->nkv);
  if (a->headdim < 0 || a->rotary_dim < 0 || (a->rotary_dim & 1) ||
      (a->headdim && a->rotary_dim > a->headdim))
    return ssd_err_at(l->c, e->loc, SSD_ECHECK,
                      "rotary_dim (%lld) must be even and at most head_dim (%lld)",
                      (long long)a->rotary_dim, (long long)a->headdim);
  if (!(a->rope_theta > 0)) return ssd_err_at(l->c, e->loc, SSD_ECHECK, "rope_theta must be positive");
  a->state_slot = -1;
  ir_node *n = node(l, IR_ATTENTION, e->loc, 3, in, 1);
  if (!n) return SSD_ECHECK;
  n->a.attn = a;
  *out = (val){.k = V_TENSOR, .t = n->out[0]};
  return SSD_OK;
}

static int lw_split(L *l, const fe_expr *e, const bargs *ba, val *outs, int nouts) {
  ir_value *x;
  int rc = lw_tensor(l, ba->slot[0]->e, &x);
  if (rc) return rc;
  const fe_expr *list = ba->slot[1]->e;
  const ir_dim **sizes = dim_list(l, list->nargs);
  if (!sizes) return oom(l);
  int i = 0;
  for (const fe_arg *a = list->args; a; a = a->next, i++)
    if (!(sizes[i] = size_dim(l, a->e, "split size"))) return SSD_ECHECK;
  ir_node *n = node(l, IR_SPLIT, e->loc, 1, &x, list->nargs);
  if (!n) return SSD_ECHECK;
  n->a.axis = -1;
  n->a.nsizes = list->nargs;
  n->a.sizes = sizes;
  for (i = 0; i < nouts && i < list->nargs; i++) outs[i] = (val){.k = V_TENSOR, .t = n->out[i]};
  return SSD_OK;
}

static int lw_concat(L *l, const fe_expr *e, val *out) {
  ir_value **in = ssd_arena_alloc(l->m->arena, (size_t)e->nargs * sizeof *in);
  if (!in) return oom(l);
  int i = 0;
  for (const fe_arg *a = e->args; a; a = a->next, i++) {
    int rc = lw_tensor(l, a->e, &in[i]);
    if (rc) return rc;
  }
  ir_node *n = node(l, IR_CONCAT, e->loc, e->nargs, in, 1);
  if (!n) return SSD_ECHECK;
  n->a.axis = -1;
  *out = (val){.k = V_TENSOR, .t = n->out[0]};
  return SSD_OK;
}

/* gated_mlp(x, gate, up, down) = down(silu(gate(x)) * up(x)). */
static int lw_gated_mlp(L *l, const fe_expr *e, const fe_builtin *b, const bargs *ba, val *out) {
  ir_value *in[4];
  int rc = operands(l, b, ba, 4, in);
  if (rc) return rc;
  ir_value *g[3] = {in[0], in[1], NULL}, *u[3] = {in[0], in[2], NULL};
  ir_node *ng = node(l, IR_LINEAR, e->loc, 3, g, 1);
  ir_node *nu = ng ? node(l, IR_LINEAR, e->loc, 3, u, 1) : NULL;
  ir_value *act = nu ? unop(l, IR_SILU, e->loc, ng->out[0]) : NULL;
  ir_value *prod = act ? binop(l, IR_MUL, e->loc, act, nu->out[0]) : NULL;
  ir_value *d[3] = {prod, in[3], NULL};
  ir_node *nd = prod ? node(l, IR_LINEAR, e->loc, 3, d, 1) : NULL;
  if (!nd) return SSD_ECHECK;
  *out = (val){.k = V_TENSOR, .t = nd->out[0]};
  return SSD_OK;
}

/* Builtins that map to one node: operands in slot order, then attributes. */
static int lw_simple(L *l, const fe_expr *e, const fe_builtin *b, const bargs *ba, val *out) {
  static const struct { fe_bid id; ir_op op; int nin; } map[] = {
      {FE_B_EMBED, IR_EMBED, 2},     {FE_B_LINEAR, IR_LINEAR, 3},
      {FE_B_RMSNORM, IR_RMSNORM, 2}, {FE_B_GATED_RMSNORM, IR_GATED_RMSNORM, 3},
      {FE_B_LAYERNORM, IR_LAYERNORM, 3}, {FE_B_CONV1D, IR_CONV1D, 3},
      {FE_B_SILU, IR_SILU, 1},       {FE_B_SOFTPLUS, IR_SOFTPLUS, 1},
      {FE_B_EXP, IR_EXP, 1},         {FE_B_LOG, IR_LOG, 1},
      {FE_B_GELU, IR_GELU, 1},       {FE_B_SIGMOID, IR_SIGMOID, 1},
      {FE_B_CLAMP, IR_CLAMP, 1},     {FE_B_CAST, IR_CAST, 1},
  };
  size_t k = 0;
  while (k < sizeof map / sizeof *map && map[k].id != b->id) k++;
  if (k == sizeof map / sizeof *map)
    return ssd_err_at(l->c, e->loc, SSD_EINTERNAL, "no lowering for %s()", b->name);
  ir_value *in[3] = {0};
  int rc = operands(l, b, ba, map[k].nin, in);
  if (rc) return rc;
  ir_attrs at = {.axis = -1, .state_slot = -1};
  int64_t groups = 1;
  switch (b->id) {
  case FE_B_RMSNORM: rc = arg_num(l, ba->slot[2], 0, &at.eps); break;
  case FE_B_LAYERNORM: rc = arg_num(l, ba->slot[3], 0, &at.eps); break;
  case FE_B_GATED_RMSNORM:
    rc = arg_num(l, ba->slot[3], 0, &at.eps);
    if (!rc) rc = arg_int(l, ba->slot[4], 1, &groups);
    if (!rc) rc = arg_bool(l, ba->slot[5], false, &at.norm_before_gate);
    if (!rc && groups < 1)
      return ssd_err_at(l->c, ba->slot[4]->e->loc, SSD_ECHECK, "groups must be at least 1");
    at.ngroups = groups;
    break;
  case FE_B_GELU: {
    bool t;
    rc = arg_bool(l, ba->slot[1], false, &t);
    at.approx = t;
    break;
  }
  case FE_B_CLAMP:
    rc = arg_num(l, ba->slot[1], 0, &at.lo);
    if (!rc) rc = arg_num(l, ba->slot[2], 0, &at.hi);
    if (!rc && !(at.lo <= at.hi))
      return ssd_err_at(l->c, e->loc, SSD_ECHECK, "clamp bounds are reversed (%g > %g)", at.lo, at.hi);
    break;
  case FE_B_CONV1D: {
    int64_t kk;
    if (in[1]->rank == 3 && !ir_dim_eval(l->m, in[1]->dims[2], &kk)) at.kernel = kk;
    break;
  }
  default: break;
  }
  if (rc) return rc;
  if ((b->id == FE_B_RMSNORM || b->id == FE_B_LAYERNORM || b->id == FE_B_GATED_RMSNORM) &&
      !(at.eps > 0))
    return ssd_err_at(l->c, e->loc, SSD_ECHECK, "eps must be positive");
  ir_node *n = node(l, map[k].op, e->loc, map[k].nin, in, 1);
  if (!n) return SSD_ECHECK;
  n->a = at;
  if (b->id == FE_B_CAST) ir_dtype_parse(ba->slot[1]->e->name, &n->out[0]->dtype);
  *out = (val){.k = V_TENSOR, .t = n->out[0]};
  return SSD_OK;
}

static int lw_builtin(L *l, const fe_expr *e, val *outs, int nouts) {
  const fe_builtin *b = e->builtin;
  if (b->id == FE_B_CONCAT) return lw_concat(l, e, outs);
  bargs ba;
  int rc = fe_builtin_bind(b, e, ba.slot, l->c);
  if (rc) return rc;
  switch (b->id) {
  case FE_B_SPLIT: return lw_split(l, e, &ba, outs, nouts);
  case FE_B_SSM: return lw_ssm(l, e, b, &ba, outs, nouts);
  case FE_B_ATTENTION: return lw_attention(l, e, b, &ba, outs);
  case FE_B_GATED_MLP: return lw_gated_mlp(l, e, b, &ba, outs);
  case FE_B_HEADS:
  case FE_B_MERGE: {
    ir_value *x;
    if ((rc = lw_tensor(l, ba.slot[0]->e, &x))) return rc;
    const ir_dim *n = NULL;
    if (b->id == FE_B_HEADS && !(n = size_dim(l, ba.slot[1]->e, "head count"))) return SSD_ECHECK;
    ir_node *r = reshape(l, e->loc, x, b->id == FE_B_HEADS ? 1 : 2, n);
    if (!r) return SSD_ECHECK;
    outs[0] = (val){.k = V_TENSOR, .t = r->out[0]};
    return SSD_OK;
  }
  default: return lw_simple(l, e, b, &ba, outs);
  }
}

/* ---- blocks ------------------------------------------------------------------------- */
static int lw_stmts(L *l, const fe_stmt *s, val *ret);

/* Run a block body in a fresh frame whose parameters are bound to args. */
static int run_block(L *l, fe_block *b, const val *args, bool layer_sym, int64_t layer, val *ret) {
  frame fr = {.blk = b, .layer_sym = layer_sym, .layer = layer}, *saved = l->fr;
  l->fr = &fr;
  int rc = push(l);
  int i = 0;
  for (fe_name *n = b->params; n && !rc; n = n->next, i++)
    rc = bind(l, n->name, i == b->layer_pos ? (val){.k = V_LAYER} : args[i]);
  if (!rc) rc = lw_stmts(l, b->body, ret);
  l->fr = saved;
  return rc;
}

/* The template of a block that forward calls: lowered once, params typed
 * later by elaboration and shape inference. */
static int template_of(L *l, fe_block *b, ir_func **out) {
  ir_func *f = fe_map_get(&l->templates, b->name);
  if (f) {
    *out = f;
    return SSD_OK;
  }
  f = ir_func_new(l->m, b->name, b->loc);
  val *args = ssd_arena_alloc(l->m->arena, (size_t)(b->nparams + 1) * sizeof *args);
  if (!f || !args) return oom(l);
  int i = 0;
  for (fe_name *n = b->params; n; n = n->next, i++) {
    if (i == b->layer_pos) {
      f->layer_var = ssd_arena_strdup(l->m->arena, n->name);
      continue;
    }
    ir_value *pv = ir_func_add_param(l->m, f, IR_F32, 0, NULL, n->name);
    if (!pv) return oom(l);
    args[i] = (val){.k = V_TENSOR, .t = pv};
  }
  ir_func *caller = l->f;
  l->f = f;
  val ret = {0};
  int rc = run_block(l, b, args, true, -1, &ret);
  l->f = caller;
  if (rc) return rc;
  if (ret.k != V_TENSOR)
    return ssd_err_at(l->c, b->loc, SSD_ECHECK, "block '%s' returns none", b->name);
  f->results = ssd_arena_alloc(l->m->arena, sizeof *f->results);
  ir_func **fs = ssd_arena_alloc(l->m->arena, (size_t)(l->m->nfuncs + 1) * sizeof *fs);
  if (!f->results || !fs || fe_map_put(&l->templates, b->name, f)) return oom(l);
  f->results[0] = ret.t;
  f->nresults = 1;
  if (l->m->nfuncs) memcpy(fs, l->m->funcs, (size_t)l->m->nfuncs * sizeof *fs);
  fs[l->m->nfuncs++] = f;
  l->m->funcs = fs;
  *out = f;
  return SSD_OK;
}

static int lw_block_call(L *l, const fe_expr *e, val *out) {
  fe_block *b = e->block;
  val *args = ssd_arena_alloc(l->m->arena, (size_t)(b->nparams + 1) * sizeof *args);
  if (!args) return oom(l);
  int i = 0, nt = 0, rc;
  int64_t layer = -1;
  bool layer_sym = false;
  for (const fe_arg *a = e->args; a; a = a->next, i++) {
    if ((rc = lw_expr(l, a->e, &args[i]))) return rc;
    if (i == b->layer_pos) {
      if (args[i].k == V_LAYER) {
        layer_sym = l->fr->layer_sym;
        layer = l->fr->layer;
      } else {
        layer = args[i].s.i;
        if (layer < 0)
          return ssd_err_at(l->c, a->e->loc, SSD_ECHECK, "layer index %lld is negative",
                            (long long)layer);
      }
    } else {
      if (!tensor_of(l, &args[i], a->e)) return SSD_ECHECK;
      nt++;
    }
  }
  if (!l->fr->blk->is_forward) { /* inline into the current template */
    if (++l->inline_depth > MAX_INLINE)
      return ssd_err_at(l->c, e->loc, SSD_ECHECK, "blocks call blocks more than %d deep", MAX_INLINE);
    rc = run_block(l, b, args, layer_sym, layer, out);
    l->inline_depth--;
    return rc;
  }
  ir_func *f = NULL;
  if ((rc = template_of(l, b, &f))) return rc;
  ir_value **in = ssd_arena_alloc(l->m->arena, (size_t)(nt + 1) * sizeof *in);
  if (!in) return oom(l);
  int k = 0;
  for (i = 0; i < b->nparams; i++)
    if (i != b->layer_pos) in[k++] = args[i].t;
  ir_node *n = node(l, IR_CALL, e->loc, nt, in, 1);
  if (!n) return SSD_ECHECK;
  n->a.callee = f;
  n->a.layer = layer;
  *out = (val){.k = V_TENSOR, .t = n->out[0]};
  return SSD_OK;
}

static int lw_call(L *l, const fe_expr *e, val *outs, int nouts) {
  if (e->block) return lw_block_call(l, e, outs);
  return lw_builtin(l, e, outs, nouts);
}

/* ---- statements ------------------------------------------------------------------------ */
static int step(L *l, ssd_loc loc) {
  if (++l->steps > MAX_STEPS)
    return ssd_err_at(l->c, loc, SSD_ECHECK, "model too large: more than %d statements to unroll",
                      MAX_STEPS);
  return SSD_OK;
}

static int lw_assign(L *l, const fe_stmt *s) {
  int n = s->nnames, rc;
  val *outs = ssd_arena_alloc(l->m->arena, (size_t)n * sizeof *outs);
  if (!outs) return oom(l);
  if (s->value->kind == FE_E_CALL && !scalar_type(s->value->type))
    rc = lw_call(l, s->value, outs, n);
  else
    rc = lw_expr(l, s->value, &outs[0]);
  if (rc) return rc;
  int i = 0;
  for (const fe_name *nm = s->names; nm; nm = nm->next, i++)
    if ((rc = bind(l, nm->name, outs[i]))) return rc;
  return SSD_OK;
}

static int lw_scoped(L *l, const fe_stmt *body, val *ret) {
  int rc = push(l);
  if (!rc) rc = lw_stmts(l, body, ret);
  pop(l);
  return rc;
}

static int lw_for(L *l, const fe_stmt *s, val *ret) {
  ir_param lo, hi;
  int rc = eval(l, s->lo, &lo);
  if (!rc) rc = eval(l, s->hi, &hi);
  if (rc) return rc;
  if (hi.i > lo.i && (uint64_t)hi.i - (uint64_t)lo.i > FE_MAX_UNROLL)
    return ssd_err_at(l->c, s->loc, SSD_ECHECK, "loop of %llu iterations (limit %d)",
                      (unsigned long long)((uint64_t)hi.i - (uint64_t)lo.i), FE_MAX_UNROLL);
  for (int64_t i = lo.i; i < hi.i; i++) {
    if ((rc = step(l, s->loc)) || (rc = push(l))) return rc;
    ir_param iv = {.kind = IR_PARAM_INT, .i = i};
    rc = bind(l, s->name, (val){.k = V_SCALAR, .s = iv});
    if (!rc) rc = lw_stmts(l, s->body, ret);
    pop(l);
    if (rc) return rc;
  }
  return SSD_OK;
}

static int lw_stmt_list(L *l, const fe_stmt *s, val *ret);

static int lw_stmts(L *l, const fe_stmt *s, val *ret) {
  if (!s) return SSD_OK;
  if (++l->recursion > MAX_RECURSION) return too_deep(l, s->loc);
  int rc = lw_stmt_list(l, s, ret);
  l->recursion--;
  return rc;
}

static int lw_stmt_list(L *l, const fe_stmt *s, val *ret) {
  int rc = SSD_OK;
  for (; s && !rc; s = s->next) {
    if ((rc = step(l, s->loc))) break;
    switch (s->kind) {
    case FE_S_WEIGHT: rc = lw_weight(l, s); break;
    case FE_S_ASSIGN: rc = lw_assign(l, s); break;
    case FE_S_RETURN: rc = lw_expr(l, s->value, ret); break;
    case FE_S_FOR: rc = lw_for(l, s, ret); break;
    case FE_S_IF: {
      ir_param c;
      rc = eval(l, s->cond, &c);
      if (!rc) {
        const fe_stmt *body = c.i ? s->body : s->els;
        if (body) rc = lw_scoped(l, body, ret);
      }
      break;
    }
    }
  }
  return rc;
}

/* ---- module ---------------------------------------------------------------------------- */
static int copy_params(L *l) {
  ir_module *m = l->m;
  m->nparams = l->p->nparams;
  m->params = ssd_arena_alloc(m->arena, (size_t)(m->nparams ? m->nparams : 1) * sizeof *m->params);
  if (!m->params) return oom(l);
  for (int i = 0; i < m->nparams; i++) {
    ir_param v = l->vals[i];
    v.name = ssd_arena_strdup(m->arena, v.name);
    if (!v.name) return oom(l);
    if (v.kind == IR_PARAM_LIST) {
      int64_t *x = ssd_arena_alloc(m->arena, (size_t)(v.nlist ? v.nlist : 1) * sizeof *x);
      if (!x) return oom(l);
      if (v.nlist) memcpy(x, v.list, (size_t)v.nlist * sizeof *x);
      v.list = x;
    }
    m->params[i] = v;
  }
  return SSD_OK;
}

static int lw_main(L *l) {
  fe_block *fw = l->p->forward;
  ir_func *f = ir_func_new(l->m, "main", fw->loc);
  if (!f) return oom(l);
  l->m->main = f;
  l->f = f;
  ir_node *in = node(l, IR_INPUT, fw->params->loc, 0, NULL, 1);
  if (!in) return SSD_ECHECK;
  in->a.name = "ids";
  const ir_dim *dims[2] = {ir_dim_sym(l->m, "batch"), ir_dim_sym(l->m, "seqlen")};
  if (!dims[0] || !dims[1]) return oom(l);
  ir_value_set_type(in->out[0], IR_I64, 2, dims);
  in->out[0]->name = "ids";
  val arg = {.k = V_TENSOR, .t = in->out[0]}, ret = {0};
  int rc = run_block(l, fw, &arg, false, -1, &ret);
  if (rc) return rc;
  if (ret.k != V_TENSOR)
    return ssd_err_at(l->c, fw->loc, SSD_ECHECK, "forward returns none instead of the logits");
  l->f = f;
  ir_node *out = node(l, IR_OUTPUT, fw->loc, 1, &ret.t, 0);
  if (!out) return SSD_ECHECK;
  out->a.name = "logits";
  return SSD_OK;
}

int fe_lower(fe_program *p, ir_module **out, ssd_ctx *c) {
  *out = NULL;
  ir_module *m = ir_module_new(p->name);
  if (!m) return ssd_err(c, SSD_ENOMEM, "out of memory");
  m->src = p->src;
  L l = {.p = p, .c = c, .m = m};
  fe_map_init(&l.templates, m->arena);
  int rc = fe_eval_params(p, m->arena, &l.vals, c);
  if (!rc) rc = fe_check_requires(p, l.vals, m->arena, c);
  if (!rc) rc = copy_params(&l);
  if (!rc) rc = lw_main(&l);
  if (rc) {
    ir_module_free(m);
    return rc;
  }
  *out = m;
  return SSD_OK;
}
