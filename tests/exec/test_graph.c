/* test_graph.c: the executor on a hand-built IR graph of the ops the shipped
 * models do not use (layernorm, gelu, concat, const, div, sub, clamp, cast,
 * sigmoid, mul, neg, chained reshapes) next to embed/split/linear, checked
 * against a float64 evaluation of the same graph written out here.  Also:
 * an unelaborated CALL and a cast to bf16 are clean errors, not crashes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_exec.h"
#include "rt_pool.h"
#include "tx.h"

enum { B = 2, L = 5, V = 11, D = 8, N = 6 };

static float tab[V * D], lw[D], lb[D], W[N * D], bias[N];

typedef struct g {
  ir_module *m;
  ir_func *f;
  const ir_dim *b, *s;
} g;

static ir_value *node(g *x, ir_op op, int nin, ir_value *const *in, int rank, const int64_t *dims,
                      ir_dtype t) {
  ir_node *n = ir_node_new(x->m, x->f, op, (ssd_loc){0}, nin, in, 1);
  const ir_dim *d[IR_MAX_RANK];
  for (int i = 0; i < rank; i++)
    d[i] = dims[i] == -1 ? x->b : dims[i] == -2 ? x->s : ir_dim_const(x->m, dims[i]);
  ir_value_set_type(n->out[0], t, rank, d);
  return n->out[0];
}

static ir_value *weight(g *x, const char *name, int rank, const int64_t *dims) {
  ir_value *v = node(x, IR_WEIGHT, 0, NULL, rank, dims, IR_F32);
  v->def->a.ckpt = name;
  return v;
}

static const float *weights(void *ctx, const ir_node *n) {
  (void)ctx;
  if (!strcmp(n->a.ckpt, "tab")) return tab;
  if (!strcmp(n->a.ckpt, "lw")) return lw;
  if (!strcmp(n->a.ckpt, "lb")) return lb;
  if (!strcmp(n->a.ckpt, "W")) return W;
  if (!strcmp(n->a.ckpt, "bias")) return bias;
  return NULL;
}

/* The graph; *cast is the CAST node, so a test can retarget it. */
static ir_module *build(ir_node **cast) {
  g x = {ir_module_new("graph"), NULL, NULL, NULL};
  x.f = x.m->main = ir_func_new(x.m, "main", (ssd_loc){0});
  x.b = ir_dim_sym(x.m, "batch");
  x.s = ir_dim_sym(x.m, "seqlen");
  const int64_t bs[] = {-1, -2}, bsd[] = {-1, -2, D}, v_d[] = {V, D}, d1[] = {D};
  ir_value *ids = node(&x, IR_INPUT, 0, NULL, 2, bs, IR_I64);
  ids->def->a.name = "ids";
  ir_value *t = weight(&x, "tab", 2, v_d), *w = weight(&x, "lw", 1, d1), *bb = weight(&x, "lb", 1, d1);
  ir_value *e = node(&x, IR_EMBED, 2, (ir_value *[]){ids, t}, 3, bsd, IR_F32);
  ir_value *ln = node(&x, IR_LAYERNORM, 3, (ir_value *[]){e, w, bb}, 3, bsd, IR_F32);
  ln->def->a.eps = 1e-5;
  ir_value *ge = node(&x, IR_GELU, 1, &ln, 3, bsd, IR_F32);
  ir_node *sp = ir_node_new(x.m, x.f, IR_SPLIT, (ssd_loc){0}, 1, &ge, 2);
  sp->a.axis = 2;
  const ir_dim *p0[] = {x.b, x.s, ir_dim_const(x.m, 3)}, *p1[] = {x.b, x.s, ir_dim_const(x.m, 5)};
  ir_value_set_type(sp->out[0], IR_F32, 3, p0);
  ir_value_set_type(sp->out[1], IR_F32, 3, p1);
  ir_value *cc = node(&x, IR_CONCAT, 2, (ir_value *[]){sp->out[1], sp->out[0]}, 3, bsd, IR_F32);
  cc->def->a.axis = 2;
  ir_value *k = node(&x, IR_CONST, 0, NULL, 0, NULL, IR_F32);
  k->def->a.scalar = 0.5;
  ir_value *dv = node(&x, IR_DIV, 2, (ir_value *[]){cc, k}, 3, bsd, IR_F32);
  ir_value *sb = node(&x, IR_SUB, 2, (ir_value *[]){dv, ln}, 3, bsd, IR_F32);
  ir_value *cl = node(&x, IR_CLAMP, 1, &sb, 3, bsd, IR_F32);
  cl->def->a.lo = -1.0;
  cl->def->a.hi = 2.0;
  ir_value *ca = node(&x, IR_CAST, 1, &cl, 3, bsd, IR_F32);
  *cast = ca->def;
  const int64_t r4[] = {-1, -2, 2, 4};
  ir_value *r1 = node(&x, IR_RESHAPE, 1, &ca, 4, r4, IR_F32);
  ir_value *r2 = node(&x, IR_RESHAPE, 1, &r1, 3, bsd, IR_F32);
  const int64_t nd[] = {N, D}, n1[] = {N}, bsn[] = {-1, -2, N};
  ir_value *wt = weight(&x, "W", 2, nd), *bi = weight(&x, "bias", 1, n1);
  ir_value *o = node(&x, IR_LINEAR, 3, (ir_value *[]){r2, wt, bi}, 3, bsn, IR_F32);
  ir_value *sg = node(&x, IR_SIGMOID, 1, &o, 3, bsn, IR_F32);
  ir_value *mu = node(&x, IR_MUL, 2, (ir_value *[]){sg, o}, 3, bsn, IR_F32);
  ir_value *ng = node(&x, IR_NEG, 1, &mu, 3, bsn, IR_F32);
  ir_node *out = ir_node_new(x.m, x.f, IR_OUTPUT, (ssd_loc){0}, 1, &ng, 0);
  out->a.name = "logits";
  return x.m;
}

/* The same graph in double, token by token. */
static void reference(const int64_t *ids, double *y) {
  for (int t = 0; t < B * L; t++) {
    const float *e = tab + ids[t] * D;
    double mu = 0, var = 0, ln[D], ge[D], cc[D], r[D];
    for (int i = 0; i < D; i++) mu += e[i];
    mu /= D;
    for (int i = 0; i < D; i++) var += (e[i] - mu) * (e[i] - mu);
    var /= D;
    for (int i = 0; i < D; i++) {
      ln[i] = (e[i] - mu) / sqrt(var + 1e-5) * lw[i] + lb[i];
      ge[i] = 0.5 * ln[i] * (1 + erf(ln[i] / sqrt(2.0)));
    }
    for (int i = 0; i < 5; i++) cc[i] = ge[3 + i]; /* concat(part 1, part 0) */
    for (int i = 0; i < 3; i++) cc[5 + i] = ge[i];
    for (int i = 0; i < D; i++) r[i] = fmin(fmax(cc[i] / 0.5 - ln[i], -1.0), 2.0);
    for (int n = 0; n < N; n++) {
      double o = bias[n];
      for (int i = 0; i < D; i++) o += (double)W[n * D + i] * r[i];
      y[t * N + n] = -(o / (1 + exp(-o)));
    }
  }
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (rt_pool_init(2, &c)) return 1;
  tx_seed(9);
  for (int i = 0; i < V * D; i++) tab[i] = (float)(tx_unif() * 2);
  for (int i = 0; i < D; i++) lw[i] = (float)(1 + 0.3 * tx_unif()), lb[i] = (float)(0.3 * tx_unif());
  for (int i = 0; i < N * D; i++) W[i] = (float)(0.5 * tx_unif());
  for (int i = 0; i < N; i++) bias[i] = (float)(0.2 * tx_unif());
  int64_t ids[B * L];
  for (int i = 0; i < B * L; i++) ids[i] = (int64_t)(tx_next() % V);

  ir_node *cast;
  ir_module *m = build(&cast);
  rt_exec *e = NULL;
  TX_CHECK(!rt_exec_new(m, weights, NULL, &e, &c), "rt_exec_new: %s", c.msg);
  float *y = NULL;
  int64_t nv = 0;
  rt_fwd f = {ids, B, L, NULL, false};
  if (e) TX_CHECK(!rt_exec_forward(e, &f, &y, &nv, &c), "forward: %s", c.msg);
  double ref[B * L * N];
  reference(ids, ref);
  TX_CHECK(nv == N, "last dim %lld", (long long)nv);
  if (y) TX_CLOSE("hand-built graph vs f64", tx_reldiff_f64(y, ref, B * L * N), 1e-5);
  free(y);

  /* the same executor again (buffers were released) with another length */
  rt_fwd f2 = {ids, 1, 3, NULL, false};
  y = NULL;
  if (e) TX_CHECK(!rt_exec_forward(e, &f2, &y, &nv, &c), "second forward: %s", c.msg);
  if (y) TX_CLOSE("second call, [1, 3]", tx_reldiff_f64(y, ref, 3 * N), 1e-5);
  free(y);

  FILE *devnull = fopen("/dev/null", "w");
  c.diag = devnull;
  /* a cast to bf16 is not something this executor computes */
  ir_value_set_type(cast->out[0], IR_BF16, cast->out[0]->rank, cast->out[0]->dims);
  y = NULL;
  TX_CHECK(e && rt_exec_forward(e, &f, &y, &nv, &c) == SSD_EUNSUPPORTED && !y,
           "cast to bf16 accepted");
  rt_exec_free(e);
  ir_module_free(m);

  /* an unelaborated call */
  m = build(&cast);
  ir_node_new(m, m->main, IR_CALL, (ssd_loc){0}, 0, NULL, 0);
  e = NULL;
  TX_CHECK(rt_exec_new(m, weights, NULL, &e, &c) == SSD_EUNSUPPORTED && !e, "call accepted");
  ir_module_free(m);
  fclose(devnull);
  rt_pool_shutdown();
  if (tx_failures) fprintf(stderr, "%d failures\n", tx_failures);
  else printf("test_graph: all passed\n");
  return tx_failures != 0;
}
