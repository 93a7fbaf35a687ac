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
// Each block is three warpgroups: warpgroup 0 is the producer (one thread
// issues the tensor copies of a stage's 128 x 64 X box and 256 x 64 W box,
// 48 KB, into GW_STAGES stages), warpgroups 1 and 2 each own 64 rows of the
// tile and run wgmma.m64n256k16 from shared memory on both operands (128-byte
// swizzle, which is what the tensor copies write), 128 fp32 accumulators a
// thread.  full[s] completes when a stage's bytes have landed, empty[s] when
// the eight consumer warps have finished reading it.  Rows past M and columns
// past N read as zeros and are clipped by the stores.
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
// pass (a read and a write of every xBC element) disappears (gw_conv_round).
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

struct gw_smem {
  ssd_bf16 a[GW_STAGES][GW_BM * GW_BK]; /* 16 KB a stage, 1024-byte aligned (the swizzle's period) */
  ssd_bf16 b[GW_STAGES][GW_BN * GW_BK]; /* 32 KB */
  unsigned char stg[2][2 * GW_BM * 128]; /* the epilogue's staging: two halves of two boxes (128 rows x 128 bytes) */
  u64 full[GW_STAGES], empty[GW_STAGES];
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
// Wait until at most one bulk group (the other staging half's) is still reading.
__device__ __forceinline__ void gw_store_wait_read() { asm volatile("cp.async.bulk.wait_group.read 1;\n" ::: "memory"); }
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

// A thread's strip of 32 rows of column pair p, raw in v, history h: each
// raw value replaced by its output, summed in the conv kernel's order (bias,
// then taps oldest first) so the two agree bit for bit.  The general strip
// (G) clips at M, restarts the history where a sequence starts and records
// each sequence's last H raw rows (the new state); a strip that needs neither
// of the first two (all of them where sequences start on strip boundaries)
// runs without a branch, so that the rows' SiLUs can overlap each other's
// latency, its state rows stored before (session 31: kept in the loop, they
// cost 8x2K's in_proj 0.085 ms a layer).
template <bool G>
__device__ __forceinline__ void gw_conv_strip(u32 (&v)[32], float (&h)[2][GW_CV_H], const float (&w)[2][GW_CV_K],
                                              const float (&bc)[2], int ch, int t0, int b, int s0, int M,
                                              const gw_cv &a) {
  int next = s0 + (int)a.L; /* the next sequence's first row */
#pragma unroll
  for (int j = 0; j < 32; j++) {
    const int row = t0 + j;
    if (G && row >= M) break;
    if (G && row == next) { /* a sequence starts: its history is its state */
      b++, s0 = next, next += (int)a.L;
#pragma unroll
      for (int e = 0; e < 2; e++)
#pragma unroll
        for (int k = 0; k < GW_CV_H; k++) h[e][k] = gw_cv_state(a, b, ch + e, s0 - GW_CV_H + k, s0);
    }
    const float x[2] = {bf2_lo(v[j]), bf2_hi(v[j])};
    if (G && a.st_out && row >= next - GW_CV_H) gw_cv_keep(a, b, ch, row - (next - GW_CV_H), v[j]);
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

// The conv over one staged round (tile columns 128 rd ..): the 256 consumer
// threads each take a column pair p and a strip of 32 rows.  Each first reads
// the H rows before its strip (from the staging, the state at a sequence's
// start, zeros before the tile, which the fix-up rewrites), then, once every
// thread has (the strips are overwritten in place), loads its strip, records
// the tile's edge rows and convolves it (gw_conv_strip).  Rows are ints: M is.
__device__ __forceinline__ void gw_conv_round(unsigned char *half, int m0, int col0, int M, const gw_cv &a) {
  const int t = threadIdx.x - 128, p = t & 63, rs = (t >> 6) * 32;
  const int ch = col0 + 2 * p - GW_CV_C0; /* the pair's first channel */
  const bool in = ch >= 0 && ch < GW_CV_D;
  const int t0 = m0 + rs, L = (int)a.L, b = t0 / L, s0 = b * L;
  float h[2][GW_CV_H], w[2][GW_CV_K], bc[2] = {0.f, 0.f};
  if (in) {
#pragma unroll
    for (int e = 0; e < 2; e++) {
#pragma unroll
      for (int k = 0; k < GW_CV_K; k++) w[e][k] = a.w[(ch + e) * GW_CV_K + k];
#if GW_CV_BIAS
      bc[e] = a.bias[ch + e];
#endif
#pragma unroll
      for (int k = 0; k < GW_CV_H; k++) {
        const int u = t0 - GW_CV_H + k;
        h[e][k] = u < s0 ? gw_cv_state(a, b, ch + e, u, s0) : 0.f;
      }
    }
#pragma unroll
    for (int k = 0; k < GW_CV_H; k++) {
      const int u = t0 - GW_CV_H + k;
      if (u >= s0 && u >= m0) {
        const u32 v = *gw_stg_word(half, u - m0, p);
        h[0][k] = bf2_lo(v), h[1][k] = bf2_hi(v);
      }
    }
  }
  bar_named(1, 256);
  if (!in) return;
  u32 v[32];
#pragma unroll
  for (int j = 0; j < 32; j++) v[j] = *gw_stg_word(half, rs + j, p);
  const long long tile = m0 / GW_BM;
  if (rs == 0) /* the tile's first H raw rows, and its last H for the next tile */
#pragma unroll
    for (int j = 0; j < GW_CV_H; j++)
      *reinterpret_cast<u32 *>(a.edge + ((tile * 2 + 1) * GW_CV_H + j) * GW_CV_D + ch) = v[j];
  if (rs == GW_BM - 32 && tile + 1 < a.mt)
#pragma unroll
    for (int j = 32 - GW_CV_H; j < 32; j++)
      *reinterpret_cast<u32 *>(a.edge + ((tile + 1) * 2 * GW_CV_H + j - (32 - GW_CV_H)) * GW_CV_D + ch) = v[j];
  if (t0 + 32 <= M && t0 + 32 <= s0 + L) { /* whole and inside one sequence */
    if (a.st_out && t0 + 32 + GW_CV_H > s0 + L) /* with some of its last H rows */
#pragma unroll
      for (int j = 0; j < 32; j++)
        if (t0 + j >= s0 + L - GW_CV_H) gw_cv_keep(a, b, ch, t0 + j - (s0 + L - GW_CV_H), v[j]);
    gw_conv_strip<false>(v, h, w, bc, ch, t0, b, s0, M, a);
#pragma unroll
    for (int j = 0; j < 32; j++) *gw_stg_word(half, rs + j, p) = v[j];
  } else {
    gw_conv_strip<true>(v, h, w, bc, ch, t0, b, s0, M, a);
#pragma unroll
    for (int j = 0; j < 32; j++)
      if (t0 + j < M) *gw_stg_word(half, rs + j, p) = v[j];
  }
}
#else
struct gw_cv {};
#endif

// The epilogue through the staging, in rounds of two boxes that alternate
// between the staging's halves: before a round the issuing thread (the first
// consumer) waits until the stores of the round before last have read their
// half, the 256 consumer threads write their accumulators (scaled for fp32)
// at the 128-byte swizzle's addresses (conflict-free), publish them to the
// async proxy, and the issuer sends the two boxes.  One half drains while the
// other is written, and the next tile's mainloop starts while the last ones
// drain.
__device__ __forceinline__ void gw_epilogue(gw_smem &sm, const float (&d)[32][4], const ssd_tmap *tm_y,
                                            const float (&sc)[2], int m0, int n0, int r0, int q, int M,
                                            const gw_cv &cv) {
  const bool issuer = threadIdx.x == 128;
#pragma unroll
  for (int rd = 0; rd < GW_BN / GW_CR; rd++) {
    if (issuer) gw_store_wait_read();
    bar_named(1, 256);
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int r = r0 + 8 * h;
#pragma unroll
      for (int jj = 0; jj < GW_CR / 8; jj++) {
        const int j = rd * (GW_CR / 8) + jj, cb = (8 * jj + 2 * q) * GW_ESZ; /* byte column in the round */
        unsigned char *p = sm.stg[rd & 1] + (cb >> 7) * (GW_BM * 128) + r * 128 + ((((cb >> 4) & 7) ^ (r & 7)) << 4) +
                           (cb & 15);
#if GW_EPI == 0
        (void)sc;
        *reinterpret_cast<u32 *>(p) = pack_bf2(d[j][2 * h], d[j][2 * h + 1]);
#else
        *reinterpret_cast<float2 *>(p) = make_float2(sc[h] * d[j][2 * h], sc[h] * d[j][2 * h + 1]);
#endif
      }
    }
#if GW_CV_K
    if (n0 + rd * GW_CR < GW_CV_C0 + GW_CV_D && n0 + (rd + 1) * GW_CR > GW_CV_C0) {
      bar_named(1, 256);
      gw_conv_round(sm.stg[rd & 1], m0, n0 + rd * GW_CR, M, cv);
    }
#else
    (void)M, (void)cv;
#endif
    fence_proxy_async();
    bar_named(1, 256);
    if (issuer) {
#pragma unroll
      for (int b = 0; b < 2; b++) gw_tma_store(tm_y, sm.stg[rd & 1] + b * GW_BM * 128, n0 + rd * GW_CR + b * GW_CB, m0);
      gw_store_commit();
    }
  }
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
    mb_init_fence();
  }
  __syncthreads();
  if (wg == 0) {
    gw_setmaxnreg_dec<40>();
    if (tid == 0) gw_produce(sm, &tm_x, &tm_w, mt, nt, kt, gm);
    __syncwarp();
    return;
  }
  gw_setmaxnreg_inc<232>();
  const int c = wg - 1, warp = tid / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
  const int r0 = c * 64 + warp * 16 + g; /* the thread's first row in the tile (and r0 + 8) */
  int s = 0;
  unsigned ph = 0;
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
    gw_epilogue(sm, d, &tm_y, sc, m0, n0, r0, q, M, cv);
  }
  if (threadIdx.x == 128) gw_store_wait_all();
}
