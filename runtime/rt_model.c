/* rt_model.c: load a model (checkpoint or built-in random) and run greedy
 * generation over it (see rt_model.h).  This is the glue between the
 * frontend, the passes, checkpoint I/O and the executor; it owns the arena
 * the program lives in, the module, the open checkpoint and the weights.
 */
#define _POSIX_C_SOURCE 200809L
#include "rt_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../codegen/cg_c_host.h"
#include "../frontend/fe.h"
#include "../passes/passes.h"
#include "rt_config.h"
#include "rt_ops.h"
#include "rt_pool.h"
#include "rt_safetensors.h"
#include "rt_weights.h"

#ifndef SSDC_SOURCE_DIR
#define SSDC_SOURCE_DIR "."
#endif

typedef struct rand_weight {
  const char *ckpt;
  float *data;
  int64_t n;
} rand_weight;

struct rt_model {
  ssd_arena *arena;  /* the parsed program */
  ir_module *m;
  rt_safetensors *st;
  rt_weights *w;
  rand_weight *rw;   /* random model: one buffer per checkpoint name */
  int nrw;
  rt_exec *exec;
  cg_host *host;     /* generated code, or NULL: interpreter only */
  bool host_all;     /* claim every SSM, not only where the recurrence was chosen */
};

double rt_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

const char *rt_models_dir(void) {
  const char *e = getenv("SSDC_MODELS");
  return e && *e ? e : SSDC_SOURCE_DIR "/models";
}

void rt_model_free(rt_model *m) {
  if (!m) return;
  rt_exec_free(m->exec);
  cg_host_free(m->host);
  if (m->w) rt_weights_free(m->w);
  if (m->st) rt_st_close(m->st);
  for (int i = 0; i < m->nrw; i++) free(m->rw[i].data);
  free(m->rw);
  if (m->m) ir_module_free(m->m);
  if (m->arena) ssd_arena_free(m->arena);
  free(m);
}

const ir_module *rt_model_module(const rt_model *m) { return m->m; }

static const float *ckpt_weight(void *ctx, const ir_node *n);
static const float *rand_weight_of(void *ctx, const ir_node *n);

void rt_model_weights(const rt_model *m, rt_weight_fn *fn, void **ctx) {
  *fn = m->w ? ckpt_weight : rand_weight_of;
  *ctx = m->w ? (void *)m->w : (void *)m;
}
rt_exec *rt_model_exec(rt_model *m) { return m->exec; }

/* --set name=value, each applied to the program before lowering. */
static int apply_sets(fe_program *p, const rt_model_opts *o, ssd_ctx *c) {
  for (int i = 0; o && i < o->nsets; i++) {
    const char *eq = strchr(o->sets[i], '=');
    if (!eq || eq == o->sets[i])
      return ssd_err(c, SSD_EINVAL, "--set wants NAME=VALUE, got '%s'", o->sets[i]);
    char name[256];
    size_t n = (size_t)(eq - o->sets[i]);
    if (n >= sizeof name) return ssd_err(c, SSD_EINVAL, "--set: name too long");
    memcpy(name, o->sets[i], n);
    name[n] = 0;
    int rc = fe_set(p, name, eq + 1, c);
    if (rc) return rc;
  }
  return SSD_OK;
}

static int lower_and_pass(rt_model *md, fe_program *p, const rt_model_opts *o, ssd_ctx *c) {
  int rc = apply_sets(p, o, c);
  if (!rc) rc = fe_lower(p, &md->m, c);
  if (rc) return rc;
  /* Without fusion: stop before it.  The module then has separate dt/A ops,
   * no form choice (the recurrent form runs) and no state slots. */
  pass_opts po = {.target = "cpu", .stop_after = o && o->no_fuse ? "heads" : NULL};
  return pass_run_all(md->m, &po, c);
}

static const float *ckpt_weight(void *ctx, const ir_node *n) {
  return rt_weights_get(ctx, n);
}

/* ---- generated code ---------------------------------------------------------- */
/* The executor hands IR_SSM nodes to the generated kernels where the
 * algorithm selection chose the recurrence (decode, short prefills); the
 * matmul forms stay with rt_ssm. */
static int host_claims(void *ctx, const ir_node *n, int64_t L) {
  const rt_model *md = ctx;
  if (n->op == IR_CONV1D && cg_host_conv(md->host, n)) return 1 + cg_host_conv_chain(md->host, n);
  if (n->op != IR_SSM || n->in[IR_SSM_INIT]) return 0;
  const ir_ssm_choice *ch = ir_ssm_choose(n->a.ssm, L);
  if (!md->host_all && ch && ch->form != IR_FORM_RECURRENT) return 0;
  return cg_host_ssm(md->host, n) != NULL;
}

typedef struct host_job {
  cg_ssm_fn ssm;
  const cg_ssm_call *ssm_call;
  cg_conv_fn conv;
  const cg_conv_call *conv_call;
} host_job;

static void host_range(void *ctx, int64_t a, int64_t b) {
  const host_job *j = ctx;
  if (j->ssm) j->ssm(j->ssm_call, a, b);
  else j->conv(j->conv_call, a, b);
}

static int host_conv(const rt_model *md, const ir_node *n, int64_t batch, int64_t L,
                     const float *const *in, float *const *out, float *state, ssd_ctx *c) {
  int64_t C;
  if (ir_dim_eval(md->m, n->in[0]->dims[2], &C))
    return ssd_err(c, SSD_EINTERNAL, "conv node %d has no constant channel count", n->id);
  cg_conv_call call = {batch, L, in[0], in[1], in[2], state, out[0]};
  host_job j = {NULL, NULL, cg_host_conv(md->host, n), &call};
  int64_t K = 4; /* only sizes the parallel blocks */
  ir_dim_eval(md->m, n->in[1]->dims[n->in[1]->rank - 1], &K);
  rt_parallel_for(batch * ((C + CG_CONV_CB - 1) / CG_CONV_CB), rt_grain(L * CG_CONV_CB * K),
                  host_range, &j);
  return SSD_OK;
}

static int host_run(void *ctx, const ir_node *n, int64_t batch, int64_t L, const float *const *in,
                    float *const *out, float *state, ssd_ctx *c) {
  const rt_model *md = ctx;
  if (n->op == IR_CONV1D) return host_conv(md, n, batch, L, in, out, state, c);
  const ir_ssm_attr *s = n->a.ssm;
  size_t ns = (size_t)(batch * s->H * s->P * s->N);
  float *final = n->nout > 1 ? out[1] : NULL;
  if (!state && final) { /* no cache, but the final state is wanted: start from zeros */
    memset(final, 0, ns * sizeof(float));
    state = final;
  }
  cg_ssm_call call = {batch, L, in[IR_SSM_X], in[IR_SSM_DT], in[IR_SSM_A], in[IR_SSM_B],
                      in[IR_SSM_C], in[IR_SSM_D], in[IR_SSM_Z], in[IR_SSM_DT_BIAS], state,
                      out[0]};
  host_job j = {cg_host_ssm(md->host, n), &call, NULL, NULL};
  if (!j.ssm) return ssd_err(c, SSD_EINTERNAL, "no generated kernel for ssm node %d", n->id);
  rt_parallel_for(batch * s->H, rt_grain(L * s->P * s->N), host_range, &j);
  if (final && state != final) memcpy(final, state, ns * sizeof(float));
  return SSD_OK;
}

/* Build and hook the generated code as o->codegen asks (see rt_model.h). */
static int attach_codegen(rt_model *md, const rt_model_opts *o, ssd_ctx *c) {
  int mode = o ? o->codegen : 0;
  const char *env = getenv("SSDC_CODEGEN");
  if (mode == 0 && env && !strcmp(env, "0")) mode = -1;
  if (mode < 0) return SSD_OK;
  bool any = false;
  for (const ir_node *n = md->m->main->first; n && !any; n = n->next)
    any = n->op == IR_SSM || n->op == IR_CONV1D;
  if (!any) return SSD_OK;
  /* In auto mode a failure is only a warning, so keep its error quiet. */
  ssd_ctx quiet;
  ssd_ctx_init(&quiet);
  FILE *devnull = mode == 0 ? fopen("/dev/null", "w") : NULL;
  if (devnull) quiet.diag = devnull;
  ssd_ctx *bc = mode == 0 ? &quiet : c;
  int rc = cg_host_build(md->m, o ? o->cache_dir : NULL, &md->host, bc);
  if (devnull) fclose(devnull);
  if (rc && mode == 0) { /* auto: the interpreter still runs everything */
    ssd_warn(c, "generated C unavailable, using the interpreter: %s", quiet.msg);
    return SSD_OK;
  }
  if (rc) return rc;
  md->host_all = mode == 2;
  rt_exec_hook h = {md, host_claims, host_run};
  rt_exec_set_hook(md->exec, &h);
  return SSD_OK;
}

bool rt_model_codegen(const rt_model *m, char *desc, size_t n) {
  if (!m->host) {
    if (n) snprintf(desc, n, "interpreter only");
    return false;
  }
  const cg_host_stats *st = cg_host_stats_of(m->host);
  if (n)
    snprintf(desc, n, "generated C for conv+activation and the recurrent ssm (%s, %s)", st->compiler,
             st->cache_hit ? "from the cache" : "compiled now");
  return true;
}

static int model_new(rt_model **mdp, ssd_ctx *c) {
  rt_model *md = *mdp = calloc(1, sizeof *md);
  if (!md || !(md->arena = ssd_arena_new())) {
    free(md);
    *mdp = NULL;
    return ssd_err(c, SSD_ENOMEM, "out of memory");
  }
  return SSD_OK;
}

/* The program: with a checkpoint directory, its config.json picks the
 * model file (unless one is named) and sets the hyperparameters; without,
 * the named model file with its defaults.  Then --set, lowering, passes. */
static int build_module(rt_model *md, const char *dir, const char *model_file,
                        const rt_model_opts *o, ssd_ctx *c) {
  rt_config *cfg = NULL;
  fe_program *p;
  int rc = dir ? rt_config_load(md->arena, dir, &cfg, c) : SSD_OK;
  if (!rc && model_file) rc = fe_parse_file(md->arena, model_file, &p, c);
  else if (!rc) rc = rt_config_pick_model(md->arena, cfg, rt_models_dir(), &p, NULL, c);
  if (!rc && cfg) rc = rt_config_apply(cfg, p, c);
  return rc ? rc : lower_and_pass(md, p, o, c);
}

int rt_model_load(const char *dir, const rt_model_opts *o, rt_model **out, ssd_ctx *c) {
  *out = NULL;
  rt_model *md;
  int rc = model_new(&md, c);
  if (rc) return rc;
  rc = build_module(md, dir, o ? o->model_file : NULL, o, c);
  if (!rc) rc = rt_st_open_model(dir, &md->st, c);
  if (!rc) rc = rt_weights_bind(md->m, md->st, &md->w, c);
  if (!rc) rc = rt_exec_new(md->m, ckpt_weight, md->w, &md->exec, c);
  if (!rc) rc = attach_codegen(md, o, c);
  if (rc) {
    rt_model_free(md);
    return rc;
  }
  *out = md;
  return SSD_OK;
}

/* ---- the random model ------------------------------------------------------------ */
static bool ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

/* splitmix64: seeded, platform-independent. */
static uint64_t mix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unif01(uint64_t *s) { return (double)(mix64(s) >> 11) / 9007199254740992.0; }

/* Values at the scale mamba_ssm initialises each kind of parameter with, so
 * that activations stay O(1) through the stack and the demo's tokens vary. */
typedef enum { INIT_A_LOG, INIT_DT_BIAS, INIT_ONE, INIT_BIAS, INIT_EMBED, INIT_FAN_IN } init_kind;

static init_kind init_kind_of(const char *name) {
  if (ends_with(name, "A_log")) return INIT_A_LOG;
  if (ends_with(name, "dt_bias") || ends_with(name, "dt_proj.bias")) return INIT_DT_BIAS;
  if (ends_with(name, ".D") || strstr(name, "norm")) return INIT_ONE;
  if (ends_with(name, "bias")) return INIT_BIAS;
  if (strstr(name, "embed")) return INIT_EMBED;
  return INIT_FAN_IN; /* linear and conv weights: kaiming uniform */
}

static void init_weight(const char *name, const ir_value *v, const ir_module *m, float *w,
                        int64_t n, uint64_t *s) {
  int64_t fan_in = 1;
  if (v->rank >= 2) ir_dim_eval(m, v->dims[v->rank - 1], &fan_in);
  if (fan_in <= 0) fan_in = 1;
  init_kind k = init_kind_of(name);
  double bound = 1.0 / sqrt((double)fan_in);
  for (int64_t i = 0; i < n; i++) {
    double u = unif01(s);
    switch (k) {
    case INIT_A_LOG: w[i] = (float)log(1.0 + 15.0 * u); break; /* A in [-16, -1] */
    case INIT_DT_BIAS: {                                       /* softplus^-1(dt) */
      double dt = exp(log(1e-3) + u * (log(1e-1) - log(1e-3)));
      w[i] = (float)(dt + log(-expm1(-dt)));
      break;
    }
    case INIT_ONE: w[i] = 1.0f; break;
    case INIT_BIAS: w[i] = (float)((u - 0.5) * 0.1); break;
    case INIT_EMBED: w[i] = (float)((u - 0.5) * 0.04 * sqrt(3.0)); break; /* std 0.02 */
    case INIT_FAN_IN: w[i] = (float)((2 * u - 1) * bound); break;
    }
  }
}

static const float *rand_lookup(const rt_model *md, const char *ckpt) {
  for (int i = 0; i < md->nrw; i++)
    if (!strcmp(md->rw[i].ckpt, ckpt)) return md->rw[i].data;
  return NULL;
}

const float *rt_model_weight(const rt_model *m, const char *ckpt) { return rand_lookup(m, ckpt); }

static const float *rand_weight_of(void *ctx, const ir_node *n) {
  return n->a.ckpt ? rand_lookup(ctx, n->a.ckpt) : NULL;
}

/* One buffer per checkpoint name (tied weight nodes share it): seeded
 * random values, or with seed NULL a 4-byte placeholder that only gives
 * the tensor an identity (rt_model_shapes). */
static int make_weights(rt_model *md, const uint64_t *seed, ssd_ctx *c) {
  for (const ir_node *n = md->m->main->first; n; n = n->next) {
    if (n->op != IR_WEIGHT || !n->a.ckpt || rand_lookup(md, n->a.ckpt)) continue;
    int64_t cnt;
    if (ir_value_numel(md->m, n->out[0], 1, 1, &cnt) || cnt <= 0)
      return ssd_err_at(c, n->loc, SSD_EINTERNAL, "weight '%s' has no constant size", n->a.ckpt);
    rand_weight *nw = realloc(md->rw, (size_t)(md->nrw + 1) * sizeof *nw);
    if (!nw) return ssd_err(c, SSD_ENOMEM, "out of memory");
    md->rw = nw;
    float *d = seed ? malloc((size_t)cnt * sizeof(float)) : calloc(1, sizeof(float));
    if (!d) return ssd_err(c, SSD_ENOMEM, "out of memory for weight '%s'", n->a.ckpt);
    if (seed) { /* each tensor's stream depends only on the seed and its name */
      uint64_t s = ssd_hash64(n->a.ckpt, strlen(n->a.ckpt), *seed);
      init_weight(n->a.ckpt, n->out[0], md->m, d, cnt, &s);
    }
    nw[md->nrw++] = (rand_weight){n->a.ckpt, d, cnt};
  }
  return SSD_OK;
}

int rt_model_random(const char *model_file, const rt_model_opts *o, uint64_t seed,
                    rt_model **out, ssd_ctx *c) {
  *out = NULL;
  rt_model *md;
  int rc = model_new(&md, c);
  if (rc) return rc;
  rc = build_module(md, NULL, model_file, o, c);
  if (!rc) rc = make_weights(md, &seed, c);
  if (!rc) rc = rt_exec_new(md->m, rand_weight_of, md, &md->exec, c);
  if (!rc) rc = attach_codegen(md, o, c);
  if (rc) {
    rt_model_free(md);
    return rc;
  }
  *out = md;
  return SSD_OK;
}

int rt_model_shapes(const char *dir, const char *model_file, const rt_model_opts *o,
                    rt_model **out, ssd_ctx *c) {
  *out = NULL;
  if (!dir && !model_file) return ssd_err(c, SSD_EINVAL, "no model: give a model file or a directory");
  rt_model *md;
  int rc = model_new(&md, c);
  if (rc) return rc;
  rc = build_module(md, dir, model_file, o, c);
  if (!rc) rc = make_weights(md, NULL, c);
  if (rc) {
    rt_model_free(md);
    return rc;
  }
  *out = md;
  return SSD_OK;
}

size_t rt_model_param_count(const rt_model *m) {
  size_t n = 0;
  for (int i = 0; i < m->nrw; i++) n += (size_t)m->rw[i].n;
  if (m->w) { /* checkpoint: count the distinct weights the module declares */
    for (const ir_node *nd = m->m->main->first; nd; nd = nd->next) {
      int64_t k;
      if (nd->op == IR_WEIGHT && !nd->a.tied && !ir_value_numel(m->m, nd->out[0], 1, 1, &k))
        n += (size_t)k;
    }
  }
  return n;
}

/* ---- generation ---------------------------------------------------------------- */
int rt_generate(rt_model *m, const int64_t *ids, int64_t n, int64_t max_new, int64_t *out,
                int64_t *nout, double *prefill_s, double *decode_s, ssd_ctx *c) {
  *nout = 0;
  if (n <= 0) return ssd_err(c, SSD_EINVAL, "generate: the prompt is empty");
  rt_state *st;
  int rc = rt_state_new(1, &st, c);
  if (rc) return rc;
  float *logits = NULL;
  int64_t V = 0;
  double t0 = rt_now();
  rt_fwd f = {ids, 1, n, st, true};
  rc = rt_exec_forward(m->exec, &f, &logits, &V, c);
  double t1 = rt_now();
  for (int64_t k = 0; !rc && k < max_new; k++) {
    int64_t tok = rt_argmax(logits, V);
    out[(*nout)++] = tok;
    free(logits);
    logits = NULL;
    if (k + 1 == max_new) break;
    rt_fwd d = {&out[k], 1, 1, st, true};
    rc = rt_exec_forward(m->exec, &d, &logits, &V, c);
  }
  double t2 = rt_now();
  free(logits);
  rt_state_free(st);
  if (prefill_s) *prefill_s = t1 - t0;
  if (decode_s) *decode_s = t2 - t1;
  return rc;
}
