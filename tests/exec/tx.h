/* tx.h: small helpers shared by the executor's tests (tests/exec/): a seeded
 * generator, NaN-poisoned buffers (so a kernel that forgets to write shows
 * up) and relative-difference checks that fail loudly.
 */
#ifndef SSD_TX_H
#define SSD_TX_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t tx_state = 0x9E3779B97F4A7C15ull;
static inline void tx_seed(uint64_t s) { tx_state = s * 0x9E3779B97F4A7C15ull + 1; }
static inline uint64_t tx_next(void) {
  tx_state ^= tx_state << 13;
  tx_state ^= tx_state >> 7;
  tx_state ^= tx_state << 17;
  return tx_state;
}
/* Uniform in [-1, 1). */
static inline double tx_unif(void) { return (double)(tx_next() >> 11) / 4503599627370496.0 - 1.0; }
static inline float *tx_rand(size_t n, double scale) {
  float *p = malloc(n * sizeof(float) + 1);
  if (!p) abort();
  for (size_t i = 0; i < n; i++) p[i] = (float)(tx_unif() * scale);
  return p;
}
static inline float *tx_poison(size_t n) {
  float *p = malloc(n * sizeof(float) + 1);
  if (!p) abort();
  for (size_t i = 0; i < n; i++) p[i] = NAN;
  return p;
}
/* max|a-b| / max|b|; NaN anywhere gives +inf. */
static inline double tx_reldiff_f64(const float *a, const double *b, size_t n) {
  double md = 0, mb = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
    double d = fabs((double)a[i] - b[i]);
    if (d > md) md = d;
    if (fabs(b[i]) > mb) mb = fabs(b[i]);
  }
  return mb > 0 ? md / mb : md;
}
static inline double tx_reldiff(const float *a, const float *b, size_t n) {
  double md = 0, mb = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
    double d = fabs((double)a[i] - b[i]);
    if (d > md) md = d;
    if (fabs(b[i]) > mb) mb = fabs(b[i]);
  }
  return mb > 0 ? md / mb : md;
}

static int tx_failures;
#define TX_CHECK(cond, ...)                                          \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
      fprintf(stderr, __VA_ARGS__);                                  \
      fprintf(stderr, "\n");                                         \
      tx_failures++;                                                 \
    }                                                                \
  } while (0)
#define TX_CLOSE(name, rd, tol)                                                   \
  do {                                                                            \
    double tx_rd_ = (rd);                                                         \
    TX_CHECK(tx_rd_ <= (tol), "%s: rel diff %.3g > %.3g", name, tx_rd_, (double)(tol)); \
    if (getenv("TX_VERBOSE")) fprintf(stderr, "ok %s: %.3g\n", name, tx_rd_);      \
  } while (0)

#endif
