/* rt_cuda_ssd.c: running the SSD mixer's generated kernels.
 *
 * prepare = generate source for a spec (codegen/cg_cuda.c), compile it for
 * this GPU through the kernel cache, load it; the launchers then only check
 * sizes and pass pointers.  The chunked kernel's grid is one block per
 * (segment, batch row, head, channel slice); the segment count is chosen here
 * so that the GPU holds a few blocks per multiprocessor even at batch 1
 * (codegen/cuda/ssd_chunked.cuh explains the look-back between segments).
 * $SSDC_SSD_SEG_CHUNKS=n forces n >= 1 chunks per segment and $SSDC_SSD_CHAIN=0|1
 * how segments are joined (looked back or chained; any other value is an
 * error naming it; tuning and benchmarks: bench/bench_ssd_gpu.c sweeps them;
 * unset, the policy below decides).
 */
#include <stdlib.h>
#include <string.h>

#include "rt_cuda.h"

int rt_cuda_ssd_prepare(rt_cuda *g, cg_cache *cc, const cg_ssd_spec *spec, int64_t batch,
                        rt_cuda_ssd *out, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  out->spec = *spec;
  if (spec->kind == CG_SSD_CHUNKED && !spec->ps)
    out->spec.ps = cg_ssd_pick_ps(spec, batch > 0 ? batch : 1, rt_cuda_sms(g));
  /* $SSDC_SSD_WG=1 asks for the wgmma kernel (sm_90 and the emulated device,
   * where it fits).  It is correct but not yet faster than the mma.sync one
   * (bench/NOTES.md, sessions 14 and 17), so it is not the default. */
  const char *arch = rt_cuda_arch(g), *env = getenv("SSDC_SSD_WG");
  if (env && !strcmp(env, "1") && cg_arch_has_wgmma(arch) && cg_ssd_wg_fits(&out->spec))
    out->spec.wg = true;
  if (out->spec.wg && !strcmp(arch, "sm_90")) arch = "sm_90a";
  /* B and C by tensor copies where the GPU and driver have them (sm_90+)
   * and they pay: on the H100 they took 7% off the kernel at 16 and 32
   * channels per block but added 3-6% at 64, where the per-chunk chain of
   * mma and barriers, not the copies, sets the pace (bench/NOTES.md,
   * session 24).  $SSDC_SSD_TMA=1 takes them wherever they fit, 0 never. */
  long long tma = -1;
  int rc = ssd_env_int("SSDC_SSD_TMA", 0, 1, -1, &tma, c);
  if (rc) return rc;
  out->spec.tma = (tma == 1 || (tma == -1 && out->spec.ps < 64)) && cg_arch_has_tma(arch) &&
                  rt_cuda_has_tma(g) && cg_ssd_tma_fits(&out->spec);
  cg_source src;
  rc = cg_ssd_source(&out->spec, &src, c);
  if (rc) return rc;
  void *cubin = NULL;
  size_t n = 0;
  rc = cg_build(cc, &src, arch, &cubin, &n, c);
  if (rc == SSD_OK) {
    size_t smem = spec->kind == CG_SSD_CHUNKED ? cg_ssd_smem_bytes(&out->spec) : 0;
    rc = rt_cuda_load(g, cubin, src.name, smem, &out->fn, c);
    /* Blocks per SM, from shared memory (1 KB reserved per block) and the
     * kernels' __launch_bounds__ (mma.sync: 3 blocks, wgmma: 2). */
    const int cap = out->spec.wg ? 2 : 3;
    int per = smem ? (int)((size_t)rt_cuda_smem_per_sm(g) / (smem + 1024)) : 16;
    out->blocks_per_sm = per < 1 ? 1 : per > cap ? cap : per;
  }
  memcpy(out->name, src.name, sizeof out->name);
  free(cubin);
  cg_source_free(&src);
  return rc;
}

void rt_cuda_ssd_release(rt_cuda *g, rt_cuda_ssd *k) {
  rt_cuda_unload(g, &k->fn);
  rt_cuda_free(g, k->ws_sync);
  rt_cuda_free(g, k->ws_state);
  k->ws_sync = k->ws_state = 0;
  k->ws_sync_bytes = k->ws_state_bytes = 0;
}

/* ---- how many segments, and how they are joined ------------------------------------
 * A launch is blocks in ticket order (segment-major) taking the resident
 * slots (SMs x blocks per SM) as they free up.  Looked back (the default): a
 * block of segment s < last runs phase 1 over its chunks, waits for segment
 * s - 1's state of the same (batch, head, slice), publishes, and runs phase
 * 3; the last segment skips phase 1.  Chained: no block runs phase 1; a block
 * of segment s > 0 waits for segment s - 1's block to finish its phase 3 and
 * publish its end state.  That costs nothing where segment s - 1's block took
 * its ticket about a round earlier (many blocks per segment: 8 x 2K has 640
 * on 396 slots) and serializes a sequence where it did not (batch 1).  More
 * segments mean more blocks to fill the machine but more phase-1 work (or
 * longer waits), and where the last round of blocks falls matters as much as
 * the count: the old rule (about four rounds) put 1x16K..1x128K on 4.24
 * rounds and 8x8K on two segments, 4-8% slower than the best counts
 * measured (bench/NOTES.md, "SSD kernel, session 2").  So each candidate
 * segment length is played out block by block in that order, both ways, and
 * the shortest makespan wins.  Costs are in phase-3 chunks, fitted on H100 to
 * the sweeps in bench/results/gpu-ssd-2026-11-23-s2-sweep*.json: with three
 * blocks per SM (this kernel on H100, sweep-v10) every pick was timed and is
 * the best point or within 4% of it at all 12 swept shapes; with two
 * (sweep-v9, the double-buffered kernel) they are the best measured point
 * or within 2% of it at all but 1x4K, where the pick was not timed.  Session
 * 15 made a link ~2.6x cheaper (fragment-major states in the workspace:
 * ~7.5 -> ~2.9 us, about half a phase-3 chunk); its sweep (bench/results/
 * gpu-2026-11-24-s15/call4) still finds every pick best or within 2%, and
 * SIM_LINK 0.3-0.6 would pick no better, so the fit stands.  Chaining came
 * in session 28 (bench/NOTES.md). */
#define SIM_P1 0.5      /* a phase-1 chunk (state update only) */
#define SIM_BLOCK 2.0   /* a block's fixed cost: start, first copies, drain */
#define SIM_LINK 1.0    /* a look-back link: publish, acquire, read the state */
#define SIM_ROUNDS 8    /* segmentations of more rounds of blocks are not tried */

/* Binary min-heap of slot free times. */
static double heap_pop_push(double *h, int n, double v) {
  const double top = h[0];
  int i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h[c + 1] < h[c]) c++;
    if (h[c] >= v) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
  return top;
}

/* Makespan of one segmentation, looked back or chained; pub holds per_seg
 * doubles (when each (batch, head, slice)'s last state was published),
 * slot_free slots. */
static double sim_launch(int64_t per_seg, int64_t nchunks, int64_t sc, bool chain, int slots,
                         double *slot_free, double *pub) {
  const int64_t nseg = (nchunks + sc - 1) / sc;
  double end = 0;
  for (int i = 0; i < slots; i++) slot_free[i] = 0;
  for (int64_t s = 0; s < nseg; s++) {
    const double c = (double)(s < nseg - 1 ? sc : nchunks - s * sc);
    for (int64_t r = 0; r < per_seg; r++) {
      const double start = slot_free[0];
      double t = start + SIM_BLOCK + (!chain && s < nseg - 1 ? c * SIM_P1 : 0);
      if (s > 0 && pub[r] + SIM_LINK > t) t = pub[r] + SIM_LINK; /* the previous segment's state */
      const double e = t + c;
      pub[r] = chain ? e : t;
      if (e > end) end = e;
      heap_pop_push(slot_free, slots, e);
    }
  }
  return end;
}

/* Candidate segment lengths: 1, 2, 3, 4, 6, 8, 12 ... (powers of two and
 * their halfway points) and nchunks / k for k = 1..16. */
static int64_t candidate(int i, int64_t nchunks) {
  if (i < 16) return (nchunks + i) / (i + 1);
  const int j = i - 16;
  const int64_t p = (int64_t)1 << (j / 2);
  return j % 2 ? p + p / 2 : p;
}

/* chain_want: -1 either way (the faster), 0 looked back, 1 chained. */
static void pick_segments(int64_t per_seg, int64_t nchunks, int slots, int chain_want,
                          int64_t *seg_chunks, bool *chain) {
  /* One segment: equal blocks in whole rounds. */
  double best = (double)((per_seg + slots - 1) / slots) * (SIM_BLOCK + (double)nchunks);
  *seg_chunks = nchunks;
  *chain = false;
  if (nchunks < 2 || 2 * per_seg > (int64_t)SIM_ROUNDS * slots) return;
  double *slot_free = malloc((size_t)slots * sizeof *slot_free);
  double *pub = malloc((size_t)per_seg * sizeof *pub);
  for (int i = 0; slot_free && pub && i < 16 + 2 * 62; i++) {
    const int64_t sc = candidate(i, nchunks);
    if (sc < 1 || sc >= nchunks) {
      if (i >= 16 && sc >= nchunks) break; /* the ladder has passed nchunks */
      continue;
    }
    const int64_t nseg = (nchunks + sc - 1) / sc;
    if (nseg * per_seg > (int64_t)SIM_ROUNDS * slots) continue;
    for (int ch = 0; ch < 2; ch++) {
      if (chain_want >= 0 && ch != chain_want) continue;
      const double t = sim_launch(per_seg, nchunks, sc, ch, slots, slot_free, pub);
      if (t < best) best = t, *seg_chunks = sc, *chain = ch;
    }
  }
  free(slot_free);
  free(pub);
}

/* Whether sc chunks a segment go faster chained than looked back. */
static bool chain_faster(int64_t per_seg, int64_t nchunks, int64_t sc, int slots) {
  double *slot_free = malloc((size_t)slots * sizeof *slot_free);
  double *pub = malloc((size_t)per_seg * sizeof *pub);
  const bool r = slot_free && pub && sc < nchunks &&
                 sim_launch(per_seg, nchunks, sc, true, slots, slot_free, pub) <
                     sim_launch(per_seg, nchunks, sc, false, slots, slot_free, pub);
  free(slot_free);
  free(pub);
  return r;
}

/* The pick depends only on (blocks per segment, chunks, slots, the chain
 * setting); a model's layers repeat the same few, so each thread keeps its
 * last picks. */
typedef struct {
  int64_t per_seg, nchunks, sc;
  int slots, chain_want;
  bool chain;
} seg_memo;
#define SEG_MEMO 8
static _Thread_local seg_memo memo[SEG_MEMO];
static _Thread_local int memo_next;

static void segs_for(int64_t per_seg, int64_t nchunks, int slots, int chain_want, int64_t *sc,
                     bool *chain) {
  for (int i = 0; i < SEG_MEMO; i++) {
    const seg_memo *m = &memo[i];
    if (m->sc && m->per_seg == per_seg && m->nchunks == nchunks && m->slots == slots &&
        m->chain_want == chain_want) {
      *sc = m->sc, *chain = m->chain;
      return;
    }
  }
  pick_segments(per_seg, nchunks, slots, chain_want, sc, chain);
  memo[memo_next] = (seg_memo){per_seg, nchunks, *sc, slots, chain_want, *chain};
  memo_next = (memo_next + 1) % SEG_MEMO;
}

int rt_cuda_ssd_segments(const rt_cuda *g, const rt_cuda_ssd *k, int64_t batch, int64_t L,
                         rt_cuda_ssd_segs *out, ssd_ctx *c) {
  const int64_t nchunks = (L + CG_SSD_CHUNK - 1) / CG_SSD_CHUNK;
  long long forced, chain_want;
  int rc = ssd_env_int("SSDC_SSD_SEG_CHUNKS", 1, INT32_MAX, 0, &forced, c);
  if (rc == SSD_OK) rc = ssd_env_int("SSDC_SSD_CHAIN", 0, 1, -1, &chain_want, c);
  if (rc) return rc;
  const int64_t per_seg = batch * k->spec.H * (k->spec.P / k->spec.ps);
  const int slots = rt_cuda_sms(g) * k->blocks_per_sm;
  int64_t sc;
  bool chain = chain_want == 1;
  if (forced) {
    sc = forced < nchunks ? forced : nchunks;
    if ((nchunks + sc - 1) / sc > 65535)
      return ssd_err(c, SSD_EINVAL, "$SSDC_SSD_SEG_CHUNKS=%lld: %lld chunks would make more than "
                     "65535 segments", forced, (long long)nchunks);
    if (chain_want < 0) chain = chain_faster(per_seg, nchunks, sc, slots);
  } else {
    segs_for(per_seg, nchunks, slots, (int)chain_want, &sc, &chain);
  }
  out->seg_chunks = sc;
  out->nseg = (int)((nchunks + sc - 1) / sc);
  out->chain = chain && out->nseg > 1;
  return SSD_OK;
}

/* Grow a workspace buffer to at least n bytes (contents lost; zeroed). */
static int ws_grow(rt_cuda *g, rt_dptr *p, size_t *have, size_t n, ssd_ctx *c) {
  if (*have >= n) return SSD_OK;
  rt_cuda_free(g, *p);
  *p = 0;
  *have = 0;
  int rc = rt_cuda_alloc(g, n, p, c);
  if (rc == SSD_OK) rc = rt_cuda_memset8(g, *p, 0, n, c);
  if (rc == SSD_OK) *have = n;
  return rc;
}

/* Operands the spec says exist must be given, and only those. */
static int check_args(const cg_ssd_spec *s, const rt_cuda_ssd_args *a, ssd_ctx *c) {
  const struct {
    const char *name;
    bool want;
    rt_dptr p;
  } t[] = {{"x", true, a->x},
           {"B", true, a->B},
           {"C", true, a->C},
           {"y", true, a->y},
           {"dt", s->has_dt, a->dt},
           {"A", s->has_A, a->A},
           {"D", s->has_D, a->D},
           {"z", s->has_z, a->z},
           {"dt_bias", s->has_dt_bias, a->dt_bias},
           {"initial state", s->kind == CG_SSD_CHUNKED && s->has_init, a->init},
           {"state", s->kind == CG_SSD_STEP || s->has_final, a->state},
           {"gated norm weight", s->gnorm, a->gn_w},
           {"gated norm sums of squares", s->gnorm, a->gn_ss},
           {"folded conv weight", s->xconv_k > 0, a->xc_w},
           {"folded conv bias", s->xconv_bias, a->xc_b}};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (t[i].want && !t[i].p)
      return ssd_err(c, SSD_EINVAL, "ssd kernel: operand %s missing", t[i].name);
  return SSD_OK;
}

/* The chunked kernel reads x, B, C rows with 16-byte cp.async (their row
 * strides are checked by cg_ssd_check), z the same way where it takes a tile
 * of it (cg_ssd_z_tile), else in element pairs unless z's stride is odd, y in
 * pairs, dt one element at a time: the base pointers must allow that.  A
 * misaligned slice would otherwise be a device fault, not a message. */
static int check_align(const cg_ssd_spec *s, const rt_cuda_ssd_args *a, ssd_ctx *c) {
  const uint64_t zel = s->z_f32 ? 4 : 2,
                 zpair = cg_ssd_z_tile(s) ? 16 : cg_ssd_strides(s).z % 2 ? zel : 2 * zel;
  const struct {
    const char *name;
    rt_dptr p;
    uint64_t align;
  } t[] = {{"x", a->x, 16},
           {"B", a->B, 16},
           {"C", a->C, 16},
           {"dt", a->dt, s->dt_f32 ? 4 : 2},
           {"z", a->z, zpair},
           {"y", a->y, s->y_f32 ? 8 : 4},
           {"gated norm weight", a->gn_w, 8},
           {"folded conv weight", a->xc_w, 4},
           {"folded conv bias", a->xc_b, 4},
           {"conv state", a->xc_state, 4}};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (t[i].p % t[i].align)
      return ssd_err(c, SSD_EINVAL, "ssd chunked kernel: operand %s at 0x%llx is not %llu-byte aligned",
                     t[i].name, (unsigned long long)t[i].p, (unsigned long long)t[i].align);
  return SSD_OK;
}

int rt_cuda_ssd_chunked(rt_cuda *g, rt_cuda_ssd *k, const rt_cuda_ssd_args *a, int64_t batch,
                        int64_t L, ssd_ctx *c) {
  const cg_ssd_spec *s = &k->spec;
  if (s->kind != CG_SSD_CHUNKED) return ssd_err(c, SSD_EINVAL, "not a chunked ssd kernel");
  if (batch < 1 || batch > 65535 || L < 1 || L > ((int64_t)1 << 40))
    return ssd_err(c, SSD_EINVAL, "ssd: bad batch %lld or length %lld", (long long)batch,
                   (long long)L);
  int rc = check_args(s, a, c);
  if (rc == SSD_OK) rc = check_align(s, a, c);
  if (rc) return rc;
  rt_cuda_ssd_segs sg;
  if ((rc = rt_cuda_ssd_segments(g, k, batch, L, &sg, c))) return rc;
  const int nseg = sg.nseg;
  const int64_t seg_chunks = sg.seg_chunks;
  const uint64_t per_seg = (uint64_t)batch * s->H * (s->P / s->ps), blocks = per_seg * nseg;
  if (blocks >= ((uint64_t)1 << 31))
    return ssd_err(c, SSD_EINVAL, "ssd: %llu blocks is too many for one launch",
                   (unsigned long long)blocks);
  /* Flags are compared with the launch's epoch, so they are never cleared;
   * a fresh (zeroed) buffer pairs with epochs starting at 1.  Tickets (2),
   * the look-back's flags (a block each), then the rows' counts and flags
   * (a (segment, batch row) each: ssd_signal_rows). */
  const uint64_t slots = (uint64_t)nseg * (uint64_t)batch;
  size_t sync_bytes = (2 + blocks + 2 * slots) * sizeof(uint32_t);
  size_t state_bytes = nseg > 1 ? (size_t)(nseg - 1) * batch * s->H * s->P * s->N * sizeof(float) : 4;
  if (k->ws_sync_bytes < sync_bytes) k->epoch = 0;
  if ((rc = ws_grow(g, &k->ws_sync, &k->ws_sync_bytes, sync_bytes, c)) ||
      (rc = ws_grow(g, &k->ws_state, &k->ws_state_bytes, state_bytes, c)))
    return rc;
  if (++k->epoch == 0) { /* after 2^32 launches: start over from clean flags */
    if ((rc = rt_cuda_memset8(g, k->ws_sync, 0, k->ws_sync_bytes, c))) return rc;
    k->epoch = 1;
  }
  /* B's and C's tensor maps: the heads' columns of each token row */
  rt_cuda_tmap tb, tc;
  memset(&tb, 0, sizeof tb), memset(&tc, 0, sizeof tc);
  const cg_ssd_ld ld = cg_ssd_strides(s);
  if (s->tma && ((rc = rt_cuda_tmap_rows(g, &tb, a->B, s->hb * s->N, ld.b, L, batch, c)) ||
                 (rc = rt_cuda_tmap_rows(g, &tc, a->C, s->hc * s->N, ld.c, L, batch, c))))
    return rc;
  long long LL = L;
  int bt = (int)batch, ns = nseg, sc = (int)seg_chunks, chain = sg.chain;
  unsigned ep = k->epoch;
  void *args[] = {(void *)&a->x,     (void *)&a->dt,    (void *)&a->A,     (void *)&a->B,
                  (void *)&a->C,     (void *)&a->D,     (void *)&a->z,     (void *)&a->dt_bias,
                  (void *)&a->init,  (void *)&a->state, (void *)&a->y,     &LL,
                  &bt,               &ns,               &sc,               &chain,
                  (void *)&k->ws_sync,
                  (void *)&k->ws_state, &ep,         (void *)&a->gn_w,  (void *)&a->gn_ss,
                  (void *)&a->xc_w,  (void *)&a->xc_b,  (void *)&a->xc_state, &tb, &tc};
  const unsigned grid[3] = {(unsigned)blocks, 1, 1};
  memset(&k->sig, 0, sizeof k->sig);
  if ((rc = rt_cuda_launch(g, &k->fn, grid, (unsigned)cg_ssd_threads(s), args, c))) return rc;
  k->segs = sg;
  k->sig = (rt_cuda_rows_sig){k->ws_sync + (2 + blocks + slots) * sizeof(uint32_t), ep, L,
                              seg_chunks * CG_SSD_CHUNK, batch};
  return SSD_OK;
}

int rt_cuda_ssd_step(rt_cuda *g, const rt_cuda_ssd *k, const rt_cuda_ssd_args *a, int64_t batch,
                     int64_t L, ssd_ctx *c) {
  const cg_ssd_spec *s = &k->spec;
  if (s->kind != CG_SSD_STEP) return ssd_err(c, SSD_EINVAL, "not an ssd step kernel");
  if (batch < 1 || batch > 65535 || L < 1 || L > ((int64_t)1 << 40))
    return ssd_err(c, SSD_EINVAL, "ssd step: bad batch %lld or length %lld", (long long)batch,
                   (long long)L);
  int rc = check_args(s, a, c);
  if (rc) return rc;
  long long len = (long long)L;
  void *args[] = {(void *)&a->x, (void *)&a->dt, (void *)&a->A,       (void *)&a->B,
                  (void *)&a->C, (void *)&a->D,  (void *)&a->z,       (void *)&a->dt_bias,
                  (void *)&a->state, (void *)&a->y, (void *)&len};
  /* 16 head channels per block: STEP_ROWS in codegen/cuda/ssd_step.cuh */
  const unsigned grid[3] = {(unsigned)s->H, (unsigned)batch, (unsigned)((s->P + 15) / 16)};
  return rt_cuda_launch(g, &k->fn, grid, 128, args, c);
}
