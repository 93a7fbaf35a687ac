// ssd_wg.cuh: the chunked SSD forward on sm_90a's warpgroup MMA (wgmma),
// warp-specialised.
//
// The same algorithm, grid, segments and look-back as ssd_chunked.cuh (read
// its opening comment first; ssd_seg.cuh holds what the two share), for the
// common shape PS = 64 channels per block and N = 64 or 128.  What changes is
// how a chunk is multiplied and who feeds it.  The block's first four warps
// are one warpgroup (the consumers), and each product of a chunk is a few
// wgmma instructions instead of hundreds of mma.sync and ldmatrix: per chunk
// of Q = 64 tokens,
//   CB  = C B^T           8 x m64n64k16   A, B from shared memory
//   Y   = C S^T           8 x m64n64k16   (S: the entering state, bf16 in smem)
//   Y  += (L o CB) X      4 x m64n64k16   A from registers: CB masked, scaled
//   S  <- decay S + (X diag(w))^T B       4 x m64nNk16, A (x^T w) from registers
// Warp w owns rows 16w..16w+15 of every product, so the masked C B^T goes
// from accumulators to the next product's A fragments without leaving the
// warp: no C B^T tile in shared memory and no barrier for it.  The state
// [64 x N] sits in the accumulators of the state update (warp w: channels
// 16w..16w+15).  The products are asynchronous: the epilogue of Y (D skip,
// gate, stores) runs while the state update's wgmma is in flight.
//
// The block's fifth warp is the producer.  Session 14's version had the
// consumers copy their own tiles (16-byte cp.async, a quarter of the loop's
// issue) and warp 0 scan dt (another fifth, which the rest of the warpgroup
// waited for at the next collective wgmma; bench/NOTES.md).  Now the
// producer walks the same chunks (phase 1's, then phase 3's) one stage ahead:
// it waits until the consumers have freed a stage (mbarrier `empty`, 128
// arrivals), copies the chunk's x, B (and in phase 3 C) tiles into it, scans
// its dt into the stage's ssd_scan, waits for its own copies, publishes them
// to the async proxy and arrives on the stage's `full` (32 arrivals: each
// lane releases what it wrote), which the consumers wait on.  The consumers
// synchronize among themselves with a named barrier (ssd_sync_state), never
// with __syncthreads after the ticket.
//
// Status (session 17, bench/NOTES.md): correct, racecheck-clean, but no
// faster than session 14's version and slower than ssd_chunked.cuh (8x8K
// 2.46 vs 1.72 ms): the consumers' chunk is a chain of short dependencies at
// ~2 warps per scheduler, and taking the copies and the scan out of it moved
// where it waits, not its length.  So it runs only when asked for
// ($SSDC_SSD_WG=1, runtime/rt_cuda_ssd.c).
//
// Two stages of x, B, C tiles, in wg_mma.cuh's core-matrix layout: 2 x 40 KB
// + the bf16 state 16 KB = ~98 KB at N = 128, two blocks per SM (10 warps),
// registers for two as well (__launch_bounds__(160, 2)).  Consumer barriers
// per chunk: two, around the bf16 state that C S^T reads.
#if SSD_PS != 64 || (SSD_N != 64 && SSD_N != 128) || NWARPS != 4
#error "the wgmma SSD kernel needs PS = 64 and N = 64 or 128 (cg_ssd_wg_fits)"
#endif
#if SSD_LD_X % 8 || SSD_LD_B % 8 || SSD_LD_C % 8
#error "x, B, C row strides must keep 16-byte alignment"
#endif
#define NJ (SSD_N / 8) /* n8 column groups of the state (its accumulator tiles) */
#define TROW (Q * 16)  /* bytes per 8-column group of a Q-row tile */
#define WG_THREADS ((NWARPS + 1) * 32) /* the consumers, then the producer warp */
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
  u64 full[2], empty[2];      /* per stage: tiles and scan in; consumers done with it */
  float seglog;
  unsigned ticket;
};

// The producer warp's copy of Q token rows of C columns (16-byte pieces)
// into a Q-row tile: lane octet o takes core matrices 4k + o (8 consecutive
// rows of one 8-column group, 128 contiguous bytes of shared memory: no bank
// conflicts), so in one step the four octets read 64 contiguous bytes of each
// of 8 rows.  The column group and row block of a step are compile-time; a
// lane keeps its row and octet.  Rows past the end are zero-filled.
template <int C, long long STRIDE>
__device__ __forceinline__ void wg_copy(ssd_bf16 *dst, const ssd_bf16 *base, long long t0, long long L) {
  constexpr int G8 = C / 8, STEPS = G8 * (Q / 8) / 4;
  static_assert(G8 % 4 == 0, "a step's four core matrices share a row block");
  const int lane = threadIdx.x & 31, o = lane >> 3, r = lane & 7;
  const ssd_bf16 *p = base + (t0 + r) * STRIDE + o * 8;
  char *d = (char *)dst + o * TROW + r * 16;
#pragma unroll
  for (int k = 0; k < STEPS; k++) {
    const int cg = (4 * k) % G8, rb = (4 * k) / G8; /* this step's first group, row block */
    const bool ok = t0 + r + 8 * rb < L;
    cp_async16(d + cg * TROW + rb * 128, ok ? p + 8 * rb * STRIDE + cg * 8 : base, ok ? 16 : 0);
  }
}

// The producer: for each chunk of the block's stream (phase 1's chunks when
// the segment has a successor, then phase 3's), stage i & 1 once its use
// i - 2 is over, its tiles copied and dt scanned (phase 1 sums seglog), then
// `full`.  The consumers wait for use n of a stage on parity n & 1.
__device__ __forceinline__ void wg_produce(wg_smem &sm, const ssd_where &wh, bool phase1,
                                           const ssd_bf16 *x, const ssd_bf16 *B, const ssd_bf16 *C,
                                           const ssd_dt_in *dt, const float *dt_bias, float A, long long L) {
  unsigned i = 0;
  for (int ph = phase1 ? 1 : 3; ph <= 3; ph += 2)
    for (long long ch = wh.c0; ch < wh.c1; ch++, i++) {
      const int st = (int)(i & 1);
      const long long t0 = ch * Q;
      if (i >= 2) mb_wait(&sm.empty[st], ((i >> 1) - 1) & 1);
      ssd_dt_in raw[2];
      ssd_load_dt(raw, dt, L, t0, wh.b, wh.hdt);
      wg_copy<SSD_PS, (long long)SSD_LD_X>(sm.x[st], x + wh.xo, t0, L);
      wg_copy<SSD_N, (long long)SSD_LD_B>(sm.b[st], B + wh.bo, t0, L);
      if (ph == 3) wg_copy<SSD_N, (long long)SSD_LD_C>(sm.c[st], C + wh.co, t0, L);
      cp_async_commit();
      ssd_scan_chunk(sm.sc[st], ph == 1 ? &sm.seglog : nullptr, raw, t0, L, wh.hdt, dt_bias, A);
      cp_async_wait_all();
      fence_proxy_async();
      mb_arrive(&sm.full[st]); /* every lane: each releases its own copies and stores */
    }
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

extern "C" __global__ void __launch_bounds__(WG_THREADS, 2)
SSD_KERNEL(SSD_CHUNKED_PARAMS) {
  SSD_DYN_SMEM(smem_raw);
  wg_smem &sm = *reinterpret_cast<wg_smem *>(smem_raw);
  const int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, tg = threadIdx.x & 3;
  if (blockDim.x != WG_THREADS) ssd_trap(); /* without the producer warp it would wait forever */
  if (threadIdx.x == 0) {
    mb_init(&sm.full[0], 32), mb_init(&sm.full[1], 32);
    mb_init(&sm.empty[0], NWARPS * 32), mb_init(&sm.empty[1], NWARPS * 32);
  }
  ssd_take_ticket(sm.ticket, sm.seglog, ws_sync); /* its barrier also publishes the inits */
  const ssd_where wh = ssd_where_at(sm.ticket, (unsigned)batch * SSD_H * PSL, L, seg_chunks);
  const float A = ssd_A(A_, wh.hdt);
  const bool phase1 = ssd_publishes_early(wh, nseg, chain);
  if (warp == NWARPS) {
    wg_produce(sm, wh, phase1, x, B, C, dt, dt_bias, A, L);
    return;
  }
  float S[NJ][4];
  unsigned i = 0; /* the stream's chunk count: stage i & 1, its use i >> 1 */

  // ---- phase 1: this segment's own contribution to the state ----------------------------
  if (phase1) {
#pragma unroll
    for (int j = 0; j < NJ; j++) S[j][0] = S[j][1] = S[j][2] = S[j][3] = 0.f;
    for (long long ch = wh.c0; ch < wh.c1; ch++, i++) {
      const int st = (int)(i & 1);
      mb_wait(&sm.full[st], (i >> 1) & 1);
      wg_state_update(sm, st, S);
      wg_wait<0>();
      wg_fence_acc(S);
      mb_arrive(&sm.empty[st]);
    }
  }

  // ---- the state entering the segment, and publishing the one leaving it -------------
  // (the producer is already copying phase 3's first chunks; seglog is whole:
  // it was summed before the last phase-1 `full` this thread waited on)
  const auto off = [&](int j, int e) { return wg_state_off(wh.p0, j, e); };
  ssd_link(S, wh, nseg, batch, chain, sm.seglog, init, ws_sync, ws_state, epoch, off);

  // ---- phase 3: outputs ----------------------------------------------------------------
  wg_store_state(sm, S);
  fence_proxy_async();
  ssd_sync_state();
  WG_PROF_INIT;
  for (long long ch = wh.c0; ch < wh.c1; ch++, i++) {
    const int st = (int)(i & 1);
    const bool more = ch + 1 < wh.c1;
    const long long t0 = ch * Q;
    mb_wait(&sm.full[st], (i >> 1) & 1); /* tiles and scan of ch */
    WG_PROF(0);
    float CB[Q / 8][4], Y[SSD_PS / 8][4];
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < SSD_N / 16; kk++) {
      wg_mma_ss_n64<0>(&CB[0][0], wg_kmajor<Q>(sm.c[st], kk), wg_kmajor<Q>(sm.b[st], kk), kk > 0);
      wg_mma_ss_n64<0>(&Y[0][0], wg_kmajor<Q>(sm.c[st], kk), wg_kmajor<SSD_PS>(sm.s, kk), kk > 0);
    }
    wg_commit();
    WG_PROF(1);
    wg_wait<0>();
    wg_fence_acc(CB);
    wg_fence_acc(Y);
    WG_PROF(2);
    const ssd_scan &sc = sm.sc[st];
    ssd_decay_rows(Y, sc, 16 * warp + g);
    u32 M[Q / 16][4];
    wg_mask(CB, sc, M);
    WG_PROF(3);
    wg_fence_acc(Y);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < Q / 16; kk++) wg_mma_rs_n64<1>(&Y[0][0], M[kk], wg_mnmajor(sm.x[st], kk), 1);
    wg_commit();
    WG_PROF(4);
    wg_state_update(sm, st, S); /* in flight while the outputs are stored */
    WG_PROF(5);
    wg_wait<1>();
    wg_fence_acc(Y);
    WG_PROF(6);
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int t = 16 * warp + g + half * 8;
      const ssd_bf16 *xr = (const ssd_bf16 *)((const char *)sm.x[st] + t * 16 + tg * 4);
      ssd_store_row(Y, half, t, t0, L, wh, D, z, gn_w, gn_ss, y_, xr, TROW / 2);
    }
    WG_PROF(7);
    wg_wait<0>();
    wg_fence_acc(S);
    mb_arrive(&sm.empty[st]); /* x, B, C and the scan of this stage are read */
    WG_PROF(8);
    if (more) {
      ssd_sync_state(); /* every warp's C S^T has read sm.s */
      wg_store_state(sm, S);
      fence_proxy_async();
      ssd_sync_state(); /* the whole new state is there for the next C S^T */
    }
    WG_PROF(9);
  }
  WG_PROF_END;

  ssd_finish(S, wh, nseg, batch, chain, final_state, ws_sync, ws_state, epoch, off);
}
