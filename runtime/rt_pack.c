/* rt_pack.c: making kernel packs (a dry walk of the GPU executor) and
 * checking them before use (see rt_pack.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "rt_pack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_gpu_model.h"
#include "rt_json.h"

#define PACK_FORMAT "ssdc-kernel-pack/1"
#define MANIFEST_MAX (16u << 20)
/* Positions of the stateless forward of the dry walk, at most (rt_pack.h). */
#define FORWARD_ROWS 256
/* Rows up to which a linear runs the decode GEMV (rt_gpu_model.c GEMV_MAX_M). */
#define SHORT_ROWS 8

#define TRY(x)           \
  do {                   \
    int rc_ = (x);       \
    if (rc_) return rc_; \
  } while (0)

/* ---- the dry walk ----------------------------------------------------------------- */
static int logits_free(int rc, float *lg) {
  free(lg);
  return rc;
}

static int prefill(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, ssd_ctx *c) {
  float *lg = NULL;
  int64_t V;
  return logits_free(rt_gpu_decode(g, ids, B, L, true, &lg, &V, c), lg);
}

/* Decode steps as greedy generation runs them (the argmax kernel at the end
 * of the step): uncaptured, captured, then a run of replays. */
static int greedy_steps(rt_gpu_model *g, const int64_t *ids, int64_t B, ssd_ctx *c) {
  int64_t *next = malloc((size_t)(4 * B) * sizeof *next);
  if (!next) return ssd_err(c, SSD_ENOMEM, "out of memory");
  const int rc = rt_gpu_decode_greedy_n(g, ids, B, 4, next, c);
  free(next);
  return rc;
}

/* Everything a run at batch B and length L asks of the executor. */
static int walk_length(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, ssd_ctx *c) {
  const int64_t most = FORWARD_ROWS / B > 1 ? FORWARD_ROWS / B : 1;
  float *lg = NULL;
  int64_t V;
  TRY(logits_free(rt_gpu_forward(g, ids, B, L < most ? L : most, &lg, &V, c), lg));
  TRY(rt_gpu_reset(g, B, c));
  TRY(prefill(g, ids, B, L, c));
  for (int k = 0; k < 3; k++) /* uncaptured, captured, replayed */
    TRY(prefill(g, ids, B, 1, c));
  TRY(greedy_steps(g, ids, B, c));
  return prefill(g, ids, B, L, c); /* a prefill that continues the state */
}

/* The largest batch and length of p, or an error when they are out of range. */
static int plan_extent(const rt_pack_plan *p, int64_t *maxB, int64_t *maxL, ssd_ctx *c) {
  *maxB = 1, *maxL = SHORT_ROWS;
  for (int i = 0; i < p->nbatch; i++) *maxB = p->batch[i] > *maxB ? p->batch[i] : *maxB;
  for (int i = 0; i < p->nseqlen; i++) *maxL = p->seqlen[i] > *maxL ? p->seqlen[i] : *maxL;
  if (p->nbatch < 1 || p->nseqlen < 1) return ssd_err(c, SSD_EINVAL, "no batch or length to prepare");
  for (int i = 0; i < p->nbatch; i++)
    if (p->batch[i] < 1) return ssd_err(c, SSD_EINVAL, "bad batch size %lld", (long long)p->batch[i]);
  for (int i = 0; i < p->nseqlen; i++)
    if (p->seqlen[i] < 1) return ssd_err(c, SSD_EINVAL, "bad length %lld", (long long)p->seqlen[i]);
  if (*maxB > 4096 || *maxL > ((int64_t)1 << 24) || *maxB * *maxL > ((int64_t)1 << 26))
    return ssd_err(c, SSD_EINVAL, "batch %lld x length %lld is too large to prepare",
                   (long long)*maxB, (long long)*maxL);
  return SSD_OK;
}

int rt_pack_walk(rt_gpu_model *g, const rt_pack_plan *p, ssd_ctx *c) {
  int64_t maxB, maxL;
  TRY(plan_extent(p, &maxB, &maxL, c));
  int64_t *ids = calloc((size_t)(maxB * maxL), sizeof *ids); /* token 0: in every vocabulary */
  if (!ids) return ssd_err(c, SSD_ENOMEM, "out of memory");
  int rc = SSD_OK;
  for (int b = 0; b < p->nbatch && !rc; b++) {
    const int64_t B = p->batch[b];
    for (int64_t L = 1; B * L <= SHORT_ROWS && !rc; L++)
      if (!(rc = rt_gpu_reset(g, B, c))) rc = prefill(g, ids, B, L, c);
    for (int i = 0; i < p->nseqlen && !rc; i++) rc = walk_length(g, ids, B, p->seqlen[i], c);
  }
  free(ids);
  return rc;
}

static int walk_mode(const rt_model *m, const rt_pack_plan *p, rt_gpu_mode mode, cg_pack_out *po,
                     ssd_ctx *c) {
  rt_weight_fn fn;
  void *ctx;
  rt_model_weights(m, &fn, &ctx);
  const rt_gpu_opts o = {.mode = mode, .kernels = "", .dry_arch = p->arch, .pack_out = po};
  rt_gpu_model *g;
  TRY(rt_gpu_model_new(rt_model_module(m), fn, ctx, &o, &g, c));
  const int rc = rt_pack_walk(g, p, c);
  rt_gpu_model_free(g);
  return rc;
}

/* ---- the manifest ------------------------------------------------------------------- */
static void write_list(FILE *f, const char *key, const int64_t *v, int n) {
  fprintf(f, "\"%s\": [", key);
  for (int i = 0; i < n; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)v[i]);
  fputc(']', f);
}

static int write_manifest(const rt_pack_plan *p, const cg_pack_out *po, const char *nvrtc,
                          ssd_ctx *c) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return ssd_err(c, SSD_ENOMEM, "out of memory");
  fprintf(f, "{\n  \"format\": \"%s\",\n  \"ssdc\": \"%s\",\n  \"arch\": \"%s\",\n", PACK_FORMAT,
          SSDC_VERSION, p->arch);
  fprintf(f, "  \"nvrtc\": \"%s\",\n  \"options\": ", nvrtc);
  rt_json_write_string(f, cg_nvrtc_options());
  fprintf(f, ",\n  \"model\": ");
  rt_json_write_string(f, p->model ? p->model : "");
  fprintf(f, ",\n  \"prepared_for\": {\"dtypes\": [%s%s%s], ", p->f32 ? "\"f32\"" : "",
          p->f32 && p->bf16 ? ", " : "", p->bf16 ? "\"bf16\"" : "");
  write_list(f, "batches", p->batch, p->nbatch);
  fprintf(f, ", ");
  write_list(f, "seqlens", p->seqlen, p->nseqlen);
  fprintf(f, "},\n  \"kernels\": [\n");
  for (int i = 0; i < po->n; i++) {
    const cg_pack_entry *e = &po->e[i];
    fprintf(f, "    {\"name\": \"%s\", \"file\": \"%016llx.cubin\", \"bytes\": %zu, "
               "\"fnv1a64\": \"%016llx\"}%s\n",
            e->name, (unsigned long long)e->key, e->bytes, (unsigned long long)e->sum,
            i + 1 < po->n ? "," : "");
  }
  fprintf(f, "  ]\n}\n");
  fclose(f);
  char path[4200];
  snprintf(path, sizeof path, "%s/manifest.json", po->dir);
  int rc = buf ? ssd_write_file_atomic(path, buf, len, c) : ssd_err(c, SSD_ENOMEM, "out of memory");
  free(buf);
  return rc;
}

static int pack_dir(const char *dir, ssd_ctx *c) {
  if (strlen(dir) >= 4000) return ssd_err(c, SSD_EINVAL, "pack directory path too long");
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return ssd_err(c, SSD_EIO, "cannot create '%s': %s", dir, strerror(errno));
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return ssd_err(c, SSD_EIO, "'%s' is not a directory", dir);
  /* An old manifest goes first: until the new one is written, the
   * directory is not a pack (other files in it are left alone). */
  char path[4200];
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  if (unlink(path) != 0 && errno != ENOENT)
    return ssd_err(c, SSD_EIO, "cannot remove the old '%s': %s", path, strerror(errno));
  return SSD_OK;
}

int rt_pack_make(const rt_model *m, const rt_pack_plan *p, const char *dir, rt_pack_stats *st,
                 ssd_ctx *c) {
  memset(st, 0, sizeof *st);
  int64_t maxB, maxL;
  char nvrtc[32];
  if (!p->f32 && !p->bf16) return ssd_err(c, SSD_EINVAL, "no dtype to prepare the pack for");
  TRY(plan_extent(p, &maxB, &maxL, c));
  TRY(cg_nvrtc_version(nvrtc, c));
  TRY(pack_dir(dir, c));
  cg_pack_out po;
  memset(&po, 0, sizeof po);
  snprintf(po.dir, sizeof po.dir, "%s", dir);
  int rc = p->f32 ? walk_mode(m, p, RT_GPU_F32, &po, c) : SSD_OK;
  if (!rc && p->bf16) rc = walk_mode(m, p, RT_GPU_BF16, &po, c);
  if (!rc) rc = write_manifest(p, &po, nvrtc, c);
  st->kernels = po.n;
  free(po.e);
  return rc;
}

/* ---- checking a pack ------------------------------------------------------------------- */
static int bad(const char *dir, const char *what, ssd_ctx *c) {
  return ssd_err(c, SSD_EFORMAT, "kernel pack '%s': %s", dir, what);
}

static const char *str_of(const rt_json *root, const char *key) {
  const rt_json *v = rt_json_get(root, key);
  return v && v->kind == RT_JSON_STRING ? v->s : NULL;
}

/* "<16 lowercase hex digits>.cubin" -> key (no other names: the manifest
 * must not point outside the pack). */
static bool entry_name(const char *s, uint64_t *key) {
  if (strlen(s) != 22 || strcmp(s + 16, ".cubin")) return false;
  uint64_t k = 0;
  for (int i = 0; i < 16; i++) {
    const char ch = s[i];
    const int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0) return false;
    k = k << 4 | (uint64_t)d;
  }
  *key = k;
  return true;
}

static int check_kernel(const char *dir, const rt_json *k, ssd_ctx *c) {
  const char *file = str_of(k, "file"), *sum = str_of(k, "fnv1a64");
  const rt_json *bytes = rt_json_get(k, "bytes");
  uint64_t key, want;
  char msg[512] = "";
  if (!file || !sum || !bytes || bytes->kind != RT_JSON_INT || !entry_name(file, &key) ||
      strlen(sum) != 16 || sscanf(sum, "%16llx", (unsigned long long *)&want) != 1)
    return bad(dir, "manifest.json has a malformed kernel entry", c);
  void *data = NULL;
  size_t n = 0;
  bool found = false;
  TRY(cg_pack_read(dir, key, &data, &n, &found, c));
  if (!found) snprintf(msg, sizeof msg, "%s is listed in manifest.json but missing", file);
  else if ((int64_t)n != bytes->i || ssd_hash64(data, n, 0) != want)
    snprintf(msg, sizeof msg, "%s does not match its size or checksum in manifest.json", file);
  free(data);
  return found && msg[0] == 0 ? SSD_OK : bad(dir, msg, c);
}

/* What is wrong with the manifest's header for a device of arch, or NULL. */
static const char *header_problem(const rt_json *root, const char *arch, char *msg, size_t n) {
  const char *fmt = str_of(root, "format"), *ver = str_of(root, "ssdc");
  const char *parch = str_of(root, "arch");
  const rt_json *ks = rt_json_get(root, "kernels");
  if (!fmt || strcmp(fmt, PACK_FORMAT) || !ver || !parch || !ks || ks->kind != RT_JSON_ARRAY)
    snprintf(msg, n, "manifest.json is not a %s manifest", PACK_FORMAT);
  else if (strcmp(ver, SSDC_VERSION))
    snprintf(msg, n, "made by ssdc %.40s, this is ssdc %s: make it again with ssdc compile", ver,
             SSDC_VERSION);
  else if (strcmp(parch, arch))
    snprintf(msg, n, "compiled for %.40s, this device is %s: make one with ssdc compile --arch %s",
             parch, arch, arch);
  else
    return NULL;
  return msg;
}

int rt_pack_open(const char *dir, const char *arch, ssd_ctx *c) {
  char path[4200], msg[512];
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  ssd_arena *a = ssd_arena_new();
  if (!a) return ssd_err(c, SSD_ENOMEM, "out of memory");
  ssd_src *src = NULL;
  rt_json *root = NULL;
  struct stat sb;
  int rc = stat(path, &sb) != 0 ? bad(dir, "no manifest.json (not a kernel pack, or ssdc compile "
                                           "did not finish)", c)
                                : ssd_read_file(a, path, MANIFEST_MAX, &src, c);
  if (!rc) rc = rt_json_parse(a, path, src->text, src->len, &root, c);
  const char *why = rc ? NULL : header_problem(root, arch, msg, sizeof msg);
  if (why) rc = bad(dir, why, c);
  const rt_json *ks = rc ? NULL : rt_json_get(root, "kernels");
  for (int i = 0; !rc && i < ks->n; i++) rc = check_kernel(dir, ks->items[i], c);
  ssd_arena_free(a);
  return rc;
}
