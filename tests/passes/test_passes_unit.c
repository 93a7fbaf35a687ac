/* test_passes_unit.c: the pass pipeline on IR built by hand through ir.h,
 * so it is tested without the frontend.
 *
 * Covers: every SSM fusion pattern applied (dt_bias, softplus, clamp, -exp,
 * D*x, silu(z)) and NOT applied when the intermediate has another use;
 * shape errors reported with both shapes at the node's line:col; head
 * divisibility; algorithm selection (recurrent at L=1, chunked at long L
 * for SSD, recurrent for S6); cost-model files; printer stability and the
 * verifier on the result.  Sizes follow mamba2-130m's head pattern scaled
 * down (H=4 heads of P=64, N=128, sharing one B/C group).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "passes.h"

#include "../ssd_check.h"

static ssd_src src = {"unit.ssd", "line one\nline two\n", 18};
static ssd_loc at(int line) { return (ssd_loc){&src, line, 3}; }

typedef struct {
  ir_module *m;
  const ir_dim *b, *l;
} bld;

static bld new_bld(void) {
  bld t = {ir_module_new("unit"), NULL, NULL};
  t.m->main = ir_func_new(t.m, "main", at(1));
  t.b = ir_dim_sym(t.m, "batch");
  t.l = ir_dim_sym(t.m, "seqlen");
  return t;
}

/* An activation [batch, seqlen, d...] or (act=false) a weight [d...]. */
static ir_value *leaf(bld *t, bool act, int nd, const int64_t *d) {
  const ir_dim *dims[IR_MAX_RANK];
  int r = 0;
  if (act) {
    dims[r++] = t->b;
    dims[r++] = t->l;
  }
  for (int i = 0; i < nd; i++) dims[r++] = ir_dim_const(t->m, d[i]);
  ir_node *n = ir_node_new(t->m, t->m->main, act ? IR_INPUT : IR_WEIGHT, at(1), 0, NULL, 1);
  n->a.name = "leaf";
  n->a.ckpt = "w";
  ir_value_set_type(n->out[0], IR_F32, r, dims);
  return n->out[0];
}
#define ACT(t, ...) leaf(t, true, sizeof((int64_t[]){__VA_ARGS__}) / 8, (int64_t[]){__VA_ARGS__})
#define WGT(t, ...) leaf(t, false, sizeof((int64_t[]){__VA_ARGS__}) / 8, (int64_t[]){__VA_ARGS__})

static ir_value *op(bld *t, ir_op o, ir_value *a, ir_value *b) {
  ir_value *in[2] = {a, b};
  return ir_node_new(t->m, t->m->main, o, at(2), b ? 2 : 1, in, 1)->out[0];
}

static void output(bld *t, ir_value *v) {
  ir_node_new(t->m, t->m->main, IR_OUTPUT, at(2), 1, &v, 0)->a.name = "out";
}

typedef struct {
  ir_value *dt_raw, *bias, *sp, *A_log, *ex, *x, *D, *z, *sz;
  ir_node *ssm;
} ssm_parts;

/* The Mamba-2 mixer core written out op by op; `shared` adds extra uses. */
static ssm_parts build_ssm(bld *t, int hb, bool shared) {
  ssm_parts p;
  p.dt_raw = ACT(t, 4);
  p.bias = WGT(t, 4);
  p.sp = op(t, IR_SOFTPLUS, op(t, IR_ADD, p.dt_raw, p.bias), NULL);
  ir_value *cl = op(t, IR_CLAMP, p.sp, NULL);
  cl->def->a.lo = 0.0;
  cl->def->a.hi = 0.5;
  p.A_log = WGT(t, 4);
  p.ex = op(t, IR_EXP, p.A_log, NULL);
  ir_value *A = op(t, IR_NEG, p.ex, NULL);
  p.x = ACT(t, 4, 64);
  ir_value *B = ACT(t, hb, 128), *C = ACT(t, hb, 128);
  p.z = ACT(t, 4, 64);
  p.D = WGT(t, 4, 64);
  ir_value *in[9] = {p.x, cl, A, B, C, NULL, NULL, NULL, NULL};
  p.ssm = ir_node_new(t->m, t->m->main, IR_SSM, at(2), 9, in, 1);
  p.ssm->a.ssm = ir_ssm_attr_new(t->m);
  ir_value *y = op(t, IR_ADD, p.ssm->out[0], op(t, IR_MUL, p.D, p.x));
  p.sz = op(t, IR_SILU, p.z, NULL);
  output(t, op(t, IR_MUL, y, p.sz));
  if (shared) {
    output(t, p.sp);
    output(t, p.ex);
    output(t, p.sz);
  }
  return p;
}

static char *print_to_string(const ir_module *m) {
  FILE *f = tmpfile();
  ir_print(f, m);
  long n = ftell(f);
  rewind(f);
  char *s = calloc((size_t)n + 1, 1);
  if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
  fclose(f);
  return s;
}

static int run(ir_module *m, int64_t seqlen, FILE *diag) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (diag) c.diag = diag;
  pass_cost_model cm;
  pass_cost_defaults("cpu", &cm);
  pass_opts o = {.seqlen = seqlen, .target = "cpu", .cost = &cm};
  return pass_run_all(m, &o, &c);
}

static void test_fusion_applied(void) {
  bld t = new_bld();
  ssm_parts p = build_ssm(&t, 1, false);
  CHECK(run(t.m, 0, NULL) == SSD_OK);
  ir_ssm_attr *s = p.ssm->a.ssm;
  CHECK(s->fused == (IR_FUSE_DT_BIAS | IR_FUSE_SOFTPLUS | IR_FUSE_DT_LIMIT | IR_FUSE_A_EXP |
                     IR_FUSE_D | IR_FUSE_Z));
  CHECK(p.ssm->in[IR_SSM_DT] == p.dt_raw && p.ssm->in[IR_SSM_DT_BIAS] == p.bias);
  CHECK(p.ssm->in[IR_SSM_A] == p.A_log && s->A_is_log && s->dt_softplus);
  CHECK(p.ssm->in[IR_SSM_D] == p.D && p.ssm->in[IR_SSM_Z] == p.z);
  CHECK(s->dt_min == 0.0 && s->dt_max == 0.5);
  CHECK(s->H == 4 && s->P == 64 && s->N == 128 && s->hb == 1 && s->hc == 1 && s->hx == 4);
  CHECK(t.m->main->last->op == IR_OUTPUT && t.m->main->last->in[0] == p.ssm->out[0]);
  CHECK(s->state_slot == 0 && t.m->nstate_slots == 1);
  char *a = print_to_string(t.m), *b = print_to_string(t.m);
  CHECK(!strcmp(a, b));
  CHECK(strstr(a, "heads(x=4 B=1->4 C=1->4 dt=4)") != NULL);
  CHECK(strstr(a, "fused=dt_bias+softplus+dt_limit+A_exp+D+z") != NULL);
  CHECK(strstr(a, "# unit.ssd:2:3") != NULL);
  CHECK(strstr(a, "softplus %") == NULL && strstr(a, "exp %") == NULL); /* folded ops gone */
  free(a);
  free(b);
  ir_module_free(t.m);
}

static void test_fusion_not_applied(void) {
  bld t = new_bld();
  ssm_parts p = build_ssm(&t, 1, true);
  CHECK(run(t.m, 0, NULL) == SSD_OK);
  ir_ssm_attr *s = p.ssm->a.ssm;
  /* clamp folds (its input is a softplus, hence >= 0); the shared softplus,
   * exp and silu(z) stay materialized, so nothing behind them folds. */
  CHECK(s->fused == (IR_FUSE_DT_LIMIT | IR_FUSE_D));
  CHECK(p.ssm->in[IR_SSM_DT] == p.sp && !p.ssm->in[IR_SSM_DT_BIAS] && !s->dt_softplus);
  CHECK(!s->A_is_log && p.ssm->in[IR_SSM_A] != p.A_log);
  CHECK(!p.ssm->in[IR_SSM_Z]);
  ir_module_free(t.m);
}

/* Run the pipeline expecting an error; return the diagnostics. */
static char *expect_error(ir_module *m) {
  FILE *f = tmpfile();
  int rc = run(m, 0, f);
  CHECK(rc == SSD_ECHECK);
  long n = ftell(f);
  rewind(f);
  char *s = calloc((size_t)n + 1, 1);
  if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
  fclose(f);
  return s;
}

static void test_shape_errors(void) {
  bld t = new_bld();
  ir_value *x = ACT(&t, 768), *w = WGT(&t, 1536, 512);
  ir_value *lin[3] = {x, w, NULL}; /* linear's bias slot is optional */
  output(&t, ir_node_new(t.m, t.m->main, IR_LINEAR, at(2), 3, lin, 1)->out[0]);
  char *d = expect_error(t.m);
  CHECK(strstr(d, "unit.ssd:2:3") && strstr(d, "f32[batch,seqlen,768]") && strstr(d, "f32[1536,512]"));
  free(d);
  ir_module_free(t.m);

  t = new_bld(); /* broadcasting */
  output(&t, op(&t, IR_ADD, ACT(&t, 4, 8), WGT(&t, 3)));
  d = expect_error(t.m);
  CHECK(strstr(d, "do not broadcast") != NULL);
  free(d);
  ir_module_free(t.m);

  t = new_bld(); /* head divisibility: B has 3 groups for 4 heads */
  build_ssm(&t, 3, false);
  d = expect_error(t.m);
  CHECK(strstr(d, "B has 3 heads, which does not divide the 4 output heads") != NULL);
  free(d);
  ir_module_free(t.m);
}

static void test_algsel(void) {
  bld t = new_bld();
  ssm_parts p = build_ssm(&t, 1, false);
  CHECK(run(t.m, 1, NULL) == SSD_OK);
  const ir_ssm_attr *s = p.ssm->a.ssm;
  pass_cost_model cpu;
  pass_cost_defaults("cpu", &cpu);
  CHECK(s->nchoices >= 2 && s->choices[0].form == IR_FORM_RECURRENT);
  CHECK(ir_ssm_choose(s, 1)->form == IR_FORM_RECURRENT);
  CHECK(ir_ssm_choose(s, 1 << 20)->form == IR_FORM_CHUNKED);
  /* the model asks for 256; the CPU's tuned chunk is cheaper at long L */
  CHECK(ir_ssm_choose(s, 1 << 20)->chunk == cpu.chunk && cpu.chunk != 256);
  char *txt = print_to_string(t.m);
  CHECK(strstr(txt, "form@L=1=recurrent") != NULL);
  free(txt);
  ir_module_free(t.m);

  /* S6: A is [heads, N]; no matmul form, recurrent at every length. */
  t = new_bld();
  ir_value *x = ACT(&t, 64, 1), *dt = ACT(&t, 64), *A = WGT(&t, 64, 16);
  ir_value *B = ACT(&t, 1, 16), *C = ACT(&t, 1, 16);
  ir_value *in[9] = {x, dt, A, B, C, NULL, NULL, NULL, NULL};
  ir_node *n = ir_node_new(t.m, t.m->main, IR_SSM, at(2), 9, in, 1);
  n->a.ssm = ir_ssm_attr_new(t.m);
  output(&t, n->out[0]);
  CHECK(run(t.m, 4096, NULL) == SSD_OK);
  CHECK(n->a.ssm->kind == IR_SSM_S6);
  CHECK(ir_ssm_choose(n->a.ssm, 4096)->form == IR_FORM_RECURRENT);
  CHECK(ir_ssm_choose(n->a.ssm, 1)->form == IR_FORM_RECURRENT);
  ir_module_free(t.m);
}

static void test_cost_file(void) {
  char path[64];
  snprintf(path, sizeof path, "test_passes_cost_%ld.txt", (long)time(NULL));
  FILE *f = fopen(path, "w");
  fputs("# tuned\nflops = 1e12\nchunk=64\n", f);
  fclose(f);
  pass_cost_model cm;
  pass_cost_defaults("cpu", &cm);
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = tmpfile();
  CHECK(pass_cost_load(path, &cm, &c) == SSD_OK && cm.flops == 1e12 && cm.chunk == 64);
  f = fopen(path, "w");
  fputs("flopz = 3\n", f);
  fclose(f);
  CHECK(pass_cost_load(path, &cm, &c) == SSD_EINVAL && strstr(c.msg, "flopz"));
  f = fopen(path, "w");
  fputs("chunk = 1.5\n", f);
  fclose(f);
  CHECK(pass_cost_load(path, &cm, &c) == SSD_EINVAL);
  fclose(c.diag);
  remove(path);
}

static void test_dims(void) {
  bld t = new_bld();
  ir_module *m = t.m;
  m->params = ssd_arena_alloc(m->arena, sizeof *m->params);
  m->params[0] = (ir_param){.name = "d", .kind = IR_PARAM_INT, .i = 768};
  m->nparams = 1;
  const ir_dim *e = ir_dim_bin(m, IR_DIM_MUL, ir_dim_const(m, 2), ir_dim_param(m, "d"));
  int64_t v;
  CHECK(!ir_dim_eval(m, e, &v) && v == 1536);
  CHECK(ir_dim_equal(m, e, ir_dim_const(m, 1536)));
  CHECK(ir_dim_eval(m, t.l, &v) != 0);
  CHECK(!ir_dim_eval_rt(m, ir_dim_bin(m, IR_DIM_ADD, t.l, e), 2, 10, &v) && v == 1546);
  CHECK(ir_dim_eval(m, ir_dim_bin(m, IR_DIM_DIV, e, ir_dim_const(m, 0)), &v) != 0);
  char buf[64];
  ir_dim_snprint(buf, sizeof buf, ir_dim_bin(m, IR_DIM_MUL, ir_dim_bin(m, IR_DIM_ADD, t.l, e), t.b));
  CHECK(!strcmp(buf, "(seqlen+2*d)*batch"));
  ir_value *big = ACT(&t, INT64_C(1) << 40, INT64_C(1) << 30);
  CHECK(ir_value_numel(m, big, 1, 1, &v) != 0); /* overflow */
  ir_module_free(m);
}

/* Mamba-1 writes the gate after merging heads: merge(y) * silu(z), z [B,L,H*P]. */
static void test_fusion_through_merge(void) {
  bld t = new_bld();
  ir_value *x = ACT(&t, 32, 1), *dt = ACT(&t, 32), *A = WGT(&t, 32, 16);
  ir_value *B = ACT(&t, 1, 16), *C = ACT(&t, 1, 16), *z = ACT(&t, 32);
  ir_value *in[9] = {x, dt, A, B, C, NULL, NULL, NULL, NULL};
  ir_node *n = ir_node_new(t.m, t.m->main, IR_SSM, at(2), 9, in, 1);
  n->a.ssm = ir_ssm_attr_new(t.m);
  ir_value *y = n->out[0];
  ir_node *merge = ir_node_new(t.m, t.m->main, IR_RESHAPE, at(2), 1, &y, 1);
  merge->a.axis = 2;
  merge->a.nsizes = 1;
  merge->a.sizes = ssd_arena_alloc(t.m->arena, sizeof *merge->a.sizes); /* [inferred] */
  output(&t, op(&t, IR_MUL, merge->out[0], op(&t, IR_SILU, z, NULL)));
  CHECK(run(t.m, 0, NULL) == SSD_OK);
  CHECK(n->a.ssm->fused == IR_FUSE_Z);
  ir_value *zop = n->in[IR_SSM_Z];
  CHECK(zop && zop->def && zop->def->op == IR_RESHAPE && zop->def->in[0] == z && zop->rank == 4);
  CHECK(t.m->main->last->in[0] == merge->out[0]);
  ir_module_free(t.m);
}

/* A two-layer stack of calls into one template, elaborated. */
static void test_elaborate_canon(void) {
  bld t = new_bld();
  ir_module *m = t.m;
  ir_func *blk = ir_func_new(m, "blk", at(1));
  blk->layer_var = "i";
  ir_value *h = ir_func_add_param(m, blk, IR_F32, 0, NULL, "h");
  ir_node *w = ir_node_new(m, blk, IR_WEIGHT, at(1), 0, NULL, 1);
  w->a.ckpt = "layers.{i}.mix.{i}";
  ir_value_set_type(w->out[0], IR_F32, 1, (const ir_dim *[]){ir_dim_const(m, 8)});
  ir_value *mi[2] = {h, w->out[0]};
  ir_node *mul = ir_node_new(m, blk, IR_MUL, at(2), 2, mi, 1);
  blk->results = ssd_arena_alloc(m->arena, sizeof *blk->results);
  blk->results[0] = mul->out[0];
  blk->nresults = 1;
  m->funcs = ssd_arena_alloc(m->arena, sizeof *m->funcs);
  m->funcs[0] = blk;
  m->nfuncs = 1;
  ir_value *v = ACT(&t, 8);
  for (int l = 0; l < 2; l++) {
    ir_node *call = ir_node_new(m, m->main, IR_CALL, at(2), 1, &v, 1);
    call->a.callee = blk;
    call->a.layer = l;
    v = call->out[0];
  }
  /* canon: -(2) folds, an identity reshape and a dead exp disappear */
  ir_node *two = ir_node_new(m, m->main, IR_CONST, at(2), 0, NULL, 1);
  two->a.scalar = 2;
  ir_value *scaled = op(&t, IR_MUL, v, op(&t, IR_NEG, two->out[0], NULL));
  ir_node *rs = ir_node_new(m, m->main, IR_RESHAPE, at(2), 1, &scaled, 1);
  rs->a.axis = 1;
  rs->a.nsizes = 1;
  rs->a.sizes = (const ir_dim **)ssd_arena_alloc(m->arena, sizeof *rs->a.sizes);
  op(&t, IR_EXP, scaled, NULL);
  output(&t, rs->out[0]);
  CHECK(run(m, 0, NULL) == SSD_OK);
  CHECK(m->nfuncs == 0);
  char *txt = print_to_string(m);
  CHECK(strstr(txt, "ckpt=\"layers.0.mix.0\"") && strstr(txt, "ckpt=\"layers.1.mix.1\""));
  CHECK(!strstr(txt, "call") && !strstr(txt, "reshape") && !strstr(txt, "exp") && !strstr(txt, "neg"));
  CHECK(strstr(txt, "value=-2") != NULL);
  int layers[2] = {0, 0};
  for (ir_node *n = m->main->first; n; n = n->next)
    if (n->op == IR_WEIGHT && n->layer >= 0 && n->layer < 2) layers[n->layer]++;
  CHECK(layers[0] == 1 && layers[1] == 1);
  /* the three muls form one elementwise chain: one fusion group */
  CHECK(m->ngroups == 1);
  FILE *f = tmpfile();
  ir_print_dot(f, m);
  long len = ftell(f);
  rewind(f);
  char *dot = calloc((size_t)len + 1, 1);
  CHECK(fread(dot, 1, (size_t)len, f) == (size_t)len);
  fclose(f);
  CHECK(!strncmp(dot, "digraph", 7) && strstr(dot, "subgraph cluster_f0_g1"));
  free(dot);
  free(txt);
  ir_module_free(m);
}

/* Memory plan: live values get distinct buffers, dead ones are reused, and
 * the verifier rejects a planted overlap. */
static void test_memplan(void) {
  bld t = new_bld();
  ir_value *x = ACT(&t, 8);
  ir_value *a = op(&t, IR_EXP, x, NULL), *b = op(&t, IR_NEG, a, NULL);
  ir_value *sum = op(&t, IR_ADD, a, b);          /* a and b live together */
  ir_value *d = op(&t, IR_SIGMOID, sum, NULL);   /* a, b dead: reuse */
  ir_value *e = op(&t, IR_LOG, d, NULL);
  output(&t, e);
  CHECK(run(t.m, 0, NULL) == SSD_OK);
  CHECK(x->buffer == 0 && a->buffer && b->buffer && a->buffer != b->buffer);
  CHECK(sum->buffer != a->buffer && sum->buffer != b->buffer);
  CHECK(t.m->nbuffers == 3 && d->buffer != sum->buffer && e->buffer != d->buffer);
  CHECK(t.m->buffer_elems[0] == 8);
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = tmpfile();
  CHECK(ir_verify(t.m, &c) == SSD_OK);
  b->buffer = a->buffer;
  CHECK(ir_verify(t.m, &c) == SSD_EINTERNAL && strstr(c.msg, "still live"));
  fclose(c.diag);
  ir_module_free(t.m);
}

/* concat along seqlen stays symbolic: seqlen+seqlen, evaluated at run time. */
static void test_concat_symbolic(void) {
  bld t = new_bld();
  ir_value *in[2] = {ACT(&t, 8), ACT(&t, 8)};
  ir_node *n = ir_node_new(t.m, t.m->main, IR_CONCAT, at(2), 2, in, 1);
  n->a.axis = 1;
  output(&t, n->out[0]);
  CHECK(run(t.m, 0, NULL) == SSD_OK);
  int64_t numel;
  CHECK(!ir_value_numel(t.m, n->out[0], 2, 5, &numel) && numel == 2 * 10 * 8);
  ir_module_free(t.m);
}

/* Random graphs with mostly mismatching shapes: the pipeline must either
 * succeed (and then verify) or report SSD_ECHECK; never crash (run under
 * ASan/UBSan in CI).  Deterministic seed, a few hundred graphs. */
static int64_t rdim(void) {
  static const int64_t d[] = {1, 4, 4, 4, 8, 3};
  return d[rand() % 6];
}

static ir_value *rand_value(bld *t, ir_value **pool, int npool) {
  if (npool && rand() % 4) return pool[rand() % npool];
  int r = rand() % 3;
  int64_t d[3] = {rdim(), rdim(), rdim()};
  return rand() % 2 ? leaf(t, true, r, d) : leaf(t, false, r + 1, d);
}

static void rand_node(bld *t, ir_value **pool, int *npool) {
  static const ir_op ops[] = {IR_ADD, IR_MUL, IR_LINEAR, IR_SILU, IR_SPLIT, IR_RESHAPE,
                              IR_CONCAT, IR_SSM, IR_RMSNORM, IR_CONV1D, IR_ATTENTION};
  ir_op o = ops[rand() % (int)(sizeof ops / sizeof *ops)];
  int nin = o == IR_SSM ? 9 : o == IR_LINEAR || o == IR_CONV1D || o == IR_ATTENTION ? 3
            : o == IR_SILU || o == IR_SPLIT || o == IR_RESHAPE ? 1 : 2;
  ir_value *in[9] = {0};
  for (int i = 0; i < nin; i++)
    in[i] = (o == IR_SSM && i != IR_SSM_X && i != IR_SSM_B && i != IR_SSM_C && rand() % 2)
                ? NULL : rand_value(t, pool, *npool);
  if (o == IR_LINEAR || o == IR_CONV1D) in[2] = rand() % 2 ? in[2] : NULL;
  int nout = o == IR_SPLIT ? 2 : 1;
  ir_node *n = ir_node_new(t->m, t->m->main, o, at(2), nin, in, nout);
  n->a.axis = rand() % 4 - 1;
  n->a.eps = 1e-5;
  if (o == IR_SPLIT || o == IR_RESHAPE) {
    n->a.nsizes = o == IR_SPLIT ? 2 : 1 + rand() % 2;
    n->a.sizes = ssd_arena_alloc(t->m->arena, 2 * sizeof *n->a.sizes);
    for (int i = 0; i < n->a.nsizes; i++)
      n->a.sizes[i] = rand() % 4 ? ir_dim_const(t->m, rdim()) : NULL;
  }
  if (o == IR_SSM) n->a.ssm = ir_ssm_attr_new(t->m);
  if (o == IR_ATTENTION) n->a.attn = ir_attn_attr_new(t->m);
  for (int i = 0; i < nout && *npool < 64; i++) pool[(*npool)++] = n->out[i];
}

static void test_random_graphs(void) {
  srand(12345);
  int ok = 0, errors = 0;
  for (int g = 0; g < 1000; g++) {
    bld t = new_bld();
    ir_value *pool[64];
    int npool = 0, nn = 1 + rand() % 4;
    for (int i = 0; i < nn; i++) rand_node(&t, pool, &npool);
    output(&t, pool[npool - 1]);
    FILE *diag = tmpfile();
    int rc = run(t.m, 1 + rand() % 4096, diag);
    fclose(diag);
    CHECK(rc == SSD_OK || rc == SSD_ECHECK);
    if (rc == SSD_OK) {
      ssd_ctx c;
      ssd_ctx_init(&c);
      CHECK(ir_verify(t.m, &c) == SSD_OK);
      char *txt = print_to_string(t.m);
      free(txt);
      ok++;
    } else errors++;
    ir_module_free(t.m);
  }
  printf("random graphs: %d verified, %d rejected\n", ok, errors);
  CHECK(ok > 20 && errors > 20); /* both paths exercised */
}

/* A dim over a hyperparameter the module does not have is an error at the node. */
static void test_unknown_param(void) {
  bld t = new_bld();
  ir_node *w = ir_node_new(t.m, t.m->main, IR_WEIGHT, at(2), 0, NULL, 1);
  w->a.ckpt = "w";
  const ir_dim *d = ir_dim_bin(t.m, IR_DIM_MUL, ir_dim_const(t.m, 2), ir_dim_param(t.m, "nope"));
  ir_value_set_type(w->out[0], IR_F32, 1, &d);
  output(&t, w->out[0]);
  char *diag = expect_error(t.m);
  CHECK(strstr(diag, "unit.ssd:2:3") && strstr(diag, "'nope'"));
  free(diag);
  ir_module_free(t.m);
}

/* skip_fuse: nothing folds or groups, but forms, slots and the plan are there. */
static void test_skip_fuse(void) {
  bld t = new_bld();
  ssm_parts p = build_ssm(&t, 1, false);
  ssd_ctx c;
  ssd_ctx_init(&c);
  pass_opts o = {.target = "cpu", .skip_fuse = true};
  CHECK(pass_run_all(t.m, &o, &c) == SSD_OK);
  const ir_ssm_attr *s = p.ssm->a.ssm;
  CHECK(s->fused == 0 && !s->A_is_log && !s->dt_softplus && t.m->ngroups == 0);
  CHECK(s->nchoices >= 2 && s->state_slot == 0 && t.m->nbuffers > 0);
  ir_module_free(t.m);
}

int main(void) {
  test_fusion_applied();
  test_fusion_not_applied();
  test_fusion_through_merge();
  test_elaborate_canon();
  test_memplan();
  test_concat_symbolic();
  test_random_graphs();
  test_unknown_param();
  test_skip_fuse();
  test_shape_errors();
  test_algsel();
  test_cost_file();
  test_dims();
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  else printf("passes unit: all checks passed\n");
  return fails ? 1 : 0;
}
