/* cg_cuda_dec.c: source generation for the decode-step kernels
 * (cg_cuda_dec.h): a prologue of #defines, then ssd_common.cuh (bf16
 * conversion, mma, softplus/dt helpers) and dec_common.cuh, then the
 * kind's template.  The entry point's name carries a hash of the prologue,
 * so every distinct specialization has its own name (and cache key).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cuda_dec.h"

#define BAD(...) ssd_err(c, SSD_EUNSUPPORTED, __VA_ARGS__)
#define DEC_MIXER_ROWS_DEFAULT 16

static bool pos_le(int64_t v, int64_t hi) { return v > 0 && v <= hi; }
static bool divides(int64_t d, int64_t n) { return d > 0 && n % d == 0; }

/* Measured on the H100 (bench/NOTES.md, "Decode kernels, session 2"): with
 * fewer than ~4 blocks per multiprocessor, 16 warps per block keep more
 * bytes in flight (2.7b out_proj: 12.2 us vs 15.7 with 8); with more, 8. */
int cg_dec_gemv_warps(const cg_dec_spec *s) {
  if (s->warps > 0) return s->warps;
  return (s->N + CG_DEC_GEMV_ROWS - 1) / CG_DEC_GEMV_ROWS < 512 ? 16 : 8;
}
/* Measured on the H100 (session 6, bench/NOTES.md): unrolling past the
 * slabs a warp owns only lengthens its one pass (130m in_proj, K = 768 over
 * 16 warps = 1.5 slabs each: 3.72 us at 4, 2.97 at 1; whole 130m decode at
 * batch 1: 0.355 -> 0.337 ms/step).  So for M <= 8: the largest power of two
 * <= min(slabs per warp, 4).  For M > 8 (two n-tiles) the kernel microbench
 * favoured fewer slabs too, but whole-model decode at batch 16 did not
 * (130m: 0.78 -> 0.80 ms device time), so it keeps 4. */
int cg_dec_gemv_unroll(const cg_dec_spec *s) {
  if (s->unroll > 0) return s->unroll;
  if (s->M > 8) return 4;
  const int64_t per_warp = s->K / 32 / cg_dec_gemv_warps(s);
  int u = 1;
  while (u < 4 && u * 2 <= per_warp) u *= 2;
  return u;
}

int cg_dec_mixer_rows(const cg_dec_spec *s) {
  return s->rows > 0 ? s->rows
                     : (int)(s->P < DEC_MIXER_ROWS_DEFAULT ? s->P : DEC_MIXER_ROWS_DEFAULT);
}

int64_t cg_dec_emit_parts(const cg_dec_spec *s) {
  if (s->kind == CG_DEC_GEMV) return (s->N + CG_DEC_GEMV_ROWS - 1) / CG_DEC_GEMV_ROWS;
  return s->H * (s->P / cg_dec_mixer_rows(s));
}
int64_t cg_dec_parts_ld(int64_t nparts) { return (nparts + 3) / 4 * 4; }
/* dec_gemv.cuh's gv_argmax: one 64-bit slot per row and block */
size_t cg_dec_argmax_scratch(const cg_dec_spec *s) {
  return s->argmax ? (size_t)(s->M * cg_dec_emit_parts(s)) * sizeof(uint64_t) : 0;
}

int64_t cg_dec_conv_dim(const cg_dec_spec *s) {
  return s->hx * s->P + (s->hb + s->hc) * s->N_state;
}

static int check_gemv(const cg_dec_spec *s, ssd_ctx *c) {
  if (!pos_le(s->M, CG_DEC_MAX_M))
    return BAD("decode GEMV: batch M = %lld (1..%d)", (long long)s->M, CG_DEC_MAX_M);
  if (!pos_le(s->N, (int64_t)1 << 30) || !pos_le(s->K, 1 << 20) || s->K % 32)
    return BAD("decode GEMV: needs K a multiple of 32 (<= 2^20) and 1 <= N <= 2^30 "
               "(got N=%lld K=%lld)",
               (long long)s->N, (long long)s->K);
  if ((int)s->norm < 0 || s->norm > CG_DEC_NORM_PRE || (s->norm && !(s->eps >= 0)))
    return BAD("decode GEMV: bad norm kind %d or eps %g", (int)s->norm, s->eps);
  /* the partials live in shared memory: at most 16 KB */
  if (s->norm == CG_DEC_NORM_PRE &&
      (s->x_f32 || s->nparts < 1 || s->M * cg_dec_parts_ld(s->nparts) > 4096))
    return BAD("decode GEMV: a prescaled norm needs bf16 x and 1..%lld partials per row "
               "(got %lld, M = %lld)",
               (long long)(4096 / s->M), (long long)s->nparts, (long long)s->M);
  if (s->argmax && (s->y_bf16 || s->emit))
    return BAD("decode GEMV: the argmax epilogue needs fp32 y and no emitted norm input");
  const int w = cg_dec_gemv_warps(s), u = cg_dec_gemv_unroll(s);
  if ((w != 4 && w != 8 && w != 16) || u < 1 || u > 8)
    return BAD("decode GEMV: %d warps per block (4, 8 or 16), %d slabs in flight (1..8)", w, u);
  return SSD_OK;
}

static int check_mixer(const cg_dec_spec *s, ssd_ctx *c) {
  const int64_t H = s->H, rows = cg_dec_mixer_rows(s);
  if (!pos_le(H, 1 << 16) || !pos_le(s->P, 1024) || !pos_le(s->N_state, 256) || s->N_state % 32)
    return BAD("decode mixer: needs heads <= 65536, head dim <= 1024, state size a multiple "
               "of 32 up to 256 (got H=%lld P=%lld N=%lld)",
               (long long)H, (long long)s->P, (long long)s->N_state);
  if (!divides(s->hx, H) || !divides(s->hb, H) || !divides(s->hc, H) || !divides(s->hdt, H))
    return BAD("decode mixer: operand heads hx=%lld hb=%lld hc=%lld hdt=%lld must divide H=%lld",
               (long long)s->hx, (long long)s->hb, (long long)s->hc, (long long)s->hdt,
               (long long)H);
  if (rows % 4 || !divides(rows, s->P) || rows > 64)
    return BAD("decode mixer: %d channels per block must be a multiple of 4, at most 64, "
               "dividing the head dim %lld",
               (int)rows, (long long)s->P);
  if (!pos_le(s->conv_k, 16))
    return BAD("decode mixer: conv width %lld (1..16)", (long long)s->conv_k);
  if (s->dt_clamp && !(s->dt_min <= s->dt_max))
    return BAD("decode mixer: dt clamp [%g, %g] is empty", s->dt_min, s->dt_max);
  if (s->argmax) return BAD("decode mixer: no argmax epilogue (a GEMV's)");
  if (s->gnorm && s->has_z)
    return BAD("decode mixer: the gated norm's input and a z gate on y exclude each other");
  return SSD_OK;
}

int cg_dec_check(const cg_dec_spec *s, ssd_ctx *c) {
  switch (s->kind) {
  case CG_DEC_GEMV:
    return check_gemv(s, c);
  case CG_DEC_MIXER:
    return check_mixer(s, c);
  }
  return ssd_err(c, SSD_EINTERNAL, "cg_dec_check: unknown kernel kind %d", (int)s->kind);
}

/* Appends to a fixed buffer; *len past size means it did not fit. */
__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t size, size_t *len,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0, fmt, ap);
  va_end(ap);
  *len += w > 0 ? (size_t)w : 0;
}

/* %.9g floats round-trip exactly; dt_max may be +inf (no upper clamp). */
static size_t prologue(const cg_dec_spec *s, char *b, size_t n) {
  size_t len = 0;
  put(b, n, &len, "#define DEC_Y_BF16 %d\n#define DEC_TRACE %d\n", s->y_bf16, s->trace);
  if (s->kind == CG_DEC_GEMV) {
    put(b, n, &len, "#define DEC_M %lld\n#define DEC_N %lldLL\n#define DEC_K %lld\n",
        (long long)s->M, (long long)s->N, (long long)s->K);
    put(b, n, &len, "#define DEC_X_F32 %d\n#define DEC_HAS_BIAS %d\n#define DEC_ACCUM %d\n",
        s->x_f32, s->has_bias, s->accumulate);
    put(b, n, &len, "#define DEC_NORM %d\n#define DEC_EPS %.17g\n", (int)s->norm,
        s->norm ? s->eps : 0.0);
    const int64_t np = s->norm == CG_DEC_NORM_PRE ? s->nparts : 0;
    put(b, n, &len, "#define DEC_NPARTS %lld\n#define DEC_NPARTS_LD %lld\n", (long long)np,
        (long long)cg_dec_parts_ld(np));
    put(b, n, &len, "#define DEC_EMIT %d\n#define DEC_EMIT_LD %lld\n", s->emit,
        (long long)cg_dec_parts_ld(cg_dec_emit_parts(s)));
    put(b, n, &len, "#define DEC_ARGMAX %d\n", s->argmax);
    put(b, n, &len, "#define DEC_ROWS %d\n#define DEC_WARPS %d\n#define DEC_UNROLL %d\n",
        CG_DEC_GEMV_ROWS, cg_dec_gemv_warps(s), cg_dec_gemv_unroll(s));
    return len;
  }
  put(b, n, &len, "#define SSD_H %lld\n#define SSD_P %lld\n#define SSD_N %lld\n", (long long)s->H,
      (long long)s->P, (long long)s->N_state);
  put(b, n, &len,
      "#define SSD_HX %lld\n#define SSD_HB %lld\n#define SSD_HC %lld\n"
      "#define SSD_HDT %lld\n",
      (long long)s->hx, (long long)s->hb, (long long)s->hc, (long long)s->hdt);
  put(b, n, &len,
      "#define SSD_HAS_DT 1\n#define SSD_HAS_A 1\n#define SSD_A_IS_LOG %d\n"
      "#define SSD_HAS_DT_BIAS %d\n#define SSD_DT_SOFTPLUS %d\n#define SSD_DT_CLAMP %d\n",
      s->A_is_log, s->has_dt_bias, s->dt_softplus, s->dt_clamp);
  put(b, n, &len, "#define SSD_DT_MIN %.9g\n#define SSD_DT_MAX %.9g\n", s->dt_min,
      isfinite(s->dt_max) ? s->dt_max : 3.0e38);
  put(b, n, &len, "#define SSD_HAS_D %d\n#define SSD_D_PER_CHANNEL %d\n#define DEC_HAS_Z %d\n",
      s->has_D, s->D_per_channel, s->has_z);
  put(b, n, &len,
      "#define DEC_CONV_K %lld\n#define DEC_CONV_BIAS %d\n#define DEC_IN_F32 %d\n"
      "#define DEC_W_BF16 %d\n#define DEC_ROWS %d\n#define DEC_THREADS %d\n",
      (long long)s->conv_k, s->has_conv_bias, s->in_f32, s->w_bf16, cg_dec_mixer_rows(s),
      CG_DEC_MIXER_THREADS);
  put(b, n, &len, "#define DEC_GNORM %d\n#define DEC_EMIT_LD %lld\n", s->gnorm,
      (long long)cg_dec_parts_ld(cg_dec_emit_parts(s)));
  return len;
}

int cg_dec_source(const cg_dec_spec *s, cg_source *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  int rc = cg_dec_check(s, c);
  if (rc) return rc;
  static const char *const tpl[] = {"dec_gemv.cuh", "dec_mixer.cuh"};
  static const char *const kname[] = {"gemv", "mixer"};
  const char *common = cg_template("ssd_common.cuh"), *dcommon = cg_template("dec_common.cuh");
  const char *body = cg_template(tpl[s->kind]);
  /* the pick rule, shared with ops_argmax.cuh (cg_cuda_ops.c) */
  const char *am = s->argmax ? cg_template("am_common.cuh") : "";
  if (!common || !dcommon || !body || !am)
    return ssd_err(c, SSD_EINTERNAL, "kernel template %s not embedded", tpl[s->kind]);
  char pro[2048];
  size_t plen = prologue(s, pro, sizeof pro);
  if (plen >= sizeof pro)
    return ssd_err(c, SSD_EINTERNAL, "decode kernel prologue too long (%zu bytes)", plen);
  snprintf(out->name, sizeof out->name, "dec_%s_%08llx", kname[s->kind],
           (unsigned long long)(ssd_hash64(pro, plen, 0) & 0xffffffffu));
  const char *fmt = "// generated by ssdc %s: %s\n%s#define DEC_KERNEL %s\n%s%s%s%s";
  int n = snprintf(NULL, 0, fmt, SSDC_VERSION, out->name, pro, out->name, common, dcommon, am,
                   body);
  out->src = n > 0 ? malloc((size_t)n + 1) : NULL;
  if (!out->src)
    return ssd_err(c, SSD_ENOMEM, "out of memory generating the decode %s kernel", kname[s->kind]);
  snprintf(out->src, (size_t)n + 1, fmt, SSDC_VERSION, out->name, pro, out->name, common, dcommon,
           am, body);
  return SSD_OK;
}
