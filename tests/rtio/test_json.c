/* test_json.c: conformance and hostile-input tests for runtime/rt_json.
 *
 * 1. Hand-written RFC 8259 accept/reject cases (each reject must give the
 *    specific message), exact int64 edges, escapes and surrogate pairs.
 * 2. Hostile input: 100k-deep nesting, huge numbers, bad UTF-8, every
 *    truncation of a realistic config.
 * 3. Randomized round trip: random documents (random escapes, unicode,
 *    whitespace, ints, doubles) are generated together with their expected
 *    canonical form; the parsed tree must reproduce it exactly.
 * 4. Random byte mutations must parse or fail cleanly (ASan watches).
 */
#include <math.h>
#include <stdint.h>

#include "../../runtime/rt_json.h"
#include "rtio_test.h"

static FILE *sink;

static int parse(ssd_arena *a, const char *text, size_t len, rt_json **out, ssd_ctx *c) {
  rtio_ctx(c, sink);
  return rt_json_parse(a, "t.json", text, len, out, c);
}

static void expect_ok(const char *text, rt_json_kind kind) {
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  rt_json *v = NULL;
  int rc = parse(a, text, strlen(text), &v, &c);
  if (rc || v->kind != kind) {
    fprintf(stderr, "expected %s to parse as %s: %s\n", text, rt_json_kind_name(kind), c.msg);
    fails++;
  }
  ssd_arena_free(a);
}

static void expect_bad_n(const char *text, size_t len, const char *needle) {
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  rt_json *v;
  CHECK_ERR(parse(a, text, len, &v, &c), &c, SSD_EFORMAT, needle);
  ssd_arena_free(a);
}

static void expect_bad(const char *text, const char *needle) {
  expect_bad_n(text, strlen(text), needle);
}

static void test_cases(void) {
  expect_ok("0", RT_JSON_INT);
  expect_ok(" -0 ", RT_JSON_INT);
  expect_ok("-0.0", RT_JSON_FLOAT);
  expect_ok("1E+2", RT_JSON_FLOAT);
  expect_ok("1e-400", RT_JSON_FLOAT); /* underflow to 0 is fine */
  expect_ok("\"\"", RT_JSON_STRING);
  expect_ok("[]", RT_JSON_ARRAY);
  expect_ok("{}", RT_JSON_OBJECT);
  expect_ok("\t\r\n [ null , true,false ]\n", RT_JSON_ARRAY);
  expect_ok("{\"a\":{\"a\":1}}", RT_JSON_OBJECT); /* same key at different levels */
  expect_ok("\"\\u0000\"", RT_JSON_STRING);

  expect_bad("", "unexpected end of input");
  expect_bad("   ", "unexpected end of input");
  expect_bad("01", "leading zero");
  expect_bad("-", "invalid number");
  expect_bad("1.", "digit expected after '.'");
  expect_bad(".5", "unexpected character");
  expect_bad("1e", "digit expected in exponent");
  expect_bad("+1", "unexpected character");
  expect_bad("0x10", "trailing characters");
  expect_bad("1e400", "out of range");
  expect_bad("-1e400", "out of range");
  expect_bad("Infinity", "unexpected character");
  expect_bad("NaN", "unexpected character");
  expect_bad("tru", "invalid literal");
  expect_bad("nul", "invalid literal");
  expect_bad("[1,]", "unexpected character");
  expect_bad("[1 2]", "expected ',' or ']'");
  expect_bad("{\"a\" 1}", "expected ':'");
  expect_bad("{\"a\":1,}", "expected a string key");
  expect_bad("{'a':1}", "expected a string key");
  expect_bad("{\"a\":1 \"b\":2}", "expected ',' or '}'");
  expect_bad("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key \"a\"");
  expect_bad("[1] x", "trailing characters");
  expect_bad("{} {}", "trailing characters");
  expect_bad("\"abc", "unterminated string");
  expect_bad("\"a\\", "unterminated string");
  expect_bad("\"\\x\"", "invalid escape");
  expect_bad("\"\\u12\"", "truncated \\u escape");
  expect_bad("\"\\u12xy\"", "invalid hex digit");
  expect_bad("\"\\u12G4\"", "invalid hex digit");
  expect_bad("\"\\ud800\"", "high surrogate not followed");
  expect_bad("\"\\ud800\\u0041\"", "high surrogate not followed");
  expect_bad("\"\\udc00\"", "lone low surrogate");
  expect_bad("\"a\tb\"", "control character");
  expect_bad("\"\xC0\x80\"", "invalid UTF-8");         /* overlong NUL */
  expect_bad("\"\xE0\x80\xAF\"", "invalid UTF-8");     /* overlong '/' */
  expect_bad("\"\xED\xA0\x80\"", "invalid UTF-8");     /* encoded surrogate */
  expect_bad("\"\xF4\x90\x80\x80\"", "invalid UTF-8"); /* above U+10FFFF */
  expect_bad("\"\x80\"", "invalid UTF-8");             /* lone continuation */
  expect_bad("\"\xE2\x82\"", "invalid UTF-8");         /* truncated sequence */
  expect_bad("\"\xFF\"", "invalid UTF-8");
  expect_bad_n("[1,\0 2]", 6, "unexpected character");
  /* Errors carry line:col. */
  expect_bad("{\n  \"a\": [1,\n   2,,]}", "t.json:3:6");
}

static void test_values(void) {
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  rt_json *v;
  const char *doc =
      "{\"max\": 9223372036854775807, \"min\": -9223372036854775808,"
      " \"over\": 9223372036854775808, \"big\": 123456789012345678901234567890,"
      " \"f\": 0.1, \"e\": -2.5E-3, \"s\": \"a\\\"\\\\\\/\\b\\f\\n\\r\\tz\","
      " \"u\": \"\\u00e9\\u20AC\\ud83d\\ude00\", \"raw\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
      " \"nul\": \"a\\u0000b\"}";
  CHECK(parse(a, doc, strlen(doc), &v, &c) == SSD_OK);
  const rt_json *x = rt_json_get(v, "max");
  CHECK(x && x->kind == RT_JSON_INT && x->i == INT64_MAX);
  x = rt_json_get(v, "min");
  CHECK(x && x->kind == RT_JSON_INT && x->i == INT64_MIN);
  x = rt_json_get(v, "over");
  CHECK(x && x->kind == RT_JSON_FLOAT && x->f == 9223372036854775808.0);
  x = rt_json_get(v, "big");
  CHECK(x && x->kind == RT_JSON_FLOAT && fabs(x->f - 1.2345678901234568e29) < 1e14);
  x = rt_json_get(v, "f");
  CHECK(x && x->kind == RT_JSON_FLOAT && x->f == 0.1);
  x = rt_json_get(v, "e");
  CHECK(x && x->f == -2.5e-3);
  x = rt_json_get(v, "s");
  CHECK(x && x->slen == 10 && !memcmp(x->s, "a\"\\/\b\f\n\r\tz", 10));
  const rt_json *u = rt_json_get(v, "u"), *raw = rt_json_get(v, "raw");
  CHECK(u && raw && u->slen == 9 && raw->slen == 9 && !memcmp(u->s, raw->s, 9));
  x = rt_json_get(v, "nul");
  CHECK(x && x->slen == 3 && x->s[1] == 0 && x->s[2] == 'b');
  CHECK(rt_json_get(v, "absent") == NULL);
  CHECK(rt_json_get(x, "s") == NULL); /* not an object */
  ssd_arena_free(a);
}

static void test_lookup_and_numbers(void) {
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  rt_json *v;
  const char *doc = "{\"ssm_cfg\": {\"d_state\": 64, \"layer\": \"Mamba2\"},"
                    " \"time_step_limit\": [0.0, {\"__float__\": \"Infinity\"}],"
                    " \"lim2\": [{\"__float__\": \"-Infinity\"}, {\"__float__\": \"NaN\"}],"
                    " \"bad\": {\"__float__\": \"inf\"}, \"bad2\": {\"__float__\": 1},"
                    " \"nest\": {\"l\": [[1, 2], [3, {\"x\": 7}]]}}";
  CHECK(parse(a, doc, strlen(doc), &v, &c) == SSD_OK);
  const rt_json *x;
  double d;
  CHECK(rt_json_lookup(v, "ssm_cfg.d_state", &x, &c) == SSD_OK && x && x->i == 64);
  CHECK(rt_json_lookup(v, "ssm_cfg.absent", &x, &c) == SSD_OK && !x);
  CHECK(rt_json_lookup(v, "absent.d_state", &x, &c) == SSD_OK && !x);
  CHECK(rt_json_lookup(v, "time_step_limit[1]", &x, &c) == SSD_OK && x);
  CHECK(rt_json_number(x, &d) == 0 && isinf(d) && d > 0);
  CHECK(rt_json_lookup(v, "time_step_limit[0]", &x, &c) == SSD_OK && !rt_json_number(x, &d) && d == 0);
  CHECK(rt_json_lookup(v, "time_step_limit[2]", &x, &c) == SSD_OK && !x);
  CHECK(rt_json_lookup(v, "lim2[0]", &x, &c) == SSD_OK && !rt_json_number(x, &d) && isinf(d) && d < 0);
  CHECK(rt_json_lookup(v, "lim2[1]", &x, &c) == SSD_OK && !rt_json_number(x, &d) && isnan(d));
  CHECK(rt_json_number(rt_json_get(v, "bad"), &d) != 0);
  CHECK(rt_json_number(rt_json_get(v, "bad2"), &d) != 0);
  CHECK(rt_json_number(rt_json_get(v, "ssm_cfg"), &d) != 0);
  CHECK(rt_json_lookup(v, "nest.l[1][1].x", &x, &c) == SSD_OK && x && x->i == 7);
  CHECK(rt_json_lookup(v, "nest.l[0][1]", &x, &c) == SSD_OK && x && x->i == 2);
  CHECK(rt_json_lookup(v, "ssm_cfg[0]", &x, &c) == SSD_OK && !x);
  const char *bad_paths[] = {"", ".a", "a.", "a..b", "a[", "a[x]", "a[1", "a[-1]", "a]b", "a[1]b"};
  for (size_t i = 0; i < sizeof bad_paths / sizeof *bad_paths; i++) {
    rtio_ctx(&c, sink);
    CHECK_ERR(rt_json_lookup(v, bad_paths[i], &x, &c), &c, SSD_EINVAL, "path");
  }
  /* Python-style bare non-finite literals: only with the flag. */
  const char *py = "[0.0, Infinity, -Infinity, NaN]";
  rtio_ctx(&c, sink);
  CHECK(rt_json_parse(a, "py", py, strlen(py), &v, &c) == SSD_EFORMAT);
  CHECK(rt_json_parse_flags(a, "py", py, strlen(py), RT_JSON_NONFINITE, &v, &c) == SSD_OK);
  CHECK(v->n == 4 && isinf(v->items[1]->f) && v->items[1]->f > 0 && isinf(v->items[2]->f) &&
        v->items[2]->f < 0 && isnan(v->items[3]->f));
  CHECK(rt_json_parse_flags(a, "py", "Infinit", 7, RT_JSON_NONFINITE, &v, &c) == SSD_EFORMAT);
  CHECK(rt_json_parse_flags(a, "py", "-NaN", 4, RT_JSON_NONFINITE, &v, &c) == SSD_EFORMAT);
  ssd_arena_free(a);
}

static void test_depth(void) {
  size_t n = 100000;
  char *s = malloc(2 * n);
  memset(s, '[', n);
  memset(s + n, ']', n);
  expect_bad_n(s, 2 * n, "nesting too deep");
  /* Exactly at the limit parses; one more does not. */
  int d = RT_JSON_MAX_DEPTH;
  memset(s, '[', (size_t)d);
  memset(s + d, ']', (size_t)d);
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  rt_json *v;
  CHECK(parse(a, s, 2 * (size_t)d, &v, &c) == SSD_OK);
  memset(s, '[', (size_t)d + 1);
  memset(s + d + 1, ']', (size_t)d + 1);
  expect_bad_n(s, 2 * ((size_t)d + 1), "nesting too deep");
  /* Deep objects too, and an unterminated deep document. */
  size_t k = 0;
  for (int i = 0; i < 200; i++) k += (size_t)sprintf(s + k, "{\"a\":");
  expect_bad_n(s, k, "nesting too deep");
  memset(s, '[', 50);
  expect_bad_n(s, 50, "unexpected end of input");
  ssd_arena_free(a);
  free(s);
}

static const char *sample_config =
    "{\n  \"architectures\": [\"Mamba2ForCausalLM\"],\n  \"bos_token_id\": 0,\n"
    "  \"chunk_size\": 256,\n  \"conv_kernel\": 4,\n  \"expand\": 2,\n  \"head_dim\": 64,\n"
    "  \"hidden_act\": \"silu\",\n  \"hidden_size\": 768,\n  \"layer_norm_epsilon\": 1e-05,\n"
    "  \"model_type\": \"mamba2\",\n  \"n_groups\": 1,\n  \"num_heads\": 24,\n"
    "  \"time_step_limit\": [0.0, {\"__float__\": \"Infinity\"}],\n"
    "  \"tie_word_embeddings\": true,\n  \"name\": \"caf\\u00e9 \\ud83d\\ude00\"\n}\n";

/* Every proper prefix of a document that is one object is invalid. */
static void test_truncation(void) {
  size_t n = strlen(sample_config);
  size_t end = n;
  while (sample_config[end - 1] == '\n') end--;
  for (size_t k = 0; k < end; k++) {
    ssd_arena *a = ssd_arena_new();
    ssd_ctx c;
    rt_json *v;
    int rc = parse(a, sample_config, k, &v, &c);
    if (rc != SSD_EFORMAT) {
      fprintf(stderr, "prefix of %zu bytes parsed\n", k);
      fails++;
    }
    ssd_arena_free(a);
  }
  expect_ok(sample_config, RT_JSON_OBJECT);
}

/* ---- randomized round trip ---- */
typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void ws(buf *b, unsigned long long *r) {
  static const char *w[] = {"", "", " ", "\n", "\t", "\r\n  "};
  puts_(b, w[rtio_rand(r) % 6]);
}

static size_t utf8(char *d, unsigned cp) {
  if (cp < 0x80) return (size_t)(d[0] = (char)cp, 1);
  if (cp < 0x800) {
    d[0] = (char)(0xC0 | cp >> 6), d[1] = (char)(0x80 | (cp & 63));
    return 2;
  }
  if (cp < 0x10000) {
    d[0] = (char)(0xE0 | cp >> 12), d[1] = (char)(0x80 | (cp >> 6 & 63)), d[2] = (char)(0x80 | (cp & 63));
    return 3;
  }
  d[0] = (char)(0xF0 | cp >> 18), d[1] = (char)(0x80 | (cp >> 12 & 63));
  d[2] = (char)(0x80 | (cp >> 6 & 63)), d[3] = (char)(0x80 | (cp & 63));
  return 4;
}

/* A random string written as JSON into t, its raw bytes as hex into canon. */
static void gen_string(buf *t, buf *canon, unsigned long long *r) {
  int len = (int)(rtio_rand(r) % 12);
  puts_(t, "\"");
  puts_(canon, "s:");
  for (int i = 0; i < len; i++) {
    unsigned cp;
    switch (rtio_rand(r) % 5) {
    case 0: cp = (unsigned)(rtio_rand(r) % 0x20); break;
    case 1: cp = 0x20 + (unsigned)(rtio_rand(r) % 0x60); break;
    case 2: cp = 0x80 + (unsigned)(rtio_rand(r) % 0x780); break;
    case 3: cp = 0x800 + (unsigned)(rtio_rand(r) % 0xF800); break;
    default: cp = 0x10000 + (unsigned)(rtio_rand(r) % 0x100000); break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;
    char raw[4], esc[16];
    size_t n = utf8(raw, cp);
    for (size_t k = 0; k < n; k++) {
      char h[4];
      snprintf(h, sizeof h, "%02x", (unsigned char)raw[k]);
      puts_(canon, h);
    }
    bool must = cp < 0x20 || cp == '"' || cp == '\\';
    if (must || rtio_rand(r) % 3 == 0) {
      if (cp >= 0x10000) {
        unsigned v = cp - 0x10000;
        snprintf(esc, sizeof esc, "\\u%04X\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else if (cp == '\n' && rtio_rand(r) % 2) {
        snprintf(esc, sizeof esc, "\\n");
      } else {
        snprintf(esc, sizeof esc, "\\u%04x", cp);
      }
      puts_(t, esc);
    } else {
      put(t, raw, n);
    }
  }
  puts_(t, "\"");
  puts_(canon, ";");
}

static void gen(buf *t, buf *canon, unsigned long long *r, int depth) {
  char tmp[64];
  int k = (int)(rtio_rand(r) % (depth > 5 ? 6 : 8));
  ws(t, r);
  switch (k) {
  case 0: puts_(t, "null"); puts_(canon, "n;"); break;
  case 1: puts_(t, "true"); puts_(canon, "t;"); break;
  case 2: {
    long long v = (long long)rtio_rand(r) >> (rtio_rand(r) % 64);
    snprintf(tmp, sizeof tmp, "%lld", v);
    puts_(t, tmp);
    snprintf(tmp, sizeof tmp, "i:%lld;", v);
    puts_(canon, tmp);
    break;
  }
  case 3: {
    double v = ldexp((double)(rtio_rand(r) >> 11), (int)(rtio_rand(r) % 200) - 150);
    if (rtio_rand(r) % 2) v = -v;
    snprintf(tmp, sizeof tmp, "%.17e", v);
    puts_(t, tmp);
    snprintf(tmp, sizeof tmp, "f:%.17g;", v);
    puts_(canon, tmp);
    break;
  }
  case 4:
  case 5: gen_string(t, canon, r); break;
  case 6: {
    int n = (int)(rtio_rand(r) % 5);
    puts_(t, "[");
    puts_(canon, "[");
    for (int i = 0; i < n; i++) {
      if (i) puts_(t, ",");
      gen(t, canon, r, depth + 1);
      ws(t, r);
    }
    puts_(t, "]");
    puts_(canon, "]");
    break;
  }
  default: {
    int n = (int)(rtio_rand(r) % 5);
    puts_(t, "{");
    puts_(canon, "{");
    for (int i = 0; i < n; i++) {
      if (i) puts_(t, ",");
      ws(t, r);
      snprintf(tmp, sizeof tmp, "\"k%d\"", i);
      puts_(t, tmp);
      snprintf(tmp, sizeof tmp, "k%d=", i);
      puts_(canon, tmp);
      ws(t, r);
      puts_(t, ":");
      gen(t, canon, r, depth + 1);
      ws(t, r);
    }
    puts_(t, "}");
    puts_(canon, "}");
  }
  }
}

static void canonical(buf *b, const rt_json *v) {
  char tmp[64];
  switch (v->kind) {
  case RT_JSON_NULL: puts_(b, "n;"); break;
  case RT_JSON_BOOL: puts_(b, v->b ? "t;" : "f;"); break;
  case RT_JSON_INT: snprintf(tmp, sizeof tmp, "i:%lld;", (long long)v->i); puts_(b, tmp); break;
  case RT_JSON_FLOAT: snprintf(tmp, sizeof tmp, "f:%.17g;", v->f); puts_(b, tmp); break;
  case RT_JSON_STRING:
    puts_(b, "s:");
    for (size_t i = 0; i < v->slen; i++) {
      snprintf(tmp, sizeof tmp, "%02x", (unsigned char)v->s[i]);
      puts_(b, tmp);
    }
    puts_(b, ";");
    break;
  case RT_JSON_ARRAY:
    puts_(b, "[");
    for (int i = 0; i < v->n; i++) canonical(b, v->items[i]);
    puts_(b, "]");
    break;
  case RT_JSON_OBJECT:
    puts_(b, "{");
    for (int i = 0; i < v->n; i++) {
      puts_(b, v->keys[i]);
      puts_(b, "=");
      canonical(b, v->items[i]);
    }
    puts_(b, "}");
    break;
  }
}

static void test_random(void) {
  unsigned long long r = 12345;
  buf t = {0}, want = {0}, got = {0};
  int parsed_mutants = 0;
  for (int iter = 0; iter < 400; iter++) {
    t.n = want.n = got.n = 0;
    gen(&t, &want, &r, 0);
    ws(&t, &r);
    ssd_arena *a = ssd_arena_new();
    ssd_ctx c;
    rt_json *v;
    int rc = parse(a, t.p, t.n, &v, &c);
    if (rc) {
      fprintf(stderr, "random doc %d failed: %s\n%s\n", iter, c.msg, t.p);
      fails++;
    } else {
      canonical(&got, v);
      if (strcmp(got.p, want.p)) {
        fprintf(stderr, "random doc %d differs:\n%s\nwant %s\ngot  %s\n", iter, t.p, want.p, got.p);
        fails++;
      }
    }
    /* Mutants: flip, delete or insert bytes; the parser must not crash. */
    for (int m = 0; m < 10 && t.n; m++) {
      char *mut = malloc(t.n + 2);
      memcpy(mut, t.p, t.n);
      size_t n = t.n, at = rtio_rand(&r) % n;
      switch (rtio_rand(&r) % 3) {
      case 0: mut[at] = (char)rtio_rand(&r); break;
      case 1: memmove(mut + at, mut + at + 1, n - at - 1), n--; break;
      default: memmove(mut + at + 1, mut + at, n - at), mut[at] = "{}[]\",:\\0e-"[rtio_rand(&r) % 11], n++;
      }
      rc = parse(a, mut, n, &v, &c);
      CHECK(rc == SSD_OK || (rc == SSD_EFORMAT && c.msg[0]));
      parsed_mutants += rc == SSD_OK;
      free(mut);
    }
    ssd_arena_free(a);
  }
  CHECK(parsed_mutants > 0 && parsed_mutants < 4000);
  free(t.p);
  free(want.p);
  free(got.p);
}

int main(void) {
  sink = tmpfile();
  if (!sink) return 2;
  test_cases();
  test_values();
  test_lookup_and_numbers();
  test_depth();
  test_truncation();
  test_random();
  fclose(sink);
  return rtio_done("test_json");
}
