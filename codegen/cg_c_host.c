/* cg_c_host.c: compile generated C into a shared object, cache it, load it
 * (see cg_c_host.h).
 *
 * The compiler runs through posix_spawnp with an argv (no shell), its
 * output captured for the error message.  The shared object's bytes go into
 * the kernel cache (cg_cache: checksummed, written by rename), so a damaged
 * entry is noticed and rebuilt rather than dlopen'ed.  To load, the
 * verified bytes are written to a private temp file that is dlopen'ed and
 * unlinked at once.
 */
#define _POSIX_C_SOURCE 200809L
#include "cg_c_host.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cg_cuda.h"

extern char **environ;

#define CG_C_FLAGS "-O3 -march=native -fPIC -shared -std=c11 -w"

/* A node with a kernel, resolved once at build time: lookups happen for
 * every node of every forward call. */
typedef struct node_kernel {
  const ir_node *node;
  int kernel, chain;
} node_kernel;

struct cg_host {
  void *so;
  int nk, nconv;
  cg_ssm_fn *fns;
  cg_conv_fn *conv;
  node_kernel *map;
  int nmap;
  const ir_module *m;
  cg_host_stats stats;
};

/* Run argv, capturing stdout+stderr (truncated) into out; returns the exit
 * status, or -1 if it could not be started. */
static int run_capture(char *const argv[], char *out, size_t n) {
  char tmpl[] = "/tmp/ssdc-cc-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return -1;
  unlink(tmpl);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  int status = -1;
  if (rc == 0 && waitpid(pid, &status, 0) == pid)
    status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  else
    status = -1;
  if (out && n) {
    ssize_t k = pread(fd, out, n - 1, 0);
    out[k > 0 ? k : 0] = 0;
  }
  close(fd);
  return status;
}

/* The compiler to use and its version line; nonzero when there is none. */
static int find_compiler(char *cc, size_t ncc, char *ver, size_t nver) {
  const char *env = getenv("SSDC_CC");
  const char *cands[] = {env && *env ? env : NULL, "clang", "cc", "gcc"};
  for (size_t i = 0; i < sizeof cands / sizeof *cands; i++) {
    if (!cands[i]) continue;
    char buf[1024];
    char *argv[] = {(char *)cands[i], "--version", NULL};
    if (run_capture(argv, buf, sizeof buf) != 0) {
      if (env && *env && i == 0) return 1; /* an explicit choice that fails: no fallback */
      continue;
    }
    snprintf(cc, ncc, "%s", cands[i]);
    buf[strcspn(buf, "\n")] = 0;
    snprintf(ver, nver, "%.200s", buf);
    return 0;
  }
  return 1;
}

/* The CPU model enters the key: -march=native code is not portable. */
static void cpu_name(char *buf, size_t n) {
  snprintf(buf, n, "unknown-cpu");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "model name", 10) || !strncmp(line, "flags", 5)) {
      line[strcspn(line, "\n")] = 0;
      size_t k = strlen(buf);
      if (!strncmp(buf, "unknown", 7)) k = 0;
      snprintf(buf + k, n - k, "%s;", line);
      if (!strncmp(line, "flags", 5)) break;
    }
  }
  fclose(f);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int read_all(const char *path, void **data, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return 1;
  struct stat st;
  if (fstat(fileno(f), &st) || st.st_size <= 0) return fclose(f), 1;
  *n = (size_t)st.st_size;
  *data = malloc(*n);
  int bad = !*data || fread(*data, 1, *n, f) != *n;
  fclose(f);
  if (bad) free(*data), *data = NULL;
  return bad;
}

/* Compile src with cc into a shared object; its bytes in *so. */
static int compile(const char *cc, const char *dir, const char *src, void **so, size_t *n,
                   ssd_ctx *c) {
  char cpath[4200], sopath[4300], log[4096];
  snprintf(cpath, sizeof cpath, "%s/ssdc-gen-XXXXXX", dir);
  int fd = mkstemp(cpath);
  if (fd < 0) return ssd_err(c, SSD_EIO, "cannot create a temp file in %s", dir);
  size_t len = strlen(src);
  int bad = write(fd, src, len) != (ssize_t)len;
  close(fd);
  /* the compiler picks the language from the suffix */
  char cfile[4300];
  snprintf(cfile, sizeof cfile, "%s.c", cpath);
  snprintf(sopath, sizeof sopath, "%s.so", cpath);
  if (bad || rename(cpath, cfile)) {
    unlink(cpath);
    return ssd_err(c, SSD_EIO, "cannot write generated source to %s", dir);
  }
  char *argv[16];
  int k = 0;
  char flags[] = CG_C_FLAGS;
  argv[k++] = (char *)cc;
  for (char *t = strtok(flags, " "); t && k < 12; t = strtok(NULL, " ")) argv[k++] = t;
  argv[k++] = cfile;
  argv[k++] = "-o";
  argv[k++] = sopath;
  argv[k++] = "-lm";
  argv[k] = NULL;
  int rc = run_capture(argv, log, sizeof log);
  unlink(cfile);
  if (rc != 0) {
    unlink(sopath);
    return ssd_err(c, SSD_EUNSUPPORTED, "compiling generated C with %s failed (exit %d): %.1500s",
                   cc, rc, log);
  }
  bad = read_all(sopath, so, n);
  unlink(sopath);
  return bad ? ssd_err(c, SSD_EIO, "cannot read the compiled shared object") : SSD_OK;
}

/* dlopen bytes through a private temp file, unlinked right away. */
static int load(const char *dir, const void *so, size_t n, void **handle, ssd_ctx *c) {
  char path[4200];
  snprintf(path, sizeof path, "%s/ssdc-so-XXXXXX", dir);
  int fd = mkstemp(path);
  if (fd < 0) return ssd_err(c, SSD_EIO, "cannot create a temp file in %s", dir);
  int bad = write(fd, so, n) != (ssize_t)n;
  close(fd);
  *handle = bad ? NULL : dlopen(path, RTLD_NOW | RTLD_LOCAL);
  const char *why = bad ? "short write" : *handle ? NULL : dlerror();
  unlink(path);
  if (!*handle) return ssd_err(c, SSD_EIO, "cannot load generated code: %s", why ? why : "?");
  return SSD_OK;
}

static int bind_kernels(cg_host *h, ssd_ctx *c) {
  const char *abi = dlsym(h->so, "ssdc_cg_abi");
  if (!abi || strcmp(abi, "ssdc-host-1"))
    return ssd_err(c, SSD_EFORMAT, "generated code has the wrong ABI tag");
  h->fns = calloc((size_t)h->nk + 1, sizeof *h->fns);
  h->conv = calloc((size_t)h->nconv + 1, sizeof *h->conv);
  if (!h->fns || !h->conv) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int k = 0; k < h->nk + h->nconv; k++) {
    char name[32];
    if (k < h->nk) snprintf(name, sizeof name, "ssdc_ssm_%d", k);
    else snprintf(name, sizeof name, "ssdc_conv_%d", k - h->nk);
    void *p = dlsym(h->so, name);
    if (!p) return ssd_err(c, SSD_EFORMAT, "generated code lacks %s", name);
    /* object -> function pointer, as POSIX allows */
    if (k < h->nk) memcpy(&h->fns[k], &p, sizeof p);
    else memcpy(&h->conv[k - h->nk], &p, sizeof p);
  }
  return SSD_OK;
}

static int map_nodes(cg_host *h, ssd_ctx *c) {
  int n = 0;
  for (const ir_node *x = h->m->main->first; x; x = x->next) n += x->op == IR_SSM || x->op == IR_CONV1D;
  h->map = calloc((size_t)n + 1, sizeof *h->map);
  if (!h->map) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (const ir_node *x = h->m->main->first; x; x = x->next) {
    const ir_node *chain[CG_C_MAX_CHAIN];
    if (x->op == IR_SSM)
      h->map[h->nmap++] = (node_kernel){x, cg_c_kernel_of(h->m, x), 0};
    else if (x->op == IR_CONV1D)
      h->map[h->nmap++] = (node_kernel){x, cg_c_conv_kernel_of(h->m, x),
                                        cg_c_chain(h->m, x, chain, CG_C_MAX_CHAIN)};
  }
  return SSD_OK;
}

static const node_kernel *lookup(const cg_host *h, const ir_node *n) {
  for (int i = 0; i < h->nmap; i++)
    if (h->map[i].node == n) return &h->map[i];
  return NULL;
}

int cg_host_build(const ir_module *m, const char *cache_dir, cg_host **out, ssd_ctx *c) {
  *out = NULL;
  cg_host *h = calloc(1, sizeof *h);
  if (!h) return ssd_err(c, SSD_ENOMEM, "out of memory");
  h->m = m;
  char *src = NULL, cc[256], cpu[1024], opts[1400];
  void *so = NULL;
  size_t n = 0;
  cg_cache cache;
  int rc = cg_c_source(m, &src, &h->nk, &h->nconv, c);
  if (!rc && find_compiler(cc, sizeof cc, h->stats.compiler, sizeof h->stats.compiler))
    rc = ssd_err(c, SSD_EUNSUPPORTED, "no C compiler found (tried $SSDC_CC, clang, cc, gcc)");
  if (!rc) rc = cg_cache_open(&cache, cache_dir, c);
  if (!rc) {
    cpu_name(cpu, sizeof cpu);
    snprintf(opts, sizeof opts, "%s %s", CG_C_FLAGS, cpu);
    uint64_t key = cg_cache_key(src, h->stats.compiler, "host-c", opts);
    rc = cg_cache_get(&cache, key, &so, &n, c);
    h->stats.cache_hit = !rc && so;
    if (!rc && !so) {
      double t0 = now_s();
      rc = compile(cc, cache.dir, src, &so, &n, c);
      h->stats.compile_s = now_s() - t0;
      if (!rc) rc = cg_cache_put(&cache, key, so, n, c);
    }
  }
  if (!rc) rc = load(cache.dir, so, n, &h->so, c);
  if (!rc) rc = bind_kernels(h, c);
  if (!rc) rc = map_nodes(h, c);
  free(src);
  free(so);
  if (rc) {
    cg_host_free(h);
    return rc;
  }
  *out = h;
  return SSD_OK;
}

void cg_host_free(cg_host *h) {
  if (!h) return;
  if (h->so) dlclose(h->so);
  free(h->fns);
  free(h->conv);
  free(h->map);
  free(h);
}

const cg_host_stats *cg_host_stats_of(const cg_host *h) { return &h->stats; }

cg_ssm_fn cg_host_ssm(const cg_host *h, const ir_node *n) {
  const node_kernel *e = n->op == IR_SSM ? lookup(h, n) : NULL;
  return e && e->kernel >= 0 && e->kernel < h->nk ? h->fns[e->kernel] : NULL;
}

cg_conv_fn cg_host_conv(const cg_host *h, const ir_node *n) {
  const node_kernel *e = n->op == IR_CONV1D ? lookup(h, n) : NULL;
  return e && e->kernel >= 0 && e->kernel < h->nconv ? h->conv[e->kernel] : NULL;
}

int cg_host_conv_chain(const cg_host *h, const ir_node *n) {
  const node_kernel *e = n->op == IR_CONV1D ? lookup(h, n) : NULL;
  return e ? e->chain : 0;
}
