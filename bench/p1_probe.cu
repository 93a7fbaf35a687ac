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
// Session 22's variant with several heads a block sharing B (p1_multi, no
// faster) is bench/results/gpu-2026-11-25-s22/call9-p1-multi.patch.
#include <cstdio>
#include <cstdlib>
#include <vector>
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

struct p1_smem {
  ssd_bf16 x[P1_STAGES][(Q / 16) * XG * XS];
  ssd_bf16 b[P1_STAGES][Q * BS];
  ssd_scan sc[P1_STAGES];
};

// Wait for the oldest chunk's group while the younger ones, up to
// P1_STAGES - 1 of them, stay in flight (wait_group takes a constant).
__device__ __forceinline__ void p1_wait(long long younger) {
  if (younger >= P1_STAGES - 1) cp_async_wait_group<P1_STAGES - 1>();
  else if (P1_STAGES > 2 && younger == 1) cp_async_wait_group<1>();
  else if (P1_STAGES > 3 && younger == 2) cp_async_wait_group<2>();
  else cp_async_wait_all();
}

extern "C" __global__ void __launch_bounds__(128, P1_MINB)
p1_ext(const ssd_bf16 *__restrict__ x, const ssd_dt_in *__restrict__ dt, const float *__restrict__ A_,
       const ssd_bf16 *__restrict__ B, const float *__restrict__ dt_bias, long long L, int batch,
       int seg_chunks, float *__restrict__ ws_local, float *__restrict__ ws_seglog) {
  SSD_DYN_SMEM(smem_raw);
  p1_smem &sm = *reinterpret_cast<p1_smem *>(smem_raw);
  const int warp = threadIdx.x >> 5;
  const unsigned per_seg = (unsigned)batch * SSD_H * PSL;
  const ssd_where wh = ssd_where_at(blockIdx.x, per_seg, L, seg_chunks);
  const float A = ssd_A(A_, wh.hdt);
  float S[NTW][4];
#pragma unroll
  for (int j = 0; j < NTW; j++) S[j][0] = S[j][1] = S[j][2] = S[j][3] = 0.f;
  float seglog = 0.f; /* thread 0's */
  ssd_dt_in raw[2] = {0, 0};
  // stages 0 .. P1_STAGES - 1: chunks c0 .., stage s scanned by warp s
  for (int s = 0; s < P1_STAGES; s++) {
    const long long ch = wh.c0 + s;
    if (ch >= wh.c1) break;
    ssd_copy_rows<SSD_PS / 8, (long long)SSD_LD_X, XS>(sm.x[s], x + wh.xo, ch * Q, L);
    ssd_copy_rows<SSD_N / 8, (long long)SSD_LD_B, BS>(sm.b[s], B + wh.bo, ch * Q, L);
    cp_async_commit();
    if (warp == s) {
      ssd_load_dt(raw, dt, L, ch * Q, wh.b, wh.hdt);
      ssd_scan_chunk(sm.sc[s], nullptr, raw, ch * Q, L, wh.hdt, dt_bias, A);
    }
  }
  // warp 0 scans every later chunk; its raw dt is loaded a chunk ahead
  if (warp == 0 && wh.c0 + P1_STAGES < wh.c1) ssd_load_dt(raw, dt, L, (wh.c0 + P1_STAGES) * Q, wh.b, wh.hdt);
  for (long long ch = wh.c0; ch < wh.c1; ch++) {
    const int s = (int)((ch - wh.c0) % P1_STAGES);
    p1_wait(wh.c1 - 1 - ch);
    __syncthreads(); /* stage s's tiles and scan */
    if (threadIdx.x == 0) seglog += sm.sc[s].cs[Q - 1];
#if !P1_NOMMA /* diagnostics: the loop without the state update */
    ssd_state_update(sm.x[s], sm.b[s], sm.sc[s], S);
#endif
    __syncthreads(); /* stage s is free */
    const long long nx = ch + P1_STAGES;
    if (nx < wh.c1 && !P1_NOLOAD) { /* P1_NOLOAD: every chunk reuses the first stages' tiles */
      ssd_copy_rows<SSD_PS / 8, (long long)SSD_LD_X, XS>(sm.x[s], x + wh.xo, nx * Q, L);
      ssd_copy_rows<SSD_N / 8, (long long)SSD_LD_B, BS>(sm.b[s], B + wh.bo, nx * Q, L);
      cp_async_commit();
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
  const size_t blocks = per_seg * (nseg - 1), main_blocks = per_seg * nseg;
  const size_t st_bytes = (size_t)(nseg - 1) * batch * SSD_H * SSD_P * SSD_N * 4;
  const probe_ops o = probe_ops_make(batch, T);
  float *ws_state, *ws_local, *ws_seglog;
  unsigned *ws_sync;
  cudaMalloc(&ws_state, st_bytes), cudaMalloc(&ws_local, st_bytes), cudaMalloc(&ws_seglog, blocks * 4);
  cudaMalloc(&ws_sync, (2 + main_blocks) * 4), cudaMemset(ws_sync, 0, (2 + main_blocks) * 4);
  const int smem = (int)sizeof(p1_smem), msmem = (int)sizeof(ssd_smem);
  cudaFuncSetAttribute(p1_ext, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  cudaFuncSetAttribute(SSD_KERNEL, cudaFuncAttributeMaxDynamicSharedMemorySize, msmem);
  unsigned epoch = 0;
  auto launch_p1 = [&] {
    p1_ext<<<(unsigned)blocks, 128, smem>>>(o.x, (const ssd_dt_in *)o.dt, o.A, o.B, o.bias, L, batch, (int)sc,
                                            ws_local, ws_seglog);
  };
  auto launch_main = [&] {
    SSD_KERNEL<<<(unsigned)main_blocks, THREADS, msmem>>>(o.x, (const ssd_dt_in *)o.dt, o.A, o.B, o.C, o.D, nullptr,
                                                          o.bias, o.init, o.fin, o.y, L, batch, nseg, (int)sc, ws_sync,
                                                          ws_state, ++epoch, nullptr, nullptr, nullptr, nullptr,
                                                          nullptr);
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
