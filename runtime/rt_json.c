/* rt_json.c: the strict JSON reader behind config.json and safetensors
 * headers.  A recursive-descent parser over a byte range with an explicit
 * depth limit; nodes live in the caller's arena, and the temporary growth
 * vectors for arrays and objects are malloc'd and freed on every path so
 * that a failed parse leaks nothing.  See rt_json.h for the policy.
 */
#include "rt_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NUMBER_CHARS = 1024 };

typedef struct parser {
  ssd_arena *a;
  ssd_ctx *c;
  const char *what;
  const unsigned char *s;
  size_t len, pos;
  int depth;
  unsigned flags;
} parser;

const char *rt_json_kind_name(rt_json_kind k) {
  static const char *names[] = {"null", "a boolean", "an integer", "a float",
                                "a string", "an array", "an object"};
  return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

void rt_json_linecol(const char *text, size_t len, size_t offset, int *line, int *col) {
  int l = 1, cl = 1;
  for (size_t i = 0; i < offset && i < len; i++) {
    if (text[i] == '\n') {
      l++;
      cl = 1;
    } else {
      cl++;
    }
  }
  *line = l;
  *col = cl;
}

static int fail_at(parser *p, size_t at, const char *msg) {
  int line, col;
  rt_json_linecol((const char *)p->s, p->len, at, &line, &col);
  return ssd_err(p->c, SSD_EFORMAT, "%s:%d:%d (byte %zu): %s", p->what, line, col, at, msg);
}

static int oom(parser *p) { return ssd_err(p->c, SSD_ENOMEM, "out of memory parsing %s", p->what); }

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    unsigned char ch = p->s[p->pos];
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') break;
    p->pos++;
  }
}

static rt_json *node(parser *p, rt_json_kind k, size_t at) {
  rt_json *v = ssd_arena_alloc(p->a, sizeof *v);
  if (v) {
    v->kind = k;
    v->offset = at;
  }
  return v;
}

static int literal(parser *p, const char *word, rt_json_kind k, bool b, rt_json **out) {
  size_t n = strlen(word), at = p->pos;
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
    return fail_at(p, at, "invalid literal (expected a value)");
  p->pos += n;
  if (!(*out = node(p, k, at))) return oom(p);
  (*out)->b = b;
  return SSD_OK;
}

static bool is_digit(parser *p) { return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9'; }

/* Integral literal to int64 exactly, or 0 when it does not fit. */
static int parse_int64(const unsigned char *s, size_t n, int64_t *out) {
  bool neg = s[0] == '-';
  uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (size_t i = neg; i < n; i++) {
    uint64_t d = (uint64_t)(s[i] - '0');
    if (v > (limit - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 1;
}

/* Python's json module writes inf/nan as bare Infinity, -Infinity, NaN; HF
 * config.json files written before transformers switched to {"__float__"}
 * contain them, so config readers opt in to these three words. */
static int nonfinite(parser *p, rt_json **out) {
  static const char *words[] = {"Infinity", "-Infinity", "NaN"};
  static const double vals[] = {INFINITY, -INFINITY, NAN};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, words[i], n)) continue;
    if (!(*out = node(p, RT_JSON_FLOAT, p->pos))) return oom(p);
    (*out)->f = vals[i];
    p->pos += n;
    return SSD_OK;
  }
  return fail_at(p, p->pos, "unexpected character (expected a value)");
}

static int number(parser *p, rt_json **out) {
  size_t at = p->pos;
  bool integral = true;
  unsigned char c0 = p->s[p->pos], c1 = p->pos + 1 < p->len ? p->s[p->pos + 1] : 0;
  if ((c0 == 'I' || c0 == 'N' || (c0 == '-' && c1 == 'I')) && (p->flags & RT_JSON_NONFINITE))
    return nonfinite(p, out);
  if (c0 != '-' && (c0 < '0' || c0 > '9'))
    return fail_at(p, at, "unexpected character (expected a value)");
  if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
  if (!is_digit(p)) return fail_at(p, at, "invalid number");
  if (p->s[p->pos] == '0') {
    p->pos++;
    if (is_digit(p)) return fail_at(p, at, "invalid number (leading zero)");
  } else {
    while (is_digit(p)) p->pos++;
  }
  if (p->pos < p->len && p->s[p->pos] == '.') {
    integral = false;
    p->pos++;
    if (!is_digit(p)) return fail_at(p, p->pos, "invalid number (digit expected after '.')");
    while (is_digit(p)) p->pos++;
  }
  if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
    integral = false;
    p->pos++;
    if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
    if (!is_digit(p)) return fail_at(p, p->pos, "invalid number (digit expected in exponent)");
    while (is_digit(p)) p->pos++;
  }
  size_t n = p->pos - at;
  if (n > MAX_NUMBER_CHARS) return fail_at(p, at, "number literal too long");
  rt_json *v = node(p, RT_JSON_FLOAT, at);
  if (!v) return oom(p);
  if (integral && parse_int64(p->s + at, n, &v->i)) {
    v->kind = RT_JSON_INT;
    v->f = (double)v->i;
  } else {
    char buf[MAX_NUMBER_CHARS + 1];
    memcpy(buf, p->s + at, n);
    buf[n] = 0;
    /* The grammar was checked above; strtod only converts (C locale: ssdc
     * never calls setlocale, so '.' is the decimal point). */
    v->f = strtod(buf, NULL);
    if (isinf(v->f) || isnan(v->f)) return fail_at(p, at, "number out of range for a double");
  }
  *out = v;
  return SSD_OK;
}

static int hex4(parser *p, unsigned *out) {
  if (p->len - p->pos < 4) return fail_at(p, p->pos, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char ch = p->s[p->pos + (size_t)i];
    unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                 : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                 : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                          : 16u;
    if (d == 16) return fail_at(p, p->pos + (size_t)i, "invalid hex digit in \\u escape");
    v = v * 16 + d;
  }
  p->pos += 4;
  *out = v;
  return SSD_OK;
}

static size_t put_utf8(char *d, unsigned cp) {
  if (cp < 0x80) {
    d[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    d[0] = (char)(0xC0 | (cp >> 6));
    d[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    d[0] = (char)(0xE0 | (cp >> 12));
    d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  d[0] = (char)(0xF0 | (cp >> 18));
  d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  d[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* One \uXXXX escape (p->pos just past the 'u'), pairing surrogates. */
static int unicode_escape(parser *p, unsigned *cp) {
  size_t at = p->pos - 2;
  int rc = hex4(p, cp);
  if (rc) return rc;
  if (*cp >= 0xDC00 && *cp <= 0xDFFF) return fail_at(p, at, "lone low surrogate in \\u escape");
  if (*cp < 0xD800 || *cp > 0xDBFF) return SSD_OK;
  unsigned lo;
  if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
    return fail_at(p, at, "high surrogate not followed by a low surrogate");
  p->pos += 2;
  if ((rc = hex4(p, &lo))) return rc;
  if (lo < 0xDC00 || lo > 0xDFFF) return fail_at(p, at, "high surrogate not followed by a low surrogate");
  *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
  return SSD_OK;
}

/* Length of the valid UTF-8 sequence at p->pos, or 0 (RFC 3629: no overlong
 * forms, no encoded surrogates, nothing above U+10FFFF). */
static size_t utf8_len(parser *p) {
  const unsigned char *s = p->s + p->pos;
  size_t left = p->len - p->pos;
  unsigned char b0 = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (left < n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return n;
}

/* A string token at p->pos (the opening quote).  Decoded output is never
 * longer than the raw token, so one allocation of the raw length suffices. */
static int string_token(parser *p, const char **out, size_t *outlen) {
  size_t at = p->pos++;
  size_t end = p->pos;
  while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
  if (end >= p->len) return fail_at(p, at, "unterminated string");
  char *d = ssd_arena_alloc(p->a, end - p->pos + 1);
  if (!d) return oom(p);
  size_t n = 0;
  while (p->s[p->pos] != '"') {
    unsigned char ch = p->s[p->pos];
    if (ch < 0x20) return fail_at(p, p->pos, "control character in string (must be escaped)");
    if (ch != '\\') {
      size_t k = utf8_len(p);
      if (!k) return fail_at(p, p->pos, "invalid UTF-8 in string");
      memcpy(d + n, p->s + p->pos, k);
      n += k;
      p->pos += k;
      continue;
    }
    unsigned char e = p->s[p->pos + 1];
    p->pos += 2;
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) {
      static const char map[] = "\"\\/\b\f\n\r\t";
      d[n++] = map[simple - "\"\\/bfnrt"];
    } else if (e == 'u') {
      unsigned cp;
      int rc = unicode_escape(p, &cp);
      if (rc) return rc;
      n += put_utf8(d + n, cp);
    } else {
      return fail_at(p, p->pos - 2, "invalid escape in string");
    }
  }
  p->pos++;
  d[n] = 0;
  *out = d;
  *outlen = n;
  return SSD_OK;
}

/* A growable array of children, malloc'd while a container is parsed. */
typedef struct vec {
  rt_json **items;
  const char **keys;
  size_t *keylens;
  int n, cap;
} vec;

static void vec_free(vec *v) {
  free(v->items);
  free(v->keys);
  free(v->keylens);
}

static int vec_push(parser *p, vec *v, rt_json *item, const char *key, size_t keylen) {
  if (v->n == v->cap) {
    if (v->cap >= (1 << 28)) return fail_at(p, item->offset, "too many elements in one container");
    int cap = v->cap ? v->cap * 2 : 8;
    rt_json **it = realloc(v->items, (size_t)cap * sizeof *it);
    if (it) v->items = it;
    const char **ks = realloc(v->keys, (size_t)cap * sizeof *ks);
    if (ks) v->keys = ks;
    size_t *kl = realloc(v->keylens, (size_t)cap * sizeof *kl);
    if (kl) v->keylens = kl;
    if (!it || !ks || !kl) return oom(p);
    v->cap = cap;
  }
  v->items[v->n] = item;
  v->keys[v->n] = key;
  v->keylens[v->n] = keylen;
  v->n++;
  return SSD_OK;
}

typedef struct keyref {
  const char *k;
  size_t len;
  int idx;
} keyref;

static int keycmp(const char *a, size_t an, const char *b, size_t bn) {
  int r = memcmp(a, b, an < bn ? an : bn);
  return r ? r : (an > bn) - (an < bn);
}

static int keyref_cmp(const void *x, const void *y) {
  const keyref *a = x, *b = y;
  int r = keycmp(a->k, a->len, b->k, b->len);
  return r ? r : (a->idx > b->idx) - (a->idx < b->idx);
}

/* Move the vector into the arena; objects also get their sorted key index
 * and the duplicate-key check. */
static int finish(parser *p, vec *v, rt_json *obj) {
  size_t n = (size_t)v->n;
  obj->n = v->n;
  obj->items = ssd_arena_alloc(p->a, n * sizeof *obj->items + 1);
  if (!obj->items) return oom(p);
  if (n) memcpy(obj->items, v->items, n * sizeof *obj->items);
  if (obj->kind != RT_JSON_OBJECT) return SSD_OK;
  obj->keys = ssd_arena_alloc(p->a, n * sizeof *obj->keys + 1);
  obj->keylens = ssd_arena_alloc(p->a, n * sizeof *obj->keylens + 1);
  obj->sorted = ssd_arena_alloc(p->a, n * sizeof *obj->sorted + 1);
  keyref *r = malloc(n * sizeof *r + 1);
  if (!obj->keys || !obj->keylens || !obj->sorted || !r) {
    free(r);
    return oom(p);
  }
  for (size_t i = 0; i < n; i++) r[i] = (keyref){v->keys[i], v->keylens[i], (int)i};
  if (n) {
    memcpy(obj->keys, v->keys, n * sizeof *obj->keys);
    memcpy(obj->keylens, v->keylens, n * sizeof *obj->keylens);
    qsort(r, n, sizeof *r, keyref_cmp);
  }
  int rc = SSD_OK;
  for (size_t i = 0; i < n; i++) {
    obj->sorted[i] = r[i].idx;
    if (i && !rc && !keycmp(r[i - 1].k, r[i - 1].len, r[i].k, r[i].len)) {
      char msg[160];
      snprintf(msg, sizeof msg, "duplicate key \"%.100s\" in object", r[i].k);
      rc = fail_at(p, obj->items[r[i].idx]->offset, msg);
    }
  }
  free(r);
  return rc;
}

static int value(parser *p, rt_json **out);

/* Array or object: p->pos at '[' or '{'. */
static int container(parser *p, rt_json **out) {
  size_t at = p->pos;
  bool is_obj = p->s[p->pos] == '{';
  char close = is_obj ? '}' : ']';
  if (++p->depth > RT_JSON_MAX_DEPTH) return fail_at(p, at, "nesting too deep");
  p->pos++;
  rt_json *v = node(p, is_obj ? RT_JSON_OBJECT : RT_JSON_ARRAY, at);
  if (!v) return oom(p);
  vec items = {0};
  int rc = SSD_OK;
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
  } else {
    for (;;) {
      const char *key = NULL;
      size_t keylen = 0;
      skip_ws(p);
      if (is_obj) {
        if (p->pos >= p->len || p->s[p->pos] != '"') {
          rc = fail_at(p, p->pos, "expected a string key");
          break;
        }
        if ((rc = string_token(p, &key, &keylen))) break;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
          rc = fail_at(p, p->pos, "expected ':' after key");
          break;
        }
        p->pos++;
      }
      rt_json *item;
      if ((rc = value(p, &item)) || (rc = vec_push(p, &items, item, key, keylen))) break;
      skip_ws(p);
      if (p->pos < p->len && p->s[p->pos] == ',') {
        p->pos++;
        continue;
      }
      if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        break;
      }
      rc = fail_at(p, p->pos, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
      break;
    }
  }
  if (!rc) rc = finish(p, &items, v);
  vec_free(&items);
  p->depth--;
  *out = v;
  return rc;
}

static int value(parser *p, rt_json **out) {
  skip_ws(p);
  if (p->pos >= p->len) return fail_at(p, p->pos, "unexpected end of input (expected a value)");
  switch (p->s[p->pos]) {
  case '{':
  case '[': return container(p, out);
  case '"': {
    rt_json *v = node(p, RT_JSON_STRING, p->pos);
    if (!v) return oom(p);
    *out = v;
    return string_token(p, &v->s, &v->slen);
  }
  case 't': return literal(p, "true", RT_JSON_BOOL, true, out);
  case 'f': return literal(p, "false", RT_JSON_BOOL, false, out);
  case 'n': return literal(p, "null", RT_JSON_NULL, false, out);
  default: return number(p, out);
  }
}

int rt_json_parse(ssd_arena *a, const char *what, const char *text, size_t len, rt_json **out,
                  ssd_ctx *c) {
  return rt_json_parse_flags(a, what, text, len, 0, out, c);
}

int rt_json_parse_flags(ssd_arena *a, const char *what, const char *text, size_t len,
                        unsigned flags, rt_json **out, ssd_ctx *c) {
  parser p = {a, c, what ? what : "JSON", (const unsigned char *)text, len, 0, 0, flags};
  *out = NULL;
  rt_json *v;
  int rc = value(&p, &v);
  if (rc) return rc;
  skip_ws(&p);
  if (p.pos != p.len) return fail_at(&p, p.pos, "trailing characters after the JSON value");
  *out = v;
  return SSD_OK;
}

const rt_json *rt_json_get(const rt_json *obj, const char *key) {
  if (!obj || obj->kind != RT_JSON_OBJECT) return NULL;
  size_t klen = strlen(key);
  int lo = 0, hi = obj->n - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2, idx = obj->sorted[mid];
    int r = keycmp(obj->keys[idx], obj->keylens[idx], key, klen);
    if (!r) return obj->items[idx];
    if (r < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

/* One [index] step at *s (just past '['); advances *s past ']'. */
static int path_index(const char **s, long *idx) {
  const char *q = *s;
  long v = 0;
  if (*q < '0' || *q > '9') return 0;
  while (*q >= '0' && *q <= '9') {
    if (v > 100000000) return 0;
    v = v * 10 + (*q++ - '0');
  }
  if (*q != ']') return 0;
  *s = q + 1;
  *idx = v;
  return 1;
}

int rt_json_lookup(const rt_json *root, const char *path, const rt_json **out, ssd_ctx *c) {
  const char *s = path;
  const rt_json *v = root;
  *out = NULL;
  for (;;) {
    size_t n = strcspn(s, ".[");
    if (n == 0 || n > 255 || memchr(s, ']', n)) return ssd_err(c, SSD_EINVAL, "malformed config key path '%s'", path);
    char key[256];
    memcpy(key, s, n);
    key[n] = 0;
    s += n;
    v = rt_json_get(v, key);
    while (*s == '[') {
      long idx;
      s++;
      if (!path_index(&s, &idx)) return ssd_err(c, SSD_EINVAL, "malformed index in config key path '%s'", path);
      v = v && v->kind == RT_JSON_ARRAY && idx < v->n ? v->items[idx] : NULL;
    }
    if (!*s) break;
    if (*s != '.') return ssd_err(c, SSD_EINVAL, "malformed config key path '%s'", path);
    s++;
  }
  *out = v;
  return SSD_OK;
}

int rt_json_number(const rt_json *v, double *out) {
  if (!v) return 1;
  if (v->kind == RT_JSON_INT || v->kind == RT_JSON_FLOAT) {
    *out = v->f;
    return 0;
  }
  if (v->kind != RT_JSON_OBJECT || v->n != 1) return 1;
  const rt_json *s = rt_json_get(v, "__float__");
  if (!s || s->kind != RT_JSON_STRING) return 1;
  if (!strcmp(s->s, "Infinity")) *out = INFINITY;
  else if (!strcmp(s->s, "-Infinity")) *out = -INFINITY;
  else if (!strcmp(s->s, "NaN")) *out = NAN;
  else return 1;
  return 0;
}

void rt_json_write_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    const unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}
