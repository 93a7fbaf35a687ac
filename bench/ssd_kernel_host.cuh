// ssd_kernel_host.cuh: what the device-side probes of one generated SSD kernel
// share (bench/ssd_phase_prof.cu, bench/overlap_probe.cu, bench/p1_probe.cu):
// the kernel source itself (KSRC, as ssdc generates it), its block size, a hash
// fill of bf16 inputs on the device and the kernel's operands.  Included once,
// after the standard headers.
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

// The kernel's operands for T tokens of `batch` sequences: x, dt, B, C filled
// at the generated row strides, y, A (log form, log(1 + h % 16)), D (ones),
// dt_bias, a zeroed initial state and a final-state buffer.  The same values
// in every probe, so that their output hashes compare.
struct probe_ops {
  ssd_bf16 *x, *dt, *B, *C, *y;
  float *A, *D, *bias, *init, *fin;
};
static probe_ops probe_ops_make(int batch, size_t T) {
  probe_ops o;
  const size_t sb = (size_t)batch * SSD_H * SSD_P * SSD_N * 4;
  cudaMalloc(&o.x, T * SSD_LD_X * 2), cudaMalloc(&o.dt, T * SSD_LD_DT * 2), cudaMalloc(&o.B, T * SSD_LD_B * 2);
  cudaMalloc(&o.C, T * SSD_LD_C * 2), cudaMalloc(&o.y, T * SSD_H * SSD_P * 2);
  cudaMalloc(&o.A, SSD_H * 4), cudaMalloc(&o.D, SSD_H * 4), cudaMalloc(&o.bias, SSD_H * 4);
  cudaMalloc(&o.init, sb), cudaMalloc(&o.fin, sb), cudaMemset(o.init, 0, sb);
  fill<<<512, 256>>>(o.x, T * SSD_LD_X, 1, 2.f), fill<<<512, 256>>>(o.dt, T * SSD_LD_DT, 2, 2.f);
  fill<<<512, 256>>>(o.B, T * SSD_LD_B, 3, 1.f), fill<<<512, 256>>>(o.C, T * SSD_LD_C, 4, 1.f);
  float hA[SSD_H], hD[SSD_H], hb[SSD_H];
  for (int h = 0; h < SSD_H; h++) hA[h] = logf(1.f + h % 16), hD[h] = 1.f, hb[h] = -2.f + 0.05f * (h % 8);
  cudaMemcpy(o.A, hA, sizeof hA, cudaMemcpyHostToDevice), cudaMemcpy(o.D, hD, sizeof hD, cudaMemcpyHostToDevice);
  cudaMemcpy(o.bias, hb, sizeof hb, cudaMemcpyHostToDevice);
  return o;
}
