// sm_map_probe.cu: where a persistent grid's blocks land, for the own GEMM's
// tile walk (codegen/cuda/gw_gemm.cuh; bench/NOTES.md, session 33: the
// prefill moved by 2-4% with the blockIdx -> SM placement alone).
//   1. A grid of one block per SM (shared memory forces it), as the GEMM
//      launches: blockIdx.x -> %smid, three times (is the map the same
//      every launch?).
//   2. Clusters of 8 (a cluster stays inside one GPC): which SMs share a
//      GPC, as groups of %smid.
// Build and run on the device: nvcc -arch=sm_90a -o /tmp/smp bench/sm_map_probe.cu && /tmp/smp
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CK(x)                                                                              \
  do {                                                                                     \
    cudaError_t e_ = (x);                                                                  \
    if (e_ != cudaSuccess) {                                                               \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      exit(1);                                                                             \
    }                                                                                      \
  } while (0)

__device__ unsigned smid() {
  unsigned s;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(s));
  return s;
}

// Each block records its SM and spins ~50 us, so no block finishes before
// all have been placed (one a SM: the shared memory leaves room for one).
__global__ void where(unsigned *out) {
  extern __shared__ unsigned char pad[];
  if (threadIdx.x == 0) {
    out[blockIdx.x] = smid();
    pad[0] = 1;
    const long long t0 = clock64();
    while (clock64() - t0 < 100000) {
    }
  }
}

__global__ void __cluster_dims__(8, 1, 1) where_cluster(unsigned *out) {
  extern __shared__ unsigned char pad[];
  if (threadIdx.x == 0) {
    out[blockIdx.x] = smid();
    pad[0] = 1;
    const long long t0 = clock64();
    while (clock64() - t0 < 100000) {
    }
  }
}

int main() {
  int sms = 0, dev = 0;
  CK(cudaGetDevice(&dev));
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int smem = 200 * 1024;
  CK(cudaFuncSetAttribute(where, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  CK(cudaFuncSetAttribute(where_cluster, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  unsigned *d, *h = (unsigned *)malloc(sizeof(unsigned) * sms);
  CK(cudaMalloc(&d, sizeof(unsigned) * sms));
  printf("SMs %d\n", sms);
  for (int rep = 0; rep < 3; rep++) {
    CK(cudaMemset(d, 0xff, sizeof(unsigned) * sms));
    where<<<sms, 384, smem>>>(d);
    CK(cudaGetLastError());
    CK(cudaMemcpy(h, d, sizeof(unsigned) * sms, cudaMemcpyDeviceToHost));
    printf("launch %d blockIdx->smid:", rep);
    for (int i = 0; i < sms; i++) printf(" %u", h[i]);
    printf("\n");
  }
  const int nc = sms / 8; // clusters of 8 that fit one block a SM
  CK(cudaMemset(d, 0xff, sizeof(unsigned) * sms));
  where_cluster<<<nc * 8, 384, smem>>>(d);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    printf("clusters of 8: %s\n", cudaGetErrorString(e));
  } else {
    CK(cudaMemcpy(h, d, sizeof(unsigned) * sms, cudaMemcpyDeviceToHost));
    printf("clusters of 8 (same GPC), smids:\n");
    for (int c = 0; c < nc; c++) {
      printf("  cluster %2d:", c);
      for (int j = 0; j < 8; j++) printf(" %u", h[c * 8 + j]);
      printf("\n");
    }
  }
  CK(cudaFree(d));
  free(h);
  return 0;
}
