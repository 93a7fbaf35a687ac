// ssd_phase_prof.cu: times one generated chunked SSD kernel outside ssdc, and
// with the wgmma kernel (ssd_wg.cuh) built with SSD_PHASE_PROF, where its
// chunk loop spends thread 0's cycles, step by step.  The kernel source is
// what ssdc generates (e.g. /tmp/gen_ssd's output); build on the device:
//   nvcc -gencode arch=compute_90a,code=sm_90a -std=c++17 -DSSD_PHASE_PROF=1 \
//        -DKSRC='"wg.cu"' -DSMEM_T=wg_smem bench/ssd_phase_prof.cu -o prof
//   ./prof [batch [L [seg_chunks]]]   (batch * H blocks per segment; one segment
//                                     unless seg_chunks is given)
// With -DSSD_LINK_PROF=1 (the mma.sync kernel, ssd_chunked.cuh) it prints, per
// segment, the mean time of each block's steps around the look-back.
// Inputs are a hash fill on the device; only the time is checked here (the
// kernels' results are tested by tests/cuda/test_ssd_gpu.c).
#include <cstdio>
#include <vector>
#include <cstdlib>
#include "ssd_kernel_host.cuh"

int main(int argc, char **argv) {
  const int batch = argc > 1 ? atoi(argv[1]) : 3;
  const long long L = argc > 2 ? atoll(argv[2]) : 8192;
  const size_t T = (size_t)batch * L, per_seg = (size_t)batch * SSD_H * PSL, nch = (L + 63) / 64;
  const long long sc = argc > 3 ? atoll(argv[3]) : (long long)nch;
  const int nseg = (int)((nch + sc - 1) / sc);
  const size_t blocks = per_seg * nseg;
  const size_t ws_bytes = nseg > 1 ? (size_t)(nseg - 1) * batch * SSD_H * SSD_P * SSD_N * 4 : 1024;
  const probe_ops o = probe_ops_make(batch, T);
  ssd_bf16 *x = o.x, *dt = o.dt, *Bm = o.B, *Cm = o.C, *y = o.y;
  float *A = o.A, *D = o.D, *bias = o.bias, *init = o.init, *fin = o.fin, *ws_state;
  unsigned *ws_sync;
  cudaMalloc(&ws_state, ws_bytes), cudaMalloc(&ws_sync, (2 + blocks + 2 * nseg * batch) * 4); /* tickets, flags, the rows' counts and flags */
  /* a folded conv's weights and bias (SSD_XCONV_K): 0.25 per tap, bias 0 */
  float *xcw;
  std::vector<float> hw(SSD_HX * SSD_P * 4, 0.25f);
  cudaMalloc(&xcw, hw.size() * 4), cudaMemcpy(xcw, hw.data(), hw.size() * 4, cudaMemcpyHostToDevice);
  /* a gate (SSD_HAS_Z: x's rows stand in for it, same stride) and a folded
   * gated norm's weight (ones) and row sums (SSD_GNORM) */
#if SSD_HAS_Z
  static_assert(SSD_LD_Z == SSD_LD_X, "the probe reads z from x's rows");
  const ssd_z_in *zp = (const ssd_z_in *)x;
#else
  const ssd_z_in *zp = nullptr;
#endif
  float *gw = nullptr, *gss = nullptr;
#if SSD_GNORM
  std::vector<float> ones(SSD_H * SSD_P, 1.f);
  cudaMalloc(&gw, ones.size() * 4), cudaMemcpy(gw, ones.data(), ones.size() * 4, cudaMemcpyHostToDevice);
  cudaMalloc(&gss, T * SSD_H * PSL * 4);
#endif
  cudaMemset(ws_sync, 0, (2 + blocks + 2 * nseg * batch) * 4);
  const int smem = (int)sizeof(SMEM_T);
  cudaFuncSetAttribute(SSD_KERNEL, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  unsigned epoch = 0;
  auto launch = [&] {
    SSD_KERNEL<<<(unsigned)blocks, THREADS, smem>>>(x, (const ssd_dt_in *)dt, A, Bm, Cm, D, zp, bias, init, fin,
                                                 y, L, batch, nseg, (int)sc, 0, ws_sync, ws_state, ++epoch, gw,
                                                 gss, xcw, xcw, nullptr, ssd_tmap{}, ssd_tmap{}); /* cp.async tiles: no tensor maps */
  };
  for (int i = 0; i < 3; i++) launch();
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0), cudaEventCreate(&e1);
#if SSD_PHASE_PROF
  unsigned long long zero[16] = {};
  cudaMemcpyToSymbol(ssd_prof, zero, sizeof zero);
#endif
  const int reps = 10;
  cudaEventRecord(e0);
  for (int i = 0; i < reps; i++) launch();
  cudaEventRecord(e1);
  cudaError_t err = cudaDeviceSynchronize();
  if (err) { printf("FAIL: %s\n", cudaGetErrorString(err)); return 1; }
  float ms;
  cudaEventElapsedTime(&ms, e0, e1);
  printf("%s %dx%lld: %.4f ms per launch (%zu blocks, %d segments of %lld chunks, smem %d)\n", KSRC, batch, L,
         ms / reps, blocks, nseg, sc, smem);
  {
    /* a hash of y's and the final state's bits: variants that should compute
     * the same thing bitwise (same inputs, same launch shape) print the same */
    std::vector<unsigned> hy(T * SSD_H * SSD_P / 2), hs((size_t)batch * SSD_H * SSD_P * SSD_N);
    cudaMemcpy(hy.data(), y, hy.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(hs.data(), fin, hs.size() * 4, cudaMemcpyDeviceToHost);
    unsigned long long h = 1469598103934665603ull;
    for (unsigned v : hy) h = (h ^ v) * 1099511628211ull;
    for (unsigned v : hs) h = (h ^ v) * 1099511628211ull;
    printf("  output hash %016llx\n", h);
  }
#if SSD_LINK_PROF
  {
    static unsigned long long st[8192][6];
    cudaMemcpyToSymbol(ssd_lprof, st, sizeof st);
    launch();
    cudaDeviceSynchronize();
    cudaMemcpyFromSymbol(st, ssd_lprof, sizeof st);
    unsigned long long t0 = ~0ull, tend = 0;
    for (size_t i = 0; i < blocks && i < 8192; i++) t0 = st[i][0] < t0 ? st[i][0] : t0, tend = st[i][5] > tend ? st[i][5] : tend;
    printf("one launch, first block start to last block end: %.2f us\n", (tend - t0) / 1e3);
    printf("seg   start   phase1    wait   read  publish  phase3     end   notice (us, means over the segment's blocks)\n");
    for (int s = 0; s < nseg; s++) {
      double a[8] = {};
      int n = 0, nn = 0;
      for (size_t r = 0; r < per_seg; r++) {
        size_t i = s * per_seg + r;
        if (i >= 8192) break;
        const unsigned long long *q = st[i];
        const unsigned long long t2 = s ? q[2] : q[1], t3 = s ? q[3] : q[1], t4 = s < nseg - 1 ? q[4] : t3;
        a[0] += q[0] - t0, a[1] += q[1] - q[0], a[2] += t2 - q[1], a[3] += t3 - t2, a[4] += t4 - t3;
        a[5] += q[5] - t4, a[6] += q[5] - t0, n++;
        if (s) a[7] += (double)q[2] - (double)st[i - per_seg][4], nn++;
      }
      if (!n) break;
      printf("%3d %7.2f %8.2f %7.2f %6.2f %8.2f %7.2f %7.2f %8.2f\n", s, a[0] / n / 1e3, a[1] / n / 1e3, a[2] / n / 1e3,
             a[3] / n / 1e3, a[4] / n / 1e3, a[5] / n / 1e3, a[6] / n / 1e3, nn ? a[7] / nn / 1e3 : 0.);
    }
  }
#endif
#if SSD_PHASE_PROF
  unsigned long long acc[16];
  cudaMemcpyFromSymbol(acc, ssd_prof, sizeof acc);
  const char *name[12] = {"wait for the producer", "C B^T, C S^T issue", "wait C B^T, C S^T", "mask",
                          "(L o CB) X issue", "state update issue", "wait (L o CB) X", "outputs",
                          "wait state, stage freed", "barriers + bf16 state", "-", "-"};
  double tot = 0, per = (double)reps * blocks * nch;
  for (int i = 0; i < 12; i++) tot += acc[i] / per;
  for (int i = 0; i < 12; i++) printf("  %-28s %8.0f cycles per chunk (%4.1f%%)\n", name[i], acc[i] / per, 100 * acc[i] / per / tot);
  printf("  %-28s %8.0f\n", "total", tot);
#endif
  return 0;
}
