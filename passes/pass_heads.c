/* pass_heads.c: head-pattern lowering for IR_SSM.
 *
 * Mamba-2 shares B and C across the heads of a group (ngroups = 1: one B/C
 * for all 24 heads of mamba2-130m), Mamba-1 runs one "head" per channel with
 * its own dt.  Kernels want the pattern as numbers, not as shapes: this pass
 * records kind (SSD when A is one scalar per head, S6 when A is [heads, N]),
 * H, P, N and the head count of each of x, B, C and dt, each of which divides
 * H (head h reads group h / (H / g)).  The dump prints the broadcasts, e.g.
 * heads(x=24 B=1->24 C=1->24 dt=24).
 */
#include "passes.h"

static int64_t dim_val(const ir_module *m, const ir_value *v, int i) {
  int64_t d = 0;
  return ir_dim_eval(m, v->dims[i], &d) ? 0 : d;
}

static int lower_ssm(const ir_module *m, ir_node *n, ssd_ctx *c) {
  ir_ssm_attr *s = n->a.ssm;
  const ir_value *x = n->in[IR_SSM_X], *B = n->in[IR_SSM_B], *C = n->in[IR_SSM_C];
  const ir_value *dt = n->in[IR_SSM_DT], *A = n->in[IR_SSM_A], *y = n->out[0];
  s->kind = A && A->rank == 2 ? IR_SSM_S6 : IR_SSM_SSD;
  s->hx = dim_val(m, x, 2);
  s->P = dim_val(m, x, 3);
  s->hb = dim_val(m, B, 2);
  s->hc = dim_val(m, C, 2);
  s->N = dim_val(m, B, 3);
  s->H = dim_val(m, y, 2);
  s->hdt = dt ? dim_val(m, dt, 2) : A ? dim_val(m, A, 0) : s->H;
  if (s->H <= 0 || s->P <= 0 || s->N <= 0 || s->hx <= 0 || s->hb <= 0 || s->hc <= 0 ||
      s->hdt <= 0 || s->H % s->hx || s->H % s->hb || s->H % s->hc || s->H % s->hdt)
    return ssd_err_at(c, n->loc, SSD_EINTERNAL, "ssm head pattern not resolved by shapes");
  return SSD_OK;
}

int pass_heads(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  (void)o;
  for (ir_node *n = m->main->first; n; n = n->next)
    if (n->op == IR_SSM) {
      int rc = lower_ssm(m, n, c);
      if (rc) return rc;
    }
  return SSD_OK;
}
