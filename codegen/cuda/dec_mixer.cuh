// dec_mixer.cuh: the Mamba-2 mixer's decode step in one kernel.  For each
// sequence b (one token) it reads the in_proj output row in[b] (stride ld
// elements; xBC at column off_xbc, dt at off_dt, z at off_z) and:
//   conv:  u_c = silu(bias_c + sum_k<K-1 w[c][k] cs[c][k] + w[c][K-1] xbc_c),
//          cs[c] shifted left with xbc_c appended (mamba_ssm's order: the
//          conv runs over x|B|C concatenated, then splits)
//   SSD:   dt = clamp(softplus(dt + dt_bias)), a = exp(dt A),
//          s[h][p][:] = a s[h][p][:] + dt x[p] B[:],  y = s C + D x (* silu(z))
// exactly rt_conv1d + SiLU (rt_ops.h) then rt_ssm_recurrent (rt_ssm.h), L = 1.
//
// A block owns DEC_ROWS channels of one head (grid: H * P / DEC_ROWS, batch);
// each warp updates DEC_ROWS / 4 state rows, a lane MX_VEC-wide pieces of
// each, loaded before anything else so that the state's DRAM latency (it is
// most of the bytes) overlaps the conv.  The block computes the conv outputs
// it needs itself: its x channels and its group's N B and N C channels.  B
// and C channels (and x channels, when heads share x: hx < H) are read by
// many blocks, so no block may shift their conv state until all have read
// it: each block takes a ticket after its reads, and the last block of the
// sequence, at its end, shifts every shared channel's state and resets the
// counter to 0 (no block waits, so any grid size is safe, and a CUDA graph
// can replay the launch).  Channels only this block reads are shifted in place.
// Both shifts store what the block holds in registers (the channel's old state
// and new input) where it holds them: its own channels always, and every shared
// channel when there is one B and one C group and x is not shared
// (MX_SHIFT_HELD, the usual Mamba-2 layer); otherwise the last block reloads them.
//
// DEC_GNORM: the gated RMSNorm after the mixer (one group, gate before the
// norm) is prepared here for the out_proj GEMV's prescaled mode (DEC_NORM 3
// in dec_gemv.cuh): with g = y * silu(z) (z the in_proj row's column
// off_gz + channel), x_out[b][channel] = bf16(g * wg[channel]) and the
// block's sum of g^2 goes to ss_out[b * DEC_EMIT_LD + block] (fixed order).
// y is still written.
//
// Programmatic dependent launch (ssd_common.cuh): the kernel lets the next
// one be scheduled at once, loads its SSM state rows, and only then waits
// for the previous kernel.  The states are the one exception to "activations
// after the wait": no kernel but this node's mixer writes them during a
// decode step, and a step's first kernel (the embedding) is a plain launch,
// so every earlier write to them (last step's mixer, a prefill, a reset) is
// complete before any kernel of this step starts.  So before the wait it
// also loads into registers what it will need of the weights (dt bias, A, D,
// the norm's weight, its conv inputs' weights) and its conv inputs' state:
// after the wait only the in_proj row is read from memory.
// (Session 8 measured loading the conv inputs ahead of dt slower; session 12
// measured them loaded with dt, right after the wait, 0.3-0.85 us faster.
// Session 13 moved the conv weights and state from L1 prefetches to
// registers, and the last block's shift from reloads to registers.)
//
// #defines: SSD_H/P/N/HX/HB/HC/HDT and the dt/A/D options as ssd_common.cuh,
// DEC_HAS_Z, DEC_CONV_K, DEC_CONV_BIAS, DEC_IN_F32, DEC_W_BF16, DEC_Y_BF16,
// DEC_ROWS, DEC_THREADS, DEC_GNORM, DEC_EMIT_LD, DEC_TRACE (the launch's timing
// record, dec_common.cuh).
#define MX_WARPS (DEC_THREADS / 32)
#define MX_RPW (DEC_ROWS / MX_WARPS)
#define MX_SLICES (SSD_P / DEC_ROWS)
#define MX_BLOCKS (SSD_H * MX_SLICES)
#define MX_CONV (SSD_HX * SSD_P + (SSD_HB + SSD_HC) * SSD_N)
#define MX_XSHARED (SSD_H / SSD_HX > 1)
#define MX_KM1 (DEC_CONV_K - 1)
#if SSD_N % 128 == 0
#define MX_VEC 4
#else
#define MX_VEC 1
#endif
#define MX_NCH (SSD_N / (32 * MX_VEC))
#define MX_NIN (DEC_ROWS + 2 * SSD_N) // a block's conv inputs
#define MX_IPT ((MX_NIN + DEC_THREADS - 1) / DEC_THREADS) // a thread's
// Whether a block's conv inputs include every shared channel (one B and one
// C group, x not shared): then the last block shifts them from registers.
#define MX_SHIFT_HELD (SSD_HB == 1 && SSD_HC == 1 && !MX_XSHARED)

// The conv channel of a block's i-th conv input: its x channels, then its
// group's B and C channels.
__device__ __forceinline__ int mx_channel(int i, int hx, int hb, int hc, int p0) {
  if (i < DEC_ROWS) return hx * SSD_P + p0 + i;
  if (i < DEC_ROWS + SSD_N) return SSD_HX * SSD_P + hb * SSD_N + (i - DEC_ROWS);
  return SSD_HX * SSD_P + SSD_HB * SSD_N + hc * SSD_N + (i - DEC_ROWS - SSD_N);
}

// A conv input's weights and state, read into registers before the PDL wait
// (weights are constant; the conv state, like the SSM state, is written by
// no kernel of this step before this one).
struct mx_cin {
  float w[DEC_CONV_K], st[MX_KM1 > 0 ? MX_KM1 : 1], bias;
};

__device__ __forceinline__ void mx_cin_load(mx_cin *c, int ch, const float *cs, const dec_w *w,
                                            const dec_w *bias) {
#pragma unroll
  for (int k = 0; k < DEC_CONV_K; k++) c->w[k] = ld_w(w, (long long)ch * DEC_CONV_K + k);
#pragma unroll
  for (int k = 0; k < MX_KM1; k++) c->st[k] = cs[k];
#if DEC_CONV_BIAS
  c->bias = ld_w(bias, ch);
#else
  (void)bias;
  c->bias = 0.f;
#endif
}

// One conv channel's step: silu(bias + w . [state, xr]).
__device__ __forceinline__ float mx_conv(const mx_cin *c, float xr) {
  float acc = c->bias;
#pragma unroll
  for (int k = 0; k < MX_KM1; k++) acc += c->w[k] * c->st[k];
  acc += c->w[MX_KM1] * xr;
  return ssd_silu_exact(acc);
}

// A channel's state after this step, [st[1..], xr], stored to cs.  st is the
// old state: the registers the block read it into (no loads), or cs itself
// for a channel the block does not hold (each st[k + 1] is read before cs[k + 1]
// is written).
__device__ __forceinline__ void mx_shift(const float *st, float xr, float *cs) {
#if MX_KM1 > 0
#pragma unroll
  for (int k = 0; k + 1 < MX_KM1; k++) cs[k] = st[k + 1];
  cs[MX_KM1 - 1] = xr;
#else
  (void)st, (void)xr, (void)cs;
#endif
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
DEC_KERNEL(const dec_in *__restrict__ in, long long ld, long long off_xbc, long long off_dt,
           long long off_z, const dec_w *__restrict__ conv_w, const dec_w *__restrict__ conv_b,
           float *__restrict__ conv_state, const float *__restrict__ A_,
           const float *__restrict__ D, const float *__restrict__ dt_bias,
           float *__restrict__ state, dec_y *__restrict__ y, long long ldy,
           unsigned *__restrict__ tickets, long long off_gz, const float *__restrict__ wg,
           ssd_bf16 *__restrict__ x_out, float *__restrict__ ss_out,
           unsigned long long *__restrict__ trace) {
  __shared__ float sx[DEC_ROWS], sB[SSD_N], sC[SSD_N], sg[MX_WARPS];
  __shared__ int last;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int h = blockIdx.x / MX_SLICES, p0 = (blockIdx.x % MX_SLICES) * DEC_ROWS;
  const long long b = blockIdx.y;
  const int hx = h / (SSD_H / SSD_HX), hb = h / (SSD_H / SSD_HB);
  const int hc = h / (SSD_H / SSD_HC), hdt = h / (SSD_H / SSD_HDT);
  const dec_in *row = in + b * ld;
  dec_tr tr;
  dec_tr_start(&tr);
  pdl_trigger();

  float *srow = state + ((b * SSD_H + h) * SSD_P + p0 + warp * MX_RPW) * (long long)SSD_N;
  float s[MX_RPW][MX_NCH][MX_VEC];
#pragma unroll
  for (int r = 0; r < MX_RPW; r++)
#pragma unroll
    for (int c = 0; c < MX_NCH; c++) {
      const float *q = srow + r * SSD_N + (c * 32 + lane) * MX_VEC;
#if MX_VEC == 4
      const float4 v = *(const float4 *)q;
      s[r][c][0] = v.x, s[r][c][1] = v.y, s[r][c][2] = v.z, s[r][c][3] = v.w;
#else
      s[r][c][0] = *q;
#endif
    }
  float *cst = conv_state + b * (long long)MX_CONV * MX_KM1;
  mx_cin cin[MX_IPT];
#pragma unroll
  for (int j = 0; j < MX_IPT; j++) {
    const int i = tid + j * DEC_THREADS;
    if (i < MX_NIN) {
      const int ch = mx_channel(i, hx, hb, hc, p0);
      mx_cin_load(&cin[j], ch, cst + (long long)ch * MX_KM1, conv_w, conv_b);
    }
  }
  // dt's bias and A (a bias pointer ssd_dt reads at index 0), and per state
  // row D (the skip's factor: ssd_skip(.., 1)) and the gated norm's weight
  const float dtb[1] = {SSD_HAS_DT_BIAS ? dt_bias[hdt] : 0.f};
  const float Ah = ssd_A(A_, hdt);
  float dsk[MX_RPW], wgr[MX_RPW];
#pragma unroll
  for (int r = 0; r < MX_RPW; r++) {
    const int p = p0 + warp * MX_RPW + r;
    dsk[r] = ssd_skip(D, h, p, 1.f);
    wgr[r] = DEC_GNORM ? wg[h * SSD_P + p] : 0.f;
  }
  pdl_wait();
  dec_tr_wait(&tr);

  // the in_proj row, all of it in one round trip: dt, each state row's
  // gates and this thread's conv inputs
  const float draw = ld_in(row, off_dt + hdt);
  float zr[MX_RPW], gzr[MX_RPW], xin[MX_IPT];
#pragma unroll
  for (int r = 0; r < MX_RPW; r++) {
    const int p = p0 + warp * MX_RPW + r;
    zr[r] = DEC_HAS_Z && lane == 0 ? ld_in(row, off_z + h * SSD_P + p) : 0.f;
    gzr[r] = DEC_GNORM && lane == 0 ? ld_in(row, off_gz + h * SSD_P + p) : 0.f;
  }
#pragma unroll
  for (int j = 0; j < MX_IPT; j++) {
    const int i = tid + j * DEC_THREADS;
    xin[j] = i < MX_NIN ? ld_in(row, off_xbc + mx_channel(i, hx, hb, hc, p0)) : 0.f;
  }
  const float d = ssd_dt(draw, 0, dtb);
  const float a = expf(d * Ah);

#pragma unroll
  for (int j = 0; j < MX_IPT; j++) {
    const int i = tid + j * DEC_THREADS;
    if (i >= MX_NIN) break;
    const float u = mx_conv(&cin[j], xin[j]);
    if (i < DEC_ROWS) {
      sx[i] = u;
      if (!MX_XSHARED) /* only this block reads it: shift in place */
        mx_shift(cin[j].st, xin[j], cst + (long long)mx_channel(i, hx, hb, hc, p0) * MX_KM1);
    } else if (i < DEC_ROWS + SSD_N) {
      sB[i - DEC_ROWS] = u * d;
    } else {
      sC[i - DEC_ROWS - SSD_N] = u;
    }
  }
  __syncthreads(); // this block's reads of shared conv state are done
  // The ticket: no fence before it, since what it orders are the reads
  // above, whose values are already in shared memory; and its answer stays
  // in a register until after the state update, so that the atomic's round
  // trip overlaps warp 0's share of it instead of stalling it.
  unsigned tk = 0;
  if (tid == 0) tk = atomicAdd(&tickets[b], 1u);
  float g2 = 0.f; // this warp's rows' sum of g^2 (its lane 0's)

#pragma unroll
  for (int r = 0; r < MX_RPW; r++) {
    const int pl = warp * MX_RPW + r, p = p0 + pl;
    const float xv = sx[pl];
    float acc = 0.f;
#pragma unroll
    for (int c = 0; c < MX_NCH; c++) {
      const int n0 = (c * 32 + lane) * MX_VEC;
#pragma unroll
      for (int j = 0; j < MX_VEC; j++) {
        const float v = a * s[r][c][j] + xv * sB[n0 + j];
        s[r][c][j] = v;
        acc += v * sC[n0 + j];
      }
      float *q = srow + r * SSD_N + n0;
#if MX_VEC == 4
      *(float4 *)q = make_float4(s[r][c][0], s[r][c][1], s[r][c][2], s[r][c][3]);
#else
      *q = s[r][c][0];
#endif
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) {
      acc += dsk[r] * xv;
#if DEC_HAS_Z
      acc *= ssd_silu_exact(zr[r]);
#endif
      st_y(y, b * ldy + h * SSD_P + p, acc);
#if DEC_GNORM
      const long long ch = h * SSD_P + p;
      const float gv = acc * ssd_silu_exact(gzr[r]);
      x_out[b * (SSD_H * SSD_P) + ch] = f2bf(gv * wgr[r]);
      g2 += gv * gv;
#endif
    }
  }
  if (tid == 0) last = tk == (unsigned)(MX_BLOCKS - 1);
#if DEC_GNORM
  if (lane == 0) sg[warp] = g2;
#else
  (void)g2;
#endif
  __syncthreads();
#if DEC_GNORM
  if (tid == 0) {
    float v = 0.f;
    for (int w = 0; w < MX_WARPS; w++) v += sg[w];
    ss_out[b * DEC_EMIT_LD + blockIdx.x] = v;
  }
#else
  (void)off_gz, (void)wg, (void)x_out, (void)ss_out, (void)sg;
#endif
  if (last) {
    if (tid == 0) tickets[b] = 0u;
#if MX_SHIFT_HELD
#pragma unroll
    for (int j = 0; j < MX_IPT; j++) {
      const int i = tid + j * DEC_THREADS;
      if (i >= DEC_ROWS && i < MX_NIN)
        mx_shift(cin[j].st, xin[j], cst + (long long)mx_channel(i, hx, hb, hc, p0) * MX_KM1);
    }
#else
    for (int ch = (MX_XSHARED ? 0 : SSD_HX * SSD_P) + tid; ch < MX_CONV; ch += DEC_THREADS) {
      float *q = cst + (long long)ch * MX_KM1;
      mx_shift(q, ld_in(row, off_xbc + ch), q);
    }
#endif
  }
  dec_tr_end(&tr, trace);
  (void)D; (void)off_z;
}
