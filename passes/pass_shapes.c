/* pass_shapes.c: shape inference and checking for every op of main.
 *
 * The rules themselves live in ir/ir_shape.c, shared with ir_verify, so the
 * types this pass records are exactly the ones the verifier accepts.  A
 * mismatch is reported at the user's line:col with both shapes; the pass
 * stops at the first one because every later type would depend on it.
 */
#include "ir_shape.h"
#include "passes.h"

int pass_shapes(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  (void)o;
  for (ir_node *n = m->main->first; n; n = n->next) {
    if (n->op == IR_CALL)
      return ssd_err_at(c, n->loc, SSD_EINTERNAL, "call left after elaboration");
    int rc = ir_shape_node(m, n, true, c);
    if (rc) return rc;
  }
  return SSD_OK;
}
