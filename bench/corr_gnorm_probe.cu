// corr_gnorm_probe.cu: the riskiest piece of the batch-1 plan in bench/NOTES.md
// ("Session 34", Next), timed before it is built into ssdc.  At batch 1 the
// SSD kernel would run the sequence as independent segments (no phase 1, no
// look-back) and the gated norm's pass would add each segment's entering
// state back:
//   y[t, h, :] = y_loc[t, h, :] + exp(cs[t, h]) * S_in[seg(t), h] C[t, :]^T
//   out[t, :]  = rmsnorm(y[t, :] * silu(z[t, :])) * w     (one group, D = 5120)
// The question is whether that pass costs about what the plain gated norm
// does (its bytes are the same: y and z in, out), with the correction's
// tensor work (mma.sync, C [64 x 128] . S_in[h]^T per head) and S_in's reads
// from L2 under its memory time.
//
// corr_gnorm: a block per (64-token tile, group of 10 heads), tickets in
// start order (tile-major).  Per head it copies (cp.async, CG_NB buffers) y_loc
// and z's 64 x 64 tiles and S_in[h] (64 x 128), multiplies, gates, sums
// squares per row and keeps gy in shared memory as bf16; then the 8 blocks
// of a tile meet through a counter (a block only waits for tickets that were
// issued before or will be issued next, so with 8 or more resident blocks it
// cannot deadlock) and each scales its own rows by the row's rsqrt.
// Baseline: ssdc's gated norm (codegen/cuda/ops_gnorm.cuh, the VEC variant)
// on the same y and z.  The 2.7b's shapes: H 80, P 64, N 128, L 16384 in 8
// segments of 2048; z and C are views into in_proj's 10576-wide rows.
// Build and run on the device:
//   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda bench/corr_gnorm_probe.cu -lcuda -o cgp && ./cgp [L [segment length]]
// Variants: -DCG_T=32 (v2: two blocks a SM), -DCG_NB=3 (three heads in flight),
// -DCG_V3=1 (v3 below: y resident; -DCG3_HG=5 or 10 heads a block),
// -DCG_V4=1 (v4 below: warp-specialized, bulk copies, wgmma; 64 x 10),
// -DCG_V5=1 (v5: v4 persistent, 5 heads a block, two gy buffers),
// -DCG_FOLD=1 (v2 writing gy unnormalized with the rows' partial sums, as the
// gated-norm fold would: no wait; its check fails by design).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <algorithm>
#include <cuda.h>
#include <cuda_runtime.h>
#define OPS_IN_BF16 1
#define OPS_OUT_BF16 1
#define OPS_W_BF16 1
#define OPS_KERNEL gnorm_vec
#define OPS_D 5120
#define OPS_G 1
#define OPS_EPS 1e-5
#define OPS_BEFORE_GATE 0
#define OPS_LDX 5120
#define OPS_LDZ 10576
#define OPS_VEC 1
#define OPS_THREADS 160 /* cg_op_threads for 640 vectors */
#include "ssd_common.cuh"
#include "ops_common.cuh"
#include "ops_gnorm.cuh"
#include "wg_mma.cuh"

#define CK(x)                                                                              \
  do {                                                                                     \
    cudaError_t e_ = (x);                                                                  \
    if (e_ != cudaSuccess) {                                                               \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      exit(1);                                                                             \
    }                                                                                      \
  } while (0)

#ifndef CG_V3
#define CG_V3 0
#endif
#ifndef CG_V4
#define CG_V4 0
#endif
#ifndef CG_V5
#define CG_V5 0
#endif
#ifndef CG_FOLD
#define CG_FOLD 0 /* v2 without the tile's wait and scale (-DCG_FOLD=1: timing only) */
#endif
#ifndef CG_T
#define CG_T 64       /* tokens a block: 64 (one block a SM) or 32 (two) */
#endif
#define CG_RG (CG_T / 16)  /* row groups of 16 (the mma's m) */
#define CG_PP (4 / CG_RG)  /* the 4 warps split P in CG_PP parts */
#define CG_NJ (8 / CG_PP)  /* n-tiles of 8 p a warp */
#define CG_HG 10      /* heads a block */
#define CG_P 64
#define CG_N 128
#define CG_H 80
#define CG_D (CG_H * CG_P)
#define CG_GRPS (CG_H / CG_HG)
#define CG_LDZ 10576  /* in_proj's row: z at 0, C at CG_C0 */
#define CG_C0 10368
#define CG_SROW (CG_N + 8) /* padded rows: fragment loads conflict-free */
#define CG_YROW (CG_P + 8)
#define CG_GROW (CG_HG * CG_P + 8)
#ifndef CG_NB
#define CG_NB 2 /* heads in flight (copy buffers); -DCG_NB=3 for more bytes in flight */
#endif

struct cg_smem {
  ssd_bf16 c[CG_T][CG_SROW];
  ssd_bf16 s[CG_NB][CG_P][CG_SROW];
  ssd_bf16 y[CG_NB][CG_T][CG_YROW];
  ssd_bf16 z[CG_NB][CG_T][CG_YROW];
  ssd_bf16 gy[CG_T][CG_GROW];
  float e[CG_T][CG_HG];
  float rs[CG_PP][CG_T]; /* the rows' sums of squares, per part of P */
  float rstd[CG_T];
  int tile, grp;
};

__device__ __forceinline__ u32 lds32(const ssd_bf16 *p) { return *reinterpret_cast<const u32 *>(p); }

// One head's copies into buffer b: y_loc and z tiles, S_in[seg][h] (skipped in segment 0).
__device__ __forceinline__ void cg_load_head(cg_smem &sm, int b, const ssd_bf16 *yl, const ssd_bf16 *zx,
                                             const ssd_bf16 *sin, long long t0, int h, int seg) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int k = 0; k < CG_T * 8 / 128; k++) {
    const int c = tid + k * 128, r = c / 8, c8 = (c % 8) * 8;
    cp_async16(&sm.y[b][r][c8], yl + (t0 + r) * CG_D + h * CG_P + c8, 16);
    cp_async16(&sm.z[b][r][c8], zx + (t0 + r) * CG_LDZ + h * CG_P + c8, 16);
  }
  if (seg > 0) {
    const ssd_bf16 *s = sin + ((long long)seg * CG_H + h) * CG_P * CG_N;
#pragma unroll
    for (int k = 0; k < 8; k++) {
      const int c = tid + k * 128, r = c / 16, c8 = (c % 16) * 8;
      cp_async16(&sm.s[b][r][c8], s + r * CG_N + c8, 16);
    }
  }
}

extern "C" __global__ void __launch_bounds__(128, 64 / CG_T)
    corr_gnorm(const ssd_bf16 *__restrict__ yl, const ssd_bf16 *__restrict__ zx, const ssd_bf16 *__restrict__ sin,
               const float *__restrict__ cs, const ssd_bf16 *__restrict__ w, ssd_bf16 *__restrict__ out,
               float *part, unsigned *cnt, unsigned *ticket, unsigned epoch, int seg_len, int ntiles) {
  extern __shared__ __align__(16) unsigned char raw[];
  cg_smem &sm = *reinterpret_cast<cg_smem *>(raw);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
  if (tid == 0) {
    const unsigned tk = atomicAdd(ticket, 1u) - (epoch - 1) * (unsigned)(ntiles * CG_GRPS);
    sm.tile = (int)(tk / CG_GRPS), sm.grp = (int)(tk % CG_GRPS);
  }
  __syncthreads();
  const int tile = sm.tile, grp = sm.grp;
  const long long t0 = (long long)tile * CG_T;
  const int seg = (int)(t0 / seg_len);
  // the C tile (all heads share it: one group of B/C), then heads 0 .. CG_NB - 1
#pragma unroll
  for (int k = 0; k < CG_T * 16 / 128; k++) {
    const int c = tid + k * 128, r = c / 16, c8 = (c % 16) * 8;
    cp_async16(&sm.c[r][c8], zx + (t0 + r) * CG_LDZ + CG_C0 + c8, 16);
  }
#pragma unroll
  for (int i = 0; i < CG_NB; i++) {
    cg_load_head(sm, i, yl, zx, sin, t0, grp * CG_HG + i, seg);
    cp_async_commit();
  }
  for (int i = tid; i < CG_T * CG_HG; i += 128) {
    const int r = i / CG_HG, hh = i % CG_HG;
    sm.e[r][hh] = seg > 0 ? __expf(cs[(t0 + r) * CG_H + grp * CG_HG + hh]) : 0.f;
  }
  const int r0 = (warp % CG_RG) * 16 + g, j0 = (warp / CG_RG) * CG_NJ; /* rows r0, r0 + 8; n-tiles j0 .. */
  u32 a[8][4];
  float ss[2] = {0.f, 0.f};
  for (int i = 0; i < CG_HG; i++) {
    const int b = i % CG_NB;
    cp_async_wait_group<CG_NB - 1>();
    __syncthreads();
    if (i == 0 && seg > 0)
#pragma unroll
      for (int kk = 0; kk < 8; kk++) {
        a[kk][0] = lds32(&sm.c[r0][kk * 16 + 2 * q]);
        a[kk][1] = lds32(&sm.c[r0 + 8][kk * 16 + 2 * q]);
        a[kk][2] = lds32(&sm.c[r0][kk * 16 + 2 * q + 8]);
        a[kk][3] = lds32(&sm.c[r0 + 8][kk * 16 + 2 * q + 8]);
      }
    float acc[CG_NJ][4];
#pragma unroll
    for (int j = 0; j < CG_NJ; j++)
#pragma unroll
      for (int k = 0; k < 4; k++) acc[j][k] = 0.f;
    if (seg > 0)
#pragma unroll
      for (int j = 0; j < CG_NJ; j++)
#pragma unroll
        for (int kk = 0; kk < 8; kk++) {
          const u32 bb[2] = {lds32(&sm.s[b][(j0 + j) * 8 + g][kk * 16 + 2 * q]),
                             lds32(&sm.s[b][(j0 + j) * 8 + g][kk * 16 + 2 * q + 8])};
          mma_bf16(acc[j], a[kk], bb);
        }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
      const int r = r0 + 8 * hr;
      const float e = sm.e[r][i];
#pragma unroll
      for (int j = 0; j < CG_NJ; j++) {
        const int col = (j0 + j) * 8 + 2 * q;
        const u32 yv = lds32(&sm.y[b][r][col]), zv = lds32(&sm.z[b][r][col]);
        const float v0 = (bf2_lo(yv) + e * acc[j][2 * hr]) * ssd_silu(bf2_lo(zv));
        const float v1 = (bf2_hi(yv) + e * acc[j][2 * hr + 1]) * ssd_silu(bf2_hi(zv));
        ss[hr] += v0 * v0 + v1 * v1;
        *reinterpret_cast<u32 *>(&sm.gy[r][i * CG_P + col]) = pack_bf2(v0, v1);
      }
    }
    __syncthreads(); /* buffer b is read; the next copies may overwrite it */
    if (i + CG_NB < CG_HG) cg_load_head(sm, b, yl, zx, sin, t0, grp * CG_HG + i + CG_NB, seg);
    cp_async_commit();
  }
#pragma unroll
  for (int hr = 0; hr < 2; hr++) {
    ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 1);
    ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 2);
  }
  if (q == 0) sm.rs[warp / CG_RG][r0] = ss[0], sm.rs[warp / CG_RG][r0 + 8] = ss[1];
  __syncthreads();
  if (tid < CG_T) {
    float v = 0.f;
#pragma unroll
    for (int k = 0; k < CG_PP; k++) v += sm.rs[k][tid];
    part[((long long)tile * CG_GRPS + grp) * CG_T + tid] = v;
    __threadfence();
  }
  __syncthreads();
#if CG_FOLD
  /* the fold's way: gy unnormalized and the rows' partial sums out, no wait;
   * the row scale would be applied after out_proj (the timing only: the
   * check expects normalized rows and fails) */
  if (tid < CG_T) sm.rstd[tid] = 1.f;
  (void)cnt;
#else
  if (tid == 0) {
    atomicAdd(&cnt[tile], 1u);
    while (ssd_ld_acquire(&cnt[tile]) < epoch * CG_GRPS) {
    }
  }
  __syncthreads();
  if (tid < CG_T) {
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < CG_GRPS; k++) s += __ldcg(&part[((long long)tile * CG_GRPS + k) * CG_T + tid]);
    sm.rstd[tid] = rsqrtf(s / (float)CG_D + 1e-5f);
  }
#endif
  __syncthreads();
  for (int c = tid; c < CG_T * CG_HG * CG_P / 8; c += 128) {
    const int r = c / (CG_HG * CG_P / 8), c8 = (c % (CG_HG * CG_P / 8)) * 8;
    float v[8], wv[8];
    ops_unpack8(*reinterpret_cast<const uint4 *>(&sm.gy[r][c8]), v);
    ops_ld8(w + grp * CG_HG * CG_P + c8, wv);
#pragma unroll
    for (int k = 0; k < 8; k++) v[k] *= sm.rstd[r] * wv[k];
    ops_st8(out + (t0 + r) * CG_D + grp * CG_HG * CG_P + c8, v);
  }
}

// v3: y resident.  A block per (64-token tile, CG3_HG heads, default 5: two
// blocks a SM); all its heads' y tiles are copied at once (the pass's HBM
// bytes in flight from the start) and the gated values overwrite them in
// place; z goes straight to registers in the mma's fragment layout; only
// S_in[h] (from L2) is pipelined by head.
#ifndef CG3_HG
#define CG3_HG 5
#endif
#define CG3_GRPS (CG_H / CG3_HG)
struct cg3_smem {
  ssd_bf16 c[64][CG_SROW];
  ssd_bf16 s[2][CG_P][CG_SROW];
  ssd_bf16 y[CG3_HG][64][CG_YROW];
  float e[64][CG3_HG];
  float rstd[64];
  int tile, grp;
};
__device__ __forceinline__ void cg3_load_s(cg3_smem &sm, int b, const ssd_bf16 *sin, int h, int seg) {
  if (seg == 0) return;
  const ssd_bf16 *s = sin + ((long long)seg * CG_H + h) * CG_P * CG_N;
#pragma unroll
  for (int k = 0; k < 8; k++) {
    const int c = threadIdx.x + k * 128, r = c / 16, c8 = (c % 16) * 8;
    cp_async16(&sm.s[b][r][c8], s + r * CG_N + c8, 16);
  }
}
extern "C" __global__ void __launch_bounds__(128, 2)
    corr_gnorm3(const ssd_bf16 *__restrict__ yl, const ssd_bf16 *__restrict__ zx, const ssd_bf16 *__restrict__ sin,
                const float *__restrict__ cs, const ssd_bf16 *__restrict__ w, ssd_bf16 *__restrict__ out,
                float *part, unsigned *cnt, unsigned *ticket, unsigned epoch, int seg_len, int ntiles) {
  extern __shared__ __align__(16) unsigned char raw[];
  cg3_smem &sm = *reinterpret_cast<cg3_smem *>(raw);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
  if (tid == 0) {
    const unsigned tk = atomicAdd(ticket, 1u) - (epoch - 1) * (unsigned)(ntiles * CG3_GRPS);
    sm.tile = (int)(tk / CG3_GRPS), sm.grp = (int)(tk % CG3_GRPS);
  }
  __syncthreads();
  const int tile = sm.tile, grp = sm.grp, h0 = grp * CG3_HG;
  const long long t0 = (long long)tile * 64;
  const int seg = (int)(t0 / seg_len);
#pragma unroll
  for (int k = 0; k < 8; k++) {
    const int c = tid + k * 128, r = c / 16, c8 = (c % 16) * 8;
    cp_async16(&sm.c[r][c8], zx + (t0 + r) * CG_LDZ + CG_C0 + c8, 16);
  }
#pragma unroll
  for (int k = 0; k < CG3_HG * 4; k++) {
    const int c = tid + k * 128, hh = c / 512, r = c % 512 / 8, c8 = (c % 8) * 8;
    cp_async16(&sm.y[hh][r][c8], yl + (t0 + r) * CG_D + (h0 + hh) * CG_P + c8, 16);
  }
  cg3_load_s(sm, 0, sin, h0, seg);
  cp_async_commit();
  cg3_load_s(sm, 1, sin, h0 + 1, seg);
  cp_async_commit();
  for (int i = tid; i < 64 * CG3_HG; i += 128) {
    const int r = i / CG3_HG, hh = i % CG3_HG;
    sm.e[r][hh] = seg > 0 ? __expf(cs[(t0 + r) * CG_H + h0 + hh]) : 0.f;
  }
  const int r0 = warp * 16 + g;
  u32 a[8][4];
  float ss[2] = {0.f, 0.f};
  for (int i = 0; i < CG3_HG; i++) {
    const int b = i & 1;
    u32 zr[2][8];
#pragma unroll
    for (int hr = 0; hr < 2; hr++)
#pragma unroll
      for (int j = 0; j < 8; j++)
        zr[hr][j] = __ldg(reinterpret_cast<const unsigned *>(zx + (t0 + r0 + 8 * hr) * CG_LDZ + (h0 + i) * CG_P +
                                                             j * 8 + 2 * q));
    cp_async_wait_group<1>();
    __syncthreads();
    if (i == 0 && seg > 0)
#pragma unroll
      for (int kk = 0; kk < 8; kk++) {
        a[kk][0] = lds32(&sm.c[r0][kk * 16 + 2 * q]);
        a[kk][1] = lds32(&sm.c[r0 + 8][kk * 16 + 2 * q]);
        a[kk][2] = lds32(&sm.c[r0][kk * 16 + 2 * q + 8]);
        a[kk][3] = lds32(&sm.c[r0 + 8][kk * 16 + 2 * q + 8]);
      }
    float acc[8][4];
#pragma unroll
    for (int j = 0; j < 8; j++)
#pragma unroll
      for (int k = 0; k < 4; k++) acc[j][k] = 0.f;
    if (seg > 0)
#pragma unroll
      for (int j = 0; j < 8; j++)
#pragma unroll
        for (int kk = 0; kk < 8; kk++) {
          const u32 bb[2] = {lds32(&sm.s[b][j * 8 + g][kk * 16 + 2 * q]),
                             lds32(&sm.s[b][j * 8 + g][kk * 16 + 2 * q + 8])};
          mma_bf16(acc[j], a[kk], bb);
        }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
      const int r = r0 + 8 * hr;
      const float e = sm.e[r][i];
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const int col = j * 8 + 2 * q;
        u32 *yp = reinterpret_cast<u32 *>(&sm.y[i][r][col]);
        const u32 yv = *yp, zv = zr[hr][j];
        const float v0 = (bf2_lo(yv) + e * acc[j][2 * hr]) * ssd_silu(bf2_lo(zv));
        const float v1 = (bf2_hi(yv) + e * acc[j][2 * hr + 1]) * ssd_silu(bf2_hi(zv));
        ss[hr] += v0 * v0 + v1 * v1;
        *yp = pack_bf2(v0, v1);
      }
    }
    __syncthreads(); /* s[b] is read */
    if (i + 2 < CG3_HG) cg3_load_s(sm, b, sin, h0 + i + 2, seg);
    cp_async_commit();
  }
#pragma unroll
  for (int hr = 0; hr < 2; hr++) {
    ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 1);
    ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 2);
  }
  if (q == 0) {
    part[((long long)tile * CG3_GRPS + grp) * 64 + r0] = ss[0];
    part[((long long)tile * CG3_GRPS + grp) * 64 + r0 + 8] = ss[1];
    __threadfence();
  }
  __syncthreads();
  if (tid == 0) {
    atomicAdd(&cnt[tile], 1u);
    while (ssd_ld_acquire(&cnt[tile]) < epoch * CG3_GRPS) {
    }
  }
  __syncthreads();
  if (tid < 64) {
    float v = 0.f;
    for (int k = 0; k < CG3_GRPS; k++) v += __ldcg(&part[((long long)tile * CG3_GRPS + k) * 64 + tid]);
    sm.rstd[tid] = rsqrtf(v / (float)CG_D + 1e-5f);
  }
  __syncthreads();
  for (int c = tid; c < 64 * CG3_HG * 8; c += 128) {
    const int r = c / (CG3_HG * 8), hh = c % (CG3_HG * 8) / 8, c8 = (c % 8) * 8;
    float v[8], wv[8];
    ops_unpack8(*reinterpret_cast<const uint4 *>(&sm.y[hh][r][c8]), v);
    ops_ld8(w + (h0 + hh) * CG_P + c8, wv);
#pragma unroll
    for (int k = 0; k < 8; k++) v[k] *= sm.rstd[r] * wv[k];
    ops_st8(out + (t0 + r) * CG_D + (h0 + hh) * CG_P + c8, v);
  }
}

// v4: warp-specialized, the correction by wgmma.  Warp 0 copies each head's
// y and z tiles (2-D tensor copies, 128-byte swizzle; CG4_TMA=0: a 1-D bulk
// copy a row, which the copy engine's per-copy cost made 4x slower) and
// S_in[h] (stored in global already in wgmma's core-matrix layout,
// wg_mma.cuh: one 16 KB bulk copy) into CG4_NB
// stages on mbarriers; a consumer warpgroup (warps 4-7) runs C . S_in^T as
// 8 x wgmma.m64n64k16 from shared memory (each operand read once a
// warpgroup, not once a warp) and gates; gy stays on chip for the row norm
// as in v2.  One block a SM, 64 tokens x 10 heads.
#ifndef CG4_NB
#define CG4_NB 3 /* y and z stages */
#endif
#ifndef CG4_NS
#define CG4_NS CG4_NB /* S_in stages: with CG4_NS < CG4_NB, warp 1 copies S_in on barriers of its own */
#endif
__device__ __forceinline__ void bulk_g2s(void *dst, const void *src, u32 bytes, u64 *mb) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(
                   smem_addr(dst)),
               "l"(src), "r"(bytes), "r"(smem_addr(mb))
               : "memory");
}
#ifndef CG4_TMA
#define CG4_TMA 1 /* y and z tiles by 2-D tensor copies (128-byte swizzle); 0: a bulk copy a row */
#endif
#if CG4_TMA
#define CG4_YROW 64 /* a swizzled 64 x 64 box: 128-byte rows */
#else
#define CG4_YROW CG_YROW
#endif
struct cg4_smem {
  ssd_bf16 y[CG4_NB][64][CG4_YROW]; /* first: the tensor copies' boxes need 1024-byte alignment */
  ssd_bf16 z[CG4_NB][64][CG4_YROW];
  ssd_bf16 c[64 * CG_N];          /* wgmma core-matrix layout (wg_off<64>) */
  ssd_bf16 s[CG4_NS][CG_P * CG_N]; /* the same layout, as stored in global */
  ssd_bf16 gy[64][CG_GROW];
  float e[64][CG_HG];
  float rstd[64];
  u64 full[CG4_NB], empty[CG4_NB], sfull[CG4_NS], sempty[CG4_NS];
  int tile, grp;
};
#define CG4_SPLIT (CG4_NS != CG4_NB)
// Element (r, col)'s 32-bit pair in a y or z stage (col even).
__device__ __forceinline__ u32 cg4_ld(const ssd_bf16 (*t)[CG4_YROW], int r, int col) {
#if CG4_TMA
  const int b = col * 2;
  return *reinterpret_cast<const u32 *>(reinterpret_cast<const char *>(t) + r * 128 + (((b >> 4) ^ (r & 7)) << 4) +
                                        (b & 15));
#else
  return lds32(&t[r][col]);
#endif
}
extern "C" __global__ void __launch_bounds__(256, 1)
    corr_gnorm4(const ssd_bf16 *__restrict__ yl, const ssd_bf16 *__restrict__ zx, const ssd_bf16 *__restrict__ sin,
                const float *__restrict__ cs, const ssd_bf16 *__restrict__ w, ssd_bf16 *__restrict__ out,
                float *part, unsigned *cnt, unsigned *ticket, unsigned epoch, int seg_len, int ntiles,
                const __grid_constant__ ssd_tmap tm_y, const __grid_constant__ ssd_tmap tm_z) {
  SSD_DYN_SMEM_1K(raw4);
  cg4_smem &sm = *reinterpret_cast<cg4_smem *>(raw4);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  if (tid == 0) {
    const unsigned tk = atomicAdd(ticket, 1u) - (epoch - 1) * (unsigned)(ntiles * CG_GRPS);
    sm.tile = (int)(tk / CG_GRPS), sm.grp = (int)(tk % CG_GRPS);
#pragma unroll
    for (int b = 0; b < CG4_NB; b++) mb_init(&sm.full[b], 1), mb_init(&sm.empty[b], 4);
#pragma unroll
    for (int b = 0; b < CG4_NS; b++) mb_init(&sm.sfull[b], 1), mb_init(&sm.sempty[b], 4);
    mb_init_fence();
  }
  __syncthreads();
  const int tile = sm.tile, grp = sm.grp, h0 = grp * CG_HG;
  const long long t0 = (long long)tile * 64;
  const int seg = (int)(t0 / seg_len);
  if (warp == 0) { /* the producer */
    for (int i = 0; i < CG_HG; i++) {
      const int b = i % CG4_NB;
      if (i >= CG4_NB) mb_wait(&sm.empty[b], ((i / CG4_NB) - 1) & 1);
      if (lane == 0) mb_expect_tx(&sm.full[b], 2 * 64 * CG_P * 2 + (seg > 0 && !CG4_SPLIT ? CG_P * CG_N * 2 : 0));
      __syncwarp();
#if CG4_TMA
      if (lane == 0) {
        tma_load_3d(&sm.y[b][0][0], &tm_y, (h0 + i) * CG_P, (int)t0, 0, &sm.full[b]);
        tma_load_3d(&sm.z[b][0][0], &tm_z, (h0 + i) * CG_P, (int)t0, 0, &sm.full[b]);
      }
#else
#pragma unroll
      for (int k = 0; k < 2; k++) {
        const int r = lane + 32 * k;
        bulk_g2s(&sm.y[b][r][0], yl + (t0 + r) * CG_D + (h0 + i) * CG_P, CG_P * 2, &sm.full[b]);
        bulk_g2s(&sm.z[b][r][0], zx + (t0 + r) * CG_LDZ + (h0 + i) * CG_P, CG_P * 2, &sm.full[b]);
      }
#endif
      if (lane == 0 && seg > 0 && !CG4_SPLIT)
        bulk_g2s(sm.s[b], sin + ((long long)seg * CG_H + h0 + i) * CG_P * CG_N, CG_P * CG_N * 2, &sm.full[b]);
    }
  }
  if (CG4_SPLIT && warp == 1 && lane == 0 && seg > 0) /* S_in's producer */
    for (int i = 0; i < CG_HG; i++) {
      const int b = i % CG4_NS;
      if (i >= CG4_NS) mb_wait(&sm.sempty[b], ((i / CG4_NS) - 1) & 1);
      mb_expect_tx(&sm.sfull[b], CG_P * CG_N * 2);
      bulk_g2s(sm.s[b], sin + ((long long)seg * CG_H + h0 + i) * CG_P * CG_N, CG_P * CG_N * 2, &sm.sfull[b]);
    }
  float ss[2] = {0.f, 0.f};
  const int cw = warp - 4, g = lane / 4, q = lane % 4, r0 = cw * 16 + g;
  if (warp >= 4) { /* the consumers */
    const int ct = tid - 128;
#pragma unroll
    for (int k = 0; k < 8; k++) { /* the C tile, into the core-matrix layout */
      const int c = ct + k * 128, r = c / 16, c8 = (c % 16) * 8;
      cp_async16((char *)sm.c + wg_off<64>(r, c8), zx + (t0 + r) * CG_LDZ + CG_C0 + c8, 16);
    }
    cp_async_commit();
    for (int i = ct; i < 64 * CG_HG; i += 128) {
      const int r = i / CG_HG, hh = i % CG_HG;
      sm.e[r][hh] = seg > 0 ? __expf(cs[(t0 + r) * CG_H + h0 + hh]) : 0.f;
    }
    cp_async_wait_all();
    fence_proxy_async();
    bar_named(1, 128);
    for (int i = 0; i < CG_HG; i++) {
      const int b = i % CG4_NB;
      mb_wait(&sm.full[b], (i / CG4_NB) & 1);
      float acc[8][4];
#pragma unroll
      for (int j = 0; j < 8; j++)
#pragma unroll
        for (int k = 0; k < 4; k++) acc[j][k] = 0.f;
      if (seg > 0) {
        const int bs = i % CG4_NS;
        if (CG4_SPLIT) mb_wait(&sm.sfull[bs], (i / CG4_NS) & 1);
        wg_fence_acc(acc);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
          wg_mma_ss_n64<0>(&acc[0][0], wg_make_desc((const char *)sm.c + kk * 2 * 64 * 16, 64 * 16, 128),
                           wg_make_desc((const char *)sm.s[bs] + kk * 2 * 64 * 16, 64 * 16, 128), kk > 0);
        wg_commit();
        wg_wait<0>();
        wg_fence_acc(acc);
        if (CG4_SPLIT) {
          __syncwarp();
          if (lane == 0) mb_arrive(&sm.sempty[bs]);
        }
      }
#pragma unroll
      for (int hr = 0; hr < 2; hr++) {
        const int r = r0 + 8 * hr;
        const float e = sm.e[r][i];
#pragma unroll
        for (int j = 0; j < 8; j++) {
          const int col = j * 8 + 2 * q;
          const u32 yv = cg4_ld(sm.y[b], r, col), zv = cg4_ld(sm.z[b], r, col);
          const float v0 = (bf2_lo(yv) + e * acc[j][2 * hr]) * ssd_silu(bf2_lo(zv));
          const float v1 = (bf2_hi(yv) + e * acc[j][2 * hr + 1]) * ssd_silu(bf2_hi(zv));
          ss[hr] += v0 * v0 + v1 * v1;
          *reinterpret_cast<u32 *>(&sm.gy[r][i * CG_P + col]) = pack_bf2(v0, v1);
        }
      }
      __syncwarp();
      if (lane == 0) mb_arrive(&sm.empty[b]);
    }
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
      ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 1);
      ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 2);
    }
    if (q == 0) {
      part[((long long)tile * CG_GRPS + grp) * 64 + r0] = ss[0];
      part[((long long)tile * CG_GRPS + grp) * 64 + r0 + 8] = ss[1];
      __threadfence();
    }
  }
  __syncthreads();
  if (tid == 0) {
    atomicAdd(&cnt[tile], 1u);
    while (ssd_ld_acquire(&cnt[tile]) < epoch * CG_GRPS) {
    }
  }
  __syncthreads();
  if (tid < 64) {
    float v = 0.f;
#pragma unroll
    for (int k = 0; k < CG_GRPS; k++) v += __ldcg(&part[((long long)tile * CG_GRPS + k) * 64 + tid]);
    sm.rstd[tid] = rsqrtf(v / (float)CG_D + 1e-5f);
  }
  __syncthreads();
  for (int c = tid; c < 64 * CG_HG * CG_P / 8; c += 256) {
    const int r = c / (CG_HG * CG_P / 8), c8 = (c % (CG_HG * CG_P / 8)) * 8;
    float v[8], wv[8];
    ops_unpack8(*reinterpret_cast<const uint4 *>(&sm.gy[r][c8]), v);
    ops_ld8(w + h0 * CG_P + c8, wv);
#pragma unroll
    for (int k = 0; k < 8; k++) v[k] *= sm.rstd[r] * wv[k];
    ops_st8(out + (t0 + r) * CG_D + h0 * CG_P + c8, v);
  }
}

// v5: v4 made persistent (a block an SM, tiles by ticket), so that a tile's
// end (the siblings' wait, the scale, the store) runs while the copies of the
// block's next tile are in flight: two gy buffers, 5 heads a block (16
// sibling blocks a tile).  A ticket's block publishes its rows' partial sums
// before it takes another ticket and waits for a tile's siblings only when it
// needs that tile's gy buffer again (after publishing its own when it holds
// two tickets of the tile: call 12 hung without that), so with more than 8
// blocks every tile whose tickets were all issued completes.
#define CG5_HG 5
#define CG5_GRPS (CG_H / CG5_HG)
#define CG5_NB 3
#define CG5_GROW (CG5_HG * CG_P + 8)
struct cg5_smem {
  ssd_bf16 y[CG5_NB][64][64]; /* swizzled tensor-copy boxes, 1024-byte aligned */
  ssd_bf16 z[CG5_NB][64][64];
  ssd_bf16 c[64 * CG_N];
  ssd_bf16 s[CG5_NB][CG_P * CG_N];
  ssd_bf16 gy[2][64][CG5_GROW];
  float e[64][CG5_HG];
  float rstd[64];
  u64 full[CG5_NB], empty[CG5_NB];
  int tk;
};
__device__ __forceinline__ u32 cg5_ld(const ssd_bf16 (*t)[64], int r, int col) {
  const int b = col * 2;
  return *reinterpret_cast<const u32 *>(reinterpret_cast<const char *>(t) + r * 128 + (((b >> 4) ^ (r & 7)) << 4) +
                                        (b & 15));
}
// A finished tile: wait for its siblings, then scale this block's rows of gy
// by the rows' rsqrt and the norm's weight and store them (the 128 consumers).
__device__ __forceinline__ void cg5_finish(cg5_smem &sm, int buf, int tile, int grp, const float *part,
                                           const unsigned *cnt, unsigned epoch, const ssd_bf16 *w, ssd_bf16 *out) {
  const int ct = threadIdx.x - 128;
  if (ct == 0)
    while (ssd_ld_acquire(&cnt[tile]) < epoch * CG5_GRPS) {
    }
  bar_named(1, 128);
  if (ct < 64) {
    float v = 0.f;
#pragma unroll
    for (int k = 0; k < CG5_GRPS; k++) v += __ldcg(&part[((long long)tile * CG5_GRPS + k) * 64 + ct]);
    sm.rstd[ct] = rsqrtf(v / (float)CG_D + 1e-5f);
  }
  bar_named(1, 128);
  const int h0 = grp * CG5_HG;
  const long long t0 = (long long)tile * 64;
  for (int c = ct; c < 64 * CG5_HG * CG_P / 8; c += 128) {
    const int r = c / (CG5_HG * CG_P / 8), c8 = (c % (CG5_HG * CG_P / 8)) * 8;
    float v[8], wv[8];
    ops_unpack8(*reinterpret_cast<const uint4 *>(&sm.gy[buf][r][c8]), v);
    ops_ld8(w + h0 * CG_P + c8, wv);
#pragma unroll
    for (int k = 0; k < 8; k++) v[k] *= sm.rstd[r] * wv[k];
    ops_st8(out + (t0 + r) * CG_D + h0 * CG_P + c8, v);
  }
}
extern "C" __global__ void __launch_bounds__(256, 1)
    corr_gnorm5(const ssd_bf16 *__restrict__ sin, const float *__restrict__ cs, const ssd_bf16 *__restrict__ w,
                const ssd_bf16 *__restrict__ zx, ssd_bf16 *__restrict__ out, float *part, unsigned *cnt,
                unsigned *ticket, unsigned epoch, int seg_len, int ntiles, const __grid_constant__ ssd_tmap tm_y,
                const __grid_constant__ ssd_tmap tm_z) {
  SSD_DYN_SMEM_1K(raw5);
  cg5_smem &sm = *reinterpret_cast<cg5_smem *>(raw5);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const unsigned total = (unsigned)(ntiles * CG5_GRPS);
  if (tid == 0) {
#pragma unroll
    for (int b = 0; b < CG5_NB; b++) mb_init(&sm.full[b], 1), mb_init(&sm.empty[b], 4);
    mb_init_fence();
  }
  int n = 0;                    /* heads walked so far (the stages' ring) */
  int prev = -1, pgrp = 0, buf = 0; /* the finished tile waiting for its siblings */
  for (;;) {
    __syncthreads();
    /* each block takes one ticket past the last: total + gridDim.x a launch */
    if (tid == 0) sm.tk = (int)(atomicAdd(ticket, 1u) - (epoch - 1) * (total + gridDim.x));
    __syncthreads();
    const int tk = sm.tk;
    if (tk >= (int)total) break;
    const int tile = tk / CG5_GRPS, grp = tk % CG5_GRPS, h0 = grp * CG5_HG;
    const long long t0 = (long long)tile * 64;
    const int seg = (int)(t0 / seg_len);
    if (warp == 0) { /* the producer */
      for (int i = 0; i < CG5_HG; i++, n++) {
        const int b = n % CG5_NB;
        if (n >= CG5_NB) mb_wait(&sm.empty[b], ((n / CG5_NB) - 1) & 1);
        if (lane == 0) {
          mb_expect_tx(&sm.full[b], 2 * 64 * CG_P * 2 + (seg > 0 ? CG_P * CG_N * 2 : 0));
          tma_load_3d(&sm.y[b][0][0], &tm_y, (h0 + i) * CG_P, (int)t0, 0, &sm.full[b]);
          tma_load_3d(&sm.z[b][0][0], &tm_z, (h0 + i) * CG_P, (int)t0, 0, &sm.full[b]);
          if (seg > 0)
            bulk_g2s(sm.s[b], sin + ((long long)seg * CG_H + h0 + i) * CG_P * CG_N, CG_P * CG_N * 2, &sm.full[b]);
        }
        __syncwarp();
      }
    } else if (warp >= 4) { /* the consumers */
      const int ct = tid - 128, cw = warp - 4, g = lane / 4, q = lane % 4, r0 = cw * 16 + g;
      /* a block may hold two tickets of one tile: then the earlier one's wait
       * needs this one's sums, and waits until they are published (below) */
      if (prev >= 0 && prev != tile) cg5_finish(sm, buf ^ 1, prev, pgrp, part, cnt, epoch, w, out);
#pragma unroll
      for (int k = 0; k < 8; k++) {
        const int c = ct + k * 128, r = c / 16, c8 = (c % 16) * 8;
        cp_async16((char *)sm.c + wg_off<64>(r, c8), zx + (t0 + r) * CG_LDZ + CG_C0 + c8, 16);
      }
      cp_async_commit();
      for (int i = ct; i < 64 * CG5_HG; i += 128) {
        const int r = i / CG5_HG, hh = i % CG5_HG;
        sm.e[r][hh] = seg > 0 ? __expf(cs[(t0 + r) * CG_H + h0 + hh]) : 0.f;
      }
      cp_async_wait_all();
      fence_proxy_async();
      bar_named(1, 128);
      float ss[2] = {0.f, 0.f};
      for (int i = 0; i < CG5_HG; i++, n++) {
        const int b = n % CG5_NB;
        mb_wait(&sm.full[b], (n / CG5_NB) & 1);
        float acc[8][4];
#pragma unroll
        for (int j = 0; j < 8; j++)
#pragma unroll
          for (int k = 0; k < 4; k++) acc[j][k] = 0.f;
        if (seg > 0) {
          wg_fence_acc(acc);
          wg_fence();
#pragma unroll
          for (int kk = 0; kk < 8; kk++)
            wg_mma_ss_n64<0>(&acc[0][0], wg_make_desc((const char *)sm.c + kk * 2 * 64 * 16, 64 * 16, 128),
                             wg_make_desc((const char *)sm.s[b] + kk * 2 * 64 * 16, 64 * 16, 128), kk > 0);
          wg_commit();
          wg_wait<0>();
          wg_fence_acc(acc);
        }
#pragma unroll
        for (int hr = 0; hr < 2; hr++) {
          const int r = r0 + 8 * hr;
          const float e = sm.e[r][i];
#pragma unroll
          for (int j = 0; j < 8; j++) {
            const int col = j * 8 + 2 * q;
            const u32 yv = cg5_ld(sm.y[b], r, col), zv = cg5_ld(sm.z[b], r, col);
            const float v0 = (bf2_lo(yv) + e * acc[j][2 * hr]) * ssd_silu(bf2_lo(zv));
            const float v1 = (bf2_hi(yv) + e * acc[j][2 * hr + 1]) * ssd_silu(bf2_hi(zv));
            ss[hr] += v0 * v0 + v1 * v1;
            *reinterpret_cast<u32 *>(&sm.gy[buf][r][i * CG_P + col]) = pack_bf2(v0, v1);
          }
        }
        __syncwarp();
        if (lane == 0) mb_arrive(&sm.empty[b]);
      }
#pragma unroll
      for (int hr = 0; hr < 2; hr++) {
        ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 1);
        ss[hr] += __shfl_xor_sync(0xffffffffu, ss[hr], 2);
      }
      if (q == 0) {
        part[((long long)tile * CG5_GRPS + grp) * 64 + r0] = ss[0];
        part[((long long)tile * CG5_GRPS + grp) * 64 + r0 + 8] = ss[1];
        __threadfence();
      }
      bar_named(1, 128);
      if (ct == 0) atomicAdd(&cnt[tile], 1u);
      if (prev == tile) cg5_finish(sm, buf ^ 1, prev, pgrp, part, cnt, epoch, w, out);
    } else {
      n += CG5_HG; /* warps 1-3 keep the count only */
    }
    prev = tile, pgrp = grp, buf ^= 1;
  }
  if (warp >= 4 && prev >= 0) cg5_finish(sm, buf ^ 1, prev, pgrp, part, cnt, epoch, w, out);
}

#if CG_V4 || CG_V5
/* A 2-D bf16 tensor map (as 3-D with one plane) with 64 x 64 boxes, 128-byte swizzle. */
static void encode64(CUtensorMap *m, const void *base, unsigned long long cols, unsigned long long rows,
                     unsigned long long row_bytes) {
  const cuuint64_t dims[3] = {cols, rows, 1}, strides[2] = {row_bytes, row_bytes * rows};
  const cuuint32_t box[3] = {64, 64, 1}, estr[3] = {1, 1, 1};
  const CUresult r = cuTensorMapEncodeTiled(m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, (void *)base, dims, strides, box,
                                            estr, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                            CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r) {
    fprintf(stderr, "cuTensorMapEncodeTiled: %d\n", (int)r);
    exit(1);
  }
}
#endif

static float bf(unsigned short v) {
  unsigned u = (unsigned)v << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static unsigned short tobf(float f) {
  unsigned u;
  memcpy(&u, &f, 4);
  return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float urand(unsigned long long &s) { /* [-1, 1) */
  s = s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((s >> 40) & 0xffffff) / 8388608.f - 1.f;
}

template <class F> static float median_ms(F run, int reps = 20) {
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  run();
  CK(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int r = 0; r < reps; r++) {
    CK(cudaEventRecord(e0));
    run();
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  cudaEventDestroy(e0), cudaEventDestroy(e1);
  return t[reps / 2];
}

int main(int argc, char **argv) {
  const int L = argc > 1 ? atoi(argv[1]) : 16384, seg_len = argc > 2 ? atoi(argv[2]) : 2048;
  if (L % CG_T || seg_len % CG_T || L % seg_len) {
    fprintf(stderr, "L and the segment length must be multiples of %d, L of the segment\n", CG_T);
    return 2;
  }
  const int nseg = L / seg_len, ntiles = L / CG_T;
  unsigned long long s = 12345;
  std::vector<unsigned short> hy((size_t)L * CG_D), hzx((size_t)L * CG_LDZ), hs((size_t)nseg * CG_H * CG_P * CG_N),
      hw(CG_D);
  std::vector<float> hcs((size_t)L * CG_H), rate(CG_H);
  for (auto &v : hy) v = tobf(urand(s) * 2.f);
  for (auto &v : hzx) v = tobf(urand(s) * 3.f);
  for (auto &v : hs) v = tobf(urand(s) * 0.5f);
  for (auto &v : hw) v = tobf(1.f + 0.5f * urand(s));
  for (int h = 0; h < CG_H; h++) rate[h] = 1e-4f * powf(200.f, (float)h / CG_H); /* decay per token, 1e-4 .. 2e-2 */
  for (int t = 0; t < L; t++)
    for (int h = 0; h < CG_H; h++) hcs[(size_t)t * CG_H + h] = -rate[h] * (float)(t % seg_len + 1);
  ssd_bf16 *dy, *dzx, *ds, *dw, *dout, *dout2;
  float *dcs, *dpart;
  unsigned *dcnt, *dtk;
  CK(cudaMalloc(&dy, hy.size() * 2));
  CK(cudaMalloc(&dzx, hzx.size() * 2));
  CK(cudaMalloc(&ds, hs.size() * 2));
  CK(cudaMalloc(&dw, hw.size() * 2));
  CK(cudaMalloc(&dout, (size_t)L * CG_D * 2));
  CK(cudaMalloc(&dout2, (size_t)L * CG_D * 2));
  CK(cudaMalloc(&dcs, hcs.size() * 4));
  CK(cudaMalloc(&dpart, (size_t)L * CG_H * 4)); /* a partial sum per (row, head) at most */
  CK(cudaMalloc(&dcnt, (size_t)ntiles * 4));
  CK(cudaMalloc(&dtk, 4));
  CK(cudaMemcpy(dy, hy.data(), hy.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dzx, hzx.data(), hzx.size() * 2, cudaMemcpyHostToDevice));
#if CG_V4 || CG_V5
  { /* v4 and v5 read S_in in wgmma's core-matrix layout, (p, n) at (n / 8) 64 16 + p 16 + (n % 8) 2 bytes */
    std::vector<unsigned short> hw4(hs.size());
    for (size_t m = 0; m < hs.size() / (CG_P * CG_N); m++)
      for (int p = 0; p < CG_P; p++)
        for (int n = 0; n < CG_N; n++)
          hw4[m * CG_P * CG_N + (n / 8) * 64 * 8 + p * 8 + n % 8] = hs[(m * CG_P + p) * CG_N + n];
    CK(cudaMemcpy(ds, hw4.data(), hs.size() * 2, cudaMemcpyHostToDevice));
  }
#else
  CK(cudaMemcpy(ds, hs.data(), hs.size() * 2, cudaMemcpyHostToDevice));
#endif
  CK(cudaMemcpy(dw, hw.data(), hw.size() * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dcs, hcs.data(), hcs.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemset(dcnt, 0, (size_t)ntiles * 4));
  CK(cudaMemset(dtk, 0, 4));
  CK(cudaMemset(dout, 0xff, (size_t)L * CG_D * 2)); /* poisoned: NaN where nothing is written */
#if CG_V5
  const int smem = (int)sizeof(cg5_smem) + 1024, ntl = L / 64;
  const char *kname = "corr_gnorm5 (v4 persistent, a tile's end beside the next tile's copies)";
  const int threads = 256;
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const int nblk = sms;
  CUtensorMap my5, mz5;
  encode64(&my5, dy, CG_D, L, CG_D * 2);
  encode64(&mz5, dzx, CG_D, L, CG_LDZ * 2);
  const ssd_tmap *ty5 = (const ssd_tmap *)&my5, *tz5 = (const ssd_tmap *)&mz5;
  CK(cudaFuncSetAttribute(corr_gnorm5, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int per_sm = 0;
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, corr_gnorm5, threads, smem));
#elif CG_V4
  const int smem = (int)sizeof(cg4_smem), nblk = L / 64 * CG_GRPS, ntl = L / 64;
  const char *kname = CG4_TMA ? "corr_gnorm4 (warp-specialized, wgmma, tensor copies)"
                              : "corr_gnorm4 (warp-specialized, wgmma, a bulk copy a row)";
  const int threads = 256;
  CUtensorMap my4, mz4;
  encode64(&my4, dy, CG_D, L, CG_D * 2);
  encode64(&mz4, dzx, CG_D, L, CG_LDZ * 2);
  const ssd_tmap *ty4 = (const ssd_tmap *)&my4, *tz4 = (const ssd_tmap *)&mz4;
  auto kern = [&](int nb, int th, int sm_, const ssd_bf16 *a0, const ssd_bf16 *a1, const ssd_bf16 *a2, const float *a3,
                  const ssd_bf16 *a4, ssd_bf16 *a5, float *a6, unsigned *a7, unsigned *a8, unsigned a9, int a10,
                  int a11) {
    corr_gnorm4<<<nb, th, sm_>>>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, *ty4, *tz4);
  };
  CK(cudaFuncSetAttribute(corr_gnorm4, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int per_sm = 0;
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, corr_gnorm4, threads, smem));
#elif CG_V3
  const int threads = 128;
  const int smem = (int)sizeof(cg3_smem), nblk = L / 64 * CG3_GRPS, ntl = L / 64;
  auto kern = corr_gnorm3;
  const char *kname = "corr_gnorm3 (y resident)";
#else
  const int threads = 128;
  const int smem = (int)sizeof(cg_smem), nblk = ntiles * CG_GRPS, ntl = ntiles;
  auto kern = corr_gnorm;
  const char *kname = "corr_gnorm (y, z staged by head)";
#endif
#if !CG_V4 && !CG_V5
  CK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int per_sm = 0;
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kern, threads, smem));
#endif
  printf("%s: L %d, %d segments of %d, %d blocks of %d threads, %d B shared, %d a SM\n", kname, L, nseg, seg_len,
         nblk, threads, smem, per_sm);
  unsigned epoch = 0;
  auto mine = [&] {
    ++epoch;
#if CG_V5
    corr_gnorm5<<<nblk, threads, smem>>>(ds, dcs, dw, dzx, dout, dpart, dcnt, dtk, epoch, seg_len, ntl, *ty5, *tz5);
#elif CG_V4
    kern(nblk, threads, smem, dy, dzx, ds, dcs, dw, dout, dpart, dcnt, dtk, epoch, seg_len, ntl);
#else
    kern<<<nblk, threads, smem>>>(dy, dzx, ds, dcs, dw, dout, dpart, dcnt, dtk, epoch, seg_len, ntl);
#endif
  };
  auto base = [&] {
    gnorm_vec<<<dim3(1, L), OPS_THREADS>>>(dy, dzx, dw, dout2, nullptr, 0u, 0LL, 0LL, 0);
  };
  mine();
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  /* the float64 reference on sampled rows: each segment's first, a middle and its last */
  std::vector<unsigned short> ho((size_t)L * CG_D);
  CK(cudaMemcpy(ho.data(), dout, ho.size() * 2, cudaMemcpyDeviceToHost));
  double maxd = 0, maxr = 0;
  size_t bad = 0, nan = 0;
  for (size_t i = 0; i < ho.size(); i++) nan += std::isnan(bf(ho[i])) ? 1 : 0;
  std::vector<int> rows;
  for (int k = 0; k < nseg; k++) rows.push_back(k * seg_len), rows.push_back(k * seg_len + 37), rows.push_back(k * seg_len + seg_len - 1);
  std::vector<double> gy(CG_D);
  for (int t : rows) {
    const int k = t / seg_len;
    double sq = 0;
    for (int h = 0; h < CG_H; h++)
      for (int p = 0; p < CG_P; p++) {
        double corr = 0;
        if (k > 0) {
          for (int n = 0; n < CG_N; n++)
            corr += (double)bf(hzx[(size_t)t * CG_LDZ + CG_C0 + n]) *
                    bf(hs[(((size_t)k * CG_H + h) * CG_P + p) * CG_N + n]);
          corr *= exp((double)hcs[(size_t)t * CG_H + h]);
        }
        const double y = bf(hy[(size_t)t * CG_D + h * CG_P + p]) + corr, z = bf(hzx[(size_t)t * CG_LDZ + h * CG_P + p]);
        const double v = y * z / (1 + exp(-z));
        gy[h * CG_P + p] = v, sq += v * v;
      }
    const double inv = 1 / sqrt(sq / CG_D + 1e-5);
    for (int d = 0; d < CG_D; d++) {
      const double r = gy[d] * inv * bf(hw[d]), o = bf(ho[(size_t)t * CG_D + d]);
      maxr = std::max(maxr, fabs(r)), maxd = std::max(maxd, fabs(o - r));
      if (!(fabs(o - r) <= 2e-2 * fabs(r) + 2e-2)) bad++;
    }
  }
  printf("check (%zu rows against float64): max |diff| %.3g, max |ref| %.3g, %zu outside tolerance, %zu NaN "
         "(poison) in the whole output: %s\n",
         rows.size(), maxd, maxr, bad, nan, bad || nan ? "FAIL" : "ok");
  const double bytes = (double)L * CG_D * 2 * 3; /* y and z in, out */
  const float tb = median_ms(base), tm = median_ms(mine), tb2 = median_ms(base), tm2 = median_ms(mine);
  printf("gated norm (ops_gnorm.cuh VEC): %.4f / %.4f ms (%.2f TB/s of y, z, out)\n", tb, tb2, bytes / tb / 1e9);
  printf("corr_gnorm (this variant):      %.4f / %.4f ms (%.2f TB/s; %.3fx the gated norm)\n", tm, tm2,
         bytes / tm / 1e9, (tm + tm2) / (tb + tb2));
  return bad || nan ? 1 : 0;
}
