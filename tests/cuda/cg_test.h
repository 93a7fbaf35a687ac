/* cg_test.h: what the NVRTC tests share: the rule for a machine without the
 * CUDA toolkit (fail, unless SSDC_NO_CUDA_TOOLKIT=1 says so: then skip with
 * 77), compiling one generated source to a checked cubin, and taking a model
 * file through the frontend and every pass for the CUDA target. */
#ifndef CG_TEST_H
#define CG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda.h"

/* 0 when NVRTC opened; otherwise the exit code the test should return. */
static inline int cgt_need_nvrtc(const char *test, ssd_ctx *c) {
  if (cg_nvrtc_open(c) == SSD_OK) return 0;
  const char *no = getenv("SSDC_NO_CUDA_TOOLKIT");
  if (no && !strcmp(no, "1")) {
    printf("%s: SSDC_NO_CUDA_TOOLKIT=1 and no NVRTC: skipped\n", test);
    return 77;
  }
  fprintf(stderr, "%s: NVRTC is required (set SSDC_NO_CUDA_TOOLKIT=1 on machines without the "
                  "CUDA toolkit): %s\n", test, c->msg);
  return 1;
}

/* Compile src for arch and check that an ELF cubin of at least min_bytes came
 * back.  Frees src. */
static inline int cgt_compile(cg_source *src, const char *arch, size_t min_bytes, ssd_ctx *c) {
  void *cubin = NULL;
  size_t n = 0;
  int rc = cg_nvrtc_compile(src, arch, &cubin, &n, c);
  if (rc == SSD_OK && (n < min_bytes || memcmp(cubin, "\177ELF", 4) != 0)) {
    fprintf(stderr, "kernel %s for %s: not an ELF cubin (%zu bytes)\n", src->name, arch, n);
    rc = SSD_EINTERNAL;
  }
  free(cubin);
  cg_source_free(src);
  return rc;
}

#if defined(SSD_FE_H) && defined(SSD_PASSES_H) /* tests that link the frontend and passes */
/* Model file -> fully passed module for the CUDA target (arena keeps the
 * program alive for the module's source locations). */
static inline int cgt_model(const char *path, ssd_arena *a, ir_module **m, ssd_ctx *c) {
  fe_program *p = NULL;
  *m = NULL;
  int rc = fe_parse_file(a, path, &p, c);
  if (rc == SSD_OK) rc = fe_lower(p, m, c);
  pass_opts po = {.target = "cuda"};
  if (rc == SSD_OK) rc = pass_run_all(*m, &po, c);
  return rc;
}
#endif

#endif
