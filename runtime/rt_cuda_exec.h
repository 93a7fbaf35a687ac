/* rt_cuda_exec.h: running a model's non-SSD ops on the GPU.
 *
 * This layer prepares (generate, compile through the cache, load) the op
 * kernels of codegen/cg_cuda_ops.h and launches them with checked sizes;
 * the SSD mixer comes from rt_cuda.h and the GEMMs from rt_cublaslt.h.
 * Operands are device pointers laid out as the CPU kernels of rt_ops.h and
 * rt_ssm.h lay them out (which is how tests/cuda_exec checks every kernel
 * against them); storage types are the spec's (cg_cuda_ops.h).
 *
 * These launchers are the building blocks of the whole-model executor
 * (rt_gpu_model.h); launches go to rt_cuda's one stream (rt_cuda_launch), so
 * they can be captured into its decode-step graphs.  Conv and gated norm may
 * read x (and z) as views into wider rows (the spec's ldx, ldz).
 */
#ifndef SSD_RT_CUDA_EXEC_H
#define SSD_RT_CUDA_EXEC_H

#include <stdint.h>

#include "../codegen/cg_cuda_ops.h"
#include "rt_cuda.h"

typedef struct rt_cuda_op {
  cg_op_spec spec;
  rt_cuda_fn fn;
  char name[96];
} rt_cuda_op;

int rt_cuda_op_prepare(rt_cuda *g, cg_cache *cc, const cg_op_spec *spec, rt_cuda_op *out,
                       ssd_ctx *c);
void rt_cuda_op_release(rt_cuda *g, rt_cuda_op *k);

/* out[n, D] = table[ids[n]] (+ table_lo[ids[n]] with spec.w_split; else
 * table_lo is 0); ids int64.  bad: device int set to 1 when an id is out of
 * range (those rows become NaN); 0 to skip the flag. */
int rt_cuda_embed(rt_cuda *g, const rt_cuda_op *k, rt_dptr ids, int64_t n, rt_dptr table,
                  rt_dptr table_lo, rt_dptr out, rt_dptr bad, ssd_ctx *c);
/* r' = h + r (spec.res_in; else r' = h), stored in r if spec.res_out;
 * y = rmsnorm(r') * w.  rows x D.  With spec.ss_parts, h is first scaled by
 * its row's rsqrt(sum of ss[row, 0 .. ss_parts) / ss_D + ss_eps) (fp32 ss;
 * else ss is 0). */
int rt_cuda_rmsnorm(rt_cuda *g, const rt_cuda_op *k, rt_dptr h, rt_dptr r, rt_dptr ss, rt_dptr w,
                    rt_dptr y, int64_t rows, ssd_ctx *c);
/* Y = X W^T through ssdc's own sm_90a GEMM (codegen/cuda/gw_gemm.cuh): X
 * bf16 [M, K] (row stride ldx), W bf16 [N, K] dense, Y [M, N] (row stride
 * ldy) bf16 (spec.out_bf16) or fp32 added into (spec.res_in), each row of
 * X W^T then scaled by rsqrt(sum of ss[row, 0 .. ss_parts) / ss_D + ss_eps)
 * with spec.ss_parts (ss fp32, dense rows).  Shapes: cg_op_gemm_fits; the
 * pointers 16-byte aligned. */
/* With a conv in the epilogue (spec.K > 0; ldy = N): the conv's fp32
 * weights cw [D][K] and bias cb, the state before each of the M / L
 * sequences (cst_in, [M/L][D][K-1] fp32, 0: zeros) and the one after it
 * (cst_out, 0: not kept; another buffer than cst_in), and edge, scratch of
 * rt_cuda_gemm_edge_bytes for the rows rt_cuda_conv_edge then fixes up;
 * L >= K - 1 tokens a sequence. */
typedef struct rt_cuda_gemm_args {
  rt_dptr x, w, y, ss;
  int64_t M, N, K, ldx, ldy;
  rt_dptr cw, cb, cst_in, cst_out, edge;
  int64_t L;
} rt_cuda_gemm_args;
int rt_cuda_gemm(rt_cuda *g, const rt_cuda_op *k, const rt_cuda_gemm_args *a, ssd_ctx *c);
size_t rt_cuda_gemm_edge_bytes(const cg_op_spec *s, int64_t M);
/* After a GEMM whose epilogue convolved (a, with kernel k of CG_OP_CONV_EDGE
 * for the same conv): the first K-1 outputs of each row tile that starts
 * inside a sequence, from the edge rows and the state. */
int rt_cuda_conv_edge(rt_cuda *g, const rt_cuda_op *k, const rt_cuda_gemm_args *a, ssd_ctx *c);
/* Whether every pointer is 16-byte aligned: a spec with vec needs its
 * operands so (its launcher refuses others), so callers pick vec with this. */
bool rt_cuda_aligned16(const rt_dptr *p, int n);
/* Gated RMSNorm with spec.G groups (rt_gated_rmsnorm).  after (NULL or
 * flags 0: none): x is the y of the chunked SSD launch that signs it, the
 * launch just before this one in the stream; the kernel is then launched with
 * PDL and each row waits for its flag (spec.vec only; the caller must keep
 * every buffer that launch touches from being reused before this launch). */
int rt_cuda_gnorm(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, rt_dptr z, rt_dptr w, rt_dptr y,
                  int64_t rows, const rt_cuda_rows_sig *after, ssd_ctx *c);
/* Conv over [B, L, C]: state_in (0: zeros) and state_out (0: not kept),
 * [B, C, K-1] fp32, must be distinct buffers. */
int rt_cuda_conv(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, rt_dptr w, rt_dptr bias,
                 rt_dptr state_in, rt_dptr state_out, rt_dptr y, int64_t B, int64_t L,
                 ssd_ctx *c);
/* One decode step, x, y: [B, C], state updated in place. */
int rt_cuda_conv_step(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, rt_dptr w, rt_dptr bias,
                      rt_dptr state, rt_dptr y, int64_t B, ssd_ctx *c);
/* The elementwise chain over n elements (n % D == 0); in[0..nin). */
int rt_cuda_ew(rt_cuda *g, const rt_cuda_op *k, const rt_dptr *in, rt_dptr out, int64_t n,
               ssd_ctx *c);
/* A layer's kv cache: [B, Hkv, cap, Dh] fp32 each. */
typedef struct rt_cuda_kv {
  rt_dptr k, v;
  int64_t B, cap, len;
  rt_dptr pos; /* device int64 that holds len when the kernels run (the caller's) */
} rt_cuda_kv;
/* Rotary on k and append k, v ([B, L, Hkv, Dh]) at positions kv->len..; then
 * attention of q ([B, L, Hq, Dh]) over the cache into y; kv->len += L.
 * kvk is the CG_OP_KV kernel, att the CG_OP_ATTN one (same heads).  The
 * kernels read the position from *kv->pos, not from an argument, so that a
 * captured decode step replays at the position uploaded before the replay. */
int rt_cuda_attention(rt_cuda *g, const rt_cuda_op *kvk, const rt_cuda_op *att, rt_dptr q,
                      rt_dptr k, rt_dptr v, rt_cuda_kv *kv, rt_dptr y, int64_t L, ssd_ctx *c);

/* Where greedy picks go, for either kernel that picks (rt_cuda_argmax here,
 * the LM head's GEMV in rt_cuda_dec.h): out, [rows] int64; scratch, the
 * kernel's (zeroed before its first launch, left so by each).  Optional
 * (0): advance, an int64 the launch adds one to; hist, a ring of [hist_n,
 * rows] int64 that also gets the picks, at slot *advance % hist_n (needs
 * advance).  ops_argmax.cuh says what a decode step does with them. */
typedef struct rt_cuda_pick {
  rt_dptr out, scratch, advance, hist;
  int64_t hist_n;
} rt_cuda_pick;
/* EINVAL (naming `who`) unless out is given, scratch too when `need_scratch`,
 * and a ring has slots and a position.  Inline: the decode kernels'
 * launcher (rt_cuda_dec.c) checks its picks with it too. */
static inline int rt_cuda_pick_check(const rt_cuda_pick *p, bool need_scratch, const char *who,
                                     ssd_ctx *c) {
  if (!p->out || (need_scratch && !p->scratch))
    return ssd_err(c, SSD_EINVAL, "%s: the picks' output or the scratch buffer is missing", who);
  if (p->hist && (p->hist_n < 1 || !p->advance))
    return ssd_err(c, SSD_EINVAL, "%s: a history ring needs slots and a position", who);
  return SSD_OK;
}
/* p->out[r] = the first index of the largest of x[r, :] (fp32, or bf16 with
 * spec.in_bf16; rows of spec.D), NaN below every number: rt_argmax's rule,
 * on the device.  Scratch: cg_op_argmax_scratch(spec, rows) bytes; none (0)
 * for a grid of one block. */
int rt_cuda_argmax(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, const rt_cuda_pick *p,
                   int64_t rows, ssd_ctx *c);
/* Mamba-1 selective scan; operands as rt_ssm.h with P = 1 (x, dt, z:
 * [B, L, H]; A: [H, N]; B, C: [B, L, hb|hc, N]; D, dt_bias: [H]).
 * init/final: [B, H, N] fp32, 0 for none; they may be the same buffer. */
typedef struct rt_cuda_s6_args {
  rt_dptr x, dt, A, B, C, D, z, dt_bias, init, final, y;
} rt_cuda_s6_args;
int rt_cuda_s6(rt_cuda *g, const rt_cuda_op *k, const rt_cuda_s6_args *a, int64_t batch,
               int64_t L, ssd_ctx *c);

#endif
