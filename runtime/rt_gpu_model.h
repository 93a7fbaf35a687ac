/* rt_gpu_model.h: whole models on the GPU (`--device cuda`).
 *
 * The GPU twin of rt_exec.h: it walks the main function of a fully passed
 * module node by node, giving every value device storage sized from its
 * dims (allocated when its node runs, or a view of its input's; released
 * after its last reader), and runs
 * each node with the GPU building blocks: cuBLASLt GEMMs (rt_cublaslt.h), the
 * op kernels of rt_cuda_exec.h (embedding, RMSNorm, gated RMSNorm, conv1d,
 * rotary + KV cache + attention, the S6 scan), the SSD step kernel of
 * rt_cuda.h, and a few generic kernels of its own (codegen/cuda/gm_ops.cuh:
 * unary and broadcasting binary elementwise ops, fills, strided copies for
 * split/concat).  Weights are uploaded once, at creation.
 *
 * Precision: RT_GPU_F32 computes in fp32 end to end (exact fp32 GEMMs, the
 * SSD step kernel run token by token for prefill) and is checked against the
 * float64 goldens at 1e-4.  RT_GPU_BF16 keeps linear-layer weights on the
 * device in bf16 only, runs GEMMs on bf16 operands (fp32 accumulation),
 * stores activations between GEMMs, conv, SSD and norms in bf16 where every
 * reader takes bf16, keeps the residual stream, norms' math, states and
 * logits in fp32, and runs SSD prefill through the chunked kernel; checked
 * at 2e-2.
 *
 * Device memory is pooled (rt_cuda.h); $SSDC_GPU_MEM=1 prints the pool's
 * peak (weights included) after every forward to stderr, $SSDC_PROFILE=1 the
 * device time per model line (rt_gpu_prof.h).
 *
 * The model keeps one decode state cache on the device (conv states, SSM
 * states, KV caches, per state slot, as rt_state.h does on the CPU).
 */
#ifndef SSD_RT_GPU_MODEL_H
#define SSD_RT_GPU_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "rt_exec.h"
#include "../codegen/cg_cuda.h"
#include "rt_cuda.h"

typedef enum { RT_GPU_F32, RT_GPU_BF16 } rt_gpu_mode;

typedef struct rt_gpu_model rt_gpu_model;

typedef struct rt_gpu_opts {
  rt_gpu_mode mode;
  const char *cache_dir; /* the kernel cache; NULL: the default (cg_cache_open) */
  const char *kernels;   /* a kernel pack (ssdc compile) to take kernels from, checked
                            at open (rt_pack_open); NULL: $SSDC_KERNELS, if set */
  const char *dry_arch;  /* non-NULL: no GPU, a dry-run device of this architecture
                            (rt_cuda_open_dry); weights are never read */
  bool emu;              /* no GPU: the emulated device (rt_cuda_open_emu), kernels on the CPU */
  cg_pack_out *pack_out; /* non-NULL: every kernel the model loads is also written here */
} rt_gpu_opts;

/* Open GPU 0 (or a dry-run or the emulated device), load the kernels this module needs and
 * upload every weight wfn hands out (the same getter rt_exec_new takes).
 * Fails with SSD_EDEVICE on a machine without a driver or GPU. */
int rt_gpu_model_new(const ir_module *m, rt_weight_fn wfn, void *wctx, const rt_gpu_opts *o,
                     rt_gpu_model **out, ssd_ctx *c);
void rt_gpu_model_free(rt_gpu_model *g);
/* "NVIDIA H100 80GB HBM3 (sm_90)", for -v output. */
const char *rt_gpu_model_device(const rt_gpu_model *g);

/* A stateless full forward of ids [B, L] from position 0.  On success
 * *logits (malloc'd, the caller frees) holds [B, L, V] and *V the vocabulary. */
int rt_gpu_forward(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, float **logits,
                   int64_t *V, ssd_ctx *c);

/* Forget the device decode state and start sequences of batch B. */
int rt_gpu_reset(rt_gpu_model *g, int64_t B, ssd_ctx *c);
/* Continue the sequences from the state: prefill (L > 1, or in pieces) or a
 * decode step (L = 1).  ids [B, L] with the batch of the last reset.
 * last_only: logits of the last position only ([B, 1, V]).  After a failure
 * the state is unspecified (reset before reuse). */
int rt_gpu_decode(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, bool last_only,
                  float **logits, int64_t *V, ssd_ctx *c);
/* rt_gpu_decode for greedy decoding: next[b] = rt_argmax of row b's last
 * logits (runtime/rt_ops.h).  A decode step (L = 1) picks on the device,
 * inside its CUDA graph, and brings only the B ids to the host instead of
 * B x V logits; a prefill (L > 1) picks on the host. */
int rt_gpu_decode_greedy(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L,
                         int64_t *next, ssd_ctx *c);
/* n greedy decode steps from ids [B]: out[k * B + b] is step k's pick for
 * row b, which step k + 1 decodes; the same picks as n calls of
 * rt_gpu_decode_greedy (L = 1).  Once the step's CUDA graph exists, steps
 * run as back-to-back replays that feed their picks to each other on the
 * device (the host uploads nothing and waits once per run of up to 64
 * steps), so the host's latency leaves the per-token time. */
int rt_gpu_decode_greedy_n(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t n,
                           int64_t *out, ssd_ctx *c);
/* Tokens consumed since the last reset. */
int64_t rt_gpu_pos(const rt_gpu_model *g);
/* Decode steps (L = 1) allocate nothing on the device after the first at a
 * batch size (but for KV caches that grow); from the second on, at
 * positions > 0, a step is one CUDA graph replay, except one that grows a
 * KV cache ($SSDC_CUDA_GRAPH=0 turns graphs off).  How many steps were
 * replayed graphs, over the model's life. */
int64_t rt_gpu_graph_replays(const rt_gpu_model *g);
/* Runs of back-to-back replays rt_gpu_decode_greedy_n made, over the
 * model's life (0 with graphs off). */
int64_t rt_gpu_greedy_runs(const rt_gpu_model *g);
/* Kernels (launches, memsets, GEMMs) that the last walked decode step put on
 * the stream, the step's graph being that sequence; 0 before any step. */
int64_t rt_gpu_step_kernels(const rt_gpu_model *g);
/* Gated norms that the last forward folded into the SSD kernel and out_proj
 * or the add after it (plan_gfold: by default in prefills of one sequence,
 * $SSDC_GNORM_FOLD=0|1 says otherwise), and of those the ones whose row
 * scale out_proj applied through ssdc's own GEMM ($SSDC_OWN_GEMM=1). */
int rt_gpu_gnorm_folds(const rt_gpu_model *g);
int rt_gpu_gemm_folds(const rt_gpu_model *g);
/* The other linears (not a fold's out_proj) that the last forward ran
 * through ssdc's own GEMM ($SSDC_OWN_GEMM=1 on an sm_90 or emulated device,
 * where it fits; a linear split onto the side stream stays on cuBLASLt). */
int rt_gpu_gemm_linears(const rt_gpu_model *g);
/* Gated norms that the last forward launched into the tail of the chunked
 * SSD kernel before them (PDL, each row waiting for its flag; by default
 * where the device has PDL, $SSDC_GNORM_AFTER=0 or $SSDC_PDL=0: none). */
int rt_gpu_gnorm_after(const rt_gpu_model *g);
/* SSD nodes whose x conv the last forward or prefill folded into the SSD
 * kernel (plan_xconv; $SSDC_XCONV=0: none).  For tests and notes. */
int rt_gpu_xconv_folds(const rt_gpu_model *g);
/* Convs the last walk ran in in_proj's GEMM epilogue (plan_cfold; $SSDC_CONV_FOLD=1
 * on an sm_90 or emulated device, default off).  For tests. */
int rt_gpu_conv_folds(const rt_gpu_model *g);
/* Chunked SSD nodes the last forward or prefill ran on the wgmma kernel
 * ($SSDC_SSD_WG=1 where it fits: sm_90 or the emulated device).  For tests. */
int rt_gpu_ssd_wg_runs(const rt_gpu_model *g);
/* Chunked SSD nodes the last forward or prefill ran with chained segments
 * (rt_cuda_ssd_segments: the policy's choice, or $SSDC_SSD_CHAIN=1).  For tests. */
int rt_gpu_ssd_chain_runs(const rt_gpu_model *g);
/* Linears whose gate columns the last forward or prefill computed on the
 * side stream beside the conv and SSD kernels (plan_zside; only with
 * $SSDC_SIDE_GEMM=1).  For tests. */
int rt_gpu_zside_runs(const rt_gpu_model *g);
/* Whether the device can run the wgmma kernel (sm_90, or the emulated device). */
bool rt_gpu_has_wgmma(const rt_gpu_model *g);
/* Benchmarks: with timing on, each decode step (L = 1) also measures its
 * device time (CUDA events around the step's work, not the copies), which
 * rt_gpu_step_gpu_ms returns for the last step (0 before one). */
void rt_gpu_time_steps(rt_gpu_model *g, bool on);
/* The device memory pool's counters (rt_cuda_mem), weights included. */
void rt_gpu_mem(const rt_gpu_model *g, rt_cuda_mem_stats *s);
double rt_gpu_step_gpu_ms(const rt_gpu_model *g);
/* $SSDC_DEC_TRACE=1 (a diagnostic): the decode step's GEMV and mixer
 * kernels stamp the device clock per block (codegen/cuda/dec_common.cuh).
 * reset zeroes the records; after one decode step, print writes that
 * step's timeline to f: per kernel its first start, PDL wait returns and
 * last end, the boundary before it, and a summary per kind of kernel. */
bool rt_gpu_trace_on(const rt_gpu_model *g);
/* Records the last walked step filled (0: it launched no GEMV or mixer). */
int rt_gpu_trace_count(const rt_gpu_model *g);
int rt_gpu_trace_reset(rt_gpu_model *g, ssd_ctx *c);
int rt_gpu_trace_print(rt_gpu_model *g, FILE *f, ssd_ctx *c);
/* The records print reads: *n (<= cap) kernels in launch order; us[4 i ..
 * 4 i + 3] = kernel i's first start, first and last wait return and last
 * end, in us from kernel 0's first start (all -1: it did not run); labels[i]
 * "L<layer> <kind>" (valid while g lives). */
int rt_gpu_trace_fetch(rt_gpu_model *g, double *us, const char **labels, int cap, int *n,
                       ssd_ctx *c);

#endif
