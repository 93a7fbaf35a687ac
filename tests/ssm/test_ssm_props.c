/* test_ssm_props.c: property tests of the three f32 mixer forms against the
 * float64 reference (rt_ssm_ref_f64).
 *
 * Every case draws fresh random operands (seed printed; SSM_SEED=<n> replays
 * one), runs the reference in double on the same float-rounded inputs, then
 * each form with y poisoned by NaN, and requires
 * max|y - y_ref| / max|y_ref| <= TOL and the same for the final state (NaN
 * anywhere fails).  The cases cover the lengths around the chunk size, every
 * operand-head pattern, S6, linear attention, fixed decay, D, the z gate, dt
 * limits, initial and final states, batch > 1, and prefill in two pieces
 * with the state carried across.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt_pool.h"
#include "rt_ssm.h"

#define TOL 1e-5

static uint64_t g_rng, g_seed0;
static int g_failures, g_checks;
static double g_worst; /* the largest relative error that passed */

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unif(double lo, double hi) {
  return lo + (hi - lo) * ((double)(rng_next() >> 11) / 9007199254740992.0);
}

/* One operand in both precisions: f64 holds the float-rounded values. */
typedef struct buf {
  int64_t n;
  float *f;
  double *d;
} buf;

static buf buf_rand(int64_t n, double lo, double hi) {
  buf b = {n, malloc((size_t)n * sizeof(float)), malloc((size_t)n * sizeof(double))};
  if (!b.f || !b.d) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (int64_t i = 0; i < n; i++) {
    b.f[i] = (float)unif(lo, hi);
    b.d[i] = b.f[i];
  }
  return b;
}
static void buf_free(buf *b) {
  free(b->f);
  free(b->d);
  b->f = NULL;
  b->d = NULL;
}

typedef struct ops {
  buf x, dt, A, B, C, D, z, bias, s0;
  int64_t ny, ns;
} ops;

static ops ops_new(const rt_ssm_desc *d, double dt_lo, double dt_hi) {
  ops o = {0};
  const int64_t nk = d->s6 ? d->N : 1;
  o.x = buf_rand(d->batch * d->L * d->hx * d->P, -1, 1);
  o.B = buf_rand(d->batch * d->L * d->hb * d->N, -1, 1);
  o.C = buf_rand(d->batch * d->L * d->hc * d->N, -1, 1);
  if (d->has_dt) o.dt = buf_rand(d->batch * d->L * d->hdt, dt_lo, dt_hi);
  if (d->has_dt_bias) o.bias = buf_rand(d->hdt, -1, 0.5);
  /* A_log in [0, log 16] as Mamba-2's init; a raw A is a mild fixed decay. */
  if (d->has_A)
    o.A = d->A_is_log ? buf_rand(d->hdt * nk, 0, 2.77) : buf_rand(d->hdt * nk, -0.5, -0.01);
  if (d->has_D) o.D = buf_rand(d->D_per_channel ? d->H * d->P : d->H, -1, 1);
  if (d->has_z) o.z = buf_rand(d->batch * d->L * d->H * d->P, -3, 3);
  o.s0 = buf_rand(d->batch * d->H * d->P * d->N, -1, 1);
  o.ny = d->batch * d->L * d->H * d->P;
  o.ns = d->batch * d->H * d->P * d->N;
  return o;
}
static void ops_free(ops *o) {
  buf *all[] = {&o->x, &o->dt, &o->A, &o->B, &o->C, &o->D, &o->z, &o->bias, &o->s0};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) buf_free(all[i]);
}

static rt_ssm_args args_f(const ops *o, float *y, float *state) {
  return (rt_ssm_args){o->x.f, o->dt.f, o->A.f,    o->B.f, o->C.f,
                       o->D.f, o->z.f,  o->bias.f, state,  y};
}

/* max|a - ref| / max|ref|, or INFINITY if a has a NaN where ref does not. */
static double rel_err(const float *a, const double *ref, int64_t n, int64_t *where) {
  double md = 0, mr = 0;
  *where = -1;
  for (int64_t i = 0; i < n; i++) {
    double diff = fabs((double)a[i] - ref[i]);
    if (!(diff <= md)) {
      if (isnan(diff)) {
        *where = i;
        return INFINITY;
      }
      md = diff;
      *where = i;
    }
    if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
  }
  return mr > 0 ? md / mr : md;
}

static void expect_close(const char *name, const char *form, const char *what, const float *a,
                         const double *ref, int64_t n, uint64_t seed) {
  int64_t at;
  double e = rel_err(a, ref, n, &at);
  g_checks++;
  if (e <= TOL && e > g_worst) g_worst = e;
  if (!(e <= TOL)) {
    g_failures++;
    fprintf(stderr,
            "FAIL %s [%s] %s: rel err %.3g > %.1g (worst at %" PRId64
            ": got %.9g want %.9g); "
            "replay with SSM_SEED=%" PRIu64 "\n",
            name, form, what, e, TOL, at, at >= 0 ? a[at] : 0.0, at >= 0 ? ref[at] : 0.0, seed);
  }
}

typedef int (*form_fn)(const rt_ssm_desc *, const rt_ssm_args *, ssd_ctx *);
static const struct {
  const char *name;
  form_fn fn;
  int64_t chunk; /* 0: keep the descriptor's */
} FORMS[] = {{"recurrent", rt_ssm_recurrent, 0},
             {"quadratic", rt_ssm_quadratic, 0},
             {"chunked", rt_ssm_chunked, 0},
             {"chunked-Q7", rt_ssm_chunked, 7}};
enum { NFORMS = sizeof FORMS / sizeof FORMS[0] };

static void run_or_die(form_fn fn, const rt_ssm_desc *d, const rt_ssm_args *a, const char *what) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  int rc = fn(d, a, &c);
  if (rc) {
    fprintf(stderr, "FAIL %s: %s: %s\n", what, ssd_status_name(rc), c.msg);
    exit(1);
  }
}

/* The case: reference once, then each form in mask (bit f: FORMS[f]) with
 * and without states. */
static void check_forms(const char *name, rt_ssm_desc d, double dt_lo, double dt_hi,
                        unsigned mask) {
  const uint64_t seed = g_seed0;
  ops o = ops_new(&d, dt_lo, dt_hi);
  double *yref = malloc((size_t)o.ny * sizeof *yref), *sref = malloc((size_t)o.ns * sizeof *sref);
  double *yref0 = malloc((size_t)o.ny * sizeof *yref0);
  float *y = malloc((size_t)o.ny * sizeof *y), *st = malloc((size_t)o.ns * sizeof *st);
  memcpy(sref, o.s0.d, (size_t)o.ns * sizeof *sref);
  rt_ssm_args64 a64 = {o.x.d, o.dt.d, o.A.d, o.B.d, o.C.d, o.D.d, o.z.d, o.bias.d, sref, yref};
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (rt_ssm_ref_f64(&d, &a64, &c)) {
    fprintf(stderr, "FAIL %s: reference: %s\n", name, c.msg);
    exit(1);
  }
  a64.state = NULL; /* zero initial state, no final state */
  a64.y = yref0;
  rt_ssm_ref_f64(&d, &a64, &c);
  for (int f = 0; f < NFORMS; f++) {
    if (!(mask >> f & 1)) continue;
    rt_ssm_desc df = d;
    if (FORMS[f].chunk) df.chunk = FORMS[f].chunk;
    for (int64_t i = 0; i < o.ny; i++) y[i] = NAN;
    memcpy(st, o.s0.f, (size_t)o.ns * sizeof *st);
    rt_ssm_args a = args_f(&o, y, st);
    run_or_die(FORMS[f].fn, &df, &a, name);
    expect_close(name, FORMS[f].name, "y (initial state)", y, yref, o.ny, seed);
    expect_close(name, FORMS[f].name, "final state", st, sref, o.ns, seed);
    for (int64_t i = 0; i < o.ny; i++) y[i] = NAN;
    a.state = NULL;
    run_or_die(FORMS[f].fn, &df, &a, name);
    expect_close(name, FORMS[f].name, "y (no state)", y, yref0, o.ny, seed);
  }
  free(yref);
  free(yref0);
  free(sref);
  free(y);
  free(st);
  ops_free(&o);
}

static void check_case(const char *name, rt_ssm_desc d, double dt_lo, double dt_hi) {
  check_forms(name, d, dt_lo, dt_hi, ~0u);
}

/* Copy tokens [t0, t0 + n) of a [batch, L, k] operand into [batch, n, k]. */
static float *slice(const float *src, int64_t batch, int64_t L, int64_t k, int64_t t0, int64_t n) {
  if (!src) return NULL;
  float *dst = malloc((size_t)(batch * n * k) * sizeof *dst);
  for (int64_t b = 0; b < batch; b++)
    memcpy(dst + b * n * k, src + (b * L + t0) * k, (size_t)(n * k) * sizeof *dst);
  return dst;
}

/* Prefill in two pieces with the state carried equals one run (per form). */
static void check_split(const char *name, rt_ssm_desc d, int64_t L1) {
  const uint64_t seed = g_seed0;
  ops o = ops_new(&d, -4, 1);
  const int64_t HP = d.H * d.P;
  float *y = malloc((size_t)o.ny * sizeof *y), *st = malloc((size_t)o.ns * sizeof *st);
  double *y1 = malloc((size_t)o.ny * sizeof *y1), *s1 = malloc((size_t)o.ns * sizeof *s1);
  float *yh = malloc((size_t)o.ny * sizeof *yh), *sh = malloc((size_t)o.ns * sizeof *sh);
  for (int f = 0; f < NFORMS; f++) {
    rt_ssm_desc df = d;
    if (FORMS[f].chunk) df.chunk = FORMS[f].chunk;
    memcpy(st, o.s0.f, (size_t)o.ns * sizeof *st);
    rt_ssm_args a = args_f(&o, y, st);
    run_or_die(FORMS[f].fn, &df, &a, name);
    for (int64_t i = 0; i < o.ny; i++) y1[i] = y[i];
    for (int64_t i = 0; i < o.ns; i++) s1[i] = st[i];
    memcpy(sh, o.s0.f, (size_t)o.ns * sizeof *sh);
    for (int half = 0; half < 2; half++) {
      const int64_t t0 = half ? L1 : 0, n = half ? d.L - L1 : L1;
      rt_ssm_desc dh = df;
      dh.L = n;
      float *x = slice(o.x.f, d.batch, d.L, d.hx * d.P, t0, n);
      float *B = slice(o.B.f, d.batch, d.L, d.hb * d.N, t0, n);
      float *C = slice(o.C.f, d.batch, d.L, d.hc * d.N, t0, n);
      float *dt = slice(o.dt.f, d.batch, d.L, d.hdt, t0, n);
      float *z = slice(o.z.f, d.batch, d.L, HP, t0, n);
      float *yp = malloc((size_t)(d.batch * n * HP) * sizeof *yp);
      for (int64_t i = 0; i < d.batch * n * HP; i++) yp[i] = NAN;
      rt_ssm_args a2 = {x, dt, o.A.f, B, C, o.D.f, z, o.bias.f, sh, yp};
      run_or_die(FORMS[f].fn, &dh, &a2, name);
      for (int64_t b = 0; b < d.batch; b++)
        memcpy(yh + (b * d.L + t0) * HP, yp + b * n * HP, (size_t)(n * HP) * sizeof *yh);
      free(x), free(B), free(C), free(dt), free(z), free(yp);
    }
    expect_close(name, FORMS[f].name, "y (two pieces vs one)", yh, y1, o.ny, seed);
    expect_close(name, FORMS[f].name, "state (two pieces vs one)", sh, s1, o.ns, seed);
  }
  free(y), free(st), free(y1), free(s1), free(yh), free(sh);
  ops_free(&o);
}

/* Mamba-2-like SSD defaults: dt with bias and softplus, A_log, D, z. */
static rt_ssm_desc ssd(int64_t batch, int64_t L, int64_t H, int64_t P, int64_t N, int64_t hx,
                       int64_t hb, int64_t hc, int64_t Q) {
  return (rt_ssm_desc){.s6 = 0,
                       .batch = batch,
                       .L = L,
                       .H = H,
                       .P = P,
                       .N = N,
                       .hx = hx,
                       .hb = hb,
                       .hc = hc,
                       .hdt = H,
                       .has_dt = true,
                       .has_A = true,
                       .has_D = true,
                       .has_z = true,
                       .has_dt_bias = true,
                       .dt_softplus = true,
                       .A_is_log = true,
                       .dt_min = 0.0,
                       .dt_max = INFINITY,
                       .chunk = Q};
}

/* Mamba-1-like S6: channels are heads of dim P, A [channels, N]. */
static rt_ssm_desc s6(int64_t batch, int64_t L, int64_t H, int64_t P, int64_t N, int64_t Q) {
  rt_ssm_desc d = ssd(batch, L, H, P, N, H, 1, 1, Q);
  d.s6 = 1;
  return d;
}

int main(void) {
  const char *env = getenv("SSM_SEED");
  g_rng = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  g_seed0 = g_rng;
  printf("ssm props: seed %" PRIu64 " (SSM_SEED=<seed> replays a run)\n", g_rng);
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (rt_pool_init(3, &c)) {
    fprintf(stderr, "pool: %s\n", c.msg);
    return 1;
  }
  char name[128];
  /* Lengths around the chunk size, for two chunk sizes. */
  const int64_t Qs[] = {16, 64};
  for (int qi = 0; qi < 2; qi++) {
    const int64_t Q = Qs[qi], Ls[] = {1, Q - 1, Q, Q + 1, 3 * Q + 5};
    for (int li = 0; li < 5; li++) {
      snprintf(name, sizeof name, "ssd L=%lld Q=%lld", (long long)Ls[li], (long long)Q);
      check_case(name,
                 qi ? ssd(1, Ls[li], 4, 32, 64, 4, 1, 1, Q) : ssd(1, Ls[li], 4, 16, 16, 4, 1, 1, Q),
                 -4, 1);
    }
  }
  /* Head patterns: MVA, GVA (G = 2), MQA, MKA, MHS, and G = 2 with hx < H. */
  static const struct {
    const char *n;
    int64_t hx, hb, hc;
  } pat[] = {{"MVA", 8, 1, 1}, {"GVA G=2", 8, 2, 2}, {"MQA", 1, 1, 8},
             {"MKA", 1, 8, 1}, {"MHS", 8, 8, 8},     {"mixed hx=2 hb=4 hc=2", 2, 4, 2}};
  for (size_t i = 0; i < sizeof pat / sizeof pat[0]; i++) {
    snprintf(name, sizeof name, "ssd %s", pat[i].n);
    check_case(name, ssd(1, 53, 8, 16, 32, pat[i].hx, pat[i].hb, pat[i].hc, 16), -4, 1);
  }
  /* Realistic Mamba-2 head: P 64, N 64, two batch rows, a dt head per 2 heads. */
  rt_ssm_desc d = ssd(2, 150, 4, 64, 64, 4, 1, 1, 64);
  d.hdt = 2;
  check_case("ssd batch=2 P=64 N=64 hdt=2", d, -4, 1);
  /* S6: P = 1 with hundreds of channels, and P > 1. */
  check_case("s6 P=1 H=256 N=16", s6(1, 37, 256, 1, 16, 16), -4, 1);
  check_case("s6 P=1 H=192 N=16 batch=2", s6(2, 70, 192, 1, 16, 64), -4, 1);
  check_case("s6 P=8 H=4 N=16", s6(1, 33, 4, 8, 16, 16), -4, 1);
  /* Linear attention: no dt, no A (decay 1); fixed decay: A, no dt. */
  d = ssd(1, 45, 4, 16, 32, 4, 1, 1, 16);
  d.has_dt = d.has_dt_bias = d.dt_softplus = d.has_A = d.A_is_log = false;
  check_case("linear attention", d, 0, 0);
  d.has_A = true;
  check_case("fixed decay", d, 0, 0);
  /* D per channel, no z; no D, z; neither. */
  d = ssd(1, 40, 4, 16, 32, 4, 2, 2, 16);
  d.D_per_channel = true;
  d.has_z = false;
  check_case("D [H,P], no gate", d, -4, 1);
  d.has_D = d.D_per_channel = false;
  d.has_z = true;
  check_case("no D, gate", d, -4, 1);
  /* dt limits, and raw dt beyond the softplus threshold (20). */
  d = ssd(1, 40, 4, 16, 32, 4, 1, 1, 16);
  d.dt_min = 0.05;
  d.dt_max = 0.3;
  check_case("dt limits (0.05, 0.3)", d, -6, 25);
  d.dt_min = 0.0;
  d.dt_max = INFINITY;
  check_case("dt softplus linear region", d, 15, 25);
  d.dt_softplus = d.has_dt_bias = false;
  check_case("dt without softplus", d, 0.0, 0.2);
  /* Long chunks with 8 cells of Gram blocks: the chunked form's 32 MiB
   * Gram buffer holds one chunk at a time, so it runs three windows. */
  check_forms("ssd MHS Q=1024 L=2053 (windows)", ssd(1, 2053, 8, 16, 16, 8, 8, 8, 1024), -4, 1,
              1u << 0 | 1u << 2);
  /* Prefill in two pieces, splitting inside and at chunk boundaries. */
  check_split("split ssd at 37 of 100", ssd(2, 100, 4, 16, 32, 4, 2, 2, 16), 37);
  check_split("split ssd at 64 of 130", ssd(1, 130, 4, 32, 64, 4, 1, 1, 64), 64);
  check_split("split s6 at 21 of 50", s6(1, 50, 64, 1, 16, 16), 21);
  rt_pool_shutdown();
  printf("ssm props: %d checks, %d failures, worst passing rel err %.3g (tol %.0e)\n", g_checks,
         g_failures, g_worst, TOL);
  return g_failures ? 1 : 0;
}
