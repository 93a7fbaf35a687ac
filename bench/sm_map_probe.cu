// sm_map_probe.cu: where a persistent grid's blocks land, for the own GEMM's
// tile walk (codegen/cuda/gw_gemm.cuh; bench/NOTES.md, session 33: the
// prefill moved by 2-4% with the blockIdx -> SM placement alone).
//   1. A grid of one block per SM (shared memory forces it), as the GEMM
//      launches: blockIdx.x -> %smid, three times (is the map the same
//      every launch?).
//   2. Clusters of 2, 4, 8 and 16 (a cluster stays inside one GPC; 16 is
//      non-portable): how many fit at once and which SMs share a GPC, as
//      groups of %smid.
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

// Clusters of cs blocks (a cluster stays inside one GPC): how many fit at
// once (cudaOccupancyMaxActiveClusters) and which SMs each lands on.
static void probe_clusters(int cs, int sms, int smem, unsigned *d, unsigned *h) {
  cudaLaunchConfig_t cfg = {};
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeClusterDimension;
  at[0].val.clusterDim.x = cs, at[0].val.clusterDim.y = 1, at[0].val.clusterDim.z = 1;
  cfg.blockDim = dim3(384, 1, 1), cfg.dynamicSmemBytes = smem, cfg.attrs = at, cfg.numAttrs = 1;
  cfg.gridDim = dim3(cs, 1, 1);
  int nc = 0;
  cudaError_t e = cudaOccupancyMaxActiveClusters(&nc, where, &cfg);
  if (e != cudaSuccess || nc < 1) {
    printf("clusters of %d: %s (max active %d)\n", cs, cudaGetErrorString(e), nc);
    (void)cudaGetLastError();
    return;
  }
  if (nc * cs > sms) nc = sms / cs;
  cfg.gridDim = dim3(nc * cs, 1, 1);
  CK(cudaMemset(d, 0xff, sizeof(unsigned) * sms));
  e = cudaLaunchKernelEx(&cfg, where, d);
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  if (e != cudaSuccess) {
    printf("clusters of %d: %s\n", cs, cudaGetErrorString(e));
    (void)cudaGetLastError();
    return;
  }
  CK(cudaMemcpy(h, d, sizeof(unsigned) * sms, cudaMemcpyDeviceToHost));
  printf("clusters of %d: %d fit at once (%d SMs); smids:\n", cs, nc, nc * cs);
  for (int c = 0; c < nc; c++) {
    printf("  cluster %2d:", c);
    for (int j = 0; j < cs; j++) printf(" %u", h[c * cs + j]);
    printf("\n");
  }
}

int main() {
  int sms = 0, dev = 0;
  CK(cudaGetDevice(&dev));
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int smem = 200 * 1024;
  CK(cudaFuncSetAttribute(where, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
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
  CK(cudaFuncSetAttribute(where, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  const int sizes[] = {2, 4, 8, 16};
  for (int cs : sizes) probe_clusters(cs, sms, smem, d, h);
  CK(cudaFree(d));
  free(h);
  return 0;
}
