/* test_dec_gpu.c: the decode-step kernels (cg_cuda_dec.h, rt_cuda_dec.h) on
 * the GPU against the CPU path:
 *   GEMV:  a float64 dot product over the same bf16-rounded x and W, at the
 *          model's projection and lm_head shapes, M = 1..16, padded row
 *          strides, bias, accumulate, bf16 and fp32 y, fp32 x; the prescaled
 *          norm (x = bf16(x0 wn) and partial sums of x0^2, NaN in the
 *          partials' padding) and the emitted next-norm input (bf16(y w_out)
 *          and per-block sums of y^2, which must add up to the row's); the
 *          argmax epilogue (the greedy LM head) against rt_argmax of the
 *          logits it stored, with ties across blocks, NaN logits and a row
 *          of NaN, twice on one scratch (ring slots, position advanced);
 *   mixer: rt_conv1d (rt_ops.h) + SiLU, split, then rt_ssm_ref_f64 (rt_ssm.h)
 *          with L = 1, over several consecutive steps with both states
 *          carried, at mamba2-130m and -2.7b shapes, G = 1 and 2, batch 1
 *          and 16, and a small head pattern (shared x, per-pair B, one C, dt
 *          per pair, N = 64, clamp, D per channel, z gate, fp32 row), and
 *          the gated norm's prescaled input (bf16(y silu(z) wg), sums).
 * Inputs are random normals at realistic scales; outputs are NaN-poisoned
 * before every launch, including the row padding, which must stay NaN.
 * Metric: max|gpu - ref| / max|ref|.  Needs a GPU (label gpu).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cuda/ssd_gpu_util.h"
#include "dec_specs.h"
#include "rt_cuda_dec.h"
#include "rt_ops.h"
#include "rt_ssm.h"

static int fails;
static rt_cuda *G;
static cg_cache CC;
static ssd_ctx C;
static uint64_t seed = 0xdec0de5eedull;

#define OK(call) GU_OK(call)

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of host memory\n");
    exit(1);
  }
  return p;
}
/* n floats ~ scale N(0,1) + shift, rounded to bf16 when bf. */
static float *rnd(size_t n, double scale, double shift, int bf) {
  float *v = xmalloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    float x = (float)(scale * gu_normal(&seed) + shift);
    v[i] = bf ? gu_bf2f(gu_f2bf(x)) : x;
  }
  return v;
}
static rt_dptr dalloc(size_t bytes) {
  rt_dptr d;
  OK(rt_cuda_alloc(G, bytes, &d, &C));
  return d;
}
static void up(rt_dptr d, const float *v, size_t n, int bf) {
  size_t es = bf ? 2 : 4;
  void *h = xmalloc(n * es);
  for (size_t i = 0; i < n; i++) {
    if (bf)
      ((uint16_t *)h)[i] = gu_f2bf(v[i]);
    else
      ((float *)h)[i] = v[i];
  }
  OK(rt_cuda_h2d(G, d, h, n * es, &C));
  free(h);
}
static rt_dptr upn(const float *v, size_t n, int bf) {
  rt_dptr d = dalloc(n * (bf ? 2 : 4));
  up(d, v, n, bf);
  return d;
}
static float *down(rt_dptr d, size_t n, int bf) {
  OK(rt_cuda_sync(G, &C));
  float *v = xmalloc(n * sizeof *v);
  void *h = xmalloc(n * (bf ? 2 : 4));
  OK(rt_cuda_d2h(G, h, d, n * (bf ? 2 : 4), &C));
  for (size_t i = 0; i < n; i++)
    v[i] = bf ? gu_bf2f(((uint16_t *)h)[i]) : ((float *)h)[i];
  free(h);
  return v;
}
/* max|a - ref| / max|ref| over rows x cols of a (stride lda) against ref
 * (stride ldr); NaN gives inf.  Padding columns of a must be NaN when
 * pad_nan (nothing wrote there). */
static double rel2d(const float *a, int64_t lda, const double *ref, int64_t ldr, int64_t rows,
                    int64_t cols, int pad_nan) {
  double md = 0, mr = 0;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t j = 0; j < cols; j++) {
      double d = fabs((double)a[r * lda + j] - ref[r * ldr + j]);
      if (d != d) return INFINITY;
      md = d > md ? d : md;
      mr = fabs(ref[r * ldr + j]) > mr ? fabs(ref[r * ldr + j]) : mr;
    }
    for (int64_t j = cols; pad_nan && j < lda; j++)
      if (a[r * lda + j] == a[r * lda + j]) return INFINITY;
  }
  return mr > 0 ? md / mr : md;
}
static void verdict(const char *what, double err, double tol) {
  const int ok = err <= tol;
  printf("%s %-64s rel err %.2e (tol %.0e)\n", ok ? "ok  " : "FAIL", what, err, tol);
  if (!ok) fails++;
}

/* ---- GEMV ------------------------------------------------------------------------- */
static float host_silu(float v) { return v / (1.0f + expf(-v)); }

/* x'[m, k] as the kernel forms it (fp32 products rounded to bf16) and the
 * row's rms scale in double (1 without a norm). */
static double gemv_xrow(const cg_dec_spec *s, const float *x, const float *z, const float *wn,
                        float *out) {
  double ss = 0;
  for (int64_t k = 0; k < s->K; k++) {
    float f = x[k];
    if (s->norm == CG_DEC_NORM_GATED) f *= host_silu(z[k]);
    ss += (double)f * f;
    out[k] = gu_bf2f(gu_f2bf(s->norm ? f * wn[k] : f));
  }
  return s->norm ? 1.0 / sqrt(ss / (double)s->K + s->eps) : 1.0;
}

static void test_gemv(cg_dec_spec s) {
  const int64_t M = s.M, N = s.N, K = s.K, ldx = K + 64, ldz = K + 128, ldy = N + 8;
  const int xbf = !s.x_f32;
  rt_cuda_dec k;
  OK(rt_cuda_dec_prepare(G, &CC, &s, 0, &k, &C));
  /* Without a norm x is pre-rounded to bf16 (the kernel rounds fp32 x). */
  float *x = rnd((size_t)(M * ldx), 1.0, 0.0, xbf || !s.norm);
  float *W = rnd((size_t)(N * K), 0.03, 0.0, 1);
  float *z = s.norm == CG_DEC_NORM_GATED ? rnd((size_t)(M * ldz), 1.5, 0.0, xbf) : NULL;
  float *wn = s.norm ? rnd((size_t)K, 0.3, 1.0, 0) : NULL;
  float *bias = s.has_bias ? rnd((size_t)N, 0.5, 0.0, 0) : NULL;
  float *y0 = s.accumulate ? rnd((size_t)(M * ldy), 1.0, 0.0, s.y_bf16) : NULL;
  rt_cuda_dec_gemv_args a = {.x = upn(x, (size_t)(M * ldx), xbf), .ldx = ldx, .ldz = ldz,
                             .W = upn(W, (size_t)(N * K), 1), .ldy = ldy};
  a.z = z ? upn(z, (size_t)(M * ldz), xbf) : 0;
  a.norm_w = wn ? upn(wn, (size_t)K, 0) : 0;
  a.bias = bias ? upn(bias, (size_t)N, 0) : 0;
  a.y = dalloc((size_t)(M * ldy) * 4);
  if (y0) up(a.y, y0, (size_t)(M * ldy), s.y_bf16);
  else OK(rt_cuda_memset8(G, a.y, 0xff, (size_t)(M * ldy) * 4, &C));
  OK(rt_cuda_dec_gemv(G, &k, &a, &C));
  float *y = down(a.y, (size_t)(M * ldy), s.y_bf16), *xr = xmalloc((size_t)K * sizeof(float));
  double *ref = xmalloc((size_t)(M * N) * sizeof *ref);
  for (int64_t m = 0; m < M; m++) {
    const double r = gemv_xrow(&s, x + m * ldx, z ? z + m * ldz : NULL, wn, xr);
    for (int64_t n = 0; n < N; n++) {
      double acc = 0.0;
      for (int64_t kk = 0; kk < K; kk++) acc += (double)xr[kk] * W[n * K + kk];
      ref[m * N + n] = acc * r + (bias ? bias[n] : 0.0) + (y0 ? y0[m * ldy + n] : 0.0);
    }
  }
  static const char *const norms[] = {"", " rmsnorm", " gated-rmsnorm"};
  char what[160];
  snprintf(what, sizeof what, "gemv M=%lld K=%lld N=%lld x %s y %s%s%s%s", (long long)M,
           (long long)K, (long long)N, s.x_f32 ? "f32" : "bf16", s.y_bf16 ? "bf16" : "f32",
           norms[s.norm], s.has_bias ? " +bias" : "", s.accumulate ? " accumulate" : "");
  verdict(what, rel2d(y, ldy, ref, N, M, N, !s.accumulate), s.y_bf16 ? 1e-2 : 1e-4);
  free(x), free(z), free(wn), free(W), free(bias), free(y0), free(y), free(xr), free(ref);
  rt_dptr bufs[] = {a.x, a.z, a.norm_w, a.W, a.bias, a.y};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) rt_cuda_free(G, bufs[i]);
  rt_cuda_dec_release(G, &k);
}

/* Sum of the first n of p's row against the double sum ref: |a - ref| / ref. */
static double parts_err(const float *p, int64_t n, double ref) {
  double a = 0;
  for (int64_t i = 0; i < n; i++) a += p[i];
  return a != a ? INFINITY : fabs(a - ref) / (ref > 0 ? ref : 1);
}

/* A GEMV in the prescaled norm mode (and with emit): the partial sums come
 * from an uneven split of K, the padding between rows is NaN. */
static void test_gemv_pre(cg_dec_spec s) {
  const int64_t M = s.M, N = s.N, K = s.K, np = s.nparts, ld = cg_dec_parts_ld(np);
  const int64_t ldy = N + 8, eparts = cg_dec_emit_parts(&s), eld = cg_dec_parts_ld(eparts);
  rt_cuda_dec k;
  OK(rt_cuda_dec_prepare(G, &CC, &s, 0, &k, &C));
  float *x0 = rnd((size_t)(M * K), 1.0, 0.0, 0), *wn = rnd((size_t)K, 0.3, 1.0, 0);
  float *x = xmalloc((size_t)(M * K) * sizeof *x), *ss = xmalloc((size_t)(M * ld) * sizeof *ss);
  double *rs = xmalloc((size_t)M * sizeof *rs);
  for (int64_t m = 0; m < M; m++) {
    double tot = 0;
    for (int64_t i = 0; i < ld; i++) ss[m * ld + i] = i < np ? 0.f : NAN;
    for (int64_t kk = 0; kk < K; kk++) {
      const float v = x0[m * K + kk];
      x[m * K + kk] = gu_bf2f(gu_f2bf(v * wn[kk]));
      ss[m * ld + (kk * kk) % np] += v * v; /* any split will do */
      tot += (double)v * v;
    }
    rs[m] = 1.0 / sqrt(tot / (double)K + s.eps);
  }
  float *W = rnd((size_t)(N * K), 0.03, 0.0, 1), *wo = rnd((size_t)N, 0.3, 1.0, 0);
  float *y0 = s.accumulate ? rnd((size_t)(M * ldy), 1.0, 0.0, s.y_bf16) : NULL;
  rt_cuda_dec_gemv_args a = {.x = upn(x, (size_t)(M * K), 1), .ldx = K,
                             .W = upn(W, (size_t)(N * K), 1), .ldy = ldy,
                             .ss_in = upn(ss, (size_t)(M * ld), 0)};
  a.y = dalloc((size_t)(M * ldy) * 4);
  if (y0) up(a.y, y0, (size_t)(M * ldy), s.y_bf16);
  else OK(rt_cuda_memset8(G, a.y, 0xff, (size_t)(M * ldy) * 4, &C));
  if (s.emit) {
    a.w_out = upn(wo, (size_t)N, 0);
    a.x_out = dalloc((size_t)(M * N) * 2), a.ss_out = dalloc((size_t)(M * eld) * 4);
    OK(rt_cuda_memset8(G, a.x_out, 0xff, (size_t)(M * N) * 2, &C));
    OK(rt_cuda_memset8(G, a.ss_out, 0xff, (size_t)(M * eld) * 4, &C));
  }
  OK(rt_cuda_dec_gemv(G, &k, &a, &C));
  float *y = down(a.y, (size_t)(M * ldy), s.y_bf16);
  double *ref = xmalloc((size_t)(M * N) * sizeof *ref), *xref = xmalloc((size_t)(M * N) * sizeof *xref);
  double ss_err = 0;
  for (int64_t m = 0; m < M; m++) {
    double sq = 0;
    for (int64_t n = 0; n < N; n++) {
      double acc = 0.0;
      for (int64_t kk = 0; kk < K; kk++) acc += (double)x[m * K + kk] * W[n * K + kk];
      ref[m * N + n] = acc * rs[m] + (y0 ? y0[m * ldy + n] : 0.0);
      xref[m * N + n] = ref[m * N + n] * wo[n];
      sq += ref[m * N + n] * ref[m * N + n];
    }
    if (s.emit) {
      float *sp = down(a.ss_out + (rt_dptr)(m * eld * 4), (size_t)eparts, 0);
      const double e = parts_err(sp, eparts, sq);
      ss_err = e > ss_err ? e : ss_err;
      free(sp);
    }
  }
  char what[160];
  snprintf(what, sizeof what, "gemv M=%lld K=%lld N=%lld prescaled norm (%lld partials)%s%s",
           (long long)M, (long long)K, (long long)N, (long long)np,
           s.accumulate ? " accumulate" : "", s.emit ? " emit" : "");
  verdict(what, rel2d(y, ldy, ref, N, M, N, !s.accumulate), s.y_bf16 ? 1e-2 : 1e-4);
  if (s.emit) {
    float *xo = down(a.x_out, (size_t)(M * N), 1);
    snprintf(what, sizeof what, "  emitted bf16(y w_out), M=%lld N=%lld", (long long)M,
             (long long)N);
    verdict(what, rel2d(xo, N, xref, N, M, N, 0), 1e-2);
    snprintf(what, sizeof what, "  emitted sums of y^2 (%lld per row)", (long long)eparts);
    verdict(what, ss_err, 1e-4);
    free(xo);
  }
  free(x0), free(wn), free(x), free(ss), free(rs), free(W), free(wo), free(y0), free(y);
  free(ref), free(xref);
  rt_dptr bufs[] = {a.x, a.W, a.y, a.ss_in, a.w_out, a.x_out, a.ss_out};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) rt_cuda_free(G, bufs[i]);
  rt_cuda_dec_release(G, &k);
}

/* ---- the mixer ---------------------------------------------------------------------- */
typedef struct mixer_case {
  cg_dec_spec s;
  int64_t batch;
  int steps;
} mixer_case;

typedef struct mix_host {
  float *conv_w, *conv_b, *A, *D, *dt_bias; /* parameters (conv_w, conv_b bf16-rounded if w_bf16) */
  float *cstate;                            /* [B, conv_dim, K-1] the CPU's conv state */
  double *state;                            /* [B, H, P, N] the CPU's SSM state */
} mix_host;

static void mix_params(const cg_dec_spec *s, int64_t batch, mix_host *h) {
  const int64_t cd = cg_dec_conv_dim(s), K = s->conv_k, H = s->H;
  h->conv_w = rnd((size_t)(cd * K), 0.5, 0.0, s->w_bf16);
  h->conv_b = rnd((size_t)cd, 0.1, 0.0, s->w_bf16);
  h->A = xmalloc((size_t)s->hdt * sizeof(float));
  h->dt_bias = xmalloc((size_t)s->hdt * sizeof(float));
  for (int64_t i = 0; i < s->hdt; i++) {
    double a = 1.0 + 15.0 * gu_unif(&seed), dt = exp(log(0.001) + gu_unif(&seed) * log(100.0));
    h->A[i] = (float)(s->A_is_log ? log(a) : -a / 4.0);
    h->dt_bias[i] = (float)(dt + log(-expm1(-dt))); /* softplus^-1(dt) */
  }
  h->D = rnd((size_t)(s->D_per_channel ? H * s->P : H), 1.0, 0.0, 0);
  h->cstate = rnd((size_t)(batch * cd * (K - 1)), 1.0, 0.0, 0);
  const size_t ns = (size_t)(batch * H * s->P * s->N_state);
  h->state = xmalloc(ns * sizeof *h->state);
  for (size_t i = 0; i < ns; i++)
    h->state[i] = 0.1 * gu_normal(&seed);
}

static void mix_free(mix_host *h) {
  free(h->conv_w), free(h->conv_b), free(h->A), free(h->D), free(h->dt_bias), free(h->cstate);
  free(h->state);
}

/* One step on the CPU: conv (state in place) + SiLU, split, SSD reference. */
static void mix_ref(const cg_dec_spec *s, int64_t batch, const float *row, int64_t ld,
                    int64_t off_z, int64_t off_xbc, int64_t off_dt, mix_host *h, double *y) {
  const int64_t cd = cg_dec_conv_dim(s), H = s->H, P = s->P, N = s->N_state;
  const int64_t nx = s->hx * P, nb = s->hb * N, nc = s->hc * N;
  float *xbc = xmalloc((size_t)(batch * cd) * sizeof(float)),
        *u = xmalloc((size_t)(batch * cd) * sizeof(float));
  for (int64_t b = 0; b < batch; b++)
    memcpy(xbc + b * cd, row + b * ld + off_xbc, (size_t)cd * sizeof(float));
  rt_conv1d(xbc, batch, 1, cd, h->conv_w, s->conv_k, s->has_conv_bias ? h->conv_b : NULL,
            s->conv_k > 1 ? h->cstate : NULL, u);
  double *x = xmalloc((size_t)(batch * nx) * sizeof(double)),
         *B = xmalloc((size_t)(batch * nb) * sizeof(double));
  double *Cm = xmalloc((size_t)(batch * nc) * sizeof(double)),
         *dt = xmalloc((size_t)(batch * s->hdt) * sizeof(double));
  double *z = xmalloc((size_t)(batch * H * P) * sizeof(double));
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t i = 0; i < cd; i++) {
      const double v = u[b * cd + i], a = v / (1.0 + exp(-v));
      if (i < nx)
        x[b * nx + i] = a;
      else if (i < nx + nb)
        B[b * nb + i - nx] = a;
      else
        Cm[b * nc + i - nx - nb] = a;
    }
    for (int64_t i = 0; i < s->hdt; i++)
      dt[b * s->hdt + i] = row[b * ld + off_dt + i];
    for (int64_t i = 0; i < H * P; i++)
      z[b * H * P + i] = s->has_z ? row[b * ld + off_z + i] : 0;
  }
  double *A = xmalloc((size_t)s->hdt * sizeof(double)),
         *bias = xmalloc((size_t)s->hdt * sizeof(double));
  double *D = xmalloc((size_t)(H * P) * sizeof(double));
  for (int64_t i = 0; i < s->hdt; i++)
    A[i] = h->A[i], bias[i] = h->dt_bias[i];
  for (int64_t i = 0; i < (s->D_per_channel ? H * P : H); i++)
    D[i] = h->D[i];
  const rt_ssm_desc d = {.batch = batch,
                         .L = 1,
                         .H = H,
                         .P = P,
                         .N = N,
                         .hx = s->hx,
                         .hb = s->hb,
                         .hc = s->hc,
                         .hdt = s->hdt,
                         .has_dt = true,
                         .has_A = true,
                         .has_D = s->has_D,
                         .has_z = s->has_z,
                         .has_dt_bias = s->has_dt_bias,
                         .D_per_channel = s->D_per_channel,
                         .dt_softplus = s->dt_softplus,
                         .A_is_log = s->A_is_log,
                         .dt_min = s->dt_clamp ? s->dt_min : 0.0,
                         .dt_max = s->dt_clamp ? s->dt_max : INFINITY};
  const rt_ssm_args64 a = {.x = x, .dt = dt, .A = A, .B = B, .C = Cm,
                           .D = s->has_D ? D : NULL, .z = s->has_z ? z : NULL,
                           .dt_bias = s->has_dt_bias ? bias : NULL, .state = h->state, .y = y};
  OK(rt_ssm_ref_f64(&d, &a, &C));
  free(xbc), free(u), free(x), free(B), free(Cm), free(dt), free(z), free(A), free(bias), free(D);
}

static void test_mixer(const mixer_case *mc) {
  const cg_dec_spec *s = &mc->s;
  const int64_t batch = mc->batch, cd = cg_dec_conv_dim(s), H = s->H, P = s->P, N = s->N_state;
  const int64_t HP = H * P, off_z = 0, off_xbc = s->has_z || s->gnorm ? HP : 0;
  const int64_t off_dt = off_xbc + cd, eparts = cg_dec_emit_parts(s), eld = cg_dec_parts_ld(eparts);
  const int64_t ld = off_dt + s->hdt + 24, ldy = HP + 8, K1 = s->conv_k - 1;
  const int inb = !s->in_f32, yb = s->y_bf16;
  rt_cuda_dec k;
  OK(rt_cuda_dec_prepare(G, &CC, s, batch, &k, &C));
  mix_host h;
  mix_params(s, batch, &h);
  const size_t ncs = (size_t)(batch * cd * K1), nst = (size_t)(batch * HP * N);
  float *st32 = xmalloc(nst * sizeof(float));
  for (size_t i = 0; i < nst; i++)
    st32[i] = (float)h.state[i];
  rt_cuda_dec_mixer_args a = {.ld_in = ld,
                              .off_xbc = off_xbc,
                              .off_dt = off_dt,
                              .off_z = off_z,
                              .conv_w = upn(h.conv_w, (size_t)(cd * s->conv_k), s->w_bf16),
                              .conv_b = s->has_conv_bias ? upn(h.conv_b, (size_t)cd, s->w_bf16) : 0,
                              .conv_state = ncs ? upn(h.cstate, ncs, 0) : 0,
                              .A = upn(h.A, (size_t)s->hdt, 0),
                              .D = s->has_D ? upn(h.D, (size_t)(s->D_per_channel ? HP : H), 0) : 0,
                              .dt_bias = s->has_dt_bias ? upn(h.dt_bias, (size_t)s->hdt, 0) : 0,
                              .state = upn(st32, nst, 0),
                              .y = dalloc((size_t)(batch * ldy) * 4),
                              .ldy = ldy};
  a.in = dalloc((size_t)(batch * ld) * 4);
  float *wg = rnd((size_t)HP, 0.3, 1.0, 0);
  if (s->gnorm) { /* the norm's z sits where a gate's would */
    a.off_gz = off_z, a.gnorm_w = upn(wg, (size_t)HP, 0);
    a.x_out = dalloc((size_t)(batch * HP) * 2), a.ss_out = dalloc((size_t)(batch * eld) * 4);
  }
  double worst = 0, gx_worst = 0, gs_worst = 0;
  double *yref = xmalloc((size_t)(batch * HP) * sizeof *yref);
  for (int step = 0; step < mc->steps; step++) {
    float *row = rnd((size_t)(batch * ld), 1.0, 0.0, inb);
    for (int64_t b = 0; b < batch; b++) /* dt before its bias: about N(0, 0.5) */
      for (int64_t i = 0; i < s->hdt; i++)
        row[b * ld + off_dt + i] *= 0.5f;
    if (inb)
      for (size_t i = 0; i < (size_t)(batch * ld); i++)
        row[i] = gu_bf2f(gu_f2bf(row[i]));
    up(a.in, row, (size_t)(batch * ld), inb);
    OK(rt_cuda_memset8(G, a.y, 0xff, (size_t)(batch * ldy) * 4, &C));
    if (s->gnorm) {
      OK(rt_cuda_memset8(G, a.x_out, 0xff, (size_t)(batch * HP) * 2, &C));
      OK(rt_cuda_memset8(G, a.ss_out, 0xff, (size_t)(batch * eld) * 4, &C));
    }
    OK(rt_cuda_dec_mixer(G, &k, &a, batch, &C));
    mix_ref(s, batch, row, ld, off_z, off_xbc, off_dt, &h, yref);
    float *y = down(a.y, (size_t)(batch * ldy), yb);
    const double e = rel2d(y, ldy, yref, HP, batch, HP, 1);
    worst = e > worst ? e : worst;
    if (s->gnorm) { /* g = y silu(z): bf16(g wg) and the sums of g^2 */
      float *xo = down(a.x_out, (size_t)(batch * HP), 1), *sp = down(a.ss_out, (size_t)(batch * eld), 0);
      double *gx = xmalloc((size_t)(batch * HP) * sizeof *gx);
      for (int64_t b = 0; b < batch; b++) {
        double sq = 0;
        for (int64_t i = 0; i < HP; i++) {
          const double zv = row[b * ld + off_z + i], gv = yref[b * HP + i] * zv / (1.0 + exp(-zv));
          gx[b * HP + i] = gv * wg[i], sq += gv * gv;
        }
        const double pe = parts_err(sp + b * eld, eparts, sq);
        gs_worst = pe > gs_worst ? pe : gs_worst;
      }
      const double ge = rel2d(xo, HP, gx, HP, batch, HP, 0);
      gx_worst = ge > gx_worst ? ge : gx_worst;
      free(xo), free(sp), free(gx);
    }
    free(row), free(y);
  }
  /* The carried states: conv state holds raw inputs (exact), SSM state fp32. */
  float *cs = ncs ? down(a.conv_state, ncs, 0) : NULL;
  float *st = down(a.state, nst, 0);
  double cs_err = 0;
  for (size_t i = 0; i < ncs; i++) {
    double d = fabs((double)cs[i] - h.cstate[i]);
    cs_err = d != d ? INFINITY : d > cs_err ? d : cs_err;
  }
  char what[160];
  snprintf(what, sizeof what,
           "mixer H=%lld P=%lld N=%lld hx/hb/hc/hdt=%lld/%lld/%lld/%lld b=%lld %s%s", (long long)H,
           (long long)P, (long long)N, (long long)s->hx, (long long)s->hb, (long long)s->hc,
           (long long)s->hdt, (long long)batch, yb ? "y bf16" : "y f32",
           s->in_f32 ? " in f32" : " in bf16");
  verdict(what, worst, yb ? 1e-2 : 2e-4);
  if (s->gnorm) {
    verdict("  gated norm input bf16(y silu(z) wg)", gx_worst, 1e-2);
    verdict("  gated norm sums of (y silu(z))^2", gs_worst, yb ? 1e-2 : 2e-4);
  }
  printf("     %d steps: conv state max|diff| %.1e, ssm state rel err %.2e\n", mc->steps, cs_err,
         rel2d(st, (int64_t)nst, h.state, (int64_t)nst, 1, (int64_t)nst, 0));
  if (cs_err != 0 ||
      !(rel2d(st, (int64_t)nst, h.state, (int64_t)nst, 1, (int64_t)nst, 0) <= 2e-4)) {
    printf("FAIL carried states\n");
    fails++;
  }
  /* The launcher refuses what the kernel cannot do safely. */
  rt_cuda_dec_mixer_args bad = a;
  bad.off_dt = ld - 1;
  if (rt_cuda_dec_mixer(G, &k, &bad, batch, &C) != SSD_EINVAL ||
      rt_cuda_dec_mixer(G, &k, &a, batch + 1, &C) != SSD_EINVAL) {
    printf("FAIL mixer launcher accepted a bad call\n");
    fails++;
  }
  free(cs), free(st), free(st32), free(yref), free(wg);
  rt_dptr bufs[] = {a.in,    a.conv_w, a.conv_b,  a.conv_state, a.A,     a.D,
                    a.dt_bias, a.state, a.y,      a.gnorm_w,    a.x_out, a.ss_out};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    rt_cuda_free(G, bufs[i]);
  mix_free(&h);
  rt_cuda_dec_release(G, &k);
}

static void test_gemv_refusals(void) {
  cg_dec_spec s = ds_gemv(2, 64, 128, false, false, false);
  rt_cuda_dec k;
  OK(rt_cuda_dec_prepare(G, &CC, &s, 0, &k, &C));
  rt_dptr x = dalloc(4096), W = dalloc(64 * 128 * 2), y = dalloc(4096);
  rt_cuda_dec_gemv_args a = {.x = x, .ldx = 100, .W = W, .y = y, .ldy = 64};
  const int r1 = rt_cuda_dec_gemv(G, &k, &a, &C); /* ldx < K */
  a.x = x + 2, a.ldx = 128;
  const int r2 = rt_cuda_dec_gemv(G, &k, &a, &C); /* misaligned x */
  a.x = x, a.ldx = 132;
  const int r3 = rt_cuda_dec_gemv(G, &k, &a, &C); /* row stride not 16 B */
  if (r1 != SSD_EINVAL || r2 != SSD_EINVAL || r3 != SSD_EINVAL) {
    printf("FAIL gemv launcher accepted a bad call\n");
    fails++;
  } else
    printf("ok   gemv launcher refuses short, misaligned and unaligned-stride x\n");
  rt_cuda_free(G, x), rt_cuda_free(G, W), rt_cuda_free(G, y);
  rt_cuda_dec_release(G, &k);
}

/* The GEMV's argmax epilogue (spec.argmax), as the greedy LM head: the
 * picks must be rt_argmax's over the logits the same launch stored (which
 * are checked against the float64 product), with a tie for the largest
 * logit in two blocks (zero W rows, equal bias: the lower index wins), a
 * NaN logit above it in the row (NaN loses), and, with M > 1, a row of x
 * that is all NaN (every logit NaN: index 0).  Two launches on one scratch:
 * the ring's slots follow the position, which each launch advances, and
 * the scratch is left zero. */
static void test_gemv_argmax(int64_t M, int64_t N, int64_t K, bool norm) {
  cg_dec_spec s = norm ? ds_norm(M, N, K, CG_DEC_NORM_RMS, false, false)
                       : ds_gemv(M, N, K, false, true, false);
  s.argmax = true;
  rt_cuda_dec k;
  OK(rt_cuda_dec_prepare(G, &CC, &s, 0, &k, &C));
  const int64_t hn = 8, p0 = 13, tie_hi = N - 3, tie_lo = N / 2 + 5, nan_at = N / 3;
  float *x = rnd((size_t)(M * K), 1.0, 0.0, 1), *W = rnd((size_t)(N * K), 0.03, 0.0, 1);
  float *wn = norm ? rnd((size_t)K, 0.3, 1.0, 0) : NULL;
  float *bias = s.has_bias ? rnd((size_t)N, 0.5, 0.0, 0) : NULL;
  for (int64_t kk = 0; kk < K; kk++) W[tie_hi * K + kk] = W[tie_lo * K + kk] = 0.f;
  W[nan_at * K + K / 2] = NAN;
  if (bias) bias[tie_hi] = bias[tie_lo] = 50.f;
  else /* M == 1: rows of +-1/4 that agree with x' in sign (a large logit) */
    for (int64_t kk = 0; kk < K; kk++)
      W[tie_hi * K + kk] = W[tie_lo * K + kk] = x[kk] * wn[kk] < 0 ? -0.25f : 0.25f;
  if (M > 1)
    for (int64_t kk = 0; kk < K; kk++) x[K + kk] = NAN;
  const int64_t pos[2] = {p0, -1};
  rt_cuda_dec_gemv_args a = {.x = upn(x, (size_t)(M * K), !s.x_f32), .ldx = K,
                             .W = upn(W, (size_t)(N * K), 1), .ldy = N, .pick.hist_n = hn};
  a.norm_w = wn ? upn(wn, (size_t)K, 0) : 0;
  a.bias = bias ? upn(bias, (size_t)N, 0) : 0;
  a.y = dalloc((size_t)(M * N) * 4);
  a.pick.out = dalloc((size_t)M * 8), a.pick.advance = dalloc(sizeof pos);
  a.pick.hist = dalloc((size_t)(hn * M) * 8);
  a.pick.scratch = dalloc(cg_dec_argmax_scratch(&s));
  OK(rt_cuda_memset8(G, a.pick.scratch, 0, cg_dec_argmax_scratch(&s), &C));
  OK(rt_cuda_memset8(G, a.pick.hist, 0xff, (size_t)(hn * M) * 8, &C));
  OK(rt_cuda_h2d(G, a.pick.advance, pos, sizeof pos, &C));
  int bad = 0;
  for (int launch = 0; launch < 2; launch++) {
    OK(rt_cuda_memset8(G, a.y, 0xff, (size_t)(M * N) * 4, &C));
    OK(rt_cuda_memset8(G, a.pick.out, 0xff, (size_t)M * 8, &C));
    OK(rt_cuda_dec_gemv(G, &k, &a, &C));
    float *y = down(a.y, (size_t)(M * N), 0);
    int64_t *got = xmalloc((size_t)M * 8), *ring = xmalloc((size_t)(hn * M) * 8), p[2];
    OK(rt_cuda_d2h(G, got, a.pick.out, (size_t)M * 8, &C));
    OK(rt_cuda_d2h(G, ring, a.pick.hist, (size_t)(hn * M) * 8, &C));
    OK(rt_cuda_d2h(G, p, a.pick.advance, sizeof p, &C));
    for (int64_t m = 0; m < M; m++) {
      const int64_t want = rt_argmax(y + m * N, N);
      const int64_t exp = m == 1 ? 0 : tie_lo; /* what the test's logits were built for */
      const int64_t slot = ring[((p0 + launch) % hn) * M + m];
      if (got[m] != want || want != exp || slot != want) {
        printf("     launch %d row %lld: picked %lld, ring %lld, rt_argmax %lld, built for %lld\n",
               launch, (long long)m, (long long)got[m], (long long)slot, (long long)want,
               (long long)exp);
        bad = 1;
      }
    }
    if (p[0] != p0 + launch + 1 || p[1] != -1) bad = 1;
    free(y), free(got), free(ring);
  }
  /* the scratch is left as it was given, all zero, for the next launch */
  const size_t sn = cg_dec_argmax_scratch(&s);
  unsigned char *scr = xmalloc(sn);
  OK(rt_cuda_d2h(G, scr, a.pick.scratch, sn, &C));
  for (size_t i = 0; i < sn; i++) bad |= scr[i] != 0;
  free(scr);
  printf("%s gemv M=%lld K=%lld N=%lld%s argmax epilogue == rt_argmax of its logits (ties, NaN, "
         "ring, position)\n",
         bad ? "FAIL" : "ok  ", (long long)M, (long long)K, (long long)N, norm ? " rmsnorm" : "");
  fails += bad;
  free(x), free(W), free(wn), free(bias);
  rt_dptr bufs[] = {a.x, a.W, a.norm_w, a.bias, a.y, a.pick.out, a.pick.advance, a.pick.hist,
                    a.pick.scratch};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) rt_cuda_free(G, bufs[i]);
  rt_cuda_dec_release(G, &k);
}

/* --emu: on the emulated device (CPU), where the kernels run too. */
int main(int argc, char **argv) {
  ssd_ctx_init(&C);
  if (argc > 1 && !strcmp(argv[1], "--emu")) OK(rt_cuda_open_emu(&G, &C));
  else OK(rt_cuda_open(&G, 0, &C));
  OK(cg_cache_open(&CC, NULL, &C));
  printf("device: %s (%s)\n", rt_cuda_name(G), rt_cuda_arch(G));

  cg_dec_spec xf = ds_gemv(5, 768, 1536, false, true, false);
  xf.x_f32 = true;
  /* The fused norms at the decode step's uses: rmsnorm of the fp32 residual
   * into in_proj and lm_head, gated rmsnorm of the mixer's bf16 y (z from
   * the in_proj row) into out_proj accumulating into the residual. */
  cg_dec_spec n1 = ds_norm(1, 10576, 2560, CG_DEC_NORM_RMS, true, false),
              n2 = ds_norm(16, 3352, 768, CG_DEC_NORM_RMS, false, false),
              n3 = ds_norm(2, 50288, 768, CG_DEC_NORM_RMS, false, false),
              n4 = ds_norm(4, 2560, 5120, CG_DEC_NORM_GATED, false, true),
              n5 = ds_norm(16, 768, 1536, CG_DEC_NORM_GATED, false, true),
              n6 = ds_norm(3, 768, 1536, CG_DEC_NORM_GATED, true, false);
  n6.has_bias = true, n6.warps = 4, n6.unroll = 1;
  const cg_dec_spec gemvs[] = {
      ds_gemv(1, 3352, 768, true, false, false),    ds_gemv(4, 3352, 768, false, false, false),
      ds_gemv(16, 3352, 768, true, false, false),   ds_gemv(1, 768, 1536, false, true, true),
      ds_gemv(9, 768, 1536, false, false, true),    ds_gemv(16, 2560, 5120, false, false, true),
      ds_gemv(16, 2560, 5120, true, false, true),   ds_gemv(2, 10576, 2560, true, false, false),
      ds_gemv(4, 50280, 2560, false, false, false), ds_gemv(1, 50288, 768, false, false, false),
      xf, n1, n2, n3, n4, n5, n6};
  for (size_t i = 0; i < sizeof gemvs / sizeof *gemvs; i++)
    test_gemv(gemvs[i]);
  /* The prescaled norms at the step's uses (2.7b and 130m shapes): in_proj
   * and lm_head after an out_proj's emit (160 / 48 partials), out_proj after
   * the mixer (320 / 96 partials) accumulating and emitting. */
  const cg_dec_spec pres[] = {ds_pre(1, 10576, 2560, 160, false, false),
                              ds_pre(4, 50280, 2560, 160, false, false),
                              ds_pre(1, 2560, 5120, 320, true, true),
                              ds_pre(3, 768, 1536, 96, true, true),
                              ds_pre(2, 3352, 768, 48, false, false)};
  for (size_t i = 0; i < sizeof pres / sizeof *pres; i++)
    test_gemv_pre(pres[i]);
  test_gemv_refusals();
  /* the greedy LM head at the 130m and 2.7b vocabularies, and a tiny one */
  test_gemv_argmax(1, 50280, 768, true);
  test_gemv_argmax(3, 50288, 2560, false);
  test_gemv_argmax(2, 40, 64, false);

  cg_dec_spec g2 = ds_mamba2(80, 64, 128, 2, false);
  cg_dec_spec r32 = ds_mamba2(24, 64, 128, 1, false);
  r32.rows = 32;
  cg_dec_spec gn = ds_mamba2(80, 64, 128, 1, true), gn2 = ds_mamba2(24, 64, 128, 2, false);
  gn.gnorm = gn2.gnorm = true;
  cg_dec_spec pb = ds_pattern();
  pb.in_f32 = false, pb.y_bf16 = true;
  const mixer_case mixers[] = {{ds_mamba2(24, 64, 128, 1, false), 1, 4},
                               {ds_mamba2(24, 64, 128, 1, true), 16, 3},
                               {ds_mamba2(80, 64, 128, 1, false), 1, 3},
                               {ds_mamba2(80, 64, 128, 1, false), 16, 3},
                               {g2, 1, 3},
                               {g2, 16, 2},
                               {r32, 3, 3},
                               {ds_pattern(), 1, 4},
                               {ds_pattern(), 16, 3},
                               {pb, 5, 3},
                               {gn, 1, 3},
                               {gn2, 4, 2}};
  for (size_t i = 0; i < sizeof mixers / sizeof *mixers; i++)
    test_mixer(&mixers[i]);

  printf("test_dec_gpu: %d failures\n", fails);
  rt_cuda_close(G);
  return fails ? 1 : 0;
}
