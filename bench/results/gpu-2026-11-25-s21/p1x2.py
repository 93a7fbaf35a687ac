# Session 21: the chunked SSD kernel's phase 1 (the state-only pass over a
# non-last segment) two chunks per iteration: the second chunk's x and B go
# to the C B^T and C tiles (idle in phase 1) and its dt scan to warp 1 (into
# sm.s, idle too), so an iteration has two barriers per two chunks and the
# scans run on two warps at once.  seglog still sums the chunks' cs_last in
# chunk order (thread 0 adds the second chunk's after the barrier), and the
# state update's arithmetic is unchanged: results bitwise equal.
# python3 p1x2.py IN OUT
import sys
s = open(sys.argv[1]).read()
def sub(old, new, cnt=1):
    global s
    assert s.count(old) == cnt, (old, s.count(old))
    s = s.replace(old, new)
# a state update over given tiles and scan
a = s.index("__device__ __forceinline__ void ssd_state_update(ssd_smem &sm, float (*S)[4]) {")
b = s.index("// The causal C B^T tiles of a chunk")
f = s[a:b]
g = f.replace("ssd_state_update(ssd_smem &sm, float (*S)[4]) {", "ssd_state_update_at(const ssd_bf16 *xs, const ssd_bf16 *bs, const ssd_scan &sc, float (*S)[4]) {")
g = g.replace("  const ssd_bf16 *bs = sm.b, *xs = sm.x;\n", "").replace("sm.sc.decay", "sc.decay").replace("ssd_scale_xt(a[mi], sm.sc, kk)", "ssd_scale_xt(a[mi], sc, kk)")
extra = g + r'''// Phase 1's second chunk of an iteration: its x and B into the C B^T and C
// tiles (one cp.async group), its scan into sm.s.
__device__ __forceinline__ ssd_bf16 *ssd_p1_x2(ssd_smem &sm) { return sm.cb; }
__device__ __forceinline__ ssd_bf16 *ssd_p1_b2(ssd_smem &sm) { return sm.c; }
__device__ __forceinline__ ssd_scan &ssd_p1_sc2(ssd_smem &sm) { return *reinterpret_cast<ssd_scan *>(sm.s); }
static_assert(Q * CBS >= (Q / 16) * XG * XS, "x fits the C B^T tile");
static_assert(sizeof(ssd_scan) <= sizeof(ssd_bf16) * SSD_PS * BS, "a scan fits sm.s");
__device__ __forceinline__ void ssd_p1_load2(ssd_smem &sm, const ssd_where &wh, const ssd_bf16 *x,
                                             const ssd_bf16 *B, long long L, long long t0) {
  ssd_copy_rows<SSD_PS / 8, (long long)SSD_LD_X, XS>(ssd_p1_x2(sm), x + wh.xo, t0, L);
  ssd_copy_rows<SSD_N / 8, (long long)SSD_LD_B, BS>(ssd_p1_b2(sm), B + wh.bo, t0, L);
  cp_async_commit();
}
// Chunks ch (warp 0: sm.sc, seglog) and ch + 1 (warp 1: the second scan) of
// an iteration scanned; each warp then loads its dt for the next iteration.
__device__ __forceinline__ void ssd_p1_prep(ssd_smem &sm, const ssd_where &wh, long long ch,
                                            ssd_dt_in dtraw[2], const ssd_dt_in *dt,
                                            const float *dt_bias, float A, long long L) {
  const int warp = threadIdx.x >> 5;
  if (warp == 0) {
    ssd_scan_chunk(sm.sc, &sm.seglog, dtraw, ch * Q, L, wh.hdt, dt_bias, A);
    if (ch + 2 < wh.c1) ssd_load_dt(dtraw, dt, L, (ch + 2) * Q, wh.b, wh.hdt);
  } else if (warp == 1 && ch + 1 < wh.c1) {
    ssd_scan_chunk(ssd_p1_sc2(sm), nullptr, dtraw, (ch + 1) * Q, L, wh.hdt, dt_bias, A);
    if (ch + 3 < wh.c1) ssd_load_dt(dtraw, dt, L, (ch + 3) * Q, wh.b, wh.hdt);
  }
}

'''
s = s[:b] + extra + s[b:]
# the phase-1 loop
a = s.index("  if (wh.seg < nseg - 1) {", s.index("// ---- phase 1:"))
b = s.index("  // ---- the state entering the segment")
p1 = r'''  if (wh.seg < nseg - 1) {
#pragma unroll
    for (int j = 0; j < NTW; j++) S[j][0] = S[j][1] = S[j][2] = S[j][3] = 0.f;
    ssd_load_xb(sm, wh, x, B, L, wh.c0 * Q, xc_st);
    if (wh.c0 + 1 < wh.c1) ssd_p1_load2(sm, wh, x, B, L, (wh.c0 + 1) * Q);
    if (warp == 0) ssd_load_dt(dtraw, dt, L, wh.c0 * Q, wh.b, wh.hdt);
    if (warp == 1 && wh.c0 + 1 < wh.c1) ssd_load_dt(dtraw, dt, L, (wh.c0 + 1) * Q, wh.b, wh.hdt);
    ssd_p1_prep(sm, wh, wh.c0, dtraw, dt, dt_bias, A, L);
    for (long long ch = wh.c0; ch < wh.c1; ch += 2) {
      const bool two = ch + 1 < wh.c1;
      ssd_chunk_ready();
      if (two && threadIdx.x == 0) sm.seglog += ssd_p1_sc2(sm).cs[Q - 1]; /* chunk ch + 1's cs_last, in order */
      ssd_state_update(sm, S);
      if (two) ssd_state_update_at(ssd_p1_x2(sm), ssd_p1_b2(sm), ssd_p1_sc2(sm), S);
      __syncthreads(); /* both chunks' x, B, w, decay are read */
      if (ch + 2 < wh.c1) {
        ssd_load_xb(sm, wh, x, B, L, (ch + 2) * Q, xc_st);
        if (ch + 3 < wh.c1) ssd_p1_load2(sm, wh, x, B, L, (ch + 3) * Q);
        ssd_p1_prep(sm, wh, ch + 2, dtraw, dt, dt_bias, A, L);
      }
    }
  }

'''
s = s[:a] + p1 + s[b:]
open(sys.argv[2], "w").write(s)
