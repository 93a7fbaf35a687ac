// p1_probe.cu: what phase 1 of the chunked SSD kernel (each non-last
// segment's state-only pass) would cost as a launch of its own, built for it:
// a state-only kernel with P1_STAGES chunks of x and B tiles in flight (2:
// 55 KB of shared memory, four blocks per SM; 3 or 4: two blocks per SM) and
// no C, C B^T or output work, so that its loop is one state update and two
// barriers per chunk.  It computes what
// the in-kernel phase 1 does, bit for bit (the same ssd_state_update and dt
// scan, seglog summed in chunk order); the check below compares segment 0's
// state with the one the chunked kernel publishes (its entering state is zero
// there, so the published state is phase 1's own).  Build on the device:
//   nvcc -Ibench -I. -gencode arch=compute_90,code=sm_90 -std=c++17 \
//        -DKSRC='"k.cu"' bench/p1_probe.cu -o p1
//   ./p1 batch L seg_chunks
// -DP1_NOMMA=1 (no state update) and -DP1_NOLOAD=1 (no copies after the
// first stages' tiles) take the loop apart; their states are wrong.
// -DP1_STAGES=3 or 4 keeps more chunks in flight (session 23: slower).
// How the tiles arrive (session 23, calls 5-6; same states bit for bit):
//   default     cp.async, 16 bytes a thread, into padded rows (XS, BS);
//   P1_BULK=1   cp.async.bulk, one row a thread, an mbarrier a stage: slower;
//   P1_TMA=1    tensor copies (one 64 x 64 box of x, two of B, issued by one
//               thread) into dense tiles in the 128-byte swizzle, read by
//               ldmatrix at swizzled addresses: -22..-25%.  Link with -lcuda
//               (cuTensorMapEncodeTiled).
// Session 22's variant with several heads a block sharing B (p1_multi, no
// faster) is bench/results/gpu-2026-11-25-s22/call9-p1-multi.patch.
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>
#include <cuda.h> /* P1_TMA: cuTensorMapEncodeTiled (link -lcuda) */
#include "ssd_kernel_host.cuh"
#ifndef P1_NOMMA
#define P1_NOMMA 0
#endif
#ifndef P1_NOLOAD
#define P1_NOLOAD 0
#endif

#ifndef P1_STAGES
#define P1_STAGES 2 /* chunks of x and B tiles in flight (2: session 22's probe) */
#endif
#ifndef P1_MINB
#define P1_MINB (P1_STAGES <= 2 ? 4 : 2) /* blocks per SM the registers are capped for */
#endif
static_assert(P1_STAGES >= 2 && P1_STAGES <= NWARPS, "one scanning warp per prologue stage");

#ifndef P1_BULK
#define P1_BULK 0 /* 1: the tiles by bulk copies (cp.async.bulk, one a row) and an mbarrier a stage */
#endif

#ifndef P1_TMA
#define P1_TMA 0 /* 1: the tiles by tensor copies (one box of x, two of B, 128-byte swizzle) */
#endif
static_assert(!(P1_BULK && P1_TMA), "one copy mode at a time");
static_assert(!(P1_NOLOAD && (P1_BULK || P1_TMA)), "P1_NOLOAD: cp.async only (a stage's barrier would wait forever)");
/* where the block's tiles start: the swizzle asks 1024-byte boundaries, cp.async 16 */
constexpr int P1_ALIGN = P1_TMA ? 1024 : 16;

#if P1_TMA
// Dense tiles in the tensor copy's 128-byte swizzle: x is [Q rows][64 columns],
// B two such halves (columns 0-63, 64-127); the 16-byte chunk c of row r sits
// at chunk c ^ (r & 7) of that row, which keeps ldmatrix free of conflicts
// without padding.  Each stage starts on a 1024-byte boundary, as the swizzle
// asks.
static_assert(SSD_PS == 64 && SSD_N == 128 && XG == 16, "the TMA probe's tiles are 64 x 64 and 64 x 128");
struct __align__(1024) p1_smem {
  ssd_bf16 x[P1_STAGES][Q * 64];
  ssd_bf16 b[P1_STAGES][Q * 128];
  ssd_scan sc[P1_STAGES];
  unsigned long long bar[P1_STAGES];
};
#else
struct p1_smem {
  ssd_bf16 x[P1_STAGES][(Q / 16) * XG * XS];
  ssd_bf16 b[P1_STAGES][Q * BS];
  ssd_scan sc[P1_STAGES];
  unsigned long long bar[P1_STAGES];
};
#endif

#if P1_BULK || P1_TMA
// The copy engines' modes: a stage's copies complete on its mbarrier, whose
// phase flips once per use of the stage; thread 0 tells it the bytes to expect.
__device__ __forceinline__ void p1_wait_stage(p1_smem &sm, int s, long long use, long long) {
  const u32 bar = smem_addr(&sm.bar[s]), parity = (u32)(use & 1);
  u32 done = 0;
  while (!done)
    asm volatile("{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done) : "r"(bar), "r"(parity) : "memory");
}
__device__ __forceinline__ void p1_expect(u32 bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
#endif

#if P1_TMA
struct p1_maps {
  CUtensorMap x, b; /* [rows = batch x L][LD columns] bf16, boxes 64 x 64 */
};
__device__ __forceinline__ void p1_tensor_copy(u32 dst, const CUtensorMap *m, int col, long long row, u32 bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
               ::"r"(dst), "l"(m), "r"(col), "r"((int)row), "r"(bar) : "memory");
}
// Thread 0 alone: the stage's expected bytes, then its three boxes.
__device__ __forceinline__ void p1_load(p1_smem &sm, int s, const ssd_where &wh, const p1_maps &mp, long long ch) {
  if (threadIdx.x != 0) return;
  const u32 bar = smem_addr(&sm.bar[s]);
  p1_expect(bar, Q * (64 + 128) * 2);
  const long long xr = wh.xo / SSD_LD_X + ch * Q, br = wh.bo / SSD_LD_B + ch * Q;
  p1_tensor_copy(smem_addr(sm.x[s]), &mp.x, (int)(wh.xo % SSD_LD_X), xr, bar);
  p1_tensor_copy(smem_addr(sm.b[s]), &mp.b, (int)(wh.bo % SSD_LD_B), br, bar);
  p1_tensor_copy(smem_addr(sm.b[s] + Q * 64), &mp.b, (int)(wh.bo % SSD_LD_B) + 64, br, bar);
}
// The state update on the swizzled tiles: ssd_state_update_at's fragments and
// mma in the same order (so the same state bit for bit) from these addresses.
__device__ __forceinline__ const void *p1_swz(const ssd_bf16 *tile, int r, int k) {
  return reinterpret_cast<const char *>(tile) + r * 128 + ((((k >> 3) & 7) ^ (r & 7)) << 4);
}
__device__ __forceinline__ void p1_state_update(const ssd_bf16 *xs, const ssd_bf16 *bs, const ssd_scan &sc,
                                                float (*S)[4]) {
  ssd_state_update_at([xs](int r, int k) { return p1_swz(xs, r, k); },
                      [bs](int r, int k) { return p1_swz(bs + (k >> 6) * (Q * 64), r, k); }, sc, S);
}
#elif P1_BULK
// One row a thread: threads 0..63 copy x's rows, 64..127 B's (full chunks only:
// the host refuses L % Q != 0); thread 0 first tells the stage's barrier how
// many bytes to expect, so its phase completes when every row has landed.
static_assert(NWARPS * 32 == 2 * Q && XG == 16, "one row a thread");
__device__ __forceinline__ void p1_load(p1_smem &sm, int s, const ssd_where &wh, const ssd_bf16 *x,
                                        const ssd_bf16 *B, long long ch, long long) {
  const u32 bar = smem_addr(&sm.bar[s]);
  if (threadIdx.x == 0) p1_expect(bar, Q * (SSD_PS + SSD_N) * 2);
  const int r = threadIdx.x % Q;
  const bool isx = threadIdx.x < Q;
  const ssd_bf16 *src = isx ? x + wh.xo + (ch * Q + r) * (long long)SSD_LD_X : B + wh.bo + (ch * Q + r) * (long long)SSD_LD_B;
  const u32 dst = isx ? smem_addr(&sm.x[s][r * XS]) : smem_addr(&sm.b[s][r * BS]);
  const u32 n = isx ? SSD_PS * 2 : SSD_N * 2;
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
               ::"r"(dst), "l"(src), "r"(n), "r"(bar) : "memory");
}
#else
__device__ __forceinline__ void p1_load(p1_smem &sm, int s, const ssd_where &wh, const ssd_bf16 *x,
                                        const ssd_bf16 *B, long long ch, long long L) {
  ssd_copy_rows<SSD_PS / 8, (long long)SSD_LD_X, XS>(sm.x[s], x + wh.xo, ch * Q, L);
  ssd_copy_rows<SSD_N / 8, (long long)SSD_LD_B, BS>(sm.b[s], B + wh.bo, ch * Q, L);
  cp_async_commit();
}
// Wait for the oldest chunk's group while the younger ones, up to
// P1_STAGES - 1 of them, stay in flight (wait_group takes a constant).
__device__ __forceinline__ void p1_wait_stage(p1_smem &, int, long long, long long younger) {
  if (younger >= P1_STAGES - 1) cp_async_wait_group<P1_STAGES - 1>();
  else if (P1_STAGES > 2 && younger == 1) cp_async_wait_group<1>();
  else if (P1_STAGES > 3 && younger == 2) cp_async_wait_group<2>();
  else cp_async_wait_all();
}
#endif

#if P1_TMA
#define P1_LOAD(s, ch) p1_load(sm, s, wh, mp, ch)
#define P1_STATE_UPDATE p1_state_update
#else
#define P1_LOAD(s, ch) p1_load(sm, s, wh, x, B, ch, L)
#define P1_STATE_UPDATE ssd_state_update
#endif

extern "C" __global__ void __launch_bounds__(128, P1_MINB)
p1_ext(const ssd_bf16 *__restrict__ x, const ssd_dt_in *__restrict__ dt, const float *__restrict__ A_,
       const ssd_bf16 *__restrict__ B, const float *__restrict__ dt_bias, long long L, int batch,
       int seg_chunks, float *__restrict__ ws_local, float *__restrict__ ws_seglog
#if P1_TMA
       , const __grid_constant__ p1_maps mp
#endif
) {
  SSD_DYN_SMEM(smem_raw);
  /* the host asks P1_ALIGN bytes more */
  p1_smem &sm = *reinterpret_cast<p1_smem *>(((uintptr_t)smem_raw + P1_ALIGN - 1) & ~(uintptr_t)(P1_ALIGN - 1));
  const int warp = threadIdx.x >> 5;
  const unsigned per_seg = (unsigned)batch * SSD_H * PSL;
  const ssd_where wh = ssd_where_at(blockIdx.x, per_seg, L, seg_chunks);
  const float A = ssd_A(A_, wh.hdt);
  float S[NTW][4];
#pragma unroll
  for (int j = 0; j < NTW; j++) S[j][0] = S[j][1] = S[j][2] = S[j][3] = 0.f;
  float seglog = 0.f; /* thread 0's */
  ssd_dt_in raw[2] = {0, 0};
#if P1_BULK || P1_TMA
  if (threadIdx.x < P1_STAGES)
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\n" ::"r"(smem_addr(&sm.bar[threadIdx.x])) : "memory");
  __syncthreads();
#endif
  // stages 0 .. P1_STAGES - 1: chunks c0 .., stage s scanned by warp s
  for (int s = 0; s < P1_STAGES; s++) {
    const long long ch = wh.c0 + s;
    if (ch >= wh.c1) break;
    P1_LOAD(s, ch);
    if (warp == s) {
      ssd_load_dt(raw, dt, L, ch * Q, wh.b, wh.hdt);
      ssd_scan_chunk(sm.sc[s], nullptr, raw, ch * Q, L, wh.hdt, dt_bias, A);
    }
  }
  // warp 0 scans every later chunk; its raw dt is loaded a chunk ahead
  if (warp == 0 && wh.c0 + P1_STAGES < wh.c1) ssd_load_dt(raw, dt, L, (wh.c0 + P1_STAGES) * Q, wh.b, wh.hdt);
  for (long long ch = wh.c0; ch < wh.c1; ch++) {
    const int s = (int)((ch - wh.c0) % P1_STAGES);
    p1_wait_stage(sm, s, (ch - wh.c0) / P1_STAGES, wh.c1 - 1 - ch);
    __syncthreads(); /* stage s's tiles and scan */
    if (threadIdx.x == 0) seglog += sm.sc[s].cs[Q - 1];
#if !P1_NOMMA /* diagnostics: the loop without the state update */
    P1_STATE_UPDATE(sm.x[s], sm.b[s], sm.sc[s], S);
#endif
    __syncthreads(); /* stage s is free */
    const long long nx = ch + P1_STAGES;
    if (nx < wh.c1 && !P1_NOLOAD) { /* P1_NOLOAD: every chunk reuses the first stages' tiles */
#if P1_BULK || P1_TMA /* the tiles were read through the generic proxy; the copies write through the async one */
      asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
      P1_LOAD(s, nx);
      if (warp == 0) {
        ssd_scan_chunk(sm.sc[s], nullptr, raw, nx * Q, L, wh.hdt, dt_bias, A);
        if (nx + 1 < wh.c1) ssd_load_dt(raw, dt, L, (nx + 1) * Q, wh.b, wh.hdt);
      }
    }
  }
  float4 *mine = ssd_ws_state<NTW>(ws_local, wh.seg, batch, wh);
#pragma unroll
  for (int j = 0; j < NTW; j++) __stcg(&mine[j * NWARPS * 32], make_float4(S[j][0], S[j][1], S[j][2], S[j][3]));
  if (threadIdx.x == 0) ws_seglog[blockIdx.x] = seglog;
}

int main(int argc, char **argv) {
  const int batch = argc > 1 ? atoi(argv[1]) : 1;
  const long long L = argc > 2 ? atoll(argv[2]) : 16384;
  const size_t T = (size_t)batch * L, per_seg = (size_t)batch * SSD_H * PSL, nch = (L + 63) / 64;
  const long long sc = argc > 3 ? atoll(argv[3]) : 18;
  const int nseg = (int)((nch + sc - 1) / sc);
  if (nseg < 2) { printf("one segment: no phase 1\n"); return 0; }
  if ((P1_BULK || P1_TMA) && L % 64) { printf("P1_BULK/P1_TMA: full chunks only\n"); return 1; }
  const size_t blocks = per_seg * (nseg - 1), main_blocks = per_seg * nseg;
  const size_t st_bytes = (size_t)(nseg - 1) * batch * SSD_H * SSD_P * SSD_N * 4;
  const probe_ops o = probe_ops_make(batch, T);
  float *ws_state, *ws_local, *ws_seglog;
  unsigned *ws_sync;
  cudaMalloc(&ws_state, st_bytes), cudaMalloc(&ws_local, st_bytes), cudaMalloc(&ws_seglog, blocks * 4);
  const size_t sync_words = 2 + main_blocks + 2 * (size_t)nseg * batch; /* tickets, flags, the rows' counts and flags */
  cudaMalloc(&ws_sync, sync_words * 4), cudaMemset(ws_sync, 0, sync_words * 4);
  const int smem = (int)sizeof(p1_smem) + P1_ALIGN, msmem = (int)sizeof(ssd_smem);
#if P1_TMA
  p1_maps mp;
  auto encode = [&](CUtensorMap *m, const void *base, unsigned long long cols) {
    const cuuint64_t dims[2] = {cols, (cuuint64_t)T}, strides[1] = {cols * 2};
    const cuuint32_t box[2] = {64, 64}, estr[2] = {1, 1};
    CUresult r = cuTensorMapEncodeTiled(m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, (void *)base, dims, strides, box, estr,
                                        CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                        CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r) { printf("FAIL: cuTensorMapEncodeTiled %d\n", (int)r); exit(1); }
  };
  encode(&mp.x, o.x, SSD_LD_X), encode(&mp.b, o.B, SSD_LD_B);
#endif
  cudaFuncSetAttribute(p1_ext, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  cudaFuncSetAttribute(SSD_KERNEL, cudaFuncAttributeMaxDynamicSharedMemorySize, msmem);
  unsigned epoch = 0;
  auto launch_p1 = [&] {
    p1_ext<<<(unsigned)blocks, 128, smem>>>(o.x, (const ssd_dt_in *)o.dt, o.A, o.B, o.bias, L, batch, (int)sc,
                                            ws_local, ws_seglog
#if P1_TMA
                                            , mp
#endif
    );
  };
  auto launch_main = [&] {
    SSD_KERNEL<<<(unsigned)main_blocks, THREADS, msmem>>>(o.x, (const ssd_dt_in *)o.dt, o.A, o.B, o.C, o.D, nullptr,
                                                          o.bias, o.init, o.fin, o.y, L, batch, nseg, (int)sc, 0, ws_sync,
                                                          ws_state, ++epoch, nullptr, nullptr, nullptr, nullptr,
                                                          nullptr, ssd_tmap{}, ssd_tmap{}); /* cp.async tiles: no tensor maps */
  };
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0), cudaEventCreate(&e1);
  auto time = [&](auto f) {
    for (int i = 0; i < 3; i++) f();
    const int reps = 10;
    cudaEventRecord(e0);
    for (int i = 0; i < reps; i++) f();
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms;
    cudaEventElapsedTime(&ms, e0, e1);
    return ms / reps;
  };
  const float tp1 = time(launch_p1), tmain = time(launch_main);
  cudaError_t err = cudaDeviceSynchronize();
  if (err) { printf("FAIL: %s\n", cudaGetErrorString(err)); return 1; }
  /* segment 0's published state is phase 1's (zero entering state) */
  const size_t n0 = (size_t)batch * SSD_H * SSD_P * SSD_N;
  std::vector<unsigned> a(n0), b(n0);
  cudaMemcpy(a.data(), ws_local, n0 * 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(b.data(), ws_state, n0 * 4, cudaMemcpyDeviceToHost);
  size_t diff = 0;
  for (size_t i = 0; i < n0; i++) diff += a[i] != b[i];
  printf("%dx%lld seg %lld (%d segments): p1_ext %.4f ms (%zu blocks, smem %d), main kernel %.4f ms; "
         "segment 0 states differing from the main kernel's: %zu of %zu\n",
         batch, L, sc, nseg, tp1, blocks, smem, tmain, diff, n0);
  return diff != 0;
}
