/* fe_check_main.c: a small driver over the frontend alone (parse, check,
 * --set overrides, lower), so that the frontend's tests need nothing from
 * the passes or the runtime.  Usage:
 *   fe_check [--set NAME=VALUE]... [--print] FILE...
 * Exit status 0 when every file lowers, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "fe.h"

static int check_one(const char *path, char **sets, int nsets, int print) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  ssd_arena *a = ssd_arena_new();
  if (!a) return 1;
  fe_program *p;
  ir_module *m = NULL;
  int rc = fe_parse_file(a, path, &p, &c);
  for (int i = 0; i < nsets && !rc; i++) {
    char name[256];
    const char *eq = strchr(sets[i], '=');
    size_t n = eq ? (size_t)(eq - sets[i]) : 0;
    if (!eq || n == 0 || n >= sizeof name) {
      rc = ssd_err(&c, SSD_EINVAL, "--set wants NAME=VALUE, not '%s'", sets[i]);
      break;
    }
    memcpy(name, sets[i], n);
    name[n] = 0;
    rc = fe_set(p, name, eq + 1, &c);
  }
  if (!rc) rc = fe_lower(p, &m, &c);
  if (!rc && print) ir_print(stdout, m);
  ir_module_free(m);
  ssd_arena_free(a);
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  char *sets[64];
  int nsets = 0, print = 0, bad = 0, nfiles = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 64) {
      sets[nsets++] = argv[++i];
    } else if (!strcmp(argv[i], "--print")) {
      print = 1;
    } else {
      nfiles++;
      bad |= check_one(argv[i], sets, nsets, print);
    }
  }
  if (!nfiles) {
    fprintf(stderr, "usage: fe_check [--set NAME=VALUE]... [--print] FILE...\n");
    return 2;
  }
  return bad;
}
