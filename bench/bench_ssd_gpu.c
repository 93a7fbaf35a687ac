/* bench_ssd_gpu.c: times ssdc's generated SSD kernels on the GPU.
 *
 * The shapes are mamba_ssm's anchor shapes (Mamba-2 2.7B layers: H=80, P=64,
 * N=128, one group, bf16, dt_softplus), so that bench/bench_ssd_peer.py can
 * time mamba_chunk_scan_combined on the same shapes in the same device call.
 * Inputs are random (a hash-based fill kernel, compiled through NVRTC like
 * everything else: host-side generation of 0.7 G values would take minutes),
 * never zeros.  Each point: 3 warm-up launches, then the median of 20, each
 * timed with CUDA events.  Writes one JSON object to argv[1] (or stdout).
 *
 * Floors printed beside each time: bytes (x, dt, B, C read once, y written
 * once) over the measured-elsewhere 2.93 TB/s copy ceiling.
 *
 * `bench_ssd_gpu OUT.json sweep` instead times the chunked kernel at a few
 * shapes for each of a list of segment lengths
 * (through $SSDC_SSD_SEG_CHUNKS, runtime/rt_cuda_ssd.c), the data behind the
 * runtime's segment policy; `sweep-ps` does the same at batch-1 lengths up to
 * 8K for every channel slice width (16, 32, 64), not only the picked one;
 * `sweep-join` at batched shapes, each length looked back and chained
 * ($SSDC_SSD_CHAIN) beside the policy's pick.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_cuda.h"

enum { BH = 80, BP = 64, BN = 128 }; /* heads, head dim, state */
#define COPY_TBPS 2.93

static const char fill_src[] =
    "extern \"C\" __global__ void ssdc_bench_fill(void *p, unsigned long long n, unsigned seed,\n"
    "    float scale, float shift, int f32) {\n"
    "  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;\n"
    "       i += (unsigned long long)gridDim.x * blockDim.x) {\n"
    "    float s = 0.f;\n"
    "    unsigned h = (unsigned)i * 2654435761u ^ seed ^ (unsigned)(i >> 32) * 40503u;\n"
    "    for (int k = 0; k < 4; k++) { h ^= h >> 15; h *= 2246822519u; h ^= h >> 13; h *= 3266489917u;\n"
    "      h ^= h >> 16; s += (h >> 8) * (1.f / 16777216.f); }\n"
    "    float v = (s - 2.f) * 1.7320508f * scale + shift; /* ~N(0,1) by Irwin-Hall */\n"
    "    if (f32) ((float *)p)[i] = v;\n"
    "    else { unsigned u = __float_as_uint(v); u += 0x7fffu + ((u >> 16) & 1u);\n"
    "      ((unsigned short *)p)[i] = (unsigned short)(u >> 16); }\n"
    "  }\n"
    "}\n";

typedef struct bench {
  rt_cuda *g;
  cg_cache cc;
  rt_cuda_fn fill;
  ssd_ctx c;
  unsigned seed;
} bench;

static int fill(bench *b, rt_dptr p, unsigned long long n, float scale, float shift, int f32) {
  unsigned seed = ++b->seed * 0x9e3779b9u;
  void *args[] = {&p, &n, &seed, &scale, &shift, &f32};
  const unsigned grid[3] = {4096, 1, 1};
  return rt_cuda_launch(b->g, &b->fill, grid, 256, args, &b->c);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Median of 20 timed launches after 3 warm-ups. */
static int time_ssd(bench *b, rt_cuda_ssd *k, const rt_cuda_ssd_args *a, int64_t batch,
                    int64_t L, float *ms) {
  float t[20];
  for (int i = 0; i < 23; i++) {
    rt_cuda_timer tm;
    int rc = rt_cuda_timer_start(b->g, &tm, &b->c);
    if (rc == SSD_OK)
      rc = k->spec.kind == CG_SSD_CHUNKED ? rt_cuda_ssd_chunked(b->g, k, a, batch, L, &b->c)
                                          : rt_cuda_ssd_step(b->g, k, a, batch, L, &b->c);
    float v = 0;
    int rc2 = rt_cuda_timer_stop(b->g, &tm, &v, &b->c);
    if (rc || rc2) return rc ? rc : rc2;
    if (i >= 3) t[i - 3] = v;
  }
  qsort(t, 20, sizeof *t, cmp_float);
  *ms = (t[9] + t[10]) / 2;
  return rt_cuda_sync(b->g, &b->c);
}

static cg_ssd_spec mamba2_spec(cg_ssd_kind kind, int ps) {
  cg_ssd_spec s = {0};
  s.kind = kind, s.H = BH, s.P = BP, s.N = BN, s.hx = BH, s.hb = 1, s.hc = 1, s.hdt = BH;
  s.has_dt = s.has_A = s.has_dt_bias = s.dt_softplus = s.has_D = true;
  s.ps = ps;
  return s;
}

#define MAXTOK 131072

static void chunked_args_free(bench *b, rt_cuda_ssd_args *a) {
  rt_dptr *p[] = {&a->x, &a->dt, &a->B, &a->C, &a->y, &a->A, &a->D, &a->dt_bias};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) rt_cuda_free(b->g, *p[i]), *p[i] = 0;
}

/* Random anchor-shape operands for MAXTOK tokens (all freed on failure). */
static int chunked_args(bench *b, rt_cuda_ssd_args *ap) {
  const int64_t maxtok = MAXTOK;
  rt_cuda_ssd_args a = {0};
  int rc;
  if ((rc = rt_cuda_alloc(b->g, maxtok * BH * BP * 2, &a.x, &b->c)) ||
      (rc = rt_cuda_alloc(b->g, maxtok * BH * 2, &a.dt, &b->c)) ||
      (rc = rt_cuda_alloc(b->g, maxtok * BN * 2, &a.B, &b->c)) ||
      (rc = rt_cuda_alloc(b->g, maxtok * BN * 2, &a.C, &b->c)) ||
      (rc = rt_cuda_alloc(b->g, maxtok * BH * BP * 2, &a.y, &b->c)) ||
      (rc = rt_cuda_alloc(b->g, BH * 4, &a.A, &b->c)) || (rc = rt_cuda_alloc(b->g, BH * 4, &a.D, &b->c)) ||
      (rc = rt_cuda_alloc(b->g, BH * 4, &a.dt_bias, &b->c)))
    goto fail;
  if ((rc = fill(b, a.x, maxtok * BH * BP, 1, 0, 0)) || (rc = fill(b, a.dt, maxtok * BH, 1, 0, 0)) ||
      (rc = fill(b, a.B, maxtok * BN, 1, 0, 0)) || (rc = fill(b, a.C, maxtok * BN, 1, 0, 0)) ||
      (rc = fill(b, a.A, BH, 0.8f, -3.f, 1)) || (rc = fill(b, a.D, BH, 1, 0, 1)) ||
      (rc = fill(b, a.dt_bias, BH, 1, -4, 1)) || (rc = rt_cuda_sync(b->g, &b->c)))
    goto fail;
  *ap = a;
  return SSD_OK;
fail:
  chunked_args_free(b, &a);
  return rc;
}

/* One timed point: the kernel for ps, the segmentation the runtime picks
 * (or $SSDC_SSD_SEG_CHUNKS forces). */
static int chunked_point(bench *b, const rt_cuda_ssd_args *a, int64_t bt, int64_t L, int ps,
                         rt_cuda_ssd_segs *sg, float *ms) {
  cg_ssd_spec s = mamba2_spec(CG_SSD_CHUNKED, ps);
  rt_cuda_ssd k;
  int rc = rt_cuda_ssd_prepare(b->g, &b->cc, &s, bt, &k, &b->c);
  if (rc) return rc;
  rc = rt_cuda_ssd_segments(b->g, &k, bt, L, sg, &b->c);
  if (!rc) rc = time_ssd(b, &k, a, bt, L, ms);
  rt_cuda_ssd_release(b->g, &k);
  return rc;
}

static int bench_chunked(bench *b, FILE *js) {
  static const int64_t shapes[][2] = {{1, 512},   {1, 1024},  {1, 2048},  {1, 4096},
                                      {1, 8192},  {1, 16384}, {1, 32768}, {1, 65536},
                                      {1, 131072}, {8, 8192}, {32, 2048}};
  rt_cuda_ssd_args a;
  int rc = chunked_args(b, &a);
  if (rc) return rc;
  fprintf(js, "  \"ssd_chunked_h80_p64_n128_g1_bf16\": [\n");
  printf("%-10s %6s %4s %5s %5s %10s %10s %10s\n", "batch x L", "ps", "", "segs", "join", "ms", "Mtok/s",
         "floor ms");
  int first = 1;
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    int64_t bt = shapes[i][0], L = shapes[i][1];
    cg_ssd_spec s0 = mamba2_spec(CG_SSD_CHUNKED, 0);
    int pick = cg_ssd_pick_ps(&s0, bt, rt_cuda_sms(b->g));
    /* the picked tiling, plus the others at two sizes to check the picker */
    int sweep = (bt == 1 && L == 16384) || (bt == 8 && L == 8192);
    for (int ps = 16; ps <= 64; ps *= 2) {
      if (ps != pick && !sweep) continue;
      float ms = 0;
      rt_cuda_ssd_segs sg;
      if ((rc = chunked_point(b, &a, bt, L, ps, &sg, &ms))) break;
      const int nseg = sg.nseg;
      double tok = (double)(bt * L);
      double floor_ms = tok * (2.0 * BH * BP * 2 + 2.0 * BH + 2.0 * BN * 2) / (COPY_TBPS * 1e9);
      printf("%3lldx%-6lld %6d %4s %5d %5s %10.4f %10.1f %10.4f\n", (long long)bt, (long long)L, ps,
             ps == pick ? "*" : "", nseg, sg.chain ? "chain" : "look", ms, tok / ms / 1e3, floor_ms);
      fprintf(js, "%s    {\"batch\": %lld, \"L\": %lld, \"ps\": %d, \"picked\": %s, \"segments\": %d, "
                  "\"chained\": %s, \"ms\": %.5f, \"Mtok_per_s\": %.2f, \"floor_ms\": %.5f}",
              first ? "" : ",\n", (long long)bt, (long long)L, ps, ps == pick ? "true" : "false",
              nseg, sg.chain ? "true" : "false", ms, tok / ms / 1e3, floor_ms);
      first = 0;
    }
    if (rc) break;
  }
  fprintf(js, "\n  ],\n");
  chunked_args_free(b, &a);
  return rc;
}

/* What a sweep varies: segment lengths at the shapes the policy must get
 * right (SW_SEG), the same at short batch-1 lengths for every slice width
 * (SW_PS), or segment lengths joined both ways, looked back and chained
 * ($SSDC_SSD_CHAIN), at the batched shapes where chaining may pay (SW_JOIN). */
typedef enum { SW_SEG, SW_PS, SW_JOIN } sweep_kind;

static int bench_sweep(bench *b, FILE *js, sweep_kind kind) {
  static const int64_t all[][2] = {{1, 512},   {1, 1024},  {1, 2048},   {1, 4096},
                                   {1, 8192},  {1, 16384}, {1, 32768},  {1, 65536},
                                   {1, 131072}, {4, 16384}, {8, 8192}, {32, 2048}};
  static const int64_t batched[][2] = {{4, 2048}, {8, 2048}, {16, 2048}, {32, 2048},
                                       {2, 8192}, {8, 8192}, {1, 16384}};
  static const int segc_all[] = {0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 256, 512};
  static const int segc_join[] = {0, 4, 6, 8, 11, 12, 16, 18, 20, 22, 24, 26, 28, 32, 43, 48, 64, 96, 128};
  const int64_t(*shapes)[2] = kind == SW_JOIN ? batched : all;
  const size_t nshapes = kind == SW_PS    ? 5 /* the first five: 1x512 .. 1x8K */
                         : kind == SW_JOIN ? sizeof batched / sizeof *batched
                                           : sizeof all / sizeof *all;
  const int *segc = kind == SW_JOIN ? segc_join : segc_all;
  const size_t nsegc = kind == SW_JOIN ? sizeof segc_join / sizeof *segc_join
                                       : sizeof segc_all / sizeof *segc_all;
  static const char *const joins[] = {NULL, "0", "1"}; /* SW_JOIN: the policy's, looked back, chained */
  const int njoins = kind == SW_JOIN ? 3 : 1;
  rt_cuda_ssd_args a;
  int rc = chunked_args(b, &a);
  if (rc) return rc;
  fprintf(js, "  \"sweep\": [\n");
  printf("%-10s %4s %8s %5s %5s %10s\n", "batch x L", "ps", "seg_ch", "segs", "join", "ms");
  int first = 1;
  for (size_t k = 0; k < nshapes * (kind == SW_PS ? 3 : 1) && rc == SSD_OK; k++) {
    const size_t i = k % nshapes;
    const int64_t bt = shapes[i][0], L = shapes[i][1], nch = (L + CG_SSD_CHUNK - 1) / CG_SSD_CHUNK;
    const cg_ssd_spec s0 = mamba2_spec(CG_SSD_CHUNKED, 0);
    const int ps = kind == SW_PS ? 16 << (k / nshapes) : cg_ssd_pick_ps(&s0, bt, rt_cuda_sms(b->g));
    for (size_t j = 0; j < nsegc && rc == SSD_OK; j++) {
      if (segc[j] > nch || (segc[j] && nch / segc[j] > 80)) continue; /* 0: the policy */
      char v[24];
      snprintf(v, sizeof v, "%d", segc[j]);
      if (segc[j]) setenv("SSDC_SSD_SEG_CHUNKS", v, 1);
      else unsetenv("SSDC_SSD_SEG_CHUNKS");
      for (int jn = 0; jn < njoins && rc == SSD_OK; jn++) {
        if (jn && (!segc[j] || segc[j] >= nch)) continue; /* one segment joins nothing */
        if (joins[jn]) setenv("SSDC_SSD_CHAIN", joins[jn], 1);
        else unsetenv("SSDC_SSD_CHAIN");
        float ms = 0;
        rt_cuda_ssd_segs sg;
        rc = chunked_point(b, &a, bt, L, ps, &sg, &ms);
        if (rc) break;
        printf("%3lldx%-6lld %4d %8s %5d %5s %10.4f\n", (long long)bt, (long long)L, ps,
               segc[j] ? v : "policy", sg.nseg, sg.chain ? "chain" : "look", ms);
        fprintf(js, "%s    {\"batch\": %lld, \"L\": %lld, \"ps\": %d, \"seg_chunks\": %d, "
                    "\"segments\": %d, \"chained\": %s, \"forced_join\": %s, \"ms\": %.5f}",
                first ? "" : ",\n", (long long)bt, (long long)L, ps, segc[j], sg.nseg,
                sg.chain ? "true" : "false", joins[jn] ? "true" : "false", ms);
        first = 0;
      }
    }
  }
  unsetenv("SSDC_SSD_SEG_CHUNKS");
  unsetenv("SSDC_SSD_CHAIN");
  fprintf(js, "\n  ]\n");
  chunked_args_free(b, &a);
  return rc;
}

/* Decode: mamba_ssm's anchor is selective_state_update with an fp32 state. */
static int bench_step(bench *b, FILE *js) {
  static const int64_t batches[] = {1, 16, 64, 256};
  cg_ssd_spec s = mamba2_spec(CG_SSD_STEP, 0);
  s.has_z = true;
  rt_cuda_ssd k;
  int rc = rt_cuda_ssd_prepare(b->g, &b->cc, &s, 1, &k, &b->c);
  if (rc) return rc;
  fprintf(js, "  \"ssd_step_h80_p64_n128_fp32_state\": [\n");
  printf("\ndecode step (fp32 state)\n%-6s %10s %10s\n", "batch", "us", "GB/s state");
  for (size_t i = 0; i < sizeof batches / sizeof *batches && rc == SSD_OK; i++) {
    int64_t bt = batches[i];
    rt_cuda_ssd_args a = {0};
    size_t nst = (size_t)bt * BH * BP * BN;
    if ((rc = rt_cuda_alloc(b->g, nst * 4, &a.state, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, bt * BH * BP * 2, &a.x, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, bt * BH * BP * 2, &a.z, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, bt * BH * BP * 2, &a.y, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, bt * BH * 2, &a.dt, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, bt * BN * 2, &a.B, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, bt * BN * 2, &a.C, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, BH * 4, &a.A, &b->c)) || (rc = rt_cuda_alloc(b->g, BH * 4, &a.D, &b->c)) ||
        (rc = rt_cuda_alloc(b->g, BH * 4, &a.dt_bias, &b->c)))
      break;
    if ((rc = fill(b, a.state, nst, 0.5f, 0, 1)) || (rc = fill(b, a.x, bt * BH * BP, 1, 0, 0)) ||
        (rc = fill(b, a.z, bt * BH * BP, 1, 0, 0)) || (rc = fill(b, a.dt, bt * BH, 1, 0, 0)) ||
        (rc = fill(b, a.B, bt * BN, 1, 0, 0)) || (rc = fill(b, a.C, bt * BN, 1, 0, 0)) ||
        (rc = fill(b, a.A, BH, 0.8f, -3.f, 1)) || (rc = fill(b, a.D, BH, 1, 0, 1)) ||
        (rc = fill(b, a.dt_bias, BH, 1, -4, 1)))
      break;
    float ms = 0;
    rc = time_ssd(b, &k, &a, bt, 1, &ms);
    double gbps = 2.0 * nst * 4 / (ms * 1e6);
    if (rc == SSD_OK) {
      printf("%-6lld %10.2f %10.1f\n", (long long)bt, ms * 1e3, gbps);
      fprintf(js, "%s    {\"batch\": %lld, \"us\": %.3f, \"GBps_state\": %.1f}", i ? ",\n" : "",
              (long long)bt, ms * 1e3, gbps);
    }
    rt_dptr *p[] = {&a.state, &a.x, &a.z, &a.y, &a.dt, &a.B, &a.C, &a.A, &a.D, &a.dt_bias};
    for (size_t j = 0; j < sizeof p / sizeof *p; j++) rt_cuda_free(b->g, *p[j]);
  }
  fprintf(js, "\n  ]\n");
  rt_cuda_ssd_release(b->g, &k);
  return rc;
}

int main(int argc, char **argv) {
  bench b = {0};
  ssd_ctx_init(&b.c);
  static const char *const sweeps[] = {"sweep", "sweep-ps", "sweep-join"}; /* sweep_kind's order */
  int sweep = -1;
  for (int i = 0; argc > 2 && i < 3; i++)
    if (!strcmp(argv[2], sweeps[i])) sweep = i;
  if (argc > 3 || (argc > 2 && sweep < 0)) {
    fprintf(stderr, "usage: bench_ssd_gpu [OUT.json [sweep | sweep-ps | sweep-join]]\n");
    return 2;
  }
  FILE *js = argc > 1 ? fopen(argv[1], "w") : stdout;
  if (!js) return 1;
  int rc = rt_cuda_open(&b.g, 0, &b.c);
  if (rc == SSD_OK) rc = cg_cache_open(&b.cc, NULL, &b.c);
  cg_source fs = {.name = "ssdc_bench_fill", .src = (char *)fill_src};
  void *cubin = NULL;
  size_t n = 0;
  if (rc == SSD_OK) rc = cg_build(&b.cc, &fs, rt_cuda_arch(b.g), &cubin, &n, &b.c);
  if (rc == SSD_OK) rc = rt_cuda_load(b.g, cubin, fs.name, 0, &b.fill, &b.c);
  free(cubin);
  time_t now = time(NULL);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  if (rc == SSD_OK) {
    printf("device: %s (%s, %d SMs)\n", rt_cuda_name(b.g), rt_cuda_arch(b.g), rt_cuda_sms(b.g));
    fprintf(js, "{\n  \"device\": \"%s\",\n  \"arch\": \"%s\",\n  \"date\": \"%s\",\n",
            rt_cuda_name(b.g), rt_cuda_arch(b.g), date);
    rc = sweep >= 0 ? bench_sweep(&b, js, (sweep_kind)sweep) : bench_chunked(&b, js);
  }
  if (rc == SSD_OK && sweep < 0) rc = bench_step(&b, js);
  if (rc == SSD_OK) fprintf(js, "}\n");
  if (js != stdout) fclose(js);
  if (b.fill.module) rt_cuda_unload(b.g, &b.fill);
  rt_cuda_close(b.g);
  return rc != SSD_OK;
}
