/* rt_cuda_dec.c: preparing and launching the decode-step kernels
 * (rt_cuda_dec.h).  The checks here are what keeps a mismatched call from
 * becoming an out-of-bounds access: the kernels trust the shapes baked into
 * them and the strides and offsets they are given.
 */
#include "rt_cuda_dec.h"

#include <stdlib.h>
#include <string.h>

#define TRY(x)                                                                                     \
  do {                                                                                             \
    int rc_ = (x);                                                                                 \
    if (rc_) return rc_;                                                                           \
  } while (0)

int rt_cuda_dec_prepare(rt_cuda *g, cg_cache *cc, const cg_dec_spec *spec, int64_t max_batch,
                        rt_cuda_dec *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  out->spec = *spec;
  if (spec->kind == CG_DEC_MIXER && (max_batch < 1 || max_batch > 65535))
    return ssd_err(c, SSD_EINVAL, "decode mixer: max batch %lld (1..65535)", (long long)max_batch);
  cg_source src;
  TRY(cg_dec_source(spec, &src, c));
  void *cubin = NULL;
  size_t n = 0;
  int rc = cg_build(cc, &src, rt_cuda_arch(g), &cubin, &n, c);
  if (rc == SSD_OK) rc = rt_cuda_load(g, cubin, src.name, 0, &out->fn, c);
  memcpy(out->name, src.name, sizeof out->name);
  free(cubin);
  cg_source_free(&src);
  if (rc == SSD_OK && spec->kind == CG_DEC_MIXER) {
    const size_t bytes = (size_t)max_batch * sizeof(uint32_t);
    rc = rt_cuda_alloc(g, bytes, &out->tickets, c);
    if (rc == SSD_OK) rc = rt_cuda_memset8(g, out->tickets, 0, bytes, c);
    if (rc == SSD_OK) out->max_batch = max_batch;
  }
  if (rc) rt_cuda_dec_release(g, out);
  return rc;
}

void rt_cuda_dec_release(rt_cuda *g, rt_cuda_dec *k) {
  rt_cuda_unload(g, &k->fn);
  if (k->tickets) rt_cuda_free(g, k->tickets);
  k->tickets = 0;
  k->max_batch = 0;
}

static int want(const rt_cuda_dec *k, cg_dec_kind kind, const char *what, ssd_ctx *c) {
  if (!k->fn.fn || k->spec.kind != kind)
    return ssd_err(c, SSD_EINVAL, "%s: kernel %s is not a prepared %s kernel", what,
                   k->name[0] ? k->name : "(none)", what);
  return SSD_OK;
}

static bool aligned16(rt_dptr p) { return p % 16 == 0; }

/* A row-strided operand the GEMV reads with 16-byte loads. */
static bool rows16(rt_dptr p, int64_t ld, int64_t es, int64_t K) {
  return p && aligned16(p) && ld >= K && (ld * es) % 16 == 0;
}

int rt_cuda_dec_gemv(rt_cuda *g, const rt_cuda_dec *k, const rt_cuda_dec_gemv_args *a,
                     ssd_ctx *c) {
  TRY(want(k, CG_DEC_GEMV, "decode GEMV", c));
  const cg_dec_spec *s = &k->spec;
  const int64_t es = s->x_f32 ? 4 : 2;
  const bool wn = s->norm != CG_DEC_NORM_NONE && s->norm != CG_DEC_NORM_PRE; /* norm_w read */
  if (!a->W || !a->y || (s->has_bias && !a->bias) || (wn && !a->norm_w))
    return ssd_err(c, SSD_EINVAL, "decode GEMV %s: W, y, bias or norm weight missing", k->name);
  const bool zok = s->norm != CG_DEC_NORM_GATED || rows16(a->z, a->ldz, es, s->K);
  if (!rows16(a->x, a->ldx, es, s->K) || !zok || a->ldy < s->N || !aligned16(a->W) ||
      (wn && !aligned16(a->norm_w)))
    return ssd_err(c, SSD_EINVAL,
                   "decode GEMV %s: needs ldx%s >= K = %lld with 16-byte aligned rows, ldy >= N = "
                   "%lld, 16-byte aligned W and norm weight (got ldx %lld, ldz %lld, ldy %lld)",
                   k->name, s->norm == CG_DEC_NORM_GATED ? " and ldz" : "", (long long)s->K,
                   (long long)s->N, (long long)a->ldx, (long long)a->ldz, (long long)a->ldy);
  const bool pre = s->norm == CG_DEC_NORM_PRE;
  if ((pre && (!a->ss_in || !aligned16(a->ss_in))) ||
      (s->emit && (!a->w_out || !a->x_out || !a->ss_out)))
    return ssd_err(c, SSD_EINVAL,
                   "decode GEMV %s: the prescaled norm's partials (16-byte aligned) or the "
                   "emitted norm input's buffers are missing", k->name);
  if (s->argmax) TRY(rt_cuda_pick_check(&a->pick, true, k->name, c));
  long long lx = a->ldx, lz = a->ldz, ly = a->ldy, hn = a->pick.hist_n;
  void *args[] = {(void *)&a->x,      &lx,
                  (void *)&a->z,      &lz,
                  (void *)&a->norm_w, (void *)&a->W,
                  (void *)&a->bias,   (void *)&a->y,
                  &ly,                (void *)&a->ss_in,
                  (void *)&a->w_out,  (void *)&a->x_out,
                  (void *)&a->ss_out, (void *)&a->pick.out,
                  (void *)&a->pick.scratch, (void *)&a->pick.advance,
                  (void *)&a->pick.hist, &hn,
                  (void *)&a->trace};
  const unsigned grid[3] = {(unsigned)cg_dec_emit_parts(s), 1, 1};
  return rt_cuda_launch_pdl(g, &k->fn, grid, (unsigned)cg_dec_gemv_warps(s) * 32, args, c);
}

/* Every column the mixer reads lies inside a row of ld_in elements. */
static int mixer_cols_ok(const rt_cuda_dec *k, const rt_cuda_dec_mixer_args *a, ssd_ctx *c) {
  const cg_dec_spec *s = &k->spec;
  const int64_t hp = s->H * s->P;
  const bool bad = a->off_xbc < 0 || a->off_xbc + cg_dec_conv_dim(s) > a->ld_in || a->off_dt < 0 ||
                   a->off_dt + s->hdt > a->ld_in ||
                   (s->has_z && (a->off_z < 0 || a->off_z + hp > a->ld_in)) ||
                   (s->gnorm && (a->off_gz < 0 || a->off_gz + hp > a->ld_in)) || a->ldy < hp;
  if (bad)
    return ssd_err(c, SSD_EINVAL,
                   "decode mixer %s: columns outside the in_proj row (ld %lld: xBC at %lld + %lld, "
                   "dt at %lld + %lld, z at %lld + %lld, the norm's z at %lld + %lld) or ldy "
                   "%lld < H P = %lld",
                   k->name, (long long)a->ld_in, (long long)a->off_xbc,
                   (long long)cg_dec_conv_dim(s), (long long)a->off_dt, (long long)s->hdt,
                   (long long)a->off_z, s->has_z ? (long long)hp : 0LL, (long long)a->off_gz,
                   s->gnorm ? (long long)hp : 0LL, (long long)a->ldy, (long long)hp);
  return SSD_OK;
}

int rt_cuda_dec_mixer(rt_cuda *g, const rt_cuda_dec *k, const rt_cuda_dec_mixer_args *a,
                      int64_t batch, ssd_ctx *c) {
  TRY(want(k, CG_DEC_MIXER, "decode mixer", c));
  const cg_dec_spec *s = &k->spec;
  if (batch < 1 || batch > k->max_batch)
    return ssd_err(c, SSD_EINVAL, "decode mixer %s: batch %lld (prepared for 1..%lld)", k->name,
                   (long long)batch, (long long)k->max_batch);
  const bool missing = !a->in || !a->conv_w || (s->conv_k > 1 && !a->conv_state) || !a->A ||
                       !a->state || !a->y || (s->has_conv_bias && !a->conv_b) ||
                       (s->has_D && !a->D) || (s->has_dt_bias && !a->dt_bias) ||
                       (s->gnorm && (!a->gnorm_w || !a->x_out || !a->ss_out));
  if (missing) return ssd_err(c, SSD_EINVAL, "decode mixer %s: an operand is missing", k->name);
  TRY(mixer_cols_ok(k, a, c));
  if (!aligned16(a->state))
    return ssd_err(c, SSD_EINVAL, "decode mixer %s: the state must be 16-byte aligned", k->name);
  long long ld = a->ld_in, ox = a->off_xbc, odt = a->off_dt, oz = a->off_z, ly = a->ldy;
  long long ogz = a->off_gz;
  rt_dptr tickets = k->tickets;
  void *args[] = {(void *)&a->in,
                  &ld,
                  &ox,
                  &odt,
                  &oz,
                  (void *)&a->conv_w,
                  (void *)&a->conv_b,
                  (void *)&a->conv_state,
                  (void *)&a->A,
                  (void *)&a->D,
                  (void *)&a->dt_bias,
                  (void *)&a->state,
                  (void *)&a->y,
                  &ly,
                  &tickets,
                  &ogz,
                  (void *)&a->gnorm_w,
                  (void *)&a->x_out,
                  (void *)&a->ss_out,
                  (void *)&a->trace};
  const unsigned grid[3] = {(unsigned)cg_dec_emit_parts(s), (unsigned)batch, 1};
  return rt_cuda_launch_pdl(g, &k->fn, grid, CG_DEC_MIXER_THREADS, args, c);
}
