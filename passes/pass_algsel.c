/* pass_algsel.c: choose an algorithm per SSM and sequence length.
 *
 * Three exact forms compute the same y (Dao & Gu 2024, "SSD"):
 *  - recurrent: the scan, O(L*H*P*N) scalar work, L dependent steps;
 *  - quadratic: the L x L masked matrix C B^T * decay applied to x, per head,
 *    O(L^2*H*(N+P)) on matmul units: attention-like;
 *  - chunked(Q): quadratic inside chunks of Q, recurrent across chunks.
 * The cost model (pass_cost.c, COST_MODEL.md) prices each at every length;
 * the table stored in ir_ssm_attr.choices lists, in ascending max_len, the
 * cheapest form up to each crossover.
 *
 * Why short L is not simply "chunked": with L <= Q a chunked kernel is the
 * quadratic form plus a state write and four extra launches, so it never
 * wins there; and quadratic beats the scan while L*(2N+2P+3)/flops <
 * 5*P*N/scan_flops, i.e. while the matmul units' advantage outweighs the
 * O(L) extra work per token (L < ~530 for P=64, N=128 with the cpu
 * defaults).  At L = 1 nothing beats one recurrent step (it is also the
 * decode path, the one with a state cache), so the first row is always
 * L<=1: recurrent.  S6 (Mamba-1: A is [heads, N]) has no matmul form; its
 * quadratic and chunked costs are priced on the scalar units and lose, so
 * S6 ends up recurrent unless a cost model says otherwise.
 */
#include <math.h>
#include <stdlib.h>

#include "passes.h"

enum { GRID_MAX_LOG2 = 24 }; /* table covers L up to 16M; beyond, the last row holds */

static ir_ssm_form best_form(const pass_cost_model *cm, const ir_ssm_attr *s, int64_t L,
                             int64_t Q, double *cost) {
  static const ir_ssm_form forms[] = {IR_FORM_RECURRENT, IR_FORM_QUADRATIC, IR_FORM_CHUNKED};
  ir_ssm_form best = IR_FORM_RECURRENT;
  *cost = pass_cost_form(cm, s, best, L, Q);
  if (L == 1) return best;
  for (int i = 1; i < 3; i++) {
    double v = pass_cost_form(cm, s, forms[i], L, Q);
    if (v < *cost) {
      *cost = v;
      best = forms[i];
    }
  }
  return best;
}

/* The last length in (lo, hi] that still picks lo's form (lo's form differs from hi's). */
static int64_t crossover(const pass_cost_model *cm, const ir_ssm_attr *s, int64_t lo,
                         int64_t hi, int64_t Q) {
  double c;
  ir_ssm_form f = best_form(cm, s, lo, Q, &c);
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    if (best_form(cm, s, mid, Q, &c) == f) lo = mid;
    else hi = mid;
  }
  return lo;
}

static void push_row(ir_ssm_attr *s, int64_t max_len, ir_ssm_form f, int64_t Q, double cost) {
  if (s->nchoices > 0 && s->choices[s->nchoices - 1].form == f) {
    s->choices[s->nchoices - 1].max_len = max_len; /* extend the previous row */
    s->choices[s->nchoices - 1].cost = cost;
    return;
  }
  if (s->nchoices == 4) s->nchoices = 3; /* keep the table short: the last row absorbs */
  s->choices[s->nchoices++] = (ir_ssm_choice){max_len, f, f == IR_FORM_CHUNKED ? Q : 0, cost};
}

/* The model file's chunk size is the one it was trained with, but the chunked
 * form computes the same function for any Q: take the target's tuned Q when
 * the cost model says it is cheaper at long L. */
static int64_t pick_chunk(const pass_cost_model *cm, const ir_ssm_attr *s) {
  if (s->chunk <= 0 || s->chunk == cm->chunk) return cm->chunk;
  int64_t L = (int64_t)1 << 16;
  double own = pass_cost_form(cm, s, IR_FORM_CHUNKED, L, s->chunk);
  double tuned = pass_cost_form(cm, s, IR_FORM_CHUNKED, L, cm->chunk);
  return tuned < own ? cm->chunk : s->chunk;
}

static void select_forms(const pass_cost_model *cm, ir_ssm_attr *s) {
  int64_t Q = pick_chunk(cm, s);
  double cost;
  s->nchoices = 0;
  push_row(s, 1, IR_FORM_RECURRENT, Q, pass_cost_form(cm, s, IR_FORM_RECURRENT, 1, Q));
  int64_t prev = 1;
  for (int k = 1; k <= GRID_MAX_LOG2; k++) {
    int64_t L = (int64_t)1 << k;
    ir_ssm_form f = best_form(cm, s, L, Q, &cost), pf = best_form(cm, s, prev, Q, &cost);
    if (f != pf && prev > 1) {
      int64_t x = crossover(cm, s, prev, L, Q);
      push_row(s, x, pf, Q, pass_cost_form(cm, s, pf, x, Q));
    }
    prev = L;
  }
  ir_ssm_form last = best_form(cm, s, prev, Q, &cost);
  push_row(s, -1, last, Q, cost);
  /* The unbounded row must be the last one even when it merged into a bounded one. */
  s->choices[s->nchoices - 1].max_len = -1;
}

static int load_model(const pass_opts *o, pass_cost_model *cm, ssd_ctx *c) {
  if (o && o->cost) {
    *cm = *o->cost;
    return SSD_OK;
  }
  pass_cost_defaults(o ? o->target : NULL, cm);
  const char *env = getenv("SSDC_COST_MODEL");
  return env && *env ? pass_cost_load(env, cm, c) : SSD_OK;
}

int pass_algsel(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  pass_cost_model cm;
  int rc = load_model(o, &cm, c);
  if (rc) return rc;
  if (cm.flops <= 0 || cm.scan_flops <= 0 || cm.bytes <= 0 || cm.chunk <= 0)
    return ssd_err(c, SSD_EINVAL, "cost model: rates and chunk must be positive");
  m->seqlen_hint = o && o->seqlen > 0 ? o->seqlen : 0;
  for (ir_node *n = m->main->first; n; n = n->next)
    if (n->op == IR_SSM) select_forms(&cm, n->a.ssm);
  return SSD_OK;
}
