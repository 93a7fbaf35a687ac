/* cg_cli.c: `ssdc compile MODEL --target cuda --arch sm_90 --out DIR`.
 *
 * Ahead-of-time compilation without a GPU: the model file goes through the
 * frontend and every pass (with the CUDA cost model), every kernel the final
 * module needs is generated and compiled by NVRTC (through the kernel cache),
 * and DIR receives one .cubin per kernel plus manifest.json naming each with
 * its size and FNV-1a checksum.  Every file is written atomically, the
 * manifest last, so a DIR with a manifest is complete.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cg_cli.h"
#include "cg_cuda.h"
#include "fe.h"
#include "passes.h"

typedef struct cli {
  const char *model, *target, *arch, *out;
  int64_t seqlen;
  const char *sets[64];
  int nsets;
} cli;

static void usage(FILE *f) {
  fprintf(f,
          "usage: ssdc compile MODEL.ssd --target cuda [--arch sm_90] [--seqlen L]\n"
          "                    [--set name=value]... --out DIR\n\n"
          "Generates and compiles (NVRTC) every GPU kernel MODEL needs, specialized on its\n"
          "shapes, into DIR: one .cubin per kernel and manifest.json.  No GPU is needed.\n"
          "  --target T    code generation target; only 'cuda' is supported\n"
          "  --arch A      GPU architecture: sm_80, sm_86, sm_89, sm_90, sm_90a, ... (default sm_90)\n"
          "  --seqlen L    sequence length the passes select forms for (default: all)\n"
          "  --set k=v     override a model hyperparameter (repeatable)\n"
          "  --out DIR     output directory (created if missing)\n"
          "Kernels are cached in $SSDC_CACHE_DIR (default $XDG_CACHE_HOME/ssdc or ~/.cache/ssdc).\n");
}

static int parse_args(int argc, char **argv, cli *o, ssd_ctx *c) {
  memset(o, 0, sizeof *o);
  o->arch = "sm_90";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool takes = !strcmp(a, "--target") || !strcmp(a, "--arch") || !strcmp(a, "--seqlen") ||
                 !strcmp(a, "--set") || !strcmp(a, "--out");
    if (!takes) {
      if (a[0] == '-' && a[1]) return ssd_err(c, SSD_EINVAL, "unknown option '%s'", a);
      if (o->model) return ssd_err(c, SSD_EINVAL, "more than one model file given");
      o->model = a;
      continue;
    }
    if (i + 1 >= argc) return ssd_err(c, SSD_EINVAL, "%s needs a value", a);
    const char *v = argv[++i];
    if (!strcmp(a, "--target")) o->target = v;
    else if (!strcmp(a, "--arch")) o->arch = v;
    else if (!strcmp(a, "--out")) o->out = v;
    else if (!strcmp(a, "--set")) {
      if (o->nsets == 64) return ssd_err(c, SSD_EINVAL, "too many --set options");
      o->sets[o->nsets++] = v;
    } else {
      char *end;
      errno = 0;
      long long L = strtoll(v, &end, 10);
      if (errno || *end || L < 1) return ssd_err(c, SSD_EINVAL, "bad --seqlen '%s'", v);
      o->seqlen = L;
    }
  }
  if (!o->model) return ssd_err(c, SSD_EINVAL, "no model file given (see ssdc compile --help)");
  if (!o->target) return ssd_err(c, SSD_EINVAL, "--target is required (only 'cuda' is supported)");
  if (strcmp(o->target, "cuda"))
    return ssd_err(c, SSD_EUNSUPPORTED, "unknown target '%s' (only 'cuda' is supported)", o->target);
  if (!cg_arch_valid(o->arch))
    return ssd_err(c, SSD_EINVAL, "bad --arch '%s' (want sm_80 or later, e.g. sm_90)", o->arch);
  if (!o->out) return ssd_err(c, SSD_EINVAL, "--out DIR is required");
  return SSD_OK;
}

/* Model file -> fully passed module. */
static int load_module(const cli *o, ssd_arena *a, ir_module **m, ssd_ctx *c) {
  fe_program *p = NULL;
  int rc = fe_parse_file(a, o->model, &p, c);
  for (int i = 0; rc == SSD_OK && i < o->nsets; i++) {
    const char *eq = strchr(o->sets[i], '=');
    if (!eq || eq == o->sets[i])
      return ssd_err(c, SSD_EINVAL, "--set wants name=value, got '%s'", o->sets[i]);
    char *name = ssd_arena_strndup(a, o->sets[i], (size_t)(eq - o->sets[i]));
    if (!name) return ssd_err(c, SSD_ENOMEM, "out of memory");
    rc = fe_set(p, name, eq + 1, c);
  }
  if (rc == SSD_OK) rc = fe_lower(p, m, c);
  if (rc) return rc;
  pass_opts po = {.seqlen = o->seqlen, .target = "cuda"};
  return pass_run_all(*m, &po, c);
}

static int mkdir_out(const char *dir, ssd_ctx *c) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return ssd_err(c, SSD_EIO, "cannot create '%s': %s", dir, strerror(errno));
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return ssd_err(c, SSD_EIO, "'%s' is not a directory", dir);
  return SSD_OK;
}

static const char *kind_name(cg_ssd_kind k) { return k == CG_SSD_CHUNKED ? "ssd_chunked" : "ssd_step"; }

/* Compile one kernel into DIR and append its manifest entry. */
static int emit_kernel(const cli *o, cg_cache *cc, const cg_ssd_spec *s, FILE *man, int first,
                       ssd_ctx *c) {
  cg_source src;
  int rc = cg_ssd_source(s, &src, c);
  if (rc) return rc;
  void *cubin = NULL;
  size_t n = 0;
  rc = cg_build(cc, &src, o->arch, &cubin, &n, c);
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.cubin", o->out, src.name);
  if (rc == SSD_OK) rc = ssd_write_file_atomic(path, cubin, n, c);
  if (rc == SSD_OK)
    fprintf(man,
            "%s    {\"name\": \"%s\", \"kind\": \"%s\", \"file\": \"%s.cubin\", \"bytes\": %zu, "
            "\"fnv1a64\": \"%016llx\", \"H\": %lld, \"P\": %lld, \"N\": %lld, \"ps\": %d, "
            "\"smem\": %zu}",
            first ? "" : ",\n", src.name, kind_name(s->kind), src.name, n,
            (unsigned long long)ssd_hash64(cubin, n, 0), (long long)s->H, (long long)s->P,
            (long long)s->N, s->ps, s->kind == CG_SSD_CHUNKED ? cg_ssd_smem_bytes(s) : (size_t)0);
  free(cubin);
  cg_source_free(&src);
  return rc;
}

static int compile_all(const cli *o, const ir_module *m, ssd_ctx *c) {
  cg_ssd_spec *specs = NULL;
  int n = 0, skipped = 0;
  int rc = cg_model_kernels(m, &specs, &n, &skipped, c);
  if (rc) return rc;
  if (skipped)
    ssd_warn(c, "%d S6 (Mamba-1) mixer%s: no CUDA kernel generated yet (they run on the CPU)",
             skipped, skipped > 1 ? "s" : "");
  char ver[32];
  cg_cache cc;
  if (rc == SSD_OK) rc = cg_nvrtc_version(ver, c);
  if (rc == SSD_OK) rc = cg_cache_open(&cc, NULL, c);
  if (rc == SSD_OK) rc = mkdir_out(o->out, c);
  char *buf = NULL;
  size_t len = 0;
  FILE *man = rc == SSD_OK ? open_memstream(&buf, &len) : NULL;
  if (rc == SSD_OK && !man) rc = ssd_err(c, SSD_ENOMEM, "out of memory");
  if (rc == SSD_OK) {
    fprintf(man, "{\n  \"ssdc\": \"%s\",\n  \"model\": \"%s\",\n  \"target\": \"cuda\",\n"
                 "  \"arch\": \"%s\",\n  \"nvrtc\": \"%s\",\n  \"options\": \"%s\",\n"
                 "  \"s6_mixers_without_kernel\": %d,\n  \"kernels\": [\n",
            SSDC_VERSION, m->name ? m->name : "", o->arch, ver, cg_nvrtc_options(), skipped);
    for (int i = 0; i < n && rc == SSD_OK; i++) rc = emit_kernel(o, &cc, &specs[i], man, i == 0, c);
    fprintf(man, "\n  ]\n}\n");
  }
  if (man) fclose(man);
  if (rc == SSD_OK) {
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", o->out);
    rc = ssd_write_file_atomic(path, buf, len, c);
    if (rc == SSD_OK)
      printf("ssdc: %d kernel%s for %s (%s) in %s (cache: %d hit%s)\n", n, n == 1 ? "" : "s",
             o->model, o->arch, o->out, cc.hits, cc.hits == 1 ? "" : "s");
  }
  free(buf);
  free(specs);
  return rc;
}

int cg_cmd_compile(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    }
  ssd_ctx c;
  ssd_ctx_init(&c);
  cli o;
  if (parse_args(argc, argv, &o, &c)) return 2;
  ssd_arena *a = ssd_arena_new();
  if (!a) return ssd_err(&c, SSD_ENOMEM, "out of memory"), 1;
  ir_module *m = NULL;
  int rc = load_module(&o, a, &m, &c);
  if (rc == SSD_OK) rc = compile_all(&o, m, &c);
  if (m) ir_module_free(m);
  ssd_arena_free(a);
  return rc == SSD_OK ? 0 : 1;
}
