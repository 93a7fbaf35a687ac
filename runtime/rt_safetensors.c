/* rt_safetensors.c: the safetensors reader (mmap + full header validation
 * before any data access), sharded checkpoints through the index file, and
 * the streaming atomic writer.  See rt_safetensors.h for the rules.
 *
 * Validation order matters: every size that comes from the file is checked
 * against the file (and for overflow) before it is used to form a pointer,
 * so that a hostile header yields a message, never an out-of-bounds read.
 */
#define _POSIX_C_SOURCE 200809L
#include "rt_safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader assumes a little-endian host"
#endif

typedef struct st_map {
  void *addr;
  size_t len;
} st_map;

struct rt_safetensors {
  ssd_arena *a;
  st_map *maps; /* files we mapped (none for rt_st_open_mem) */
  int nmaps;
  rt_st_tensor *t; /* sorted by name */
  int n, cap;
  const rt_json *meta; /* __metadata__ of the first file, or NULL */
};

static const struct {
  const char *name;
  size_t size;
} dtypes[RT_ST_NDTYPES] = {
    [RT_ST_F32] = {"F32", 4},   [RT_ST_F16] = {"F16", 2},   [RT_ST_BF16] = {"BF16", 2},
    [RT_ST_I32] = {"I32", 4},   [RT_ST_I64] = {"I64", 8},   [RT_ST_F64] = {"F64", 8},
    [RT_ST_I8] = {"I8", 1},     [RT_ST_U8] = {"U8", 1},     [RT_ST_I16] = {"I16", 2},
    [RT_ST_U16] = {"U16", 2},   [RT_ST_U32] = {"U32", 4},   [RT_ST_U64] = {"U64", 8},
    [RT_ST_BOOL] = {"BOOL", 1}, [RT_ST_F8_E4M3] = {"F8_E4M3", 1}, [RT_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *rt_st_dtype_name(rt_st_dtype t) {
  return (unsigned)t < RT_ST_NDTYPES ? dtypes[t].name : "?";
}
size_t rt_st_dtype_size(rt_st_dtype t) { return (unsigned)t < RT_ST_NDTYPES ? dtypes[t].size : 0; }

int rt_st_dtype_ir(rt_st_dtype t, ir_dtype *out) {
  static const ir_dtype map[] = {IR_F32, IR_F16, IR_BF16, IR_I32, IR_I64};
  if ((unsigned)t > RT_ST_I64) return 1;
  *out = map[t];
  return 0;
}

static int ir_to_st(ir_dtype t, rt_st_dtype *out) {
  for (int i = 0; i <= RT_ST_I64; i++) {
    ir_dtype d;
    if (!rt_st_dtype_ir((rt_st_dtype)i, &d) && d == t) {
      *out = (rt_st_dtype)i;
      return 0;
    }
  }
  return 1;
}

/* ---- header validation ---------------------------------------------------- */
typedef struct img {
  const char *name; /* file name for messages */
  const unsigned char *data; /* data region */
  uint64_t data_len;
} img;

static int parse_dtype(const img *f, const char *tname, const rt_json *v, rt_st_dtype *out,
                       ssd_ctx *c) {
  if (!v || v->kind != RT_JSON_STRING)
    return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': \"dtype\" missing or not a string", f->name,
                   tname);
  for (int i = 0; i < RT_ST_NDTYPES; i++)
    if (!strcmp(v->s, dtypes[i].name)) {
      *out = (rt_st_dtype)i;
      return SSD_OK;
    }
  return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': unknown dtype '%.40s'", f->name, tname, v->s);
}

static int parse_shape(const img *f, rt_st_tensor *t, const rt_json *v, ssd_ctx *c) {
  if (!v || v->kind != RT_JSON_ARRAY)
    return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': \"shape\" missing or not an array", f->name,
                   t->name);
  if (v->n > RT_ST_MAX_RANK)
    return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': rank %d exceeds the limit of %d", f->name,
                   t->name, v->n, RT_ST_MAX_RANK);
  uint64_t numel = 1;
  for (int i = 0; i < v->n; i++) {
    const rt_json *d = v->items[i];
    if (d->kind != RT_JSON_INT || d->i < 0)
      return ssd_err(c, SSD_EFORMAT,
                     "%s: tensor '%s': shape[%d] is not a non-negative integer that fits in 64 bits",
                     f->name, t->name, i);
    if (!ssd_mul_ok(numel, (uint64_t)d->i, &numel))
      return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': element count overflows (shape[%d] = %lld)",
                     f->name, t->name, i, (long long)d->i);
    t->shape[i] = d->i;
  }
  t->rank = v->n;
  t->numel = numel;
  if (!ssd_mul_ok(numel, rt_st_dtype_size(t->dtype), &t->nbytes))
    return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': byte size overflows", f->name, t->name);
  return SSD_OK;
}

static int parse_offsets(const img *f, rt_st_tensor *t, const rt_json *v, uint64_t *begin,
                         ssd_ctx *c) {
  if (!v || v->kind != RT_JSON_ARRAY || v->n != 2)
    return ssd_err(c, SSD_EFORMAT,
                   "%s: tensor '%s': \"data_offsets\" missing or not a [begin, end] pair", f->name,
                   t->name);
  const rt_json *b = v->items[0], *e = v->items[1];
  if (b->kind != RT_JSON_INT || e->kind != RT_JSON_INT || b->i < 0 || e->i < 0)
    return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': data_offsets must be non-negative integers",
                   f->name, t->name);
  if (b->i > e->i)
    return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': data_offsets begin %lld > end %lld", f->name,
                   t->name, (long long)b->i, (long long)e->i);
  if ((uint64_t)e->i > f->data_len)
    return ssd_err(c, SSD_EFORMAT,
                   "%s: tensor '%s': data_offsets end %lld is past the data region (%llu bytes)",
                   f->name, t->name, (long long)e->i, (unsigned long long)f->data_len);
  if ((uint64_t)(e->i - b->i) != t->nbytes)
    return ssd_err(c, SSD_EFORMAT,
                   "%s: tensor '%s': data_offsets span %lld bytes but %s shape needs %llu", f->name,
                   t->name, (long long)(e->i - b->i), rt_st_dtype_name(t->dtype),
                   (unsigned long long)t->nbytes);
  *begin = (uint64_t)b->i;
  t->data = f->data + b->i;
  return SSD_OK;
}

static int parse_metadata(const img *f, const rt_json *v, ssd_ctx *c) {
  if (v->kind != RT_JSON_OBJECT)
    return ssd_err(c, SSD_EFORMAT, "%s: \"__metadata__\" must be an object of strings", f->name);
  for (int i = 0; i < v->n; i++)
    if (v->items[i]->kind != RT_JSON_STRING)
      return ssd_err(c, SSD_EFORMAT, "%s: \"__metadata__\" entry '%s' is not a string", f->name,
                     v->keys[i]);
  return SSD_OK;
}

static int push_tensor(rt_safetensors *st, const rt_st_tensor *t, ssd_ctx *c) {
  if (st->n == st->cap) {
    int cap = st->cap ? st->cap * 2 : 64;
    rt_st_tensor *nt = realloc(st->t, (size_t)cap * sizeof *nt);
    if (!nt) return ssd_err(c, SSD_ENOMEM, "out of memory reading tensor table");
    st->t = nt;
    st->cap = cap;
  }
  st->t[st->n++] = *t;
  return SSD_OK;
}

typedef struct span {
  uint64_t begin, end;
  const char *name;
} span;

static int span_cmp(const void *x, const void *y) {
  const span *a = x, *b = y;
  if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
  return (a->end > b->end) - (a->end < b->end);
}

/* The reference layout rule: sorted by begin, tensors tile the data region
 * exactly (no overlap, no gap, nothing after the last one). */
static int check_tiling(const img *f, span *s, int n, ssd_ctx *c) {
  qsort(s, (size_t)n, sizeof *s, span_cmp);
  uint64_t at = 0;
  for (int i = 0; i < n; i++) {
    if (s[i].begin < at)
      return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s' [%llu, %llu) overlaps tensor '%s'", f->name,
                     s[i].name, (unsigned long long)s[i].begin, (unsigned long long)s[i].end,
                     s[i - 1].name);
    if (s[i].begin > at)
      return ssd_err(c, SSD_EFORMAT, "%s: gap of %llu bytes before tensor '%s' (offset %llu)",
                     f->name, (unsigned long long)(s[i].begin - at), s[i].name,
                     (unsigned long long)s[i].begin);
    at = s[i].end;
  }
  if (at != f->data_len)
    return ssd_err(c, SSD_EFORMAT,
                   "%s: data region is %llu bytes but the tensors cover %llu (trailing bytes)",
                   f->name, (unsigned long long)f->data_len, (unsigned long long)at);
  return SSD_OK;
}

static int parse_entry(rt_safetensors *st, const img *f, const char *name, size_t namelen,
                       const rt_json *v, span *sp, ssd_ctx *c) {
  if (strlen(name) != namelen)
    return ssd_err(c, SSD_EFORMAT, "%s: a tensor name contains a NUL character", f->name);
  if (v->kind != RT_JSON_OBJECT)
    return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s': entry is %s, not an object", f->name, name,
                   rt_json_kind_name(v->kind));
  rt_st_tensor t = {.name = name, .file = f->name};
  int rc = parse_dtype(f, name, rt_json_get(v, "dtype"), &t.dtype, c);
  if (!rc) rc = parse_shape(f, &t, rt_json_get(v, "shape"), c);
  if (!rc) rc = parse_offsets(f, &t, rt_json_get(v, "data_offsets"), &sp->begin, c);
  if (rc) return rc;
  sp->end = sp->begin + t.nbytes;
  sp->name = name;
  return push_tensor(st, &t, c);
}

/* Validate one file image and append its tensors to st. */
static int add_image(rt_safetensors *st, const char *name, const unsigned char *buf, size_t n,
                     ssd_ctx *c) {
  if (n < 8)
    return ssd_err(c, SSD_EFORMAT, "%s: %zu bytes is too short for a safetensors file", name, n);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
  if (hlen > RT_ST_MAX_HEADER)
    return ssd_err(c, SSD_EFORMAT, "%s: header length %llu exceeds the limit of %llu bytes", name,
                   (unsigned long long)hlen, (unsigned long long)RT_ST_MAX_HEADER);
  if (hlen > n - 8)
    return ssd_err(c, SSD_EFORMAT,
                   "%s: header length %llu runs past the end of the file (%zu bytes)", name,
                   (unsigned long long)hlen, n);
  img f = {ssd_arena_strdup(st->a, name), buf + 8 + hlen, n - 8 - hlen};
  char what[600];
  snprintf(what, sizeof what, "%s: header", name);
  rt_json *h;
  int rc = rt_json_parse(st->a, what, (const char *)buf + 8, (size_t)hlen, &h, c);
  if (rc) return rc;
  if (h->kind != RT_JSON_OBJECT)
    return ssd_err(c, SSD_EFORMAT, "%s: header is %s, not an object", name,
                   rt_json_kind_name(h->kind));
  span *sp = malloc(((size_t)h->n + 1) * sizeof *sp);
  if (!sp) return ssd_err(c, SSD_ENOMEM, "out of memory reading '%s'", name);
  int ns = 0;
  for (int i = 0; i < h->n && !rc; i++) {
    if (!strcmp(h->keys[i], "__metadata__")) {
      rc = parse_metadata(&f, h->items[i], c);
      if (!st->meta) st->meta = h->items[i];
      continue;
    }
    rc = parse_entry(st, &f, h->keys[i], h->keylens[i], h->items[i], &sp[ns++], c);
  }
  if (!rc) rc = check_tiling(&f, sp, ns, c);
  free(sp);
  return rc;
}

static int name_cmp(const void *x, const void *y) {
  return strcmp(((const rt_st_tensor *)x)->name, ((const rt_st_tensor *)y)->name);
}

/* Sort the merged table and reject names that appear in two shards. */
static int finish_table(rt_safetensors *st, ssd_ctx *c) {
  if (st->n) qsort(st->t, (size_t)st->n, sizeof *st->t, name_cmp);
  for (int i = 1; i < st->n; i++)
    if (!strcmp(st->t[i - 1].name, st->t[i].name))
      return ssd_err(c, SSD_EFORMAT, "tensor '%s' appears in both '%s' and '%s'", st->t[i].name,
                     st->t[i - 1].file, st->t[i].file);
  return SSD_OK;
}

static rt_safetensors *st_new(ssd_ctx *c) {
  rt_safetensors *st = calloc(1, sizeof *st);
  if (st && !(st->a = ssd_arena_new())) {
    free(st);
    st = NULL;
  }
  if (!st) ssd_err(c, SSD_ENOMEM, "out of memory opening a checkpoint");
  return st;
}

void rt_st_close(rt_safetensors *st) {
  if (!st) return;
  for (int i = 0; i < st->nmaps; i++) munmap(st->maps[i].addr, st->maps[i].len);
  free(st->maps);
  free(st->t);
  ssd_arena_free(st->a);
  free(st);
}

/* Map path read-only and validate it into st. */
static int add_file(rt_safetensors *st, const char *path, ssd_ctx *c) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return ssd_err(c, SSD_EIO, "cannot open '%s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return ssd_err(c, SSD_EIO, "'%s' is not a regular file", path);
  }
  size_t n = (size_t)sb.st_size;
  if (n < 8) {
    close(fd);
    return ssd_err(c, SSD_EFORMAT, "%s: %zu bytes is too short for a safetensors file", path, n);
  }
  st_map *m = realloc(st->maps, (size_t)(st->nmaps + 1) * sizeof *m);
  if (!m) {
    close(fd);
    return ssd_err(c, SSD_ENOMEM, "out of memory opening '%s'", path);
  }
  st->maps = m;
  void *addr = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  close(fd);
  if (addr == MAP_FAILED) return ssd_err(c, SSD_EIO, "cannot map '%s': %s", path, strerror(err));
  st->maps[st->nmaps++] = (st_map){addr, n};
  return add_image(st, path, addr, n, c);
}

int rt_st_open(const char *path, rt_safetensors **out, ssd_ctx *c) {
  *out = NULL;
  rt_safetensors *st = st_new(c);
  if (!st) return SSD_ENOMEM;
  int rc = add_file(st, path, c);
  if (!rc) rc = finish_table(st, c);
  if (rc) rt_st_close(st);
  else *out = st;
  return rc;
}

int rt_st_open_mem(const void *buf, size_t n, const char *name, rt_safetensors **out,
                   ssd_ctx *c) {
  *out = NULL;
  rt_safetensors *st = st_new(c);
  if (!st) return SSD_ENOMEM;
  int rc = add_image(st, name, buf, n, c);
  if (!rc) rc = finish_table(st, c);
  if (rc) rt_st_close(st);
  else *out = st;
  return rc;
}

/* ---- sharded checkpoints ----------------------------------------------------- */
static bool is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Open every distinct shard named by the weight map, then check that the map
 * and the shards agree tensor by tensor. */
static int open_index(rt_safetensors *st, const char *dir, const char *index, ssd_ctx *c) {
  ssd_src *src;
  int rc = ssd_read_file(st->a, index, RT_ST_MAX_HEADER, &src, c);
  rt_json *root;
  if (!rc) rc = rt_json_parse(st->a, index, src->text, src->len, &root, c);
  if (rc) return rc;
  const rt_json *wm = rt_json_get(root, "weight_map");
  if (!wm || wm->kind != RT_JSON_OBJECT)
    return ssd_err(c, SSD_EFORMAT, "%s: \"weight_map\" missing or not an object", index);
  for (int i = 0; i < wm->n; i++) {
    const rt_json *f = wm->items[i];
    if (f->kind != RT_JSON_STRING || !f->slen || strchr(f->s, '/') || !strcmp(f->s, "..") ||
        strlen(f->s) != f->slen)
      return ssd_err(c, SSD_EFORMAT, "%s: weight_map['%s'] is not a plain file name", index,
                     wm->keys[i]);
    bool seen = false;
    for (int j = 0; j < i && !seen; j++) seen = !strcmp(wm->items[j]->s, f->s);
    if (seen) continue;
    char *path = ssd_arena_printf(st->a, "%s/%s", dir, f->s);
    if (!path) return ssd_err(c, SSD_ENOMEM, "out of memory");
    if ((rc = add_file(st, path, c))) return rc;
  }
  if ((rc = finish_table(st, c))) return rc;
  for (int i = 0; i < st->n; i++) {
    const rt_json *f = rt_json_get(wm, st->t[i].name);
    const char *base = strrchr(st->t[i].file, '/');
    base = base ? base + 1 : st->t[i].file;
    if (!f || strcmp(f->s, base))
      return ssd_err(c, SSD_EFORMAT, "%s: tensor '%s' is in shard '%s' but the weight_map says %s%s%s",
                     index, st->t[i].name, base, f ? "'" : "", f ? f->s : "nothing", f ? "'" : "");
  }
  for (int i = 0; i < wm->n; i++)
    if (!rt_st_find(st, wm->keys[i]))
      return ssd_err(c, SSD_EFORMAT, "%s: weight_map lists '%s' but shard '%s' does not hold it",
                     index, wm->keys[i], wm->items[i]->s);
  return SSD_OK;
}

int rt_st_open_model(const char *path, rt_safetensors **out, ssd_ctx *c) {
  if (!is_dir(path)) return rt_st_open(path, out, c);
  *out = NULL;
  rt_safetensors *st = st_new(c);
  if (!st) return SSD_ENOMEM;
  char *index = ssd_arena_printf(st->a, "%s/model.safetensors.index.json", path);
  char *single = ssd_arena_printf(st->a, "%s/model.safetensors", path);
  int rc;
  if (!index || !single) {
    rc = ssd_err(c, SSD_ENOMEM, "out of memory");
  } else if (exists(index)) {
    rc = open_index(st, path, index, c);
  } else if (exists(single)) {
    rc = add_file(st, single, c);
    if (!rc) rc = finish_table(st, c);
  } else {
    rc = ssd_err(c, SSD_EIO, "'%s' holds neither model.safetensors nor model.safetensors.index.json",
                 path);
  }
  if (rc) {
    rt_st_close(st);
    return rc;
  }
  *out = st;
  return SSD_OK;
}

/* ---- lookup and data ------------------------------------------------------------ */
int rt_st_count(const rt_safetensors *st) { return st->n; }

const rt_st_tensor *rt_st_at(const rt_safetensors *st, int i) {
  return i >= 0 && i < st->n ? &st->t[i] : NULL;
}

const rt_st_tensor *rt_st_find(const rt_safetensors *st, const char *name) {
  int lo = 0, hi = st->n - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2, r = strcmp(st->t[mid].name, name);
    if (!r) return &st->t[mid];
    if (r < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

const char *rt_st_metadata(const rt_safetensors *st, const char *key) {
  const rt_json *v = rt_json_get(st->meta, key);
  return v && v->kind == RT_JSON_STRING ? v->s : NULL;
}

static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13); /* inf, nan (payload kept) */
  } else if (exp) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man) { /* subnormal: renormalize */
    int e = -1;
    do {
      e++;
      man <<= 1;
    } while (!(man & 0x400));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
  } else {
    bits = sign;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static int need_n(const rt_st_tensor *t, uint64_t n, ssd_ctx *c) {
  if (n == t->numel) return SSD_OK;
  return ssd_err(c, SSD_EINVAL, "tensor '%s' has %llu elements, caller expected %llu", t->name,
                 (unsigned long long)t->numel, (unsigned long long)n);
}

int rt_st_read_f32(const rt_st_tensor *t, float *dst, uint64_t n, ssd_ctx *c) {
  int rc = need_n(t, n, c);
  if (rc) return rc;
  const unsigned char *s = t->data;
  switch (t->dtype) {
  case RT_ST_F32:
    if (n) memcpy(dst, s, n * 4);
    return SSD_OK;
  case RT_ST_BF16:
  case RT_ST_F16:
    for (uint64_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, s + 2 * i, 2);
      if (t->dtype == RT_ST_F16) {
        dst[i] = f16_to_f32(h);
      } else {
        uint32_t bits = (uint32_t)h << 16;
        memcpy(&dst[i], &bits, 4);
      }
    }
    return SSD_OK;
  default:
    return ssd_err(c, SSD_EUNSUPPORTED, "tensor '%s' has dtype %s; expected F32, F16 or BF16",
                   t->name, rt_st_dtype_name(t->dtype));
  }
}

int rt_st_read_i64(const rt_st_tensor *t, int64_t *dst, uint64_t n, ssd_ctx *c) {
  int rc = need_n(t, n, c);
  if (rc) return rc;
  if (t->dtype == RT_ST_I64) {
    if (n) memcpy(dst, t->data, n * 8);
    return SSD_OK;
  }
  if (t->dtype != RT_ST_I32)
    return ssd_err(c, SSD_EUNSUPPORTED, "tensor '%s' has dtype %s; expected I64 or I32", t->name,
                   rt_st_dtype_name(t->dtype));
  for (uint64_t i = 0; i < n; i++) {
    int32_t v;
    memcpy(&v, (const unsigned char *)t->data + 4 * i, 4);
    dst[i] = v;
  }
  return SSD_OK;
}

/* ---- writer ------------------------------------------------------------------------ */
typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_json_string(sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    char esc[8];
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      sb_put(b, esc, 2);
    } else if (ch < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      sb_put(b, esc, 6);
    } else {
      sb_put(b, (const char *)&ch, 1);
    }
  }
  sb_put(b, "\"", 1);
}

/* The header JSON, padded with spaces to a multiple of 8 as the reference
 * writer does, so that the data region starts aligned. */
static int build_header(sbuf *b, const rt_st_out *t, int n, const char *const *meta, int nmeta,
                        ssd_ctx *c) {
  uint64_t off = 0;
  sb_str(b, "{");
  if (nmeta > 0) {
    sb_str(b, "\"__metadata__\":{");
    for (int k = 0; k < nmeta; k++) {
      if (k) sb_str(b, ",");
      sb_json_string(b, meta[2 * k]);
      sb_str(b, ":");
      sb_json_string(b, meta[2 * k + 1]);
    }
    sb_str(b, "}");
  }
  for (int i = 0; i < n; i++) {
    rt_st_dtype sd;
    if (ir_to_st(t[i].dtype, &sd) || t[i].rank < 0 || t[i].rank > RT_ST_MAX_RANK || !t[i].name)
      return ssd_err(c, SSD_EINVAL, "cannot write tensor '%s': bad dtype or rank",
                     t[i].name ? t[i].name : "(null)");
    for (int j = 0; j <= i; j++)
      if (j < i ? !strcmp(t[j].name, t[i].name) : !strcmp(t[i].name, "__metadata__"))
        return ssd_err(c, SSD_EINVAL, "cannot write tensor '%s' twice", t[i].name);
    uint64_t nbytes = rt_st_dtype_size(sd);
    char num[64];
    if (nmeta > 0 || i) sb_str(b, ",");
    sb_json_string(b, t[i].name);
    snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", rt_st_dtype_name(sd));
    sb_str(b, num);
    for (int d = 0; d < t[i].rank; d++) {
      if (t[i].shape[d] < 0 || !ssd_mul_ok(nbytes, (uint64_t)t[i].shape[d], &nbytes))
        return ssd_err(c, SSD_EINVAL, "cannot write tensor '%s': bad shape", t[i].name);
      snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
      sb_str(b, num);
    }
    uint64_t end;
    if (!ssd_add_ok(off, nbytes, &end))
      return ssd_err(c, SSD_EINVAL, "cannot write tensor '%s': file size overflows", t[i].name);
    snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
             (unsigned long long)end);
    sb_str(b, num);
    off = end;
  }
  sb_str(b, "}");
  while (b->n % 8) sb_str(b, " ");
  if (b->oom) return ssd_err(c, SSD_ENOMEM, "out of memory writing a safetensors header");
  return SSD_OK;
}

static int write_all(int fd, const void *data, size_t n) {
  const unsigned char *p = data;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static size_t out_nbytes(const rt_st_out *t) {
  rt_st_dtype sd = RT_ST_F32;
  ir_to_st(t->dtype, &sd); /* checked in build_header */
  size_t n = rt_st_dtype_size(sd);
  for (int d = 0; d < t->rank; d++) n *= (size_t)t->shape[d]; /* checked in build_header */
  return n;
}

int rt_st_write(const char *path, const rt_st_out *t, int n, const char *const *meta, int nmeta,
                ssd_ctx *c) {
  sbuf h = {0};
  int rc = build_header(&h, t, n, meta, nmeta, c);
  if (rc) {
    free(h.p);
    return rc;
  }
  char *tmp = malloc(strlen(path) + 32);
  if (!tmp) {
    free(h.p);
    return ssd_err(c, SSD_ENOMEM, "out of memory");
  }
  sprintf(tmp, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    rc = ssd_err(c, SSD_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    free(tmp);
    free(h.p);
    return rc;
  }
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
  int bad = write_all(fd, len8, 8) || write_all(fd, h.p, h.n);
  for (int i = 0; i < n && !bad; i++) bad = write_all(fd, t[i].data, out_nbytes(&t[i]));
  bad = bad || fsync(fd) != 0;
  int err = errno;
  bad = close(fd) != 0 || bad;
  if (!bad && rename(tmp, path) != 0) {
    bad = 1;
    err = errno;
  }
  if (bad) {
    unlink(tmp);
    rc = ssd_err(c, SSD_EIO, "cannot write '%s': %s", path, strerror(err));
  }
  free(tmp);
  free(h.p);
  return rc;
}
