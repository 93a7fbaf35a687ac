/* test_gpu_golden.c: whole models on the GPU (runtime/rt_gpu_model.c)
 * against the golden fixtures of tests/golden/ (HF transformers in float64;
 * nothing here wrote them).
 *
 * usage: test_gpu_golden CASE_DIR...
 *
 * Per case, in fp32 mode with every new device buffer poisoned with NaN:
 *  - the stateless forward of input.safetensors: max|diff|/max|ref| <= 1e-4;
 *  - the same ids through the device state cache: a prefill of the first
 *    part, a second prefill piece, then one token at a time; every
 *    position's logits against the golden (1e-4) and against the forward
 *    (decode == prefill, 1e-4);
 *  - greedy.json: prefill the prompt, then argmax decoding with the cache
 *    gives exactly its new_tokens;
 *  - an id past the vocabulary fails with a message, not a crash;
 *  - bf16 mode: the forward and the cached prefill + decode within 2e-2.
 * Exits 77 (skip) when there is no GPU driver.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../exec/tx.h"
#include "rt_gpu_model.h"
#include "rt_json.h"
#include "rt_model.h"
#include "rt_safetensors.h"
#include "rt_weights.h"
#include "golden_io.h"

/* Logits of every position through the cache: [0, p1) then [p1, p2) as
 * prefill pieces, then one token at a time; into out [B, L, V]. */
static void check_decode(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, int64_t V,
                         const float *ref, const float *fwd, const char *name, double tol) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  float *all = tx_poison((size_t)(B * L * V));
  int64_t p1 = L / 2 > 0 ? L / 2 : 1, p2 = L / 2 + 3 < L ? L / 2 + 3 : L;
  int64_t *piece = malloc((size_t)(B * L) * sizeof *piece + 1);
  int rc = rt_gpu_reset(g, B, &c);
  for (int64_t t0 = 0; !rc && t0 < L;) {
    int64_t n = t0 == 0 ? p1 : t0 == p1 ? p2 - p1 : 1;
    for (int64_t b = 0; b < B; b++) memcpy(piece + b * n, ids + b * L + t0, (size_t)n * sizeof *ids);
    float *lg;
    int64_t v;
    rc = rt_gpu_decode(g, piece, B, n, false, &lg, &v, &c);
    if (rc) break;
    TX_CHECK(v == V, "%s: decode V %lld", name, (long long)v);
    for (int64_t b = 0; b < B; b++)
      memcpy(all + (b * L + t0) * V, lg + b * n * V, (size_t)(n * V) * sizeof(float));
    free(lg);
    t0 += n;
  }
  TX_CHECK(!rc, "%s: decode failed: %s", name, c.msg);
  TX_CHECK(rt_gpu_pos(g) == L || rc, "%s: position %lld after %lld tokens", name,
           (long long)rt_gpu_pos(g), (long long)L);
  if (!rc) {
    double r1 = tx_reldiff(all, ref, (size_t)(B * L * V)), r2 = tx_reldiff(all, fwd, (size_t)(B * L * V));
    printf("%s: cached prefill+decode vs golden %.3g, vs forward %.3g\n", name, r1, r2);
    TX_CLOSE("decode vs golden", r1, tol);
    TX_CLOSE("decode vs forward", r2, tol);
  }
  free(piece);
  free(all);
}

static void check_greedy(rt_gpu_model *g, const char *dir, const char *name) {
  int64_t prompt[GOLDEN_MAXTOK], want[GOLDEN_MAXTOK], tok;
  int np = 0, nw = 0;
  TX_CHECK(!read_greedy(dir, prompt, &np, want, &nw), "%s: bad greedy.json", name);
  if (tx_failures) return;
  ssd_ctx c;
  ssd_ctx_init(&c);
  int rc = rt_gpu_reset(g, 1, &c), ok = 0;
  const int64_t *in = prompt;
  int64_t n = np;
  for (int k = 0; !rc && k < nw; k++) {
    float *lg;
    int64_t V;
    rc = rt_gpu_decode(g, in, 1, n, true, &lg, &V, &c);
    if (rc) break;
    tok = rt_argmax(lg, V);
    free(lg);
    TX_CHECK(tok == want[k], "%s: greedy token %d: got %lld, want %lld", name, k, (long long)tok,
             (long long)want[k]);
    ok += tok == want[k];
    in = &tok, n = 1;
  }
  TX_CHECK(!rc, "%s: greedy decode failed: %s", name, c.msg);
  printf("%s: greedy %d/%d tokens match\n", name, ok, nw);
}

static void check_bad_id(rt_gpu_model *g, int64_t V, const char *name) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  int64_t ids[3] = {1, V, 2};
  float *lg = NULL;
  int64_t v;
  int rc = rt_gpu_forward(g, ids, 1, 3, &lg, &v, &c);
  TX_CHECK(rc == SSD_EINVAL && !lg, "%s: an id past the vocabulary gave %d", name, rc);
  if (rc) printf("%s: bad id rejected: %s\n", name, c.msg);
  free(lg);
}

/* bf16 mode: forward and cached prefill + decode against the golden at 2e-2. */
static void check_bf16(const ir_module *m, rt_weights *w, const int64_t *ids, const int64_t *ishape,
                       const float *ref, const int64_t *lshape, const char *name) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_gpu_model *g;
  char label[256];
  snprintf(label, sizeof label, "%s bf16", name);
  int rc = rt_gpu_model_new(m, weight_of, w, &(rt_gpu_opts){.mode = RT_GPU_BF16, .emu = golden_emu}, &g, &c);
  TX_CHECK(!rc, "%s: setup failed: %s", label, c.msg);
  if (rc) return;
  int64_t B = ishape[0], L = ishape[1], V = 0;
  float *fwd = NULL;
  rc = rt_gpu_forward(g, ids, B, L, &fwd, &V, &c);
  TX_CHECK(!rc && V == lshape[2], "%s: forward failed: %s", label, c.msg);
  if (!rc && V == lshape[2]) {
    double rel = tx_reldiff(fwd, ref, (size_t)(B * L * V));
    printf("%s: forward vs golden max|diff|/max|ref| = %.3g\n", label, rel);
    TX_CLOSE("bf16 forward vs golden", rel, 2e-2);
    check_decode(g, ids, B, L, V, ref, fwd, label, 2e-2);
  }
  free(fwd);
  rt_gpu_model_free(g);
}

/* 0 ok, 77 no GPU, 1 failure to set up. */
static int run_case(const char *dir) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  golden_fixture f;
  rt_gpu_model *g = NULL;
  float *fwd = NULL;
  int rc = golden_open(dir, &f, &c);
  const rt_gpu_opts f32 = {.mode = RT_GPU_F32, .emu = golden_emu};
  if (!rc) rc = rt_gpu_model_new(rt_model_module(f.md), weight_of, f.w, &f32, &g, &c);
  int ret = rc == SSD_EDEVICE ? 77 : rc ? 1 : 0;
  const char *name = f.name;
  if (rc) fprintf(stderr, "%s: setup failed: %s\n", name, c.msg);
  if (!rc) {
    int64_t B = f.ishape[0], L = f.ishape[1], V = 0;
    rc = rt_gpu_forward(g, f.ids, B, L, &fwd, &V, &c);
    TX_CHECK(!rc, "%s: forward failed: %s", name, c.msg);
    TX_CHECK(rc || (f.lshape[0] == B && f.lshape[1] == L && f.lshape[2] == V),
             "%s: logits shape differs from the golden", name);
    if (!rc && f.lshape[2] == V) {
      double rel = tx_reldiff(fwd, f.ref, (size_t)(B * L * V));
      printf("%s on %s: fp32 forward vs golden max|diff|/max|ref| = %.3g\n", name,
             rt_gpu_model_device(g), rel);
      TX_CLOSE("forward vs golden", rel, 1e-4);
      check_decode(g, f.ids, B, L, V, f.ref, fwd, name, 1e-4);
      check_greedy(g, dir, name);
      check_bad_id(g, V, name);
    }
  }
  rt_gpu_model_free(g);
  if (!rc) check_bf16(rt_model_module(f.md), f.w, f.ids, f.ishape, f.ref, f.lshape, name);
  golden_close(&f);
  free(fwd);
  return ret;
}

int main(int argc, char **argv) {
  setenv("SSDC_POISON", "1", 1);
  if (argc < 2) {
    fprintf(stderr, "usage: test_gpu_golden CASE_DIR...\n");
    return 2;
  }
  return golden_run_cases(argc, argv, run_case, "golden");
}
