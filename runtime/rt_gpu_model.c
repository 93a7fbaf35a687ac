/* rt_gpu_model.c: the whole-model GPU executor (see rt_gpu_model.h).
 *
 * It mirrors rt_exec.c's interpreter: one pass over main's nodes per call,
 * every value id a slot with its resolved shape and device storage, storage
 * released after the value's last reader, and for last_only the live
 * [batch, seqlen, ...] values cut to the last position after the last
 * sequence-mixing node.  Keeping the structure of the CPU interpreter is
 * deliberate: the two are checked against the same goldens and a difference
 * in walking order would be a second source of bugs.
 *
 * Storage (gslot): a value is rows of W elements, ld apart, fp32 or bf16,
 * inside a reference-counted block (gblock), so split along the last axis,
 * reshape, a silu fused into the conv before it and an add folded into the
 * GEMM before it are views, not copies.  Kernels that read strided rows
 * (conv, gated norm) take the stride baked into their spec; every other
 * operand goes through get_in, which hands out the stored form when it fits
 * and a dense, converted copy when it does not.  Device memory comes from
 * rt_cuda's pool, so a free costs nothing.
 *
 * Precision (fp32 mode: everything fp32).  bf16 mode decides once per
 * module (plan_dtypes) which values are stored in bf16: those whose every
 * reader takes bf16 (GEMM inputs, conv, norms, the SSD's activations),
 * looking through views.  So norms write bf16 for the GEMMs after them, the
 * in_proj GEMM writes bf16 for conv, gate and dt, the conv writes bf16 for
 * the SSD, the SSD writes bf16 for the gated norm; GEMMs that feed the
 * residual stream, and logits, stay fp32 (plan_fusions lets them add into
 * the residual with beta = 1 where it dies at that add).
 *
 * Op kernels (cg_cuda_ops.h specs, SSD specs) are prepared the first time a
 * node needs one and kept by spec; specs are zeroed before being filled so
 * that memcmp finds equal ones.
 *
 * Decode steps (L == 1 with the state cache) allocate nothing: the first
 * step at a batch size records every temporary buffer it asks for in a step
 * arena (gstep), in order, and later steps, whose walk asks for the same
 * sizes in the same order, get the same buffers back; frees are no-ops
 * while the arena is on.  With fixed buffers, fixed input ids and output
 * buffers, and state buffers that stay put between resets of one batch
 * size, a whole step is a fixed sequence of stream work: the second step is
 * captured into a CUDA graph and later steps only upload ids (and the
 * position, which attention kernels read from device memory), replay it
 * and read the logits.  Not captured: steps at position 0 (an SSM's INIT
 * seed is copied in only there), and a step in which a KV cache must grow
 * (its buffers move: the graph is dropped, the step runs from the arena,
 * and the next step is captured again; caches double, so that is rare).
 * $SSDC_CUDA_GRAPH=0 turns graphs off.
 *
 * Decode kernels (rt_cuda_dec.h): a linear with a bf16 weight and at most
 * GEMV_MAX_M rows runs the small-M GEMV instead of cuBLASLt (same bias,
 * residual accumulate and output type), and in a bf16 decode step each
 * Mamba-2 mixer that plan_mixers recognised (conv1d + silu over in_proj's
 * xBC columns, split into x | B | C for an SSD node) runs as one kernel at
 * the SSD node (at most MIXER_MAX_B sequences), the conv, silu, split and
 * reshapes before it skipped; it reads the in_proj row in place and updates
 * the same state slots as op_conv and ssm_state, so prefills and steps hand
 * over freely.  In steps of at most NORM_GEMV_MAX_B sequences, a norm whose
 * only reader is a linear is skipped and that linear's GEMV applies it to x
 * as it loads it (plan_norms).  Where the kernel before such a norm is
 * itself a decode kernel (the out_proj GEMV that adds into the residual,
 * or the fused mixer before the gated norm), it writes the norm's input
 * already multiplied by the norm weight (bf16) and per-block partial sums
 * of squares (plan_prescale, gpre), so the GEMV's loop stays the plain one
 * and only scales its results.  Prefill and fp32 mode keep the generic path.
 * $SSDC_DEC_KERNELS=0 turns all of these off.
 */
#include "rt_value.h"
#include "rt_gpu_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cublaslt.h"
#include "rt_cuda.h"
#include "rt_cuda_dec.h"
#include "rt_cuda_exec.h"
#include "rt_gpu_prof.h"
#include "rt_ops.h"
#include "rt_pack.h"

#define GM_MAX_RANK 6
/* A greedy step's argmax: elements of a row per block ($SSDC_ARGMAX_CHUNK;
 * 0: one block per row).  bench/NOTES.md, session 7, has the measurements. */
#define ARGMAX_CHUNK 4096
/* Greedy steps that rt_gpu_decode_greedy_n replays back to back before
 * their picks come down in one copy (the ring of picks has this many slots). */
#define GREEDY_RUN 64
/* gm_ops.cuh's struct gm_bshape, passed by value. */
typedef struct gm_bshape {
  long long shape[GM_MAX_RANK], sa[GM_MAX_RANK], sb[GM_MAX_RANK];
  int rank;
} gm_bshape;

/* A value's device storage.  Its elements are rows of W contiguous elements,
 * ld apart (W == numel: dense), fp32 or bf16.  The memory belongs to a
 * block (gblock), which counts the slots still using it: the value it was
 * allocated for until its last reader ran, plus every live view of it
 * (split pieces, reshapes, a fused silu, an add folded into a GEMM); it is
 * freed when the count reaches 0.  Weights, the input ids and state
 * buffers have no block (blk -1). */
typedef struct gblock {
  rt_dptr base;
  int refs;
} gblock;

typedef struct gslot {
  rt_dptr p;
  int blk;
  bool bf16;
  bool folded;  /* a linear's result already added into its residual (see fold_add) */
  bool silu;    /* a conv output with the silu of its sole reader applied (silu_fused) */
  int64_t W, ld;
  int rank;
  int64_t shape[IR_MAX_RANK];
  int last_use; /* index of the last node reading it; -1 unused */
} gslot;

/* A Mamba-2 mixer that decode steps run as one kernel (plan_mixers): the
 * in_proj row's layout as the fused kernel reads it. */
/* The fused mixer runs in decode steps of at most this many sequences: at
 * b16 it was slower than conv step + SSD step on mamba2-2.7b (6.91 vs 6.61
 * ms per step, H100, bench/NOTES.md "Decode wiring, session 2"). */
#define MIXER_MAX_B 8
/* Decode steps of at most this many sequences fold an RMSNorm or a gated
 * RMSNorm into the GEMV that is its only reader (plan_norms); above it the
 * fused GEMV's registers cost more than the norm kernel (bench/NOTES.md,
 * "Decode kernels, session 2": 0.377 vs 0.457 ms/token at 130m b1, slower
 * at b16). */
#define NORM_GEMV_MAX_B 4

typedef struct gmix {
  bool on;
  int conv;                          /* node index of its conv1d */
  int64_t ld_in, off_xbc, off_dt, off_z; /* elements per token row; columns */
  int64_t off_gz;                    /* the gated norm's z column (plan_prescale) */
  cg_dec_spec spec;                  /* storage flags (in_f32, y_bf16) set per call */
} gmix;

/* A deferred norm's input as its producer prepared it (plan_prescale): x
 * bf16 [M, K] = x0 * the norm weight, ss: fp32 partial sums of x0^2,
 * nparts per row, rows cg_dec_parts_ld(nparts) apart.  Set by the
 * producer in a decode step, taken by the norm's linear. */
typedef struct gpre {
  rt_dptr x, ss;
  int64_t nparts, K, M;
} gpre;

/* A gated norm folded into the SSD kernel before it (plan_gfold): node
 * indices of the chain ssm -> (reshapes) -> gated_rmsnorm -> linear -> add
 * -> rmsnorm, and what the walk that runs it holds between the SSD and the
 * add. */
typedef struct gfold {
  int ssm, norm, lin, add, rms;
  bool cut;      /* cut_to_last falls inside the chain: no fold when a walk cuts */
  bool on;       /* this walk: the SSD kernel took the norm (op_ssm) */
  bool rms_done; /* this walk: the add ran the rmsnorm too (op_binary) */
  bool scaled;   /* this walk: the linear applied the row scale (run_gw_fold) */
  rt_dptr ss;    /* the rows' partial sums of squares, [rows, parts] fp32 */
  int64_t parts, width;
} gfold;

typedef struct gweight {
  const float *host;
  rt_dptr d, d16; /* fp32; bf16 for a linear weight in bf16 mode (then no fp32 copy) */
  rt_dptr lo;     /* bf16 remainder (host - d16) of a tied table that an embed reads */
} gweight;

/* One decode-state slot on the device: a dense state or a KV cache. */
typedef struct gstate {
  rt_dptr p;
  int64_t n;
  bool is_kv;
  int64_t Hkv, Dh;
  rt_cuda_kv kv; /* kv.len is set from g->pos whenever a forward uses it (state_kv) */
} gstate;

/* The decode step's fixed buffers and its graph (see the top of the file). */
typedef struct gstep {
  rt_dptr *buf;   /* temporaries in the order the walk asks for them */
  size_t *bytes;
  int n, cap, next;
  bool on;        /* allocations come from (or are recorded into) buf */
  bool sealed;    /* a whole step was recorded: asking for more is a bug */
  bool capturing; /* inside a capture: no host reads of device memory */
  int64_t B;      /* the shape the arena was built for */
  bool last_only;
  bool greedy;    /* the step ends in a pick (the argmax kernel, or the LM head's
                     GEMV: am_fused); only ids come down */
  bool am_fused;  /* greedy: the LM head's GEMV picked (op_linear), no argmax kernel */
  rt_dptr ids;    /* [B] int64 input ids (greedy: the picks overwrite them), [2] positions */
  rt_dptr am_scratch; /* greedy: the picking kernel's scratch (step_pick) */
  size_t am_bytes;
  rt_dptr hist;   /* greedy: [GREEDY_RUN, B] int64, each step's picks at slot pos % GREEDY_RUN */
  rt_dptr out;    /* the logits buffer of the recorded step */
  int64_t out_n, V;
  rt_cuda_graph graph;
  int64_t replays;
  int64_t kernels; /* stream work items of the last walked step */
  void *host;      /* pinned: the logits (out_n floats; greedy: a copy of hist),
                      the bad-id flag, the ids */
  bool timing;     /* rt_gpu_time_steps: device time of each step */
  double gpu_ms;   /* the last step's device time (timing) */
} gstep;

/* $SSDC_DEC_TRACE=1: the decode step's GEMV and mixer kernels are built
 * with DEC_TRACE (codegen/cuda/dec_common.cuh) and each launch in a step
 * gets the next of TRACE_MAX 4-word records, labelled by its layer and
 * kind; rt_gpu_trace_print reads them after a step.  The stamps add a
 * barrier and four atomics per block, so a traced build's step is a little
 * slower than the plain one; the timeline's shape is what it is for. */
#define TRACE_MAX 1024
typedef struct gtrace {
  bool on;
  rt_dptr rec;                 /* TRACE_MAX x 4 u64, zeroed by rt_gpu_trace_reset */
  int n;                       /* records the last walked step used */
  char label[TRACE_MAX][24];
} gtrace;

/* The gate's columns of a linear (plan_zside): the gated norm that alone
 * reads them, and where they sit in the linear's output rows. */
typedef struct gzside {
  int norm; /* -1: none */
  int64_t col, width;
} gzside;

/* A conv that a linear's epilogue runs (plan_cfold): the conv node, and
 * where its input sits in the linear's output rows. */
typedef struct gcfold {
  int conv; /* -1: none */
  int64_t col, C, K;
  bool bias;
} gcfold;

/* A prepared SSD kernel and the spec it was looked up by (get_ssd). */
typedef struct gssd {
  cg_ssd_spec key;
  rt_cuda_ssd k;
} gssd;

struct rt_gpu_model {
  const ir_module *m;
  rt_weight_fn wfn;
  void *wctx;
  rt_cuda *cu;
  rt_blas *blas;
  cg_cache cache;
  int nnodes, nvals, last_mix;
  const ir_node **nodes;
  const ir_value *result; /* the module's (first) output: the logits */
  gslot *v;
  gweight *w;
  int nw;
  rt_cuda_op **ops;
  int nops;
  gssd **ssds;
  int nssds;
  rt_cuda_dec **decs;
  int ndecs;
  rt_cuda_fn k_fill, k_unary, k_binary, k_copy, k_kv, k_attn;
  bool bf16;      /* RT_GPU_BF16 */
  gblock *blk;    /* nvals + 1 of them: a live block has a live slot */
  int *blk_free, nblk_free; /* unused block ids */
  bool *want16;   /* per value: every reader takes bf16 (bf16 mode), see plan_dtypes */
  int *fold_add;  /* per node: for a linear, the add it folds into (-1: none) */
  bool *silu_fused; /* per node: a conv whose sole reader is a silu, run inside it */
  bool dec_kernels; /* decode GEMV and fused mixer ($SSDC_DEC_KERNELS != 0) */
  gmix *mix;        /* per node: an SSD node's fused decode mixer, see plan_mixers */
  bool *mix_skip;   /* per node: run inside a fused mixer in decode steps */
  int *norm_of;     /* per node: for a linear, the norm it may fold in (plan_norms; -1: none) */
  bool *norm_defer; /* per node: a norm deferred to its linear in small decode steps */
  int *pre_for;     /* per node: the deferred norm whose prescaled input it writes (-1: none) */
  gpre *pre;        /* per node: a deferred norm's prescaled input of this step */
  bool mem_log;   /* $SSDC_GPU_MEM: device memory after each forward, to stderr */
  rt_gpu_prof *prof; /* $SSDC_PROFILE: device time per model line after each forward */
  bool ops_vec;   /* $SSDC_OPS_VEC (default on): 16-byte gated norm and conv (pick_vec) */
  bool gfold_ok;  /* gated norms may fold into the SSD kernel ($SSDC_GNORM_FOLD != 0) */
  bool gfold_all; /* in every bf16 prefill ($SSDC_GNORM_FOLD=1); else at batch 1 (gfold_want) */
  bool after_ok;  /* $SSDC_GNORM_AFTER != 0: a gated norm may start in its SSD kernel's tail */
  bool gw_ok;     /* ssdc's own GEMM may run ($SSDC_OWN_GEMM=1 on an sm_90 or emulated device) */
  gfold *gf;      /* the foldable chains (plan_gfold), ngf of them */
  int ngf, ngf_last; /* ngf_last: chains the last forward folded */
  int ngw_last;      /* of those, the ones whose out_proj applied the row scale (run_gw_fold) */
  int ngw_lin_last;  /* other linears the last forward ran through ssdc's own GEMM (run_gw) */
  int *gf_at;     /* per node: the chain it belongs to (-1: none) */
  bool xconv_ok;  /* $SSDC_XCONV=1 (default off): x's conv folded into the SSD kernel */
  int *xc_of;     /* per node: a foldable conv's SSD node and the SSD node's conv (plan_xconv) */
  struct {        /* a folded conv's new state, copied over the old after its SSD node */
    rt_dptr st, tmp;
    int64_t n;
    int conv;
  } xc_pend;
  int nxc_last;   /* SSD nodes the last walk folded a conv into */
  int nwg_last;   /* chunked SSD nodes the last walk ran on the wgmma kernel */
  int nchain_last; /* chunked SSD nodes the last walk ran with chained segments */
  bool zside_ok;  /* $SSDC_SIDE_GEMM=1 (default off): gate columns on the side stream */
  gzside *zs;     /* per node: a linear's gate columns (plan_zside) */
  bool cfold_ok;  /* convs may fold into in_proj's epilogue (plan_cfold; not with $SSDC_CONV_FOLD=0) */
  bool cfold_all; /* ... at every in_proj width, not only from CFOLD_MIN_K ($SSDC_CONV_FOLD=1) */
  gcfold *cf;     /* per node: the conv a linear's own GEMM runs in its epilogue */
  struct {        /* the conv the last linear ran: op_conv makes its output a view */
    int conv;     /* -1: none */
    rt_dptr p;    /* the conv's input (and output) in the linear's output rows */
    int64_t ld;
  } cf_pend;
  int ncf_last;   /* convs the last walk ran in a GEMM's epilogue */
  struct {        /* the side stream's GEMM in flight: its gated norm joins it */
    bool on;
    int norm, blk; /* blk: x's block, held until the join */
  } zpend;
  int nzs_last;   /* linears the last walk ran with their gate on the side stream */
  struct {        /* a chunked SSD launch whose gated norm may start before it ends */
    bool on;
    int ssd;      /* its node */
    rt_dptr y;    /* its output, the norm's input */
    rt_cuda_rows_sig sig;
    rt_dptr held[32]; /* frees deferred until the norm is launched (gm_free) */
    int nheld;
  } after;
  int nafter_last; /* gated norms the last walk launched into their SSD kernel's tail */
  gstate *st;
  int nst;
  int64_t st_batch, pos;
  rt_dptr d_flag; /* the embedding kernel's bad-id flag (bad_id) */
  const ir_node *embed; /* the embedding that reads the ids, and its table's */
  int64_t vocab;        /* rows: for bad_id's message */
  bool poison;    /* $SSDC_POISON: fill new buffers with NaN */
  bool graphs;    /* CUDA graphs for decode steps ($SSDC_CUDA_GRAPH != 0) */
  int64_t greedy_runs; /* runs of replays by rt_gpu_decode_greedy_n, over the model's life */
  int64_t am_chunk; /* the greedy step's argmax: elements of a row per block (0: a row) */
  gtrace tr;      /* $SSDC_DEC_TRACE: the decode kernels' timeline (a diagnostic) */
  gstep step;
  char devname[200];
  char pack[4096]; /* the kernel pack in use (g->cache.pack points here) */
};

typedef struct grun {
  rt_gpu_model *g;
  int64_t B, L;
  rt_dptr ids;    /* [B, L] int64, then the two int64 of pos_upload */
  rt_dptr pos[2]; /* their device addresses: 0, and g->pos (attention's first position) */
  bool use_state;
  int idx;
  ssd_ctx *c;
  bool mixers; /* a bf16 decode step: planned mixers run fused (plan_mixers) */
  bool norms;  /* a bf16 decode step of <= NORM_GEMV_MAX_B sequences (plan_norms) */
  bool last_only; /* the walk cuts to the last position after the last mixer */
} grun;

#define TRY(x)           \
  do {                   \
    int rc_ = (x);       \
    if (rc_) return rc_; \
  } while (0)

static int run_node(grun *r, const ir_node *n);

/* The device addresses of the two positions stored after the ids. */
static void set_pos(grun *r, size_t idbytes) {
  r->pos[0] = r->ids + idbytes, r->pos[1] = r->ids + idbytes + sizeof(int64_t);
}

static bool is_mixer(ir_op op) { return op == IR_CONV1D || op == IR_SSM || op == IR_ATTENTION; }

/* ---- generic kernels (gm_ops.cuh) ------------------------------------------------ */
static int gm_load(rt_gpu_model *g, ssd_ctx *c) {
  const char *tpl = cg_template("gm_ops.cuh");
  if (!tpl) return ssd_err(c, SSD_EINTERNAL, "kernel template gm_ops.cuh is not embedded");
  size_t len = strlen(tpl) + 1;
  cg_source s = {"gm_ops", malloc(len)};
  if (!s.src) return ssd_err(c, SSD_ENOMEM, "out of memory");
  memcpy(s.src, tpl, len);
  void *cubin = NULL;
  size_t n = 0;
  int rc = cg_build(&g->cache, &s, rt_cuda_arch(g->cu), &cubin, &n, c);
  if (!rc) rc = rt_cuda_load(g->cu, cubin, "gm_fill", 0, &g->k_fill, c);
  if (!rc) rc = rt_cuda_load(g->cu, cubin, "gm_unary", 0, &g->k_unary, c);
  if (!rc) rc = rt_cuda_load(g->cu, cubin, "gm_binary", 0, &g->k_binary, c);
  if (!rc) rc = rt_cuda_load(g->cu, cubin, "gm_copy2d", 0, &g->k_copy, c);
  if (!rc) rc = rt_cuda_load(g->cu, cubin, "gm_kv_append", 0, &g->k_kv, c);
  if (!rc) rc = rt_cuda_load(g->cu, cubin, "gm_attn", 0, &g->k_attn, c);
  free(cubin);
  cg_source_free(&s);
  return rc;
}

static int gm_launch(rt_gpu_model *g, const rt_cuda_fn *f, int64_t n, void **args, ssd_ctx *c) {
  if (n <= 0) return SSD_OK;
  int64_t blocks = (n + 255) / 256;
  const unsigned grid[3] = {(unsigned)(blocks < 65536 ? blocks : 65536), 1, 1};
  return rt_cuda_launch(g->cu, f, grid, 256, args, c);
}

static int gm_fill(rt_gpu_model *g, rt_dptr y, float v, int64_t n, ssd_ctx *c) {
  long long nn = n;
  void *args[] = {&y, &v, &nn};
  return gm_launch(g, &g->k_fill, n, args, c);
}

static int gm_unary(rt_gpu_model *g, int op, rt_dptr x, rt_dptr y, int64_t n, double lo,
                    double hi, ssd_ctx *c) {
  long long nn = n;
  float flo = (float)lo, fhi = (float)hi;
  void *args[] = {&x, &y, &nn, &op, &flo, &fhi};
  return gm_launch(g, &g->k_unary, n, args, c);
}

/* dst[r * dld + j] = src[r * sld + j] (elements), fp32 or bf16 each side. */
static int gm_copy_cvt(rt_gpu_model *g, rt_dptr src, int64_t sld, bool s16, rt_dptr dst,
                       int64_t dld, bool d16, int64_t rows, int64_t cols, ssd_ctx *c) {
  if (rows <= 0 || cols <= 0) return SSD_OK;
  long long a = sld, b = dld, r = rows, k = cols;
  int si = s16, di = d16;
  void *args[] = {&src, &a, &si, &dst, &b, &di, &r, &k};
  /* ~4 waves of 256-thread blocks in all; rows over y, columns over x */
  const int64_t cx = (cols + 255) / 256, want = (int64_t)rt_cuda_sms(g->cu) * 32;
  const int64_t gy = rows < 65535 ? rows : 65535;
  int64_t gx = want / gy > 0 ? want / gy : 1;
  if (gx > cx) gx = cx;
  const unsigned grid[3] = {(unsigned)gx, (unsigned)gy, 1};
  return rt_cuda_launch(g->cu, &g->k_copy, grid, 256, args, c);
}
/* The same in fp32 (states, KV caches). */
static int gm_copy(rt_gpu_model *g, rt_dptr src, int64_t sld, rt_dptr dst, int64_t dld,
                   int64_t rows, int64_t cols, ssd_ctx *c) {
  return gm_copy_cvt(g, src, sld, false, dst, dld, false, rows, cols, c);
}

static rt_dptr fptr(rt_dptr base, int64_t off) { return base + (rt_dptr)off * sizeof(float); }
static rt_dptr eptr(rt_dptr base, int64_t off, bool bf16) {
  return base + (rt_dptr)off * (bf16 ? 2u : 4u);
}

/* ---- the step arena ---------------------------------------------------------------- */
static int arena_push(gstep *s, rt_dptr p, size_t n, ssd_ctx *c) {
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 256;
    rt_dptr *nb = realloc(s->buf, (size_t)cap * sizeof *nb);
    if (nb) s->buf = nb;
    size_t *nn = nb ? realloc(s->bytes, (size_t)cap * sizeof *nn) : NULL;
    if (!nn) return ssd_err(c, SSD_ENOMEM, "out of memory for the decode step's buffers");
    s->bytes = nn;
    s->cap = cap;
  }
  s->buf[s->n] = p, s->bytes[s->n++] = n;
  return SSD_OK;
}

/* A temporary device buffer: a real allocation, or the arena's next one. */
static int gm_alloc(rt_gpu_model *g, size_t n, rt_dptr *out, ssd_ctx *c) {
  gstep *s = &g->step;
  if (!s->on) return rt_cuda_alloc(g->cu, n, out, c);
  *out = 0;
  if (s->next < s->n) {
    if (s->bytes[s->next] != n)
      return ssd_err(c, SSD_EINTERNAL, "decode step buffer %d: %zu bytes, recorded %zu", s->next,
                     n, s->bytes[s->next]);
    *out = s->buf[s->next++];
    return SSD_OK;
  }
  if (s->sealed)
    return ssd_err(c, SSD_EINTERNAL, "a decode step asked for more buffers than the first one");
  TRY(rt_cuda_alloc(g->cu, n, out, c));
  int rc = arena_push(s, *out, n, c);
  if (rc) {
    rt_cuda_free(g->cu, *out);
    *out = 0;
    return rc;
  }
  s->next++;
  return SSD_OK;
}

/* The overlap of a chunked SSD launch with its gated norm (after_begin):
 * the norm is launched with PDL and may run while the SSD kernel still
 * reads its operands and writes its states, so no buffer freed between the
 * two launches may be handed out again before the norm is launched; later
 * launches wait for the norm, whose last block waits for the SSD kernel. */
static void after_end(rt_gpu_model *g) {
  const int n = g->after.nheld;
  g->after.on = false, g->after.nheld = 0;
  for (int i = 0; i < n; i++) rt_cuda_free(g->cu, g->after.held[i]);
}

static void gm_free(rt_gpu_model *g, rt_dptr p) {
  if (g->step.on || !p) return;
  if (!g->after.on) {
    rt_cuda_free(g->cu, p);
    return;
  }
  if (g->after.nheld == (int)(sizeof g->after.held / sizeof *g->after.held))
    after_end(g); /* the norm then runs after the SSD kernel, as any launch: safe to free */
  if (g->after.on) g->after.held[g->after.nheld++] = p;
  else rt_cuda_free(g->cu, p);
}

/* Drop the arena, its graph and its fixed buffers (batch change, failure, free). */
static void step_clear(rt_gpu_model *g) {
  gstep *s = &g->step;
  rt_cuda_graph_destroy(g->cu, &s->graph);
  for (int i = 0; i < s->n; i++) rt_cuda_free(g->cu, s->buf[i]);
  rt_cuda_free(g->cu, s->ids);
  rt_cuda_free(g->cu, s->am_scratch);
  rt_cuda_free(g->cu, s->hist);
  rt_cuda_host_free(g->cu, s->host);
  free(s->buf);
  free(s->bytes);
  int64_t replays = s->replays, kernels = s->kernels;
  const bool timing = s->timing;
  memset(s, 0, sizeof *s);
  s->replays = replays, s->kernels = kernels, s->timing = timing;
}

/* The greedy step's position, which its pick advances (ops_argmax.cuh,
 * dec_gemv.cuh's argmax epilogue). */
static rt_dptr step_pos(const gstep *s) { return s->ids + (size_t)(s->B + 1) * sizeof(int64_t); }

/* Where the greedy step's picks go, for the kernel that picks (the argmax
 * kernel or the LM head's GEMV): over the step's input ids, into the ring
 * of picks, the position advanced; the scratch (that kernel's, `bytes`) is
 * made and zeroed on the step's first (uncaptured) walk, and each launch
 * leaves it so. */
static int step_pick(rt_gpu_model *g, size_t bytes, rt_cuda_pick *p, ssd_ctx *c) {
  gstep *s = &g->step;
  if (bytes && (!s->am_scratch || s->am_bytes < bytes)) {
    if (s->capturing) return ssd_err(c, SSD_EINTERNAL, "the argmax scratch appeared in a capture");
    rt_cuda_free(g->cu, s->am_scratch);
    s->am_scratch = 0, s->am_bytes = 0;
    TRY(rt_cuda_alloc(g->cu, bytes, &s->am_scratch, c));
    s->am_bytes = bytes;
    TRY(rt_cuda_memset8(g->cu, s->am_scratch, 0, bytes, c));
  }
  *p = (rt_cuda_pick){s->ids, s->am_scratch, step_pos(s), s->hist, GREEDY_RUN};
  return SSD_OK;
}

/* ---- kernels by spec ------------------------------------------------------------- */
static int get_op(rt_gpu_model *g, const cg_op_spec *s, const rt_cuda_op **out, ssd_ctx *c) {
  for (int i = 0; i < g->nops; i++)
    if (!memcmp(&g->ops[i]->spec, s, sizeof *s)) return *out = g->ops[i], SSD_OK;
  TRY(cg_op_check(s, c));
  rt_cuda_op **np = realloc(g->ops, (size_t)(g->nops + 1) * sizeof *np);
  if (!np) return ssd_err(c, SSD_ENOMEM, "out of memory");
  g->ops = np;
  rt_cuda_op *k = calloc(1, sizeof *k);
  if (!k) return ssd_err(c, SSD_ENOMEM, "out of memory");
  int rc = rt_cuda_op_prepare(g->cu, &g->cache, s, k, c);
  if (rc) {
    rt_cuda_op_release(g->cu, k);
    free(k);
    return rc;
  }
  k->spec = *s; /* the key, exactly as asked */
  g->ops[g->nops++] = k;
  *out = k;
  return SSD_OK;
}

/* An SSD kernel by the spec it was asked for (the key), which prepare may
 * complete (the slice, $SSDC_SSD_WG's kernel): k.spec is what was built. */
static int get_ssd(rt_gpu_model *g, const cg_ssd_spec *s, rt_cuda_ssd **out, ssd_ctx *c) {
  for (int i = 0; i < g->nssds; i++)
    if (!memcmp(&g->ssds[i]->key, s, sizeof *s)) return *out = &g->ssds[i]->k, SSD_OK;
  gssd **np = realloc(g->ssds, (size_t)(g->nssds + 1) * sizeof *np);
  if (!np) return ssd_err(c, SSD_ENOMEM, "out of memory");
  g->ssds = np;
  gssd *e = calloc(1, sizeof *e);
  if (!e) return ssd_err(c, SSD_ENOMEM, "out of memory");
  int rc = rt_cuda_ssd_prepare(g->cu, &g->cache, s, 1, &e->k, c);
  if (rc) {
    rt_cuda_ssd_release(g->cu, &e->k);
    free(e);
    return rc;
  }
  e->key = *s;
  g->ssds[g->nssds++] = e;
  *out = &e->k;
  return SSD_OK;
}

/* A decode kernel by spec (a mixer's tickets for MIXER_MAX_B sequences).
 * The first step at a batch size, which is not captured, prepares them. */
static int get_dec(rt_gpu_model *g, const cg_dec_spec *s, rt_cuda_dec **out, ssd_ctx *c) {
  rt_cuda_dec *k = NULL;
  for (int i = 0; i < g->ndecs && !k; i++)
    if (!memcmp(&g->decs[i]->spec, s, sizeof *s)) k = g->decs[i];
  if (k && k->fn.fn) return *out = k, SSD_OK;
  if (g->step.capturing)
    return ssd_err(c, SSD_EINTERNAL, "a decode kernel was first asked for inside a graph capture");
  if (!k) {
    rt_cuda_dec **np = realloc(g->decs, (size_t)(g->ndecs + 1) * sizeof *np);
    if (!np) return ssd_err(c, SSD_ENOMEM, "out of memory");
    g->decs = np;
    if (!(k = calloc(1, sizeof *k))) return ssd_err(c, SSD_ENOMEM, "out of memory");
    g->decs[g->ndecs++] = k;
  }
  /* a failed prepare leaves k released with the key: the next ask retries */
  int rc = rt_cuda_dec_prepare(g->cu, &g->cache, s, MIXER_MAX_B, k, c);
  memcpy(&k->spec, s, sizeof *s);
  if (!rc) *out = k;
  return rc;
}

/* ---- weights --------------------------------------------------------------------- */
static const gweight *weight_ent(const rt_gpu_model *g, const float *host) {
  for (int i = 0; i < g->nw; i++)
    if (g->w[i].host == host) return &g->w[i];
  return NULL;
}

/* Whether weight node w is input k of a node of kind op. */
static bool weight_feeds(const rt_gpu_model *g, const ir_node *w, ir_op op, int k) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == op && g->nodes[i]->nin > k && g->nodes[i]->in[k] &&
        g->nodes[i]->in[k]->def == w)
      return true;
  return false;
}

/* Whether host tensor h is the table of some embed node (tied embeddings:
 * the weight nodes may differ, the tensor is one). */
static bool tensor_feeds_embed(const rt_gpu_model *g, const float *h) {
  for (int i = 0; i < g->nnodes; i++) {
    const ir_node *n = g->nodes[i];
    if (n->op == IR_EMBED && n->nin > 1 && n->in[1] && n->in[1]->def &&
        n->in[1]->def->op == IR_WEIGHT && g->wfn(g->wctx, n->in[1]->def) == h)
      return true;
  }
  return false;
}

/* The bf16 copy, and with `lo` the bf16 remainder too: hi + lo is the fp32
 * value to ~2^-17, so a tied embedding gathers (nearly) fp32 rows for the
 * residual stream at half of an fp32 copy's memory. */
static int upload_bf16(rt_gpu_model *g, gweight *w, int64_t cnt, bool lo, ssd_ctx *c) {
  if (rt_cuda_is_dry(g->cu)) { /* addresses only: the host data may not exist */
    TRY(rt_cuda_alloc(g->cu, (size_t)cnt * 2 + 4, &w->d16, c));
    return lo ? rt_cuda_alloc(g->cu, (size_t)cnt * 2 + 4, &w->lo, c) : SSD_OK;
  }
  uint16_t *h = malloc((size_t)cnt * 2 + 2);
  if (!h) return ssd_err(c, SSD_ENOMEM, "out of memory converting weights to bf16");
  for (int64_t i = 0; i < cnt; i++) h[i] = rt_bf16_of(w->host[i]);
  int rc = rt_cuda_alloc(g->cu, (size_t)cnt * 2 + 4, &w->d16, c);
  if (!rc) rc = rt_cuda_h2d(g->cu, w->d16, h, (size_t)cnt * 2, c);
  for (int64_t i = 0; lo && !rc && i < cnt; i++) h[i] = rt_bf16_of(w->host[i] - rt_bf16_to(h[i]));
  if (lo && !rc) rc = rt_cuda_alloc(g->cu, (size_t)cnt * 2 + 4, &w->lo, c);
  if (lo && !rc) rc = rt_cuda_h2d(g->cu, w->lo, h, (size_t)cnt * 2, c);
  free(h);
  return rc;
}

/* Weight nodes sharing a checkpoint tensor (tied embeddings) share one host
 * buffer and so one device copy.  In bf16 mode a tensor that feeds a linear
 * layer lives on the device in bf16 only (the embedding gathers bf16 rows;
 * any other reader gets an fp32 copy on demand, see get_in). */
static int upload_weights(rt_gpu_model *g, ssd_ctx *c) {
  for (int i = 0; i < g->nnodes; i++) {
    const ir_node *n = g->nodes[i];
    if (n->op != IR_WEIGHT) continue;
    const float *h = g->wfn(g->wctx, n);
    if (!h) continue; /* unbound ones are reported when the node runs */
    int64_t cnt;
    if (ir_value_numel(g->m, n->out[0], 1, 1, &cnt) || cnt < 0)
      return ssd_err_at(c, n->loc, SSD_EINTERNAL, "weight '%s' has no constant size",
                        n->a.ckpt ? n->a.ckpt : "?");
    gweight *w = (gweight *)weight_ent(g, h);
    if (!w) {
      gweight *nw = realloc(g->w, (size_t)(g->nw + 1) * sizeof *nw);
      if (!nw) return ssd_err(c, SSD_ENOMEM, "out of memory");
      g->w = nw;
      w = &g->w[g->nw++];
      *w = (gweight){h, 0, 0, 0};
    }
    if (g->bf16 && !w->d16 && weight_feeds(g, n, IR_LINEAR, 1)) {
      TRY(upload_bf16(g, w, cnt, tensor_feeds_embed(g, h), c));
      rt_cuda_free(g->cu, w->d); /* another node sharing it came first */
      w->d = 0;
    } else if (!w->d && !w->d16) {
      TRY(rt_cuda_alloc(g->cu, (size_t)cnt * sizeof(float) + 4, &w->d, c));
      TRY(rt_cuda_h2d(g->cu, w->d, h, (size_t)cnt * sizeof(float), c));
    }
  }
  return SSD_OK;
}

/* ---- model lifetime --------------------------------------------------------------- */
static int index_nodes(rt_gpu_model *g, ssd_ctx *c) {
  for (const ir_node *n = g->m->main->first; n; n = n->next) g->nnodes++;
  g->nvals = g->m->next_value;
  g->nodes = calloc((size_t)g->nnodes + 1, sizeof *g->nodes);
  g->v = calloc((size_t)g->nvals + 1, sizeof *g->v);
  if (!g->nodes || !g->v) return ssd_err(c, SSD_ENOMEM, "out of memory for the GPU executor");
  g->blk = calloc((size_t)g->nvals + 1, sizeof *g->blk);
  g->blk_free = calloc((size_t)g->nvals + 1, sizeof *g->blk_free);
  if (!g->blk || !g->blk_free) return ssd_err(c, SSD_ENOMEM, "out of memory for the GPU executor");
  for (int i = 0; i <= g->nvals; i++) g->blk_free[g->nblk_free++] = g->nvals - i;
  for (int i = 0; i < g->nvals; i++) g->v[i].last_use = -1, g->v[i].blk = -1;
  int i = 0;
  for (const ir_node *n = g->m->main->first; n; n = n->next, i++) {
    g->nodes[i] = n;
    if (n->op == IR_CALL)
      return ssd_err_at(c, n->loc, SSD_EUNSUPPORTED,
                        "the GPU executor needs an elaborated module (found a call)");
    if (is_mixer(n->op)) g->last_mix = i;
    if (n->op == IR_OUTPUT && !g->result && n->nin > 0) g->result = n->in[0];
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] && n->in[k]->id >= 0 && n->in[k]->id < g->nvals) g->v[n->in[k]->id].last_use = i;
    for (int k = 0; k < n->nout; k++)
      if (n->out[k]->id < 0 || n->out[k]->id >= g->nvals)
        return ssd_err(c, SSD_EINTERNAL, "value id %d out of range", n->out[k]->id);
  }
  return SSD_OK;
}

/* ---- the plan: storage types and fusions, fixed per module -------------------------- */
static int nreaders(const rt_gpu_model *g, const ir_value *v) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nin; j++) k += g->nodes[i]->in[j] == v;
  return k;
}

/* Whether node n can read input k in bf16 (converting what it must itself). */
static bool takes_bf16(const rt_gpu_model *g, const ir_node *n, int k) {
  switch (n->op) {
  case IR_LINEAR: return k == 0 && n->in[1] && n->in[1]->def && n->in[1]->def->op == IR_WEIGHT &&
                         g->bf16;
  case IR_CONV1D: case IR_RMSNORM: return k == 0;
  case IR_GATED_RMSNORM: return k <= 1;
  case IR_SSM:
    return n->a.ssm && n->a.ssm->kind != IR_SSM_S6 &&
           (k == IR_SSM_X || k == IR_SSM_DT || k == IR_SSM_B || k == IR_SSM_C || k == IR_SSM_Z);
  default: return false;
  }
}

/* Ops that pass their input's storage through as views. */
static bool is_view_op(const rt_gpu_model *g, int i) {
  const ir_node *n = g->nodes[i];
  if (n->op == IR_SPLIT || n->op == IR_RESHAPE) return true;
  return n->op == IR_SILU && n->in[0]->def && n->in[0]->def->op == IR_CONV1D &&
         nreaders(g, n->in[0]) == 1;
}

/* want16[v]: produce v in bf16, because every reader takes bf16 (through
 * views).  Decided backwards, so a view op's outputs are settled before it.
 * In fp32 mode nothing is bf16. */
static void plan_dtypes(rt_gpu_model *g) {
  bool *ok = g->want16;
  int *nr = calloc((size_t)g->nvals + 1, sizeof *nr);
  for (int i = 0; i < g->nvals; i++) ok[i] = g->bf16;
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nin; j++)
      if (g->nodes[i]->in[j] && nr) nr[g->nodes[i]->in[j]->id]++;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    const ir_node *n = g->nodes[i];
    bool view_ok = false;
    if (is_view_op(g, i)) {
      view_ok = true;
      for (int k = 0; k < n->nout; k++)
        if (!nr || (nr[n->out[k]->id] > 0 && !ok[n->out[k]->id])) view_ok = false;
    }
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] && !(view_ok || takes_bf16(g, n, k))) ok[n->in[k]->id] = false;
  }
  for (int i = 0; i < g->nvals; i++) ok[i] = ok[i] && nr && nr[i] > 0;
  free(nr);
}

/* A linear whose result is only added to a residual that dies at that add,
 * with nothing reading the residual in between, accumulates into the
 * residual's buffer (beta = 1) and the add becomes a view (fold_add; the
 * sizes and the residual's storage are checked again when it runs). */
static void plan_fusions(rt_gpu_model *g) {
  for (int i = 0; i < g->nnodes; i++) {
    const ir_node *n = g->nodes[i];
    g->fold_add[i] = -1;
    g->silu_fused[i] = n->op == IR_CONV1D && g->v[n->out[0]->id].last_use >= 0 &&
                       is_view_op(g, g->v[n->out[0]->id].last_use);
    if (n->op != IR_LINEAR || nreaders(g, n->out[0]) != 1) continue;
    int j = g->v[n->out[0]->id].last_use;
    if (j <= i || g->nodes[j]->op != IR_ADD || g->nodes[j]->nin != 2) continue;
    const ir_node *a = g->nodes[j];
    const ir_value *res = a->in[0] == n->out[0] ? a->in[1] : a->in[0];
    if (!res || res == n->out[0] || g->v[res->id].last_use != j) continue;
    bool operand = false; /* y += x W^T must not write what it reads */
    for (int q = 0; q < n->nin; q++) operand |= n->in[q] == res;
    if (operand) continue;
    if (g->last_mix >= i && g->last_mix < j) continue; /* cut_to_last runs in between */
    bool read_between = false;
    for (int k = i + 1; k < j && !read_between; k++)
      for (int q = 0; q < g->nodes[k]->nin; q++) read_between |= g->nodes[k]->in[q] == res;
    if (!read_between) g->fold_add[i] = j;
  }
}

/* A per-node array of node indices, every entry -1 (none); NULL: no memory. */
static int *node_map(const rt_gpu_model *g) {
  int *m = malloc(((size_t)g->nnodes + 1) * sizeof *m);
  for (int i = 0; m && i <= g->nnodes; i++) m[i] = -1;
  return m;
}

static int node_index(const rt_gpu_model *g, const ir_node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  return -1;
}

static const ir_value *unreshape(const rt_gpu_model *g, const ir_value *v, bool sole, bool *skip);

/* The first node after node a that reads v (-1: none). */
static int next_reader(const rt_gpu_model *g, const ir_value *v, int a) {
  for (int i = a + 1; i < g->nnodes; i++)
    for (int q = 0; q < g->nodes[i]->nin; q++)
      if (g->nodes[i]->in[q] == v) return i;
  return -1;
}

/* Gated norms folded into the SSD kernel (prefill, bf16).  Mamba-2 computes
 *   h' = h + out_proj(gated_rmsnorm(ssd(...), z) );  x = rmsnorm(h')
 * and the gated norm's row scale rsqrt(mean(g^2) + eps), g = y silu(z), needs
 * whole rows: every head's y.  But out_proj is linear in its input rows, so
 * the scale can wait: the SSD kernel writes g times the norm's weight and
 * each row's partial sums of squares (cg_ssd_spec.gnorm), out_proj runs on
 * that into a buffer of its own, and the add, fused with the rmsnorm that
 * first reads its result, applies the scale (cg_op_spec.ss_parts):
 *   h' = h + s out;  x = rmsnorm(h').
 * The norm's own pass (y and z in, its output out) is gone; the SSD reads z
 * and the add reads out_proj's output instead of cuBLASLt accumulating into
 * h.  Taken where node j is a gated norm over whole rows (one group, gate
 * after the norm) of an SSD's only result (through reshapes) that has no
 * gate of its own; its only reader is a linear without bias that folds into
 * an add (plan_fusions), whose result is first read by an rmsnorm.  The
 * walk decides per forward (gfold_want: a bf16 prefill through the chunked
 * kernel, and no cut to the last position (cut_to_last) inside the chain).
 * Planned unless $SSDC_GNORM_FOLD=0 (then no node is in a chain and every
 * gfold_on lookup misses), taken by default at batch 1 only (gfold_want):
 * on the H100 the gate costs the latency-bound SSD kernel about what the
 * norm's pass saves.  Even with z copied into shared memory and the weight
 * kept there (cg_ssd_z_tile), the kernel alone is +17% at 8x2K, and the
 * residual's traffic moves from out_proj's epilogue, where the GEMM hides
 * it, into the add: 2.7b 1x2K -3%, 1x16K -1%, 8x2K +0.5% (bench/NOTES.md,
 * sessions 10, 20 and 26).  With $SSDC_OWN_GEMM=1 out_proj applies the
 * scale itself through ssdc's GEMM (run_gw_fold) and the add stays a view;
 * that GEMM is still 1.1x cuBLASLt's time in the model (session 26). */
static bool gfold_chain(const rt_gpu_model *g, int j, gfold *f) {
  const ir_node *nn = g->nodes[j];
  if (nn->op != IR_GATED_RMSNORM || nn->nin < 3 || !nn->in[1] || !nn->in[2] ||
      nn->a.norm_before_gate || nn->a.ngroups > 1 || nreaders(g, nn->out[0]) != 1)
    return false;
  const ir_value *y = unreshape(g, nn->in[0], true, NULL);
  const ir_node *sn = y ? y->def : NULL;
  if (!sn || sn->op != IR_SSM || !sn->a.ssm || sn->a.ssm->kind == IR_SSM_S6 ||
      sn->in[IR_SSM_Z] || y != sn->out[0] || nreaders(g, y) != 1)
    return false;
  const int i = g->v[nn->out[0]->id].last_use;
  const ir_node *lin = i > j ? g->nodes[i] : NULL;
  if (!lin || lin->op != IR_LINEAR || lin->in[0] != nn->out[0] || (lin->nin > 2 && lin->in[2]) ||
      g->fold_add[i] < 0)
    return false;
  const int a = g->fold_add[i], k = next_reader(g, g->nodes[a]->out[0], a);
  const ir_node *rn = k > a ? g->nodes[k] : NULL;
  if (!rn || rn->op != IR_RMSNORM || rn->in[0] != g->nodes[a]->out[0] || rn->nin < 2 ||
      !rn->in[1] || !rn->in[1]->def || rn->in[1]->def->op != IR_WEIGHT)
    return false;
  *f = (gfold){.ssm = node_index(g, sn), .norm = j, .lin = i, .add = a, .rms = k};
  f->cut = g->last_mix >= f->ssm && g->last_mix < k;
  return true;
}

static int plan_gfold(rt_gpu_model *g, ssd_ctx *c) {
  g->gf_at = node_map(g);
  g->gf = calloc((size_t)g->nnodes + 1, sizeof *g->gf);
  if (!g->gf_at || !g->gf) return ssd_err(c, SSD_ENOMEM, "out of memory for the GPU executor");
  for (int j = 0; j < g->nnodes && g->bf16 && g->gfold_ok; j++) {
    gfold f;
    if (!gfold_chain(g, j, &f)) continue;
    const int at[] = {f.ssm, f.norm, f.lin, f.add, f.rms};
    bool free_ = true; /* a node in two chains: keep the first */
    for (int q = 0; q < 5; q++) free_ = free_ && g->gf_at[at[q]] < 0;
    if (!free_) continue;
    for (int q = 0; q < 5; q++) g->gf_at[at[q]] = g->ngf;
    g->gf[g->ngf++] = f;
  }
  return SSD_OK;
}

/* The fold of chain member node i when this walk took it, else NULL. */
static gfold *gfold_on(const rt_gpu_model *g, int i) {
  const int f = g->gf_at ? g->gf_at[i] : -1;
  return f >= 0 && g->gf[f].on ? &g->gf[f] : NULL;
}

/* Whether every reader of v is node i's input k, or a reshape whose result
 * reaches nothing else. */
static bool reaches_only(const rt_gpu_model *g, const ir_value *v, int i, int k) {
  for (int q = 0; q < g->nnodes; q++) {
    const ir_node *n = g->nodes[q];
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == v && !(q == i && j == k) &&
          (n->op != IR_RESHAPE || !reaches_only(g, n->out[0], i, k)))
        return false;
  }
  return true;
}

static int64_t split_col(const rt_gpu_model *g, const ir_value *v, int64_t *whole);

/* The conv over x folded into the SSD kernel (bf16 prefill).  Mamba-2 runs
 * conv1d + SiLU over in_proj's xBC columns, and the SSD kernel reads x, B
 * and C back: x, 95% of the channels at 2.7b, makes a round trip through
 * HBM for four multiply-adds and a SiLU.  With the fold the conv kernel
 * covers B and C only (cg_op_spec.c0; it still writes every channel's
 * state) and the SSD kernel reads x from the in_proj output and convolves
 * each tile itself (cg_ssd_spec.xconv_k).  Taken where SSD node i's x is
 * piece 0 of a split of silu(conv1d(xbc)) that reaches nothing but node i's
 * x (through reshapes), the silu runs inside the conv (silu_fused) and is
 * the conv's only reader, the split the silu's, and the conv is 2..4 wide.
 * The conv's input and weights stay alive to node i.  xconv_on decides per
 * walk, the same way at both nodes.  Planned only with $SSDC_XCONV=1 (the
 * wgmma kernel, $SSDC_SSD_WG=1, has no folded conv and yields to it): on the
 * H100 the conv costs the latency-bound SSD kernel about what the conv pass
 * saves (2.7b 8x2K +0.2%, 1x16K +2.4%, 130m +8-11%; kernel alone at 8x2K
 * 0.47 -> 0.59 ms, of which 0.02 the halo rows, 0.04 the tile's extra pass
 * through shared memory, 0.06 the arithmetic: bench/NOTES.md, session 16). */
static int plan_xconv(rt_gpu_model *g, ssd_ctx *c) {
  g->xc_of = node_map(g);
  if (!g->xc_of) return ssd_err(c, SSD_ENOMEM, "out of memory for the GPU executor");
  for (int i = 0; i < g->nnodes && g->bf16 && g->xconv_ok; i++) {
    const ir_node *n = g->nodes[i];
    if (n->op != IR_SSM || !n->a.ssm || n->a.ssm->kind == IR_SSM_S6) continue;
    const ir_value *x = unreshape(g, n->in[IR_SSM_X], false, NULL);
    const ir_node *sp = x ? x->def : NULL;
    int64_t whole = -1, wn = -1;
    if (!sp || sp->op != IR_SPLIT || x->def_index != 0 || split_col(g, x, &whole) != 0 ||
        !reaches_only(g, x, i, IR_SSM_X))
      continue;
    const ir_value *sv = sp->in[0];
    if (!sv->def || sv->def->op != IR_SILU || nreaders(g, sv) != 1) continue;
    const ir_node *conv = sv->def->in[0]->def;
    const int ci = conv ? node_index(g, conv) : -1;
    if (ci < 0 || conv->op != IR_CONV1D || !g->silu_fused[ci] || nreaders(g, conv->out[0]) != 1 ||
        conv->nin < 2 || !conv->in[1] || ir_value_numel(g->m, conv->in[1], 1, 1, &wn) ||
        wn % whole || wn / whole < 2 || wn / whole > 4)
      continue;
    g->xc_of[i] = ci, g->xc_of[ci] = i;
    for (int k = 0; k < 3 && k < conv->nin; k++)
      if (conv->in[k] && g->v[conv->in[k]->id].last_use < i) g->v[conv->in[k]->id].last_use = i;
  }
  return SSD_OK;
}

static int64_t token_width(const rt_gpu_model *g, const ir_value *v);

/* Mamba-2's in_proj computes z | xBC | dt in one GEMM, but z (a third of
 * it, 36 ms of the 2.7b model's 8x2K prefill) is read only by the gated
 * norm at the mixer's end, after the conv and the SSD kernel, which leave
 * the tensor cores mostly idle.  So a prefill may compute those columns on
 * the side stream beside them (run_zside) and the gated norm wait for them.
 * $SSDC_SIDE_GEMM=1 turns it on: on the H100 it hid about what splitting
 * the GEMM costs (1.137 vs 1.105 ms at 8x2K) and no more, so the 2.7b
 * prefills moved by under 1% either way (bench/NOTES.md, session 18).  Per linear without a bias: the gated norm
 * and the column block of the linear's output that only its gate reads,
 * through a split along the last axis and reshapes. */
static int plan_zside(rt_gpu_model *g, ssd_ctx *c) {
  g->zs = calloc((size_t)g->nnodes + 1, sizeof *g->zs);
  if (!g->zs) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int i = 0; i <= g->nnodes; i++) g->zs[i].norm = -1;
  for (int j = 0; j < g->nnodes; j++) {
    const ir_node *nn = g->nodes[j];
    if (nn->op != IR_GATED_RMSNORM || nn->nin < 2 || !nn->in[1] || g->gf_at[j] >= 0)
      continue; /* a folded norm's gate is read by its SSD node */
    const ir_value *z = unreshape(g, nn->in[1], true, NULL);
    int64_t whole = -1;
    const int64_t col = split_col(g, z, &whole), width = token_width(g, z);
    if (col < 0 || width <= 0 || nreaders(g, z) != 1) continue;
    const ir_node *lin = z->def->in[0]->def;
    const int i = lin ? node_index(g, lin) : -1;
    if (i < 0 || i >= j || lin->op != IR_LINEAR || (lin->nin > 2 && lin->in[2]) ||
        g->fold_add[i] >= 0)
      continue;
    g->zs[i] = (gzside){j, col, width};
  }
  return SSD_OK;
}

/* Mamba's conv1d + SiLU over in_proj's xBC columns, run by in_proj's GEMM
 * (ssdc's own, gw_gemm.cuh GW_CV_K) as it stores them: the conv's pass, a
 * read and a write of every xBC element (10 ms of the 2.7b model's 8x2K
 * prefill), disappears, and the SSD kernel reads x, B and C convolved from
 * the in_proj rows (bench/NOTES.md, session 30).  Per conv: 2..4 taps with
 * weights (and bias) from the checkpoint, the silu after it run inside it
 * (silu_fused) and its only reader, its input a column block (at a multiple
 * of 8) of a bias-free linear's bf16 output that reaches nothing else, its
 * x not folded into the SSD kernel (plan_xconv).  cfold_want decides per
 * walk (wide in_projs only, unless $SSDC_CONV_FOLD=1); op_conv then makes
 * the conv's output a view.  Planned on an sm_90 (or emulated) device unless
 * $SSDC_CONV_FOLD=0: the GEMM's storer warps convolve each xBC tile while
 * its consumers run the next tile's mainloop, and in_proj takes ~78 ms where
 * cuBLASLt's takes ~73 and the conv ~10 (2.7b, 8x2K and 1x16K, H100;
 * sessions 30-31's epilogue in the consumers took 81-90: bench/NOTES.md,
 * session 32). */
static int plan_cfold(rt_gpu_model *g, ssd_ctx *c) {
  g->cf = calloc((size_t)g->nnodes + 1, sizeof *g->cf);
  if (!g->cf) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int i = 0; i <= g->nnodes; i++) g->cf[i].conv = -1;
  for (int ci = 0; ci < g->nnodes && g->bf16 && g->cfold_ok; ci++) {
    const ir_node *cv = g->nodes[ci];
    if (cv->op != IR_CONV1D || !g->silu_fused[ci] || g->xc_of[ci] >= 0 || cv->nin < 2 || !cv->in[1] ||
        !cv->in[1]->def || cv->in[1]->def->op != IR_WEIGHT || !g->want16[cv->out[0]->id])
      continue;
    const bool bias = cv->nin > 2 && cv->in[2];
    if (bias && (!cv->in[2]->def || cv->in[2]->def->op != IR_WEIGHT)) continue;
    const ir_value *xv = unreshape(g, cv->in[0], false, NULL);
    int64_t whole = -1, wn = -1;
    const int64_t col = split_col(g, xv, &whole), C = token_width(g, cv->in[0]);
    const ir_node *lin = col >= 0 ? xv->def->in[0]->def : NULL;
    const int li = lin ? node_index(g, lin) : -1;
    if (li < 0 || lin->op != IR_LINEAR || (lin->nin > 2 && lin->in[2]) || g->fold_add[li] >= 0 ||
        g->cf[li].conv >= 0 || C <= 0 || col % 8 || C % 8 || token_width(g, xv) != C ||
        !reaches_only(g, xv, ci, 0) || ir_value_numel(g->m, cv->in[1], 1, 1, &wn) || wn % C ||
        wn / C < 2 || wn / C > 4)
      continue;
    g->cf[li] = (gcfold){ci, col, C, wn / C, bias};
  }
  return SSD_OK;
}

/* Per-token elements of v (a [batch, seqlen, ...] value); -1 if not constant. */
static int64_t token_width(const rt_gpu_model *g, const ir_value *v) {
  int64_t n;
  if (!v || !rt_value_per_position(v) || ir_value_numel(g->m, v, 1, 1, &n) || n <= 0) return -1;
  return n;
}

/* The value v is read from, looking through reshapes (which keep a token's
 * elements in order); with `sole`, each reshape's input must have it as its
 * only reader and it is marked in skip (when skip is given). */
static const ir_value *unreshape(const rt_gpu_model *g, const ir_value *v, bool sole, bool *skip) {
  while (v && v->def && v->def->op == IR_RESHAPE) {
    if (sole && nreaders(g, v->def->in[0]) != 1) return NULL;
    if (skip) skip[node_index(g, v->def)] = true;
    v = v->def->in[0];
  }
  return v;
}

/* Column of split output v in the rows of the split's input, when the split
 * runs along the last axis of a [batch, seqlen, W] value; else -1.  *whole: W. */
static int64_t split_col(const rt_gpu_model *g, const ir_value *v, int64_t *whole) {
  const ir_node *sp = v ? v->def : NULL;
  if (!sp || sp->op != IR_SPLIT || sp->in[0]->rank != 3 || sp->a.axis != 2 ||
      (*whole = token_width(g, sp->in[0])) < 0)
    return -1;
  int64_t col = 0;
  for (int k = 0; k < v->def_index; k++) {
    const int64_t w = token_width(g, sp->out[k]);
    if (w < 0) return -1;
    col += w;
  }
  return col;
}

/* The decode mixer spec of an SSD node (heads, dt and D options from its
 * attributes); false when the fused kernel does not take it. */
static bool mixer_spec(const ir_node *n, int64_t conv_k, bool conv_bias, cg_dec_spec *d) {
  ssd_ctx q;
  ssd_ctx_init(&q);
  q.diag = fopen("/dev/null", "w");
  if (!q.diag) return false;
  cg_ssd_spec s;
  memset(d, 0, sizeof *d);
  if (cg_ssd_spec_from_node(n, CG_SSD_STEP, &s, &q)) {
    fclose(q.diag);
    return false;
  }
  d->kind = CG_DEC_MIXER;
  d->H = s.H, d->P = s.P, d->N_state = s.N, d->hx = s.hx, d->hb = s.hb, d->hc = s.hc;
  d->hdt = s.hdt, d->conv_k = conv_k, d->has_conv_bias = conv_bias;
  d->has_dt_bias = s.has_dt_bias, d->dt_softplus = s.dt_softplus, d->A_is_log = s.A_is_log;
  d->dt_clamp = s.dt_clamp, d->dt_min = s.dt_min, d->dt_max = s.dt_max;
  d->has_D = s.has_D, d->D_per_channel = s.D_per_channel, d->has_z = s.has_z;
  const int rc = !s.has_dt || !s.has_A ? SSD_EUNSUPPORTED : cg_dec_check(d, &q);
  fclose(q.diag);
  return rc == SSD_OK;
}

/* Whether every reader of every result of the nodes marked in skip (one
 * mixer's) is itself marked, or is node `ssm` reading x, B or C. */
static bool skip_closed(const rt_gpu_model *g, const bool *skip, int ssm) {
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nin; j++) {
      const ir_value *v = g->nodes[i]->in[j];
      const int d = v && v->def ? node_index(g, v->def) : -1;
      if (d < 0 || !skip[d] || skip[i]) continue;
      if (i != ssm || (j != IR_SSM_X && j != IR_SSM_B && j != IR_SSM_C)) return false;
    }
  return true;
}

/* One SSD node i as a fused mixer: conv1d over a column block of a linear's
 * output (the in_proj row), its only reader a silu (run inside the conv),
 * whose only reader is a split along channels into x | B | C, each reaching
 * the SSD only through reshapes; dt (and z) also columns of the in_proj row;
 * states in cache slots, no initial state, the final state unread.  Then a
 * decode step runs the mixer kernel at the SSD node and skips the conv,
 * silu, split and reshapes (marked in skip). */
static bool plan_mixer(rt_gpu_model *g, int i, gmix *mx, bool *skip) {
  const ir_node *n = g->nodes[i];
  const ir_ssm_attr *sa = n->a.ssm;
  if (n->op != IR_SSM || !sa || sa->kind == IR_SSM_S6 || sa->state_slot < 0 ||
      n->in[IR_SSM_INIT] || (n->nout > 1 && g->v[n->out[1]->id].last_use >= 0))
    return false;
  const ir_value *x = unreshape(g, n->in[IR_SSM_X], true, NULL);
  const ir_value *b = unreshape(g, n->in[IR_SSM_B], true, NULL);
  const ir_value *cc = unreshape(g, n->in[IR_SSM_C], true, NULL);
  const ir_node *sp = x ? x->def : NULL;
  if (!sp || sp->op != IR_SPLIT || sp->nout != 3 || !b || !cc || b->def != sp || cc->def != sp ||
      x->def_index != 0 || b->def_index != 1 || cc->def_index != 2)
    return false;
  int64_t cdim = -1, col = split_col(g, cc, &cdim);
  const ir_value *sv = sp->in[0]; /* silu(conv(...)) */
  if (col < 0 || !sv->def || sv->def->op != IR_SILU || nreaders(g, sv) != 1) return false;
  const ir_value *cv = sv->def->in[0];
  const ir_node *conv = cv->def;
  int64_t wn; /* the conv weight, [conv_dim, 1, K] or [conv_dim, K] */
  if (!conv || conv->op != IR_CONV1D || nreaders(g, cv) != 1 || conv->a.state_slot < 0 ||
      !conv->in[1] || ir_value_numel(g->m, conv->in[1], 1, 1, &wn) || wn % cdim)
    return false;
  const cg_dec_spec *d = &mx->spec;
  if (!mixer_spec(n, wn / cdim, conv->nin > 2 && conv->in[2], &mx->spec) || d->conv_k < 2 ||
      cdim != cg_dec_conv_dim(d) || token_width(g, x) != d->hx * d->P ||
      token_width(g, b) != d->hb * d->N_state)
    return false;
  int64_t whole = -1, wdt = -1, wz = -1;
  const ir_value *xbc = unreshape(g, conv->in[0], false, NULL);
  const ir_value *dt = unreshape(g, n->in[IR_SSM_DT], false, NULL);
  const ir_value *z = d->has_z ? unreshape(g, n->in[IR_SSM_Z], false, NULL) : NULL;
  mx->off_xbc = split_col(g, xbc, &whole);
  mx->off_dt = split_col(g, dt, &wdt);
  mx->off_z = z ? split_col(g, z, &wz) : 0;
  const ir_node *lin = xbc && xbc->def ? xbc->def->in[0]->def : NULL;
  if (mx->off_xbc < 0 || mx->off_dt < 0 || mx->off_z < 0 || !lin || lin->op != IR_LINEAR ||
      dt->def != xbc->def || (z && z->def != xbc->def) || token_width(g, xbc) != cdim ||
      token_width(g, dt) != d->hdt || (z && token_width(g, z) != d->H * d->P))
    return false;
  mx->ld_in = whole;
  mx->conv = node_index(g, conv);
  skip[mx->conv] = skip[node_index(g, sv->def)] = skip[node_index(g, sp)] = true;
  for (int k = 0; k < 3; k++) unreshape(g, n->in[k == 0 ? IR_SSM_X : k == 1 ? IR_SSM_B : IR_SSM_C],
                                        true, skip);
  return skip_closed(g, skip, i);
}

/* plan_mixer for every SSD node (bf16 mode, decode kernels on); a pattern
 * that does not close leaves its nodes on the generic path. */
static int plan_mixers(rt_gpu_model *g, ssd_ctx *c) {
  g->mix = calloc((size_t)g->nnodes + 1, sizeof *g->mix);
  g->mix_skip = calloc((size_t)g->nnodes + 1, sizeof *g->mix_skip);
  bool *trial = calloc((size_t)g->nnodes + 1, sizeof *trial);
  int rc = g->mix && g->mix_skip && trial ? SSD_OK : ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int i = 0; !rc && g->bf16 && g->dec_kernels && i < g->nnodes; i++) {
    if (g->nodes[i]->op != IR_SSM) continue;
    memset(trial, 0, (size_t)g->nnodes * sizeof *trial);
    gmix *mx = &g->mix[i];
    mx->on = plan_mixer(g, i, mx, trial);
    if (!mx->on) continue;
    for (int k = 0; k < g->nnodes; k++) g->mix_skip[k] |= trial[k];
    const ir_node *conv = g->nodes[mx->conv]; /* its weights are read at the SSD node */
    for (int k = 1; k < conv->nin && k < 3; k++)
      if (conv->in[k] && g->v[conv->in[k]->id].last_use < i) g->v[conv->in[k]->id].last_use = i;
  }
  free(trial);
  return rc;
}

/* A norm the decode GEMV can apply while it loads x: RMSNorm with a weight,
 * or a one-group gated RMSNorm that gates before normalizing (mamba_ssm's
 * RMSNormGated, norm_before_gate false). */
static bool gemv_norm(const ir_node *nn) {
  if (nn->op == IR_RMSNORM) return nn->nin > 1 && nn->in[1];
  return nn->op == IR_GATED_RMSNORM && nn->nin > 2 && nn->in[1] && nn->in[2] &&
         nn->a.ngroups <= 1 && !nn->a.norm_before_gate;
}

/* For every linear whose input is a norm's result read by nothing else:
 * small bf16 decode steps skip the norm and the linear's GEMV applies it
 * (op_linear runs the norm there instead when the GEMV does not fit).  The
 * norm's operands must outlive it or die with it: those it reads last are
 * released after the linear in such steps (walk), so prefill's lifetimes
 * and peak memory stay as they were. */
static int plan_norms(rt_gpu_model *g, ssd_ctx *c) {
  g->norm_of = node_map(g);
  g->norm_defer = calloc((size_t)g->nnodes + 1, sizeof *g->norm_defer);
  if (!g->norm_of || !g->norm_defer) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int i = 0; i < g->nnodes; i++) {
    const ir_node *n = g->nodes[i];
    const ir_node *nn = n->op == IR_LINEAR && n->in[0] ? n->in[0]->def : NULL;
    const int j = nn ? node_index(g, nn) : -1;
    if (!g->bf16 || !g->dec_kernels || j < 0 || g->mix_skip[j] || !gemv_norm(nn) ||
        nn->nout != 1 || nreaders(g, n->in[0]) != 1)
      continue;
    bool live = true;
    for (int k = 0; k < nn->nin; k++) {
      const int lu = nn->in[k] ? g->v[nn->in[k]->id].last_use : j;
      live = live && (lu == j || lu > i);
    }
    if (live) g->norm_of[i] = j, g->norm_defer[j] = true;
  }
  return SSD_OK;
}

/* The producers of deferred norms' inputs (gpre): for an RMSNorm of a
 * residual that a linear adds into (fold_add), that linear's GEMV; for a
 * one-group gated RMSNorm of a fused mixer's y (through reshapes) whose z
 * is a column of the same in_proj row, that mixer.  Each writes the norm's
 * input times its weight and the partial sums of squares in its epilogue,
 * when the step runs it on the decode kernel (op_linear, op_mixer). */
static int plan_prescale(rt_gpu_model *g, ssd_ctx *c) {
  g->pre_for = node_map(g);
  g->pre = calloc((size_t)g->nnodes + 1, sizeof *g->pre);
  if (!g->pre_for || !g->pre) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int j = 0; j < g->nnodes; j++) {
    const ir_node *nn = g->nodes[j];
    const int kw = nn->op == IR_GATED_RMSNORM ? 2 : 1;
    if (!g->norm_defer[j] || !nn->in[kw]->def || nn->in[kw]->def->op != IR_WEIGHT) continue;
    const ir_value *x = nn->in[0];
    int p = -1;
    if (nn->op == IR_RMSNORM && x->def && x->def->op == IR_ADD) {
      const int a = node_index(g, x->def);
      for (int i = 0; i < a; i++) p = g->fold_add[i] == a ? i : p;
    } else if (nn->op == IR_GATED_RMSNORM) {
      const ir_value *y = unreshape(g, x, false, NULL);
      const int i = y && y->def ? node_index(g, y->def) : -1;
      gmix *mx = i >= 0 ? &g->mix[i] : NULL;
      if (!mx || !mx->on || mx->spec.has_z || y != g->nodes[i]->out[0]) continue;
      const ir_value *z = unreshape(g, nn->in[1], false, NULL);
      const ir_value *dt = unreshape(g, g->nodes[i]->in[IR_SSM_DT], false, NULL);
      int64_t whole = -1;
      const int64_t col = split_col(g, z, &whole);
      if (col >= 0 && z->def == dt->def && whole == mx->ld_in &&
          token_width(g, z) == mx->spec.H * mx->spec.P)
        mx->off_gz = col, p = i;
    }
    if (p >= 0 && g->pre_for[p] < 0) g->pre_for[p] = j;
  }
  return SSD_OK;
}

/* The device (or a dry run), cuBLASLt, the kernel cache, and the kernel
 * pack when one is named (checked against the device's architecture). */
static int open_device(rt_gpu_model *g, const rt_gpu_opts *o, ssd_ctx *c) {
  TRY(cg_cache_open(&g->cache, o->cache_dir, c));
  TRY(o->emu        ? rt_cuda_open_emu(&g->cu, c)
      : o->dry_arch ? rt_cuda_open_dry(&g->cu, o->dry_arch, c)
                    : rt_cuda_open(&g->cu, 0, c));
  TRY(rt_blas_open(g->cu, &g->blas, c));
  const char *pack = o->kernels ? o->kernels : getenv("SSDC_KERNELS");
  if (pack && *pack) {
    snprintf(g->pack, sizeof g->pack, "%s", pack);
    TRY(rt_pack_open(g->pack, rt_cuda_arch(g->cu), c));
    g->cache.pack = g->pack;
  }
  g->cache.pack_out = o->pack_out;
  return SSD_OK;
}

/* $SSDC_ARGMAX_CHUNK, when set: 0 or a positive multiple of 32. */
static int argmax_chunk(rt_gpu_model *g, ssd_ctx *c) {
  long long n;
  TRY(ssd_env_int("SSDC_ARGMAX_CHUNK", 0, 1LL << 31, ARGMAX_CHUNK, &n, c));
  if (n % 32)
    return ssd_err(c, SSD_EINVAL, "$SSDC_ARGMAX_CHUNK='%lld': want 0 (a row per block) or a "
                                  "positive multiple of 32", n);
  g->am_chunk = n;
  return SSD_OK;
}

int rt_gpu_model_new(const ir_module *m, rt_weight_fn wfn, void *wctx, const rt_gpu_opts *o,
                     rt_gpu_model **out, ssd_ctx *c) {
  *out = NULL;
  const rt_gpu_mode mode = o->mode;
  if (mode != RT_GPU_F32 && mode != RT_GPU_BF16)
    return ssd_err(c, SSD_EINVAL, "unknown GPU executor mode %d", (int)mode);
  rt_gpu_model *g = calloc(1, sizeof *g);
  if (!g) return ssd_err(c, SSD_ENOMEM, "out of memory for the GPU executor");
  g->m = m;
  g->wfn = wfn;
  g->wctx = wctx;
  g->last_mix = -1;
  g->bf16 = mode == RT_GPU_BF16;
  const char *poison = getenv("SSDC_POISON");
  g->poison = poison && *poison && strcmp(poison, "0");
  const char *graphs = getenv("SSDC_CUDA_GRAPH");
  g->graphs = !graphs || strcmp(graphs, "0");
  const char *mem = getenv("SSDC_GPU_MEM");
  g->mem_log = mem && *mem && strcmp(mem, "0");
  g->prof = rt_gpu_prof_new();
  const char *vec = getenv("SSDC_OPS_VEC");
  g->ops_vec = !vec || strcmp(vec, "0");
  const char *xconv = getenv("SSDC_XCONV");
  g->xconv_ok = xconv && *xconv && strcmp(xconv, "0");
  const char *after = getenv("SSDC_GNORM_AFTER");
  g->after_ok = !after || strcmp(after, "0");
  const char *side = getenv("SSDC_SIDE_GEMM");
  g->zside_ok = side && *side && strcmp(side, "0");
  const char *dec = getenv("SSDC_DEC_KERNELS");
  g->dec_kernels = !dec || strcmp(dec, "0");
  const char *trace = getenv("SSDC_DEC_TRACE");
  g->tr.on = trace && *trace && strcmp(trace, "0");
  int rc = argmax_chunk(g, c);
  if (!rc) rc = index_nodes(g, c);
  if (!rc) {
    g->want16 = calloc((size_t)g->nvals + 1, sizeof *g->want16);
    g->fold_add = calloc((size_t)g->nnodes + 1, sizeof *g->fold_add);
    g->silu_fused = calloc((size_t)g->nnodes + 1, sizeof *g->silu_fused);
    if (!g->want16 || !g->fold_add || !g->silu_fused)
      rc = ssd_err(c, SSD_ENOMEM, "out of memory for the GPU executor");
  }
  if (!rc) rc = open_device(g, o, c);
  if (!rc) {
    const char *gw = getenv("SSDC_OWN_GEMM"), *gfold = getenv("SSDC_GNORM_FOLD");
    g->gw_ok = cg_arch_has_wgmma(rt_cuda_arch(g->cu)) && gw && *gw && strcmp(gw, "0");
    g->gfold_ok = !gfold || strcmp(gfold, "0");
    g->gfold_all = gfold && *gfold && strcmp(gfold, "0");
    /* on unless $SSDC_CONV_FOLD=0 (cfold_want: wide in_projs only, unless =1) */
    const char *cf = getenv("SSDC_CONV_FOLD");
    g->cfold_ok = cg_arch_has_wgmma(rt_cuda_arch(g->cu)) && !(cf && !strcmp(cf, "0"));
    g->cfold_all = g->cfold_ok && cf && *cf;
  }
  if (!rc) plan_dtypes(g), plan_fusions(g), rc = plan_mixers(g, c);
  if (!rc) rc = plan_gfold(g, c);
  if (!rc) rc = plan_xconv(g, c);
  if (!rc) rc = plan_zside(g, c);
  if (!rc) rc = plan_cfold(g, c);
  if (!rc) rc = plan_norms(g, c);
  if (!rc) rc = plan_prescale(g, c);
  if (!rc) rc = gm_load(g, c);
  if (!rc) rc = rt_cuda_alloc(g->cu, 16, &g->d_flag, c);
  if (!rc) rc = rt_cuda_memset8(g->cu, g->d_flag, 0, 16, c); /* see bad_id */
  if (!rc && g->tr.on) rc = rt_cuda_alloc(g->cu, TRACE_MAX * 32, &g->tr.rec, c);
  if (!rc && g->tr.on) rc = rt_cuda_memset8(g->cu, g->tr.rec, 0, TRACE_MAX * 32, c);
  if (!rc) rc = upload_weights(g, c);
  if (!rc) rt_cuda_pool_trim(g->cu, false);
  if (rc) {
    rt_gpu_model_free(g);
    return rc;
  }
  snprintf(g->devname, sizeof g->devname, "%s (%s)", rt_cuda_name(g->cu), rt_cuda_arch(g->cu));
  *out = g;
  return SSD_OK;
}

static void free_state(rt_gpu_model *g) {
  for (int i = 0; i < g->nst; i++) {
    rt_cuda_free(g->cu, g->st[i].p);
    rt_cuda_free(g->cu, g->st[i].kv.k);
    rt_cuda_free(g->cu, g->st[i].kv.v);
  }
  free(g->st);
  g->st = NULL;
  g->nst = 0;
}

static void drop(rt_gpu_model *g, gslot *s);
static void pre_drop(rt_gpu_model *g, int j) {
  gm_free(g, g->pre[j].x);
  gm_free(g, g->pre[j].ss);
  memset(&g->pre[j], 0, sizeof g->pre[j]);
}
/* Forget every chain's fold of the last walk (one that failed midway may
 * have left sums of squares behind). */
static void gfold_reset(rt_gpu_model *g) {
  for (int i = 0; i < g->ngf; i++) {
    gm_free(g, g->gf[i].ss);
    g->gf[i].ss = 0, g->gf[i].on = g->gf[i].rms_done = g->gf[i].scaled = false;
  }
}

/* A folded conv's pending state (a walk that failed between the conv and
 * its SSD node leaves one). */
static void xc_pend_drop(rt_gpu_model *g) {
  gm_free(g, g->xc_pend.tmp);
  memset(&g->xc_pend, 0, sizeof g->xc_pend);
  g->xc_pend.conv = -1;
}

static void release_all(rt_gpu_model *g) {
  after_end(g);
  for (int i = 0; i < g->nvals; i++) drop(g, &g->v[i]);
  for (int j = 0; g->pre && j < g->nnodes; j++) pre_drop(g, j);
  gfold_reset(g);
  xc_pend_drop(g);
}

void rt_gpu_model_free(rt_gpu_model *g) {
  if (!g) return;
  if (g->cu) {
    g->step.on = false;
    if (g->v) release_all(g);
    step_clear(g);
    free_state(g);
    for (int i = 0; i < g->nw; i++)
      rt_cuda_free(g->cu, g->w[i].d), rt_cuda_free(g->cu, g->w[i].d16), rt_cuda_free(g->cu, g->w[i].lo);
    for (int i = 0; i < g->nops; i++) rt_cuda_op_release(g->cu, g->ops[i]);
    for (int i = 0; i < g->nssds; i++) rt_cuda_ssd_release(g->cu, &g->ssds[i]->k);
    for (int i = 0; i < g->ndecs; i++) rt_cuda_dec_release(g->cu, g->decs[i]);
    rt_cuda_unload(g->cu, &g->k_fill);
    rt_cuda_unload(g->cu, &g->k_unary);
    rt_cuda_unload(g->cu, &g->k_binary);
    rt_cuda_unload(g->cu, &g->k_copy);
    rt_cuda_unload(g->cu, &g->k_kv);
    rt_cuda_unload(g->cu, &g->k_attn);
    rt_cuda_free(g->cu, g->d_flag);
    rt_cuda_free(g->cu, g->tr.rec);
  }
  for (int i = 0; i < g->nops; i++) free(g->ops[i]);
  for (int i = 0; i < g->nssds; i++) free(g->ssds[i]);
  for (int i = 0; i < g->ndecs; i++) free(g->decs[i]);
  rt_blas_close(g->blas);
  rt_cuda_close(g->cu);
  rt_gpu_prof_free(g->prof);
  free(g->ops);
  free(g->ssds);
  free(g->decs);
  free(g->mix);
  free(g->mix_skip);
  free(g->norm_of);
  free(g->norm_defer);
  free(g->pre_for);
  free(g->pre);
  free(g->w);
  free(g->nodes);
  free(g->v);
  free(g->want16);
  free(g->blk);
  free(g->blk_free);
  free(g->fold_add);
  free(g->silu_fused);
  free(g->gf);
  free(g->gf_at);
  free(g->xc_of);
  free(g->zs);
  free(g->cf);
  free(g);
}

const char *rt_gpu_model_device(const rt_gpu_model *g) { return g->devname; }
int64_t rt_gpu_pos(const rt_gpu_model *g) { return g->pos; }

/* ---- the device decode state ------------------------------------------------------ */
static int state_entry(rt_gpu_model *g, int slot, gstate **out, ssd_ctx *c) {
  if (slot < 0 || slot > 1 << 20) return ssd_err(c, SSD_EINTERNAL, "bad state slot %d", slot);
  if (slot >= g->nst) {
    gstate *ns = realloc(g->st, (size_t)(slot + 1) * sizeof *ns);
    if (!ns) return ssd_err(c, SSD_ENOMEM, "out of memory for the state cache");
    memset(ns + g->nst, 0, (size_t)(slot + 1 - g->nst) * sizeof *ns);
    g->st = ns;
    g->nst = slot + 1;
  }
  *out = &g->st[slot];
  return SSD_OK;
}

static int state_dense(rt_gpu_model *g, int slot, int64_t n, rt_dptr *out, ssd_ctx *c) {
  gstate *s = NULL; /* set by state_entry on success (gcc -O3 cannot see it) */
  TRY(state_entry(g, slot, &s, c));
  if (s->is_kv || (s->p && s->n != n))
    return ssd_err(c, SSD_EINTERNAL, "state slot %d is used with two different sizes", slot);
  if (!s->p) {
    TRY(rt_cuda_alloc(g->cu, (size_t)n * sizeof(float) + 4, &s->p, c));
    s->n = n;
    TRY(rt_cuda_memset8(g->cu, s->p, 0, (size_t)n * sizeof(float), c));
  }
  *out = s->p;
  return SSD_OK;
}

/* Grow a KV cache to hold `need` positions, keeping its contents. */
static int kv_grow(rt_gpu_model *g, rt_cuda_kv *kv, int64_t Hkv, int64_t Dh, int64_t need,
                   ssd_ctx *c) {
  if (need <= kv->cap) return SSD_OK;
  int64_t cap = kv->cap * 2 > need ? kv->cap * 2 : need < 64 ? 64 : need;
  size_t bytes = (size_t)(kv->B * Hkv * cap * Dh) * sizeof(float) + 4;
  rt_dptr nk = 0, nv = 0;
  int rc = rt_cuda_alloc(g->cu, bytes, &nk, c);
  if (!rc) rc = rt_cuda_alloc(g->cu, bytes, &nv, c);
  if (!rc && kv->len) {
    rc = gm_copy(g, kv->k, kv->cap * Dh, nk, cap * Dh, kv->B * Hkv, kv->len * Dh, c);
    if (!rc) rc = gm_copy(g, kv->v, kv->cap * Dh, nv, cap * Dh, kv->B * Hkv, kv->len * Dh, c);
  }
  if (rc) {
    rt_cuda_free(g->cu, nk);
    rt_cuda_free(g->cu, nv);
    return rc;
  }
  rt_cuda_free(g->cu, kv->k);
  rt_cuda_free(g->cu, kv->v);
  kv->k = nk, kv->v = nv, kv->cap = cap;
  return SSD_OK;
}

static int state_kv(rt_gpu_model *g, int slot, int64_t B, int64_t Hkv, int64_t Dh, int64_t L,
                    rt_cuda_kv **out, ssd_ctx *c) {
  gstate *s = NULL;
  TRY(state_entry(g, slot, &s, c));
  if (s->p || (s->is_kv && (s->Hkv != Hkv || s->Dh != Dh)))
    return ssd_err(c, SSD_EINTERNAL, "state slot %d is used with two different sizes", slot);
  if (!s->is_kv) {
    s->is_kv = true;
    s->Hkv = Hkv, s->Dh = Dh;
    s->kv.B = B;
  }
  /* Every layer has seen the model's tokens: the cache holds g->pos of
   * them (a replayed step advances g->pos without a walk). */
  s->kv.len = g->pos;
  const rt_dptr was = s->kv.k;
  TRY(kv_grow(g, &s->kv, Hkv, Dh, s->kv.len + L, c));
  /* a prefill that moved the cache: the decode step's graph holds the old one */
  if (s->kv.k != was) rt_cuda_graph_destroy(g->cu, &g->step.graph);
  *out = &s->kv;
  return SSD_OK;
}

int rt_gpu_reset(rt_gpu_model *g, int64_t B, ssd_ctx *c) {
  if (B <= 0) return ssd_err(c, SSD_EINVAL, "bad batch %lld", (long long)B);
  if (B != g->st_batch) {
    step_clear(g); /* its graph holds the old state's pointers */
    free_state(g);
    rt_cuda_pool_trim(g->cu, false); /* the old batch's states and step buffers fit nothing now */
  }
  g->st_batch = B;
  g->pos = 0;
  for (int i = 0; i < g->nst; i++) {
    if (g->st[i].p) TRY(rt_cuda_memset8(g->cu, g->st[i].p, 0, (size_t)g->st[i].n * sizeof(float), c));
  }
  return SSD_OK;
}

/* ---- values ----------------------------------------------------------------------- */
static int64_t numel_of(const gslot *s) { return rt_shape_numel(s->rank, s->shape); }
static size_t esz(bool bf16) { return bf16 ? 2u : 4u; }
static bool is_dense(const gslot *s) { return s->W == s->ld || numel_of(s) <= s->W; }

static int resolve(grun *r, const ir_value *v, gslot *s) {
  return rt_value_shape(r->g->m, v, r->B, r->L, (int64_t)1 << 36, &s->rank, s->shape, r->c);
}

/* Give up a reference to block blk (freed with the last one). */
static void blk_unref(rt_gpu_model *g, int blk) {
  if (blk < 0 || !g->blk) return;
  gblock *b = &g->blk[blk];
  if (--b->refs == 0) {
    gm_free(g, b->base);
    b->base = 0;
    g->blk_free[g->nblk_free++] = blk;
  }
}

/* Give up s's reference to its block. */
static void drop(rt_gpu_model *g, gslot *s) {
  blk_unref(g, s->blk);
  s->blk = -1, s->p = 0, s->folded = false, s->silu = false;
}

/* s (without a block) takes the new allocation p as its block. */
static int adopt(grun *r, gslot *s, rt_dptr p) {
  if (!r->g->nblk_free) {
    gm_free(r->g, p);
    return ssd_err(r->c, SSD_EINTERNAL, "more live device blocks than values");
  }
  s->blk = r->g->blk_free[--r->g->nblk_free];
  r->g->blk[s->blk] = (gblock){p, 1};
  s->p = p;
  return SSD_OK;
}

/* A new dense block for value v, fp32 or bf16. */
static int alloc_out(grun *r, const ir_value *v, bool bf16, rt_dptr *out) {
  gslot *s = &r->g->v[v->id];
  TRY(resolve(r, v, s));
  if (v->dtype != IR_F32)
    return ssd_err(r->c, SSD_EUNSUPPORTED, "the GPU executor computes in f32; value %%%d is %s",
                   v->id, ir_dtype_name(v->dtype));
  const size_t n = (size_t)numel_of(s);
  rt_dptr p;
  if (s->p) drop(r->g, s); /* a value is written once per walk; never leak */
  TRY(gm_alloc(r->g, n * esz(bf16) + 4, &p, r->c));
  TRY(adopt(r, s, p));
  s->bf16 = bf16, s->folded = s->silu = false;
  s->W = s->ld = n ? (int64_t)n : 1;
  if (r->g->poison) TRY(rt_cuda_memset8(r->g->cu, s->p, 0xff, n * esz(bf16), r->c)); /* NaN in both */
  *out = s->p;
  return SSD_OK;
}

/* o (shape resolved) becomes a view of src's block: rows of W elements, ld apart, from p. */
static void make_view(rt_gpu_model *g, gslot *o, const gslot *src, rt_dptr p, int64_t W,
                      int64_t ld) {
  o->p = p, o->blk = src->blk, o->bf16 = src->bf16, o->W = W, o->ld = ld;
  o->folded = false, o->silu = src->silu;
  if (o->blk >= 0) g->blk[o->blk].refs++;
}

static gslot *in_slot(grun *r, const ir_node *n, int k) {
  return k < n->nin && n->in[k] ? &r->g->v[n->in[k]->id] : NULL;
}
static int64_t last_dim(const gslot *s) { return s->rank ? s->shape[s->rank - 1] : 1; }

/* An operand as a kernel takes it.  want: 0 fp32, 1 bf16, -1 either; row > 0:
 * the kernel reads rows of `row` elements at any stride (ld), else it needs
 * dense storage; align: a 256-byte aligned start (cuBLASLt plans assume it;
 * otherwise 16 bytes, for kernels' vector loads).
 * When the stored form does not fit, a converted dense copy is made in tmp
 * (put_in frees it): the one place where layouts and dtypes are reconciled. */
typedef struct gin {
  rt_dptr p, tmp;
  int64_t ld;
  bool bf16;
} gin;

static int get_in(grun *r, const gslot *s, int want, int64_t row, bool align, gin *in) {
  memset(in, 0, sizeof *in);
  if (!s) return SSD_OK;
  const int64_t n = numel_of(s);
  const bool type_ok = want < 0 || want == (int)s->bf16, al_ok = s->p % (align ? 256 : 16) == 0;
  if (type_ok && al_ok && (is_dense(s) || (row > 0 && s->W == row))) {
    in->p = s->p, in->bf16 = s->bf16;
    in->ld = is_dense(s) ? (row > 0 ? row : n) : s->ld;
    return SSD_OK;
  }
  const bool bf = want < 0 ? s->bf16 : want == 1;
  const int64_t W = is_dense(s) ? (n ? n : 1) : s->W;
  if (n % W)
    return ssd_err(r->c, SSD_EINTERNAL, "operand of %lld elements is not whole rows of %lld",
                   (long long)n, (long long)W);
  TRY(gm_alloc(r->g, (size_t)n * esz(bf) + 4, &in->tmp, r->c));
  in->p = in->tmp, in->bf16 = bf, in->ld = row > 0 ? row : n;
  return gm_copy_cvt(r->g, s->p, is_dense(s) ? W : s->ld, s->bf16, in->tmp, W, bf, n / W, W, r->c);
}
static void put_in(rt_gpu_model *g, gin *in) {
  gm_free(g, in->tmp);
  in->tmp = 0;
}

/* Several operands of node n at once (k[i] < 0: none), freed together. */
static int get_ins(grun *r, const ir_node *n, const int *k, int cnt, int want, gin *in) {
  int rc = SSD_OK;
  for (int i = 0; i < cnt; i++) {
    memset(&in[i], 0, sizeof in[i]);
    if (!rc && k[i] >= 0) rc = get_in(r, in_slot(r, n, k[i]), want, 0, false, &in[i]);
  }
  return rc;
}
static void put_ins(rt_gpu_model *g, gin *in, int cnt) {
  for (int i = 0; i < cnt; i++) put_in(g, &in[i]);
}

/* ---- ops -------------------------------------------------------------------------- */
static int op_weight(grun *r, const ir_node *n) {
  gslot *s = &r->g->v[n->out[0]->id];
  TRY(resolve(r, n->out[0], s));
  const float *h = r->g->wfn(r->g->wctx, n);
  const gweight *w = h ? weight_ent(r->g, h) : NULL;
  s->p = w ? (w->d16 ? w->d16 : w->d) : 0;
  s->bf16 = w && w->d16;
  s->blk = -1, s->folded = s->silu = false;
  s->W = s->ld = numel_of(s) ? numel_of(s) : 1;
  if (!s->p)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "weight '%s' is not bound",
                      n->a.ckpt ? n->a.ckpt : "?");
  return SSD_OK;
}

static int op_input(grun *r, const ir_node *n) {
  gslot *s = &r->g->v[n->out[0]->id];
  TRY(resolve(r, n->out[0], s));
  if (n->out[0]->dtype != IR_I64 && n->out[0]->dtype != IR_I32) /* uploaded as int64 either way */
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "only integer token-id inputs are supported");
  if (numel_of(s) != r->B * r->L)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "input '%s' is not [batch, seqlen]",
                      n->a.name ? n->a.name : "?");
  s->p = r->ids;
  s->blk = -1, s->bf16 = s->folded = s->silu = false;
  s->W = s->ld = numel_of(s);
  return SSD_OK;
}

static int op_const(grun *r, const ir_node *n) {
  rt_dptr y = 0;
  TRY(alloc_out(r, n->out[0], false, &y));
  return gm_fill(r->g, y, (float)n->a.scalar, numel_of(&r->g->v[n->out[0]->id]), r->c);
}

/* The embedding kernel only ever raises the bad-id flag, so it stays
 * raised until it is seen: no step spends a memset clearing it, and a run
 * of replayed steps (rt_gpu_decode_greedy_n) is checked once at its end.
 * Seeing it clears it, for the next call. */
static int bad_id(rt_gpu_model *g, int flag, ssd_ctx *c) {
  if (!flag) return SSD_OK;
  TRY(rt_cuda_memset8(g->cu, g->d_flag, 0, 4, c));
#define BAD_ID "a token id is outside the vocabulary [0, %lld)"
  return g->embed ? ssd_err_at(c, g->embed->loc, SSD_EINVAL, BAD_ID, (long long)g->vocab)
                  : ssd_err(c, SSD_EINVAL, BAD_ID, (long long)g->vocab);
#undef BAD_ID
}

static int op_embed(grun *r, const ir_node *n) {
  gslot *ids = in_slot(r, n, 0), *tab = in_slot(r, n, 1);
  if (ids->p != r->ids || tab->rank != 2 || !is_dense(tab))
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "embed of non-input ids or a non-2-D table");
  rt_dptr lo = 0; /* a tied bf16 table's remainder (upload_bf16) */
  for (int i = 0; i < r->g->nw && tab->bf16 && !lo; i++)
    if (r->g->w[i].d16 == tab->p) lo = r->g->w[i].lo;
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.kind = CG_OP_EMBED, s.D = tab->shape[1], s.V = tab->shape[0];
  s.w_bf16 = tab->bf16, s.w_split = lo != 0, s.out_bf16 = r->g->want16[n->out[0]->id];
  const rt_cuda_op *k = NULL;
  rt_dptr y;
  TRY(get_op(r->g, &s, &k, r->c));
  TRY(alloc_out(r, n->out[0], s.out_bf16, &y));
  r->g->embed = n, r->g->vocab = s.V;
  TRY(rt_cuda_embed(r->g->cu, k, ids->p, numel_of(ids), tab->p, lo, y, r->g->d_flag, r->c));
  if (r->g->step.capturing) return SSD_OK; /* decode_step reads the flag after each replay */
  int bad = 0;
  TRY(rt_cuda_d2h(r->g->cu, &bad, r->g->d_flag, 4, r->c));
  return bad_id(r->g, bad, r->c);
}

/* The residual a linear may accumulate into (plan_fusions), when its storage
 * allows it now: fp32, dense, the only user of its block, of the result's size. */
static gslot *fold_target(grun *r, const ir_node *n, int64_t numel) {
  const int j = r->g->fold_add[r->idx];
  if (j < 0) return NULL;
  const ir_node *a = r->g->nodes[j];
  gslot *res = &r->g->v[(a->in[0] == n->out[0] ? a->in[1] : a->in[0])->id];
  if (res->bf16 || !is_dense(res) || res->blk < 0 || r->g->blk[res->blk].refs != 1 ||
      numel_of(res) != numel || !res->p || res->p % 256)
    return NULL;
  return res;
}

/* The decode GEMV (rt_cuda_dec_gemv) for a bf16 weight and at most
 * GEMV_MAX_M rows, where it beats cuBLASLt (bench/NOTES.md, "Decode kernels,
 * session 2": 1.03-1.34x at M = 1 and 4, 0.90x at 16).  x is read as stored
 * (bf16, or fp32 rounded on load) when its rows suit 16-byte loads. */
#define GEMV_MAX_M 8
static bool gemv_fits(const rt_gpu_model *g, const gslot *w, int64_t M, int64_t K) {
  return g->dec_kernels && w->bf16 && M >= 1 && M <= GEMV_MAX_M && K % 32 == 0 &&
         K <= (1 << 20) && w->p % 16 == 0;
}

/* x (or a gated norm's z) for the GEMV, in storage `want` (-1: as stored). */
static int get_gemv_x(grun *r, const gslot *x, int64_t K, int want, gin *xi) {
  TRY(get_in(r, x, want, K, false, xi));
  if (xi->ld * (int64_t)esz(xi->bf16) % 16 == 0 && xi->p % 16 == 0) return SSD_OK;
  put_in(r->g, xi); /* rows the 16-byte loads cannot take: a dense copy */
  TRY(get_in(r, x, want < 0 ? x->bf16 : want, 0, false, xi));
  xi->ld = K;
  return SSD_OK;
}

/* The fp32 device copy of weight value v (0: not a bound weight). */
static rt_dptr weight_f32(const rt_gpu_model *g, const ir_value *v) {
  if (!v || !v->def || v->def->op != IR_WEIGHT) return 0;
  const float *h = g->wfn(g->wctx, v->def);
  const gweight *w = h ? weight_ent(g, h) : NULL;
  return w ? w->d : 0;
}

/* Buffers for deferred norm j's prescaled input ([M, K], nparts partials
 * per row) and the norm weight its producer multiplies by; *out NULL when
 * the weight does not fit (the norm then runs from its plain input). */
static int pre_alloc(grun *r, int j, int64_t M, int64_t K, int64_t nparts, rt_dptr *w,
                     gpre **out) {
  rt_gpu_model *g = r->g;
  const ir_node *nn = g->nodes[j];
  const ir_value *wv = nn->in[nn->op == IR_GATED_RMSNORM ? 2 : 1];
  int64_t n = -1;
  *out = NULL;
  *w = weight_f32(g, wv);
  if (!*w || ir_value_numel(g->m, wv, 1, 1, &n) || n != K) return SSD_OK;
  pre_drop(g, j);
  gpre *p = &g->pre[j];
  TRY(gm_alloc(g, (size_t)(M * K) * 2 + 16, &p->x, r->c));
  TRY(gm_alloc(g, (size_t)(M * cg_dec_parts_ld(nparts)) * 4, &p->ss, r->c));
  p->nparts = nparts, p->K = K, p->M = M;
  *out = p;
  return SSD_OK;
}

/* The GEMV over x, applying the norm nn on the way in when given
 * (plan_norms; a gated norm's x and z share one storage type), from its
 * prescaled input when the producer left one (pre); with emit >= 0, y (the
 * residual after the add) is also written as deferred norm emit's
 * prescaled input. */
typedef struct gemv_call {
  const ir_node *nn;
  const gpre *pre;
  int emit;
  const gslot *x, *w;
  const gin *bias;
  int64_t M, N;
  rt_dptr y;
  bool y16, accumulate;
  bool argmax; /* the greedy step's LM head: the GEMV picks too (op_linear) */
} gemv_call;

/* The next timing record of a traced decode step, labelled (0: not tracing,
 * not in a step, or past TRACE_MAX). */
static rt_dptr trace_rec(grun *r, const char *what) {
  gtrace *t = &r->g->tr;
  if (!t->on || !r->g->step.on || t->n >= TRACE_MAX) return 0;
  const int layer = r->g->nodes[r->idx]->layer;
  if (layer >= 0) snprintf(t->label[t->n], sizeof t->label[0], "L%d %s", layer, what);
  else snprintf(t->label[t->n], sizeof t->label[0], "%s", what);
  return t->rec + (rt_dptr)(t->n++) * 32;
}

static int run_gemv(grun *r, const gemv_call *q) {
  const int64_t K = q->w->shape[1];
  const ir_node *nn = q->nn;
  const gslot *z = nn && !q->pre && nn->op == IR_GATED_RMSNORM ? in_slot(r, nn, 1) : NULL;
  gin xi, zi, ni;
  memset(&xi, 0, sizeof xi), memset(&zi, 0, sizeof zi), memset(&ni, 0, sizeof ni);
  int rc = SSD_OK;
  if (q->pre) xi.p = q->pre->x, xi.ld = K, xi.bf16 = true;
  else rc = get_gemv_x(r, q->x, K, z ? (int)(q->x->bf16 || z->bf16) : -1, &xi);
  if (!rc && z) rc = get_gemv_x(r, z, K, xi.bf16, &zi);
  if (!rc && nn && !q->pre) rc = get_in(r, in_slot(r, nn, z ? 2 : 1), 0, 0, false, &ni);
  cg_dec_spec s;
  memset(&s, 0, sizeof s);
  s.kind = CG_DEC_GEMV, s.M = q->M, s.N = q->N, s.K = K;
  s.x_f32 = !xi.bf16, s.has_bias = q->bias->p != 0, s.accumulate = q->accumulate;
  s.y_bf16 = q->y16;
  s.norm = !nn ? CG_DEC_NORM_NONE : q->pre ? CG_DEC_NORM_PRE : z ? CG_DEC_NORM_GATED
                                                              : CG_DEC_NORM_RMS;
  s.eps = nn ? nn->a.eps : 0;
  s.nparts = q->pre ? q->pre->nparts : 0;
  rt_cuda_dec_gemv_args a = {.x = xi.p,      .ldx = xi.ld,       .z = zi.p,
                             .ldz = zi.ld,    .norm_w = ni.p,     .W = q->w->p,
                             .bias = q->bias->p, .y = q->y,       .ldy = q->N,
                             .ss_in = q->pre ? q->pre->ss : 0};
  gpre *out = NULL;
  if (!rc && q->emit >= 0)
    rc = pre_alloc(r, q->emit, q->M, q->N, cg_dec_emit_parts(&s), &a.w_out, &out);
  if (out) s.emit = true, a.x_out = out->x, a.ss_out = out->ss;
  s.argmax = q->argmax;
  s.trace = r->g->tr.on;
  a.trace = trace_rec(r, q->argmax ? "head+pick" : q->accumulate ? "gemv+add" : "gemv");
  if (!rc && s.argmax) rc = step_pick(r->g, cg_dec_argmax_scratch(&s), &a.pick, r->c);
  if (!rc && s.argmax) r->g->step.am_fused = true;
  rt_cuda_dec *k = NULL;
  if (!rc) rc = get_dec(r->g, &s, &k, r->c);
  if (!rc) rc = rt_cuda_dec_gemv(r->g->cu, k, &a, r->c);
  put_in(r->g, &xi), put_in(r->g, &zi), put_in(r->g, &ni);
  return rc;
}

/* The norm a linear applies in a small decode step (plan_norms), or NULL.
 * Where the GEMV does not take this linear, the norm runs here first, as
 * the walk would have run it, and NULL is returned. */
static int folded_norm(grun *r, bool gemv, const ir_node **nn) {
  const int j = r->norms ? r->g->norm_of[r->idx] : -1;
  *nn = j >= 0 ? r->g->nodes[j] : NULL;
  if (!*nn || gemv) return SSD_OK;
  const int i = r->idx;
  r->idx = j;
  const int rc = run_node(r, *nn);
  r->idx = i, *nn = NULL;
  return rc;
}

/* The side stream's GEMM (run_zside) done before later main-stream work,
 * and x's block given back. */
static int zside_join(rt_gpu_model *g, ssd_ctx *c) {
  if (!g->zpend.on) return SSD_OK;
  const int rc = rt_cuda_side_join(g->cu, c);
  blk_unref(g, g->zpend.blk);
  g->zpend.on = false;
  return rc;
}

/* Columns [c0, c1) of GEMM p: W's rows and y's columns, y's rows as wide as p's. */
static int gemm_cols(rt_gpu_model *g, const rt_gemm *p, int64_t c0, int64_t c1, ssd_ctx *c) {
  if (c1 <= c0) return SSD_OK;
  rt_gemm q = *p;
  q.N = c1 - c0, q.ldy = p->ldy ? p->ldy : p->N;
  q.W = p->W + (rt_dptr)(c0 * p->K) * esz(p->ab == RT_BLAS_BF16);
  q.y = p->y + (rt_dptr)c0 * esz(p->out == RT_BLAS_BF16);
  return rt_blas_gemm(g->blas, &q, c);
}

/* Whether this linear's GEMM p runs with its gate columns on the side stream:
 * a prefill (decode steps are captured on one stream) with x and W read in
 * place (a converted copy would be freed before the side reads it), every
 * piece starting on the 256 bytes cuBLASLt's plans assume. */
static bool zside_fits(const grun *r, const rt_gemm *p, const gin *xi, const gin *wi) {
  const rt_gpu_model *g = r->g;
  const gzside *z = &g->zs[r->idx];
  if (!g->zside_ok || z->norm < 0 || g->step.on || g->prof || p->bias || p->accumulate ||
      xi->tmp || wi->tmp || z->col + z->width > p->N)
    return false;
  const int64_t cuts[2] = {z->col, z->col + z->width};
  for (int k = 0; k < 2; k++)
    if ((cuts[k] * (int64_t)esz(p->out == RT_BLAS_BF16)) % 256 ||
        (cuts[k] * p->K * (int64_t)esz(p->ab == RT_BLAS_BF16)) % 256)
      return false;
  return true;
}

/* GEMM p with its gate columns (plan_zside) on the side stream, after the
 * others, so that the conv and the SSD kernel start as early as before.  x's
 * block is held until the join; the output's is held by its slot. */
static int run_zside(grun *r, const rt_gemm *p, const gslot *x) {
  rt_gpu_model *g = r->g;
  const gzside *z = &g->zs[r->idx];
  TRY(zside_join(g, r->c)); /* one in flight at a time */
  TRY(gemm_cols(g, p, 0, z->col, r->c));
  TRY(gemm_cols(g, p, z->col + z->width, p->N, r->c));
  TRY(rt_cuda_side_begin(g->cu, r->c));
  const int rc = gemm_cols(g, p, z->col, z->col + z->width, r->c);
  const int re = rt_cuda_side_end(g->cu, r->c);
  if (x->blk >= 0) g->blk[x->blk].refs++;
  g->zpend.on = true, g->zpend.norm = z->norm, g->zpend.blk = x->blk;
  g->nzs_last += !rc && !re;
  return rc ? rc : re;
}

/* Whether ssdc's own GEMM (rt_cuda_gemm) can take a linear: bf16 x and W, no
 * bias, shapes it handles, operands 16-byte aligned; gw_fits: and
 * $SSDC_OWN_GEMM=1 asks it to. */
static bool gw_shape_fits(const gin *x, const gin *w, rt_dptr bias, int64_t M, int64_t N, int64_t K) {
  return x->bf16 && w->bf16 && !bias && cg_op_gemm_fits(M, N, K) && x->p % 16 == 0 && w->p % 16 == 0;
}
static bool gw_fits(const rt_gpu_model *g, const gin *x, const gin *w, rt_dptr bias, int64_t M, int64_t N,
                    int64_t K) {
  return g->gw_ok && gw_shape_fits(x, w, bias, M, N, K);
}

/* The own GEMM's spec before its epilogue's options: bf16 operands, a bf16
 * Y or (accumulate) an fp32 Y added into. */
static void gw_spec(cg_op_spec *s, bool accumulate) {
  memset(s, 0, sizeof *s);
  s->kind = CG_OP_GEMM, s->in_bf16 = s->w_bf16 = true;
  s->out_bf16 = !accumulate, s->res_in = accumulate;
}

/* Y = X W^T through ssdc's own GEMM (x, w bf16 dense, K-major): a bf16 Y,
 * or (accumulate) an fp32 Y += s (X W^T), s the row scale of the gated norm
 * folded in chain f (NULL: s = 1). */
static int gw_gemm(grun *r, rt_dptr x, rt_dptr w, rt_dptr y, bool accumulate, const gfold *f,
                   int64_t M, int64_t N, int64_t K) {
  rt_gpu_model *g = r->g;
  cg_op_spec s;
  gw_spec(&s, accumulate);
  if (f) s.ss_parts = f->parts, s.ss_D = f->width, s.ss_eps = g->nodes[f->norm]->a.eps;
  const rt_cuda_op *k = NULL;
  TRY(get_op(g, &s, &k, r->c));
  const rt_cuda_gemm_args a = {.x = x, .w = w, .y = y, .ss = f ? f->ss : 0, .M = M, .N = N, .K = K,
                               .ldx = K, .ldy = N};
  return rt_cuda_gemm(g->cu, k, &a, r->c);
}

/* out_proj of a folded chain (plan_gfold) through ssdc's own GEMM: the
 * residual y += s (x W^T), s the gated norm's row scale from the SSD
 * kernel's partial sums, so the add after it is a view (op_binary) and its
 * rmsnorm runs as it would unfolded; what cuBLASLt cannot do (no row scale
 * for bf16 operands), and what gfold_add did in a pass of its own. */
static int run_gw_fold(grun *r, gfold *f, const gin *x, const gin *w, rt_dptr y, int64_t M, int64_t N,
                       int64_t K) {
  TRY(gw_gemm(r, x->p, w->p, y, true, f, M, N, K));
  gm_free(r->g, f->ss);
  f->ss = 0, f->scaled = true;
  r->g->ngf_last++, r->g->ngw_last++;
  return SSD_OK;
}

/* The conv this linear's GEMM p runs in its epilogue in this walk
 * (plan_cfold), or NULL: a prefill (not a decode step's fused paths) of
 * sequences of at least K - 1 tokens, x and W as the own GEMM takes them, a
 * bf16 output, the conv's weights on the device, and (unless
 * $SSDC_CONV_FOLD=1) a reduction of at least CFOLD_MIN_K.  The epilogue's
 * conv costs a tile the same at any K while the mainloop it hides behind
 * shrinks with K: on the H100 the fold is 1-2% faster for the 2.7b's
 * in_proj (K 2560), 2-4% slower for the 130m's (K 768), and from K 2048 no
 * longer slower at 1x2K (a sweep of K: bench/NOTES.md, session 32). */
#define CFOLD_MIN_K 2048
static const gcfold *cfold_want(grun *r, const rt_gemm *p, const gin *xi, const gin *wi) {
  const rt_gpu_model *g = r->g;
  const gcfold *f = g->cf && g->cf[r->idx].conv >= 0 ? &g->cf[r->idx] : NULL;
  if (!f || (!g->cfold_all && p->K < CFOLD_MIN_K) || r->mixers || r->L < 2 || r->L < f->K - 1 ||
      p->M != r->B * r->L || p->out != RT_BLAS_BF16 ||
      p->accumulate || f->col + f->C > p->N || !gw_shape_fits(xi, wi, p->bias, p->M, p->N, p->K))
    return NULL;
  const ir_node *cv = g->nodes[f->conv];
  return weight_f32(g, cv->in[1]) && (!f->bias || weight_f32(g, cv->in[2])) ? f : NULL;
}

/* Linear p with the conv f in its GEMM's epilogue (gw_gemm.cuh GW_CV_K),
 * then the fix-up of each row tile's first rows (rt_cuda_conv_edge).  Like
 * op_conv, the state (when the walk keeps it) is read and the new one
 * written to scratch, copied back after.  The conv's output is the block of
 * in_proj's rows it overwrote (cf_pend, taken by op_conv). */
static int run_gw_conv(grun *r, const rt_gemm *p, const gcfold *f) {
  rt_gpu_model *g = r->g;
  const ir_node *cv = g->nodes[f->conv];
  cg_op_spec s, e;
  gw_spec(&s, false);
  s.K = f->K, s.c0 = f->col, s.D = f->C, s.has_bias = f->bias, s.silu = true;
  memset(&e, 0, sizeof e);
  e.kind = CG_OP_CONV_EDGE, e.K = f->K, e.c0 = f->col, e.D = f->C, e.has_bias = f->bias, e.silu = true;
  const rt_cuda_op *k = NULL, *ke = NULL;
  TRY(get_op(g, &s, &k, r->c));
  TRY(get_op(g, &e, &ke, r->c));
  const int64_t ns = r->B * f->C * (f->K - 1);
  const bool cached = r->use_state && cv->a.state_slot >= 0;
  rt_dptr st = 0, tmp = 0, edge = 0;
  int rc = cached ? state_dense(g, cv->a.state_slot, ns, &st, r->c) : SSD_OK;
  if (!rc && cached) rc = gm_alloc(g, (size_t)ns * sizeof(float) + 4, &tmp, r->c);
  if (!rc) rc = gm_alloc(g, rt_cuda_gemm_edge_bytes(&s, p->M) + 4, &edge, r->c);
  const rt_cuda_gemm_args a = {.x = p->x, .w = p->W, .y = p->y, .M = p->M, .N = p->N, .K = p->K,
                               .ldx = p->K, .ldy = p->N, .cw = weight_f32(g, cv->in[1]),
                               .cb = f->bias ? weight_f32(g, cv->in[2]) : 0, .cst_in = st,
                               .cst_out = tmp, .edge = edge, .L = r->L};
  if (!rc) rc = rt_cuda_gemm(g->cu, k, &a, r->c);
  if (!rc) rc = rt_cuda_conv_edge(g->cu, ke, &a, r->c);
  if (!rc && tmp) rc = gm_copy(g, tmp, 0, st, 0, 1, ns, r->c);
  gm_free(g, edge), gm_free(g, tmp);
  if (rc) return rc;
  g->cf_pend.conv = f->conv, g->cf_pend.p = p->y + (rt_dptr)(f->col * 2), g->cf_pend.ld = p->N;
  g->ncf_last++;
  return SSD_OK;
}

/* Any other linear p through ssdc's own GEMM ($SSDC_OWN_GEMM=1, where it
 * fits): a bf16 Y, or out_proj adding into the fp32 residual.  For measuring
 * the GEMM in the model beside cuBLASLt: the projections' folds (the conv
 * into in_proj's epilogue) need it at parity (bench/NOTES.md, session 29). */
static int run_gw(grun *r, const rt_gemm *p) {
  TRY(gw_gemm(r, p->x, p->W, p->y, p->accumulate, NULL, p->M, p->N, p->K));
  r->g->ngw_lin_last++;
  return SSD_OK;
}

static int op_linear(grun *r, const ir_node *n) {
  const int j = r->norms ? r->g->norm_of[r->idx] : -1; /* x's norm, deferred to here */
  const gpre *pre = j >= 0 && r->g->pre[j].x ? &r->g->pre[j] : NULL;
  gslot *x = in_slot(r, j >= 0 ? r->g->nodes[j] : n, 0), *w = in_slot(r, n, 1);
  gslot *o = &r->g->v[n->out[0]->id];
  int64_t K = last_dim(x);
  if (w->rank != 2 || w->shape[1] != K)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "linear: weight does not match input");
  const bool w16 = w->bf16;
  const int64_t M = K ? numel_of(x) / K : 0, N = w->shape[0];
  const bool gemv = gemv_fits(r->g, w, M, K) && is_dense(w);
  const ir_node *nn;
  TRY(folded_norm(r, gemv, &nn));
  if (!nn) x = in_slot(r, n, 0);
  gin xi, wi, bi;
  memset(&xi, 0, sizeof xi), memset(&wi, 0, sizeof wi);
  int rc = gemv ? SSD_OK : get_in(r, x, w16, 0, true, &xi);
  if (!rc && !gemv) rc = get_in(r, w, w16, 0, true, &wi);
  if (!rc) rc = get_in(r, in_slot(r, n, 2), 0, 0, false, &bi);
  rt_gemm p = {.M = M, .N = N, .K = K, .ab = w16 ? RT_BLAS_BF16 : RT_BLAS_F32,
               .out = RT_BLAS_F32, .x = xi.p, .W = wi.p, .bias = bi.p};
  gfold *f = gfold_on(r->g, r->idx);
  gslot *res = rc ? NULL : fold_target(r, n, M * N);
  const bool gw = f && res && !gemv && gw_fits(r->g, &xi, &wi, bi.p, M, N, K);
  if (f && !gw) res = NULL; /* out unscaled, for gfold_add */
  if (!rc && res) { /* y += x W^T into the residual; the add becomes a view */
    rc = resolve(r, n->out[0], o);
    o->p = res->p, o->blk = -1, o->bf16 = false, o->folded = true, o->silu = false;
    o->W = o->ld = M * N;
    p.y = res->p, p.accumulate = true;
  } else if (!rc) {
    const bool o16 = (r->g->want16[n->out[0]->id] || f) && w16 && !bi.p;
    p.out = o16 ? RT_BLAS_BF16 : RT_BLAS_F32;
    rc = alloc_out(r, n->out[0], o16, &p.y);
  }
  if (pre && (!nn || pre->M != M || pre->K != K)) pre = NULL;
  const int emit = res && r->norms ? r->g->pre_for[r->idx] : -1;
  const gstep *st = &r->g->step;
  const bool am = gemv && !res && st->on && st->greedy && n->out[0] == r->g->result &&
                  p.out == RT_BLAS_F32 && M == st->B;
  const gemv_call q = {nn,  pre, emit, x, w, &bi, M, N, p.y, p.out == RT_BLAS_BF16, p.accumulate,
                       am};
  const bool gw_lin = !f && (p.accumulate || p.out == RT_BLAS_BF16) &&
                      gw_fits(r->g, &xi, &wi, bi.p, M, N, K);
  const gcfold *cf = rc || gemv || res ? NULL : cfold_want(r, &p, &xi, &wi);
  if (!rc && gw) rc = run_gw_fold(r, f, &xi, &wi, res->p, M, N, K);
  else if (!rc && gemv) rc = run_gemv(r, &q);
  else if (!rc && cf) rc = run_gw_conv(r, &p, cf);
  else if (!rc && M > 0 && N > 0)
    rc = zside_fits(r, &p, &xi, &wi) ? run_zside(r, &p, x)
         : gw_lin                    ? run_gw(r, &p)
                                     : rt_blas_gemm(r->g->blas, &p, r->c);
  if (j >= 0) pre_drop(r->g, j);
  put_in(r->g, &xi), put_in(r->g, &wi), put_in(r->g, &bi);
  return rc;
}

/* The 16-byte variant of a gated norm or prefill conv (spec.vec) where its
 * shapes and operands allow ($SSDC_OPS_VEC=0: never, for comparisons). */
static void pick_vec(const rt_gpu_model *g, cg_op_spec *s, const rt_dptr *p, int n) {
  s->vec = g->ops_vec && cg_op_vec_fits(s) && rt_cuda_aligned16(p, n);
}

/* The rows' signal of the chunked SSD launch that wrote x, when this gated
 * norm can start in that launch's tail (after_begin): x read in place as the
 * kernel wrote it, by the 16-byte kernel, a row per token. */
static const rt_cuda_rows_sig *gnorm_after(const rt_gpu_model *g, const gslot *x, const gin *xi,
                                           const cg_op_spec *s, int64_t rows) {
  const rt_cuda_rows_sig *sig = &g->after.sig;
  return g->after.on && x->p == g->after.y && xi->p == x->p && s->vec && sig->batch * sig->L == rows
             ? sig
             : NULL;
}

static int op_norm(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0), *z = in_slot(r, n, 1);
  int64_t D = last_dim(x), rows = D ? numel_of(x) / D : 0;
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.D = D, s.eps = n->a.eps;
  if (n->op == IR_LAYERNORM)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "no GPU kernel for layernorm yet");
  if (n->op == IR_RMSNORM && !in_slot(r, n, 1))
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU rmsnorm needs a weight");
  if (n->op == IR_GATED_RMSNORM && (!in_slot(r, n, 1) || !in_slot(r, n, 2)))
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU gated rmsnorm needs a gate and a weight");
  const bool gated = n->op == IR_GATED_RMSNORM;
  const gfold *f = gfold_on(r->g, r->idx);
  if (f && gated) { /* the SSD kernel applied it but for the row scale (plan_gfold) */
    gslot *o = &r->g->v[n->out[0]->id];
    TRY(resolve(r, n->out[0], o));
    if (numel_of(o) != numel_of(x) || !x->bf16)
      return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "folded gated norm: unexpected input");
    make_view(r->g, o, x, x->p, x->W, x->ld);
    return SSD_OK;
  }
  if (f && f->rms_done) return SSD_OK; /* the add before it ran it (gfold_add) */
  s.kind = gated ? CG_OP_GNORM : CG_OP_RMSNORM;
  if (gated) {
    s.G = n->a.ngroups > 0 ? n->a.ngroups : 1;
    s.norm_before_gate = n->a.norm_before_gate;
  }
  /* the gated kernel reads x and z in one storage type: bf16 if either is */
  const int want = gated ? (int)(x->bf16 || z->bf16) : -1;
  gin xi, zi, wi;
  int rc = get_in(r, x, want, gated ? D : 0, false, &xi);
  memset(&zi, 0, sizeof zi);
  if (!rc && gated) rc = get_in(r, z, want, D, false, &zi);
  if (!rc) rc = get_in(r, in_slot(r, n, gated ? 2 : 1), -1, 0, false, &wi);
  s.in_bf16 = xi.bf16, s.w_bf16 = wi.bf16, s.out_bf16 = r->g->want16[n->out[0]->id];
  if (gated) s.ldx = xi.ld == D ? 0 : xi.ld, s.ldz = zi.ld == D ? 0 : zi.ld;
  const rt_cuda_op *k = NULL;
  rt_dptr y = 0;
  if (!rc) rc = alloc_out(r, n->out[0], s.out_bf16, &y);
  const rt_dptr io[] = {xi.p, zi.p, wi.p, y};
  if (!rc && gated) pick_vec(r->g, &s, io, 4);
  if (!rc) rc = get_op(r->g, &s, &k, r->c);
  const rt_cuda_rows_sig *after = gated ? gnorm_after(r->g, x, &xi, &s, rows) : NULL;
  if (!rc && rows > 0)
    rc = gated ? rt_cuda_gnorm(r->g->cu, k, xi.p, zi.p, wi.p, y, rows, after, r->c)
               : rt_cuda_rmsnorm(r->g->cu, k, xi.p, 0, 0, wi.p, y, rows, r->c);
  r->g->nafter_last += after && !rc;
  put_in(r->g, &xi), put_in(r->g, &zi), put_in(r->g, &wi);
  return rc;
}

static bool chunked_spec(const ir_node *n, cg_ssd_spec *s);

/* Whether this walk folds the conv of SSD node i into it (plan_xconv): a
 * bf16 prefill through the chunked kernel, with xbc's rows as its 16-byte
 * copies need them.  The same answer at the conv and at node i. */
static bool xconv_on(grun *r, int i) {
  rt_gpu_model *g = r->g;
  const int ci = g->xc_of ? g->xc_of[i] : -1;
  cg_ssd_spec s;
  if (ci < 0 || ci > i || r->L < 2 || r->mixers || !g->bf16 || !chunked_spec(g->nodes[i], &s) ||
      !cg_ssd_pick_ps(&s, 1, 1))
    return false;
  const gslot *xb = &g->v[g->nodes[ci]->in[0]->id];
  return xb->p && xb->bf16 && xb->p % 16 == 0 && (is_dense(xb) ? xb->W : xb->ld) % 8 == 0 &&
         xb->rank == 3;
}

/* A conv that its linear's GEMM ran (run_gw_conv): the output is the
 * block of the linear's rows it wrote, with the silu applied. */
static int conv_folded(grun *r, const ir_node *n) {
  rt_gpu_model *g = r->g;
  gslot *x = in_slot(r, n, 0), *o = &g->v[n->out[0]->id];
  g->cf_pend.conv = -1;
  if (!x->bf16 || x->p != g->cf_pend.p || (!is_dense(x) && x->ld != g->cf_pend.ld) ||
      !g->silu_fused[r->idx])
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "conv in the GEMM's epilogue: its input moved");
  TRY(resolve(r, n->out[0], o));
  make_view(g, o, x, x->p, x->W, x->ld);
  o->silu = true;
  return SSD_OK;
}

/* A decode step with a cache updates the state in place (CONV_STEP); longer
 * pieces read the state and write the new one to a scratch buffer (the
 * prefill kernel needs them distinct), copied back after.  x may be a view
 * into wider rows (the in_proj output); a silu that only reads the result
 * runs inside the kernel (plan_fusions). */
static int op_conv(grun *r, const ir_node *n) {
  if (r->g->cf_pend.conv == r->idx) return conv_folded(r, n);
  gslot *x = in_slot(r, n, 0), *w = in_slot(r, n, 1);
  if (x->rank != 3) return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "conv1d input is not [B, L, C]");
  int64_t B = x->shape[0], L = x->shape[1], C = x->shape[2], K = w->shape[w->rank - 1];
  bool cached = r->use_state && n->a.state_slot >= 0 && K >= 2;
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.kind = cached && L == 1 ? CG_OP_CONV_STEP : CG_OP_CONV;
  s.D = C, s.K = K, s.has_bias = in_slot(r, n, 2) != NULL;
  s.silu = r->g->silu_fused[r->idx];
  const int si = r->g->xc_of ? r->g->xc_of[r->idx] : -1;
  const bool fold = si > r->idx && xconv_on(r, si); /* x's channels: the SSD kernel's */
  if (fold) s.c0 = r->g->nodes[si]->a.ssm->hx * r->g->nodes[si]->a.ssm->P;
  gin xi, wi[2];
  static const int wk[] = {1, 2};
  int rc = get_in(r, x, -1, C, false, &xi);
  if (!rc) rc = get_ins(r, n, wk, 2, 0, wi);
  else memset(wi, 0, sizeof wi);
  s.in_bf16 = xi.bf16, s.ldx = xi.ld == C ? 0 : xi.ld;
  s.out_bf16 = r->g->want16[n->out[0]->id];
  const rt_cuda_op *k = NULL;
  rt_dptr y = 0, st = 0, tmp = 0;
  if (!rc) rc = alloc_out(r, n->out[0], s.out_bf16, &y);
  const rt_dptr io[] = {xi.p, y};
  if (!rc && s.kind == CG_OP_CONV && L <= (int64_t)CG_OP_CONV_VT * 65535) pick_vec(r->g, &s, io, 2);
  if (!rc) rc = get_op(r->g, &s, &k, r->c);
  if (!rc) r->g->v[n->out[0]->id].silu = s.silu;
  if (!rc && cached) rc = state_dense(r->g, n->a.state_slot, B * C * (K - 1), &st, r->c);
  if (!rc && s.kind == CG_OP_CONV_STEP) {
    rc = rt_cuda_conv_step(r->g->cu, k, xi.p, wi[0].p, wi[1].p, st, y, B, r->c);
  } else if (!rc) {
    if (cached) rc = gm_alloc(r->g, (size_t)(B * C * (K - 1)) * sizeof(float) + 4, &tmp, r->c);
    if (!rc) rc = rt_cuda_conv(r->g->cu, k, xi.p, wi[0].p, wi[1].p, st, tmp, y, B, L, r->c);
    if (!rc && tmp && fold) { /* the SSD node reads the old state, then copies */
      r->g->xc_pend.st = st, r->g->xc_pend.tmp = tmp, r->g->xc_pend.n = B * C * (K - 1);
      r->g->xc_pend.conv = r->idx;
      tmp = 0;
    }
    if (!rc && tmp) rc = gm_copy(r->g, tmp, 0, st, 0, 1, B * C * (K - 1), r->c);
    gm_free(r->g, tmp);
  }
  put_in(r->g, &xi), put_ins(r->g, wi, 2);
  return rc;
}

static int op_unary(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0), *o = &r->g->v[n->out[0]->id];
  if (n->op == IR_CAST && n->out[0]->dtype != IR_F32)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU executor casts only to f32 (got %s)",
                      ir_dtype_name(n->out[0]->dtype));
  if (n->op == IR_SILU && x->silu) { /* applied by the conv kernel */
    TRY(resolve(r, n->out[0], o));
    make_view(r->g, o, x, x->p, x->W, x->ld);
    o->silu = false;
    return SSD_OK;
  }
  gin xi;
  rt_dptr y;
  TRY(get_in(r, x, 0, 0, false, &xi));
  int rc = alloc_out(r, n->out[0], false, &y);
  int64_t cnt = numel_of(x);
  if (!rc && numel_of(o) != cnt)
    rc = ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "elementwise op changes size");
  if (!rc) rc = gm_unary(r->g, (int)rt_unary_of(n), xi.p, y, cnt, n->a.lo, n->a.hi, r->c);
  put_in(r->g, &xi);
  return rc;
}

/* Strides of input s right-aligned against the output's rank (0 where broadcast). */
static int bcast_strides(const gslot *s, const gslot *o, long long *st) {
  if (s->rank > o->rank) return -1;
  long long acc = 1;
  for (int d = o->rank - 1; d >= 0; d--) {
    int sd = d - (o->rank - s->rank);
    int64_t dim = sd >= 0 ? s->shape[sd] : 1;
    if (dim != 1 && dim != o->shape[d]) return -1;
    st[d] = dim == 1 ? 0 : acc;
    acc *= dim;
  }
  return 0;
}

static int materialize(grun *r, const gslot *x, const ir_value *ov);

/* The add of a folded chain (plan_gfold), with the rmsnorm that first reads
 * its result: h' = h + s out (in h's storage when this add is h's last
 * reader and h owns it), x = rmsnorm(h'), s the gated norm's row scale from
 * the SSD kernel's sums of squares. */
static int gfold_add(grun *r, const ir_node *n, gfold *f) {
  rt_gpu_model *g = r->g;
  const ir_node *rn = g->nodes[f->rms], *nn = g->nodes[f->norm];
  const bool first = n->in[0] == g->nodes[f->lin]->out[0];
  gslot *out = in_slot(r, n, first ? 0 : 1), *res = in_slot(r, n, first ? 1 : 0);
  gslot *o = &g->v[n->out[0]->id];
  TRY(resolve(r, n->out[0], o));
  const int64_t D = last_dim(o), rows = D ? numel_of(o) / D : 0;
  if (numel_of(out) != numel_of(o) || numel_of(res) != numel_of(o) || res->bf16)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "folded add: operands do not match");
  if (is_dense(res) && res->blk >= 0 && g->blk[res->blk].refs == 1 && res->last_use == r->idx)
    make_view(g, o, res, res->p, res->W, res->ld);
  else
    TRY(materialize(r, res, n->out[0]));
  gslot *ws = in_slot(r, rn, 1); /* rn's weight may come after this add: bind it now */
  if (!ws->p) TRY(op_weight(r, rn->in[1]->def));
  gin hi, wi;
  int rc = get_in(r, out, -1, 0, false, &hi);
  memset(&wi, 0, sizeof wi);
  if (!rc) rc = get_in(r, ws, -1, 0, false, &wi);
  cg_op_spec s = {.kind = CG_OP_RMSNORM, .D = D, .eps = rn->a.eps, .res_in = true, .res_out = true,
                  .in_bf16 = hi.bf16, .w_bf16 = wi.bf16, .out_bf16 = g->want16[rn->out[0]->id],
                  .ss_parts = f->parts, .ss_D = f->width, .ss_eps = nn->a.eps};
  const rt_cuda_op *k = NULL;
  rt_dptr y = 0;
  if (!rc) rc = alloc_out(r, rn->out[0], s.out_bf16, &y);
  if (!rc) rc = get_op(g, &s, &k, r->c);
  if (!rc && rows > 0) rc = rt_cuda_rmsnorm(g->cu, k, hi.p, o->p, f->ss, wi.p, y, rows, r->c);
  put_in(g, &hi), put_in(g, &wi);
  gm_free(g, f->ss);
  f->ss = 0, f->rms_done = !rc;
  g->ngf_last += !rc;
  return rc;
}

static int op_binary(grun *r, const ir_node *n) {
  static const int map[] = {[IR_ADD] = 0, [IR_SUB] = 1, [IR_MUL] = 2, [IR_DIV] = 3};
  gfold *f = gfold_on(r->g, r->idx);
  if (f && n->op == IR_ADD && !f->scaled) return gfold_add(r, n, f);
  gslot *a = in_slot(r, n, 0), *b = in_slot(r, n, 1), *o = &r->g->v[n->out[0]->id];
  if (a->folded || b->folded) { /* the linear already added itself into the other */
    gslot *res = a->folded ? b : a;
    TRY(resolve(r, n->out[0], o));
    if (numel_of(o) != numel_of(res))
      return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "folded add changes size");
    make_view(r->g, o, res, res->p, res->W, res->ld);
    return SSD_OK;
  }
  gin in[2];
  static const int ks[] = {0, 1};
  int rc = get_ins(r, n, ks, 2, 0, in);
  rt_dptr y = 0;
  if (!rc) rc = alloc_out(r, n->out[0], false, &y);
  gm_bshape s;
  memset(&s, 0, sizeof s);
  if (!rc && (o->rank > GM_MAX_RANK || o->rank < 1 || bcast_strides(a, o, s.sa) ||
              bcast_strides(b, o, s.sb)))
    rc = ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "elementwise operands do not broadcast");
  if (!rc) {
    s.rank = o->rank;
    for (int d = 0; d < o->rank; d++) s.shape[d] = o->shape[d];
    long long cnt = numel_of(o);
    int op = map[n->op];
    void *args[] = {&in[0].p, &in[1].p, &y, &cnt, &op, &s};
    rc = gm_launch(r->g, &r->g->k_binary, cnt, args, r->c);
  }
  put_ins(r->g, in, 2);
  return rc;
}

/* o gets x's elements as a new dense block of x's storage type. */
static int materialize(grun *r, const gslot *x, const ir_value *ov) {
  rt_dptr y;
  TRY(alloc_out(r, ov, x->bf16, &y));
  const int64_t n = numel_of(x), W = is_dense(x) ? (n ? n : 1) : x->W;
  return gm_copy_cvt(r->g, x->p, is_dense(x) ? W : x->ld, x->bf16, y, W, x->bf16, n / W, W, r->c);
}

/* Reshape is a view: dense input, or rows that stay whole (the output's
 * trailing dimensions make up exactly a row); else a dense copy. */
static int op_reshape(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0), *o = &r->g->v[n->out[0]->id];
  TRY(resolve(r, n->out[0], o));
  if (numel_of(o) != numel_of(x))
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "reshape changes the element count");
  if (is_dense(x)) {
    make_view(r->g, o, x, x->p, numel_of(o) ? numel_of(o) : 1, numel_of(o) ? numel_of(o) : 1);
    return SSD_OK;
  }
  int64_t suffix = 1;
  for (int d = o->rank - 1; d >= 0 && suffix < x->W; d--) suffix *= o->shape[d];
  if (suffix == x->W) {
    make_view(r->g, o, x, x->p, x->W, x->ld);
    return SSD_OK;
  }
  return materialize(r, x, n->out[0]);
}

static void around(const gslot *s, int axis, int64_t *outer, int64_t *inner) {
  rt_shape_around(s->rank, s->shape, axis, outer, inner);
}

/* split and concat: each part is an [outer, size * inner] block of the
 * whole's [outer, total * inner] rows, at column offset off * inner.  Split
 * makes views (rows of size * inner, ld apart) when the whole is dense or
 * already rows of total * inner; else it copies each part out of a dense copy. */
static int op_split(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0);
  int axis = n->a.axis < 0 ? x->rank + n->a.axis : n->a.axis;
  if (axis < 0 || axis >= x->rank)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split: bad axis");
  int64_t outer, inner, total = 0;
  around(x, axis, &outer, &inner);
  const int64_t whole = x->shape[axis] * inner;
  const bool view = is_dense(x) || x->W == whole;
  gin xi;
  memset(&xi, 0, sizeof xi);
  if (!view) TRY(get_in(r, x, x->bf16, 0, false, &xi));
  int rc = SSD_OK;
  for (int k = 0; k < n->nout && !rc; k++) {
    gslot *o = &r->g->v[n->out[k]->id];
    if ((rc = resolve(r, n->out[k], o))) break;
    int64_t sz = o->shape[axis];
    if (total + sz > x->shape[axis]) {
      rc = ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split sizes do not add up");
      break;
    }
    if (o->last_use >= 0 && view) {
      const int64_t ld = is_dense(x) ? whole : x->ld, W = sz * inner;
      make_view(r->g, o, x, eptr(x->p, total * inner, x->bf16), W, outer == 1 ? W : ld);
    } else if (o->last_use >= 0) {
      rt_dptr y;
      rc = alloc_out(r, n->out[k], x->bf16, &y);
      if (!rc)
        rc = gm_copy_cvt(r->g, eptr(xi.p, total * inner, x->bf16), whole, x->bf16, y, sz * inner,
                         x->bf16, outer, sz * inner, r->c);
    }
    total += sz;
  }
  put_in(r->g, &xi);
  if (!rc && total != x->shape[axis])
    rc = ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split sizes do not add up");
  return rc;
}

static int op_concat(grun *r, const ir_node *n) {
  rt_dptr y;
  TRY(alloc_out(r, n->out[0], false, &y));
  gslot *o = &r->g->v[n->out[0]->id];
  int axis = n->a.axis < 0 ? o->rank + n->a.axis : n->a.axis;
  if (axis < 0 || axis >= o->rank)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "concat: bad axis");
  int64_t outer, inner, off = 0;
  around(o, axis, &outer, &inner);
  for (int k = 0; k < n->nin; k++) {
    gslot *x = in_slot(r, n, k);
    int64_t sz = x->shape[axis];
    if (off + sz > o->shape[axis])
      return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "concat sizes do not add up");
    gin xi;
    TRY(get_in(r, x, -1, sz * inner, false, &xi));
    int rc = gm_copy_cvt(r->g, xi.p, xi.ld, xi.bf16, fptr(y, off * inner), o->shape[axis] * inner,
                         false, outer, sz * inner, r->c);
    put_in(r->g, &xi);
    TRY(rc);
    off += sz;
  }
  return SSD_OK;
}

/* The state an SSM node runs on: the slot's when a cache is in use, else a
 * scratch buffer (*tmp, the caller frees it); INIT seeds it at position 0.
 * *zero: the entering state is all zeros (no seed, and no cache or the cache
 * at position 0, which reset cleared).  A scratch buffer is then left
 * unwritten: the chunked kernel does not read a zero state, and op_ssm
 * clears it for the recurrent kernels, which do. */
static int ssm_state(grun *r, const ir_node *n, int64_t ns, rt_dptr *st, rt_dptr *tmp, bool *zero) {
  *st = *tmp = 0;
  bool seed = n->in[IR_SSM_INIT] != NULL;
  if (r->use_state && n->a.ssm->state_slot >= 0) {
    TRY(state_dense(r->g, n->a.ssm->state_slot, ns, st, r->c));
    seed = seed && r->g->pos == 0;
    *zero = !seed && r->g->pos == 0;
  } else {
    TRY(gm_alloc(r->g, (size_t)ns * sizeof(float) + 4, tmp, r->c));
    *st = *tmp;
    *zero = !seed;
  }
  if (seed) {
    gin ii;
    TRY(get_in(r, in_slot(r, n, IR_SSM_INIT), 0, 0, false, &ii));
    int rc = gm_copy(r->g, ii.p, 0, *st, 0, 1, ns, r->c);
    put_in(r->g, &ii);
    TRY(rc);
  }
  return SSD_OK;
}

/* The chunked kernel's spec for n, or false when the kernel does not take
 * its shape (no channel tiling fits P and N).  That is not an error here
 * (the step kernel runs instead), so the check reports into a silenced ctx. */
static bool chunked_spec(const ir_node *n, cg_ssd_spec *s) {
  const ir_ssm_attr *sa = n->a.ssm;
  if (sa->N % 16 || sa->N > 256 || sa->P % 16) return false;
  ssd_ctx q;
  ssd_ctx_init(&q);
  q.diag = fopen("/dev/null", "w");
  if (!q.diag) return false;
  int rc = cg_ssd_spec_from_node(n, CG_SSD_CHUNKED, s, &q);
  fclose(q.diag);
  return rc == SSD_OK;
}

/* The SSM operands in the order of rt_cuda_ssd_args / rt_cuda_s6_args. */
enum { SA_X, SA_DT, SA_A, SA_B, SA_C, SA_D, SA_Z, SA_DTB, SA_N };
static const int ssm_in[SA_N] = {IR_SSM_X, IR_SSM_DT, IR_SSM_A, IR_SSM_B,
                                 IR_SSM_C, IR_SSM_D, IR_SSM_Z, IR_SSM_DT_BIAS};
static bool is_act(int i) { return i == SA_X || i == SA_DT || i == SA_B || i == SA_C || i == SA_Z; }

/* The operands.  Activations are read in place where the kernel can take
 * their layout: token rows ld apart (the SSD specs' ld_x ... ld_z; x, B, C
 * of the chunked kernel need ld % 8 == 0 for its 16-byte row copies) and,
 * for the chunked kernel, dt and z in either storage type (dt_f32, z_f32);
 * else get_in makes dense copies.  act16: x, B, C (and for the step kernel
 * all activations) in bf16, else fp32.  A, D, dt_bias are fp32.  Fills the
 * spec's strides and storage flags, which key the kernel.  z and xc, when
 * given, replace the node's z and x: a folded gated norm's gate, and a
 * folded conv's input (xconv_on checked that its rows fit the kernel). */
static int ssm_operands(grun *r, const ir_node *n, bool act16, cg_ssd_spec *s, gin *in,
                        const gslot *z, const gslot *xc) {
  const bool chunked = s && s->kind == CG_SSD_CHUNKED;
  int64_t width[SA_N] = {0};
  if (s) {
    width[SA_X] = s->hx * s->P, width[SA_DT] = s->hdt, width[SA_B] = s->hb * s->N;
    width[SA_C] = s->hc * s->N, width[SA_Z] = s->H * s->P;
  }
  int rc = SSD_OK;
  for (int i = 0; i < SA_N; i++) {
    memset(&in[i], 0, sizeof in[i]);
    if (rc) continue;
    const bool either = chunked && (i == SA_DT || i == SA_Z);
    const int want = !is_act(i) ? 0 : either ? -1 : act16;
    const gslot *v = i == SA_Z && z ? z : in_slot(r, n, ssm_in[i]);
    if (i == SA_X && xc) {
      in[i] = (gin){.p = xc->p, .ld = is_dense(xc) ? xc->W : xc->ld, .bf16 = true};
      continue;
    }
    rc = get_in(r, v, want, width[i], false, &in[i]);
    if (!rc && chunked && (i == SA_X || i == SA_B || i == SA_C) && in[i].ld % 8) {
      put_in(r->g, &in[i]); /* rows the 16-byte copies cannot take */
      rc = get_in(r, v, want, 0, false, &in[i]);
      in[i].ld = width[i];
    }
  }
  if (rc || !s) return rc;
  const int64_t *w = width;
  s->ld_x = in[SA_X].ld == w[SA_X] ? 0 : in[SA_X].ld;
  s->ld_dt = in[SA_DT].ld == w[SA_DT] ? 0 : in[SA_DT].ld;
  s->ld_b = in[SA_B].ld == w[SA_B] ? 0 : in[SA_B].ld;
  s->ld_c = in[SA_C].ld == w[SA_C] ? 0 : in[SA_C].ld;
  s->ld_z = in[SA_Z].ld == w[SA_Z] ? 0 : in[SA_Z].ld;
  if (chunked) s->dt_f32 = in[SA_DT].p && !in[SA_DT].bf16, s->z_f32 = in[SA_Z].p && !in[SA_Z].bf16;
  return SSD_OK;
}

/* The chain whose gated norm the SSD node at idx may take in this walk
 * (plan_gfold): a bf16 prefill, not a decode step's fused paths, of one
 * sequence unless $SSDC_GNORM_FOLD=1 (at batch 8 the SSD kernel's extra
 * reads of z cost about what the norm's pass saves; at batch 1 less:
 * bench/NOTES.md, session 26), with the norm's fp32 weight (*w) as wide as
 * the SSD's output rows.  NULL: none. */
static gfold *gfold_want(grun *r, int idx, bool y16, int64_t width, rt_dptr *w) {
  rt_gpu_model *g = r->g;
  const int f = g->gf_at[idx];
  if (f < 0 || g->gf[f].ssm != idx || !y16 || r->mixers || r->norms ||
      (g->gf[f].cut && r->last_only) || (!g->gfold_all && r->B != 1))
    return NULL;
  const ir_value *wv = g->nodes[g->gf[f].norm]->in[2];
  int64_t n = -1;
  *w = weight_f32(g, wv);
  return *w && !ir_value_numel(g->m, wv, 1, 1, &n) && n == width ? &g->gf[f] : NULL;
}

/* After a chunked SSD launch that signs its rows (k->sig), the gated norm
 * reading y may be launched into its tail (gnorm_after): from here until the
 * walk's next node that is not a view, frees are deferred (gm_free).  Not
 * under the profile, whose per-node timing would split the pair, nor with
 * $SSDC_GNORM_AFTER=0 or without PDL. */
static void after_begin(grun *r, const rt_cuda_ssd *k, rt_dptr y) {
  rt_gpu_model *g = r->g;
  after_end(g);
  if (!g->after_ok || g->prof || !k->sig.flags || !rt_cuda_has_pdl(g->cu)) return;
  g->after.on = true, g->after.ssd = r->idx, g->after.y = y, g->after.sig = k->sig;
}

/* bf16-mode prefill: the chunked kernel (bf16 x, B, C, dt and z in either
 * type, fp32 A, D, dt_bias, states; y bf16 or fp32), from the state st and
 * back into it in place (no copy), not reading st when it is zero
 * (ssm_state).  *ran stays false for shapes the kernel does not take
 * (op_ssm falls back to steps). */
static int run_ssd_chunked(grun *r, const ir_node *n, int64_t B, int64_t L, rt_dptr st, bool zero,
                           rt_dptr y, bool y16, bool *ran) {
  *ran = false;
  cg_ssd_spec s;
  if (!chunked_spec(n, &s)) return SSD_OK;
  s.has_init = !zero, s.has_final = true;
  s.y_f32 = !y16;
  s.ps = cg_ssd_pick_ps(&s, B, rt_cuda_sms(r->g->cu));
  if (!s.ps) return SSD_OK;
  rt_dptr gn_w = 0;
  gfold *f = gfold_want(r, r->idx, y16, s.H * s.P, &gn_w);
  if (f) s.has_z = s.gnorm = true;
  gin in[SA_N];
  rt_cuda_ssd *k = NULL;
  const int64_t parts = s.H * (s.P / s.ps);
  /* the conv folded in (plan_xconv): x before it, the conv's fp32 weights */
  const ir_node *cv = xconv_on(r, r->idx) ? r->g->nodes[r->g->xc_of[r->idx]] : NULL;
  gin cw[2];
  static const int ck[] = {1, 2};
  memset(cw, 0, sizeof cw);
  if (cv) {
    const gslot *xb = in_slot(r, cv, 0), *w = in_slot(r, cv, 1);
    s.xconv_k = (int)w->shape[w->rank - 1], s.xconv_bias = in_slot(r, cv, 2) != NULL;
    s.xconv_ld_state = xb->shape[2];
  }
  int rc = ssm_operands(r, n, true, &s, in, f ? in_slot(r, r->g->nodes[f->norm], 1) : NULL,
                        cv ? in_slot(r, cv, 0) : NULL);
  if (!rc && cv) rc = get_ins(r, cv, ck, 2, 0, cw);
  if (!rc) rc = get_ssd(r->g, &s, &k, r->c);
  if (!rc && f) rc = gm_alloc(r->g, (size_t)(B * L * parts) * sizeof(float) + 4, &f->ss, r->c);
  if (!rc) {
    const bool pend = cv && r->g->xc_pend.tmp && r->g->xc_pend.conv == r->g->xc_of[r->idx];
    rt_cuda_ssd_args a = {in[SA_X].p, in[SA_DT].p, in[SA_A].p, in[SA_B].p, in[SA_C].p,
                          in[SA_D].p, in[SA_Z].p, in[SA_DTB].p, s.has_init ? st : 0, st, y,
                          gn_w, f ? f->ss : 0,
                          cw[0].p, cw[1].p, pend ? r->g->xc_pend.st : 0};
    rc = rt_cuda_ssd_chunked(r->g->cu, k, &a, B, L, r->c);
    if (!rc && !f && !pend) after_begin(r, k, y);
    if (!rc && pend) /* the conv's new state, now that the old one is read */
      rc = gm_copy(r->g, r->g->xc_pend.tmp, 0, r->g->xc_pend.st, 0, 1, r->g->xc_pend.n, r->c);
    if (pend) xc_pend_drop(r->g);
    r->g->nxc_last += cv && !rc;
    r->g->nwg_last += k->spec.wg && !rc;
    r->g->nchain_last += k->segs.chain && !rc;
  }
  put_ins(r->g, cw, 2);
  if (!rc && f) f->on = true, f->parts = parts, f->width = s.H * s.P;
  put_ins(r->g, in, SA_N);
  *ran = !rc;
  return rc;
}

/* SSD in the recurrent form, one launch for all batch rows and tokens:
 * decode steps (L = 1), fp32 prefill (the chunked kernel is bf16) and shapes
 * the chunked kernel does not take.  In bf16 mode the activations and y are
 * read and written in bf16, as the prefill does; operands are read in place
 * at their token-row strides. */
static int run_ssd_step(grun *r, const ir_node *n, int64_t B, int64_t L, rt_dptr st, rt_dptr y,
                        bool y16) {
  cg_ssd_spec s;
  TRY(cg_ssd_spec_from_node(n, CG_SSD_STEP, &s, r->c));
  const bool a16 = r->g->bf16;
  s.in_f32 = !a16, s.y_f32 = !y16;
  gin in[SA_N];
  rt_cuda_ssd *k = NULL;
  int rc = ssm_operands(r, n, a16, &s, in, NULL, NULL);
  if (!rc) rc = get_ssd(r->g, &s, &k, r->c);
  if (!rc) {
    rt_cuda_ssd_args a = {in[SA_X].p, s.has_dt ? in[SA_DT].p : 0, in[SA_A].p, in[SA_B].p,
                          in[SA_C].p, in[SA_D].p, s.has_z ? in[SA_Z].p : 0, in[SA_DTB].p,
                          0, st, y, 0, 0, 0, 0, 0};
    rc = rt_cuda_ssd_step(r->g->cu, k, &a, B, L, r->c);
  }
  put_ins(r->g, in, SA_N);
  return rc;
}

static int run_s6(grun *r, const ir_node *n, int64_t B, int64_t L, rt_dptr st, rt_dptr y) {
  cg_op_spec s;
  TRY(cg_op_s6_from_node(n, &s, r->c));
  const rt_cuda_op *k = NULL;
  TRY(get_op(r->g, &s, &k, r->c));
  gin in[SA_N];
  int rc = ssm_operands(r, n, false, NULL, in, NULL, NULL);
  rt_cuda_s6_args a = {in[SA_X].p, in[SA_DT].p, in[SA_A].p, in[SA_B].p, in[SA_C].p, in[SA_D].p,
                       in[SA_Z].p, in[SA_DTB].p, st, st, y};
  if (!rc) rc = rt_cuda_s6(r->g->cu, k, &a, B, L, r->c);
  put_ins(r->g, in, SA_N);
  return rc;
}

/* A planned mixer in a bf16 decode step (plan_mixer): conv step + SiLU + SSD
 * step in one kernel, reading xBC, dt (and z) in place from the in_proj row
 * that dt is a view of, with the states in the slots op_conv and ssm_state
 * use, so a prefill hands over to it (and it to a later prefill). */
static int op_mixer(grun *r, const ir_node *n) {
  rt_gpu_model *g = r->g;
  const gmix *mx = &g->mix[r->idx];
  const ir_node *conv = g->nodes[mx->conv];
  const gslot *dt = in_slot(r, n, IR_SSM_DT);
  cg_dec_spec s;
  memcpy(&s, &mx->spec, sizeof s); /* padding too: specs are compared with memcmp */
  const int64_t B = r->B, es = (int64_t)esz(dt->bf16);
  const rt_dptr in = dt->p - (rt_dptr)(mx->off_dt * es);
  if (!dt->p || dt->blk < 0 || g->blk[dt->blk].base != in || dt->W != s.hdt ||
      (B > 1 && dt->ld != mx->ld_in))
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL,
                      "fused mixer: dt is not a view of the in_proj row");
  s.in_f32 = !dt->bf16, s.y_bf16 = g->want16[n->out[0]->id];
  rt_cuda_dec *k = NULL;
  /* fp32 operands: conv weight and bias (kept alive to here, plan_mixers), A, D, dt_bias */
  enum { MW_CONV_W, MW_CONV_B, MW_A, MW_D, MW_DTB, MW_N };
  const gslot *ops[MW_N] = {in_slot(r, conv, 1), in_slot(r, conv, 2), in_slot(r, n, IR_SSM_A),
                            in_slot(r, n, IR_SSM_D), in_slot(r, n, IR_SSM_DT_BIAS)};
  gin w[MW_N];
  int rc = SSD_OK;
  for (int i = 0; i < MW_N; i++) {
    memset(&w[i], 0, sizeof w[i]);
    if (!rc) rc = get_in(r, ops[i], 0, 0, false, &w[i]);
  }
  rt_dptr cst = 0, st = 0, y = 0;
  const int64_t cdim = cg_dec_conv_dim(&s);
  if (!rc) rc = state_dense(g, conv->a.state_slot, B * cdim * (s.conv_k - 1), &cst, r->c);
  if (!rc) rc = state_dense(g, n->a.ssm->state_slot, B * s.H * s.P * s.N_state, &st, r->c);
  if (!rc) rc = alloc_out(r, n->out[0], s.y_bf16, &y);
  rt_cuda_dec_mixer_args a = {
      in, mx->ld_in, mx->off_xbc, mx->off_dt, mx->off_z, w[MW_CONV_W].p, w[MW_CONV_B].p, cst,
      w[MW_A].p, w[MW_D].p, w[MW_DTB].p, st, y, s.H * s.P, mx->off_gz, 0, 0, 0, 0};
  const int emit = r->norms ? g->pre_for[r->idx] : -1; /* the gated norm's input too */
  gpre *out = NULL;
  if (!rc && emit >= 0)
    rc = pre_alloc(r, emit, B, s.H * s.P, cg_dec_emit_parts(&s), &a.gnorm_w, &out);
  if (out) s.gnorm = true, a.x_out = out->x, a.ss_out = out->ss;
  s.trace = g->tr.on;
  a.trace = trace_rec(r, "mixer");
  if (!rc) rc = get_dec(g, &s, &k, r->c);
  if (!rc) rc = rt_cuda_dec_mixer(g->cu, k, &a, B, r->c);
  put_ins(g, w, MW_N);
  return rc;
}

static int op_ssm(grun *r, const ir_node *n) {
  if (r->mixers && r->g->mix[r->idx].on) return op_mixer(r, n);
  const ir_ssm_attr *sa = n->a.ssm;
  gslot *x = in_slot(r, n, IR_SSM_X);
  if (!sa || x->rank != 4)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "ssm node without attributes or [B,L,h,P] x");
  int64_t B = x->shape[0], L = x->shape[1], ns = B * sa->H * sa->P * sa->N;
  const bool s6 = sa->kind == IR_SSM_S6, y16 = !s6 && r->g->want16[n->out[0]->id];
  rt_dptr y, st, tmp;
  bool zero, ran = false;
  TRY(alloc_out(r, n->out[0], y16, &y));
  int rc = ssm_state(r, n, ns, &st, &tmp, &zero);
  if (!rc && !s6 && r->g->bf16 && L > 1) rc = run_ssd_chunked(r, n, B, L, st, zero, y, y16, &ran);
  if (!rc && !ran && xconv_on(r, r->idx)) /* its conv left x's channels to the chunked kernel */
    rc = ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "folded conv without the chunked SSD kernel");
  if (!rc && !ran && zero && tmp) /* the recurrent kernels read the state */
    rc = rt_cuda_memset8(r->g->cu, tmp, 0, (size_t)ns * sizeof(float), r->c);
  if (!rc && !ran) rc = s6 ? run_s6(r, n, B, L, st, y) : run_ssd_step(r, n, B, L, st, y, y16);
  if (!rc && n->nout > 1 && r->g->v[n->out[1]->id].last_use >= 0) {
    rt_dptr fin;
    rc = alloc_out(r, n->out[1], false, &fin);
    if (!rc) rc = gm_copy(r->g, st, 0, fin, 0, 1, ns, r->c);
  }
  gm_free(r->g, tmp);
  return rc;
}

/* The plain attention of gm_ops.cuh, for head sizes the tuned kernels do not
 * take; same contract as rt_cuda_attention. */
static int gm_attention(rt_gpu_model *g, const cg_op_spec *s, rt_dptr q, rt_dptr k, rt_dptr v,
                        rt_cuda_kv *kv, rt_dptr y, int64_t L, ssd_ctx *c) {
  if (s->Dh > 256 || s->Hq % s->Hkv || s->rd < 0 || s->rd > s->Dh || s->rd % 2)
    return ssd_err(c, SSD_EUNSUPPORTED, "attention: head dim %lld (at most 256), heads %lld/%lld, "
                   "rotary dims %lld", (long long)s->Dh, (long long)s->Hq, (long long)s->Hkv,
                   (long long)s->rd);
  if (kv->len + L > kv->cap) return ssd_err(c, SSD_EINTERNAL, "attention: the cache is too small");
  long long B = kv->B, LL = L, cap = kv->cap;
  int Hq = (int)s->Hq, Hkv = (int)s->Hkv, Dh = (int)s->Dh, rd = (int)s->rd;
  double theta = s->theta;
  float scale = (float)(s->scale > 0 ? s->scale : 1.0 / sqrt((double)s->Dh));
  void *a1[] = {&k, &v, &kv->k, &kv->v, &B, &LL, &Hkv, &Dh, &rd, &theta, &kv->pos, &cap};
  TRY(gm_launch(g, &g->k_kv, B * L * Hkv * Dh, a1, c));
  void *a2[] = {&q, &kv->k, &kv->v, &y, &B, &LL, &Hq, &Hkv, &Dh, &rd, &theta, &scale, &kv->pos,
                &cap};
  TRY(gm_launch(g, &g->k_attn, B * L * Hq, a2, c));
  kv->len += L;
  return SSD_OK;
}

static int op_attention(grun *r, const ir_node *n) {
  const ir_attn_attr *at = n->a.attn;
  gslot *q = in_slot(r, n, 0);
  if (!at || q->rank != 4)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "attention without attributes or [B,L,H,Dh] q");
  if (!at->causal)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU attention kernel is causal only");
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.Hq = at->nheads, s.Hkv = at->nkv, s.Dh = at->headdim, s.rd = at->rotary_dim;
  s.theta = at->rope_theta > 0 ? at->rope_theta : 10000.0;
  s.scale = at->scale;
  /* the tuned kernels need head dim % 32 == 0 (cg_op_check); else gm_attn */
  const bool tuned = s.Dh % 32 == 0;
  const rt_cuda_op *kk = NULL, *ka = NULL;
  if (tuned) {
    s.kind = CG_OP_KV;
    TRY(get_op(r->g, &s, &kk, r->c));
    s.kind = CG_OP_ATTN;
    TRY(get_op(r->g, &s, &ka, r->c));
  }
  int64_t B = q->shape[0], L = q->shape[1];
  rt_cuda_kv scratch = {0, 0, B, 0, 0, 0}, *kv = &scratch;
  rt_dptr y;
  gin in[3];
  static const int ks[] = {0, 1, 2};
  int rc = get_ins(r, n, ks, 3, 0, in);
  if (!rc) rc = alloc_out(r, n->out[0], false, &y);
  if (!rc && r->use_state && at->state_slot >= 0)
    rc = state_kv(r->g, at->state_slot, B, s.Hkv, s.Dh, L, &kv, r->c);
  else if (!rc)
    rc = kv_grow(r->g, kv, s.Hkv, s.Dh, L, r->c);
  /* the kernels read the position (kv->len) from the forward's device copy */
  kv->pos = r->pos[kv == &scratch ? 0 : 1];
  if (!rc && tuned)
    rc = rt_cuda_attention(r->g->cu, kk, ka, in[0].p, in[1].p, in[2].p, kv, y, L, r->c);
  else if (!rc)
    rc = gm_attention(r->g, &s, in[0].p, in[1].p, in[2].p, kv, y, L, r->c);
  put_ins(r->g, in, 3);
  rt_cuda_free(r->g->cu, scratch.k);
  rt_cuda_free(r->g->cu, scratch.v);
  return rc;
}

static int op_output(grun *r, const ir_node *n) { return (void)r, (void)n, SSD_OK; }

typedef int (*op_fn)(grun *r, const ir_node *n);
static const op_fn family_ops[IR_NFAMS] = RT_FAMILY_OPS(op_unary);

static int run_node(grun *r, const ir_node *n) {
  const op_fn f = family_ops[ir_op_family(n->op)];
  if (f) return f(r, n);
  return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU executor cannot run op '%s'",
                    ir_op_name(n->op));
}

/* A linear's multiply-adds x2, for the profile's TFLOP/s (0 for other ops). */
static double node_flops(grun *r, const ir_node *n) {
  if (n->op != IR_LINEAR) return 0;
  const gslot *x = in_slot(r, n, 0), *w = in_slot(r, n, 1);
  if (!x || !w || w->rank != 2) return 0;
  return 2.0 * (double)numel_of(x) * (double)w->shape[0];
}

/* run_node, timed by the profile when there is one and the walk is not a
 * decode step (whose work may be captured into a graph). */
static int run_profiled(grun *r, const ir_node *n) {
  rt_gpu_model *g = r->g;
  if (!g->prof || g->step.on) return run_node(r, n);
  const double flops = node_flops(r, n);
  TRY(rt_gpu_prof_begin(g->prof, g->cu, r->c));
  const int rc = run_node(r, n);
  const int pc = rt_gpu_prof_end(g->prof, g->cu, n, flops, r->c);
  return rc ? rc : pc;
}

/* Drop the references of values whose last reader was node idx, and of unread results. */
static void release_after(rt_gpu_model *g, const ir_node *n, int idx) {
  for (int k = 0; k < n->nin + n->nout; k++) {
    const ir_value *v = k < n->nin ? n->in[k] : n->out[k - n->nin];
    if (!v) continue;
    gslot *s = &g->v[v->id];
    bool done = k < n->nin ? s->last_use == idx : s->last_use < 0;
    if (done && s->p) drop(g, s);
  }
}

/* Cut every live [batch, seqlen, ...] value down to its last position (a new
 * dense block each, in its storage type). */
static int cut_to_last(grun *r, int idx) {
  rt_gpu_model *g = r->g;
  TRY(zside_join(g, r->c)); /* the cut reads every live value */
  for (int i = 0; i <= idx; i++) {
    const ir_node *n = g->nodes[i];
    for (int k = 0; k < n->nout; k++) {
      gslot *s = &g->v[n->out[k]->id];
      if (!s->p || s->last_use <= idx || n->out[k]->dtype != IR_F32 || !rt_value_per_position(n->out[k]))
        continue;
      const int64_t row = numel_of(s) / (r->B * r->L);
      const bool bf = s->bf16;
      gin si;
      TRY(get_in(r, s, bf, row, false, &si)); /* rows of one position, ld apart */
      rt_dptr np;
      int rc = gm_alloc(g, (size_t)(r->B * row) * esz(bf) + 4, &np, r->c);
      if (!rc)
        rc = gm_copy_cvt(g, eptr(si.p, (r->L - 1) * si.ld, bf), r->L * si.ld, bf, np, row, bf, r->B,
                         row, r->c);
      put_in(g, &si);
      if (rc) return rc;
      drop(g, s);
      TRY(adopt(r, s, np));
      s->bf16 = bf, s->W = s->ld = r->B * row, s->shape[1] = 1;
    }
  }
  r->L = 1;
  return SSD_OK;
}

static int walk(grun *r, bool last_only, const ir_value **result) {
  rt_gpu_model *g = r->g;
  gfold_reset(g);
  xc_pend_drop(g);
  g->ngf_last = g->ngw_last = g->ngw_lin_last = 0;
  g->nxc_last = 0;
  g->ncf_last = 0, g->cf_pend.conv = -1;
  g->nwg_last = 0;
  g->nchain_last = 0;
  g->nzs_last = 0;
  g->nafter_last = 0;
  after_end(g);
  r->last_only = last_only;
  r->mixers = g->bf16 && r->use_state && r->L == 1 && r->B <= MIXER_MAX_B;
  r->norms = g->bf16 && r->use_state && r->L == 1 && r->B <= NORM_GEMV_MAX_B;
  for (int i = 0; i < g->nnodes; i++) {
    const ir_node *n = g->nodes[i];
    r->idx = i;
    if (g->zpend.on && g->zpend.norm == i) TRY(zside_join(g, r->c));
    if (r->mixers && g->mix_skip[i]) { /* inside a fused mixer (op_mixer) */
      release_after(g, n, i);
      continue;
    }
    if (r->norms && g->norm_defer[i]) continue; /* run by its linear (op_linear) */
    TRY(run_profiled(r, n));
    if (r->norms && g->norm_of[i] >= 0) release_after(g, g->nodes[g->norm_of[i]], g->norm_of[i]);
    if (n->op == IR_OUTPUT && !*result) *result = n->in[0];
    if (n->op != IR_OUTPUT) release_after(g, n, i);
    if (g->after.on && i != g->after.ssd && !is_view_op(g, i)) after_end(g);
    if (last_only && i == g->last_mix && r->L > 1) TRY(cut_to_last(r, i));
  }
  if (!*result) return ssd_err(r->c, SSD_EINTERNAL, "the module has no output");
  return SSD_OK;
}

/* $SSDC_GPU_MEM: the pool's peak over the forward that just ended (weights
 * included), then a fresh peak for the next. */
static void mem_report(rt_gpu_model *g, int64_t B, int64_t L) {
  if (!g->mem_log) return;
  rt_cuda_mem_stats m;
  rt_cuda_mem(g->cu, &m);
  fprintf(stderr, "ssdc gpu mem: forward %lldx%lld peak %.1f MiB (held now %.1f MiB, %.1f MiB pooled)\n",
          (long long)B, (long long)L, m.peak / 1048576.0, m.held / 1048576.0, m.pooled / 1048576.0);
  rt_cuda_mem_reset_peak(g->cu);
}

static int run_module(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, bool use_state,
                      bool last_only, float **logits, int64_t *V, ssd_ctx *c) {
  *logits = NULL;
  if (B <= 0 || L <= 0)
    return ssd_err(c, SSD_EINVAL, "empty input: batch %lld, length %lld", (long long)B,
                   (long long)L);
  if (B > 65535 || L > ((int64_t)1 << 30))
    return ssd_err(c, SSD_EINVAL, "input too large: batch %lld, length %lld", (long long)B,
                   (long long)L);
  grun r = {.g = g, .B = B, .L = L, .use_state = use_state, .c = c};
  size_t idbytes = (size_t)(B * L) * sizeof(int64_t);
  const int64_t pos[2] = {0, g->pos};
  int rc = rt_cuda_alloc(g->cu, idbytes + sizeof pos, &r.ids, c);
  if (!rc) rc = rt_cuda_h2d(g->cu, r.ids, ids, idbytes, c);
  if (!rc) rc = rt_cuda_h2d(g->cu, r.ids + idbytes, pos, sizeof pos, c);
  set_pos(&r, idbytes);
  const ir_value *result = NULL;
  if (!rc) rc = walk(&r, last_only, &result);
  const int rj = zside_join(g, c); /* before the logits are read, or a failed walk's frees */
  if (!rc) rc = rj;
  gin out;
  memset(&out, 0, sizeof out);
  if (!rc) {
    gslot *s = &g->v[result->id];
    size_t n = (size_t)numel_of(s);
    *V = last_dim(s);
    *logits = malloc(n * sizeof(float) + 1);
    if (!*logits) rc = ssd_err(c, SSD_ENOMEM, "out of memory for the logits");
    else if (!s->p) rc = ssd_err(c, SSD_EINTERNAL, "the output was not computed");
    else rc = get_in(&r, s, 0, 0, false, &out);
    if (!rc) rc = rt_cuda_d2h(g->cu, *logits, out.p, n * sizeof(float), c);
  }
  put_in(g, &out);
  if (!rc) rc = rt_cuda_sync(g->cu, c);
  if (rc) {
    free(*logits);
    *logits = NULL;
  }
  release_all(g);
  rt_cuda_free(g->cu, r.ids);
  mem_report(g, B, L);
  if (g->prof) rt_gpu_prof_report(g->prof, B, L, stderr);
  rt_cuda_pool_trim(g->cu, true); /* blocks this forward did not need */
  return rc;
}

int rt_gpu_forward(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, float **logits,
                   int64_t *V, ssd_ctx *c) {
  return run_module(g, ids, B, L, false, false, logits, V, c);
}

/* The step's logits: dense fp32 and, once the step is sealed, where the
 * first step left them (its graph and pinned copy hold the address). */
static int step_logits(rt_gpu_model *g, const gslot *o, ssd_ctx *c) {
  gstep *s = &g->step;
  if (o->bf16 || !is_dense(o))
    return ssd_err(c, SSD_EINTERNAL, "the decode step's logits are not dense fp32");
  if (!o->p || (s->sealed && o->p != s->out))
    return ssd_err(c, SSD_EINTERNAL, "the decode step's logits moved");
  s->out = o->p, s->out_n = numel_of(o), s->V = last_dim(o);
  return SSD_OK;
}

/* Greedy decoding's pick per row of the logits, on the device, written over
 * the step's input ids, into the ring of picks, and the position advanced:
 * a replay of the step's graph right after it decodes its picks
 * (rt_gpu_decode_greedy_n).  The split-row variant's scratch is zeroed
 * once, on the step's first (uncaptured) walk; the kernel leaves it so. */
static int step_argmax(rt_gpu_model *g, ssd_ctx *c) {
  gstep *s = &g->step;
  cg_op_spec sp;
  memset(&sp, 0, sizeof sp);
  sp.kind = CG_OP_ARGMAX, sp.D = s->V, sp.chunk = g->am_chunk < s->V ? g->am_chunk : 0;
  const rt_cuda_op *k = NULL;
  TRY(get_op(g, &sp, &k, c));
  const int64_t rows = s->out_n / s->V;
  rt_cuda_pick p;
  TRY(step_pick(g, cg_op_argmax_scratch(&k->spec, rows), &p, c));
  return rt_cuda_argmax(g->cu, k, s->out, &p, rows, c);
}

/* The walk of one decode step over the arena's buffers, captured into the
 * step's graph when `capture`. */
static int step_walk(rt_gpu_model *g, int64_t B, bool last_only, bool capture, ssd_ctx *c) {
  gstep *s = &g->step;
  grun r = {.g = g, .B = B, .L = 1, .ids = s->ids, .use_state = true, .c = c};
  set_pos(&r, (size_t)B * sizeof(int64_t));
  const ir_value *result = NULL;
  s->on = true, s->next = 0, s->am_fused = false;
  g->tr.n = 0;
  const uint64_t k0 = rt_cuda_launches(g->cu);
  int rc = capture ? rt_cuda_capture_begin(g->cu, c) : SSD_OK;
  s->capturing = capture && !rc;
  if (!rc) rc = walk(&r, last_only, &result);
  if (!rc) rc = step_logits(g, &g->v[result->id], c);
  if (!rc && s->greedy && !s->am_fused) rc = step_argmax(g, c);
  if (s->capturing) {
    if (rc) rt_cuda_capture_abort(g->cu);
    else rc = rt_cuda_capture_end(g->cu, &s->graph, c);
    s->capturing = false;
  }
  s->kernels = (int64_t)(rt_cuda_launches(g->cu) - k0);
  if (!rc && s->sealed && s->next != s->n)
    rc = ssd_err(c, SSD_EINTERNAL, "a decode step used %d of the first step's %d buffers", s->next,
                 s->n);
  release_all(g); /* arena buffers: only forgotten by the slots */
  s->on = false;
  if (!rc) s->sealed = true;
  return rc;
}

/* The step's pinned host buffer, once the first walk has fixed the logits'
 * size: logits (out_n floats) or, greedy, the ring of picks (GREEDY_RUN x B
 * int64); the flag (16 bytes); the ids (B int64) and the positions (2 int64). */
static size_t hist_bytes(const gstep *s) { return (size_t)(GREEDY_RUN * s->B) * sizeof(int64_t); }
static size_t host_flag_at(const gstep *s) {
  const size_t nl = (size_t)s->out_n * sizeof(float), ni = s->greedy ? hist_bytes(s) : 0;
  return ((nl > ni ? nl : ni) + 15) / 16 * 16;
}
static size_t host_ids_at(const gstep *s) { return host_flag_at(s) + 16; }
/* The bad-id flag as the last copy left it in the pinned buffer. */
static int host_flag(const gstep *s) {
  return *(const int *)((const char *)s->host + host_flag_at(s));
}
static int step_host(rt_gpu_model *g, ssd_ctx *c) {
  gstep *s = &g->step;
  if (s->host || !s->sealed) return SSD_OK;
  return rt_cuda_host_alloc(g->cu, host_ids_at(s) + (size_t)(s->B + 2) * sizeof(int64_t), &s->host,
                            c);
}

/* Decode steps every KV cache has room for (INT64_MAX without one): a
 * graph holds their addresses and capacities, and growing one (kv_grow)
 * moves it. */
static int64_t kv_steps(const rt_gpu_model *g) {
  int64_t n = INT64_MAX;
  for (int i = 0; i < g->nst; i++)
    if (g->st[i].is_kv && g->st[i].kv.cap - g->pos < n) n = g->st[i].kv.cap - g->pos;
  return n;
}
static bool kv_room(const rt_gpu_model *g) { return kv_steps(g) >= 1; }

/* The step's work: a walk (recorded or not) or the graph's replay, which
 * also queues the copy of the bad-id flag (a walk checks it in op_embed). */
static int step_run(rt_gpu_model *g, int64_t B, bool last_only, bool *replayed, ssd_ctx *c) {
  gstep *s = &g->step;
  *replayed = g->graphs && g->pos > 0 && s->graph.exec;
  if (!*replayed) return step_walk(g, B, last_only, false, c);
  TRY(rt_cuda_graph_launch(g->cu, &s->graph, c));
  s->replays++;
  return rt_cuda_d2h_async(g->cu, (char *)s->host + host_flag_at(s), g->d_flag, 4, c);
}

/* The step's fixed buffers for this shape (a new shape drops the old ones). */
static int step_setup(rt_gpu_model *g, int64_t B, bool last_only, bool greedy, ssd_ctx *c) {
  gstep *s = &g->step;
  if (s->ids && (s->B != B || s->last_only != last_only || s->greedy != greedy)) step_clear(g);
  if (s->ids) return SSD_OK;
  s->B = B, s->last_only = last_only, s->greedy = greedy;
  TRY(rt_cuda_alloc(g->cu, (size_t)(B + 2) * sizeof(int64_t), &s->ids, c));
  if (greedy) TRY(rt_cuda_alloc(g->cu, hist_bytes(s), &s->hist, c));
  return SSD_OK;
}

/* ids, then the positions (set_pos): one upload, outside any capture. */
static int step_upload(rt_gpu_model *g, const int64_t *ids, ssd_ctx *c) {
  gstep *s = &g->step;
  const size_t nid = (size_t)s->B * sizeof(int64_t);
  const int64_t pos[2] = {0, g->pos};
  TRY(step_host(g, c));
  if (!s->host) {
    TRY(rt_cuda_h2d(g->cu, s->ids, ids, nid, c));
    return rt_cuda_h2d(g->cu, s->ids + nid, pos, sizeof pos, c);
  }
  char *h = (char *)s->host + host_ids_at(s);
  memcpy(h, ids, nid);
  memcpy(h + nid, pos, sizeof pos);
  return rt_cuda_h2d(g->cu, s->ids, h, nid + sizeof pos, c);
}

/* One decode step (L == 1 from the state cache) without allocations: the
 * first at this shape records the arena, the next at a position > 0 is
 * captured, and that and later ones replay the graph.  From the second
 * step on, ids go up and logits (with the flag) come down through a pinned
 * buffer: one synchronization per step.  With `next`, the step ends in the
 * argmax kernel and only the B next ids come down (greedy decoding; logits
 * is then unused and may be NULL). */
static int decode_step(rt_gpu_model *g, const int64_t *ids, int64_t B, bool last_only,
                       float **logits, int64_t *next, int64_t *V, ssd_ctx *c) {
  gstep *s = &g->step;
  const bool greedy = next != NULL;
  if (B > 65535) return ssd_err(c, SSD_EINVAL, "input too large: batch %lld", (long long)B);
  TRY(step_setup(g, B, last_only, greedy, c));
  int rc = step_upload(g, ids, c);
  /* A step that grows a KV cache runs uncaptured, and the next one is
   * captured again. */
  if (s->graph.exec && !kv_room(g)) rt_cuda_graph_destroy(g->cu, &s->graph);
  /* A capture runs nothing, so after a failed one (a driver that will not
   * capture some call) the step can still run uncaptured; graphs stay off
   * for this model then (rt_gpu_graph_replays shows it). */
  if (!rc && g->graphs && g->pos > 0 && s->sealed && !s->graph.exec && s->host && kv_room(g) &&
      step_walk(g, B, last_only, true, c))
    g->graphs = false;
  rt_cuda_timer tm;
  const bool timed = !rc && s->timing && !rt_cuda_timer_start(g->cu, &tm, c);
  bool replayed = false;
  if (!rc) rc = step_run(g, B, last_only, &replayed, c);
  if (timed) {
    float ms = 0;
    const int trc = rt_cuda_timer_stop(g->cu, &tm, &ms, c);
    rc = rc ? rc : trc;
    s->gpu_ms = ms;
  }
  /* what comes down: the logits, or the picks (left over the input ids) */
  const size_t nl = greedy ? (size_t)B * sizeof(int64_t) : (size_t)s->out_n * sizeof(float);
  const rt_dptr src = greedy ? s->ids : s->out;
  void *dst = greedy ? (void *)next : NULL;
  if (!rc && !greedy) {
    dst = *logits = malloc(nl + 1);
    if (!*logits) rc = ssd_err(c, SSD_ENOMEM, "out of memory for the logits");
  }
  if (!rc && s->host) rc = rt_cuda_d2h_async(g->cu, s->host, src, nl, c);
  if (!rc) rc = rt_cuda_sync(g->cu, c);
  if (!rc && s->host) memcpy(dst, s->host, nl);
  else if (!rc) rc = rt_cuda_d2h(g->cu, dst, src, nl, c);
  if (!rc && replayed) rc = bad_id(g, host_flag(s), c);
  if (rc) {
    if (!greedy) free(*logits), *logits = NULL;
    step_clear(g);
    return rc;
  }
  *V = s->V;
  return SSD_OK;
}

/* How many of the next `want` greedy steps can replay the step's graph back
 * to back, each decoding the picks the previous one left in the step's ids
 * (0: the next step must go through decode_step). */
static int64_t replay_run(const rt_gpu_model *g, int64_t B, int64_t want) {
  const gstep *s = &g->step;
  if (!g->graphs || !s->graph.exec || !s->host || !s->greedy || s->B != B || g->pos == 0)
    return 0;
  const int64_t n = want < GREEDY_RUN ? want : GREEDY_RUN, room = kv_steps(g);
  return room < n ? (room > 0 ? room : 0) : n;
}

/* n (<= GREEDY_RUN) greedy steps as back-to-back replays: ids go up once,
 * and the ring of picks and the bad-id flag come down once, after the last;
 * out[j * B + b] is step j's pick for row b. */
static int greedy_run(rt_gpu_model *g, const int64_t *ids, int64_t n, int64_t *out, ssd_ctx *c) {
  gstep *s = &g->step;
  int rc = step_upload(g, ids, c);
  for (int64_t j = 0; j < n && !rc; j++)
    if (!(rc = rt_cuda_graph_launch(g->cu, &s->graph, c))) s->replays++;
  if (!rc) rc = rt_cuda_d2h_async(g->cu, s->host, s->hist, hist_bytes(s), c);
  if (!rc) rc = rt_cuda_d2h_async(g->cu, (char *)s->host + host_flag_at(s), g->d_flag, 4, c);
  if (!rc) rc = rt_cuda_sync(g->cu, c);
  if (!rc) rc = bad_id(g, host_flag(s), c);
  if (rc) {
    step_clear(g);
    return rc;
  }
  const int64_t *ring = s->host;
  for (int64_t j = 0; j < n; j++)
    memcpy(out + j * s->B, ring + ((g->pos + j) % GREEDY_RUN) * s->B,
           (size_t)s->B * sizeof(int64_t));
  g->pos += n;
  g->greedy_runs++;
  return SSD_OK;
}

static int check_batch(const rt_gpu_model *g, int64_t B, ssd_ctx *c) {
  if (B != g->st_batch)
    return ssd_err(c, SSD_EINVAL, "the GPU state is for batch %lld, input has batch %lld "
                   "(call rt_gpu_reset first)", (long long)g->st_batch, (long long)B);
  return SSD_OK;
}

int rt_gpu_decode(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, bool last_only,
                  float **logits, int64_t *V, ssd_ctx *c) {
  *logits = NULL;
  TRY(check_batch(g, B, c));
  int rc = L == 1 ? decode_step(g, ids, B, last_only, logits, NULL, V, c)
                  : run_module(g, ids, B, L, true, last_only, logits, V, c);
  if (!rc) g->pos += L;
  return rc;
}

int rt_gpu_decode_greedy(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L,
                         int64_t *next, ssd_ctx *c) {
  TRY(check_batch(g, B, c));
  int64_t V = 0;
  if (L == 1) {
    TRY(decode_step(g, ids, B, true, NULL, next, &V, c));
  } else { /* a prefill: one pick per row of the last position, on the host */
    float *lg = NULL;
    TRY(run_module(g, ids, B, L, true, true, &lg, &V, c));
    for (int64_t b = 0; b < B; b++) next[b] = rt_argmax(lg + b * V, V);
    free(lg);
  }
  g->pos += L;
  return SSD_OK;
}

int rt_gpu_decode_greedy_n(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t n,
                           int64_t *out, ssd_ctx *c) {
  TRY(check_batch(g, B, c));
  if (n < 0) return ssd_err(c, SSD_EINVAL, "a negative number of steps (%lld)", (long long)n);
  const int64_t *in = ids;
  for (int64_t k = 0; k < n;) {
    const int64_t run = replay_run(g, B, n - k);
    if (run) TRY(greedy_run(g, in, run, out + k * B, c));
    else TRY(rt_gpu_decode_greedy(g, in, B, 1, out + k * B, c));
    k += run ? run : 1;
    in = out + (k - 1) * B;
  }
  return SSD_OK;
}

int64_t rt_gpu_graph_replays(const rt_gpu_model *g) { return g->step.replays; }
int64_t rt_gpu_greedy_runs(const rt_gpu_model *g) { return g->greedy_runs; }
void rt_gpu_time_steps(rt_gpu_model *g, bool on) { g->step.timing = on; }
double rt_gpu_step_gpu_ms(const rt_gpu_model *g) { return g->step.gpu_ms; }
int64_t rt_gpu_step_kernels(const rt_gpu_model *g) { return g->step.kernels; }
int rt_gpu_gnorm_folds(const rt_gpu_model *g) { return g->ngf_last; }
int rt_gpu_gemm_folds(const rt_gpu_model *g) { return g->ngw_last; }
int rt_gpu_gemm_linears(const rt_gpu_model *g) { return g->ngw_lin_last; }
int rt_gpu_gnorm_after(const rt_gpu_model *g) { return g->nafter_last; }
int rt_gpu_xconv_folds(const rt_gpu_model *g) { return g->nxc_last; }
int rt_gpu_conv_folds(const rt_gpu_model *g) { return g->ncf_last; }
int rt_gpu_ssd_wg_runs(const rt_gpu_model *g) { return g->nwg_last; }
int rt_gpu_ssd_chain_runs(const rt_gpu_model *g) { return g->nchain_last; }
int rt_gpu_zside_runs(const rt_gpu_model *g) { return g->nzs_last; }
bool rt_gpu_has_wgmma(const rt_gpu_model *g) { return cg_arch_has_wgmma(rt_cuda_arch(g->cu)); }
void rt_gpu_mem(const rt_gpu_model *g, rt_cuda_mem_stats *s) { rt_cuda_mem(g->cu, s); }

bool rt_gpu_trace_on(const rt_gpu_model *g) { return g->tr.on; }
int rt_gpu_trace_count(const rt_gpu_model *g) { return g->tr.n; }

int rt_gpu_trace_reset(rt_gpu_model *g, ssd_ctx *c) {
  if (!g->tr.on) return ssd_err(c, SSD_EINVAL, "decode tracing is off (set SSDC_DEC_TRACE=1)");
  TRY(rt_cuda_memset8(g->cu, g->tr.rec, 0, TRACE_MAX * 32, c));
  return rt_cuda_sync(g->cu, c);
}

/* One kind's totals in the timeline's summary. */
#define TRACE_KINDS 8
typedef struct trace_sum {
  const char *kind;
  int n;
  double gap, own;
} trace_sum;

static void trace_add(trace_sum *sum, int *nsum, const char *label, double gap, double own) {
  const char *kind = label[0] == 'L' && strchr(label, ' ') ? strchr(label, ' ') + 1 : label;
  int i = 0;
  while (i < *nsum && strcmp(sum[i].kind, kind)) i++;
  if (i == TRACE_KINDS) i = TRACE_KINDS - 1; /* more kinds than the decode step has: lumped */
  else if (i == *nsum) sum[(*nsum)++] = (trace_sum){kind, 0, 0, 0};
  sum[i].n++, sum[i].gap += gap, sum[i].own += own;
}

int rt_gpu_trace_fetch(rt_gpu_model *g, double *us, const char **labels, int cap, int *n,
                       ssd_ctx *c) {
  const gtrace *t = &g->tr;
  *n = 0;
  if (!t->on) return ssd_err(c, SSD_EINVAL, "decode tracing is off (set SSDC_DEC_TRACE=1)");
  if (t->n < 1) return ssd_err(c, SSD_EINVAL, "no traced decode step has run");
  const int m = t->n < cap ? t->n : cap;
  uint64_t *h = malloc((size_t)m * 32);
  if (!h) return ssd_err(c, SSD_ENOMEM, "out of memory");
  const int rc = rt_cuda_d2h(g->cu, h, t->rec, (size_t)m * 32, c);
  const uint64_t ref = ~h[0];
  for (int i = 0; !rc && i < m; i++) {
    const uint64_t *q = h + 4 * (size_t)i;
    const uint64_t v[4] = {~q[0], ~q[1], q[2], q[3]};
    for (int j = 0; j < 4; j++) us[4 * i + j] = q[3] ? (double)(int64_t)(v[j] - ref) / 1e3 : -1;
    labels[i] = t->label[i];
  }
  free(h);
  if (!rc) *n = m;
  return rc;
}

int rt_gpu_trace_print(rt_gpu_model *g, FILE *f, ssd_ctx *c) {
  const int cap = g->tr.n > 0 ? g->tr.n : 1;
  double *us = malloc((size_t)cap * 4 * sizeof *us);
  const char **lab = malloc((size_t)cap * sizeof *lab);
  int n = 0;
  int rc = us && lab ? rt_gpu_trace_fetch(g, us, lab, cap, &n, c)
                     : ssd_err(c, SSD_ENOMEM, "out of memory");
  trace_sum sum[TRACE_KINDS];
  int nsum = 0;
  double prev_end = -1, first_wait = -1, last_end = 0;
  if (!rc)
    fprintf(f, "decode step timeline ($SSDC_DEC_TRACE), us from the first kernel's first block:\n"
               "start = first block's start, wait0/wait1 = first/last return from the PDL wait,\n"
               "end = last block's end; gap = wait0 - the previous kernel's end (the boundary),\n"
               "own = end - wait0 (the kernel's time on the chain)\n"
               "%5s %-22s %9s %9s %9s %9s %7s %7s\n",
            "#", "kernel", "start", "wait0", "wait1", "end", "gap", "own");
  for (int i = 0; i < n; i++) {
    const double *q = us + 4 * i;
    if (q[3] < 0) {
      fprintf(f, "%5d %-22s (did not run)\n", i, lab[i]);
      continue;
    }
    const double gap = prev_end >= 0 ? q[1] - prev_end : 0;
    fprintf(f, "%5d %-22s %9.2f %9.2f %9.2f %9.2f %7.2f %7.2f\n", i, lab[i], q[0], q[1], q[2], q[3],
            gap, q[3] - q[1]);
    trace_add(sum, &nsum, lab[i], gap, q[3] - q[1]);
    if (first_wait < 0) first_wait = q[1];
    prev_end = q[3], last_end = q[3];
  }
  if (!rc) {
    fprintf(f, "%-22s %5s %10s %10s %10s\n", "summary by kind", "n", "gap/us", "own/us", "total/us");
    for (int i = 0; i < nsum; i++)
      fprintf(f, "%-22s %5d %10.2f %10.2f %10.1f\n", sum[i].kind, sum[i].n, sum[i].gap / sum[i].n,
              sum[i].own / sum[i].n, sum[i].gap + sum[i].own);
    fprintf(f, "traced kernels: first wait to last end %.1f us\n", last_end - first_wait);
  }
  free(us);
  free(lab);
  return rc;
}
