/* rt_cuda.c: the CUDA driver API, opened at run time.
 *
 * Like codegen/cg_nvrtc.c, nothing here links against CUDA: libcuda.so.1 is
 * found with dlopen and the few entry points are declared by hand with their
 * versioned symbol names (cuMemAlloc_v2 ...), which is what cuda.h's macros
 * resolve to.  The driver API rather than the runtime API because NVRTC hands
 * us cubins, and cuModuleLoadData takes them directly.
 */
#define _GNU_SOURCE
#include "rt_cuda.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cuda_drv.h"

static int cu_fail(rt_cuda *g, ssd_ctx *c, const char *what, CUresult r) {
  const char *name = NULL;
  if (g->GetErrorName) g->GetErrorName(r, &name);
  return ssd_err(c, r == 2 ? SSD_ENOMEM : SSD_EDEVICE, "CUDA %s failed: %s (%d)", what,
                 name ? name : "unknown error", r);
}
#define CU(call, what)                                  \
  do {                                                  \
    CUresult r_ = (call);                               \
    if (r_ != 0) return cu_fail(g, c, what, r_);        \
  } while (0)

static void pool_release(rt_cuda *g, bool idle_only);

/* First of the names that the library has (newer drivers add _v2 symbols). */
static void *sym(void *lib, const char *a, const char *b) {
  void *p = dlsym(lib, a);
  return p || !b ? p : dlsym(lib, b);
}

static int load_syms(rt_cuda *g, ssd_ctx *c) {
  struct {
    void **slot;
    const char *a, *b;
  } t[] = {
      {(void **)&g->Init, "cuInit", NULL},
      {(void **)&g->DeviceGet, "cuDeviceGet", NULL},
      {(void **)&g->DeviceGetCount, "cuDeviceGetCount", NULL},
      {(void **)&g->DeviceGetName, "cuDeviceGetName", NULL},
      {(void **)&g->DeviceGetAttribute, "cuDeviceGetAttribute", NULL},
      {(void **)&g->PrimaryCtxRetain, "cuDevicePrimaryCtxRetain", NULL},
      {(void **)&g->PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
      {(void **)&g->CtxSetCurrent, "cuCtxSetCurrent", NULL},
      {(void **)&g->MemAlloc, "cuMemAlloc_v2", NULL},
      {(void **)&g->MemFree, "cuMemFree_v2", NULL},
      {(void **)&g->ModuleLoadData, "cuModuleLoadData", NULL},
      {(void **)&g->ModuleUnload, "cuModuleUnload", NULL},
      {(void **)&g->ModuleGetFunction, "cuModuleGetFunction", NULL},
      {(void **)&g->FuncSetAttribute, "cuFuncSetAttribute", NULL},
      {(void **)&g->LaunchKernel, "cuLaunchKernel", NULL},
      {(void **)&g->GetErrorName, "cuGetErrorName", NULL},
      {(void **)&g->EventCreate, "cuEventCreate", NULL},
      {(void **)&g->EventRecord, "cuEventRecord", NULL},
      {(void **)&g->EventSynchronize, "cuEventSynchronize", NULL},
      {(void **)&g->EventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime"},
      {(void **)&g->EventDestroy, "cuEventDestroy_v2", NULL},
      {(void **)&g->StreamCreate, "cuStreamCreate", NULL},
      {(void **)&g->StreamDestroy, "cuStreamDestroy_v2", NULL},
      {(void **)&g->StreamSynchronize, "cuStreamSynchronize", NULL},
      {(void **)&g->StreamWaitEvent, "cuStreamWaitEvent", NULL},
      {(void **)&g->MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", NULL},
      {(void **)&g->MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", NULL},
      {(void **)&g->MemsetD8Async, "cuMemsetD8Async", NULL},
      {(void **)&g->MemAllocHost, "cuMemAllocHost_v2", "cuMemAllocHost"},
      {(void **)&g->MemFreeHost, "cuMemFreeHost", NULL},
      {(void **)&g->StreamBeginCapture, "cuStreamBeginCapture_v2", NULL},
      {(void **)&g->StreamEndCapture, "cuStreamEndCapture", NULL},
      {(void **)&g->GraphInstantiate, "cuGraphInstantiateWithFlags", NULL},
      {(void **)&g->GraphLaunch, "cuGraphLaunch", NULL},
      {(void **)&g->GraphExecDestroy, "cuGraphExecDestroy", NULL},
      {(void **)&g->GraphDestroy, "cuGraphDestroy", NULL},
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    *t[i].slot = sym(g->lib, t[i].a, t[i].b);
    if (!*t[i].slot)
      return ssd_err(c, SSD_EDEVICE, "the CUDA driver library lacks %s (driver too old?)", t[i].a);
  }
  g->LaunchKernelEx = sym(g->lib, "cuLaunchKernelEx", NULL); /* without it, no PDL */
  g->TensorMapEncodeTiled = sym(g->lib, "cuTensorMapEncodeTiled", NULL); /* without it, no TMA */
  g->StreamCreateWithPriority = sym(g->lib, "cuStreamCreateWithPriority", NULL);
  g->CtxGetStreamPriorityRange = sym(g->lib, "cuCtxGetStreamPriorityRange", NULL);
  return SSD_OK;
}

static int attr(rt_cuda *g, int which, int *v, ssd_ctx *c) {
  CU(g->DeviceGetAttribute(v, which, g->dev), "cuDeviceGetAttribute");
  return SSD_OK;
}

static int open_dev(rt_cuda *g, int ordinal, ssd_ctx *c) {
  CU(g->Init(0), "initialization (cuInit; is there a GPU and a driver?)");
  int n = 0;
  CU(g->DeviceGetCount(&n), "cuDeviceGetCount");
  if (ordinal < 0 || ordinal >= n)
    return ssd_err(c, SSD_EDEVICE, "no CUDA device %d (%d present)", ordinal, n);
  CU(g->DeviceGet(&g->dev, ordinal), "cuDeviceGet");
  CU(g->DeviceGetName(g->name, (int)sizeof g->name, g->dev), "cuDeviceGetName");
  int major = 0, minor = 0, rc;
  if ((rc = attr(g, ATTR_CC_MAJOR, &major, c)) || (rc = attr(g, ATTR_CC_MINOR, &minor, c)) ||
      (rc = attr(g, ATTR_SM_COUNT, &g->sms, c)) || (rc = attr(g, ATTR_SMEM_OPTIN, &g->smem_optin, c)) ||
      (rc = attr(g, ATTR_SMEM_PER_SM, &g->smem_per_sm, c)))
    return rc;
  if (major < 8)
    return ssd_err(c, SSD_EUNSUPPORTED, "GPU '%s' is sm_%d%d; ssdc's kernels need sm_80 or later",
                   g->name, major, minor);
  snprintf(g->arch, sizeof g->arch, "sm_%d%d", major, minor);
  const char *pdl = getenv("SSDC_PDL");
  g->pdl = major >= 9 && g->LaunchKernelEx && !(pdl && strcmp(pdl, "0") == 0);
  CU(g->PrimaryCtxRetain(&g->ctx, g->dev), "cuDevicePrimaryCtxRetain");
  CU(g->CtxSetCurrent(g->ctx), "cuCtxSetCurrent");
  /* The main stream's blocks go first where both streams have some waiting,
   * so the side stream's work fills what the main stream leaves idle
   * ($SSDC_STREAM_PRIO=0: equal priorities, for comparisons). */
  const char *pr = getenv("SSDC_STREAM_PRIO");
  int least = 0, greatest = 0;
  g->prio = g->StreamCreateWithPriority && g->CtxGetStreamPriorityRange &&
            !(pr && strcmp(pr, "0") == 0) && g->CtxGetStreamPriorityRange(&least, &greatest) == 0 &&
            least != greatest;
  g->prio_side = least;
  if (g->prio)
    CU(g->StreamCreateWithPriority(&g->stream, STREAM_NON_BLOCKING, greatest),
       "stream creation (cuStreamCreateWithPriority)");
  else CU(g->StreamCreate(&g->stream, STREAM_NON_BLOCKING), "stream creation (cuStreamCreate)");
  return SSD_OK;
}

/* ---- the dry-run driver ------------------------------------------------------------
 * The same entry points, implemented in process with no GPU, for `ssdc
 * compile` (which walks a model through the GPU executor to learn which
 * kernels it asks for) and for CPU tests of the executor's host side.
 * Device addresses are handed out from a counter and never dereferenced; a
 * copy to the host writes zeros; launches run nothing.  What the driver
 * would check is checked: a module is an ELF image holding the entry point,
 * grid and block sizes are within limits, and (rt_cuda_load) shared memory
 * fits the architecture. */
enum { DRY_INVALID_VALUE = 1, DRY_OUT_OF_MEMORY = 2, DRY_INVALID_IMAGE = 200, DRY_NOT_FOUND = 500 };
/* Dry handles: events, streams and graphs point here (never written). */
static const char dry_handle[8];
static uint64_t dry_next = (uint64_t)1 << 32; /* the next device address */

static CUresult dry_MemAlloc(rt_dptr *p, size_t n) {
  if (n > ((size_t)1 << 40)) return DRY_OUT_OF_MEMORY;
  *p = dry_next;
  dry_next += (n + 255) & ~(uint64_t)255;
  return 0;
}
static CUresult dry_MemFree(rt_dptr p) { return (void)p, 0; }

static uint64_t rd_u64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
/* The bytes an ELF64 image spans: its header tables and every section that
 * has file contents (0 when it is not an ELF64 image we can read). */
uint64_t rt_cuda_elf_span(const unsigned char *e) {
  if (memcmp(e, "\177ELF", 4) != 0 || e[4] != 2) return 0;
  uint16_t shentsize, shnum;
  memcpy(&shentsize, e + 0x3a, 2);
  memcpy(&shnum, e + 0x3c, 2);
  const uint64_t shoff = rd_u64(e + 0x28), lim = (uint64_t)1 << 30;
  if (shentsize != 64 || shoff > lim) return 0;
  uint64_t end = shoff + 64u * shnum;
  for (unsigned i = 0; i < shnum; i++) {
    const unsigned char *sh = e + shoff + 64u * i;
    uint32_t type;
    memcpy(&type, sh + 4, 4);
    const uint64_t off = rd_u64(sh + 0x18), size = rd_u64(sh + 0x20);
    if (type == 8 /* SHT_NOBITS */) continue;
    if (off > lim || size > lim) return 0;
    if (off + size > end) end = off + size;
  }
  return end;
}

/* A dry module remembers its image, whose entry points ModuleGetFunction
 * looks up (the caller keeps the cubin until the lookup, as for the driver). */
static CUresult dry_ModuleLoadData(CUmodule *m, const void *img) {
  uint64_t n = img ? rt_cuda_elf_span(img) : 0;
  if (!n) return DRY_INVALID_IMAGE;
  uint64_t *d = malloc(2 * sizeof *d);
  if (!d) return DRY_OUT_OF_MEMORY;
  d[0] = (uint64_t)(uintptr_t)img, d[1] = n;
  *m = d;
  return 0;
}
static CUresult dry_ModuleUnload(CUmodule m) { return free(m), 0; }
/* The entry point's name must be a symbol name in the image: a mismatch
 * between generated source and launcher shows up without a GPU. */
static CUresult dry_ModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  const uint64_t *d = m;
  const unsigned char *e = (const unsigned char *)(uintptr_t)d[0];
  const size_t nl = strlen(name) + 1;
  for (uint64_t i = 1; i + nl <= d[1]; i++)
    if (e[i - 1] == 0 && !memcmp(e + i, name, nl)) {
      *f = (void *)dry_handle;
      return 0;
    }
  return DRY_NOT_FOUND;
}
/* What both in-process drivers (this one and rt_cuda_emu.c) do alike. */
static CUresult inproc_FuncSetAttribute(CUfunction f, int a, int v) {
  return (void)f, (void)a, (v < 0 ? DRY_INVALID_VALUE : 0);
}
static CUresult inproc_MemAllocHost(void **p, size_t n) {
  *p = calloc(1, n);
  return *p ? 0 : DRY_OUT_OF_MEMORY;
}
static CUresult inproc_MemFreeHost(void *p) { return free(p), 0; }
void rt_cuda_inproc_common(rt_cuda *g) {
  g->FuncSetAttribute = inproc_FuncSetAttribute;
  g->MemAllocHost = inproc_MemAllocHost, g->MemFreeHost = inproc_MemFreeHost;
}
bool rt_cuda_launch_fits(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                         unsigned bz) {
  return gx >= 1 && gy >= 1 && gz >= 1 && gx < (1u << 31) && gy <= 65535 && gz <= 65535 &&
         bx >= 1 && by >= 1 && bz >= 1 && bx * by * bz <= 1024;
}
static CUresult dry_LaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                 unsigned by, unsigned bz, unsigned smem, CUstream s, void **args,
                                 void **extra) {
  (void)s, (void)extra, (void)smem; /* rt_cuda_load checked smem against the device */
  return f && args && rt_cuda_launch_fits(gx, gy, gz, bx, by, bz) ? 0 : DRY_INVALID_VALUE;
}
static CUresult dry_LaunchKernelEx(const CUlaunchConfig *k, CUfunction f, void **args, void **extra) {
  return dry_LaunchKernel(f, k->grid_x, k->grid_y, k->grid_z, k->block_x, k->block_y, k->block_z,
                          k->smem, k->stream, args, extra);
}
static CUresult dry_GetErrorName(CUresult r, const char **name) {
  *name = r == DRY_OUT_OF_MEMORY ? "CUDA_ERROR_OUT_OF_MEMORY (dry run)"
          : r == DRY_INVALID_IMAGE ? "CUDA_ERROR_INVALID_IMAGE (dry run)"
          : r == DRY_NOT_FOUND     ? "CUDA_ERROR_NOT_FOUND (dry run)"
                                   : "CUDA_ERROR_INVALID_VALUE (dry run)";
  return 0;
}
static CUresult dry_Handle(void **h) { return *h = (void *)dry_handle, 0; }
static CUresult dry_EventCreate(CUevent *e, unsigned f) { return (void)f, dry_Handle(e); }
static CUresult dry_Event(CUevent e) { return (void)e, 0; }
static CUresult dry_EventRecord(CUevent e, CUstream s) { return (void)e, (void)s, 0; }
static CUresult dry_EventElapsedTime(float *ms, CUevent a, CUevent b) {
  return (void)a, (void)b, *ms = 0, 0;
}
static CUresult dry_StreamCreate(CUstream *s, unsigned f) { return (void)f, dry_Handle(s); }
static CUresult dry_Stream(CUstream s) { return (void)s, 0; }
static CUresult dry_StreamWaitEvent(CUstream s, CUevent e, unsigned f) {
  return (void)s, (void)e, (void)f, 0;
}
static CUresult dry_MemcpyHtoDAsync(rt_dptr d, const void *h, size_t n, CUstream s) {
  return (void)h, (void)s, (d || !n ? 0 : DRY_INVALID_VALUE);
}
static CUresult dry_MemcpyDtoHAsync(void *h, rt_dptr d, size_t n, CUstream s) {
  (void)s;
  if (!d && n) return DRY_INVALID_VALUE;
  memset(h, 0, n);
  return 0;
}
static CUresult dry_MemsetD8Async(rt_dptr d, unsigned char v, size_t n, CUstream s) {
  return (void)v, (void)s, (d || !n ? 0 : DRY_INVALID_VALUE);
}
static CUresult dry_BeginCapture(CUstream s, int mode) { return (void)s, (void)mode, 0; }
static CUresult dry_EndCapture(CUstream s, CUgraph *gr) { return (void)s, dry_Handle(gr); }
static CUresult dry_GraphInstantiate(CUgraphExec *e, CUgraph gr, unsigned long long f) {
  return (void)gr, (void)f, dry_Handle(e);
}
static CUresult dry_GraphLaunch(CUgraphExec e, CUstream s) { return (void)e, (void)s, 0; }
static CUresult dry_Graph(void *gr) { return (void)gr, 0; }

/* Shared memory and multiprocessors of the usual part of each architecture
 * (launch checks and launch geometry only: no kernel's source depends on
 * them). */
void rt_cuda_props(rt_cuda *g, int cc) {
  g->sms = cc == 80 ? 108 : cc == 86 ? 84 : cc == 89 ? 128 : 132;
  g->smem_optin = cc == 80 || cc == 87 ? 166912 : cc < 90 ? 101376 : 232448;
  g->smem_per_sm = g->smem_optin + 1024;
}

/* Nothing executes in a dry run: the map's contents are never read. */
static CUresult dry_TensorMapEncodeTiled(void *map, int dtype, unsigned rank, void *base, const uint64_t *dims,
                                         const uint64_t *strides, const unsigned *box, const unsigned *estr,
                                         int il, int sw, int l2, int oob) {
  (void)dtype, (void)rank, (void)base, (void)dims, (void)strides, (void)box, (void)estr;
  (void)il, (void)sw, (void)l2, (void)oob;
  memset(map, 0, RT_CUDA_TMAP_BYTES);
  return 0;
}

bool rt_cuda_is_dry(const rt_cuda *g) { return g->lib == NULL && !g->emu; }

bool rt_cuda_has_tma(const rt_cuda *g) { return g->TensorMapEncodeTiled != NULL; }

/* A rank-3 map in the 128-byte swizzle: element (b, t, i) at base[(b L + t)
 * ld + i] of es bytes, i < cols, boxes of 128 bytes (128 / es elements) by
 * box_rows rows. */
static int tmap_encode(rt_cuda *g, rt_cuda_tmap *m, int dtype, int64_t es, rt_dptr base, int64_t cols, int64_t ld,
                       int64_t L, int64_t batch, unsigned box_rows, int l2, ssd_ctx *c) {
  memset(m, 0, sizeof *m);
  if (!g->TensorMapEncodeTiled)
    return ssd_err(c, SSD_EDEVICE, "the CUDA driver has no cuTensorMapEncodeTiled (tensor copies)");
  if (base % 16 || (ld * es) % 16 || cols < 128 / es || cols > ld || L < 1 || L > INT32_MAX || batch < 1 ||
      batch > INT32_MAX)
    return ssd_err(c, SSD_EINVAL, "tensor map: bad operand (address 0x%llx, %lld of %lld columns, "
                   "%lld x %lld rows)", (unsigned long long)base, (long long)cols, (long long)ld,
                   (long long)batch, (long long)L);
  const uint64_t dims[3] = {(uint64_t)cols, (uint64_t)L, (uint64_t)batch},
                 strides[2] = {(uint64_t)(ld * es), (uint64_t)(ld * es) * (uint64_t)L};
  const unsigned box[3] = {(unsigned)(128 / es), box_rows, 1}, estr[3] = {1, 1, 1};
  CU(g->TensorMapEncodeTiled(m->v, dtype, 3, (void *)(uintptr_t)base, dims, strides, box, estr, 0,
                             TMAP_SWIZZLE_128B, l2, 0),
     "cuTensorMapEncodeTiled");
  return SSD_OK;
}

int rt_cuda_tmap_rows(rt_cuda *g, rt_cuda_tmap *m, rt_dptr base, int64_t cols, int64_t ld, int64_t L,
                      int64_t batch, ssd_ctx *c) {
  return tmap_encode(g, m, TMAP_BF16, 2, base, cols, ld, L, batch, 64, TMAP_L2_128B, c);
}

int rt_cuda_tmap_box(rt_cuda *g, rt_cuda_tmap *m, rt_dptr base, bool f32, int64_t cols, int64_t ld,
                     int64_t rows, unsigned box_rows, ssd_ctx *c) {
  if (box_rows < 1 || box_rows > 256)
    return ssd_err(c, SSD_EINVAL, "tensor map: a box of %u rows (1..256)", box_rows);
  return tmap_encode(g, m, f32 ? TMAP_F32 : TMAP_BF16, f32 ? 4 : 2, base, cols, ld, rows, 1, box_rows,
                     TMAP_L2_256B, c);
}
bool rt_cuda_is_emu(const rt_cuda *g) { return g->emu; }

int rt_cuda_open_dry(rt_cuda **out, const char *arch, ssd_ctx *c) {
  *out = NULL;
  unsigned cc = 0;
  char tail = 0;
  if (!arch || sscanf(arch, "sm_%u%c", &cc, &tail) != 1 || cc < 80 || cc > 999)
    return ssd_err(c, SSD_EINVAL, "bad architecture '%s' for a dry run (want sm_80 or later, "
                                  "as the device reports it: sm_80, sm_86, sm_90, ...)",
                   arch ? arch : "");
  rt_cuda *g = calloc(1, sizeof *g);
  if (!g) return ssd_err(c, SSD_ENOMEM, "out of memory");
  snprintf(g->arch, sizeof g->arch, "sm_%u", cc);
  snprintf(g->name, sizeof g->name, "dry run, no GPU");
  rt_cuda_props(g, (int)cc);
  g->MemAlloc = dry_MemAlloc, g->MemFree = dry_MemFree;
  g->ModuleLoadData = dry_ModuleLoadData, g->ModuleUnload = dry_ModuleUnload;
  rt_cuda_inproc_common(g);
  g->ModuleGetFunction = dry_ModuleGetFunction;
  g->LaunchKernel = dry_LaunchKernel, g->LaunchKernelEx = dry_LaunchKernelEx;
  g->GetErrorName = dry_GetErrorName;
  g->EventCreate = dry_EventCreate, g->EventRecord = dry_EventRecord;
  g->EventSynchronize = dry_Event, g->EventDestroy = dry_Event;
  g->EventElapsedTime = dry_EventElapsedTime;
  g->StreamCreate = dry_StreamCreate, g->StreamDestroy = dry_Stream;
  g->StreamSynchronize = dry_Stream, g->StreamWaitEvent = dry_StreamWaitEvent;
  g->MemcpyHtoDAsync = dry_MemcpyHtoDAsync, g->MemcpyDtoHAsync = dry_MemcpyDtoHAsync;
  g->MemsetD8Async = dry_MemsetD8Async;
  g->StreamBeginCapture = dry_BeginCapture, g->StreamEndCapture = dry_EndCapture;
  g->GraphInstantiate = dry_GraphInstantiate, g->GraphLaunch = dry_GraphLaunch;
  g->GraphExecDestroy = dry_Graph, g->GraphDestroy = dry_Graph;
  g->TensorMapEncodeTiled = dry_TensorMapEncodeTiled;
  g->pdl = cc >= 90;
  g->StreamCreate(&g->stream, STREAM_NON_BLOCKING);
  *out = g;
  return SSD_OK;
}

int rt_cuda_open(rt_cuda **out, int ordinal, ssd_ctx *c) {
  *out = NULL;
  rt_cuda *g = calloc(1, sizeof *g);
  if (!g) return ssd_err(c, SSD_ENOMEM, "out of memory");
  g->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!g->lib) {
    int rc = ssd_err(c, SSD_EDEVICE, "no CUDA driver (cannot open libcuda.so.1: %s)", dlerror());
    free(g);
    return rc;
  }
  int rc = load_syms(g, c);
  if (rc == SSD_OK) rc = open_dev(g, ordinal, c);
  if (rc) {
    rt_cuda_close(g);
    return rc;
  }
  *out = g;
  return SSD_OK;
}

static void side_free(rt_cuda *g) {
  if (g->side) g->StreamSynchronize(g->side), g->StreamDestroy(g->side);
  if (g->fork) g->EventDestroy(g->fork);
  if (g->join) g->EventDestroy(g->join);
  if (g->main) g->stream = g->main;
  g->side = g->fork = g->join = NULL;
}

void rt_cuda_close(rt_cuda *g) {
  if (!g) return;
  side_free(g);
  if (g->stream) {
    g->StreamSynchronize(g->stream);
    pool_release(g, false);
    /* blocks never freed by their owners (a leak elsewhere) go with the context */
    g->StreamDestroy(g->stream);
  }
  free(g->pool.free);
  free(g->pool.live);
  if (g->ctx) g->PrimaryCtxRelease(g->dev);
  if (g->lib) dlclose(g->lib);
  free(g);
}

const char *rt_cuda_name(const rt_cuda *g) { return g->name; }
const char *rt_cuda_arch(const rt_cuda *g) { return g->arch; }
bool rt_cuda_has_pdl(const rt_cuda *g) { return g->pdl; }
int rt_cuda_sms(const rt_cuda *g) { return g->sms; }
void *rt_cuda_stream(const rt_cuda *g) { return g->stream; }

int rt_cuda_smem_per_sm(const rt_cuda *g) { return g->smem_per_sm; }

bool rt_cuda_on_side(const rt_cuda *g) { return g->side && g->stream == g->side; }

static int side_open(rt_cuda *g, ssd_ctx *c) {
  g->main = g->stream;
  const unsigned flags = STREAM_NON_BLOCKING | (g->emu ? STREAM_EMU_DEFER : 0);
  CUresult r = g->prio ? g->StreamCreateWithPriority(&g->side, flags, g->prio_side)
                       : g->StreamCreate(&g->side, flags);
  if (r == 0) r = g->EventCreate(&g->fork, EVENT_NO_TIMING);
  if (r == 0) r = g->EventCreate(&g->join, EVENT_NO_TIMING);
  if (r == 0) return SSD_OK;
  int rc = cu_fail(g, c, "side stream creation", r);
  side_free(g);
  return rc;
}

int rt_cuda_side_begin(rt_cuda *g, ssd_ctx *c) {
  if (rt_cuda_on_side(g)) return ssd_err(c, SSD_EINTERNAL, "side stream begun twice");
  const int rc = g->side ? SSD_OK : side_open(g, c);
  if (rc) return rc;
  CU(g->EventRecord(g->fork, g->main), "event record (fork)");
  CU(g->StreamWaitEvent(g->side, g->fork, 0), "stream wait (fork)");
  g->stream = g->side;
  return SSD_OK;
}

int rt_cuda_side_end(rt_cuda *g, ssd_ctx *c) {
  if (!rt_cuda_on_side(g)) return ssd_err(c, SSD_EINTERNAL, "side stream ended, not begun");
  g->stream = g->main;
  CU(g->EventRecord(g->join, g->side), "event record (join)");
  return SSD_OK;
}

int rt_cuda_side_join(rt_cuda *g, ssd_ctx *c) {
  if (!g->side) return SSD_OK;
  if (rt_cuda_on_side(g)) return ssd_err(c, SSD_EINTERNAL, "side stream joined while begun");
  CU(g->StreamWaitEvent(g->main, g->join, 0), "stream wait (join)");
  return SSD_OK;
}

/* Both streams (work on the side stream is otherwise invisible here). */
static CUresult sync_all(rt_cuda *g) {
  CUresult r = g->side ? g->StreamSynchronize(g->side) : 0;
  CUresult m = g->StreamSynchronize(g->main ? g->main : g->stream);
  return r ? r : m;
}

/* Sizes are rounded so that buffers of nearly equal sizes share blocks:
 * to 512 bytes below 1 MiB, to 1 MiB below 64 MiB, to 2 MiB beyond. */
static size_t pool_round(size_t n) {
  const size_t a = n < ((size_t)1 << 20) ? 512 : n < ((size_t)64 << 20) ? (size_t)1 << 20 : (size_t)2 << 20;
  return (n + a - 1) / a * a;
}

static int live_push(rt_cuda *g, rt_dptr p, size_t n, ssd_ctx *c) {
  rt_cuda_pool *q = &g->pool;
  if (q->nlive == q->livecap) {
    int cap = q->livecap ? q->livecap * 2 : 1024;
    void *nl = realloc(q->live, (size_t)cap * sizeof *q->live);
    if (!nl) return ssd_err(c, SSD_ENOMEM, "out of memory for the device pool");
    q->live = nl;
    q->livecap = cap;
  }
  q->live[q->nlive].p = p, q->live[q->nlive++].n = n;
  q->in_use += n;
  return SSD_OK;
}

/* The smallest free block of at least n bytes and at most n + n/4 (so a
 * small buffer cannot pin a large block), or -1. */
static int pool_find(const rt_cuda_pool *q, size_t n) {
  int best = -1;
  for (int i = 0; i < q->nfree; i++) {
    size_t m = q->free[i].n;
    if (m >= n && m <= n + n / 4 && (best < 0 || m < q->free[best].n)) best = i;
  }
  return best;
}

/* Give free blocks back to the driver: all, or those not freed in the
 * current epoch (a block in use is freed again in each epoch it serves). */
static void pool_release(rt_cuda *g, bool idle_only) {
  rt_cuda_pool *q = &g->pool;
  if (q->nfree) sync_all(g);
  int k = 0;
  for (int i = 0; i < q->nfree; i++) {
    if (idle_only && q->free[i].epoch == q->epoch) {
      q->free[k++] = q->free[i];
      continue;
    }
    g->MemFree(q->free[i].p);
    q->held -= q->free[i].n;
  }
  q->nfree = k;
}

int rt_cuda_alloc(rt_cuda *g, size_t n, rt_dptr *out, ssd_ctx *c) {
  rt_cuda_pool *q = &g->pool;
  *out = 0;
  n = pool_round(n ? n : 1);
  int i = pool_find(q, n);
  if (i >= 0) {
    pool_blk b = q->free[i];
    int rc = live_push(g, b.p, b.n, c);
    if (rc) return rc;
    q->free[i] = q->free[--q->nfree];
    *out = b.p;
    return SSD_OK;
  }
  CUresult r = g->MemAlloc(out, n);
  if (r == 2 && q->nfree) { /* out of memory: the pool's idle blocks first */
    pool_release(g, false);
    r = g->MemAlloc(out, n);
  }
  if (r != 0) {
    *out = 0;
    return cu_fail(g, c, "device allocation", r);
  }
  int rc = live_push(g, *out, n, c);
  if (rc) {
    g->MemFree(*out);
    *out = 0;
    return rc;
  }
  q->held += n;
  if (q->held > q->peak) q->peak = q->held;
  return SSD_OK;
}

void rt_cuda_free(rt_cuda *g, rt_dptr p) {
  if (!p) return;
  rt_cuda_pool *q = &g->pool;
  int i = q->nlive - 1; /* temporaries sit at the end, weights at the start */
  while (i >= 0 && q->live[i].p != p) i--;
  if (i < 0) return; /* not ours: a bug elsewhere, but freeing it could corrupt the pool */
  size_t n = q->live[i].n;
  q->live[i] = q->live[--q->nlive];
  q->in_use -= n;
  if (g->emu) memset((void *)(uintptr_t)p, 0xff, n); /* see rt_cuda_emu.c */
  if (q->nfree == q->cap) {
    int cap = q->cap ? q->cap * 2 : 256;
    pool_blk *nf = realloc(q->free, (size_t)cap * sizeof *nf);
    if (!nf) { /* cannot keep it: give it back the slow way */
      sync_all(g);
      g->MemFree(p);
      q->held -= n;
      return;
    }
    q->free = nf;
    q->cap = cap;
  }
  q->free[q->nfree++] = (pool_blk){p, n, q->epoch};
}

void rt_cuda_pool_trim(rt_cuda *g, bool idle_only) {
  pool_release(g, idle_only);
  g->pool.epoch++;
}

void rt_cuda_mem(const rt_cuda *g, rt_cuda_mem_stats *s) {
  s->held = g->pool.held, s->peak = g->pool.peak, s->in_use = g->pool.in_use;
  s->pooled = s->held - s->in_use;
}
void rt_cuda_mem_reset_peak(rt_cuda *g) { g->pool.peak = g->pool.held; }

int rt_cuda_h2d(rt_cuda *g, rt_dptr dst, const void *src, size_t n, ssd_ctx *c) {
  /* From pageable memory the driver stages src before returning, so the
   * caller may reuse it at once; the copy is ordered on the stream. */
  CU(g->MemcpyHtoDAsync(dst, src, n, g->stream), "host-to-device copy");
  return SSD_OK;
}
int rt_cuda_d2h(rt_cuda *g, void *dst, rt_dptr src, size_t n, ssd_ctx *c) {
  CU(g->MemcpyDtoHAsync(dst, src, n, g->stream), "device-to-host copy");
  CU(g->StreamSynchronize(g->stream), "kernel execution (synchronize)");
  return SSD_OK;
}
int rt_cuda_d2h_async(rt_cuda *g, void *dst, rt_dptr src, size_t n, ssd_ctx *c) {
  CU(g->MemcpyDtoHAsync(dst, src, n, g->stream), "device-to-host copy");
  return SSD_OK;
}
int rt_cuda_host_alloc(rt_cuda *g, size_t n, void **out, ssd_ctx *c) {
  *out = NULL;
  CU(g->MemAllocHost(out, n ? n : 1), "pinned host allocation (cuMemAllocHost)");
  return SSD_OK;
}
void rt_cuda_host_free(rt_cuda *g, void *p) {
  if (p) g->MemFreeHost(p);
}
int rt_cuda_memset8(rt_cuda *g, rt_dptr dst, unsigned char v, size_t n, ssd_ctx *c) {
  CU(g->MemsetD8Async(dst, v, n, g->stream), "memset");
  g->launches++;
  return SSD_OK;
}
int rt_cuda_sync(rt_cuda *g, ssd_ctx *c) {
  CU(sync_all(g), "kernel execution (synchronize)");
  return SSD_OK;
}

int rt_cuda_load(rt_cuda *g, const void *cubin, const char *name, size_t smem, rt_cuda_fn *out,
                 ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  if (smem > (size_t)g->smem_optin)
    return ssd_err(c, SSD_EUNSUPPORTED, "kernel '%s' needs %zu bytes of shared memory; '%s' has %d",
                   name, smem, g->name, g->smem_optin);
  CU(g->ModuleLoadData(&out->module, cubin), "module load (cuModuleLoadData)");
  CUresult r = g->ModuleGetFunction(&out->fn, out->module, name);
  if (r == 0 && smem > 48 * 1024) r = g->FuncSetAttribute(out->fn, FUNC_ATTR_MAX_DYN_SMEM, (int)smem);
  /* All of the unified L1/shared memory as shared: two ~113 KB blocks per SM. */
  if (r == 0 && smem > 48 * 1024) r = g->FuncSetAttribute(out->fn, FUNC_ATTR_SMEM_CARVEOUT, 100);
  if (r != 0) {
    g->ModuleUnload(out->module);
    out->module = NULL;
    char what[160];
    snprintf(what, sizeof what, "lookup of kernel '%.100s'", name);
    return cu_fail(g, c, what, r);
  }
  out->smem = smem;
  return SSD_OK;
}

void rt_cuda_unload(rt_cuda *g, rt_cuda_fn *f) {
  if (f->module) g->ModuleUnload(f->module);
  memset(f, 0, sizeof *f);
}

int rt_cuda_launch(rt_cuda *g, const rt_cuda_fn *f, const unsigned grid[3], unsigned block,
                   void **args, ssd_ctx *c) {
  CU(g->LaunchKernel(f->fn, grid[0], grid[1], grid[2], block, 1, 1, (unsigned)f->smem, g->stream, args,
                     NULL),
     "kernel launch");
  g->launches++;
  return SSD_OK;
}
/* With PDL the kernel may start before the previous one in the stream ends;
 * it must wait for it itself (pdl_wait in codegen/cuda/ssd_common.cuh). */
int rt_cuda_launch_pdl(rt_cuda *g, const rt_cuda_fn *f, const unsigned grid[3], unsigned block,
                       void **args, ssd_ctx *c) {
  if (!g->pdl) return rt_cuda_launch(g, f, grid, block, args, c);
  CUlaunchAttribute at;
  memset(&at, 0, sizeof at);
  at.id = LAUNCH_ATTR_PROGRAMMATIC_SERIALIZATION;
  at.value.programmatic_serialization = 1;
  const CUlaunchConfig cfg = {grid[0], grid[1], grid[2], block, 1, 1, (unsigned)f->smem,
                              g->stream, &at, 1};
  CU(g->LaunchKernelEx(&cfg, f->fn, args, NULL), "kernel launch (programmatic dependent)");
  g->launches++;
  return SSD_OK;
}
uint64_t rt_cuda_launches(const rt_cuda *g) { return g->launches; }

int rt_cuda_emu_host(rt_cuda *g, void (*fn)(const void *), const void *arg, size_t n, ssd_ctx *c) {
  if (!g->EmuHost) return ssd_err(c, SSD_EINTERNAL, "host functions run on the emulated device only");
  CU(g->EmuHost(g->stream, fn, arg, n), "host function (emulated device)");
  return SSD_OK;
}
void rt_cuda_note_launch(rt_cuda *g) { g->launches++; }

int rt_cuda_timer_start(rt_cuda *g, rt_cuda_timer *t, ssd_ctx *c) {
  memset(t, 0, sizeof *t);
  CU(g->EventCreate(&t->start, 0), "event creation");
  CUresult r = g->EventCreate(&t->stop, 0);
  if (r == 0) r = g->EventRecord(t->start, g->stream);
  if (r != 0) {
    g->EventDestroy(t->start);
    if (t->stop) g->EventDestroy(t->stop);
    return cu_fail(g, c, "event record", r);
  }
  return SSD_OK;
}

int rt_cuda_timer_stop(rt_cuda *g, rt_cuda_timer *t, float *ms, ssd_ctx *c) {
  CUresult r = g->EventRecord(t->stop, g->stream);
  if (r == 0) r = g->EventSynchronize(t->stop);
  if (r == 0) r = g->EventElapsedTime(ms, t->start, t->stop);
  g->EventDestroy(t->start);
  g->EventDestroy(t->stop);
  if (r != 0) return cu_fail(g, c, "timing", r);
  return SSD_OK;
}

/* ---- graphs ------------------------------------------------------------------------ */
int rt_cuda_capture_begin(rt_cuda *g, ssd_ctx *c) {
  CU(g->StreamBeginCapture(g->stream, CAPTURE_THREAD_LOCAL), "stream capture (begin)");
  return SSD_OK;
}

int rt_cuda_capture_end(rt_cuda *g, rt_cuda_graph *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  CU(g->StreamEndCapture(g->stream, &out->graph), "stream capture (end)");
  CUresult r = g->GraphInstantiate(&out->exec, out->graph, 0);
  if (r != 0) {
    rt_cuda_graph_destroy(g, out);
    return cu_fail(g, c, "graph instantiation", r);
  }
  return SSD_OK;
}

void rt_cuda_capture_abort(rt_cuda *g) {
  CUgraph gr = NULL;
  g->StreamEndCapture(g->stream, &gr); /* ends an invalidated capture too */
  if (gr) g->GraphDestroy(gr);
}

int rt_cuda_graph_launch(rt_cuda *g, const rt_cuda_graph *gr, ssd_ctx *c) {
  CU(g->GraphLaunch(gr->exec, g->stream), "graph launch");
  return SSD_OK;
}

void rt_cuda_graph_destroy(rt_cuda *g, rt_cuda_graph *gr) {
  if (gr->exec) g->GraphExecDestroy(gr->exec);
  if (gr->graph) g->GraphDestroy(gr->graph);
  memset(gr, 0, sizeof *gr);
}
