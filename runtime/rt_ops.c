/* rt_ops.c: float32 CPU kernels for every non-SSM op of the IR.
 *
 * The matmul is the one that matters (it is most of prefill): weights are
 * repacked once into K-major panels of RT_GEMM_NR columns, and a register
 * block of GEMM_MR rows x NR columns accumulates broadcast-multiply-adds
 * written with GCC/Clang vector types, so it vectorizes without -ffast-math
 * (no reassociation: every y[m,n] sums over k in order).  On x86 an AVX2+FMA
 * copy of the block kernel is chosen at run time.  Everything else is a
 * straightforward row loop split across the rt_pool threads.
 */
#include "rt_ops.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rt_pool.h"

/* e^v without a libm call, so loops of silu/sigmoid vectorize: v = n ln2 + r
 * with |r| <= ln2/2 (ln2 split in two for an exact reduction), a degree-6
 * Taylor polynomial for e^r (error below 2 ulp there) and 2^n put straight
 * into the exponent bits.  v is clamped to [-87, 88] so 2^n stays normal;
 * NaN is kept out of the float->int conversion (undefined) and returned. */
static inline float exp_fast(float x) {
  float v = x == x ? x : 0.0f;
  v = v < -87.0f ? -87.0f : v;
  v = v > 88.0f ? 88.0f : v;
  const float n = (v * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to int */
  const float r = (v - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r * r + r + 1.0f;
  int32_t e = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &e, sizeof scale);
  return x == x ? p * scale : x;
}

/* ---- matmul ---------------------------------------------------------------- */
#define GEMM_MR 6
#define GEMM_MC 96 /* rows of x kept hot in L2 while panels stream past */

typedef float v8f __attribute__((vector_size(32)));

static float *alloc_aligned(size_t nfloats) {
  size_t bytes = (nfloats * sizeof(float) + 63) / 64 * 64;
  return aligned_alloc(64, bytes ? bytes : 64);
}

int rt_pack_weight(const float *W, int64_t N, int64_t K, rt_packed *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  int64_t np = (N + RT_GEMM_NR - 1) / RT_GEMM_NR;
  uint64_t n;
  if (N <= 0 || K <= 0 || !ssd_mul_ok((uint64_t)np * RT_GEMM_NR, (uint64_t)K, &n))
    return ssd_err(c, SSD_EINVAL, "matmul weight of bad size [%lld, %lld]", (long long)N,
                   (long long)K);
  float *p = alloc_aligned(n);
  if (!p) return ssd_err(c, SSD_ENOMEM, "out of memory packing a [%lld, %lld] weight",
                         (long long)N, (long long)K);
  for (int64_t pi = 0; pi < np; pi++) {
    float *dst = p + pi * K * RT_GEMM_NR;
    for (int64_t j = 0; j < RT_GEMM_NR; j++) {
      int64_t row = pi * RT_GEMM_NR + j;
      for (int64_t k = 0; k < K; k++)
        dst[k * RT_GEMM_NR + j] = row < N ? W[row * K + k] : 0.0f;
    }
  }
  out->N = N;
  out->K = K;
  out->panels = p;
  return SSD_OK;
}

void rt_packed_free(rt_packed *p) {
  free(p->panels);
  p->panels = NULL;
}

/* y[mr, nr] = x[mr, K] . panel + bias.  Inlined into the per-ISA wrappers. */
static inline __attribute__((always_inline)) void
gemm_block(const float *x, int64_t ldx, int mr, const float *wp, int64_t K, float *y,
           int64_t ldy, int nr, const float *bias) {
  v8f acc[GEMM_MR][2];
  memset(acc, 0, sizeof acc);
  if (mr == GEMM_MR) {
    for (int64_t k = 0; k < K; k++) {
      v8f w0, w1;
      memcpy(&w0, wp + k * RT_GEMM_NR, sizeof w0);
      memcpy(&w1, wp + k * RT_GEMM_NR + 8, sizeof w1);
#pragma GCC unroll 16
      for (int i = 0; i < GEMM_MR; i++) {
        float a = x[i * ldx + k];
        acc[i][0] += a * w0;
        acc[i][1] += a * w1;
      }
    }
  } else {
    for (int64_t k = 0; k < K; k++) {
      v8f w0, w1;
      memcpy(&w0, wp + k * RT_GEMM_NR, sizeof w0);
      memcpy(&w1, wp + k * RT_GEMM_NR + 8, sizeof w1);
      for (int i = 0; i < mr; i++) {
        float a = x[i * ldx + k];
        acc[i][0] += a * w0;
        acc[i][1] += a * w1;
      }
    }
  }
  for (int i = 0; i < mr; i++) {
    float t[RT_GEMM_NR];
    memcpy(t, acc[i], sizeof t);
    for (int j = 0; j < nr; j++) y[i * ldy + j] = t[j] + (bias ? bias[j] : 0.0f);
  }
}

static void gemm_block_generic(const float *x, int64_t ldx, int mr, const float *wp, int64_t K,
                               float *y, int64_t ldy, int nr, const float *bias) {
  gemm_block(x, ldx, mr, wp, K, y, ldy, nr, bias);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void
gemm_block_avx2(const float *x, int64_t ldx, int mr, const float *wp, int64_t K, float *y,
                int64_t ldy, int nr, const float *bias) {
  gemm_block(x, ldx, mr, wp, K, y, ldy, nr, bias);
}
#endif

#if defined(__x86_64__)
/* AVX-512: one 16-wide register per row, so twice the rows (12
 * accumulators) keep both FMA ports busy. */
#define GEMM_MR512 12
typedef float v16f __attribute__((vector_size(64)));

__attribute__((target("avx512f"))) static void
gemm_block_avx512(const float *x, int64_t ldx, int mr, const float *wp, int64_t K, float *y,
                  int64_t ldy, int nr, const float *bias) {
  v16f acc[GEMM_MR512];
  memset(acc, 0, sizeof acc);
  if (mr == GEMM_MR512) {
    for (int64_t k = 0; k < K; k++) {
      v16f w;
      memcpy(&w, wp + k * RT_GEMM_NR, sizeof w);
#pragma GCC unroll 16
      for (int i = 0; i < GEMM_MR512; i++) acc[i] += x[i * ldx + k] * w;
    }
  } else {
    for (int64_t k = 0; k < K; k++) {
      v16f w;
      memcpy(&w, wp + k * RT_GEMM_NR, sizeof w);
      for (int i = 0; i < mr; i++) acc[i] += x[i * ldx + k] * w;
    }
  }
  for (int i = 0; i < mr; i++) {
    float t[RT_GEMM_NR];
    memcpy(t, &acc[i], sizeof t);
    for (int j = 0; j < nr; j++) y[i * ldy + j] = t[j] + (bias ? bias[j] : 0.0f);
  }
}
#endif

typedef void (*gemm_block_fn)(const float *, int64_t, int, const float *, int64_t, float *,
                              int64_t, int, const float *);

/* The block kernel for this CPU and the rows it takes at once.
 * $SSDC_GEMM=generic|avx2 caps the choice (tests, comparisons). */
static gemm_block_fn gemm_pick(int *mr) {
  const char *cap = getenv("SSDC_GEMM");
  *mr = GEMM_MR;
#if defined(__x86_64__)
  bool generic = cap && !strcmp(cap, "generic"), avx2 = cap && !strcmp(cap, "avx2");
  if (!generic && !avx2 && __builtin_cpu_supports("avx512f")) {
    *mr = GEMM_MR512;
    return gemm_block_avx512;
  }
  if (!generic && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return gemm_block_avx2;
#else
  (void)cap;
#endif
  return gemm_block_generic;
}

typedef struct {
  const float *x, *bias;
  const rt_packed *W;
  int64_t M;
  float *y;
  gemm_block_fn fn;
  int mr;         /* rows per block kernel call */
} gemm_job;

/* Panels [p0, p1) for every row: rows in blocks of GEMM_MC so that each
 * block of x is reused across all of this thread's panels. */
static void gemm_range(void *ctx, int64_t p0, int64_t p1) {
  const gemm_job *j = ctx;
  int64_t K = j->W->K, N = j->W->N;
  for (int64_t m0 = 0; m0 < j->M; m0 += GEMM_MC) {
    int64_t m1 = m0 + GEMM_MC < j->M ? m0 + GEMM_MC : j->M;
    for (int64_t p = p0; p < p1; p++) {
      int64_t n0 = p * RT_GEMM_NR;
      int nr = (int)(N - n0 < RT_GEMM_NR ? N - n0 : RT_GEMM_NR);
      const float *wp = j->W->panels + p * K * RT_GEMM_NR;
      for (int64_t m = m0; m < m1; m += j->mr) {
        int mr = (int)(m1 - m < j->mr ? m1 - m : j->mr);
        j->fn(j->x + m * K, K, mr, wp, K, j->y + m * N + n0, N, nr,
              j->bias ? j->bias + n0 : NULL);
      }
    }
  }
}

void rt_gemm_packed(const float *x, int64_t M, const rt_packed *W, const float *bias, float *y) {
  if (M <= 0) return;
  gemm_job j = {x, bias, W, M, y, NULL, 0};
  j.fn = gemm_pick(&j.mr);
  int64_t np = (W->N + RT_GEMM_NR - 1) / RT_GEMM_NR;
  int64_t grain = np / (4 * rt_pool_threads());
  rt_parallel_for(np, grain > 0 ? grain : 1, gemm_range, &j);
}

int rt_linear(const float *x, int64_t M, int64_t K, const float *W, int64_t N,
              const float *bias, float *y, ssd_ctx *c) {
  rt_packed p;
  int rc = rt_pack_weight(W, N, K, &p, c);
  if (rc) return rc;
  rt_gemm_packed(x, M, &p, bias, y);
  rt_packed_free(&p);
  return SSD_OK;
}

/* ---- embedding and norms ----------------------------------------------------- */
int rt_embed(const int64_t *ids, int64_t n, const float *table, int64_t V, int64_t D,
             float *out, ssd_ctx *c) {
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= V)
      return ssd_err(c, SSD_EINVAL, "token id %lld at position %lld is out of range [0, %lld)",
                     (long long)ids[i], (long long)i, (long long)V);
  for (int64_t i = 0; i < n; i++)
    memcpy(out + i * D, table + ids[i] * D, (size_t)D * sizeof(float));
  return SSD_OK;
}

typedef struct {
  const float *x, *z, *w, *b;
  int64_t D, G;
  double eps;
  bool before;
  float *y;
} norm_job;

static float silu1(float v) { return v / (1.0f + exp_fast(-v)); }

/* Scale each group of n values of t (already gated or not) by its rms. */
static void rms_scale(const float *t, int64_t n, const float *w, double eps, float *y) {
  double ss = 0;
  for (int64_t i = 0; i < n; i++) ss += (double)t[i] * t[i];
  float r = (float)(1.0 / sqrt(ss / (double)n + eps));
  for (int64_t i = 0; i < n; i++) y[i] = t[i] * r * w[i];
}

static void rmsnorm_range(void *ctx, int64_t r0, int64_t r1) {
  const norm_job *j = ctx;
  for (int64_t r = r0; r < r1; r++) rms_scale(j->x + r * j->D, j->D, j->w, j->eps, j->y + r * j->D);
}

void rt_rmsnorm(const float *x, int64_t rows, int64_t D, const float *w, double eps, float *y) {
  norm_job j = {.x = x, .w = w, .D = D, .eps = eps, .y = y};
  rt_parallel_for(rows, 0, rmsnorm_range, &j);
}

static void gated_range(void *ctx, int64_t r0, int64_t r1) {
  const norm_job *j = ctx;
  int64_t gs = j->D / j->G;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * j->D, *z = j->z + r * j->D;
    float *y = j->y + r * j->D;
    if (!j->before) { /* normalize x * silu(z); y doubles as scratch */
      for (int64_t i = 0; i < j->D; i++) y[i] = x[i] * silu1(z[i]);
      for (int64_t g = 0; g < j->G; g++) rms_scale(y + g * gs, gs, j->w + g * gs, j->eps, y + g * gs);
    } else {
      for (int64_t g = 0; g < j->G; g++) rms_scale(x + g * gs, gs, j->w + g * gs, j->eps, y + g * gs);
      for (int64_t i = 0; i < j->D; i++) y[i] *= silu1(z[i]);
    }
  }
}

void rt_gated_rmsnorm(const float *x, const float *z, int64_t rows, int64_t D, const float *w,
                      double eps, int64_t ngroups, bool norm_before_gate, float *y) {
  norm_job j = {x, z, w, NULL, D, ngroups > 0 ? ngroups : 1, eps, norm_before_gate, y};
  rt_parallel_for(rows, 0, gated_range, &j);
}

static void layernorm_range(void *ctx, int64_t r0, int64_t r1) {
  const norm_job *j = ctx;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * j->D;
    float *y = j->y + r * j->D;
    double s = 0, ss = 0;
    for (int64_t i = 0; i < j->D; i++) s += x[i];
    double mean = s / (double)j->D;
    for (int64_t i = 0; i < j->D; i++) ss += (x[i] - mean) * (x[i] - mean);
    double r_ = 1.0 / sqrt(ss / (double)j->D + j->eps);
    for (int64_t i = 0; i < j->D; i++)
      y[i] = (float)((x[i] - mean) * r_) * j->w[i] + (j->b ? j->b[i] : 0.0f);
  }
}

void rt_layernorm(const float *x, int64_t rows, int64_t D, const float *w, const float *b,
                  double eps, float *y) {
  norm_job j = {.x = x, .w = w, .b = b, .D = D, .eps = eps, .y = y};
  rt_parallel_for(rows, 0, layernorm_range, &j);
}

/* ---- conv1d ------------------------------------------------------------------ */
typedef struct {
  const float *x, *w, *bias;
  int64_t B, L, C, K;
  float *state, *y;
} conv_job;

#define CONV_CB 64 /* channels per task: contiguous in memory, so the loop vectorizes */

/* Input at position s (s < 0 reads the cached state) of channel ch, batch b. */
static inline float conv_in(const conv_job *j, int64_t b, int64_t s, int64_t ch) {
  if (s >= 0) return j->x[(b * j->L + s) * j->C + ch];
  return j->state ? j->state[(b * j->C + ch) * (j->K - 1) + j->K - 1 + s] : 0.0f;
}

/* Tasks are (batch, block of channels); time outer, channels inner. */
static void conv_range(void *ctx, int64_t i0, int64_t i1) {
  const conv_job *j = ctx;
  int64_t L = j->L, C = j->C, K = j->K, nblk = (C + CONV_CB - 1) / CONV_CB;
  for (int64_t i = i0; i < i1; i++) {
    int64_t b = i / nblk, c0 = i % nblk * CONV_CB, c1 = c0 + CONV_CB < C ? c0 + CONV_CB : C;
    for (int64_t t = 0; t < L; t++) {
      float *y = j->y + (b * L + t) * C;
      for (int64_t ch = c0; ch < c1; ch++) y[ch] = j->bias ? j->bias[ch] : 0.0f;
      for (int64_t k = 0; k < K; k++) {
        int64_t s = t - (K - 1) + k;
        if (s >= 0) {
          const float *x = j->x + (b * L + s) * C;
          for (int64_t ch = c0; ch < c1; ch++) y[ch] += j->w[ch * K + k] * x[ch];
        } else {
          for (int64_t ch = c0; ch < c1; ch++) y[ch] += j->w[ch * K + k] * conv_in(j, b, s, ch);
        }
      }
    }
    if (!j->state) continue;
    /* Keep the last K-1 of state ++ x.  Entry k may come from state entry
     * L+k > k, which this oldest-first loop has not overwritten yet. */
    for (int64_t ch = c0; ch < c1; ch++) {
      float *st = j->state + (b * C + ch) * (K - 1);
      for (int64_t k = 0; k < K - 1; k++) st[k] = conv_in(j, b, L - (K - 1) + k, ch);
    }
  }
}

void rt_conv1d(const float *x, int64_t B, int64_t L, int64_t C, const float *w, int64_t K,
               const float *bias, float *state, float *y) {
  conv_job j = {x, w, bias, B, L, C, K, state, y};
  rt_parallel_for(B * ((C + CONV_CB - 1) / CONV_CB), rt_grain(L * CONV_CB * K), conv_range, &j);
}

int64_t rt_argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (v[i] > v[best] || (isnan(v[best]) && !isnan(v[i]))) best = i;
  return best;
}

/* ---- elementwise --------------------------------------------------------------- */
float rt_unary1(rt_unary_op op, float v, float lo, float hi) {
  switch (op) {
  case RT_U_SILU: return v / (1.0f + exp_fast(-v));
  case RT_U_SOFTPLUS: return v > 20.0f ? v : log1pf(expf(v));
  case RT_U_EXP: return expf(v);
  case RT_U_LOG: return logf(v);
  /* erfc and the sigmoid form avoid 1 + (-1 + tiny) for negative v */
  case RT_U_GELU_ERF: return 0.5f * v * erfcf(-v * 0.70710678118654752f);
  case RT_U_GELU_TANH:
    return v / (1.0f + expf(-1.5957691216057308f * (v + 0.044715f * v * v * v)));
  case RT_U_SIGMOID: return 1.0f / (1.0f + exp_fast(-v));
  case RT_U_NEG: return -v;
  case RT_U_CLAMP: return v < lo ? lo : v > hi ? hi : v;
  case RT_U_COPY: return v;
  }
  return v;
}

typedef struct {
  rt_unary_op op;
  const float *x;
  float lo, hi, *y;
} unary_job;

static void unary_range(void *ctx, int64_t i0, int64_t i1) {
  const unary_job *j = ctx;
  for (int64_t i = i0; i < i1; i++) j->y[i] = rt_unary1(j->op, j->x[i], j->lo, j->hi);
}

void rt_unary(rt_unary_op op, const float *x, int64_t n, double lo, double hi, float *y) {
  unary_job j = {op, x, (float)lo, (float)hi, y};
  rt_parallel_for(n, 4096, unary_range, &j);
}

static inline float binary1(rt_binary_op op, float a, float b) {
  switch (op) {
  case RT_B_ADD: return a + b;
  case RT_B_SUB: return a - b;
  case RT_B_MUL: return a * b;
  case RT_B_DIV: return a / b;
  }
  return a;
}

typedef struct {
  rt_binary_op op;
  const float *a, *b;
  float *out;
  int rank;
  int64_t shape[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK]; /* element strides, 0 = broadcast */
} binary_job;

/* Rows of the output's last dim; each row walks a and b with their strides. */
static void binary_range(void *ctx, int64_t r0, int64_t r1) {
  const binary_job *j = ctx;
  int last = j->rank - 1;
  int64_t n = j->shape[last], la = j->sa[last], lb = j->sb[last];
  for (int64_t r = r0; r < r1; r++) {
    int64_t oa = 0, ob = 0, rem = r;
    for (int d = last - 1; d >= 0; d--) {
      int64_t idx = rem % j->shape[d];
      rem /= j->shape[d];
      oa += idx * j->sa[d];
      ob += idx * j->sb[d];
    }
    const float *a = j->a + oa, *b = j->b + ob;
    float *o = j->out + r * n;
    for (int64_t i = 0; i < n; i++) o[i] = binary1(j->op, a[i * la], b[i * lb]);
  }
}

/* Strides of an input right-aligned against the output shape. */
static int bcast_strides(int r, const int64_t *s, int ro, const int64_t *so, int64_t *st,
                         ssd_ctx *c) {
  int64_t stride = 1;
  for (int d = ro - 1; d >= 0; d--) {
    int di = d - (ro - r);
    int64_t n = di >= 0 ? s[di] : 1;
    if (n != 1 && n != so[d])
      return ssd_err(c, SSD_EINTERNAL, "cannot broadcast dim %lld to %lld", (long long)n,
                     (long long)so[d]);
    st[d] = n == 1 ? 0 : stride;
    stride *= n;
  }
  return SSD_OK;
}

int rt_binary(rt_binary_op op, const float *a, int ra, const int64_t *sa, const float *b,
              int rb, const int64_t *sb, float *out, int ro, const int64_t *so, ssd_ctx *c) {
  if (ra > ro || rb > ro || ro > RT_MAX_RANK)
    return ssd_err(c, SSD_EINTERNAL, "binary op: bad ranks %d, %d -> %d", ra, rb, ro);
  binary_job j = {.op = op, .a = a, .b = b, .out = out, .rank = ro > 0 ? ro : 1};
  if (ro == 0) { /* scalars */
    out[0] = binary1(op, a[0], b[0]);
    return SSD_OK;
  }
  memcpy(j.shape, so, (size_t)ro * sizeof *so);
  int rc = bcast_strides(ra, sa, ro, so, j.sa, c);
  if (!rc) rc = bcast_strides(rb, sb, ro, so, j.sb, c);
  if (rc) return rc;
  int64_t rows = 1;
  for (int d = 0; d < ro - 1; d++) rows *= so[d];
  int64_t n = so[ro - 1];
  rt_parallel_for(rows, n > 0 ? (4096 + n - 1) / n : 1, binary_range, &j);
  return SSD_OK;
}

/* ---- layout ---------------------------------------------------------------------- */
typedef struct {
  const float *x;      /* split: the source; concat: NULL */
  const float *const *ins;
  float *const *outs;  /* split: the parts; concat: NULL */
  float *y;
  int nparts;
  const int64_t *sizes;
  int64_t total, inner;
} layout_job;

/* Rows [o0, o1) of the outer dim: each part's slice moves in one memcpy. */
static void layout_range(void *ctx, int64_t o0, int64_t o1) {
  const layout_job *j = ctx;
  for (int64_t o = o0; o < o1; o++) {
    int64_t off = 0;
    for (int p = 0; p < j->nparts; p++) {
      size_t bytes = (size_t)(j->sizes[p] * j->inner) * sizeof(float);
      float *whole = (float *)(j->x ? j->x : j->y) + (o * j->total + off) * j->inner;
      if (j->x && j->outs[p]) memcpy(j->outs[p] + o * j->sizes[p] * j->inner, whole, bytes);
      if (!j->x) memcpy(whole, j->ins[p] + o * j->sizes[p] * j->inner, bytes);
      off += j->sizes[p];
    }
  }
}

static void layout_run(layout_job *j, int64_t outer) {
  j->total = 0;
  for (int p = 0; p < j->nparts; p++) j->total += j->sizes[p];
  rt_parallel_for(outer, rt_grain(j->total * j->inner), layout_range, j);
}

void rt_split(const float *x, int64_t outer, int64_t inner, int nparts, const int64_t *sizes,
              float *const *outs) {
  layout_job j = {.x = x, .outs = outs, .nparts = nparts, .sizes = sizes, .inner = inner};
  layout_run(&j, outer);
}

void rt_concat(const float *const *ins, int nparts, const int64_t *sizes, int64_t outer,
               int64_t inner, float *y) {
  layout_job j = {.ins = ins, .y = y, .nparts = nparts, .sizes = sizes, .inner = inner};
  layout_run(&j, outer);
}

/* ---- attention ---------------------------------------------------------------------- */
void rt_rope(float *x, int64_t B, int64_t L, int64_t H, int64_t Dh, int64_t rd, double theta,
             int64_t pos0) {
  int64_t half = rd / 2;
  if (half <= 0) return;
  for (int64_t t = 0; t < B * L; t++) {
    double pos = (double)(pos0 + t % L);
    for (int64_t i = 0; i < half; i++) {
      double ang = pos * pow(theta, -2.0 * (double)i / (double)rd);
      float cs = (float)cos(ang), sn = (float)sin(ang);
      for (int64_t h = 0; h < H; h++) {
        float *v = x + (t * H + h) * Dh;
        float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * cs - x2 * sn;
        v[i + half] = x2 * cs + x1 * sn;
      }
    }
  }
}

void rt_kv_free(rt_kv *kv) {
  free(kv->k);
  free(kv->v);
  memset(kv, 0, sizeof *kv);
}

/* Make room for `need` positions, keeping the cached ones. */
static int kv_reserve(rt_kv *kv, int64_t need, ssd_ctx *c) {
  if (need <= kv->cap) return SSD_OK;
  int64_t cap = kv->cap ? kv->cap : 64;
  while (cap < need) cap *= 2;
  size_t n = (size_t)(kv->B * kv->Hkv * cap * kv->Dh);
  float *k = calloc(n, sizeof(float)), *v = calloc(n, sizeof(float));
  if (!k || !v) {
    free(k);
    free(v);
    return ssd_err(c, SSD_ENOMEM, "out of memory growing a KV cache to %lld positions",
                   (long long)cap);
  }
  for (int64_t bh = 0; bh < kv->B * kv->Hkv; bh++) {
    size_t row = (size_t)(kv->len * kv->Dh) * sizeof(float);
    if (!row) continue;
    memcpy(k + bh * cap * kv->Dh, kv->k + bh * kv->cap * kv->Dh, row);
    memcpy(v + bh * cap * kv->Dh, kv->v + bh * kv->cap * kv->Dh, row);
  }
  free(kv->k);
  free(kv->v);
  kv->k = k;
  kv->v = v;
  kv->cap = cap;
  return SSD_OK;
}

typedef struct {
  const rt_attn_desc *d;
  const float *q; /* rotated, [B, L, Hq, Dh] */
  const rt_kv *kv;
  int64_t past;   /* cached positions before these L */
  float scale, *y;
  atomic_int failed;
} attn_job;

/* One (b, t, h) query row: scores over the visible keys, softmax, then v. */
static void attn_range(void *ctx, int64_t i0, int64_t i1) {
  attn_job *j = ctx;
  const rt_attn_desc *d = j->d;
  int64_t T = j->past + d->L, Dh = d->Dh, cap = j->kv->cap;
  float *s = malloc((size_t)T * sizeof(float));
  if (!s) {
    atomic_store(&j->failed, 1);
    return;
  }
  for (int64_t i = i0; i < i1; i++) {
    int64_t h = i % d->Hq, bt = i / d->Hq, b = bt / d->L, t = bt % d->L;
    int64_t kh = h / (d->Hq / d->Hkv);
    int64_t nvis = d->causal ? j->past + t + 1 : T;
    const float *q = j->q + i * Dh;
    const float *K = j->kv->k + (b * d->Hkv + kh) * cap * Dh;
    const float *V = j->kv->v + (b * d->Hkv + kh) * cap * Dh;
    float mx = -INFINITY;
    for (int64_t u = 0; u < nvis; u++) {
      float acc = 0;
      for (int64_t e = 0; e < Dh; e++) acc += q[e] * K[u * Dh + e];
      s[u] = acc * j->scale;
      if (s[u] > mx) mx = s[u];
    }
    double sum = 0;
    for (int64_t u = 0; u < nvis; u++) {
      s[u] = expf(s[u] - mx);
      sum += s[u];
    }
    float inv = (float)(1.0 / sum);
    float *y = j->y + i * Dh;
    for (int64_t e = 0; e < Dh; e++) y[e] = 0;
    for (int64_t u = 0; u < nvis; u++) {
      float p = s[u] * inv;
      for (int64_t e = 0; e < Dh; e++) y[e] += p * V[u * Dh + e];
    }
  }
  free(s);
}

/* Append k (rotated) and v for the L new positions to the cache. */
static void kv_append(rt_kv *kv, const rt_attn_desc *d, const float *k, const float *v) {
  for (int64_t b = 0; b < d->B; b++)
    for (int64_t t = 0; t < d->L; t++)
      for (int64_t h = 0; h < d->Hkv; h++) {
        size_t src = (size_t)(((b * d->L + t) * d->Hkv + h) * d->Dh);
        size_t dst = (size_t)(((b * d->Hkv + h) * kv->cap + kv->len + t) * d->Dh);
        memcpy(kv->k + dst, k + src, (size_t)d->Dh * sizeof(float));
        memcpy(kv->v + dst, v + src, (size_t)d->Dh * sizeof(float));
      }
}

int rt_attention(const rt_attn_desc *d, const float *q, const float *k, const float *v,
                 rt_kv *cache, float *y, ssd_ctx *c) {
  if (d->Hkv <= 0 || d->Hq % d->Hkv || d->Dh <= 0 || d->rotary_dim > d->Dh ||
      d->rotary_dim % 2)
    return ssd_err(c, SSD_EINVAL, "attention: bad heads %lld/%lld, head dim %lld, rotary %lld",
                   (long long)d->Hq, (long long)d->Hkv, (long long)d->Dh,
                   (long long)d->rotary_dim);
  rt_kv tmp = {.B = d->B, .Hkv = d->Hkv, .Dh = d->Dh};
  rt_kv *kv = cache ? cache : &tmp;
  if (kv->B != d->B || kv->Hkv != d->Hkv || kv->Dh != d->Dh)
    return ssd_err(c, SSD_EINVAL, "attention: KV cache shape does not match the layer");
  size_t nq = (size_t)(d->B * d->L * d->Hq * d->Dh), nk = (size_t)(d->B * d->L * d->Hkv * d->Dh);
  float *qr = malloc(nq * sizeof(float) + 1), *kr = malloc(nk * sizeof(float) + 1);
  int rc = kv_reserve(kv, kv->len + d->L, c);
  if (!rc && (!qr || !kr)) rc = ssd_err(c, SSD_ENOMEM, "out of memory in attention");
  if (rc) goto done;
  memcpy(qr, q, nq * sizeof(float));
  memcpy(kr, k, nk * sizeof(float));
  rt_rope(qr, d->B, d->L, d->Hq, d->Dh, d->rotary_dim, d->rope_theta, kv->len);
  rt_rope(kr, d->B, d->L, d->Hkv, d->Dh, d->rotary_dim, d->rope_theta, kv->len);
  kv_append(kv, d, kr, v);
  attn_job j = {d, qr, kv, kv->len, (float)(d->scale > 0 ? d->scale : 1.0 / sqrt((double)d->Dh)),
                y, 0};
  rt_parallel_for(d->B * d->L * d->Hq, 0, attn_range, &j);
  if (atomic_load(&j.failed)) rc = ssd_err(c, SSD_ENOMEM, "out of memory in attention");
  kv->len += d->L;
done:
  free(qr);
  free(kr);
  if (!cache) rt_kv_free(&tmp);
  return rc;
}
