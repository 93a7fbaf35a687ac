/* test_ops_s6_model.c: the S6 mixers of the shipped Mamba-1 model file
 * become CUDA S6 specs (cg_op_s6_from_node) with mamba-130m's shape and
 * mamba_ssm's fusions (dt bias, softplus, A = -exp(A_log), D, no z: the gate
 * stays outside the scan in mamba1.ssd), and compile for sm_80 and sm_90.
 * argv[1] is the models/ directory.  Needs NVRTC (SSDC_NO_CUDA_TOOLKIT=1:
 * exits 77, skipped), no GPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda_ops.h"
#include "fe.h"
#include "passes.h"

#include "../ssd_check.h"
#include "../cuda/cg_test.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  ssd_ctx c;
  ssd_ctx_init(&c);
  int need = cgt_need_nvrtc("test_ops_s6_model", &c);
  if (need) return need;
  char path[4096];
  snprintf(path, sizeof path, "%s/mamba1.ssd", argv[1]);
  ssd_arena *a = ssd_arena_new();
  ir_module *m = NULL;
  int rc = cgt_model(path, a, &m, &c);
  CHECK(rc == SSD_OK);
  int ns6 = 0;
  for (const ir_node *n = m && m->main ? m->main->first : NULL; n; n = n->next) {
    if (n->op != IR_SSM || n->a.ssm->kind != IR_SSM_S6) continue;
    cg_op_spec s;
    if (cg_op_s6_from_node(n, &s, &c) != SSD_OK) {
      fprintf(stderr, "%s\n", c.msg);
      fails++;
      continue;
    }
    CHECK(s.H == 1536 && s.N == 16 && s.hb == 1 && s.hc == 1);
    CHECK(s.has_dt_bias && s.dt_softplus && s.A_is_log && s.has_D);
    if (ns6++ == 0) /* every layer has the same shape: compile the first */
      for (int bf = 0; bf < 2; bf++) {
        s.in_bf16 = s.out_bf16 = bf;
        const char *arch[] = {"sm_80", "sm_90"};
        for (int i = 0; i < 2; i++) {
          cg_source src;
          void *cubin = NULL;
          size_t sz = 0;
          CHECK(cg_op_source(&s, &src, &c) == SSD_OK);
          CHECK(cg_nvrtc_compile(&src, arch[i], &cubin, &sz, &c) == SSD_OK && sz > 500);
          free(cubin);
          cg_source_free(&src);
        }
      }
  }
  CHECK(ns6 == 24);
  /* A non-S6 node is refused. */
  for (const ir_node *n = m && m->main ? m->main->first : NULL; n; n = n->next)
    if (n->op == IR_LINEAR) {
      cg_op_spec s;
      CHECK(cg_op_s6_from_node(n, &s, &c) == SSD_EINTERNAL);
      break;
    }
  if (m) ir_module_free(m);
  ssd_arena_free(a);
  printf("test_ops_s6_model: %d S6 mixers, %d failures\n", ns6, fails);
  return fails ? 1 : 0;
}
