/* rt_cuda_emu.c: the emulated device, the CUDA driver API implemented on the
 * CPU with kernels that really run.
 *
 * CI has no GPU, yet most of ssdc's GPU path (the generated kernels, their
 * launch geometry, the executor's buffers, graphs) can go wrong without one
 * noticing.  Here device memory is host memory, a module is a shared object
 * that codegen/cg_emu.c compiled from the kernel's CUDA C (its bytes stand
 * where a cubin would), and a launch runs the grid through the module's
 * ssdc_emu_launch (codegen/cuda/emu_prelude.cuh).  Work runs at once, in
 * stream order; a stream capture records the work instead, with copies of
 * the kernel arguments as the driver makes them, and a graph launch replays
 * the record.  The side stream (rt_cuda_side_begin) is deferred: its work
 * runs only when a wait for its join event (or a sync) needs it, the latest
 * a GPU could run it.  Allocations, and pool blocks when freed
 * (rt_cuda_free), are poisoned with 0xff bytes (NaN), so a kernel that
 * reads what nothing wrote, or side work that outlives its buffers, shows
 * it.  Errors inside a kernel (a deadlock, a spin that never ends) fail the
 * launch with their text.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rt_cuda_drv.h"

enum {
  EMU_INVALID_VALUE = 1,
  EMU_OUT_OF_MEMORY = 2,
  EMU_INVALID_IMAGE = 200,
  EMU_NOT_FOUND = 500,
  EMU_CAPTURE_UNSUPPORTED = 900,
  EMU_LAUNCH_FAILED = 719,
};

typedef int (*emu_find_fn)(const char *, int *, unsigned *);
typedef int (*emu_launch_fn)(int, const unsigned[3], const unsigned[3], unsigned, void **,
                             unsigned char *, unsigned, char *, size_t);

/* The fibers' stacks: 1024 (the most threads a block has) of EMU_STACK
 * bytes, each starting with a guard page; the stream's, mapped at its first
 * kernel (a process has only so many mappings to spend on guard pages). */
enum { EMU_STACK = 256 << 10, EMU_GUARD = 4096, EMU_THREADS = 1024 };

typedef struct emu_func emu_func;
typedef struct emu_module {
  void *so;
  int fd; /* the memory file, open while loaded: its /proc path names no other module */
  emu_find_fn find;
  emu_launch_fn launch;
  emu_func **fns; /* handed out by ModuleGetFunction, freed with the module */
  int nfns;
} emu_module;

typedef struct emu_func {
  emu_module *m;
  int index, nparams;
  unsigned sizes[32];
} emu_func;

/* One piece of recorded work. */
typedef enum { N_KERNEL, N_H2D, N_D2H, N_MEMSET, N_HOST } emu_kind;
typedef struct emu_node {
  emu_kind kind;
  const emu_func *f;
  unsigned grid[3], block[3], smem;
  unsigned char *blob; /* kernel: the arguments' bytes; host: the argument */
  size_t bytes;        /* of blob; of the copy (H2D, D2H, memset) */
  void *dst;
  const void *src;
  unsigned char v;
  void (*host)(const void *);
} emu_node;

typedef struct emu_graph {
  emu_node *n;
  int len, cap;
} emu_graph;

/* A stream runs its work at once, or records it into a capture; a deferred
 * one (STREAM_EMU_DEFER: rt_cuda's side stream) queues it until a wait for
 * one of its events, or a sync, needs it. */
typedef struct emu_stream {
  bool capturing, broken, defer;
  emu_graph *rec;
  emu_graph *q;            /* deferred: queued work, q->n[head..len) */
  int head;
  uint64_t queued, ran;    /* deferred: work items so far, and those run */
  unsigned char *stacks;
} emu_stream;

static unsigned char *stream_stacks(emu_stream *st) {
  if (st->stacks) return st->stacks;
  void *p = mmap(NULL, (size_t)EMU_THREADS * EMU_STACK, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  for (int i = 0; i < EMU_THREADS; i++)
    mprotect((unsigned char *)p + (size_t)i * EMU_STACK, EMU_GUARD, PROT_NONE);
  return st->stacks = p;
}

typedef struct emu_event {
  struct timespec t;
  emu_stream *s;  /* recorded on a deferred stream: the work it marks ends at upto */
  uint64_t upto;
} emu_event;

static _Thread_local char emu_errmsg[400];

/* ---- memory ------------------------------------------------------------------------- */
static CUresult emu_MemAlloc(rt_dptr *p, size_t n) {
  void *m = NULL; /* exactly n bytes: a sanitizer build sees accesses past the end */
  if (posix_memalign(&m, 256, n ? n : 1) != 0) return EMU_OUT_OF_MEMORY;
  memset(m, 0xff, n);
  *p = (rt_dptr)(uintptr_t)m;
  return 0;
}
static CUresult emu_MemFree(rt_dptr p) { return free((void *)(uintptr_t)p), 0; }

/* ---- modules ------------------------------------------------------------------------ */
/* dlopen needs a file: the image goes into an anonymous memory file. */
static CUresult emu_ModuleLoadData(CUmodule *out, const void *img) {
  const uint64_t n = img ? rt_cuda_elf_span(img) : 0;
  if (!n) return EMU_INVALID_IMAGE;
  int fd = memfd_create("ssdc-emu-kernel", MFD_CLOEXEC);
  if (fd < 0) return EMU_OUT_OF_MEMORY;
  const unsigned char *p = img;
  for (uint64_t done = 0; done < n;) {
    ssize_t w = write(fd, p + done, n - done);
    if (w <= 0) {
      close(fd);
      return EMU_OUT_OF_MEMORY;
    }
    done += (uint64_t)w;
  }
  /* dlopen takes a path it has loaded before for that library, so the fd
   * stays open (its path unique) until the module is unloaded.  A library
   * dlclose could not unload (a static inside an inline C++ function is an
   * STB_GNU_UNIQUE symbol, which pins it) keeps its path after its fd is
   * closed: dlopen would hand back that stale library, so such a path is
   * skipped (the fd moves up to a free number whose path nothing holds). */
  char path[64];
  for (;;) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    void *stale = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!stale) break;
    dlclose(stale);
    const int up = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
    close(fd);
    if (up < 0) return EMU_OUT_OF_MEMORY;
    fd = up;
  }
  void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!so) {
    close(fd);
    snprintf(emu_errmsg, sizeof emu_errmsg, "CUDA_ERROR_INVALID_IMAGE (emulated: %s)", dlerror());
    return EMU_INVALID_IMAGE;
  }
  emu_module *m = calloc(1, sizeof *m);
  if (!m) {
    dlclose(so);
    close(fd);
    return EMU_OUT_OF_MEMORY;
  }
  m->so = so, m->fd = fd;
  *(void **)&m->find = dlsym(so, "ssdc_emu_find");
  *(void **)&m->launch = dlsym(so, "ssdc_emu_launch");
  if (!m->find || !m->launch) {
    dlclose(so);
    close(fd);
    free(m);
    return EMU_INVALID_IMAGE;
  }
  *out = m;
  return 0;
}

static CUresult emu_ModuleUnload(CUmodule mod) {
  emu_module *m = mod;
  for (int i = 0; i < m->nfns; i++) free(m->fns[i]);
  free(m->fns);
  dlclose(m->so);
  close(m->fd);
  free(m);
  return 0;
}

static CUresult emu_ModuleGetFunction(CUfunction *out, CUmodule mod, const char *name) {
  emu_module *m = mod;
  emu_func *f = calloc(1, sizeof *f);
  emu_func **nf = realloc(m->fns, (size_t)(m->nfns + 1) * sizeof *nf);
  if (!f || !nf) {
    free(f);
    if (nf) m->fns = nf;
    return EMU_OUT_OF_MEMORY;
  }
  m->fns = nf;
  f->m = m;
  f->index = m->find(name, &f->nparams, f->sizes);
  if (f->index < 0) {
    free(f);
    return EMU_NOT_FOUND;
  }
  m->fns[m->nfns++] = f;
  *out = f;
  return 0;
}

/* ---- work: run now, or record into the capture in progress -------------------------- */
static void graph_free(emu_graph *gr) {
  if (!gr) return;
  for (int i = 0; i < gr->len; i++) free(gr->n[i].blob);
  free(gr->n);
  free(gr);
}

static CUresult run_node(emu_stream *s, const emu_node *n) {
  switch (n->kind) {
  case N_KERNEL: {
    const emu_func *f = n->f;
    void *args[32];
    size_t off = 0;
    for (int i = 0; i < f->nparams; i++) {
      args[i] = n->blob + off;
      off += (f->sizes[i] + 7) & ~7u;
    }
    char err[300];
    unsigned char *st = stream_stacks(s);
    if (!st) return EMU_OUT_OF_MEMORY;
    if (f->m->launch(f->index, n->grid, n->block, n->smem, args, st, EMU_STACK, err, sizeof err)) {
      snprintf(emu_errmsg, sizeof emu_errmsg, "CUDA_ERROR_LAUNCH_FAILED (emulated: %s)", err);
      return EMU_LAUNCH_FAILED;
    }
    return 0;
  }
  case N_H2D:
  case N_D2H: memcpy(n->dst, n->src, n->bytes); return 0;
  case N_MEMSET: memset(n->dst, n->v, n->bytes); return 0;
  case N_HOST: n->host(n->blob); return 0;
  }
  return EMU_INVALID_VALUE;
}

/* The node's own copy of what it points at (kernel arguments, a host
 * function's argument), packed at 8-byte steps. */
static CUresult submit(CUstream s, emu_node *n, void **args, size_t nargs_bytes) {
  emu_stream *st = s;
  if (n->kind == N_KERNEL) {
    size_t total = 0;
    for (int i = 0; i < n->f->nparams; i++) total += (n->f->sizes[i] + 7) & ~7u;
    n->blob = malloc(total ? total : 1);
    if (!n->blob) return EMU_OUT_OF_MEMORY;
    n->bytes = total;
    size_t off = 0;
    for (int i = 0; i < n->f->nparams; i++) {
      memcpy(n->blob + off, args[i], n->f->sizes[i]);
      off += (n->f->sizes[i] + 7) & ~7u;
    }
  } else if (n->kind == N_HOST) {
    n->blob = malloc(nargs_bytes ? nargs_bytes : 1);
    if (!n->blob) return EMU_OUT_OF_MEMORY;
    memcpy(n->blob, args, nargs_bytes);
    n->bytes = nargs_bytes;
  }
  if (!st->capturing && !st->defer) {
    CUresult r = run_node(st, n);
    free(n->blob);
    return r;
  }
  if (!st->capturing && !st->q && !(st->q = calloc(1, sizeof *st->q))) {
    free(n->blob);
    return EMU_OUT_OF_MEMORY;
  }
  emu_graph *gr = st->capturing ? st->rec : st->q;
  st->queued += !st->capturing;
  if (gr->len == gr->cap) {
    int cap = gr->cap ? 2 * gr->cap : 64;
    emu_node *nn = realloc(gr->n, (size_t)cap * sizeof *nn);
    if (!nn) {
      free(n->blob);
      st->broken = true;
      return EMU_OUT_OF_MEMORY;
    }
    gr->n = nn, gr->cap = cap;
  }
  gr->n[gr->len++] = *n;
  return 0;
}

static CUresult emu_LaunchKernel(CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                 unsigned by, unsigned bz, unsigned smem, CUstream s, void **args,
                                 void **extra) {
  (void)extra;
  const emu_func *f = fn;
  if (!f || (!args && f->nparams) || !rt_cuda_launch_fits(gx, gy, gz, bx, by, bz))
    return EMU_INVALID_VALUE;
  emu_node n = {.kind = N_KERNEL, .f = f, .grid = {gx, gy, gz}, .block = {bx, by, bz}, .smem = smem};
  return submit(s, &n, args, 0);
}
static CUresult emu_LaunchKernelEx(const CUlaunchConfig *k, CUfunction f, void **args, void **extra) {
  return emu_LaunchKernel(f, k->grid_x, k->grid_y, k->grid_z, k->block_x, k->block_y, k->block_z,
                          k->smem, k->stream, args, extra);
}
static CUresult emu_MemcpyHtoDAsync(rt_dptr d, const void *h, size_t n, CUstream s) {
  if (!d && n) return EMU_INVALID_VALUE;
  emu_node x = {.kind = N_H2D, .dst = (void *)(uintptr_t)d, .src = h, .bytes = n};
  return submit(s, &x, NULL, 0);
}
static CUresult emu_MemcpyDtoHAsync(void *h, rt_dptr d, size_t n, CUstream s) {
  if (!d && n) return EMU_INVALID_VALUE;
  emu_node x = {.kind = N_D2H, .dst = h, .src = (const void *)(uintptr_t)d, .bytes = n};
  return submit(s, &x, NULL, 0);
}
static CUresult emu_MemsetD8Async(rt_dptr d, unsigned char v, size_t n, CUstream s) {
  if (!d && n) return EMU_INVALID_VALUE;
  emu_node x = {.kind = N_MEMSET, .dst = (void *)(uintptr_t)d, .v = v, .bytes = n};
  return submit(s, &x, NULL, 0);
}
static CUresult emu_Host(CUstream s, void (*fn)(const void *), const void *arg, size_t n) {
  emu_node x = {.kind = N_HOST, .host = fn};
  return submit(s, &x, (void **)arg, n);
}

/* ---- streams, graphs, events ---------------------------------------------------------- */
static CUresult emu_StreamCreate(CUstream *s, unsigned f) {
  emu_stream *st = calloc(1, sizeof(emu_stream));
  if (st) st->defer = (f & STREAM_EMU_DEFER) != 0;
  *s = st;
  return st ? 0 : EMU_OUT_OF_MEMORY;
}
/* Run a deferred stream's queued work up to item upto (stopping at an error). */
static CUresult drain(emu_stream *st, uint64_t upto) {
  CUresult r = 0;
  while (st->q && st->ran < upto && st->head < st->q->len) {
    emu_node *n = &st->q->n[st->head++];
    if (!r) r = run_node(st, n);
    free(n->blob);
    n->blob = NULL;
    st->ran++;
  }
  if (st->q && st->head == st->q->len) st->head = st->q->len = 0;
  return r;
}
static CUresult emu_StreamDestroy(CUstream s) {
  emu_stream *st = s;
  drain(st, st->queued);
  graph_free(st->q);
  graph_free(st->rec);
  if (st->stacks) munmap(st->stacks, (size_t)EMU_THREADS * EMU_STACK);
  free(st);
  return 0;
}
static CUresult emu_StreamSynchronize(CUstream s) {
  emu_stream *st = s;
  return st->capturing ? EMU_CAPTURE_UNSUPPORTED : drain(st, st->queued);
}
static CUresult emu_BeginCapture(CUstream s, int mode) {
  (void)mode;
  emu_stream *st = s;
  if (st->capturing) return EMU_INVALID_VALUE;
  if (!(st->rec = calloc(1, sizeof *st->rec))) return EMU_OUT_OF_MEMORY;
  st->capturing = true, st->broken = false;
  return 0;
}
static CUresult emu_EndCapture(CUstream s, CUgraph *out) {
  emu_stream *st = s;
  *out = NULL;
  if (!st->capturing) return EMU_INVALID_VALUE;
  st->capturing = false;
  emu_graph *gr = st->rec;
  st->rec = NULL;
  if (st->broken) {
    graph_free(gr);
    return EMU_CAPTURE_UNSUPPORTED;
  }
  *out = gr;
  return 0;
}
/* An executable graph is a deep copy, so the two are destroyed independently. */
static CUresult emu_GraphInstantiate(CUgraphExec *out, CUgraph g, unsigned long long flags) {
  (void)flags;
  const emu_graph *gr = g;
  emu_graph *e = calloc(1, sizeof *e);
  if (!e) return EMU_OUT_OF_MEMORY;
  e->n = malloc((size_t)(gr->len ? gr->len : 1) * sizeof *e->n);
  if (!e->n) {
    free(e);
    return EMU_OUT_OF_MEMORY;
  }
  for (int i = 0; i < gr->len; i++) {
    e->n[i] = gr->n[i];
    e->n[i].blob = NULL;
    const emu_node *n = &gr->n[i];
    if (!n->blob) continue;
    const size_t bytes = n->bytes;
    if (!(e->n[i].blob = malloc(bytes ? bytes : 1))) {
      e->len = i;
      graph_free(e);
      return EMU_OUT_OF_MEMORY;
    }
    memcpy(e->n[i].blob, n->blob, bytes);
  }
  e->len = e->cap = gr->len;
  *out = e;
  return 0;
}
static CUresult emu_GraphLaunch(CUgraphExec x, CUstream s) {
  emu_stream *st = s;
  if (st->capturing) return EMU_CAPTURE_UNSUPPORTED;
  const emu_graph *e = x;
  for (int i = 0; i < e->len; i++) {
    CUresult r = run_node(st, &e->n[i]);
    if (r) return r;
  }
  return 0;
}
static CUresult emu_GraphDestroy(void *g) {
  graph_free(g);
  return 0;
}

static CUresult emu_EventCreate(CUevent *e, unsigned f) {
  (void)f;
  *e = calloc(1, sizeof(emu_event));
  return *e ? 0 : EMU_OUT_OF_MEMORY;
}
static CUresult emu_EventRecord(CUevent e, CUstream s) {
  emu_event *ev = e;
  emu_stream *st = s;
  clock_gettime(CLOCK_MONOTONIC, &ev->t);
  ev->s = st->defer ? st : NULL;
  ev->upto = st->queued;
  return 0;
}
/* Waiting for an event of a deferred stream runs the work it marks. */
static CUresult emu_EventSynchronize(CUevent e) {
  emu_event *ev = e;
  return ev->s ? drain(ev->s, ev->upto) : 0;
}
static CUresult emu_StreamWaitEvent(CUstream s, CUevent e, unsigned f) {
  (void)s, (void)f;
  return emu_EventSynchronize(e);
}
static CUresult emu_EventDestroy(CUevent e) { return free(e), 0; }
static CUresult emu_EventElapsedTime(float *ms, CUevent a, CUevent b) {
  const struct timespec *x = &((emu_event *)a)->t, *y = &((emu_event *)b)->t;
  *ms = (float)((double)(y->tv_sec - x->tv_sec) * 1e3 + (double)(y->tv_nsec - x->tv_nsec) * 1e-6);
  return 0;
}

static CUresult emu_GetErrorName(CUresult r, const char **name) {
  if ((r == EMU_LAUNCH_FAILED || r == EMU_INVALID_IMAGE) && emu_errmsg[0]) {
    *name = emu_errmsg;
    return 0;
  }
  *name = r == EMU_OUT_OF_MEMORY         ? "CUDA_ERROR_OUT_OF_MEMORY (emulated)"
          : r == EMU_INVALID_IMAGE       ? "CUDA_ERROR_INVALID_IMAGE (emulated)"
          : r == EMU_NOT_FOUND           ? "CUDA_ERROR_NOT_FOUND (emulated)"
          : r == EMU_CAPTURE_UNSUPPORTED ? "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED (emulated)"
                                         : "CUDA_ERROR_INVALID_VALUE (emulated)";
  return 0;
}

/* Tensor maps in the emulated kernels' own encoding (codegen/cuda/emu_prelude.cuh's,
 * whose tensor copy reads it; the same magic as its EMU_TMAP_MAGIC): what the
 * kernels use (bf16 or fp32, rank 3, no interleave, no swizzle or the 128-byte one),
 * with the driver's checks on addresses, strides and boxes. */
#define EMU_TMAP_MAGIC 0x31706d74647373ull /* "ssdtmp1" */
static CUresult emu_TensorMapEncodeTiled(void *map, int dtype, unsigned rank, void *base, const uint64_t *dims,
                                         const uint64_t *strides, const unsigned *box, const unsigned *estr,
                                         int interleave, int swizzle, int l2, int oob) {
  (void)l2;
  if ((dtype != TMAP_BF16 && dtype != TMAP_F32) || rank != 3 || interleave || oob || (swizzle && swizzle != TMAP_SWIZZLE_128B) ||
      (uintptr_t)base % 16)
    return EMU_INVALID_VALUE;
  for (unsigned i = 0; i < 3; i++) {
    if (!dims[i] || dims[i] > ((uint64_t)1 << 32) || !box[i] || box[i] > 256 || estr[i] != 1)
      return EMU_INVALID_VALUE;
    if (i < 2 && (strides[i] % 16 || strides[i] >= ((uint64_t)1 << 40))) return EMU_INVALID_VALUE;
  }
  const uint64_t es = dtype == TMAP_F32 ? 4 : 2;
  if (swizzle && box[0] * es > 128) return EMU_INVALID_VALUE;
  uint64_t v[16] = {EMU_TMAP_MAGIC, (uint64_t)(uintptr_t)base, dims[0], dims[1], dims[2], strides[0],
                    strides[1], (uint64_t)box[0] | (uint64_t)box[1] << 16 | (uint64_t)box[2] << 32, es,
                    swizzle ? 128 : 0};
  memcpy(map, v, sizeof v);
  return 0;
}

int rt_cuda_open_emu(rt_cuda **out, ssd_ctx *c) {
  *out = NULL;
  rt_cuda *g = calloc(1, sizeof *g);
  if (!g) return ssd_err(c, SSD_ENOMEM, "out of memory");
  g->emu = true;
  snprintf(g->arch, sizeof g->arch, "emu");
  snprintf(g->name, sizeof g->name, "emulated device (CPU)");
  rt_cuda_props(g, 90); /* launch geometry as on an H100 */
  g->MemAlloc = emu_MemAlloc, g->MemFree = emu_MemFree;
  g->ModuleLoadData = emu_ModuleLoadData, g->ModuleUnload = emu_ModuleUnload;
  rt_cuda_inproc_common(g);
  g->ModuleGetFunction = emu_ModuleGetFunction;
  g->LaunchKernel = emu_LaunchKernel, g->LaunchKernelEx = emu_LaunchKernelEx;
  g->GetErrorName = emu_GetErrorName;
  g->EventCreate = emu_EventCreate, g->EventRecord = emu_EventRecord;
  g->EventSynchronize = emu_EventSynchronize, g->EventDestroy = emu_EventDestroy;
  g->EventElapsedTime = emu_EventElapsedTime;
  g->StreamCreate = emu_StreamCreate, g->StreamDestroy = emu_StreamDestroy;
  g->StreamSynchronize = emu_StreamSynchronize, g->StreamWaitEvent = emu_StreamWaitEvent;
  g->MemcpyHtoDAsync = emu_MemcpyHtoDAsync, g->MemcpyDtoHAsync = emu_MemcpyDtoHAsync;
  g->MemsetD8Async = emu_MemsetD8Async;
  g->StreamBeginCapture = emu_BeginCapture, g->StreamEndCapture = emu_EndCapture;
  g->GraphInstantiate = emu_GraphInstantiate, g->GraphLaunch = emu_GraphLaunch;
  g->GraphExecDestroy = emu_GraphDestroy, g->GraphDestroy = emu_GraphDestroy;
  g->EmuHost = emu_Host;
  g->TensorMapEncodeTiled = emu_TensorMapEncodeTiled;
  g->pdl = true; /* exercise the programmatic-dependent launch path */
  if (g->StreamCreate(&g->stream, STREAM_NON_BLOCKING) != 0) {
    free(g);
    return ssd_err(c, SSD_ENOMEM, "out of memory");
  }
  *out = g;
  return SSD_OK;
}
