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
 * moving result would mean a race).
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
  F_MAMBA2 = F_DT | F_A | F_ALOG | F_BIAS | F_SP | F_D,
};

typedef struct tcase {
  const char *what;
  cg_ssd_kind kind;
  int64_t batch, L, H, P, N, hx, hb, hc, hdt;
  unsigned f;
  int ps;
} tcase;

static const tcase cases[] = {
    {"mamba2 L=1", CG_SSD_CHUNKED, 1, 1, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2, 0},
    {"mamba2 L=63", CG_SSD_CHUNKED, 1, 63, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2, 0},
    {"mamba2 L=64", CG_SSD_CHUNKED, 2, 64, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2 | F_FINAL, 0},
    {"mamba2 L=65 ps16", CG_SSD_CHUNKED, 1, 65, 4, 64, 128, 4, 1, 1, 4, F_MAMBA2 | F_Z, 16},
    {"mamba2 L=1000 ps64 z final", CG_SSD_CHUNKED, 2, 1000, 6, 64, 128, 6, 1, 1, 6,
     F_MAMBA2 | F_Z | F_FINAL, 64},
    {"2.7b heads L=4100 ps32", CG_SSD_CHUNKED, 1, 4100, 8, 64, 128, 8, 1, 1, 8, F_MAMBA2 | F_FINAL, 32},
    {"groups=2 N=64 init final clamp", CG_SSD_CHUNKED, 2, 1500, 8, 32, 64, 8, 2, 2, 8,
     F_MAMBA2 | F_INIT | F_FINAL | F_CLAMP, 0},
    {"head patterns hx=2 hb=4 hc=1 hdt=2, D per channel, fp32 y", CG_SSD_CHUNKED, 1, 200, 8, 64,
     128, 2, 4, 1, 2, F_MAMBA2 | F_DCH | F_YF32 | F_FINAL, 0},
    {"N=256 ps32", CG_SSD_CHUNKED, 1, 130, 2, 64, 256, 2, 1, 1, 2, F_MAMBA2 | F_FINAL, 32},
    {"N=16 P=32", CG_SSD_CHUNKED, 1, 257, 4, 32, 16, 4, 1, 1, 4, F_MAMBA2 | F_FINAL, 0},
    /* B and C rows are 6 16-byte vectors: 128 threads do not split evenly,
     * so ssd_copy_rows takes its general (not unrolled) path. */
    {"N=48: row copies not dividing the block", CG_SSD_CHUNKED, 2, 1100, 4, 64, 48, 4, 1, 1, 4,
     F_MAMBA2 | F_Z | F_FINAL, 0},
    {"A given (not log), no softplus, init", CG_SSD_CHUNKED, 1, 700, 4, 64, 128, 4, 1, 1, 4,
     F_DT | F_A | F_D | F_INIT | F_FINAL, 0},
    {"linear attention (no dt, no A)", CG_SSD_CHUNKED, 1, 150, 2, 32, 32, 2, 1, 1, 2, F_FINAL, 0},
    {"step mamba2 bf16", CG_SSD_STEP, 3, 1, 80, 64, 128, 80, 1, 1, 80, F_MAMBA2 | F_Z, 0},
    {"step fp32 patterns", CG_SSD_STEP, 2, 1, 8, 32, 48, 2, 4, 2, 4,
     F_MAMBA2 | F_DCH | F_CLAMP | F_INF32 | F_YF32, 0},
};

static int fails;

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
} host;

static void host_free(host *h) {
  double **p[] = {&h->x, &h->dt, &h->A, &h->B, &h->C, &h->D, &h->z, &h->bias, &h->state, &h->y};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(*p[i]), *p[i] = NULL;
}

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
  if (t->kind == CG_SSD_STEP || (t->f & (F_INIT | F_FINAL))) {
    size_t n = (size_t)d->batch * d->H * PN;
    h->state = (t->kind == CG_SSD_STEP || (t->f & F_INIT)) ? gu_rand(n, 0.5, 0.0, 0, seed)
                                                           : calloc(n, sizeof(double));
  }
  return h->x && h->B && h->C && h->y ? SSD_OK : SSD_ENOMEM;
}

typedef struct dev {
  rt_cuda_ssd_args a;
} dev;

static void dev_free(rt_cuda *g, rt_cuda_ssd_args *a) {
  rt_dptr *p[] = {&a->x, &a->dt, &a->A, &a->B, &a->C, &a->D, &a->z, &a->dt_bias, &a->init, &a->state, &a->y};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) rt_cuda_free(g, *p[i]), *p[i] = 0;
}

static int upload(rt_cuda *g, const tcase *t, const rt_ssm_desc *d, const host *h,
                  const double *state0, rt_cuda_ssd_args *a, ssd_ctx *c) {
  const int bf = !(t->f & F_INF32);
  const size_t BL = (size_t)(d->batch * d->L), nstate = (size_t)(d->batch * d->H * d->P * d->N);
  const size_t ny = BL * d->H * d->P, ysz = t->f & F_YF32 ? 4 : 2;
  memset(a, 0, sizeof *a);
  int rc;
  if ((rc = gu_upload(g, h->x, BL * d->hx * d->P, bf, &a->x, c)) ||
      (rc = gu_upload(g, h->dt, BL * d->hdt, bf, &a->dt, c)) ||
      (rc = gu_upload(g, h->A, d->hdt, 0, &a->A, c)) ||
      (rc = gu_upload(g, h->B, BL * d->hb * d->N, bf, &a->B, c)) ||
      (rc = gu_upload(g, h->C, BL * d->hc * d->N, bf, &a->C, c)) ||
      (rc = gu_upload(g, h->D, d->D_per_channel ? d->H * d->P : d->H, 0, &a->D, c)) ||
      (rc = gu_upload(g, h->z, ny, bf, &a->z, c)) ||
      (rc = gu_upload(g, h->bias, d->hdt, 0, &a->dt_bias, c)))
    return rc;
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
                                     : rt_cuda_ssd_step(g, k, a, t->batch, c);
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
  rt_cuda_ssd_args a = {0};
  if (rc == SSD_OK) rc = rt_cuda_ssd_prepare(g, cc, &s, t->batch, &k, c);
  int nseg = 1;
  int64_t segc = 0;
  if (rc == SSD_OK && t->kind == CG_SSD_CHUNKED) rt_cuda_ssd_segments(g, &k, t->batch, t->L, &nseg, &segc);
  printf("%s [%s, ps %d, %d segment%s]\n", t->what, k.name, k.spec.ps, nseg, nseg > 1 ? "s" : "");
  if (rc == SSD_OK) rc = upload(g, t, &d, &h, state0, &a, c);
  if (rc == SSD_OK) rc = launch(g, &k, t, &a, c);
  double *y = malloc(ny * sizeof(double)), *st = h.state ? malloc(nst * sizeof(double)) : NULL;
  size_t nonfin = 0;
  /* bf16 y carries 2^-9 rounding; the chunked kernel also rounds its
   * intra-chunk kernel and the state it reads to bf16 (as mamba_ssm does). */
  if (rc == SSD_OK && (rc = download(g, a.y, ny, t->f & F_YF32, y, c)) == SSD_OK) {
    double e = relerr(y, h.y, ny, &nonfin);
    check_err(t->what, "y", e, nonfin,
              t->kind == CG_SSD_STEP ? (t->f & F_YF32 ? 2e-5 : 8e-3) : 1.5e-2);
  }
  if (rc == SSD_OK && a.state && (rc = download(g, a.state, nst, 1, st, c)) == SSD_OK) {
    double e = relerr(st, h.state, nst, &nonfin);
    check_err(t->what, "state", e, nonfin, t->kind == CG_SSD_STEP ? 2e-5 : 1.5e-2);
  }
  /* determinism: the same inputs give the same bits */
  if (rc == SSD_OK && t->kind == CG_SSD_CHUNKED) {
    double *y2 = malloc(ny * sizeof(double));
    rc = rt_cuda_memset8(g, a.y, 0xff, ny * (t->f & F_YF32 ? 4 : 2), c);
    if (rc == SSD_OK) rc = launch(g, &k, t, &a, c);
    if (rc == SSD_OK) rc = download(g, a.y, ny, t->f & F_YF32, y2, c);
    if (rc == SSD_OK && memcmp(y, y2, ny * sizeof(double)) != 0) {
      fprintf(stderr, "FAIL: %s: second run differs (race?)\n", t->what);
      fails++;
    }
    free(y2);
  }
  free(y);
  free(st);
  free(state0);
  dev_free(g, &a);
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
  if (rt_cuda_ssd_step(g, &k, &a, 1, &q) != SSD_EINVAL) fails++, fprintf(stderr, "FAIL: wrong kind accepted\n");
  rt_cuda_ssd_release(g, &k);
  fclose(q.diag);
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_cuda *g;
  if (rt_cuda_open(&g, 0, &c) != SSD_OK) return 1;
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
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fails++;
  rt_cuda_close(g);
  printf(fails ? "test_ssd_gpu: %d FAILURES\n" : "test_ssd_gpu: all passed%.0d\n", fails);
  return fails != 0;
}
