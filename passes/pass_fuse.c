/* pass_fuse.c: fusion.
 *
 * First the SSM epilogues and prologues that every Mamba writes out as
 * separate ops fold into the IR_SSM itself, so the scan kernel applies them
 * in registers (mamba_ssm does the same inside its kernels):
 *   dt + dt_bias -> softplus -> clamp(lo, hi)    (dt prologue, in this order)
 *   A = -exp(A_log)                               (A operand holds A_log)
 *   y + D * x,  then  y * silu(z)                 (epilogue, in this order)
 * Each fold applies only when the intermediate has no other use (otherwise
 * it must be materialized anyway) and only in an order the SSM's fixed
 * internal pipeline can express: dt' = clamp(softplus(dt + bias)),
 * y' = (y + D x) * silu(z).  Folding from the SSM outward keeps that order.
 *
 * Then elementwise chains join their neighbours in fusion groups (node.group,
 * m->ngroups): conv1d + silu, linear + bias/activation epilogues, residual
 * add + the norm that follows it, and chains of elementwise ops.  Codegen
 * emits one kernel per group.
 */
#include <math.h>

#include "passes.h"

static bool sole_use(const ir_value *v) { return v && v->def && v->nuses == 1; }

static bool is_dead(const ir_node *n) {
  if (pass_has_effect(n)) return false;
  for (int i = 0; i < n->nout; i++)
    if (n->out[i]->nuses > 0) return false;
  return true;
}

/* Use counts are kept exact while folding (one dead-code sweep at the end,
 * not one per fold): a node whose results lose their last use stops using
 * its own operands. */
static void drop_use(ir_value *v) {
  if (!v || --v->nuses > 0 || !v->def || !is_dead(v->def)) return;
  for (int i = 0; i < v->def->nin; i++) drop_use(v->def->in[i]);
}

static void set_operand(ir_node *n, int slot, ir_value *v) {
  ir_value *old = n->in[slot];
  n->in[slot] = v;
  if (v) v->nuses++;
  drop_use(old);
}

/* Every use of `from` (the result of a node being folded away) becomes a use of `to`. */
static void forward_uses(ir_module *m, ir_value *from, ir_value *to) {
  ir_replace_uses(m->main, from, to);
  to->nuses += from->nuses;
  from->nuses = 1;
  drop_use(from);
}

static bool dt_pristine(const ir_node *n) {
  const ir_ssm_attr *s = n->a.ssm;
  return !s->dt_softplus && !n->in[IR_SSM_DT_BIAS] && s->dt_min == 0 && isinf(s->dt_max) &&
         s->dt_max > 0;
}

static bool same_shape(const ir_module *m, const ir_value *a, const ir_value *b) {
  if (a->rank != b->rank || a->dtype != b->dtype) return false;
  for (int i = 0; i < a->rank; i++)
    if (!ir_dim_equal(m, a->dims[i], b->dims[i])) return false;
  return true;
}

static bool is_dim(const ir_module *m, const ir_dim *d, int64_t want) {
  int64_t v;
  return !ir_dim_eval(m, d, &v) && v == want;
}

/* clamp(v, lo, hi) with lo <= 0 equals the SSM's (0, hi] limit only when v >= 0. */
static bool fuse_clamp(ir_node *n, ir_node *d) {
  ir_ssm_attr *s = n->a.ssm;
  const ir_value *in = d->in[0];
  bool nonneg = in->def && in->def->op == IR_SOFTPLUS;
  if (!dt_pristine(n) || (d->a.lo <= 0 && !nonneg)) return false;
  double lo = d->a.lo > 0 ? d->a.lo : 0;
  if (!(d->a.hi >= lo)) return false;
  s->dt_min = lo;
  s->dt_max = d->a.hi;
  s->fused |= IR_FUSE_DT_LIMIT;
  set_operand(n, IR_SSM_DT, d->in[0]);
  return true;
}

static bool fuse_softplus(ir_node *n, ir_node *d) {
  ir_ssm_attr *s = n->a.ssm;
  if (s->dt_softplus || n->in[IR_SSM_DT_BIAS]) return false;
  s->dt_softplus = true;
  s->fused |= IR_FUSE_SOFTPLUS;
  set_operand(n, IR_SSM_DT, d->in[0]);
  return true;
}

static bool fuse_dt_bias(const ir_module *m, ir_node *n, ir_node *d) {
  ir_ssm_attr *s = n->a.ssm;
  const ir_value *dt = d->out[0];
  if (n->in[IR_SSM_DT_BIAS]) return false;
  for (int k = 0; k < 2; k++) {
    ir_value *bias = d->in[k], *other = d->in[1 - k];
    if (bias->rank == 1 && is_dim(m, bias->dims[0], s->hdt) && same_shape(m, other, dt)) {
      set_operand(n, IR_SSM_DT_BIAS, bias);
      set_operand(n, IR_SSM_DT, other);
      s->fused |= IR_FUSE_DT_BIAS;
      return true;
    }
  }
  return false;
}

static bool fuse_dt_step(const ir_module *m, ir_node *n) {
  ir_value *dt = n->in[IR_SSM_DT];
  if (!sole_use(dt)) return false;
  ir_node *d = dt->def;
  switch (d->op) {
  case IR_CLAMP: return fuse_clamp(n, d);
  case IR_SOFTPLUS: return fuse_softplus(n, d);
  case IR_ADD: return fuse_dt_bias(m, n, d);
  default: return false;
  }
}

static bool fuse_a_exp(ir_node *n) {
  ir_value *A = n->in[IR_SSM_A];
  ir_ssm_attr *s = n->a.ssm;
  if (s->A_is_log || !sole_use(A) || A->def->op != IR_NEG) return false;
  ir_value *e = A->def->in[0];
  if (!sole_use(e) || e->def->op != IR_EXP) return false;
  set_operand(n, IR_SSM_A, e->def->in[0]);
  s->A_is_log = true;
  s->fused |= IR_FUSE_A_EXP;
  return true;
}

/* The one node using v (v has one use). */
static ir_node *user_of(const ir_func *f, const ir_value *v) {
  for (ir_node *u = v->def ? v->def->next : f->first; u; u = u->next) {
    if (is_dead(u)) continue; /* folded away, swept at the end */
    for (int i = 0; i < u->nin; i++)
      if (u->in[i] == v) return u;
  }
  return NULL;
}

/* D for the operand slot: [H, P] as is, [H, 1] through the reshape of a [H] value. */
static ir_value *d_operand(const ir_module *m, const ir_ssm_attr *s, ir_value *D) {
  if (D->rank != 2 || !is_dim(m, D->dims[0], s->H)) return NULL;
  if (is_dim(m, D->dims[1], s->P)) return D;
  if (is_dim(m, D->dims[1], 1) && D->def && D->def->op == IR_RESHAPE && D->def->in[0]->rank == 1)
    return D->def->in[0];
  return NULL;
}

/* y + D * x  ->  the SSM's D operand. */
static bool fuse_d(ir_module *m, ir_node *n) {
  ir_value *y = n->out[0];
  ir_ssm_attr *s = n->a.ssm;
  if (n->in[IR_SSM_D] || (s->fused & IR_FUSE_Z) || y->nuses != 1) return false;
  ir_node *u = user_of(m->main, y);
  if (!u || u->op != IR_ADD || !same_shape(m, u->out[0], y)) return false;
  ir_value *prod = u->in[0] == y ? u->in[1] : u->in[0];
  if (!sole_use(prod) || prod->def->op != IR_MUL) return false;
  ir_node *mul = prod->def;
  for (int k = 0; k < 2; k++) {
    ir_value *x = mul->in[1 - k], *D = mul->in[k];
    ir_value *dop = x == n->in[IR_SSM_X] ? d_operand(m, s, D) : NULL;
    if (!dop || !pass_defined_before(m->main, dop, n)) continue;
    set_operand(n, IR_SSM_D, dop);
    s->fused |= IR_FUSE_D;
    forward_uses(m, u->out[0], y);
    return true;
  }
  return false;
}

/* The gate's other operand when `g` is silu(z) used once; NULL otherwise. */
static ir_value *silu_arg(ir_value *g) {
  return sole_use(g) && g->def->op == IR_SILU ? g->def->in[0] : NULL;
}

/* z [B, L, H*P] as the [B, L, H, P] operand: a reshape placed before the SSM. */
static ir_value *split_heads(ir_module *m, ir_node *n, ir_value *z) {
  ir_node *r = ir_node_new(m, NULL, IR_RESHAPE, n->loc, 1, &z, 1);
  const ir_dim **sz = r ? ssd_arena_alloc(m->arena, 2 * sizeof *sz) : NULL;
  if (!sz) return NULL;
  const ir_ssm_attr *s = n->a.ssm;
  sz[0] = ir_dim_const(m, s->H);
  sz[1] = ir_dim_const(m, s->P);
  r->a.axis = 1;
  r->a.nsizes = 2;
  r->a.sizes = sz;
  r->layer = n->layer;
  ir_value_set_type(r->out[0], n->out[0]->dtype, 4, n->out[0]->dims);
  ir_node_insert_before(m->main, n, r);
  return r->out[0];
}

/* y * silu(z)  ->  the SSM's z operand.  Also through the merge of heads
 * that Mamba-1 writes first: merge(y) * silu(z) with z [B, L, H*P]. */
static bool fuse_z(ir_module *m, ir_node *n) {
  ir_value *y = n->out[0], *ym = y;
  if (n->in[IR_SSM_Z] || y->nuses != 1) return false;
  ir_node *u = user_of(m->main, y);
  if (u && u->op == IR_RESHAPE && u->out[0]->nuses == 1) { /* merge(y) */
    ym = u->out[0];
    u = user_of(m->main, ym);
  }
  if (!u || u->op != IR_MUL || !same_shape(m, u->out[0], ym)) return false;
  ir_value *z = silu_arg(u->in[0] == ym ? u->in[1] : u->in[0]);
  if (!z || !same_shape(m, z, ym) || !pass_defined_before(m->main, z, n)) return false;
  if (ym != y && !(z = split_heads(m, n, z))) return false;
  set_operand(n, IR_SSM_Z, z);
  n->a.ssm->fused |= IR_FUSE_Z;
  forward_uses(m, u->out[0], ym);
  return true;
}

static void fuse_ssm(ir_module *m, ir_node *n) {
  bool changed = true;
  while (changed) {
    changed = fuse_dt_step(m, n) || fuse_a_exp(n) || fuse_d(m, n) || fuse_z(m, n);
  }
}

/* ---- fusion groups ------------------------------------------------------------ */
static bool is_norm(ir_op op) {
  return op == IR_RMSNORM || op == IR_LAYERNORM || op == IR_GATED_RMSNORM;
}

/* Ops whose result an elementwise consumer can take straight from registers. */
static bool producer_ok(const ir_node *p) {
  return ir_op_is_elementwise(p->op) || p->op == IR_LINEAR || p->op == IR_CONV1D ||
         p->op == IR_SSM || p->op == IR_ATTENTION;
}

static void join(ir_module *m, ir_node *p, ir_node *n) {
  if (!p->group) p->group = ++m->ngroups;
  n->group = p->group;
}

static void group_node(ir_module *m, ir_node *n) {
  if (is_norm(n->op)) {
    /* residual add + norm: the add's sum is stored as the residual and
     * normalized in the same pass over the row, whatever else uses it. */
    ir_node *p = n->in[0]->def;
    if (p && (p->op == IR_ADD || (sole_use(n->in[0]) && ir_op_is_elementwise(p->op))))
      join(m, p, n);
    return;
  }
  if (!ir_op_is_elementwise(n->op)) return;
  for (int i = 0; i < n->nin; i++) {
    ir_value *v = n->in[i];
    if (sole_use(v) && producer_ok(v->def) && (v->def->nout == 1)) {
      join(m, v->def, n);
      return;
    }
  }
}

int pass_fuse(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  (void)o;
  (void)c;
  ir_count_uses(m->main);
  for (ir_node *n = m->main->first; n; n = n->next)
    if (n->op == IR_SSM) fuse_ssm(m, n);
  pass_dce(m);
  m->ngroups = 0;
  for (ir_node *n = m->main->first; n; n = n->next) n->group = 0;
  for (ir_node *n = m->main->first; n; n = n->next) group_node(m, n);
  return SSD_OK;
}
