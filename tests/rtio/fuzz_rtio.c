/* fuzz_rtio.c: libFuzzer target for the two parsers that read untrusted
 * bytes in runtime/: the first input byte picks the mode.
 *   0: the bytes are a whole safetensors file image (rt_st_open_mem); on
 *      success every tensor is read as f32/i64 so that a header that passes
 *      validation but points outside the image is caught by ASan;
 *   1: the bytes are JSON (strict), 2: JSON with Python's non-finite words,
 *      followed by a few path lookups and number reads.
 * Run by ctest (label fuzz) for ~30 s from tests/rtio/corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_json.h"
#include "../../runtime/rt_safetensors.h"

static void read_all(const rt_safetensors *st, ssd_ctx *c) {
  for (int i = 0; i < rt_st_count(st); i++) {
    const rt_st_tensor *t = rt_st_at(st, i);
    if (t->numel > (1u << 20)) continue;
    float *f = malloc(t->numel * sizeof *f + 1);
    int64_t *q = malloc(t->numel * sizeof *q + 1);
    if (f && q) {
      rt_st_read_f32(t, f, t->numel, c);
      rt_st_read_i64(t, q, t->numel, c);
    }
    free(f);
    free(q);
  }
  rt_st_metadata(st, "format");
}

static void json(const uint8_t *data, size_t size, unsigned flags, ssd_ctx *c) {
  ssd_arena *a = ssd_arena_new();
  rt_json *v;
  if (a && !rt_json_parse_flags(a, "fuzz", (const char *)data, size, flags, &v, c)) {
    static const char *paths[] = {"a", "a.b", "a[0]", "ssm_cfg.d_state", "x[1][2].y"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
      const rt_json *x;
      double d;
      if (!rt_json_lookup(v, paths[i], &x, c)) rt_json_number(x, &d);
    }
  }
  ssd_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.quiet = 1;
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  c.diag = devnull;
  uint8_t mode = data[0] % 3;
  data++;
  size--;
  if (mode == 0) {
    /* A private copy so that reads past `size` are heap overflows. */
    uint8_t *img = malloc(size + 1);
    if (!img) return 0;
    if (size) memcpy(img, data, size);
    rt_safetensors *st;
    if (!rt_st_open_mem(img, size, "fuzz", &st, &c)) {
      read_all(st, &c);
      rt_st_close(st);
    }
    free(img);
  } else {
    json(data, size, mode == 2 ? RT_JSON_NONFINITE : 0, &c);
  }
  return 0;
}
