/* rt_ssm_kern.h: the hot loops of the f32 mixer, as a template.
 *
 * rt_ssm.c includes this file twice: once with K(name) = name##_base and no
 * target attribute, once (x86-64) with K(name) = name##_avx2 and
 * target("avx2"), then picks one at run time (__builtin_cpu_supports).  The
 * static inline helpers of rt_ssm_impl.h are inlined into each copy and so
 * compiled for its ISA.  (target_clones would do the same with less code,
 * but clang 14 miscompiles calls to clones across translation units.)
 * No include guard: that is the point.
 */

KATTR static void K(finish_row)(const rt_ssm_desc *d, const rt_ssm_view *v, int64_t t,
                                const float *restrict ys) {
  const float *restrict x = v->x + t * v->sx;
  float *restrict y = v->y + t * v->sy;
  const int64_t P = d->P;
  memcpy(y, ys, (size_t)P * sizeof *y);
  if (v->D && d->D_per_channel)
    rt_muladd(P, v->D, x, y);
  else if (v->D)
    rt_axpy(P, v->D[0], x, y);
  if (v->z) {
    const float *restrict z = v->z + t * v->sy;
    int64_t p = 0;
    for (; p + 8 <= P; p += 8) { /* y *= silu(z) = z / (1 + exp(-z)) */
      rt_v8 zv, e, yv;
      RT_V8_LOAD(zv, z + p);
      RT_V8_LOAD(yv, y + p);
      e = -zv;
      rt_exp8(&e);
      yv *= zv / (1.0f + e);
      RT_V8_STORE(y + p, yv);
    }
    for (; p < P; p++) y[p] *= z[p] / (1.0f + rt_expf(-z[p]));
  }
}

KATTR static void K(gemm)(int64_t m, int64_t n, int64_t k, const float *A, int64_t ar, int64_t ac,
                          const float *B, int64_t ldb, float *C, int64_t ldc) {
  const int64_t n16 = n / 16 * 16;
  int64_t i = 0;
  for (; i + 6 <= m; i += 6)
    for (int64_t j = 0; j < n16; j += 16)
      gemm_6x16(k, A + i * ar, ar, ac, B + j, ldb, C + i * ldc + j, ldc);
  for (; i < m; i++)
    for (int64_t j = 0; j < n16; j += 16) gemm_1x16(k, A + i * ar, ac, B + j, ldb, C + i * ldc + j);
  if (n16 < n) /* the last columns, row by row */
    for (i = 0; i < m; i++)
      for (int64_t kk = 0; kk < k; kk++)
        rt_axpy(n - n16, A[i * ar + kk * ac], B + kk * ldb + n16, C + i * ldc + n16);
}

/* Y[nr, P] += CE[nr, N] S[P, N]^T.  A few rows (a decode-sized segment) take
 * dot products along S's rows; more amortize transposing S into ST once so
 * that the product runs in the register-blocked gemm. */
KATTR static void K(state_out)(int64_t nr, int64_t P, int64_t N, const float *restrict CE,
                               const float *restrict S, float *restrict ST, float *restrict Y) {
  if (nr >= 8) {
    for (int64_t p = 0; p < P; p++)
      for (int64_t n = 0; n < N; n++) ST[n * P + p] = S[p * N + n];
    K(gemm)(nr, P, N, CE, N, 1, ST, P, Y, P);
    return;
  }
  const int64_t N8 = N / 8 * 8;
  for (int64_t i = 0; i < nr; i++)
    for (int64_t p = 0; p < P; p++) {
      rt_v8 acc = {0};
      for (int64_t n = 0; n < N8; n += 8) {
        rt_v8 cv, sv;
        RT_V8_LOAD(cv, CE + i * N + n);
        RT_V8_LOAD(sv, S + p * N + n);
        acc += cv * sv;
      }
      float y = RT_V8_HSUM(acc);
      for (int64_t n = N8; n < N; n++) y += CE[i * N + n] * S[p * N + n];
      Y[i * P + p] += y;
    }
}

KATTR static void K(seg_rows)(const rt_ssm_seg *g, int64_t r0, int64_t nr, const float *G,
                              int64_t ldg, const float *S, rt_ssm_scratch *s) {
  const rt_ssm_desc *d = g->d;
  const rt_ssm_view *v = g->v;
  const int64_t P = d->P, N = d->N, kmax = r0 + nr, ldm = g->len;
  for (int64_t i = 0; i < nr; i++) {
    float *M = s->M + i * ldm;
    seg_kernel_row(g, r0 + i, G ? G + i * ldg : NULL, M, s);
    memset(M + r0 + i + 1, 0, (size_t)(nr - i - 1) * sizeof *M); /* causal mask */
  }
  memset(s->Y, 0, (size_t)(nr * P) * sizeof *s->Y);
  K(gemm)(nr, P, kmax, s->M, ldm, 1, v->x + g->t0 * v->sx, v->sx, s->Y, P);
  if (S) { /* + exp(cs_t) C_t . S, per state element for S6 */
    for (int64_t i = 0; i < nr; i++) {
      const float *restrict C = v->C + (g->t0 + r0 + i) * v->sc;
      float *restrict CE = s->CE + i * N;
      if (g->ldk) {
        for (int64_t n = 0; n < N; n++) CE[n] = C[n] * rt_expf((float)g->cs[n * g->ldk + r0 + i]);
      } else {
        const float e = rt_expf((float)g->cs[r0 + i]);
        rt_scale(N, e, C, CE);
      }
    }
    K(state_out)(nr, P, N, s->CE, S, s->ST, s->Y);
  }
  for (int64_t i = 0; i < nr; i++) K(finish_row)(d, v, g->t0 + r0 + i, s->Y + i * P);
}

KATTR static void K(seg_state)(const rt_ssm_seg *g, float *S, rt_ssm_scratch *s) {
  const rt_ssm_desc *d = g->d;
  const rt_ssm_view *v = g->v;
  const int64_t P = d->P, N = d->N, e = g->len - 1, ldk = g->ldk;
  for (int64_t n = 0; n < N; n++) s->dec[n] = rt_expf((float)g->cs[n * ldk + e]);
  for (int64_t j = 0; j < g->len; j++) {
    const float *restrict Bj = v->B + (g->t0 + j) * v->sb;
    float *restrict W = s->WB + j * N;
    if (ldk) {
      for (int64_t n = 0; n < N; n++)
        W[n] = g->dt[j] * rt_expf((float)(g->cs[n * ldk + e] - g->cs[n * ldk + j])) * Bj[n];
    } else {
      const float w = g->dt[j] * rt_expf((float)(g->cs[e] - g->cs[j]));
      rt_scale(N, w, Bj, W);
    }
  }
  const float *restrict dec = s->dec;
  for (int64_t p = 0; p < P; p++) {
    float *restrict Sp = S + p * N;
    rt_mul(N, dec, Sp);
  }
  /* S += X^T WB: x read transposed in place (row stride 1, column stride sx). */
  K(gemm)(P, N, g->len, v->x + g->t0 * v->sx, 1, v->sx, s->WB, N, S, N);
}

/* s <- a o s + x dB^T and y = s C for one token: the scan's inner step.
 * Four rows of the state at a time, so each vector of dec, dB and C loaded
 * serves four rows: the loop is bound by loads and stores, not arithmetic. */
#define REC_ROWS(X) X(0) X(1) X(2) X(3)
KATTR static void K(rec_step)(int64_t P, int64_t N, float *restrict s, const float *restrict dec,
                              const float *restrict dB, const float *restrict x,
                              const float *restrict C, float *restrict y) {
  const int64_t N8 = N / 8 * 8;
  int64_t p = 0;
  for (; p + 4 <= P && N8 > 0; p += 4) {
#define DECL(r)             \
  rt_v8 acc##r = {0}, s##r; \
  const float x##r = x[p + r];
    REC_ROWS(DECL)
#undef DECL
    for (int64_t n = 0; n < N8; n += 8) {
      rt_v8 dv, bv, cv;
      RT_V8_LOAD(dv, dec + n);
      RT_V8_LOAD(bv, dB + n);
      RT_V8_LOAD(cv, C + n);
#define ROW(r)                           \
  RT_V8_LOAD(s##r, s + (p + r) * N + n); \
  s##r = dv * s##r + x##r * bv;          \
  acc##r += s##r * cv;                   \
  RT_V8_STORE(s + (p + r) * N + n, s##r);
      REC_ROWS(ROW)
#undef ROW
    }
#define SUM(r) y[p + r] = RT_V8_HSUM(acc##r);
    REC_ROWS(SUM)
#undef SUM
    for (int64_t n = N8; n < N; n++) /* the last columns of the four rows */
      for (int r = 0; r < 4; r++) {
        float *sp = s + (p + r) * N;
        sp[n] = dec[n] * sp[n] + x[p + r] * dB[n];
        y[p + r] += sp[n] * C[n];
      }
  }
  for (; p < P; p++) { /* rows left over (all of them when N < 8) */
    float *restrict sp = s + p * N;
    const float xp = x[p];
    rt_v8 acc = {0};
    int64_t n = 0;
    for (; n < N8; n += 8) {
      rt_v8 sv, dv, bv, cv;
      RT_V8_LOAD(sv, sp + n);
      RT_V8_LOAD(dv, dec + n);
      RT_V8_LOAD(bv, dB + n);
      RT_V8_LOAD(cv, C + n);
      sv = dv * sv + xp * bv;
      acc += sv * cv;
      RT_V8_STORE(sp + n, sv);
    }
    float yp = RT_V8_HSUM(acc);
    for (; n < N; n++) {
      sp[n] = dec[n] * sp[n] + xp * dB[n];
      yp += sp[n] * C[n];
    }
    y[p] = yp;
  }
}
#undef REC_ROWS

KATTR static void K(rec_head)(const rt_ssm_desc *d, const rt_ssm_args *a, int64_t b, int64_t h,
                              float *buf) {
  const int64_t P = d->P, N = d->N;
  float *An = buf, *dec = An + N, *dB = dec + N, *ys = dB + N, *tmp = ys + P;
  rt_ssm_view v;
  rt_ssm_view_of(d, a, b, h, &v);
  rt_ssm_A_row(d, a, h, An);
  float *s = v.state ? v.state : tmp;
  if (!v.state) memset(tmp, 0, (size_t)(P * N) * sizeof *tmp);
  for (int64_t t = 0; t < d->L; t++) {
    float dt;
    rt_ssm_dt_of(d, &v, t, 1, &dt);
    const float *B = v.B + t * v.sb;
    int64_t n = 0;
    for (; n + 8 <= N; n += 8) {
      rt_v8 e;
      RT_V8_LOAD(e, An + n);
      e *= dt;
      rt_exp8(&e);
      RT_V8_STORE(dec + n, e);
    }
    for (; n < N; n++) dec[n] = rt_expf(dt * An[n]);
    rt_scale(N, dt, B, dB);
    K(rec_step)(P, N, s, dec, dB, v.x + t * v.sx, v.C + t * v.sc, ys);
    K(finish_row)(d, &v, t, ys);
  }
}
