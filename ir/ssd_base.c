/* ssd_base.c: arenas, diagnostics with carets, whole-file reads and atomic
 * writes.  See ssd_base.h for the conventions every stage follows.
 */
#define _POSIX_C_SOURCE 200809L
#include "ssd_base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ssd_status_name(int rc) {
  switch (rc) {
  case SSD_OK: return "ok";
  case SSD_EPARSE: return "parse error";
  case SSD_ECHECK: return "check error";
  case SSD_EIO: return "i/o error";
  case SSD_ENOMEM: return "out of memory";
  case SSD_EFORMAT: return "format error";
  case SSD_EINVAL: return "invalid argument";
  case SSD_EDEVICE: return "device error";
  case SSD_EUNSUPPORTED: return "unsupported";
  default: return "internal error";
  }
}

/* ---- arenas: a list of blocks, big requests get a block of their own ---- */
typedef struct ssd_block {
  struct ssd_block *next;
  size_t cap, used;
  _Alignas(16) unsigned char data[];
} ssd_block;

struct ssd_arena {
  ssd_block *head;
  size_t total;
};

enum { ARENA_BLOCK = 64 * 1024 };

ssd_arena *ssd_arena_new(void) { return calloc(1, sizeof(ssd_arena)); }

void ssd_arena_free(ssd_arena *a) {
  if (!a) return;
  for (ssd_block *b = a->head, *n; b; b = n) {
    n = b->next;
    free(b);
  }
  free(a);
}

void *ssd_arena_alloc(ssd_arena *a, size_t n) {
  size_t need = (n + 15) & ~(size_t)15;
  if (need < n) return NULL;
  ssd_block *b = a->head;
  if (!b || b->cap - b->used < need) {
    size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
    b = malloc(sizeof(ssd_block) + cap);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    /* Keep the fuller block at the head only if the new one is a one-off. */
    if (a->head && need > ARENA_BLOCK) {
      b->next = a->head->next;
      a->head->next = b;
    } else {
      b->next = a->head;
      a->head = b;
    }
  }
  void *p = b->data + b->used;
  b->used += need;
  a->total += need;
  memset(p, 0, n);
  return p;
}

char *ssd_arena_strndup(ssd_arena *a, const char *s, size_t n) {
  char *p = ssd_arena_alloc(a, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *ssd_arena_strdup(ssd_arena *a, const char *s) {
  return ssd_arena_strndup(a, s, strlen(s));
}

char *ssd_arena_printf(ssd_arena *a, const char *fmt, ...) {
  va_list ap, aq;
  va_start(ap, fmt);
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n < 0 ? NULL : ssd_arena_alloc(a, (size_t)n + 1);
  if (p) vsnprintf(p, (size_t)n + 1, fmt, aq);
  va_end(aq);
  return p;
}

size_t ssd_arena_used(const ssd_arena *a) { return a->total; }

/* ---- diagnostics ---------------------------------------------------------- */
void ssd_ctx_init(ssd_ctx *c) {
  memset(c, 0, sizeof *c);
  c->diag = stderr;
  c->max_errors = 20;
}

/* Print the source line holding loc and a caret under its column.  Long
 * lines are windowed so that a 2 MB line prints at most ~160 characters. */
static void show_line(FILE *f, ssd_loc loc) {
  const ssd_src *s = loc.src;
  if (!s || !s->text || loc.line < 1) return;
  const char *p = s->text, *end = s->text + s->len;
  for (int l = 1; l < loc.line && p < end; p++)
    if (*p == '\n') l++;
  const char *e = p;
  while (e < end && *e != '\n') e++;
  long len = (long)(e - p), col = loc.col > 0 ? loc.col - 1 : 0;
  long from = col > 80 ? col - 60 : 0, to = from + 160 < len ? from + 160 : len;
  if (from > len) from = len;
  fputs("  ", f);
  if (from > 0) fputs("...", f);
  for (long i = from; i < to; i++) {
    unsigned char ch = (unsigned char)p[i];
    fputc(ch == '\t' ? ' ' : (ch < 32 || ch >= 127) ? '?' : ch, f);
  }
  if (to < len) fputs("...", f);
  fputs("\n  ", f);
  if (from > 0) fputs("   ", f);
  for (long i = from; i < col && i < to + 1; i++) fputc(' ', f);
  fputs("^\n", f);
}

static void vreport(ssd_ctx *c, ssd_loc loc, const char *sev, const char *fmt, va_list ap) {
  FILE *f = c->diag ? c->diag : stderr;
  char buf[sizeof c->msg];
  vsnprintf(buf, sizeof buf, fmt, ap);
  if (sev[0] == 'e') memcpy(c->msg, buf, sizeof buf);
  if (sev[0] == 'e' && c->max_errors > 0 && c->nerrors > c->max_errors) return;
  if (loc.src)
    fprintf(f, "%s:%d:%d: %s: %s\n", loc.src->path, loc.line, loc.col, sev, buf);
  else
    fprintf(f, "ssdc: %s: %s\n", sev, buf);
  if (loc.src) show_line(f, loc);
}

int ssd_err(ssd_ctx *c, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  c->nerrors++;
  vreport(c, (ssd_loc){0}, "error", fmt, ap);
  va_end(ap);
  return code;
}

int ssd_err_at(ssd_ctx *c, ssd_loc loc, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  c->nerrors++;
  vreport(c, loc, "error", fmt, ap);
  va_end(ap);
  return code;
}

void ssd_warn(ssd_ctx *c, const char *fmt, ...) {
  if (c->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  c->nwarnings++;
  vreport(c, (ssd_loc){0}, "warning", fmt, ap);
  va_end(ap);
}

void ssd_warn_at(ssd_ctx *c, ssd_loc loc, const char *fmt, ...) {
  if (c->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  c->nwarnings++;
  vreport(c, loc, "warning", fmt, ap);
  va_end(ap);
}

void ssd_note_at(ssd_ctx *c, ssd_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(c, loc, "note", fmt, ap);
  va_end(ap);
}

/* ---- files ------------------------------------------------------------------ */
int ssd_read_file(ssd_arena *a, const char *path, size_t max_bytes, ssd_src **out,
                  ssd_ctx *c) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return ssd_err(c, SSD_EIO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ssd_err(c, SSD_EIO, "'%s' is not a regular file", path);
  }
  if ((uint64_t)st.st_size > max_bytes) {
    close(fd);
    return ssd_err(c, SSD_EIO, "'%s' is too large (%lld bytes, limit %zu)", path,
                   (long long)st.st_size, max_bytes);
  }
  size_t n = (size_t)st.st_size;
  char *buf = ssd_arena_alloc(a, n + 1);
  ssd_src *s = ssd_arena_alloc(a, sizeof *s);
  if (!buf || !s) {
    close(fd);
    return ssd_err(c, SSD_ENOMEM, "out of memory reading '%s'", path);
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      close(fd);
      return ssd_err(c, SSD_EIO, "cannot read '%s': %s", path, r ? strerror(errno) : "short read");
    }
    got += (size_t)r;
  }
  close(fd);
  s->path = ssd_arena_strdup(a, path);
  s->text = buf;
  s->len = n;
  *out = s;
  return SSD_OK;
}

int ssd_write_file_atomic(const char *path, const void *data, size_t n, ssd_ctx *c) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp) return ssd_err(c, SSD_ENOMEM, "out of memory");
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    int rc = ssd_err(c, SSD_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    free(tmp);
    return rc;
  }
  const unsigned char *p = data;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  int ok = done == n && fsync(fd) == 0;
  int err = errno;
  ok = (close(fd) == 0) && ok;
  if (ok && rename(tmp, path) == 0) {
    free(tmp);
    return SSD_OK;
  }
  if (ok) err = errno;
  unlink(tmp);
  free(tmp);
  return ssd_err(c, SSD_EIO, "cannot write '%s': %s", path, strerror(err));
}

int ssd_mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
  if (a && b > UINT64_MAX / a) return 0;
  *out = a * b;
  return 1;
}

int ssd_add_ok(uint64_t a, uint64_t b, uint64_t *out) {
  if (b > UINT64_MAX - a) return 0;
  *out = a + b;
  return 1;
}

int ssd_env_int(const char *name, long long lo, long long hi, long long def, long long *out,
                ssd_ctx *c) {
  const char *v = getenv(name);
  *out = def;
  if (!v || !*v) return SSD_OK;
  char *end;
  errno = 0;
  const long long n = strtoll(v, &end, 10);
  if (*end || errno || n < lo || n > hi)
    return ssd_err(c, SSD_EINVAL, "$%s='%s': want an integer in %lld..%lld", name, v, lo, hi);
  *out = n;
  return SSD_OK;
}

uint64_t ssd_hash64(const void *data, size_t n, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ull ^ seed;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}
