// gemm_wg.cuh: a Hopper GEMM of ssdc's own, Y = X W^T (bf16 operands, fp32
// accumulation), as a probe of whether ssdc can match cuBLAS on the 2.7b's
// in_proj and out_proj; the fusions cuBLASLt has no epilogue for (the gated
// norm's per-token row scale in out_proj, bench/NOTES.md session 21; the
// causal conv in in_proj) need a GEMM whose epilogue ssdc writes.
//
// X is [M x K] and W [N x K], both K-major (row-major with K contiguous), as
// the model's activations and nn.Linear weights are.  A persistent grid of one
// block per SM walks 128 x 256 output tiles in bands of gm row tiles (a
// band's X rows and a few W column tiles stay in L2).  Each block is three
// warpgroups: warpgroup 0 is the producer (one thread issues the tensor copies
// of a stage's 128 x 64 X box and 256 x 64 W box, 48 KB, into GW_STAGES
// stages), warpgroups 1 and 2 each own 64 rows of the tile and run
// wgmma.m64n256k16 from shared memory on both operands (128-byte swizzle,
// which is what the tensor copies write), 128 fp32 accumulators a thread.
// full[s] completes when a stage's bytes have landed, empty[s] when the eight
// consumer warps have finished reading it.
//
// The band height gm (row tiles) is an argument, for the probe to sweep.
//
// Epilogues (GW_EPI): 0 stores bf16 Y (row stride ldy); 1 accumulates into an
// fp32 Y with a per-row scale, Y = rs[row] * (X W^T) + Y (reductions in L2): out_proj adding into
// the residual stream, the gated norm's row scale applied (rs = NULL: 1).
#ifndef GW_STAGES
#define GW_STAGES 3
#endif
#ifndef GW_TMA_EPI
#define GW_TMA_EPI 1 /* 0: the epilogue stores from registers (the probe's comparison) */
#endif
#if GW_EPI == 0
#define GW_ESZ 2 /* bytes of an output element */
#else
#define GW_ESZ 4
#endif
#ifndef GW_CLUSTER
#define GW_CLUSTER 1 /* 2: blocks in pairs along M, each tensor-copying half of the shared W box to both */
#endif
#define GW_CR (256 / GW_ESZ) /* output columns a staging round holds (two 128-byte boxes a row) */
#define GW_CB (128 / GW_ESZ) /* output columns a box holds */
#ifndef GW_EPI
#define GW_EPI 0
#endif
#define GW_BM 128
#define GW_BN 256
#define GW_BK 64
#define GW_THREADS 384

struct gw_smem {
  ssd_bf16 a[GW_STAGES][GW_BM * GW_BK]; /* 16 KB a stage, 1024-byte aligned (the swizzle's period) */
  ssd_bf16 b[GW_STAGES][GW_BN * GW_BK]; /* 32 KB */
  unsigned char stg[2][2 * GW_BM * 128]; /* the epilogue's staging: two halves of two boxes (128 rows x 128 bytes) */
  u64 full[GW_STAGES], empty[GW_STAGES];
};

#if !SSDC_EMU
// A K-major operand in the 128-byte swizzle: rows of 64 bf16 (128 bytes), 8-row
// groups 1024 bytes apart (SBO); LBO is unused in this mode (1 by convention);
// layout type 1 = 128-byte swizzle (bits 62-63).  The k-th 16-column step
// within the 64-column box starts 32 bytes further.
__device__ __forceinline__ u64 gw_desc(const void *p) { return wg_make_desc(p, 16, 1024) | (u64)1 << 62; }
template <int R> __device__ __forceinline__ void gw_setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
}
template <int R> __device__ __forceinline__ void gw_setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
}
// y[0..1] += (a, b) in L2 (red: no value comes back, so the epilogue never
// waits on a load; each element has one adder, so the sum is Y + v exactly
// as a load, add and store would make it).
__device__ __forceinline__ void gw_red_add2(float *y, float a, float b) {
  asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(y), "f"(a), "f"(b) : "memory");
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
// D += A B, m64n256k16, both operands K-major in shared memory (wg_mma.cuh
// has the 64- and 128-column shapes).
__device__ __forceinline__ void gw_mma_n256(float (&d)[32][4], u64 da, u64 db) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, %128, %129, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3]), "+f"(d[16][0]), "+f"(d[16][1]), "+f"(d[16][2]), "+f"(d[16][3]), "+f"(d[17][0]), "+f"(d[17][1]), "+f"(d[17][2]), "+f"(d[17][3]), "+f"(d[18][0]), "+f"(d[18][1]), "+f"(d[18][2]), "+f"(d[18][3]), "+f"(d[19][0]), "+f"(d[19][1]), "+f"(d[19][2]), "+f"(d[19][3]), "+f"(d[20][0]), "+f"(d[20][1]), "+f"(d[20][2]), "+f"(d[20][3]), "+f"(d[21][0]), "+f"(d[21][1]), "+f"(d[21][2]), "+f"(d[21][3]), "+f"(d[22][0]), "+f"(d[22][1]), "+f"(d[22][2]), "+f"(d[22][3]), "+f"(d[23][0]), "+f"(d[23][1]), "+f"(d[23][2]), "+f"(d[23][3]), "+f"(d[24][0]), "+f"(d[24][1]), "+f"(d[24][2]), "+f"(d[24][3]), "+f"(d[25][0]), "+f"(d[25][1]), "+f"(d[25][2]), "+f"(d[25][3]), "+f"(d[26][0]), "+f"(d[26][1]), "+f"(d[26][2]), "+f"(d[26][3]), "+f"(d[27][0]), "+f"(d[27][1]), "+f"(d[27][2]), "+f"(d[27][3]), "+f"(d[28][0]), "+f"(d[28][1]), "+f"(d[28][2]), "+f"(d[28][3]), "+f"(d[29][0]), "+f"(d[29][1]), "+f"(d[29][2]), "+f"(d[29][3]), "+f"(d[30][0]), "+f"(d[30][1]), "+f"(d[30][2]), "+f"(d[30][3]), "+f"(d[31][0]), "+f"(d[31][1]), "+f"(d[31][2]), "+f"(d[31][3])
      : "l"(da), "l"(db));
}
#endif

// Tile t of the walk: bands of gm row tiles, column tiles outer within a
// band, so that consecutive tiles share a W box and neighbouring X boxes.
// With GW_CLUSTER 2 the walk is over pairs of row tiles, a pair per cluster;
// rank is the block's place in its pair.
__device__ __forceinline__ void gw_tile(int t, int mt, int nt, int gm, int rank, int &m0, int &n0) {
  const int band = t / (gm * nt), r = t % (gm * nt);
  const int rows = min(gm, mt - band * gm);
  m0 = ((band * gm + r % rows) * GW_CLUSTER + rank) * GW_BM, n0 = (r / rows) * GW_BN;
}
__device__ __forceinline__ u32 gw_rank() {
#if GW_CLUSTER > 1
  u32 r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
#else
  return 0;
#endif
}
__device__ __forceinline__ void gw_cluster_sync() {
#if GW_CLUSTER > 1
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
#else
  __syncthreads();
#endif
}
// A consumer warp's release of a stage: to its own block's empty barrier and,
// in a pair, to the peer's (whose producer writes half of this block's W box).
__device__ __forceinline__ void gw_release(u64 *mb) {
  mb_arrive(mb);
#if GW_CLUSTER > 1
  u32 remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(remote) : "r"(smem_addr(mb)), "r"(gw_rank() ^ 1));
  asm volatile("mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%0];\n" ::"r"(remote) : "memory");
#endif
}
__device__ __forceinline__ void gw_tma_w(void *dst, const ssd_tmap *m, int c0, int c1, u64 *mb) {
#if GW_CLUSTER > 1
  const unsigned short mask = 3;
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster "
               "[%0], [%1, {%2, %3, %4}], [%5], %6;\n" ::"r"(smem_addr(dst)), "l"(m), "r"(c0), "r"(c1), "r"(0),
               "r"(smem_addr(mb)), "h"(mask)
               : "memory");
#else
  tma_load_3d(dst, m, c0, c1, 0, mb);
#endif
}

#if GW_TMA_EPI
// The epilogue through the staging, in rounds of two boxes that alternate
// between the staging's halves: before a round the issuing thread (the first
// consumer) waits until the stores of the round before last have read their
// half, the 256 consumer threads write their accumulators (scaled by rs for
// fp32) at the 128-byte swizzle's addresses (conflict-free), publish them to
// the async proxy, and the issuer sends the two boxes.  One half drains while
// the other is written, and the next tile's mainloop starts while the last
// ones drain.  Rows past M and columns past N are clipped by the copy.
__device__ __forceinline__ void gw_epilogue(gw_smem &sm, const float (&d)[32][4], const ssd_tmap *tm_y,
                                            const float *rs, int m0, int n0, int M, int r0, int q) {
  const bool issuer = threadIdx.x == 128;
#pragma unroll
  for (int rd = 0; rd < GW_BN / GW_CR; rd++) {
    if (issuer) gw_store_wait_read();
    bar_named(1, 256);
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int r = r0 + 8 * h;
#if GW_EPI == 1
      const float sc = rs && m0 + r < M ? rs[m0 + r] : 1.f;
#else
      (void)rs, (void)M;
#endif
#pragma unroll
      for (int jj = 0; jj < GW_CR / 8; jj++) {
        const int j = rd * (GW_CR / 8) + jj, cb = (8 * jj + 2 * q) * GW_ESZ; /* byte column in the round */
        unsigned char *p = sm.stg[rd & 1] + (cb >> 7) * (GW_BM * 128) + r * 128 + ((((cb >> 4) & 7) ^ (r & 7)) << 4) +
                           (cb & 15);
#if GW_EPI == 0
        *reinterpret_cast<u32 *>(p) = pack_bf2(d[j][2 * h], d[j][2 * h + 1]);
#else
        *reinterpret_cast<float2 *>(p) = make_float2(sc * d[j][2 * h], sc * d[j][2 * h + 1]);
#endif
      }
    }
    fence_proxy_async();
    bar_named(1, 256);
    if (issuer) {
#pragma unroll
      for (int b = 0; b < 2; b++) gw_tma_store(tm_y, sm.stg[rd & 1] + b * GW_BM * 128, n0 + rd * GW_CR + b * GW_CB, m0);
      gw_store_commit();
    }
  }
}
#endif

extern "C" __global__ void __launch_bounds__(GW_THREADS, 1)
    gw_gemm(const __grid_constant__ ssd_tmap tm_x, const __grid_constant__ ssd_tmap tm_w,
            const __grid_constant__ ssd_tmap tm_y, void *y, long long ldy,
            const float *rs, int M, int N, int K, int gm, int no_epi) {
  SSD_DYN_SMEM_1K(raw);
  gw_smem &sm = *reinterpret_cast<gw_smem *>(raw);
  const int wg = threadIdx.x / 128, tid = threadIdx.x % 128;
  const int mt = (M + GW_BM * GW_CLUSTER - 1) / (GW_BM * GW_CLUSTER), nt = (N + GW_BN - 1) / GW_BN, kt = K / GW_BK;
  const int tiles = mt * nt, t0 = blockIdx.x / GW_CLUSTER, tstep = gridDim.x / GW_CLUSTER;
  const int rank = (int)gw_rank();
  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < GW_STAGES; s++) mb_init(&sm.full[s], 1), mb_init(&sm.empty[s], 8 * GW_CLUSTER);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  gw_cluster_sync();
  if (wg == 0) { /* the producer */
    gw_setmaxnreg_dec<40>();
    if (tid == 0) {
      int s = 0;
      unsigned ph = 0;
      for (int t = t0; t < tiles; t += tstep) {
        int m0, n0;
        gw_tile(t, mt, nt, gm, rank, m0, n0);
        const int wr = rank * (GW_BN / GW_CLUSTER); /* this block's share of the W box */
        for (int k = 0; k < kt; k++) {
          mb_wait(&sm.empty[s], ph ^ 1);
          mb_expect_tx(&sm.full[s], (GW_BM + GW_BN) * GW_BK * 2);
          tma_load_3d(sm.a[s], &tm_x, k * GW_BK, m0, 0, &sm.full[s]);
          gw_tma_w(sm.b[s] + wr * GW_BK, &tm_w, k * GW_BK, n0 + wr, &sm.full[s]);
          if (++s == GW_STAGES) s = 0, ph ^= 1;
        }
      }
    }
    __syncwarp();
    gw_cluster_sync();
    return;
  }
  gw_setmaxnreg_inc<232>();
  const int c = wg - 1, warp = tid / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
  int s = 0;
  unsigned ph = 0;
  for (int t = t0; t < tiles; t += tstep) {
    int m0, n0;
    gw_tile(t, mt, nt, gm, rank, m0, n0);
    float d[32][4];
#pragma unroll
    for (int j = 0; j < 32; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) d[j][e] = 0.f;
    int prev = -1;
    for (int k = 0; k < kt; k++) {
      mb_wait(&sm.full[s], ph);
      const u64 da = gw_desc(&sm.a[s][c * 64 * GW_BK]), db = gw_desc(sm.b[s]);
      wg_fence_acc(d);
      wg_fence();
#pragma unroll
      for (int kk = 0; kk < GW_BK / 16; kk++) gw_mma_n256(d, da + 2 * kk, db + 2 * kk);
      wg_commit();
      wg_wait<1>();
      wg_fence_acc(d);
      if (prev >= 0 && lane == 0) gw_release(&sm.empty[prev]);
      prev = s;
      if (++s == GW_STAGES) s = 0, ph ^= 1;
    }
    wg_wait<0>();
    wg_fence_acc(d);
    if (lane == 0) gw_release(&sm.empty[prev]);
    if (no_epi) continue; /* the probe's mainloop-only timing */
#if GW_TMA_EPI
    gw_epilogue(sm, d, &tm_y, rs, m0, n0, M, c * 64 + warp * 16 + g, q);
#else
    const int row0 = m0 + c * 64 + warp * 16 + g;
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int row = row0 + 8 * h;
      if (row >= M) continue;
#if GW_EPI == 0
      unsigned *yr = reinterpret_cast<unsigned *>(static_cast<ssd_bf16 *>(y) + (long long)row * ldy);
#pragma unroll
      for (int j = 0; j < 32; j++) {
        const int col = n0 + 8 * j + 2 * q;
        if (col < N) yr[col / 2] = pack_bf2(d[j][2 * h], d[j][2 * h + 1]);
      }
#else
      float *yr = static_cast<float *>(y) + (long long)row * ldy;
      const float sc = rs ? rs[row] : 1.f;
#pragma unroll
      for (int j = 0; j < 32; j++) {
        const int col = n0 + 8 * j + 2 * q;
        if (col < N) gw_red_add2(yr + col, sc * d[j][2 * h], sc * d[j][2 * h + 1]);
      }
#endif
    }
#endif
  }
#if GW_TMA_EPI
  if (threadIdx.x == 128) gw_store_wait_all();
#endif
  gw_cluster_sync(); /* no block leaves while its pair may still copy into it or arrive on its barriers */
}
