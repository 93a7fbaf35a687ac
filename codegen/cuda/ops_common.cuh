// ops_common.cuh: helpers for the small-op kernels (ops_*.cuh, s6_*.cuh).
//
// Prepended after ssd_common.cuh (bf16 conversion, silu, softplus) by
// codegen/cg_cuda_ops.c, together with a prologue of #defines: OPS_IN_BF16,
// OPS_OUT_BF16, OPS_W_BF16 pick each operand class's storage (activations
// read, activations written, weights), so one template serves the fp32 and
// the bf16 executor.  Reductions and math stay fp32 whatever the storage.
#if OPS_IN_BF16
typedef ssd_bf16 ops_in;
__device__ __forceinline__ float ld_in(const ops_in *p, long long i) { return bf2f(p[i]); }
#else
typedef float ops_in;
__device__ __forceinline__ float ld_in(const ops_in *p, long long i) { return p[i]; }
#endif
#if OPS_OUT_BF16
typedef ssd_bf16 ops_out;
__device__ __forceinline__ void st_out(ops_out *p, long long i, float v) { p[i] = f2bf(v); }
#else
typedef float ops_out;
__device__ __forceinline__ void st_out(ops_out *p, long long i, float v) { p[i] = v; }
#endif
#if OPS_W_BF16
typedef ssd_bf16 ops_w;
__device__ __forceinline__ float ld_w(const ops_w *p, long long i) { return bf2f(p[i]); }
#else
typedef float ops_w;
__device__ __forceinline__ float ld_w(const ops_w *p, long long i) { return p[i]; }
#endif

// Eight consecutive elements at a 16-byte-aligned address, as floats (the
// OPS_VEC kernels: one 16-byte access per 8 bf16, two per 8 floats).
__device__ __forceinline__ void ops_unpack8(uint4 u, float *v) {
  const u32 h[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
  for (int q = 0; q < 4; q++) v[2 * q] = bf2_lo(h[q]), v[2 * q + 1] = bf2_hi(h[q]);
}
__device__ __forceinline__ void ops_ld8(const ssd_bf16 *p, float *v) { ops_unpack8(*(const uint4 *)p, v); }
__device__ __forceinline__ void ops_ld8(const float *p, float *v) {
  const float4 a = ((const float4 *)p)[0], b = ((const float4 *)p)[1];
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ __forceinline__ void ops_st8(ssd_bf16 *p, const float *v) {
  *(uint4 *)p = make_uint4(pack_bf2(v[0], v[1]), pack_bf2(v[2], v[3]), pack_bf2(v[4], v[5]),
                           pack_bf2(v[6], v[7]));
}
__device__ __forceinline__ void ops_st8(float *p, const float *v) {
  ((float4 *)p)[0] = make_float4(v[0], v[1], v[2], v[3]);
  ((float4 *)p)[1] = make_float4(v[4], v[5], v[6], v[7]);
}

// Exact expf rather than __expf where the CPU reference uses expf: the fp32
// executor is held to 1e-4 of the float64 goldens (silu: ssd_silu_exact).
__device__ __forceinline__ float ops_softplus(float v) { return v > 20.f ? v : log1pf(expf(v)); }

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every
// thread gets the total.  `red` is 32 floats of shared memory.
__device__ __forceinline__ float ops_block_sum(float v, float *red) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
  __syncthreads(); // red may still be read by a previous call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nw ? red[lane] : 0.f;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// bf16 through L2 only (ld.global.cg): rows another grid still writes.
__device__ __forceinline__ void ops_ld8_cg(const ssd_bf16 *p, float *v) {
  ops_unpack8(__ldcg((const uint4 *)p), v);
}

// Block-wide wait until the producer launched before this grid has stored
// this block's token row (blockIdx.y): flags[(t / seg_rows) * nb + b] ==
// epoch for row b * L + t (ssd_seg.cuh's ssd_signal_rows).  Thread 0 polls
// with acquire loads; the barrier hands its acquisition to the block.  A
// flag that never comes up traps after 20 s: a launch error, not a hang.
__device__ __forceinline__ void ops_wait_row(const unsigned *flags, unsigned epoch, long long L,
                                             long long seg_rows, int nb) {
  if (threadIdx.x == 0) {
    const long long r = blockIdx.y, b = r / L, t = r % L;
    const unsigned *f = flags + (t / seg_rows) * nb + b;
    const unsigned long long t0 = gpu_now_ns();
    while (ssd_ld_acquire(f) != epoch) {
      __nanosleep(200);
      if (gpu_now_ns() - t0 > 20000000000ull) ssd_trap();
    }
  }
  __syncthreads();
}
