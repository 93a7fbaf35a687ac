// ops_argmax.cuh: greedy decoding on the device.  out[r] = the first index
// of the largest of x[r, 0 .. OPS_D), NaN below every number: rt_argmax's
// rule (runtime/rt_ops.h), so the device and the host pick the same token.
// It lets a decode step send B token ids to the host instead of B x V
// logits.
//
// Two variants, by AM_CHUNK (elements of a row per block):
//  - AM_CHUNK == OPS_D: one block per row (run on the H100 in session 6:
//    ~7-15 us for a 50K vocabulary, one SM streaming 200 KB);
//  - smaller: a row is split over grid.x blocks, each leaves its chunk's
//    winner in `scratch`, and the last block of the row to finish (a
//    counter per row, taken with an atomic after a fence) reduces the
//    partials and writes out[r].  It puts the counter back to 0, so a graph
//    can replay the kernel: the caller zeroes the scratch once, before the
//    first launch.
// The index breaks ties in every reduction, so the result does not depend
// on the schedule.
//
// scratch (split variant; rows = grid.y): long long idx[rows * AM_NCH],
// float val[rows * AM_NCH], unsigned count[rows]: cg_op_argmax_scratch().
// #defines: OPS_D (the row width, the vocabulary), AM_THREADS (per block),
// AM_CHUNK; x as OPS_IN_BF16.
#define AM_NCH ((OPS_D + AM_CHUNK - 1) / AM_CHUNK)
#define AM_NAN __int_as_float(0x7fc00000)

// (a, ia) beats (b, ib): numbers beat NaN, larger beats smaller, and among
// equals (or two NaNs) the lower index wins.
__device__ __forceinline__ bool am_beats(float a, long long ia, float b, long long ib) {
  const bool na = a != a, nb = b != b;
  if (na != nb) return nb;
  if (!na && a != b) return a > b;
  return ia < ib;
}

__device__ __forceinline__ void am_warp(float &bv, long long &bi) {
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const long long oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (am_beats(ov, oi, bv, bi)) bv = ov, bi = oi;
  }
}

// The block's winner, in thread 0 (sv, si: the block's shared scratch).
__device__ __forceinline__ void am_block(float &bv, long long &bi, float *sv, long long *si) {
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  am_warp(bv, bi);
  __syncthreads(); // an earlier round's readers are done with sv, si
  if (lane == 0) sv[w] = bv, si[w] = bi;
  __syncthreads();
  if (w == 0) {
    bv = lane < AM_THREADS / 32 ? sv[lane] : AM_NAN;
    bi = lane < AM_THREADS / 32 ? si[lane] : OPS_D;
    am_warp(bv, bi);
  }
}

extern "C" __global__ void __launch_bounds__(AM_THREADS)
OPS_KERNEL(const ops_in *__restrict__ x, long long *__restrict__ out, void *scratch) {
  __shared__ float sv[AM_THREADS / 32];
  __shared__ long long si[AM_THREADS / 32];
  __shared__ bool last;
  const long long row = blockIdx.y, part = row * AM_NCH + blockIdx.x;
  const ops_in *xr = x + row * OPS_D;
  const long long stop = (blockIdx.x + 1LL) * AM_CHUNK, end = stop < OPS_D ? stop : OPS_D;
  float bv = AM_NAN; // NaN past the end: loses to anything
  long long bi = OPS_D;
  for (long long i = blockIdx.x * (long long)AM_CHUNK + threadIdx.x; i < end; i += AM_THREADS) {
    const float v = ld_in(xr, i);
    if (am_beats(v, i, bv, bi)) bv = v, bi = i;
  }
  am_block(bv, bi, sv, si);
  if (AM_NCH == 1) { // one block per row: no partials (and no scratch)
    if (threadIdx.x == 0) out[row] = bi;
    return;
  }
  volatile long long *pi = (volatile long long *)scratch;
  volatile float *pv = (volatile float *)(pi + (long long)gridDim.y * AM_NCH);
  unsigned *count = (unsigned *)(pv + (long long)gridDim.y * AM_NCH);
  if (threadIdx.x == 0) {
    pi[part] = bi, pv[part] = bv;
    __threadfence(); // the partial is visible before the count says so
    last = atomicAdd(&count[row], 1u) == AM_NCH - 1;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  bv = AM_NAN, bi = OPS_D;
  for (int c = threadIdx.x; c < AM_NCH; c += AM_THREADS) {
    const float v = pv[row * AM_NCH + c];
    const long long i = pi[row * AM_NCH + c];
    if (am_beats(v, i, bv, bi)) bv = v, bi = i;
  }
  am_block(bv, bi, sv, si);
  if (threadIdx.x == 0) out[row] = bi, count[row] = 0;
}
