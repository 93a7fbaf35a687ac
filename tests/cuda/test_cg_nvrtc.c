/* test_cg_nvrtc.c: every kernel shape ssdc generates compiles through NVRTC
 * for sm_80 and sm_90, and NVRTC failures are reported, not hidden.
 *
 * Needs libnvrtc but no GPU.  If NVRTC cannot be opened the test FAILS,
 * unless SSDC_NO_CUDA_TOOLKIT=1 says this machine has no toolkit on purpose
 * (then it exits 77, which ctest reports as skipped).  The specs cover the
 * model files' shapes (mamba2-130m/2.7b heads, groups, head patterns) and
 * every optional operand; a kernel count of zero would be a failure too.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda.h"

#include "../ssd_check.h"
#include "../cuda/cg_test.h"

static cg_ssd_spec base(int64_t H, int64_t P, int64_t N, int64_t G) {
  cg_ssd_spec s = {0};
  s.H = H, s.P = P, s.N = N, s.hx = H, s.hb = G, s.hc = G, s.hdt = H;
  s.has_dt = s.has_A = s.has_dt_bias = s.dt_softplus = s.has_D = true;
  s.A_is_log = true;
  return s;
}

static int compile_one(const cg_ssd_spec *s, const char *arch, ssd_ctx *c) {
  cg_source src;
  int rc = cg_ssd_source(s, &src, c);
  return rc ? rc : cgt_compile(&src, arch, 1000, c);
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  int need = cgt_need_nvrtc("test_cg_nvrtc", &c);
  if (need) return need;
  char ver[32];
  CHECK(cg_nvrtc_version(ver, &c) == SSD_OK);

  cg_ssd_spec specs[16];
  int ns = 0;
  cg_ssd_spec s = base(80, 64, 128, 1); /* mamba2-2.7b */
  for (int ps = 16; ps <= 64; ps *= 2) {
    s.kind = CG_SSD_CHUNKED, s.ps = ps;
    specs[ns++] = s;
  }
  s = base(24, 64, 128, 1); /* mamba2-130m, with gate, final state, clamp */
  s.kind = CG_SSD_CHUNKED, s.has_z = s.has_final = s.dt_clamp = true, s.dt_min = 0.001, s.dt_max = 0.1;
  specs[ns++] = s;
  s = base(8, 32, 64, 2); /* groups, head patterns, per-channel D, init, fp32 y */
  s.kind = CG_SSD_CHUNKED, s.hx = 4, s.hdt = 2, s.D_per_channel = s.has_init = s.has_final = true;
  s.y_f32 = true, s.A_is_log = false;
  specs[ns++] = s;
  s = base(4, 32, 16, 1); /* linear attention: no dt, no A, no D */
  s.kind = CG_SSD_CHUNKED, s.has_dt = s.has_A = s.has_dt_bias = s.dt_softplus = s.has_D = false;
  specs[ns++] = s;
  s = base(80, 64, 128, 1);
  s.kind = CG_SSD_STEP, s.has_z = true;
  specs[ns++] = s;
  s = base(8, 32, 48, 2);
  s.kind = CG_SSD_STEP, s.in_f32 = s.y_f32 = true, s.hx = 4, s.D_per_channel = true;
  specs[ns++] = s;

  /* Operands as column slices of wider rows: mamba2-2.7b's conv output
   * (x | B | C, 5376 wide) and in_proj output (z | xBC | dt, 10576 wide). */
  s = base(80, 64, 128, 1);
  s.kind = CG_SSD_CHUNKED, s.has_z = s.has_final = true;
  s.ld_x = s.ld_b = s.ld_c = 5376, s.ld_z = s.ld_dt = 10576;
  specs[ns++] = s;
  s.dt_f32 = s.z_f32 = true, s.ld_z = s.ld_dt = 10577, s.ps = 32; /* fp32 dt/z, odd z stride */
  specs[ns++] = s;
  s = base(80, 64, 128, 1);
  s.kind = CG_SSD_STEP, s.has_z = true;
  s.ld_x = s.ld_b = s.ld_c = 5376, s.ld_z = s.ld_dt = 10576;
  specs[ns++] = s;
  s.in_f32 = true, s.ld_x = 5377; /* the step kernel reads elements: any stride */
  specs[ns++] = s;

  const char *archs[] = {"sm_80", "sm_90"};
  int compiled = 0;
  for (int i = 0; i < ns; i++)
    for (int a = 0; a < 2; a++) {
      int rc = compile_one(&specs[i], archs[a], &c);
      CHECK(rc == SSD_OK);
      compiled += rc == SSD_OK;
    }
  CHECK(compiled == 2 * ns);

  /* the wgmma chunked kernel (sm_90a only): 2.7b strided with gate and final
   * state, 130m with the folded gated norm, N = 64 with init and fp32 dt */
  cg_ssd_spec wg[3];
  wg[0] = base(80, 64, 128, 1);
  wg[0].kind = CG_SSD_CHUNKED, wg[0].has_z = wg[0].has_final = true;
  wg[0].ld_x = wg[0].ld_b = wg[0].ld_c = 5376, wg[0].ld_z = wg[0].ld_dt = 10576;
  wg[1] = base(24, 64, 128, 1);
  wg[1].kind = CG_SSD_CHUNKED, wg[1].has_z = wg[1].gnorm = true;
  wg[2] = base(8, 64, 64, 2);
  wg[2].kind = CG_SSD_CHUNKED, wg[2].has_init = wg[2].dt_f32 = true, wg[2].hx = 4;
  for (int i = 0; i < 3; i++) {
    wg[i].wg = true;
    CHECK(cg_ssd_wg_fits(&wg[i]));
    CHECK(compile_one(&wg[i], "sm_90a", &c) == SSD_OK);
  }
  CHECK(cg_arch_has_wgmma("sm_90") && cg_arch_has_wgmma("emu") && !cg_arch_has_wgmma("sm_80") &&
        !cg_arch_has_wgmma("sm_100"));

  /* the mma.sync kernel with B and C by tensor copies (sm_90): the 2.7b's
   * strided operands plain, with the gate and the folded norm, N = 64 with
   * groups, and the folded conv (x stays on cp.async) */
  cg_ssd_spec tm[4];
  for (int i = 0; i < 4; i++) {
    tm[i] = base(80, 64, i == 2 ? 64 : 128, i == 2 ? 2 : 1);
    tm[i].kind = CG_SSD_CHUNKED, tm[i].tma = tm[i].has_final = true;
    tm[i].ld_x = tm[i].ld_b = tm[i].ld_c = 5376, tm[i].ld_z = tm[i].ld_dt = 10576;
  }
  tm[1].has_z = tm[1].gnorm = true;
  tm[2].ld_x = tm[2].ld_b = tm[2].ld_c = 0, tm[2].ld_z = tm[2].ld_dt = 0, tm[2].has_init = true;
  tm[3].xconv_k = 4, tm[3].xconv_bias = true;
  for (int i = 0; i < 4; i++) {
    CHECK(cg_ssd_tma_fits(&tm[i]));
    CHECK(compile_one(&tm[i], "sm_90", &c) == SSD_OK);
  }
  CHECK(cg_arch_has_tma("sm_90") && cg_arch_has_tma("sm_90a") && cg_arch_has_tma("sm_100") &&
        cg_arch_has_tma("emu") && !cg_arch_has_tma("sm_80") && !cg_arch_has_tma("sm_89") &&
        !cg_arch_has_tma(NULL));

  /* failures: bad arch, broken source (log names the kernel), bad shapes */
  ssd_ctx q;
  ssd_ctx_init(&q);
  char *log = NULL;
  size_t loglen = 0;
  q.diag = open_memstream(&log, &loglen);
  cg_source bad = {.name = "ssdc_broken_kernel", .src = "extern \"C\" __global__ void ssdc_broken_kernel() { undeclared_x = 1; }\n"};
  void *cubin = NULL;
  size_t n = 0;
  CHECK(cg_nvrtc_compile(&bad, "sm_90", &cubin, &n, &q) == SSD_EDEVICE && cubin == NULL);
  CHECK(cg_nvrtc_compile(&bad, "sm_70", &cubin, &n, &q) == SSD_EINVAL);
  CHECK(cg_nvrtc_compile(&bad, "compute_90", &cubin, &n, &q) == SSD_EINVAL);
  cg_ssd_spec odd = base(80, 64, 100, 1);
  odd.kind = CG_SSD_CHUNKED;
  cg_source src;
  CHECK(cg_ssd_source(&odd, &src, &q) == SSD_EUNSUPPORTED);
  odd = base(80, 64, 128, 3); /* 3 groups do not divide 80 heads */
  CHECK(cg_ssd_source(&odd, &src, &q) == SSD_EINVAL);
  /* strides: 16-byte rows for the chunked kernel's x, B, C; never narrower
   * than the operand; dt_f32 is a chunked option */
  odd = base(80, 64, 128, 1);
  odd.kind = CG_SSD_CHUNKED, odd.ld_b = 5380;
  CHECK(cg_ssd_source(&odd, &src, &q) == SSD_EUNSUPPORTED && strstr(q.msg, "B row stride"));
  odd.ld_b = 0, odd.ld_x = 64 * 79;
  CHECK(cg_ssd_source(&odd, &src, &q) == SSD_EINVAL && strstr(q.msg, "narrower"));
  odd.ld_x = 0, odd.ld_dt = -1;
  CHECK(cg_ssd_source(&odd, &src, &q) == SSD_EINVAL);
  odd.ld_dt = 0, odd.kind = CG_SSD_STEP, odd.dt_f32 = true;
  CHECK(cg_ssd_source(&odd, &src, &q) == SSD_EINVAL);
  odd = base(80, 64, 256, 1); /* the wgmma kernel: N 64 or 128, 64 channels per block */
  odd.kind = CG_SSD_CHUNKED, odd.wg = true;
  CHECK(!cg_ssd_wg_fits(&odd) && cg_ssd_source(&odd, &src, &q) == SSD_EUNSUPPORTED &&
        strstr(q.msg, "wgmma"));
  odd.N = 128, odd.ps = 32;
  CHECK(cg_ssd_source(&odd, &src, &q) == SSD_EUNSUPPORTED);
  odd = base(80, 64, 96, 1); /* tensor copies: whole 64-column boxes */
  odd.kind = CG_SSD_CHUNKED, odd.tma = true;
  CHECK(!cg_ssd_tma_fits(&odd) && cg_ssd_source(&odd, &src, &q) == SSD_EUNSUPPORTED &&
        strstr(q.msg, "tensor copies"));
  fclose(q.diag);
  CHECK(log && strstr(log, "ssdc_broken_kernel") && strstr(log, "undeclared_x"));
  free(log);
  CHECK(cg_arch_valid("sm_90a") && cg_arch_valid("sm_100") && !cg_arch_valid("sm_9") &&
        !cg_arch_valid("sm_90b") && !cg_arch_valid(""));

  if (fails) fprintf(stderr, "test_cg_nvrtc: %d failures\n", fails);
  else printf("test_cg_nvrtc: %d kernels x 2 archs compiled with NVRTC %s\n", ns, ver);
  return fails != 0;
}
