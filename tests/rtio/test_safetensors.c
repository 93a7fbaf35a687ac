/* test_safetensors.c: runtime/rt_safetensors against hostile headers built at
 * test time (each must fail with its specific message, never crash), every
 * truncation of a valid file, a writer -> reader round trip on disk, exact
 * F16/BF16 upcasts (all 65536 half values against a float64 formula) and
 * sharded checkpoints through model.safetensors.index.json.
 *
 * Usage: test_rtio_safetensors SCRATCH_DIR
 *        test_rtio_safetensors --dump FILE   (prints a file; used by the
 *                                             converter test to cross-check)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/rt_safetensors.h"
#include "rtio_test.h"

static FILE *sink;
static char dir[900];

/* A file image: 8-byte length, header, data_len bytes of data. */
static unsigned char *image(const char *header, uint64_t hlen_field, size_t data_len, size_t *n) {
  size_t h = strlen(header);
  *n = 8 + h + data_len;
  unsigned char *b = malloc(*n + 1);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen_field >> (8 * i));
  memcpy(b + 8, header, h);
  for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (unsigned char)(i * 37 + 11);
  return b;
}

static int open_image(const char *header, size_t data_len, rt_safetensors **st, ssd_ctx *c) {
  size_t n;
  unsigned char *b = image(header, strlen(header), data_len, &n);
  rtio_ctx(c, sink);
  int rc = rt_st_open_mem(b, n, "x.safetensors", st, c);
  if (!rc) rt_st_close(*st);
  free(b);
  return rc;
}

static void bad(const char *header, size_t data_len, const char *needle) {
  ssd_ctx c;
  rt_safetensors *st;
  CHECK_ERR(open_image(header, data_len, &st, &c), &c, SSD_EFORMAT, needle);
}

static void test_hostile(void) {
  ssd_ctx c;
  rt_safetensors *st;
  unsigned char small[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  rtio_ctx(&c, sink);
  CHECK_ERR(rt_st_open_mem(small, 0, "x", &st, &c), &c, SSD_EFORMAT, "too short");
  CHECK_ERR(rt_st_open_mem(small, 7, "x", &st, &c), &c, SSD_EFORMAT, "too short");
  CHECK_ERR(rt_st_open_mem(small, 8, "x", &st, &c), &c, SSD_EFORMAT, "runs past the end");
  size_t n;
  unsigned char *b = image("{}", 100, 0, &n);
  CHECK_ERR(rt_st_open_mem(b, n, "x", &st, &c), &c, SSD_EFORMAT, "header length 100 runs past");
  free(b);
  b = image("{}", (uint64_t)1 << 62, 0, &n);
  CHECK_ERR(rt_st_open_mem(b, n, "x", &st, &c), &c, SSD_EFORMAT, "exceeds the limit");
  free(b);
  b = image("{}", UINT64_MAX, 0, &n);
  CHECK_ERR(rt_st_open_mem(b, n, "x", &st, &c), &c, SSD_EFORMAT, "exceeds the limit");
  free(b);

  bad("[1,2]", 0, "header is an array, not an object");
  bad("\"s\"", 0, "not an object");
  bad("{", 0, "x.safetensors: header:1:2");
  bad("{\"a\":1}", 0, "tensor 'a': entry is an integer");
  bad("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'a': unknown dtype 'Q4'");
  bad("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'a': \"dtype\" missing");
  bad("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': \"dtype\" missing");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': shape[0] is not a non-negative");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2, 1e30],\"data_offsets\":[0,4]}}", 4, "tensor 'w': shape[1] is not");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,4]}}", 4, "tensor 'w': \"shape\" missing");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': element count overflows");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': byte size overflows");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "rank 9 exceeds");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'w': \"data_offsets\" missing");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", 8, "[begin, end] pair");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,\"8\"]}}", 8, "non-negative integers");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "non-negative integers");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "tensor 'w': data_offsets begin 8 > end 0");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "tensor 'w': data_offsets end 16 is past the data region (8 bytes)");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,9223372036854775807]}}", 8, "past the data region");
  bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "tensor 'w': data_offsets span 4 bytes but F32 shape needs 8");
  bad("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4, "span 4 bytes but BF16 shape needs 6");
  bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "tensor 'b' [4, 12) overlaps tensor 'a'");
  bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlaps");
  bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "gap of 4 bytes before tensor 'b'");
  bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "trailing bytes");
  bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate key \"a\"");
  bad("{\"__metadata__\":{\"format\":1}}", 0, "\"__metadata__\" entry 'format' is not a string");
  bad("{\"__metadata__\":[]}", 0, "\"__metadata__\" must be an object");
  bad("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "NUL character");

  /* Valid corner cases. */
  CHECK(open_image("{}", 0, &st, &c) == SSD_OK);
  CHECK(open_image("{\"__metadata__\":{\"format\":\"pt\"}}    ", 0, &st, &c) == SSD_OK);
  CHECK(open_image("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                   "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8, &st, &c) == SSD_OK);
}

/* F64 is a valid safetensors dtype: it opens, but reading it as f32 is refused. */
static void test_unreadable_dtype(void) {
  const char *h = "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                  "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[16,24]}}";
  size_t n;
  unsigned char *b = image(h, strlen(h), 24, &n);
  int32_t iv[2] = {-7, 123456};
  memcpy(b + 8 + strlen(h) + 16, iv, 8);
  ssd_ctx c;
  rt_safetensors *st;
  rtio_ctx(&c, sink);
  CHECK(rt_st_open_mem(b, n, "x", &st, &c) == SSD_OK);
  float f[2];
  int64_t i64[2];
  const rt_st_tensor *d = rt_st_find(st, "d"), *i = rt_st_find(st, "i");
  CHECK(d && i && d->dtype == RT_ST_F64 && i->dtype == RT_ST_I32);
  CHECK_ERR(rt_st_read_f32(d, f, 2, &c), &c, SSD_EUNSUPPORTED, "tensor 'd' has dtype F64");
  CHECK_ERR(rt_st_read_f32(i, f, 3, &c), &c, SSD_EINVAL, "has 2 elements, caller expected 3");
  CHECK_ERR(rt_st_read_i64(d, i64, 2, &c), &c, SSD_EUNSUPPORTED, "expected I64 or I32");
  CHECK(rt_st_read_i64(i, i64, 2, &c) == SSD_OK && i64[0] == -7 && i64[1] == 123456);
  rt_st_close(st);
  free(b);
}

/* The value of a half-precision bit pattern, computed from the definition. */
static double half_ref(unsigned h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

/* Equal as values, with the sign of zero, and NaN matching NaN. */
static bool same(float got, double want) {
  if (isnan(want)) return isnan(got);
  return got == want && !signbit(got) == !signbit(want);
}

static void test_upcast(void) {
  const char *h = "{\"h\":{\"dtype\":\"F16\",\"shape\":[256,256],\"data_offsets\":[0,131072]},"
                  "\"b\":{\"dtype\":\"BF16\",\"shape\":[65536],\"data_offsets\":[131072,262144]}}";
  size_t n, hl = strlen(h);
  unsigned char *img = image(h, hl, 262144, &n);
  for (unsigned i = 0; i < 65536; i++) {
    uint16_t v = (uint16_t)i;
    memcpy(img + 8 + hl + 2 * i, &v, 2);
    memcpy(img + 8 + hl + 131072 + 2 * i, &v, 2);
  }
  ssd_ctx c;
  rt_safetensors *st;
  rtio_ctx(&c, sink);
  CHECK(rt_st_open_mem(img, n, "x", &st, &c) == SSD_OK);
  float *f = malloc(65536 * sizeof *f);
  for (int i = 0; i < 65536; i++) f[i] = NAN;
  CHECK(rt_st_read_f32(rt_st_find(st, "h"), f, 65536, &c) == SSD_OK);
  int bad_h = 0;
  for (unsigned i = 0; i < 65536; i++) {
    double want = half_ref(i);
    if (!same(f[i], want)) bad_h++;
  }
  CHECK(bad_h == 0);
  for (int i = 0; i < 65536; i++) f[i] = NAN;
  CHECK(rt_st_read_f32(rt_st_find(st, "b"), f, 65536, &c) == SSD_OK);
  int bad_b = 0;
  for (unsigned i = 0; i < 65536; i++) {
    int s = i >> 15, e = (i >> 7) & 255, m = i & 127;
    double want = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134);
    if (s) want = -want;
    if (!same(f[i], want)) bad_b++;
  }
  CHECK(bad_b == 0);
  free(f);
  rt_st_close(st);
  free(img);
}

static char *path_in(const char *name) {
  static char p[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static size_t file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
}

static void test_round_trip(void) {
  unsigned long long r = 99;
  float f[2 * 3 * 5];
  int64_t ids[2 * 7];
  uint16_t bf[6];
  for (int i = 0; i < 30; i++) f[i] = (float)((double)(rtio_rand(&r) >> 11) / 9007199254740992.0 * 20 - 10);
  for (int i = 0; i < 14; i++) ids[i] = (int64_t)(rtio_rand(&r) % 50277) - (i == 3 ? 1000000 : 0);
  for (int i = 0; i < 6; i++) bf[i] = (uint16_t)(0x3F80 + i); /* 1.0 and neighbours */
  int64_t s1[] = {2, 3, 5}, s2[] = {2, 7}, s3[] = {6};
  rt_st_out t[] = {{"logits", IR_F32, 3, s1, f}, {"input_ids", IR_I64, 2, s2, ids},
                   {"b \"q\"\\\n", IR_BF16, 1, s3, bf}, {"scalar", IR_F32, 0, NULL, f}};
  const char *meta[] = {"format", "pt", "producer", "ssdc \"test\""};
  const char *out = path_in("rt_roundtrip.safetensors");
  ssd_ctx c;
  rtio_ctx(&c, sink);
  CHECK(rt_st_write(out, t, 4, meta, 2, &c) == SSD_OK);
  rt_safetensors *st;
  CHECK(rt_st_open(out, &st, &c) == SSD_OK);
  if (!st) return;
  CHECK(rt_st_count(st) == 4);
  CHECK(!strcmp(rt_st_metadata(st, "format"), "pt"));
  CHECK(!strcmp(rt_st_metadata(st, "producer"), "ssdc \"test\""));
  CHECK(rt_st_metadata(st, "absent") == NULL);
  const rt_st_tensor *lg = rt_st_find(st, "logits");
  CHECK(lg && lg->dtype == RT_ST_F32 && lg->rank == 3 && lg->shape[2] == 5 && lg->numel == 30);
  float g[30];
  for (int i = 0; i < 30; i++) g[i] = NAN;
  CHECK(lg && rt_st_read_f32(lg, g, 30, &c) == SSD_OK && !memcmp(g, f, sizeof f));
  /* The reference writer pads the header so data starts 8-aligned. */
  CHECK(lg && ((const unsigned char *)lg->data - (const unsigned char *)rt_st_at(st, 0)->data) % 4 == 0);
  const rt_st_tensor *in = rt_st_find(st, "input_ids");
  int64_t got[14];
  CHECK(in && in->dtype == RT_ST_I64 && rt_st_read_i64(in, got, 14, &c) == SSD_OK &&
        !memcmp(got, ids, sizeof ids));
  const rt_st_tensor *b = rt_st_find(st, "b \"q\"\\\n");
  CHECK(b && b->dtype == RT_ST_BF16 && rt_st_read_f32(b, g, 6, &c) == SSD_OK && g[0] == 1.0f &&
        g[1] == 1.0078125f);
  const rt_st_tensor *sc = rt_st_find(st, "scalar");
  CHECK(sc && sc->rank == 0 && sc->numel == 1);
  CHECK(!strcmp(rt_st_at(st, 0)->name, "b \"q\"\\\n")); /* sorted by name */
  rt_st_close(st);

  /* The image must have its header padded to 8 and every truncation must fail. */
  FILE *fp = fopen(out, "rb");
  size_t n = file_size(out);
  unsigned char *img = malloc(n);
  CHECK(fp && fread(img, 1, n, fp) == n);
  if (fp) fclose(fp);
  CHECK(img[0] % 8 == 0);
  for (size_t k = 0; k < n; k++) {
    rtio_ctx(&c, sink);
    if (rt_st_open_mem(img, k, "trunc", &st, &c) != SSD_EFORMAT) {
      fprintf(stderr, "truncation to %zu bytes was accepted\n", k);
      fails++;
    }
  }
  free(img);

  /* Writer errors leave nothing behind. */
  rtio_ctx(&c, sink);
  CHECK_ERR(rt_st_write(path_in("no/such/dir/x.safetensors"), t, 1, NULL, 0, &c), &c, SSD_EIO,
            "cannot create");
  rt_st_out dup[] = {t[0], t[0]};
  CHECK_ERR(rt_st_write(path_in("dup.safetensors"), dup, 2, NULL, 0, &c), &c, SSD_EINVAL, "twice");
  CHECK(access(path_in("dup.safetensors"), F_OK) != 0);
  int64_t neg[] = {-1};
  rt_st_out badshape[] = {{"x", IR_F32, 1, neg, f}};
  CHECK_ERR(rt_st_write(path_in("neg.safetensors"), badshape, 1, NULL, 0, &c), &c, SSD_EINVAL, "bad shape");
  CHECK(access(path_in("neg.safetensors"), F_OK) != 0);
  CHECK_ERR(rt_st_open(path_in("absent.safetensors"), &st, &c), &c, SSD_EIO, "cannot open");
  CHECK_ERR(rt_st_open(dir, &st, &c), &c, SSD_EIO, "not a regular file");
  remove(out);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

static void test_shards(void) {
  char d[1024];
  snprintf(d, sizeof d, "%s/rt_shards", dir);
  mkdir(d, 0755);
  float a[4] = {1, 2, 3, 4}, b[2] = {5, 6}, cc[3] = {7, 8, 9};
  int64_t sa[] = {2, 2}, sb[] = {2}, sc[] = {3};
  rt_st_out s1[] = {{"a", IR_F32, 2, sa, a}, {"b", IR_F32, 1, sb, b}};
  rt_st_out s2[] = {{"c", IR_F32, 1, sc, cc}};
  char p1[1100], p2[1100], idx[1100];
  snprintf(p1, sizeof p1, "%s/model-00001-of-00002.safetensors", d);
  snprintf(p2, sizeof p2, "%s/model-00002-of-00002.safetensors", d);
  snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", d);
  ssd_ctx c;
  rtio_ctx(&c, sink);
  CHECK(rt_st_write(p1, s1, 2, NULL, 0, &c) == SSD_OK);
  CHECK(rt_st_write(p2, s2, 1, NULL, 0, &c) == SSD_OK);
  const char *good = "{\"metadata\": {\"total_size\": 36}, \"weight_map\": {"
                     "\"a\": \"model-00001-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\","
                     "\"b\": \"model-00001-of-00002.safetensors\"}}";
  write_text(idx, good);
  rt_safetensors *st;
  CHECK(rt_st_open_model(d, &st, &c) == SSD_OK);
  if (st) {
    float g[3];
    CHECK(rt_st_count(st) == 3);
    CHECK(rt_st_read_f32(rt_st_find(st, "c"), g, 3, &c) == SSD_OK && g[2] == 9);
    CHECK(strstr(rt_st_find(st, "c")->file, "00002") != NULL);
    rt_st_close(st);
  }
  write_text(idx, "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
                  "\"b\": \"model-00001-of-00002.safetensors\", \"c\": \"model-00001-of-00002.safetensors\"}}");
  CHECK_ERR(rt_st_open_model(d, &st, &c), &c, SSD_EFORMAT, "weight_map lists 'c' but shard");
  write_text(idx, "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
                  "\"c\": \"model-00002-of-00002.safetensors\"}}");
  CHECK_ERR(rt_st_open_model(d, &st, &c), &c, SSD_EFORMAT, "tensor 'b' is in shard");
  write_text(idx, "{\"weight_map\": {\"a\": \"../model-00001-of-00002.safetensors\"}}");
  CHECK_ERR(rt_st_open_model(d, &st, &c), &c, SSD_EFORMAT, "not a plain file name");
  write_text(idx, "{\"weight_map\": {\"a\": \"missing.safetensors\"}}");
  CHECK_ERR(rt_st_open_model(d, &st, &c), &c, SSD_EIO, "cannot open");
  write_text(idx, "{\"weight_map\": [1]}");
  CHECK_ERR(rt_st_open_model(d, &st, &c), &c, SSD_EFORMAT, "\"weight_map\" missing");
  /* Two shards holding the same name. */
  CHECK(rt_st_write(p2, s1, 1, NULL, 0, &c) == SSD_OK);
  write_text(idx, "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
                  "\"b\": \"model-00002-of-00002.safetensors\"}}");
  CHECK_ERR(rt_st_open_model(d, &st, &c), &c, SSD_EFORMAT, "tensor 'a' appears in both");
  unlink(idx);
  unlink(p1);
  unlink(p2);
  CHECK_ERR(rt_st_open_model(d, &st, &c), &c, SSD_EIO, "holds neither");
  snprintf(p1, sizeof p1, "%s/model.safetensors", d);
  CHECK(rt_st_write(p1, s2, 1, NULL, 0, &c) == SSD_OK);
  CHECK(rt_st_open_model(d, &st, &c) == SSD_OK && rt_st_count(st) == 1);
  rt_st_close(st);
  unlink(p1);
  rmdir(d);
}

/* --dump FILE: one line per tensor, values as %.9g (the converter test
 * compares them with what its Python side wrote). */
static int dump(const char *path) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_safetensors *st;
  if (rt_st_open_model(path, &st, &c)) return 1;
  for (int i = 0; i < rt_st_count(st); i++) {
    const rt_st_tensor *t = rt_st_at(st, i);
    printf("%s %s [", t->name, rt_st_dtype_name(t->dtype));
    for (int d = 0; d < t->rank; d++) printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
    printf("]");
    float *f = malloc(t->numel * sizeof *f + 1);
    if (!rt_st_read_f32(t, f, t->numel, &c))
      for (uint64_t k = 0; k < t->numel; k++) printf(" %.9g", f[k]);
    free(f);
    printf("\n");
  }
  rt_st_close(st);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--dump")) return dump(argv[2]);
  snprintf(dir, sizeof dir, "%s", argc > 1 ? argv[1] : ".");
  sink = tmpfile();
  if (!sink) return 2;
  test_hostile();
  test_unreadable_dtype();
  test_upcast();
  test_round_trip();
  test_shards();
  fclose(sink);
  return rtio_done("test_safetensors");
}
