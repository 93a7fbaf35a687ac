/* cg_cuda_ops.c: source generation for the small-op and S6 kernels.
 *
 * Same scheme as cg_cuda.c: a prologue of #defines specializes a template
 * (codegen/cuda/ops_*.cuh, s6_scan.cuh) on every shape and option, and the
 * entry point's name carries a hash of the prologue.  Every kernel gets
 * ssd_common.cuh (bf16 conversion) and ops_common.cuh (storage types,
 * block reductions) first.  The elementwise chain is the one kernel whose
 * body is generated too: its steps become straight-line code on one float.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda_ops.h"

typedef struct {
  char *p;
  size_t n, cap;
  int oom;
} obuf;

__attribute__((format(printf, 2, 3))) static void ob_printf(obuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (b->oom || w < 0) {
    b->oom = 1;
    return;
  }
  if (b->n + (size_t)w + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + (size_t)w + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q, b->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, (size_t)w + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)w;
}

static const char *const kind_name[] = {"embed", "rmsnorm", "gnorm", "conv",   "conv_step",
                                        "ew",    "kv",      "attn",  "s6",     "argmax",
                                        "gemm",  "conv_edge"};
static const char *const kind_tpl[] = {"ops_embed.cuh", "ops_rmsnorm.cuh", "ops_gnorm.cuh",
                                       "ops_conv.cuh",  "ops_conv_step.cuh", "ops_ew.cuh",
                                       "ops_kv.cuh",    "ops_attn.cuh",    "s6_scan.cuh",
                                       "ops_argmax.cuh", "gw_gemm.cuh",   "ops_conv.cuh"};

int cg_op_s6_tpc(int64_t N) {
  /* Up to 16 states per thread stay in registers; more threads split larger N. */
  int tpc = 1;
  while (tpc < 32 && N / tpc > 16) tpc *= 2;
  return tpc;
}

static int64_t argmax_chunk(const cg_op_spec *s) { return s->chunk ? s->chunk : s->D; }
int64_t cg_op_argmax_chunks(const cg_op_spec *s) {
  return (s->D + argmax_chunk(s) - 1) / argmax_chunk(s);
}
size_t cg_op_argmax_scratch(const cg_op_spec *s, int64_t rows) {
  /* ops_argmax.cuh: long long idx and float val per partial, one unsigned count */
  const int64_t n = rows * cg_op_argmax_chunks(s);
  return n == 1 ? 0 : (size_t)n * (sizeof(long long) + sizeof(float)) + sizeof(unsigned);
}

#define BAD(...) ssd_err(c, SSD_EUNSUPPORTED, __VA_ARGS__)
static bool pos_le(int64_t v, int64_t hi) { return v > 0 && v <= hi; }

static int check_ew(const cg_op_spec *s, ssd_ctx *c) {
  if (s->nin < 1 || s->nin > CG_EW_MAX_IN || s->nsteps < 0 || s->nsteps > CG_EW_MAX_STEPS)
    return BAD("elementwise kernel: %d inputs, %d steps (at most %d, %d)", s->nin, s->nsteps,
               CG_EW_MAX_IN, CG_EW_MAX_STEPS);
  if (s->in_row[0]) return BAD("elementwise kernel: input 0 must be a full operand");
  for (int i = 0; i < s->nsteps; i++) {
    const cg_ew_step *t = &s->steps[i];
    if ((int)t->op < 0 || t->op > CG_EW_DIV) return BAD("elementwise kernel: bad op %d", (int)t->op);
    if (t->op >= CG_EW_ADD && (t->arg < 1 || t->arg >= s->nin))
      return BAD("elementwise kernel: step %d reads input %d of %d", i, t->arg, s->nin);
  }
  return SSD_OK;
}

bool cg_op_vec_fits(const cg_op_spec *s) {
  const int64_t ldx = s->ldx ? s->ldx : s->D, ldz = s->ldz ? s->ldz : s->D;
  if (!s->in_bf16 || ldx % 8) return false;
  if (s->kind == CG_OP_GNORM)
    return s->G >= 1 && s->D % s->G == 0 && (s->D / s->G) % 8 == 0 && ldz % 8 == 0;
  return s->kind == CG_OP_CONV && s->out_bf16 && s->D % 8 == 0; /* y written as x's 16-byte pieces */
}

int cg_op_check(const cg_op_spec *s, ssd_ctx *c) {
  switch (s->kind) {
  case CG_OP_EMBED:
    if (!pos_le(s->D, 1 << 20) || !pos_le(s->V, (int64_t)1 << 31))
      return BAD("embedding kernel: bad sizes D=%lld V=%lld", (long long)s->D, (long long)s->V);
    if (s->w_split && !s->w_bf16) return BAD("embedding kernel: a split table must be bf16");
    return SSD_OK;
  case CG_OP_RMSNORM:
    if (!pos_le(s->D, 256 * 64) || !(s->eps >= 0))
      return BAD("rmsnorm kernel: width %lld (at most 16384) or eps bad", (long long)s->D);
    if (s->ss_parts && (!s->res_in || !pos_le(s->ss_parts, 1 << 16) || !pos_le(s->ss_D, 1 << 24) ||
                        !(s->ss_eps >= 0)))
      return BAD("rmsnorm kernel: a row-scaled input needs the residual add, at most 65536 "
                 "partial sums, a positive width and eps >= 0 (parts %lld, width %lld)",
                 (long long)s->ss_parts, (long long)s->ss_D);
    return SSD_OK;
  case CG_OP_GNORM:
    if (s->vec && !cg_op_vec_fits(s))
      return BAD("gated rmsnorm kernel: 16-byte accesses need bf16 input and a group width "
                 "and strides that are multiples of 8 (D=%lld G=%lld ldx=%lld ldz=%lld)",
                 (long long)s->D, (long long)s->G, (long long)s->ldx, (long long)s->ldz);
    if ((s->ldx && s->ldx < s->D) || (s->ldz && s->ldz < s->D))
      return BAD("gated rmsnorm kernel: row strides %lld, %lld below the width %lld",
                 (long long)s->ldx, (long long)s->ldz, (long long)s->D);
    if (!pos_le(s->G, s->D) || s->D % s->G || s->D / s->G > 256 * 64 || !(s->eps >= 0))
      return BAD("gated rmsnorm kernel: %lld groups do not split width %lld (group <= 16384)",
                 (long long)s->G, (long long)s->D);
    return SSD_OK;
  case CG_OP_CONV:
  case CG_OP_CONV_STEP:
    if (s->vec && !cg_op_vec_fits(s))
      return BAD("conv1d kernel: 16-byte accesses need a prefill conv with bf16 input and "
                 "output and channels and stride multiples of 8 (C=%lld ldx=%lld)",
                 (long long)s->D, (long long)s->ldx);
    if (s->ldx && s->ldx < s->D)
      return BAD("conv1d kernel: row stride %lld below the channels %lld", (long long)s->ldx,
                 (long long)s->D);
    if (s->c0 < 0 || s->c0 >= s->D || s->c0 % 8 || (s->c0 && s->kind != CG_OP_CONV))
      return BAD("conv1d kernel: first output channel %lld (a multiple of 8 below %lld, "
                 "prefill only)", (long long)s->c0, (long long)s->D);
    if (!pos_le(s->D, 1 << 24) || !pos_le(s->K, 16))
      return BAD("conv1d kernel: channels %lld, width %lld (1..16)", (long long)s->D,
                 (long long)s->K);
    if (s->conv_t < 0 || s->conv_t > (s->vec ? CG_OP_CONV_VT_MAX : 1024))
      return BAD("conv1d kernel: %d time steps per thread (0 .. %d)", s->conv_t,
                 s->vec ? CG_OP_CONV_VT_MAX : 1024);
    return SSD_OK;
  case CG_OP_EW:
    if (!pos_le(s->D, (int64_t)1 << 40)) return BAD("elementwise kernel: bad column count");
    return check_ew(s, c);
  case CG_OP_KV:
  case CG_OP_ATTN:
    if (!pos_le(s->Hq, 4096) || !pos_le(s->Hkv, s->Hq) || s->Hq % s->Hkv || s->Dh % 32 ||
        !pos_le(s->Dh, 256) || s->rd < 0 || s->rd > s->Dh || s->rd % 2 ||
        (s->rd && !(s->theta > 0)))
      return BAD("attention kernels: need Hkv | Hq, head dim %% 32 == 0 and <= 256, even rotary "
                 "dims <= head dim (got Hq=%lld Hkv=%lld Dh=%lld rd=%lld)",
                 (long long)s->Hq, (long long)s->Hkv, (long long)s->Dh, (long long)s->rd);
    return SSD_OK;
  case CG_OP_S6:
    if (!pos_le(s->H, 1 << 24) || !pos_le(s->N, 256) || !pos_le(s->hb, s->H) ||
        !pos_le(s->hc, s->H) || s->H % s->hb || s->H % s->hc ||
        s->N % cg_op_s6_tpc(s->N))
      return BAD("S6 scan kernel: need d_state <= 256 split evenly over %d threads, groups "
                 "dividing %lld channels (got N=%lld hb=%lld hc=%lld)",
                 cg_op_s6_tpc(s->N), (long long)s->H, (long long)s->N, (long long)s->hb,
                 (long long)s->hc);
    return SSD_OK;
  case CG_OP_ARGMAX:
    if (!pos_le(s->D, (int64_t)1 << 31) || s->chunk < 0 || s->chunk % 32)
      return BAD("argmax kernel: bad row width %lld or chunk %lld (a multiple of 32)",
                 (long long)s->D, (long long)s->chunk);
    return SSD_OK;
  case CG_OP_GEMM:
    if (!s->in_bf16 || !s->w_bf16 || s->out_bf16 == s->res_in)
      return BAD("GEMM kernel: bf16 operands, and either a bf16 output or an fp32 one it adds into");
    if (s->ss_parts && (s->out_bf16 || !pos_le(s->ss_parts, 1 << 16) || !pos_le(s->ss_D, 1 << 24) ||
                        !(s->ss_eps >= 0)))
      return BAD("GEMM kernel: a row scale needs the fp32 output, at most 65536 partial sums, a "
                 "positive width and eps >= 0 (parts %lld, width %lld)", (long long)s->ss_parts,
                 (long long)s->ss_D);
    if (s->K && (!s->out_bf16 || s->K < 2 || s->K > 4 || s->c0 < 0 || s->c0 % 8 || !pos_le(s->D, 1 << 24) ||
                 s->D % 8))
      return BAD("GEMM kernel: a conv in the epilogue needs a bf16 output, 2..4 taps and columns "
                 "[c0, c0 + D) in multiples of 8 (K %lld, c0 %lld, D %lld)", (long long)s->K,
                 (long long)s->c0, (long long)s->D);
    return SSD_OK;
  case CG_OP_CONV_EDGE:
    if (s->K < 2 || s->K > 4 || !pos_le(s->D, 1 << 24) || s->D % 8)
      return BAD("conv edge kernel: 2..4 taps over channels in multiples of 8 (K %lld, D %lld)",
                 (long long)s->K, (long long)s->D);
    return SSD_OK;
  }
  return ssd_err(c, SSD_EINTERNAL, "cg_op_check: unknown kernel kind %d", (int)s->kind);
}

/* The vector gated norm gives each thread about four 8-element pieces of a
 * group (fewer threads for narrow groups: blocks are one group of one row). */
int cg_op_threads(const cg_op_spec *s) {
  if (s->kind == CG_OP_GEMM) return CG_OP_GEMM_THREADS;
  if (s->kind == CG_OP_CONV || s->kind == CG_OP_CONV_STEP || s->kind == CG_OP_CONV_EDGE) return 128;
  if (s->kind != CG_OP_GNORM || !s->vec || s->G < 1) return 256;
  const int64_t nv = s->D / s->G / 8, t = (nv + 3) / 4;
  return t <= 32 ? 32 : t >= 256 ? 256 : (int)((t + 31) / 32 * 32);
}

size_t cg_op_gemm_smem(void) {
  /* gw_gemm.cuh's gw_smem: per stage a BM x BK and a BN x BK bf16 box and
   * two mbarriers; two staging halves of two boxes of BM rows x 128 bytes,
   * two mbarriers each */
  return CG_OP_GEMM_STAGES * ((size_t)(CG_OP_GEMM_BM + CG_OP_GEMM_BN) * CG_OP_GEMM_BK * 2 + 2 * 8) +
         2 * (2 * (size_t)CG_OP_GEMM_BM * 128 + 2 * 8);
}

bool cg_op_gemm_fits(int64_t M, int64_t N, int64_t K) {
  return M >= 1 && M <= INT32_MAX && N >= 64 && N <= INT32_MAX && K >= CG_OP_GEMM_BK && K <= INT32_MAX &&
         K % CG_OP_GEMM_BK == 0 && N % 8 == 0;
}

int cg_op_conv_t(const cg_op_spec *s) {
  return s->conv_t ? s->conv_t : s->vec ? CG_OP_CONV_VT : CG_OP_CONV_T;
}

/* B and C are staged in shared memory when every channel of a block reads
 * the same group (blocks never straddle a group) and they fit. */
static int s6_bc_shared(const cg_op_spec *s) {
  const int64_t cpb = CG_OP_S6_THREADS / cg_op_s6_tpc(s->N);
  return (s->H / s->hb) % cpb == 0 && (s->H / s->hc) % cpb == 0 && s->N <= 128;
}

int cg_op_s6_from_node(const ir_node *n, cg_op_spec *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  if (n->op != IR_SSM || !n->a.ssm || n->a.ssm->kind != IR_SSM_S6)
    return ssd_err(c, SSD_EINTERNAL, "cg_op_s6_from_node: node %d is not an S6 mixer", n->id);
  const ir_ssm_attr *a = n->a.ssm;
  if (a->P != 1 || a->hx != a->H || a->hdt != a->H || !n->in[IR_SSM_DT] || !n->in[IR_SSM_A] ||
      (n->in[IR_SSM_D] && n->in[IR_SSM_D]->rank == 2 && a->P != 1))
    return ssd_err_at(c, n->loc, SSD_EUNSUPPORTED,
                      "the CUDA S6 scan needs head dim 1, x and dt on every channel, dt and A "
                      "(got H=%lld P=%lld hx=%lld hdt=%lld)",
                      (long long)a->H, (long long)a->P, (long long)a->hx, (long long)a->hdt);
  *out = (cg_op_spec){.kind = CG_OP_S6, .H = a->H, .N = a->N, .hb = a->hb, .hc = a->hc,
                      .has_dt_bias = n->in[IR_SSM_DT_BIAS] != NULL, .dt_softplus = a->dt_softplus,
                      .A_is_log = a->A_is_log, .has_D = n->in[IR_SSM_D] != NULL,
                      .has_z = n->in[IR_SSM_Z] != NULL,
                      .dt_clamp = a->dt_min > 0 || isfinite(a->dt_max), .dt_min = a->dt_min,
                      .dt_max = a->dt_max};
  return cg_op_check(out, c);
}

static void ew_body(obuf *b, const cg_op_spec *s) {
  static const char *const un[] = {"ssd_silu_exact(v)", "ops_softplus(v)", "expf(v)", "logf(v)",
                                   "ew_gelu_erf(v)", "ew_gelu_tanh(v)",
                                   "1.f / (1.f + expf(-v))", "-v"};
  static const char binop[] = {'+', '-', '*', '/'};
  for (int i = 0; i < CG_EW_MAX_IN; i++)
    ob_printf(b, "#define OPS_EW_ROW%d %d\n", i, i < s->nin && s->in_row[i] ? 1 : 0);
  ob_printf(b, "#define OPS_EW_BODY");
  for (int i = 0; i < s->nsteps; i++) {
    const cg_ew_step *t = &s->steps[i];
    if (t->op == CG_EW_CLAMP)
      ob_printf(b, " v = fminf(fmaxf(v, %.9gf), %.9gf);", t->lo, t->hi);
    else if (t->op >= CG_EW_ADD)
      ob_printf(b, " v = v %c EW_IN(%d);", binop[t->op - CG_EW_ADD], t->arg);
    else
      ob_printf(b, " v = %s;", un[t->op]);
  }
  ob_printf(b, "\n");
}

/* %.17g: doubles that reach the kernel as literals round-trip exactly. */
static void prologue(obuf *b, const cg_op_spec *s) {
  ob_printf(b, "#define OPS_IN_BF16 %d\n#define OPS_OUT_BF16 %d\n#define OPS_W_BF16 %d\n",
            s->in_bf16, s->out_bf16, s->w_bf16);
  switch (s->kind) {
  case CG_OP_ARGMAX:
    ob_printf(b, "#define OPS_D %lldLL\n#define AM_THREADS %d\n#define AM_CHUNK %lldLL\n",
              (long long)s->D, CG_OP_ARGMAX_THREADS, (long long)argmax_chunk(s));
    break;
  case CG_OP_GEMM:
    ob_printf(b, "#define GW_BM %d\n#define GW_BN %d\n#define GW_BK %d\n#define GW_STAGES %d\n",
              CG_OP_GEMM_BM, CG_OP_GEMM_BN, CG_OP_GEMM_BK, CG_OP_GEMM_STAGES);
    ob_printf(b, "#define GW_EPI %d\n#define GW_SS_PARTS %lld\n#define GW_SS_D %lld\n"
                 "#define GW_SS_EPS %.17g\n", s->out_bf16 ? 0 : 1, (long long)s->ss_parts,
              (long long)s->ss_D, s->ss_eps);
    ob_printf(b, "#define GW_CV_K %lld\n#define GW_CV_C0 %lld\n#define GW_CV_D %lld\n#define GW_CV_BIAS %d\n"
                 "#define GW_CV_SILU %d\n", (long long)s->K, (long long)s->c0, (long long)s->D, s->has_bias,
              s->silu);
    break;
  case CG_OP_CONV_EDGE:
    ob_printf(b, "#define OPS_EDGE 1\n#define OPS_C %lld\n#define OPS_K %lld\n#define OPS_HAS_BIAS %d\n"
                 "#define OPS_SILU %d\n#define OPS_TILE_M %d\n",
              (long long)s->D, (long long)s->K, s->has_bias, s->silu, CG_OP_GEMM_BM);
    break;
  case CG_OP_EMBED:
    ob_printf(b, "#define OPS_D %lld\n#define OPS_V %lldLL\n#define OPS_W_SPLIT %d\n", (long long)s->D,
              (long long)s->V, s->w_split);
    break;
  case CG_OP_RMSNORM:
    ob_printf(b, "#define OPS_D %lld\n#define OPS_EPS %.17g\n#define OPS_RES_IN %d\n"
                 "#define OPS_RES_OUT %d\n#define OPS_SS_PARTS %lld\n#define OPS_SS_D %lld\n"
                 "#define OPS_SS_EPS %.17g\n",
              (long long)s->D, s->eps, s->res_in, s->res_out, (long long)s->ss_parts,
              (long long)s->ss_D, s->ss_eps);
    break;
  case CG_OP_GNORM:
    ob_printf(b, "#define OPS_VEC %d\n#define OPS_THREADS %d\n", s->vec, cg_op_threads(s));
    ob_printf(b, "#define OPS_D %lld\n#define OPS_G %lld\n#define OPS_EPS %.17g\n"
                 "#define OPS_BEFORE_GATE %d\n#define OPS_LDX %lldLL\n#define OPS_LDZ %lldLL\n",
              (long long)s->D, (long long)s->G, s->eps, s->norm_before_gate,
              (long long)(s->ldx ? s->ldx : s->D), (long long)(s->ldz ? s->ldz : s->D));
    break;
  case CG_OP_CONV:
  case CG_OP_CONV_STEP:
    ob_printf(b, "#define OPS_C %lld\n#define OPS_K %lld\n#define OPS_HAS_BIAS %d\n"
                 "#define OPS_SILU %d\n#define OPS_T %d\n#define OPS_LDX %lldLL\n"
                 "#define OPS_VEC %d\n#define OPS_C0 %lld\n#define OPS_EDGE 0\n",
              (long long)s->D, (long long)s->K, s->has_bias, s->silu, cg_op_conv_t(s),
              (long long)(s->ldx ? s->ldx : s->D), s->vec, (long long)s->c0);
    break;
  case CG_OP_EW:
    ob_printf(b, "#define OPS_COLS %lldLL\n", (long long)s->D);
    ew_body(b, s);
    break;
  case CG_OP_KV:
  case CG_OP_ATTN:
    ob_printf(b, "#define OPS_HQ %lld\n#define OPS_HKV %lld\n#define OPS_DH %lld\n"
                 "#define OPS_RD %lld\n#define OPS_THETA %.17g\n#define OPS_SCALE %.9g\n",
              (long long)s->Hq, (long long)s->Hkv, (long long)s->Dh, (long long)s->rd,
              s->rd ? s->theta : 1.0, s->scale > 0 ? s->scale : 1.0 / sqrt((double)s->Dh));
    break;
  case CG_OP_S6:
    ob_printf(b, "#define S6_H %lld\n#define S6_N %lld\n#define S6_HB %lld\n#define S6_HC %lld\n"
                 "#define S6_TPC %d\n",
              (long long)s->H, (long long)s->N, (long long)s->hb, (long long)s->hc,
              cg_op_s6_tpc(s->N));
    ob_printf(b, "#define S6_THREADS %d\n#define S6_T %d\n#define S6_BC_SHARED %d\n",
              CG_OP_S6_THREADS, CG_OP_S6_T, s6_bc_shared(s));
    ob_printf(b, "#define S6_HAS_DT_BIAS %d\n#define S6_DT_SOFTPLUS %d\n#define S6_A_IS_LOG %d\n"
                 "#define S6_HAS_D %d\n#define S6_HAS_Z %d\n#define S6_DT_CLAMP %d\n",
              s->has_dt_bias, s->dt_softplus, s->A_is_log, s->has_D, s->has_z, s->dt_clamp);
    ob_printf(b, "#define S6_DT_MIN %.9gf\n#define S6_DT_MAX %.9gf\n", s->dt_min,
              isfinite(s->dt_max) ? s->dt_max : 3.0e38);
    break;
  }
}

int cg_op_source(const cg_op_spec *s, cg_source *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  int rc = cg_op_check(s, c);
  if (rc) return rc;
  const char *common = cg_template("ssd_common.cuh"), *ops = cg_template("ops_common.cuh");
  const char *body = cg_template(kind_tpl[s->kind]);
  /* the pick rule, shared with the LM head GEMV's argmax (cg_cuda_dec.c) */
  const char *am = s->kind == CG_OP_ARGMAX ? cg_template("am_common.cuh") : "";
  const char *wg = s->kind == CG_OP_GEMM ? cg_template("wg_mma.cuh") : "";
  if (!common || !ops || !body || !am || !wg)
    return ssd_err(c, SSD_EINTERNAL, "kernel template %s not embedded", kind_tpl[s->kind]);
  obuf pro = {0}, b = {0};
  prologue(&pro, s);
  if (!pro.oom)
    snprintf(out->name, sizeof out->name, "ops_%s_%08llx", kind_name[s->kind],
             (unsigned long long)(ssd_hash64(pro.p, pro.n, 0) & 0xffffffffu));
  ob_printf(&b, "// generated by ssdc %s: %s\n%s#define OPS_KERNEL %s\n", SSDC_VERSION, out->name,
            pro.oom ? "" : pro.p, out->name);
  ob_printf(&b, "%s%s%s%s%s", common, ops, am, wg, body);
  free(pro.p);
  if (pro.oom || b.oom) {
    free(b.p);
    return ssd_err(c, SSD_ENOMEM, "out of memory generating the %s kernel", kind_name[s->kind]);
  }
  out->src = b.p;
  return SSD_OK;
}
