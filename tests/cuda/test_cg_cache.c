/* test_cg_cache.c: the kernel cache (codegen/cg_cache.c), no GPU or NVRTC.
 *
 * Miss then hit with identical bytes; every field of the key changes it;
 * damaged entries (flipped payload byte, truncation, wrong magic, empty file)
 * are detected, removed and reported as misses; the directory resolves from
 * SSDC_CACHE_DIR / XDG_CACHE_HOME / HOME; no temp files are left behind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_cuda.h"

#include "../ssd_check.h"

static void payload(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)((seed * 2654435761u + i * 40503u) >> 7);
}

static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

/* Put, then damage the entry with `damage`, then get: must miss and delete. */
static void check_damage(cg_cache *cc, uint64_t key, void (*damage)(const char *), ssd_ctx *c) {
  unsigned char data[3000];
  payload(data, sizeof data, (unsigned)key);
  CHECK(cg_cache_put(cc, key, data, sizeof data, c) == SSD_OK);
  char path[4200];
  cg_cache_path(cc, key, path, sizeof path);
  damage(path);
  void *got = (void *)1;
  size_t n = 7;
  int corrupt0 = cc->corrupt;
  CHECK(cg_cache_get(cc, key, &got, &n, c) == SSD_OK);
  CHECK(got == NULL && n == 0);
  CHECK(cc->corrupt == corrupt0 + 1);
  CHECK(access(path, F_OK) != 0); /* removed, so the next build rewrites it */
  free(got);
}

static void flip_byte(const char *path) {
  FILE *f = fopen(path, "r+b");
  fseek(f, 1000, SEEK_SET);
  int ch = fgetc(f);
  fseek(f, 1000, SEEK_SET);
  fputc(ch ^ 0x20, f);
  fclose(f);
}
static void truncate_half(const char *path) { CHECK(truncate(path, 1500) == 0); }
static void truncate_header(const char *path) { CHECK(truncate(path, 20) == 0); }
static void empty(const char *path) { CHECK(truncate(path, 0) == 0); }
static void bad_magic(const char *path) {
  FILE *f = fopen(path, "r+b");
  fputc('X', f);
  fclose(f);
}
static void grow(const char *path) {
  FILE *f = fopen(path, "ab");
  fputc(0, f);
  fclose(f);
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  char tmpl[] = "/tmp/ssdc-cache-test-XXXXXX";
  char *root = mkdtemp(tmpl);
  CHECK(root != NULL);
  char dir[512];
  snprintf(dir, sizeof dir, "%s/a/b/c", root);

  cg_cache cc;
  CHECK(cg_cache_open(&cc, dir, &c) == SSD_OK); /* creates missing parents */
  struct stat st;
  CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));

  /* keys: deterministic, and each input matters */
  uint64_t k = cg_cache_key("src", "13.0", "sm_90", "-O3");
  CHECK(k == cg_cache_key("src", "13.0", "sm_90", "-O3"));
  CHECK(k != cg_cache_key("src ", "13.0", "sm_90", "-O3"));
  CHECK(k != cg_cache_key("src", "12.8", "sm_90", "-O3"));
  CHECK(k != cg_cache_key("src", "13.0", "sm_80", "-O3"));
  CHECK(k != cg_cache_key("src", "13.0", "sm_90", "-O2"));
  CHECK(cg_cache_key("ab", "c", "sm_90", "") != cg_cache_key("a", "bc", "sm_90", ""));

  /* miss, put, hit with the same bytes */
  unsigned char data[100000];
  payload(data, sizeof data, 7);
  void *got = NULL;
  size_t n = 0;
  CHECK(cg_cache_get(&cc, k, &got, &n, &c) == SSD_OK && got == NULL && cc.misses == 1);
  CHECK(cg_cache_put(&cc, k, data, sizeof data, &c) == SSD_OK);
  CHECK(cg_cache_get(&cc, k, &got, &n, &c) == SSD_OK);
  CHECK(got && n == sizeof data && memcmp(got, data, n) == 0 && cc.hits == 1);
  free(got);
  /* overwrite in place (a rebuilt entry) */
  payload(data, sizeof data, 8);
  CHECK(cg_cache_put(&cc, k, data, sizeof data, &c) == SSD_OK);
  CHECK(cg_cache_get(&cc, k, &got, &n, &c) == SSD_OK && got && memcmp(got, data, n) == 0);
  free(got);
  /* an entry under another key's name is not trusted */
  char p1[4200], p2[4200];
  cg_cache_path(&cc, k, p1, sizeof p1);
  cg_cache_path(&cc, k + 1, p2, sizeof p2);
  CHECK(link(p1, p2) == 0);
  CHECK(cg_cache_get(&cc, k + 1, &got, &n, &c) == SSD_OK && got == NULL);

  /* damage of every kind is caught */
  check_damage(&cc, 101, flip_byte, &c);
  check_damage(&cc, 102, truncate_half, &c);
  check_damage(&cc, 103, truncate_header, &c);
  check_damage(&cc, 104, empty, &c);
  check_damage(&cc, 105, bad_magic, &c);
  check_damage(&cc, 106, grow, &c);
  CHECK(count_files(dir) == 1); /* only key k's entry: no temp files, damaged ones gone */

  /* directory resolution from the environment */
  cg_cache c2;
  char env[600];
  snprintf(env, sizeof env, "%s/env", root);
  setenv("SSDC_CACHE_DIR", env, 1);
  CHECK(cg_cache_open(&c2, NULL, &c) == SSD_OK && strcmp(c2.dir, env) == 0);
  unsetenv("SSDC_CACHE_DIR");
  setenv("XDG_CACHE_HOME", root, 1);
  CHECK(cg_cache_open(&c2, NULL, &c) == SSD_OK);
  snprintf(env, sizeof env, "%s/ssdc", root);
  CHECK(strcmp(c2.dir, env) == 0);
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", root, 1);
  CHECK(cg_cache_open(&c2, NULL, &c) == SSD_OK);
  snprintf(env, sizeof env, "%s/.cache/ssdc", root);
  CHECK(strcmp(c2.dir, env) == 0);
  /* a file where the directory should be is an error, not a crash */
  char fpath[600];
  snprintf(fpath, sizeof fpath, "%s/plainfile", root);
  FILE *f = fopen(fpath, "w");
  fclose(f);
  ssd_ctx quiet;
  ssd_ctx_init(&quiet);
  quiet.diag = fopen("/dev/null", "w");
  CHECK(cg_cache_open(&c2, fpath, &quiet) == SSD_EIO);
  fclose(quiet.diag);

  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  CHECK(system(cmd) == 0);
  if (fails) fprintf(stderr, "test_cg_cache: %d failures\n", fails);
  else printf("test_cg_cache: ok\n");
  return fails != 0;
}
