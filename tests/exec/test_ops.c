/* test_ops.c: every CPU kernel of runtime/rt_ops.c against a float64
 * reference written here from the definitions (not from the kernels), on
 * seeded random inputs at realistic sizes, outputs poisoned with NaN first.
 * Runs with the thread pool on (2 threads) so the parallel splits are
 * exercised too.
 */
#include <math.h>
#include <string.h>

#include "rt_ops.h"
#include "rt_pool.h"
#include "tx.h"

static void test_gemm(int64_t M, int64_t N, int64_t K, int bias) {
  float *x = tx_rand((size_t)(M * K), 1.0), *W = tx_rand((size_t)(N * K), 0.05);
  float *b = bias ? tx_rand((size_t)N, 0.5) : NULL, *y = tx_poison((size_t)(M * N));
  double *ref = malloc((size_t)(M * N) * sizeof(double));
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double acc = b ? b[n] : 0;
      for (int64_t k = 0; k < K; k++) acc += (double)x[m * K + k] * W[n * K + k];
      ref[m * N + n] = acc;
    }
  ssd_ctx c;
  ssd_ctx_init(&c);
  TX_CHECK(rt_linear(x, M, K, W, N, b, y, &c) == SSD_OK, "rt_linear: %s", c.msg);
  char name[64];
  snprintf(name, sizeof name, "gemm %lldx%lldx%lld", (long long)M, (long long)N, (long long)K);
  TX_CLOSE(name, tx_reldiff_f64(y, ref, (size_t)(M * N)), 1e-5);
  free(x), free(W), free(b), free(y), free(ref);
}

static void test_norms(void) {
  int64_t rows = 37, D = 96, G = 4;
  float *x = tx_rand((size_t)(rows * D), 2.0), *z = tx_rand((size_t)(rows * D), 3.0);
  float *w = tx_rand((size_t)D, 1.0), *b = tx_rand((size_t)D, 1.0);
  float *y = tx_poison((size_t)(rows * D));
  double *ref = malloc((size_t)(rows * D) * sizeof(double));
  double eps = 1e-5;
  /* rmsnorm */
  for (int64_t r = 0; r < rows; r++) {
    double ss = 0;
    for (int64_t i = 0; i < D; i++) ss += (double)x[r * D + i] * x[r * D + i];
    for (int64_t i = 0; i < D; i++) ref[r * D + i] = x[r * D + i] / sqrt(ss / D + eps) * w[i];
  }
  rt_rmsnorm(x, rows, D, w, eps, y);
  TX_CLOSE("rmsnorm", tx_reldiff_f64(y, ref, (size_t)(rows * D)), 1e-5);
  /* gated, both orders, grouped */
  for (int before = 0; before < 2; before++) {
    int64_t gs = D / G;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t g = 0; g < G; g++) {
        double t[96], ss = 0;
        for (int64_t i = 0; i < gs; i++) {
          int64_t k = r * D + g * gs + i;
          double zz = z[k], gate = zz / (1 + exp(-zz));
          t[i] = before ? x[k] : x[k] * gate;
          ss += t[i] * t[i];
        }
        for (int64_t i = 0; i < gs; i++) {
          int64_t k = r * D + g * gs + i;
          double zz = z[k], gate = zz / (1 + exp(-zz));
          ref[k] = t[i] / sqrt(ss / gs + eps) * w[g * gs + i] * (before ? gate : 1.0);
        }
      }
    for (size_t i = 0; i < (size_t)(rows * D); i++) y[i] = NAN;
    rt_gated_rmsnorm(x, z, rows, D, w, eps, G, before, y);
    TX_CLOSE(before ? "gated rmsnorm (before gate)" : "gated rmsnorm", 
             tx_reldiff_f64(y, ref, (size_t)(rows * D)), 1e-5);
  }
  /* layernorm */
  for (int64_t r = 0; r < rows; r++) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < D; i++) s += x[r * D + i];
    double mu = s / D;
    for (int64_t i = 0; i < D; i++) ss += (x[r * D + i] - mu) * (x[r * D + i] - mu);
    for (int64_t i = 0; i < D; i++)
      ref[r * D + i] = (x[r * D + i] - mu) / sqrt(ss / D + eps) * w[i] + b[i];
  }
  for (size_t i = 0; i < (size_t)(rows * D); i++) y[i] = NAN;
  rt_layernorm(x, rows, D, w, b, eps, y);
  TX_CLOSE("layernorm", tx_reldiff_f64(y, ref, (size_t)(rows * D)), 1e-5);
  free(x), free(z), free(w), free(b), free(y), free(ref);
}

/* Full-sequence conv vs the same sequence fed in pieces through the state. */
static void test_conv(int64_t K) {
  int64_t B = 2, L = 23, C = 40;
  float *x = tx_rand((size_t)(B * L * C), 1.0), *w = tx_rand((size_t)(C * K), 0.5);
  float *bias = tx_rand((size_t)C, 0.5), *y = tx_poison((size_t)(B * L * C));
  double *ref = malloc((size_t)(B * L * C) * sizeof(double));
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < L; t++)
      for (int64_t ch = 0; ch < C; ch++) {
        double acc = bias[ch];
        for (int64_t k = 0; k < K; k++) {
          int64_t s = t - (K - 1) + k;
          if (s >= 0) acc += (double)w[ch * K + k] * x[(b * L + s) * C + ch];
        }
        ref[(b * L + t) * C + ch] = acc;
      }
  rt_conv1d(x, B, L, C, w, K, bias, NULL, y);
  TX_CLOSE("conv1d stateless", tx_reldiff_f64(y, ref, (size_t)(B * L * C)), 1e-6);
  /* pieces of 1, 2 (shorter than K-1), 7 and the rest, with a state */
  float *st = calloc((size_t)(B * C * (K - 1)) + 1, sizeof(float));
  const int64_t cuts[] = {0, 1, 3, 10, L};
  for (size_t i = 0; i < (size_t)(B * L * C); i++) y[i] = NAN;
  for (int p = 0; p + 1 < 5; p++) {
    int64_t l = cuts[p + 1] - cuts[p];
    float *xp = malloc((size_t)(B * l * C) * sizeof(float)), *yp = tx_poison((size_t)(B * l * C));
    for (int64_t b = 0; b < B; b++)
      memcpy(xp + b * l * C, x + (b * L + cuts[p]) * C, (size_t)(l * C) * sizeof(float));
    rt_conv1d(xp, B, l, C, w, K, bias, st, yp);
    for (int64_t b = 0; b < B; b++)
      memcpy(y + (b * L + cuts[p]) * C, yp + b * l * C, (size_t)(l * C) * sizeof(float));
    free(xp), free(yp);
  }
  TX_CLOSE("conv1d through state", tx_reldiff_f64(y, ref, (size_t)(B * L * C)), 1e-6);
  free(x), free(w), free(bias), free(y), free(ref), free(st);
}

static double unary_ref(rt_unary_op op, double v) {
  switch (op) {
  case RT_U_SILU: return v / (1 + exp(-v));
  case RT_U_SOFTPLUS: return v > 20 ? v : log1p(exp(v));
  case RT_U_EXP: return exp(v);
  case RT_U_LOG: return log(v);
  case RT_U_GELU_ERF: return 0.5 * v * (1 + erf(v / sqrt(2.0)));
  case RT_U_GELU_TANH: return 0.5 * v * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
  case RT_U_SIGMOID: return 1 / (1 + exp(-v));
  case RT_U_NEG: return -v;
  case RT_U_CLAMP: return v < -0.5 ? -0.5 : v > 0.7 ? 0.7 : v;
  case RT_U_COPY: return v;
  }
  return NAN;
}

static void test_unary(void) {
  size_t n = 10007;
  float *x = tx_rand(n, 30.0), *y = tx_poison(n);
  x[0] = 86.0f, x[1] = -95.0f, x[2] = 0.0f; /* past the fast exp's clamp, still finite */
  double *ref = malloc(n * sizeof(double));
  for (int op = RT_U_SILU; op <= RT_U_COPY; op++) {
    float *in = x;
    float *lx = NULL;
    if (op == RT_U_LOG) { /* log on positive inputs */
      lx = malloc(n * sizeof(float));
      for (size_t i = 0; i < n; i++) lx[i] = fabsf(x[i]) + 0.1f;
      in = lx;
    }
    for (size_t i = 0; i < n; i++) {
      double v = in[i];
      ref[i] = unary_ref((rt_unary_op)op, v);
      y[i] = NAN;
    }
    rt_unary((rt_unary_op)op, in, (int64_t)n, -0.5, 0.7, y);
    /* elementwise relative error: each value stands on its own */
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
      /* relative, except near zero where float32 carries no relative accuracy */
      double d = fabs(y[i] - ref[i]) / fmax(fabs(ref[i]), 1e-3);
      if (!(d <= worst)) worst = d; /* NaN propagates */
    }
    char name[32];
    snprintf(name, sizeof name, "unary op %d", op);
    TX_CLOSE(name, worst, 2e-5);
    free(lx);
  }
  free(x), free(y), free(ref);
}

static void test_binary(void) {
  /* [2,1,5,7] op [3,1,7] -> [2,3,5,7]; and a scalar; and same shapes */
  int64_t sa[] = {2, 1, 5, 7}, sb[] = {3, 1, 7}, so[] = {2, 3, 5, 7};
  size_t no = 2 * 3 * 5 * 7;
  float *a = tx_rand(70, 1.0), *b = tx_rand(21, 1.0), *y = tx_poison(no);
  double *ref = malloc(no * sizeof(double));
  for (int op = RT_B_ADD; op <= RT_B_DIV; op++) {
    for (int64_t i0 = 0; i0 < 2; i0++)
      for (int64_t i1 = 0; i1 < 3; i1++)
        for (int64_t i2 = 0; i2 < 5; i2++)
          for (int64_t i3 = 0; i3 < 7; i3++) {
            double av = a[(i0 * 5 + i2) * 7 + i3], bv = b[i1 * 7 + i3];
            if (op == RT_B_DIV) bv = b[i1 * 7 + i3];
            double r = op == RT_B_ADD ? av + bv : op == RT_B_SUB ? av - bv : op == RT_B_MUL ? av * bv : av / bv;
            ref[((i0 * 3 + i1) * 5 + i2) * 7 + i3] = r;
          }
    ssd_ctx c;
    ssd_ctx_init(&c);
    for (size_t i = 0; i < no; i++) y[i] = NAN;
    TX_CHECK(rt_binary((rt_binary_op)op, a, 4, sa, b, 3, sb, y, 4, so, &c) == SSD_OK, "%s", c.msg);
    /* per element: division makes the max-relative measure meaningless */
    double worst = 0;
    for (size_t i = 0; i < no; i++) {
      double d = fabs(y[i] - ref[i]) / (fabs(ref[i]) + 1e-30);
      if (!(d <= worst)) worst = d;
    }
    TX_CLOSE("binary broadcast", worst, 1e-6);
  }
  ssd_ctx c;
  ssd_ctx_init(&c);
  int64_t bad[] = {4, 7};
  c.diag = NULL;
  TX_CHECK(rt_binary(RT_B_ADD, a, 4, sa, b, 2, bad, y, 4, so, &c) != SSD_OK,
           "incompatible broadcast accepted");
  free(a), free(b), free(y), free(ref);
}

static void test_split_concat(void) {
  int64_t outer = 6, inner = 3, sizes[] = {4, 1, 5};
  float *x = tx_rand((size_t)(outer * 10 * inner), 1.0);
  float *p[3], *y = tx_poison((size_t)(outer * 10 * inner));
  for (int i = 0; i < 3; i++) p[i] = tx_poison((size_t)(outer * sizes[i] * inner));
  rt_split(x, outer, inner, 3, sizes, p);
  TX_CHECK(p[1][inner * 2] == x[(2 * 10 + 4) * inner], "split picked wrong rows");
  rt_concat((const float *const *)p, 3, sizes, outer, inner, y);
  TX_CHECK(memcmp(x, y, (size_t)(outer * 10 * inner) * sizeof(float)) == 0, "concat(split(x)) != x");
  for (int i = 0; i < 3; i++) free(p[i]);
  free(x), free(y);
}

/* Float64 attention with rotary, straight from the definitions. */
static void attn_ref(const rt_attn_desc *d, const float *q, const float *k, const float *v,
                     double *y) {
  int64_t L = d->L, Dh = d->Dh, rd = d->rotary_dim, half = rd / 2;
  size_t nq = (size_t)(d->B * L * d->Hq * Dh), nk = (size_t)(d->B * L * d->Hkv * Dh);
  double *qr = malloc(nq * sizeof(double)), *kr = malloc(nk * sizeof(double));
  for (size_t i = 0; i < nq; i++) qr[i] = q[i];
  for (size_t i = 0; i < nk; i++) kr[i] = k[i];
  for (int pass = 0; pass < 2; pass++) {
    double *x = pass ? kr : qr;
    int64_t H = pass ? d->Hkv : d->Hq;
    for (int64_t b = 0; b < d->B; b++)
      for (int64_t t = 0; t < L; t++)
        for (int64_t h = 0; h < H; h++)
          for (int64_t i = 0; i < half; i++) {
            double ang = t / pow(d->rope_theta, 2.0 * i / rd);
            double *e = x + ((b * L + t) * H + h) * Dh;
            double x1 = e[i], x2 = e[i + half];
            e[i] = x1 * cos(ang) - x2 * sin(ang);
            e[i + half] = x2 * cos(ang) + x1 * sin(ang);
          }
  }
  double scale = 1 / sqrt((double)Dh);
  double *s = malloc((size_t)L * sizeof(double));
  for (int64_t b = 0; b < d->B; b++)
    for (int64_t t = 0; t < L; t++)
      for (int64_t h = 0; h < d->Hq; h++) {
        int64_t kh = h / (d->Hq / d->Hkv), n = d->causal ? t + 1 : L;
        double mx = -INFINITY, sum = 0;
        for (int64_t u = 0; u < n; u++) {
          double acc = 0;
          for (int64_t e = 0; e < Dh; e++)
            acc += qr[((b * L + t) * d->Hq + h) * Dh + e] * kr[((b * L + u) * d->Hkv + kh) * Dh + e];
          s[u] = acc * scale;
          mx = fmax(mx, s[u]);
        }
        for (int64_t u = 0; u < n; u++) sum += s[u] = exp(s[u] - mx);
        for (int64_t e = 0; e < Dh; e++) {
          double acc = 0;
          for (int64_t u = 0; u < n; u++) acc += s[u] / sum * v[((b * L + u) * d->Hkv + kh) * Dh + e];
          y[((b * L + t) * d->Hq + h) * Dh + e] = acc;
        }
      }
  free(qr), free(kr), free(s);
}

/* Whole-sequence attention, then the same through a cache in 3 pieces. */
static void test_attention(int64_t Hq, int64_t Hkv, int64_t rd) {
  rt_attn_desc d = {.B = 2, .L = 19, .Hq = Hq, .Hkv = Hkv, .Dh = 16, .rotary_dim = rd,
                    .rope_theta = 10000.0, .causal = true};
  size_t nq = (size_t)(d.B * d.L * Hq * d.Dh), nk = (size_t)(d.B * d.L * Hkv * d.Dh);
  float *q = tx_rand(nq, 1.0), *k = tx_rand(nk, 1.0), *v = tx_rand(nk, 1.0), *y = tx_poison(nq);
  double *ref = malloc(nq * sizeof(double));
  attn_ref(&d, q, k, v, ref);
  ssd_ctx c;
  ssd_ctx_init(&c);
  TX_CHECK(rt_attention(&d, q, k, v, NULL, y, &c) == SSD_OK, "%s", c.msg);
  char name[64];
  snprintf(name, sizeof name, "attention Hq=%lld Hkv=%lld rd=%lld", (long long)Hq,
           (long long)Hkv, (long long)rd);
  TX_CLOSE(name, tx_reldiff_f64(y, ref, nq), 1e-5);
  rt_kv kv = {.B = d.B, .Hkv = Hkv, .Dh = d.Dh};
  const int64_t cuts[] = {0, 7, 8, 9, d.L};
  for (size_t i = 0; i < nq; i++) y[i] = NAN;
  for (int p = 0; p + 1 < 5; p++) {
    rt_attn_desc dp = d;
    dp.L = cuts[p + 1] - cuts[p];
    size_t hq = (size_t)(Hq * d.Dh), hk = (size_t)(Hkv * d.Dh);
    float *qp = malloc((size_t)(d.B * dp.L) * hq * 4), *kp = malloc((size_t)(d.B * dp.L) * hk * 4);
    float *vp = malloc((size_t)(d.B * dp.L) * hk * 4), *yp = tx_poison((size_t)(d.B * dp.L) * hq);
    for (int64_t b = 0; b < d.B; b++) {
      memcpy(qp + b * dp.L * hq, q + (b * d.L + cuts[p]) * hq, dp.L * hq * 4);
      memcpy(kp + b * dp.L * hk, k + (b * d.L + cuts[p]) * hk, dp.L * hk * 4);
      memcpy(vp + b * dp.L * hk, v + (b * d.L + cuts[p]) * hk, dp.L * hk * 4);
    }
    TX_CHECK(rt_attention(&dp, qp, kp, vp, &kv, yp, &c) == SSD_OK, "%s", c.msg);
    for (int64_t b = 0; b < d.B; b++)
      memcpy(y + (b * d.L + cuts[p]) * hq, yp + b * dp.L * hq, dp.L * hq * 4);
    free(qp), free(kp), free(vp), free(yp);
  }
  TX_CHECK(kv.len == d.L, "cache length %lld", (long long)kv.len);
  strncat(name, " cached", sizeof name - strlen(name) - 1);
  TX_CLOSE(name, tx_reldiff_f64(y, ref, nq), 1e-5);
  rt_kv_free(&kv);
  free(q), free(k), free(v), free(y), free(ref);
}

/* NaN in, NaN out (and no undefined float->int conversion on the way). */
static void test_nan(void) {
  float x[3] = {NAN, 1.0f, -INFINITY}, y[3];
  rt_unary(RT_U_SILU, x, 3, 0, 0, y);
  TX_CHECK(isnan(y[0]) && fabsf(y[1] - 0.7310586f) < 1e-6f, "silu(NaN) = %g, silu(1) = %g", y[0], y[1]);
  rt_unary(RT_U_SIGMOID, x, 3, 0, 0, y);
  TX_CHECK(isnan(y[0]) && y[2] >= 0.0f && y[2] < 1e-30f, "sigmoid(NaN) = %g, sigmoid(-inf) = %g",
           y[0], y[2]);
}

static void test_embed(void) {
  int64_t V = 50, D = 8, ids[] = {0, 49, 7};
  float *t = tx_rand((size_t)(V * D), 1.0), *y = tx_poison(3 * (size_t)D);
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = NULL;
  TX_CHECK(rt_embed(ids, 3, t, V, D, y, &c) == SSD_OK, "%s", c.msg);
  TX_CHECK(memcmp(y + D, t + 49 * D, (size_t)D * 4) == 0, "embed row 49");
  int64_t bad[] = {3, 50}, neg[] = {-1};
  TX_CHECK(rt_embed(bad, 2, t, V, D, y, &c) == SSD_EINVAL, "id 50 of 50 accepted");
  TX_CHECK(rt_embed(neg, 1, t, V, D, y, &c) == SSD_EINVAL, "id -1 accepted");
  free(t), free(y);
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (rt_pool_init(2, &c)) return 1;
  tx_seed(1);
  test_gemm(1, 100, 77, 1);     /* decode: one row */
  test_gemm(7, 33, 5, 0);       /* edges: partial row block and panel */
  test_gemm(200, 130, 96, 1);   /* several row blocks */
  test_gemm(13, 16, 768, 0);
  test_norms();
  test_conv(4);
  test_conv(3);
  test_conv(2);
  test_unary();
  test_binary();
  test_split_concat();
  test_attention(4, 4, 16);
  test_attention(6, 2, 8);      /* GQA, partial rotary */
  test_attention(4, 1, 0);      /* MQA, no rotary */
  test_embed();
  test_nan();
  rt_pool_shutdown();
  if (tx_failures) fprintf(stderr, "%d failures\n", tx_failures);
  else printf("test_ops: all passed\n");
  return tx_failures != 0;
}
