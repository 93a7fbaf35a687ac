/* ir_shape.h: the shape rules of every op, shared by the verifier
 * (ir_verify, which checks recorded result types) and the shape-inference
 * pass (passes/pass_shapes.c, which sets them), so the two cannot drift.
 * Internal to ir/ and passes/; not part of the ir.h contract. */
#ifndef SSD_IR_SHAPE_H
#define SSD_IR_SHAPE_H
#include <stdbool.h>

#include "ir.h"

/* Compute n's result types from its operands.  set: store them in n->out;
 * otherwise compare them with what is recorded.  Shape errors are reported
 * with ssd_err_at at n->loc, naming both shapes. */
int ir_shape_node(ir_module *m, ir_node *n, bool set, ssd_ctx *c);
/* Structural checks: arity, required operands, definition before use. */
int ir_check_func(const ir_module *m, const ir_func *f, ssd_ctx *c);
/* Format "f32[batch,seqlen,768]" into buf. */
const char *ir_type_str(char *buf, size_t n, const ir_value *v);
#endif
