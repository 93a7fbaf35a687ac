/* cg_c_conv.c: generated C for a causal depthwise conv1d fused with the
 * elementwise ops of its fusion group (see cg_c_host.h).
 *
 * The fusion pass puts the activation after a conv (silu in Mamba blocks)
 * in the conv's group.  Here the conv and that chain become one kernel
 * specialized on channels C, kernel K, bias and the chain's ops, so the
 * activation is applied while the value is still in a register and the
 * intermediate [B, L, C] buffer is never written.  Channels are the inner
 * loop (contiguous), so the compiler vectorizes across them.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_c_host.h"

typedef struct chain_op {
  ir_op op;
  int approx;
  double lo, hi;
} chain_op;

typedef struct conv_spec {
  int64_t C, K;
  int has_bias, nchain;
  chain_op chain[CG_C_MAX_CHAIN];
} conv_spec;

static bool chain_op_ok(ir_op op) {
  return op == IR_SILU || op == IR_SOFTPLUS || op == IR_EXP || op == IR_LOG || op == IR_GELU ||
         op == IR_SIGMOID || op == IR_NEG || op == IR_CLAMP;
}

static int uses_of(const ir_module *m, const ir_value *v) {
  int n = 0;
  for (const ir_node *x = m->main->first; x; x = x->next)
    for (int k = 0; k < x->nin; k++) n += x->in[k] == v;
  for (int k = 0; k < m->main->nresults; k++) n += m->main->results[k] == v;
  return n;
}

int cg_c_chain(const ir_module *m, const ir_node *conv, const ir_node **chain, int max) {
  int n = 0;
  if (conv->op != IR_CONV1D || conv->group == 0) return 0;
  const ir_node *prev = conv;
  for (const ir_node *x = conv->next; x && n < max; x = x->next) {
    if (x->group != conv->group || !chain_op_ok(x->op) || x->nin != 1 || x->nout != 1 ||
        x->in[0] != prev->out[0] || uses_of(m, prev->out[0]) != 1 || x->out[0]->dtype != IR_F32)
      break;
    chain[n++] = x;
    prev = x;
  }
  return n;
}

static int spec_of(const ir_module *m, const ir_node *n, conv_spec *s) {
  memset(s, 0, sizeof *s);
  const ir_value *x = n->in[0], *w = n->in[1];
  if (x->rank != 3 || w->rank < 2 || ir_dim_eval(m, x->dims[2], &s->C) ||
      ir_dim_eval(m, w->dims[w->rank - 1], &s->K) || s->C <= 0 || s->K <= 0 || s->K > 64)
    return 1;
  s->has_bias = n->in[2] != NULL;
  const ir_node *chain[CG_C_MAX_CHAIN];
  s->nchain = cg_c_chain(m, n, chain, CG_C_MAX_CHAIN);
  for (int i = 0; i < s->nchain; i++)
    s->chain[i] = (chain_op){chain[i]->op, chain[i]->a.approx, chain[i]->a.lo, chain[i]->a.hi};
  return 0;
}

/* Distinct specs in first-appearance order; *want_idx for node want. */
static int collect(const ir_module *m, conv_spec **out, int *n, const ir_node *want, int *want_idx) {
  int cap = 0;
  *out = NULL;
  *n = 0;
  if (want_idx) *want_idx = -1;
  for (const ir_node *nd = m->main->first; nd; nd = nd->next) {
    conv_spec s;
    if (nd->op != IR_CONV1D || spec_of(m, nd, &s)) continue;
    int k = 0;
    while (k < *n && memcmp(&(*out)[k], &s, sizeof s)) k++;
    if (k == *n) {
      if (*n == cap) {
        cap = cap ? 2 * cap : 4;
        conv_spec *ns = realloc(*out, (size_t)cap * sizeof *ns);
        if (!ns) return free(*out), *out = NULL, -1;
        *out = ns;
      }
      (*out)[(*n)++] = s;
    }
    if (nd == want && want_idx) *want_idx = k;
  }
  return 0;
}

int cg_c_conv_kernel_of(const ir_module *m, const ir_node *n) {
  conv_spec *specs;
  int ns, idx;
  if (collect(m, &specs, &ns, n, &idx)) return -1;
  free(specs);
  return idx;
}

/* v = op(v) in the generated source, as rt_unary1 computes it. */
static void emit_op(FILE *f, const chain_op *o) {
  switch (o->op) {
  case IR_SILU: fprintf(f, "        v = v / (1.0f + exp_fast_(-v));\n"); break;
  case IR_SOFTPLUS: fprintf(f, "        v = v > 20.0f ? v : log1pf(expf(v));\n"); break;
  case IR_EXP: fprintf(f, "        v = expf(v);\n"); break;
  case IR_LOG: fprintf(f, "        v = logf(v);\n"); break;
  case IR_SIGMOID: fprintf(f, "        v = 1.0f / (1.0f + exp_fast_(-v));\n"); break;
  case IR_NEG: fprintf(f, "        v = -v;\n"); break;
  case IR_GELU:
    if (o->approx)
      fprintf(f, "        v = v / (1.0f + expf(-1.5957691216057308f * (v + 0.044715f * v * v * v)));\n");
    else
      fprintf(f, "        v = 0.5f * v * erfcf(-v * 0.70710678118654752f);\n");
    break;
  case IR_CLAMP: /* (float) casts as rt_unary does; infinite bounds clamp nothing */
    if (isfinite(o->lo)) fprintf(f, "        v = v < (float)%.17g ? (float)%.17g : v;\n", o->lo, o->lo);
    if (isfinite(o->hi)) fprintf(f, "        v = v > (float)%.17g ? (float)%.17g : v;\n", o->hi, o->hi);
    break;
  default: break;
  }
}

static void emit_kernel(FILE *f, const conv_spec *s, int k) {
  fprintf(f, "void ssdc_conv_%d(const cg_conv_call *a, int64_t i0, int64_t i1) {\n", k);
  fprintf(f, "  enum { C = %lld, K = %lld, CB = %d, NB = (C + CB - 1) / CB };\n", (long long)s->C,
          (long long)s->K, CG_CONV_CB);
  fprintf(f,
          "  const int64_t L = a->L;\n"
          "  for (int64_t i = i0; i < i1; i++) {\n"
          "    const int64_t b = i / NB, c0 = i %% NB * CB, c1 = c0 + CB < C ? c0 + CB : C;\n"
          "    const float *st = a->state ? a->state + b * C * (K - 1) : 0;\n"
          "    /* this block's taps transposed to [K][CB]: contiguous in the channel loop */\n"
          "    float wt[K][CB];\n"
          "    for (int64_t ch = c0; ch < c1; ch++)\n"
          "      for (int k = 0; k < K; k++) wt[k][ch - c0] = a->w[ch * K + k];\n"
          "    for (int64_t t = 0; t < L; t++) {\n"
          "      float *y = a->y + (b * L + t) * C;\n"
          "      /* interior positions read only x: a branch-free loop over channels */\n"
          "      const int interior = t >= K - 1;\n"
          "      const float *xt = a->x + (b * L + (interior ? t - (K - 1) : 0)) * C;\n"
          "      for (int64_t ch = c0; ch < c1; ch++) {\n"
          "        float v = %s;\n"
          "        if (interior) {\n"
          "          for (int k = 0; k < K; k++) v += wt[k][ch - c0] * xt[k * C + ch];\n"
          "        } else {\n"
          "          for (int k = 0; k < K; k++) {\n"
          "            const int64_t s = t - (K - 1) + k;\n"
          "            const float in = s >= 0 ? a->x[(b * L + s) * C + ch]\n"
          "                                    : (st ? st[ch * (K - 1) + K - 1 + s] : 0.0f);\n"
          "            v += a->w[ch * K + k] * in;\n"
          "          }\n"
          "        }\n",
          s->has_bias ? "a->bias[ch]" : "0.0f");
  for (int i = 0; i < s->nchain; i++) emit_op(f, &s->chain[i]);
  fprintf(f,
          "        y[ch] = v;\n"
          "      }\n"
          "    }\n"
          "    if (!a->state) continue;\n"
          "    /* the last K-1 raw inputs; entry k may come from state entry L+k > k,\n"
          "       not yet overwritten by this oldest-first loop */\n"
          "    for (int64_t ch = c0; ch < c1; ch++) {\n"
          "      float *sw = a->state + (b * C + ch) * (K - 1);\n"
          "      for (int k = 0; k < K - 1; k++) {\n"
          "        const int64_t s = L - (K - 1) + k;\n"
          "        sw[k] = s >= 0 ? a->x[(b * L + s) * C + ch] : sw[K - 1 + s];\n"
          "      }\n"
          "    }\n"
          "  }\n"
          "}\n\n");
}

int cg_c_conv_emit(const ir_module *m, FILE *f, int *nconv) {
  conv_spec *specs;
  int ns;
  *nconv = 0;
  if (collect(m, &specs, &ns, NULL, NULL)) return 1;
  fprintf(f, "typedef struct {\n  int64_t batch, L;\n  const float *x, *w, *bias;\n"
             "  float *state, *y;\n} cg_conv_call;\n\n");
  for (int k = 0; k < ns; k++) emit_kernel(f, &specs[k], k);
  free(specs);
  *nconv = ns;
  return 0;
}
