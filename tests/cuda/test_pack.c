/* test_pack.c: `ssdc compile` and kernel packs, with no GPU.
 *
 * Making packs (this process; NVRTC is required, as for the other NVRTC
 * tests): every shipped model file goes through rt_cmd_compile for sm_90
 * and sm_80 in f32 and bf16.  That walks the GPU executor on a dry-run
 * device, so on the way every kernel the executor generates for the model
 * compiles, every launcher finds its entry point in its cubin, every launch
 * is within the driver's limits, and the executor's host side runs (under
 * ASan/UBSan in CI).  Each manifest is checked here from first principles:
 * every listed file holds a cache-format entry whose payload is an ELF
 * cubin naming the kernel, with the listed size and FNV-1a checksum.
 * Checkpoint directories (--model: each golden fixture's config.json) work
 * too, bad command lines fail cleanly, and the dry device shows the decode
 * step's structure (kernels per step, no allocation after the first step,
 * graph replays) and the planned device memory of a 2.7b 1x16K prefill.
 *
 * Using packs (a child process, argv[1] == "use", with SSDC_NVRTC pointing
 * nowhere, so NVRTC cannot open): the executor on a dry-run device takes
 * every kernel of the same walk from the pack; a batch size the pack was
 * not made for fails with a message naming the missing kernel and the
 * pack; $SSDC_KERNELS names a pack too; and damaged packs are refused at
 * open, naming what is wrong: a flipped byte, a truncated or missing entry,
 * another architecture, another ssdc version, a manifest that is not JSON,
 * an entry that points outside the pack, no manifest.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_cuda.h"
#include "rt_cli.h"
#include "rt_json.h"
#include "rt_pack.h"

#include "../ssd_check.h"
#include "cg_test.h"

#define MAX_MODELS 32
static char models[MAX_MODELS][64]; /* names without .ssd */
static int nmodels;

static void list_models(const char *dir) {
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  for (struct dirent *e; d && (e = readdir(d)) && nmodels < MAX_MODELS;) {
    size_t l = strlen(e->d_name);
    if (l > 4 && l < 60 && !strcmp(e->d_name + l - 4, ".ssd"))
      snprintf(models[nmodels++], sizeof models[0], "%.*s", (int)(l - 4), e->d_name);
  }
  if (d) closedir(d);
}

static int compile(const char *const *args) {
  char *argv[32];
  int n = 0;
  argv[n++] = "compile";
  for (; args[n - 1] && n < 31; n++) argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  return rt_cmd_compile(n, argv);
}

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
  *n = b && sz >= 0 ? fread(b, 1, (size_t)sz, f) : 0;
  fclose(f);
  return b;
}

static uint64_t u64_at(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* The manifest of pack dir, checked entry by entry; returns the count. */
static int check_manifest(const char *dir, const char *arch) {
  char path[600];
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  size_t len = 0;
  unsigned char *text = slurp(path, &len);
  CHECK(text != NULL);
  if (!text) return 0;
  ssd_ctx c;
  ssd_ctx_init(&c);
  ssd_arena *a = ssd_arena_new();
  rt_json *root = NULL;
  CHECK(rt_json_parse(a, path, (const char *)text, len, &root, &c) == SSD_OK);
  const rt_json *ks = root ? rt_json_get(root, "kernels") : NULL;
  const rt_json *ar = root ? rt_json_get(root, "arch") : NULL;
  CHECK(ar && ar->kind == RT_JSON_STRING && !strcmp(ar->s, arch));
  CHECK(ks && ks->kind == RT_JSON_ARRAY && ks->n > 0);
  int n = ks ? ks->n : 0;
  for (int i = 0; i < n; i++) {
    const rt_json *k = ks->items[i], *file = rt_json_get(k, "file"), *name = rt_json_get(k, "name");
    const rt_json *bytes = rt_json_get(k, "bytes"), *sum = rt_json_get(k, "fnv1a64");
    CHECK(file && name && bytes && sum);
    if (!file || !name || !bytes || !sum) continue;
    snprintf(path, sizeof path, "%s/%s", dir, file->s);
    size_t sz = 0;
    unsigned char *e = slurp(path, &sz);
    CHECK(e && sz > 32 && !memcmp(e, "SSDCKC01", 8) && u64_at(e + 16) == sz - 32);
    if (e && sz > 32) {
      char want[17];
      snprintf(want, sizeof want, "%016llx", (unsigned long long)ssd_hash64(e + 32, sz - 32, 0));
      CHECK((int64_t)(sz - 32) == bytes->i && !strcmp(want, sum->s));
      CHECK(!memcmp(e + 32, "\177ELF", 4) && memmem(e + 32, sz - 32, name->s, strlen(name->s)));
      char key[17];
      snprintf(key, sizeof key, "%016llx", (unsigned long long)u64_at(e + 8));
      CHECK(!strncmp(file->s, key, 16));
    }
    free(e);
  }
  ssd_arena_free(a);
  free(text);
  return n;
}

static void make_packs(const char *mdir, const char *root) {
  char model[8192], out[8192];
  for (int i = 0; i < nmodels; i++) {
    snprintf(model, sizeof model, "%s/%s.ssd", mdir, models[i]);
    snprintf(out, sizeof out, "%s/%s", root, models[i]);
    const char *a90[] = {model, "--target", "cuda", "--dtype", "f32,bf16", "--batch", "1,3",
                         "--seqlen", "40,300", "--out", out, NULL};
    CHECK(compile(a90) == 0);
    int n90 = check_manifest(out, "sm_90");
    snprintf(out, sizeof out, "%s/%s-sm80", root, models[i]);
    const char *a80[] = {model, "--target", "cuda", "--arch", "sm_80", "--dtype", "f32,bf16",
                         "--batch", "2", "--seqlen", "40", "--out", out, NULL};
    CHECK(compile(a80) == 0);
    int n80 = check_manifest(out, "sm_80");
    printf("%-12s %3d kernels (sm_90), %3d (sm_80)\n", models[i], n90, n80);
  }
  /* a pack for batch 1 only, bf16: the use phase asks it for more */
  snprintf(model, sizeof model, "%s/mamba2.ssd", mdir);
  snprintf(out, sizeof out, "%s/b1", root);
  const char *b1[] = {model, "--target", "cuda", "--out", out, "--seqlen", "64", NULL};
  CHECK(compile(b1) == 0);
  CHECK(check_manifest(out, "sm_90") > 0);
}

/* The decode step's structure, which the dry-run device shows without a
 * GPU: on mamba2.ssd (the 130m shape) in bf16 at batch 1 the step runs at
 * most 3 kernels per layer with the decode kernels and more without them,
 * steps after the first allocate nothing, the second step at a position > 0
 * is captured and replayed, later ones replay it, and with $SSDC_CUDA_GRAPH=0
 * none do; with attention (hybrid.ssd) too, except the step that grows the
 * KV caches. */
typedef struct step_shape {
  int64_t kernels, replays;
  size_t held, in_use;
} step_shape;

static step_shape decode_steps(const char *mdir, const char *model, const char *dec,
                               const char *graphs, int nsteps) {
  step_shape r = {-1, -1, 0, 0};
  setenv("SSDC_DEC_KERNELS", dec, 1);
  setenv("SSDC_CUDA_GRAPH", graphs, 1);
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_model *m = NULL;
  rt_gpu_model *g = NULL;
  char path[8192];
  snprintf(path, sizeof path, "%s/%s.ssd", mdir, model);
  int rc = rt_model_shapes(NULL, path, &(rt_model_opts){0}, &m, &c);
  rt_weight_fn fn;
  void *ctx;
  if (!rc) rt_model_weights(m, &fn, &ctx);
  const rt_gpu_opts o = {.mode = RT_GPU_BF16, .dry_arch = "sm_90"};
  if (!rc) rc = rt_gpu_model_new(rt_model_module(m), fn, ctx, &o, &g, &c);
  const int64_t ids[8] = {0};
  float *lg = NULL;
  int64_t V;
  if (!rc) rc = rt_gpu_reset(g, 1, &c);
  if (!rc) rc = rt_gpu_decode(g, ids, 1, 8, true, &lg, &V, &c);
  for (int k = 0; k < nsteps && !rc; k++) {
    free(lg);
    lg = NULL;
    rc = rt_gpu_decode(g, ids, 1, 1, true, &lg, &V, &c);
    rt_cuda_mem_stats ms = {0};
    rt_gpu_mem(g, &ms);
    if (k == 1) r.held = ms.held, r.in_use = ms.in_use;
    CHECK(k < 1 || (ms.held == r.held && ms.in_use == r.in_use) || !strcmp(model, "hybrid"));
  }
  CHECK(rc == SSD_OK);
  if (!rc) r.kernels = rt_gpu_step_kernels(g), r.replays = rt_gpu_graph_replays(g);
  free(lg);
  rt_gpu_model_free(g);
  rt_model_free(m);
  unsetenv("SSDC_DEC_KERNELS");
  unsetenv("SSDC_CUDA_GRAPH");
  return r;
}

static void step_structure(const char *mdir) {
  const int64_t layers = 24; /* mamba2.ssd's default n_layer */
  const step_shape fused = decode_steps(mdir, "mamba2", "1", "1", 5);
  const step_shape plain = decode_steps(mdir, "mamba2", "0", "1", 5);
  const step_shape nograph = decode_steps(mdir, "mamba2", "1", "0", 5);
  /* attention: 8 + 70 positions cross the KV caches' first capacity (64);
   * the step at position 64 grows them and runs uncaptured */
  const step_shape hybrid = decode_steps(mdir, "hybrid", "1", "1", 70);
  printf("hybrid.ssd bf16 b1, 70 steps: %lld replays\n", (long long)hybrid.replays);
  CHECK(hybrid.replays == 70 - 2);
  printf("decode step, mamba2.ssd bf16 b1: %lld kernels (decode kernels), %lld (generic); "
         "%lld replays\n", (long long)fused.kernels, (long long)plain.kernels,
         (long long)fused.replays);
  CHECK(fused.kernels > layers && fused.kernels <= 3 * layers + 4);
  CHECK(plain.kernels > fused.kernels);
  CHECK(fused.replays == 4 && nograph.replays == 0); /* steps 2..5 */
  CHECK(nograph.kernels == fused.kernels);
}

/* Issue 4's memory target, planned: the 2.7b shape's 1x16K bf16 prefill
 * must not hold more device memory than mamba_ssm's 7.0 GiB peak
 * (../shared/notes/anchors-h100.md).  The dry device's pool counts exactly
 * the executor's allocations (weights, activations, states, workspaces);
 * it leaves out cuBLASLt's tuning scratch of a new shape's first GEMM
 * (at most 16384 x 10576 bf16 here, 0.33 GiB), so the bound is 7.0 - 0.33.
 * (H100, 2026-11-23: this prefill's pool peak was 6.51-6.83 GiB.) */
static void memory_target(const char *mdir) {
  char path[8192];
  snprintf(path, sizeof path, "%s/mamba2.ssd", mdir);
  const char *sets[] = {"d_model=2560", "n_layer=64"};
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_model *m = NULL;
  rt_gpu_model *g = NULL;
  int rc = rt_model_shapes(NULL, path, &(rt_model_opts){.sets = sets, .nsets = 2}, &m, &c);
  rt_weight_fn fn;
  void *ctx;
  if (!rc) rt_model_weights(m, &fn, &ctx);
  const rt_gpu_opts o = {.mode = RT_GPU_BF16, .dry_arch = "sm_90"};
  if (!rc) rc = rt_gpu_model_new(rt_model_module(m), fn, ctx, &o, &g, &c);
  const int64_t L = 16384;
  int64_t *ids = calloc((size_t)L, sizeof *ids), V;
  float *lg = NULL;
  if (!rc) rc = rt_gpu_reset(g, 1, &c);
  if (!rc) rc = rt_gpu_decode(g, ids, 1, L, true, &lg, &V, &c);
  CHECK(rc == SSD_OK);
  rt_cuda_mem_stats ms = {0};
  if (!rc) rt_gpu_mem(g, &ms);
  const double gib = (double)ms.peak / (1 << 30);
  printf("mamba2-2.7b shape, bf16 prefill 1x16K: device pool peak %.2f GiB (bound 6.67)\n", gib);
  CHECK(gib > 5.0 && gib <= 7.0 - 0.33);
  free(lg);
  free(ids);
  rt_gpu_model_free(g);
  rt_model_free(m);
}

static void bad_command_lines(const char *mdir, const char *golden, const char *root) {
  char gdir[8192];
  snprintf(gdir, sizeof gdir, "%s/mamba2_g1", golden);
  golden = gdir;
  char model[8192], out[8192];
  snprintf(model, sizeof model, "%s/mamba2.ssd", mdir);
  snprintf(out, sizeof out, "%s/bad", root);
  const char *cases[][16] = {
      {model, "--target", "cuda", "--arch", "sm_75", "--out", out, NULL},
      {model, "--target", "cuda", "--arch", "sm_90a", "--out", out, NULL},
      {model, "--target", "metal", "--out", out, NULL},
      {model, "--out", out, NULL},
      {model, "--target", "cuda", NULL},
      {"--target", "cuda", "--out", out, NULL},
      {model, "--model", golden, "--target", "cuda", "--out", out, NULL},
      {model, model, "--target", "cuda", "--out", out, NULL},
      {"/nonexistent.ssd", "--target", "cuda", "--out", out, NULL},
      {model, "--target", "cuda", "--set", "nosuch=1", "--out", out, NULL},
      {model, "--target", "cuda", "--dtype", "f16", "--out", out, NULL},
      {model, "--target", "cuda", "--batch", "0", "--out", out, NULL},
      {model, "--target", "cuda", "--batch", "1,,2", "--out", out, NULL},
      {model, "--target", "cuda", "--batch", "5000", "--out", out, NULL},
      {model, "--target", "cuda", "--seqlen", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "--out",
       out, NULL},
      {model, "--target", "cuda", "--frobnicate", "1", "--out", out, NULL},
  };
  fprintf(stderr, "(the next errors are expected)\n");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const int rc = compile(cases[i]);
    if (rc == 0) fprintf(stderr, "bad command line %zu was accepted\n", i);
    CHECK(rc != 0);
  }
  struct stat st;
  CHECK(stat(out, &st) != 0); /* nothing was written for any of them */
}

/* Checkpoint directories (config.json; the weights are not read): each
 * golden fixture, for the runs bench/cli_gpu_check.sh makes from its pack
 * on the GPU (input [2, 37], a 6-token prompt). */
static void golden_packs(const char *golden, const char *root) {
  static const char *const cases[] = {"mamba2_g1", "mamba2_g2", "mamba2_variants", "mamba1",
                                      "bamba"};
  char dir[8192], out[8192];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(dir, sizeof dir, "%s/%s", golden, cases[i]);
    snprintf(out, sizeof out, "%s/golden-%s", root, cases[i]);
    const char *args[] = {"--model", dir, "--target", "cuda", "--dtype", "f32,bf16", "--batch",
                          "2,1", "--seqlen", "37,6", "--out", out, NULL};
    CHECK(compile(args) == 0);
    CHECK(check_manifest(out, "sm_90") > 0);
  }
}

/* ---- the use phase: no NVRTC ---------------------------------------------------- */
static int open_dry(const char *mdir, const char *model, rt_gpu_mode mode, const char *pack,
                    rt_model **m, rt_gpu_model **g, ssd_ctx *c) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s.ssd", mdir, model);
  *g = NULL;
  int rc = rt_model_shapes(NULL, path, &(rt_model_opts){0}, m, c);
  if (rc) return rc;
  rt_weight_fn fn;
  void *ctx;
  rt_model_weights(*m, &fn, &ctx);
  const rt_gpu_opts o = {.mode = mode, .kernels = pack, .dry_arch = "sm_90"};
  return rt_gpu_model_new(rt_model_module(*m), fn, ctx, &o, g, c);
}

/* Walk model at batches/lengths through the pack; returns the status. */
static int walk(const char *mdir, const char *model, rt_gpu_mode mode, const char *pack,
                const int64_t *batch, int nb, int64_t L, ssd_ctx *c) {
  rt_model *m = NULL;
  rt_gpu_model *g = NULL;
  int rc = open_dry(mdir, model, mode, pack, &m, &g, c);
  rt_pack_plan p = {.nbatch = nb, .nseqlen = 1, .seqlen = {L}};
  memcpy(p.batch, batch, (size_t)nb * sizeof *batch);
  if (!rc) rc = rt_pack_walk(g, &p, c);
  rt_gpu_model_free(g);
  rt_model_free(m);
  return rc;
}

static void copy_pack(const char *from, const char *to) {
  char cmd[1400];
  const int k = snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
  CHECK(k > 0 && (size_t)k < sizeof cmd);
  CHECK(system(cmd) == 0);
}

/* The first kernel file the manifest of dir lists. */
static void first_entry(const char *dir, char *path, size_t n) {
  char man[700];
  snprintf(man, sizeof man, "%s/manifest.json", dir);
  size_t len = 0;
  unsigned char *t = slurp(man, &len);
  const char *f = t ? memmem(t, len, "\"file\": \"", 9) : NULL;
  CHECK(f != NULL);
  snprintf(path, n, "%s/%.22s", dir, f ? f + 9 : "none");
  free(t);
}

/* Rewrite dir's manifest with sed expression expr. */
static void edit_manifest(const char *dir, const char *expr) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "sed -i '%s' '%s/manifest.json'", expr, dir);
  CHECK(system(cmd) == 0);
}

/* rt_pack_open on dir for arch must fail with a message containing want. */
static void expect_refused(const char *dir, const char *arch, const char *want) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = stdout;
  const int rc = rt_pack_open(dir, arch, &c);
  const bool said = strstr(c.msg, want) != NULL;
  if (rc == SSD_OK || !said)
    fprintf(stderr, "pack %s: rc %d, message '%s', wanted '%s'\n", dir, rc, c.msg, want);
  CHECK(rc != SSD_OK && said);
}

static void damaged_packs(const char *mdir, const char *root) {
  char good[600], d[700], f[800];
  snprintf(good, sizeof good, "%s/b1", root);
  snprintf(d, sizeof d, "%s/damaged", root);
  ssd_ctx c;
  ssd_ctx_init(&c);
  CHECK(rt_pack_open(good, "sm_90", &c) == SSD_OK);
  expect_refused(good, "sm_80", "this device is sm_80");

  copy_pack(good, d);
  first_entry(d, f, sizeof f);
  FILE *fp = fopen(f, "r+b");
  CHECK(fp != NULL);
  if (fp) { /* flip one byte of the payload */
    fseek(fp, 100, SEEK_SET);
    int ch = fgetc(fp);
    fseek(fp, 100, SEEK_SET);
    fputc(ch ^ 0x20, fp);
    fclose(fp);
  }
  expect_refused(d, "sm_90", "damaged");
  /* and through the executor, as run/generate/bench see it */
  rt_model *m = NULL;
  rt_gpu_model *g = NULL;
  ssd_ctx_init(&c);
  CHECK(open_dry(mdir, "mamba2", RT_GPU_BF16, d, &m, &g, &c) != SSD_OK && g == NULL);
  CHECK(strstr(c.msg, "damaged") != NULL);
  rt_model_free(m);

  copy_pack(good, d);
  first_entry(d, f, sizeof f);
  CHECK(truncate(f, 1000) == 0);
  expect_refused(d, "sm_90", "damaged");

  copy_pack(good, d);
  first_entry(d, f, sizeof f);
  CHECK(unlink(f) == 0);
  expect_refused(d, "sm_90", "missing");

  static const char *const edits[][2] = { /* sed expression on the manifest, message */
      {"s/\"arch\": \"sm_90\"/\"arch\": \"sm_80\"/", "compiled for sm_80"},
      {"s/\"ssdc\": \"[^\"]*\"/\"ssdc\": \"0.0.1\"/", "made by ssdc 0.0.1"},
      {"0,/\"file\": \"[0-9a-f]*.cubin\"/s//\"file\": \"..\\/..\\/etc\\/passwd\"/",
       "malformed kernel entry"},
      {"s/}$/,/", "manifest.json"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
    copy_pack(good, d);
    edit_manifest(d, edits[i][0]);
    expect_refused(d, "sm_90", edits[i][1]);
  }

  copy_pack(good, d);
  snprintf(f, sizeof f, "%s/manifest.json", d);
  CHECK(unlink(f) == 0);
  expect_refused(d, "sm_90", "no manifest.json");
}

static int use_phase(const char *mdir, const char *root) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = fopen("/dev/null", "w"); /* the expected errors stay quiet; c.msg keeps them */
  CHECK(cg_nvrtc_open(&c) != SSD_OK); /* the point of this phase */
  list_models(mdir);
  const int64_t b13[] = {1, 3};
  char pack[600];
  for (int i = 0; i < nmodels; i++) {
    snprintf(pack, sizeof pack, "%s/%s", root, models[i]);
    for (int mode = 0; mode < 2; mode++) {
      const int rc = walk(mdir, models[i], mode ? RT_GPU_BF16 : RT_GPU_F32, pack, b13, 2, 300, &c);
      if (rc) fprintf(stderr, "%s %s from its pack: %s\n", models[i], mode ? "bf16" : "f32", c.msg);
      CHECK(rc == SSD_OK);
    }
  }
  /* a batch the pack was not made for: the missing kernel and the pack are named */
  snprintf(pack, sizeof pack, "%s/b1", root);
  const int64_t b12[] = {12};
  CHECK(walk(mdir, "mamba2", RT_GPU_BF16, pack, b12, 1, 64, &c) != SSD_OK);
  CHECK(strstr(c.msg, "is not in the kernel pack") && strstr(c.msg, pack) && strstr(c.msg, "NVRTC"));
  /* ... nor another dtype */
  const int64_t b1[] = {1};
  CHECK(walk(mdir, "mamba2", RT_GPU_F32, pack, b1, 1, 64, &c) != SSD_OK);
  /* $SSDC_KERNELS */
  setenv("SSDC_KERNELS", pack, 1);
  CHECK(walk(mdir, "mamba2", RT_GPU_BF16, NULL, b1, 1, 64, &c) == SSD_OK);
  unsetenv("SSDC_KERNELS");
  /* without a pack there is nothing to build kernels with */
  CHECK(walk(mdir, "mamba2", RT_GPU_BF16, NULL, b1, 1, 64, &c) != SSD_OK);
  damaged_packs(mdir, root);
  fclose(c.diag);
  if (fails) fprintf(stderr, "test_pack use: %d failures\n", fails);
  return fails != 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "use")) return use_phase(argv[2], argv[3]);
  if (argc != 3) return fprintf(stderr, "usage: test_pack MODELS_DIR GOLDEN_ROOT\n"), 2;
  ssd_ctx c;
  ssd_ctx_init(&c);
  int need = cgt_need_nvrtc("test_pack", &c);
  if (need) return need;
  char tmpl[] = "/tmp/ssdc-pack-test-XXXXXX";
  char *root = mkdtemp(tmpl);
  CHECK(root != NULL);
  if (!root) return 1;
  char cache[300], cmd[2000];
  snprintf(cache, sizeof cache, "%s/cache", root);
  setenv("SSDC_CACHE_DIR", cache, 1);
  unsetenv("SSDC_KERNELS");
  list_models(argv[1]);
  CHECK(nmodels >= 8);
  make_packs(argv[1], root);
  step_structure(argv[1]);
  memory_target(argv[1]);
  bad_command_lines(argv[1], argv[2], root);
  golden_packs(argv[2], root);
  snprintf(cmd, sizeof cmd, "SSDC_NVRTC=/nonexistent/libnvrtc.so '%s' use '%s' '%s'", argv[0],
           argv[1], root);
  CHECK(system(cmd) == 0);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  CHECK(system(cmd) == 0);
  if (fails) fprintf(stderr, "test_pack: %d failures\n", fails);
  else printf("test_pack: ok (%d models)\n", nmodels);
  return fails != 0;
}
