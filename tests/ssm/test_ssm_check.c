/* test_ssm_check.c: rt_ssm_check and the forms reject bad descriptors and
 * operands with a message naming the problem, and never touch memory. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_ssm.h"

static int g_fail;

static rt_ssm_desc good(void) {
  return (rt_ssm_desc){.batch = 2,
                       .L = 8,
                       .H = 4,
                       .P = 4,
                       .N = 8,
                       .hx = 4,
                       .hb = 2,
                       .hc = 1,
                       .hdt = 4,
                       .has_dt = true,
                       .has_A = true,
                       .has_dt_bias = true,
                       .dt_softplus = true,
                       .A_is_log = true,
                       .dt_min = 0,
                       .dt_max = INFINITY,
                       .chunk = 4};
}

static void expect(const char *what, int rc, const ssd_ctx *c, const char *needle) {
  if (rc == SSD_OK || !strstr(c->msg, needle)) {
    g_fail++;
    fprintf(stderr, "FAIL %s: rc %d, message \"%s\" lacks \"%s\"\n", what, rc, c->msg, needle);
  }
}

int main(void) {
  FILE *devnull = fopen("/dev/null", "w");
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = devnull;
  rt_ssm_desc d = good();
  if (rt_ssm_check(&d, &c)) {
    fprintf(stderr, "FAIL the good descriptor was rejected: %s\n", c.msg);
    return 1;
  }
#define BAD(field_expr, needle)                            \
  do {                                                     \
    d = good();                                            \
    field_expr;                                            \
    c.msg[0] = 0;                                          \
    expect(#field_expr, rt_ssm_check(&d, &c), &c, needle); \
  } while (0)
  BAD(d.batch = 0, "batch");
  BAD(d.L = -1, "L");
  BAD(d.H = 0, "H");
  BAD(d.P = 0, "P");
  BAD(d.N = 0, "N");
  BAD(d.hb = 3, "hb = 3");
  BAD(d.hc = 8, "hc = 8");
  BAD(d.hx = 0, "hx");
  BAD(d.hdt = 3, "hdt");
  BAD(d.s6 = 2, "s6");
  BAD((d.s6 = 1, d.has_A = false, d.A_is_log = false), "S6");
  BAD((d.has_dt = false), "dt bias");
  BAD((d.has_dt = false, d.has_dt_bias = false), "softplus");
  BAD((d.has_A = false), "A_is_log");
  BAD(d.D_per_channel = true, "D_per_channel");
  BAD(d.dt_min = -1, "dt limits");
  BAD((d.dt_min = 0.5, d.dt_max = 0.1), "dt limits");
  BAD(d.dt_min = NAN, "dt limits");
  BAD((d.batch = 1 << 20, d.L = 1 << 20, d.H = 1 << 16, d.hx = 1 << 16), "too many");
  BAD((d.L = INT64_MAX / 2), "too many");
  BAD((d.P = 1 << 30, d.N = 1 << 30), "too many");

  /* The forms: descriptor errors, chunk size, missing and stray operands. */
  float buf[4096] = {0};
  rt_ssm_args a = {.x = buf, .dt = buf, .A = buf, .B = buf, .C = buf, .dt_bias = buf, .y = buf};
  int (*forms[])(const rt_ssm_desc *, const rt_ssm_args *, ssd_ctx *) = {
      rt_ssm_recurrent, rt_ssm_quadratic, rt_ssm_chunked};
  for (int f = 0; f < 3; f++) {
    d = good();
    if (forms[f](&d, &a, &c)) {
      g_fail++;
      fprintf(stderr, "FAIL form %d rejected good input: %s\n", f, c.msg);
    }
    d.hb = 3;
    expect("form with bad hb", forms[f](&d, &a, &c), &c, "hb");
    d = good();
    rt_ssm_args b = a;
    b.C = NULL;
    expect("form with C missing", forms[f](&d, &b, &c), &c, "operand C");
    b = a;
    b.z = buf;
    expect("form with stray z", forms[f](&d, &b, &c), &c, "operand z");
    expect("form with no operands", forms[f](&d, NULL, &c), &c, "no operands");
  }
  d = good();
  d.chunk = 0;
  expect("chunked with Q = 0", rt_ssm_chunked(&d, &a, &c), &c, "chunk size 0");
  d.chunk = 1 << 20;
  expect("chunked with huge Q", rt_ssm_chunked(&d, &a, &c), &c, "chunk size");
  rt_ssm_args64 a64 = {0};
  d = good();
  expect("reference with no operands", rt_ssm_ref_f64(&d, &a64, &c), &c, "operand x");
  fclose(devnull);
  printf("ssm check: %s\n", g_fail ? "FAILED" : "ok");
  return g_fail ? 1 : 0;
}
