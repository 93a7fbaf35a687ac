/* test_cg_models.c: every kernel ssdc generates for the shipped model files
 * compiles through NVRTC for sm_80 and sm_90, and `ssdc compile` writes a
 * complete, checksummed artifact directory.
 *
 * argv[1] is the models/ directory.  Each *.ssd goes through the frontend and
 * every pass with the CUDA target; the distinct kernel specs of all models
 * are compiled (no GPU needed).  Then cg_cmd_compile runs end to end on
 * mamba2.ssd and the manifest's checksums are checked against the cubins it
 * names, and bad command lines must fail cleanly.  Without NVRTC the test
 * fails unless SSDC_NO_CUDA_TOOLKIT=1 (then it exits 77: skipped).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_cli.h"
#include "cg_cuda.h"
#include "fe.h"
#include "passes.h"

#include "../ssd_check.h"
#include "cg_test.h"

static cg_ssd_spec all[256];
static int nall, nmodels, ns6;

static void add_specs(const cg_ssd_spec *s, int n) {
  for (int i = 0; i < n; i++) {
    int dup = 0;
    for (int j = 0; j < nall && !dup; j++) dup = !memcmp(&all[j], &s[i], sizeof *s);
    if (!dup && nall < 256) all[nall++] = s[i];
  }
}

static void model_specs(const char *path) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  ssd_arena *a = ssd_arena_new();
  ir_module *m = NULL;
  int rc = cgt_model(path, a, &m, &c);
  cg_ssd_spec *s = NULL;
  int n = 0, s6 = 0;
  if (rc == SSD_OK) rc = cg_model_kernels(m, &s, &n, &s6, &c);
  if (rc != SSD_OK) fprintf(stderr, "%s: %s\n", path, c.msg);
  CHECK(rc == SSD_OK);
  CHECK(n > 0 || s6 > 0); /* every shipped model has a mixer */
  printf("%-40s %d kernel specs%s\n", path, n, s6 ? " (S6 mixers: no CUDA kernel yet)" : "");
  add_specs(s, n);
  ns6 += s6 > 0;
  nmodels++;
  free(s);
  if (m) ir_module_free(m);
  ssd_arena_free(a);
}

/* Two threads (CI has two cores): kernel i goes to thread i % 2. */
typedef struct job {
  int first, bad;
} job;

static void *compile_some(void *arg) {
  job *j = arg;
  ssd_ctx c;
  ssd_ctx_init(&c);
  const char *archs[] = {"sm_80", "sm_90"};
  for (int i = j->first; i < nall; i += 2) {
    cg_source src;
    if (cg_ssd_source(&all[i], &src, &c) != SSD_OK) {
      j->bad++;
      continue;
    }
    for (int a = 0; a < 2; a++) {
      void *cubin = NULL;
      size_t n = 0;
      int rc = cg_nvrtc_compile(&src, archs[a], &cubin, &n, &c);
      if (rc != SSD_OK || n < 1000 || memcmp(cubin, "\177ELF", 4) != 0) {
        fprintf(stderr, "kernel %s (%s) did not compile to a cubin\n", src.name, archs[a]);
        j->bad++;
      }
      free(cubin);
    }
    cg_source_free(&src);
  }
  return NULL;
}

static void compile_all(void) {
  job jobs[2] = {{0, 0}, {1, 0}};
  pthread_t t;
  int threaded = pthread_create(&t, NULL, compile_some, &jobs[1]) == 0;
  compile_some(&jobs[0]);
  if (threaded) pthread_join(t, NULL);
  else compile_some(&jobs[1]);
  CHECK(jobs[0].bad == 0 && jobs[1].bad == 0);
}

static int run_compile(const char **args, int n) {
  char *argv[16];
  for (int i = 0; i < n; i++) argv[i] = (char *)args[i];
  argv[n] = NULL;
  return cg_cmd_compile(n, argv);
}

/* The manifest names each cubin with its size and checksum: verify them. */
static void check_manifest(const char *dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  if (!f) return;
  static char man[1 << 16];
  size_t len = fread(man, 1, sizeof man - 1, f);
  man[len] = '\0';
  fclose(f);
  int nk = 0;
  for (const char *p = man; (p = strstr(p, "\"file\": \"")); nk++) {
    p += 9;
    char file[200], sum[17];
    unsigned long long bytes = 0;
    CHECK(sscanf(p, "%199[^\"]\", \"bytes\": %llu, \"fnv1a64\": \"%16[0-9a-f]\"", file, &bytes, sum) == 3);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    ssd_ctx c;
    ssd_ctx_init(&c);
    ssd_arena *a = ssd_arena_new();
    ssd_src *s = NULL;
    CHECK(ssd_read_file(a, path, 64u << 20, &s, &c) == SSD_OK);
    if (s) {
      char got[17];
      snprintf(got, sizeof got, "%016llx", (unsigned long long)ssd_hash64(s->text, s->len, 0));
      CHECK(s->len == bytes && !strcmp(got, sum));
    }
    ssd_arena_free(a);
  }
  CHECK(nk > 0);
  CHECK(strstr(man, "\"arch\": \"sm_80\"") != NULL);
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: test_cg_models MODELS_DIR\n"), 2;
  ssd_ctx c;
  ssd_ctx_init(&c);
  int need = cgt_need_nvrtc("test_cg_models", &c);
  if (need) return need;
  DIR *d = opendir(argv[1]);
  CHECK(d != NULL);
  char *names[64];
  int nn = 0;
  for (struct dirent *e; d && (e = readdir(d)) && nn < 64;) {
    size_t l = strlen(e->d_name);
    if (l > 4 && !strcmp(e->d_name + l - 4, ".ssd")) names[nn++] = strdup(e->d_name);
  }
  if (d) closedir(d);
  for (int i = 0; i < nn; i++) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
    model_specs(path);
    free(names[i]);
  }
  CHECK(nmodels >= 2 && nall > 0);
  compile_all();
  printf("%d models, %d distinct kernels, each compiled for sm_80 and sm_90\n", nmodels, nall);

  /* ssdc compile, end to end, with a private cache */
  char tmpl[] = "/tmp/ssdc-compile-test-XXXXXX";
  char *root = mkdtemp(tmpl);
  CHECK(root != NULL);
  char out[300], cache[300], model[600];
  snprintf(out, sizeof out, "%s/out", root);
  snprintf(cache, sizeof cache, "%s/cache", root);
  snprintf(model, sizeof model, "%s/mamba2.ssd", argv[1]);
  setenv("SSDC_CACHE_DIR", cache, 1);
  const char *ok[] = {"compile", model, "--target", "cuda", "--arch", "sm_80", "--seqlen", "2048",
                      "--set", "d_model=512", "--out", out};
  CHECK(run_compile(ok, 12) == 0);
  check_manifest(out);
  CHECK(run_compile(ok, 12) == 0); /* second run: from the cache, same artifacts */
  check_manifest(out);
  const char *bad_arch[] = {"compile", model, "--target", "cuda", "--arch", "sm_75", "--out", out};
  const char *bad_target[] = {"compile", model, "--target", "metal", "--out", out};
  const char *no_out[] = {"compile", model, "--target", "cuda"};
  const char *no_file[] = {"compile", "/nonexistent.ssd", "--target", "cuda", "--out", out};
  const char *bad_set[] = {"compile", model, "--target", "cuda", "--set", "nosuch=1", "--out", out};
  fprintf(stderr, "(the next errors are expected)\n");
  CHECK(run_compile(bad_arch, 8) != 0);
  CHECK(run_compile(bad_target, 6) != 0);
  CHECK(run_compile(no_out, 4) != 0);
  CHECK(run_compile(no_file, 6) != 0);
  CHECK(run_compile(bad_set, 8) != 0);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  CHECK(system(cmd) == 0);
  if (fails) fprintf(stderr, "test_cg_models: %d failures\n", fails);
  else printf("test_cg_models: ok\n");
  return fails != 0;
}
