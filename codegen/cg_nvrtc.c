/* cg_nvrtc.c: NVRTC, opened at run time.
 *
 * ssdc links nothing from CUDA: the binary must start on machines with no
 * toolkit and no driver.  So libnvrtc is found with dlopen and the handful of
 * entry points we need are declared here by hand (their C ABI has been stable
 * since CUDA 11).  A compile error prints NVRTC's log under the kernel's name,
 * since the generated source is otherwise invisible to the user.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda.h"

typedef int nvrtcResult;
typedef struct _nvrtcProgram *nvrtcProgram;

static struct {
  void *lib;
  char path[256];
  const char *(*GetErrorString)(nvrtcResult);
  nvrtcResult (*Version)(int *, int *);
  nvrtcResult (*CreateProgram)(nvrtcProgram *, const char *, const char *, int,
                               const char *const *, const char *const *);
  nvrtcResult (*DestroyProgram)(nvrtcProgram *);
  nvrtcResult (*CompileProgram)(nvrtcProgram, int, const char *const *);
  nvrtcResult (*GetProgramLogSize)(nvrtcProgram, size_t *);
  nvrtcResult (*GetProgramLog)(nvrtcProgram, char *);
  nvrtcResult (*GetCUBINSize)(nvrtcProgram, size_t *);
  nvrtcResult (*GetCUBIN)(nvrtcProgram, char *);
} nv;
static pthread_mutex_t nv_lock = PTHREAD_MUTEX_INITIALIZER;

/* -O3 is NVRTC's default; the options only pin the language and keep
 * line info for profilers.  Fast-math stays off: y must match the reference. */
static const char *const nv_opts[] = {"--std=c++17", "-lineinfo"};
#define NV_NOPTS (int)(sizeof nv_opts / sizeof *nv_opts)

const char *cg_nvrtc_options(void) {
  return "--std=c++17 -lineinfo";
}

static int nv_sym(void **slot, const char *name, ssd_ctx *c) {
  *slot = dlsym(nv.lib, name);
  if (!*slot) return ssd_err(c, SSD_EDEVICE, "NVRTC library '%s' lacks %s", nv.path, name);
  return SSD_OK;
}

static int nv_load(ssd_ctx *c) {
  const char *env = getenv("SSDC_NVRTC");
  const char *names[] = {env, "libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12",
                         "libnvrtc.so.11.2"};
  const char *first_err = NULL;
  for (size_t i = 0; i < sizeof names / sizeof *names && !nv.lib; i++) {
    if (!names[i] || !*names[i]) continue;
    nv.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (nv.lib) snprintf(nv.path, sizeof nv.path, "%s", names[i]);
    else if (!first_err) first_err = dlerror();
    if (env && *env && i == 0 && !nv.lib)
      return ssd_err(c, SSD_EDEVICE, "cannot open NVRTC from SSDC_NVRTC='%s': %s", env,
                     first_err ? first_err : "unknown error");
  }
  if (!nv.lib)
    return ssd_err(c, SSD_EDEVICE,
                   "cannot open libnvrtc (install the CUDA toolkit's NVRTC, or set SSDC_NVRTC "
                   "to its path): %s",
                   first_err ? first_err : "not found");
  int rc = SSD_OK;
#define SYM(f)                                                                       \
  if (rc == SSD_OK) rc = nv_sym((void **)&nv.f, "nvrtc" #f, c);
  SYM(GetErrorString) SYM(Version) SYM(CreateProgram) SYM(DestroyProgram) SYM(CompileProgram)
  SYM(GetProgramLogSize) SYM(GetProgramLog) SYM(GetCUBINSize) SYM(GetCUBIN)
#undef SYM
  if (rc != SSD_OK) {
    dlclose(nv.lib);
    nv.lib = NULL;
  }
  return rc;
}

int cg_nvrtc_open(ssd_ctx *c) {
  pthread_mutex_lock(&nv_lock);
  int rc = nv.lib ? SSD_OK : nv_load(c);
  pthread_mutex_unlock(&nv_lock);
  return rc;
}

int cg_nvrtc_version(char buf[32], ssd_ctx *c) {
  int rc = cg_nvrtc_open(c);
  if (rc) return rc;
  int major = 0, minor = 0;
  if (nv.Version(&major, &minor) != 0)
    return ssd_err(c, SSD_EDEVICE, "nvrtcVersion failed");
  snprintf(buf, 32, "%d.%d", major, minor);
  return SSD_OK;
}

bool cg_arch_valid(const char *arch) {
  if (!arch || strncmp(arch, "sm_", 3) != 0) return false;
  const char *p = arch + 3;
  int v = 0, nd = 0;
  while (*p >= '0' && *p <= '9' && nd < 4) v = v * 10 + (*p++ - '0'), nd++;
  if (nd < 2 || v < 80) return false;
  if (*p == 'a') p++;
  return *p == '\0';
}

static int nv_fail(ssd_ctx *c, const cg_source *s, const char *what, nvrtcResult r) {
  return ssd_err(c, SSD_EDEVICE, "NVRTC %s failed for kernel '%s': %s", what, s->name,
                 nv.GetErrorString(r));
}

static void nv_print_log(nvrtcProgram prog, const cg_source *s, const char *arch, ssd_ctx *c) {
  size_t n = 0;
  if (nv.GetProgramLogSize(prog, &n) != 0 || n <= 1) return;
  char *log = malloc(n);
  if (!log) return;
  if (nv.GetProgramLog(prog, log) == 0)
    fprintf(c->diag ? c->diag : stderr, "ssdc: NVRTC log for kernel '%s' (%s):\n%s\n", s->name,
            arch, log);
  free(log);
}

int cg_nvrtc_compile(const cg_source *s, const char *arch, void **cubin, size_t *size,
                     ssd_ctx *c) {
  *cubin = NULL;
  *size = 0;
  if (!cg_arch_valid(arch))
    return ssd_err(c, SSD_EINVAL, "bad GPU architecture '%s' (want sm_80 or later, e.g. sm_90)",
                   arch ? arch : "(null)");
  int rc = cg_nvrtc_open(c);
  if (rc) return rc;
  char file[128], archopt[64];
  snprintf(file, sizeof file, "%s.cu", s->name);
  snprintf(archopt, sizeof archopt, "--gpu-architecture=%s", arch);
  const char *opts[NV_NOPTS + 1];
  for (int i = 0; i < NV_NOPTS; i++) opts[i] = nv_opts[i];
  opts[NV_NOPTS] = archopt;

  nvrtcProgram prog = NULL;
  nvrtcResult r = nv.CreateProgram(&prog, s->src, file, 0, NULL, NULL);
  if (r != 0) return nv_fail(c, s, "program creation", r);
  r = nv.CompileProgram(prog, NV_NOPTS + 1, opts);
  if (r != 0) {
    nv_print_log(prog, s, arch, c);
    rc = nv_fail(c, s, "compilation", r);
    nv.DestroyProgram(&prog);
    return rc;
  }
  size_t n = 0;
  r = nv.GetCUBINSize(prog, &n);
  if (r != 0 || n == 0) {
    rc = r ? nv_fail(c, s, "cubin size query", r)
           : ssd_err(c, SSD_EDEVICE, "NVRTC produced no cubin for '%s' (%s)", s->name, arch);
    nv.DestroyProgram(&prog);
    return rc;
  }
  char *buf = malloc(n);
  if (!buf) {
    nv.DestroyProgram(&prog);
    return ssd_err(c, SSD_ENOMEM, "out of memory for a %zu-byte cubin", n);
  }
  r = nv.GetCUBIN(prog, buf);
  nv.DestroyProgram(&prog);
  if (r != 0) {
    free(buf);
    return nv_fail(c, s, "cubin retrieval", r);
  }
  *cubin = buf;
  *size = n;
  return SSD_OK;
}
