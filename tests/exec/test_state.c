/* test_state.c: the decode state cache and the executor's consistency.
 *
 * usage: test_state MODEL.ssd [NAME=VALUE]...
 *
 * Builds the model file with seeded random weights (shrunk by the --set
 * style overrides given) and checks, over a random sequence of T tokens:
 *  1. prefill(first k) then decode one token at a time == the full forward;
 *  2. two prefill calls (chunked prefill) then decode == the full forward;
 * (with a small `chunk`, the full forward and the long prefill piece run the
 * chunked SSD form and the short ones the quadratic and recurrent forms, so
 * the forms are checked against each other through the state);
 *  3. last_only logits == the last row of the full forward;
 *  4. the same module built without fusion (the interpreter's reference
 *     path) == the fused one;
 *  5. bad ids and a batch mismatch are clean errors.
 * Tolerance: max|diff| / max|ref| <= 1e-5 on every logit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_model.h"
#include "rt_pool.h"
#include "tx.h"

enum { B = 2, T = 64 };

static int64_t vocab_of(rt_model *m) {
  const ir_param *p = ir_module_param(rt_model_module(m), "vocab");
  return p ? p->i : 0;
}

/* Logits of ids[:, a:b) through the state (or stateless when st NULL). */
static float *fwd(rt_model *m, const int64_t *ids, int64_t a, int64_t b, rt_state *st,
                  bool last, int64_t *V) {
  int64_t L = b - a;
  int64_t *sub = malloc((size_t)(B * L) * sizeof(int64_t));
  for (int bb = 0; bb < B; bb++) memcpy(sub + bb * L, ids + bb * T + a, (size_t)L * sizeof(int64_t));
  ssd_ctx c;
  ssd_ctx_init(&c);
  float *lg = NULL;
  rt_fwd f = {sub, B, L, st, last};
  int rc = rt_exec_forward(rt_model_exec(m), &f, &lg, V, &c);
  TX_CHECK(rc == SSD_OK, "forward [%lld, %lld): %s", (long long)a, (long long)b, c.msg);
  free(sub);
  return lg;
}

/* Run the pieces cuts[0..n] through one state and assemble [B, T, V]. */
static float *pieced(rt_model *m, const int64_t *ids, const int64_t *cuts, int n, int64_t V) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_state *st;
  if (rt_state_new(B, &st, &c)) abort();
  float *all = tx_poison((size_t)(B * T * V));
  for (int p = 0; p < n; p++) {
    int64_t a = cuts[p], b = cuts[p + 1], L = b - a, v;
    float *lg = fwd(m, ids, a, b, st, false, &v);
    if (!lg) break;
    for (int bb = 0; bb < B; bb++)
      memcpy(all + (bb * T + a) * V, lg + bb * L * V, (size_t)(L * V) * sizeof(float));
    free(lg);
  }
  TX_CHECK(rt_state_pos(st) == T, "state position %lld", (long long)rt_state_pos(st));
  rt_state_free(st);
  return all;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_state MODEL.ssd [NAME=VALUE]...\n");
    return 2;
  }
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (rt_pool_init(2, &c)) return 1;
  rt_model_opts o = {.sets = (const char *const *)argv + 2, .nsets = argc - 2};
  rt_model *m = NULL, *mu = NULL;
  if (rt_model_random(argv[1], &o, 7, &m, &c)) return 1;
  o.no_fuse = true;
  if (rt_model_random(argv[1], &o, 7, &mu, &c)) return 1;
  int64_t V = vocab_of(m);
  TX_CHECK(V > 1, "no vocab parameter");
  int64_t ids[B * T];
  tx_seed(3);
  for (int i = 0; i < B * T; i++) ids[i] = (int64_t)(tx_next() % (uint64_t)V);

  int64_t v;
  float *full = fwd(m, ids, 0, T, NULL, false, &v);
  TX_CHECK(v == V, "vocab %lld vs %lld", (long long)v, (long long)V);
  double mx = 0;
  for (size_t i = 0; i < (size_t)(B * T * V); i++) mx = fmax(mx, fabs(full[i]));
  TX_CHECK(mx > 1e-3 && mx < 1e4, "logits of implausible size %g", mx);

  /* 1. prefill 13 then decode one at a time */
  int64_t cuts1[T + 2], n1 = 0;
  cuts1[n1++] = 0;
  for (int64_t t = 13; t <= T; t++) cuts1[n1++] = t;
  float *dec = pieced(m, ids, cuts1, (int)n1 - 1, V);
  TX_CLOSE("prefill 13 + decode", tx_reldiff(dec, full, (size_t)(B * T * V)), 1e-5);
  /* 2. chunked prefill: 9 + 48 (long enough for the chunked form when the
   * model asks for a small chunk, and starting from a state), then decode */
  int64_t cuts2[T], n2 = 0;
  cuts2[n2++] = 0;
  cuts2[n2++] = 9;
  for (int64_t t = 57; t <= T; t++) cuts2[n2++] = t;
  float *chk = pieced(m, ids, cuts2, (int)n2 - 1, V);
  TX_CLOSE("prefill 9 + 48 + decode", tx_reldiff(chk, full, (size_t)(B * T * V)), 1e-5);
  /* 3. last position only */
  float *last = fwd(m, ids, 0, T, NULL, true, &v);
  for (int bb = 0; bb < B && last; bb++)
    TX_CLOSE("last_only", tx_reldiff(last + bb * V, full + (bb * T + T - 1) * V, (size_t)V), 1e-6);
  /* 4. the unfused module */
  float *unf = fwd(mu, ids, 0, T, NULL, false, &v);
  TX_CLOSE("unfused vs fused", tx_reldiff(unf, full, (size_t)(B * T * V)), 1e-5);
  /* 5. errors */
  FILE *devnull = fopen("/dev/null", "w");
  c.diag = devnull;
  int64_t bad[B * 3] = {0, 1, V, 2, 3, 4};
  float *lg = NULL;
  rt_fwd fb = {bad, B, 3, NULL, false};
  TX_CHECK(rt_exec_forward(rt_model_exec(m), &fb, &lg, &v, &c) == SSD_EINVAL && !lg,
           "id == vocab accepted");
  bad[2] = -5;
  TX_CHECK(rt_exec_forward(rt_model_exec(m), &fb, &lg, &v, &c) == SSD_EINVAL && !lg,
           "negative id accepted");
  rt_state *st1;
  if (rt_state_new(1, &st1, &c)) abort();
  rt_fwd fs = {ids, B, 3, st1, false};
  TX_CHECK(rt_exec_forward(rt_model_exec(m), &fs, &lg, &v, &c) == SSD_EINVAL && !lg,
           "batch mismatch with the state accepted");
  rt_state_free(st1);
  fclose(devnull);

  free(full), free(dec), free(chk), free(last), free(unf);
  rt_model_free(m);
  rt_model_free(mu);
  rt_pool_shutdown();
  if (tx_failures) fprintf(stderr, "%s: %d failures\n", argv[1], tx_failures);
  else printf("test_state %s: all passed\n", argv[1]);
  return tx_failures != 0;
}
