/* pass_state.c: decode-cache slots for stateful ops.
 *
 * Autoregressive decoding carries state between calls: the last K-1 inputs
 * of every causal conv1d, the [H, P, N] state of every SSM and the K/V cache
 * of every attention.  The runtime keys its cache on the slot numbers given
 * here (attrs.state_slot, ssm->state_slot, attn->state_slot), numbered in
 * program order so they are stable across runs of the same model file;
 * m->nstate_slots is how many the cache must hold.
 */
#include "passes.h"

int pass_state(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  (void)o;
  int slot = 0;
  for (ir_node *n = m->main->first; n; n = n->next) {
    switch (n->op) {
    case IR_CONV1D: n->a.state_slot = slot++; break;
    case IR_SSM: n->a.ssm->state_slot = slot++; break;
    case IR_ATTENTION:
      if (!n->a.attn) return ssd_err_at(c, n->loc, SSD_EINTERNAL, "attention without attributes");
      n->a.attn->state_slot = slot++;
      break;
    default: break;
    }
  }
  m->nstate_slots = slot;
  return SSD_OK;
}
