/* ssd_check.h: the failure counter and CHECK macro the C tests share.  A
 * failed check prints file:line and the condition and the test goes on, so
 * one run reports every failure; main returns `fails != 0`.  Include it
 * once per test program. */
#ifndef SSD_CHECK_H
#define SSD_CHECK_H

#include <stdio.h>

static int fails;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      fails++;                                                                 \
    }                                                                          \
  } while (0)

#endif
