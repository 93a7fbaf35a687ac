/* fe.h: the frontend's public face.  A model file is parsed (flex + bison,
 * pure and reentrant, with locations) into a checked program; hyperparameters
 * can then be overridden (--set, config.json) before the program is lowered
 * to IR (see ir/ir.h).  The frontend evaluates all hyperparameter-dependent
 * control flow (`for`, `if`, `?:`) while lowering; the IR it produces still
 * holds the layer stack as IR_CALL nodes for the elaboration pass to expand.
 */
#ifndef SSD_FE_H
#define SSD_FE_H

#include "ir.h"

typedef struct fe_program fe_program;

/* A config-file key a hyperparameter binds to: `@hf(time_step_limit[1], inf)`
 * gives source "hf", path "time_step_limit[1]" and a default for when the key
 * is absent from config.json. */
typedef struct fe_key {
  const char *source;   /* "hf" or "ssm" (mamba_ssm's config.json) */
  const char *path;     /* dotted object path with optional [index] steps */
  bool has_default;
  ir_param dflt;        /* kind matches the param's kind */
} fe_key;

typedef struct fe_param_info {
  const char *name;
  ir_param_kind kind;
  ssd_loc loc;
  bool derived;         /* default is an expression over other params */
  int nkeys;
  const fe_key *keys;
} fe_param_info;

/* Parse and check.  Returns SSD_OK, or SSD_EPARSE/SSD_ECHECK/SSD_EIO after
 * printing every diagnostic (FILE:LINE:COL, source line, caret) to c->diag. */
int fe_parse_file(ssd_arena *a, const char *path, fe_program **out, ssd_ctx *c);
int fe_parse_string(ssd_arena *a, const char *name, const char *text, size_t len,
                    fe_program **out, ssd_ctx *c);

const char *fe_model_name(const fe_program *p);
/* Does this file declare that it covers (source, type)?  e.g. ("hf", "mamba2"). */
bool fe_covers(const fe_program *p, const char *source, const char *type);
int fe_nparams(const fe_program *p);
const fe_param_info *fe_param(const fe_program *p, int i);

/* Override a hyperparameter.  fe_set parses text as a literal of the param's
 * kind (--set d_model=2560, --set attn_layers=[3,9]); fe_set_value takes a
 * typed value (config.json).  Unknown names and wrong kinds are errors.
 * (Both copy the value, lists included, into the program's arena.) */
int fe_set(fe_program *p, const char *name, const char *text, ssd_ctx *c);
int fe_set_value(fe_program *p, const char *name, const ir_param *v, ssd_ctx *c);

/* Evaluate hyperparameters and `require` clauses, then lower to IR.  The
 * module gets its own arena; free it with ir_module_free.  Its source
 * locations point into the program's arena: keep that alive while the
 * module may still report errors.  On failure *out is NULL.
 * The language and what lowering produces: frontend/LANGUAGE.md. */
int fe_lower(fe_program *p, ir_module **out, ssd_ctx *c);

#endif
