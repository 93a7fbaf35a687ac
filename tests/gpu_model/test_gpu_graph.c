/* test_gpu_graph.c: CUDA-graph decode and the allocation-free decode step
 * of runtime/rt_gpu_model.c, against the golden fixtures of tests/golden/
 * (HF transformers in float64; nothing here wrote them).
 *
 * usage: test_gpu_graph CASE_DIR...      the checks below, per case
 *        test_gpu_graph --fused          the fused decode path vs the generic one
 *        test_gpu_graph --bench [2.7b]   decode ms/token on random weights of
 *                                        mamba2-130m's (or 2.7b's) shape
 *
 * --fused: the goldens' Mamba-2 shapes miss the fused decode path's gated
 * norm (N = 16, or two norm groups), so a random-weight Mamba-2 with one
 * group and N = 64 runs bf16 decode steps twice: decode kernels on (GEMV,
 * fused mixer, norms in the GEMVs and prescaled by the kernel before) and
 * off ($SSDC_DEC_KERNELS=0: cuBLASLt and the op kernels, which the goldens
 * check).  At batch 1, 3 (norms folded) and 6 (mixer and GEMV only), every
 * step's logits agree within 2e-2 of their largest magnitude, and the fused
 * step runs fewer kernels.
 * Also with that model: the gated norm folded into the SSD kernel and the
 * add after out_proj ($SSDC_GNORM_FOLD=1, plan_gfold) against the default
 * path, which the goldens check: full-logit prefills at 2 x 150 and 1 x 7 (the GEMV's
 * out_proj) and decode steps after a prefill within 2e-2 of the largest
 * logit, with every layer but the last folded (the last one's add is cut
 * to the last position in decode prefills).
 *
 * Per case and precision (fp32, bf16), one executor with graphs off
 * ($SSDC_CUDA_GRAPH=0) and one with graphs on, every new buffer poisoned:
 *  - greedy.json's prompt, then argmax decoding one token at a time: the
 *    tokens agree between the two executors and, in fp32, with the golden
 *    continuation; every step's logits agree to 1e-6 (replay == uncaptured);
 *  - graphs were replayed (steps 2.. of each run) on the graph executor,
 *    never on the other;
 *  - the same greedy run again after a reset of the same batch gives the
 *    same logits (the graph and the arena survive a reset);
 *  - input.safetensors' batch: a prefill of half, then one token per step:
 *    logits within 1e-4 (fp32) / 2e-2 (bf16) of the golden, and equal
 *    between the executors (a batch change re-records and re-captures);
 *  - greedy again at batch 1 (captured again) equals the first run;
 *  - with attention, 80 greedy steps, past the KV caches' first capacity:
 *    replayed logits equal uncaptured ones (caches that grow drop the
 *    graph for one step); and steps after a prefill that moved the caches;
 *  - an id past the vocabulary in a replayed step fails with EINVAL, and
 *    the executor works again after a reset;
 *  - greedy decoding on the device (rt_gpu_decode_greedy) picks, at every
 *    step, what rt_argmax picks from the logits, at batch 1 and at the
 *    input's batch, on both executors.
 * Exits 77 (skip) when there is no GPU driver.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../exec/tx.h"
#include "rt_gpu_model.h"
#include "rt_json.h"
#include "rt_model.h"
#include "rt_safetensors.h"
#include "rt_weights.h"
#include "golden_io.h"

#define MAXTOK GOLDEN_MAXTOK



static double maxabs(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
    double d = fabs((double)a[i] - b[i]);
    if (d > m) m = d;
  }
  return m;
}

/* max |a - b| over max |b| (infinite when b is all zeros: logits never are). */
static double rel_diff(const float *a, const float *b, size_t n) {
  double mx = 0;
  for (size_t i = 0; i < n; i++) mx = fabs(b[i]) > mx ? fabs(b[i]) : mx;
  return mx > 0 ? maxabs(a, b, n) / mx : INFINITY;
}

/* One greedy run: prompt, then nw tokens; tok[k] and the logits of every
 * step ([nw, V], malloc'd into *lg).  0 on success. */
static int greedy(rt_gpu_model *g, const int64_t *prompt, int np, int nw, int64_t *tok,
                  float **lg, int64_t *V, ssd_ctx *c) {
  *lg = NULL;
  int rc = rt_gpu_reset(g, 1, c);
  const int64_t *in = prompt;
  int64_t n = np;
  for (int k = 0; !rc && k < nw; k++) {
    float *l;
    rc = rt_gpu_decode(g, in, 1, n, true, &l, V, c);
    if (rc) break;
    if (!*lg) *lg = tx_poison((size_t)(nw * *V));
    memcpy(*lg + k * *V, l, (size_t)*V * sizeof(float));
    tok[k] = rt_argmax(l, *V);
    free(l);
    in = &tok[k], n = 1;
  }
  return rc;
}

/* input.safetensors' batch through the cache: prefill [0, L/2), then one
 * token per step; the logits of every position into all [B, L, V]. */
static int teacher(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, int64_t V,
                   float *all, ssd_ctx *c) {
  int64_t p1 = L / 2 > 0 ? L / 2 : 1;
  int64_t *piece = malloc((size_t)(B * L) * sizeof *piece + 1);
  int rc = piece ? rt_gpu_reset(g, B, c) : ssd_err(c, SSD_ENOMEM, "out of memory");
  for (int64_t t0 = 0; !rc && t0 < L;) {
    int64_t n = t0 == 0 ? p1 : 1, v;
    for (int64_t b = 0; b < B; b++) memcpy(piece + b * n, ids + b * L + t0, (size_t)n * sizeof *ids);
    float *lg;
    rc = rt_gpu_decode(g, piece, B, n, false, &lg, &v, c);
    if (rc) break;
    if (v != V) rc = ssd_err(c, SSD_EINTERNAL, "vocabulary %lld, want %lld", (long long)v, (long long)V);
    for (int64_t b = 0; !rc && b < B; b++)
      memcpy(all + (b * L + t0) * V, lg + b * n * V, (size_t)(n * V) * sizeof(float));
    free(lg);
    t0 += n;
  }
  free(piece);
  return rc;
}

typedef struct gcase {
  golden_fixture f; /* name, weights, input ids, reference logits */
  const ir_module *m;
  int64_t prompt[MAXTOK], want[MAXTOK];
  int np, nw;
  bool attn;
} gcase;

/* An executor with graphs on or off (the switch is read at creation). */
static int make(const gcase *k, rt_gpu_mode mode, bool graphs, rt_gpu_model **g, ssd_ctx *c) {
  setenv("SSDC_CUDA_GRAPH", graphs ? "1" : "0", 1);
  return rt_gpu_model_new(k->m, weight_of, k->f.w, &(rt_gpu_opts){.mode = mode, .emu = golden_emu}, g, c);
}

/* Greedy on both executors, twice on the graph one. */
static void check_greedy(const gcase *k, rt_gpu_model *off, rt_gpu_model *on, bool f32,
                         const char *label, float **first, int64_t *V) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  int64_t t_off[MAXTOK], t_on[MAXTOK], t_again[MAXTOK];
  float *l_off = NULL, *l_again = NULL;
  int64_t r0 = rt_gpu_graph_replays(on);
  int rc = greedy(off, k->prompt, k->np, k->nw, t_off, &l_off, V, &c);
  if (!rc) rc = greedy(on, k->prompt, k->np, k->nw, t_on, first, V, &c);
  int64_t r1 = rt_gpu_graph_replays(on);
  if (!rc) rc = greedy(on, k->prompt, k->np, k->nw, t_again, &l_again, V, &c);
  TX_CHECK(!rc, "%s: greedy decode failed: %s", label, c.msg);
  if (!rc) {
    int same = 0, gold = 0;
    for (int i = 0; i < k->nw; i++) same += t_off[i] == t_on[i] && t_on[i] == t_again[i],
                                     gold += t_on[i] == k->want[i];
    size_t n = (size_t)(k->nw * *V);
    double d1 = maxabs(*first, l_off, n), d2 = maxabs(*first, l_again, n);
    printf("%s: greedy graphs on == off %d/%d, == golden %d/%d; logits |on-off| %.3g, "
           "|again-on| %.3g; replays %lld + %lld; %lld kernels per decode step\n",
           label, same, k->nw, gold, k->nw, d1, d2, (long long)(r1 - r0),
           (long long)(rt_gpu_graph_replays(on) - r1), (long long)rt_gpu_step_kernels(off));
    TX_CHECK(same == k->nw, "%s: graph and uncaptured greedy tokens differ", label);
    TX_CHECK(!f32 || gold == k->nw, "%s: greedy differs from the golden", label);
    TX_CHECK(d1 <= 1e-6 && d2 <= 1e-6, "%s: replayed logits differ", label);
    /* steps 2.. of a run replay (the first step of a run is the prefill);
     * attention too, its caches (64 positions at least) never growing here */
    int64_t want = k->nw - 2;
    TX_CHECK(r1 - r0 == want, "%s: %lld graph replays, want %lld", label, (long long)(r1 - r0),
             (long long)want);
    TX_CHECK(rt_gpu_graph_replays(on) - r1 == k->nw - 1,
             "%s: the graph was not reused after a reset", label);
    TX_CHECK(rt_gpu_graph_replays(off) == 0, "%s: graphs ran with SSDC_CUDA_GRAPH=0", label);
  }
  free(l_off);
  free(l_again);
}

/* Prompt, 3 steps, a 70-token prefill from tok (the caches grow past 64
 * positions and move), 3 steps: the logits of the 6 steps into *lg. */
#define MIXED_STEPS 6
static int mixed_run(rt_gpu_model *g, const gcase *k, const int64_t *tok, float **lg,
                     ssd_ctx *c) {
  int64_t V;
  float *l = NULL;
  *lg = NULL;
  int rc = rt_gpu_reset(g, 1, c);
  if (!rc) rc = rt_gpu_decode(g, k->prompt, 1, k->np, true, &l, &V, c);
  for (int i = 0; !rc && i < MIXED_STEPS + 1; i++) {
    free(l);
    l = NULL;
    const bool pre = i == 3; /* the growing prefill between the steps */
    rc = rt_gpu_decode(g, tok + i, 1, pre ? 70 : 1, true, &l, &V, c);
    if (!rc && !*lg) *lg = tx_poison((size_t)(MIXED_STEPS * V));
    if (!rc && !pre) memcpy(*lg + (i - (i > 3)) * V, l, (size_t)V * sizeof(float));
  }
  free(l);
  return rc;
}

/* A model with attention: greedy past the KV caches' first capacity (64
 * positions), so steps grow them (the graph is dropped, the step runs from
 * the arena, the next one is captured again): replayed logits still equal
 * uncaptured ones, and most steps replay. */
static void check_kv_growth(const gcase *k, rt_gpu_model *off, rt_gpu_model *on,
                            const char *label) {
  enum { NW = 80 };
  ssd_ctx c;
  ssd_ctx_init(&c);
  int64_t t_off[NW], t_on[NW], V = 0;
  float *l_off = NULL, *l_on = NULL;
  const int64_t r0 = rt_gpu_graph_replays(on);
  int rc = greedy(off, k->prompt, k->np, NW, t_off, &l_off, &V, &c);
  if (!rc) rc = greedy(on, k->prompt, k->np, NW, t_on, &l_on, &V, &c);
  TX_CHECK(!rc, "%s: long greedy failed: %s", label, c.msg);
  if (!rc) {
    const double d = maxabs(l_on, l_off, (size_t)(NW * V));
    const int64_t rp = rt_gpu_graph_replays(on) - r0;
    printf("%s: %d steps past the KV capacity: |on-off| %.3g, %lld replays\n", label, NW, d,
           (long long)rp);
    TX_CHECK(d <= 1e-6, "%s: replayed logits differ after a KV cache grew", label);
    /* NW - 1 single-token steps after the prompt's prefill; each step that
     * grows the caches (64 positions, then doubling) runs uncaptured, and
     * so does the first when the step arena is not yet recorded. */
    int grows = 0;
    for (int64_t p = k->np, cap = 64; p < k->np + NW - 1; p++)
      if (p + 1 > cap) grows++, cap *= 2;
    TX_CHECK(grows > 0 && rp >= NW - 2 - grows && rp <= NW - 1 - grows,
             "%s: %lld replays over %d steps with %d growths", label, (long long)rp, NW - 1, grows);
  }
  /* steps, a prefill that grows the caches (moving them), steps again */
  float *s_off = NULL, *s_on = NULL;
  if (!rc) rc = mixed_run(off, k, t_off, &s_off, &c);
  if (!rc) rc = mixed_run(on, k, t_off, &s_on, &c);
  TX_CHECK(!rc, "%s: steps around a growing prefill failed: %s", label, c.msg);
  if (!rc)
    TX_CHECK(maxabs(s_on, s_off, (size_t)(MIXED_STEPS * V)) <= 1e-6,
             "%s: steps after a prefill that moved the KV caches differ", label);
  free(s_off);
  free(s_on);
  free(l_off);
  free(l_on);
}

/* nw greedy steps from prompts [B, L], the picks into tok [nw, B]: on the
 * host from the logits (rt_argmax), or on the device (rt_gpu_decode_greedy). */
/* How greedy_rows picks: the host's argmax of the logits, the device's
 * argmax one step per call, or the device's over back-to-back replays. */
enum { PICK_HOST, PICK_DEVICE, PICK_RUN };
static int greedy_rows(rt_gpu_model *g, const int64_t *prompts, int64_t B, int64_t L, int nw,
                       int how, int64_t *tok, ssd_ctx *c) {
  int rc = rt_gpu_reset(g, B, c);
  const bool device = how != PICK_HOST;
  if (how == PICK_RUN) { /* the prefill's pick, then nw - 1 steps in one call */
    if (!rc) rc = rt_gpu_decode_greedy(g, prompts, B, L, tok, c);
    if (!rc && nw > 1) rc = rt_gpu_decode_greedy_n(g, tok, B, nw - 1, tok + B, c);
    return rc;
  }
  const int64_t *in = prompts;
  for (int k = 0; !rc && k < nw; k++) {
    int64_t *out = tok + k * B, V;
    float *lg = NULL;
    rc = device ? rt_gpu_decode_greedy(g, in, B, k ? 1 : L, out, c)
                : rt_gpu_decode(g, in, B, k ? 1 : L, true, &lg, &V, c);
    for (int64_t b = 0; !rc && !device && b < B; b++) out[b] = rt_argmax(lg + b * V, V);
    free(lg);
    in = out;
  }
  return rc;
}

/* Greedy decoding on the device (the argmax kernel at the end of the step,
 * or the LM head's GEMV picking in its epilogue, inside the step's graph)
 * picks what the host picks from the same logits, every step, at batch 1
 * and at the input's batch (its rows as prompts). */
/* Picks of two ways of greedy decoding, nw steps at batch b: equal. */
static void same_picks(rt_gpu_model *g, const int64_t *prompts, int64_t b, int64_t l, int nw,
                       int how_a, int how_b, const char *what, const char *label) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  int64_t *pa = malloc((size_t)(nw * b) * sizeof *pa), *pb = malloc((size_t)(nw * b) * sizeof *pb);
  TX_CHECK(pa && pb, "out of memory");
  if (!pa || !pb) return free(pa), free(pb);
  for (int64_t i = 0; i < nw * b; i++) pa[i] = -1, pb[i] = -2;
  int rc = greedy_rows(g, prompts, b, l, nw, how_a, pa, &c);
  if (!rc) rc = greedy_rows(g, prompts, b, l, nw, how_b, pb, &c);
  TX_CHECK(!rc, "%s: %s at batch %lld failed: %s", label, what, (long long)b, c.msg);
  int same = 0;
  for (int64_t i = 0; !rc && i < nw * b; i++) same += pa[i] == pb[i];
  if (!rc) printf("%s: %s at batch %lld: %d/%lld picks\n", label, what, (long long)b, same,
                  (long long)(nw * b));
  TX_CHECK(rc || same == nw * b, "%s: %s differ", label, what);
  free(pa), free(pb);
}

static void check_device_greedy(const gcase *k, rt_gpu_model *g, bool graphs, const char *label) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  const int64_t B = k->f.ishape[0], L = k->f.ishape[1];
  int64_t *host = malloc((size_t)(k->nw * B) * sizeof *host);
  int64_t *dev = malloc((size_t)(k->nw * B) * sizeof *dev);
  for (int pass = 0; pass < 2; pass++) {
    const int64_t b = pass ? B : 1, l = pass ? L : k->np;
    const int64_t *prompts = pass ? k->f.ids : k->prompt;
    same_picks(g, prompts, b, l, k->nw, PICK_HOST, PICK_DEVICE, "device greedy == host argmax",
               label);
    /* (the LM head's GEMV picks in its epilogue where it runs the head:
     * then no argmax kernel follows it) */
    printf("%s: %lld kernels per greedy step at batch %lld\n", label,
           (long long)rt_gpu_step_kernels(g), (long long)b);
    same_picks(g, prompts, b, l, k->nw, PICK_HOST, PICK_RUN, "replayed runs == host argmax",
               label);
  }
  /* two runs, the ring of picks (64 slots) wrapping, and for attention a
   * KV-cache growth: one call against a step per call */
  const int64_t runs = rt_gpu_greedy_runs(g);
  if (graphs)
    same_picks(g, k->prompt, 1, k->np, 70, PICK_DEVICE, PICK_RUN, "70 steps in runs == per step",
               label);
  /* the long check makes two runs at least (more around a KV growth) */
  TX_CHECK(graphs ? rt_gpu_greedy_runs(g) - runs >= 2 : rt_gpu_greedy_runs(g) == 0,
           "%s: %lld runs of replays (graphs %s)", label, (long long)(rt_gpu_greedy_runs(g) - runs),
           graphs ? "on" : "off");
  TX_CHECK(host && dev, "out of memory");
  /* an id past the vocabulary in greedy steps (the second one replays):
   * EINVAL, and greedy works again after a reset */
  if (host && dev) {
    int64_t bad = k->f.lshape[2], next = -1;
    int64_t nexts[8];
    int rc = greedy_rows(g, k->prompt, 1, k->np, 3, PICK_DEVICE, dev, &c);
    int b1 = rc ? rc : rt_gpu_decode_greedy(g, &bad, 1, 1, &next, &c);
    int rc2 = greedy_rows(g, k->prompt, 1, k->np, 3, PICK_DEVICE, dev, &c);
    int b2 = rc2 ? rc2 : rt_gpu_decode_greedy(g, &bad, 1, 1, &next, &c);
    /* and at the start of a run of replays */
    int rc4 = greedy_rows(g, k->prompt, 1, k->np, 3, PICK_DEVICE, dev, &c);
    int b4 = rc4 ? rc4 : rt_gpu_decode_greedy_n(g, &bad, 1, 8, nexts, &c);
    int rc3 = greedy_rows(g, k->prompt, 1, k->np, k->nw, PICK_RUN, host, &c);
    TX_CHECK(!rc && !rc2 && !rc4 && b1 == SSD_EINVAL && b2 == SSD_EINVAL && b4 == SSD_EINVAL,
             "%s: a bad id in a greedy step gave %d, %d, %d (want EINVAL)", label, b1, b2, b4);
    TX_CHECK(!rc3, "%s: greedy after a bad id failed: %s", label, c.msg);
  }
  free(host);
  free(dev);
}

/* $SSDC_DEC_TRACE: a traced executor picks what the plain one picks (the
 * stamps change no result), and one traced step's timeline has a record for
 * every decode kernel it launched (a GEMV or a fused mixer, at most one head
 * that picks), each in order (start <= first wait <= last wait <= end).
 * (Launches run one after another on the emulated device, so there each
 * kernel also starts after the previous one ended.) */
static void check_trace(const gcase *k, rt_gpu_model *plain, const char *label) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_gpu_model *g = NULL;
  setenv("SSDC_DEC_TRACE", "1", 1);
  int rc = make(k, RT_GPU_BF16, true, &g, &c);
  unsetenv("SSDC_DEC_TRACE");
  TX_CHECK(!rc && rt_gpu_trace_on(g) && !rt_gpu_trace_on(plain), "%s: traced executor: %s", label,
           c.msg);
  int64_t pa[MAXTOK], pb[MAXTOK], next = -1;
  const int nw = k->nw < 4 ? k->nw : 4;
  if (!rc) rc = greedy_rows(plain, k->prompt, 1, k->np, nw, PICK_RUN, pa, &c);
  if (!rc) rc = greedy_rows(g, k->prompt, 1, k->np, nw, PICK_RUN, pb, &c);
  if (!rc) rc = rt_gpu_trace_reset(g, &c);
  if (!rc) rc = rt_gpu_decode_greedy(g, &pb[nw - 1], 1, 1, &next, &c);
  enum { CAP = 512 };
  static double us[4 * CAP];
  const char *lab[CAP];
  int n = 0;
  if (!rc) rc = rt_gpu_trace_fetch(g, us, lab, CAP, &n, &c);
  TX_CHECK(!rc, "%s: traced greedy failed: %s", label, c.msg);
  int same = 0, ordered = 0, mixers = 0, gemvs = 0, heads = 0, seq = 0;
  for (int i = 0; !rc && i < nw; i++) same += pa[i] == pb[i];
  for (int i = 0; i < n; i++) {
    const double *q = us + 4 * i;
    ordered += q[0] >= 0 && q[0] <= q[1] && q[1] <= q[2] && q[2] <= q[3];
    seq += i == 0 || !golden_emu || q[0] >= us[4 * (i - 1) + 3];
    mixers += strstr(lab[i], "mixer") != NULL;
    heads += strstr(lab[i], "head+pick") != NULL;
    gemvs += strstr(lab[i], "gemv") != NULL || strstr(lab[i], "head+pick") != NULL;
  }
  if (!rc) printf("%s: traced step: %d kernels, %d mixers, %d picking heads; picks %d/%d\n", label,
                  n, mixers, heads, same, nw);
  TX_CHECK(rc || same == nw, "%s: traced picks differ from the plain executor's", label);
  TX_CHECK(rc || (n > 0 && ordered == n && seq == n), "%s: %d of %d records in order (%d after "
           "their predecessor)", label, ordered, n, seq);
  TX_CHECK(rc || (mixers + gemvs == n && heads <= 1), "%s: %d mixers, %d GEMVs (%d picking "
           "heads) of %d records", label, mixers, gemvs, heads, n);
  if (!rc) {
    FILE *f = tmpfile();
    TX_CHECK(f && !rt_gpu_trace_print(g, f, &c) && ftell(f) > 0, "%s: trace print: %s", label,
             c.msg);
    if (f) fclose(f);
  }
  rt_gpu_model_free(g);
}

static void check_case(const gcase *k, rt_gpu_mode mode) {
  const bool f32 = mode == RT_GPU_F32;
  char label[256];
  snprintf(label, sizeof label, "%s %s", k->f.name, f32 ? "fp32" : "bf16");
  ssd_ctx c;
  ssd_ctx_init(&c);
  rt_gpu_model *off = NULL, *on = NULL;
  int rc = make(k, mode, false, &off, &c);
  if (!rc) rc = make(k, mode, true, &on, &c);
  TX_CHECK(!rc, "%s: setup failed: %s", label, c.msg);
  float *first = NULL, *a_off = NULL, *a_on = NULL, *again = NULL;
  int64_t V = 0, B = k->f.ishape[0], L = k->f.ishape[1], tok[MAXTOK];
  if (!rc) check_greedy(k, off, on, f32, label, &first, &V);
  if (!rc) check_device_greedy(k, on, true, label);
  if (!rc) check_device_greedy(k, off, false, label);
  if (!rc && !f32) check_trace(k, on, label);
  if (!rc && k->attn) check_kv_growth(k, off, on, label);
  if (!rc && first && V == k->f.lshape[2]) {
    size_t n = (size_t)(B * L * V);
    a_off = tx_poison(n), a_on = tx_poison(n);
    rc = teacher(off, k->f.ids, B, L, V, a_off, &c);
    if (!rc) rc = teacher(on, k->f.ids, B, L, V, a_on, &c);
    TX_CHECK(!rc, "%s: batch %lld decode failed: %s", label, (long long)B, c.msg);
    if (!rc) {
      double tol = f32 ? 1e-4 : 2e-2, r = tx_reldiff(a_on, k->f.ref, n), d = maxabs(a_on, a_off, n);
      printf("%s: batch %lld prefill+steps vs golden %.3g, |on-off| %.3g\n", label, (long long)B,
             r, d);
      TX_CLOSE("graph decode vs golden", r, tol);
      TX_CHECK(d <= 1e-6, "%s: batch %lld graph logits differ from uncaptured", label, (long long)B);
    }
    /* back to batch 1: the arena and the graph are built again */
    if (!rc) rc = greedy(on, k->prompt, k->np, k->nw, tok, &again, &V, &c);
    TX_CHECK(!rc, "%s: greedy after a batch change failed: %s", label, c.msg);
    if (!rc) TX_CHECK(maxabs(first, again, (size_t)(k->nw * V)) <= 1e-6,
                      "%s: greedy after a batch change differs", label);
    /* a bad id in a (replayed) step */
    int64_t bad = V;
    float *lg = NULL;
    int64_t v;
    int brc = rt_gpu_decode(on, &bad, 1, 1, true, &lg, &v, &c);
    TX_CHECK(brc == SSD_EINVAL && !lg, "%s: an id past the vocabulary in a step gave %d", label, brc);
    free(lg);
    free(again);
    again = NULL;
    if (!rc) rc = greedy(on, k->prompt, k->np, k->nw, tok, &again, &V, &c);
    TX_CHECK(!rc && maxabs(first, again, (size_t)(k->nw * V)) <= 1e-6,
             "%s: greedy after a bad id differs or failed: %s", label, rc ? c.msg : "");
  }
  free(first);
  free(again);
  free(a_off);
  free(a_on);
  rt_gpu_model_free(off);
  rt_gpu_model_free(on);
}

/* 0 ok, 77 no GPU, 1 failure to set up. */
static int run_case(const char *dir) {
  gcase k;
  memset(&k, 0, sizeof k);
  ssd_ctx c;
  ssd_ctx_init(&c);
  int rc = golden_open(dir, &k.f, &c);
  if (!rc && read_greedy(dir, k.prompt, &k.np, k.want, &k.nw))
    rc = ssd_err(&c, SSD_EINVAL, "bad greedy.json");
  int ret = rc ? 1 : 0;
  if (!rc) {
    k.m = rt_model_module(k.f.md);
    for (const ir_node *n = k.m->main->first; n; n = n->next) k.attn |= n->op == IR_ATTENTION;
    rt_gpu_model *probe = NULL;
    rc = rt_gpu_model_new(k.m, weight_of, k.f.w, &(rt_gpu_opts){.mode = RT_GPU_F32, .emu = golden_emu}, &probe, &c);
    rt_gpu_model_free(probe);
    ret = rc == SSD_EDEVICE ? 77 : rc ? 1 : 0;
  }
  if (rc) fprintf(stderr, "%s: setup failed: %s\n", k.f.name, c.msg);
  if (!rc) {
    check_case(&k, RT_GPU_F32);
    check_case(&k, RT_GPU_BF16);
  }
  golden_close(&k.f);
  return ret;
}

/* ---- timing ------------------------------------------------------------------------ */
static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ms per decode step at batch B after an 8-token prefill (host logits copy
 * included, as a caller sees it); warm-up steps build the arena and graph. */
static int time_decode(rt_gpu_model *g, int64_t B, int steps, double *ms, ssd_ctx *c) {
  int64_t ids[16 * 8];
  for (int i = 0; i < 16 * 8; i++) ids[i] = (i * 7919) % 50000;
  int rc = rt_gpu_reset(g, B, c);
  float *lg = NULL;
  int64_t V;
  if (!rc) rc = rt_gpu_decode(g, ids, B, 8, true, &lg, &V, c);
  free(lg);
  double t0 = 0;
  for (int s = 0; !rc && s < steps + 3; s++) {
    if (s == 3) t0 = now_s();
    rc = rt_gpu_decode(g, ids, B, 1, true, &lg, &V, c);
    free(lg);
  }
  *ms = rc ? 0 : (now_s() - t0) * 1e3 / steps;
  return rc;
}

static int bench(const char *label, const char *const *sets, int nsets) {
  ssd_ctx c;
  ssd_ctx_init(&c);
  char path[4096];
  snprintf(path, sizeof path, "%s/mamba2.ssd", rt_models_dir());
  rt_model_opts o = {0};
  o.codegen = -1;
  o.sets = sets, o.nsets = nsets;
  rt_model *md = NULL;
  double t0 = now_s();
  int rc = rt_model_random(path, &o, 7, &md, &c);
  if (rc) {
    fprintf(stderr, "%s: random model: %s\n", label, c.msg);
    return 1;
  }
  printf("%s: random weights in %.1f s\n", label, now_s() - t0);
  rt_weight_fn wfn;
  void *wctx;
  rt_model_weights(md, &wfn, &wctx);
  static const rt_gpu_mode modes[] = {RT_GPU_BF16, RT_GPU_F32};
  for (int mi = 0; mi < 2 && !rc; mi++)
    for (int gi = 0; gi < 2 && !rc; gi++) {
      rt_gpu_model *g = NULL;
      setenv("SSDC_CUDA_GRAPH", gi ? "1" : "0", 1);
      const rt_gpu_opts go = {.mode = modes[mi], .emu = golden_emu};
      rc = rt_gpu_model_new(rt_model_module(md), wfn, wctx, &go, &g, &c);
      static const int64_t Bs[] = {1, 16};
      for (int bi = 0; bi < 2 && !rc; bi++) {
        double ms;
        rc = time_decode(g, Bs[bi], 100, &ms, &c);
        if (!rc)
          printf("%s %s graphs %-3s batch %2lld: %.3f ms/token-step, %lld kernels/step (%s)\n",
                 label, mi ? "fp32" : "bf16", gi ? "on" : "off", (long long)Bs[bi], ms,
                 (long long)rt_gpu_step_kernels(g), rt_gpu_model_device(g));
      }
      if (rc) fprintf(stderr, "%s: %s\n", label, c.msg);
      rt_gpu_model_free(g);
    }
  rt_model_free(md);
  return rc == SSD_EDEVICE ? 77 : rc ? 1 : 0;
}

/* ---- the fused decode path against the generic one (--fused) ---------------------- */
static int fused_model(rt_model *md, bool dec, rt_gpu_model **g, ssd_ctx *c) {
  rt_weight_fn wfn;
  void *wctx;
  rt_model_weights(md, &wfn, &wctx);
  setenv("SSDC_DEC_KERNELS", dec ? "1" : "0", 1);
  const rt_gpu_opts go = {.mode = RT_GPU_BF16, .emu = golden_emu};
  const int rc = rt_gpu_model_new(rt_model_module(md), wfn, wctx, &go, g, c);
  unsetenv("SSDC_DEC_KERNELS");
  return rc;
}

/* Prefill 5 tokens, then 6 steps at batch B on both executors. */
static void fused_batch(rt_gpu_model *on, rt_gpu_model *off, int64_t B, ssd_ctx *c) {
  int64_t ids[6 * 11];
  for (int i = 0; i < 6 * 11; i++) ids[i] = (i * 7919 + 13) % 50000;
  rt_gpu_model *gs[2] = {on, off};
  int rc = SSD_OK;
  for (int k = 0; k < 2 && !rc; k++) {
    float *lg = NULL;
    int64_t V;
    rc = rt_gpu_reset(gs[k], B, c);
    if (!rc) rc = rt_gpu_decode(gs[k], ids, B, 5, true, &lg, &V, c);
    free(lg);
  }
  double worst = 0;
  for (int s = 0; s < 6 && !rc; s++) {
    float *l[2] = {NULL, NULL};
    int64_t V = 0;
    for (int k = 0; k < 2 && !rc; k++) rc = rt_gpu_decode(gs[k], ids + 5 * B + s * B, B, 1, true, &l[k], &V, c);
    if (!rc) {
      const double e = rel_diff(l[0], l[1], (size_t)(B * V));
      worst = e > worst ? e : worst;
    }
    free(l[0]), free(l[1]);
  }
  TX_CHECK(!rc, "fused: batch %lld decode failed: %s", (long long)B, c->msg);
  const int64_t kon = rt_gpu_step_kernels(on), koff = rt_gpu_step_kernels(off);
  printf("fused vs generic decode, batch %lld: logits rel diff %.3g, kernels/step %lld vs %lld\n",
         (long long)B, worst, (long long)kon, (long long)koff);
  TX_CHECK(worst <= 2e-2, "fused: batch %lld logits differ by %.3g", (long long)B, worst);
  TX_CHECK(kon < koff, "fused: batch %lld did not take the fused path (%lld kernels vs %lld)",
           (long long)B, (long long)kon, (long long)koff);
}

/* Logits of the fold on and off within 2e-2 of their largest magnitude. */
static void fold_compare(const char *what, const float *on, const float *off, size_t n) {
  const double e = rel_diff(on, off, n);
  printf("gated norm folded vs not, %s: logits rel diff %.3g\n", what, e);
  TX_CHECK(e <= 2e-2, "gnorm fold: %s logits differ by %.3g", what, e);
}

/* Two bf16 executors of md: g[0] built with $var=1, g[1] with $var=0. */
static int env_pair(rt_model *md, const char *var, rt_gpu_model *g[2], ssd_ctx *c) {
  rt_weight_fn wfn;
  void *wctx;
  rt_model_weights(md, &wfn, &wctx);
  const rt_gpu_opts go = {.mode = RT_GPU_BF16, .emu = golden_emu};
  int rc = SSD_OK;
  g[0] = g[1] = NULL;
  for (int k = 0; k < 2 && !rc; k++) {
    setenv(var, k ? "0" : "1", 1);
    rc = rt_gpu_model_new(rt_model_module(md), wfn, wctx, &go, &g[k], c);
    unsetenv(var);
  }
  return rc;
}

/* The model's n_layer = 3: full forwards fold all three, decode prefills two.
 * own: ssdc's GEMM applies the row scale in out_proj where the device has
 * it ($SSDC_OWN_GEMM=1), else the add after out_proj does (=0). */
static void gfold_check(rt_model *md, bool own, ssd_ctx *c) {
  rt_gpu_model *g[2];
  setenv("SSDC_OWN_GEMM", own ? "1" : "0", 1);
  int rc = env_pair(md, "SSDC_GNORM_FOLD", g, c);
  unsetenv("SSDC_OWN_GEMM");
  const int gw = own && !rc && rt_gpu_has_wgmma(g[0]); /* 1: every fold through the GEMM */
  static const int64_t shapes[][2] = {{2, 150}, {1, 7}};
  int64_t ids[2 * 150 + 8];
  for (int i = 0; i < 2 * 150 + 8; i++) ids[i] = (i * 7919 + 5) % 50000;
  for (int s = 0; s < 2 && !rc; s++) {
    const int64_t B = shapes[s][0], L = shapes[s][1];
    float *l[2] = {NULL, NULL};
    int64_t V = 0;
    int folds[2], gws[2];
    for (int k = 0; k < 2 && !rc; k++)
      rc = rt_gpu_forward(g[k], ids, B, L, &l[k], &V, c), folds[k] = rt_gpu_gnorm_folds(g[k]),
      gws[k] = rt_gpu_gemm_folds(g[k]);
    char what[64];
    snprintf(what, sizeof what, "forward %lld x %lld%s", (long long)B, (long long)L,
             gw ? ", own GEMM" : "");
    if (!rc) fold_compare(what, l[0], l[1], (size_t)(B * L * V));
    /* up to GEMV_MAX_M rows out_proj is the decode GEMV, and the add scales */
    TX_CHECK(rc || (folds[0] == 3 && folds[1] == 0 && gws[0] == 3 * gw * (B * L > 8) && gws[1] == 0),
             "gnorm fold: %s folded %d and %d layers (%d and %d by the GEMM)", what, folds[0],
             folds[1], gws[0], gws[1]);
    free(l[0]), free(l[1]);
  }
  for (int k = 0; k < 2 && !rc; k++) { /* decode after a folded prefill: the state handover */
    float *lg = NULL;
    int64_t V;
    rc = rt_gpu_reset(g[k], 2, c);
    if (!rc) rc = rt_gpu_decode(g[k], ids, 2, 70, true, &lg, &V, c);
    TX_CHECK(rc || rt_gpu_gnorm_folds(g[k]) == (k ? 0 : 2), "gnorm fold: decode prefill folded %d",
             rt_gpu_gnorm_folds(g[k]));
    free(lg);
  }
  for (int st = 0; st < 3 && !rc; st++) {
    float *l[2] = {NULL, NULL};
    int64_t V = 0;
    for (int k = 0; k < 2 && !rc; k++) rc = rt_gpu_decode(g[k], ids + 140 + 2 * st, 2, 1, true, &l[k], &V, c);
    if (!rc) fold_compare("decode step after prefill", l[0], l[1], (size_t)(2 * V));
    free(l[0]), free(l[1]);
  }
  TX_CHECK(!rc, "gnorm fold: %s", c->msg);
  rt_gpu_model_free(g[0]), rt_gpu_model_free(g[1]);
}

/* One run of a fold or kernel comparison: mode 0 a forward, 1 reset then a
 * prefill, 2 a prefill or step from the state.  *n: the logits returned. */
typedef struct {
  int64_t B, L;
  int mode;
} cmp_run;
static int run_cmp(rt_gpu_model *g, const cmp_run *r, const int64_t *ids, float **l, size_t *n,
                   ssd_ctx *c) {
  int64_t V = 0;
  int rc = r->mode == 1 ? rt_gpu_reset(g, r->B, c) : SSD_OK;
  if (!rc) rc = r->mode ? rt_gpu_decode(g, ids, r->B, r->L, true, l, &V, c)
                        : rt_gpu_forward(g, ids, r->B, r->L, l, &V, c);
  *n = rc ? 0 : (size_t)(r->B * (r->mode ? 1 : r->L) * V);
  return rc;
}

/* An executor plan that $var turns on (g[0]) against the same model with it
 * off (g[1]) over runs (forwards: all three layers take it; prefills, one
 * from the state of the last; decode steps: none take it), with runs_of()
 * counting the nodes that did; runs of fewer than min_rows tokens do not
 * take it either.  How close the logits must be: */
typedef enum {
  PLAN_EQUAL,      /* bit for bit */
  PLAN_EQUAL_EMU,  /* within bf16 rounding (two GEMM splittings: cuBLASLt may pick other
                      algorithms), and bit for bit on the emulated device all the same */
  PLAN_NEAR        /* within bf16 rounding everywhere (another GEMM kernel sums in another order) */
} plan_match;
typedef int (*plan_runs_fn)(const rt_gpu_model *g);
static void plan_check(rt_model *md, const char *var, const char *what, const cmp_run *runs,
                       size_t nruns, plan_runs_fn runs_of, int64_t min_rows, plan_match match,
                       ssd_ctx *c) {
  rt_gpu_model *g[2];
  int rc = env_pair(md, var, g, c);
  int64_t ids[400];
  for (int i = 0; i < 400; i++) ids[i] = (i * 7919 + 11) % 50000;
  for (size_t q = 0; q < nruns && !rc; q++) {
    const int64_t B = runs[q].B, L = runs[q].L;
    float *l[2] = {NULL, NULL};
    int took[2] = {0, 0};
    size_t n = 0;
    for (int k = 0; k < 2 && !rc; k++) {
      rc = run_cmp(g[k], &runs[q], ids + 7 * q, &l[k], &n, c);
      took[k] = runs_of(g[k]);
    }
    if (rc) break;
    const double e = n ? rel_diff(l[0], l[1], n) : INFINITY;
    const bool same = n > 0 && !memcmp(l[0], l[1], n * sizeof(float));
    printf("%s vs not, run %zu (%lld x %lld): %d / %d layers, logits rel diff %.3g%s\n", what, q,
           (long long)B, (long long)L, took[0], took[1], e, same ? " (equal)" : "");
    const bool near = match == PLAN_NEAR || (match == PLAN_EQUAL_EMU && !golden_emu);
    TX_CHECK(same || (near && e <= 2e-2), "%s: run %zu logits differ (%.3g)",
             var, q, e);
    const int want = L > 1 && B * L >= min_rows ? 3 : 0;
    TX_CHECK(took[1] == 0 && took[0] == want, "%s: run %zu took %d and %d layers", var, q, took[0],
             took[1]);
    free(l[0]), free(l[1]);
  }
  TX_CHECK(!rc, "%s: %s", var, c->msg);
  rt_gpu_model_free(g[0]), rt_gpu_model_free(g[1]);
}

/* The x conv folded into the SSD kernel (plan_xconv) convolves the tile
 * exactly as the conv kernel would have stored it, so logits are equal bit
 * for bit with and without it; the prefill's conv state matters too (the
 * B/C conv writes x's channels), which the prefill from it checks. */
static void xconv_check(rt_model *md, ssd_ctx *c) {
  static const cmp_run runs[] = {{2, 150, 0}, {1, 7, 0}, {2, 70, 1}, {2, 30, 2},
                                   {2, 1, 2},   {2, 1, 2}, {2, 65, 2}};
  setenv("SSDC_CONV_FOLD", "0", 1); /* not: the conv kernel after cuBLASLt's in_proj */
  plan_check(md, "SSDC_XCONV", "x conv folded", runs, sizeof runs / sizeof *runs,
             rt_gpu_xconv_folds, 1, PLAN_EQUAL, c);
  unsetenv("SSDC_CONV_FOLD");
}

/* in_proj's gate columns on the side stream (plan_zside; up to 8 rows the
 * decode GEMV takes the linear instead).  On the emulated device the side's
 * GEMM runs only at the join and freed blocks are poisoned, so a gated norm
 * that did not wait, or an x freed before the GEMM read it, gives NaN or
 * other logits.  The joins: at the gated norm (a forward), at the cut to
 * the last position (a prefill); then a prefill from state and a step. */
static void zside_check(rt_model *md, ssd_ctx *c) {
  static const cmp_run runs[] = {{2, 150, 0}, {2, 70, 1}, {2, 30, 2}, {2, 1, 2}};
  setenv("SSDC_GNORM_FOLD", "0", 1); /* the gated norms run as a pass, beside which the side works */
  setenv("SSDC_CONV_FOLD", "0", 1); /* in_proj through cuBLASLt, which the split takes */
  plan_check(md, "SSDC_SIDE_GEMM", "gate GEMM on the side stream", runs,
             sizeof runs / sizeof *runs, rt_gpu_zside_runs, 9, PLAN_EQUAL_EMU, c);
  unsetenv("SSDC_CONV_FOLD");
  unsetenv("SSDC_GNORM_FOLD");
}

/* The gated norm launched into the tail of the chunked SSD kernel before it
 * (PDL; each row waits for its flag: rt_gpu_gnorm_after) computes what the
 * norm launched after the SSD kernel does, so logits are equal bit for bit.
 * Forwards (in a prefill the last layer's norm runs after the cut to the
 * last position, on a copy), with the fold off so that batch 1 has the
 * norm's pass too. */
static void after_check(rt_model *md, ssd_ctx *c) {
  static const cmp_run runs[] = {{2, 150, 0}, {1, 7, 0}, {3, 65, 0}};
  setenv("SSDC_GNORM_FOLD", "0", 1);
  plan_check(md, "SSDC_GNORM_AFTER", "gated norm in the SSD tail", runs,
             sizeof runs / sizeof *runs, rt_gpu_gnorm_after, 1, PLAN_EQUAL, c);
  unsetenv("SSDC_GNORM_FOLD");
}

/* Linears through ssdc's own GEMM ($SSDC_OWN_GEMM=1: in_proj with a bf16
 * output, out_proj adding into the residual, or applying the folded norm's
 * row scale at batch 1) against cuBLASLt: forwards of more than 8 tokens
 * (below, the decode GEMV takes them), two GEMMs a layer. */
static int gw_layers(const rt_gpu_model *g) {
  return (rt_gpu_gemm_linears(g) + rt_gpu_gemm_folds(g)) / 2;
}
/* Whether the device has wgmma (ssdc's own GEMM runs there). */
static bool device_has_wgmma(rt_model *md, ssd_ctx *c) {
  rt_gpu_model *probe = NULL;
  const rt_gpu_opts go = {.mode = RT_GPU_BF16, .emu = golden_emu};
  rt_weight_fn wfn;
  void *wctx;
  rt_model_weights(md, &wfn, &wctx);
  if (rt_gpu_model_new(rt_model_module(md), wfn, wctx, &go, &probe, c)) return false;
  const bool has = rt_gpu_has_wgmma(probe);
  rt_gpu_model_free(probe);
  return has;
}
static void gw_check(rt_model *md, ssd_ctx *c) {
  static const cmp_run runs[] = {{2, 150, 0}, {1, 130, 0}, {3, 65, 0}, {1, 7, 0}};
  if (!device_has_wgmma(md, c)) return;
  setenv("SSDC_CONV_FOLD", "0", 1); /* in_proj as a plain GEMM in both */
  plan_check(md, "SSDC_OWN_GEMM", "own GEMM", runs, sizeof runs / sizeof *runs, gw_layers, 9, PLAN_NEAR, c);
  unsetenv("SSDC_CONV_FOLD");
}

/* The conv in in_proj's GEMM epilogue (plan_cfold) against the conv
 * kernel after the same GEMM (ssdc's own for in_proj in both: $SSDC_OWN_GEMM=1),
 * summed in the same order, so logits are equal bit for bit: forwards
 * whose row tiles start inside sequences (2x150) and sequences inside tiles
 * (3x65: the fix-up and the epilogue's state at a sequence start), a reset
 * prefill (the new state written), a prefill from that state (read) and the
 * steps after it (the state the fold wrote). */
static void cfold_check(rt_model *md, ssd_ctx *c) {
  static const cmp_run runs[] = {{2, 150, 0}, {3, 65, 0}, {2, 70, 1}, {2, 30, 2}, {2, 1, 2}, {2, 65, 2}};
  if (!device_has_wgmma(md, c)) return;
  setenv("SSDC_OWN_GEMM", "1", 1);
  plan_check(md, "SSDC_CONV_FOLD", "conv in in_proj's epilogue", runs, sizeof runs / sizeof *runs,
             rt_gpu_conv_folds, 9, PLAN_EQUAL, c);
  unsetenv("SSDC_OWN_GEMM");
}

/* A kernel choice read at each launch, $var = 1 for g[0] and 0 for g[1] (set
 * around each model's runs), compared over runs: logits within tol, and
 * count_of(g[0]) == layers for runs of more than min_L tokens (where avail,
 * if given, says g[0]'s device has the choice), count_of(g[1]) == 0. */
static void launch_var_check(rt_model *md, const char *var, const char *what, const cmp_run *runs,
                             size_t nruns, plan_runs_fn count_of, int layers, int64_t min_L,
                             bool (*avail)(const rt_gpu_model *), double tol, int salt, ssd_ctx *c) {
  rt_gpu_model *g[2] = {NULL, NULL};
  rt_weight_fn wfn;
  void *wctx;
  rt_model_weights(md, &wfn, &wctx);
  const rt_gpu_opts go = {.mode = RT_GPU_BF16, .emu = golden_emu};
  int rc = SSD_OK;
  for (int k = 0; k < 2 && !rc; k++) rc = rt_gpu_model_new(rt_model_module(md), wfn, wctx, &go, &g[k], c);
  int64_t ids[400];
  for (int i = 0; i < 400; i++) ids[i] = (i * 7919 + salt) % 50000;
  for (size_t q = 0; q < nruns && !rc; q++) {
    const int64_t B = runs[q].B, L = runs[q].L;
    float *l[2] = {NULL, NULL};
    size_t n = 0;
    int on[2] = {0, 0};
    for (int k = 0; k < 2 && !rc; k++) {
      setenv(var, k ? "0" : "1", 1);
      rc = run_cmp(g[k], &runs[q], ids + 7 * q, &l[k], &n, c);
      unsetenv(var);
      on[k] = count_of(g[k]);
    }
    if (rc) break;
    const double e = n ? rel_diff(l[0], l[1], n) : INFINITY;
    printf("%s vs not, run %zu (%lld x %lld): %d / %d nodes, logits rel diff %.3g\n", what, q,
           (long long)B, (long long)L, on[0], on[1], e);
    TX_CHECK(e <= tol, "%s: run %zu logits differ by %.3g", var, q, e);
    const int want = L > min_L && (!avail || avail(g[0])) ? layers : 0;
    TX_CHECK(on[1] == 0 && on[0] == want, "%s: run %zu took %d and %d nodes", var, q, on[0], on[1]);
    free(l[0]), free(l[1]);
  }
  TX_CHECK(!rc || rc == SSD_EDEVICE, "%s: %s", var, c->msg);
  rt_gpu_model_free(g[0]), rt_gpu_model_free(g[1]);
}

/* Chained segments ($SSDC_SSD_CHAIN=1: each segment starts from its
 * predecessor's end state, after the predecessor's last chunk) against
 * looked-back ones (0), both one chunk a segment so that every sequence of
 * more than 64 tokens has several: forwards, a prefill, a second prefill
 * from its state (the chained launch's initial and final state are the same
 * slot) and decode steps after.  The fold is off, so the gated norm runs in
 * the chained kernel's tail where the device has PDL, row slot by row slot.
 * The two ways add a segment's state in another order: logits within 1e-3
 * (a flipped bf16 rounding), and every chunked SSD node of g[0] chained. */
static void chain_check(rt_model *md, ssd_ctx *c) {
  static const cmp_run runs[] = {{2, 150, 0}, {3, 65, 0}, {2, 70, 1}, {2, 65, 2}, {2, 1, 2}, {2, 1, 2}};
  setenv("SSDC_GNORM_FOLD", "0", 1);
  setenv("SSDC_SSD_SEG_CHUNKS", "1", 1);
  launch_var_check(md, "SSDC_SSD_CHAIN", "chained segments", runs, sizeof runs / sizeof *runs,
                   rt_gpu_ssd_chain_runs, 3, 64, NULL, 1e-3, 23, c);
  unsetenv("SSDC_SSD_SEG_CHUNKS");
  unsetenv("SSDC_GNORM_FOLD");
}

/* The wgmma SSD kernel ($SSDC_SSD_WG=1: the warpgroup and its producer warp)
 * inside a model against the default kernel: a model whose heads it takes
 * (headdim 64, d_state 64).  The variable is read when a kernel is first
 * prepared, at the first run, so it is set around g[0]'s runs.  Forwards,
 * a prefill, a second prefill from its state (the kernel's init) and decode
 * steps after (the state it left): logits within bf16 rounding of each
 * other, and every chunked SSD node of g[0] on the wgmma kernel.  The two
 * kernels round alike (equal logits on the emulated device and the H100,
 * session 17); 1e-3 leaves room for a flipped bf16 rounding, and a missing
 * decay of C S^T (2.6e-2 and 1.4e-2 here) fails it. */
static void wg_check(const char *path, ssd_ctx *c) {
  static const char *const sets[] = {"d_model=128", "n_layer=2", "d_state=64", "headdim=64"};
  rt_model_opts o = {0};
  o.codegen = -1;
  o.sets = sets, o.nsets = 4;
  rt_model *md = NULL;
  if (rt_model_random(path, &o, 13, &md, c)) {
    TX_CHECK(false, "wg: %s", c->msg);
    return;
  }
  static const cmp_run runs[] = {{2, 150, 0}, {1, 7, 0}, {2, 70, 1}, {2, 65, 2}, {2, 1, 2}, {2, 1, 2}};
  launch_var_check(md, "SSDC_SSD_WG", "wgmma SSD kernel", runs, sizeof runs / sizeof *runs,
                   rt_gpu_ssd_wg_runs, 2, 1, rt_gpu_has_wgmma, 1e-3, 17, c);
  rt_model_free(md);
}

/* The fused paths against the generic ones.  part: "decode" (the fused
 * decode step at three batch sizes and the gated-norm fold), "plans" (the
 * other executor plans: x's conv in the SSD kernel, side-stream GEMM, the
 * norm in the SSD kernel's tail, chained segments, the wgmma SSD kernel),
 * "gemm" (ssdc's own GEMM: on the linears, and with the conv in in_proj's
 * epilogue) or NULL for all; the emulated device's CI runs the three parts
 * as three tests, each in its time limit under the sanitizers. */
static int fused_check(const char *part) {
  const bool dec = !part || !strcmp(part, "decode"), plans = !part || !strcmp(part, "plans");
  const bool gemm = !part || !strcmp(part, "gemm");
  if (!dec && !plans && !gemm) {
    fprintf(stderr, "test_gpu_graph: --fused takes decode, plans or gemm, not '%s'\n", part);
    return 2;
  }
  ssd_ctx c;
  ssd_ctx_init(&c);
  char path[4096];
  snprintf(path, sizeof path, "%s/mamba2.ssd", rt_models_dir());
  static const char *const sets[] = {"d_model=256", "n_layer=3", "d_state=64", "headdim=32"};
  rt_model_opts o = {0};
  o.codegen = -1;
  o.sets = sets, o.nsets = 4;
  rt_model *md = NULL;
  if (rt_model_random(path, &o, 11, &md, &c)) {
    fprintf(stderr, "fused: random model: %s\n", c.msg);
    return 1;
  }
  rt_gpu_model *on = NULL, *off = NULL;
  int rc = dec ? fused_model(md, true, &on, &c) : SSD_OK;
  if (!rc && dec) rc = fused_model(md, false, &off, &c);
  if (!rc) {
    static const int64_t Bs[] = {1, 3, 6};
    for (int i = 0; dec && i < 3; i++) fused_batch(on, off, Bs[i], &c);
    if (dec) gfold_check(md, false, &c), gfold_check(md, true, &c);
    if (plans) {
      xconv_check(md, &c);
      zside_check(md, &c);
      after_check(md, &c);
      chain_check(md, &c);
      wg_check(path, &c);
    }
    if (gemm) gw_check(md, &c), cfold_check(md, &c);
  } else {
    fprintf(stderr, "fused: %s\n", c.msg);
  }
  rt_gpu_model_free(on);
  rt_gpu_model_free(off);
  rt_model_free(md);
  if (rc == SSD_EDEVICE) return 77;
  if (rc) return 1;
  const char *what = dec && plans && gemm ? "fused decode, plan and GEMM" : dec ? "fused decode"
                     : plans                  ? "plan"
                                              : "GEMM plan";
  printf(tx_failures ? "FAILED %s checks\n" : "%s checks passed\n", what);
  return tx_failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--emu")) /* the emulated device, for any mode */
    golden_emu = true, argc--, argv++;
  if (argc < 2) {
    fprintf(stderr, "usage: test_gpu_graph [--emu] (CASE_DIR... | --fused [decode|plans|gemm] | --bench [2.7b])\n");
    return 2;
  }
  if (!strcmp(argv[1], "--fused")) {
    setenv("SSDC_POISON", "1", 1);
    return fused_check(argc > 2 ? argv[2] : NULL);
  }
  if (!strcmp(argv[1], "--bench")) {
    unsetenv("SSDC_POISON");
    static const char *const big[] = {"d_model=2560", "n_layer=64"};
    if (argc > 2 && !strcmp(argv[2], "2.7b")) return bench("mamba2-2.7b", big, 2);
    return bench("mamba2-130m", NULL, 0);
  }
  setenv("SSDC_POISON", "1", 1);
  return golden_run_cases(argc, argv, run_case, "graph");
}
