// probe_util.cuh: what the standalone device probes share
// (bench/alpha_vec_probe.cu, bench/gemm_probe.cu, bench/corr_gnorm_probe.cu):
// status checks that stop the probe with the failing call's text (LK only
// where cublasLt.h is included), a hash of (index, seed) to [-0.5, 0.5) that
// fills inputs the same way in every probe, and the median time of a launch.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>

#define CK(x) do { cudaError_t e_ = (x); if (e_) { printf("FAIL cuda %s: %s\n", #x, cudaGetErrorString(e_)); exit(1); } } while (0)
#define LK(x) do { cublasStatus_t s_ = (x); if (s_) { printf("FAIL cublasLt %s: %d\n", #x, (int)s_); exit(1); } } while (0)

__host__ __device__ inline float hash01(unsigned i, unsigned s) {
  unsigned h = i * 2654435761u ^ (s * 40503u + 0x9e3779b9u);
  h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 12; h *= 0x297a2d39u; h ^= h >> 15;
  return (h & 0xffffff) / 16777216.f - 0.5f;
}

// The median of `reps` timed runs of run() (events around each), after one untimed.
template <class F> inline float median_ms(F run, int reps = 20) {
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  run();
  CK(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int r = 0; r < reps; r++) {
    CK(cudaEventRecord(e0));
    run();
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  cudaEventDestroy(e0), cudaEventDestroy(e1);
  return t[reps / 2];
}
