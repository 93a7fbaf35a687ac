/* cg_cache.c: the on-disk kernel cache.
 *
 * NVRTC takes a fraction of a second per kernel; a model needs a few kernels
 * per distinct layer shape, so without a cache every process start would pay
 * for them again.  An entry is one file named by its 64-bit key, holding
 *   magic "SSDCKC01" | key u64 | payload bytes u64 | payload checksum u64 | payload
 * (little-endian host order: the cache is per machine).  The key hashes every
 * input that determines the cubin; the checksum catches torn or damaged files,
 * which are removed and rebuilt rather than trusted.  Writes go through
 * ssd_write_file_atomic, so concurrent processes never see half an entry.
 *
 * Kernel packs (cg_cuda.h) hold entries of the same format under a key
 * without the NVRTC version.  cg_build looks in a pack first and writes
 * into a pack being made; a damaged pack entry is an error, not a miss, as
 * the pack is a shipped artifact that nothing here may rebuild or delete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_cuda.h"

#define CACHE_MAGIC "SSDCKC01"
#define CACHE_HDR 32
#define CACHE_MAX_ENTRY (256u << 20)

/* mkdir -p: every missing component, 0755. */
static int mkdirs(const char *dir, ssd_ctx *c) {
  char tmp[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof tmp) return ssd_err(c, SSD_EINVAL, "bad cache directory '%s'", dir);
  memcpy(tmp, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] != '/' && tmp[i] != '\0') continue;
    char save = tmp[i];
    tmp[i] = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
      return ssd_err(c, SSD_EIO, "cannot create cache directory '%s': %s", tmp, strerror(errno));
    tmp[i] = save;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return ssd_err(c, SSD_EIO, "cache path '%s' is not a directory", dir);
  return SSD_OK;
}

int cg_cache_open(cg_cache *cc, const char *dir, ssd_ctx *c) {
  memset(cc, 0, sizeof *cc);
  const char *env = getenv("SSDC_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int w;
  if (dir && *dir) w = snprintf(cc->dir, sizeof cc->dir, "%s", dir);
  else if (env && *env) w = snprintf(cc->dir, sizeof cc->dir, "%s", env);
  else if (xdg && *xdg) w = snprintf(cc->dir, sizeof cc->dir, "%s/ssdc", xdg);
  else if (home && *home) w = snprintf(cc->dir, sizeof cc->dir, "%s/.cache/ssdc", home);
  else return ssd_err(c, SSD_EINVAL, "no cache directory: set SSDC_CACHE_DIR or HOME");
  if (w < 0 || (size_t)w >= sizeof cc->dir)
    return ssd_err(c, SSD_EINVAL, "cache directory path too long");
  return mkdirs(cc->dir, c);
}

uint64_t cg_cache_key(const char *src, const char *nvrtc_version, const char *arch,
                      const char *options) {
  /* Each field is hashed with its terminating NUL so that moving bytes from
   * one field to the next changes the key. */
  const char *parts[] = {"ssdc " SSDC_VERSION, nvrtc_version, arch, options, src};
  uint64_t h = 0x5d5cULL;
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
    h = ssd_hash64(parts[i], strlen(parts[i]) + 1, h);
  return h;
}

void cg_cache_path(const cg_cache *cc, uint64_t key, char *buf, size_t n) {
  snprintf(buf, n, "%s/%016llx.cubin", cc->dir, (unsigned long long)key);
}

static uint64_t rd64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* Read the whole entry; NULL with *n = 0 when absent. */
static int slurp(const char *path, unsigned char **buf, size_t *n, ssd_ctx *c) {
  *buf = NULL;
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return errno == ENOENT ? SSD_OK : ssd_err(c, SSD_EIO, "cannot read '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CACHE_MAX_ENTRY) {
    fclose(f);
    return SSD_OK; /* not a plain entry of sane size: treated as corrupt by the caller */
  }
  size_t sz = (size_t)st.st_size;
  unsigned char *b = malloc(sz ? sz : 1);
  if (!b) {
    fclose(f);
    return ssd_err(c, SSD_ENOMEM, "out of memory reading '%s'", path);
  }
  size_t got = fread(b, 1, sz, f);
  fclose(f);
  *buf = b;
  *n = got;
  return SSD_OK;
}

typedef enum { ENTRY_ABSENT, ENTRY_OK, ENTRY_DAMAGED } entry_state;

/* Read and verify the entry at path: on ENTRY_OK *data (malloc'd) holds
 * the payload. */
static int entry_read(const char *path, uint64_t key, void **data, size_t *n, entry_state *st,
                      ssd_ctx *c) {
  *data = NULL;
  *n = 0;
  *st = ENTRY_ABSENT;
  struct stat sb;
  if (stat(path, &sb) != 0) return SSD_OK;
  unsigned char *b;
  size_t sz;
  int rc = slurp(path, &b, &sz, c);
  if (rc) return rc;
  bool ok = b && sz >= CACHE_HDR && memcmp(b, CACHE_MAGIC, 8) == 0 && rd64(b + 8) == key &&
            rd64(b + 16) == sz - CACHE_HDR && rd64(b + 24) == ssd_hash64(b + CACHE_HDR, sz - CACHE_HDR, key);
  if (!ok) {
    free(b);
    *st = ENTRY_DAMAGED;
    return SSD_OK;
  }
  memmove(b, b + CACHE_HDR, sz - CACHE_HDR);
  *data = b;
  *n = sz - CACHE_HDR;
  *st = ENTRY_OK;
  return SSD_OK;
}

static int entry_write(const char *path, uint64_t key, const void *data, size_t n, ssd_ctx *c) {
  if (n > CACHE_MAX_ENTRY) return ssd_err(c, SSD_EINVAL, "cache entry too large (%zu bytes)", n);
  unsigned char *b = malloc(CACHE_HDR + n);
  if (!b) return ssd_err(c, SSD_ENOMEM, "out of memory for a cache entry");
  uint64_t hdr[3] = {key, (uint64_t)n, ssd_hash64(data, n, key)};
  memcpy(b, CACHE_MAGIC, 8);
  memcpy(b + 8, hdr, sizeof hdr);
  memcpy(b + CACHE_HDR, data, n);
  int rc = ssd_write_file_atomic(path, b, CACHE_HDR + n, c);
  free(b);
  return rc;
}

int cg_cache_get(cg_cache *cc, uint64_t key, void **data, size_t *n, ssd_ctx *c) {
  char path[4200];
  cg_cache_path(cc, key, path, sizeof path);
  entry_state st;
  int rc = entry_read(path, key, data, n, &st, c);
  if (rc) return rc;
  if (st == ENTRY_OK) {
    cc->hits++;
    return SSD_OK;
  }
  cc->misses++;
  if (st == ENTRY_DAMAGED) {
    cc->corrupt++;
    if (unlink(path) != 0 && errno != ENOENT)
      return ssd_err(c, SSD_EIO, "cannot remove corrupt cache entry '%s': %s", path, strerror(errno));
  }
  return SSD_OK;
}

int cg_cache_put(cg_cache *cc, uint64_t key, const void *data, size_t n, ssd_ctx *c) {
  char path[4200];
  cg_cache_path(cc, key, path, sizeof path);
  return entry_write(path, key, data, n, c);
}

/* ---- kernel packs ----------------------------------------------------------------- */
uint64_t cg_pack_key(const char *src, const char *arch) {
  return cg_cache_key(src, "kernel pack", arch, cg_nvrtc_options());
}

void cg_pack_path(const char *dir, uint64_t key, char *buf, size_t n) {
  snprintf(buf, n, "%s/%016llx.cubin", dir, (unsigned long long)key);
}

int cg_pack_read(const char *dir, uint64_t key, void **data, size_t *n, bool *found, ssd_ctx *c) {
  char path[4200];
  cg_pack_path(dir, key, path, sizeof path);
  entry_state st;
  int rc = entry_read(path, key, data, n, &st, c);
  *found = st == ENTRY_OK;
  if (!rc && st == ENTRY_DAMAGED)
    rc = ssd_err(c, SSD_EFORMAT, "kernel pack entry '%s' is damaged (bad header, size or checksum); "
                 "make the pack again with ssdc compile", path);
  return rc;
}

/* Add a kernel to the pack being written (once per key). */
static int pack_put(cg_pack_out *po, const char *name, uint64_t key, const void *cubin, size_t n,
                    ssd_ctx *c) {
  for (int i = 0; i < po->n; i++)
    if (po->e[i].key == key) return SSD_OK;
  if (po->n == po->cap) {
    int cap = po->cap ? po->cap * 2 : 64;
    cg_pack_entry *ne = realloc(po->e, (size_t)cap * sizeof *ne);
    if (!ne) return ssd_err(c, SSD_ENOMEM, "out of memory");
    po->e = ne, po->cap = cap;
  }
  char path[4200];
  cg_pack_path(po->dir, key, path, sizeof path);
  int rc = entry_write(path, key, cubin, n, c);
  if (rc) return rc;
  cg_pack_entry *e = &po->e[po->n++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  e->key = key, e->bytes = n, e->sum = ssd_hash64(cubin, n, 0);
  return SSD_OK;
}

/* The cubin through the cache: a hit, or NVRTC and a (best-effort) put. */
static int build_cached(cg_cache *cc, const cg_source *s, const char *arch, void **cubin,
                        size_t *size, ssd_ctx *c) {
  const bool emu = cg_arch_is_emu(arch);
  char ver[64];
  int rc = emu ? cg_emu_version(ver, c) : cg_nvrtc_version(ver, c);
  if (rc) return rc;
  uint64_t key = cg_cache_key(s->src, ver, arch, emu ? cg_emu_options() : cg_nvrtc_options());
  rc = cg_cache_get(cc, key, cubin, size, c);
  if (rc || *cubin) return rc;
  rc = emu ? cg_emu_compile(s, cubin, size, c) : cg_nvrtc_compile(s, arch, cubin, size, c);
  if (rc) return rc;
  /* A cache that cannot be written costs time, not correctness: warn only. */
  ssd_ctx tmp;
  ssd_ctx_init(&tmp);
  tmp.nerrors = tmp.max_errors = 1; /* record the message, print only our warning */
  if (cg_cache_put(cc, key, *cubin, *size, &tmp) != SSD_OK)
    ssd_warn(c, "kernel cache not written: %s", tmp.msg);
  return SSD_OK;
}

/* A kernel the pack lacks: NVRTC builds it when it is there; otherwise the
 * message says which kernel and what to do. */
static int build_missing(cg_cache *cc, const cg_source *s, const char *arch, void **cubin,
                         size_t *size, ssd_ctx *c) {
  ssd_ctx q;
  ssd_ctx_init(&q);
  q.nerrors = q.max_errors = 1;
  if (cg_nvrtc_open(&q) != SSD_OK)
    return ssd_err(c, SSD_EUNSUPPORTED,
                   "kernel '%s' (%s) is not in the kernel pack '%s', and NVRTC, which could build "
                   "it, is not available (%s); make the pack with ssdc compile for this run's "
                   "dtype, batch sizes and lengths (--dtype, --batch, --seqlen)",
                   s->name, arch, cc->pack, q.msg);
  ssd_warn(c, "kernel '%s' is not in the kernel pack '%s'; building it with NVRTC", s->name,
           cc->pack);
  return build_cached(cc, s, arch, cubin, size, c);
}

int cg_build(cg_cache *cc, const cg_source *s, const char *arch, void **cubin, size_t *size,
             ssd_ctx *c) {
  *cubin = NULL;
  *size = 0;
  if (!cc) return cg_arch_is_emu(arch) ? cg_emu_compile(s, cubin, size, c)
                                       : cg_nvrtc_compile(s, arch, cubin, size, c);
  const uint64_t pkey = cg_pack_key(s->src, arch);
  bool found = false;
  int rc = SSD_OK;
  if (cc->pack) rc = cg_pack_read(cc->pack, pkey, cubin, size, &found, c);
  if (rc) return rc;
  if (found) cc->pack_hits++;
  else rc = cc->pack ? build_missing(cc, s, arch, cubin, size, c)
                     : build_cached(cc, s, arch, cubin, size, c);
  if (!rc && cc->pack_out) rc = pack_put(cc->pack_out, s->name, pkey, *cubin, *size, c);
  if (rc) {
    free(*cubin);
    *cubin = NULL;
    *size = 0;
  }
  return rc;
}
