/* test_weights.c: runtime/rt_weights binding a module's IR_WEIGHT nodes to a
 * safetensors file written at test time: in-place F32 views, exact BF16/F16
 * upcasts into owned buffers, tied weights sharing one buffer, the leftover
 * tensor warning, and every error (missing, misshapen, integer dtype,
 * unelaborated module) reported together with both shapes.
 *
 * The module is assembled field by field (ir.h structs), so the test only
 * relies on ir_dim_eval from the IR library.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>

#include "../../runtime/rt_weights.h"
#include "rtio_test.h"

enum { MAXN = 16 };

typedef struct fake {
  ir_module m;
  ir_func main;
  ir_node nodes[MAXN];
  ir_value vals[MAXN];
  ir_value *outs[MAXN];
  ir_dim dims[MAXN][IR_MAX_RANK];
  int n;
} fake;

static ir_node *add_weight(fake *f, const char *ckpt, ir_dtype dt, int rank, const int64_t *shape) {
  int i = f->n++;
  ir_node *x = &f->nodes[i];
  ir_value *v = &f->vals[i];
  x->op = IR_WEIGHT;
  x->id = i;
  x->nout = 1;
  x->out = &f->outs[i];
  f->outs[i] = v;
  x->a.ckpt = ckpt;
  x->a.dtype = dt;
  x->layer = -1;
  v->id = i;
  v->def = x;
  v->rank = rank;
  for (int d = 0; d < rank; d++) {
    f->dims[i][d] = (ir_dim){.kind = IR_DIM_CONST, .v = shape[d]};
    v->dims[d] = &f->dims[i][d];
  }
  if (i) {
    f->nodes[i - 1].next = x;
    x->prev = &f->nodes[i - 1];
  } else {
    f->main.first = x;
  }
  f->main.last = x;
  return x;
}

static void fake_init(fake *f) {
  memset(f, 0, sizeof *f);
  f->m.main = &f->main;
  f->main.name = "main";
  f->m.name = "test";
}

static char path[1024];
static float emb[10 * 8], norm[8];
static uint16_t wbf[8 * 8], hf[4];
static int64_t ids[3] = {1, 2, 3};

static void write_ckpt(void) {
  unsigned long long r = 7;
  for (int i = 0; i < 80; i++) emb[i] = (float)((int)(rtio_rand(&r) % 2001) - 1000) / 256.0f;
  for (int i = 0; i < 8; i++) norm[i] = 1.0f + (float)i / 64;
  for (int i = 0; i < 64; i++) wbf[i] = (uint16_t)(rtio_rand(&r) & 0xBFFF); /* finite bf16 */
  uint16_t hv[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF}; /* 1, -2, 2^-24, 65504 */
  memcpy(hf, hv, sizeof hv);
  int64_t se[] = {10, 8}, sw[] = {8, 8}, sh[] = {4}, sn[] = {8}, si[] = {3};
  rt_st_out t[] = {{"backbone.embeddings.weight", IR_F32, 2, se, emb},
                   {"backbone.layers.0.mixer.in_proj.weight", IR_BF16, 2, sw, wbf},
                   {"backbone.layers.0.mixer.D", IR_F16, 1, sh, hf},
                   {"backbone.norm_f.weight", IR_F32, 1, sn, norm},
                   {"extra.a", IR_F32, 1, sn, norm},
                   {"extra.b", IR_I64, 1, si, ids}};
  ssd_ctx c;
  ssd_ctx_init(&c);
  CHECK(rt_st_write(path, t, 6, NULL, 0, &c) == SSD_OK);
}

static double bf16_ref(uint16_t h) {
  int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
  double v = e ? ldexp(128 + m, e - 134) : ldexp(m, -133);
  return s ? -v : v;
}

static bool sink_has(FILE *sink, const char *needle) {
  char buf[8192];
  fflush(sink);
  rewind(sink);
  size_t n = fread(buf, 1, sizeof buf - 1, sink);
  buf[n] = 0;
  return strstr(buf, needle) != NULL;
}

static void test_good(rt_safetensors *st) {
  fake f;
  fake_init(&f);
  int64_t se[] = {10, 8}, sw[] = {8, 8}, sh[] = {4}, sn[] = {8};
  ir_node *e = add_weight(&f, "backbone.embeddings.weight", IR_F32, 2, se);
  ir_node *w = add_weight(&f, "backbone.layers.0.mixer.in_proj.weight", IR_BF16, 2, sw);
  ir_node *h = add_weight(&f, "backbone.layers.0.mixer.D", IR_F16, 1, sh);
  ir_node *n = add_weight(&f, "backbone.norm_f.weight", IR_F32, 1, sn);
  ir_node *tied = add_weight(&f, "backbone.embeddings.weight", IR_F32, 2, se);
  tied->a.tied = true;
  FILE *sink = tmpfile();
  ssd_ctx c;
  rtio_ctx(&c, sink);
  rt_weights *rw;
  CHECK(rt_weights_bind(&f.m, st, &rw, &c) == SSD_OK);
  if (!rw) return;
  CHECK(rt_weights_count(rw) == 5);
  const float *pe = rt_weights_get(rw, e), *pw = rt_weights_get(rw, w), *ph = rt_weights_get(rw, h);
  CHECK(pe && !memcmp(pe, emb, sizeof emb));
  CHECK(rt_weights_get(rw, tied) == pe); /* tied: one buffer */
  CHECK(rt_weights_by_name(rw, "backbone.norm_f.weight") == rt_weights_get(rw, n));
  CHECK(!memcmp(rt_weights_get(rw, n), norm, sizeof norm));
  CHECK(rt_weights_get(rw, &f.nodes[MAXN - 1]) == NULL);
  /* F32 is used in place: the pointer lies inside the mapping. */
  const rt_st_tensor *te = rt_st_find(st, "backbone.embeddings.weight");
  CHECK(pe == te->data);
  int bad = 0;
  for (int i = 0; i < 64; i++) bad += pw[i] != bf16_ref(wbf[i]);
  CHECK(bad == 0);
  CHECK(ph[0] == 1.0f && ph[1] == -2.0f && ph[2] == ldexpf(1, -24) && ph[3] == 65504.0f);
  CHECK(rt_weights_owned_bytes(rw) == (64 + 4) * sizeof(float));
  CHECK(c.nwarnings == 1 && sink_has(sink, "2 tensors the model does not use: 'extra.a', 'extra.b'"));
  rt_weights_free(rw);
  fclose(sink);
}

static void test_errors(rt_safetensors *st) {
  fake f;
  fake_init(&f);
  int64_t se[] = {10, 8}, wrong[] = {8, 4}, sn[] = {8}, s3[] = {3}, r3[] = {10, 8, 1};
  add_weight(&f, "backbone.embeddings.weight", IR_F32, 2, se);
  add_weight(&f, "backbone.layers.0.mixer.in_proj.weight", IR_F32, 2, wrong);
  add_weight(&f, "backbone.layers.1.mixer.in_proj.weight", IR_F32, 2, se);
  add_weight(&f, "extra.b", IR_F32, 1, s3);
  add_weight(&f, "backbone.norm_f.weight", IR_F32, 1, sn);
  add_weight(&f, "backbone.embeddings.weight", IR_F32, 3, r3);
  FILE *sink = tmpfile();
  ssd_ctx c;
  rtio_ctx(&c, sink);
  rt_weights *rw = (rt_weights *)&f;
  int rc = rt_weights_bind(&f.m, st, &rw, &c);
  CHECK(rc == SSD_EFORMAT && rw == NULL);
  CHECK(c.nerrors == 4);
  CHECK(sink_has(sink, "weight 'backbone.layers.0.mixer.in_proj.weight': the model expects shape "
                       "[8, 4], the checkpoint has [8, 8]"));
  CHECK(sink_has(sink, "weight 'backbone.layers.1.mixer.in_proj.weight' is missing from the checkpoint"));
  CHECK(sink_has(sink, "weight 'extra.b': checkpoint dtype I64 is not supported"));
  CHECK(sink_has(sink, "expects shape [10, 8, 1], the checkpoint has [10, 8]"));
  CHECK(c.nwarnings == 0);
  fclose(sink);

  /* A module that still has layer calls, and a template checkpoint name. */
  fake g;
  fake_init(&g);
  add_weight(&g, "backbone.layers.{i}.norm.weight", IR_F32, 1, sn);
  sink = tmpfile();
  rtio_ctx(&c, sink);
  CHECK_ERR(rt_weights_bind(&g.m, st, &rw, &c), &c, SSD_EINTERNAL, "concrete checkpoint name");
  g.nodes[0].op = IR_CALL;
  CHECK_ERR(rt_weights_bind(&g.m, st, &rw, &c), &c, SSD_EINTERNAL, "not elaborated");
  /* An empty module binds and warns about every tensor. */
  fake e;
  fake_init(&e);
  CHECK(rt_weights_bind(&e.m, st, &rw, &c) == SSD_OK && rt_weights_count(rw) == 0);
  CHECK(sink_has(sink, "6 tensors the model does not use"));
  rt_weights_free(rw);
  fclose(sink);
}

int main(int argc, char **argv) {
  snprintf(path, sizeof path, "%s/rt_weights_test.safetensors", argc > 1 ? argv[1] : ".");
  write_ckpt();
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_safetensors *st;
  if (rt_st_open(path, &st, &c)) return 1;
  test_good(st);
  test_errors(st);
  rt_st_close(st);
  remove(path);
  return rtio_done("test_weights");
}
