// ops_rmsnorm.cuh: RMSNorm fused with the residual add of a pre-norm block
// (mamba_ssm's fused add+norm):  r' = h + r;  y = r' / sqrt(mean(r'^2) + eps) * w.
// #defines: OPS_D, OPS_EPS, OPS_RES_IN (read r; else r' = h), OPS_RES_OUT
// (store r' into r, fp32), OPS_SS_PARTS (> 0: r' = s h + r, where h is an
// out_proj whose gated norm was folded into the SSD kernel and s that norm's
// row scale, rsqrt(sum of the row's OPS_SS_PARTS partial sums of squares in
// ss / OPS_SS_D + OPS_SS_EPS): the norm costs no pass of its own).  One block
// of OPS_THREADS per row; the row stays in registers between the two passes.
#define OPS_THREADS 256
#define OPS_PER ((OPS_D + OPS_THREADS - 1) / OPS_THREADS)
extern "C" __global__ void __launch_bounds__(OPS_THREADS)
OPS_KERNEL(const ops_in *__restrict__ h, float *__restrict__ r, const ops_w *__restrict__ w,
           ops_out *__restrict__ y, const float *__restrict__ ss_in) {
  __shared__ float red[32];
  const long long row = (long long)blockIdx.x * OPS_D;
  float v[OPS_PER];
  float ss = 0.f;
#if OPS_SS_PARTS
  float hs = 0.f;
  for (int k = threadIdx.x; k < OPS_SS_PARTS; k += OPS_THREADS)
    hs += ss_in[(long long)blockIdx.x * OPS_SS_PARTS + k];
  hs = rsqrtf(ops_block_sum(hs, red) / (float)OPS_SS_D + (float)OPS_SS_EPS);
#else
  const float hs = 1.f;
#endif
  (void)ss_in;
#pragma unroll
  for (int j = 0; j < OPS_PER; j++) {
    const int d = threadIdx.x + j * OPS_THREADS;
    v[j] = 0.f;
    if (d < OPS_D) {
      float s = hs * ld_in(h, row + d);
#if OPS_RES_IN
      s += r[row + d];
#endif
#if OPS_RES_OUT
      r[row + d] = s;
#endif
      v[j] = s;
      ss += s * s;
    }
  }
  (void)r;
  ss = ops_block_sum(ss, red);
  const float inv = rsqrtf(ss / (float)OPS_D + (float)OPS_EPS);
#pragma unroll
  for (int j = 0; j < OPS_PER; j++) {
    const int d = threadIdx.x + j * OPS_THREADS;
    if (d < OPS_D) st_out(y, row + d, v[j] * inv * ld_w(w, d));
  }
}
