/* cg_c_host.h: generated C for the CPU.
 *
 * Each IR_SSM of a fully passed module becomes a C function specialized on
 * its constants (H, P, N, operand heads, which operands exist and every
 * fused flag: dt_bias, softplus, dt clamp, A = -exp(A_log), D skip, z gate),
 * so the compiler unrolls and vectorizes the state update over N with no
 * branches left inside.  The generated form is the recurrence (the decode
 * step and short prefills); the runtime's interpreter (rt_exec) keeps the
 * matmul forms for long sequences and checks the generated code against
 * itself in the tests.  Each CONV1D becomes a kernel specialized on C and K
 * with the elementwise ops of its fusion group applied in the same pass.
 *
 * The source is compiled with $SSDC_CC, else clang, else cc:
 * `-O3 -march=native -fPIC -shared`, into a shared object kept in the
 * kernel cache (cg_cuda.h's cg_cache: key = hash of source, compiler
 * version, flags, CPU and ssdc version; temp name + rename; corrupt entries
 * are detected by checksum and rebuilt) and loaded with dlopen.  With no
 * compiler, cg_host_build returns SSD_EUNSUPPORTED and the caller runs the
 * interpreter.
 */
#ifndef SSD_CG_C_HOST_H
#define SSD_CG_C_HOST_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"

/* The operands of one generated SSM call.  Pointers as in rt_ssm.h. */
typedef struct cg_ssm_call {
  int64_t batch, L;
  const float *x, *dt, *A, *B, *C, *D, *z, *dt_bias;
  float *state; /* [batch, H, P, N] in/out, or NULL (zeros in, not returned) */
  float *y;
} cg_ssm_call;
/* Runs the (batch, head) pairs [bh0, bh1): callers split that range over threads. */
typedef void (*cg_ssm_fn)(const cg_ssm_call *a, int64_t bh0, int64_t bh1);

/* The causal depthwise conv fused with the elementwise ops of its fusion
 * group that follow it (silu after the conv in every Mamba block): one
 * pass over the data, no intermediate buffers.  Tasks are (batch, block of
 * CG_CONV_CB channels); the state is [batch, C, K-1] as in rt_ops.h. */
#define CG_CONV_CB 64
typedef struct cg_conv_call {
  int64_t batch, L;
  const float *x, *w, *bias; /* x [batch, L, C], w [C, K], bias [C] or NULL */
  float *state;              /* [batch, C, K-1] or NULL (zeros, not kept) */
  float *y;                  /* [batch, L, C]: the last op of the chain's output */
} cg_conv_call;
typedef void (*cg_conv_fn)(const cg_conv_call *a, int64_t i0, int64_t i1);

/* The elementwise ops that follow a CONV1D in its fusion group and that a
 * generated kernel applies in the same pass: consecutive nodes of main, the
 * same group, unary, each reading only its predecessor, which nothing else
 * reads.  Fills chain[0..n) and returns n (0: none). */
int cg_c_chain(const ir_module *m, const ir_node *conv, const ir_node **chain, int max);
#define CG_C_MAX_CHAIN 4

/* C source for every distinct IR_SSM and CONV1D group of m (malloc'd, free
 * it).  Kernels are named "ssdc_ssm_k" and "ssdc_conv_k". */
int cg_c_source(const ir_module *m, char **src, int *nssm, int *nconv, ssd_ctx *c);
/* The kernel index of an IR_SSM / IR_CONV1D node in that source, -1 if none. */
int cg_c_kernel_of(const ir_module *m, const ir_node *n);
int cg_c_conv_kernel_of(const ir_module *m, const ir_node *n);
/* Append the conv kernels' source to f (cg_c_conv.c). */
int cg_c_conv_emit(const ir_module *m, FILE *f, int *nconv);

typedef struct cg_host cg_host;
typedef struct cg_host_stats {
  int cache_hit;       /* the shared object came from the cache */
  double compile_s;    /* time spent in the compiler (0 on a hit) */
  char compiler[256];  /* the compiler's --version first line */
} cg_host_stats;

/* Generate, compile (or fetch from the cache dir; NULL: the default) and
 * load the kernels of m. */
int cg_host_build(const ir_module *m, const char *cache_dir, cg_host **out, ssd_ctx *c);
void cg_host_free(cg_host *h);
const cg_host_stats *cg_host_stats_of(const cg_host *h);
/* The kernel for an IR_SSM / IR_CONV1D node, NULL if it has none. */
cg_ssm_fn cg_host_ssm(const cg_host *h, const ir_node *n);
cg_conv_fn cg_host_conv(const cg_host *h, const ir_node *n);
/* How many elementwise nodes after a CONV1D its kernel covers (cg_c_chain). */
int cg_host_conv_chain(const cg_host *h, const ir_node *n);

#endif
