/* pass_cost.c: the cost model algorithm selection reasons with.
 *
 * A handful of per-target constants (passes.h, pass_cost_model) turn FLOP
 * and byte counts of each SSM form into seconds.  COST_MODEL.md derives the
 * counts and says where each default comes from; the short version:
 *
 *   cuda: anchored on ../shared/notes/anchors-h100.md (H100, measured):
 *     flops      6.6e13  the reference SSD chunked scan saturates at 16.5 M
 *                        tokens/s at ~4 MFLOP/token (H=80, P=64, N=128)
 *     scan_flops 3.7e12  Mamba-1's selective scan at 1x32K, N=16, d_inner
 *                        5120: 2.7e9 state updates in 3.66 ms, ~5 FLOP each
 *     bytes      2.93e12 device-to-device copy ceiling
 *     launch     5e-6    per kernel launch, typical CUDA launch + tail
 *     step_latency 1e-7  dependent per-token step of a scan: S6 1x2K N=16
 *                        takes 0.23 ms for 2048 sequential steps
 *   cpu: a 2-core AVX2 machine (the CI box); measured by bench/ and meant to
 *     be overwritten by `ssdc bench` output through a key=value file:
 *     flops 2e10 (blocked sgemm, 2 cores), scan_flops 4e9 (exp-bound
 *     elementwise), bytes 1e10, launch 5e-6 (thread-pool fork/join),
 *     step_latency 1e-8.
 *   chunk 256 (mamba_ssm's default).
 *
 * Overrides: pass_cost_load(FILE) with lines `key = value`, or
 * $SSDC_COST_MODEL naming such a file (read by pass_algsel).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

void pass_cost_defaults(const char *target, pass_cost_model *cm) {
  if (target && !strcmp(target, "cuda")) {
    *cm = (pass_cost_model){.flops = 6.6e13, .scan_flops = 3.7e12, .bytes = 2.93e12,
                            .launch = 5e-6, .step_latency = 1e-7, .quad_setup = 0, .chunk = 256};
  } else {
    /* Fitted by bench/bench_ssm_cpu on the 2-core CI-class Xeon (AVX2), see
     * bench/results/cpu_cost_model-2026-11-23.txt and bench/NOTES.md. */
    *cm = (pass_cost_model){.flops = 1.694e11, .scan_flops = 8.144e10, .bytes = 1e10,
                            .launch = 1.3e-5, .step_latency = 1e-8, .quad_setup = 5.5e-5,
                            .chunk = 32};
  }
}

typedef struct {
  const char *key;
  size_t off;
  bool is_int;
} cost_key;

#define K(f, i) {#f, offsetof(pass_cost_model, f), i}
static const cost_key keys[] = {K(flops, false),  K(scan_flops, false),   K(bytes, false),
                                K(launch, false), K(step_latency, false), K(quad_setup, false),
                                K(chunk, true)};
#undef K

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = 0;
  return s;
}

static int set_key(pass_cost_model *cm, const char *k, const char *v, const char *path,
                   int line, ssd_ctx *c) {
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    if (strcmp(keys[i].key, k)) continue;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d) || d <= 0 ||
        (keys[i].is_int && (d != floor(d) || d > 1e9)))
      return ssd_err(c, SSD_EINVAL, "%s:%d: '%s' needs a positive %s, got '%s'", path, line, k,
                     keys[i].is_int ? "integer" : "number", v);
    char *p = (char *)cm + keys[i].off;
    if (keys[i].is_int) *(int64_t *)p = (int64_t)d;
    else *(double *)p = d;
    return SSD_OK;
  }
  return ssd_err(c, SSD_EINVAL, "%s:%d: unknown cost-model key '%s' (keys: flops scan_flops "
                 "bytes launch step_latency quad_setup chunk)", path, line, k);
}

int pass_cost_load(const char *path, pass_cost_model *cm, ssd_ctx *c) {
  FILE *f = fopen(path, "r");
  if (!f) return ssd_err(c, SSD_EIO, "cannot open cost model '%s': %s", path, strerror(errno));
  char buf[512];
  int line = 0, rc = SSD_OK;
  while (!rc && fgets(buf, sizeof buf, f)) {
    line++;
    char *hash = strchr(buf, '#');
    if (hash) *hash = 0;
    char *s = trim(buf);
    if (!*s) continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = ssd_err(c, SSD_EINVAL, "%s:%d: expected key = value", path, line);
      break;
    }
    *eq = 0;
    rc = set_key(cm, trim(s), trim(eq + 1), path, line, c);
  }
  fclose(f);
  return rc;
}

/* FLOP and byte counts per batch row and SSM layer; see COST_MODEL.md.
 * G = groups of B/C (hb), c4 = 4-byte elements. */
double pass_cost_form(const pass_cost_model *cm, const ir_ssm_attr *s, ir_ssm_form f,
                      int64_t L, int64_t Q) {
  double H = (double)s->H, P = (double)s->P, N = (double)s->N, l = (double)L;
  double io = 4.0 * l * (2.0 * H * P + (double)(s->hb + s->hc) * N + H); /* x, y, B, C, dt */
  double pair = 2.0 * N + 2.0 * P + 3.0; /* per (t, s) pair and head: C.B, (.)x, decay/mask */
  bool s6 = s->kind == IR_SSM_S6;
  switch (f) {
  case IR_FORM_RECURRENT:
    /* decay, outer-product update and the C contraction: ~5 FLOP per state
     * element and token, strictly sequential in L. */
    return 5.0 * l * H * P * N / cm->scan_flops + l * cm->step_latency + io / cm->bytes +
           cm->launch;
  case IR_FORM_QUADRATIC: {
    /* SSD: an L x L masked "attention" per head on matmul units.  S6: the
     * decay differs per (channel, state) so every pair costs P*N scalar work. */
    double w = s6 ? 3.0 * l * l * H * P * N / cm->scan_flops : l * l * H * pair / cm->flops;
    /* The decode cache needs the final state (and an initial state feeds y):
     * two L*P*N contractions per head, as in the chunked form. */
    w += 4.0 * l * H * P * N / (s6 ? cm->scan_flops : cm->flops);
    return w + 4.0 * l * l * H / cm->bytes + io / cm->bytes + cm->launch + cm->quad_setup;
  }
  case IR_FORM_CHUNKED: {
    if (Q <= 0) Q = cm->chunk;
    /* A chunk never holds more than L tokens: charge min(Q, L) squared. */
    double q = (double)(Q < L ? Q : L), nc = ceil(l / (double)Q);
    double intra = s6 ? 3.0 * nc * q * q * H * P * N / cm->scan_flops
                      : nc * q * q * H * pair / cm->flops;
    /* chunk states and their contribution to y (2 GEMMs of L*P*N each),
     * then a sequential pass over nc chunk states. */
    double states = 4.0 * l * H * P * N / (s6 ? cm->scan_flops : cm->flops);
    double pass = 2.0 * nc * H * P * N / cm->scan_flops + nc * cm->step_latency;
    double bytes = io + 8.0 * nc * H * P * N; /* chunk states written and read */
    return intra + states + pass + bytes / cm->bytes + 5.0 * cm->launch;
  }
  default: return INFINITY;
  }
}
