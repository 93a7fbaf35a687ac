/* rt_pool.h: a tiny fixed pthread pool with one operation, parallel-for.
 *
 * The CPU runtime (the mixer forms in rt_ssm*.c, the executor's matmuls and
 * elementwise ops) splits loops over independent rows with rt_parallel_for.
 * There is one process-wide pool: rt_pool_init starts it, rt_pool_shutdown
 * joins it.  Without a pool (never initialised, or nthreads == 1) every
 * rt_parallel_for runs the whole range on the calling thread, so library code
 * may call it unconditionally.  A call made from inside a pool worker, or
 * while another thread's parallel-for is in flight, also runs serially on the
 * caller: nesting and concurrent callers are safe, never deadlock.
 */
#ifndef SSD_RT_POOL_H
#define SSD_RT_POOL_H

#include <stdint.h>

#include "ssd_base.h"

/* Start the pool with nthreads threads in all, the caller included
 * (nthreads <= 0: one per online CPU; capped at 256).  Calling it again
 * with a pool already running restarts it with the new count.  Returns
 * SSD_OK, SSD_EINVAL or SSD_ENOMEM (thread creation failed) with a message. */
int rt_pool_init(int nthreads, ssd_ctx *c);

/* Threads that a parallel-for may use now (1 when no pool is running). */
int rt_pool_threads(void);

/* Call fn(ctx, begin, end) on disjoint subranges covering [0, n) exactly
 * once, in parallel, and return when all are done.  Subranges are handed out
 * dynamically in blocks of at least `grain` items (grain <= 0: chosen so
 * each thread gets about four blocks).  fn must not assume any order.  n <= 0
 * does nothing. */
typedef void (*rt_range_fn)(void *ctx, int64_t begin, int64_t end);
void rt_parallel_for(int64_t n, int64_t grain, rt_range_fn fn, void *ctx);

/* Join the workers and free the pool.  Safe to call when none is running. */
void rt_pool_shutdown(void);

#endif
