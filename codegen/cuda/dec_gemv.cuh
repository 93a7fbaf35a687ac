// dec_gemv.cuh: y[M, N] (+)= x[M, K] . W[N, K]^T (+ bias), M = 1..16, the
// decode-time GEMM: it is bound by streaming W (bf16, row-major [N, K]) from
// device memory once, so the design is about bytes in flight, not FLOPs.
//
// A block owns DEC_ROWS = 16 rows of W; its DEC_WARPS warps split K into
// 32-wide slabs (warp w takes slabs w, w + DEC_WARPS, ...).  Per slab each
// lane loads 16 bytes (8 consecutive k) of row g = lane / 4 and of row g + 8,
// at k offset 8 (lane % 4): a warp reads 16 rows x 64 bytes per slab.  Those
// registers ARE the A fragments of two m16n8k16 bf16 mma's: the fragment's
// logical k index is a permutation of the physical one (lane % 4 = tq owns
// logical k {2tq, 2tq+1, 2tq+8, 2tq+9}; we let those be physical k 8tq + 4s +
// {0, 1, 2, 3} for mma s = 0, 1).  A dot product is invariant under a common
// permutation of k, so x's B fragment is simply the 16 bytes of x row
// m = lane / 4 at the same k: no shuffles, no shared memory on the way in.
// Batch rows are the mma's n: one n-tile of 8 for M <= 8, two for M <= 16.
// DEC_UNROLL slabs are loaded before any is used (8 x 16 bytes per lane in
// flight for 4), then the warps' partial sums meet in shared memory.
//
// The RMSNorm in front of the projection, three ways (DEC_NORM):
//  1  x' = x * wn, and 2 (mamba_ssm's gated RMSNorm, one group,
//     norm_before_gate = False) x' = x * silu(z) * wn: every block reads all
//     of x anyway, so it also sums the squares (of x * silu(z)) per batch row
//     and scales its dot products by rsqrt(mean + eps) at the end.  Costs
//     registers in the main loop (bench/NOTES.md: 76-112 vs 32-40).
//  3  prescaled: x already is bf16(x0 * wn), written by the kernel before
//     (a GEMV's DEC_EMIT epilogue, or the mixer's), which also left the sums
//     of x0^2 as DEC_NPARTS partials per row (ss_in, rows DEC_NPARTS_LD
//     apart).  The loop is the plain one; the partials are copied to shared
//     memory (cp.async) while it runs and summed in a fixed order at the end.
// x' is rounded to bf16 for the mma before the scale (one scalar per row,
// applied in fp32).
//
// DEC_EMIT: the epilogue also produces the next norm's input from the final
// y (after bias and accumulate; the residual stream): x_out[m, n] =
// bf16(y[m, n] * w_out[n]) (rows DEC_N apart), and this block's sum of
// y[m, n]^2 over its rows n as ss_out[m * DEC_EMIT_LD + blockIdx.x].  Fixed
// summation orders everywhere: a step replays bit for bit.
//
// DEC_ARGMAX (the LM head of a greedy decode step): the epilogue also picks
// each batch row's argmax of y, by ops_argmax.cuh's rule (am_common.cuh),
// from exactly the fp32 values it stores (gv_argmax): the picks go over
// am_out and into the ring am_hist, and *am_advance moves on by one.
//
// Programmatic dependent launch (ssd_common.cuh): each warp issues its first
// slabs' W loads, then waits for the previous kernel, then reads x.  The
// epilogue's operands are fetched early too (gv_epi): its weights (bias,
// w_out) before the wait, the residual it adds to (DEC_ACCUM) right after,
// so that no memory round trip is left between the final reduction and the
// stores (small weights like these have left L2 since the last step).
//
// DEC_TRACE: the launch's timing record (dec_common.cuh).
//
// #defines: DEC_M, DEC_N, DEC_K (K % 32 == 0), DEC_X_F32 (x and z fp32,
// rounded to bf16 on load), DEC_NORM, DEC_EPS, DEC_NPARTS, DEC_NPARTS_LD,
// DEC_EMIT, DEC_EMIT_LD, DEC_ARGMAX, DEC_HAS_BIAS (fp32 [N]), DEC_ACCUM (y += ...),
// DEC_Y_BF16, DEC_ROWS (16), DEC_WARPS, DEC_UNROLL.  Grid: ceil(N / 16)
// blocks of DEC_WARPS warps.  Strides ldx, ldy in elements; x rows and W
// 16-byte aligned.
#define GV_NT ((DEC_M + 7) / 8)
#define GV_SLABS (DEC_K / 32)
#define GV_U DEC_UNROLL
#define GV_MP (GV_NT * 8 + 1) // padded batch columns of the reduction buffer
#define GV_FUSED (DEC_NORM == 1 || DEC_NORM == 2)
#define GV_PRE (DEC_NORM == 3)

#if DEC_X_F32
typedef float gv_x;
__device__ __forceinline__ void gv_ld8(const float *p, float f[8]) {
  const float4 a = *(const float4 *)p, b = *(const float4 *)(p + 4);
  f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
}
#else
typedef ssd_bf16 gv_x;
__device__ __forceinline__ void gv_ld8(const ssd_bf16 *p, float f[8]) {
  const uint4 v = ld_keep16(p);
  f[0] = bf2_lo(v.x), f[1] = bf2_hi(v.x), f[2] = bf2_lo(v.y), f[3] = bf2_hi(v.y);
  f[4] = bf2_lo(v.z), f[5] = bf2_hi(v.z), f[6] = bf2_lo(v.w), f[7] = bf2_hi(v.w);
}
#endif
__device__ __forceinline__ uint4 gv_pack8(const float f[8]) {
  return make_uint4(pack_bf2(f[0], f[1]), pack_bf2(f[2], f[3]), pack_bf2(f[4], f[5]),
                    pack_bf2(f[6], f[7]));
}

// x row m's 8 values at k as a bf16 B fragment (normed: times silu(z) and wn,
// with their squares before wn added to *ss).
__device__ __forceinline__ uint4 gv_ldx(const gv_x *x, long long ldx, const gv_x *z,
                                        long long ldz, const float *wn, int m, int k,
                                        float *ss) {
#if !GV_FUSED && !DEC_X_F32
  (void)z, (void)ldz, (void)wn, (void)ss;
  return ld_keep16(x + m * ldx + k);
#else
  float f[8];
  gv_ld8(x + m * ldx + k, f);
#if DEC_NORM == 2
  float zf[8];
  gv_ld8(z + m * ldz + k, zf);
#pragma unroll
  for (int j = 0; j < 8; j++) f[j] *= ssd_silu_exact(zf[j]);
#else
  (void)z, (void)ldz;
#endif
#if GV_FUSED
  const float4 wa = *(const float4 *)(wn + k), wb = *(const float4 *)(wn + k + 4);
  const float w[8] = {wa.x, wa.y, wa.z, wa.w, wb.x, wb.y, wb.z, wb.w};
#pragma unroll
  for (int j = 0; j < 8; j++) {
    *ss += f[j] * f[j];
    f[j] *= w[j];
  }
#else
  (void)wn, (void)ss;
#endif
  return gv_pack8(f);
#endif
}

// The epilogue's elements of a thread: i = threadIdx.x + e * threads for
// e < GV_E, row r = i % DEC_ROWS, batch row m = i / DEC_ROWS.
#define GV_E ((DEC_ROWS * DEC_M + DEC_WARPS * 32 - 1) / (DEC_WARPS * 32))
struct gv_epi {
  float w_out[GV_E], bias[GV_E], res[GV_E];
};
__device__ __forceinline__ bool gv_elem(int e, long long row0, int *r, int *m, long long *n) {
  const int i = threadIdx.x + e * DEC_WARPS * 32;
  *r = i % DEC_ROWS, *m = i / DEC_ROWS, *n = row0 + *r;
  return i < DEC_ROWS * DEC_M && *n < DEC_N;
}
// Before the wait: the weights (read-only).
__device__ __forceinline__ void gv_epi_weights(gv_epi *ep, long long row0, const float *bias,
                                               const float *w_out) {
#pragma unroll
  for (int e = 0; e < GV_E; e++) {
    int r, m;
    long long n;
    const bool ok = gv_elem(e, row0, &r, &m, &n);
    ep->bias[e] = DEC_HAS_BIAS && ok ? bias[n] : 0.f;
    ep->w_out[e] = DEC_EMIT && ok ? w_out[n] : 0.f;
    ep->res[e] = 0.f;
  }
  (void)bias, (void)w_out;
}
// After the wait: the residual the result is added to (the previous
// kernels' output), when each warp makes at most two passes over its slabs
// (130m's out_proj: K = 1536, 16 warps, unroll 2).  A longer loop reads it
// in the epilogue instead: holding it across three passes costs registers
// (2.7b's out_proj, K = 5120: 60 -> 84, one block per SM instead of two,
// so two waves; ptxas -v for sm_90, bench/NOTES.md session 8).
#define GV_RES_EARLY (DEC_ACCUM && GV_SLABS <= 2 * DEC_WARPS * GV_U)
__device__ __forceinline__ void gv_epi_res(gv_epi *ep, long long row0, const dec_y *y,
                                           long long ldy) {
#if GV_RES_EARLY
#pragma unroll
  for (int e = 0; e < GV_E; e++) {
    int r, m;
    long long n;
    if (gv_elem(e, row0, &r, &m, &n)) ep->res[e] = ld_y(y, m * ldy + n);
  }
#else
  (void)ep, (void)row0, (void)y, (void)ldy;
#endif
}

#if GV_PRE
#define GV_SSN (DEC_M * DEC_NPARTS_LD)
#else
#define GV_SSN 1
#endif

// The partial sums of squares of the prescaled rows, copied by warp 0 to
// shared memory in 16-byte pieces (DEC_NPARTS_LD % 4 == 0) right after the
// wait, so that their latency overlaps x's and the loop's.
__device__ __forceinline__ void gv_fetch_parts(float *dst, const float *ss_in, int lane) {
#if GV_PRE
  for (int i = lane * 4; i < GV_SSN; i += 32 * 4) cp_async16(dst + i, ss_in + i, 16);
  cp_async_commit();
#else
  (void)dst, (void)ss_in, (void)lane;
#endif
}

#if DEC_ARGMAX
#define GV_NB ((DEC_N + DEC_ROWS - 1) / DEC_ROWS) // blocks
#define GV_T (DEC_WARPS * 32)                      // threads per block
__device__ __forceinline__ unsigned long long gv_max(unsigned long long a, unsigned long long b) {
  return a > b ? a : b;
}
// The argmax epilogue.  Each block's best of its 16 rows, per batch row, goes
// to its own slot as an am_key (am_common.cuh), which is never 0: a filled
// slot says by itself that its block is done, so blocks need no fence and
// no counter, and leave at once.  The grid's last block by index (dispatched
// last) reads every slot, waiting on any still 0, sixteen loads in flight per
// thread; it picks, and puts the slots back to 0 for the next launch.  sv:
// 32 words of the kernel's shared memory (not a static here: the emulated
// device's kernels must stay unloadable, which statics of an inline function
// prevent).
__device__ __forceinline__ void gv_argmax(float (*amv)[DEC_ROWS], long long row0, long long *out,
                                          unsigned long long *slots, long long *advance,
                                          long long *hist, long long hist_n,
                                          unsigned long long *sv) {
  if (threadIdx.x < DEC_M) {
    const int m = threadIdx.x;
    unsigned long long k = 0;
    for (int r = 0; r < DEC_ROWS; r++) // rows past N are NaN: the lowest keys
      k = gv_max(k, am_key(amv[m][r], row0 + r));
    slots[m * GV_NB + blockIdx.x] = k;
  }
  if (blockIdx.x != GV_NB - 1) return;
  volatile unsigned long long *vs = slots;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const long long p = advance ? *advance : 0;
  for (int m = 0; m < DEC_M; m++) {
    unsigned long long best = 0;
    for (long long b0 = threadIdx.x; b0 < GV_NB; b0 += GV_T * 16LL) {
      unsigned long long v[16];
#pragma unroll
      for (int j = 0; j < 16; j++) {
        const long long b = b0 + j * (long long)GV_T;
        v[j] = b < GV_NB ? vs[m * GV_NB + b] : 0ull;
      }
#pragma unroll
      for (int j = 0; j < 16; j++) {
        const long long b = b0 + j * (long long)GV_T;
        if (b >= GV_NB) continue;
        while (v[j] == 0ull) {
          __nanosleep(32);
          v[j] = vs[m * GV_NB + b];
        }
        best = gv_max(best, v[j]);
        vs[m * GV_NB + b] = 0ull;
      }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) best = gv_max(best, __shfl_xor_sync(0xffffffffu, best, o));
    __syncthreads(); // the last row's sv is read
    if (lane == 0) sv[warp] = best;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 0; w < DEC_WARPS; w++) best = gv_max(best, sv[w]);
      am_put(out, hist, hist_n, p, DEC_M, m, am_key_index(best));
    }
  }
  if (threadIdx.x == 0 && advance) *advance = p + 1;
}
#endif

extern "C" __global__ void __launch_bounds__(DEC_WARPS * 32)
DEC_KERNEL(const gv_x *__restrict__ x, long long ldx, const gv_x *__restrict__ z, long long ldz,
           const float *__restrict__ wn, const ssd_bf16 *__restrict__ W,
           const float *__restrict__ bias, dec_y *__restrict__ y, long long ldy,
           const float *__restrict__ ss_in, const float *__restrict__ w_out,
           ssd_bf16 *__restrict__ x_out, float *__restrict__ ss_out, long long *am_out,
           void *am_scratch, long long *am_advance, long long *am_hist, long long am_hist_n,
           unsigned long long *__restrict__ trace) {
  __shared__ float red[DEC_WARPS][DEC_ROWS][GV_MP];
  __shared__ float ssred[DEC_WARPS][GV_NT * 8];
  __shared__ __align__(16) float parts[GV_SSN];
  __shared__ float scale[GV_NT * 8]; // GV_PRE: rsqrt(mean + eps) per batch row
#if DEC_EMIT
  __shared__ float sq[GV_NT * 8][DEC_ROWS];
#endif
#if DEC_ARGMAX
  __shared__ float amv[DEC_M][DEC_ROWS];
  __shared__ unsigned long long am_sv[32];
#endif
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const long long row0 = (long long)blockIdx.x * DEC_ROWS;
  const bool v0 = row0 + g < DEC_N, v1 = row0 + g + 8 < DEC_N;
  const ssd_bf16 *w0 = W + (v0 ? row0 + g : 0) * DEC_K + tq * 8;
  const ssd_bf16 *w1 = W + (v1 ? row0 + g + 8 : 0) * DEC_K + tq * 8;
  const uint4 zero = make_uint4(0u, 0u, 0u, 0u);
  float acc[GV_NT][4], ss[GV_NT];
#pragma unroll
  for (int t = 0; t < GV_NT; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = ss[t] = 0.f;
  dec_tr tr;
  dec_tr_start(&tr);
  pdl_trigger();
  gv_epi ep;
  gv_epi_weights(&ep, row0, bias, w_out);

#pragma unroll 1
  for (int s0 = warp; s0 < GV_SLABS; s0 += DEC_WARPS * GV_U) {
    uint4 a0[GV_U], a1[GV_U], bx[GV_U][GV_NT];
#pragma unroll
    for (int u = 0; u < GV_U; u++) {
      // Addresses stay in bounds even where the value is discarded: the
      // loads are plain asm, which the compiler may speculate.
      const int s = s0 + u * DEC_WARPS;
      const bool in = s < GV_SLABS;
      const int sc = in ? s : GV_SLABS - 1;
      a0[u] = in && v0 ? ld_stream16(w0 + sc * 32) : zero;
      a1[u] = in && v1 ? ld_stream16(w1 + sc * 32) : zero;
    }
    if (s0 == warp) { // W is read-only; x and the partials are the previous kernel's
      pdl_wait();
      dec_tr_wait(&tr);
      if (warp == 0) gv_fetch_parts(parts, ss_in, lane);
      gv_epi_res(&ep, row0, y, ldy);
    }
#pragma unroll
    for (int u = 0; u < GV_U; u++) {
      const int s = s0 + u * DEC_WARPS;
      const bool in = s < GV_SLABS;
      const int sc = in ? s : GV_SLABS - 1;
#pragma unroll
      for (int t = 0; t < GV_NT; t++) {
        const int m = t * 8 + g;
        bx[u][t] = in && m < DEC_M ? gv_ldx(x, ldx, z, ldz, wn, m, sc * 32 + tq * 8, &ss[t])
                                   : zero;
      }
    }
#pragma unroll
    for (int u = 0; u < GV_U; u++) {
      const u32 A0[4] = {a0[u].x, a1[u].x, a0[u].y, a1[u].y};
      const u32 A1[4] = {a0[u].z, a1[u].z, a0[u].w, a1[u].w};
#pragma unroll
      for (int t = 0; t < GV_NT; t++) {
        const u32 B0[2] = {bx[u][t].x, bx[u][t].y}, B1[2] = {bx[u][t].z, bx[u][t].w};
        mma_bf16(acc[t], A0, B0);
        mma_bf16(acc[t], A1, B1);
      }
    }
  }
  if (warp >= GV_SLABS) { // warps without a slab
    pdl_wait();
    dec_tr_wait(&tr);
    gv_epi_res(&ep, row0, y, ldy);
  }
  // acc[t] = D[row g | g + 8][batch 8t + 2tq + {0, 1}]; ss[t]: batch 8t + g,
  // this lane's k only, so first summed over the group's four lanes.
#pragma unroll
  for (int t = 0; t < GV_NT; t++) {
    const int m = t * 8 + 2 * tq;
    red[warp][g][m] = acc[t][0];
    red[warp][g][m + 1] = acc[t][1];
    red[warp][g + 8][m] = acc[t][2];
    red[warp][g + 8][m + 1] = acc[t][3];
#if GV_FUSED
    float v = ss[t];
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    v += __shfl_xor_sync(0xffffffffu, v, 2);
    if (tq == 0) ssred[warp][t * 8 + g] = v;
#endif
  }
#if GV_PRE
  // Warp 0 fetched the partials; it forms every row's scale (fixed order)
  // before the one barrier.
  if (warp == 0) {
    cp_async_wait_all();
    __syncwarp();
    for (int m = 0; m < DEC_M; m++) {
      float v = 0.f;
      for (int i = lane; i < DEC_NPARTS; i += 32) v += parts[m * DEC_NPARTS_LD + i];
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      if (lane == 0) scale[m] = rsqrtf(v / (float)DEC_K + (float)DEC_EPS);
    }
  }
#endif
  __syncthreads();
#pragma unroll
  for (int e = 0; e < GV_E; e++) {
    int r, m;
    long long n;
    gv_elem(e, row0, &r, &m, &n);
    if (m >= DEC_M) break;
    float q = 0.f, yv = 0.f; // y^2 for DEC_EMIT, y for DEC_ARGMAX
    if (n < DEC_N) {
      float v = 0.f;
#pragma unroll
      for (int w = 0; w < DEC_WARPS; w++) v += red[w][r][m];
#if GV_FUSED
      float ss2 = 0.f;
#pragma unroll
      for (int w = 0; w < DEC_WARPS; w++) ss2 += ssred[w][m];
      v *= rsqrtf(ss2 / (float)DEC_K + (float)DEC_EPS);
#elif GV_PRE
      v *= scale[m];
#endif
#if DEC_HAS_BIAS
      v += ep.bias[e];
#endif
      const long long o = m * ldy + n;
#if GV_RES_EARLY
      v += ep.res[e];
#elif DEC_ACCUM
      v += ld_y(y, o);
#endif
      st_y(y, o, v);
      yv = v;
#if DEC_EMIT
      x_out[m * DEC_N + n] = f2bf(v * ep.w_out[e]);
      q = v * v;
#endif
    }
#if DEC_ARGMAX
    amv[m][r] = n < DEC_N ? yv : AM_NAN;
#else
    (void)yv;
#endif
#if DEC_EMIT
    sq[m][r] = q;
#else
    (void)q;
#endif
  }
#if DEC_EMIT
  __syncthreads();
  if (threadIdx.x < DEC_M) {
    float v = 0.f;
#pragma unroll
    for (int r = 0; r < DEC_ROWS; r++) v += sq[threadIdx.x][r];
    ss_out[threadIdx.x * DEC_EMIT_LD + blockIdx.x] = v;
  }
#else
  (void)w_out, (void)x_out, (void)ss_out;
#endif
#if DEC_ARGMAX
  __syncthreads();
  gv_argmax(amv, row0, am_out, (unsigned long long *)am_scratch, am_advance, am_hist, am_hist_n,
            am_sv);
#else
  (void)am_out, (void)am_scratch, (void)am_advance, (void)am_hist, (void)am_hist_n;
#endif
  dec_tr_end(&tr, trace);
}
