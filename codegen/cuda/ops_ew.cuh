// ops_ew.cuh: a fused chain of elementwise ops, generated.  The generator
// defines OPS_EW_BODY, straight-line code on the accumulator v (started from
// input 0) that reads further inputs with EW_IN(j): a full operand (same
// shape as the output) or a row operand (OPS_EW_ROWj: a [OPS_COLS] vector
// broadcast over rows, e.g. a bias or D).  Up to four inputs.
#define EW_IN(j) (OPS_EW_ROW##j ? ld_w((const ops_w *)in##j, i % OPS_COLS) : ld_in((const ops_in *)in##j, i))
__device__ __forceinline__ float ew_gelu_erf(float v) { return 0.5f * v * erfcf(-v * 0.70710678118654752f); }
__device__ __forceinline__ float ew_gelu_tanh(float v) {
  return v / (1.f + expf(-1.5957691216057308f * (v + 0.044715f * v * v * v)));
}
extern "C" __global__ void __launch_bounds__(256)
OPS_KERNEL(const void *__restrict__ in0, const void *__restrict__ in1, const void *__restrict__ in2,
           const void *__restrict__ in3, ops_out *__restrict__ out, long long n) {
  (void)in1; (void)in2; (void)in3;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float v = EW_IN(0);
    OPS_EW_BODY
    st_out(out, i, v);
  }
}
