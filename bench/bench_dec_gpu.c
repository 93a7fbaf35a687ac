/* bench_dec_gpu.c: times the decode-step kernels (codegen/cg_cuda_dec.h) at
 * mamba2-130m and mamba2-2.7b shapes, beside cuBLASLt in the same process:
 *   gemv:  ssdc's small-M GEMV vs rt_blas_gemm (bf16 x and W, fp32 y) at the
 *          in_proj, out_proj and lm_head shapes, M = 1, 4, 16;
 *   mixer: the fused conv + SSD step, batch 1 and 16;
 *   layer: a decode step's whole per-layer chain for every layer plus the
 *          lm_head, as a CUDA graph: rmsnorm (rt_cuda_exec, bf16 out) ->
 *          in_proj GEMV (bf16 out) -> mixer (bf16 y) -> gated rmsnorm
 *          (rt_cuda_exec, bf16 out) -> out_proj GEMV accumulating into the
 *          fp32 residual; then norm_f + lm_head (fp32 logits): the ms/token
 *          these kernels enable (no embedding, no logits copy to the host).
 * Every timing is a CUDA graph of many launches replayed (3 warm-ups, median
 * of 15 replays, CUDA events), with distinct weight/state buffers per launch
 * (as many as a model has layers, or enough to exceed the 50 MB L2 for the
 * GEMV) so that nothing is timed out of L2.  Inputs are random (a hash-based
 * fill kernel), never zeros.  Bytes floors use the 2.93 TB/s copy ceiling
 * measured on the H100 (bench/NOTES.md).  Writes JSON to argv[1].
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/cuda_dec/dec_specs.h"
#include "rt_cublaslt.h"
#include "rt_cuda_dec.h"
#include "rt_cuda_exec.h"

#define COPY_TBPS 2.93
#define L2_ROTATE_BYTES (160ull << 20)

static const char fill_src[] =
    "extern \"C\" __global__ void dec_bench_fill(void *p, unsigned long long n, unsigned seed,\n"
    "    float scale, int f32) {\n"
    "  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;\n"
    "       i < n; i += (unsigned long long)gridDim.x * blockDim.x) {\n"
    "    unsigned h = (unsigned)i * 2654435761u ^ seed ^ (unsigned)(i >> 32) * 40503u;\n"
    "    float s = 0.f;\n"
    "    for (int k = 0; k < 4; k++) { h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;\n"
    "      h *= 3266489917u; h ^= h >> 16; s += (h >> 8) * (1.f / 16777216.f); }\n"
    "    float v = (s - 2.f) * 1.7320508f * scale; /* ~N(0, scale^2), Irwin-Hall */\n"
    "    if (f32) ((float *)p)[i] = v;\n"
    "    else ((unsigned short *)p)[i] = (unsigned short)(__float_as_uint(v) >> 16);\n"
    "  }\n"
    "}\n";

typedef struct bench {
  rt_cuda *g;
  rt_blas *blas;
  cg_cache cc;
  rt_cuda_fn fill;
  ssd_ctx c;
  unsigned seed;
  FILE *json;
  int first;
} bench;

#define OK(call)                                                                                   \
  do {                                                                                             \
    if ((call) != SSD_OK) {                                                                        \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, b->c.msg);              \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* A device buffer of n random values (bf16 unless f32). */
static rt_dptr rnd_buf(bench *b, size_t n, float scale, int f32) {
  rt_dptr p;
  OK(rt_cuda_alloc(b->g, n * (f32 ? 4 : 2) + 16, &p, &b->c));
  unsigned long long nn = n;
  unsigned seed = ++b->seed * 0x9e3779b9u;
  void *args[] = {&p, &nn, &seed, &scale, &f32};
  const unsigned grid[3] = {2048, 1, 1};
  OK(rt_cuda_launch(b->g, &b->fill, grid, 256, args, &b->c));
  return p;
}

static int cmp_float(const void *x, const void *y) {
  const float u = *(const float *)x, v = *(const float *)y;
  return (u > v) - (u < v);
}

/* The graph of `calls` runs of fn(ctx, i) is replayed: median ms per replay. */
typedef int (*launch_fn)(bench *b, void *ctx, int i);
static double time_graph(bench *b, launch_fn fn, void *ctx, int calls) {
  OK(fn(b, ctx, 0)); /* plans (cuBLASLt) exist before the capture */
  OK(rt_cuda_sync(b->g, &b->c));
  rt_cuda_graph gr = {0};
  OK(rt_cuda_capture_begin(b->g, &b->c));
  for (int i = 0; i < calls; i++)
    if (fn(b, ctx, i)) {
      rt_cuda_capture_abort(b->g);
      fprintf(stderr, "launch %d failed in capture: %s\n", i, b->c.msg);
      exit(1);
    }
  OK(rt_cuda_capture_end(b->g, &gr, &b->c));
  float t[15];
  for (int r = 0; r < 3; r++)
    OK(rt_cuda_graph_launch(b->g, &gr, &b->c));
  for (int r = 0; r < 15; r++) {
    rt_cuda_timer tm;
    OK(rt_cuda_timer_start(b->g, &tm, &b->c));
    OK(rt_cuda_graph_launch(b->g, &gr, &b->c));
    OK(rt_cuda_timer_stop(b->g, &tm, &t[r], &b->c));
  }
  rt_cuda_graph_destroy(b->g, &gr);
  qsort(t, 15, sizeof *t, cmp_float);
  return t[7];
}

static void json_row(bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_row(bench *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(b->json, "%s\n  ", b->first ? "" : ",");
  vfprintf(b->json, fmt, ap);
  va_end(ap);
  b->first = 0;
}

/* ---- GEMV vs cuBLASLt ----------------------------------------------------------------- */
typedef struct gemv_ctx {
  rt_cuda_dec k;
  int64_t M, N, K;
  int copies;
  rt_dptr x, y, W[64];
} gemv_ctx;

static int run_ssdc_gemv(bench *b, void *ctx, int i) {
  gemv_ctx *g = ctx;
  const rt_cuda_dec_gemv_args a = {
      .x = g->x, .ldx = g->K, .W = g->W[i % g->copies], .y = g->y, .ldy = g->N};
  return rt_cuda_dec_gemv(b->g, &g->k, &a, &b->c);
}
static int run_blas_gemv(bench *b, void *ctx, int i) {
  gemv_ctx *g = ctx;
  const rt_gemm p = {.M = g->M,
                     .N = g->N,
                     .K = g->K,
                     .ab = RT_BLAS_BF16,
                     .out = RT_BLAS_F32,
                     .x = g->x,
                     .W = g->W[i % g->copies],
                     .y = g->y};
  return rt_blas_gemm(b->blas, &p, &b->c);
}

/* Warps per block and slabs in flight tried for each shape, after the
 * runtime's default (warps = unroll = 0: cg_dec_gemv_warps/_unroll's rules),
 * which is timed first and reported beside the best.  Unroll 1 and 2:
 * the session-3 template needs 64-66 registers at unroll 4 where a warp
 * loops more than once (2.7b), 48-56 at 2 and 40 at 1 (ptxas, sm_90), so
 * the 2.7b in_proj's 661 blocks fit one wave only at unroll 1. */
static const int variants[][2] = {{8, 4}, {4, 4}, {8, 2}, {8, 8}, {16, 2}, {16, 4}, {8, 1}, {16, 1}};
#define NVAR ((int)(sizeof variants / sizeof *variants))

static void bench_gemv(bench *b, const char *name, int64_t K, int64_t N, int64_t M) {
  gemv_ctx g = {.M = M, .N = N, .K = K};
  const size_t wbytes = (size_t)(N * K) * 2;
  g.copies = (int)((L2_ROTATE_BYTES + wbytes - 1) / wbytes);
  g.copies = g.copies > 64 ? 64 : g.copies;
  for (int i = 0; i < g.copies; i++)
    g.W[i] = rnd_buf(b, (size_t)(N * K), 0.03f, 0);
  g.x = rnd_buf(b, (size_t)(M * K), 1.f, 0);
  OK(rt_cuda_alloc(b->g, (size_t)(M * N) * 4, &g.y, &b->c));
  const int calls = g.copies < 8 ? 16 : 2 * g.copies;
  const double bytes = (double)wbytes + (double)(M * K) * 2 + (double)(M * N) * 4;
  const double floor_us = bytes / (COPY_TBPS * 1e12) * 1e6;
  double us[NVAR + 1], best = 1e30;
  int bi = 0;
  const cg_dec_spec s0 = ds_gemv(M, N, K, false, false, false);
  const int dw = cg_dec_gemv_warps(&s0), du = cg_dec_gemv_unroll(&s0);
  for (int v = 0; v <= NVAR; v++) { /* v == NVAR: the default */
    cg_dec_spec s = s0;
    if (v < NVAR) s.warps = variants[v][0], s.unroll = variants[v][1];
    OK(rt_cuda_dec_prepare(b->g, &b->cc, &s, 0, &g.k, &b->c));
    us[v] = 1e3 * time_graph(b, run_ssdc_gemv, &g, calls) / calls;
    rt_cuda_dec_release(b->g, &g.k);
    if (v < NVAR && us[v] < best) best = us[v], bi = v;
  }
  const double us_b = 1e3 * time_graph(b, run_blas_gemv, &g, calls) / calls;
  printf("gemv %-9s K=%5lld N=%6lld M=%2lld  ssdc %7.2f us %5.0f GB/s (%3.0f%%) [w%d u%d; "
         "default w%d u%d %.2f]  cublasLt %7.2f us %5.0f GB/s (%3.0f%%)  %s %.2fx\n",
         name, (long long)K, (long long)N, (long long)M, best, bytes / best * 1e-3,
         100 * floor_us / best, variants[bi][0], variants[bi][1], dw, du, us[NVAR], us_b, bytes / us_b * 1e-3,
         100 * floor_us / us_b, best < us_b ? "ssdc" : "cublasLt", us_b / best);
  json_row(b,
           "{\"kernel\": \"gemv\", \"shape\": \"%s\", \"K\": %lld, \"N\": %lld, \"M\": %lld, "
           "\"ssdc_us\": %.3f, \"ssdc_warps\": %d, \"ssdc_unroll\": %d, \"ssdc_default_warps\": %d, "
           "\"ssdc_default_unroll\": %d, \"ssdc_default_us\": %.3f, "
           "\"cublaslt_us\": %.3f, \"floor_us\": %.3f, \"ssdc_gbps\": %.0f, "
           "\"cublaslt_gbps\": %.0f, \"ssdc_frac\": %.3f, \"cublaslt_frac\": %.3f, \"copies\": %d, "
           "\"variants_us\": [",
           name, (long long)K, (long long)N, (long long)M, best, variants[bi][0], variants[bi][1],
           dw, du, us[NVAR], us_b, floor_us, bytes / best * 1e-3, bytes / us_b * 1e-3, floor_us / best,
           floor_us / us_b, g.copies);
  for (int v = 0; v < NVAR; v++)
    fprintf(b->json, "%s{\"warps\": %d, \"unroll\": %d, \"us\": %.3f}", v ? ", " : "",
            variants[v][0], variants[v][1], us[v]);
  fprintf(b->json, "]}");
  for (int i = 0; i < g.copies; i++)
    rt_cuda_free(b->g, g.W[i]);
  rt_cuda_free(b->g, g.x), rt_cuda_free(b->g, g.y);
}

/* ---- a model's shapes, its mixers and its layer chain -------------------------------------- */
typedef struct model {
  const char *name;
  int64_t d_model, H, P, N, G, n_layer, V;
} model;
static int64_t d_inner(const model *m) { return m->H * m->P; }
static int64_t conv_dim(const model *m) { return d_inner(m) + 2 * m->G * m->N; }
static int64_t in_width(const model *m) { return d_inner(m) + conv_dim(m) + m->H; }

typedef struct layer_bufs {
  rt_dptr in_w, out_w, conv_w, conv_b, A, D, dt_bias, norm_w, gnorm_w, conv_state, state;
} layer_bufs;

typedef struct model_ctx {
  const model *m;
  int64_t batch;
  int nl;
  layer_bufs *L;
  rt_cuda_dec mixer, in_proj, out_proj, head;    /* unfused: separate norm kernels */
  rt_cuda_dec in_proj_n, out_proj_n, head_n;     /* with the norms fused in */
  rt_cuda_op norm, gnorm;
  int fused;
  rt_dptr resid, xn, zxbcdt, z, y, yn, logits, norm_f, head_w;
} model_ctx;

static int run_mixer(bench *b, void *ctx, int i) {
  model_ctx *x = ctx;
  const model *m = x->m;
  const layer_bufs *l = &x->L[i % x->nl];
  const rt_cuda_dec_mixer_args a = {.in = x->zxbcdt,
                                    .ld_in = in_width(m),
                                    .off_xbc = d_inner(m),
                                    .off_dt = d_inner(m) + conv_dim(m),
                                    .conv_w = l->conv_w,
                                    .conv_b = l->conv_b,
                                    .conv_state = l->conv_state,
                                    .A = l->A,
                                    .D = l->D,
                                    .dt_bias = l->dt_bias,
                                    .state = l->state,
                                    .y = x->y,
                                    .ldy = d_inner(m)};
  return rt_cuda_dec_mixer(b->g, &x->mixer, &a, x->batch, &b->c);
}

static int gemv(bench *b, const rt_cuda_dec *k, rt_dptr x, int64_t ldx, rt_dptr z, int64_t ldz,
                rt_dptr wn, rt_dptr W, rt_dptr y, int64_t ldy) {
  const rt_cuda_dec_gemv_args a = {
      .x = x, .ldx = ldx, .z = z, .ldz = ldz, .norm_w = wn, .W = W, .y = y, .ldy = ldy};
  return rt_cuda_dec_gemv(b->g, k, &a, &b->c);
}

/* Three launches: norm + in_proj, mixer, gated norm + out_proj + residual. */
static int run_layer3(bench *b, model_ctx *x, int i) {
  const model *m = x->m;
  const layer_bufs *l = &x->L[i];
  int rc = gemv(b, &x->in_proj_n, x->resid, m->d_model, 0, 0, l->norm_w, l->in_w, x->zxbcdt,
                in_width(m));
  if (!rc) rc = run_mixer(b, x, i);
  if (!rc)
    rc = gemv(b, &x->out_proj_n, x->y, d_inner(m), x->zxbcdt, in_width(m), l->gnorm_w, l->out_w,
              x->resid, m->d_model);
  return rc;
}

/* Five launches: the existing rmsnorm and gated rmsnorm kernels between. */
static int run_layer(bench *b, void *ctx, int i) {
  model_ctx *x = ctx;
  const model *m = x->m;
  const layer_bufs *l = &x->L[i];
  const int64_t B = x->batch;
  int rc = rt_cuda_rmsnorm(b->g, &x->norm, x->resid, 0, 0, l->norm_w, x->xn, B, &b->c);
  if (!rc) rc = gemv(b, &x->in_proj, x->xn, m->d_model, 0, 0, 0, l->in_w, x->zxbcdt, in_width(m));
  if (!rc) rc = run_mixer(b, ctx, i);
  if (!rc) rc = rt_cuda_gnorm(b->g, &x->gnorm, x->y, x->z, l->gnorm_w, x->yn, B, NULL, &b->c);
  if (!rc) rc = gemv(b, &x->out_proj, x->yn, d_inner(m), 0, 0, 0, l->out_w, x->resid, m->d_model);
  return rc;
}

static int run_step(bench *b, void *ctx, int i) {
  model_ctx *x = ctx;
  (void)i;
  int rc = SSD_OK;
  const int64_t d = x->m->d_model;
  for (int l = 0; l < x->nl && !rc; l++) rc = x->fused ? run_layer3(b, x, l) : run_layer(b, ctx, l);
  if (x->fused) return rc ? rc : gemv(b, &x->head_n, x->resid, d, 0, 0, x->norm_f, x->head_w,
                                      x->logits, x->m->V);
  if (!rc) rc = rt_cuda_rmsnorm(b->g, &x->norm, x->resid, 0, 0, x->norm_f, x->xn, x->batch, &b->c);
  return rc ? rc : gemv(b, &x->head, x->xn, d, 0, 0, 0, x->head_w, x->logits, x->m->V);
}

static void model_open(bench *b, model_ctx *x, const model *m, int64_t batch, int weights) {
  memset(x, 0, sizeof *x);
  x->m = m, x->batch = batch, x->nl = (int)m->n_layer;
  x->L = calloc((size_t)x->nl, sizeof *x->L);
  if (!x->L) exit(1);
  const int64_t di = d_inner(m), cd = conv_dim(m), W = in_width(m);
  for (int i = 0; i < x->nl; i++) {
    layer_bufs *l = &x->L[i];
    l->conv_w = rnd_buf(b, (size_t)(cd * 4), 0.5f, 1), l->conv_b = rnd_buf(b, (size_t)cd, 0.1f, 1);
    l->A = rnd_buf(b, (size_t)m->H, 0.5f, 1), l->D = rnd_buf(b, (size_t)m->H, 1.f, 1);
    l->dt_bias = rnd_buf(b, (size_t)m->H, 1.f, 1);
    l->conv_state = rnd_buf(b, (size_t)(batch * cd * 3), 1.f, 1);
    l->state = rnd_buf(b, (size_t)(batch * di * m->N), 0.1f, 1);
    if (!weights) continue;
    l->in_w = rnd_buf(b, (size_t)(W * m->d_model), 0.03f, 0);
    l->out_w = rnd_buf(b, (size_t)(m->d_model * di), 0.03f, 0);
    l->norm_w = rnd_buf(b, (size_t)m->d_model, 1.f, 1), l->gnorm_w = rnd_buf(b, (size_t)di, 1.f, 1);
  }
  cg_dec_spec ms = ds_mamba2(m->H, m->P, m->N, m->G, true);
  OK(rt_cuda_dec_prepare(b->g, &b->cc, &ms, batch, &x->mixer, &b->c));
  x->zxbcdt = rnd_buf(b, (size_t)(batch * W), 1.f, 0);
  OK(rt_cuda_alloc(b->g, (size_t)(batch * di) * 2, &x->y, &b->c));
  if (!weights) return;
  cg_dec_spec ip = ds_gemv(batch, W, m->d_model, true, false, false);
  cg_dec_spec op = ds_gemv(batch, m->d_model, di, false, false, true);
  cg_dec_spec hd = ds_gemv(batch, m->V, m->d_model, false, false, false);
  OK(rt_cuda_dec_prepare(b->g, &b->cc, &ip, 0, &x->in_proj, &b->c));
  OK(rt_cuda_dec_prepare(b->g, &b->cc, &op, 0, &x->out_proj, &b->c));
  OK(rt_cuda_dec_prepare(b->g, &b->cc, &hd, 0, &x->head, &b->c));
  cg_dec_spec ipn = ds_norm(batch, W, m->d_model, CG_DEC_NORM_RMS, true, false);
  cg_dec_spec opn = ds_norm(batch, m->d_model, di, CG_DEC_NORM_GATED, false, true);
  cg_dec_spec hdn = ds_norm(batch, m->V, m->d_model, CG_DEC_NORM_RMS, false, false);
  OK(rt_cuda_dec_prepare(b->g, &b->cc, &ipn, 0, &x->in_proj_n, &b->c));
  OK(rt_cuda_dec_prepare(b->g, &b->cc, &opn, 0, &x->out_proj_n, &b->c));
  OK(rt_cuda_dec_prepare(b->g, &b->cc, &hdn, 0, &x->head_n, &b->c));
  const cg_op_spec ns = {.kind = CG_OP_RMSNORM, .D = m->d_model, .eps = 1e-5, .out_bf16 = true};
  const cg_op_spec gs = {
      .kind = CG_OP_GNORM, .D = di, .G = m->G, .eps = 1e-5, .in_bf16 = true, .out_bf16 = true};
  OK(rt_cuda_op_prepare(b->g, &b->cc, &ns, &x->norm, &b->c));
  OK(rt_cuda_op_prepare(b->g, &b->cc, &gs, &x->gnorm, &b->c));
  x->resid = rnd_buf(b, (size_t)(batch * m->d_model), 1.f, 1);
  x->z = rnd_buf(b, (size_t)(batch * di), 1.f, 0);
  x->norm_f = rnd_buf(b, (size_t)m->d_model, 1.f, 1);
  OK(rt_cuda_alloc(b->g, (size_t)(batch * m->d_model) * 2, &x->xn, &b->c));
  OK(rt_cuda_alloc(b->g, (size_t)(batch * di) * 2, &x->yn, &b->c));
  OK(rt_cuda_alloc(b->g, (size_t)(batch * m->V) * 4, &x->logits, &b->c));
  x->head_w = rnd_buf(b, (size_t)(m->V * m->d_model), 0.03f, 0); /* tied embedding: [V, d_model] */
}

static void model_close(bench *b, model_ctx *x) {
  for (int i = 0; i < x->nl; i++) {
    rt_dptr *p = (rt_dptr *)&x->L[i];
    for (size_t j = 0; j < sizeof(layer_bufs) / sizeof(rt_dptr); j++)
      rt_cuda_free(b->g, p[j]);
  }
  free(x->L);
  rt_dptr bufs[] = {x->resid, x->xn, x->zxbcdt, x->z, x->y, x->yn, x->logits, x->norm_f, x->head_w};
  for (size_t j = 0; j < sizeof bufs / sizeof *bufs; j++)
    rt_cuda_free(b->g, bufs[j]);
  rt_cuda_dec_release(b->g, &x->mixer);
  if (x->in_proj.fn.fn) {
    rt_cuda_dec_release(b->g, &x->in_proj), rt_cuda_dec_release(b->g, &x->out_proj);
    rt_cuda_dec_release(b->g, &x->head), rt_cuda_dec_release(b->g, &x->in_proj_n);
    rt_cuda_dec_release(b->g, &x->out_proj_n), rt_cuda_dec_release(b->g, &x->head_n);
    rt_cuda_op_release(b->g, &x->norm), rt_cuda_op_release(b->g, &x->gnorm);
  }
}

static void bench_mixer(bench *b, const model *m, int64_t batch) {
  model_ctx x;
  model_open(b, &x, m, batch, 0);
  const int calls = 2 * x.nl;
  const double bytes = (double)batch * (2.0 * d_inner(m) * m->N * 4 + 2.0 * conv_dim(m) * 3 * 4 +
                                        (conv_dim(m) + m->H) * 2 + d_inner(m) * 2);
  const double floor_us = bytes / (COPY_TBPS * 1e12) * 1e6;
  static const int rows[] = {16, 8, 32}; /* the first is the default */
  for (int r = 0; r < 3; r++) {
    rt_cuda_dec_release(b->g, &x.mixer);
    cg_dec_spec ms = ds_mamba2(m->H, m->P, m->N, m->G, true);
    ms.rows = rows[r];
    OK(rt_cuda_dec_prepare(b->g, &b->cc, &ms, batch, &x.mixer, &b->c));
    const double us = 1e3 * time_graph(b, run_mixer, &x, calls) / calls;
    printf("mixer %-5s b=%2lld rows %2d  %7.2f us  floor %6.2f us (%3.0f%%)\n", m->name,
           (long long)batch, rows[r], us, floor_us, 100 * floor_us / us);
    json_row(b,
             "{\"kernel\": \"mixer\", \"model\": \"%s\", \"batch\": %lld, \"rows\": %d, "
             "\"us\": %.3f, \"floor_us\": %.3f, \"frac\": %.3f}",
             m->name, (long long)batch, rows[r], us, floor_us, floor_us / us);
  }
  model_close(b, &x);
}

/* The existing norm kernels alone, one per layer (what the fusion removes). */
static int run_norms(bench *b, void *ctx, int i) {
  model_ctx *x = ctx;
  const layer_bufs *l = &x->L[i % x->nl];
  int rc = rt_cuda_rmsnorm(b->g, &x->norm, x->resid, 0, 0, l->norm_w, x->xn, x->batch, &b->c);
  return rc ? rc : rt_cuda_gnorm(b->g, &x->gnorm, x->y, x->z, l->gnorm_w, x->yn, x->batch, NULL, &b->c);
}

static void bench_step(bench *b, const model *m, int64_t batch) {
  model_ctx x;
  model_open(b, &x, m, batch, 1);
  const double ms = time_graph(b, run_step, &x, 1);
  x.fused = 1;
  const double ms3 = time_graph(b, run_step, &x, 1);
  const double norms_us = 1e3 * time_graph(b, run_norms, &x, x.nl) / x.nl;
  const double wbytes = (double)m->n_layer * (in_width(m) + d_inner(m)) * m->d_model * 2 +
                        (double)m->V * m->d_model * 2;
  const double floor_ms = wbytes / (COPY_TBPS * 1e12) * 1e3;
  printf("step  %-5s b=%2lld  fused norms (3 launches/layer) %6.3f ms/token (%3.0f%% of the weight "
         "floor %.3f ms); separate norms (5) %6.3f ms; rmsnorm+gnorm kernels %.2f us/layer\n",
         m->name, (long long)batch, ms3, 100 * floor_ms / ms3, floor_ms, ms, norms_us);
  json_row(b,
           "{\"kernel\": \"decode_step\", \"model\": \"%s\", \"batch\": %lld, "
           "\"fused_ms\": %.4f, \"unfused_ms\": %.4f, \"norm_kernels_us_per_layer\": %.3f, "
           "\"weight_floor_ms\": %.4f, \"frac\": %.3f, \"layers\": %lld}",
           m->name, (long long)batch, ms3, ms, norms_us, floor_ms, floor_ms / ms3,
           (long long)m->n_layer);
  model_close(b, &x);
}

int main(int argc, char **argv) {
  bench bb = {.first = 1}, *b = &bb;
  ssd_ctx_init(&b->c);
  OK(rt_cuda_open(&b->g, 0, &b->c));
  OK(cg_cache_open(&b->cc, NULL, &b->c));
  OK(rt_blas_open(b->g, &b->blas, &b->c));
  cg_source fs = {.name = "dec_bench_fill", .src = (char *)fill_src};
  void *cubin = NULL;
  size_t n = 0;
  OK(cg_build(&b->cc, &fs, rt_cuda_arch(b->g), &cubin, &n, &b->c));
  OK(rt_cuda_load(b->g, cubin, "dec_bench_fill", 0, &b->fill, &b->c));
  free(cubin);
  b->json = argc > 1 ? fopen(argv[1], "w") : stdout;
  if (!b->json) return 1;
  printf("device: %s (%s, %d SMs)\n", rt_cuda_name(b->g), rt_cuda_arch(b->g), rt_cuda_sms(b->g));
  fprintf(b->json, "{\"device\": \"%s\", \"copy_tbps\": %.2f, \"rows\": [", rt_cuda_name(b->g),
          COPY_TBPS);

  static const struct {
    const char *name;
    int64_t K, N;
  } shapes[] = {{"in_130m", 768, 3352},   {"in_2.7b", 2560, 10576},  {"out_130m", 1536, 768},
                {"out_2.7b", 5120, 2560}, {"head_130m", 768, 50288}, {"head_2.7b", 2560, 50280}};
  static const int64_t Ms[] = {1, 4, 16};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
    for (size_t i = 0; i < 3; i++)
      bench_gemv(b, shapes[s].name, shapes[s].K, shapes[s].N, Ms[i]);

  static const model models[] = {{"130m", 768, 24, 64, 128, 1, 24, 50288},
                                 {"2.7b", 2560, 80, 64, 128, 1, 64, 50280}};
  for (int mi = 0; mi < 2; mi++) {
    bench_mixer(b, &models[mi], 1);
    bench_mixer(b, &models[mi], 16);
  }
  for (int mi = 0; mi < 2; mi++) {
    bench_step(b, &models[mi], 1);
    bench_step(b, &models[mi], 16);
  }
  fprintf(b->json, "\n]}\n");
  if (b->json != stdout) fclose(b->json);
  rt_cuda_unload(b->g, &b->fill);
  rt_blas_close(b->blas);
  rt_cuda_close(b->g);
  return 0;
}
