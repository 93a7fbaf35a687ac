/* cg_cuda.c: from an IR_SSM node to specialized CUDA source.
 *
 * Every shape and option of the mixer is known when a model is compiled
 * (only batch and seqlen stay symbolic), so instead of one generic kernel
 * that branches on flags and divides by runtime head counts, each distinct
 * layer shape gets its own source: a prologue of #defines that the templates
 * in codegen/cuda/ test with #if, letting the CUDA compiler fold head
 * broadcasts to shifts and drop absent operands entirely.  The kernel's name
 * carries a hash of its prologue, so two specializations never collide in
 * one process or in a manifest.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda.h"

/* ---- a growable string ---------------------------------------------------------- */
typedef struct {
  char *p;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (w < 0 || (size_t)w >= sizeof tmp) {
    b->oom = 1;
    return;
  }
  sb_add(b, tmp, (size_t)w);
}

/* ---- specs ------------------------------------------------------------------------- */
int cg_ssd_spec_from_node(const ir_node *n, cg_ssd_kind kind, cg_ssd_spec *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  if (n->op != IR_SSM || !n->a.ssm)
    return ssd_err(c, SSD_EINTERNAL, "cg_ssd_spec_from_node: node %d is not an ssm", n->id);
  const ir_ssm_attr *s = n->a.ssm;
  if (s->kind != IR_SSM_SSD)
    return ssd_err_at(c, n->loc, SSD_EUNSUPPORTED,
                      "no CUDA kernel yet for the S6 (Mamba-1) selective scan; it runs on the CPU");
  out->kind = kind;
  out->H = s->H, out->P = s->P, out->N = s->N;
  out->hx = s->hx, out->hb = s->hb, out->hc = s->hc, out->hdt = s->hdt;
  out->has_dt = n->in[IR_SSM_DT] != NULL;
  out->has_A = n->in[IR_SSM_A] != NULL;
  out->A_is_log = s->A_is_log;
  out->has_dt_bias = n->in[IR_SSM_DT_BIAS] != NULL;
  out->dt_softplus = s->dt_softplus;
  out->dt_clamp = s->dt_min > 0 || isfinite(s->dt_max);
  out->dt_min = s->dt_min;
  out->dt_max = isfinite(s->dt_max) ? s->dt_max : 3.0e38;
  out->has_D = n->in[IR_SSM_D] != NULL;
  out->D_per_channel = out->has_D && n->in[IR_SSM_D]->rank == 2;
  out->has_z = n->in[IR_SSM_Z] != NULL;
  out->has_init = kind == CG_SSD_CHUNKED && n->in[IR_SSM_INIT] != NULL;
  out->has_final = kind == CG_SSD_CHUNKED && n->nout > 1 && n->out[1] != NULL;
  return cg_ssd_check(out, c);
}

static bool ps_valid(const cg_ssd_spec *s, int ps) {
  /* 4 warps share the state tiles evenly (ssd_chunked.cuh), and hold at
   * most 64 registers of them each. */
  return ps % 16 == 0 && s->P % ps == 0 && ((s->N / 8) * (ps / 16)) % 4 == 0 &&
         s->N * ps <= 8192;
}

cg_ssd_ld cg_ssd_strides(const cg_ssd_spec *s) {
  cg_ssd_ld d = {s->hx * s->P, s->hdt, s->hb * s->N, s->hc * s->N, s->H * s->P};
  if (s->ld_x) d.x = s->ld_x;
  if (s->ld_dt) d.dt = s->ld_dt;
  if (s->ld_b) d.b = s->ld_b;
  if (s->ld_c) d.c = s->ld_c;
  if (s->ld_z) d.z = s->ld_z;
  return d;
}

/* A row stride must hold the operand's heads; the chunked kernel copies x,
 * B and C rows in 16-byte pieces, so theirs must also keep rows 16-byte
 * aligned (8 bf16).  Strides of absent operands are not checked. */
static int check_ld(const char *name, int64_t ld, int64_t width, int64_t align, ssd_ctx *c) {
  if (ld < 0 || ld > ((int64_t)1 << 31))
    return ssd_err(c, SSD_EINVAL, "ssd kernel: %s row stride %lld out of range", name, (long long)ld);
  if (ld && ld < width)
    return ssd_err(c, SSD_EINVAL, "ssd kernel: %s row stride %lld is narrower than its %lld columns",
                   name, (long long)ld, (long long)width);
  if (ld % align)
    return ssd_err(c, SSD_EUNSUPPORTED,
                   "chunked CUDA kernel: %s row stride %lld is not a multiple of %lld elements "
                   "(it reads %s rows with 16-byte copies)",
                   name, (long long)ld, (long long)align, name);
  return SSD_OK;
}

static int check_strides(const cg_ssd_spec *s, ssd_ctx *c) {
  const int64_t a = s->kind == CG_SSD_CHUNKED ? 8 : 1; /* bf16 elements per 16 bytes */
  int rc;
  if ((rc = check_ld("x", s->ld_x, s->hx * s->P, a, c)) ||
      (rc = check_ld("B", s->ld_b, s->hb * s->N, a, c)) ||
      (rc = check_ld("C", s->ld_c, s->hc * s->N, a, c)))
    return rc;
  if (s->has_dt && (rc = check_ld("dt", s->ld_dt, s->hdt, 1, c))) return rc;
  if (s->has_z && (rc = check_ld("z", s->ld_z, s->H * s->P, 1, c))) return rc;
  return SSD_OK;
}

int cg_ssd_check(const cg_ssd_spec *s, ssd_ctx *c) {
  if (s->H <= 0 || s->P <= 0 || s->N <= 0 || s->H > 65535 || s->P > 4096 || s->N > 4096)
    return ssd_err(c, SSD_EINVAL, "ssd kernel: bad sizes H=%lld P=%lld N=%lld", (long long)s->H,
                   (long long)s->P, (long long)s->N);
  const int64_t hs[4] = {s->hx, s->hb, s->hc, s->hdt};
  for (int i = 0; i < 4; i++)
    if (hs[i] <= 0 || s->H % hs[i])
      return ssd_err(c, SSD_EINVAL, "ssd kernel: operand heads %lld do not divide H=%lld",
                     (long long)hs[i], (long long)s->H);
  int rc = check_strides(s, c);
  if (rc) return rc;
  if (s->gnorm && (s->kind != CG_SSD_CHUNKED || !s->has_z))
    return ssd_err(c, SSD_EINVAL, "ssd kernel: a folded gated norm needs the chunked kernel and z");
  if (s->xconv_k && (s->kind != CG_SSD_CHUNKED || s->wg || s->xconv_k < 2 || s->xconv_k > 4 ||
                     (s->ps && s->ps > 64)))
    return ssd_err(c, SSD_EUNSUPPORTED, "ssd kernel: a folded conv needs the mma.sync chunked "
                   "kernel, width 2..4 and at most 64 channels per block (width %d)", s->xconv_k);
  if (s->xconv_ld_state && (s->xconv_ld_state < s->hx * s->P || s->xconv_ld_state > ((int64_t)1 << 30)))
    return ssd_err(c, SSD_EINVAL, "ssd kernel: conv state rows of %lld channels cannot hold x's %lld",
                   (long long)s->xconv_ld_state, (long long)(s->hx * s->P));
  if (s->kind == CG_SSD_STEP) {
    if (s->dt_f32 || s->z_f32)
      return ssd_err(c, SSD_EINVAL, "ssd step kernel: fp32 inputs are set by in_f32, not dt_f32/z_f32");
    return SSD_OK;
  }
  if (s->in_f32)
    return ssd_err(c, SSD_EUNSUPPORTED,
                   "the chunked CUDA kernel takes bf16 x, B, C (dt and z may be fp32: dt_f32, z_f32)");
  if (s->N % 16 || s->N > 256 || s->P % 16)
    return ssd_err(c, SSD_EUNSUPPORTED,
                   "the chunked CUDA kernel needs d_state %% 16 == 0 and <= 256 and headdim %% 16 "
                   "== 0 (got N=%lld, P=%lld)",
                   (long long)s->N, (long long)s->P);
  if (s->tma && !cg_ssd_tma_fits(s))
    return ssd_err(c, SSD_EUNSUPPORTED, "the SSD kernel's tensor copies need the mma.sync chunked "
                   "kernel and d_state %% 64 == 0 (got N=%lld)", (long long)s->N);
  if (s->wg && !cg_ssd_wg_fits(s))
    return ssd_err(c, SSD_EUNSUPPORTED,
                   "the wgmma SSD kernel needs 64 channels per block and d_state 64 or 128 "
                   "(got P=%lld, N=%lld, %d per block)",
                   (long long)s->P, (long long)s->N, s->ps);
  if (s->ps && !ps_valid(s, s->ps))
    return ssd_err(c, SSD_EUNSUPPORTED, "chunked CUDA kernel: %d channels per block do not fit "
                   "P=%lld, N=%lld", s->ps, (long long)s->P, (long long)s->N);
  if (!s->ps && cg_ssd_pick_ps(s, 1, 132) == 0)
    return ssd_err(c, SSD_EUNSUPPORTED, "chunked CUDA kernel: no channel tiling fits P=%lld, N=%lld",
                   (long long)s->P, (long long)s->N);
  return SSD_OK;
}

int cg_ssd_pick_ps(const cg_ssd_spec *s, int64_t batch, int sms) {
  /* The widest slice: it recomputes C B^T for the fewest blocks, and the
   * kernel splits the sequence into segments when batch * heads * slices
   * blocks would not fill the machine.  (batch and sms stay in the signature
   * for tilings whose choice will depend on them.) */
  (void)batch, (void)sms;
  static const int cand[] = {64, 32, 16};
  for (int i = 0; i < 3; i++)
    if (ps_valid(s, cand[i])) return cand[i];
  return 0;
}

bool cg_ssd_wg_fits(const cg_ssd_spec *s) {
  return s->kind == CG_SSD_CHUNKED && !s->in_f32 && !s->xconv_k && (s->ps == 64 || (!s->ps && s->P % 64 == 0)) &&
         (s->N == 64 || s->N == 128);
}

bool cg_ssd_tma_fits(const cg_ssd_spec *s) {
  return s->kind == CG_SSD_CHUNKED && !s->wg && !s->in_f32 && s->N % 64 == 0;
}

bool cg_ssd_z_tile(const cg_ssd_spec *s) {
  const int64_t ps = s->ps ? s->ps : cg_ssd_pick_ps(s, 1, 132);
  return s->kind == CG_SSD_CHUNKED && !s->wg && s->has_z && !s->z_f32 && !s->in_f32 && ps > 0 &&
         cg_ssd_strides(s).z % 8 == 0 && ps * (s->N + 8) >= CG_SSD_CHUNK * (ps + 8);
}

bool cg_arch_has_wgmma(const char *arch) {
  return arch && (!strcmp(arch, "sm_90") || !strcmp(arch, "sm_90a") || cg_arch_is_emu(arch));
}

bool cg_arch_has_tma(const char *arch) {
  /* sm_90's tensor memory accelerator; later architectures keep it */
  int major = 0;
  if (arch && sscanf(arch, "sm_%d", &major) == 1) return major >= 90;
  return cg_arch_is_emu(arch);
}

int cg_ssd_threads(const cg_ssd_spec *s) {
  /* ssd_chunked.cuh: NWARPS = 4 warps; ssd_wg.cuh: those and its producer warp */
  return s->kind == CG_SSD_CHUNKED && s->wg ? 160 : 128;
}

size_t cg_ssd_smem_bytes(const cg_ssd_spec *s) {
  size_t Q = CG_SSD_CHUNK, xs = (size_t)s->ps + 8, bs = (size_t)s->N + 8;
  if (s->wg) {
    /* struct wg_smem in codegen/cuda/ssd_wg.cuh: two stages of unpadded x, B,
     * C tiles, the bf16 state, two chunks' scans, four mbarriers, seglog and
     * the ticket */
    size_t n = 2 * (2 * (Q * (size_t)s->ps + 2 * Q * (size_t)s->N) + (size_t)s->ps * (size_t)s->N) +
               2 * (3 * Q + 1) * 4 + 4 * 8 + 8;
    return (n + 15) & ~(size_t)15;
  }
  /* struct ssd_smem in codegen/cuda/ssd_chunked.cuh: bf16 x, B, C tiles
   * (x with K - 1 halo rows per 16 rows when the conv is folded in), state
   * operand and C B^T tile, a folded norm's weights, then the scan's floats;
   * with tensor copies B and C dense, and two mbarriers */
  const size_t xrows = Q + (s->xconv_k ? (Q / 16) * (size_t)(s->xconv_k - 1) : 0);
  const size_t bcs = s->tma ? (size_t)s->N : bs;
  size_t n = 2 * (xrows * xs + 2 * Q * bcs + (size_t)s->ps * bs + Q * (Q + 8)) +
             (s->gnorm ? (size_t)s->ps * 4 : 0) + (3 * Q + 2) * 4 + 4;
  n = (n + 15) & ~(size_t)15;
  return s->tma ? n + 16 : n;
}

/* ---- source ------------------------------------------------------------------------ */
static void prologue(sbuf *b, const cg_ssd_spec *s) {
  sb_printf(b, "#define SSD_P %lld\n#define SSD_N %lld\n#define SSD_H %lld\n", (long long)s->P,
            (long long)s->N, (long long)s->H);
  sb_printf(b, "#define SSD_HX %lld\n#define SSD_HB %lld\n#define SSD_HC %lld\n#define SSD_HDT %lld\n",
            (long long)s->hx, (long long)s->hb, (long long)s->hc, (long long)s->hdt);
  if (s->kind == CG_SSD_CHUNKED) sb_printf(b, "#define SSD_PS %d\n", s->ps);
  const cg_ssd_ld ld = cg_ssd_strides(s);
  sb_printf(b, "#define SSD_LD_X %lld\n#define SSD_LD_DT %lld\n#define SSD_LD_B %lld\n"
            "#define SSD_LD_C %lld\n#define SSD_LD_Z %lld\n", (long long)ld.x, (long long)ld.dt,
            (long long)ld.b, (long long)ld.c, (long long)ld.z);
  const struct {
    const char *name;
    bool v;
  } flags[] = {{"HAS_DT", s->has_dt},       {"HAS_A", s->has_A},
               {"A_IS_LOG", s->A_is_log},   {"HAS_DT_BIAS", s->has_dt_bias},
               {"DT_SOFTPLUS", s->dt_softplus}, {"DT_CLAMP", s->dt_clamp},
               {"HAS_D", s->has_D},         {"D_PER_CHANNEL", s->D_per_channel},
               {"HAS_Z", s->has_z},         {"HAS_INIT", s->has_init},
               {"HAS_FINAL", s->has_final}, {"IN_F32", s->in_f32},
               {"DT_F32", s->dt_f32},       {"Z_F32", s->z_f32},
               {"Y_F32", s->y_f32},         {"GNORM", s->gnorm},
               {"WG", s->wg},               {"Z_TILE", cg_ssd_z_tile(s)},
               {"TMA", s->tma}};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
    sb_printf(b, "#define SSD_%s %d\n", flags[i].name, flags[i].v ? 1 : 0);
  if (s->kind == CG_SSD_CHUNKED)
    sb_printf(b, "#define SSD_XCONV_K %d\n#define SSD_XCONV_BIAS %d\n#define SSD_XCONV_SLD %lldLL\n",
              s->xconv_k, s->xconv_bias ? 1 : 0,
              (long long)(s->xconv_ld_state ? s->xconv_ld_state : s->hx * s->P));
  /* %.9g round-trips a float: the clamp bounds are applied in fp32. */
  sb_printf(b, "#define SSD_DT_MIN %.9gf\n#define SSD_DT_MAX %.9gf\n", s->dt_min, s->dt_max);
}

int cg_ssd_source(const cg_ssd_spec *s0, cg_source *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  cg_ssd_spec s = *s0;
  int rc = cg_ssd_check(&s, c);
  if (rc) return rc;
  if (s.kind == CG_SSD_CHUNKED && !s.ps) s.ps = cg_ssd_pick_ps(&s, 1, 132);
  const bool chunked = s.kind == CG_SSD_CHUNKED;
  const char *kind = !chunked ? "ssd_step" : s.wg ? "ssd_wg" : "ssd_chunked";
  /* common helpers, then for the chunked kernels what both share, then the body */
  const char *parts[4] = {cg_template("ssd_common.cuh"), chunked ? cg_template("ssd_seg.cuh") : "",
                          !s.wg ? "" : cg_template("wg_mma.cuh"),
                          cg_template(!chunked ? "ssd_step.cuh" : s.wg ? "ssd_wg.cuh" : "ssd_chunked.cuh")};
  for (int i = 0; i < 4; i++)
    if (!parts[i]) return ssd_err(c, SSD_EINTERNAL, "kernel template for %s not embedded", kind);

  sbuf pro = {0};
  prologue(&pro, &s);
  if (pro.oom) {
    free(pro.p);
    return ssd_err(c, SSD_ENOMEM, "out of memory generating %s", kind);
  }
  snprintf(out->name, sizeof out->name, "%s_h%lldp%lldn%lld_%08llx", kind, (long long)s.H,
           (long long)s.P, (long long)s.N,
           (unsigned long long)(ssd_hash64(pro.p, pro.n, 0) & 0xffffffffu));
  sbuf b = {0};
  sb_printf(&b, "// generated by ssdc %s: %s\n", SSDC_VERSION, out->name);
  sb_add(&b, pro.p, pro.n);
  sb_printf(&b, "#define SSD_KERNEL %s\n", out->name);
  for (int i = 0; i < 4; i++) sb_add(&b, parts[i], strlen(parts[i]));
  free(pro.p);
  if (b.oom) {
    free(b.p);
    return ssd_err(c, SSD_ENOMEM, "out of memory generating %s", kind);
  }
  out->src = b.p;
  return SSD_OK;
}

void cg_source_free(cg_source *s) {
  free(s->src);
  s->src = NULL;
}
