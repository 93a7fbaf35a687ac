// emu_prelude.cuh: the CUDA that ssdc's kernels use, for the host's C++
// compiler, so that the generated kernels run on the CPU under the emulated
// device (runtime/rt_cuda_emu.c; codegen/cg_emu.c compiles them).  CI has no
// GPU; with this it runs every kernel the GPU executor launches, on the
// executor's own launches, against the CPU references.
//
// A block runs on one OS thread, its CUDA threads as fibers.  A fiber runs
// until it reaches a __syncthreads (all live threads of the block must get
// there), a warp-collective operation (shuffles, __syncwarp, ldmatrix, mma:
// the lanes of its mask must get there), a spin (__nanosleep) or its end;
// the scheduler then releases whatever group is complete.  Warp collectives
// exchange through per-warp slots: each lane deposits its operands, the
// release snapshots them, and each lane computes its own result from the
// snapshot, as the hardware's lane-to-lane routing would.  Blocks run one
// after another in blockIdx order, so inter-block protocols that wait only
// for earlier blocks (the chunked SSD kernel's look-back) complete;
// __shared__ variables are static, i.e. one per block at a time
// (their contents carry over between blocks, like stale shared memory).
// A module's launches must not overlap (one thread's device owns it).
//
// What it cannot show: data races and memory-ordering bugs (fibers are
// sequential), and the hardware's approximate math (__expf is expf here).
// It is for correctness only: ~10^7 thread switches per second.
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utility>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#define SSDC_EMU 1
#define __CUDA_ARCH__ 900
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static
#define SSD_DYN_SMEM(name) unsigned char *name = emu_dyn_smem
#define SSD_DYN_SMEM_1K(name) unsigned char *name = emu_dyn_smem

struct uint3 { unsigned x, y, z; };
struct __attribute__((aligned(16))) uint4 { unsigned x, y, z, w; };
struct __attribute__((aligned(8))) float2 { float x, y; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
static inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
static inline float2 make_float2(float x, float y) { return {x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// ---- fibers ---------------------------------------------------------------------------
enum { EMU_RUN, EMU_BAR, EMU_WARP, EMU_WAIT, EMU_DONE, EMU_ABORT };
enum { EMU_SLOT = 12 }; // 64-bit words a lane contributes to one warp operation

struct emu_thr {
#if defined(__x86_64__)
  void *sp;
#else
  ucontext_t ctx;
#endif
  uint3 tid;
  int lin, state;
  unsigned mask;
  uint64_t in[EMU_SLOT];
  const uint32_t *wp; // EMU_WAIT: blocked while (*wp & wmask) == wval
  uint32_t wmask, wval;
};

struct emu_blk {
  emu_thr *t;
  int n;
  uint64_t (*out)[32][EMU_SLOT]; // per warp: the lanes' operands at the last release
#if defined(__x86_64__)
  void *sp;
#else
  ucontext_t ctx;
#endif
  void (*thunk)(void **);
  void **args;
  long long spins;
  uint32_t nbar_n[16], nbar_gen[16]; // named barriers: arrivals, completions
  char err[256];
};

// Plain statics, not thread_local (whose every access in a dlopen'ed object
// is a call): a module's launches never overlap, as its device is one
// thread's, and each device loads its own copy of a module.
static emu_thr *emu_self;
static emu_blk *emu_b;
static uint3 emu_bid, emu_bdim, emu_gdim;
static unsigned char *emu_dyn_smem;
#define threadIdx (emu_self->tid)
#define blockIdx emu_bid
#define blockDim emu_bdim
#define gridDim emu_gdim

#if defined(__x86_64__)
// Save the callee-saved registers on this stack, store its pointer in *save,
// switch to `to` and restore its registers (the System V ABI's).
extern "C" void emu_switch(void **save, void *to) __attribute__((visibility("hidden")));
asm(".text\n.p2align 4\n.hidden emu_switch\n.type emu_switch,@function\nemu_switch:\n"
    " pushq %rbp\n pushq %rbx\n pushq %r12\n pushq %r13\n pushq %r14\n pushq %r15\n"
    " movq %rsp, (%rdi)\n movq %rsi, %rsp\n"
    " popq %r15\n popq %r14\n popq %r13\n popq %r12\n popq %rbx\n popq %rbp\n ret\n"
    ".size emu_switch, .-emu_switch\n");
static void emu_to_sched() { emu_switch(&emu_self->sp, emu_b->sp); }
static void emu_to_thr(emu_thr *t) { emu_switch(&emu_b->sp, t->sp); }
#else
static void emu_to_sched() { swapcontext(&emu_self->ctx, &emu_b->ctx); }
static void emu_to_thr(emu_thr *t) { swapcontext(&emu_b->ctx, &t->ctx); }
#endif

static void emu_yield(int state) {
  emu_self->state = state;
  emu_to_sched();
}

// An error inside a kernel: the block stops here and the launch fails.
__attribute__((format(printf, 1, 2))) static void emu_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(emu_b->err, sizeof emu_b->err, fmt, ap);
  va_end(ap);
  for (;;) emu_yield(EMU_ABORT);
}

static void emu_fiber_main() {
  emu_b->thunk(emu_b->args);
  for (;;) emu_yield(EMU_DONE);
}

// One stack per thread of the block, each above a guard page: the driver's
// (runtime/rt_cuda_emu.c maps them once; a process has only so many mappings).
enum { EMU_STACK = 256 << 10, EMU_GUARD = 4096 };
static unsigned char *emu_stacks;

// Under ASan (the CI's sanitized emulated kernels) a fiber's stack is memory
// the next block and the next kernel reuse, and a fiber leaves by a switch,
// not a return, so its frames' scope poisoning stays in the shadow; a later
// frame's temporaries that ASan does not track (16-byte struct copies at
// -O0) then read as use-after-scope.  So every block leaves its stacks
// clean (emu_clean_stacks): a thread that finished has only its last frames
// (emu_fiber_main's, emu_yield's) above its saved stack pointer, the frames
// it returned from having cleaned up after themselves, so that span is all
// it unpoisons; a thread stopped anywhere else (an abort, a deadlock) may
// have left frames anywhere, so its whole stack is.  Unpoisoning every
// whole stack per block instead cost 252 KB of shadow writes per thread per
// block, 38% of emu_graph's time under the sanitizers (session 35).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define EMU_ASAN 1
#endif
#if EMU_ASAN
extern "C" void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

static void emu_clean_stacks(const emu_blk *b) {
#if EMU_ASAN
  for (int i = 0; i < b->n; i++) {
    unsigned char *lo = emu_stacks + (size_t)i * EMU_STACK + EMU_GUARD, *hi = lo - EMU_GUARD + EMU_STACK;
#if defined(__x86_64__)
    if (b->t[i].state == EMU_DONE) lo = (unsigned char *)b->t[i].sp;
#endif
    __asan_unpoison_memory_region(lo, (size_t)(hi - lo));
  }
#else
  (void)b;
#endif
}

static void emu_start(emu_thr *t, int i) {
  unsigned char *lo = emu_stacks + (size_t)i * EMU_STACK, *hi = lo + EMU_STACK;
#if defined(__x86_64__)
  // A frame emu_switch pops: six registers, then the return into emu_fiber_main
  // (entered as if called: the stack pointer is 8 mod 16 there).
  void **sp = (void **)((uintptr_t)hi & ~(uintptr_t)15) - 8;
  memset(sp, 0, 8 * sizeof *sp);
  sp[6] = (void *)emu_fiber_main;
  t->sp = sp;
#else
  getcontext(&t->ctx);
  t->ctx.uc_stack.ss_sp = lo + EMU_GUARD;
  t->ctx.uc_stack.ss_size = (size_t)(hi - lo) - EMU_GUARD;
  t->ctx.uc_link = NULL;
  makecontext(&t->ctx, emu_fiber_main, 0);
#endif
}

// Release the threads blocked in emu_wait_while whose condition no longer holds.
static bool emu_release_waits(emu_blk *b) {
  bool any = false;
  for (int i = 0; i < b->n; i++) {
    emu_thr *t = &b->t[i];
    if (t->state == EMU_WAIT && (*t->wp & t->wmask) != t->wval) t->state = EMU_RUN, any = true;
  }
  return any;
}

// Release the lanes waiting on a warp operation whose whole mask is there
// (lanes that have exited count as there).  Returns whether any were released.
static bool emu_release_warps(emu_blk *b) {
  bool any = false;
  for (int i = 0; i < b->n; i++) {
    emu_thr *t = &b->t[i];
    if (t->state != EMU_WARP) continue;
    const int w0 = i & ~31;
    const unsigned m = t->mask;
    bool ok = true;
    for (int l = 0; l < 32 && ok; l++) {
      if (!(m >> l & 1u)) continue;
      if (w0 + l >= b->n) continue;
      const emu_thr *u = &b->t[w0 + l];
      ok = u->state == EMU_DONE || (u->state == EMU_WARP && u->mask == m);
    }
    if (!ok) continue;
    for (int l = 0; l < 32; l++) {
      if (!(m >> l & 1u) || w0 + l >= b->n) continue;
      emu_thr *u = &b->t[w0 + l];
      if (u->state != EMU_WARP) continue;
      memcpy(b->out[w0 >> 5][l], u->in, sizeof u->in);
      u->state = EMU_RUN;
    }
    any = true;
  }
  return any;
}

// Run one block to completion.  0, or -1 with b->err set.
static int emu_run_block(emu_blk *b) {
  for (int i = 0; i < b->n; i++) {
    b->t[i].state = EMU_RUN;
    emu_start(&b->t[i], i);
  }
  memset(b->nbar_n, 0, sizeof b->nbar_n);
  memset(b->nbar_gen, 0, sizeof b->nbar_gen);
  for (;;) {
    for (int i = 0; i < b->n; i++) {
      if (b->t[i].state != EMU_RUN) continue;
      emu_self = &b->t[i];
      emu_to_thr(&b->t[i]);
      if (b->t[i].state == EMU_ABORT) return -1;
    }
    int live = 0, bar = 0, run = 0;
    for (int i = 0; i < b->n; i++) {
      const int s = b->t[i].state;
      live += s != EMU_DONE, bar += s == EMU_BAR, run += s == EMU_RUN;
    }
    if (!live) return 0;
    const bool released = emu_release_warps(b) | emu_release_waits(b);
    if (run || released) continue; // run: spinning threads
    if (bar == live) {
      for (int i = 0; i < b->n; i++)
        if (b->t[i].state == EMU_BAR) b->t[i].state = EMU_RUN;
      continue;
    }
    snprintf(b->err, sizeof b->err,
             "deadlock: of %d live threads, %d wait at __syncthreads and the rest at warp "
             "operations whose lanes never all arrive, named barriers or mbarriers (block %u,%u,%u)",
             live, bar, emu_bid.x, emu_bid.y, emu_bid.z);
    return -1;
  }
}

// ---- the launch entry point (runtime/rt_cuda_emu.c) ------------------------------------
struct emu_kernel {
  const char *name;
  void (*thunk)(void **); // calls the kernel with the driver's argument array
};

static int emu_launch(const emu_kernel *k, const unsigned grid[3], const unsigned block[3],
                      unsigned smem, void **args, unsigned char *stacks, char *err, size_t errn) {
  const int n = (int)(block[0] * block[1] * block[2]);
  emu_blk b;
  memset(&b, 0, sizeof b);
  b.n = n;
  b.thunk = k->thunk, b.args = args;
  b.t = (emu_thr *)calloc((size_t)n, sizeof *b.t);
  b.out = (uint64_t(*)[32][EMU_SLOT])calloc((size_t)(n + 31) / 32, sizeof *b.out);
  // 1024-byte aligned, as the swizzled tensor copies ask and a GPU places it
  const size_t dyn_bytes = ((size_t)(smem ? smem : 1) + 1023) & ~(size_t)1023;
  unsigned char *dyn = (unsigned char *)aligned_alloc(1024, dyn_bytes);
  int rc = 0;
  emu_stacks = stacks;
  if (!b.t || !b.out || !dyn) {
    snprintf(err, errn, "out of memory for %d emulated threads", n);
    rc = -1;
  }
  for (int i = 0; i < n && !rc; i++) {
    b.t[i].lin = i;
    b.t[i].tid = {(unsigned)i % block[0], (unsigned)i / block[0] % block[1],
                  (unsigned)i / (block[0] * block[1])};
  }
  emu_b = &b;
  emu_bdim = {block[0], block[1], block[2]};
  emu_gdim = {grid[0], grid[1], grid[2]};
  emu_dyn_smem = dyn;
  for (unsigned z = 0; z < grid[2] && !rc; z++)
    for (unsigned y = 0; y < grid[1] && !rc; y++)
      for (unsigned x = 0; x < grid[0] && !rc; x++) {
        emu_bid = {x, y, z};
        memset(dyn, 0xff, smem ? smem : 1); // stale shared memory reads as NaN
        if (emu_run_block(&b)) {
          snprintf(err, errn, "kernel %s: %s", k->name, b.err);
          rc = -1;
        }
        emu_clean_stacks(&b);
      }
  free(b.t);
  free(b.out);
  free(dyn);
  emu_b = NULL, emu_self = NULL, emu_stacks = NULL;
  return rc;
}

template <class... A, size_t... I>
static void emu_call_i(void (*f)(A...), void **a, std::index_sequence<I...>) {
  f(*(A *)a[I]...);
}
template <class... A> static void emu_call(void (*f)(A...), void **a) {
  emu_call_i(f, a, std::index_sequence_for<A...>{});
}
template <class... A> static constexpr int emu_nparams(void (*)(A...)) { return sizeof...(A); }
template <class... A> static void emu_sizes(void (*)(A...), unsigned *s) {
  const unsigned v[] = {(unsigned)sizeof(A)..., 0u};
  for (size_t i = 0; i < sizeof...(A); i++) s[i] = v[i];
}
#define EMU_STR2(x) #x
#define EMU_STR(x) EMU_STR2(x)

// ---- CUDA's device functions -------------------------------------------------------------
static inline void __syncthreads() { emu_yield(EMU_BAR); }
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __nanosleep(unsigned) {
  if (++emu_b->spins > (1ll << 24)) emu_fail("a spin-wait (__nanosleep loop) never ended");
  emu_yield(EMU_RUN);
}
static inline unsigned emu_lane() { return (unsigned)emu_self->lin & 31u; }
// Block while (the 32-bit word at p & mask) == v: an mbarrier's wait.  Other
// threads' progress is what changes the word, so this is a scheduler state
// (a deadlock is reported), not a counted spin.
static inline void emu_wait_while(const void *p, uint32_t mask, uint32_t v) {
  const uint32_t *w = (const uint32_t *)p; // the low word (little-endian hosts)
  if ((*w & mask) != v) return;
  emu_self->wp = w, emu_self->wmask = mask, emu_self->wval = v;
  emu_yield(EMU_WAIT);
}
// bar.sync id, n: the n-th arrival completes the barrier and releases the others.
static inline void emu_bar_named(int id, int n) {
  if (id < 1 || id > 15 || n < 1 || n > emu_b->n) emu_fail("bar.sync %d, %d: bad barrier or count", id, n);
  const uint32_t gen = emu_b->nbar_gen[id];
  if (++emu_b->nbar_n[id] == (uint32_t)n) {
    emu_b->nbar_n[id] = 0, emu_b->nbar_gen[id]++;
    return;
  }
  emu_wait_while(&emu_b->nbar_gen[id], ~0u, gen);
}

// Deposit this lane's words, wait for the mask, and return the warp's snapshot.
static inline uint64_t (*emu_warp_op(unsigned mask))[EMU_SLOT] {
  if (!(mask >> emu_lane() & 1u)) emu_fail("a warp operation's mask leaves out the calling lane");
  emu_self->mask = mask;
  emu_yield(EMU_WARP);
  return emu_b->out[emu_self->lin >> 5];
}
static inline void __syncwarp(unsigned mask = 0xffffffffu) { (void)emu_warp_op(mask); }

template <class T> static inline T emu_shfl(unsigned mask, T v, int src) {
  static_assert(sizeof(T) <= 8, "shuffle of a wide type");
  memcpy(emu_self->in, &v, sizeof v);
  uint64_t(*o)[EMU_SLOT] = emu_warp_op(mask);
  T r;
  memcpy(&r, o[src & 31], sizeof r);
  return r;
}
template <class T> static inline T __shfl_sync(unsigned m, T v, int src, int w = 32) {
  const int l = (int)emu_lane();
  return emu_shfl(m, v, (l & ~(w - 1)) + (src & (w - 1)));
}
template <class T> static inline T __shfl_xor_sync(unsigned m, T v, int x, int w = 32) {
  const int l = (int)emu_lane(), s = l ^ x;
  return emu_shfl(m, v, s >= ((l & ~(w - 1)) + w) ? l : s);
}
template <class T> static inline T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) {
  const int l = (int)emu_lane(), s = l - (int)d;
  return emu_shfl(m, v, s < (l & ~(w - 1)) ? l : s);
}
template <class T> static inline T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) {
  const int l = (int)emu_lane(), s = l + (int)d;
  return emu_shfl(m, v, s >= ((l & ~(w - 1)) + w) ? l : s);
}

// One OS thread runs the whole grid, so atomics need no atomicity.
template <class T> static inline T atomicAdd(T *p, T v) {
  T o = *p;
  *p = o + v;
  return o;
}
// %globaltimer: the host's monotonic clock in ns.
static inline unsigned long long emu_now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}
template <class T> static inline T atomicMax(T *p, T v) {
  T o = *p;
  *p = o > v ? o : v;
  return o;
}
template <class T> static inline T atomicExch(T *p, T v) {
  T o = *p;
  *p = v;
  return o;
}
template <class T> static inline T __ldcg(const T *p) { return *p; }
template <class T> static inline void __stcg(T *p, T v) { *p = v; }

static inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
static inline float __int_as_float(int u) { float f; memcpy(&f, &u, 4); return f; }
static inline int __float_as_int(float f) { int u; memcpy(&u, &f, 4); return u; }
#define __expf(x) expf(x) // glibc declares a __expf of its own
static inline float __fdividef(float a, float b) { return a / b; }
static inline float rsqrtf(float x) { return 1.f / sqrtf(x); }

// ---- the PTX instructions the kernels write as inline assembly -------------------------
static inline float emu_bf(uint32_t w, int hi) { return __uint_as_float(hi ? w & 0xffff0000u : w << 16); }

// ldmatrix.m8n8.x{1,2,4}[.trans].b16: lanes 8i..8i+7 name the rows of tile i;
// lane l receives row l/4, columns 2(l%4)..+1 of each tile (of its transpose
// with .trans).
static inline void emu_ldmatrix(unsigned *r, int tiles, bool trans, const void *p) {
  emu_self->in[0] = (uint64_t)(uintptr_t)p;
  uint64_t(*o)[EMU_SLOT] = emu_warp_op(0xffffffffu);
  const int l = (int)emu_lane(), g = l >> 2, c = 2 * (l & 3);
  for (int i = 0; i < tiles; i++) {
    uint16_t e[2];
    for (int j = 0; j < 2; j++) {
      const int row = trans ? c + j : g, col = trans ? g : c + j;
      memcpy(&e[j], (const unsigned char *)(uintptr_t)o[8 * i + row][0] + 2 * col, 2);
    }
    r[i] = (unsigned)e[0] | (unsigned)e[1] << 16;
  }
}

// mma.sync.m16n8k16.row.col.f32.bf16.bf16.f32, D = A B + C in place, with the
// fragment layouts of the PTX ISA (groupID g = lane/4, t = lane%4):
// A a0:(g, 2t..) a1:(g+8, 2t..) a2:(g, 2t+8..) a3:(g+8, 2t+8..);
// B b0:(k 2t.., n g) b1:(k 2t+8.., n g); C/D c0,c1:(g, 2t..) c2,c3:(g+8, 2t..).
static inline void emu_mma_bf16(float d[4], const unsigned a[4], const unsigned b[2]) {
  for (int i = 0; i < 4; i++) emu_self->in[i] = a[i];
  emu_self->in[4] = b[0], emu_self->in[5] = b[1];
  uint64_t(*o)[EMU_SLOT] = emu_warp_op(0xffffffffu);
  const int l = (int)emu_lane(), g = l >> 2, t = l & 3;
  // this lane's rows g, g+8 of A and columns 2t, 2t+1 of B, over k = 0..15:
  // element k of a row sits in lane 4g' + (k%8)/2, register (row>=8) + 2(k>=8), half k%2
  float ar[2][16], bc[2][16];
  for (int k = 0; k < 16; k++) {
    const int src = (k & 7) >> 1, hi = k & 1, kh = k >> 3;
    for (int r = 0; r < 2; r++) ar[r][k] = emu_bf((uint32_t)o[4 * g + src][r + 2 * kh], hi);
    for (int c = 0; c < 2; c++) bc[c][k] = emu_bf((uint32_t)o[4 * (2 * t + c) + src][4 + kh], hi);
  }
  for (int e = 0; e < 4; e++) {
    float s = 0.f;
    for (int k = 0; k < 16; k++) s += ar[e >> 1][k] * bc[e & 1][k];
    d[e] += s;
  }
}

// cp.async.cg 16 bytes, src_bytes of them from src and zeros after: done at once.
static inline void emu_cp_async16(void *dst, const void *src, int n) {
  memset(dst, 0, 16);
  if (n > 0) memcpy(dst, src, (size_t)(n < 16 ? n : 16));
}
// mbarriers: (expected arrivals << 48 | pending arrivals << 32 | pending
// transaction bytes / 16 << 16 | completed phases), so that a wait reads the
// phase's parity in bit 0.  A phase completes when its arrivals are in and its
// bytes have landed (mbarrier.arrive.expect_tx raises the bytes, a tensor
// copy's complete_tx lowers them).
static inline void emu_mb_init(unsigned long long *mb, unsigned n) {
  if (n < 1 || n > 0xffffu) emu_fail("mbarrier.init: count %u", n);
  *mb = (unsigned long long)n << 48 | (unsigned long long)n << 32;
}
static inline void emu_mb_step(unsigned long long *mb, int arrive, long long bytes) {
  const unsigned long long v = *mb, n = v >> 48;
  unsigned long long pend = v >> 32 & 0xffffu, ph = v & 0xffffu;
  long long tx = (int16_t)(uint16_t)(v >> 16 & 0xffffu);
  if (!n) emu_fail("mbarrier used before mbarrier.init");
  if (bytes % 16) emu_fail("mbarrier: %lld transaction bytes (the emulation counts 16-byte units)", bytes);
  if (arrive && !pend) emu_fail("mbarrier: more arrivals than its count");
  pend -= arrive != 0, tx += bytes / 16;
  if (tx < -32768 || tx > 32767) emu_fail("mbarrier: %lld transaction bytes pending", tx * 16);
  if (!pend && !tx) pend = n, ph = (ph + 1) & 0xffffu;
  *mb = n << 48 | pend << 32 | (unsigned long long)(uint16_t)tx << 16 | ph;
}

// The emulated device's tensor map (runtime/rt_cuda_emu.c, emu_TensorMapEncodeTiled
// writes it in place of the driver's opaque encoding): v[0] EMU_TMAP_MAGIC,
// v[1] the global address, v[2..4] the dimensions in elements, v[5..6] the
// strides of dimensions 1 and 2 in bytes, v[7] the box (16 bits a dimension),
// v[8] the element size, v[9] the swizzle span in bytes (0 or 128).
#define EMU_TMAP_MAGIC 0x31706d74647373ull /* "ssdtmp1" */
// The box at (c0, c1, c2) of map v as it lies in shared memory at s: rows
// of the box packed and, with the 128-byte swizzle, 16-byte chunk j of each
// 128-byte row at chunk j ^ (row % 8) (the row counted from a 1024-byte
// boundary, which s must be on).  f(shared element, global element or NULL
// outside the tensor, element size) for each element; returns the box's bytes.
template <class F>
static inline size_t emu_tma_box(const unsigned long long *v, const unsigned char *s, int c0, int c1, int c2,
                                 const char *what, F f) {
  if (v[0] != EMU_TMAP_MAGIC) emu_fail("tensor %s: the tensor map was not made by the emulated driver", what);
  const unsigned b0 = v[7] & 0xffffu, b1 = v[7] >> 16 & 0xffffu, b2 = v[7] >> 32 & 0xffffu;
  const size_t es = v[8], row = (size_t)b0 * es, span = v[9];
  if (span && ((uintptr_t)s % 1024 || row != span))
    emu_fail("tensor %s: a swizzled box needs rows of %zu bytes at a 1024-byte boundary", what, span);
  if ((uintptr_t)s % 128) emu_fail("tensor %s: shared memory not 128-byte aligned", what);
  unsigned char *g = (unsigned char *)(uintptr_t)v[1];
  for (unsigned k = 0; k < b2; k++)
    for (unsigned j = 0; j < b1; j++) {
      const size_t r = (size_t)k * b1 + j;
      const long long y = (long long)c1 + j, z = (long long)c2 + k;
      for (unsigned i = 0; i < b0; i++) {
        const long long x = (long long)c0 + i;
        size_t o = r * row + i * es;
        if (span) o ^= (r % 8) << 4;
        const bool in = x >= 0 && y >= 0 && z >= 0 && (unsigned long long)x < v[2] &&
                        (unsigned long long)y < v[3] && (unsigned long long)z < v[4];
        f((unsigned char *)s + o, in ? g + (size_t)z * v[6] + (size_t)y * v[5] + (size_t)x * es : nullptr, es);
      }
    }
  return row * b1 * b2;
}
// cp.async.bulk.tensor.3d ... mbarrier::complete_tx::bytes: the box into dst,
// elements outside the tensor as zeros; then its bytes complete on mb.  Done
// at once.
static inline void emu_tma_load_3d(void *dst, const unsigned long long *v, int c0, int c1, int c2,
                                   unsigned long long *mb) {
  const size_t n = emu_tma_box(v, (unsigned char *)dst, c0, c1, c2, "copy",
                               [](unsigned char *d, const unsigned char *g, size_t es) {
                                 if (g) memcpy(d, g, es);
                                 else memset(d, 0, es);
                               });
  emu_mb_step(mb, 0, -(long long)n);
}
// cp.async.bulk.tensor.3d.global.shared::cta (add: cp.reduce.async.bulk
// .tensor ... .add, fp32 only): the box from src into the tensor (stored, or
// added to what is there); elements outside the tensor are not written.
// Done at once.
static inline void emu_tma_store_3d(const unsigned long long *v, const void *src, int c0, int c1, int c2,
                                    bool add) {
  if (add && v[8] != 4) emu_fail("tensor reduce-add: only fp32 is emulated");
  emu_tma_box(v, (const unsigned char *)src, c0, c1, c2, "store",
              [add](unsigned char *d, unsigned char *g, size_t es) {
                if (!g) return;
                if (!add) return (void)memcpy(g, d, es);
                float a, b;
                memcpy(&a, g, 4), memcpy(&b, d, 4);
                a += b;
                memcpy(g, &a, 4);
              });
}

static inline uint4 emu_ld16(const void *p) {
  uint4 v;
  memcpy(&v, p, 16);
  return v;
}
