// gw_gemm.cuh: ssdc's own Hopper GEMM, Y = X W^T (bf16 operands, fp32
// accumulation), for the projections whose epilogue cuBLASLt cannot do: the
// gated norm's per-token row scale in out_proj (bench/NOTES.md, sessions 21
// and 25-26).  sm_90a (wgmma, setmaxnreg); the runtime launches it through
// rt_cuda_gemm (runtime/rt_cuda_exec.c), bench/gemm_probe.cu beside cuBLASLt.
//
// X is [M x K] and W [N x K], both K-major (row-major with K contiguous), as
// the model's activations and nn.Linear weights are; K a multiple of 64.  A
// persistent grid of one block per SM walks 128 x 256 output tiles in bands
// of gm row tiles (a band's X rows and a few W column tiles stay in L2).
// Each block is three warpgroups: in warpgroup 0 one thread is the producer
// (it issues the tensor copies of a stage's 128 x 64 X box and 256 x 64 W
// box, 48 KB, into GW_STAGES stages) and warps 1-3 are the storers (the
// epilogue's conv and tensor stores, gw_store); warpgroups 1 and 2 each own
// 64 rows of the tile and run wgmma.m64n256k16 from shared memory on both
// operands (128-byte swizzle, which is what the tensor copies write), 128
// fp32 accumulators a thread, and hand each finished tile to the storers
// through the staging (gw_stage).  full[s] completes when a stage's bytes
// have landed, empty[s] when the eight consumer warps have finished reading
// it.  Rows past M and columns past N read as zeros and are clipped by the
// stores.
//
// Prologue #defines (codegen/cg_cuda_ops.c): the geometry GW_BM, GW_BN,
// GW_BK, GW_STAGES (cg_cuda_ops.h's CG_OP_GEMM_*, which the launcher uses
// too); GW_EPI 0 stores bf16 Y; 1 adds
// into an fp32 Y, Y += s[row] (X W^T) (out_proj accumulating into the
// residual stream), where with GW_SS_PARTS > 0 s[row] = rsqrt(sum of the
// row's GW_SS_PARTS partial sums of squares in ss / GW_SS_D + GW_SS_EPS):
// a gated RMSNorm over whole rows folded into the SSD kernel before it
// (cg_ssd_spec.gnorm), whose pass then disappears; else s = 1.
// GW_CV_K > 0 (bf16 Y only): Mamba's causal depthwise conv (GW_CV_K taps,
// + bias with GW_CV_BIAS, + SiLU with GW_CV_SILU) over Y's columns
// [GW_CV_C0, GW_CV_C0 + GW_CV_D) along the rows (tokens: B sequences of L),
// in the epilogue, so in_proj writes xBC already convolved and the conv's
// pass (a read and a write of every xBC element) disappears (gw_conv_column,
// run by the storers).
#if GW_CV_K && (GW_EPI != 0 || GW_CV_K > 4 || GW_CV_C0 % 8 || GW_CV_D % 8)
#error "the conv epilogue needs a bf16 Y, at most 4 taps and columns in 8s"
#endif
#if GW_BM != 128 || GW_BN != 256 || GW_BK != 64 || GW_STAGES < 2
#error "gw_gemm.cuh is written for 128 x 256 tiles (two m64n256 warpgroups), k-steps of 64, >= 2 stages"
#endif
#if GW_EPI == 0
#define GW_ESZ 2 /* bytes of an output element */
#else
#define GW_ESZ 4
#endif
#define GW_CR (256 / GW_ESZ) /* output columns a staging round holds (two 128-byte boxes a row) */
#define GW_CB (128 / GW_ESZ) /* output columns a box holds */
#define GW_THREADS 384
#define GW_STORERS 96 /* warps 1-3 of warpgroup 0: threads 32 .. 127 */
/* Registers a thread after setmaxnreg: the producer's warpgroup (whose
 * storers run the conv) and the consumers' (128 fp32 accumulators), within
 * the SM's 64 K for the block: 128 (GW_REG_P + 2 GW_REG_C) <= 65536. */
#define GW_REG_P 88
#define GW_REG_C 208

struct gw_smem {
  ssd_bf16 a[GW_STAGES][GW_BM * GW_BK]; /* 16 KB a stage, 1024-byte aligned (the swizzle's period) */
  ssd_bf16 b[GW_STAGES][GW_BN * GW_BK]; /* 32 KB */
  unsigned char stg[2][2 * GW_BM * 128]; /* the epilogue's staging: two halves of two boxes (128 rows x 128 bytes) */
  u64 full[GW_STAGES], empty[GW_STAGES];
  u64 sfull[2], sfree[2]; /* a staging half written by the consumers / read by its stores */
};

#if !SSDC_EMU
template <int R> __device__ __forceinline__ void gw_setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
}
template <int R> __device__ __forceinline__ void gw_setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
}
// Tensor stores from shared memory (the epilogue's staging), plain or adding
// into fp32 in L2; bulk groups, whose reads of shared memory the issuing
// thread waits for before the staging is written again.
__device__ __forceinline__ void gw_tma_store(const ssd_tmap *m, const void *src, int c0, int c1) {
#if GW_EPI == 0
  asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%1, %2, %3}], [%4];\n" ::"l"(m),
               "r"(c0), "r"(c1), "r"(0), "r"(smem_addr(src))
               : "memory");
#else
  asm volatile("cp.reduce.async.bulk.tensor.3d.global.shared::cta.add.bulk_group [%0, {%1, %2, %3}], [%4];\n" ::"l"(m),
               "r"(c0), "r"(c1), "r"(0), "r"(smem_addr(src))
               : "memory");
#endif
}
__device__ __forceinline__ void gw_store_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Wait until the bulk groups have read their shared memory.
__device__ __forceinline__ void gw_store_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
__device__ __forceinline__ void gw_store_wait_all() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }
#else // the emulated device: registers are not a budget; stores land at once
template <int R> __device__ __forceinline__ void gw_setmaxnreg_inc() {}
template <int R> __device__ __forceinline__ void gw_setmaxnreg_dec() {}
__device__ __forceinline__ void gw_tma_store(const ssd_tmap *m, const void *src, int c0, int c1) {
  emu_tma_store_3d(m->v, src, c0, c1, 0, GW_EPI == 1);
}
__device__ __forceinline__ void gw_store_commit() {}
__device__ __forceinline__ void gw_store_wait_read() {}
__device__ __forceinline__ void gw_store_wait_all() {}
#endif

// Tile t of the walk: bands of gm row tiles, column tiles outer within a
// band, so that consecutive tiles share a W box and neighbouring X boxes.
__device__ __forceinline__ void gw_tile(int t, int mt, int nt, int gm, int &m0, int &n0) {
  const int band = t / (gm * nt), r = t % (gm * nt);
  const int left = mt - band * gm, rows = gm < left ? gm : left;
  m0 = (band * gm + r % rows) * GW_BM, n0 = (r / rows) * GW_BN;
}

// The row scale of row `row` (< M): the four lanes of a quad that share the
// row (q = lane % 4) each sum a quarter of its partial sums.
__device__ __forceinline__ float gw_row_scale(const float *ss, int row, int M, int q) {
#if GW_EPI == 1 && GW_SS_PARTS > 0
  float s = 0.f;
  if (row < M)
    for (int p = q; p < GW_SS_PARTS; p += 4) s += ss[(long long)row * GW_SS_PARTS + p];
  s += __shfl_xor_sync(0xffffffffu, s, 1);
  s += __shfl_xor_sync(0xffffffffu, s, 2);
  return rsqrtf(s / (float)GW_SS_D + (float)GW_SS_EPS);
#else
  (void)ss, (void)row, (void)M, (void)q;
  return 1.f;
#endif
}

#if GW_CV_K
#define GW_CV_H (GW_CV_K - 1) /* the inputs before a row that its output reads */
// The conv epilogue's operands: the conv's fp32 weights [D][K] and bias,
// the state before each sequence (st_in, [B][D][K-1] fp32, NULL: zeros) and
// after it (st_out, NULL: not kept; a buffer other than st_in), and the
// edge rows: slot i of `edge` ([tiles][2 H][D] bf16) gets row tile i's first
// H raw rows (rows H.. of the slot) and row tile i-1's last H (rows 0..H-1),
// for the fix-up kernel (ops_conv.cuh, OPS_EDGE): a tile's first H outputs
// read its predecessor's rows, which another block computes.
struct gw_cv {
  const float *w, *bias, *st_in;
  float *st_out;
  ssd_bf16 *edge;
  long long L, mt;
};

// Word (two bf16 columns) of column pair p (0..63) of row r in a staging half.
__device__ __forceinline__ u32 *gw_stg_word(unsigned char *half, int r, int p) {
  const int cb = (p & 31) * 4;
  return reinterpret_cast<u32 *>(half + (p >> 5) * (GW_BM * 128) + r * 128 + ((((cb >> 4) ^ (r & 7))) << 4) +
                                 (cb & 15));
}
// Input u (< s0, the start of its row's sequence b) of channel ch: the state.
__device__ __forceinline__ float gw_cv_state(const gw_cv &a, long long b, int ch, long long u, long long s0) {
  return a.st_in ? a.st_in[(b * GW_CV_D + ch) * GW_CV_H + GW_CV_H + (u - s0)] : 0.f;
}
// Raw word v of channels ch, ch + 1 as input i (< H) of sequence b's new state.
__device__ __forceinline__ void gw_cv_keep(const gw_cv &a, int b, int ch, int i, u32 v) {
  a.st_out[((long long)b * GW_CV_D + ch) * GW_CV_H + i] = bf2_lo(v);
  a.st_out[((long long)b * GW_CV_D + ch + 1) * GW_CV_H + i] = bf2_hi(v);
}

#define GW_CV_R 16 /* rows a storer holds in registers at once */
// A chunk of GW_CV_R rows of column pair p, raw in v, history h (the H raw
// inputs before its first row): each raw value replaced by its output,
// summed in the conv kernel's order (bias, then taps oldest first) so the two
// agree bit for bit.  The general chunk (G) clips at M and restarts the
// history where a sequence starts (b, s0: the current sequence, which it
// advances); a chunk that needs neither (all of them where sequences start on
// chunk boundaries) runs without a branch, so that its rows' SiLUs overlap
// each other's latency.
template <bool G>
__device__ __forceinline__ void gw_conv_rows(u32 (&v)[GW_CV_R], float (&h)[2][GW_CV_H], const float (&w)[2][GW_CV_K],
                                             const float (&bc)[2], int ch, int t0, int &b, int &s0, int M,
                                             const gw_cv &a) {
#pragma unroll
  for (int j = 0; j < GW_CV_R; j++) {
    const int row = t0 + j;
    if (G && row >= M) break;
    if (G && row == s0 + (int)a.L) { /* a sequence starts: its history is its state */
      b++, s0 = row;
#pragma unroll
      for (int e = 0; e < 2; e++)
#pragma unroll
        for (int k = 0; k < GW_CV_H; k++) h[e][k] = gw_cv_state(a, b, ch + e, s0 - GW_CV_H + k, s0);
    }
    const float x[2] = {bf2_lo(v[j]), bf2_hi(v[j])};
    float o[2];
#pragma unroll
    for (int e = 0; e < 2; e++) {
      float acc = bc[e];
#pragma unroll
      for (int k = 0; k < GW_CV_H; k++) acc += w[e][k] * h[e][k];
      acc += w[e][GW_CV_H] * x[e];
#if GW_CV_SILU
      acc = ssd_silu(acc);
#endif
      o[e] = acc;
#pragma unroll
      for (int k = 0; k + 1 < GW_CV_H; k++) h[e][k] = h[e][k + 1];
      h[e][GW_CV_H - 1] = x[e];
    }
    v[j] = pack_bf2(o[0], o[1]);
  }
}

// The conv over column pair p of one staged round (tile columns col0 ..): one
// storer thread takes all the tile's rows, GW_CV_R at a time, so no thread
// reads a raw row another has overwritten.  The history starts from the H
// rows before the tile: the state where a sequence starts there, else zeros,
// which the fix-up kernel (ops_conv.cuh, OPS_EDGE) rewrites from the edge
// rows recorded here (the tile's first H raw rows, and its last H for the
// next tile).  Raw rows among a sequence's last H are its new state.  Rows
// are ints: M is.
__device__ __forceinline__ void gw_conv_column(unsigned char *half, int p, int m0, int col0, int M, const gw_cv &a) {
  const int ch = col0 + 2 * p - GW_CV_C0; /* the pair's first channel */
  if (ch < 0 || ch >= GW_CV_D) return;
  const int L = (int)a.L;
  int b = m0 / L, s0 = b * L;
  float h[2][GW_CV_H], w[2][GW_CV_K], bc[2] = {0.f, 0.f};
#pragma unroll
  for (int e = 0; e < 2; e++) {
#pragma unroll
    for (int k = 0; k < GW_CV_K; k++) w[e][k] = a.w[(ch + e) * GW_CV_K + k];
#if GW_CV_BIAS
    bc[e] = a.bias[ch + e];
#endif
#pragma unroll
    for (int k = 0; k < GW_CV_H; k++) {
      const int u = m0 - GW_CV_H + k;
      h[e][k] = u < s0 ? gw_cv_state(a, b, ch + e, u, s0) : 0.f;
    }
  }
  const long long tile = m0 / GW_BM;
  for (int c = 0; c < GW_BM && m0 + c < M; c += GW_CV_R) {
    const int t0 = m0 + c;
    u32 v[GW_CV_R];
#pragma unroll
    for (int j = 0; j < GW_CV_R; j++) v[j] = *gw_stg_word(half, c + j, p);
    if (c == 0)
#pragma unroll
      for (int j = 0; j < GW_CV_H; j++)
        *reinterpret_cast<u32 *>(a.edge + ((tile * 2 + 1) * GW_CV_H + j) * GW_CV_D + ch) = v[j];
    if (c + GW_CV_R == GW_BM && tile + 1 < a.mt)
#pragma unroll
      for (int j = 0; j < GW_CV_H; j++)
        *reinterpret_cast<u32 *>(a.edge + ((tile + 1) * 2 * GW_CV_H + j) * GW_CV_D + ch) = v[GW_CV_R - GW_CV_H + j];
    if (a.st_out && t0 + GW_CV_R + GW_CV_H > s0 + L) /* rows near a sequence's end (s0 may lag one sequence) */
#pragma unroll
      for (int j = 0; j < GW_CV_R; j++) {
        const int r = t0 + j;
        if (r < M && r % L >= L - GW_CV_H) gw_cv_keep(a, r / L, ch, r % L - (L - GW_CV_H), v[j]);
      }
    if (t0 + GW_CV_R <= M && t0 + GW_CV_R <= s0 + L) { /* whole and inside the current sequence */
      gw_conv_rows<false>(v, h, w, bc, ch, t0, b, s0, M, a);
#pragma unroll
      for (int j = 0; j < GW_CV_R; j++) *gw_stg_word(half, c + j, p) = v[j];
    } else {
      gw_conv_rows<true>(v, h, w, bc, ch, t0, b, s0, M, a);
#pragma unroll
      for (int j = 0; j < GW_CV_R; j++)
        if (t0 + j < M) *gw_stg_word(half, c + j, p) = v[j];
    }
  }
}
#else
struct gw_cv {};
#endif

// The epilogue, handed from the consumers to the storers through the staging
// in rounds of two boxes that alternate between its halves.  A consumer
// waits until the half's last stores have read it (sfree), writes its
// accumulators (scaled for fp32) at the 128-byte swizzle's addresses
// (conflict-free), publishes them to the async proxy and arrives on sfull;
// then it goes on to the next tile's mainloop.  So the tensor cores do not
// wait for the stores, nor for the conv, which the storers run meanwhile.
__device__ __forceinline__ void gw_stage(gw_smem &sm, const float (&d)[32][4], const float (&sc)[2], int r0, int q,
                                         unsigned &ph) {
#pragma unroll
  for (int rd = 0; rd < GW_BN / GW_CR; rd++) {
    const int hf = rd & 1;
    mb_wait(&sm.sfree[hf], (ph >> hf & 1u) ^ 1u);
    ph ^= 1u << hf;
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int r = r0 + 8 * h;
#pragma unroll
      for (int jj = 0; jj < GW_CR / 8; jj++) {
        const int j = rd * (GW_CR / 8) + jj, cb = (8 * jj + 2 * q) * GW_ESZ; /* byte column in the round */
        unsigned char *p = sm.stg[hf] + (cb >> 7) * (GW_BM * 128) + r * 128 + ((((cb >> 4) & 7) ^ (r & 7)) << 4) +
                           (cb & 15);
#if GW_EPI == 0
        (void)sc;
        *reinterpret_cast<u32 *>(p) = pack_bf2(d[j][2 * h], d[j][2 * h + 1]);
#else
        *reinterpret_cast<float2 *>(p) = make_float2(sc[h] * d[j][2 * h], sc[h] * d[j][2 * h + 1]);
#endif
      }
    }
    fence_proxy_async();
    mb_arrive(&sm.sfull[hf]);
  }
}

// The storers (warps 1-3 of the producer's warpgroup): for each round of each
// tile, once the consumers have staged it, the first 64 convolve it in place
// where it holds conv columns (one column pair each, gw_conv_column), then
// the first sends its two boxes, waits until they have been read and frees
// the half.
__device__ __forceinline__ void gw_store(gw_smem &sm, const ssd_tmap *tm_y, int mt, int nt, int gm, int M,
                                         const gw_cv &cv) {
  const int e = threadIdx.x - (128 - GW_STORERS);
  unsigned ph = 0;
  for (int t = blockIdx.x; t < mt * nt; t += gridDim.x) {
    int m0, n0;
    gw_tile(t, mt, nt, gm, m0, n0);
#pragma unroll 1
    for (int rd = 0; rd < GW_BN / GW_CR; rd++) {
      const int hf = rd & 1, col0 = n0 + rd * GW_CR;
      mb_wait(&sm.sfull[hf], ph >> hf & 1u);
      ph ^= 1u << hf;
#if GW_CV_K
      if (col0 < GW_CV_C0 + GW_CV_D && col0 + GW_CR > GW_CV_C0) {
        if (e < GW_CR / 2) gw_conv_column(sm.stg[hf], e, m0, col0, M, cv);
        fence_proxy_async();
        bar_named(2, GW_STORERS);
      }
#else
      (void)M, (void)cv;
#endif
      if (e == 0) {
#pragma unroll
        for (int b = 0; b < 2; b++) gw_tma_store(tm_y, sm.stg[hf] + b * GW_BM * 128, col0 + b * GW_CB, m0);
        gw_store_commit();
        gw_store_wait_read();
        mb_arrive(&sm.sfree[hf]);
      }
    }
  }
  if (e == 0) gw_store_wait_all();
}

// The producer: one thread walks the block's tiles and k-steps, waiting for
// a stage to be released before copying the next boxes into it.
__device__ __forceinline__ void gw_produce(gw_smem &sm, const ssd_tmap *tm_x, const ssd_tmap *tm_w, int mt, int nt,
                                           int kt, int gm) {
  int s = 0;
  unsigned ph = 0;
  for (int t = blockIdx.x; t < mt * nt; t += gridDim.x) {
    int m0, n0;
    gw_tile(t, mt, nt, gm, m0, n0);
    for (int k = 0; k < kt; k++) {
      mb_wait(&sm.empty[s], ph ^ 1);
      mb_expect_tx(&sm.full[s], (GW_BM + GW_BN) * GW_BK * 2);
      tma_load_3d(sm.a[s], tm_x, k * GW_BK, m0, 0, &sm.full[s]);
      tma_load_3d(sm.b[s], tm_w, k * GW_BK, n0, 0, &sm.full[s]);
      if (++s == GW_STAGES) s = 0, ph ^= 1;
    }
  }
}

extern "C" __global__ void __launch_bounds__(GW_THREADS, 1)
    OPS_KERNEL(const __grid_constant__ ssd_tmap tm_x, const __grid_constant__ ssd_tmap tm_w,
               const __grid_constant__ ssd_tmap tm_y, const float *ss, int M, int N, int K, int gm,
               const float *cv_w, const float *cv_bias, const float *cv_st_in, float *cv_st_out,
               ssd_bf16 *cv_edge, long long cv_L) {
  SSD_DYN_SMEM_1K(raw);
  gw_smem &sm = *reinterpret_cast<gw_smem *>(raw);
  const int wg = threadIdx.x / 128, tid = threadIdx.x % 128;
  const int mt = (M + GW_BM - 1) / GW_BM, nt = (N + GW_BN - 1) / GW_BN, kt = K / GW_BK;
#if GW_CV_K
  const gw_cv cv = {cv_w, cv_bias, cv_st_in, cv_st_out, cv_edge, cv_L, mt};
#else
  const gw_cv cv = {};
  (void)cv_w, (void)cv_bias, (void)cv_st_in, (void)cv_st_out, (void)cv_edge, (void)cv_L;
#endif
  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < GW_STAGES; s++) mb_init(&sm.full[s], 1), mb_init(&sm.empty[s], 8);
#pragma unroll
    for (int h = 0; h < 2; h++) mb_init(&sm.sfull[h], 256), mb_init(&sm.sfree[h], 1);
    mb_init_fence();
  }
  __syncthreads();
  if (wg == 0) {
    gw_setmaxnreg_dec<GW_REG_P>();
    if (tid < 32) {
      if (tid == 0) gw_produce(sm, &tm_x, &tm_w, mt, nt, kt, gm);
      __syncwarp();
    } else {
      gw_store(sm, &tm_y, mt, nt, gm, M, cv);
    }
    return;
  }
  gw_setmaxnreg_inc<GW_REG_C>();
  const int c = wg - 1, warp = tid / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
  const int r0 = c * 64 + warp * 16 + g; /* the thread's first row in the tile (and r0 + 8) */
  int s = 0;
  unsigned ph = 0, sph = 0;
  for (int t = blockIdx.x; t < mt * nt; t += gridDim.x) {
    int m0, n0;
    gw_tile(t, mt, nt, gm, m0, n0);
    float d[32][4];
#pragma unroll
    for (int j = 0; j < 32; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) d[j][e] = 0.f;
    int prev = -1;
    for (int k = 0; k < kt; k++) {
      mb_wait(&sm.full[s], ph);
      const wg_desc da = wg_make_desc_sw128(&sm.a[s][c * 64 * GW_BK]), db = wg_make_desc_sw128(sm.b[s]);
      wg_fence_acc(d);
      wg_fence();
#pragma unroll
      for (int kk = 0; kk < GW_BK / 16; kk++) wg_mma_ss_n256(d, wg_desc_adv(da, 32 * kk), wg_desc_adv(db, 32 * kk));
      wg_commit();
      wg_wait<1>();
      wg_fence_acc(d);
      if (prev >= 0 && lane == 0) mb_arrive(&sm.empty[prev]);
      prev = s;
      if (++s == GW_STAGES) s = 0, ph ^= 1;
    }
    wg_wait<0>();
    wg_fence_acc(d);
    if (lane == 0 && prev >= 0) mb_arrive(&sm.empty[prev]);
    const float sc[2] = {gw_row_scale(ss, m0 + r0, M, q), gw_row_scale(ss, m0 + r0 + 8, M, q)};
    gw_stage(sm, d, sc, r0, q, sph);
  }
}
