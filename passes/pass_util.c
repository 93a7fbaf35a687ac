/* pass_util.c: small helpers the passes share: dumping, dead-code removal
 * and "is this value available here" (fusion moves uses to earlier nodes
 * and must not create a use before a definition). */
#include "passes.h"

void pass_dump(const ir_module *m, const pass_opts *o) {
  FILE *f = o && o->dump ? o->dump : stdout;
  if (o && o->dump_format == PASS_DUMP_DOT) ir_print_dot(f, m);
  else ir_print(f, m);
}

/* Stateful ops update the decode cache even when their result is unused;
 * OUTPUT is what the module is for. */
bool pass_has_effect(const ir_node *n) {
  return n->op == IR_OUTPUT || n->op == IR_CALL || n->op == IR_CONV1D || n->op == IR_SSM ||
         n->op == IR_ATTENTION;
}

int pass_dce(ir_module *m) {
  ir_func *f = m->main;
  int removed = 0;
  bool again = true;
  while (again) {
    again = false;
    ir_count_uses(f);
    for (ir_node *n = f->last, *prev; n; n = prev) {
      prev = n->prev;
      if (pass_has_effect(n)) continue;
      bool used = false;
      for (int i = 0; i < n->nout; i++) used |= n->out[i]->nuses > 0;
      if (used) continue;
      for (int i = 0; i < n->nin; i++)
        if (n->in[i]) n->in[i]->nuses--;
      ir_node_unlink(f, n);
      removed++;
      again = true;
    }
  }
  ir_count_uses(f);
  return removed;
}

bool pass_defined_before(const ir_func *f, const ir_value *v, const ir_node *n) {
  (void)f;
  if (!v || !v->def) return true;
  /* Backwards from n: definitions are usually a few nodes up. */
  for (const ir_node *p = n ? n->prev : NULL; p; p = p->prev)
    if (p == v->def) return true;
  return false;
}
