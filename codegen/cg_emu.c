/* cg_emu.c: kernels for the emulated device, compiled by the host's C++
 * compiler instead of NVRTC.
 *
 * The emulated device (runtime/rt_cuda_emu.c, architecture name "emu") runs
 * the generated CUDA C on the CPU, so that CI, which has no GPU, executes
 * every kernel the GPU executor launches.  cg_build sends "emu" here: the
 * kernel's source, after codegen/cuda/emu_prelude.cuh (CUDA's built-ins and
 * the PTX the kernels use, as C++) and before a generated table of its entry
 * points, becomes a shared object.  Those bytes are the "cubin" the rest of
 * the pipeline caches and loads, so the kernel cache, its keys and its
 * corruption checks serve both.  $SSDC_EMU_CXX names the compiler (c++).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_cuda.h"

extern char **environ;

bool cg_arch_is_emu(const char *arch) { return arch && strcmp(arch, "emu") == 0; }

static const char *emu_cxx(void) {
  const char *e = getenv("SSDC_EMU_CXX");
  return e && *e ? e : "c++";
}

/* $SSDC_EMU_CXXFLAGS is appended, e.g. -fsanitize=address in a sanitizer
 * build (the kernels' memory accesses checked as the host's are). */
const char *cg_emu_options(void) {
  static char opts[256];
  const char *extra = getenv("SSDC_EMU_CXXFLAGS");
  snprintf(opts, sizeof opts, "-std=gnu++17 -O1 -fPIC -shared -w -fno-exceptions -fno-rtti%s%.160s",
           extra && *extra ? " " : "", extra ? extra : "");
  return opts;
}

/* Run argv with stdout and stderr into `log`; the exit status, or -1 when it
 * could not be started. */
static int run_logged(char *const argv[], const char *log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  long len = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) != (size_t)len) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) buf[len] = 0, *n = (size_t)len;
  return buf;
}

/* A fresh directory under $TMPDIR (else /tmp) for the compiler's files. */
static int make_tmpdir(char dir[4096], ssd_ctx *c) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, 4096, "%s/ssdc-emu-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  return mkdtemp(dir) ? SSD_OK
                      : ssd_err(c, SSD_EIO, "cannot make a temp directory: %s", strerror(errno));
}

int cg_emu_version(char buf[64], ssd_ctx *c) {
  static char ver[64];
  if (!ver[0]) {
    char dir[4096], log[4200];
    if (make_tmpdir(dir, c)) return SSD_EIO;
    snprintf(log, sizeof log, "%s/v", dir);
    char *argv[] = {(char *)emu_cxx(), "-dumpfullversion", "-dumpversion", NULL};
    size_t n = 0;
    char *out = run_logged(argv, log) == 0 ? slurp(log, &n) : NULL;
    unlink(log);
    rmdir(dir);
    if (!out)
      return ssd_err(c, SSD_EDEVICE, "the emulated device needs a C++ compiler; '%s' did not run "
                     "(set SSDC_EMU_CXX)", emu_cxx());
    out[strcspn(out, "\r\n")] = 0;
    const char *pre = cg_template("emu_prelude.cuh");
    snprintf(ver, sizeof ver, "%.20s %.16s prelude %016llx", emu_cxx(), out,
             (unsigned long long)ssd_hash64(pre, strlen(pre), 0));
    free(out);
  }
  snprintf(buf, 64, "%s", ver);
  return SSD_OK;
}

/* The names after each `__global__ void [__launch_bounds__(...)]`: the entry
 * points (often macros, which the appendix's own uses expand alike). */
static int entry_names(const char *src, char names[][96], int max) {
  int n = 0;
  for (const char *p = src; (p = strstr(p, "__global__")) && n < max; p += 10) {
    const char *q = p + 10;
    while (isspace((unsigned char)*q)) q++;
    if (strncmp(q, "void", 4) || !isspace((unsigned char)q[4])) continue;
    q += 4;
    while (isspace((unsigned char)*q)) q++;
    if (!strncmp(q, "__launch_bounds__", 17)) {
      q = strchr(q, ')');
      if (!q) break;
      q++;
      while (isspace((unsigned char)*q)) q++;
    }
    size_t len = 0;
    while (isalnum((unsigned char)q[len]) || q[len] == '_') len++;
    if (!len || len >= 96 || q[len] == ')') continue; /* "__global__ void)" in a comment */
    memcpy(names[n], q, len);
    names[n++][len] = 0;
  }
  return n;
}

static bool write_all(FILE *f, const char *s) { return fputs(s, f) >= 0; }

/* The kernel's source with its `#pragma unroll` lines left blank (line
 * numbers kept).  An unroll hint changes nothing a kernel computes, and the
 * host's compiler has no registers to win by it: clang at -O1 honours the
 * hints and took 24 s on a 2.7b SSD kernel (145 s with UBSan) against 2 s
 * without them, which made -O1 unusable for the sanitized CI (session 35). */
static bool write_without_unroll_hints(FILE *f, const char *src) {
  for (const char *p = src; *p;) {
    const char *eol = strchr(p, '\n'), *q = p;
    const size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
    while (*q == ' ' || *q == '\t') q++;
    const bool hint = !strncmp(q, "#pragma unroll", 14);
    if (hint ? fputc('\n', f) == EOF : fwrite(p, 1, len, f) != len) return false;
    p += len;
  }
  return true;
}

/* Prelude, the kernel, then for each entry a thunk that unpacks the driver's
 * argument array and a row in the table that ssdc_emu_find searches. */
static int write_unit(FILE *f, const cg_source *s, ssd_ctx *c) {
  char names[16][96];
  const int n = entry_names(s->src, names, 16);
  if (n == 0) return ssd_err(c, SSD_EINTERNAL, "kernel '%s': no __global__ entry point", s->name);
  bool ok = write_all(f, cg_template("emu_prelude.cuh")) &&
            fprintf(f, "#line 1 \"%s.cu\"\n", s->name) > 0 &&
            write_without_unroll_hints(f, s->src) &&
            write_all(f, "\n// ---- entry points (codegen/cg_emu.c) ----\n");
  for (int i = 0; i < n && ok; i++)
    ok = fprintf(f,
                 "static void emu_thunk%d(void **a) { emu_call(%s, a); }\n"
                 "static_assert(emu_nparams(%s) <= 32, \"too many parameters\");\n"
                 "static void emu_info%d(int *np, unsigned *sz) { *np = emu_nparams(%s); "
                 "emu_sizes(%s, sz); }\n",
                 i, names[i], names[i], i, names[i], names[i]) > 0;
  ok = ok && write_all(f, "static const struct { const char *name; void (*thunk)(void **); "
                          "void (*info)(int *, unsigned *); } emu_tab[] = {\n");
  for (int i = 0; i < n && ok; i++)
    ok = fprintf(f, "  {EMU_STR(%s), emu_thunk%d, emu_info%d},\n", names[i], i, i) > 0;
  ok = ok && write_all(f,
      "};\n"
      "extern \"C\" __attribute__((visibility(\"default\"))) int ssdc_emu_find(const char *name, "
      "int *np, unsigned *sizes) {\n"
      "  for (unsigned i = 0; i < sizeof emu_tab / sizeof *emu_tab; i++)\n"
      "    if (!strcmp(emu_tab[i].name, name)) { emu_tab[i].info(np, sizes); return (int)i; }\n"
      "  return -1;\n}\n"
      "extern \"C\" __attribute__((visibility(\"default\"))) int ssdc_emu_launch(int i, "
      "const unsigned grid[3], const unsigned block[3], unsigned smem, void **args, "
      "unsigned char *stacks, unsigned stack_bytes, char *err, size_t errn) {\n"
      "  if (stack_bytes != EMU_STACK) { snprintf(err, errn, \"stack size mismatch\"); return -1; }\n"
      "  emu_kernel k = {emu_tab[i].name, emu_tab[i].thunk};\n"
      "  return emu_launch(&k, grid, block, smem, args, stacks, err, errn);\n}\n");
  return ok ? SSD_OK : ssd_err(c, SSD_EIO, "cannot write the emulated kernel's source");
}

int cg_emu_compile(const cg_source *s, void **so, size_t *size, ssd_ctx *c) {
  *so = NULL;
  *size = 0;
  char dir[4096], cpp[4200], out[4200], log[4200];
  if (make_tmpdir(dir, c)) return SSD_EIO;
  snprintf(cpp, sizeof cpp, "%s/k.cpp", dir);
  snprintf(out, sizeof out, "%s/k.so", dir);
  snprintf(log, sizeof log, "%s/log", dir);
  FILE *f = fopen(cpp, "w");
  int rc = f ? write_unit(f, s, c) : ssd_err(c, SSD_EIO, "cannot write %s: %s", cpp, strerror(errno));
  if (f && fclose(f) != 0 && rc == SSD_OK) rc = ssd_err(c, SSD_EIO, "cannot write %s", cpp);
  if (rc == SSD_OK) {
    /* the options string, split on spaces, then the files */
    char opts[256], *argv[40];
    int argc = 0;
    snprintf(opts, sizeof opts, "%s", cg_emu_options());
    argv[argc++] = (char *)emu_cxx();
    for (char *t = strtok(opts, " "); t && argc < 34; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc++] = "-o", argv[argc++] = out, argv[argc++] = cpp, argv[argc] = NULL;
    int st = run_logged(argv, log);
    if (st != 0) {
      size_t n = 0;
      char *text = slurp(log, &n);
      if (c->diag && text) fprintf(c->diag, "%s", text);
      free(text);
      rc = st < 0 ? ssd_err(c, SSD_EDEVICE, "the emulated device needs a C++ compiler; '%s' did not "
                                            "run (set SSDC_EMU_CXX)", emu_cxx())
                  : ssd_err(c, SSD_EDEVICE, "C++ compile of kernel '%s' for the emulated device "
                                            "failed (log above)", s->name);
    } else if (!(*so = slurp(out, size))) {
      rc = ssd_err(c, SSD_EIO, "cannot read the compiled kernel %s", out);
    }
  }
  unlink(cpp), unlink(out), unlink(log);
  rmdir(dir);
  return rc;
}
