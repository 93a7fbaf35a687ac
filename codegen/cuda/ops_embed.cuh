// ops_embed.cuh: token embedding, out[i, :] = table[ids[i], :].
// #defines: OPS_D (width), OPS_V (vocabulary), OPS_W_SPLIT (the table is two
// bf16 arrays, table + table_lo = the fp32 value to ~2^-17: a tied bf16 GEMM
// weight gathered without rounding the residual stream's start; else
// table_lo is unused).  One block per token.  An id
// outside [0, V) writes NaNs and raises *bad, so a bad id can never pass for
// a real row; the launcher's caller checks ids on the host before upload.
extern "C" __global__ void __launch_bounds__(128)
OPS_KERNEL(const long long *__restrict__ ids, const ops_w *__restrict__ table,
           const ops_w *__restrict__ table_lo, ops_out *__restrict__ out, int *__restrict__ bad) {
  const long long i = blockIdx.x, id = ids[i];
  const bool ok = id >= 0 && id < OPS_V;
  if (!ok && threadIdx.x == 0 && bad) atomicExch(bad, 1);
  for (int d = threadIdx.x; d < OPS_D; d += blockDim.x) {
#if OPS_W_SPLIT
    const float v = ok ? ld_w(table, id * OPS_D + d) + ld_w(table_lo, id * OPS_D + d) : 0.f;
#else
    const float v = ok ? ld_w(table, id * OPS_D + d) : 0.f;
    (void)table_lo;
#endif
    st_out(out, i * OPS_D + d, ok ? v : __int_as_float(0x7fc00000));
  }
}
