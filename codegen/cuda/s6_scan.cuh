// s6_scan.cuh: Mamba-1's selective scan, fused: discretization, the scan
// and the C contraction in one pass, the expanded state [N] of each channel
// living only in registers (Mamba paper Sec. 3.3.2; mamba_ssm's
// selective_scan_fwd keeps it on chip the same way).  For channel h:
//   dt = clamp(softplus(dt + dt_bias));  s[n] = exp(dt A[h,n]) s[n] + dt x B[n]
//   y = sum_n s[n] C[n] + D[h] x;  y *= silu(z)
// x, dt, z: [Bt, L, H]; B: [Bt, L, HB, N]; C: [Bt, L, HC, N]; A: [H, N]
// (A_log if S6_A_IS_LOG); D, dt_bias: [H]; state: [Bt, H, N] fp32.
// init (NULL: zeros) and final (NULL: not kept) may alias: each thread reads
// its slice of the state before it writes it, so L = 1 with init == final
// is the decode step.
//
// The recurrence is serial in time, so what limits it is the latency of
// each step's loads: the block stages S6_T steps of x, dt, z (and of B, C
// when every channel of the block reads the same group, S6_BC_SHARED) in
// shared memory with coalesced loads, then runs the steps from there.
// exp(dt A) is exp2(dt A log2 e) with A pre-scaled once (one MUFU op).
// #defines: S6_H, S6_N, S6_HB, S6_HC, S6_TPC (threads per channel; each
// holds N/TPC states), S6_THREADS, S6_T, S6_BC_SHARED, S6_HAS_*,
// S6_DT_SOFTPLUS, S6_A_IS_LOG, S6_DT_CLAMP, S6_DT_MIN, S6_DT_MAX.
// Grid (ceil(H*TPC/S6_THREADS), Bt), block S6_THREADS.
#define S6_NPT (S6_N / S6_TPC)
#define S6_CPB (S6_THREADS / S6_TPC)
extern "C" __global__ void __launch_bounds__(S6_THREADS)
OPS_KERNEL(const ops_in *__restrict__ x, const ops_in *__restrict__ dt, const float *__restrict__ A,
           const ops_in *__restrict__ B, const ops_in *__restrict__ C, const float *__restrict__ D,
           const ops_in *__restrict__ z, const float *__restrict__ dt_bias,
           const float *init, float *final_, ops_out *__restrict__ y, long long L) {
  __shared__ float sx[S6_T][S6_CPB], sdt[S6_T][S6_CPB];
#if S6_HAS_Z
  __shared__ float sz[S6_T][S6_CPB];
#endif
#if S6_BC_SHARED
  __shared__ float sB[S6_T][S6_N], sC[S6_T][S6_N];
#endif
  const int h0 = blockIdx.x * S6_CPB, cl = threadIdx.x / S6_TPC, j = threadIdx.x % S6_TPC;
  // Threads past the last channel run channel H-1 without storing: every
  // lane stays for the shuffles and barriers below.
  const bool live = h0 + cl < S6_H;
  const int h = live ? h0 + cl : S6_H - 1;
  const long long b = blockIdx.y;
  const int hb = h / (S6_H / S6_HB), hc = h / (S6_H / S6_HC), n0 = j * S6_NPT;
  float a[S6_NPT], s[S6_NPT];
#pragma unroll
  for (int n = 0; n < S6_NPT; n++) {
#if S6_A_IS_LOG
    a[n] = -expf(A[h * S6_N + n0 + n]) * 1.4426950408889634f;
#else
    a[n] = A[h * S6_N + n0 + n] * 1.4426950408889634f;
#endif
    s[n] = init ? init[(b * S6_H + h) * S6_N + n0 + n] : 0.f;
  }
#if S6_HAS_DT_BIAS
  const float bias = dt_bias[h];
#else
  const float bias = 0.f;
  (void)dt_bias;
#endif
#if S6_HAS_D
  const float Dh = D[h];
#else
  (void)D;
#endif
  for (long long t0 = 0; t0 < L; t0 += S6_T) {
    __syncthreads(); // the previous chunk's reads are done
    for (int i = threadIdx.x; i < S6_T * S6_CPB; i += S6_THREADS) {
      const int tt = i / S6_CPB, cc = i % S6_CPB;
      const int hh = h0 + cc < S6_H ? h0 + cc : S6_H - 1;
      const long long t = t0 + tt < L ? t0 + tt : L - 1, o = (b * L + t) * S6_H + hh;
      sx[tt][cc] = ld_in(x, o);
      sdt[tt][cc] = ld_in(dt, o);
#if S6_HAS_Z
      sz[tt][cc] = ld_in(z, o);
#endif
    }
#if S6_BC_SHARED
    for (int i = threadIdx.x; i < S6_T * S6_N; i += S6_THREADS) {
      const int tt = i / S6_N, n = i % S6_N;
      const long long r = b * L + (t0 + tt < L ? t0 + tt : L - 1);
      sB[tt][n] = ld_in(B, (r * S6_HB + hb) * S6_N + n);
      sC[tt][n] = ld_in(C, (r * S6_HC + hc) * S6_N + n);
    }
#endif
    __syncthreads();
    const int nt = L - t0 < S6_T ? (int)(L - t0) : S6_T;
    for (int tt = 0; tt < nt; tt++) {
      const long long r = b * L + t0 + tt;
      const float xv = sx[tt][cl];
      float d = sdt[tt][cl] + bias;
#if S6_DT_SOFTPLUS
      d = ops_softplus(d);
#endif
#if S6_DT_CLAMP
      d = fminf(fmaxf(d, (float)S6_DT_MIN), (float)S6_DT_MAX);
#endif
      const float dx = d * xv;
      float acc = 0.f;
#pragma unroll
      for (int n = 0; n < S6_NPT; n++) {
#if S6_BC_SHARED
        const float bn = sB[tt][n0 + n], cn = sC[tt][n0 + n];
#else
        const float bn = ld_in(B, (r * S6_HB + hb) * S6_N + n0 + n);
        const float cn = ld_in(C, (r * S6_HC + hc) * S6_N + n0 + n);
#endif
        s[n] = exp2f(d * a[n]) * s[n] + dx * bn;
        acc += s[n] * cn;
      }
#pragma unroll
      for (int o = S6_TPC / 2; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
      if (j == 0 && live) {
#if S6_HAS_D
        acc += Dh * xv;
#endif
#if S6_HAS_Z
        acc *= ssd_silu_exact(sz[tt][cl]);
#else
        (void)z;
#endif
        st_out(y, r * S6_H + h, acc);
      }
    }
  }
  if (final_ && live)
#pragma unroll
    for (int n = 0; n < S6_NPT; n++) final_[(b * S6_H + h) * S6_N + n0 + n] = s[n];
}
