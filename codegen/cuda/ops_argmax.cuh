// ops_argmax.cuh: greedy decoding on the device.  out[r] = the first index
// of the largest of x[r, 0 .. OPS_D), NaN below every number: rt_argmax's
// rule (runtime/rt_ops.h), so the device and the host pick the same token.
// It lets a decode step send B token ids to the host instead of B x V
// logits, and (with advance and hist) lets the next step start from them
// with nothing sent at all.
//
// A row is split over grid.x blocks of AM_CHUNK elements (AM_CHUNK ==
// OPS_D: one block per row).  Each block leaves its chunk's winner in
// `scratch`, and the last block of the grid to finish (one counter, taken
// with an atomic after a fence) reduces every row's partials, a warp per
// row.  It puts the counter back to 0, so a graph can replay the kernel:
// the caller zeroes the scratch once, before the first launch.  A grid of
// one block needs no scratch.  The rule (am_common.cuh) is a total order,
// so the result does not depend on the schedule.
//
// The last block also, when given:
//  - hist: writes out[] again at slot (*advance % hist_n) of a ring of
//    [hist_n, rows] picks, so a run of replayed greedy steps leaves every
//    step's picks on the device and the host copies them once per run;
//  - advance: adds one to *advance (the step's stored position).
// A decode step's argmax writes its picks over the step's input ids
// (out), so the next replay of the step's graph decodes them with no
// upload (rt_gpu_decode_greedy_n); it is the step's last kernel, after
// every reader of ids and position.
//
// scratch (rows = grid.y, nparts = rows * AM_NCH): long long idx[nparts],
// float val[nparts], unsigned count: cg_op_argmax_scratch().
// #defines: OPS_D (the row width, the vocabulary), AM_THREADS (per block),
// AM_CHUNK; x as OPS_IN_BF16.
#define AM_NCH ((OPS_D + AM_CHUNK - 1) / AM_CHUNK)
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
  if (lane == 0) sv[w] = bv, si[w] = bi;
  __syncthreads();
  if (w == 0) {
    bv = lane < AM_THREADS / 32 ? sv[lane] : AM_NAN;
    bi = lane < AM_THREADS / 32 ? si[lane] : OPS_D;
    am_warp(bv, bi);
  }
}

extern "C" __global__ void __launch_bounds__(AM_THREADS)
OPS_KERNEL(const ops_in *__restrict__ x, long long *__restrict__ out, void *scratch,
           long long *advance, long long *hist, long long hist_n) {
  __shared__ float sv[AM_THREADS / 32];
  __shared__ long long si[AM_THREADS / 32];
  __shared__ bool last;
  const long long row = blockIdx.y, rows = gridDim.y, nparts = rows * AM_NCH;
  const ops_in *xr = x + row * OPS_D;
  const long long stop = (blockIdx.x + 1LL) * AM_CHUNK, end = stop < OPS_D ? stop : OPS_D;
  float bv = AM_NAN; // NaN past the end: loses to anything
  long long bi = OPS_D;
  for (long long i = blockIdx.x * (long long)AM_CHUNK + threadIdx.x; i < end; i += AM_THREADS) {
    const float v = ld_in(xr, i);
    if (am_beats(v, i, bv, bi)) bv = v, bi = i;
  }
  am_block(bv, bi, sv, si);
  if (nparts == 1) { // one block: no partials (and no scratch)
    if (threadIdx.x == 0) {
      const long long p = advance ? *advance : 0;
      am_put(out, hist, hist_n, p, 1, 0, bi);
      if (advance) *advance = p + 1;
    }
    return;
  }
  volatile long long *pi = (volatile long long *)scratch;
  volatile float *pv = (volatile float *)(pi + nparts);
  unsigned *count = (unsigned *)(pv + nparts);
  if (threadIdx.x == 0) {
    pi[row * AM_NCH + blockIdx.x] = bi, pv[row * AM_NCH + blockIdx.x] = bv;
    __threadfence(); // the partial is visible before the count says so
    last = atomicAdd(count, 1u) == nparts - 1;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  const long long p = advance ? *(volatile long long *)advance : 0;
  const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (long long r = w; r < rows; r += AM_THREADS / 32) {
    bv = AM_NAN, bi = OPS_D;
    for (long long c = lane; c < AM_NCH; c += 32) {
      const float v = pv[r * AM_NCH + c];
      const long long i = pi[r * AM_NCH + c];
      if (am_beats(v, i, bv, bi)) bv = v, bi = i;
    }
    am_warp(bv, bi);
    if (lane == 0) am_put(out, hist, hist_n, p, rows, r, bi);
  }
  __syncthreads(); // every row has read p
  if (threadIdx.x == 0) {
    if (advance) *advance = p + 1;
    *count = 0;
  }
}
