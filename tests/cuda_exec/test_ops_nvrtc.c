/* test_ops_nvrtc.c: every op-kernel template (codegen/cuda/ops_*.cuh,
 * s6_scan.cuh) compiles through NVRTC for sm_80 and sm_90, in fp32 and bf16
 * storage (conv and gated norm also reading strided rows), the whole-model
 * executor's generic kernels (gm_ops.cuh) compile, and bad specs are refused
 * with a message.
 *
 * Needs libnvrtc, no GPU.  Without NVRTC it fails unless
 * SSDC_NO_CUDA_TOOLKIT=1 (then exits 77: skipped), like tests/cuda.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda_ops.h"
#include "ops_specs.h"

#include "../ssd_check.h"
#include "../cuda/cg_test.h"

static int compile_one(const cg_op_spec *s, const char *arch, ssd_ctx *c) {
  cg_source src;
  int rc = cg_op_source(s, &src, c);
  return rc ? rc : cgt_compile(&src, arch, 500, c);
}

/* Strided-row variants: x (and z) views into the in_proj output's rows. */
static cg_op_spec strided(cg_op_spec s, int64_t ldx, int64_t ldz) {
  s.ldx = ldx, s.ldz = ldz;
  return s;
}

static cg_op_spec split_embed(void) {
  cg_op_spec s = os_embed(50280, 768);
  s.w_split = true;
  return s;
}

static int compile_gm(const char *arch, ssd_ctx *c) {
  const char *tpl = cg_template("gm_ops.cuh");
  if (!tpl) return ssd_err(c, SSD_EINTERNAL, "gm_ops.cuh is not embedded");
  const size_t len = strlen(tpl) + 1;
  cg_source src = {"gm_ops", malloc(len)};
  if (!src.src) return ssd_err(c, SSD_ENOMEM, "out of memory");
  memcpy(src.src, tpl, len);
  return cgt_compile(&src, arch, 500, c);
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  int need = cgt_need_nvrtc("test_ops_nvrtc", &c);
  if (need) return need;
  cg_op_spec specs[] = {os_embed(50280, 768),     os_rmsnorm(768, true, true),
                        os_rmsnorm(2560, false, true), os_gnorm(1536, 1, false),
                        os_gnorm(1536, 8, true),  os_conv(CG_OP_CONV, 1792, 4),
                        os_conv(CG_OP_CONV_STEP, 1792, 4), os_ew(1536),
                        os_attn(CG_OP_KV, 8, 2, 64, 32), os_attn(CG_OP_ATTN, 8, 2, 64, 32),
                        os_attn(CG_OP_ATTN, 32, 8, 128, 0), os_s6(1536, 16), os_s6(64, 128),
                        strided(os_gnorm(1536, 1, false), 1536, 3352),
                        strided(os_conv(CG_OP_CONV, 1792, 4), 3352, 0),
                        strided(os_conv(CG_OP_CONV_STEP, 1792, 4), 3352, 0), split_embed()};
  const int ns = (int)(sizeof specs / sizeof *specs);
  const char *arch[] = {"sm_80", "sm_90"};
  int ok = 0;
  for (int i = 0; i < ns; i++)
    for (int bf = 0; bf < 2; bf++)
      for (int a = 0; a < 2; a++) {
        cg_op_spec s = specs[i];
        s.in_bf16 = s.out_bf16 = s.w_bf16 = bf;
        s.w_bf16 |= s.w_split; /* a split table is bf16 by definition */
        if (compile_one(&s, arch[a], &c) == SSD_OK) ok++;
        else {
          fprintf(stderr, "spec %d (bf16 %d) for %s: %s\n", i, bf, arch[a], c.msg);
          fails++;
        }
      }
  CHECK(ok == ns * 4);
  for (int a = 0; a < 2; a++)
    if (compile_gm(arch[a], &c) != SSD_OK) {
      fprintf(stderr, "gm_ops.cuh for %s: %s\n", arch[a], c.msg);
      fails++;
    }

  /* the fix-up after a GEMM that convolved in its epilogue (mamba2-2.7b's xBC) */
  for (int a = 0; a < 2; a++) {
    const cg_op_spec e = {.kind = CG_OP_CONV_EDGE, .K = 4, .c0 = 5120, .D = 5376, .has_bias = true,
                          .silu = true, .in_bf16 = true, .out_bf16 = true};
    if (compile_one(&e, arch[a], &c) != SSD_OK) {
      fprintf(stderr, "conv edge for %s: %s\n", arch[a], c.msg);
      fails++;
    }
  }
  /* ssdc's own GEMM (sm_90a only): bf16 out, fp32 accumulate, with the row
   * scale, bf16 out with the conv in its epilogue */
  for (int v = 0; v < 4; v++) {
    cg_op_spec g;
    memset(&g, 0, sizeof g);
    g.kind = CG_OP_GEMM, g.in_bf16 = g.w_bf16 = true, g.out_bf16 = v == 0 || v == 3, g.res_in = v == 1 || v == 2;
    g.ss_parts = v == 2 ? 80 : 0, g.ss_D = 5120, g.ss_eps = 1e-5;
    if (v == 3) g.K = 4, g.c0 = 5120, g.D = 5376, g.has_bias = g.silu = true;
    if (compile_one(&g, "sm_90a", &c) != SSD_OK) {
      fprintf(stderr, "gemm variant %d for sm_90a: %s\n", v, c.msg);
      fails++;
    }
  }
  /* Bad specs: refused before NVRTC, with a message naming the problem. */
  cg_op_spec bad[] = {os_gnorm(1536, 7, false), os_attn(CG_OP_ATTN, 8, 3, 64, 0),
                      os_attn(CG_OP_ATTN, 8, 2, 48, 0), os_s6(1536, 512),
                      os_conv(CG_OP_CONV, 64, 0), os_ew(16),
                      strided(os_conv(CG_OP_CONV, 1792, 4), 1000, 0),
                      strided(os_gnorm(1536, 1, false), 0, 1535), split_embed(),
                      {.kind = CG_OP_GEMM, .res_in = true},
                      {.kind = CG_OP_GEMM, .in_bf16 = true, .w_bf16 = true, .out_bf16 = true,
                       .ss_parts = 8, .ss_D = 64},
                      {.kind = CG_OP_GEMM, .in_bf16 = true, .w_bf16 = true, .out_bf16 = true, .K = 4,
                       .c0 = 4, .D = 64},
                      {.kind = CG_OP_CONV_EDGE, .K = 5, .D = 64}};
  bad[5].steps[2].arg = 3; /* reads a fourth input of three */
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cg_source src;
    c.msg[0] = '\0';
    CHECK(cg_op_source(&bad[i], &src, &c) == SSD_EUNSUPPORTED);
    CHECK(c.msg[0] != '\0');
  }
  /* Names are distinct per specialization. */
  cg_source s1, s2;
  cg_op_spec a = os_rmsnorm(768, true, true), b = os_rmsnorm(768, true, false);
  CHECK(cg_op_source(&a, &s1, &c) == SSD_OK && cg_op_source(&b, &s2, &c) == SSD_OK);
  CHECK(strcmp(s1.name, s2.name) != 0);
  cg_source_free(&s1);
  cg_source_free(&s2);
  printf("test_ops_nvrtc: %d kernels compiled, %d failures\n", ok, fails);
  return fails ? 1 : 0;
}
