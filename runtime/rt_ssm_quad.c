/* rt_ssm_quad.c: the quadratic form of the mixer.
 *
 * The whole sequence is one segment of the block decomposition: per head,
 * y = (L o C B^T o decay o dt) x over the L x L causal kernel, plus the
 * initial state seen through exp(cumsum).  It is the "attention" view of an
 * SSM: O(L^2) work, but all of it matrix products, which wins for short
 * sequences.  The kernel is built a block of rows at a time so memory stays
 * O(L) per thread.  For SSD the Gram rows C_t . B_s are computed once per
 * unit of heads that share B and C and reused by each of them; S6 has a
 * per-state decay inside the sum over n, so each head builds its own.
 * The final state needs every token and runs as a second pass per head.
 */
#include <stdlib.h>

#include "rt_pool.h"
#include "rt_ssm_impl.h"

enum { QUAD_ROWS = 64 }; /* rows of the kernel built at a time */

typedef struct quad_job {
  const rt_ssm_desc *d;
  const rt_ssm_args *a;
  int64_t us, nunits, nrb; /* heads per unit, units, row blocks */
  rt_ssm_fail fail;
} quad_job;

/* Per-thread buffers for either pass: scratch, Gram rows, B^T, dt, cumsums, A. */
typedef struct quad_buf {
  rt_ssm_scratch s;
  float *G, *Bt, *dt, *An;
  double *cs;
} quad_buf;

static int quad_buf_new(const rt_ssm_desc *d, int64_t nr, quad_buf *q) {
  const int64_t L = d->L, N = d->N, nk = d->s6 ? N : 1;
  if (rt_ssm_scratch_new(d, nr, L, &q->s)) return SSD_ENOMEM;
  const double fL = (double)L, fN = (double)N;
  q->G = rt_ssm_alloc(sizeof(float), (double)nr * fL + fN * fL + fL + fN);
  q->cs = rt_ssm_alloc(sizeof(double), (double)nk * fL);
  if (!q->G || !q->cs) {
    free(q->s.M);
    free(q->G);
    free(q->cs);
    return SSD_ENOMEM;
  }
  q->Bt = q->G + nr * L;
  q->dt = q->Bt + N * L;
  q->An = q->dt + L;
  return SSD_OK;
}

static void quad_buf_free(quad_buf *q) {
  free(q->s.M);
  free(q->G);
  free(q->cs);
}

/* A segment over tokens [0, len) of head h: dt and cumsums into q. */
static void quad_seg(const rt_ssm_desc *d, const rt_ssm_args *a, const rt_ssm_view *v, int64_t len,
                     quad_buf *q, rt_ssm_seg *g) {
  rt_ssm_A_of(d, a, v->h, q->An);
  rt_ssm_dt_of(d, v, 0, len, q->dt);
  rt_ssm_cumsum(d, q->An, q->dt, len, q->cs);
  *g = (rt_ssm_seg){d, v, 0, len, q->dt, q->cs, d->s6 ? len : 0};
}

/* Rows [r0, r0 + nr) of every head in unit u of batch row b. */
static void quad_rows(const quad_job *j, int64_t b, int64_t u, int64_t r0, int64_t nr,
                      quad_buf *q) {
  const rt_ssm_desc *d = j->d;
  const int64_t len = r0 + nr; /* rows < len only see columns < len */
  rt_ssm_view v;
  if (!d->s6) { /* the heads of a unit share B and C: one Gram block for all */
    rt_ssm_view_of(d, j->a, b, u * j->us, &v);
    rt_ssm_transpose_B(d, &v, 0, len, q->Bt, len);
    rt_ssm_gram(d, &v, 0, r0, nr, q->Bt, len, q->G, len);
  }
  for (int64_t h = u * j->us; h < (u + 1) * j->us; h++) {
    rt_ssm_seg g;
    rt_ssm_view_of(d, j->a, b, h, &v);
    quad_seg(d, j->a, &v, len, q, &g);
    if (d->s6) rt_ssm_transpose_B(d, &v, 0, len, q->s.Bt, len);
    rt_ssm_seg_rows(&g, r0, nr, d->s6 ? NULL : q->G, len, v.state, &q->s);
  }
}

static void quad_rows_range(void *ctx, int64_t begin, int64_t end) {
  quad_job *j = ctx;
  quad_buf q;
  if (quad_buf_new(j->d, QUAD_ROWS, &q)) {
    atomic_store(&j->fail.rc, SSD_ENOMEM);
    return;
  }
  for (int64_t i = begin; i < end; i++) {
    const int64_t rb = i % j->nrb, u = (i / j->nrb) % j->nunits, b = i / (j->nrb * j->nunits);
    const int64_t r0 = rb * QUAD_ROWS;
    const int64_t nr = j->d->L - r0 < QUAD_ROWS ? j->d->L - r0 : QUAD_ROWS;
    quad_rows(j, b, u, r0, nr, &q);
  }
  quad_buf_free(&q);
}

static void quad_state_range(void *ctx, int64_t begin, int64_t end) {
  quad_job *j = ctx;
  const rt_ssm_desc *d = j->d;
  quad_buf q;
  if (quad_buf_new(d, 0, &q)) {
    atomic_store(&j->fail.rc, SSD_ENOMEM);
    return;
  }
  for (int64_t i = begin; i < end; i++) {
    rt_ssm_view v;
    rt_ssm_seg g;
    rt_ssm_view_of(d, j->a, i / d->H, i % d->H, &v);
    quad_seg(d, j->a, &v, d->L, &q, &g);
    rt_ssm_seg_state(&g, v.state, &q.s);
  }
  quad_buf_free(&q);
}

int rt_ssm_quadratic(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c) {
  int rc = rt_ssm_begin(d, a, c);
  if (rc) return rc;
  quad_job j = {.d = d, .a = a};
  j.nrb = (d->L + QUAD_ROWS - 1) / QUAD_ROWS;
  j.us = d->s6 ? 1 : rt_ssm_cell_heads(d);
  /* Units share Gram rows; split them while that leaves the pool idle. */
  const int64_t want = 4 * (int64_t)rt_pool_threads();
  while (j.us % 2 == 0 && d->batch * (d->H / j.us) * j.nrb < want) j.us /= 2;
  j.nunits = d->H / j.us;
  rt_parallel_for(d->batch * j.nunits * j.nrb, 1, quad_rows_range, &j);
  if (!atomic_load(&j.fail.rc) && a->state)
    rt_parallel_for(d->batch * d->H, 0, quad_state_range, &j);
  if (atomic_load(&j.fail.rc))
    return ssd_err(c, SSD_ENOMEM, "ssm quadratic: out of memory for per-thread buffers");
  return SSD_OK;
}
