/* rtio_test.h: the few helpers the checkpoint/config I/O tests share: a
 * failure counter with file:line reports, a diagnostics sink, and a check
 * that an operation failed with the expected status and message. */
#ifndef RTIO_TEST_H
#define RTIO_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssd_base.h"

#include "../ssd_check.h"

/* A context whose diagnostics go to a scratch file (tests print the message
 * themselves when an expectation fails). */
static inline void rtio_ctx(ssd_ctx *c, FILE *sink) {
  ssd_ctx_init(c);
  c->diag = sink;
  c->max_errors = 1000;
}

/* rc must be `want` and the last error message must contain `needle`. */
#define CHECK_ERR(rc, c, want, needle)                                                       \
  do {                                                                                       \
    int rc_ = (rc);                                                                          \
    if (rc_ != (want) || !strstr((c)->msg, (needle))) {                                      \
      fprintf(stderr, "%s:%d: expected %s containing \"%s\", got %s: %s\n", __FILE__,        \
              __LINE__, ssd_status_name(want), (needle), ssd_status_name(rc_), (c)->msg);    \
      fails++;                                                                       \
    }                                                                                        \
  } while (0)

/* Deterministic PRNG (splitmix64) so failures reproduce. */
static inline unsigned long long rtio_rand(unsigned long long *s) {
  unsigned long long z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline int rtio_done(const char *name) {
  if (fails) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, fails);
    return 1;
  }
  printf("%s: ok\n", name);
  return 0;
}

#endif
