/* rt_cublaslt.c: cuBLASLt through dlopen.
 *
 * The row-major y[M,N] = x[M,K] W[N,K]^T is the column-major
 * Y[N,M] = op(W)[N,K] X[K,M] with op = transpose on W's column-major [K,N]
 * view, so A = W (TRANSA = T), B = x (N), m = N, n = M, k = K and the bias
 * epilogue adds along m.  The few enum values used are cuBLASLt's stable ABI
 * numbers (cublasLt.h, cublas_api.h, library_types.h).
 *
 * The heuristic's first algorithm is often not the fastest for the shapes
 * that matter (a decode step's M = 1 GEMV-like products, prefill's large
 * in/out projections), so a new plan times the heuristic's top candidates
 * on the call's own operands (into a scratch output) and keeps the fastest.
 * The choice is remembered per process and shape: two executors of one
 * model (graphs on and off, say) then compute bitwise the same.
 */
#define _GNU_SOURCE
#include "rt_cublaslt.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef int blas_status;
typedef void *lt_handle, *lt_desc, *lt_layout, *lt_pref;
typedef struct {
  uint64_t data[8];
} lt_algo;
typedef struct {
  lt_algo algo;
  size_t workspace;
  blas_status state;
  float waves;
  int reserved[4];
} lt_heur;

enum {
  R_32F = 0, R_16BF = 14,                /* cudaDataType */
  COMPUTE_32F = 68,                      /* cublasComputeType_t */
  OP_N = 0, OP_T = 1,
  DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8,
  EPI_DEFAULT = 1, EPI_BIAS = 4,
  PREF_MAX_WORKSPACE = 1,
};
#define WORKSPACE_BYTES ((size_t)32 << 20)
#define MAX_PLANS 64
#define TUNE_CANDIDATES 8 /* heuristic results timed per new shape ($SSDC_GEMM_CANDIDATES) */
#define MAX_CANDIDATES 64
#define TUNE_RUNS 3       /* timed runs per candidate, after one untimed */

/* What a plan and a tuned choice are for.  acc (beta = 1) does not change
 * the descriptors, but it does change which algorithm is fastest: reading
 * y in the epilogue costs some algorithms more than others. */
typedef struct gkey {
  int64_t M, N, K, ldy;
  rt_blas_type ab, out;
  bool bias, acc;
} gkey;

typedef struct plan {
  gkey k;
  lt_desc desc;
  lt_layout la, lb, ld;
  lt_algo algo;
} plan;

struct rt_blas {
  void *lib;
  lt_handle h;
  rt_cuda *g;
  rt_dptr ws[2]; /* the main stream's, the side stream's (made on first use) */
  plan plans[MAX_PLANS];
  int nplans;
  blas_status (*Create)(lt_handle *);
  blas_status (*Destroy)(lt_handle);
  const char *(*StatusName)(blas_status);
  blas_status (*DescCreate)(lt_desc *, int, int);
  blas_status (*DescDestroy)(lt_desc);
  blas_status (*DescSet)(lt_desc, int, const void *, size_t);
  blas_status (*LayoutCreate)(lt_layout *, int, uint64_t, uint64_t, int64_t);
  blas_status (*LayoutDestroy)(lt_layout);
  blas_status (*PrefCreate)(lt_pref *);
  blas_status (*PrefDestroy)(lt_pref);
  blas_status (*PrefSet)(lt_pref, int, const void *, size_t);
  blas_status (*Heuristic)(lt_handle, lt_desc, lt_layout, lt_layout, lt_layout, lt_layout,
                           lt_pref, int, lt_heur *, int *);
  blas_status (*Matmul)(lt_handle, lt_desc, const void *, const void *, lt_layout, const void *,
                        lt_layout, const void *, const void *, lt_layout, void *, lt_layout,
                        const lt_algo *, void *, size_t, void *);
};

static int lt_fail(rt_blas *b, ssd_ctx *c, const char *what, blas_status s) {
  const char *name = b->StatusName ? b->StatusName(s) : NULL;
  return ssd_err(c, s == 3 ? SSD_ENOMEM : SSD_EDEVICE, "cuBLASLt %s failed: %s (%d)", what,
                 name ? name : "unknown status", s);
}
#define LT(call, what)                             \
  do {                                             \
    blas_status s_ = (call);                       \
    if (s_ != 0) return lt_fail(b, c, what, s_);   \
  } while (0)

static int load(rt_blas *b, ssd_ctx *c) {
  const char *env = getenv("SSDC_CUBLASLT");
  const char *names[] = {env, "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11",
                         "libcublasLt.so"};
  for (size_t i = 0; i < sizeof names / sizeof *names && !b->lib; i++)
    if (names[i] && *names[i]) b->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!b->lib)
    return ssd_err(c, SSD_EDEVICE, "cannot open libcublasLt (set SSDC_CUBLASLT to its path): %s",
                   dlerror());
  struct {
    void **slot;
    const char *name;
  } t[] = {{(void **)&b->Create, "cublasLtCreate"},
           {(void **)&b->Destroy, "cublasLtDestroy"},
           {(void **)&b->StatusName, "cublasLtGetStatusName"},
           {(void **)&b->DescCreate, "cublasLtMatmulDescCreate"},
           {(void **)&b->DescDestroy, "cublasLtMatmulDescDestroy"},
           {(void **)&b->DescSet, "cublasLtMatmulDescSetAttribute"},
           {(void **)&b->LayoutCreate, "cublasLtMatrixLayoutCreate"},
           {(void **)&b->LayoutDestroy, "cublasLtMatrixLayoutDestroy"},
           {(void **)&b->PrefCreate, "cublasLtMatmulPreferenceCreate"},
           {(void **)&b->PrefDestroy, "cublasLtMatmulPreferenceDestroy"},
           {(void **)&b->PrefSet, "cublasLtMatmulPreferenceSetAttribute"},
           {(void **)&b->Heuristic, "cublasLtMatmulAlgoGetHeuristic"},
           {(void **)&b->Matmul, "cublasLtMatmul"}};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (!(*t[i].slot = dlsym(b->lib, t[i].name)))
      return ssd_err(c, SSD_EDEVICE, "libcublasLt lacks %s", t[i].name);
  return SSD_OK;
}

int rt_blas_open(rt_cuda *g, rt_blas **out, ssd_ctx *c) {
  *out = NULL;
  rt_blas *b = calloc(1, sizeof *b);
  if (!b) return ssd_err(c, SSD_ENOMEM, "out of memory opening cuBLASLt");
  b->g = g;
  /* On a dry-run device (rt_cuda_open_dry) GEMMs are checked and counted
   * only; on the emulated one (rt_cuda_open_emu) they run on the host. */
  int rc = rt_cuda_is_dry(g) || rt_cuda_is_emu(g) ? SSD_OK : load(b, c);
  if (rc == SSD_OK && b->lib) {
    blas_status s = b->Create(&b->h);
    if (s) rc = lt_fail(b, c, "create", s);
  }
  if (rc == SSD_OK) rc = rt_cuda_alloc(g, WORKSPACE_BYTES, &b->ws[0], c);
  if (rc) {
    rt_blas_close(b);
    return rc;
  }
  *out = b;
  return SSD_OK;
}

static void plan_free(rt_blas *b, plan *p) {
  if (p->desc) b->DescDestroy(p->desc);
  if (p->la) b->LayoutDestroy(p->la);
  if (p->lb) b->LayoutDestroy(p->lb);
  if (p->ld) b->LayoutDestroy(p->ld);
  memset(p, 0, sizeof *p);
}

void rt_blas_close(rt_blas *b) {
  if (!b) return;
  for (int i = 0; i < b->nplans; i++) plan_free(b, &b->plans[i]);
  for (int i = 0; i < 2; i++) rt_cuda_free(b->g, b->ws[i]);
  if (b->h) b->Destroy(b->h);
  if (b->lib) dlclose(b->lib);
  free(b);
}

static int dtype(rt_blas_type t) { return t == RT_BLAS_BF16 ? R_16BF : R_32F; }
static int64_t gemm_ldy(const rt_gemm *g) { return g->ldy ? g->ldy : g->N; }

static gkey key_of(const rt_gemm *g) {
  return (gkey){g->M, g->N, g->K, gemm_ldy(g), g->ab, g->out, g->bias != 0, g->accumulate};
}
static bool key_eq(const gkey *a, const gkey *b) {
  return a->M == b->M && a->N == b->N && a->K == b->K && a->ldy == b->ldy && a->ab == b->ab &&
         a->out == b->out && a->bias == b->bias && a->acc == b->acc;
}

/* One matmul with plan p's descriptors and algorithm a: y (+)= x W^T. */
static blas_status lt_run(rt_blas *b, const plan *p, const lt_algo *a, rt_dptr x, rt_dptr W,
                          rt_dptr y, bool accumulate) {
  const float one = 1.0f, zero = 0.0f;
  return b->Matmul(b->h, p->desc, &one, (const void *)(uintptr_t)W, p->la,
                   (const void *)(uintptr_t)x, p->lb, accumulate ? &one : &zero,
                   (const void *)(uintptr_t)y, p->ld, (void *)(uintptr_t)y, p->ld, a,
                   (void *)(uintptr_t)b->ws[rt_cuda_on_side(b->g)], WORKSPACE_BYTES,
                   rt_cuda_stream(b->g));
}

/* The process-wide choices (see the top of the file).  The executor is
 * single-threaded; a full table only means later shapes are not shared. */
typedef struct tuned {
  gkey k;
  lt_algo algo;
} tuned;
static tuned tuned_tab[256];
static int ntuned;

static tuned *tuned_find(const plan *p) {
  for (int i = 0; i < ntuned; i++)
    if (key_eq(&tuned_tab[i].k, &p->k)) return &tuned_tab[i];
  return NULL;
}

/* Milliseconds for TUNE_RUNS runs of candidate a into the scratch y (with
 * the call's beta: an accumulating GEMM is timed accumulating); < 0 when it
 * fails to run. */
static float tune_time(rt_blas *b, const plan *p, const lt_algo *a, const rt_gemm *g, rt_dptr y,
                       ssd_ctx *c) {
  if (lt_run(b, p, a, g->x, g->W, y, p->k.acc)) return -1.f;
  rt_cuda_timer t;
  if (rt_cuda_timer_start(b->g, &t, c)) return -1.f;
  blas_status s = 0;
  for (int i = 0; i < TUNE_RUNS && !s; i++) s = lt_run(b, p, a, g->x, g->W, y, p->k.acc);
  float ms = -1.f;
  if (rt_cuda_timer_stop(b->g, &t, &ms, c) || s) return -1.f;
  return ms;
}

/* p->algo: the remembered choice for this shape, else the fastest of the
 * heuristic's n candidates h (the first if none could be timed). */
static int plan_tune(rt_blas *b, const rt_gemm *g, plan *p, const lt_heur *h, int n, ssd_ctx *c) {
  const tuned *t = tuned_find(p);
  p->algo = t ? t->algo : h[0].algo;
  if (t || n < 2) return SSD_OK;
  rt_dptr y = 0;
  const size_t ybytes = (size_t)(p->k.M * p->k.ldy) * (p->k.out == RT_BLAS_BF16 ? 2 : 4);
  int rc = rt_cuda_alloc(b->g, ybytes, &y, c);
  /* an accumulating candidate reads y: start it from zeros, not from NaNs */
  if (!rc && p->k.acc) rc = rt_cuda_memset8(b->g, y, 0, ybytes, c);
  float best = -1.f;
  for (int i = 0; i < n && !rc; i++) {
    if (h[i].state != 0 || h[i].workspace > WORKSPACE_BYTES) continue;
    const float ms = tune_time(b, p, &h[i].algo, g, y, c);
    if (ms >= 0.f && (best < 0.f || ms < best)) best = ms, p->algo = h[i].algo;
  }
  rt_cuda_free(b->g, y);
  if (rc) return rc;
  if (ntuned < (int)(sizeof tuned_tab / sizeof *tuned_tab))
    tuned_tab[ntuned++] = (tuned){p->k, p->algo};
  return SSD_OK;
}

/* Descriptors, layouts and the algorithm (plan_tune) for one shape.  The
 * bias pointer is set per call; its presence changes the epilogue. */
static int plan_make(rt_blas *b, const rt_gemm *g, plan *p, ssd_ctx *c) {
  p->k = key_of(g);
  const int opT = OP_T, opN = OP_N, epi = p->k.bias ? EPI_BIAS : EPI_DEFAULT;
  LT(b->DescCreate(&p->desc, COMPUTE_32F, R_32F), "matmul descriptor");
  LT(b->DescSet(p->desc, DESC_TRANSA, &opT, sizeof opT), "set transa");
  LT(b->DescSet(p->desc, DESC_TRANSB, &opN, sizeof opN), "set transb");
  LT(b->DescSet(p->desc, DESC_EPILOGUE, &epi, sizeof epi), "set epilogue");
  if (p->k.bias) {
    void *bp = (void *)(uintptr_t)g->bias; /* any valid pointer for the heuristic */
    LT(b->DescSet(p->desc, DESC_BIAS_POINTER, &bp, sizeof bp), "set bias");
  }
  LT(b->LayoutCreate(&p->la, dtype(g->ab), (uint64_t)g->K, (uint64_t)g->N, g->K), "layout W");
  LT(b->LayoutCreate(&p->lb, dtype(g->ab), (uint64_t)g->K, (uint64_t)g->M, g->K), "layout x");
  LT(b->LayoutCreate(&p->ld, dtype(g->out), (uint64_t)g->N, (uint64_t)g->M, p->k.ldy), "layout y");
  /* how many of the heuristic's candidates to time (1: take its first) */
  long long ncand;
  const int rc =
      ssd_env_int("SSDC_GEMM_CANDIDATES", 1, MAX_CANDIDATES, TUNE_CANDIDATES, &ncand, c);
  if (rc) return rc;
  lt_pref pref;
  LT(b->PrefCreate(&pref), "preference");
  size_t ws = WORKSPACE_BYTES;
  blas_status s = b->PrefSet(pref, PREF_MAX_WORKSPACE, &ws, sizeof ws);
  lt_heur h[MAX_CANDIDATES];
  int n = 0;
  if (s == 0)
    s = b->Heuristic(b->h, p->desc, p->la, p->lb, p->ld, p->ld, pref, (int)ncand, h, &n);
  b->PrefDestroy(pref);
  if (s) return lt_fail(b, c, "algorithm heuristic", s);
  if (n < 1)
    return ssd_err(c, SSD_EUNSUPPORTED, "cuBLASLt has no algorithm for a %lldx%lldx%lld GEMM",
                   (long long)g->M, (long long)g->N, (long long)g->K);
  return plan_tune(b, g, p, h, n, c);
}

static int plan_get(rt_blas *b, const rt_gemm *g, plan **out, ssd_ctx *c) {
  const gkey k = key_of(g);
  for (int i = 0; i < b->nplans; i++) {
    plan *p = &b->plans[i];
    if (key_eq(&p->k, &k)) {
      *out = p;
      return SSD_OK;
    }
  }
  if (b->nplans == MAX_PLANS) { /* a model has few shapes; recycle the oldest */
    plan_free(b, &b->plans[0]);
    memmove(&b->plans[0], &b->plans[1], (MAX_PLANS - 1) * sizeof(plan));
    b->nplans--;
  }
  plan *p = &b->plans[b->nplans];
  memset(p, 0, sizeof *p);
  int rc = plan_make(b, g, p, c);
  if (rc) {
    plan_free(b, p);
    return rc;
  }
  b->nplans++;
  *out = p;
  return SSD_OK;
}

/* The emulated device's GEMM, in stream order: fp32 accumulation, as cuBLASLt. */
static float emu_ld(rt_blas_type t, rt_dptr p, int64_t i) {
  return t == RT_BLAS_BF16 ? rt_bf16_to(((const uint16_t *)(uintptr_t)p)[i])
                           : ((const float *)(uintptr_t)p)[i];
}
static void emu_gemm(const void *arg) {
  const rt_gemm *g = arg;
  const int64_t ldy = gemm_ldy(g);
  for (int64_t m = 0; m < g->M; m++)
    for (int64_t n = 0; n < g->N; n++) {
      float acc = 0.f;
      for (int64_t k = 0; k < g->K; k++)
        acc += emu_ld(g->ab, g->x, m * g->K + k) * emu_ld(g->ab, g->W, n * g->K + k);
      if (g->bias) acc += ((const float *)(uintptr_t)g->bias)[n];
      if (g->accumulate) acc += emu_ld(g->out, g->y, m * ldy + n);
      if (g->out == RT_BLAS_BF16) ((uint16_t *)(uintptr_t)g->y)[m * ldy + n] = rt_bf16_of(acc);
      else ((float *)(uintptr_t)g->y)[m * ldy + n] = acc;
    }
}

int rt_blas_gemm(rt_blas *b, const rt_gemm *g, ssd_ctx *c) {
  if (g->M < 1 || g->N < 1 || g->K < 1 || g->M > INT32_MAX || g->N > INT32_MAX || g->K > INT32_MAX)
    return ssd_err(c, SSD_EINVAL, "gemm: bad shape %lldx%lldx%lld", (long long)g->M,
                   (long long)g->N, (long long)g->K);
  if (!g->x || !g->W || !g->y) return ssd_err(c, SSD_EINVAL, "gemm: missing operand");
  if (g->ldy && (g->ldy < g->N || g->ldy > INT32_MAX))
    return ssd_err(c, SSD_EINVAL, "gemm: output rows %lld apart hold %lld columns",
                   (long long)g->ldy, (long long)g->N);
  if (g->bias && g->out != RT_BLAS_F32)
    return ssd_err(c, SSD_EUNSUPPORTED, "gemm: a bias needs fp32 output (add it in the next op)");
  if (g->ab == RT_BLAS_F32 && g->out == RT_BLAS_BF16)
    return ssd_err(c, SSD_EUNSUPPORTED, "gemm: fp32 inputs give fp32 output");
  if (!b->lib) { /* dry run, or the emulated device */
    rt_cuda_note_launch(b->g);
    return rt_cuda_is_emu(b->g) ? rt_cuda_emu_host(b->g, emu_gemm, g, sizeof *g, c) : SSD_OK;
  }
  const int side = rt_cuda_on_side(b->g);
  if (!b->ws[side]) {
    const int rc = rt_cuda_alloc(b->g, WORKSPACE_BYTES, &b->ws[side], c);
    if (rc) return rc;
  }
  plan *p;
  int rc = plan_get(b, g, &p, c);
  if (rc) return rc;
  if (p->k.bias) {
    void *bp = (void *)(uintptr_t)g->bias;
    LT(b->DescSet(p->desc, DESC_BIAS_POINTER, &bp, sizeof bp), "set bias");
  }
  LT(lt_run(b, p, &p->algo, g->x, g->W, g->y, g->accumulate), "matmul");
  rt_cuda_note_launch(b->g);
  return SSD_OK;
}
