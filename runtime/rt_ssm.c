/* rt_ssm.c: the pieces the f32 mixer forms share, and the recurrent form.
 *
 * A "view" fixes one (batch, head) pair and resolves the operand-head
 * broadcasts once, so the loops below only see base pointers and strides.
 * The segment functions are the SSD block decomposition's two halves: the
 * outputs of a run of tokens given the state entering it (rt_ssm_seg_rows)
 * and the state leaving it (rt_ssm_seg_state).  The quadratic form
 * (rt_ssm_quad.c) and the chunked form (rt_ssm_chunk.c) are schedules of
 * these; the recurrent form below is the plain scan, one token at a time,
 * and is also what decoding (L = 1) runs.  The loops where the time goes
 * live in rt_ssm_kern.h, compiled here once per ISA; the public helpers
 * below dispatch to the copy this CPU can run.
 */
#include <stdlib.h>

#include "rt_pool.h"
#include "rt_ssm_impl.h"

void rt_ssm_view_of(const rt_ssm_desc *d, const rt_ssm_args *a, int64_t b, int64_t h,
                    rt_ssm_view *v) {
  const int64_t H = d->H, L = d->L, P = d->P, N = d->N;
  const int64_t ix = h / (H / d->hx), ib = h / (H / d->hb), ic = h / (H / d->hc);
  const int64_t hd = d->has_dt || d->has_A ? h / (H / d->hdt) : 0;
  v->b = b;
  v->h = h;
  v->x = a->x + (b * L * d->hx + ix) * P;
  v->sx = d->hx * P;
  v->B = a->B + (b * L * d->hb + ib) * N;
  v->sb = d->hb * N;
  v->C = a->C + (b * L * d->hc + ic) * N;
  v->sc = d->hc * N;
  v->y = a->y + (b * L * H + h) * P;
  v->sy = H * P;
  v->z = d->has_z ? a->z + (b * L * H + h) * P : NULL;
  v->dt = d->has_dt ? a->dt + b * L * d->hdt + hd : NULL;
  v->sdt = d->hdt;
  v->D = d->has_D ? a->D + (d->D_per_channel ? h * P : h) : NULL;
  v->bias = d->has_dt_bias ? a->dt_bias[hd] : 0.0f;
  v->state = a->state ? a->state + (b * H + h) * P * N : NULL;
}

int64_t rt_ssm_cell_heads(const rt_ssm_desc *d) {
  int64_t a = d->H / d->hb, b = d->H / d->hc; /* gcd of the two broadcast widths */
  while (b) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

void rt_ssm_A_of(const rt_ssm_desc *d, const rt_ssm_args *a, int64_t h, float *An) {
  rt_ssm_A_row(d, a, h, An);
}

void rt_ssm_dt_of(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t0, int64_t n, float *dt) {
  const bool clamp = rt_ssm_dt_clamped(d);
  const float lo = (float)d->dt_min, hi = (float)d->dt_max;
  for (int64_t i = 0; i < n; i++) {
    if (!v->dt) {
      dt[i] = 1.0f;
      continue;
    }
    float x = v->dt[(t0 + i) * v->sdt] + v->bias;
    /* softplus(x) = x above 20, as mamba_ssm: log1p(exp(x)) == x there in f32 */
    if (d->dt_softplus && x <= 20.0f) x = log1pf(expf(x));
    if (clamp) x = fminf(fmaxf(x, lo), hi);
    dt[i] = x;
  }
}

void rt_ssm_cumsum(const rt_ssm_desc *d, const float *An, const float *dt, int64_t n, double *cs) {
  const int64_t nk = d->s6 ? d->N : 1;
  for (int64_t k = 0; k < nk; k++) {
    double acc = 0.0;
    for (int64_t t = 0; t < n; t++) {
      acc += (double)dt[t] * (double)An[k];
      cs[k * n + t] = acc;
    }
  }
}

void rt_ssm_transpose_B(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t0, int64_t len,
                        float *Bt, int64_t ld) {
  for (int64_t j = 0; j < len; j++) {
    const float *Bj = v->B + (t0 + j) * v->sb;
    for (int64_t n = 0; n < d->N; n++) Bt[n * ld + j] = Bj[n];
  }
}

/* The register blocks of rt_ssm_gemm, in GNU vector extensions (gcc and
 * clang): named accumulators stay in vector registers while k runs, so each
 * float of B loaded feeds six multiply-adds.  (Plain C with an accumulator
 * array is left in memory by gcc -O2.)  6 x 16 fills 12 of the 16 AVX2
 * registers; the baseline (SSE2) copy spills a little. */
#define V8_ADD_STORE(p, v)  \
  do {                      \
    rt_v8 old_;             \
    RT_V8_LOAD(old_, p);    \
    old_ += (v);            \
    RT_V8_STORE((p), old_); \
  } while (0)

#define GEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
static inline __attribute__((always_inline)) void gemm_6x16(int64_t k, const float *restrict A,
                                                            int64_t ar, int64_t ac,
                                                            const float *restrict B, int64_t ldb,
                                                            float *restrict C, int64_t ldc) {
#define DECL(r) rt_v8 c##r##a = {0}, c##r##b = {0};
  GEMM_ROWS(DECL)
#undef DECL
  for (int64_t kk = 0; kk < k; kk++) {
    rt_v8 ba, bb;
    RT_V8_LOAD(ba, B + kk * ldb);
    RT_V8_LOAD(bb, B + kk * ldb + 8);
    const float *a = A + kk * ac;
#define FMA(r)                   \
  {                              \
    const float ar_ = a[r * ar]; \
    c##r##a += ar_ * ba;         \
    c##r##b += ar_ * bb;         \
  }
    GEMM_ROWS(FMA)
#undef FMA
  }
#define STORE(r)                      \
  V8_ADD_STORE(C + r * ldc, c##r##a); \
  V8_ADD_STORE(C + r * ldc + 8, c##r##b);
  GEMM_ROWS(STORE)
#undef STORE
}

static inline __attribute__((always_inline)) void gemm_1x16(int64_t k, const float *restrict A,
                                                            int64_t ac, const float *restrict B,
                                                            int64_t ldb, float *restrict C) {
  rt_v8 ca = {0}, cb = {0};
  for (int64_t kk = 0; kk < k; kk++) {
    const float a = A[kk * ac];
    rt_v8 ba, bb;
    RT_V8_LOAD(ba, B + kk * ldb);
    RT_V8_LOAD(bb, B + kk * ldb + 8);
    ca += a * ba;
    cb += a * bb;
  }
  V8_ADD_STORE(C, ca);
  V8_ADD_STORE(C + 8, cb);
}

void rt_ssm_gram(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t0, int64_t r0, int64_t nr,
                 const float *Bt, int64_t ldbt, float *G, int64_t ldg) {
  /* The whole rectangle up to the block's last row: the few entries above
   * the diagonal cost less than a ragged product, and are never read. */
  const int64_t kmax = r0 + nr;
  for (int64_t i = 0; i < nr; i++) memset(G + i * ldg, 0, (size_t)kmax * sizeof *G);
  rt_ssm_gemm(nr, kmax, d->N, v->C + (t0 + r0) * v->sc, v->sc, 1, Bt, ldbt, G, ldg);
}

void *rt_ssm_alloc(size_t elsize, double nelem) {
  if (!(nelem >= 0) || nelem * (double)elsize > 0x1p60) return NULL;
  return malloc((size_t)nelem * elsize + 1); /* +1: never malloc(0) */
}

int rt_ssm_scratch_new(const rt_ssm_desc *d, int64_t nr, int64_t len, rt_ssm_scratch *s) {
  const double fP = (double)d->P, fN = (double)d->N, fl = (double)len, fr = (double)nr;
  float *m = rt_ssm_alloc(
      sizeof *m, fr * fl + fr * fP + fN * fP + (d->s6 ? fN * fl : 0) + fl * fN + fN + fr * fN);
  if (!m) return SSD_ENOMEM;
  const int64_t P = d->P, N = d->N, nbt = d->s6 ? N * len : 0;
  s->M = m;
  s->Y = s->M + nr * len;
  s->ST = s->Y + nr * P;
  s->Bt = s->ST + N * P;
  s->WB = s->Bt + nbt;
  s->dec = s->WB + len * N;
  s->CE = s->dec + N;
  return SSD_OK;
}

/* Kernel row r of a segment: M[j] for j <= r. */
static inline __attribute__((always_inline)) void seg_kernel_row(const rt_ssm_seg *g, int64_t r,
                                                                 const float *Gr, float *restrict M,
                                                                 const rt_ssm_scratch *s) {
  const int64_t kend = r + 1;
  const float *restrict dt = g->dt;
  if (Gr) { /* SSD: the Gram row times one decay per pair of tokens */
    const double *restrict cs = g->cs;
    const double cr = cs[r];
    int64_t j = 0;
    for (; j + 8 <= kend; j += 8) {
      rt_v8 e, gv, dv;
      RT_V8_CSDIFF(e, cr, cs + j);
      rt_exp8(&e);
      RT_V8_LOAD(gv, Gr + j);
      RT_V8_LOAD(dv, dt + j);
      e *= gv * dv;
      RT_V8_STORE(M + j, e);
    }
    for (; j < kend; j++) M[j] = Gr[j] * rt_expf((float)(cr - cs[j])) * dt[j];
    return;
  }
  /* S6: every state element decays at its own rate, so the decay sits inside
   * the sum over n and the Gram matrix cannot be shared. */
  const float *C = g->v->C + (g->t0 + r) * g->v->sc;
  memset(M, 0, (size_t)kend * sizeof *M);
  for (int64_t n = 0; n < g->d->N; n++) {
    const double *restrict csn = g->cs + n * g->ldk;
    const float *restrict Btn = s->Bt + n * g->len;
    const double cr = csn[r];
    const float c = C[n];
    int64_t j = 0;
    for (; j + 8 <= kend; j += 8) {
      rt_v8 e, bv, mv;
      RT_V8_CSDIFF(e, cr, csn + j);
      rt_exp8(&e);
      RT_V8_LOAD(bv, Btn + j);
      RT_V8_LOAD(mv, M + j);
      mv += c * bv * e;
      RT_V8_STORE(M + j, mv);
    }
    for (; j < kend; j++) M[j] += c * Btn[j] * rt_expf((float)(cr - csn[j]));
  }
  rt_mul(kend, dt, M);
}

/* ---- the hot loops, compiled per ISA (rt_ssm_kern.h) -------------------- */
#define K(name) name##_base
#define KATTR
#include "rt_ssm_kern.h"
#undef K
#undef KATTR

#if defined(__x86_64__) && !defined(SSDC_SSM_BASELINE_ONLY)
#define K(name) name##_avx2
#define KATTR __attribute__((target("avx2")))
#include "rt_ssm_kern.h"
#undef K
#undef KATTR
static bool have_avx2(void) {
  static atomic_int known = -1; /* -1: not asked yet */
  int v = atomic_load_explicit(&known, memory_order_relaxed);
  if (v < 0) {
    __builtin_cpu_init();
    v = __builtin_cpu_supports("avx2") != 0;
    atomic_store_explicit(&known, v, memory_order_relaxed);
  }
  return v;
}
#define DISPATCH(name, ...) (have_avx2() ? name##_avx2(__VA_ARGS__) : name##_base(__VA_ARGS__))
#else
#define DISPATCH(name, ...) name##_base(__VA_ARGS__)
#endif

void rt_ssm_gemm(int64_t m, int64_t n, int64_t k, const float *A, int64_t ar, int64_t ac,
                 const float *B, int64_t ldb, float *C, int64_t ldc) {
  DISPATCH(gemm, m, n, k, A, ar, ac, B, ldb, C, ldc);
}
void rt_ssm_finish_row(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t, const float *ys) {
  DISPATCH(finish_row, d, v, t, ys);
}
void rt_ssm_seg_rows(const rt_ssm_seg *g, int64_t r0, int64_t nr, const float *G, int64_t ldg,
                     const float *S, rt_ssm_scratch *s) {
  DISPATCH(seg_rows, g, r0, nr, G, ldg, S, s);
}
void rt_ssm_seg_state(const rt_ssm_seg *g, float *S, rt_ssm_scratch *s) {
  DISPATCH(seg_state, g, S, s);
}

int rt_ssm_begin(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c) {
  int rc = rt_ssm_check(d, c);
  if (rc) return rc;
  if (!a) return ssd_err(c, SSD_EINVAL, "ssm: no operands");
  const void *ptrs[RT_SSM_NPTR] = {a->x, a->dt, a->A, a->B, a->C, a->D, a->z, a->dt_bias, a->y};
  return rt_ssm_check_ptrs(d, ptrs, c);
}

/* ---- the recurrent form --------------------------------------------------- */

typedef struct rec_job {
  const rt_ssm_desc *d;
  const rt_ssm_args *a;
  rt_ssm_fail fail;
} rec_job;

static void rec_range(void *ctx, int64_t begin, int64_t end) {
  rec_job *j = ctx;
  const rt_ssm_desc *d = j->d;
  float *buf = rt_ssm_alloc(sizeof *buf, 3.0 * (double)d->N + (double)d->P +
                                             (j->a->state ? 0 : (double)d->P * (double)d->N));
  if (!buf) {
    atomic_store(&j->fail.rc, SSD_ENOMEM);
    return;
  }
  for (int64_t i = begin; i < end; i++) DISPATCH(rec_head, d, j->a, i / d->H, i % d->H, buf);
  free(buf);
}

int rt_ssm_recurrent(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c) {
  int rc = rt_ssm_begin(d, a, c);
  if (rc) return rc;
  rec_job j = {d, a, {0}};
  rt_parallel_for(d->batch * d->H, 0, rec_range, &j);
  if (atomic_load(&j.fail.rc))
    return ssd_err(c, SSD_ENOMEM, "ssm recurrent: out of memory for per-thread buffers");
  return SSD_OK;
}
