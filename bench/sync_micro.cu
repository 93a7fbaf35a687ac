// sync_micro.cu: what one all-to-all dependency costs on this GPU, measured
// three ways, to decide how the decode step should be cut into kernels
// (bench/NOTES.md, session 12).  A decode step is a chain of ~3 global
// dependencies per layer (in_proj -> mixer -> out_proj -> next in_proj), each
// carrying a few KB, so the step's time is mostly the cost of these
// dependencies.  Each phase here is the same small piece of work: every
// block reads a value the previous phase wrote in another block, adds one
// and writes its own (so a missed dependency shows up as a wrong count),
// and every thread reads 16 bytes of the previous phase's 8 KB vector.
//   chain-pdl:  one kernel per phase in a CUDA graph, programmatic dependent
//               launch (the way ssdc's decode step runs now)
//   chain:      the same without PDL
//   persist:    one kernel, a software grid barrier between phases (all
//               blocks resident: the grid is at most one wave), with fences
//   persist-ra: the same barrier with release/acquire atomics, no fences
// Standalone (CUDA runtime API, nvcc -arch=sm_90 -O2); not part of the
// build.  Prints microseconds per phase for a few grid shapes.
#include <cstdio>
#include <cstdlib>
#include <cuda/atomic>
#include <cuda_runtime.h>

#define CK(x)                                                                  \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e_)); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define VEC 512 // uint4 per phase vector (8 KB)

// Device-scope acquire loads and release stores and atomics (libcu++: they
// compile to ld.acquire.gpu / st.release.gpu / atom.acq_rel.gpu).
typedef cuda::atomic_ref<unsigned, cuda::thread_scope_device> dev_ref;
__device__ __forceinline__ unsigned ld_acq(unsigned *p) {
  return dev_ref(*p).load(cuda::memory_order_acquire);
}
__device__ __forceinline__ void st_rel(unsigned *p, unsigned v) {
  dev_ref(*p).store(v, cuda::memory_order_release);
}

// One phase's work for block b of G: data[p][b] = data[p-1][(b+1)%G] + 1,
// and a 16-byte read of the previous vector per thread (coherent, .cg).
__device__ __forceinline__ void phase(unsigned *data, uint4 *vec, int p, int G, unsigned *sink) {
  const int b = blockIdx.x, t = threadIdx.x;
  const uint4 *prev = vec + (size_t)((p + 1) & 1) * VEC;
  uint4 v = __ldcg(prev + (b * blockDim.x + t) % VEC);
  if (t == 0) {
    unsigned x = p ? __ldcg(data + (size_t)(p - 1) * G + (b + 1) % G) : 0u;
    __stcg(data + (size_t)p * G + b, x + 1);
  }
  if (b * blockDim.x + t < VEC) __stcg(vec + (size_t)(p & 1) * VEC + b * blockDim.x + t, v);
  if (v.x == 0xdeadbeefu) atomicAdd(sink, 1u);
}

__global__ void k_chain(unsigned *data, uint4 *vec, int p, int G, unsigned *sink) {
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
  phase(data, vec, p, G, sink);
}

__device__ __forceinline__ void grid_bar(unsigned *count, unsigned *gen, unsigned n) {
  __syncthreads();
  if (threadIdx.x == 0) {
    const unsigned g = ld_acq(gen);
    __threadfence();
    if (atomicAdd(count, 1u) == n - 1) {
      *count = 0u;
      __threadfence();
      st_rel(gen, g + 1);
    } else {
      while (ld_acq(gen) == g) {
      }
    }
    __threadfence();
  }
  __syncthreads();
}

// The same barrier with release/acquire atomics in place of the three full
// fences: the arrival releases this block's writes, the last arrival
// acquires everyone's and releases the generation, the waiters acquire it.
__device__ __forceinline__ unsigned atom_add_acqrel(unsigned *p, unsigned v) {
  return dev_ref(*p).fetch_add(v, cuda::memory_order_acq_rel);
}
__device__ __forceinline__ void grid_bar_ra(unsigned *count, unsigned *gen, unsigned n) {
  __syncthreads();
  if (threadIdx.x == 0) {
    const unsigned g = ld_acq(gen);
    if (atom_add_acqrel(count, 1u) == n - 1) {
      *count = 0u;
      st_rel(gen, g + 1);
    } else {
      while (ld_acq(gen) == g) {
      }
    }
  }
  __syncthreads();
}

template <int V>
__global__ void k_persist(unsigned *data, uint4 *vec, int K, int G, unsigned *sink,
                          unsigned *bar) {
  for (int p = 0; p < K; p++) {
    phase(data, vec, p, G, sink);
    if (p + 1 < K) {
      if (V == 0) grid_bar(bar, bar + 32, G);
      else grid_bar_ra(bar, bar + 32, G);
    }
  }
}

static float time_graph(cudaGraphExec_t ge, cudaStream_t s, int reps) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  for (int i = 0; i < 5; i++) CK(cudaGraphLaunch(ge, s));
  CK(cudaEventRecord(a, s));
  for (int i = 0; i < reps; i++) CK(cudaGraphLaunch(ge, s));
  CK(cudaEventRecord(b, s));
  CK(cudaEventSynchronize(b));
  float ms;
  CK(cudaEventElapsedTime(&ms, a, b));
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  return ms / reps;
}

static int check(const unsigned *d_data, int K, int G) {
  unsigned *h = (unsigned *)malloc(sizeof(unsigned) * K * G);
  CK(cudaMemcpy(h, d_data, sizeof(unsigned) * K * G, cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int i = 0; i < K * G; i++) bad += h[i] != (unsigned)(i / G + 1);
  free(h);
  return bad;
}

// mode 0 chain-pdl, 1 chain, 2 persist, 3 persist-ra; returns us per phase
static float run(int mode, int K, int G, int T, int reps, int *bad) {
  unsigned *data, *sink, *bar;
  uint4 *vec;
  CK(cudaMalloc(&data, sizeof(unsigned) * K * G));
  CK(cudaMalloc(&vec, sizeof(uint4) * 2 * VEC));
  CK(cudaMalloc(&sink, 4));
  CK(cudaMalloc(&bar, 256));
  CK(cudaMemset(vec, 0, sizeof(uint4) * 2 * VEC));
  CK(cudaMemset(bar, 0, 256));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t g;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CK(cudaMemsetAsync(data, 0, sizeof(unsigned) * K * G, s));
  if (mode == 2) {
    k_persist<0><<<G, T, 0, s>>>(data, vec, K, G, sink, bar);
  } else if (mode == 3) {
    k_persist<1><<<G, T, 0, s>>>(data, vec, K, G, sink, bar);
  } else {
    for (int p = 0; p < K; p++) {
      cudaLaunchConfig_t cfg = {};
      cfg.gridDim = dim3(G), cfg.blockDim = dim3(T), cfg.stream = s;
      cudaLaunchAttribute at[1];
      at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
      at[0].val.programmaticStreamSerializationAllowed = 1;
      cfg.attrs = at, cfg.numAttrs = mode == 0 && p > 0 ? 1 : 0;
      CK(cudaLaunchKernelEx(&cfg, k_chain, data, vec, p, G, sink));
    }
  }
  CK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t ge;
  CK(cudaGraphInstantiate(&ge, g, 0));
  const float ms = time_graph(ge, s, reps);
  CK(cudaStreamSynchronize(s));
  *bad = check(data, K, G);
  CK(cudaGraphExecDestroy(ge));
  CK(cudaGraphDestroy(g));
  CK(cudaStreamDestroy(s));
  CK(cudaFree(data));
  CK(cudaFree(vec));
  CK(cudaFree(sink));
  CK(cudaFree(bar));
  return ms * 1000.f / K;
}

int main(int argc, char **argv) {
  const int K = argc > 1 ? atoi(argv[1]) : 72, reps = argc > 2 ? atoi(argv[2]) : 200;
  int dev, sms;
  CK(cudaGetDevice(&dev));
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int shapes[][2] = {{48, 512}, {96, 128}, {132, 512}, {210, 512}, {264, 256}};
  const char *names[] = {"chain-pdl", "chain", "persist", "persist-ra"};
  printf("phases %d, reps %d, SMs %d\n", K, reps, sms);
  int fails = 0;
  for (const auto &sh : shapes) {
    int occ;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, k_persist<0>, sh[1], 0));
    for (int mode = 0; mode < 4; mode++) {
      if (mode >= 2 && sh[0] > occ * sms) {
        printf("grid %4d x %3d  %-9s  skipped (not one wave)\n", sh[0], sh[1], names[mode]);
        continue;
      }
      int bad;
      const float us = run(mode, K, sh[0], sh[1], reps, &bad);
      printf("grid %4d x %3d  %-9s  %6.3f us/phase  %s\n", sh[0], sh[1], names[mode], us,
             bad ? "WRONG" : "ok");
      fails += bad != 0;
    }
  }
  return fails ? 1 : 0;
}
