/* ssd_gpu_util.h: shared by the GPU test and the GPU benchmark: random SSD
 * operands on the host (bf16-rounded, so the float64 reference sees exactly
 * the values the GPU reads), upload, and bf16 conversion.  Header-only so each
 * executable stays one .c file plus the libraries.
 */
#ifndef SSD_GPU_UTIL_H
#define SSD_GPU_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cuda.h"

/* Abort the test on a failed status, printing the call and the context's
 * message (the test's own static ssd_ctx, named C). */
#define GU_OK(call)                                                                      \
  do {                                                                                   \
    if ((call) != SSD_OK) {                                                              \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, C.msg);       \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

static inline uint16_t gu_f2bf(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
static inline float gu_bf2f(uint16_t v) {
  uint32_t u = (uint32_t)v << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* xorshift64* and Box-Muller: reproducible normals without libm state. */
static inline double gu_unif(uint64_t *s) {
  *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
  return (double)((*s * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static inline double gu_normal(uint64_t *s) {
  double u = gu_unif(s), v = gu_unif(s);
  return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* n values ~ scale * N(0,1) + shift, rounded to bf16 when bf is set. */
static inline double *gu_rand(size_t n, double scale, double shift, int bf, uint64_t *seed) {
  double *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) {
    double x = scale * gu_normal(seed) + shift;
    v[i] = bf ? gu_bf2f(gu_f2bf((float)x)) : (double)(float)x;
  }
  return v;
}

/* Upload doubles as bf16 (bf) or f32.  *out = 0 when v is NULL. */
static inline int gu_upload(rt_cuda *g, const double *v, size_t n, int bf, rt_dptr *out,
                            ssd_ctx *c) {
  *out = 0;
  if (!v) return SSD_OK;
  size_t es = bf ? 2 : 4;
  void *h = malloc(n * es);
  if (!h) return ssd_err(c, SSD_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    if (bf) ((uint16_t *)h)[i] = gu_f2bf((float)v[i]);
    else ((float *)h)[i] = (float)v[i];
  }
  int rc = rt_cuda_alloc(g, n * es, out, c);
  if (rc == SSD_OK) rc = rt_cuda_h2d(g, *out, h, n * es, c);
  free(h);
  return rc;
}

#endif
