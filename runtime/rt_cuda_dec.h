/* rt_cuda_dec.h: launchers for the decode-step kernels (codegen/cg_cuda_dec.h):
 * the small-M bf16 GEMV and the fused Mamba-2 mixer step.
 *
 * Like rt_cuda_exec.h: prepare generates the source from a spec, compiles it
 * through the kernel cache for this GPU and loads it; each launcher checks
 * the runtime sizes, strides and alignment against the spec and launches on
 * rt_cuda's stream, so the calls order with the other kernels and cuBLASLt
 * and can be captured into a CUDA graph (no allocation happens in a
 * launcher: the mixer's small workspace is made at prepare).
 */
#ifndef SSD_RT_CUDA_DEC_H
#define SSD_RT_CUDA_DEC_H

#include <stdint.h>

#include "../codegen/cg_cuda_dec.h"
#include "rt_cuda.h"
#include "rt_cuda_exec.h"

typedef struct rt_cuda_dec {
  cg_dec_spec spec;
  rt_cuda_fn fn;
  char name[96];
  /* MIXER: one u32 ticket per sequence (zeroed at prepare, left at zero by
   * every completed launch), for up to max_batch sequences. */
  rt_dptr tickets;
  int64_t max_batch;
} rt_cuda_dec;

/* max_batch: the mixer's largest batch (ignored for the GEMV, whose batch is
 * spec->M). */
int rt_cuda_dec_prepare(rt_cuda *g, cg_cache *cc, const cg_dec_spec *spec, int64_t max_batch,
                        rt_cuda_dec *out, ssd_ctx *c);
void rt_cuda_dec_release(rt_cuda *g, rt_cuda_dec *k);

/* The GEMV's operands (device pointers; 0 = absent; strides in elements). */
typedef struct rt_cuda_dec_gemv_args {
  rt_dptr x;     /* row m at x + m * ldx: bf16 (spec.x_f32: fp32) */
  int64_t ldx;   /* >= K; x and ldx * element size multiples of 16 bytes */
  rt_dptr z;     /* spec.norm GATED: the gate, row m at z + m * ldz, stored like x */
  int64_t ldz;   /* same rules as ldx */
  rt_dptr norm_w; /* spec.norm: fp32 [K], 16-byte aligned */
  rt_dptr W;     /* bf16 [N, K] row-major, contiguous, 16-byte aligned */
  rt_dptr bias;  /* fp32 [N] (spec.has_bias) */
  rt_dptr y;     /* row m at y + m * ldy (ldy >= N): fp32 (spec.y_bf16: bf16) */
  int64_t ldy;
  rt_dptr ss_in; /* norm PRE: fp32 [M, cg_dec_parts_ld(nparts)] partials, 16-byte aligned */
  rt_dptr w_out; /* emit: fp32 [N], the next norm's weight */
  rt_dptr x_out; /* emit: bf16 [M, N], bf16(y * w_out) */
  rt_dptr ss_out; /* emit: fp32 [M, cg_dec_parts_ld(cg_dec_emit_parts)] */
  /* spec.argmax: where the M rows' picks go (rt_cuda_exec.h); its scratch
   * is cg_dec_argmax_scratch bytes. */
  rt_cuda_pick pick;
  rt_dptr trace; /* spec.trace: this launch's 4-word timing record (dec_common.cuh); 0 = none */
} rt_cuda_dec_gemv_args;

/* y[m, n] (+)= sum_k x'[m, k] W[n, k] (+ bias[n]) for m < spec.M, n < spec.N,
 * x' = x, or rmsnorm(x) * norm_w, or rmsnorm(x * silu(z)) * norm_w, or
 * (PRE) x scaled by rsqrt(sum of the row's partials / K + eps) (spec.norm,
 * eps spec.eps); with spec.accumulate the old y is added (the residual add);
 * with spec.emit the next norm's prescaled input is written (x_out, ss_out);
 * with spec.argmax each row's argmax of y too (pick).
 * Launched for programmatic dependent launch (rt_cuda_launch_pdl). */
int rt_cuda_dec_gemv(rt_cuda *g, const rt_cuda_dec *k, const rt_cuda_dec_gemv_args *a,
                     ssd_ctx *c);

/* The mixer's operands (device pointers; 0 = absent).  Element offsets and
 * strides are in elements of the pointed-to type. */
typedef struct rt_cuda_dec_mixer_args {
  rt_dptr in;      /* in_proj output: row b at in + b * ld_in, bf16 (spec.in_f32: fp32) */
  int64_t ld_in;   /* row stride of in */
  int64_t off_xbc; /* column of xBC: conv_dim = hx P + hb N + hc N channels x|B|C */
  int64_t off_dt;  /* column of dt: hdt values */
  int64_t off_z;   /* column of z: H P values (spec.has_z only) */
  rt_dptr conv_w;     /* [conv_dim, K] (checkpoint [conv_dim, 1, K]); fp32 or bf16 (w_bf16) */
  rt_dptr conv_b;     /* [conv_dim] (spec.has_conv_bias) */
  rt_dptr conv_state; /* [batch, conv_dim, K-1] fp32, updated in place */
  rt_dptr A;          /* [hdt] fp32: A_log (spec.A_is_log) or A */
  rt_dptr D;          /* [H] or [H, P] (spec.D_per_channel) fp32 (spec.has_D) */
  rt_dptr dt_bias;    /* [hdt] fp32 (spec.has_dt_bias) */
  rt_dptr state;      /* [batch, H, P, N] fp32, updated in place */
  rt_dptr y;          /* row b at y + b * ldy: H P values, fp32 (spec.y_bf16: bf16) */
  int64_t ldy;
  int64_t off_gz;     /* spec.gnorm: column of the norm's gate z in the in_proj row (H P) */
  rt_dptr gnorm_w;    /* spec.gnorm: fp32 [H P] */
  rt_dptr x_out;      /* spec.gnorm: bf16 [batch, H P] */
  rt_dptr ss_out;     /* spec.gnorm: fp32 [batch, cg_dec_parts_ld(cg_dec_emit_parts)] */
  rt_dptr trace;      /* spec.trace: the launch's timing record, as the GEMV's */
} rt_cuda_dec_mixer_args;

/* One token for each of batch (1..k->max_batch) sequences.  Calls on one
 * prepared kernel must not run concurrently (they share its tickets). */
int rt_cuda_dec_mixer(rt_cuda *g, const rt_cuda_dec *k, const rt_cuda_dec_mixer_args *a,
                      int64_t batch, ssd_ctx *c);

#endif
