/* cg_cuda_ops.h: CUDA kernels for everything in a model except the SSD
 * mixer (cg_cuda.h) and most GEMMs (runtime/rt_cublaslt.h): ssdc's own
 * sm_90a GEMM for epilogues cuBLASLt lacks, embedding, fused
 * residual-add RMSNorm, grouped gated RMSNorm, causal conv1d + SiLU (prefill
 * and decode step), fused elementwise chains, rotary + kv-cache append,
 * causal GQA attention, Mamba-1's selective scan (S6), and the greedy
 * argmax that lets a decode step return token ids instead of logits.
 *
 * As for the SSD kernels, each spec becomes source with a prologue of
 * #defines baking in every shape, then the templates codegen/cuda/ops_*.cuh
 * or s6_*.cuh; compile it with cg_build (cg_cuda.h) and launch it with
 * runtime/rt_cuda_exec.h.  Storage: activations fp32 or bf16 (in_bf16 for
 * what a kernel reads, out_bf16 for what it writes), weights fp32 or bf16
 * (w_bf16); SSM/conv states, residuals, A, D, dt_bias are always fp32.
 */
#ifndef SSD_CG_CUDA_OPS_H
#define SSD_CG_CUDA_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cg_cuda.h"

typedef enum {
  CG_OP_EMBED,     /* ids -> rows of the table */
  CG_OP_RMSNORM,   /* r' = h + r; y = rmsnorm(r') * w */
  CG_OP_GNORM,     /* gated RMSNorm with groups */
  CG_OP_CONV,      /* causal depthwise conv1d over a sequence */
  CG_OP_CONV_STEP, /* one decode step of it, state in place */
  CG_OP_EW,        /* a fused elementwise chain */
  CG_OP_KV,        /* rotary on k, append k and v to the cache */
  CG_OP_ATTN,      /* causal GQA attention over the cache, rotary on q */
  CG_OP_S6,        /* Mamba-1 selective scan (L = 1 with init == final: decode) */
  CG_OP_ARGMAX,    /* per row: the first index of the largest value (rt_argmax) */
  CG_OP_GEMM,      /* Y = X W^T on sm_90a (gw_gemm.cuh): bf16 out, or fp32 Y += s X W^T
                      (res_in) with an optional row scale from partial sums (ss_parts);
                      with K > 0 a conv over columns [c0, c0 + D) in its epilogue */
  CG_OP_CONV_EDGE, /* after such a GEMM: each row tile's first K-1 conv outputs, whose
                      inputs reach into the tile before (ops_conv.cuh, OPS_EDGE) */
} cg_op_kind;

/* Elementwise steps; the unary ones mirror rt_unary_op (runtime/rt_ops.h). */
typedef enum {
  CG_EW_SILU, CG_EW_SOFTPLUS, CG_EW_EXP, CG_EW_LOG, CG_EW_GELU_ERF, CG_EW_GELU_TANH,
  CG_EW_SIGMOID, CG_EW_NEG, CG_EW_CLAMP,
  CG_EW_ADD, CG_EW_SUB, CG_EW_MUL, CG_EW_DIV /* v = v op input[arg] */
} cg_ew_op;
typedef struct cg_ew_step {
  cg_ew_op op;
  int arg;          /* binary: input index 1..3 */
  double lo, hi;    /* CLAMP */
} cg_ew_step;
#define CG_EW_MAX_IN 4
#define CG_EW_MAX_STEPS 16

typedef struct cg_op_spec {
  cg_op_kind kind;
  bool in_bf16, out_bf16, w_bf16;
  int64_t D;                 /* EMBED/RMSNORM/GNORM width; CONV channels; EW columns;
                                ARGMAX row width */
  int64_t V;                 /* EMBED vocabulary */
  int64_t chunk;             /* ARGMAX: elements of a row per block, a multiple of
                                32 (0: the whole row, one block per row) */
  bool w_split;              /* EMBED: bf16 table + bf16 remainder table (needs w_bf16) */
  int64_t G;                 /* GNORM groups */
  double eps;                /* norms */
  bool res_in, res_out;      /* RMSNORM residual */
  int64_t ss_parts, ss_D;    /* GEMM with res_in: each row of X W^T scaled likewise.
                                RMSNORM with res_in: h arrives without its row scale
                                rsqrt(sum of the row's ss_parts partial sums of squares /
                                ss_D + ss_eps), a gated norm folded into the SSD kernel
                                before it (0: none) */
  double ss_eps;
  bool norm_before_gate;     /* GNORM */
  int64_t K;                 /* CONV width; GEMM: the conv folded into its epilogue (0:
                                none; 2..4, with has_bias, silu, channels [c0, c0 + D) of
                                Y, c0 and D multiples of 8, a bf16 Y); CONV_EDGE: the
                                same conv (K, has_bias, silu, c0, D) */
  int conv_t;                /* CONV: time steps per thread (0: CG_OP_CONV_VT with vec,
                                else CG_OP_CONV_T; with vec at most CG_OP_CONV_VT_MAX) */
  bool has_bias, silu;       /* CONV */
  int64_t c0;                /* CONV: outputs of channels [c0, D) only (the x channels
                                before c0 are convolved by the SSD kernel that reads them,
                                cg_ssd_spec.xconv_k); the state is still written for
                                every channel.  A multiple of 8 below D; 0 = all */
  int64_t ldx, ldz;          /* CONV/CONV_STEP x, GNORM x and z: elements between rows
                                (tokens) when they are views into wider rows; 0 = D */
  bool vec;                  /* GNORM/CONV: 16-byte accesses of 8 elements (needs in_bf16,
                                CONV also out_bf16; the group width / channels and the
                                strides multiples of 8; the launcher checks 16-byte
                                alignment) */
  int64_t Hq, Hkv, Dh, rd;   /* KV / ATTN (rd: rotary dims, 0 = none) */
  double theta, scale;       /* rotary base; ATTN scale (0: 1/sqrt(Dh)) */
  int64_t H, N, hb, hc;      /* S6: channels, state, B and C groups */
  bool has_dt_bias, dt_softplus, A_is_log, has_D, has_z, dt_clamp;
  double dt_min, dt_max;
  int nin;                   /* EW: inputs (input 0 starts the chain) */
  bool in_row[CG_EW_MAX_IN]; /* EW: input is a [D] row broadcast over rows */
  int nsteps;
  cg_ew_step steps[CG_EW_MAX_STEPS];
} cg_op_spec;

/* The S6 spec of an IR_SSM node of kind IR_SSM_S6 (after pass_run_all:
 * dt_bias, softplus, clamp, -exp(A_log), D and z fused into it).  Needs
 * P = 1 (heads(x, d_inner)), x and dt on every channel, dt and A present;
 * anything else is SSD_EUNSUPPORTED with the node's location. */
int cg_op_s6_from_node(const ir_node *n, cg_op_spec *out, ssd_ctx *c);
/* Whether spec s (GNORM or CONV) can take vec: bf16 input, widths and strides
 * multiples of 8.  Alignment is the launcher's to check (rt_cuda_aligned16). */
bool cg_op_vec_fits(const cg_op_spec *s);
/* Sizes and combinations the templates handle; a clear error otherwise. */
int cg_op_check(const cg_op_spec *s, ssd_ctx *c);
/* Generated source (entry point name in out->name); free with cg_source_free. */
int cg_op_source(const cg_op_spec *s, cg_source *out, ssd_ctx *c);
/* Launch geometry constants shared with the runtime launchers. */
#define CG_OP_CONV_T 64  /* CONV: time steps per thread */
#define CG_OP_CONV_VT 16 /* CONV with vec: time steps per thread (its loads are unrolled) */
#define CG_OP_CONV_VT_MAX 32 /* CONV with vec: the most steps (registers: 4 per step) */
/* GNORM and CONV: threads per block; CONV: time steps per thread. */
int cg_op_threads(const cg_op_spec *s);
int cg_op_conv_t(const cg_op_spec *s);
#define CG_OP_S6_THREADS 64 /* S6: threads per block */
#define CG_OP_S6_T 16       /* S6: time steps staged in shared memory at once */
/* S6: threads per channel for state size N (each holds N/TPC states). */
int cg_op_s6_tpc(int64_t N);
#define CG_OP_ARGMAX_THREADS 512 /* ARGMAX: threads per block */
#define CG_OP_GEMM_THREADS 384 /* GEMM: a producer and two consumer warpgroups */
/* GEMM geometry, baked into gw_gemm.cuh by the prologue (GW_BM, GW_BN, GW_BK,
 * GW_STAGES) and used by its launcher: output tiles of BM x BN (one m64n256
 * wgmma row block per consumer warpgroup), k-steps of BK (a 128-byte row of
 * bf16), STAGES k-steps in flight, BAND row tiles walked together. */
#define CG_OP_GEMM_BM 128
#define CG_OP_GEMM_BN 256
#define CG_OP_GEMM_BK 64
#define CG_OP_GEMM_STAGES 3
#define CG_OP_GEMM_BAND 16
/* GEMM: the dynamic shared memory a block needs (one block per SM), and
 * whether it takes an M x N x K product (K a multiple of 64, N of 8: whole
 * 16-byte output rows for the tensor stores). */
size_t cg_op_gemm_smem(void);
bool cg_op_gemm_fits(int64_t M, int64_t N, int64_t K);
/* ARGMAX: the blocks per row, and the bytes of scratch (partials and a
 * counter; 0 for a grid of one block) a launch over `rows` rows needs,
 * zeroed before its first use. */
int64_t cg_op_argmax_chunks(const cg_op_spec *s);
size_t cg_op_argmax_scratch(const cg_op_spec *s, int64_t rows);

#endif
