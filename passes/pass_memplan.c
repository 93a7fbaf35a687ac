/* pass_memplan.c: a simple memory plan for activations.
 *
 * Activations are [batch, seqlen, d...]; their size per (batch, seqlen)
 * position is a constant after canonicalization, so one plan holds for every
 * batch and length.  Walking main in program order, each result takes a free
 * buffer (best fit, else the largest free one grown, else a new one) and
 * gives it back after its last use; a reshape is a view and shares its
 * input's buffer, extending its life.  Results are allocated before the
 * operands that die at the same node are released, so no op ever writes the
 * buffer it reads.  The dump shows `@bN` after each planned value and the
 * buffer sizes in the header; the runtime may follow the plan or ignore it.
 * Values of other shapes (SSM final states, scalars) and weights/inputs are
 * not planned (buffer 0).
 */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

typedef struct {
  int64_t *elems; /* per buffer */
  bool *busy;
  int n, cap;
} pool;

/* Elements per (batch, seqlen) position, or 0 when v is not an activation. */
static int64_t per_token(const ir_module *m, const ir_value *v) {
  if (v->rank < 2 || v->dims[0]->kind != IR_DIM_SYM || v->dims[1]->kind != IR_DIM_SYM ||
      strcmp(v->dims[0]->name, "batch") || strcmp(v->dims[1]->name, "seqlen"))
    return 0;
  int64_t e = 1, d;
  for (int i = 2; i < v->rank; i++)
    if (ir_dim_eval(m, v->dims[i], &d) || d < 0 || __builtin_mul_overflow(e, d, &e)) return 0;
  return e;
}

static bool planned_op(const ir_node *n) {
  return n->op != IR_INPUT && n->op != IR_WEIGHT && n->op != IR_CONST;
}

static int take(pool *p, int64_t e) {
  int best = -1, largest = -1;
  for (int b = 0; b < p->n; b++) {
    if (p->busy[b]) continue;
    if (p->elems[b] >= e && (best < 0 || p->elems[b] < p->elems[best])) best = b;
    if (largest < 0 || p->elems[b] > p->elems[largest]) largest = b;
  }
  if (best < 0 && largest >= 0) {
    best = largest;
    p->elems[best] = e;
  }
  if (best < 0) {
    if (p->n == p->cap) {
      int cap = p->cap ? 2 * p->cap : 16;
      int64_t *el = realloc(p->elems, (size_t)cap * sizeof *el);
      if (el) p->elems = el;
      bool *bz = realloc(p->busy, (size_t)cap * sizeof *bz);
      if (bz) p->busy = bz;
      if (!el || !bz) return -1;
      p->cap = cap;
    }
    best = p->n++;
    p->elems[best] = e;
  }
  p->busy[best] = true;
  return best;
}

/* The value whose buffer v uses: through reshape views. */
static const ir_value *root_of(const ir_value *v) {
  while (v->def && v->def->op == IR_RESHAPE && v->def->in[0]->buffer) v = v->def->in[0];
  return v;
}

static int plan(ir_module *m, pool *p, int *last, ssd_ctx *c) {
  int pos = 0;
  for (int i = 0; i <= m->next_value; i++) last[i] = -1;
  for (ir_node *n = m->main->first; n; n = n->next, pos++)
    for (int i = 0; i < n->nin; i++)
      if (n->in[i]) last[n->in[i]->id] = pos;
  /* A view's uses keep its root alive; views come after their roots. */
  for (ir_node *n = m->main->last; n; n = n->prev)
    if (n->op == IR_RESHAPE && last[n->out[0]->id] > last[n->in[0]->id])
      last[n->in[0]->id] = last[n->out[0]->id];
  pos = 0;
  for (ir_node *n = m->main->first; n; n = n->next, pos++) {
    for (int i = 0; i < n->nout && planned_op(n); i++) {
      ir_value *v = n->out[i];
      int64_t e = per_token(m, v);
      if (!e) continue;
      if (n->op == IR_RESHAPE && n->in[0]->buffer) {
        v->buffer = n->in[0]->buffer;
        continue;
      }
      int b = take(p, e);
      if (b < 0) return ssd_err(c, SSD_ENOMEM, "out of memory in the memory plan");
      v->buffer = b + 1;
      if (last[v->id] < pos) p->busy[b] = false; /* never used: free at once */
    }
    for (int i = 0; i < n->nin; i++) {
      const ir_value *v = n->in[i];
      if (v && v->buffer && last[root_of(v)->id] == pos) p->busy[v->buffer - 1] = false;
    }
  }
  return SSD_OK;
}

int pass_memplan(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  (void)o;
  pool p = {0};
  int *last = calloc((size_t)m->next_value + 1, sizeof *last);
  if (!last) return ssd_err(c, SSD_ENOMEM, "out of memory in the memory plan");
  for (ir_node *n = m->main->first; n; n = n->next)
    for (int i = 0; i < n->nout; i++) n->out[i]->buffer = 0;
  int rc = plan(m, &p, last, c);
  m->nbuffers = 0;
  if (!rc && p.n) {
    m->buffer_elems = ssd_arena_alloc(m->arena, (size_t)p.n * sizeof *m->buffer_elems);
    if (!m->buffer_elems) rc = ssd_err(c, SSD_ENOMEM, "out of memory in the memory plan");
    else {
      memcpy(m->buffer_elems, p.elems, (size_t)p.n * sizeof *p.elems);
      m->nbuffers = p.n;
    }
  }
  free(last);
  free(p.elems);
  free(p.busy);
  return rc;
}
