// ops_conv.cuh: causal depthwise conv1d (+ bias, + SiLU), the Mamba input
// conv, over a whole sequence.  x, y: [B, L, C]; w: [C, K]; state_in,
// state_out: [B, C, K-1] fp32, the K-1 inputs before x and after it.
// #defines: OPS_C, OPS_K, OPS_HAS_BIAS, OPS_SILU, OPS_T (steps per thread),
// OPS_LDX (elements between x's tokens: > OPS_C when x is a view into wider rows),
// OPS_C0 (outputs of channels [OPS_C0, OPS_C) only: the SSD kernel convolves the
// x channels before it itself; the state is still written for all of them).
// Grid (ceil(C/(128 VEC)), ceil(L/T), B): a thread slides its K-wide window
// over T steps of one channel (OPS_VEC: of 8 adjacent channels, bf16 x and y,
// C and the stride multiples of 8), so reads stay coalesced across channels.  The
// state is written to a separate buffer (the launcher refuses aliasing): the
// block reading the old state and the one writing the new may run concurrently.
// The OPS_VEC variant reads its T steps as 16-byte loads all issued before the
// first output (T is small and unrolled), where the scalar one keeps one
// 2-byte load per step in flight: the bf16 prefill's conv ran at 2.3x its bytes.

// OPS_EDGE: the fix-up after ssdc's GEMM convolved in its epilogue (gw_gemm.cuh,
// GW_CV_K): the first K-1 rows of each row tile read rows of the tile before,
// which another block held, so those outputs are recomputed here from the
// edge rows the GEMM saved (slot i: tile i-1's last K-1 raw rows, then tile
// i's first K-1), the state where a sequence starts.  Only rows whose tile
// starts inside their sequence are rewritten; the sums run in the epilogue's
// order.  Grid (ceil(C/1024), tiles - 1): a thread per 8 channels and tile
// (16-byte accesses: C, c0 and Y's stride are multiples of 8, as the GEMM's
// tensor stores need), every load issued before the first output.  A thread
// a channel pair, loading as it summed, took 14 us a 2.7b layer on the H100
// for ~12 MB; this takes 9 (bench/NOTES.md, session 33).

// in(s): input s of channel c (s < 0: the state, or 0 without one)
#define CONV_IN(c, s) ((s) >= 0 ? ld_in(x, ((b * L + (s)) * OPS_LDX) + (c))                \
                                : (state_in ? state_in[(b * OPS_C + (c)) * (OPS_K - 1) + OPS_K - 1 + (s)] \
                                            : 0.f))
// The state of the channels below OPS_C0, which no thread of this launch
// convolves, from the threads of the last time block.
#define CONV_STATE_BELOW_C0                                                           \
  if (OPS_C0 && state_out && t0 + OPS_T >= L)                                         \
    for (int c = blockIdx.x * 128 + threadIdx.x; c < OPS_C0; c += gridDim.x * 128)    \
      for (int k = 0; k < OPS_K - 1; k++)                                             \
        state_out[(b * OPS_C + c) * (OPS_K - 1) + k] = CONV_IN(c, L - (OPS_K - 1) + k);
#if OPS_EDGE
extern "C" __global__ void __launch_bounds__(128)
OPS_KERNEL(const ssd_bf16 *__restrict__ edge, const float *__restrict__ w, const float *__restrict__ bias,
           const float *__restrict__ state_in, ssd_bf16 *__restrict__ y, long long ldy, long long M, long long L) {
  constexpr int H = OPS_K - 1;
  const int c0 = (blockIdx.x * 128 + threadIdx.x) * 8;
  const long long ts = (long long)(blockIdx.y + 1) * OPS_TILE_M; /* the tile's first row */
  if (c0 >= OPS_C) return;
  // Every load before the first output: the slot's 2H rows (u = ts - H ..
  // ts + H - 1), then the 8 channels' taps, 8 K contiguous floats, in 16-byte
  // loads (a load per tap made each warp instruction touch 32 lines and the
  // kernel 22 us), and their bias.
  float ev[2 * H][8], wk[8 * OPS_K], bc[8];
  const ssd_bf16 *e = edge + (blockIdx.y + 1) * 2LL * H * OPS_C + c0;
#pragma unroll
  for (int r = 0; r < 2 * H; r++) ops_ld8(e + (long long)r * OPS_C, ev[r]);
#pragma unroll
  for (int i = 0; i < OPS_K; i++) ops_ld8(w + c0 * OPS_K + 8 * i, wk + 8 * i);
#if OPS_HAS_BIAS
  ops_ld8(bias + c0, bc);
#else
#pragma unroll
  for (int q = 0; q < 8; q++) bc[q] = 0.f;
#endif
#pragma unroll
  for (int j = 0; j < H; j++) {
    const long long t = ts + j, b = t / L, s0 = b * L;
    if (t >= M || s0 >= ts) break; /* the epilogue's own */
    float o[8];
#pragma unroll
    for (int q = 0; q < 8; q++) {
      float acc = bc[q];
#pragma unroll
      for (int k = 0; k < OPS_K; k++) {
        const long long u = t - H + k;
        const float v = u >= s0 ? ev[j + k][q]
                        : state_in ? state_in[(b * OPS_C + c0 + q) * H + H + (u - s0)]
                                   : 0.f;
        acc += wk[q * OPS_K + k] * v;
      }
#if OPS_SILU
      acc = ssd_silu(acc);
#endif
      o[q] = acc;
    }
    ops_st8(y + t * ldy + c0, o);
  }
  (void)bias;
}
#elif OPS_VEC
// Word i (two bf16: channels 2i, 2i + 1) of an 8-channel piece.
__device__ __forceinline__ u32 &conv_word(uint4 &v, int i) {
  return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}
extern "C" __global__ void __launch_bounds__(128)
OPS_KERNEL(const ops_in *__restrict__ x, const ops_w *__restrict__ w,
           const ops_w *__restrict__ bias, const float *__restrict__ state_in,
           float *__restrict__ state_out, ops_out *__restrict__ y, long long L) {
  const long long b = blockIdx.z, t0 = (long long)blockIdx.y * OPS_T;
  CONV_STATE_BELOW_C0
  const int c0 = OPS_C0 + (blockIdx.x * 128 + threadIdx.x) * 8;
  if (c0 >= OPS_C) return;
  // The T steps and the K-1 before them (where they are in x), all loads
  // issued before the first output.  Each pair of channels' outputs
  // overwrites its inputs in v once the windows have taken them, so a thread
  // holds 8 x T bf16 values and only two channels' weights and windows at a
  // time (a window per channel took 160 registers: three blocks per SM).
  uint4 v[OPS_T], hv[OPS_K > 1 ? OPS_K - 1 : 1];
#pragma unroll
  for (int j = 0; j < OPS_T; j++)
    if (t0 + j < L) v[j] = *(const uint4 *)(x + (b * L + t0 + j) * OPS_LDX + c0);
#pragma unroll
  for (int k = 0; k < OPS_K - 1; k++) {
    const long long s = t0 - (OPS_K - 1) + k;
    if (s >= 0) hv[k] = *(const uint4 *)(x + (b * L + s) * OPS_LDX + c0);
  }
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const int c = c0 + 2 * i;
    float wk[2][OPS_K], win[2][OPS_K], bc[2];
#pragma unroll
    for (int e = 0; e < 2; e++) {
#pragma unroll
      for (int k = 0; k < OPS_K; k++) wk[e][k] = ld_w(w, (c + e) * OPS_K + k);
#if OPS_HAS_BIAS
      bc[e] = ld_w(bias, c + e);
#else
      bc[e] = 0.f;
#endif
#pragma unroll
      for (int k = 0; k < OPS_K - 1; k++) {
        const long long s = t0 - (OPS_K - 1) + k;
        const u32 h = s >= 0 ? conv_word(hv[k], i) : 0u;
        win[e][k] = s >= 0 ? (e ? bf2_hi(h) : bf2_lo(h)) : CONV_IN(c + e, s);
      }
    }
#pragma unroll
    for (int j = 0; j < OPS_T; j++) {
      u32 &h = conv_word(v[j], i);
      win[0][OPS_K - 1] = bf2_lo(h), win[1][OPS_K - 1] = bf2_hi(h);
      float o[2];
#pragma unroll
      for (int e = 0; e < 2; e++) {
        float acc = bc[e];
#pragma unroll
        for (int k = 0; k < OPS_K; k++) acc += wk[e][k] * win[e][k];
#if OPS_SILU
        acc = ssd_silu(acc);
#endif
        o[e] = acc;
#pragma unroll
        for (int k = 0; k < OPS_K - 1; k++) win[e][k] = win[e][k + 1];
      }
      h = pack_bf2(o[0], o[1]);
    }
  }
  (void)bias;
#pragma unroll
  for (int j = 0; j < OPS_T; j++)
    if (t0 + j < L) *(uint4 *)(y + (b * L + t0 + j) * OPS_C + c0) = v[j];
  if (state_out && t0 + OPS_T >= L)
    for (int q = 0; q < 8; q++)
      for (int k = 0; k < OPS_K - 1; k++)
        state_out[(b * OPS_C + c0 + q) * (OPS_K - 1) + k] = CONV_IN(c0 + q, L - (OPS_K - 1) + k);
}
#else
extern "C" __global__ void __launch_bounds__(128)
OPS_KERNEL(const ops_in *__restrict__ x, const ops_w *__restrict__ w,
           const ops_w *__restrict__ bias, const float *__restrict__ state_in,
           float *__restrict__ state_out, ops_out *__restrict__ y, long long L) {
  const long long b = blockIdx.z, t0 = (long long)blockIdx.y * OPS_T;
  CONV_STATE_BELOW_C0
  const int c = OPS_C0 + blockIdx.x * 128 + threadIdx.x;
  if (c >= OPS_C) return;
  float wk[OPS_K], win[OPS_K];
#pragma unroll
  for (int k = 0; k < OPS_K; k++) wk[k] = ld_w(w, c * OPS_K + k);
#pragma unroll
  for (int k = 0; k < OPS_K - 1; k++) win[k] = CONV_IN(c, t0 - (OPS_K - 1) + k);
#if OPS_HAS_BIAS
  const float bc = ld_w(bias, c);
#else
  const float bc = 0.f;
  (void)bias;
#endif
  for (long long t = t0; t < t0 + OPS_T && t < L; t++) {
    win[OPS_K - 1] = ld_in(x, (b * L + t) * OPS_LDX + c);
    float acc = bc;
#pragma unroll
    for (int k = 0; k < OPS_K; k++) acc += wk[k] * win[k];
#if OPS_SILU
    acc = ssd_silu_exact(acc);
#endif
    st_out(y, (b * L + t) * OPS_C + c, acc);
#pragma unroll
    for (int k = 0; k < OPS_K - 1; k++) win[k] = win[k + 1];
  }
  if (state_out && t0 + OPS_T >= L)
    for (int k = 0; k < OPS_K - 1; k++)
      state_out[(b * OPS_C + c) * (OPS_K - 1) + k] = CONV_IN(c, L - (OPS_K - 1) + k);
}
#endif
#undef CONV_IN
#undef CONV_STATE_BELOW_C0
