/* pass_canon.c: canonicalization.
 *
 * - Dims: every hyperparameter expression folds to a constant, so that only
 *   `batch` and `seqlen` remain symbolic (and expressions over them, such as
 *   seqlen+1, keep their constant parts folded).
 * - Scalars: elementwise ops over CONST operands fold to one CONST
 *   (e.g. neg(const 1)).
 * - Identity reshapes and same-dtype casts disappear.
 * - Dead code: nodes whose results nobody uses are removed (except OUTPUT
 *   and the stateful ops, see pass_dce).
 */
#include <math.h>

#include "passes.h"

static const ir_dim *fold_dim(ir_module *m, const ir_dim *d) {
  int64_t v;
  if (!d) return d;
  if (d->kind == IR_DIM_CONST || d->kind == IR_DIM_SYM) return d;
  if (!ir_dim_eval(m, d, &v)) return ir_dim_const(m, v);
  if (d->kind == IR_DIM_PARAM) return d; /* unknown: reported by fold_dims */
  const ir_dim *a = fold_dim(m, d->a), *b = fold_dim(m, d->b);
  if (a == d->a && b == d->b) return d;
  return ir_dim_bin(m, d->kind, a, b);
}

/* A hyperparameter left in a folded dim is unknown (or not an integer). */
static const char *leftover_param(const ir_dim *d) {
  if (!d) return NULL;
  if (d->kind == IR_DIM_PARAM) return d->name ? d->name : "?";
  if (d->kind < IR_DIM_ADD) return NULL;
  const char *p = leftover_param(d->a);
  return p ? p : leftover_param(d->b);
}

static int fold_dims(ir_module *m, const ir_node *n, int count, const ir_dim **dims,
                     ssd_ctx *c) {
  for (int i = 0; i < count; i++) {
    const ir_dim *f = fold_dim(m, dims[i]);
    if (dims[i] && !f) return ssd_err(c, SSD_ENOMEM, "out of memory in canonicalization");
    dims[i] = f;
    const char *p = leftover_param(dims[i]);
    if (p)
      return ssd_err_at(c, n->loc, SSD_ECHECK,
                        "%s: dimension uses '%s', which is not an integer hyperparameter",
                        ir_op_name(n->op), p);
  }
  return SSD_OK;
}

static int fold_node_dims(ir_module *m, ir_node *n, ssd_ctx *c) {
  int rc = SSD_OK;
  for (int i = 0; i < n->nout && !rc; i++)
    rc = fold_dims(m, n, n->out[i]->rank, n->out[i]->dims, c);
  if (!rc && n->a.sizes) rc = fold_dims(m, n, n->a.nsizes, n->a.sizes, c);
  return rc;
}

static bool const_operand(const ir_value *v, double *out) {
  if (!v || !v->def || v->def->op != IR_CONST) return false;
  *out = v->def->a.scalar;
  return true;
}

/* The value of an elementwise op on constants, as the runtime computes it. */
static bool eval_scalar(const ir_node *n, double a, double b, double *out) {
  switch (n->op) {
  case IR_NEG: *out = -a; return true;
  case IR_EXP: *out = exp(a); return true;
  case IR_LOG: *out = log(a); return true;
  case IR_SILU: *out = a / (1.0 + exp(-a)); return true;
  case IR_SIGMOID: *out = 1.0 / (1.0 + exp(-a)); return true;
  case IR_SOFTPLUS: *out = a > 20.0 ? a : log1p(exp(a)); return true;
  case IR_CLAMP: *out = a < n->a.lo ? n->a.lo : a > n->a.hi ? n->a.hi : a; return true;
  case IR_ADD: *out = a + b; return true;
  case IR_SUB: *out = a - b; return true;
  case IR_MUL: *out = a * b; return true;
  case IR_DIV: *out = a / b; return true;
  default: return false; /* gelu, cast: left to the runtime */
  }
}

static bool fold_scalar(ir_node *n) {
  double a = 0, b = 0, v;
  if (!ir_op_is_elementwise(n->op) || n->out[0]->rank != 0) return false;
  if (!const_operand(n->in[0], &a)) return false;
  if (n->nin > 1 && !const_operand(n->in[1], &b)) return false;
  if (!eval_scalar(n, a, b, &v)) return false;
  n->op = IR_CONST;
  n->nin = 0;
  n->a.scalar = v;
  return true;
}

static bool same_type(const ir_module *m, const ir_value *a, const ir_value *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (!ir_dim_equal(m, a->dims[i], b->dims[i])) return false;
  return true;
}

/* reshape to the same shape, cast to the same dtype: forward the input. */
static bool drop_identity(ir_module *m, ir_node *n) {
  if ((n->op != IR_RESHAPE && n->op != IR_CAST) || !same_type(m, n->in[0], n->out[0]))
    return false;
  ir_value *x = n->in[0];
  if (!x->name) x->name = n->out[0]->name;
  ir_replace_uses(m->main, n->out[0], x);
  return true;
}

int pass_canon(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  (void)o;
  for (ir_node *n = m->main->first; n; n = n->next) {
    int rc = fold_node_dims(m, n, c);
    if (rc) return rc;
    fold_scalar(n);
    drop_identity(m, n);
  }
  pass_dce(m);
  return SSD_OK;
}
