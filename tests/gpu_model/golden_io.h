/* golden_io.h: reading a golden fixture directory (tests/golden/<case>/),
 * shared by the whole-model GPU tests: input ids, reference logits, the
 * greedy continuation, and the weight getter over a bound checkpoint. */
#ifndef GOLDEN_IO_H
#define GOLDEN_IO_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_json.h"
#include "rt_model.h"
#include "rt_ops.h"
#include "rt_safetensors.h"
#include "rt_weights.h"

#define GOLDEN_MAXTOK 64

static inline const float *weight_of(void *ctx, const ir_node *n) { return rt_weights_get(ctx, n); }

/* int64 tensor `name` of DIR/file ([B, L]) or float logits ([B, L, V]). */
static inline int read_tensor(const char *dir, const char *file, const char *name, int64_t shape[3],
                       float **f, int64_t **i, ssd_ctx *c) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  rt_safetensors *st;
  if (rt_st_open(path, &st, c)) return 1;
  const rt_st_tensor *t = rt_st_find(st, name);
  int rc = 1;
  if (t && t->rank >= 2 && t->rank <= 3) {
    for (int d = 0; d < 3; d++) shape[d] = d < t->rank ? t->shape[d] : 1;
    if (f && (*f = malloc(t->numel * sizeof(float) + 1))) rc = rt_st_read_f32(t, *f, t->numel, c);
    if (i && (*i = malloc(t->numel * sizeof(int64_t) + 1))) rc = rt_st_read_i64(t, *i, t->numel, c);
  }
  rt_st_close(st);
  return rc;
}

/* A golden case as the GPU tests load it: the model lowered and bound (no
 * CPU codegen), input ids [B, L] and the reference logits [B, L, V]. */
typedef struct golden_fixture {
  const char *name; /* the case directory's last component */
  rt_model *md;
  rt_safetensors *st;
  rt_weights *w;
  int64_t ishape[3], lshape[3];
  int64_t *ids;
  float *ref;
} golden_fixture;

static inline int golden_open(const char *dir, golden_fixture *f, ssd_ctx *c) {
  memset(f, 0, sizeof *f);
  f->name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
  rt_model_opts o = {0};
  o.codegen = -1; /* the CPU side only lowers and binds here */
  int rc = rt_model_load(dir, &o, &f->md, c);
  if (!rc) rc = rt_st_open_model(dir, &f->st, c);
  if (!rc) rc = rt_weights_bind(rt_model_module(f->md), f->st, &f->w, c);
  if (!rc) rc = read_tensor(dir, "input.safetensors", "input_ids", f->ishape, NULL, &f->ids, c);
  if (!rc) rc = read_tensor(dir, "logits.safetensors", "logits", f->lshape, &f->ref, NULL, c);
  return rc;
}

static inline void golden_close(golden_fixture *f) {
  rt_weights_free(f->w);
  rt_st_close(f->st);
  rt_model_free(f->md);
  free(f->ids);
  free(f->ref);
  memset(f, 0, sizeof *f);
}

/* greedy.json's prompt and new_tokens (at least 4, at most GOLDEN_MAXTOK). */
static inline int read_greedy(const char *dir, int64_t *prompt, int *np, int64_t *want, int *nw) {
  char path[4096];
  snprintf(path, sizeof path, "%s/greedy.json", dir);
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  ssd_ctx_init(&c);
  ssd_src *src;
  rt_json *root;
  int rc = !a || ssd_read_file(a, path, 1 << 20, &src, &c) ||
           rt_json_parse(a, path, src->text, src->len, &root, &c);
  const rt_json *p = rc ? NULL : rt_json_get(root, "prompt");
  const rt_json *t = rc ? NULL : rt_json_get(root, "new_tokens");
  if (!rc && (!p || !t || p->kind != RT_JSON_ARRAY || t->kind != RT_JSON_ARRAY ||
              p->n > GOLDEN_MAXTOK || t->n > GOLDEN_MAXTOK || p->n < 1 || t->n < 4))
    rc = 1;
  for (int k = 0; !rc && k < p->n; k++) prompt[k] = p->items[k]->i;
  for (int k = 0; !rc && k < t->n; k++) want[k] = t->items[k]->i;
  if (!rc) *np = p->n, *nw = t->n;
  ssd_arena_free(a);
  return rc;
}

/* Each CASE_DIR argument through run_case (0 ok, 77 no GPU, else a setup
 * failure; checks count tx_failures, so tx.h comes first): the exit status
 * of a test binary, with `what` in the final line. */
/* Whether the cases run on the emulated device (rt_cuda_open_emu): the
 * first argument --emu, which golden_run_cases takes off. */
static bool golden_emu;

static inline int golden_run_cases(int argc, char **argv, int (*run_case)(const char *),
                                   const char *what) {
  int first = 1;
  if (argc > 1 && !strcmp(argv[1], "--emu")) golden_emu = true, first = 2;
  for (int i = first; i < argc; i++) {
    int rc = run_case(argv[i]);
    if (rc == 77) return 77;
    if (rc) tx_failures++;
  }
  if (tx_failures) fprintf(stderr, "%d check(s) failed\n", tx_failures);
  else printf("all GPU %s checks passed\n", what);
  return tx_failures ? 1 : 0;
}

#endif
