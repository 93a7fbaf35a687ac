/* rt_ssm_impl.h: internals shared by the reference and the three f32 forms.
 *
 * Not a public header: rt_ssm.h is the contract.  The f32 forms all work on
 * one (batch, head) "view" at a time and share the pieces of the SSD block
 * decomposition: the kernel M = (C B^T) o decay o dt over a segment of
 * tokens, Y = M X plus the contribution of the state entering the segment,
 * and the state leaving it.  The quadratic form is one segment of the whole
 * sequence (cut into row blocks); the chunked form is a chain of segments of
 * Q tokens.  Cumulative log-decays are kept in double so that differences
 * of long cumsums stay exact to float rounding.
 *
 * The inner loops are written in blocks of 8 independent lanes, which gcc
 * and clang vectorize at -O2 without -ffast-math (a plain float reduction
 * would not be, because reassociation changes rounding).
 */
#ifndef SSD_RT_SSM_IMPL_H
#define SSD_RT_SSM_IMPL_H

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "rt_ssm.h"

/* Operand pointers in the order rt_ssm_check_ptrs names them. */
enum { RT_SSM_NPTR = 9 };
/* x, dt, A, B, C, D, z, dt_bias, y: required ones present, unused ones NULL. */
int rt_ssm_check_ptrs(const rt_ssm_desc *d, const void *const p[RT_SSM_NPTR], ssd_ctx *c);

/* dt limits other than (0, inf) clamp; the default leaves dt alone. */
static inline bool rt_ssm_dt_clamped(const rt_ssm_desc *d) {
  return !(d->dt_min == 0.0 && isinf(d->dt_max) && d->dt_max > 0);
}

/* exp(v) in float: Cody-Waite reduction v = n ln2 + r, |r| <= ln2/2, and a
 * degree-6 polynomial for e^r (the classic Cephes expf coefficients), about
 * 1 ulp.  v is clamped to [-87, 88] so 2^n stays a normal float, and below
 * -60 the result is flushed to 0: exp(-60) = 8.8e-27 is far below float
 * rounding of any sum it joins, while keeping it lets products with dt and
 * B sink into subnormals, which cost ~100 cycles each on x86 (seen: 10x
 * slowdowns of whole forms).  NaN stays NaN.  The scalar and 8-lane
 * versions do the same operations in the same order. */
#define RT_EXP_BODY(out, v, lt, gt, sel, K)                                  \
  do {                                                                       \
    v = sel(lt(v, -87.0f), K(-87.0f), v);                                    \
    v = sel(gt(v, 88.0f), K(88.0f), v);                                      \
    k.f = v * 1.44269504088896341f + 12582912.0f; /* + 1.5 * 2^23: rounds */ \
    const __typeof__(v) n_ = k.f - 12582912.0f;                              \
    const __typeof__(v) r_ = (v - n_ * 0.693359375f) + n_ * 2.12194440e-4f;  \
    __typeof__(v) p_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;             \
    p_ = p_ * r_ + 8.3334519073e-3f;                                         \
    p_ = p_ * r_ + 4.1665795894e-2f;                                         \
    p_ = p_ * r_ + 1.6666665459e-1f;                                         \
    p_ = p_ * r_ + 5.0000001201e-1f;                                         \
    p_ = p_ * r_ * r_ + r_ + 1.0f;                                           \
    sc.u = (k.u - 0x4B400000u + 127u) << 23;                                 \
    out = sel(lt(v, -60.0f), K(0.0f), p_ * sc.f);                            \
  } while (0)

#define RT_LT(a, b) ((a) < (b))
#define RT_GT(a, b) ((a) > (b))
#define RT_SEL(m, a, b) ((m) ? (a) : (b))
#define RT_ID(a) (a)
static inline float rt_expf(float v) {
  union {
    float f;
    uint32_t u;
  } k, sc;
  float out;
  RT_EXP_BODY(out, v, RT_LT, RT_GT, RT_SEL, RT_ID);
  return out;
}

/* 8 floats in GNU vector extensions (gcc, clang): one AVX register in the
 * AVX2 copy of the hot loops (rt_ssm_kern.h), two SSE registers otherwise.  gcc -O2 leaves loops holding
 * exp's clamps scalar (-ftrapping-math forbids if-converting the compares),
 * so the exp-heavy loops are written with these explicitly.  Vectors never
 * pass through a function's parameters or result (only macros and pointers):
 * their calling convention differs between the two copies (gcc/clang -Wpsabi). */
typedef float rt_v8 __attribute__((vector_size(32)));
typedef uint32_t rt_u8 __attribute__((vector_size(32)));
typedef int32_t rt_m8 __attribute__((vector_size(32))); /* compare results */
typedef double rt_d8 __attribute__((vector_size(64)));
#define RT_V8_LOAD(v, p) memcpy(&(v), (p), sizeof(rt_v8))
#define RT_V8_STORE(p, v) memcpy((p), &(v), sizeof(rt_v8))
#define RT_SPLAT8(a) ((rt_v8){0} + (a))
#define RT_LT8(a, b) ((a) < RT_SPLAT8(b))
#define RT_GT8(a, b) ((a) > RT_SPLAT8(b))
#define RT_SEL8(m, a, b) ((rt_v8)(((rt_m8)(a) & (m)) | ((rt_m8)(b) & ~(m))))
#define RT_V8_HSUM(a) \
  ((((a)[0] + (a)[4]) + ((a)[1] + (a)[5])) + (((a)[2] + (a)[6]) + ((a)[3] + (a)[7])))
/* *pv = exp(*pv), lane by lane, bit-identical to rt_expf */
static inline void rt_exp8(rt_v8 *pv) {
  union {
    rt_v8 f;
    rt_u8 u;
  } k, sc;
  rt_v8 v = *pv;
  RT_EXP_BODY(*pv, v, RT_LT8, RT_GT8, RT_SEL8, RT_SPLAT8);
}
/* v = (float)(c - cs[0:8]): differences of cumsums kept in double */
#define RT_V8_CSDIFF(v, c, cs)                    \
  do {                                            \
    rt_d8 d_;                                     \
    memcpy(&d_, (cs), sizeof d_);                 \
    (v) = __builtin_convertvector((c)-d_, rt_v8); \
  } while (0)

/* Elementwise helpers in 8-lane vectors plus a scalar tail.  Always
 * inlined, so each copy of the hot loops gets them in its own ISA.  (gcc -O2
 * does not vectorize such loops itself: its cost model "very cheap" skips
 * runtime trip counts, and even unrolled by hand its SLP pass does not fuse
 * them here.) */
#define RT_ELEMWISE(name, params, vec_body, scalar_body)                         \
  static inline __attribute__((always_inline)) void name params {                \
    int64_t i = 0;                                                               \
    for (; i + 8 <= n; i += 8) {                                                 \
      rt_v8 xv, yv;                                                              \
      vec_body;                                                                  \
    }                                                                            \
    for (; i < n; i++) scalar_body;                                              \
  }
/* y += a x */
RT_ELEMWISE(rt_axpy, (int64_t n, float a, const float *restrict x, float *restrict y),
            (RT_V8_LOAD(xv, x + i), RT_V8_LOAD(yv, y + i), yv += a * xv, RT_V8_STORE(y + i, yv)),
            y[i] += a * x[i])
/* y = a x */
RT_ELEMWISE(rt_scale, (int64_t n, float a, const float *restrict x, float *restrict y),
            (RT_V8_LOAD(xv, x + i), yv = a * xv, RT_V8_STORE(y + i, yv)), y[i] = a * x[i])
/* y *= x */
RT_ELEMWISE(rt_mul, (int64_t n, const float *restrict x, float *restrict y),
            (RT_V8_LOAD(xv, x + i), RT_V8_LOAD(yv, y + i), yv *= xv, RT_V8_STORE(y + i, yv)),
            y[i] *= x[i])
/* y += w x */
RT_ELEMWISE(rt_muladd,
            (int64_t n, const float *restrict w, const float *restrict x, float *restrict y),
            (RT_V8_LOAD(xv, x + i), RT_V8_LOAD(yv, w + i), xv *= yv, RT_V8_LOAD(yv, y + i),
             yv += xv, RT_V8_STORE(y + i, yv)),
            y[i] += w[i] * x[i])
#undef RT_ELEMWISE

/* C[m x n] += A[m x k] B[k x n]; A[i][kk] at A[i * ar + kk * ac], B and C
 * row-major with row strides ldb, ldc. */
void rt_ssm_gemm(int64_t m, int64_t n, int64_t k, const float *A, int64_t ar, int64_t ac,
                 const float *B, int64_t ldb, float *C, int64_t ldc);

/* A of head h after A_is_log, per state element (SSD: N equal values).
 * Inline so that the scan's AVX2 copy gets an AVX2 exp: S6 decodes call it
 * per channel and token, where libm's expf would cost more than the step. */
static inline __attribute__((always_inline)) void rt_ssm_A_row(const rt_ssm_desc *d,
                                                               const rt_ssm_args *a, int64_t h,
                                                               float *An) {
  const int64_t hd = d->has_dt || d->has_A ? h / (d->H / d->hdt) : 0, N = d->N;
  if (!d->has_A) {
    memset(An, 0, (size_t)N * sizeof *An);
    return;
  }
  if (!d->s6) {
    const float v = d->A_is_log ? -expf(a->A[hd]) : a->A[hd];
    for (int64_t n = 0; n < N; n++) An[n] = v;
    return;
  }
  const float *row = a->A + hd * N;
  if (!d->A_is_log) {
    memcpy(An, row, (size_t)N * sizeof *An);
    return;
  }
  int64_t n = 0;
  for (; n + 8 <= N; n += 8) {
    rt_v8 v;
    RT_V8_LOAD(v, row + n);
    rt_exp8(&v);
    v = -v;
    RT_V8_STORE(An + n, v);
  }
  for (; n < N; n++) An[n] = -rt_expf(row[n]);
}

/* One (batch, head) pair: where its operands live and its constants. */
typedef struct rt_ssm_view {
  const float *x, *B, *C, *z, *dt; /* at token 0 of this batch row (dt: NULL if absent) */
  float *y;
  int64_t sx, sb, sc, sy, sdt; /* floats between consecutive tokens */
  const float *D;              /* NULL, or D for this head ([1] or [P]) */
  float bias;                  /* dt_bias of this head, 0 if absent */
  float *state;                /* [P, N] in the caller's buffer, or NULL */
  int64_t b, h;
} rt_ssm_view;

void rt_ssm_view_of(const rt_ssm_desc *d, const rt_ssm_args *a, int64_t b, int64_t h,
                    rt_ssm_view *v);
/* Heads per cell: consecutive heads that read the same B head and the same
 * C head, and so can share one Gram matrix C B^T (gcd(H/hb, H/hc)). */
int64_t rt_ssm_cell_heads(const rt_ssm_desc *d);
/* Per-state-element A of head h, after A_is_log: An[N] (SSD: all equal). */
void rt_ssm_A_of(const rt_ssm_desc *d, const rt_ssm_args *a, int64_t h, float *An);
/* Effective dt of tokens [t0, t0 + n) of the view. */
void rt_ssm_dt_of(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t0, int64_t n, float *dt);
/* Inclusive cumsums of dt*A over n tokens: cs[k * n + t] for k < nk, where
 * nk = N for S6 and 1 for SSD (pass ldk = 0 to readers in that case). */
void rt_ssm_cumsum(const rt_ssm_desc *d, const float *An, const float *dt, int64_t n, double *cs);
/* Write y row t of the view from the SSM part ys[P]: + D x, then * silu(z). */
void rt_ssm_finish_row(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t, const float *ys);

/* Bt[n * ld + j] = B of token t0 + j, state element n, for j < len. */
void rt_ssm_transpose_B(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t0, int64_t len,
                        float *Bt, int64_t ld);
/* G[i * ldg + j] = C_{t0+r0+i} . B_{t0+j} for j <= r0 + i, rows i < nr. */
void rt_ssm_gram(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t0, int64_t r0, int64_t nr,
                 const float *Bt, int64_t ldbt, float *G, int64_t ldg);

/* One segment of tokens [t0, t0 + len) of a view, with its dt and cumsums
 * (cs relative to the segment start, row stride ldk: 0 for SSD). */
typedef struct rt_ssm_seg {
  const rt_ssm_desc *d;
  const rt_ssm_view *v;
  int64_t t0, len;
  const float *dt;
  const double *cs;
  int64_t ldk;
} rt_ssm_seg;

/* Scratch for rt_ssm_seg_rows, sized for nr rows of a segment of len. */
typedef struct rt_ssm_scratch {
  float *M;   /* [nr, len] */
  float *Y;   /* [nr, P] */
  float *ST;  /* [N, P] */
  float *Bt;  /* [N, len] (S6 only) */
  float *WB;  /* [len, N] */
  float *dec; /* [N] */
  float *CE;  /* [nr, N] */
} rt_ssm_scratch;
/* Allocate scratch for rows nr of segments up to len (one malloc; free M). */
int rt_ssm_scratch_new(const rt_ssm_desc *d, int64_t nr, int64_t len, rt_ssm_scratch *s);

/* Outputs of segment rows [r0, r0 + nr): y = M X + (state entering the
 * segment, if any) + D x, gated.  SSD passes G = rt_ssm_gram rows; S6 passes
 * G = NULL and builds the kernel from C and Bt (already in s->Bt). */
void rt_ssm_seg_rows(const rt_ssm_seg *g, int64_t r0, int64_t nr, const float *G, int64_t ldg,
                     const float *S, rt_ssm_scratch *s);
/* S <- decay(whole segment) S + sum_j x_j (dt_j decay(j..end) B_j)^T. */
void rt_ssm_seg_state(const rt_ssm_seg *g, float *S, rt_ssm_scratch *s);

/* malloc(elsize * nelem), with nelem computed by the caller in double: the
 * sums of products of (checked) dimensions that buffers need can still pass
 * what int64 or malloc can take for absurd descriptors; NULL then. */
void *rt_ssm_alloc(size_t elsize, double nelem);

/* Check descriptor, chunk-free sizes and pointers: the common prologue. */
int rt_ssm_begin(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c);

/* A failure inside a parallel-for: the first one wins. */
typedef struct rt_ssm_fail {
  atomic_int rc;
} rt_ssm_fail;

#endif
