/* rt_cublaslt.c: cuBLASLt through dlopen.
 *
 * The row-major y[M,N] = x[M,K] W[N,K]^T is the column-major
 * Y[N,M] = op(W)[N,K] X[K,M] with op = transpose on W's column-major [K,N]
 * view, so A = W (TRANSA = T), B = x (N), m = N, n = M, k = K and the bias
 * epilogue adds along m.  The few enum values used are cuBLASLt's stable ABI
 * numbers (cublasLt.h, cublas_api.h, library_types.h).
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

typedef struct plan {
  int64_t M, N, K;
  rt_blas_type ab, out;
  bool bias;
  lt_desc desc;
  lt_layout la, lb, ld;
  lt_algo algo;
} plan;

struct rt_blas {
  void *lib;
  lt_handle h;
  rt_cuda *g;
  rt_dptr ws;
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
  int rc = load(b, c);
  if (rc == SSD_OK) {
    blas_status s = b->Create(&b->h);
    if (s) rc = lt_fail(b, c, "create", s);
  }
  if (rc == SSD_OK) rc = rt_cuda_alloc(g, WORKSPACE_BYTES, &b->ws, c);
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
  if (b->ws) rt_cuda_free(b->g, b->ws);
  if (b->h) b->Destroy(b->h);
  if (b->lib) dlclose(b->lib);
  free(b);
}

static int dtype(rt_blas_type t) { return t == RT_BLAS_BF16 ? R_16BF : R_32F; }

/* Descriptors, layouts and the heuristic's first algorithm for one shape.
 * The bias pointer is set per call; its presence changes the epilogue. */
static int plan_make(rt_blas *b, const rt_gemm *g, plan *p, ssd_ctx *c) {
  p->M = g->M, p->N = g->N, p->K = g->K, p->ab = g->ab, p->out = g->out, p->bias = g->bias != 0;
  const int opT = OP_T, opN = OP_N, epi = p->bias ? EPI_BIAS : EPI_DEFAULT;
  LT(b->DescCreate(&p->desc, COMPUTE_32F, R_32F), "matmul descriptor");
  LT(b->DescSet(p->desc, DESC_TRANSA, &opT, sizeof opT), "set transa");
  LT(b->DescSet(p->desc, DESC_TRANSB, &opN, sizeof opN), "set transb");
  LT(b->DescSet(p->desc, DESC_EPILOGUE, &epi, sizeof epi), "set epilogue");
  if (p->bias) {
    void *bp = (void *)(uintptr_t)g->bias; /* any valid pointer for the heuristic */
    LT(b->DescSet(p->desc, DESC_BIAS_POINTER, &bp, sizeof bp), "set bias");
  }
  LT(b->LayoutCreate(&p->la, dtype(g->ab), (uint64_t)g->K, (uint64_t)g->N, g->K), "layout W");
  LT(b->LayoutCreate(&p->lb, dtype(g->ab), (uint64_t)g->K, (uint64_t)g->M, g->K), "layout x");
  LT(b->LayoutCreate(&p->ld, dtype(g->out), (uint64_t)g->N, (uint64_t)g->M, g->N), "layout y");
  lt_pref pref;
  LT(b->PrefCreate(&pref), "preference");
  size_t ws = WORKSPACE_BYTES;
  blas_status s = b->PrefSet(pref, PREF_MAX_WORKSPACE, &ws, sizeof ws);
  lt_heur h;
  int n = 0;
  if (s == 0) s = b->Heuristic(b->h, p->desc, p->la, p->lb, p->ld, p->ld, pref, 1, &h, &n);
  b->PrefDestroy(pref);
  if (s) return lt_fail(b, c, "algorithm heuristic", s);
  if (n < 1)
    return ssd_err(c, SSD_EUNSUPPORTED, "cuBLASLt has no algorithm for a %lldx%lldx%lld GEMM",
                   (long long)g->M, (long long)g->N, (long long)g->K);
  p->algo = h.algo;
  return SSD_OK;
}

static int plan_get(rt_blas *b, const rt_gemm *g, plan **out, ssd_ctx *c) {
  for (int i = 0; i < b->nplans; i++) {
    plan *p = &b->plans[i];
    if (p->M == g->M && p->N == g->N && p->K == g->K && p->ab == g->ab && p->out == g->out &&
        p->bias == (g->bias != 0)) {
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

int rt_blas_gemm(rt_blas *b, const rt_gemm *g, ssd_ctx *c) {
  if (g->M < 1 || g->N < 1 || g->K < 1 || g->M > INT32_MAX || g->N > INT32_MAX || g->K > INT32_MAX)
    return ssd_err(c, SSD_EINVAL, "gemm: bad shape %lldx%lldx%lld", (long long)g->M,
                   (long long)g->N, (long long)g->K);
  if (!g->x || !g->W || !g->y) return ssd_err(c, SSD_EINVAL, "gemm: missing operand");
  if (g->bias && g->out != RT_BLAS_F32)
    return ssd_err(c, SSD_EUNSUPPORTED, "gemm: a bias needs fp32 output (add it in the next op)");
  if (g->ab == RT_BLAS_F32 && g->out == RT_BLAS_BF16)
    return ssd_err(c, SSD_EUNSUPPORTED, "gemm: fp32 inputs give fp32 output");
  plan *p;
  int rc = plan_get(b, g, &p, c);
  if (rc) return rc;
  if (p->bias) {
    void *bp = (void *)(uintptr_t)g->bias;
    LT(b->DescSet(p->desc, DESC_BIAS_POINTER, &bp, sizeof bp), "set bias");
  }
  const float one = 1.0f, zero = 0.0f;
  LT(b->Matmul(b->h, p->desc, &one, (const void *)(uintptr_t)g->W, p->la,
               (const void *)(uintptr_t)g->x, p->lb, g->accumulate ? &one : &zero,
               (const void *)(uintptr_t)g->y, p->ld,
               (void *)(uintptr_t)g->y, p->ld, &p->algo, (void *)(uintptr_t)b->ws,
               WORKSPACE_BYTES, rt_cuda_stream(b->g)),
     "matmul");
  rt_cuda_note_launch(b->g);
  return SSD_OK;
}
