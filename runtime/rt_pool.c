/* rt_pool.c: the process-wide pthread pool behind rt_parallel_for.
 *
 * One job at a time: the submitting thread publishes (fn, ctx, n, grain),
 * bumps a generation counter and wakes the workers; everybody, the submitter
 * included, claims blocks of the range from an atomic cursor until it runs
 * past n; the submitter then waits until every worker has left the job.
 * A submit lock taken with trylock makes nested or concurrent calls fall
 * back to running serially instead of waiting on a pool that is busy with
 * (possibly) their own caller.
 */
#include "rt_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { RT_POOL_MAX_THREADS = 256 };

typedef struct rt_pool {
  pthread_mutex_t mu;
  pthread_cond_t work_cv, done_cv;
  pthread_t *th;
  int nworkers; /* threads besides the submitter */
  int stop;
  uint64_t gen;   /* bumped once per job */
  int busy;       /* workers that have not finished the current job */
  rt_range_fn fn; /* the current job */
  void *ctx;
  int64_t n, grain;
  _Atomic int64_t next;
} rt_pool;

static rt_pool *g_pool;
/* Held for the whole of a parallel-for, and by init/shutdown. */
static pthread_mutex_t g_submit = PTHREAD_MUTEX_INITIALIZER;
/* Set while a thread runs pool work, so nested calls stay serial. */
static _Thread_local int t_in_job;

static void pool_run_blocks(rt_pool *p) {
  t_in_job = 1;
  for (;;) {
    int64_t b = atomic_fetch_add_explicit(&p->next, p->grain, memory_order_relaxed);
    if (b >= p->n) break;
    int64_t e = p->n - b < p->grain ? p->n : b + p->grain;
    p->fn(p->ctx, b, e);
  }
  t_in_job = 0;
}

static void *pool_worker(void *arg) {
  rt_pool *p = arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->gen == seen) pthread_cond_wait(&p->work_cv, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    pool_run_blocks(p);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_signal(&p->done_cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Join and free; the caller holds g_submit. */
static void pool_stop_locked(void) {
  rt_pool *p = g_pool;
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nworkers; i++) pthread_join(p->th[i], NULL);
  pthread_cond_destroy(&p->work_cv);
  pthread_cond_destroy(&p->done_cv);
  pthread_mutex_destroy(&p->mu);
  free(p->th);
  free(p);
  g_pool = NULL;
}

static int pool_start_locked(int nthreads, ssd_ctx *c) {
  rt_pool *p = calloc(1, sizeof *p);
  if (!p) return ssd_err(c, SSD_ENOMEM, "thread pool: out of memory");
  p->th = calloc((size_t)nthreads, sizeof *p->th);
  if (!p->th) {
    free(p);
    return ssd_err(c, SSD_ENOMEM, "thread pool: out of memory");
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work_cv, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  g_pool = p;
  for (int i = 0; i < nthreads - 1; i++) {
    int e = pthread_create(&p->th[i], NULL, pool_worker, p);
    if (e) {
      pool_stop_locked();
      return ssd_err(c, SSD_ENOMEM, "thread pool: cannot start thread %d of %d: %s", i + 2,
                     nthreads, strerror(e));
    }
    p->nworkers++;
  }
  return SSD_OK;
}

int rt_pool_init(int nthreads, ssd_ctx *c) {
  if (nthreads <= 0) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    nthreads = ncpu > 0 ? (int)(ncpu < RT_POOL_MAX_THREADS ? ncpu : RT_POOL_MAX_THREADS) : 1;
  }
  if (nthreads > RT_POOL_MAX_THREADS)
    return ssd_err(c, SSD_EINVAL, "thread pool: %d threads requested, at most %d", nthreads,
                   RT_POOL_MAX_THREADS);
  pthread_mutex_lock(&g_submit);
  pool_stop_locked();
  int rc = nthreads > 1 ? pool_start_locked(nthreads, c) : SSD_OK;
  pthread_mutex_unlock(&g_submit);
  return rc;
}

int rt_pool_threads(void) {
  pthread_mutex_lock(&g_submit);
  int n = g_pool ? g_pool->nworkers + 1 : 1;
  pthread_mutex_unlock(&g_submit);
  return n;
}

void rt_parallel_for(int64_t n, int64_t grain, rt_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (t_in_job || pthread_mutex_trylock(&g_submit) != 0) {
    fn(ctx, 0, n);
    return;
  }
  rt_pool *p = g_pool;
  int64_t nt = p ? p->nworkers + 1 : 1;
  if (grain <= 0) grain = n / (4 * nt) > 0 ? n / (4 * nt) : 1;
  if (!p || n <= grain) {
    pthread_mutex_unlock(&g_submit);
    fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->grain = grain;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  p->busy = p->nworkers;
  p->gen++;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  pool_run_blocks(p);
  pthread_mutex_lock(&p->mu);
  while (p->busy > 0) pthread_cond_wait(&p->done_cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
  pthread_mutex_unlock(&g_submit);
}

void rt_pool_shutdown(void) {
  pthread_mutex_lock(&g_submit);
  pool_stop_locked();
  pthread_mutex_unlock(&g_submit);
}
