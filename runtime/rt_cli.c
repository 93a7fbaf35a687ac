/* rt_cli.c: the commands that execute models: run, generate, demo, bench
 * (see rt_cli.h).  Each parses its flags, loads a model through rt_model,
 * runs it through the executor and reports; every failure is one clear
 * "ssdc: error: ..." line and a nonzero exit.  Results go to stdout (ids)
 * or to files written atomically (logits, bench JSON); timings to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include "rt_cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "rt_cuda.h"
#include "rt_gpu_model.h"
#include "rt_model.h"
#include "rt_pack.h"
#include "rt_pool.h"
#include "rt_safetensors.h"

#ifndef SSDC_SOURCE_DIR
#define SSDC_SOURCE_DIR "."
#endif

#define MAX_SETS 64

/* ---- flags ------------------------------------------------------------------- */
typedef struct opts {
  const char *model, *input, *output, *device, *model_file, *prompt, *out;
  const char *dtype;                      /* run, generate, bench: f32 or bf16 (GPU) */
  const char *prefill, *decode_b;         /* bench --device cuda */
  const char *kernels;                    /* run, generate, bench: a kernel pack (GPU) */
  const char *target, *arch, *batch, *seqlen; /* compile */
  const char *pos;                        /* the positional argument (compile: MODEL.ssd) */
  int64_t max_new, prompt_len, seed, threads;
  const char *sets[MAX_SETS];
  int nsets;
  bool help;
} opts;

typedef enum { F_STR, F_INT, F_SET } flag_kind;
typedef struct flag {
  const char *name;
  flag_kind kind;
  size_t off; /* offset in opts */
} flag;

#define FS(n, field) {n, F_STR, offsetof(opts, field)}
#define FI(n, field) {n, F_INT, offsetof(opts, field)}

static int parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno) return 1;
  *out = v;
  return 0;
}

/* Parse argv[1..] against the flags a command accepts; a command that
 * takes a positional argument lists the flag named "" for it. */
static int parse_flags(int argc, char **argv, const flag *fl, int nfl, opts *o, ssd_ctx *c) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      o->help = true;
      continue;
    }
    if (a[0] != '-') {
      int k = 0;
      while (k < nfl && fl[k].name[0]) k++;
      const char **slot = k < nfl ? (const char **)((char *)o + fl[k].off) : NULL;
      if (!slot || *slot)
        return ssd_err(c, SSD_EINVAL, "%s: unexpected argument '%s' (see --help)", argv[0], a);
      *slot = a;
      continue;
    }
    int k = 0;
    while (k < nfl && strcmp(a, fl[k].name)) k++;
    if (k == nfl) return ssd_err(c, SSD_EINVAL, "%s: unknown option '%s' (see --help)", argv[0], a);
    if (i + 1 >= argc) return ssd_err(c, SSD_EINVAL, "%s: option %s needs a value", argv[0], a);
    const char *v = argv[++i];
    char *field = (char *)o + fl[k].off;
    if (fl[k].kind == F_STR) {
      *(const char **)field = v;
    } else if (fl[k].kind == F_INT) {
      if (parse_int(v, (int64_t *)field))
        return ssd_err(c, SSD_EINVAL, "%s: %s wants an integer, got '%s'", argv[0], a, v);
    } else {
      if (o->nsets == MAX_SETS) return ssd_err(c, SSD_EINVAL, "too many --set options");
      o->sets[o->nsets++] = v;
    }
  }
  return SSD_OK;
}

/* Where run and generate execute: cpu is the CPU executor; cuda is the GPU
 * executor and fails with the driver's own message when there is no GPU;
 * emu is the GPU executor on the emulated device (its kernels on the CPU);
 * auto takes the GPU when one opens, quietly, and the CPU otherwise. */
static int pick_device(const opts *o, bool *gpu, ssd_ctx *c) {
  const char *d = o->device ? o->device : "auto";
  *gpu = !strcmp(d, "cuda") || !strcmp(d, "emu");
  if (*gpu || !strcmp(d, "cpu")) return SSD_OK;
  if (strcmp(d, "auto"))
    return ssd_err(c, SSD_EINVAL, "--device must be cpu, cuda, emu or auto (got '%s')", d);
  ssd_ctx quiet;
  ssd_ctx_init(&quiet);
  quiet.diag = fopen("/dev/null", "w");
  if (!quiet.diag) return SSD_OK; /* cannot probe quietly: stay on the CPU */
  rt_cuda *g = NULL;
  *gpu = rt_cuda_open(&g, 0, &quiet) == SSD_OK;
  if (g) rt_cuda_close(g);
  fclose(quiet.diag);
  return SSD_OK;
}

/* --dtype: f32 (default; the CPU executor's only one) or bf16, which needs
 * the GPU executor.  Checked after pick_device, so that auto without a GPU
 * refuses bf16 instead of quietly computing something else. */
static int pick_dtype(const opts *o, bool gpu, rt_gpu_mode *mode, ssd_ctx *c) {
  const char *d = o->dtype ? o->dtype : "f32";
  *mode = RT_GPU_F32;
  if (!strcmp(d, "bf16")) *mode = RT_GPU_BF16;
  else if (strcmp(d, "f32")) return ssd_err(c, SSD_EINVAL, "--dtype must be f32 or bf16 (got '%s')", d);
  if (*mode == RT_GPU_BF16 && !gpu)
    return ssd_err(c, SSD_EINVAL, "--dtype bf16 runs on the GPU only (--device cuda, or auto "
                                  "where a GPU opens); the CPU computes in f32");
  if (o->kernels && !gpu)
    return ssd_err(c, SSD_EINVAL, "--kernels DIR is a kernel pack for the GPU executor; this run "
                                  "is on the CPU (--device cuda, or auto where a GPU opens)");
  return SSD_OK;
}

/* The GPU executor over the module and weights rt_model already holds
 * (f32: activations, weights and states in float32; bf16: rt_gpu_model.h),
 * with its kernels from o->kernels when given (else $SSDC_KERNELS). */
static int open_gpu(const rt_model *m, const opts *o, rt_gpu_mode mode, rt_gpu_model **g,
                    ssd_ctx *c) {
  rt_weight_fn fn;
  void *ctx;
  rt_model_weights(m, &fn, &ctx);
  const rt_gpu_opts go = {.mode = mode, .kernels = o->kernels,
                          .emu = o->device && !strcmp(o->device, "emu")};
  return rt_gpu_model_new(rt_model_module(m), fn, ctx, &go, g, c);
}

/* Greedy decoding on the GPU, with the same contract as rt_generate: the
 * prompt's pick, then the steps in one call (rt_gpu_decode_greedy_n runs
 * them as back-to-back graph replays). */
static int gpu_generate(rt_gpu_model *g, const int64_t *ids, int64_t n, int64_t max_new,
                        int64_t *out, int64_t *nout, double *tp, double *td, ssd_ctx *c) {
  *nout = 0;
  *tp = *td = 0;
  if (max_new < 1) return SSD_OK;
  const double t0 = rt_now();
  int rc = rt_gpu_reset(g, 1, c);
  if (!rc) rc = rt_gpu_decode_greedy(g, ids, 1, n, out, c);
  *tp = rt_now() - t0;
  if (!rc) rc = rt_gpu_decode_greedy_n(g, out, 1, max_new - 1, out + 1, c);
  if (!rc) *nout = max_new;
  *td = rt_now() - t0 - *tp;
  return rc;
}

static int start_pool(const opts *o, ssd_ctx *c) {
  if (o->threads < 0 || o->threads > 256)
    return ssd_err(c, SSD_EINVAL, "--threads must be in [1, 256] (0: one per CPU)");
  return rt_pool_init((int)o->threads, c);
}

/* Messages were printed when they were recorded; only the exit code is left. */
static int finish(int rc) {
  rt_pool_shutdown();
  return rc ? 1 : 0;
}

static rt_model_opts model_opts(const opts *o) {
  return (rt_model_opts){.model_file = o->model_file, .sets = o->sets, .nsets = o->nsets};
}

/* ---- run --------------------------------------------------------------------- */
static const char run_help[] =
    "usage: ssdc run --model DIR --input IN.safetensors --output OUT.safetensors\n"
    "                [--device cpu|cuda|emu|auto] [--dtype f32|bf16] [--kernels PACK]\n"
    "                [--set NAME=VALUE]... [--model-file F] [--threads N]\n\n"
    "Runs the checkpoint in DIR (config.json + model.safetensors, HF layout) on the\n"
    "token ids in IN (tensor `input_ids`, int64 or int32, [batch, length]) and writes\n"
    "the logits (`logits`, float32 [batch, length, vocab]) to OUT atomically.\n"
    "The model file is chosen from config.json's model_type unless --model-file.\n"
    "--device: cpu; cuda (the GPU executor); emu (the GPU executor on an emulated\n"
    "device: its CUDA kernels compiled by the host's C++ compiler and run on the CPU,\n"
    "slowly, for checking kernels without a GPU); auto (default: the GPU when one opens,\n"
    "else the CPU).  --dtype: f32 (default) or bf16 (GPU only: bf16 weights and\n"
    "activations, fp32 accumulation, residual stream and states).  --kernels PACK:\n"
    "the GPU kernels from a kernel pack made by ssdc compile (default $SSDC_KERNELS),\n"
    "so no NVRTC is needed.\n";

/* The ids of IN: `input_ids`, integer, [B, L] (or [L]), non-empty. */
static int read_ids(const char *path, int64_t **ids, int64_t *B, int64_t *L, ssd_ctx *c) {
  rt_safetensors *st;
  int rc = rt_st_open(path, &st, c);
  if (rc) return rc;
  const rt_st_tensor *t = rt_st_find(st, "input_ids");
  ir_dtype dt;
  if (!t) rc = ssd_err(c, SSD_EFORMAT, "%s: no tensor named 'input_ids'", path);
  else if (rt_st_dtype_ir(t->dtype, &dt) || (dt != IR_I64 && dt != IR_I32))
    rc = ssd_err(c, SSD_EFORMAT, "%s: input_ids must be I64 or I32, not %s", path,
                 rt_st_dtype_name(t->dtype));
  else if (t->rank != 1 && t->rank != 2)
    rc = ssd_err(c, SSD_EFORMAT, "%s: input_ids must be [batch, length], rank %d given", path,
                 t->rank);
  else if (t->numel == 0)
    rc = ssd_err(c, SSD_EINVAL, "%s: input_ids is empty", path);
  if (!rc) {
    *B = t->rank == 2 ? t->shape[0] : 1;
    *L = t->shape[t->rank - 1];
    *ids = malloc(t->numel * sizeof(int64_t));
    if (!*ids) rc = ssd_err(c, SSD_ENOMEM, "out of memory");
    else rc = rt_st_read_i64(t, *ids, t->numel, c);
  }
  rt_st_close(st);
  return rc;
}

int rt_cmd_run(int argc, char **argv) {
  static const flag fl[] = {FS("--model", model), FS("--input", input), FS("--output", output),
                            FS("--device", device), FS("--dtype", dtype),
                            FS("--kernels", kernels), FS("--model-file", model_file),
                            {"--set", F_SET, 0}, FI("--threads", threads)};
  opts o = {0};
  ssd_ctx c;
  ssd_ctx_init(&c);
  int rc = parse_flags(argc, argv, fl, sizeof fl / sizeof *fl, &o, &c);
  if (rc) return 2;
  if (o.help) return fputs(run_help, stdout), 0;
  if (!o.model || !o.input || !o.output) {
    ssd_err(&c, SSD_EINVAL, "run needs --model, --input and --output (see ssdc run --help)");
    return 2;
  }
  bool gpu = false;
  rt_gpu_mode mode;
  if ((rc = pick_device(&o, &gpu, &c)) || (rc = pick_dtype(&o, gpu, &mode, &c)) ||
      (rc = start_pool(&o, &c)))
    return finish(rc);
  int64_t *ids = NULL, B = 0, L = 0, V = 0;
  float *logits = NULL;
  rt_model *m = NULL;
  rt_gpu_model *g = NULL;
  rt_model_opts mo = model_opts(&o);
  rc = read_ids(o.input, &ids, &B, &L, &c);
  if (!rc) rc = rt_model_load(o.model, &mo, &m, &c);
  if (!rc && gpu) rc = open_gpu(m, &o, mode, &g, &c);
  double t0 = rt_now();
  if (!rc && g) {
    rc = rt_gpu_forward(g, ids, B, L, &logits, &V, &c);
  } else if (!rc) {
    rt_fwd f = {ids, B, L, NULL, false};
    rc = rt_exec_forward(rt_model_exec(m), &f, &logits, &V, &c);
  }
  double t1 = rt_now();
  if (!rc) {
    int64_t shape[3] = {B, L, V};
    rt_st_out t = {"logits", IR_F32, 3, shape, logits};
    rc = rt_st_write(o.output, &t, 1, NULL, 0, &c);
  }
  if (!rc)
    fprintf(stderr, "ssdc run: %lld x %lld tokens in %.3f s (%.1f tokens/s)\n", (long long)B,
            (long long)L, t1 - t0, (double)(B * L) / (t1 - t0));
  free(logits);
  free(ids);
  rt_gpu_model_free(g);
  rt_model_free(m);
  return finish(rc);
}

/* ---- generate -------------------------------------------------------------------- */
static const char gen_help[] =
    "usage: ssdc generate --model DIR --prompt-ids 1,2,3 [--max-new-tokens N]\n"
    "                     [--device cpu|cuda|emu|auto] [--dtype f32|bf16] [--kernels PACK]\n"
    "                     [--set NAME=VALUE]... [--model-file F] [--threads N]\n\n"
    "Greedy decoding: prefills the prompt through the state cache, then generates N\n"
    "tokens (default 16) one at a time.  Prints the new ids space-separated on one\n"
    "line of stdout; timings go to stderr.  --device, --dtype and --kernels as for\n"
    "ssdc run.\n";

/* "1,2,3": non-negative integers separated by commas, nothing else (flag
 * names the option in messages). */
static int parse_ints(const char *flag, const char *s, int64_t **ids, int64_t *n, ssd_ctx *c) {
  int64_t cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  *ids = malloc((size_t)cap * sizeof(int64_t));
  if (!*ids) return ssd_err(c, SSD_ENOMEM, "out of memory");
  *n = 0;
  const char *p = s;
  while (*p) {
    const char *e = p;
    while (*e && *e != ',') e++;
    char buf[32];
    size_t len = (size_t)(e - p);
    int64_t v;
    if (len == 0 || len >= sizeof buf)
      return ssd_err(c, SSD_EINVAL, "%s: empty or overlong entry in '%s'", flag, s);
    memcpy(buf, p, len);
    buf[len] = 0;
    if (buf[0] == '-' || buf[0] == '+' || parse_int(buf, &v))
      return ssd_err(c, SSD_EINVAL, "%s: '%s' is not a non-negative integer", flag, buf);
    (*ids)[(*n)++] = v;
    p = *e ? e + 1 : e;
    if (*e && !*p) return ssd_err(c, SSD_EINVAL, "%s: trailing comma in '%s'", flag, s);
  }
  if (*n == 0) return ssd_err(c, SSD_EINVAL, "%s is empty", flag);
  return SSD_OK;
}

static void print_ids(const int64_t *ids, int64_t n) {
  for (int64_t i = 0; i < n; i++) printf("%s%lld", i ? " " : "", (long long)ids[i]);
  printf("\n");
  fflush(stdout);
}

int rt_cmd_generate(int argc, char **argv) {
  static const flag fl[] = {FS("--model", model), FS("--prompt-ids", prompt),
                            FI("--max-new-tokens", max_new), FS("--device", device),
                            FS("--dtype", dtype), FS("--kernels", kernels),
                            FS("--model-file", model_file), {"--set", F_SET, 0},
                            FI("--threads", threads)};
  opts o = {.max_new = 16};
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (parse_flags(argc, argv, fl, sizeof fl / sizeof *fl, &o, &c)) return 2;
  if (o.help) return fputs(gen_help, stdout), 0;
  if (!o.model || !o.prompt) {
    ssd_err(&c, SSD_EINVAL, "generate needs --model and --prompt-ids (see ssdc generate --help)");
    return 2;
  }
  if (o.max_new < 0 || o.max_new > 1000000) {
    ssd_err(&c, SSD_EINVAL, "--max-new-tokens must be in [0, 1000000]");
    return 2;
  }
  bool gpu = false;
  rt_gpu_mode mode;
  int rc = pick_device(&o, &gpu, &c);
  if (!rc) rc = pick_dtype(&o, gpu, &mode, &c);
  if (!rc) rc = start_pool(&o, &c);
  if (rc) return finish(rc);
  rt_gpu_model *g = NULL;
  int64_t *ids = NULL, n = 0, nout = 0;
  int64_t *out = malloc((size_t)(o.max_new + 1) * sizeof(int64_t));
  rt_model *m = NULL;
  rt_model_opts mo = model_opts(&o);
  double tp = 0, td = 0;
  rc = out ? parse_ints("--prompt-ids", o.prompt, &ids, &n, &c)
           : ssd_err(&c, SSD_ENOMEM, "out of memory");
  if (!rc) rc = rt_model_load(o.model, &mo, &m, &c);
  if (!rc && gpu) rc = open_gpu(m, &o, mode, &g, &c);
  if (!rc)
    rc = g ? gpu_generate(g, ids, n, o.max_new, out, &nout, &tp, &td, &c)
           : rt_generate(m, ids, n, o.max_new, out, &nout, &tp, &td, &c);
  if (!rc) {
    print_ids(out, nout);
    fprintf(stderr, "ssdc generate: prefill %lld tokens %.3f s; %lld new tokens, decode %.1f tokens/s\n",
            (long long)n, tp, (long long)nout, nout > 1 ? (double)(nout - 1) / td : 0.0);
  }
  free(ids);
  free(out);
  rt_gpu_model_free(g);
  rt_model_free(m);
  return finish(rc);
}

/* ---- demo ------------------------------------------------------------------------- */
static const char demo_help[] =
    "usage: ssdc demo [--prompt-len N] [--max-new-tokens N] [--seed S] [--threads N]\n"
    "                 [--model-file F] [--set NAME=VALUE]...\n\n"
    "Builds a mamba2-130m-shaped model (models/mamba2.ssd defaults) with seeded random\n"
    "weights, no downloads: shows the mixer form the compiler chose per sequence\n"
    "length, prefills a random prompt (default 64 tokens), generates tokens (default\n"
    "32) greedily through the state cache and reports tokens/s.\n";

static const char *default_model_file(const opts *o, char *buf, size_t n) {
  if (o->model_file) return o->model_file;
  snprintf(buf, n, "%s/mamba2.ssd", rt_models_dir());
  return buf;
}

static void print_forms(rt_model *m) {
  static const int64_t lens[] = {1, 64, 2048, 16384};
  printf("ssm form chosen per sequence length:\n");
  for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
    int64_t chunk = 0;
    ir_ssm_form f = rt_exec_ssm_form(rt_model_exec(m), lens[i], &chunk);
    if (f == IR_FORM_CHUNKED)
      printf("  L=%-6lld %s (chunk %lld)\n", (long long)lens[i], ir_form_name(f), (long long)chunk);
    else
      printf("  L=%-6lld %s\n", (long long)lens[i], ir_form_name(f));
  }
}

/* Random prompt ids in [0, vocab) from the seed. */
static void random_ids(int64_t *ids, int64_t n, int64_t vocab, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    ids[i] = (int64_t)(s % (uint64_t)vocab);
  }
}

static int64_t model_vocab(const rt_model *m) {
  const ir_param *p = ir_module_param(rt_model_module(m), "vocab");
  return p && p->kind == IR_PARAM_INT && p->i > 0 ? p->i : 256;
}

int rt_cmd_demo(int argc, char **argv) {
  static const flag fl[] = {FI("--prompt-len", prompt_len), FI("--max-new-tokens", max_new),
                            FI("--seed", seed), FI("--threads", threads),
                            FS("--model-file", model_file), {"--set", F_SET, 0}};
  opts o = {.prompt_len = 64, .max_new = 32, .seed = 1};
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (parse_flags(argc, argv, fl, sizeof fl / sizeof *fl, &o, &c)) return 2;
  if (o.help) return fputs(demo_help, stdout), 0;
  if (o.prompt_len < 1 || o.prompt_len > 1 << 20 || o.max_new < 1 || o.max_new > 1 << 20) {
    ssd_err(&c, SSD_EINVAL, "--prompt-len and --max-new-tokens must be in [1, 1048576]");
    return 2;
  }
  int rc = start_pool(&o, &c);
  if (rc) return finish(rc);
  char path[4096];
  rt_model *m = NULL;
  rt_model_opts mo = model_opts(&o);
  double t0 = rt_now();
  rc = rt_model_random(default_model_file(&o, path, sizeof path), &mo, (uint64_t)o.seed, &m, &c);
  if (rc) return finish(rc);
  printf("ssdc demo: model '%s' from %s, %.1f M parameters (random, seed %lld), built in %.2f s, "
         "%d threads\n", rt_model_module(m)->name, path, (double)rt_model_param_count(m) / 1e6,
         (long long)o.seed, rt_now() - t0, rt_pool_threads());
  char desc[512];
  rt_model_codegen(m, desc, sizeof desc);
  printf("kernels: %s\n", desc);
  print_forms(m);
  int64_t *ids = malloc((size_t)o.prompt_len * sizeof(int64_t));
  int64_t *out = malloc((size_t)o.max_new * sizeof(int64_t)), nout = 0;
  double tp = 0, td = 0;
  if (!ids || !out) rc = ssd_err(&c, SSD_ENOMEM, "out of memory");
  if (!rc) {
    random_ids(ids, o.prompt_len, model_vocab(m), (uint64_t)o.seed);
    rc = rt_generate(m, ids, o.prompt_len, o.max_new, out, &nout, &tp, &td, &c);
  }
  if (!rc) {
    printf("prefill: %lld tokens in %.3f s (%.1f tokens/s)\n", (long long)o.prompt_len, tp,
           (double)o.prompt_len / tp);
    printf("generated %lld tokens:", (long long)nout);
    for (int64_t i = 0; i < nout; i++) printf(" %lld", (long long)out[i]);
    printf("\ndecode: %.1f tokens/s (%.2f ms/token)\n", nout > 1 ? (double)(nout - 1) / td : 0.0,
           nout > 1 ? td * 1e3 / (double)(nout - 1) : 0.0);
  }
  free(ids);
  free(out);
  rt_model_free(m);
  return finish(rc);
}

/* ---- bench ------------------------------------------------------------------------- */
static const char bench_help[] =
    "usage: ssdc bench [--out FILE.json] [--decode-tokens N] [--seed S] [--threads N]\n"
    "                  [--model-file F] [--set NAME=VALUE]... [--device cpu|cuda|auto]\n"
    "                  [--dtype f32|bf16] [--kernels PACK] [--prefill BxL,...]\n"
    "                  [--decode-batch B,...]\n\n"
    "Prefill and decode throughput of a mamba2-130m-shaped model (or what the model\n"
    "file and --set make of it) with random weights; prefill computes the last\n"
    "position's logits, as generation does.  Prints a table and writes JSON to FILE.\n"
    "cpu (default; auto is cpu here): L = 1, 128, 2048 at batch 1, decode after each\n"
    "prefill; default FILE bench/results/cpu-e2e-DATE.json in the source tree.\n"
    "cuda: the GPU executor in --dtype f32 (default) or bf16; prefill shapes --prefill\n"
    "(default 1x2048,8x2048,1x16384: median of 3 after a warm-up) and decode steps\n"
    "after a 128-token prefill at each --decode-batch (default 1,16; --decode-tokens\n"
    "steps, default 64, after 2 warm-up steps; also the median device time of up to\n"
    "32 more steps, from CUDA events around each step's work); a shape that fails is\n"
    "recorded with its error and the rest still run; default FILE gpu-e2e-DATE.json;\n"
    "--kernels as for ssdc run.\n";

typedef struct bench_row {
  int64_t L;
  double prefill_s, decode_tok_s;
  const char *form;
} bench_row;

/* "2026-11-23" or the like, UTC now, in fmt. */
static void utc_stamp(char *buf, size_t n, const char *fmt) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, n, fmt, &tm);
}

/* Prefill of L random tokens, best of a few runs, then decode steps. */
static int bench_one(rt_model *m, int64_t L, int64_t ndecode, bench_row *row, ssd_ctx *c) {
  int64_t *ids = malloc((size_t)(L + ndecode) * sizeof(int64_t));
  if (!ids) return ssd_err(c, SSD_ENOMEM, "out of memory");
  random_ids(ids, L + ndecode, model_vocab(m), 42);
  rt_state *st = NULL;
  int rc = rt_state_new(1, &st, c);
  int reps = L >= 1024 ? 1 : L >= 64 ? 3 : 10;
  row->L = L;
  row->prefill_s = 1e30;
  for (int r = 0; r < reps && !rc; r++) {
    rt_state_reset(st);
    float *lg = NULL;
    int64_t V;
    rt_fwd f = {ids, 1, L, st, true};
    double t0 = rt_now();
    rc = rt_exec_forward(rt_model_exec(m), &f, &lg, &V, c);
    double t = rt_now() - t0;
    if (t < row->prefill_s) row->prefill_s = t;
    free(lg);
  }
  double t0 = rt_now();
  for (int64_t k = 0; k < ndecode && !rc; k++) {
    float *lg = NULL;
    int64_t V;
    rt_fwd f = {ids + L + k, 1, 1, st, true};
    rc = rt_exec_forward(rt_model_exec(m), &f, &lg, &V, c);
    free(lg);
  }
  row->decode_tok_s = ndecode > 0 ? (double)ndecode / (rt_now() - t0) : 0;
  row->form = ir_form_name(rt_exec_ssm_form(rt_model_exec(m), L, NULL));
  rt_state_free(st);
  free(ids);
  return rc;
}

static int write_bench_json(const char *path, const bench_row *rows, int n, const rt_model *m,
                            int64_t ndecode, ssd_ctx *c) {
  struct utsname u;
  char host[256] = "unknown", date[32];
  if (!uname(&u)) snprintf(host, sizeof host, "%s %s %s", u.sysname, u.release, u.machine);
  utc_stamp(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ");
  char cpu[256] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "model name", 10)) {
        char *p = strchr(line, ':');
        if (p) snprintf(cpu, sizeof cpu, "%s", p + 2);
        cpu[strcspn(cpu, "\n\"\\")] = 0;
        break;
      }
    fclose(f);
  }
  /* other work on the machine skews the numbers: record how busy it was */
  char load[64] = "unknown";
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (!fgets(load, sizeof load, lf)) snprintf(load, sizeof load, "unknown");
    load[strcspn(load, "\n")] = 0;
    fclose(lf);
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *mf = open_memstream(&buf, &len);
  if (!mf) return ssd_err(c, SSD_ENOMEM, "out of memory");
  fprintf(mf, "{\n  \"benchmark\": \"cpu-e2e\",\n  \"date\": \"%s\",\n  \"machine\": {\"cpu\": \"%s\", "
              "\"threads\": %d, \"os\": \"%s\", \"loadavg_at_end\": \"%s\"},\n  \"ssdc_version\": \"%s\",\n  \"model\": \"%s\",\n"
              "  \"parameters\": %zu,\n  \"weights\": \"random f32\",\n  \"batch\": 1,\n"
              "  \"decode_tokens\": %lld,\n  \"results\": [\n",
          date, cpu, rt_pool_threads(), host, load, SSDC_VERSION, rt_model_module(m)->name,
          rt_model_param_count(m), (long long)ndecode);
  for (int i = 0; i < n; i++)
    fprintf(mf, "    {\"L\": %lld, \"ssm_form\": \"%s\", \"prefill_s\": %.6f, \"prefill_tok_s\": %.2f, "
                "\"decode_tok_s_after_prefill\": %.2f}%s\n",
            (long long)rows[i].L, rows[i].form, rows[i].prefill_s,
            (double)rows[i].L / rows[i].prefill_s, rows[i].decode_tok_s, i + 1 < n ? "," : "");
  fprintf(mf, "  ]\n}\n");
  fclose(mf);
  int rc = ssd_write_file_atomic(path, buf, len, c);
  free(buf);
  return rc;
}

/* ---- bench on the GPU ---------------------------------------------------------------- */
#define GB_MAX 16

typedef struct gpu_row {
  bool decode;         /* decode steps after a 128-token prefill, else a prefill */
  int64_t B, L;        /* L: prompt length (decode: steps timed) */
  double ms;           /* prefill: median ms; decode: ms per greedy step (token per
                          sequence) in one rt_gpu_decode_greedy_n call, as generate runs */
  double ms_sync;      /* decode: ms per greedy step, one call (and one wait) per step */
  double ms_logits;    /* decode: ms per step bringing all B x V logits to the host */
  double gpu_ms;       /* decode: median device time per greedy step (events around it) */
  char err[2048];      /* why the shape failed (the ctx message); empty when it ran */
} gpu_row;

/* Parse "1x2048,8x2048" (decode lists: "1,16", L left 0) into rows. */
static int parse_shapes(const char *s, bool decode, gpu_row *rows, int *n, ssd_ctx *c) {
  const char *what = decode ? "--decode-batch" : "--prefill";
  while (*s) {
    char *end;
    long long b = strtoll(s, &end, 10), l = 0;
    if (!decode && *end == 'x') l = strtoll(end + 1, &end, 10);
    if (b < 1 || b > 4096 || (!decode && (l < 1 || l > (1 << 20))) || (*end && *end != ',') ||
        *n == GB_MAX)
      return ssd_err(c, SSD_EINVAL, "%s: bad list '%s' (want %s, at most %d)", what, s,
                     decode ? "B,B,..." : "BxL,BxL,...", GB_MAX);
    rows[(*n)++] = (gpu_row){.decode = decode, .B = b, .L = l};
    s = *end ? end + 1 : end;
  }
  return SSD_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One continuation of the device state; rt_gpu_decode returns after the
 * logits (greedy: the next ids) reach the host, so the wall clock covers the
 * whole step. */
static int gpu_step(rt_gpu_model *g, const int64_t *ids, int64_t B, int64_t L, bool greedy,
                    double *s, ssd_ctx *c) {
  float *lg = NULL;
  int64_t V, *next = greedy ? malloc((size_t)B * sizeof *next) : NULL;
  if (greedy && !next) return ssd_err(c, SSD_ENOMEM, "out of memory");
  double t0 = rt_now();
  int rc = greedy ? rt_gpu_decode_greedy(g, ids, B, L, next, c)
                  : rt_gpu_decode(g, ids, B, L, true, &lg, &V, c);
  *s = rt_now() - t0;
  free(lg);
  free(next);
  return rc;
}

/* Prefill of B x L random ids from a fresh state: median of 3 after a warm-up. */
static int gpu_prefill(rt_gpu_model *g, const int64_t *ids, gpu_row *r, ssd_ctx *c) {
  double t[4];
  int rc = SSD_OK;
  for (int k = 0; k < 4 && !rc; k++)
    if (!(rc = rt_gpu_reset(g, r->B, c))) rc = gpu_step(g, ids, r->B, r->L, false, &t[k], c);
  if (!rc) {
    qsort(t + 1, 3, sizeof *t, cmp_double);
    r->ms = t[2] * 1e3;
  }
  return rc;
}

/* Wall clock per decode step over r->L steps after 2 warm-up ones (the
 * first of a kind records the step, the next captures its graph). */
static int gpu_time_steps(rt_gpu_model *g, const int64_t *ids, gpu_row *r, bool greedy,
                          double *ms, ssd_ctx *c) {
  double t = 0, total = 0; /* t: gcc -O3 cannot see that gpu_step sets it */
  int rc = SSD_OK;
  for (int64_t k = 0; k < r->L + 2 && !rc; k++) { /* ids wrap around: any tokens will do */
    rc = gpu_step(g, ids + (k % r->L) * r->B, r->B, 1, greedy, &t, c);
    if (k >= 2) total += t;
  }
  if (!rc) *ms = total * 1e3 / (double)r->L;
  return rc;
}

/* Wall clock per step of r->L greedy steps in one call, after the step's
 * graph exists (gpu_time_steps ran before): what `ssdc generate` does. */
static int gpu_time_run(rt_gpu_model *g, const int64_t *ids, gpu_row *r, ssd_ctx *c) {
  int64_t *out = malloc((size_t)(r->L * r->B) * sizeof *out);
  if (!out) return ssd_err(c, SSD_ENOMEM, "out of memory");
  const double t0 = rt_now();
  const int rc = rt_gpu_decode_greedy_n(g, ids, r->B, r->L, out, c);
  r->ms = (rt_now() - t0) * 1e3 / (double)r->L;
  free(out);
  return rc;
}

/* Decode steps at batch B after a 128-token prefill: wall clock per greedy
 * step with a call per step, then in one call, then per step with the
 * logits to the host, then the median device time of up to 32 more greedy
 * steps timed with events (kept apart: the events add a sync). */
static int gpu_decode_steps(rt_gpu_model *g, const int64_t *ids, gpu_row *r, ssd_ctx *c) {
  const int64_t P = 128, nt = r->L < 32 ? r->L : 32;
  double t, dev[32];
  int rc = rt_gpu_reset(g, r->B, c);
  if (!rc) rc = gpu_step(g, ids, r->B, P, false, &t, c);
  if (!rc) rc = gpu_time_steps(g, ids + P * r->B, r, true, &r->ms_sync, c);
  if (!rc) rc = gpu_time_run(g, ids + P * r->B, r, c);
  if (!rc) rc = gpu_time_steps(g, ids + P * r->B, r, false, &r->ms_logits, c);
  rt_gpu_time_steps(g, true);
  for (int64_t k = 0; k < nt && !rc; k++) {
    rc = gpu_step(g, ids + P * r->B + (k % r->L) * r->B, r->B, 1, true, &t, c);
    dev[k] = rt_gpu_step_gpu_ms(g);
  }
  rt_gpu_time_steps(g, false);
  if (!rc && nt > 0) {
    qsort(dev, (size_t)nt, sizeof *dev, cmp_double);
    r->gpu_ms = dev[nt / 2];
  }
  if (!rc && rt_gpu_trace_on(g)) { /* one more greedy step, its timeline to stderr */
    rc = rt_gpu_trace_reset(g, c);
    if (!rc) rc = gpu_step(g, ids + P * r->B, r->B, 1, true, &t, c);
    if (!rc) fprintf(stderr, "decode B=%lld: ", (long long)r->B);
    if (!rc && !rt_gpu_trace_count(g)) /* e.g. batches the decode kernels do not take */
      fprintf(stderr, "no decode GEMV or mixer kernel in this step: nothing traced\n");
    else if (!rc) rc = rt_gpu_trace_print(g, stderr, c);
  }
  return rc;
}

/* Run every row; a failure is kept in the row (its message from the ctx)
 * and the next row starts from a reset state. */
static void gpu_bench_rows(rt_gpu_model *g, int64_t vocab, gpu_row *rows, int n, int64_t steps) {
  for (int i = 0; i < n; i++) {
    gpu_row *r = &rows[i];
    if (r->decode) r->L = steps;
    int64_t cnt = r->decode ? r->B * (128 + steps + 2) : r->B * r->L;
    int64_t *ids = malloc((size_t)cnt * sizeof *ids);
    ssd_ctx c;
    ssd_ctx_init(&c);
    int rc = ids ? SSD_OK : ssd_err(&c, SSD_ENOMEM, "out of memory for %lld ids", (long long)cnt);
    if (!rc) {
      random_ids(ids, cnt, vocab, 42 + (uint64_t)i);
      rc = r->decode ? gpu_decode_steps(g, ids, r, &c) : gpu_prefill(g, ids, r, &c);
    }
    free(ids);
    if (rc) snprintf(r->err, sizeof r->err, "%s", c.msg[0] ? c.msg : "failed");
    if (r->decode)
      printf("decode  B=%-3lld %5lld steps %12s", (long long)r->B, (long long)r->L, "");
    else
      printf("prefill %lldx%-6lld %24s", (long long)r->B, (long long)r->L, "");
    if (rc) printf("FAILED: %s\n", r->err);
    else if (r->decode)
      printf("%10.3f ms/step %10.1f tok/s  (device %.3f ms/step; a call per step %.3f; logits "
             "to host %.3f)\n",
             r->ms, 1e3 * (double)r->B / r->ms, r->gpu_ms, r->ms_sync, r->ms_logits);
    else printf("%10.3f ms %15.1f tok/s\n", r->ms, 1e3 * (double)(r->B * r->L) / r->ms);
    fflush(stdout);
  }
}

/* An environment switch's value for the JSON (no quotes or backslashes). */
static const char *env_or(const char *name, const char *unset) {
  const char *v = getenv(name);
  return v && !strpbrk(v, "\"\\") ? v : unset;
}

static int write_gpu_json(const char *path, const gpu_row *rows, int n, const rt_model *m,
                          const rt_gpu_model *g, const char *dtype, ssd_ctx *c) {
  char date[32];
  utc_stamp(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ");
  /* whether decode steps may replay a CUDA graph is rt_gpu_model's choice
   * (on unless this is "0"; never with attention): record the switch */
  const char *ge = getenv("SSDC_CUDA_GRAPH");
  const char *graph_env =
      !ge ? "unset (graphs on)" : strcmp(ge, "0") ? "set (graphs on)" : "0 (graphs off)";
  char *buf = NULL;
  size_t len = 0;
  FILE *mf = open_memstream(&buf, &len);
  if (!mf) return ssd_err(c, SSD_ENOMEM, "out of memory");
  fprintf(mf, "{\n  \"benchmark\": \"gpu-e2e\",\n  \"date\": \"%s\",\n  \"device\": \"%s\",\n"
              "  \"ssdc_version\": \"%s\",\n  \"model\": \"%s\",\n  \"parameters\": %zu,\n"
              "  \"dtype\": \"%s\",\n  \"weights\": \"random\",\n  \"prefill_logits\": \"last position\",\n"
              "  \"decode\": \"greedy steps after a 128-token prefill, argmax on the device. "
              "ms_per_step: all steps in one rt_gpu_decode_greedy_n call (back-to-back graph "
              "replays, as generate runs); ms_per_step_sync: a rt_gpu_decode_greedy call per step, "
              "B ids to the host each; ms_per_step_logits: rt_gpu_decode, all logits to the "
              "host\",\n"
              "  \"SSDC_CUDA_GRAPH\": \"%s\",\n"
              "  \"SSDC_ARGMAX_CHUNK\": \"%s\",\n"
              "  \"results\": [\n",
          date, rt_gpu_model_device(g), SSDC_VERSION, rt_model_module(m)->name,
          rt_model_param_count(m), dtype, graph_env, env_or("SSDC_ARGMAX_CHUNK", "unset (default)"));
  for (int i = 0; i < n; i++) {
    const gpu_row *r = &rows[i];
    fprintf(mf, "    {\"kind\": \"%s\", \"batch\": %lld, \"%s\": %lld, ", r->decode ? "decode" : "prefill",
            (long long)r->B, r->decode ? "steps" : "L", (long long)r->L);
    if (r->err[0]) {
      fputs("\"error\": \"", mf);
      for (const char *p = r->err; *p; p++) fputc(*p == '"' || *p == '\\' || *p < ' ' ? '\'' : *p, mf);
      fputc('"', mf);
    } else {
      fprintf(mf, "\"%s\": %.4f", r->decode ? "ms_per_step" : "ms", r->ms);
      if (r->decode)
        fprintf(mf,
                ", \"ms_per_step_sync\": %.4f, \"ms_per_step_logits\": %.4f, "
                "\"device_ms_per_step\": %.4f",
                r->ms_sync, r->ms_logits, r->gpu_ms);
    }
    fprintf(mf, "}%s\n", i + 1 < n ? "," : "");
  }
  fprintf(mf, "  ]\n}\n");
  fclose(mf);
  int rc = ssd_write_file_atomic(path, buf, len, c);
  free(buf);
  return rc;
}

/* The rows --prefill and --decode-batch ask for (or the defaults). */
static int gpu_rows(const opts *o, gpu_row *rows, int *n, ssd_ctx *c) {
  *n = 0;
  int rc = parse_shapes(o->prefill ? o->prefill : "1x2048,8x2048,1x16384", false, rows, n, c);
  return rc ? rc : parse_shapes(o->decode_b ? o->decode_b : "1,16", true, rows, n, c);
}

/* The whole GPU benchmark over a built model: run the rows, write the JSON. */
static int bench_gpu(rt_model *m, const opts *o, gpu_row *rows, int n, const char *out,
                     ssd_ctx *c) {
  rt_gpu_mode mode;
  int rc = pick_dtype(o, true, &mode, c);
  rt_gpu_model *g = NULL;
  double t0 = rt_now();
  if (rc || (rc = open_gpu(m, o, mode, &g, c))) return rc;
  printf("%s, %s, %zu parameters, %s (set up in %.1f s)\n", rt_gpu_model_device(g),
         rt_model_module(m)->name, rt_model_param_count(m), o->dtype, rt_now() - t0);
  gpu_bench_rows(g, model_vocab(m), rows, n, o->max_new);
  rc = write_gpu_json(out, rows, n, m, g, o->dtype, c);
  if (!rc) printf("wrote %s\n", out);
  rt_gpu_model_free(g);
  return rc;
}

/* The CPU table of bench_one rows at L = 1, 128, 2048, and its JSON. */
static int bench_cpu(rt_model *m, const opts *o, const char *out, ssd_ctx *c) {
  static const int64_t lens[] = {1, 128, 2048};
  bench_row rows[3];
  int rc = SSD_OK;
  printf("%8s %10s %12s %14s %14s\n", "L", "form", "prefill s", "prefill tok/s", "decode tok/s");
  for (int i = 0; i < 3 && !rc; i++) {
    rc = bench_one(m, lens[i], o->max_new, &rows[i], c);
    if (!rc)
      printf("%8lld %10s %12.4f %14.1f %14.1f\n", (long long)lens[i], rows[i].form,
             rows[i].prefill_s, (double)lens[i] / rows[i].prefill_s, rows[i].decode_tok_s);
  }
  if (!rc) rc = write_bench_json(out, rows, 3, m, o->max_new, c);
  if (!rc) printf("wrote %s\n", out);
  return rc;
}

/* bench's flags that only make sense on one device, checked before any work. */
static int check_bench_opts(const opts *o, bool gpu, ssd_ctx *c) {
  const char *d = o->device ? o->device : "auto";
  if (strcmp(d, "cpu") && strcmp(d, "auto") && strcmp(d, "cuda"))
    return ssd_err(c, SSD_EINVAL, "--device must be cpu, cuda or auto (got '%s')", d);
  rt_gpu_mode mode;
  const int rc = pick_dtype(o, gpu, &mode, c);
  if (rc) return rc;
  if (!gpu && (o->prefill || o->decode_b))
    return ssd_err(c, SSD_EINVAL, "--prefill and --decode-batch need --device cuda");
  if (o->max_new < 0 || o->max_new > 100000 || (gpu && o->max_new < 1))
    return ssd_err(c, SSD_EINVAL, "--decode-tokens must be in [%d, 100000]", gpu ? 1 : 0);
  return SSD_OK;
}

int rt_cmd_bench(int argc, char **argv) {
  static const flag fl[] = {FS("--out", out), FI("--decode-tokens", max_new), FI("--seed", seed),
                            FI("--threads", threads), FS("--model-file", model_file),
                            {"--set", F_SET, 0}, FS("--device", device), FS("--dtype", dtype),
                            FS("--kernels", kernels), FS("--prefill", prefill),
                            FS("--decode-batch", decode_b)};
  opts o = {.max_new = -1, .seed = 1, .dtype = "f32"};
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (parse_flags(argc, argv, fl, sizeof fl / sizeof *fl, &o, &c)) return 2;
  if (o.help) return fputs(bench_help, stdout), 0;
  /* auto stays on the CPU: a benchmark should not change meaning with the machine */
  bool gpu = o.device && !strcmp(o.device, "cuda");
  if (o.max_new < 0) o.max_new = gpu ? 64 : 16;
  gpu_row rows[2 * GB_MAX];
  int n = 0;
  if (check_bench_opts(&o, gpu, &c) || (gpu && gpu_rows(&o, rows, &n, &c))) return 2;
  int rc = start_pool(&o, &c);
  if (rc) return finish(rc);
  char path[4096], outp[4096];
  if (!o.out) {
    char d[16];
    utc_stamp(d, sizeof d, "%Y-%m-%d");
    snprintf(outp, sizeof outp, "%s/bench/results/%s-e2e-%s.json", SSDC_SOURCE_DIR,
             gpu ? "gpu" : "cpu", d);
    o.out = outp;
  }
  rt_model *m = NULL;
  rt_model_opts mo = model_opts(&o);
  rc = rt_model_random(default_model_file(&o, path, sizeof path), &mo, (uint64_t)o.seed, &m, &c);
  if (!rc) rc = gpu ? bench_gpu(m, &o, rows, n, o.out, &c) : bench_cpu(m, &o, o.out, &c);
  rt_model_free(m);
  return finish(rc);
}

/* ---- compile ------------------------------------------------------------------------ */
static const char compile_help[] =
    "usage: ssdc compile (MODEL.ssd | --model DIR) --target cuda --out PACK [--arch sm_90]\n"
    "                    [--dtype bf16|f32|f32,bf16] [--batch B,...] [--seqlen L,...]\n"
    "                    [--set NAME=VALUE]... [--model-file F]\n\n"
    "Writes a kernel pack: every GPU kernel the model needs for runs in those dtypes\n"
    "(default bf16), batch sizes (default 1) and prompt lengths (default 2048; decode\n"
    "steps and prompts of up to 8 tokens are always included), compiled by NVRTC for\n"
    "--arch (default sm_90; the architecture as the device reports it, sm_80 or later).\n"
    "No GPU is needed: the model walks through the GPU executor on a dry-run device and\n"
    "every kernel it loads goes into PACK, manifest.json (with checksums) last.  The\n"
    "model is a model file (its defaults and --set) or a checkpoint directory's\n"
    "config.json (weights are not read).  run, generate and bench take the pack with\n"
    "--kernels PACK and then need no NVRTC.  Kernels are cached in $SSDC_CACHE_DIR.\n";

/* A comma list of at most RT_PACK_MAX_LIST integers in [1, max]. */
static int parse_list(const char *flag, const char *s, int64_t max, int64_t *v, int *n,
                      ssd_ctx *c) {
  int64_t *tmp = NULL, cnt = 0;
  int rc = parse_ints(flag, s, &tmp, &cnt, c);
  if (!rc && cnt > RT_PACK_MAX_LIST)
    rc = ssd_err(c, SSD_EINVAL, "%s: at most %d values", flag, RT_PACK_MAX_LIST);
  for (int64_t i = 0; !rc && i < cnt; i++) {
    if (tmp[i] < 1 || tmp[i] > max)
      rc = ssd_err(c, SSD_EINVAL, "%s: %lld is not in [1, %lld]", flag, (long long)tmp[i],
                   (long long)max);
    v[i] = tmp[i];
  }
  *n = rc ? 0 : (int)cnt;
  free(tmp);
  return rc;
}

static int compile_plan(const opts *o, rt_pack_plan *p, ssd_ctx *c) {
  memset(p, 0, sizeof *p);
  if (!o->target || strcmp(o->target, "cuda"))
    return ssd_err(c, SSD_EINVAL, "--target cuda is required (the only target)");
  if (!o->out) return ssd_err(c, SSD_EINVAL, "--out PACK is required");
  if (!o->pos == !o->model)
    return ssd_err(c, SSD_EINVAL, "give a model file or --model DIR (one of them)");
  if (o->pos && o->model_file)
    return ssd_err(c, SSD_EINVAL, "--model-file goes with --model DIR");
  const char *d = o->dtype ? o->dtype : "bf16";
  p->f32 = !strcmp(d, "f32") || !strcmp(d, "f32,bf16") || !strcmp(d, "bf16,f32");
  p->bf16 = !strcmp(d, "bf16") || !strcmp(d, "f32,bf16") || !strcmp(d, "bf16,f32");
  if (!p->f32 && !p->bf16)
    return ssd_err(c, SSD_EINVAL, "--dtype must be bf16, f32 or f32,bf16 (got '%s')", d);
  p->arch = o->arch ? o->arch : "sm_90";
  if (!cg_arch_valid(p->arch) || p->arch[strlen(p->arch) - 1] == 'a')
    return ssd_err(c, SSD_EINVAL, "bad --arch '%s': sm_80 or later, as the device reports it "
                                  "(sm_80, sm_86, sm_89, sm_90, ...; no 'a' suffix)", p->arch);
  p->model = o->pos ? o->pos : o->model;
  int rc = parse_list("--batch", o->batch ? o->batch : "1", 4096, p->batch, &p->nbatch, c);
  if (!rc)
    rc = parse_list("--seqlen", o->seqlen ? o->seqlen : "2048", (int64_t)1 << 24, p->seqlen,
                    &p->nseqlen, c);
  return rc;
}

int rt_cmd_compile(int argc, char **argv) {
  static const flag fl[] = {FS("", pos), FS("--model", model), FS("--model-file", model_file),
                            {"--set", F_SET, 0}, FS("--target", target), FS("--arch", arch),
                            FS("--dtype", dtype), FS("--batch", batch), FS("--seqlen", seqlen),
                            FS("--out", out)};
  opts o = {0};
  ssd_ctx c;
  ssd_ctx_init(&c);
  if (parse_flags(argc, argv, fl, sizeof fl / sizeof *fl, &o, &c)) return 2;
  if (o.help) return fputs(compile_help, stdout), 0;
  rt_pack_plan p;
  if (compile_plan(&o, &p, &c)) return 2;
  rt_model *m = NULL;
  rt_model_opts mo = model_opts(&o);
  rt_pack_stats st;
  int rc = rt_model_shapes(o.model, o.pos ? o.pos : o.model_file, &mo, &m, &c);
  if (!rc) rc = rt_pack_make(m, &p, o.out, &st, &c);
  if (!rc) {
    printf("ssdc compile: %d kernels for %s (%s; %s%s%s; batch %s; seqlen %s) in %s\n", st.kernels,
           p.model, p.arch, p.f32 ? "f32" : "", p.f32 && p.bf16 ? "," : "", p.bf16 ? "bf16" : "",
           o.batch ? o.batch : "1", o.seqlen ? o.seqlen : "2048", o.out);
  }
  rt_model_free(m);
  return rc ? 1 : 0;
}
