/* test_codegen.c: the generated C kernels (codegen/cg_c_*.c) against the
 * interpreter, and the on-disk cache of their shared objects.
 *
 * usage: test_codegen MODEL.ssd WORK_DIR [NAME=VALUE]...
 *
 *  1. a random model run with generated code for every SSM (all lengths)
 *     == the interpreter with rt_ssm, full forward and prefill + decode,
 *     max|diff| / max|ref| <= 1e-5;
 *  2. the cache: first build compiles, second is a hit, a damaged entry is
 *     rebuilt, a missing compiler is SSD_EUNSUPPORTED and auto mode falls
 *     back to the interpreter.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../codegen/cg_c_host.h"
#include "rt_model.h"
#include "rt_pool.h"
#include "tx.h"

enum { B = 2, T = 29 };

static float *forward(rt_model *m, const int64_t *ids, rt_state *st, int64_t a, int64_t b) {
  int64_t L = b - a, V;
  int64_t *sub = malloc((size_t)(B * L) * sizeof(int64_t));
  for (int k = 0; k < B; k++) memcpy(sub + k * L, ids + k * T + a, (size_t)L * sizeof(int64_t));
  ssd_ctx c;
  ssd_ctx_init(&c);
  float *lg = NULL;
  rt_fwd f = {sub, B, L, st, false};
  TX_CHECK(!rt_exec_forward(rt_model_exec(m), &f, &lg, &V, &c), "forward: %s", c.msg);
  free(sub);
  return lg;
}

/* Logits of the last token after prefill(T-3) and 3 decode steps. */
static float *decoded(rt_model *m, const int64_t *ids) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_state *st;
  if (rt_state_new(B, &st, &c)) abort();
  float *lg = forward(m, ids, st, 0, T - 3);
  for (int64_t t = T - 3; t < T; t++) free(lg), lg = forward(m, ids, st, t, t + 1);
  rt_state_free(st);
  return lg;
}

/* Overwrite the middle of every cache entry in dir. */
static int damage_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    FILE *f = fopen(p, "r+b");
    if (!f) continue;
    fseek(f, 2000, SEEK_SET);
    fwrite("garbage!garbage!", 1, 16, f);
    fclose(f);
    n++;
  }
  if (d) closedir(d);
  return n;
}

static void test_cache(const rt_model *m, const char *work) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/cache", work);
  ssd_ctx c;
  ssd_ctx_init(&c);
  cg_host *h = NULL;
  /* start empty: entries from an earlier run would make the first a hit */
  if (!damage_entries(dir)) mkdir(dir, 0777);
  int rc = cg_host_build(rt_model_module(m), dir, &h, &c);
  TX_CHECK(!rc, "build: %s", c.msg);
  cg_host_free(h);
  rc = cg_host_build(rt_model_module(m), dir, &h, &c);
  TX_CHECK(!rc && cg_host_stats_of(h)->cache_hit, "second build was not a cache hit");
  cg_host_free(h);
  TX_CHECK(damage_entries(dir) >= 1, "no cache entry written in %s", dir);
  FILE *devnull = fopen("/dev/null", "w");
  c.diag = devnull;
  rc = cg_host_build(rt_model_module(m), dir, &h, &c);
  TX_CHECK(!rc && !cg_host_stats_of(h)->cache_hit, "a damaged entry was used (rc %d)", rc);
  cg_host_free(h);
  setenv("SSDC_CC", "/nonexistent/cc", 1);
  rc = cg_host_build(rt_model_module(m), work, &h, &c);
  TX_CHECK(rc == SSD_EUNSUPPORTED && !h, "a missing compiler gave rc %d", rc);
  unsetenv("SSDC_CC");
  fclose(devnull);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_codegen MODEL.ssd WORK_DIR [NAME=VALUE]...\n");
    return 2;
  }
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (rt_pool_init(2, &c)) return 1;
  mkdir(argv[2], 0777);
  char cdir[4096];
  snprintf(cdir, sizeof cdir, "%s/cache-run", argv[2]);
  rt_model_opts o = {.sets = (const char *const *)argv + 3, .nsets = argc - 3, .codegen = -1,
                     .cache_dir = cdir};
  rt_model *interp = NULL, *gen = NULL, *fallback = NULL;
  if (rt_model_random(argv[1], &o, 5, &interp, &c)) return 1;
  o.codegen = 2;
  if (rt_model_random(argv[1], &o, 5, &gen, &c)) return 1;
  char desc[512];
  TX_CHECK(rt_model_codegen(gen, desc, sizeof desc), "generated code not in use");
  TX_CHECK(!rt_model_codegen(interp, desc, sizeof desc), "codegen=-1 still generated code");
  const ir_param *vp = ir_module_param(rt_model_module(gen), "vocab");
  int64_t V = vp ? vp->i : 2, ids[B * T];
  tx_seed(11);
  for (int i = 0; i < B * T; i++) ids[i] = (int64_t)(tx_next() % (uint64_t)V);

  float *a = forward(interp, ids, NULL, 0, T), *b = forward(gen, ids, NULL, 0, T);
  if (a && b) TX_CLOSE("generated vs interpreter, full", tx_reldiff(b, a, (size_t)(B * T * V)), 1e-5);
  free(a), free(b);
  a = decoded(interp, ids), b = decoded(gen, ids);
  if (a && b) TX_CLOSE("generated vs interpreter, decode", tx_reldiff(b, a, (size_t)(B * V)), 1e-5);
  free(a), free(b);

  test_cache(gen, argv[2]);
  /* auto mode without a compiler: a warning, and the interpreter runs */
  setenv("SSDC_CC", "/nonexistent/cc", 1);
  o.codegen = 0;
  c.quiet = 1;
  TX_CHECK(!rt_model_random(argv[1], &o, 5, &fallback, &c), "auto mode failed: %s", c.msg);
  TX_CHECK(fallback && !rt_model_codegen(fallback, desc, sizeof desc), "no fallback");
  unsetenv("SSDC_CC");

  rt_model_free(interp);
  rt_model_free(gen);
  rt_model_free(fallback);
  rt_pool_shutdown();
  if (tx_failures) fprintf(stderr, "%d failures\n", tx_failures);
  else printf("test_codegen %s: all passed\n", argv[1]);
  return tx_failures != 0;
}
