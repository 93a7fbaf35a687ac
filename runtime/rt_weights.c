/* rt_weights.c: checks every declared weight against the checkpoint and
 * produces float32 views (see rt_weights.h).  All problems are reported, not
 * just the first, so that a user converting a checkpoint sees the whole list
 * of missing or misshapen tensors in one run.
 */
#include "rt_weights.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
  const ir_node *node;
  const char *ckpt;
  const float *data;
  float *owned; /* non-NULL when data is an upcast copy we free */
} entry;

struct rt_weights {
  entry *e;
  int n;
  size_t owned_bytes;
};

static void shape_str(char *buf, size_t n, const int64_t *d, int rank) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)d[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

/* The weight's declared shape as constants. */
static int declared_shape(const ir_module *m, const ir_node *w, int64_t *d, ssd_ctx *c) {
  const ir_value *v = w->out[0];
  for (int i = 0; i < v->rank; i++)
    if (!v->dims[i] || ir_dim_eval(m, v->dims[i], &d[i]) || d[i] < 0)
      return ssd_err_at(c, w->loc, SSD_EINTERNAL,
                        "weight '%s': dimension %d is not a constant after the passes", w->a.ckpt, i);
  return SSD_OK;
}

static int check_one(const ir_module *m, const ir_node *w, const rt_st_tensor *t, ssd_ctx *c) {
  int64_t d[IR_MAX_RANK];
  int rc = declared_shape(m, w, d, c);
  if (rc) return rc;
  int rank = w->out[0]->rank;
  bool same = rank == t->rank;
  for (int i = 0; same && i < rank; i++) same = d[i] == t->shape[i];
  if (!same) {
    char want[160], got[160];
    shape_str(want, sizeof want, d, rank);
    shape_str(got, sizeof got, t->shape, t->rank);
    return ssd_err_at(c, w->loc, SSD_EFORMAT,
                      "weight '%s': the model expects shape %s, the checkpoint has %s (%s)",
                      w->a.ckpt, want, got, t->file);
  }
  ir_dtype dt;
  if (rt_st_dtype_ir(t->dtype, &dt) || (dt != IR_F32 && dt != IR_BF16 && dt != IR_F16))
    return ssd_err_at(c, w->loc, SSD_EUNSUPPORTED,
                      "weight '%s': checkpoint dtype %s is not supported (F32, BF16, F16)",
                      w->a.ckpt, rt_st_dtype_name(t->dtype));
  return SSD_OK;
}

/* float32 data for t: in place when possible, else an owned upcast copy. */
static int materialize(rt_weights *w, entry *e, const rt_st_tensor *t, ssd_ctx *c) {
  if (t->dtype == RT_ST_F32 && ((uintptr_t)t->data % _Alignof(float)) == 0) {
    e->data = t->data;
    return SSD_OK;
  }
  e->owned = malloc(t->numel ? t->numel * sizeof(float) : 1);
  if (!e->owned)
    return ssd_err(c, SSD_ENOMEM, "out of memory upcasting '%s' (%llu elements)", t->name,
                   (unsigned long long)t->numel);
  e->data = e->owned;
  w->owned_bytes += t->numel * sizeof(float);
  return rt_st_read_f32(t, e->owned, t->numel, c);
}

static int entry_cmp(const void *x, const void *y) {
  uintptr_t a = (uintptr_t)((const entry *)x)->node, b = (uintptr_t)((const entry *)y)->node;
  return (a > b) - (a < b);
}

/* Warn once about checkpoint tensors no weight node asked for. */
static void warn_unused(const rt_safetensors *st, const bool *used, ssd_ctx *c) {
  int n = rt_st_count(st), unused = 0;
  char list[512] = "";
  size_t k = 0;
  for (int i = 0; i < n; i++) {
    if (used[i]) continue;
    if (++unused <= 4 && k < sizeof list)
      k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'", unused > 1 ? ", " : "",
                            rt_st_at(st, i)->name);
  }
  if (unused)
    ssd_warn(c, "the checkpoint has %d tensor%s the model does not use: %s%s", unused,
             unused > 1 ? "s" : "", list, unused > 4 ? ", ..." : "");
}

static int count_weights(const ir_module *m, ssd_ctx *c, int *n) {
  *n = 0;
  for (const ir_node *x = m->main ? m->main->first : NULL; x; x = x->next) {
    if (x->op == IR_CALL)
      return ssd_err_at(c, x->loc, SSD_EINTERNAL,
                        "cannot bind weights: the module still has layer calls (not elaborated)");
    if (x->op == IR_WEIGHT) ++*n;
  }
  return SSD_OK;
}

/* Bind one weight node; returns its status but never stops the caller. */
static int bind_one(const ir_module *m, const rt_safetensors *st, rt_weights *w, entry *e,
                    bool *used, int *dtype_mismatch, ssd_ctx *c) {
  const ir_node *x = e->node;
  if (!x->a.ckpt || strchr(x->a.ckpt, '{'))
    return ssd_err_at(c, x->loc, SSD_EINTERNAL, "weight without a concrete checkpoint name ('%s')",
                      x->a.ckpt ? x->a.ckpt : "");
  const rt_st_tensor *t = rt_st_find(st, x->a.ckpt);
  if (!t)
    return ssd_err_at(c, x->loc, SSD_EFORMAT, "weight '%s' is missing from the checkpoint",
                      x->a.ckpt);
  used[t - rt_st_at(st, 0)] = true;
  int rc = check_one(m, x, t, c);
  if (rc) return rc;
  ir_dtype dt;
  rt_st_dtype_ir(t->dtype, &dt);
  if (dt != x->a.dtype) ++*dtype_mismatch;
  for (entry *p = w->e; p < e; p++)
    if (p->data && !strcmp(p->ckpt, e->ckpt)) {
      e->data = p->data; /* tied: share, do not copy twice */
      return SSD_OK;
    }
  return materialize(w, e, t, c);
}

int rt_weights_bind(const ir_module *m, const rt_safetensors *st, rt_weights **out, ssd_ctx *c) {
  *out = NULL;
  int n, rc = count_weights(m, c, &n);
  if (rc) return rc;
  rt_weights *w = calloc(1, sizeof *w);
  bool *used = calloc((size_t)rt_st_count(st) + 1, sizeof *used);
  if (w) w->e = calloc((size_t)n + 1, sizeof *w->e);
  if (!w || !used || !w->e) {
    free(used);
    rt_weights_free(w);
    return ssd_err(c, SSD_ENOMEM, "out of memory binding weights");
  }
  int mismatch = 0;
  for (const ir_node *x = m->main ? m->main->first : NULL; x; x = x->next) {
    if (x->op != IR_WEIGHT) continue;
    entry *e = &w->e[w->n++];
    e->node = x;
    e->ckpt = x->a.ckpt;
    int r = bind_one(m, st, w, e, used, &mismatch, c);
    if (!rc) rc = r;
  }
  if (!rc) warn_unused(st, used, c);
  if (!rc && mismatch)
    ssd_warn(c, "%d weight%s stored in a dtype other than the model file declares (read as f32)",
             mismatch, mismatch > 1 ? "s" : "");
  free(used);
  if (rc) {
    rt_weights_free(w);
    return rc;
  }
  qsort(w->e, (size_t)w->n, sizeof *w->e, entry_cmp);
  *out = w;
  return SSD_OK;
}

const float *rt_weights_get(const rt_weights *w, const ir_node *node) {
  entry key = {.node = node};
  const entry *e = bsearch(&key, w->e, (size_t)w->n, sizeof *w->e, entry_cmp);
  return e ? e->data : NULL;
}

const float *rt_weights_by_name(const rt_weights *w, const char *ckpt) {
  for (int i = 0; i < w->n; i++)
    if (!strcmp(w->e[i].ckpt, ckpt)) return w->e[i].data;
  return NULL;
}

int rt_weights_count(const rt_weights *w) { return w->n; }
size_t rt_weights_owned_bytes(const rt_weights *w) { return w->owned_bytes; }

void rt_weights_free(rt_weights *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) free(w->e[i].owned);
  free(w->e);
  free(w);
}
