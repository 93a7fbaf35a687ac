/* rt_exec.h: the reference interpreter of the final IR on the CPU.
 *
 * It walks the main function of a module after pass_run_all (elaborated,
 * shapes inferred, SSM attributes fused, state slots assigned), gives every
 * value a buffer sized from its dims with batch and seqlen bound, runs each
 * node with the rt_ops kernels (IR_SSM with the rt_ssm form ir_ssm_choose
 * picks for L) and frees each buffer after its last use.  It runs unfused
 * modules too, which is how the fused and generated paths are checked.
 *
 * Weights come from a callback so that the same executor serves checkpoints
 * (rt_weights) and the built-in random model of demo/bench.  Linear weights
 * are packed once when the executor is created.
 */
#ifndef SSD_RT_EXEC_H
#define SSD_RT_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"
#include "rt_state.h"

/* The float32 data of a WEIGHT node, or NULL if there is none. */
typedef const float *(*rt_weight_fn)(void *ctx, const ir_node *weight);

typedef struct rt_exec rt_exec;

/* Hooks for compiled code (codegen/cg_c_*.c).  claims(n, L) returns how
 * many nodes, starting at n, the hook runs as one kernel (0: none; more
 * than 1: n and the following nodes of main, a fusion group whose
 * intermediate values are never materialized).  run then gets n's operand
 * buffers (NULL for absent ones), the result buffers of the LAST claimed
 * node, resolved sizes and the state slot buffer of n (conv or ssm state,
 * NULL without a cache). */
typedef struct rt_exec_hook {
  void *ctx;
  int (*claims)(void *ctx, const ir_node *n, int64_t L);
  int (*run)(void *ctx, const ir_node *n, int64_t batch, int64_t L, const float *const *in,
             float *const *out, float *state, ssd_ctx *c);
} rt_exec_hook;

int rt_exec_new(const ir_module *m, rt_weight_fn wfn, void *wctx, rt_exec **out, ssd_ctx *c);
void rt_exec_free(rt_exec *e);
void rt_exec_set_hook(rt_exec *e, const rt_exec_hook *h); /* NULL: interpreter only */

typedef struct rt_fwd {
  const int64_t *ids; /* [batch, L] */
  int64_t batch, L;
  rt_state *state;    /* NULL: a stateless full forward from position 0 */
  bool last_only;     /* logits of the last position only ([batch, 1, V]) */
} rt_fwd;

/* Run the module.  On success *logits (malloc'd, the caller frees) holds
 * [batch, L or 1, V] and *V the vocabulary size.  With a state, the state
 * continues from its current position and is advanced by L; after a
 * failure its contents are unspecified (rt_state_reset before reuse).
 * One executor runs one forward at a time (it keeps per-call buffers);
 * the kernels inside use the rt_pool threads. */
int rt_exec_forward(rt_exec *e, const rt_fwd *f, float **logits, int64_t *V, ssd_ctx *c);

/* The SSM form chosen at length L for the first IR_SSM (demo output);
 * sets *chunk for CHUNKED.  IR_FORM_UNSET when the module has none. */
ir_ssm_form rt_exec_ssm_form(const rt_exec *e, int64_t L, int64_t *chunk);

#endif
