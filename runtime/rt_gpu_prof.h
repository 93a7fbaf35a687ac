/* rt_gpu_prof.h: $SSDC_PROFILE for the GPU executor (rt_gpu_model.c).
 *
 * Where does a forward's device time go?  With $SSDC_PROFILE set (and not
 * "0"), every node of an uncaptured forward runs between two CUDA events, and
 * the device time is summed per model-file line and op (in_proj and out_proj
 * are different lines, so different rows).  After each forward the rows are
 * printed to stderr, largest first, with each row's share and, for rows that
 * report FLOPs (linear), their TFLOP/s; then the table starts again.  The
 * events serialize the host with the stream, so the forward's wall time grows,
 * but each node's device time is its own.  Captured decode steps are never
 * timed (a capture cannot wait on an event).  The CPU executor's profile is
 * the same variable (rt_exec.c).
 */
#ifndef SSD_RT_GPU_PROF_H
#define SSD_RT_GPU_PROF_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "rt_cuda.h"

typedef struct rt_gpu_prof rt_gpu_prof;

/* A profile when $SSDC_PROFILE asks for one, else NULL (also when out of
 * memory: profiling is a diagnostic, so it says so on stderr and runs without). */
rt_gpu_prof *rt_gpu_prof_new(void);
void rt_gpu_prof_free(rt_gpu_prof *p);

/* Around one node: begin records the start event; end waits for the node's
 * work, and adds its time (and flops, 0 if not counted) to n's row. */
int rt_gpu_prof_begin(rt_gpu_prof *p, rt_cuda *cu, ssd_ctx *c);
int rt_gpu_prof_end(rt_gpu_prof *p, rt_cuda *cu, const ir_node *n, double flops, ssd_ctx *c);

/* Print the rows gathered since the last report under a "forward BxL" title, then forget them. */
void rt_gpu_prof_report(rt_gpu_prof *p, int64_t B, int64_t L, FILE *f);

#endif
