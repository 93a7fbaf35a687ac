/* rt_ssm_ref.c: descriptor validation and the float64 reference mixer.
 *
 * rt_ssm_check is the gate every form (CPU here, CUDA elsewhere) passes a
 * descriptor through before touching memory: positive sizes, operand heads
 * that divide H, flags that make sense together, and element counts that fit
 * in memory arithmetic.  rt_ssm_ref_f64 is the oracle: the recurrence of
 * rt_ssm.h run token by token in double, written for clarity, not speed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_ssm.h"
#include "rt_ssm_impl.h"

/* Elements in any one operand must stay far below SIZE_MAX / sizeof(double). */
#define RT_SSM_MAX_ELEMS ((uint64_t)1 << 56)

static int check_prod(const char *what, int64_t a, int64_t b, int64_t c, int64_t e, ssd_ctx *cx) {
  uint64_t n = 1;
  if (!ssd_mul_ok(n, (uint64_t)a, &n) || !ssd_mul_ok(n, (uint64_t)b, &n) ||
      !ssd_mul_ok(n, (uint64_t)c, &n) || !ssd_mul_ok(n, (uint64_t)e, &n) || n > RT_SSM_MAX_ELEMS)
    return ssd_err(cx, SSD_EINVAL,
                   "ssm: %s has %lld x %lld x %lld x %lld elements, which is too many", what,
                   (long long)a, (long long)b, (long long)c, (long long)e);
  return SSD_OK;
}

static int check_heads(const char *name, int64_t hk, int64_t H, ssd_ctx *c) {
  if (hk < 1 || hk > H || H % hk != 0)
    return ssd_err(c, SSD_EINVAL, "ssm: %s = %lld operand heads must divide H = %lld", name,
                   (long long)hk, (long long)H);
  return SSD_OK;
}

static int check_flags(const rt_ssm_desc *d, ssd_ctx *c) {
  if (d->has_dt_bias && !d->has_dt)
    return ssd_err(c, SSD_EINVAL, "ssm: a dt bias was given without dt");
  if (d->dt_softplus && !d->has_dt)
    return ssd_err(c, SSD_EINVAL, "ssm: dt softplus was asked for without dt");
  if (d->A_is_log && !d->has_A) return ssd_err(c, SSD_EINVAL, "ssm: A_is_log set without A");
  if (d->D_per_channel && !d->has_D)
    return ssd_err(c, SSD_EINVAL, "ssm: D_per_channel set without D");
  if (d->s6 && !d->has_A)
    return ssd_err(c, SSD_EINVAL, "ssm: an S6 mixer needs A (its per-state decay)");
  if (d->has_dt) {
    /* NaN fails both comparisons' negations below. */
    if (!(d->dt_min >= 0.0) || !(d->dt_max >= d->dt_min))
      return ssd_err(c, SSD_EINVAL, "ssm: dt limits (%g, %g) must satisfy 0 <= min <= max",
                     d->dt_min, d->dt_max);
  }
  return SSD_OK;
}

int rt_ssm_check(const rt_ssm_desc *d, ssd_ctx *c) {
  if (!d) return ssd_err(c, SSD_EINVAL, "ssm: no descriptor");
  if (d->s6 != 0 && d->s6 != 1)
    return ssd_err(c, SSD_EINVAL, "ssm: s6 must be 0 or 1, not %d", d->s6);
  const struct {
    const char *name;
    int64_t v;
  } pos[] = {{"batch", d->batch}, {"L", d->L}, {"H", d->H}, {"P", d->P}, {"N", d->N}};
  for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
    if (pos[i].v < 1)
      return ssd_err(c, SSD_EINVAL, "ssm: %s = %lld must be at least 1", pos[i].name,
                     (long long)pos[i].v);
  int rc;
  if ((rc = check_heads("hx", d->hx, d->H, c)) || (rc = check_heads("hb", d->hb, d->H, c)) ||
      (rc = check_heads("hc", d->hc, d->H, c)))
    return rc;
  if ((d->has_dt || d->has_A) && (rc = check_heads("hdt", d->hdt, d->H, c))) return rc;
  if ((rc = check_flags(d, c))) return rc;
  if ((rc = check_prod("x", d->batch, d->L, d->hx, d->P, c)) ||
      (rc = check_prod("y", d->batch, d->L, d->H, d->P, c)) ||
      (rc = check_prod("B", d->batch, d->L, d->hb, d->N, c)) ||
      (rc = check_prod("C", d->batch, d->L, d->hc, d->N, c)) ||
      (rc = check_prod("state", d->batch, d->H, d->P, d->N, c)) ||
      (rc = check_prod("A", d->H, d->N, 1, 1, c)) ||
      (rc = check_prod("dt", d->batch, d->L, d->H, 1, c)))
    return rc;
  return SSD_OK;
}

int rt_ssm_check_ptrs(const rt_ssm_desc *d, const void *const p[RT_SSM_NPTR], ssd_ctx *c) {
  static const char *names[RT_SSM_NPTR] = {"x", "dt", "A", "B", "C", "D", "z", "dt_bias", "y"};
  const bool need[RT_SSM_NPTR] = {true,     d->has_dt, d->has_A,       true, true,
                                  d->has_D, d->has_z,  d->has_dt_bias, true};
  for (int i = 0; i < RT_SSM_NPTR; i++) {
    if (need[i] && !p[i])
      return ssd_err(c, SSD_EINVAL, "ssm: operand %s is required by the descriptor but NULL",
                     names[i]);
    if (!need[i] && p[i])
      return ssd_err(c, SSD_EINVAL, "ssm: operand %s was given but the descriptor does not use it",
                     names[i]);
  }
  return SSD_OK;
}

/* ---- the reference ------------------------------------------------------ */

static double ref_dt(const rt_ssm_desc *d, const rt_ssm_args64 *a, int64_t b, int64_t t,
                     int64_t hd) {
  if (!d->has_dt) return 1.0;
  double v = a->dt[(b * d->L + t) * d->hdt + hd];
  if (d->has_dt_bias) v += a->dt_bias[hd];
  if (d->dt_softplus && v <= 20.0) v = log1p(exp(v));
  return rt_ssm_dt_clamped(d) ? fmin(fmax(v, d->dt_min), d->dt_max) : v;
}

static double ref_A(const rt_ssm_desc *d, const rt_ssm_args64 *a, int64_t hd, int64_t n) {
  if (!d->has_A) return 0.0;
  double v = a->A[d->s6 ? hd * d->N + n : hd];
  return d->A_is_log ? -exp(v) : v;
}

static void ref_head(const rt_ssm_desc *d, const rt_ssm_args64 *a, int64_t b, int64_t h,
                     double *s) {
  const int64_t P = d->P, N = d->N, H = d->H;
  const int64_t ix = h / (H / d->hx), ib = h / (H / d->hb), ic = h / (H / d->hc);
  const int64_t hd = d->has_dt || d->has_A ? h / (H / d->hdt) : 0;
  for (int64_t t = 0; t < d->L; t++) {
    const double dt = ref_dt(d, a, b, t, hd);
    const double *x = a->x + ((b * d->L + t) * d->hx + ix) * P;
    const double *B = a->B + ((b * d->L + t) * d->hb + ib) * N;
    const double *C = a->C + ((b * d->L + t) * d->hc + ic) * N;
    double *y = a->y + ((b * d->L + t) * H + h) * P;
    for (int64_t p = 0; p < P; p++) {
      double acc = 0.0;
      for (int64_t n = 0; n < N; n++) {
        double *sp = &s[p * N + n];
        *sp = exp(dt * ref_A(d, a, hd, n)) * *sp + dt * x[p] * B[n];
        acc += *sp * C[n];
      }
      if (d->has_D) acc += a->D[d->D_per_channel ? h * P + p : h] * x[p];
      if (d->has_z) {
        double z = a->z[((b * d->L + t) * H + h) * P + p];
        acc *= z / (1.0 + exp(-z));
      }
      y[p] = acc;
    }
  }
}

int rt_ssm_ref_f64(const rt_ssm_desc *d, const rt_ssm_args64 *a, ssd_ctx *c) {
  int rc = rt_ssm_check(d, c);
  if (rc) return rc;
  const void *ptrs[RT_SSM_NPTR] = {a->x, a->dt, a->A, a->B, a->C, a->D, a->z, a->dt_bias, a->y};
  if ((rc = rt_ssm_check_ptrs(d, ptrs, c))) return rc;
  const size_t PN = (size_t)(d->P * d->N);
  double *s = malloc(PN * sizeof *s);
  if (!s) return ssd_err(c, SSD_ENOMEM, "ssm: out of memory for the reference state");
  for (int64_t b = 0; b < d->batch; b++)
    for (int64_t h = 0; h < d->H; h++) {
      double *st = a->state ? a->state + (b * d->H + h) * (int64_t)PN : NULL;
      if (st)
        memcpy(s, st, PN * sizeof *s);
      else
        memset(s, 0, PN * sizeof *s);
      ref_head(d, a, b, h, s);
      if (st) memcpy(st, s, PN * sizeof *s);
    }
  free(s);
  return SSD_OK;
}
