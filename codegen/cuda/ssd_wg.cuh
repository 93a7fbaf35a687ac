// ssd_wg.cuh: the chunked SSD forward on sm_90a's warpgroup MMA (wgmma).
//
// The same algorithm, grid, segments and look-back as ssd_chunked.cuh (read
// its opening comment first; ssd_seg.cuh holds what the two share), for the
// common shape PS = 64 channels per block and N = 64 or 128.  What changes is
// how a chunk is multiplied.  The block's four warps are one warpgroup, and
// each product of a chunk is a few wgmma instructions instead of hundreds of
// mma.sync and ldmatrix: per chunk of Q = 64 tokens,
//   CB  = C B^T           8 x m64n64k16   A, B from shared memory
//   Y   = C S^T           8 x m64n64k16   (S: the entering state, bf16 in smem)
//   Y  += (L o CB) X      4 x m64n64k16   A from registers: CB masked, scaled
//   S  <- decay S + (X diag(w))^T B       4 x m64nNk16, A (x^T w) from registers
// Warp w owns rows 16w..16w+15 of every product, so the masked C B^T goes
// from accumulators to the next product's A fragments without leaving the
// warp: no C B^T tile in shared memory and no barrier for it.  The state
// [64 x N] sits in the accumulators of the state update (warp w: channels
// 16w..16w+15).  The products are asynchronous: the epilogue of Y (D skip,
// gate, stores) runs while the state update's wgmma is in flight, and warp 0
// scans the next chunk's dt under the first group.
//
// Status (session 14, bench/NOTES.md): correct on the H100 and the emulated
// device, but slower than ssd_chunked.cuh (8x8K 2.51 vs 1.79 ms standalone):
// with two blocks per SM its chunk loop is issue-bound on the 16-byte
// cp.async copies (a quarter of thread 0's cycles), warp 0's dt scan and the
// mask, which the mma.sync kernel spreads over 12 warps per SM.  So it runs
// only when asked for ($SSDC_SSD_WG=1, runtime/rt_cuda_ssd.c); TMA copies and
// a producer warp are the next step.
//
// x, B, C tiles are double-buffered (the next chunk's copy starts when the
// chunk starts), in wg_mma.cuh's core-matrix layout: 2 x 40 KB + the bf16
// state 16 KB = ~97 KB at N = 128, two blocks per SM, registers for two as
// well (__launch_bounds__(128, 2)).  Barriers per chunk: one when its tiles
// have landed, one before the new state overwrites the bf16 copy C S^T read.
#if SSD_PS != 64 || (SSD_N != 64 && SSD_N != 128) || NWARPS != 4
#error "the wgmma SSD kernel needs PS = 64 and N = 64 or 128 (cg_ssd_wg_fits)"
#endif
#if SSD_LD_X % 8 || SSD_LD_B % 8 || SSD_LD_C % 8
#error "x, B, C row strides must keep 16-byte alignment"
#endif
#define NJ (SSD_N / 8) /* n8 column groups of the state (its accumulator tiles) */
#define TROW (Q * 16)  /* bytes per 8-column group of a Q-row tile */
// bench/ssd_phase_prof.cu defines SSD_PHASE_PROF to time the chunk loop's
// steps (thread 0's clock, summed per step over the launch); otherwise nothing.
#if SSD_PHASE_PROF
__device__ unsigned long long ssd_prof[16];
#define WG_PROF_INIT unsigned long long prof_t = clock64(), prof_acc[12] = {}
#define WG_PROF(i) \
  do { const unsigned long long n_ = clock64(); prof_acc[i] += n_ - prof_t; prof_t = n_; } while (0)
#define WG_PROF_END \
  if (threadIdx.x == 0) for (int i_ = 0; i_ < 12; i_++) atomicAdd(&ssd_prof[i_], prof_acc[i_])
#else
#define WG_PROF_INIT
#define WG_PROF(i)
#define WG_PROF_END
#endif

struct wg_smem {
  ssd_bf16 x[2][Q * SSD_PS];
  ssd_bf16 b[2][Q * SSD_N];
  ssd_bf16 c[2][Q * SSD_N];
  ssd_bf16 s[SSD_PS * SSD_N]; /* the state entering the chunk, bf16, rows p */
  ssd_scan sc[2];
  float seglog;
  unsigned ticket;
};

// Copy Q token rows of C columns (16-byte pieces) into a Q-row tile: lanes
// 8i..8i+7 take 8 consecutive rows of one 8-column group, so each 8 lanes
// fill one 128-byte core matrix (no bank conflicts) and a row's pieces are
// read by neighbouring lane octets (whole sectors).  A thread keeps its
// column group and steps down the rows by pointer; rows past the end are
// zero-filled.
template <int C, long long STRIDE>
__device__ __forceinline__ void wg_copy(ssd_bf16 *dst, const ssd_bf16 *base, long long t0, long long L) {
  constexpr int NT = NWARPS * 32, G8 = C / 8, RS = 8 * (NT / 8 / G8); /* rows per step */
  static_assert((NT / 8) % G8 == 0 && Q % RS == 0, "tile pieces must divide over the block");
  const int cg = (threadIdx.x >> 3) % G8, r0 = (threadIdx.x & 7) + 8 * ((threadIdx.x >> 3) / G8);
  const ssd_bf16 *p = base + (t0 + r0) * STRIDE + cg * 8;
  char *d = (char *)dst + cg * TROW + r0 * 16;
#pragma unroll
  for (int k = 0; k < Q / RS; k++) {
    const bool ok = t0 + r0 + k * RS < L;
    cp_async16(d + k * RS * 16, ok ? p : base, ok ? 16 : 0);
    p += RS * STRIDE;
  }
}

__device__ __forceinline__ void wg_load(wg_smem &sm, int st, const ssd_where &wh, const ssd_bf16 *x,
                                        const ssd_bf16 *B, const ssd_bf16 *C, long long L, long long t0) {
  wg_copy<SSD_PS, (long long)SSD_LD_X>(sm.x[st], x + wh.xo, t0, L);
  wg_copy<SSD_N, (long long)SSD_LD_B>(sm.b[st], B + wh.bo, t0, L);
  if (C) wg_copy<SSD_N, (long long)SSD_LD_C>(sm.c[st], C + wh.co, t0, L);
  cp_async_commit();
}

// Descriptors: K-major (K = the tile's columns) at k-step kk, R-row tile; and
// MN-major (K = the tile's rows, Q of them) at k-step kk.
template <int R>
__device__ __forceinline__ wg_desc wg_kmajor(const ssd_bf16 *t, int kk) {
  return wg_make_desc((const char *)t + kk * 2 * R * 16, R * 16, 128);
}
__device__ __forceinline__ wg_desc wg_mnmajor(const ssd_bf16 *t, int kk) {
  return wg_make_desc((const char *)t + kk * 16 * 16, 128, TROW);
}

// Wait for this thread's copies, publish them and the block's shared stores
// to the async proxy, then wait for every thread.
__device__ __forceinline__ void wg_ready() {
  cp_async_wait_all();
  wg_fence_proxy();
  __syncthreads();
}

// S <- decay S + (x diag(w))^T B: A fragments of x^T (channels of this warp,
// k = tokens) by ldmatrix.trans from the x tile, scaled by w in registers.
__device__ __forceinline__ void wg_state_update(const wg_smem &sm, int st, float (&S)[NJ][4]) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const ssd_scan &sc = sm.sc[st];
  const float dec = sc.decay;
  u32 a[Q / 16][4];
#pragma unroll
  for (int kk = 0; kk < Q / 16; kk++) {
    /* matrices: (ch 0-7, k 0-7), (ch 8-15, k 0-7), (ch 0-7, k 8-15), (ch 8-15, k 8-15)
     * of x^T, i.e. x rows k, columns ch: lane l names x row kk*16 + (l & 7) + (l >> 4) * 8
     * in column group 2 warp + ((l >> 3) & 1) */
    const int r = kk * 16 + (lane & 7) + (lane >> 4) * 8, cgp = 2 * warp + ((lane >> 3) & 1);
    ldsm_x4_t(a[kk], (const char *)sm.x[st] + cgp * TROW + r * 16);
    ssd_scale_xt(a[kk], sc, kk);
  }
#pragma unroll
  for (int j = 0; j < NJ; j++) {
    S[j][0] *= dec; S[j][1] *= dec; S[j][2] *= dec; S[j][3] *= dec;
  }
  wg_fence_acc(S);
  wg_fence();
#pragma unroll
  for (int kk = 0; kk < Q / 16; kk++) {
#if SSD_N == 128
    wg_mma_rs_n128<1>(&S[0][0], a[kk], wg_mnmajor(sm.b[st], kk), 1);
#else
    wg_mma_rs_n64<1>(&S[0][0], a[kk], wg_mnmajor(sm.b[st], kk), 1);
#endif
  }
  wg_commit();
}

// The masked, decayed C B^T of this warp's rows as bf16 A fragments:
// M[t][s] = CB[t][s] exp(cs_t - cs_s) dt_s for s <= t, else 0.  Columns past
// the warp's last row are zero without looking.
__device__ __forceinline__ void wg_mask(const float (*CB)[4], const ssd_scan &sc, u32 (*a)[4]) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  const int t_lo = 16 * warp + g, t_hi = t_lo + 8;
  const float c_lo = sc.cs[t_lo], c_hi = sc.cs[t_hi];
#pragma unroll
  for (int j = 0; j < Q / 8; j++) {
    const int s = 8 * j + 2 * tg;
    float m[4] = {0.f, 0.f, 0.f, 0.f};
    if (8 * j <= 16 * warp + 15) {
      const float e0 = sc.cs[s], e1 = sc.cs[s + 1], d0 = sc.dtp[s], d1 = sc.dtp[s + 1];
      m[0] = s <= t_lo ? CB[j][0] * __expf(c_lo - e0) * d0 : 0.f;
      m[1] = s + 1 <= t_lo ? CB[j][1] * __expf(c_lo - e1) * d1 : 0.f;
      m[2] = s <= t_hi ? CB[j][2] * __expf(c_hi - e0) * d0 : 0.f;
      m[3] = s + 1 <= t_hi ? CB[j][3] * __expf(c_hi - e1) * d1 : 0.f;
    }
    /* accumulator tile j = columns 8j..: A fragment k-block j/2, registers
     * 0/1 (k 0-7 of the block) for even j, 2/3 (k 8-15) for odd */
    a[j >> 1][(j & 1) * 2] = pack_bf2(m[0], m[1]);
    a[j >> 1][(j & 1) * 2 + 1] = pack_bf2(m[2], m[3]);
  }
}

// Offset of element e of state tile j (this thread's accumulators) in a [P, N] head state.
__device__ __forceinline__ long long wg_state_off(int p0, int j, int e) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  return (long long)(p0 + 16 * warp + g + (e >> 1) * 8) * SSD_N + 8 * j + 2 * tg + (e & 1);
}

// The state as the bf16 B operand of the next chunk's C S^T (rows p, K-major).
__device__ __forceinline__ void wg_store_state(wg_smem &sm, const float (*S)[4]) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  const int p = 16 * warp + g;
#pragma unroll
  for (int j = 0; j < NJ; j++) {
    const int n = 8 * j + 2 * tg;
    *(u32 *)((char *)sm.s + wg_off<SSD_PS>(p, n)) = pack_bf2(S[j][0], S[j][1]);
    *(u32 *)((char *)sm.s + wg_off<SSD_PS>(p + 8, n)) = pack_bf2(S[j][2], S[j][3]);
  }
}

// Warp 0, while the block multiplies: scan chunk ch's dt into sc (phase 1:
// summing seglog; phase 3 passes null), and load the raw dt of the chunk
// after it.
__device__ __forceinline__ void wg_scan(wg_smem &sm, int st, const ssd_where &wh, long long ch,
                                        ssd_dt_in dtraw[2], const ssd_dt_in *dt, const float *dt_bias,
                                        float A, long long L, float *seglog) {
  ssd_scan_chunk(sm.sc[st], seglog, dtraw, ch * Q, L, wh.hdt, dt_bias, A);
  if (ch + 1 < wh.c1) ssd_load_dt(dtraw, dt, L, (ch + 1) * Q, wh.b, wh.hdt);
}

extern "C" __global__ void __launch_bounds__(NWARPS * 32, 2)
SSD_KERNEL(SSD_CHUNKED_PARAMS) {
  SSD_DYN_SMEM(smem_raw);
  wg_smem &sm = *reinterpret_cast<wg_smem *>(smem_raw);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  ssd_take_ticket(sm.ticket, sm.seglog, ws_sync);
  const ssd_where wh = ssd_where_at(sm.ticket, (unsigned)batch * SSD_H * PSL, L, seg_chunks);
  const float A = ssd_A(A_, wh.hdt);
  float S[NJ][4];
  ssd_dt_in dtraw[2] = {0, 0};

  // ---- phase 1: this segment's own contribution to the state ----------------------------
  if (wh.seg < nseg - 1) {
#pragma unroll
    for (int j = 0; j < NJ; j++) S[j][0] = S[j][1] = S[j][2] = S[j][3] = 0.f;
    wg_load(sm, 0, wh, x, B, nullptr, L, wh.c0 * Q);
    if (warp == 0) {
      ssd_load_dt(dtraw, dt, L, wh.c0 * Q, wh.b, wh.hdt);
      wg_scan(sm, 0, wh, wh.c0, dtraw, dt, dt_bias, A, L, &sm.seglog);
    }
    for (long long ch = wh.c0; ch < wh.c1; ch++) {
      const int st = (int)((ch - wh.c0) & 1);
      const bool more = ch + 1 < wh.c1;
      wg_ready(); /* tiles and scan of ch; every thread is done with ch - 1 */
      if (more) wg_load(sm, st ^ 1, wh, x, B, nullptr, L, (ch + 1) * Q);
      wg_state_update(sm, st, S);
      if (warp == 0 && more) wg_scan(sm, st ^ 1, wh, ch + 1, dtraw, dt, dt_bias, A, L, &sm.seglog);
      wg_wait<0>();
      wg_fence_acc(S);
    }
    __syncthreads(); /* seglog */
  }

  // ---- the state entering the segment, and publishing the one leaving it -------------
  const auto off = [&](int j, int e) { return wg_state_off(wh.p0, j, e); };
  // phase 3's first tiles are in flight while the link waits (phase 1 ended
  // with a barrier: nothing reads the tiles any more)
  wg_load(sm, 0, wh, x, B, C, L, wh.c0 * Q);
  ssd_link(S, wh, nseg, batch, sm.seglog, init, ws_sync, ws_state, epoch, off);

  // ---- phase 3: outputs ----------------------------------------------------------------
  if (warp == 0) {
    ssd_load_dt(dtraw, dt, L, wh.c0 * Q, wh.b, wh.hdt);
    wg_scan(sm, 0, wh, wh.c0, dtraw, dt, dt_bias, A, L, nullptr);
  }
  wg_store_state(sm, S);
  WG_PROF_INIT;
  for (long long ch = wh.c0; ch < wh.c1; ch++) {
    const int st = (int)((ch - wh.c0) & 1);
    const bool more = ch + 1 < wh.c1;
    const long long t0 = ch * Q;
    wg_ready(); /* tiles, scan and bf16 state of ch; every thread is done with ch - 1 */
    WG_PROF(0);
    if (more) wg_load(sm, st ^ 1, wh, x, B, C, L, t0 + Q);
    WG_PROF(1);
    float CB[Q / 8][4], Y[SSD_PS / 8][4];
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < SSD_N / 16; kk++) {
      wg_mma_ss_n64<0>(&CB[0][0], wg_kmajor<Q>(sm.c[st], kk), wg_kmajor<Q>(sm.b[st], kk), kk > 0);
      wg_mma_ss_n64<0>(&Y[0][0], wg_kmajor<Q>(sm.c[st], kk), wg_kmajor<SSD_PS>(sm.s, kk), kk > 0);
    }
    wg_commit();
    WG_PROF(2);
    if (warp == 0 && more) wg_scan(sm, st ^ 1, wh, ch + 1, dtraw, dt, dt_bias, A, L, nullptr);
    WG_PROF(3);
    wg_wait<0>();
    wg_fence_acc(CB);
    wg_fence_acc(Y);
    WG_PROF(4);
    const ssd_scan &sc = sm.sc[st];
    ssd_decay_rows(Y, sc, 16 * warp + g);
    u32 M[Q / 16][4];
    wg_mask(CB, sc, M);
    WG_PROF(5);
    wg_fence_acc(Y);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < Q / 16; kk++) wg_mma_rs_n64<1>(&Y[0][0], M[kk], wg_mnmajor(sm.x[st], kk), 1);
    wg_commit();
    WG_PROF(6);
    wg_state_update(sm, st, S); /* in flight while the outputs are stored */
    WG_PROF(7);
    wg_wait<1>();
    wg_fence_acc(Y);
    WG_PROF(8);
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int t = 16 * warp + g + half * 8;
      const ssd_bf16 *xr = (const ssd_bf16 *)((const char *)sm.x[st] + t * 16 + tg * 4);
      ssd_store_row(Y, half, t, t0, L, wh, D, z, gn_w, gn_ss, y_, xr, TROW / 2);
    }
    WG_PROF(9);
    wg_wait<0>();
    wg_fence_acc(S);
    WG_PROF(10);
    __syncthreads(); /* every warp's C S^T has read sm.s */
    if (more) wg_store_state(sm, S);
    WG_PROF(11);
  }
  WG_PROF_END;

  ssd_finish(S, wh, nseg, batch, final_state, ws_sync, off);
}
