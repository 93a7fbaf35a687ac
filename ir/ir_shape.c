/* ir_shape.c: the shape rule of every op (see ir_shape.h).
 *
 * Each rule reads the operand types, reports a mismatch at the node's model
 * file location with both shapes spelled out, and produces the result types.
 * The same code infers (pass_shapes) and verifies (ir_verify): in verify mode
 * the computed types are compared with the recorded ones.  Dims are compared
 * with ir_dim_equal, so hyperparameter expressions that are not folded yet
 * (d_model*2 vs 1536) still compare by value.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ir_shape.h"

typedef struct {
  ir_dtype dtype;
  int rank;
  const ir_dim *dims[IR_MAX_RANK];
} shape;

const char *ir_type_str(char *buf, size_t n, const ir_value *v) {
  size_t k = 0;
  if (!v) {
    snprintf(buf, n, "(none)");
    return buf;
  }
  k += (size_t)snprintf(buf, n, "%s[", ir_dtype_name(v->dtype));
  for (int i = 0; i < v->rank && k < n; i++) {
    if (i && k < n) k += (size_t)snprintf(buf + k, n - k, ",");
    if (k < n) k += (size_t)ir_dim_snprint(buf + k, n - k, v->dims[i]);
  }
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* "op: what (a is T, b is U)" at the node. */
static int mismatch(ssd_ctx *c, const ir_node *n, const char *what, const char *an,
                    const ir_value *a, const char *bn, const ir_value *b) {
  char ta[256], tb[256];
  if (!b)
    return ssd_err_at(c, n->loc, SSD_ECHECK, "%s: %s (%s is %s)", ir_op_name(n->op), what,
                      an, ir_type_str(ta, sizeof ta, a));
  return ssd_err_at(c, n->loc, SSD_ECHECK, "%s: %s (%s is %s, %s is %s)", ir_op_name(n->op),
                    what, an, ir_type_str(ta, sizeof ta, a), bn, ir_type_str(tb, sizeof tb, b));
}

static void shape_of(shape *s, const ir_value *v) {
  s->dtype = v->dtype;
  s->rank = v->rank;
  for (int i = 0; i < IR_MAX_RANK; i++) s->dims[i] = i < v->rank ? v->dims[i] : NULL;
}

static bool is_one(const ir_module *m, const ir_dim *d) {
  int64_t v;
  return !ir_dim_eval(m, d, &v) && v == 1;
}

static bool dim_is(const ir_module *m, const ir_dim *d, int64_t want) {
  int64_t v;
  return !ir_dim_eval(m, d, &v) && v == want;
}

static bool same_dims(const ir_module *m, const ir_value *a, int ia, const ir_value *b, int ib) {
  return ir_dim_equal(m, a->dims[ia], b->dims[ib]);
}

static bool is_int(ir_dtype t) { return t == IR_I32 || t == IR_I64; }

/* ---- per-op rules --------------------------------------------------------- */
static int rule_broadcast(ir_module *m, const ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *a = n->in[0], *b = n->in[1];
  int r = a->rank > b->rank ? a->rank : b->rank;
  o->dtype = a->rank >= b->rank ? a->dtype : b->dtype;
  o->rank = r;
  for (int i = 0; i < r; i++) {
    int ia = a->rank - r + i, ib = b->rank - r + i;
    const ir_dim *da = ia >= 0 ? a->dims[ia] : NULL, *db = ib >= 0 ? b->dims[ib] : NULL;
    if (!da) o->dims[i] = db;
    else if (!db) o->dims[i] = da;
    else if (ir_dim_equal(m, da, db) || is_one(m, db)) o->dims[i] = da;
    else if (is_one(m, da)) o->dims[i] = db;
    else return mismatch(c, n, "operands do not broadcast", "lhs", a, "rhs", b);
  }
  return SSD_OK;
}

static int rule_embed(ir_module *m, const ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *ids = n->in[0], *t = n->in[1];
  (void)m;
  if (!is_int(ids->dtype)) return mismatch(c, n, "ids must be integers", "ids", ids, NULL, NULL);
  if (t->rank != 2) return mismatch(c, n, "table must be [vocab, dim]", "table", t, NULL, NULL);
  if (ids->rank + 1 > IR_MAX_RANK) return mismatch(c, n, "ids rank too large", "ids", ids, NULL, NULL);
  shape_of(o, ids);
  o->dtype = t->dtype;
  o->dims[o->rank++] = t->dims[1];
  return SSD_OK;
}

static int rule_linear(ir_module *m, const ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *x = n->in[0], *w = n->in[1], *b = n->in[2];
  if (x->rank < 1) return mismatch(c, n, "x must have rank >= 1", "x", x, NULL, NULL);
  if (w->rank != 2) return mismatch(c, n, "W must be [out, in]", "x", x, "W", w);
  if (!same_dims(m, x, x->rank - 1, w, 1))
    return mismatch(c, n, "last dim of x must equal W's in-dim (W is [out, in])", "x", x, "W", w);
  if (b && (b->rank != 1 || !same_dims(m, b, 0, w, 0)))
    return mismatch(c, n, "bias must be [out]", "bias", b, "W", w);
  shape_of(o, x);
  o->dims[o->rank - 1] = w->dims[0];
  return SSD_OK;
}

/* Norm weight (and bias) are [D] with D the last dim of x. */
static int check_norm_vec(ir_module *m, const ir_node *n, const ir_value *x, const ir_value *w,
                          const char *name, ssd_ctx *c) {
  if (!w) return SSD_OK;
  if (w->rank != 1 || !same_dims(m, w, 0, x, x->rank - 1))
    return mismatch(c, n, "norm parameter must be [last dim of x]", "x", x, name, w);
  return SSD_OK;
}

static int rule_norm(ir_module *m, const ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *x = n->in[0];
  int wi = n->op == IR_GATED_RMSNORM ? 2 : 1;
  if (x->rank < 1) return mismatch(c, n, "x must have rank >= 1", "x", x, NULL, NULL);
  int rc = check_norm_vec(m, n, x, n->in[wi], "w", c);
  if (!rc && n->op == IR_LAYERNORM) rc = check_norm_vec(m, n, x, n->in[2], "b", c);
  if (rc) return rc;
  if (n->op == IR_GATED_RMSNORM) {
    const ir_value *z = n->in[1];
    if (z->rank != x->rank) return mismatch(c, n, "z must have x's shape", "x", x, "z", z);
    for (int i = 0; i < x->rank; i++)
      if (!same_dims(m, x, i, z, i)) return mismatch(c, n, "z must have x's shape", "x", x, "z", z);
    int64_t d;
    if (n->a.ngroups > 0 && !ir_dim_eval(m, x->dims[x->rank - 1], &d) && d % n->a.ngroups)
      return ssd_err_at(c, n->loc, SSD_ECHECK,
                        "gated_rmsnorm: groups=%" PRId64 " does not divide the last dim %" PRId64,
                        n->a.ngroups, d);
  }
  shape_of(o, x);
  return SSD_OK;
}

static int rule_conv1d(ir_module *m, ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *x = n->in[0], *w = n->in[1], *b = n->in[2];
  if (x->rank != 3) return mismatch(c, n, "x must be [batch, seqlen, channels]", "x", x, NULL, NULL);
  if (w->rank != 3 || !same_dims(m, w, 0, x, 2) || !is_one(m, w->dims[1]))
    return mismatch(c, n, "weight must be [channels, 1, kernel]", "x", x, "w", w);
  int64_t k;
  if (ir_dim_eval(m, w->dims[2], &k) || k < 1)
    return mismatch(c, n, "kernel size must be a positive constant", "w", w, NULL, NULL);
  if (b && (b->rank != 1 || !same_dims(m, b, 0, x, 2)))
    return mismatch(c, n, "bias must be [channels]", "x", x, "b", b);
  n->a.kernel = k;
  shape_of(o, x);
  return SSD_OK;
}

static int norm_axis(const ir_node *n, int rank, int *axis, ssd_ctx *c) {
  int a = n->a.axis < 0 ? rank + n->a.axis : n->a.axis;
  if (a < 0 || a >= rank)
    return ssd_err_at(c, n->loc, SSD_ECHECK, "%s: axis %d out of range for rank %d",
                      ir_op_name(n->op), n->a.axis, rank);
  *axis = a;
  return SSD_OK;
}

static int rule_split(ir_module *m, ir_node *n, shape *outs, ssd_ctx *c) {
  const ir_value *x = n->in[0];
  int ax = 0;
  int rc = norm_axis(n, x->rank, &ax, c);
  if (rc) return rc;
  if (n->a.nsizes != n->nout)
    return ssd_err_at(c, n->loc, SSD_ECHECK, "split: %d sizes for %d results", n->a.nsizes, n->nout);
  int64_t total = 0, d, want;
  bool known = !ir_dim_eval(m, x->dims[ax], &want);
  for (int i = 0; i < n->a.nsizes; i++) {
    if (!n->a.sizes[i] || ir_dim_eval(m, n->a.sizes[i], &d) || d < 0)
      return mismatch(c, n, "split sizes must be non-negative constants", "x", x, NULL, NULL);
    total += d;
    shape_of(&outs[i], x);
    outs[i].dims[ax] = n->a.sizes[i];
  }
  if (!known || total != want) {
    char msg[160];
    snprintf(msg, sizeof msg, "split sizes add up to %" PRId64 " but axis %d has %s", total, ax,
             known ? "a different size" : "a symbolic size");
    return mismatch(c, n, msg, "x", x, NULL, NULL);
  }
  n->a.axis = ax;
  return SSD_OK;
}

static int rule_reshape(ir_module *m, ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *x = n->in[0];
  int k = n->a.axis;
  if (k < 0 || k > x->rank || x->rank - k + n->a.nsizes > IR_MAX_RANK || n->a.nsizes < 1)
    return mismatch(c, n, "cannot replace that many trailing dims", "x", x, NULL, NULL);
  int64_t have = 1, prod = 1, d;
  for (int i = x->rank - k; i < x->rank; i++) {
    if (ir_dim_eval(m, x->dims[i], &d) || __builtin_mul_overflow(have, d, &have))
      return mismatch(c, n, "reshaped dims must be constants", "x", x, NULL, NULL);
  }
  int hole = -1;
  for (int i = 0; i < n->a.nsizes; i++) {
    if (!n->a.sizes[i]) {
      if (hole >= 0) return mismatch(c, n, "at most one inferred size", "x", x, NULL, NULL);
      hole = i;
      continue;
    }
    if (ir_dim_eval(m, n->a.sizes[i], &d) || d <= 0 || __builtin_mul_overflow(prod, d, &prod))
      return mismatch(c, n, "reshape sizes must be positive constants", "x", x, NULL, NULL);
  }
  shape_of(o, x);
  o->rank = x->rank - k;
  for (int i = 0; i < n->a.nsizes; i++) o->dims[o->rank + i] = n->a.sizes[i];
  if (hole >= 0) {
    if (prod == 0 || have % prod) {
      char msg[160];
      snprintf(msg, sizeof msg, "cannot split %" PRId64 " elements into parts of %" PRId64, have, prod);
      return mismatch(c, n, msg, "x", x, NULL, NULL);
    }
    o->dims[o->rank + hole] = ir_dim_const(m, have / prod);
    prod = have;
  }
  o->rank += n->a.nsizes;
  if (prod != have) {
    char msg[160];
    snprintf(msg, sizeof msg, "reshape of %" PRId64 " elements into %" PRId64, have, prod);
    return mismatch(c, n, msg, "x", x, NULL, NULL);
  }
  return SSD_OK;
}

static int rule_concat(ir_module *m, ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *x = n->in[0];
  int ax = 0;
  int rc = norm_axis(n, x->rank, &ax, c);
  if (rc) return rc;
  int64_t total = 0, d;
  bool constant = true;
  const ir_dim *sum = NULL; /* symbolic sizes (a seqlen axis) add up as an expression */
  for (int i = 0; i < n->nin; i++) {
    const ir_value *y = n->in[i];
    if (y->rank != x->rank) return mismatch(c, n, "operands must have equal rank", "first", x, "other", y);
    for (int j = 0; j < x->rank; j++)
      if (j != ax && !same_dims(m, x, j, y, j))
        return mismatch(c, n, "operands differ off the concat axis", "first", x, "other", y);
    if (ir_dim_eval(m, y->dims[ax], &d)) constant = false;
    else if (__builtin_add_overflow(total, d, &total))
      return mismatch(c, n, "concat size overflows", "operand", y, NULL, NULL);
    sum = sum ? ir_dim_bin(m, IR_DIM_ADD, sum, y->dims[ax]) : y->dims[ax];
  }
  shape_of(o, x);
  o->dims[ax] = constant ? ir_dim_const(m, total) : sum;
  if (!o->dims[ax]) return ssd_err(c, SSD_ENOMEM, "out of memory in shape inference");
  n->a.axis = ax;
  return SSD_OK;
}

/* ---- SSM --------------------------------------------------------------------- */
typedef struct {
  int64_t hx, hdt, hb, hc, H, P, N;
  const ir_dim *Hd;
} ssm_heads;

static int const_dim(const ir_module *m, const ir_node *n, const ir_value *v, int i,
                     const char *name, int64_t *out, ssd_ctx *c) {
  if (ir_dim_eval(m, v->dims[i], out) || *out <= 0)
    return mismatch(c, n, "head counts and sizes must be positive constants", name, v, NULL, NULL);
  return SSD_OK;
}

static int want_rank(const ir_node *n, const ir_value *v, int r, const char *name,
                     const char *layout, ssd_ctx *c) {
  if (!v || v->rank == r) return SSD_OK;
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be %s", name, layout);
  return mismatch(c, n, msg, name, v, NULL, NULL);
}

/* Batch and sequence dims of an activation operand must match x's. */
static int same_bl(const ir_module *m, const ir_node *n, const ir_value *x, const ir_value *v,
                   const char *name, ssd_ctx *c) {
  if (!v) return SSD_OK;
  if (!same_dims(m, x, 0, v, 0) || !same_dims(m, x, 1, v, 1))
    return mismatch(c, n, "batch and sequence dims must match x", "x", x, name, v);
  return SSD_OK;
}

static int divides(const ir_node *n, int64_t h, int64_t H, const char *name, ssd_ctx *c) {
  if (H % h)
    return ssd_err_at(c, n->loc, SSD_ECHECK,
                      "ssm: %s has %" PRId64 " heads, which does not divide the %" PRId64
                      " output heads", name, h, H);
  return SSD_OK;
}

static int ssm_ranks(const ir_node *n, ssd_ctx *c) {
  ir_value *const *in = n->in;
  int rc = want_rank(n, in[IR_SSM_X], 4, "x", "[batch, seqlen, heads, headdim]", c);
  if (!rc) rc = want_rank(n, in[IR_SSM_DT], 3, "dt", "[batch, seqlen, heads]", c);
  if (!rc && in[IR_SSM_A] && in[IR_SSM_A]->rank != 1 && in[IR_SSM_A]->rank != 2)
    rc = mismatch(c, n, "A must be [heads] (SSD) or [heads, dstate] (S6)", "A", in[IR_SSM_A], NULL, NULL);
  if (!rc) rc = want_rank(n, in[IR_SSM_B], 4, "B", "[batch, seqlen, groups, dstate]", c);
  if (!rc) rc = want_rank(n, in[IR_SSM_C], 4, "C", "[batch, seqlen, groups, dstate]", c);
  if (!rc) rc = want_rank(n, in[IR_SSM_Z], 4, "z", "[batch, seqlen, heads, headdim]", c);
  if (!rc) rc = want_rank(n, in[IR_SSM_DT_BIAS], 1, "dt_bias", "[heads]", c);
  if (!rc) rc = want_rank(n, in[IR_SSM_INIT], 4, "init", "[batch, heads, headdim, dstate]", c);
  if (!rc && in[IR_SSM_D] && in[IR_SSM_D]->rank != 1 && in[IR_SSM_D]->rank != 2)
    rc = mismatch(c, n, "D must be [heads] or [heads, headdim]", "D", in[IR_SSM_D], NULL, NULL);
  return rc;
}

static int ssm_counts(const ir_module *m, const ir_node *n, ssm_heads *h, ssd_ctx *c) {
  ir_value *const *in = n->in;
  const ir_value *x = in[IR_SSM_X], *B = in[IR_SSM_B], *C = in[IR_SSM_C];
  const ir_value *dt = in[IR_SSM_DT], *A = in[IR_SSM_A];
  int rc = const_dim(m, n, x, 2, "x", &h->hx, c);
  if (!rc) rc = const_dim(m, n, x, 3, "x", &h->P, c);
  if (!rc) rc = const_dim(m, n, B, 2, "B", &h->hb, c);
  if (!rc) rc = const_dim(m, n, B, 3, "B", &h->N, c);
  if (!rc) rc = const_dim(m, n, C, 2, "C", &h->hc, c);
  if (rc) return rc;
  if (!same_dims(m, B, 3, C, 3)) return mismatch(c, n, "B and C must share dstate", "B", B, "C", C);
  h->hdt = 0;
  if (dt && (rc = const_dim(m, n, dt, 2, "dt", &h->hdt, c))) return rc;
  if (A) {
    int64_t ha;
    if ((rc = const_dim(m, n, A, 0, "A", &ha, c))) return rc;
    if (h->hdt && ha != h->hdt) return mismatch(c, n, "A must have dt's heads", "dt", dt, "A", A);
    h->hdt = ha;
    if (A->rank == 2 && !same_dims(m, A, 1, B, 3))
      return mismatch(c, n, "S6 A must be [heads, dstate] with B's dstate", "A", A, "B", B);
  }
  h->H = h->hx;
  h->Hd = x->dims[2];
  const ir_dim *cand[3] = {B->dims[2], C->dims[2], dt ? dt->dims[2] : A ? A->dims[0] : NULL};
  int64_t cnt[3] = {h->hb, h->hc, h->hdt};
  for (int i = 0; i < 3; i++)
    if (cnt[i] > h->H) {
      h->H = cnt[i];
      h->Hd = cand[i];
    }
  if (!h->hdt) h->hdt = h->H;
  rc = divides(n, h->hx, h->H, "x", c);
  if (!rc) rc = divides(n, h->hb, h->H, "B", c);
  if (!rc) rc = divides(n, h->hc, h->H, "C", c);
  if (!rc) rc = divides(n, h->hdt, h->H, "dt", c);
  return rc;
}

static int ssm_optional(const ir_module *m, const ir_node *n, const ssm_heads *h, ssd_ctx *c) {
  ir_value *const *in = n->in;
  const ir_value *x = in[IR_SSM_X], *D = in[IR_SSM_D], *z = in[IR_SSM_Z];
  const ir_value *bias = in[IR_SSM_DT_BIAS], *init = in[IR_SSM_INIT];
  if (D && (!dim_is(m, D->dims[0], h->H) || (D->rank == 2 && !dim_is(m, D->dims[1], h->P))))
    return mismatch(c, n, "D must be [H] or [H, P] (H: output heads, P: x's headdim)", "x", x, "D", D);
  if (z && (!dim_is(m, z->dims[2], h->H) || !dim_is(m, z->dims[3], h->P)))
    return mismatch(c, n, "z must be [batch, seqlen, H, P] with x's headdim P", "x", x, "z", z);
  if (bias && !dim_is(m, bias->dims[0], h->hdt))
    return mismatch(c, n, "dt_bias must have dt's heads", "dt", in[IR_SSM_DT], "dt_bias", bias);
  if (init && (!same_dims(m, init, 0, x, 0) || !dim_is(m, init->dims[1], h->H) ||
               !dim_is(m, init->dims[2], h->P) || !dim_is(m, init->dims[3], h->N)))
    return mismatch(c, n, "init must be [batch, H, P, N]", "x", x, "init", init);
  int rc = same_bl(m, n, x, in[IR_SSM_DT], "dt", c);
  if (!rc) rc = same_bl(m, n, x, in[IR_SSM_B], "B", c);
  if (!rc) rc = same_bl(m, n, x, in[IR_SSM_C], "C", c);
  if (!rc) rc = same_bl(m, n, x, z, "z", c);
  return rc;
}

/* The attribute, once the head pass filled it, must agree with the operands. */
static int ssm_attr_agrees(const ir_node *n, const ssm_heads *h, ssd_ctx *c) {
  const ir_ssm_attr *s = n->a.ssm;
  if (!s || s->H == 0) return SSD_OK;
  if (s->H != h->H || s->P != h->P || s->N != h->N || s->hx != h->hx || s->hb != h->hb ||
      s->hc != h->hc || s->hdt != h->hdt)
    return ssd_err_at(c, n->loc, SSD_ECHECK, "ssm: head attributes disagree with operand shapes");
  const ir_value *A = n->in[IR_SSM_A];
  if (A && (s->kind == IR_SSM_S6) != (A->rank == 2))
    return ssd_err_at(c, n->loc, SSD_ECHECK, "ssm: kind %s disagrees with A's rank %d",
                      s->kind == IR_SSM_S6 ? "s6" : "ssd", A->rank);
  return SSD_OK;
}

static int rule_ssm(ir_module *m, ir_node *n, shape *outs, ssd_ctx *c) {
  ssm_heads h;
  int rc = ssm_ranks(n, c);
  if (!rc) rc = ssm_counts(m, n, &h, c);
  if (!rc) rc = ssm_optional(m, n, &h, c);
  if (!rc) rc = ssm_attr_agrees(n, &h, c);
  if (rc) return rc;
  const ir_value *x = n->in[IR_SSM_X];
  shape_of(&outs[0], x);
  outs[0].dims[2] = h.Hd;
  if (n->nout > 1) {
    outs[1].dtype = IR_F32;
    outs[1].rank = 4;
    outs[1].dims[0] = x->dims[0];
    outs[1].dims[1] = h.Hd;
    outs[1].dims[2] = x->dims[3];
    outs[1].dims[3] = n->in[IR_SSM_B]->dims[3];
  }
  return SSD_OK;
}

static int rule_attention(ir_module *m, ir_node *n, shape *o, ssd_ctx *c) {
  const ir_value *q = n->in[0], *k = n->in[1], *v = n->in[2];
  if (q->rank != 4) return mismatch(c, n, "q must be [batch, seqlen, heads, headdim]", "q", q, NULL, NULL);
  for (int j = 1; j < 3; j++) {
    const ir_value *t = n->in[j];
    const char *nm = j == 1 ? "k" : "v";
    if (t->rank != 4 || !same_dims(m, q, 0, t, 0) || !same_dims(m, q, 1, t, 1) ||
        !same_dims(m, q, 3, t, 3))
      return mismatch(c, n, "k and v must be [batch, seqlen, kv_heads, headdim] like q", "q", q, nm, t);
  }
  if (!same_dims(m, k, 2, v, 2)) return mismatch(c, n, "k and v must have equal heads", "k", k, "v", v);
  int64_t hq, hkv, dh;
  if (ir_dim_eval(m, q->dims[2], &hq) || ir_dim_eval(m, k->dims[2], &hkv) ||
      ir_dim_eval(m, q->dims[3], &dh) || hq <= 0 || hkv <= 0 || dh <= 0)
    return mismatch(c, n, "head counts and head dim must be positive constants", "q", q, "k", k);
  if (hq % hkv)
    return mismatch(c, n, "kv heads must divide query heads", "q", q, "k", k);
  ir_attn_attr *a = n->a.attn;
  if (a) {
    if ((a->nheads && a->nheads != hq) || (a->nkv && a->nkv != hkv) || (a->headdim && a->headdim != dh))
      return mismatch(c, n, "heads/kv_heads/head_dim arguments disagree with q and k", "q", q, "k", k);
    if (a->rotary_dim < 0 || a->rotary_dim > dh || a->rotary_dim % 2)
      return ssd_err_at(c, n->loc, SSD_ECHECK,
                        "attention: rotary_dim %" PRId64 " must be even and at most head_dim %" PRId64,
                        a->rotary_dim, dh);
    a->nheads = hq;
    a->nkv = hkv;
    a->headdim = dh;
  }
  shape_of(o, q);
  return SSD_OK;
}

/* ---- dispatch ---------------------------------------------------------------- */
static int rule(ir_module *m, ir_node *n, shape *outs, ssd_ctx *c) {
  if (n->nout > 0) shape_of(&outs[0], n->out[0]); /* sources keep their declared type */
  switch (n->op) {
  case IR_INPUT: case IR_WEIGHT: case IR_CALL: case IR_OUTPUT: return SSD_OK;
  case IR_CONST: outs[0].rank = 0; outs[0].dtype = IR_F32; return SSD_OK;
  case IR_EMBED: return rule_embed(m, n, outs, c);
  case IR_LINEAR: return rule_linear(m, n, outs, c);
  case IR_RMSNORM: case IR_GATED_RMSNORM: case IR_LAYERNORM: return rule_norm(m, n, outs, c);
  case IR_CONV1D: return rule_conv1d(m, n, outs, c);
  case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: return rule_broadcast(m, n, outs, c);
  case IR_CAST: {
    ir_dtype t = n->out[0]->dtype;
    shape_of(outs, n->in[0]);
    outs[0].dtype = t;
    return SSD_OK;
  }
  case IR_SPLIT: return rule_split(m, n, outs, c);
  case IR_RESHAPE: return rule_reshape(m, n, outs, c);
  case IR_CONCAT: return rule_concat(m, n, outs, c);
  case IR_SSM: return rule_ssm(m, n, outs, c);
  case IR_ATTENTION: return rule_attention(m, n, outs, c);
  default:
    if (ir_op_is_elementwise(n->op)) {
      shape_of(outs, n->in[0]);
      return SSD_OK;
    }
    return ssd_err_at(c, n->loc, SSD_EINTERNAL, "no shape rule for op %s", ir_op_name(n->op));
  }
}

static bool shape_matches(const ir_module *m, const shape *s, const ir_value *v) {
  if (s->dtype != v->dtype || s->rank != v->rank) return false;
  for (int i = 0; i < s->rank; i++)
    if (!ir_dim_equal(m, s->dims[i], v->dims[i])) return false;
  return true;
}

int ir_shape_node(ir_module *m, ir_node *n, bool set, ssd_ctx *c) {
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] && n->in[i]->rank > IR_MAX_RANK)
      return ssd_err_at(c, n->loc, SSD_EINTERNAL, "operand rank out of range");
  shape *outs = calloc((size_t)(n->nout ? n->nout : 1), sizeof *outs);
  if (!outs) return ssd_err(c, SSD_ENOMEM, "out of memory in shape inference");
  int rc = rule(m, n, outs, c);
  for (int i = 0; !rc && i < n->nout; i++) {
    if (set) {
      ir_value_set_type(n->out[i], outs[i].dtype, outs[i].rank, outs[i].dims);
    } else if (!shape_matches(m, &outs[i], n->out[i])) {
      ir_value tmp = {0};
      ir_value_set_type(&tmp, outs[i].dtype, outs[i].rank, outs[i].dims);
      rc = mismatch(c, n, "recorded result type differs from the inferred one", "result",
                    n->out[i], "inferred", &tmp);
    }
  }
  free(outs);
  return rc;
}
