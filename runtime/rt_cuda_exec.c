/* rt_cuda_exec.c: preparing and launching the op kernels (cg_cuda_ops.h).
 *
 * prepare mirrors rt_cuda_ssd_prepare: source from the spec, cubin through
 * the cache for this GPU's arch, load.  Each launcher checks the kernel kind
 * and the runtime sizes (the shapes baked into the kernel are the spec's),
 * so a mismatched call is an error rather than an out-of-bounds access.
 */
#include "rt_cuda_exec.h"

#include <stdlib.h>
#include <string.h>

int rt_cuda_op_prepare(rt_cuda *g, cg_cache *cc, const cg_op_spec *spec, rt_cuda_op *out,
                       ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  out->spec = *spec;
  cg_source src;
  int rc = cg_op_source(spec, &src, c);
  if (rc) return rc;
  void *cubin = NULL;
  size_t n = 0;
  /* the GEMM is sm_90a code (wgmma, setmaxnreg), for one block per SM */
  const char *arch = rt_cuda_arch(g);
  const bool gemm = spec->kind == CG_OP_GEMM;
  if (gemm && !cg_arch_has_wgmma(arch))
    rc = ssd_err(c, SSD_EUNSUPPORTED, "the GEMM kernel needs an sm_90 GPU (this one is %s)", arch);
  else
    rc = cg_build(cc, &src, gemm && !strcmp(arch, "sm_90") ? "sm_90a" : arch, &cubin, &n, c);
  if (rc == SSD_OK) rc = rt_cuda_load(g, cubin, src.name, gemm ? cg_op_gemm_smem() : 0, &out->fn, c);
  memcpy(out->name, src.name, sizeof out->name);
  free(cubin);
  cg_source_free(&src);
  return rc;
}

void rt_cuda_op_release(rt_cuda *g, rt_cuda_op *k) { rt_cuda_unload(g, &k->fn); }

static int want(const rt_cuda_op *k, cg_op_kind kind, const char *what, ssd_ctx *c) {
  if (!k->fn.fn || k->spec.kind != kind)
    return ssd_err(c, SSD_EINVAL, "%s: kernel %s is not a prepared %s kernel", what,
                   k->name[0] ? k->name : "(none)", what);
  return SSD_OK;
}

static int rows_ok(int64_t rows, int64_t hi, const char *what, ssd_ctx *c) {
  if (rows < 1 || rows > hi)
    return ssd_err(c, SSD_EINVAL, "%s: bad row count %lld", what, (long long)rows);
  return SSD_OK;
}

#define TRY(x)             \
  do {                     \
    int rc_ = (x);         \
    if (rc_) return rc_;   \
  } while (0)

int rt_cuda_embed(rt_cuda *g, const rt_cuda_op *k, rt_dptr ids, int64_t n, rt_dptr table,
                  rt_dptr table_lo, rt_dptr out, rt_dptr bad, ssd_ctx *c) {
  TRY(want(k, CG_OP_EMBED, "embedding", c));
  TRY(rows_ok(n, INT32_MAX, "embedding", c));
  if (k->spec.w_split != (table_lo != 0))
    return ssd_err(c, SSD_EINVAL, "embedding: a split table needs its remainder, and only it");
  void *args[] = {&ids, &table, &table_lo, &out, &bad};
  const unsigned grid[3] = {(unsigned)n, 1, 1};
  return rt_cuda_launch(g, &k->fn, grid, 128, args, c);
}

int rt_cuda_rmsnorm(rt_cuda *g, const rt_cuda_op *k, rt_dptr h, rt_dptr r, rt_dptr ss, rt_dptr w,
                    rt_dptr y, int64_t rows, ssd_ctx *c) {
  TRY(want(k, CG_OP_RMSNORM, "rmsnorm", c));
  TRY(rows_ok(rows, INT32_MAX, "rmsnorm", c));
  if ((k->spec.res_in || k->spec.res_out) && !r)
    return ssd_err(c, SSD_EINVAL, "rmsnorm: the residual buffer is missing");
  if (k->spec.ss_parts && !ss)
    return ssd_err(c, SSD_EINVAL, "rmsnorm: the row scale's sums of squares are missing");
  void *args[] = {&h, &r, &w, &y, &ss};
  const unsigned grid[3] = {(unsigned)rows, 1, 1};
  return rt_cuda_launch(g, &k->fn, grid, 256, args, c);
}

/* The conv operands of a GEMM that convolves (spec.K > 0), or none. */
static int conv_args_ok(const cg_op_spec *s, const rt_cuda_gemm_args *a, const char *what, ssd_ctx *c) {
  if (!s->K)
    return a->cw || a->edge ? ssd_err(c, SSD_EINVAL, "%s: conv operands for a kernel without the conv", what)
                            : SSD_OK;
  if (!a->cw || !a->edge || (s->has_bias && !a->cb))
    return ssd_err(c, SSD_EINVAL, "%s: the conv's weights, bias or edge rows are missing", what);
  if (a->L < s->K - 1 || a->L < 1 || a->M % a->L || a->ldy != a->N || s->c0 + s->D > a->N)
    return ssd_err(c, SSD_EINVAL, "%s: the conv needs whole sequences of at least %lld tokens (%lld rows "
                   "of %lld) in dense rows holding its %lld columns from %lld", what, (long long)(s->K - 1),
                   (long long)a->M, (long long)a->L, (long long)s->D, (long long)s->c0);
  if (a->cst_in && a->cst_in == a->cst_out)
    return ssd_err(c, SSD_EINVAL, "%s: the conv's state in and out must be distinct buffers", what);
  return SSD_OK;
}

int rt_cuda_gemm(rt_cuda *g, const rt_cuda_op *k, const rt_cuda_gemm_args *a, ssd_ctx *c) {
  TRY(want(k, CG_OP_GEMM, "GEMM", c));
  if (!cg_op_gemm_fits(a->M, a->N, a->K) || a->ldx < a->K || a->ldy < a->N)
    return ssd_err(c, SSD_EINVAL, "GEMM: %lld x %lld x %lld (row strides %lld, %lld) is not a shape "
                   "the kernel takes (K a multiple of 64, N of 8, at least 64)", (long long)a->M,
                   (long long)a->N, (long long)a->K, (long long)a->ldx, (long long)a->ldy);
  if (k->spec.ss_parts && !a->ss)
    return ssd_err(c, SSD_EINVAL, "GEMM: the row scale's sums of squares are missing");
  TRY(conv_args_ok(&k->spec, a, "GEMM", c));
  const bool f32 = !k->spec.out_bf16;
  rt_cuda_tmap tx, tw, ty;
  TRY(rt_cuda_tmap_box(g, &tx, a->x, false, a->K, a->ldx, a->M, CG_OP_GEMM_BM, c));
  TRY(rt_cuda_tmap_box(g, &tw, a->w, false, a->K, a->K, a->N, CG_OP_GEMM_BN, c));
  TRY(rt_cuda_tmap_box(g, &ty, a->y, f32, a->N, a->ldy, a->M, CG_OP_GEMM_BM, c));
  int M = (int)a->M, N = (int)a->N, K = (int)a->K, gm = CG_OP_GEMM_BAND;
  const int64_t tiles =
      (a->M + CG_OP_GEMM_BM - 1) / CG_OP_GEMM_BM * ((a->N + CG_OP_GEMM_BN - 1) / CG_OP_GEMM_BN);
  const unsigned grid[3] = {(unsigned)(tiles < rt_cuda_sms(g) ? tiles : rt_cuda_sms(g)), 1, 1};
  long long L = a->L;
  void *args[] = {&tx,          &tw,        &ty,          (void *)&a->ss,      &M, &N, &K, &gm,
                  (void *)&a->cw, (void *)&a->cb, (void *)&a->cst_in, (void *)&a->cst_out,
                  (void *)&a->edge, &L};
  return rt_cuda_launch(g, &k->fn, grid, CG_OP_GEMM_THREADS, args, c);
}

size_t rt_cuda_gemm_edge_bytes(const cg_op_spec *s, int64_t M) {
  const int64_t mt = (M + CG_OP_GEMM_BM - 1) / CG_OP_GEMM_BM;
  return s->K ? (size_t)(mt * 2 * (s->K - 1) * s->D) * 2 : 0;
}

int rt_cuda_conv_edge(rt_cuda *g, const rt_cuda_op *k, const rt_cuda_gemm_args *a, ssd_ctx *c) {
  TRY(want(k, CG_OP_CONV_EDGE, "conv edge", c));
  const cg_op_spec *s = &k->spec; /* the GEMM's conv fields: K, has_bias, c0, D */
  TRY(conv_args_ok(s, a, "conv edge", c));
  const int64_t mt = (a->M + CG_OP_GEMM_BM - 1) / CG_OP_GEMM_BM;
  if (mt < 2) return SSD_OK; /* one tile: the epilogue computed every row */
  TRY(rows_ok(mt - 1, 65535, "conv edge tiles", c));
  rt_dptr y = a->y + (rt_dptr)(s->c0 * 2); /* the conv's first column */
  const rt_dptr p[] = {a->edge, a->cw, a->cb, y}; /* 8 channels a thread, in 16-byte accesses */
  if (!rt_cuda_aligned16(p, 4) || a->ldy % 8)
    return ssd_err(c, SSD_EINVAL, "conv edge: an operand or Y's row stride (%lld) is not 16-byte aligned",
                   (long long)a->ldy);
  long long ld = a->ldy, M = a->M, L = a->L;
  void *args[] = {(void *)&a->edge, (void *)&a->cw, (void *)&a->cb, (void *)&a->cst_in, &y, &ld, &M, &L};
  const unsigned grid[3] = {(unsigned)((s->D / 8 + 127) / 128), (unsigned)(mt - 1), 1};
  return rt_cuda_launch(g, &k->fn, grid, 128, args, c);
}

bool rt_cuda_aligned16(const rt_dptr *p, int n) {
  for (int i = 0; i < n; i++)
    if (p[i] % 16) return false;
  return true;
}

/* A vec kernel's 16-byte accesses need its operands 16-byte aligned. */
static int vec_ok(const rt_cuda_op *k, const rt_dptr *p, int n, const char *what, ssd_ctx *c) {
  if (!k->spec.vec || rt_cuda_aligned16(p, n)) return SSD_OK;
  return ssd_err(c, SSD_EINVAL, "%s: the 16-byte variant got an operand not 16-byte aligned", what);
}

int rt_cuda_gnorm(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, rt_dptr z, rt_dptr w, rt_dptr y,
                  int64_t rows, const rt_cuda_rows_sig *after, ssd_ctx *c) {
  TRY(want(k, CG_OP_GNORM, "gated rmsnorm", c));
  TRY(rows_ok(rows, 65535, "gated rmsnorm", c));
  const rt_dptr p[] = {x, z, w, y};
  TRY(vec_ok(k, p, 4, "gated rmsnorm", c));
  const rt_cuda_rows_sig none = {0, 0, 1, 1, 1}, *s = after && after->flags ? after : &none;
  if (s->flags && (!k->spec.vec || s->L < 1 || s->seg_rows < 1 || s->batch * s->L != rows))
    return ssd_err(c, SSD_EINVAL,
                   "gated rmsnorm after the SSD kernel: %lld rows for %lld x %lld tokens%s",
                   (long long)rows, (long long)s->batch, (long long)s->L,
                   k->spec.vec ? "" : " (needs the 16-byte kernel)");
  unsigned ep = s->epoch;
  long long L = s->L, seg = s->seg_rows;
  int nb = (int)s->batch;
  void *args[] = {&x, &z, &w, &y, (void *)&s->flags, &ep, &L, &seg, &nb};
  const unsigned grid[3] = {(unsigned)k->spec.G, (unsigned)rows, 1};
  const unsigned th = (unsigned)cg_op_threads(&k->spec);
  return s->flags ? rt_cuda_launch_pdl(g, &k->fn, grid, th, args, c)
                  : rt_cuda_launch(g, &k->fn, grid, th, args, c);
}

int rt_cuda_conv(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, rt_dptr w, rt_dptr bias,
                 rt_dptr state_in, rt_dptr state_out, rt_dptr y, int64_t B, int64_t L,
                 ssd_ctx *c) {
  TRY(want(k, CG_OP_CONV, "conv1d", c));
  TRY(rows_ok(B, 65535, "conv1d batch", c));
  const int64_t T = cg_op_conv_t(&k->spec), per = k->spec.vec ? 8 : 1;
  TRY(rows_ok(L, T * 65535, "conv1d length", c));
  if (state_in && state_in == state_out)
    return ssd_err(c, SSD_EINVAL, "conv1d: the state in and out must be distinct buffers");
  if (k->spec.has_bias && !bias) return ssd_err(c, SSD_EINVAL, "conv1d: the bias is missing");
  const rt_dptr p[] = {x, y};
  TRY(vec_ok(k, p, 2, "conv1d", c));
  long long LL = L;
  void *args[] = {&x, &w, &bias, &state_in, &state_out, &y, &LL};
  const unsigned th = (unsigned)cg_op_threads(&k->spec);
  const unsigned grid[3] = {(unsigned)(((k->spec.D - k->spec.c0) / per + th - 1) / th),
                            (unsigned)((L + T - 1) / T), (unsigned)B};
  return rt_cuda_launch(g, &k->fn, grid, th, args, c);
}

int rt_cuda_conv_step(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, rt_dptr w, rt_dptr bias,
                      rt_dptr state, rt_dptr y, int64_t B, ssd_ctx *c) {
  TRY(want(k, CG_OP_CONV_STEP, "conv1d step", c));
  TRY(rows_ok(B, 65535, "conv1d step batch", c));
  if (!state || (k->spec.has_bias && !bias))
    return ssd_err(c, SSD_EINVAL, "conv1d step: the state or bias is missing");
  void *args[] = {&x, &w, &bias, &state, &y};
  const unsigned grid[3] = {(unsigned)((k->spec.D + 127) / 128), (unsigned)B, 1};
  return rt_cuda_launch(g, &k->fn, grid, 128, args, c);
}

int rt_cuda_ew(rt_cuda *g, const rt_cuda_op *k, const rt_dptr *in, rt_dptr out, int64_t n,
               ssd_ctx *c) {
  TRY(want(k, CG_OP_EW, "elementwise", c));
  if (n < 1 || n % k->spec.D)
    return ssd_err(c, SSD_EINVAL, "elementwise: %lld elements are not rows of %lld",
                   (long long)n, (long long)k->spec.D);
  rt_dptr p[CG_EW_MAX_IN] = {0};
  for (int i = 0; i < k->spec.nin; i++) {
    if (!in[i]) return ssd_err(c, SSD_EINVAL, "elementwise: input %d is missing", i);
    p[i] = in[i];
  }
  long long nn = n;
  void *args[] = {&p[0], &p[1], &p[2], &p[3], &out, &nn};
  int64_t blocks = (n + 255) / 256;
  const unsigned grid[3] = {(unsigned)(blocks < 65536 ? blocks : 65536), 1, 1};
  return rt_cuda_launch(g, &k->fn, grid, 256, args, c);
}

int rt_cuda_attention(rt_cuda *g, const rt_cuda_op *kvk, const rt_cuda_op *att, rt_dptr q,
                      rt_dptr k, rt_dptr v, rt_cuda_kv *kv, rt_dptr y, int64_t L, ssd_ctx *c) {
  TRY(want(kvk, CG_OP_KV, "kv append", c));
  TRY(want(att, CG_OP_ATTN, "attention", c));
  const cg_op_spec *a = &att->spec, *b = &kvk->spec;
  if (a->Hq != b->Hq || a->Hkv != b->Hkv || a->Dh != b->Dh || a->rd != b->rd || a->theta != b->theta)
    return ssd_err(c, SSD_EINVAL, "attention: the kv and attention kernels disagree on heads");
  TRY(rows_ok(kv->B, 65535, "attention batch", c));
  if (!kv->pos) return ssd_err(c, SSD_EINVAL, "attention: no device position (kv->pos)");
  if (L < 1 || L > 65535 || kv->len < 0 || kv->len + L > kv->cap)
    return ssd_err(c, SSD_EINVAL,
                   "attention: %lld new positions after %lld do not fit the cache of %lld",
                   (long long)L, (long long)kv->len, (long long)kv->cap);
  long long LL = L, cap = kv->cap;
  void *a1[] = {&k, &v, &kv->k, &kv->v, &LL, &kv->pos, &cap};
  const unsigned g1[3] = {(unsigned)L, (unsigned)kv->B, 1};
  TRY(rt_cuda_launch(g, &kvk->fn, g1, (unsigned)b->Dh, a1, c));
  void *a2[] = {&q, &kv->k, &kv->v, &y, &LL, &kv->pos, &cap};
  const unsigned g2[3] = {(unsigned)((a->Hq + 3) / 4), (unsigned)L, (unsigned)kv->B};
  TRY(rt_cuda_launch(g, &att->fn, g2, 128, a2, c));
  kv->len += L;
  return SSD_OK;
}

int rt_cuda_argmax(rt_cuda *g, const rt_cuda_op *k, rt_dptr x, const rt_cuda_pick *p,
                   int64_t rows, ssd_ctx *c) {
  TRY(want(k, CG_OP_ARGMAX, "argmax", c));
  TRY(rows_ok(rows, 65535, "argmax", c));
  if (!x) return ssd_err(c, SSD_EINVAL, "argmax: x is missing");
  TRY(rt_cuda_pick_check(p, cg_op_argmax_scratch(&k->spec, rows) > 0, "argmax", c));
  long long hn = p->hist_n;
  void *args[] = {&x, (void *)&p->out, (void *)&p->scratch, (void *)&p->advance, (void *)&p->hist,
                  &hn};
  const unsigned grid[3] = {(unsigned)cg_op_argmax_chunks(&k->spec), (unsigned)rows, 1};
  return rt_cuda_launch(g, &k->fn, grid, CG_OP_ARGMAX_THREADS, args, c);
}

int rt_cuda_s6(rt_cuda *g, const rt_cuda_op *k, const rt_cuda_s6_args *a, int64_t batch,
               int64_t L, ssd_ctx *c) {
  TRY(want(k, CG_OP_S6, "S6 scan", c));
  TRY(rows_ok(batch, 65535, "S6 batch", c));
  TRY(rows_ok(L, (int64_t)1 << 40, "S6 length", c));
  const cg_op_spec *s = &k->spec;
  const struct {
    const char *name;
    bool need;
    rt_dptr p;
  } t[] = {{"x", true, a->x},           {"dt", true, a->dt},  {"A", true, a->A},
           {"B", true, a->B},           {"C", true, a->C},    {"y", true, a->y},
           {"D", s->has_D, a->D},       {"z", s->has_z, a->z},
           {"dt_bias", s->has_dt_bias, a->dt_bias}};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (t[i].need && !t[i].p) return ssd_err(c, SSD_EINVAL, "S6 scan: operand %s missing", t[i].name);
  long long LL = L;
  void *args[] = {(void *)&a->x, (void *)&a->dt, (void *)&a->A,       (void *)&a->B,
                  (void *)&a->C, (void *)&a->D,  (void *)&a->z,       (void *)&a->dt_bias,
                  (void *)&a->init, (void *)&a->final, (void *)&a->y, &LL};
  const int64_t threads = s->H * cg_op_s6_tpc(s->N);
  const unsigned grid[3] = {(unsigned)((threads + CG_OP_S6_THREADS - 1) / CG_OP_S6_THREADS),
                            (unsigned)batch, 1};
  return rt_cuda_launch(g, &k->fn, grid, CG_OP_S6_THREADS, args, c);
}
