// ops_conv.cuh: causal depthwise conv1d (+ bias, + SiLU), the Mamba input
// conv, over a whole sequence.  x, y: [B, L, C]; w: [C, K]; state_in,
// state_out: [B, C, K-1] fp32, the K-1 inputs before x and after it.
// #defines: OPS_C, OPS_K, OPS_HAS_BIAS, OPS_SILU, OPS_T (steps per thread),
// OPS_LDX (elements between x's tokens: > OPS_C when x is a view into wider rows).
// Grid (ceil(C/128), ceil(L/T), B): a thread slides its K-wide window over T
// steps of one channel, so reads stay coalesced across channels.  The state
// is written to a separate buffer (the launcher refuses aliasing): the block
// reading the old state and the one writing the new may run concurrently.
extern "C" __global__ void __launch_bounds__(128)
OPS_KERNEL(const ops_in *__restrict__ x, const ops_w *__restrict__ w,
           const ops_w *__restrict__ bias, const float *__restrict__ state_in,
           float *__restrict__ state_out, ops_out *__restrict__ y, long long L) {
  const int c = blockIdx.x * 128 + threadIdx.x;
  if (c >= OPS_C) return;
  const long long b = blockIdx.z, t0 = (long long)blockIdx.y * OPS_T;
  float wk[OPS_K], win[OPS_K];
#pragma unroll
  for (int k = 0; k < OPS_K; k++) wk[k] = ld_w(w, c * OPS_K + k);
  // in(s): input at position s; s < 0 reads the state
#define CONV_IN(s) ((s) >= 0 ? ld_in(x, ((b * L + (s)) * OPS_LDX) + c)                  \
                             : (state_in ? state_in[(b * OPS_C + c) * (OPS_K - 1) + OPS_K - 1 + (s)] \
                                         : 0.f))
#pragma unroll
  for (int k = 0; k < OPS_K - 1; k++) win[k] = CONV_IN(t0 - (OPS_K - 1) + k);
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
      state_out[(b * OPS_C + c) * (OPS_K - 1) + k] = CONV_IN(L - (OPS_K - 1) + k);
#undef CONV_IN
}
