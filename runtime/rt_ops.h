/* rt_ops.h: the CPU kernels for every IR op except IR_SSM (see rt_ssm.h).
 *
 * All kernels work on contiguous row-major float32 buffers (ids are int64),
 * split their loops over rows with rt_parallel_for (rt_pool.h), and never
 * allocate except for the matmul's packed weight panels.  The executor
 * (rt_exec.c) maps IR nodes onto these; the generated C (codegen/cg_c_*.c)
 * is checked against them.  Shapes are passed as plain sizes: the executor
 * has already resolved batch and seqlen.
 */
#ifndef SSD_RT_OPS_H
#define SSD_RT_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "ssd_base.h"

/* Items per rt_parallel_for block so that each block is worth waking a
 * thread for (about 32K multiply-adds); tiny decode-time loops then run on
 * the caller alone. */
static inline int64_t rt_grain(int64_t work_per_item) {
  const int64_t min_work = (int64_t)1 << 15;
  return work_per_item >= min_work ? 1 : (min_work + work_per_item - 1) / (work_per_item > 0 ? work_per_item : 1);
}

/* ---- matmul: y[M,N] = x[M,K] . W[N,K]^T + bias[N] ------------------------- */
/* W repacked once into column panels (RT_GEMM_NR columns, K-major) so that
 * the inner loop is a broadcast-multiply-add the compiler vectorizes.  Pack
 * weights at load time; rt_linear packs on the fly when given none. */
#define RT_GEMM_NR 16
typedef struct rt_packed {
  int64_t N, K;
  float *panels; /* ceil(N/NR) panels of [K][NR], zero-padded; 64-byte aligned */
} rt_packed;

int rt_pack_weight(const float *W, int64_t N, int64_t K, rt_packed *out, ssd_ctx *c);
void rt_packed_free(rt_packed *p);
/* y = x . W^T + bias with a prepacked W (bias may be NULL). */
void rt_gemm_packed(const float *x, int64_t M, const rt_packed *W, const float *bias, float *y);
/* The same from an unpacked W[N,K]. */
int rt_linear(const float *x, int64_t M, int64_t K, const float *W, int64_t N,
              const float *bias, float *y, ssd_ctx *c);

/* ---- embedding and norms ----------------------------------------------------- */
/* out[i,:] = table[ids[i],:]; an id outside [0, V) is SSD_EINVAL. */
int rt_embed(const int64_t *ids, int64_t n, const float *table, int64_t V, int64_t D,
             float *out, ssd_ctx *c);
/* y = x / sqrt(mean(x^2) + eps) * w over the last dim D; rows = numel / D. */
void rt_rmsnorm(const float *x, int64_t rows, int64_t D, const float *w, double eps, float *y);
/* mamba_ssm's RMSNormGated: norm_before_gate=false normalizes x*silu(z) per
 * group of D/ngroups channels then scales by w; true normalizes x and then
 * multiplies by silu(z). */
void rt_gated_rmsnorm(const float *x, const float *z, int64_t rows, int64_t D, const float *w,
                      double eps, int64_t ngroups, bool norm_before_gate, float *y);
/* y = (x - mean) / sqrt(var + eps) * w + b (b may be NULL). */
void rt_layernorm(const float *x, int64_t rows, int64_t D, const float *w, const float *b,
                  double eps, float *y);

/* ---- causal depthwise conv1d --------------------------------------------------- */
/* x, y: [B, L, C]; w: [C, K] (the checkpoint's [C,1,K]); bias [C] or NULL.
 * state: [B, C, K-1], the K-1 inputs before x (NULL: zeros, nothing kept).
 * With a state, y reads it as left context and it is updated to the last
 * K-1 inputs of (state ++ x). */
void rt_conv1d(const float *x, int64_t B, int64_t L, int64_t C, const float *w, int64_t K,
               const float *bias, float *state, float *y);

/* Greedy decoding's pick: the first index of the largest of v[0 .. n), n >= 1,
 * NaN below every number.  The device's argmax kernel (codegen/cuda/
 * ops_argmax.cuh) keeps the same rule, so both pick the same token. */
int64_t rt_argmax(const float *v, int64_t n);

/* ---- elementwise ------------------------------------------------------------------- */
typedef enum {
  RT_U_SILU, RT_U_SOFTPLUS, RT_U_EXP, RT_U_LOG, RT_U_GELU_ERF, RT_U_GELU_TANH,
  RT_U_SIGMOID, RT_U_NEG, RT_U_CLAMP, RT_U_COPY
} rt_unary_op;
/* y = f(x) over n elements (x == y allowed); lo, hi only for CLAMP. */
void rt_unary(rt_unary_op op, const float *x, int64_t n, double lo, double hi, float *y);
/* One element: shared with the fused elementwise path and the generated C. */
float rt_unary1(rt_unary_op op, float v, float lo, float hi);

typedef enum { RT_B_ADD, RT_B_SUB, RT_B_MUL, RT_B_DIV } rt_binary_op;
#define RT_MAX_RANK 6
/* out = a op b with numpy broadcasting; shapes right-aligned, every input
 * dim 1 or equal to the output's.  Ranks up to RT_MAX_RANK. */
int rt_binary(rt_binary_op op, const float *a, int ra, const int64_t *sa, const float *b,
              int rb, const int64_t *sb, float *out, int ro, const int64_t *so, ssd_ctx *c);

/* ---- layout ------------------------------------------------------------------------ */
/* Split x viewed as [outer, total, inner] along the middle dim into parts of
 * sizes[i]; outs[i] is [outer, sizes[i], inner].  concat is the inverse. */
void rt_split(const float *x, int64_t outer, int64_t inner, int nparts, const int64_t *sizes,
              float *const *outs);
void rt_concat(const float *const *ins, int nparts, const int64_t *sizes, int64_t outer,
               int64_t inner, float *y);

/* ---- attention --------------------------------------------------------------------- */
/* GPT-NeoX rotate_half rotary embedding on the first rd dims of every head:
 * x: [B, L, H, Dh], positions pos0 + t. */
void rt_rope(float *x, int64_t B, int64_t L, int64_t H, int64_t Dh, int64_t rd, double theta,
             int64_t pos0);

/* A growing KV cache for one attention layer: [B, Hkv, cap, Dh] each. */
typedef struct rt_kv {
  int64_t B, Hkv, Dh, len, cap;
  float *k, *v;
} rt_kv;
void rt_kv_free(rt_kv *kv);

typedef struct rt_attn_desc {
  int64_t B, L, Hq, Hkv, Dh, rotary_dim;
  double rope_theta, scale; /* scale 0: 1/sqrt(Dh) */
  bool causal;
} rt_attn_desc;

/* Softmax attention with GQA/MQA (query head h reads kv head h / (Hq/Hkv)).
 * q: [B,L,Hq,Dh], k, v: [B,L,Hkv,Dh], y: [B,L,Hq,Dh].  Rotary is applied to
 * q and k at positions cache->len + t.  With a cache, k and v are appended
 * and attention covers the cached prefix; without one (NULL), only the L
 * new tokens.  q and k are not modified. */
int rt_attention(const rt_attn_desc *d, const float *q, const float *k, const float *v,
                 rt_kv *cache, float *y, ssd_ctx *c);

#endif
