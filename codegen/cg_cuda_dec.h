/* cg_cuda_dec.h: CUDA kernels for the decode step (one token per sequence):
 *
 *   CG_DEC_GEMV   y[M, N] (+)= x[M, K] . W[N, K]^T (+ bias[N]), M = 1..16,
 *                 the projections and lm_head at decode batch sizes.  W bf16
 *                 in the checkpoint's row-major [N, K] layout is streamed
 *                 once with 16-byte loads into tensor-core fragments (the
 *                 k order is permuted so that each lane's 16 bytes are its
 *                 fragment: a dot product does not care about k's order).
 *   CG_DEC_MIXER  the whole Mamba-2 mixer step of one token in one kernel:
 *                 causal conv step over x|B|C (state in place) + SiLU, then
 *                 the SSD recurrence (state in place) and y = C.s + D x
 *                 (optionally * silu(z)), reading dt, xBC and z straight from
 *                 the in_proj output row (no split copies).
 *   The LM head's GEMV can also pick each row's argmax in its epilogue
 *   (spec.argmax: greedy decoding with no argmax kernel after it).
 *
 * Same scheme as cg_cuda_ops.h: a spec becomes source (a prologue of
 * #defines baking in every shape and option, then ssd_common.cuh and a
 * template codegen/cuda/dec_*.cuh), cg_build compiles it, and
 * runtime/rt_cuda_dec.h loads and launches it.  The semantics are the CPU
 * path's: rt_linear (rt_ops.h) for the GEMV, rt_conv1d + SiLU (rt_ops.h)
 * then rt_ssm_recurrent (rt_ssm.h) for the mixer.
 */
#ifndef SSD_CG_CUDA_DEC_H
#define SSD_CG_CUDA_DEC_H

#include <stdbool.h>
#include <stdint.h>

#include "cg_cuda.h"

typedef enum {
  CG_DEC_GEMV,  /* small-M bf16 weight-streaming GEMM */
  CG_DEC_MIXER, /* fused conv step + SSD step */
} cg_dec_kind;

/* GEMV: an RMSNorm of x fused in front of the product (see dec_gemv.cuh). */
typedef enum {
  CG_DEC_NORM_NONE,
  CG_DEC_NORM_RMS,   /* x' = rmsnorm(x) * wn (eps) */
  CG_DEC_NORM_GATED, /* x' = rmsnorm(x * silu(z)) * wn: RMSNormGated, one group,
                        norm_before_gate = False */
  CG_DEC_NORM_PRE,   /* x is bf16(x0 * wn) already; the sums of x0^2 come as
                        `nparts` partials per row (a producer's emit/gnorm) */
} cg_dec_norm;

typedef struct cg_dec_spec {
  cg_dec_kind kind;
  /* GEMV: x bf16 (x_f32: fp32, rounded to bf16 on load), W bf16, bias fp32,
   * y fp32 (y_bf16: bf16); accumulate: y += x W^T (the residual add). */
  int64_t M, N, K;
  bool x_f32, has_bias, accumulate;
  cg_dec_norm norm; /* norm weight wn fp32 [K]; z (GATED) stored like x */
  double eps;
  int64_t nparts; /* PRE: partial sums per row (rows cg_dec_parts_ld(nparts) apart) */
  bool emit;      /* GEMV: also write bf16(y * w_out) and per-block sums of y^2
                     (cg_dec_emit_parts per row), the next norm's prescaled input */
  bool argmax;    /* GEMV: the epilogue also picks each row's argmax of y (the
                     LM head of a greedy decode step; am_common.cuh): fp32 y,
                     no emit; scratch of cg_dec_argmax_scratch bytes */
  int warps;  /* GEMV: warps per block splitting K: 4, 8, 16 (0: 16 if < 512 blocks, else 8) */
  int unroll; /* GEMV: 32-wide k slabs each warp loads before using them, 1..8
                 (0: cg_dec_gemv_unroll's measured rule, 1..4) */
  /* MIXER: heads and operand heads as rt_ssm.h; conv width `conv_k` over
   * conv_dim = hx P + hb N + hc N channels; in_f32: the in_proj row is fp32
   * (else bf16); w_bf16: conv weight and bias bf16 (else fp32); A, D, dt_bias
   * and both states are always fp32.  rows: head channels per block (0: 16). */
  int64_t H, P, N_state, hx, hb, hc, hdt, conv_k;
  bool in_f32, w_bf16, has_conv_bias;
  bool has_dt_bias, dt_softplus, A_is_log, dt_clamp;
  double dt_min, dt_max;
  bool has_D, D_per_channel, has_z;
  bool gnorm; /* MIXER: also the gated norm's prescaled input, as a GEMV's emit */
  int rows;
  bool y_bf16; /* both kinds: y stored as bf16 */
  bool trace;  /* both kinds: stamp each block's start, wait and end into the
                  launch's record (dec_common.cuh, DEC_TRACE; a diagnostic) */
} cg_dec_spec;

/* GEMV launch geometry, shared with the runtime launcher: one block of
 * cg_dec_gemv_warps() warps per CG_DEC_GEMV_ROWS rows of W (the warps split K). */
#define CG_DEC_GEMV_ROWS 16
#define CG_DEC_MAX_M 16
/* MIXER: threads per block. */
#define CG_DEC_MIXER_THREADS 128

/* Sizes and combinations the templates handle; a clear error otherwise. */
int cg_dec_check(const cg_dec_spec *s, ssd_ctx *c);
/* The GEMV's effective warps per block and slabs in flight per warp. */
int cg_dec_gemv_warps(const cg_dec_spec *s);
int cg_dec_gemv_unroll(const cg_dec_spec *s);
/* The mixer's effective rows per block (spec.rows, or the default). */
int cg_dec_mixer_rows(const cg_dec_spec *s);
/* Partial sums of squares per row that a GEMV with `emit` or a mixer with
 * `gnorm` writes (one per block of a sequence), and the row stride of the
 * partials array (a multiple of 4: the consumer copies 16-byte pieces). */
int64_t cg_dec_emit_parts(const cg_dec_spec *s);
int64_t cg_dec_parts_ld(int64_t nparts);
/* GEMV with argmax: the bytes of its scratch (a 64-bit slot per row and
 * block), zeroed before the first launch. */
size_t cg_dec_argmax_scratch(const cg_dec_spec *s);
/* The mixer's conv channels: hx P + hb N + hc N. */
int64_t cg_dec_conv_dim(const cg_dec_spec *s);
/* Generated source (entry point name in out->name); free with cg_source_free. */
int cg_dec_source(const cg_dec_spec *s, cg_source *out, ssd_ctx *c);

#endif
