/* rt_weights.h: binding a compiled module's weights to a checkpoint.
 *
 * After the passes, every IR_WEIGHT node of the module's main function has a
 * concrete checkpoint name (attrs.ckpt) and a constant shape.  Binding checks
 * each one against the open safetensors table (present, same shape, a float
 * dtype), reports every mismatch with both shapes at the model-file line that
 * declared the weight, warns about checkpoint tensors nothing uses, and hands
 * out float32 data: F32 tensors are used in place inside the read-only mmap
 * (when 4-byte aligned), BF16/F16 ones are upcast into buffers the binding
 * owns.  Weight nodes that share a checkpoint name (tied embeddings lowered
 * to one name) share one buffer.  The safetensors handle must stay open for
 * as long as the binding is used.
 */
#ifndef SSD_RT_WEIGHTS_H
#define SSD_RT_WEIGHTS_H

#include "ir.h"
#include "rt_safetensors.h"

typedef struct rt_weights rt_weights;

int rt_weights_bind(const ir_module *m, const rt_safetensors *st, rt_weights **out, ssd_ctx *c);
/* The float32 data of a weight node of the bound module (NULL if it is not one). */
const float *rt_weights_get(const rt_weights *w, const ir_node *weight_node);
/* The same, by checkpoint tensor name. */
const float *rt_weights_by_name(const rt_weights *w, const char *ckpt);
/* Number of weight nodes bound, and bytes of upcast copies owned. */
int rt_weights_count(const rt_weights *w);
size_t rt_weights_owned_bytes(const rt_weights *w);
void rt_weights_free(rt_weights *w);

#endif
