// dec_common.cuh: helpers for the decode-step kernels (dec_gemv.cuh,
// dec_mixer.cuh), prepended after ssd_common.cuh by codegen/cg_cuda_dec.c.
// DEC_Y_BF16 picks y's storage; DEC_IN_F32 the in_proj row's and DEC_W_BF16
// the conv weights' (mixer only).  Arithmetic is fp32 whatever the storage.
#if DEC_Y_BF16
typedef ssd_bf16 dec_y;
__device__ __forceinline__ float ld_y(const dec_y *p, long long i) { return bf2f(p[i]); }
__device__ __forceinline__ void st_y(dec_y *p, long long i, float v) { p[i] = f2bf(v); }
#else
typedef float dec_y;
__device__ __forceinline__ float ld_y(const dec_y *p, long long i) { return p[i]; }
__device__ __forceinline__ void st_y(dec_y *p, long long i, float v) { p[i] = v; }
#endif
#if DEC_IN_F32
typedef float dec_in;
__device__ __forceinline__ float ld_in(const dec_in *p, long long i) { return p[i]; }
#else
typedef ssd_bf16 dec_in;
__device__ __forceinline__ float ld_in(const dec_in *p, long long i) { return bf2f(p[i]); }
#endif
#if DEC_W_BF16
typedef ssd_bf16 dec_w;
__device__ __forceinline__ float ld_w(const dec_w *p, long long i) { return bf2f(p[i]); }
#else
typedef float dec_w;
__device__ __forceinline__ float ld_w(const dec_w *p, long long i) { return p[i]; }
#endif

#if !SSDC_EMU
// 16 bytes of a streamed operand that is read exactly once (the weights):
// read-only path, no L1 allocation, so L1 keeps what is reused (x).
__device__ __forceinline__ uint4 ld_stream16(const void *p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}
// 16 bytes of a small operand every block rereads (x): read-only, cached.
__device__ __forceinline__ uint4 ld_keep16(const void *p) {
  uint4 v;
  asm("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}

#else // the emulated device (codegen/cuda/emu_prelude.cuh): plain loads, launches in order
__device__ __forceinline__ uint4 ld_stream16(const void *p) { return emu_ld16(p); }
__device__ __forceinline__ uint4 ld_keep16(const void *p) { return emu_ld16(p); }
#endif

// DEC_TRACE (a diagnostic build: $SSDC_DEC_TRACE, runtime/rt_gpu_model.c):
// thread 0 of every block stamps the clock at the block's start, when its
// pdl_wait() returns and at its end (after a barrier, so the block's
// last stores are issued), into the launch's record rec[4] by atomic max,
// so that the record keeps the grid's extremes: rec[0] = ~(first start),
// rec[1] = ~(first wait return), rec[2] = last wait return, rec[3] = last
// end.  Zeroed records; rec == NULL (a launch outside a traced step) skips.
// A PDL wait returns once the previous kernel has completed, so the first
// wait return (rec[1]) minus the previous launch's end (rec[3]) is the cost
// of the boundary between them, and rec[3] - rec[1] this kernel's own time
// on the chain (rt_gpu_trace_print's gap and own).
struct dec_tr {
  unsigned long long t0, t1;
};
__device__ __forceinline__ void dec_tr_start(dec_tr *t) { t->t0 = DEC_TRACE ? gpu_now_ns() : 0; }
__device__ __forceinline__ void dec_tr_wait(dec_tr *t) { t->t1 = DEC_TRACE ? gpu_now_ns() : 0; }
__device__ __forceinline__ void dec_tr_end(const dec_tr *t, unsigned long long *rec) {
#if DEC_TRACE
  __syncthreads();
  if (rec && threadIdx.x == 0) {
    const unsigned long long t2 = gpu_now_ns();
    atomicMax(rec, ~t->t0);
    atomicMax(rec + 1, ~t->t1);
    atomicMax(rec + 2, t->t1);
    atomicMax(rec + 3, t2);
  }
#else
  (void)t, (void)rec;
#endif
}
