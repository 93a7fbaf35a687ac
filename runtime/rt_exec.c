/* rt_exec.c: the reference interpreter of the final IR (see rt_exec.h).
 *
 * One pass over main's node list per forward call.  Every value id gets a
 * slot holding its buffer and resolved shape; buffers are allocated when the
 * defining node runs and freed after the last node that reads them, so peak
 * memory is the live set, not the whole graph.  Weights and the input ids
 * are borrowed, never freed.  For last_only (generation), once the last op
 * that mixes along the sequence (conv, ssm, attention) has run, every live
 * [batch, seqlen, ...] buffer is cut down to its last position and the rest
 * of the graph (final norm, lm_head) runs at L = 1.
 */
#include "rt_value.h"
#include "rt_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_model.h"
#include "rt_ops.h"
#include "rt_ssm.h"

typedef struct vslot {
  float *f;          /* float data (all activations are float32) */
  const int64_t *ids;/* the input ids (INPUT only) */
  bool owned;
  int rank;
  int64_t shape[IR_MAX_RANK];
  int last_use;      /* index of the last node reading it; -1 unused */
} vslot;

typedef struct packed_ent {
  const float *W;
  rt_packed p;
} packed_ent;

struct rt_exec {
  const ir_module *m;
  rt_weight_fn wfn;
  void *wctx;
  int nnodes;
  const ir_node **nodes;
  int nvals;
  vslot *v;
  int last_mix;      /* index of the last sequence-mixing node, -1 none */
  int npacked;
  packed_ent *packed;
  const rt_exec_hook *hook;
  rt_exec_hook hook_copy;
  bool profile;            /* $SSDC_PROFILE: seconds per op kind to stderr at free */
  bool poison;             /* $SSDC_POISON: fill new buffers with NaN (tests: a kernel
                              that leaves part of its output unwritten shows up) */
  double op_s[IR_NOPS + 1];
  int64_t op_n[IR_NOPS + 1];
};

/* Per-call context threaded through the op functions. */
typedef struct run {
  rt_exec *e;
  const rt_fwd *f;
  int64_t L;         /* current seqlen binding (drops to 1 after last_only cut) */
  int idx;           /* index of the node being run */
  ssd_ctx *c;
} run;

static bool is_mixer(ir_op op) { return op == IR_CONV1D || op == IR_SSM || op == IR_ATTENTION; }

static const float *weight_data(rt_exec *e, const ir_node *n) { return e->wfn(e->wctx, n); }

static int pack_linears(rt_exec *e, ssd_ctx *c) {
  for (int i = 0; i < e->nnodes; i++) {
    const ir_node *n = e->nodes[i];
    if (n->op != IR_LINEAR || !n->in[1] || !n->in[1]->def || n->in[1]->def->op != IR_WEIGHT)
      continue;
    const float *W = weight_data(e, n->in[1]->def);
    if (!W) continue; /* reported when the node runs */
    bool have = false;
    for (int k = 0; k < e->npacked && !have; k++) have = e->packed[k].W == W;
    if (have) continue;
    int64_t N, K;
    if (n->in[1]->rank != 2 || ir_dim_eval(e->m, n->in[1]->dims[0], &N) ||
        ir_dim_eval(e->m, n->in[1]->dims[1], &K))
      return ssd_err(c, SSD_EINTERNAL, "linear weight %%%d has no constant [N, K] shape",
                     n->in[1]->id);
    packed_ent *np = realloc(e->packed, (size_t)(e->npacked + 1) * sizeof *np);
    if (!np) return ssd_err(c, SSD_ENOMEM, "out of memory packing weights");
    e->packed = np;
    int rc = rt_pack_weight(W, N, K, &np[e->npacked].p, c);
    if (rc) return rc;
    np[e->npacked++].W = W;
  }
  return SSD_OK;
}

int rt_exec_new(const ir_module *m, rt_weight_fn wfn, void *wctx, rt_exec **out, ssd_ctx *c) {
  *out = NULL;
  rt_exec *e = calloc(1, sizeof *e);
  if (!e) return ssd_err(c, SSD_ENOMEM, "out of memory for the executor");
  e->m = m;
  e->wfn = wfn;
  e->wctx = wctx;
  e->last_mix = -1;
  const char *prof = getenv("SSDC_PROFILE");
  e->profile = prof && *prof && strcmp(prof, "0");
  const char *poison = getenv("SSDC_POISON");
  e->poison = poison && *poison && strcmp(poison, "0");
  for (const ir_node *n = m->main->first; n; n = n->next) e->nnodes++;
  e->nvals = m->next_value;
  e->nodes = calloc((size_t)e->nnodes + 1, sizeof *e->nodes);
  e->v = calloc((size_t)e->nvals + 1, sizeof *e->v);
  if (!e->nodes || !e->v) {
    rt_exec_free(e);
    return ssd_err(c, SSD_ENOMEM, "out of memory for the executor");
  }
  for (int i = 0; i < e->nvals; i++) e->v[i].last_use = -1;
  int i = 0, rc = SSD_OK;
  for (const ir_node *n = m->main->first; n; n = n->next, i++) {
    e->nodes[i] = n;
    if (n->op == IR_CALL)
      rc = ssd_err_at(c, n->loc, SSD_EUNSUPPORTED,
                      "the executor needs an elaborated module (found a call)");
    if (is_mixer(n->op)) e->last_mix = i;
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] && n->in[k]->id >= 0 && n->in[k]->id < e->nvals) e->v[n->in[k]->id].last_use = i;
    for (int k = 0; k < n->nout; k++)
      if (n->out[k]->id < 0 || n->out[k]->id >= e->nvals)
        rc = ssd_err(c, SSD_EINTERNAL, "value id %d out of range", n->out[k]->id);
    if (rc) break;
  }
  if (!rc) rc = pack_linears(e, c);
  if (rc) {
    rt_exec_free(e);
    return rc;
  }
  *out = e;
  return SSD_OK;
}

static void release_all(rt_exec *e) {
  for (int i = 0; i < e->nvals; i++) {
    if (e->v[i].owned) free(e->v[i].f);
    e->v[i].f = NULL;
    e->v[i].ids = NULL;
    e->v[i].owned = false;
  }
}

static void print_profile(const rt_exec *e) {
  double total = 0;
  int64_t runs = 0;
  for (int i = 0; i < IR_NOPS; i++) total += e->op_s[i], runs += e->op_n[i];
  if (!runs) return; /* made but not used (e.g. beside the GPU executor) */
  fprintf(stderr, "ssdc profile (executor, all calls): %.3f s\n", total);
  for (int i = 0; i < IR_NOPS; i++)
    if (e->op_n[i])
      fprintf(stderr, "  %-14s %9.3f s %5.1f%%  %lld runs\n", ir_op_name((ir_op)i), e->op_s[i],
              total > 0 ? 100 * e->op_s[i] / total : 0.0, (long long)e->op_n[i]);
}

void rt_exec_free(rt_exec *e) {
  if (!e) return;
  if (e->profile) print_profile(e);
  if (e->v) release_all(e);
  for (int i = 0; i < e->npacked; i++) rt_packed_free(&e->packed[i].p);
  free(e->packed);
  free(e->nodes);
  free(e->v);
  free(e);
}

void rt_exec_set_hook(rt_exec *e, const rt_exec_hook *h) {
  if (h) e->hook_copy = *h;
  e->hook = h ? &e->hook_copy : NULL;
}

ir_ssm_form rt_exec_ssm_form(const rt_exec *e, int64_t L, int64_t *chunk) {
  for (int i = 0; i < e->nnodes; i++)
    if (e->nodes[i]->op == IR_SSM) {
      const ir_ssm_choice *ch = ir_ssm_choose(e->nodes[i]->a.ssm, L);
      if (!ch) return IR_FORM_RECURRENT;
      if (chunk) *chunk = ch->chunk;
      return ch->form;
    }
  return IR_FORM_UNSET;
}

/* ---- values ------------------------------------------------------------------ */
static int64_t numel_of(const vslot *s) { return rt_shape_numel(s->rank, s->shape); }

/* Resolve v's shape at the current binding into its slot. */
static int resolve(run *r, const ir_value *v, vslot *s) {
  return rt_value_shape(r->e->m, v, r->f->batch, r->L, (int64_t)1 << 40, &s->rank, s->shape,
                        r->c);
}

/* Allocate the buffer of a result (uninitialised). */
static int alloc_out(run *r, const ir_value *v, float **out) {
  vslot *s = &r->e->v[v->id];
  int rc = resolve(r, v, s);
  if (rc) return rc;
  if (v->dtype != IR_F32)
    return ssd_err(r->c, SSD_EUNSUPPORTED, "the CPU executor computes in f32; value %%%d is %s",
                   v->id, ir_dtype_name(v->dtype));
  size_t n = (size_t)numel_of(s);
  s->f = malloc(n * sizeof(float) + 1);
  if (!s->f) return ssd_err(r->c, SSD_ENOMEM, "out of memory for value %%%d (%zu floats)", v->id, n);
  s->owned = true;
  if (r->e->poison)
    for (size_t i = 0; i < n; i++) s->f[i] = NAN;
  *out = s->f;
  return SSD_OK;
}

static vslot *in_slot(run *r, const ir_node *n, int k) {
  return n->in[k] ? &r->e->v[n->in[k]->id] : NULL;
}
static const float *in_f(run *r, const ir_node *n, int k) {
  vslot *s = in_slot(r, n, k);
  return s ? s->f : NULL;
}
static int64_t last_dim(const vslot *s) { return s->rank ? s->shape[s->rank - 1] : 1; }

/* ---- ops -------------------------------------------------------------------- */
static int op_weight(run *r, const ir_node *n) {
  vslot *s = &r->e->v[n->out[0]->id];
  int rc = resolve(r, n->out[0], s);
  if (rc) return rc;
  s->f = (float *)weight_data(r->e, n);
  s->owned = false;
  if (!s->f)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "weight '%s' is not bound",
                      n->a.ckpt ? n->a.ckpt : "?");
  return SSD_OK;
}

static int op_input(run *r, const ir_node *n) {
  vslot *s = &r->e->v[n->out[0]->id];
  int rc = resolve(r, n->out[0], s);
  if (rc) return rc;
  if (n->out[0]->dtype != IR_I64 && n->out[0]->dtype != IR_I32)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "only integer token-id inputs are supported");
  if (numel_of(s) != r->f->batch * r->L)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "input '%s' is not [batch, seqlen]",
                      n->a.name ? n->a.name : "?");
  s->ids = r->f->ids;
  s->owned = false;
  return SSD_OK;
}

static int op_const(run *r, const ir_node *n) {
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  int64_t cnt = numel_of(&r->e->v[n->out[0]->id]);
  for (int64_t i = 0; i < cnt; i++) y[i] = (float)n->a.scalar;
  return SSD_OK;
}

static int op_embed(run *r, const ir_node *n) {
  vslot *ids = in_slot(r, n, 0), *tab = in_slot(r, n, 1);
  if (!ids->ids) return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "embed of non-input ids");
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  return rt_embed(ids->ids, numel_of(ids), tab->f, tab->shape[0], tab->shape[1], y, r->c);
}

static const rt_packed *find_packed(rt_exec *e, const float *W) {
  for (int i = 0; i < e->npacked; i++)
    if (e->packed[i].W == W) return &e->packed[i].p;
  return NULL;
}

static int op_linear(run *r, const ir_node *n) {
  vslot *x = in_slot(r, n, 0), *w = in_slot(r, n, 1);
  int64_t K = last_dim(x), N = w->shape[0];
  if (w->rank != 2 || w->shape[1] != K)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "linear: weight does not match input");
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  int64_t M = K ? numel_of(x) / K : 0;
  const rt_packed *p = find_packed(r->e, w->f);
  if (p) {
    rt_gemm_packed(x->f, M, p, in_f(r, n, 2), y);
    return SSD_OK;
  }
  return rt_linear(x->f, M, K, w->f, N, in_f(r, n, 2), y, r->c);
}

static int op_norm(run *r, const ir_node *n) {
  vslot *x = in_slot(r, n, 0);
  int64_t D = last_dim(x), rows = D ? numel_of(x) / D : 0;
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  if (n->op == IR_RMSNORM) rt_rmsnorm(x->f, rows, D, in_f(r, n, 1), n->a.eps, y);
  else if (n->op == IR_LAYERNORM) rt_layernorm(x->f, rows, D, in_f(r, n, 1), in_f(r, n, 2), n->a.eps, y);
  else {
    int64_t g = n->a.ngroups > 0 ? n->a.ngroups : 1;
    if (D % g) return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "gated rmsnorm: groups do not divide");
    rt_gated_rmsnorm(x->f, in_f(r, n, 1), rows, D, in_f(r, n, 2), n->a.eps, g,
                     n->a.norm_before_gate, y);
  }
  return SSD_OK;
}

/* The state slot buffer of a conv or ssm node, NULL without a cache. */
static int slot_state(run *r, const ir_node *n, float **out) {
  *out = NULL;
  if (!r->f->state) return SSD_OK;
  if (n->op == IR_SSM && n->a.ssm->state_slot >= 0) {
    const ir_ssm_attr *s = n->a.ssm;
    int64_t B = in_slot(r, n, IR_SSM_X)->shape[0];
    return rt_state_dense(r->f->state, s->state_slot, B * s->H * s->P * s->N, out, r->c);
  }
  if (n->op == IR_CONV1D && n->a.state_slot >= 0) {
    vslot *x = in_slot(r, n, 0), *w = in_slot(r, n, 1);
    int64_t K = w->shape[w->rank - 1];
    if (x->rank != 3 || K < 2) return SSD_OK;
    return rt_state_dense(r->f->state, n->a.state_slot, x->shape[0] * x->shape[2] * (K - 1), out,
                          r->c);
  }
  return SSD_OK;
}

static int op_conv(run *r, const ir_node *n) {
  vslot *x = in_slot(r, n, 0), *w = in_slot(r, n, 1);
  if (x->rank != 3) return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "conv1d input is not [B, L, C]");
  int64_t B = x->shape[0], L = x->shape[1], C = x->shape[2], K = w->shape[w->rank - 1];
  float *state, *y;
  int rc = slot_state(r, n, &state);
  if (!rc) rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  rt_conv1d(x->f, B, L, C, w->f, K, in_f(r, n, 2), state, y);
  return SSD_OK;
}

static int op_unary(run *r, const ir_node *n) {
  vslot *x = in_slot(r, n, 0);
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  int64_t cnt = numel_of(x);
  if (numel_of(&r->e->v[n->out[0]->id]) != cnt)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "elementwise op changes size");
  rt_unary(rt_unary_of(n), x->f, cnt, n->a.lo, n->a.hi, y);
  return SSD_OK;
}

static int op_binary(run *r, const ir_node *n) {
  static const rt_binary_op map[] = {[IR_ADD] = RT_B_ADD, [IR_SUB] = RT_B_SUB,
                                     [IR_MUL] = RT_B_MUL, [IR_DIV] = RT_B_DIV};
  vslot *a = in_slot(r, n, 0), *b = in_slot(r, n, 1);
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  vslot *o = &r->e->v[n->out[0]->id];
  return rt_binary(map[n->op], a->f, a->rank, a->shape, b->f, b->rank, b->shape, y, o->rank,
                   o->shape, r->c);
}

/* Reshape keeps the bytes: take the input's buffer when this is its last use. */
static int op_reshape(run *r, const ir_node *n) {
  vslot *x = in_slot(r, n, 0), *o = &r->e->v[n->out[0]->id];
  if (x->owned && x->last_use == r->idx) {
    int rc = resolve(r, n->out[0], o);
    if (rc) return rc;
    if (numel_of(o) != numel_of(x))
      return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "reshape changes the element count");
    o->f = x->f;
    o->owned = true;
    x->f = NULL;
    x->owned = false;
    return SSD_OK;
  }
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  if (numel_of(o) != numel_of(x))
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "reshape changes the element count");
  memcpy(y, x->f, (size_t)numel_of(x) * sizeof(float));
  return SSD_OK;
}

/* outer and inner extents around axis of a shape. */
static void around(const vslot *s, int axis, int64_t *outer, int64_t *inner) {
  rt_shape_around(s->rank, s->shape, axis, outer, inner);
}

static int op_split(run *r, const ir_node *n) {
  vslot *x = in_slot(r, n, 0);
  int axis = n->a.axis < 0 ? x->rank + n->a.axis : n->a.axis;
  if (axis < 0 || axis >= x->rank || n->nout > 64)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split: bad axis or too many parts");
  int64_t sizes[64], outer, inner, total = 0;
  float *outs[64];
  for (int k = 0; k < n->nout; k++) {
    vslot *o = &r->e->v[n->out[k]->id];
    int rc = resolve(r, n->out[k], o);
    if (rc) return rc;
    sizes[k] = o->shape[axis];
    total += sizes[k];
    outs[k] = NULL;
    if (o->last_use >= 0 && (rc = alloc_out(r, n->out[k], &outs[k]))) return rc;
  }
  if (total != x->shape[axis])
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split sizes do not add up");
  around(x, axis, &outer, &inner);
  rt_split(x->f, outer, inner, n->nout, sizes, outs);
  return SSD_OK;
}

static int op_concat(run *r, const ir_node *n) {
  float *y;
  int rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  vslot *o = &r->e->v[n->out[0]->id];
  int axis = n->a.axis < 0 ? o->rank + n->a.axis : n->a.axis;
  if (axis < 0 || axis >= o->rank || n->nin > 64)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "concat: bad axis or too many parts");
  int64_t sizes[64], outer, inner;
  const float *ins[64];
  for (int k = 0; k < n->nin; k++) {
    sizes[k] = in_slot(r, n, k)->shape[axis];
    ins[k] = in_f(r, n, k);
  }
  around(o, axis, &outer, &inner);
  rt_concat(ins, n->nin, sizes, outer, inner, y);
  return SSD_OK;
}

static int op_cast(run *r, const ir_node *n) {
  if (n->out[0]->dtype != IR_F32)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the CPU executor casts only to f32 (got %s)",
                      ir_dtype_name(n->out[0]->dtype));
  return op_unary(r, n);
}

/* Fill an rt_ssm descriptor from the node: the attribute maps 1:1. */
static int ssm_desc_of(run *r, const ir_node *n, rt_ssm_desc *d) {
  const ir_ssm_attr *s = n->a.ssm;
  vslot *x = in_slot(r, n, IR_SSM_X);
  if (!s || x->rank != 4)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "ssm node without attributes or [B,L,h,P] x");
  memset(d, 0, sizeof *d);
  d->s6 = s->kind == IR_SSM_S6;
  d->batch = x->shape[0];
  d->L = x->shape[1];
  d->H = s->H, d->P = s->P, d->N = s->N;
  d->hx = s->hx, d->hb = s->hb, d->hc = s->hc, d->hdt = s->hdt;
  d->has_dt = n->in[IR_SSM_DT] != NULL;
  d->has_A = n->in[IR_SSM_A] != NULL;
  d->has_D = n->in[IR_SSM_D] != NULL;
  d->has_z = n->in[IR_SSM_Z] != NULL;
  d->has_dt_bias = n->in[IR_SSM_DT_BIAS] != NULL;
  d->D_per_channel = d->has_D && in_slot(r, n, IR_SSM_D)->rank == 2;
  d->dt_softplus = s->dt_softplus;
  d->A_is_log = s->A_is_log;
  d->dt_min = s->dt_min;
  d->dt_max = s->dt_max;
  const ir_ssm_choice *ch = ir_ssm_choose(s, d->L);
  d->chunk = ch && ch->chunk > 0 ? ch->chunk : s->chunk > 0 ? s->chunk : 256;
  return rt_ssm_check(d, r->c);
}

static int op_ssm(run *r, const ir_node *n) {
  rt_ssm_desc d;
  int rc = ssm_desc_of(r, n, &d);
  if (rc) return rc;
  rt_ssm_args a = {in_f(r, n, IR_SSM_X), in_f(r, n, IR_SSM_DT), in_f(r, n, IR_SSM_A),
                   in_f(r, n, IR_SSM_B), in_f(r, n, IR_SSM_C), in_f(r, n, IR_SSM_D),
                   in_f(r, n, IR_SSM_Z), in_f(r, n, IR_SSM_DT_BIAS), NULL, NULL};
  size_t ns = (size_t)(d.batch * d.H * d.P * d.N);
  bool want_state = n->nout > 1 && r->e->v[n->out[1]->id].last_use >= 0;
  float *tmp = NULL;
  rc = slot_state(r, n, &a.state);
  if (!rc && !a.state && (want_state || n->in[IR_SSM_INIT])) {
    a.state = tmp = calloc(ns + 1, sizeof(float));
    if (!tmp) rc = ssd_err(r->c, SSD_ENOMEM, "out of memory for an ssm state");
  }
  if (!rc && n->in[IR_SSM_INIT] && (!r->f->state || rt_state_pos(r->f->state) == 0))
    memcpy(a.state, in_f(r, n, IR_SSM_INIT), ns * sizeof(float));
  if (!rc) rc = alloc_out(r, n->out[0], &a.y);
  if (!rc) {
    const ir_ssm_choice *ch = ir_ssm_choose(n->a.ssm, d.L);
    ir_ssm_form form = ch ? ch->form : IR_FORM_RECURRENT;
    if (d.s6 && form != IR_FORM_RECURRENT) form = IR_FORM_RECURRENT; /* no matmul form for S6 */
    if (form == IR_FORM_QUADRATIC) rc = rt_ssm_quadratic(&d, &a, r->c);
    else if (form == IR_FORM_CHUNKED) rc = rt_ssm_chunked(&d, &a, r->c);
    else rc = rt_ssm_recurrent(&d, &a, r->c);
  }
  if (!rc && want_state) {
    float *st;
    rc = alloc_out(r, n->out[1], &st);
    if (!rc) memcpy(st, a.state, ns * sizeof(float));
  }
  free(tmp);
  return rc;
}

static int op_attention(run *r, const ir_node *n) {
  const ir_attn_attr *at = n->a.attn;
  vslot *q = in_slot(r, n, 0);
  if (!at || q->rank != 4)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "attention without attributes or [B,L,H,Dh] q");
  rt_attn_desc d = {q->shape[0], q->shape[1], at->nheads, at->nkv, at->headdim, at->rotary_dim,
                    at->rope_theta > 0 ? at->rope_theta : 10000.0, at->scale, at->causal};
  rt_kv *kv = NULL;
  float *y;
  int rc = SSD_OK;
  if (r->f->state && at->state_slot >= 0)
    rc = rt_state_kv(r->f->state, at->state_slot, d.Hkv, d.Dh, &kv, r->c);
  if (!rc) rc = alloc_out(r, n->out[0], &y);
  if (rc) return rc;
  return rt_attention(&d, q->f, in_f(r, n, 1), in_f(r, n, 2), kv, y, r->c);
}

static int op_output(run *r, const ir_node *n) { return (void)r, (void)n, SSD_OK; }

typedef int (*op_fn)(run *r, const ir_node *n);
static const op_fn family_ops[IR_NFAMS] = RT_FAMILY_OPS(op_cast);

static int run_node(run *r, const ir_node *n) {
  const op_fn f = family_ops[ir_op_family(n->op)];
  if (f) return f(r, n);
  return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the CPU executor cannot run op '%s'",
                    ir_op_name(n->op));
}

/* Let a compiled-code hook run the node (and the group members it claims)
 * instead; *used is how many nodes it ran, 0 when it took none. */
static int run_hooked(run *r, const ir_node *n, int *used) {
  const rt_exec_hook *h = r->e->hook;
  *used = 0;
  int k = h ? h->claims(h->ctx, n, r->L) : 0;
  if (k <= 0 || n->nin > 16 || r->idx + k > r->e->nnodes) return SSD_OK;
  const ir_node *last = r->e->nodes[r->idx + k - 1];
  if (last->nout > 4) return SSD_OK;
  const float *in[16] = {0};
  float *out[4] = {0}, *state;
  for (int i = 0; i < n->nin; i++) in[i] = in_f(r, n, i);
  for (int i = 0; i < last->nout; i++) {
    int rc = alloc_out(r, last->out[i], &out[i]);
    if (rc) return rc;
  }
  int rc = slot_state(r, n, &state);
  if (rc) return rc;
  *used = k;
  return h->run(h->ctx, n, r->f->batch, r->L, in, out, state, r->c);
}

/* Free buffers whose last reader was node idx. */
static void release_after(rt_exec *e, const ir_node *n, int idx) {
  for (int k = 0; k < n->nin; k++) {
    if (!n->in[k]) continue;
    vslot *s = &e->v[n->in[k]->id];
    if (s->last_use == idx && s->owned) {
      free(s->f);
      s->f = NULL;
      s->owned = false;
    }
  }
  for (int k = 0; k < n->nout; k++) { /* results nobody reads */
    vslot *s = &e->v[n->out[k]->id];
    if (s->last_use < 0 && s->owned) {
      free(s->f);
      s->f = NULL;
      s->owned = false;
    }
  }
}


/* Cut every live [batch, seqlen, ...] buffer down to its last position. */
static int cut_to_last(run *r, int idx) {
  rt_exec *e = r->e;
  int64_t B = r->f->batch, L = r->L;
  for (int i = 0; i <= idx; i++) {
    const ir_node *n = e->nodes[i];
    for (int k = 0; k < n->nout; k++) {
      const ir_value *v = n->out[k];
      vslot *s = &e->v[v->id];
      if (!s->f || s->last_use <= idx || !rt_value_per_position(v)) continue;
      int64_t row = numel_of(s) / (B * L);
      float *nf = malloc((size_t)(B * row) * sizeof(float) + 1);
      if (!nf) return ssd_err(r->c, SSD_ENOMEM, "out of memory");
      for (int64_t b = 0; b < B; b++)
        memcpy(nf + b * row, s->f + (b * L + L - 1) * row, (size_t)row * sizeof(float));
      if (s->owned) free(s->f);
      s->f = nf;
      s->owned = true;
      s->shape[1] = 1;
    }
  }
  r->L = 1;
  return SSD_OK;
}

int rt_exec_forward(rt_exec *e, const rt_fwd *f, float **logits, int64_t *V, ssd_ctx *c) {
  *logits = NULL;
  if (f->batch <= 0 || f->L <= 0)
    return ssd_err(c, SSD_EINVAL, "empty input: batch %lld, length %lld", (long long)f->batch,
                   (long long)f->L);
  if (f->state && rt_state_batch(f->state) != f->batch)
    return ssd_err(c, SSD_EINVAL, "state cache is for batch %lld, input has batch %lld",
                   (long long)rt_state_batch(f->state), (long long)f->batch);
  run r = {e, f, f->L, 0, c};
  int rc = SSD_OK;
  const ir_value *result = NULL;
  for (int i = 0; i < e->nnodes && !rc; i++) {
    const ir_node *n = e->nodes[i];
    r.idx = i;
    int used;
    double t0 = e->profile ? rt_now() : 0;
    rc = run_hooked(&r, n, &used);
    if (!rc && !used) rc = run_node(&r, n), used = 1;
    if (e->profile) {
      e->op_s[n->op] += rt_now() - t0;
      e->op_n[n->op]++;
    }
    if (rc) break;
    bool cut = false;
    for (int j = i; j < i + used; j++) { /* every node a group kernel covered */
      const ir_node *nj = e->nodes[j];
      if (nj->op == IR_OUTPUT && !result) result = nj->in[0];
      if (nj->op != IR_OUTPUT) release_after(e, nj, j);
      cut |= j == e->last_mix;
    }
    i += used - 1;
    if (f->last_only && cut && r.L > 1) rc = cut_to_last(&r, i);
  }
  if (!rc && !result) rc = ssd_err(c, SSD_EINTERNAL, "the module has no output");
  if (!rc) {
    vslot *s = &e->v[result->id];
    if (!s->f) {
      rc = ssd_err(c, SSD_EINTERNAL, "the output was not computed");
    } else if (s->owned) {
      *logits = s->f;
      s->owned = false;
      s->f = NULL;
    } else {
      size_t n = (size_t)numel_of(s);
      *logits = malloc(n * sizeof(float) + 1);
      if (!*logits) rc = ssd_err(c, SSD_ENOMEM, "out of memory for the logits");
      else memcpy(*logits, s->f, n * sizeof(float));
    }
    *V = last_dim(s);
  }
  release_all(e);
  if (!rc && f->state) rt_state_advance(f->state, f->L);
  return rc;
}
