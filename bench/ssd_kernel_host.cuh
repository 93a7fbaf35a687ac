// ssd_kernel_host.cuh: what the device-side probes of one generated SSD kernel
// share (bench/ssd_phase_prof.cu, bench/overlap_probe.cu): the kernel source
// itself (KSRC, as ssdc generates it), its block size, and a hash fill of bf16
// inputs on the device.  Included once, after the standard headers.
#include KSRC
#ifdef WG_THREADS
#define THREADS WG_THREADS /* ssd_wg.cuh: the warpgroup and its producer warp */
#else
#define THREADS 128
#endif

__global__ void fill(ssd_bf16 *p, size_t n, unsigned seed, float scale) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    unsigned h = (unsigned)i * 2654435761u ^ seed;
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
    p[i] = f2bf(((h >> 8) * (1.f / 16777216.f) - 0.5f) * scale);
  }
}
