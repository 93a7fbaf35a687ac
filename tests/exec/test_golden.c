/* test_golden.c: one golden case end to end through the ssdc binary.
 *
 * usage: test_golden SSDC CASE_DIR WORK_DIR
 *
 * CASE_DIR is a tests/golden/<case>/ directory (config.json, weights,
 * input.safetensors, logits.safetensors, greedy.json; see the README there:
 * the references come from HF transformers in float64, not from us).  A
 * mamba_ssm-format case (pytorch_model.bin) is converted first with
 * tools/convert_mamba_ssm.py.  Checks:
 *  - `ssdc run` logits: max|diff| / max|ref| <= 1e-4;
 *  - `ssdc generate` from greedy.json's prompt == its new_tokens exactly;
 *  - bad input ids make `ssdc run` fail (exit 1) and leave no output file.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_json.h"
#include "rt_safetensors.h"
#include "tx.h"

#ifndef SSDC_SOURCE_DIR
#define SSDC_SOURCE_DIR "."
#endif

static bool exists(const char *p) {
  struct stat s;
  return stat(p, &s) == 0;
}

static int sh(const char *cmd) {
  fprintf(stderr, "+ %s\n", cmd);
  int rc = system(cmd);
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* The logits tensor of a file as floats, with its shape. */
static float *read_logits(const char *path, int64_t shape[3], ssd_ctx *c) {
  rt_safetensors *st;
  if (rt_st_open(path, &st, c)) return NULL;
  const rt_st_tensor *t = rt_st_find(st, "logits");
  float *d = NULL;
  if (t && t->rank == 3) {
    memcpy(shape, t->shape, 3 * sizeof(int64_t));
    d = malloc(t->numel * sizeof(float) + 1);
    if (d && rt_st_read_f32(t, d, t->numel, c)) free(d), d = NULL;
  } else {
    fprintf(stderr, "%s: no rank-3 'logits'\n", path);
  }
  rt_st_close(st);
  return d;
}

static void check_logits(const char *ssdc, const char *model, const char *cas, const char *work) {
  char cmd[20000], out[4096], ref[4096];
  snprintf(out, sizeof out, "%s/logits.safetensors", work);
  snprintf(ref, sizeof ref, "%s/logits.safetensors", cas);
  unlink(out);
  snprintf(cmd, sizeof cmd, "'%s' run --model '%s' --input '%s/input.safetensors' --output '%s'",
           ssdc, model, cas, out);
  int rc = sh(cmd);
  TX_CHECK(rc == 0, "ssdc run exited %d", rc);
  if (rc) return;
  ssd_ctx c;
  ssd_ctx_init(&c);
  int64_t sa[3] = {0}, sb[3] = {0};
  float *a = read_logits(out, sa, &c), *b = read_logits(ref, sb, &c);
  TX_CHECK(a && b, "cannot read logits");
  if (a && b) {
    TX_CHECK(!memcmp(sa, sb, sizeof sa), "logits shape [%lld,%lld,%lld] vs reference [%lld,%lld,%lld]",
             (long long)sa[0], (long long)sa[1], (long long)sa[2], (long long)sb[0],
             (long long)sb[1], (long long)sb[2]);
    if (!memcmp(sa, sb, sizeof sa)) {
      size_t n = (size_t)(sa[0] * sa[1] * sa[2]);
      double s = 0, ss = 0, md = 0;
      for (size_t i = 0; i < n; i++) s += b[i], ss += (double)b[i] * b[i];
      double sd = sqrt(ss / n - (s / n) * (s / n));
      double rel = tx_reldiff(a, b, n);
      for (size_t i = 0; i < n; i++) md = fmax(md, fabs((double)a[i] - b[i]));
      printf("logits: max|diff|/max|ref| = %.3g, max|diff|/std = %.3g\n", rel, md / sd);
      TX_CLOSE("logits vs golden", rel, 1e-4);
    }
  }
  free(a);
  free(b);
}

/* greedy.json's prompt and new_tokens. */
static int read_greedy(const char *cas, char *prompt, size_t np, int64_t *want, int *nwant) {
  char path[4096];
  snprintf(path, sizeof path, "%s/greedy.json", cas);
  ssd_arena *a = ssd_arena_new();
  ssd_ctx c;
  ssd_ctx_init(&c);
  ssd_src *src;
  rt_json *root;
  int rc = ssd_read_file(a, path, 1 << 20, &src, &c);
  if (!rc) rc = rt_json_parse(a, path, src->text, src->len, &root, &c);
  const rt_json *p = rc ? NULL : rt_json_get(root, "prompt");
  const rt_json *t = rc ? NULL : rt_json_get(root, "new_tokens");
  if (!rc && (!p || !t || p->kind != RT_JSON_ARRAY || t->kind != RT_JSON_ARRAY || t->n > 256))
    rc = 1;
  size_t k = 0;
  prompt[0] = 0;
  for (int i = 0; !rc && i < p->n && k < np; i++)
    k += (size_t)snprintf(prompt + k, np - k, "%s%lld", i ? "," : "", (long long)p->items[i]->i);
  *nwant = 0;
  for (int i = 0; !rc && i < t->n; i++) want[(*nwant)++] = t->items[i]->i;
  ssd_arena_free(a);
  return rc;
}

static void check_greedy(const char *ssdc, const char *model, const char *cas) {
  char prompt[4096], cmd[20000];
  int64_t want[256];
  int nwant;
  TX_CHECK(!read_greedy(cas, prompt, sizeof prompt, want, &nwant), "bad greedy.json");
  if (tx_failures) return;
  snprintf(cmd, sizeof cmd, "'%s' generate --model '%s' --prompt-ids %s --max-new-tokens %d",
           ssdc, model, prompt, nwant);
  fprintf(stderr, "+ %s\n", cmd);
  FILE *f = popen(cmd, "r");
  char line[8192] = "";
  if (!f || !fgets(line, sizeof line, f)) line[0] = 0;
  int rc = f ? pclose(f) : -1;
  TX_CHECK(rc == 0, "ssdc generate failed (%d)", rc);
  char *p = line;
  int i = 0;
  for (; i < nwant; i++) {
    char *e;
    long long v = strtoll(p, &e, 10);
    if (e == p) break;
    TX_CHECK(v == want[i], "greedy token %d: got %lld, want %lld", i, v, (long long)want[i]);
    p = e;
  }
  TX_CHECK(i == nwant, "generate printed %d tokens, want %d: '%s'", i, nwant, line);
  if (i == nwant) printf("greedy: %d tokens match\n", nwant);
}

/* Bad inputs must fail cleanly, leaving no output file: an id past the
 * vocabulary, a negative id, float ids, an empty [1, 0] tensor, no
 * input_ids at all. */
static void check_bad_input(const char *ssdc, const char *model, const char *work) {
  int64_t big[3] = {1, 2, 1 << 30}, neg[3] = {1, -1, 2}, s13[2] = {1, 3}, s10[2] = {1, 0};
  float fl[3] = {1, 2, 3};
  const rt_st_out cases[] = {
      {"input_ids", IR_I64, 2, s13, big}, {"input_ids", IR_I64, 2, s13, neg},
      {"input_ids", IR_F32, 2, s13, fl},  {"input_ids", IR_I64, 2, s10, big},
      {"other", IR_I64, 2, s13, big}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char in[4096], out[4096], cmd[20000];
    snprintf(in, sizeof in, "%s/bad-input-%zu.safetensors", work, i);
    snprintf(out, sizeof out, "%s/bad-logits-%zu.safetensors", work, i);
    unlink(out);
    ssd_ctx c;
    ssd_ctx_init(&c);
    TX_CHECK(!rt_st_write(in, &cases[i], 1, NULL, 0, &c), "cannot write %s", in);
    snprintf(cmd, sizeof cmd, "'%s' run --model '%s' --input '%s' --output '%s' 2>&1", ssdc, model,
             in, out);
    int rc = sh(cmd);
    TX_CHECK(rc == 1, "bad input %zu: exit %d, want 1", i, rc);
    TX_CHECK(!exists(out), "a failed run left %s behind", out);
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_golden SSDC CASE_DIR WORK_DIR\n");
    return 2;
  }
  const char *ssdc = argv[1], *cas = argv[2], *work = argv[3];
  char model[4096], cmd[20000], path[4096];
  mkdir(work, 0777);
  snprintf(path, sizeof path, "%s/model.safetensors", cas);
  snprintf(model, sizeof model, "%s", cas);
  if (!exists(path)) { /* a mamba_ssm checkpoint: convert it first */
    snprintf(model, sizeof model, "%s/converted", work);
    snprintf(cmd, sizeof cmd, "python3 '%s/tools/convert_mamba_ssm.py' '%s' '%s'", SSDC_SOURCE_DIR,
             cas, model);
    int rc = sh(cmd);
    TX_CHECK(rc == 0, "the converter failed (%d)", rc);
    if (rc) return 1;
  }
  check_logits(ssdc, model, cas, work);
  check_greedy(ssdc, model, cas);
  check_bad_input(ssdc, model, work);
  if (tx_failures) fprintf(stderr, "%s: %d failures\n", cas, tx_failures);
  else printf("golden %s: all passed\n", cas);
  return tx_failures != 0;
}
