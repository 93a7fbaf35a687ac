/* rt_config.h: config.json -> a model file's hyperparameters.
 *
 * A checkpoint directory's config.json comes in two dialects: Hugging Face
 * ("model_type": "mamba2", "mamba", "bamba", ...) and mamba_ssm's
 * (state-spaces/mamba*-*: "d_model" plus "ssm_cfg", whose "layer" is
 * "Mamba2", or absent for Mamba-1).  The model file says which keys feed
 * each hyperparameter (`@hf(path, default)` / `@ssm(path, default)`, read
 * through frontend/fe.h) and which (source, type) pairs it covers, so this
 * module needs no per-model knowledge:
 *
 *   rt_config_load -> rt_config_pick_model (models/) -> rt_config_apply ->
 *   fe_lower (whose `require` clauses catch inconsistent sizes).
 *
 * Rules when applying: for each parameter, the first of its keys for this
 * dialect that is present (and not null) wins; if none is present, the first
 * such key's default is used; if no key has a default, a derived parameter
 * keeps its expression and any other parameter's key is required (its
 * absence is an error naming the key).  Parameters with no key for this dialect keep the
 * model file's value.  Types are strict: an int parameter takes only a JSON
 * integer (2.0 and "2" are errors), a float takes any number, HF's
 * {"__float__": "Infinity"} form or the bare Infinity/NaN older HF writers
 * emitted (accepted in config.json only), a bool only true/false, a list only an
 * array of integers.
 */
#ifndef SSD_RT_CONFIG_H
#define SSD_RT_CONFIG_H

#include <stdbool.h>

#include "../frontend/fe.h"
#include "rt_json.h"

typedef struct rt_config {
  ssd_arena *arena;   /* the caller's arena everything here lives in */
  const char *path;   /* for messages */
  const rt_json *root;
  const char *source; /* "hf" or "ssm" */
  const char *type;   /* hf: model_type; ssm: ssm_cfg.layer, "Mamba1" when absent */
} rt_config;

/* Parse a config from memory / from a file (a directory means DIR/config.json).
 * Everything is allocated from a. */
int rt_config_parse(ssd_arena *a, const char *path, const char *text, size_t len,
                    rt_config **out, ssd_ctx *c);
int rt_config_load(ssd_arena *a, const char *path, rt_config **out, ssd_ctx *c);

/* Read the value at a key path ("ssm_cfg.d_state", "time_step_limit[1]") as a
 * parameter of the given kind.  *found is false when the key is absent or
 * null (then *out is untouched).  Wrong types are SSD_EFORMAT naming the key. */
int rt_config_value(ssd_arena *a, const rt_config *cfg, const char *path, ir_param_kind kind,
                    ir_param *out, bool *found, ssd_ctx *c);

/* Set every hyperparameter of p that has a key for cfg's dialect. */
int rt_config_apply(const rt_config *cfg, fe_program *p, ssd_ctx *c);

/* Parse each *.ssd file of dir (in name order) and return the single one
 * that covers (cfg->source, cfg->type).  None, several, or a model file that
 * does not parse is an error.  Programs are allocated from a. */
int rt_config_pick_model(ssd_arena *a, const rt_config *cfg, const char *dir, fe_program **out,
                         const char **path_out, ssd_ctx *c);

#endif
