/* test_ops_gpu.c: every op kernel (cg_cuda_ops.h) and the cuBLASLt GEMM on
 * the GPU against the CPU kernels (rt_ops.h) and the float64 S6 reference
 * (rt_ssm.h), each in fp32 storage (tight) and bf16 storage (inputs rounded
 * to bf16 on the host first, so both sides see the same values).
 *
 * Inputs are random normals at realistic scales and model widths; every
 * output buffer is filled with NaN before the kernel runs, so a kernel that
 * skips an element fails.  Metric: max|gpu - ref| / max|ref| per output.
 * Needs a GPU (label gpu); exits 1 on any mismatch or launch error.
 */
#define _GNU_SOURCE /* setenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cuda/ssd_gpu_util.h"
#include "ops_specs.h"
#include "rt_cublaslt.h"
#include "rt_cuda_exec.h"
#include "rt_ops.h"
#include "rt_ssm.h"

static int fails;
static rt_cuda *G;
static cg_cache CC;
static ssd_ctx C;
static uint64_t seed = 0x5eed1234abcdull;

#define OK(call) GU_OK(call)

/* ---- host/device buffers ------------------------------------------------------------ */
/* n floats ~ scale N(0,1) + shift, rounded to bf16 if bf. */
static float *rnd(size_t n, double scale, double shift, int bf) {
  float *v = malloc(n * sizeof *v);
  if (!v) exit(1);
  for (size_t i = 0; i < n; i++) {
    float x = (float)(scale * gu_normal(&seed) + shift);
    v[i] = bf ? gu_bf2f(gu_f2bf(x)) : x;
  }
  return v;
}
static rt_dptr up(const float *v, size_t n, int bf) {
  size_t es = bf ? 2 : 4;
  void *h = malloc(n * es);
  for (size_t i = 0; i < n; i++) {
    if (bf) ((uint16_t *)h)[i] = gu_f2bf(v[i]);
    else ((float *)h)[i] = v[i];
  }
  rt_dptr d;
  OK(rt_cuda_alloc(G, n * es, &d, &C));
  OK(rt_cuda_h2d(G, d, h, n * es, &C));
  free(h);
  return d;
}
/* rows x D values as rows ld apart (ld >= D), the gaps NaN: a kernel reading
 * a view into wider rows (cg_op_spec ldx/ldz) must skip them. */
static rt_dptr up_rows(const float *v, int64_t rows, int64_t D, int64_t ld, int bf) {
  float *w = malloc((size_t)(rows * ld) * sizeof *w);
  if (!w) exit(1);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < ld; j++) w[r * ld + j] = j < D ? v[r * D + j] : NAN;
  rt_dptr d = up(w, (size_t)(rows * ld), bf);
  free(w);
  return d;
}
/* A NaN-poisoned output (0xff bytes are NaN in fp32 and bf16). */
static rt_dptr out_buf(size_t n, int bf) {
  rt_dptr d;
  OK(rt_cuda_alloc(G, n * (bf ? 2 : 4), &d, &C));
  OK(rt_cuda_memset8(G, d, 0xff, n * (bf ? 2 : 4), &C));
  return d;
}
static float *down(rt_dptr d, size_t n, int bf) {
  OK(rt_cuda_sync(G, &C));
  float *v = malloc(n * sizeof *v);
  void *h = malloc(n * (bf ? 2 : 4));
  OK(rt_cuda_d2h(G, h, d, n * (bf ? 2 : 4), &C));
  for (size_t i = 0; i < n; i++) v[i] = bf ? gu_bf2f(((uint16_t *)h)[i]) : ((float *)h)[i];
  free(h);
  return v;
}
/* max|a - ref| / max|ref|; NaN anywhere gives inf. */
static double rel(const float *a, const float *ref, size_t n) {
  double md = 0, mr = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(a[i])) return INFINITY;
    md = fmax(md, fabs((double)a[i] - ref[i]));
    mr = fmax(mr, fabs((double)ref[i]));
  }
  return mr > 0 ? md / mr : md;
}
static void report(const char *what, int bf, double err, double tol) {
  int ok = err <= tol;
  printf("%-4s %-34s %s rel err %.3g (tol %.0e)\n", ok ? "ok" : "FAIL", what, bf ? "bf16" : "fp32",
         err, tol);
  if (!ok) fails++;
}
static double tol(int bf) { return bf ? 2e-2 : 2e-5; }
static float silu(float v) { return v / (1.0f + expf(-v)); }

/* Activations in bf16 or not; weights the same unless wf32 (the bf16
 * executor keeps norm and conv weights fp32). */
static rt_cuda_op prep_w(cg_op_spec s, int bf, int wf32) {
  s.in_bf16 = s.out_bf16 = bf;
  s.w_bf16 = bf && !wf32;
  rt_cuda_op k;
  OK(rt_cuda_op_prepare(G, &CC, &s, &k, &C));
  return k;
}
static rt_cuda_op prep(cg_op_spec s, int bf) { return prep_w(s, bf, 0); }

/* ---- the kernels ------------------------------------------------------------------- */
/* The device pool: a freed block comes back for an allocation of about its
 * size without growing what is held, a much smaller one does not take it,
 * and trimming gives idle blocks back. */
static void t_pool(void) {
  rt_cuda_mem_stats m0, m1, m2, m3;
  rt_cuda_pool_trim(G, false);
  rt_cuda_mem(G, &m0);
  rt_dptr a, b, s;
  OK(rt_cuda_alloc(G, (size_t)48 << 20, &a, &C));
  rt_cuda_free(G, a);
  OK(rt_cuda_alloc(G, ((size_t)48 << 20) - 1000, &b, &C)); /* fits the freed block */
  OK(rt_cuda_alloc(G, 4096, &s, &C));                     /* too small to pin 48 MiB */
  rt_cuda_mem(G, &m1);
  rt_cuda_free(G, b), rt_cuda_free(G, s);
  rt_cuda_mem(G, &m2);
  rt_cuda_pool_trim(G, true); /* freed in this epoch: kept */
  rt_cuda_pool_trim(G, true); /* idle for a whole epoch: returned */
  rt_cuda_mem(G, &m3);
  int ok = b == a && s != a && m1.held - m0.held == ((size_t)48 << 20) + 4096 &&
           m2.pooled == m1.held - m0.held && m3.held == m0.held && m3.peak >= m1.held;
  printf("%-4s device pool: reuse without growth, best fit, trim (held %zu -> %zu -> %zu)\n",
         ok ? "ok" : "FAIL", m0.held, m1.held, m3.held);
  fails += !ok;
}

/* A tied table kept as bf16 + bf16 remainder gathers fp32 rows to ~2^-17. */
static void t_embed_split(void) {
  const int64_t V = 1000, D = 768, n = 77;
  float *tab = rnd((size_t)(V * D), 0.02, 0, 0), *lo = malloc((size_t)(V * D) * sizeof *lo);
  float *ref = malloc(n * D * sizeof(float));
  for (int64_t i = 0; i < V * D; i++) lo[i] = tab[i] - gu_bf2f(gu_f2bf(tab[i]));
  long long lids[77];
  int64_t ids[77];
  for (int i = 0; i < n; i++) ids[i] = lids[i] = (int64_t)(gu_unif(&seed) * V) % V;
  OK(rt_embed(ids, n, tab, V, D, ref, &C));
  cg_op_spec s = os_embed(V, D);
  s.w_bf16 = s.w_split = true;
  rt_cuda_op k;
  OK(rt_cuda_op_prepare(G, &CC, &s, &k, &C));
  rt_dptr dt = up(tab, (size_t)(V * D), 1), dl = up(lo, (size_t)(V * D), 1), did;
  rt_dptr dout = out_buf((size_t)(n * D), 0);
  OK(rt_cuda_alloc(G, sizeof lids, &did, &C));
  OK(rt_cuda_h2d(G, did, lids, sizeof lids, &C));
  OK(rt_cuda_embed(G, &k, did, n, dt, dl, dout, 0, &C));
  float *y = down(dout, (size_t)(n * D), 0);
  report("embedding 1000x768 bf16 hi + lo", 0, rel(y, ref, (size_t)(n * D)), 2e-5);
  int refused = rt_cuda_embed(G, &k, did, n, dt, 0, dout, 0, &C) == SSD_EINVAL;
  printf("%-4s embedding split table without its remainder refused\n", refused ? "ok" : "FAIL");
  fails += !refused;
  rt_cuda_free(G, dt), rt_cuda_free(G, dl), rt_cuda_free(G, did), rt_cuda_free(G, dout);
  rt_cuda_op_release(G, &k);
  free(tab), free(lo), free(ref), free(y);
}

static void t_embed(int bf) {
  const int64_t V = 1000, D = 768, n = 77;
  float *tab = rnd((size_t)(V * D), 0.02, 0, bf), *ref = malloc(n * D * sizeof(float));
  int64_t ids[77];
  long long lids[77];
  for (int i = 0; i < n; i++) ids[i] = lids[i] = (int64_t)(gu_unif(&seed) * V) % V;
  OK(rt_embed(ids, n, tab, V, D, ref, &C));
  rt_cuda_op k = prep(os_embed(V, D), bf);
  rt_dptr dt = up(tab, (size_t)(V * D), bf), did, dout = out_buf((size_t)(n * D), bf), bad;
  OK(rt_cuda_alloc(G, sizeof lids, &did, &C));
  OK(rt_cuda_h2d(G, did, lids, sizeof lids, &C));
  OK(rt_cuda_alloc(G, 4, &bad, &C));
  OK(rt_cuda_memset8(G, bad, 0, 4, &C));
  OK(rt_cuda_embed(G, &k, did, n, dt, 0, dout, bad, &C));
  float *y = down(dout, (size_t)(n * D), bf);
  report("embedding 1000x768", bf, rel(y, ref, (size_t)(n * D)), 0);
  /* An out-of-range id: its row is NaN and the flag goes up. */
  lids[5] = V;
  OK(rt_cuda_h2d(G, did, lids, sizeof lids, &C));
  OK(rt_cuda_embed(G, &k, did, n, dt, 0, dout, bad, &C));
  int flag = 0;
  OK(rt_cuda_sync(G, &C));
  OK(rt_cuda_d2h(G, &flag, bad, 4, &C));
  free(y);
  y = down(dout, (size_t)(n * D), bf);
  int ok = flag == 1 && isnan(y[5 * D]) && isfinite(y[4 * D]);
  printf("%-4s embedding bad id flagged\n", ok ? "ok" : "FAIL");
  fails += !ok;
  rt_cuda_free(G, dt), rt_cuda_free(G, did), rt_cuda_free(G, dout), rt_cuda_free(G, bad);
  rt_cuda_op_release(G, &k);
  free(tab), free(ref), free(y);
}

/* Greedy argmax per row against rt_argmax, exactly: random logits at the
 * vocabulary's size, plus rows that test the rule's corners (a tie the lower
 * index must win, the maximum last, NaNs, -inf, a one-wide row).  The
 * output starts as -1 (0xff bytes). */
static void t_argmax(int bf, int64_t rows, int64_t V, int64_t chunk) {
  const size_t n = (size_t)(rows * V);
  float *x = rnd(n, 3.0, 0, bf);
  for (int64_t r = 0; r < rows; r++) {
    float *row = x + r * V;
    const int64_t j = (r * 7919) % V, k = (r * 104729 + V / 2) % V;
    switch (r % 6) {
    case 1: row[j] = row[k] = 40.f; break;                 /* a tie: min(j, k) wins */
    case 2: row[V - 1] = 40.f; break;                      /* the last element */
    case 3: row[0] = NAN, row[k] = NAN; break;             /* NaN below every number */
    case 4: for (int64_t i = 0; i < V; i++) row[i] = NAN;  /* all NaN: index 0 */
            break;
    case 5: for (int64_t i = 0; i < V; i++) row[i] = -INFINITY; /* all equal: index 0 */
            if (V > 1) row[k] = -3.f;
            break;
    }
  }
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.kind = CG_OP_ARGMAX, s.D = V, s.chunk = chunk;
  rt_cuda_op k = prep(s, bf);
  rt_dptr dx = up(x, n, bf), dout, scratch = 0;
  const size_t sn = cg_op_argmax_scratch(&k.spec, rows);
  OK(rt_cuda_alloc(G, (size_t)rows * 8, &dout, &C));
  if (sn) { /* the split variant refuses to run without its scratch */
    const rt_cuda_pick none = {.out = dout};
    const bool refused = rt_cuda_argmax(G, &k, dx, &none, rows, &C) == SSD_EINVAL;
    if (!refused) printf("FAIL argmax chunk %lld ran without its scratch\n", (long long)chunk);
    fails += !refused;
    OK(rt_cuda_alloc(G, sn, &scratch, &C));
    OK(rt_cuda_memset8(G, scratch, 0, sn, &C));
  }
  /* a position the kernel advances once per launch, and a ring of three
   * slots of picks indexed by it (a greedy step's) */
  int64_t *got = malloc((size_t)rows * 8), *ring = malloc((size_t)rows * 8 * 3), bad = -1,
          pos = 41;
  rt_dptr dpos, dring;
  OK(rt_cuda_alloc(G, 8, &dpos, &C));
  OK(rt_cuda_alloc(G, (size_t)rows * 8 * 3, &dring, &C));
  OK(rt_cuda_h2d(G, dpos, &pos, 8, &C));
  OK(rt_cuda_memset8(G, dring, 0xff, (size_t)rows * 8 * 3, &C));
  const rt_cuda_pick a = {dout, scratch, dpos, dring, 3};
  /* twice on the same scratch: the kernel must leave its counter at 0 */
  for (int round = 0; round < 2 && bad < 0; round++) {
    OK(rt_cuda_memset8(G, dout, 0xff, (size_t)rows * 8, &C));
    OK(rt_cuda_argmax(G, &k, dx, &a, rows, &C));
    OK(rt_cuda_sync(G, &C));
    OK(rt_cuda_d2h(G, got, dout, (size_t)rows * 8, &C));
    for (int64_t r = 0; r < rows && bad < 0; r++)
      if (got[r] != rt_argmax(x + r * V, V)) bad = r;
  }
  /* positions 41 and 42 went to slots 2 and 0; slot 1 is untouched */
  OK(rt_cuda_d2h(G, &pos, dpos, 8, &C));
  OK(rt_cuda_d2h(G, ring, dring, (size_t)rows * 8 * 3, &C));
  bool ring_ok = pos == 43;
  for (int64_t r = 0; r < rows; r++)
    ring_ok = ring_ok && ring[r] == got[r] && ring[2 * rows + r] == got[r] && ring[rows + r] == -1;
  if (bad < 0 && !ring_ok) {
    printf("FAIL argmax chunk %lld: position %lld (want 43) or its ring of picks is wrong\n",
           (long long)chunk, (long long)pos);
    fails++;
  }
  rt_cuda_free(G, dpos), rt_cuda_free(G, dring);
  free(ring);
  char what[64];
  snprintf(what, sizeof what, "argmax %lld x %lld chunk %lld", (long long)rows, (long long)V,
           (long long)chunk);
  printf("%-4s %-34s %s", bad < 0 ? "ok" : "FAIL", what, bf ? "bf16" : "fp32");
  if (bad >= 0)
    printf(": row %lld got %lld, want %lld", (long long)bad, (long long)got[bad],
           (long long)rt_argmax(x + bad * V, V));
  printf("\n");
  fails += bad >= 0;
  rt_cuda_free(G, dx), rt_cuda_free(G, dout);
  if (scratch) rt_cuda_free(G, scratch);
  rt_cuda_op_release(G, &k);
  free(x), free(got);
}

/* parts > 0: h arrives without the row scale of a gated norm folded into the
 * SSD kernel (spec.ss_parts): r' = s h + r, s from parts partial sums of
 * squares of a width-ssD row, as the scale of rt_gated_rmsnorm with one group. */
static void t_rmsnorm(int bf, int64_t D, int64_t parts) {
  const int64_t rows = 64, ssD = 1536;
  size_t n = (size_t)(rows * D), np = (size_t)(rows * parts);
  float *h = rnd(n, 1.0, 0, bf), *r = rnd(n, 1.0, 0, 0), *w = rnd((size_t)D, 0.1, 1.0, bf);
  float *ss = parts ? rnd(np, 0.5, 0.6, 0) : NULL; /* mean squares ~0.1-1.1 per channel */
  float *sum = malloc(n * sizeof(float)), *ref = malloc(n * sizeof(float));
  for (size_t i = 0; i < np; i++) ss[i] = fabsf(ss[i]) * (float)ssD / (float)parts;
  for (int64_t i = 0; i < rows; i++) {
    double acc = 0;
    for (int64_t k = 0; k < parts; k++) acc += ss[i * parts + k];
    const double s = parts ? 1.0 / sqrt(acc / (double)ssD + 1e-5) : 1.0;
    for (int64_t d = 0; d < D; d++) sum[i * D + d] = (float)(s * h[i * D + d] + r[i * D + d]);
  }
  cg_op_spec spec = os_rmsnorm(D, true, true);
  spec.ss_parts = parts, spec.ss_D = ssD, spec.ss_eps = 1e-5;
  rt_cuda_op k = prep(spec, bf);
  rt_dptr dh = up(h, n, bf), dr = up(r, n, 0), dw = up(w, (size_t)D, bf), dy = out_buf(n, bf);
  rt_dptr dss = parts ? up(ss, np, 0) : 0;
  rt_rmsnorm(sum, rows, D, w, 1e-5, ref);
  OK(rt_cuda_rmsnorm(G, &k, dh, dr, dss, dw, dy, rows, &C));
  float *y = down(dy, n, bf), *r2 = down(dr, n, 0);
  char what[64];
  snprintf(what, sizeof what, "add+rmsnorm D=%lld row-scaled %lld", (long long)D, (long long)parts);
  report(what, bf, rel(y, ref, n), tol(bf));
  report("  residual out", bf, rel(r2, sum, n), parts ? 1e-5 : 1e-6);
  if (parts) { /* no sums of squares: refused, not a fault */
    ssd_ctx q;
    ssd_ctx_init(&q);
    q.diag = fopen("/dev/null", "w");
    if (rt_cuda_rmsnorm(G, &k, dh, dr, 0, dw, dy, rows, &q) != SSD_EINVAL) {
      printf("FAIL rmsnorm: missing sums of squares accepted\n");
      fails++;
    }
    if (q.diag) fclose(q.diag);
    rt_cuda_free(G, dss);
  }
  rt_cuda_free(G, dh), rt_cuda_free(G, dr), rt_cuda_free(G, dw), rt_cuda_free(G, dy);
  rt_cuda_op_release(G, &k);
  free(h), free(r), free(w), free(ss), free(sum), free(ref), free(y), free(r2);
}

/* ldx, ldz > 0: x and z are views into wider rows (the in_proj output).
 * vec: the 16-byte variant (bf16 only), its weight fp32 as the bf16 executor has it. */
static void t_gnorm(int bf, int64_t D, int64_t Gr, bool before, int64_t ldx, int64_t ldz, bool vec) {
  const int64_t rows = 48;
  const int wbf = bf && !vec;
  size_t n = (size_t)(rows * D);
  float *x = rnd(n, 1.0, 0, bf), *z = rnd(n, 1.0, 0, bf), *w = rnd((size_t)D, 0.1, 1.0, wbf);
  float *ref = malloc(n * sizeof(float));
  rt_gated_rmsnorm(x, z, rows, D, w, 1e-5, Gr, before, ref);
  cg_op_spec sp = os_gnorm(D, Gr, before);
  sp.ldx = ldx, sp.ldz = ldz, sp.vec = vec;
  rt_cuda_op k = prep_w(sp, bf, !wbf);
  rt_dptr dx = up_rows(x, rows, D, ldx ? ldx : D, bf), dz = up_rows(z, rows, D, ldz ? ldz : D, bf);
  rt_dptr dw = up(w, (size_t)D, wbf), dy = out_buf(n, bf);
  OK(rt_cuda_gnorm(G, &k, dx, dz, dw, dy, rows, NULL, &C));
  float *y = down(dy, n, bf);
  char what[80];
  snprintf(what, sizeof what, "gated rmsnorm D=%lld G=%lld %s%s%s", (long long)D, (long long)Gr,
           before ? "before" : "after", ldx || ldz ? " strided x, z" : "", vec ? " vec" : "");
  report(what, bf, rel(y, ref, n), tol(bf));
  if (vec) { /* an operand off 16 bytes is refused, not read crooked */
    int refused = rt_cuda_gnorm(G, &k, dx + 2, dz, dw, dy, rows, NULL, &C) == SSD_EINVAL;
    printf("%-4s gated rmsnorm vec: unaligned x refused\n", refused ? "ok" : "FAIL");
    fails += !refused;
  }
  rt_cuda_free(G, dx), rt_cuda_free(G, dz), rt_cuda_free(G, dw), rt_cuda_free(G, dy);
  rt_cuda_op_release(G, &k);
  free(x), free(z), free(w), free(ref), free(y);
}

/* Prefill over L (from a random state) then 3 decode steps, against rt_conv1d;
 * ldx > 0: x is a view into rows of ldx (the in_proj output); steps: the
 * prefill kernel's time steps per thread (0: its default). */
/* The gated norm launched into the chunked SSD kernel's tail (PDL; each row
 * waits for its (segment, batch row)'s flag, ssd_seg.cuh's ssd_signal_rows)
 * against the same norm launched once the SSD kernel has ended: the same
 * bits.  y is NaN-poisoned before every SSD launch, so a row read before it
 * is stored shows.  After each launch every flag is at the launch's epoch
 * and every count re-armed.  On the emulated device (launches in order) a
 * flag left down must stop the norm (its spin ends in a trap), not be read
 * past.  segs: $SSDC_SSD_SEG_CHUNKS for the SSD launch (NULL: the policy). */
static void t_gnorm_after(int64_t B, int64_t L, int64_t H, const char *segs, bool emu) {
  const int64_t P = 64, N = 128, D = H * P, T = B * L;
  cg_ssd_spec ss = {.kind = CG_SSD_CHUNKED, .H = H, .P = P, .N = N, .hx = H, .hb = 1, .hc = 1,
                    .hdt = H, .has_dt = true, .has_A = true, .A_is_log = true,
                    .has_dt_bias = true, .dt_softplus = true, .has_D = true, .has_final = true,
                    .dt_max = 3e38};
  rt_cuda_ssd k;
  OK(rt_cuda_ssd_prepare(G, &CC, &ss, B, &k, &C));
  cg_op_spec gs = os_gnorm(D, 1, false);
  gs.vec = true;
  rt_cuda_op gk = prep_w(gs, 1, 1);
  float *x = rnd((size_t)(T * D), 1.0, 0, 1), *dt = rnd((size_t)(T * H), 1.0, 0, 1),
        *bm = rnd((size_t)(T * N), 1.0, 0, 1), *cm = rnd((size_t)(T * N), 1.0, 0, 1),
        *z = rnd((size_t)(T * D), 1.0, 0, 1), *w = rnd((size_t)D, 0.1, 1.0, 0),
        *al = rnd((size_t)H, 0.5, 1.5, 0), *dd = rnd((size_t)H, 0.5, 1.0, 0),
        *db = rnd((size_t)H, 0.5, -4.0, 0);
  rt_cuda_ssd_args a = {.x = up(x, (size_t)(T * D), 1), .dt = up(dt, (size_t)(T * H), 1),
                        .A = up(al, (size_t)H, 0), .B = up(bm, (size_t)(T * N), 1),
                        .C = up(cm, (size_t)(T * N), 1), .D = up(dd, (size_t)H, 0),
                        .dt_bias = up(db, (size_t)H, 0), .y = out_buf((size_t)(T * D), 1)};
  a.state = out_buf((size_t)(B * H * P * N), 0);
  rt_dptr dz = up(z, (size_t)(T * D), 1), dw = up(w, (size_t)D, 0), dy = out_buf((size_t)(T * D), 1);
  if (segs) setenv("SSDC_SSD_SEG_CHUNKS", segs, 1);
  /* the reference: the norm after the SSD kernel has ended */
  OK(rt_cuda_ssd_chunked(G, &k, &a, B, L, &C));
  OK(rt_cuda_sync(G, &C));
  OK(rt_cuda_gnorm(G, &gk, a.y, dz, dw, dy, T, NULL, &C));
  float *ref = down(dy, (size_t)(T * D), 1);
  const int64_t slots = B * ((L + k.sig.seg_rows - 1) / k.sig.seg_rows);
  unsigned *fl = malloc((size_t)(2 * slots) * sizeof *fl);
  bool same = true, flags_ok = true;
  for (int run = 0; run < 3; run++) {
    OK(rt_cuda_memset8(G, a.y, 0xff, (size_t)(T * D) * 2, &C));
    OK(rt_cuda_memset8(G, dy, 0xff, (size_t)(T * D) * 2, &C));
    OK(rt_cuda_ssd_chunked(G, &k, &a, B, L, &C));
    const rt_cuda_rows_sig sig = k.sig;
    OK(rt_cuda_gnorm(G, &gk, a.y, dz, dw, dy, T, &sig, &C));
    float *got = down(dy, (size_t)(T * D), 1);
    same = same && !memcmp(got, ref, (size_t)(T * D) * sizeof *got);
    free(got);
    OK(rt_cuda_d2h(G, fl, sig.flags - (rt_dptr)slots * 4, (size_t)(2 * slots) * 4, &C));
    for (int64_t i = 0; i < slots; i++) flags_ok = flags_ok && !fl[i] && fl[slots + i] == sig.epoch;
  }
  unsetenv("SSDC_SSD_SEG_CHUNKS");
  char what[96];
  snprintf(what, sizeof what, "gnorm in the SSD tail %lldx%lld H=%lld, %lld slots", (long long)B,
           (long long)L, (long long)H, (long long)slots);
  printf("%-4s %s: %s; flags %s (PDL %s)\n", same && flags_ok ? "ok" : "FAIL", what,
         same ? "bitwise equal" : "DIFFERS", flags_ok ? "up, counts re-armed" : "WRONG",
         rt_cuda_has_pdl(G) ? "on" : "off");
  fails += !same || !flags_ok;
  if (emu) { /* the last slot's flag one launch behind: the norm must not read past it */
    ssd_ctx q;
    ssd_ctx_init(&q);
    q.diag = fopen("/dev/null", "w"); /* the message is checked, not printed */
    fl[2 * slots - 1] = k.sig.epoch - 1;
    OK(rt_cuda_h2d(G, k.sig.flags + (rt_dptr)(slots - 1) * 4, &fl[2 * slots - 1], 4, &C));
    int rc = rt_cuda_gnorm(G, &gk, a.y, dz, dw, dy, T, &k.sig, &q);
    if (rc == SSD_OK) rc = rt_cuda_sync(G, &q);
    printf("%-4s gnorm in the SSD tail: a flag left down stops it (%s)\n", rc ? "ok" : "FAIL",
           rc ? q.msg : "ran");
    fails += rc == SSD_OK;
    if (q.diag) fclose(q.diag);
  }
  free(fl), free(ref), free(x), free(dt), free(bm), free(cm), free(z), free(w), free(al), free(dd),
      free(db);
  const rt_dptr bufs[] = {a.x, a.dt, a.A, a.B, a.C, a.D, a.dt_bias, a.y, a.state, dz, dw, dy};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) rt_cuda_free(G, bufs[i]);
  rt_cuda_op_release(G, &gk);
  rt_cuda_ssd_release(G, &k);
}

static void t_conv(int bf, int64_t ldx, bool vec, int steps) {
  const int64_t B = 2, L = 300, Ch = 1792, K = 4, ld = ldx ? ldx : Ch;
  const int wbf = bf && !vec;
  size_t n = (size_t)(B * L * Ch), ns = (size_t)(B * Ch * (K - 1));
  float *x = rnd(n, 1.0, 0, bf), *w = rnd((size_t)(Ch * K), 0.5, 0, wbf);
  float *bias = rnd((size_t)Ch, 0.5, 0, wbf), *st = rnd(ns, 1.0, 0, 0);
  float *ref = malloc(n * sizeof(float)), *cst = malloc(ns * sizeof(float));
  memcpy(cst, st, ns * sizeof(float));
  rt_dptr ds_in = up(st, ns, 0);
  rt_conv1d(x, B, L, Ch, w, K, bias, cst, ref);
  for (size_t i = 0; i < n; i++) ref[i] = silu(ref[i]);
  cg_op_spec sp = os_conv(CG_OP_CONV, Ch, K), ss = os_conv(CG_OP_CONV_STEP, Ch, K);
  sp.ldx = ss.ldx = ldx, sp.vec = vec, sp.conv_t = steps;
  rt_cuda_op k = prep_w(sp, bf, !wbf), ks = prep_w(ss, bf, !wbf);
  rt_dptr dx = up_rows(x, B * L, Ch, ld, bf), dw = up(w, (size_t)(Ch * K), wbf);
  rt_dptr db = up(bias, (size_t)Ch, wbf), dy = out_buf(n, bf), ds_out = out_buf(ns, 0);
  OK(rt_cuda_conv(G, &k, dx, dw, db, ds_in, ds_out, dy, B, L, &C));
  float *y = down(dy, n, bf), *s2 = down(ds_out, ns, 0);
  char what[80], nst[24] = "";
  if (steps) snprintf(nst, sizeof nst, ", %d steps", steps);
  snprintf(what, sizeof what, "conv1d+silu prefill C=1792 K=4%s%s%s", ldx ? ", strided x" : "",
           vec ? ", vec" : "", nst);
  report(what, bf, rel(y, ref, n), tol(bf));
  report("  conv state out", bf, rel(s2, cst, ns), 1e-6);
  int refused = rt_cuda_conv(G, &k, dx, dw, db, ds_in, ds_in, dy, B, L, &C) == SSD_EINVAL;
  printf("%-4s conv1d aliased state refused\n", refused ? "ok" : "FAIL");
  fails += !refused;
  double err = 0;
  for (int step = 0; step < 3; step++) {
    float *xs = rnd((size_t)(B * Ch), 1.0, 0, bf), *ys = malloc(B * Ch * sizeof(float));
    rt_conv1d(xs, B, 1, Ch, w, K, bias, cst, ys);
    for (int64_t i = 0; i < B * Ch; i++) ys[i] = silu(ys[i]);
    rt_dptr dxs = up_rows(xs, B, Ch, ld, bf), dys = out_buf((size_t)(B * Ch), bf);
    OK(rt_cuda_conv_step(G, &ks, dxs, dw, db, ds_out, dys, B, &C));
    float *g = down(dys, (size_t)(B * Ch), bf);
    err = fmax(err, rel(g, ys, (size_t)(B * Ch)));
    rt_cuda_free(G, dxs), rt_cuda_free(G, dys);
    free(xs), free(ys), free(g);
  }
  free(s2);
  s2 = down(ds_out, ns, 0);
  report("conv1d+silu decode steps", bf, err, tol(bf));
  report("  conv state after steps", bf, rel(s2, cst, ns), 1e-6);
  rt_cuda_free(G, dx), rt_cuda_free(G, dw), rt_cuda_free(G, db), rt_cuda_free(G, dy);
  rt_cuda_free(G, ds_in), rt_cuda_free(G, ds_out);
  rt_cuda_op_release(G, &k), rt_cuda_op_release(G, &ks);
  free(x), free(w), free(bias), free(st), free(ref), free(cst), free(y), free(s2);
}

static void t_ew(int bf) {
  const int64_t rows = 64, cols = 1536;
  size_t n = (size_t)(rows * cols);
  float *a = rnd(n, 1.0, 0, bf), *bias = rnd((size_t)cols, 0.5, 0, bf), *g = rnd(n, 1.0, 0, bf);
  float *ref = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) ref[i] = silu(a[i] + bias[i % cols]) * g[i];
  rt_cuda_op k = prep(os_ew(cols), bf);
  rt_dptr in[3] = {up(a, n, bf), up(bias, (size_t)cols, bf), up(g, n, bf)}, dy = out_buf(n, bf);
  OK(rt_cuda_ew(G, &k, in, dy, (int64_t)n, &C));
  float *y = down(dy, n, bf);
  report("elementwise silu(a + bias) * g", bf, rel(y, ref, n), tol(bf));
  for (int i = 0; i < 3; i++) rt_cuda_free(G, in[i]);
  rt_cuda_free(G, dy);
  rt_cuda_op_release(G, &k);
  free(a), free(bias), free(g), free(ref), free(y);
}

/* Prefill of 40 tokens then two single-token steps through the cache. */
static void t_attn(int bf) {
  const int64_t B = 2, Hq = 8, Hkv = 2, Dh = 64, rd = 32, Ls[3] = {40, 1, 1};
  rt_attn_desc d = {.B = B, .Hq = Hq, .Hkv = Hkv, .Dh = Dh, .rotary_dim = rd,
                    .rope_theta = 10000.0, .causal = true};
  rt_kv cpu = {.B = B, .Hkv = Hkv, .Dh = Dh};
  rt_cuda_op kk = prep(os_attn(CG_OP_KV, Hq, Hkv, Dh, rd), bf);
  rt_cuda_op ka = prep(os_attn(CG_OP_ATTN, Hq, Hkv, Dh, rd), bf);
  rt_cuda_kv kv = {.B = B, .cap = 64};
  size_t nc = (size_t)(B * Hkv * kv.cap * Dh);
  OK(rt_cuda_alloc(G, nc * 4, &kv.k, &C));
  OK(rt_cuda_alloc(G, nc * 4, &kv.v, &C));
  OK(rt_cuda_alloc(G, sizeof(int64_t), &kv.pos, &C));
  for (int s = 0; s < 3; s++) {
    d.L = Ls[s];
    OK(rt_cuda_h2d(G, kv.pos, &kv.len, sizeof kv.len, &C)); /* the kernels read it there */
    size_t nq = (size_t)(B * d.L * Hq * Dh), nk = (size_t)(B * d.L * Hkv * Dh);
    float *q = rnd(nq, 1.0, 0, bf), *k = rnd(nk, 1.0, 0, bf), *v = rnd(nk, 1.0, 0, bf);
    float *ref = malloc(nq * sizeof(float));
    OK(rt_attention(&d, q, k, v, &cpu, ref, &C));
    rt_dptr dq = up(q, nq, bf), dk = up(k, nk, bf), dv = up(v, nk, bf), dy = out_buf(nq, bf);
    OK(rt_cuda_attention(G, &kk, &ka, dq, dk, dv, &kv, dy, d.L, &C));
    float *y = down(dy, nq, bf);
    report(s == 0 ? "attention GQA+rope prefill 40" : "attention decode step", bf, rel(y, ref, nq),
           bf ? 2e-2 : 1e-5);
    rt_cuda_free(G, dq), rt_cuda_free(G, dk), rt_cuda_free(G, dv), rt_cuda_free(G, dy);
    free(q), free(k), free(v), free(ref), free(y);
  }
  rt_cuda_free(G, kv.k), rt_cuda_free(G, kv.v), rt_cuda_free(G, kv.pos);
  rt_kv_free(&cpu);
  rt_cuda_op_release(G, &kk), rt_cuda_op_release(G, &ka);
}

static double *to64(const float *v, size_t n) {
  double *d = malloc(n * sizeof *d);
  for (size_t i = 0; i < n; i++) d[i] = v[i];
  return d;
}

/* S6: a prefill of L from zeros, then 2 decode steps (L = 1, init == final),
 * each against the float64 recurrence continuing from its own state. */
static void t_s6(int bf, int64_t H, int64_t N) {
  const int64_t B = 2, L = 333;
  rt_ssm_desc d = {.s6 = 1, .batch = B, .L = L, .H = H, .P = 1, .N = N, .hx = H, .hb = 1, .hc = 1,
                   .hdt = H, .has_dt = true, .has_A = true, .has_D = true, .has_z = true,
                   .has_dt_bias = true, .dt_softplus = true, .A_is_log = true, .dt_min = 0,
                   .dt_max = INFINITY};
  float *A = malloc(H * N * sizeof(float));
  for (int64_t h = 0; h < H; h++)
    for (int64_t n = 0; n < N; n++) A[h * N + n] = logf((float)(n + 1)); /* mamba's S4D-real init */
  float *Dp = rnd((size_t)H, 1.0, 0, 0), *dtb = rnd((size_t)H, 0.5, -4.0, 0);
  double *A64 = to64(A, (size_t)(H * N)), *D64 = to64(Dp, (size_t)H), *b64 = to64(dtb, (size_t)H);
  double *st64 = calloc((size_t)(B * H * N), sizeof(double));
  rt_cuda_op k = prep(os_s6(H, N), bf);
  rt_dptr dA = up(A, (size_t)(H * N), 0), dD = up(Dp, (size_t)H, 0), db = up(dtb, (size_t)H, 0);
  rt_dptr dst = out_buf((size_t)(B * H * N), 0);
  for (int s = 0; s < 3; s++) {
    d.L = s == 0 ? L : 1;
    size_t nx = (size_t)(B * d.L * H), nb = (size_t)(B * d.L * N);
    float *x = rnd(nx, 1.0, 0, bf), *dt = rnd(nx, 1.0, 0, bf), *Bm = rnd(nb, 1.0, 0, bf);
    float *Cm = rnd(nb, 1.0, 0, bf), *z = rnd(nx, 1.0, 0, bf);
    double *x64 = to64(x, nx), *dt64 = to64(dt, nx), *B64 = to64(Bm, nb), *C64 = to64(Cm, nb);
    double *z64 = to64(z, nx), *y64 = malloc(nx * sizeof(double));
    rt_ssm_args64 a = {x64, dt64, A64, B64, C64, D64, z64, b64, st64, y64};
    OK(rt_ssm_ref_f64(&d, &a, &C));
    float *ref = malloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++) ref[i] = (float)y64[i];
    rt_cuda_s6_args g = {up(x, nx, bf), up(dt, nx, bf), dA, up(Bm, nb, bf), up(Cm, nb, bf),
                         dD, up(z, nx, bf), db, s ? dst : 0, dst, out_buf(nx, bf)};
    OK(rt_cuda_s6(G, &k, &g, B, d.L, &C));
    float *y = down(g.y, nx, bf);
    char what[64];
    snprintf(what, sizeof what, "S6 scan H=%lld N=%lld %s", (long long)H, (long long)N,
             s ? "decode step" : "prefill 333");
    report(what, bf, rel(y, ref, nx), bf ? 2e-2 : 1e-4);
    rt_cuda_free(G, g.x), rt_cuda_free(G, g.dt), rt_cuda_free(G, g.B), rt_cuda_free(G, g.C);
    rt_cuda_free(G, g.z), rt_cuda_free(G, g.y);
    free(x), free(dt), free(Bm), free(Cm), free(z), free(ref), free(y);
    free(x64), free(dt64), free(B64), free(C64), free(z64), free(y64);
  }
  float *sg = down(dst, (size_t)(B * H * N), 0), *sr = malloc(B * H * N * sizeof(float));
  for (int64_t i = 0; i < B * H * N; i++) sr[i] = (float)st64[i];
  report("  S6 final state", bf, rel(sg, sr, (size_t)(B * H * N)), bf ? 2e-2 : 1e-4);
  rt_cuda_free(G, dA), rt_cuda_free(G, dD), rt_cuda_free(G, db), rt_cuda_free(G, dst);
  rt_cuda_op_release(G, &k);
  free(A), free(Dp), free(dtb), free(A64), free(D64), free(b64), free(st64), free(sg), free(sr);
}

/* y = x W^T + bias against rt_linear on the same (rounded) values; acc: y
 * starts as a random residual r and the GEMM adds into it (y = r + x W^T + b). */
static void t_gemm(rt_blas *bl, rt_blas_type ab, rt_blas_type out, int64_t M, int64_t N, int64_t K,
                   bool bias, bool acc) {
  int bf = ab == RT_BLAS_BF16, obf = out == RT_BLAS_BF16;
  float *x = rnd((size_t)(M * K), 1.0, 0, bf), *W = rnd((size_t)(N * K), 0.02, 0, bf);
  float *b = bias ? rnd((size_t)N, 0.1, 0, 0) : NULL, *ref = malloc(M * N * sizeof(float));
  float *res = acc ? rnd((size_t)(M * N), 1.0, 0, obf) : NULL;
  OK(rt_linear(x, M, K, W, N, b, ref, &C));
  for (int64_t i = 0; acc && i < M * N; i++) ref[i] += res[i];
  rt_gemm g = {M, N, K, ab, out, up(x, (size_t)(M * K), bf), up(W, (size_t)(N * K), bf),
               bias ? up(b, (size_t)N, 0) : 0,
               acc ? up(res, (size_t)(M * N), obf) : out_buf((size_t)(M * N), obf), acc, 0};
  if (!acc) OK(rt_blas_gemm(bl, &g, &C)); /* twice: the second uses the cached plan */
  OK(rt_blas_gemm(bl, &g, &C));
  float *y = down(g.y, (size_t)(M * N), obf);
  char what[64];
  snprintf(what, sizeof what, "gemm %lldx%lldx%lld%s%s -> %s", (long long)M, (long long)N,
           (long long)K, bias ? "+bias" : "", acc ? " accumulate" : "", obf ? "bf16" : "fp32");
  report(what, bf, rel(y, ref, (size_t)(M * N)), obf ? 1e-2 : bf ? 1e-3 : 1e-5);
  rt_cuda_free(G, g.x), rt_cuda_free(G, g.W), rt_cuda_free(G, g.y);
  if (g.bias) rt_cuda_free(G, g.bias);
  free(x), free(W), free(b), free(ref), free(y), free(res);
}

/* ssdc's own sm_90a GEMM (rt_cuda_gemm) against a float64 product of the
 * same bf16 inputs: bf16 out, or fp32 added into a random residual with the
 * gated norm's row scale from `parts` partial sums (0: none).  M and N not
 * multiples of the 128 x 256 tile, so the clipped edges are checked; x's
 * rows ldx apart (a view into wider rows when ldx > K). */
static void t_gw(int64_t M, int64_t N, int64_t K, int64_t ldx, bool obf, int64_t parts) {
  if (!cg_arch_has_wgmma(rt_cuda_arch(G))) {
    printf("skip own GEMM: %s has no wgmma\n", rt_cuda_arch(G));
    return;
  }
  const int64_t ssD = 5120;
  const size_t nx = (size_t)(M * ldx), ny = (size_t)(M * N), np = (size_t)(M * (parts ? parts : 1));
  float *x = rnd(nx, 1.0, 0, 1), *W = rnd((size_t)(N * K), 0.02, 0, 1);
  float *res = obf ? NULL : rnd(ny, 1.0, 0, 0), *ss = rnd(np, 0.5, 0.6, 0);
  float *ref = malloc(ny * sizeof(float));
  for (size_t i = 0; i < np; i++) ss[i] = fabsf(ss[i]) * (float)ssD / (float)(parts ? parts : 1);
  for (int64_t i = 0; i < M; i++) {
    double acc = 0;
    for (int64_t k = 0; k < parts; k++) acc += ss[i * parts + k];
    const double sc = parts ? 1.0 / sqrt(acc / (double)ssD + 1e-5) : 1.0;
    for (int64_t j = 0; j < N; j++) {
      double d = 0;
      for (int64_t k = 0; k < K; k++) d += (double)x[i * ldx + k] * W[j * K + k];
      ref[i * N + j] = (float)(sc * d + (res ? res[i * N + j] : 0.0));
    }
  }
  cg_op_spec s;
  memset(&s, 0, sizeof s);
  s.kind = CG_OP_GEMM, s.in_bf16 = s.w_bf16 = true, s.out_bf16 = obf, s.res_in = !obf;
  s.ss_parts = parts, s.ss_D = ssD, s.ss_eps = 1e-5;
  rt_cuda_op k;
  OK(rt_cuda_op_prepare(G, &CC, &s, &k, &C));
  rt_cuda_gemm_args a = {.x = up(x, nx, 1), .w = up(W, (size_t)(N * K), 1),
                         .y = obf ? out_buf(ny, 1) : up(res, ny, 0), .ss = parts ? up(ss, np, 0) : 0,
                         .M = M, .N = N, .K = K, .ldx = ldx, .ldy = N};
  OK(rt_cuda_gemm(G, &k, &a, &C));
  float *y = down(a.y, ny, obf);
  char what[80];
  snprintf(what, sizeof what, "own gemm %lldx%lldx%lld ldx %lld%s, %lld parts", (long long)M, (long long)N,
           (long long)K, (long long)ldx, obf ? "" : " accumulate", (long long)parts);
  report(what, 1, rel(y, ref, ny), obf ? 1e-2 : 1e-5);
  ssd_ctx q; /* shapes the kernel does not take, and a missing row scale: refused */
  ssd_ctx_init(&q);
  q.diag = fopen("/dev/null", "w");
  rt_cuda_gemm_args b = a;
  b.K = K - 8;
  int refused = rt_cuda_gemm(G, &k, &b, &q) == SSD_EINVAL;
  b = a, b.ss = 0;
  refused &= !parts || rt_cuda_gemm(G, &k, &b, &q) == SSD_EINVAL;
  if (q.diag) fclose(q.diag);
  printf("%-4s own gemm: bad K and missing sums refused\n", refused ? "ok" : "FAIL");
  fails += !refused;
  rt_cuda_free(G, a.x), rt_cuda_free(G, a.w), rt_cuda_free(G, a.y);
  if (a.ss) rt_cuda_free(G, a.ss);
  rt_cuda_op_release(G, &k);
  free(x), free(W), free(res), free(ss), free(ref), free(y);
}

/* The specs of the own GEMM (bf16 in and out) with Mamba's conv (kc taps,
 * bias or not, SiLU) over Y's columns [c0, c0 + D) and of its edge fix-up. */
static void gw_conv_specs(cg_op_spec *s, cg_op_spec *e, int kc, int64_t c0, int64_t D, bool bias) {
  memset(s, 0, sizeof *s);
  s->kind = CG_OP_GEMM, s->in_bf16 = s->w_bf16 = s->out_bf16 = true;
  s->K = kc, s->c0 = c0, s->D = D, s->has_bias = bias, s->silu = true;
  memset(e, 0, sizeof *e);
  e->kind = CG_OP_CONV_EDGE, e->K = kc, e->c0 = c0, e->D = D, e->has_bias = bias, e->silu = true;
}

/* The own GEMM with Mamba's conv (kc taps, bias, SiLU) over Y's columns
 * [c0, c0 + D) in its epilogue and the fix-up of each row tile's first rows
 * (rt_cuda_conv_edge), against float64: Y rounded to bf16 as the kernel
 * stores it, then the conv along each of B sequences of L tokens from a
 * random state (or zeros), and the state after each (the last kc-1 raw
 * rows).  L not a multiple of the 128-row tile, so tiles start inside
 * sequences and sequences inside tiles; c0 + D not a multiple of 256. */
static void t_gw_conv(int64_t B, int64_t L, int64_t N, int64_t K, int64_t c0, int64_t D, int kc, bool bias,
                      bool state) {
  if (!cg_arch_has_wgmma(rt_cuda_arch(G))) return;
  const int64_t M = B * L, H = kc - 1;
  const size_t ny = (size_t)(M * N), ns = (size_t)(B * D * H);
  float *x = rnd((size_t)(M * K), 1.0, 0, 1), *W = rnd((size_t)(N * K), 0.05, 0, 1);
  float *cw = rnd((size_t)(D * kc), 0.4, 0, 0), *cb = rnd((size_t)D, 0.3, 0, 0);
  float *st = rnd(ns, 1.0, 0, 0), *raw = malloc(ny * sizeof(float)), *ref = malloc(ny * sizeof(float));
  float *sref = malloc(ns * sizeof(float));
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double d = 0;
      for (int64_t k = 0; k < K; k++) d += (double)x[i * K + k] * W[j * K + k];
      raw[i * N + j] = ref[i * N + j] = gu_bf2f(gu_f2bf((float)d));
    }
  for (int64_t b = 0; b < B; b++)
    for (int64_t ch = 0; ch < D; ch++) {
      for (int64_t t = 0; t < L; t++) {
        double acc = bias ? cb[ch] : 0.0;
        for (int k = 0; k < kc; k++) {
          const int64_t u = t - H + k;
          acc += (double)cw[ch * kc + k] *
                 (u >= 0 ? raw[(b * L + u) * N + c0 + ch] : state ? st[(b * D + ch) * H + H + u] : 0.0);
        }
        ref[(b * L + t) * N + c0 + ch] = (float)(acc / (1.0 + exp(-acc)));
      }
      for (int64_t k = 0; k < H; k++) sref[(b * D + ch) * H + k] = raw[(b * L + L - H + k) * N + c0 + ch];
    }
  cg_op_spec s, e;
  gw_conv_specs(&s, &e, kc, c0, D, bias);
  rt_cuda_op k, ke;
  OK(rt_cuda_op_prepare(G, &CC, &s, &k, &C));
  OK(rt_cuda_op_prepare(G, &CC, &e, &ke, &C));
  const size_t eb = rt_cuda_gemm_edge_bytes(&s, M);
  rt_dptr edge = 0;
  OK(rt_cuda_alloc(G, eb, &edge, &C));
  rt_cuda_gemm_args a = {.x = up(x, (size_t)(M * K), 1), .w = up(W, (size_t)(N * K), 1), .y = out_buf(ny, 1),
                         .M = M, .N = N, .K = K, .ldx = K, .ldy = N,
                         .cw = up(cw, (size_t)(D * kc), 0), .cb = bias ? up(cb, (size_t)D, 0) : 0,
                         .cst_in = state ? up(st, ns, 0) : 0, .cst_out = out_buf(ns, 0), .edge = edge, .L = L};
  OK(rt_cuda_gemm(G, &k, &a, &C));
  OK(rt_cuda_conv_edge(G, &ke, &a, &C));
  float *y = down(a.y, ny, 1), *so = down(a.cst_out, ns, 0);
  char what[120];
  snprintf(what, sizeof what, "own gemm + conv %lldx%lldx%lld, %lld x %lld tokens, cols %lld+%lld, K=%d%s%s",
           (long long)M, (long long)N, (long long)K, (long long)B, (long long)L, (long long)c0, (long long)D, kc,
           bias ? ", bias" : "", state ? ", state" : "");
  report(what, 1, rel(y, ref, ny), 2e-2);
  report("  its conv state", 1, rel(so, sref, ns), 1e-2);
  ssd_ctx q; /* a kernel without the conv given conv operands, a length that splits no rows: refused */
  ssd_ctx_init(&q);
  q.diag = fopen("/dev/null", "w");
  rt_cuda_gemm_args bad = a;
  bad.L = L + 1;
  int refused = rt_cuda_gemm(G, &k, &bad, &q) == SSD_EINVAL && rt_cuda_conv_edge(G, &ke, &bad, &q) == SSD_EINVAL;
  bad = a, bad.cst_out = bad.cst_in;
  refused &= !state || rt_cuda_gemm(G, &k, &bad, &q) == SSD_EINVAL;
  if (q.diag) fclose(q.diag);
  printf("%-4s own gemm + conv: bad lengths and aliased states refused\n", refused ? "ok" : "FAIL");
  fails += !refused;
  rt_cuda_free(G, a.x), rt_cuda_free(G, a.w), rt_cuda_free(G, a.y), rt_cuda_free(G, a.cw);
  if (a.cb) rt_cuda_free(G, a.cb);
  if (a.cst_in) rt_cuda_free(G, a.cst_in);
  rt_cuda_free(G, a.cst_out), rt_cuda_free(G, edge);
  rt_cuda_op_release(G, &k), rt_cuda_op_release(G, &ke);
  free(x), free(W), free(cw), free(cb), free(st), free(raw), free(ref), free(sref), free(y), free(so);
}

/* One bf16 GEMM as three column blocks of its output (rows ldy = N apart),
 * the middle one on the side stream, read back on the main stream after
 * the join (rt_cuda_d2h waits for the main stream only).  On the emulated
 * device side work runs only when something waits for it, so a join that
 * did not order it leaves the middle block poisoned. */
static void t_gemm_side(rt_blas *bl, int64_t M, int64_t K) {
  const int64_t N = 192, cut[4] = {0, 64, 128, N}; /* 256-byte aligned blocks */
  float *x = rnd((size_t)(M * K), 1.0, 0, 1), *W = rnd((size_t)(N * K), 0.02, 0, 1);
  float *ref = malloc(M * N * sizeof(float)), *y = malloc(M * N * sizeof(float));
  OK(rt_linear(x, M, K, W, N, NULL, ref, &C));
  const rt_dptr dx = up(x, (size_t)(M * K), 1), dW = up(W, (size_t)(N * K), 1);
  const rt_dptr dy = out_buf((size_t)(M * N), 0);
  for (int b = 0; b < 3; b++) {
    if (b == 1) OK(rt_cuda_side_begin(G, &C));
    rt_gemm g = {M, cut[b + 1] - cut[b], K, RT_BLAS_BF16, RT_BLAS_F32, dx,
                 dW + (rt_dptr)(cut[b] * K * 2), 0, dy + (rt_dptr)(cut[b] * 4), false, N};
    OK(rt_blas_gemm(bl, &g, &C));
    if (b == 1) OK(rt_cuda_side_end(G, &C));
  }
  OK(rt_cuda_side_join(G, &C));
  OK(rt_cuda_d2h(G, y, dy, (size_t)(M * N) * sizeof(float), &C));
  report("gemm column blocks, one on the side", 1, rel(y, ref, (size_t)(M * N)), 1e-3);
  rt_cuda_free(G, dx), rt_cuda_free(G, dW), rt_cuda_free(G, dy);
  free(x), free(W), free(ref), free(y);
}

/* --bench: the fused S6 scan at mamba_ssm's anchor shapes (d_inner 5120,
 * bf16, ../shared/notes/anchors-h100.md) and the bf16 GEMMs of a
 * mamba2-2.7b layer; median of 10 after 2 warm-ups, CUDA events. */
static double time_ms(void (*fn)(void *), void *ctx) {
  float v[10];
  for (int i = 0; i < 12; i++) {
    rt_cuda_timer t;
    OK(rt_cuda_timer_start(G, &t, &C));
    fn(ctx);
    float ms;
    OK(rt_cuda_timer_stop(G, &t, &ms, &C));
    if (i >= 2) v[i - 2] = ms;
  }
  for (int i = 1; i < 10; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      float x = v[j];
      v[j] = v[j - 1], v[j - 1] = x;
    }
  return 0.5 * (v[4] + v[5]);
}
typedef struct {
  rt_cuda_op *k;
  rt_cuda_s6_args a;
  int64_t B, L;
} s6_run;
static void run_s6(void *p) {
  s6_run *r = p;
  OK(rt_cuda_s6(G, r->k, &r->a, r->B, r->L, &C));
}
typedef struct {
  rt_blas *bl;
  rt_gemm g;
} gemm_run;
static void run_gemm(void *p) {
  gemm_run *r = p;
  OK(rt_blas_gemm(r->bl, &r->g, &C));
}
static rt_dptr dev_rand(size_t n) {
  float *v = rnd(n, 1.0, 0, 1);
  rt_dptr d = up(v, n, 1);
  free(v);
  return d;
}
typedef struct {
  rt_cuda_op *k;
  rt_dptr x, out, scratch;
  int64_t rows;
} argmax_run;
static void run_argmax(void *p) {
  argmax_run *r = p;
  const rt_cuda_pick a = {.out = r->out, .scratch = r->scratch};
  OK(rt_cuda_argmax(G, r->k, r->x, &a, r->rows, &C));
}
/* The argmax variants at the vocabulary's size: one block per row (chunk
 * 0) against rows split over blocks, at batch 1 and 16. */
static void bench_argmax(void) {
  const int64_t V = 50280, chunks[] = {0, 1024, 2048, 4096, 8192}, rows[] = {1, 16};
  for (int ri = 0; ri < 2; ri++)
    for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
      cg_op_spec s;
      memset(&s, 0, sizeof s);
      s.kind = CG_OP_ARGMAX, s.D = V, s.chunk = chunks[ci];
      rt_cuda_op k = prep(s, 0);
      float *x = rnd((size_t)(rows[ri] * V), 3.0, 0, 0);
      argmax_run r = {&k, up(x, (size_t)(rows[ri] * V), 0), out_buf((size_t)rows[ri] * 2, 0), 0,
                      rows[ri]};
      const size_t sn = cg_op_argmax_scratch(&k.spec, rows[ri]);
      if (sn) OK(rt_cuda_alloc(G, sn, &r.scratch, &C));
      if (sn) OK(rt_cuda_memset8(G, r.scratch, 0, sn, &C));
      printf("bench argmax %2lld x %lld chunk %-5lld %8.4f ms\n", (long long)rows[ri],
             (long long)V, (long long)chunks[ci], time_ms(run_argmax, &r));
      rt_cuda_free(G, r.x), rt_cuda_free(G, r.out);
      if (r.scratch) rt_cuda_free(G, r.scratch);
      rt_cuda_op_release(G, &k);
      free(x);
    }
}

typedef struct {
  rt_cuda_op *k;
  rt_dptr x, z, w, b, y;
  int64_t rows;
} pre_run;
static void run_gnorm(void *p) {
  pre_run *r = p;
  OK(rt_cuda_gnorm(G, r->k, r->x, r->z, r->w, r->y, r->rows, NULL, &C));
}
static void run_conv(void *p) {
  pre_run *r = p;
  OK(rt_cuda_conv(G, r->k, r->x, r->w, r->b, 0, 0, r->y, 1, r->rows, &C));
}
/* The prefill gated norm and conv of mamba2-2.7b at 16K tokens, reading
 * their strided views of the in_proj output (10576 wide), each variant, with
 * the bandwidth their bytes (bf16 in and out) make. */
static void bench_prefill_ops(void) {
  const int64_t rows = 16384, ld = 10576, D = 5120, Cc = 5376;
  rt_dptr in = dev_rand((size_t)(rows * ld)), y = out_buf((size_t)(rows * Cc), 1);
  rt_dptr xd = dev_rand((size_t)(rows * D)); /* the SSD's y: dense */
  float *wv = rnd((size_t)(Cc * 4), 0.5, 1.0, 0); /* conv weights; the first D the norm's */
  rt_dptr w = up(wv, (size_t)(Cc * 4), 0);
  const rt_dptr xbc = in + (rt_dptr)D * 2; /* [z | xBC | dt] rows: xBC after z */
  for (int vec = 0; vec < 2; vec++) {
    cg_op_spec sg = os_gnorm(D, 1, false);
    sg.ldz = ld, sg.vec = vec;
    rt_cuda_op kg = prep_w(sg, 1, 1);
    pre_run rg = {.k = &kg, .x = xd, .z = in, .w = w, .y = y, .rows = rows};
    const double ms = time_ms(run_gnorm, &rg);
    printf("bench gated rmsnorm %lldx%lld (z strided) %-6s %8.4f ms %7.1f GB/s\n",
           (long long)rows, (long long)D, vec ? "vec" : "scalar", ms, 6.0 * rows * D / ms / 1e6);
    rt_cuda_op_release(G, &kg);
  }
  /* the conv: scalar, and vec at a few time steps per thread (0: the default) */
  const int convs[4][2] = {{0, 0}, {1, 8}, {1, 0}, {1, CG_OP_CONV_VT_MAX}};
  for (int i = 0; i < 4; i++) {
    cg_op_spec sc = os_conv(CG_OP_CONV, Cc, 4);
    sc.ldx = ld, sc.vec = convs[i][0], sc.conv_t = convs[i][1];
    rt_cuda_op kc = prep_w(sc, 1, 1);
    pre_run rc = {.k = &kc, .x = xbc, .w = w, .b = w, .y = y, .rows = rows};
    const double ms = time_ms(run_conv, &rc);
    printf("bench conv1d+silu %lldx%lld (x strided)  %-6s %2d steps %8.4f ms %7.1f GB/s\n",
           (long long)rows, (long long)Cc, sc.vec ? "vec" : "scalar", cg_op_conv_t(&sc), ms,
           4.0 * rows * Cc / ms / 1e6);
    rt_cuda_op_release(G, &kc);
  }
  rt_cuda_free(G, in), rt_cuda_free(G, xd), rt_cuda_free(G, y), rt_cuda_free(G, w);
  free(wv);
}

static void bench_gemm(rt_blas *bl);
static void bench(rt_blas *bl) {
  bench_prefill_ops();
  bench_argmax();
  const int64_t H = 5120, shapes[4][2] = {{1, 2048}, {1, 8192}, {1, 32768}, {8, 8192}};
  const int64_t Ns[3] = {16, 64, 128};
  for (int ni = 0; ni < 3; ni++) {
    cg_op_spec s = os_s6(H, Ns[ni]);
    rt_cuda_op k = prep(s, 1);
    float *A = rnd((size_t)(H * Ns[ni]), 0.5, 0, 0), *Dp = rnd((size_t)H, 1, 0, 0);
    rt_dptr dA = up(A, (size_t)(H * Ns[ni]), 0), dD = up(Dp, (size_t)H, 0), db = up(Dp, (size_t)H, 0);
    for (int si = 0; si < 4; si++) {
      int64_t B = shapes[si][0], L = shapes[si][1];
      size_t nx = (size_t)(B * L * H), nb = (size_t)(B * L * Ns[ni]);
      s6_run r = {&k, {dev_rand(nx), dev_rand(nx), dA, dev_rand(nb), dev_rand(nb), dD,
                       dev_rand(nx), db, 0, 0, out_buf(nx, 1)}, B, L};
      printf("bench S6 scan d_inner 5120 N=%-3lld %lldx%-6lld %8.3f ms\n", (long long)Ns[ni],
             (long long)B, (long long)L, time_ms(run_s6, &r));
      rt_dptr fr[6] = {r.a.x, r.a.dt, r.a.B, r.a.C, r.a.z, r.a.y};
      for (int i = 0; i < 6; i++) rt_cuda_free(G, fr[i]);
    }
    rt_cuda_free(G, dA), rt_cuda_free(G, dD), rt_cuda_free(G, db);
    rt_cuda_op_release(G, &k);
    free(A), free(Dp);
  }
  bench_gemm(bl);
}

/* The bf16 GEMMs of a mamba2-2.7b layer, and its in_proj as plan_zside splits it. */
static void bench_gemm(rt_blas *bl) {
  /* mamba2-2.7b: in_proj 2560 -> 10576, out_proj 5120 -> 2560, lm_head 2560 -> 50288 */
  const int64_t gs[3][2] = {{10576, 2560}, {2560, 5120}, {50288, 2560}};
  const int64_t Ms[3] = {1, 16, 16384};
  for (int gi = 0; gi < 3; gi++)
    for (int mi = 0; mi < 3; mi++) {
      int64_t M = Ms[mi], N = gs[gi][0], K = gs[gi][1];
      gemm_run r = {bl, {M, N, K, RT_BLAS_BF16, RT_BLAS_F32, dev_rand((size_t)(M * K)),
                         dev_rand((size_t)(N * K)), 0, out_buf((size_t)(M * N), 0), false, 0}};
      double ms = time_ms(run_gemm, &r);
      printf("bench gemm bf16 %6lldx%-6lldx%-5lld %8.3f ms  %7.1f TFLOP/s\n", (long long)M,
             (long long)N, (long long)K, ms, 2.0 * M * N * K / ms / 1e9);
      rt_cuda_free(G, r.g.x), rt_cuda_free(G, r.g.W), rt_cuda_free(G, r.g.y);
    }
  { /* out_proj as the model runs it: accumulating into the fp32 residual stream */
    const int64_t M = 16384, N = 2560, K = 5120;
    gemm_run r = {bl, {M, N, K, RT_BLAS_BF16, RT_BLAS_F32, dev_rand((size_t)(M * K)),
                       dev_rand((size_t)(N * K)), 0, out_buf((size_t)(M * N), 0), true, 0}};
    const double ms = time_ms(run_gemm, &r);
    printf("bench gemm out_proj accumulate %6lldx%-6lldx%-5lld %8.3f ms  %7.1f TFLOP/s\n",
           (long long)M, (long long)N, (long long)K, ms, 2.0 * M * N * K / ms / 1e9);
    rt_cuda_free(G, r.g.x), rt_cuda_free(G, r.g.W), rt_cuda_free(G, r.g.y);
  }
  /* 8x2K's in_proj with bf16 output, whole and as plan_zside splits it:
   * xBC | dt, then z, into columns of the same 10576-wide rows */
  const int64_t M = 16384, K = 2560, N = 10576, cols[3][2] = {{0, N}, {5120, N}, {0, 5120}};
  const rt_dptr x = dev_rand((size_t)(M * K)), W = dev_rand((size_t)(N * K));
  const rt_dptr y = out_buf((size_t)(M * N), 1);
  for (int i = 0; i < 3; i++) {
    const int64_t c0 = cols[i][0], n = cols[i][1] - c0;
    gemm_run r = {bl, {M, n, K, RT_BLAS_BF16, RT_BLAS_BF16, x, W + (rt_dptr)(c0 * K * 2), 0,
                       y + (rt_dptr)(c0 * 2), false, N}};
    const double ms = time_ms(run_gemm, &r);
    printf("bench gemm in_proj cols %5lld..%-5lld %6lldx%-6lldx%-5lld %8.3f ms  %7.1f TFLOP/s\n",
           (long long)c0, (long long)(c0 + n), (long long)M, (long long)n, (long long)K, ms,
           2.0 * M * n * K / ms / 1e9);
  }
  rt_cuda_free(G, x), rt_cuda_free(G, W), rt_cuda_free(G, y);
}

/* --bench-gw: mamba2-2.7b's in_proj at 16K tokens (bf16 out) as the model
 * can run it: cuBLASLt, then the conv kernel over its xBC columns (the
 * default); ssdc's own GEMM alone; and the own GEMM with the conv in its
 * epilogue and the edge fix-up (SSDC_CONV_FOLD=1) at 8 x 2K, 4 x 4K and
 * 1 x 16K, the conv state written as a prefill writes it, and its parts.  Each sample runs the pair
 * 5 times (sustained, as 64 layers are); ms per run. */
typedef struct {
  rt_blas *bl;      /* cuBLASLt (then the conv kernel kc), or */
  rt_cuda_op *k;    /* the own GEMM (then the edge fix-up ke, if any) */
  rt_cuda_op *ke, *kc;
  rt_gemm g;
  rt_cuda_gemm_args a;
  rt_dptr xbc, yc;  /* the conv kernel's input (a view of the GEMM's rows) and output */
} gw_run;
static void run_gw_pair(void *p) {
  gw_run *r = p;
  const rt_cuda_gemm_args *a = &r->a;
  for (int i = 0; i < 5; i++) {
    if (r->bl) {
      OK(rt_blas_gemm(r->bl, &r->g, &C));
      OK(rt_cuda_conv(G, r->kc, r->xbc, a->cw, a->cb, 0, a->cst_out, r->yc, a->M / a->L, a->L, &C));
    } else {
      OK(rt_cuda_gemm(G, r->k, a, &C));
      if (r->ke) OK(rt_cuda_conv_edge(G, r->ke, a, &C));
    }
  }
}
static void bench_gw(rt_blas *bl) {
  if (!cg_arch_has_wgmma(rt_cuda_arch(G))) return;
  const int64_t M = 16384, K = 2560, N = 10576, c0 = 5120, D = 5376;
  const rt_dptr x = dev_rand((size_t)(M * K)), W = dev_rand((size_t)(N * K)), y = out_buf((size_t)(M * N), 1);
  float *cwv = rnd((size_t)(D * 4), 0.4, 0, 0);
  const rt_dptr cw = up(cwv, (size_t)(D * 4), 0), cb = up(cwv, (size_t)D, 0);
  const rt_dptr cst = out_buf((size_t)(8 * D * 3), 0), yc = out_buf((size_t)(M * D), 1);
  cg_op_spec sp, sv, se, sc = os_conv(CG_OP_CONV, D, 4);
  gw_conv_specs(&sv, &se, 4, c0, D, true);
  sp = sv, sp.K = sp.c0 = sp.D = 0, sp.has_bias = sp.silu = false; /* the plain GEMM */
  sc.ldx = N, sc.vec = 1;
  rt_cuda_op kp, kv, ke, kc = prep_w(sc, 1, 1);
  OK(rt_cuda_op_prepare(G, &CC, &sp, &kp, &C));
  OK(rt_cuda_op_prepare(G, &CC, &sv, &kv, &C));
  OK(rt_cuda_op_prepare(G, &CC, &se, &ke, &C));
  rt_dptr edge = 0;
  OK(rt_cuda_alloc(G, rt_cuda_gemm_edge_bytes(&sv, M), &edge, &C));
  /* what: 0 cuBLASLt + conv kernel, 1 own GEMM, 2 + conv epilogue + edge, 3 the epilogue without
   * the edge fix-up, 4 without the conv state written; the plain GEMM again last (the clock's drift) */
  const struct { int what; int64_t L; } cases[] = {{0, 2048}, {1, 0}, {2, 2048}, {2, 16384}, {3, 2048},
                                                   {3, 16384}, {4, 2048}, {2, 4096}, {1, 0}};
  const char *what[5] = {"cuBLASLt + conv kernel", "own GEMM", "own GEMM + conv epilogue + edge",
                         "own GEMM + conv epilogue", "own GEMM + conv epi + edge, no state"};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const int wi = cases[i].what;
    gw_run r = {.a = {.x = x, .w = W, .y = y, .M = M, .N = N, .K = K, .ldx = K, .ldy = N},
                .xbc = y + (rt_dptr)(c0 * 2), .yc = yc};
    if (wi == 0) r.bl = bl, r.kc = &kc, r.g = (rt_gemm){M, N, K, RT_BLAS_BF16, RT_BLAS_BF16, x, W, 0, y, false, 0};
    r.k = wi == 1 ? &kp : &kv, r.ke = wi == 2 || wi == 4 ? &ke : NULL;
    if (wi != 1) r.a.cw = cw, r.a.cb = cb, r.a.cst_out = wi == 4 ? 0 : cst, r.a.edge = edge, r.a.L = cases[i].L;
    const double ms = time_ms(run_gw_pair, &r) / 5;
    printf("bench in_proj %lldx%lldx%lld at %2lld x %-5lld %-36s %8.4f ms %7.1f TFLOP/s\n", (long long)M,
           (long long)N, (long long)K, (long long)(M / (r.a.L ? r.a.L : M)), (long long)(r.a.L ? r.a.L : M),
           what[wi], ms, 2.0 * M * N * K / ms / 1e9);
  }
  rt_cuda_free(G, x), rt_cuda_free(G, W), rt_cuda_free(G, y), rt_cuda_free(G, cw), rt_cuda_free(G, cb);
  rt_cuda_free(G, cst), rt_cuda_free(G, yc), rt_cuda_free(G, edge);
  rt_cuda_op_release(G, &kp), rt_cuda_op_release(G, &kv), rt_cuda_op_release(G, &ke), rt_cuda_op_release(G, &kc);
  free(cwv);
}

/* --emu: on the emulated device (CPU); --bench: kernel timings after the
 * tests; --bench-gemm: only the GEMMs'; --bench-prefill: only the prefill's
 * gated norm and conv; --bench-gw: in_proj with and without the conv fold. */
int main(int argc, char **argv) {
  ssd_ctx_init(&C);
  const bool emu = argc > 1 && !strcmp(argv[1], "--emu");
  if ((emu ? rt_cuda_open_emu(&G, &C) : rt_cuda_open(&G, 0, &C)) != SSD_OK) {
    fprintf(stderr, "test_ops_gpu: no GPU: %s\n", C.msg);
    return 1;
  }
  OK(cg_cache_open(&CC, NULL, &C));
  printf("device: %s (%s)\n", rt_cuda_name(G), rt_cuda_arch(G));
  for (int bf = 0; bf < 2; bf++) {
    t_embed(bf);
    for (int64_t chunk = 0; chunk <= 4096; chunk += 4096) { /* both variants */
      t_argmax(bf, 16, 50280, chunk);
      t_argmax(bf, 7, 513, chunk ? 64 : 0);
      t_argmax(bf, 6, 1, chunk);
      t_argmax(bf, 1, 50277, chunk);
      t_argmax(bf, 3, 4096 * 3 + 1, chunk); /* split: a last chunk of one element */
    }
    t_rmsnorm(bf, 768, 0);
    t_rmsnorm(bf, 2560, 0);
    t_rmsnorm(bf, 768, 24);   /* 130m: 24 heads of one slice */
    t_rmsnorm(bf, 2560, 80);  /* 2.7b */
    t_rmsnorm(bf, 2560, 300); /* more partials than threads */
    for (int vec = 0; vec <= bf; vec++) { /* the 16-byte variants read bf16 */
      t_gnorm(bf, 1536, 1, false, 0, 0, vec);
      t_gnorm(bf, 5120, 8, false, 0, 0, vec);
      t_gnorm(bf, 5120, 1, false, 5120, 10576, vec); /* mamba2-2.7b */
      t_gnorm(bf, 1536, 4, true, 0, 0, vec);
      t_gnorm(bf, 1536, 1, false, 1536, 3352, vec); /* mamba2-130m: y dense, z in the in_proj rows */
      t_gnorm(bf, 1536, 4, true, 1600, 3352, vec);
      t_gnorm(bf, 64, 2, false, 0, 0, vec); /* groups of 32: one 8-piece per thread, idle threads */
      t_conv(bf, 0, vec, 0);
      t_conv(bf, 3352, vec, 0);  /* xBC inside the in_proj output */
      t_conv(bf, 3352, vec, 7);  /* a step count that does not divide L = 300 */
      t_conv(bf, 3352, vec, CG_OP_CONV_VT_MAX);
    }
    t_ew(bf);
    t_attn(bf);
    t_s6(bf, 1536, 16);
    t_s6(bf, 200, 64);
  }
  t_embed_split();
  t_pool();
  if (emu) {
    t_gnorm_after(2, 300, 4, "2", true); /* 3 segments */
  } else {
    t_gnorm_after(8, 2048, 80, NULL, false); /* the 2.7b's 8x2K: one segment, two rounds */
    t_gnorm_after(1, 16384, 80, NULL, false); /* its 1x16K: segments */
  }
  rt_blas *bl;
  OK(rt_blas_open(G, &bl, &C));
  t_gemm(bl, RT_BLAS_F32, RT_BLAS_F32, 100, 768, 1536, true, false);
  t_gemm(bl, RT_BLAS_BF16, RT_BLAS_F32, 100, 3328, 768, false, false);
  t_gemm(bl, RT_BLAS_BF16, RT_BLAS_F32, 7, 768, 1536, true, false);
  t_gemm(bl, RT_BLAS_BF16, RT_BLAS_BF16, 256, 1000, 768, false, false);
  t_gemm(bl, RT_BLAS_BF16, RT_BLAS_F32, 300, 768, 1536, false, true); /* out_proj + residual */
  t_gemm(bl, RT_BLAS_F32, RT_BLAS_F32, 33, 768, 1536, true, true);
  t_gemm_side(bl, 100, 256);
  t_gw(300, 264, 192, 192, false, 80); /* out_proj with the gated norm's row scale */
  t_gw(300, 264, 192, 200, false, 0);  /* plain accumulate, x a view */
  t_gw(130, 520, 128, 128, true, 0);   /* bf16 out */
  t_gw_conv(2, 150, 1168, 128, 512, 640, 4, true, true); /* the test model's in_proj: xBC ends mid-tile */
  t_gw_conv(3, 65, 584, 64, 256, 320, 4, false, false);
  t_gw_conv(1, 300, 264, 64, 8, 200, 3, true, true);
  t_gw_conv(20, 13, 264, 64, 8, 200, 4, true, true); /* sequences shorter than a storer's 16 rows */
  t_gw_conv(2, 127, 264, 64, 8, 200, 4, true, true); /* a sequence starts a row before tile 1: its edge rows read the state */
  if (!emu) t_gw(1000, 2560, 640, 640, false, 80);
  rt_gemm bad = {4, 4, 4, RT_BLAS_BF16, RT_BLAS_BF16, 1, 1, 1, 1, false, 0};
  int refused = rt_blas_gemm(bl, &bad, &C) == SSD_EUNSUPPORTED;
  printf("%-4s gemm bias with bf16 output refused\n", refused ? "ok" : "FAIL");
  fails += !refused;
  if (!fails && argc > 1 && !strcmp(argv[1], "--bench")) bench(bl);
  if (!fails && argc > 1 && !strcmp(argv[1], "--bench-gemm")) bench_gemm(bl);
  if (!fails && argc > 1 && !strcmp(argv[1], "--bench-prefill")) bench_prefill_ops();
  if (!fails && argc > 1 && !strcmp(argv[1], "--bench-gw")) bench_gw(bl);
  rt_blas_close(bl);
  rt_cuda_close(G);
  printf("test_ops_gpu: %s (%d failures)\n", fails ? "FAILED" : "passed", fails);
  return fails ? 1 : 0;
}
