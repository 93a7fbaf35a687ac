/* rt_cuda_drv.h: inside rt_cuda (private to runtime/rt_cuda*.c).
 *
 * The driver's entry points sit in a table of function pointers, filled by
 * dlopen for a real GPU (rt_cuda.c), or by one of the in-process drivers:
 * the dry run (rt_cuda.c: nothing executes) and the emulated device
 * (rt_cuda_emu.c: kernels execute on the CPU).  The CU types are the few the
 * driver API needs, declared by hand as nothing links against CUDA.
 */
#ifndef SSD_RT_CUDA_DRV_H
#define SSD_RT_CUDA_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_cuda.h"

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef void *CUevent;
typedef void *CUgraph;
typedef void *CUgraphExec;
/* cuLaunchKernelEx's configuration (cuda.h, CUDA >= 12.0); only the
 * programmatic-stream-serialization attribute is used. */
#define LAUNCH_ATTR_PROGRAMMATIC_SERIALIZATION 6
typedef struct CUlaunchAttribute {
  int id;
  char pad[4];
  union {
    char raw[64];
    int programmatic_serialization;
    void *align_; /* the union's alignment as cuda.h's */
  } value;
} CUlaunchAttribute;
typedef struct CUlaunchConfig {
  unsigned grid_x, grid_y, grid_z, block_x, block_y, block_z, smem;
  CUstream stream;
  CUlaunchAttribute *attrs;
  unsigned nattrs;
} CUlaunchConfig;

/* cuStreamCreate's CU_STREAM_NON_BLOCKING: the stream does not wait on the
 * legacy default stream, so nothing outside it can order into (or break) a
 * capture.  CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: only this thread's unsafe
 * calls (allocation, synchronous copies) fail a capture in progress. */
enum { STREAM_NON_BLOCKING = 1, CAPTURE_THREAD_LOCAL = 1 };
/* The emulated device only (never passed to a driver): a stream whose work
 * waits until something waits for it (rt_cuda_emu.c), the side stream's
 * worst case. */
enum { STREAM_EMU_DEFER = 0x100 };
/* cuTensorMapEncodeTiled's CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, _SWIZZLE_128B,
 * _L2_PROMOTION_L2_128B (interleave and OOB fill: 0, none). */
enum { TMAP_F32 = 7, TMAP_BF16 = 9, TMAP_SWIZZLE_128B = 3, TMAP_L2_128B = 2, TMAP_L2_256B = 3 };
/* cuEventCreate's CU_EVENT_DISABLE_TIMING: an event only for ordering. */
enum { EVENT_NO_TIMING = 2 };

/* Attribute numbers from cuda.h (stable across releases). */
enum {
  ATTR_SM_COUNT = 16,
  ATTR_CC_MAJOR = 75,
  ATTR_CC_MINOR = 76,
  ATTR_SMEM_OPTIN = 97,
  ATTR_SMEM_PER_SM = 81, /* MAX_SHARED_MEMORY_PER_MULTIPROCESSOR */
  FUNC_ATTR_MAX_DYN_SMEM = 8,
  FUNC_ATTR_SMEM_CARVEOUT = 9,
};

/* ---- the device memory pool ------------------------------------------------------
 * cuMemFree may wait for the device, and an executor frees hundreds of
 * buffers per forward; so freed blocks stay here, by size, and the next
 * allocation that fits takes one back without touching the driver.  Work
 * runs in order on the main stream, so a block freed after the launches
 * that read it and handed to later launches is never used by both at once;
 * a block the side stream uses is its owner's to keep until after
 * rt_cuda_side_join (see rt_cuda.h).
 * Only rt_cuda_pool_trim and rt_cuda_close (and an allocation the driver
 * refuses: trim, then retry) give memory back, after a sync. */
typedef struct pool_blk {
  rt_dptr p;
  size_t n;
  unsigned epoch; /* the pool epoch in which it was last handed out */
} pool_blk;
typedef struct rt_cuda_pool {
  pool_blk *free; /* blocks ready for reuse */
  int nfree, cap;
  unsigned epoch;
  size_t held;    /* bytes allocated from the driver, in use or free */
  size_t peak;    /* most bytes held at once since the last peak reset */
  size_t in_use;  /* bytes handed out and not freed */
  struct { rt_dptr p; size_t n; } *live; /* handed-out blocks, for their sizes at free */
  int nlive, livecap;
} rt_cuda_pool;


struct rt_cuda {
  void *lib;
  CUdevice dev;
  CUcontext ctx;
  char name[128], arch[16];
  int sms, smem_optin, smem_per_sm;
  CUresult (*Init)(unsigned);
  CUresult (*DeviceGet)(CUdevice *, int);
  CUresult (*DeviceGetCount)(int *);
  CUresult (*DeviceGetName)(char *, int, CUdevice);
  CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*PrimaryCtxRelease)(CUdevice);
  CUresult (*CtxSetCurrent)(CUcontext);
  CUresult (*MemAlloc)(rt_dptr *, size_t);
  CUresult (*MemFree)(rt_dptr);
  CUresult (*ModuleLoadData)(CUmodule *, const void *);
  CUresult (*ModuleUnload)(CUmodule);
  CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*FuncSetAttribute)(CUfunction, int, int);
  CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                           unsigned, CUstream, void **, void **);
  CUresult (*LaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **, void **); /* optional */
  bool pdl; /* programmatic dependent launch on (sm_90+, the driver has it, $SSDC_PDL != 0) */
  CUresult (*GetErrorName)(CUresult, const char **);
  CUresult (*EventCreate)(CUevent *, unsigned);
  CUresult (*EventRecord)(CUevent, CUstream);
  CUresult (*EventSynchronize)(CUevent);
  CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*EventDestroy)(CUevent);
  CUresult (*StreamCreate)(CUstream *, unsigned);
  CUresult (*StreamDestroy)(CUstream);
  CUresult (*StreamSynchronize)(CUstream);
  CUresult (*StreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*StreamCreateWithPriority)(CUstream *, unsigned, int); /* optional */
  CUresult (*CtxGetStreamPriorityRange)(int *, int *);             /* optional */
  CUresult (*MemcpyHtoDAsync)(rt_dptr, const void *, size_t, CUstream);
  CUresult (*MemcpyDtoHAsync)(void *, rt_dptr, size_t, CUstream);
  CUresult (*MemsetD8Async)(rt_dptr, unsigned char, size_t, CUstream);
  CUresult (*MemAllocHost)(void **, size_t);
  CUresult (*MemFreeHost)(void *);
  CUresult (*StreamBeginCapture)(CUstream, int);
  CUresult (*StreamEndCapture)(CUstream, CUgraph *);
  CUresult (*GraphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*GraphLaunch)(CUgraphExec, CUstream);
  CUresult (*GraphExecDestroy)(CUgraphExec);
  CUresult (*GraphDestroy)(CUgraph);
  /* cuTensorMapEncodeTiled (CUDA >= 12.0; optional: without it no tensor
   * copies).  The enums as cuda.h numbers them (TMAP_*). */
  CUresult (*TensorMapEncodeTiled)(void *map, int dtype, unsigned rank, void *base, const uint64_t *dims,
                                   const uint64_t *strides, const unsigned *box, const unsigned *estrides,
                                   int interleave, int swizzle, int l2promotion, int oobfill);
  /* the emulated device only (rt_cuda_emu.c): a host function in stream order */
  CUresult (*EmuHost)(CUstream, void (*)(const void *), const void *, size_t);
  bool emu;
  CUstream stream; /* every launch, copy and memset goes here: main, or side between
                      rt_cuda_side_begin and rt_cuda_side_end */
  CUstream main, side; /* side: created by the first rt_cuda_side_begin */
  bool prio;           /* main at the greatest stream priority, side at prio_side */
  int prio_side;
  CUevent fork, join;
  rt_cuda_pool pool;
  uint64_t launches;
};

/* The bytes an ELF64 image spans (0 when it is not one we can read). */
uint64_t rt_cuda_elf_span(const unsigned char *e);
/* The in-process drivers' shared entries (host memory, function attributes),
 * and whether a launch's geometry is within the driver's limits. */
void rt_cuda_inproc_common(rt_cuda *g);
bool rt_cuda_launch_fits(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                         unsigned bz);
/* Multiprocessors and shared memory of architecture cc's usual part (80, 90, ...). */
void rt_cuda_props(rt_cuda *g, int cc);

#endif
