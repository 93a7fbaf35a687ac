/* rt_ssm_chunk.c: the chunked form of the mixer (SSD block decomposition).
 *
 * The sequence is cut into chunks of Q tokens.  mamba_ssm runs it as five
 * GPU kernels (chunk cumsum, chunk states, state passing, C B^T, chunk scan);
 * on a few CPU cores the state passing is sequential per head anyway, so the
 * schedule here has two parallel phases per window of chunks:
 *   1. per (batch, unit of heads sharing B and C, chunk): the Gram block
 *      C B^T of the chunk (SSD only: S6 folds its per-state decay into the
 *      sum over n, so there is nothing to share);
 *   2. per (batch, head), chunk after chunk: cumsum of dt*A inside the
 *      chunk, outputs = intra-chunk kernel x + exp(cs) C . state, then the
 *      state handed to the next chunk.
 * Windows bound the Gram buffer's memory for long sequences.  Cumsums are
 * chunk-local, so exponents are differences of at most Q terms, and only
 * causal pairs (s <= t) are ever evaluated: with A <= 0 every exponent is
 * <= 0 and nothing can overflow, without clamping that would be wrong for
 * a growing (A > 0) system.
 */
#include <stdlib.h>

#include "rt_pool.h"
#include "rt_ssm_impl.h"

enum { CHUNK_MAX = 4096 };
#define CHUNK_GRAM_FLOATS ((int64_t)8 << 20) /* Gram buffer per window: 32 MiB */

typedef struct chunk_job {
  const rt_ssm_desc *d;
  const rt_ssm_args *a;
  int64_t Q, cz, ncell; /* chunk, heads per cell sharing B and C, cells */
  int64_t w0, wn;       /* this window: first chunk, chunks */
  float *gram;          /* [batch, ncell, wn, Q, Q] */
  float *state;         /* [batch, H, P, N] working state */
  bool have_init;       /* state holds an initial state */
  rt_ssm_fail fail;
} chunk_job;

static void chunk_gram_range(void *ctx, int64_t begin, int64_t end) {
  chunk_job *j = ctx;
  const rt_ssm_desc *d = j->d;
  float *Bt = rt_ssm_alloc(sizeof *Bt, (double)d->N * (double)j->Q);
  if (!Bt) {
    atomic_store(&j->fail.rc, SSD_ENOMEM);
    return;
  }
  for (int64_t i = begin; i < end; i++) {
    const int64_t q = i % j->wn, cell = (i / j->wn) % j->ncell, b = i / (j->wn * j->ncell);
    const int64_t t0 = (j->w0 + q) * j->Q;
    const int64_t len = d->L - t0 < j->Q ? d->L - t0 : j->Q;
    rt_ssm_view v;
    rt_ssm_view_of(d, j->a, b, cell * j->cz, &v);
    rt_ssm_transpose_B(d, &v, t0, len, Bt, len);
    rt_ssm_gram(d, &v, t0, 0, len, Bt, len, j->gram + i * j->Q * j->Q, j->Q);
  }
  free(Bt);
}

typedef struct chunk_buf {
  rt_ssm_scratch s;
  float *dt, *An;
  double *cs;
} chunk_buf;

/* The chunks of this window for head h of batch row b. */
static void chunk_head(const chunk_job *j, int64_t b, int64_t h, chunk_buf *q) {
  const rt_ssm_desc *d = j->d;
  const int64_t Q = j->Q;
  rt_ssm_view v;
  rt_ssm_view_of(d, j->a, b, h, &v);
  rt_ssm_A_of(d, j->a, h, q->An);
  float *S = j->state + (b * d->H + h) * d->P * d->N;
  for (int64_t k = 0; k < j->wn; k++) {
    const int64_t c = j->w0 + k, t0 = c * Q;
    const int64_t len = d->L - t0 < Q ? d->L - t0 : Q;
    rt_ssm_dt_of(d, &v, t0, len, q->dt);
    rt_ssm_cumsum(d, q->An, q->dt, len, q->cs);
    const rt_ssm_seg g = {d, &v, t0, len, q->dt, q->cs, d->s6 ? len : 0};
    const float *G = NULL;
    if (d->s6)
      rt_ssm_transpose_B(d, &v, t0, len, q->s.Bt, len);
    else
      G = j->gram + ((b * j->ncell + h / j->cz) * j->wn + k) * Q * Q;
    rt_ssm_seg_rows(&g, 0, len, G, Q, c > 0 || j->have_init ? S : NULL, &q->s);
    rt_ssm_seg_state(&g, S, &q->s);
  }
}

static void chunk_head_range(void *ctx, int64_t begin, int64_t end) {
  chunk_job *j = ctx;
  const rt_ssm_desc *d = j->d;
  const int64_t nk = d->s6 ? d->N : 1;
  chunk_buf q;
  int rc = rt_ssm_scratch_new(d, j->Q, j->Q, &q.s);
  q.dt = rt_ssm_alloc(sizeof(float), (double)j->Q + (double)d->N);
  q.cs = rt_ssm_alloc(sizeof(double), (double)nk * (double)j->Q);
  if (!rc && q.dt && q.cs) {
    q.An = q.dt + j->Q;
    for (int64_t i = begin; i < end; i++) chunk_head(j, i / d->H, i % d->H, &q);
  } else {
    atomic_store(&j->fail.rc, SSD_ENOMEM);
  }
  if (!rc) free(q.s.M);
  free(q.dt);
  free(q.cs);
}

int rt_ssm_chunked(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c) {
  int rc = rt_ssm_begin(d, a, c);
  if (rc) return rc;
  if (d->chunk < 1 || d->chunk > CHUNK_MAX)
    return ssd_err(c, SSD_EINVAL, "ssm chunked: chunk size %lld must be in [1, %d]",
                   (long long)d->chunk, CHUNK_MAX);
  chunk_job j = {.d = d, .a = a, .Q = d->chunk, .state = a->state, .have_init = a->state != NULL};
  j.cz = rt_ssm_cell_heads(d);
  j.ncell = d->H / j.cz;
  const int64_t nch = (d->L + j.Q - 1) / j.Q;
  const double per_chunk = (double)d->batch * (double)j.ncell * (double)j.Q * (double)j.Q;
  int64_t W = per_chunk < (double)CHUNK_GRAM_FLOATS ? (int64_t)(CHUNK_GRAM_FLOATS / per_chunk) : 1;
  W = W > nch ? nch : W;
  if (!d->s6) j.gram = rt_ssm_alloc(sizeof(float), per_chunk * (double)W);
  if (!a->state) j.state = calloc((size_t)(d->batch * d->H * d->P * d->N), sizeof(float));
  if ((!d->s6 && !j.gram) || !j.state) {
    rc = ssd_err(c, SSD_ENOMEM, "ssm chunked: out of memory for the Gram blocks or the state");
    goto out;
  }
  for (j.w0 = 0; j.w0 < nch && !atomic_load(&j.fail.rc); j.w0 += W) {
    j.wn = nch - j.w0 < W ? nch - j.w0 : W;
    if (!d->s6) rt_parallel_for(d->batch * j.ncell * j.wn, 0, chunk_gram_range, &j);
    if (!atomic_load(&j.fail.rc)) rt_parallel_for(d->batch * d->H, 0, chunk_head_range, &j);
  }
  if (atomic_load(&j.fail.rc))
    rc = ssd_err(c, SSD_ENOMEM, "ssm chunked: out of memory for per-thread buffers");
out:
  free(j.gram);
  if (!a->state) free(j.state);
  return rc;
}
