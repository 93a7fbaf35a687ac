/* fe_bad_main.c: the malformed-input runner.
 *
 *   fe_bad CORPUS_DIR TMP_DIR
 *
 * Every .ssd file in CORPUS_DIR starts with "# expect: LINE:COL: MESSAGE".  The
 * file must fail (parse, check or lowering) and its first diagnostic must
 * be exactly "PATH:LINE:COL: error: ..." with MESSAGE in it.  Then hostile
 * inputs are generated in TMP_DIR (200k-deep nesting, 2 MB lines, binary
 * junk, a directory, an over-size file, an error flood) and must fail
 * cleanly with the expected message: no crash, hang or leak (the ASan
 * build runs this too).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fe.h"

static int failures;

/* Run the whole frontend on path; diagnostics go to *diag (malloc'ed). */
static int run_frontend(const char *path, char **diag, int *nerrors) {
  size_t len;
  FILE *f = open_memstream(diag, &len);
  if (!f) return -1;
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = f;
  ssd_arena *a = ssd_arena_new();
  fe_program *p;
  ir_module *m = NULL;
  int rc = a ? fe_parse_file(a, path, &p, &c) : SSD_ENOMEM;
  if (!rc) rc = fe_lower(p, &m, &c);
  ir_module_free(m);
  ssd_arena_free(a);
  fclose(f);
  *nerrors = c.nerrors;
  return rc;
}

static bool has_error_tag(const char *p, size_t k) {
  static const char tag[] = ": error: ";
  for (size_t i = 0; i + sizeof tag - 1 <= k; i++)
    if (!memcmp(p + i, tag, sizeof tag - 1)) return true;
  return false;
}

static const char *first_error(const char *diag, char *line, size_t n) {
  for (const char *p = diag; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (has_error_tag(p, k)) {
      if (k >= n) k = n - 1;
      memcpy(line, p, k);
      line[k] = 0;
      return line;
    }
    p = e ? e + 1 : NULL;
  }
  return NULL;
}

/* want_loc "L:C" or NULL (any location); want_msg substring. */
static void expect(const char *name, const char *path, const char *want_loc, const char *want_msg,
                   int max_errors_seen) {
  char *diag = NULL, line[4096];
  int nerr = 0;
  int rc = run_frontend(path, &diag, &nerr);
  const char *got = first_error(diag, line, sizeof line);
  char prefix[4096];
  if (want_loc)
    snprintf(prefix, sizeof prefix, "%s:%s: error: ", path, want_loc);
  else
    snprintf(prefix, sizeof prefix, "%s:", path);
  bool ok = rc != 0 && got && !strncmp(got, prefix, strlen(prefix)) && strstr(got, want_msg);
  if (max_errors_seen && nerr > max_errors_seen) ok = false;
  if (!ok) {
    failures++;
    printf("FAIL %s: rc=%d errors=%d\n  want: %s... %s\n  got:  %s\n", name, rc, nerr, prefix,
           want_msg, got ? got : "(no error line)");
  } else {
    printf("ok   %s\n", name);
  }
  free(diag);
}

/* ---- the corpus --------------------------------------------------------- */
static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_corpus(const char *dir) {
  struct dirent **ents;
  int n = scandir(dir, &ents, NULL, by_name), count = 0;
  if (n < 0) {
    printf("FAIL cannot read %s\n", dir);
    failures++;
    return 0;
  }
  for (int i = 0; i < n; i++) {
    const char *nm = ents[i]->d_name;
    size_t l = strlen(nm);
    if (l > 4 && !strcmp(nm + l - 4, ".ssd")) {
      char path[4096], head[1024] = "", loc[64];
      snprintf(path, sizeof path, "%s/%s", dir, nm);
      FILE *f = fopen(path, "rb");
      if (!f || !fgets(head, sizeof head, f)) head[0] = 0;
      if (f) fclose(f);
      head[strcspn(head, "\n")] = 0;
      int ln, col, off = 0;
      if (sscanf(head, "# expect: %d:%d: %n", &ln, &col, &off) != 2 || !off) {
        printf("FAIL %s: no '# expect: L:C: message' first line\n", nm);
        failures++;
      } else {
        snprintf(loc, sizeof loc, "%d:%d", ln, col);
        expect(nm, path, loc, head + off, 0);
        count++;
      }
    }
    free(ents[i]);
  }
  free(ents);
  return count;
}

/* ---- hostile inputs -------------------------------------------------------- */
static char *tmp_path(const char *tmp, const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", tmp, name);
  return buf;
}

static void write_parts(const char *path, const char *pre, int rep_ch, const char *rep,
                        long nrep, const char *post) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    printf("FAIL cannot write %s\n", path);
    failures++;
    return;
  }
  fputs(pre, f);
  for (long i = 0; i < nrep; i++) {
    if (rep) fputs(rep, f);
    else fputc(rep_ch, f);
  }
  fputs(post, f);
  fclose(f);
}

static void hostile(const char *tmp) {
  char *p;
  p = tmp_path(tmp, "nest_parens.ssd");
  write_parts(p, "param x = ", '(', NULL, 200000, "1;\n");
  expect("hostile: 200k nested parentheses", p, "1:267", "brackets nested too deeply", 0);

  p = tmp_path(tmp, "nest_braces.ssd");
  write_parts(p, "forward(ids) ", 0, "{ if true ", 200000, "\n");
  expect("hostile: 200k nested blocks", p, NULL, "brackets nested too deeply", 0);

  p = tmp_path(tmp, "unary_chain.ssd");
  write_parts(p, "param x = ", '-', NULL, 200000, "1;\n");
  expect("hostile: 200k unary minus", p, NULL, "nested too deeply", 0);

  p = tmp_path(tmp, "long_sum.ssd");
  write_parts(p, "param x = 1", 0, " + 1", 500000, ";\n");
  expect("hostile: 2 MB line of + 1", p, NULL, "expression nested too deeply", 0);

  p = tmp_path(tmp, "long_ident.ssd");
  write_parts(p, "param ", 'a', NULL, 2 << 20, " = 1;\n");
  expect("hostile: 2 MB identifier", p, "1:7", "identifier too long", 0);

  p = tmp_path(tmp, "long_string.ssd");
  write_parts(p, "model m for hf \"", 'x', NULL, 2 << 20, "");
  expect("hostile: unterminated 2 MB string", p, "1:16", "unterminated string", 0);

  /* 2 MB of "{i}" in one checkpoint name: lowering must stay linear. */
  p = tmp_path(tmp, "placeholders.ssd");
  write_parts(p, "block b(h, layer i) {\n  weight w [4] = \"", 0, "{i}", 700000,
              "\";\n  weight v [4, 4] = \"v\" if false;\n  return linear(h * w, v);\n}\n"
              "forward(ids) {\n  weight e [8, 4] = \"e\";\n  return b(embed(ids, e), 0);\n}\n");
  expect("hostile: 2 MB of checkpoint-name placeholders", p, "4:24", "this value is none", 0);

  p = tmp_path(tmp, "nul.ssd");
  {
    FILE *f = fopen(p, "wb");
    if (f) {
      fwrite("param x = 1;\0param y = 2;\n", 1, 26, f);
      fclose(f);
    }
  }
  expect("hostile: NUL byte", p, "1:13", "NUL byte in source", 0);

  /* Seeded junk with NULs, high bytes and stray brackets. */
  p = tmp_path(tmp, "junk.ssd");
  {
    FILE *f = fopen(p, "wb");
    unsigned s = 12345;
    for (int i = 0; f && i < 1 << 16; i++) {
      s = s * 1103515245u + 12345u;
      fputc((int)(s >> 16) & 0xff, f);
    }
    if (f) fclose(f);
  }
  expect("hostile: 64 KiB binary junk", p, NULL, "error", 21);

  p = tmp_path(tmp, "flood.ssd");
  write_parts(p, "", 0, "param = ;\n", 5000, "");
  expect("hostile: 5000 syntax errors (capped)", p, "1:7", "syntax error", 21);

  p = tmp_path(tmp, "big.ssd");
  write_parts(p, "", 0, "# padding padding padding padding padding padding padding\n", 300000, "");
  {
    char *diag = NULL;
    int nerr;
    int rc = run_frontend(p, &diag, &nerr);
    bool ok = rc == SSD_EIO && diag && strstr(diag, "too large");
    printf("%s hostile: 17 MB file\n", ok ? "ok  " : "FAIL");
    if (!ok) failures++, printf("  got: %s\n", diag ? diag : "");
    free(diag);
  }

  p = tmp_path(tmp, "a_directory.ssd");
  mkdir(p, 0755);
  {
    char *diag = NULL;
    int nerr;
    int rc = run_frontend(p, &diag, &nerr);
    bool ok = rc == SSD_EIO && diag && strstr(diag, "not a regular file");
    printf("%s hostile: a directory\n", ok ? "ok  " : "FAIL");
    if (!ok) failures++, printf("  got: %s\n", diag ? diag : "");
    free(diag);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fe_bad CORPUS_DIR TMP_DIR\n");
    return 2;
  }
  int n = run_corpus(argv[1]);
  if (n < 40) {
    printf("FAIL only %d corpus files (want at least 40)\n", n);
    failures++;
  }
  mkdir(argv[2], 0755);
  hostile(argv[2]);
  printf("%d corpus files, %d failures\n", n, failures);
  return failures ? 1 : 0;
}
