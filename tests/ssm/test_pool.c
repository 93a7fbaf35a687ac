/* test_pool.c: rt_parallel_for covers every index exactly once, for many
 * range sizes and grains, with nested and concurrent callers, before and
 * after init, and across a restart with another thread count. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_pool.h"

static int g_fail;

typedef struct cover {
  atomic_int *hits;
  int64_t n;
  int nested; /* run a nested parallel-for inside each range */
} cover;

static void inner(void *ctx, int64_t b, int64_t e) {
  atomic_int *h = ctx;
  for (int64_t i = b; i < e; i++) atomic_fetch_add(&h[i], 1);
}

static void outer(void *ctx, int64_t b, int64_t e) {
  cover *c = ctx;
  if (b < 0 || e > c->n || b >= e) {
    atomic_fetch_add(&c->hits[0], 1000); /* a bad range fails the count */
    return;
  }
  if (c->nested)
    rt_parallel_for(e - b, 0, inner, c->hits + b);
  else
    inner(c->hits, b, e);
}

static void check_cover(int64_t n, int64_t grain, int nested, const char *when) {
  cover c = {calloc((size_t)(n > 0 ? n : 1), sizeof(atomic_int)), n, nested};
  rt_parallel_for(n, grain, outer, &c);
  for (int64_t i = 0; i < n; i++)
    if (atomic_load(&c.hits[i]) != 1) {
      g_fail++;
      fprintf(stderr, "FAIL %s n=%lld grain=%lld nested=%d: index %lld hit %d times\n", when,
              (long long)n, (long long)grain, nested, (long long)i, atomic_load(&c.hits[i]));
      break;
    }
  free(c.hits);
}

static void sweep(const char *when) {
  const int64_t ns[] = {0, 1, 2, 3, 7, 64, 1000, 100003};
  const int64_t gs[] = {0, 1, 5, 1 << 20};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    for (size_t j = 0; j < sizeof gs / sizeof gs[0]; j++)
      for (int nested = 0; nested < 2; nested++) check_cover(ns[i], gs[j], nested, when);
}

static void *caller(void *arg) {
  (void)arg;
  for (int k = 0; k < 50; k++) check_cover(5000, 0, k & 1, "concurrent");
  return NULL;
}

int main(void) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  sweep("no pool");
  if (rt_pool_threads() != 1) g_fail++, fprintf(stderr, "FAIL threads without a pool\n");
  if (rt_pool_init(4, &c)) return fprintf(stderr, "pool: %s\n", c.msg), 1;
  if (rt_pool_threads() != 4) g_fail++, fprintf(stderr, "FAIL threads after init(4)\n");
  sweep("pool of 4");
  pthread_t th[3];
  for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, caller, NULL);
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  if (rt_pool_init(2, &c)) return fprintf(stderr, "pool: %s\n", c.msg), 1;
  sweep("pool of 2");
  FILE *devnull = fopen("/dev/null", "w");
  c.diag = devnull;
  if (rt_pool_init(100000, &c) == SSD_OK) g_fail++, fprintf(stderr, "FAIL init(100000) accepted\n");
  fclose(devnull);
  rt_pool_shutdown();
  rt_pool_shutdown();
  sweep("after shutdown");
  printf("pool: %s\n", g_fail ? "FAILED" : "ok");
  return g_fail ? 1 : 0;
}
