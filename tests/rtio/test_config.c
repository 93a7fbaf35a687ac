/* test_config.c: runtime/rt_config on real-world config.json files
 * (tests/rtio/configs: HF Mamba2 130m and Codestral-7B, HF Mamba, HF Bamba,
 * mamba_ssm mamba2-130m, mamba-130m and a hybrid, transcribed from their
 * public config.json files) and on hostile variants.
 *
 * - dialect detection (hf/ssm and the type used to pick a model file);
 * - typed key lookup: ints exact, floats incl. {"__float__": "Infinity"} and
 *   Python's bare Infinity, bools, lists, nested paths, wrong types named;
 * - with the frontend: applying configs to a small model file (defaults,
 *   required keys, derived params), and end to end through models/: the
 *   right model file is picked, its params take the config's values, and an
 *   inconsistent num_heads is reported by the model's `require` clause.
 *
 * With GOLDEN_DIR (tests/golden), every config.json there (written by
 * transformers' save_pretrained, or mamba_ssm's for ssm_format) must also
 * pick a model file and lower, or report that no model file covers it.
 *
 * Usage: test_rtio_config CONFIG_DIR MODELS_DIR [GOLDEN_DIR]
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include "../../runtime/rt_config.h"
#include "rtio_test.h"

static FILE *sink;
static const char *cfg_dir, *models_dir;

static rt_config *load(ssd_arena *a, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", cfg_dir, name);
  ssd_ctx c;
  rtio_ctx(&c, sink);
  rt_config *cfg = NULL;
  if (rt_config_load(a, path, &cfg, &c)) {
    fprintf(stderr, "cannot load %s: %s\n", name, c.msg);
    fails++;
  }
  return cfg;
}

static rt_config *from_text(ssd_arena *a, const char *text, ssd_ctx *c) {
  rtio_ctx(c, sink);
  rt_config *cfg = NULL;
  return rt_config_parse(a, "cfg.json", text, strlen(text), &cfg, c) ? NULL : cfg;
}

static void test_detect(void) {
  static const struct {
    const char *file, *source, *type;
  } cases[] = {
      {"hf_mamba2_130m.json", "hf", "mamba2"},     {"hf_mamba2_codestral_7b.json", "hf", "mamba2"},
      {"hf_mamba_130m.json", "hf", "mamba"},       {"hf_bamba_9b.json", "hf", "bamba"},
      {"ssm_mamba2_130m.json", "ssm", "Mamba2"},   {"ssm_mamba_130m.json", "ssm", "Mamba1"},
      {"ssm_hybrid.json", "ssm", "Mamba2"},
  };
  ssd_arena *a = ssd_arena_new();
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rt_config *cfg = load(a, cases[i].file);
    CHECK(cfg && !strcmp(cfg->source, cases[i].source) && !strcmp(cfg->type, cases[i].type));
  }
  ssd_ctx c;
  CHECK(!from_text(a, "[1]", &c) && strstr(c.msg, "expected a JSON object"));
  CHECK(!from_text(a, "{\"hidden_size\": 1}", &c) && strstr(c.msg, "neither a Hugging Face config"));
  CHECK(!from_text(a, "{\"model_type\": 3}", &c) && strstr(c.msg, "\"model_type\" must be"));
  CHECK(!from_text(a, "{\"d_model\": 8, \"ssm_cfg\": {\"layer\": 2}}", &c) &&
        strstr(c.msg, "\"ssm_cfg.layer\" must be"));
  CHECK(!from_text(a, "{\"d_model\": 8, \"ssm_cfg\": []}", &c) && strstr(c.msg, "\"ssm_cfg\" must be"));
  CHECK(!from_text(a, "{\"model_type\": \"mamba2\",}", &c) && strstr(c.msg, "cfg.json:1:"));
  rtio_ctx(&c, sink);
  rt_config *cfg;
  CHECK_ERR(rt_config_load(a, "/nonexistent/dir/config.json", &cfg, &c), &c, SSD_EIO, "cannot open");
  /* A directory means DIR/config.json. */
  CHECK_ERR(rt_config_load(a, cfg_dir, &cfg, &c), &c, SSD_EIO, "config.json");
  ssd_arena_free(a);
}

static void test_values(void) {
  ssd_arena *a = ssd_arena_new();
  rt_config *hf = load(a, "hf_mamba2_130m.json"), *cs = load(a, "hf_mamba2_codestral_7b.json");
  rt_config *hy = load(a, "ssm_hybrid.json"), *bb = load(a, "hf_bamba_9b.json");
  if (!hf || !cs || !hy || !bb) return;
  ssd_ctx c;
  rtio_ctx(&c, sink);
  ir_param v = {0};
  bool found;
  CHECK(!rt_config_value(a, hf, "hidden_size", IR_PARAM_INT, &v, &found, &c) && found && v.i == 768);
  CHECK(!rt_config_value(a, hf, "layer_norm_epsilon", IR_PARAM_FLOAT, &v, &found, &c) && found &&
        v.f == 1e-5);
  CHECK(!rt_config_value(a, hf, "time_step_limit[0]", IR_PARAM_FLOAT, &v, &found, &c) && found && v.f == 0);
  CHECK(!rt_config_value(a, hf, "time_step_limit[1]", IR_PARAM_FLOAT, &v, &found, &c) && found &&
        isinf(v.f) && v.f > 0);
  CHECK(!rt_config_value(a, cs, "time_step_limit[1]", IR_PARAM_FLOAT, &v, &found, &c) && found &&
        isinf(v.f) && v.f > 0);
  CHECK(!rt_config_value(a, cs, "n_groups", IR_PARAM_INT, &v, &found, &c) && found && v.i == 8);
  CHECK(!rt_config_value(a, hf, "tie_word_embeddings", IR_PARAM_BOOL, &v, &found, &c) && found && v.i == 1);
  CHECK(!rt_config_value(a, cs, "tie_word_embeddings", IR_PARAM_BOOL, &v, &found, &c) && found && v.i == 0);
  CHECK(!rt_config_value(a, hf, "hidden_size", IR_PARAM_FLOAT, &v, &found, &c) && found && v.f == 768);
  CHECK(!rt_config_value(a, hy, "ssm_cfg.d_state", IR_PARAM_INT, &v, &found, &c) && found && v.i == 64);
  CHECK(!rt_config_value(a, hy, "attn_cfg.num_heads_kv", IR_PARAM_INT, &v, &found, &c) && found && v.i == 4);
  CHECK(!rt_config_value(a, hy, "attn_layer_idx", IR_PARAM_LIST, &v, &found, &c) && found &&
        v.nlist == 4 && v.list[0] == 9 && v.list[3] == 36);
  CHECK(!rt_config_value(a, bb, "attn_layer_indices", IR_PARAM_LIST, &v, &found, &c) && found &&
        v.nlist == 3 && v.list[2] == 27);
  CHECK(!rt_config_value(a, hy, "ssm_cfg.d_conv", IR_PARAM_INT, &v, &found, &c) && !found);
  CHECK(!rt_config_value(a, hf, "absent.key[3]", IR_PARAM_INT, &v, &found, &c) && !found);

  /* Wrong types name the key and what was found. */
  rt_config *bad = from_text(a,
                             "{\"model_type\": \"mamba2\", \"hidden_size\": \"768\", \"f\": 768.0,"
                             " \"g\": 1.5, \"t\": 1, \"l\": [1, 2.5], \"m\": 3, \"n\": null,"
                             " \"x\": {\"__float__\": \"inf\"}, \"big\": 1e300}",
                             &c);
  CHECK(bad != NULL);
  if (!bad) return;
  rtio_ctx(&c, sink);
  CHECK_ERR(rt_config_value(a, bad, "hidden_size", IR_PARAM_INT, &v, &found, &c), &c, SSD_EFORMAT,
            "key 'hidden_size' must be an integer, got a string");
  CHECK_ERR(rt_config_value(a, bad, "f", IR_PARAM_INT, &v, &found, &c), &c, SSD_EFORMAT,
            "key 'f' must be an integer, got a float (768)");
  CHECK_ERR(rt_config_value(a, bad, "g", IR_PARAM_INT, &v, &found, &c), &c, SSD_EFORMAT, "got a float (1.5)");
  CHECK_ERR(rt_config_value(a, bad, "big", IR_PARAM_INT, &v, &found, &c), &c, SSD_EFORMAT, "got a float");
  CHECK_ERR(rt_config_value(a, bad, "t", IR_PARAM_BOOL, &v, &found, &c), &c, SSD_EFORMAT,
            "key 't' must be true or false, got an integer");
  CHECK_ERR(rt_config_value(a, bad, "l", IR_PARAM_LIST, &v, &found, &c), &c, SSD_EFORMAT,
            "element 1 is a float");
  CHECK_ERR(rt_config_value(a, bad, "m", IR_PARAM_LIST, &v, &found, &c), &c, SSD_EFORMAT,
            "must be an array of integers, got an integer");
  CHECK_ERR(rt_config_value(a, bad, "x", IR_PARAM_FLOAT, &v, &found, &c), &c, SSD_EFORMAT,
            "key 'x' must be a number, got an object");
  CHECK_ERR(rt_config_value(a, bad, "hidden_size", IR_PARAM_FLOAT, &v, &found, &c), &c, SSD_EFORMAT,
            "must be a number, got a string");
  CHECK_ERR(rt_config_value(a, bad, "a..b", IR_PARAM_INT, &v, &found, &c), &c, SSD_EINVAL, "malformed");
  /* null counts as absent. */
  CHECK(!rt_config_value(a, bad, "n", IR_PARAM_INT, &v, &found, &c) && !found);
  ssd_arena_free(a);
}

/* A small model file exercising every param kind and key rule. */
static const char *toy_model =
    "model toy for hf \"toy\", ssm \"Toy\";\n"
    "param width = 16 @hf(hidden_size) @ssm(d_model);\n"
    "param depth = 2 @hf(num_layers, 4) @hf(n_layer);\n"
    "param eps = 1e-6 @hf(norm.eps, 1e-5);\n"
    "param hi = 1.0 @hf(limit[1], inf);\n"
    "param tie = false @hf(tie, true);\n"
    "param attn = [1] @hf(attn_layers, [0, 2]);\n"

    "param inner = 2 * width @hf(intermediate);\n"
    "param keep = 7;\n"
    "require inner % width == 0 : \"intermediate must be a multiple of hidden_size\";\n"
    "forward(ids) {\n"
    "  weight emb [32, width] = \"emb\";\n"
    "  return linear(embed(ids, emb), emb);\n"
    "}\n";

static ir_param *mparam(ir_module *m, const char *name) {
  ir_param *p = ir_module_param(m, name);
  if (!p) {
    fprintf(stderr, "module has no param '%s'\n", name);
    fails++;
  }
  return p;
}

/* Parse the toy model, apply a config and lower; returns the module or NULL. */
static ir_module *toy(ssd_arena *a, const char *json, ssd_ctx *c) {
  fe_program *p;
  rtio_ctx(c, sink);
  if (fe_parse_string(a, "toy.ssd", toy_model, strlen(toy_model), &p, c)) {
    fprintf(stderr, "toy model does not parse: %s\n", c->msg);
    fails++;
    return NULL;
  }
  rt_config *cfg = from_text(a, json, c);
  ir_module *m = NULL;
  if (!cfg || rt_config_apply(cfg, p, c) || fe_lower(p, &m, c)) return NULL;
  return m;
}

static void test_apply(void) {
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  ir_module *m = toy(a, "{\"model_type\": \"toy\", \"hidden_size\": 24}", &c);
  CHECK(m != NULL);
  if (m) {
    /* Defaults from the annotations, not from the model file's own values. */
    ir_param *p;
    CHECK((p = mparam(m, "width")) && p->i == 24);
    CHECK((p = mparam(m, "depth")) && p->i == 4);
    CHECK((p = mparam(m, "eps")) && p->f == 1e-5);
    CHECK((p = mparam(m, "hi")) && isinf(p->f));
    CHECK((p = mparam(m, "tie")) && p->i == 1);
    CHECK((p = mparam(m, "attn")) && p->nlist == 2 && p->list[1] == 2);
    CHECK((p = mparam(m, "inner")) && p->i == 48); /* derived, key absent: expression */
    CHECK((p = mparam(m, "keep")) && p->i == 7);
    ir_module_free(m);
  }
  m = toy(a,
          "{\"model_type\": \"toy\", \"hidden_size\": 8, \"n_layer\": 3, \"norm\": {\"eps\": 0.01},"
          " \"limit\": [0, Infinity], \"tie\": false, \"attn_layers\": [], \"intermediate\": 40}",
          &c);
  CHECK(m != NULL);
  if (m) {
    ir_param *p;
    CHECK((p = mparam(m, "width")) && p->i == 8);
    CHECK((p = mparam(m, "depth")) && p->i == 3); /* the second key, first absent */
    CHECK((p = mparam(m, "eps")) && p->f == 0.01);
    CHECK((p = mparam(m, "hi")) && isinf(p->f) && p->f > 0);
    CHECK((p = mparam(m, "tie")) && p->i == 0);
    CHECK((p = mparam(m, "attn")) && p->nlist == 0);
    CHECK((p = mparam(m, "inner")) && p->i == 40);
    ir_module_free(m);
  }
  /* Required key missing, wrong type, failing require. */
  CHECK(!toy(a, "{\"model_type\": \"toy\"}", &c));
  CHECK(strstr(c.msg, "missing required key 'hidden_size' (for parameter 'width')") != NULL);
  CHECK(!toy(a, "{\"model_type\": \"toy\", \"hidden_size\": 8, \"tie\": \"yes\"}", &c));
  CHECK(strstr(c.msg, "key 'tie' must be true or false, got a string") != NULL);
  CHECK(!toy(a, "{\"model_type\": \"toy\", \"hidden_size\": 8, \"intermediate\": 12}", &c));
  CHECK(strstr(c.msg, "intermediate must be a multiple of hidden_size") != NULL);
  /* The ssm dialect only reads @ssm keys. */
  fe_program *p;
  rtio_ctx(&c, sink);
  CHECK(!fe_parse_string(a, "toy.ssd", toy_model, strlen(toy_model), &p, &c));
  rt_config *cfg = from_text(a, "{\"d_model\": 32, \"hidden_size\": 8}", &c);
  CHECK(cfg && !rt_config_apply(cfg, p, &c) && !fe_lower(p, &m, &c));
  if (m) {
    ir_param *q;
    CHECK((q = mparam(m, "width")) && q->i == 32);
    CHECK((q = mparam(m, "depth")) && q->i == 2); /* no @ssm key: model file value */
    ir_module_free(m);
  }
  ssd_arena_free(a);
}

/* Load, pick a model file, apply and lower; returns 1 when it lowered, 0
 * when no model file covers the type (allowed), and counts a failure
 * otherwise. */
static int end_to_end(const char *file, rt_config *(*loader)(ssd_arena *, const char *)) {
  ssd_arena *a = ssd_arena_new();
  rt_config *cfg = loader(a, file);
  int ok = 0;
  if (cfg) {
    ssd_ctx c;
    rtio_ctx(&c, sink);
    fe_program *p;
    const char *path = "?";
    int rc = rt_config_pick_model(a, cfg, models_dir, &p, &path, &c);
    ir_module *m = NULL;
    if (rc == SSD_EUNSUPPORTED) {
      /* No model file for this family yet: the message must say so. */
      CHECK(strstr(c.msg, "no model file in") && strstr(c.msg, cfg->type));
      ssd_arena_free(a);
      return 0;
    }
    if (!rc) rc = rt_config_apply(cfg, p, &c);
    if (!rc) rc = fe_lower(p, &m, &c);
    if (rc) {
      fprintf(stderr, "%s via %s: %s\n", file, path, c.msg);
      fails++;
    } else {
      ok = 1;
      ir_param w = {0};
      bool found;
      rt_config_value(a, cfg, cfg->source[0] == 'h' ? "hidden_size" : "d_model", IR_PARAM_INT, &w,
                      &found, &c);
      ir_param *d = ir_module_param(m, "d_model");
      if (d && d->i != w.i) {
        fprintf(stderr, "%s: d_model %lld, want %lld\n", file, (long long)d->i, (long long)w.i);
        fails++;
      }
      ir_module_free(m);
    }
  }
  ssd_arena_free(a);
  return ok;
}

static rt_config *load_path(ssd_arena *a, const char *path) {
  ssd_ctx c;
  rtio_ctx(&c, sink);
  rt_config *cfg = NULL;
  if (rt_config_load(a, path, &cfg, &c)) {
    fprintf(stderr, "cannot load %s: %s\n", path, c.msg);
    fails++;
  }
  return cfg;
}

/* Every config.json transformers itself wrote for the golden fixtures. */
static void test_golden(const char *golden) {
  DIR *d = opendir(golden);
  if (!d) return;
  int lowered = 0, seen = 0;
  for (struct dirent *e; (e = readdir(d));) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/config.json", golden, e->d_name);
    if (e->d_name[0] == '.' || access(path, R_OK)) continue;
    seen++;
    lowered += end_to_end(path, load_path);
  }
  closedir(d);
  printf("test_config: %d of %d golden configs picked a model file and lowered\n", lowered, seen);
  CHECK(seen == 0 || lowered > 0);
}

/* End to end through the shipped model files. */
static void test_models(void) {
  static const char *files[] = {"hf_mamba2_130m.json", "hf_mamba2_codestral_7b.json", "hf_mamba_130m.json",
                                "hf_bamba_9b.json",    "ssm_mamba2_130m.json",        "ssm_mamba_130m.json",
                                "ssm_hybrid.json"};
  int picked = 0;
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) picked += end_to_end(files[i], load);
  printf("test_config: %d of %zu sample configs picked a model file and lowered\n", picked,
         sizeof files / sizeof *files);
  /* The mamba2 model file ships with the project: both dialects must find it. */
  CHECK(picked >= 2);

  /* Inconsistent sizes: caught by the model's require, with its message. */
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  rt_config *cfg = from_text(a,
                             "{\"model_type\": \"mamba2\", \"hidden_size\": 768, \"num_hidden_layers\": 2,"
                             " \"vocab_size\": 1024, \"num_heads\": 20, \"head_dim\": 64}",
                             &c);
  fe_program *p;
  ir_module *m = NULL;
  rtio_ctx(&c, sink);
  CHECK(cfg && !rt_config_pick_model(a, cfg, models_dir, &p, NULL, &c) && !rt_config_apply(cfg, p, &c));
  CHECK(cfg && fe_lower(p, &m, &c) != SSD_OK && m == NULL);
  CHECK(strstr(c.msg, "num_heads * head_dim must equal expand * hidden_size") != NULL);
  if (!strstr(c.msg, "num_heads")) fprintf(stderr, "got: %s\n", c.msg);
  /* A mistyped key, end to end. */
  cfg = from_text(a, "{\"model_type\": \"mamba2\", \"hidden_size\": 768.5, \"num_hidden_layers\": 2,"
                     " \"vocab_size\": 1024}", &c);
  rtio_ctx(&c, sink);
  CHECK(cfg && !rt_config_pick_model(a, cfg, models_dir, &p, NULL, &c));
  CHECK_ERR(rt_config_apply(cfg, p, &c), &c, SSD_EFORMAT, "key 'hidden_size' must be an integer, got a float (768.5)");
  /* An unknown type. */
  cfg = from_text(a, "{\"model_type\": \"llama\"}", &c);
  rtio_ctx(&c, sink);
  CHECK_ERR(rt_config_pick_model(a, cfg, models_dir, &p, NULL, &c), &c, SSD_EUNSUPPORTED,
            "covers hf model type 'llama'");
  CHECK_ERR(rt_config_pick_model(a, cfg, "/nonexistent", &p, NULL, &c), &c, SSD_EIO,
            "cannot open model directory");
  ssd_arena_free(a);
}

/* Settings from the environment (ssd_env_int): the default when unset or
 * empty, the value in range, and a clear error naming the variable for
 * anything else. */
static void test_env_int(void) {
  ssd_ctx c;
  rtio_ctx(&c, sink);
  long long v = -1;
  const char *name = "SSDC_TEST_ENV_INT";
  unsetenv(name);
  CHECK(!ssd_env_int(name, 1, 64, 8, &v, &c) && v == 8);
  setenv(name, "", 1);
  CHECK(!ssd_env_int(name, 1, 64, 8, &v, &c) && v == 8);
  setenv(name, "32", 1);
  CHECK(!ssd_env_int(name, 1, 64, 8, &v, &c) && v == 32);
  setenv(name, "64", 1);
  CHECK(!ssd_env_int(name, 1, 64, 8, &v, &c) && v == 64);
  static const char *bad[] = {"0", "65", "-3", "12x", "x", "9999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    setenv(name, bad[i], 1);
    CHECK_ERR(ssd_env_int(name, 1, 64, 8, &v, &c), &c, SSD_EINVAL, "$SSDC_TEST_ENV_INT=");
    CHECK(v == 8);
  }
  unsetenv(name);
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: test_rtio_config CONFIG_DIR MODELS_DIR [GOLDEN_DIR]\n");
    return 2;
  }
  cfg_dir = argv[1];
  models_dir = argv[2];
  sink = tmpfile();
  if (!sink) return 2;
  test_detect();
  test_values();
  test_apply();
  test_models();
  test_env_int();
  if (argc == 4) test_golden(argv[3]);
  fclose(sink);
  return rtio_done("test_config");
}
