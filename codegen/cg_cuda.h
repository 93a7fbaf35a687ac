/* cg_cuda.h: CUDA code generation through NVRTC, and the on-disk kernel cache.
 *
 * The flow: an IR_SSM node (ir/ir.h) becomes a cg_ssd_spec, the spec becomes
 * CUDA source (a generated prologue of #defines that bakes in every shape and
 * option, then a kernel template from codegen/cuda/, embedded in the binary at
 * build time), NVRTC compiles the source to a cubin for one architecture, and
 * the cubin lands in a cache keyed by everything that determines it.  Nothing
 * here needs a GPU: libnvrtc is opened with dlopen when first asked for, so
 * `ssdc compile` runs on a machine with only the toolkit, and every other
 * command runs on a machine with neither.  Loading and launching cubins is the
 * runtime's job (runtime/rt_cuda.h).
 */
#ifndef SSD_CG_CUDA_H
#define SSD_CG_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir.h"
#include "ssd_base.h"

/* ---- kernel specs ------------------------------------------------------------ */
typedef enum {
  CG_SSD_CHUNKED, /* the chunked SSD forward over a whole sequence (prefill) */
  CG_SSD_STEP,    /* one recurrent step (decode), state updated in place */
} cg_ssd_kind;

typedef struct cg_ssd_spec {
  cg_ssd_kind kind;
  int64_t H, P, N;          /* output heads, head dim, state size */
  int64_t hx, hb, hc, hdt;  /* operand heads, each divides H */
  bool has_dt, has_A, A_is_log, has_dt_bias, dt_softplus;
  bool dt_clamp;            /* clamp dt to [dt_min, dt_max] */
  double dt_min, dt_max;
  bool has_D, D_per_channel, has_z;
  bool has_init, has_final; /* CHUNKED: initial state in, final state out */
  bool in_f32;              /* STEP: x, dt, B, C, z in fp32 (CHUNKED: see dt_f32, z_f32) */
  bool dt_f32, z_f32;       /* CHUNKED: dt / z in fp32 (x, B, C stay bf16) */
  bool y_f32;               /* y in fp32 rather than bf16 */
  bool gnorm;               /* CHUNKED: a gated RMSNorm over whole rows folded in (needs
                               has_z): y times the norm weight, rows' partial sums of
                               squares out (rt_cuda_ssd_args gn_w, gn_ss) */
  int ps;                   /* CHUNKED: head channels per block; 0 = let cg pick */
  /* CHUNKED: x arrives before a causal depthwise conv of width xconv_k (2..4;
   * 0 = none) and its SiLU, which the kernel applies to each chunk's x tile
   * (Mamba-2's conv over the x channels folded in: the conv pass then runs
   * over B and C alone, cg_op_spec.c0).  Operands (rt_cuda_ssd_args): x's
   * rows of the conv weight [hx*P, K] fp32, its bias [hx*P] fp32
   * (xconv_bias), and optionally the conv state before token 0, [batch,
   * xconv_ld_state, K-1] fp32 with x's channels first (0: hx*P); without it
   * the inputs before token 0 are zeros.  The kernel writes no conv state. */
  int xconv_k;
  bool xconv_bias;
  int64_t xconv_ld_state;
  bool wg;                  /* CHUNKED: the sm_90a wgmma kernel (cuda/ssd_wg.cuh) instead of
                               the mma.sync one; needs cg_ssd_wg_fits and an sm_90 GPU */
  bool tma;                 /* CHUNKED mma.sync: B and C tiles by tensor copies (TMA), from
                               tensor maps the launcher makes; needs cg_ssd_tma_fits and an
                               architecture with cg_arch_has_tma */
  /* Token-row strides in elements (0 = dense: hx*P, hdt, hb*N, hc*N, H*P).
   * Element (b, t, head, i) of an operand is at base[(b*L + t)*ld + head*width
   * + i], so x, B, C can be column slices of the conv output [T, conv_dim] and
   * dt, z slices of the in_proj output [T, d_in_proj] without a copy (for
   * STEP a token row is a batch row).  y stays dense.  CHUNKED reads x, B, C
   * with 16-byte copies: ld_x, ld_b, ld_c must be multiples of 8 and the
   * base pointers 16-byte aligned (cg_ssd_check and the launcher say so);
   * an odd ld_z makes it read z one element at a time. */
  int64_t ld_x, ld_dt, ld_b, ld_c, ld_z;
} cg_ssd_spec;

/* The token-row strides a spec's kernel uses (its ld_* with 0 made dense). */
typedef struct cg_ssd_ld {
  int64_t x, dt, b, c, z;
} cg_ssd_ld;
cg_ssd_ld cg_ssd_strides(const cg_ssd_spec *s);

/* The chunk length the chunked kernel is written for. */
#define CG_SSD_CHUNK 64

/* Fill a spec from an SSD node's attributes and which operands it has.
 * S6 (Mamba-1) nodes return SSD_EUNSUPPORTED with a message. */
int cg_ssd_spec_from_node(const ir_node *n, cg_ssd_kind kind, cg_ssd_spec *out, ssd_ctx *c);
/* Shape checks for the templates (N % 16, P % 8, heads divide...). */
int cg_ssd_check(const cg_ssd_spec *s, ssd_ctx *c);
/* Pick the head-channel slice per block for a chunked kernel (0: none fits).
 * Today the widest valid one; the runtime splits the sequence into segments
 * to fill the machine (runtime/rt_cuda_ssd.c). */
int cg_ssd_pick_ps(const cg_ssd_spec *s, int64_t batch, int sms);
/* Dynamic shared memory the chunked kernel needs, in bytes. */
size_t cg_ssd_smem_bytes(const cg_ssd_spec *s);
/* Threads per block of a spec's kernel (the chunked wgmma kernel has a
 * producer warp beside its warpgroup). */
int cg_ssd_threads(const cg_ssd_spec *s);
/* Whether the wgmma kernel takes this chunked spec (ps 64, or 0 with P % 64
 * == 0; N 64 or 128), and whether an architecture has wgmma (sm_90, sm_90a,
 * and the emulated device); the kernel compiles for sm_90a. */
bool cg_ssd_wg_fits(const cg_ssd_spec *s);
bool cg_arch_has_wgmma(const char *arch);
/* Whether the mma.sync chunked kernel can take B and C by tensor copies
 * (N a multiple of 64: whole 128-byte swizzled boxes), and whether an
 * architecture has them (sm_90 and later here, and the emulated device). */
bool cg_ssd_tma_fits(const cg_ssd_spec *s);
bool cg_arch_has_tma(const char *arch);
/* Whether the mma.sync chunked kernel copies z's rows into shared memory with
 * 16-byte cp.async (SSD_Z_TILE): bf16 z with rows 16-byte aligned, and a
 * state operand (ps x (N + 8)) that holds 64 rows of ps + 8.  Its z must
 * then start 16-byte aligned (get_in hands out 16-byte aligned operands). */
bool cg_ssd_z_tile(const cg_ssd_spec *s);

/* A kernel's generated source.  `src` is malloc'd; free with cg_source_free. */
typedef struct cg_source {
  char name[96]; /* the extern "C" entry point */
  char *src;
} cg_source;
int cg_ssd_source(const cg_ssd_spec *s, cg_source *out, ssd_ctx *c);
void cg_source_free(cg_source *s);

/* The kernel templates, embedded at build time (the .cuh files in codegen/cuda/). */
const char *cg_template(const char *file); /* "ssd_chunked.cuh"; NULL if absent */

/* ---- NVRTC -------------------------------------------------------------------- */
/* libnvrtc, opened by dlopen.  $SSDC_NVRTC names the library to use; by
 * default the usual sonames are tried.  Opening twice is cheap (the handle is
 * process-wide); the caller never closes it. */
int cg_nvrtc_open(ssd_ctx *c);
/* "13.0": the version string that enters cache keys.  Opens NVRTC if needed. */
int cg_nvrtc_version(char buf[32], ssd_ctx *c);
/* Compile source to a cubin for arch ("sm_80", "sm_90", "sm_90a").  On a
 * compile error the NVRTC log is printed to c->diag with the kernel's name.
 * *cubin is malloc'd. */
int cg_nvrtc_compile(const cg_source *s, const char *arch, void **cubin, size_t *size,
                     ssd_ctx *c);
/* The options cg_nvrtc_compile passes (for cache keys and manifests). */
const char *cg_nvrtc_options(void);
/* Is arch a name NVRTC will accept from us ("sm_XY" or "sm_XYa", XY >= 80)? */
bool cg_arch_valid(const char *arch);

/* ---- the emulated device (codegen/cg_emu.c) ------------------------------------ */
/* Architecture "emu": kernels for runtime/rt_cuda_emu.c, compiled by the host's
 * C++ compiler ($SSDC_EMU_CXX, else c++) after codegen/cuda/emu_prelude.cuh
 * into a shared object, which then stands where a cubin would (cg_build
 * caches it alike).  The compiler's output goes to c->diag on an error. */
bool cg_arch_is_emu(const char *arch);
int cg_emu_compile(const cg_source *s, void **so, size_t *size, ssd_ctx *c);
/* "c++ 12.2.0 prelude <hash>": what enters the cache key in NVRTC's place. */
int cg_emu_version(char buf[64], ssd_ctx *c);
const char *cg_emu_options(void);

/* ---- the kernel cache --------------------------------------------------------- */
/* Entries live in one directory: $SSDC_CACHE_DIR, else $XDG_CACHE_HOME/ssdc,
 * else ~/.cache/ssdc.  Each is written to a temp name and renamed, and carries
 * a header (magic, key, size, checksum) so that a corrupt or truncated entry
 * is detected, removed and rebuilt. */
typedef struct cg_pack_out cg_pack_out;
typedef struct cg_cache {
  char dir[4096];
  int hits, misses, corrupt; /* counters, for tests and -v */
  /* Kernel packs (below), set by the caller after cg_cache_open: */
  const char *pack;      /* read first: its entries need no NVRTC (NULL: none) */
  cg_pack_out *pack_out; /* every kernel cg_build returns is also written here */
  int pack_hits;
} cg_cache;

/* dir NULL: resolve from the environment as above.  Creates the directory. */
int cg_cache_open(cg_cache *cc, const char *dir, ssd_ctx *c);
/* The key of a compile: hash of source, NVRTC version, arch, options, ssdc version. */
uint64_t cg_cache_key(const char *src, const char *nvrtc_version, const char *arch,
                      const char *options);
/* Look up key.  A hit sets *data (malloc'd) and *n; a miss sets *data = NULL.
 * Both return SSD_OK; corrupt entries are deleted and count as misses. */
int cg_cache_get(cg_cache *cc, uint64_t key, void **data, size_t *n, ssd_ctx *c);
int cg_cache_put(cg_cache *cc, uint64_t key, const void *data, size_t n, ssd_ctx *c);
/* The entry's path (for tests that damage entries on purpose). */
void cg_cache_path(const cg_cache *cc, uint64_t key, char *buf, size_t n);

/* Source -> cubin: from cc->pack when it has it; else through the cache and
 * NVRTC (when a pack lacks a kernel and there is no NVRTC: an error that
 * names the kernel); into cc->pack_out when set.  cc may be NULL: NVRTC
 * only. */
int cg_build(cg_cache *cc, const cg_source *s, const char *arch, void **cubin, size_t *size,
             ssd_ctx *c);

/* ---- kernel packs --------------------------------------------------------------- */
/* A kernel pack is a directory of the cubins one model needs on one
 * architecture, made by `ssdc compile` on any machine with NVRTC, so that
 * a machine with only the driver runs the model (runtime/rt_pack.c writes
 * and checks its manifest.json).  Entries have the cache's format, named by
 * a key over the ssdc version, the architecture, NVRTC's options and the
 * source, but not the NVRTC version: the machine that reads the pack may
 * have no NVRTC to ask.  The runtime generates each kernel's source as
 * always and looks the source up. */
uint64_t cg_pack_key(const char *src, const char *arch);
void cg_pack_path(const char *dir, uint64_t key, char *buf, size_t n);
/* Read and verify an entry; *found false when absent; a damaged entry is
 * SSD_EFORMAT (a pack is never repaired in place). */
int cg_pack_read(const char *dir, uint64_t key, void **data, size_t *n, bool *found, ssd_ctx *c);
typedef struct cg_pack_entry {
  char name[96]; /* the kernel's entry point */
  uint64_t key, sum; /* sum: FNV-1a 64 of the cubin (seed 0), as in the manifest */
  size_t bytes;
} cg_pack_entry;
/* A pack being written: the directory (existing) and its entries so far;
 * the caller zeroes it, sets dir, and frees e. */
struct cg_pack_out {
  char dir[4096];
  cg_pack_entry *e;
  int n, cap;
};

#endif
