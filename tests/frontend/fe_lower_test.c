/* fe_lower_test.c: what fe_lower produces for the shipped models, checked
 * against numbers nobody here chose: the tensor shapes of public
 * checkpoints (state-spaces/mamba2-130m and -2.7b, state-spaces/mamba-130m-hf,
 * ibm-ai-platform/Bamba-9B), plus the IR attributes ir.h documents, the
 * override rules (fe_set, fe_set_value, derived params, require) and the
 * config-key metadata the runtime reads.
 *
 *   fe_lower_test MODELS_DIR
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"

static int fails, checks;
#define CHECK(cond, ...)                                          \
  do {                                                            \
    checks++;                                                     \
    if (!(cond)) {                                                \
      fails++;                                                    \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);                 \
      printf(__VA_ARGS__);                                        \
      printf("\n");                                               \
    }                                                             \
  } while (0)

static const char *models;
static ssd_ctx ctx;

typedef struct model {
  ssd_arena *a;
  fe_program *p;
  ir_module *m;
} model;

/* Parse, apply "name=value" overrides, lower.  Returns the status. */
static int load(model *md, const char *file, const char *const *sets) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", models, file);
  md->a = ssd_arena_new();
  md->m = NULL;
  int rc = fe_parse_file(md->a, path, &md->p, &ctx);
  for (; !rc && sets && *sets; sets++) {
    char name[128];
    const char *eq = strchr(*sets, '=');
    snprintf(name, sizeof name, "%.*s", (int)(eq - *sets), *sets);
    rc = fe_set(md->p, name, eq + 1, &ctx);
  }
  if (rc) return rc;
  md->m = (ir_module *)&ctx; /* poison: fe_lower must set NULL on failure */
  rc = fe_lower(md->p, &md->m, &ctx);
  if (rc) CHECK(md->m == NULL, "fe_lower left a module behind on failure");
  return rc;
}

static void unload(model *md) {
  ir_module_free(md->m);
  ssd_arena_free(md->a);
}

static const ir_node *find_weight(const ir_module *m, const char *ckpt) {
  const ir_func *fs[64];
  int n = 0;
  fs[n++] = m->main;
  for (int i = 0; i < m->nfuncs && n < 64; i++) fs[n++] = m->funcs[i];
  for (int i = 0; i < n; i++)
    for (const ir_node *x = fs[i]->first; x; x = x->next)
      if (x->op == IR_WEIGHT && !strcmp(x->a.ckpt, ckpt)) return x;
  return NULL;
}

/* A weight's dims must evaluate (through the IR's own evaluator) to the
 * checkpoint's shape; dims[] ends with 0.  NULL shape: must be absent. */
static void shape_is(const ir_module *m, const char *ckpt, const int64_t *dims) {
  const ir_node *w = find_weight(m, ckpt);
  if (!dims) {
    CHECK(!w, "%s should be absent", ckpt);
    return;
  }
  CHECK(w, "%s missing", ckpt);
  if (!w) return;
  int r = 0;
  while (dims[r]) r++;
  CHECK(w->out[0]->rank == r, "%s rank %d, want %d", ckpt, w->out[0]->rank, r);
  for (int i = 0; i < r && i < w->out[0]->rank; i++) {
    int64_t v = -1;
    CHECK(ir_dim_eval(m, w->out[0]->dims[i], &v) == 0 && v == dims[i], "%s dim %d = %lld, want %lld",
          ckpt, i, (long long)v, (long long)dims[i]);
  }
}

#define SHAPE(m, ckpt, ...) shape_is(m, ckpt, (const int64_t[]){__VA_ARGS__, 0})

static int count_calls(const ir_module *m, const char *callee, int64_t *layers, int max) {
  int n = 0;
  for (const ir_node *x = m->main->first; x; x = x->next)
    if (x->op == IR_CALL && !strcmp(x->a.callee->name, callee)) {
      if (n < max) layers[n] = x->a.layer;
      n++;
    }
  return n;
}

static const ir_node *first_op(const ir_func *f, ir_op op) {
  for (const ir_node *x = f->first; x; x = x->next)
    if (x->op == op) return x;
  return NULL;
}

static const ir_func *func(const ir_module *m, const char *name) {
  for (int i = 0; i < m->nfuncs; i++)
    if (!strcmp(m->funcs[i]->name, name)) return m->funcs[i];
  return NULL;
}

static int64_t dim_val(const ir_module *m, const ir_dim *d) {
  int64_t v = -1;
  return d && !ir_dim_eval(m, d, &v) ? v : -1;
}

/* ---- Mamba-2 ---------------------------------------------------------------- */
static void test_mamba2_130m(void) {
  model md;
  CHECK(load(&md, "mamba2.ssd", NULL) == SSD_OK, "mamba2.ssd does not lower");
  ir_module *m = md.m;
  if (!m) return unload(&md);
  SHAPE(m, "backbone.embeddings.weight", 50288, 768);
  SHAPE(m, "backbone.layers.{i}.norm.weight", 768);
  SHAPE(m, "backbone.layers.{i}.mixer.in_proj.weight", 3352, 768);
  SHAPE(m, "backbone.layers.{i}.mixer.conv1d.weight", 1792, 1, 4);
  SHAPE(m, "backbone.layers.{i}.mixer.conv1d.bias", 1792);
  SHAPE(m, "backbone.layers.{i}.mixer.dt_bias", 24);
  SHAPE(m, "backbone.layers.{i}.mixer.A_log", 24);
  SHAPE(m, "backbone.layers.{i}.mixer.D", 24);
  SHAPE(m, "backbone.layers.{i}.mixer.norm.weight", 1536);
  SHAPE(m, "backbone.layers.{i}.mixer.out_proj.weight", 768, 1536);
  SHAPE(m, "backbone.norm_f.weight", 768);
  shape_is(m, "lm_head.weight", NULL); /* tied */
  shape_is(m, "backbone.layers.{i}.mixer.in_proj.bias", NULL);

  /* Weight dims stay symbolic for canonicalization to fold. */
  const ir_node *w = find_weight(m, "backbone.layers.{i}.mixer.in_proj.weight");
  CHECK(w && w->out[0]->dims[0]->kind == IR_DIM_ADD && w->out[0]->dims[1]->kind == IR_DIM_PARAM,
        "in_proj dims are not hyperparameter expressions");
  CHECK(ir_module_param(m, "nheads") && ir_module_param(m, "nheads")->i == 24, "nheads != 24");
  CHECK(ir_module_param(m, "dt_max") && isinf(ir_module_param(m, "dt_max")->f), "dt_max != inf");

  int64_t layers[64];
  int n = count_calls(m, "layer", layers, 64);
  CHECK(n == 24, "%d layer calls, want 24", n);
  for (int i = 0; i < n && i < 64; i++) CHECK(layers[i] == i, "call %d has layer %lld", i, (long long)layers[i]);
  const ir_func *lf = func(m, "layer");
  CHECK(lf && m->nfuncs == 1, "want exactly one template (layer), got %d", m->nfuncs);
  if (lf) {
    CHECK(lf->layer_var && !strcmp(lf->layer_var, "i"), "layer_var is not i");
    CHECK(lf->nparams == 1 && lf->nresults == 1, "layer template has %d params %d results",
          lf->nparams, lf->nresults);
    const ir_node *sp = first_op(lf, IR_SPLIT);
    CHECK(sp && sp->nout == 3 && sp->a.nsizes == 3 && sp->a.axis == -1 &&
              dim_val(m, sp->a.sizes[0]) == 1536 && dim_val(m, sp->a.sizes[1]) == 1792 &&
              dim_val(m, sp->a.sizes[2]) == 24,
          "in_proj split is not [1536, 1792, 24] on the last axis");
    const ir_node *rs = first_op(lf, IR_RESHAPE);
    CHECK(rs && rs->a.axis == 1 && rs->a.nsizes == 2 && dim_val(m, rs->a.sizes[0]) == 24 &&
              rs->a.sizes[1] == NULL,
          "heads(x, nheads) is not RESHAPE axis=1 sizes=[24, NULL]");
    const ir_node *ss = first_op(lf, IR_SSM);
    CHECK(ss && ss->a.ssm && ss->nout == 1 && ss->nin == 9, "ssm node malformed");
    if (ss && ss->a.ssm) {
      const ir_ssm_attr *s = ss->a.ssm;
      CHECK(s->kind == IR_SSM_SSD && s->chunk == 256 && s->state_slot == -1 && !s->dt_softplus &&
                !s->A_is_log && s->dt_min == 0 && isinf(s->dt_max),
            "ssm attrs: kind %d chunk %lld slot %d", s->kind, (long long)s->chunk, s->state_slot);
      CHECK(ss->in[IR_SSM_Z] == NULL && ss->in[IR_SSM_INIT] == NULL && ss->in[IR_SSM_D] != NULL,
            "ssm optional operands wrong");
      const ir_node *mg = ss->next;
      CHECK(mg && mg->op == IR_RESHAPE && mg->a.axis == 2 && mg->a.nsizes == 1 && !mg->a.sizes[0],
            "merge(y) is not RESHAPE axis=2 sizes=[NULL]");
    }
    const ir_node *cv = first_op(lf, IR_CONV1D);
    CHECK(cv && cv->a.kernel == 4 && cv->a.state_slot == -1 && cv->in[2], "conv1d attrs");
    const ir_node *gn = first_op(lf, IR_GATED_RMSNORM);
    CHECK(gn && gn->a.ngroups == 1 && !gn->a.norm_before_gate && fabs(gn->a.eps - 1e-5) < 1e-12,
          "gated_rmsnorm attrs");
  }
  const ir_node *in = first_op(m->main, IR_INPUT);
  CHECK(in && !strcmp(in->a.name, "ids") && in->out[0]->dtype == IR_I64 && in->out[0]->rank == 2,
        "input ids is not i64 [batch, seqlen]");
  CHECK(m->main->last && m->main->last->op == IR_OUTPUT && !strcmp(m->main->last->a.name, "logits"),
        "main does not end with output logits");
  const ir_node *head = m->main->last->in[0]->def;
  CHECK(head && head->op == IR_LINEAR && head->in[1] == find_weight(m, "backbone.embeddings.weight")->out[0],
        "the LM head is not tied to the embedding");
  unload(&md);
}

static void test_mamba2_27b(void) {
  model md;
  const char *sets[] = {"d_model=2560", "n_layer=64", NULL};
  CHECK(load(&md, "mamba2.ssd", sets) == SSD_OK, "mamba2 2.7b overrides do not lower");
  if (md.m) {
    SHAPE(md.m, "backbone.layers.{i}.mixer.in_proj.weight", 10576, 2560);
    SHAPE(md.m, "backbone.layers.{i}.mixer.conv1d.weight", 5376, 1, 4);
    SHAPE(md.m, "backbone.layers.{i}.mixer.dt_bias", 80);
    int64_t layers[80];
    CHECK(count_calls(md.m, "layer", layers, 80) == 64, "want 64 layers");
  }
  unload(&md);
}

static void test_overrides(void) {
  model md;
  /* A derived param recomputes from its inputs ... */
  const char *s2[] = {"expand=4", "tie=false", "proj_bias=true", NULL};
  CHECK(load(&md, "mamba2.ssd", s2) == SSD_OK, "expand=4 does not lower");
  if (md.m) {
    SHAPE(md.m, "backbone.layers.{i}.mixer.in_proj.weight", 2 * 3072 + 256 + 48, 768);
    SHAPE(md.m, "backbone.layers.{i}.mixer.in_proj.bias", 2 * 3072 + 256 + 48);
    SHAPE(md.m, "lm_head.weight", 50288, 768);
  }
  unload(&md);
  /* ... unless it is overridden itself; then require clauses judge it. */
  FILE *devnull = fopen("/dev/null", "w");
  FILE *saved = ctx.diag;
  ctx.diag = devnull;
  const char *s3[] = {"nheads=12", NULL};
  int rc = load(&md, "mamba2.ssd", s3);
  CHECK(rc == SSD_ECHECK && strstr(ctx.msg, "num_heads * head_dim must equal"),
        "nheads=12 should fail its require, got %d '%s'", rc, ctx.msg);
  unload(&md);
  /* Bad overrides. */
  md.a = ssd_arena_new();
  char path[4096];
  snprintf(path, sizeof path, "%s/mamba2.ssd", models);
  CHECK(fe_parse_file(md.a, path, &md.p, &ctx) == SSD_OK, "parse");
  CHECK(fe_set(md.p, "no_such", "1", &ctx) == SSD_EINVAL, "unknown param accepted");
  CHECK(fe_set(md.p, "d_model", "12x", &ctx) == SSD_EINVAL, "'12x' accepted as int");
  CHECK(fe_set(md.p, "d_model", "99999999999999999999", &ctx) == SSD_EINVAL, "overflow accepted");
  CHECK(fe_set(md.p, "tie", "yes", &ctx) == SSD_EINVAL, "'yes' accepted as bool");
  CHECK(fe_set(md.p, "eps", "nan", &ctx) == SSD_EINVAL, "nan accepted as float");
  CHECK(fe_set(md.p, "dt_max", "inf", &ctx) == SSD_OK, "inf refused for a float");
  ir_param v = {.kind = IR_PARAM_FLOAT, .f = 768.0};
  CHECK(fe_set_value(md.p, "d_model", &v, &ctx) == SSD_OK, "integral float refused for int");
  v.f = 768.5;
  CHECK(fe_set_value(md.p, "d_model", &v, &ctx) == SSD_EINVAL, "768.5 accepted for int");
  v = (ir_param){.kind = IR_PARAM_INT, .i = 1};
  CHECK(fe_set_value(md.p, "tie", &v, &ctx) == SSD_EINVAL, "int accepted for bool");
  CHECK(fe_set_value(md.p, "eps", &v, &ctx) == SSD_OK, "int refused for float");
  ctx.diag = saved;
  fclose(devnull);
  /* Param metadata for the config reader. */
  int found = 0;
  for (int i = 0; i < fe_nparams(md.p); i++) {
    const fe_param_info *pi = fe_param(md.p, i);
    if (!strcmp(pi->name, "dt_max")) {
      found++;
      CHECK(pi->kind == IR_PARAM_FLOAT && !pi->derived && pi->nkeys == 2 &&
                !strcmp(pi->keys[0].source, "hf") && !strcmp(pi->keys[0].path, "time_step_limit[1]") &&
                pi->keys[0].has_default && isinf(pi->keys[0].dflt.f),
            "dt_max key metadata");
    }
    if (!strcmp(pi->name, "nheads")) {
      found++;
      CHECK(pi->derived && pi->nkeys == 1 && !strcmp(pi->keys[0].path, "num_heads") &&
                !pi->keys[0].has_default,
            "nheads key metadata");
    }
    if (!strcmp(pi->name, "d_state")) {
      found++;
      CHECK(pi->nkeys == 2 && !strcmp(pi->keys[1].source, "ssm") &&
                !strcmp(pi->keys[1].path, "ssm_cfg.d_state") && pi->keys[1].dflt.i == 128,
            "d_state key metadata");
    }
  }
  CHECK(found == 3, "param metadata not found");
  CHECK(fe_param(md.p, -1) == NULL && fe_param(md.p, fe_nparams(md.p)) == NULL, "fe_param bounds");
  CHECK(fe_covers(md.p, "hf", "mamba2") && fe_covers(md.p, "ssm", "Mamba2") &&
            !fe_covers(md.p, "hf", "mamba"),
        "fe_covers");
  CHECK(!strcmp(fe_model_name(md.p), "mamba2"), "model name");
  ssd_arena_free(md.a);
}

/* ---- Mamba-1 ------------------------------------------------------------------- */
static void test_mamba1_130m(void) {
  model md;
  CHECK(load(&md, "mamba1.ssd", NULL) == SSD_OK, "mamba1.ssd does not lower");
  ir_module *m = md.m;
  if (m) {
    SHAPE(m, "backbone.embeddings.weight", 50280, 768);
    SHAPE(m, "backbone.layers.{i}.mixer.in_proj.weight", 3072, 768);
    SHAPE(m, "backbone.layers.{i}.mixer.conv1d.weight", 1536, 1, 4);
    SHAPE(m, "backbone.layers.{i}.mixer.conv1d.bias", 1536);
    SHAPE(m, "backbone.layers.{i}.mixer.x_proj.weight", 80, 1536);
    SHAPE(m, "backbone.layers.{i}.mixer.dt_proj.weight", 1536, 48);
    SHAPE(m, "backbone.layers.{i}.mixer.dt_proj.bias", 1536);
    SHAPE(m, "backbone.layers.{i}.mixer.A_log", 1536, 16);
    SHAPE(m, "backbone.layers.{i}.mixer.D", 1536);
    SHAPE(m, "backbone.layers.{i}.mixer.out_proj.weight", 768, 1536);
    SHAPE(m, "backbone.layers.{i}.norm.weight", 768);
    SHAPE(m, "backbone.norm_f.weight", 768);
    const ir_func *lf = func(m, "layer");
    const ir_node *ss = lf ? first_op(lf, IR_SSM) : NULL;
    CHECK(ss && ss->a.ssm && ss->a.ssm->kind == IR_SSM_S6, "mamba1's ssm is not S6");
  }
  unload(&md);
}

/* ---- the hybrid ------------------------------------------------------------------- */
static void test_bamba_9b(void) {
  model md;
  CHECK(load(&md, "hybrid.ssd", NULL) == SSD_OK, "hybrid.ssd does not lower");
  ir_module *m = md.m;
  if (m) {
    SHAPE(m, "model.embed_tokens.weight", 128256, 4096);
    SHAPE(m, "lm_head.weight", 128256, 4096);
    SHAPE(m, "model.final_layernorm.weight", 4096);
    SHAPE(m, "model.layers.{i}.input_layernorm.weight", 4096);
    SHAPE(m, "model.layers.{i}.pre_ff_layernorm.weight", 4096);
    SHAPE(m, "model.layers.{i}.mamba.in_proj.weight", 16768, 4096);
    SHAPE(m, "model.layers.{i}.mamba.conv1d.weight", 8448, 1, 4);
    SHAPE(m, "model.layers.{i}.mamba.A_log", 128);
    SHAPE(m, "model.layers.{i}.mamba.norm.weight", 8192);
    SHAPE(m, "model.layers.{i}.mamba.out_proj.weight", 4096, 8192);
    SHAPE(m, "model.layers.{i}.self_attn.q_proj.weight", 4096, 4096);
    SHAPE(m, "model.layers.{i}.self_attn.k_proj.weight", 1024, 4096);
    SHAPE(m, "model.layers.{i}.self_attn.v_proj.weight", 1024, 4096);
    SHAPE(m, "model.layers.{i}.self_attn.o_proj.weight", 4096, 4096);
    SHAPE(m, "model.layers.{i}.feed_forward.gate_proj.weight", 14336, 4096);
    SHAPE(m, "model.layers.{i}.feed_forward.up_proj.weight", 14336, 4096);
    SHAPE(m, "model.layers.{i}.feed_forward.down_proj.weight", 4096, 14336);
    int64_t al[8], ml[32];
    CHECK(count_calls(m, "attn_layer", al, 8) == 3 && al[0] == 9 && al[1] == 18 && al[2] == 27,
          "attention layers are not [9, 18, 27]");
    CHECK(count_calls(m, "mamba_layer", ml, 32) == 29, "want 29 mamba layers");
    const ir_func *af = func(m, "attn_layer");
    const ir_node *at = af ? first_op(af, IR_ATTENTION) : NULL;
    CHECK(at && at->a.attn && at->a.attn->nheads == 32 && at->a.attn->nkv == 8 &&
              at->a.attn->headdim == 128 && at->a.attn->rotary_dim == 64 &&
              at->a.attn->rope_theta == 10000.0 && at->a.attn->causal && at->a.attn->state_slot == -1,
          "attention attrs");
  }
  unload(&md);
  const char *sets[] = {"attn_layers=[0, 1]", "n_layer=4", "d_ff=0", NULL};
  CHECK(load(&md, "hybrid.ssd", sets) == SSD_OK, "hybrid overrides do not lower");
  if (md.m) {
    int64_t al[8];
    CHECK(count_calls(md.m, "attn_layer", al, 8) == 2 && al[0] == 0 && al[1] == 1, "attn_layers=[0,1]");
    shape_is(md.m, "model.layers.{i}.feed_forward.gate_proj.weight", NULL);
    shape_is(md.m, "model.layers.{i}.pre_ff_layernorm.weight", NULL);
  }
  unload(&md);
}

/* ---- language corners, from strings ------------------------------------------------ */
static const char *tiny =
    "model tiny;\n"
    "param d = 8;\n"
    "param n = 3;\n"
    "block mix(h, layer i) {\n"
    "  weight w [d, d] = \"l.{i}.w\";\n"
    "  y, s = ssm(x: heads(h, 2), B: heads(h, 1), C: heads(h, 1), softplus: true, A_is_log: true,\n"
    "             dt_min: 0.001, dt_max: 0.1, chunk: 64);\n"
    "  return linear(merge(y), w);\n"
    "}\n"
    "block outer(h, layer j) {\n"
    "  weight v [d] = \"o.{j}.v\";\n"
    "  for k in 0 .. 2 { weight u [d] = \"o.{j}.u{k}\"; h = h * u; }\n"
    "  return mix(h, j) + mix(h, 0) + v;\n"
    "}\n"
    "forward(ids) {\n"
    "  weight e [16, d] = \"emb\";\n"
    "  h = embed(ids, e);\n"
    "  for i in 0 .. n { h = outer(h, i); }\n"
    "  return linear(h, e);\n"
    "}\n";

static void test_tiny(void) {
  ssd_arena *a = ssd_arena_new();
  fe_program *p;
  ir_module *m = NULL;
  CHECK(fe_parse_string(a, "tiny.ssd", tiny, strlen(tiny), &p, &ctx) == SSD_OK, "tiny parse");
  CHECK(p && fe_lower(p, &m, &ctx) == SSD_OK, "tiny lower");
  if (m) {
    const ir_func *of = func(m, "outer");
    CHECK(m->nfuncs == 1 && of && !strcmp(of->layer_var, "j"), "nested blocks are inlined");
    /* inlined mix: its "{i}" became the caller's "{j}" or the constant 0 */
    CHECK(find_weight(m, "l.{j}.w") && find_weight(m, "l.0.w") && find_weight(m, "o.{j}.u1"),
          "checkpoint names of inlined blocks and loops");
    const ir_node *ss = of ? first_op(of, IR_SSM) : NULL;
    CHECK(ss && ss->nout == 2 && ss->a.ssm->dt_softplus && ss->a.ssm->A_is_log &&
              ss->a.ssm->dt_min == 0.001 && ss->a.ssm->dt_max == 0.1 && ss->a.ssm->chunk == 64,
          "ssm with two results and kwargs");
  }
  /* lowering is deterministic: the same text twice */
  char *b1 = NULL, *b2 = NULL;
  size_t n1, n2;
  FILE *f1 = open_memstream(&b1, &n1), *f2 = open_memstream(&b2, &n2);
  ir_module *m2 = NULL;
  if (m && f1 && f2 && fe_lower(p, &m2, &ctx) == SSD_OK) {
    ir_print(f1, m);
    ir_print(f2, m2);
  }
  if (f1) fclose(f1);
  if (f2) fclose(f2);
  CHECK(b1 && b2 && n1 > 100 && n1 == n2 && !memcmp(b1, b2, n1), "two lowerings print differently");
  free(b1);
  free(b2);
  ir_module_free(m2);
  ir_module_free(m);
  ssd_arena_free(a);
}

/* Every builtin once, with its IR op and attributes. */
static const char *allops =
    "param d = 8;\n"
    "param f = 16;\n"
    "block all(h, layer i) {\n"
    "  weight w [d] = \"w\";\n"
    "  weight b [d] = \"b\";\n"
    "  weight g [f, d] = \"g\";\n"
    "  weight u [f, d] = \"u\";\n"
    "  weight dn [d, f] = \"dn\";\n"
    "  a = layernorm(h, w, b, 1e-6);\n"
    "  a = gelu(a, tanh: true) + sigmoid(a) - log(exp(a)) / 2;\n"
    "  c = concat(a, h, a);\n"
    "  x, y = split(c, [d, 2 * d]);\n"
    "  q = attention(heads(x, 2), heads(x, 1), heads(x, 1), heads: 2, kv_heads: 1, scale: 0.5, causal: false);\n"
    "  m = gated_mlp(merge(q), g, u, dn);\n"
    "  return cast(m, bf16) * -1;\n"
    "}\n"
    "forward(ids) {\n"
    "  weight e [32, d] = \"emb\";\n"
    "  return all(embed(ids, e), 0);\n"
    "}\n";

static int count_op(const ir_func *f, ir_op op) {
  int n = 0;
  for (const ir_node *x = f->first; x; x = x->next) n += x->op == op;
  return n;
}

static void test_all_ops(void) {
  ssd_arena *a = ssd_arena_new();
  fe_program *p;
  ir_module *m = NULL;
  CHECK(fe_parse_string(a, "allops.ssd", allops, strlen(allops), &p, &ctx) == SSD_OK, "allops parse");
  CHECK(p && fe_lower(p, &m, &ctx) == SSD_OK, "allops lower");
  const ir_func *f = m ? func(m, "all") : NULL;
  if (f) {
    const ir_node *ln = first_op(f, IR_LAYERNORM), *ge = first_op(f, IR_GELU);
    const ir_node *cc = first_op(f, IR_CONCAT), *at = first_op(f, IR_ATTENTION);
    const ir_node *ca = first_op(f, IR_CAST);
    CHECK(ln && ln->in[2] && fabs(ln->a.eps - 1e-6) < 1e-15, "layernorm");
    CHECK(ge && ge->a.approx == 1, "gelu tanh");
    CHECK(count_op(f, IR_SIGMOID) == 1 && count_op(f, IR_LOG) == 1 && count_op(f, IR_EXP) == 1 &&
              count_op(f, IR_DIV) == 1 && count_op(f, IR_SUB) == 1,
          "elementwise ops");
    CHECK(cc && cc->nin == 3 && cc->a.axis == -1, "concat of three");
    CHECK(at && at->a.attn->nheads == 2 && at->a.attn->nkv == 1 && at->a.attn->headdim == 0 &&
              at->a.attn->scale == 0.5 && !at->a.attn->causal && at->a.attn->rope_theta == 10000.0,
          "attention defaults and kwargs");
    /* gated_mlp: two linears in, silu, mul, one linear out */
    CHECK(count_op(f, IR_LINEAR) == 3 && count_op(f, IR_SILU) == 1, "gated_mlp expansion");
    CHECK(ca && ca->out[0]->dtype == IR_BF16, "cast to bf16");
    const ir_node *k = first_op(f, IR_CONST);
    CHECK(k && k->out[0]->rank == 0 && count_op(f, IR_CONST) == 2, "scalar constants (2, -1)");
  }
  ir_module_free(m);
  ssd_arena_free(a);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fe_lower_test MODELS_DIR\n");
    return 2;
  }
  models = argv[1];
  ssd_ctx_init(&ctx);
  test_mamba2_130m();
  test_mamba2_27b();
  test_overrides();
  test_mamba1_130m();
  test_bamba_9b();
  test_tiny();
  test_all_ops();
  printf("%d checks, %d failures\n", checks, fails);
  return fails ? 1 : 0;
}
