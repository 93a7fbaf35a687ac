// ssd_common.cuh: helpers shared by every generated ssdc kernel.
//
// Kernels are compiled at run time by NVRTC with no include path, so nothing
// here may include a toolkit header: bf16 is carried as its 16-bit pattern and
// converted by hand, and the tensor-core and async-copy instructions are
// written as inline PTX.  The generator (codegen/cg_cuda.c) prepends a block
// of #defines that specializes every kernel on its shapes and options.
typedef unsigned short ssd_bf16;
typedef unsigned int u32;
typedef unsigned long long u64;

// A tensor map (cuda.h's CUtensorMap: 128 opaque bytes, 64-byte aligned), a
// kernel parameter passed by value (__grid_constant__: the tensor copies take
// its address).  The emulated device packs parameters at 8-byte steps and
// reads its own encoding from it (emu_prelude.cuh).
#if SSDC_EMU
struct ssd_tmap { u64 v[16]; };
#define __grid_constant__
#else
struct __align__(64) ssd_tmap { u64 v[16]; };
#endif

// Dynamic shared memory (the emulator's prelude defines its own).
#ifndef SSD_DYN_SMEM
#define SSD_DYN_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
// The same on a 1024-byte boundary (the swizzled tensor copies' period): a
// constant base, so that tile addresses stay immediates.
#define SSD_DYN_SMEM_1K(name) extern __shared__ __align__(1024) unsigned char name[]
#endif

__device__ __forceinline__ float bf2f(ssd_bf16 v) { return __uint_as_float(((u32)v) << 16); }

// Round to nearest even, NaN kept quiet (what cuda_bf16.h does).
__device__ __forceinline__ ssd_bf16 f2bf(float f) {
  u32 u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (ssd_bf16)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (ssd_bf16)(u >> 16);
}

// The halves of a bf16 pair as floats: a shift and a mask, no conversion.
__device__ __forceinline__ float bf2_lo(u32 v) { return __uint_as_float(v << 16); }
__device__ __forceinline__ float bf2_hi(u32 v) { return __uint_as_float(v & 0xffff0000u); }

__device__ __forceinline__ float ssd_softplus(float v) { return v > 20.f ? v : log1pf(__expf(v)); }
// SiLU with the hardware's exp and reciprocal (an IEEE division per element
// was most of the bf16 gated norm's time).  Where exp(-v) overflows, v / inf
// is -0, as silu.
__device__ __forceinline__ float ssd_silu(float v) { return __fdividef(v, 1.f + __expf(-v)); }
// Exact expf (not __expf), as the CPU reference: the fp32 executor is held to
// the float64 goldens.  Used by the op and decode kernels.
__device__ __forceinline__ float ssd_silu_exact(float v) { return v / (1.f + expf(-v)); }

// The skip term D x of head h, channel p (D per head, or per channel with
// SSD_D_PER_CHANNEL); 0 without D.  Shared by the step and decode-mixer kernels.
__device__ __forceinline__ float ssd_skip(const float *D, long long h, long long p, float xv) {
#if SSD_HAS_D
#if SSD_D_PER_CHANNEL
  return D[h * SSD_P + p] * xv;
#else
  (void)p;
  return D[h] * xv;
#endif
#else
  (void)D, (void)h, (void)p, (void)xv;
  return 0.f;
#endif
}

// Programmatic dependent launch and flags between kernels (sm_90+; no-ops
// before, and when the launch did not ask for it).  A kernel launched with
// the attribute may start while the previous kernel in the stream still runs.
// pdl_wait() returns once the previous grid has completed and its writes are
// visible; pdl_trigger() lets the next kernel's blocks be scheduled now.  The
// decode kernels wait in every thread before touching an activation, so
// "previous completed" chains back through the stream; the gated norm after the chunked SSD kernel instead waits
// for the rows it reads by flags (ssd_seg.cuh's ssd_signal_rows, ops_gnorm.cuh).
#if !SSDC_EMU
__device__ __forceinline__ void pdl_wait() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_trigger() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
__device__ __forceinline__ unsigned ssd_ld_acquire(const unsigned *p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void ssd_st_release(unsigned *p, unsigned v) {
  asm volatile("st.release.gpu.global.u32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
}
// The device's nanosecond clock (%globaltimer: 32 ns steps on the H100).
__device__ __forceinline__ unsigned long long gpu_now_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;\n" : "=l"(t));
  return t;
}
#else // the emulated device (emu_prelude.cuh) runs launches one after another
__device__ __forceinline__ void pdl_wait() {}
__device__ __forceinline__ void pdl_trigger() {}
__device__ __forceinline__ unsigned ssd_ld_acquire(const unsigned *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
__device__ __forceinline__ void ssd_st_release(unsigned *p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
__device__ __forceinline__ unsigned long long gpu_now_ns() { return emu_now_ns(); }
#endif

#if !SSDC_EMU
// Two floats to a bf16 pair in one instruction (sm_80+: F2FP), round to
// nearest even like f2bf.  The chunked kernel packs every mma operand it
// builds in registers through here; f2bf's integer rounding was a large part
// of its integer-pipe load.  PTX puts the first source in the upper half.
__device__ __forceinline__ u32 pack_bf2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

__device__ __forceinline__ u32 smem_addr(const void *p) {
  return (u32)__cvta_generic_to_shared(p);
}

// 16-byte async copy global -> shared; src_bytes 0 zero-fills (sequence tail).
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
// Wait until at most N of this thread's most recent copy groups are pending.
template <int N> __device__ __forceinline__ void cp_async_wait_group() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
// Start bringing the line at p into L2 (no register waits for it).
__device__ __forceinline__ void prefetch_l2(const void *p) {
  asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p));
}

// ldmatrix: four (or two) 8x8 b16 tiles; each lane names one row address.
__device__ __forceinline__ void ldsm_x4(u32 r[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x4_t(u32 r[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x2(u32 r[2], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x2_t(u32 r[2], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_addr(p)));
}

// D += A(16x16, row) * B(16x8, col), bf16 operands, fp32 accumulators.
__device__ __forceinline__ void mma_bf16(float d[4], const u32 a[4], const u32 b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Synchronization inside a block beyond __syncthreads, for the warp-specialised
// wgmma kernel (ssd_wg.cuh): a named barrier over the first n threads (id 0 is
// __syncthreads'), and shared-memory mbarriers.  An mbarrier completes a phase
// when its count of arrivals is in; mb_wait(parity) returns once the phase of
// that parity has completed (the first completes phase 0).  Arrival releases
// and waiting acquires the arriving threads' earlier memory operations.
// ssd_trap: a kernel launched in a way it cannot run faults (not a hang, not
// a wrong result).
__device__ __forceinline__ void ssd_trap() { asm volatile("trap;\n"); }
__device__ __forceinline__ void bar_named(int id, int n) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(n) : "memory");
}
__device__ __forceinline__ void mb_init(u64 *mb, unsigned n) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(mb)), "r"(n) : "memory");
}
__device__ __forceinline__ void mb_arrive(u64 *mb) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(smem_addr(mb))
               : "memory");
}
__device__ __forceinline__ void mb_wait(u64 *mb, unsigned parity) {
  asm volatile("{\n.reg .pred p;\nWAIT:\nmbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
               "@!p bra WAIT;\n}\n" ::"r"(smem_addr(mb)), "r"(parity)
               : "memory");
}
// Tensor copies (TMA, sm_90): a box of a tensor described by a CUtensorMap
// (made on the host by cuTensorMapEncodeTiled; the runtime's rt_cuda_tmap_rows)
// lands in shared memory and completes its bytes on an mbarrier, whose phase
// then needs both the arrivals and the bytes.  mb_expect_tx is one arrival
// that first raises the bytes the phase waits for.  Shared memory the block
// read through ordinary loads must be fenced (fence_proxy_async) before a tensor copy
// overwrites it: the copies write through the async proxy.
__device__ __forceinline__ void mb_expect_tx(u64 *mb, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_addr(mb)), "r"(bytes)
               : "memory");
}
// Make mbarrier.init visible to the async proxy (the tensor copies that
// complete on the barriers) before the barrier that follows the inits.
__device__ __forceinline__ void mb_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
// Shared memory written or read through the generic proxy (ordinary loads and
// stores, cp.async) is ordered with the async proxy (tensor copies, wgmma
// operands) by this fence, before the barrier that precedes the async use.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ __forceinline__ void tma_load_3d(void *dst, const ssd_tmap *m, int c0, int c1, int c2, u64 *mb) {
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
               "[%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(smem_addr(dst)), "l"(m), "r"(c0), "r"(c1), "r"(c2),
               "r"(smem_addr(mb))
               : "memory");
}
#else // the emulated device (codegen/cuda/emu_prelude.cuh): the same instructions' semantics
__device__ __forceinline__ u32 pack_bf2(float lo, float hi) { return (u32)f2bf(lo) | (u32)f2bf(hi) << 16; }
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int src_bytes) {
  emu_cp_async16(dst, src, src_bytes);
}
__device__ __forceinline__ void cp_async_commit() {}
__device__ __forceinline__ void cp_async_wait_all() {}
template <int N> __device__ __forceinline__ void cp_async_wait_group() {}
__device__ __forceinline__ void prefetch_l2(const void *) {}
__device__ __forceinline__ void ldsm_x4(u32 r[4], const void *p) { emu_ldmatrix(r, 4, false, p); }
__device__ __forceinline__ void ldsm_x4_t(u32 r[4], const void *p) { emu_ldmatrix(r, 4, true, p); }
__device__ __forceinline__ void ldsm_x2(u32 r[2], const void *p) { emu_ldmatrix(r, 2, false, p); }
__device__ __forceinline__ void ldsm_x2_t(u32 r[2], const void *p) { emu_ldmatrix(r, 2, true, p); }
__device__ __forceinline__ void mma_bf16(float d[4], const u32 a[4], const u32 b[2]) { emu_mma_bf16(d, a, b); }
__device__ __forceinline__ void ssd_trap() { emu_fail("trap: the kernel cannot run as launched"); }
__device__ __forceinline__ void bar_named(int id, int n) { emu_bar_named(id, n); }
__device__ __forceinline__ void mb_init(u64 *mb, unsigned n) { emu_mb_init(mb, n); }
__device__ __forceinline__ void mb_arrive(u64 *mb) { emu_mb_step(mb, 1, 0); }
__device__ __forceinline__ void mb_wait(u64 *mb, unsigned parity) {
  /* phase `parity` has completed once the completed-phase count's parity differs from it */
  emu_wait_while(mb, 1u, parity & 1u);
}
__device__ __forceinline__ void mb_expect_tx(u64 *mb, u32 bytes) { emu_mb_step(mb, 1, (long long)bytes); }
__device__ __forceinline__ void mb_init_fence() {}
__device__ __forceinline__ void fence_proxy_async() {}
__device__ __forceinline__ void tma_load_3d(void *dst, const ssd_tmap *m, int c0, int c1, int c2, u64 *mb) {
  emu_tma_load_3d(dst, m->v, c0, c1, c2, mb);
}
#endif

// The discretization every kernel shares: dt -> clamp(softplus(dt + bias)).
__device__ __forceinline__ float ssd_dt(float v, int h_dt, const float *dt_bias) {
#if !SSD_HAS_DT
  (void)v; (void)h_dt; (void)dt_bias;
  return 1.f; /* no dt operand: every step has dt = 1 */
#endif
#if SSD_HAS_DT_BIAS
  v += dt_bias[h_dt];
#else
  (void)h_dt; (void)dt_bias;
#endif
#if SSD_DT_SOFTPLUS
  v = ssd_softplus(v);
#endif
#if SSD_DT_CLAMP
  v = fminf(fmaxf(v, (float)SSD_DT_MIN), (float)SSD_DT_MAX);
#endif
  return v;
}

__device__ __forceinline__ float ssd_A(const float *A, int h_dt) {
#if !SSD_HAS_A
  (void)A; (void)h_dt;
  return 0.f;
#elif SSD_A_IS_LOG
  return -expf(A[h_dt]);
#else
  return A[h_dt];
#endif
}
