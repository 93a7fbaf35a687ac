/* passes.h: the pass pipeline between the frontend and codegen/runtime.
 *
 * Every pass is `int pass_X(ir_module *m, const pass_opts *o, ssd_ctx *c)`,
 * lives in passes/pass_X.c and returns SSD_OK or an SSD_E* code with the
 * message in c.  pass_run_all() runs them in the order of pass_names[] and
 * can dump the module after any of them.  The runtime and codegen call
 * pass_run_all() on the module fe_lower() returned and read the result.
 */
#ifndef SSD_PASSES_H
#define SSD_PASSES_H

#include <stdio.h>

#include "ir.h"

/* The per-target constants algorithm selection reasons with (COST_MODEL.md
 * documents each default and where it comes from).  Costs are seconds. */
typedef struct pass_cost_model {
  double flops;          /* sustained FLOP/s of dense matmul work (the quadratic/chunked GEMMs) */
  double scan_flops;     /* sustained FLOP/s of the sequential scan's elementwise work */
  double bytes;          /* sustained memory bandwidth, bytes/s */
  double launch;         /* fixed cost per kernel launch / parallel region, s */
  double step_latency;   /* dependent-step latency of the scan (one token), s */
  double quad_setup;     /* fixed extra cost of the quadratic form (mask/kernel setup), s */
  int64_t chunk;         /* default chunk size Q when the model does not request one */
} pass_cost_model;

/* Defaults per target ("cpu" or "cuda"); unknown targets get cpu's. */
void pass_cost_defaults(const char *target, pass_cost_model *cm);
/* Override fields from a key=value file (`#` comments; keys are the field
 * names above).  Unknown keys and malformed values are errors. */
int pass_cost_load(const char *path, pass_cost_model *cm, ssd_ctx *c);
/* The model's estimate, in seconds, of one SSM form for L tokens (per batch row). */
double pass_cost_form(const pass_cost_model *cm, const ir_ssm_attr *s, ir_ssm_form f,
                      int64_t L, int64_t chunk);

typedef enum { PASS_DUMP_TEXT, PASS_DUMP_DOT } pass_dump_format;

typedef struct pass_opts {
  int64_t seqlen;                  /* > 0: algorithm selection names the form at this L */
  const char *target;              /* "cpu" (default) or "cuda" */
  const pass_cost_model *cost;     /* NULL: pass_cost_defaults(target) + $SSDC_COST_MODEL */
  const char *dump_after;          /* pass name, "all", or NULL */
  pass_dump_format dump_format;
  FILE *dump;                      /* where dumps go; NULL: stdout */
  const char *stop_after;          /* pass name: run no further (ssdc dump --after) */
  bool skip_fuse;                  /* run every pass except fuse: unfused reference runs
                                      that still get forms, state slots and a memory plan */
} pass_opts;

extern const char *const pass_names[]; /* NULL-terminated, in pipeline order */
bool pass_name_valid(const char *name);

int pass_run_all(ir_module *m, const pass_opts *o, ssd_ctx *c);

/* The passes, in order. */
int pass_elaborate(ir_module *m, const pass_opts *o, ssd_ctx *c);
int pass_shapes(ir_module *m, const pass_opts *o, ssd_ctx *c);
int pass_canon(ir_module *m, const pass_opts *o, ssd_ctx *c);
int pass_heads(ir_module *m, const pass_opts *o, ssd_ctx *c);
int pass_algsel(ir_module *m, const pass_opts *o, ssd_ctx *c);
int pass_fuse(ir_module *m, const pass_opts *o, ssd_ctx *c);
int pass_state(ir_module *m, const pass_opts *o, ssd_ctx *c);
int pass_memplan(ir_module *m, const pass_opts *o, ssd_ctx *c);

/* Helpers the passes share (pass_util.c). */
void pass_dump(const ir_module *m, const pass_opts *o);
/* Unlink nodes of main whose results are all unused (OUTPUT and stateful
 * ops with used results stay); returns how many were removed. */
int pass_dce(ir_module *m);
/* OUTPUT, CALL and the stateful ops (conv1d, ssm, attention): never dead. */
bool pass_has_effect(const ir_node *n);
/* Is v available at node n (a parameter, or defined by a node before n)? */
bool pass_defined_before(const ir_func *f, const ir_value *v, const ir_node *n);
#endif
