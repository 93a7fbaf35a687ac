// ops_conv_step.cuh: one decode step of the causal conv1d (+ bias, + SiLU)
// with its state updated in place (mamba_ssm's causal_conv1d_update).
// x, y: [B, C] (x's rows OPS_LDX apart); state: [B, C, K-1] fp32.  One thread
// per (b, c) owns its state row, so reading and shifting it in place is
// race-free.
extern "C" __global__ void __launch_bounds__(128)
OPS_KERNEL(const ops_in *__restrict__ x, const ops_w *__restrict__ w,
           const ops_w *__restrict__ bias, float *__restrict__ state, ops_out *__restrict__ y) {
  const int c = blockIdx.x * 128 + threadIdx.x;
  if (c >= OPS_C) return;
  const long long b = blockIdx.y;
  float *st = state + (b * OPS_C + c) * (OPS_K - 1);
  const float xv = ld_in(x, b * OPS_LDX + c);
#if OPS_HAS_BIAS
  float acc = ld_w(bias, c);
#else
  float acc = 0.f;
  (void)bias;
#endif
#pragma unroll
  for (int k = 0; k < OPS_K - 1; k++) acc += ld_w(w, c * OPS_K + k) * st[k];
  acc += ld_w(w, c * OPS_K + OPS_K - 1) * xv;
#pragma unroll
  for (int k = 0; k < OPS_K - 2; k++) st[k] = st[k + 1];
  if (OPS_K > 1) st[OPS_K - 2] = xv;
#if OPS_SILU
  acc = ssd_silu_exact(acc);
#endif
  st_out(y, b * OPS_C + c, acc);
}
