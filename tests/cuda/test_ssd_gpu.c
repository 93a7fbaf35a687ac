/* test_ssd_gpu.c: the generated SSD kernels against the float64 reference
 * (rt_ssm_ref_f64, runtime/rt_ssm_ref.c).  GPU only (ctest label gpu).
 *
 * Each case draws fresh random operands at realistic scale (dt_bias around
 * -4 as in trained Mamba-2 layers, A = -exp(A_log) over [-15, -1]), rounds
 * them to bf16 so the reference sees exactly what the GPU reads, poisons the
 * outputs with NaN, runs the kernel and compares ||out - ref|| / ||ref||.
 * Cases cross chunk boundaries (L = 1, 63, 64, 65, 1000, 4100), use several
 * B/C groups, every head pattern (x, dt, B, C heads < H), every optional
 * operand, initial and final states, fp32 outputs, each channel tiling, and
 * sequences long enough to be split into segments joined by the look-back.
 * The chunked kernel is also run twice to check it is deterministic (a
 * moving result would mean a race).  Strided cases embed each operand in
 * wider token rows (as the column slices of a Mamba-2 layer's conv and
 * in_proj outputs are) whose other columns are NaN, so a wrong stride or
 * offset shows as NaN or a large error.  Folded-conv cases (F_XC) upload x
 * before Mamba-2's conv + SiLU, which the kernel applies itself; the
 * reference convolves in float64 (rounding the result to bf16, as the conv
 * kernel it replaces stores it), with the conv state before token 0 where
 * the case has one.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_ssm.h"
#include "ssd_gpu_util.h"

enum {
  F_DT = 1, F_A = 2, F_ALOG = 4, F_BIAS = 8, F_SP = 16, F_CLAMP = 32, F_D = 64, F_DCH = 128,
  F_Z = 256, F_INIT = 512, F_FINAL = 1024, F_YF32 = 2048, F_INF32 = 4096,
  F_DTF32 = 8192, F_ZF32 = 16384, /* chunked: dt / z in fp32 */
  F_GN = 32768, /* chunked: a gated norm folded in (spec.gnorm; needs F_Z) */
  F_XC = 65536, /* chunked: x's causal conv (width 4, bias) + SiLU folded in (spec.xconv_k) */
  F_XCK2 = 131072, /* with F_XC: width 2, no bias */
  F_XCST = 262144, /* with F_XC: a conv state before token 0 */
  F_CHAIN = 524288, /* chunked: segments chained ($SSDC_SSD_CHAIN=1), tcase.seg chunks each */
  F_MAMBA2 = F_DT | F_A | F_ALOG | F_BIAS | F_SP | F_D,
};

typedef struct tcase {
  const char *what;
  cg_ssd_kind kind;
  int64_t batch, L, H, P, N, hx, hb, hc, hdt;
  unsigned f;
  int ps;
  int layout; /* operands' token rows: 0 dense, else an entry of layouts[] */
  int seg;    /* chunks per segment ($SSDC_SSD_SEG_CHUNKS); 0: the policy's */
} tcase;

/* Where each operand sits in its wider token row: columns in front of it and
 * behind it (NaN-filled).  x, B, C keep 16-byte alignment (multiples of 8);
 * layout 2 gives z an odd stride and offset (the chunked kernel's one-element
 * gate path). */
typedef struct wide {
  int64_t before, after;
} wide;
enum { OP_X, OP_DT, OP_B, OP_C, OP_Z, NOPS };
static const wide layouts[][NOPS] = {
    {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}},
    {{16, 8}, {3, 2}, {8, 32}, {0, 8}, {6, 4}},
    {{8, 0}, {5, 0}, {0, 24}, {24, 16}, {1, 2}},
};

static const tcase cases[] = {
    {"mamba2 L=1", CG_SSD_CHUNKED, 1, 1, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2, 0, 0, 0},
    {"mamba2 L=63", CG_SSD_CHUNKED, 1, 63, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2, 0, 0, 0},
    {"mamba2 L=64", CG_SSD_CHUNKED, 2, 64, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2 | F_FINAL, 0, 0, 0},
    {"mamba2 L=65 ps16", CG_SSD_CHUNKED, 1, 65, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2 | F_Z, 16, 0, 0},
    {"mamba2 L=1000 ps64 z final", CG_SSD_CHUNKED, 2, 1000, 6, 64, 128, 6, 1, 1, 6,
     F_MAMBA2 | F_Z | F_FINAL, 64, 0, 0},
    {"2.7b heads L=4100 ps32", CG_SSD_CHUNKED, 1, 4100, 8, 64, 128, 8, 1, 1, 8, F_MAMBA2 | F_FINAL, 32, 0, 0},
    {"groups=2 N=64 init final clamp", CG_SSD_CHUNKED, 2, 1500, 8, 32, 64, 8, 2, 2, 8,
     F_MAMBA2 | F_INIT | F_FINAL | F_CLAMP, 0, 0, 0},
    {"head patterns hx=2 hb=4 hc=1 hdt=2, D per channel, fp32 y", CG_SSD_CHUNKED, 1, 200, 8, 64,
     128, 2, 4, 1, 2, F_MAMBA2 | F_DCH | F_YF32 | F_FINAL, 0, 0, 0},
    /* P = 64, N = 64 with groups, init and a gate: the wgmma kernel's n64 state */
    {"groups=2 P=64 N=64 init z final", CG_SSD_CHUNKED, 1, 900, 4, 64, 64, 4, 2, 2, 4,
     F_MAMBA2 | F_Z | F_INIT | F_FINAL, 0, 1, 0},
    {"N=256 ps32", CG_SSD_CHUNKED, 1, 130, 2, 64, 256, 2, 1, 1, 2, F_MAMBA2 | F_FINAL, 32, 0, 0},
    {"N=16 P=32", CG_SSD_CHUNKED, 1, 257, 4, 32, 16, 4, 1, 1, 4, F_MAMBA2 | F_FINAL, 0, 0, 0},
    /* B and C rows are 6 16-byte vectors: 128 threads do not split evenly,
     * so ssd_copy_rows takes its general (not unrolled) path. */
    {"N=48: row copies not dividing the block", CG_SSD_CHUNKED, 2, 1100, 4, 64, 48, 4, 1, 1, 4,
     F_MAMBA2 | F_Z | F_FINAL, 0, 0, 0},
    {"A given (not log), no softplus, init", CG_SSD_CHUNKED, 1, 700, 4, 64, 128, 4, 1, 1, 4,
     F_DT | F_A | F_D | F_INIT | F_FINAL, 0, 0, 0},
    {"linear attention (no dt, no A)", CG_SSD_CHUNKED, 1, 150, 2, 32, 32, 2, 1, 1, 2, F_FINAL, 0, 0, 0},
    /* the folded gated norm: y times the norm weight, per-slice sums of squares */
    {"gated norm folded, strided, segments", CG_SSD_CHUNKED, 1, 4100, 8, 64, 128, 8, 1, 1, 8,
     F_MAMBA2 | F_Z | F_FINAL | F_GN, 0, 1, 0},
    {"gated norm folded, ps32, batch 2, odd z stride", CG_SSD_CHUNKED, 2, 333, 6, 64, 128, 6, 1, 1,
     6, F_MAMBA2 | F_Z | F_GN, 32, 2, 0},
    /* dense z: the gate's shared-memory tile and the weight's shared copy
     * (cg_ssd_z_tile), as the model's in_proj rows give them */
    {"gated norm folded, gate tile, ps16 L=300", CG_SSD_CHUNKED, 1, 300, 4, 64, 128, 4, 1, 1, 4,
     F_MAMBA2 | F_Z | F_FINAL | F_GN, 16, 0, 0},
    /* the conv over x folded in: strided rows as in the in_proj output, a
     * conv state, segments (phase 1 convolves too), every channel tiling */
    {"conv folded, state, strided, ps64 z final", CG_SSD_CHUNKED, 2, 1000, 6, 64, 128, 6, 1, 1, 6,
     F_MAMBA2 | F_Z | F_FINAL | F_XC | F_XCST, 64, 1, 0},
    {"conv folded, segments", CG_SSD_CHUNKED, 1, 4100, 4, 64, 128, 4, 1, 1, 4,
     F_MAMBA2 | F_FINAL | F_XC, 0, 1, 0},
    {"conv folded, width 2 no bias, state, ps32, batch 2", CG_SSD_CHUNKED, 2, 333, 6, 64, 128, 6, 1,
     1, 6, F_MAMBA2 | F_Z | F_XC | F_XCK2 | F_XCST, 32, 2, 0},
    {"conv folded, ps16, x heads 2 of 4, init", CG_SSD_CHUNKED, 1, 130, 4, 64, 128, 2, 1, 1, 4,
     F_MAMBA2 | F_INIT | F_FINAL | F_XC, 16, 0, 0},
    {"conv folded, L=2 inside the state's reach", CG_SSD_CHUNKED, 2, 2, 4, 64, 128, 4, 1, 1, 4,
     F_MAMBA2 | F_XC | F_XCST, 0, 0, 0},
    /* segments chained: each starts from its predecessor's end state, taken
     * after the predecessor's last chunk (no phase 1); last segments of one
     * chunk and of several, in place of and beside the look-back cases */
    {"chained segments, batch 3, init z final", CG_SSD_CHUNKED, 3, 1000, 6, 64, 128, 6, 1, 1, 6,
     F_MAMBA2 | F_Z | F_INIT | F_FINAL | F_CHAIN, 64, 0, 3},
    {"chained, gated norm folded, strided, ps32", CG_SSD_CHUNKED, 2, 700, 4, 64, 128, 4, 1, 1, 4,
     F_MAMBA2 | F_Z | F_GN | F_FINAL | F_CHAIN, 32, 1, 4},
    {"chained, conv folded, state, ps16", CG_SSD_CHUNKED, 2, 333, 4, 64, 128, 4, 1, 1, 4,
     F_MAMBA2 | F_XC | F_XCST | F_FINAL | F_CHAIN, 16, 0, 2},
    {"chained, groups=2 N=64, no final state", CG_SSD_CHUNKED, 2, 1500, 8, 32, 64, 8, 2, 2, 8,
     F_MAMBA2 | F_CHAIN, 0, 0, 5},
    {"step mamba2 bf16", CG_SSD_STEP, 3, 1, 80, 64, 128, 80, 1, 1, 80, F_MAMBA2 | F_Z, 0, 0, 0},
    {"step fp32 patterns", CG_SSD_STEP, 2, 1, 8, 32, 48, 2, 4, 2, 4,
     F_MAMBA2 | F_DCH | F_CLAMP | F_INF32 | F_YF32, 0, 0, 0},
    {"fp32 dt, dense", CG_SSD_CHUNKED, 1, 65, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2 | F_Z | F_DTF32, 0, 0, 0},
    {"strided slices, segments, z final", CG_SSD_CHUNKED, 1, 4100, 8, 64, 128, 8, 1, 1, 8,
     F_MAMBA2 | F_Z | F_FINAL, 0, 1, 0},
    {"strided slices batch 2, ps32, init", CG_SSD_CHUNKED, 2, 1000, 6, 64, 128, 6, 1, 1, 6,
     F_MAMBA2 | F_Z | F_INIT | F_FINAL, 32, 1, 0},
    {"strided, odd z stride, fp32 dt z, patterns", CG_SSD_CHUNKED, 2, 300, 8, 32, 64, 2, 2, 2, 4,
     F_MAMBA2 | F_Z | F_DTF32 | F_ZF32 | F_FINAL, 0, 2, 0},
    {"strided, odd z stride, bf16 z, N=48", CG_SSD_CHUNKED, 2, 700, 4, 64, 48, 4, 1, 1, 4,
     F_MAMBA2 | F_Z | F_YF32, 0, 2, 0},
    {"step strided mamba2 bf16", CG_SSD_STEP, 3, 1, 80, 64, 128, 80, 1, 1, 80, F_MAMBA2 | F_Z, 0, 1, 0},
    /* the recurrent form over a sequence in one launch (the fp32 executor's prefill) */
    {"scan fp32 L=37 patterns", CG_SSD_STEP, 2, 37, 8, 32, 48, 2, 4, 2, 4,
     F_MAMBA2 | F_Z | F_DCH | F_CLAMP | F_INF32 | F_YF32, 0, 0, 0},
    {"scan fp32 L=70 mamba2 N=128", CG_SSD_STEP, 2, 70, 4, 64, 128, 4, 1, 1, 4,
     F_MAMBA2 | F_Z | F_INF32 | F_YF32, 0, 0, 0},
    {"scan bf16 L=19 strided", CG_SSD_STEP, 1, 19, 8, 64, 128, 8, 1, 1, 8, F_MAMBA2 | F_Z, 0, 1, 0},
    {"step strided fp32 patterns", CG_SSD_STEP, 2, 1, 8, 32, 48, 2, 4, 2, 4,
     F_MAMBA2 | F_Z | F_DCH | F_INF32 | F_YF32, 0, 2, 0},
};

/* Token-row width of operand op (its heads x head width). */
static int64_t op_width(const tcase *t, int op) {
  switch (op) {
  case OP_X: return t->hx * t->P;
  case OP_DT: return t->hdt;
  case OP_B: return t->hb * t->N;
  case OP_C: return t->hc * t->N;
  default: return t->H * t->P;
  }
}
static int64_t op_ld(const tcase *t, int op) {
  const wide w = layouts[t->layout][op];
  return w.before || w.after ? w.before + op_width(t, op) + w.after : 0;
}

static int fails;
static int wg_runs;      /* cases the wgmma kernel ran */
static int tma_runs, cpa_runs; /* cases of the mma.sync chunked kernel with B, C by tensor copies, by cp.async */
static int gn_tile_runs; /* folded-norm cases with the gate's tile (cg_ssd_z_tile) */
static int chain_runs;   /* cases run with chained segments */

static double relerr(const double *a, const double *ref, size_t n, size_t *nonfinite) {
  double num = 0, den = 0;
  *nonfinite = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(a[i])) (*nonfinite)++;
    num += (a[i] - ref[i]) * (a[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return sqrt(num / (den > 0 ? den : 1));
}

typedef struct host {
  double *x, *dt, *A, *B, *C, *D, *z, *bias, *state, *y;
  double *gw; /* F_GN: the norm weight [H * P] */
  double *xraw, *cw, *cb, *cst; /* F_XC: x before the conv, its weight, bias and state */
} host;

static void host_free(host *h) {
  double **p[] = {&h->x, &h->dt, &h->A, &h->B, &h->C, &h->D, &h->z, &h->bias, &h->state, &h->y,
                  &h->gw, &h->xraw, &h->cw, &h->cb, &h->cst};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(*p[i]), *p[i] = NULL;
}

/* F_XC: the conv's width, and its state's channels per batch row (wider
 * than x's, as Mamba-2's state also holds B and C). */
static int conv_k(const tcase *t) { return t->f & F_XCK2 ? 2 : 4; }
static int64_t conv_sld(const tcase *t) { return t->hx * t->P + 24; }

static void make_desc(const tcase *t, rt_ssm_desc *d, cg_ssd_spec *s) {
  memset(d, 0, sizeof *d);
  memset(s, 0, sizeof *s);
  d->batch = t->batch, d->L = t->L, d->H = t->H, d->P = t->P, d->N = t->N;
  d->hx = t->hx, d->hb = t->hb, d->hc = t->hc, d->hdt = t->hdt;
  d->has_dt = t->f & F_DT, d->has_A = t->f & F_A, d->A_is_log = t->f & F_ALOG;
  d->has_dt_bias = t->f & F_BIAS, d->dt_softplus = t->f & F_SP;
  d->has_D = t->f & F_D, d->D_per_channel = t->f & F_DCH, d->has_z = t->f & F_Z;
  d->dt_min = t->f & F_CLAMP ? 0.004 : 0.0;
  d->dt_max = t->f & F_CLAMP ? 0.05 : INFINITY;
  d->chunk = CG_SSD_CHUNK;
  s->kind = t->kind;
  s->H = t->H, s->P = t->P, s->N = t->N, s->hx = t->hx, s->hb = t->hb, s->hc = t->hc, s->hdt = t->hdt;
  s->has_dt = d->has_dt, s->has_A = d->has_A, s->A_is_log = d->A_is_log;
  s->has_dt_bias = d->has_dt_bias, s->dt_softplus = d->dt_softplus;
  s->dt_clamp = t->f & F_CLAMP, s->dt_min = d->dt_min, s->dt_max = t->f & F_CLAMP ? d->dt_max : 3e38;
  s->has_D = d->has_D, s->D_per_channel = d->D_per_channel, s->has_z = d->has_z;
  s->has_init = t->kind == CG_SSD_CHUNKED && (t->f & F_INIT);
  s->has_final = t->kind == CG_SSD_CHUNKED && (t->f & F_FINAL);
  s->in_f32 = t->f & F_INF32, s->y_f32 = t->f & F_YF32, s->ps = t->ps;
  s->dt_f32 = t->f & F_DTF32, s->z_f32 = t->f & F_ZF32, s->gnorm = t->f & F_GN;
  s->ld_x = op_ld(t, OP_X), s->ld_dt = op_ld(t, OP_DT), s->ld_b = op_ld(t, OP_B);
  s->ld_c = op_ld(t, OP_C), s->ld_z = op_ld(t, OP_Z);
  if (t->f & F_XC) {
    s->xconv_k = conv_k(t), s->xconv_bias = !(t->f & F_XCK2);
    s->xconv_ld_state = conv_sld(t);
  }
}

/* F_XC: x (the conv's output, bf16-rounded) from xraw, in float64. */
static void host_conv(const tcase *t, host *h) {
  const int64_t C = t->hx * t->P, K = conv_k(t), sld = conv_sld(t);
  for (int64_t b = 0; b < t->batch; b++)
    for (int64_t l = 0; l < t->L; l++)
      for (int64_t c = 0; c < C; c++) {
        double acc = h->cb ? h->cb[c] : 0.0;
        for (int64_t k = 0; k < K; k++) {
          const int64_t s = l - (K - 1) + k;
          const double v = s >= 0 ? h->xraw[(b * t->L + s) * C + c]
                           : h->cst ? h->cst[(b * sld + c) * (K - 1) + K - 1 + s] : 0.0;
          acc += h->cw[c * K + k] * v;
        }
        h->x[(b * t->L + l) * C + c] = gu_bf2f(gu_f2bf((float)(acc / (1.0 + exp(-acc)))));
      }
}

static int make_host(const tcase *t, const rt_ssm_desc *d, host *h, uint64_t *seed) {
  const int bf = !(t->f & F_INF32);
  const size_t BL = (size_t)(d->batch * d->L), PN = (size_t)(d->P * d->N);
  memset(h, 0, sizeof *h);
  h->x = gu_rand(BL * d->hx * d->P, 1.0, 0.0, bf, seed);
  h->B = gu_rand(BL * d->hb * d->N, 1.0, 0.0, bf, seed);
  h->C = gu_rand(BL * d->hc * d->N, 1.0, 0.0, bf, seed);
  h->y = calloc(BL * d->H * d->P, sizeof(double));
  if (d->has_dt) /* raw dt: softplus input, or small positive steps without softplus */
    h->dt = d->dt_softplus ? gu_rand(BL * d->hdt, 1.0, 0.0, bf, seed)
                           : gu_rand(BL * d->hdt, 0.02, 0.05, bf, seed);
  if (d->has_dt_bias) h->bias = gu_rand(d->hdt, 1.0, -4.0, 0, seed);
  if (d->has_A) {
    h->A = malloc(d->hdt * sizeof(double));
    for (int64_t i = 0; h->A && i < d->hdt; i++) {
      double al = gu_unif(seed) * 2.7; /* A in [-15, -1] */
      h->A[i] = (double)(float)(d->A_is_log ? al : -exp(al));
    }
  }
  if (d->has_D) h->D = gu_rand(d->D_per_channel ? d->H * d->P : d->H, 1.0, 0.0, 0, seed);
  if (d->has_z) h->z = gu_rand(BL * d->H * d->P, 1.0, 0.0, bf, seed);
  if (t->f & F_GN) h->gw = gu_rand(d->H * d->P, 0.5, 1.0, 0, seed);
  if (t->f & F_XC) {
    const size_t C = (size_t)(d->hx * d->P), K = (size_t)conv_k(t);
    h->xraw = gu_rand(BL * C, 1.0, 0.0, 1, seed);
    h->cw = gu_rand(C * K, 0.6, 0.0, 0, seed);
    if (!(t->f & F_XCK2)) h->cb = gu_rand(C, 0.4, 0.0, 0, seed);
    if (t->f & F_XCST) h->cst = gu_rand((size_t)(d->batch * conv_sld(t)) * (K - 1), 1.0, 0.0, 1, seed);
    if (!h->xraw || !h->cw || (!h->cb && !(t->f & F_XCK2)) || (!h->cst && (t->f & F_XCST)))
      return SSD_ENOMEM;
    host_conv(t, h);
  }
  if (t->kind == CG_SSD_STEP || (t->f & (F_INIT | F_FINAL))) {
    size_t n = (size_t)d->batch * d->H * PN;
    h->state = (t->kind == CG_SSD_STEP || (t->f & F_INIT)) ? gu_rand(n, 0.5, 0.0, 0, seed)
                                                           : calloc(n, sizeof(double));
  }
  return h->x && h->B && h->C && h->y ? SSD_OK : SSD_ENOMEM;
}

/* The device operands, and the allocations behind them: a strided operand's
 * pointer is inside its wide buffer, so the buffers are freed, not it. */
typedef struct dev {
  rt_cuda_ssd_args a;
  rt_dptr wide[NOPS];
} dev;

static void dev_free(rt_cuda *g, dev *d) {
  rt_cuda_ssd_args *a = &d->a;
  rt_dptr *p[] = {&a->A,    &a->D,    &a->dt_bias, &a->init, &a->state,   &a->y,
                  &a->gn_w, &a->gn_ss, &a->xc_w,   &a->xc_b, &a->xc_state};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) rt_cuda_free(g, *p[i]), *p[i] = 0;
  for (int i = 0; i < NOPS; i++) rt_cuda_free(g, d->wide[i]), d->wide[i] = 0;
}

/* Upload rows x width values (bf16 or f32) as the columns [before, before +
 * width) of rows of ld elements, every other element NaN (0xff bytes in both
 * types).  ld 0: dense.  *buf is the allocation, *ptr the operand. */
static int upload_rows(rt_cuda *g, const double *v, size_t rows, int64_t width, int64_t ld,
                       int64_t before, int bf, rt_dptr *buf, rt_dptr *ptr, ssd_ctx *c) {
  *buf = *ptr = 0;
  if (!v) return SSD_OK;
  if (!ld) ld = width, before = 0;
  const size_t es = bf ? 2 : 4, n = rows * (size_t)ld;
  unsigned char *h = malloc(n * es);
  if (!h) return ssd_err(c, SSD_ENOMEM, "out of memory");
  memset(h, 0xff, n * es);
  for (size_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < width; i++) {
      const size_t o = r * (size_t)ld + (size_t)(before + i);
      const double x = v[r * (size_t)width + (size_t)i];
      if (bf) ((uint16_t *)h)[o] = gu_f2bf((float)x);
      else ((float *)h)[o] = (float)x;
    }
  int rc = rt_cuda_alloc(g, n * es, buf, c);
  if (rc == SSD_OK) rc = rt_cuda_h2d(g, *buf, h, n * es, c);
  free(h);
  *ptr = *buf + (rt_dptr)before * es;
  return rc;
}

static int upload_op(rt_cuda *g, const tcase *t, int op, const double *v, int bf, dev *dv,
                     rt_dptr *ptr, ssd_ctx *c) {
  const size_t rows = (size_t)(t->batch * t->L);
  return upload_rows(g, v, rows, op_width(t, op), op_ld(t, op), layouts[t->layout][op].before, bf,
                     &dv->wide[op], ptr, c);
}

/* F_GN: partial sums of squares per token row (one per head and channel slice). */
static size_t gn_parts(const tcase *t, int ps) { return (size_t)(t->H * (t->P / ps)); }

static int upload(rt_cuda *g, const tcase *t, const rt_ssm_desc *d, const host *h,
                  const double *state0, int ps, dev *dv, ssd_ctx *c) {
  const int bf = !(t->f & F_INF32);
  const size_t BL = (size_t)(d->batch * d->L), nstate = (size_t)(d->batch * d->H * d->P * d->N);
  const size_t ny = BL * d->H * d->P, ysz = t->f & F_YF32 ? 4 : 2;
  memset(dv, 0, sizeof *dv);
  rt_cuda_ssd_args *a = &dv->a;
  int rc;
  if ((rc = upload_op(g, t, OP_X, h->xraw ? h->xraw : h->x, bf, dv, &a->x, c)) ||
      (rc = upload_op(g, t, OP_DT, h->dt, bf && !(t->f & F_DTF32), dv, &a->dt, c)) ||
      (rc = gu_upload(g, h->A, d->hdt, 0, &a->A, c)) ||
      (rc = upload_op(g, t, OP_B, h->B, bf, dv, &a->B, c)) ||
      (rc = upload_op(g, t, OP_C, h->C, bf, dv, &a->C, c)) ||
      (rc = gu_upload(g, h->D, d->D_per_channel ? d->H * d->P : d->H, 0, &a->D, c)) ||
      (rc = upload_op(g, t, OP_Z, h->z, bf && !(t->f & F_ZF32), dv, &a->z, c)) ||
      (rc = gu_upload(g, h->bias, d->hdt, 0, &a->dt_bias, c)))
    return rc;
  if (t->f & F_XC) {
    const size_t C = (size_t)(t->hx * t->P), K = (size_t)conv_k(t);
    if ((rc = gu_upload(g, h->cw, C * K, 0, &a->xc_w, c)) ||
        (rc = gu_upload(g, h->cb, C, 0, &a->xc_b, c)) ||
        (rc = gu_upload(g, h->cst, (size_t)(t->batch * conv_sld(t)) * (K - 1), 0, &a->xc_state, c)))
      return rc;
  }
  if (t->kind == CG_SSD_STEP) {
    if ((rc = gu_upload(g, state0, nstate, 0, &a->state, c))) return rc;
  } else {
    if ((t->f & F_INIT) && (rc = gu_upload(g, state0, nstate, 0, &a->init, c))) return rc;
    if (t->f & F_FINAL) {
      if ((rc = rt_cuda_alloc(g, nstate * 4, &a->state, c)) ||
          (rc = rt_cuda_memset8(g, a->state, 0xff, nstate * 4, c))) /* NaN poison */
        return rc;
    }
  }
  if ((rc = rt_cuda_alloc(g, ny * ysz, &a->y, c))) return rc;
  if (t->f & F_GN) {
    const size_t nss = gn_parts(t, ps) * BL;
    if ((rc = gu_upload(g, h->gw, d->H * d->P, 0, &a->gn_w, c)) ||
        (rc = rt_cuda_alloc(g, nss * 4, &a->gn_ss, c)) ||
        (rc = rt_cuda_memset8(g, a->gn_ss, 0xff, nss * 4, c)))
      return rc;
  }
  return rt_cuda_memset8(g, a->y, 0xff, ny * ysz, c);
}

static int download(rt_cuda *g, rt_dptr p, size_t n, int f32, double *out, ssd_ctx *c) {
  void *h = malloc(n * (f32 ? 4 : 2));
  if (!h) return ssd_err(c, SSD_ENOMEM, "out of memory");
  int rc = rt_cuda_d2h(g, h, p, n * (f32 ? 4 : 2), c);
  for (size_t i = 0; rc == SSD_OK && i < n; i++)
    out[i] = f32 ? ((float *)h)[i] : gu_bf2f(((uint16_t *)h)[i]);
  free(h);
  return rc;
}

static int launch(rt_cuda *g, rt_cuda_ssd *k, const tcase *t, const rt_cuda_ssd_args *a,
                  ssd_ctx *c) {
  int rc = t->kind == CG_SSD_CHUNKED ? rt_cuda_ssd_chunked(g, k, a, t->batch, t->L, c)
                                     : rt_cuda_ssd_step(g, k, a, t->batch, t->L, c);
  return rc ? rc : rt_cuda_sync(g, c);
}

static void check_err(const char *what, const char *name, double err, size_t nonfinite, double tol) {
  int ok = nonfinite == 0 && err < tol && isfinite(err);
  printf("  %-5s %-4s rel err %.2e (tol %.0e)%s\n", ok ? "ok" : "FAIL", name, err, tol,
         nonfinite ? " NON-FINITE VALUES" : "");
  if (!ok) {
    fprintf(stderr, "FAIL: %s: %s rel err %.3e, %zu non-finite\n", what, name, err, nonfinite);
    fails++;
  }
}

/* F_GN: each row's sum of squares of the gated y over a block's channel
 * slice, against the reference y (before the norm weight). */
static int check_gnorm(rt_cuda *g, const tcase *t, const host *h, int ps, rt_dptr ss, ssd_ctx *c) {
  const size_t rows = (size_t)(t->batch * t->L), parts = gn_parts(t, ps);
  double *got = malloc(rows * parts * sizeof(double)), *want = calloc(rows * parts, sizeof(double));
  int rc = got && want ? download(g, ss, rows * parts, 1, got, c) : ssd_err(c, SSD_ENOMEM, "out of memory");
  for (size_t i = 0; rc == SSD_OK && i < rows * (size_t)(t->H * t->P); i++)
    want[i / (size_t)ps] += h->y[i] * h->y[i]; /* channels of a slice are adjacent */
  size_t nonfin = 0;
  if (rc == SSD_OK) check_err(t->what, "ss", relerr(got, want, rows * parts, &nonfin), nonfin, 1e-2);
  free(got), free(want);
  return rc;
}

static int run_case(rt_cuda *g, cg_cache *cc, const tcase *t, uint64_t *seed, ssd_ctx *c) {
  rt_ssm_desc d;
  cg_ssd_spec s;
  make_desc(t, &d, &s);
  host h;
  int rc = make_host(t, &d, &h, seed);
  if (rc) return ssd_err(c, rc, "out of memory");
  const size_t ny = (size_t)(d.batch * d.L * d.H * d.P), nst = (size_t)(d.batch * d.H * d.P * d.N);
  double *state0 = h.state ? malloc(nst * sizeof(double)) : NULL;
  if (state0) memcpy(state0, h.state, nst * sizeof(double));
  rt_ssm_args64 ra = {h.x, h.dt, h.A, h.B, h.C, h.D, h.z, h.bias, h.state, h.y};
  rc = rt_ssm_ref_f64(&d, &ra, c);
  rt_cuda_ssd k = {0};
  dev dv = {0};
  const rt_cuda_ssd_args *ap = &dv.a;
  if (rc == SSD_OK) rc = rt_cuda_ssd_prepare(g, cc, &s, t->batch, &k, c);
  char segv[24];
  snprintf(segv, sizeof segv, "%d", t->seg);
  if (t->seg) setenv("SSDC_SSD_SEG_CHUNKS", segv, 1);
  if (t->f & F_CHAIN) setenv("SSDC_SSD_CHAIN", "1", 1);
  rt_cuda_ssd_segs sg = {1, 0, false};
  if (rc == SSD_OK && t->kind == CG_SSD_CHUNKED) rc = rt_cuda_ssd_segments(g, &k, t->batch, t->L, &sg, c);
  printf("%s [%s, ps %d, %d segment%s%s]\n", t->what, k.name, k.spec.ps, sg.nseg, sg.nseg > 1 ? "s" : "",
         sg.chain ? ", chained" : "");
  wg_runs += rc == SSD_OK && k.spec.wg;
  tma_runs += rc == SSD_OK && k.spec.tma;
  cpa_runs += rc == SSD_OK && t->kind == CG_SSD_CHUNKED && !k.spec.wg && !k.spec.tma;
  gn_tile_runs += rc == SSD_OK && k.spec.gnorm && cg_ssd_z_tile(&k.spec);
  chain_runs += rc == SSD_OK && sg.chain;
  if (rc == SSD_OK && sg.chain != ((t->f & F_CHAIN) != 0 && sg.nseg > 1))
    fails++, fprintf(stderr, "FAIL: %s: segments %s\n", t->what, sg.chain ? "chained" : "not chained");
  if (rc == SSD_OK) rc = upload(g, t, &d, &h, state0, k.spec.ps, &dv, c);
  if (rc == SSD_OK) rc = launch(g, &k, t, ap, c);
  double *y = malloc(ny * sizeof(double)), *st = h.state ? malloc(nst * sizeof(double)) : NULL;
  size_t nonfin = 0;
  /* bf16 y carries 2^-9 rounding; the chunked kernel also rounds its
   * intra-chunk kernel and the state it reads to bf16 (as mamba_ssm does). */
  if (rc == SSD_OK && (t->f & F_GN)) rc = check_gnorm(g, t, &h, k.spec.ps, ap->gn_ss, c);
  if (rc == SSD_OK && (rc = download(g, ap->y, ny, t->f & F_YF32, y, c)) == SSD_OK) {
    if (t->f & F_GN) /* the reference gated y times the norm weight */
      for (size_t i = 0; i < ny; i++) h.y[i] *= h.gw[i % (size_t)(d.H * d.P)];
    double e = relerr(y, h.y, ny, &nonfin);
    check_err(t->what, "y", e, nonfin,
              t->kind == CG_SSD_STEP ? (t->f & F_YF32 ? 2e-5 : 8e-3) : 1.5e-2);
  }
  if (rc == SSD_OK && ap->state && (rc = download(g, ap->state, nst, 1, st, c)) == SSD_OK) {
    double e = relerr(st, h.state, nst, &nonfin);
    check_err(t->what, "state", e, nonfin, t->kind == CG_SSD_STEP ? 2e-5 : 1.5e-2);
  }
  /* determinism: the same inputs give the same bits */
  if (rc == SSD_OK && t->kind == CG_SSD_CHUNKED) {
    double *y2 = malloc(ny * sizeof(double));
    rc = rt_cuda_memset8(g, ap->y, 0xff, ny * (t->f & F_YF32 ? 4 : 2), c);
    if (rc == SSD_OK) rc = launch(g, &k, t, ap, c);
    if (rc == SSD_OK) rc = download(g, ap->y, ny, t->f & F_YF32, y2, c);
    if (rc == SSD_OK && memcmp(y, y2, ny * sizeof(double)) != 0) {
      fprintf(stderr, "FAIL: %s: second run differs (race?)\n", t->what);
      fails++;
    }
    free(y2);
  }
  unsetenv("SSDC_SSD_SEG_CHUNKS");
  unsetenv("SSDC_SSD_CHAIN");
  free(y);
  free(st);
  free(state0);
  dev_free(g, &dv);
  rt_cuda_ssd_release(g, &k);
  host_free(&h);
  return rc;
}

/* Bad calls are refused with a message, not launched. */
static void check_refusals(rt_cuda *g, cg_cache *cc, ssd_ctx *c) {
  ssd_ctx q;
  ssd_ctx_init(&q);
  q.diag = fopen("/dev/null", "w");
  cg_ssd_spec s = {.kind = CG_SSD_CHUNKED, .H = 4, .P = 64, .N = 128, .hx = 4, .hb = 1, .hc = 1,
                   .hdt = 4, .has_dt = true, .has_A = true};
  rt_cuda_ssd k;
  if (rt_cuda_ssd_prepare(g, cc, &s, 1, &k, c) != SSD_OK) {
    fails++;
    fclose(q.diag);
    return;
  }
  rt_cuda_ssd_args a = {.x = 1, .B = 1, .C = 1, .y = 1}; /* dt and A missing */
  if (rt_cuda_ssd_chunked(g, &k, &a, 1, 100, &q) != SSD_EINVAL) fails++, fprintf(stderr, "FAIL: missing dt accepted\n");
  a.dt = a.A = 1;
  if (rt_cuda_ssd_chunked(g, &k, &a, 1, 0, &q) != SSD_EINVAL) fails++, fprintf(stderr, "FAIL: L=0 accepted\n");
  if (rt_cuda_ssd_step(g, &k, &a, 1, 1, &q) != SSD_EINVAL) fails++, fprintf(stderr, "FAIL: wrong kind accepted\n");
  a.x = a.B = a.C = a.y = 4096, a.dt = 4096, a.A = 4096;
  a.B = 4096 + 8; /* a B slice not 16-byte aligned: refused, not a device fault */
  if (rt_cuda_ssd_chunked(g, &k, &a, 1, 100, &q) != SSD_EINVAL || !strstr(q.msg, "B"))
    fails++, fprintf(stderr, "FAIL: misaligned B accepted\n");
  a.B = 4096;
  /* a forced segment length that is not a count, or makes too many segments */
  static const char *const segs[][2] = {{"abc", "100"}, {"0", "100"}, {"-3", "100"}, {"1", "4194369"}};
  for (int i = 0; i < 4; i++) {
    setenv("SSDC_SSD_SEG_CHUNKS", segs[i][0], 1);
    if (rt_cuda_ssd_chunked(g, &k, &a, 1, atoll(segs[i][1]), &q) != SSD_EINVAL ||
        !strstr(q.msg, "SSDC_SSD_SEG_CHUNKS"))
      fails++, fprintf(stderr, "FAIL: $SSDC_SSD_SEG_CHUNKS=%s accepted\n", segs[i][0]);
  }
  unsetenv("SSDC_SSD_SEG_CHUNKS");
  static const char *const chains[] = {"2", "-1", "yes"}; /* 0 or 1 only */
  for (int i = 0; i < 3; i++) {
    setenv("SSDC_SSD_CHAIN", chains[i], 1);
    if (rt_cuda_ssd_chunked(g, &k, &a, 1, 100, &q) != SSD_EINVAL || !strstr(q.msg, "SSDC_SSD_CHAIN"))
      fails++, fprintf(stderr, "FAIL: $SSDC_SSD_CHAIN=%s accepted\n", chains[i]);
  }
  unsetenv("SSDC_SSD_CHAIN");
  rt_cuda_ssd_release(g, &k);
  s.ld_x = 4 * 64 + 4; /* a stride that breaks x's 16-byte rows */
  if (rt_cuda_ssd_prepare(g, cc, &s, 1, &k, &q) != SSD_EUNSUPPORTED || !strstr(q.msg, "x row stride"))
    fails++, fprintf(stderr, "FAIL: x stride %% 8 != 0 accepted\n");
  s.ld_x = 64; /* narrower than x's 4 heads x 64 */
  if (rt_cuda_ssd_prepare(g, cc, &s, 1, &k, &q) != SSD_EINVAL)
    fails++, fprintf(stderr, "FAIL: narrow x stride accepted\n");
  s.ld_x = 0, s.gnorm = true; /* a folded gated norm without its gate */
  if (rt_cuda_ssd_prepare(g, cc, &s, 1, &k, &q) != SSD_EINVAL || !strstr(q.msg, "gated norm"))
    fails++, fprintf(stderr, "FAIL: gnorm without z accepted\n");
  s.has_z = true;
  if (rt_cuda_ssd_prepare(g, cc, &s, 1, &k, &q) != SSD_OK) {
    fails++, fprintf(stderr, "FAIL: gnorm spec refused: %s\n", q.msg);
  } else {
    a.z = 4096, a.A = 4096, a.B = 4096;
    if (rt_cuda_ssd_chunked(g, &k, &a, 1, 100, &q) != SSD_EINVAL || !strstr(q.msg, "gated norm"))
      fails++, fprintf(stderr, "FAIL: gnorm without its weight accepted\n");
    a.gn_w = a.gn_ss = 4096, a.z = 4096 + 4; /* the gate's tile copies 16-byte rows (not
                                                 the wgmma kernel, $SSDC_SSD_WG=1) */
    if (cg_ssd_z_tile(&k.spec) && (rt_cuda_ssd_chunked(g, &k, &a, 1, 100, &q) != SSD_EINVAL ||
                                   !strstr(q.msg, "operand z")))
      fails++, fprintf(stderr, "FAIL: a gate tile from a z not 16-byte aligned accepted\n");
    a.gn_w = a.gn_ss = 0, a.z = 0;
    rt_cuda_ssd_release(g, &k);
  }
  s.gnorm = s.has_z = false, s.xconv_k = 5; /* a folded conv wider than 4 */
  if (rt_cuda_ssd_prepare(g, cc, &s, 1, &k, &q) != SSD_EUNSUPPORTED || !strstr(q.msg, "folded conv"))
    fails++, fprintf(stderr, "FAIL: folded conv of width 5 accepted\n");
  s.xconv_k = 4;
  if (rt_cuda_ssd_prepare(g, cc, &s, 1, &k, &q) != SSD_OK) {
    fails++, fprintf(stderr, "FAIL: folded conv spec refused: %s\n", q.msg);
  } else {
    a.z = 0;
    if (rt_cuda_ssd_chunked(g, &k, &a, 1, 100, &q) != SSD_EINVAL || !strstr(q.msg, "folded conv weight"))
      fails++, fprintf(stderr, "FAIL: folded conv without its weight accepted\n");
    rt_cuda_ssd_release(g, &k);
  }
  fclose(q.diag);
}

/* --emu: on the emulated device (CPU), where the kernels run too. */
int main(int argc, char **argv) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_cuda *g;
  const bool emu = argc > 1 && !strcmp(argv[1], "--emu");
  if ((emu ? rt_cuda_open_emu(&g, &c) : rt_cuda_open(&g, 0, &c)) != SSD_OK) return 1;
  printf("device: %s (%s, %d SMs)\n", rt_cuda_name(g), rt_cuda_arch(g), rt_cuda_sms(g));
  char dir[] = "/tmp/ssdc-gpu-cache-XXXXXX";
  cg_cache cc;
  if (!mkdtemp(dir) || cg_cache_open(&cc, dir, &c) != SSD_OK) return 1;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    if (run_case(g, &cc, &cases[i], &seed, &c) != SSD_OK) {
      fprintf(stderr, "FAIL: %s: %s\n", cases[i].what, c.msg);
      fails++;
    }
  check_refusals(g, &cc, &c);
  /* $SSDC_SSD_WG=1 runs the wgmma kernel where it fits (sm_90, emulated):
   * then it must have run, and otherwise never */
  const char *wg = getenv("SSDC_SSD_WG");
  const bool want_wg = wg && !strcmp(wg, "1") && cg_arch_has_wgmma(rt_cuda_arch(g));
  printf("wgmma kernel: %d cases; folded norm with the gate's tile: %d; chained segments: %d\n",
         wg_runs, gn_tile_runs, chain_runs);
  if (chain_runs < 4) fails++, fprintf(stderr, "FAIL: chained segments in %d cases\n", chain_runs);
  if (!gn_tile_runs) fails++, fprintf(stderr, "FAIL: no folded-norm case took the gate's tile\n");
  if (want_wg != (wg_runs > 0)) fails++, fprintf(stderr, "FAIL: wgmma kernel ran in %d cases\n", wg_runs);
  /* B and C by tensor copies where the device has them (sm_90+, emulated):
   * below 64 channels per block by default, everywhere they fit with
   * $SSDC_SSD_TMA=1, never with 0; cp.async for the rest */
  const char *tm = getenv("SSDC_SSD_TMA");
  const bool want_tma = !(tm && !strcmp(tm, "0")) && cg_arch_has_tma(rt_cuda_arch(g)) && rt_cuda_has_tma(g);
  printf("mma.sync kernel: B, C by tensor copies in %d cases, by cp.async in %d\n", tma_runs, cpa_runs);
  if (want_tma != (tma_runs > 0) || (!want_wg && !cpa_runs))
    fails++, fprintf(stderr, "FAIL: tensor copies in %d cases, cp.async in %d\n", tma_runs, cpa_runs);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fails++;
  rt_cuda_close(g);
  printf(fails ? "test_ssd_gpu: %d FAILURES\n" : "test_ssd_gpu: all passed%.0d\n", fails);
  return fails != 0;
}
