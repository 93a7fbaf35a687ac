// ops_kv.cuh: rotary on k and the append of k, v to an attention layer's
// cache.  k, v: [B, L, Hkv, Dh] (activations); kc, vc: [B, Hkv, cap, Dh]
// fp32, positions pos0 .. pos0+L-1, pos0 read from device memory (*pos0p:
// a captured decode step replays with the position of its replay).
// GPT-NeoX rotate_half on the first rd dims, the angle in double as the CPU
// reference computes it.
// #defines: OPS_HKV, OPS_DH, OPS_RD, OPS_THETA.  Grid (L, B), block OPS_DH.
extern "C" __global__ void OPS_KERNEL(const ops_in *__restrict__ k, const ops_in *__restrict__ v,
                                      float *__restrict__ kc, float *__restrict__ vc, long long L,
                                      const long long *__restrict__ pos0p, long long cap) {
  const long long t = blockIdx.x, b = blockIdx.y, pos = *pos0p + t;
  const int d = threadIdx.x, half = OPS_RD / 2;
  for (int h = 0; h < OPS_HKV; h++) {
    const long long src = ((b * L + t) * OPS_HKV + h) * OPS_DH;
    const long long dst = ((b * OPS_HKV + h) * cap + pos) * OPS_DH;
    float kv = ld_in(k, src + d);
    if (d < 2 * half) {
      const int i = d < half ? d : d - half;
      double s, cs;
      sincos((double)pos * pow((double)OPS_THETA, -2.0 * i / (double)OPS_RD), &s, &cs);
      const float other = ld_in(k, src + (d < half ? d + half : d - half));
      kv = d < half ? kv * (float)cs - other * (float)s : kv * (float)cs + other * (float)s;
    }
    kc[dst + d] = kv;
    vc[dst + d] = ld_in(v, src + d);
  }
}
