/* test_emu.c: the emulated device's own behaviour (runtime/rt_cuda_emu.c,
 * codegen/cg_emu.c, codegen/cuda/emu_prelude.cuh), on hand-written kernels:
 * what the generated kernels' tests do not reach.
 *   - warp shuffles (xor, up, down, indexed, sub-warp width) and block
 *     barriers give the values CUDA defines, and so do ssd_common.cuh's
 *     mbarriers and named barriers (a producer/consumer handoff);
 *   - a kernel that deadlocks (threads at different barriers, an mbarrier
 *     short of arrivals, a named barrier short of threads) or spins forever
 *     fails its launch with a message, never hangs;
 *   - a kernel that does not compile fails with the compiler's log and the
 *     kernel's name; a launch the driver would refuse is refused;
 *   - a captured graph replays the work with the arguments of the capture;
 *   - a module unloaded and another loaded after it run their own code, also
 *     when the first cannot be unloaded (a static in an inline function).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../exec/tx.h"
#include "rt_cuda.h"

static const char kernels[] =
    "extern \"C\" __global__ void k_shfl(int *out) {\n"
    "  const int l = threadIdx.x & 31, w = threadIdx.x >> 5;\n"
    "  int v = l + 100 * w, *o = out + threadIdx.x * 5;\n"
    "  o[0] = __shfl_xor_sync(0xffffffffu, v, 5);\n"
    "  o[1] = __shfl_up_sync(0xffffffffu, v, 3);\n"
    "  o[2] = __shfl_down_sync(0xffffffffu, v, 7, 16);\n"
    "  o[3] = __shfl_sync(0xffffffffu, v, 31 - l);\n"
    "  __shared__ int s[64];\n"
    "  s[threadIdx.x] = v;\n"
    "  __syncthreads();\n"
    "  o[4] = s[63 - threadIdx.x];\n"
    "}\n"
    "extern \"C\" __global__ void k_dead(int *p) {\n"
    "  if ((threadIdx.x & 31) < 16) __syncthreads(); else __syncwarp();\n"
    "  p[threadIdx.x] = 1;\n"
    "}\n"
    "extern \"C\" __global__ void k_spin(const unsigned *f) {\n"
    "  while (((volatile const unsigned *)f)[0] == 0u) __nanosleep(100);\n"
    "}\n"
    /* ssd_common.cuh's mbarriers and named barrier (ssd_wg.cuh's pipeline): warp 1
     * produces into one stage three times, warp 0 consumes */
    "extern \"C\" __global__ void k_pipe(int *out) {\n"
    "  __shared__ u64 full, empty;\n"
    "  __shared__ int v[32];\n"
    "  if (threadIdx.x == 0) mb_init(&full, 32), mb_init(&empty, 32);\n"
    "  __syncthreads();\n"
    "  const int l = threadIdx.x & 31;\n"
    "  for (int i = 0; i < 3; i++) {\n"
    "    if (threadIdx.x >= 32) {\n"
    "      if (i) mb_wait(&empty, (i - 1) & 1);\n"
    "      v[l] = 10 * i + l;\n"
    "      mb_arrive(&full);\n"
    "    } else {\n"
    "      mb_wait(&full, i & 1);\n"
    "      const int r = v[31 - l];\n"
    "      bar_named(1, 32);\n"
    "      out[i * 32 + l] = r;\n"
    "      mb_arrive(&empty);\n"
    "    }\n"
    "  }\n"
    "}\n"
    "extern \"C\" __global__ void k_mbdead(int *p) {\n"
    "  __shared__ u64 mb;\n"
    "  if (threadIdx.x == 0) mb_init(&mb, 64);\n"
    "  __syncthreads();\n"
    "  if (threadIdx.x < 32) mb_arrive(&mb);\n"
    "  mb_wait(&mb, 0);\n"
    "  p[threadIdx.x] = 1;\n"
    "}\n"
    "extern \"C\" __global__ void k_nbdead(int *p) {\n"
    "  if (threadIdx.x < 32) bar_named(1, 64);\n"
    "  p[threadIdx.x] = 1;\n"
    "}\n"
    "extern \"C\" __global__ void k_add(float *y, float v, long long n) {\n"
    "  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
    "  if (i < n) y[i] += v;\n"
    "}\n";

/* What k_shfl must write for thread t of a 64-thread block. */
static void want_shfl(int t, int w[5]) {
  const int l = t & 31, base = 100 * (t >> 5);
  w[0] = (l ^ 5) + base;
  w[1] = (l >= 3 ? l - 3 : l) + base;
  w[2] = ((l & 15) + 7 < 16 ? l + 7 : l) + base;
  w[3] = (31 - l) + base;
  w[4] = ((63 - t) & 31) + 100 * ((63 - t) >> 5);
}

static int load(rt_cuda *g, const void *so, const char *name, rt_cuda_fn *f, ssd_ctx *c) {
  return rt_cuda_load(g, so, name, 0, f, c);
}

/* Run kernel `name` (its one argument a device buffer of n bytes) on `blocks`
 * blocks of 64 threads and copy the buffer to h.  0, or the failure. */
static int run_out(rt_cuda *g, const void *so, const char *name, unsigned blocks, void *h, size_t n,
                   ssd_ctx *c) {
  rt_cuda_fn f = {0};
  rt_dptr out = 0;
  int rc = load(g, so, name, &f, c);
  if (!rc) rc = rt_cuda_alloc(g, n, &out, c);
  void *args[] = {&out};
  const unsigned grid[3] = {blocks, 1, 1};
  if (!rc) rc = rt_cuda_launch(g, &f, grid, 64, args, c);
  if (!rc) rc = rt_cuda_d2h(g, h, out, n, c);
  TX_CHECK(!rc, "%s: %s", name, c->msg);
  rt_cuda_free(g, out);
  if (f.module) rt_cuda_unload(g, &f);
  return rc;
}

static void t_values(rt_cuda *g, const void *so, ssd_ctx *c) {
  int h[64 * 5];
  if (run_out(g, so, "k_shfl", 1, h, sizeof h, c)) return;
  int bad = 0;
  for (int t = 0; t < 64; t++) {
    int w[5];
    want_shfl(t, w);
    for (int k = 0; k < 5; k++) bad += h[t * 5 + k] != w[k];
  }
  TX_CHECK(!bad, "k_shfl: %d values differ from CUDA's shuffle and barrier semantics", bad);
  if (!bad) printf("ok   shuffles (xor, up, down width 16, indexed) and __syncthreads\n");
}

/* k_pipe: consumer lane l of round i reads what producer lane 31 - l wrote. */
static void t_pipe(rt_cuda *g, const void *so, ssd_ctx *c) {
  int h[3 * 32];
  if (run_out(g, so, "k_pipe", 2, h, sizeof h, c)) return;
  int bad = 0;
  for (int i = 0; i < 3; i++)
    for (int l = 0; l < 32; l++) bad += h[i * 32 + l] != 10 * i + 31 - l;
  TX_CHECK(!bad, "k_pipe: %d values differ from the mbarrier handoff's", bad);
  if (!bad) printf("ok   mbarrier producer/consumer handoff and a named barrier\n");
}

/* A launch that must fail with `want` in its message. */
static void t_fails(rt_cuda *g, const void *so, const char *name, unsigned block, rt_dptr arg,
                    const char *want) {
  ssd_ctx q;
  ssd_ctx_init(&q);
  q.diag = fopen("/dev/null", "w");
  rt_cuda_fn f;
  int rc = load(g, so, name, &f, &q);
  void *args[] = {&arg};
  const unsigned grid[3] = {2, 1, 1};
  if (!rc) rc = rt_cuda_launch(g, &f, grid, block, args, &q);
  TX_CHECK(rc == SSD_EDEVICE && strstr(q.msg, want), "%s: want a failure with '%s', got %d: %s",
        name, want, rc, q.msg);
  if (rc == SSD_EDEVICE && strstr(q.msg, want)) printf("ok   %s refused: %s\n", name, q.msg);
  if (f.module) rt_cuda_unload(g, &f);
  fclose(q.diag);
}

static void t_graph(rt_cuda *g, const void *so, ssd_ctx *c) {
  rt_cuda_fn f;
  rt_dptr y = 0;
  float h[300];
  for (int i = 0; i < 300; i++) h[i] = (float)i;
  if (load(g, so, "k_add", &f, c) || rt_cuda_alloc(g, sizeof h, &y, c) ||
      rt_cuda_h2d(g, y, h, sizeof h, c)) {
    TX_CHECK(0, "setup: %s", c->msg);
    return;
  }
  float v = 0.5f;
  long long n = 300;
  void *args[] = {&y, &v, &n};
  const unsigned grid[3] = {3, 1, 1};
  rt_cuda_graph gr = {0};
  int rc = rt_cuda_capture_begin(g, c);
  if (!rc) rc = rt_cuda_launch(g, &f, grid, 128, args, c);
  if (!rc) rc = rt_cuda_capture_end(g, &gr, c);
  v = 100.f; /* the graph keeps the captured value */
  if (!rc) rc = rt_cuda_d2h(g, h, y, sizeof h, c);
  TX_CHECK(!rc && h[7] == 7.f, "a capture must not run its work (%g)", h[7]);
  for (int i = 0; !rc && i < 3; i++) rc = rt_cuda_graph_launch(g, &gr, c);
  if (!rc) rc = rt_cuda_d2h(g, h, y, sizeof h, c);
  int bad = 0;
  for (int i = 0; !rc && i < 300; i++) bad += h[i] != (float)i + 1.5f;
  TX_CHECK(!rc && !bad, "graph replays: %d wrong (%s)", bad, rc ? c->msg : "");
  if (!rc && !bad) printf("ok   a captured launch replays 3 times with its captured arguments\n");
  rt_cuda_graph_destroy(g, &gr);
  rt_cuda_free(g, y);
  rt_cuda_unload(g, &f);
}

/* Two modules with the same kernel name, one after the other: the second
 * must run its own code.  The first pins itself in memory (a static inside
 * an inline function is an STB_GNU_UNIQUE symbol), so its file path stays
 * known to dlopen after the unload, and a second module given the same
 * path would get the first's code. */
static void t_reload(rt_cuda *g, ssd_ctx *c) {
  static const char *const src[2] = {
      "__device__ __forceinline__ int pin() { static int k = 1; return k; }\n"
      "extern \"C\" __global__ void k_which(int *p) { p[0] = pin(); }\n",
      "extern \"C\" __global__ void k_which(int *p) { p[0] = 2; }\n"};
  rt_dptr d = 0;
  if (rt_cuda_alloc(g, 16, &d, c)) return;
  for (int i = 0; i < 2; i++) {
    cg_source s = {.name = "k_which"};
    s.src = strdup(src[i]);
    void *so = NULL;
    size_t n = 0;
    rt_cuda_fn f;
    int got = -1;
    void *args[] = {&d};
    const unsigned grid[3] = {1, 1, 1};
    const int rc = !s.src || cg_build(NULL, &s, "emu", &so, &n, c) || load(g, so, "k_which", &f, c);
    if (!rc) {
      if (!rt_cuda_launch(g, &f, grid, 1, args, c) && !rt_cuda_d2h(g, &got, d, 4, c)) {}
      rt_cuda_unload(g, &f);
    }
    TX_CHECK(!rc && got == i + 1, "module %d of two with one kernel name ran %d (%s)", i + 1, got,
             rc ? c->msg : "");
    free(so);
    cg_source_free(&s);
  }
  if (!tx_failures) printf("ok   a module loaded after an unpinned or pinned one runs its own code\n");
  rt_cuda_free(g, d);
}

static void t_compile_error(void) {
  ssd_ctx q;
  ssd_ctx_init(&q);
  char *log = NULL;
  size_t loglen = 0;
  q.diag = open_memstream(&log, &loglen);
  cg_source s = {.name = "k_broken"};
  s.src = strdup("extern \"C\" __global__ void k_broken(int *p) { p[0] = no_such_name; }\n");
  void *so = NULL;
  size_t n = 0;
  int rc = cg_build(NULL, &s, "emu", &so, &n, &q);
  fclose(q.diag);
  TX_CHECK(rc == SSD_EDEVICE && strstr(q.msg, "k_broken") && log && strstr(log, "no_such_name"),
        "a compile error must name the kernel and show the log (rc %d: %s)", rc, q.msg);
  if (rc == SSD_EDEVICE) printf("ok   compile error: %s (log shown)\n", q.msg);
  free(so);
  free(log);
  cg_source_free(&s);
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_cuda *g = NULL;
  if (rt_cuda_open_emu(&g, &c)) return 1;
  cg_source s = {.name = "emu_test_kernels"};
  const char *common = cg_template("ssd_common.cuh"); /* bar_named, mb_* */
  s.src = common ? malloc(strlen(common) + sizeof kernels) : NULL;
  if (s.src) strcat(strcpy(s.src, common), kernels);
  void *so = NULL;
  size_t n = 0;
  if (!s.src || cg_build(NULL, &s, "emu", &so, &n, &c)) {
    fprintf(stderr, "test_emu: cannot build the test kernels: %s\n", c.msg);
    return 1;
  }
  t_values(g, so, &c);
  t_pipe(g, so, &c);
  rt_dptr flag = 0, buf = 0;
  if (rt_cuda_alloc(g, 4096, &flag, &c) || rt_cuda_memset8(g, flag, 0, 4096, &c) ||
      rt_cuda_alloc(g, 4096, &buf, &c))
    return 1;
  t_fails(g, so, "k_dead", 64, buf, "deadlock");
  t_fails(g, so, "k_mbdead", 64, buf, "deadlock");
  t_fails(g, so, "k_nbdead", 64, buf, "deadlock");
  t_fails(g, so, "k_spin", 32, flag, "spin-wait");
  t_fails(g, so, "k_add", 1025, buf, "INVALID_VALUE");
  t_fails(g, so, "k_missing", 32, buf, "NOT_FOUND");
  t_graph(g, so, &c);
  t_reload(g, &c);
  t_compile_error();
  rt_cuda_free(g, flag);
  rt_cuda_free(g, buf);
  free(so);
  cg_source_free(&s);
  rt_cuda_close(g);
  printf(tx_failures ? "test_emu: %d FAILURES\n" : "test_emu: all passed%.0d\n", tx_failures);
  return tx_failures != 0;
}
