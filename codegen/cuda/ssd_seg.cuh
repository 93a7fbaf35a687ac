// ssd_seg.cuh: what the two chunked SSD kernels share (ssd_chunked.cuh, the
// mma.sync kernel for sm_80 and any tile shape; ssd_wg.cuh, the wgmma kernel
// for sm_90a at PS = 64).  Both walk the chunks of a segment with the state
// in registers and link segments by decoupled look-back (ssd_chunked.cuh's
// opening comment explains it); here are the pieces that do not depend on
// how a kernel holds its tiles and state: where a block works (its ticket),
// dt's discretization and cumulative sum per chunk, the look-back, the
// output rows (D skip, gate, folded gated norm) and the launch's end.
#define Q 64
#define NWARPS 4
#define PSL (SSD_P / SSD_PS) /* channel slices per head */

#if SSD_DT_F32
typedef float ssd_dt_in;
#else
typedef ssd_bf16 ssd_dt_in;
#endif
#if SSD_Z_F32
typedef float ssd_z_in;
#else
typedef ssd_bf16 ssd_z_in;
#endif
// dt or z as a float, whichever type it has
__device__ __forceinline__ float in_f(float v) { return v; }
__device__ __forceinline__ float in_f(ssd_bf16 v) { return bf2f(v); }

// The gate pair z[o], z[o + 1] as floats.  o is even relative to the row (P
// is a multiple of 16), so one 4- or 8-byte load serves when the row stride is
// even; an odd stride (in_proj widths with an odd head count) takes two.
__device__ __forceinline__ float2 ssd_z_pair(const ssd_z_in *z, long long o) {
#if SSD_LD_Z % 2
  return make_float2(in_f(z[o]), in_f(z[o + 1]));
#elif SSD_Z_F32
  return *(const float2 *)&z[o];
#else
  const u32 v = *(const u32 *)&z[o];
  return make_float2(bf2_lo(v), bf2_hi(v));
#endif
}

// Scale the two bf16 halves of a fragment register by lo, hi (the state
// update's x^T fragments by w).
__device__ __forceinline__ u32 scale_bf2(u32 v, float lo, float hi) {
  return pack_bf2(bf2_lo(v) * lo, bf2_hi(v) * hi);
}

// The chunked kernels' parameters (one ABI: rt_cuda_ssd_chunked's argument
// array, runtime/rt_cuda_ssd.c).  init and final_state may be one buffer
// (the state updated in place): only segment 0's blocks read init, and the
// last segment's write final_state after the look-back chain from segment 0.
// tm_b and tm_c are B's and C's tensor maps where the mma.sync kernel copies
// those tiles by TMA (SSD_TMA); zeros, and unread, otherwise.  chain (the
// runtime's choice per launch, rt_cuda_ssd.c): segments are chained instead
// of looked back: no phase 1, and a segment publishes its end state after
// its own phase 3 (ssd_finish), which its successor waits for.  It pays where
// a segment's successor takes its ticket about a round of blocks later, so
// that its wait is short: many blocks per segment, as at 8 x 2K.
#define SSD_CHUNKED_PARAMS                                                                          \
  const ssd_bf16 *__restrict__ x, const ssd_dt_in *__restrict__ dt, const float *__restrict__ A_,    \
      const ssd_bf16 *__restrict__ B, const ssd_bf16 *__restrict__ C, const float *__restrict__ D,    \
      const ssd_z_in *__restrict__ z, const float *__restrict__ dt_bias,                              \
      const float *init, float *final_state, void *__restrict__ y_,                                   \
      long long L, int batch, int nseg, int seg_chunks, int chain, unsigned *__restrict__ ws_sync,    \
      float *__restrict__ ws_state, unsigned epoch, const float *__restrict__ gn_w,                   \
      float *__restrict__ gn_ss, const float *__restrict__ xc_w, const float *__restrict__ xc_b,     \
      const float *__restrict__ xc_st, const __grid_constant__ ssd_tmap tm_b,                       \
      const __grid_constant__ ssd_tmap tm_c

// The barrier of the threads that hold the state: the whole block, or the
// wgmma kernel's consumer warpgroup (SSD_WG: its producer warp, the block's
// last, takes part in nothing after the ticket).
__device__ __forceinline__ void ssd_sync_state() {
#if SSD_WG
  bar_named(1, NWARPS * 32);
#else
  __syncthreads();
#endif
}

// A chunk's discretized dt: cs = cumulative dt*A, dtp = dt, w = exp(cs_last
// - cs) dt (the state update's weights), decay = exp(cs_last).
struct ssd_scan {
  float cs[Q], dtp[Q], w[Q];
  float decay;
};

// The state update's A fragment of x^T at k-step kk (mma's A layout: registers
// 0/1 hold k = 2t, 2t+1 of rows g, g+8, registers 2/3 hold k + 8) scaled by
// the chunk's weights w: no x*w pass through shared memory.
__device__ __forceinline__ void ssd_scale_xt(u32 a[4], const ssd_scan &sc, int kk) {
  const int k0 = kk * 16 + 2 * (threadIdx.x & 3);
  const float w0 = sc.w[k0], w1 = sc.w[k0 + 1], w8 = sc.w[k0 + 8], w9 = sc.w[k0 + 9];
  a[0] = scale_bf2(a[0], w0, w1);
  a[1] = scale_bf2(a[1], w0, w1);
  a[2] = scale_bf2(a[2], w8, w9);
  a[3] = scale_bf2(a[3], w8, w9);
}

// Accumulator rows t and t + 8 (C fragment layout) times exp(cs): the decay
// of the C S^T term from the chunk's start to each row.
template <int NT>
__device__ __forceinline__ void ssd_decay_rows(float (&Y)[NT][4], const ssd_scan &sc, int t) {
  const float e0 = __expf(sc.cs[t]), e1 = __expf(sc.cs[t + 8]);
#pragma unroll
  for (int j = 0; j < NT; j++) {
    Y[j][0] *= e0; Y[j][1] *= e0; Y[j][2] *= e1; Y[j][3] *= e1;
  }
}

// Where a block works: decoded from its ticket.
struct ssd_where {
  int seg, b, h, p0, hx, hb, hc, hdt;
  long long c0, c1;     /* chunk range */
  long long xo, bo, co; /* x, B, C offsets of token 0 of this block's (b, head, slice) */
  long long zo;         /* z offset of token 0 of (b, head, slice) */
  unsigned flag;        /* this block's flag/state index */
};

// Thread 0 takes the block's ticket (launch order, so that a block only
// waits for blocks already running) and zeroes seglog; every thread gets it.
// The trigger lets a kernel launched after this one with PDL be scheduled
// once every block has started: it waits for its rows by ssd_signal_rows.
__device__ __forceinline__ void ssd_take_ticket(unsigned &ticket_sm, float &seglog_sm, unsigned *ws_sync) {
  pdl_trigger();
  if (threadIdx.x == 0) {
    ticket_sm = atomicAdd(&ws_sync[0], 1u);
    seglog_sm = 0.f;
  }
  __syncthreads();
}

// Where a block works, from its ticket.  Tickets are segment-major:
// (segment, batch row, head, slice).
__device__ __forceinline__ ssd_where ssd_where_at(unsigned ticket, unsigned per_seg, long long L,
                                                  int seg_chunks) {
  ssd_where wh;
  unsigned r = ticket % per_seg;
  wh.seg = (int)(ticket / per_seg);
  wh.p0 = (int)(r % PSL) * SSD_PS;
  wh.h = (int)((r / PSL) % SSD_H);
  wh.b = (int)(r / (PSL * SSD_H));
  wh.hx = wh.h / (SSD_H / SSD_HX), wh.hb = wh.h / (SSD_H / SSD_HB);
  wh.hc = wh.h / (SSD_H / SSD_HC), wh.hdt = wh.h / (SSD_H / SSD_HDT);
  const long long nchunks = (L + Q - 1) / Q;
  wh.c0 = (long long)wh.seg * seg_chunks;
  wh.c1 = wh.c0 + seg_chunks < nchunks ? wh.c0 + seg_chunks : nchunks;
  wh.flag = ticket;
  const long long row0 = (long long)wh.b * L; /* token row of (b, t = 0) */
  wh.xo = row0 * SSD_LD_X + (long long)wh.hx * SSD_P + wh.p0;
  wh.bo = row0 * SSD_LD_B + (long long)wh.hb * SSD_N;
  wh.co = row0 * SSD_LD_C + (long long)wh.hc * SSD_N;
  wh.zo = row0 * SSD_LD_Z + (long long)wh.h * SSD_P + wh.p0;
  return wh;
}

// One warp: discretize dt for the chunk and scan dt*A into sc; seglog (phase
// 1; null in phase 3, whose scans would race with the look-back's reads of
// it in a block with no barrier between: compute-sanitizer racecheck) sums
// the chunks' cs_last (the mma.sync kernel's second chunk of a phase-1
// iteration passes null: its cs[Q - 1] is added after the barrier, in chunk
// order).  Lane l owns steps 2l, 2l+1.
__device__ __forceinline__ void ssd_scan_chunk(ssd_scan &sc, float *seglog, const ssd_dt_in raw[2],
                                               long long t0, long long L, int hdt,
                                               const float *dt_bias, float A) {
  int lane = threadIdx.x & 31;
  float d0 = 0.f, d1 = 0.f;
  if (t0 + 2 * lane < L) d0 = ssd_dt(in_f(raw[0]), hdt, dt_bias);
  if (t0 + 2 * lane + 1 < L) d1 = ssd_dt(in_f(raw[1]), hdt, dt_bias);
  float a0 = d0 * A, a1 = a0 + d1 * A;
  float incl = a1;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    float v = __shfl_up_sync(0xffffffffu, incl, o);
    if (lane >= o) incl += v;
  }
  float excl = incl - a1;
  float cs0 = excl + a0, cs1 = incl;
  float last = __shfl_sync(0xffffffffu, incl, 31);
  sc.cs[2 * lane] = cs0;
  sc.cs[2 * lane + 1] = cs1;
  sc.dtp[2 * lane] = d0;
  sc.dtp[2 * lane + 1] = d1;
  sc.w[2 * lane] = __expf(last - cs0) * d0;
  sc.w[2 * lane + 1] = __expf(last - cs1) * d1;
  if (lane == 0) {
    sc.decay = __expf(last);
    if (seglog) *seglog += last;
  }
}

// The raw dt of a chunk's steps 2l, 2l+1 for warp 0's lane l, kept in the
// loaded type: converting here would stall the warp for the load, which is
// meant to be in flight under a whole chunk of work (scanned by the next
// ssd_scan_chunk).
__device__ __forceinline__ void ssd_load_dt(ssd_dt_in raw[2], const ssd_dt_in *dt, long long L,
                                            long long t0, int b, int hdt) {
  int lane = threadIdx.x & 31;
#pragma unroll
  for (int k = 0; k < 2; k++) {
    long long t = t0 + 2 * lane + k;
#if SSD_HAS_DT
    raw[k] = t < L ? dt[((long long)b * L + t) * SSD_LD_DT + hdt] : (ssd_dt_in)0;
#else
    (void)dt; (void)b; (void)hdt;
    raw[k] = (ssd_dt_in)0; /* unused: ssd_dt gives 1 without dt */
#endif
    (void)t;
  }
}

// One output row half of a warp's 16 rows: y = Y + D x, times silu(z), and
// with SSD_GNORM times the norm weight, the row's sum of squares over the
// block's channels to gn_ss.  Y[j][2 half..] hold columns 8j + 2t..+1 (mma's
// C fragment layout, which both kernels' accumulators have); xr points at x
// of (t, 2t) in shared memory and xstep is the element step to the next 8
// columns.  ZT: the gate comes from the kernel's shared-memory tile of it,
// zr pointing at (t, 2t) there (8 columns on per j), not from z in memory,
// and the folded norm's weight from its shared copy, gwr at column 2t.
template <bool ZT = false>
__device__ __forceinline__ void ssd_store_row(const float (*Y)[4], int half, int t, long long t0,
                                              long long L, const ssd_where &wh, const float *D,
                                              const ssd_z_in *z, const float *gn_w, float *gn_ss,
                                              void *y_, const ssd_bf16 *xr, int xstep,
                                              const ssd_bf16 *zr = nullptr,
                                              const float *gwr = nullptr) {
  const int tg = threadIdx.x & 3;
  const bool in = t0 + t < L; /* a quad shares its row, so `in` is uniform in a quad */
#if SSD_GNORM
  float ssq = 0.f;
#endif
  const long long orow = (((long long)wh.b * L + t0 + t) * SSD_H + wh.h) * SSD_P + wh.p0 + 2 * tg;
#if SSD_HAS_D && SSD_D_PER_CHANNEL
  const float *Dp = D + wh.h * SSD_P + wh.p0 + 2 * tg;
#elif SSD_HAS_D
  const float Dh = D[wh.h];
#endif
#if SSD_GNORM
  const float *gw = ZT ? gwr : gn_w + wh.h * SSD_P + wh.p0 + 2 * tg;
#endif
#if SSD_HAS_Z
  const long long zrow = wh.zo + (t0 + t) * (long long)SSD_LD_Z + 2 * tg;
#endif
#pragma unroll
  for (int j = 0; j < SSD_PS / 8; j++) {
    if (!in) break;
    float v0 = Y[j][half * 2], v1 = Y[j][half * 2 + 1];
#if SSD_HAS_D
    u32 xv = *(const u32 *)&xr[j * xstep];
#if SSD_D_PER_CHANNEL
    v0 += Dp[j * 8] * bf2_lo(xv);
    v1 += Dp[j * 8 + 1] * bf2_hi(xv);
#else
    v0 += Dh * bf2_lo(xv);
    v1 += Dh * bf2_hi(xv);
#endif
#endif
    const long long o = orow + j * 8;
#if SSD_HAS_Z
    float2 zv;
    if constexpr (ZT) {
      const u32 zp = *(const u32 *)&zr[j * 8];
      zv = make_float2(bf2_lo(zp), bf2_hi(zp));
    } else {
      zv = ssd_z_pair(z, zrow + j * 8);
    }
    v0 *= ssd_silu(zv.x);
    v1 *= ssd_silu(zv.y);
#endif
#if SSD_GNORM
    ssq += v0 * v0 + v1 * v1;
    const float2 wv = *(const float2 *)&gw[j * 8];
    v0 *= wv.x;
    v1 *= wv.y;
#endif
#if SSD_Y_F32
    *(float2 *)&((float *)y_)[o] = make_float2(v0, v1);
#else
    *(u32 *)&((ssd_bf16 *)y_)[o] = pack_bf2(v0, v1);
#endif
  }
#if SSD_GNORM
  /* the row's PS channels sit in the four lanes of a quad */
  ssq += __shfl_xor_sync(0xffffffffu, ssq, 1);
  ssq += __shfl_xor_sync(0xffffffffu, ssq, 2);
  if (in && tg == 0) gn_ss[((long long)wh.b * L + t0 + t) * (SSD_H * PSL) + wh.h * PSL + wh.p0 / SSD_PS] = ssq;
#endif
  (void)xr; (void)xstep; (void)D; (void)z; (void)gn_w; (void)gn_ss; (void)zr; (void)gwr;
}

// bench/ssd_phase_prof.cu defines SSD_LINK_PROF to time each block's steps
// around the look-back (thread 0's %globaltimer, per ticket): start, end of
// phase 1, predecessor's flag seen, its state read, own state published, end.
#if SSD_LINK_PROF
__device__ unsigned long long ssd_lprof[8192][6];
#define SSD_LSTAMP(flag, i)                                                            \
  do {                                                                                 \
    if (threadIdx.x == 0 && (flag) < 8192) {                                           \
      unsigned long long t_;                                                           \
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t_));                            \
      ssd_lprof[flag][i] = t_;                                                         \
    }                                                                                  \
  } while (0)
#else
#define SSD_LSTAMP(flag, i)
#endif


// Segment seg's published state for this block's (batch row, head, slice) in
// the look-back workspace, as this thread's first float4: the states there
// are fragment-major (tile j of thread i at float4 j * 128 + i), not [P, N],
// so that publishing and reading one is 16-byte accesses a warp makes
// contiguous; scattered 4-byte ones took ~5 us to publish and ~2.3 us to read
// a state (bench/NOTES.md, session 15).  Only the kernels' own blocks read it.
template <int NT>
__device__ __forceinline__ float4 *ssd_ws_state(float *ws_state, long long seg, int batch,
                                                const ssd_where &wh) {
  static_assert(NT * 4 * NWARPS * 32 == SSD_PS * SSD_N, "a block holds its slice's state");
  const long long slice = ((long long)wh.b * SSD_H + wh.h) * PSL + wh.p0 / SSD_PS;
  return (float4 *)(ws_state + (seg * batch * SSD_H * PSL + slice) * (SSD_PS * SSD_N)) + threadIdx.x;
}

// Publish V as the state leaving this block's segment (the one entering the
// next) and raise the block's flag: every thread's share to the workspace,
// a fence, then thread 0's release once the whole state is out.
template <int NT>
__device__ __forceinline__ void ssd_publish(const float (&V)[NT][4], const ssd_where &wh, int batch,
                                            unsigned *ws_sync, float *ws_state, unsigned epoch) {
  constexpr int NTH = NWARPS * 32;
  float4 *mine = ssd_ws_state<NT>(ws_state, wh.seg, batch, wh);
#pragma unroll
  for (int j = 0; j < NT; j++) __stcg(&mine[j * NTH], make_float4(V[j][0], V[j][1], V[j][2], V[j][3]));
  __threadfence();
  ssd_sync_state();
  if (threadIdx.x == 0) ssd_st_release(&ws_sync[2 + wh.flag], epoch);
  SSD_LSTAMP(wh.flag, 4);
}

// Whether the block runs phase 1 (its segment's own contribution to the
// state, before its outputs) and publishes its end state before phase 3:
// looked back (chain 0), every segment with a successor; chained, none (a
// block publishes after phase 3, ssd_finish).
__device__ __forceinline__ bool ssd_publishes_early(const ssd_where &wh, int nseg, int chain) {
  return !chain && wh.seg < nseg - 1;
}

// The state entering the block's segment, into S (NT tiles of mma's C
// fragment layout; off(j, e) is element e of tile j's offset in a [P, N] head
// state, init's layout): init (or zeros) for segment 0, else segment seg - 1's
// end state once its block has published it.  Looked back (chain 0), a
// segment with a successor first publishes its own end state, exp(seglog)
// times the entering state plus phase 1's S; chained, it publishes after
// phase 3 (ssd_finish).
template <int NT, class Off>
__device__ __forceinline__ void ssd_link(float (&S)[NT][4], const ssd_where &wh, int nseg, int batch,
                                         int chain, float seglog, const float *init,
                                         unsigned *ws_sync, float *ws_state, unsigned epoch, Off off) {
  const unsigned per_seg = (unsigned)batch * SSD_H * PSL;
  constexpr int NTH = NWARPS * 32;
  float G[NT][4];
  if (wh.seg == 0) {
#if SSD_HAS_INIT
    const float *in = init + ((long long)wh.b * SSD_H + wh.h) * SSD_P * SSD_N;
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) G[j][e] = in[off(j, e)];
#else
#pragma unroll
    for (int j = 0; j < NT; j++) G[j][0] = G[j][1] = G[j][2] = G[j][3] = 0.f;
#endif
  } else {
    if (threadIdx.x == 0)
      while (ssd_ld_acquire(&ws_sync[2 + wh.flag - per_seg]) != epoch) __nanosleep(100);
    SSD_LSTAMP(wh.flag, 2);
    ssd_sync_state();
    const float4 *prev = ssd_ws_state<NT>(ws_state, wh.seg - 1, batch, wh);
#pragma unroll
    for (int j = 0; j < NT; j++) {
      const float4 v = __ldcg(&prev[j * NTH]);
      G[j][0] = v.x, G[j][1] = v.y, G[j][2] = v.z, G[j][3] = v.w;
    }
    SSD_LSTAMP(wh.flag, 3);
  }
  (void)init; (void)off;
  if (ssd_publishes_early(wh, nseg, chain)) {
    const float dseg = __expf(seglog);
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) S[j][e] = dseg * G[j][e] + S[j][e];
    ssd_publish(S, wh, batch, ws_sync, ws_state, epoch);
  }
#pragma unroll
  for (int j = 0; j < NT; j++)
#pragma unroll
    for (int e = 0; e < 4; e++) S[j][e] = G[j][e];
}

// Whether phase 3 runs the state update after the block's last chunk: only
// where that state is read, as the launch's final state or (chained) as the
// next segment's entering state.
__device__ __forceinline__ bool ssd_keeps_end_state(const ssd_where &wh, int nseg, int chain) {
  return wh.seg == nseg - 1 ? SSD_HAS_FINAL : chain != 0;
}

// The launch's blocks: tickets 0 .. ssd_blocks() - 1.
__device__ __forceinline__ unsigned ssd_blocks(int batch, int nseg) {
  return (unsigned)batch * SSD_H * PSL * (unsigned)nseg;
}

// The token rows of a (segment, batch row) are complete once each of its
// (head, slice) blocks has stored its part of them: the last of those blocks
// to arrive re-arms the slot's count for the next launch and releases the
// slot's flag with this launch's epoch.  A kernel launched after this one
// with PDL (the gated norm, ops_gnorm.cuh) reads a row as soon as its slot's
// flag is up, in the slots this kernel's last round of blocks leaves empty.
// ws_sync after the look-back flags: counts[nseg * batch], then
// flags[nseg * batch], slot = seg * batch + b (rt_cuda_ssd.c sizes it).
__device__ __forceinline__ void ssd_signal_rows(const ssd_where &wh, int nseg, int batch,
                                                unsigned *ws_sync, unsigned epoch) {
  __threadfence(); /* this thread's y stores before the count (as the look-back's publish) */
  ssd_sync_state();
  if (threadIdx.x == 0) {
    const unsigned slots = (unsigned)batch * (unsigned)nseg;
    unsigned *cnt = ws_sync + 2 + ssd_blocks(batch, nseg) + (unsigned)wh.seg * batch + wh.b;
    if (atomicAdd(cnt, 1u) == SSD_H * PSL - 1) {
      *cnt = 0;
      ssd_st_release(cnt + slots, epoch);
    }
  }
}

// The end: a chained segment's end state to its successor, the rows'
// signal, the last segment's state to final_state; the last block out
// resets the ticket counters for the next launch.
template <int NT, class Off>
__device__ __forceinline__ void ssd_finish(const float (&S)[NT][4], const ssd_where &wh, int nseg,
                                           int batch, int chain, float *final_state,
                                           unsigned *ws_sync, float *ws_state, unsigned epoch,
                                           Off off) {
  if (chain && wh.seg < nseg - 1) ssd_publish(S, wh, batch, ws_sync, ws_state, epoch);
  ssd_signal_rows(wh, nseg, batch, ws_sync, epoch);
#if SSD_HAS_FINAL
  const long long head_off = ((long long)wh.b * SSD_H + wh.h) * SSD_P * SSD_N;
  if (wh.seg == nseg - 1) {
#pragma unroll
    for (int j = 0; j < NT; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) final_state[head_off + off(j, e)] = S[j][e];
  }
#endif
  (void)final_state; (void)S; (void)off;
  if (threadIdx.x == 0 && atomicAdd(&ws_sync[1], 1u) == ssd_blocks(batch, nseg) - 1) {
    ws_sync[0] = 0;
    ws_sync[1] = 0;
  }
}
