// ops_attn.cuh: causal softmax attention with GQA over a kv cache (filled by
// ops_kv.cuh).  q: [B, L, Hq, Dh] at positions pos0 + t (pos0 = *pos0p, in
// device memory); kc, vc: [B, Hkv, cap, Dh] fp32 holding positions 0 ..
// pos0+L-1; y: [B, L, Hq, Dh].  Query
// head h reads kv head h / (Hq / Hkv).  One warp per (b, t, h): q is rotated
// into shared memory, then an online softmax walks the keys; each lane owns
// Dh/32 dims of the output.  Simple and exact (fp32 throughout), not flash.
// #defines: OPS_HQ, OPS_HKV, OPS_DH (% 32 == 0, <= 256), OPS_RD, OPS_THETA,
// OPS_SCALE.  Grid (ceil(Hq/4), L, B), block 128.
#define ATT_PER (OPS_DH / 32)
extern "C" __global__ void __launch_bounds__(128)
OPS_KERNEL(const ops_in *__restrict__ q, const float *__restrict__ kc, const float *__restrict__ vc,
           ops_out *__restrict__ y, long long L, const long long *__restrict__ pos0p,
           long long cap) {
  __shared__ float sq[4][OPS_DH];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int h = blockIdx.x * 4 + warp;
  const long long t = blockIdx.y, b = blockIdx.z, pos = *pos0p + t;
  if (h >= OPS_HQ) return;
  const long long qo = ((b * L + t) * OPS_HQ + h) * OPS_DH;
  const int half = OPS_RD / 2;
  for (int d = lane; d < OPS_DH; d += 32) {
    float v = ld_in(q, qo + d);
    if (d < 2 * half) {
      const int i = d < half ? d : d - half;
      double s, cs;
      sincos((double)pos * pow((double)OPS_THETA, -2.0 * i / (double)OPS_RD), &s, &cs);
      const float other = ld_in(q, qo + (d < half ? d + half : d - half));
      v = d < half ? v * (float)cs - other * (float)s : v * (float)cs + other * (float)s;
    }
    sq[warp][d] = v * (float)OPS_SCALE;
  }
  __syncwarp();
  float qr[ATT_PER], acc[ATT_PER];
#pragma unroll
  for (int j = 0; j < ATT_PER; j++) qr[j] = sq[warp][lane + 32 * j], acc[j] = 0.f;
  const int hk = h / (OPS_HQ / OPS_HKV);
  const float *K = kc + (b * OPS_HKV + hk) * cap * OPS_DH, *V = vc + (b * OPS_HKV + hk) * cap * OPS_DH;
  float m = __int_as_float(0xff800000), l = 0.f;
  for (long long s = 0; s <= pos; s++) {
    float dot = 0.f;
#pragma unroll
    for (int j = 0; j < ATT_PER; j++) dot += qr[j] * K[s * OPS_DH + lane + 32 * j];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    const float mn = fmaxf(m, dot), corr = expf(m - mn), p = expf(dot - mn);
    l = l * corr + p;
#pragma unroll
    for (int j = 0; j < ATT_PER; j++) acc[j] = acc[j] * corr + p * V[s * OPS_DH + lane + 32 * j];
    m = mn;
  }
  const float inv = 1.f / l;
#pragma unroll
  for (int j = 0; j < ATT_PER; j++) st_out(y, qo + lane + 32 * j, acc[j] * inv);
}
