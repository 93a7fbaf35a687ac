/* rt_cublaslt.h: the model's GEMMs (in/out projections, MLPs, lm_head)
 * through cuBLASLt, opened with dlopen like the driver (rt_cuda.h), so ssdc
 * builds and runs without it and only asking for it fails, clearly.
 *
 * One shape convention, the CPU's (rt_ops.h rt_linear):
 *   y[M, N] = x[M, K] . W[N, K]^T (+ bias[N])   (y += ... with accumulate)
 * with x and W both bf16 (fp32 accumulation, y fp32 or bf16) or both fp32
 * (exact fp32 compute, no TF32: the fp32 executor is checked at 1e-4).
 * The bias rides in cuBLASLt's epilogue when y is fp32.  Launches go to
 * rt_cuda's stream, like rt_cuda_launch, so they order with the kernels
 * (the side stream's get a workspace of their own, so the two may overlap);
 * the workspace is allocated once at open, so a GEMM can be captured into
 * a CUDA graph after its shape's plan exists.  The first call at a shape
 * makes the plan and times the heuristic's candidates on its operands
 * (waiting for the stream), so it must not run inside a capture.
 */
#ifndef SSD_RT_CUBLASLT_H
#define SSD_RT_CUBLASLT_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_cuda.h"

typedef struct rt_blas rt_blas;

/* dlopen libcublasLt ($SSDC_CUBLASLT names it; else the usual sonames),
 * create a handle and a workspace on g's device.  On a dry-run device
 * (rt_cuda_open_dry) nothing is opened and GEMMs are only checked. */
int rt_blas_open(rt_cuda *g, rt_blas **out, ssd_ctx *c);
void rt_blas_close(rt_blas *b);

typedef enum { RT_BLAS_F32, RT_BLAS_BF16 } rt_blas_type;

typedef struct rt_gemm {
  int64_t M, N, K;
  rt_blas_type ab;  /* x and W */
  rt_blas_type out; /* y */
  rt_dptr x, W, bias, y; /* bias fp32 [N] or 0 */
  bool accumulate;       /* y += x . W^T (+ bias): beta = 1, e.g. a residual add */
  int64_t ldy;           /* elements between y's rows (0: N), e.g. columns of a wider row */
} rt_gemm;

/* Run one GEMM.  Plans (descriptors and the heuristic's algorithm) are kept
 * per shape, so repeated calls (every layer, every decode step) only launch. */
int rt_blas_gemm(rt_blas *b, const rt_gemm *p, ssd_ctx *c);

#endif
