// ssd_chunked.cuh: the whole chunked SSD forward in one kernel launch.
//
// mamba_ssm runs five kernels and keeps C*B^T and the per-chunk states in HBM.
// Here a block owns (segment s, batch b, head h, a slice of SSD_PS head
// channels) and walks the chunks of its segment in order, keeping the running
// state S [PS x N] in tensor-core accumulator registers.  Per chunk of Q = 64:
//   y   = diag(exp(cs)) C S^T  +  (L o C B^T) diag(dt) X  + D x   (then * silu(z))
//   S  <- exp(cs_last) S  +  (X diag(w))^T B,   w_t = exp(cs_last - cs_t) dt_t
// Only x, dt, B, C are read and y written: C B^T never leaves the chip.  The
// x, B, C tiles are single-buffered (71 KB of shared memory at the anchor
// shape, so three blocks = 12 warps share an SM; double buffers took 115 KB
// and allowed two): the next chunk's C is copied as soon as the last C read
// is behind a barrier (its copy overlaps (L o CB) X, the output and the state
// update), x and B once the state update is done; while a block waits for
// them the SM's other blocks compute.
//
// Segments give a long sequence more parallelism than batch * heads * slices
// blocks.  A block first runs the state update alone over its segment (phase
// 1: the segment's own contribution, two chunks an iteration), then takes
// the state at the end of the previous segment from that segment's block,
// publishes its own end state (decoupled look-back, one link per segment),
// and finally runs the full chunk loop from the right initial state (phase
// 3).  Blocks take tickets from an atomic counter in launch order, so a block
// only ever waits for a block that took an earlier ticket and is therefore
// already running: no deadlock whatever order the hardware schedules blocks
// in.  Flags hold the launch's epoch, so they need no clearing; the last
// block to finish resets the ticket counters for the next launch.  Where a
// segment's successor takes its ticket about a round of blocks later (many
// blocks per segment, as at 8 x 2K), the runtime chains the segments instead
// (`chain`): no phase 1, and a block publishes its end state after phase 3
// for its successor, which waits for it in the same way.
//
// Warp w (of 4) owns time rows [16w, 16w+16) of the chunk for y and a fixed
// set of state tiles.  The causal C B^T tiles are not split by rows (warp 3
// would do four times warp 0's share and both barriers wait for it): each warp
// computes a fixed run of them, masks and decays them, and leaves them in
// shared memory as the bf16 operand of (L o C B^T) X, which the row owners
// read after one barrier.  Fragment layouts are PTX's mma.m16n8k16:
// accumulator c0,c1 at (row g, cols 2t, 2t+1), c2,c3 at row g+8.
//
// Generated #defines: SSD_P SSD_PS SSD_N SSD_H SSD_HX SSD_HB SSD_HC SSD_HDT,
// SSD_HAS_DT SSD_HAS_A SSD_A_IS_LOG SSD_HAS_DT_BIAS SSD_DT_SOFTPLUS SSD_DT_CLAMP
// SSD_DT_MIN SSD_DT_MAX SSD_HAS_D SSD_D_PER_CHANNEL SSD_HAS_Z SSD_HAS_INIT
// SSD_HAS_FINAL SSD_Y_F32 SSD_Z_TILE SSD_KERNEL (the entry point's name), SSD_DT_F32 and
// SSD_Z_F32 (dt, z in fp32 rather than bf16), and the operands' token-row
// strides in elements SSD_LD_X SSD_LD_DT SSD_LD_B SSD_LD_C SSD_LD_Z (dense
// ones unless x, B, C, dt, z are column slices of wider rows; cg_ssd_check
// keeps x, B, C rows 16-byte aligned for cp.async).  SSD_XCONV_K (2..4; 0 =
// none) folds Mamba-2's causal conv + SiLU over the x channels in: x is the
// conv's input, each 16-row group of the x tile is loaded with the K - 1 rows
// before it, and every chunk convolves its tile in place (ssd_xconv) before
// anything reads it; SSD_XCONV_BIAS, SSD_XCONV_SLD (channels per batch row of
// the conv state xc_st, which supplies the rows before token 0).  SSD_GNORM folds a
// gated RMSNorm over whole rows in (with SSD_HAS_Z): y, after the gate, is
// stored times the norm's weight gn_w, and each row's sum of squares over the
// block's PS channels goes to gn_ss[row][h * PSL + slice]; the row scale
// rsqrt(mean + eps) is applied after out_proj, which is linear in its rows
// (runtime/rt_gpu_model.c, plan_gfold).
#define XS (SSD_PS + 8) /* padded smem row strides (16 bytes): no bank conflicts */
// The x tile is 4 groups of 16 rows; with the conv folded in, each group is
// stored after the K - 1 input rows before it (XH), and the conv writes its
// 16 outputs over the group's first 16 slots, so row r of group q is always
// at slot q * XG + r for the readers.  Without the conv XG = 16: the plain
// [Q x XS] tile.
#if SSD_XCONV_K
#define XH (SSD_XCONV_K - 1)
#else
#define XH 0
#endif
#define XG (16 + XH)
#define BS (SSD_N + 8)
#define CBS (Q + 8)
#define MT (SSD_PS / 16) /* state m16 tiles */
// The state [PS x N] is split over a WM x (NWARPS / WM) grid of warps: warp
// w owns MTW m16 tiles from (w % WM) * MTW and NTN n8 tiles from (w / WM) *
// NTN.  Two m16 tiles per warp (at PS = 64) let each B fragment loaded from
// shared memory feed two mma, a third less ldmatrix traffic in the state
// update than one m16 tile across all of N.
#define WM (MT >= 2 ? 2 : 1)
#define MTW (MT / WM)                        /* m16 state tiles per warp */
#define NTN ((SSD_N / 8) / (NWARPS / WM))    /* n8 state tiles per warp */
#define NTW (MTW * NTN)                      /* state tiles per warp (registers: NTW x 4) */

#if SSD_PS % 16 || SSD_P % SSD_PS || SSD_N % 16 || ((SSD_N / 8) * MT) % NWARPS || \
    MT % WM || (SSD_N / 8) % (NWARPS / WM)
#error "unsupported SSD tile shape"
#endif
#if SSD_LD_X % 8 || SSD_LD_B % 8 || SSD_LD_C % 8
#error "x, B, C row strides must keep 16-byte alignment"
#endif

// State tile j of this warp: its m16 row tile (head channels) and n8 column
// tile (state index).
__device__ __forceinline__ int ssd_st_m(int warp, int j) { return (warp % WM) * MTW + j / NTN; }
__device__ __forceinline__ int ssd_st_n(int warp, int j) { return (warp / WM) * NTN + j % NTN; }

// B operands of two adjacent n8 tiles in one ldmatrix.x4 (lanes 16-31 name
// the second tile's rows): half the ldmatrix instructions of two .x2.
__device__ __forceinline__ void ldsm_pair(u32 b0[2], u32 b1[2], const void *p) {
  u32 r[4];
  ldsm_x4(r, p);
  b0[0] = r[0], b0[1] = r[1], b1[0] = r[2], b1[1] = r[3];
}
__device__ __forceinline__ void ldsm_pair_t(u32 b0[2], u32 b1[2], const void *p) {
  u32 r[4];
  ldsm_x4_t(r, p);
  b0[0] = r[0], b0[1] = r[1], b1[0] = r[2], b1[1] = r[3];
}

#if SSD_TMA
// B and C by tensor copies (SSD_TMA: sm_90, N a multiple of 64): dense tiles
// in the copies' 128-byte swizzle, one [Q x 64] box per 64 state columns;
// the 16-byte run from column k of row r sits at run ((k / 8) % 8) ^ (r % 8)
// of its 128-byte row, which keeps ldmatrix free of bank conflicts without
// padding.  The tiles open the block's shared memory, on a 1024-byte
// boundary (the swizzle's period), and their copies complete on mbarriers
// instead of cp.async groups: bar[0] for a chunk's B (x stays on cp.async),
// bar[1] for C, or for phase 1's second B.  A copy engine moves a whole tile
// per instruction, where cp.async spends an instruction of every thread per
// 16 bytes: on the state-only pass that took a quarter off (bench/NOTES.md,
// session 23).
#if SSD_N % 64
#error "SSD_TMA: N must be a multiple of 64"
#endif
#define BCS SSD_N /* B, C tiles: dense */
__device__ __forceinline__ const ssd_bf16 *ssd_bc_at(const ssd_bf16 *t, int r, int k) {
  return reinterpret_cast<const ssd_bf16 *>(reinterpret_cast<const char *>(t) + (k >> 6) * (Q * 128) + r * 128 +
                                            ((((k >> 3) & 7) ^ (r & 7)) << 4));
}
#else
#define BCS BS
// The 16-byte run from column k (a multiple of 8) of row r of a B or C tile.
__device__ __forceinline__ const ssd_bf16 *ssd_bc_at(const ssd_bf16 *t, int r, int k) { return &t[r * BS + k]; }
#endif

struct ssd_smem {
#if SSD_TMA
  ssd_bf16 b[Q * BCS];
  ssd_bf16 c[Q * BCS];
  ssd_bf16 x[(Q / 16) * XG * XS];
#else
  ssd_bf16 x[(Q / 16) * XG * XS];
  ssd_bf16 b[Q * BCS];
  ssd_bf16 c[Q * BCS];
#endif
  ssd_bf16 s[SSD_PS * BS];   /* state entering the chunk, bf16 */
  /* L o C B^T diag(dt) of the chunk, bf16 (lower triangle).  At the anchor
   * shape (PS 64, N 128) the struct is 71,440 B (71,696 with gw): three
   * blocks per SM (228 KB, 1 KB reserved per block); registers (168) allow
   * three as well. */
  ssd_bf16 cb[Q * CBS];
#if SSD_GNORM
  float gw[SSD_PS]; /* the folded norm's weight over the block's channels */
#endif
  ssd_scan sc;
  float seglog;              /* phase 1: sum of the chunks' cs_last */
  unsigned ticket;
#if SSD_TMA
  u64 bar[2];                /* tensor copies: bar[0] B, bar[1] C (or phase 1's second B) */
#endif
};

#if SSD_TMA
// Thread 0 alone: the rows [t0, t0 + Q) of batch row b, columns col.. col +
// N - 1 of a B or C operand into a tile, completing on mb.  The tile was read
// through ordinary loads before the barrier that precedes this.
__device__ __forceinline__ void ssd_tma_tile(ssd_bf16 *dst, const ssd_tmap *m, int col, long long t0, int b,
                                             u64 *mb) {
  fence_proxy_async();
#pragma unroll
  for (int h = 0; h < SSD_N / 64; h++) tma_load_3d(dst + h * Q * 64, m, col + h * 64, (int)t0, b, mb);
}
#endif

// Copy Q token rows of VPR 16-byte vectors each (row stride SROW in shared
// memory, STRIDE elements between tokens in global memory) for tokens t0...
// Thread i takes vector i % VPR of rows i / VPR + k * 128 / VPR, so when VPR
// divides the block the loop is unrolled, each thread's column is fixed, and
// a copy costs a pointer step and a bounds test instead of a chain of 64-bit
// index products.  Rows past the end read the block's token 0 with zero bytes
// taken (cp.async zero-fills).
template <int VPR, long long STRIDE, int SROW>
__device__ __forceinline__ void ssd_copy_rows(ssd_bf16 *dst, const ssd_bf16 *base, long long t0,
                                              long long L) {
  constexpr int NT = NWARPS * 32;
  if constexpr (NT % VPR == 0) {
    constexpr int RS = NT / VPR;
    static_assert(Q % RS == 0, "rows per step must divide the chunk");
    const int r0 = threadIdx.x / VPR, v = threadIdx.x % VPR;
    const ssd_bf16 *p = base + (t0 + r0) * STRIDE + v * 8;
#pragma unroll
    for (int k = 0; k < Q / RS; k++) {
      const int r = r0 + k * RS;
      const bool ok = t0 + r < L;
      cp_async16(&dst[r * SROW + v * 8], ok ? p : base, ok ? 16 : 0);
      p += RS * STRIDE;
    }
  } else {
    for (int i = threadIdx.x; i < Q * VPR; i += NT) {
      const int r = i / VPR, v = i % VPR;
      const bool ok = t0 + r < L;
      cp_async16(&dst[r * SROW + v * 8], base + (ok ? t0 + r : 0) * STRIDE + v * 8, ok ? 16 : 0);
    }
  }
}

#if SSD_XCONV_K
// The conv's inputs before token 0 of (b, this block's x channels): slots
// 0 .. XH - 1 of group 0 (tokens -XH .. -1), from the conv state (bf16 values
// stored in fp32: inputs of an earlier piece), or zeros without one.
__device__ __forceinline__ void ssd_x_before(ssd_bf16 *dst, const ssd_where &wh, const float *xc_st) {
  for (int i = threadIdx.x; i < XH * SSD_PS; i += NWARPS * 32) {
    const int r = i / SSD_PS, c = i % SSD_PS;
    const long long ch = (long long)wh.b * SSD_XCONV_SLD + (long long)wh.hx * SSD_P + wh.p0 + c;
    dst[r * XS + c] = f2bf(xc_st ? xc_st[ch * XH + r] : 0.f);
  }
}

// The x tile's input rows: group q's slots hold tokens t0 + 16 q - XH ...
// t0 + 16 q + 15 (the halo rows are read twice, by adjacent groups: L2 hits).
// Thread i copies vector i % VPR of every (NT / VPR)-th slot.
__device__ __forceinline__ void ssd_copy_x(ssd_bf16 *dst, const ssd_where &wh, const ssd_bf16 *x,
                                           long long t0, long long L, const float *xc_st) {
  constexpr int VPR = SSD_PS / 8, ROWS = (Q / 16) * XG, RS = NWARPS * 32 / VPR;
  static_assert(NWARPS * 32 % VPR == 0, "x rows split evenly over the block");
  const int s0 = threadIdx.x / VPR, v = threadIdx.x % VPR;
  const ssd_bf16 *base = x + wh.xo + v * 8, *row0 = base + t0 * SSD_LD_X;
  const long long left = L - t0; /* tokens from t0 on */
#pragma unroll
  for (int k = 0; k < (ROWS + RS - 1) / RS; k++) {
    const int slot = s0 + k * RS, tl = (slot / XG) * 16 + slot % XG - XH; /* token t0 + tl */
    if (slot < ROWS && t0 + tl >= 0) {
      const bool ok = tl < left;
      cp_async16(&dst[slot * XS + v * 8], ok ? row0 + tl * SSD_LD_X : base, ok ? 16 : 0);
    }
  }
  if (t0 == 0) ssd_x_before(dst, wh, xc_st);
}

// Conv + SiLU of the chunk's x tile, in place: warp q takes group q, each
// lane a channel pair over RL rows.  A lane reads all its inputs (its rows
// and the K - 1 before) before any lane of the warp writes, so the lanes
// that share a group (PS < 64) need only __syncwarp.  Same arithmetic, in
// the same order, as the conv kernel (ops_conv.cuh): the tile is bitwise
// what the separate conv would have stored.  The caller passes a barrier
// after the tile's copies before, and one before anything reads it after.
__device__ __forceinline__ void ssd_xconv(ssd_smem &sm, const ssd_where &wh, const float *xc_w,
                                          const float *xc_b) {
  constexpr int PAIRS = SSD_PS / 2, SUB = 32 / PAIRS, RL = 16 / SUB, K = SSD_XCONV_K;
  static_assert(SSD_PS == 16 || SSD_PS == 32 || SSD_PS == 64, "folded conv: 16, 32 or 64 channels");
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int pr = lane % PAIRS, r0 = (lane / PAIRS) * RL;
  const long long ch = (long long)wh.hx * SSD_P + wh.p0 + 2 * pr;
  float w0[K], w1[K], b0 = 0.f, b1 = 0.f;
#pragma unroll
  for (int k = 0; k < K; k++) w0[k] = xc_w[ch * K + k], w1[k] = xc_w[(ch + 1) * K + k];
#if SSD_XCONV_BIAS
  b0 = xc_b[ch], b1 = xc_b[ch + 1];
#endif
  (void)xc_b;
  ssd_bf16 *col = &sm.x[(warp * XG + r0) * XS + 2 * pr];
  u32 in[RL + K - 1];
#pragma unroll
  for (int i = 0; i < RL + K - 1; i++) in[i] = *(const u32 *)&col[i * XS];
  if (SUB > 1) __syncwarp();
#pragma unroll
  for (int i = 0; i < RL; i++) {
    float a0 = b0, a1 = b1;
#pragma unroll
    for (int k = 0; k < K; k++) a0 += w0[k] * bf2_lo(in[i + k]), a1 += w1[k] * bf2_hi(in[i + k]);
    *(u32 *)&col[i * XS] = pack_bf2(ssd_silu(a0), ssd_silu(a1));
  }
}
#endif

// A chunk's B or C tile into dst: the rows from t0 of src (token stride LD),
// or with SSD_TMA a tensor copy through map tm from column col of each row,
// completing on mb.
template <long long LD>
__device__ __forceinline__ void ssd_load_bc(ssd_bf16 *dst, const ssd_bf16 *src, const ssd_tmap *tm, int col,
                                            const ssd_where &wh, long long L, long long t0, u64 *mb) {
#if SSD_TMA
  (void)src, (void)L;
  if (threadIdx.x == 0) {
    mb_expect_tx(mb, Q * SSD_N * 2);
    ssd_tma_tile(dst, tm, col, t0, wh.b, mb);
  }
#else
  (void)tm, (void)col, (void)wh, (void)mb;
  ssd_copy_rows<SSD_N / 8, LD, BS>(dst, src, t0, L);
#endif
}
// A chunk's B tile (bar[0], or bar[1] for phase 1's second chunk).
__device__ __forceinline__ void ssd_load_b(ssd_bf16 *dst, const ssd_where &wh, const ssd_bf16 *B,
                                           const ssd_tmap *tb, long long L, long long t0, u64 *mb) {
  ssd_load_bc<(long long)SSD_LD_B>(dst, B + wh.bo, tb, wh.hb * SSD_N, wh, L, t0, mb);
}
// The mbarrier of tensor copy group i (none without SSD_TMA).
__device__ __forceinline__ u64 *ssd_bar(ssd_smem &sm, int i) {
#if SSD_TMA
  return &sm.bar[i];
#else
  (void)sm, (void)i;
  return nullptr;
#endif
}

// The chunk's x and B tiles (one cp.async group; B on bar[0] with SSD_TMA).
__device__ __forceinline__ void ssd_load_xb(ssd_smem &sm, const ssd_where &wh, const ssd_bf16 *x,
                                            const ssd_bf16 *B, const ssd_tmap *tb, long long L,
                                            long long t0, const float *xc_st) {
#if SSD_XCONV_K
  ssd_copy_x(sm.x, wh, x, t0, L, xc_st);
#else
  (void)xc_st;
  ssd_copy_rows<SSD_PS / 8, (long long)SSD_LD_X, XS>(sm.x, x + wh.xo, t0, L);
#endif
  ssd_load_b(sm.b, wh, B, tb, L, t0, ssd_bar(sm, 0));
  cp_async_commit();
}
// The chunk's C tile (one cp.async group; with SSD_TMA a tensor copy on
// bar[1] and an empty group, so that the gate tile's wait still leaves
// exactly the newest group in flight).
__device__ __forceinline__ void ssd_load_c(ssd_smem &sm, const ssd_where &wh, const ssd_bf16 *C,
                                           const ssd_tmap *tc, long long L, long long t0) {
  ssd_load_bc<(long long)SSD_LD_C>(sm.c, C + wh.co, tc, wh.hc * SSD_N, wh, L, t0, ssd_bar(sm, 1));
  cp_async_commit();
}

#if SSD_Z_TILE
// The gate's tile (SSD_Z_TILE, set by codegen: bf16 z whose rows keep 16-byte
// alignment, and a state operand sm.s big enough to hold Q rows of ZS).  sm.s
// is dead from C S^T's last read (chunk_y's barrier) to the next chunk's
// prep, so each warp copies its own 16 rows of z there after that barrier
// and reads them in its epilogue, after (L o C B^T) X: one copy in flight
// under the product instead of the epilogue's two dependent rounds of gate
// loads (bench/NOTES.md, sessions 10 and 20).  The rows were prefetched into
// L2 when the chunk's other copies started (ssd_prefetch_z).
#define ZS (SSD_PS + 8)
static_assert(SSD_PS * BS >= Q * ZS, "the gate's tile must fit in sm.s");
// The folded norm's weight from channel c of the block's shared copy (none
// without SSD_GNORM).
__device__ __forceinline__ const float *ssd_gw_at(const ssd_smem &sm, int c) {
#if SSD_GNORM
  return &sm.gw[c];
#else
  (void)sm, (void)c;
  return nullptr;
#endif
}
__device__ __forceinline__ void ssd_load_z(ssd_bf16 *zt, const ssd_where &wh, const ssd_z_in *z,
                                           long long L, long long t0) {
  constexpr int VPR = SSD_PS / 8, PER = 16 * VPR / 32;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int r0 = warp * 16 + lane / VPR, v = lane % VPR;
  const int left = L - t0 < Q ? (int)(L - t0) : Q; /* rows of the chunk in the sequence */
  const ssd_z_in *p = z + wh.zo + (t0 + r0) * SSD_LD_Z + v * 8;
#pragma unroll
  for (int k = 0; k < PER; k++) {
    const int r = r0 + k * (32 / VPR);
    cp_async16(&zt[r * ZS + v * 8], r < left ? p : z, r < left ? 16 : 0);
    p += (32 / VPR) * SSD_LD_Z;
  }
  cp_async_commit();
}
// L2 prefetch of this warp's gate rows of the chunk at t0, issued with the
// chunk's other copies (half a chunk before ssd_load_z): lanes 0-15 the first
// byte of a row, lanes 16-31 its last (a row may cross a line).
__device__ __forceinline__ void ssd_prefetch_z(const ssd_where &wh, const ssd_z_in *z, long long L,
                                               long long t0) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const long long t = t0 + warp * 16 + (lane & 15);
  if (t < L) prefetch_l2(z + wh.zo + t * SSD_LD_Z + (lane >> 4) * (SSD_PS - 1));
}
#endif

// Prepare phase 3's chunk ch while its tiles are in flight: warp 0 scans its
// dt (raw values in dtraw) and loads the next chunk's, and every warp stores
// the state entering the chunk as the bf16 operand of C S^T.  The caller has
// passed a barrier after every read of the last chunk's cs, dtp, w, decay and
// s, and passes one before anything reads these.  (Phase 1's scans:
// ssd_p1_prep.)
__device__ __forceinline__ void ssd_chunk_prep(ssd_smem &sm, const ssd_where &wh, long long ch,
                                               ssd_dt_in dtraw[2], const ssd_dt_in *dt,
                                               const float *dt_bias, float A, long long L,
                                               const float (*S)[4]) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  const long long t0 = ch * Q;
  if (warp == 0) {
    ssd_scan_chunk(sm.sc, nullptr, dtraw, t0, L, wh.hdt, dt_bias, A);
    if (ch + 1 < wh.c1) ssd_load_dt(dtraw, dt, L, t0 + Q, wh.b, wh.hdt);
  }
#pragma unroll
  for (int j = 0; j < NTW; j++) {
    int p = ssd_st_m(warp, j) * 16 + g, n = ssd_st_n(warp, j) * 8 + 2 * tg;
    *(u32 *)&sm.s[p * BS + n] = pack_bf2(S[j][0], S[j][1]);
    *(u32 *)&sm.s[(p + 8) * BS + n] = pack_bf2(S[j][2], S[j][3]);
  }
}

// Wait for this thread's copies, then for every thread's: the chunk's tiles
// and its prep are visible to the block.  With SSD_TMA also for the tensor
// copies: bar[0]'s next phase, and bar[1]'s when `both` (phase 3's C, phase
// 1's second B); ph holds each mbarrier's next phase parity (bit i for
// bar[i]: every thread waits on every phase, so each keeps its own).
__device__ __forceinline__ void ssd_chunk_ready(ssd_smem &sm, u32 &ph, bool both) {
  cp_async_wait_all();
#if SSD_TMA
  mb_wait(&sm.bar[0], ph & 1u);
  if (both) mb_wait(&sm.bar[1], ph >> 1 & 1u);
  ph ^= both ? 3u : 1u;
#else
  (void)sm, (void)ph, (void)both;
#endif
  __syncthreads();
}

// S = decay S + (x w)^T B for this warp's state tiles, from a chunk's x and
// B tiles and scan (sm.x, sm.b, sm.sc; phase 1's second chunk has its own).
// x^T is loaded transposed by ldmatrix and scaled by w in registers: fragment
// register 0/1 hold k = 2t, 2t+1 of rows g, g+8 and registers 2/3 hold k + 8,
// so each thread needs four w values per k-step (no x*w pass through shared
// memory).  Each B fragment serves the warp's MTW m16 tiles; B comes two n8
// tiles per ldmatrix where NTN allows.  xa(r, k) and ba(r, k) say where the
// 16-byte run from column k (a multiple of 8) of row r (a token) of each tile
// is: the kernel's padded rows (ssd_state_update below), or another layout
// with the same fragments and mma (bench/p1_probe.cu's swizzled tiles).
template <class XA, class BA>
__device__ __forceinline__ void ssd_state_update_at(XA xa, BA ba, const ssd_scan &sc, float (*S)[4]) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float dec = sc.decay;
#pragma unroll
  for (int j = 0; j < NTW; j++) {
    S[j][0] *= dec; S[j][1] *= dec; S[j][2] *= dec; S[j][3] *= dec;
  }
#pragma unroll
  for (int kk = 0; kk < Q / 16; kk++) {
    u32 a[MTW][4];
#pragma unroll
    for (int mi = 0; mi < MTW; mi++) {
      const int smt = ssd_st_m(warp, mi * NTN);
      ldsm_x4_t(a[mi], xa(kk * XG + (lane & 7) + (lane >> 4) * 8, smt * 16 + ((lane >> 3) & 1) * 8));
      ssd_scale_xt(a[mi], sc, kk);
    }
    const int br = kk * 16 + (lane & 15);
#pragma unroll
    for (int ni = 0; ni < NTN; ni += 2) {
      const int nt = ssd_st_n(warp, ni);
      u32 b0[2], b1[2];
      if (ni + 1 < NTN) ldsm_pair_t(b0, b1, ba(br, (nt + (lane >> 4)) * 8));
      else ldsm_x2_t(b0, ba(br, nt * 8));
#pragma unroll
      for (int mi = 0; mi < MTW; mi++) {
        mma_bf16(S[mi * NTN + ni], a[mi], b0);
        if (ni + 1 < NTN) mma_bf16(S[mi * NTN + ni + 1], a[mi], b1);
      }
    }
  }
}
__device__ __forceinline__ void ssd_state_update(const ssd_bf16 *xs, const ssd_bf16 *bs,
                                                 const ssd_scan &sc, float (*S)[4]) {
  ssd_state_update_at([xs](int r, int k) { return &xs[r * XS + k]; },
                      [bs](int r, int k) { return ssd_bc_at(bs, r, k); }, sc, S);
}

// Phase 1 (the state update alone over a segment) reads no C, C B^T or bf16
// state, so an iteration takes two chunks where the second's tiles fit in
// those: its x in the C B^T tile, its B in the C tile, its scan in sm.s.
// Two barriers and one exposed copy per two chunks instead of per chunk, and
// warps 0 and 1 scan the two chunks' dt at once (-3% for the whole kernel at
// 1x8K..1x32K, bench/NOTES.md session 21).  Not with the folded conv, whose
// x tile carries halo rows.
constexpr bool ssd_p1_two = !SSD_XCONV_K && Q * CBS >= (Q / 16) * XG * XS &&
                            sizeof(ssd_scan) <= sizeof(ssd_bf16) * SSD_PS * BS;
__device__ __forceinline__ ssd_bf16 *ssd_p1_x2(ssd_smem &sm) { return sm.cb; }
__device__ __forceinline__ ssd_bf16 *ssd_p1_b2(ssd_smem &sm) { return sm.c; }
__device__ __forceinline__ ssd_scan &ssd_p1_sc2(ssd_smem &sm) { return *reinterpret_cast<ssd_scan *>(sm.s); }

// Phase 1's x and B tiles of chunk ch, and of ch + 1 when the iteration
// takes two (one cp.async group each; the second B on bar[1] with SSD_TMA).
__device__ __forceinline__ void ssd_p1_load(ssd_smem &sm, const ssd_where &wh, const ssd_bf16 *x,
                                            const ssd_bf16 *B, const ssd_tmap *tb, long long L,
                                            long long ch, const float *xc_st) {
  ssd_load_xb(sm, wh, x, B, tb, L, ch * Q, xc_st);
  if (ssd_p1_two && ch + 1 < wh.c1) {
    ssd_copy_rows<SSD_PS / 8, (long long)SSD_LD_X, XS>(ssd_p1_x2(sm), x + wh.xo, (ch + 1) * Q, L);
    ssd_load_b(ssd_p1_b2(sm), wh, B, tb, L, (ch + 1) * Q, ssd_bar(sm, 1));
    cp_async_commit();
  }
}

// Phase 1's scans of an iteration's chunks (warp 0: ch into sm.sc, adding
// its cs_last to seglog; warp 1: ch + 1 into the second scan), each warp then
// loading the raw dt of its chunk of the next iteration.
__device__ __forceinline__ void ssd_p1_prep(ssd_smem &sm, const ssd_where &wh, long long ch,
                                            ssd_dt_in dtraw[2], const ssd_dt_in *dt,
                                            const float *dt_bias, float A, long long L) {
  constexpr int STEP = ssd_p1_two ? 2 : 1;
  const int warp = threadIdx.x >> 5;
  if (warp == 0) {
    ssd_scan_chunk(sm.sc, &sm.seglog, dtraw, ch * Q, L, wh.hdt, dt_bias, A);
    if (ch + STEP < wh.c1) ssd_load_dt(dtraw, dt, L, (ch + STEP) * Q, wh.b, wh.hdt);
  } else if (ssd_p1_two && warp == 1 && ch + 1 < wh.c1) {
    ssd_scan_chunk(ssd_p1_sc2(sm), nullptr, dtraw, (ch + 1) * Q, L, wh.hdt, dt_bias, A);
    if (ch + 1 + STEP < wh.c1) ssd_load_dt(dtraw, dt, L, (ch + 1 + STEP) * Q, wh.b, wh.hdt);
  }
}

// The causal C B^T tiles of a chunk: row strip r (rows 16r..16r+15) times
// column tile j (8 columns) for j <= 2r + 1, 20 in all, numbered row-major.
// Warp w computes tiles [ssd_cb_first(w), ssd_cb_first(w + 1)).  The split
// evens out each warp's tensor-core work per chunk at the anchor shape
// (PS = 64, N = 128: C S^T and the state update cost every warp 128 mma, the
// (L o CB) X product 8 (w + 1), a tile 8): 192, 184, 192, 184 mma where rows
// alone gave 152 to 224.  Any split is correct; this one is only tuned.
__device__ constexpr int ssd_cb_first(int w) {
  return w <= 0 ? 0 : w == 1 ? 7 : w == 2 ? 12 : w == 3 ? 17 : 20;
}
__device__ constexpr int ssd_cb_index(int r, int j) { return r * (r + 1) + j; }
__device__ constexpr bool ssd_cb_mine(int w, int r, int j) {
  return ssd_cb_index(r, j) >= ssd_cb_first(w) && ssd_cb_index(r, j) < ssd_cb_first(w + 1);
}

// Warp W's C B^T tiles, masked (s <= t) and scaled by exp(cs_t - cs_s) dt_s,
// stored to sm.cb.  W is a template argument so that every ownership and
// causal test folds at compile time: no divergent-branch scaffolding.
template <int W>
__device__ __forceinline__ void ssd_cb_tiles(ssd_smem &sm) {
  constexpr int lo = ssd_cb_first(W), nt = ssd_cb_first(W + 1) - lo;
  const int lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  const ssd_bf16 *bs = sm.b, *cs_ = sm.c;
  float T[nt][4];
#pragma unroll
  for (int i = 0; i < nt; i++) T[i][0] = T[i][1] = T[i][2] = T[i][3] = 0.f;
#pragma unroll
  for (int kk = 0; kk < SSD_N / 16; kk++) {
#pragma unroll
    for (int r = 0; r < Q / 16; r++) {
      if (ssd_cb_index(r, 2 * r + 1) < lo || ssd_cb_index(r, 0) >= lo + nt) continue;
      u32 a[4];
      ldsm_x4(a, ssd_bc_at(cs_, 16 * r + (lane & 7) + ((lane >> 3) & 1) * 8, kk * 16 + (lane >> 4) * 8));
#pragma unroll
      for (int j = 0; j <= 2 * r + 1; j++) {
        if (!ssd_cb_mine(W, r, j)) continue;
        u32 bb[2];
        ldsm_x2(bb, ssd_bc_at(bs, j * 8 + (lane & 7), kk * 16 + ((lane >> 3) & 1) * 8));
        mma_bf16(T[ssd_cb_index(r, j) - lo], a, bb);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < Q / 16; r++)
#pragma unroll
    for (int j = 0; j <= 2 * r + 1; j++) {
      if (!ssd_cb_mine(W, r, j)) continue;
      const float *v = T[ssd_cb_index(r, j) - lo];
      const bool diag = j >= 2 * r; /* only these tiles cross the causal edge */
      const int s = j * 8 + 2 * tg;
      const float w0 = sm.sc.dtp[s], w1 = sm.sc.dtp[s + 1], c0 = sm.sc.cs[s], c1 = sm.sc.cs[s + 1];
#pragma unroll
      for (int half = 0; half < 2; half++) {
        const int t = 16 * r + g + half * 8;
        const float ct = sm.sc.cs[t];
        const float m0 = !diag || s <= t ? v[2 * half] * __expf(ct - c0) * w0 : 0.f;
        const float m1 = !diag || s + 1 <= t ? v[2 * half + 1] * __expf(ct - c1) * w1 : 0.f;
        *(u32 *)&sm.cb[t * CBS + s] = pack_bf2(m0, m1);
      }
    }
}

// Y += (L o C B^T diag(dt)) X for warp W's rows: causal, so column blocks 0..W.
template <int W>
__device__ __forceinline__ void ssd_cb_x(const ssd_smem &sm, float (*Y)[4]) {
  const int lane = threadIdx.x & 31;
  const ssd_bf16 *xs = sm.x;
#pragma unroll
  for (int kk = 0; kk <= W; kk++) {
    u32 a[4];
    ldsm_x4(a, &sm.cb[(W * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * CBS + kk * 16 + (lane >> 4) * 8]);
#pragma unroll
    for (int j = 0; j < SSD_PS / 8; j += 2) { /* PS % 16 == 0: column tiles in pairs */
      u32 b0[2], b1[2];
      ldsm_pair_t(b0, b1, &xs[(kk * XG + (lane & 15)) * XS + (j + (lane >> 4)) * 8]);
      mma_bf16(Y[j], a, b0);
      mma_bf16(Y[j + 1], a, b1);
    }
  }
}

// y for this warp's 16 rows of chunk ch, written to global memory.  Contains
// a block-wide barrier (the C B^T tiles cross warps): every thread calls it.
// Past that barrier nothing reads C any more, so the next chunk's C copy
// (C_next, 0 for none; tc its tensor map with SSD_TMA) starts there.
__device__ __forceinline__ void ssd_chunk_y(ssd_smem &sm, const ssd_where &wh, long long t0,
                                            long long L, const float *D, const ssd_z_in *z,
                                            const float *gn_w, float *gn_ss, void *y_,
                                            const ssd_bf16 *C_next, const ssd_tmap *tc) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  const ssd_bf16 *xs = sm.x, *cs_ = sm.c;
  const int tr = warp * 16;
  switch (warp) {
  case 0: ssd_cb_tiles<0>(sm); break;
  case 1: ssd_cb_tiles<1>(sm); break;
  case 2: ssd_cb_tiles<2>(sm); break;
  default: ssd_cb_tiles<3>(sm); break;
  }
  float Y[SSD_PS / 8][4];
#pragma unroll
  for (int j = 0; j < SSD_PS / 8; j++) Y[j][0] = Y[j][1] = Y[j][2] = Y[j][3] = 0.f;
  // inter-chunk: C S^T, then rows scaled by exp(cs_t)
#pragma unroll
  for (int kk = 0; kk < SSD_N / 16; kk++) {
    u32 a[4];
    ldsm_x4(a, ssd_bc_at(cs_, tr + (lane & 7) + ((lane >> 3) & 1) * 8, kk * 16 + (lane >> 4) * 8));
#pragma unroll
    for (int j = 0; j < SSD_PS / 8; j += 2) {
      u32 b0[2], b1[2];
      ldsm_pair(b0, b1, &sm.s[((j + (lane >> 4)) * 8 + (lane & 7)) * BS + kk * 16 + ((lane >> 3) & 1) * 8]);
      mma_bf16(Y[j], a, b0);
      mma_bf16(Y[j + 1], a, b1);
    }
  }
  ssd_decay_rows(Y, sm.sc, tr + g);
  __syncthreads(); /* every warp's C B^T tiles are in sm.cb; C and s are read no more */
#if SSD_Z_TILE
  ssd_load_z(sm.s, wh, z, L, t0);
  if (!C_next) cp_async_commit(); /* an empty group: the wait below is always for all but one */
#endif
  if (C_next) ssd_load_c(sm, wh, C_next, tc, L, t0 + Q);
  switch (warp) {
  case 0: ssd_cb_x<0>(sm, Y); break;
  case 1: ssd_cb_x<1>(sm, Y); break;
  case 2: ssd_cb_x<2>(sm, Y); break;
  default: ssd_cb_x<3>(sm, Y); break;
  }
  // epilogue: D skip, gate, store (ssd_seg.cuh), row by row
#if SSD_Z_TILE
  cp_async_wait_group<1>(); /* the gate's rows; C_next's copy may still fly */
  __syncwarp(); /* the other lanes' copies of this warp's rows */
#endif
#pragma unroll
  for (int half = 0; half < 2; half++) {
    const int t = tr + g + half * 8;
    const ssd_bf16 *xr = &xs[(warp * XG + g + half * 8) * XS + 2 * tg];
#if SSD_Z_TILE
    ssd_store_row<true>(Y, half, t, t0, L, wh, D, z, gn_w, gn_ss, y_, xr, 8, &sm.s[t * ZS + 2 * tg],
                        ssd_gw_at(sm, 2 * tg));
#else
    ssd_store_row(Y, half, t, t0, L, wh, D, z, gn_w, gn_ss, y_, xr, 8);
#endif
  }
}

// Offset of element e of state tile j (this thread's fragment) in a [P, N] head state.
__device__ __forceinline__ long long ssd_state_off(int p0, int j, int e) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tg = lane & 3;
  int p = p0 + ssd_st_m(warp, j) * 16 + g + (e >> 1) * 8, n = ssd_st_n(warp, j) * 8 + 2 * tg + (e & 1);
  return (long long)p * SSD_N + n;
}

extern "C" __global__ void __launch_bounds__(NWARPS * 32, 3)
SSD_KERNEL(SSD_CHUNKED_PARAMS) {
#if SSD_TMA
  /* The swizzle's 1024-byte period: declared so (the tiles' addresses stay
   * constants), and checked, since a misplaced tile would read garbage. */
  SSD_DYN_SMEM_1K(smem_raw);
  if ((unsigned long long)smem_raw % 1024) ssd_trap();
#else
  SSD_DYN_SMEM(smem_raw);
#endif
  ssd_smem &sm = *reinterpret_cast<ssd_smem *>(smem_raw);
  const int warp = threadIdx.x >> 5;
#if SSD_TMA
  if (threadIdx.x == 0) mb_init(&sm.bar[0], 1), mb_init(&sm.bar[1], 1); /* the ticket's barrier follows */
#endif
  u32 ph = 0; /* the mbarriers' next phases (ssd_chunk_ready) */
  ssd_take_ticket(sm.ticket, sm.seglog, ws_sync);
  const ssd_where wh = ssd_where_at(sm.ticket, (unsigned)batch * SSD_H * PSL, L, seg_chunks);
#if SSD_GNORM
  /* read by the epilogues, after the first chunk's barrier */
  if (threadIdx.x < SSD_PS) sm.gw[threadIdx.x] = gn_w[wh.h * SSD_P + wh.p0 + threadIdx.x];
#endif
  const float A = ssd_A(A_, wh.hdt);
  SSD_LSTAMP(wh.flag, 0);
  float S[NTW][4];
  ssd_dt_in dtraw[2] = {0, 0};

  // ---- phase 1: this segment's own contribution to the state (the last
  // segment publishes nothing, and a chained one publishes after phase 3, so
  // they skip this) -------------------------------------------------------------------
  if (ssd_publishes_early(wh, nseg, chain)) {
#pragma unroll
    for (int j = 0; j < NTW; j++) S[j][0] = S[j][1] = S[j][2] = S[j][3] = 0.f;
    constexpr int STEP = ssd_p1_two ? 2 : 1;
    ssd_p1_load(sm, wh, x, B, &tm_b, L, wh.c0, xc_st);
    if (warp < STEP && wh.c0 + warp < wh.c1) ssd_load_dt(dtraw, dt, L, (wh.c0 + warp) * Q, wh.b, wh.hdt);
    ssd_p1_prep(sm, wh, wh.c0, dtraw, dt, dt_bias, A, L);
    for (long long ch = wh.c0; ch < wh.c1; ch += STEP) {
      const bool two = ssd_p1_two && ch + 1 < wh.c1;
      ssd_chunk_ready(sm, ph, two);
#if SSD_XCONV_K
      ssd_xconv(sm, wh, xc_w, xc_b);
      __syncthreads(); /* the state update reads every group */
#endif
      /* the second chunk's cs_last after the first's: seglog sums in chunk order */
      if (two && threadIdx.x == 0) sm.seglog += ssd_p1_sc2(sm).cs[Q - 1];
      ssd_state_update(sm.x, sm.b, sm.sc, S);
      if (two) ssd_state_update(ssd_p1_x2(sm), ssd_p1_b2(sm), ssd_p1_sc2(sm), S);
      __syncthreads(); /* the iteration's x, B, w and decay are read */
      if (ch + STEP < wh.c1) {
        ssd_p1_load(sm, wh, x, B, &tm_b, L, ch + STEP, xc_st);
        ssd_p1_prep(sm, wh, ch + STEP, dtraw, dt, dt_bias, A, L);
      }
    }
  }

  // ---- the state entering the segment, and publishing the one leaving it -------------
  const auto off = [&](int j, int e) { return ssd_state_off(wh.p0, j, e); };
  SSD_LSTAMP(wh.flag, 1);
  // phase 3's first tiles are in flight while the link waits (phase 1 ended
  // with a barrier: nothing reads the tiles any more).  Its dt is loaded
  // after: those registers live across the link spilled (ptxas, sm_90).
  ssd_load_xb(sm, wh, x, B, &tm_b, L, wh.c0 * Q, xc_st);
  ssd_load_c(sm, wh, C, &tm_c, L, wh.c0 * Q);
  ssd_link(S, wh, nseg, batch, chain, sm.seglog, init, ws_sync, ws_state, epoch, off);
  if (warp == 0) ssd_load_dt(dtraw, dt, L, wh.c0 * Q, wh.b, wh.hdt);

  // ---- phase 3: outputs ----------------------------------------------------------------
  ssd_chunk_prep(sm, wh, wh.c0, dtraw, dt, dt_bias, A, L, S);
#if SSD_Z_TILE
  ssd_prefetch_z(wh, z, L, wh.c0 * Q);
#endif
  for (long long ch = wh.c0; ch < wh.c1; ch++) {
    const bool more = ch + 1 < wh.c1;
    ssd_chunk_ready(sm, ph, true);
#if SSD_XCONV_K
    ssd_xconv(sm, wh, xc_w, xc_b); /* nothing reads x before chunk_y's barrier */
#endif
    ssd_chunk_y(sm, wh, ch * Q, L, D, z, gn_w, gn_ss, y_, more ? C : nullptr, &tm_c);
    /* The state after a block's last chunk is read only as the final state
     * or a chained successor's (a looked-back one was published after
     * phase 1). */
    if (!more && !ssd_keeps_end_state(wh, nseg, chain)) break;
    ssd_state_update(sm.x, sm.b, sm.sc, S);
    __syncthreads(); /* x, B, cs, w, decay and s of chunk ch are read */
    if (more) {
      ssd_load_xb(sm, wh, x, B, &tm_b, L, (ch + 1) * Q, xc_st);
      ssd_chunk_prep(sm, wh, ch + 1, dtraw, dt, dt_bias, A, L, S);
#if SSD_Z_TILE
      ssd_prefetch_z(wh, z, L, (ch + 1) * Q);
#endif
    }
  }

  SSD_LSTAMP(wh.flag, 5);
  ssd_finish(S, wh, nseg, batch, chain, final_state, ws_sync, ws_state, epoch, off);
}
