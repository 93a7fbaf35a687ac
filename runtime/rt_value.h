/* rt_value.h: what both executors (rt_exec.c on the CPU, rt_gpu_model.c on
 * the GPU) need to know about an IR value at run time: its concrete shape
 * once batch and seqlen are bound, its element count, the outer/inner
 * extents around an axis (split, concat), and whether it is a per-position
 * activation [batch, seqlen, ...].  Keeping these in one place keeps the two
 * executors' view of the IR identical. */
#ifndef SSD_RT_VALUE_H
#define SSD_RT_VALUE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"
#include "rt_ops.h"

/* Bind batch and seqlen into v's dims (rank and shape[IR_MAX_RANK]).
 * Values over max_numel elements are refused with a message. */
int rt_value_shape(const ir_module *m, const ir_value *v, int64_t batch, int64_t seqlen,
                   int64_t max_numel, int *rank, int64_t *shape, ssd_ctx *c);
int64_t rt_shape_numel(int rank, const int64_t *shape);
void rt_shape_around(int rank, const int64_t *shape, int axis, int64_t *outer, int64_t *inner);
bool rt_value_per_position(const ir_value *v);
/* The elementwise function of a unary IR node (RT_U_COPY for cast and the
 * like).  The GPU kernels use the same codes (codegen/cuda/gm_ops.cuh). */
rt_unary_op rt_unary_of(const ir_node *n);

/* Both executors run a node by its op family (ir_op_family) and name their
 * handlers alike, op_input ... op_attention; their tables are this one, with
 * the handler a cast takes (the CPU converts dtypes, the GPU runs a copy). */
#define RT_FAMILY_OPS(cast_op)                                                                   \
  {[IR_FAM_INPUT] = op_input,     [IR_FAM_WEIGHT] = op_weight, [IR_FAM_CONST] = op_const,      \
   [IR_FAM_OUTPUT] = op_output,   [IR_FAM_EMBED] = op_embed,   [IR_FAM_LINEAR] = op_linear,    \
   [IR_FAM_NORM] = op_norm,       [IR_FAM_CONV] = op_conv,     [IR_FAM_UNARY] = op_unary,      \
   [IR_FAM_BINARY] = op_binary,   [IR_FAM_CAST] = cast_op,     [IR_FAM_SPLIT] = op_split,      \
   [IR_FAM_RESHAPE] = op_reshape, [IR_FAM_CONCAT] = op_concat, [IR_FAM_SSM] = op_ssm,          \
   [IR_FAM_ATTENTION] = op_attention}

#endif
