/* ops_specs.h: the op-kernel specs the CUDA executor tests use, at model
 * shapes (mamba2-130m widths, mamba-130m's S6, a small GQA attention), shared
 * by the NVRTC compile test (CPU) and the GPU test.  Header-only.
 */
#ifndef SSD_OPS_SPECS_H
#define SSD_OPS_SPECS_H

#include "cg_cuda_ops.h"

static inline cg_op_spec os_embed(int64_t V, int64_t D) {
  return (cg_op_spec){.kind = CG_OP_EMBED, .V = V, .D = D};
}
static inline cg_op_spec os_rmsnorm(int64_t D, bool res_in, bool res_out) {
  return (cg_op_spec){.kind = CG_OP_RMSNORM, .D = D, .eps = 1e-5, .res_in = res_in, .res_out = res_out};
}
static inline cg_op_spec os_gnorm(int64_t D, int64_t G, bool before) {
  return (cg_op_spec){.kind = CG_OP_GNORM, .D = D, .G = G, .eps = 1e-5, .norm_before_gate = before};
}
static inline cg_op_spec os_conv(cg_op_kind k, int64_t C, int64_t K) {
  return (cg_op_spec){.kind = k, .D = C, .K = K, .has_bias = true, .silu = true};
}
static inline cg_op_spec os_attn(cg_op_kind k, int64_t Hq, int64_t Hkv, int64_t Dh, int64_t rd) {
  return (cg_op_spec){.kind = k, .Hq = Hq, .Hkv = Hkv, .Dh = Dh, .rd = rd, .theta = 10000.0};
}
static inline cg_op_spec os_s6(int64_t H, int64_t N) {
  return (cg_op_spec){.kind = CG_OP_S6, .H = H, .N = N, .hb = 1, .hc = 1, .has_dt_bias = true,
                      .dt_softplus = true, .A_is_log = true, .has_D = true, .has_z = true,
                      .dt_max = 1.0 / 0.0};
}
/* v = silu(in0 + in1[row]) * in2: a bias add, an activation and a gate. */
static inline cg_op_spec os_ew(int64_t cols) {
  cg_op_spec s = {.kind = CG_OP_EW, .D = cols, .nin = 3, .nsteps = 3};
  s.in_row[1] = true;
  s.steps[0] = (cg_ew_step){.op = CG_EW_ADD, .arg = 1};
  s.steps[1] = (cg_ew_step){.op = CG_EW_SILU};
  s.steps[2] = (cg_ew_step){.op = CG_EW_MUL, .arg = 2};
  return s;
}

#endif
