// overlap_probe.cu: how much of a cuBLAS GEMM can hide under the chunked SSD
// kernel when the two run on two streams (the idea in bench/NOTES.md, session
// 17: Mamba-2's z columns of in_proj, read only by the gated norm, computed
// beside the conv and SSD kernels).  The SSD kernel is a generated source as
// for ssd_phase_prof.cu (one segment, the model's strides); the GEMM is z's
// share of the 2.7b in_proj: [tokens x 2560] x [2560 x 5120]^T, bf16 in, fp32
// accumulate, bf16 out.  Prints each alone and both together, per pair:
//   nvcc -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC='"mma.cu"' \
//        -DSMEM_T=ssd_smem bench/overlap_probe.cu -lcublas -o probe
//   ./probe [batch [L]]
// Only the time is measured; the kernels' results are tested elsewhere.
#include <cstdio>
#include <cstdlib>
#include <cublas_v2.h>
#include "ssd_kernel_host.cuh"

int main(int argc, char **argv) {
  const int batch = argc > 1 ? atoi(argv[1]) : 8;
  const long long L = argc > 2 ? atoll(argv[2]) : 2048;
  const size_t T = (size_t)batch * L, blocks = (size_t)batch * SSD_H * PSL;
  const int KD = 2560, NZ = 5120; /* d_model, d_inner */
  const probe_ops o = probe_ops_make(batch, T);
  ssd_bf16 *x = o.x, *dt = o.dt, *Bm = o.B, *Cm = o.C, *y = o.y, *ga, *gw, *gc;
  float *A = o.A, *D = o.D, *bias = o.bias, *init = o.init, *fin = o.fin, *ws_state;
  unsigned *ws_sync;
  cudaMalloc(&ws_state, 1024), cudaMalloc(&ws_sync, (2 + blocks) * 4), cudaMemset(ws_sync, 0, (2 + blocks) * 4);
  cudaMalloc(&ga, T * KD * 2), cudaMalloc(&gw, (size_t)NZ * KD * 2), cudaMalloc(&gc, T * NZ * 2);
  fill<<<512, 256>>>(ga, T * KD, 5, 1.f), fill<<<512, 256>>>(gw, (size_t)NZ * KD, 6, 0.05f);
  const int smem = (int)sizeof(SMEM_T);
  cudaFuncSetAttribute(SSD_KERNEL, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  cudaStream_t s1, s2;
  cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking), cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking);
  cublasHandle_t hb_;
  cublasCreate(&hb_);
  cublasSetStream(hb_, s2);
  unsigned epoch = 0;
  const float one = 1.f, zero = 0.f;
  auto ssd = [&] {
    SSD_KERNEL<<<(unsigned)blocks, THREADS, smem, s1>>>(x, (const ssd_dt_in *)dt, A, Bm, Cm, D, nullptr, bias,
                                                        init, fin, y, L, batch, 1, (int)((L + 63) / 64),
                                                        ws_sync, ws_state, ++epoch, nullptr, nullptr, nullptr,
                                                        nullptr, nullptr, ssd_tmap{}, ssd_tmap{}); /* cp.async tiles: no tensor maps */
  };
  auto gemm = [&] { /* column-major: C^T [NZ x T] = W [NZ x KD] . A^T [KD x T] */
    cublasGemmEx(hb_, CUBLAS_OP_T, CUBLAS_OP_N, NZ, (int)T, KD, &one, gw, CUDA_R_16BF, KD, ga, CUDA_R_16BF, KD,
                 &zero, gc, CUDA_R_16BF, NZ, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0), cudaEventCreate(&e1);
  const int reps = 20;
  auto timed = [&](int which) { /* 1 SSD alone, 2 GEMM alone, 3 both on their streams */
    for (int w = 0; w < 3; w++) {
      if (which & 1) ssd();
      if (which & 2) gemm();
    }
    cudaDeviceSynchronize();
    cudaEventRecord(e0, s1);
    cudaStreamWaitEvent(s2, e0, 0);
    for (int i = 0; i < reps; i++) {
      if (which & 1) ssd();
      if (which & 2) gemm();
    }
    cudaEvent_t j;
    cudaEventCreate(&j);
    cudaEventRecord(j, s2);
    cudaStreamWaitEvent(s1, j, 0);
    cudaEventRecord(e1, s1);
    cudaError_t err = cudaDeviceSynchronize();
    if (err) { printf("FAIL: %s\n", cudaGetErrorString(err)); exit(1); }
    float ms;
    cudaEventElapsedTime(&ms, e0, e1);
    cudaEventDestroy(j);
    return ms / reps;
  };
  const float a = timed(1), b = timed(2), c = timed(3);
  printf("%s %dx%lld: SSD %.4f ms, z GEMM %.4f ms (%.0f TFLOP/s), both on two streams %.4f ms per pair: "
         "%.4f ms hidden (%.0f%% of the GEMM)\n", KSRC, batch, L, a, b, 2.0 * T * NZ * KD / b / 1e9, c, a + b - c,
         100 * (a + b - c) / b);
  return 0;
}
