/* rt_value.c: run-time shapes of IR values, shared by both executors (see
 * rt_value.h). */
#include "rt_value.h"

#include <string.h>

int rt_value_shape(const ir_module *m, const ir_value *v, int64_t batch, int64_t seqlen,
                   int64_t max_numel, int *rank, int64_t *shape, ssd_ctx *c) {
  *rank = v->rank;
  for (int d = 0; d < v->rank; d++)
    if (ir_dim_eval_rt(m, v->dims[d], batch, seqlen, &shape[d]) || shape[d] < 0) {
      char buf[128];
      ir_dim_snprint(buf, sizeof buf, v->dims[d]);
      return ssd_err(c, SSD_EINTERNAL, "cannot size dim %d (%s) of value %%%d", d, buf, v->id);
    }
  int64_t n;
  if (ir_value_numel(m, v, batch, seqlen, &n) || n > max_numel)
    return ssd_err(c, SSD_EINVAL, "value %%%d is too large for batch %lld x length %lld", v->id,
                   (long long)batch, (long long)seqlen);
  return SSD_OK;
}

int64_t rt_shape_numel(int rank, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < rank; d++) n *= shape[d];
  return n;
}

void rt_shape_around(int rank, const int64_t *shape, int axis, int64_t *outer, int64_t *inner) {
  *outer = *inner = 1;
  for (int d = 0; d < axis; d++) *outer *= shape[d];
  for (int d = axis + 1; d < rank; d++) *inner *= shape[d];
}

bool rt_value_per_position(const ir_value *v) {
  return v->rank >= 2 && v->dims[1]->kind == IR_DIM_SYM && v->dims[1]->name &&
         !strcmp(v->dims[1]->name, "seqlen");
}

rt_unary_op rt_unary_of(const ir_node *n) {
  switch (n->op) {
  case IR_SILU: return RT_U_SILU;
  case IR_SOFTPLUS: return RT_U_SOFTPLUS;
  case IR_EXP: return RT_U_EXP;
  case IR_LOG: return RT_U_LOG;
  case IR_GELU: return n->a.approx ? RT_U_GELU_TANH : RT_U_GELU_ERF;
  case IR_SIGMOID: return RT_U_SIGMOID;
  case IR_NEG: return RT_U_NEG;
  case IR_CLAMP: return RT_U_CLAMP;
  default: return RT_U_COPY;
  }
}
