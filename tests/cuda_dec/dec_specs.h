/* dec_specs.h: decode-kernel specs at model shapes (mamba2-130m and -2.7b,
 * and small head patterns), shared by the NVRTC compile test (CPU), the GPU
 * test and bench/bench_dec_gpu.c.  Header-only.
 */
#ifndef SSD_DEC_SPECS_H
#define SSD_DEC_SPECS_H

#include "cg_cuda_dec.h"

static inline cg_dec_spec ds_gemv(int64_t M, int64_t N, int64_t K, bool y_bf16, bool bias,
                                  bool accum) {
  return (cg_dec_spec){.kind = CG_DEC_GEMV,
                       .M = M,
                       .N = N,
                       .K = K,
                       .y_bf16 = y_bf16,
                       .has_bias = bias,
                       .accumulate = accum};
}

/* A GEMV with a fused norm as the decode step uses it: rmsnorm of the fp32
 * residual (x_f32), or the gated norm of bf16 y with z (accumulating into
 * the residual). */
static inline cg_dec_spec ds_norm(int64_t M, int64_t N, int64_t K, cg_dec_norm norm, bool y_bf16,
                                  bool accum) {
  cg_dec_spec s = ds_gemv(M, N, K, y_bf16, false, accum);
  s.norm = norm, s.eps = 1e-5, s.x_f32 = norm == CG_DEC_NORM_RMS;
  return s;
}

/* The decode step's prescaled-norm GEMVs: x = bf16(x0 * wn) with nparts
 * partial sums of x0^2 per row (in_proj, lm_head after an out_proj's
 * emit; out_proj after the mixer's gnorm), optionally itself emitting the
 * next norm's input (out_proj, accumulating into the residual). */
static inline cg_dec_spec ds_pre(int64_t M, int64_t N, int64_t K, int64_t nparts, bool accum,
                                 bool emit) {
  cg_dec_spec s = ds_gemv(M, N, K, !accum, false, accum);
  s.norm = CG_DEC_NORM_PRE, s.eps = 1e-5, s.nparts = nparts, s.emit = emit;
  return s;
}

/* A Mamba-2 mixer as mamba_ssm builds it: G groups of B/C, dt per head,
 * conv width 4 with bias, dt_bias + softplus, A from A_log, D per head. */
static inline cg_dec_spec ds_mamba2(int64_t H, int64_t P, int64_t N, int64_t G, bool y_bf16) {
  return (cg_dec_spec){.kind = CG_DEC_MIXER,
                       .H = H,
                       .P = P,
                       .N_state = N,
                       .hx = H,
                       .hb = G,
                       .hc = G,
                       .hdt = H,
                       .conv_k = 4,
                       .has_conv_bias = true,
                       .has_dt_bias = true,
                       .dt_softplus = true,
                       .A_is_log = true,
                       .dt_max = 1.0 / 0.0,
                       .has_D = true,
                       .y_bf16 = y_bf16};
}

/* Other head structures and options: x shared by head pairs, B per 2 heads,
 * one C, dt per 2 heads, N = 64 (the scalar state path), dt clamp, D per
 * channel, a z gate, fp32 row, bf16 conv weights without bias. */
static inline cg_dec_spec ds_pattern(void) {
  return (cg_dec_spec){.kind = CG_DEC_MIXER,
                       .H = 8,
                       .P = 32,
                       .N_state = 64,
                       .hx = 4,
                       .hb = 4,
                       .hc = 1,
                       .hdt = 4,
                       .conv_k = 4,
                       .has_conv_bias = false,
                       .w_bf16 = true,
                       .in_f32 = true,
                       .has_dt_bias = true,
                       .dt_softplus = true,
                       .A_is_log = false,
                       .dt_clamp = true,
                       .dt_min = 0.01,
                       .dt_max = 0.5,
                       .has_D = true,
                       .D_per_channel = true,
                       .has_z = true,
                       .rows = 8};
}

#endif
