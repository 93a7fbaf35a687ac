// alpha_vec_probe.cu: can cuBLASLt apply a per-token scale in out_proj's
// epilogue at full speed?  A question for the gated norm's fold (bench/NOTES.md,
// session 21): with the norm's row scale r_t applied by out_proj, the gated
// norm needs no pass of its own, but cuBLASLt's alpha vector runs along the
// output's rows in its column-major view (m), which is the model's feature
// axis for the token-major residual ssdc keeps.  Tokens are m only if out_proj
// writes a feature-major residual.  This times, at the 2.7b out_proj shape
// (K = 5120 -> 2560, fp32 residual accumulated, beta = 1):
//   tok    the committed form: m = 2560 features, n = T tokens, scalar alpha;
//   feat   feature-major output: m = T, n = 2560, scalar alpha;
//   featv  feature-major output, ALPHA_DEVICE_VECTOR_BETA_HOST (r_t per token);
//   featv0 the same with ALPHA_DEVICE_VECTOR_BETA_ZERO;
//   featdv the same with DEVICE_VECTOR (alpha and beta vectors; beta ones);
//   tokv   token-major with an alpha vector (along the features: whether any
//          vector mode exists for bf16 inputs);
// each over the heuristic's first 8 candidates (median of 20 runs per
// candidate, best kept), and checks the first feature-major vector form that
// runs against tok scaled on the host at sampled entries.  Build on the device:
//   nvcc -std=c++17 -O2 bench/alpha_vec_probe.cu -lcublasLt -o avp && ./avp [T]
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <algorithm>

#include "probe_util.cuh" /* CK, LK, hash01 (inputs on the device, scales on the host), median_ms */

__global__ void fill_bf(__nv_bfloat16 *p, size_t n, unsigned s, float sc) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = __float2bfloat16(hash01((unsigned)i, s) * sc);
}

struct form {
  const char *name;
  bool feat;
  int32_t mode; /* cublasLtPointerMode_t */
};

// Time one form; returns the best median over candidates (ms), or -1 when the
// heuristic offers nothing (ncand then holds minus its status).  The timed
// runs keep accumulating into D (beta = 1), which the time does not depend
// on; a last run of the best candidate from a zeroed D leaves alpha * product
// there for the check.
static float run_form(cublasLtHandle_t lt, const form &f, int T, int K, int N, const __nv_bfloat16 *G,
                      const __nv_bfloat16 *W, float *D, const float *alpha_v, const float *ones_v, void *ws, size_t wsb,
                      int *ncand, int *best_i) {
  cublasLtMatmulDesc_t op;
  LK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  int32_t pm = f.mode;
  LK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof pm));
  cublasOperation_t ta, tb;
  cublasLtMatrixLayout_t la, lb, ld;
  int64_t m, n;
  const void *A, *B;
  if (!f.feat) {
    // D [N x T] column-major = token-major [T][N]; A = W ([N][K] row-major = K x N col-major, op T), B = G (K x T, op N)
    m = N, n = T, ta = CUBLAS_OP_T, tb = CUBLAS_OP_N, A = W, B = G;
    LK(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, K, N, K));
    LK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, K, T, K));
  } else {
    // D [T x N] column-major = feature-major [N][T]; A = G ([T][K] row-major = K x T col-major, op T), B = W (K x N, op N)
    m = T, n = N, ta = CUBLAS_OP_T, tb = CUBLAS_OP_N, A = G, B = W;
    LK(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, K, T, K));
    LK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, K, N, K));
  }
  LK(cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, m, n, m));
  LK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  LK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  cublasLtMatmulPreference_t pref;
  LK(cublasLtMatmulPreferenceCreate(&pref));
  LK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb));
  cublasLtMatmulHeuristicResult_t hr[8];
  int got = 0;
  cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, ld, ld, pref, 8, hr, &got);
  *ncand = hs ? -(int)hs : got;
  float best = -1.f;
  const float one = 1.f, beta1 = 1.f;
  const bool vec = f.mode != CUBLASLT_POINTER_MODE_HOST;
  const void *alpha = vec ? (const void *)alpha_v : (const void *)&one;
  /* beta: a host 1, a device vector of ones (DEVICE_VECTOR), or ignored (BETA_ZERO) */
  const void *beta = f.mode == CUBLASLT_POINTER_MODE_DEVICE_VECTOR ? (const void *)ones_v : (const void *)&beta1;
  for (int c = 0; !hs && c < got; c++) {
    cublasStatus_t s = cublasLtMatmul(lt, op, alpha, A, la, B, lb, beta, D, ld, D, ld, &hr[c].algo, ws, wsb, 0);
    if (s) { printf("  %s cand %d: matmul status %d\n", f.name, c, (int)s); continue; }
    const float ms = median_ms([&] {
      cublasLtMatmul(lt, op, alpha, A, la, B, lb, beta, D, ld, D, ld, &hr[c].algo, ws, wsb, 0);
    });
    printf("  %-5s cand %d: %.4f ms (%.0f TFLOP/s)\n", f.name, c, ms, 2.0 * T * K * N / ms / 1e9);
    if (best < 0 || ms < best) best = ms, *best_i = c;
  }
  // one check run from zero with the best candidate
  if (best >= 0) {
    CK(cudaMemset(D, 0, (size_t)T * N * 4));
    LK(cublasLtMatmul(lt, op, alpha, A, la, B, lb, beta, D, ld, D, ld, &hr[*best_i].algo, ws, wsb, 0));
    CK(cudaDeviceSynchronize());
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la), cublasLtMatrixLayoutDestroy(lb), cublasLtMatrixLayoutDestroy(ld);
  cublasLtMatmulDescDestroy(op);
  return best;
}

int main(int argc, char **argv) {
  const int T = argc > 1 ? atoi(argv[1]) : 16384, K = 5120, N = 2560;
  __nv_bfloat16 *G, *W;
  float *Dt, *Df, *av;
  void *ws;
  const size_t wsb = 32u << 20;
  CK(cudaMalloc(&G, (size_t)T * K * 2));
  CK(cudaMalloc(&W, (size_t)N * K * 2));
  CK(cudaMalloc(&Dt, (size_t)T * N * 4));
  CK(cudaMalloc(&Df, (size_t)T * N * 4));
  CK(cudaMalloc(&av, (size_t)T * 4));
  CK(cudaMalloc(&ws, wsb));
  fill_bf<<<1024, 256>>>(G, (size_t)T * K, 1, 2.f), fill_bf<<<1024, 256>>>(W, (size_t)N * K, 2, 0.05f);
  std::vector<float> ha(T);
  for (int t = 0; t < T; t++) ha[t] = 1.f + hash01(t, 3); /* 0.5 .. 1.5 */
  CK(cudaMemcpy(av, ha.data(), T * 4, cudaMemcpyHostToDevice));
  float *ones; /* beta as a device vector: the residual kept (length T >= N) */
  CK(cudaMalloc(&ones, (size_t)T * 4));
  std::vector<float> h1(T, 1.f);
  CK(cudaMemcpy(ones, h1.data(), T * 4, cudaMemcpyHostToDevice));
  cublasLtHandle_t lt;
  LK(cublasLtCreate(&lt));
  int ver = (int)cublasLtGetVersion();
  cudaDeviceProp p;
  CK(cudaGetDeviceProperties(&p, 0));
  printf("%s, cublasLt %d, T=%d K=%d N=%d (fp32 D, beta 1)\n", p.name, ver, T, K, N);
  const form forms[] = {{"tok", false, CUBLASLT_POINTER_MODE_HOST},
                        {"feat", true, CUBLASLT_POINTER_MODE_HOST},
                        {"featv", true, CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST},
                        {"featv0", true, CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO},
                        {"featdv", true, CUBLASLT_POINTER_MODE_DEVICE_VECTOR},
                        {"tokv", false, CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST}};
  float best[6];
  for (int i = 0; i < 6; i++) {
    int nc = 0, bi = -1;
    best[i] = run_form(lt, forms[i], T, K, N, G, W, i == 0 ? Dt : Df, av, ones, ws, wsb, &nc, &bi);
    printf("%-5s candidates %d, best %.4f ms (cand %d)\n", forms[i].name, nc, best[i], bi);
  }
  // check: the last feature-major vector form that ran (Df, alpha r_t, from zero) against tok (Dt,
  // token-major, alpha 1) * r_t
  int vi = best[4] >= 0 ? 4 : best[3] >= 0 ? 3 : best[2] >= 0 ? 2 : -1;
  if (best[5] >= 0) printf("tokv (alpha along features) ran: vector modes exist for bf16 here\n");
  if (best[0] >= 0 && vi >= 0) {
    std::vector<float> ht((size_t)T * N), hf((size_t)T * N);
    CK(cudaMemcpy(ht.data(), Dt, ht.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hf.data(), Df, hf.size() * 4, cudaMemcpyDeviceToHost));
    double maxe = 0, maxv = 0;
    for (size_t i = 0; i < 200000; i++) {
      size_t t = (i * 7919u) % T, f = (i * 104729u) % N;
      double ref = (double)ht[t * N + f] * ha[t], got = hf[f * (size_t)T + t];
      maxe = std::max(maxe, fabs(got - ref)), maxv = std::max(maxv, fabs(ref));
    }
    printf("check %s vs tok * r_t: max abs err %.3g of max |ref| %.3g (%s)\n", forms[vi].name, maxe, maxv,
           maxe <= 1e-3 * maxv && maxv > 0 ? "ok" : "MISMATCH");
  }
  if (best[0] > 0 && vi >= 0) printf("ratio %s / tok: %.3f\n", forms[vi].name, best[vi] / best[0]);
  if (best[0] > 0 && best[1] > 0) printf("ratio feat / tok: %.3f\n", best[1] / best[0]);
  return 0;
}
