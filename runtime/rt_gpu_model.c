/* rt_gpu_model.c: the whole-model GPU executor (see rt_gpu_model.h).
 *
 * It mirrors rt_exec.c's interpreter: one pass over main's nodes per call,
 * every value id a slot with its device buffer and resolved shape, buffers
 * allocated when the defining node runs and freed after their last reader,
 * reshape stealing its input's buffer when it is the last reader, and for
 * last_only the live [batch, seqlen, ...] buffers cut to the last position
 * after the last sequence-mixing node.  Keeping the structure of the CPU
 * interpreter is deliberate: the two are checked against the same goldens
 * and a difference in walking order would be a second source of bugs.
 *
 * Op kernels (cg_cuda_ops.h specs, SSD step specs) are prepared the first
 * time a node needs one and kept by spec; specs are zeroed before being
 * filled so that memcmp finds equal ones.  Everything computes in fp32.
 *
 * Decode steps (L == 1 with the state cache) allocate nothing: the first
 * step at a batch size records every temporary buffer it asks for in a step
 * arena (gstep), in order, and later steps, whose walk asks for the same
 * sizes in the same order, get the same buffers back; frees are no-ops
 * while the arena is on.  With fixed buffers, fixed input ids and output
 * buffers, and state buffers that stay put between resets of one batch
 * size, a whole step is a fixed sequence of stream work: the second step is
 * captured into a CUDA graph and later steps only upload ids, replay it and
 * read the logits.  Not captured: steps at position 0 (an SSM's INIT seed
 * is copied in only there), and models with attention, whose KV cache
 * grows and whose kernels take the position as an argument (their steps
 * still run from the arena).  $SSDC_CUDA_GRAPH=0 turns graphs off.
 */
#include "rt_value.h"
#include "rt_gpu_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cublaslt.h"
#include "rt_cuda.h"
#include "rt_cuda_exec.h"

/* Unary codes of gm_ops.cuh. */
enum { GM_U_COPY, GM_U_SILU, GM_U_SOFTPLUS, GM_U_EXP, GM_U_LOG, GM_U_GELU_ERF, GM_U_GELU_TANH,
       GM_U_SIGMOID, GM_U_NEG, GM_U_CLAMP };
#define GM_MAX_RANK 6
/* gm_ops.cuh's struct gm_bshape, passed by value. */
typedef struct gm_bshape {
  long long shape[GM_MAX_RANK], sa[GM_MAX_RANK], sb[GM_MAX_RANK];
  int rank;
} gm_bshape;

typedef struct gslot {
  rt_dptr p;
  bool owned;
  int rank;
  int64_t shape[IR_MAX_RANK];
  int last_use; /* index of the last node reading it; -1 unused */
} gslot;

typedef struct gweight {
  const float *host;
  rt_dptr d, d16; /* fp32; bf16 copy of a linear weight in bf16 mode (else 0) */
} gweight;

/* One decode-state slot on the device: a dense state or a KV cache. */
typedef struct gstate {
  rt_dptr p;
  int64_t n;
  bool is_kv;
  int64_t Hkv, Dh;
  rt_cuda_kv kv;
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
  rt_dptr ids;    /* [B] int64 input ids */
  rt_dptr out;    /* the logits buffer of the recorded step */
  int64_t out_n, V;
  rt_cuda_graph graph;
  int64_t replays;
} gstep;

struct rt_gpu_model {
  const ir_module *m;
  rt_weight_fn wfn;
  void *wctx;
  rt_cuda *cu;
  rt_blas *blas;
  cg_cache cache;
  int nnodes, nvals, last_mix;
  const ir_node **nodes;
  gslot *v;
  gweight *w;
  int nw;
  rt_cuda_op **ops;
  int nops;
  rt_cuda_ssd **ssds;
  int nssds;
  rt_cuda_fn k_fill, k_unary, k_binary, k_copy, k_kv, k_attn, k_bf16;
  bool bf16;      /* RT_GPU_BF16 */
  gstate *st;
  int nst;
  int64_t st_batch, pos;
  rt_dptr d_flag; /* the embedding kernel's bad-id flag */
  bool poison;    /* $SSDC_POISON: fill new buffers with NaN */
  bool graphs;    /* CUDA graphs for decode steps ($SSDC_CUDA_GRAPH != 0, no attention) */
  gstep step;
  char devname[200];
};

typedef struct grun {
  rt_gpu_model *g;
  int64_t B, L;
  rt_dptr ids;
  bool use_state;
  int idx;
  ssd_ctx *c;
} grun;

#define TRY(x)           \
  do {                   \
    int rc_ = (x);       \
    if (rc_) return rc_; \
  } while (0)

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
  if (!rc) rc = rt_cuda_load(g->cu, cubin, "gm_to_bf16", 0, &g->k_bf16, c);
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

/* dst[r * dld + j] = src[r * sld + j], in floats. */
static int gm_copy(rt_gpu_model *g, rt_dptr src, int64_t sld, rt_dptr dst, int64_t dld,
                   int64_t rows, int64_t cols, ssd_ctx *c) {
  long long a = sld, b = dld, r = rows, k = cols;
  void *args[] = {&src, &a, &dst, &b, &r, &k};
  return gm_launch(g, &g->k_copy, rows * cols, args, c);
}

static rt_dptr fptr(rt_dptr base, int64_t off) { return base + (rt_dptr)off * sizeof(float); }

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

static void gm_free(rt_gpu_model *g, rt_dptr p) {
  if (!g->step.on) rt_cuda_free(g->cu, p);
}

/* Drop the arena, its graph and its fixed buffers (batch change, failure, free). */
static void step_clear(rt_gpu_model *g) {
  gstep *s = &g->step;
  rt_cuda_graph_destroy(g->cu, &s->graph);
  for (int i = 0; i < s->n; i++) rt_cuda_free(g->cu, s->buf[i]);
  rt_cuda_free(g->cu, s->ids);
  free(s->buf);
  free(s->bytes);
  int64_t replays = s->replays;
  memset(s, 0, sizeof *s);
  s->replays = replays;
}

/* A bf16 copy of n floats at x in a new buffer (*y, the caller frees it). */
static int gm_bf16_copy(rt_gpu_model *g, rt_dptr x, int64_t n, rt_dptr *y, ssd_ctx *c) {
  TRY(gm_alloc(g, (size_t)n * 2 + 4, y, c));
  long long nn = n;
  void *args[] = {&x, y, &nn};
  return gm_launch(g, &g->k_bf16, n, args, c);
}

/* Host fp32 -> bf16, the same rounding as gm_to_bf16. */
static uint16_t bf16_of(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
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

static int get_ssd(rt_gpu_model *g, const cg_ssd_spec *s, rt_cuda_ssd **out, ssd_ctx *c) {
  for (int i = 0; i < g->nssds; i++)
    if (!memcmp(&g->ssds[i]->spec, s, sizeof *s)) return *out = g->ssds[i], SSD_OK;
  rt_cuda_ssd **np = realloc(g->ssds, (size_t)(g->nssds + 1) * sizeof *np);
  if (!np) return ssd_err(c, SSD_ENOMEM, "out of memory");
  g->ssds = np;
  rt_cuda_ssd *k = calloc(1, sizeof *k);
  if (!k) return ssd_err(c, SSD_ENOMEM, "out of memory");
  int rc = rt_cuda_ssd_prepare(g->cu, &g->cache, s, 1, k, c);
  if (rc) {
    rt_cuda_ssd_release(g->cu, k);
    free(k);
    return rc;
  }
  k->spec = *s;
  g->ssds[g->nssds++] = k;
  *out = k;
  return SSD_OK;
}

/* ---- weights --------------------------------------------------------------------- */
static const gweight *weight_ent(const rt_gpu_model *g, const float *host) {
  for (int i = 0; i < g->nw; i++)
    if (g->w[i].host == host) return &g->w[i];
  return NULL;
}
static rt_dptr weight_dev(const rt_gpu_model *g, const float *host) {
  const gweight *w = weight_ent(g, host);
  return w ? w->d : 0;
}

static bool is_linear_weight(const rt_gpu_model *g, const ir_node *w) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == IR_LINEAR && g->nodes[i]->in[1] && g->nodes[i]->in[1]->def == w)
      return true;
  return false;
}

static int upload_bf16(rt_gpu_model *g, gweight *w, int64_t cnt, ssd_ctx *c) {
  uint16_t *h = malloc((size_t)cnt * 2 + 2);
  if (!h) return ssd_err(c, SSD_ENOMEM, "out of memory converting weights to bf16");
  for (int64_t i = 0; i < cnt; i++) h[i] = bf16_of(w->host[i]);
  int rc = rt_cuda_alloc(g->cu, (size_t)cnt * 2 + 4, &w->d16, c);
  if (!rc) rc = rt_cuda_h2d(g->cu, w->d16, h, (size_t)cnt * 2, c);
  free(h);
  return rc;
}

/* Weight nodes sharing a checkpoint tensor (tied embeddings) share one host
 * buffer and so one device copy; the bf16 copy is made when any of them
 * feeds a linear layer. */
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
      *w = (gweight){h, 0, 0};
      TRY(rt_cuda_alloc(g->cu, (size_t)cnt * sizeof(float) + 4, &w->d, c));
      TRY(rt_cuda_h2d(g->cu, w->d, h, (size_t)cnt * sizeof(float), c));
    }
    if (g->bf16 && !w->d16 && is_linear_weight(g, n)) TRY(upload_bf16(g, w, cnt, c));
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
  for (int i = 0; i < g->nvals; i++) g->v[i].last_use = -1;
  int i = 0;
  for (const ir_node *n = g->m->main->first; n; n = n->next, i++) {
    g->nodes[i] = n;
    if (n->op == IR_CALL)
      return ssd_err_at(c, n->loc, SSD_EUNSUPPORTED,
                        "the GPU executor needs an elaborated module (found a call)");
    if (is_mixer(n->op)) g->last_mix = i;
    if (n->op == IR_ATTENTION) g->graphs = false;
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] && n->in[k]->id >= 0 && n->in[k]->id < g->nvals) g->v[n->in[k]->id].last_use = i;
    for (int k = 0; k < n->nout; k++)
      if (n->out[k]->id < 0 || n->out[k]->id >= g->nvals)
        return ssd_err(c, SSD_EINTERNAL, "value id %d out of range", n->out[k]->id);
  }
  return SSD_OK;
}

int rt_gpu_model_new(const ir_module *m, rt_weight_fn wfn, void *wctx, rt_gpu_mode mode,
                     const char *cache_dir, rt_gpu_model **out, ssd_ctx *c) {
  *out = NULL;
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
  int rc = index_nodes(g, c);
  if (!rc) rc = cg_cache_open(&g->cache, cache_dir, c);
  if (!rc) rc = rt_cuda_open(&g->cu, 0, c);
  if (!rc) rc = rt_blas_open(g->cu, &g->blas, c);
  if (!rc) rc = gm_load(g, c);
  if (!rc) rc = rt_cuda_alloc(g->cu, 16, &g->d_flag, c);
  if (!rc) rc = upload_weights(g, c);
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

static void release_all(rt_gpu_model *g) {
  for (int i = 0; i < g->nvals; i++) {
    if (g->v[i].owned) gm_free(g, g->v[i].p);
    g->v[i].p = 0;
    g->v[i].owned = false;
  }
}

void rt_gpu_model_free(rt_gpu_model *g) {
  if (!g) return;
  if (g->cu) {
    g->step.on = false;
    if (g->v) release_all(g);
    step_clear(g);
    free_state(g);
    for (int i = 0; i < g->nw; i++) rt_cuda_free(g->cu, g->w[i].d), rt_cuda_free(g->cu, g->w[i].d16);
    for (int i = 0; i < g->nops; i++) rt_cuda_op_release(g->cu, g->ops[i]);
    for (int i = 0; i < g->nssds; i++) rt_cuda_ssd_release(g->cu, g->ssds[i]);
    rt_cuda_unload(g->cu, &g->k_fill);
    rt_cuda_unload(g->cu, &g->k_unary);
    rt_cuda_unload(g->cu, &g->k_binary);
    rt_cuda_unload(g->cu, &g->k_copy);
    rt_cuda_unload(g->cu, &g->k_kv);
    rt_cuda_unload(g->cu, &g->k_attn);
    rt_cuda_unload(g->cu, &g->k_bf16);
    rt_cuda_free(g->cu, g->d_flag);
  }
  for (int i = 0; i < g->nops; i++) free(g->ops[i]);
  for (int i = 0; i < g->nssds; i++) free(g->ssds[i]);
  rt_blas_close(g->blas);
  rt_cuda_close(g->cu);
  free(g->ops);
  free(g->ssds);
  free(g->w);
  free(g->nodes);
  free(g->v);
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
  gstate *s;
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
  gstate *s;
  TRY(state_entry(g, slot, &s, c));
  if (s->p || (s->is_kv && (s->Hkv != Hkv || s->Dh != Dh)))
    return ssd_err(c, SSD_EINTERNAL, "state slot %d is used with two different sizes", slot);
  if (!s->is_kv) {
    s->is_kv = true;
    s->Hkv = Hkv, s->Dh = Dh;
    s->kv.B = B;
  }
  TRY(kv_grow(g, &s->kv, Hkv, Dh, s->kv.len + L, c));
  *out = &s->kv;
  return SSD_OK;
}

int rt_gpu_reset(rt_gpu_model *g, int64_t B, ssd_ctx *c) {
  if (B <= 0) return ssd_err(c, SSD_EINVAL, "bad batch %lld", (long long)B);
  if (B != g->st_batch) {
    step_clear(g); /* its graph holds the old state's pointers */
    free_state(g);
  }
  g->st_batch = B;
  g->pos = 0;
  for (int i = 0; i < g->nst; i++) {
    g->st[i].kv.len = 0;
    if (g->st[i].p) TRY(rt_cuda_memset8(g->cu, g->st[i].p, 0, (size_t)g->st[i].n * sizeof(float), c));
  }
  return SSD_OK;
}

/* ---- values ----------------------------------------------------------------------- */
static int64_t numel_of(const gslot *s) { return rt_shape_numel(s->rank, s->shape); }

static int resolve(grun *r, const ir_value *v, gslot *s) {
  return rt_value_shape(r->g->m, v, r->B, r->L, (int64_t)1 << 36, &s->rank, s->shape, r->c);
}

static int alloc_out(grun *r, const ir_value *v, rt_dptr *out) {
  gslot *s = &r->g->v[v->id];
  TRY(resolve(r, v, s));
  if (v->dtype != IR_F32)
    return ssd_err(r->c, SSD_EUNSUPPORTED, "the GPU executor computes in f32; value %%%d is %s",
                   v->id, ir_dtype_name(v->dtype));
  size_t n = (size_t)numel_of(s);
  TRY(gm_alloc(r->g, n * sizeof(float) + 4, &s->p, r->c));
  s->owned = true;
  if (r->g->poison) TRY(rt_cuda_memset8(r->g->cu, s->p, 0xff, n * sizeof(float), r->c));
  *out = s->p;
  return SSD_OK;
}

static gslot *in_slot(grun *r, const ir_node *n, int k) {
  return k < n->nin && n->in[k] ? &r->g->v[n->in[k]->id] : NULL;
}
static rt_dptr in_p(grun *r, const ir_node *n, int k) {
  gslot *s = in_slot(r, n, k);
  return s ? s->p : 0;
}
static int64_t last_dim(const gslot *s) { return s->rank ? s->shape[s->rank - 1] : 1; }

/* ---- ops -------------------------------------------------------------------------- */
static int op_weight(grun *r, const ir_node *n) {
  gslot *s = &r->g->v[n->out[0]->id];
  TRY(resolve(r, n->out[0], s));
  const float *h = r->g->wfn(r->g->wctx, n);
  s->p = h ? weight_dev(r->g, h) : 0;
  s->owned = false;
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
  s->owned = false;
  return SSD_OK;
}

static int op_const(grun *r, const ir_node *n) {
  rt_dptr y;
  TRY(alloc_out(r, n->out[0], &y));
  return gm_fill(r->g, y, (float)n->a.scalar, numel_of(&r->g->v[n->out[0]->id]), r->c);
}

static int op_embed(grun *r, const ir_node *n) {
  gslot *ids = in_slot(r, n, 0), *tab = in_slot(r, n, 1);
  if (ids->p != r->ids || tab->rank != 2)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "embed of non-input ids or a non-2-D table");
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.kind = CG_OP_EMBED, s.D = tab->shape[1], s.V = tab->shape[0];
  const rt_cuda_op *k = NULL;
  rt_dptr y;
  TRY(get_op(r->g, &s, &k, r->c));
  TRY(alloc_out(r, n->out[0], &y));
  TRY(rt_cuda_memset8(r->g->cu, r->g->d_flag, 0, 4, r->c));
  TRY(rt_cuda_embed(r->g->cu, k, ids->p, numel_of(ids), tab->p, y, r->g->d_flag, r->c));
  if (r->g->step.capturing) return SSD_OK; /* decode_step reads the flag after each replay */
  int bad = 0;
  TRY(rt_cuda_d2h(r->g->cu, &bad, r->g->d_flag, 4, r->c));
  if (bad)
    return ssd_err_at(r->c, n->loc, SSD_EINVAL, "a token id is outside the vocabulary [0, %lld)",
                      (long long)s.V);
  return SSD_OK;
}

static int op_linear(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0), *w = in_slot(r, n, 1);
  int64_t K = last_dim(x);
  if (w->rank != 2 || w->shape[1] != K)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "linear: weight does not match input");
  rt_dptr y;
  TRY(alloc_out(r, n->out[0], &y));
  rt_gemm p = {K ? numel_of(x) / K : 0, w->shape[0], K, RT_BLAS_F32, RT_BLAS_F32,
               x->p, w->p, in_p(r, n, 2), y};
  if (p.M == 0 || p.N == 0) return SSD_OK;
  const gweight *ent = NULL;
  for (int i = 0; i < r->g->nw && !ent; i++)
    if (r->g->w[i].d == w->p && r->g->w[i].d16) ent = &r->g->w[i];
  if (!ent) return rt_blas_gemm(r->g->blas, &p, r->c);
  /* bf16 mode: bf16 operands, fp32 accumulation and result */
  rt_dptr x16 = 0;
  int rc = gm_bf16_copy(r->g, x->p, numel_of(x), &x16, r->c);
  p.ab = RT_BLAS_BF16, p.x = x16, p.W = ent->d16;
  if (!rc) rc = rt_blas_gemm(r->g->blas, &p, r->c);
  gm_free(r->g, x16);
  return rc;
}

static int op_norm(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0);
  int64_t D = last_dim(x), rows = D ? numel_of(x) / D : 0;
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.D = D, s.eps = n->a.eps;
  if (n->op == IR_LAYERNORM)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "no GPU kernel for layernorm yet");
  if (n->op == IR_RMSNORM && !in_p(r, n, 1))
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU rmsnorm needs a weight");
  if (n->op == IR_GATED_RMSNORM && (!in_p(r, n, 1) || !in_p(r, n, 2)))
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU gated rmsnorm needs a gate and a weight");
  s.kind = n->op == IR_RMSNORM ? CG_OP_RMSNORM : CG_OP_GNORM;
  if (s.kind == CG_OP_GNORM) {
    s.G = n->a.ngroups > 0 ? n->a.ngroups : 1;
    s.norm_before_gate = n->a.norm_before_gate;
  }
  const rt_cuda_op *k = NULL;
  rt_dptr y;
  TRY(get_op(r->g, &s, &k, r->c));
  TRY(alloc_out(r, n->out[0], &y));
  if (rows == 0) return SSD_OK;
  if (s.kind == CG_OP_RMSNORM) return rt_cuda_rmsnorm(r->g->cu, k, x->p, 0, in_p(r, n, 1), y, rows, r->c);
  return rt_cuda_gnorm(r->g->cu, k, x->p, in_p(r, n, 1), in_p(r, n, 2), y, rows, r->c);
}

/* A decode step with a cache updates the state in place (CONV_STEP); longer
 * pieces read the state and write the new one to a scratch buffer (the
 * prefill kernel needs them distinct), copied back after. */
static int op_conv(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0), *w = in_slot(r, n, 1);
  if (x->rank != 3) return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "conv1d input is not [B, L, C]");
  int64_t B = x->shape[0], L = x->shape[1], C = x->shape[2], K = w->shape[w->rank - 1];
  bool cached = r->use_state && n->a.state_slot >= 0 && K >= 2;
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.kind = cached && L == 1 ? CG_OP_CONV_STEP : CG_OP_CONV;
  s.D = C, s.K = K, s.has_bias = in_p(r, n, 2) != 0;
  const rt_cuda_op *k = NULL;
  rt_dptr y, st = 0, tmp = 0;
  TRY(get_op(r->g, &s, &k, r->c));
  TRY(alloc_out(r, n->out[0], &y));
  if (cached) TRY(state_dense(r->g, n->a.state_slot, B * C * (K - 1), &st, r->c));
  if (s.kind == CG_OP_CONV_STEP)
    return rt_cuda_conv_step(r->g->cu, k, x->p, w->p, in_p(r, n, 2), st, y, B, r->c);
  if (cached) TRY(gm_alloc(r->g, (size_t)(B * C * (K - 1)) * sizeof(float) + 4, &tmp, r->c));
  int rc = rt_cuda_conv(r->g->cu, k, x->p, w->p, in_p(r, n, 2), st, tmp, y, B, L, r->c);
  if (!rc && tmp) rc = gm_copy(r->g, tmp, 0, st, 0, 1, B * C * (K - 1), r->c);
  gm_free(r->g, tmp);
  return rc;
}

static int unary_code(const ir_node *n) {
  switch (n->op) {
  case IR_SILU: return GM_U_SILU;
  case IR_SOFTPLUS: return GM_U_SOFTPLUS;
  case IR_EXP: return GM_U_EXP;
  case IR_LOG: return GM_U_LOG;
  case IR_GELU: return n->a.approx ? GM_U_GELU_TANH : GM_U_GELU_ERF;
  case IR_SIGMOID: return GM_U_SIGMOID;
  case IR_NEG: return GM_U_NEG;
  case IR_CLAMP: return GM_U_CLAMP;
  default: return GM_U_COPY;
  }
}

static int op_unary(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0);
  if (n->op == IR_CAST && n->out[0]->dtype != IR_F32)
    return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU executor casts only to f32 (got %s)",
                      ir_dtype_name(n->out[0]->dtype));
  rt_dptr y;
  TRY(alloc_out(r, n->out[0], &y));
  int64_t cnt = numel_of(x);
  if (numel_of(&r->g->v[n->out[0]->id]) != cnt)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "elementwise op changes size");
  return gm_unary(r->g, unary_code(n), x->p, y, cnt, n->a.lo, n->a.hi, r->c);
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

static int op_binary(grun *r, const ir_node *n) {
  static const int map[] = {[IR_ADD] = 0, [IR_SUB] = 1, [IR_MUL] = 2, [IR_DIV] = 3};
  gslot *a = in_slot(r, n, 0), *b = in_slot(r, n, 1);
  rt_dptr y;
  TRY(alloc_out(r, n->out[0], &y));
  gslot *o = &r->g->v[n->out[0]->id];
  gm_bshape s;
  memset(&s, 0, sizeof s);
  if (o->rank > GM_MAX_RANK || o->rank < 1 || bcast_strides(a, o, s.sa) || bcast_strides(b, o, s.sb))
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "elementwise operands do not broadcast");
  s.rank = o->rank;
  for (int d = 0; d < o->rank; d++) s.shape[d] = o->shape[d];
  long long cnt = numel_of(o);
  int op = map[n->op];
  void *args[] = {&a->p, &b->p, &y, &cnt, &op, &s};
  return gm_launch(r->g, &r->g->k_binary, cnt, args, r->c);
}

/* Within a decode step nothing is freed until the step ends, so a reshape
 * (and a split whose pieces are contiguous) can alias its input. */
static int op_reshape(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0), *o = &r->g->v[n->out[0]->id];
  const bool alias = r->g->step.on;
  if (alias || (x->owned && x->last_use == r->idx)) {
    TRY(resolve(r, n->out[0], o));
    if (numel_of(o) != numel_of(x))
      return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "reshape changes the element count");
    o->p = x->p, o->owned = !alias;
    if (!alias) x->p = 0, x->owned = false;
    return SSD_OK;
  }
  rt_dptr y;
  TRY(alloc_out(r, n->out[0], &y));
  if (numel_of(o) != numel_of(x))
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "reshape changes the element count");
  return gm_copy(r->g, x->p, 0, y, 0, 1, numel_of(x), r->c);
}

static void around(const gslot *s, int axis, int64_t *outer, int64_t *inner) {
  rt_shape_around(s->rank, s->shape, axis, outer, inner);
}

/* split and concat: each part is an [outer, size * inner] block of the
 * whole's [outer, total * inner] rows, at column offset off * inner. */
static int op_split(grun *r, const ir_node *n) {
  gslot *x = in_slot(r, n, 0);
  int axis = n->a.axis < 0 ? x->rank + n->a.axis : n->a.axis;
  if (axis < 0 || axis >= x->rank)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split: bad axis");
  int64_t outer, inner, total = 0;
  around(x, axis, &outer, &inner);
  const bool alias = r->g->step.on && outer == 1; /* see op_reshape */
  for (int k = 0; k < n->nout; k++) {
    gslot *o = &r->g->v[n->out[k]->id];
    TRY(resolve(r, n->out[k], o));
    int64_t sz = o->shape[axis];
    if (total + sz > x->shape[axis])
      return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split sizes do not add up");
    /* 256-byte aligned, like an allocation (cuBLASLt's heuristic assumes it) */
    if (o->last_use >= 0 && alias && (total * inner) % 64 == 0) {
      o->p = fptr(x->p, total * inner), o->owned = false;
    } else if (o->last_use >= 0) {
      rt_dptr y;
      TRY(alloc_out(r, n->out[k], &y));
      TRY(gm_copy(r->g, fptr(x->p, total * inner), x->shape[axis] * inner, y, sz * inner, outer,
                  sz * inner, r->c));
    }
    total += sz;
  }
  if (total != x->shape[axis])
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "split sizes do not add up");
  return SSD_OK;
}

static int op_concat(grun *r, const ir_node *n) {
  rt_dptr y;
  TRY(alloc_out(r, n->out[0], &y));
  gslot *o = &r->g->v[n->out[0]->id];
  int axis = n->a.axis < 0 ? o->rank + n->a.axis : n->a.axis;
  if (axis < 0 || axis >= o->rank)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "concat: bad axis");
  int64_t outer, inner, off = 0;
  around(o, axis, &outer, &inner);
  for (int k = 0; k < n->nin; k++) {
    int64_t sz = in_slot(r, n, k)->shape[axis];
    if (off + sz > o->shape[axis])
      return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "concat sizes do not add up");
    TRY(gm_copy(r->g, in_p(r, n, k), sz * inner, fptr(y, off * inner), o->shape[axis] * inner,
                outer, sz * inner, r->c));
    off += sz;
  }
  return SSD_OK;
}

/* The state an SSM node runs on: the slot's when a cache is in use, else a
 * zeroed scratch buffer (*tmp, the caller frees it); INIT seeds it at
 * position 0. */
static int ssm_state(grun *r, const ir_node *n, int64_t ns, rt_dptr *st, rt_dptr *tmp) {
  *st = *tmp = 0;
  bool seed = n->in[IR_SSM_INIT] != NULL;
  if (r->use_state && n->a.ssm->state_slot >= 0) {
    TRY(state_dense(r->g, n->a.ssm->state_slot, ns, st, r->c));
    seed = seed && r->g->pos == 0;
  } else {
    TRY(gm_alloc(r->g, (size_t)ns * sizeof(float) + 4, tmp, r->c));
    *st = *tmp;
    if (!seed) TRY(rt_cuda_memset8(r->g->cu, *st, 0, (size_t)ns * sizeof(float), r->c));
  }
  if (seed) TRY(gm_copy(r->g, in_p(r, n, IR_SSM_INIT), 0, *st, 0, 1, ns, r->c));
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

/* bf16-mode prefill: the chunked kernel (bf16 x, dt, B, C, z; fp32 A, D,
 * dt_bias, states and y), from the state st and back into it.  *ran stays
 * false for shapes the kernel does not take (run_ssd falls back to steps). */
static int run_ssd_chunked(grun *r, const ir_node *n, int64_t B, int64_t L, rt_dptr st, rt_dptr y,
                           bool *ran) {
  *ran = false;
  cg_ssd_spec s;
  if (!chunked_spec(n, &s)) return SSD_OK;
  s.has_init = s.has_final = s.y_f32 = true;
  s.ps = cg_ssd_pick_ps(&s, B, rt_cuda_sms(r->g->cu));
  if (!s.ps) return SSD_OK;
  rt_cuda_ssd *k = NULL;
  TRY(get_ssd(r->g, &s, &k, r->c));
  static const int act[] = {IR_SSM_X, IR_SSM_DT, IR_SSM_B, IR_SSM_C, IR_SSM_Z};
  rt_dptr h[5] = {0}, fin = 0;
  const int64_t ns = B * s.H * s.P * s.N;
  int rc = SSD_OK;
  for (int i = 0; i < 5 && !rc; i++) {
    gslot *v = in_slot(r, n, act[i]);
    if (v) rc = gm_bf16_copy(r->g, v->p, numel_of(v), &h[i], r->c);
  }
  if (!rc) rc = gm_alloc(r->g, (size_t)ns * sizeof(float) + 4, &fin, r->c);
  if (!rc) {
    rt_cuda_ssd_args a = {h[0], h[1], in_p(r, n, IR_SSM_A), h[2], h[3], in_p(r, n, IR_SSM_D),
                          h[4], in_p(r, n, IR_SSM_DT_BIAS), st, fin, y};
    rc = rt_cuda_ssd_chunked(r->g->cu, k, &a, B, L, r->c);
  }
  if (!rc) rc = gm_copy(r->g, fin, 0, st, 0, 1, ns, r->c);
  for (int i = 0; i < 5; i++) gm_free(r->g, h[i]);
  gm_free(r->g, fin);
  *ran = !rc;
  return rc;
}

/* SSD in fp32: the step kernel, one launch per token (per batch row in a
 * prefill, where a token's operands are not contiguous across rows). */
static int run_ssd(grun *r, const ir_node *n, int64_t B, int64_t L, rt_dptr st, rt_dptr y) {
  if (r->g->bf16 && L > 1) {
    bool ran;
    TRY(run_ssd_chunked(r, n, B, L, st, y, &ran));
    if (ran) return SSD_OK;
  }
  cg_ssd_spec s;
  TRY(cg_ssd_spec_from_node(n, CG_SSD_STEP, &s, r->c));
  s.in_f32 = s.y_f32 = true;
  rt_cuda_ssd *k = NULL;
  TRY(get_ssd(r->g, &s, &k, r->c));
  const int64_t H = s.H, P = s.P, N = s.N;
  const int64_t rb = L == 1 ? B : 1, nb = L == 1 ? 1 : B;
  for (int64_t b = 0; b < nb; b++)
    for (int64_t t = 0; t < L; t++) {
      int64_t tok = b * L + t;
      rt_cuda_ssd_args a = {
          fptr(in_p(r, n, IR_SSM_X), tok * s.hx * P),
          s.has_dt ? fptr(in_p(r, n, IR_SSM_DT), tok * s.hdt) : 0,
          in_p(r, n, IR_SSM_A),
          fptr(in_p(r, n, IR_SSM_B), tok * s.hb * N),
          fptr(in_p(r, n, IR_SSM_C), tok * s.hc * N),
          in_p(r, n, IR_SSM_D),
          s.has_z ? fptr(in_p(r, n, IR_SSM_Z), tok * H * P) : 0,
          in_p(r, n, IR_SSM_DT_BIAS),
          0,
          fptr(st, b * H * P * N),
          fptr(y, tok * H * P)};
      TRY(rt_cuda_ssd_step(r->g->cu, k, &a, rb, r->c));
    }
  return SSD_OK;
}

static int run_s6(grun *r, const ir_node *n, int64_t B, int64_t L, rt_dptr st, rt_dptr y) {
  cg_op_spec s;
  TRY(cg_op_s6_from_node(n, &s, r->c));
  const rt_cuda_op *k = NULL;
  TRY(get_op(r->g, &s, &k, r->c));
  rt_cuda_s6_args a = {in_p(r, n, IR_SSM_X), in_p(r, n, IR_SSM_DT), in_p(r, n, IR_SSM_A),
                       in_p(r, n, IR_SSM_B), in_p(r, n, IR_SSM_C), in_p(r, n, IR_SSM_D),
                       in_p(r, n, IR_SSM_Z), in_p(r, n, IR_SSM_DT_BIAS), st, st, y};
  return rt_cuda_s6(r->g->cu, k, &a, B, L, r->c);
}

static int op_ssm(grun *r, const ir_node *n) {
  const ir_ssm_attr *sa = n->a.ssm;
  gslot *x = in_slot(r, n, IR_SSM_X);
  if (!sa || x->rank != 4)
    return ssd_err_at(r->c, n->loc, SSD_EINTERNAL, "ssm node without attributes or [B,L,h,P] x");
  int64_t B = x->shape[0], L = x->shape[1], ns = B * sa->H * sa->P * sa->N;
  rt_dptr y, st, tmp;
  TRY(alloc_out(r, n->out[0], &y));
  int rc = ssm_state(r, n, ns, &st, &tmp);
  if (!rc) rc = sa->kind == IR_SSM_S6 ? run_s6(r, n, B, L, st, y) : run_ssd(r, n, B, L, st, y);
  if (!rc && n->nout > 1 && r->g->v[n->out[1]->id].last_use >= 0) {
    rt_dptr fin;
    rc = alloc_out(r, n->out[1], &fin);
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
  long long B = kv->B, LL = L, pos0 = kv->len, cap = kv->cap;
  int Hq = (int)s->Hq, Hkv = (int)s->Hkv, Dh = (int)s->Dh, rd = (int)s->rd;
  double theta = s->theta;
  float scale = (float)(s->scale > 0 ? s->scale : 1.0 / sqrt((double)s->Dh));
  void *a1[] = {&k, &v, &kv->k, &kv->v, &B, &LL, &Hkv, &Dh, &rd, &theta, &pos0, &cap};
  TRY(gm_launch(g, &g->k_kv, B * L * Hkv * Dh, a1, c));
  void *a2[] = {&q, &kv->k, &kv->v, &y, &B, &LL, &Hq, &Hkv, &Dh, &rd, &theta, &scale, &pos0, &cap};
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
  rt_cuda_kv scratch = {0, 0, B, 0, 0}, *kv = &scratch;
  rt_dptr y;
  int rc = alloc_out(r, n->out[0], &y);
  if (!rc && r->use_state && at->state_slot >= 0)
    rc = state_kv(r->g, at->state_slot, B, s.Hkv, s.Dh, L, &kv, r->c);
  else if (!rc)
    rc = kv_grow(r->g, kv, s.Hkv, s.Dh, L, r->c);
  if (!rc && tuned)
    rc = rt_cuda_attention(r->g->cu, kk, ka, q->p, in_p(r, n, 1), in_p(r, n, 2), kv, y, L, r->c);
  else if (!rc)
    rc = gm_attention(r->g, &s, q->p, in_p(r, n, 1), in_p(r, n, 2), kv, y, L, r->c);
  rt_cuda_free(r->g->cu, scratch.k);
  rt_cuda_free(r->g->cu, scratch.v);
  return rc;
}

static int run_node(grun *r, const ir_node *n) {
  switch (n->op) {
  case IR_INPUT: return op_input(r, n);
  case IR_WEIGHT: return op_weight(r, n);
  case IR_CONST: return op_const(r, n);
  case IR_OUTPUT: return SSD_OK;
  case IR_EMBED: return op_embed(r, n);
  case IR_LINEAR: return op_linear(r, n);
  case IR_RMSNORM: case IR_GATED_RMSNORM: case IR_LAYERNORM: return op_norm(r, n);
  case IR_CONV1D: return op_conv(r, n);
  case IR_SILU: case IR_SOFTPLUS: case IR_EXP: case IR_LOG: case IR_GELU: case IR_SIGMOID:
  case IR_NEG: case IR_CLAMP: case IR_CAST: return op_unary(r, n);
  case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: return op_binary(r, n);
  case IR_SPLIT: return op_split(r, n);
  case IR_RESHAPE: return op_reshape(r, n);
  case IR_CONCAT: return op_concat(r, n);
  case IR_SSM: return op_ssm(r, n);
  case IR_ATTENTION: return op_attention(r, n);
  case IR_CALL: case IR_NOPS: break;
  }
  return ssd_err_at(r->c, n->loc, SSD_EUNSUPPORTED, "the GPU executor cannot run op '%s'",
                    ir_op_name(n->op));
}

/* Free device buffers whose last reader was node idx, and unread results. */
static void release_after(rt_gpu_model *g, const ir_node *n, int idx) {
  for (int k = 0; k < n->nin + n->nout; k++) {
    const ir_value *v = k < n->nin ? n->in[k] : n->out[k - n->nin];
    if (!v) continue;
    gslot *s = &g->v[v->id];
    bool done = k < n->nin ? s->last_use == idx : s->last_use < 0;
    if (done && s->owned) {
      gm_free(g, s->p);
      s->p = 0;
      s->owned = false;
    }
  }
}


/* Cut every live [batch, seqlen, ...] buffer down to its last position. */
static int cut_to_last(grun *r, int idx) {
  rt_gpu_model *g = r->g;
  for (int i = 0; i <= idx; i++) {
    const ir_node *n = g->nodes[i];
    for (int k = 0; k < n->nout; k++) {
      gslot *s = &g->v[n->out[k]->id];
      if (!s->p || s->last_use <= idx || n->out[k]->dtype != IR_F32 || !rt_value_per_position(n->out[k]))
        continue;
      int64_t row = numel_of(s) / (r->B * r->L);
      rt_dptr np;
      TRY(gm_alloc(g, (size_t)(r->B * row) * sizeof(float) + 4, &np, r->c));
      int rc = gm_copy(g, fptr(s->p, (r->L - 1) * row), r->L * row, np, row, r->B, row, r->c);
      if (s->owned) gm_free(g, s->p);
      s->p = np, s->owned = true, s->shape[1] = 1;
      if (rc) return rc;
    }
  }
  r->L = 1;
  return SSD_OK;
}

static int walk(grun *r, bool last_only, const ir_value **result) {
  rt_gpu_model *g = r->g;
  for (int i = 0; i < g->nnodes; i++) {
    const ir_node *n = g->nodes[i];
    r->idx = i;
    TRY(run_node(r, n));
    if (n->op == IR_OUTPUT && !*result) *result = n->in[0];
    if (n->op != IR_OUTPUT) release_after(g, n, i);
    if (last_only && i == g->last_mix && r->L > 1) TRY(cut_to_last(r, i));
  }
  if (!*result) return ssd_err(r->c, SSD_EINTERNAL, "the module has no output");
  return SSD_OK;
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
  grun r = {g, B, L, 0, use_state, 0, c};
  size_t idbytes = (size_t)(B * L) * sizeof(int64_t);
  int rc = rt_cuda_alloc(g->cu, idbytes, &r.ids, c);
  if (!rc) rc = rt_cuda_h2d(g->cu, r.ids, ids, idbytes, c);
  const ir_value *result = NULL;
  if (!rc) rc = walk(&r, last_only, &result);
  if (!rc) {
    gslot *s = &g->v[result->id];
    size_t n = (size_t)numel_of(s);
    *V = last_dim(s);
    *logits = malloc(n * sizeof(float) + 1);
    if (!*logits) rc = ssd_err(c, SSD_ENOMEM, "out of memory for the logits");
    else if (!s->p) rc = ssd_err(c, SSD_EINTERNAL, "the output was not computed");
    else rc = rt_cuda_d2h(g->cu, *logits, s->p, n * sizeof(float), c);
  }
  if (!rc) rc = rt_cuda_sync(g->cu, c);
  if (rc) {
    free(*logits);
    *logits = NULL;
  }
  release_all(g);
  rt_cuda_free(g->cu, r.ids);
  return rc;
}

int rt_gpu_forward(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, float **logits,
                   int64_t *V, ssd_ctx *c) {
  return run_module(g, ids, B, L, false, false, logits, V, c);
}

/* The walk of one decode step over the arena's buffers, captured into the
 * step's graph when `capture`. */
static int step_walk(rt_gpu_model *g, int64_t B, bool last_only, bool capture, ssd_ctx *c) {
  gstep *s = &g->step;
  grun r = {g, B, 1, s->ids, true, 0, c};
  const ir_value *result = NULL;
  s->on = true, s->next = 0;
  int rc = capture ? rt_cuda_capture_begin(g->cu, c) : SSD_OK;
  s->capturing = capture && !rc;
  if (!rc) rc = walk(&r, last_only, &result);
  if (s->capturing) {
    if (rc) rt_cuda_capture_abort(g->cu);
    else rc = rt_cuda_capture_end(g->cu, &s->graph, c);
    s->capturing = false;
  }
  if (!rc && s->sealed && s->next != s->n)
    rc = ssd_err(c, SSD_EINTERNAL, "a decode step used %d of the first step's %d buffers", s->next,
                 s->n);
  if (!rc) {
    const gslot *o = &g->v[result->id];
    if (!o->p || (s->sealed && o->p != s->out))
      rc = ssd_err(c, SSD_EINTERNAL, "the decode step's logits moved");
    s->out = o->p, s->out_n = numel_of(o), s->V = last_dim(o);
  }
  release_all(g); /* arena buffers: only forgotten by the slots */
  s->on = false;
  if (!rc) s->sealed = true;
  return rc;
}

/* One decode step (L == 1 from the state cache) without allocations: the
 * first at this shape records the arena, the next at a position > 0 is
 * captured, and that and later ones replay the graph. */
static int decode_step(rt_gpu_model *g, const int64_t *ids, int64_t B, bool last_only,
                       float **logits, int64_t *V, ssd_ctx *c) {
  gstep *s = &g->step;
  if (B > 65535) return ssd_err(c, SSD_EINVAL, "input too large: batch %lld", (long long)B);
  if (s->ids && (s->B != B || s->last_only != last_only)) step_clear(g);
  if (!s->ids) {
    TRY(rt_cuda_alloc(g->cu, (size_t)B * sizeof(int64_t), &s->ids, c));
    s->B = B, s->last_only = last_only;
  }
  int rc = rt_cuda_h2d(g->cu, s->ids, ids, (size_t)B * sizeof(int64_t), c);
  /* A capture runs nothing, so after a failed one (a driver that will not
   * capture some call) the step can still run uncaptured; graphs stay off
   * for this model then (rt_gpu_graph_replays shows it). */
  if (!rc && g->graphs && g->pos > 0 && s->sealed && !s->graph.exec &&
      step_walk(g, B, last_only, true, c))
    g->graphs = false;
  const bool replay = g->graphs && g->pos > 0 && s->graph.exec;
  if (!rc && !replay) rc = step_walk(g, B, last_only, false, c);
  if (!rc && replay) {
    rc = rt_cuda_graph_launch(g->cu, &s->graph, c);
    s->replays += !rc;
    int bad = 0;
    if (!rc) rc = rt_cuda_d2h(g->cu, &bad, g->d_flag, 4, c);
    if (!rc && bad) rc = ssd_err(c, SSD_EINVAL, "a token id is outside the vocabulary");
  }
  if (!rc) {
    *logits = malloc((size_t)s->out_n * sizeof(float) + 1);
    if (!*logits) rc = ssd_err(c, SSD_ENOMEM, "out of memory for the logits");
  }
  if (!rc) rc = rt_cuda_d2h(g->cu, *logits, s->out, (size_t)s->out_n * sizeof(float), c);
  if (!rc) rc = rt_cuda_sync(g->cu, c);
  if (rc) {
    free(*logits);
    *logits = NULL;
    step_clear(g);
    return rc;
  }
  *V = s->V;
  return SSD_OK;
}

int rt_gpu_decode(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, bool last_only,
                  float **logits, int64_t *V, ssd_ctx *c) {
  *logits = NULL;
  if (B != g->st_batch)
    return ssd_err(c, SSD_EINVAL, "the GPU state is for batch %lld, input has batch %lld "
                   "(call rt_gpu_reset first)", (long long)g->st_batch, (long long)B);
  int rc = L == 1 ? decode_step(g, ids, B, last_only, logits, V, c)
                  : run_module(g, ids, B, L, true, last_only, logits, V, c);
  if (!rc) g->pos += L;
  return rc;
}

int64_t rt_gpu_graph_replays(const rt_gpu_model *g) { return g->step.replays; }
