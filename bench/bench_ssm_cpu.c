/* bench_ssm_cpu.c: times the three CPU mixer forms against sequence length
 * and fits the cost model that algorithm selection uses on the CPU.
 *
 *   bench_ssm_cpu OUT.json [--cost-out FILE] [--threads N] [--max-seconds S] [--rounds R]
 *
 * Two layers: a mamba2-130m mixer (SSD, H 24, P 64, N 128, one group) and
 * a mamba-130m-like S6 mixer (1536 channels, N 16), batch 1, initial and
 * final states on.  For each form and L it reports the best of several runs
 * (over --rounds sweeps, default 3: the machine is shared) and a work count
 * (multiply-adds the form does, formulas in bench/NOTES.md);
 * then fits seconds = overhead + per_unit * work per form by least squares
 * on relative error.  A form is skipped at lengths where its previous time
 * scaled by work would pass --max-seconds.  Prints a table and writes JSON.
 *
 * Last, it fits the constants of the algorithm-selection cost model
 * (passes/pass_cost.c, keys in passes/COST_MODEL.md) to the SSD timings:
 * flops, scan_flops and launch by least squares on relative error, with
 * step_latency and bytes at their defaults (their terms are a few percent
 * here and not separable from the others), and chunk = the best measured
 * Q at the longest L.  --cost-out writes them as `key = value` lines that
 * `ssdc dump --cost-model FILE` or $SSDC_COST_MODEL read.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_pool.h"
#include "rt_ssm.h"

typedef int (*form_fn)(const rt_ssm_desc *, const rt_ssm_args *, ssd_ctx *);

typedef struct form {
  const char *name;
  form_fn fn;
  int64_t chunk;
} form;

static const form FORMS[] = {{"recurrent", rt_ssm_recurrent, 0}, {"quadratic", rt_ssm_quadratic, 0},
                             {"chunked", rt_ssm_chunked, 32},    {"chunked", rt_ssm_chunked, 64},
                             {"chunked", rt_ssm_chunked, 128},   {"chunked", rt_ssm_chunked, 256}};
enum { NFORMS = sizeof FORMS / sizeof FORMS[0] };
static const int64_t LS[] = {1, 16, 64, 256, 1024, 2048, 4096};
enum { NL = sizeof LS / sizeof LS[0] };

/* Multiply-adds of each form (see bench/NOTES.md). */
static double work_of(const rt_ssm_desc *d, const form *f) {
  const double B = (double)d->batch, L = (double)d->L, H = (double)d->H, P = (double)d->P,
               N = (double)d->N;
  /* Gram rows are shared by heads with the same B and C heads (SSD only). */
  const double gram = d->s6 ? H * N : (double)(d->hb > d->hc ? d->hb : d->hc) * N;
  const double perpair = d->s6 ? H * (N + P) : gram + H * P;
  if (f->fn == rt_ssm_recurrent) return B * L * H * P * N;
  if (f->fn == rt_ssm_quadratic) return B * (L * (L + 1) / 2 * perpair + 2 * L * H * P * N);
  const double Q = (double)f->chunk < L ? (double)f->chunk : L;
  return B * (L * (Q + 1) / 2 * perpair + 2 * L * H * P * N);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *rnd(int64_t n, float lo, float hi, unsigned *seed) {
  float *p = malloc((size_t)n * sizeof *p);
  if (!p) {
    fprintf(stderr, "bench: out of memory\n");
    exit(2);
  }
  for (int64_t i = 0; i < n; i++) {
    *seed = *seed * 1664525u + 1013904223u;
    p[i] = lo + (hi - lo) * (float)(*seed >> 8) / 16777216.0f;
  }
  return p;
}

/* Best-of-runs seconds for one call, or -1 on error. */
static double time_form(const form *f, rt_ssm_desc d, const rt_ssm_args *a, int64_t nstate) {
  d.chunk = f->chunk;
  ssd_ctx c;
  ssd_ctx_init(&c);
  double best = INFINITY, spent = 0;
  for (int rep = 0; rep < 2000 && (rep < 3 || spent < 0.3); rep++) {
    memset(a->state, 0, (size_t)nstate * sizeof(float));
    double t0 = now();
    if (f->fn(&d, a, &c)) {
      fprintf(stderr, "bench: %s: %s\n", f->name, c.msg);
      return -1;
    }
    double t = now() - t0;
    spent += t;
    if (rep > 0 || t > 0.3) best = t < best ? t : best; /* first run warms up */
  }
  return best;
}

/* ---- output ---------------------------------------------------------------- */
typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void out(sbuf *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (s->n + (size_t)k + 1 > s->cap) {
    s->cap = (s->n + (size_t)k + 1) * 2;
    s->p = realloc(s->p, s->cap);
    if (!s->p) exit(2);
  }
  va_start(ap, fmt);
  vsnprintf(s->p + s->n, (size_t)k + 1, fmt, ap);
  va_end(ap);
  s->n += (size_t)k;
}

typedef struct point {
  double w, t;
} point;

/* Every SSD timing, for the cost-model fit at the end. */
typedef struct sample {
  int64_t L, chunk;
  form_fn fn;
  double t;
} sample;
static sample g_samples[64];
static int g_nsamples;

/* seconds = c0 + k * work, minimising squared relative error. */
static void fit(const point *p, int n, double *c0, double *k) {
  double a = 0, b = 0, cc = 0, d = 0, e = 0;
  for (int i = 0; i < n; i++) {
    const double wt = 1.0 / (p[i].t * p[i].t);
    a += wt, b += wt * p[i].w, cc += wt * p[i].w * p[i].w;
    d += wt * p[i].t, e += wt * p[i].w * p[i].t;
  }
  const double det = a * cc - b * b;
  *c0 = det != 0 ? (cc * d - b * e) / det : 0;
  *k = det != 0 ? (a * e - b * d) / det : 0;
  if (*c0 < 0 || det == 0) { /* no overhead visible: fit through zero */
    *c0 = 0;
    *k = cc > 0 ? e / cc : 0;
  }
}

static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10)) {
      char *c = strchr(line, ':');
      if (c) {
        c += 2;
        c[strcspn(c, "\n")] = 0;
        snprintf(buf, n, "%s", c);
      }
      break;
    }
  fclose(f);
}

/* Best time of each (form, L) over `rounds` sweeps: the machine is shared,
 * and sweeping again catches each point in a quieter moment.  -1: skipped
 * (the previous length's time scaled by work would pass max_s). */
static void sweep(rt_ssm_desc d, const rt_ssm_args *a, int64_t nstate, double max_s, int rounds,
                  double t[NFORMS][NL]) {
  for (int fi = 0; fi < NFORMS; fi++)
    for (int li = 0; li < NL; li++) t[fi][li] = INFINITY;
  for (int r = 0; r < rounds; r++)
    for (int fi = 0; fi < NFORMS; fi++) {
      const form *f = &FORMS[fi];
      double prev_t = 0, prev_w = 0;
      for (int li = 0; li < NL; li++) {
        d.L = LS[li];
        const double w = work_of(&d, f);
        if ((d.s6 && f->chunk > 64) || t[fi][li] < 0 ||
            (r == 0 && prev_t > 0 && prev_t * w / prev_w > max_s)) {
          t[fi][li] = -1;
          continue;
        }
        const double tt = time_form(f, d, a, nstate);
        if (tt < 0) exit(1);
        t[fi][li] = tt < t[fi][li] ? tt : t[fi][li];
        prev_t = tt, prev_w = w;
      }
    }
}

static void bench_layer(const char *name, rt_ssm_desc d, double max_s, int rounds, sbuf *js,
                        sbuf *fits, int *first_fit) {
  unsigned seed = 12345;
  const int64_t Lmax = LS[NL - 1], nk = d.s6 ? d.N : 1;
  const int64_t nstate = d.batch * d.H * d.P * d.N;
  rt_ssm_args a = {
      .x = rnd(d.batch * Lmax * d.hx * d.P, -1, 1, &seed),
      .dt = rnd(d.batch * Lmax * d.hdt, -4, 0, &seed),
      .A = rnd(d.hdt * nk, 0, 2.7f, &seed),
      .B = rnd(d.batch * Lmax * d.hb * d.N, -1, 1, &seed),
      .C = rnd(d.batch * Lmax * d.hc * d.N, -1, 1, &seed),
      .D = rnd(d.H, -1, 1, &seed),
      .z = rnd(d.batch * Lmax * d.H * d.P, -2, 2, &seed),
      .dt_bias = rnd(d.hdt, -1, 0, &seed),
      .state = rnd(nstate, 0, 0, &seed),
      .y = rnd(d.batch * Lmax * d.H * d.P, 0, 0, &seed),
  };
  double t[NFORMS][NL];
  sweep(d, &a, nstate, max_s, rounds, t);
  printf("\n%s (H %lld, P %lld, N %lld, hb %lld, hc %lld, batch %lld): seconds per call\n", name,
         (long long)d.H, (long long)d.P, (long long)d.N, (long long)d.hb, (long long)d.hc,
         (long long)d.batch);
  printf("%-14s", "form");
  for (int li = 0; li < NL; li++) printf(" %10lld", (long long)LS[li]);
  printf("\n");
  for (int fi = 0; fi < NFORMS; fi++) {
    const form *f = &FORMS[fi];
    if (d.s6 && f->chunk > 64) continue; /* S6 chunk sizes: 32 and 64 suffice */
    char label[32];
    snprintf(label, sizeof label, f->chunk ? "%s-Q%lld" : "%s", f->name, (long long)f->chunk);
    printf("%-14s", label);
    point pts[NL];
    int np = 0;
    for (int li = 0; li < NL; li++) {
      if (t[fi][li] < 0) {
        printf(" %10s", "-");
        continue;
      }
      d.L = LS[li];
      const double w = work_of(&d, f);
      printf(" %10.3g", t[fi][li]);
      out(js,
          "%s    {\"layer\": \"%s\", \"form\": \"%s\", \"chunk\": %lld, \"L\": %lld, "
          "\"seconds\": %.6g, \"work\": %.6g}",
          js->n && js->p[js->n - 1] == '[' ? "\n" : ",\n", name, f->name, (long long)f->chunk,
          (long long)d.L, t[fi][li], w);
      pts[np++] = (point){w, t[fi][li]};
      if (!d.s6 && g_nsamples < (int)(sizeof g_samples / sizeof g_samples[0]))
        g_samples[g_nsamples++] = (sample){d.L, f->chunk, f->fn, t[fi][li]};
    }
    double c0, k;
    fit(pts, np, &c0, &k);
    double worst = 0;
    for (int i = 0; i < np; i++) {
      const double e = fabs(c0 + k * pts[i].w - pts[i].t) / pts[i].t;
      worst = e > worst ? e : worst;
    }
    printf("   fit: %.3g s + %.3g s/unit (worst %.0f%%)\n", c0, k, 100 * worst);
    out(fits,
        "%s    {\"layer\": \"%s\", \"form\": \"%s\", \"chunk\": %lld, \"overhead_s\": %.4g, "
        "\"s_per_unit\": %.4g, \"worst_rel_err\": %.3g, \"points\": %d}",
        *first_fit ? "\n" : ",\n", name, f->name, (long long)f->chunk, c0, k, worst, np);
    *first_fit = 0;
  }
  free((void *)a.x), free((void *)a.dt), free((void *)a.A), free((void *)a.B);
  free((void *)a.C), free((void *)a.D), free((void *)a.z), free((void *)a.dt_bias);
  free(a.state), free(a.y);
}

static const char *form_name(form_fn fn) {
  for (int i = 0; i < NFORMS; i++)
    if (FORMS[i].fn == fn) return FORMS[i].name;
  return "?";
}

/* ---- the algorithm-selection cost model ------------------------------------ */
/* Defaults of the terms not fitted (passes/pass_cost.c, cpu). */
#define CM_STEP_LATENCY 1e-8
#define CM_BYTES 1e10

/* One timing as the cost model sees it: t = X[0]/flops + X[1]/scan_flops +
 * X[2]*launch + fixed.  Mirrors pass_cost_form's SSD branches; if that
 * changes, this must follow. */
static void cm_terms(const rt_ssm_desc *d, const sample *p, double X[3], double *fixed) {
  const double H = (double)d->H, P = (double)d->P, N = (double)d->N, l = (double)p->L;
  const double io = 4.0 * l * (2.0 * H * P + (double)(d->hb + d->hc) * N + H);
  const double pair = 2.0 * N + 2.0 * P + 3.0;
  X[0] = X[1] = X[2] = 0;
  if (p->fn == rt_ssm_recurrent) {
    X[1] = 5.0 * l * H * P * N;
    X[2] = 1;
    *fixed = l * CM_STEP_LATENCY + io / CM_BYTES;
  } else if (p->fn == rt_ssm_quadratic) {
    X[0] = l * l * H * pair;
    X[2] = 1;
    *fixed = (4.0 * l * l * H + io) / CM_BYTES;
  } else {
    const double q = (double)p->chunk, nc = ceil(l / q);
    X[0] = nc * q * q * H * pair + 4.0 * l * H * P * N;
    X[1] = 2.0 * nc * H * P * N;
    X[2] = 5;
    *fixed = nc * CM_STEP_LATENCY + (io + 8.0 * nc * H * P * N) / CM_BYTES;
  }
}

/* Timings the flops fit uses: where the model's counts describe the work.
 * pass_cost_form charges a full Q x Q block even when L < Q (this
 * implementation does len x len), and below L = 64 fixed costs swamp the
 * rest. */
static bool cm_flops_point(const sample *p) {
  return p->fn != rt_ssm_recurrent && p->L >= 64 && (p->fn != rt_ssm_chunked || p->L >= p->chunk);
}

/* In two stages, each least squares on relative error, because a joint fit
 * of all three lets noise in one form move another's constant: first
 * launch and 1/scan_flops from the recurrent timings alone, then 1/flops
 * from what the quadratic and chunked timings (L >= 64, and L >= Q) leave
 * after those. */
static int cm_fit(const rt_ssm_desc *d, double coef[3]) {
  point rec[NL] = {{0, 0}};
  int nr = 0;
  double swx = 0, sww = 0;
  for (int i = 0; i < g_nsamples; i++) {
    double X[3], fixed;
    cm_terms(d, &g_samples[i], X, &fixed);
    if (g_samples[i].fn == rt_ssm_recurrent && nr < NL)
      rec[nr++] = (point){X[1], g_samples[i].t - fixed};
  }
  fit(rec, nr, &coef[2], &coef[1]);
  for (int i = 0; i < g_nsamples; i++) {
    double X[3], fixed;
    cm_terms(d, &g_samples[i], X, &fixed);
    if (!cm_flops_point(&g_samples[i])) continue;
    const double t = g_samples[i].t, r = t - fixed - X[1] * coef[1] - X[2] * coef[2];
    swx += X[0] * r / (t * t);
    sww += X[0] * X[0] / (t * t);
  }
  coef[0] = sww > 0 ? swx / sww : 0;
  return coef[0] > 0 && coef[1] > 0 && coef[2] > 0 ? 0 : -1;
}

/* Fit, print, and append to the JSON; the cost file text goes to cost. */
static int cost_model(const rt_ssm_desc *d, const char *cpu, const char *date, sbuf *js,
                      sbuf *cost) {
  double coef[3];
  if (cm_fit(d, coef)) {
    fprintf(stderr,
            "bench: the cost-model fit gave a non-positive constant (1/flops %g, "
            "1/scan_flops %g, launch %g)\n",
            coef[0], coef[1], coef[2]);
    return -1;
  }
  int64_t bestQ = 0, Lmax = 0;
  double bestT = INFINITY, worst = 0;
  int nused = 0;
  for (int i = 0; i < g_nsamples; i++) Lmax = g_samples[i].L > Lmax ? g_samples[i].L : Lmax;
  printf("\ncost model vs measurement (model / measured seconds), mamba2-130m:");
  out(js, ",\n  \"model_vs_measured\": [");
  for (int i = 0; i < g_nsamples; i++) {
    const sample *p = &g_samples[i];
    double X[3], fixed;
    cm_terms(d, p, X, &fixed);
    const double m = X[0] * coef[0] + X[1] * coef[1] + X[2] * coef[2] + fixed;
    if (i == 0 || g_samples[i - 1].fn != p->fn || g_samples[i - 1].chunk != p->chunk)
      printf("\n  %-10s Q=%-4lld", form_name(p->fn), (long long)p->chunk);
    printf(" %6.2f", m / p->t);
    out(js,
        "%s{\"form\": \"%s\", \"chunk\": %lld, \"L\": %lld, \"measured\": %.4g, \"model\": %.4g}",
        i ? ", " : "", form_name(p->fn), (long long)p->chunk, (long long)p->L, p->t, m);
    if (p->fn == rt_ssm_recurrent || cm_flops_point(p)) {
      worst = fabs(m - p->t) / p->t > worst ? fabs(m - p->t) / p->t : worst;
      nused++;
    }
    if (p->fn == rt_ssm_chunked && p->L == Lmax && p->t < bestT) bestT = p->t, bestQ = p->chunk;
  }
  out(js, "]");
  if (!bestQ) bestQ = 256;
  printf(
      "\n\ncost model (passes/COST_MODEL.md keys), fitted to %d SSD timings (worst %.0f%% on "
      "those):\n  flops = %.3g  scan_flops = %.3g  launch = %.3g  chunk = %lld\n",
      nused, 100 * worst, 1 / coef[0], 1 / coef[1], coef[2], (long long)bestQ);
  out(js,
      ",\n  \"cost_model\": {\"flops\": %.4g, \"scan_flops\": %.4g, \"launch\": %.4g, "
      "\"step_latency\": %.3g, \"bytes\": %.3g, \"chunk\": %lld, \"samples\": %d, "
      "\"worst_rel_err\": %.3g}",
      1 / coef[0], 1 / coef[1], coef[2], CM_STEP_LATENCY, CM_BYTES, (long long)bestQ, nused, worst);
  out(cost,
      "# CPU cost model for algorithm selection, fitted by bench/bench_ssm_cpu\n"
      "# on %s, %d threads, %s (mamba2-130m layer timings; bench/NOTES.md).\n"
      "# step_latency and bytes are the defaults, not fitted.\n"
      "flops = %.4g\nscan_flops = %.4g\nlaunch = %.4g\nstep_latency = %.3g\n"
      "bytes = %.3g\nchunk = %lld\n",
      cpu, rt_pool_threads(), date, 1 / coef[0], 1 / coef[1], coef[2], CM_STEP_LATENCY, CM_BYTES,
      (long long)bestQ);
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: bench_ssm_cpu OUT.json [--cost-out FILE] [--threads N] [--max-seconds S] "
          "[--rounds R]\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *path = NULL, *cost_path = NULL;
  int threads = 0, rounds = 3;
  double max_s = 2.0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
      max_s = atof(argv[++i]);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--cost-out") && i + 1 < argc)
      cost_path = argv[++i];
    else if (argv[i][0] != '-' && !path)
      path = argv[i];
    else
      return usage();
  }
  if (!path || !(max_s > 0) || threads < 0 || rounds < 1) return usage();
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (rt_pool_init(threads, &c)) return 1;
  char cpu[256], date[32];
  cpu_model(cpu, sizeof cpu);
  time_t tt = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
  printf("bench_ssm_cpu: %s, %d threads, %s\n", cpu, rt_pool_threads(), date);
  sbuf js = {0}, fits = {0};
  out(&js,
      "{\n  \"bench\": \"cpu_ssm_forms\",\n  \"date\": \"%s\",\n  \"cpu\": \"%s\",\n"
      "  \"threads\": %d,\n  \"compiler\": \"%s\",\n  \"results\": [",
      date, cpu, rt_pool_threads(), __VERSION__);
  int first_fit = 1;
  const rt_ssm_desc m2 = {.batch = 1,
                          .H = 24,
                          .P = 64,
                          .N = 128,
                          .hx = 24,
                          .hb = 1,
                          .hc = 1,
                          .hdt = 24,
                          .has_dt = true,
                          .has_A = true,
                          .has_D = true,
                          .has_z = true,
                          .has_dt_bias = true,
                          .dt_softplus = true,
                          .A_is_log = true,
                          .dt_min = 0,
                          .dt_max = INFINITY};
  rt_ssm_desc s6 = m2;
  s6.s6 = 1, s6.H = s6.hx = s6.hdt = 1536, s6.P = 1, s6.N = 16;
  bench_layer("mamba2-130m", m2, max_s, rounds, &js, &fits, &first_fit);
  bench_layer("s6-d1536-n16", s6, max_s, rounds, &js, &fits, &first_fit);
  out(&js, "\n  ],\n  \"fit\": [%s\n  ]", fits.p ? fits.p : "");
  sbuf cost = {0};
  int rc = cost_model(&m2, cpu, date, &js, &cost);
  out(&js, "\n}\n");
  if (!rc) rc = ssd_write_file_atomic(path, js.p, js.n, &c);
  if (!rc && cost_path) rc = ssd_write_file_atomic(cost_path, cost.p, cost.n, &c);
  free(js.p), free(fits.p), free(cost.p);
  rt_pool_shutdown();
  if (rc) return 1;
  printf("\nwrote %s%s%s\n", path, cost_path ? " and " : "", cost_path ? cost_path : "");
  return 0;
}
