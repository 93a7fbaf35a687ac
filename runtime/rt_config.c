/* rt_config.c: dialect detection, typed key lookup and the application of a
 * config.json onto a parsed model file (see rt_config.h for the rules).
 * All knowledge of which key feeds which hyperparameter lives in the model
 * files' annotations; this file only walks JSON and checks types.
 */
#define _POSIX_C_SOURCE 200809L
#include "rt_config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_CONFIG_BYTES = 16 << 20 };

/* The dialect: HF has model_type; mamba_ssm has d_model (and ssm_cfg). */
static int detect(ssd_arena *a, rt_config *cfg, ssd_ctx *c) {
  const rt_json *mt = rt_json_get(cfg->root, "model_type");
  if (mt) {
    if (mt->kind != RT_JSON_STRING || !mt->slen)
      return ssd_err(c, SSD_EFORMAT, "%s: \"model_type\" must be a non-empty string", cfg->path);
    cfg->source = "hf";
    cfg->type = mt->s;
    return SSD_OK;
  }
  if (!rt_json_get(cfg->root, "d_model"))
    return ssd_err(c, SSD_EFORMAT,
                   "%s: neither a Hugging Face config (no \"model_type\") nor a mamba_ssm config "
                   "(no \"d_model\")",
                   cfg->path);
  const rt_json *ssm = rt_json_get(cfg->root, "ssm_cfg");
  if (ssm && ssm->kind != RT_JSON_OBJECT && ssm->kind != RT_JSON_NULL)
    return ssd_err(c, SSD_EFORMAT, "%s: \"ssm_cfg\" must be an object", cfg->path);
  const rt_json *layer = rt_json_get(ssm, "layer");
  if (layer && (layer->kind != RT_JSON_STRING || !layer->slen))
    return ssd_err(c, SSD_EFORMAT, "%s: \"ssm_cfg.layer\" must be a non-empty string", cfg->path);
  cfg->source = "ssm";
  cfg->type = layer ? layer->s : ssd_arena_strdup(a, "Mamba1");
  return cfg->type ? SSD_OK : ssd_err(c, SSD_ENOMEM, "out of memory");
}

int rt_config_parse(ssd_arena *a, const char *path, const char *text, size_t len,
                    rt_config **out, ssd_ctx *c) {
  rt_config *cfg = ssd_arena_alloc(a, sizeof *cfg);
  rt_json *root;
  if (!cfg || !(cfg->path = ssd_arena_strdup(a, path)))
    return ssd_err(c, SSD_ENOMEM, "out of memory");
  int rc = rt_json_parse_flags(a, path, text, len, RT_JSON_NONFINITE, &root, c);
  if (rc) return rc;
  if (root->kind != RT_JSON_OBJECT)
    return ssd_err(c, SSD_EFORMAT, "%s: expected a JSON object, got %s", path,
                   rt_json_kind_name(root->kind));
  cfg->root = root;
  cfg->arena = a;
  if ((rc = detect(a, cfg, c))) return rc;
  *out = cfg;
  return SSD_OK;
}

int rt_config_load(ssd_arena *a, const char *path, rt_config **out, ssd_ctx *c) {
  struct stat sb;
  const char *file = path;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) &&
      !(file = ssd_arena_printf(a, "%s/config.json", path)))
    return ssd_err(c, SSD_ENOMEM, "out of memory");
  ssd_src *src;
  int rc = ssd_read_file(a, file, MAX_CONFIG_BYTES, &src, c);
  return rc ? rc : rt_config_parse(a, file, src->text, src->len, out, c);
}

static int wrong_type(const rt_config *cfg, const char *path, const char *want, const rt_json *v,
                      ssd_ctx *c) {
  if (v->kind == RT_JSON_FLOAT)
    return ssd_err(c, SSD_EFORMAT, "%s: key '%s' must be %s, got a float (%g)", cfg->path, path,
                   want, v->f);
  return ssd_err(c, SSD_EFORMAT, "%s: key '%s' must be %s, got %s", cfg->path, path, want,
                 rt_json_kind_name(v->kind));
}

static int to_list(ssd_arena *a, const rt_config *cfg, const char *path, const rt_json *v,
                   ir_param *out, ssd_ctx *c) {
  if (v->kind != RT_JSON_ARRAY) return wrong_type(cfg, path, "an array of integers", v, c);
  int64_t *list = ssd_arena_alloc(a, (size_t)v->n * sizeof *list + 1);
  if (!list) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int i = 0; i < v->n; i++) {
    if (v->items[i]->kind != RT_JSON_INT)
      return ssd_err(c, SSD_EFORMAT, "%s: key '%s' must be an array of integers; element %d is %s",
                     cfg->path, path, i, rt_json_kind_name(v->items[i]->kind));
    list[i] = v->items[i]->i;
  }
  out->list = list;
  out->nlist = v->n;
  return SSD_OK;
}

int rt_config_value(ssd_arena *a, const rt_config *cfg, const char *path, ir_param_kind kind,
                    ir_param *out, bool *found, ssd_ctx *c) {
  const rt_json *v;
  *found = false;
  int rc = rt_json_lookup(cfg->root, path, &v, c);
  if (rc || !v || v->kind == RT_JSON_NULL) return rc;
  ir_param p = *out;
  p.kind = kind;
  switch (kind) {
  case IR_PARAM_INT:
    if (v->kind != RT_JSON_INT) return wrong_type(cfg, path, "an integer", v, c);
    p.i = v->i;
    break;
  case IR_PARAM_FLOAT:
    if (rt_json_number(v, &p.f)) return wrong_type(cfg, path, "a number", v, c);
    break;
  case IR_PARAM_BOOL:
    if (v->kind != RT_JSON_BOOL) return wrong_type(cfg, path, "true or false", v, c);
    p.i = v->b;
    break;
  case IR_PARAM_LIST:
    if ((rc = to_list(a, cfg, path, v, &p, c))) return rc;
    break;
  default:
    return ssd_err(c, SSD_EINTERNAL, "unknown parameter kind %d", (int)kind);
  }
  *out = p;
  *found = true;
  return SSD_OK;
}

/* The value for one parameter: first present key of this dialect, else the
 * first default, else a missing-key error.  *set is false when the param has
 * no key for this dialect at all. */
static int param_value(ssd_arena *a, const rt_config *cfg, const fe_param_info *pi,
                       ir_param *v, bool *set, ssd_ctx *c) {
  const fe_key *dflt = NULL, *first = NULL;
  *set = false;
  for (int k = 0; k < pi->nkeys; k++) {
    const fe_key *key = &pi->keys[k];
    if (strcmp(key->source, cfg->source)) continue;
    if (!first) first = key;
    bool found;
    int rc = rt_config_value(a, cfg, key->path, pi->kind, v, &found, c);
    if (rc) {
      ssd_note_at(c, pi->loc, "while setting parameter '%s' from %s", pi->name, cfg->path);
      return rc;
    }
    if (found) {
      *set = true;
      return SSD_OK;
    }
    if (!dflt && key->has_default) dflt = key;
  }
  /* No key for this dialect, or a derived param whose expression stands in
   * for a missing key: keep the model file's value. */
  if (!first || (!dflt && pi->derived)) return SSD_OK;
  if (!dflt) {
    int rc = ssd_err(c, SSD_EFORMAT, "%s: missing required key '%s' (for parameter '%s')",
                     cfg->path, first->path, pi->name);
    ssd_note_at(c, pi->loc, "parameter '%s' declared here", pi->name);
    return rc;
  }
  *v = dflt->dflt;
  v->kind = pi->kind;
  *set = true;
  return SSD_OK;
}

int rt_config_apply(const rt_config *cfg, fe_program *p, ssd_ctx *c) {
  /* Lists come from the config's arena: fe.h does not promise that
   * fe_set_value copies them, so they must live as long as the config. */
  ssd_arena *a = cfg->arena;
  int rc = SSD_OK;
  for (int i = 0; i < fe_nparams(p) && !rc; i++) {
    const fe_param_info *pi = fe_param(p, i);
    ir_param v = {.name = pi->name, .kind = pi->kind, .loc = pi->loc};
    bool set;
    rc = param_value(a, cfg, pi, &v, &set, c);
    if (!rc && set) rc = fe_set_value(p, pi->name, &v, c);
  }
  return rc;
}

static int name_cmp(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The *.ssd names in dir, sorted, malloc'd (free each and the array). */
static int list_models(const char *dir, char ***out, int *n, ssd_ctx *c) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return ssd_err(c, SSD_EIO, "cannot open model directory '%s'", dir);
  char **names = NULL;
  int cnt = 0, rc = SSD_OK;
  for (struct dirent *e; (e = readdir(d)) && !rc;) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".ssd")) continue;
    char **nn = realloc(names, (size_t)(cnt + 1) * sizeof *nn);
    char *s = strdup(e->d_name);
    if (nn) names = nn;
    if (!nn || !s) {
      free(s);
      rc = ssd_err(c, SSD_ENOMEM, "out of memory");
    } else {
      names[cnt++] = s;
    }
  }
  closedir(d);
  if (cnt) qsort(names, (size_t)cnt, sizeof *names, name_cmp);
  *out = names;
  *n = cnt;
  return rc;
}

int rt_config_pick_model(ssd_arena *a, const rt_config *cfg, const char *dir, fe_program **out,
                         const char **path_out, ssd_ctx *c) {
  char **names;
  int n, rc = list_models(dir, &names, &n, c);
  const char *chosen = NULL;
  fe_program *prog = NULL;
  for (int i = 0; i < n && !rc; i++) {
    char *path = ssd_arena_printf(a, "%s/%s", dir, names[i]);
    fe_program *p;
    if (!path) rc = ssd_err(c, SSD_ENOMEM, "out of memory");
    else rc = fe_parse_file(a, path, &p, c);
    if (rc || !fe_covers(p, cfg->source, cfg->type)) continue;
    if (chosen)
      rc = ssd_err(c, SSD_ECHECK, "both '%s' and '%s' claim to cover %s model type '%s'", chosen,
                   path, cfg->source, cfg->type);
    chosen = path;
    prog = p;
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  if (rc) return rc;
  if (!chosen)
    return ssd_err(c, SSD_EUNSUPPORTED,
                   "%s: no model file in '%s' covers %s model type '%s' (%d model files looked at)",
                   cfg->path, dir, cfg->source, cfg->type, n);
  *out = prog;
  if (path_out) *path_out = chosen;
  return SSD_OK;
}
