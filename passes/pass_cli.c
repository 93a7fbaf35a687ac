/* pass_cli.c: `ssdc check` and `ssdc dump` (pass_cli.h).
 *
 * Both parse a model file with the frontend (fe.h), apply --set overrides,
 * lower to IR and run the pass pipeline; check stops there and reports,
 * dump prints the IR after the last pass or after the one --after names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"
#include "pass_cli.h"
#include "passes.h"

enum { MAX_SETS = 64 };

typedef struct {
  const char *file;
  const char *sets[MAX_SETS];
  int nsets;
  pass_opts po;
  pass_cost_model cm;
  const char *cost_file;
} dump_args;

static const char dump_usage[] =
    "usage: ssdc dump FILE [options]\n\n"
    "Print a model's IR after the pass pipeline (or after one pass).\n\n"
    "  --set NAME=VALUE     override a hyperparameter (repeatable)\n"
    "  --seqlen L           name the SSM algorithm chosen at sequence length L\n"
    "  --after PASS         stop after PASS and print (also --dump-after=PASS);\n"
    "                       `all` prints after every pass;\n"
    "                       PASS: elaborate shapes canon heads algsel fuse state\n"
    "                       memplan\n"
    "  --format text|dot    text (default) or Graphviz\n"
    "  --target cpu|cuda    cost-model defaults (default cpu)\n"
    "  --cost-model FILE    key = value overrides of the cost model\n"
    "                       (also $SSDC_COST_MODEL; see passes/COST_MODEL.md)\n"
    "  --help               this text\n";

static const char check_usage[] =
    "usage: ssdc check [--set NAME=VALUE]... FILE...\n\n"
    "Parse, lower and verify each model file (all passes).  Exit status 0\n"
    "when every file verifies; otherwise diagnostics point at FILE:LINE:COL.\n";

/* Parse, override, lower, run the pipeline.  *out is the module; the caller
 * frees it and then `a`, which holds the source text its locations quote. */
static int compile_file(ssd_arena *a, const char *path, const char *const *sets, int nsets,
                        const pass_opts *po, ir_module **out, ssd_ctx *c) {
  *out = NULL;
  if (!a) return ssd_err(c, SSD_ENOMEM, "out of memory");
  fe_program *p = NULL;
  int rc = fe_parse_file(a, path, &p, c);
  for (int i = 0; !rc && i < nsets; i++) {
    char *kv = ssd_arena_strdup(a, sets[i]);
    char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq) {
      rc = ssd_err(c, SSD_EINVAL, "--set expects NAME=VALUE, got '%s'", sets[i]);
      break;
    }
    *eq = 0;
    rc = fe_set(p, kv, eq + 1, c);
  }
  if (!rc) rc = fe_lower(p, out, c);
  if (!rc) rc = pass_run_all(*out, po, c);
  return rc;
}

static int parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || errno || v <= 0) return 1;
  *out = v;
  return 0;
}

static int bad(const char *msg, const char *arg) {
  fprintf(stderr, "ssdc: error: %s '%s' (see ssdc dump --help)\n", msg, arg);
  return 2;
}

/* The value of `--opt V` or `--opt=V`; NULL when argv[*i] is not that option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n)) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n]) return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

static int parse_dump_args(int argc, char **argv, dump_args *d) {
  for (int i = 1; i < argc; i++) {
    bool miss = false;
    const char *v, *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(dump_usage, stdout);
      return -1;
    } else if ((v = opt_value(argc, argv, &i, "--set", &miss))) {
      if (d->nsets == MAX_SETS) return bad("too many --set options at", v);
      d->sets[d->nsets++] = v;
    } else if ((v = opt_value(argc, argv, &i, "--seqlen", &miss))) {
      if (parse_int(v, &d->po.seqlen)) return bad("--seqlen needs a positive integer, got", v);
    } else if ((v = opt_value(argc, argv, &i, "--after", &miss)) ||
               (v = opt_value(argc, argv, &i, "--dump-after", &miss))) {
      if (!pass_name_valid(v) && strcmp(v, "all")) return bad("unknown pass", v);
      d->po.dump_after = v;
      d->po.stop_after = strcmp(v, "all") ? v : NULL;
    } else if ((v = opt_value(argc, argv, &i, "--format", &miss))) {
      if (!strcmp(v, "text")) d->po.dump_format = PASS_DUMP_TEXT;
      else if (!strcmp(v, "dot")) d->po.dump_format = PASS_DUMP_DOT;
      else return bad("--format must be text or dot, got", v);
    } else if ((v = opt_value(argc, argv, &i, "--target", &miss))) {
      if (strcmp(v, "cpu") && strcmp(v, "cuda")) return bad("--target must be cpu or cuda, got", v);
      d->po.target = v;
    } else if ((v = opt_value(argc, argv, &i, "--cost-model", &miss))) {
      d->cost_file = v;
    } else if (miss) {
      return bad("missing value after", arg);
    } else if (arg[0] == '-' && arg[1]) {
      return bad("unknown option", arg);
    } else if (d->file) {
      return bad("only one model file, got another:", arg);
    } else {
      d->file = arg;
    }
  }
  if (!d->file) {
    fputs(dump_usage, stderr);
    return 2;
  }
  return 0;
}

int pass_cmd_dump(int argc, char **argv) {
  dump_args d = {0};
  d.po.target = "cpu";
  int rc = parse_dump_args(argc, argv, &d);
  if (rc) return rc < 0 ? 0 : rc;
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (d.cost_file) {
    pass_cost_defaults(d.po.target, &d.cm);
    if (pass_cost_load(d.cost_file, &d.cm, &c)) return 1;
    d.po.cost = &d.cm;
  }
  ir_module *m = NULL;
  ssd_arena *a = ssd_arena_new();
  rc = compile_file(a, d.file, d.sets, d.nsets, &d.po, &m, &c);
  if (!rc && !d.po.dump_after) pass_dump(m, &d.po);
  ir_module_free(m);
  ssd_arena_free(a);
  if (fflush(stdout)) rc = ssd_err(&c, SSD_EIO, "cannot write the dump: %s", strerror(errno));
  return rc ? 1 : 0;
}

int pass_cmd_check(int argc, char **argv) {
  const char *sets[MAX_SETS];
  int nsets = 0, nfiles = 0, failed = 0;
  for (int i = 1; i < argc; i++) {
    bool miss = false;
    const char *v;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(check_usage, stdout);
      return 0;
    } else if ((v = opt_value(argc, argv, &i, "--set", &miss))) {
      if (nsets == MAX_SETS) return bad("too many --set options at", v);
      sets[nsets++] = v;
    } else if (miss || (argv[i][0] == '-' && argv[i][1])) {
      fprintf(stderr, "ssdc: error: bad option '%s' (see ssdc check --help)\n", argv[i]);
      return 2;
    }
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--set")) {
      i++;
      continue;
    }
    if (!strncmp(argv[i], "--set=", 6)) continue;
    nfiles++;
    ssd_ctx c;
    ssd_ctx_init(&c);
    pass_opts po = {.target = "cpu"};
    ir_module *m = NULL;
    ssd_arena *a = ssd_arena_new();
    int rc = compile_file(a, argv[i], sets, nsets, &po, &m, &c);
    ir_module_free(m);
    ssd_arena_free(a);
    if (rc) failed++;
    else printf("%s: ok\n", argv[i]);
  }
  if (!nfiles) {
    fputs(check_usage, stderr);
    return 2;
  }
  return failed ? 1 : 0;
}
