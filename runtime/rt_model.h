/* rt_model.h: a runnable model, from a checkpoint directory or built in.
 *
 *   config.json -> model file (rt_config_pick_model over models/) -> --set
 *   -> fe_lower -> pass_run_all -> bind weights (rt_weights) -> rt_exec
 *
 * The built-in random model (demo, bench, tests) takes the same path with
 * a model file named directly and seeded random weights at the scales the
 * reference initialisation uses, so nothing has to be downloaded.
 * Greedy generation lives here too: prefill through the state cache, then
 * one token at a time.
 */
#ifndef SSD_RT_MODEL_H
#define SSD_RT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"
#include "rt_exec.h"

typedef struct rt_model_opts {
  const char *model_file;      /* NULL: chosen from config.json's model_type */
  const char *const *sets;     /* "name=value" hyperparameter overrides */
  int nsets;
  bool no_fuse;                /* run the passes without fusion (checks) */
  int codegen;                 /* generated C for the SSMs: 0 auto ($SSDC_CODEGEN, default
                                  on, falls back with a warning), -1 off, 1 required,
                                  2 required and used at every length (tests) */
  const char *cache_dir;       /* for generated code; NULL: the default */
} rt_model_opts;

typedef struct rt_model rt_model;

/* Where shipped model files live: $SSDC_MODELS, else the source tree's models/. */
const char *rt_models_dir(void);

int rt_model_load(const char *dir, const rt_model_opts *o, rt_model **out, ssd_ctx *c);
/* Parse model_file (hyperparameters from its defaults and o->sets) and fill
 * every weight with seeded random values. */
int rt_model_random(const char *model_file, const rt_model_opts *o, uint64_t seed,
                    rt_model **out, ssd_ctx *c);
/* Shapes only, for `ssdc compile`: the module of a checkpoint directory
 * (config.json; its weights are not opened) or of a model file (with its
 * defaults), o->sets applied, and placeholder weights that must never be
 * read: no CPU executor (rt_model_exec is NULL); the GPU executor takes it
 * only on a dry-run device (rt_gpu_opts.dry_arch). */
int rt_model_shapes(const char *dir, const char *model_file, const rt_model_opts *o,
                    rt_model **out, ssd_ctx *c);
void rt_model_free(rt_model *m);

const ir_module *rt_model_module(const rt_model *m);
rt_exec *rt_model_exec(rt_model *m);
/* The weight getter the executor was built with (checkpoint or random), so
 * another executor (the GPU one) reads the same weights without binding twice. */
void rt_model_weights(const rt_model *m, rt_weight_fn *fn, void **ctx);
/* The random model's weight by checkpoint name (tests copy weights between
 * a fused and an unfused build of one model); NULL otherwise. */
const float *rt_model_weight(const rt_model *m, const char *ckpt);
size_t rt_model_param_count(const rt_model *m);
/* Whether generated code is in use, and a one-line description of it. */
bool rt_model_codegen(const rt_model *m, char *desc, size_t n);

/* Greedy decoding for one sequence: prefill ids[0..n) then generate up to
 * max_new tokens into out (out[0..*nout)).  Timing of the prefill and the
 * decode steps goes to *prefill_s and *decode_s when non-NULL. */
int rt_generate(rt_model *m, const int64_t *ids, int64_t n, int64_t max_new, int64_t *out,
                int64_t *nout, double *prefill_s, double *decode_s, ssd_ctx *c);

/* Monotonic seconds, for the timings printed by the commands. */
double rt_now(void);

#endif
