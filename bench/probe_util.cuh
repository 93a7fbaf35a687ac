// probe_util.cuh: what the standalone device probes that time cuBLASLt share
// (bench/alpha_vec_probe.cu, bench/gemm_probe.cu): status checks that stop
// the probe with the failing call's text, and a hash of (index, seed) to
// [-0.5, 0.5) that fills inputs the same way in every probe.  Include after
// cublasLt.h.
#include <cstdio>
#include <cstdlib>

#define CK(x) do { cudaError_t e_ = (x); if (e_) { printf("FAIL cuda %s: %s\n", #x, cudaGetErrorString(e_)); exit(1); } } while (0)
#define LK(x) do { cublasStatus_t s_ = (x); if (s_) { printf("FAIL cublasLt %s: %d\n", #x, (int)s_); exit(1); } } while (0)

__host__ __device__ inline float hash01(unsigned i, unsigned s) {
  unsigned h = i * 2654435761u ^ (s * 40503u + 0x9e3779b9u);
  h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 12; h *= 0x297a2d39u; h ^= h >> 15;
  return (h & 0xffffff) / 16777216.f - 0.5f;
}
