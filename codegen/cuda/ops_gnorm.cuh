// ops_gnorm.cuh: mamba_ssm's RMSNormGated with groups.  Per group of
// GS = D / G channels: norm_before_gate=0 normalizes x * silu(z) and scales
// by w; =1 normalizes x, scales by w, then multiplies by silu(z).
// #defines: OPS_D, OPS_G, OPS_EPS, OPS_BEFORE_GATE, OPS_LDX / OPS_LDZ (elements
// between rows of x / z, >= OPS_D: either may be a view into wider rows).
// Grid (G, rows), OPS_THREADS per block (cg_op_threads).
// Two variants: element by element (any storage), and OPS_VEC (bf16 x and z,
// group width and strides multiples of 8): 16-byte accesses of 8 elements and
// the fast SiLU, for the bf16 executor's prefill, which was 3x over its bytes
// with 2-byte loads and an IEEE division per element.
// After the chunked SSD kernel (the VEC variant; rt_cuda_gnorm) the kernel may
// be launched with PDL and `rows` non-null: each block then waits for its row
// of x by the SSD launch's flags (ssd_seg.cuh's ssd_signal_rows) and reads x
// through L2 only (the rows are written while this grid runs), so the rows of
// early (segment, batch row)s are normalized in the SM slots the SSD kernel's
// last round leaves empty.  The grid's last block waits for the SSD grid to
// complete before it ends, so whatever follows in the stream still sees it
// complete (its final states, its workspace reset).
#define OPS_GS (OPS_D / OPS_G)
#if OPS_VEC
#define OPS_NV (OPS_GS / 8)
#define OPS_PV ((OPS_NV + OPS_THREADS - 1) / OPS_THREADS)
#else
#define OPS_PER ((OPS_GS + OPS_THREADS - 1) / OPS_THREADS)
#endif
extern "C" __global__ void __launch_bounds__(OPS_THREADS)
OPS_KERNEL(const ops_in *__restrict__ x, const ops_in *__restrict__ z,
           const ops_w *__restrict__ w, ops_out *__restrict__ y, const unsigned *rows,
           unsigned epoch, long long L, long long seg_rows, int nb) {
  __shared__ float red[32];
  if (rows) ops_wait_row(rows, epoch, L, seg_rows, nb);
  const int g = blockIdx.x;
  const long long base = (long long)blockIdx.y * OPS_D + g * OPS_GS;
  const long long bx = (long long)blockIdx.y * OPS_LDX + g * OPS_GS;
  const long long bz = (long long)blockIdx.y * OPS_LDZ + g * OPS_GS;
#if OPS_VEC
  float v[OPS_PV][8];
#if OPS_BEFORE_GATE
  float gate[OPS_PV][8];
#endif
  float ss = 0.f;
#pragma unroll
  for (int j = 0; j < OPS_PV; j++) {
    const int d = (threadIdx.x + j * OPS_THREADS) * 8;
    float zz[8];
    if (d < OPS_GS) {
      ops_ld8_cg(x + bx + d, v[j]);
      ops_ld8(z + bz + d, zz);
    } else {
#pragma unroll
      for (int q = 0; q < 8; q++) v[j][q] = zz[q] = 0.f;
    }
#pragma unroll
    for (int q = 0; q < 8; q++) {
#if OPS_BEFORE_GATE
      gate[j][q] = ssd_silu(zz[q]);
#else
      v[j][q] *= ssd_silu(zz[q]);
#endif
      ss += v[j][q] * v[j][q];
    }
  }
  ss = ops_block_sum(ss, red);
  const float inv = rsqrtf(ss / (float)OPS_GS + (float)OPS_EPS);
#pragma unroll
  for (int j = 0; j < OPS_PV; j++) {
    const int d = (threadIdx.x + j * OPS_THREADS) * 8;
    if (d >= OPS_GS) continue;
    float wv[8];
    ops_ld8(w + g * OPS_GS + d, wv);
#pragma unroll
    for (int q = 0; q < 8; q++) {
      v[j][q] *= inv * wv[q];
#if OPS_BEFORE_GATE
      v[j][q] *= gate[j][q];
#endif
    }
    ops_st8(y + base + d, v[j]);
  }
  if (rows && blockIdx.x == gridDim.x - 1 && blockIdx.y == gridDim.y - 1) pdl_wait();
#else
  float v[OPS_PER], gate[OPS_PER];
  float ss = 0.f;
#pragma unroll
  for (int j = 0; j < OPS_PER; j++) {
    const int d = threadIdx.x + j * OPS_THREADS;
    v[j] = gate[j] = 0.f;
    if (d < OPS_GS) {
      gate[j] = ssd_silu_exact(ld_in(z, bz + d));
#if OPS_BEFORE_GATE
      v[j] = ld_in(x, bx + d);
#else
      v[j] = ld_in(x, bx + d) * gate[j];
#endif
      ss += v[j] * v[j];
    }
  }
  ss = ops_block_sum(ss, red);
  const float inv = rsqrtf(ss / (float)OPS_GS + (float)OPS_EPS);
#pragma unroll
  for (int j = 0; j < OPS_PER; j++) {
    const int d = threadIdx.x + j * OPS_THREADS;
    if (d >= OPS_GS) continue;
    float o = v[j] * inv * ld_w(w, g * OPS_GS + d);
#if OPS_BEFORE_GATE
    o *= gate[j];
#endif
    st_out(y, base + d, o);
  }
#endif
}
