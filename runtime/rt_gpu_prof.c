/* rt_gpu_prof.c: per-line device time of GPU forwards (see rt_gpu_prof.h).
 *
 * A row is (op, source, line): the nodes an elaborated layer stack made from
 * one line of the model file, in every layer, share it, which is the unit a
 * user can act on.  Nodes without a location (made by a pass) get line 0.
 */
#include "rt_gpu_prof.h"

#include <stdlib.h>
#include <string.h>

#define PROF_ROWS 256

typedef struct prof_row {
  ir_op op;
  const ssd_src *src;
  int line;
  double ms, flops;
  long n;
} prof_row;

struct rt_gpu_prof {
  prof_row row[PROF_ROWS];
  int nrows;
  long lost; /* nodes that found no free row */
  rt_cuda_timer t;
};

rt_gpu_prof *rt_gpu_prof_new(void) {
  const char *e = getenv("SSDC_PROFILE");
  if (!e || !*e || !strcmp(e, "0")) return NULL;
  rt_gpu_prof *p = calloc(1, sizeof *p);
  if (!p) fprintf(stderr, "ssdc: no memory for $SSDC_PROFILE; running without it\n");
  return p;
}

void rt_gpu_prof_free(rt_gpu_prof *p) { free(p); }

int rt_gpu_prof_begin(rt_gpu_prof *p, rt_cuda *cu, ssd_ctx *c) {
  return rt_cuda_timer_start(cu, &p->t, c);
}

static prof_row *row_of(rt_gpu_prof *p, const ir_node *n) {
  for (int i = 0; i < p->nrows; i++) {
    prof_row *r = &p->row[i];
    if (r->op == n->op && r->src == n->loc.src && r->line == n->loc.line) return r;
  }
  if (p->nrows == PROF_ROWS) return NULL;
  prof_row *r = &p->row[p->nrows++];
  memset(r, 0, sizeof *r);
  r->op = n->op, r->src = n->loc.src, r->line = n->loc.line;
  return r;
}

int rt_gpu_prof_end(rt_gpu_prof *p, rt_cuda *cu, const ir_node *n, double flops, ssd_ctx *c) {
  float ms = 0;
  int rc = rt_cuda_timer_stop(cu, &p->t, &ms, c);
  if (rc) return rc;
  prof_row *r = row_of(p, n);
  if (!r) {
    p->lost++;
    return SSD_OK;
  }
  r->ms += ms, r->flops += flops, r->n++;
  return SSD_OK;
}

static int by_time(const void *a, const void *b) {
  const double x = ((const prof_row *)a)->ms, y = ((const prof_row *)b)->ms;
  return (x < y) - (x > y);
}

static const char *base_name(const ssd_src *s) {
  if (!s || !s->path) return "-";
  const char *b = strrchr(s->path, '/');
  return b ? b + 1 : s->path;
}

void rt_gpu_prof_report(rt_gpu_prof *p, int64_t B, int64_t L, FILE *f) {
  double total = 0;
  for (int i = 0; i < p->nrows; i++) total += p->row[i].ms;
  qsort(p->row, (size_t)p->nrows, sizeof p->row[0], by_time);
  fprintf(f, "ssdc profile (gpu, forward %lldx%lld): %.3f ms of device time in nodes\n",
          (long long)B, (long long)L, total);
  int small = 0; /* rows under 0.05% (weights, views): counted, not listed */
  for (int i = 0; i < p->nrows; i++) {
    const prof_row *r = &p->row[i];
    if (r->ms < 5e-4 * total) {
      small++;
      continue;
    }
    fprintf(f, "  %-16s %s:%-4d %9.3f ms %5.1f%% %6ld runs", ir_op_name(r->op), base_name(r->src),
            r->line, r->ms, total > 0 ? 100 * r->ms / total : 0.0, r->n);
    if (r->flops > 0 && r->ms > 0) fprintf(f, " %7.1f TFLOP/s", r->flops / (r->ms * 1e9));
    fputc('\n', f);
  }
  if (small) fprintf(f, "  (%d rows under 0.05%% each not listed)\n", small);
  if (p->lost) fprintf(f, "  (%ld nodes beyond %d rows not counted)\n", p->lost, PROF_ROWS);
  p->nrows = 0, p->lost = 0;
}
