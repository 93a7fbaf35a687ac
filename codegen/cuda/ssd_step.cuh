// ssd_step.cuh: decode steps of the mixer, fused (mamba_ssm's
// selective_state_update for scalar-per-head A), L tokens in order (the
// recurrent form: a decode step is L = 1; the fp32 executor's prefill runs
// a whole sequence in one launch).  For each (b, h) and token t:
//   dt = clamp(softplus(dt + bias)); a = exp(dt A)
//   s[p][n] = a s[p][n] + dt x[p] B[n];  y[p] = sum_n s[p][n] C[n] + D x[p];  y *= silu(z)
// The state [B, H, P, N] fp32 is read and written once: this kernel is bound
// by that traffic, so a warp walks whole state rows with coalesced float4s
// (N % 128 == 0) or scalars, and reduces y[p] with shuffles.  A block takes
// STEP_ROWS rows of one head (grid: H, batch, P / STEP_ROWS), so that even
// batch 1 spreads over several blocks per multiprocessor.
//
// Generated #defines as ssd_chunked.cuh (no SSD_PS), plus SSD_IN_F32 (inputs
// x, dt, B, C, z are fp32 rather than bf16) and SSD_Y_F32.  Token (b, t) is
// operand row b L + t (SSD_LD_* elements apart); y is dense.  Each warp owns
// its state rows for the whole sequence, so only B and C (shared) need the
// barriers between tokens.
#if SSD_IN_F32
typedef float ssd_in;
__device__ __forceinline__ float in2f(float v) { return v; }
#else
typedef ssd_bf16 ssd_in;
__device__ __forceinline__ float in2f(ssd_bf16 v) { return bf2f(v); }
#endif
#define STEP_WARPS 4
#define STEP_ROWS 16 /* head channels per block */

extern "C" __global__ void __launch_bounds__(STEP_WARPS * 32)
SSD_KERNEL(const ssd_in *__restrict__ x, const ssd_in *__restrict__ dt,
           const float *__restrict__ A_, const ssd_in *__restrict__ B,
           const ssd_in *__restrict__ C, const float *__restrict__ D,
           const ssd_in *__restrict__ z, const float *__restrict__ dt_bias,
           float *__restrict__ state, void *__restrict__ y_, long long L) {
  __shared__ float sB[SSD_N], sC[SSD_N];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int h = blockIdx.x, b = blockIdx.y;
  const int hx = h / (SSD_H / SSD_HX), hb = h / (SSD_H / SSD_HB);
  const int hc = h / (SSD_H / SSD_HC), hdt = h / (SSD_H / SSD_HDT);
  const int pend = (blockIdx.z + 1) * STEP_ROWS < SSD_P ? (blockIdx.z + 1) * STEP_ROWS : SSD_P;
  for (long long t = 0; t < L; t++) {
    const long long row = (long long)b * L + t; // the token's operand row
#if SSD_HAS_DT
    const float d = ssd_dt(in2f(dt[row * SSD_LD_DT + hdt]), hdt, dt_bias);
#else
    (void)dt;
    const float d = ssd_dt(1.f, hdt, dt_bias);
#endif
    const float a = __expf(d * ssd_A(A_, hdt));
    if (t > 0) __syncthreads(); // every warp is done with the previous token's B, C
    for (int n = threadIdx.x; n < SSD_N; n += STEP_WARPS * 32) {
      sB[n] = in2f(B[row * SSD_LD_B + hb * SSD_N + n]) * d;
      sC[n] = in2f(C[row * SSD_LD_C + hc * SSD_N + n]);
    }
    __syncthreads();
    for (int p = blockIdx.z * STEP_ROWS + warp; p < pend; p += STEP_WARPS) {
      const float xv = in2f(x[row * SSD_LD_X + hx * SSD_P + p]);
      float *s = state + (((long long)b * SSD_H + h) * SSD_P + p) * SSD_N;
      float acc = 0.f;
#if SSD_N % 128 == 0
      for (int n = lane * 4; n < SSD_N; n += 128) {
        float4 v = *(float4 *)&s[n];
        v.x = a * v.x + xv * sB[n];
        v.y = a * v.y + xv * sB[n + 1];
        v.z = a * v.z + xv * sB[n + 2];
        v.w = a * v.w + xv * sB[n + 3];
        *(float4 *)&s[n] = v;
        acc += v.x * sC[n] + v.y * sC[n + 1] + v.z * sC[n + 2] + v.w * sC[n + 3];
      }
#else
      for (int n = lane; n < SSD_N; n += 32) {
        float v = a * s[n] + xv * sB[n];
        s[n] = v;
        acc += v * sC[n];
      }
#endif
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
      if (lane == 0) {
        acc += ssd_skip(D, h, p, xv);
        long long o = (row * SSD_H + h) * SSD_P + p;
#if SSD_HAS_Z
        acc *= ssd_silu(in2f(z[row * SSD_LD_Z + h * SSD_P + p]));
#endif
#if SSD_Y_F32
        ((float *)y_)[o] = acc;
#else
        ((ssd_bf16 *)y_)[o] = f2bf(acc);
#endif
      }
    }
  }
  (void)D; (void)z;
}
