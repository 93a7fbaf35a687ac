/* ir_verify.c: the module verifier (ir_verify in ir.h).
 *
 * Structure first (operand arity per the IR_OPS table, required operands,
 * every operand defined earlier in the same function, results that exist),
 * then the shape rules of ir_shape.c in check mode, then the invariants the
 * later passes promise (algorithm tables ascending, state slots in range).
 * Shapes are checked only once the layer stack is elaborated: before that,
 * values inside block templates are still untyped.  Every error points at
 * the node's model-file location.
 */
#include <stdlib.h>

#include "ir_shape.h"

static const int op_nin[IR_NOPS] = {
#define X(name, text, nin, nout, fam) nin,
    IR_OPS(X)
#undef X
};
static const int op_nout[IR_NOPS] = {
#define X(name, text, nin, nout, fam) nout,
    IR_OPS(X)
#undef X
};

/* Optional operand slots; every other slot is required. */
static bool optional_slot(ir_op op, int i) {
  switch (op) {
  case IR_LINEAR: case IR_LAYERNORM: case IR_CONV1D: return i == 2;
  case IR_SSM:
    return i == IR_SSM_DT || i == IR_SSM_A || i == IR_SSM_D || i == IR_SSM_Z ||
           i == IR_SSM_DT_BIAS || i == IR_SSM_INIT;
  default: return false;
  }
}

static int check_arity(const ir_node *n, ssd_ctx *c) {
  if ((unsigned)n->op >= IR_NOPS)
    return ssd_err_at(c, n->loc, SSD_EINTERNAL, "node %d has an invalid op", n->id);
  const char *name = ir_op_name(n->op);
  if (op_nin[n->op] >= 0 && n->nin != op_nin[n->op])
    return ssd_err_at(c, n->loc, SSD_ECHECK, "%s takes %d operands, has %d", name,
                      op_nin[n->op], n->nin);
  if (op_nout[n->op] >= 0 && n->nout != op_nout[n->op] && !(n->op == IR_SSM && n->nout == 1))
    return ssd_err_at(c, n->loc, SSD_ECHECK, "%s has %d results, has %d", name,
                      op_nout[n->op], n->nout);
  if (n->op == IR_CONCAT && n->nin < 1)
    return ssd_err_at(c, n->loc, SSD_ECHECK, "concat needs at least one operand");
  if (n->op == IR_SPLIT && (n->nout < 1 || n->nout != n->a.nsizes))
    return ssd_err_at(c, n->loc, SSD_ECHECK, "split has %d results for %d sizes", n->nout,
                      n->a.nsizes);
  if (n->op == IR_CALL) {
    const ir_func *f = n->a.callee;
    if (!f) return ssd_err_at(c, n->loc, SSD_ECHECK, "call without a callee");
    if (n->nin != f->nparams || n->nout != f->nresults)
      return ssd_err_at(c, n->loc, SSD_ECHECK, "call of %s: %d arguments and %d results, "
                        "expected %d and %d", f->name, n->nin, n->nout, f->nparams, f->nresults);
  }
  if (n->op == IR_SSM && !n->a.ssm)
    return ssd_err_at(c, n->loc, SSD_ECHECK, "ssm without attributes");
  for (int i = 0; i < n->nin; i++)
    if (!n->in[i] && !optional_slot(n->op, i))
      return ssd_err_at(c, n->loc, SSD_ECHECK, "%s: operand %d is required", name, i);
  return SSD_OK;
}

int ir_check_func(const ir_module *m, const ir_func *f, ssd_ctx *c) {
  int nv = m->next_value > 0 ? m->next_value : 1;
  unsigned char *seen = calloc((size_t)nv, 1);
  if (!seen) return ssd_err(c, SSD_ENOMEM, "out of memory in the verifier");
  int rc = SSD_OK;
  for (int i = 0; i < f->nparams; i++)
    if (f->params[i]->id >= 0 && f->params[i]->id < nv) seen[f->params[i]->id] = 1;
  for (const ir_node *n = f->first; n && !rc; n = n->next) {
    rc = check_arity(n, c);
    for (int i = 0; !rc && i < n->nin; i++) {
      const ir_value *v = n->in[i];
      if (v && (v->id < 0 || v->id >= nv || !seen[v->id]))
        rc = ssd_err_at(c, n->loc, SSD_ECHECK,
                        "in %s: %s uses %%%d before its definition (or from another function)",
                        f->name, ir_op_name(n->op), v->id);
    }
    for (int i = 0; !rc && i < n->nout; i++) {
      const ir_value *v = n->out[i];
      if (!v || v->def != n || v->id < 0 || v->id >= nv || seen[v->id])
        rc = ssd_err_at(c, n->loc, SSD_EINTERNAL, "%s: malformed result %d", ir_op_name(n->op), i);
      else seen[v->id] = 1;
    }
  }
  for (int i = 0; !rc && i < f->nresults; i++)
    if (!f->results[i] || f->results[i]->id >= nv || !seen[f->results[i]->id])
      rc = ssd_err_at(c, f->loc, SSD_ECHECK, "%s returns an undefined value", f->name);
  free(seen);
  return rc;
}

/* Invariants the later passes promise about an SSM's attributes. */
static int check_ssm_attr(const ir_module *m, const ir_node *n, ssd_ctx *c) {
  const ir_ssm_attr *s = n->a.ssm;
  if (s->nchoices < 0 || s->nchoices > 4)
    return ssd_err_at(c, n->loc, SSD_EINTERNAL, "ssm: %d algorithm choices", s->nchoices);
  for (int i = 0; i < s->nchoices; i++) {
    const ir_ssm_choice *ch = &s->choices[i];
    bool last = i == s->nchoices - 1;
    if (ch->form == IR_FORM_UNSET || (ch->form == IR_FORM_CHUNKED && ch->chunk <= 0) ||
        (ch->max_len < 0 && !last) || (i && ch->max_len >= 0 && ch->max_len <= s->choices[i - 1].max_len))
      return ssd_err_at(c, n->loc, SSD_EINTERNAL, "ssm: malformed algorithm table");
  }
  if (s->state_slot >= m->nstate_slots)
    return ssd_err_at(c, n->loc, SSD_EINTERNAL, "ssm: state slot %d out of range", s->state_slot);
  if (s->dt_min < 0 || !(s->dt_min <= s->dt_max))
    return ssd_err_at(c, n->loc, SSD_ECHECK, "ssm: dt limits (%g, %g) are not an interval",
                      s->dt_min, s->dt_max);
  return SSD_OK;
}

static int check_slots(const ir_module *m, const ir_node *n, ssd_ctx *c) {
  int slot = n->op == IR_CONV1D ? n->a.state_slot
             : n->op == IR_ATTENTION && n->a.attn ? n->a.attn->state_slot : -1;
  if (slot >= m->nstate_slots)
    return ssd_err_at(c, n->loc, SSD_EINTERNAL, "%s: state slot %d out of range",
                      ir_op_name(n->op), slot);
  if (n->op == IR_SSM) return check_ssm_attr(m, n, c);
  return SSD_OK;
}

/* Values that share a buffer must not be live at once (reshape views share
 * their input's buffer and life).  last[] holds each value's last use. */
static int check_memplan(const ir_module *m, const int *last, ssd_ctx *c) {
  int *owner_last = malloc(sizeof *owner_last * (size_t)(m->nbuffers + 1));
  if (!owner_last) return ssd_err(c, SSD_ENOMEM, "out of memory in the verifier");
  for (int b = 0; b <= m->nbuffers; b++) owner_last[b] = -1;
  int pos = 0, rc = SSD_OK;
  for (const ir_node *n = m->main->first; n && !rc; n = n->next, pos++)
    for (int i = 0; i < n->nout && !rc; i++) {
      const ir_value *v = n->out[i];
      int b = v->buffer;
      if (!b) continue;
      if (b < 0 || b > m->nbuffers)
        rc = ssd_err_at(c, n->loc, SSD_EINTERNAL, "memory plan: buffer %d out of range", b);
      else if (n->op == IR_RESHAPE && n->in[0]->buffer == b) {
        if (last[v->id] > owner_last[b]) owner_last[b] = last[v->id];
      } else if (owner_last[b] >= pos)
        rc = ssd_err_at(c, n->loc, SSD_EINTERNAL,
                        "memory plan: %%%d reuses buffer b%d while it is still live", v->id, b);
      else owner_last[b] = last[v->id] > pos ? last[v->id] : pos;
    }
  free(owner_last);
  return rc;
}

static int check_plan(const ir_module *m, ssd_ctx *c) {
  if (!m->nbuffers) return SSD_OK;
  int *last = malloc(sizeof *last * (size_t)(m->next_value + 1));
  if (!last) return ssd_err(c, SSD_ENOMEM, "out of memory in the verifier");
  for (int i = 0; i <= m->next_value; i++) last[i] = -1;
  int pos = 0;
  for (const ir_node *n = m->main->first; n; n = n->next, pos++)
    for (int i = 0; i < n->nin; i++)
      if (n->in[i]) last[n->in[i]->id] = pos;
  int rc = check_memplan(m, last, c);
  free(last);
  return rc;
}

int ir_verify(const ir_module *m, ssd_ctx *c) {
  if (!m || !m->main) return ssd_err(c, SSD_EINTERNAL, "module has no main function");
  int rc = SSD_OK;
  for (int i = 0; !rc && i < m->nfuncs; i++)
    if (m->funcs[i]) rc = ir_check_func(m, m->funcs[i], c);
  if (!rc) rc = ir_check_func(m, m->main, c);
  bool elaborated = true;
  for (const ir_node *n = m->main->first; n; n = n->next) elaborated &= n->op != IR_CALL;
  /* Check mode may build scratch dims (inferred sizes) in the arena; the
   * module's meaning is unchanged, hence the cast. */
  ir_module *mm = (ir_module *)m;
  for (ir_node *n = m->main->first; n && !rc; n = n->next) {
    if (elaborated) rc = ir_shape_node(mm, n, false, c);
    if (!rc) rc = check_slots(m, n, c);
  }
  if (!rc) rc = check_plan(m, c);
  return rc;
}
