// ops_argmax.cuh: greedy decoding on the device.  out[r] = the first index
// of the largest of x[r, 0 .. OPS_D), NaN below every number: rt_argmax's
// rule (runtime/rt_ops.h), so the device and the host pick the same token.
// It lets a decode step send B token ids to the host instead of B x V
// logits.  One block per row; each thread scans a strided slice, then a
// warp shuffle and one shared-memory round pick the winner, the index
// breaking ties, so the result does not depend on the schedule.
// #defines: OPS_D (the row width, the vocabulary); x as OPS_IN_BF16.
#define AM_THREADS 512

// (a, ia) beats (b, ib): numbers beat NaN, larger beats smaller, and among
// equals (or two NaNs) the lower index wins.
__device__ __forceinline__ bool am_beats(float a, long long ia, float b, long long ib) {
  const bool na = a != a, nb = b != b;
  if (na != nb) return nb;
  if (!na && a != b) return a > b;
  return ia < ib;
}

extern "C" __global__ void __launch_bounds__(AM_THREADS)
OPS_KERNEL(const ops_in *__restrict__ x, long long *__restrict__ out) {
  __shared__ float sv[AM_THREADS / 32];
  __shared__ long long si[AM_THREADS / 32];
  const ops_in *row = x + (long long)blockIdx.x * OPS_D;
  float bv = __int_as_float(0x7fc00000); // NaN past the end: loses to anything
  long long bi = OPS_D;
  for (long long i = threadIdx.x; i < OPS_D; i += AM_THREADS) {
    const float v = ld_in(row, i);
    if (am_beats(v, i, bv, bi)) bv = v, bi = i;
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const long long oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (am_beats(ov, oi, bv, bi)) bv = ov, bi = oi;
  }
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) sv[w] = bv, si[w] = bi;
  __syncthreads();
  if (w == 0) {
    bv = lane < AM_THREADS / 32 ? sv[lane] : __int_as_float(0x7fc00000);
    bi = lane < AM_THREADS / 32 ? si[lane] : OPS_D;
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      const long long oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (am_beats(ov, oi, bv, bi)) bv = ov, bi = oi;
    }
    if (lane == 0) out[blockIdx.x] = bi;
  }
}
