/* test_dec_nvrtc.c: the decode-kernel templates (codegen/cuda/dec_*.cuh)
 * compile through NVRTC for sm_80 and sm_90 at model shapes and options,
 * and bad specs are refused with a message before NVRTC.
 *
 * Needs libnvrtc, no GPU.  Without NVRTC it fails unless
 * SSDC_NO_CUDA_TOOLKIT=1 (then exits 77: skipped), like tests/cuda.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec_specs.h"

#include "../ssd_check.h"
#include "../cuda/cg_test.h"

static int compile_one(const cg_dec_spec *s, const char *arch, ssd_ctx *c) {
  cg_source src;
  int rc = cg_dec_source(s, &src, c);
  return rc ? rc : cgt_compile(&src, arch, 500, c);
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  int need = cgt_need_nvrtc("test_dec_nvrtc", &c);
  if (need) return need;
  cg_dec_spec k1 = ds_mamba2(24, 64, 128, 1, false);
  k1.conv_k = 1; /* no conv state at all */
  cg_dec_spec xf = ds_gemv(3, 768, 1536, false, true, false);
  xf.x_f32 = true;
  cg_dec_spec wide = ds_gemv(16, 2560, 5120, false, false, true),
              narrow = ds_gemv(1, 768, 1536, false, false, false);
  wide.warps = 16, wide.unroll = 8, narrow.warps = 4, narrow.unroll = 1;
  cg_dec_spec gated = ds_norm(16, 2560, 5120, CG_DEC_NORM_GATED, true, true);
  gated.x_f32 = true; /* fp32 y and z */
  cg_dec_spec gn = ds_mamba2(80, 64, 128, 1, true);
  gn.gnorm = true;
  cg_dec_spec specs[] = {ds_pre(1, 10576, 2560, 160, false, false),
                         ds_pre(4, 2560, 5120, 320, true, true), gn,
                         wide, narrow, ds_gemv(1, 3352, 768, true, false, false),
                         ds_gemv(4, 768, 1536, false, false, true),
                         ds_gemv(16, 50280, 2560, false, false, false),
                         ds_gemv(9, 10576, 2560, true, true, true), xf,
                         ds_norm(1, 10576, 2560, CG_DEC_NORM_RMS, true, false),
                         ds_norm(9, 50280, 2560, CG_DEC_NORM_RMS, false, false),
                         ds_norm(4, 768, 1536, CG_DEC_NORM_GATED, false, true), gated,
                         ds_mamba2(24, 64, 128, 1, true), ds_mamba2(80, 64, 128, 1, false),
                         ds_mamba2(80, 64, 128, 2, true), ds_pattern(), k1};
  const int ns = (int)(sizeof specs / sizeof *specs);
  const char *arch[] = {"sm_80", "sm_90"};
  int ok = 0;
  for (int i = 0; i < ns; i++)
    for (int a = 0; a < 2; a++) {
      if (compile_one(&specs[i], arch[a], &c) == SSD_OK)
        ok++;
      else {
        fprintf(stderr, "spec %d for %s: %s\n", i, arch[a], c.msg);
        fails++;
      }
    }
  CHECK(ok == ns * 2);

  /* Bad specs: refused before NVRTC, with a message naming the problem. */
  cg_dec_spec bad[] = {
      ds_gemv(17, 768, 768, false, false, false), ds_gemv(1, 768, 770, false, false, false),
      ds_gemv(0, 768, 768, false, false, false),  ds_mamba2(24, 64, 100, 1, false),
      ds_mamba2(24, 64, 128, 5, false),           ds_mamba2(24, 64, 128, 1, false),
      ds_mamba2(24, 64, 128, 1, false),           ds_gemv(1, 768, 768, false, false, false),
      ds_norm(1, 768, 768, CG_DEC_NORM_RMS, false, false),
      ds_pre(4, 768, 768, 2000, false, false), ds_pre(1, 768, 768, 0, false, false),
      ds_mamba2(24, 64, 128, 1, false)};
  bad[11].gnorm = bad[11].has_z = true;
  bad[5].rows = 24; /* does not divide P */
  bad[6].conv_k = 0;
  bad[7].warps = 6;
  bad[8].eps = -1.0;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cg_source src;
    c.msg[0] = '\0';
    CHECK(cg_dec_source(&bad[i], &src, &c) == SSD_EUNSUPPORTED);
    CHECK(c.msg[0] != '\0');
  }
  /* Distinct specializations get distinct entry points. */
  cg_source s1, s2;
  CHECK(cg_dec_source(&specs[5], &s1, &c) == SSD_OK);
  CHECK(cg_dec_source(&specs[6], &s2, &c) == SSD_OK);
  CHECK(strcmp(s1.name, s2.name) != 0);
  cg_source_free(&s1);
  cg_source_free(&s2);
  printf("test_dec_nvrtc: %d kernels compiled, %d failures\n", ok, fails);
  return fails ? 1 : 0;
}
